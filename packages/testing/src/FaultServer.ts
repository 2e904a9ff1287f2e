/**
 * A real `node:http` server on 127.0.0.1 that answers according to a `FaultScript`, for integration tests that need
 * real sockets: resets, truncated bodies, slow bodies and hangs as a real HTTP client sees them.
 *
 * A connection that never opened (a `ConnectFailure`: refused, DNS, connect timeout, TLS) cannot be played by a
 * server the client is already connected to: such a fault is answered, after its latency, with a 500 whose text body
 * says so (header `x-fault-script-error: cannot play`), as a fault HTTP cannot send is. Play those on
 * `ScriptedClient`; for a real refused connection, send to {@link refusedUrl}. The server speaks HTTP/1.1, which has
 * no streams, so an HTTP/2 stream reset (a `StreamReset`: `refusedStream()`, `streamReset(code)`) is answered the same
 * way, a 500 after its latency that says it cannot play it: play those on `ScriptedClient`, or inject them with
 * `Chaos`.
 *
 * An event stream (`FaultScript.eventStream`) is sent chunked (no `Content-Length`), one chunk per event, and a drop
 * resets the connection after them; a ranged resource (`FaultScript.resource`) sets its own `Date` from the server's
 * clock, so that a `Last-Modified` validator is judged against it as on `ScriptedClient`.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type * as FaultScript from "./FaultScript.js"
import * as internal from "./internal/faultServer.js"

/**
 * A running fault server: its address plus the shared `FaultLog` controls.
 *
 * @since 0.1.0
 * @category models
 */
export interface FaultServer extends FaultScript.FaultLog.Service {
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  readonly url: string
  readonly port: number
}

/**
 * @since 0.1.0
 * @category tags
 */
export const FaultServer: Context.Tag<FaultServer, FaultServer> = Context.GenericTag<FaultServer>(
  "@sturdy/testing/FaultServer"
)

/**
 * Starts a server on 127.0.0.1 (a free port) that closes, with every open connection, when the scope closes. Latencies
 * and slow bodies use real timers; arrival times come from the Effect `Clock`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { FaultScript, FaultServer } from "@sturdy/testing"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const server = yield* FaultServer.make(FaultScript.routes({
 *     "GET /items": FaultScript.sequence(FaultScript.status(503), FaultScript.json({ items: [] }))
 *   }))
 *   const response = yield* Effect.promise(() => fetch(`${server.url}/items`))
 *   return response.status
 * }))
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const make: (routes: FaultScript.Routes) => Effect.Effect<FaultServer, never, Scope.Scope> = internal.make

/**
 * Provides the `FaultServer` and its `FaultScript.FaultLog`.
 *
 * @example
 * ```ts
 * import { FaultScript, FaultServer } from "@sturdy/testing"
 *
 * const ServerLive = FaultServer.layer(FaultScript.routes({ "GET /health": FaultScript.status(200) }))
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layer: (routes: FaultScript.Routes) => Layer.Layer<FaultServer | FaultScript.FaultLog> = (routes) =>
  internal.layer(FaultServer, routes)

/**
 * A `http://127.0.0.1:<port>` URL (no trailing slash) where nothing listens, so that a real client's connect is
 * refused (`ECONNREFUSED`): the port is one the OS just handed out and that was closed again. Another process could
 * take that port before the test connects; the OS hands ports out in turn, so this is rare, but it is not excluded.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { FaultServer } from "@sturdy/testing"
 *
 * const program = Effect.gen(function*() {
 *   const url = yield* FaultServer.refusedUrl
 *   return yield* Effect.either(Effect.tryPromise(() => fetch(`${url}/items`)))
 * })
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const refusedUrl: Effect.Effect<string> = internal.refusedUrl
