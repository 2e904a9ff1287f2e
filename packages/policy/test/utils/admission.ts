/**
 * What the ports of breakers with a side-effect-free readiness check (Hystrix's `allowRequest()`, rubyist's `Ready()`)
 * share: a call the breaker admits or rejects and then forgets. The breaker under test must ignore `ReadyCheck`
 * (`isIgnored: isReadyCheck`): the admitted call ends at once with that failure, which is not recorded, and a probe it
 * took frees its slot with the state unchanged; it still publishes Open → HalfOpen when it is the first call after
 * the pause, as any call does.
 */
import { CircuitBreaker } from "@sturdy/policy"
import * as Effect from "effect/Effect"

/** The failure of the readiness check; the breaker under test ignores it. */
export class ReadyCheck extends Error {}

/** `isIgnored` for the breakers under test. */
export const isReadyCheck = (e: unknown): boolean => e instanceof ReadyCheck

/** Whether the breaker admits a call now (without recording one). */
export const admits = (breaker: CircuitBreaker.CircuitBreaker): Effect.Effect<boolean> =>
  CircuitBreaker.withBreaker(Effect.fail(new ReadyCheck()), breaker).pipe(
    Effect.flip,
    Effect.map((e) => !CircuitBreaker.isCircuitOpen(e))
  )
