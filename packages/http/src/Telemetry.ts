/**
 * Spans, metrics and logs for HTTP calls, with every URL redacted: one span per logical call, a child span per
 * attempt, Effect `Metric`s for outcomes, retries, rejections, breaker states and latency, and debug/warning logs.
 *
 * ## Spans
 *
 * Built only when a real tracer is installed (spans of Effect's default tracer go nowhere, so nothing is built and
 * no attribute is computed). Attribute names follow the OpenTelemetry HTTP client conventions.
 *
 * | Span                                  | Kind     | Attributes                                                   |
 * | ------------------------------------- | -------- | ------------------------------------------------------------ |
 * | `http.client.request {METHOD}`        | `internal` | `http.request.method` (`_OTHER` for an unknown method), `http.request.method_original` (the method as sent, when not `http.request.method`), `url.full` (redacted), `server.address`, `server.port`; at the end `http.response.status_code`, `error.type`, `sturdy.failure_tag`, `sturdy.outcome`, `sturdy.attempts` (the attempts sent: a retry the breaker or the bulkhead turned away is none, where Retry's `retry.attempts` counts every run), `sturdy.breaker_state` (`open` when the breaker rejected the call); Retry adds `retry` / `retry.stop` events |
 * | `http.client.attempt {METHOD}` (child) | `client` | the same request attributes, `sturdy.attempt` (1-based), `sturdy.hedge_index`, `http.request.resend_count`, `sturdy.delay_ms` and `sturdy.delay_reason` (the wait before it, from {@link onRetry}), `sturdy.breaker_state` (`closed` / `half_open`, once a breaker tracked with {@link trackBreaker} reported a state), `http.request.body.size` (see below); at the end `http.response.status_code`, `http.response.body.size` (see below), `error.type`, `sturdy.failure_tag`, `sturdy.outcome` |
 *
 * | `http.client.event_stream {METHOD}`  | `internal` | a whole `EventStream`: the request attributes; a `reconnect` event per reconnect (`sturdy.reason`: the failure's tag or `stream_ended`, `sturdy.delay_ms`, `sturdy.reconnects` so far, `http.response.status_code` of a status failure, `sturdy.last_event_id_sent`: whether the request resumes from an id, never the id itself); at the end `sturdy.events`, `sturdy.reconnects`, `error.type`, `sturdy.failure_tag`, `sturdy.failure_reason` (`ReconnectsExhausted`), `sturdy.outcome` |
 * | `http.client.download {METHOD}`       | `internal` | a whole `Download`: the request attributes; a `resume` event per resume, at its request (`sturdy.reason`: the cut's tag, `sturdy.offset`, `sturdy.delay_ms`: the wait, `sturdy.resumes` so far); at the end `sturdy.bytes` (emitted), `sturdy.resumes`, `error.type`, `sturdy.failure_tag`, `sturdy.failure_reason` (the `DownloadError`'s), `sturdy.outcome` |
 * | `http.client.json_lines {METHOD}`     | `internal` | a whole `JsonLines` stream: the request attributes, `sturdy.format` (`ndjson`, `json-seq`); at the end `sturdy.items`, `sturdy.skipped` (with `onInvalid: "skip"`), `error.type`, `sturdy.failure_tag`, `sturdy.outcome`; no line's content |
 * | `http.client.paginate {METHOD}`       | `internal` | a whole `Paginate` listing: the first request's attributes, `sturdy.strategy` (`links`, `cursor`, `page_numbers`, `offsets`); each page's call is its child; at the end (the stream ended, failed, was interrupted or stopped being pulled) `sturdy.pages`, `sturdy.items` (`pageNumbers`, `offsets`: their `items` option's count; `links`, `cursor`: what `Paginate.items` flattened, when it does), `error.type`, `sturdy.failure_tag`, `sturdy.failure_reason` (the `PaginationError`'s), `sturdy.outcome` |
 * | `http.client.poll`, `http.client.poll {METHOD}` | `internal` | a whole `Poll.until` (no request attributes) or `Poll.operation` (the first request's attributes); its polls' spans are children; at the end `sturdy.polls` (monitor requests for an operation), `error.type`, `sturdy.failure_tag`, `sturdy.failure_reason` (the `PollError`'s), `sturdy.outcome` |
 *
 * Each connection of an `EventStream` and each request of a `Download` gets the redacted `http.client {METHOD}` span
 * `Attempt` gives (below), as a child of the stream's span; it ends when the response's headers arrive.
 *
 * ### Body sizes
 *
 * `http.request.body.size` and `http.response.body.size` (OpenTelemetry's HTTP conventions, "development" and
 * opt-in there) are recorded with every traced attempt: they cost nothing without a tracer, and one number each with
 * one. They go on the attempt's client span: `http.client.attempt` under {@link attempt}, else the redacted
 * `http.client` span `Attempt` gives, never on a logical call's `internal` span (the call is not a transfer; its
 * attempts' sizes add up to its traffic).
 *
 * - `http.request.body.size`: the body's length when known before sending: no body (0), bytes, a text (its UTF-8
 *   bytes), form-urlencoded and JSON bodies (bytes too). Absent for a stream or multipart form data, whose length is
 *   known only once sent. `@sturdy/node`'s transport sets it on its own client span too.
 * - `http.response.body.size`: the body's bytes as they came over the wire (the compressed size when the transport
 *   decompressed; the transfer coding, chunked, not counted), set when `Attempt.send`, `Attempt.json` or a cached
 *   `SturdyClient` call has read a body to its end: a 2xx's, or an error's read whole for its excerpt (under 64 KiB
 *   and `maxBodyBytes`). A HEAD, 204 or 304 is 0 (no body is sent, whatever its
 *   `Content-Length` says of the representation). `@sturdy/node`'s transport counts the wire bytes itself
 *   (`ClientResponse.receivedBodyBytes`); with a transport that decodes and keeps `Content-Encoding` (fetch) it is the
 *   `Content-Length`, and absent when there is none; otherwise the bytes read. Absent when the body failed (cut,
 *   too large, timed out: `BodyTruncated` carries `receivedBytes`: a partial count would read as a whole body), for
 *   an error body longer than its excerpt (read only in part), and for the streaming consumers (`Download`, `EventStream`, `JsonLines`), whose request spans end at the head
 *   (`Download`'s span has `sturdy.bytes`, the bytes it emitted).
 *
 * `error.type` is the status code when it is a 4xx or 5xx (a status failure, or such a response handed back as a
 * value), else the failure's tag: a 200 whose body was cut or did not decode is `BodyTruncated` or `InvalidJson`, a
 * 3xx `UnexpectedStatus`, as OpenTelemetry's HTTP conventions say (the status code only when it indicates an error). Under our spans the platform's own
 * client span is not built (it records `url.full` and `url.query` unredacted and ends with the transport's raw
 * error, whose message names the raw URL); the `traceparent` and `b3` headers are sent from the attempt span instead
 * (so use {@link attempt} for propagation). Outside them, `Attempt` replaces the platform's span with a redacted
 * `http.client {METHOD}` span of its own. Every `url.full` is redacted as `Redaction` says: secret query parameters
 * replaced, user info and the fragment dropped, the request's secret values searched for. Within a traced logical call
 * `Headers.currentRedactedNames` also lists `Redaction`'s secret header names, so platform `Headers` that are
 * logged (log lines become span events) hide them.
 *
 * ## Cost
 *
 * Without a tracer: no span, no attribute, no redacted URL (it is built only for a span or an emitted log line), no
 * body size (an attempt reads whether its current span is a client span, and goes no further without one);
 * per call one fiber-ref region, a regex for the host, a set lookup for its label, and counter and histogram updates
 * on label arrays built once per label set: about 10–20 µs per logical call with one attempt, measured on an in-memory `Policy.run`.
 * An `EventStream`, a `Download` or a `Paginate` listing without a tracer: a regex for the host and a set lookup for
 * its label per stream, then a counter update per event, per page and per reconnect or resume (metrics count with or
 * without a tracer).
 *
 * ## Metrics
 *
 * | Name                                      | Type      | Labels                                      |
 * | ----------------------------------------- | --------- | ------------------------------------------- |
 * | `sturdy_http_client_requests_total`       | counter   | `method`, `host`, `outcome`, `failure_tag`  |
 * | `sturdy_http_client_request_duration_ms`  | histogram | `method`, `host`, `outcome`                 |
 * | `sturdy_http_client_attempts_total`       | counter   | `method`, `host`, `outcome`, `failure_tag`  |
 * | `sturdy_http_client_attempt_duration_ms`  | histogram | `method`, `host`, `outcome`                 |
 * | `sturdy_http_client_retries_total`        | counter   | `method`, `host`, `reason` (`backoff`, `retry-after`) |
 * | `sturdy_retry_budget_refusals_total`      | counter   | `host`                                      |
 * | `sturdy_policy_rejections_total`          | counter   | `host`, `policy` (`circuit_breaker`, `bulkhead`, `concurrency_limit`, `rate_limit`, `adaptive_throttle`) |
 * | `sturdy_circuit_breaker_state`            | gauge     | `upstream` (0 closed, 1 half-open, 2 open)  |
 * | `sturdy_circuit_breaker_transitions_total`| counter   | `upstream`, `from`, `to` (`closed`, `half_open`, `open`) |
 * | `sturdy_http_event_stream_reconnects_total` | counter | `host`, `reason` (the failure's tag, or `stream_ended`) |
 * | `sturdy_http_event_stream_events_total`   | counter   | `host`                                      |
 * | `sturdy_http_download_resumes_total`      | counter   | `host`, `reason` (the cut's tag: `BodyTruncated`, `Timeout`, ...) |
 * | `sturdy_http_paginate_pages_total`        | counter   | `host` (the first request's)                |
 *
 * - `outcome`: `success`, `failure` (an HTTP failure), `rejected` (a policy refused: breaker open, bulkhead full,
 *   rate limited), `interrupted`, `defect`. `failure_tag`: the failure's `_tag`, `none` on success.
 * - `method`: the standard methods, anything else `_OTHER`. `host`: `server.address:port`, never a path or query;
 *   `upstream`: the breaker key (`scheme://host:port` by default).
 * - Cardinality is bounded however many hosts a process calls, as OpenTelemetry's SDK bounds an instrument's
 *   attribute sets: the first {@link cardinalityLimit} (2,000) distinct `host` values keep their own series, and
 *   every later host is counted under `host="_OTHER"`, the other labels kept; the same holds for `upstream`. A host
 *   admitted has its own series in every instrument, so ratios across them hold; no count is lost, the totals over
 *   all series are the calls made. The `_OTHER` breaker gauge holds the state last reported by any breaker beyond
 *   the limit. The limit lasts for the process, as Effect's metric registry does.
 * - Histogram boundaries (ms, {@link latencyBoundaries}): 5, 10, 20, ... doubling ... 40,960 (14 buckets, then
 *   +Inf), covering the pipeline's default 30 s deadline.
 * - A rejection is counted once: when it ends the call, or when Retry retries past it ({@link onRetry}).
 * - Labels set with `Effect.tagMetrics` around a call are added to every metric it updates.
 *
 * ## Logs
 *
 * `Effect.logDebug` when a call succeeds or is interrupted, an attempt fails, or a breaker changes state;
 * `Effect.logWarning` when a call fails, the retry budget refuses a retry, or a breaker opens. Messages and
 * annotations (`url.full`, `http.request.method`, `sturdy.*`) carry redacted URLs and failure messages only, never
 * a header. Nothing is built when the level is below the fiber's minimum log level.
 *
 * ## Wiring
 *
 * ```text
 * logicalCall( rate limiter → deadline → retry(onAttempt: onRetry) → breaker → bulkhead → attempt( timeout → send ) )
 * trackBreaker(registry)   once per breaker registry, in the pipeline's scope
 * client(httpClient)       under a client whose calls return decoded bodies, for their status codes
 * ```
 *
 * `logicalCall` and `attempt` are the two calls a pipeline needs; the attempt goes outside the attempt timeout so a
 * timed-out attempt ends with its `Timeout` rather than as interrupted.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as CircuitBreaker from "@sturdy/policy/CircuitBreaker"
import type * as Retry from "@sturdy/policy/Retry"
import type * as Effect from "effect/Effect"
import type * as Metric from "effect/Metric"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/telemetry.js"

/**
 * A request described by its method and URL, for calls that are not an `HttpClientRequest`.
 *
 * @example
 * ```ts
 * import type { Telemetry } from "@sturdy/http"
 *
 * const input: Telemetry.TargetInput = { method: "GET", url: "https://api.example.com/users?api_key=k" }
 * ```
 * @since 0.1.0
 * @category models
 */
export interface TargetInput {
  readonly method: string
  readonly url: string | URL
}

/**
 * What telemetry records about a request: the method, the redacted URL and the server it goes to.
 *
 * @example
 * ```ts
 * import { Telemetry } from "@sturdy/http"
 *
 * const target: Telemetry.Target = Telemetry.target({ method: "GET", url: "https://api.example.com/v1?token=t" })
 * console.log(target.url, target.host) // "https://api.example.com/v1?token=<redacted>" "api.example.com:443"
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Target {
  /** The method as sent, upper-case. */
  readonly method: string
  /** The URL with secret query parameters and user info replaced by `<redacted>`. */
  readonly url: string
  readonly serverAddress: string
  readonly serverPort: number | undefined
  /** `serverAddress:serverPort`: the `host` label of metrics. */
  readonly host: string
  /** `scheme://host:port`, the default upstream key of `Policy` and its breakers. */
  readonly upstream: string
}

/**
 * How a call or attempt ended, as the `outcome` label and the `sturdy.outcome` attribute.
 *
 * @example
 * ```ts
 * import type { Telemetry } from "@sturdy/http"
 *
 * const bad = (outcome: Telemetry.Outcome) => outcome === "failure" || outcome === "defect"
 * ```
 * @since 0.1.0
 * @category models
 */
export type Outcome = "success" | "failure" | "rejected" | "interrupted" | "defect"

/**
 * Options of {@link logicalCall}.
 *
 * @example
 * ```ts
 * import type { Telemetry } from "@sturdy/http"
 *
 * const options: Telemetry.LogicalCallOptions = { upstream: "payments" }
 * ```
 * @since 0.1.0
 * @category models
 */
export interface LogicalCallOptions {
  /** The key the call's breaker is tracked under, when not `scheme://host:port` (`Policy`'s `upstreamKey`). */
  readonly upstream?: string | undefined
}

/**
 * The histogram boundaries of both latency histograms, in milliseconds: 5 doubling to 40,960.
 *
 * @example
 * ```ts
 * import { Telemetry } from "@sturdy/http"
 *
 * console.log(Telemetry.latencyBoundaries.length) // 14
 * ```
 * @since 0.1.0
 * @category constants
 */
export const latencyBoundaries: ReadonlyArray<number> = internal.latencyBoundaries

/**
 * How many distinct `host` values (and, apart, `upstream` values) get series of their own, in a process: 2,000, the
 * OpenTelemetry SDK's default cardinality limit. Later hosts are counted under `host="_OTHER"`.
 *
 * @example
 * ```ts
 * import { Telemetry } from "@sturdy/http"
 * import { Effect, Metric } from "effect"
 *
 * console.log(Telemetry.cardinalityLimit) // 2000
 * // the series of calls to hosts beyond the limit (one per method, outcome and failure tag)
 * const overflow = Effect.map(Metric.snapshot, (pairs) =>
 *   pairs.filter((pair) =>
 *     pair.metricKey.name === "sturdy_http_client_requests_total" &&
 *     pair.metricKey.tags.some((tag) => tag.key === "host" && tag.value === "_OTHER")
 *   ))
 * ```
 * @since 0.2.0
 * @category constants
 */
export const cardinalityLimit: number = internal.cardinalityLimit

/**
 * The metrics this module updates (see the table in the module docs), e.g. to read them in a test or a health page.
 *
 * @example
 * ```ts
 * import { Telemetry } from "@sturdy/http"
 * import { Effect, Metric } from "effect"
 *
 * // one series per label set (method, host, outcome, failure_tag)
 * const series = Effect.map(Metric.snapshot, (pairs) =>
 *   pairs.filter((pair) => pair.metricKey.name === "sturdy_http_client_requests_total"))
 * ```
 * @since 0.1.0
 * @category metrics
 */
export const metrics: {
  readonly requests: Metric.Metric.Counter<number>
  readonly requestDuration: Metric.Metric.Histogram<number>
  readonly attempts: Metric.Metric.Counter<number>
  readonly attemptDuration: Metric.Metric.Histogram<number>
  readonly retries: Metric.Metric.Counter<number>
  readonly budgetRefusals: Metric.Metric.Counter<number>
  readonly rejections: Metric.Metric.Counter<number>
  readonly breakerState: Metric.Metric.Gauge<number>
  readonly breakerTransitions: Metric.Metric.Counter<number>
  /** @since 0.2.0 */
  readonly eventStreamReconnects: Metric.Metric.Counter<number>
  /** @since 0.2.0 */
  readonly eventStreamEvents: Metric.Metric.Counter<number>
  /** @since 0.2.0 */
  readonly downloadResumes: Metric.Metric.Counter<number>
  /** @since 0.2.0 */
  readonly paginatePages: Metric.Metric.Counter<number>
} = internal.metrics

/**
 * Describes a request for telemetry: method, redacted URL, server address and port, `host` label, upstream key.
 *
 * @example
 * ```ts
 * import { HttpClientRequest } from "@effect/platform"
 * import { Telemetry } from "@sturdy/http"
 *
 * const target = Telemetry.target(HttpClientRequest.get("https://api.example.com/users", { urlParams: { api_key: "k" } }))
 * console.log(target.url) // "https://api.example.com/users?api_key=<redacted>"
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const target: (request: HttpClientRequest.HttpClientRequest | TargetInput) => Target = internal.target

/**
 * Runs `self` as one logical call: a `http.client.request` span (when a tracer is installed, with the platform's
 * unredacted client span disabled under it), the request counter and duration histogram, and a log line at the
 * end. Attempts inside it are numbered from it.
 *
 * @example
 * ```ts
 * import { HttpClient, HttpClientRequest } from "@effect/platform"
 * import { Attempt, Telemetry } from "@sturdy/http"
 * import { Effect } from "effect"
 *
 * const request = HttpClientRequest.get("https://api.example.com/health")
 * const program = Effect.flatMap(HttpClient.HttpClient, (client) =>
 *   Telemetry.attempt(request, (ready) => Attempt.send(client, ready)).pipe(Telemetry.logicalCall(request))
 * )
 * ```
 * @since 0.1.0
 * @category combinators
 */
export const logicalCall: {
  (
    request: HttpClientRequest.HttpClientRequest | TargetInput,
    options?: LogicalCallOptions
  ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    request: HttpClientRequest.HttpClientRequest | TargetInput,
    options?: LogicalCallOptions
  ): Effect.Effect<A, E, R>
} = internal.logicalCall

/**
 * Runs one attempt: `send` gets the request with the attempt span's trace headers, inside a `http.client.attempt`
 * span (the platform's own unredacted client span disabled); updates the attempt counter and histogram.
 *
 * @example
 * ```ts
 * import { HttpClient, HttpClientRequest } from "@effect/platform"
 * import { Attempt, Telemetry } from "@sturdy/http"
 * import { Effect } from "effect"
 *
 * const program = Effect.flatMap(HttpClient.HttpClient, (client) =>
 *   Telemetry.attempt(HttpClientRequest.get("https://api.example.com/health"), (ready) => Attempt.send(client, ready))
 * )
 * ```
 * @since 0.1.0
 * @category combinators
 */
export const attempt: <A, E, R>(
  request: HttpClientRequest.HttpClientRequest,
  send: (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<A, E, R>
) => Effect.Effect<A, E, R> = internal.attempt

/**
 * Wraps a `send` function so each call of it is an {@link attempt}; the shape `Policy.run` takes.
 *
 * @example
 * ```ts
 * import { HttpClient, HttpClientRequest } from "@effect/platform"
 * import { Attempt, Telemetry } from "@sturdy/http"
 * import { Effect } from "effect"
 *
 * const program = Effect.flatMap(HttpClient.HttpClient, (client) => {
 *   const send = Telemetry.instrumentSend((request: HttpClientRequest.HttpClientRequest) => Attempt.send(client, request))
 *   return send(HttpClientRequest.get("https://api.example.com/health"))
 * })
 * ```
 * @since 0.1.0
 * @category combinators
 */
export const instrumentSend: <A, E, R>(
  send: (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<A, E, R>
) => (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<A, E, R> = internal.instrumentSend

/**
 * A `Retry` `onAttempt` hook: counts retries by reason and budget refusals, and hands the wait and its reason to the
 * next attempt span (`sturdy.delay_ms`, `sturdy.delay_reason`).
 *
 * @example
 * ```ts
 * import { Retry } from "@sturdy/policy"
 * import { HttpFailure, Telemetry } from "@sturdy/http"
 * import { Effect } from "effect"
 *
 * declare const call: Effect.Effect<string, HttpFailure.HttpFailure>
 * const retried = call.pipe(Retry.retry({ while: HttpFailure.isTransient, onAttempt: Telemetry.onRetry }))
 * ```
 * @since 0.1.0
 * @category hooks
 */
export const onRetry: <E>(attempt: Retry.Attempt<E>) => Effect.Effect<void> = internal.onRetry

/**
 * Subscribes to a breaker's (or a whole registry's) `changes` for as long as the scope lives: the state gauge, the
 * transition counter, a log line per transition, and the state that attempt spans report as `sturdy.breaker_state`.
 *
 * @example
 * ```ts
 * import { CircuitBreaker } from "@sturdy/policy"
 * import { Telemetry } from "@sturdy/http"
 * import { Effect } from "effect"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const registry = yield* CircuitBreaker.makeRegistry({ breaker: { consecutiveFailures: 5 } })
 *   yield* Telemetry.trackBreaker(registry)
 * }))
 * ```
 * @since 0.1.0
 * @category hooks
 */
export const trackBreaker: (
  source: CircuitBreaker.CircuitBreaker | CircuitBreaker.RegistryService
) => Effect.Effect<void, never, Scope.Scope> = internal.trackBreaker

/**
 * Client middleware that records each response's status on the current attempt span, for `send` functions that
 * return a decoded body rather than the response.
 *
 * @example
 * ```ts
 * import { HttpClient } from "@effect/platform"
 * import { SturdyClient, Telemetry } from "@sturdy/http"
 * import { Effect } from "effect"
 *
 * const program = Effect.map(HttpClient.HttpClient, (client) =>
 *   SturdyClient.makeWith(Telemetry.client(client), { baseUrl: "https://api.example.com" })
 * )
 * ```
 * @since 0.1.0
 * @category middleware
 */
export const client: <E, R>(self: HttpClient.HttpClient.With<E, R>) => HttpClient.HttpClient.With<E, R> =
  internal.client
