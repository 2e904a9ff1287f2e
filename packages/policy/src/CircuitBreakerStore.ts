/**
 * Breaker state shared by every process that calls one upstream. Each process keeps its own `CircuitBreaker`
 * (the fast path: an admission reads local memory only); a store behind the {@link CircuitBreakerStore} tag
 * carries the transitions between them: {@link layerMemory} in one process, `CircuitBreakerRedis.layerStore`
 * (entry point `@sturdy/policy/CircuitBreakerRedis`) through Redis.
 *
 * | option         | default  | meaning                                                                     |
 * | -------------- | -------- | --------------------------------------------------------------------------- |
 * | `syncInterval` | `250 ms` | how often a process reads the fleet's state of the keys it used             |
 * | `timeout`      | `100 ms` | the longest any store operation may take; a probe waits at most this long   |
 * | `probeLease`   | `10 s`   | a probe slot held by a process that died is given back after this           |
 *
 * Consistency:
 *
 * - When a breaker opens (or a probe fails and it opens again) it publishes `Open until T`; every other process
 *   that calls the key reads it within `syncInterval` and is Open until the same T. One process's open breaker
 *   therefore stops the others within `syncInterval + 2 × timeout` (450 ms by default); calls in that delay go
 *   through as before. An open-until-reset breaker (`breakDuration` of `Duration.infinity`) is shared as such. A
 *   process's `state` and `snapshot` report a transition it has read as its next call would (the breaker makes it
 *   then, with its `changes` event), not only once that call comes. A process opened by another's record pauses
 *   until the same T but does not step its own `breakDuration` schedule: if its own probe then fails, it pauses for
 *   its schedule's next step (the first, if it never opened itself), not for the pause it read.
 * - Order: a store's `publish` is a compare-and-set, so an older record never replaces a newer one, whoever sends
 *   it and however late (a write sent again after an outage included); each process applies the record the store
 *   holds when it is not the last one it applied or published (the store has ordered them), and while its own write
 *   of that key is on its way, only a record newer than its own. Records carry a `seq` (see `CircuitBreakerStore.Record`):
 *   after every record their writer knew of, and by its time otherwise, so a wall clock set back (an NTP step) does
 *   not put a process's newer record behind its older one. The memory store orders by `seq` (one Clock serves its
 *   processes). Redis does not trust the processes' clocks to agree: it orders one process's records by their
 *   `seq`, and another process's by when they were made on its own clock (a record's arrival less the time it spent
 *   on its way); it shares a pause as a duration that its own clock measures. Each process then ends the pause
 *   within the publish's and the read's transit times (each under `timeout`) after the opener, and never earlier,
 *   whatever the skew between their clocks or a step of one of them; probe leases run on Redis's clock.
 * - Half-open: when the pause ends, a probe also needs one of `halfOpenMaxProbes` slots of the whole fleet (each
 *   slot with its own lease in the store, named by its probe's token), so the fleet sends `halfOpenMaxProbes`
 *   probes, not one per process; a process that gets no slot answers `CircuitOpen`, with a `retryAfter` of the whole
 *   last pause (it cannot know when the fleet's probes will end). A probe gives back its own
 *   slot, and nothing once its lease ran out, so probes within their lease are never more than the limit; the next
 *   probe of the same process first sees that release through (its wait includes it), so probes in turn
 *   (`successThreshold` above `halfOpenMaxProbes`) never find their own process's last slot still taken. A probe
 *   that closes its breaker publishes `Closed` and the others close within `syncInterval`. `successThreshold`
 *   counts the probes of one process. A probe that hangs in a live process lets go of its slot after that
 *   breaker's `maxProbeDuration` (by default the pause before it): the process gives the fleet's slot back at its
 *   next call of the key (which probes in its place) or read of the breaker's state, so a slot is held no longer
 *   than `maxProbeDuration` and that process's next call (a live holder), or `probeLease` (a dead one). With
 *   `maxProbeDuration: Infinity` the hung process keeps its own slot and rejects its own calls, while the fleet's
 *   slot still comes back after `probeLease`.
 * - Consecutive failures and failure rates are counted per process (each breaker decides to open from its own
 *   calls, over a time window or a count window alike: no window data is shared); only the transitions are shared. `isolate` and `reset` stay local.
 * - When the store fails or takes longer than `timeout`, each breaker goes on alone on its local state (fail-open
 *   to local; a probe then needs only its local slot), the outage is reported once (the metric
 *   `sturdy_shared_state_fallbacks_total{component="circuit_breaker"}`, the gauge `sturdy_shared_state_degraded`
 *   and a warning log line), and sharing resumes with the first read that succeeds. No call waits on the store
 *   but a half-open probe, for at most `timeout`, and not at all while the store is known to be down.
 * - Writes the outage dropped are sent again when the store first answers that process again (its next poll or
 *   write): its latest record of each key, if it still says something (an Open whose pause is not over, or a
 *   Closed; not an Open whose pause ended meanwhile, nor a record a later one of this process replaced), with its
 *   age, and the store's compare-and-set keeps it only if it holds nothing newer (another process's record sent
 *   meanwhile stays); then the probe slots it gave back, each freed only if its token still holds it. A breaker that
 *   opened alone during the outage therefore stops the others within about `2 × syncInterval` of the store coming
 *   back (its own poll, then theirs), until the end of its own pause (Redis dates the record by when it was made,
 *   not by its arrival), give or take a round trip. A record may also be sent again after a write that timed out
 *   but reached the store; the store's order makes that harmless.

 *
 * `Policy` uses the `CircuitBreakerStore` in its context, when there is one, for the breakers it builds, with the
 * store's `sync` options (e.g. `CircuitBreakerRedis.layerStore({ host, port, sync: { syncInterval: "100 millis" } })`).
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type * as CircuitBreaker from "./CircuitBreaker.js"
import * as internal from "./internal/circuitBreakerStore.js"

/**
 * The tag of the store that carries breaker transitions between processes.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CircuitBreakerStore } from "@sturdy/policy"
 *
 * const states = Effect.flatMap(CircuitBreakerStore.CircuitBreakerStore, (store) => store.read(["api.example.com"]))
 * ```
 * @since 0.1.0
 * @category tags
 */
export const CircuitBreakerStore: typeof internal.CircuitBreakerStore = internal.CircuitBreakerStore

/**
 * The identifier type of {@link CircuitBreakerStore}.
 *
 * @example
 * ```ts
 * import type { Layer } from "effect"
 * import type { CircuitBreakerStore } from "@sturdy/policy"
 *
 * type StoreLayer = Layer.Layer<CircuitBreakerStore.CircuitBreakerStore>
 * ```
 * @since 0.1.0
 * @category tags
 */
export type CircuitBreakerStore = internal.CircuitBreakerStore

/**
 * @since 0.1.0
 */
export declare namespace CircuitBreakerStore {
  /**
   * A key's shared state: `Open` until `until` (`Infinity`: until reset), or `Closed`, decided at `at`, both in
   * Clock milliseconds of the process that holds the record: a store shared by processes hands out another
   * process's record on the reader's Clock (e.g. Redis re-bases it by the age its own clock measured).
   *
   * `seq` (since 0.2.0) orders the records of a key whatever the writers' wall clocks do: a breaker gives its record
   * `max(at, s + 1)`, `s` the highest `seq` it sent or read from the store for the key, so a record comes after every
   * record its writer knew of, after a step back of its clock too (its `at` is then below its previous record's).
   * A store keeps the newer record: the higher `seq` when both have one (equal: the later `at`), the later `at` when
   * either has none (a record of a writer or store from before `seq`), and on a full tie the one that arrives.
   * `CircuitBreakerRedis` orders the records of different processes on Redis's own clock instead (see its docs).
   *
   * @since 0.1.0
   * @category models
   */
  export interface Record {
    readonly state: "Open" | "Closed"
    readonly at: number
    readonly until: number
    readonly seq?: number | undefined
  }

  /**
   * How a record is sent: `age`, the milliseconds since its writer made it (on its monotonic clock), for a record
   * sent late (after a store outage, or behind other writes): a store that dates records by their arrival (Redis)
   * dates it `age` earlier, so a pause it shares ends when the writer's does. A store may ignore it (the memory
   * store does: it orders by `seq` and `at`).
   *
   * @since 0.2.0
   * @category models
   */
  export interface PublishOptions {
    readonly age?: number | undefined
  }

  /**
   * Asks for one of `limit` probe slots of `key`, held for `leaseMillis` at most (each slot its own lease). `now`
   * is the caller's Clock time, which the memory store's leases run on; Redis uses its own clock. `token` names the
   * slot, unique in the fleet per acquisition (a breaker's: a random id and a counter): `releaseProbe(key, token)`
   * then frees exactly that slot (a store ignoring it still works, with the release of its own choosing). The same
   * token again while its slot is held is granted again without taking a second slot.
   *
   * @since 0.1.0
   * @category models
   */
  export interface ProbeRequest {
    readonly key: string
    readonly limit: number
    readonly leaseMillis: number
    readonly now: number
    readonly token?: string | undefined
  }

  /**
   * A store implementation. `publish` is a compare-and-set: it keeps the newer record (see {@link Record}), never
   * replacing a newer one with an older one, whoever sends it and however late; a record it keeps frees the key's
   * probe slots; `read` answers one record (or `undefined`) per key. `releaseProbe(key, token)` gives back
   * the slot `token` named when it was acquired, and nothing when that slot is gone (its lease ran out, or a
   * transition freed it): a probe that outlived its lease never frees another's slot. Without a token, it gives
   * back the oldest slot this store granted without one (the slots left are the latest granted, so every caller
   * still probing keeps a slot that lasts as long as its own); another store's slots, a dead process's among them,
   * keep their own lease. Breakers always name their slots; a store written before tokens (a `releaseProbe` of
   * one parameter) still type-checks and works, with its own release.
   *
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    readonly publish: (
      key: string,
      record: Record,
      options?: PublishOptions | undefined
    ) => Effect.Effect<void, CircuitBreakerStoreError>
    readonly read: (
      keys: ReadonlyArray<string>
    ) => Effect.Effect<ReadonlyArray<Record | undefined>, CircuitBreakerStoreError>
    readonly acquireProbe: (request: ProbeRequest) => Effect.Effect<boolean, CircuitBreakerStoreError>
    readonly releaseProbe: (key: string, token?: string | undefined) => Effect.Effect<void, CircuitBreakerStoreError>
    /** Defaults for the breakers built on this store, `Policy`'s included (their own options win). */
    readonly sync?: SyncOptions | undefined
  }
}

/**
 * The failure of a store operation; its message never includes the cause (which may name hosts).
 *
 * @example
 * ```ts
 * import { CircuitBreakerStore } from "@sturdy/policy"
 *
 * const error = new CircuitBreakerStore.CircuitBreakerStoreError({ key: "api" })
 * ```
 * @since 0.1.0
 * @category errors
 */
export const CircuitBreakerStoreError: typeof internal.CircuitBreakerStoreError = internal.CircuitBreakerStoreError

/**
 * The instance type of {@link CircuitBreakerStoreError}.
 *
 * @example
 * ```ts
 * import type { CircuitBreakerStore } from "@sturdy/policy"
 *
 * const keyOf = (e: CircuitBreakerStore.CircuitBreakerStoreError) => e.key
 * ```
 * @since 0.1.0
 * @category errors
 */
export interface CircuitBreakerStoreError extends internal.CircuitBreakerStoreError {}

/**
 * How a breaker talks to the store; see the module's table for the defaults.
 *
 * @example
 * ```ts
 * import type { CircuitBreakerStore } from "@sturdy/policy"
 *
 * const options: CircuitBreakerStore.SyncOptions = { syncInterval: "200 millis", timeout: "50 millis" }
 * ```
 * @since 0.1.0
 * @category models
 */
export interface SyncOptions {
  readonly syncInterval?: Duration.DurationInput | undefined
  readonly timeout?: Duration.DurationInput | undefined
  readonly probeLease?: Duration.DurationInput | undefined
}

/**
 * The defaults of {@link SyncOptions}: `syncInterval` 250 ms, `timeout` 100 ms, `probeLease` 10 s.
 *
 * @example
 * ```ts
 * import { Duration } from "effect"
 * import { CircuitBreakerStore } from "@sturdy/policy"
 *
 * const worstDelay = Duration.sum(CircuitBreakerStore.defaults.syncInterval, Duration.times(CircuitBreakerStore.defaults.timeout, 2))
 * ```
 * @since 0.1.0
 * @category constants
 */
export const defaults: {
  readonly syncInterval: Duration.Duration
  readonly timeout: Duration.Duration
  readonly probeLease: Duration.Duration
} = internal.defaults

/**
 * A store in this process's memory (Clock-driven leases, so it works under `TestClock`). Breakers built on one
 * memory store share it as processes share Redis.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { CircuitBreakerStore } from "@sturdy/policy"
 *
 * const BreakersLive = CircuitBreakerStore.layerRegistry().pipe(Layer.provide(CircuitBreakerStore.layerMemory))
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<CircuitBreakerStore> = internal.layerMemory

/**
 * Builds a store in memory, outside of a layer.
 *
 * @example
 * ```ts
 * import { CircuitBreakerStore } from "@sturdy/policy"
 *
 * const store = CircuitBreakerStore.makeMemory()
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory: () => CircuitBreakerStore.Service = internal.makeMemory

/**
 * A breaker for `key` whose transitions are shared through the store in context; its polling fiber lives as long
 * as the scope.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CircuitBreakerStore } from "@sturdy/policy"
 *
 * const program = Effect.gen(function*() {
 *   const breaker = yield* CircuitBreakerStore.make("api.example.com", { consecutiveFailures: 5 })
 *   return yield* breaker.state
 * }).pipe(Effect.provide(CircuitBreakerStore.layerMemory), Effect.scoped)
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const make: (
  key: string,
  options?: CircuitBreaker.Options & SyncOptions
) => Effect.Effect<CircuitBreaker.CircuitBreaker, never, CircuitBreakerStore | Scope.Scope> = internal.make

/**
 * A breaker registry (one breaker per key) sharing every breaker's transitions through the store in context.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CircuitBreakerStore } from "@sturdy/policy"
 *
 * const program = Effect.gen(function*() {
 *   const registry = yield* CircuitBreakerStore.makeRegistry({ breaker: { consecutiveFailures: 5 } })
 *   return yield* Effect.succeed("ok").pipe(registry.withBreaker("api.example.com"))
 * }).pipe(Effect.provide(CircuitBreakerStore.layerMemory), Effect.scoped)
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const makeRegistry: (
  options?: CircuitBreaker.RegistryOptions & SyncOptions
) => Effect.Effect<CircuitBreaker.RegistryService, never, CircuitBreakerStore | Scope.Scope> = internal.makeRegistry

/**
 * A layer providing `CircuitBreaker.Registry` on the store in context.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { CircuitBreakerStore } from "@sturdy/policy"
 *
 * const BreakersLive = CircuitBreakerStore.layerRegistry({ syncInterval: "200 millis" }).pipe(
 *   Layer.provide(CircuitBreakerStore.layerMemory)
 * )
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layerRegistry: (
  options?: CircuitBreaker.RegistryOptions & SyncOptions
) => Layer.Layer<CircuitBreaker.Registry, never, CircuitBreakerStore> = internal.layerRegistry
