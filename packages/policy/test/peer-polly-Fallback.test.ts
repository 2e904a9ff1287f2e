// Ported from Polly v8's test/Polly.Core.Tests/Fallback/FallbackResilienceStrategyTests.cs (App-vNext/Polly), one `it`
// per Polly case (a [Theory] as one `it` over its rows), named after it.
// Mapping: Polly's `FallbackStrategyOptions { ShouldHandle, FallbackAction, OnFallback }` is `Fallback.orElse(that,
// { while })`: `ShouldHandle` is `while` (on the typed failure), `FallbackAction` is `that`; `OnFallback` and its
// telemetry event are the answer's provenance (`source` "fallback", `failures` naming the failure that led there).
// Polly's handled "result" ("error") is a typed failure here (Sturdy's fallback acts on failures; a success is the
// answer). A thrown exception that Polly's predicate handles is a typed failure; one it does not handle, a failure
// `while` rejects. A fallback action that throws is a defect of `that`.
// Not ported: "Ctor_Ok" (a constructor), "ExecuteOutcomeAsync_UnhandledException_Ok" (Polly's Outcome API: the same
// case as "Handle_UnhandledException_Ok" here).
// The second block ports Polly v7's test/Polly.Specs/Fallback/FallbackSpecs.cs (App-vNext/Polly at
// 173d6d1d2e28a4697f1ac1d22da68f77ff19a0c9; FallbackAsyncSpecs.cs holds the same cases for async delegates), one `it`
// per case, named after it. Mapping: `Policy.Handle<X>(predicate).Or<Y>()` is `while: (e) => (e is X && predicate(e))
// || e is Y`; a thrown exception is a typed failure; `Fallback(fallbackAction, onFallback)` is `Fallback.orElse(that)`,
// and the exception onFallback and the fallback action receive is the answer's `failures` (`that` is an effect, not a
// function of the failure); cancellation is interruption, with a delegate that does not observe its token an
// uninterruptible one. Deliberate differences: an interruption never falls back, even where Polly's policy handles
// OperationCanceledException; and the caller's interruption is reported once an uninterruptible delegate ends (its
// answer, an unhandled failure, or a handled failure's fallback is dropped), where Polly returns what the delegate
// returned, rethrows its unhandled exception or runs the fallback.
// Not ported from v7: the configuration guards (null arguments: the types refuse them), the HandleInner and
// AggregateException cases (an Effect failure is not wrapped: a `while` that reads `cause` is the caller's own), the
// Context passing cases (no Polly Context; a key travels in the effect) and
// "Should_throw_for_generic_method_execution_on_non_generic_policy" (no non-generic policy).
import { describe, expect, it } from "@effect/vitest"
import { Fallback } from "@sturdy/policy"
import * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"

class InvalidOperation extends Data.TaggedError("InvalidOperation")<{}> {}
class ArgumentError extends Data.TaggedError("ArgumentError")<{}> {}
class ResultError extends Data.TaggedError("ResultError")<{ readonly result: string }> {}

describe("peer Polly FallbackResilienceStrategyTests", () => {
  it.effect("Handle_Result_Ok", () =>
    Effect.gen(function*() {
      const error = new ResultError({ result: "error" })
      const answer = yield* Effect.fail(error).pipe(
        Fallback.orElse(Effect.succeed("success"), { while: (e) => e.result === "error" })
      )
      expect(answer.value).toBe("success")
      // OnFallback was called once: the answer says it came from the fallback, after the primary's failure
      expect(answer.source).toBe("fallback")
      expect(answer.failures).toEqual([{ source: "primary", error }])
      expect(Fallback.isDegraded(answer)).toBe(true)
    }))

  it.effect("ShouldHandle_ArgumentsSetCorrectly", () =>
    Effect.gen(function*() {
      for (const handle of [true, false]) {
        let called = 0
        const exit = yield* Effect.exit(
          Effect.fail(new ResultError({ result: "ok" })).pipe(
            Fallback.orElse(
              Effect.sync(() => {
                called++
                return "fallback"
              }),
              {
                while: (e) => {
                  expect(e.result).toBe("ok")
                  called++
                  return handle
                }
              }
            )
          )
        )
        if (handle) {
          expect(Exit.isSuccess(exit) && exit.value.value).toBe("fallback")
          expect(called).toBe(2)
        } else {
          expect(exit).toStrictEqual(Exit.fail(new ResultError({ result: "ok" })))
          expect(called).toBe(1)
        }
      }
    }))

  it.effect("Handle_Result_FallbackActionThrows", () =>
    Effect.gen(function*() {
      const thrown = new RangeError("invalid operation")
      const exit = yield* Effect.exit(
        Effect.fail(new ResultError({ result: "dummy" })).pipe(
          Fallback.orElse(Effect.sync(() => {
            throw thrown
          }))
        )
      )
      expect(Exit.isFailure(exit) && exit.cause._tag === "Die" && exit.cause.defect).toBe(thrown)
    }))

  it.effect("Handle_Exception_Ok", () =>
    Effect.gen(function*() {
      const answer = yield* Effect.fail<InvalidOperation | ArgumentError>(new InvalidOperation()).pipe(
        Fallback.orElse(Effect.succeed("secondary"), { while: (e) => e._tag === "InvalidOperation" })
      )
      expect(answer.value).toBe("secondary")
      expect(answer.failures.map((f) => f.error._tag)).toEqual(["InvalidOperation"])
    }))

  it.effect("Handle_UnhandledException_Ok", () =>
    Effect.gen(function*() {
      let fallbackActionCalled = false
      const exit = yield* Effect.exit(
        Effect.fail<InvalidOperation | ArgumentError>(new ArgumentError()).pipe(
          Fallback.orElse(Effect.sync(() => (fallbackActionCalled = true)), {
            while: (e) => e._tag === "InvalidOperation"
          })
        )
      )
      expect(exit).toStrictEqual(Exit.fail(new ArgumentError()))
      expect(fallbackActionCalled).toBe(false)

      // a thrown exception (a defect) never falls back
      const defect = new Error("argument")
      const died = yield* Effect.exit(
        Effect.die(defect).pipe(Fallback.orElse(Effect.sync(() => (fallbackActionCalled = true))))
      )
      expect(Exit.isFailure(died) && died.cause._tag === "Die" && died.cause.defect).toBe(defect)
      expect(fallbackActionCalled).toBe(false)
    }))

  it.effect("Handle_UnhandledResult_Ok", () =>
    Effect.gen(function*() {
      let fallbackActionCalled = false
      const answer = yield* Effect.succeed("primary").pipe(
        Fallback.orElse(Effect.sync(() => (fallbackActionCalled = true)), { while: () => false })
      )
      expect(answer.value).toBe("primary")
      expect(answer.source).toBe("primary")
      expect(answer.failures).toEqual([])
      expect(fallbackActionCalled).toBe(false)
    }))
})

class DivideByZero extends Data.TaggedError("DivideByZero")<{ readonly helpLink?: string }> {}
class ArgumentNull extends Data.TaggedError("ArgumentNull")<{ readonly param?: string }> {}
class NullReference extends Data.TaggedError("NullReference")<{}> {}
class ArgumentException extends Data.TaggedError("ArgumentException")<{}> {}
type Thrown = DivideByZero | ArgumentNull | NullReference | ArgumentException

// A fallback action that records that it ran.
const fallbackAction = () => {
  const state = { executed: false }
  return { state, action: Effect.sync(() => (state.executed = true, "fallback")) }
}
const raise = (e: Thrown): Effect.Effect<string, Thrown> => Effect.fail(e)
// Polly's handling predicates `_ => false` and `_ => true`.
const no = (_: Thrown) => false
const yes = (_: Thrown) => true
const handles = (...tags: ReadonlyArray<Thrown["_tag"]>) => (e: Thrown) => tags.includes(e._tag)

describe("peer Polly v7 FallbackSpecs", () => {
  it.effect("Should_not_execute_fallback_when_executed_delegate_does_not_throw", () =>
    Effect.gen(function*() {
      const fallback = fallbackAction()
      const answer = yield* Effect.succeed("ok").pipe(
        Fallback.orElse(fallback.action, { while: handles("DivideByZero") })
      )
      expect(answer.source).toBe("primary")
      expect(fallback.state.executed).toBe(false)
    }))

  it.effect("Should_not_execute_fallback_when_executed_delegate_throws_exception_not_handled_by_policy", () =>
    Effect.gen(function*() {
      const fallback = fallbackAction()
      const exit = yield* Effect.exit(
        raise(new ArgumentNull({})).pipe(Fallback.orElse(fallback.action, { while: handles("DivideByZero") }))
      )
      expect(exit).toStrictEqual(Exit.fail(new ArgumentNull({})))
      expect(fallback.state.executed).toBe(false)
    }))

  it.effect("Should_execute_fallback_when_executed_delegate_throws_exception_handled_by_policy", () =>
    Effect.gen(function*() {
      const fallback = fallbackAction()
      const answer = yield* raise(new DivideByZero({})).pipe(
        Fallback.orElse(fallback.action, { while: handles("DivideByZero") })
      )
      expect(answer.value).toBe("fallback")
      expect(fallback.state.executed).toBe(true)
    }))

  it.effect("Should_execute_fallback_when_executed_delegate_throws_one_of_exceptions_handled_by_policy", () =>
    Effect.gen(function*() {
      const fallback = fallbackAction()
      const answer = yield* raise(new ArgumentException()).pipe(
        Fallback.orElse(fallback.action, { while: handles("DivideByZero", "ArgumentException") })
      )
      expect(answer.source).toBe("fallback")
      expect(fallback.state.executed).toBe(true)
    }))

  it.effect(
    "Should_not_execute_fallback_when_executed_delegate_throws_exception_not_one_of_exceptions_handled_by_policy",
    () =>
      Effect.gen(function*() {
        const fallback = fallbackAction()
        const exit = yield* Effect.exit(
          raise(new ArgumentNull({})).pipe(
            Fallback.orElse(fallback.action, { while: handles("DivideByZero", "NullReference") })
          )
        )
        expect(exit).toStrictEqual(Exit.fail(new ArgumentNull({})))
        expect(fallback.state.executed).toBe(false)
      })
  )

  it.effect("Should_not_execute_fallback_when_exception_thrown_does_not_match_handling_predicates", () =>
    Effect.gen(function*() {
      const fallback = fallbackAction()
      const exit = yield* Effect.exit(
        raise(new DivideByZero({})).pipe(
          Fallback.orElse(fallback.action, { while: (e) => e._tag === "DivideByZero" && no(e) })
        )
      )
      expect(exit).toStrictEqual(Exit.fail(new DivideByZero({})))
      expect(fallback.state.executed).toBe(false)
    }))

  it.effect("Should_not_execute_fallback_when_exception_thrown_does_not_match_any_of_handling_predicates", () =>
    Effect.gen(function*() {
      const fallback = fallbackAction()
      const exit = yield* Effect.exit(
        raise(new DivideByZero({})).pipe(
          Fallback.orElse(fallback.action, {
            while: (e) => (e._tag === "DivideByZero" && no(e)) || (e._tag === "ArgumentNull" && no(e))
          })
        )
      )
      expect(exit).toStrictEqual(Exit.fail(new DivideByZero({})))
      expect(fallback.state.executed).toBe(false)
    }))

  it.effect("Should_execute_fallback_when_exception_thrown_matches_handling_predicates", () =>
    Effect.gen(function*() {
      const fallback = fallbackAction()
      yield* raise(new DivideByZero({})).pipe(
        Fallback.orElse(fallback.action, { while: (e) => e._tag === "DivideByZero" && yes(e) })
      )
      expect(fallback.state.executed).toBe(true)
    }))

  it.effect("Should_execute_fallback_when_exception_thrown_matches_one_of_handling_predicates", () =>
    Effect.gen(function*() {
      const fallback = fallbackAction()
      yield* raise(new DivideByZero({})).pipe(
        Fallback.orElse(fallback.action, {
          while: (e) => (e._tag === "DivideByZero" && yes(e)) || e._tag === "ArgumentNull"
        })
      )
      expect(fallback.state.executed).toBe(true)
    }))

  it.effect("Should_not_handle_exception_thrown_by_fallback_delegate_even_if_is_exception_handled_by_policy", () =>
    Effect.gen(function*() {
      let fallbackActionExecuted = false
      const throwing = Effect.suspend(() => {
        fallbackActionExecuted = true
        return Effect.fail(new DivideByZero({ helpLink: "FromFallbackAction" }))
      })
      const exit = yield* Effect.exit(
        raise(new DivideByZero({ helpLink: "FromExecuteDelegate" })).pipe(
          Fallback.orElse(throwing, { while: handles("DivideByZero") })
        )
      )
      // the fallback's own failure is the answer: it is not handled again
      expect(exit).toStrictEqual(Exit.fail(new DivideByZero({ helpLink: "FromFallbackAction" })))
      expect(fallbackActionExecuted).toBe(true)
    }))

  it.effect("Should_call_onFallback_passing_exception_triggering_fallback", () =>
    Effect.gen(function*() {
      const fallback = fallbackAction()
      const instanceToThrow = new ArgumentNull({ param: "myParam" })
      const answer = yield* raise(instanceToThrow).pipe(
        Fallback.orElse(fallback.action, { while: handles("ArgumentNull") })
      )
      expect(fallback.state.executed).toBe(true)
      expect(answer.failures).toHaveLength(1)
      expect(answer.failures[0].error).toBe(instanceToThrow)
    }))

  it.effect("Should_not_call_onFallback_when_executed_delegate_does_not_throw", () =>
    Effect.gen(function*() {
      const answer = yield* Effect.succeed("ok").pipe(
        Fallback.orElse(Effect.void, { while: handles("DivideByZero") })
      )
      expect(answer.failures).toEqual([])
      expect(Fallback.isDegraded(answer)).toBe(false)
    }))

  it.effect("Should_call_fallbackAction_with_the_exception", () =>
    Effect.gen(function*() {
      const instanceToThrow = new ArgumentNull({ param: "myParam" })
      const answer = yield* raise(instanceToThrow).pipe(
        Fallback.orElse(Effect.succeed("fallback"), { while: handles("ArgumentNull") })
      )
      expect(answer.failures).toEqual([{ source: "primary", error: instanceToThrow }])
    }))

  it.effect("Should_call_fallbackAction_with_the_exception_when_execute_and_capture", () =>
    Effect.gen(function*() {
      // ExecuteAndCapture is Effect.exit: the outcome is a success carrying the failure that led to the fallback
      const exit = yield* Effect.exit(
        raise(new ArgumentNull({})).pipe(
          Fallback.orElse(Effect.succeed("fallback"), { while: handles("ArgumentNull") })
        )
      )
      expect(Exit.isSuccess(exit) && exit.value.failures[0].error).toBeInstanceOf(ArgumentNull)
    }))

  it.effect("Should_not_call_fallbackAction_with_the_exception_if_exception_unhandled", () =>
    Effect.gen(function*() {
      const fallback = fallbackAction()
      const exit = yield* Effect.exit(
        raise(new ArgumentNull({})).pipe(Fallback.orElse(fallback.action, { while: handles("DivideByZero") }))
      )
      expect(exit).toStrictEqual(Exit.fail(new ArgumentNull({})))
      expect(fallback.state.executed).toBe(false)
    }))

  // The Scenario of Polly's cancellation tests: the delegate counts its attempts, fails `raise` times with `error`,
  // and (with `cancelDuring`) is interrupted while it runs; `observes` false makes it uninterruptible.
  const scenario = (options: {
    readonly raise: number
    readonly error?: Thrown
    readonly cancelDuring?: boolean
    readonly observes?: boolean
    readonly handlesInterruption?: boolean
  }) =>
    Effect.gen(function*() {
      const fallback = fallbackAction()
      const state = { attemptsInvoked: 0 }
      const started = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const body = Effect.gen(function*() {
        state.attemptsInvoked++
        if (options.cancelDuring === true) {
          yield* Deferred.succeed(started, undefined)
          yield* Deferred.await(release)
        }
        return options.raise > 0 ? yield* Effect.fail(options.error ?? new DivideByZero({})) : "ok"
      })
      const action = options.observes === false ? Effect.uninterruptible(body) : body
      const fiber = yield* Effect.fork(
        action.pipe(Fallback.orElse(fallback.action, { while: handles("DivideByZero") }))
      )
      if (options.cancelDuring === true) {
        yield* Deferred.await(started)
        const interrupting = yield* Effect.fork(Fiber.interrupt(fiber))
        if (options.observes === false) yield* Deferred.succeed(release, undefined)
        yield* Fiber.join(interrupting)
      }
      const exit = yield* Fiber.await(fiber)
      return { exit, attemptsInvoked: state.attemptsInvoked, fallbackActionExecuted: fallback.state.executed }
    })

  it.effect("Should_execute_action_when_non_faulting_and_cancellationToken_not_cancelled", () =>
    Effect.gen(function*() {
      const { attemptsInvoked, exit, fallbackActionExecuted } = yield* scenario({ raise: 0 })
      expect(Exit.isSuccess(exit) && exit.value.value).toBe("ok")
      expect(attemptsInvoked).toBe(1)
      expect(fallbackActionExecuted).toBe(false)
    }))

  it.effect("Should_execute_fallback_when_faulting_and_cancellationToken_not_cancelled", () =>
    Effect.gen(function*() {
      const { attemptsInvoked, exit, fallbackActionExecuted } = yield* scenario({ raise: 1 })
      expect(Exit.isSuccess(exit) && exit.value.source).toBe("fallback")
      expect(attemptsInvoked).toBe(1)
      expect(fallbackActionExecuted).toBe(true)
    }))

  it.effect("Should_not_execute_action_when_cancellationToken_cancelled_before_execute", () =>
    Effect.gen(function*() {
      const fallback = fallbackAction()
      let attemptsInvoked = 0
      const exit = yield* Effect.exit(
        Effect.zipRight(
          Effect.interrupt,
          Effect.sync(() => attemptsInvoked++).pipe(Fallback.orElse(fallback.action))
        )
      )
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(attemptsInvoked).toBe(0)
      expect(fallback.state.executed).toBe(false)
    }))

  it.effect(
    "Should_report_cancellation_and_not_execute_fallback_during_otherwise_non_faulting_action_execution_when_user_delegate_observes_cancellationToken_and_fallback_does_not_handle_cancellations",
    () =>
      Effect.gen(function*() {
        const { attemptsInvoked, exit, fallbackActionExecuted } = yield* scenario({ raise: 0, cancelDuring: true })
        expect(Exit.isInterrupted(exit)).toBe(true)
        expect(attemptsInvoked).toBe(1)
        expect(fallbackActionExecuted).toBe(false)
      })
  )

  it.effect(
    "Should_handle_cancellation_and_execute_fallback_during_otherwise_non_faulting_action_execution_when_user_delegate_observes_cancellationToken_and_fallback_handles_cancellations",
    () =>
      Effect.gen(function*() {
        // deliberate difference: no `while` sees an interruption, so it never falls back (Polly's policy handles
        // OperationCanceledException and runs the fallback)
        const { attemptsInvoked, exit, fallbackActionExecuted } = yield* scenario({ raise: 0, cancelDuring: true })
        expect(Exit.isInterrupted(exit)).toBe(true)
        expect(attemptsInvoked).toBe(1)
        expect(fallbackActionExecuted).toBe(false)
      })
  )

  it.effect(
    "Should_not_report_cancellation_and_not_execute_fallback_if_non_faulting_action_execution_completes_and_user_delegate_does_not_observe_the_set_cancellationToken",
    () =>
      Effect.gen(function*() {
        const { attemptsInvoked, exit, fallbackActionExecuted } = yield* scenario({
          raise: 0,
          cancelDuring: true,
          observes: false
        })
        // deliberate difference: the delegate runs to its end, then the caller's interruption is reported
        expect(Exit.isInterrupted(exit)).toBe(true)
        expect(attemptsInvoked).toBe(1)
        expect(fallbackActionExecuted).toBe(false)
      })
  )

  it.effect(
    "Should_report_unhandled_fault_and_not_execute_fallback_if_action_execution_raises_unhandled_fault_and_user_delegate_does_not_observe_the_set_cancellationToken",
    () =>
      Effect.gen(function*() {
        const { attemptsInvoked, exit, fallbackActionExecuted } = yield* scenario({
          raise: 1,
          error: new NullReference(),
          cancelDuring: true,
          observes: false
        })
        // deliberate difference: Polly reports the unhandled NullReference; here the caller's interruption alone is
        // reported (Effect's matchEffect drops a failure when the fiber is being interrupted). Not handled in both.
        expect(Exit.isInterrupted(exit)).toBe(true)
        expect(Exit.isFailure(exit) && Cause.failureOption(exit.cause)).toEqual(Option.none())
        expect(attemptsInvoked).toBe(1)
        expect(fallbackActionExecuted).toBe(false)
      })
  )

  it.effect(
    "Should_handle_handled_fault_and_execute_fallback_following_faulting_action_execution_when_user_delegate_does_not_observe_cancellationToken",
    () =>
      Effect.gen(function*() {
        const { attemptsInvoked, exit, fallbackActionExecuted } = yield* scenario({
          raise: 1,
          cancelDuring: true,
          observes: false
        })
        expect(attemptsInvoked).toBe(1)
        // deliberate difference: the caller's interruption wins over the fallback once the delegate has ended
        expect(Exit.isInterrupted(exit)).toBe(true)
        expect(fallbackActionExecuted).toBe(false)
      })
  )
})
