import { expect, it } from "@effect/vitest"
import type * as Bulkhead from "@sturdy/policy/Bulkhead"
import * as BulkheadRedis from "@sturdy/policy/BulkheadRedis"
import * as BulkheadStore from "@sturdy/policy/BulkheadStore"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import { Redis } from "ioredis"
import { describeWithRedis, freePort, type RedisServer, redisServerOn, startRedisServer } from "./utils/redis.js"
import { fallbacksOf } from "./utils/sharedStateMetrics.js"

// Real time throughout: a lease runs on Redis's clock (`TIME` inside the scripts), which a TestClock cannot move.

type Service = BulkheadStore.BulkheadStore.Service

// one "process": its own connection on the shared server
const storeOn = (
  redis: Pick<RedisServer, "host" | "port">,
  sync?: BulkheadStore.SyncOptions,
  options?: BulkheadRedis.RedisStoreOptions
) =>
  Effect.flatMap(
    Layer.build(BulkheadRedis.layerStore({ ...options, host: redis.host, port: redis.port, prefix: "test:", sync })),
    (context) => Effect.provide(BulkheadStore.BulkheadStore, context)
  )

// the store's `timeout` is 2 s unless a test sets it: at the default 100 ms a loaded CI machine can make a Redis
// round trip late, and the call then goes to the local bulkhead, which these tests do not look for
const bulkheadOn = (store: Service, options: Bulkhead.Options & BulkheadStore.SyncOptions) =>
  BulkheadStore.make({ timeout: "2 seconds", ...options }).pipe(
    Effect.provideService(BulkheadStore.BulkheadStore, store)
  )

// the permits Redis holds for `key` (expired or not)
const held = (redis: Pick<RedisServer, "host" | "port">, key: string) =>
  Effect.acquireUseRelease(
    Effect.sync(() => new Redis({ host: redis.host, port: redis.port })),
    (client) => Effect.promise(() => client.zcard(`test:{${key}}:permits`)),
    (client) => Effect.sync(() => client.disconnect())
  )

// a command of a client of our own (not one of the processes')
const command = <A>(redis: Pick<RedisServer, "host" | "port">, run: (client: Redis) => Promise<A>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => new Redis({ host: redis.host, port: redis.port })),
    (client) => Effect.promise(() => run(client)),
    (client) => Effect.sync(() => client.disconnect())
  )

// how many connections are subscribed to the channel on which `key`'s releases are announced
const subscribers = (redis: Pick<RedisServer, "host" | "port">, key: string) =>
  Effect.map(
    command(redis, (client) => client.pubsub("NUMSUB", `test:{${key}}:released`) as Promise<[string, number]>),
    (reply) => Number(reply[1])
  )

// Waits (real time, a few milliseconds a step, 2 s at most) for a state of the server the processes reach through
// their own connections; the test then asserts it. It is a wait for a condition, not a measure of time.
const eventually = <A>(probe: Effect.Effect<A>, done: (a: A) => boolean) =>
  Effect.gen(function*() {
    let value = yield* probe
    for (let i = 0; i < 200 && !done(value); i++) {
      yield* Effect.sleep("10 millis")
      value = yield* probe
    }
    return value
  })

const rejectionOf = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail"
    ? (exit.cause.error as Bulkhead.BulkheadRejected).reason
    : undefined

// a call that holds its permit until `gate` opens
const holding = (bulkhead: Bulkhead.Bulkhead, gate: Deferred.Deferred<void>) =>
  Effect.fork(bulkhead.run(Deferred.await(gate)))

describeWithRedis("BulkheadRedis", () => {
  it.live("two processes with their own connections never hold more than maxConcurrent permits together", () =>
    Effect.gen(function*() {
      const redis = yield* startRedisServer
      const options = { key: "api", maxConcurrent: 2, maxQueued: 20, pollInterval: "5 millis" } as const
      const a = yield* Effect.flatMap(storeOn(redis), (store) => bulkheadOn(store, options))
      const b = yield* Effect.flatMap(storeOn(redis), (store) => bulkheadOn(store, options))
      let running = 0
      let most = 0
      const call = Effect.acquireUseRelease(
        Effect.sync(() => {
          running++
          most = Math.max(most, running)
        }),
        () => Effect.sleep("15 millis"),
        () => Effect.sync(() => running--)
      )
      const results = yield* Effect.all(
        [...Array.from({ length: 8 }, () => a.run(call)), ...Array.from({ length: 8 }, () => b.run(call))],
        { concurrency: "unbounded", mode: "either" }
      )
      // every call ran (queued until a permit came), never more than 2 at once across both processes
      expect(results.filter((r) => r._tag === "Left")).toEqual([])
      expect(most).toBe(2)
      expect(yield* held(redis, "api")).toBe(0)
    }).pipe(Effect.scoped))

  it.live("a dead holder's permit comes back after its lease (Redis's clock); a live holder's is renewed", () =>
    Effect.gen(function*() {
      const redis = yield* startRedisServer
      const dead = yield* storeOn(redis)
      // a process takes the only permit with a 200 ms lease and dies: nobody renews it
      expect(yield* dead.acquire({ key: "api", permit: "dead", limit: 1, leaseMillis: 200, now: 0 })).toBe(true)
      const a = yield* Effect.flatMap(storeOn(redis), (store) => bulkheadOn(store, { key: "api", maxConcurrent: 1 }))
      const start = Date.now()
      let exit = yield* Effect.exit(a.run(Effect.void))
      expect(rejectionOf(exit)).toBe("Full")
      // polled every 10 ms, for 2 s at most
      for (let i = 0; i < 200 && rejectionOf(exit) === "Full"; i++) {
        yield* Effect.sleep("10 millis")
        exit = yield* Effect.exit(a.run(Effect.void))
      }
      const waited = Date.now() - start
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(waited).toBeGreaterThanOrEqual(150)
      // well before the set itself expires (a second after its latest lease): the script dropped the dead lease
      expect(waited).toBeLessThan(1_000)

      // a live holder with the same 200 ms lease keeps its permit for 600 ms: renewed every lease / 3
      const live = yield* Effect.flatMap(
        storeOn(redis, { lease: "200 millis" }),
        (store) => bulkheadOn(store, { key: "api", maxConcurrent: 1 })
      )
      const gate = yield* Deferred.make<void>()
      const holder = yield* holding(live, gate)
      yield* Effect.sleep("30 millis")
      for (let i = 0; i < 6; i++) {
        expect(rejectionOf(yield* Effect.exit(a.run(Effect.void)))).toBe("Full")
        yield* Effect.sleep("100 millis")
      }
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(holder)
      expect(yield* held(redis, "api")).toBe(0)
    }).pipe(Effect.scoped))

  it.live("an interrupted call gives its permit back to Redis, running or queued", () =>
    Effect.gen(function*() {
      const redis = yield* startRedisServer
      const a = yield* Effect.flatMap(
        storeOn(redis),
        (store) => bulkheadOn(store, { key: "api", maxConcurrent: 1, maxQueued: 1, pollInterval: "5 millis" })
      )
      const gate = yield* Deferred.make<void>()
      const running = yield* holding(a, gate)
      const queued = yield* holding(a, gate)
      yield* Effect.sleep("30 millis")
      expect(yield* held(redis, "api")).toBe(1)
      expect(yield* a.snapshot).toEqual({ active: 1, queued: 1 })
      yield* Fiber.interrupt(queued)
      yield* Fiber.interrupt(running)
      expect(yield* a.snapshot).toEqual({ active: 0, queued: 0 })
      expect(yield* held(redis, "api")).toBe(0)
      // and a call that times out
      yield* Effect.exit(Effect.timeout(a.run(Effect.never), "30 millis"))
      expect(yield* held(redis, "api")).toBe(0)
    }).pipe(Effect.scoped))

  it.live("redis-server stopped: calls fall back to the local bulkhead, reported once; sharing resumes", () => {
    const logs: Array<string> = []
    const logger = Logger.make(({ message }) => logs.push(String(message)))
    return Effect.gen(function*() {
      const port = yield* freePort
      let stop = yield* Effect.orDie(redisServerOn(port))
      yield* Effect.addFinalizer(() => Effect.suspend(() => stop))
      const redis = { host: "127.0.0.1", port }
      const before = yield* fallbacksOf("bulkhead")
      const options = { key: "api", maxConcurrent: 1, timeout: "500 millis" } as const
      const a = yield* Effect.flatMap(storeOn(redis), (store) => bulkheadOn(store, options))
      const b = yield* Effect.flatMap(storeOn(redis), (store) => bulkheadOn(store, options))
      const gate = yield* Deferred.make<void>()
      const holder = yield* holding(b, gate)
      yield* Effect.sleep("30 millis")
      expect(rejectionOf(yield* Effect.exit(a.run(Effect.void)))).toBe("Full")

      yield* stop
      // the local bulkhead decides: a has its own permit, and no call fails because of the store
      expect(yield* a.run(Effect.succeed("local"))).toBe("local")
      expect(yield* a.run(Effect.succeed("local"))).toBe("local")
      expect((yield* fallbacksOf("bulkhead")) - before).toBe(1)
      expect(logs.filter((line) => line.includes("store failed"))).toHaveLength(1)

      stop = yield* Effect.orDie(redisServerOn(port))
      // a fresh server holds nothing: b's call takes the fleet's permit again, then a's calls meet it
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(holder)
      const gate2 = yield* Deferred.make<void>()
      let full = false
      for (let i = 0; i < 300 && !full; i++) {
        yield* Effect.sleep("10 millis")
        const second = yield* holding(b, gate2)
        yield* Effect.sleep("10 millis")
        full = rejectionOf(yield* Effect.exit(a.run(Effect.void))) === "Full"
        if (!full) {
          yield* Fiber.interrupt(second)
        }
      }
      expect(full).toBe(true)
      expect(logs.filter((line) => line.includes("answers again")).length).toBeGreaterThanOrEqual(1)
      // once per process and outage: a's, and b's if its release met the connection before it was back
      expect((yield* fallbacksOf("bulkhead")) - before).toBeLessThanOrEqual(2)
      yield* Deferred.succeed(gate2, undefined)
    }).pipe(Effect.scoped, Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
  })

  // Real time: the permits are on Redis's clock, which a TestClock cannot move. The waiting process polls every 5 s
  // (jittered: its first poll is 2.5 s or more after it queued), so a call that runs within 1 s of the release was
  // woken by the notice; a loopback round trip takes well under a millisecond, so 1 s leaves room for a loaded CI.
  it.live("a permit given back by another process wakes a queued call at once (pub/sub), not at its next poll", () =>
    Effect.gen(function*() {
      const redis = yield* startRedisServer
      const a = yield* Effect.flatMap(storeOn(redis), (store) => bulkheadOn(store, { key: "api", maxConcurrent: 1 }))
      const b = yield* Effect.flatMap(
        storeOn(redis, { pollInterval: "5 seconds" }),
        (store) => bulkheadOn(store, { key: "api", maxConcurrent: 1, maxQueued: 2 })
      )
      const gate = yield* Deferred.make<void>()
      const holder = yield* holding(a, gate)
      expect(yield* eventually(held(redis, "api"), (n) => n === 1)).toBe(1)
      // nobody waits yet: no subscription
      expect(yield* subscribers(redis, "api")).toBe(0)
      const waiter = yield* Effect.fork(b.run(Effect.sync(() => Date.now())))
      // b subscribes (its second connection) while its call waits
      expect(yield* eventually(subscribers(redis, "api"), (n) => n === 1)).toBe(1)
      const released = Date.now()
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(holder)
      const ranAt = yield* Fiber.join(waiter)
      expect(ranAt - released).toBeLessThan(1_000)
      // nobody of b waits any more: the subscription is dropped
      expect(yield* eventually(subscribers(redis, "api"), (n) => n === 0)).toBe(0)

      // and when the waiting call leaves otherwise (interrupted), too
      const gate2 = yield* Deferred.make<void>()
      const holder2 = yield* holding(a, gate2)
      expect(yield* eventually(held(redis, "api"), (n) => n === 1)).toBe(1)
      const queued = yield* Effect.fork(b.run(Effect.void))
      expect(yield* eventually(subscribers(redis, "api"), (n) => n === 1)).toBe(1)
      yield* Fiber.interrupt(queued)
      expect(yield* eventually(subscribers(redis, "api"), (n) => n === 0)).toBe(0)
      yield* Deferred.succeed(gate2, undefined)
      yield* Fiber.join(holder2)
    }).pipe(Effect.scoped))

  it.live("the subscriber connection killed: a queued call still gets the permit by polling, reported once", () => {
    const logs: Array<string> = []
    const logger = Logger.make(({ message }) => logs.push(String(message)))
    return Effect.gen(function*() {
      const redis = yield* startRedisServer
      const a = yield* Effect.flatMap(storeOn(redis), (store) => bulkheadOn(store, { key: "api", maxConcurrent: 1 }))
      // b's connections do not reconnect: once killed, its subscriber stays down and only the poll (every 200 ms,
      // jittered: 100 to 300 ms) can find the permit
      const b = yield* Effect.flatMap(
        storeOn(redis, { pollInterval: "200 millis" }, { retryStrategy: () => null }),
        (store) => bulkheadOn(store, { key: "api", maxConcurrent: 1, maxQueued: 1, maxWait: "10 seconds" })
      )
      const gate = yield* Deferred.make<void>()
      const holder = yield* holding(a, gate)
      expect(yield* eventually(held(redis, "api"), (n) => n === 1)).toBe(1)
      const waiter = yield* Effect.fork(b.run(Effect.succeed("ran")))
      expect(yield* eventually(subscribers(redis, "api"), (n) => n === 1)).toBe(1)
      yield* command(redis, (client) => client.client("KILL", "TYPE", "PUBSUB"))
      expect(yield* eventually(subscribers(redis, "api"), (n) => n === 0)).toBe(0)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(holder)
      // no notice reaches b; its poll does (well within the 1 s the fiber is given)
      const ran = yield* Fiber.join(waiter).pipe(Effect.timeout("1 second"))
      expect(ran).toBe("ran")
      expect(logs.filter((line) => line.includes("release notifications unavailable"))).toHaveLength(1)
      expect(yield* held(redis, "api")).toBe(0)
    }).pipe(Effect.scoped, Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
  })

  // Real time, as above: the waiting process's first poll comes 2.5 s or more after it queued.
  it.live("expired leases dropped by another process's acquisition, leaving a permit free, wake a queued call", () =>
    Effect.gen(function*() {
      const redis = yield* startRedisServer
      const dead = yield* storeOn(redis)
      // two processes took both permits with a 300 ms lease and died
      for (const permit of ["dead-1", "dead-2"]) {
        expect(yield* dead.acquire({ key: "api", permit, limit: 2, leaseMillis: 300, now: 0 })).toBe(true)
      }
      const b = yield* Effect.flatMap(
        storeOn(redis, { pollInterval: "5 seconds" }),
        (store) => bulkheadOn(store, { key: "api", maxConcurrent: 2, maxQueued: 1 })
      )
      const waiter = yield* Effect.fork(b.run(Effect.sync(() => Date.now())))
      expect(yield* eventually(subscribers(redis, "api"), (n) => n === 1)).toBe(1)
      // a third process asks once both leases have ended on Redis's clock (300 ms after they were taken; asked
      // earlier, between their two ends, it would drop one and take its place: nothing free, nothing announced); its
      // acquisition drops them and keeps one permit, and no release of it follows, so only the acquisition can have
      // told b
      const other = yield* storeOn(redis)
      yield* Effect.sleep("500 millis")
      const granted = yield* other.acquire({ key: "api", permit: "c", limit: 2, leaseMillis: 60_000, now: 0 })
      const grantedAt = Date.now()
      expect(granted).toBe(true)
      const ranAt = yield* Fiber.join(waiter)
      expect(ranAt - grantedAt).toBeLessThan(1_000)
    }).pipe(Effect.scoped))

  it.live("redis-server restarted: the subscriber warns once, subscribes again to the watched channel, and wakes", () => {
    const logs: Array<string> = []
    const logger = Logger.make(({ message }) => logs.push(String(message)))
    return Effect.gen(function*() {
      const port = yield* freePort
      let stop = yield* Effect.orDie(redisServerOn(port))
      yield* Effect.addFinalizer(() => Effect.suspend(() => stop))
      const redis = { host: "127.0.0.1", port }
      const dead = yield* storeOn(redis)
      expect(yield* dead.acquire({ key: "api", permit: "dead", limit: 1, leaseMillis: 60_000, now: 0 })).toBe(true)
      // a poll every 10 s (the first 5 s or more after queuing): within this test only a notice wakes the call
      const b = yield* Effect.flatMap(
        storeOn(redis, { pollInterval: "10 seconds" }),
        (store) => bulkheadOn(store, { key: "api", maxConcurrent: 1, maxQueued: 1 })
      )
      const waiter = yield* Effect.fork(b.run(Effect.sync(() => Date.now())))
      expect(yield* eventually(subscribers(redis, "api"), (n) => n === 1)).toBe(1)
      yield* stop
      // the subscriber meets the outage on each of its reconnection attempts: one warning
      yield* eventually(Effect.sync(() => logs.length), (n) => n > 0)
      yield* Effect.sleep("300 millis")
      stop = yield* Effect.orDie(redisServerOn(port))
      expect(yield* eventually(subscribers(redis, "api"), (n) => n === 1)).toBe(1)
      expect(logs.filter((line) => line.includes("release notifications unavailable"))).toHaveLength(1)
      // the fresh server holds no permit; a notice on the channel sends b to ask at once
      const sentAt = Date.now()
      yield* command(redis, (client) => client.publish("test:{api}:released", ""))
      const ranAt = yield* Fiber.join(waiter)
      expect(ranAt - sentAt).toBeLessThan(1_000)
    }).pipe(Effect.scoped, Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
  })

  // one fiber per layer renews the permits of all its bulkheads: a call forks none, and the fiber ends with the layer
  it.live("calls fork no renewal fiber; the layer's one stops when its scope closes, even when built masked", () =>
    Effect.gen(function*() {
      const redis = yield* startRedisServer
      const before = (yield* Fiber.roots).length
      const layerScope = yield* Scope.make()
      const b = yield* Effect.uninterruptible(
        Effect.flatMap(storeOn(redis), (store) => bulkheadOn(store, { key: "api", maxConcurrent: 2 })).pipe(
          Scope.extend(layerScope)
        )
      )
      const withLayer = (yield* Fiber.roots).length
      const during: Array<number> = []
      for (let i = 0; i < 20; i++) {
        yield* b.run(Effect.flatMap(Fiber.roots, (roots) => Effect.sync(() => during.push(roots.length))))
      }
      expect(during).toEqual(Array.from({ length: 20 }, () => withLayer))
      // a call holds a permit: the fiber waits on a timer to renew it when the layer closes
      const gate = yield* Deferred.make<void>()
      const call = yield* holding(b, gate)
      expect(yield* eventually(held(redis, "api"), (n) => n === 1)).toBe(1)
      const closing = yield* Effect.fork(Scope.close(layerScope, Exit.void))
      // a bound on a hang, not a measure of time
      expect(Option.isSome(yield* Effect.option(Effect.timeout(Fiber.await(closing), "5 seconds")))).toBe(true)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.await(call)
      expect(yield* eventually(Effect.map(Fiber.roots, (roots) => roots.length), (n) => n === before)).toBe(before)
    }).pipe(Effect.scoped))

  it.live("the subscriber connection is opened on the first wait and closed with the layer", () =>
    Effect.gen(function*() {
      const redis = yield* startRedisServer
      // the server's connections, the probe's own included
      const clients = Effect.map(
        command(redis, (client) => client.call("CLIENT", "LIST") as Promise<string>),
        (list) => list.split("\n").filter((line) => line.trim() !== "").length
      )
      const dead = yield* storeOn(redis)
      expect(yield* dead.acquire({ key: "api", permit: "dead", limit: 1, leaseMillis: 60_000, now: 0 })).toBe(true)
      const layerScope = yield* Scope.make()
      const b = yield* Effect.flatMap(
        storeOn(redis, { pollInterval: "5 seconds" }),
        (store) => bulkheadOn(store, { key: "api", maxConcurrent: 1, maxQueued: 1 })
      ).pipe(Scope.extend(layerScope))
      // no call has waited yet: no second connection (the probe, dead's and b's)
      expect(yield* b.snapshot).toEqual({ active: 0, queued: 0 })
      expect(yield* clients).toBe(3)
      const queued = yield* Effect.fork(b.run(Effect.void))
      expect(yield* eventually(subscribers(redis, "api"), (n) => n === 1)).toBe(1)
      expect(yield* clients).toBe(4)
      yield* Fiber.interrupt(queued)
      // unsubscribed, the connection stays for the next wait, until the layer closes (with b's first connection)
      expect(yield* eventually(subscribers(redis, "api"), (n) => n === 0)).toBe(0)
      expect(yield* clients).toBe(4)
      yield* Scope.close(layerScope, Exit.void)
      expect(yield* eventually(clients, (n) => n === 2)).toBe(2)
    }).pipe(Effect.scoped))
})
