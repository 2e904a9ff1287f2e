// Ported from SmallRye Fault Tolerance (smallrye/smallrye-fault-tolerance, commit 5066307cd9021e850c3ac4dda8b352707fbb8722),
// implementation/core/src/test/java/io/smallrye/faulttolerance/core/fallback/FallbackSyncTest.java, one `it` per
// SmallRye case, named after it.
// Mapping: `new Fallback(invocation, .., fallbackFunction, exceptionDecision)` is `Fallback.orElse(invocation,
// fallback, { while })`: `ExceptionDecision.ALWAYS_FAILURE` (every failure falls back) is no `while` (the default),
// `ALWAYS_EXPECTED` (no failure falls back) is `while: () => false`; a fallback function that throws is a fallback
// effect that fails. The answer's `value` is SmallRye's result, its `source` and `failures` Sturdy's provenance. A test
// thread interrupted while the invocation or the fallback waits on a Party is the fiber interrupted there.
// Deliberate differences: none in these cases.
// Not ported: selfInterruptedInInvocation_value/_exception and selfInterruptedInFallback_value/_exception (a thread
// setting its own interrupt flag: Java-specific, and SmallRye's comment says they "just codify existing behavior");
// FallbackAsyncTest.java and FallbackFutureTest.java (the same cases on CompletionStage / Future invocations,
// Java-specific).
import { describe, expect, it } from "@effect/vitest"
import { Fallback } from "@sturdy/policy"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { RuntimeException, TestException } from "./utils/smallrye.js"

const foobar = Effect.succeed("foobar")
const throwsTestException = Effect.fail(new TestException())
const fallbackValue = Effect.succeed("fallback")
const fallbackThrows = (error: Error = new RuntimeException()) => Effect.fail(error)
const noExceptionSupported = { while: () => false }

describe("peer SmallRye FallbackSyncTest", () => {
  it.effect("immediatelyReturning_allExceptionsSupported_valueThenValue", () =>
    Effect.gen(function*() {
      const answer = yield* Fallback.orElse(foobar, fallbackValue)
      expect(answer.value).toBe("foobar")
      expect(answer.source).toBe("primary")
    }))

  it.effect("immediatelyReturning_allExceptionsSupported_valueThenException", () =>
    Effect.gen(function*() {
      const answer = yield* Fallback.orElse(foobar, fallbackThrows())
      expect(answer.value).toBe("foobar")
      expect(answer.failures).toEqual([])
    }))

  it.effect("immediatelyReturning_allExceptionsSupported_exceptionThenValue", () =>
    Effect.gen(function*() {
      const answer = yield* Fallback.orElse(throwsTestException, fallbackValue)
      expect(answer.value).toBe("fallback")
      expect(answer.source).toBe("fallback")
      expect(answer.failures.map((f) => [f.source, f.error instanceof TestException])).toEqual([["primary", true]])
    }))

  it.effect("immediatelyReturning_allExceptionsSupported_exceptionThenException", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Fallback.orElse(throwsTestException, fallbackThrows()))
      expect(error).toBeInstanceOf(RuntimeException)
    }))

  it.effect("immediatelyReturning_noExceptionSupported_valueThenValue", () =>
    Effect.gen(function*() {
      expect((yield* Fallback.orElse(foobar, fallbackValue, noExceptionSupported)).value).toBe("foobar")
    }))

  it.effect("immediatelyReturning_noExceptionSupported_valueThenException", () =>
    Effect.gen(function*() {
      const answer = yield* Fallback.orElse(foobar, fallbackThrows(new TestException()), noExceptionSupported)
      expect(answer.value).toBe("foobar")
    }))

  it.effect("immediatelyReturning_noExceptionSupported_exceptionThenValue", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Fallback.orElse(throwsTestException, fallbackValue, noExceptionSupported))
      expect(error).toBeInstanceOf(TestException)
    }))

  it.effect("immediatelyReturning_noExceptionSupported_exceptionThenException", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Fallback.orElse(throwsTestException, fallbackThrows(), noExceptionSupported))
      expect(error).toBeInstanceOf(TestException)
    }))

  it.effect("waitingOnParty_interruptedInInvocation", () =>
    Effect.gen(function*() {
      const attending = yield* Deferred.make<void>()
      let fallbackRan = false
      const invocation = Effect.zipRight(Deferred.succeed(attending, undefined), Effect.as(Effect.never, "foobar"))
      const fiber = yield* Effect.fork(
        Fallback.orElse(invocation, Effect.sync(() => (fallbackRan = true)))
      )
      yield* Deferred.await(attending)
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      // an interruption is no failure to fall back from
      expect(fallbackRan).toBe(false)
    }))

  it.effect("waitingOnParty_interruptedInFallback", () =>
    Effect.gen(function*() {
      const attending = yield* Deferred.make<void>()
      const fallback = Effect.zipRight(Deferred.succeed(attending, undefined), Effect.as(Effect.never, "fallback"))
      const fiber = yield* Effect.fork(Fallback.orElse(throwsTestException, fallback))
      yield* Deferred.await(attending)
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
    }))
})
