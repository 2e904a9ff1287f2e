/**
 * An adaptive concurrency limit: how many calls may run at once against one upstream, found from what the upstream
 * does instead of fixed in advance (a fixed limit is a `Bulkhead`). The algorithm is AIMD
 * (additive increase, multiplicative decrease), as Netflix's `concurrency-limits` `AIMDLimit` behind its
 * `SimpleLimiter`: the limit grows by one while calls succeed with the limit in use, and shrinks by `backoffRatio`
 * when a call is dropped (the upstream said it is overloaded, or the call took longer than `timeout`). With
 * `algorithm: "gradient2"` it is Netflix's `Gradient2Limit` instead, which follows the calls' round-trip times. Neither
 * `effect` (its `RateLimiter` limits a rate; `Semaphore` and `PartitionedSemaphore` hold a fixed number of permits)
 * nor `@effect/experimental` (a rate limiter too) has an adaptive concurrency limit.
 *
 * | option         | default       | meaning                                                                           |
 * | -------------- | ------------- | --------------------------------------------------------------------------------- |
 * | `initialLimit` | `20`          | the limit at the start, an integer in [`minLimit`, `maxLimit`] (unset: 20 moved into that range) |
 * | `minLimit`     | `1`           | the limit never falls below this, a safe integer ≥ 1                              |
 * | `maxLimit`     | `200`         | the limit never rises above this, a safe integer ≥ `minLimit`                      |
 * | `backoffRatio` | `0.9`         | the factor a drop multiplies the limit by, in [0.5, 1)                            |
 * | `timeout`      | `"5 seconds"` | a call that takes longer than this counts as a drop; a positive duration (`Infinity`: never) |
 * | `isDrop`       | every failure | which failures (and defects) mean "the upstream is overloaded" (HTTP: 429, 503…) |
 * | `isIgnored`    | none          | which failures (and defects) are no sample at all (HTTP: a request never sent)    |
 * | `key`          | `"default"`   | a label carried by `ConcurrencyLimitExceeded` and the limit's changes             |
 * | `algorithm`    | `"aimd"`      | `"aimd"` or `"gradient2"`                                                         |
 * | `smoothing`    | `0.2`         | gradient2: how far the limit moves toward a new estimate, in (0, 1]               |
 * | `queueSize`    | `4`           | gradient2: what the estimate adds to the limit, an integer ≥ 0                    |
 * | `rttTolerance` | `1.5`         | gradient2: how much slower than the long-term RTT a call may be before the limit shrinks, finite ≥ 1 |
 * | `longWindow`   | `600`         | gradient2: samples the long-term RTT averages over, an integer ≥ 1                |
 *
 * Every option is checked whatever the algorithm; `backoffRatio` and `timeout` matter to AIMD only, `smoothing`,
 * `queueSize`, `rttTolerance` and `longWindow` to gradient2 only. Netflix's defaults are kept but one (for both
 * algorithms): its `minLimit` is 20 as its `initialLimit`, so with its defaults the limit
 * never falls below where it started; here it is 1. Netflix only warns about an `initialLimit` above `maxLimit` and
 * moves it into range at the first sample; here an `initialLimit` given outside [`minLimit`, `maxLimit`] is refused.
 *
 * **Admission.** A call starts when the calls in flight are fewer than the current limit; otherwise it fails at once
 * with `ConcurrencyLimitExceeded` (carrying the `limit` and `inFlight` it met) and the call is not run. There is no
 * queue (Netflix's `SimpleLimiter` rejects too): put a `Bulkhead` outside the limit to make callers wait. A limit
 * that shrinks below the calls in flight cuts none of them: new calls are rejected until enough have ended. A
 * started call holds its place until it ends by success, failure, defect or interruption (the place is taken and
 * given back in an uninterruptible region, so an interruption at any point gives it back exactly once).
 *
 * **Samples.** When a started call ends, its duration is measured on the `Clock`'s monotonic time
 * (`currentTimeNanos`, in whole milliseconds; under the `TestClock` it is the test's time) and its outcome decides:
 *
 * - a success, or a failure that `isDrop` does not accept: a **drop** if the call took longer than `timeout`
 *   (strictly), otherwise an **answer**;
 * - a failure (or a defect) that `isDrop` accepts: a **drop**;
 * - not counted at all: an interrupted call, a failure or defect that `isIgnored` accepts (asked first; a request
 *   that never reached the upstream has no round-trip time to learn from), a defect that `isDrop` does not accept, and
 *   a rejection by a Sturdy
 *   policy inside (`CircuitOpen`, `BulkheadRejected`, `RateLimitExceeded`, `AdaptiveThrottleRejected`,
 *   `ConcurrencyLimitExceeded`), which says nothing about the upstream (AdaptiveThrottle counts the same way).
 *
 * A drop sets `limit = max(minLimit, floor(limit × backoffRatio))`. An answer sets `limit = min(maxLimit, limit + 1)`
 * when the limit was in use, that is when `inFlight × 2 ≥ limit` with `inFlight` the calls in flight just after this
 * one started (itself included) and `limit` the limit when it ends (Netflix: `inflight * 2 >= limit`); otherwise
 * the limit stays. The product is taken in double precision as Netflix's `(int) (limit * backoffRatio)`. `timeout`
 * does not stop the call: it only decides how its end is counted (put a `Deadline` inside to cut slow calls).
 *
 * **Gradient2** (`algorithm: "gradient2"`, Netflix's `Gradient2Limit`). Admission and which calls are samples are as
 * above, but a drop is not special: every counted call (an answer or a drop alike; `timeout` plays no part) is a
 * sample of its round-trip time `rtt`, its duration in whole milliseconds, at least 1 (a call shorter than 1 ms counts
 * as 1 ms, so the ratios below stay finite). The limit is kept as a real number `estimated` (at first `initialLimit`)
 * and `limit = floor(estimated)`. For each sample:
 *
 * 1. the long-term RTT `long` takes the sample: the mean of the samples for the first 10, then
 *    `long = long × (1 − f) + rtt × f` with `f = 2 / (longWindow + 1)`;
 * 2. if `long / rtt > 2` (the upstream got fast again after a long overload), `long = long × 0.95` (during the
 *    first 10 samples the next mean replaces it, as in Netflix's code);
 * 3. if `inFlight < estimated / 2` (`inFlight` as above: the limit was not in use), nothing else changes;
 * 4. otherwise `gradient = max(0.5, min(1, rttTolerance × long / rtt))`, and
 *    `estimated = clamp(estimated × (1 − smoothing) + (estimated × gradient + queueSize) × smoothing)` within
 *    [`minLimit`, `maxLimit`].
 *
 * So the limit grows by up to `queueSize × smoothing` a sample while calls are no slower than `rttTolerance` times the
 * long-term RTT, and shrinks toward half its value when they are much slower.
 *
 * A `ConcurrencyLimitExceeded` is never counted as a failure by a circuit breaker or an adaptive throttle. Every
 * change of the limit is published on `changes`, in order.
 *
 * `make` and `unsafeMake` throw a `RangeError` naming the option (a defect) for an option outside the domain above, an
 * `isDrop` or `isIgnored` that is not a function, a `key` that is not a string, or options that are not an object.
 *
 * @since 0.2.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import * as internal from "./internal/concurrencyLimit.js"

/**
 * The failure of a call turned away because the calls in flight had reached the limit.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { ConcurrencyLimit } from "@sturdy/policy"
 *
 * const shed = (self: Effect.Effect<string, ConcurrencyLimit.ConcurrencyLimitExceeded>) =>
 *   self.pipe(Effect.catchTag("ConcurrencyLimitExceeded", (e) => Effect.succeed(`busy (${e.inFlight}/${e.limit})`)))
 * ```
 * @since 0.2.0
 * @category errors
 */
export const ConcurrencyLimitExceeded: typeof internal.ConcurrencyLimitExceeded = internal.ConcurrencyLimitExceeded

/**
 * The instance type of {@link ConcurrencyLimitExceeded}.
 *
 * @example
 * ```ts
 * import type { ConcurrencyLimit } from "@sturdy/policy"
 *
 * const limitMet = (e: ConcurrencyLimit.ConcurrencyLimitExceeded) => e.limit
 * ```
 * @since 0.2.0
 * @category errors
 */
export interface ConcurrencyLimitExceeded extends internal.ConcurrencyLimitExceeded {}

/**
 * Whether `u` is a {@link ConcurrencyLimitExceeded} failure.
 *
 * @example
 * ```ts
 * import { ConcurrencyLimit } from "@sturdy/policy"
 *
 * const shed = (failure: unknown) => ConcurrencyLimit.isConcurrencyLimitExceeded(failure)
 * ```
 * @since 0.2.0
 * @category refinements
 */
export const isConcurrencyLimitExceeded = (u: unknown): u is ConcurrencyLimitExceeded =>
  Predicate.isTagged(u, "ConcurrencyLimitExceeded")

/**
 * Options of an adaptive limit; see the module docs for the defaults and the rules.
 *
 * @example
 * ```ts
 * import type { ConcurrencyLimit } from "@sturdy/policy"
 *
 * const options: ConcurrencyLimit.Options = { key: "search", initialLimit: 10, maxLimit: 100, timeout: "2 seconds" }
 * const gradient: ConcurrencyLimit.Options = { algorithm: "gradient2", rttTolerance: 2, queueSize: 2 }
 * ```
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** A label carried by `ConcurrencyLimitExceeded` and `LimitChange` (default `"default"`). */
  readonly key?: string | undefined
  /** The limit at the start (default 20, moved into [`minLimit`, `maxLimit`] when unset). */
  readonly initialLimit?: number | undefined
  /** The lowest limit (default 1). */
  readonly minLimit?: number | undefined
  /** The highest limit (default 200). */
  readonly maxLimit?: number | undefined
  /** What a drop multiplies the limit by, in [0.5, 1) (default 0.9). */
  readonly backoffRatio?: number | undefined
  /** A call slower than this counts as a drop (default 5 seconds). */
  readonly timeout?: Duration.DurationInput | undefined
  /** Which failures and defects are drops (default: every one). */
  readonly isDrop?: ((error: unknown) => boolean) | undefined
  /**
   * Which failures and defects are not samples at all, asked before `isDrop` (default: none).
   */
  readonly isIgnored?: ((error: unknown) => boolean) | undefined
  /** `"aimd"` (default) or `"gradient2"`. */
  readonly algorithm?: "aimd" | "gradient2" | undefined
  /** Gradient2: how far the limit moves toward a new estimate, in (0, 1] (default 0.2). */
  readonly smoothing?: number | undefined
  /** Gradient2: what an estimate adds to the limit, an integer ≥ 0 (default 4). */
  readonly queueSize?: number | undefined
  /** Gradient2: the slowdown against the long-term RTT tolerated before the limit shrinks, ≥ 1 (default 1.5). */
  readonly rttTolerance?: number | undefined
  /** Gradient2: how many samples the long-term RTT averages over (default 600). */
  readonly longWindow?: number | undefined
}

/**
 * A change of the limit, published on `changes`.
 *
 * @example
 * ```ts
 * import type { ConcurrencyLimit } from "@sturdy/policy"
 *
 * const shrank = (change: ConcurrencyLimit.LimitChange) => change.to < change.from
 * ```
 * @since 0.2.0
 * @category models
 */
export interface LimitChange {
  readonly key: string
  readonly from: number
  readonly to: number
}

/**
 * An adaptive concurrency limit for one upstream.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ConcurrencyLimit } from "@sturdy/policy"
 *
 * const current = Effect.flatMap(ConcurrencyLimit.make(), (limiter) => limiter.limit)
 * ```
 * @since 0.2.0
 * @category models
 */
export interface ConcurrencyLimit {
  readonly key: string
  /** Runs `self` if there is room under the limit (prefer {@link withLimit}). */
  readonly run: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | ConcurrencyLimitExceeded, R>
  /** The current limit. */
  readonly limit: Effect.Effect<number>
  /** The calls in flight now. */
  readonly inFlight: Effect.Effect<number>
  /** Every change of the limit from when the stream starts; it never ends by itself. */
  readonly changes: Stream.Stream<LimitChange>
  /**
   * Subscribes now, for as long as the scope lives: the stream carries every change from the moment this effect
   * returns, however late it is run (`changes` only sees those after the stream starts, in whatever fiber runs it).
   */
  readonly subscribe: Effect.Effect<Stream.Stream<LimitChange>, never, Scope.Scope>
}

/**
 * Builds a limit outside of Effect. Throws a `RangeError` naming the option for an option outside its domain.
 *
 * @example
 * ```ts
 * import { ConcurrencyLimit } from "@sturdy/policy"
 *
 * const limiter = ConcurrencyLimit.unsafeMake({ key: "search", initialLimit: 10 })
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const unsafeMake: (options?: Options) => ConcurrencyLimit = internal.unsafeMake

/**
 * Builds a limit. Options `unsafeMake` refuses make the effect die with the same `RangeError`.
 *
 * @example
 * ```ts
 * import { ConcurrencyLimit } from "@sturdy/policy"
 *
 * const limiter = ConcurrencyLimit.make({ isDrop: (e) => e === "overloaded", timeout: "1 second" })
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const make: (options?: Options) => Effect.Effect<ConcurrencyLimit> = internal.make

/**
 * Runs `self` under the limit; fails with `ConcurrencyLimitExceeded` at once when the calls in flight have reached
 * it. The call's outcome then moves the limit (see the module docs).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ConcurrencyLimit } from "@sturdy/policy"
 *
 * const program = Effect.gen(function*() {
 *   const limiter = yield* ConcurrencyLimit.make()
 *   // data-last and data-first
 *   const a = yield* Effect.succeed("a").pipe(ConcurrencyLimit.withLimit(limiter))
 *   const b = yield* ConcurrencyLimit.withLimit(Effect.succeed("b"), limiter)
 *   return a + b
 * })
 * ```
 * @since 0.2.0
 * @category combinators
 */
export const withLimit: {
  (limiter: ConcurrencyLimit): <A, E, R>(
    self: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | ConcurrencyLimitExceeded, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, limiter: ConcurrencyLimit): Effect.Effect<A, E | ConcurrencyLimitExceeded, R>
} = internal.withLimit
