// Ported from SmallRye Fault Tolerance (smallrye/smallrye-fault-tolerance, commit 5066307cd9021e850c3ac4dda8b352707fbb8722),
// implementation/core/src/test/java/io/smallrye/faulttolerance/core/timeout/TimeoutSyncTest.java, one `it` per
// SmallRye case, named after it.
// Mapping: `new Timeout(invocation, "test invocation", 1000, timer)` is `Deadline.withDeadline(invocation, "1000
// millis")`; SmallRye's TestTimer (whose task fires when the test opens `timerElapsedBarrier`) is the TestClock moved
// by the timeout; `TimeoutException("test invocation timed out")` is `DeadlineExceeded` of reason "Deadline" with
// `timeout` 1000 ms (message "deadline of 1s exceeded"). `timer.timerTaskCancelled()` is not asserted: a disarmed
// timer is not observable from outside (the TestClock keeps listing the sleeps of interrupted fibers); "not cancelled"
// is the timer having fired, which the timed-out cases assert. A
// Barrier.noninterruptible() in the invocation is an uninterruptible wait; a Party the invocation attends is a
// `Deferred` it completes before waiting for ever.
// Deliberate differences (each test says which): a zero or negative timeout is a deadline already passed (the call
// fails at once with `DeadlineExceeded`, as Go's `context.WithTimeout`; module doc of Deadline.ts), where SmallRye's
// constructor refuses it.
// Not ported: TimeoutAsyncTest.java, TimeoutFutureTest.java, TimeoutExecutionTest.java and
// RealWorldAsyncTimeoutTest.java (the same limit on thread-offloaded, CompletionStage and Future invocations, on real
// time: Java-specific); timer/ThreadTimer*Test.java (SmallRye's timer thread).
import { describe, expect, it } from "@effect/vitest"
import { Deadline } from "@sturdy/policy"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { TestException } from "./utils/smallrye.js"

const timeout = <A, E>(invocation: Effect.Effect<A, E>) => Deadline.withDeadline(invocation, "1000 millis")

const timedOut = <A, E>(exit: Exit.Exit<A, E | Deadline.DeadlineExceeded>) => {
  const failure = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined
  expect(Deadline.isDeadlineExceeded(failure)).toBe(true)
  if (Deadline.isDeadlineExceeded(failure)) {
    expect(failure.reason).toBe("Deadline")
    expect(Duration.toMillis(failure.timeout)).toBe(1000)
    expect(failure.message).toBe("deadline of 1s exceeded")
  }
}

describe("peer SmallRye TimeoutSyncTest", () => {
  it.effect("negativeTimeout", () =>
    Effect.gen(function*() {
      let ran = false
      // SmallRye refuses a negative timeout (IllegalArgumentException); Sturdy's is a deadline already passed
      const error = yield* Effect.flip(Deadline.withDeadline(Effect.sync(() => (ran = true)), Duration.millis(-1)))
      expect(Deadline.isDeadlineExceeded(error)).toBe(true)
      expect(ran).toBe(false)
    }))

  it.effect("zeroTimeout", () =>
    Effect.gen(function*() {
      let ran = false
      // SmallRye refuses a zero timeout (IllegalArgumentException); Sturdy's is a deadline already passed
      const error = yield* Effect.flip(Deadline.withDeadline(Effect.sync(() => (ran = true)), Duration.zero))
      expect(Deadline.isDeadlineExceeded(error)).toBe(true)
      expect(ran).toBe(false)
    }))

  it.effect("immediatelyReturning_value", () =>
    Effect.gen(function*() {
      expect(yield* timeout(Effect.succeed("foobar"))).toBe("foobar")
    }))

  it.effect("immediatelyReturning_exception", () =>
    Effect.gen(function*() {
      expect(yield* Effect.flip(timeout(Effect.fail(new TestException())))).toBeInstanceOf(TestException)
    }))

  for (
    const [name, outcome] of [["value", Effect.succeed("foobar")], [
      "exception",
      Effect.fail(new TestException())
    ]] as const
  ) {
    it.effect(`delayed_${name}_notTimedOut`, () =>
      Effect.gen(function*() {
        const delayBarrier = yield* Deferred.make<void>()
        const fiber = yield* Effect.fork(timeout(Effect.zipRight(Deferred.await(delayBarrier), outcome)))
        yield* TestClock.adjust("500 millis")
        yield* Deferred.succeed(delayBarrier, undefined)
        const exit = yield* Fiber.await(fiber)
        expect(exit).toEqual(yield* Effect.exit(outcome))
      }))

    it.effect(`delayed_${name}_timedOut`, () =>
      Effect.gen(function*() {
        const delayBarrier = yield* Deferred.make<void>()
        const fiber = yield* Effect.fork(timeout(Effect.zipRight(Deferred.await(delayBarrier), outcome)))
        yield* TestClock.adjust("1000 millis")
        timedOut(yield* Fiber.await(fiber))
      }))

    it.effect(`delayed_${name}_timedOutNoninterruptibly`, () =>
      Effect.gen(function*() {
        const delayBarrier = yield* Deferred.make<void>()
        const fiber = yield* Effect.fork(
          timeout(Effect.uninterruptible(Effect.zipRight(Deferred.await(delayBarrier), outcome)))
        )
        yield* TestClock.adjust("1000 millis")
        // the invocation cannot be interrupted: the call waits for it (without `disconnect`)
        expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
        yield* Deferred.succeed(delayBarrier, undefined)
        timedOut(yield* Fiber.await(fiber))
      }))

    it.effect(`delayed_${name}_interruptedEarly`, () =>
      Effect.gen(function*() {
        const attending = yield* Deferred.make<void>()
        const fiber = yield* Effect.fork(
          timeout(Effect.zipRight(Deferred.succeed(attending, undefined), Effect.zipRight(Effect.never, outcome)))
        )
        yield* Deferred.await(attending)
        const exit = yield* Fiber.interrupt(fiber)
        expect(Exit.isInterrupted(exit)).toBe(true)
      }))
  }
})
