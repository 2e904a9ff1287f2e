import { expect, it } from "@effect/vitest"
import { RateLimit } from "@sturdy/policy"
import * as RateLimitRedis from "@sturdy/policy/RateLimitRedis"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { describeWithRedis, startRedisServer } from "./utils/redis.js"

describeWithRedis("RateLimitRedis", () => {
  it.live("a Redis store shares one limit between two processes", () =>
    Effect.gen(function*() {
      const redis = yield* startRedisServer
      const store = RateLimitRedis.layerStore({ host: redis.host, port: redis.port, prefix: "test:" })
      // two layers build two Redis connections: two processes sharing one server
      const processA = yield* Layer.build(store)
      const processB = yield* Layer.build(store)
      const options = { limit: 3, window: "10 seconds", onExceeded: "fail", algorithm: "fixed-window" } as const
      const limiterA = yield* Effect.provide(RateLimit.make(options), processA)
      const limiterB = yield* Effect.provide(RateLimit.make(options), processB)

      yield* limiterA.consume("api")
      yield* limiterB.consume("api")
      yield* limiterA.consume("api")
      const error = yield* Effect.flip(limiterB.consume("api"))
      expect(error).toMatchObject({ _tag: "RateLimitExceeded", key: "api", reason: "Limit" })
      expect(error._tag === "RateLimitExceeded" && Duration.toMillis(error.retryAfter)).toBeGreaterThan(0)
      // keys stay separate in Redis too
      yield* limiterB.consume("other")

      const tokenBucket = yield* Effect.provide(
        RateLimit.make({ limit: 1, window: "10 seconds", onExceeded: "fail" }),
        processA
      )
      yield* tokenBucket.consume("bucket")
      expect((yield* Effect.flip(tokenBucket.consume("bucket")))._tag).toBe("RateLimitExceeded")
    }).pipe(Effect.scoped))
})
