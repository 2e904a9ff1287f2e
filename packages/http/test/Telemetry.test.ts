import { HttpClient, HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Attempt, HttpFailure, Policy, Telemetry } from "@sturdy/http"
import { Bulkhead, CircuitBreaker, Hedge, Retry, RetryBudget } from "@sturdy/policy"
import { TestTracer } from "@sturdy/testing"
import {
  Duration,
  Effect,
  Fiber,
  FiberRef,
  HashMap,
  Inspectable,
  Logger,
  LogLevel,
  Metric,
  MetricState,
  Option,
  Ref,
  Schedule,
  Schema,
  TestClock
} from "effect"
import { closesWhenMadeMasked } from "../../policy/test/utils/closesWhenMadeMasked.js"
import { renderedSpans } from "./utils/telemetryProbes.js"

// -----------------------------------------------------------------------------
// a logger that keeps every line, metric readers (spans are kept by TestTracer)
// -----------------------------------------------------------------------------

const makeLogger = () => {
  const lines: Array<{ readonly level: string; readonly text: string }> = []
  const logger = Logger.make(({ annotations, logLevel, message }) => {
    // as Effect's own loggers render: `Redactable` values (platform `Headers`) see the fiber's redacted names
    const annotated = Inspectable.stringifyCircular(Object.fromEntries(HashMap.toEntries(annotations)))
    lines.push({ level: logLevel.label, text: `${Inspectable.stringifyCircular(message)} ${annotated}` })
  })
  return { lines, layer: Logger.replace(Logger.defaultLogger, logger) }
}

/**
 * The value of a counter or gauge (a histogram's count) whose labels include all of `labels`, summed over the other
 * labels; `undefined` when no such metric was ever updated.
 */
const metricValue = (name: string, labels: Record<string, string>) =>
  Effect.map(Metric.snapshot, (pairs) => {
    let total: number | undefined
    for (const pair of pairs) {
      if (pair.metricKey.name !== name) continue
      const tags = new Map(pair.metricKey.tags.map((tag) => [tag.key, tag.value]))
      if (!Object.entries(labels).every(([key, value]) => tags.get(key) === value)) continue
      const state = pair.metricState
      total ??= 0
      if (MetricState.isCounterState(state)) total += Number(state.count)
      else if (MetricState.isGaugeState(state)) total += Number(state.value)
      else if (MetricState.isHistogramState(state)) total += state.count
    }
    return total
  })

/** Lets the breaker's `changes` subscriber (another fiber) take the transitions published so far. */
const settle = Effect.repeatN(Effect.yieldNow(), 50)

// -----------------------------------------------------------------------------
// a scripted transport
// -----------------------------------------------------------------------------

interface Reply {
  readonly status: number
  readonly body?: string
  readonly headers?: Record<string, string>
}

const scriptedClient = (replies: ReadonlyArray<Reply>) =>
  Effect.map(Ref.make<ReadonlyArray<HttpClientRequest.HttpClientRequest>>([]), (seen) => {
    let next = 0
    const client = HttpClient.make((request) =>
      Effect.flatMap(Ref.update(seen, (all) => [...all, request]), () => {
        const reply = replies[Math.min(next++, replies.length - 1)]
        return Effect.succeed(HttpClientResponse.fromWeb(
          request,
          new Response(reply.body ?? "{}", {
            status: reply.status,
            headers: { "content-type": "application/json", ...reply.headers }
          })
        ))
      })
    )
    return { client, seen }
  })

/** Runs a call through Retry (spaced 100 ms) inside a logical call, moving the TestClock along. */
const callWithRetry = <A, E>(
  request: HttpClientRequest.HttpClientRequest,
  send: (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<A, E>,
  retryable: (failure: E) => boolean = () => true
) =>
  Effect.gen(function*() {
    const fiber = yield* Telemetry.attempt(request, send).pipe(
      Retry.retry({ schedule: Schedule.spaced("100 millis"), while: retryable, onAttempt: Telemetry.onRetry }),
      Telemetry.logicalCall(request),
      Effect.exit,
      Effect.fork
    )
    for (let step = 0; step < 10; step++) yield* TestClock.adjust("100 millis")
    return yield* Fiber.join(fiber)
  })

// -----------------------------------------------------------------------------
// tests
// -----------------------------------------------------------------------------

describe("Telemetry", () => {
  it.effect("a 503 then a 200 through Retry: one logical span with two attempt spans under it", () =>
    Effect.gen(function*() {
      const { spans, tracer } = TestTracer.make()
      const { client, seen } = yield* scriptedClient([{ status: 503 }, { status: 200, body: "{\"ok\":true}" }])
      const request = HttpClientRequest.get("https://api.example.test/items")
      const exit = yield* callWithRetry(request, (ready) => Attempt.send(client, ready), HttpFailure.isTransient).pipe(
        Effect.withTracer(tracer)
      )
      expect(exit._tag).toBe("Success")

      // our two levels only: the platform's own client span is disabled under the attempt span
      expect(spans.map((span) => span.name)).toEqual([
        "http.client.request GET",
        "http.client.attempt GET",
        "http.client.attempt GET"
      ])
      const [call, first, second] = spans
      // the attempts are the client spans; the logical call around them is internal (OpenTelemetry's conventions)
      expect(call.kind).toBe("internal")
      expect(first.kind).toBe("client")
      expect(Option.map(first.parent, (parent) => parent.spanId)).toEqual(Option.some(call.spanId))
      expect(Option.map(second.parent, (parent) => parent.spanId)).toEqual(Option.some(call.spanId))
      expect(Object.fromEntries(call.attributes)).toMatchObject({
        "http.request.method": "GET",
        "url.full": "https://api.example.test/items",
        "server.address": "api.example.test",
        "server.port": 443,
        "http.response.status_code": 200,
        "sturdy.outcome": "success",
        "sturdy.attempts": 2
      })
      expect(call.attributes.has("error.type")).toBe(false)
      expect(call.events.map((event) => event.name)).toEqual(["retry"])
      expect(Object.fromEntries(first.attributes)).toMatchObject({
        "sturdy.attempt": 1,
        "sturdy.hedge_index": 0,
        "http.response.status_code": 503,
        "error.type": "503",
        "sturdy.failure_tag": "ServerError",
        "sturdy.outcome": "failure"
      })
      expect(first.attributes.has("sturdy.delay_ms")).toBe(false)
      expect(Object.fromEntries(second.attributes)).toMatchObject({
        "sturdy.attempt": 2,
        "http.request.resend_count": 1,
        "sturdy.delay_ms": 100,
        "sturdy.delay_reason": "backoff",
        "http.response.status_code": 200,
        "sturdy.outcome": "success"
      })
      expect(second.attributes.has("error.type")).toBe(false)
      expect(spans.every((span) => span.status._tag === "Ended")).toBe(true)

      // each attempt carried its own span's trace context
      const sent = yield* Ref.get(seen)
      expect(sent.map((request) => request.headers["traceparent"])).toEqual([
        `00-${first.traceId}-${first.spanId}-01`,
        `00-${second.traceId}-${second.spanId}-01`
      ])
    }))

  it.effect("no secret in any span attribute, event or log line", () =>
    Effect.gen(function*() {
      const { spans, tracer } = TestTracer.make()
      const { lines, layer } = makeLogger()
      const { client } = yield* scriptedClient([
        { status: 503, body: "{\"access_token\":\"BODY-SECRET-1\"}" },
        { status: 401, body: "{\"error\":\"nope\"}", headers: { "set-cookie": "session=COOKIE-SECRET-2" } }
      ])
      const request = HttpClientRequest.get(
        "https://user:USERINFO-SECRET-3@api.example.test/v1/items?api_key=QUERY-SECRET-4",
        {
          urlParams: { access_token: "PARAM-SECRET-5", page: "2" },
          headers: { authorization: "Bearer HEADER-SECRET-6", "x-api-key": "HEADER-SECRET-7" }
        }
      )
      const exit = yield* callWithRetry(request, (ready) => Attempt.send(client, ready), HttpFailure.isTransient).pipe(
        Effect.withTracer(tracer),
        Effect.provide(layer),
        Logger.withMinimumLogLevel(LogLevel.All)
      )
      expect(exit._tag).toBe("Failure")
      expect(spans).toHaveLength(3)
      expect(spans[0].attributes.get("url.full")).toBe(
        "https://api.example.test/v1/items?api_key=<redacted>&access_token=<redacted>&page=2"
      )
      expect(spans[0].attributes.get("error.type")).toBe("401")
      expect(spans[0].attributes.get("sturdy.failure_tag")).toBe("ClientError")
      // the call's failure is logged at warning level, the failed attempts at debug level
      expect(lines.filter((line) => line.level === "WARN")).toHaveLength(1)
      expect(lines.some((line) => line.level === "DEBUG" && line.text.includes("attempt 1 failed"))).toBe(true)
      expect(lines.some((line) => line.text.includes("api_key=<redacted>"))).toBe(true)
      const everything = renderedSpans(spans) + lines.map((line) => line.text).join("\n")
      for (const secret of ["SECRET-1", "SECRET-2", "SECRET-3", "SECRET-4", "SECRET-5", "SECRET-6", "SECRET-7"]) {
        expect(everything).not.toContain(secret)
      }
      expect(everything).not.toContain("Bearer")
    }))

  it.effect("counts calls, attempts and retries by outcome, and times them", () =>
    Effect.gen(function*() {
      const host = "metrics-1.example.test:443"
      const { client } = yield* scriptedClient([{ status: 503 }, { status: 503 }, { status: 200 }])
      const request = HttpClientRequest.post("https://metrics-1.example.test/orders")
      yield* callWithRetry(request, (ready) => Attempt.send(client, ready))

      const calls = "sturdy_http_client_requests_total"
      const attempts = "sturdy_http_client_attempts_total"
      expect(yield* metricValue(calls, { host, method: "POST", outcome: "success", failure_tag: "none" })).toBe(1)
      expect(yield* metricValue(calls, { host })).toBe(1)
      expect(yield* metricValue(attempts, { host, outcome: "failure", failure_tag: "ServerError" })).toBe(2)
      expect(yield* metricValue(attempts, { host, outcome: "success" })).toBe(1)
      expect(yield* metricValue("sturdy_http_client_retries_total", { host, method: "POST", reason: "backoff" }))
        .toBe(2)
      expect(yield* metricValue("sturdy_http_client_request_duration_ms", { host, outcome: "success" })).toBe(1)
      expect(yield* metricValue("sturdy_http_client_attempt_duration_ms", { host })).toBe(3)

      // the logical call spans both waits (TestClock time)
      const [histogram] = (yield* Metric.snapshot).filter((pair) =>
        pair.metricKey.name === "sturdy_http_client_request_duration_ms" &&
        pair.metricKey.tags.some((tag) => tag.key === "host" && tag.value === host)
      )
      const state = histogram.metricState
      expect(MetricState.isHistogramState(state) && state.sum).toBe(200)
      // the bucket boundaries are the documented ones
      expect(MetricState.isHistogramState(state) && state.buckets.map(([bound]) => bound))
        .toEqual([...Telemetry.latencyBoundaries, Number.POSITIVE_INFINITY])
    }))

  it.effect("builds no span without a tracer, and still counts", () =>
    Effect.gen(function*() {
      const host = "no-tracer.example.test:443"
      const { client } = yield* scriptedClient([{ status: 200 }])
      const request = HttpClientRequest.get("https://no-tracer.example.test/")
      const inside = yield* Telemetry.attempt(
        request,
        (ready) => Effect.zipRight(Attempt.send(client, ready), Effect.option(Effect.currentSpan))
      ).pipe(Telemetry.logicalCall(request))
      expect(Option.isNone(inside)).toBe(true)
      expect(yield* metricValue("sturdy_http_client_requests_total", { host, outcome: "success" })).toBe(1)
      expect(yield* metricValue("sturdy_http_client_attempts_total", { host, outcome: "success" })).toBe(1)
    }))

  it.effect("labels by host, never by path or query, and tags metrics with the ambient labels", () =>
    Effect.gen(function*() {
      const { client } = yield* scriptedClient([{ status: 200 }])
      const call = (path: string) => {
        const request = HttpClientRequest.get(`https://labels.example.test:8443${path}`)
        return Telemetry.logicalCall(Telemetry.attempt(request, (ready) => Attempt.send(client, ready)), request)
      }
      yield* Effect.tagMetrics(Effect.all([call("/a?id=1"), call("/b?id=2")]), "service", "billing")
      const pairs = (yield* Metric.snapshot).filter((pair) =>
        pair.metricKey.name === "sturdy_http_client_requests_total" &&
        pair.metricKey.tags.some((tag) => tag.value === "labels.example.test:8443")
      )
      expect(pairs).toHaveLength(1)
      expect(pairs[0].metricKey.tags.map((tag) => tag.key).sort()).toEqual(
        ["failure_tag", "host", "method", "outcome", "service"]
      )
    }))

  it.effect("a policy's rejection is an outcome of its own, counted once", () =>
    Effect.gen(function*() {
      const host = "rejected.example.test:443"
      const bulkhead = yield* Bulkhead.make({ key: "rejected", maxConcurrent: 1 })
      const { client } = yield* scriptedClient([{ status: 200 }])
      const request = HttpClientRequest.get("https://rejected.example.test/")
      const slow = Telemetry.attempt(request, (ready) => Effect.zipLeft(Attempt.send(client, ready), Effect.never))
      const holder = yield* Effect.fork(Bulkhead.withBulkhead(slow, bulkhead))
      yield* TestClock.adjust("1 millis")
      const exit = yield* Telemetry.attempt(request, (ready) => Attempt.send(client, ready)).pipe(
        Bulkhead.withBulkhead(bulkhead),
        Telemetry.logicalCall(request),
        Effect.exit
      )
      yield* Fiber.interrupt(holder)
      expect(exit._tag).toBe("Failure")
      expect(
        yield* metricValue("sturdy_http_client_requests_total", {
          host,
          outcome: "rejected",
          failure_tag: "BulkheadRejected"
        })
      ).toBe(1)
      expect(yield* metricValue("sturdy_policy_rejections_total", { host, policy: "bulkhead" })).toBe(1)
      // no attempt was sent for the rejected call; the held one was interrupted
      expect(yield* metricValue("sturdy_http_client_attempts_total", { host, outcome: "interrupted" })).toBe(1)
      expect(yield* metricValue("sturdy_http_client_attempts_total", { host })).toBe(1)
    }))

  it.effect("counts a retry the budget refused and warns about it", () =>
    Effect.gen(function*() {
      const host = "budget.example.test:443"
      const { lines, layer } = makeLogger()
      const { client } = yield* scriptedClient([{ status: 503 }])
      const request = HttpClientRequest.get("https://budget.example.test/?token=BUDGET-SECRET")
      const exit = yield* Telemetry.attempt(request, (ready) => Attempt.send(client, ready)).pipe(
        Retry.retry({ budgetKey: "budget", onAttempt: Telemetry.onRetry }),
        Telemetry.logicalCall(request),
        Effect.provideServiceEffect(RetryBudget.RetryBudget, RetryBudget.make({ ratio: 0, minRetries: 0 })),
        Effect.provide(layer),
        Effect.exit
      )
      expect(exit._tag).toBe("Failure")
      expect(yield* metricValue("sturdy_retry_budget_refusals_total", { host })).toBe(1)
      expect(
        yield* metricValue("sturdy_http_client_requests_total", {
          host,
          outcome: "failure",
          failure_tag: "RetryBudgetExhausted"
        })
      ).toBe(1)
      const warnings = lines.filter((line) => line.level === "WARN").map((line) => line.text)
      expect(warnings.some((text) => text.includes("retry budget refused attempt 2"))).toBe(true)
      expect(warnings.join("\n")).not.toContain("BUDGET-SECRET")
    }))

  it.scoped("tracks a breaker: state gauge, transitions, a warning when it opens, the state on attempt spans", () =>
    Effect.gen(function*() {
      const upstream = "https://breaker.example.test:443"
      const { spans, tracer } = TestTracer.make()
      const { lines, layer } = makeLogger()
      const breaker = yield* CircuitBreaker.make(upstream, { consecutiveFailures: 1 })
      yield* Telemetry.trackBreaker(breaker).pipe(Effect.provide(layer))
      expect(yield* metricValue("sturdy_circuit_breaker_state", { upstream })).toBe(0)

      const { client } = yield* scriptedClient([{ status: 503 }])
      const request = HttpClientRequest.get("https://breaker.example.test/")
      const call = Telemetry.attempt(request, (ready) => Attempt.send(client, ready)).pipe(
        CircuitBreaker.withBreaker(breaker),
        Telemetry.logicalCall(request),
        Effect.exit
      )
      yield* call.pipe(Effect.withTracer(tracer))
      yield* settle
      expect(yield* metricValue("sturdy_circuit_breaker_state", { upstream })).toBe(2)
      expect(
        yield* metricValue("sturdy_circuit_breaker_transitions_total", { upstream, from: "closed", to: "open" })
      ).toBe(1)
      expect(lines.some((line) => line.level === "WARN" && line.text.includes("closed -> open"))).toBe(true)
      expect(spans[1].attributes.get("sturdy.breaker_state")).toBe("closed")

      // rejected while open: no attempt span, the call says why
      yield* call.pipe(Effect.withTracer(tracer))
      expect(spans.map((span) => span.name)).toEqual([
        "http.client.request GET",
        "http.client.attempt GET",
        "http.client.request GET"
      ])
      expect(spans[2].attributes.get("sturdy.failure_tag")).toBe("CircuitOpen")
      expect(spans[2].attributes.get("sturdy.breaker_state")).toBe("open")
      expect(spans[2].attributes.get("sturdy.outcome")).toBe("rejected")
      expect(yield* metricValue("sturdy_policy_rejections_total", { policy: "circuit_breaker" })).toBeGreaterThan(0)
    }))

  // a fiber inherits its parent's interruptibility: the tracking loop, forked inside a mask, ignored the scope's
  // close, which then waited for ever
  it.effect("trackBreaker called inside a mask still lets its scope close; so does a Policy with onEvent", () =>
    Effect.gen(function*() {
      const registry = yield* CircuitBreaker.makeRegistry().pipe(Effect.scoped)
      expect(yield* closesWhenMadeMasked(Telemetry.trackBreaker(registry))).toBe(true)
      expect(yield* closesWhenMadeMasked(Policy.make({ onEvent: () => Effect.void }))).toBe(true)
    }))

  it.scoped("tracks every breaker of a registry, and the state its transitions reached shows on attempt spans", () =>
    Effect.gen(function*() {
      const upstream = "https://registry.example.test:443"
      const { spans, tracer } = TestTracer.make()
      const registry = yield* CircuitBreaker.makeRegistry({
        breaker: { consecutiveFailures: 1, breakDuration: Schedule.spaced("1 second") }
      })
      yield* Telemetry.trackBreaker(registry)
      const { client } = yield* scriptedClient([{ status: 503 }, { status: 200 }])
      const request = HttpClientRequest.get("https://registry.example.test/")
      const call = Telemetry.attempt(request, (ready) => Attempt.send(client, ready)).pipe(
        registry.withBreaker(upstream),
        Telemetry.logicalCall(request),
        Effect.withTracer(tracer),
        Effect.exit
      )
      yield* call
      yield* settle
      expect(yield* metricValue("sturdy_circuit_breaker_state", { upstream })).toBe(2)

      // after the pause the probe goes through as half-open and closes the breaker
      yield* TestClock.adjust("1 second")
      yield* call
      yield* settle
      expect(yield* metricValue("sturdy_circuit_breaker_state", { upstream })).toBe(0)
      expect(
        yield* metricValue("sturdy_circuit_breaker_transitions_total", { upstream, from: "open", to: "half_open" })
      ).toBe(1)
      expect(
        yield* metricValue("sturdy_circuit_breaker_transitions_total", { upstream, from: "half_open", to: "closed" })
      ).toBe(1)
      const attempts = spans.filter((span) => span.name === "http.client.attempt GET")
      expect(attempts.map((span) => span.attributes.get("sturdy.outcome"))).toEqual(["failure", "success"])
      // nothing was reported before the first attempt; the second was the half-open probe
      expect(attempts.map((span) => span.attributes.get("sturdy.breaker_state"))).toEqual([undefined, "half_open"])
    }))

  it.effect("a decoded body's own status field is not the HTTP status; the client middleware records the real one", () =>
    Effect.gen(function*() {
      const { spans, tracer } = TestTracer.make()
      const { client } = yield* scriptedClient([{ status: 201, body: "{\"id\":7,\"status\":3}" }])
      const request = HttpClientRequest.post("https://json.example.test/users")
      const Created = Schema.Struct({ id: Schema.Number, status: Schema.Number })
      const created = yield* Telemetry.attempt(request, (ready) => Attempt.json(client, ready, Created)).pipe(
        Telemetry.logicalCall(request),
        Effect.withTracer(tracer)
      )
      expect(created).toEqual({ id: 7, status: 3 })
      expect(spans[0].attributes.has("http.response.status_code")).toBe(false)
      expect(spans[1].attributes.has("http.response.status_code")).toBe(false)

      yield* Telemetry.attempt(request, (ready) => Attempt.json(Telemetry.client(client), ready, Created)).pipe(
        Telemetry.logicalCall(request),
        Effect.withTracer(tracer)
      )
      expect(spans[3].name).toBe("http.client.attempt POST")
      expect(spans[3].attributes.get("http.response.status_code")).toBe(201)
      expect(spans[2].attributes.get("http.response.status_code")).toBe(201)
    }))

  it.effect("a hedged attempt is numbered, carries its hedge index, and the loser ends interrupted", () =>
    Effect.gen(function*() {
      const { spans, tracer } = TestTracer.make()
      const { client } = yield* scriptedClient([{ status: 200 }])
      const request = HttpClientRequest.get("https://hedge.example.test/slow")
      const send = (ready: HttpClientRequest.HttpClientRequest) =>
        Effect.flatMap(
          FiberRef.get(Hedge.currentIndex),
          (index) => index === 0 ? Effect.never : Attempt.send(client, ready)
        )
      const fiber = yield* Telemetry.attempt(request, send).pipe(
        Hedge.hedge({ delay: "50 millis" }),
        Telemetry.logicalCall(request),
        Effect.withTracer(tracer),
        Effect.fork
      )
      yield* TestClock.adjust("50 millis")
      const received = yield* Fiber.join(fiber)
      expect(received.status).toBe(200)
      const attempts = spans.filter((span) => span.name === "http.client.attempt GET")
      expect(attempts.map((span) => [span.attributes.get("sturdy.attempt"), span.attributes.get("sturdy.hedge_index")]))
        .toEqual([[1, 0], [2, 1]])
      expect(attempts.map((span) => span.attributes.get("sturdy.outcome"))).toEqual(["interrupted", "success"])
      expect(spans[0].attributes.get("sturdy.attempts")).toBe(2)
      expect(
        yield* metricValue("sturdy_http_client_attempts_total", {
          host: "hedge.example.test:443",
          outcome: "interrupted"
        })
      ).toBe(1)
    }))

  it.effect("a retried rejection is counted by onRetry, with the call's host", () =>
    Effect.gen(function*() {
      const host = "retried-rejection.example.test:443"
      const request = HttpClientRequest.get(`https://${host}/`)
      const open = new CircuitBreaker.CircuitOpen({ key: `https://${host}`, retryAfter: Duration.seconds(1) })
      yield* Telemetry.onRetry({
        attempt: 2,
        delay: Duration.seconds(1),
        reason: "retry-after",
        retrying: true,
        failure: open
      })
        .pipe(Telemetry.logicalCall(request))
      expect(yield* metricValue("sturdy_policy_rejections_total", { host, policy: "circuit_breaker" })).toBe(1)
      expect(yield* metricValue("sturdy_http_client_retries_total", { host, reason: "retry-after" })).toBe(1)
      // the call itself succeeded
      expect(yield* metricValue("sturdy_http_client_requests_total", { host, outcome: "success" })).toBe(1)
    }))

  it.effect("under a logical call the platform builds no span of its own and logged headers hide every secret", () =>
    Effect.gen(function*() {
      const { spans, tracer } = TestTracer.make()
      const { lines, layer } = makeLogger()
      const { client } = yield* scriptedClient([{ status: 200 }])
      const request = HttpClientRequest.get("https://plain.example.test/", {
        headers: { "x-auth-token": "TOKEN-SECRET-8", "x-session-id": "SESSION-SECRET-9" }
      })
      yield* client.execute(request).pipe(
        Effect.zipRight(Effect.logWarning("sending", request.headers)),
        Telemetry.logicalCall(request),
        Effect.withTracer(tracer),
        Effect.provide(layer)
      )
      expect(spans.map((span) => span.name)).toEqual(["http.client.request GET"])
      const logged = lines.map((line) => line.text).join("\n")
      expect(logged).toContain("x-auth-token")
      expect(logged).not.toContain("TOKEN-SECRET-8")
      expect(logged).not.toContain("SESSION-SECRET-9")
    }))

  it.effect("describes a request with a redacted URL and a bounded host label", () =>
    Effect.sync(() => {
      const target = Telemetry.target({ method: "get", url: "http://[::1]:8080/a?sig=S3CR3T&x=1" })
      expect(JSON.parse(JSON.stringify(target))).toEqual({
        method: "GET",
        url: "http://[::1]:8080/a?sig=<redacted>&x=1",
        serverAddress: "[::1]",
        serverPort: 8080,
        host: "[::1]:8080",
        upstream: "http://[::1]:8080"
      })
      expect(target.url).toBe("http://[::1]:8080/a?sig=<redacted>&x=1")
      expect(Telemetry.target({ method: "BREW", url: "not a url" }).host).toBe("unknown")
    }))

  it.effect("a 4xx or 5xx handed back as a value still sets error.type on the attempt span", () =>
    Effect.gen(function*() {
      const { spans, tracer } = TestTracer.make()
      const { client } = yield* scriptedClient([{ status: 500 }, { status: 200, body: "{}" }])
      const request = HttpClientRequest.get("https://api.example.test/items")
      // a plain platform client does not fail on status: the 500 comes back as a response
      for (let i = 0; i < 2; i++) {
        yield* Telemetry.attempt(request, (ready) => client.execute(ready)).pipe(Effect.withTracer(tracer))
      }
      const [failed, ok] = spans.map((span) => Object.fromEntries(span.attributes))
      expect(failed).toMatchObject({ "http.response.status_code": 500, "error.type": "500" })
      expect(ok["http.response.status_code"]).toBe(200)
      expect(ok["error.type"]).toBeUndefined()
    }))

  // OpenTelemetry's HTTP conventions: `error.type` is the status code only when the status says error (4xx, 5xx)
  it.effect("a 200 whose body does not decode, and a 3xx, set error.type to the failure's tag, not the status", () =>
    Effect.gen(function*() {
      const { spans, tracer } = TestTracer.make()
      const { client } = yield* scriptedClient([
        { status: 200, body: "{\"truncated\":" },
        { status: 302, body: "" },
        { status: 404, body: "{}" }
      ])
      const request = HttpClientRequest.get("https://api.example.test/items")
      for (let i = 0; i < 3; i++) {
        yield* Telemetry.attempt(request, (ready) => Attempt.json(client, ready, Schema.Unknown)).pipe(
          Telemetry.logicalCall(request),
          Effect.withTracer(tracer),
          Effect.exit
        )
      }
      const ends = spans.map((
        span
      ) => [span.name, span.attributes.get("error.type"), span.attributes.get("sturdy.failure_tag")])
      expect(ends).toEqual([
        ["http.client.request GET", "InvalidJson", "InvalidJson"],
        ["http.client.attempt GET", "InvalidJson", "InvalidJson"],
        ["http.client.request GET", "UnexpectedStatus", "UnexpectedStatus"],
        ["http.client.attempt GET", "UnexpectedStatus", "UnexpectedStatus"],
        ["http.client.request GET", "404", "ClientError"],
        ["http.client.attempt GET", "404", "ClientError"]
      ])
    }))

  it.effect("a method the conventions do not know names its spans HTTP; QUERY is known", () =>
    Effect.gen(function*() {
      const { spans, tracer } = TestTracer.make()
      const { client } = yield* scriptedClient([{ status: 200, body: "{}" }, { status: 200, body: "{}" }])
      for (const method of ["PURGE", "QUERY"] as const) {
        const request = HttpClientRequest.make(method as "GET")("https://api.example.test/items")
        yield* Telemetry.attempt(request, (ready) => Attempt.send(client, ready)).pipe(
          Telemetry.logicalCall(request),
          Effect.withTracer(tracer)
        )
      }
      expect(spans.map((span) => span.name)).toEqual([
        "http.client.request HTTP",
        "http.client.attempt HTTP",
        "http.client.request QUERY",
        "http.client.attempt QUERY"
      ])
      expect(Object.fromEntries(spans[0].attributes)).toMatchObject({
        "http.request.method": "_OTHER",
        "http.request.method_original": "PURGE"
      })
      expect(Object.fromEntries(spans[2].attributes)).toMatchObject({ "http.request.method": "QUERY" })
    }))

  it.effect("http.request.method_original is the method as sent, whenever http.request.method is not it", () =>
    Effect.gen(function*() {
      const { spans, tracer } = TestTracer.make()
      const { client } = yield* scriptedClient([
        { status: 200, body: "{}" },
        { status: 200, body: "{}" },
        { status: 200, body: "{}" }
      ])
      for (const method of ["purge", "get", "GET"]) {
        const request = HttpClientRequest.make(method as "GET")("https://api.example.test/items")
        yield* Telemetry.attempt(request, (ready) => Attempt.send(client, ready)).pipe(
          Telemetry.logicalCall(request),
          Effect.withTracer(tracer)
        )
      }
      expect(spans.map((span) => [
        span.name,
        span.attributes.get("http.request.method"),
        span.attributes.get("http.request.method_original")
      ])).toEqual([
        ["http.client.request HTTP", "_OTHER", "purge"],
        ["http.client.attempt HTTP", "_OTHER", "purge"],
        ["http.client.request GET", "GET", "get"],
        ["http.client.attempt GET", "GET", "get"],
        ["http.client.request GET", "GET", undefined],
        ["http.client.attempt GET", "GET", undefined]
      ])
    }))

  it("reads the host as the URL standard does, which is where the transport connects", () => {
    const cases: ReadonlyArray<readonly [url: string, host: string]> = [
      // a password may hold an unencoded '@': the user info ends at the last one
      ["http://alice:pw-head@pw-tail-secret@127.0.0.1:8080/x", "127.0.0.1:8080"],
      // a backslash ends an http(s) authority as a slash does
      ["http://real.test:8080\\@victim.test/x", "real.test:8080"]
    ]
    for (const [url, host] of cases) {
      expect(new URL(url).host).toBe(host)
      const request = HttpClientRequest.get(url)
      expect(Policy.upstreamKey(request)).toBe(`http://${host}`)
      const target = Telemetry.target(request)
      expect(target.host).toBe(host)
      expect(target.url.startsWith(`http://${host}/`)).toBe(true)
      expect(JSON.stringify(target)).not.toContain("pw-tail")
    }
  })
})

// Runs last: the `host` and `upstream` values admitted are the process's, so the tests above keep their own series.
describe("Telemetry cardinality", () => {
  /** The series of `name`, by the value of `label`; the counts of each value's series summed. */
  const seriesBy = (name: string, label: string) =>
    Effect.map(Metric.snapshot, (pairs) => {
      const byValue = new Map<string, number>()
      for (const pair of pairs) {
        if (pair.metricKey.name !== name) continue
        const value = pair.metricKey.tags.find((tag) => tag.key === label)?.value ?? ""
        const state = pair.metricState
        const count = MetricState.isCounterState(state)
          ? Number(state.count)
          : MetricState.isHistogramState(state)
          ? state.count
          : MetricState.isGaugeState(state)
          ? 1
          : 0
        byValue.set(value, (byValue.get(value) ?? 0) + count)
      }
      return byValue
    })

  it.effect(
    "5,000 hosts: at most the limit plus _OTHER per instrument, the first hosts keep theirs, no call lost",
    () =>
      Effect.gen(function*() {
        const hosts = 5_000
        const hostOf = (i: number) => `cardinality-${i}.example.test:443`
        const call = (i: number) => {
          const request = HttpClientRequest.get(`https://cardinality-${i}.example.test/items?page=${i}`)
          return Telemetry.attempt(request, () => Effect.succeed("ok")).pipe(Telemetry.logicalCall(request))
        }
        for (let i = 0; i < hosts; i++) yield* call(i)
        // a host seen before the limit was reached keeps its series
        yield* call(0)
        for (
          const name of [
            "sturdy_http_client_requests_total",
            "sturdy_http_client_request_duration_ms",
            "sturdy_http_client_attempts_total",
            "sturdy_http_client_attempt_duration_ms"
          ]
        ) {
          const byHost = yield* seriesBy(name, "host")
          expect(byHost.size, name).toBeLessThanOrEqual(Telemetry.cardinalityLimit + 1)
          expect(byHost.get(hostOf(0)), name).toBe(2)
          expect(byHost.has(hostOf(hosts - 1)), name).toBe(false)
          // every call counted: on its host's series, or on the overflow series
          let ours = 0
          for (const [host, count] of byHost) {
            if (host.startsWith("cardinality-") || host === "_OTHER") ours += count
          }
          expect(ours, name).toBe(hosts + 1)
          expect(byHost.get("_OTHER"), name).toBeGreaterThan(0)
        }
      }),
    60_000
  )

  it.scoped("breakers beyond the limit share the _OTHER upstream series", () =>
    Effect.gen(function*() {
      const breakers = Telemetry.cardinalityLimit + 100
      const upstreamOf = (i: number) => `https://breaker-${i}.example.test:443`
      const registry = yield* CircuitBreaker.makeRegistry({
        breaker: { consecutiveFailures: 1, isFailure: () => true }
      })
      yield* Telemetry.trackBreaker(registry)
      for (let i = 0; i < breakers; i++) {
        yield* Effect.exit(registry.withBreaker(Effect.fail("down"), upstreamOf(i)))
      }
      const transitions = "sturdy_circuit_breaker_transitions_total"
      const total = (byUpstream: Map<string, number>) => {
        let sum = 0
        for (const [upstream, count] of byUpstream) {
          if (upstream.startsWith("https://breaker-") || upstream === "_OTHER") sum += count
        }
        return sum
      }
      // the registry's subscriber (another fiber) takes the transitions
      for (let step = 0; step < 1_000 && total(yield* seriesBy(transitions, "upstream")) < breakers; step++) {
        yield* settle
      }
      for (const name of ["sturdy_circuit_breaker_state", transitions]) {
        const byUpstream = yield* seriesBy(name, "upstream")
        expect(byUpstream.size, name).toBeLessThanOrEqual(Telemetry.cardinalityLimit + 1)
        expect(byUpstream.has(upstreamOf(0)), name).toBe(true)
        expect(byUpstream.has(upstreamOf(breakers - 1)), name).toBe(false)
        expect(byUpstream.has("_OTHER"), name).toBe(true)
      }
      expect(total(yield* seriesBy(transitions, "upstream"))).toBe(breakers)
    }), 60_000)
})
