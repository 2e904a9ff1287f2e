import * as ExperimentalRateLimiter from "@effect/experimental/RateLimiter"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Redis } from "ioredis"
import type * as RateLimitRedis from "../RateLimitRedis.js"
import { checkOptions } from "./options.js"
import { connect, keyOf } from "./redisConnection.js"

interface RedisWithRateLimit extends Redis {
  sturdyFixedWindow(key: string, tokens: number, refillMillis: number, limit: number | ""): Promise<[number, number]>
  sturdyTokenBucket(
    tokensKey: string,
    refillKey: string,
    tokens: number,
    refillMillis: number,
    limit: number,
    overflow: 0 | 1
  ): Promise<number | string>
}

/** @internal */
export const defaultCommandTimeoutMillis = 1000

// `@effect/experimental`'s fixed window: one key whose PTTL is the window, so Redis measures it and no process clock
// takes part. The key stays `<prefix><key>` so that counters survive an upgrade. One change: a refund (negative
// `tokens`, a caller of mode "delay" giving its slot back) that leaves the window ended (its expiry at or before now,
// or nothing counted) deletes the key, as the memory store starts a fresh window then; `SET ... PX` refuses an
// expiry of zero or less, and the refund was lost, the key counted until the refunded slot's end. A refund to a
// window already gone gives back nothing.
const fixedWindowScript = `
local key = KEYS[1]
local tokens = tonumber(ARGV[1])
local refillms = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local current = tonumber(redis.call("GET", key))

if not current then
  if tokens <= 0 then
    return { tokens, 0 }
  end
  local nextpttl = refillms * tokens
  redis.call("SET", key, tokens, "PX", nextpttl)
  return { tokens, nextpttl }
end

local currentpttl = tonumber(redis.call("PTTL", key) or "0")
local next = current + tokens
if limit and next > limit then
  return { next, currentpttl }
end

local nextpttl = currentpttl + (refillms * tokens)
if next <= 0 or nextpttl <= 0 then
  redis.call("DEL", key)
  return { next, nextpttl }
end
redis.call("SET", key, next, "PX", nextpttl)
return { next, nextpttl }
`

// The memory store's token bucket (RateLimit.makeStoreMemory), step for step, answering a deficit as it does (less
// the part of the next token already refilled), with two differences from @effect/experimental's:
// - "now" is the server's TIME, so a process whose clock is off neither gains tokens nor moves the refill mark into
//   the future for the others;
// - both keys expire when the bucket would be full again. A missing bucket starts full, so forgetting it then
//   changes no answer, and idle clients leave nothing behind.
// Refunds (negative `tokens`) may lift the count above the limit; the bucket is then full and the keys are dropped.
// Older servers (< 5) replicate scripts verbatim and refuse a write after TIME unless told to replicate effects.
const tokenBucketScript = `
if redis.replicate_commands then redis.replicate_commands() end
local tokens = tonumber(ARGV[1])
local refill_ms = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local overflow = ARGV[4] == "1"
local time = redis.call("TIME")
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
local current = tonumber(redis.call("GET", KEYS[1]))
local last_refill = tonumber(redis.call("GET", KEYS[2]))

if not current or not last_refill then
  current = limit
  last_refill = now
else
  -- the server's clock went back: refill from now rather than not at all until TIME catches up with the mark
  if now < last_refill then last_refill = now end
  local refill_amount = math.floor((now - last_refill) / refill_ms)
  if refill_amount > 0 then
    current = math.min(current + refill_amount, limit)
    last_refill = last_refill + refill_amount * refill_ms
  end
end

local next = current - tokens
if overflow or next >= 0 then
  current = next
end

local ttl = math.ceil((limit - current) * refill_ms - (now - last_refill))
if ttl > 0 then
  redis.call("SET", KEYS[1], string.format("%.17g", current), "PX", ttl)
  redis.call("SET", KEYS[2], string.format("%.17g", last_refill), "PX", ttl)
else
  redis.call("DEL", KEYS[1], KEYS[2])
end
if next < 0 then
  -- short of tokens: the deficit less the part of the next token already refilled, so that the caller waits until
  -- its token is due (as the memory store answers); a string, since Redis would truncate a fraction
  local elapsed = math.min(math.max(0, now - last_refill), refill_ms)
  return string.format("%.17g", next + elapsed / refill_ms * (1 - 2.220446049250313e-16))
end
return next
`

/**
 * The fixed window passes the refill interval to `SET ... PX`, which only takes whole milliseconds: 3 calls per
 * 10 s (3333.33 ms) would fail with "value is not an integer". Rounding the interval up keeps the limit (never more
 * calls than asked for). The token bucket needs no rounding: its script rounds only the expiry.
 * @internal
 */
const wholeMillis = (refillRate: Duration.Duration): number => Math.max(1, Math.ceil(Duration.toMillis(refillRate)))

// the key stays out of the message (it may name a client); `RateLimit` puts it in its own error's `key`
const storeError = (operation: string) => (cause: unknown) =>
  new ExperimentalRateLimiter.RateLimitStoreError({ message: `RateLimitRedis: ${operation} failed`, cause })

/** @internal */
export const makeStore = (options: RateLimitRedis.StoreOptions = {}) =>
  Effect.gen(function*() {
    checkOptions("RateLimitRedis", options)
    const prefix = options.prefix ?? "ratelimiter:"
    // A caller of `consume` waits on Redis, and in mode "delay" it does so uninterruptibly (the slot must be either
    // taken or refunded): the command timeout is what bounds that wait when Redis stops answering.
    const redis = (yield* connect({
      ...options,
      commandTimeout: options.commandTimeout ?? defaultCommandTimeoutMillis
    })) as RedisWithRateLimit
    redis.defineCommand("sturdyFixedWindow", { lua: fixedWindowScript, numberOfKeys: 1, readOnly: false })
    redis.defineCommand("sturdyTokenBucket", { lua: tokenBucketScript, numberOfKeys: 2, readOnly: false })
    return ExperimentalRateLimiter.RateLimiterStore.of({
      fixedWindow: (request) =>
        Effect.tryPromise({
          try: () =>
            redis.sturdyFixedWindow(
              `${prefix}${request.key}`,
              request.tokens,
              wholeMillis(request.refillRate),
              request.limit ?? ""
            ),
          catch: storeError("fixedWindow")
        }),
      tokenBucket: (request) =>
        Effect.tryPromise({
          try: () =>
            redis.sturdyTokenBucket(
              keyOf(prefix, request.key, "tokens"),
              keyOf(prefix, request.key, "refill"),
              request.tokens,
              Duration.toMillis(request.refillRate),
              request.limit,
              request.allowOverflow ? 1 : 0
            ).then(Number),
          catch: storeError("tokenBucket")
        })
    })
  })

/** @internal */
export const layerStore = (
  options: RateLimitRedis.StoreOptions
): Layer.Layer<ExperimentalRateLimiter.RateLimiterStore> =>
  Layer.scoped(ExperimentalRateLimiter.RateLimiterStore, makeStore(options))
