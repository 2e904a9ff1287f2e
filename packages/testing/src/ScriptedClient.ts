/**
 * An in-memory `HttpClient` that answers according to a `FaultScript`, driven by the Effect `Clock`: fast,
 * deterministic and socket-free, for unit tests under `TestClock`.
 *
 * Latencies and slow bodies are `Effect.sleep`s. Resets and truncations fail the way `NodeHttpClient.layerUndici`
 * fails against `FaultServer`, and connections that never open (`ConnectFailure`, which `FaultServer` cannot play)
 * the way it and `@sturdy/node`'s `UndiciHttpClient` fail on Node 20, with causes shaped like Node's and undici's, so
 * `HttpFailure` classifies them the same:
 *
 * | fault                          | error                      | cause                                                        |
 * | ------------------------------ | -------------------------- | ------------------------------------------------------------ |
 * | reset before headers           | `RequestError` `Transport` | `Error` `code: "ECONNRESET"`                                 |
 * | reset mid-body, truncated      | `ResponseError` `Decode`   | `SocketError` `code: "UND_ERR_SOCKET"`                       |
 * | malformed JSON (`.json`)       | `ResponseError` `Decode`   | `SyntaxError`                                                |
 * | hang                           | never completes            | until interrupted (e.g. `Effect.timeout`)                    |
 * | `refused()`                    | `RequestError` `Transport` | `Error` `code: "ECONNREFUSED"`, `syscall: "connect"`         |
 * | `dnsFailure()`                 | `RequestError` `Transport` | `Error` `code: "ENOTFOUND"`, `syscall: "getaddrinfo"`        |
 * | `dnsFailure("temporary")`      | `RequestError` `Transport` | `Error` `code: "EAI_AGAIN"`, `syscall: "getaddrinfo"`        |
 * | `connectTimeout()`             | `RequestError` `Transport` | `ConnectTimeoutError` `code: "UND_ERR_CONNECT_TIMEOUT"`      |
 * | `tlsFailure()`                 | `RequestError` `Transport` | `Error` `code: "DEPTH_ZERO_SELF_SIGNED_CERT"`                |
 * | `refusedStream()`              | `RequestError` `Transport` | `Http2StreamReset` `code: "NGHTTP2_REFUSED_STREAM"`, unsent  |
 * | `streamReset()`                | `RequestError` `Transport` | `Http2StreamReset` `code: "NGHTTP2_INTERNAL_ERROR"`          |
 * | `eventStream(…, { dropAfter })` | `ResponseError` `Decode`   | `SocketError` `code: "UND_ERR_SOCKET"`, after the events     |
 * | `resource(…, { cutAt })`       | `ResponseError` `Decode`   | `SocketError` `code: "UND_ERR_SOCKET"`, at the cut           |
 *
 * A connect failure arrives after the fault's latency. Its cause names the request URL's host and port (the port
 * the scheme implies when the URL has none) where Node names the address it tried: the same for a URL with an IP
 * address, such as `FaultServer.refusedUrl`'s; for a host name Node would name the address it resolved to. Until then
 * the request is not written: an attempt timeout that fires first (a `connectTimeout({ latency: "15 seconds" })` under
 * a 10 s attempt timeout) is a `Timeout` with `requestSent: false`, which `Policy` retries even for a POST, as with
 * `@sturdy/node`'s transport. Every other fault is played on an open connection, its request written at once.
 *
 * An HTTP/2 stream the server resets (`refusedStream()`, `streamReset(code)`, which `FaultServer` cannot play either)
 * fails after its latency as `@sturdy/node`'s `UndiciHttpClient` with `http2` fails it: the cause is its
 * `Http2StreamReset` (name, `code: "NGHTTP2_<code>"` and message as it writes them, Node's `ERR_HTTP2_STREAM_ERROR` as
 * its own cause), except where undici does not report the code (`NO_ERROR`, `CANCEL`: its `InformationalError`
 * `UND_ERR_INFO`); see `FaultScript.StreamReset`. A refused stream was not
 * processed: its `RequestError` carries `requestSent: false` (not enumerable), as that transport marks it, so
 * `HttpFailure` reads a `ConnectionError` that never reached the server and `Policy` retries it even for a POST. After
 * any other code the request may have been processed. Either way the request was written on an open connection: an
 * attempt timeout that fires before the reset arrives is a `Timeout` that may have reached the server.
 *
 * An event stream (`FaultScript.eventStream`) and a ranged resource (`FaultScript.resource`) read the request's
 * `Last-Event-ID`, `Range` and `If-Range` headers and answer as `FaultServer` does; a hanging event stream stays open
 * (beating on the `Clock` when asked) until the client goes away.
 *
 * A body is read as by Sturdy's undici transport: the first read that runs takes it; a body read whole is kept for
 * every later reader, a stream included, and a body being streamed fails any other reader (`ResponseError` `Decode`,
 * "Body has already been consumed").
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type * as FaultScript from "./FaultScript.js"
import * as internal from "./internal/scriptedClient.js"

/**
 * A scripted client and the shared `FaultLog` controls.
 *
 * @since 0.1.0
 * @category models
 */
export interface ScriptedClient extends FaultScript.FaultLog.Service {
  readonly client: HttpClient.HttpClient
}

/**
 * Builds a scripted client; outage windows count from the `Clock` time at which it is made. Responders still running
 * (slow bodies, hangs) are interrupted when the scope closes.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { FaultScript, ScriptedClient } from "@sturdy/testing"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const scripted = yield* ScriptedClient.make(FaultScript.routes({ "GET /items": FaultScript.status(503) }))
 *   const response = yield* scripted.client.get("http://api.test/items")
 *   return response.status
 * }))
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const make: (routes: FaultScript.Routes) => Effect.Effect<ScriptedClient, never, Scope.Scope> = internal.make

/**
 * Provides `HttpClient.HttpClient` and `FaultScript.FaultLog`.
 *
 * @example
 * ```ts
 * import { FaultScript, ScriptedClient } from "@sturdy/testing"
 *
 * const ClientTest = ScriptedClient.layer(FaultScript.routes({
 *   "GET /items": FaultScript.sequence(FaultScript.reset("beforeHeaders"), FaultScript.json({ items: [] }))
 * }))
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layer: (routes: FaultScript.Routes) => Layer.Layer<HttpClient.HttpClient | FaultScript.FaultLog> =
  internal.layer

/**
 * The `Error` a connection reset surfaces as (`code: "ECONNRESET"`, like Node's socket errors).
 *
 * @example
 * ```ts
 * import { ScriptedClient } from "@sturdy/testing"
 *
 * const cause = ScriptedClient.connectionReset()
 * console.log(cause.code) // "ECONNRESET"
 * ```
 * @since 0.1.0
 * @category errors
 */
export const connectionReset: () => Error & { readonly code: "ECONNRESET" } = internal.connectionReset

/**
 * The `Error` a connection closed by the server surfaces as (undici's `SocketError`, `code: "UND_ERR_SOCKET"`).
 *
 * @example
 * ```ts
 * import { ScriptedClient } from "@sturdy/testing"
 *
 * const cause = ScriptedClient.socketClosed()
 * console.log(cause.name, cause.code) // "SocketError" "UND_ERR_SOCKET"
 * ```
 * @since 0.1.0
 * @category errors
 */
export const socketClosed: () => Error & { readonly code: "UND_ERR_SOCKET" } = internal.socketClosed

/**
 * The `Error` a connection that never opened surfaces as, for a request to `url` (see the table above): what
 * `ScriptedClient` fails a `ConnectFailure` with.
 *
 * @example
 * ```ts
 * import { FaultScript, ScriptedClient } from "@sturdy/testing"
 *
 * const cause = ScriptedClient.connectFailed(FaultScript.refused(), "http://127.0.0.1:8080/items")
 * console.log(cause.message, cause.code) // "connect ECONNREFUSED 127.0.0.1:8080" "ECONNREFUSED"
 * ```
 * @since 0.2.0
 * @category errors
 */
export const connectFailed: (
  fault: FaultScript.ConnectFailure,
  url: string | URL
) => Error & { readonly code: string } = internal.connectFailed
