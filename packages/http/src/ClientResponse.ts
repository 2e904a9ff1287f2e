/**
 * A base class for hand-written `HttpClientResponse`s: transports, test doubles and middleware that wraps a
 * response. A subclass gives the request, status, headers, the body as a stream and the whole body as bytes; the
 * base derives the rest as `@effect/platform`'s own responses do: `text` (UTF-8), `json` (an empty body is
 * `null`), `arrayBuffer`, `urlParamsBody`, `formData`, `cookies` (from `Set-Cookie`), an empty `remoteAddress`,
 * inspection and `toJSON`, and a `ResponseError` with reason `Decode` for a body that does not decode.
 *
 * When `bytes` is an `Exit` (the body has already arrived), the decoded body is an `Exit` too: no extra Effect step
 * on the fast path. Sturdy's undici transport and its credential-redacting responses are built on it. So are the
 * responses of `@sturdy/testing`'s scripted client, though its `HttpClient.make` hands them to callers wrapped in the
 * platform's own response.
 *
 * @since 0.2.0
 */
import * as internal from "./internal/clientResponse.js"

/**
 * The base class. Implement `request`, `status`, `headers`, `stream` and `bytes`; override `cookies` when the
 * transport keeps each `Set-Cookie` apart (a joined header cannot be split safely), and `header(name)` (one header
 * by its lower-case name, `headers[name]` by default) when it can find one without building every header, and
 * `receivedBodyBytes` (since 0.2.0; `undefined` by default) when the transport decompresses and knows how many bytes
 * of the body came over the wire: telemetry reports them as `http.response.body.size`.
 *
 * @example
 * ```ts
 * import { Headers, HttpClientRequest, type HttpClientError } from "@effect/platform"
 * import { ClientResponse } from "@sturdy/http"
 * import { Effect, Exit, Stream } from "effect"
 *
 * class StaticResponse extends ClientResponse.Class {
 *   constructor(
 *     readonly request: HttpClientRequest.HttpClientRequest,
 *     readonly status: number,
 *     readonly headers: Headers.Headers,
 *     private readonly body: Uint8Array
 *   ) {
 *     super()
 *   }
 *   get bytes(): Effect.Effect<Uint8Array, HttpClientError.ResponseError> {
 *     return Exit.succeed(this.body)
 *   }
 *   get stream(): Stream.Stream<Uint8Array, HttpClientError.ResponseError> {
 *     return Stream.succeed(this.body)
 *   }
 * }
 *
 * const response = new StaticResponse(
 *   HttpClientRequest.get("http://127.0.0.1/users/1"),
 *   200,
 *   Headers.fromInput({ "content-type": "application/json" }),
 *   new TextEncoder().encode(`{"id":1}`)
 * )
 * console.log(Effect.runSync(response.json)) // { id: 1 }
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const Class: typeof internal.Class = internal.Class

/**
 * A response built on {@link Class}.
 *
 * @since 0.2.0
 * @category models
 */
export interface Class extends internal.Class {}
