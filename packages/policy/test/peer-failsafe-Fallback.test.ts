// Ported from Failsafe's core/src/test/java/dev/failsafe/functional/FallbackTest.java (failsafe-lib/failsafe), one
// `it` per Failsafe case, named after it.
// Mapping: `Fallback.of(v)` is `Fallback.orElse(Effect.succeed(v))` (the answer's `value`, with `source` saying which
// gave it); `handle(X)` is `while: (e) => e instanceof X`; `Fallback.ofException(fn)` is a fallback failing with
// `fn(failure)` (`Effect.catchAll`, since `orElse`'s fallback does not see the failure: it is in the answer's
// `failures`); `Failsafe.with(fallback, retryPolicy)` is the retried call, then `orElse`; `RetryPolicy.ofDefaults()` is
// `Schedule.recurs(2)`.
import { describe, expect, it } from "@effect/vitest"
import { Fallback, Retry } from "@sturdy/policy"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"

class IllegalArgumentException extends Error {}
class IllegalStateException extends Error {
  constructor(override readonly cause?: unknown) {
    super()
  }
}

const counted = <A, E>(body: (attempt: number) => Effect.Effect<A, E>) => {
  const s: { attempts: number; readonly call: Effect.Effect<A, E> } = {
    attempts: 0,
    call: Effect.suspend(() => body(s.attempts++))
  }
  return s
}

describe("peer failsafe FallbackTest", () => {
  it.effect("shouldNotFallback", () =>
    Effect.gen(function*() {
      const c = counted(() => Effect.succeed(false))
      const answer = yield* Fallback.orElse(c.call, Effect.succeed(true))
      expect(answer.value).toBe(false)
      expect(answer.source).toBe("primary")
      expect(c.attempts).toBe(1)
    }))

  it.effect("testFallbackWithoutConditions", () =>
    Effect.gen(function*() {
      const first = yield* Fallback.orElse(Effect.fail(new IllegalArgumentException()), Effect.succeed(true))
      expect(first.value).toBe(true)
      expect(first.source).toBe("fallback")
      const c = counted(() => Effect.fail(new IllegalStateException()))
      const second = yield* c.call.pipe(
        Retry.retry({ schedule: Schedule.recurs(2) }),
        Fallback.orElse(Effect.succeed(true))
      )
      expect(second.value).toBe(true)
      expect(c.attempts).toBe(3)
    }))

  it.effect("testFallbackWithConditions", () =>
    Effect.gen(function*() {
      const withFallback = <A, E>(self: Effect.Effect<A, E>) =>
        Fallback.orElse(self, Effect.succeed(true), { while: (e) => e instanceof IllegalArgumentException })
      const e = yield* Effect.flip(withFallback(Effect.fail(new IllegalStateException())))
      expect(e).toBeInstanceOf(IllegalStateException)
      expect((yield* withFallback(Effect.fail(new IllegalArgumentException()))).value).toBe(true)
    }))

  it.effect("shouldFallbackOfException", () =>
    Effect.gen(function*() {
      const e = yield* Effect.flip(
        Effect.fail(new IllegalArgumentException()).pipe(
          Effect.catchAll((failure) => Effect.fail(new IllegalStateException(failure)))
        )
      )
      expect(e).toBeInstanceOf(IllegalStateException)
      expect(e.cause).toBeInstanceOf(IllegalArgumentException)
    }))
})
