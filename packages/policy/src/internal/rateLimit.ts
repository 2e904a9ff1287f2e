import * as ExperimentalRateLimiter from "@effect/experimental/RateLimiter"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Schema from "effect/Schema"
import type * as RL from "../RateLimit.js"

/** @internal */
export class RateLimitExceeded
  extends Schema.TaggedError<RateLimitExceeded>("@sturdy/policy/RateLimit/RateLimitExceeded")("RateLimitExceeded", {
    key: Schema.String,
    reason: Schema.Literal("Limit", "Paused"),
    retryAfter: Schema.DurationFromMillis
  })
{
  override get message(): string {
    return this.reason === "Paused"
      ? `rate limit ${this.key} is paused by the server; retry after ${Duration.format(this.retryAfter)}`
      : `rate limit ${this.key} exceeded; retry after ${Duration.format(this.retryAfter)}`
  }
}

/** @internal */
export class RateLimitStoreError
  extends Schema.TaggedError<RateLimitStoreError>("@sturdy/policy/RateLimit/RateLimitStoreError")(
    "RateLimitStoreError",
    {
      key: Schema.String,
      cause: Schema.optional(Schema.Defect)
    }
  )
{
  // the cause (e.g. a Redis connection error) may name hosts or credentials: keep it out of the message
  override get message(): string {
    return `rate limit store failed for ${this.key}`
  }
}

/** @internal */
export const make = (
  options: RL.Options
): Effect.Effect<RL.RateLimiter, never, ExperimentalRateLimiter.RateLimiterStore> =>
  Effect.gen(function*() {
    const store = yield* ExperimentalRateLimiter.RateLimiterStore
    const limiter = yield* ExperimentalRateLimiter.make
    const algorithm = options.algorithm ?? "token-bucket"
    const onExceeded = options.onExceeded ?? "delay"
    const window = Duration.decode(options.window)
    const refillRate = Duration.unsafeDivide(window, options.limit)
    const maxPauses = options.maxPausedKeys ?? 10_000
    // key -> epoch millis until which every caller of the key waits (server hints such as Retry-After)
    const pauses = new Map<string, number>()

    const pausedFor = (key: string, now: number): number => {
      const until = pauses.get(key)
      if (until === undefined) return 0
      if (until <= now) {
        pauses.delete(key)
        return 0
      }
      return until - now
    }

    const pauseUntil = (key: string, epochMillis: number): Effect.Effect<void> =>
      Effect.clockWith((clock) =>
        Effect.sync(() => {
          const now = clock.unsafeCurrentTimeMillis()
          if (epochMillis <= now) return
          // a later hint extends the pause, an earlier one never shortens it
          pauses.set(key, Math.max(epochMillis, pauses.get(key) ?? 0))
          if (pauses.size > maxPauses) {
            for (const [k, until] of pauses) if (until <= now) pauses.delete(k)
            // still too many live pauses: drop the oldest entries (insertion order)
            for (const k of pauses.keys()) {
              if (pauses.size <= maxPauses) break
              pauses.delete(k)
            }
          }
        })
      )

    const waitWhilePaused = (key: string): Effect.Effect<void> =>
      Effect.clockWith((clock) => {
        const loop: Effect.Effect<void> = Effect.suspend(() => {
          const remaining = pausedFor(key, clock.unsafeCurrentTimeMillis())
          return remaining === 0 ? Effect.void : Effect.zipRight(Effect.sleep(Duration.millis(remaining)), loop)
        })
        return loop
      })

    const toError = (key: string) => (error: ExperimentalRateLimiter.RateLimiterError) =>
      error.reason === "Exceeded"
        ? new RateLimitExceeded({ key, reason: "Limit", retryAfter: error.retryAfter }, true)
        : new RateLimitStoreError({ key, cause: error.cause }, true)

    // a caller interrupted while waiting for its reserved slot hands the slot back, so no token is lost
    const refund = (key: string, tokens: number): Effect.Effect<void> =>
      Effect.ignore(
        algorithm === "token-bucket"
          ? Effect.asVoid(
            store.tokenBucket({ key, tokens: -tokens, limit: options.limit, refillRate, allowOverflow: true })
          )
          : Effect.asVoid(store.fixedWindow({ key, tokens: -tokens, refillRate, limit: undefined }))
      )

    const consume = (key: string, tokens = 1): Effect.Effect<void, RateLimitExceeded | RateLimitStoreError> =>
      Effect.clockWith((clock) => {
        if (onExceeded === "fail") {
          return Effect.suspend(() => {
            const remaining = pausedFor(key, clock.unsafeCurrentTimeMillis())
            return remaining > 0
              ? Effect.fail(
                new RateLimitExceeded({ key, reason: "Paused", retryAfter: Duration.millis(remaining) }, true)
              )
              : Effect.asVoid(Effect.mapError(
                limiter.consume({ algorithm, onExceeded: "fail", window, limit: options.limit, key, tokens }),
                toError(key)
              ))
          })
        }
        return Effect.zipRight(
          waitWhilePaused(key),
          Effect.uninterruptibleMask((restore) =>
            Effect.flatMap(
              Effect.mapError(
                limiter.consume({ algorithm, onExceeded: "delay", window, limit: options.limit, key, tokens }),
                toError(key)
              ),
              (result) =>
                Duration.isZero(result.delay)
                  ? Effect.void
                  : Effect.onInterrupt(restore(Effect.sleep(result.delay)), () => refund(key, tokens))
            )
          )
        ).pipe(
          // a pause that arrived while this caller waited for its slot holds it too
          Effect.zipLeft(waitWhilePaused(key))
        )
      })

    return {
      consume,
      run: (key, tokens) => (self) => Effect.zipRight(consume(key, tokens), self),
      pauseUntil,
      pauseFor: (key, duration) =>
        Effect.clockWith((clock) =>
          pauseUntil(key, clock.unsafeCurrentTimeMillis() + Duration.toMillis(Duration.decode(duration)))
        ),
      pausedFor: (key) =>
        Effect.clockWith((clock) => Effect.sync(() => Duration.millis(pausedFor(key, clock.unsafeCurrentTimeMillis()))))
    } satisfies RL.RateLimiter
  })

/** @internal */
export const withRateLimit = dual<
  (
    limiter: RL.RateLimiter,
    key: string
  ) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | RateLimitExceeded | RateLimitStoreError, R>,
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    limiter: RL.RateLimiter,
    key: string
  ) => Effect.Effect<A, E | RateLimitExceeded | RateLimitStoreError, R>
>(3, (self, limiter, key) => limiter.run(key)(self))
