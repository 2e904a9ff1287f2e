import { describe, expect, it } from "@effect/vitest"
import { RateLimit } from "@sturdy/policy"
import * as BulkheadRedis from "@sturdy/policy/BulkheadRedis"
import * as BulkheadStore from "@sturdy/policy/BulkheadStore"
import * as CircuitBreakerRedis from "@sturdy/policy/CircuitBreakerRedis"
import * as CircuitBreakerStore from "@sturdy/policy/CircuitBreakerStore"
import * as RateLimitRedis from "@sturdy/policy/RateLimitRedis"
import * as RetryBudgetRedis from "@sturdy/policy/RetryBudgetRedis"
import * as RetryBudgetStore from "@sturdy/policy/RetryBudgetStore"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import { Redis } from "ioredis"
import { describeWithRedis, freePort, startRedisServer } from "./utils/redis.js"

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

describeWithRedis("RateLimitRedis token bucket", () => {
  it.live("a caller short of a token is told the time until the token is due, not a whole refill interval", () =>
    Effect.gen(function*() {
      const redis = yield* startRedisServer
      const store = yield* Layer.build(
        RateLimitRedis.layerStore({ host: redis.host, port: redis.port, prefix: "due:" })
      )
      const limiter = yield* Effect.provide(
        RateLimit.make({ limit: 1, window: "10 seconds", onExceeded: "fail" }),
        store
      )
      yield* limiter.consume("api")
      yield* Effect.sleep("300 millis")
      const error = yield* Effect.flip(limiter.consume("api"))
      const retryAfter = error._tag === "RateLimitExceeded" ? Duration.toMillis(error.retryAfter) : NaN
      expect(Number.isInteger(retryAfter)).toBe(true)
      expect(retryAfter).toBeGreaterThan(0)
      expect(retryAfter).toBeLessThanOrEqual(9_700)
    }).pipe(Effect.scoped))
})

// A second connection, for looking at what the store wrote and for freezing the server as a hung Redis would be.
const inspect = (server: { readonly host: string; readonly port: number }) =>
  Effect.acquireRelease(
    Effect.sync(() => new Redis({ host: server.host, port: server.port, lazyConnect: false })),
    (client) => Effect.sync(() => client.disconnect())
  ).pipe(Effect.map((client) => ({
    keys: Effect.promise(() => client.keys("*")).pipe(Effect.map((keys) => keys.sort())),
    pttl: (key: string) => Effect.promise(() => client.pttl(key)),
    get: (key: string) => Effect.promise(() => client.get(key)),
    set: (key: string, value: string, ttlMillis: number) =>
      Effect.promise(() => client.set(key, value, "PX", ttlMillis)),
    // SIGSTOP keeps the TCP connection open and unanswered: the case no offline-queue setting can catch
    freeze: Effect.promise(() => client.info("server")).pipe(
      Effect.map((info) => Number(/process_id:(\d+)/.exec(info)?.[1])),
      Effect.flatMap((pid) =>
        Effect.acquireRelease(
          Effect.sync(() => process.kill(pid, "SIGSTOP")),
          () => Effect.sync(() => process.kill(pid, "SIGCONT"))
        )
      )
    )
  })))

const elapsedOf = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<readonly [A, number], E, R> =>
  Effect.suspend(() => {
    const start = Date.now()
    return Effect.map(self, (a) => [a, Date.now() - start] as const)
  })

const outcome = (exit: Exit.Exit<void, { readonly _tag: string }>): string =>
  Exit.isSuccess(exit) ? "ok" : Option.match(Cause.failureOption(exit.cause), {
    onNone: () => Cause.pretty(exit.cause),
    onSome: (error) => error._tag
  })

// A Clock `offsetMillis` ahead of the live one, as on a host whose clock is wrong; sleeping is unaffected.
const skewedClock = (live: Clock.Clock, offsetMillis: number): Clock.Clock => {
  const millis = () => live.unsafeCurrentTimeMillis() + offsetMillis
  return {
    ...live,
    unsafeCurrentTimeMillis: millis,
    unsafeCurrentTimeNanos: () => BigInt(millis()) * 1_000_000n,
    currentTimeMillis: Effect.sync(millis),
    currentTimeNanos: Effect.sync(() => BigInt(millis()) * 1_000_000n)
  }
}

describeWithRedis("RateLimitRedis: bounded calls", () => {
  for (const algorithm of ["fixed-window", "token-bucket"] as const) {
    it.live(
      `${algorithm}: with nothing listening, consume fails with RateLimitStoreError at once`,
      () =>
        Effect.gen(function*() {
          const port = yield* freePort
          const store = yield* Layer.build(RateLimitRedis.layerStore({ host: "127.0.0.1", port, connectTimeout: 100 }))
          const limiter = yield* Effect.provide(
            RateLimit.make({ limit: 5, window: "1 second", onExceeded: "fail", algorithm }),
            store
          )
          const [exit, elapsed] = yield* elapsedOf(Effect.exit(limiter.consume("api")))
          expect(outcome(exit)).toBe("RateLimitStoreError")
          expect(elapsed).toBeLessThan(500)
        }).pipe(Effect.scoped),
      20_000
    )
  }

  it.live(
    "a Redis that stops answering: consume fails with RateLimitStoreError after commandTimeout",
    () =>
      Effect.gen(function*() {
        const server = yield* startRedisServer
        const redis = yield* inspect(server)
        const store = yield* Layer.build(
          RateLimitRedis.layerStore({ host: server.host, port: server.port, commandTimeout: 200 })
        )
        // mode "delay" reserves its slot uninterruptibly: only the store's own bound can end the wait
        const limiter = yield* Effect.provide(RateLimit.make({ limit: 5, window: "1 second" }), store)
        yield* limiter.consume("api")
        yield* Effect.scoped(Effect.gen(function*() {
          yield* redis.freeze
          const [exit, elapsed] = yield* elapsedOf(Effect.exit(limiter.consume("api")))
          expect(outcome(exit)).toBe("RateLimitStoreError")
          expect(elapsed).toBeGreaterThanOrEqual(150)
          expect(elapsed).toBeLessThan(1_000)
        }))
      }).pipe(Effect.scoped),
    20_000
  )

  it.live("a Redis that stops answering: the default bound is one second", () =>
    Effect.gen(function*() {
      const server = yield* startRedisServer
      const redis = yield* inspect(server)
      const store = yield* Layer.build(RateLimitRedis.layerStore({ host: server.host, port: server.port }))
      const limiter = yield* Effect.provide(RateLimit.make({ limit: 5, window: "1 second", onExceeded: "fail" }), store)
      yield* limiter.consume("api")
      yield* Effect.scoped(Effect.gen(function*() {
        yield* redis.freeze
        const [exit, elapsed] = yield* elapsedOf(Effect.exit(limiter.consume("api")))
        expect(outcome(exit)).toBe("RateLimitStoreError")
        expect(elapsed).toBeLessThan(2_000)
      }))
    }).pipe(Effect.scoped), 20_000)

  it.live("closing the layer's scope does not wait on a Redis that does not answer", () =>
    Effect.gen(function*() {
      const server = yield* startRedisServer
      const redis = yield* inspect(server)
      const scope = yield* Scope.make()
      const store = yield* Layer.buildWithScope(
        RateLimitRedis.layerStore({ host: server.host, port: server.port }),
        scope
      )
      const limiter = yield* Effect.provide(RateLimit.make({ limit: 5, window: "1 second", onExceeded: "fail" }), store)
      yield* limiter.consume("api")
      yield* Effect.scoped(Effect.gen(function*() {
        yield* redis.freeze
        // closing is uninterruptible: watch it from outside for a bounded time
        const closing = yield* Effect.forkDaemon(Scope.close(scope, Exit.void))
        const closed = yield* Fiber.await(closing).pipe(Effect.timeout("1 second"), Effect.option)
        expect(Option.isSome(closed)).toBe(true)
      }))
    }).pipe(Effect.scoped), 20_000)
})

describeWithRedis("RateLimitRedis: token bucket", () => {
  it.live("every key expires when the bucket would be full again", () =>
    Effect.gen(function*() {
      const server = yield* startRedisServer
      const redis = yield* inspect(server)
      const store = yield* Layer.build(RateLimitRedis.layerStore({ host: server.host, port: server.port }))
      // one token per 2 s
      const limiter = yield* Effect.provide(
        RateLimit.make({ limit: 5, window: "10 seconds", onExceeded: "fail" }),
        store
      )
      yield* limiter.consume("client-1")
      const keys = yield* redis.keys
      expect(keys).toEqual(["ratelimiter:{client-1}:refill", "ratelimiter:{client-1}:tokens"])
      for (const key of keys) {
        const ttl = yield* redis.pttl(key)
        expect(ttl, key).toBeGreaterThan(1_500)
        expect(ttl, key).toBeLessThanOrEqual(2_000)
      }
      yield* limiter.consume("client-1", 3)
      for (const key of keys) {
        const ttl = yield* redis.pttl(key)
        expect(ttl, key).toBeGreaterThan(7_000)
        expect(ttl, key).toBeLessThanOrEqual(8_000)
      }
    }).pipe(Effect.scoped))

  // a real wait: the bucket refills by the Redis server's clock, which no TestClock moves
  it.live("an idle bucket leaves nothing behind and is full on its next call", () =>
    Effect.gen(function*() {
      const server = yield* startRedisServer
      const redis = yield* inspect(server)
      const store = yield* Layer.build(RateLimitRedis.layerStore({ host: server.host, port: server.port }))
      const limiter = yield* Effect.provide(
        RateLimit.make({ limit: 2, window: "200 millis", onExceeded: "fail" }),
        store
      )
      yield* limiter.consume("api")
      yield* limiter.consume("api")
      expect(outcome(yield* Effect.exit(limiter.consume("api")))).toBe("RateLimitExceeded")
      yield* Effect.sleep("250 millis")
      expect(yield* redis.keys).toEqual([])
      yield* limiter.consume("api")
      yield* limiter.consume("api")
    }).pipe(Effect.scoped))

  it.live("no two keys share a bucket, and a bucket's keys share one cluster hash slot", () =>
    Effect.gen(function*() {
      const server = yield* startRedisServer
      const redis = yield* inspect(server)
      const options = { limit: 1, window: "1 hour", onExceeded: "fail" } as const
      const keys = ["x", "x:refill", "x:tokens", "{x}:tokens", "{x}:refill", "x}:tokens", "x", "x:refill", "{x}:tokens"]
      const answers = (limiter: RateLimit.RateLimiter) =>
        Effect.forEach(keys, (key) => Effect.map(Effect.exit(limiter.consume(key)), outcome))
      const memory = yield* answers(yield* Effect.provide(RateLimit.make(options), RateLimit.layerStoreMemory))
      const store = yield* Layer.build(
        RateLimitRedis.layerStore({ host: server.host, port: server.port, prefix: "p:" })
      )
      const onRedis = yield* answers(yield* Effect.provide(RateLimit.make(options), store))
      expect(onRedis).toEqual(memory)
      expect(memory.filter((answer) => answer === "ok")).toHaveLength(6)
      // Redis Cluster hashes only the text between the first "{" and the next "}": the user's key
      const written = yield* redis.keys
      expect(written).toHaveLength(12)
      const hashTag = (key: string) => key.slice(key.indexOf("{") + 1, key.indexOf("}", key.indexOf("{") + 1))
      for (const key of written.filter((key) => key.endsWith(":tokens"))) {
        const refill = key.replace(/:tokens$/, ":refill")
        expect(written).toContain(refill)
        expect(hashTag(key), key).not.toBe("")
        expect(hashTag(refill), key).toBe(hashTag(key))
      }
      expect(written).toContain("p:{x}:tokens")
    }).pipe(Effect.scoped))

  it.live("the bucket refills by the server's clock: a process whose clock is ahead gains nothing", () =>
    Effect.gen(function*() {
      const server = yield* startRedisServer
      const layer = RateLimitRedis.layerStore({ host: server.host, port: server.port })
      const live = yield* Clock.clockWith(Effect.succeed)
      const options = { limit: 2, window: "10 seconds", onExceeded: "fail" } as const
      const a = yield* Effect.provide(RateLimit.make(options), yield* Layer.build(layer))
      const b = yield* Effect.provide(RateLimit.make(options), yield* Layer.build(layer))
      const ahead = <A, E>(self: Effect.Effect<A, E>) => Effect.withClock(self, skewedClock(live, 3_600_000))
      yield* a.consume("api")
      yield* a.consume("api")
      expect(outcome(yield* Effect.exit(ahead(b.consume("api"))))).toBe("RateLimitExceeded")
      // nor does A when its own clock jumps an hour
      expect(outcome(yield* Effect.exit(ahead(a.consume("api"))))).toBe("RateLimitExceeded")
    }).pipe(Effect.scoped))

  // a real wait of 250 ms: the refill comes from the server's clock
  it.live("a process whose clock is ahead does not starve the others", () =>
    Effect.gen(function*() {
      const server = yield* startRedisServer
      const layer = RateLimitRedis.layerStore({ host: server.host, port: server.port })
      const live = yield* Clock.clockWith(Effect.succeed)
      const options = { limit: 1, window: "200 millis", onExceeded: "fail" } as const
      const a = yield* Effect.provide(RateLimit.make(options), yield* Layer.build(layer))
      const b = yield* Effect.provide(RateLimit.make(options), yield* Layer.build(layer))
      yield* Effect.exit(Effect.withClock(b.consume("api"), skewedClock(live, 3_600_000)))
      yield* Effect.sleep("250 millis")
      expect(outcome(yield* Effect.exit(a.consume("api")))).toBe("ok")
    }).pipe(Effect.scoped))
})

describeWithRedis("RateLimitRedis fixed window: slots given back", () => {
  // A caller of mode "delay" whose tokens fall in the next window waits for it; interrupted once the window of the
  // calls before it has passed, it gives its tokens back and the window ends. The refund's expiry came out below zero,
  // Redis refused `SET ... PX` with it, the error was dropped, and the key stayed counted until the refunded slot's end.
  it.effect("a refund that ends the fixed window frees the key, as in the memory store", () =>
    Effect.gen(function*() {
      const server = yield* startRedisServer
      const redis = yield* inspect(server)
      const store = yield* Layer.build(
        RateLimitRedis.layerStore({ host: server.host, port: server.port, prefix: "refund:" })
      )
      const answers = (limiters: { readonly fail: RateLimit.RateLimiter; readonly delay: RateLimit.RateLimiter }) =>
        Effect.gen(function*() {
          yield* limiters.fail.consume("api")
          // 2 tokens: the count goes to 3, the second window's; it waits until the window of 20 s ends
          const waiter = yield* Effect.fork(limiters.delay.consume("api", 2))
          for (let i = 0; i < 100 && waiter.unsafePoll() === null && (yield* redis.pttl("refund:api")) < 25_000; i++) {
            yield* Effect.sleep("1 millis").pipe(Effect.withClock(Clock.make()))
          }
          return waiter
        })
      const options = { limit: 2, window: "20 seconds", algorithm: "fixed-window" } as const
      const make = (service: RateLimit.RateLimiterStore["Type"]) =>
        Effect.all({
          fail: RateLimit.make({ ...options, onExceeded: "fail" }),
          delay: RateLimit.make({ ...options, onExceeded: "delay" })
        }).pipe(Effect.provideService(RateLimit.RateLimiterStore, service))

      const memory = yield* make(RateLimit.makeStoreMemory())
      const onMemory = yield* answers(memory)
      yield* TestClock.adjust("10500 millis")
      yield* Fiber.interrupt(onMemory)
      expect(outcome(yield* Effect.exit(memory.fail.consume("api")))).toBe("ok")

      const onRedis = yield* make(Context.get(store, RateLimit.RateLimiterStore))
      const waiter = yield* answers(onRedis)
      expect(waiter.unsafePoll()).toBeNull()
      // 10.5 s of the server's time pass: the window of the first call (10 s) has ended
      const left = yield* redis.pttl("refund:api")
      yield* redis.set("refund:api", String(yield* redis.get("refund:api")), left - 10_500)
      yield* TestClock.adjust("10500 millis")
      yield* Fiber.interrupt(waiter)
      expect(outcome(yield* Effect.exit(onRedis.fail.consume("api")))).toBe("ok")
    }).pipe(Effect.scoped), 20_000)
})

describeWithRedis("RateLimitRedis token bucket, server clock set back", () => {
  // x/time/rate's TestLimiterJumpBackwards, on the server's clock: a refill mark ahead of the server's TIME (its
  // clock was set back) must not stall the bucket until the clock catches up
  it.live("a bucket whose refill mark is ahead of the server's clock refills from the server's time", () =>
    Effect.gen(function*() {
      const redis = yield* startRedisServer
      const store = yield* Layer.build(
        RateLimitRedis.layerStore({ host: redis.host, port: redis.port, prefix: "back:" })
      )
      const limiter = yield* Effect.provide(
        RateLimit.make({ limit: 1, window: "200 millis", onExceeded: "fail" }),
        store
      )
      const client = yield* inspect(redis)
      yield* limiter.consume("api")
      // the server's clock goes an hour back: the bucket's refill mark is an hour ahead of TIME, and kept that long
      const mark = Number(yield* client.get("back:{api}:refill"))
      yield* client.set("back:{api}:refill", String(mark + 3_600_000), 3_600_000)
      yield* client.set("back:{api}:tokens", "0", 3_600_000)
      // the next call sees the step: no token yet, the next one due a refill interval from now, not in an hour
      const error = yield* Effect.flip(limiter.consume("api"))
      expect(error._tag === "RateLimitExceeded" && Duration.toMillis(error.retryAfter)).toBeLessThanOrEqual(200)
      yield* Effect.sleep("300 millis")
      yield* limiter.consume("api")
    }).pipe(Effect.scoped))
})

// No redis-server is needed: nothing listens on the port. The wait for the first connection is on a socket, so it
// ends in real time (`connectTimeout`, 100 ms here) even under a TestClock that nobody advances; it used to wait on
// the fiber's clock, and a test building a store against a server that was not there hung.
describe("Redis stores under a TestClock, with nothing listening", () => {
  it.effect(
    "building each store's layer ends after connectTimeout, and the store then answers degraded",
    () =>
      Effect.gen(function*() {
        const port = yield* freePort
        const options = { host: "127.0.0.1", port, connectTimeout: 100, commandTimeout: 100 }
        const rateLimits = yield* Layer.build(RateLimitRedis.layerStore(options))
        yield* Layer.build(RetryBudgetRedis.layerStore(options))
        yield* Layer.build(CircuitBreakerRedis.layerStore(options))
        const limiter = yield* Effect.provide(
          RateLimit.make({ limit: 5, window: "1 second", onExceeded: "fail" }),
          rateLimits
        )
        expect(outcome(yield* Effect.exit(limiter.consume("api")))).toBe("RateLimitStoreError")
      }).pipe(Effect.scoped),
    20_000
  )
})

describeWithRedis("Redis stores: options ioredis 6 adds", () => {
  // ioredis 6 refuses `replyMapping: "resp3"` without RESP3 (it throws in its constructor, a defect in the layer) and
  // with RESP3 it would change reply shapes: the stores' connections keep "legacy" (ioredis 5's shapes) whatever the
  // caller passes, and take the caller's `protocol`. (Spread, not written out: ioredis 5's types have neither.)
  it.live("replyMapping \"resp3\" with protocol 2: every store family builds and answers, on RESP2", () =>
    Effect.gen(function*() {
      const redis = yield* startRedisServer
      const ioredis6Options = { protocol: 2, replyMapping: "resp3" } as const
      const options = { host: redis.host, port: redis.port, prefix: "resp:", ...ioredis6Options }
      const limiter = yield* Effect.provide(
        RateLimit.make({ limit: 1, window: "10 seconds", onExceeded: "fail" }),
        yield* Layer.build(RateLimitRedis.layerStore(options))
      )
      yield* limiter.consume("api")
      expect((yield* Effect.flip(limiter.consume("api")))._tag).toBe("RateLimitExceeded")
      const breakers = yield* Effect.map(
        Layer.build(CircuitBreakerRedis.layerStore(options)),
        (context) => Context.get(context, CircuitBreakerStore.CircuitBreakerStore)
      )
      const now = Date.now()
      yield* breakers.publish("api", { state: "Open", at: now, until: now + 10_000 })
      expect((yield* breakers.read(["api"]))[0]?.state).toBe("Open")
      const budget = yield* Effect.map(
        Layer.build(RetryBudgetRedis.layerStore(options)),
        (context) => Context.get(context, RetryBudgetStore.RetryBudgetStore)
      )
      const request = { key: "api", now, windowMillis: 10_000, ratio: 0.5, minRetries: 0 }
      yield* budget.update({ ...request, requests: 2, withdraw: false })
      expect(yield* budget.update({ ...request, requests: 0, withdraw: true })).toEqual({
        granted: true,
        requests: 2,
        retries: 1
      })
      const bulkhead = yield* Effect.flatMap(
        Layer.build(BulkheadRedis.layerStore(options)),
        (context) =>
          BulkheadStore.make({ key: "api", maxConcurrent: 1, timeout: "2 seconds" }).pipe(Effect.provide(context))
      )
      expect(yield* bulkhead.run(Effect.succeed("ran"))).toBe("ran")
      const list = yield* Effect.acquireUseRelease(
        Effect.sync(() => new Redis({ host: redis.host, port: redis.port })),
        (client) => Effect.promise(() => client.client("LIST")),
        (client) => Effect.sync(() => client.disconnect())
      )
      const resp = String(list).split("\n").filter((line) =>
        line.includes("resp=") && !line.includes("cmd=client|list")
      )
        .map((line) => /\bresp=(\d)/.exec(line)?.[1])
      expect(resp.length).toBe(4)
      expect(new Set(resp)).toEqual(new Set(["2"]))
    }).pipe(Effect.scoped))
})
