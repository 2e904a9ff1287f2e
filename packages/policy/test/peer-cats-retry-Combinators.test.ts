// Ported from cats-retry (cb372/cats-retry, commit 35fe1cf506ab98825c6b95a95262c10b97fe526b),
// modules/core/shared/src/test/scala/retry/CombinatorsSuite.scala, one `it` per munit `test`, named after it, against
// `@sturdy/policy`'s `Retry.retry` (data-first form; the pipeable form is the Syntax port) over `Backoff` schedules.
//
// Mapping: `retryingOnErrors(action)(policy, handler)` is `Retry.retry(action, { schedule, while, onAttempt })`; the
// handler's `log` (told the result, `retriesSoFar` and the policy's next step) is the `onAttempt` hook (told the
// failure, the attempt the decision is about and its delay, or that it gives up); `retryOnAllErrors` is the default
// `while`, `retryOnSomeErrors(p)` is `while: p`, and a handler's `Stop` on an error is `while` answering false.
// `retryingOnFailures` (retrying a successful but unsuccessful value) has no Sturdy counterpart: Sturdy retries typed
// failures, so the unsuccessful value is turned into a typed failure (`Effect.filterOrFail`, `Unsuccessful`) and
// turned back when retrying ends, cats-retry's `Left(lastValue)`; `Right(value)` is a success. Policies:
// `constantDelay(1.milli)` is `Backoff.exponential({ baseDelay: 1, factor: 1, jitter: "none" })` without limits,
// `limitRetries(n)` is `Backoff.bounded(fromDelay(() => 0), { maxAttempts: n + 1 })`. Delays run on the TestClock.
//
// Deliberate differences (each test says which): cats-retry's handler is told every result, the successful one
// included; Sturdy's `onAttempt` is told the decisions, one per failure, so a success is not reported (the results and
// retry counts end one earlier). cats-retry consults the policy before the handler, so a failure not worth retrying is
// logged with the policy's next step (`DelayAndRetry`); Sturdy asks `while` first and does not step the schedule for a
// failure it will not retry, reporting a give-up ("not-retryable").
//
// Not ported: the four "retry with adaptation" cases (retryingOnFailures, retryingOnErrors, retryingOnFailuresAndErrors
// on failure and on error): a handler's `Adapt(newAction)` replaces the action being retried, and Sturdy's `Retry` has
// no way to change the effect it repeats (a caller composes that outside, e.g. with `Effect.orElse`).
import { describe, expect, it } from "@effect/vitest"
import * as Retry from "@sturdy/policy/Retry"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import {
  makeFixture,
  NotWorthRetrying,
  OneMoreTime,
  type Outcome,
  outcome,
  run,
  Unsuccessful,
  valueOrLastFailure
} from "./utils/catsRetryFixture.js"
import { constantDelay, limitRetries } from "./utils/retryPolicies.js"

describe("peer cats-retry CombinatorsSuite", () => {
  it.effect("retryingOnFailures - retry until the action succeeds", () =>
    Effect.gen(function*() {
      const fixture = makeFixture<string>()
      const action = Effect.map(fixture.incrementAttempts, String)
      const finalResult = yield* run(valueOrLastFailure(Retry.retry(
        Effect.filterOrFail(action, (s) => Number(s) > 3, (value) => new Unsuccessful({ value })),
        { schedule: constantDelay("1 millis"), onAttempt: fixture.onAttempt((f) => f.value) }
      )))
      expect(finalResult).toEqual(Either.right("4"))
      expect(fixture.state.attempts).toBe(4)
      // cats-retry's log also sees the successful "4" (retry count 3); Sturdy's hook is told failures only
      expect(fixture.state.results).toEqual(["1", "2", "3"])
      expect(fixture.state.retryCounts).toEqual([0, 1, 2])
      expect(fixture.state.nextSteps).toEqual([1, 1, 1])
    }))

  it.effect("retryingOnFailures - retry until the policy chooses to give up", () =>
    Effect.gen(function*() {
      const fixture = makeFixture<string>()
      const action = Effect.map(fixture.incrementAttempts, String)
      const finalResult = yield* run(valueOrLastFailure(Retry.retry(
        Effect.filterOrFail(action, (s) => Number(s) > 3, (value) => new Unsuccessful({ value })),
        { schedule: limitRetries(2), onAttempt: fixture.onAttempt((f) => f.value) }
      )))
      expect(finalResult).toEqual(Either.left("3"))
      expect(fixture.state.attempts).toBe(3)
      expect(fixture.state.results).toEqual(["1", "2", "3"])
      expect(fixture.state.retryCounts).toEqual([0, 1, 2])
      expect(fixture.state.nextSteps).toEqual([0, 0, "GiveUp"])
    }))

  it.effect("retryingOnFailures - retry in a stack-safe way", () =>
    Effect.gen(function*() {
      const fixture = makeFixture<string>()
      const action = Effect.map(fixture.incrementAttempts, String)
      const finalResult = yield* run(valueOrLastFailure(Retry.retry(
        Effect.filterOrFail(action, (s) => Number(s) > 20_000, (value) => new Unsuccessful({ value })),
        { schedule: limitRetries(10_000), onAttempt: fixture.onAttempt((f) => f.value) }
      )))
      expect(finalResult).toEqual(Either.left("10001"))
      expect(fixture.state.attempts).toBe(10_001)
    }))

  it.effect("retryingOnErrors - retry until the action succeeds", () =>
    Effect.gen(function*() {
      const fixture = makeFixture<string>()
      const action = Effect.flatMap(
        fixture.incrementAttempts,
        (attempts) => attempts < 3 ? Effect.fail(new OneMoreTime()) : Effect.succeed("yay")
      )
      const finalResult = yield* run(Retry.retry(action, {
        schedule: constantDelay("1 millis"),
        onAttempt: fixture.onAttempt((e) => e._tag)
      }))
      expect(finalResult).toBe("yay")
      expect(fixture.state.attempts).toBe(3)
      expect(fixture.state.results).toEqual(["OneMoreTime", "OneMoreTime"])
      expect(fixture.state.retryCounts).toEqual([0, 1])
      expect(fixture.state.nextSteps).toEqual([1, 1])
    }))

  it.effect("retryingOnErrors - retry until the policy chooses to give up", () =>
    Effect.gen(function*() {
      const fixture = makeFixture<string>()
      const action = Effect.zipRight(fixture.incrementAttempts, Effect.fail(new OneMoreTime()))
      const finalResult = yield* run(Effect.either(Retry.retry(action, {
        schedule: limitRetries(2),
        onAttempt: fixture.onAttempt((e) => e._tag)
      })))
      expect(finalResult).toEqual(Either.left(new OneMoreTime()))
      expect(fixture.state.attempts).toBe(3)
      expect(fixture.state.results).toEqual(["OneMoreTime", "OneMoreTime", "OneMoreTime"])
      expect(fixture.state.retryCounts).toEqual([0, 1, 2])
      expect(fixture.state.nextSteps).toEqual([0, 0, "GiveUp"])
    }))

  it.effect("retryingOnErrors - give up if the handler says the error is not worth retrying", () =>
    Effect.gen(function*() {
      const fixture = makeFixture<string>()
      const action = Effect.flatMap(
        fixture.incrementAttempts,
        (attempts): Effect.Effect<never, OneMoreTime | NotWorthRetrying> =>
          attempts === 1 ? Effect.fail(new OneMoreTime()) : Effect.fail(new NotWorthRetrying())
      )
      const finalResult = yield* run(Effect.either(Retry.retry(action, {
        schedule: constantDelay("1 millis"),
        while: (e) => e._tag === "OneMoreTime",
        onAttempt: fixture.onAttempt((e) => e._tag)
      })))
      expect(finalResult).toEqual(Either.left(new NotWorthRetrying()))
      expect(fixture.state.attempts).toBe(2)
      expect(fixture.state.results).toEqual(["OneMoreTime", "NotWorthRetrying"])
      expect(fixture.state.retryCounts).toEqual([0, 1])
      // cats-retry logs the policy's DelayAndRetry(1 ms) for the error it will not retry; Sturdy reports the give-up
      expect(fixture.state.nextSteps).toEqual([1, "GiveUp"])
    }))

  it.effect("retryingOnErrors - retry in a stack-safe way", () =>
    Effect.gen(function*() {
      const fixture = makeFixture<string>()
      const action = Effect.zipRight(fixture.incrementAttempts, Effect.fail(new OneMoreTime()))
      const finalResult = yield* run(Effect.either(Retry.retry(action, {
        schedule: limitRetries(10_000),
        onAttempt: fixture.onAttempt((e) => e._tag)
      })))
      expect(finalResult).toEqual(Either.left(new OneMoreTime()))
      expect(fixture.state.attempts).toBe(10_001)
    }))

  // an action that raises an error twice, then returns an unsuccessful value, then a successful value
  const errorsThenBooThenYay = (fixture: ReturnType<typeof makeFixture<Outcome>>) =>
    Effect.flatMap(fixture.incrementAttempts, (attempts) =>
      attempts <= 2
        ? Effect.fail(new OneMoreTime())
        : attempts === 3
        ? Effect.succeed("boo")
        : Effect.succeed("yay")).pipe(
        Effect.filterOrFail((s) => s === "yay", (value) => new Unsuccessful({ value }))
      )

  it.effect("retryingOnFailuresAndErrors - retry until the action succeeds", () =>
    Effect.gen(function*() {
      const fixture = makeFixture<Outcome>()
      const finalResult = yield* run(valueOrLastFailure(Retry.retry(errorsThenBooThenYay(fixture), {
        schedule: constantDelay("1 millis"),
        onAttempt: fixture.onAttempt(outcome)
      })))
      expect(finalResult).toEqual(Either.right("yay"))
      expect(fixture.state.attempts).toBe(4)
      // cats-retry's log also sees Right("yay") (retry count 3); Sturdy's hook is told failures only
      expect(fixture.state.results).toEqual([
        Either.left("OneMoreTime"),
        Either.left("OneMoreTime"),
        Either.right("boo")
      ])
      expect(fixture.state.retryCounts).toEqual([0, 1, 2])
      expect(fixture.state.nextSteps).toEqual([1, 1, 1])
    }))

  it.effect("retryingOnFailuresAndErrors - retry until the policy chooses to give up - failure", () =>
    Effect.gen(function*() {
      const fixture = makeFixture<Outcome>()
      const finalResult = yield* run(valueOrLastFailure(Retry.retry(errorsThenBooThenYay(fixture), {
        schedule: limitRetries(2),
        onAttempt: fixture.onAttempt(outcome)
      })))
      expect(finalResult).toEqual(Either.left("boo"))
      expect(fixture.state.attempts).toBe(3)
      expect(fixture.state.results).toEqual([
        Either.left("OneMoreTime"),
        Either.left("OneMoreTime"),
        Either.right("boo")
      ])
      expect(fixture.state.retryCounts).toEqual([0, 1, 2])
      expect(fixture.state.nextSteps).toEqual([0, 0, "GiveUp"])
    }))

  it.effect("retryingOnFailuresAndErrors - retry until the policy chooses to give up - error", () =>
    Effect.gen(function*() {
      const fixture = makeFixture<Outcome>()
      const action = Effect.flatMap(
        fixture.incrementAttempts,
        (attempts) => attempts <= 2 ? Effect.fail(new OneMoreTime()) : Effect.succeed("yay")
      ).pipe(Effect.filterOrFail((s) => s === "yay", (value) => new Unsuccessful({ value })))
      const finalResult = yield* run(Effect.either(valueOrLastFailure(Retry.retry(action, {
        schedule: limitRetries(1),
        onAttempt: fixture.onAttempt(outcome)
      }))))
      expect(finalResult).toEqual(Either.left(new OneMoreTime()))
      expect(fixture.state.attempts).toBe(2)
      expect(fixture.state.results).toEqual([Either.left("OneMoreTime"), Either.left("OneMoreTime")])
      expect(fixture.state.retryCounts).toEqual([0, 1])
      expect(fixture.state.nextSteps).toEqual([0, "GiveUp"])
    }))

  it.effect("retryingOnFailuresAndErrors - give up if the handler says the error is not worth retrying", () =>
    Effect.gen(function*() {
      const fixture = makeFixture<Outcome>()
      const action = Effect.flatMap(
        fixture.incrementAttempts,
        (attempts): Effect.Effect<string, OneMoreTime | NotWorthRetrying> =>
          attempts === 1 ? Effect.fail(new OneMoreTime()) : Effect.fail(new NotWorthRetrying())
      ).pipe(Effect.filterOrFail(() => true, (value) => new Unsuccessful({ value })))
      const finalResult = yield* run(Effect.either(valueOrLastFailure(Retry.retry(action, {
        schedule: constantDelay("1 millis"),
        // Continue on OneMoreTime; Stop on any other error (not worth retrying) and on a value (a success)
        while: (e) => e._tag === "OneMoreTime",
        onAttempt: fixture.onAttempt(outcome)
      }))))
      expect(finalResult).toEqual(Either.left(new NotWorthRetrying()))
      expect(fixture.state.attempts).toBe(2)
      expect(fixture.state.results).toEqual([Either.left("OneMoreTime"), Either.left("NotWorthRetrying")])
      expect(fixture.state.retryCounts).toEqual([0, 1])
      // cats-retry logs the policy's DelayAndRetry(1 ms) for the error it will not retry; Sturdy reports the give-up
      expect(fixture.state.nextSteps).toEqual([1, "GiveUp"])
    }))
})
