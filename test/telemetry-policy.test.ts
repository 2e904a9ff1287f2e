import { HttpClient, HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Policy, SturdyClient } from "@sturdy/http"
import { FaultScript, FaultServer, TestTracer } from "@sturdy/testing"
import { Effect, Metric, MetricState, Option, Schema } from "effect"
import { transports } from "./utils/transports.js"

const counter = (name: string, labels: Record<string, string>) =>
  Effect.map(Metric.snapshot, (pairs) => {
    let total = 0
    for (const pair of pairs) {
      if (pair.metricKey.name !== name) continue
      const tags = new Map(pair.metricKey.tags.map((tag) => [tag.key, tag.value]))
      if (!Object.entries(labels).every(([key, value]) => tags.get(key) === value)) continue
      if (MetricState.isCounterState(pair.metricState)) total += Number(pair.metricState.count)
    }
    return total
  })

describe.each(transports)("Policy with Telemetry over a loopback FaultServer with %s", (_, transport) => {
  it.scopedLive("a 503 then a 200: one logical span, two attempt spans with the retry's wait", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.make(FaultScript.routes({
        "GET /items": FaultScript.sequence(FaultScript.status(503), FaultScript.json({ items: [] }))
      }))
      const { spans, tracer } = TestTracer.make()
      const policy = yield* Policy.make({
        retry: { baseDelay: "10 millis", maxDelay: "10 millis", jitter: "none", budget: false }
      })
      const api = SturdyClient.makeWith(yield* HttpClient.HttpClient, { baseUrl: server.url, policy })
      const received = yield* api.get("/items?api_key=POLICY-SECRET-1").pipe(Effect.withTracer(tracer))
      expect(received.status).toBe(200)

      expect(spans.map((span) => span.name)).toEqual([
        "http.client.request GET",
        "http.client.attempt GET",
        "http.client.attempt GET"
      ])
      const [call, first, second] = spans
      expect(Option.map(first.parent, (parent) => parent.spanId)).toEqual(Option.some(call.spanId))
      expect(Option.map(second.parent, (parent) => parent.spanId)).toEqual(Option.some(call.spanId))
      expect(call.attributes.get("url.full")).toBe(`${server.url}/items?api_key=<redacted>`)
      expect(call.attributes.get("sturdy.attempts")).toBe(2)
      expect(call.attributes.get("http.response.status_code")).toBe(200)
      expect(Object.fromEntries(first.attributes)).toMatchObject({
        "sturdy.attempt": 1,
        "http.response.status_code": 503,
        "error.type": "503"
      })
      expect(Object.fromEntries(second.attributes)).toMatchObject({
        "sturdy.attempt": 2,
        "sturdy.delay_ms": 10,
        "sturdy.delay_reason": "backoff",
        "http.response.status_code": 200
      })
      expect(JSON.stringify(spans.map((span) => Object.fromEntries(span.attributes)))).not.toContain("POLICY-SECRET-1")
      const log = yield* server.requests
      expect(log.map((entry) => entry.headers["traceparent"])).toEqual([
        `00-${first.traceId}-${first.spanId}-01`,
        `00-${second.traceId}-${second.spanId}-01`
      ])
    }).pipe(Effect.provide(transport)))

  it.scopedLive("with telemetry: true and no tracer, calls and attempts are still counted", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.make(FaultScript.routes({
        "GET /items": FaultScript.sequence(FaultScript.status(503), FaultScript.json({ items: [] }))
      }))
      const policy = yield* Policy.make({
        telemetry: true,
        retry: { baseDelay: "10 millis", maxDelay: "10 millis", jitter: "none", budget: false }
      })
      const api = SturdyClient.makeWith(yield* HttpClient.HttpClient, { baseUrl: server.url, policy })
      yield* api.get("/items")
      const host = `127.0.0.1:${server.port}`
      expect(yield* counter("sturdy_http_client_requests_total", { host, outcome: "success" })).toBe(1)
      expect(yield* counter("sturdy_http_client_attempts_total", { host, failure_tag: "ServerError" })).toBe(1)
      expect(yield* counter("sturdy_http_client_attempts_total", { host, outcome: "success" })).toBe(1)
      expect(yield* counter("sturdy_http_client_retries_total", { host, reason: "backoff" })).toBe(1)
    }).pipe(Effect.provide(transport)))

  it.scopedLive("a decoded body: the attempt and call spans still carry the response's status", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.make(FaultScript.routes({
        "GET /users/1": FaultScript.json({ id: 1, status: 3 }, { status: 203 })
      }))
      const { spans, tracer } = TestTracer.make()
      const policy = yield* Policy.make({ retry: { budget: false } })
      const api = SturdyClient.makeWith(yield* HttpClient.HttpClient, { baseUrl: server.url, policy })
      const User = Schema.Struct({ id: Schema.Number, status: Schema.Number })
      const user = yield* api.get("/users/1", { schema: User }).pipe(Effect.withTracer(tracer))
      expect(user).toEqual({ id: 1, status: 3 })
      expect(spans.map((span) => [span.name, span.attributes.get("http.response.status_code")])).toEqual([
        ["http.client.request GET", 203],
        ["http.client.attempt GET", 203]
      ])
    }).pipe(Effect.provide(transport)))

  it.scopedLive("Policy.json (no SturdyClient): the attempt and call spans carry the response's status too", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.make(FaultScript.routes({
        "GET /users/1": FaultScript.sequence(FaultScript.status(503), FaultScript.json({ id: 1 }, { status: 203 }))
      }))
      const { spans, tracer } = TestTracer.make()
      const User = Schema.Struct({ id: Schema.Number })
      const user = yield* Policy.json(
        yield* HttpClient.HttpClient,
        HttpClientRequest.get(`${server.url}/users/1`),
        User
      ).pipe(
        Effect.withTracer(tracer),
        Effect.provide(Policy.layer({ retry: { baseDelay: "10 millis", maxDelay: "10 millis", budget: false } }))
      )
      expect(user).toEqual({ id: 1 })
      expect(spans.map((span) => [span.name, span.attributes.get("http.response.status_code")])).toEqual([
        ["http.client.request GET", 203],
        ["http.client.attempt GET", 503],
        ["http.client.attempt GET", 203]
      ])
    }).pipe(Effect.provide(transport)))
})
