/**
 * A `RetryBudgetStore` in Redis (via ioredis), so that every process using the same server and `prefix` shares
 * one retry budget per upstream key. This entry point alone loads ioredis: import it as
 * `@sturdy/policy/RetryBudgetRedis`.
 *
 * Each operation is one Lua script (atomic: add the requests, sum the window, count the retry if the rule allows
 * it) on keys `<prefix>{<key>}:budget:<slot>` that expire after two windows. The connection sends nothing while it
 * is down (no offline queue, so nothing is replayed late); the budget then decides locally and resumes sharing
 * when Redis answers again (see `RetryBudgetStore` for the consistency this gives).
 *
 * @since 0.1.0
 */
import type * as Layer from "effect/Layer"
import type { RedisOptions } from "ioredis"
import * as internal from "./internal/retryBudgetRedis.js"
import type * as RetryBudget from "./RetryBudget.js"
import type * as RetryBudgetStore from "./RetryBudgetStore.js"

/**
 * ioredis connection options plus a key `prefix` (default `"sturdy:retrybudget:"`). Unless given, the connection
 * has no offline queue and one attempt per command, and the layer waits `connectTimeout` (default 1 s, in real time
 * under a `TestClock` too) for it.
 * ioredis 5 or 6 (the optional peer); ioredis 6's `replyMapping` does not reach the connection, which keeps
 * `"legacy"`, the reply shapes of ioredis 5 that the store reads (`protocol` is taken as given).
 *
 * @example
 * ```ts
 * import type * as RetryBudgetRedis from "@sturdy/policy/RetryBudgetRedis"
 *
 * const options: RetryBudgetRedis.RedisStoreOptions = { host: "127.0.0.1", port: 6379, prefix: "myapp:budget:" }
 * ```
 * @since 0.1.0
 * @category models
 */
export type RedisStoreOptions = RedisOptions & { readonly prefix?: string | undefined }

/**
 * The store layer: provide it under `RetryBudgetStore.layerBudget`.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { RetryBudgetStore } from "@sturdy/policy"
 * import * as RetryBudgetRedis from "@sturdy/policy/RetryBudgetRedis"
 *
 * const BudgetLive = RetryBudgetStore.layerBudget({ ratio: 0.2 }).pipe(
 *   Layer.provide(RetryBudgetRedis.layerStore({ host: "127.0.0.1", port: 6379 }))
 * )
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layerStore: (options?: RedisStoreOptions) => Layer.Layer<RetryBudgetStore.RetryBudgetStore> =
  internal.layerStore

/**
 * A `RetryBudget` shared through Redis in one layer: the connection options, and the budget's under `retryBudget` (as `RetryBudget.layer` takes them).
 * `Policy` uses the `RetryBudget` in its context, so providing this layer to it shares its budget with the fleet.
 *
 * @example
 * ```ts
 * import * as RetryBudgetRedis from "@sturdy/policy/RetryBudgetRedis"
 *
 * const BudgetLive = RetryBudgetRedis.layer({ host: "127.0.0.1", port: 6379, retryBudget: { ratio: 0.2 } })
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layer: (
  options?: RedisStoreOptions & { readonly retryBudget?: RetryBudgetStore.Options | undefined }
) => Layer.Layer<RetryBudget.RetryBudget> = internal.layer
