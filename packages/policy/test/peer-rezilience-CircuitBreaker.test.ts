// Ported from rezilience's rezilience/shared/src/test/scala/nl/vroste/rezilience/CircuitBreakerSpec.scala
// (svroonland/rezilience, commit caa1642e8e7be29bf7c54715202f3ceff43eb07a), one `it` per rezilience case, named after it.
// Mapping: `CircuitBreaker.withMaxFailures(n, resetPolicy, isFailure)` is `CircuitBreaker.make(key, {
// consecutiveFailures: n, breakDuration: resetPolicy, isFailure })`; its default `resetPolicy`,
// `Retry.Schedules.exponentialBackoff(1.second, 1.minute)` (1 s, 2 s, 4 s … capped at 60 s), is
// `Schedule.exponential("1 second").pipe(Schedule.union(Schedule.spaced("1 minute")))`; ZIO's
// `Schedule.exponential(base, factor)` is Effect's `Schedule.exponential(base, factor)` (the same pauses); a
// `PartialFunction` `isFailure` is the predicate `isFailure`; `cb(f)` is `CircuitBreaker.withBreaker(f, breaker)`, its
// `WrappedError(e)` the failure `e` itself (Sturdy does not wrap) and `CircuitBreakerOpen` a `CircuitOpen`;
// `currentState` is `state`; the `stateChanges` queue is the transitions published on `subscribe`; `ZIO.dieMessage` a
// defect, `ZIO.interrupt` `Effect.interrupt`; TestClock is TestClock. The metrics suite reads `snapshot` and the
// published transitions where rezilience reads its metric counters and gauge: `calls_success` is `calls - failures`,
// `calls_failure` is `failures`, the `state` gauge is `state`, `state_changes` the number of transitions published.
// Deliberate differences (each test says which): Sturdy's breaker has no timers, so Open → HalfOpen is published when
// the first call after the pause arrives (its `state` reports HalfOpen as soon as the pause is over), where
// rezilience's reset fiber publishes it when the pause ends; Sturdy opens at `consecutiveFailures` failures or more
// where rezilience's failure count trips at exactly `maxFailures` (the same here: no case passes it).
// Not ported: the `calls_rejected` metric (Sturdy counts no rejections; a rejection is asserted as `CircuitOpen`
// instead), and the `nonFlaky`/`withLiveRandom` aspects (each case runs once, deterministically, on the TestClock).
// FailureRateTrippingStrategySpec is in peer-rezilience-FailureRate.test.ts.
// rezilience-config's rezilience-config/src/test/scala/nl/vroste/rezilience/config/CircuitBreakerFromConfigSpec.scala
// (same commit) is ported last, without the reading: its HOCON is written as the options object it maps to
// (`max-failures` is `consecutiveFailures`; `failure-rate-threshold`, `sample-duration`, `min-throughput` are
// `failureRateThreshold`, `slidingWindow`, `minimumThroughput`; `reset-schedule { min, max = 1 minute, factor = 2 }` is
// `Schedule.exponential(min, factor)` capped at `max`), since Sturdy's breaker options are a plain object, not read
// from a config provider. Its failure-rate case asserts Sturdy's behaviour (see FailureRate's deliberate difference).
import { describe, expect, it } from "@effect/vitest"
import { CircuitBreaker } from "@sturdy/policy"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import { recordTransitions, settle } from "./utils/transitions.js"

class MyCallError extends Error {}
class MyNotFatalError extends Error {}

// rezilience's `isFailure`: MyNotFatalError is not a failure, any other Error is
const isFailure = (e: unknown) => !(e instanceof MyNotFatalError)

// withMaxFailures' default reset policy: exponentialBackoff(1.second, 1.minute)
const exponentialBackoff = Schedule.exponential("1 second").pipe(Schedule.union(Schedule.spaced("1 minute")))

const withMaxFailures = (
  maxFailures: number,
  resetPolicy: Schedule.Schedule<unknown, unknown> = exponentialBackoff,
  options?: CircuitBreaker.Options
) => CircuitBreaker.make("rezilience", { consecutiveFailures: maxFailures, breakDuration: resetPolicy, ...options })

const failing = (breaker: CircuitBreaker.CircuitBreaker) =>
  Effect.either(CircuitBreaker.withBreaker(Effect.fail(new MyCallError()), breaker))

const arrows = (published: ReadonlyArray<CircuitBreaker.StateChange>) => published.map((c) => `${c.from}->${c.to}`)

describe("peer rezilience CircuitBreakerSpec", () => {
  it.scoped("lets successful calls through", () =>
    Effect.gen(function*() {
      const cb = yield* withMaxFailures(10, Schedule.exponential("1 second"))
      let calls = 0
      // repeat(Schedule.recurs(20)): the first call and 20 repetitions
      yield* Effect.repeat(CircuitBreaker.withBreaker(Effect.sync(() => calls++), cb), Schedule.recurs(20))
      expect(calls).toBe(21)
      expect(yield* cb.state).toBe("Closed")
    }))

  it.scoped("fails fast after max nr failures calls", () =>
    Effect.gen(function*() {
      const cb = yield* withMaxFailures(100, Schedule.exponential("1 second"))
      const results = yield* Effect.forEach(Array.from({ length: 105 }), () => failing(cb), {
        concurrency: "unbounded"
      })
      // the first 100 reach the upstream and fail with its failure; the breaker is open for the rest
      expect(results.filter((r) => Either.isLeft(r) && r.left instanceof MyCallError).length).toBe(100)
      const result = yield* failing(cb)
      expect(Either.isLeft(result) && CircuitBreaker.isCircuitOpen(result.left)).toBe(true)
    }))

  it.scoped("ignore failures that should not be considered a failure", () =>
    Effect.gen(function*() {
      const cb = yield* withMaxFailures(3, Schedule.exponential("1 second"), { isFailure })
      // cb(ZIO.fail(MyNotFatalError)).either.repeatN(3): four failures that are not counted
      for (let i = 0; i < 4; i++) {
        yield* Effect.either(CircuitBreaker.withBreaker(Effect.fail(new MyNotFatalError()), cb))
      }
      const result = yield* failing(cb)
      expect(Either.isLeft(result) && CircuitBreaker.isCircuitOpen(result.left)).toBe(false)
      expect(Either.isLeft(result) && result.left).toBeInstanceOf(MyCallError)
    }))

  it.scoped("reset to closed state after reset timeout", () =>
    Effect.gen(function*() {
      const cb = yield* withMaxFailures(10, Schedule.exponential("1 second"))
      const published = yield* recordTransitions(cb)
      for (let i = 0; i < 10; i++) yield* failing(cb)
      yield* settle
      expect(arrows(published)).toEqual(["Closed->Open"])
      yield* TestClock.adjust("3 seconds")
      // Sturdy: the pause is over (state HalfOpen); Open -> HalfOpen is published by the next call, not by a timer
      expect(yield* cb.state).toBe("HalfOpen")
      yield* CircuitBreaker.withBreaker(Effect.void, cb)
      yield* settle
      expect(arrows(published)).toEqual(["Closed->Open", "Open->HalfOpen", "HalfOpen->Closed"])
    }))

  it.scoped("retry exponentially", () =>
    Effect.gen(function*() {
      const cb = yield* withMaxFailures(3, Schedule.exponential("1 second", 2))
      const published = yield* recordTransitions(cb)
      for (let i = 0; i < 3; i++) yield* failing(cb)
      yield* settle
      expect(arrows(published)).toEqual(["Closed->Open"]) // s1: Open
      yield* TestClock.adjust("1 second")
      // s2: HalfOpen (Sturdy: read from `state`; the transition is published with the probe below)
      expect(yield* cb.state).toBe("HalfOpen")
      yield* failing(cb)
      yield* settle
      expect(arrows(published)).toEqual(["Closed->Open", "Open->HalfOpen", "HalfOpen->Open"]) // s3: Open again
      yield* TestClock.adjust("1 second")
      yield* settle
      // s4: nothing changes one second into the second, two-second pause
      expect(published.length).toBe(3)
      expect(yield* cb.state).toBe("Open")
      yield* TestClock.adjust("1 second")
      expect(yield* cb.state).toBe("HalfOpen") // s5
      yield* CircuitBreaker.withBreaker(Effect.void, cb)
      yield* settle
      expect(arrows(published).slice(3)).toEqual(["Open->HalfOpen", "HalfOpen->Closed"]) // s6: Closed
    }))

  it.scoped("have not stuck in HalfOpen if some defect happens", () =>
    Effect.gen(function*() {
      const cb = yield* withMaxFailures(1)
      yield* failing(cb)
      const s1 = yield* cb.state
      yield* TestClock.adjust("1 second")
      const s2 = yield* cb.state
      const exit = yield* Effect.exit(CircuitBreaker.withBreaker(Effect.dieMessage("Boom"), cb))
      expect(Exit.isFailure(exit) && exit.cause._tag).toBe("Die")
      const s3 = yield* cb.state
      expect([s1, s2, s3]).toEqual(["Open", "HalfOpen", "Open"])
    }))

  it.scoped("allow next call on interrupt in HalfOpen", () =>
    Effect.gen(function*() {
      // checkAll over (ZIO.unit -> Closed, ZIO.fail(MyCallError) -> Open)
      const cases: ReadonlyArray<readonly [Effect.Effect<void, MyCallError>, CircuitBreaker.State]> = [
        [Effect.void, "Closed"],
        [Effect.fail(new MyCallError()), "Open"]
      ]
      for (const [finalCall, finalState] of cases) {
        const cb = yield* withMaxFailures(1)
        yield* failing(cb)
        const s1 = yield* cb.state
        yield* TestClock.adjust("1 second")
        const s2 = yield* cb.state
        const interrupted = yield* Effect.exit(CircuitBreaker.withBreaker(Effect.interrupt, cb))
        expect(Exit.isInterrupted(interrupted)).toBe(true)
        const s3 = yield* cb.state // still HalfOpen: the interrupted probe says nothing about the upstream
        yield* Effect.exit(CircuitBreaker.withBreaker(finalCall, cb))
        const s4 = yield* cb.state
        expect([s1, s2, s3, s4]).toEqual(["Open", "HalfOpen", "HalfOpen", finalState])
      }
    }))

  it.scoped("reset the exponential timeout after a Closed-Open-HalfOpen-Closed", () =>
    Effect.gen(function*() {
      const cb = yield* withMaxFailures(3, Schedule.exponential("1 second", 2))
      for (let i = 0; i < 3; i++) yield* failing(cb)
      expect(yield* cb.state).toBe("Open")
      yield* TestClock.adjust("1 second")
      expect(yield* cb.state).toBe("HalfOpen")

      yield* failing(cb)
      expect(yield* cb.state).toBe("Open") // open again, this time with double reset timeout

      yield* TestClock.adjust("2 seconds")
      expect(yield* cb.state).toBe("HalfOpen")

      yield* CircuitBreaker.withBreaker(Effect.void, cb)
      expect(yield* cb.state).toBe("Closed")

      for (let i = 0; i < 3; i++) yield* failing(cb)
      expect(yield* cb.state).toBe("Open")

      // the reset time has re-initialized again: one second, not four
      yield* TestClock.adjust("1 second")
      expect(yield* cb.state).toBe("HalfOpen")
    }))

  it.scoped("reset to Closed after Half-Open on success", () =>
    Effect.gen(function*() {
      const cb = yield* withMaxFailures(5, Schedule.exponential("2 seconds"), { isFailure })
      let nrCalls = 0
      const counting = CircuitBreaker.withBreaker(Effect.sync(() => nrCalls++), cb)
      const error1 = yield* Effect.flip(CircuitBreaker.withBreaker(Effect.fail(new MyNotFatalError()), cb))
      const errors = yield* Effect.replicateEffect(Effect.flip(failing(cb).pipe(Effect.flatten)), 5)
      yield* TestClock.adjust("1 second")
      const error3 = yield* Effect.flip(counting) // no backend calls here
      yield* TestClock.adjust("1 second")
      yield* counting
      yield* counting
      expect(error1).toBeInstanceOf(MyNotFatalError)
      expect(errors.every((e) => e instanceof MyCallError)).toBe(true)
      expect(CircuitBreaker.isCircuitOpen(error3)).toBe(true)
      expect(nrCalls).toBe(2)
    }))

  it.scoped("reset to Closed after Half-Open on error if isFailure=false", () =>
    Effect.gen(function*() {
      const cb = yield* withMaxFailures(5, Schedule.exponential("2 seconds"), { isFailure })
      let nrCalls = 0
      const counting = CircuitBreaker.withBreaker(Effect.sync(() => nrCalls++), cb)
      const errors = yield* Effect.replicateEffect(Effect.flip(failing(cb).pipe(Effect.flatten)), 5)
      yield* TestClock.adjust("1 second")
      const error1 = yield* Effect.flip(counting) // no backend calls here
      yield* TestClock.adjust("1 second")
      // the probe fails with a failure that is not counted: the upstream answered, so the breaker closes
      const error2 = yield* Effect.flip(CircuitBreaker.withBreaker(Effect.fail(new MyNotFatalError()), cb))
      yield* counting
      expect(errors.every((e) => e instanceof MyCallError)).toBe(true)
      expect(CircuitBreaker.isCircuitOpen(error1)).toBe(true)
      expect(error2).toBeInstanceOf(MyNotFatalError)
      expect(nrCalls).toBe(1)
      expect(yield* cb.state).toBe("Closed")
    }))

  describe("metrics", () => {
    it.scoped("has suitable initial metric values", () =>
      Effect.gen(function*() {
        const cb = yield* withMaxFailures(3)
        const published = yield* recordTransitions(cb)
        yield* settle
        const s = yield* cb.snapshot
        expect({ success: s.calls - s.failures, failed: s.failures, state: s.state, stateChanges: published.length })
          .toEqual({ success: 0, failed: 0, state: "Closed", stateChanges: 0 })
      }))

    it.scoped("tracks successful and failed calls", () =>
      Effect.gen(function*() {
        const cb = yield* withMaxFailures(3)
        yield* CircuitBreaker.withBreaker(Effect.void, cb)
        yield* Effect.either(CircuitBreaker.withBreaker(Effect.fail("Failed"), cb))
        const s = yield* cb.snapshot
        expect({ success: s.calls - s.failures, failed: s.failures }).toEqual({ success: 1, failed: 1 })
      }))

    it.scoped("records state changes", () =>
      Effect.gen(function*() {
        const cb = yield* withMaxFailures(10, Schedule.exponential("1 second"))
        const published = yield* recordTransitions(cb)
        for (let i = 0; i < 10; i++) yield* failing(cb)
        yield* TestClock.adjust("0 seconds")
        const stateAfterFailures = yield* cb.state
        yield* TestClock.adjust("1 second")
        const stateAfterReset = yield* cb.state
        yield* TestClock.adjust("1 second")
        yield* CircuitBreaker.withBreaker(Effect.void, cb)
        yield* TestClock.adjust("1 second")
        yield* settle
        const stateFinal = yield* cb.state
        // Closed -> Open, Open -> HalfOpen (Sturdy: published by the call at 2 s), HalfOpen -> Closed
        expect(published.length).toBe(3)
        expect([stateAfterFailures, stateAfterReset, stateFinal]).toEqual(["Open", "HalfOpen", "Closed"])
      }))
  })
})

describe("peer rezilience CircuitBreakerFromConfigSpec", () => {
  // reset-schedule { min = 3 seconds }, with the defaults max = 1 minute and factor = 2
  const resetSchedule = Schedule.exponential("3 seconds", 2).pipe(Schedule.union(Schedule.spaced("1 minute")))
  const call = <A, E>(cb: CircuitBreaker.CircuitBreaker, self: Effect.Effect<A, E>) =>
    Effect.either(CircuitBreaker.withBreaker(self, cb))

  it.scoped("can read failure-count strategy from config", () =>
    Effect.gen(function*() {
      // tripping-strategy { max-failures = 1 }
      const cb = yield* CircuitBreaker.make("my-circuit-breaker", {
        consecutiveFailures: 1,
        breakDuration: resetSchedule
      })
      yield* call(cb, Effect.fail(undefined))
      yield* call(cb, Effect.fail(undefined))
      const result = yield* call(cb, Effect.succeed(123))
      expect(Either.isLeft(result) && CircuitBreaker.isCircuitOpen(result.left)).toBe(true)
    }))

  it.scoped("can read failure-rate strategy from config", () =>
    Effect.gen(function*() {
      // tripping-strategy { failure-rate-threshold = 0.75, sample-duration = 2 seconds, min-throughput = 1,
      // nr-sample-buckets = 2 } (Sturdy's window is always 10 buckets)
      const cb = yield* CircuitBreaker.make("my-circuit-breaker", {
        failureRateThreshold: 0.75,
        slidingWindow: "2 seconds",
        minimumThroughput: 1,
        breakDuration: resetSchedule
      })
      const first = yield* call(cb, Effect.fail(undefined))
      const rest = [
        yield* call(cb, Effect.fail(undefined)),
        yield* call(cb, Effect.succeed(undefined)),
        yield* call(cb, Effect.fail(undefined))
      ]

      yield* TestClock.adjust("2 seconds")
      const result1 = yield* call(cb, Effect.succeed(123))

      for (let i = 0; i < 4; i++) yield* call(cb, Effect.fail(undefined))

      yield* TestClock.adjust("2 seconds")
      const result2 = yield* call(cb, Effect.succeed(123))

      // rezilience judges no rate before its 2 s sample period has passed: the first four calls go through, result1
      // succeeds, and the four failures after it (4 of the 5 calls in its window by then) open it, so result2 is
      // rejected. Sturdy (deliberate difference) judges the rate from the first call, as
      // minimumThroughput is 1: the first failure (a rate of 1) opens the breaker for 3 s, so the three calls after it
      // and result1, at 2 s, are rejected; at 4 s the pause is over and result2, the probe, succeeds
      expect(Either.isLeft(first) && first.left).toBe(undefined)
      expect(rest.every((r) => Either.isLeft(r) && CircuitBreaker.isCircuitOpen(r.left))).toBe(true)
      expect(Either.isLeft(result1) && CircuitBreaker.isCircuitOpen(result1.left)).toBe(true)
      expect(result2).toEqual(Either.right(123))
      expect(yield* cb.state).toBe("Closed")
    }))
})
