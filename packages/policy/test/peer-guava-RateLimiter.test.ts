// Ported from Guava's guava-tests/test/com/google/common/util/concurrent/RateLimiterTest.java (google/guava, commit
// f2944006454cca4fac082347ca60dc11c2590724), one `it` per Guava case, named after it.
// Mapping: Guava's SmoothBursty `RateLimiter.create(r)` stores up to `r` permits (one second of work) while idle and
// grants one more call on credit (the next caller pays for it). For single permits that is a token bucket of `r + 1`
// tokens refilled every `1 / r` s: Sturdy's `{ limit: r + 1, window: (r + 1) / r s }`. A new Guava limiter stores no
// permit but grants its first call: the Sturdy bucket is drained to 1 token at t0. `acquire(n)` is `consume(key, n)`
// in mode "delay", run with the TestClock moved to each pending sleep (Guava's FakeStopwatch): its wait is the "R"
// event; `stopwatch.sleepMillis` is `TestClock.adjust`, the "U" event. `tryAcquire(n, timeout)` is `consume(key, n)` of
// a limiter with `maxWait: timeout` over the same store and key (Guava's timeout is per call; Sturdy's per limiter);
// `tryAcquire()` is a timeout of 0.
// Deliberate differences (each test says which): Guava pays later (a caller of any weight goes at once when no debt
// is pending, and the next caller waits for it), Sturdy pays first (a caller waits for its own tokens, and a weight
// above `limit` is a `RangeError` defect); a `maxWait` of negative milliseconds is a `RangeError` where Guava takes a
// negative timeout as 0 (a negative `Duration` is zero in Effect, as in Guava); `Double.MIN_VALUE` permits per second
// (a window of no finite length) is the longest finite window.
// Not ported: testSimpleRateUpdate, testBurstyAndUpdate, testInfinity_Bursty, testInfinity_BustyTimeElapsed and
// testWeNeverGetABurstMoreThanOneSec (`setRate`: a Sturdy limiter's options are fixed; Sturdy has no infinite rate);
// testCreateWarmupParameterValidation, testWarmUp, testWarmUpWithColdFactor, testWarmUpWithColdFactor1,
// testWarmUpAndUpdate, testWarmUpAndUpdateWithColdFactor, testInfinity_WarmUp, testInfinity_WarmUpTimeElapsed and
// testTimeToWarmUpIsHonouredEvenWithWeights (SmoothWarmingUp: Sturdy has no warm-up period); testNulls,
// testMockingMockito and testMockingEasyMock (Java null checks and mocking).
import { describe, expect, it } from "@effect/vitest"
import { RateLimit } from "@sturdy/policy"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as TestClock from "effect/TestClock"
import { advanceToDone } from "./utils/advance.js"

const memory = Effect.provide(RateLimit.layerStoreMemory)
const KEY = "guava"

/** Guava's limiter and FakeStopwatch over one key: `limit` and `window` of the Sturdy bucket. */
const makeGuava = (limit: number, window: Duration.DurationInput, fresh: boolean, key = KEY) =>
  Effect.gen(function*() {
    const store = yield* RateLimit.RateLimiterStore
    const faces = new Map<string, RateLimit.RateLimiter>()
    const face = (maxWait?: Duration.Duration) => {
      const id = maxWait === undefined ? "unbounded" : String(Duration.toMillis(maxWait))
      const known = faces.get(id)
      if (known !== undefined) return Effect.succeed(known)
      return RateLimit.make({ limit, window, ...(maxWait === undefined ? {} : { maxWait }) }).pipe(
        Effect.provideService(RateLimit.RateLimiterStore, store),
        Effect.tap((made) => faces.set(id, made))
      )
    }
    const events: Array<string> = []
    const seconds = (millis: number) => (millis / 1000).toFixed(2)
    // a new Guava limiter has no stored permit but grants its first call
    if (fresh && limit > 1) yield* Effect.orDie((yield* face(Duration.zero)).consume(key, limit - 1))

    /** `acquire(permits)`: the seconds waited ("R" event). */
    const acquire = (permits = 1) =>
      Effect.gen(function*() {
        const limiter = yield* face()
        const start = yield* Clock.currentTimeMillis
        yield* Effect.orDie(Effect.flatten(advanceToDone(limiter.consume(key, permits))))
        const waited = (yield* Clock.currentTimeMillis) - start
        events.push(`R${seconds(waited)}`)
        return waited / 1000
      })
    /** `tryAcquire(permits, timeout)`: whether the permits were granted (within the timeout). */
    const tryAcquire = (permits = 1, timeout: Duration.DurationInput = Duration.zero) =>
      Effect.gen(function*() {
        const limiter = yield* face(Duration.decode(timeout))
        const exit = yield* advanceToDone(limiter.consume(key, permits))
        if (Exit.isFailure(exit) && !Cause.isFailType(exit.cause)) return yield* exit
        return Exit.isSuccess(exit)
      })
    const sleepMillis = (millis: number) =>
      Effect.sync(() => events.push(`U${seconds(millis)}`)).pipe(Effect.zipRight(TestClock.adjust(millis)))
    const assertEvents = (...expected: Array<string>) => expect(events.splice(0)).toEqual(expected)
    return { acquire, tryAcquire, sleepMillis, assertEvents }
  })

/** `RateLimiter.create(permitsPerSecond, stopwatch)`, as it is when new. */
const create = (permitsPerSecond: number) =>
  makeGuava(permitsPerSecond + 1, Duration.millis((permitsPerSecond + 1) * 1000 / permitsPerSecond), true)

/** `RateLimiter.create(Double.MIN_VALUE)`: one permit, refilled after the longest finite window. */
const createMinValue = () => makeGuava(1, Duration.millis(Number.MAX_VALUE), true)

describe("peer Guava RateLimiterTest", () => {
  it.effect("testSimple", () =>
    Effect.gen(function*() {
      const limiter = yield* create(5.0)
      yield* limiter.acquire() // R0.00, since it's the first request
      yield* limiter.acquire() // R0.20
      yield* limiter.acquire() // R0.20
      limiter.assertEvents("R0.00", "R0.20", "R0.20")
    }).pipe(memory))

  it.effect("testImmediateTryAcquire", () =>
    Effect.gen(function*() {
      const r = yield* create(1)
      expect(yield* r.tryAcquire()).toBe(true) // initial permit
      expect(yield* r.tryAcquire()).toBe(false) // no secondary permit
    }).pipe(memory))

  it.effect("testDoubleMinValueCanAcquireExactlyOnce", () =>
    Effect.gen(function*() {
      const r = yield* createMinValue()
      expect(yield* r.tryAcquire()).toBe(true)
      expect(yield* r.tryAcquire()).toBe(false)
      yield* r.sleepMillis(2 ** 31 - 1) // Integer.MAX_VALUE
      expect(yield* r.tryAcquire()).toBe(false)
    }).pipe(memory))

  it.effect("testAcquireParameterValidation", () =>
    Effect.gen(function*() {
      const limiter = yield* create(999)
      // Guava throws IllegalArgumentException; Sturdy dies with a RangeError
      const rejects = <A, E>(call: Effect.Effect<A, E>) =>
        Effect.map(Effect.exit(call), (exit) =>
          expect(Exit.isFailure(exit) && Cause.isDie(exit.cause) && Cause.squash(exit.cause)).toBeInstanceOf(
            RangeError
          ))
      yield* rejects(limiter.acquire(0))
      yield* rejects(limiter.acquire(-1))
      yield* rejects(limiter.tryAcquire(0))
      yield* rejects(limiter.tryAcquire(-1))
      yield* rejects(limiter.tryAcquire(0, "1 second"))
      yield* rejects(limiter.tryAcquire(-1, "1 second"))
    }).pipe(memory))

  it.effect("testSimpleWithWait", () =>
    Effect.gen(function*() {
      const limiter = yield* create(5.0)
      yield* limiter.acquire() // R0.00
      yield* limiter.sleepMillis(200) // U0.20, we are ready for the next request...
      yield* limiter.acquire() // R0.00, ...which is granted immediately
      yield* limiter.acquire() // R0.20
      limiter.assertEvents("R0.00", "U0.20", "R0.00", "R0.20")
    }).pipe(memory))

  it.effect("testSimpleAcquireReturnValues", () =>
    Effect.gen(function*() {
      const limiter = yield* create(5.0)
      expect(yield* limiter.acquire()).toBeCloseTo(0.0, 8) // R0.00
      yield* limiter.sleepMillis(200) // U0.20, we are ready for the next request...
      expect(yield* limiter.acquire()).toBeCloseTo(0.0, 8) // R0.00, ...which is granted immediately
      expect(yield* limiter.acquire()).toBeCloseTo(0.2, 8) // R0.20
      limiter.assertEvents("R0.00", "U0.20", "R0.00", "R0.20")
    }).pipe(memory))

  it.effect("testSimpleAcquireEarliestAvailableIsInPast", () =>
    Effect.gen(function*() {
      const limiter = yield* create(5.0)
      expect(yield* limiter.acquire()).toBeCloseTo(0.0, 8)
      yield* limiter.sleepMillis(400)
      expect(yield* limiter.acquire()).toBeCloseTo(0.0, 8)
      expect(yield* limiter.acquire()).toBeCloseTo(0.0, 8)
      expect(yield* limiter.acquire()).toBeCloseTo(0.2, 8)
    }).pipe(memory))

  it.effect("testOneSecondBurst", () =>
    Effect.gen(function*() {
      const limiter = yield* create(5.0)
      yield* limiter.sleepMillis(1000) // max capacity reached
      yield* limiter.sleepMillis(1000) // this makes no difference
      yield* limiter.acquire(1) // R0.00, since it's the first request

      yield* limiter.acquire(1) // R0.00, from capacity
      yield* limiter.acquire(3) // R0.00, from capacity
      yield* limiter.acquire(1) // R0.00, concluding a burst of 5 permits

      yield* limiter.acquire() // R0.20, capacity exhausted
      limiter.assertEvents(
        "U1.00",
        "U1.00",
        "R0.00",
        "R0.00",
        "R0.00",
        "R0.00", // first request and burst
        "R0.20"
      )
    }).pipe(memory))

  it.effect("testTryAcquire_noWaitAllowed", () =>
    Effect.gen(function*() {
      const limiter = yield* create(5.0)
      expect(yield* limiter.tryAcquire(1, "0 seconds")).toBe(true)
      expect(yield* limiter.tryAcquire(1, "0 seconds")).toBe(false)
      expect(yield* limiter.tryAcquire(1, "0 seconds")).toBe(false)
      yield* limiter.sleepMillis(100)
      expect(yield* limiter.tryAcquire(1, "0 seconds")).toBe(false)
    }).pipe(memory))

  it.effect("testTryAcquire_someWaitAllowed", () =>
    Effect.gen(function*() {
      const limiter = yield* create(5.0)
      expect(yield* limiter.tryAcquire(1, "0 seconds")).toBe(true)
      expect(yield* limiter.tryAcquire(1, "200 millis")).toBe(true)
      expect(yield* limiter.tryAcquire(1, "100 millis")).toBe(false)
      yield* limiter.sleepMillis(100)
      expect(yield* limiter.tryAcquire(1, "100 millis")).toBe(true)
    }).pipe(memory))

  it.effect("testTryAcquire_overflow", () =>
    Effect.gen(function*() {
      const limiter = yield* create(5.0)
      expect(yield* limiter.tryAcquire(1, Duration.micros(0n))).toBe(true)
      yield* limiter.sleepMillis(100)
      expect(yield* limiter.tryAcquire(1, Duration.micros(9_223_372_036_854_775_807n))).toBe(true) // Long.MAX_VALUE
    }).pipe(memory))

  it.effect("testTryAcquire_negative", () =>
    Effect.gen(function*() {
      const limiter = yield* create(5.0)
      // Guava grants 5 permits at once on credit (pays later); Sturdy's new limiter has 1 token and waits for the
      // other 4, which a timeout of 0 does not allow
      expect(yield* limiter.tryAcquire(5, "0 seconds")).toBe(false)
      yield* limiter.sleepMillis(900)
      // Guava: false (the 5 permits taken on credit are paid for at 1.0 s). Sturdy has 1 + 4.5 tokens at 0.9 s, and
      // takes a negative timeout (a Duration below zero is zero) as 0, as Guava does
      expect(yield* limiter.tryAcquire(1, Duration.seconds(Number.MIN_SAFE_INTEGER))).toBe(true)
      // a negative number of milliseconds, which Effect's Duration would read as zero, is a RangeError instead
      const negative = yield* Effect.exit(RateLimit.make({ limit: 6, window: "1200 millis", maxWait: -1000 }))
      expect(Exit.isFailure(negative) && Cause.squash(negative.cause)).toBeInstanceOf(RangeError)
      yield* limiter.sleepMillis(100)
      expect(yield* limiter.tryAcquire(1, Duration.seconds(-1))).toBe(true)
    }).pipe(memory))

  it.effect("testSimpleWeights", () =>
    Effect.gen(function*() {
      const rateLimiter = yield* create(1.0)
      yield* rateLimiter.acquire(1) // no wait
      yield* rateLimiter.acquire(1) // R1.00, to repay previous
      rateLimiter.assertEvents("R0.00", "R1.00")
      // Guava: acquire(2) R1.00, acquire(4) R2.00, acquire(8) R4.00, acquire(1) R8.00 (each repays the previous);
      // Sturdy pays first, and a weight above the bucket (2 tokens here) is a RangeError defect
      const exit = yield* Effect.exit(rateLimiter.acquire(4))
      expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toBeInstanceOf(RangeError)
      // in a bucket large enough for 8, each weight waits for its own tokens: 1, 2, 4, 8 then 1 s
      const heavy = yield* makeGuava(8, "8 seconds", true, "heavy")
      for (const permits of [1, 1, 2, 4, 8, 1]) yield* heavy.acquire(permits)
      heavy.assertEvents("R0.00", "R1.00", "R2.00", "R4.00", "R8.00", "R1.00")
    }).pipe(memory))

  it.effect("testVerySmallDoubleValues", () =>
    Effect.gen(function*() {
      const rateLimiter = yield* createMinValue()
      expect(yield* rateLimiter.tryAcquire()).toBe(true) // should acquire initial permit
      expect(yield* rateLimiter.tryAcquire()).toBe(false) // should not acquire additional permit
      yield* rateLimiter.sleepMillis(5000)
      expect(yield* rateLimiter.tryAcquire()).toBe(false) // not even after sleeping
    }).pipe(memory))
})
