// Ported from cats-retry (cb372/cats-retry, commit 35fe1cf506ab98825c6b95a95262c10b97fe526b),
// modules/core/shared/src/test/scala/retry/SyntaxSuite.scala, one `it` per munit `test`, named after it, against
// `@sturdy/policy`'s `Retry.retry` in its pipeable form (cats-retry's `action.retryingOnErrors(...)` syntax is
// `action.pipe(Retry.retry({ ... }))`). The mapping and the deliberate differences are those of the CombinatorsSuite
// port (peer-cats-retry-Combinators.test.ts): an unsuccessful value is a typed failure (`Unsuccessful`), the handler's
// log is the `onAttempt` hook, which is not told of the success.
//
// Not ported: none. (The mtl module's CombinatorsSuite and SyntaxSuite retry errors raised through cats-mtl's
// `Handle`, a Scala type class with no Effect counterpart: Effect's typed failures are what the ports above retry.)
import { describe, expect, it } from "@effect/vitest"
import * as Retry from "@sturdy/policy/Retry"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import {
  makeFixture,
  OneMoreTime,
  type Outcome,
  outcome,
  run,
  Unsuccessful,
  valueOrLastFailure
} from "./utils/catsRetryFixture.js"
import { constantDelay } from "./utils/retryPolicies.js"

describe("peer cats-retry SyntaxSuite", () => {
  it.effect("retryingOnFailures - retry until the action succeeds", () =>
    Effect.gen(function*() {
      const fixture = makeFixture<string>()
      const finalResult = yield* Effect.map(fixture.incrementAttempts, String).pipe(
        Effect.filterOrFail((s) => Number(s) > 3, (value) => new Unsuccessful({ value })),
        Retry.retry({ schedule: constantDelay("1 millis"), onAttempt: fixture.onAttempt((f) => f.value) }),
        valueOrLastFailure,
        run
      )
      expect(finalResult).toEqual(Either.right("4"))
      expect(fixture.state.attempts).toBe(4)
      // cats-retry's log also sees the successful "4"; Sturdy's hook is told failures only
      expect(fixture.state.results).toEqual(["1", "2", "3"])
      expect(fixture.state.retryCounts).toEqual([0, 1, 2])
      expect(fixture.state.nextSteps).toEqual([1, 1, 1])
    }))

  it.effect("retryingOnErrors - retry until the action succeeds", () =>
    Effect.gen(function*() {
      const fixture = makeFixture<string>()
      const finalResult = yield* Effect.flatMap(
        fixture.incrementAttempts,
        (attempts) => attempts < 3 ? Effect.fail(new OneMoreTime()) : Effect.succeed("yay")
      ).pipe(
        Retry.retry({ schedule: constantDelay("1 millis"), onAttempt: fixture.onAttempt((e) => e._tag) }),
        run
      )
      expect(finalResult).toBe("yay")
      expect(fixture.state.attempts).toBe(3)
      expect(fixture.state.results).toEqual(["OneMoreTime", "OneMoreTime"])
      expect(fixture.state.retryCounts).toEqual([0, 1])
      expect(fixture.state.nextSteps).toEqual([1, 1])
    }))

  it.effect("retryingOnFailuresAndErrors - retry until the action succeeds", () =>
    Effect.gen(function*() {
      const fixture = makeFixture<Outcome>()
      const finalResult = yield* Effect.flatMap(fixture.incrementAttempts, (attempts) =>
        attempts <= 2
          ? Effect.fail(new OneMoreTime())
          : Effect.succeed(attempts === 3 ? "boo" : "yay")).pipe(
          Effect.filterOrFail((s) => s === "yay", (value) => new Unsuccessful({ value })),
          Retry.retry({ schedule: constantDelay("1 millis"), onAttempt: fixture.onAttempt(outcome) }),
          valueOrLastFailure,
          run
        )
      expect(finalResult).toEqual(Either.right("yay"))
      expect(fixture.state.attempts).toBe(4)
      // cats-retry's log also sees Right("yay"); Sturdy's hook is told failures only
      expect(fixture.state.results).toEqual([
        Either.left("OneMoreTime"),
        Either.left("OneMoreTime"),
        Either.right("boo")
      ])
      expect(fixture.state.retryCounts).toEqual([0, 1, 2])
      expect(fixture.state.nextSteps).toEqual([1, 1, 1])
    }))
})
