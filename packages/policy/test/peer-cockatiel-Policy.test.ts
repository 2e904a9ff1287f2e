// Ported from cockatiel's src/Policy.test.ts (connor4312/cockatiel), one `it` per cockatiel case, named after it.
// Mapping: `wrap(a, b)` (a outermost) is `self.pipe(b, a)`; `handleType(A).orType(B, filter).orWhen(p)` is a
// `while` predicate; `handleResultType`/`orWhenResult` retry a value, which is Effect's `repeat` with `while`.
// Not ported: "applies use" and "uses cancellation token in use" (the `@usePolicy` method decorator has no
// counterpart: a Sturdy policy wraps an Effect, not a method).
import { describe, expect, it } from "@effect/vitest"
import { Backoff, CircuitBreaker, Deadline, Fallback, Retry } from "@sturdy/policy"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"

class MyError1 extends Error {}
class MyError2 extends Error {}
class MyError3 extends Error {}

const runVirtual = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* TestClock.adjust("1 hour")
    return yield* Fiber.await(fiber)
  })

describe("peer cockatiel Policy", () => {
  it.scoped("wraps", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make("k", { breakDuration: "100 millis", consecutiveFailures: 2 })
      let calls = 0
      const fn = Effect.suspend(() => (calls++, Effect.fail(new MyError1())))
      // should retry and break the circuit: the third attempt is rejected, and a rejection is not retried
      const exit = yield* runVirtual(
        fn.pipe(
          CircuitBreaker.withBreaker(breaker),
          // cockatiel retries at once by default; these waits (10, 20 ms) are well within the 100 ms pause
          Retry.retry({
            schedule: Backoff.exponential({ maxAttempts: 4, baseDelay: 10, jitter: "none" }),
            while: (e) => e instanceof MyError1
          })
        )
      )
      const error = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined
      expect(CircuitBreaker.isCircuitOpen(error)).toBe(true)
      expect(calls).toBe(2)
    }))

  it.scoped("wraps and keeps correct types", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make("k", { breakDuration: "100 millis", consecutiveFailures: 2 })
      const policy = <A, E>(self: Effect.Effect<A, E>) =>
        self.pipe(
          Deadline.withDeadline("1 second"),
          Fallback.orElse(Effect.succeed("foo")),
          CircuitBreaker.withBreaker(breaker),
          Retry.retry({ schedule: Backoff.exponential({ maxAttempts: 3 }) })
        )
      const result = yield* policy(Effect.succeed(1234))
      const value: number | string = result.value
      expect(value).toBe(1234)
      expect(result.source).toBe("primary")
    }))

  it.effect("applies error filters", () =>
    Effect.gen(function*() {
      const errors: ReadonlyArray<Error> = [
        new MyError1(),
        new MyError2(),
        new MyError3("foo"),
        new Error("potato"),
        new MyError3("bar")
      ]
      let calls = 0
      const fn: Effect.Effect<never, Error> = Effect.suspend(() => Effect.fail(errors[calls++]!))
      const exit = yield* runVirtual(
        Retry.retry(fn, {
          schedule: Backoff.exponential({ maxAttempts: 11 }),
          while: (e) =>
            e instanceof MyError1 || e instanceof MyError2 || (e instanceof MyError3 && e.message === "foo") ||
            (e instanceof Error && e.message === "potato")
        })
      )
      expect(exit).toStrictEqual(Exit.fail(errors[4]))
      expect(calls).toBe(5)
    }))

  it.effect("applies result filters", () =>
    Effect.gen(function*() {
      const results: ReadonlyArray<Error | string> = [
        new MyError1(),
        new MyError2(),
        new MyError3("foo"),
        "potato",
        "ok!"
      ]
      let calls = 0
      const fn = Effect.sync(() => results[calls++]!)
      const exit = yield* runVirtual(
        Effect.repeat(fn, {
          schedule: Backoff.exponential({ maxAttempts: 11 }),
          while: (r) =>
            r instanceof MyError1 || r instanceof MyError2 || (r instanceof MyError3 && r.message === "foo") ||
            r === "potato"
        })
      )
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(calls).toBe(5)
      expect(results[calls - 1]).toBe("ok!")
    }))
})
