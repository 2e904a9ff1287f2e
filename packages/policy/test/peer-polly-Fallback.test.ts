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
import { describe, expect, it } from "@effect/vitest"
import { Fallback } from "@sturdy/policy"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"

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
