// Ported from rezilience's rezilience/shared/src/test/scala/nl/vroste/rezilience/FailureRateTrippingStrategySpec.scala
// (svroonland/rezilience, commit caa1642e8e7be29bf7c54715202f3ceff43eb07a), one `it` per rezilience case, named after it.
// Mapping: `TrippingStrategy.failureRate(rate, sampleDuration, minThroughput, nrSampleBuckets = 10)` is
// `CircuitBreaker.make(key, { failureRateThreshold: rate, slidingWindow: sampleDuration, minimumThroughput:
// minThroughput })` (Sturdy's time window is always 10 buckets; rezilience's defaults are 0.5, 1 minute, 10, 10);
// `resetPolicy = Schedule.fixed(d)` is `breakDuration: d`; `strategy.shouldTrip(false)` / `shouldTrip(true)` is a call
// through the breaker that fails / succeeds, and "would trip" is the breaker's state being Open after it; `cb(f)` is
// `CircuitBreaker.withBreaker(f, breaker)`, `CircuitBreakerOpen` a `CircuitOpen`; the `stateChanges` queue is the
// transitions published on `subscribe`. The `withLiveClock` cases run on the TestClock, which moves by the same
// spacing. `check` with zio-test generators is `it.effect.prop` with fast-check, fixed seed, and the same ranges
// (a `failureRateThreshold` of 0 is a `RangeError` in Sturdy, so the rates start just above it).
// Deliberate differences (each test says which): rezilience judges the failure rate only once the sample period has
// run its whole length since the breaker was made or reset (all `nrSampleBuckets` buckets exist); Sturdy judges it on
// every call once the window holds `minimumThroughput` calls, however young the window (as resilience4j, Polly and
// cockatiel do), so a breaker can open before `sampleDuration` has passed. The two property cases therefore assert
// Sturdy's rule: it opens when, and only when, the calls still in its window reach `minimumThroughput` (a call stays in
// the window for at least `slidingWindow` less one bucket, a tenth of it, and never for longer than `slidingWindow`).
// Not ported: `TestAspect.repeats(10)`/`nonFlaky` (each case runs once, deterministically; the properties run 50
// samples).
import { describe, expect, it } from "@effect/vitest"
import { CircuitBreaker } from "@sturdy/policy"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as TestClock from "effect/TestClock"
import { recordTransitions, settle } from "./utils/transitions.js"

const failureRate = (
  rate = 0.5,
  sampleDuration: Duration.DurationInput = "1 minute",
  minThroughput = 10,
  options?: CircuitBreaker.Options
) =>
  CircuitBreaker.make("rezilience", {
    failureRateThreshold: rate,
    slidingWindow: sampleDuration,
    minimumThroughput: minThroughput,
    ...options
  })

const succeeding = (cb: CircuitBreaker.CircuitBreaker) => Effect.either(CircuitBreaker.withBreaker(Effect.void, cb))
const failing = (cb: CircuitBreaker.CircuitBreaker) =>
  Effect.either(CircuitBreaker.withBreaker(Effect.fail("Oh Oh"), cb))
const rejected = (result: Either.Either<unknown, unknown>) =>
  Either.isLeft(result) && CircuitBreaker.isCircuitOpen(result.left)

// randomListOfIntervals: 0 to 5 intervals of 100 ms to 10 s (whole milliseconds)
const intervals = FastCheck.array(FastCheck.integer({ min: 100, max: 10_000 }), { maxLength: 5 })
const sampleDurations = FastCheck.integer({ min: 1_000, max: 600_000 }) // 1 second to 10 minutes
const minThroughputs = FastCheck.integer({ min: 1, max: 10 })

describe("peer rezilience FailureRateTrippingStrategySpec", () => {
  it.scoped("does not trip initially", () =>
    Effect.gen(function*() {
      const cb = yield* failureRate()
      expect(Either.isRight(yield* succeeding(cb))).toBe(true)
      expect(yield* cb.state).toBe("Closed")
    }))

  it.effect.prop(
    "does not trip when all calls are successful",
    {
      rate: FastCheck.double({ min: 0.001, max: 1, noNaN: true }),
      sampleDuration: sampleDurations,
      minThroughput: minThroughputs,
      callIntervals: intervals
    },
    ({ callIntervals, minThroughput, rate, sampleDuration }) =>
      Effect.gen(function*() {
        const cb = yield* failureRate(rate, Duration.millis(sampleDuration), minThroughput)
        const states: Array<CircuitBreaker.State> = []
        for (const d of callIntervals) {
          yield* TestClock.adjust(Duration.millis(d))
          expect(Either.isRight(yield* succeeding(cb))).toBe(true)
          states.push(yield* cb.state)
        }
        expect(states.every((s) => s === "Closed")).toBe(true)
      }).pipe(Effect.scoped),
    { fastCheck: { seed: 20261205, numRuns: 50 } }
  )

  it.scoped("only trips after the sample period", () =>
    Effect.gen(function*() {
      const cb = yield* failureRate(0.5, "400 millis", 5, { breakDuration: "5 seconds" })
      // a succeeding and a failing call, 4 times, every 150 ms
      const rounds: Array<[Either.Either<unknown, unknown>, Either.Either<unknown, unknown>]> = []
      for (let i = 0; i < 4; i++) {
        rounds.push([yield* succeeding(cb), yield* failing(cb)])
        yield* TestClock.adjust("150 millis")
      }
      // Sturdy (deliberate difference): the third round's failure, at 300 ms, makes 3 failures in 6 calls, a rate of
      // 0.5 over more than 5 calls, and opens the breaker; rezilience waits for the 400 ms sample period and opens at
      // the fourth round's failure. The fourth round is rejected here.
      expect(rounds.map(([s, f]) => [rejected(s), rejected(f)])).toEqual([
        [false, false],
        [false, false],
        [false, false],
        [true, true]
      ])
      // the next call fails fast
      yield* TestClock.adjust("50 millis")
      let ran = false
      const r = yield* Effect.either(CircuitBreaker.withBreaker(Effect.sync(() => (ran = true)), cb))
      expect(rejected(r)).toBe(true)
      expect(ran).toBe(false)
    }))

  it.scoped("does not trip if the failure rate stays below the threshold", () =>
    Effect.gen(function*() {
      const cb = yield* failureRate(0.7, "100 millis", 5, { breakDuration: "5 seconds" })
      // a succeeding and a failing call, 11 times (repeat with recurs(10)), every 10 ms: a rate of 0.5
      for (let i = 0; i < 11; i++) {
        expect(Either.isRight(yield* succeeding(cb))).toBe(true)
        const f = yield* failing(cb)
        expect(Either.isLeft(f) && f.left).toBe("Oh Oh")
        yield* TestClock.adjust("10 millis")
      }
      expect(yield* cb.state).toBe("Closed")
    }))

  it.scoped("does not trip after resetting", () =>
    Effect.gen(function*() {
      const cb = yield* failureRate(0.5, "400 millis", 5, { breakDuration: "1 second" })
      const published = yield* recordTransitions(cb)
      const states = () => Effect.map(settle, () => published.map((c) => c.to))

      // a succeeding and a failing call, 4 times, every 150 ms (Sturdy: open from the third round, as above)
      for (let i = 0; i < 4; i++) {
        yield* succeeding(cb)
        yield* failing(cb)
        if (i < 3) yield* TestClock.adjust("150 millis")
      }
      expect(yield* states()).toEqual(["Open"])

      // the next call fails
      expect(rejected(yield* succeeding(cb))).toBe(true)

      // wait for the HalfOpen state (the pause of 1 s from 300 ms is over; Sturdy publishes the transition with the
      // next call)
      yield* TestClock.adjust("1 second")
      expect(yield* cb.state).toBe("HalfOpen")

      // a succeeding call goes back to the Closed state
      expect(Either.isRight(yield* succeeding(cb))).toBe(true)
      expect(yield* states()).toEqual(["Open", "HalfOpen", "Closed"])

      // some failed calls, fewer than minThroughput: the window was emptied when the breaker closed
      for (let i = 0; i < 4; i++) expect(rejected(yield* failing(cb))).toBe(false)
      expect(yield* cb.state).toBe("Closed")

      // the next call goes through
      expect(Either.isRight(yield* succeeding(cb))).toBe(true)
      // Sturdy (deliberate difference): it is the fifth call in the window, 4 of them failed, and the rate is judged
      // after every call once minimumThroughput calls are in, so the breaker opens after it (rezilience does not judge
      // before a whole sample period has passed since the reset)
      expect(yield* cb.state).toBe("Open")
    }))

  it.effect.prop(
    "trips only after the sample duration has expired and all calls fail",
    {
      rate: FastCheck.double({ min: 0.1, max: 1, noNaN: true }),
      sampleDuration: sampleDurations,
      minThroughput: minThroughputs,
      callIntervals: intervals
    },
    ({ callIntervals, minThroughput, rate, sampleDuration }) =>
      Effect.gen(function*() {
        const cb = yield* failureRate(rate, Duration.millis(sampleDuration), minThroughput)
        const bucketMillis = Math.ceil(sampleDuration / 10)
        const calls: Array<number> = []
        for (const d of callIntervals) {
          yield* TestClock.adjust(Duration.millis(d))
          const now = yield* Clock.currentTimeMillis
          expect(rejected(yield* failing(cb))).toBe(false)
          calls.push(now)
          const wouldTrip = (yield* cb.state) === "Open"
          // rezilience: trips only when totalTime >= sampleDuration && totalCalls >= minThroughput. Sturdy: trips
          // once the calls in its window reach minThroughput (every call failed, so any rate is reached)
          const surelyIn = calls.filter((t) => now - t <= sampleDuration - bucketMillis).length
          const maybeIn = calls.filter((t) => now - t < sampleDuration).length
          if (wouldTrip) expect(maybeIn).toBeGreaterThanOrEqual(minThroughput)
          else expect(surelyIn).toBeLessThan(minThroughput)
          if (wouldTrip) break
        }
      }).pipe(Effect.scoped),
    { fastCheck: { seed: 20261205, numRuns: 50 } }
  )
})
