/**
 * The alisaifee/limits peer suite's view of a Sturdy limiter, shared by its memory and Redis runs
 * (`peer-limits-RateLimit.test.ts`, `peer-limits-Redis.test.ts`).
 */
import type * as ExperimentalRateLimiter from "@effect/experimental/RateLimiter"
import type { RateLimit } from "@sturdy/policy"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"

/** The key the peer's cases use. */
export const KEY = "LIMITER"

/** A limits `RateLimitItem`: `amount` per `window`. */
export interface Item {
  readonly amount: number
  readonly window: Duration.Duration
}

/** The refill interval the limiter passes to the store: the window in nanoseconds divided by the limit. */
export const refillRateOf = (item: Item): Duration.Duration =>
  Duration.unsafeDivide(Duration.nanos(Duration.unsafeToNanos(item.window)), item.amount)

/** A window's state as the peer's `get_window_stats` reads it: remaining, and its milliseconds left. */
export interface WindowStats {
  readonly remaining: number
  readonly resetIn: number
}

/** A token bucket's `get_window_stats`: a zero-token request, which counts nothing, answers the tokens left. */
export const bucketStats =
  (store: ExperimentalRateLimiter.RateLimiterStore["Type"], item: Item) => (key = KEY): Effect.Effect<WindowStats> =>
    Effect.map(
      Effect.orDie(
        store.tokenBucket({ key, tokens: 0, limit: item.amount, refillRate: refillRateOf(item), allowOverflow: false })
      ),
      (tokens) => ({ remaining: tokens, resetIn: Number.NaN })
    )

/** The peer's limiter operations over a Sturdy limiter in mode "fail", given how `get_window_stats` is read. */
export const peerOperations = (
  limiter: RateLimit.RateLimiter,
  stats: (key?: string) => Effect.Effect<WindowStats>
) => ({
  /** `limiter.hit(item, key, cost)`. */
  hit: (key = KEY, cost = 1) =>
    limiter.consume(key, cost).pipe(
      Effect.as(true),
      Effect.catchTag("RateLimitExceeded", () => Effect.succeed(false)),
      Effect.orDie
    ),
  /** The refusal of a hit, for its `retryAfter`. */
  refusal: (key = KEY, cost = 1) => Effect.orDie(Effect.flip(limiter.consume(key, cost))),
  /** `limiter.hit(...)` with a cost above the limit: its defect. */
  hitAboveLimit: (key: string, cost: number) =>
    Effect.map(
      Effect.exit(limiter.consume(key, cost)),
      (exit) => Exit.isFailure(exit) && Cause.isDie(exit.cause) ? Cause.squash(exit.cause) : undefined
    ),
  /** `limiter.get_window_stats(item, key)`. */
  stats,
  /** `limiter.test(item, key, cost)`. */
  test: (key = KEY, cost = 1) => Effect.map(stats(key), (s) => s.remaining >= cost)
})
