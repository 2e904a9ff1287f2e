import { expect, it } from "@effect/vitest"
import type * as CircuitBreaker from "@sturdy/policy/CircuitBreaker"
import * as CircuitBreakerRedis from "@sturdy/policy/CircuitBreakerRedis"
import * as CircuitBreakerStore from "@sturdy/policy/CircuitBreakerStore"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Schedule from "effect/Schedule"
import { Redis } from "ioredis"
import { describeWithRedis, freePort, type RedisServer, redisServerOn, startRedisServer } from "./utils/redis.js"
import { wallClockStep } from "./utils/wallClockStep.js"

type Service = CircuitBreakerStore.CircuitBreakerStore.Service

// one "process": its own connection (and writer id) on the shared server
const storeOn = (redis: Pick<RedisServer, "host" | "port">, prefix = "test:") =>
  Effect.flatMap(
    Layer.build(CircuitBreakerRedis.layerStore({ host: redis.host, port: redis.port, prefix })),
    (context) => Effect.provide(CircuitBreakerStore.CircuitBreakerStore, context)
  )

const registryOn = (store: Service, options: CircuitBreakerStore.SyncOptions & CircuitBreaker.RegistryOptions) =>
  CircuitBreakerStore.makeRegistry(options).pipe(Effect.provideService(CircuitBreakerStore.CircuitBreakerStore, store))

const pttl = (redis: RedisServer, key: string) =>
  Effect.acquireUseRelease(
    Effect.sync(() => new Redis({ host: redis.host, port: redis.port, lazyConnect: false })),
    (client) => Effect.promise(() => client.pttl(key)),
    (client) => Effect.sync(() => client.disconnect())
  )

// a Clock `offset` ms away from the live one (another host's clock); sleeps are the live clock's
const skewedClock = (base: Clock.Clock, offset: number): Clock.Clock => {
  const millis = () => base.unsafeCurrentTimeMillis() + offset
  return {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: millis,
    unsafeCurrentTimeNanos: () => BigInt(millis()) * 1_000_000n,
    currentTimeMillis: Effect.sync(millis),
    currentTimeNanos: Effect.sync(() => BigInt(millis()) * 1_000_000n),
    sleep: (duration) => base.sleep(duration)
  }
}

const retryAfterOf = (exit: Exit.Exit<unknown, unknown>): Duration.Duration | undefined =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" && (exit.cause.error as { _tag?: string })._tag === "CircuitOpen"
    ? (exit.cause.error as CircuitBreaker.CircuitOpen).retryAfter
    : undefined

// calls `key` on `registry` every 10 ms (live clock) until it is rejected, for at most 1 s: the rejection's retryAfter
const untilRejected = (registry: CircuitBreaker.RegistryService, key: string) =>
  Effect.gen(function*() {
    for (let i = 0; i < 100; i++) {
      const retryAfter = retryAfterOf(yield* Effect.exit(Effect.succeed("ok").pipe(registry.withBreaker(key))))
      if (retryAfter !== undefined) return retryAfter
      yield* Effect.sleep("10 millis")
    }
    return undefined
  })

describeWithRedis("CircuitBreakerRedis", () => {
  for (const skew of [3_600_000, -3_600_000]) {
    it.live(`another process's clock ${skew > 0 ? "ahead" : "behind"} by 1 h: its pause is shared as a duration`, () =>
      Effect.gen(function*() {
        const redis = yield* startRedisServer
        const a = yield* storeOn(redis)
        const b = yield* storeOn(redis)
        const aNow = Date.now() + skew
        yield* a.publish("api", { state: "Open", at: aNow, until: aNow + 10_000 })
        const [seen] = yield* b.read(["api"])
        const bNow = Date.now()
        expect(seen?.state).toBe("Open")
        // on b's clock: opened just now, for 10 s (not an hour more, nor an hour ago)
        expect(bNow - seen!.at).toBeGreaterThanOrEqual(0)
        expect(bNow - seen!.at).toBeLessThan(1_000)
        expect(seen!.until - seen!.at).toBeCloseTo(10_000, 2)
        // a record read again is the same record (a breaker takes a later `at` as a new transition)
        expect(yield* b.read(["api"])).toEqual([seen])
        // b's probe closes the breaker: its record reached Redis last, so it wins whatever the two clocks say
        yield* b.publish("api", { state: "Closed", at: bNow, until: bNow })
        const live = yield* Clock.clockWith(Effect.succeed)
        const [closed] = yield* Effect.withClock(a.read(["api"]), skewedClock(live, skew))
        expect(closed?.state).toBe("Closed")
        // on a's clock
        expect(Math.abs(Date.now() + skew - closed!.at)).toBeLessThan(1_000)
      }).pipe(Effect.scoped))
  }

  it.live("a breaker whose clock is an hour ahead pauses the others for its breakDuration, not for an hour", () =>
    Effect.gen(function*() {
      const redis = yield* startRedisServer
      const live = yield* Clock.clockWith(Effect.succeed)
      const ahead = skewedClock(live, 3_600_000)
      const options = {
        breaker: { consecutiveFailures: 1, breakDuration: Schedule.spaced("10 seconds") },
        syncInterval: "20 millis"
      } as const
      const a = yield* Effect.withClock(Effect.flatMap(storeOn(redis), (store) => registryOn(store, options)), ahead)
      const b = yield* Effect.flatMap(storeOn(redis), (store) => registryOn(store, options))
      yield* Effect.exit(Effect.succeed("ok").pipe(b.withBreaker("api")))
      yield* Effect.withClock(Effect.exit(Effect.fail("boom").pipe(a.withBreaker("api"))), ahead)
      const retryAfter = yield* untilRejected(b, "api")
      expect(retryAfter).toBeDefined()
      expect(Duration.toMillis(retryAfter!)).toBeLessThanOrEqual(10_000)
      expect(Duration.toMillis(retryAfter!)).toBeGreaterThan(9_000)
    }).pipe(Effect.scoped))

  it.live("a probe slot of a process that died comes back after probeLease while others keep probing", () =>
    Effect.gen(function*() {
      const redis = yield* startRedisServer
      const dead = yield* storeOn(redis)
      const store = yield* storeOn(redis)
      const probe = { key: "api", limit: 2, leaseMillis: 200, now: 0 }
      expect(yield* dead.acquireProbe(probe)).toBe(true) // a process takes a slot and dies
      yield* Effect.sleep("120 millis")
      // another process probes (a slot taken and given back) before the dead slot's lease ends
      expect(yield* store.acquireProbe({ ...probe, token: "live" })).toBe(true)
      yield* store.releaseProbe("api", "live")
      yield* Effect.sleep("120 millis")
      // 240 ms after the dead grant: both slots are free again
      expect([yield* store.acquireProbe(probe), yield* store.acquireProbe(probe)]).toEqual([true, true])
      expect(yield* store.acquireProbe(probe)).toBe(false)
    }).pipe(Effect.scoped))

  it.live("a release frees the caller's own slot: a probe within its lease keeps it while the others come and go", () =>
    Effect.gen(function*() {
      const redis = yield* startRedisServer
      const store = yield* storeOn(redis)
      const probe = (token: string, leaseMillis: number) =>
        store.acquireProbe({ key: "api", limit: 2, leaseMillis, now: 0, token })
      // a's lease is short; b probes for long, granted after a
      expect([yield* probe("a, short", 100), yield* probe("b: long", 60_000)]).toEqual([true, true])
      yield* store.releaseProbe("api", "a, short") // a's probe ends: its own slot, not b's (granted last)
      yield* Effect.sleep("150 millis")
      // b still probes: one slot is left, not two
      expect([yield* probe("c", 60_000), yield* probe("d", 60_000)]).toEqual([true, false])
      yield* store.releaseProbe("api", "a, short") // again, and after its lease: nothing
      expect(yield* probe("d", 60_000)).toBe(false)
      yield* store.releaseProbe("api", "b: long")
      expect(yield* probe("d", 60_000)).toBe(true)
    }).pipe(Effect.scoped))

  it.live("rolling upgrade: a previous version's probe counter is that many slots, expiring with the key", () =>
    Effect.gen(function*() {
      const redis = yield* startRedisServer
      const store = yield* storeOn(redis)
      const client = yield* Effect.acquireRelease(
        Effect.sync(() => new Redis({ host: redis.host, port: redis.port })),
        (client) => Effect.sync(() => client.disconnect())
      )
      // two processes of the previous version hold both slots (INCR + PEXPIRE)
      yield* Effect.promise(() => client.set("test:{api}:probes", "2", "PX", 200))
      const probe = (limit: number) => store.acquireProbe({ key: "api", limit, leaseMillis: 60_000, now: 0 })
      expect(yield* probe(2)).toBe(false)
      expect(yield* probe(3)).toBe(true)
      expect(yield* probe(3)).toBe(false)
      // the old slots end when the old key would have: the new slot stays
      yield* Effect.sleep("250 millis")
      expect([yield* probe(3), yield* probe(3), yield* probe(3)]).toEqual([true, true, false])
      expect(yield* pttl(redis, "test:{api}:probes")).toBeGreaterThan(59_000)
    }).pipe(Effect.scoped))

  it.live("an open-until-reset record is shared as such, kept 60 s in Redis", () =>
    Effect.gen(function*() {
      const redis = yield* startRedisServer
      const a = yield* storeOn(redis)
      const b = yield* storeOn(redis)
      const now = Date.now()
      yield* a.publish("api", { state: "Open", at: now, until: Number.POSITIVE_INFINITY })
      const [seen] = yield* b.read(["api"])
      expect(seen?.state).toBe("Open")
      expect(seen?.until).toBe(Number.POSITIVE_INFINITY)
      expect(yield* a.read(["api"])).toEqual([{ state: "Open", at: now, until: Number.POSITIVE_INFINITY }])
      const ttl = yield* pttl(redis, "test:{api}:state")
      expect(ttl).toBeGreaterThan(59_000)
      expect(ttl).toBeLessThanOrEqual(60_000)
    }).pipe(Effect.scoped))

  it.live("a breaker open until reset pauses the other processes, and the store reports no failure", () => {
    const logs: Array<string> = []
    const logger = Logger.make(({ message }) => logs.push(String(message)))
    return Effect.gen(function*() {
      const redis = yield* startRedisServer
      const options = {
        breaker: { consecutiveFailures: 1, breakDuration: Schedule.spaced(Duration.infinity) },
        syncInterval: "20 millis"
      } as const
      const a = yield* Effect.flatMap(storeOn(redis), (store) => registryOn(store, options))
      const b = yield* Effect.flatMap(storeOn(redis), (store) => registryOn(store, options))
      yield* Effect.exit(Effect.succeed("ok").pipe(b.withBreaker("api")))
      yield* Effect.exit(Effect.fail("boom").pipe(a.withBreaker("api")))
      const retryAfter = yield* untilRejected(b, "api")
      expect(retryAfter).toBeDefined()
      expect(Duration.isFinite(retryAfter!)).toBe(false)
      expect(logs.filter((line) => line.includes("store failed"))).toEqual([])
    }).pipe(Effect.scoped, Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
  })
  it.live("a wall clock set back after an opening: the opener's probe closes it for good, and the others see it", () =>
    Effect.gen(function*() {
      const redis = yield* startRedisServer
      // a's wall clock steps as NTP steps it; its timers (and b's clock) go on
      const { clock, step } = yield* wallClockStep
      const options = {
        breaker: { consecutiveFailures: 1, breakDuration: Schedule.spaced("300 millis") },
        syncInterval: "20 millis"
      } as const
      const a = yield* Effect.withClock(Effect.flatMap(storeOn(redis), (store) => registryOn(store, options)), clock)
      const b = yield* Effect.flatMap(storeOn(redis), (store) => registryOn(store, options))
      const onA = <A, E>(self: Effect.Effect<A, E>) => Effect.withClock(self, clock)
      const stateOf = (registry: CircuitBreaker.RegistryService) =>
        Effect.flatMap(registry.get("api"), (breaker) => breaker.state)
      yield* Effect.exit(Effect.succeed("ok").pipe(b.withBreaker("api")))
      yield* onA(Effect.exit(Effect.fail("boom").pipe(a.withBreaker("api"))))
      expect(yield* untilRejected(b, "api")).toBeDefined()
      // a's wall clock goes back an hour: its next call sees the step, and its pause ends 300 ms after that
      step(-3_600_000)
      expect(retryAfterOf(yield* onA(Effect.exit(Effect.succeed("ok").pipe(a.withBreaker("api")))))).toBeDefined()
      yield* Effect.sleep("350 millis")
      // a's probe closes it: a `Closed` whose `at` is an hour below its `Open`'s
      expect(yield* onA(Effect.exit(Effect.succeed("ok").pipe(a.withBreaker("api"))))).toEqual(Exit.succeed("ok"))
      // the polls of both (every 20 ms): waited for, bounded, as a loaded machine may delay them
      let states: ReadonlyArray<CircuitBreaker.State> = []
      for (let i = 0; i < 500; i++) {
        states = [yield* onA(stateOf(a)), yield* stateOf(b)]
        if (states.every((state) => state === "Closed")) break
        yield* Effect.sleep("10 millis")
      }
      expect(states).toEqual(["Closed", "Closed"])
      // and a stays closed: its own older Open does not come back over its Closed
      yield* Effect.sleep("100 millis")
      expect(yield* onA(stateOf(a))).toBe("Closed")
    }).pipe(Effect.scoped))

  it.live("an Open sent again after an outage keeps its age: the other process's pause ends with the opener's", () =>
    Effect.gen(function*() {
      const port = yield* freePort
      let stop = yield* Effect.orDie(redisServerOn(port))
      yield* Effect.addFinalizer(() => Effect.suspend(() => stop))
      const redis = { host: "127.0.0.1", port }
      const options = {
        breaker: { consecutiveFailures: 1, breakDuration: Schedule.spaced("6 seconds") },
        syncInterval: "20 millis",
        timeout: "500 millis"
      } as const
      const a = yield* Effect.flatMap(storeOn(redis), (store) => registryOn(store, options))
      const b = yield* Effect.flatMap(storeOn(redis), (store) => registryOn(store, options))
      yield* Effect.exit(Effect.succeed("ok").pipe(b.withBreaker("api")))
      yield* Effect.exit(Effect.succeed("ok").pipe(a.withBreaker("api")))
      yield* stop
      // a opens during the outage: Open until 6 s from now, its publish dropped
      const openedAt = Date.now()
      yield* Effect.exit(Effect.fail("boom").pipe(a.withBreaker("api")))
      yield* Effect.sleep("1500 millis")
      stop = yield* Effect.orDie(redisServerOn(port))
      // once both connections are back, a sends its Open again and b reads it: b's pause ends when a's does
      let retryAfter: Duration.Duration | undefined = undefined
      for (let i = 0; i < 500 && retryAfter === undefined; i++) {
        retryAfter = retryAfterOf(yield* Effect.exit(Effect.succeed("ok").pipe(b.withBreaker("api"))))
        if (retryAfter === undefined) yield* Effect.sleep("10 millis")
      }
      const endsAt = Date.now() + Duration.toMillis(retryAfter!)
      // within round trips (and the opener's call, on a loaded machine), not 1.5 s (the outage) late
      expect(Math.abs(endsAt - (openedAt + 6_000))).toBeLessThan(600)
    }).pipe(Effect.scoped))

  it.live("compare-and-set: an older record sent after a newer one never replaces it, whoever sends it", () =>
    Effect.gen(function*() {
      const redis = yield* startRedisServer
      const a = yield* storeOn(redis)
      const b = yield* storeOn(redis)
      const now = Date.now()
      // one writer: a lower seq never replaces a higher one, whatever the `at`s (a clock stepped back)
      yield* a.publish("api", { state: "Closed", at: now - 3_600_000, until: now - 3_600_000, seq: 11 })
      yield* a.publish("api", { state: "Open", at: now, until: now + 10_000, seq: 10 })
      yield* a.publish("api", { state: "Open", at: now, until: now + 10_000, seq: 11 })
      expect(yield* a.read(["api"])).toEqual([{
        state: "Closed",
        at: now - 3_600_000,
        until: now - 3_600_000,
        seq: 11
      }])
      // another writer: a record made before the current one reached Redis (sent 1 s late) never replaces it
      yield* Effect.sleep("50 millis")
      yield* b.publish("api", { state: "Open", at: now, until: now + 10_000, seq: 12 }, { age: 1_000 })
      expect((yield* a.read(["api"]))[0]?.state).toBe("Closed")
      // one made after it does (the processes' clocks, and so their seqs, are not compared)
      yield* b.publish("api", { state: "Open", at: now, until: now + 10_000, seq: 1 })
      expect((yield* a.read(["api"]))[0]).toMatchObject({ state: "Open", seq: 1 })
    }).pipe(Effect.scoped))

  it.live("rolling upgrade: a previous version's value (no seq) is read, and records without seq order by `at`", () =>
    Effect.gen(function*() {
      const redis = yield* startRedisServer
      const a = yield* storeOn(redis)
      const b = yield* storeOn(redis)
      const client = yield* Effect.acquireRelease(
        Effect.sync(() => new Redis({ host: redis.host, port: redis.port })),
        (client) => Effect.sync(() => client.disconnect())
      )
      const [seconds, micros] = yield* Effect.promise(() => client.time())
      const redisNow = Number(seconds) * 1000 + Number(micros) / 1000
      // a process of the previous version opened 1 s ago (by Redis's clock) for 10 s, on a clock an hour ahead
      const at = Date.now() + 3_600_000
      yield* Effect.promise(() =>
        client.set(
          "test:{api}:state",
          `O|${at}|${at + 10_000}|old-writer|${(redisNow - 1_000).toFixed(3)}`,
          "PX",
          70_000
        )
      )
      const [seen] = yield* b.read(["api"])
      expect(seen?.state).toBe("Open")
      expect(seen?.seq).toBeUndefined()
      expect(seen!.until - seen!.at).toBeCloseTo(10_000, 2)
      expect(Date.now() - seen!.at).toBeGreaterThanOrEqual(1_000)
      expect(Date.now() - seen!.at).toBeLessThan(2_000)
      // a record made later by another process replaces it, as before
      const now = Date.now()
      yield* a.publish("api", { state: "Closed", at: now, until: now })
      expect(yield* a.read(["api"])).toEqual([{ state: "Closed", at: now, until: now }])
      // one writer's records without seq order by `at`; a record with seq over one without, by `at` too
      yield* a.publish("api", { state: "Open", at: now - 1, until: now + 10_000 })
      yield* a.publish("api", { state: "Open", at: now - 1, until: now + 10_000, seq: 99 })
      expect(yield* a.read(["api"])).toEqual([{ state: "Closed", at: now, until: now }])
      yield* a.publish("api", { state: "Open", at: now + 1, until: now + 10_000, seq: 99 })
      expect(yield* a.read(["api"])).toEqual([{ state: "Open", at: now + 1, until: now + 10_000, seq: 99 }])
      // the value keeps the previous version's first five fields: "<O|C>|<at>|<until>|<writer>|<written>|<seq>"
      const value = yield* Effect.promise(() => client.get("test:{api}:state"))
      expect(value?.split("|")).toHaveLength(6)
      expect(value?.split("|")[5]).toBe("99")
    }).pipe(Effect.scoped))
})
