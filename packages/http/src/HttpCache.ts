/**
 * A private HTTP cache (RFC 9111, with RFC 5861's `stale-while-revalidate` and `stale-if-error`) as client
 * middleware: fresh responses are answered from the store without a request, stale ones are revalidated with
 * `If-None-Match` / `If-Modified-Since`, and an unsafe request invalidates what it changed. It is a private cache (as
 * a browser's, OkHttp's, `make-fetch-happen`'s): `private` responses are stored, `s-maxage` is ignored.
 *
 * ```ts
 * const cache = yield* HttpCache.make()                  // needs HttpCache.Store (layerMemory) and a Scope
 * const client = (yield* HttpClient.HttpClient).pipe(HttpCache.withCache(cache))
 * ```
 *
 * ## What is stored
 *
 * A response to a `GET` whose status is heuristically cacheable (RFC 9110 §15.1: 200, 203, 204, 300, 301, 308, 404,
 * 405, 410, 414, 501; a 206 never), that carries something that makes it reusable (`max-age`, `Expires`, `ETag`,
 * `Last-Modified`, `stale-if-error` or `public`), and that nothing below forbids. Other statuses pass through even
 * with `max-age`. `HEAD` and other safe methods pass through untouched. A request that carries its own conditional
 * or `Range` header passes through too (its answer is the caller's to interpret).
 *
 * A body of a known `Content-Length` within `maxBodyBytes` is read into the store at once and the caller gets a
 * response over the stored bytes; a body of unknown length is handed on as a stream and stored once the caller has
 * read it to its end, if it stayed within `maxBodyBytes` (a body the caller never reads is not stored); a larger one
 * streams through untouched. Storage sits behind the {@link Store} service: {@link layerMemory} is an in-memory LRU
 * bounded by `maxEntries` and `maxBytes`; `HttpCacheKeyValueStore.layer` (entry point
 * `@sturdy/http/HttpCacheKeyValueStore`) keeps the responses in `@effect/platform`'s `KeyValueStore` (on disk with
 * `KeyValueStore.layerFileSystem(directory)`), so they outlive the process; `HttpCacheRedis.layer` (entry point
 * `@sturdy/http/HttpCacheRedis`, with the optional peer `ioredis`) keeps them in Redis, shared by every process.
 *
 * ## Directives
 *
 * | Directive | In | What the cache does |
 * | --- | --- | --- |
 * | `no-store` | response | not stored |
 * | `no-store` | request | passes through: nothing is read from or written to the store |
 * | `no-cache` (also `no-cache="field"`) | response | stored, but revalidated before every use, and never served stale (not even on an error) |
 * | `no-cache`, or `Pragma: no-cache` without `Cache-Control` | request | the stored response is revalidated |
 * | `max-age=N` | response | fresh for N seconds (an invalid value, as `max-age='3'`, counts as 0) |
 * | `Expires` (with `Date`) | response | fresh until `Expires − Date` when there is no `max-age`; an invalid one means stale |
 * | none, with `Last-Modified` | response | heuristic: 10 % of `Date − Last-Modified`, at most `heuristicCap` (default 1 day) |
 * | `Age` | response | counted in the current age (RFC 9111 §4.2.3, with the response delay) |
 * | `max-age=N` | request | the stored response is used only if its age is at most N seconds (`max-age=0`: revalidate) |
 * | `min-fresh=N` | request | the stored response must stay fresh N more seconds |
 * | `max-stale[=N]` | request | a stale response (N seconds stale at most) is used without revalidation |
 * | `only-if-cached` | request | no request is sent: without a usable stored response the answer is a 504 |
 * | `must-revalidate`, `proxy-revalidate` | response | never served stale: not by `max-stale`, `stale-while-revalidate`, `stale-if-error` or the `staleIfError` option |
 * | `private` | response | stored (this is a private cache) |
 * | `public`, `s-maxage`, `must-revalidate` | response | allow storing the answer to a request with `Authorization` (RFC 9111 §3.5); without one such response is not stored |
 * | `s-maxage` | response | otherwise ignored (shared caches only) |
 * | `Vary` | response | the stored response answers only requests with the same values of the named headers; `Vary: *` is never stored |
 * | `stale-while-revalidate=N` | response | up to N seconds stale: served at once while a background fiber revalidates |
 * | `stale-if-error=N` | response or request | up to N seconds stale: served when revalidation fails with 500, 502, 503, 504, a connection failure or a timeout |
 *
 * Revalidation sends `If-None-Match` with the stored `ETag` and `If-Modified-Since` with the stored `Last-Modified`.
 * A 304 updates the stored headers from its own (RFC 9111 §3.2, §4.3.4: all but `Content-Length`,
 * `Content-Encoding`, `Content-Range` and the hop-by-hop ones) and the stored body is served; any other response
 * replaces the stored one (or removes it when it may not be stored). The body of a 304, and of an error answered with
 * the stale response, is read one chunk at most, for a second at most, so its connection is freed: a body that sends
 * nothing is then cancelled (its connection is not reused).
 *
 * A `POST`, `PUT`, `DELETE`, `PATCH` (any method but `GET`, `HEAD`, `OPTIONS`, `TRACE` and `QUERY`) answered with a
 * 2xx or 3xx removes its URL from the store, and the `Location` and `Content-Location` URLs of the same origin (RFC
 * 9111 §4.4). `QUERY` (safe, with a body) passes through: it invalidates nothing and its responses are not stored.
 *
 * ## Provenance
 *
 * A response answered from the store carries an `Age` header (RFC 9111 §5.1), and {@link provenance} tells how the
 * cache produced it: `fresh`, `stale` (served stale: `max-stale`, `stale-while-revalidate`, `stale-if-error`),
 * `revalidated` (a 304 confirmed it), `miss` (from the origin) or `unavailable` (`only-if-cached` with nothing usable).
 * The span current when the request runs (Sturdy's `Telemetry.attempt` / `Telemetry.logicalCall` span, or the
 * caller's own) gets the attribute `sturdy.cache` with the same value.
 *
 * ## Background revalidation
 *
 * A `stale-while-revalidate` refresh runs on a fiber in the cache's scope (the scope `make` ran in): closing it
 * interrupts refreshes still running. One refresh runs per URL at a time. A refresh that fails is logged at warning
 * level with the redacted URL (and traced as the span `HttpCache.revalidate`); the stored response stays. Await them
 * with {@link awaitRevalidations}.
 *
 * ## With a policy
 *
 * Put the cache outside the policy: `client.pipe(Policy.withPolicy(policy), HttpCache.withCache(cache))`. A fresh hit
 * then makes no attempt (the breaker, budget and rate limits see nothing), and `stale-if-error` answers only once the
 * policy has given up: its retries spent on a 5xx (`withPolicy` returns the last 5xx response), a connection failure
 * or timeout, or its breaker open (a `CircuitOpen` rejection, no request made). Under the policy (the cache inside
 * the `HttpClient` a `SturdyClient` with a policy runs on), a hit would count as a success of the upstream, even as
 * a half-open breaker's probe, and the stale answer would come before the policy's retries. A `SturdyClient` puts the
 * cache in this place when given one: its `cache` option.
 *
 * ## Keys and secrets
 *
 * The key is the absolute URL with the request's URL parameters and without its fragment. Keys are never logged or
 * put on spans as they are: only through `Redaction`, so a secret query parameter stays out of logs.
 *
 * @since 0.2.0
 */
import type * as Headers from "@effect/platform/Headers"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/httpCache.js"

/**
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /**
   * The largest body stored, in bytes, an integer ≥ 0 (default 1 MiB); a larger body streams through uncached.
   */
  readonly maxBodyBytes?: number | undefined
  /**
   * The longest heuristic freshness lifetime (10 % of `Date − Last-Modified`, RFC 9111 §4.2.2) a response without
   * explicit freshness gets; default 1 day. `Duration.zero` turns the heuristic off.
   */
  readonly heuristicCap?: Duration.DurationInput | undefined
  /**
   * How stale a response may be and still be served when revalidation fails (500, 502, 503, 504, a connection
   * failure or a timeout), beyond what `stale-if-error` allows. Default 0: only what the header allows.
   * `must-revalidate` still forbids it.
   */
  readonly staleIfError?: Duration.DurationInput | undefined
}

/**
 * @since 0.2.0
 * @category models
 */
export interface MemoryOptions {
  /** The most responses kept, an integer ≥ 1 (default 1000); the least recently used URL goes first. */
  readonly maxEntries?: number | undefined
  /** The most bytes kept (bodies, header names and values, URLs), an integer ≥ 1 (default 50 MiB). */
  readonly maxBytes?: number | undefined
}

/**
 * A stored response: what the origin answered, when, and the request header values its `Vary` names.
 *
 * @since 0.2.0
 * @category models
 */
export interface Entry {
  /** the cache key: the absolute URL without fragment */
  readonly url: string
  readonly status: number
  readonly headers: Headers.Headers
  readonly body: Uint8Array
  /** the request's values of the headers `Vary` names (`null`: absent), lower-case names */
  readonly vary: Readonly<Record<string, string | null>>
  /** `Clock` time (millis) the request was sent */
  readonly requestTime: number
  /** `Clock` time (millis) the response arrived */
  readonly responseTime: number
}

/**
 * How a response came out of the cache (see the module docs).
 *
 * @since 0.2.0
 * @category models
 */
export type Provenance = "fresh" | "stale" | "revalidated" | "miss" | "unavailable"

/**
 * A cache made by {@link make}: its store, options and background fibers.
 *
 * @since 0.2.0
 * @category models
 */
export interface HttpCache {
  readonly _tag: "HttpCache"
}

/**
 * The storage behind the cache, keyed by URL; each key holds the responses for that URL (one per `Vary` variant).
 * Implement it to put another store behind the cache; {@link layerMemory} is the in-memory LRU.
 *
 * @example
 * ```ts
 * import { HttpCache } from "@sturdy/http"
 * import { Effect } from "effect"
 *
 * const count = Effect.flatMap(HttpCache.Store, (store) => store.size)
 * ```
 * @since 0.2.0
 * @category services
 */
export const Store: typeof internal.Store = internal.Store

/**
 * @since 0.2.0
 * @category services
 */
export type Store = internal.Store

/**
 * @since 0.2.0
 * @category services
 */
export declare namespace Store {
  /**
   * @since 0.2.0
   * @category models
   */
  export interface Service {
    /** The responses stored for `key`, most recent first (a use makes the key the most recently used). */
    readonly get: (key: string) => Effect.Effect<ReadonlyArray<Entry>>
    /**
     * Replaces the responses stored for `key` (an empty array removes the key). The cache calls it with the
     * responses its lookup for the request read, the new one in place of its own variant, and reads nothing before
     * writing: a variant another request stored for `key` in the meantime is overwritten (the last writer wins).
     */
    readonly set: (key: string, entries: ReadonlyArray<Entry>) => Effect.Effect<void>
    readonly remove: (key: string) => Effect.Effect<void>
    /** How many responses and bytes are held. */
    readonly size: Effect.Effect<{ readonly entries: number; readonly bytes: number }>
  }
}

/**
 * Options that are not valid, each problem naming its option (`maxEntries must be an integer ≥ 1 (got 0)`).
 *
 * @example
 * ```ts
 * import { HttpCache } from "@sturdy/http"
 * import { Effect } from "effect"
 *
 * const program = HttpCache.makeMemory({ maxEntries: 0 }).pipe(
 *   Effect.catchTag("HttpCacheInvalidOptions", (e) => Effect.die(e.message))
 * )
 * ```
 * @since 0.2.0
 * @category errors
 */
export const InvalidOptions: typeof internal.InvalidOptions = internal.InvalidOptions

/**
 * @since 0.2.0
 * @category errors
 */
export type InvalidOptions = internal.InvalidOptions

/**
 * The defaults: `maxEntries` 1000, `maxBytes` 50 MiB, `maxBodyBytes` 1 MiB, `heuristicCap` 1 day, `staleIfError` 0.
 *
 * @example
 * ```ts
 * import { HttpCache } from "@sturdy/http"
 *
 * console.log(HttpCache.defaults.maxEntries) // 1000
 * ```
 * @since 0.2.0
 * @category constants
 */
export const defaults: {
  readonly maxEntries: number
  readonly maxBytes: number
  readonly maxBodyBytes: number
  readonly heuristicCap: Duration.Duration
  readonly staleIfError: Duration.Duration
} = internal.defaults

/**
 * An in-memory LRU store; fails with {@link InvalidOptions} for a bound that is not a positive integer.
 *
 * @example
 * ```ts
 * import { HttpCache } from "@sturdy/http"
 *
 * const store = HttpCache.makeMemory({ maxEntries: 100, maxBytes: 10_000_000 })
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const makeMemory: (options?: MemoryOptions) => Effect.Effect<Store.Service, InvalidOptions> = internal.makeMemory

/**
 * {@link makeMemory} as a layer.
 *
 * @example
 * ```ts
 * import { HttpCache } from "@sturdy/http"
 *
 * const StoreLive = HttpCache.layerMemory({ maxEntries: 500 })
 * ```
 * @since 0.2.0
 * @category layers
 */
export const layerMemory: (options?: MemoryOptions) => Layer.Layer<Store, InvalidOptions> = internal.layerMemory

/**
 * Makes a cache over the {@link Store} in context; background revalidations run in the current scope. Fails with
 * {@link InvalidOptions} for an option out of range.
 *
 * @example
 * ```ts
 * import { HttpClient } from "@effect/platform"
 * import { HttpCache } from "@sturdy/http"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const cache = yield* HttpCache.make({ maxBodyBytes: 256_000, staleIfError: "1 minute" })
 *   const client = (yield* HttpClient.HttpClient).pipe(HttpCache.withCache(cache))
 *   return yield* client.get("https://example.com/config")
 * }).pipe(Effect.scoped, Effect.provide(HttpCache.layerMemory()))
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const make: (options?: Options) => Effect.Effect<HttpCache, InvalidOptions, Store | Scope.Scope> = internal.make

/**
 * Answers requests through `cache` (see the module docs for what it does).
 *
 * @example
 * ```ts
 * import { HttpClient } from "@effect/platform"
 * import { HttpCache } from "@sturdy/http"
 *
 * declare const client: HttpClient.HttpClient
 * declare const cache: HttpCache.HttpCache
 * const cached = client.pipe(HttpCache.withCache(cache))
 * const same = HttpCache.withCache(client, cache)
 * ```
 * @since 0.2.0
 * @category middleware
 */
export const withCache: {
  (cache: HttpCache): <E, R>(self: HttpClient.HttpClient.With<E, R>) => HttpClient.HttpClient.With<E, R>
  <E, R>(self: HttpClient.HttpClient.With<E, R>, cache: HttpCache): HttpClient.HttpClient.With<E, R>
} = internal.withCache

/**
 * How the cache produced `response`: `None` for a response that did not pass through a cache.
 *
 * @example
 * ```ts
 * import type { HttpClientResponse } from "@effect/platform"
 * import { HttpCache } from "@sturdy/http"
 * import { Option } from "effect"
 *
 * declare const response: HttpClientResponse.HttpClientResponse
 * const fromCache = Option.exists(HttpCache.provenance(response), (p) => p !== "miss")
 * ```
 * @since 0.2.0
 * @category getters
 */
export const provenance: (response: HttpClientResponse.HttpClientResponse) => Option.Option<Provenance> =
  internal.provenance

/**
 * Waits until no background revalidation (`stale-while-revalidate`) is running.
 *
 * @example
 * ```ts
 * import { HttpCache } from "@sturdy/http"
 *
 * declare const cache: HttpCache.HttpCache
 * const settled = HttpCache.awaitRevalidations(cache)
 * ```
 * @since 0.2.0
 * @category combinators
 */
export const awaitRevalidations: (cache: HttpCache) => Effect.Effect<void> = internal.awaitRevalidations
