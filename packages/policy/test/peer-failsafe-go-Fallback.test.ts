// Ported from failsafe-go's test/fallback_test.go (failsafe-go/failsafe-go, commit
// 5759a5e6d557eace215f820f5b5e663d5c05c3ee; the package fallback/ has no test file), one `it` per Go case (`t.Run`),
// named after it.
// Mapping: `fallback.NewWithResult(v)` is `Fallback.orElse(Effect.succeed(v))` (the answer's `value`, with `source`
// saying which gave it), `NewWithError(e)` `Fallback.orElse(Effect.fail(e))`; `HandleResult(v)` is `while`, a handled
// result being a typed failure carrying it (Sturdy falls back on failures, never on successes). A canceled
// `context.Context` is the interruption of the caller's fiber. "Executions" are the calls that reached the user's
// function.
// Not ported: "should not fallback" and "with func" (Failsafe's shouldNotFallback and shouldFallbackOfException, in
// peer-failsafe-Fallback.test.ts).
import { describe, expect, it } from "@effect/vitest"
import { Fallback } from "@sturdy/policy"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { counted } from "./utils/counted.js"

class ErrInvalidArgument extends Error {}
// a result the fallback handles (HandleResult)
class Result extends Error {
  constructor(readonly value: number) {
    super(`result ${value}`)
  }
}

describe("peer failsafe-go TestFallback", () => {
  // Tests Fallback.NewWithResult
  it.effect("with result", () =>
    Effect.gen(function*() {
      const c = counted(() => Effect.fail(new ErrInvalidArgument()))
      const answer = yield* c.call.pipe(Fallback.orElse(Effect.succeed(true)))
      expect(answer.value).toBe(true)
      expect(answer.source).toBe("fallback")
      expect(c.executions).toBe(1)
    }))

  // Tests Fallback.NewWithError
  it.effect("with error", () =>
    Effect.gen(function*() {
      const c = counted(() => Effect.fail(new Error("primary")))
      const fallbackError = new ErrInvalidArgument()
      const exit = yield* Effect.exit(c.call.pipe(Fallback.orElse(Effect.fail(fallbackError))))
      expect(exit).toEqual(Exit.fail(fallbackError))
      expect(c.executions).toBe(1)
    }))

  // Tests a fallback with failure conditions
  it.effect("should fallback with failure conditions", () =>
    Effect.gen(function*() {
      const fb = Fallback.orElse(Effect.succeed(0), { while: (e: Result) => e.value === 500 })
      // Fallback should not handle
      const e = yield* Effect.flip(fb(Effect.fail(new Result(400))))
      expect(e.value).toBe(400)
      // Fallback should handle
      const answer = yield* fb(Effect.fail(new Result(500)))
      expect(answer.value).toBe(0)
      expect(answer.source).toBe("fallback")
    }))

  // Asserts that the fallback result itself can cause an execution to be considered a failure.
  it.effect("should verify fallback result", () =>
    Effect.gen(function*() {
      // Assert a failure is still a failure
      const exit = yield* Effect.exit(
        Effect.fail(new Error("test")).pipe(Fallback.orElse(Effect.fail(new ErrInvalidArgument())))
      )
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error).toBeInstanceOf(ErrInvalidArgument)
      // Assert a success after a failure is a success
      const answer = yield* Effect.fail(new Error("test")).pipe(Fallback.orElse(Effect.succeed(true)))
      expect(answer.value).toBe(true)
      expect(answer.failures.map((f) => [f.source, (f.error as Error).message])).toEqual([["primary", "test"]])
    }))

  it.effect("should not fall fallback when canceled", () =>
    Effect.gen(function*() {
      let fallbackCalled = false
      const c = counted(() => Effect.fail(new ErrInvalidArgument()))
      // CanceledContextFn: the call is cancelled as it starts
      const fiber = yield* Effect.fork(
        c.call.pipe(Fallback.orElse(Effect.sync(() => (fallbackCalled = true))))
      )
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(fallbackCalled).toBe(false)
      // an interruption from inside the call is no failure to fall back on either
      const inner = yield* Effect.exit(
        Effect.interrupt.pipe(Fallback.orElse(Effect.sync(() => (fallbackCalled = true))))
      )
      expect(Exit.isInterrupted(inner)).toBe(true)
      expect(fallbackCalled).toBe(false)
    }))
})
