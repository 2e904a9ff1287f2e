/**
 * A retry budget shared by every process that calls one upstream. The counters of `RetryBudget` (requests and
 * retries per slot of a sliding window) live in a store behind the {@link RetryBudgetStore} tag:
 * {@link layerMemory} for one process (the behaviour of `RetryBudget.layer`), `RetryBudgetRedis.layerStore` (entry
 * point `@sturdy/policy/RetryBudgetRedis`) to share them through Redis. With a shared store the rule
 * `retries < minRetries + ratio × requests` holds for the window's requests and retries of the whole fleet, so 50
 * replicas of a service send a failing upstream no more retries than one replica with the same traffic would.
 *
 * | option         | default  | meaning                                                                  |
 * | -------------- | -------- | ------------------------------------------------------------------------ |
 * | `ratio`, `minRetries`, `window` | as `RetryBudget` | the budget rule, for the whole fleet                |
 * | `syncInterval` | `100 ms` | how often this process adds its pending requests to the store            |
 * | `timeout`      | `100 ms` | the longest a call waits on the store before deciding locally            |
 *
 * Consistency:
 *
 * - `deposit` (every call) only bumps local counters; the requests are added to the store in one operation per key
 *   every `syncInterval` (one per slot they were made in, each counted into its own slot, so a request leaves the
 *   fleet's window when it leaves this process's). `withdraw` (a retry, which is already waiting for its backoff) is
 *   one atomic store operation that adds this process's pending requests, checks the rule and counts the retry
 *   (pending requests of an earlier slot are added first, by an operation of their own). Retries are
 *   therefore never over-granted while the store answers: the rule only ever sees fewer requests than were made,
 *   by at most the requests the other processes made in their last `syncInterval`, so the fleet can be stricter
 *   than the rule by `ratio ×` those requests, never looser.
 * - Each process also keeps its own local budget (its own traffic, the same options). When the store fails or
 *   takes longer than `timeout`, decisions fall back to it at once (fail-open to local, never failing a call),
 *   the outage is reported once (`sturdy_shared_state_fallbacks_total{component="retry_budget"}`, the gauge
 *   `sturdy_shared_state_degraded` and a warning log line), retries stop waiting on the store until it answers
 *   again, and sharing resumes with the next successful flush. While the store is down the fleet is bounded by the
 *   sum of the processes' budgets, as without sharing. Deposits that could not be flushed are left out of the
 *   fleet's count (the fleet is stricter for a window).
 * - Slots are chosen from each process's `Clock`: processes whose clocks differ by δ count into slots δ apart,
 *   which shifts the window by at most δ. Each operation sums the window that ends at its own `now`, in every store:
 *   slots counted by a process whose clock is ahead join it when its clock gets there.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/retryBudgetStore.js"
import type * as RetryBudget from "./RetryBudget.js"

/**
 * The tag of the store that keeps a retry budget's counters.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RetryBudgetStore } from "@sturdy/policy"
 *
 * const peek = Effect.flatMap(RetryBudgetStore.RetryBudgetStore, (store) =>
 *   store.update({ key: "api", requests: 0, withdraw: false, now: 0, windowMillis: 10_000, ratio: 0.2, minRetries: 10 }))
 * ```
 * @since 0.1.0
 * @category tags
 */
export const RetryBudgetStore: typeof internal.RetryBudgetStore = internal.RetryBudgetStore

/**
 * The identifier type of {@link RetryBudgetStore}.
 *
 * @example
 * ```ts
 * import type { Layer } from "effect"
 * import type { RetryBudgetStore } from "@sturdy/policy"
 *
 * type StoreLayer = Layer.Layer<RetryBudgetStore.RetryBudgetStore>
 * ```
 * @since 0.1.0
 * @category tags
 */
export type RetryBudgetStore = internal.RetryBudgetStore

/**
 * @since 0.1.0
 */
export declare namespace RetryBudgetStore {
  /**
   * One atomic store operation: add `requests` to the current slot of `key` (the slot of `now`, ten slots a
   * window), then, when `withdraw` is set, count one retry if `retries < minRetries + ratio × requests` over the
   * window.
   *
   * @since 0.1.0
   * @category models
   */
  export interface Request {
    readonly key: string
    readonly requests: number
    readonly withdraw: boolean
    readonly now: number
    readonly windowMillis: number
    readonly ratio: number
    readonly minRetries: number
  }

  /**
   * Whether the retry was counted, and the window's totals after the operation.
   *
   * @since 0.1.0
   * @category models
   */
  export interface Result {
    readonly granted: boolean
    readonly requests: number
    readonly retries: number
  }

  /**
   * A store implementation.
   *
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    readonly update: (request: Request) => Effect.Effect<Result, RetryBudgetStoreError>
  }
}

/**
 * The failure of a store operation; its message never includes the cause (which may name hosts).
 *
 * @example
 * ```ts
 * import { RetryBudgetStore } from "@sturdy/policy"
 *
 * const error = new RetryBudgetStore.RetryBudgetStoreError({ key: "api" })
 * ```
 * @since 0.1.0
 * @category errors
 */
export const RetryBudgetStoreError: typeof internal.RetryBudgetStoreError = internal.RetryBudgetStoreError

/**
 * The instance type of {@link RetryBudgetStoreError}.
 *
 * @example
 * ```ts
 * import type { RetryBudgetStore } from "@sturdy/policy"
 *
 * const keyOf = (e: RetryBudgetStore.RetryBudgetStoreError) => e.key
 * ```
 * @since 0.1.0
 * @category errors
 */
export interface RetryBudgetStoreError extends internal.RetryBudgetStoreError {}

/**
 * Options of a store-backed budget: the budget's own, plus how it talks to the store (see the module's table).
 *
 * @example
 * ```ts
 * import type { RetryBudgetStore } from "@sturdy/policy"
 *
 * const options: RetryBudgetStore.Options = { ratio: 0.2, syncInterval: "100 millis", timeout: "50 millis" }
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Options extends RetryBudget.RetryBudget.Options {
  readonly syncInterval?: Duration.DurationInput | undefined
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * The defaults of {@link Options}: `syncInterval` 100 ms, `timeout` 100 ms.
 *
 * @example
 * ```ts
 * import { Duration } from "effect"
 * import { RetryBudgetStore } from "@sturdy/policy"
 *
 * const flushesPerSecond = 1000 / Duration.toMillis(RetryBudgetStore.defaults.syncInterval)
 * ```
 * @since 0.1.0
 * @category constants
 */
export const defaults: {
  readonly syncInterval: Duration.Duration
  readonly timeout: Duration.Duration
} = internal.defaults

/**
 * Options of {@link makeMemory}: `maxKeys`, the keys it counts at once (default 10,000). As in `RetryBudget`, a key
 * whose window has passed is dropped when a new key is added, the key counted into least recently beyond
 * `maxKeys`, and a request that only reads a key it does not hold (no requests, no withdrawal) adds nothing.
 *
 * @example
 * ```ts
 * import { RetryBudgetStore } from "@sturdy/policy"
 *
 * const options: RetryBudgetStore.MemoryOptions = { maxKeys: 1_000 }
 * ```
 * @since 0.1.0
 * @category models
 */
export interface MemoryOptions {
  readonly maxKeys?: number | undefined
}

/**
 * A store in this process's memory (driven by each request's `now`, so it works under `TestClock`), with the
 * default {@link MemoryOptions}. Several budgets built on one memory store share it as processes share Redis.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RetryBudgetStore } from "@sturdy/policy"
 *
 * const budget = RetryBudgetStore.makeBudget({ ratio: 0.1 }).pipe(
 *   Effect.provide(RetryBudgetStore.layerMemory),
 *   Effect.scoped
 * )
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<RetryBudgetStore> = internal.layerMemory

/**
 * Builds a store in memory, outside of a layer. Throws a `RangeError` for a `maxKeys` that is not an integer of at
 * least 1.
 *
 * @example
 * ```ts
 * import { RetryBudgetStore } from "@sturdy/policy"
 *
 * const store = RetryBudgetStore.makeMemory({ maxKeys: 1_000 })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory: (options?: MemoryOptions) => RetryBudgetStore.Service = internal.makeMemory

/**
 * Builds a `RetryBudget` service on the store in context. Its flushing fiber lives as long as the scope (the
 * pending requests are flushed once more when it closes). Dies with a `RangeError` for options `RetryBudget`
 * refuses, or a `syncInterval`/`timeout` that is not a finite positive duration.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RetryBudgetStore } from "@sturdy/policy"
 *
 * const program = Effect.gen(function*() {
 *   const budget = yield* RetryBudgetStore.makeBudget({ ratio: 0.2 })
 *   yield* budget.deposit("api.example.com")
 *   return yield* budget.withdraw("api.example.com")
 * }).pipe(Effect.provide(RetryBudgetStore.layerMemory), Effect.scoped)
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const makeBudget: (
  options?: Options
) => Effect.Effect<RetryBudget.RetryBudget.Service, never, RetryBudgetStore | Scope.Scope> = internal.makeBudget

/**
 * A `RetryBudget` layer on the store in context; `Policy` (and `Retry.retry` with a budget) then share it. Swap
 * the store layer to go from one process to a fleet.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { RetryBudgetStore } from "@sturdy/policy"
 *
 * const BudgetLive = RetryBudgetStore.layerBudget({ ratio: 0.2 }).pipe(Layer.provide(RetryBudgetStore.layerMemory))
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layerBudget: (
  options?: Options
) => Layer.Layer<RetryBudget.RetryBudget, never, RetryBudgetStore> = internal.layerBudget
