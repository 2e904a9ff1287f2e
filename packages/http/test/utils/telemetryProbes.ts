import type { TestTracer } from "@sturdy/testing"
import { Effect, Metric, MetricState } from "effect"

/** The value of a counter whose labels include all of `labels`, summed over the others; undefined when never set. */
export const counterValue = (name: string, labels: Record<string, string>) =>
  Effect.map(Metric.snapshot, (pairs) => {
    let total: number | undefined
    for (const pair of pairs) {
      if (pair.metricKey.name !== name) continue
      const tags = new Map(pair.metricKey.tags.map((tag) => [tag.key, tag.value]))
      if (!Object.entries(labels).every(([key, value]) => tags.get(key) === value)) continue
      if (MetricState.isCounterState(pair.metricState)) total = (total ?? 0) + Number(pair.metricState.count)
    }
    return total
  })

/** Every span's name, attributes and events as one text, to search for a secret. */
export const renderedSpans = (spans: ReadonlyArray<TestTracer.CollectedSpan>) =>
  JSON.stringify(spans.map((span) => ({
    name: span.name,
    attributes: Object.fromEntries(span.attributes),
    events: span.events
  })))

/** Every label of every metric series, as one text. */
export const renderedLabels = Effect.map(
  Metric.snapshot,
  (pairs) => JSON.stringify(pairs.map((pair) => [pair.metricKey.name, pair.metricKey.tags]))
)
