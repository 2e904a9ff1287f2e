// Ported from resilience4j's resilience4j-core/src/test/java/io/github/resilience4j/core/metrics/
// FixedSizeSlidingWindowMetricsTest.java (the COUNT_BASED window), the count-window and maxWaitDurationInHalfOpenState
// cases of resilience4j-circuitbreaker/.../CircuitBreakerConfigTest.java, and the count-window and
// maxWaitDurationInHalfOpenState cases of .../internal/CircuitBreakerStateMachineTest.java (resilience4j/resilience4j),
// one `it` per resilience4j case, named after it. Companion of peer-resilience4j-CircuitBreaker.test.ts (same mapping).
// Mapping: `slidingWindow(n, m, COUNT_BASED)` is `{ slidingWindow: { calls: n }, minimumThroughput: m }`;
// `maxWaitDurationInHalfOpenState(d)` is `maxProbeDuration: d`. A metrics object alone is a breaker whose thresholds
// the case never reaches (`failureRateThreshold: 1`, `slowCallRateThreshold: 1`, `slowCallDuration: "1 second"`: a
// call of 1 s is SLOW, one of 100 ms is not) read through `snapshot` (`calls`, `failures`, `slowCalls`; successful
// calls are `calls - failures`; resilience4j's call durations are not in Sturdy's snapshot).
// Deliberate differences (each test says which): resilience4j's `maxWaitDurationInHalfOpenState` reopens (or closes,
// with `transitionToStateAfterWaitDuration`) a breaker that stayed half-open that long; Sturdy's `maxProbeDuration`
// follows Polly: a probe still running after it gives its slot to the next call, which probes in its place, and the
// slow probe's own answer still counts while the breaker is half-open (module doc of CircuitBreaker.ts). A zero
// `maxWaitDurationInHalfOpenState` means "no limit" in resilience4j; Sturdy spells that `Infinity` and refuses 0.
// A FixedSizeSlidingWindowMetrics has no thresholds; a full window with every call slow (or failed) opens a Sturdy
// breaker at `slowCallRateThreshold: 1`, so testSlidingWindowMetricsWithSlowCalls asserts that opening (a resilience4j
// breaker with slowCallRateThreshold 100 opens there too) and runs its rolling steps on a second window.
// Not ported: testMoveHeadIndexByOne's private `headIndex` (ported as the observable wrap-around of the ring).
import { describe, expect, it } from "@effect/vitest"
import { CircuitBreaker } from "@sturdy/policy"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { NumberFormatException, onError, onSuccess, RuntimeException } from "./utils/resilience4j.js"

const SLOW = 1_000
const FAST = 100

const metrics = (breaker: CircuitBreaker.CircuitBreaker) =>
  Effect.map(breaker.snapshot, (s) => ({
    calls: s.calls,
    successful: s.calls - s.failures,
    failed: s.failures,
    slow: s.slowCalls
  }))

// resilience4j's `new FixedSizeSlidingWindowMetrics(size)`
const countWindow = (calls: number) =>
  CircuitBreaker.make("metrics", {
    failureRateThreshold: 1,
    slowCallDuration: "1 second",
    slowCallRateThreshold: 1,
    slidingWindow: { calls }
  })

describe("peer resilience4j FixedSizeSlidingWindowMetricsTest", () => {
  it.scoped("checkInitialBucketCreation", () =>
    Effect.gen(function*() {
      const b = yield* countWindow(5)
      expect(yield* metrics(b)).toEqual({ calls: 0, successful: 0, failed: 0, slow: 0 })
      expect(yield* b.state).toBe("Closed")
    }))

  it.scoped("testRecordSuccess", () =>
    Effect.gen(function*() {
      const b = yield* countWindow(5)
      yield* onSuccess(b, FAST)
      expect(yield* metrics(b)).toEqual({ calls: 1, successful: 1, failed: 0, slow: 0 })
    }))

  it.scoped("testRecordError", () =>
    Effect.gen(function*() {
      const b = yield* countWindow(5)
      yield* onError(b, FAST)
      expect(yield* metrics(b)).toEqual({ calls: 1, successful: 0, failed: 1, slow: 0 })
      // failure rate 100 % over 1 call of 5: not judged yet
      expect(yield* b.state).toBe("Closed")
    }))

  it.scoped("testRecordSlowSuccess", () =>
    Effect.gen(function*() {
      const b = yield* countWindow(5)
      yield* onSuccess(b, SLOW)
      expect(yield* metrics(b)).toEqual({ calls: 1, successful: 1, failed: 0, slow: 1 })
    }))

  it.scoped("testSlowCallsPercentage", () =>
    Effect.gen(function*() {
      const b = yield* countWindow(5)
      yield* onSuccess(b, 10 * SLOW)
      yield* onError(b, 10 * SLOW)
      yield* onSuccess(b, FAST)
      yield* onSuccess(b, FAST)
      yield* onSuccess(b, FAST)
      const s = yield* metrics(b)
      expect(s).toEqual({ calls: 5, successful: 4, failed: 1, slow: 2 })
      expect(s.slow / s.calls).toBe(0.4)
      // a full window, judged: 20 % failed and 40 % slow open nothing
      expect(yield* b.state).toBe("Closed")
    }))

  it.scoped("testMoveHeadIndexByOne", () =>
    Effect.gen(function*() {
      // the head index is private; what it does is observable: a window of 3 forgets its oldest call on the 4th
      const b = yield* countWindow(3)
      yield* onError(b, FAST)
      yield* onSuccess(b, FAST)
      yield* onSuccess(b, FAST)
      expect(yield* metrics(b)).toEqual({ calls: 3, successful: 2, failed: 1, slow: 0 })
      yield* onSuccess(b, FAST)
      expect(yield* metrics(b)).toEqual({ calls: 3, successful: 3, failed: 0, slow: 0 })
      yield* onError(b, FAST)
      expect(yield* metrics(b)).toEqual({ calls: 3, successful: 2, failed: 1, slow: 0 })
      yield* onSuccess(b, FAST)
      yield* onSuccess(b, FAST)
      expect(yield* metrics(b)).toEqual({ calls: 3, successful: 2, failed: 1, slow: 0 })
      yield* onSuccess(b, FAST)
      expect(yield* metrics(b)).toEqual({ calls: 3, successful: 3, failed: 0, slow: 0 })
    }))

  it.scoped("testSlidingWindowMetrics", () =>
    Effect.gen(function*() {
      const b = yield* countWindow(4)
      const rate = Effect.map(metrics(b), (s) => s.failed / s.calls)
      yield* onError(b, FAST)
      expect(yield* metrics(b)).toEqual({ calls: 1, successful: 0, failed: 1, slow: 0 })
      expect(yield* rate).toBe(1)
      yield* onSuccess(b, FAST)
      expect(yield* metrics(b)).toEqual({ calls: 2, successful: 1, failed: 1, slow: 0 })
      expect(yield* rate).toBe(0.5)
      yield* onSuccess(b, FAST)
      expect(yield* metrics(b)).toEqual({ calls: 3, successful: 2, failed: 1, slow: 0 })
      expect(yield* rate).toBeCloseTo(1 / 3)
      yield* onSuccess(b, FAST)
      expect(yield* metrics(b)).toEqual({ calls: 4, successful: 3, failed: 1, slow: 0 })
      expect(yield* rate).toBe(0.25)
      yield* onSuccess(b, FAST)
      expect(yield* metrics(b)).toEqual({ calls: 4, successful: 4, failed: 0, slow: 0 })
      expect(yield* rate).toBe(0)
      expect(yield* b.state).toBe("Closed")
    }))

  it.scoped("testSlidingWindowMetricsWithSlowCalls", () =>
    Effect.gen(function*() {
      const b = yield* countWindow(2)
      yield* onError(b, SLOW)
      expect(yield* metrics(b)).toEqual({ calls: 1, successful: 0, failed: 1, slow: 1 })
      // SLOW_SUCCESS fills the window of 2 with slow calls: resilience4j's metrics report 2 slow of 2; a breaker at
      // slowCallRateThreshold 1 (resilience4j's 100) opens on it, and the window is emptied
      yield* onSuccess(b, SLOW)
      expect(yield* b.state).toBe("Open")
      const e = yield* Effect.flip(CircuitBreaker.withBreaker(Effect.void, b))
      expect(CircuitBreaker.isCircuitOpen(e) && e.reason).toBe("SlowCalls")
      expect(yield* metrics(b)).toEqual({ calls: 0, successful: 0, failed: 0, slow: 0 })

      // the rolling steps: slow calls leave the window of 2 as fast ones arrive
      const c = yield* countWindow(2)
      yield* onError(c, SLOW)
      yield* onSuccess(c, FAST)
      expect(yield* metrics(c)).toEqual({ calls: 2, successful: 1, failed: 1, slow: 1 })
      yield* onSuccess(c, SLOW)
      expect(yield* metrics(c)).toEqual({ calls: 2, successful: 2, failed: 0, slow: 1 })
      yield* onSuccess(c, FAST)
      expect(yield* metrics(c)).toEqual({ calls: 2, successful: 2, failed: 0, slow: 1 })
      yield* onSuccess(c, FAST)
      expect(yield* metrics(c)).toEqual({ calls: 2, successful: 2, failed: 0, slow: 0 })
      expect(yield* c.state).toBe("Closed")
    }))
})

describe("peer resilience4j CircuitBreakerConfigTest (count window, maxWaitDurationInHalfOpenState)", () => {
  const refused = (options: CircuitBreaker.Options, field: string) =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(CircuitBreaker.make("testName", options))
      expect(exit._tag === "Failure" && String(exit.cause)).toMatch(new RegExp(`RangeError: CircuitBreaker: ${field}`))
    })

  it.scoped("zeroSlidingWindowSizeShouldFail", () =>
    refused({ failureRateThreshold: 0.5, slidingWindow: { calls: 0 }, minimumThroughput: 1 }, "slidingWindow.calls"))

  it.scoped("zeroMinimumNumberOfCallsShouldFail", () =>
    refused({ failureRateThreshold: 0.5, slidingWindow: { calls: 2 }, minimumThroughput: 0 }, "minimumThroughput"))

  it.scoped("shouldSetCountBasedSlidingWindowSize", () =>
    Effect.gen(function*() {
      // slidingWindow(1000, 1000, COUNT_BASED): the rate is judged on the 1000th call, not before
      const b = yield* CircuitBreaker.make("testName", {
        failureRateThreshold: 0.5,
        slidingWindow: { calls: 1000 },
        minimumThroughput: 1000
      })
      for (let i = 0; i < 999; i++) yield* onError(b)
      expect(yield* b.snapshot).toMatchObject({ state: "Closed", calls: 999, failures: 999 })
      yield* onError(b)
      expect(yield* b.state).toBe("Open")
    }))

  it.scoped("shouldReduceMinimumNumberOfCallsToSlidingWindowSize", () =>
    Effect.gen(function*() {
      // slidingWindow(5, 6, COUNT_BASED): the minimum is reduced to 5, so a full window is judged
      const b = yield* CircuitBreaker.make("testName", {
        failureRateThreshold: 0.5,
        slidingWindow: { calls: 5 },
        minimumThroughput: 6
      })
      for (let i = 0; i < 4; i++) yield* onError(b)
      expect(yield* b.state).toBe("Closed")
      yield* onError(b)
      expect(yield* b.state).toBe("Open")
    }))

  it.scoped("shouldSetSlidingWindowToCountBased", () =>
    Effect.gen(function*() {
      // slidingWindow(5, 3, COUNT_BASED): judged from the 3rd call on, over the last 5
      const b = yield* CircuitBreaker.make("testName", {
        failureRateThreshold: 0.5,
        slidingWindow: { calls: 5 },
        minimumThroughput: 3
      })
      yield* onSuccess(b)
      yield* onError(b)
      expect(yield* b.state).toBe("Closed")
      yield* onError(b)
      expect(yield* b.state).toBe("Open")
    }))

  it.scoped("shouldSetWaitDurationInHalfOpenState", () =>
    Effect.gen(function*() {
      // maxWaitDurationInHalfOpenState(1000 ms) is accepted (Sturdy: maxProbeDuration of 1 s)
      const b = yield* CircuitBreaker.make("testName", { consecutiveFailures: 1, maxProbeDuration: "1000 millis" })
      expect(yield* b.state).toBe("Closed")
    }))

  it.scoped("maxWaitDurationInHalfOpenStateEqualZeroShouldPass", () =>
    Effect.gen(function*() {
      // resilience4j's 0 means "no limit": Sturdy spells it Infinity, and refuses 0 (a probe that holds its slot for
      // no time at all would let every call probe)
      const b = yield* CircuitBreaker.make("testName", {
        consecutiveFailures: 1,
        breakDuration: "1 second",
        maxProbeDuration: Infinity
      })
      yield* onError(b)
      yield* TestClock.adjust("1 second")
      const probe = yield* Effect.fork(CircuitBreaker.withBreaker(Effect.never, b))
      yield* Effect.yieldNow()
      yield* TestClock.adjust("1 hour")
      const e = yield* Effect.flip(CircuitBreaker.withBreaker(Effect.void, b))
      expect(CircuitBreaker.isCircuitOpen(e)).toBe(true)
      yield* Fiber.interrupt(probe)
      yield* refused({ maxProbeDuration: 0 }, "maxProbeDuration")
    }))

  it.scoped("maxWaitDurationInHalfOpenStateLessThanSecondShouldFail", () =>
    Effect.gen(function*() {
      // deliberate difference: resilience4j refuses a wait under 1 s; Sturdy accepts any positive duration
      const b = yield* CircuitBreaker.make("testName", {
        consecutiveFailures: 1,
        breakDuration: "1 second",
        maxProbeDuration: "500 millis"
      })
      yield* onError(b)
      yield* TestClock.adjust("1 second")
      const probe = yield* Effect.fork(CircuitBreaker.withBreaker(Effect.never, b))
      yield* Effect.yieldNow()
      yield* TestClock.adjust("499 millis")
      expect(CircuitBreaker.isCircuitOpen(yield* Effect.flip(CircuitBreaker.withBreaker(Effect.void, b)))).toBe(true)
      yield* TestClock.adjust("1 millis")
      expect(yield* Effect.either(CircuitBreaker.withBreaker(Effect.succeed(1), b))).toMatchObject({ right: 1 })
      expect(yield* b.state).toBe("Closed")
      yield* Fiber.interrupt(probe)
    }))
})

// CircuitBreakerStateMachineTest's setUp with the COUNT_BASED window of resilience4j 1.x (slidingWindow(5, 5,
// COUNT_BASED)) and maxWaitDurationInHalfOpenState(1 s)
const setUp = (options?: CircuitBreaker.Options) =>
  CircuitBreaker.make("testName", {
    failureRateThreshold: 0.5,
    halfOpenMaxProbes: 4,
    successThreshold: 4,
    slowCallDuration: "4 seconds",
    slowCallRateThreshold: 0.5,
    slidingWindow: { calls: 5 },
    minimumThroughput: 5,
    breakDuration: "5 seconds",
    maxProbeDuration: "1 second",
    isIgnored: (e) => e instanceof NumberFormatException,
    ...options
  })

const transitionToHalfOpenState = (breaker: CircuitBreaker.CircuitBreaker) =>
  Effect.gen(function*() {
    for (let i = 0; i < 5; i++) yield* onError(breaker)
    expect(yield* breaker.state).toBe("Open")
    yield* TestClock.adjust("5 seconds")
    expect(yield* breaker.state).toBe("HalfOpen")
  })

// a probe that answers (`error` or success) once `millis` of virtual time have passed, held until then
const slowProbe = (breaker: CircuitBreaker.CircuitBreaker, millis: number, error?: Error) =>
  Effect.gen(function*() {
    const body = error === undefined ? Effect.succeed("late") : Effect.fail(error)
    const fiber = yield* Effect.fork(
      CircuitBreaker.withBreaker(Effect.zipRight(Effect.sleep(Duration.millis(millis)), body), breaker)
    )
    yield* Effect.yieldNow()
    return fiber
  })

describe("peer resilience4j CircuitBreakerStateMachineTest (count window, maxWaitDurationInHalfOpenState)", () => {
  it.scoped("shouldOpenAfterFailureRateThresholdExceeded", () =>
    Effect.gen(function*() {
      const b = yield* setUp()
      yield* onError(b)
      yield* onError(b)
      yield* onError(b)
      yield* onSuccess(b)
      expect(yield* b.snapshot).toMatchObject({ state: "Closed", calls: 4, failures: 3 })
      // call 5 fills the window of 5: 60 % failed
      yield* onSuccess(b)
      expect(yield* b.state).toBe("Open")
      const e = yield* Effect.flip(CircuitBreaker.withBreaker(Effect.void, b))
      expect(CircuitBreaker.isCircuitOpen(e) && [e.reason, e.failures]).toEqual(["FailureRate", 3])
    }))

  it.scoped("shouldOpenAfterSlowCallRateThresholdExceeded", () =>
    Effect.gen(function*() {
      const b = yield* setUp()
      yield* onError(b, 5_000)
      yield* onSuccess(b, 5_000)
      yield* onError(b, 100)
      yield* onSuccess(b, 100)
      expect(yield* b.snapshot).toMatchObject({ state: "Closed", calls: 4, failures: 2, slowCalls: 2 })
      // call 5 is slow: 3 of 5 slow (60 %); 2 of 5 failed (40 %)
      yield* onSuccess(b, 5_000)
      const e = yield* Effect.flip(CircuitBreaker.withBreaker(Effect.void, b))
      expect(CircuitBreaker.isCircuitOpen(e) && e.reason).toBe("SlowCalls")
    }))

  it.scoped("shouldOpenAfterFailureRateThresholdExceeded2", () =>
    Effect.gen(function*() {
      // on the count window time ages nothing out: the 6th call pushes the first success out of the last 5
      const b = yield* setUp()
      for (let i = 0; i < 3; i++) {
        yield* onSuccess(b)
        yield* TestClock.adjust("1 second")
      }
      yield* onError(b)
      yield* TestClock.adjust("1 second")
      yield* onError(b)
      expect(yield* b.snapshot).toMatchObject({ state: "Closed", calls: 5, failures: 2 })
      yield* TestClock.adjust("1 hour")
      expect(yield* b.snapshot).toMatchObject({ state: "Closed", calls: 5, failures: 2 })
      yield* onError(b) // S S E E E: 60 %
      expect(yield* b.state).toBe("Open")
    }))

  it.scoped("circuitBreakerTransitionsToOpenAfterWaitDurationInHalfOpenState", () =>
    Effect.gen(function*() {
      // resilience4j: half-open for maxWaitDurationInHalfOpenState (1 s) with no verdict reopens the breaker.
      // Sturdy (Polly's rule): the breaker stays HalfOpen; probes running past maxProbeDuration give their slots to
      // the next calls, which probe in their place, and a slow probe's failure, when it comes, opens it again
      const b = yield* setUp()
      yield* transitionToHalfOpenState(b)
      const changes = yield* b.subscribe
      const slow = yield* slowProbe(b, 2_000, new RuntimeException())
      for (let i = 0; i < 3; i++) yield* slowProbe(b, 60_000)
      expect((yield* b.snapshot).probesInFlight).toBe(4)
      expect(CircuitBreaker.isCircuitOpen(yield* Effect.flip(CircuitBreaker.withBreaker(Effect.void, b)))).toBe(true)

      yield* TestClock.adjust("1 second")
      expect(yield* b.state).toBe("HalfOpen")
      expect((yield* b.snapshot).probesInFlight).toBe(0)
      // the next call probes in a slow probe's place
      const replacement = yield* slowProbe(b, 60_000)
      expect((yield* b.snapshot).probesInFlight).toBe(1)

      // the slow probe fails after 2 s: its answer counts while half-open
      yield* TestClock.adjust("1 second")
      expect(yield* Effect.flip(Fiber.join(slow))).toBeInstanceOf(RuntimeException)
      expect(yield* b.state).toBe("Open")
      yield* Fiber.interrupt(replacement)
      // (Open -> HalfOpen is published when the first call after the pause arrives: no timers)
      const seen = yield* Stream.runCollect(Stream.take(changes, 2))
      expect(Array.from(seen).map((c) => [c.from, c.to])).toEqual([["Open", "HalfOpen"], ["HalfOpen", "Open"]])
    }))

  it.scoped("circuitBreakerTransitionsToClosedAfterWaitDurationInHalfOpenState", () =>
    Effect.gen(function*() {
      // resilience4j (transitionToStateAfterWaitDuration CLOSED): closes after maxWaitDurationInHalfOpenState.
      // Sturdy never closes on time alone: probes past maxProbeDuration free their slots, and the probes that then
      // run and succeed (successThreshold 4) close it; a slow probe's success counts too while half-open
      const b = yield* setUp()
      yield* transitionToHalfOpenState(b)
      const slow = []
      for (let i = 0; i < 4; i++) slow.push(yield* slowProbe(b, 3_000))
      yield* TestClock.adjust("2 seconds")
      expect(yield* b.state).toBe("HalfOpen")
      for (let i = 0; i < 3; i++) yield* onSuccess(b)
      expect(yield* b.state).toBe("HalfOpen")
      // the first slow probe succeeds at 3 s: the fourth success closes the breaker
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(slow[0])).toBe("late")
      expect(yield* b.state).toBe("Closed")
      // the other slow probes' answers after the transition change nothing
      for (const f of slow.slice(1)) yield* Fiber.join(f)
      expect(yield* b.snapshot).toMatchObject({ state: "Closed", calls: 0, failures: 0 })
    }))
})
