// Ported from Failsafe's core/src/test/java/dev/failsafe/internal/ClosedStateTest.java, HalfOpenStateTest.java and
// OpenStateTest.java, CircuitBreakerTest.java, functional/CircuitBreakerTest.java, functional/DelayableCircuitBreakerTest.java
// and functional/NestedCircuitBreakerTest.java (failsafe-lib/failsafe), one `it` per Failsafe case, named after it.
// `handle(X)` is `isFailure: (e) => e instanceof X`; `withDelayFn` (a delay computed from the failure) is a
// `breakDuration` Schedule, whose input is the failure that opened the breaker; `getFailureCount()`/`getFailureRate()`
// are `snapshot`'s `failures` and `failures / calls`. `Failsafe.with(retryPolicy, breaker)` is the call wrapped by the breaker, then by `Retry.retry`;
// `withMaxRetries(n)` is `schedule: Schedule.recurs(n)`, `withMaxAttempts(n)` `Schedule.recurs(n - 1)`; `handleResult(false)`
// is a call failing where Failsafe's returns false; `withFailureThreshold(k, n, period)` ("k failures among at least n
// calls in the period") is `failureRateThreshold: k / n`, `minimumThroughput: n` over `slidingWindow: period`, and
// `withFailureRateThreshold(p, n, period)` is `failureRateThreshold: p / 100`, `minimumThroughput: n`.
// Mapping: `CircuitBreaker.ofDefaults()` opens on one failure and closes on one success: `consecutiveFailures: 1`
// (Sturdy's default is 3). `withFailureThreshold(n)` ("n of n") is `consecutiveFailures: n`; `withFailureThreshold(k,
// n)` ("k of the last n") is `failureRateThreshold: k / n` over `slidingWindow: { calls: n }` judged from
// `minimumThroughput: n` calls; `withSuccessThreshold(k)` and `withSuccessThreshold(k, n)` are `successThreshold: k`;
// `withDelay(d)` is `breakDuration: d`; `isOpen()`/`isClosed()` read `state`; `breaker.open()` is a tripping call (a
// Sturdy breaker opened by hand with `isolate` stays open until `reset`); `breaker.halfOpen()` is a tripping call
// followed by the pause; `state.recordSuccess()`/`recordFailure()` are calls through the breaker;
// `getRemainingDelay()` is `snapshot.retryAfter`.
// Deliberate differences (each test says which): Failsafe judges "k of n" as soon as k failures are recorded; Sturdy
// judges a count window's ratio from `minimumThroughput` calls, so with `minimumThroughput: n` a window that is not
// yet full is not judged (the cases below fill it). In HalfOpen Failsafe keeps a window of probe outcomes and
// decides on it ("k of n" successes, or the failure threshold when no success threshold is set); Sturdy, as Polly and
// resilience4j's default, reopens on the first failed probe and closes after `successThreshold` successful probes
// (module doc of CircuitBreaker.ts).
import { describe, expect, it } from "@effect/vitest"
import { CircuitBreaker, Retry } from "@sturdy/policy"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import { onError, onSuccess } from "./utils/resilience4j.js"

const delay = Duration.minutes(1) // Failsafe's default delay

const ofDefaults: CircuitBreaker.Options = { consecutiveFailures: 1, breakDuration: delay }
// withFailureThreshold(k, n)
const ratio = (k: number, n: number): CircuitBreaker.Options => ({
  failureRateThreshold: k / n,
  slidingWindow: { calls: n },
  minimumThroughput: n
})

const isOpen = (b: CircuitBreaker.CircuitBreaker) => Effect.map(b.state, (s) => s === "Open")
const isClosed = (b: CircuitBreaker.CircuitBreaker) => Effect.map(b.state, (s) => s === "Closed")

const closed = (options: CircuitBreaker.Options) =>
  CircuitBreaker.make("failsafe", { breakDuration: delay, ...options })

// breaker.halfOpen(): failures until the breaker opens, then the pause
const halfOpen = (options: CircuitBreaker.Options) =>
  Effect.gen(function*() {
    const b = yield* closed(options)
    for (let i = 0; i < 100 && (yield* b.state) !== "Open"; i++) yield* onError(b)
    expect(yield* b.state).toBe("Open")
    yield* TestClock.adjust(delay)
    expect(yield* b.state).toBe("HalfOpen")
    return b
  })

describe("peer failsafe ClosedStateTest", () => {
  it.scoped("testFailureWithDefaultConfig", () =>
    Effect.gen(function*() {
      const b = yield* closed(ofDefaults)
      expect(yield* isOpen(b)).toBe(false)
      yield* onError(b)
      expect(yield* isOpen(b)).toBe(true)
    }))

  it.scoped("testFailureWithFailureRatio", () =>
    Effect.gen(function*() {
      const b = yield* closed(ratio(2, 3))
      yield* onError(b)
      yield* onSuccess(b)
      expect(yield* isClosed(b)).toBe(true)
      yield* onError(b)
      expect(yield* isOpen(b)).toBe(true)
    }))

  it.scoped("testFailureWithFailureThreshold", () =>
    Effect.gen(function*() {
      const b = yield* closed({ consecutiveFailures: 3 })
      yield* onError(b)
      yield* onSuccess(b)
      yield* onError(b)
      yield* onError(b)
      expect(yield* isClosed(b)).toBe(true)
      yield* onError(b)
      expect(yield* isOpen(b)).toBe(true)
    }))

  it.scoped("testSuccessWithDefaultConfig", () =>
    Effect.gen(function*() {
      const b = yield* closed(ofDefaults)
      expect(yield* isClosed(b)).toBe(true)
      yield* onSuccess(b)
      expect(yield* isClosed(b)).toBe(true)
    }))

  it.scoped("testSuccessWithFailureRatio", () =>
    Effect.gen(function*() {
      const b = yield* closed(ratio(3, 4))
      for (let i = 0; i < 20; i++) {
        yield* onSuccess(b)
        yield* onError(b)
        expect(yield* isClosed(b)).toBe(true)
      }
    }))

  it.scoped("testSuccessWithFailureThreshold", () =>
    Effect.gen(function*() {
      const b = yield* closed({ consecutiveFailures: 2 })
      for (let i = 0; i < 20; i++) {
        yield* onSuccess(b)
        yield* onError(b)
        expect(yield* isClosed(b)).toBe(true)
      }
    }))
})

describe("peer failsafe HalfOpenStateTest", () => {
  it.scoped("testFailureWithDefaultConfig", () =>
    Effect.gen(function*() {
      const b = yield* halfOpen(ofDefaults)
      expect(yield* isOpen(b)).toBe(false)
      expect(yield* isClosed(b)).toBe(false)
      yield* onError(b)
      expect(yield* isOpen(b)).toBe(true)
    }))

  it.scoped("testFailureWithFailureThreshold", () =>
    Effect.gen(function*() {
      // Failsafe reopens after 3 failed probes; Sturdy after the first
      const b = yield* halfOpen({ consecutiveFailures: 3 })
      expect(yield* isOpen(b)).toBe(false)
      expect(yield* isClosed(b)).toBe(false)
      yield* onError(b)
      expect(yield* isOpen(b)).toBe(true)
    }))

  it.scoped("testFailureWithFailureRatio", () =>
    Effect.gen(function*() {
      // Failsafe: F, S leave it half-open and the second F reopens; Sturdy: the S closes it (one success), so the
      // failures that follow are judged by the emptied closed window
      const b = yield* halfOpen(ratio(2, 3))
      yield* onError(b)
      expect(yield* isOpen(b)).toBe(true)
      yield* TestClock.adjust(delay)
      yield* onSuccess(b)
      expect(yield* isClosed(b)).toBe(true)
      yield* onError(b)
      yield* onError(b)
      expect(yield* isClosed(b)).toBe(true)
      yield* onError(b)
      expect(yield* isOpen(b)).toBe(true)
    }))

  it.scoped("testFailureWithSuccessAndFailureThresholds", () =>
    Effect.gen(function*() {
      const b = yield* halfOpen({ successThreshold: 3, consecutiveFailures: 2 })
      yield* onSuccess(b)
      yield* onSuccess(b)
      expect(yield* isOpen(b)).toBe(false)
      expect(yield* isClosed(b)).toBe(false)
      yield* onError(b)
      expect(yield* isOpen(b)).toBe(true)
    }))

  it.scoped("testFailureWithSuccessAndFailureRatios", () =>
    Effect.gen(function*() {
      // Failsafe (3 of 4 successes): S, F, S stay half-open and the second F reopens; Sturdy reopens on the first F
      const b = yield* halfOpen({ ...ratio(3, 5), successThreshold: 3 })
      yield* onSuccess(b)
      expect(yield* isOpen(b)).toBe(false)
      expect(yield* isClosed(b)).toBe(false)
      yield* onError(b)
      expect(yield* isOpen(b)).toBe(true)
    }))

  it.scoped("testFailureWithSuccessRatio", () =>
    Effect.gen(function*() {
      // Failsafe (2 of 3 successes): F, S stay half-open; Sturdy reopens on the first F
      const b = yield* halfOpen({ ...ofDefaults, successThreshold: 2 })
      expect(yield* isOpen(b)).toBe(false)
      yield* onError(b)
      expect(yield* isOpen(b)).toBe(true)
    }))

  it.scoped("testFailureWithSuccessRatioAndFailureThreshold", () =>
    Effect.gen(function*() {
      // Failsafe (2 of 4 successes): S, F, F stay half-open; Sturdy reopens on the first F
      const b = yield* halfOpen({ successThreshold: 2, consecutiveFailures: 1 })
      yield* onSuccess(b)
      expect(yield* isOpen(b)).toBe(false)
      expect(yield* isClosed(b)).toBe(false)
      yield* onError(b)
      expect(yield* isOpen(b)).toBe(true)
    }))

  it.scoped("testFailureWithSuccessThreshold", () =>
    Effect.gen(function*() {
      const b = yield* halfOpen({ ...ofDefaults, successThreshold: 3 })
      expect(yield* isOpen(b)).toBe(false)
      expect(yield* isClosed(b)).toBe(false)
      yield* onSuccess(b)
      yield* onError(b)
      expect(yield* isOpen(b)).toBe(true)
    }))

  it.scoped("testFailureWithSuccessThresholdAndFailureRatio", () =>
    Effect.gen(function*() {
      const b = yield* halfOpen({ ...ratio(3, 5), successThreshold: 3 })
      expect(yield* isOpen(b)).toBe(false)
      expect(yield* isClosed(b)).toBe(false)
      yield* onError(b)
      expect(yield* isOpen(b)).toBe(true)
    }))

  it.scoped("testSuccessWithDefaultConfig", () =>
    Effect.gen(function*() {
      const b = yield* halfOpen(ofDefaults)
      expect(yield* isOpen(b)).toBe(false)
      expect(yield* isClosed(b)).toBe(false)
      yield* onSuccess(b)
      expect(yield* isClosed(b)).toBe(true)
    }))

  it.scoped("testSuccessWithFailureRatio", () =>
    Effect.gen(function*() {
      // Failsafe: F, S stay half-open and the second S closes; Sturdy: F reopens, and after the pause one S closes
      const b = yield* halfOpen(ratio(2, 3))
      yield* onError(b)
      expect(yield* isOpen(b)).toBe(true)
      yield* TestClock.adjust(delay)
      expect(yield* isClosed(b)).toBe(false)
      yield* onSuccess(b)
      expect(yield* isClosed(b)).toBe(true)
    }))

  it.scoped("testSuccessWithFailureThreshold", () =>
    Effect.gen(function*() {
      // Failsafe: F stays half-open (3 failures reopen), S closes; Sturdy: F reopens, after the pause S closes
      const b = yield* halfOpen({ consecutiveFailures: 3 })
      expect(yield* isOpen(b)).toBe(false)
      expect(yield* isClosed(b)).toBe(false)
      yield* onError(b)
      expect(yield* isOpen(b)).toBe(true)
      yield* TestClock.adjust(delay)
      yield* onSuccess(b)
      expect(yield* isClosed(b)).toBe(true)
    }))

  it.scoped("testSuccessWithSuccessAndFailureRatios", () =>
    Effect.gen(function*() {
      // Failsafe (3 of 4): S, F, S, S closes; Sturdy: three successful probes in a row close
      const b = yield* halfOpen({ ...ratio(3, 5), successThreshold: 3 })
      yield* onSuccess(b)
      yield* onSuccess(b)
      expect(yield* isOpen(b)).toBe(false)
      expect(yield* isClosed(b)).toBe(false)
      yield* onSuccess(b)
      expect(yield* isClosed(b)).toBe(true)
    }))

  it.scoped("testSuccessWithSuccessAndFailureThresholds", () =>
    Effect.gen(function*() {
      const b = yield* halfOpen({ successThreshold: 3, consecutiveFailures: 2 })
      yield* onSuccess(b)
      yield* onSuccess(b)
      expect(yield* isOpen(b)).toBe(false)
      expect(yield* isClosed(b)).toBe(false)
      yield* onSuccess(b)
      expect(yield* isClosed(b)).toBe(true)
    }))

  it.scoped("testSuccessWithSuccessRatio", () =>
    Effect.gen(function*() {
      // Failsafe (2 of 3): F, S, S closes; Sturdy: two successful probes close
      const b = yield* halfOpen({ ...ofDefaults, successThreshold: 2 })
      yield* onSuccess(b)
      expect(yield* isOpen(b)).toBe(false)
      expect(yield* isClosed(b)).toBe(false)
      yield* onSuccess(b)
      expect(yield* isClosed(b)).toBe(true)
    }))

  it.scoped("testSuccessWithSuccessRatioAndFailureThreshold", () =>
    Effect.gen(function*() {
      // Failsafe (3 of 4): S, S, F, S closes; Sturdy: three successful probes close
      const b = yield* halfOpen({ successThreshold: 3, consecutiveFailures: 2 })
      yield* onSuccess(b)
      yield* onSuccess(b)
      expect(yield* isOpen(b)).toBe(false)
      expect(yield* isClosed(b)).toBe(false)
      yield* onSuccess(b)
      expect(yield* isClosed(b)).toBe(true)
    }))

  it.scoped("testSuccessWithSuccessThreshold", () =>
    Effect.gen(function*() {
      const b = yield* halfOpen({ ...ofDefaults, successThreshold: 3 })
      for (let i = 0; i < 3; i++) {
        expect(yield* isOpen(b)).toBe(false)
        expect(yield* isClosed(b)).toBe(false)
        yield* onSuccess(b)
      }
      expect(yield* isClosed(b)).toBe(true)
    }))

  it.scoped("testSuccessWithSuccessThresholdAndFailureRatio", () =>
    Effect.gen(function*() {
      const b = yield* halfOpen({ ...ratio(3, 5), successThreshold: 2 })
      yield* onSuccess(b)
      expect(yield* isOpen(b)).toBe(false)
      expect(yield* isClosed(b)).toBe(false)
      yield* onSuccess(b)
      expect(yield* isClosed(b)).toBe(true)
    }))
})

describe("peer failsafe OpenStateTest", () => {
  it.scoped("testTryAcquirePermit", () =>
    Effect.gen(function*() {
      const b = yield* closed({ ...ofDefaults, breakDuration: "100 millis" })
      yield* onError(b)
      expect(yield* isOpen(b)).toBe(true)
      const rejected = yield* Effect.flip(CircuitBreaker.withBreaker(Effect.succeed(1), b))
      expect(CircuitBreaker.isCircuitOpen(rejected)).toBe(true)
      yield* TestClock.adjust("110 millis")
      expect(yield* b.state).toBe("HalfOpen")
      // the permit is granted: the call runs as a probe
      expect(yield* CircuitBreaker.withBreaker(Effect.succeed(1), b)).toBe(1)
    }))

  it.scoped("testRemainingDelay", () =>
    Effect.gen(function*() {
      const b = yield* closed({ ...ofDefaults, breakDuration: "1 second" })
      yield* onError(b)
      let remaining = Duration.toMillis((yield* b.snapshot).retryAfter)
      expect(remaining).toBeLessThanOrEqual(1000)
      expect(remaining).toBeGreaterThan(0)
      yield* TestClock.adjust("110 millis")
      remaining = Duration.toMillis((yield* b.snapshot).retryAfter)
      expect(remaining).toBeLessThan(900)
      expect(remaining).toBeGreaterThan(0)
    }))

  it.scoped("testNoRemainingDelay", () =>
    Effect.gen(function*() {
      const b = yield* closed({ ...ofDefaults, breakDuration: "10 millis" })
      // a closed breaker has no remaining delay
      expect(Duration.toMillis((yield* b.snapshot).retryAfter)).toBe(0)
      yield* onError(b)
      yield* TestClock.adjust("50 millis")
      expect(Duration.toMillis((yield* b.snapshot).retryAfter)).toBe(0)
    }))
})

class IllegalStateException extends Error {}
class ConnectException extends Error {}

describe("peer failsafe CircuitBreakerTest (functional)", () => {
  it.scoped("shouldRejectInitialExecutionWhenCircuitOpen", () =>
    Effect.gen(function*() {
      const b = yield* closed(ofDefaults)
      yield* b.isolate
      let executions = 0
      const e = yield* Effect.flip(CircuitBreaker.withBreaker(Effect.sync(() => executions++), b))
      expect(CircuitBreaker.isCircuitOpen(e)).toBe(true)
      expect(executions).toBe(0)
      expect(yield* isOpen(b)).toBe(true)
    }))

  it.scoped("shouldRejectExcessiveAttemptsWhenBreakerHalfOpen", () =>
    Effect.gen(function*() {
      // Failsafe lets as many probes in at once as the success threshold; Sturdy's `halfOpenMaxProbes` says how many
      const b = yield* halfOpen({ ...ofDefaults, successThreshold: 3, halfOpenMaxProbes: 3 })
      const pending = yield* Effect.forEach(
        [1, 2, 3],
        () => Effect.fork(CircuitBreaker.withBreaker(Effect.sleep("1 second"), b))
      )
      yield* Effect.yieldNow()
      for (let i = 0; i < 5; i++) {
        const e = yield* Effect.flip(CircuitBreaker.withBreaker(Effect.succeed(null), b))
        expect(CircuitBreaker.isCircuitOpen(e)).toBe(true)
      }
      yield* TestClock.adjust("1 second")
      yield* Fiber.joinAll(pending)
      expect(yield* isClosed(b)).toBe(true)
    }))

  it.scoped("testCircuitBreakerWithoutConditions", () =>
    Effect.gen(function*() {
      const b = yield* closed({ ...ofDefaults, breakDuration: Duration.zero })
      const e = yield* Effect.flip(CircuitBreaker.withBreaker(Effect.fail(new IllegalStateException()), b))
      expect(e).toBeInstanceOf(IllegalStateException)
      // Failsafe's isOpen() holds until the next call; after a zero pause Sturdy's state reads HalfOpen at once
      expect(yield* b.state).toBe("HalfOpen")

      yield* b.reset
      let counter = 0
      const result = yield* CircuitBreaker.withBreaker(
        Effect.suspend(() => ++counter < 3 ? Effect.fail(new ConnectException()) : Effect.succeed(true)),
        b
      ).pipe(Retry.retry({ schedule: Schedule.recurs(5) }))
      expect(result).toBe(true)
      expect(counter).toBe(3)
      expect(yield* isClosed(b)).toBe(true)
    }))

  it.scoped("shouldThrowCircuitBreakerOpenExceptionAfterFailuresExceeded", () =>
    Effect.gen(function*() {
      const b = yield* closed({ consecutiveFailures: 2, breakDuration: "10 seconds" })
      yield* onError(b)
      yield* onError(b)
      const e = yield* Effect.flip(CircuitBreaker.withBreaker(Effect.succeed(true), b))
      expect(CircuitBreaker.isCircuitOpen(e)).toBe(true)
    }))

  it.scoped("testRejectedWithRetries", () =>
    Effect.gen(function*() {
      const b = yield* closed({ consecutiveFailures: 3 })
      let attempts = 0
      let executions = 0
      const e = yield* CircuitBreaker.withBreaker(
        Effect.suspend(() => {
          executions++
          return Effect.fail(new Error())
        }),
        b
      ).pipe(
        Effect.tapError(() => Effect.sync(() => attempts++)),
        Retry.retry({ schedule: Schedule.recurs(6) }),
        Effect.flip
      )
      expect(CircuitBreaker.isCircuitOpen(e)).toBe(true)
      expect(attempts).toBe(7)
      expect(executions).toBe(3)
      // Failsafe's getFailureCount(); Sturdy empties the window on opening, and the rejection names the failures
      expect(CircuitBreaker.isCircuitOpen(e) && e.failures).toBe(3)
    }))

  it.scoped("shouldSupportTimeBasedFailureThresholding", () =>
    Effect.gen(function*() {
      const b = yield* closed({
        failureRateThreshold: 2 / 3,
        minimumThroughput: 3,
        slidingWindow: "200 millis",
        breakDuration: Duration.zero
      })
      yield* onError(b)
      yield* onSuccess(b)
      yield* TestClock.adjust("210 millis") // results roll off
      yield* onError(b)
      yield* onSuccess(b)
      yield* TestClock.adjust("50 millis")
      expect(yield* isClosed(b)).toBe(true)
      yield* onError(b)
      // Failsafe reports Open until the next call; with a zero pause Sturdy's state is HalfOpen at once
      expect(yield* b.state).toBe("HalfOpen")
      // Failsafe's half-open window holds 2 results and reopens on 2 failures; Sturdy's first failed probe reopens
      yield* onError(b)
      expect(yield* b.state).toBe("HalfOpen")
      expect((yield* b.snapshot).consecutiveFailures).toBe(0)
      // Half-open -> close
      yield* onSuccess(b)
      expect(yield* isClosed(b)).toBe(true)
    }))

  it.scoped("shouldSupportTimeBasedFailureRateThresholding", () =>
    Effect.gen(function*() {
      const b = yield* closed({
        failureRateThreshold: 0.5,
        minimumThroughput: 3,
        slidingWindow: "200 millis",
        breakDuration: Duration.zero
      })
      yield* onError(b)
      yield* onSuccess(b)
      yield* TestClock.adjust("210 millis")
      yield* onError(b)
      yield* onSuccess(b)
      yield* TestClock.adjust("50 millis")
      yield* onSuccess(b)
      expect(yield* isClosed(b)).toBe(true)
      yield* onError(b)
      expect(yield* b.state).toBe("HalfOpen")
      yield* onError(b)
      expect(yield* b.state).toBe("HalfOpen")
      // Half-open -> close: one successful probe (Failsafe's half-open window needs 2 of 3)
      yield* onSuccess(b)
      expect(yield* isClosed(b)).toBe(true)
    }))
})

class IllegalArgumentException extends Error {}
class UncheckedExpectedException extends Error {}
class Result extends Error {
  constructor(readonly value: number) {
    super()
  }
}

describe("peer failsafe CircuitBreakerTest", () => {
  it.scoped("shouldDefaultDelay", () =>
    Effect.gen(function*() {
      // Failsafe's default delay is 1 minute, Sturdy's default `breakDuration` 60 s
      const b = yield* CircuitBreaker.make("failsafe", { consecutiveFailures: 1 })
      yield* onError(b)
      yield* TestClock.adjust("100 millis")
      expect(yield* isOpen(b)).toBe(true)
      expect(Duration.toMillis((yield* b.snapshot).retryAfter)).toBe(59_900)
    }))

  it.scoped("shouldGetSuccessAndFailureStats", () =>
    Effect.gen(function*() {
      const b = yield* closed({ ...ratio(5, 10), successThreshold: 15 })
      const stats = Effect.map(b.snapshot, (s) => ({
        failures: s.failures,
        failureRate: Math.round(100 * s.failures / s.calls),
        successes: s.calls - s.failures,
        successRate: Math.round(100 * (s.calls - s.failures) / s.calls)
      }))
      for (let i = 0; i < 7; i++) yield* i % 2 === 0 ? onSuccess(b) : onError(b)
      expect(yield* stats).toEqual({ failures: 3, failureRate: 43, successes: 4, successRate: 57 })
      for (let i = 0; i < 15; i++) yield* i % 4 === 0 ? onError(b) : onSuccess(b)
      expect(yield* stats).toEqual({ failures: 2, failureRate: 20, successes: 8, successRate: 80 })
      expect(yield* isClosed(b)).toBe(true)
      // Failsafe's third step records 15 outcomes half-open; Sturdy's first failed probe reopens (see the header)
    }))
})

describe("peer failsafe DelayableCircuitBreakerTest", () => {
  it.scoped("testUncheckedExceptionInDelayFunction", () =>
    Effect.gen(function*() {
      const b = yield* closed({
        ...ofDefaults,
        breakDuration: Schedule.spaced("1 second").pipe(
          Schedule.tapInput(() => Effect.die(new UncheckedExpectedException()))
        )
      })
      const exit = yield* Effect.exit(CircuitBreaker.withBreaker(Effect.fail(new Error("try again")), b))
      // the delay function's exception reaches the caller, as a defect
      expect(
        exit._tag === "Failure" &&
          Cause.defects(exit.cause).pipe(Chunk.some((d) => d instanceof UncheckedExpectedException))
      )
        .toBe(true)
      expect(yield* isOpen(b)).toBe(true)
    }))

  it.scoped("shouldDelayOnMatchingResult", () =>
    Effect.gen(function*() {
      let delays = 0
      // handleResultIf(r > 0): a result above 0 is a failure; withDelayFnWhen(fn, 2): the delay of a 2
      const b = yield* closed({
        ...ofDefaults,
        breakDuration: Schedule.spaced(delay).pipe(
          Schedule.tapInput((e) => Effect.sync(() => e instanceof Result && e.value === 2 && delays++))
        )
      })
      const get = (r: number) =>
        Effect.either(CircuitBreaker.withBreaker(r > 0 ? Effect.fail(new Result(r)) : Effect.succeed(r), b))
      yield* get(0)
      yield* get(1)
      yield* b.reset
      yield* get(2)
      expect(delays).toBe(1)
    }))

  it.scoped("shouldDelayOnMatchingFailureType", () =>
    Effect.gen(function*() {
      let delays = 0
      // withDelayFnOn(fn, RuntimeException): IllegalArgumentException is a RuntimeException, a bare Exception is not
      const b = yield* closed({
        ...ofDefaults,
        breakDuration: Schedule.spaced(delay).pipe(
          Schedule.tapInput((e) => Effect.sync(() => e instanceof IllegalArgumentException && delays++))
        )
      })
      const get = <E>(self: Effect.Effect<number, E>) =>
        CircuitBreaker.withBreaker(self, b).pipe(Effect.orElseSucceed(() => 0))
      expect(yield* get(Effect.succeed(0))).toBe(0)
      expect(yield* get(Effect.fail(new Error()))).toBe(0)
      yield* b.reset
      expect(yield* get(Effect.fail(new IllegalArgumentException()))).toBe(0)
      expect(delays).toBe(1)
    }))
})

describe("peer failsafe NestedCircuitBreakerTest", () => {
  it.scoped("testNestedCircuitBreakers", () =>
    Effect.gen(function*() {
      const inner = yield* closed({ ...ofDefaults, isFailure: (e) => e instanceof IllegalArgumentException })
      const outer = yield* closed({ ...ofDefaults, isFailure: (e) => e instanceof IllegalStateException })
      const runnable = Effect.fail(new IllegalArgumentException())
      yield* Effect.either(CircuitBreaker.withBreaker(CircuitBreaker.withBreaker(runnable, inner), outer))
      expect(yield* isOpen(inner)).toBe(true)
      expect(yield* isClosed(outer)).toBe(true)
      yield* inner.reset
      yield* Effect.either(CircuitBreaker.withBreaker(CircuitBreaker.withBreaker(runnable, outer), inner))
      expect(yield* isOpen(inner)).toBe(true)
      expect(yield* isClosed(outer)).toBe(true)
    }))

  it.scoped("testCircuitBreakerCircuitBreaker", () =>
    Effect.gen(function*() {
      for (let round = 0; round < 2; round++) {
        const cb1 = yield* closed({ ...ofDefaults, isFailure: (e) => e instanceof IllegalStateException })
        const cb2 = yield* closed({ ...ofDefaults, isFailure: (e) => e instanceof IllegalArgumentException })
        let attempts = 0
        const e = yield* Effect.flip(
          CircuitBreaker.withBreaker(
            CircuitBreaker.withBreaker(
              Effect.suspend(() => Effect.fail(new IllegalStateException(String(attempts++)))),
              cb1
            ),
            cb2
          )
        )
        expect(e).toBeInstanceOf(IllegalStateException)
        expect(attempts).toBe(1)
        expect(yield* isOpen(cb1)).toBe(true)
        // cb2 records the failure it does not handle as a successful call
        expect(yield* cb2.snapshot).toMatchObject({ state: "Closed", calls: 1, failures: 0 })
      }
    }))
})
