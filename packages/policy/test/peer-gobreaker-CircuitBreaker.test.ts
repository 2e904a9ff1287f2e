// Ported from sony/gobreaker at fed8e9eb35f9cd3e5c2a67842c924346c3e1fbdd: v2/gobreaker_test.go and
// v2/twostep_gobreaker_test.go (the current API), then the cases of gobreaker_test.go (v1) that differ from v2's;
// one `it` per gobreaker case, named after it.
// Mapping: `pseudoSleep(cb, d)` (moving the breaker's clock back) is `TestClock.adjust(d)`; a request that sleeps is a
// call that sleeps on the TestClock (`succeedLater`); `succeed`/`fail`/`exclude` answer the breaker's own rejection
// (`CircuitOpen` for both `ErrOpenState` and `ErrTooManyRequests`), `undefined` when the request ran. `Settings{}` is
// `{ consecutiveFailures: 6 }` (the default `ReadyToTrip` is `ConsecutiveFailures > 5`; its `Timeout` of 60 s and
// `MaxRequests` of 1 are Sturdy's defaults); gobreaker's custom breaker (`MaxRequests 3`, `Interval 30 s`, `Timeout
// 90 s`, `ReadyToTrip`: at least 3 requests and a failure ratio >= 0.6, `IsExcluded` errExcluded) is
// `{ failureRateThreshold: 0.6, minimumThroughput: 3, slidingWindow: "30 seconds", breakDuration: "90 seconds",
// halfOpenMaxProbes: 3, successThreshold: 3, isIgnored }`, and its rolling breaker (`BucketPeriod 3 s` over the 30 s
// `Interval`: 10 buckets) the same (Sturdy's time window is 10 buckets of a tenth of it); `IsSuccessful` is the
// negation of `isFailure`, `IsExcluded` is `isIgnored`, `OnStateChange` is `subscribe`, a panic is a defect.
// `Counts` is `snapshot`: `calls` are gobreaker's valid requests (`Requests - TotalExclusions`) once they have ended
// (an excluded call is not recorded at all, a call in flight not yet), `failures` is `TotalFailures` and
// `consecutiveFailures` is `ConsecutiveFailures`; a probe is not recorded in the window (its successes close the
// breaker), so gobreaker's half-open `Counts` are asserted through the state and `probesInFlight`.
// Deliberate differences (each test says which):
// - gobreaker's non-rolling `Interval` clears the counts all at once every 30 s (a new generation), where Sturdy's
//   window slides: a call counts until its bucket is a window old. So a call ended before the interval still counts,
//   and a call started before it and ended after it is recorded when it ends (TestGeneration); calls are dropped
//   by generation only on a transition, as gobreaker does (a late probe's success after closing changes nothing).
// - `MaxRequests` in half-open caps the requests of the whole half-open period in gobreaker; `halfOpenMaxProbes` caps
//   the probes in flight (a probe that ends frees its slot), so the call that gobreaker rejects "over MaxRequests"
//   with one probe still in flight is a probe in Sturdy, and it is the one that closes the breaker.
// - Open -> HalfOpen is published when the first call after the pause arrives (no timers); `state` reports HalfOpen
//   at once, as gobreaker's `State()` does.
// - a pause ends at its last millisecond (`now >= openUntil`), gobreaker's an instant after it (`expiry.Before(now)`).
// - negative `Interval`/`Timeout` are replaced by gobreaker's defaults; Sturdy refuses them (`RangeError`).
// Not ported: TestStateConstants (Go's enum values and `String()`), the `expiry`/`bucketAt`/`age` assertions (private
// fields), v2/counter_test.go (the private rolling counter), v2/distributed_gobreaker_test.go and v2/redis (gobreaker's
// distributed breaker keeps all its counts in a shared store; Sturdy's `CircuitBreakerStore` shares transitions only),
// v1's TestGeneration and TestCustomIsSuccessful (the same as v2's) and v1's TestTwoStepCircuitBreaker (v1's
// TestDefaultCircuitBreaker through `Allow`/`done`, which is a call through `withBreaker`).
import { describe, expect, it } from "@effect/vitest"
import { CircuitBreaker } from "@sturdy/policy"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import {
  counts,
  ErrExcluded,
  exclude,
  fail,
  failLater,
  recordChanges,
  rejectionOf,
  succeed,
  succeedLater
} from "./utils/goBreaker.js"

const isExcluded = (e: unknown) => e instanceof ErrExcluded

// NewCircuitBreaker(Settings{}): ReadyToTrip is ConsecutiveFailures > 5
const newDefault = (options?: CircuitBreaker.Options) => CircuitBreaker.make("", { consecutiveFailures: 6, ...options })

// newCustom / newRollingWindow: MaxRequests 3, Interval 30 s (BucketPeriod 3 s), Timeout 90 s, trip at >= 3 requests
// with a failure ratio >= 0.6, errExcluded excluded
const customOptions: CircuitBreaker.Options = {
  failureRateThreshold: 0.6,
  minimumThroughput: 3,
  slidingWindow: "30 seconds",
  breakDuration: "90 seconds",
  halfOpenMaxProbes: 3,
  successThreshold: 3,
  isIgnored: isExcluded
}
const newCustom = () => CircuitBreaker.make("cb", customOptions)
const newRollingWindow = () => CircuitBreaker.make("rw", customOptions)

const expectRan = (rejection: CircuitBreaker.CircuitOpen | undefined) => expect(rejection).toBeUndefined()
const expectRejected = (rejection: CircuitBreaker.CircuitOpen | undefined) =>
  expect(CircuitBreaker.isCircuitOpen(rejection)).toBe(true)

// the half-open end of TestCustomCircuitBreaker and TestRollingWindowCircuitBreaker (MaxRequests 3)
const halfOpenToClosed = (
  breaker: CircuitBreaker.CircuitBreaker,
  lastChange: Effect.Effect<unknown>,
  name: string
) =>
  Effect.gen(function*() {
    // Successes increment counters but do not close the breaker until the MaxRequests threshold is satisfied.
    expectRan(yield* succeed(breaker))
    expectRan(yield* succeed(breaker))
    expect(yield* breaker.state).toBe("HalfOpen")
    expect(yield* lastChange).toEqual({ name, from: "Open", to: "HalfOpen" })
    expect(yield* counts(breaker)).toEqual({ calls: 0, failures: 0, consecutiveFailures: 0 })

    // StateHalfOpen to StateClosed
    const ch = yield* succeedLater(breaker, "100 millis") // 3 consecutive successes
    yield* TestClock.adjust("50 millis")
    expect((yield* breaker.snapshot).probesInFlight).toBe(1) // gobreaker: Requests 3
    // gobreaker: rejected "over MaxRequests" (three requests in this half-open period). Sturdy bounds the probes in
    // flight: one of three slots is taken, so this call probes, and its success is the third: the breaker closes.
    expectRan(yield* succeed(breaker))
    expect(yield* breaker.state).toBe("Closed")
    expect(yield* lastChange).toEqual({ name, from: "HalfOpen", to: "Closed" })
    yield* TestClock.adjust("50 millis")
    expectRan(yield* Fiber.join(ch))
    expect(yield* breaker.state).toBe("Closed")
    // the late probe's success belongs to the HalfOpen generation: it is not recorded (gobreaker's generation check)
    expect(yield* counts(breaker)).toEqual({ calls: 0, failures: 0, consecutiveFailures: 0 })
    expect(yield* lastChange).toEqual({ name, from: "HalfOpen", to: "Closed" })
  })

describe("peer gobreaker v2 gobreaker_test.go", () => {
  it.scoped("TestNewCircuitBreaker", () =>
    Effect.gen(function*() {
      const defaultCB = yield* newDefault()
      expect(defaultCB.key).toBe("")
      expect(yield* defaultCB.snapshot).toMatchObject({ state: "Closed", calls: 0, failures: 0 })

      const customCB = yield* newCustom()
      expect(customCB.key).toBe("cb")
      expect(yield* customCB.snapshot).toMatchObject({ state: "Closed", calls: 0, failures: 0 })

      const rollingWindowCB = yield* newRollingWindow()
      expect(rollingWindowCB.key).toBe("rw")
      expect(yield* rollingWindowCB.snapshot).toMatchObject({ state: "Closed", calls: 0, failures: 0 })

      // newNegativeDurationCB: gobreaker replaces a negative Interval by 0 (never cleared) and a negative Timeout by
      // 60 s; Sturdy refuses a negative duration when the breaker is made, naming the option
      const negativeInterval = yield* Effect.exit(CircuitBreaker.make("ncb", { slidingWindow: "-30 seconds" }))
      expect(Exit.isFailure(negativeInterval) && String(Cause.squash(negativeInterval.cause))).toMatch(
        /RangeError: .*slidingWindow/
      )
      const negativeTimeout = yield* Effect.exit(CircuitBreaker.make("ncb", { breakDuration: "-90 seconds" }))
      expect(Exit.isFailure(negativeTimeout) && String(Cause.squash(negativeTimeout.cause))).toMatch(
        /RangeError: .*breakDuration/
      )
    }))

  it.scoped("TestDefaultCircuitBreaker", () =>
    Effect.gen(function*() {
      const defaultCB = yield* newDefault()
      expect(defaultCB.key).toBe("")

      for (let i = 0; i < 5; i++) expectRan(yield* fail(defaultCB))
      expect(yield* defaultCB.state).toBe("Closed")
      expect(yield* counts(defaultCB)).toEqual({ calls: 5, failures: 5, consecutiveFailures: 5 })

      expectRan(yield* succeed(defaultCB))
      expect(yield* defaultCB.state).toBe("Closed")
      expect(yield* counts(defaultCB)).toEqual({ calls: 6, failures: 5, consecutiveFailures: 0 })

      expectRan(yield* fail(defaultCB))
      expect(yield* defaultCB.state).toBe("Closed")
      expect(yield* counts(defaultCB)).toEqual({ calls: 7, failures: 6, consecutiveFailures: 1 })

      // StateClosed to StateOpen
      for (let i = 0; i < 5; i++) expectRan(yield* fail(defaultCB)) // 6 consecutive failures
      expect(yield* defaultCB.state).toBe("Open")
      expect(yield* counts(defaultCB)).toEqual({ calls: 0, failures: 0, consecutiveFailures: 0 })

      expectRejected(yield* succeed(defaultCB))
      expectRejected(yield* fail(defaultCB))
      expect(yield* counts(defaultCB)).toEqual({ calls: 0, failures: 0, consecutiveFailures: 0 })

      yield* TestClock.adjust("59999 millis") // timeout - 1 ms
      expect(yield* defaultCB.state).toBe("Open")

      // StateOpen to StateHalfOpen
      yield* TestClock.adjust("1 second") // over Timeout
      expect(yield* defaultCB.state).toBe("HalfOpen")

      // StateHalfOpen to StateOpen
      expectRan(yield* fail(defaultCB))
      expect(yield* defaultCB.state).toBe("Open")
      expect(yield* counts(defaultCB)).toEqual({ calls: 0, failures: 0, consecutiveFailures: 0 })

      // StateOpen to StateHalfOpen (timeout + 1 ns: Sturdy's pause ends at its last millisecond)
      yield* TestClock.adjust("60 seconds")
      expect(yield* defaultCB.state).toBe("HalfOpen")

      // StateHalfOpen to StateClosed
      expectRan(yield* succeed(defaultCB))
      expect(yield* defaultCB.state).toBe("Closed")
      expect(yield* counts(defaultCB)).toEqual({ calls: 0, failures: 0, consecutiveFailures: 0 })
    }))

  it.scoped("TestCustomCircuitBreaker", () =>
    Effect.gen(function*() {
      const customCB = yield* newCustom()
      const stateChange = yield* recordChanges(customCB)
      expect(customCB.key).toBe("cb")

      for (let i = 0; i < 5; i++) {
        expectRan(yield* succeed(customCB))
        expectRan(yield* fail(customCB))
        expectRan(yield* exclude(customCB))
      }
      expect(yield* customCB.state).toBe("Closed")
      // gobreaker: Requests 15, TotalSuccesses 5, TotalFailures 5, TotalExclusions 5, ConsecutiveFailures 1
      expect(yield* counts(customCB)).toEqual({ calls: 10, failures: 5, consecutiveFailures: 1 })

      yield* TestClock.adjust("29999 millis") // interval - 1 ms
      expectRan(yield* succeed(customCB))
      expect(yield* customCB.state).toBe("Closed")
      expect(yield* counts(customCB)).toEqual({ calls: 11, failures: 5, consecutiveFailures: 0 })

      yield* TestClock.adjust("1 second") // over Interval
      expectRan(yield* fail(customCB))
      expect(yield* customCB.state).toBe("Closed")
      // gobreaker cleared every count at the interval (Requests 1, TotalFailures 1); Sturdy's window slides: the
      // calls of the first second left it, the success of a second ago is still in it
      expect(yield* counts(customCB)).toEqual({ calls: 2, failures: 1, consecutiveFailures: 1 })

      // StateClosed to StateOpen
      expectRan(yield* succeed(customCB))
      expectRan(yield* fail(customCB)) // gobreaker: failure ratio 2/3 >= 0.6
      // Sturdy: 2/4 with the earlier success; one more failure makes 3/5 >= 0.6
      expect(yield* customCB.state).toBe("Closed")
      expectRan(yield* fail(customCB))
      expect(yield* customCB.state).toBe("Open")
      expect(yield* counts(customCB)).toEqual({ calls: 0, failures: 0, consecutiveFailures: 0 })
      expect(yield* stateChange).toEqual({ name: "cb", from: "Closed", to: "Open" })

      // StateOpen to StateHalfOpen
      yield* TestClock.adjust("90 seconds") // timeout (+ 1 ns)
      expect(yield* customCB.state).toBe("HalfOpen")
      // Sturdy publishes Open -> HalfOpen with the first call after the pause (below)
      expect(yield* stateChange).toEqual({ name: "cb", from: "Closed", to: "Open" })

      // Excluded requests are neutral in Half-Open state: they do not affect breaker counts or state transitions,
      // and four of them (more than MaxRequests) are not rejected (each one frees its slot)
      for (let i = 0; i < 4; i++) expectRan(yield* exclude(customCB))
      expect(yield* customCB.state).toBe("HalfOpen")
      expect(yield* stateChange).toEqual({ name: "cb", from: "Open", to: "HalfOpen" })

      // Transition: Half-Open -> Open: the first real failure immediately re-opens the breaker.
      expectRan(yield* fail(customCB))
      expect(yield* customCB.state).toBe("Open")
      expect(yield* counts(customCB)).toEqual({ calls: 0, failures: 0, consecutiveFailures: 0 })
      expect(yield* stateChange).toEqual({ name: "cb", from: "HalfOpen", to: "Open" })

      // Transition: Open -> Half-Open (after timeout expires).
      yield* TestClock.adjust("90 seconds")
      expect(yield* customCB.state).toBe("HalfOpen")

      yield* halfOpenToClosed(customCB, stateChange, "cb")
    }))

  it.scoped("TestRollingWindowCircuitBreaker", () =>
    Effect.gen(function*() {
      const rollingCB = yield* newRollingWindow()
      const stateChange = yield* recordChanges(rollingCB)
      expect(rollingCB.key).toBe("rw")

      for (let i = 0; i < 5; i++) {
        expectRan(yield* succeed(rollingCB))
        expectRan(yield* fail(rollingCB))
        expectRan(yield* exclude(rollingCB))
      }
      expect(yield* rollingCB.state).toBe("Closed")
      // gobreaker: Requests 15 (5 excluded), TotalFailures 5, ConsecutiveFailures 1
      expect(yield* counts(rollingCB)).toEqual({ calls: 10, failures: 5, consecutiveFailures: 1 })

      yield* TestClock.adjust("3 seconds")
      expectRan(yield* succeed(rollingCB))
      expect(yield* rollingCB.state).toBe("Closed")
      expect(yield* counts(rollingCB)).toEqual({ calls: 11, failures: 5, consecutiveFailures: 0 })

      yield* TestClock.adjust("2 seconds")
      expectRan(yield* succeed(rollingCB))
      expectRan(yield* exclude(rollingCB))
      expect(yield* rollingCB.state).toBe("Closed")
      // gobreaker: Requests 18, TotalExclusions 6
      expect(yield* counts(rollingCB)).toEqual({ calls: 12, failures: 5, consecutiveFailures: 0 })

      yield* TestClock.adjust("2 seconds")
      // an undetermined (excluded) request, then a success that counts normally
      expectRan(yield* exclude(rollingCB))
      expectRan(yield* succeed(rollingCB))
      expect(yield* rollingCB.state).toBe("Closed")
      // gobreaker: Requests 20, TotalSuccesses 8, TotalExclusions 7
      expect(yield* counts(rollingCB)).toEqual({ calls: 13, failures: 5, consecutiveFailures: 0 })

      yield* TestClock.adjust("2 seconds")
      expectRan(yield* fail(rollingCB))
      expect(yield* rollingCB.state).toBe("Closed")
      // gobreaker: Requests 21, TotalFailures 6, TotalExclusions 7, ConsecutiveFailures 1
      expect(yield* counts(rollingCB)).toEqual({ calls: 14, failures: 6, consecutiveFailures: 1 })

      // fill all the buckets
      for (let i = 0; i < 6; i++) {
        yield* TestClock.adjust("3 seconds")
        expectRan(yield* succeed(rollingCB))
        expectRan(yield* fail(rollingCB))
        // gobreaker: Requests 23 + 2i, TotalExclusions 7
        expect(yield* counts(rollingCB)).toEqual({ calls: 16 + 2 * i, failures: 7 + i, consecutiveFailures: 1 })
      }

      // first bucket should be discarded
      yield* TestClock.adjust("3 seconds")
      expectRan(yield* fail(rollingCB))
      // gobreaker: Requests 19, TotalSuccesses 9, TotalFailures 8, TotalExclusions 2, ConsecutiveFailures 2
      expect(yield* counts(rollingCB)).toEqual({ calls: 17, failures: 8, consecutiveFailures: 2 })

      for (let i = 0; i < 5; i++) {
        expectRan(yield* fail(rollingCB))
        expect(yield* counts(rollingCB)).toEqual({ calls: 18 + i, failures: 9 + i, consecutiveFailures: 3 + i })
      }
      expect(yield* rollingCB.state).toBe("Closed")

      expectRan(yield* fail(rollingCB)) // failureRate = 14/23 > 0.6
      expect(yield* rollingCB.state).toBe("Open")
      expect(yield* stateChange).toEqual({ name: "rw", from: "Closed", to: "Open" })

      // StateOpen to StateHalfOpen (published with the first call after the pause)
      yield* TestClock.adjust("90 seconds")
      expect(yield* rollingCB.state).toBe("HalfOpen")

      yield* halfOpenToClosed(rollingCB, stateChange, "rw")
    }))

  it.scoped("TestPanicInRequest", () =>
    Effect.gen(function*() {
      const defaultCB = yield* newDefault()
      // the panic reaches the caller (a defect), and counts as a failure
      const exit = yield* Effect.exit(CircuitBreaker.withBreaker(Effect.die("oops"), defaultCB))
      expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toBe("oops")
      expect(yield* counts(defaultCB)).toEqual({ calls: 1, failures: 1, consecutiveFailures: 1 })
    }))

  it.scoped("TestGeneration", () =>
    Effect.gen(function*() {
      const customCB = yield* newCustom()
      yield* TestClock.adjust("29 seconds")
      expectRan(yield* succeed(customCB))
      const ch = yield* succeedLater(customCB, "1500 millis")
      yield* TestClock.adjust("500 millis")
      // gobreaker: Requests 2 (one in flight), TotalSuccesses 1; Sturdy records a call when it ends
      expect(yield* counts(customCB)).toEqual({ calls: 1, failures: 0, consecutiveFailures: 0 })

      yield* TestClock.adjust("500 millis") // over Interval
      expect(yield* customCB.state).toBe("Closed")
      // gobreaker starts a new generation with empty counts; Sturdy's window slides and still holds the success
      expect(yield* counts(customCB)).toEqual({ calls: 1, failures: 0, consecutiveFailures: 0 })

      // gobreaker: the request from the previous generation has no effect on the counts. Sturdy starts generations on
      // transitions only (none happened): the call is recorded when it ends, in the window of its end
      yield* TestClock.adjust("500 millis")
      expectRan(yield* Fiber.join(ch))
      expect(yield* counts(customCB)).toEqual({ calls: 2, failures: 0, consecutiveFailures: 0 })
    }))

  it.scoped("TestCustomIsSuccessful", () =>
    Effect.gen(function*() {
      // IsSuccessful always true: no failure counts (a failure that does not count is a successful call)
      const cb = yield* newDefault({ isFailure: () => false })
      for (let i = 0; i < 5; i++) expectRan(yield* fail(cb))
      expect(yield* cb.state).toBe("Closed")
      expect(yield* counts(cb)).toEqual({ calls: 5, failures: 0, consecutiveFailures: 0 })

      // gobreaker clears the counts and swaps `isSuccessful` on the same breaker; Sturdy's options are fixed, so a
      // breaker made with `err == nil` as success (the default: every failure counts)
      const strict = yield* newDefault()
      for (let i = 0; i < 6; i++) expectRan(yield* fail(strict))
      expect(yield* strict.state).toBe("Open")
    }))

  it.scoped("TestCircuitBreakerInParallel", () =>
    Effect.gen(function*() {
      const customCB = yield* newCustom()
      const numReqs = 10000
      const numRoutines = 10
      let successCount = 0
      let excludeCount = 0
      const routine = Effect.forEach(
        Array.from({ length: numReqs }, (_, i) => i),
        (i) =>
          i % 2 === 0
            ? Effect.tap(succeed(customCB), () => successCount++)
            : Effect.tap(exclude(customCB), () => excludeCount++),
        { discard: false }
      )
      const results = yield* Effect.all(Array.from({ length: numRoutines }, () => routine), {
        concurrency: "unbounded"
      })
      expect(results.flat().every((r) => r === undefined)).toBe(true)
      expect(successCount + excludeCount).toBe(numReqs * numRoutines)
      // gobreaker: Requests 100000, TotalSuccesses = ConsecutiveSuccesses = successCount, TotalExclusions
      expect(yield* counts(customCB)).toEqual({ calls: successCount, failures: 0, consecutiveFailures: 0 })
    }))

  it.scoped("TestIsExcludedAndIsSuccessfulCombination", () =>
    Effect.gen(function*() {
      const cb = yield* newDefault({ isIgnored: isExcluded, isFailure: () => true })

      // Case 1: excluded error -> should be undetermined (not counted)
      for (let i = 0; i < 3; i++) expectRan(yield* exclude(cb))
      expect(yield* counts(cb)).toEqual({ calls: 0, failures: 0, consecutiveFailures: 0 })

      // Case 2: nil error -> IsSuccessful says success
      for (let i = 0; i < 3; i++) expectRan(yield* succeed(cb))
      expect(yield* counts(cb)).toEqual({ calls: 3, failures: 0, consecutiveFailures: 0 })

      // Case 3: not nil error -> IsSuccessful says failure
      for (let i = 0; i < 2; i++) expectRan(yield* fail(cb))
      expect(yield* counts(cb)).toEqual({ calls: 5, failures: 2, consecutiveFailures: 2 })
    }))

  it.scoped("TestRollingWindowCircuitBreakerInParallel", () =>
    Effect.gen(function*() {
      const rollingCB = yield* newRollingWindow()
      const numGoroutines = 12
      const numRequests = 100
      const routine = Effect.forEach(
        Array.from({ length: numRequests }, (_, j) => j),
        (j) => (j % 3 === 0 ? succeed(rollingCB) : j % 3 === 1 ? fail(rollingCB) : exclude(rollingCB))
      )
      const results = yield* Effect.all(Array.from({ length: numGoroutines }, () => routine), {
        concurrency: "unbounded"
      })
      // every request ran (none rejected): each routine's failures never outnumber its successes, so the failure
      // ratio stays below 0.6
      expect(results.flat().every((r) => r === undefined)).toBe(true)
      // 34 successes and 33 failures a routine (the 396 exclusions are not recorded)
      expect(yield* counts(rollingCB)).toMatchObject({ calls: 12 * 67, failures: 12 * 33 })
    }))
})

describe("peer gobreaker v2 twostep_gobreaker_test.go", () => {
  it.scoped("TestTwoStepCircuitBreaker", () =>
    Effect.gen(function*() {
      // Allow() then done(err) is a call through `withBreaker` that ends with err
      const tscb = yield* CircuitBreaker.make("tscb", {
        consecutiveFailures: 6,
        halfOpenMaxProbes: 2,
        successThreshold: 2,
        isIgnored: isExcluded
      })
      expect(tscb.key).toBe("tscb")

      for (let i = 0; i < 5; i++) expectRan(yield* fail(tscb))
      expect(yield* tscb.state).toBe("Closed")
      expect(yield* counts(tscb)).toEqual({ calls: 5, failures: 5, consecutiveFailures: 5 })

      expectRan(yield* succeed(tscb))
      expect(yield* tscb.state).toBe("Closed")
      expect(yield* counts(tscb)).toEqual({ calls: 6, failures: 5, consecutiveFailures: 0 })

      expectRan(yield* fail(tscb))
      expect(yield* tscb.state).toBe("Closed")
      expect(yield* counts(tscb)).toEqual({ calls: 7, failures: 6, consecutiveFailures: 1 })

      // StateClosed to StateOpen
      for (let i = 0; i < 5; i++) expectRan(yield* fail(tscb)) // 6 consecutive failures
      expect(yield* tscb.state).toBe("Open")
      expect(yield* counts(tscb)).toEqual({ calls: 0, failures: 0, consecutiveFailures: 0 })

      expectRejected(yield* succeed(tscb))
      expectRejected(yield* fail(tscb))
      expectRejected(yield* exclude(tscb))
      expect(yield* counts(tscb)).toEqual({ calls: 0, failures: 0, consecutiveFailures: 0 })

      yield* TestClock.adjust("59999 millis")
      expect(yield* tscb.state).toBe("Open")

      // StateOpen to StateHalfOpen
      yield* TestClock.adjust("1 second") // over timeout
      expect(yield* tscb.state).toBe("HalfOpen")

      // in half-open state, when max number of requests are in progress, others get rejected because of too many
      // requests; but if in-progress requests complete with excluded, circuit breaker can accept requests again
      const ch1 = yield* failLater(tscb, "100 millis", new ErrExcluded())
      const ch2 = yield* failLater(tscb, "100 millis", new ErrExcluded())
      // rejected because of too many requests
      expectRejected(yield* succeed(tscb))
      expectRejected(yield* fail(tscb))
      // wait for excluded requests to complete
      yield* TestClock.adjust("100 millis")
      expectRan(yield* Fiber.join(ch1))
      expectRan(yield* Fiber.join(ch2))
      // now circuit breaker should accept requests again
      expectRan(yield* succeed(tscb))

      // StateHalfOpen to StateOpen
      expectRan(yield* fail(tscb))
      expect(yield* tscb.state).toBe("Open")
      expect(yield* counts(tscb)).toEqual({ calls: 0, failures: 0, consecutiveFailures: 0 })

      // StateOpen to StateHalfOpen
      yield* TestClock.adjust("60 seconds") // timeout (+ 1 ns)
      expect(yield* tscb.state).toBe("HalfOpen")

      // StateHalfOpen to StateClosed
      expectRan(yield* succeed(tscb))
      expectRan(yield* succeed(tscb))
      expect(yield* tscb.state).toBe("Closed")
      expect(yield* counts(tscb)).toEqual({ calls: 0, failures: 0, consecutiveFailures: 0 })
    }))
})

describe("peer gobreaker v1 gobreaker_test.go", () => {
  it.scoped("TestDefaultCircuitBreaker", () =>
    Effect.gen(function*() {
      // v2's case with v1's pauses: 59 s, then exactly the 60 s Timeout
      const defaultCB = yield* newDefault()
      for (let i = 0; i < 5; i++) expectRan(yield* fail(defaultCB))
      expectRan(yield* succeed(defaultCB))
      expectRan(yield* fail(defaultCB))
      expect(yield* counts(defaultCB)).toEqual({ calls: 7, failures: 6, consecutiveFailures: 1 })
      for (let i = 0; i < 5; i++) expectRan(yield* fail(defaultCB)) // 6 consecutive failures
      expect(yield* defaultCB.state).toBe("Open")
      expectRejected(yield* succeed(defaultCB))
      expectRejected(yield* fail(defaultCB))

      yield* TestClock.adjust("59 seconds")
      expect(yield* defaultCB.state).toBe("Open")
      // StateOpen to StateHalfOpen: 60 s after opening (gobreaker: an instant later)
      yield* TestClock.adjust("1 second")
      expect(yield* defaultCB.state).toBe("HalfOpen")
      // StateHalfOpen to StateOpen
      expectRan(yield* fail(defaultCB))
      expect(yield* defaultCB.state).toBe("Open")
      // StateOpen to StateHalfOpen
      yield* TestClock.adjust("60 seconds")
      expect(yield* defaultCB.state).toBe("HalfOpen")
      // StateHalfOpen to StateClosed
      expectRan(yield* succeed(defaultCB))
      expect(yield* defaultCB.state).toBe("Closed")
      expect(yield* counts(defaultCB)).toEqual({ calls: 0, failures: 0, consecutiveFailures: 0 })
    }))

  it.scoped("TestCustomCircuitBreaker", () =>
    Effect.gen(function*() {
      // v1's custom breaker has no IsExcluded, and its ReadyToTrip counts every request
      const customCB = yield* newCustom()
      const stateChange = yield* recordChanges(customCB)

      for (let i = 0; i < 5; i++) {
        expectRan(yield* succeed(customCB))
        expectRan(yield* fail(customCB))
      }
      expect(yield* customCB.state).toBe("Closed")
      expect(yield* counts(customCB)).toEqual({ calls: 10, failures: 5, consecutiveFailures: 1 })

      yield* TestClock.adjust("29 seconds")
      expectRan(yield* succeed(customCB))
      expect(yield* counts(customCB)).toEqual({ calls: 11, failures: 5, consecutiveFailures: 0 })

      yield* TestClock.adjust("1 second") // over Interval
      expectRan(yield* fail(customCB))
      // gobreaker: {1, 0, 1, 0, 1}; Sturdy's sliding window still holds the success of 29 s
      expect(yield* counts(customCB)).toEqual({ calls: 2, failures: 1, consecutiveFailures: 1 })

      // StateClosed to StateOpen
      expectRan(yield* succeed(customCB))
      expectRan(yield* fail(customCB)) // gobreaker: 2/3 >= 0.6; Sturdy: 2/4
      expect(yield* customCB.state).toBe("Closed")
      expectRan(yield* fail(customCB)) // 3/5 >= 0.6
      expect(yield* customCB.state).toBe("Open")
      expect(yield* stateChange).toEqual({ name: "cb", from: "Closed", to: "Open" })

      // StateOpen to StateHalfOpen
      yield* TestClock.adjust("90 seconds")
      expect(yield* customCB.state).toBe("HalfOpen")
      yield* halfOpenToClosed(customCB, stateChange, "cb")
    }))

  it.scoped("TestPanicInRequest", () =>
    Effect.gen(function*() {
      // v1 runs it on the shared default breaker; a fresh one here
      const defaultCB = yield* newDefault()
      const exit = yield* Effect.exit(rejectionOf(defaultCB, Effect.die("oops")))
      expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toBe("oops")
      expect(yield* counts(defaultCB)).toEqual({ calls: 1, failures: 1, consecutiveFailures: 1 })
    }))

  it.scoped("TestCircuitBreakerInParallel", () =>
    Effect.gen(function*() {
      // v1: every request succeeds
      const customCB = yield* newCustom()
      const numReqs = 10000
      const numRoutines = 10
      const routine = Effect.forEach(Array.from({ length: numReqs }), () => succeed(customCB))
      const results = yield* Effect.all(Array.from({ length: numRoutines }, () => routine), {
        concurrency: "unbounded"
      })
      expect(results.flat().every((r) => r === undefined)).toBe(true)
      const total = numReqs * numRoutines
      expect(yield* counts(customCB)).toEqual({ calls: total, failures: 0, consecutiveFailures: 0 })
    }))
})
