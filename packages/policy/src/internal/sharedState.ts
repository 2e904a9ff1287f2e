import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import { shieldedFromCaller } from "./timer.js"

/**
 * Times the local state was used because the shared store (e.g. Redis) did not answer in time: one increment per
 * outage, not per call.
 * @internal
 */
export const fallbacks = Metric.counter("sturdy_shared_state_fallbacks_total", {
  description:
    "Times a retry budget, breaker or bulkhead fell back to this process's local state because its store failed",
  incremental: true
})

/**
 * 1 while a component runs on its local state because the store failed, 0 while it shares.
 * @internal
 */
export const degradedGauge = Metric.gauge("sturdy_shared_state_degraded", {
  description: "1 while a retry budget, breaker or bulkhead uses local state because its shared store is unreachable"
})

/**
 * Runs store operations with a time limit and remembers whether the store answers. The first failure of an
 * outage is reported once (a metric and a warning log line); the first success after it once more (an info line).
 * @internal
 */
export interface Health {
  /** True while the last store operation failed: hot paths then skip the store entirely. */
  readonly degraded: () => boolean
  /** `op` bounded by the timeout; `None` when it failed or timed out (never fails, never waits longer). */
  readonly run: <A, E>(op: Effect.Effect<A, E>) => Effect.Effect<Option.Option<A>>
  /**
   * `run` without the time limit, for a store whose operations are synchronous (a memory store's): one cannot take
   * longer than the timeout, and racing it against a timer is most of what a call costs.
   */
  readonly runSync: <A, E>(op: Effect.Effect<A, E>) => Effect.Effect<Option.Option<A>>
}

/**
 * `recovered`, when given, runs (synchronously, once) at the first success after an outage, before its answer is
 * handed back: e.g. to queue again the writes the outage dropped. Nothing of it runs while the store answers.
 * @internal
 */
export const makeHealth = (component: string, timeout: Duration.Duration, recovered?: () => void): Health => {
  let degraded = false
  const tags = (self: Effect.Effect<void>) =>
    self.pipe(
      Effect.annotateLogs({ "sturdy.component": component }),
      Effect.tagMetrics("component", component)
    )
  const down = tags(Effect.zipRight(
    Effect.all([Metric.increment(fallbacks), Metric.set(degradedGauge, 1)], { discard: true }),
    Effect.logWarning(
      `sturdy: the shared ${component} store failed or timed out; using this process's local state until it answers`
    )
  ))
  const up = tags(Effect.zipRight(
    Metric.set(degradedGauge, 0),
    Effect.logInfo(`sturdy: the shared ${component} store answers again; sharing resumed`)
  ))
  const report = <A>(result: Option.Option<A>): Effect.Effect<Option.Option<A>> => {
    if (Option.isNone(result) && !degraded) {
      degraded = true
      return Effect.as(down, result)
    }
    if (Option.isSome(result) && degraded) {
      degraded = false
      recovered?.()
      return Effect.as(up, result)
    }
    return Effect.succeed(result)
  }
  return {
    degraded: () => degraded,
    run: <A, E>(op: Effect.Effect<A, E>) =>
      op.pipe(
        // interruptible even under a caller's mask (a breaker admits under one), so the timeout always ends it; only
        // the timeout: under a mask it runs in a fiber of its own, or an interruption from outside, which the caller
        // holds off, would end the store's operation and count as the store failing
        Effect.interruptible,
        Effect.timeout(timeout),
        shieldedFromCaller,
        // a defect of the store client counts as the store failing: a call never fails because of the store
        Effect.matchCause({ onFailure: () => Option.none<A>(), onSuccess: Option.some }),
        Effect.flatMap(report)
      ),
    runSync: <A, E>(op: Effect.Effect<A, E>) =>
      op.pipe(
        Effect.matchCause({ onFailure: () => Option.none<A>(), onSuccess: Option.some }),
        Effect.flatMap(report)
      )
  }
}
