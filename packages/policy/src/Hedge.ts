/**
 * Hedged requests: when an attempt is slow, start another one and keep whichever succeeds first. Only for calls
 * that are safe to repeat.
 *
 * `hedge(options)(attempt)` runs `attempt` (one try, for any transport); once `delay` has passed without an answer it
 * starts the same effect again, up to `maxHedges` extra copies, each `delay` after the previous one. A copy that
 * fails sends the next hedge at once (as gRPC hedging does) when `while(failure)` says the failure may be worth
 * another copy; any other failure is the answer: it ends the call at once, as a defect does, and the copies still
 * running are interrupted (gRPC commits on a status outside `nonFatalStatusCodes`; Polly asks `ShouldHandle`). The
 * first success wins and every other attempt is interrupted, and awaited, before the value is returned: an HTTP
 * attempt's request is aborted. If every attempt fails, the call fails with the LAST failure by default
 * (`failure: "first"` keeps the earliest one).
 *
 * By default every typed failure lets the next copy start except a rejection by one of this package's policies
 * (`CircuitOpen`, `BulkheadRejected`, `RateLimitExceeded`, `AdaptiveThrottleRejected`, `ConcurrencyLimitExceeded`)
 * inside the hedged effect: a copy would be turned away just as fast. A `while` of your own replaces that default; a transport passes its
 * classifier (a 404 is an answer, a 503 is worth a copy). A policy's rejection is not an answer of the upstream,
 * though: when `while` refuses one while another copy is still running (the primary holds the bulkhead's last permit,
 * a breaker opened meanwhile), no more copies are sent and the call waits for the copies running, as gRPC stops
 * hedging when throttled; only with no other copy running is the rejection the call's failure.
 *
 * | option      | default | meaning                                                                      |
 * | ----------- | ------- | ---------------------------------------------------------------------------- |
 * | `delay`     | —       | a duration, or `percentile(...)`: a latency quantile observed per key          |
 * | `maxHedges` | `1`     | extra attempts at most (0 turns hedging off)                                 |
 * | `budgetKey` | none    | `RetryBudget` key: each hedge withdraws one retry; refused → no more hedges   |
 * | `deposit`   | `true`  | with `budgetKey`, deposit one request per call, hedged or not (false when `Retry` already does) |
 * | `enabled`   | `true`  | `false` (or an Effect of false) runs the attempt as is, nothing forked (a deposit is still made) |
 * | `failure`   | `last`  | which failure to return when all attempts failed                              |
 * | `while`     | see above | which failures let the next copy start at once; any other ends the call     |
 * | `pushback`  | none    | refused failures that only stop hedging: the copies running may still answer   |
 * | `onHedge`   | none    | called before each hedge starts, with its index                              |
 *
 * **Idempotency.** Hedging sends the same request more than once, concurrently. A transport must only hedge requests
 * that are safe to repeat; `@sturdy/http` passes `enabled: false` for a non-idempotent method (POST, PATCH) that
 * carries no `Idempotency-Key` header.
 *
 * **Telemetry.** Each attempt runs with `currentIndex` set (0 for the first, 1.. for hedges), so a transport can tag
 * its own span or log; hedges (index ≥ 1) also run in a `sturdy.hedge` span with a `hedge.index` attribute, and
 * when a hedge was sent the caller's span gets `hedge.attempts` and `hedge.winner`.
 *
 * Everything reads `Clock`, so it runs under `TestClock`. Attempts inherit the caller's `Deadline`, and no hedge
 * starts at or after it (with `Deadline.establish` no timer interrupts the call; each attempt bounds itself).
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as FiberRef from "effect/FiberRef"
import type * as Option from "effect/Option"
import * as internal from "./internal/hedge.js"
import type { RetryBudget } from "./RetryBudget.js"

/**
 * A bounded per-key record of recent latencies (a ring buffer of `samples` values per key, `maxKeys` keys at most,
 * the least recently used key evicted first), from which a hedge delay can be read as a quantile.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Hedge } from "@sturdy/policy"
 *
 * const p95 = Effect.flatMap(Hedge.makeLatencyTracker(), (tracker) => tracker.quantile("GET /users", 0.95))
 * ```
 * @since 0.1.0
 * @category models
 */
export interface LatencyTracker {
  readonly record: (key: string, latency: Duration.DurationInput) => Effect.Effect<void>
  readonly quantile: (key: string, quantile: number) => Effect.Effect<Option.Option<Duration.Duration>>
  readonly count: (key: string) => Effect.Effect<number>
}

/**
 * A hedge delay read from a `LatencyTracker`; build one with `percentile`.
 *
 * @example
 * ```ts
 * import { Hedge } from "@sturdy/policy"
 *
 * declare const tracker: Hedge.LatencyTracker
 * const delay: Hedge.Percentile = Hedge.percentile({ tracker, key: "GET /users", fallback: "200 millis" })
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Percentile extends internal.Percentile {}

/**
 * A fixed delay or a `Percentile`.
 *
 * @example
 * ```ts
 * import { Hedge } from "@sturdy/policy"
 *
 * const fixed: Hedge.Delay = "150 millis"
 * ```
 * @since 0.1.0
 * @category models
 */
export type Delay = Duration.DurationInput | Percentile

/**
 * What `onHedge` is told: the index of the hedge about to start (1 for the first), what triggered it (the delay
 * passing, or an attempt failing) and the time since the call started.
 *
 * @example
 * ```ts
 * import { Duration } from "effect"
 * import { Hedge } from "@sturdy/policy"
 *
 * const line = (e: Hedge.HedgeEvent) => `hedge #${e.index} after ${Duration.format(e.elapsed)} (${e.trigger})`
 * ```
 * @since 0.1.0
 * @category models
 */
export interface HedgeEvent {
  readonly index: number
  readonly trigger: "delay" | "failure"
  readonly elapsed: Duration.Duration
}

/**
 * Options of `hedge`; see the module's table for defaults.
 *
 * @example
 * ```ts
 * import { Predicate } from "effect"
 * import { Hedge } from "@sturdy/policy"
 *
 * // a NotFound is the answer: no copy of the request would find more
 * const options: Hedge.Options = {
 *   delay: "100 millis",
 *   maxHedges: 2,
 *   while: (failure) => !Predicate.isTagged(failure, "NotFound")
 * }
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Options<R = never> {
  readonly delay: Delay
  readonly maxHedges?: number | undefined
  readonly budgetKey?: undefined
  readonly deposit?: boolean | undefined
  readonly enabled?: boolean | Effect.Effect<boolean, never, R> | undefined
  readonly failure?: "first" | "last" | undefined
  readonly onHedge?: ((event: HedgeEvent) => Effect.Effect<void, never, R>) | undefined
  /**
   * Whether an attempt's typed failure lets the next copy start (at once, if one is left); `false` makes that
   * failure the call's answer and interrupts the other copies, except a policy's rejection of a copy while another
   * runs, which only stops hedging. Default: every failure but a rejection by one of this package's policies
   * (`CircuitOpen`, `BulkheadRejected`, `RateLimitExceeded`, `AdaptiveThrottleRejected`,
   * `ConcurrencyLimitExceeded`).
   *
   * @since 0.2.0
   */
  readonly while?: ((failure: unknown) => boolean) | undefined
  /**
   * Among the failures `while` refuses, those that only stop hedging, as a server's pushback does in gRPC: no more
   * copies are sent, the copies already running may still answer, and the call fails with this failure (the latest,
   * if several) only when they fail too, whatever `failure` says, so that what the server asked for reaches the
   * caller. With no other copy running it is the call's failure at once. Default: none. `@sturdy/http`'s `Policy`
   * passes the failures that carry a server's wait (a 429 or a 503 with `Retry-After`), which its retry stage honours.
   *
   * @example
   * ```ts
   * import { Predicate } from "effect"
   * import { Hedge } from "@sturdy/policy"
   *
   * const options: Hedge.Options = {
   *   delay: "200 millis",
   *   while: (failure) => !Predicate.isTagged(failure, "Overloaded"),
   *   pushback: Predicate.isTagged("Overloaded")
   * }
   * ```
   * @since 0.2.0
   */
  readonly pushback?: ((failure: unknown) => boolean) | undefined
}

/**
 * Options of `hedge` with a `RetryBudget` key: each hedge withdraws one retry from it.
 *
 * @example
 * ```ts
 * import { Hedge } from "@sturdy/policy"
 *
 * const options: Hedge.BudgetedOptions = { delay: "100 millis", budgetKey: "api.example.com", deposit: false }
 * ```
 * @since 0.1.0
 * @category models
 */
export interface BudgetedOptions<R = never> extends Omit<Options<R>, "budgetKey"> {
  readonly budgetKey: string
}

/**
 * The defaults: one hedge; trackers keep 128 samples for up to 1024 keys; `percentile` reads p95 once 20 samples
 * were seen.
 *
 * @example
 * ```ts
 * import { Hedge } from "@sturdy/policy"
 *
 * const twice = { delay: "100 millis", maxHedges: Hedge.defaults.maxHedges + 1 }
 * ```
 * @since 0.1.0
 * @category constants
 */
export const defaults: {
  readonly maxHedges: number
  readonly samples: number
  readonly maxKeys: number
  readonly quantile: number
  readonly minSamples: number
} = internal.defaults

/**
 * The index of the running attempt: 0 for the first, 1.. for hedges (0 outside of `hedge`).
 *
 * @example
 * ```ts
 * import { Effect, FiberRef } from "effect"
 * import { Hedge } from "@sturdy/policy"
 *
 * const attempt = Effect.flatMap(FiberRef.get(Hedge.currentIndex), (index) =>
 *   Effect.annotateCurrentSpan("hedge.index", index))
 * ```
 * @since 0.1.0
 * @category fiber refs
 */
export const currentIndex: FiberRef.FiberRef<number> = internal.currentIndex

/**
 * Builds a `LatencyTracker` outside of Effect. Throws a `RangeError` unless `samples` and `maxKeys` are positive
 * integers.
 *
 * @example
 * ```ts
 * import { Hedge } from "@sturdy/policy"
 *
 * const tracker = Hedge.unsafeMakeLatencyTracker({ samples: 64, maxKeys: 100 })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const unsafeMakeLatencyTracker: (options?: {
  readonly samples?: number | undefined
  readonly maxKeys?: number | undefined
}) => LatencyTracker = internal.unsafeMakeLatencyTracker

/**
 * Builds a `LatencyTracker`.
 *
 * @example
 * ```ts
 * import { Hedge } from "@sturdy/policy"
 *
 * const tracker = Hedge.makeLatencyTracker({ samples: 64 })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const makeLatencyTracker: (options?: {
  readonly samples?: number | undefined
  readonly maxKeys?: number | undefined
}) => Effect.Effect<LatencyTracker> = internal.makeLatencyTracker

/**
 * A delay read from `tracker` for `key` at `quantile` (default p95), clamped to `[min, max]` (`min` defaults to 1 ms,
 * as in Finagle's backup requests: latencies are whole milliseconds, and a quantile read as 0 ms would otherwise send
 * a hedge with every call, at once); `fallback` until `minSamples` latencies were seen. A `quantile` outside
 * `[0, 1]` (or NaN) throws a `RangeError` naming it, as a `fallback`, `min` or `max` that is not a duration, or is negative or NaN, does. `hedge` records each successful call's latency under `key`, from its first
 * attempt's start to the winning answer: when a hedge wins, the first attempt would have taken at least that long
 * (a winning hedge's own, shorter time would pull the quantile down and make hedges ever earlier).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Hedge } from "@sturdy/policy"
 *
 * declare const getUser: Effect.Effect<string>
 * const tracker = Hedge.unsafeMakeLatencyTracker()
 * const hedged = getUser.pipe(
 *   Hedge.hedge({ delay: Hedge.percentile({ tracker, key: "GET /users", quantile: 0.9, fallback: "200 millis" }) })
 * )
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const percentile: (options: {
  readonly tracker: LatencyTracker
  readonly key: string
  readonly quantile?: number | undefined
  readonly fallback: Duration.DurationInput
  readonly minSamples?: number | undefined
  readonly min?: Duration.DurationInput | undefined
  readonly max?: Duration.DurationInput | undefined
}) => Percentile = internal.percentile

/**
 * Runs `self` (one attempt) hedged; see the module's documentation. The failure type is unchanged. A `maxHedges`
 * that is not an integer ≥ 0, a fixed `delay` that is not a duration or is negative or `NaN` (Effect would read it as
 * zero: every copy at once), or a finite delay (fixed, or a percentile's `fallback`, `min`, `max`) longer than a timer
 * can hold (2^31 − 1 ms, about 24.8 days), throws a `RangeError` naming the option when applied, as do an `enabled`
 * that is neither a boolean nor an Effect, a `failure` other than `"first"` or `"last"`, a `deposit` that is no
 * boolean, and a `while`, `pushback` or `onHedge` that is no function.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Hedge, RetryBudget } from "@sturdy/policy"
 *
 * declare const getUser: Effect.Effect<string, Error>
 * const hedged = getUser.pipe(
 *   Hedge.hedge({ delay: "100 millis", maxHedges: 2, budgetKey: "users-api" }),
 *   Effect.provide(RetryBudget.layer())
 * )
 * ```
 * @since 0.1.0
 * @category combinators
 */
export const hedge: {
  <R2 = never>(
    options: BudgetedOptions<R2>
  ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R | R2 | RetryBudget>
  <R2 = never>(options: Options<R2>): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R | R2>
  <A, E, R, R2 = never>(
    self: Effect.Effect<A, E, R>,
    options: BudgetedOptions<R2>
  ): Effect.Effect<A, E, R | R2 | RetryBudget>
  <A, E, R, R2 = never>(self: Effect.Effect<A, E, R>, options: Options<R2>): Effect.Effect<A, E, R | R2>
} = internal.hedge
