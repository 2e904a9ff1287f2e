/**
 * Peer suite: danielfm/pybreaker's `CircuitRedisStorage` (and the cases about a breaker's `state_storage`) against
 * `CircuitBreakerStore.make` on `CircuitBreakerRedis.layerStore` (a real redis-server) or on the memory store.
 *
 * Source: github.com/danielfm/pybreaker, `tests/pybreaker_test.py`, commit 3c436f208f5ed012532e2ece55cf3d571f4c3a66:
 * CircuitBreakerRedisTestCase (its own cases and the CircuitBreakerStorageBasedTestCase cases it runs on Redis),
 * CircuitBreakerRedisConcurrencyTestCase, test_success_threshold_redis_storage, and from CircuitBreakerTestCase /
 * CircuitBreakerConfigurationTestCase the cases on the state storage (test_default_state, test_notify_*,
 * test_failure_count_not_reset_during_creation, test_state_opened_at_not_reset_during_creation). The in-memory cases
 * are in peer-pybreaker-CircuitBreaker.test.ts.
 *
 * Mapping. `CircuitBreaker(state_storage=CircuitRedisStorage(state, redis, namespace))` is
 * `CircuitBreakerStore.make(name, options)` with `CircuitBreakerRedis.layerStore({ prefix: namespace })` in context;
 * pybreaker's fakeredis, shared by threads standing for machines, is a real redis-server, and each "process" has its
 * own connection and breaker. `state_storage=CircuitMemoryStorage(state)` with a state in it is a record published to
 * `CircuitBreakerStore.makeMemory()` before the breaker is made. The other options map as in the memory file
 * (`fail_max` is `consecutiveFailures`, `reset_timeout` `breakDuration`, shortened to 200 ms and waited out for
 * real, since the pause on Redis is measured by Redis's clock; `close()` is `reset`; a listener is `subscribe`).
 *
 * Deliberate differences (each test says which):
 * - pybreaker keeps the whole state in Redis: the state, `fail_counter`, `success_counter`, `opened_at`, written by
 *   every call. Sturdy shares transitions only (`Open until T`, `Closed`) and the half-open probe slots; each process
 *   counts its own calls (documented in `CircuitBreakerStore`), and nothing is written until a transition.
 * - a breaker reads the shared state of a key once it uses it (a call or a state read) and within `syncInterval`
 *   (20 ms here), where pybreaker reads Redis on every access; it publishes the transition it reads on `changes`.
 * - when Redis fails, pybreaker falls back to `fallback_circuit_state` (e.g. "open"); Sturdy's breakers go on alone
 *   on their local state (fail-open to local, documented), and a missing record changes nothing local.
 * - `close()` writes the shared state in pybreaker; Sturdy's `reset` stays local (documented).
 * - the tripping call and a failed probe answer their own failure (pybreaker: `CircuitBreakerError`), as in the
 *   memory file.
 *
 * Not ported: test_cluster_mode (Redis Cluster: Sturdy's docs say to give the layer a single node or a proxy), and the
 * storage-based cases whose Redis run adds nothing shared to their memory run (test_successful_call aside, kept to
 * show that nothing is written): test_one_successful_call_after_failed_call, test_throw_new_error_on_trip_*,
 * test_traceback_in_circuitbreaker_error, test_call_events, test_generator, test_contextmanager.
 * CircuitBreakerRedisConcurrencyTestCase.test_half_open_thread_safety builds an in-memory breaker in the peer (it
 * replaces `self.breaker` without the storage); it is ported as its intent, five processes on one Redis after the
 * pause, with one probe for the fleet.
 */
import { describe, expect, it } from "@effect/vitest"
import { CircuitBreaker } from "@sturdy/policy"
import * as CircuitBreakerRedis from "@sturdy/policy/CircuitBreakerRedis"
import * as CircuitBreakerStore from "@sturdy/policy/CircuitBreakerStore"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import { Redis } from "ioredis"
import { eventually } from "./utils/goBreaker.js"
import {
  call,
  err,
  failCounter,
  failureOf,
  listen,
  NotImplementedError,
  openWith,
  pybreakerOptions,
  raisesOpen,
  raisesOwn,
  suc
} from "./utils/pybreaker.js"
import { describeWithRedis, freePort, type RedisServer, startRedisServer } from "./utils/redis.js"

type Service = CircuitBreakerStore.CircuitBreakerStore.Service

const syncInterval = "20 millis"
const resetTimeout = "200 millis"
const waitReset = Effect.sleep("250 millis")

// one "process": its own connection to the shared server
const storeOn = (server: RedisServer, options?: { readonly prefix?: string; readonly connectTimeout?: number }) =>
  Effect.flatMap(
    Layer.build(
      CircuitBreakerRedis.layerStore({ host: server.host, port: server.port, prefix: "pybreaker:", ...options })
    ),
    (context) => Effect.provide(CircuitBreakerStore.CircuitBreakerStore, context)
  )

// `CircuitBreaker(state_storage=..., **kwargs)` on that process's store
const breakerOn = (store: Service, name: string, options?: CircuitBreaker.Options) =>
  CircuitBreakerStore.make(name, { ...pybreakerOptions(options), syncInterval, timeout: "500 millis" }).pipe(
    Effect.provideService(CircuitBreakerStore.CircuitBreakerStore, store)
  )

// two processes on one server, each with its own breaker for `name` (the second reads the key: it follows it)
const twoProcesses = (name: string, options?: CircuitBreaker.Options) =>
  Effect.gen(function*() {
    const server = yield* startRedisServer
    const breaker = yield* breakerOn(yield* storeOn(server), name, options)
    const other = yield* breakerOn(yield* storeOn(server), name, options)
    expect(yield* other.state).toBe("Closed")
    return { server, breaker, other }
  })

const keysOf = (server: RedisServer) =>
  Effect.acquireUseRelease(
    Effect.sync(() => new Redis({ host: server.host, port: server.port })),
    (client) => Effect.promise(() => client.keys("*")),
    (client) => Effect.sync(() => client.disconnect())
  )

const flushAll = (server: RedisServer) =>
  Effect.acquireUseRelease(
    Effect.sync(() => new Redis({ host: server.host, port: server.port })),
    (client) => Effect.promise(() => client.flushall()),
    (client) => Effect.sync(() => client.disconnect())
  )

describeWithRedis("peer pybreaker CircuitBreakerRedisTestCase", () => {
  it.live("test_successful_call", () =>
    Effect.gen(function*() {
      const { breaker, server } = yield* twoProcesses("successful")
      expect(yield* call(breaker, suc)).toEqual(Either.right(true))
      expect(yield* failCounter(breaker)).toBe(0)
      expect(yield* breaker.state).toBe("Closed")
      // pybreaker writes its counters on every call; Sturdy writes only transitions
      expect(yield* keysOf(server)).toEqual([])
    }).pipe(Effect.scoped))

  it.live("test_one_failed_call", () =>
    Effect.gen(function*() {
      const { breaker, other } = yield* twoProcesses("one_failed")
      raisesOwn(yield* call(breaker, err))
      expect(yield* failCounter(breaker)).toBe(1)
      expect(yield* breaker.state).toBe("Closed")
      // the fail_counter is this process's (pybreaker's is in Redis, shared)
      expect(yield* failCounter(other)).toBe(0)
    }).pipe(Effect.scoped))

  it.live("test_several_failed_calls_setting_absent", () =>
    Effect.gen(function*() {
      const { breaker, other } = yield* twoProcesses("several", { consecutiveFailures: 3 })
      raisesOwn(yield* call(breaker, err))
      raisesOwn(yield* call(breaker, err))
      // Circuit should open (pybreaker: CircuitBreakerError from this call)
      raisesOwn(yield* call(breaker, err))
      expect(raisesOpen(yield* call(breaker, err)).failures).toBe(3)
      expect(yield* breaker.state).toBe("Open")
      // ... for the other process too, once it has read the transition
      expect(yield* eventually(other, "Open")).toBe("Open")
      let ran = 0
      raisesOpen(yield* call(other, Effect.sync(() => ran++)))
      expect(ran).toBe(0)
    }).pipe(Effect.scoped))

  it.live("test_failed_call_after_timeout", () =>
    Effect.gen(function*() {
      const { breaker, other } = yield* twoProcesses("after_timeout", {
        consecutiveFailures: 3,
        breakDuration: resetTimeout
      })
      yield* openWith(breaker, 3)
      expect(yield* eventually(other, "Open")).toBe("Open")

      // Wait for timeout
      yield* waitReset
      expect(yield* breaker.state).toBe("HalfOpen")

      // Circuit should open again, in both processes
      raisesOwn(yield* call(breaker, err))
      expect(yield* breaker.state).toBe("Open")
      expect(raisesOpen(yield* call(breaker, err)).reason).toBe("ProbeFailed")
      // the other process, half-open by its own clock, reads the new opening within syncInterval (before that it
      // could probe: the documented delay) and turns calls away
      expect(yield* eventually(other, "Open")).toBe("Open")
      let ran = 0
      raisesOpen(yield* call(other, Effect.suspend(() => (ran++, err))))
      expect(ran).toBe(0)
    }).pipe(Effect.scoped))

  it.live("test_successful_after_timeout", () =>
    Effect.gen(function*() {
      const { breaker, other } = yield* twoProcesses("successful_after_timeout", {
        consecutiveFailures: 3,
        breakDuration: resetTimeout
      })
      let sucCalls = 0
      const counted = Effect.sync(() => (sucCalls++, true))
      yield* openWith(breaker, 3)
      raisesOpen(yield* call(breaker, counted))
      expect(yield* eventually(other, "Open")).toBe("Open")

      yield* waitReset

      // Circuit should close again, the successful function called once; the other process closes too
      expect(yield* call(breaker, counted)).toEqual(Either.right(true))
      expect(yield* failCounter(breaker)).toBe(0)
      expect(yield* breaker.state).toBe("Closed")
      expect(sucCalls).toBe(1)
      expect(yield* eventually(other, "Closed")).toBe("Closed")
    }).pipe(Effect.scoped))

  it.live("test_failed_call_when_halfopen", () =>
    Effect.gen(function*() {
      // no half_open(): five failures and the pause
      const { breaker, other } = yield* twoProcesses("halfopen_failed", { breakDuration: resetTimeout })
      yield* openWith(breaker, 5)
      yield* waitReset
      expect(yield* breaker.state).toBe("HalfOpen")

      raisesOwn(yield* call(breaker, err))
      expect(yield* breaker.state).toBe("Open")
      const open = raisesOpen(yield* call(breaker, err))
      expect([open.reason, open.failures]).toEqual(["ProbeFailed", 1])
      // the other process is open again too: a probe there is refused
      expect(yield* eventually(other, "Open")).toBe("Open")
    }).pipe(Effect.scoped))

  it.live("test_successful_call_when_halfopen", () =>
    Effect.gen(function*() {
      const { breaker, other } = yield* twoProcesses("halfopen_successful", { breakDuration: resetTimeout })
      yield* openWith(breaker, 5)
      expect(yield* eventually(other, "Open")).toBe("Open")
      yield* waitReset
      expect(yield* breaker.state).toBe("HalfOpen")

      expect(yield* call(breaker, suc)).toEqual(Either.right(true))
      expect(yield* failCounter(breaker)).toBe(0)
      expect(yield* breaker.state).toBe("Closed")
      expect(yield* eventually(other, "Closed")).toBe("Closed")
    }).pipe(Effect.scoped))

  it.live("test_close", () =>
    Effect.gen(function*() {
      const { breaker, other } = yield* twoProcesses("close", { consecutiveFailures: 3 })
      yield* openWith(breaker, 3)
      raisesOpen(yield* call(breaker, err))
      expect(yield* eventually(other, "Open")).toBe("Open")

      // Circuit should close again
      yield* breaker.reset
      expect(yield* failCounter(breaker)).toBe(0)
      expect(yield* breaker.state).toBe("Closed")
      expect(yield* call(breaker, suc)).toEqual(Either.right(true))
      // pybreaker's close() writes the shared state; Sturdy's reset is local (documented): the other process waits
      // out its pause
      yield* Effect.sleep("60 millis")
      expect(yield* other.state).toBe("Open")
    }).pipe(Effect.scoped))

  it.live("test_transition_events", () =>
    Effect.gen(function*() {
      const { breaker, other } = yield* twoProcesses("transitions", { breakDuration: resetTimeout })
      const out = yield* listen(breaker)
      const otherOut = yield* listen(other)

      yield* openWith(breaker, 5)
      expect(yield* eventually(other, "Open")).toBe("Open")
      yield* waitReset
      expect(yield* breaker.state).toBe("HalfOpen")
      expect(yield* call(breaker, suc)).toEqual(Either.right(true))
      expect(yield* breaker.state).toBe("Closed")
      expect(yield* eventually(other, "Closed")).toBe("Closed")

      expect(yield* out).toBe("Closed->Open,Open->HalfOpen,HalfOpen->Closed,")
      // the other process makes the transitions it reads (it never probed: from Open straight to Closed)
      expect(yield* otherOut).toBe("Closed->Open,Open->Closed,")
    }).pipe(Effect.scoped))

  it.live("test_namespace", () =>
    Effect.gen(function*() {
      const server = yield* startRedisServer
      const breaker = yield* breakerOn(yield* storeOn(server, { prefix: "my_app:" }), "namespace", {
        consecutiveFailures: 1
      })
      const elsewhere = yield* breakerOn(yield* storeOn(server, { prefix: "other_app:" }), "namespace", {
        consecutiveFailures: 1
      })
      expect(yield* elsewhere.state).toBe("Closed")

      raisesOwn(yield* call(breaker, err))
      yield* Effect.sleep("60 millis")
      // pybreaker writes fail_counter, success_counter and state; Sturdy the state of the transition (its probe
      // slots come with the first probe), every key under the namespace
      const keys = yield* keysOf(server)
      expect(keys.length).toBeGreaterThan(0)
      expect(keys.every((k) => k.startsWith("my_app:"))).toBe(true)
      // a breaker of another namespace shares nothing with it
      expect(yield* elsewhere.state).toBe("Closed")
    }).pipe(Effect.scoped))

  it.live("test_fallback_state", () =>
    Effect.gen(function*() {
      // Redis fails: nothing listens on the port. pybreaker answers fallback_circuit_state ("open"); Sturdy's breaker
      // goes on alone on its local state (fail-open to local), so calls go through and its own failures still count
      const port = yield* freePort
      const store = yield* storeOn({ host: "127.0.0.1", port }, { connectTimeout: 200 })
      const breaker = yield* breakerOn(store, "fallback", { consecutiveFailures: 2 })
      expect(yield* breaker.state).toBe("Closed")
      expect(yield* call(breaker, suc)).toEqual(Either.right(true))
      raisesOwn(yield* call(breaker, err))
      raisesOwn(yield* call(breaker, err))
      expect(yield* breaker.state).toBe("Open")
    }).pipe(Effect.scoped, Logger.withMinimumLogLevel(LogLevel.None)))

  it.live("test_missing_state", () =>
    Effect.gen(function*() {
      const { breaker, other, server } = yield* twoProcesses("missing", { consecutiveFailures: 1 })
      raisesOwn(yield* call(breaker, err))
      expect(yield* eventually(other, "Open")).toBe("Open")

      // the state disappears from Redis: pybreaker falls back to fallback_circuit_state and resets fail_counter;
      // Sturdy's breakers keep their local state (Open until the end of the pause), in both processes
      yield* flushAll(server)
      yield* Effect.sleep("60 millis")
      expect(yield* breaker.state).toBe("Open")
      expect(yield* other.state).toBe("Open")
      raisesOpen(yield* call(other, suc))
    }).pipe(Effect.scoped))

  it.live("test_success_threshold_redis_storage", () =>
    Effect.gen(function*() {
      const { breaker, other } = yield* twoProcesses("success_threshold", {
        consecutiveFailures: 3,
        breakDuration: resetTimeout,
        successThreshold: 2
      })
      // Open the circuit (pybreaker: CircuitBreakerError from the third call)
      yield* openWith(breaker, 3)
      expect(yield* eventually(other, "Open")).toBe("Open")
      yield* waitReset

      // First successful call should not close the circuit
      expect(yield* call(breaker, suc)).toEqual(Either.right(true))
      expect(yield* breaker.state).toBe("HalfOpen")
      // Second successful call should close the circuit, for the other process too
      expect(yield* call(breaker, suc)).toEqual(Either.right(true))
      expect(yield* breaker.state).toBe("Closed")
      expect(yield* eventually(other, "Closed")).toBe("Closed")
    }).pipe(Effect.scoped))
})

describeWithRedis("peer pybreaker CircuitBreakerRedisConcurrencyTestCase", () => {
  // three fibers calling `body` `n` times each through one breaker, interleaved at every call
  const threads = <A, E>(breaker: CircuitBreaker.CircuitBreaker, body: Effect.Effect<A, E>, n: number) =>
    Effect.all(
      Array.from({ length: 3 }, () =>
        Effect.forEach(Array.from({ length: n }), () => call(breaker, Effect.zipRight(Effect.yieldNow(), body)))),
      { concurrency: "unbounded", discard: true }
    )
  const setUp = Effect.gen(function*() {
    const store = yield* storeOn(yield* startRedisServer)
    const breaker = yield* breakerOn(store, "concurrency", { consecutiveFailures: 3000, breakDuration: "1 second" })
    return { breaker }
  })

  it.live("test_fail_thread_safety", () =>
    Effect.gen(function*() {
      const { breaker } = yield* setUp
      yield* threads(breaker, err, 500)
      expect(yield* failCounter(breaker)).toBe(1500)
    }).pipe(Effect.scoped))

  it.live("test_success_thread_safety", () =>
    Effect.gen(function*() {
      const { breaker } = yield* setUp
      let successes = 0
      yield* threads(breaker, Effect.sync(() => (successes++, true)), 500)
      expect(successes).toBe(1500)
      expect(yield* breaker.snapshot).toMatchObject({ state: "Closed", calls: 1500, failures: 0 })
    }).pipe(Effect.scoped))

  it.live("test_half_open_thread_safety", () =>
    Effect.gen(function*() {
      // five processes (the peer's threads stand for machines) share a breaker that one of them opened
      const server = yield* startRedisServer
      const options = { consecutiveFailures: 1, breakDuration: "500 millis" } as const
      const breakers = []
      for (let i = 0; i < 5; i++) breakers.push(yield* breakerOn(yield* storeOn(server), "half_open", options))
      raisesOwn(yield* call(breakers[0], err))
      for (const breaker of breakers) expect(yield* eventually(breaker, "Open")).toBe("Open")
      const listeners = yield* Effect.forEach(breakers, listen)
      yield* Effect.sleep("550 millis")

      // every process fails a call that takes a moment (the peer's before_call sleep), at once
      let ran = 0
      const slowErr = Effect.zipRight(Effect.sleep("20 millis"), Effect.suspend(() => (ran++, err)))
      const fibers = yield* Effect.forEach(breakers, (breaker) => Effect.fork(call(breaker, slowErr)))
      const outcomes = yield* Effect.forEach(fibers, Fiber.join)

      // one trial call for the fleet; the others are refused
      expect(ran).toBe(1)
      expect(outcomes.filter((o) => failureOf(o) instanceof NotImplementedError).length).toBe(1)
      expect(outcomes.filter((o) => CircuitBreaker.isCircuitOpen(failureOf(o))).length).toBe(4)
      // each process's breaker went half-open once (each is its own breaker: the pause ended for all of them; those
      // that found the fleet's slot taken answered CircuitOpen)
      for (const out of listeners) {
        expect((yield* out).split(",").filter((t) => t === "Open->HalfOpen").length).toBe(1)
      }
    }).pipe(Effect.scoped))

  it.live("test_fail_max_thread_safety", () =>
    Effect.gen(function*() {
      const { breaker } = yield* setUp
      let ran = 0
      yield* threads(breaker, Effect.suspend(() => (ran++, err)), 2000)
      // the breaker opened on fail_max failures; the calls already admitted by the other two threads still ran
      // (pybreaker's bound on Redis: fewer than fail_max + num_threads)
      const open = raisesOpen(yield* call(breaker, err))
      expect([open.reason, open.failures]).toEqual(["ConsecutiveFailures", 3000])
      expect(ran).toBeGreaterThanOrEqual(3000)
      expect(ran).toBeLessThan(3000 + 3)
    }).pipe(Effect.scoped))
})

describe("peer pybreaker CircuitBreakerTestCase: state storage (memory store)", () => {
  const now = Clock.currentTimeMillis

  // `CircuitMemoryStorage(state)`: a memory store holding a record for the key that means `state` now
  const storageWith = (state: "open" | "closed" | "half-open") =>
    Effect.gen(function*() {
      const store = CircuitBreakerStore.makeMemory()
      const t = yield* now
      const record = state === "closed"
        ? { state: "Closed" as const, at: t, until: t }
        : state === "open"
        ? { state: "Open" as const, at: t, until: t + 60_000 }
        // half-open: open, its pause over
        : { state: "Open" as const, at: t - 60_000, until: t }
      yield* store.publish("storage", record)
      return { store, record }
    })

  const expected = { open: "Open", closed: "Closed", "half-open": "HalfOpen" } as const

  it.live("test_default_state", () =>
    Effect.gen(function*() {
      for (const state of ["open", "closed", "half-open"] as const) {
        const { store } = yield* storageWith(state)
        const breaker = yield* breakerOn(store, "storage")
        // pybreaker reads the state when the breaker is made; Sturdy once the key is used, within syncInterval
        expect(yield* eventually(breaker, expected[state])).toBe(expected[state])
      }
    }).pipe(Effect.scoped))

  it.live("test_notify_not_called_on_init", () =>
    Effect.gen(function*() {
      // pybreaker does not notify the state read from the storage when the breaker is made; Sturdy's breaker makes
      // the transition it reads, and publishes it (documented: "the breaker makes it then, with its changes event")
      const { store } = yield* storageWith("open")
      const breaker = yield* breakerOn(store, "storage")
      const out = yield* listen(breaker)
      expect(yield* eventually(breaker, "Open")).toBe("Open")
      expect(yield* out).toBe("Closed->Open,")
    }).pipe(Effect.scoped))

  it.live("test_notify_called_on_state_change", () =>
    Effect.gen(function*() {
      const { store } = yield* storageWith("closed")
      const breaker = yield* breakerOn(store, "storage", { consecutiveFailures: 1 })
      const out = yield* listen(breaker)
      raisesOwn(yield* call(breaker, err))
      expect(yield* out).toBe("Closed->Open,")
    }).pipe(Effect.scoped))

  it.live("test_failure_count_not_reset_during_creation", () =>
    Effect.gen(function*() {
      // pybreaker's fail_counter lives in the storage; Sturdy's in each breaker: a breaker made later on the same
      // store and key neither resets nor shares it
      for (const state of ["closed"] as const) {
        const { store } = yield* storageWith(state)
        const first = yield* breakerOn(store, "storage")
        raisesOwn(yield* call(first, err))
        const second = yield* breakerOn(store, "storage")
        expect(yield* second.state).toBe("Closed")
        expect(yield* failCounter(first)).toBe(1)
        expect(yield* failCounter(second)).toBe(0)
      }
    }).pipe(Effect.scoped))

  it.live("test_state_opened_at_not_reset_during_creation", () =>
    Effect.gen(function*() {
      for (const state of ["open", "closed", "half-open"] as const) {
        const { record, store } = yield* storageWith(state)
        const breaker = yield* breakerOn(store, "storage")
        expect(yield* eventually(breaker, expected[state])).toBe(expected[state])
        // making the breaker and reading its state leave the shared record as it was
        expect(yield* store.read(["storage"])).toEqual([record])
      }
    }).pipe(Effect.scoped))
})
