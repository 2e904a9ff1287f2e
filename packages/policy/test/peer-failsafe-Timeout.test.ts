// Ported from Failsafe's core/src/test/java/dev/failsafe/functional/TimeoutTest.java (failsafe-lib/failsafe), one `it`
// per Failsafe case, named after it.
// Mapping: a Timeout inside a RetryPolicy (`Failsafe.with(retryPolicy, timeout)`) limits each attempt:
// `Deadline.attemptTimeout(d)` inside `Retry.retry`; a Timeout outside it (`Failsafe.with(timeout, retryPolicy)`) limits
// the whole call: `Deadline.withDeadline(d)` outside; `TimeoutExceededException` is `DeadlineExceeded` (reason
// "Attempt" or "Deadline"); `Fallback` composed with a timeout is `Fallback.orElse`. `RetryPolicy.ofDefaults()` /
// `RetryPolicy.builder()` (3 attempts) is `Schedule.recurs(2)`, `withDelay(d)` `Schedule.spaced(d)` with 2 retries.
// Failsafe's cases run twice, with and without `withInterrupt()`; an Effect timeout always interrupts the attempt, so
// each case runs once. Blocking sleeps are TestClock time.
// Deliberate differences (each test says which): Failsafe's Timeout does not cancel a pending retry delay in
// testTimeoutRetryWithPendingRetry's sense: the call fails with TimeoutExceededException after 1 attempt; Sturdy's
// `Retry` does not sleep past the deadline and returns the ORIGINAL failure at once (Retry.ts module doc, step 4).
// Not ported: shouldCancelTimeoutWhenExecutionComplete (a TODO in Failsafe).
import { describe, expect, it } from "@effect/vitest"
import { Deadline, Fallback, Retry } from "@sturdy/policy"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"

class IllegalStateException extends Error {}
class JavaException extends Error {}

const counted = <A, E>(body: (attempt: number) => Effect.Effect<A, E>) => {
  const s: { attempts: number; readonly call: Effect.Effect<A, E> } = {
    attempts: 0,
    call: Effect.suspend(() => body(s.attempts++))
  }
  return s
}

// runs `self` forked, moving the TestClock on 10 ms at a time until it ends
const run = <A, E>(self: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(self)
    yield* Effect.yieldNow()
    for (let i = 0; i < 1000 && fiber.unsafePoll() === null; i++) yield* TestClock.adjust("10 millis")
    return yield* Fiber.await(fiber)
  })

const failureOf = <A, E>(exit: Exit.Exit<A, E>) =>
  exit._tag === "Failure" && exit.cause._tag === "Fail" ? exit.cause.error : undefined

describe("peer failsafe TimeoutTest", () => {
  it.effect("shouldNotTimeout", () =>
    Effect.gen(function*() {
      const c = counted(() => Effect.succeed("success"))
      expect(yield* Deadline.attemptTimeout(c.call, "1 second")).toBe("success")
      expect(c.attempts).toBe(1)
    }))

  it.effect("testRetryTimeoutWithBlockedSupplier", () =>
    Effect.gen(function*() {
      let timeouts = 0
      // Failsafe's attempt count is 0 for the first attempt: the first two block past the timeout
      const c = counted((n) => n < 2 ? Effect.as(Effect.sleep("100 millis"), false) : Effect.succeed(false))
      const exit = yield* run(
        c.call.pipe(
          Deadline.attemptTimeout("50 millis"),
          Effect.tapError((e) => Effect.sync(() => Deadline.isDeadlineExceeded(e) && timeouts++)),
          Retry.retry({ schedule: Schedule.recurs(2) })
        )
      )
      expect(exit).toStrictEqual(Exit.succeed(false))
      expect(c.attempts).toBe(3)
      expect(timeouts).toBe(2)
    }))

  it.effect("testRetryTimeoutWithPendingRetry", () =>
    Effect.gen(function*() {
      let timeouts = 0
      const c = counted(() => Effect.fail(new IllegalStateException()))
      const exit = yield* run(
        c.call.pipe(
          Deadline.attemptTimeout("100 millis"),
          Effect.tapError((e) => Effect.sync(() => Deadline.isDeadlineExceeded(e) && timeouts++)),
          Retry.retry({ schedule: Schedule.spaced("100 millis").pipe(Schedule.intersect(Schedule.recurs(2))) })
        )
      )
      expect(failureOf(exit)).toBeInstanceOf(IllegalStateException)
      expect(c.attempts).toBe(3)
      // the attempt timeout limits attempts, not the delays between them
      expect(timeouts).toBe(0)
    }))

  it.effect("testTimeoutRetryWithBlockedSupplier", () =>
    Effect.gen(function*() {
      const c = counted(() => Effect.zipRight(Effect.sleep("60 millis"), Effect.fail(new JavaException())))
      const exit = yield* run(
        c.call.pipe(Retry.retry({ schedule: Schedule.recurs(2) }), Deadline.withDeadline("150 millis"))
      )
      const e = failureOf(exit)
      expect(Deadline.isDeadlineExceeded(e)).toBe(true)
      // 60 + 60 + 30 of the third: the deadline cuts the third attempt short
      expect(c.attempts).toBe(3)
    }))

  it.effect("testTimeoutRetryWithPendingRetry", () =>
    Effect.gen(function*() {
      const c = counted(() => Effect.fail(new JavaException()))
      const exit = yield* run(
        c.call.pipe(Retry.retry({ schedule: Schedule.spaced("1 second") }), Deadline.withDeadline("100 millis"))
      )
      // Failsafe: TimeoutExceededException after 1 attempt; Sturdy's retry does not start a delay that ends past the
      // deadline and returns the attempt's own failure at once
      expect(failureOf(exit)).toBeInstanceOf(JavaException)
      expect(c.attempts).toBe(1)
    }))

  it.effect("testFallbackTimeoutWithBlockedSupplier", () =>
    Effect.gen(function*() {
      let fallbacks = 0
      const c = counted(() => Effect.zipRight(Effect.sleep("100 millis"), Effect.fail(new JavaException())))
      const exit = yield* run(
        c.call.pipe(
          Deadline.attemptTimeout("10 millis"),
          Fallback.orElse(Effect.suspend(() => {
            fallbacks++
            return Effect.fail(new IllegalStateException())
          }))
        )
      )
      expect(failureOf(exit)).toBeInstanceOf(IllegalStateException)
      expect(c.attempts).toBe(1)
      expect(fallbacks).toBe(1)
    }))

  it.effect("testFallbackTimeout", () =>
    Effect.gen(function*() {
      let fallbacks = 0
      let timeouts = 0
      const c = counted(() => Effect.fail(new JavaException()))
      const exit = yield* run(
        c.call.pipe(
          Deadline.attemptTimeout("100 millis"),
          Effect.tapError((e) => Effect.sync(() => Deadline.isDeadlineExceeded(e) && timeouts++)),
          Fallback.orElse(Effect.suspend(() => {
            fallbacks++
            return Effect.fail(new IllegalStateException())
          }))
        )
      )
      expect(failureOf(exit)).toBeInstanceOf(IllegalStateException)
      expect(c.attempts).toBe(1)
      expect(timeouts).toBe(0)
      expect(fallbacks).toBe(1)
    }))

  it.effect("testTimeoutFallbackWithBlockedSupplier", () =>
    Effect.gen(function*() {
      let fallbacks = 0
      const c = counted(() => Effect.zipRight(Effect.sleep("100 millis"), Effect.fail(new JavaException())))
      const exit = yield* run(
        c.call.pipe(
          Fallback.orElse(Effect.suspend(() => {
            fallbacks++
            return Effect.fail(new IllegalStateException())
          })),
          Deadline.withDeadline("1 millis")
        )
      )
      expect(Deadline.isDeadlineExceeded(failureOf(exit))).toBe(true)
      expect(c.attempts).toBe(1)
      expect(fallbacks).toBe(0)
    }))

  it.effect("testTimeoutFallbackWithBlockedFallback", () =>
    Effect.gen(function*() {
      let fallbacks = 0
      const c = counted(() => Effect.fail(new JavaException()))
      const exit = yield* run(
        c.call.pipe(
          Fallback.orElse(Effect.suspend(() => {
            fallbacks++
            return Effect.zipRight(Effect.sleep("200 millis"), Effect.fail(new IllegalStateException()))
          })),
          Deadline.withDeadline("100 millis")
        )
      )
      expect(Deadline.isDeadlineExceeded(failureOf(exit))).toBe(true)
      expect(c.attempts).toBe(1)
      expect(fallbacks).toBe(1)
    }))
})
