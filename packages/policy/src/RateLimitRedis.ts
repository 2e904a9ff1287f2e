/**
 * A `RateLimiterStore` in Redis, shared by every process that uses the same server and `prefix`: swap it in for
 * `RateLimit.layerStoreMemory` and every limiter made with `RateLimit.make` counts across processes.
 *
 * This is its own entry point, `@sturdy/policy/RateLimitRedis`, because it loads `ioredis` (an optional peer
 * dependency of `@sturdy/policy`: `pnpm add ioredis`). Importing `@sturdy/policy` or `@sturdy/http` never does.
 *
 * | option                 | default          | meaning                                                    |
 * | ---------------------- | ---------------- | ---------------------------------------------------------- |
 * | `prefix`               | `"ratelimiter:"` | prefix of every key this store writes                      |
 * | `commandTimeout`       | `1000` (ms)      | the longest one call waits on Redis before it fails        |
 * | `connectTimeout`       | `1000` (ms)      | how long building the layer waits for the first connection |
 * | `enableOfflineQueue`   | `false`          | commands are never queued while the connection is down     |
 * | `maxRetriesPerRequest` | `1`              | one attempt per command                                    |
 * | (others)               | ioredis defaults | ioredis connection options: `host`, `port`, `password`, `tls`, ... |
 *
 * Every call is bounded. While Redis is unreachable, `consume` fails at once with `RateLimitStoreError` (nothing is
 * queued; ioredis keeps reconnecting in the background and the store resumes when Redis answers); while Redis does
 * not answer, it fails after `commandTimeout`. A call that timed out may still be counted if Redis runs it later.
 * Building the layer waits at most `connectTimeout` for the connection (in real time, under a `TestClock` too) and
 * then starts anyway; closing its scope drops the connection without waiting on Redis. Catch `RateLimitStoreError`
 * to fail open.
 *
 * Keys. Fixed window: one counter `<prefix><key>` whose expiry is the window's end (`window / limit` per call counted,
 * as `RateLimit` describes; a slot given back shortens it as much, and a window that then has ended is deleted at
 * once, as the memory store starts a fresh one). Token bucket: `<prefix>{<key>}:tokens`
 * and `<prefix>{<key>}:refill`, updated by one Lua script; the hash tag `{<key>}` puts both in one Redis Cluster
 * slot (a key that is empty or starts with `}` has no usable tag), and two keys never share a bucket. Both expire
 * when the bucket would be full again, so idle clients leave nothing behind. Both algorithms under one `prefix`
 * share the key space: give them different prefixes if fixed-window keys may contain `{`.
 *
 * Time. The fixed window is measured by Redis (the key's expiry) and the token bucket refills by the Redis
 * server's clock (`TIME`), so a process whose clock is off neither gains tokens nor starves the others; the `Clock`
 * of the calling fiber (a `TestClock` included) does not move either. A server clock set back refills the bucket
 * from the new time, as the memory store does (a fixed window's expiry is Redis's own). The answers are otherwise
 * those of the memory store (a bucket full again restarts its refill from its next call in both, and a refund never
 * fills a bucket past its limit).
 * Fixed-window refill intervals are rounded up to whole milliseconds (Redis `PX` takes integers), so a limit is never
 * exceeded by rounding.
 *
 * @since 0.1.0
 */
import type * as Layer from "effect/Layer"
import type { RedisOptions } from "ioredis"
import * as internal from "./internal/rateLimitRedis.js"
import type * as RateLimit from "./RateLimit.js"

/**
 * A store in Redis (via ioredis), shared by every process using the same server and `prefix`.
 *
 * @example
 * ```ts
 * import { RateLimit } from "@sturdy/policy"
 * import * as RateLimitRedis from "@sturdy/policy/RateLimitRedis"
 * import { Effect } from "effect"
 *
 * const StoreLive = RateLimitRedis.layerStore({ host: "127.0.0.1", port: 6379, prefix: "myapp:ratelimit:" })
 * const limiter = RateLimit.make({ limit: 100, window: "1 minute" }).pipe(Effect.provide(StoreLive))
 * ```
 * @since 0.1.0
 * @category store
 */
export const layerStore: (options: StoreOptions) => Layer.Layer<RateLimit.RateLimiterStore> = internal.layerStore

/**
 * ioredis connection options plus a key `prefix` (default `"ratelimiter:"`). Unless given, the connection has no
 * offline queue, one attempt per command and a `commandTimeout` of 1000 ms, and the layer waits `connectTimeout`
 * (default 1000 ms) for it.
 * ioredis 5 or 6 (the optional peer); ioredis 6's `replyMapping` does not reach the connection, which keeps
 * `"legacy"`, the reply shapes of ioredis 5 that the store reads (`protocol` is taken as given).
 *
 * @example
 * ```ts
 * import type * as RateLimitRedis from "@sturdy/policy/RateLimitRedis"
 *
 * const options: RateLimitRedis.StoreOptions = { host: "127.0.0.1", port: 6379, prefix: "myapp:", commandTimeout: 200 }
 * ```
 * @since 0.1.0
 * @category store
 */
export type StoreOptions = RedisOptions & { readonly prefix?: string | undefined }
