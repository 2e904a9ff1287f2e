import type * as Retry from "@sturdy/policy/Retry"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { advanceToDone } from "./advance.js"

/** A result cats-retry's handler treats as unsuccessful: Sturdy retries typed failures, so it fails with it. */
export class Unsuccessful<A> extends Data.TaggedError("Unsuccessful")<{ readonly value: A }> {}

/** cats-retry's `oneMoreTimeException` and `notWorthRetryingException`. */
export class OneMoreTime extends Data.TaggedError("OneMoreTime") {}
export class NotWorthRetrying extends Data.TaggedError("NotWorthRetrying") {}

/** cats-retry's `RetryDetails.NextStep`: the delay of a retry in milliseconds, or `"GiveUp"`. */
export type NextStep = number | "GiveUp"

/**
 * cats-retry's test fixture: counts attempts, and records what its handler's `log` is told (the result, the
 * `retriesSoFar` and the next step), here from Sturdy's `onAttempt` hook, which is told every failure's decision.
 */
export const makeFixture = <Res>() => {
  const state = {
    attempts: 0,
    results: [] as Array<Res>,
    retryCounts: [] as Array<number>,
    nextSteps: [] as Array<NextStep>
  }
  const incrementAttempts = Effect.sync(() => ++state.attempts)
  const onAttempt = <E>(toResult: (failure: E) => Res) => (attempt: Retry.Attempt<E>) =>
    Effect.sync(() => {
      state.results.push(toResult(attempt.failure))
      // `attempt` is the attempt the decision is about (2 for the first retry): the one that failed is attempt - 1
      state.retryCounts.push(attempt.attempt - 2)
      state.nextSteps.push(attempt.retrying ? Duration.toMillis(attempt.delay) : "GiveUp")
    })
  return { state, incrementAttempts, onAttempt }
}

/** Runs a retrying effect to its end, moving the TestClock to each of its sleeps. */
export const run = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> => Effect.flatten(advanceToDone(effect))

/** cats-retry's result of `retryingOnFailures`: `Right(success)` or `Left(last unsuccessful value)`; errors stay. */
export const valueOrLastFailure = <A, E>(
  self: Effect.Effect<A, E | Unsuccessful<A>>
): Effect.Effect<Either.Either<A, A>, E> =>
  Effect.catchIf(
    Effect.map(self, Either.right),
    (e): e is Unsuccessful<A> => e instanceof Unsuccessful,
    (e) => Effect.succeed(Either.left(e.value))
  ) as Effect.Effect<Either.Either<A, A>, E>

/** A result handler's view of a failure (cats-retry's `Either[Throwable, String]`): an error, or a value. */
export type Outcome = Either.Either<string, string>
export const outcome = (failure: OneMoreTime | NotWorthRetrying | Unsuccessful<string>): Outcome =>
  failure._tag === "Unsuccessful" ? Either.right(failure.value) : Either.left(failure._tag)
