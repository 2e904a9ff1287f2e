// Ported from Failsafe's core/src/test/java/dev/failsafe/functional/RateLimiterTest.java (failsafe-lib/failsafe), one
// `it` per Failsafe case, named after it.
// Mapping: `RateLimiter.smoothBuilder(d)` (one permit every d, spread evenly) is `RateLimit.make({ limit: 1, window:
// d, algorithm: "token-bucket" })`; `withMaxWaitTime(t)` is `onExceeded: "delay", maxWait: t`, no wait time is
// `onExceeded: "fail"`; `reservePermit()` (the wait before the permit) is `consume` in mode "delay", observed as the
// TestClock time it returns at; `tryAcquirePermit()` is `consume` succeeding; `RateLimitExceededException` is
// `RateLimitExceeded`.
// Deliberate differences (each test says which): Failsafe's `tryReservePermit(maxWait)` takes its limit per call;
// Sturdy's `maxWait` belongs to the limiter, so testTryReservePermit uses one limiter per limit over one store
// (the two limits are asserted on separate keys, so that each starts with a full bucket).
import { describe, expect, it } from "@effect/vitest"
import { RateLimit } from "@sturdy/policy"
import * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
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
