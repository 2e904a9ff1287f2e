/**
 * A bulkhead whose limit holds for the whole fleet: at most `maxConcurrent` calls of a key run at once across every
 * process that shares the store, as an API allows "at most 10 requests in flight per API key". Permits are leases in
 * a store behind the {@link BulkheadStore} tag: {@link layerMemory} in one process (several bulkheads on one memory
 * store share it as processes share Redis), `BulkheadRedis.layerStore` (entry point `@sturdy/policy/BulkheadRedis`)
 * through Redis. `Bulkhead.make` stays the bulkhead of one process.
 *
 * | option          | default  | meaning                                                                        |
 * | --------------- | -------- | ------------------------------------------------------------------------------ |
 * | `maxConcurrent`, `maxQueued`, `maxWait`, `key` | as `Bulkhead` | `maxConcurrent` for the fleet; the queue per process |
 * | `lease`         | `10 s`   | a permit of a process that died comes back after this                          |
 * | `pollInterval`  | `50 ms`  | the first queued call asks again (±50%); kept when Redis wakes it on releases  |
 * | `timeout`       | `100 ms` | the longest a call waits on the store before deciding locally                  |
 *
 * Consistency:
 *
 * - A call asks the store for a permit (one atomic operation: drop the permits whose lease ended, grant one if
 *   fewer than `maxConcurrent` are held) and gives it back when it ends, however it ends (success, failure, defect,
 *   interruption or timeout). While the call runs, its process renews all of its permits of the key in one operation
 *   every `lease / 3`, so a permit lives as long as its call, and a process that died (or hangs for longer than a
 *   lease) has its permits back in the fleet after `lease`. A call that runs on after its permit's lease ran out
 *   (a process paused that long) no longer counts. A renewal that fails counts as the store failing (see below) and
 *   is tried again `lease / 3` later.
 * - Renewals: one fiber per store renews the permits of every bulkhead on it (a call forks none). It belongs to the
 *   store's layer (`layerMemory`, `BulkheadRedis.layerStore`) and stops when the layer's scope closes, even when the
 *   layer was built inside a caller's mask. A store with no such fiber running (from `makeMemory`, a store of your
 *   own, or a layer closed already, as when it is provided to `make` alone) gets one from the first bulkhead made
 *   on it, a daemon that lives as long as the process. While no permit is held the fiber waits with no timer (a
 *   script with no call in flight can exit); it notices the last permit given back at its next renewal time, at
 *   most `lease / 3` later.
 * - Waiting: `maxQueued` and `maxWait` are each process's (its queue, `BulkheadRejected` "Full" beyond it,
 *   "Timeout" after `maxWait` or at an established deadline, as `Bulkhead`). Only the first queued call of a
 *   process asks the store again, every `pollInterval` (jittered on Effect's `Random`, so processes do not ask in
 *   step), at once when a call of its own process gives a permit back, and, on a store with `watch` (Redis's, by
 *   pub/sub), at once when a call of another process gives one back; when it is granted, the next in line asks at
 *   once. A process watches a key only while a call of it waits on the key. A notice is at most once (a lost one, or
 *   a lease that ran out, which nobody announces, is found by the poll), so the poll keeps its interval while
 *   watching: `pollInterval` bounds the wait for a permit that came free unannounced. Within a process the queue is
 *   first in first out, and a newcomer asks the store only when nobody of its process waits. Across processes there
 *   is no order: a permit given back goes to whichever process asks first (every process with a waiting call asks
 *   on the notice), so a process that releases often wins more often; no caller waits longer than its `maxWait`.
 * - When the store fails or takes longer than `timeout`, the call is decided by a local bulkhead with the same
 *   options (fail-open to local, never failing a call because of the store): the outage is reported once (the metric
 *   `sturdy_shared_state_fallbacks_total{component="bulkhead"}`, the gauge `sturdy_shared_state_degraded` and a
 *   warning log line), calls then decide locally without waiting on the store, one call every 250 ms asks it again,
 *   and its success resumes sharing. A permit taken locally is given back locally. While the store is down the fleet
 *   is bounded by the sum of the processes' limits, as without sharing; when it fails or comes back, calls that
 *   hold a permit of the other kind run on, so for the length of those calls a process may run up to its fleet
 *   permits and its local ones together. A queued call that meets the outage goes on to the local bulkhead's queue
 *   (with a fresh `maxWait`). A release that fails frees the permit in this process at once; the store's copy ends
 *   with its lease (no renewal keeps it). An acquisition that timed out or was interrupted is given back in the
 *   background, should the store have granted it late.
 * - `maxConcurrent: Infinity` sets no limit: the store is not used.
 *
 * `Policy` uses the `BulkheadStore` in its context, when there is one, for the bulkheads its `bulkhead` option builds
 * (one per key), with the store's `sync` options (e.g. `BulkheadRedis.layerStore({ host, port, sync: { lease:
 * "30 seconds" } })`). It is looked up once, when the policy is made.
 *
 * @since 0.2.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type * as Bulkhead from "./Bulkhead.js"
import * as internal from "./internal/bulkheadStore.js"

/**
 * The tag of the store that holds a fleet's bulkhead permits.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { BulkheadStore } from "@sturdy/policy"
 *
 * const take = Effect.flatMap(BulkheadStore.BulkheadStore, (store) =>
 *   store.acquire({ key: "api", permit: "p-1", limit: 10, leaseMillis: 10_000, now: 0 }))
 * ```
 * @since 0.2.0
 * @category tags
 */
export const BulkheadStore: typeof internal.BulkheadStore = internal.BulkheadStore

/**
 * The identifier type of {@link BulkheadStore}.
 *
 * @example
 * ```ts
 * import type { Layer } from "effect"
 * import type { BulkheadStore } from "@sturdy/policy"
 *
 * type StoreLayer = Layer.Layer<BulkheadStore.BulkheadStore>
 * ```
 * @since 0.2.0
 * @category tags
 */
export type BulkheadStore = internal.BulkheadStore

/**
 * @since 0.2.0
 */
export declare namespace BulkheadStore {
  /**
   * Asks for one of `limit` permits of `key`, named `permit` (unique in the fleet), held for `leaseMillis` unless
   * renewed. `now` is the caller's Clock time, which the memory store's leases run on; Redis uses its own clock.
   * The same permit again while it is held is granted again without taking a second one.
   *
   * @since 0.2.0
   * @category models
   */
  export interface AcquireRequest {
    readonly key: string
    readonly permit: string
    readonly limit: number
    readonly leaseMillis: number
    readonly now: number
  }

  /**
   * Extends the leases of `permits` of `key` to `leaseMillis` from now; a permit whose lease already ran out stays
   * gone.
   *
   * @since 0.2.0
   * @category models
   */
  export interface RenewRequest {
    readonly key: string
    readonly permits: ReadonlyArray<string>
    readonly leaseMillis: number
    readonly now: number
  }

  /**
   * A store implementation: `acquire` is atomic (expired leases dropped, then a permit granted when fewer than
   * `limit` are held), `release` gives back one permit (nothing when it is gone), `renew` extends the leases of the
   * permits still held.
   *
   * @since 0.2.0
   * @category models
   */
  export interface Service {
    readonly acquire: (request: AcquireRequest) => Effect.Effect<boolean, BulkheadStoreError>
    readonly release: (key: string, permit: string) => Effect.Effect<void, BulkheadStoreError>
    readonly renew: (request: RenewRequest) => Effect.Effect<void, BulkheadStoreError>
    /** Defaults for the bulkheads built on this store, `Policy`'s included (their own options win). */
    readonly sync?: SyncOptions | undefined
    /**
     * Optional (Redis's store has it, the memory store needs none): while the scope is open, calls `onRelease` when
     * a permit of `key` may have come free anywhere in the fleet, with the name of the permit given back (`""` when
     * expired leases were dropped). A notice may be lost, so the bulkheads keep polling; it never fails a call.
     */
    readonly watch?:
      | ((key: string, onRelease: (permit: string) => void) => Effect.Effect<void, never, Scope.Scope>)
      | undefined
  }
}

/**
 * The failure of a store operation; its message never includes the cause (which may name hosts).
 *
 * @example
 * ```ts
 * import { BulkheadStore } from "@sturdy/policy"
 *
 * const error = new BulkheadStore.BulkheadStoreError({ key: "api" })
 * ```
 * @since 0.2.0
 * @category errors
 */
export const BulkheadStoreError: typeof internal.BulkheadStoreError = internal.BulkheadStoreError

/**
 * The instance type of {@link BulkheadStoreError}.
 *
 * @example
 * ```ts
 * import type { BulkheadStore } from "@sturdy/policy"
 *
 * const keyOf = (e: BulkheadStore.BulkheadStoreError) => e.key
 * ```
 * @since 0.2.0
 * @category errors
 */
export interface BulkheadStoreError extends internal.BulkheadStoreError {}

/**
 * How a bulkhead talks to the store; see the module's table for the defaults. Each must be a positive duration a
 * timer can hold.
 *
 * @example
 * ```ts
 * import type { BulkheadStore } from "@sturdy/policy"
 *
 * const options: BulkheadStore.SyncOptions = { lease: "30 seconds", pollInterval: "20 millis", timeout: "50 millis" }
 * ```
 * @since 0.2.0
 * @category models
 */
export interface SyncOptions {
  readonly lease?: Duration.DurationInput | undefined
  readonly timeout?: Duration.DurationInput | undefined
  readonly pollInterval?: Duration.DurationInput | undefined
}

/**
 * The defaults of {@link SyncOptions}: `lease` 10 s, `timeout` 100 ms, `pollInterval` 50 ms.
 *
 * @example
 * ```ts
 * import { Duration } from "effect"
 * import { BulkheadStore } from "@sturdy/policy"
 *
 * const renewEvery = Duration.toMillis(BulkheadStore.defaults.lease) / 3
 * ```
 * @since 0.2.0
 * @category constants
 */
export const defaults: {
  readonly lease: Duration.Duration
  readonly timeout: Duration.Duration
  readonly pollInterval: Duration.Duration
} = internal.defaults

/**
 * A store in this process's memory (leases on each request's `now`, so it works under `TestClock`). Bulkheads built
 * on one memory store share it as processes share Redis. A key is forgotten when its last permit is given back, or,
 * when its permits' leases all ended (their holders died), at the first acquisition or renewal of any key once a
 * lease has passed: many short-lived keys (one per tenant) do not pile up. The layer's renewal fiber (see the module
 * doc) stops when the layer's scope closes. Its operations are synchronous: they are not raced against `timeout`,
 * and a call that needs no wait takes and gives back its permit in place (about the cost of `Bulkhead`'s call).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { BulkheadStore } from "@sturdy/policy"
 *
 * const bulkhead = BulkheadStore.make({ key: "api", maxConcurrent: 10 }).pipe(Effect.provide(BulkheadStore.layerMemory))
 * ```
 * @since 0.2.0
 * @category layers
 */
export const layerMemory: Layer.Layer<BulkheadStore> = internal.layerMemory

/**
 * Builds a store in memory, outside of a layer: its renewal fiber is made by the first bulkhead made on it, and
 * parks (no timer) while no permit is held.
 *
 * @example
 * ```ts
 * import { BulkheadStore } from "@sturdy/policy"
 *
 * const store = BulkheadStore.makeMemory()
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const makeMemory: () => BulkheadStore.Service = internal.makeMemory

/**
 * A `Bulkhead` whose `maxConcurrent` holds for every process sharing the store in context (the options of
 * `Bulkhead.make`, plus {@link SyncOptions}, which win over the store's `sync`). Its `snapshot` counts this
 * process's calls. Dies with the `RangeError` of `Bulkhead.make` for bad options, or one naming a sync option that
 * is not a positive duration a timer can hold.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Bulkhead, BulkheadStore } from "@sturdy/policy"
 *
 * const program = Effect.gen(function*() {
 *   const bulkhead = yield* BulkheadStore.make({ key: "api.example.com", maxConcurrent: 10, maxQueued: 100 })
 *   return yield* Effect.succeed("done").pipe(Bulkhead.withBulkhead(bulkhead))
 * }).pipe(Effect.provide(BulkheadStore.layerMemory))
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const make: (
  options: Bulkhead.Options & SyncOptions
) => Effect.Effect<Bulkhead.Bulkhead, never, BulkheadStore> = internal.make
