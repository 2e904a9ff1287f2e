/**
 * A client-side rate limiter per key (e.g. per host or per API token), on `@effect/experimental`'s RateLimiter.
 *
 * | option          | default          | meaning                                                          |
 * | --------------- | ---------------- | ---------------------------------------------------------------- |
 * | `limit`         | (required)       | calls per `window`                                               |
 * | `window`        | (required)       | the window, e.g. `"1 second"`                                    |
 * | `algorithm`     | `"token-bucket"` | or `"fixed-window"`                                              |
 * | `onExceeded`    | `"delay"`        | wait for a slot, or `"fail"` at once with `RateLimitExceeded`    |
 * | `maxWait`       | unbounded        | mode `"delay"`: the longest a caller waits (for a pause and a slot) |
 * | `maxPausedKeys` | `10,000`         | server pauses remembered at once (expired ones are dropped first) |
 *
 * Mode `"delay"` never waits past what the caller can use: a wait (for a server pause, or for the caller's slot)
 * longer than `maxWait`, or that would end at or after the current `Deadline` (armed by `Deadline.withDeadline` or
 * only established by `Deadline.establish`), fails at once with `RateLimitExceeded` (`retryAfter` is that wait) and
 * gives back the slot it reserved, as resilience4j's `timeoutDuration` does; the caller can fall back now rather than
 * learn at the deadline that the slot came too late.
 *
 * A call takes `tokens` (default 1): an integer from 1 to `limit`. Any other number is a defect (a `RangeError`): a
 * request for more than `limit` could never be granted. `make` throws a `RangeError` (a defect) naming the option for a
 * `limit` that is not an integer of at least 1 or that exceeds the window's nanoseconds (more than one call a
 * nanosecond: no refill interval), a `window` that is not a finite, positive duration, a `maxWait` that is not a
 * duration, a `maxPausedKeys` that is not an integer of at least 1, or an `algorithm` other than `"token-bucket"` and
 * `"fixed-window"`.
 *
 * The counters live in a `RateLimiterStore` (the tag of `@effect/experimental`): {@link layerStoreMemory} for one
 * process, `RateLimitRedis.layerStore` (the `@sturdy/policy/RateLimitRedis` entry point, on the optional peer `ioredis`)
 * to share the limit between processes; swapping them is a layer change. A store keeps one counter per key, whichever
 * limiter asks: two limiters on one store that use the same key (a tenant id, say) draw on the same counter, so give
 * each its own key prefix ("search:" + tenant) when they must limit apart.
 *
 * Server hints: when an upstream answers with `Retry-After` for a key, call `pauseFor` / `pauseUntil`; every
 * caller of that key then waits (mode `"delay"`) or fails with reason `"Paused"` (mode `"fail"`) until then, not
 * only the fiber that saw the hint. Pauses are kept in this process's memory, not in the store.
 *
 * A token bucket short of tokens answers the time until the caller's token is due, from the refill already under
 * way (whole milliseconds, rounded up): `retryAfter` in mode `"fail"`, the wait in mode `"delay"` (1 per minute asked
 * again after 59 s: 1 s, not a whole minute). A refused call's `retryAfter` is never zero: at least 1 ms. Both stores
 * answer so; a store of your own that answers only whole tokens makes the wait up to one refill interval longer.
 *
 * `"fixed-window"` is `@effect/experimental`'s window, and both stores answer it alike. A key's window starts at
 * its first call and is not aligned on the clock (SmallRye's and Bucket4j's intervals are). Each call it grants moves
 * the window's end `window / limit` further from that start, so a full window lasts `window` and a window of `k` calls
 * ends `k × window / limit` after it began; the next call then starts a fresh one. No window grants more than `limit`,
 * but, as with any fixed window (or a token bucket that starts full), the calls of two windows back to back can fall
 * within one `window`: up to `2 × limit − 1` of them.
 *
 * In mode `"delay"` a key's callers are served in the order they asked: a slot is reserved when a caller asks, so a
 * small request that would fit now does not go ahead of a larger one already waiting (aiolimiter lets it; here no
 * large request can be starved by a stream of small ones). Callers held by a server pause reserve theirs when it
 * ends, in the order they asked, and a caller that comes meanwhile queues behind them. A full window of calls is
 * granted again on the millisecond the window ends, for every `limit`.
 *
 * A caller interrupted while it waits for its slot gives the slot back, and the callers of this limiter waiting behind
 * it on that key move up into the time it frees, so no slot is left unused and none is taken twice (a newcomer takes
 * the one freed at the end of the line). A `RateLimitExceeded` is never counted as a failure by a circuit breaker or an
 * adaptive throttle.
 *
 * @since 0.1.0
 */
import * as ExperimentalRateLimiter from "@effect/experimental/RateLimiter"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as internal from "./internal/rateLimit.js"

/**
 * The failure of a call the limiter turned away (mode `"fail"`, or mode `"delay"` when the wait would not fit
 * `maxWait` or the deadline): reason `"Limit"` when the key is out of slots, `"Paused"` while a server hint pauses the
 * key; `retryAfter` is when to try again.
 *
 * @example
 * ```ts
 * import { Duration, Effect } from "effect"
 * import type { RateLimit } from "@sturdy/policy"
 *
 * const waitHint = (self: Effect.Effect<void, RateLimit.RateLimitExceeded>) =>
 *   self.pipe(Effect.catchTag("RateLimitExceeded", (e) => Effect.succeed(Duration.toMillis(e.retryAfter))))
 * ```
 * @since 0.1.0
 * @category errors
 */
export const RateLimitExceeded: typeof internal.RateLimitExceeded = internal.RateLimitExceeded

/**
 * The instance type of {@link RateLimitExceeded}.
 *
 * @example
 * ```ts
 * import type { RateLimit } from "@sturdy/policy"
 *
 * const pausedByServer = (e: RateLimit.RateLimitExceeded) => e.reason === "Paused"
 * ```
 * @since 0.1.0
 * @category errors
 */
export interface RateLimitExceeded extends internal.RateLimitExceeded {}

/**
 * The failure when the store (e.g. Redis) could not be reached; its message never includes the cause.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { RateLimit } from "@sturdy/policy"
 *
 * // fail open: let the call through when the shared store is down
 * const failOpen = (self: Effect.Effect<void, RateLimit.RateLimitStoreError>) =>
 *   self.pipe(Effect.catchTag("RateLimitStoreError", () => Effect.void))
 * ```
 * @since 0.1.0
 * @category errors
 */
export const RateLimitStoreError: typeof internal.RateLimitStoreError = internal.RateLimitStoreError

/**
 * The instance type of {@link RateLimitStoreError}.
 *
 * @example
 * ```ts
 * import type { RateLimit } from "@sturdy/policy"
 *
 * const keyOf = (e: RateLimit.RateLimitStoreError) => e.key
 * ```
 * @since 0.1.0
 * @category errors
 */
export interface RateLimitStoreError extends internal.RateLimitStoreError {}

/**
 * Whether `u` is a {@link RateLimitExceeded} failure.
 *
 * @example
 * ```ts
 * import { RateLimit } from "@sturdy/policy"
 *
 * const limited = (failure: unknown) => RateLimit.isRateLimitExceeded(failure)
 * ```
 * @since 0.1.0
 * @category refinements
 */
export const isRateLimitExceeded = (u: unknown): u is RateLimitExceeded => Predicate.isTagged(u, "RateLimitExceeded")

/**
 * `retryAfter` of a {@link RateLimitExceeded}, for `Retry.retry`'s `delayHint`; any other failure gives no hint.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RateLimit, Retry } from "@sturdy/policy"
 *
 * declare const limited: Effect.Effect<string, RateLimit.RateLimitExceeded>
 * const patient = limited.pipe(Retry.retry({ delayHint: RateLimit.delayHint }))
 * ```
 * @since 0.1.0
 * @category utils
 */
export const delayHint = (failure: unknown): Option.Option<Duration.Duration> =>
  isRateLimitExceeded(failure) ? Option.some(failure.retryAfter) : Option.none()

/**
 * Options of a limiter; see the module docs for the defaults.
 *
 * @example
 * ```ts
 * import type { RateLimit } from "@sturdy/policy"
 *
 * const options: RateLimit.Options = { limit: 10, window: "1 second", onExceeded: "fail" }
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly limit: number
  readonly window: Duration.DurationInput
  readonly algorithm?: "token-bucket" | "fixed-window" | undefined
  readonly onExceeded?: "delay" | "fail" | undefined
  /**
   * Mode `"delay"`: the longest a caller may wait, for a server pause and for its slot (default: no limit but the
   * deadline). A longer wait fails at once with `RateLimitExceeded`, and the slot is not taken.
   *
   * @since 0.2.0
   */
  readonly maxWait?: Duration.DurationInput | undefined
  readonly maxPausedKeys?: number | undefined
}

/**
 * A limiter shared by every key; each key has its own counter in the store.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RateLimit } from "@sturdy/policy"
 *
 * const program = Effect.gen(function*() {
 *   const limiter = yield* RateLimit.make({ limit: 5, window: "1 second" })
 *   yield* limiter.pauseFor("api.example.com", "30 seconds")
 *   return yield* limiter.pausedFor("api.example.com")
 * }).pipe(Effect.provide(RateLimit.layerStoreMemory))
 * ```
 * @since 0.1.0
 * @category models
 */
export interface RateLimiter {
  /**
   * Takes `tokens` (default 1; an integer from 1 to `limit`, anything else is a `RangeError` defect) for `key`: waits
   * for them (mode "delay", within `maxWait` and the deadline) or fails (mode "fail").
   */
  readonly consume: (key: string, tokens?: number) => Effect.Effect<void, RateLimitExceeded | RateLimitStoreError>
  /** Runs `self` after taking its tokens (prefer {@link withRateLimit}). */
  readonly run: (
    key: string,
    tokens?: number
  ) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | RateLimitExceeded | RateLimitStoreError, R>
  /** Holds every caller of `key` until the given Clock time (epoch milliseconds), e.g. from `Retry-After`. */
  readonly pauseUntil: (key: string, epochMillis: number) => Effect.Effect<void>
  /** Holds every caller of `key` for `duration` from now. */
  readonly pauseFor: (key: string, duration: Duration.DurationInput) => Effect.Effect<void>
  /** What is left of a server pause on `key` (zero when none). */
  readonly pausedFor: (key: string) => Effect.Effect<Duration.Duration>
}

/**
 * Creates a limiter over the `RateLimiterStore` in the context.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RateLimit } from "@sturdy/policy"
 *
 * const limiter = RateLimit.make({ limit: 100, window: "1 minute" }).pipe(Effect.provide(RateLimit.layerStoreMemory))
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const make: (options: Options) => Effect.Effect<RateLimiter, never, RateLimiterStore> = internal.make

/**
 * Runs `self` once the limiter grants a slot for `key`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RateLimit } from "@sturdy/policy"
 *
 * const program = Effect.gen(function*() {
 *   const limiter = yield* RateLimit.make({ limit: 5, window: "1 second" })
 *   return yield* Effect.succeed("ok").pipe(RateLimit.withRateLimit(limiter, "api.example.com"))
 * }).pipe(Effect.provide(RateLimit.layerStoreMemory))
 * ```
 * @since 0.1.0
 * @category combinators
 */
export const withRateLimit: {
  (
    limiter: RateLimiter,
    key: string
  ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | RateLimitExceeded | RateLimitStoreError, R>
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    limiter: RateLimiter,
    key: string
  ): Effect.Effect<A, E | RateLimitExceeded | RateLimitStoreError, R>
} = internal.withRateLimit

/**
 * The store tag, `@effect/experimental`'s `RateLimiterStore`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RateLimit } from "@sturdy/policy"
 *
 * const store = Effect.provide(RateLimit.RateLimiterStore, RateLimit.layerStoreMemory)
 * ```
 * @since 0.1.0
 * @category store
 */
export const RateLimiterStore: typeof ExperimentalRateLimiter.RateLimiterStore =
  ExperimentalRateLimiter.RateLimiterStore

/**
 * The service type of {@link RateLimiterStore}.
 *
 * @example
 * ```ts
 * import type { Layer } from "effect"
 * import type { RateLimit } from "@sturdy/policy"
 *
 * type StoreLayer = Layer.Layer<RateLimit.RateLimiterStore>
 * ```
 * @since 0.1.0
 * @category store
 */
export type RateLimiterStore = ExperimentalRateLimiter.RateLimiterStore

/**
 * Options of {@link makeStoreMemory}: `maxKeys`, the keys of each kind of counter kept at once (default 10,000).
 *
 * @example
 * ```ts
 * import type { RateLimit } from "@sturdy/policy"
 *
 * const options: RateLimit.StoreMemoryOptions = { maxKeys: 100_000 }
 * ```
 * @since 0.1.0
 * @category store
 */
export interface StoreMemoryOptions {
  readonly maxKeys?: number | undefined
}

/**
 * A store in this process's memory (driven by the Clock, so it works under `TestClock`), with the answers of
 * `@effect/experimental`'s memory store. It keeps a key only while it matters: a token bucket is dropped once it is
 * full again and a fixed window once it has passed (a key seen again starts full, or with an empty window, as a new
 * one; a bucket full again restarts its refill from its next call, dropped yet or not, as `RateLimitRedis`'s does).
 * A bucket never holds more than its limit: a caller given back its tokens after its slot passed (held by a server
 * pause, then interrupted) leaves it full, where `@effect/experimental`'s would hold more.
 * Entries are dropped when a new key is added, and beyond `maxKeys` (default 10,000) the key used least recently is
 * dropped even if it still counts something: that key starts again with a full bucket. A clock set back (a wall-clock
 * step) refills from the new time, as x/time/rate does: a bucket is not stalled, nor a window held open, until the
 * clock catches up with where it was. Throws a `RangeError` for a `maxKeys` that is not an integer of at least 1.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { RateLimit } from "@sturdy/policy"
 *
 * const StoreLive = Layer.sync(RateLimit.RateLimiterStore, () => RateLimit.makeStoreMemory({ maxKeys: 100_000 }))
 * ```
 * @since 0.1.0
 * @category store
 */
export const makeStoreMemory: (options?: StoreMemoryOptions) => RateLimiterStore["Type"] = internal.makeStoreMemory

/**
 * A layer of {@link makeStoreMemory} with its defaults (at most 10,000 keys of each kind).
 *
 * @example
 * ```ts
 * import { RateLimit } from "@sturdy/policy"
 *
 * const StoreLive = RateLimit.layerStoreMemory
 * ```
 * @since 0.1.0
 * @category store
 */
export const layerStoreMemory: Layer.Layer<RateLimiterStore> = internal.layerStoreMemory
