/**
 * The Redis stores of `@sturdy/policy` on ioredis 5, the older major of the optional peer (`^5.0.0 || ^6.0.0`):
 * every suite of this workspace runs on ioredis 6 (the devDependency), and this file swaps the module for the
 * workspace's `ioredis5` (an alias of ioredis 5) with `vi.mock`, so the stores' own `import "ioredis"` loads ioredis 5.
 * One smoke test per store family: the scripts (`defineCommand`), SCAN-free reads, the bulkhead's pub/sub connection
 * (`duplicate`) and a failure while the connection is down (no offline queue, one attempt).
 * `test/ioredis5/tsconfig.json` type-checks the same modules against ioredis 5's types.
 */
import { expect, it } from "@effect/vitest"
import * as BulkheadRedis from "@sturdy/policy/BulkheadRedis"
import * as BulkheadStore from "@sturdy/policy/BulkheadStore"
import * as CircuitBreakerRedis from "@sturdy/policy/CircuitBreakerRedis"
import * as CircuitBreakerStore from "@sturdy/policy/CircuitBreakerStore"
import * as RateLimit from "@sturdy/policy/RateLimit"
import * as RateLimitRedis from "@sturdy/policy/RateLimitRedis"
import * as RetryBudgetRedis from "@sturdy/policy/RetryBudgetRedis"
import * as RetryBudgetStore from "@sturdy/policy/RetryBudgetStore"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import { Redis } from "ioredis"
import { vi } from "vitest"
import { describeWithRedis, freePort, type RedisServer, redisServerOn, startRedisServer } from "./utils/redis.js"

vi.mock("ioredis", async () => await import("ioredis5"))

// a client of the test's own (ioredis 5 too), to look under the stores
const command = <A>(redis: Pick<RedisServer, "host" | "port">, run: (client: Redis) => Promise<A>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => new Redis({ host: redis.host, port: redis.port })),
    (client) => Effect.promise(() => run(client)),
    (client) => Effect.sync(() => client.disconnect())
  )

// the RESP version of every connection but the caller's: ioredis 5 speaks RESP2, ioredis 6 says HELLO 3 by default
const protocols = (redis: RedisServer) =>
  command(redis, async (client) => {
    const list = String(await client.client("LIST"))
    return list.split("\n").filter((line) => line.includes("resp=") && !line.includes("cmd=client|list"))
      .map((line) => /\bresp=(\d)/.exec(line)?.[1])
  })

// `probe` until `done` (every 10 ms, live clock, `tries` times at most)
const eventually = <A>(probe: Effect.Effect<A>, done: (a: A) => boolean, tries = 200) =>
  Effect.gen(function*() {
    let value = yield* probe
    for (let i = 0; i < tries && !done(value); i++) {
      yield* Effect.sleep("10 millis")
      value = yield* probe
    }
    return value
  })

describeWithRedis("the Redis stores on ioredis 5", () => {
  it.effect("the module the stores load is ioredis 5", () =>
    Effect.promise(async () => {
      const v5 = await import("ioredis5")
      expect(Redis).toBe(v5.Redis)
      // ioredis 6's constructor is generic over `replyMapping` and knows RESP3; 5 has no `protocol` default
      expect((v5.Redis as unknown as { defaultOptions: Record<string, unknown> }).defaultOptions.protocol)
        .toBeUndefined()
    }))

  it.live("RateLimitRedis: two processes share one limit (scripts), on RESP2 connections", () =>
    Effect.gen(function*() {
      const redis = yield* startRedisServer
      const store = RateLimitRedis.layerStore({ host: redis.host, port: redis.port, prefix: "v5:" })
      const options = { limit: 2, window: "10 seconds", onExceeded: "fail", algorithm: "fixed-window" } as const
      const a = yield* Effect.provide(RateLimit.make(options), yield* Layer.build(store))
      const b = yield* Effect.provide(RateLimit.make(options), yield* Layer.build(store))
      yield* a.consume("api")
      yield* b.consume("api")
      expect(yield* Effect.flip(a.consume("api"))).toMatchObject({ _tag: "RateLimitExceeded", key: "api" })
      const bucket = yield* Effect.provide(
        RateLimit.make({ limit: 1, window: "10 seconds", onExceeded: "fail" }),
        yield* Layer.build(store)
      )
      yield* bucket.consume("bucket")
      expect((yield* Effect.flip(bucket.consume("bucket")))._tag).toBe("RateLimitExceeded")
      const resp = yield* protocols(redis)
      expect(resp.length).toBeGreaterThanOrEqual(3)
      expect(new Set(resp)).toEqual(new Set(["2"]))
    }).pipe(Effect.scoped))

  it.live("CircuitBreakerRedis: an opening published by one process is read by another", () =>
    Effect.gen(function*() {
      const redis = yield* startRedisServer
      const storeOn = Effect.map(
        Layer.build(CircuitBreakerRedis.layerStore({ host: redis.host, port: redis.port, prefix: "v5:" })),
        (context) => Context.get(context, CircuitBreakerStore.CircuitBreakerStore)
      )
      const a = yield* storeOn
      const b = yield* storeOn
      const now = Date.now()
      yield* a.publish("api", { state: "Open", at: now, until: now + 10_000 })
      const [seen] = yield* b.read(["api"])
      expect(seen?.state).toBe("Open")
      expect(yield* command(redis, (client) => client.pttl("v5:{api}:state"))).toBeGreaterThan(0)
    }).pipe(Effect.scoped))

  it.live("BulkheadRedis: a permit given back by another process wakes a queued call through pub/sub", () =>
    Effect.gen(function*() {
      const redis = yield* startRedisServer
      const storeOn = (pollInterval: Duration.DurationInput) =>
        Effect.map(
          Layer.build(
            BulkheadRedis.layerStore({
              host: redis.host,
              port: redis.port,
              prefix: "v5:",
              sync: { pollInterval }
            })
          ),
          (context) => Context.get(context, BulkheadStore.BulkheadStore)
        )
      const bulkheadOn = (store: BulkheadStore.BulkheadStore.Service, maxQueued: number) =>
        BulkheadStore.make({ key: "api", maxConcurrent: 1, maxQueued, timeout: "2 seconds" }).pipe(
          Effect.provideService(BulkheadStore.BulkheadStore, store)
        )
      const a = yield* bulkheadOn(yield* storeOn("5 seconds"), 0)
      // b never polls within the test: only a notice on the released channel can wake its queued call
      const b = yield* bulkheadOn(yield* storeOn("1 hour"), 1)
      const gate = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(a.run(Deferred.await(gate)))
      const held = command(redis, (client) => client.zcard("v5:{api}:permits"))
      expect(yield* eventually(held, (n) => n === 1)).toBe(1)
      const waiter = yield* Effect.fork(b.run(Effect.succeed("ran")))
      const subscribers = command(
        redis,
        (client) => client.pubsub("NUMSUB", "v5:{api}:released") as Promise<[string, number]>
      ).pipe(Effect.map((reply) => Number(reply[1])))
      expect(yield* eventually(subscribers, (n) => n === 1)).toBe(1)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(holder)
      expect(yield* Fiber.join(waiter).pipe(Effect.timeout("10 seconds"))).toBe("ran")
    }).pipe(Effect.scoped))

  it.live("RetryBudgetRedis: requests deposited by one process fund another's retries", () =>
    Effect.gen(function*() {
      const redis = yield* startRedisServer
      const storeOn = Effect.map(
        Layer.build(RetryBudgetRedis.layerStore({ host: redis.host, port: redis.port, prefix: "v5:" })),
        (context) => Context.get(context, RetryBudgetStore.RetryBudgetStore)
      )
      const a = yield* storeOn
      const b = yield* storeOn
      const request = { key: "api", now: Date.now(), windowMillis: 10_000, ratio: 0.2, minRetries: 0 }
      yield* a.update({ ...request, requests: 10, withdraw: false })
      expect(yield* b.update({ ...request, requests: 0, withdraw: true })).toEqual({
        granted: true,
        requests: 10,
        retries: 1
      })
      yield* b.update({ ...request, requests: 0, withdraw: true })
      expect(yield* a.update({ ...request, requests: 0, withdraw: true })).toEqual({
        granted: false,
        requests: 10,
        retries: 2
      })
    }).pipe(Effect.scoped))

  it.live("redis-server gone: a store call fails at once (no offline queue); it answers again once back", () =>
    Effect.gen(function*() {
      const port = yield* freePort
      const stop = yield* redisServerOn(port)
      const store = yield* Effect.map(
        Layer.build(RetryBudgetRedis.layerStore({ host: "127.0.0.1", port, prefix: "v5:" })),
        (context) => Context.get(context, RetryBudgetStore.RetryBudgetStore)
      )
      const request = { key: "api", now: Date.now(), windowMillis: 10_000, ratio: 0.2, minRetries: 0 }
      expect((yield* store.update({ ...request, requests: 1, withdraw: false })).requests).toBe(1)
      yield* stop
      // no offline queue, one attempt: the call fails (the store's error), it does not wait for a reconnect
      const failure = yield* Effect.flip(store.update({ ...request, requests: 1, withdraw: false })).pipe(
        Effect.timeout("5 seconds")
      )
      expect(failure._tag).toBe("RetryBudgetStoreError")
      const again = yield* redisServerOn(port)
      yield* Effect.addFinalizer(() => again)
      // ioredis 5 reconnects on its own (its default strategy waits at most 2 s between attempts)
      const shared = yield* eventually(
        Effect.either(store.update({ ...request, requests: 0, withdraw: false })),
        (result) => result._tag === "Right",
        1_000
      )
      expect(shared).toMatchObject({ _tag: "Right", right: { requests: 0 } })
    }).pipe(Effect.scoped, Logger.withMinimumLogLevel(LogLevel.None)))
})
