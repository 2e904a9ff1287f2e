/**
 * Peer suite: sony/gobreaker v2's `DistributedCircuitBreaker` against `CircuitBreakerStore.make` on
 * `CircuitBreakerRedis.layerStore` (a real redis-server).
 *
 * Source: github.com/sony/gobreaker, `v2/distributed_gobreaker_test.go`, commit
 * fed8e9eb35f9cd3e5c2a67842c924346c3e1fbdd.
 *
 * Mapping. `NewDistributedCircuitBreaker(store, Settings{ Name, MaxRequests, Timeout, ReadyToTrip })` is
 * `CircuitBreakerStore.make(Name, { halfOpenMaxProbes: MaxRequests, successThreshold: MaxRequests, breakDuration:
 * Timeout, consecutiveFailures })` with the Redis store in context (`ReadyToTrip: ConsecutiveFailures > 5` is
 * `consecutiveFailures: 6`; a failure ratio is `failureRateThreshold` over `minimumThroughput`). `Execute` is
 * `withBreaker`, `State()` is `breaker.state`, `ErrOpenState` is `CircuitOpen`, `OnStateChange` is `subscribe`
 * (the `recordChanges` helper). The peer's store is a mock in memory; here each case also builds a second
 * "process" (its own connection to the same Redis) where Sturdy shares something, to check what reached it.
 *
 * Deliberate differences:
 * - gobreaker shares the whole state, counts included, through the store; Sturdy shares transitions only, and
 *   each process counts its own calls (documented in `CircuitBreakerStore`): `getSharedState().Counts` is read as
 *   the calling process's `snapshot`, and the other process's snapshot stays empty;
 * - `Timeout` is shortened to 200 ms and waited out for real (the peer's `dcbPseudoSleep` rewrites the shared
 *   expiry instead): the other process sees the pause as a duration measured by Redis's clock;
 * - the peer's `State()` reads the shared state at once; the second process (which follows the key once it has
 *   called it) reports a shared transition after its next poll (`syncInterval` 20 ms), so its state is polled;
 * - `OnStateChange(Open, HalfOpen)` fires in gobreaker when `State()` finds the timeout passed; Sturdy has no timers
 *   and publishes it with the first call after the pause (documented on `changes`), though `state` reports HalfOpen.
 *
 * Not ported: `Interval` (gobreaker clears the counts of a closed breaker every `Interval`; Sturdy's windows roll
 * and its consecutive-failure count has no period), so the `dcbPseudoSleep(interval)` step of
 * `TestCustomDistributedCircuitBreaker` and the `Counts{}` after opening are not asserted as such;
 * `TestDistributedCircuitBreakerTimeSynchronization` and `...BucketIndexingConsistency` (shared rolling-window
 * buckets indexed by a shared start time: Sturdy shares no window data). The `Name()`/settings getters of the
 * initialization case have no public equivalent beyond `snapshot.key`.
 */
import { expect, it } from "@effect/vitest"
import * as CircuitBreaker from "@sturdy/policy/CircuitBreaker"
import * as CircuitBreakerRedis from "@sturdy/policy/CircuitBreakerRedis"
import * as CircuitBreakerStore from "@sturdy/policy/CircuitBreakerStore"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { counts, eventually, fail, recordChanges, rejectionOf, succeed } from "./utils/goBreaker.js"
import { describeWithRedis, type RedisServer, startRedisServer } from "./utils/redis.js"

const syncInterval = "20 millis"

// one "process": its own connection to the shared server, and its own breaker for `name`
const processOn = (server: RedisServer, name: string, options: CircuitBreaker.Options) =>
  Layer.build(CircuitBreakerRedis.layerStore({ host: server.host, port: server.port, prefix: "gobreaker:" })).pipe(
    Effect.flatMap((context) =>
      Effect.provide(CircuitBreakerStore.make(name, { ...options, syncInterval, timeout: "500 millis" }), context)
    )
  )

// the second process, which follows the key once it has called it ("the keys it used", CircuitBreakerStore's docs)
const otherProcessOn = (server: RedisServer, name: string, options: CircuitBreaker.Options) =>
  Effect.tap(processOn(server, name, options), (breaker) => succeed(breaker))

// the peer's setUpDCB: MaxRequests 3, Timeout 2 s (here 200 ms), ReadyToTrip ConsecutiveFailures > 5
const setUp: CircuitBreaker.Options = {
  halfOpenMaxProbes: 3,
  successThreshold: 3,
  breakDuration: "200 millis",
  consecutiveFailures: 6
}

describeWithRedis("peer gobreaker: DistributedCircuitBreaker", () => {
  it.live("TestDistributedCircuitBreakerInitialization", () =>
    Effect.gen(function*() {
      const server = yield* startRedisServer
      const dcb = yield* processOn(server, "TestBreaker", setUp)
      expect((yield* dcb.snapshot).key).toBe("TestBreaker")
      expect(yield* dcb.state).toBe("Closed")
    }).pipe(Effect.scoped))

  it.live("TestDistributedCircuitBreakerStateTransitions", () =>
    Effect.gen(function*() {
      const server = yield* startRedisServer
      const dcb = yield* processOn(server, "TestBreaker", setUp)
      const other = yield* otherProcessOn(server, "TestBreaker", setUp)
      expect(yield* dcb.state).toBe("Closed")

      // StateClosed to StateOpen
      for (let i = 0; i < 6; i++) expect(yield* fail(dcb)).toBeUndefined()
      expect(yield* dcb.state).toBe("Open")
      // the other process reads the transition from Redis
      expect(yield* eventually(other, "Open")).toBe("Open")

      // requests fail when the circuit is open, in both processes
      expect((yield* fail(dcb))?._tag).toBe("CircuitOpen")
      expect((yield* succeed(other))?._tag).toBe("CircuitOpen")

      // wait for the timeout so that the state moves to half-open
      yield* Effect.sleep("220 millis")
      expect(yield* dcb.state).toBe("HalfOpen")

      // StateHalfOpen to StateClosed: MaxRequests successes
      for (let i = 0; i < 3; i++) expect(yield* succeed(dcb)).toBeUndefined()
      expect(yield* dcb.state).toBe("Closed")
      expect(yield* eventually(other, "Closed")).toBe("Closed")

      // StateClosed to StateOpen (again)
      for (let i = 0; i < 6; i++) expect(yield* fail(dcb)).toBeUndefined()
      expect(yield* dcb.state).toBe("Open")
    }).pipe(Effect.scoped))

  it.live("TestDistributedCircuitBreakerExecution", () =>
    Effect.gen(function*() {
      const server = yield* startRedisServer
      const dcb = yield* processOn(server, "TestBreaker", setUp)
      const result = yield* Effect.succeed("success").pipe(CircuitBreaker.withBreaker(dcb))
      expect(result).toBe("success")
      const error = yield* Effect.flip(Effect.fail(new Error("test error")).pipe(CircuitBreaker.withBreaker(dcb)))
      expect(error).toBeInstanceOf(Error)
      expect((error as Error).message).toBe("test error")
    }).pipe(Effect.scoped))

  it.live("TestDistributedCircuitBreakerCounts", () =>
    Effect.gen(function*() {
      const server = yield* startRedisServer
      const dcb = yield* processOn(server, "TestBreaker", setUp)
      const other = yield* processOn(server, "TestBreaker", setUp)
      for (let i = 0; i < 5; i++) expect(yield* succeed(dcb)).toBeUndefined()
      expect(yield* counts(dcb)).toEqual({ calls: 5, failures: 0, consecutiveFailures: 0 })

      expect(yield* fail(dcb)).toBeUndefined()
      expect(yield* counts(dcb)).toEqual({ calls: 6, failures: 1, consecutiveFailures: 1 })
      // gobreaker keeps these counts in the shared store; Sturdy counts per process
      expect(yield* counts(other)).toEqual({ calls: 0, failures: 0, consecutiveFailures: 0 })
    }).pipe(Effect.scoped))

  it.live("TestCustomDistributedCircuitBreaker", () =>
    Effect.gen(function*() {
      const server = yield* startRedisServer
      // ReadyToTrip: Requests >= 3 && failure ratio >= 0.6; Interval 30 s is the time window; Timeout 90 s -> 200 ms
      const custom = {
        halfOpenMaxProbes: 3,
        successThreshold: 3,
        breakDuration: "200 millis",
        failureRateThreshold: 0.6,
        minimumThroughput: 3,
        slidingWindow: "30 seconds"
      } as const
      const dcb = yield* processOn(server, "CustomBreaker", custom)
      const other = yield* otherProcessOn(server, "CustomBreaker", custom)

      // Initialization
      expect((yield* dcb.snapshot).key).toBe("CustomBreaker")
      expect(yield* dcb.state).toBe("Closed")

      // Counts and State Transitions: 5 successful and 5 failed requests, a ratio of 0.5
      for (let i = 0; i < 5; i++) {
        expect(yield* succeed(dcb)).toBeUndefined()
        expect(yield* fail(dcb)).toBeUndefined()
      }
      expect(yield* dcb.state).toBe("Closed")
      expect(yield* counts(dcb)).toEqual({ calls: 10, failures: 5, consecutiveFailures: 1 })
      expect(yield* succeed(dcb)).toBeUndefined()
      expect(yield* counts(dcb)).toEqual({ calls: 11, failures: 5, consecutiveFailures: 0 })

      // the peer clears the counts (Interval) and opens on 1 success + 2 failures (2/3 >= 0.6). Sturdy's window
      // still holds the 11 calls: the 4th failure more opens it (5 + 4 failures of 15 calls = 0.6)
      let failed = 0
      while ((yield* dcb.state) === "Closed" && failed < 20) {
        expect(yield* fail(dcb)).toBeUndefined()
        failed++
      }
      expect(failed).toBe(4)
      expect(yield* dcb.state).toBe("Open")
      // the window is emptied when the breaker opens, as the peer's Counts{}
      expect(yield* counts(dcb)).toEqual({ calls: 0, failures: 0, consecutiveFailures: 0 })
      expect(yield* eventually(other, "Open")).toBe("Open")

      // Timeout and Half-Open State
      yield* Effect.sleep("220 millis")
      expect(yield* dcb.state).toBe("HalfOpen")
      for (let i = 0; i < 3; i++) expect(yield* succeed(dcb)).toBeUndefined()
      expect(yield* dcb.state).toBe("Closed")
      expect(yield* eventually(other, "Closed")).toBe("Closed")
    }).pipe(Effect.scoped))

  it.live("TestCustomDistributedCircuitBreakerStateTransitions", () =>
    Effect.gen(function*() {
      const server = yield* startRedisServer
      const settings: CircuitBreaker.Options = {
        halfOpenMaxProbes: 3,
        successThreshold: 3,
        breakDuration: "200 millis",
        consecutiveFailures: 2
      }
      const dcb = yield* processOn(server, "cb", settings)
      const other = yield* otherProcessOn(server, "cb", settings)
      const stateChange = yield* recordChanges(dcb)
      const otherChange = yield* recordChanges(other)

      expect(yield* dcb.state).toBe("Closed")
      for (let i = 0; i < 2; i++) expect(yield* fail(dcb)).toBeUndefined()
      expect(yield* dcb.state).toBe("Open")
      expect(yield* stateChange).toEqual({ name: "cb", from: "Closed", to: "Open" })
      // the other process's breaker makes the same transition when it reads it
      expect(yield* eventually(other, "Open")).toBe("Open")
      expect(yield* otherChange).toEqual({ name: "cb", from: "Closed", to: "Open" })

      // requests fail immediately when the circuit is open
      const rejected = yield* rejectionOf(dcb, Effect.succeed(true))
      expect(rejected?._tag).toBe("CircuitOpen")

      yield* Effect.sleep("220 millis")
      expect(yield* dcb.state).toBe("HalfOpen")
      // gobreaker's State() records Open -> HalfOpen; Sturdy has no timers and publishes it with the first call after
      // the pause (documented on `changes`), though `state` already reports HalfOpen
      expect(yield* stateChange).toEqual({ name: "cb", from: "Closed", to: "Open" })
      expect(yield* succeed(dcb)).toBeUndefined()
      expect(yield* stateChange).toEqual({ name: "cb", from: "Open", to: "HalfOpen" })

      for (let i = 0; i < 2; i++) expect(yield* succeed(dcb)).toBeUndefined()
      expect(yield* dcb.state).toBe("Closed")
      expect(yield* stateChange).toEqual({ name: "cb", from: "HalfOpen", to: "Closed" })
      expect(yield* eventually(other, "Closed")).toBe("Closed")
    }).pipe(Effect.scoped))
})
