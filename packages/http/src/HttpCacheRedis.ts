/**
 * A fleet-wide store for `HttpCache`: the responses are kept in Redis (via ioredis), so every process on the same
 * server and `prefix` serves what any of them stored. Provide {@link layer} where `HttpCache.layerMemory` would go.
 * This entry point alone loads ioredis (an optional peer dependency): import it as `@sturdy/http/HttpCacheRedis`.
 *
 * | | |
 * | --- | --- |
 * | key | `prefix` (default `"sturdy:http-cache:"`) + the SHA-256 of the URL in hex (Web Crypto) |
 * | value | the record `HttpCacheKeyValueStore` writes: JSON of format version 1, the URL (checked on read: another URL with the same hash is a miss), each `Vary` variant with its body in base64 |
 * | expiry | every write sets `PX`: an entry with a validator (`ETag`, `Last-Modified`: a 304 can renew it however stale) or without explicit freshness (no `max-age`, no `Expires`: the heuristic applies) is kept `maxTtl` (default 1 day); any other for the freshness it has left plus the longest stale window it may be served in (`stale-while-revalidate`, `stale-if-error`, or `staleTtl`, default 0, if longer); the longest of a URL's variants, at most `maxTtl`. A record with nothing usable left is deleted |
 * | bounds | Redis's: set `maxmemory` and `maxmemory-policy volatile-lru` (or `allkeys-lru` on a server of its own) so the least recently used responses go first; every key has a TTL, so the `volatile-*` policies apply to all of them |
 * | `size` | best-effort: a `SCAN` of the prefix (O(keys in the database), up to 5 s) counting records (URLs: a URL's `Vary` variants count once) and their bytes (`STRLEN`); 0 and 0 when Redis does not answer. For dashboards, not for hot paths: Redis's `INFO memory` is the real bound |
 * | unreadable value (corrupt, another version) | a miss, and the key is deleted; logged at warning level once per store |
 * | Redis down, or slower than `timeout` (default 100 ms, real time) | a read is a miss and a write is skipped: the request goes to the origin and never fails for it. Logged at warning level once per outage, and at info level when Redis answers again |
 *
 * The connection has no offline queue and one attempt per command unless the options say otherwise, so a command
 * fails at once while Redis is down instead of waiting for a reconnect (ioredis reconnects in the background); the
 * layer waits up to `connectTimeout` (default 1 s, real time) for the first connection, and starts without it
 * otherwise. The connection closes with the layer's scope.
 *
 * A write replaces a URL's record whole (`SET`): two processes storing two `Vary` variants of one URL at once keep
 * the last writer's (the cache writes the variants its lookup found, plus its own). Freshness stays the cache's call:
 * the TTL only bounds how long Redis holds what the cache might still use.
 *
 * @since 0.2.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type { RedisOptions } from "ioredis"
import type * as HttpCache from "./HttpCache.js"
import * as internal from "./internal/httpCacheRedis.js"

/**
 * ioredis connection options plus the store's own: `prefix`, `timeout`, `maxTtl`, `staleTtl` (see the module docs).
 * ioredis 5 or 6 (the optional peer); ioredis 6's `replyMapping` does not reach the connection, which keeps
 * `"legacy"`, the reply shapes of ioredis 5 that the store reads (`protocol` is taken as given).
 *
 * @example
 * ```ts
 * import type * as HttpCacheRedis from "@sturdy/http/HttpCacheRedis"
 *
 * const options: HttpCacheRedis.Options = {
 *   host: "127.0.0.1",
 *   port: 6379,
 *   prefix: "my-app:http:",
 *   maxTtl: "6 hours",
 *   staleTtl: "1 minute" // the cache's `staleIfError`, so Redis keeps what it may serve
 * }
 * ```
 * @since 0.2.0
 * @category models
 */
export type Options = RedisOptions & {
  /** Prepended to every key (default `"sturdy:http-cache:"`); two caches on one Redis need two prefixes. */
  readonly prefix?: string | undefined
  /** The longest a request waits on Redis (a read or a write), > 0; default 100 ms (real time). */
  readonly timeout?: Duration.DurationInput | undefined
  /** The longest Redis keeps a record, ≥ 1 ms; default 1 day. */
  readonly maxTtl?: Duration.DurationInput | undefined
  /**
   * How long past its freshness Redis keeps a response the cache may serve stale beyond its own headers' windows
   * (the cache's `staleIfError` option, the `max-stale` your requests send); default 0.
   */
  readonly staleTtl?: Duration.DurationInput | undefined
}

/**
 * A store over a new Redis connection, closed with the scope; fails with `HttpCache.InvalidOptions` for a store
 * option out of range. See the module docs for keys, expiry, bounds and failures.
 *
 * @example
 * ```ts
 * import { HttpCache } from "@sturdy/http"
 * import * as HttpCacheRedis from "@sturdy/http/HttpCacheRedis"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const store = yield* HttpCacheRedis.make({ host: "127.0.0.1", port: 6379 })
 *   return yield* store.size
 * }).pipe(Effect.scoped, Effect.catchTag("HttpCacheInvalidOptions", (e) => Effect.die(e.message)))
 * const cache = HttpCache.make().pipe(Effect.provide(HttpCacheRedis.layer({ port: 6379 })))
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const make: (
  options?: Options
) => Effect.Effect<HttpCache.Store.Service, HttpCache.InvalidOptions, Scope.Scope> = internal.makeRedis

/**
 * {@link make} as a layer: provide it to `HttpCache.make`.
 *
 * @example
 * ```ts
 * import { HttpClient } from "@effect/platform"
 * import { HttpCache } from "@sturdy/http"
 * import * as HttpCacheRedis from "@sturdy/http/HttpCacheRedis"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const cache = yield* HttpCache.make({ staleIfError: "1 minute" })
 *   const client = (yield* HttpClient.HttpClient).pipe(HttpCache.withCache(cache))
 *   return yield* client.get("https://example.com/config")
 * }).pipe(
 *   Effect.scoped,
 *   Effect.provide(HttpCacheRedis.layer({ host: "127.0.0.1", port: 6379, staleTtl: "1 minute" }))
 * )
 * ```
 * @since 0.2.0
 * @category layers
 */
export const layer: (options?: Options) => Layer.Layer<HttpCache.Store, HttpCache.InvalidOptions> = internal.layerRedis
