import type * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import type * as HttpFailure from "../HttpFailure.js"
import * as httpFailure from "./httpFailure.js"

/** @internal */
export const headerName = "idempotency-key"

/** @internal */
export const idempotentMethods: ReadonlySet<string> = new Set([
  "GET",
  "HEAD",
  "OPTIONS",
  "TRACE",
  "PUT",
  "DELETE",
  // the HTTP QUERY method (draft-ietf-httpbis-safe-method-w-body): safe and idempotent, like GET, with a body
  "QUERY"
])

/** @internal */
export const isIdempotentMethod = (method: string): boolean =>
  idempotentMethods.has(method) || idempotentMethods.has(method.toUpperCase())

// A field value has no spaces or tabs around it (RFC 9110 §5.5; clients and servers drop them): a key of only those
// reaches the server empty, and is no key.
const blank = /^[ \t]*$/

/** @internal */
export const hasKey = (request: HttpClientRequest.HttpClientRequest): boolean => {
  const value = request.headers[headerName]
  return value !== undefined && !blank.test(value)
}

// the method as `isIdempotentMethod` reads it (case-insensitively): `get` is GET
/** @internal */
export const isIdempotent = (request: HttpClientRequest.HttpClientRequest): boolean =>
  isIdempotentMethod(request.method) || hasKey(request)

/**
 * Whether a body can be sent again: a `Stream` body, or a raw body that is a Node `Readable`, a web `ReadableStream`,
 * an async iterable or an iterator (a generator), is read once by the first send (a second gets nothing, or an empty body), as fetch, OkHttp's
 * one-shot bodies, got and undici's `RetryHandler` all hold.
 *
 * @internal
 */
export const isRepeatableBody = (body: HttpBody.HttpBody): boolean => {
  if (body._tag === "Stream") return false
  if (body._tag !== "Raw") return true
  const raw: unknown = body.body
  if (typeof raw !== "object" || raw === null) return true
  // an iterator (a generator's, say) is consumed by the first send too; an array is iterable but no iterator
  return !(typeof (raw as { pipe?: unknown }).pipe === "function" ||
    typeof (raw as { getReader?: unknown }).getReader === "function" ||
    typeof (raw as { next?: unknown }).next === "function" ||
    Symbol.asyncIterator in raw)
}

/** @internal */
export const isSafeToRepeat = (
  request: HttpClientRequest.HttpClientRequest,
  failure: HttpFailure.HttpFailure
): boolean => isIdempotent(request) || !httpFailure.mayHaveReachedServer(failure)

/** @internal */
export const generateKey: Effect.Effect<string> = Effect.sync(() => globalThis.crypto.randomUUID())

/** @internal */
export const ensureKey = (
  request: HttpClientRequest.HttpClientRequest
): Effect.Effect<HttpClientRequest.HttpClientRequest> =>
  isIdempotent(request)
    ? Effect.succeed(request)
    : Effect.map(generateKey, (key) => HttpClientRequest.setHeader(request, headerName, key))
