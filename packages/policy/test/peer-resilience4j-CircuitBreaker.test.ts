// Ported from resilience4j's resilience4j-circuitbreaker/src/test/java/io/github/resilience4j/circuitbreaker/internal/
// CircuitBreakerStateMachineTest.java and resilience4j-core/src/test/java/io/github/resilience4j/core/metrics/
// SlidingTimeWindowMetricsTest.java, with CircuitBreakerExceptionHandlingTest.java, CircuitBreakerConfigTest.java and
// CircuitBreakerTest.java at the end (resilience4j/resilience4j), one `it` per resilience4j case, named after it.
// Mapping: the state machine of resilience4j's setUp (failureRateThreshold 50, permittedNumberOfCallsInHalfOpenState 4,
// slowCallDurationThreshold 4 s, slowCallRateThreshold 50, TIME_BASED window of 20 s with minimumNumberOfCalls 5,
// waitDurationInOpenState 5 s, ignoreExceptions(NumberFormatException)) is `CircuitBreaker.make` with
// `{ failureRateThreshold: 0.5, halfOpenMaxProbes: 4, successThreshold: 4, slowCallDuration: "4 seconds",
// slowCallRateThreshold: 0.5, slidingWindow: "20 seconds", minimumThroughput: 5, breakDuration: "5 seconds", isIgnored }`;
// the MockClock is the TestClock; `onError(d, unit, e)` / `onSuccess(d, unit)` is a call that takes `d` of virtual time
// and fails with `e` / succeeds; `tryAcquirePermission()` false is a `CircuitOpen` rejection; `getMetrics()` is
// `snapshot` (`calls`, `failures`, `slowCalls` over the window); `transitionToForcedOpenState()` is `isolate`,
// `reset()` is `reset`; `transitionToOpenState()` is a run of failed calls that trips the failure rate (Sturdy has no
// manual transition to Open or HalfOpen: the pause of `breakDuration` leads to HalfOpen).
// Deliberate differences (each test says which): in HalfOpen one failed (or slow) probe opens the breaker again, and
// `successThreshold` successful probes close it (Polly, Failsafe, cockatiel), where resilience4j judges the failure
// and slow-call rates over `permittedNumberOfCallsInHalfOpenState` probes; a probe that finds every probe slot taken is
// rejected in both. A pause ends at its last millisecond (`now >= openUntil`, as Polly) where resilience4j waits for
// the instant after it.
// Not ported: the DISABLED and METRICS_ONLY states and the event-publisher cases (resilience4j's own modes and event
// types; Sturdy's `changes` carries transitions only), `shouldReturnTheCorrectName` (the key is `breaker.key`, checked
// once below), "shouldNotAllowTransitionFromClosedToHalfOpen" and the transitionToOpenStateFor/Until cases (no manual
// transitions), `maxWaitDurationInHalfOpenState` (circuitBreakerTransitionsTo{Open,Closed}AfterWaitDurationInHalfOpen
// State: ported with `maxProbeDuration` in peer-resilience4j-CountWindow.test.ts), the initialize-in-state cases (no initial state option),
// SlidingTimeWindowMetricsTest's checkInitialBucketCreation/testMoveHeadIndexByOne (private bucket fields) and its
// duration totals (Sturdy's snapshot has no call durations). FixedSizeSlidingWindowMetricsTest (COUNT_BASED) and the
// count-window cases are in peer-resilience4j-CountWindow.test.ts.
import { describe, expect, it } from "@effect/vitest"
import { CircuitBreaker } from "@sturdy/policy"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { NumberFormatException, onError, onSuccess, RuntimeException } from "./utils/resilience4j.js"

const setUp = (options?: CircuitBreaker.Options) =>
  CircuitBreaker.make("testName", {
    failureRateThreshold: 0.5,
    halfOpenMaxProbes: 4,
    successThreshold: 4,
    slowCallDuration: "4 seconds",
    slowCallRateThreshold: 0.5,
    slidingWindow: "20 seconds",
    minimumThroughput: 5,
    breakDuration: "5 seconds",
    isIgnored: (e) => e instanceof NumberFormatException,
    ...options
  })

// the "tryAcquirePermission()" of a call that is admitted or not (it ends at once, successfully, when admitted)
const tryAcquire = (breaker: CircuitBreaker.CircuitBreaker) =>
  Effect.map(Effect.either(CircuitBreaker.withBreaker(Effect.void, breaker)), (e) => e._tag === "Right")

// a probe held in flight until the returned effect releases it
const holdProbe = (breaker: CircuitBreaker.CircuitBreaker) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(CircuitBreaker.withBreaker(Effect.never, breaker))
    yield* Effect.yieldNow()
    return fiber
  })

// resilience4j's transitionToOpenState(): five failed calls trip the 50 % rate over the minimum of 5
const transitionToOpenState = (breaker: CircuitBreaker.CircuitBreaker) =>
  Effect.gen(function*() {
    for (let i = 0; i < 5; i++) yield* onError(breaker)
    expect(yield* breaker.state).toBe("Open")
  })
// transitionToOpenState() then transitionToHalfOpenState(): the 5 s pause ends
const transitionToHalfOpenState = (breaker: CircuitBreaker.CircuitBreaker) =>
  Effect.gen(function*() {
    yield* transitionToOpenState(breaker)
    yield* TestClock.adjust("5 seconds")
    expect(yield* breaker.state).toBe("HalfOpen")
  })

const metrics = (breaker: CircuitBreaker.CircuitBreaker) =>
  Effect.map(breaker.snapshot, (s) => ({ calls: s.calls, failures: s.failures, slowCalls: s.slowCalls }))

describe("peer resilience4j CircuitBreakerStateMachineTest", () => {
  it.scoped("shouldReturnTheCorrectName", () =>
    Effect.gen(function*() {
      const breaker = yield* setUp()
      expect(breaker.key).toBe("testName")
    }))

  it.scoped("shouldThrowCallNotPermittedExceptionWhenStateIsOpen", () =>
    Effect.gen(function*() {
      const breaker = yield* setUp()
      yield* transitionToOpenState(breaker)
      let ran = false
      const e = yield* Effect.flip(CircuitBreaker.withBreaker(Effect.sync(() => (ran = true)), breaker))
      expect(CircuitBreaker.isCircuitOpen(e)).toBe(true)
      expect(ran).toBe(false)
    }))

  it.scoped("shouldThrowCallNotPermittedExceptionWhenStateIsForcedOpen", () =>
    Effect.gen(function*() {
      const breaker = yield* setUp()
      yield* breaker.isolate
      const e = yield* Effect.flip(CircuitBreaker.withBreaker(Effect.succeed(1), breaker))
      expect(CircuitBreaker.isCircuitOpen(e) && e.reason).toBe("Isolated")
    }))

  it.scoped("shouldIncreaseCounterOnReleasePermission", () =>
    Effect.gen(function*() {
      // releasePermission() is a probe that ends without an outcome: here an interrupted one
      const breaker = yield* setUp()
      yield* transitionToHalfOpenState(breaker)
      const probes = []
      for (let i = 0; i < 4; i++) probes.push(yield* holdProbe(breaker))
      expect((yield* breaker.snapshot).probesInFlight).toBe(4)
      expect(yield* tryAcquire(breaker)).toBe(false)
      expect(yield* tryAcquire(breaker)).toBe(false)

      yield* Fiber.interrupt(probes[0])
      expect(yield* tryAcquire(breaker)).toBe(true)
      expect(yield* breaker.state).toBe("HalfOpen")
    }))

  it.scoped("shouldThrowCallNotPermittedExceptionWhenNotFurtherTestCallsArePermitted", () =>
    Effect.gen(function*() {
      const breaker = yield* setUp()
      yield* transitionToHalfOpenState(breaker)
      for (let i = 0; i < 4; i++) yield* holdProbe(breaker)
      const e = yield* Effect.flip(CircuitBreaker.withBreaker(Effect.succeed(1), breaker))
      expect(CircuitBreaker.isCircuitOpen(e)).toBe(true)
    }))

  it.scoped("shouldOnlyPermitFourCallsInHalfOpenState", () =>
    Effect.gen(function*() {
      const breaker = yield* setUp()
      expect(yield* metrics(breaker)).toEqual({ calls: 0, failures: 0, slowCalls: 0 })
      yield* transitionToHalfOpenState(breaker)
      const first = []
      for (let i = 0; i < 4; i++) first.push(yield* holdProbe(breaker))
      expect(yield* tryAcquire(breaker)).toBe(false)
      expect(yield* tryAcquire(breaker)).toBe(false)

      // transitionToOpenState(); transitionToHalfOpenState(): a failed probe (in a slot one probe gave back) opens
      // it, the pause ends
      yield* Fiber.interrupt(first[0])
      yield* onError(breaker)
      expect(yield* breaker.state).toBe("Open")
      yield* Effect.forEach(first, Fiber.interrupt)
      yield* TestClock.adjust("5 seconds")
      expect(yield* breaker.state).toBe("HalfOpen")
      for (let i = 0; i < 4; i++) yield* holdProbe(breaker)
      expect(yield* tryAcquire(breaker)).toBe(false)
      expect(yield* tryAcquire(breaker)).toBe(false)
    }))

  it.scoped("shouldOpenAfterFailureRateThresholdExceeded2", () =>
    Effect.gen(function*() {
      const breaker = yield* setUp()
      yield* onSuccess(breaker)
      yield* TestClock.adjust("1 second")
      yield* onSuccess(breaker)
      yield* TestClock.adjust("1 second")
      yield* onSuccess(breaker)
      yield* TestClock.adjust("1 second")
      yield* onError(breaker)
      yield* TestClock.adjust("1 second")
      yield* onError(breaker)
      // 2 of 5: 40 %
      expect(yield* breaker.state).toBe("Closed")
      yield* TestClock.adjust("1 second")
      expect(yield* breaker.state).toBe("Closed")
      // 3 of 6: 50 % opens it (>=)
      yield* onError(breaker)
      expect(yield* breaker.state).toBe("Open")
    }))

  it.scoped("shouldOpenAfterFailureRateThresholdExceeded", () =>
    Effect.gen(function*() {
      const breaker = yield* setUp()
      expect(yield* breaker.state).toBe("Closed")
      expect(yield* metrics(breaker)).toEqual({ calls: 0, failures: 0, slowCalls: 0 })

      yield* onError(breaker)
      expect(yield* breaker.state).toBe("Closed")
      expect(yield* metrics(breaker)).toEqual({ calls: 1, failures: 1, slowCalls: 0 })
      yield* onError(breaker)
      expect(yield* metrics(breaker)).toEqual({ calls: 2, failures: 2, slowCalls: 0 })
      yield* onError(breaker)
      expect(yield* breaker.state).toBe("Closed")
      expect(yield* metrics(breaker)).toEqual({ calls: 3, failures: 3, slowCalls: 0 })
      yield* onSuccess(breaker)
      expect(yield* breaker.state).toBe("Closed")
      expect(yield* metrics(breaker)).toEqual({ calls: 4, failures: 3, slowCalls: 0 })

      // the fifth call fills the minimum: 3 of 5 is 60 %
      yield* onSuccess(breaker)
      expect(yield* breaker.state).toBe("Open")
      const e = yield* Effect.flip(CircuitBreaker.withBreaker(Effect.succeed(1), breaker))
      expect(CircuitBreaker.isCircuitOpen(e) && [e.reason, e.failures]).toEqual(["FailureRate", 3])
      // resilience4j keeps the metrics of the window it opened on; Sturdy's Open state starts a fresh window
      // (the counts that tripped it are on the rejection, `failures`)
      expect(yield* tryAcquire(breaker)).toBe(false)
    }))

  it.scoped("shouldOpenAfterSlowCallRateThresholdExceeded", () =>
    Effect.gen(function*() {
      const breaker = yield* setUp()
      expect(yield* breaker.state).toBe("Closed")
      yield* onError(breaker, 5_000) // slow
      expect(yield* breaker.state).toBe("Closed")
      yield* onSuccess(breaker, 5_000) // slow
      expect(yield* breaker.state).toBe("Closed")
      yield* onError(breaker, 100) // fast
      expect(yield* breaker.state).toBe("Closed")
      yield* onSuccess(breaker, 100) // fast
      expect(yield* breaker.state).toBe("Closed")
      expect(yield* metrics(breaker)).toEqual({ calls: 4, failures: 2, slowCalls: 2 })
      yield* onSuccess(breaker, 5_000) // slow: 3 of 5 slow, 2 of 5 failed
      expect(yield* breaker.state).toBe("Open")
      const e = yield* Effect.flip(CircuitBreaker.withBreaker(Effect.succeed(1), breaker))
      expect(CircuitBreaker.isCircuitOpen(e) && [e.reason, e.failures]).toEqual(["SlowCalls", 3])
    }))

  it.scoped("shouldOpenAfterSlowCallRateThresholdExceededUsingMockClock", () =>
    Effect.gen(function*() {
      const breaker = yield* setUp()
      const consumer = (seconds: number) => onSuccess(breaker, seconds * 1000)
      yield* consumer(5)
      expect(yield* metrics(breaker)).toEqual({ calls: 1, failures: 0, slowCalls: 1 })
      expect(yield* breaker.state).toBe("Closed")
      yield* consumer(5)
      expect(yield* metrics(breaker)).toEqual({ calls: 2, failures: 0, slowCalls: 2 })
      yield* consumer(1)
      expect(yield* metrics(breaker)).toEqual({ calls: 3, failures: 0, slowCalls: 2 })
      yield* consumer(1)
      expect(yield* metrics(breaker)).toEqual({ calls: 4, failures: 0, slowCalls: 2 })
      expect(yield* breaker.state).toBe("Closed")
      yield* consumer(5)
      expect(yield* breaker.state).toBe("Open")
    }))

  it.scoped("shouldTransitionToHalfOpenAfterWaitDuration", () =>
    Effect.gen(function*() {
      const breaker = yield* setUp()
      yield* transitionToOpenState(breaker)
      expect(yield* tryAcquire(breaker)).toBe(false)
      yield* TestClock.adjust("3 seconds")
      // still open: the wait of 5 seconds is not over
      expect(yield* breaker.state).toBe("Open")
      expect(yield* tryAcquire(breaker)).toBe(false)
      expect(Duration.toMillis((yield* breaker.snapshot).retryAfter)).toBe(2_000)
      yield* TestClock.adjust("3 seconds")
      expect(yield* tryAcquire(breaker)).toBe(true)
      expect(yield* breaker.state).toBe("HalfOpen")
      expect(yield* metrics(breaker)).toEqual({ calls: 0, failures: 0, slowCalls: 0 })
    }))

  it.scoped("shouldTransitionToHalfOpenAfterWaitInterval", () =>
    Effect.gen(function*() {
      // waitIntervalFunctionInOpenState(IntervalFunction.ofExponentialBackoff(5000)): 5 s, 7.5 s, 11.25 s ...
      const breaker = yield* setUp({ breakDuration: Schedule.exponential("5 seconds", 1.5) })
      yield* transitionToOpenState(breaker)
      expect(yield* tryAcquire(breaker)).toBe(false)
      yield* TestClock.adjust("3 seconds")
      expect(yield* breaker.state).toBe("Open")
      expect(yield* tryAcquire(breaker)).toBe(false)
      yield* TestClock.adjust("3 seconds")
      // the first probe is admitted after 5 s
      yield* onError(breaker)
      expect(yield* breaker.state).toBe("Open")
      yield* TestClock.adjust("6 seconds")
      // still open: the new wait of 7.5 seconds is not over
      expect(yield* breaker.state).toBe("Open")
      expect(yield* tryAcquire(breaker)).toBe(false)
      yield* TestClock.adjust("5 seconds")
      expect(yield* tryAcquire(breaker)).toBe(true)
      expect(yield* breaker.state).toBe("HalfOpen")
    }))

  it.scoped("shouldTransitionBackToOpenStateWhenFailureRateIsAboveThreshold", () =>
    Effect.gen(function*() {
      // resilience4j judges 3 failures of 4 probes (75 %); in Sturdy the first failed probe opens it again
      const breaker = yield* setUp()
      yield* transitionToHalfOpenState(breaker)
      expect(yield* metrics(breaker)).toEqual({ calls: 0, failures: 0, slowCalls: 0 })
      yield* onError(breaker)
      expect(yield* breaker.state).toBe("Open")
      const e = yield* Effect.flip(CircuitBreaker.withBreaker(Effect.succeed(1), breaker))
      expect(CircuitBreaker.isCircuitOpen(e) && e.reason).toBe("ProbeFailed")
    }))

  it.scoped("shouldTransitionBackToOpenStateWhenSlowCallRateIsAboveThreshold", () =>
    Effect.gen(function*() {
      // resilience4j judges 3 slow probes of 4 (75 %); in Sturdy the first slow probe opens it again
      const breaker = yield* setUp()
      yield* transitionToHalfOpenState(breaker)
      const exit = yield* onSuccess(breaker, 5_000)
      expect(exit._tag).toBe("Success")
      expect(yield* breaker.state).toBe("Open")
      const e = yield* Effect.flip(CircuitBreaker.withBreaker(Effect.succeed(1), breaker))
      expect(CircuitBreaker.isCircuitOpen(e) && e.reason).toBe("SlowCalls")
    }))

  it.scoped("shouldTransitionBackToClosedStateWhenFailureIsBelowThreshold", () =>
    Effect.gen(function*() {
      // resilience4j closes after 1 failure and 3 successes of 4 probes (25 %); in Sturdy 4 successful probes close
      // it (the failure would have opened it again)
      const breaker = yield* setUp()
      yield* transitionToHalfOpenState(breaker)
      yield* onSuccess(breaker)
      yield* onSuccess(breaker)
      yield* onSuccess(breaker)
      expect(yield* breaker.state).toBe("HalfOpen")
      yield* onSuccess(breaker)
      expect(yield* tryAcquire(breaker)).toBe(true)
      expect(yield* breaker.state).toBe("Closed")
      expect(yield* metrics(breaker)).toEqual({ calls: 1, failures: 0, slowCalls: 0 })
      // call 5 is a success and fills the buffer in closed state
      yield* onSuccess(breaker)
      expect(yield* metrics(breaker)).toEqual({ calls: 2, failures: 0, slowCalls: 0 })
    }))

  it.scoped("shouldResetMetrics", () =>
    Effect.gen(function*() {
      const breaker = yield* setUp()
      expect(yield* breaker.state).toBe("Closed")
      yield* onSuccess(breaker)
      yield* onError(breaker)
      expect(yield* metrics(breaker)).toEqual({ calls: 2, failures: 1, slowCalls: 0 })
      yield* breaker.reset
      expect(yield* metrics(breaker)).toEqual({ calls: 0, failures: 0, slowCalls: 0 })
    }))

  it.scoped("shouldForceOpenCircuitBreaker", () =>
    Effect.gen(function*() {
      const breaker = yield* setUp()
      yield* breaker.isolate
      expect(yield* breaker.state).toBe("Open")
      expect((yield* breaker.snapshot).isolated).toBe(true)
      expect(yield* tryAcquire(breaker)).toBe(false)
      yield* TestClock.adjust("6 seconds")
      // no half-open after the 5 second pause while forced open
      expect(yield* tryAcquire(breaker)).toBe(false)
      expect(yield* breaker.state).toBe("Open")
      expect(Duration.isFinite((yield* breaker.snapshot).retryAfter)).toBe(false)
    }))

  it.scoped("shouldReleasePermissionWhenExceptionIgnored", () =>
    Effect.gen(function*() {
      const breaker = yield* setUp()
      yield* transitionToHalfOpenState(breaker)
      yield* onSuccess(breaker)
      expect(yield* breaker.state).toBe("HalfOpen")
      yield* onSuccess(breaker)
      yield* onSuccess(breaker)
      expect(yield* breaker.state).toBe("HalfOpen")
      // the ignored NumberFormatException gives its permission back and changes nothing
      const ignored = yield* onError(breaker, 0, new NumberFormatException())
      expect(ignored._tag).toBe("Failure")
      expect(yield* breaker.state).toBe("HalfOpen")
      expect((yield* breaker.snapshot).probesInFlight).toBe(0)
      // resilience4j then closes on 1 failure of 4 recorded probes (25 %); in Sturdy the failed probe opens it
      // again (a fourth success would close it: see shouldIgnoreExceptionsAndThenTransitionToClosed)
      yield* onError(breaker)
      expect(yield* breaker.state).toBe("Open")
    }))

  it.scoped("shouldIgnoreExceptionsAndThenTransitionToClosed", () =>
    Effect.gen(function*() {
      const breaker = yield* setUp()
      yield* transitionToHalfOpenState(breaker)
      for (let i = 0; i < 4; i++) {
        yield* onError(breaker, 0, new NumberFormatException())
        expect(yield* breaker.state).toBe("HalfOpen")
      }
      expect(yield* metrics(breaker)).toEqual({ calls: 0, failures: 0, slowCalls: 0 })
      for (let i = 0; i < 3; i++) {
        yield* onSuccess(breaker)
        expect(yield* breaker.state).toBe("HalfOpen")
      }
      yield* onSuccess(breaker)
      expect(yield* breaker.state).toBe("Closed")
      expect(yield* metrics(breaker)).toEqual({ calls: 0, failures: 0, slowCalls: 0 })
    }))

  it.scoped("shouldResetToClosedState", () =>
    Effect.gen(function*() {
      const breaker = yield* setUp()
      yield* transitionToOpenState(breaker)
      yield* breaker.reset
      expect(yield* breaker.state).toBe("Closed")
      expect(yield* tryAcquire(breaker)).toBe(true)
    }))

  it.scoped("shouldResetClosedState", () =>
    Effect.gen(function*() {
      const breaker = yield* setUp()
      yield* onSuccess(breaker)
      yield* onSuccess(breaker)
      expect(yield* metrics(breaker)).toEqual({ calls: 2, failures: 0, slowCalls: 0 })
      yield* breaker.reset
      expect(yield* breaker.state).toBe("Closed")
      expect(yield* metrics(breaker)).toEqual({ calls: 0, failures: 0, slowCalls: 0 })
    }))

  it.scoped("circuitBreakerDoesNotPublishStateTransitionEventsForInternalTransitions", () =>
    Effect.gen(function*() {
      // a transition to the state the breaker is already in publishes nothing
      const breaker = yield* setUp()
      const changes: Array<CircuitBreaker.StateChange> = []
      yield* Effect.forkScoped(Stream.runForEach(yield* breaker.subscribe, (c) => Effect.sync(() => changes.push(c))))
      yield* transitionToOpenState(breaker)
      yield* breaker.isolate // Open → Open (forced)
      yield* breaker.reset
      yield* breaker.reset // Closed → Closed
      yield* Effect.repeatN(Effect.yieldNow(), 10)
      expect(changes.map((c) => [c.from, c.to])).toEqual([["Closed", "Open"], ["Open", "Closed"]])
      expect(changes.every((c) => c.key === "testName")).toBe(true)
    }))
})

// resilience4j's SlidingTimeWindowMetrics(5, clock): a window of 5 s; each case below records calls through a
// breaker whose thresholds are never reached (minimumThroughput 1000) and reads its snapshot
const windowOf5 = CircuitBreaker.make("metrics", {
  failureRateThreshold: 1,
  slowCallDuration: "1 second",
  slowCallRateThreshold: 1,
  minimumThroughput: 1000,
  slidingWindow: "5 seconds"
})

describe("peer resilience4j SlidingTimeWindowMetricsTest", () => {
  it.scoped("testRecordSuccess", () =>
    Effect.gen(function*() {
      const b = yield* windowOf5
      yield* onSuccess(b, 100)
      expect(yield* metrics(b)).toEqual({ calls: 1, failures: 0, slowCalls: 0 })
    }))

  it.scoped("testRecordError", () =>
    Effect.gen(function*() {
      const b = yield* windowOf5
      yield* onError(b, 100)
      expect(yield* metrics(b)).toEqual({ calls: 1, failures: 1, slowCalls: 0 })
    }))

  it.scoped("testRecordSlowSuccess", () =>
    Effect.gen(function*() {
      const b = yield* windowOf5
      yield* onSuccess(b, 1_000)
      expect(yield* metrics(b)).toEqual({ calls: 1, failures: 0, slowCalls: 1 })
    }))

  it.scoped("testSlowCallsPercentage", () =>
    Effect.gen(function*() {
      // resilience4j records calls that all end at one instant; here they take their time, so the window is 20 s
      const b = yield* CircuitBreaker.make("metrics", {
        failureRateThreshold: 1,
        slowCallDuration: "1 second",
        slowCallRateThreshold: 1,
        minimumThroughput: 1000,
        slidingWindow: "20 seconds"
      })
      yield* onSuccess(b, 10_000)
      yield* onError(b, 10_000)
      expect(yield* metrics(b)).toEqual({ calls: 2, failures: 1, slowCalls: 2 })
      // the first slow call ended 10 s ago; three fast successes
      yield* onSuccess(b, 100)
      yield* onSuccess(b, 100)
      yield* onSuccess(b, 100)
      const s = yield* b.snapshot
      expect([s.calls, s.calls - s.failures, s.slowCalls]).toEqual([5, 4, 2])
      expect(s.slowCalls / s.calls).toBe(0.4)
    }))

  it.scoped("shouldClearSlidingTimeWindowMetrics", () =>
    Effect.gen(function*() {
      const b = yield* windowOf5
      yield* onError(b)
      expect(yield* metrics(b)).toEqual({ calls: 1, failures: 1, slowCalls: 0 })
      yield* TestClock.adjust("100 millis")
      yield* onSuccess(b)
      expect(yield* metrics(b)).toEqual({ calls: 2, failures: 1, slowCalls: 0 })
      yield* TestClock.adjust("700 millis")
      yield* onError(b, 0)
      expect(yield* metrics(b)).toEqual({ calls: 3, failures: 2, slowCalls: 0 })
      yield* TestClock.adjust("4 seconds")
      expect(yield* metrics(b)).toEqual({ calls: 3, failures: 2, slowCalls: 0 })
      yield* TestClock.adjust("1 second")
      expect(yield* metrics(b)).toEqual({ calls: 0, failures: 0, slowCalls: 0 })
      yield* TestClock.adjust("100 millis")
      yield* onSuccess(b)
      expect(yield* metrics(b)).toEqual({ calls: 1, failures: 0, slowCalls: 0 })
      yield* TestClock.adjust("5 seconds")
      yield* onSuccess(b)
      expect(yield* metrics(b)).toEqual({ calls: 1, failures: 0, slowCalls: 0 })
    }))

  it.scoped("testSlidingTimeWindowMetrics", () =>
    Effect.gen(function*() {
      const b = yield* windowOf5
      yield* onError(b)
      expect(yield* metrics(b)).toEqual({ calls: 1, failures: 1, slowCalls: 0 })
      yield* TestClock.adjust("100 millis")
      yield* onSuccess(b)
      expect(yield* metrics(b)).toEqual({ calls: 2, failures: 1, slowCalls: 0 })
      yield* TestClock.adjust("100 millis")
      yield* onSuccess(b)
      expect(yield* metrics(b)).toEqual({ calls: 3, failures: 1, slowCalls: 0 })
      yield* TestClock.adjust("1 second")
      yield* onSuccess(b)
      expect(yield* metrics(b)).toEqual({ calls: 4, failures: 1, slowCalls: 0 })
      yield* TestClock.adjust("1 second")
      yield* onSuccess(b)
      expect(yield* metrics(b)).toEqual({ calls: 5, failures: 1, slowCalls: 0 })
      yield* TestClock.adjust("1 second")
      yield* onError(b)
      expect(yield* metrics(b)).toEqual({ calls: 6, failures: 2, slowCalls: 0 })
      yield* TestClock.adjust("1 second")
      yield* onSuccess(b)
      expect(yield* metrics(b)).toEqual({ calls: 7, failures: 2, slowCalls: 0 })
      // the first second's three calls leave the window
      yield* TestClock.adjust("1 second")
      yield* onSuccess(b)
      expect(yield* metrics(b)).toEqual({ calls: 5, failures: 1, slowCalls: 0 })
      yield* TestClock.adjust("1 second")
      yield* onSuccess(b)
      expect(yield* metrics(b)).toEqual({ calls: 5, failures: 1, slowCalls: 0 })
      yield* TestClock.adjust("5 seconds")
      yield* onSuccess(b)
      expect(yield* metrics(b)).toEqual({ calls: 1, failures: 0, slowCalls: 0 })
    }))
})

// resilience4j-circuitbreaker/src/test/java/io/github/resilience4j/circuitbreaker/internal/
// CircuitBreakerExceptionHandlingTest.java: `recordException(p)` is `isFailure`, `ignoreExceptions` is `isIgnored`; a
// failure that is not recorded counts as a successful call, an ignored one is not counted at all
class BusinessException extends Error {}
class IOException extends Error {}

describe("peer resilience4j CircuitBreakerExceptionHandlingTest", () => {
  const counts = (s: CircuitBreaker.Snapshot) => ({
    failed: s.failures,
    successful: s.calls - s.failures,
    buffered: s.calls
  })

  it.scoped("shouldRecordRuntimeExceptionAsFailureAndBusinessExceptionAsSuccess", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make("testName", {
        failureRateThreshold: 0.5,
        minimumThroughput: 5,
        isFailure: (e) => !(e instanceof BusinessException)
      })
      yield* onError(breaker, 0, new RuntimeException())
      yield* onError(breaker, 0, new BusinessException("test"))
      expect(counts(yield* breaker.snapshot)).toEqual({ failed: 1, successful: 1, buffered: 2 })
    }))

  it.scoped("shouldRecordIOExceptionAsFailureAndBusinessExceptionAsSuccess", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make("testName", {
        failureRateThreshold: 0.5,
        minimumThroughput: 5,
        isFailure: (e) => e instanceof IOException
      })
      yield* onError(breaker, 0, new IOException())
      yield* onError(breaker, 0, new BusinessException("test"))
      expect(counts(yield* breaker.snapshot)).toEqual({ failed: 1, successful: 1, buffered: 2 })
    }))

  it.scoped("shouldRecordBusinessExceptionAsFailure", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make("testName", {
        failureRateThreshold: 0.5,
        minimumThroughput: 5,
        isFailure: (e) => e instanceof Error && e.message === "record"
      })
      yield* onError(breaker, 0, new BusinessException("record"))
      yield* onError(breaker, 0, new BusinessException("bla"))
      expect(counts(yield* breaker.snapshot)).toEqual({ failed: 1, successful: 1, buffered: 2 })
    }))

  it.scoped("shouldIgnoreNumberFormatException", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make("testName", {
        failureRateThreshold: 0.5,
        minimumThroughput: 5,
        breakDuration: "5 seconds",
        isIgnored: (e) => e instanceof NumberFormatException
      })
      yield* onError(breaker, 0, new RuntimeException())
      yield* onError(breaker, 0, new NumberFormatException())
      expect(counts(yield* breaker.snapshot)).toEqual({ failed: 1, successful: 0, buffered: 1 })
    }))
})

// resilience4j-circuitbreaker/src/test/java/io/github/resilience4j/circuitbreaker/CircuitBreakerConfigTest.java: the
// settings that mean nothing are refused when the breaker is made (a `RangeError` naming the option, a defect of
// `make`). Rates are ratios in (0, 1] where resilience4j takes percentages in (0, 100].
// Not ported here: zeroWaitIntervalShouldFail (Sturdy accepts a zero `breakDuration`: the next call probes at once)
// and maxWaitDurationInHalfOpenStateLessThanSecondShouldFail (`maxProbeDuration`, ported by the lead); the builder,
// predicate-combination and toString cases (Java builder mechanics).
describe("peer resilience4j CircuitBreakerConfigTest", () => {
  const refused = (options: CircuitBreaker.Options, field: string) =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(CircuitBreaker.make("testName", options))
      expect(exit._tag === "Failure" && String(exit.cause)).toMatch(new RegExp(`RangeError: CircuitBreaker: ${field}`))
    })

  it.scoped("zeroMaxFailuresShouldFail", () => refused({ failureRateThreshold: 0 }, "failureRateThreshold"))
  it.scoped("zeroSlowCallDurationThresholdShouldFail", () => refused({ slowCallDuration: 0 }, "slowCallDuration"))
  it.scoped("zeroPermittedNumberOfCallsInHalfOpenStateShouldFail", () =>
    Effect.zipRight(
      refused({ halfOpenMaxProbes: 0 }, "halfOpenMaxProbes"),
      refused({ successThreshold: 0 }, "successThreshold")
    ))
  it.scoped("zeroSlidingWindowSizeShouldFail2", () => refused({ slidingWindow: 0 }, "slidingWindow"))
  it.scoped("zeroMinimumNumberOfCallsShouldFai2l", () => refused({ minimumThroughput: 0 }, "minimumThroughput"))
  it.scoped("zeroFailureRateThresholdShouldFail", () => refused({ failureRateThreshold: 0 }, "failureRateThreshold"))
  it.scoped("zeroSlowCallRateThresholdShouldFail", () => refused({ slowCallRateThreshold: 0 }, "slowCallRateThreshold"))
  it.scoped("failureRateThresholdAboveHundredShouldFail", () =>
    refused({ failureRateThreshold: 1.01 }, "failureRateThreshold"))
  it.scoped("slowCallRateThresholdAboveHundredShouldFail", () =>
    refused({ slowCallRateThreshold: 1.01 }, "slowCallRateThreshold"))

  it.scoped("shouldSetDefaultSettings", () =>
    Effect.gen(function*() {
      // resilience4j's defaults are a 50 % rate over 100 calls and a 60 s wait; Sturdy's plain breaker opens after 3
      // failures in a row and waits 60 s (rates are opt-in), so the wait is the same
      const breaker = yield* CircuitBreaker.make("testName")
      for (let i = 0; i < 3; i++) yield* onError(breaker)
      const e = yield* Effect.flip(CircuitBreaker.withBreaker(Effect.void, breaker))
      expect(CircuitBreaker.isCircuitOpen(e) && [e.reason, Duration.toMillis(e.retryAfter)]).toEqual([
        "ConsecutiveFailures",
        60_000
      ])
    }))

  it.scoped("shouldAllowHighMinimumNumberOfCallsWhenSlidingWindowIsTimeBased", () =>
    Effect.gen(function*() {
      // a minimum above what the window ever holds is allowed: the rate is then never judged
      const breaker = yield* CircuitBreaker.make("testName", {
        failureRateThreshold: 0.5,
        minimumThroughput: 1000,
        slidingWindow: "10 seconds"
      })
      for (let i = 0; i < 20; i++) yield* onError(breaker)
      expect(yield* breaker.state).toBe("Closed")
    }))
})

// resilience4j-circuitbreaker/src/test/java/io/github/resilience4j/circuitbreaker/CircuitBreakerTest.java: the
// decorators (Supplier, Callable, Runnable, Function, CompletionStage, Future...) are one `withBreaker` on an Effect;
// the cases with a COUNT_BASED window of 2 run on a time window with `minimumThroughput: 2`.
// Deliberate difference: a Java `Error` (StackOverflowError) is not recorded by resilience4j; an Effect defect is the
// counterpart of an unexpected RuntimeException and counts as a failure (shouldNotMeasureErrorsAsFailures).
describe("peer resilience4j CircuitBreakerTest", () => {
  const counts = (s: CircuitBreaker.Snapshot) => ({
    buffered: s.calls,
    failed: s.failures,
    successful: s.calls - s.failures
  })

  it.scoped("shouldDecorateSupplierAndReturnWithSuccess", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make("testName")
      expect((yield* breaker.snapshot).calls).toBe(0)
      expect(yield* CircuitBreaker.withBreaker(Effect.succeed("Hello world"), breaker)).toBe("Hello world")
      expect(counts(yield* breaker.snapshot)).toEqual({ buffered: 1, failed: 0, successful: 1 })
    }))

  it.scoped("shouldDecorateSupplierAndReturnWithException", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make("testName")
      const error = yield* Effect.flip(CircuitBreaker.withBreaker(Effect.fail(new RuntimeException("BAM!")), breaker))
      expect(error).toBeInstanceOf(RuntimeException)
      expect(counts(yield* breaker.snapshot)).toEqual({ buffered: 1, failed: 1, successful: 0 })
    }))

  it.scoped("shouldReturnFailureWithRuntimeException", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make("testName")
      expect(yield* breaker.state).toBe("Closed")
      const exit = yield* Effect.exit(CircuitBreaker.withBreaker(Effect.fail(new RuntimeException("BAM!")), breaker))
      expect(exit._tag).toBe("Failure")
      expect(counts(yield* breaker.snapshot)).toEqual({ buffered: 1, failed: 1, successful: 0 })
    }))

  it.scoped("shouldReturnFailureWithCircuitBreakerOpenException", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make("testName", {
        failureRateThreshold: 0.5,
        minimumThroughput: 2,
        halfOpenMaxProbes: 2,
        successThreshold: 2,
        breakDuration: "1 second"
      })
      yield* onError(breaker)
      yield* onError(breaker)
      expect(yield* breaker.state).toBe("Open")
      let ran = false
      const rejected = yield* Effect.flip(CircuitBreaker.withBreaker(
        Effect.suspend(() => {
          ran = true
          return Effect.fail(new RuntimeException("BAM!"))
        }),
        breaker
      ))
      expect(CircuitBreaker.isCircuitOpen(rejected)).toBe(true)
      expect(CircuitBreaker.isCircuitOpen(rejected) && rejected.failures).toBe(2)
      expect(ran).toBe(false)
    }))

  it.scoped("shouldNotRecordIOExceptionAsAFailure", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make("testName", {
        failureRateThreshold: 0.5,
        minimumThroughput: 2,
        breakDuration: "1 second",
        isIgnored: (e) => e instanceof IOException
      })
      // one failure: still closed
      yield* onError(breaker, 0, new RuntimeException())
      expect(yield* breaker.state).toBe("Closed")
      // an ignored IOException (a SocketTimeoutException) is not recorded: still closed, the caller gets it
      const error = yield* Effect.flip(CircuitBreaker.withBreaker(Effect.fail(new IOException("BAM!")), breaker))
      expect(error).toBeInstanceOf(IOException)
      expect(yield* breaker.state).toBe("Closed")
      expect(counts(yield* breaker.snapshot)).toEqual({ buffered: 1, failed: 1, successful: 0 })
    }))

  it.scoped("shouldInvokeRecoverFunction", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make("testName")
      const result = yield* CircuitBreaker.withBreaker(Effect.fail(new RuntimeException("BAM!")), breaker).pipe(
        Effect.catchAll(() => Effect.succeed("Hello world from recovery function"))
      )
      expect(result).toBe("Hello world from recovery function")
      expect(counts(yield* breaker.snapshot)).toEqual({ buffered: 1, failed: 1, successful: 0 })
    }))

  it.scoped("shouldChainDecoratedFunctions", () =>
    Effect.gen(function*() {
      const first = yield* CircuitBreaker.make("first")
      const second = yield* CircuitBreaker.make("second")
      const hello = CircuitBreaker.withBreaker(Effect.succeed("Bob"), first)
      const result = yield* hello.pipe(
        Effect.flatMap((name) => CircuitBreaker.withBreaker(Effect.succeed(`Hello world ${name}`), second))
      )
      expect(result).toBe("Hello world Bob")
      expect((yield* first.snapshot).calls).toBe(1)
      expect((yield* second.snapshot).calls).toBe(1)
    }))

  it.scoped("shouldNotMeasureErrorsAsFailures", () =>
    Effect.gen(function*() {
      // resilience4j records nothing for a java.lang.Error; a defect is recorded as a failed call in Sturdy
      const breaker = yield* CircuitBreaker.make("testName")
      const exit = yield* Effect.exit(CircuitBreaker.withBreaker(Effect.die(new RangeError("BAM!")), breaker))
      expect(exit._tag === "Failure" && exit.cause._tag).toBe("Die")
      expect(counts(yield* breaker.snapshot)).toEqual({ buffered: 1, failed: 1, successful: 0 })
    }))

  it.scoped("shouldDecorateFutureWithSupplierAndCallCancel", () =>
    Effect.gen(function*() {
      // a call cancelled by its caller is not recorded (resilience4j releases its permission)
      const breaker = yield* CircuitBreaker.make("testName")
      const fiber = yield* Effect.fork(CircuitBreaker.withBreaker(Effect.never, breaker))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(fiber)
      expect(counts(yield* breaker.snapshot)).toEqual({ buffered: 0, failed: 0, successful: 0 })
    }))
})
