/**
 * Client-side adaptive throttling from the Google SRE book ("Handling Overload"): when the backend keeps
 * rejecting, the client rejects a share of calls locally instead of sending them.
 *
 * Each call is rejected locally with probability `max(0, (requests − k·accepts) / (requests + 1))`, where
 * `requests` and `accepts` are counted over a rolling window on the `Clock`'s monotonic time (`currentTimeNanos`, so a
 * wall clock set back by an NTP correction neither keeps old history counting nor loses new outcomes; under the
 * `TestClock` it is the test's time). The window rolls in ten steps: outcomes are counted in buckets of a tenth of
 * it (rounded up to whole milliseconds), and a bucket leaves the counts once its start is a whole window old, so an
 * outcome counts for the window less up to one bucket (between 108 and 120 seconds of the default window).
 * Locally rejected calls count
 * as requests, so the probability keeps rising while the backend rejects everything, and falls as accepts come
 * back. Draws come from Effect's `Random` (seed it with `Effect.withRandom` for reproducible tests).
 *
 * | option                | default       | meaning                                                                        |
 * | --------------------- | ------------- | ------------------------------------------------------------------------------ |
 * | `k`                   | `2`           | accepts multiplier, finite and ≥ 1; lower throttles earlier (1.1 is aggressive) |
 * | `window`              | `"2 minutes"` | how much history counts, a finite duration of at least 1 ms                    |
 * | `isRejectedByBackend` | every failure | which failures (and defects) mean "the backend refused" (HTTP: 429, 503…)      |
 * | `isIgnored`           | none          | which failures (and defects) count neither way, asked first (HTTP: never sent) |
 *
 * `make` throws a `RangeError` (a defect) for a `k` below 1 or not finite (below 1 a backend that accepts every call
 * is still throttled; NaN turns the throttle off), for a `window` that is not a finite duration of at least 1 ms, and
 * for an `isRejectedByBackend` or `isIgnored` that is not a function.
 *
 * The throttle is off by default: nothing is throttled unless a call is wrapped with {@link withAdaptiveThrottle}.
 * Interrupted calls, rejections by other policies (breaker, bulkhead, limiter), failures and defects that `isIgnored`
 * accepts (a request that never reached the backend was neither accepted nor refused by it) and defects that
 * `isRejectedByBackend` does not accept are not counted.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as internal from "./internal/adaptiveThrottle.js"

/**
 * The failure of a call the throttle rejected locally, with the probability in force at the time.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { AdaptiveThrottle } from "@sturdy/policy"
 *
 * const degrade = (self: Effect.Effect<string, AdaptiveThrottle.AdaptiveThrottleRejected>) =>
 *   self.pipe(Effect.catchTag("AdaptiveThrottleRejected", () => Effect.succeed("cached")))
 * ```
 * @since 0.1.0
 * @category errors
 */
export const AdaptiveThrottleRejected: typeof internal.AdaptiveThrottleRejected = internal.AdaptiveThrottleRejected

/**
 * The instance type of {@link AdaptiveThrottleRejected}.
 *
 * @example
 * ```ts
 * import type { AdaptiveThrottle } from "@sturdy/policy"
 *
 * const probabilityOf = (e: AdaptiveThrottle.AdaptiveThrottleRejected) => e.probability
 * ```
 * @since 0.1.0
 * @category errors
 */
export interface AdaptiveThrottleRejected extends internal.AdaptiveThrottleRejected {}

/**
 * Options of a throttle; see the module docs for the defaults.
 *
 * @example
 * ```ts
 * import type { AdaptiveThrottle } from "@sturdy/policy"
 *
 * const options: AdaptiveThrottle.Options = { key: "search", k: 2, window: "1 minute" }
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** A label carried by `AdaptiveThrottleRejected` (default `"default"`). */
  readonly key?: string | undefined
  readonly k?: number | undefined
  readonly window?: Duration.DurationInput | undefined
  readonly isRejectedByBackend?: ((error: unknown) => boolean) | undefined
  /** Which failures and defects count neither way, asked before `isRejectedByBackend` (default: none; since 0.2.0). */
  readonly isIgnored?: ((error: unknown) => boolean) | undefined
}

/**
 * The counts over the window and the probability the next call is rejected.
 *
 * @example
 * ```ts
 * import type { AdaptiveThrottle } from "@sturdy/policy"
 *
 * const overloaded = (s: AdaptiveThrottle.Snapshot) => s.rejectProbability > 0.5
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Snapshot {
  readonly requests: number
  readonly accepts: number
  readonly rejectProbability: number
}

/**
 * An adaptive throttle for one backend.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { AdaptiveThrottle } from "@sturdy/policy"
 *
 * const probability = Effect.flatMap(AdaptiveThrottle.make(), (throttle) => throttle.snapshot)
 * ```
 * @since 0.1.0
 * @category models
 */
export interface AdaptiveThrottle {
  readonly key: string
  /** Runs `self` unless rejected locally (prefer {@link withAdaptiveThrottle}). */
  readonly run: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | AdaptiveThrottleRejected, R>
  readonly snapshot: Effect.Effect<Snapshot>
}

/**
 * Creates a throttle.
 *
 * @example
 * ```ts
 * import { AdaptiveThrottle } from "@sturdy/policy"
 *
 * const throttle = AdaptiveThrottle.make({ key: "search", isRejectedByBackend: (e) => e === "overloaded" })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const make: (options?: Options) => Effect.Effect<AdaptiveThrottle> = internal.make

/**
 * Runs `self` through the throttle; fails with `AdaptiveThrottleRejected` when rejected locally.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { AdaptiveThrottle } from "@sturdy/policy"
 *
 * const program = Effect.gen(function*() {
 *   const throttle = yield* AdaptiveThrottle.make()
 *   return yield* Effect.succeed("ok").pipe(AdaptiveThrottle.withAdaptiveThrottle(throttle))
 * })
 * ```
 * @since 0.1.0
 * @category combinators
 */
export const withAdaptiveThrottle: {
  (throttle: AdaptiveThrottle): <A, E, R>(
    self: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | AdaptiveThrottleRejected, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, throttle: AdaptiveThrottle): Effect.Effect<A, E | AdaptiveThrottleRejected, R>
} = internal.withAdaptiveThrottle

/**
 * The SRE book's formula, `max(0, (requests − k·accepts) / (requests + 1))`.
 *
 * @example
 * ```ts
 * import { AdaptiveThrottle } from "@sturdy/policy"
 *
 * const p = AdaptiveThrottle.rejectProbability(1_000, 100, 2) // ≈ 0.8
 * ```
 * @since 0.1.0
 * @category utils
 */
export const rejectProbability: (requests: number, accepts: number, k: number) => number = internal.rejectProbability
