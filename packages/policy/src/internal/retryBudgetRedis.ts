import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Redis } from "ioredis"
import type { RetryBudget } from "../RetryBudget.js"
import type * as RBS from "../RetryBudgetStore.js"
import { checkOptions } from "./options.js"
import { connect, keyOf, type Options } from "./redisConnection.js"
import { layerBudget, RetryBudgetStore, RetryBudgetStoreError, slotCount } from "./retryBudgetStore.js"

interface RedisWithBudget extends Redis {
  sturdyRetryBudget(
    base: string,
    requests: number,
    withdraw: 0 | 1,
    slot: number,
    slots: number,
    ttl: number,
    ratio: number,
    minRetries: number
  ): Promise<[number, number, number]>
}

// One slot of a window is a hash {q = requests, r = retries} under `<base>:<slot number>`, expiring after two
// windows. The script adds the requests, sums the window and, when asked, counts one retry if the rule allows it (the
// in-memory budget's `allows`, so that moving to Redis changes no decision):
// all in one atomic step, so processes never race between the check and the count.
const script = `
local base = KEYS[1]
local requests = tonumber(ARGV[1])
local withdraw = ARGV[2] == "1"
local current = tonumber(ARGV[3])
local slots = tonumber(ARGV[4])
local ttl = tonumber(ARGV[5])
local ratio = tonumber(ARGV[6])
local minRetries = tonumber(ARGV[7])
local slotKey = base .. ":" .. string.format("%d", current)
if requests > 0 then
  redis.call("HINCRBY", slotKey, "q", requests)
  redis.call("PEXPIRE", slotKey, ttl)
end
local q, r = 0, 0
for i = 0, slots - 1 do
  local v = redis.call("HMGET", base .. ":" .. string.format("%d", current - i), "q", "r")
  q = q + (tonumber(v[1]) or 0)
  r = r + (tonumber(v[2]) or 0)
end
-- the allowance less floating-point noise, as the in-memory budget's allowance: within a billionth (relative) of a
-- whole number it is that number (0.07 * 100 is 7.000000000000001); an infinite floor stays infinite (inf - inf is NaN)
local allowance = minRetries + ratio * q
local whole = math.floor(allowance + 0.5)
if math.abs(allowance - whole) <= 1e-9 * math.max(1, whole) then
  allowance = whole
end
local granted = 0
if withdraw and r < allowance then
  redis.call("HINCRBY", slotKey, "r", 1)
  redis.call("PEXPIRE", slotKey, ttl)
  r = r + 1
  granted = 1
end
return { granted, q, r }
`

/** @internal */
export const makeStore = (options: Options = {}) =>
  Effect.gen(function*() {
    checkOptions("RetryBudgetRedis", options)
    const prefix = options.prefix ?? "sturdy:retrybudget:"
    const redis = (yield* connect(options)) as RedisWithBudget
    redis.defineCommand("sturdyRetryBudget", { lua: script, numberOfKeys: 1, readOnly: false })
    return RetryBudgetStore.of({
      update: (request) => {
        const slotMillis = request.windowMillis / slotCount
        return Effect.tryPromise({
          try: () =>
            redis.sturdyRetryBudget(
              keyOf(prefix, request.key, "budget"),
              request.requests,
              request.withdraw ? 1 : 0,
              Math.floor(request.now / slotMillis),
              slotCount,
              Math.max(1, Math.ceil(request.windowMillis * 2)),
              request.ratio,
              request.minRetries
            ),
          catch: (cause) => new RetryBudgetStoreError({ key: request.key, cause })
        }).pipe(
          Effect.map(([granted, requests, retries]): RBS.RetryBudgetStore.Result => ({
            granted: granted === 1,
            requests,
            retries
          }))
        )
      }
    })
  })

/** @internal */
export const layerStore = (options?: Options): Layer.Layer<RetryBudgetStore> =>
  Layer.scoped(RetryBudgetStore, makeStore(options))

/** @internal */
export const layer = (
  options?: Options & { readonly retryBudget?: RBS.Options | undefined }
): Layer.Layer<RetryBudget> => {
  const { retryBudget, ...redis } = options ?? {}
  return layerBudget(retryBudget).pipe(Layer.provide(layerStore(redis)))
}
