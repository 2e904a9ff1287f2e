/**
 * The alisaifee/limits peer suite's view of a Sturdy limiter, shared by its memory and Redis runs
 * (`peer-limits-RateLimit.test.ts`, `peer-limits-Redis.test.ts`), and the Redis store helpers those and the
 * memory-vs-Redis parity properties (`model-RateLimit.test.ts`) share.
 */
import type * as ExperimentalRateLimiter from "@effect/experimental/RateLimiter"
import { RateLimit } from "@sturdy/policy"
import * as RateLimitRedis from "@sturdy/policy/RateLimitRedis"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import { Redis } from "ioredis"
import type { RedisServer } from "./redis.js"

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

/** A second connection to `server`, to read back (or move) what a store wrote; closed with the scope. */
export const redisReadBack = (server: RedisServer) =>
  Effect.acquireRelease(
    Effect.sync(() => new Redis({ host: server.host, port: server.port })),
    (client) => Effect.sync(() => client.disconnect())
  )

/** The `RateLimitRedis` store of one process on `server`, with `prefix`; closed with the scope. */
export const redisRateLimitStore = (server: RedisServer, prefix: string) =>
  Effect.map(
    Layer.build(RateLimitRedis.layerStore({ host: server.host, port: server.port, prefix })),
    (context) => Context.get(context, RateLimit.RateLimiterStore)
  )

// Moves the given counters `millis` into the future: every expiry comes `millis` sooner (a key whose expiry passes is
// deleted, as Redis would have), and a token bucket's refill mark (`…:refill`, the server's TIME of its last whole
// token) goes `millis` back, so the next call refills as if that time had passed. One script, so Redis's own clock
// does not move between keys.
const advanceScript = `
local d = tonumber(ARGV[1])
for _, key in ipairs(KEYS) do
  local ttl = redis.call("PTTL", key)
  if ttl > 0 then
    local left = ttl - d
    if left <= 0 then
      redis.call("DEL", key)
    elseif string.sub(key, -7) == ":refill" then
      redis.call("SET", key, string.format("%.17g", tonumber(redis.call("GET", key)) - d), "PX", left)
    else
      redis.call("PEXPIRE", key, left)
    end
  end
end
return 0
`

/**
 * Moves the `RateLimitRedis` counters of `keys` (a limiter's keys, under `prefix`) `millis` into the future, as
 * `TestClock.adjust` moves a memory store's: the Redis store measures time by the server's clock, which no TestClock
 * moves. Exact to within the real time that passes meanwhile.
 */
export const advanceRedisRateLimit = (client: Redis, prefix: string, keys: ReadonlyArray<string>, millis: number) =>
  millis <= 0 ? Effect.void : Effect.asVoid(Effect.promise(() => {
    const names = keys.flatMap((key) => [`${prefix}${key}`, `${prefix}{${key}}:tokens`, `${prefix}{${key}}:refill`])
    return client.eval(advanceScript, names.length, ...names, String(millis))
  }))
