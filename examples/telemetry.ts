/**
 * Telemetry with nothing but Effect's own `Tracer` and `Metric`: one span per logical call with a child span per
 * attempt (OpenTelemetry HTTP attribute names, URLs redacted), `retry` events from `Retry`, and Sturdy's metrics
 * (requests, attempts, retries, breaker transitions and rejections, latency histograms).
 *
 * The pipeline is wired by hand so every hook is visible: `Telemetry.logicalCall` around `Retry.retry` (with
 * `onAttempt: Telemetry.onRetry`) around a `CircuitBreaker` (tracked with `Telemetry.trackBreaker`) around
 * `Telemetry.attempt`. The program installs `TestTracer.make()` from `@sturdy/testing` (an in-memory tracer), makes
 * four calls, and prints the span tree and the metric snapshot. Any OpenTelemetry exporter (`@effect/opentelemetry`) would receive the same spans.
 *
 * Run: `pnpm example examples/telemetry.ts`
 */
import { NodeRuntime } from "@effect/platform-node"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { Attempt, HttpFailure, Telemetry } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { Backoff, CircuitBreaker, Retry } from "@sturdy/policy"
import { FaultScript, FaultServer, TestTracer } from "@sturdy/testing"
import { Console, Effect, Metric, MetricState, Option, Random, Schema } from "effect"
import { pathToFileURL } from "node:url"

const Item = Schema.Struct({ sku: Schema.String, stock: Schema.Number })

const routes = FaultScript.routes({
  "GET /inventory/A-1": FaultScript.sequence(FaultScript.status(503), FaultScript.json({ sku: "A-1", stock: 4 })),
  "GET /inventory/B-2": FaultScript.json({ sku: "B-2", stock: 0 }),
  "GET /inventory/C-3": FaultScript.status(503)
})

// -----------------------------------------------------------------------------
// printing
// -----------------------------------------------------------------------------

const shown = [
  "url.full",
  "http.response.status_code",
  "error.type",
  "sturdy.outcome",
  "sturdy.attempts",
  "sturdy.attempt",
  "sturdy.delay_ms",
  "sturdy.delay_reason",
  "sturdy.breaker_state"
]

const durationOf = (span: TestTracer.CollectedSpan): string =>
  span.status._tag === "Ended" ? `${Number((span.status.endTime - span.status.startTime) / 1_000_000n)}ms` : "open"

const printTree = (collected: TestTracer.TestTracer): Array<string> => {
  const lines: Array<string> = []
  const visit = (span: TestTracer.CollectedSpan, depth: number) => {
    const indent = "  ".repeat(depth)
    const attributes = shown.flatMap((key) =>
      span.attributes.has(key) ? [`${key}=${String(span.attributes.get(key))}`] : []
    )
    lines.push(`${indent}${span.name} (${durationOf(span)})`)
    if (attributes.length > 0) lines.push(`${indent}    ${attributes.join(" ")}`)
    // retry decisions; log lines also become span events, but they are printed by the logger already
    for (const event of span.events.filter((e) => e.name.startsWith("retry"))) {
      const detail = Object.entries(event.attributes).map(([k, v]) => `${k}=${String(v)}`).join(" ")
      lines.push(`${indent}    event ${event.name}: ${detail}`)
    }
    for (const child of collected.children(span)) {
      if (child.name.startsWith("http.client")) visit(child, depth + 1)
    }
  }
  for (const root of collected.spans.filter((s) => s.name.startsWith("http.client.request"))) visit(root, 0)
  return lines
}

const printMetrics = Effect.map(Metric.snapshot, (pairs) =>
  pairs
    .filter((pair) => pair.metricKey.name.startsWith("sturdy_"))
    .map((pair) => {
      const labels = pair.metricKey.tags.map((tag) => `${tag.key}=${tag.value}`).join(",")
      const state = pair.metricState
      const value = MetricState.isCounterState(state)
        ? String(state.count)
        : MetricState.isGaugeState(state)
        ? String(state.value)
        : MetricState.isHistogramState(state)
        ? `count=${state.count} sum=${Math.round(state.sum)}ms max=${Math.round(state.max)}ms`
        : "-"
      return `${pair.metricKey.name}{${labels}} ${value}`
    })
    .sort())

// -----------------------------------------------------------------------------
// the program
// -----------------------------------------------------------------------------

export const main = Effect.gen(function*() {
  const collected = TestTracer.make()
  const server = yield* FaultServer.make(routes)
  const client = yield* HttpClient.HttpClient
  const breaker = yield* CircuitBreaker.make("inventory", { consecutiveFailures: 3 })
  yield* Telemetry.trackBreaker(breaker)
  // let the breaker's subscription start before the first call
  yield* Effect.sleep("10 millis")

  const getItem = (sku: string) => {
    // the key travels in the query string: every span and metric shows it as <redacted>
    const request = HttpClientRequest.get(`${server.url}/inventory/${sku}`, { urlParams: { api_key: "s3cret" } })
    return Telemetry.attempt(request, (ready) => Attempt.json(client, ready, Item)).pipe(
      CircuitBreaker.withBreaker(breaker),
      Retry.retry({
        schedule: Backoff.exponential({ baseDelay: "50 millis", maxAttempts: 3 }),
        while: (e) => e._tag !== "CircuitOpen" && HttpFailure.isTransient(e),
        delayHint: (e) => e._tag === "CircuitOpen" ? Option.none() : HttpFailure.retryAfter(e),
        onAttempt: Telemetry.onRetry
      }),
      Telemetry.logicalCall(request, { upstream: "inventory" }),
      Effect.either
    )
  }

  yield* Effect.gen(function*() {
    for (const sku of ["A-1", "B-2", "C-3", "B-2"]) {
      const result = yield* getItem(sku)
      yield* Console.log(
        `GET /inventory/${sku}: ${result._tag === "Right" ? `stock ${result.right.stock}` : result.left._tag}`
      )
    }
  }).pipe(Effect.withTracer(collected.tracer))
  // breaker transitions are tracked by a background fiber: give it a moment to catch up
  yield* Effect.sleep("20 millis")

  yield* Console.log("\nspans:")
  for (const line of printTree(collected)) yield* Console.log(`  ${line}`)
  yield* Console.log("\nmetrics:")
  for (const line of yield* printMetrics) yield* Console.log(`  ${line}`)
}).pipe(
  Effect.scoped,
  Effect.provide(UndiciHttpClient.layer()),
  Effect.withRandom(Random.make(1))
)

// runs when executed, not when the smoke test imports `main`
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) NodeRuntime.runMain(main)
