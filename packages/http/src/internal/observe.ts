import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import { hasProperty } from "effect/Predicate"
import type * as Tracer from "effect/Tracer"
import * as clientResponse from "./clientResponse.js"
import * as httpFailure from "./httpFailure.js"

// What the observation of calls reads, once for the package: whether a fiber's spans go anywhere, the status of a
// result or a failure, and which failures are a policy's own rejections.

// The tracer every fiber has unless a real one (OpenTelemetry, ...) is installed: its spans go nowhere.
const nativeTracer: Tracer.Tracer = Effect.runSync(Effect.tracer)

/** @internal Whether the fiber's spans go anywhere: a real tracer is installed and tracing is on. */
export const isTracing = (fiber: Fiber.RuntimeFiber<unknown, unknown>): boolean =>
  fiber.currentTracer !== nativeTracer && fiber.getFiberRef(FiberRef.currentTracerEnabled)

const isResponse = (u: unknown): u is HttpClientResponse.HttpClientResponse =>
  typeof u === "object" && u !== null && HttpClientResponse.TypeId in u

const numericStatus = (u: unknown): number | undefined =>
  hasProperty(u, "status") && typeof u.status === "number" ? u.status : undefined

/**
 * The status of a response, an `Attempt.Received` (its response's) or a failure with a status; never of a decoded
 * body, whose `status` means something else.
 * @internal
 */
export const statusOf = (u: unknown): number | undefined => {
  if (isResponse(u)) return u.status
  if (hasProperty(u, "response") && isResponse(u.response)) return u.response.status
  return httpFailure.isHttpFailure(u) ? numericStatus(u) : undefined
}

/**
 * The policies' own rejections, by tag: the policy that turned the call or the attempt away (as telemetry names it),
 * and whether it turns away one attempt (the breaker, the bulkhead, the adaptive throttle and the concurrency limit,
 * inside the retries) or the whole call.
 * @internal
 */
export const rejections: Readonly<
  Record<string, { readonly policy: string; readonly rejects: "attempt" | "call" } | undefined>
> = {
  CircuitOpen: { policy: "circuit_breaker", rejects: "attempt" },
  BulkheadRejected: { policy: "bulkhead", rejects: "attempt" },
  ConcurrencyLimitExceeded: { policy: "concurrency_limit", rejects: "attempt" },
  RateLimitExceeded: { policy: "rate_limit", rejects: "call" },
  RateLimitStoreError: { policy: "rate_limit", rejects: "call" },
  AdaptiveThrottleRejected: { policy: "adaptive_throttle", rejects: "attempt" }
}

/**
 * `http.request.body.size`: the length of a request body known before it is sent (none, bytes, a text encoded as
 * bytes); `undefined` for a stream, form data, or a raw body that is not bytes, whose length is known only once sent.
 * @internal
 */
export const requestBodySize = (request: HttpClientRequest.HttpClientRequest): number | undefined => {
  const body = request.body
  switch (body._tag) {
    case "Empty":
      return 0
    case "Uint8Array":
      return body.body.byteLength
    case "Raw":
      return body.body instanceof Uint8Array ? body.body.byteLength : undefined
    default:
      return undefined
  }
}

const identityCoding = /^\s*(identity\s*)?$/i

/**
 * `http.response.body.size` of a body read to its end as `read` bytes: the bytes on the wire. A transport that
 * decompresses says how many came (`ClientResponse.receivedBodyBytes`); one that decodes and keeps
 * `Content-Encoding` (fetch) leaves the declared `Content-Length`, or nothing when there is none; otherwise the bytes
 * read are the bytes sent.
 * @internal
 */
export const responseBodySize = (response: HttpClientResponse.HttpClientResponse, read: number): number | undefined => {
  const isClass = response instanceof clientResponse.Class
  if (isClass) {
    const received = response.receivedBodyBytes
    if (received !== undefined) return received
  }
  const encoding = isClass ? response.header("content-encoding") : response.headers["content-encoding"]
  if (encoding === undefined || identityCoding.test(encoding)) return read
  const declared = Number(isClass ? response.header("content-length") : response.headers["content-length"])
  return Number.isSafeInteger(declared) && declared >= 0 ? declared : undefined
}

/**
 * @internal The span a body read reports its size to: the attempt's client span (`Telemetry.attempt`'s, or the
 * redacted `http.client` span), when a real tracer is installed.
 */
export const bodySizeSpan = (fiber: Fiber.RuntimeFiber<unknown, unknown>): Tracer.Span | undefined => {
  const span = fiber.currentSpan
  return span !== undefined && span._tag === "Span" && span.kind === "client" && isTracing(fiber) ? span : undefined
}

/** @internal Sets `http.response.body.size` on `span` for a body read whole as `read` bytes. */
export const recordResponseBodySize = (
  span: Tracer.Span,
  response: HttpClientResponse.HttpClientResponse,
  read: number
): void => {
  const size = responseBodySize(response, read)
  if (size !== undefined) span.attribute("http.response.body.size", size)
}
