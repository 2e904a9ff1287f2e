import type * as AdaptiveThrottle from "@sturdy/policy/AdaptiveThrottle"
import type * as Bulkhead from "@sturdy/policy/Bulkhead"
import type * as CircuitBreaker from "@sturdy/policy/CircuitBreaker"
import type * as ConcurrencyLimit from "@sturdy/policy/ConcurrencyLimit"
import * as Hedge from "@sturdy/policy/Hedge"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as HttpFailure from "../HttpFailure.js"
import type * as P from "../Policy.js"
import * as observe from "./observe.js"
import type * as classification from "./policyClassification.js"

// -----------------------------------------------------------------------------
// observation: the event hook and telemetry
// -----------------------------------------------------------------------------

/** @internal */
export type Hook = (event: P.Event) => Effect.Effect<void>

/** One observed call: where its hooks send events, and the retry stage's current attempt number. */
/** @internal */
export interface Observer {
  readonly key: string
  readonly emit: Hook
  attempt: number
}

/** @internal */
export const bothHooks = (first: Hook | undefined, second: Hook | undefined): Hook | undefined =>
  first === undefined ? second : second === undefined ? first : (event) => Effect.zipRight(first(event), second(event))

const attemptEnded = (
  observer: Observer,
  attempt: number,
  hedge: number,
  exit: Exit.Exit<unknown, HttpFailure.HttpFailure>,
  millis: number
): P.AttemptEnded => {
  let outcome: P.AttemptEnded["outcome"] = "success"
  let status: number | undefined
  let failure: HttpFailure.HttpFailure | undefined
  if (exit._tag === "Success") {
    status = observe.statusOf(exit.value)
  } else {
    const failed = Cause.failureOption(exit.cause)
    if (Option.isSome(failed)) {
      outcome = "failure"
      failure = failed.value
      status = observe.statusOf(failure)
    } else {
      outcome = Cause.isInterruptedOnly(exit.cause) ? "interrupted" : "defect"
    }
  }
  return {
    _tag: "AttemptEnded",
    key: observer.key,
    attempt,
    hedge,
    outcome,
    status,
    failure,
    duration: Duration.millis(Math.max(0, millis)),
    exit
  }
}

// Reports an attempt that passed the breaker and the bulkhead: started, then ended (with its timeout).
/** @internal */
export const observeAttempt = <A, R>(
  self: Effect.Effect<A, HttpFailure.HttpFailure, R>,
  observer: Observer
): Effect.Effect<A, HttpFailure.HttpFailure, R> =>
  Effect.flatMap(FiberRef.get(Hedge.currentIndex), (hedge) =>
    Effect.clockWith((clock) => {
      const attempt = observer.attempt
      const startedAt = clock.unsafeCurrentTimeMillis()
      return Effect.zipRight(
        observer.emit({ _tag: "AttemptStarted", key: observer.key, attempt, hedge }),
        Effect.onExit(
          self,
          (exit) =>
            observer.emit(attemptEnded(observer, attempt, hedge, exit, clock.unsafeCurrentTimeMillis() - startedAt))
        )
      )
    }))

/** @internal */
export const isAttemptRejection = (
  failure: classification.Guarded
): failure is
  | CircuitBreaker.CircuitOpen
  | Bulkhead.BulkheadRejected
  | AdaptiveThrottle.AdaptiveThrottleRejected
  | ConcurrencyLimit.ConcurrencyLimitExceeded => observe.rejections[failure._tag]?.rejects === "attempt"

// Forwards every transition of a registry's breakers to the hook, for as long as the scope lives.
/** @internal */
export const observeBreakers = (
  registry: CircuitBreaker.RegistryService,
  hook: Hook
): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function*() {
    // subscribed before returning: every transition from now on reaches the hook
    const changes = yield* registry.subscribe
    // interruptible whatever the caller's mask (a fiber inherits it): the scope's close stops the loop
    yield* Effect.forkScoped(Effect.interruptible(Stream.runForEach(
      changes,
      (change) => hook({ _tag: "BreakerTransition", key: change.key, from: change.from, to: change.to, at: change.at })
    )))
  })
