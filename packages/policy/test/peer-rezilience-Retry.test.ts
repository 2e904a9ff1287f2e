// Ported from rezilience's rezilience/shared/src/test/scala/nl/vroste/rezilience/RetrySpec.scala
// (svroonland/rezilience, commit caa1642e8e7be29bf7c54715202f3ceff43eb07a), one `it` per rezilience case, named after it.
// Mapping: `Retry.make(schedule)` is `Retry.retry({ schedule })`; `Retry.Schedules.exponentialBackoff(1.second,
// 2.seconds)` (1 s, then 2 s for ever) is `Schedule.exponential("1 second").pipe(Schedule.union(Schedule.spaced("2
// seconds")))`; `.widen(Policy.unwrap[Throwable])`, which retries a `WrappedError` and passes any other policy error
// (here `Policy.CircuitBreakerOpen`) through at once, is `while: (e) => !CircuitBreaker.isCircuitOpen(e)` (Sturdy does
// not wrap the caller's failures, so the retry tells a breaker's rejection by its tag; HTTP's `Policy` does so by
// default); the `CircuitBreakerOpen` failure is the `CircuitOpen` of a breaker held open with `isolate`.
// Deliberate differences: none found.
// Not ported: the `nonFlaky` aspect (the case runs once, deterministically, on the TestClock).
import { describe, expect, it } from "@effect/vitest"
import { CircuitBreaker, Retry } from "@sturdy/policy"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schedule from "effect/Schedule"
import { advanceToDone } from "./utils/advance.js"

describe("peer rezilience RetrySpec", () => {
  it.scoped("widen should not retry unmatched errors", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make("rezilience")
      yield* breaker.isolate
      const retry = Retry.retry({
        schedule: Schedule.exponential("1 second").pipe(Schedule.union(Schedule.spaced("2 seconds"))),
        while: (e: unknown) => !CircuitBreaker.isCircuitOpen(e)
      })
      let tries = 0
      const failure = CircuitBreaker.withBreaker(Effect.void, breaker)
      const exit = yield* advanceToDone(retry(Effect.zipRight(Effect.sync(() => tries++), failure)))
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && CircuitBreaker.isCircuitOpen(exit.cause.error))
        .toBe(true)
      expect(tries).toBe(1)
    }))
})
