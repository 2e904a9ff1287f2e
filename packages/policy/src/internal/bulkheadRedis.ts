import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import type { Redis } from "ioredis"
import type * as BS from "../BulkheadStore.js"
import { BulkheadStore, BulkheadStoreError, keepLeases } from "./bulkheadStore.js"
import { checkOptions } from "./options.js"
import { connect, keyOf, type Options } from "./redisConnection.js"

interface RedisWithBulkhead extends Redis {
  sturdyBulkheadAcquire(
    permits: string,
    released: string,
    permit: string,
    limit: number,
    lease: number
  ): Promise<number>
  sturdyBulkheadRelease(permits: string, released: string, permit: string): Promise<number>
  sturdyBulkheadRenew(permits: string, released: string, lease: number, ...permit: Array<string>): Promise<number>
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

// A permit given back, or leases found expired, is announced on the key's channel (KEYS[2]): the processes with
// calls waiting on the key ask again at once instead of at their next poll. The message is the permit given back
// ("" for expired leases), so a process can tell its own releases.

// One atomic step: drop the permits whose lease ended, grant one if fewer than the limit are held; when dropping
// leases left a permit free after this grant, the others hear of it.
const acquireScript = serverNow + `
local lease = tonumber(ARGV[3])
local limit = tonumber(ARGV[2])
local dropped = redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", now)
local granted = 1
if not redis.call("ZSCORE", KEYS[1], ARGV[1]) then
  if redis.call("ZCARD", KEYS[1]) >= limit then
    granted = 0
  else
    redis.call("ZADD", KEYS[1], now + lease, ARGV[1])
    ` + keepKey + `
  end
end
if dropped > 0 and redis.call("ZCARD", KEYS[1]) < limit then redis.call("PUBLISH", KEYS[2], "") end
return granted
`

// Gives back one permit, and says so when it was held.
const releaseScript = `
if redis.call("ZREM", KEYS[1], ARGV[1]) == 1 then redis.call("PUBLISH", KEYS[2], ARGV[1]) end
return 1
`

// Extends the leases of this process's permits still held (XX: a permit whose lease ran out is not brought back).
const renewScript = serverNow + `
local lease = tonumber(ARGV[1])
local dropped = redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", now)
if dropped > 0 then redis.call("PUBLISH", KEYS[2], "") end
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

const notificationsDown =
  "bulkhead store: release notifications unavailable (Redis subscriber connection); queued calls poll"

/** @internal */
export const makeStore = (options: Options & { readonly sync?: BS.SyncOptions | undefined } = {}) =>
  Effect.gen(function*() {
    checkOptions("BulkheadRedis", options)
    const { sync, ...connection } = options
    const prefix = options.prefix ?? "sturdy:bulkhead:"
    const redis = (yield* connect(connection)) as RedisWithBulkhead
    redis.defineCommand("sturdyBulkheadAcquire", { lua: acquireScript, numberOfKeys: 2, readOnly: false })
    redis.defineCommand("sturdyBulkheadRelease", { lua: releaseScript, numberOfKeys: 2, readOnly: false })
    redis.defineCommand("sturdyBulkheadRenew", { lua: renewScript, numberOfKeys: 2, readOnly: false })
    const attempt = <A>(key: string, run: () => Promise<A>) =>
      Effect.tryPromise({ try: run, catch: (cause) => new BulkheadStoreError({ key, cause }) })
    const lease = (millis: number) => Math.max(1, Math.ceil(millis))
    const permitsOf = (key: string) => keyOf(prefix, key, "permits")
    const releasedOf = (key: string) => keyOf(prefix, key, "released")
    const watchers = yield* makeWatchers(redis)
    const store = BulkheadStore.of({
      acquire: (request) =>
        Effect.map(
          attempt(request.key, () =>
            redis.sturdyBulkheadAcquire(
              permitsOf(request.key),
              releasedOf(request.key),
              request.permit,
              request.limit,
              lease(request.leaseMillis)
            )),
          (granted) => granted === 1
        ),
      release: (key, permit) =>
        Effect.asVoid(attempt(key, () => redis.sturdyBulkheadRelease(permitsOf(key), releasedOf(key), permit))),
      renew: (request) =>
        request.permits.length === 0 ? Effect.void : Effect.asVoid(attempt(request.key, () =>
          redis.sturdyBulkheadRenew(
            permitsOf(request.key),
            releasedOf(request.key),
            lease(request.leaseMillis),
            ...request.permits
          ))),
      watch: (key, onRelease) => watchers.watch(releasedOf(key), onRelease),
      sync
    })
    // one fiber renews the leases of every bulkhead on this store, and stops with it
    yield* keepLeases(store)
    return store
  })

/**
 * The layer's subscriptions to the keys' channels, on a second connection (a subscribed connection runs no other
 * command) with the same options, made when a call first waits and closed with the layer. A channel is subscribed
 * while a bulkhead of this process has a call waiting on its key. Whatever the subscriber meets (refused,
 * disconnected, killed) fails no call: the bulkheads poll as before; it is logged once (a warning) until it is
 * subscribed again, and on every reconnection the connection subscribes to the channels still watched.
 */
const makeWatchers = (redis: Redis) =>
  Effect.gen(function*() {
    const runtime = yield* Effect.runtime<never>()
    const listeners = new Map<string, Set<(permit: string) => void>>()
    let subscriber: Redis | undefined
    let closed = false
    let warned = false
    const warnOnce = (): void => {
      if (warned || closed) return
      warned = true
      Runtime.runFork(runtime)(Effect.logWarning(notificationsDown))
    }
    const subscribe = (client: Redis, channels: Array<string>): void => {
      if (channels.length === 0 || client.status !== "ready") return
      client.subscribe(...channels).then(() => {
        warned = false
      }, warnOnce)
    }
    const subscriberOf = (): Redis => {
      if (subscriber !== undefined) return subscriber
      // the commands of this connection are only (un)subscriptions: it subscribes to every watched channel when it
      // is ready (again), so ioredis's own resubscription (which would bring back a channel nobody watches) is off
      const client = redis.duplicate({ autoResubscribe: false, enableOfflineQueue: false })
      client.on("error", warnOnce)
      client.on("close", () => {
        if (listeners.size > 0) warnOnce()
      })
      client.on("ready", () => subscribe(client, Array.from(listeners.keys())))
      client.on("message", (channel: string, message: string) => {
        for (const listener of listeners.get(channel) ?? []) listener(message)
      })
      subscriber = client
      return client
    }
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        closed = true
        listeners.clear()
        subscriber?.disconnect()
      })
    )
    const watch = (channel: string, onRelease: (permit: string) => void): Effect.Effect<void, never, Scope.Scope> =>
      Effect.acquireRelease(
        Effect.sync(() => {
          if (closed) return
          const set = listeners.get(channel)
          if (set !== undefined) {
            set.add(onRelease)
            return
          }
          listeners.set(channel, new Set([onRelease]))
          subscribe(subscriberOf(), [channel])
        }),
        () =>
          Effect.sync(() => {
            const set = listeners.get(channel)
            if (set === undefined || !set.delete(onRelease) || set.size > 0) return
            listeners.delete(channel)
            if (subscriber?.status === "ready") subscriber.unsubscribe(channel).catch(() => {})
          })
      )
    return { watch }
  })

/** @internal */
export const layerStore = (
  options?: Options & { readonly sync?: BS.SyncOptions | undefined }
): Layer.Layer<BulkheadStore> => Layer.scoped(BulkheadStore, makeStore(options))
