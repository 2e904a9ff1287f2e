// Ported from SmallRye Fault Tolerance (smallrye/smallrye-fault-tolerance, commit 5066307cd9021e850c3ac4dda8b352707fbb8722),
// implementation/core/src/test/java/io/smallrye/faulttolerance/core/: circuit/breaker/CircuitBreakerSyncTest.java,
// circuit/breaker/AbstractRollingWindowTest.java and composition/CircuitBreakerAndRetryTest.java (with
// composition/Strategies.java), one `it` per SmallRye case, named after it.
// Mapping: `new CircuitBreaker(.., failOn, delay, requestVolumeThreshold, failureRatio, successThreshold, ..)` is
// `CircuitBreaker.make(key, { slidingWindow: { calls: requestVolumeThreshold }, minimumThroughput:
// requestVolumeThreshold, failureRateThreshold: failureRatio, breakDuration: delay, successThreshold, halfOpenMaxProbes:
// successThreshold, isFailure })`: SmallRye's rolling window of the last `requestVolumeThreshold` calls is judged once
// it is full, and opens when it holds `ceil(failureRatio × size)` failures (the same as Sturdy's `failures / calls >=
// failureRatio`); half-open it lets `successThreshold` probes through and rejects the rest, closes after
// `successThreshold` successes and reopens on one failure. `SetBasedExceptionDecision(failOn = {TestException})` is
// `isFailure: (e) => e instanceof TestException`: any other exception counts as a success in both;
// `ExceptionDecision.ALWAYS_FAILURE` is every failure counting (Sturdy's default). `CircuitBreakerOpenException` is
// `CircuitOpen`; `currentState()` is `state`. The TestStopwatch (elapsed time since the breaker opened) is the
// TestClock moved from the moment of opening: SmallRye's `setCurrentValue(0)` right after a reopen is "no time has
// passed since", i.e. no adjustment. The rolling-window scenarios (which test the window object on its own, its
// `recordFailure()` answering "threshold reached") are run through a breaker: "threshold reached" is the breaker being
// Open after that call. The CircuitBreakerEvents SUCCESS / FAILURE / PREVENTED counts of CircuitBreakerAndRetryTest are
// read on the upstream (calls that reached it, by outcome) and on the `CircuitOpen` rejections seen inside the retry;
// Strategies.retry (10 retries, no delay, every failure retried) is `Retry.retry({ schedule: Schedule.recurs(10) })`.
// Differences: none in these cases. SmallRye's timer task that moves an open breaker to half-open (test3's
// `timer.executeSynchronously`) is Sturdy's `state` reading HalfOpen once the pause is over (no timers).
// Not ported: CircuitBreakerAsyncTest.java and CircuitBreakerFutureTest.java (test1-3 again, the upstream run on a
// thread pool or returning a java.util.concurrent.Future: the same sequences as the sync ones, Java-specific
// wrappers); Bitset/Default/NaiveRollingWindowTest run AbstractRollingWindowTest's two scenarios on three Java
// implementations of the window: ported once.
import { describe, expect, it } from "@effect/vitest"
import { CircuitBreaker, Retry } from "@sturdy/policy"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import { RuntimeException, TestException } from "./utils/smallrye.js"

// new CircuitBreaker<>(invocation(), "test invocation", failOn(TestException), 1000, 4, 0.5, 2, ...)
const testInvocationBreaker = CircuitBreaker.make("test invocation", {
  isFailure: (e) => e instanceof TestException,
  breakDuration: "1000 millis",
  slidingWindow: { calls: 4 },
  minimumThroughput: 4,
  failureRateThreshold: 0.5,
  successThreshold: 2,
  halfOpenMaxProbes: 2
})

type Call = Effect.Effect<string, TestException | RuntimeException>

const apply = (cb: CircuitBreaker.CircuitBreaker, call: Call) => Effect.either(CircuitBreaker.withBreaker(call, cb))

const returns = (cb: CircuitBreaker.CircuitBreaker, value: string) =>
  Effect.map(apply(cb, Effect.succeed(value)), (result) => expect(result).toEqual(Either.right(value)))

const throws = (cb: CircuitBreaker.CircuitBreaker, error: TestException | RuntimeException) =>
  Effect.map(apply(cb, Effect.fail(error)), (result) => expect(result).toEqual(Either.left(error)))

const prevented = (cb: CircuitBreaker.CircuitBreaker) =>
  Effect.map(apply(cb, Effect.succeed("ignored")), (result) => {
    expect(Either.isLeft(result) && CircuitBreaker.isCircuitOpen(result.left)).toBe(true)
  })

const stateIs = (cb: CircuitBreaker.CircuitBreaker, state: CircuitBreaker.State) =>
  Effect.map(cb.state, (s) => expect(s).toBe(state))

describe("peer SmallRye CircuitBreakerSyncTest", () => {
  it.scoped("test1", () =>
    Effect.gen(function*() {
      const cb = yield* testInvocationBreaker
      // circuit breaker is closed
      yield* stateIs(cb, "Closed")
      yield* returns(cb, "foobar1")
      yield* returns(cb, "foobar2")
      yield* throws(cb, new RuntimeException()) // treated as success
      yield* returns(cb, "foobar3")
      yield* returns(cb, "foobar4")
      yield* returns(cb, "foobar5")
      yield* throws(cb, new TestException())
      yield* returns(cb, "foobar6")
      yield* throws(cb, new TestException())
      // circuit breaker is open
      yield* stateIs(cb, "Open")
      for (let i = 0; i < 5; i++) yield* prevented(cb)
      yield* TestClock.adjust("1500 millis")
      yield* returns(cb, "foobar7")
      // circuit breaker is half-open
      yield* stateIs(cb, "HalfOpen")
      yield* throws(cb, new TestException())
      // circuit breaker is open (SmallRye's stopwatch back to 0: no time since the reopening)
      yield* stateIs(cb, "Open")
      for (let i = 0; i < 3; i++) yield* prevented(cb)
      yield* TestClock.adjust("1500 millis")
      yield* returns(cb, "foobar8")
      // circuit breaker is half-open
      yield* stateIs(cb, "HalfOpen")
      yield* returns(cb, "foobar9")
      // circuit breaker is closed
      yield* stateIs(cb, "Closed")
      yield* returns(cb, "foobar10")
    }))

  it.scoped("test2", () =>
    Effect.gen(function*() {
      const cb = yield* testInvocationBreaker
      yield* stateIs(cb, "Closed")
      yield* returns(cb, "foobar1")
      yield* throws(cb, new TestException())
      yield* throws(cb, new TestException())
      yield* returns(cb, "foobar2")
      // circuit breaker is open
      yield* stateIs(cb, "Open")
      for (let i = 0; i < 5; i++) yield* prevented(cb)
      yield* TestClock.adjust("1500 millis")
      yield* returns(cb, "foobar3")
      // circuit breaker is half-open
      yield* stateIs(cb, "HalfOpen")
      yield* returns(cb, "foobar4")
      // circuit breaker is closed
      yield* stateIs(cb, "Closed")
      yield* returns(cb, "foobar5")
    }))

  it.scoped("test3", () =>
    Effect.gen(function*() {
      const cb = yield* testInvocationBreaker
      yield* stateIs(cb, "Closed")
      yield* returns(cb, "foobar1")
      yield* throws(cb, new TestException())
      yield* throws(cb, new TestException())
      yield* returns(cb, "foobar2")
      // circuit breaker is open; SmallRye's scheduled task moves it to half-open when the delay is over: with no
      // timers, Sturdy's state reads HalfOpen once the pause is over, before any call
      yield* stateIs(cb, "Open")
      // the pause SmallRye schedules its task for: the breaker's delay
      expect(Duration.toMillis((yield* cb.snapshot).retryAfter)).toBe(1000)
      yield* TestClock.adjust("1000 millis")
      // circuit breaker is half-open
      yield* stateIs(cb, "HalfOpen")
      yield* returns(cb, "foobar3")
      yield* returns(cb, "foobar4")
      // circuit breaker is closed
      yield* stateIs(cb, "Closed")
      yield* returns(cb, "foobar5")
    }))
})

// RollingWindow.create(4, 2): a window of 4 calls that reports "threshold reached" at 2 failures (failureRatio 0.5)
describe("peer SmallRye circuit breaker AbstractRollingWindowTest", () => {
  const window = CircuitBreaker.make("window", {
    slidingWindow: { calls: 4 },
    minimumThroughput: 4,
    failureRateThreshold: 0.5,
    breakDuration: "1 minute"
  })
  const failure = new TestException()

  it.scoped("specScenario1", () =>
    Effect.gen(function*() {
      const cb = yield* window
      yield* returns(cb, "success")
      yield* stateIs(cb, "Closed")
      yield* throws(cb, failure)
      yield* stateIs(cb, "Closed")
      yield* throws(cb, failure)
      yield* stateIs(cb, "Closed")
      // the fourth call fills the window: 2 failures of 4, the threshold is reached on a success
      yield* returns(cb, "success")
      yield* stateIs(cb, "Open")
    }))

  it.scoped("specScenario2", () =>
    Effect.gen(function*() {
      const cb = yield* window
      yield* returns(cb, "success")
      yield* throws(cb, failure)
      yield* returns(cb, "success")
      yield* returns(cb, "success")
      // full window, 1 failure of 4: below the threshold
      yield* stateIs(cb, "Closed")
      // the window rolls: [failure, success, success, failure], 2 of 4
      yield* throws(cb, failure)
      yield* stateIs(cb, "Open")
    }))
})

// Strategies: retry(10 retries, no delay, every failure retried) around
// circuitBreaker(ALWAYS_FAILURE, delay, requestVolumeThreshold 5, failureRatio 0.2, successThreshold 3)
describe("peer SmallRye CircuitBreakerAndRetryTest", () => {
  const recorded = (failures: number, delayMillis = 0) =>
    Effect.gen(function*() {
      const cb = yield* CircuitBreaker.make("circuit breaker", {
        breakDuration: `${delayMillis} millis`,
        slidingWindow: { calls: 5 },
        minimumThroughput: 5,
        failureRateThreshold: 0.2,
        successThreshold: 3,
        halfOpenMaxProbes: 3
      })
      const counts = { success: 0, failure: 0, prevented: 0 }
      let executions = 0
      const invocation = Effect.suspend(() => {
        executions++
        if (executions <= failures) {
          counts.failure++
          return Effect.fail(new TestException())
        }
        counts.success++
        return Effect.succeed("foobar")
      })
      const operation = CircuitBreaker.withBreaker(invocation, cb).pipe(
        Effect.tapError((e) => Effect.sync(() => CircuitBreaker.isCircuitOpen(e) && counts.prevented++)),
        Retry.retry({ schedule: Schedule.recurs(10) })
      )
      return { operation, counts, cb }
    })

  it.scoped("shouldRecordEveryAttemptInCircuitBreaker", () =>
    Effect.gen(function*() {
      // fail 2x and then succeed, under circuit breaker; volume threshold 5, so the breaker stays closed
      const { cb, counts, operation } = yield* recorded(2)
      expect(yield* operation).toBe("foobar")
      expect(counts).toEqual({ success: 1, failure: 2, prevented: 0 })
      expect(yield* cb.state).toBe("Closed")
    }))

  it.scoped("shouldRetryCircuitBreakerInHalfOpen", () =>
    Effect.gen(function*() {
      // fail 5x and then succeed: the breaker opens right after the fifth failure; its delay is 0, so the next
      // attempt is a probe (half-open) and succeeds: 6 attempts (1 initial + 5 retries)
      const { cb, counts, operation } = yield* recorded(5)
      expect(yield* operation).toBe("foobar")
      expect(counts).toEqual({ success: 1, failure: 5, prevented: 0 })
      // 1 successful probe of the 3 needed
      expect(yield* cb.state).toBe("HalfOpen")
    }))

  it.scoped("shouldRetryCircuitBreakerInHalfOpenOrOpenAndFail", () =>
    Effect.gen(function*() {
      // fail 5x and then succeed; the breaker's delay is 100 ms, so the remaining attempts are prevented while it
      // is open: 11 attempts (1 initial + 10 retries), the last one's CircuitOpen returned
      const { counts, operation } = yield* recorded(5, 100)
      const error = yield* Effect.flip(operation)
      expect(CircuitBreaker.isCircuitOpen(error)).toBe(true)
      expect(counts).toEqual({ success: 0, failure: 5, prevented: 6 })
    }))
})
