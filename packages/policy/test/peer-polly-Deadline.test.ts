// Ported from Polly v8's test/Polly.Core.Tests/Timeout/TimeoutResilienceStrategyTests.cs (App-vNext/Polly), one `it`
// per Polly case (a [Theory] as one `it` over its rows), named after it.
// Mapping: Polly's timeout strategy (one execution) is `Deadline.attemptTimeout`; its `TimeoutRejectedException` is
// `DeadlineExceeded` with reason "Attempt" and `timeout` the limit that fired (Polly's `OnTimeout` args.Timeout); the
// cancellation token Polly cancels on timeout is the interruption of the attempt's fiber; a caller's own cancellation
// is the interruption of the caller's fiber.
// Deliberate difference: Polly applies no timeout for TimeSpan.Zero and negative timeouts (only for a positive, finite
// one); Sturdy's limit of zero is no time at all: the call fails at once with `DeadlineExceeded` (documented in
// `Deadline`: "A call entered with no time left fails at once"). An infinite timeout is no limit in both.
// Not ported (.NET mechanics): "Execute_EnsureTimeoutGeneratorCalled" and "Execute_TimeoutGeneratorIsNull_..." (a
// per-call generator: ported as a plain timeout), "Execute_Timeout_EnsureStackTrace", "..._EnsureTelemetrySource",
// "Execute_CallerCancellation_EnsureExceptionCarriesCallerToken", "..._EnsureCancellationTokenRestored",
// "..._NotExecutedOnSynchronizationContext".
import { describe, expect, it } from "@effect/vitest"
import * as Deadline from "@sturdy/policy/Deadline"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"

// An operation that takes `delay`, recording whether it was interrupted (Polly: its token was cancelled).
const operation = (delay: Duration.DurationInput) => {
  const s = { interrupted: false, completed: false }
  const run = Effect.sleep(delay).pipe(
    Effect.zipRight(Effect.sync(() => (s.completed = true))),
    Effect.onInterrupt(() => Effect.sync(() => (s.interrupted = true))),
    Effect.as("dummy")
  )
  return { s, run }
}

describe("peer Polly TimeoutResilienceStrategyTests", () => {
  it.effect("Execute_EnsureOnTimeoutCalled", () =>
    Effect.gen(function*() {
      const delay = Duration.seconds(12)
      const op = operation(Duration.sum(delay, Duration.seconds(1)))
      const fiber = yield* Effect.fork(Effect.flip(op.run.pipe(Deadline.attemptTimeout(delay))))
      yield* TestClock.adjust(delay)
      const error = yield* Fiber.join(fiber)
      expect(Deadline.isDeadlineExceeded(error)).toBe(true)
      expect(error.reason).toBe("Attempt")
      expect(Duration.toMillis(error.timeout)).toBe(12_000)
      expect(op.s.interrupted).toBe(true)
      expect(op.s.completed).toBe(false)
    }))

  it.effect("Execute_NoTimeout", () =>
    Effect.gen(function*() {
      // an infinite timeout (Polly's InfiniteTimeSpan) is no limit
      const op = operation(Duration.days(365))
      const fiber = yield* Effect.fork(op.run.pipe(Deadline.attemptTimeout(Duration.infinity)))
      yield* TestClock.adjust(Duration.days(365))
      expect(yield* Fiber.join(fiber)).toBe("dummy")
      expect(op.s.interrupted).toBe(false)
      // Polly: TimeSpan.Zero and -1 ms mean no timeout; Sturdy: no time left, the call fails at once without running
      for (const timeout of [Duration.zero, Duration.millis(-1)]) {
        let ran = false
        const exit = yield* Effect.exit(Effect.sync(() => (ran = true)).pipe(Deadline.attemptTimeout(timeout)))
        expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error._tag).toBe("DeadlineExceeded")
        expect(ran).toBe(false)
      }
    }))

  it.effect("Execute_Timeout", () =>
    Effect.gen(function*() {
      const op = operation("4 seconds")
      const fiber = yield* Effect.fork(Effect.flip(op.run.pipe(Deadline.attemptTimeout("2 seconds"))))
      yield* TestClock.adjust("2 seconds")
      const error = yield* Fiber.join(fiber)
      // Polly: "The operation didn't complete within the allowed timeout of '00:00:02'."
      expect(error.message).toBe("attempt timed out after 2s")
      expect(op.s.interrupted).toBe(true)
    }))

  it.effect("Execute_TimeoutGeneratorIsNull_FallsBackToTimeout", () =>
    Effect.gen(function*() {
      const op = operation("50 millis")
      const fiber = yield* Effect.fork(Effect.flip(op.run.pipe(Deadline.attemptTimeout("10 millis"))))
      yield* TestClock.adjust("10 millis")
      const error = yield* Fiber.join(fiber)
      expect(Duration.toMillis(error.timeout)).toBe(10)
    }))

  // Polly: the caller cancels before the timeout: OperationCanceledException, and OnTimeout is not called.
  it.effect("Execute_Cancelled_EnsureNoTimeout", () =>
    Effect.gen(function*() {
      const op = operation("10 seconds")
      const fiber = yield* Effect.fork(op.run.pipe(Deadline.attemptTimeout("10 seconds")))
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(fiber)
      const exit = yield* Fiber.await(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail").toBe(false)
      expect(op.s.interrupted).toBe(true)
    }))

  // Polly's core contract: an operation that completes in time returns its result, untouched by the timeout.
  it.effect("Execute_CompletesBeforeTimeout_ReturnsResult", () =>
    Effect.gen(function*() {
      const op = operation("1 second")
      const fiber = yield* Effect.fork(op.run.pipe(Deadline.attemptTimeout("2 seconds")))
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(fiber)).toBe("dummy")
      yield* TestClock.adjust("5 seconds")
      expect(op.s.interrupted).toBe(false)
    }))
})
