// Ported from slok/goresilience at 3163dfcb956c6ada224984dbf6a237137c1010ba: circuitbreaker/circuitbreaker_test.go,
// one `it` per table case of TestCircuitBreaker, named after it.
// Mapping: `circuitbreaker.New(Config{...})` is `CircuitBreaker.make` with `failureRateThreshold:
// ErrorPercentThresholdToOpen / 100`, `minimumThroughput: MinimumRequestToOpen`, `successThreshold:
// SuccessfulRequiredOnHalfOpen`, `breakDuration: WaitDurationInOpenState` and `slidingWindow:
// MetricsSlidingWindowBucketQuantity × MetricsBucketDuration`, over goresilience's defaults (50 %, 20, 1, 5 s, 10 × 1 s);
// `cb.Run(ctx, f)` is a call through the breaker, `errors.ErrCircuitOpen` is `CircuitOpen`; `time.Sleep` is
// `TestClock.adjust`. Each case's `f(cb)` drives the breaker, then the function it returns is run once and its result
// compared, as goresilience does.
// Deliberate differences: none that a case meets (goresilience ends the pause strictly after it, Sturdy at its last
// millisecond; the cases sleep past it). Sturdy's window keeps 10 buckets whatever goresilience's quantity.
// Not ported: BenchmarkCircuitBreaker (a benchmark).
import { describe, expect, it } from "@effect/vitest"
import { CircuitBreaker } from "@sturdy/policy"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as TestClock from "effect/TestClock"

class WantedError extends Error {
  constructor() {
    super("wanted error")
  }
}
const err = new WantedError()
const okf = Effect.void
const errf = Effect.fail(err)

interface Config {
  readonly ErrorPercentThresholdToOpen?: number
  readonly MinimumRequestToOpen?: number
  readonly SuccessfulRequiredOnHalfOpen?: number
  /** milliseconds */
  readonly WaitDurationInOpenState?: number
  readonly MetricsSlidingWindowBucketQuantity?: number
  /** milliseconds */
  readonly MetricsBucketDuration?: number
}

const newBreaker = (cfg: Config) =>
  CircuitBreaker.make("goresilience", {
    failureRateThreshold: (cfg.ErrorPercentThresholdToOpen ?? 50) / 100,
    minimumThroughput: cfg.MinimumRequestToOpen ?? 20,
    successThreshold: cfg.SuccessfulRequiredOnHalfOpen ?? 1,
    breakDuration: cfg.WaitDurationInOpenState ?? 5000,
    slidingWindow: (cfg.MetricsSlidingWindowBucketQuantity ?? 10) * (cfg.MetricsBucketDuration ?? 1000)
  })

const run = <A, E>(cb: CircuitBreaker.CircuitBreaker, f: Effect.Effect<A, E>) =>
  Effect.exit(CircuitBreaker.withBreaker(f, cb))

// runs the case: `f(cb)` sets the breaker up and answers the function to run; the result is its failure, if any
const testCase = (
  cfg: Config,
  f: (cb: CircuitBreaker.CircuitBreaker) => Effect.Effect<Effect.Effect<void, WantedError>>
) =>
  Effect.gen(function*() {
    const cb = yield* newBreaker(cfg)
    const exit = yield* run(cb, yield* f(cb))
    return Exit.isSuccess(exit) ? undefined : exit.cause._tag === "Fail" ? exit.cause.error : exit.cause
  }).pipe(Effect.scoped)

const isCircuitOpen = (e: unknown) => CircuitBreaker.isCircuitOpen(e)

const tripWith10Errors = (cb: CircuitBreaker.CircuitBreaker) =>
  Effect.forEach(Array.from({ length: 10 }), () => run(cb, errf), { discard: true })

describe("slok/goresilience circuitbreaker_test.go TestCircuitBreaker", () => {
  it.effect("The circuit should start in closed state.", () =>
    Effect.gen(function*() {
      expect(yield* testCase({}, () => Effect.succeed(okf))).toBeUndefined()
    }))

  it.effect("After some errors the circuit should be open.", () =>
    Effect.gen(function*() {
      const e = yield* testCase(
        { ErrorPercentThresholdToOpen: 30, MinimumRequestToOpen: 10 },
        (cb) => Effect.as(tripWith10Errors(cb), okf)
      )
      expect(isCircuitOpen(e)).toBe(true)
    }))

  it.effect("After some errors the circuit should be open, but only if the the maximum of request have been made.", () =>
    Effect.gen(function*() {
      const e = yield* testCase(
        { ErrorPercentThresholdToOpen: 30, MinimumRequestToOpen: 11 },
        (cb) => Effect.as(tripWith10Errors(cb), okf)
      )
      expect(e).toBeUndefined()
    }))

  const halfOpen = { ErrorPercentThresholdToOpen: 30, MinimumRequestToOpen: 10, WaitDurationInOpenState: 5 }

  it.effect("A circuit in half open state should admit new requests.", () =>
    Effect.gen(function*() {
      const e = yield* testCase(halfOpen, (cb) =>
        Effect.gen(function*() {
          yield* tripWith10Errors(cb)
          // wait for the open circuit to go half open
          yield* TestClock.adjust("6 millis")
          return okf
        }))
      expect(e).toBeUndefined()
    }))

  it.effect("A circuit in half open state should return the execution result while it's on this phase.", () =>
    Effect.gen(function*() {
      const e = yield* testCase(halfOpen, (cb) =>
        Effect.gen(function*() {
          yield* tripWith10Errors(cb)
          yield* TestClock.adjust("6 millis")
          return errf
        }))
      expect(e).toBe(err)
    }))

  it.effect("A circuit in half open state should open the circuit if the execution errors.", () =>
    Effect.gen(function*() {
      const e = yield* testCase(halfOpen, (cb) =>
        Effect.gen(function*() {
          yield* tripWith10Errors(cb)
          yield* TestClock.adjust("6 millis")
          // trigger from half open to open again
          yield* run(cb, errf)
          return errf
        }))
      expect(isCircuitOpen(e)).toBe(true)
    }))

  it.effect("A circuit in half open state should close the circuit if the execution success.", () =>
    Effect.gen(function*() {
      const e = yield* testCase(halfOpen, (cb) =>
        Effect.gen(function*() {
          yield* tripWith10Errors(cb)
          yield* TestClock.adjust("6 millis")
          // trigger from half open to closed
          yield* run(cb, okf)
          return okf
        }))
      expect(e).toBeUndefined()
    }))

  const forget = (MetricsSlidingWindowBucketQuantity: number) =>
    testCase({
      ErrorPercentThresholdToOpen: 30,
      MinimumRequestToOpen: 10,
      SuccessfulRequiredOnHalfOpen: 1,
      WaitDurationInOpenState: 5,
      MetricsSlidingWindowBucketQuantity,
      MetricsBucketDuration: 5
    }, (cb) =>
      Effect.gen(function*() {
        yield* tripWith10Errors(cb)
        // wait for the open circuit to go half open
        yield* TestClock.adjust("6 millis")
        // close the circuit with lots of good requests
        for (let i = 0; i < 100; i++) yield* run(cb, okf)
        // wait to reset the window
        yield* TestClock.adjust("30 millis")
        // the same number of errors again
        yield* tripWith10Errors(cb)
        yield* run(cb, okf)
        return okf
      }))

  it.effect("The sliding window should forget the old recorded settings (short window enought to forget).", () =>
    Effect.gen(function*() {
      // a 25 ms window: the 100 good requests are forgotten, so the 10 errors open the circuit
      expect(isCircuitOpen(yield* forget(5))).toBe(true)
    }))

  it.effect("The sliding window should forget the old recorded settings (big window not enought to forget).", () =>
    Effect.gen(function*() {
      // a 500 ms window: the 100 good requests still count, so 10 errors are below 30 %
      expect(yield* forget(100)).toBeUndefined()
    }))
})
