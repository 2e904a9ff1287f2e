/**
 * Sturdy's spans and metrics exported through OpenTelemetry (`@effect/opentelemetry`'s `NodeSdk`).
 *
 * `Policy` with `telemetry: true` makes one `http.client.request` span per logical call, an `http.client.attempt`
 * child per attempt, and updates the `sturdy_*` metrics. `NodeSdk.layer` turns Effect's tracer into an
 * OpenTelemetry tracer and registers Effect's metric registry as a producer on the metric reader, so any exporter
 * (OTLP, Prometheus, console) receives them. Here both exporters are in memory so the program can print what an
 * exporter would have sent: the span tree (query secrets already `<redacted>` in `url.full`) and the metric points.
 *
 * Run: `pnpm example examples/telemetry-otel.ts`
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { NodeRuntime } from "@effect/platform-node"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type { HrTime } from "@opentelemetry/api"
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  type MetricData,
  PeriodicExportingMetricReader
} from "@opentelemetry/sdk-metrics"
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Policy } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { FaultScript, FaultServer } from "@sturdy/testing"
import { Console, Effect, Layer, Random, Schema } from "effect"
import { pathToFileURL } from "node:url"

const Item = Schema.Struct({ sku: Schema.String, stock: Schema.Number })

const routes = FaultScript.routes({
  "GET /inventory/A-1": FaultScript.sequence(
    FaultScript.status(503),
    FaultScript.status(503),
    FaultScript.json({ sku: "A-1", stock: 4 })
  )
})

// -----------------------------------------------------------------------------
// printing what the exporters received
// -----------------------------------------------------------------------------

const shownAttributes = [
  "url.full",
  "http.response.status_code",
  "error.type",
  "sturdy.outcome",
  "sturdy.attempts",
  "sturdy.attempt",
  "sturdy.delay_ms",
  "sturdy.delay_reason",
  "sturdy.failure_tag"
]

const millis = (time: HrTime): number => time[0] * 1000 + time[1] / 1_000_000

/** The exported spans as an indented tree: name, duration and the attributes a reader cares about. */
export const formatSpanTree = (spans: ReadonlyArray<ReadableSpan>): Array<string> => {
  const lines: Array<string> = []
  const ids = new Set(spans.map((span) => span.spanContext().spanId))
  const childrenOf = (spanId: string) => spans.filter((span) => span.parentSpanContext?.spanId === spanId)
  const visit = (span: ReadableSpan, depth: number) => {
    const indent = "  ".repeat(depth)
    const attributes = shownAttributes.flatMap((key) =>
      span.attributes[key] === undefined ? [] : [`${key}=${String(span.attributes[key])}`]
    )
    const duration = Math.round(millis(span.endTime) - millis(span.startTime))
    lines.push(`${indent}${span.name} (${duration}ms, service ${String(span.resource.attributes["service.name"])})`)
    if (attributes.length > 0) lines.push(`${indent}    ${attributes.join(" ")}`)
    for (const event of span.events.filter((e) => e.name.startsWith("retry"))) {
      const detail = Object.entries(event.attributes ?? {}).map(([k, v]) => `${k}=${String(v)}`).join(" ")
      lines.push(`${indent}    event ${event.name}: ${detail}`)
    }
    const children = childrenOf(span.spanContext().spanId)
      .sort((a, b) => Number(a.attributes["sturdy.attempt"] ?? 0) - Number(b.attributes["sturdy.attempt"] ?? 0))
    for (const child of children) visit(child, depth + 1)
  }
  const roots = spans.filter((span) => span.parentSpanContext === undefined || !ids.has(span.parentSpanContext.spanId))
  for (const root of roots) visit(root, 0)
  return lines
}

/** One line per exported `sturdy_*` data point: name, labels and value. */
export const formatMetricPoints = (metrics: ReadonlyArray<MetricData>): Array<string> =>
  metrics
    .filter((metric) => metric.descriptor.name.startsWith("sturdy_"))
    .flatMap((metric) =>
      metric.dataPoints.map((point) => {
        const labels = Object.entries(point.attributes).map(([k, v]) => `${k}=${String(v)}`).join(",")
        const value = typeof point.value === "number"
          ? String(point.value)
          : `count=${point.value.count} sum=${Math.round(point.value.sum ?? 0)}ms`
        return `${metric.descriptor.name}{${labels}} ${value}`
      })
    )
    .sort()

// -----------------------------------------------------------------------------
// the program
// -----------------------------------------------------------------------------

const calls = Effect.gen(function*() {
  const server = yield* FaultServer.make(routes)
  const client = yield* HttpClient.HttpClient
  // the key travels in the query string: every exported span shows it as <redacted>
  const request = HttpClientRequest.get(`${server.url}/inventory/A-1`, { urlParams: { api_key: "s3cret-otel-key" } })
  const item = yield* Policy.json(client, request, Item)
  const received = yield* server.requests
  yield* Console.log(`GET /inventory/A-1: stock ${item.stock} (the server saw ${received.length} requests)`)
}).pipe(
  Effect.provide(Policy.layer({
    telemetry: true,
    retry: { maxAttempts: 3, baseDelay: "20 millis", maxDelay: "50 millis" }
  })),
  Effect.scoped
)

/** What the exporters received, for a caller (the test) to inspect beyond the printed summary. */
export interface Exported {
  readonly spans: ReadonlyArray<ReadableSpan>
  readonly metrics: ReadonlyArray<MetricData>
}

export const main = Effect.gen(function*() {
  const spanExporter = new InMemorySpanExporter()
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
  // a long interval: the program flushes the reader itself once the calls are done
  const metricReader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 60_000 })
  const OtelLive = NodeSdk.layer(() => ({
    resource: { serviceName: "sturdy-example" },
    spanProcessor: new SimpleSpanProcessor(spanExporter),
    metricReader
  }))

  return yield* Effect.gen(function*() {
    yield* calls
    // read before the SDK layer shuts down (shutting down clears the in-memory exporters)
    yield* Effect.promise(() => metricReader.forceFlush())
    yield* Console.log("\nexported spans:")
    for (const line of formatSpanTree(spanExporter.getFinishedSpans())) yield* Console.log(`  ${line}`)
    const metrics = metricExporter.getMetrics().flatMap((batch) => batch.scopeMetrics.flatMap((s) => s.metrics))
    yield* Console.log("\nexported metric points:")
    for (const line of formatMetricPoints(metrics)) yield* Console.log(`  ${line}`)
    const exported: Exported = { spans: [...spanExporter.getFinishedSpans()], metrics }
    return exported
  }).pipe(Effect.provide(Layer.merge(OtelLive, UndiciHttpClient.layer())))
}).pipe(Effect.withRandom(Random.make(1)))

// runs when executed, not when the test imports `main`
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) NodeRuntime.runMain(main)
