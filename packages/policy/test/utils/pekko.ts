/**
 * What the Pekko breaker ports (`peer-pekko-CircuitBreaker.test.ts`) share: Pekko's `Breaker` test fixture (a breaker,
 * the transitions its `onOpen` / `onHalfOpen` / `onClose` listeners would have seen, and a call through it bounded by
 * Pekko's `callTimeout`), and its per-call `defineFailureFn`.
 */
import type { CircuitBreaker as CircuitBreakerModule } from "@sturdy/policy"
import { CircuitBreaker, Deadline } from "@sturdy/policy"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Exit from "effect/Exit"
import type * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { advanceToDone } from "./advance.js"

/**
 * The verdict of a per-call `defineFailureFn` (Pekko's `Try[T] => Boolean`) on what the call produced: `value` is
 * the result (`isResult`) or the failure, and `failure` says whether the breaker should count it. The call fails with
 * it inside the breaker, whose `isFailure` reads it (see {@link isFailureWith}), and is answered what it produced
 * outside.
 */
export class Verdict {
  constructor(readonly value: unknown, readonly failure: boolean, readonly isResult: boolean) {}
}

/** A breaker's `isFailure`: a call's `Verdict` when it has one, `otherwise` for any other failure. */
export const isFailureWith = (otherwise: (error: unknown) => boolean) => (error: unknown): boolean =>
  error instanceof Verdict ? error.failure : otherwise(error)

export interface PekkoBreaker {
  readonly breaker: CircuitBreakerModule.CircuitBreaker
  /** The states entered, as published on `subscribe` (Pekko's onOpen / onHalfOpen / onClose). */
  readonly transitions: Array<CircuitBreakerModule.State>
  /**
   * `withCircuitBreaker(body, defineFailureFn)`: `body` bounded by the call timeout (an attempt timeout inside the
   * breaker, so a timeout is a counted failure), through the breaker.
   */
  readonly call: <A, E>(
    body: Effect.Effect<A, E>,
    defineFailureFn?: (result: Either.Either<A, E>) => boolean
  ) => Effect.Effect<A, E | CircuitBreakerModule.CircuitOpen | Deadline.DeadlineExceeded>
}

/** Wraps `breaker` as Pekko's `Breaker` fixture: subscribes to its transitions for as long as the scope lives. */
export const pekkoBreaker = (breaker: CircuitBreakerModule.CircuitBreaker, callTimeout: Duration.DurationInput) =>
  Effect.gen(function*() {
    const transitions: Array<CircuitBreakerModule.State> = []
    const changes = yield* breaker.subscribe
    yield* Effect.forkScoped(Stream.runForEach(changes, (c) => Effect.sync(() => transitions.push(c.to))))
    const call = <A, E>(
      body: Effect.Effect<A, E>,
      defineFailureFn?: (result: Either.Either<A, E>) => boolean
    ): Effect.Effect<A, E | CircuitBreakerModule.CircuitOpen | Deadline.DeadlineExceeded> => {
      const judged: Effect.Effect<A, E | Verdict> = defineFailureFn === undefined ? body : Effect.matchEffect(body, {
        onFailure: (e) => Effect.fail(new Verdict(e, defineFailureFn(Either.left(e)), false)),
        onSuccess: (a) => defineFailureFn(Either.right(a)) ? Effect.fail(new Verdict(a, true, true)) : Effect.succeed(a)
      })
      return CircuitBreaker.withBreaker(Deadline.attemptTimeout(judged, callTimeout), breaker).pipe(
        Effect.catchIf(
          (e): e is Verdict => e instanceof Verdict,
          (v) => v.isResult ? Effect.succeed(v.value as A) : Effect.fail(v.value as E)
        )
      )
    }
    return { breaker, transitions, call } satisfies PekkoBreaker
  })

/**
 * `new CircuitBreaker(scheduler, maxFailures, callTimeout, resetTimeout)`: `consecutiveFailures: maxFailures` and
 * `breakDuration: resetTimeout` (a duration, or a `Schedule` for Pekko's exponential backoff of the reset timeout);
 * every failure counts unless a call's `defineFailureFn` says otherwise.
 */
export const makePekkoBreaker = (
  maxFailures: number,
  callTimeout: Duration.DurationInput,
  resetTimeout: Duration.DurationInput | Schedule.Schedule<unknown, unknown>
) =>
  Effect.flatMap(
    CircuitBreaker.make("pekko", {
      consecutiveFailures: maxFailures,
      breakDuration: resetTimeout,
      isFailure: isFailureWith(() => true)
    }),
    (breaker) => pekkoBreaker(breaker, callTimeout)
  )

/** Lets the fiber that follows the transitions catch up. */
export const settle = Effect.repeatN(Effect.yieldNow(), 10)

/**
 * Runs `effect` to its end, moving the TestClock to each sleep in turn: its exit and the virtual time it took (the
 * elapsed time Pekko's onCallSuccess / onCallFailure / onCallTimeout listeners receive).
 */
export const timedExit = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.map(
    Effect.flatMap(advanceToDone(Effect.timed(Effect.exit(effect))), (done) => done),
    ([elapsed, exit]): readonly [number, Exit.Exit<A, E>] => [Duration.toMillis(elapsed), exit]
  )
