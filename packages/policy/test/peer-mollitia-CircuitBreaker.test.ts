// Ported from mollitia's packages/mollitia/test/unit/module/breaker/sliding-count-breaker.spec.ts and
// sliding-time-breaker.spec.ts (genesys/mollitia at a8a24286b23f437b70f6cc99794571f14bc9a8e4), one `it` per mollitia
// case, named after it.
// Mapping: `new SlidingCountBreaker({ slidingWindowSize: n })` is `slidingWindow: { calls: n }`, and
// `new SlidingTimeBreaker({ slidingWindowSize: ms })` is `slidingWindow: ms`; `minimumNumberOfCalls` is
// `minimumThroughput`; `failureRateThreshold` / `slowCallRateThreshold` (percent) are the same ratios (0..1);
// `slowCallDurationThreshold` is `slowCallDuration`; `openStateDelay` is `breakDuration`;
// `permittedNumberOfCallsInHalfOpenState: n` is `halfOpenMaxProbes: n, successThreshold: n`;
// `halfOpenStateMaxDelay` is `maxProbeDuration`; `onError(err) === false` is `isFailure(err) === false` (the failure
// then counts as a success, in both); BreakerState CLOSED / OPENED / HALF_OPENED are "Closed" / "Open" / "HalfOpen";
// `BreakerError` and `BreakerMaxAllowedRequestError` are `CircuitOpen`. mollitia's `failureAsync(value, delay = 1)` /
// `successAsync` are calls that take `delay` ms of TestClock time.
// mollitia's `state` option (a breaker made Open or HalfOpen) has no Sturdy counterpart: such a breaker is tripped by
// one failure first (`consecutiveFailures: 1`, a setting the case's own calls never reach again), and, for HalfOpen,
// its pause is let pass.
// Deliberate differences (each test says which): Sturdy judges the window's ratios after every recorded call, a success
// included (as resilience4j does), where mollitia judges them only after a failure or slow call, so a window already
// over the threshold opens at the next success ("kept closed as last request is success" does not hold);
// one failed (or slow) probe reopens the breaker at once, and successThreshold successes close it, where mollitia
// judges the ratio over all its half-open calls (the outcomes agree in the cases here); `halfOpenMaxProbes` bounds
// the probes in flight, not the probes in all, so a call after a finished probe probes in its turn where mollitia
// rejects it with "Max allowed requests reached"; there are no timers, so a half-open breaker with no call stays
// half-open (`maxProbeDuration` frees the slot of a probe in flight) where mollitia's `halfOpenStateMaxDelay` timer
// reopens it.
// Not ported: nothing (the spec's serialisation through `getState`/`setState` is mollitia's addon hook, untested here).
import { describe, expect, it } from "@effect/vitest"
import { CircuitBreaker } from "@sturdy/policy"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import { onError, onSuccess } from "./utils/resilience4j.js"

const isOpenRejection = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" && CircuitBreaker.isCircuitOpen(exit.cause.error)

const failed = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" && !CircuitBreaker.isCircuitOpen(exit.cause.error)

// mollitia's successAsync / failureAsync default delay
const DEFAULT = 1

// a breaker that mollitia would make with `state: OPENED`: tripped by one failure
const openBreaker = (key: string, options: CircuitBreaker.Options) =>
  Effect.gen(function*() {
    const breaker = yield* CircuitBreaker.make(key, { ...options, consecutiveFailures: 1 })
    expect(failed(yield* onError(breaker, DEFAULT))).toBe(true)
    expect(yield* breaker.state).toBe("Open")
    return breaker
  })

// a breaker that mollitia would make with `state: HALF_OPENED`: tripped, and its pause let pass
const halfOpenBreaker = (key: string, options: CircuitBreaker.Options & { readonly breakDuration: number }) =>
  Effect.gen(function*() {
    const breaker = yield* openBreaker(key, options)
    yield* TestClock.adjust(options.breakDuration)
    expect(yield* breaker.state).toBe("HalfOpen")
    return breaker
  })

// "should go to half open state after delay", for either window
const goesHalfOpenAfterDelay = (slidingWindow: CircuitBreaker.Options["slidingWindow"]) =>
  Effect.gen(function*() {
    const breaker = yield* openBreaker("mollitia", { breakDuration: 20, slidingWindow })
    expect(yield* breaker.state).toBe("Open")
    // the call made while open is rejected
    expect(isOpenRejection(yield* onError(breaker, DEFAULT))).toBe(true)
    yield* TestClock.adjust(100)
    expect(yield* breaker.state).toBe("HalfOpen")
  }).pipe(Effect.scoped)

// "Half Open State switch to Closed/Opened", for either window
const halfOpenSwitches = (slidingWindow: CircuitBreaker.Options["slidingWindow"], delay: number) =>
  Effect.gen(function*() {
    const breaker = yield* halfOpenBreaker("mollitia", {
      failureRateThreshold: 0.5,
      breakDuration: 10,
      halfOpenMaxProbes: 2,
      successThreshold: 2,
      slidingWindow
    })
    expect(Exit.isSuccess(yield* onSuccess(breaker, DEFAULT))).toBe(true)
    expect(yield* breaker.state).toBe("HalfOpen")
    // mollitia: 1 failure in 2 half-open calls is 50 % ≥ 50 %; Sturdy: a failed probe reopens
    expect(failed(yield* onError(breaker, DEFAULT))).toBe(true)
    expect(yield* breaker.state).toBe("Open")
    yield* TestClock.adjust(delay)
    expect(yield* breaker.state).toBe("HalfOpen")
    expect(Exit.isSuccess(yield* onSuccess(breaker, DEFAULT))).toBe(true)
    expect(Exit.isSuccess(yield* onSuccess(breaker, DEFAULT))).toBe(true)
    expect(yield* breaker.state).toBe("Closed")
  }).pipe(Effect.scoped)

// "Slow Requests", for either window
const slowRequests = (slidingWindow: CircuitBreaker.Options["slidingWindow"]) =>
  Effect.gen(function*() {
    const breaker = yield* CircuitBreaker.make("mollitia", {
      failureRateThreshold: 0.5,
      breakDuration: 10,
      slidingWindow,
      minimumThroughput: 2,
      halfOpenMaxProbes: 1,
      slowCallDuration: 100,
      slowCallRateThreshold: 0.5
    })
    expect(Exit.isSuccess(yield* onSuccess(breaker, 150))).toBe(true)
    expect(Exit.isSuccess(yield* onSuccess(breaker, DEFAULT))).toBe(true)
    // mollitia: "Even if 50% of slow requests, circuit is kept closed as last request is success". Sturdy judges the
    // window after every call: 1 slow call in 2 reaches the 50 % threshold and opens it now
    expect(yield* breaker.state).toBe("Open")
    // so mollitia's third (slow) call, which opens its breaker, is rejected here
    expect(isOpenRejection(yield* onSuccess(breaker, 150))).toBe(true)
    expect(yield* breaker.state).toBe("Open")
    yield* TestClock.adjust(10)
    // a slow probe: still answered, and the breaker opens again
    expect(Exit.isSuccess(yield* onSuccess(breaker, 150))).toBe(true)
    expect(yield* breaker.state).toBe("Open")
    yield* TestClock.adjust(10)
    expect(Exit.isSuccess(yield* onSuccess(breaker, DEFAULT))).toBe(true)
    expect(yield* breaker.state).toBe("Closed")
  }).pipe(Effect.scoped)

describe("peer mollitia Sliding Count Breaker", () => {
  it.effect("should go to half open state after delay", () => goesHalfOpenAfterDelay({ calls: 10 }))

  it.effect("Switch to Open when failure rate exceeded", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make("mollitia", {
        slidingWindow: { calls: 10 },
        minimumThroughput: 3,
        failureRateThreshold: 0.6,
        breakDuration: 20
      })
      expect(failed(yield* onError(breaker, DEFAULT))).toBe(true)
      expect(failed(yield* onError(breaker, DEFAULT))).toBe(true)
      expect(Exit.isSuccess(yield* onSuccess(breaker, DEFAULT))).toBe(true)
      // mollitia: "Even if 66% of failed requests, circuit is kept closed as last request is success". Sturdy (as
      // resilience4j) judges the window after the success too: 2 failures in 3 calls reach 60 %
      expect(yield* breaker.state).toBe("Open")
      // mollitia's fourth call (a failure that opens its breaker) is rejected by the open breaker here
      expect(isOpenRejection(yield* onError(breaker, DEFAULT))).toBe(true)
      expect(yield* breaker.state).toBe("Open")
    }).pipe(Effect.scoped))

  it.effect("Half Open State max duration", () =>
    Effect.gen(function*() {
      const breaker = yield* halfOpenBreaker("mollitia", {
        maxProbeDuration: 200,
        breakDuration: 100,
        halfOpenMaxProbes: 1,
        successThreshold: 1,
        minimumThroughput: 1
      })
      expect(failed(yield* onError(breaker, DEFAULT))).toBe(true)
      expect(yield* breaker.state).toBe("Open")
      yield* TestClock.adjust(100)
      expect(yield* breaker.state).toBe("HalfOpen")
      yield* TestClock.adjust(100)
      expect(yield* breaker.state).toBe("HalfOpen")
      yield* TestClock.adjust(100)
      // mollitia's halfOpenStateMaxDelay timer reopens its breaker after 200 ms half-open with no decision. Sturdy has
      // no timers: with no probe in flight there is nothing to wait for, and the next call is the probe
      expect(yield* breaker.state).toBe("HalfOpen")
      yield* TestClock.adjust(100)
      expect(Exit.isSuccess(yield* onSuccess(breaker, DEFAULT))).toBe(true)
      expect(yield* breaker.state).toBe("Closed")
    }).pipe(Effect.scoped))

  it.effect("Half Open State switch to Closed/Opened", () => halfOpenSwitches({ calls: 10 }, 10))

  it.effect("Half Open State - Request should fail if max permitted calls in half opened reached", () =>
    Effect.gen(function*() {
      const breaker = yield* halfOpenBreaker("mollitia", {
        failureRateThreshold: 0.5,
        breakDuration: 10,
        halfOpenMaxProbes: 2,
        successThreshold: 2,
        slidingWindow: { calls: 10 }
      })
      expect(Exit.isSuccess(yield* onSuccess(breaker, DEFAULT))).toBe(true)
      // a failing probe of 50 ms, in flight
      const slowFailure = yield* Effect.fork(
        CircuitBreaker.withBreaker(Effect.zipRight(Effect.sleep(50), Effect.fail(new Error("dummy"))), breaker)
      )
      yield* Effect.yieldNow()
      expect(yield* breaker.state).toBe("HalfOpen")
      expect((yield* breaker.snapshot).probesInFlight).toBe(1)
      // mollitia rejects the third half-open call ("Max allowed requests reached": 2 calls were permitted in all).
      // Sturdy's `halfOpenMaxProbes` bounds the probes in flight: the first probe has ended, so this call probes, and
      // its success is the second that closes the breaker
      expect(Exit.isSuccess(yield* onSuccess(breaker, 0))).toBe(true)
      expect(yield* breaker.state).toBe("Closed")
      // the probe still in flight fails after the breaker closed: an outcome from before the transition is not counted
      yield* TestClock.adjust(50)
      expect(failed(yield* Fiber.await(slowFailure))).toBe(true)
      expect(yield* breaker.state).toBe("Closed")
      expect((yield* breaker.snapshot).failures).toBe(0)
    }).pipe(Effect.scoped))

  it.effect("Slow Requests", () => slowRequests({ calls: 10 }))

  it.effect("Nb Max Requests reached", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make("mollitia", {
        failureRateThreshold: 0.5,
        breakDuration: 10,
        slidingWindow: { calls: 5 },
        minimumThroughput: 3
      })
      expect(Exit.isSuccess(yield* onSuccess(breaker, DEFAULT))).toBe(true)
      expect(Exit.isSuccess(yield* onSuccess(breaker, DEFAULT))).toBe(true)
      expect(failed(yield* onError(breaker, DEFAULT))).toBe(true)
      expect(yield* breaker.state).toBe("Closed")
      expect(Exit.isSuccess(yield* onSuccess(breaker, DEFAULT))).toBe(true)
      expect(Exit.isSuccess(yield* onSuccess(breaker, DEFAULT))).toBe(true)
      expect(yield* breaker.state).toBe("Closed")
      // the window holds the last 5 calls: S F S S F, 40 %
      expect(failed(yield* onError(breaker, DEFAULT))).toBe(true)
      expect(yield* breaker.state).toBe("Closed")
      // F S S F F, 60 %
      expect(failed(yield* onError(breaker, DEFAULT))).toBe(true)
      expect(yield* breaker.state).toBe("Open")
    }).pipe(Effect.scoped))

  it.effect("No switch to Open when failures but failure reported as success", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make("mollitia", {
        slidingWindow: { calls: 2 },
        minimumThroughput: 2,
        failureRateThreshold: 0.6,
        breakDuration: 20,
        isFailure: (err) => !(err instanceof Error && err.message === "credentials-issue")
      })
      const credentials = new Error("credentials-issue")
      const real = new Error("real-issue")
      expect(failed(yield* onError(breaker, DEFAULT, credentials))).toBe(true)
      expect(failed(yield* onError(breaker, DEFAULT, credentials))).toBe(true)
      expect(yield* breaker.state).toBe("Closed")
      expect(failed(yield* onError(breaker, DEFAULT, real))).toBe(true)
      expect(yield* breaker.state).toBe("Closed")
      expect(failed(yield* onError(breaker, DEFAULT, real))).toBe(true)
      expect(yield* breaker.state).toBe("Open")
    }).pipe(Effect.scoped))
})

describe("peer mollitia Sliding Time Breaker", () => {
  it.effect("should go to half open state after delay", () => goesHalfOpenAfterDelay("60 seconds"))

  it.effect("switch to Open when failure rate exceeded", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make("mollitia", {
        slidingWindow: 100,
        minimumThroughput: 2,
        failureRateThreshold: 0.6,
        breakDuration: 20
      })
      expect(Exit.isSuccess(yield* onSuccess(breaker, DEFAULT))).toBe(true)
      expect(failed(yield* onError(breaker, DEFAULT))).toBe(true)
      expect(yield* breaker.state).toBe("Closed")
      // this failure takes 150 ms: the two calls before it have left the 100 ms window when it is recorded, so the
      // window holds one call, fewer than minimumThroughput
      expect(failed(yield* onError(breaker, 150))).toBe(true)
      expect(yield* breaker.state).toBe("Closed")
      expect(failed(yield* onError(breaker, DEFAULT))).toBe(true)
      expect(yield* breaker.state).toBe("Open")
    }).pipe(Effect.scoped))

  it.effect("Half Open State switch to Closed/Opened", () => halfOpenSwitches("60 seconds", 20))

  it.effect("Slow Requests", () => slowRequests(1000))
})
