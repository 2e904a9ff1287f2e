import * as ExperimentalRateLimiter from "@effect/experimental/RateLimiter"
import * as RedisStore from "@effect/experimental/RateLimiter/Redis"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as RateLimitRedis from "../RateLimitRedis.js"

/**
 * `@effect/experimental`'s Redis scripts pass the refill interval to `SET ... PX`, which only takes whole
 * milliseconds: 3 calls per 10 s (3333.33 ms) fails with "value is not an integer". Rounding the interval up keeps
 * the limit (never more calls than asked for) and makes every limit work.
 * @internal
 */
const wholeMillis = (refillRate: Duration.Duration): Duration.Duration =>
  Duration.millis(Math.max(1, Math.ceil(Duration.toMillis(refillRate))))

/** @internal */
export const layerStore = (
  options: RateLimitRedis.StoreOptions
): Layer.Layer<ExperimentalRateLimiter.RateLimiterStore> =>
  Layer.scoped(
    ExperimentalRateLimiter.RateLimiterStore,
    Effect.map(RedisStore.make(options), (store) =>
      ExperimentalRateLimiter.RateLimiterStore.of({
        fixedWindow: (request) => store.fixedWindow({ ...request, refillRate: wholeMillis(request.refillRate) }),
        tokenBucket: (request) => store.tokenBucket({ ...request, refillRate: wholeMillis(request.refillRate) })
      }))
  )
