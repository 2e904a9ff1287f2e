// Ported from resilience4j's resilience4j-ratelimiter/src/test/java/io/github/resilience4j/ratelimiter/internal/
// AtomicRateLimiterTest.java (resilience4j/resilience4j), one `it` per resilience4j case, named after it.
// Mapping: `RateLimiterConfig.custom().limitForPeriod(n).limitRefreshPeriod(cycle).timeoutDuration(t)` is
// `RateLimit.make({ limit: n, window: cycle, algorithm: "fixed-window", maxWait: t })`: a caller waits for a later
// cycle's permission only when that wait fits `t`, and otherwise fails at once with `RateLimitExceeded` without
// taking it (resilience4j's `reservePermission` returns -1 and reserves nothing); `timeoutDuration(ZERO)` is
// `onExceeded: "fail"`; `acquirePermission()` true/false is `consume` succeeding/failing; the nanosecond mock clock is
// the TestClock (cycles of 1 s here where resilience4j's are 1 s in nanos too).
// Deliberate differences (each test says which): a request for more permissions than `limit` is a `RangeError`
// defect (it can never be granted in one window) where resilience4j reserves several cycles ahead.
// Not ported: notSpyRaw*/firstIterationAtomicRateLimitNanoTime/metricsTest/metrics/namePropagation (they read
// `getAvailablePermissions`/`getNanosToWait`/`getNumberOfWaitingThreads`, which Sturdy's limiter does not expose:
// the waits are asserted through time instead), changePermissionsLimitBetweenCycles/changeDefaultTimeoutDuration/
// changeLimitForPeriod (runtime reconfiguration; a Sturdy limiter's options are fixed) and the event publishing.
import { describe, expect, it } from "@effect/vitest"
import { RateLimit } from "@sturdy/policy"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"

const memory = Effect.provide(RateLimit.layerStoreMemory)
const CYCLE = 1_000
const PERMISSIONS_PER_CYCLE = 1

const setup = (timeout: number | "fail", cycle = CYCLE, permissions = PERMISSIONS_PER_CYCLE) =>
  RateLimit.make({
    limit: permissions,
    window: Duration.millis(cycle),
    algorithm: "fixed-window",
    ...(timeout === "fail" ? { onExceeded: "fail" } : { onExceeded: "delay", maxWait: Duration.millis(timeout) })
  })

const acquire = (limiter: RateLimit.RateLimiter) =>
  Effect.map(Effect.either(limiter.consume("key")), (e) => e._tag === "Right")

describe("peer resilience4j AtomicRateLimiterTest", () => {
  it.effect("permissionsInFirstCycle", () =>
    Effect.gen(function*() {
      const limiter = yield* setup("fail")
      yield* TestClock.adjust(CYCLE - 10)
      expect(yield* acquire(limiter)).toBe(true)
    }).pipe(memory))

  it.effect("acquireAndRefreshWithEventPublishing", () =>
    Effect.gen(function*() {
      const limiter = yield* setup("fail")
      yield* TestClock.adjust(CYCLE)
      expect(yield* acquire(limiter)).toBe(true)
      const second = yield* Effect.flip(limiter.consume("key"))
      expect(RateLimit.isRateLimitExceeded(second) && second.reason).toBe("Limit")
      expect(RateLimit.isRateLimitExceeded(second) && Duration.toMillis(second.retryAfter)).toBe(CYCLE)

      yield* TestClock.adjust(CYCLE)
      expect(yield* acquire(limiter)).toBe(true)
      expect(yield* acquire(limiter)).toBe(false)
    }).pipe(memory))

  it.effect("reserveAndRefresh", () =>
    Effect.gen(function*() {
      const limiter = yield* setup(CYCLE)
      yield* TestClock.adjust(CYCLE)
      expect(yield* acquire(limiter)).toBe(true)

      // the next caller waits for the next cycle (it fits the timeout of one cycle)
      const caller = yield* Effect.fork(acquire(limiter))
      yield* TestClock.adjust(CYCLE - 1)
      expect(caller.unsafePoll()).toBe(null)
      yield* TestClock.adjust(1)
      expect(yield* Fiber.join(caller)).toBe(true)
    }).pipe(memory))

  it.effect("reserveFewThenSkipCyclesBeforeRefreshNonBlocking", () =>
    Effect.gen(function*() {
      const limiter = yield* setup(CYCLE)
      yield* TestClock.adjust(CYCLE)
      expect(yield* acquire(limiter)).toBe(true)
      const reservation = yield* Effect.fork(acquire(limiter))
      yield* Effect.yieldNow()
      // a third caller would have to wait two cycles: rejected at once, and it reserved nothing
      const additional = yield* Effect.flip(limiter.consume("key"))
      expect(RateLimit.isRateLimitExceeded(additional) && Duration.toMillis(additional.retryAfter))
        .toBeGreaterThan(CYCLE)
      yield* TestClock.adjust(CYCLE)
      expect(yield* Fiber.join(reservation)).toBe(true)
      // skip cycles: a permission is there at once
      yield* TestClock.adjust(CYCLE * 4 + 10)
      expect(yield* acquire(limiter)).toBe(true)
    }).pipe(memory))

  it.effect("reserveFewThenSkipCyclesBeforeRefresh", () =>
    Effect.gen(function*() {
      const limiter = yield* setup(CYCLE)
      yield* TestClock.adjust(CYCLE)
      expect(yield* acquire(limiter)).toBe(true)
      const first = yield* Effect.fork(acquire(limiter))
      yield* Effect.yieldNow()
      const second = yield* Effect.fork(acquire(limiter))
      yield* Effect.yieldNow()
      yield* TestClock.adjust(CYCLE * 5 + 10)
      expect(yield* Fiber.join(first)).toBe(true)
      expect(yield* Fiber.join(second)).toBe(false)
      // what the rejected caller did not take is there
      expect(yield* acquire(limiter)).toBe(true)
    }).pipe(memory))

  it.effect("reserveManyCyclesIfWegithgreaterThenLimitPerPeriod", () =>
    Effect.gen(function*() {
      // resilience4j reserves 3 cycles ahead for 3 × the limit; Sturdy refuses a request it can never grant
      const limiter = yield* setup(CYCLE * 5)
      yield* TestClock.adjust(CYCLE)
      const exit = yield* Effect.exit(limiter.consume("key", PERMISSIONS_PER_CYCLE * 3))
      expect(Exit.isFailure(exit) && exit.cause._tag).toBe("Die")
    }).pipe(memory))

  it.effect("rejectedByTimeoutNonBlocking", () =>
    Effect.gen(function*() {
      const limiter = yield* setup(0)
      yield* TestClock.adjust(CYCLE)
      expect(yield* acquire(limiter)).toBe(true)
      const failed = yield* Effect.flip(limiter.consume("key"))
      expect(RateLimit.isRateLimitExceeded(failed)).toBe(true)
      // one millisecond before the next cycle: still none
      yield* TestClock.adjust(CYCLE - 1)
      expect(yield* acquire(limiter)).toBe(false)
      yield* TestClock.adjust(1)
      expect(yield* acquire(limiter)).toBe(true)
    }).pipe(memory))

  it.effect("waitingThreadIsInterrupted", () =>
    Effect.gen(function*() {
      const limiter = yield* setup(CYCLE * 10)
      yield* TestClock.adjust(CYCLE)
      expect(yield* acquire(limiter)).toBe(true)
      const waiting = yield* Effect.fork(limiter.consume("key"))
      yield* TestClock.adjust(CYCLE / 2)
      expect(Exit.isInterrupted(yield* Fiber.interrupt(waiting))).toBe(true)
      // the interrupted caller's permission is given back: the next cycle's is free
      yield* TestClock.adjust(CYCLE / 2)
      expect(yield* acquire(limiter)).toBe(true)
    }).pipe(memory))

  it.effect("reservePermissionsUpfront", () =>
    Effect.gen(function*() {
      // 3 permissions per 10 ms, a timeout of 12 ms: 9 callers one after another
      const limiter = yield* setup(12, 10, 3)
      yield* TestClock.adjust(10)
      const results: Array<Fiber.RuntimeFiber<boolean>> = []
      for (let i = 0; i < 9; i++) {
        results.push(yield* Effect.fork(acquire(limiter)))
        yield* Effect.yieldNow()
      }
      // the first three at once
      for (const f of results.slice(0, 3)) expect(f.unsafePoll()).toEqual(Exit.succeed(true))
      // the last three cannot be served within 12 ms: rejected at once
      for (const f of results.slice(6)) expect(f.unsafePoll()).toEqual(Exit.succeed(false))
      // the middle three in the next window
      for (const f of results.slice(3, 6)) expect(f.unsafePoll()).toBe(null)
      yield* TestClock.adjust(10)
      for (const f of results.slice(3, 6)) expect(yield* Fiber.join(f)).toBe(true)
    }).pipe(memory))
})
