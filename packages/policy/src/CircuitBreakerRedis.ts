/**
 * A `CircuitBreakerStore` in Redis (via ioredis): breakers of every process using the same server and `prefix`
 * share their transitions and the half-open probe slots. This entry point alone loads ioredis: import it as
 * `@sturdy/policy/CircuitBreakerRedis`.
 *
 * A key's state is one string `<prefix>{<key>}:state` written by a Lua script: the record, its writer, when it was
 * made on Redis's clock (`TIME` at its arrival less the `age` it was sent with: a record sent again after an outage
 * keeps its age) and its `seq`. The script is a compare-and-set, in one step: a record of the same process replaces
 * the current one when its `seq` is higher (by `at` when either has none: a record of a previous version), and a
 * record of another process when it was made later on Redis's clock (equal: the greater writer id); an older record
 * never replaces a newer one, however late it comes. Processes' clocks need not agree, nor stay still (a step back
 * leaves the order of a process's records to their `seq`), and a reader re-bases another process's record on its
 * own Clock from the age Redis measured, so the pause is shared as a duration. A value of a previous version (no
 * `seq`) is read as before, and a previous version reads the new one (its fields come first). The key lives for the
 * pause plus 60 s; an open-until-reset record for 60 s, as `reset` is local and a lasting record would open every
 * process started later. The probe
 * slots are `<prefix>{<key>}:probes`, each slot held as its expiry (Redis's clock) and its probe's token: a probe
 * gives back its own slot, and nothing once its lease ran out; a slot of a process that died is given back
 * `probeLease` after it was granted, however often the others probe; a previous version's counter is read as that
 * many slots expiring with the key. Reads of every key in use are
 * one script per `syncInterval` (keys of several upstreams sit in different hash slots: on a Redis Cluster, give
 * the layer a single node or a proxy). The connection sends nothing while it is down; breakers then run on their
 * local state and resume sharing when Redis answers (see `CircuitBreakerStore`).
 *
 * @since 0.1.0
 */
import type * as Layer from "effect/Layer"
import type { RedisOptions } from "ioredis"
import type * as CircuitBreakerStore from "./CircuitBreakerStore.js"
import * as internal from "./internal/circuitBreakerRedis.js"

/**
 * ioredis connection options plus a key `prefix` (default `"sturdy:breaker:"`) and the `sync` options of the
 * breakers built on the store (`Policy`'s included; see `CircuitBreakerStore.SyncOptions`). Unless given, the
 * connection has no offline queue and one attempt per command, and the layer waits `connectTimeout` (default 1 s,
 * in real time under a `TestClock` too) for it.
 * ioredis 5 or 6 (the optional peer); ioredis 6's `replyMapping` does not reach the connection, which keeps
 * `"legacy"`, the reply shapes of ioredis 5 that the store reads (`protocol` is taken as given).
 *
 * @example
 * ```ts
 * import type * as CircuitBreakerRedis from "@sturdy/policy/CircuitBreakerRedis"
 *
 * const options: CircuitBreakerRedis.RedisStoreOptions = { host: "127.0.0.1", port: 6379, prefix: "myapp:breaker:" }
 * ```
 * @since 0.1.0
 * @category models
 */
export type RedisStoreOptions = RedisOptions & {
  readonly prefix?: string | undefined
  readonly sync?: CircuitBreakerStore.SyncOptions | undefined
}

/**
 * The store layer. `Policy` picks it up from its context for its breakers; `CircuitBreakerStore.layerRegistry`
 * and `CircuitBreakerStore.make` use it directly.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { CircuitBreakerStore } from "@sturdy/policy"
 * import * as CircuitBreakerRedis from "@sturdy/policy/CircuitBreakerRedis"
 *
 * const BreakersLive = CircuitBreakerStore.layerRegistry().pipe(
 *   Layer.provide(CircuitBreakerRedis.layerStore({ host: "127.0.0.1", port: 6379 }))
 * )
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layerStore: (options?: RedisStoreOptions) => Layer.Layer<CircuitBreakerStore.CircuitBreakerStore> =
  internal.layerStore
