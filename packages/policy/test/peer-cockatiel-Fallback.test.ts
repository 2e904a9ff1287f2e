// Ported from cockatiel's src/FallbackPolicy.test.ts (connor4312/cockatiel), one `it` per cockatiel case, named after
// it. Mapping: `fallback(handleAll, value)` is `Fallback.orElse(Effect.succeed(value))`; cockatiel's `onFailure`
// event ({ reason: { error }, handled }) is the answer's provenance (`failures`), which names the failure that led to
// the fallback; an AbortSignal is interruption.
import { describe, expect, it } from "@effect/vitest"
import { Fallback } from "@sturdy/policy"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"

describe("peer cockatiel FallbackPolicy", () => {
  it.effect("does not fall back when not necessary", () =>
    Effect.gen(function*() {
      const result = yield* Effect.succeed("ok").pipe(Fallback.orElse(Effect.succeed("error")))
      expect(result.value).toBe("ok")
      expect(result.source).toBe("primary")
      expect(result.failures).toEqual([])
      expect(Fallback.isDegraded(result)).toBe(false)
    }))

  it.effect("returns a fallback and emits an error if necessary", () =>
    Effect.gen(function*() {
      const error = new Error("oh no!")
      const result = yield* Effect.fail(error).pipe(Fallback.orElse(Effect.succeed("error")))
      expect(result.value).toBe("error")
      expect(result.source).toBe("fallback")
      expect(result.failures).toEqual([{ source: "primary", error }])
      expect(result.failures[0].error).toBe(error)
      expect(Fallback.isDegraded(result)).toBe(true)
    }))

  // The caller's interruption reaches the primary call, and an interrupted call does not fall back.
  it.effect("links parent cancellation token", () =>
    Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      let fellBack = false
      const fiber = yield* Effect.fork(
        Effect.zipRight(Deferred.succeed(started, undefined), Effect.never).pipe(
          Fallback.orElse(Effect.sync(() => (fellBack = true)))
        )
      )
      yield* Deferred.await(started)
      expect(Exit.isInterrupted(yield* Fiber.interrupt(fiber))).toBe(true)
      expect(fellBack).toBe(false)
    }))
})
