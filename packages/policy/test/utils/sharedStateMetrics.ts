import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"

/** How many outages `component` (`retry_budget`, `circuit_breaker`, `bulkhead`) has reported, from the metric. */
export const fallbacksOf = (component: string): Effect.Effect<number> =>
  Effect.map(Metric.snapshot, (pairs) => {
    const pair = pairs.find((p) =>
      p.metricKey.name === "sturdy_shared_state_fallbacks_total" &&
      p.metricKey.tags.some((t) => t.key === "component" && t.value === component)
    )
    return pair === undefined ? 0 : (pair.metricState as unknown as { count: number }).count
  })
