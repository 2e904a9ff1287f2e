/**
 * The OpenTelemetry example: its in-memory exporters receive the logical-call span with three attempt spans, every
 * URL redacted, and Sturdy's metrics.
 */
import { afterEach, describe, expect, it, vi } from "@effect/vitest"
import { Effect } from "effect"
import * as TelemetryOtelExample from "../telemetry-otel.js"

const run = async <A, E>(main: Effect.Effect<A, E>): Promise<{ readonly out: string; readonly result: A }> => {
  const lines: Array<string> = []
  const record = (...args: ReadonlyArray<unknown>) => {
    lines.push(args.map(String).join(" "))
  }
  vi.spyOn(console, "log").mockImplementation(record)
  vi.spyOn(console, "error").mockImplementation(record)
  const result = await Effect.runPromise(main)
  return { out: lines.join("\n"), result }
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe("telemetry-otel example", () => {
  it("exports the span tree, redacted URLs and the sturdy_* metrics", async () => {
    const { out, result } = await run(TelemetryOtelExample.main)
    expect(out).toMatch(/GET \/inventory\/A-1: stock 4 \(the server saw 3 requests\)/)

    const spans = out.slice(out.indexOf("exported spans:"), out.indexOf("exported metric points:")).split("\n")
    const callIndex = spans.findIndex((line) =>
      /^ {2}http\.client\.request GET \(\d+ms, service sturdy-example\)$/.test(line)
    )
    expect(callIndex).toBeGreaterThanOrEqual(0)
    expect(spans[callIndex + 1]).toMatch(/sturdy\.outcome=success sturdy\.attempts=3/)
    // three attempt spans, children of the call (indented one level), in order
    const attempts = spans.filter((line) => /^ {4}http\.client\.attempt GET /.test(line))
    expect(attempts).toHaveLength(3)
    const attemptAttributes = spans.filter((line) => /^ {8}url\.full=/.test(line))
    expect(attemptAttributes).toHaveLength(3)
    expect(attemptAttributes[0]).toMatch(/sturdy\.attempt=1 sturdy\.failure_tag=ServerError/)
    expect(attemptAttributes[0]).toMatch(/http\.response\.status_code=503/)
    expect(attemptAttributes[1]).toMatch(/sturdy\.attempt=2 sturdy\.delay_ms=\d+ sturdy\.delay_reason=backoff/)
    expect(attemptAttributes[1]).toMatch(/sturdy\.failure_tag=ServerError/)
    expect(attemptAttributes[2]).toMatch(/sturdy\.outcome=success sturdy\.attempt=3 sturdy\.delay_ms=\d+/)
    expect(attemptAttributes[2]).not.toMatch(/failure_tag/)
    for (const line of spans.filter((l) => l.includes("url.full="))) {
      expect(line).toMatch(/url\.full=http:\/\/127\.0\.0\.1:\d+\/inventory\/A-1\?api_key=<redacted>/)
    }

    // the key never reaches an exporter (any span name, attribute, event or data point), nor the printed output
    expect(out).not.toMatch(/s3cret/)
    expect(result.spans).toHaveLength(4) // no unredacted platform client span besides ours
    const exportedText = JSON.stringify({
      spans: result.spans.map((span) => ({ name: span.name, attributes: span.attributes, events: span.events })),
      metrics: result.metrics.map((metric) => ({
        name: metric.descriptor.name,
        points: metric.dataPoints.map((point) => point.attributes)
      }))
    })
    expect(exportedText).toContain("api_key=<redacted>")
    expect(exportedText).not.toMatch(/s3cret/)
    const requests = result.metrics.find((metric) => metric.descriptor.name === "sturdy_http_client_requests_total")
    // Effect's metric registry is process-wide: keep to this run's server
    const host = out.match(/host=(127\.0\.0\.1:\d+)/)?.[1]
    expect(requests?.dataPoints.filter((point) => point.attributes.host === host).map((point) => point.value))
      .toEqual([1])

    expect(out).toMatch(
      /sturdy_http_client_requests_total\{method=GET,host=127\.0\.0\.1:\d+,outcome=success,failure_tag=none\} 1/
    )
    expect(out).toMatch(
      /sturdy_http_client_attempts_total\{method=GET,host=127\.0\.0\.1:\d+,outcome=failure,failure_tag=ServerError\} 2/
    )
    expect(out).toMatch(/sturdy_http_client_retries_total\{method=GET,host=127\.0\.0\.1:\d+,reason=backoff\} 2/)
    expect(out).toMatch(
      /sturdy_http_client_request_duration_ms\{method=GET,host=127\.0\.0\.1:\d+,outcome=success\} count=1/
    )
  })
})
