// Ported from Failsafe's core/src/test/java/dev/failsafe/functional/RateLimiterTest.java, internal/RateLimiterImplTest.java
// and the first steps of internal/BurstyRateLimiterStatsTest.java (failsafe-lib/failsafe), one `it` per Failsafe
// case, named after it. `RateLimiter.burstyBuilder(n, period)` is `{ limit: n, window: period, algorithm:
// "fixed-window" }`. Failsafe's TestStopwatch is the TestClock; a "waits" comment is the wait from the moment asked.
// Mapping: `RateLimiter.smoothBuilder(d)` (one permit every d, spread evenly) is `RateLimit.make({ limit: 1, window:
// d, algorithm: "token-bucket" })`; `withMaxWaitTime(t)` is `onExceeded: "delay", maxWait: t`, no wait time is
// `onExceeded: "fail"`; `reservePermit()` (the wait before the permit) is `consume` in mode "delay", observed as the
// TestClock time it returns at; `tryAcquirePermit()` is `consume` succeeding; `RateLimitExceededException` is
// `RateLimitExceeded`.
// Deliberate differences (each test says which): a smooth limiter's permits keep Failsafe's interval grid after it
// was idle, a Sturdy bucket full again restarts its refill from its next call (testTryAcquirePermit);
// Failsafe's `tryReservePermit(maxWait)` takes its limit per call;
// Sturdy's `maxWait` belongs to the limiter, so testTryReservePermit uses one limiter per limit over one store
// (the two limits are asserted on separate keys, so that each starts with a full bucket). Sturdy refuses a request for more
// tokens than `limit` (a `RangeError`), so testTryAcquirePermitsWithMaxWaitTime (2 permits of a 1-permit limiter) is
// not ported; testIsSmooth/testIsBursty read a configuration getter Sturdy does not have (its `algorithm` option).
import { describe, expect, it } from "@effect/vitest"
import { RateLimit } from "@sturdy/policy"
import * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"

const memory = Effect.provide(RateLimit.layerStoreMemory)

const smooth = (every: Duration.DurationInput, maxWait?: Duration.DurationInput) =>
  RateLimit.make({
    limit: 1,
    window: every,
    algorithm: "token-bucket",
    ...(maxWait === undefined ? { onExceeded: "fail" } : { onExceeded: "delay", maxWait })
  })

// the wait before `consume` returns, in TestClock milliseconds
const reserve = (limiter: RateLimit.RateLimiter, key = "key") =>
  Effect.gen(function*() {
    const start = yield* Clock.currentTimeMillis
    const fiber = yield* Effect.fork(limiter.consume(key))
    yield* Effect.yieldNow()
    for (let i = 0; i < 100 && fiber.unsafePoll() === null; i++) yield* TestClock.adjust("10 millis")
    yield* Fiber.join(fiber)
    return (yield* Clock.currentTimeMillis) - start
  })

describe("peer failsafe RateLimiterTest", () => {
  it.effect("testReservePermit", () =>
    Effect.gen(function*() {
      const limiter = yield* smooth("100 millis", "10 seconds")
      // three reservations made at once: no wait, then about 100 ms, then about 200 ms
      const fibers = yield* Effect.forEach([1, 2, 3], () => Effect.fork(limiter.consume("key")))
      yield* Effect.yieldNow()
      expect(fibers.map((f) => f.unsafePoll() !== null)).toEqual([true, false, false])
      yield* TestClock.adjust("100 millis")
      expect(fibers.map((f) => f.unsafePoll() !== null)).toEqual([true, true, false])
      yield* TestClock.adjust("100 millis")
      expect(fibers.map((f) => f.unsafePoll() !== null)).toEqual([true, true, true])
      yield* Fiber.joinAll(fibers)
    }).pipe(memory))

  it.effect("testTryReservePermit", () =>
    Effect.gen(function*() {
      const oneMilli = yield* smooth("100 millis", "1 millis")
      expect(yield* reserve(oneMilli)).toBe(0)
      const e = yield* Effect.flip(oneMilli.consume("key"))
      expect(RateLimit.isRateLimitExceeded(e)).toBe(true)
      // a limit that fits the wait: the permit comes after it
      const patient = yield* smooth("100 millis", "200 millis")
      expect(yield* reserve(patient, "other")).toBe(0)
      const wait = yield* reserve(patient, "other")
      expect(wait).toBeGreaterThan(0)
      expect(wait).toBeLessThanOrEqual(100)
    }).pipe(memory))

  it.effect("testPermitAcquiredAfterWait", () =>
    Effect.gen(function*() {
      const limiter = yield* smooth("50 millis", "1 second")
      yield* limiter.consume("key") // limiter should now be out of permits
      const call = yield* Effect.fork(RateLimit.withRateLimit(Effect.succeed("test"), limiter, "key"))
      yield* TestClock.adjust("50 millis")
      expect(yield* Fiber.join(call)).toBe("test")
    }).pipe(memory))

  it.effect("shouldThrowRateLimitExceededExceptionAfterPermitsExceeded", () =>
    Effect.gen(function*() {
      const limiter = yield* smooth("100 millis")
      yield* limiter.consume("key") // limiter should now be out of permits
      let ran = false
      const e = yield* Effect.flip(RateLimit.withRateLimit(Effect.sync(() => ran = true), limiter, "key"))
      expect(RateLimit.isRateLimitExceeded(e)).toBe(true)
      expect(ran).toBe(false)
    }).pipe(memory))

  it.effect("testMaxWaitTimeExceeded", () =>
    Effect.gen(function*() {
      // Failsafe's waiter reserves 50 permits a minute ahead; here 50 waiters in mode "delay" take the next 50 slots
      const limiter = yield* smooth("10 millis", "1 minute")
      yield* Effect.forEach(Array.from({ length: 50 }), () => Effect.fork(limiter.consume("key")))
      yield* TestClock.adjust("150 millis")
      const impatient = yield* smooth("10 millis")
      const e = yield* Effect.flip(RateLimit.withRateLimit(Effect.void, impatient, "key"))
      expect(RateLimit.isRateLimitExceeded(e)).toBe(true)
    }).pipe(memory))
})

const bursty = (limit: number, period: Duration.DurationInput) =>
  RateLimit.make({ limit, window: period, algorithm: "fixed-window", onExceeded: "delay", maxWait: "1 minute" })

const elapsed = <A, E>(self: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const start = yield* Clock.currentTimeMillis
    const fiber = yield* Effect.fork(self)
    yield* Effect.yieldNow()
    for (let i = 0; i < 1000 && fiber.unsafePoll() === null; i++) yield* TestClock.adjust("10 millis")
    yield* Fiber.join(fiber)
    return (yield* Clock.currentTimeMillis) - start
  })

describe("peer failsafe RateLimiterImplTest", () => {
  it.effect("testAcquirePermit", () =>
    Effect.gen(function*() {
      const limiter = yield* smooth("100 millis", "1 minute")
      // waits 0, 100, 100: Failsafe's 300 ms counts its frozen stopwatch (the third permit waits 200 ms from 0)
      const took = yield* elapsed(Effect.all([limiter.consume("key"), limiter.consume("key"), limiter.consume("key")]))
      expect(took).toBe(200)
    }).pipe(memory))

  it.effect("testAcquirePermitWithInterrupt", () =>
    Effect.gen(function*() {
      const limiter = yield* smooth("1 second", "1 minute")
      yield* limiter.consume("key") // waits 0
      const waiting = yield* Effect.fork(limiter.consume("key")) // waits 1000
      yield* TestClock.adjust("100 millis")
      const exit = yield* Fiber.interrupt(waiting)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(yield* Clock.currentTimeMillis).toBeLessThan(1000)
    }).pipe(memory))

  it.effect("testAcquireWithMaxWaitTime", () =>
    Effect.gen(function*() {
      // one max wait for the limiter (Failsafe's is per call): 100 ms; three callers at once wait 0, 100 and 200
      const limiter = yield* smooth("100 millis", "100 millis")
      const first = yield* Effect.fork(limiter.consume("key"))
      const second = yield* Effect.fork(limiter.consume("key"))
      yield* Effect.yieldNow()
      const e = yield* Effect.flip(limiter.consume("key"))
      expect(RateLimit.isRateLimitExceeded(e)).toBe(true)
      yield* TestClock.adjust("100 millis")
      yield* Fiber.join(first)
      yield* Fiber.join(second)
    }).pipe(memory))

  it.effect("testTryAcquirePermit", () =>
    Effect.gen(function*() {
      const limiter = yield* smooth("100 millis")
      const tryAcquire = Effect.map(Effect.either(limiter.consume("key")), (r) => r._tag === "Right")
      expect(yield* tryAcquire).toBe(true)
      expect(yield* tryAcquire).toBe(false)
      yield* TestClock.adjust("150 millis")
      expect(yield* tryAcquire).toBe(true)
      expect(yield* tryAcquire).toBe(false)
      // Failsafe's smooth limiter keeps the interval's grid: a permit again at 210 ms, 60 ms after the last one. A
      // Sturdy bucket full again restarts its refill from its next call (documented, as RateLimitRedis's does): the
      // permit taken at 150 ms is followed by the next at 250 ms, one interval on
      yield* TestClock.adjust("60 millis")
      expect(yield* tryAcquire).toBe(false)
      yield* TestClock.adjust("40 millis")
      expect(yield* tryAcquire).toBe(true)
      expect(yield* tryAcquire).toBe(false)
    }).pipe(memory))

  it.effect("testTryAcquirePermitWithMaxWaitTime", () =>
    Effect.gen(function*() {
      const quick = yield* smooth("100 millis", "50 millis")
      const patient = yield* smooth("100 millis", "100 millis")
      expect(yield* elapsed(quick.consume("key"))).toBe(0)
      expect(RateLimit.isRateLimitExceeded(yield* Effect.flip(quick.consume("key")))).toBe(true)
      const took = yield* elapsed(patient.consume("key"))
      expect(took).toBeGreaterThanOrEqual(90)
      expect(took).toBeLessThanOrEqual(100)
    }).pipe(memory))
})

describe("peer failsafe BurstyRateLimiterStatsTest", () => {
  it.effect("testAcquirePermits", () =>
    Effect.gen(function*() {
      // 2 permits per second: the 7th of 7 permits asked for at once waits 3000 ms
      const limiter = yield* bursty(2, "1 second")
      const took = yield* elapsed(Effect.all(Array.from({ length: 7 }, () => limiter.consume("key")), {
        concurrency: "unbounded"
      }))
      expect(took).toBe(3000)
    }).pipe(memory))
})
