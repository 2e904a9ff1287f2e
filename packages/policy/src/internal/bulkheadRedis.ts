import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Redis } from "ioredis"
import type * as BS from "../BulkheadStore.js"
import { BulkheadStore, BulkheadStoreError } from "./bulkheadStore.js"
import { checkOptions } from "./options.js"
import { connect, keyOf, type Options } from "./redisConnection.js"

interface RedisWithBulkhead extends Redis {
  sturdyBulkheadAcquire(permits: string, permit: string, limit: number, lease: number): Promise<number>
  sturdyBulkheadRenew(permits: string, lease: number, ...permit: Array<string>): Promise<number>
}

// Redis's own clock, in milliseconds: every lease is on it, so the processes' clocks need not agree.
const serverNow = `
local time = redis.call("TIME")
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
`

// The permits of a key are a sorted set: member the permit, score the end of its lease. The key itself lives a
// little longer than its latest lease, so a key nobody uses goes away.
const keepKey = `
redis.call("PEXPIRE", KEYS[1], math.ceil(lease) + 1000)
`

// One atomic step: drop the permits whose lease ended, grant one if fewer than the limit are held.
const acquireScript = serverNow + `
local lease = tonumber(ARGV[3])
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", now)
if redis.call("ZSCORE", KEYS[1], ARGV[1]) then return 1 end
if redis.call("ZCARD", KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call("ZADD", KEYS[1], now + lease, ARGV[1])
` + keepKey + `
return 1
`

// Extends the leases of this process's permits still held (XX: a permit whose lease ran out is not brought back).
const renewScript = serverNow + `
local lease = tonumber(ARGV[1])
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", now)
local args = {}
for i = 2, #ARGV do
  table.insert(args, now + lease)
  table.insert(args, ARGV[i])
end
if #args > 0 and redis.call("EXISTS", KEYS[1]) == 1 then
  redis.call("ZADD", KEYS[1], "XX", unpack(args))
  ` + keepKey + `
end
return 1
`

/** @internal */
export const makeStore = (options: Options & { readonly sync?: BS.SyncOptions | undefined } = {}) =>
  Effect.gen(function*() {
    checkOptions("BulkheadRedis", options)
    const { sync, ...connection } = options
    const prefix = options.prefix ?? "sturdy:bulkhead:"
    const redis = (yield* connect(connection)) as RedisWithBulkhead
    redis.defineCommand("sturdyBulkheadAcquire", { lua: acquireScript, numberOfKeys: 1, readOnly: false })
    redis.defineCommand("sturdyBulkheadRenew", { lua: renewScript, numberOfKeys: 1, readOnly: false })
    const attempt = <A>(key: string, run: () => Promise<A>) =>
      Effect.tryPromise({ try: run, catch: (cause) => new BulkheadStoreError({ key, cause }) })
    const lease = (millis: number) => Math.max(1, Math.ceil(millis))
    return BulkheadStore.of({
      acquire: (request) =>
        Effect.map(
          attempt(request.key, () =>
            redis.sturdyBulkheadAcquire(
              keyOf(prefix, request.key, "permits"),
              request.permit,
              request.limit,
              lease(request.leaseMillis)
            )),
          (granted) => granted === 1
        ),
      release: (key, permit) => Effect.asVoid(attempt(key, () => redis.zrem(keyOf(prefix, key, "permits"), permit))),
      renew: (request) =>
        request.permits.length === 0 ? Effect.void : Effect.asVoid(attempt(request.key, () =>
          redis.sturdyBulkheadRenew(
            keyOf(prefix, request.key, "permits"),
            lease(request.leaseMillis),
            ...request.permits
          ))),
      sync
    })
  })

/** @internal */
export const layerStore = (
  options?: Options & { readonly sync?: BS.SyncOptions | undefined }
): Layer.Layer<BulkheadStore> => Layer.scoped(BulkheadStore, makeStore(options))
