/**
 * A persistent store for `HttpCache`: the responses are kept in `@effect/platform`'s `KeyValueStore`, so with
 * `KeyValueStore.layerFileSystem(directory)` they outlive the process (as `make-fetch-happen`'s on-disk cache does),
 * and any other `KeyValueStore` works the same way. Provide {@link layer} where `HttpCache.layerMemory` would go.
 *
 * It is an entry point of its own, outside `@sturdy/http`'s index: `@effect/platform`'s `KeyValueStore` types name
 * the DOM lib's `Storage`, so a project that imports them needs the `DOM` lib (or `skipLibCheck`); keeping this
 * module out of the index keeps that requirement off every other import of `@sturdy/http`.
 *
 * {@link layer} over the `KeyValueStore` in context:
 *
 * | | |
 * | --- | --- |
 * | key | `prefix` (default `"sturdy-http-cache:"`) + the SHA-256 of the URL in hex (Web Crypto): fits a file name whatever the URL |
 * | value | a JSON record of format version 1: the URL (checked on read: another URL with the same hash is a miss), each response with its body in base64 |
 * | unreadable value (corrupt, another version, not a record) | a miss, and the value is removed; logged at warning level once per store |
 * | `KeyValueStore` failure (`PlatformError`, or a defect) | a read is a miss, a write is skipped (what was stored stays); the request never fails for it; logged at warning level once per store (later ones at debug) |
 * | `maxEntries` (default 1000), `maxBytes` (default 50 MiB) | kept by an index record `prefix + "index"`: the records this store wrote, least recently used first, with their sizes; the least recently used go first |
 * | `size` | the responses and the bytes (UTF-8, as written) of the records the index holds; the index record itself is not counted |
 *
 * The index is written whole with every write (a `set` or `remove`: about 80 bytes a URL, so ~80 KB at the default
 * `maxEntries`); the recency a read gives is kept in memory and written with the next write, so after a restart the
 * order may be as of the last write. Writes of one store go one at a time. Bounds smaller than the last run's
 * apply when the layer is built. A record found on read that the index does not hold (written before a crash, or by
 * another process) is served and counted from then on; an indexed record that has gone is forgotten when read.
 * Several processes on one directory (one prefix) each keep their own index and overwrite each other's: they read
 * each other's records, but the bounds hold only for one writer process. Expired responses are kept until evicted or
 * replaced: freshness is the cache's call (a request's `max-stale` or `stale-if-error` may still use them).
 *
 * @since 0.2.0
 */
import type * as KeyValueStore from "@effect/platform/KeyValueStore"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as HttpCache from "./HttpCache.js"
import * as internal from "./internal/httpCacheKeyValueStore.js"

/**
 * Options of {@link make} and {@link layer}.
 *
 * @example
 * ```ts
 * import type { Options } from "@sturdy/http/HttpCacheKeyValueStore"
 *
 * const options: Options = { prefix: "my-app:", maxEntries: 5000, maxBytes: 500_000_000 }
 * ```
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /**
   * Prepended to every key written (default `"sturdy-http-cache:"`); a string of at most 128 characters once
   * URI-encoded (so a key stays a file name under `KeyValueStore.layerFileSystem`). Two caches on one store need two
   * prefixes.
   */
  readonly prefix?: string | undefined
  /** The most responses kept, an integer ≥ 1 (default 1000); the least recently used URL goes first. */
  readonly maxEntries?: number | undefined
  /** The most bytes of records kept (UTF-8, as written: bodies in base64), an integer ≥ 1 (default 50 MiB). */
  readonly maxBytes?: number | undefined
}

/**
 * A store over the `KeyValueStore` in context (`KeyValueStore.layerFileSystem(directory)` keeps it on disk, so a
 * restart finds it); fails with `HttpCache.InvalidOptions` for a bound that is not a positive integer or a `prefix` that
 * is not a short string. See the module docs for keys, values, bounds and failures.
 *
 * @example
 * ```ts
 * import { KeyValueStore } from "@effect/platform"
 * import * as HttpCacheKeyValueStore from "@sturdy/http/HttpCacheKeyValueStore"
 * import { Effect } from "effect"
 *
 * const store = HttpCacheKeyValueStore.make({ maxEntries: 100 }).pipe(Effect.provide(KeyValueStore.layerMemory))
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const make: (
  options?: Options
) => Effect.Effect<HttpCache.Store.Service, HttpCache.InvalidOptions, KeyValueStore.KeyValueStore> =
  internal.makeKeyValueStore

/**
 * {@link make} as a layer.
 *
 * @example
 * ```ts
 * import { KeyValueStore } from "@effect/platform"
 * import { NodeFileSystem, NodePath } from "@effect/platform-node"
 * import * as HttpCacheKeyValueStore from "@sturdy/http/HttpCacheKeyValueStore"
 * import { Layer } from "effect"
 *
 * const StoreLive = HttpCacheKeyValueStore.layer({ maxBytes: 200_000_000 }).pipe(
 *   Layer.provide(KeyValueStore.layerFileSystem("/var/cache/my-app/http")),
 *   Layer.provide([NodeFileSystem.layer, NodePath.layer])
 * )
 * ```
 * @since 0.2.0
 * @category layers
 */
export const layer: (
  options?: Options
) => Layer.Layer<HttpCache.Store, HttpCache.InvalidOptions, KeyValueStore.KeyValueStore> = internal.layerKeyValueStore
