import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpTraceContext from "@effect/platform/HttpTraceContext"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import { constTrue } from "effect/Function"
import type * as Tracer from "effect/Tracer"
import * as observe from "./observe.js"
import * as redaction from "./redaction.js"

/** @internal What the span records of the response, once it arrives. */
export interface ResponseRecorder {
  (response: HttpClientResponse.HttpClientResponse): void
}

/**
 * Runs one request under a client span whose attributes are redacted, in place of @effect/platform's: the platform's
 * span records `url.full` and `url.query` verbatim and ends with the transport's raw error, whose message names the
 * raw URL. Nothing changes when no real tracer is installed or the platform's span is disabled for the request (a
 * `Policy` or `Telemetry.attempt` records its own).
 *
 * @internal
 */
export const withRedactedSpan = <A, E, R>(
  request: HttpClientRequest.HttpClientRequest,
  run: (
    request: HttpClientRequest.HttpClientRequest,
    record: ResponseRecorder | undefined,
    span: Tracer.Span | undefined
  ) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> => Effect.withFiberRuntime((fiber) => withRedactedSpanIn(fiber, request, run))

/**
 * Whether a request sent from `fiber` gets a client span: a real tracer is installed and the platform's span is not
 * disabled for the request.
 * @internal
 */
export const isSpanned = (
  fiber: Fiber.RuntimeFiber<unknown, unknown>,
  request: HttpClientRequest.HttpClientRequest
): boolean => observe.isTracing(fiber) && !fiber.getFiberRef(HttpClient.currentTracerDisabledWhen)(request)

/** `withRedactedSpan` from a step that already has the fiber. @internal */
export const withRedactedSpanIn = <A, E, R>(
  fiber: Fiber.RuntimeFiber<unknown, unknown>,
  request: HttpClientRequest.HttpClientRequest,
  run: (
    request: HttpClientRequest.HttpClientRequest,
    record: ResponseRecorder | undefined,
    span: Tracer.Span | undefined
  ) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> => {
  if (!isSpanned(fiber, request)) return run(request, undefined, undefined)
  const secrets = redaction.secretsOf(request)
  const url = redaction.redactUrlWithParams(request.url, request.urlParams, secrets)
  const attributes: Record<string, unknown> = { "http.request.method": request.method, "url.full": url }
  try {
    const parsed = new URL(url)
    attributes["server.address"] = parsed.hostname
    if (parsed.port !== "") attributes["server.port"] = Number(parsed.port)
    attributes["url.path"] = parsed.pathname
    attributes["url.scheme"] = parsed.protocol.slice(0, -1)
    const query = url.indexOf("?")
    if (query !== -1) attributes["url.query"] = url.slice(query + 1)
  } catch {
    // a URL that does not parse fails in the transport; `url.full` says what it was
  }
  const bodySize = observe.requestBodySize(request)
  if (bodySize !== undefined) attributes["http.request.body.size"] = bodySize
  const headers = redaction.redactHeaders(request.headers, secrets)
  for (const name in headers) attributes[`http.request.header.${name}`] = headers[name]
  const name = Context.get(fiber.currentContext, HttpClient.SpanNameGenerator)(request)
  return Effect.useSpan(name, { kind: "client", attributes, captureStackTrace: false }, (span) => {
    const sent = fiber.getFiberRef(HttpClient.currentTracerPropagation)
      ? HttpClientRequest.setHeaders(request, HttpTraceContext.toHeaders(span))
      : request
    const record: ResponseRecorder = (response) => {
      span.attribute("http.response.status_code", response.status)
      const headers = redaction.redactHeaders(response.headers, secrets)
      for (const name in headers) span.attribute(`http.response.header.${name}`, headers[name])
    }
    return run(sent, record, span).pipe(
      Effect.locally(HttpClient.currentTracerDisabledWhen, constTrue),
      Effect.withParentSpan(span)
    )
  })
}
