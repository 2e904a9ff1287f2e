/**
 * The typed HTTP client service: base URL, default headers, and per-verb methods that return either the received
 * response or its JSON body decoded with a Schema.
 *
 * Its calls run through a `Policy` when it has one (the `Policy` service in context for {@link make}, {@link layer}
 * and {@link layerConfig}, or `policy` in the options, which wins): retries, deadline, breaker, bulkhead and the rest
 * of the pipeline. Without one, each call is one attempt. The methods fail with `Policy.Failure`: an
 * {@link HttpFailure.HttpFailure}, or one of the policy's rejections (`CircuitOpen`, `BulkheadRejected`,
 * `AdaptiveThrottleRejected`, `ConcurrencyLimitExceeded`, `RateLimitExceeded`, `RetryBudgetExhausted`), which only a
 * client with a policy can produce.
 *
 * Each call builds its request once (base URL, default headers, `headers`, `urlParams`, the body encoded once, the
 * URL fragment dropped): the pipeline decides on the request as it is sent (an `Idempotency-Key` in `headers`
 * counts) and every attempt, retry or hedge sends that same request.
 *
 * Timeouts: the client's or the request's `timeout` bounds each attempt. With a policy, the policy's
 * `attemptTimeout` bounds each attempt too, and the shorter of the two applies; one timer is armed for it (none on a
 * transport that enforces deadlines itself, as `@sturdy/node`'s does). Either way, an attempt that runs out of time
 * fails with `HttpFailure.Timeout` (phase `"Attempt"`), which the policy retries like any attempt timeout.
 *
 * Options: the attempt options (`maxBodyBytes`, `timeout`, `bodyTimeout`, `expectedContentTypes`, `errorSchema`,
 * `maxJsonDepth`; their ranges are in `Attempt`'s table) are checked once, when the client is built, and durations
 * decoded there; a request's own are checked only when it sets any. A value out of range (`NaN`, a negative or
 * fractional limit, a duration that does not parse) is never read as "no limit": the constructors cannot fail, so
 * every call of such a client fails with `HttpFailure.InvalidRequest` (reason `InvalidOptions`, its `detail` naming
 * every option that is wrong and why) before anything is sent, as a request with a bad option of its own does.
 * `layerConfig` checks the values it read and fails with a `ConfigError` instead.
 *
 * Replicas: with `replicas` (origins of the upstream `baseUrl` names), each attempt of a call (each retry, each hedge
 * copy) whose URL has `baseUrl`'s origin is sent to the replica a `Balancer` (`@sturdy/policy`) picks: the replica's
 * origin replaces the request's scheme, host and port, the path and query stay. A request to another origin (an
 * absolute URL) is sent as it is. The call runs in `Balancer.avoidRepeats`: a retry or a hedge goes to a replica the
 * call has not tried yet, unless it has tried them all. The policy's keys, breaker, budget and limits, and the call's
 * span and metrics, stay those of the logical upstream (`baseUrl`); an attempt's span shows the replica it was sent
 * to (`server.address`, `server.port`, `url.full`, `sturdy.balancer.endpoint`), and a failure names the URL sent
 * (redacted, as always). The balancer learns from each attempt's own failure: unless `outlier.isFailure` is set, a
 * failure counts toward ejecting the replica when it says the replica is at fault: what the breaker counts by default
 * (a refused or reset connection, an attempt timeout, a body cut short, a 408 or a transient 5xx: 500, 502, 503,
 * 504), and a DNS or TLS failure (the breaker ignores those, as every request of a logical upstream would fail alike;
 * a replica's own name or certificate is that replica's fault). A 4xx (429 included), a bad body and the caller's own
 * deadline count as answers (or as nothing about the replica). `Balancer.OutlierOptions.isFailure`'s own default, every failure, would eject a replica
 * for the 404s of a missing resource. A replica is an origin only (`https://host:port`, a trailing `/` allowed): a
 * path, query, fragment or credentials in it, a scheme other than http(s), duplicates, an empty list, a `Balancer`
 * option out of its domain, or `replicas` without `baseUrl` make every call fail with `InvalidRequest`
 * (`InvalidOptions`), as any option out of range does. `client` (the platform client of the service) is not
 * balanced. The balancer is made with the client, once: `replicas` on the service shows it (`snapshot`, `changes`).
 *
 * @example
 * ```ts
 * import { HttpClient } from "@effect/platform"
 * import { Policy, SturdyClient } from "@sturdy/http"
 * import { Effect, Option } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const policy = yield* Policy.make({ retry: { maxAttempts: 3 } })
 *   const api = SturdyClient.makeWith(yield* HttpClient.HttpClient, {
 *     baseUrl: "https://api.example.com/v1",
 *     policy,
 *     // GET /users/1 goes to https://eu-1.example.com/v1/users/1 or to eu-2; a retry goes to the other one
 *     replicas: {
 *       urls: ["https://eu-1.example.com", "https://eu-2.example.com:8443"],
 *       strategy: "round-robin",
 *       outlier: { consecutiveFailures: 3, baseEjectionTime: "10 seconds" }
 *     }
 *   })
 *   const user = yield* api.get("/users/1")
 *   const loads = yield* Option.match(api.replicas, { onNone: () => Effect.succeed([]), onSome: (b) => b.snapshot })
 *   return { user, loads }
 * }).pipe(Effect.scoped)
 * ```
 *
 * Caching: with `cache` (an `HttpCache.make`), each call goes through that private HTTP cache, which sits outside the
 * policy, as `client.pipe(Policy.withPolicy(policy), HttpCache.withCache(cache))` would place it. A fresh hit makes
 * no attempt: no stage of the policy sees it (no bulkhead slot, rate-limit token, breaker probe or retry budget
 * deposit). A stale response is revalidated by one call through the policy, where a 304 counts as the upstream's
 * success, and `stale-if-error` answers once the policy has given up (its retries spent on a connection failure, a
 * timeout, a 500, 502, 503 or 504, or its breaker open). Only what an attempt accepts (a 2xx, or a 304 to a
 * revalidation) is stored. Whatever the cache answers, stored or not, is checked and decoded with the call's own
 * `schema` and attempt options. The key is the logical URL (`baseUrl`'s origin), whichever replica answered. `POST`,
 * `PUT`, `PATCH` and `DELETE` pass through the cache, so that a success invalidates the URL, and are never answered
 * from it. A method called without `schema` returns the cache's response: `HttpCache.provenance(received.response)`
 * says how it was produced. With a policy, the call's span and metrics wrap the cache: a fresh hit is a call with
 * `sturdy.attempts` 0, and every call's span carries `sturdy.cache`. Without `cache`, a call has no cache step at
 * all.
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
import type * as Balancer from "@sturdy/policy/Balancer"
import type * as Arr from "effect/Array"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import type * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Schema from "effect/Schema"
import type * as Attempt from "./Attempt.js"
import type * as HttpCache from "./HttpCache.js"
import type * as HttpFailure from "./HttpFailure.js"
import * as internal from "./internal/sturdyClient.js"
import type * as Policy from "./Policy.js"

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
   * The client's options; its attempt options are the defaults of every call, checked when the client is built.
   *
   * @since 0.1.0
   * @category models
   */
  export interface Options extends Attempt.Options {
    /**
     * Prefix for relative request URLs: a path joins the base's path with one `/` between, a query of the base
     * comes first in the request's (`https://api.example.com/v1?key=k` and `/users?page=2` send
     * `/v1/users?key=k&page=2`; `?page=2` alone keeps the base's path as written), and a fragment of the base is
     * dropped. A URL with a scheme and `//` (`https://…`) is absolute and left alone; `images:annotate` is a path (as
     * ky and got read it).
     */
    readonly baseUrl?: string | URL | undefined
    /** Headers sent with every request unless the request sets them. */
    readonly headers?: Headers.Input | undefined
    /**
     * Wraps the platform client (auth, tracing, policies) before classification. Its middleware sees each request as
     * it is sent, base URL and default headers applied, whether it comes from a method or from `client`.
     */
    readonly transformClient?: ((client: HttpClient.HttpClient) => Attempt.Client) | undefined
    /**
     * The pipeline every call runs through. Unset: the `Policy` in context for `make`, `layer` and `layerConfig`,
     * none for `makeWith`. With none, each call is one attempt.
     */
    readonly policy?: Policy.Policy | undefined
    /**
     * The replicas of the upstream `baseUrl` names, as origins (`scheme://host:port`, nothing after): each attempt
     * of a call (each retry, each hedge copy) whose URL has the base URL's origin is sent to the replica a
     * `Balancer` picks, that origin replaced by the replica's; a retry or a hedge prefers a replica the call has not
     * tried yet. An array of origins balances with `Balancer`'s defaults (p2c); `{ urls, strategy, outlier, ... }`
     * sets its options. Unless `outlier.isFailure` is set, only failures that say the replica is at fault (a
     * connection failure, DNS or TLS included, an attempt timeout, a transient 5xx; never a 4xx) count toward ejecting it. Needs
     * `baseUrl`; a replica with a path, a query or a fragment is refused. See the module docs.
     *
     * @example
     * ```ts
     * import type { SturdyClient } from "@sturdy/http"
     *
     * const options: SturdyClient.SturdyClient.Options = {
     *   baseUrl: "https://api.example.com/v1",
     *   replicas: ["https://10.0.0.1:8443", "https://10.0.0.2:8443", "https://10.0.0.3:8443"]
     * }
     * ```
     */
    readonly replicas?: Replicas | undefined
    /**
     * A private HTTP cache (RFC 9111) the calls go through, outside the policy, as
     * `client.pipe(Policy.withPolicy(policy), HttpCache.withCache(cache))` would have it: a fresh hit makes no
     * attempt (no bulkhead slot, rate-limit token, breaker probe or retry budget is used); a stale response is
     * revalidated through the policy (a 304 is the upstream's success); `stale-if-error` answers once the policy has
     * given up (its retries spent on a connection failure, a timeout or a 500, 502, 503 or 504, its breaker open, or
     * another of its rejections). Only an answer the attempt takes (a 2xx, or a 304 to the cache's revalidation) is
     * stored; the methods decode what the cache answers (stored or not) with the call's `schema` and attempt options,
     * so a stored body that does not match is the same failure as a fresh one. The key is the logical URL (the base
     * URL's origin), whichever replica answered. `POST`, `PUT`, `PATCH` and `DELETE` go through it, so that their
     * success invalidates the URL, and are never answered from it. A method called without `schema` returns the
     * response the cache answered: `HttpCache.provenance(received.response)` tells `fresh`, `stale`, `revalidated` or
     * `miss`. With a policy, the call's span (and its metrics) is around the cache and carries `sturdy.cache`; a
     * fresh hit is a call of 0 attempts. A cache is made (`HttpCache.make`, in a scope), not configured: nothing in
     * the environment names one, so give it to `makeWith`, `make` or `layer` (`layerConfig` takes it only as
     * `Config.succeed(cache)`). A value that is not such a cache fails every call with `InvalidRequest`
     * (`InvalidOptions`), and `layerConfig` with a `ConfigError`.
     *
     * @example
     * ```ts
     * import { HttpClient } from "@effect/platform"
     * import { HttpCache, Policy, SturdyClient } from "@sturdy/http"
     * import { Effect, Option, Schema } from "effect"
     *
     * const Config = Schema.Struct({ flags: Schema.Array(Schema.String) })
     * const program = Effect.gen(function*() {
     *   const cache = yield* HttpCache.make({ staleIfError: "10 minutes" })
     *   const api = SturdyClient.makeWith(yield* HttpClient.HttpClient, {
     *     baseUrl: "https://api.example.com",
     *     policy: yield* Policy.make({ retry: { maxAttempts: 3 } }),
     *     cache
     *   })
     *   const config = yield* api.get("/config", { schema: Config })
     *   const received = yield* api.get("/config")
     *   return { config, fromCache: Option.exists(HttpCache.provenance(received.response), (p) => p !== "miss") }
     * }).pipe(Effect.scoped, Effect.provide(HttpCache.layerMemory()))
     * ```
     * @since 0.2.0
     */
    readonly cache?: HttpCache.HttpCache | undefined
  }

  /**
   * The replicas of a client: their origins, or their origins and the `Balancer` options (all but `endpoints` and
   * `key`: the endpoints are the origins, each its own key).
   *
   * @example
   * ```ts
   * import type { SturdyClient } from "@sturdy/http"
   *
   * const replicas: SturdyClient.SturdyClient.Replicas = ["https://a.example.com", new URL("https://b.example.com")]
   * ```
   * @since 0.2.0
   * @category models
   */
  export type Replicas = ReadonlyArray<string | URL> | ReplicaOptions

  /**
   * The replicas' origins and the options of their `Balancer`. Unset, `outlier.isFailure` counts the failures that
   * say the replica is at fault (see the module docs).
   *
   * @example
   * ```ts
   * import type { SturdyClient } from "@sturdy/http"
   *
   * const replicas: SturdyClient.SturdyClient.ReplicaOptions = {
   *   urls: ["https://a.example.com", "https://b.example.com"],
   *   strategy: "round-robin",
   *   outlier: { consecutiveFailures: 3, maxEjectionPercent: 50 }
   * }
   * ```
   * @since 0.2.0
   * @category models
   */
  export interface ReplicaOptions extends Omit<Balancer.Options<string>, "endpoints" | "key"> {
    readonly urls: Arr.NonEmptyReadonlyArray<string | URL>
  }

  /**
   * Per-request options; attempt options override the client's (an infinite `timeout` or `bodyTimeout` lifts the
   * client's), and are checked when given. `onEvent` observes this call's pipeline events
   * (with a policy; see `Policy.RunOptions`).
   *
   * @since 0.1.0
   * @category models
   */
  export interface RequestOptions<B = unknown, BI = unknown, BR = never> extends Attempt.Options, Policy.RunOptions {
    readonly urlParams?: UrlParams.Input | undefined
    readonly headers?: Headers.Input | undefined
    /** An `HttpBody` is sent as is; any other value is sent as JSON, encoded with `bodySchema` when given. */
    readonly body?: B | HttpBody.HttpBody | undefined
    readonly bodySchema?: Schema.Schema<B, BI, BR> | undefined
  }

  /**
   * A request method: with `schema` it returns the decoded body, without it the received response. It fails with
   * `E`: `Policy.Failure` (an `HttpFailure`, or, with a policy, one of the policy's rejections), or only
   * `HttpFailure` for a client that `makeWith` built without a policy.
   *
   * @since 0.1.0
   * @category models
   */
  export interface Method<E = Policy.Failure> {
    <A, I, R, B = unknown, BI = unknown, BR = never>(
      pathOrRequest: string | HttpClientRequest.HttpClientRequest,
      options: RequestOptions<B, BI, BR> & { readonly schema: Schema.Schema<A, I, R> }
    ): Effect.Effect<A, E, R | BR>
    <B = unknown, BI = unknown, BR = never>(
      pathOrRequest: string | HttpClientRequest.HttpClientRequest,
      options?: RequestOptions<B, BI, BR>
    ): Effect.Effect<Attempt.Received, E, BR>
  }

  /**
   * The service; `E` is the methods' failure (see {@link Method}).
   *
   * @since 0.1.0
   * @category models
   */
  export interface Service<E = Policy.Failure> {
    /**
     * The platform client with base URL, default headers, `timeout` and classification applied (bodies unread). It
     * does not run through the policy (`Policy.withPolicy` makes such a client that does), nor through `cache`.
     */
    readonly client: HttpClient.HttpClient.With<HttpFailure.HttpFailure>
    /** The policy the calls run through, if any. */
    readonly policy: Option.Option<Policy.Policy>
    /**
     * The balancer over the client's `replicas`, if it has any (and they are valid): its `snapshot` shows each
     * replica's load, failures and ejection, its `changes` every ejection and return.
     */
    readonly replicas: Option.Option<Balancer.Balancer<string>>
    /** Sends a request with its own method. */
    readonly execute: Method<E>
    readonly get: Method<E>
    readonly post: Method<E>
    readonly put: Method<E>
    readonly patch: Method<E>
    readonly del: Method<E>
    readonly head: Method<E>
    readonly options: Method<E>
    /** TRACE, which Effect's `HttpMethod` lacks (fetch refuses to send it; the Node transports do). */
    readonly trace: Method<E>
    /** QUERY, the IETF's safe, idempotent method with a body: retried and hedged like GET. */
    readonly query: Method<E>
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
 * Builds the service on a given platform client, through `options.policy` when given (nothing is read from the
 * context). Without a policy its methods fail with `HttpFailure` only. The options are checked here, once; with one
 * out of range every call fails with `InvalidRequest` (`InvalidOptions`).
 *
 * @example
 * ```ts
 * import { HttpClient } from "@effect/platform"
 * import { Policy, SturdyClient } from "@sturdy/http"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const policy = yield* Policy.make({ retry: { maxAttempts: 2 } })
 *   const api = SturdyClient.makeWith(yield* HttpClient.HttpClient, { baseUrl: "https://api.example.com", policy })
 *   return yield* api.head("/health", { timeout: "2 seconds" })
 * }).pipe(Effect.scoped)
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const makeWith: {
  (client: HttpClient.HttpClient, options: SturdyClient.Options & { readonly policy: Policy.Policy }): SturdyClient
  (
    client: HttpClient.HttpClient,
    options?: SturdyClient.Options & { readonly policy?: undefined }
  ): SturdyClient.Service<HttpFailure.HttpFailure>
  (client: HttpClient.HttpClient, options?: SturdyClient.Options): SturdyClient
} = internal.makeWith as {
  // without a policy, no rejection can occur: the narrower failure type of the second overload is the truth
  (client: HttpClient.HttpClient, options?: SturdyClient.Options): SturdyClient
  (client: HttpClient.HttpClient, options?: SturdyClient.Options): SturdyClient.Service<HttpFailure.HttpFailure>
}

/**
 * Builds the service on the `HttpClient` in context, through the `Policy` in context when there is one (an explicit
 * `options.policy` wins).
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
 * A layer providing the service, built on the `HttpClient` layer below it, through the `Policy` below it when
 * there is one.
 *
 * @example
 * ```ts
 * import { NodeHttpClient } from "@effect/platform-node"
 * import { Policy, SturdyClient } from "@sturdy/http"
 * import { Layer } from "effect"
 *
 * // every call runs through the standard pipeline; drop the Policy layer for plain single attempts
 * const ApiLive = SturdyClient.layer({ baseUrl: "https://api.example.com" }).pipe(
 *   Layer.provide(Policy.layer({ retry: { idempotencyKey: true } })),
 *   Layer.provide(NodeHttpClient.layerUndici)
 * )
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layer: (options?: SturdyClient.Options) => Layer.Layer<SturdyClient, never, HttpClient.HttpClient> =
  internal.layer

/**
 * A layer whose options are read from `Config` (e.g. the base URL from the environment); through the `Policy`
 * below it when there is one. An attempt option read out of range fails the layer with `ConfigError.InvalidData`
 * naming it.
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
