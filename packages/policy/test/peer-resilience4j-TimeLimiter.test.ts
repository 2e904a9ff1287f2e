// Ported from resilience4j's resilience4j-timelimiter/src/test/java/io/github/resilience4j/timelimiter/internal/
// TimeLimiterTest.java and TimeLimiterImplTest.java (resilience4j/resilience4j), one `it` per resilience4j case, named
// after it.
// Mapping: `TimeLimiter.of(TimeLimiterConfig.custom().timeoutDuration(d))` decorating one call is
// `Deadline.attemptTimeout(d)` (for the whole logical call, `Deadline.withDeadline(d)`); resilience4j's
// `TimeoutException` is `DeadlineExceeded` (reason "Attempt" or "Deadline"); `cancel(true)` on the running future is
// the interruption of the call; the futures' clock is the TestClock.
// Deliberate differences (each test says which): `cancelRunningFuture(false)` has no option: a timed-out call is always
// interrupted (work that must run on runs in a fiber of its own, which the caller joins).
// Not ported: configPropagation/namePropagation/shouldSetGivenName (a Deadline has no config object or name), the
// thread-type cases (shouldUseCorrectThreadTypeForScheduler, shouldTimeoutAndCancelOnCorrectThreadType), the event
// publisher, and TimeLimiterConfigTest (builder mechanics; Sturdy's durations are `Duration` inputs).
import { describe, expect, it } from "@effect/vitest"
import { Deadline } from "@sturdy/policy"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"

class HelloWorldException extends Error {}

const after = <A, E>(millis: number, effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* TestClock.adjust(millis)
    return yield* Fiber.await(fiber)
  })

describe("peer resilience4j TimeLimiterTest", () => {
  it.effect("shouldReturnCorrectTimeoutDuration", () =>
    Effect.gen(function*() {
      const left = yield* Deadline.remaining.pipe(Deadline.withDeadline(Duration.seconds(1)))
      expect(left._tag === "Some" && Duration.toMillis(left.value)).toBe(1000)
    }))

  it.effect("shouldThrowTimeoutExceptionAndInvokeCancel", () =>
    Effect.gen(function*() {
      const cancelled = yield* Deferred.make<boolean>()
      const future = Effect.never.pipe(Effect.onInterrupt(() => Deferred.succeed(cancelled, true)))
      const exit = yield* after(1000, Deadline.attemptTimeout(future, "1 second"))
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error).toMatchObject({
        _tag: "DeadlineExceeded",
        reason: "Attempt"
      })
      // cancel(true): the running call was interrupted
      expect(yield* Deferred.await(cancelled)).toBe(true)
    }))

  it.effect("shouldThrowTimeoutExceptionWithCompletionStage", () =>
    Effect.gen(function*() {
      const stage = Effect.as(Effect.sleep("5 seconds"), 42)
      const exit = yield* after(1000, Deadline.withDeadline(stage, "1 second"))
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && Deadline.isDeadlineExceeded(exit.cause.error))
        .toBe(true)
    }))

  it.effect("shouldThrowTimeoutExceptionAndNotInvokeCancel", () =>
    Effect.gen(function*() {
      // cancelRunningFuture(false): no such option; work that must finish runs in a fiber of its own, and the
      // caller who waits for it still gets the timeout at 1 s while the work completes in the background
      let completed = false
      const work = yield* Effect.forkDaemon(
        Effect.sleep("2 seconds").pipe(Effect.zipRight(Effect.sync(() => (completed = true))))
      )
      const exit = yield* after(1000, Deadline.attemptTimeout(Fiber.join(work), "1 second"))
      expect(Exit.isFailure(exit)).toBe(true)
      yield* TestClock.adjust("1 second")
      expect(completed).toBe(true)
    }))

  it.effect("shouldReturnResult", () =>
    Effect.gen(function*() {
      const exit = yield* after(0, Deadline.attemptTimeout(Effect.succeed(42), "1 second"))
      expect(exit).toEqual(Exit.succeed(42))
    }))

  it.effect("shouldReturnResultWithCompletionStage", () =>
    Effect.gen(function*() {
      // a call that takes less than its limit is not touched
      const exit = yield* after(999, Deadline.withDeadline(Effect.as(Effect.sleep("999 millis"), 42), "1 second"))
      expect(exit).toEqual(Exit.succeed(42))
    }))

  it.effect("unwrapExecutionException", () =>
    Effect.gen(function*() {
      // the call's own failure comes back as it is, not wrapped and not as a timeout
      const error = new HelloWorldException()
      const exit = yield* after(0, Deadline.attemptTimeout(Effect.fail(error), "1 second"))
      expect(exit).toEqual(Exit.fail(error))
    }))
})
