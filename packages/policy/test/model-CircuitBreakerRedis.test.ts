// Model-based parity of `CircuitBreakerRedis` with the memory store and the plain breaker: the scripts of
// `model-CircuitBreaker.test.ts` (its model, `test/utils/breakerModel.ts`, and its commands: calls of every outcome,
// held calls finished or interrupted later, TestClock advances, reads, isolate and reset) run on a plain breaker, on a
// breaker sharing its state through a memory store and on one sharing it through a real redis-server, one process
// each; after every command all three must give the model's decision (admitted, or `CircuitOpen` with its
// `retryAfter`, reason and failures), snapshot and transitions. With one process the fleet's slot limit equals the
// local one, so this checks what the store adds to a call's path: a probe's fleet slot asked for (and given back
// before the next probe of the same process asks, as the `CircuitBreakerStore` docs promise for probes in turn), its
// own records read back and not taken for another process's. The store's `timeout` is long (1 hour) so that a
// TestClock advance never makes the store look down, which would let the local breaker decide alone and hide a
// difference. A second property races fibers of several processes on one Redis against a half-open key: the fleet
// admits min(fibers, halfOpenMaxProbes) probes, never more at once.
// The scripts include the model's clock steps back (`TestClock.setTime`, which holds the polls' timers back too: the
// fleet model steps one process's wall clock alone, with its timers going on).
// Left out: several processes in the scripts (their windows are their own; only transitions are shared, within
// `syncInterval`), store outages. Skipped when redis-server is not on the PATH, failed under CI=true
// (`describeWithRedis`).
import { expect, it } from "@effect/vitest"
import { CircuitBreaker } from "@sturdy/policy"
import * as CircuitBreakerRedis from "@sturdy/policy/CircuitBreakerRedis"
import * as CircuitBreakerStore from "@sturdy/policy/CircuitBreakerStore"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Layer from "effect/Layer"
import * as Runtime from "effect/Runtime"
import * as TestClock from "effect/TestClock"
import {
  commandsArb,
  type Config,
  configArb,
  defaultWeights,
  modelRun,
  optionsOf,
  raceHalfOpen,
  type Real,
  recordInto
} from "./utils/breakerModel.js"
import { describeWithRedis, type RedisServer, startRedisServer } from "./utils/redis.js"

type Store = CircuitBreakerStore.CircuitBreakerStore.Service

// one "process": its own connection (and writer id) on the shared server
const storeOn = (redis: RedisServer) =>
  Effect.flatMap(
    Layer.build(CircuitBreakerRedis.layerStore({ host: redis.host, port: redis.port, prefix: "model:" })),
    (context) => Effect.provide(CircuitBreakerStore.CircuitBreakerStore, context)
  )

// the store never looks down to a breaker under the TestClock (see the header); probes' leases are Redis's own
const sync = { syncInterval: "250 millis", timeout: "1 hour" } as const

let runs = 0

// the state once the poll's read from Redis (live I/O) has landed: turns of the scheduler, no sleep
// The record arrives by a real round trip to redis-server, so the wait is bounded in real time (an I/O guard: 10 s),
// not in turns of the scheduler, which a loaded machine can run through before the answer comes. No timer: it yields.
const untilState = (breaker: CircuitBreaker.CircuitBreaker, state: CircuitBreaker.State) =>
  Effect.gen(function*() {
    const giveUpAt = performance.now() + 10_000
    while (performance.now() < giveUpAt) {
      const now = yield* breaker.state
      if (now === state) return now
      yield* Effect.yieldNow()
    }
    return yield* breaker.state
  })

// A process's record once it is in Redis: its writer sends it by a live round trip, which a loaded machine may not
// have made by the time the TestClock reaches the others' next poll (they would read nothing, and poll again only
// when the clock moves on). Turns of the scheduler, bounded in real time as `untilState`.
const untilStored = (store: Store, key: string, state: "Open" | "Closed") =>
  Effect.gen(function*() {
    const giveUpAt = performance.now() + 10_000
    while (performance.now() < giveUpAt) {
      const [record] = yield* Effect.orDie(store.read([key]))
      if (record?.state === state) return
      yield* Effect.yieldNow()
    }
  })

const onStores = (redis: Store) => (config: Config) =>
  Effect.gen(function*() {
    // a key of its own per run: Redis keeps the records of the runs before
    const key = `model-${++runs}`
    const shared = (store: Store) =>
      CircuitBreakerStore.make(key, { ...optionsOf(config), ...sync }).pipe(
        Effect.provideService(CircuitBreakerStore.CircuitBreakerStore, store)
      )
    const plain = yield* CircuitBreaker.make(key, optionsOf(config))
    const memory = yield* shared(CircuitBreakerStore.makeMemory())
    const onRedis = yield* shared(redis)
    return [
      { name: "memory", breaker: plain, published: yield* recordInto(plain) },
      { name: "memory store", breaker: memory, published: yield* recordInto(memory) },
      { name: "redis store", breaker: onRedis, published: yield* recordInto(onRedis) }
    ] satisfies Array<Real>
  })

describeWithRedis("model CircuitBreakerRedis: the same decisions on the memory store and on Redis", () => {
  it.effect(
    "scripts of calls, held calls, time, reads, isolate and reset: Redis, memory and the model agree",
    () =>
      Effect.gen(function*() {
        const redis = yield* startRedisServer
        const store = yield* storeOn(redis)
        const runtime = yield* Effect.runtime<never>()
        yield* Effect.promise(() =>
          FastCheck.assert(
            FastCheck.asyncProperty(
              configArb,
              commandsArb(defaultWeights),
              (config, commands) => modelRun(runtime, config, commands, onStores(store))
            ),
            { seed: 20261210, numRuns: 25 }
          )
        )
      }).pipe(Effect.scoped),
    60_000
  )

  it.effect(
    "fibers of several processes racing a half-open key: min(fibers, halfOpenMaxProbes) probes",
    () =>
      Effect.gen(function*() {
        const redis = yield* startRedisServer
        const runtime = yield* Effect.runtime<never>()
        const property = FastCheck.asyncProperty(
          FastCheck.record({
            maxProbes: FastCheck.integer({ min: 1, max: 4 }),
            pause: FastCheck.integer({ min: 300, max: 2_000 }),
            processes: FastCheck.integer({ min: 1, max: 3 }),
            // how many turns of the scheduler each fiber yields before it calls: the interleaving
            fibers: FastCheck.array(FastCheck.nat(3), { minLength: 1, maxLength: 10 })
          }),
          (c) =>
            Effect.gen(function*() {
              const key = `race-${++runs}`
              const options = {
                consecutiveFailures: 1,
                halfOpenMaxProbes: c.maxProbes,
                breakDuration: Duration.millis(c.pause),
                ...sync
              }
              const breakers = yield* Effect.replicateEffect(
                Effect.flatMap(
                  storeOn(redis),
                  (store) =>
                    CircuitBreakerStore.make(key, options).pipe(
                      Effect.provideService(CircuitBreakerStore.CircuitBreakerStore, store)
                    )
                ),
                c.processes
              )
              // the first process opens; the others read its record within syncInterval. Redis shares the pause as a
              // duration its own (live) clock measures, so a reader's pause starts when it reads the record: each process
              // opens its own breaker would make them wait for each other's pauses on the TestClock
              for (const breaker of breakers) yield* breaker.state // the key is in use: the processes poll it
              yield* Effect.exit(CircuitBreaker.withBreaker(Effect.fail("down"), breakers[0]!))
              yield* untilStored(yield* storeOn(redis), key, "Open")
              yield* TestClock.adjust("250 millis")
              for (const breaker of breakers) expect(yield* untilState(breaker, "Open")).toBe("Open")
              yield* TestClock.adjust(Duration.millis(c.pause))
              for (const breaker of breakers) expect(yield* breaker.state).toBe("HalfOpen")
              const race = yield* raceHalfOpen(breakers, c.fibers, "success")
              expect(race.most).toBeLessThanOrEqual(c.maxProbes)
              expect(race.admitted).toBe(Math.min(c.fibers.length, c.maxProbes))
              for (const error of race.turnedAway) expect(CircuitBreaker.isCircuitOpen(error)).toBe(true)
              yield* race.release
            }).pipe(Effect.scoped, Runtime.runPromise(runtime))
        )
        yield* Effect.promise(() => FastCheck.assert(property, { seed: 20261211, numRuns: 30 }))
      }).pipe(Effect.scoped),
    60_000
  )
})
