/**
 * What the pybreaker ports (`peer-pybreaker-CircuitBreaker.test.ts`, `peer-pybreaker-Redis.test.ts`) share: the
 * Python exception types its tests raise, `breaker.call(f)` as an outcome, `pytest.raises` on it, `fail_counter`, and
 * a `CircuitBreakerListener.state_change` that writes "old->new," per transition.
 */
import { expect } from "@effect/vitest"
import { CircuitBreaker } from "@sturdy/policy"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"

export class NotImplementedError extends Error {
  override name = "NotImplementedError"
}
export class LookupError extends Error {
  override name = "LookupError"
}
export class KeyError extends LookupError {
  override name = "KeyError"
}

/** `CircuitBreaker(**kwargs)`: pybreaker's fail_max 5 unless given (its reset_timeout 60 is Sturdy's default). */
export const pybreakerOptions = (options?: CircuitBreaker.Options): CircuitBreaker.Options => ({
  consecutiveFailures: 5,
  ...options
})

/** `breaker.call(f)`: the call's outcome, the breaker's rejection included. */
export const call = <A, E>(breaker: CircuitBreaker.CircuitBreaker, body: Effect.Effect<A, E>) =>
  Effect.either(CircuitBreaker.withBreaker(body, breaker))

export const err = Effect.fail(new NotImplementedError())
export const suc = Effect.succeed(true)

/** The failure of an outcome (`undefined` for a success). */
export const failureOf = <A, E>(outcome: Either.Either<A, E>): E | undefined =>
  Either.isLeft(outcome) ? outcome.left : undefined

/** `with pytest.raises(NotImplementedError)` */
export const raisesOwn = <A, E>(outcome: Either.Either<A, E>) =>
  expect(failureOf(outcome)).toBeInstanceOf(NotImplementedError)

/** `with pytest.raises(CircuitBreakerError)`: the rejection, returned */
export const raisesOpen = <A, E>(outcome: Either.Either<A, E>) => {
  const failure = failureOf(outcome)
  expect(CircuitBreaker.isCircuitOpen(failure)).toBe(true)
  return failure as CircuitBreaker.CircuitOpen
}

/** `fail_counter` while closed */
export const failCounter = (breaker: CircuitBreaker.CircuitBreaker) =>
  Effect.map(breaker.snapshot, (s) => s.consecutiveFailures)

/**
 * A `state_change` listener subscribed now (for the scope's life): the effect it returns answers what it wrote so
 * far, "old->new," per transition, as the peer's Listener writes them.
 */
export const listen = (breaker: CircuitBreaker.CircuitBreaker) =>
  Effect.gen(function*() {
    let out = ""
    yield* Effect.forkScoped(
      Stream.runForEach(yield* breaker.subscribe, (c) => Effect.sync(() => (out += `${c.from}->${c.to},`)))
    )
    return Effect.map(Effect.repeatN(Effect.yieldNow(), 10), () => out)
  })

/** The peer's "Open the circuit" loop: `failMax` failures (each answers its own failure in Sturdy), then Open. */
export const openWith = (breaker: CircuitBreaker.CircuitBreaker, failMax: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < failMax; i++) raisesOwn(yield* call(breaker, err))
    expect(yield* breaker.state).toBe("Open")
  })
