/**
 * A typed HTTP client service: base URL, default headers, and per-verb methods that return either the received
 * response or its JSON body decoded with a Schema, failing only with {@link HttpFailure.HttpFailure}s.
 *
 * Built on `HttpClient.HttpClient`, so any platform transport (undici, node:http, fetch) and any client middleware
 * (via `transformClient`) plug in underneath.
 *
 * @since 0.1.0
 */
import type * as Headers from "@effect/platform/Headers"
import type * as HttpBody from "@effect/platform/HttpBody"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as UrlParams from "@effect/platform/UrlParams"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import type * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Schema from "effect/Schema"
import type * as Attempt from "./Attempt.js"
import type * as HttpFailure from "./HttpFailure.js"
import * as internal from "./internal/sturdyClient.js"

/**
 * The client service.
 *
 * @since 0.1.0
 * @category models
 */
export interface SturdyClient extends SturdyClient.Service {}

/**
 * @since 0.1.0
 * @category models
 */
export declare namespace SturdyClient {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Options extends Attempt.Options {
    /** Prefix for relative request URLs; absolute URLs are left alone. */
    readonly baseUrl?: string | URL | undefined
    /** Headers sent with every request unless the request sets them. */
    readonly headers?: Headers.Input | undefined
    /** Wraps the platform client (auth, tracing, policies) before classification. */
    readonly transformClient?: ((client: HttpClient.HttpClient) => Attempt.Client) | undefined
  }

  /**
   * Per-request options; attempt options override the client's.
   *
   * @since 0.1.0
   * @category models
   */
  export interface RequestOptions<B = unknown, BI = unknown, BR = never> extends Attempt.Options {
    readonly urlParams?: UrlParams.Input | undefined
    readonly headers?: Headers.Input | undefined
    /** An `HttpBody` is sent as is; any other value is sent as JSON, encoded with `bodySchema` when given. */
    readonly body?: B | HttpBody.HttpBody | undefined
    readonly bodySchema?: Schema.Schema<B, BI, BR> | undefined
  }

  /**
   * A request method: with `schema` it returns the decoded body, without it the received response.
   *
   * @since 0.1.0
   * @category models
   */
  export interface Method {
    <A, I, R, B = unknown, BI = unknown, BR = never>(
      pathOrRequest: string | HttpClientRequest.HttpClientRequest,
      options: RequestOptions<B, BI, BR> & { readonly schema: Schema.Schema<A, I, R> }
    ): Effect.Effect<A, HttpFailure.HttpFailure, R | BR>
    <B = unknown, BI = unknown, BR = never>(
      pathOrRequest: string | HttpClientRequest.HttpClientRequest,
      options?: RequestOptions<B, BI, BR>
    ): Effect.Effect<Attempt.Received, HttpFailure.HttpFailure, BR>
  }

  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    /** The platform client with base URL, default headers and classification applied (bodies unread). */
    readonly client: HttpClient.HttpClient.With<HttpFailure.HttpFailure>
    /** Sends a request with its own method. */
    readonly execute: Method
    readonly get: Method
    readonly post: Method
    readonly put: Method
    readonly patch: Method
    readonly del: Method
    readonly head: Method
    readonly options: Method
    /** TRACE, which Effect's `HttpMethod` lacks (fetch refuses to send it; the Node transports do). */
    readonly trace: Method
    /** QUERY, the IETF's safe, idempotent method with a body: retried and hedged like GET. */
    readonly query: Method
  }
}

/**
 * The tag of the client service.
 *
 * @example
 * ```ts
 * import { SturdyClient } from "@sturdy/http"
 * import { Effect, Schema } from "effect"
 *
 * const User = Schema.Struct({ id: Schema.Number, name: Schema.String })
 * const program = Effect.flatMap(SturdyClient.SturdyClient, (api) => api.get("/users/1", { schema: User }))
 * ```
 * @since 0.1.0
 * @category tags
 */
export const SturdyClient: Context.Tag<SturdyClient, SturdyClient> = internal.tag

/**
 * Builds the service on a given platform client.
 *
 * @example
 * ```ts
 * import { HttpClient } from "@effect/platform"
 * import { SturdyClient } from "@sturdy/http"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const api = SturdyClient.makeWith(yield* HttpClient.HttpClient, { baseUrl: "https://api.example.com" })
 *   return yield* api.head("/health")
 * })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const makeWith: (client: HttpClient.HttpClient, options?: SturdyClient.Options) => SturdyClient =
  internal.makeWith

/**
 * Builds the service on the `HttpClient` in context.
 *
 * @example
 * ```ts
 * import { SturdyClient } from "@sturdy/http"
 * import { Effect, Schema } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const api = yield* SturdyClient.make({ baseUrl: "https://api.example.com", timeout: "5 seconds" })
 *   return yield* api.post("/users", {
 *     body: { name: "Ada" },
 *     bodySchema: Schema.Struct({ name: Schema.NonEmptyString }),
 *     schema: Schema.Struct({ id: Schema.Number })
 *   })
 * })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const make: (options?: SturdyClient.Options) => Effect.Effect<SturdyClient, never, HttpClient.HttpClient> =
  internal.make

/**
 * A layer providing the service, built on the `HttpClient` layer below it.
 *
 * @example
 * ```ts
 * import { NodeHttpClient } from "@effect/platform-node"
 * import { SturdyClient } from "@sturdy/http"
 * import { Layer } from "effect"
 *
 * const ApiLive = SturdyClient.layer({ baseUrl: "https://api.example.com" }).pipe(
 *   Layer.provide(NodeHttpClient.layerUndici)
 * )
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layer: (options?: SturdyClient.Options) => Layer.Layer<SturdyClient, never, HttpClient.HttpClient> =
  internal.layer

/**
 * A layer whose options are read from `Config` (e.g. the base URL from the environment).
 *
 * @example
 * ```ts
 * import { SturdyClient } from "@sturdy/http"
 * import { Config } from "effect"
 *
 * const ApiLive = SturdyClient.layerConfig({ baseUrl: Config.string("API_URL"), timeout: Config.duration("API_TIMEOUT") })
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: (
  options: Config.Config.Wrap<SturdyClient.Options>
) => Layer.Layer<SturdyClient, ConfigError.ConfigError, HttpClient.HttpClient> = internal.layerConfig
