/**
 * Span and metric cases of OpenTelemetry's HTTP client instrumentations, ported to `Telemetry` as `Policy` and
 * `SturdyClient` run it over a real node:http server on 127.0.0.1 (`test/utils/retryHarness.ts`, `@sturdy/node`'s
 * undici transport), spans collected with `@sturdy/testing`'s `TestTracer`. One `it` per peer case, named after it.
 *
 * Sources:
 * 1. open-telemetry/opentelemetry-js-contrib (commit fd4d8ae8ffbbb21616baa036948b2fb70d289892),
 *    `packages/instrumentation-undici/test/undici.test.ts`, `fetch.test.ts`, `metrics.test.ts` (assertions of
 *    `test/utils/assertSpan.ts`).
 * 2. open-telemetry/opentelemetry-js (commit 61126358cb5cf06a2004151cbad18e79cbede00a),
 *    `experimental/packages/opentelemetry-instrumentation-http/test/functionals/http-enable.test.ts` (client spans)
 *    and `http-metrics.test.ts` (`http.client.request.duration`).
 *
 * Mapping: the peer's one client span is Sturdy's `http.client.attempt {METHOD}` span (kind `client`), under the
 * logical call's `http.client.request {METHOD}` span (kind `internal`); `assertSpan`'s status (UNSET below 400, ERROR
 * from 400) is the span's exit (Success / Failure); the peer's `MockPropagation` headers are `traceparent` (W3C).
 * `http.client.request.duration` is `sturdy_http_client_request_duration_ms` (with
 * `sturdy_http_client_requests_total` for the `error.type` label, named `failure_tag`).
 *
 * Deliberate differences (documented in `Telemetry`; each test says which):
 * - Span names are `http.client.attempt GET` / `http.client.request GET` (`HTTP` for an unknown method), not `GET`.
 * - `error.type` is the status code for a 4xx/5xx, else the failure's `_tag` (`ConnectionError`), not the exception's
 *   class or undici's error code; a transport error is told by the span's failed exit, not an `exception` event.
 * - No `network.peer.*`, `network.protocol.version`, `url.path`, `url.query` or `user_agent.original` attributes
 *   (`url.full`, redacted, holds path and query), and the `sturdy.*` attributes besides.
 * - No header selection (`headersToSpanAttributes`): `Telemetry`'s spans record no header at all; the redacted
 *   `http.client {METHOD}` span `Attempt` makes outside `Telemetry` records every header, secret values replaced.
 * - `http.request.method_original` only when it differs from `http.request.method` (the conventions' wording).
 * - Metrics are Effect `Metric`s named `sturdy_http_client_*`, durations in milliseconds with `Telemetry`'s
 *   boundaries (5 doubling to 40,960; the peers' sources advise 0.005 ... 10 s, which no peer test asserts), labels
 *   `method`, `host` (`server.address:port`), `outcome`, `failure_tag`; recorded without a tracer only with `Policy`'s
 *   `telemetry: true`.
 * - User info is dropped from `url.full` rather than written `REDACTED:REDACTED`.
 *
 * Not ported: hooks and options Sturdy has no counterpart for (`ignoreRequestHook`, `requestHook`, `startSpanHook`,
 * `responseHook`, `requireParentforSpans`, enable/disable, the hooks-that-throw cases); the undici `stream` and
 * `dispatch` API cases and the user-agent cases (undici client APIs, not HTTP behaviour); fetch's "should not
 * record error if fetch response body is cancelled" (an attempt reads the body, so there is none left to cancel); the
 * server-span cases and the node `http.request` option cases of instrumentation-http.
 */
import { HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Attempt, Telemetry } from "@sturdy/http"
import { TestTracer } from "@sturdy/testing"
import { Cause, Effect, Exit, Metric, MetricState } from "effect"
import * as RawServer from "./utils/rawServer.js"
import { failureOf, type Handler, send, setup } from "./utils/retryHarness.js"

const okBody = `{"success":true}`
const ok: Handler = (_, response) => send(response, 200, { "content-type": "application/json" }, okBody)

/** the attributes of a span, as a plain record */
const attributesOf = (span: TestTracer.CollectedSpan) => Object.fromEntries(span.attributes)

/** whether a span ended with a failure (the peer's `SpanStatusCode.ERROR`) */
const failed = (span: TestTracer.CollectedSpan) => span.status._tag === "Ended" && Exit.isFailure(span.status.exit)

/** every span, its attributes, events and exit, as text: to look for secrets */
const everything = (spans: ReadonlyArray<TestTracer.CollectedSpan>) =>
  JSON.stringify(spans.map((span) => ({
    name: span.name,
    attributes: attributesOf(span),
    events: span.events,
    exit: span.status._tag === "Ended" ? String(span.status.exit) : undefined
  })))

const series = (name: string, host: string) =>
  Effect.map(Metric.snapshot, (pairs) =>
    pairs
      .filter((pair) =>
        pair.metricKey.name === name && pair.metricKey.tags.some((tag) => tag.key === "host" && tag.value === host)
      )
      .map((pair) => ({
        labels: Object.fromEntries(pair.metricKey.tags.map((tag) => [tag.key, tag.value])),
        state: pair.metricState
      })))

const hostOf = (url: string) => new URL(url).host

describe("instrumentation-undici: undici.test.ts", () => {
  it.scoped("should create valid spans for different request methods", () =>
    Effect.gen(function*() {
      // a raw TCP server: node:http's parser refuses a lower-case or unknown method with its own 400
      const raw = yield* RawServer.start({
        "/": (socket) => socket.end("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}")
      })
      const h = yield* setup(ok, { retry: false })
      const { spans, tracer } = TestTracer.make()
      for (const method of ["get", "custom", "QUERY"]) {
        const request = HttpClientRequest.make(method as "GET")(`${raw.url}/?query=test`)
        const exit = yield* h.run(h.api.execute(request).pipe(Effect.withTracer(tracer)))
        expect(Exit.isSuccess(exit)).toBe(true)
      }
      const attempts = spans.filter((span) => span.name.startsWith("http.client.attempt"))
      // the peer names them `GET`, `HTTP`, `QUERY`
      expect(attempts.map((span) => span.name)).toEqual([
        "http.client.attempt GET",
        "http.client.attempt HTTP",
        "http.client.attempt QUERY"
      ])
      expect(attempts.map((span) => span.kind)).toEqual(["client", "client", "client"])
      expect(attempts.map((span) => attributesOf(span)["http.request.method"])).toEqual(["GET", "_OTHER", "QUERY"])
      // the method as sent, when it is not `http.request.method` (the peer records it for `QUERY` too, equal to it)
      expect(attempts.map((span) => attributesOf(span)["http.request.method_original"])).toEqual([
        "get",
        "custom",
        undefined
      ])
      expect(raw.requests.map((seen) => seen.method)).toEqual(["get", "custom", "QUERY"])
      // propagation is set for instrumented requests
      expect(raw.requests.map((seen) => seen.headers["traceparent"])).toEqual(
        attempts.map((span) => `00-${span.traceId}-${span.spanId}-01`)
      )
      for (const span of attempts) {
        expect(attributesOf(span)).toMatchObject({
          "url.full": `${raw.url}/?query=test`,
          "server.address": "127.0.0.1",
          "server.port": raw.port,
          "http.response.status_code": 200
        })
        expect(failed(span)).toBe(false)
      }
    }))

  it.scoped("should create valid spans for \"request\" method", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response) =>
        send(response, 200, { "content-type": "application/json", "foo-server": "bar" }, `{"success":true}`), {
        retry: false
      })
      const { spans, tracer } = TestTracer.make()
      const exit = yield* h.run(
        h.api.get("/?query=test", { headers: { "user-agent": "custom", "foo-client": "bar" } }).pipe(
          Effect.withTracer(tracer)
        )
      )
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(spans.map((span) =>
        span.name
      )).toEqual(["http.client.request GET", "http.client.attempt GET"])
      const [call, attempt] = spans
      expect(call.kind).toBe("internal")
      expect(attempt.kind).toBe("client")
      expect(attempt.traceId).toHaveLength(32)
      expect(attempt.spanId).toHaveLength(16)
      expect(attempt.links).toHaveLength(0)
      expect(attributesOf(attempt)).toMatchObject({
        "http.request.method": "GET",
        "url.full": `${h.url}/?query=test`,
        "server.address": "127.0.0.1",
        "server.port": Number(new URL(h.url).port),
        "http.response.status_code": 200
      })
      expect(String(attributesOf(attempt)["url.full"])).toContain(String(attributesOf(attempt)["server.address"]))
      expect(failed(attempt)).toBe(false)
      expect(h.seen[0]!.headers["traceparent"]).toBe(`00-${attempt.traceId}-${attempt.spanId}-01`)
      // no header capture in Sturdy: the peer's `http.request.header.foo-client` / `http.response.header.foo-server`
      expect(Object.keys(attributesOf(attempt)).filter((key) => key.includes(".header."))).toEqual([])
    }))

  it.scoped("should capture errors while doing request", () =>
    Effect.gen(function*() {
      const secret = "UNDICI-ERROR-TOKEN-91c2"
      const h = yield* setup((_, response) => response.destroy(), { retry: false })
      const { spans, tracer } = TestTracer.make()
      const exit = yield* h.run(h.api.get(`/error?access_token=${secret}`).pipe(Effect.withTracer(tracer)))
      expect(failureOf(exit)._tag).toBe("ConnectionError")
      const attempt = spans.find((span) => span.name === "http.client.attempt GET")!
      expect(failed(attempt)).toBe(true)
      // the peer: `error.type` is the exception, an `exception` event; Sturdy: the failure's tag, the failed exit
      expect(attributesOf(attempt)).toMatchObject({
        "http.request.method": "GET",
        "server.address": "127.0.0.1",
        "url.full": `${h.url}/error?access_token=<redacted>`,
        "error.type": "ConnectionError"
      })
      expect(attributesOf(attempt)["http.response.status_code"]).toBeUndefined()
      expect(everything(spans)).not.toContain(secret)
    }))

  it.scoped("should create valid span if request.path is a full URL", () =>
    Effect.gen(function*() {
      const h = yield* setup(ok, { retry: false })
      const { spans, tracer } = TestTracer.make()
      const fullUrl = `${h.url}/?query=test`
      const exit = yield* h.run(h.api.get(fullUrl).pipe(Effect.withTracer(tracer)))
      expect(Exit.isSuccess(exit)).toBe(true)
      const attempt = spans.find((span) => span.name === "http.client.attempt GET")!
      expect(attributesOf(attempt)["url.full"]).toBe(fullUrl)
      expect(attributesOf(attempt)["http.response.status_code"]).toBe(200)
    }))
})

describe("instrumentation-undici: fetch.test.ts", () => {
  it.scoped("should capture errors using fetch API", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response) => response.destroy(), { retry: false })
      const { spans, tracer } = TestTracer.make()
      const exit = yield* h.run(h.api.get("/error").pipe(Effect.withTracer(tracer)))
      expect(failureOf(exit)._tag).toBe("ConnectionError")
      expect(spans.map((span) => span.name)).toEqual(["http.client.request GET", "http.client.attempt GET"])
      for (const span of spans) {
        expect(failed(span)).toBe(true)
        expect(attributesOf(span)["error.type"]).toBe("ConnectionError")
      }
    }))

  it.scoped("should not record abort as an error if fetch request is aborted", () =>
    Effect.gen(function*() {
      // the server never answers; the call is interrupted (Sturdy's abort)
      const h = yield* setup(() => {}, { retry: false, attemptTimeout: "1 hour", totalTimeout: "1 hour" })
      const { spans, tracer } = TestTracer.make()
      const exit = yield* h.run(
        h.api.get("/hang").pipe(
          Effect.withTracer(tracer),
          Effect.timeoutTo({
            duration: "10 millis",
            onTimeout: () => "aborted" as const,
            onSuccess: () => "answered" as const
          })
        )
      )
      expect(exit).toEqual(Exit.succeed("aborted"))
      const attempt = spans.find((span) => span.name === "http.client.attempt GET")!
      expect(attributesOf(attempt)["sturdy.outcome"]).toBe("interrupted")
      expect(attributesOf(attempt)["error.type"]).toBeUndefined()
      // no failure recorded: the span ends interrupted, not with an error (the peer: status UNSET, no event)
      expect(
        attempt.status._tag === "Ended" && Exit.isFailure(attempt.status.exit) &&
          Cause.isInterruptedOnly(attempt.status.exit.cause)
      ).toBe(true)
      expect(attempt.events).toEqual([])
    }))

  it.scoped("should still record genuine errors as errors", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response) => response.destroy(), { retry: false })
      const { spans, tracer } = TestTracer.make()
      const exit = yield* h.run(h.api.get("/error").pipe(Effect.withTracer(tracer)))
      expect(Exit.isFailure(exit)).toBe(true)
      const attempt = spans.find((span) => span.name === "http.client.attempt GET")!
      // the peer: status ERROR and one `exception` event; Sturdy: the span's exit is the typed failure
      expect(attempt.status._tag === "Ended" && Exit.isFailure(attempt.status.exit)).toBe(true)
      expect(
        attempt.status._tag === "Ended" && Exit.isFailure(attempt.status.exit) &&
          Cause.isInterruptedOnly(attempt.status.exit.cause)
      ).toBe(false)
      expect(attributesOf(attempt)["error.type"]).toBe("ConnectionError")
    }))
})

describe("instrumentation-undici: metrics.test.ts", () => {
  it.scoped("should report \"http.client.request.duration\" metric", () =>
    Effect.gen(function*() {
      const h = yield* setup(ok, { retry: false, telemetry: true })
      expect(Exit.isSuccess(yield* h.run(h.api.get("/?query=test")))).toBe(true)
      const points = yield* series("sturdy_http_client_request_duration_ms", hostOf(h.url))
      // the peer: `http.client.request.duration`, unit `s`, attributes url.scheme, http.request.method,
      // server.address, server.port, http.response.status_code; Sturdy: milliseconds, these labels
      expect(points).toHaveLength(1)
      expect(points[0]!.labels).toMatchObject({ method: "GET", host: hostOf(h.url), outcome: "success" })
      const state = points[0]!.state
      expect(MetricState.isHistogramState(state) && state.count).toBe(1)
      expect(MetricState.isHistogramState(state) && state.buckets.map(([bound]) => bound)).toEqual([
        ...Telemetry.latencyBoundaries,
        Number.POSITIVE_INFINITY
      ])
      // no query, path or URL in any label
      expect(JSON.stringify(points[0]!.labels)).not.toContain("query")
    }))

  it.scoped("should use error code as error.type in \"http.client.request.duration\" metric", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response) => response.destroy(), { retry: false, telemetry: true })
      expect(Exit.isFailure(yield* h.run(h.api.get("/error")))).toBe(true)
      const requests = yield* series("sturdy_http_client_requests_total", hostOf(h.url))
      // the peer: `error.type` `UND_ERR_SOCKET`; Sturdy: `failure_tag` `TransportError`
      expect(requests.map((point) => point.labels)).toEqual([
        expect.objectContaining({ method: "GET", outcome: "failure", failure_tag: "ConnectionError" })
      ])
      const durations = yield* series("sturdy_http_client_request_duration_ms", hostOf(h.url))
      expect(durations.map((point) => point.labels)).toEqual([
        expect.objectContaining({ method: "GET", outcome: "failure" })
      ])
    }))
})

describe("instrumentation-http: http-enable.test.ts (client spans)", () => {
  for (const code of [400, 401, 403, 404, 429, 501, 503, 504, 500, 505, 597]) {
    it.scoped(`should test span for GET requests with http error ${code}`, () =>
      Effect.gen(function*() {
        const h = yield* setup((_, response) => send(response, code, {}, String(code)), { retry: false })
        const { spans, tracer } = TestTracer.make()
        const exit = yield* h.run(h.api.get("/outgoing/rootSpan/1").pipe(Effect.withTracer(tracer)))
        expect(Exit.isFailure(exit)).toBe(true)
        expect(h.seen).toHaveLength(1)
        const attempt = spans.find((span) => span.name === "http.client.attempt GET")!
        expect(attempt.kind).toBe("client")
        expect(attributesOf(attempt)).toMatchObject({
          "http.request.method": "GET",
          "http.response.status_code": code,
          "error.type": String(code),
          "server.address": "127.0.0.1"
        })
        // status ERROR from 400 on a client span
        expect(failed(attempt)).toBe(true)
      }))
  }

  it.scoped("should generate semconv 1.27 client spans", () =>
    Effect.gen(function*() {
      const h = yield* setup(ok, { retry: false })
      const { spans, tracer } = TestTracer.make()
      expect(Exit.isSuccess(yield* h.run(h.api.get("/test").pipe(Effect.withTracer(tracer))))).toBe(true)
      const attempt = spans.find((span) => span.name === "http.client.attempt GET")!
      // the peer's exact set has network.peer.address/port and network.protocol.version, which Sturdy does not
      // record; the `sturdy.*` attributes are Sturdy's own. The body sizes are opt-in in the conventions (the peer
      // records them only when asked): Sturdy records them on every traced attempt (see Telemetry's "Body sizes")
      const standard = Object.fromEntries(
        Object.entries(attributesOf(attempt)).filter(([key]) => !key.startsWith("sturdy."))
      )
      expect(standard).toEqual({
        "http.request.method": "GET",
        "server.address": "127.0.0.1",
        "server.port": Number(new URL(h.url).port),
        "url.full": `${h.url}/test`,
        "http.response.status_code": 200,
        "http.request.body.size": 0,
        "http.response.body.size": Buffer.byteLength(okBody)
      })
    }))

  it.scoped("should redact auth from the `url.full` attribute (client side and server side)", () =>
    Effect.gen(function*() {
      const h = yield* setup(ok, { retry: false })
      const { spans, tracer } = TestTracer.make()
      const withAuth = h.url.replace("http://", "http://user:pass@")
      expect(Exit.isSuccess(yield* h.run(h.api.get(`${withAuth}/test`).pipe(Effect.withTracer(tracer))))).toBe(true)
      // the user info is sent (as Basic credentials) but never recorded
      expect(h.seen[0]!.headers["authorization"]).toBe(`Basic ${Buffer.from("user:pass").toString("base64")}`)
      for (const span of spans) {
        // the peer: `http://REDACTED:REDACTED@host:port/test`; Sturdy drops the user info
        expect(attributesOf(span)["url.full"]).toBe(`${h.url}/test`)
      }
      expect(everything(spans)).not.toContain("pass@")
      expect(everything(spans)).not.toContain(Buffer.from("user:pass").toString("base64"))
    }))

  it.scoped("should accept QUERY as a known HTTP req method", () =>
    Effect.gen(function*() {
      const h = yield* setup(ok, { retry: false })
      const { spans, tracer } = TestTracer.make()
      const exit = yield* h.run(h.api.query("/hi", { body: {} }).pipe(Effect.withTracer(tracer)))
      expect(Exit.isSuccess(exit)).toBe(true)
      const attempt = spans.find((span) => span.name.startsWith("http.client.attempt"))!
      expect(attempt.kind).toBe("client")
      expect(attributesOf(attempt)["http.request.method"]).toBe("QUERY")
    }))
})

describe("instrumentation-http: http-enable.test.ts (capturing headers as span attributes)", () => {
  it.scoped("should convert headers to span attributes", () =>
    Effect.gen(function*() {
      const secret = "HEADER-CAPTURE-BEARER-5e1f"
      const cookie = "session=HEADER-CAPTURE-COOKIE-77ab"
      const h = yield* setup((_, response) =>
        send(response, 200, { "X-ServeR-header1": "server123", "set-cookie": cookie }, "Test Server Response"), {
        retry: false
      })
      const { spans, tracer } = TestTracer.make()
      // outside `Telemetry` (no Policy, no logical call), `Attempt` replaces the platform's client span with its
      // redacted `http.client GET` span, which records every header (no `headersToSpanAttributes` selection), as
      // one string (the peer: an array), secret ones replaced
      const request = HttpClientRequest.get(`${h.url}/test`, {
        headers: { "X-client-header1": "client123", authorization: `Bearer ${secret}` }
      })
      const received = yield* Attempt.send(h.platform, request).pipe(Effect.withTracer(tracer))
      expect(received.status).toBe(200)
      expect(spans.map((span) =>
        span.name
      )).toEqual(["http.client GET"])
      const [span] = spans
      expect(span.kind).toBe("client")
      expect(attributesOf(span)).toMatchObject({
        "http.request.header.x-client-header1": "client123",
        "http.request.header.authorization": "<redacted>",
        "http.response.header.x-server-header1": "server123",
        "http.response.header.set-cookie": "<redacted>",
        "http.response.status_code": 200
      })
      expect(h.seen[0]!.headers["traceparent"]).toBe(`00-${span.traceId}-${span.spanId}-01`)
      expect(everything(spans)).not.toContain(secret)
      expect(everything(spans)).not.toContain("HEADER-CAPTURE-COOKIE")
    }))
})

describe("instrumentation-http: http-metrics.test.ts (client)", () => {
  it.scoped("should add server and client metrics", () =>
    Effect.gen(function*() {
      const h = yield* setup(ok, { retry: false, telemetry: true })
      const requestCount = 3
      for (let i = 0; i < requestCount; i++) expect(Exit.isSuccess(yield* h.run(h.api.get("/test")))).toBe(true)
      const points = yield* series("sturdy_http_client_request_duration_ms", hostOf(h.url))
      expect(points).toHaveLength(1)
      expect(points[0]!.labels).toEqual({ method: "GET", host: hostOf(h.url), outcome: "success" })
      const state = points[0]!.state
      expect(MetricState.isHistogramState(state) && state.count).toBe(requestCount)
    }))

  it.scoped("should set error type attribute on metrics for client/server errors", () =>
    Effect.gen(function*() {
      const h = yield* setup((seen, response) => send(response, seen.path.endsWith("/client") ? 400 : 500), {
        retry: false,
        telemetry: true
      })
      expect(Exit.isFailure(yield* h.run(h.api.get("/test/error/client")))).toBe(true)
      expect(Exit.isFailure(yield* h.run(h.api.get("/test/error/server")))).toBe(true)
      const requests = yield* series("sturdy_http_client_requests_total", hostOf(h.url))
      // the peer's `error.type` `400` / `500` with `http.response.status_code`; Sturdy's `failure_tag`
      expect(requests.map((point) => point.labels.failure_tag).sort()).toEqual(["ClientError", "ServerError"])
      const durations = yield* series("sturdy_http_client_request_duration_ms", hostOf(h.url))
      expect(durations.map((point) => point.labels.outcome)).toEqual(["failure"])
      const state = durations[0]!.state
      expect(MetricState.isHistogramState(state) && state.count).toBe(2)
    }))
})

// Not a peer case: no test of the peers above sets `http.request.resend_count`; this checks the attribute's definition
// in OpenTelemetry's HTTP semantic conventions (the ordinal number of the resend, set on each resent request and not
// on the first).
describe("semantic conventions: http.request.resend_count", () => {
  it.scoped("a 503 then a 200 through Policy's retry: resend_count 1 on the second attempt only", () =>
    Effect.gen(function*() {
      const secret = "RESEND-SIGNATURE-0d3e"
      const h = yield* setup((_, response, count) => send(response, count === 1 ? 503 : 200, {}, "{}"), {
        retry: { baseDelay: "10 millis", maxDelay: "10 millis", jitter: "none" }
      })
      const { spans, tracer } = TestTracer.make()
      const exit = yield* h.run(h.api.get(`/r?X-Goog-Signature=${secret}`).pipe(Effect.withTracer(tracer)))
      expect(Exit.isSuccess(exit)).toBe(true)
      const attempts = spans.filter((span) => span.name === "http.client.attempt GET")
      expect(attempts.map((span) => attributesOf(span)["http.request.resend_count"])).toEqual([undefined, 1])
      expect(attempts.map((span) => attributesOf(span)["http.response.status_code"])).toEqual([503, 200])
      expect(attempts.map((span) => attributesOf(span)["error.type"])).toEqual(["503", undefined])
      expect(attempts.map(failed)).toEqual([true, false])
      expect(h.seen.map((seen) => seen.headers["traceparent"])).toEqual(
        attempts.map((span) => `00-${span.traceId}-${span.spanId}-01`)
      )
      expect(everything(spans)).not.toContain(secret)
      expect(attributesOf(attempts[0]!)["url.full"]).toBe(`${h.url}/r?X-Goog-Signature=<redacted>`)
    }))
})
