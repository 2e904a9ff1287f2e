import { describe, expect, it } from "@effect/vitest"
import type * as CircuitBreaker from "@sturdy/policy/CircuitBreaker"
import * as CircuitBreakerRedis from "@sturdy/policy/CircuitBreakerRedis"
import * as CircuitBreakerStore from "@sturdy/policy/CircuitBreakerStore"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { closesWhenMadeMasked } from "./utils/closesWhenMadeMasked.js"
import { describeWithRedis, startRedisServer } from "./utils/redis.js"
import { wallClockStep } from "./utils/wallClockStep.js"

const options = {
  breaker: { consecutiveFailures: 3, breakDuration: Schedule.spaced("10 seconds") }
} as const

const failing = Effect.fail("boom")
const ok = Effect.succeed("ok")

const openBy = (registry: CircuitBreaker.RegistryService, key: string) =>
  Effect.replicateEffect(Effect.exit(failing.pipe(registry.withBreaker(key))), 3, { discard: true })

const tagOf = <A, E>(exit: Exit.Exit<A, E>): string =>
  Exit.isSuccess(exit)
    ? "Success"
    : Exit.causeOption(exit).pipe((cause) =>
      cause._tag === "Some" && cause.value._tag === "Fail"
        ? String((cause.value.error as { _tag?: string })._tag ?? cause.value.error)
        : "Other"
    )

const call = <A, E>(registry: CircuitBreaker.RegistryService, key: string, self: Effect.Effect<A, E>) =>
  Effect.map(Effect.exit(self.pipe(registry.withBreaker(key))), tagOf)

// two "processes": two registries with their own breakers and polling fibers, on one store
const twoProcesses = (store: CircuitBreakerStore.CircuitBreakerStore.Service, sync?: CircuitBreakerStore.SyncOptions) =>
  Effect.gen(function*() {
    const build = CircuitBreakerStore.makeRegistry({ ...options, ...sync }).pipe(
      Effect.provideService(CircuitBreakerStore.CircuitBreakerStore, store)
    )
    return [yield* build, yield* build] as const
  })

// a store whose outage the test switches on and off; otherwise a memory store
const switchable = () => {
  const memory = CircuitBreakerStore.makeMemory()
  const state = { down: false, hang: false }
  const guard = <A>(key: string, self: Effect.Effect<A, CircuitBreakerStore.CircuitBreakerStoreError>) =>
    Effect.suspend(() =>
      state.hang
        ? Effect.never
        : state.down
        ? Effect.fail(new CircuitBreakerStore.CircuitBreakerStoreError({ key }))
        : self
    )
  const store: CircuitBreakerStore.CircuitBreakerStore.Service = {
    publish: (key, record, sent) => guard(key, memory.publish(key, record, sent)),
    read: (keys) => guard(keys[0] ?? "", memory.read(keys)),
    acquireProbe: (request) => guard(request.key, memory.acquireProbe(request)),
    releaseProbe: (key, token) => guard(key, memory.releaseProbe(key, token))
  }
  return { store, state }
}

describe("CircuitBreakerStore", () => {
  // a fiber inherits its parent's interruptibility: the write and poll loops forked by a breaker made inside a mask
  // ignored the scope's close, which then waited for ever
  it.effect("a breaker or registry made inside a mask still lets its scope close", () =>
    Effect.gen(function*() {
      const store = CircuitBreakerStore.layerMemory
      expect(yield* closesWhenMadeMasked(CircuitBreakerStore.make("api").pipe(Effect.provide(store)))).toBe(true)
      expect(yield* closesWhenMadeMasked(CircuitBreakerStore.makeRegistry().pipe(Effect.provide(store)))).toBe(true)
    }))

  it.scoped("one process's open breaker stops the others within syncInterval, until the same time", () =>
    Effect.gen(function*() {
      const [a, b] = yield* twoProcesses(CircuitBreakerStore.makeMemory())
      const changes = yield* Effect.fork(Stream.runCollect(Stream.take(b.changes, 1)))
      expect(yield* call(b, "api", ok)).toBe("Success") // b uses the key
      yield* openBy(a, "api")
      expect(yield* call(a, "api", ok)).toBe("CircuitOpen")
      // b has not read the store yet: its calls still go through
      expect(yield* call(b, "api", ok)).toBe("Success")
      yield* TestClock.adjust("250 millis")
      const exit = yield* Effect.exit(ok.pipe(b.withBreaker("api")))
      expect(tagOf(exit)).toBe("CircuitOpen")
      // a opened at t = 0 for 10 s: b waits for the same probe time
      expect(
        exit._tag === "Failure" && exit.cause._tag === "Fail" &&
          Duration.toMillis((exit.cause.error as CircuitBreaker.CircuitOpen).retryAfter)
      ).toBe(9_750)
      expect(Chunk.toReadonlyArray(yield* Fiber.join(changes))).toMatchObject([{
        key: "api",
        from: "Closed",
        to: "Open"
      }])
      // other keys are not affected
      expect(yield* call(b, "other", ok)).toBe("Success")
    }))

  it.scoped("half-open admits halfOpenMaxProbes probes for the whole fleet; a success closes every process", () =>
    Effect.gen(function*() {
      const [a, b] = yield* twoProcesses(CircuitBreakerStore.makeMemory())
      yield* call(b, "api", ok)
      yield* openBy(a, "api")
      yield* TestClock.adjust("250 millis")
      expect(yield* call(b, "api", ok)).toBe("CircuitOpen")
      yield* TestClock.adjust("10 seconds")
      // a's probe is in flight and holds the fleet's only probe slot
      const release = yield* Deferred.make<void>()
      const probe = yield* Effect.fork(call(a, "api", Effect.as(Deferred.await(release), "ok")))
      yield* Effect.yieldNow()
      expect(yield* call(b, "api", ok)).toBe("CircuitOpen")
      expect(yield* call(b, "api", ok)).toBe("CircuitOpen")
      yield* Deferred.succeed(release, undefined)
      expect(yield* Fiber.join(probe)).toBe("Success")
      expect(yield* Effect.flatMap(a.get("api"), (breaker) => breaker.state)).toBe("Closed")
      yield* TestClock.adjust("250 millis")
      expect(yield* call(b, "api", ok)).toBe("Success")
      expect(yield* Effect.flatMap(b.get("api"), (breaker) => breaker.state)).toBe("Closed")
    }))

  it.scoped("a failed probe opens the breaker of every process again", () =>
    Effect.gen(function*() {
      const [a, b] = yield* twoProcesses(CircuitBreakerStore.makeMemory())
      yield* call(a, "api", ok)
      yield* openBy(b, "api")
      yield* TestClock.adjust("10 seconds")
      expect(yield* call(b, "api", failing)).toBe("boom") // b's probe fails: open for 10 s more
      yield* TestClock.adjust("250 millis")
      expect(yield* call(a, "api", ok)).toBe("CircuitOpen")
      expect(yield* Effect.flatMap(a.get("api"), (breaker) => breaker.state)).toBe("Open")
    }))

  it.scoped("a failing store: each breaker goes on alone, the outage is reported once, and sharing resumes", () => {
    const logs: Array<string> = []
    const logger = Logger.make(({ message }) => logs.push(String(message)))
    return Effect.gen(function*() {
      const { state, store } = switchable()
      const [a, b] = yield* twoProcesses(store)
      yield* call(b, "api", ok)
      state.down = true
      yield* openBy(a, "api")
      yield* TestClock.adjust("1 second")
      // the store is down: b never heard, and keeps calling; a decides alone
      expect(yield* call(b, "api", ok)).toBe("Success")
      expect(yield* call(a, "api", ok)).toBe("CircuitOpen")
      expect(logs.filter((line) => line.includes("store failed"))).toHaveLength(2) // once for each process
      // a's probe does not wait on the dead store: its local slot suffices
      yield* TestClock.adjust("10 seconds")
      expect(yield* call(a, "api", ok)).toBe("Success")

      state.down = false
      yield* openBy(a, "api")
      yield* TestClock.adjust("250 millis")
      expect(yield* call(b, "api", ok)).toBe("CircuitOpen")
      expect(logs.filter((line) => line.includes("answers again"))).toHaveLength(2)
      expect(logs.filter((line) => line.includes("store failed"))).toHaveLength(2)
    }).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
  })

  it.scoped("a breaker opened while the store was down republishes its pause when the store answers again", () =>
    Effect.gen(function*() {
      const { state, store } = switchable()
      const [a, b] = yield* twoProcesses(store)
      yield* call(a, "api", ok)
      yield* call(b, "api", ok)
      state.down = true
      yield* openBy(a, "api") // Open until 10 s from now: its publish is dropped
      yield* TestClock.adjust("1 second")
      expect(yield* call(b, "api", ok)).toBe("Success")
      // the store answers again: a's next poll finds it up and sends its pause again; b reads it at its next poll
      state.down = false
      yield* TestClock.adjust("500 millis")
      expect(yield* call(b, "api", ok)).toBe("CircuitOpen")
      const breaker = yield* b.get("api")
      expect(Duration.toMillis((yield* breaker.snapshot).retryAfter)).toBe(8_500)
    }))

  it.scoped("a pause that ended during the outage is not sent again: the others stay closed", () =>
    Effect.gen(function*() {
      const { state, store } = switchable()
      const [a, b] = yield* twoProcesses(store)
      yield* call(a, "api", ok)
      yield* call(b, "api", ok)
      state.down = true
      yield* openBy(a, "api") // Open until 10 s: its publish is dropped
      yield* TestClock.adjust("11 seconds")
      state.down = false
      yield* TestClock.adjust("500 millis")
      expect(yield* store.read(["api"])).toEqual([undefined])
      expect(yield* Effect.flatMap(b.get("api"), (breaker) => breaker.state)).toBe("Closed")
    }))

  it.scoped("a republish after an outage never overrides a later record of another process", () =>
    Effect.gen(function*() {
      // the store's compare-and-set keeps b's later record (a's resend reads nothing first)
      const { state, store } = switchable()
      const [a, b] = yield* twoProcesses(store)
      yield* call(a, "api", ok)
      yield* call(b, "api", ok)
      state.down = true
      yield* openBy(a, "api") // a: Open until 10 s, not published
      yield* TestClock.adjust("1 second")
      state.down = false
      // b opens after a, with the store up for b's write: the store holds b's later record
      yield* openBy(b, "api")
      yield* TestClock.adjust("500 millis")
      const [record] = yield* store.read(["api"])
      expect(record?.at).toBe(1_000)
      expect(record?.until).toBe(11_000)
    }))

  it.scoped("a probe slot given back while the store was down is freed when it answers again", () =>
    Effect.gen(function*() {
      const { state, store } = switchable()
      // a lease far longer than the test: only the release frees the slot
      const [a, b] = yield* twoProcesses(store, { probeLease: "1 hour" })
      yield* call(b, "api", ok)
      yield* openBy(a, "api")
      yield* TestClock.adjust("10 seconds")
      // a's probe holds the fleet's one slot; the store goes down before it ends, and a's probe is ignored (its
      // state stays half-open) so no transition frees the slot
      const gate = yield* Deferred.make<void>()
      const probe = yield* Effect.fork(call(a, "api", Effect.zipRight(Deferred.await(gate), Effect.interrupt)))
      yield* Effect.yieldNow()
      expect(yield* call(b, "api", ok)).toBe("CircuitOpen")
      state.down = true
      yield* TestClock.adjust("250 millis") // a's poll fails: a knows the store is down
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(probe)
      yield* Effect.repeatN(Effect.yieldNow(), 20) // its release goes to the store, which is down: dropped
      state.down = false
      // both polls find the store up (b's too: b asks the store for a slot again, not its local state alone)
      yield* TestClock.adjust("250 millis")
      yield* Effect.repeatN(Effect.yieldNow(), 20)
      expect(yield* call(b, "api", ok)).toBe("Success")
    }))

  it.scoped("a probe waits on a store that does not answer for at most `timeout`, then probes on local state", () =>
    Effect.gen(function*() {
      const { state, store } = switchable()
      const [a] = yield* twoProcesses(store, { timeout: "50 millis", syncInterval: "1 hour" })
      yield* openBy(a, "api")
      yield* TestClock.adjust("10 seconds")
      state.hang = true
      const fiber = yield* Effect.fork(call(a, "api", ok))
      yield* TestClock.adjust("49 millis")
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      expect(yield* Fiber.join(fiber)).toBe("Success")
    }))

  it.scoped("a probe slot held by a process that died is given back after probeLease", () =>
    Effect.gen(function*() {
      const store = CircuitBreakerStore.makeMemory()
      const [a, b] = yield* twoProcesses(store, { probeLease: "2 seconds" })
      yield* call(b, "api", ok)
      yield* openBy(a, "api")
      yield* TestClock.adjust("10 seconds")
      // a's probe never finishes (the process hangs or died)
      yield* Effect.fork(call(a, "api", Effect.never))
      yield* Effect.yieldNow()
      expect(yield* call(b, "api", ok)).toBe("CircuitOpen")
      yield* TestClock.adjust("2 seconds")
      expect(yield* call(b, "api", ok)).toBe("Success")
    }))

  it.scoped("a live process's probe past maxProbeDuration gives its fleet slot back at its next call, which probes in its place", () =>
    Effect.gen(function*() {
      const store = CircuitBreakerStore.makeMemory()
      // a lease far longer than the probe limit: only the holder letting go can free the fleet's slot in time
      const [a, b] = yield* twoProcesses(store, { probeLease: "1 minute" })
      yield* call(b, "api", ok)
      yield* openBy(a, "api")
      yield* TestClock.adjust("10 seconds")
      // a's probe hangs in a process that lives on; it holds the fleet's only slot
      const failLate = yield* Deferred.make<void>()
      const hung = yield* Effect.fork(Effect.exit(
        Effect.zipRight(Deferred.await(failLate), Effect.fail("503")).pipe(a.withBreaker("api"))
      ))
      yield* Effect.yieldNow()
      expect(yield* call(b, "api", ok)).toBe("CircuitOpen")
      // 10 s later (the pause before HalfOpen) the slot is still a's: b cannot take it from another process
      yield* TestClock.adjust("10 seconds")
      expect(yield* call(b, "api", ok)).toBe("CircuitOpen")
      // a's next call lets go of the hung probe, gives its fleet slot back and probes in its place: closed
      expect(yield* call(a, "api", ok)).toBe("Success")
      expect(yield* Effect.flatMap(a.get("api"), (breaker) => breaker.state)).toBe("Closed")
      yield* TestClock.adjust("250 millis")
      expect(yield* call(b, "api", ok)).toBe("Success")
      // the hung probe fails at last: it belongs to an older state and changes nothing
      yield* Deferred.succeed(failLate, undefined)
      yield* Fiber.join(hung)
      expect(yield* Effect.flatMap(a.get("api"), (breaker) => breaker.snapshot)).toMatchObject({
        state: "Closed",
        consecutiveFailures: 0
      })
    }))

  it.scoped("a count window is counted per process (no window data is shared); the transition is", () =>
    Effect.gen(function*() {
      const store = CircuitBreakerStore.makeMemory()
      const build = CircuitBreakerStore.makeRegistry({
        breaker: { failureRateThreshold: 0.5, slidingWindow: { calls: 4 } }
      }).pipe(Effect.provideService(CircuitBreakerStore.CircuitBreakerStore, store))
      const [a, b] = [yield* build, yield* build]
      // 2 failures here, 2 successes there: one window of the four would be at the threshold, but each process
      // holds two calls, fewer than min(minimumThroughput, 4)
      for (let i = 0; i < 2; i++) {
        yield* call(a, "api", failing)
        yield* call(b, "api", ok)
      }
      yield* TestClock.adjust("250 millis")
      expect(yield* Effect.flatMap(a.get("api"), (breaker) => breaker.snapshot)).toMatchObject({
        state: "Closed",
        calls: 2,
        failures: 2
      })
      expect(yield* call(b, "api", ok)).toBe("Success")
      // a's own window fills: 3 failures of 4 (with the success below) open it, and b follows
      yield* call(a, "api", ok)
      yield* call(a, "api", failing)
      expect(yield* call(a, "api", ok)).toBe("CircuitOpen")
      yield* TestClock.adjust("250 millis")
      expect(yield* call(b, "api", ok)).toBe("CircuitOpen")
    }))

  it.effect("memory store: a dead process's probe slot comes back after its lease while others keep probing", () =>
    Effect.gen(function*() {
      const store = CircuitBreakerStore.makeMemory()
      const probe = (now: number, token: string) =>
        store.acquireProbe({ key: "api", limit: 2, leaseMillis: 1_000, now, token })
      expect(yield* probe(0, "dead")).toBe(true) // a process takes a slot and dies
      // another process probes every 400 ms, each probe taking a slot and giving it back
      for (let now = 400; now <= 2_000; now += 400) {
        expect(yield* probe(now, `live${now}`)).toBe(true)
        yield* store.releaseProbe("api", `live${now}`)
      }
      // the dead slot's lease ended at 1 s: both slots are free
      expect([yield* probe(2_000, "x"), yield* probe(2_000, "y"), yield* probe(2_000, "z")]).toEqual([
        true,
        true,
        false
      ])
    }))

  // A..E each hold at most one probe; limit 2, lease 1 s. A release used to free the slot granted last: A's took
  // B's, B's took C's, and C was left on A's slot, which ends at 1 s, so D and E both got one while C probed.
  const probers = (store: CircuitBreakerStore.CircuitBreakerStore.Service, tokens: boolean) =>
    Effect.gen(function*() {
      const inFlight = new Set<string>()
      const take = (who: string, now: number) =>
        Effect.map(
          store.acquireProbe({ key: "api", limit: 2, leaseMillis: 1_000, now, ...(tokens ? { token: who } : {}) }),
          (granted) => granted && inFlight.add(who) !== undefined
        )
      const give = (who: string) =>
        Effect.zipRight(store.releaseProbe("api", tokens ? who : undefined), Effect.sync(() => inFlight.delete(who)))
      expect([yield* take("A", 0), yield* take("B", 100)]).toEqual([true, true])
      yield* give("A")
      expect(yield* take("C", 200)).toBe(true)
      yield* give("B")
      // t = 1050: C is within its lease (to 1.2 s), one slot is left
      expect([yield* take("D", 1_050), yield* take("E", 1_050)]).toEqual([true, false])
      expect([...inFlight].sort()).toEqual(["C", "D"])
    })

  it.effect("memory store: a release frees the caller's own slot, so probes within their lease never pass the limit", () =>
    Effect.gen(function*() {
      yield* probers(CircuitBreakerStore.makeMemory(), true)
      // without tokens: the oldest slot granted without one goes, the latest granted stay
      yield* probers(CircuitBreakerStore.makeMemory(), false)
    }))

  it.effect("memory store: a probe that outlived its lease gives back nothing, not the slot of the next prober", () =>
    Effect.gen(function*() {
      const store = CircuitBreakerStore.makeMemory()
      const probe = (now: number, token: string) =>
        store.acquireProbe({ key: "api", limit: 1, leaseMillis: 300, now, token })
      expect(yield* probe(0, "a")).toBe(true)
      expect(yield* probe(299, "b")).toBe(false)
      expect(yield* probe(350, "b")).toBe(true) // a's lease ran out
      expect(yield* probe(350, "b")).toBe(true) // the same token again: its slot, not a second one
      yield* store.releaseProbe("api", "a") // a's probe ends
      expect(yield* probe(400, "c")).toBe(false) // b is still probing
      yield* store.releaseProbe("api", "b")
      expect(yield* probe(400, "c")).toBe(true)
    }))

  it.scoped("fleet, halfOpenMaxProbes 1: a probe that outlived its lease ends without freeing the next probe's slot", () =>
    Effect.gen(function*() {
      const store = CircuitBreakerStore.makeMemory()
      const build = CircuitBreakerStore.makeRegistry({
        // two successes close a breaker: b's probe leaves the breakers half-open (a transition frees every slot)
        breaker: {
          consecutiveFailures: 1,
          breakDuration: Schedule.spaced("1 second"),
          halfOpenMaxProbes: 1,
          successThreshold: 2
        },
        probeLease: "300 millis"
      }).pipe(Effect.provideService(CircuitBreakerStore.CircuitBreakerStore, store))
      const [a, b, c] = [yield* build, yield* build, yield* build]
      for (const r of [b, c]) yield* call(r, "api", ok)
      yield* call(a, "api", failing)
      yield* TestClock.adjust("250 millis")
      expect(yield* call(c, "api", ok)).toBe("CircuitOpen")
      yield* TestClock.adjust("1 second")
      // a probes and hangs past its lease; b probes once the lease ran out
      const aDone = yield* Deferred.make<void>()
      const bDone = yield* Deferred.make<void>()
      const pa = yield* Effect.fork(call(a, "api", Effect.as(Deferred.await(aDone), "ok")))
      yield* Effect.yieldNow()
      expect(yield* call(b, "api", ok)).toBe("CircuitOpen")
      yield* TestClock.adjust("350 millis")
      const pb = yield* Effect.fork(call(b, "api", Effect.as(Deferred.await(bDone), "ok")))
      yield* Effect.yieldNow()
      // a's probe ends (an interruption, say: it changes nothing) and gives back no slot: b's is still taken
      yield* Fiber.interrupt(pa)
      expect(yield* call(c, "api", ok)).toBe("CircuitOpen")
      // b's probe ends and frees its own slot: c may probe at once
      yield* Deferred.succeed(bDone, undefined)
      expect(yield* Fiber.join(pb)).toBe("Success")
      yield* Effect.yieldNow()
      expect(yield* call(c, "api", ok)).toBe("Success")
      yield* Deferred.succeed(aDone, undefined)
    }))

  it.scoped("a store's own sync options are the defaults of the breakers built on it (Policy's included)", () =>
    Effect.gen(function*() {
      const store = { ...CircuitBreakerStore.makeMemory(), sync: { syncInterval: "1 second" } } as const
      const [a, b] = yield* twoProcesses(store)
      yield* call(b, "api", ok)
      yield* TestClock.adjust("100 millis") // past the first reads, made when the breakers were built
      yield* openBy(a, "api")
      yield* TestClock.adjust("250 millis")
      expect(yield* call(b, "api", ok)).toBe("Success") // not read yet: b reads every second
      yield* TestClock.adjust("650 millis")
      expect(yield* call(b, "api", ok)).toBe("CircuitOpen")
    }))

  it.effect("refuses a syncInterval, timeout or probeLease that is not a finite positive duration", () =>
    Effect.gen(function*() {
      for (const sync of [{ syncInterval: 0 }, { timeout: "-1 millis" }, { probeLease: Duration.infinity }] as const) {
        const exit = yield* Effect.exit(
          CircuitBreakerStore.makeRegistry(sync).pipe(Effect.provide(CircuitBreakerStore.layerMemory), Effect.scoped)
        )
        expect(Exit.isFailure(exit) && String(exit.cause)).toContain("RangeError")
      }
    }))

  it.scoped("make: a single shared breaker", () =>
    Effect.gen(function*() {
      const store = CircuitBreakerStore.makeMemory()
      const build = CircuitBreakerStore.make("api", {
        consecutiveFailures: 1,
        breakDuration: Schedule.spaced("5 seconds")
      })
        .pipe(Effect.provideService(CircuitBreakerStore.CircuitBreakerStore, store))
      const a = yield* build
      const b = yield* build
      yield* b.state
      yield* Effect.exit(b.run(ok))
      yield* Effect.exit(a.run(failing))
      yield* TestClock.adjust("250 millis")
      expect(tagOf(yield* Effect.exit(b.run(ok)))).toBe("CircuitOpen")
    }))

  it.scoped("a probe right after another one of this process finds that one's slot given back (one slot, 2 successes)", () =>
    Effect.gen(function*() {
      const store = CircuitBreakerStore.makeMemory()
      const breaker = yield* CircuitBreakerStore.make("api", {
        consecutiveFailures: 1,
        breakDuration: "5 seconds",
        successThreshold: 2
      }).pipe(Effect.provideService(CircuitBreakerStore.CircuitBreakerStore, store))
      yield* Effect.exit(breaker.run(failing))
      yield* TestClock.adjust("5 seconds")
      // the first probe's release is queued behind the writes; the second probe sends it before asking for a slot
      expect(tagOf(yield* Effect.exit(breaker.run(ok)))).toBe("Success")
      expect(yield* breaker.state).toBe("HalfOpen")
      expect(tagOf(yield* Effect.exit(breaker.run(ok)))).toBe("Success")
      expect(yield* breaker.state).toBe("Closed")
    }))

  it.scoped("a probe waits for the release of this process's previous probe still on its way to the store", () =>
    Effect.gen(function*() {
      const memory = CircuitBreakerStore.makeMemory()
      // a store whose releases take 50 ms to get there
      const store: CircuitBreakerStore.CircuitBreakerStore.Service = {
        ...memory,
        releaseProbe: (key, token) => Effect.zipRight(Effect.sleep("50 millis"), memory.releaseProbe(key, token))
      }
      const breaker = yield* CircuitBreakerStore.make("api", {
        consecutiveFailures: 1,
        breakDuration: "5 seconds",
        successThreshold: 2,
        timeout: "100 millis"
      }).pipe(Effect.provideService(CircuitBreakerStore.CircuitBreakerStore, store))
      yield* Effect.exit(breaker.run(failing))
      yield* TestClock.adjust("5 seconds")
      expect(tagOf(yield* Effect.exit(breaker.run(ok)))).toBe("Success")
      yield* Effect.repeatN(Effect.yieldNow(), 10) // the writer takes the release and sends it
      const second = yield* Effect.fork(Effect.exit(breaker.run(ok)))
      yield* TestClock.adjust("50 millis")
      expect(tagOf(yield* Fiber.join(second))).toBe("Success")
      expect(yield* breaker.state).toBe("Closed")
    }))

  it.scoped("state reports a transition of the fleet already read from the store, as the next call would see it", () =>
    Effect.gen(function*() {
      const store = CircuitBreakerStore.makeMemory()
      const build = CircuitBreakerStore.make("api", { consecutiveFailures: 1, breakDuration: "5 seconds" })
        .pipe(Effect.provideService(CircuitBreakerStore.CircuitBreakerStore, store))
      const a = yield* build
      const b = yield* build
      const changes = yield* b.subscribe
      const seen = yield* Effect.fork(Stream.runCollect(Stream.take(changes, 2)))
      yield* Effect.exit(b.run(ok)) // b uses the key
      yield* Effect.exit(a.run(failing))
      yield* TestClock.adjust("250 millis")
      // b has read a's opening: without a call of its own it reports Open, not Closed
      expect(yield* b.state).toBe("Open")
      expect((yield* b.snapshot).retryAfter).toEqual(Duration.millis(4_750))
      expect(tagOf(yield* Effect.exit(b.run(ok)))).toBe("CircuitOpen")
      // a's probe closes it; b reports Closed once it has read that
      yield* TestClock.adjust("4750 millis")
      expect(tagOf(yield* Effect.exit(a.run(ok)))).toBe("Success")
      yield* TestClock.adjust("250 millis")
      expect(yield* b.state).toBe("Closed")
      expect(Chunk.toReadonlyArray(yield* Fiber.join(seen)).map((c) => `${c.from}->${c.to}`)).toEqual([
        "Closed->Open",
        "Open->Closed"
      ])
    }))

  it.scoped("a record whose `at` is below -1 (a reader's Clock near 0, Redis re-basing it by its age) is shared", () =>
    Effect.gen(function*() {
      // Redis hands another process's record out on the reader's Clock, `at` = now − the age Redis measured: a
      // reader whose Clock reads 0 (a TestClock, a clock set near the epoch) gets a negative `at`
      const store = CircuitBreakerStore.makeMemory()
      const b = yield* CircuitBreakerStore.make("api", { consecutiveFailures: 1, breakDuration: "5 seconds" })
        .pipe(Effect.provideService(CircuitBreakerStore.CircuitBreakerStore, store))
      expect(yield* b.state).toBe("Closed") // b uses the key
      yield* store.publish("api", { state: "Open", at: -3, until: 4_997 })
      yield* TestClock.adjust("250 millis")
      expect(yield* b.state).toBe("Open")
      expect((yield* b.snapshot).retryAfter).toEqual(Duration.millis(4_747))
    }))

  it.scoped("a wall clock set back after an opening: the opener's probe closes it for good, and the others see it", () =>
    Effect.gen(function*() {
      const store = CircuitBreakerStore.makeMemory()
      // a's wall clock steps as NTP steps it; its timers (and b's clock) go on
      const { clock, step } = yield* wallClockStep
      const build = CircuitBreakerStore.makeRegistry(options).pipe(
        Effect.provideService(CircuitBreakerStore.CircuitBreakerStore, store)
      )
      const a = yield* Effect.withClock(build, clock)
      const b = yield* build
      const onA = <A, E>(self: Effect.Effect<A, E>) => Effect.withClock(self, clock)
      yield* call(b, "api", ok) // b uses the key
      yield* onA(openBy(a, "api")) // Open at 0, until 10 s
      yield* TestClock.adjust("250 millis")
      expect(yield* call(b, "api", ok)).toBe("CircuitOpen")
      // a's wall clock goes back 30 minutes: its next call sees the step, and its pause ends 10 s after the opening
      step(-30 * 60_000)
      expect(yield* onA(call(a, "api", ok))).toBe("CircuitOpen")
      yield* TestClock.adjust("10 seconds")
      // a's probe closes it: a `Closed` whose `at` is below its `Open`'s
      expect(yield* onA(call(a, "api", ok))).toBe("Success")
      yield* TestClock.adjust("250 millis")
      // a's poll reads its own Closed back (not its older Open), and b's reads the close
      expect(yield* onA(Effect.flatMap(a.get("api"), (breaker) => breaker.state))).toBe("Closed")
      expect(yield* Effect.flatMap(b.get("api"), (breaker) => breaker.state)).toBe("Closed")
      expect(yield* onA(call(a, "api", ok))).toBe("Success")
      expect(yield* call(b, "api", ok)).toBe("Success")
    }))

  it.effect("memory store: compare-and-set, an older record published after a newer one never replaces it", () =>
    Effect.gen(function*() {
      const store = CircuitBreakerStore.makeMemory()
      const newer = { state: "Closed", at: 500, until: 500, seq: 10_001 } as const
      yield* store.publish("api", newer)
      // a lower seq (an Open sent late, another process's or this one's), whatever its `at`
      yield* store.publish("api", { state: "Open", at: 10_000, until: 20_000, seq: 10_000 })
      expect(yield* store.read(["api"])).toEqual([newer])
      // equal seq: the later `at`
      yield* store.publish("api", { state: "Open", at: 400, until: 10_400, seq: 10_001 })
      expect(yield* store.read(["api"])).toEqual([newer])
      const tie = { state: "Open", at: 600, until: 10_600, seq: 10_001 } as const
      yield* store.publish("api", tie)
      expect(yield* store.read(["api"])).toEqual([tie])
      // a record without seq (a writer from before it) orders by `at`, against a record with one too
      yield* store.publish("api", { state: "Closed", at: 599, until: 599 })
      expect(yield* store.read(["api"])).toEqual([tie])
      const old = { state: "Closed", at: 700, until: 700 } as const
      yield* store.publish("api", old)
      expect(yield* store.read(["api"])).toEqual([old])
      yield* store.publish("api", { state: "Open", at: 650, until: 10_650 })
      expect(yield* store.read(["api"])).toEqual([old])
    }))

  describeWithRedis("CircuitBreakerStore on a real redis-server", () => {
    it.live("Redis: an open breaker in one process stops the others within syncInterval; one probe for the fleet", () =>
      Effect.gen(function*() {
        const redis = yield* startRedisServer
        const store = CircuitBreakerRedis.layerStore({ host: redis.host, port: redis.port, prefix: "test:" })
        const registries = yield* Effect.forEach(
          [1, 2, 3],
          () =>
            Effect.flatMap(Layer.build(store), (context) =>
              Effect.provide(
                CircuitBreakerStore.makeRegistry({
                  breaker: { consecutiveFailures: 3, breakDuration: Schedule.spaced("1 second") },
                  syncInterval: "100 millis"
                }),
                context
              ))
        )
        const [a, b, c] = registries as [CircuitBreaker.RegistryService, ...Array<CircuitBreaker.RegistryService>]
        yield* call(b, "api", ok)
        yield* call(c!, "api", ok)
        yield* openBy(a, "api")
        const opened = Date.now()
        // the others see Open within syncInterval + 2 × timeout
        const seen = yield* Effect.forEach([b, c!], (registry) =>
          call(registry, "api", ok).pipe(
            Effect.repeat({ until: (tag) => tag === "CircuitOpen", schedule: Schedule.spaced("10 millis") }),
            Effect.map(() => Date.now() - opened)
          ), { concurrency: "unbounded" })
        for (const delay of seen) expect(delay).toBeLessThanOrEqual(300)

        yield* Effect.sleep("1100 millis")
        // every process is half-open: exactly one probe goes out for the fleet
        const release = yield* Deferred.make<void>()
        let probes = 0
        const probe = Effect.suspend(() => {
          probes++
          return Effect.as(Deferred.await(release), "ok")
        })
        const results = yield* Effect.all(
          registries.map((registry) => Effect.fork(call(registry, "api", probe))),
          { concurrency: "unbounded" }
        )
        yield* Effect.sleep("100 millis")
        expect(probes).toBe(1)
        yield* Deferred.succeed(release, undefined)
        const tags = yield* Effect.forEach(results, Fiber.join)
        expect(tags.filter((tag) => tag === "Success")).toHaveLength(1)
        expect(tags.filter((tag) => tag === "CircuitOpen")).toHaveLength(2)
        // the probe closed the fleet's breaker
        yield* Effect.sleep("300 millis")
        for (const registry of registries) expect(yield* call(registry, "api", ok)).toBe("Success")
      }).pipe(Effect.scoped))

    it.live("Redis: a live process's probe past maxProbeDuration gives its fleet slot back long before its lease", () =>
      Effect.gen(function*() {
        const redis = yield* startRedisServer
        const store = CircuitBreakerRedis.layerStore({ host: redis.host, port: redis.port, prefix: "hung:" })
        const [a, b] = (yield* Effect.forEach([1, 2], () =>
          Effect.flatMap(Layer.build(store), (context) =>
            Effect.provide(
              CircuitBreakerStore.makeRegistry({
                breaker: { consecutiveFailures: 3, breakDuration: "500 millis", maxProbeDuration: "300 millis" },
                syncInterval: "50 millis",
                probeLease: "1 minute"
              }),
              context
            )))) as [CircuitBreaker.RegistryService, CircuitBreaker.RegistryService]
        yield* call(b, "api", ok)
        yield* openBy(a, "api")
        yield* Effect.sleep("600 millis")
        // a's probe hangs and holds the fleet's only slot (for a minute, by its lease)
        const hung = yield* Effect.fork(call(a, "api", Effect.never))
        yield* Effect.sleep("100 millis")
        expect(yield* call(b, "api", ok)).toBe("CircuitOpen")
        yield* Effect.sleep("250 millis")
        // past 300 ms: a's next call lets go of the hung probe, frees its slot in Redis and probes in its place
        expect(yield* call(a, "api", ok)).toBe("Success")
        yield* Effect.sleep("300 millis")
        expect(yield* call(b, "api", ok)).toBe("Success")
        yield* Fiber.interrupt(hung)
      }).pipe(Effect.scoped))
  })

  describe("a probe whose fleet slot comes after the breaker moved on (second review)", () => {
    // a store that holds the second probe-slot request until `gate` opens
    const slowSecondAcquire = (gate: Deferred.Deferred<void>) => {
      const memory = CircuitBreakerStore.makeMemory()
      let acquires = 0
      const store: CircuitBreakerStore.CircuitBreakerStore.Service = {
        ...memory,
        acquireProbe: (request) =>
          Effect.suspend(() =>
            ++acquires === 2
              ? Effect.zipRight(Deferred.await(gate), memory.acquireProbe(request))
              : memory.acquireProbe(request)
          )
      }
      return CircuitBreakerStore.make("api", {
        consecutiveFailures: 1,
        breakDuration: "10 seconds",
        halfOpenMaxProbes: 2,
        timeout: "1 hour"
      }).pipe(Effect.provideService(CircuitBreakerStore.CircuitBreakerStore, store))
    }

    for (const [outcome, state, expected] of [["fails", "Open", 0], ["succeeds", "Closed", 1]] as const) {
      it.scoped(`the other probe ${outcome}: the call is admitted afresh (${state}), and ${expected} reach the upstream`, () =>
        Effect.gen(function*() {
          const gate = yield* Deferred.make<void>()
          const breaker = yield* slowSecondAcquire(gate)
          yield* Effect.exit(breaker.run(failing))
          yield* TestClock.adjust("10 seconds")
          const firstDone = yield* Deferred.make<void>()
          const first = yield* Effect.fork(
            Effect.exit(breaker.run(Effect.zipRight(Deferred.await(firstDone), outcome === "fails" ? failing : ok)))
          )
          yield* Effect.yieldNow()
          let upstream = 0
          const second = yield* Effect.fork(Effect.exit(breaker.run(Effect.sync(() => upstream++))))
          yield* Effect.yieldNow()
          yield* Deferred.succeed(firstDone, undefined)
          yield* Fiber.join(first)
          expect(yield* breaker.state).toBe(state)
          yield* Deferred.succeed(gate, undefined)
          expect(tagOf(yield* Fiber.join(second))).toBe(state === "Open" ? "CircuitOpen" : "Success")
          expect(upstream).toBe(expected)
          expect((yield* breaker.snapshot).probesInFlight).toBe(0)
        }))
    }
  })
})
