import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpTraceContext from "@effect/platform/HttpTraceContext"
import type * as CircuitBreaker from "@sturdy/policy/CircuitBreaker"
import * as Hedge from "@sturdy/policy/Hedge"
import type * as Retry from "@sturdy/policy/Retry"
import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import type * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import { constTrue, dual } from "effect/Function"
import { globalValue } from "effect/GlobalValue"
import * as LogLevel from "effect/LogLevel"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import { hasProperty } from "effect/Predicate"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import type * as T from "../Telemetry.js"
import * as attemptInternal from "./attempt.js"
import * as observe from "./observe.js"
import * as redaction from "./redaction.js"
import * as upstream from "./upstream.js"

// -----------------------------------------------------------------------------
// targets
// -----------------------------------------------------------------------------

const knownMethods: ReadonlySet<string> = new Set([
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "PATCH",
  "OPTIONS",
  "TRACE",
  "CONNECT",
  // RFC 9110's list and QUERY, as OpenTelemetry's semantic conventions (1.45) know them
  "QUERY"
])

/** @internal */
export const methodLabel = (method: string): string => {
  const upper = method.toUpperCase()
  return knownMethods.has(upper) ? upper : "_OTHER"
}

// A span is named by its method, and `HTTP` when the method is not a known one (the attribute says `_OTHER`).
const spanMethod = (method: string): string => {
  const label = methodLabel(method)
  return label === "_OTHER" ? "HTTP" : label
}

const isRequest = (u: unknown): u is HttpClientRequest.HttpClientRequest => HttpClientRequest.TypeId in Object(u)

// Metrics need only the host, parsed from the raw URL; the redacted URL (a `URL` parse) is built when a span or a
// log line first asks for it.
class TargetImpl implements T.Target {
  #url: string | undefined
  constructor(
    readonly method: string,
    readonly serverAddress: string,
    readonly serverPort: number | undefined,
    readonly host: string,
    readonly upstream: string,
    private readonly redact: () => string,
    /** the method as the request line carries it (`method` is upper-case) */
    readonly methodSent: string = method
  ) {}
  get url(): string {
    return this.#url ??= this.redact()
  }
  toJSON(): unknown {
    return {
      method: this.method,
      url: this.url,
      serverAddress: this.serverAddress,
      serverPort: this.serverPort,
      host: this.host,
      upstream: this.upstream
    }
  }
}

/** @internal */
export const target = (request: HttpClientRequest.HttpClientRequest | T.TargetInput): T.Target => {
  const methodSent = request.method
  const method = methodSent.toUpperCase()
  const redact = isRequest(request)
    ? () => redaction.redactRequestUrl(request)
    : () => redaction.redactUrl(request.url)
  const match = upstream.originPattern.exec(String(request.url))
  if (match === null) return new TargetImpl(method, "", undefined, "unknown", "unknown", redact, methodSent)
  const scheme = match[1].toLowerCase()
  const serverAddress = match[2].toLowerCase()
  const port = match[3] === undefined || match[3] === "" ? upstream.defaultPorts[scheme] : match[3]
  const serverPort = port === undefined ? undefined : Number(port)
  const host = serverPort === undefined ? serverAddress : `${serverAddress}:${serverPort}`
  return new TargetImpl(method, serverAddress, serverPort, host, `${scheme}://${host}`, redact, methodSent)
}

// -----------------------------------------------------------------------------
// metrics
// -----------------------------------------------------------------------------

/** @internal */
export const latencyBoundaries: ReadonlyArray<number> = Array.from({ length: 14 }, (_, i) => 5 * 2 ** i)

const boundaries = MetricBoundaries.fromIterable(latencyBoundaries)

/** @internal */
export const metrics = globalValue(Symbol.for("@sturdy/http/Telemetry/metrics"), () => ({
  requests: Metric.counter("sturdy_http_client_requests_total", {
    description: "Logical HTTP calls by method, host, outcome and failure tag",
    incremental: true
  }),
  requestDuration: Metric.histogram(
    "sturdy_http_client_request_duration_ms",
    boundaries,
    "Duration of a logical HTTP call (all attempts and waits), in milliseconds"
  ),
  attempts: Metric.counter("sturdy_http_client_attempts_total", {
    description:
      "HTTP attempts (each request handed to the transport, sent or not) by method, host, outcome and failure tag",
    incremental: true
  }),
  attemptDuration: Metric.histogram(
    "sturdy_http_client_attempt_duration_ms",
    boundaries,
    "Duration of one HTTP attempt (send, body read and decode), in milliseconds"
  ),
  retries: Metric.counter("sturdy_http_client_retries_total", {
    description: "Retries scheduled, by method, host and reason (backoff or retry-after)",
    incremental: true
  }),
  budgetRefusals: Metric.counter("sturdy_retry_budget_refusals_total", {
    description: "Retries the retry budget refused, by host",
    incremental: true
  }),
  rejections: Metric.counter("sturdy_policy_rejections_total", {
    description: "Calls or attempts a policy refused before sending, by host and policy",
    incremental: true
  }),
  breakerState: Metric.gauge("sturdy_circuit_breaker_state", {
    description: "Circuit breaker state by upstream: 0 closed, 1 half-open, 2 open"
  }),
  breakerTransitions: Metric.counter("sturdy_circuit_breaker_transitions_total", {
    description: "Circuit breaker state transitions by upstream, from and to",
    incremental: true
  }),
  eventStreamReconnects: Metric.counter("sturdy_http_event_stream_reconnects_total", {
    description: "EventStream reconnects, by host and reason (the failure's tag, or stream_ended)",
    incremental: true
  }),
  eventStreamEvents: Metric.counter("sturdy_http_event_stream_events_total", {
    description: "Events an EventStream delivered, by host",
    incremental: true
  }),
  downloadResumes: Metric.counter("sturdy_http_download_resumes_total", {
    description: "Download resumes (range requests after a cut), by host and reason (the cut's failure tag)",
    incremental: true
  }),
  paginatePages: Metric.counter("sturdy_http_paginate_pages_total", {
    description: "Pages a Paginate listing fetched, by host (the first request's)",
    incremental: true
  })
}))

interface Updatable<In> {
  readonly unsafeUpdate: (input: In, extraTags: ReadonlyArray<MetricLabel.MetricLabel>) => void
}

interface LabelNames {
  readonly id: string
  readonly names: ReadonlyArray<string>
}

const labelNames = (...names: Array<string>): LabelNames => ({ id: names.join(","), names })

const callLabels = labelNames("method", "host", "outcome", "failure_tag")
const latencyLabels = labelNames("method", "host", "outcome")
const retryLabels = labelNames("method", "host", "reason")
const rejectionLabels = labelNames("host", "policy")
const hostLabels = labelNames("host")
const upstreamLabels = labelNames("upstream")
const transitionLabels = labelNames("upstream", "from", "to")
const hostReasonLabels = labelNames("host", "reason")

// Effect caches a metric's hook by the identity of the label array (a new array costs a registry lookup that hashes
// the whole key, ~15 µs for a histogram), so each label set is built once, per set of ambient `Effect.tagMetrics`
// labels. The cache is cleared when full: `host` and `upstream` values are bounded (`cardinalityLimit`), ambient
// labels are not.
const labelArrays = new WeakMap<
  ReadonlyArray<MetricLabel.MetricLabel>,
  Map<string, ReadonlyArray<MetricLabel.MetricLabel>>
>()
const labelArrayCapacity = 10_000

const update = <In>(
  fiber: Fiber.RuntimeFiber<unknown, unknown>,
  metric: Updatable<In>,
  value: In,
  names: LabelNames,
  ...values: Array<string>
): void => {
  const ambient = fiber.getFiberRef(FiberRef.currentMetricLabels)
  let arrays = labelArrays.get(ambient)
  if (arrays === undefined) {
    arrays = new Map()
    labelArrays.set(ambient, arrays)
  }
  const key = `${names.id}\u0000${values.join("\u0000")}`
  let labels = arrays.get(key)
  if (labels === undefined) {
    if (arrays.size >= labelArrayCapacity) arrays.clear()
    labels = [...ambient, ...names.names.map((name, i) => MetricLabel.make(name, values[i]))]
    arrays.set(key, labels)
  }
  metric.unsafeUpdate(value, labels)
}

/** @internal */
export const cardinalityLimit = 2_000

/** @internal */
export const overflowLabelValue = "_OTHER"

// Effect's metric registry keeps every series it ever saw, for the life of the process, so a label whose values come
// from the outside (`host`, `upstream`) is bounded here, as OpenTelemetry's SDK bounds an instrument's attribute sets:
// the first `cardinalityLimit` values seen keep their own series, and every later one is counted under `_OTHER`.
// One set per label, shared by the instruments, so that a host has its own series in all of them or in none.
const admittedValues = (label: string): Set<string> =>
  globalValue(Symbol.for(`@sturdy/http/Telemetry/admitted/${label}`), () => new Set<string>())

const admittedHosts = admittedValues("host")
const admittedUpstreams = admittedValues("upstream")

const bounded = (admitted: Set<string>, value: string): string => {
  if (admitted.has(value)) return value
  if (admitted.size >= cardinalityLimit) return overflowLabelValue
  admitted.add(value)
  return value
}

/** @internal The `host` label of a host: itself, or `_OTHER` once `cardinalityLimit` others have their series. */
export const hostLabel = (host: string): string => bounded(admittedHosts, host)

/** @internal The `upstream` label of a breaker key, bounded like {@link hostLabel}. */
export const upstreamLabel = (key: string): string => bounded(admittedUpstreams, key)

const tagOf = (u: unknown): string | undefined =>
  hasProperty(u, "_tag") && typeof u._tag === "string" ? u._tag : undefined

/** The rejection behind a failure, looking through `RetryBudgetExhausted` to the failure it did not retry. */
const rejectionPolicy = (failure: unknown): string | undefined => {
  const tag = tagOf(failure)
  if (tag === undefined) return undefined
  if (tag === "RetryBudgetExhausted" && hasProperty(failure, "failure")) return rejectionPolicy(failure.failure)
  return observe.rejections[tag]?.policy
}

// -----------------------------------------------------------------------------
// tracing and logging helpers
// -----------------------------------------------------------------------------

const logEnabled = (fiber: Fiber.RuntimeFiber<unknown, unknown>, level: LogLevel.LogLevel): boolean =>
  LogLevel.greaterThanEqual(level, fiber.getFiberRef(FiberRef.currentMinimumLogLevel))

const log = (
  fiber: Fiber.RuntimeFiber<unknown, unknown>,
  level: LogLevel.LogLevel,
  message: () => string,
  annotations: () => Record<string, unknown>
): Effect.Effect<void> =>
  logEnabled(fiber, level) ? Effect.annotateLogs(Effect.logWithLevel(level, message()), annotations()) : Effect.void

const breakerStateValue: Record<CircuitBreaker.State, number> = { Closed: 0, HalfOpen: 1, Open: 2 }

const breakerStateName: Record<CircuitBreaker.State, string> = {
  Closed: "closed",
  HalfOpen: "half_open",
  Open: "open"
}

const breakerStateCapacity = 10_000

/** The last state each tracked breaker reported, by upstream key (what attempt spans read). */
const breakerStates = globalValue(
  Symbol.for("@sturdy/http/Telemetry/breakerStates"),
  () => new Map<string, CircuitBreaker.State>()
)

const rememberBreakerState = (key: string, state: CircuitBreaker.State): void => {
  breakerStates.delete(key)
  breakerStates.set(key, state)
  if (breakerStates.size > breakerStateCapacity) {
    const oldest = breakerStates.keys().next()
    if (oldest.done !== true) breakerStates.delete(oldest.value)
  }
}

// -----------------------------------------------------------------------------
// logical calls
// -----------------------------------------------------------------------------

interface CallState {
  readonly target: T.Target
  readonly requestUrl: string | undefined
  readonly upstream: string
  attempts: number
  pendingDelayMillis: number | undefined
  pendingDelayReason: string | undefined
  /** The status of the last response seen, for calls whose result is a decoded body. */
  lastStatus: number | undefined
}

/** @internal */
export const currentCall = globalValue(
  Symbol.for("@sturdy/http/Telemetry/currentCall"),
  () => FiberRef.unsafeMake<CallState | undefined>(undefined)
)

interface Outcome {
  readonly outcome: T.Outcome
  readonly failureTag: string
  readonly failure: unknown
  readonly status: number | undefined
  readonly errorType: string | undefined
}

const outcomeOf = (exit: Exit.Exit<unknown, unknown>): Outcome => {
  if (exit._tag === "Success") {
    const status = observe.statusOf(exit.value)
    return {
      outcome: "success",
      failureTag: "none",
      failure: undefined,
      status,
      // a 4xx or 5xx handed back as a value (a client that does not fail on status) is still an error to the
      // conventions: `error.type` is its status code
      errorType: status !== undefined && status >= 400 ? String(status) : undefined
    }
  }
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure)) {
    const error = failure.value
    const failureTag = tagOf(error) ?? "unknown"
    const status = observe.statusOf(error)
    return {
      outcome: observe.rejections[failureTag] === undefined ? "failure" : "rejected",
      failureTag,
      failure: error,
      status,
      // the conventions give the status code only when it says error (4xx, 5xx for a client); a 200 whose body was
      // cut or did not decode, or a 3xx, failed for another reason: its tag
      errorType: status !== undefined && status >= 400 ? String(status) : failureTag
    }
  }
  if (Cause.isInterruptedOnly(exit.cause)) {
    return { outcome: "interrupted", failureTag: "none", failure: undefined, status: undefined, errorType: undefined }
  }
  return { outcome: "defect", failureTag: "none", failure: undefined, status: undefined, errorType: "_OTHER" }
}

const secretHeaderNamesAdded = new WeakMap<ReadonlyArray<string | RegExp>, ReadonlyArray<string | RegExp>>()

/** The fiber's redacted header names plus ours, so that a request or its headers logged during a call hide them. */
const withSecretHeaderNames = (names: ReadonlyArray<string | RegExp>): ReadonlyArray<string | RegExp> => {
  const ours = redaction.currentHeaderNamesToRedact()
  // names added with `Redaction.withSecretNames` are the fiber's own: not cached
  if (ours !== redaction.headerNamesToRedact) return [...names, ...ours]
  let extended = secretHeaderNamesAdded.get(names)
  if (extended === undefined) {
    extended = [...names, ...redaction.headerNamesToRedact]
    secretHeaderNamesAdded.set(names, extended)
    secretHeaderNamesAdded.set(extended, extended)
  }
  return extended
}

const elapsedMillis = (clock: Clock.Clock, startNanos: bigint): number =>
  Number(clock.unsafeCurrentTimeNanos() - startNanos) / 1_000_000

const requestAttributes = (target: T.Target): Record<string, unknown> => {
  const attributes: Record<string, unknown> = {
    "http.request.method": methodLabel(target.method),
    "url.full": target.url,
    "server.address": target.serverAddress
  }
  if (target.serverPort !== undefined) attributes["server.port"] = target.serverPort
  // the conventions: the method as sent in the request line, whenever `http.request.method` is not it (an unknown
  // method, or a known one in another case)
  const sent = target instanceof TargetImpl ? target.methodSent : target.method
  if (attributes["http.request.method"] !== sent) attributes["http.request.method_original"] = sent
  return attributes
}

const annotateOutcome = (span: Tracer.Span, result: Outcome): void => {
  if (result.status !== undefined) span.attribute("http.response.status_code", result.status)
  if (result.errorType !== undefined) span.attribute("error.type", result.errorType)
  if (result.failureTag !== "none") span.attribute("sturdy.failure_tag", result.failureTag)
  span.attribute("sturdy.outcome", result.outcome)
}

const describeFailure = (failure: unknown): string => {
  if (hasProperty(failure, "message") && typeof failure.message === "string") {
    // HttpFailure and policy messages never carry a secret; run them through the text redactor all the same.
    return redaction.redactText(failure.message)
  }
  return "unknown failure"
}

/** @internal */
export const logicalCall: {
  (
    request: HttpClientRequest.HttpClientRequest | T.TargetInput,
    options?: T.LogicalCallOptions
  ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    request: HttpClientRequest.HttpClientRequest | T.TargetInput,
    options?: T.LogicalCallOptions
  ): Effect.Effect<A, E, R>
} = dual(
  (args) => Effect.isEffect(args[0]),
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    request: HttpClientRequest.HttpClientRequest | T.TargetInput,
    options?: T.LogicalCallOptions
  ): Effect.Effect<A, E, R> => callOf(self, request, options, false)
)

// The calls opened by `adoptingCall`, each with the fiber it runs in: a logical call started in that fiber while it is
// current is that call, not one of its own.
const adopting = new WeakMap<CallState, FiberId.FiberId>()

/**
 * A logical call that adopts the one its effect starts in the same fiber (a `SturdyClient` with a cache: the cache
 * runs in the call, and on a miss the policy's call inside it is this call, not a second one, so the call is counted
 * and traced once, and a fresh hit, which starts no policy call, is still one). A fiber it forks (a background
 * revalidation) starts calls of its own.
 * @internal
 */
export const adoptingCall = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  request: HttpClientRequest.HttpClientRequest,
  options: T.LogicalCallOptions
): Effect.Effect<A, E, R> => callOf(self, request, options, true)

const callOf = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  request: HttpClientRequest.HttpClientRequest | T.TargetInput,
  options: T.LogicalCallOptions | undefined,
  adopts: boolean
): Effect.Effect<A, E, R> =>
  Effect.clockWith((clock) =>
    Effect.withFiberRuntime<A, E, R>((fiber) => {
      const previousCall = fiber.getFiberRef(currentCall)
      if (previousCall !== undefined && adopting.get(previousCall) === fiber.id()) {
        // once: a call started further in (a token fetch in an attempt's middleware) is a call of its own
        adopting.delete(previousCall)
        return self
      }
      const callTarget = target(request)
      const state: CallState = {
        target: callTarget,
        requestUrl: isRequest(request) ? request.url : undefined,
        upstream: options?.upstream ?? callTarget.upstream,
        attempts: 0,
        pendingDelayMillis: undefined,
        pendingDelayReason: undefined,
        lastStatus: undefined
      }
      const startNanos = clock.unsafeCurrentTimeNanos()
      const traced = observe.isTracing(fiber)
      if (adopts) adopting.set(state, fiber.id())
      // `Effect.locally` costs more than the rest of a call's telemetry (each fiber ref set copies the fiber's
      // refs), so the refs are set, and put back, within the one uninterruptible region `onExit` needs anyway.
      const body = (span: Tracer.Span | undefined): Effect.Effect<A, E, R> =>
        Effect.uninterruptibleMask((restore) => {
          let enter: Effect.Effect<void> = FiberRef.set(currentCall, state)
          let leave: Effect.Effect<void> = FiberRef.set(currentCall, previousCall)
          if (span !== undefined) {
            // Under our span the platform's client span (unredacted `url.full` / `url.query`) is never built
            // (`attempt` sends the trace headers it would have), and platform `Headers` that are logged (log
            // lines become span events) hide every header `Redaction` calls secret.
            const previousNames = fiber.getFiberRef(Headers.currentRedactedNames)
            const previousDisabled = fiber.getFiberRef(HttpClient.currentTracerDisabledWhen)
            enter = Effect.zipRight(
              enter,
              Effect.zipRight(
                FiberRef.set(HttpClient.currentTracerDisabledWhen, constTrue),
                FiberRef.set(Headers.currentRedactedNames, withSecretHeaderNames(previousNames))
              )
            )
            leave = Effect.zipRight(
              leave,
              Effect.zipRight(
                FiberRef.set(HttpClient.currentTracerDisabledWhen, previousDisabled),
                FiberRef.set(Headers.currentRedactedNames, previousNames)
              )
            )
          }
          return Effect.zipRight(
            enter,
            Effect.onExit(
              restore(span === undefined ? self : Effect.withParentSpan(self, span)),
              (exit) => Effect.zipRight(leave, finishCall(fiber, state, exit, span, elapsedMillis(clock, startNanos)))
            )
          )
        })
      if (!traced) return body(undefined)
      return Effect.useSpan(
        `http.client.request ${spanMethod(callTarget.method)}`,
        // internal, not client: each attempt is the client span, and a logical span around them must not count the
        // call again (OpenTelemetry's HTTP client conventions)
        { kind: "internal", attributes: requestAttributes(callTarget), captureStackTrace: false },
        body
      )
    })
  )

const finishCall = (
  fiber: Fiber.RuntimeFiber<unknown, unknown>,
  state: CallState,
  exit: Exit.Exit<unknown, unknown>,
  span: Tracer.Span | undefined,
  millis: number
): Effect.Effect<void> => {
  const found = outcomeOf(exit)
  // a decoded body has no status; the client middleware saw the response's
  const result = found.outcome === "success" && found.status === undefined && state.lastStatus !== undefined
    ? { ...found, status: state.lastStatus }
    : found
  const callTarget = state.target
  const method = methodLabel(callTarget.method)
  const host = hostLabel(callTarget.host)
  update(fiber, metrics.requests, 1, callLabels, method, host, result.outcome, result.failureTag)
  update(fiber, metrics.requestDuration, millis, latencyLabels, method, host, result.outcome)
  const policy = rejectionPolicy(result.failure)
  if (policy !== undefined) update(fiber, metrics.rejections, 1, rejectionLabels, host, policy)
  if (span !== undefined) {
    annotateOutcome(span, result)
    span.attribute("sturdy.attempts", state.attempts)
    if (result.failureTag === "CircuitOpen") span.attribute("sturdy.breaker_state", "open")
  }
  const annotations = () => ({
    "http.request.method": callTarget.method,
    "url.full": callTarget.url,
    "sturdy.outcome": result.outcome,
    "sturdy.failure_tag": result.failureTag,
    "sturdy.attempts": state.attempts,
    "sturdy.duration_ms": Math.round(millis),
    ...(result.status === undefined ? {} : { "http.response.status_code": result.status })
  })
  switch (result.outcome) {
    case "success":
      return log(fiber, LogLevel.Debug, () => `${callTarget.method} ${callTarget.url} succeeded`, annotations)
    case "interrupted":
      return log(fiber, LogLevel.Debug, () => `${callTarget.method} ${callTarget.url} interrupted`, annotations)
    default:
      return log(
        fiber,
        LogLevel.Warning,
        () =>
          `${callTarget.method} ${callTarget.url} failed: ${
            result.outcome === "defect" ? "defect" : describeFailure(result.failure)
          }`,
        annotations
      )
  }
}

// -----------------------------------------------------------------------------
// attempts
// -----------------------------------------------------------------------------

/** @internal */
export const attempt = <A, E, R>(
  request: HttpClientRequest.HttpClientRequest,
  send: (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.clockWith((clock) =>
    Effect.withFiberRuntime<A, E, R>((fiber) => {
      const call = fiber.getFiberRef(currentCall)
      const attemptTarget = call !== undefined && call.requestUrl === request.url && call.target.method ===
          request.method
        ? call.target
        : target(request)
      const number = call === undefined ? 1 : ++call.attempts
      const delayMillis = call?.pendingDelayMillis
      const delayReason = call?.pendingDelayReason
      if (call !== undefined) {
        call.pendingDelayMillis = undefined
        call.pendingDelayReason = undefined
      }
      const hedgeIndex = fiber.getFiberRef(Hedge.currentIndex)
      const startNanos = clock.unsafeCurrentTimeNanos()
      const finish = (span: Tracer.Span | undefined) => (exit: Exit.Exit<A, E>) =>
        finishAttempt(fiber, attemptTarget, number, exit, span, elapsedMillis(clock, startNanos))
      if (!observe.isTracing(fiber)) return Effect.onExit(send(request), finish(undefined))
      const attributes = requestAttributes(attemptTarget)
      attributes["sturdy.attempt"] = number
      attributes["sturdy.hedge_index"] = hedgeIndex
      if (number > 1) attributes["http.request.resend_count"] = number - 1
      if (delayMillis !== undefined) attributes["sturdy.delay_ms"] = delayMillis
      if (delayReason !== undefined) attributes["sturdy.delay_reason"] = delayReason
      const bodySize = observe.requestBodySize(request)
      if (bodySize !== undefined) attributes["http.request.body.size"] = bodySize
      const breakerState = breakerStates.get(call?.upstream ?? attemptTarget.upstream)
      if (breakerState !== undefined) {
        // An attempt runs inside the breaker, which admits none while open: one admitted while the breaker was last
        // seen open is its probe (Open -> HalfOpen is published as the probe is admitted, and read here a moment
        // later).
        attributes["sturdy.breaker_state"] = breakerStateName[breakerState === "Open" ? "HalfOpen" : breakerState]
      }
      return Effect.useSpan(
        `http.client.attempt ${spanMethod(attemptTarget.method)}`,
        { kind: "client", attributes, captureStackTrace: false },
        (span) => {
          // Our span replaces the platform's, whose `url.full` and `url.query` are not redacted; the trace
          // headers the platform would have sent are sent from our span instead.
          const sent = fiber.getFiberRef(HttpClient.currentTracerPropagation)
            ? HttpClientRequest.setHeaders(request, HttpTraceContext.toHeaders(span))
            : request
          return send(sent).pipe(
            Effect.locally(HttpClient.currentTracerDisabledWhen, constTrue),
            Effect.withParentSpan(span),
            Effect.onExit(finish(span))
          )
        }
      )
    })
  )

/** @internal */
export const instrumentSend = <A, E, R>(
  send: (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<A, E, R>
) =>
(request: HttpClientRequest.HttpClientRequest): Effect.Effect<A, E, R> => attempt(request, send)

const finishAttempt = (
  fiber: Fiber.RuntimeFiber<unknown, unknown>,
  attemptTarget: T.Target,
  number: number,
  exit: Exit.Exit<unknown, unknown>,
  span: Tracer.Span | undefined,
  millis: number
): Effect.Effect<void> => {
  const result = outcomeOf(exit)
  const method = methodLabel(attemptTarget.method)
  const host = hostLabel(attemptTarget.host)
  update(fiber, metrics.attempts, 1, callLabels, method, host, result.outcome, result.failureTag)
  update(fiber, metrics.attemptDuration, millis, latencyLabels, method, host, result.outcome)
  if (span !== undefined) annotateOutcome(span, result)
  if (result.outcome === "success" || result.outcome === "interrupted") return Effect.void
  return log(
    fiber,
    LogLevel.Debug,
    () =>
      `${attemptTarget.method} ${attemptTarget.url} attempt ${number} failed: ${
        result.outcome === "defect" ? "defect" : describeFailure(result.failure)
      }`,
    () => ({
      "http.request.method": attemptTarget.method,
      "url.full": attemptTarget.url,
      "sturdy.attempt": number,
      "sturdy.failure_tag": result.failureTag,
      "sturdy.duration_ms": Math.round(millis),
      ...(result.status === undefined ? {} : { "http.response.status_code": result.status })
    })
  )
}

/** @internal */
export const recordResponse = (status: number): Effect.Effect<void> =>
  Effect.withFiberRuntime((fiber) => {
    const call = fiber.getFiberRef(currentCall)
    if (call !== undefined) call.lastStatus = status
    const span = fiber.currentSpan
    if (span !== undefined && span._tag === "Span" && observe.isTracing(fiber)) {
      span.attribute("http.response.status_code", status)
    }
    return Effect.void
  })

/** @internal */
export const client = <E, R>(self: HttpClient.HttpClient.With<E, R>): HttpClient.HttpClient.With<E, R> =>
  attemptInternal.inheritDeadlineEnforcement(
    self,
    HttpClient.transformResponse(self, Effect.tap((response) => recordResponse(response.status)))
  )

// -----------------------------------------------------------------------------
// retries
// -----------------------------------------------------------------------------

/** @internal */
export const onRetry = <E>(event: Retry.Attempt<E>): Effect.Effect<void> =>
  Effect.withFiberRuntime((fiber) => {
    const call = fiber.getFiberRef(currentCall)
    const method = call === undefined ? "_OTHER" : methodLabel(call.target.method)
    const host = call?.target.host ?? "unknown"
    const delayMillis = Duration.toMillis(event.delay)
    if (event.retrying) {
      if (call !== undefined) {
        call.pendingDelayMillis = delayMillis
        call.pendingDelayReason = event.reason
      }
      const label = hostLabel(host)
      update(fiber, metrics.retries, 1, retryLabels, method, label, event.reason)
      // A rejection that is retried never reaches the logical call's outcome; count it here.
      const policy = rejectionPolicy(event.failure)
      if (policy !== undefined) update(fiber, metrics.rejections, 1, rejectionLabels, label, policy)
      return Effect.void
    }
    if (event.reason !== "budget-refused") return Effect.void
    update(fiber, metrics.budgetRefusals, 1, hostLabels, hostLabel(host))
    return log(
      fiber,
      LogLevel.Warning,
      () =>
        `retry budget refused attempt ${event.attempt}${
          call === undefined ? "" : ` of ${call.target.method} ${call.target.url}`
        }`,
      () => ({
        "sturdy.attempt": event.attempt,
        "sturdy.delay_ms": delayMillis,
        "sturdy.failure_tag": tagOf(event.failure) ?? "unknown",
        ...(call === undefined ? {} : { "url.full": call.target.url })
      })
    )
  })

// -----------------------------------------------------------------------------
// circuit breakers
// -----------------------------------------------------------------------------

const isBreaker = (
  source: CircuitBreaker.CircuitBreaker | CircuitBreaker.RegistryService
): source is CircuitBreaker.CircuitBreaker => "run" in source

const recordBreakerState = (
  fiber: Fiber.RuntimeFiber<unknown, unknown>,
  key: string,
  state: CircuitBreaker.State
): void => {
  rememberBreakerState(key, state)
  update(fiber, metrics.breakerState, breakerStateValue[state], upstreamLabels, upstreamLabel(key))
}

// Keys are `scheme://host:port` by default (kept as they are, to match the upstream of calls); a custom key that
// looks like it could carry a query or user info is redacted like a URL.
const breakerKey = (key: string): string => /[?#@]/.test(key) ? redaction.redactUrl(key) : key

const onBreakerChange = (change: CircuitBreaker.StateChange): Effect.Effect<void> =>
  Effect.withFiberRuntime((fiber) => {
    const key = breakerKey(change.key)
    recordBreakerState(fiber, key, change.to)
    update(
      fiber,
      metrics.breakerTransitions,
      1,
      transitionLabels,
      upstreamLabel(key),
      breakerStateName[change.from],
      breakerStateName[change.to]
    )
    return log(
      fiber,
      change.to === "Open" ? LogLevel.Warning : LogLevel.Debug,
      () => `circuit breaker ${key}: ${breakerStateName[change.from]} -> ${breakerStateName[change.to]}`,
      () => ({
        "sturdy.upstream": key,
        "sturdy.breaker_state": breakerStateName[change.to],
        "sturdy.breaker_previous_state": breakerStateName[change.from]
      })
    )
  })

/** @internal */
export const trackBreaker = (
  source: CircuitBreaker.CircuitBreaker | CircuitBreaker.RegistryService
): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function*() {
    // subscribed before the current state is read: a transition in between is tracked, never missed
    const changes = yield* source.subscribe
    if (isBreaker(source)) {
      const state = yield* source.state
      yield* Effect.withFiberRuntime((fiber) => {
        recordBreakerState(fiber, breakerKey(source.key), state)
        return Effect.void
      })
    }
    // interruptible whatever the caller's mask (a fiber inherits it): the scope's close stops the loop
    yield* Effect.forkScoped(Effect.interruptible(Stream.runForEach(changes, onBreakerChange)))
  })

// -----------------------------------------------------------------------------
// long-lived streams: EventStream, Download
// -----------------------------------------------------------------------------

/** @internal What differs between the streams observed: names of the span, its event and attributes, the metrics. */
export interface StreamKind {
  readonly spanName: string
  /** The event recorded on the span at each reconnect or resume. */
  readonly restartEvent: string
  /** `undefined` for a stream that never restarts. */
  readonly restartMetric: Metric.Metric.Counter<number> | undefined
  /**
   * The span's attribute counting reconnects or resumes, also on each event (the count so far); `undefined` for a
   * stream that never restarts (`JsonLines`), whose span then has no such attribute.
   */
  readonly restartsAttribute: string | undefined
  /** The span's attribute counting what was delivered: events, or bytes. */
  readonly countAttribute: string
  /** Counted per item delivered, when there is such a metric. */
  readonly countMetric: Metric.Metric.Counter<number> | undefined
}

/** @internal */
export const eventStreamKind: StreamKind = {
  spanName: "http.client.event_stream",
  restartEvent: "reconnect",
  restartMetric: metrics.eventStreamReconnects,
  restartsAttribute: "sturdy.reconnects",
  countAttribute: "sturdy.events",
  countMetric: metrics.eventStreamEvents
}

/** @internal */
export const downloadKind: StreamKind = {
  spanName: "http.client.download",
  restartEvent: "resume",
  restartMetric: metrics.downloadResumes,
  restartsAttribute: "sturdy.resumes",
  countAttribute: "sturdy.bytes",
  countMetric: undefined
}

/** @internal One request whose body is a sequence of JSON texts: it never restarts (nothing is repeated). */
export const jsonLinesKind: StreamKind = {
  spanName: "http.client.json_lines",
  restartEvent: "restart",
  restartMetric: undefined,
  restartsAttribute: undefined,
  countAttribute: "sturdy.items",
  countMetric: undefined
}

/**
 * @internal A `Paginate` listing: the pages fetched are what it counts. It never restarts (a page that fails is the
 * caller's call, retried by the caller's policy as one call).
 */
export const paginateKind: StreamKind = {
  spanName: "http.client.paginate",
  restartEvent: "restart",
  restartMetric: undefined,
  restartsAttribute: undefined,
  countAttribute: "sturdy.pages",
  countMetric: metrics.paginatePages
}

/** @internal The reconnect reason of a connection that ended without a failure. */
export const streamEndedReason = "stream_ended"

/**
 * @internal What a stream reports as it runs: items delivered, and each reconnect or resume. Metrics are updated
 * with the ambient labels of the fiber that started the stream; the span exists only when a real tracer is installed.
 */
export class StreamObserver {
  /** Items delivered (events), or the bytes so far (`Download`). */
  count = 0
  /** Reconnects or resumes so far. */
  restarts = 0
  constructor(
    readonly kind: StreamKind,
    readonly fiber: Fiber.RuntimeFiber<unknown, unknown>,
    readonly clock: Clock.Clock,
    /** the bounded `host` label */
    readonly host: string,
    readonly span: Tracer.Span | undefined
  ) {}

  /** One item delivered. */
  delivered(): void {
    this.count++
    const metric = this.kind.countMetric
    if (metric !== undefined) update(this.fiber, metric, 1, hostLabels, this.host)
  }

  /**
   * A reconnect or resume, after `failure` (undefined: the body ended cleanly) and a wait of `delayMillis`.
   * `attributes` is called only when there is a span.
   */
  restarted(failure: unknown, delayMillis: number, attributes?: () => Record<string, unknown>): void {
    this.restarts++
    const reason = failure === undefined ? streamEndedReason : tagOf(failure) ?? "unknown"
    if (this.kind.restartMetric !== undefined) {
      update(this.fiber, this.kind.restartMetric, 1, hostReasonLabels, this.host, reason)
    }
    const span = this.span
    if (span === undefined) return
    // the status of a failure that is about its status (a 503), not of a 200 whose body was cut
    const status = failure === undefined ? undefined : observe.statusOf(failure)
    const failedStatus = status !== undefined && (status < 200 || status >= 300) ? status : undefined
    span.event(this.kind.restartEvent, this.clock.unsafeCurrentTimeNanos(), {
      "sturdy.reason": reason,
      "sturdy.delay_ms": delayMillis,
      ...(this.kind.restartsAttribute === undefined ? {} : { [this.kind.restartsAttribute]: this.restarts }),
      ...(failedStatus === undefined ? {} : { "http.response.status_code": failedStatus }),
      ...attributes?.()
    })
  }

  /** `wait`, then a restart recorded with the time it took (a schedule's own sleep). */
  restartAfter<E>(
    wait: Effect.Effect<unknown, E>,
    failure: unknown,
    attributes?: () => Record<string, unknown>
  ): Effect.Effect<void, E> {
    const startNanos = this.clock.unsafeCurrentTimeNanos()
    return Effect.map(wait, () => this.restarted(failure, elapsedMillis(this.clock, startNanos), attributes))
  }

  /** @internal Ends the span with the stream's exit. */
  end(exit: Exit.Exit<unknown, unknown>): void {
    const span = this.span
    if (span === undefined) return
    const result = outcomeOf(exit)
    annotateOutcome(span, result)
    const failure = result.failure
    // the kind of a `DownloadError` or an `EventStreamError` (a closed set of literals), as of a failure's `reason`
    if (hasProperty(failure, "reason") && typeof failure.reason === "string") {
      span.attribute("sturdy.failure_reason", failure.reason)
    }
    span.attribute(this.kind.countAttribute, this.count)
    if (this.kind.restartsAttribute !== undefined) span.attribute(this.kind.restartsAttribute, this.restarts)
    span.end(
      this.fiber.getFiberRef(FiberRef.currentTracerTimingEnabled) ? this.clock.unsafeCurrentTimeNanos() : 0n,
      exit
    )
  }
}

/**
 * @internal Runs the stream `make` builds under one span for its whole life (when a real tracer is installed; its
 * requests' spans are its children), with metrics by the request's host. Without a tracer: no span, no attribute,
 * no redacted URL.
 */
export const observeStream = <A, E, R>(
  kind: StreamKind,
  request: HttpClientRequest.HttpClientRequest,
  make: (observer: StreamObserver) => Stream.Stream<A, E, R>
): Stream.Stream<A, E, R> =>
  Stream.unwrap(Effect.clockWith((clock) =>
    Effect.withFiberRuntime<Stream.Stream<A, E, R>>((fiber) => {
      const streamTarget = target(request)
      const host = hostLabel(streamTarget.host)
      if (!observe.isTracing(fiber)) {
        return Effect.succeed(make(new StreamObserver(kind, fiber, clock, host, undefined)))
      }
      return Effect.map(
        Effect.makeSpan(`${kind.spanName} ${spanMethod(streamTarget.method)}`, {
          // internal, as a logical call's: each connection's request is the client span
          kind: "internal",
          attributes: requestAttributes(streamTarget),
          captureStackTrace: false
        }),
        (span) => {
          const observer = new StreamObserver(kind, fiber, clock, host, span)
          return make(observer).pipe(
            Stream.provideSomeContext(Context.make(Tracer.ParentSpan, span)),
            Stream.ensuringWith((exit) => Effect.sync(() => observer.end(exit)))
          )
        }
      )
    })
  ))

// -----------------------------------------------------------------------------
// Poll: one span over the whole wait (branch poll)
// -----------------------------------------------------------------------------

/** @internal What a poll reports as it runs: the polls made, and the span when a real tracer is installed. */
export class PollObserver {
  /** Polls made so far (the monitor's requests, for an operation). */
  polls = 0
  constructor(readonly span: Tracer.Span | undefined) {}
}

/**
 * @internal Runs `make`'s effect under one span `http.client.poll` (its polls' spans are its children), with
 * `sturdy.polls` and the outcome (`sturdy.failure_reason` for a `PollError`). Without a tracer: no span, no attribute,
 * no redacted URL.
 */
export const observePoll = <A, E, R>(
  request: HttpClientRequest.HttpClientRequest | undefined,
  make: (observer: PollObserver) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.clockWith((clock) =>
    Effect.withFiberRuntime<A, E, R>((fiber) => {
      if (!observe.isTracing(fiber)) return Effect.suspend(() => make(new PollObserver(undefined)))
      const pollTarget = request === undefined ? undefined : target(request)
      return Effect.flatMap(
        Effect.makeSpan(
          pollTarget === undefined ? "http.client.poll" : `http.client.poll ${spanMethod(pollTarget.method)}`,
          {
            kind: "internal",
            attributes: pollTarget === undefined ? {} : requestAttributes(pollTarget),
            captureStackTrace: false
          }
        ),
        (span) => {
          const observer = new PollObserver(span)
          return make(observer).pipe(
            Effect.provideService(Tracer.ParentSpan, span),
            Effect.onExit((exit) =>
              Effect.sync(() => {
                const result = outcomeOf(exit)
                annotateOutcome(span, result)
                const failure = result.failure
                if (hasProperty(failure, "reason") && typeof failure.reason === "string") {
                  span.attribute("sturdy.failure_reason", failure.reason)
                }
                span.attribute("sturdy.polls", observer.polls)
                span.end(
                  fiber.getFiberRef(FiberRef.currentTracerTimingEnabled) ? clock.unsafeCurrentTimeNanos() : 0n,
                  exit
                )
              })
            )
          )
        }
      )
    })
  )
