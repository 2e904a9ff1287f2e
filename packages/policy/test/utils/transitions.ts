/**
 * What the breaker ports that watch a breaker's transitions share (rezilience's `stateChanges` queue, failsafe-go's
 * `OnStateChanged`): the transitions published on `subscribe` from now on, for as long as the scope lives.
 */
import type { CircuitBreaker } from "@sturdy/policy"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"

/** The transitions published from now on, in order, as they arrive (read after `settle`). */
export const recordTransitions = (breaker: CircuitBreaker.CircuitBreaker) =>
  Effect.gen(function*() {
    const published: Array<CircuitBreaker.StateChange> = []
    yield* Effect.forkScoped(Stream.runForEach(yield* breaker.subscribe, (c) => Effect.sync(() => published.push(c))))
    return published
  })

/** A few turns of the scheduler, for the recording fiber to take in what was published. */
export const settle = Effect.repeatN(Effect.yieldNow(), 10)
