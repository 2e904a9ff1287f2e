// Ported from failsafe-go (failsafe-go/failsafe-go, commit 5759a5e6d557eace215f820f5b5e663d5c05c3ee): the cases of
// test/ratelimiter_test.go and ratelimiter/ratelimiterstats_test.go that Failsafe's RateLimiterTest,
// RateLimiterImplTest and RateLimiterStatsTests do not have, one `it` per Go case, named after it.
// Mapping: `ratelimiter.NewSmoothBuilderWithMaxRate(d)` (one permit every d, no burst) is `RateLimit.make({ limit: 1,
// window: d, algorithm: "token-bucket" })`; `NewBurstyBuilder(n, period)` is `{ limit: n, window: period, algorithm:
// "fixed-window" }`; `AcquirePermit(ctx)` (waits as long as it takes) is `consume` in mode "delay" with no `maxWait`;
// `TryAcquirePermit()` is a `consume` that succeeds. A canceled `context.Context` is the interruption of the waiting
// fiber. The stats' `acquirePermits(1)` wait time is the TestClock time a `consume` in mode "delay" returns at, the
// reservations of `acquireNTimes` being `consume` calls forked at once (each takes the next slot). The Go stopwatch in
// nanoseconds is the TestClock in milliseconds (1 permit every 100 ns is 1 every 100 ms).
// Not ported: the cases already ported from Failsafe in peer-failsafe-RateLimiter.test.ts ("should acquire permit
// after wait", "should return ErrExceeded", "with maxWaitTime exceeded", and ratelimiter_test.go's TestAcquirePermit,
// TestAcquirePermitWithMaxWaitTime, TestTryAcquirePermit, TestReservePermit, TestTryReservePermit);
// TestShouldBuildEqualSmoothLimiters (a builder's internal interval); TestSmoothAcquirePermits,
// TestBurstyAcquirePermits, TestShouldAcquirePermitsEqually and the last step of TestSmoothAcquireInitialStats (they
// take several permits in one call on a limiter of fewer: Sturdy refuses a call for more tokens than `limit` with a
// `RangeError`, and a limiter never runs into debt but for the callers waiting in mode "delay").
import { describe, expect, it } from "@effect/vitest"
import { RateLimit } from "@sturdy/policy"
import * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"

const memory = Effect.provide(RateLimit.layerStoreMemory)

const smooth = (every: Duration.DurationInput) => RateLimit.make({ limit: 1, window: every, algorithm: "token-bucket" })

// forks a `consume` now and returns the wait before it returns, in TestClock milliseconds (moving the clock on from a
// fork made earlier is the caller's business)
const acquire = (limiter: RateLimit.RateLimiter) =>
  Effect.gen(function*() {
    const start = yield* Clock.currentTimeMillis
    const fiber = yield* Effect.fork(Effect.zipRight(limiter.consume("key"), Clock.currentTimeMillis))
    yield* Effect.yieldNow()
    return Effect.map(Fiber.join(fiber), (end) => end - start)
  })

describe("peer failsafe-go TestRateLimiter", () => {
  it.effect("should cancel rate limiting", () =>
    Effect.gen(function*() {
      const limiter = yield* smooth("1 second")
      yield* limiter.consume("key") // assert.NoError(t, limiter.AcquirePermit(nil))
      const waiting = yield* Effect.fork(limiter.consume("key"))
      yield* TestClock.adjust("100 millis")
      expect(waiting.unsafePoll()).toBeNull()
      const exit = yield* Fiber.interrupt(waiting) // cancel()
      expect(Exit.isInterrupted(exit)).toBe(true)
      // beyond Go's assertions: the slot the cancelled caller reserved (at 1 s) is given back, so the next caller has it
      const next = yield* acquire(limiter)
      yield* TestClock.adjust("1 second")
      expect(yield* next).toBe(900)
    }).pipe(memory))
})

describe("peer failsafe-go ratelimiterstats_test", () => {
  it.effect("TestSmoothAcquireInitialStats", () =>
    Effect.gen(function*() {
      // Given 1 permit every 100 ms
      const limiter = yield* smooth("100 millis")
      const w1 = yield* acquire(limiter)
      const w2 = yield* acquire(limiter)
      yield* TestClock.adjust("100 millis") // stopwatch.CurrentTime = 100
      const w3 = yield* acquire(limiter)
      const w4 = yield* acquire(limiter)
      yield* TestClock.adjust("1 second")
      expect(yield* w1).toBe(0)
      expect(yield* w2).toBe(100)
      expect(yield* w3).toBe(100)
      expect(yield* w4).toBe(200)

      // Given 1 permit every 100 ms
      const other = yield* smooth("100 millis")
      expect(yield* Effect.flatten(acquire(other))).toBe(0)
      yield* TestClock.adjust("150 millis") // stopwatch.CurrentTime = 150
      expect(yield* Effect.flatten(acquire(other))).toBe(0)
    }).pipe(memory))

  // Asserts that acquire on a new stats object with a single permit has zero wait time.
  it.effect("TestShouldHaveZeroWaitTime", () =>
    Effect.gen(function*() {
      // smooth stats
      const smoothLimiter = yield* smooth("500 seconds")
      expect(yield* Effect.flatten(acquire(smoothLimiter))).toBe(0)
      // bursty stats
      const burstyLimiter = yield* RateLimit.make({ limit: 2, window: "1 second", algorithm: "fixed-window" })
      expect(yield* Effect.flatten(acquire(burstyLimiter))).toBe(0)
    }).pipe(memory))
})
