/**
 * A `RateLimiterStore` in Redis, shared by every process that uses the same server and `prefix`: swap it in for
 * `RateLimit.layerStoreMemory` and every limiter made with `RateLimit.make` counts across processes.
 *
 * This is its own entry point, `@sturdy/policy/RateLimitRedis`, because it loads `ioredis` (an optional peer
 * dependency of `@sturdy/policy`: `pnpm add ioredis`). Importing `@sturdy/policy` or `@sturdy/http` never does.
 *
 * | option   | default          | meaning                                              |
 * | -------- | ---------------- | ---------------------------------------------------- |
 * | `prefix` | `"ratelimiter:"` | prefix of every key this store writes                |
 * | (others) | ioredis defaults | ioredis connection options: `host`, `port`, `password`, `tls`, ... |
 *
 * The connection opens when the layer is built and closes with its scope. Refill intervals are rounded up to whole
 * milliseconds (Redis `PX` takes integers), so a limit is never exceeded by rounding.
 *
 * @since 0.1.0
 */
import type * as RedisStore from "@effect/experimental/RateLimiter/Redis"
import type * as Layer from "effect/Layer"
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
 * ioredis connection options plus a key `prefix` (default `"ratelimiter:"`), as `@effect/experimental` takes them.
 *
 * @example
 * ```ts
 * import type * as RateLimitRedis from "@sturdy/policy/RateLimitRedis"
 *
 * const options: RateLimitRedis.StoreOptions = { host: "127.0.0.1", port: 6379, prefix: "myapp:" }
 * ```
 * @since 0.1.0
 * @category store
 */
export type StoreOptions = Parameters<typeof RedisStore.make>[0]
