/**
 * A real `node:http` server on 127.0.0.1 that answers according to a `FaultScript`, for integration tests that need
 * real sockets: resets, truncated bodies, slow bodies and hangs as a real HTTP client sees them.
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
