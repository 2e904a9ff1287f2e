/**
 * A `BulkheadStore` in Redis (via ioredis): the bulkheads of every process using the same server and `prefix` share
 * one `maxConcurrent` per key. This entry point alone loads ioredis: import it as `@sturdy/policy/BulkheadRedis`.
 *
 * A key's permits are one sorted set `<prefix>{<key>}:permits`: each member a permit (a process's random id and a
 * counter), its score the end of its lease on Redis's clock (`TIME` inside the script, so the processes' clocks need
 * not agree). An acquisition is one Lua script (drop the permits whose lease ended, then add one if fewer than
 * `maxConcurrent` are held), a release a `ZREM`, and a renewal one script for all of a process's permits of the key
 * (`ZADD XX`, so a permit whose lease ran out stays gone), sent by the layer's one renewal fiber, which stops with the
 * layer. The set expires a second after its latest lease. The connection sends nothing while it is down (no offline
 * queue); calls then go to each process's local bulkhead and sharing resumes when Redis answers again (see
 * `BulkheadStore`).
 *
 * A release that gave a permit back, and a script that dropped expired leases leaving a permit free, `PUBLISH` on
 * `<prefix>{<key>}:released`. A process with a call waiting on a key subscribes to its channel and asks for a permit
 * at once on a message, instead of at its next `pollInterval`. The subscriptions are on a second connection of the
 * layer (a subscribed connection runs no other command), with the same options, opened when a call first waits and
 * closed with the layer; a channel is unsubscribed when no call of the process waits on its key any more. Pub/sub is
 * at most once, so the poll stays as it was. A subscriber that fails (refused, killed, disconnected) fails no call:
 * calls wait by polling, one warning is logged until it is subscribed again, and on reconnection it subscribes to the
 * channels still watched. It is not counted as a store outage (`sturdy_shared_state_degraded`), since the store
 * itself still answers.
 *
 * @since 0.2.0
 */
import type * as Layer from "effect/Layer"
import type { RedisOptions } from "ioredis"
import type * as BulkheadStore from "./BulkheadStore.js"
import * as internal from "./internal/bulkheadRedis.js"

/**
 * ioredis connection options plus a key `prefix` (default `"sturdy:bulkhead:"`) and the `sync` options of the
 * bulkheads built on the store (`Policy`'s included; see `BulkheadStore.SyncOptions`). Unless given, the connection
 * has no offline queue and one attempt per command, and the layer waits `connectTimeout` (default 1 s, in real time
 * under a `TestClock` too) for it.
 * ioredis 5 or 6 (the optional peer); ioredis 6's `replyMapping` does not reach the connection, which keeps
 * `"legacy"`, the reply shapes of ioredis 5 that the store reads (`protocol` is taken as given).
 *
 * @example
 * ```ts
 * import type * as BulkheadRedis from "@sturdy/policy/BulkheadRedis"
 *
 * const options: BulkheadRedis.RedisStoreOptions = { host: "127.0.0.1", port: 6379, sync: { lease: "30 seconds" } }
 * ```
 * @since 0.2.0
 * @category models
 */
export type RedisStoreOptions = RedisOptions & {
  readonly prefix?: string | undefined
  readonly sync?: BulkheadStore.SyncOptions | undefined
}

/**
 * The store layer. `Policy` picks it up from its context for the bulkheads of its `bulkhead` option;
 * `BulkheadStore.make` uses it directly.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { BulkheadStore } from "@sturdy/policy"
 * import * as BulkheadRedis from "@sturdy/policy/BulkheadRedis"
 *
 * const program = Effect.gen(function*() {
 *   const bulkhead = yield* BulkheadStore.make({ key: "api", maxConcurrent: 10 })
 *   return yield* bulkhead.run(Effect.succeed("done"))
 * }).pipe(Effect.provide(BulkheadRedis.layerStore({ host: "127.0.0.1", port: 6379 })))
 * ```
 * @since 0.2.0
 * @category layers
 */
export const layerStore: (options?: RedisStoreOptions) => Layer.Layer<BulkheadStore.BulkheadStore> = internal.layerStore
