// Ported from Vert.x's circuit breaker (vert-x3/vertx-circuit-breaker, commit 67f0f3fc2cdad4a751ed3148c5315272c3c943b3):
// src/test/java/io/vertx/circuitbreaker/tests/impl/CircuitBreakerImplTest.java, NumberOfRetryTest.java,
// RetryPolicyTest.java, APITest.java, UsageTest.java, AsyncBreakerTest.java, CircuitBreakerMetricsTest.java and
// src/test/java/io/vertx/circuitbreaker/tests/PredefinedRetryPolicyTest.java; one `it` per Vert.x case, named after it,
// under a `describe` named after its class. CircuitBreakerWithHTTPTest.java is in test/peer-vertx-CircuitBreakerWithHTTP.
// test.ts (a loopback server).
// Mapping: Vert.x's breaker bundles what Sturdy composes, so `CircuitBreaker.create(name, vertx, options)` is
// `vertxBreaker(options)` below: a `CircuitBreaker.make(name, { consecutiveFailures: maxFailures, breakDuration:
// resetTimeout, isFailure: failurePolicy })` and an `execute(operation, fallback?)` that runs
// `operation.pipe(Deadline.attemptTimeout(timeout), Retry.retry({ schedule: Backoff.bounded(Backoff.fromDelay(
// retryPolicy), { maxAttempts: maxRetries + 1 }) }), CircuitBreaker.withBreaker(breaker))` then, with a fallback,
// `Fallback.orElse(fallback)`, restricted to `CircuitOpen` (`while: isCircuitOpen`) unless `fallbackOnFailure`. Vert.x
// times out and retries each attempt inside the breaker, which records one outcome per `execute` (the last attempt's),
// as here. Defaults are Vert.x's: maxFailures 5, timeout 10 s, resetTimeout 30 s, no retries, fallbackOnFailure false;
// `RetryPolicy.delay(failure, retryCount)` is 1-based, as `Backoff.fromDelay`'s `retry`. `OpenCircuitException` is
// `CircuitOpen`, Vert.x's `TimeoutException` a `DeadlineExceeded` of reason "Attempt"; `fut.fail("message")` (a
// `NoStackTraceThrowable`) is a failure with a `NoStackTraceThrowable` here, so a `failurePolicy` that reads the stack
// trace's length reads `instanceof NoStackTraceThrowable`; an operation that throws is an `Effect.try` of the throw (a
// typed failure, as Vert.x catches the throw and fails the call with it); `vertx.setTimer(d, ...)` and `Thread.sleep(d)`
// in an operation are an `Effect.sleep(d)` on the TestClock, an operation that never completes its future
// `Effect.never`. `executeAndReport(promise, ...)` is the same call completing a `Deferred`. The open/half-open/close
// handlers are the transitions on `subscribe`; `failureCount()` is `snapshot.consecutiveFailures`;
// `((CircuitBreakerImpl) breaker).reset(true)` is `reset`. Vert.x's `await().until(state == HALF_OPEN)` is the pause
// passing on the TestClock. The metrics of CircuitBreakerMetricsTest are the breaker's `snapshot` (see there).
// Deliberate differences (each test says which): Vert.x's failure count is also rolling (failures older than
// `failuresRollingWindow`, 10 s, are forgotten, and a success clears it); `consecutiveFailures` keeps a run however old
// (the rolling case is ported with `failureCountThreshold` over a 10 s `slidingWindow`). A `resetTimeout` of -1 (never
// half-open) is a pause of 24 days the tests never reach (Sturdy's open-for-ever is `isolate`; a longer pause is refused).
// Open -> HalfOpen is published when the next call arrives (no timers), `state` reports HalfOpen once the pause is over.
// A retry inside the breaker does not ask the breaker whether it opened meanwhile (Vert.x's retry fails with
// `OpenCircuitException` then, and counts it as a further failure): it goes on to its last attempt, and an outcome
// that arrives while the breaker is open changes nothing (testRetries). An operation that blocks its thread past the
// timeout (`Thread.sleep(500)`) runs to its end in Vert.x; `attemptTimeout` interrupts it. A fallback that throws is a
// fallback that fails. `RetryPolicy.linearDelay`, which Sturdy has as `Backoff.fromDelay((retry) => retry * d)`, takes
// no arguments to validate; `exponentialDelayWithJitter(initial, max)` is `Backoff.exponential({ baseDelay, maxDelay,
// jitter: "full" })`, which caps a `baseDelay` above `maxDelay` to `maxDelay` where Vert.x throws.
// Not ported: CircuitBreakerImplTest's testInvalidBucketSize (`metricsRollingBuckets`: Sturdy's window buckets are not
// an option), UsageTest's three HTTP cases (`@Ignore`d upstream), AsyncBreakerTest's log lines, and in
// CircuitBreakerMetricsTest the counts Sturdy does not keep (timeouts, exceptions and failures apart, percentages,
// latencies: each call's own outcome is asserted instead) and the 5 ms timer of the 1000-call cases (a TestClock
// wake-up costs real milliseconds, a thousand of them seconds).
import { describe, expect, it } from "@effect/vitest"
import { Backoff, CircuitBreaker, Deadline, Fallback, Retry } from "@sturdy/policy"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Random from "effect/Random"
import * as TestClock from "effect/TestClock"
import { advanceToDone } from "./utils/advance.js"
import { stepDelays } from "./utils/stepDelays.js"
import { recordTransitions, settle } from "./utils/transitions.js"

/** Vert.x's `NoStackTraceThrowable`, what `promise.fail("message")` fails with */
class NoStackTraceThrowable extends Error {}
class RuntimeException extends Error {}
class NullPointerException extends Error {}
class ClassNotFoundException extends Error {}

interface VertxOptions {
  readonly maxFailures?: number
  /** milliseconds; -1: none */
  readonly timeout?: number
  /** milliseconds; -1: never half-open (a pause the tests never reach) */
  readonly resetTimeout?: number
  readonly fallbackOnFailure?: boolean
  readonly maxRetries?: number
  readonly failurePolicy?: (failure: unknown) => boolean
  readonly retryPolicy?: (failure: unknown, retryCount: number) => number
}

const DEFAULT_MAX_FAILURES = 5

// `fut.fail("message")`
const failWith = (message: string) => Effect.fail(new NoStackTraceThrowable(message))
// an operation that throws
const throwing = (message: string) =>
  Effect.try({
    try: (): never => {
      throw new RuntimeException(message)
    },
    catch: (e) => e
  })

const vertxBreaker = (name: string, options: VertxOptions = {}) =>
  Effect.gen(function*() {
    const resetTimeout = options.resetTimeout ?? 30_000
    const breaker = yield* CircuitBreaker.make(name, {
      consecutiveFailures: options.maxFailures ?? DEFAULT_MAX_FAILURES,
      breakDuration: resetTimeout === -1 ? "24 days" : Duration.millis(resetTimeout),
      isFailure: options.failurePolicy
    })
    const transitions = yield* recordTransitions(breaker)
    const timeout = options.timeout ?? 10_000
    const maxRetries = options.maxRetries ?? 0
    const retryPolicy = options.retryPolicy ?? (() => 0)
    /** the operation as Vert.x runs it: each attempt timed out, retried, the whole through the breaker */
    const guarded = <A, E>(operation: Effect.Effect<A, E>): Effect.Effect<A, unknown> => {
      const attempt: Effect.Effect<A, unknown> = timeout === -1
        ? operation
        : Deadline.attemptTimeout(operation, timeout)
      const retried = maxRetries === 0 ? attempt : Retry.retry(attempt, {
        schedule: Backoff.bounded(Backoff.fromDelay((retry, failure) => retryPolicy(failure, retry)), {
          maxAttempts: maxRetries + 1
        })
      })
      return CircuitBreaker.withBreaker(retried, breaker)
    }
    /** `executeWithFallback`: the answer with its provenance (which failures led to the fallback) */
    const executeWithProvenance = <A, E, B>(operation: Effect.Effect<A, E>, fallback: Effect.Effect<B, unknown>) =>
      options.fallbackOnFailure === true
        ? Fallback.orElse(guarded(operation), fallback)
        : Fallback.orElse(guarded(operation), fallback, { while: CircuitBreaker.isCircuitOpen })
    /** `execute` / `executeWithFallback` */
    const execute = <A, E, B = never>(
      operation: Effect.Effect<A, E>,
      fallback?: Effect.Effect<B, unknown>
    ): Effect.Effect<A | B, unknown> =>
      fallback === undefined
        ? guarded(operation)
        : Effect.map(executeWithProvenance(operation, fallback), (p) => p.value)
    /** the states entered so far (the open / half-open / close handlers) */
    const entered = (state: CircuitBreaker.State) =>
      Effect.map(settle, () => transitions.filter((c) => c.to === state).length)
    const failureCount = Effect.map(breaker.snapshot, (s) => s.consecutiveFailures)
    return { breaker, execute, executeWithProvenance, entered, failureCount }
  })

/** runs `effect` in a fiber of its own and lets it start (Vert.x's `execute` returns at once) */
const start = <A, E>(effect: Effect.Effect<A, E>) => Effect.tap(Effect.fork(effect), () => settle)

const fallbackSpy = () => {
  const spy = { called: false, count: 0, fallback: Effect.sync(() => "fallback") }
  spy.fallback = Effect.sync(() => {
    spy.called = true
    spy.count++
    return "fallback"
  })
  return spy
}

describe("peer vertx CircuitBreakerImplTest", () => {
  it.scoped("testCreationWithDefault", () =>
    Effect.gen(function*() {
      const { breaker } = yield* vertxBreaker("name")
      expect(breaker.key).toBe("name")
      expect(yield* breaker.state).toBe("Closed")
    }))

  it.scoped("testOk", () =>
    Effect.gen(function*() {
      const { breaker, execute } = yield* vertxBreaker("test")
      expect(yield* breaker.state).toBe("Closed")
      let operationCalled = false
      const result = yield* execute(Effect.sync(() => {
        operationCalled = true
        return "hello"
      }))
      expect(operationCalled).toBe(true)
      expect(result).toBe("hello")
    }))

  it.scoped("testWithCustomPredicateOk", () =>
    Effect.gen(function*() {
      // failurePolicy: failed with a stack trace; `fut.fail("...")` has none, so the failure is not counted, and the
      // caller still gets it
      const { breaker, execute, failureCount } = yield* vertxBreaker("test", {
        failurePolicy: (e) => !(e instanceof NoStackTraceThrowable)
      })
      expect(yield* breaker.state).toBe("Closed")
      let operationCalled = false
      const failure = yield* Effect.flip(execute(Effect.suspend(() => {
        operationCalled = true
        return failWith("some fake exception")
      })))
      expect(operationCalled).toBe(true)
      expect((failure as Error).message).toBe("some fake exception")
      expect(yield* failureCount).toBe(0)
    }))

  it.scoped("testWithUserFutureOk", () =>
    Effect.gen(function*() {
      const { breaker, execute } = yield* vertxBreaker("test")
      expect(yield* breaker.state).toBe("Closed")
      const userFuture = yield* Deferred.make<string, unknown>()
      let operationCalled = false
      yield* Deferred.complete(
        userFuture,
        execute(Effect.sync(() => {
          operationCalled = true
          return "hello"
        }))
      )
      expect(operationCalled).toBe(true)
      expect(yield* Deferred.await(userFuture)).toBe("hello")
    }))

  it.scoped("testWithUserFutureWithCustomPredicateOk", () =>
    Effect.gen(function*() {
      const { breaker, execute, failureCount } = yield* vertxBreaker("test", {
        failurePolicy: (e) => !(e instanceof NoStackTraceThrowable)
      })
      expect(yield* breaker.state).toBe("Closed")
      const userFuture = yield* Deferred.make<string, unknown>()
      let operationCalled = false
      yield* Deferred.complete(
        userFuture,
        execute(Effect.suspend(() => {
          operationCalled = true
          return failWith("some custom exception")
        }))
      )
      expect(operationCalled).toBe(true)
      const failure = yield* Effect.flip(Deferred.await(userFuture))
      expect((failure as Error).message).toBe("some custom exception")
      expect(yield* failureCount).toBe(0)
    }))

  it.scoped("testAsynchronousOk", () =>
    Effect.gen(function*() {
      const { breaker, execute } = yield* vertxBreaker("test")
      expect(yield* breaker.state).toBe("Closed")
      let called = false
      const fiber = yield* start(execute(
        Effect.sleep("100 millis").pipe(Effect.map(() => {
          called = true
          return "hello"
        }))
      ))
      expect(called).toBe(false)
      yield* TestClock.adjust("100 millis")
      expect(yield* Fiber.join(fiber)).toBe("hello")
      expect(called).toBe(true)
    }))

  it.scoped("testAsynchronousWithCustomPredicateOk", () =>
    Effect.gen(function*() {
      const { breaker, execute, failureCount } = yield* vertxBreaker("test", {
        failurePolicy: (e) => !(e instanceof NoStackTraceThrowable)
      })
      expect(yield* breaker.state).toBe("Closed")
      let called = false
      const fiber = yield* start(Effect.flip(execute(
        Effect.sleep("100 millis").pipe(Effect.zipRight(
          Effect.suspend(() => {
            called = true
            return failWith("some custom exception")
          })
        ))
      )))
      yield* TestClock.adjust("100 millis")
      const failure = yield* Fiber.join(fiber)
      expect(called).toBe(true)
      expect((failure as Error).message).toBe("some custom exception")
      expect(yield* failureCount).toBe(0)
    }))

  it.scoped("testAsynchronousWithUserFutureOk", () =>
    Effect.gen(function*() {
      const { breaker, execute } = yield* vertxBreaker("test")
      expect(yield* breaker.state).toBe("Closed")
      const userFuture = yield* Deferred.make<string, unknown>()
      let called = false
      yield* start(Deferred.complete(
        userFuture,
        execute(
          Effect.sleep("100 millis").pipe(Effect.map(() => {
            called = true
            return "hello"
          }))
        )
      ))
      yield* TestClock.adjust("100 millis")
      expect(yield* Deferred.await(userFuture)).toBe("hello")
      expect(called).toBe(true)
    }))

  it.scoped("testAsynchronousWithUserFutureAndWithCustomPredicateOk", () =>
    Effect.gen(function*() {
      // failurePolicy: only a ClassNotFoundException counts; the call fails with a NullPointerException
      const { breaker, execute, failureCount } = yield* vertxBreaker("test", {
        failurePolicy: (e) => e instanceof ClassNotFoundException
      })
      expect(yield* breaker.state).toBe("Closed")
      const userFuture = yield* Deferred.make<string, unknown>()
      let called = false
      yield* start(Deferred.complete(
        userFuture,
        execute(
          Effect.sleep("100 millis").pipe(Effect.zipRight(Effect.suspend(() => {
            called = true
            return Effect.fail(new NullPointerException("some custom exception"))
          })))
        )
      ))
      yield* TestClock.adjust("100 millis")
      const failure = yield* Effect.flip(Deferred.await(userFuture))
      expect(called).toBe(true)
      expect((failure as Error).message).toBe("some custom exception")
      expect(yield* failureCount).toBe(0)
    }))

  it.scoped("testRollingWindowFailuresAreDecreased", () =>
    Effect.gen(function*() {
      // maxFailures 10 within a failuresRollingWindow of 10 s: `failureCountThreshold` over a 10 s sliding window
      const breaker = yield* CircuitBreaker.make("test", { failureCountThreshold: 10, slidingWindow: "10 seconds" })
      expect(yield* breaker.state).toBe("Closed")
      for (let i = 0; i < 9; i++) {
        yield* Effect.either(CircuitBreaker.withBreaker(Effect.fail(new RuntimeException("expected")), breaker))
      }
      expect((yield* breaker.snapshot).failures).toBe(9)
      expect(yield* breaker.state).toBe("Closed")
      yield* TestClock.adjust("11 seconds")
      expect((yield* breaker.snapshot).failures).toBeLessThan(9)
    }))

  it.scoped("testOpenAndCloseHandler", () =>
    Effect.gen(function*() {
      const { breaker, entered, execute } = yield* vertxBreaker("name", { resetTimeout: -1 })
      expect(yield* entered("Open")).toBe(0)
      expect(yield* entered("Closed")).toBe(0)

      // first failure
      let lastException = yield* Effect.flip(execute(throwing("oh no, but this is expected")))
      expect(yield* entered("Open")).toBe(0)
      expect(yield* entered("Closed")).toBe(0)
      expect(yield* breaker.state).toBe("Closed")
      expect(lastException).toBeInstanceOf(RuntimeException)

      for (let i = 1; i < DEFAULT_MAX_FAILURES; i++) {
        lastException = yield* Effect.flip(execute(throwing("oh no, but this is expected")))
      }
      expect(yield* breaker.state).toBe("Open")
      expect(yield* entered("Open")).toBe(1)
      expect(lastException).toBeInstanceOf(RuntimeException)

      yield* breaker.reset
      expect(yield* breaker.state).toBe("Closed")
      expect(yield* entered("Open")).toBe(1)
      expect(yield* entered("Closed")).toBe(1)
    }))

  it.scoped("testHalfOpen", () =>
    Effect.gen(function*() {
      const { breaker, execute } = yield* vertxBreaker("test", { resetTimeout: 200, maxFailures: 1 })
      const fail = failWith("fail")
      const exits = []
      exits.push(yield* Effect.exit(execute(fail)), yield* Effect.exit(execute(fail)))
      yield* TestClock.adjust("200 millis")
      expect(yield* breaker.state).toBe("HalfOpen")

      // the probe fails: open again, half-open after the next pause
      exits.push(yield* Effect.exit(execute(fail)))
      expect(yield* breaker.state).toBe("Open")
      yield* TestClock.adjust("200 millis")
      expect(yield* breaker.state).toBe("HalfOpen")

      exits.push(yield* Effect.exit(execute(Effect.void)))
      expect(yield* breaker.state).toBe("Closed")
      // nothing escaped as a defect (Vert.x's context exception handler was never called)
      expect(exits.map((e) => Exit.isFailure(e) && !Exit.isInterrupted(e) && e.cause._tag === "Die")).toEqual(
        [false, false, false, false]
      )
    }))

  it.scoped("testExceptionOnSynchronousCode", () =>
    Effect.gen(function*() {
      const spy = fallbackSpy()
      const { breaker, execute } = yield* vertxBreaker("test", { fallbackOnFailure: false, resetTimeout: -1 })
      expect(yield* breaker.state).toBe("Closed")
      for (let i = 0; i < DEFAULT_MAX_FAILURES; i++) {
        yield* Effect.either(execute(throwing("oh no, but this is expected"), spy.fallback))
      }
      expect(yield* breaker.state).toBe("Open")
      expect(spy.called).toBe(false)

      let ran = false
      yield* Effect.either(execute(Effect.sync(() => (ran = true)), spy.fallback))
      expect(ran).toBe(false)
      expect(spy.called).toBe(true)
    }))

  it.scoped("testExceptionOnSynchronousCodeWithExecute", () =>
    Effect.gen(function*() {
      const { breaker, execute } = yield* vertxBreaker("test", { fallbackOnFailure: false, resetTimeout: -1 })
      const fallback = Effect.succeed("fallback")
      expect(yield* breaker.state).toBe("Closed")
      for (let i = 0; i < DEFAULT_MAX_FAILURES; i++) {
        const future = yield* Deferred.make<string, unknown>()
        yield* Deferred.complete(future, execute(throwing("oh no, but this is expected"), fallback))
        // no result: the call failed (no fallback on failure)
        expect(Exit.isFailure(yield* Effect.exit(Deferred.await(future)))).toBe(true)
      }
      expect(yield* breaker.state).toBe("Open")

      let ran = false
      const future = yield* Deferred.make<string | boolean, unknown>()
      yield* Deferred.complete(future, execute(Effect.sync(() => (ran = true)), fallback))
      expect(ran).toBe(false)
      expect(yield* Deferred.await(future)).toBe("fallback")
    }))

  it.scoped("testFailureOnAsynchronousCode", () =>
    Effect.gen(function*() {
      const spy = fallbackSpy()
      const { breaker, execute } = yield* vertxBreaker("test", { resetTimeout: -1 })
      expect(yield* breaker.state).toBe("Closed")
      const calls = []
      for (let i = 0; i < DEFAULT_MAX_FAILURES; i++) {
        calls.push(
          yield* start(
            Effect.either(execute(Effect.zipRight(Effect.sleep("100 millis"), failWith("expected")), spy.fallback))
          )
        )
      }
      yield* TestClock.adjust("100 millis")
      yield* Effect.forEach(calls, Fiber.join)
      expect(yield* breaker.state).toBe("Open")
      expect(spy.called).toBe(false)

      let ran = false
      const result = yield* advanceToDone(execute(
        Effect.sleep("100 millis").pipe(Effect.zipRight(Effect.suspend(() => {
          ran = true
          return failWith("expected failure")
        }))),
        spy.fallback
      ))
      expect(spy.called).toBe(true)
      expect(ran).toBe(false)
      expect(result).toEqual(Exit.succeed("fallback"))
    }))

  it.scoped("testFailureOnAsynchronousCodeWithCustomPredicate", () =>
    Effect.gen(function*() {
      const spy = fallbackSpy()
      // failurePolicy: failed without a stack trace, which `fut.fail("...")` is
      const { breaker, execute } = yield* vertxBreaker("test", {
        resetTimeout: -1,
        failurePolicy: (e) => e instanceof NoStackTraceThrowable
      })
      expect(yield* breaker.state).toBe("Closed")
      const calls = []
      for (let i = 0; i < DEFAULT_MAX_FAILURES; i++) {
        calls.push(
          yield* start(
            Effect.either(
              execute(Effect.zipRight(Effect.sleep("100 millis"), failWith("expected failure")), spy.fallback)
            )
          )
        )
      }
      yield* TestClock.adjust("100 millis")
      yield* Effect.forEach(calls, Fiber.join)
      expect(yield* breaker.state).toBe("Open")
      expect(spy.called).toBe(false)

      let ran = false
      const result = yield* advanceToDone(execute(
        Effect.sleep("100 millis").pipe(Effect.zipRight(Effect.suspend(() => {
          ran = true
          return failWith("expected failure")
        }))),
        spy.fallback
      ))
      expect(spy.called).toBe(true)
      expect(ran).toBe(false)
      expect(result).toEqual(Exit.succeed("fallback"))
    }))

  it.scoped("testResetAttempt", () =>
    Effect.gen(function*() {
      const spy = fallbackSpy()
      const { breaker, execute } = yield* vertxBreaker("test", { resetTimeout: 100 })
      expect(yield* breaker.state).toBe("Closed")
      for (let i = 0; i < DEFAULT_MAX_FAILURES; i++) {
        yield* Effect.either(execute(throwing("oh no, but this is expected"), spy.fallback))
      }
      expect(yield* breaker.state).toBe("Open")
      expect(spy.called).toBe(false)

      yield* TestClock.adjust("100 millis")
      expect(yield* breaker.state).toBe("HalfOpen")
      let ran = false
      yield* execute(Effect.sync(() => (ran = true)), spy.fallback)
      expect(ran).toBe(true)
      expect(spy.called).toBe(false)
      expect(yield* breaker.state).toBe("Closed")
    }))

  it.scoped("testResetAttemptThatFails", () =>
    Effect.gen(function*() {
      const spy = fallbackSpy()
      const { breaker, execute } = yield* vertxBreaker("test", { resetTimeout: 100, fallbackOnFailure: true })
      expect(yield* breaker.state).toBe("Closed")
      for (let i = 0; i < DEFAULT_MAX_FAILURES; i++) {
        yield* execute(throwing("oh no, but this is expected"), spy.fallback)
      }
      expect(yield* breaker.state).toBe("Open")
      expect(spy.called).toBe(true)

      yield* TestClock.adjust("100 millis")
      expect(yield* breaker.state).toBe("HalfOpen")
      spy.called = false
      const result = yield* execute(throwing("oh no, but this is expected"), spy.fallback)
      expect(spy.called).toBe(true)
      expect(yield* breaker.state).toBe("Open")
      expect(result).toBe("fallback")
    }))

  it.scoped("testTimeout", () =>
    Effect.gen(function*() {
      const spy = fallbackSpy()
      const { breaker, execute } = yield* vertxBreaker("test", { timeout: 100 })
      expect(yield* breaker.state).toBe("Closed")
      let failureCount = 0
      for (let i = 0; i < DEFAULT_MAX_FAILURES; i++) {
        const exit = yield* advanceToDone(execute(Effect.as(Effect.sleep("500 millis"), "done"), spy.fallback))
        if (Exit.isFailure(exit)) failureCount++
      }
      expect(yield* breaker.state).toBe("Open")
      expect(spy.called).toBe(false)
      expect(failureCount).toBe(DEFAULT_MAX_FAILURES)

      let ran = false
      const result = yield* execute(Effect.sync(() => (ran = true)), spy.fallback)
      expect(ran).toBe(false)
      expect(spy.called).toBe(true)
      expect(result).toBe("fallback")
    }))

  it.scoped("testTimeoutWithFallbackCalled", () =>
    Effect.gen(function*() {
      const spy = fallbackSpy()
      const { breaker, execute } = yield* vertxBreaker("test", {
        timeout: 100,
        resetTimeout: 5000,
        fallbackOnFailure: true
      })
      expect(yield* breaker.state).toBe("Closed")
      let count = 0
      for (let i = 0; i < DEFAULT_MAX_FAILURES + 3; i++) {
        const exit = yield* advanceToDone(execute(Effect.as(Effect.sleep("500 millis"), "done"), spy.fallback))
        if (Exit.isSuccess(exit) && exit.value === "fallback") count++
      }
      expect(yield* breaker.state).toBe("Open")
      expect(spy.called).toBe(true)
      expect(count).toBe(DEFAULT_MAX_FAILURES + 3)
    }))

  it.scoped("testResetAttemptOnTimeout", () =>
    Effect.gen(function*() {
      const spy = fallbackSpy()
      const { breaker, entered, execute } = yield* vertxBreaker("test", {
        resetTimeout: 100,
        timeout: 10,
        fallbackOnFailure: true
      })
      expect(yield* breaker.state).toBe("Closed")
      // operations that never complete their future, all at once
      const calls = []
      for (let i = 0; i < DEFAULT_MAX_FAILURES; i++) calls.push(yield* start(execute(Effect.never, spy.fallback)))
      yield* TestClock.adjust("10 millis")
      yield* Effect.forEach(calls, Fiber.join)
      expect(yield* entered("Open")).toBe(1)
      expect(spy.called).toBe(true)

      yield* TestClock.adjust("100 millis")
      expect(yield* breaker.state).toBe("HalfOpen")
      spy.called = false
      yield* execute(Effect.void, spy.fallback)
      expect(yield* breaker.state).toBe("Closed")
      expect(spy.called).toBe(false)
    }))

  it.scoped("testResetAttemptThatFailsOnTimeout", () =>
    Effect.gen(function*() {
      const spy = fallbackSpy()
      const { breaker, entered, execute } = yield* vertxBreaker("test", {
        resetTimeout: 100,
        timeout: 10,
        fallbackOnFailure: true
      })
      expect(yield* breaker.state).toBe("Closed")
      const calls = []
      for (let i = 0; i < DEFAULT_MAX_FAILURES; i++) calls.push(yield* start(execute(Effect.never, spy.fallback)))
      yield* TestClock.adjust("10 millis")
      yield* Effect.forEach(calls, Fiber.join)
      expect(yield* entered("Open")).toBe(1)
      expect(spy.called).toBe(true)

      // twice: the probe never completes, times out and opens the breaker again
      for (let round = 2; round <= 3; round++) {
        yield* TestClock.adjust("100 millis")
        expect(yield* breaker.state).toBe("HalfOpen")
        spy.called = false
        const probe = yield* start(execute(Effect.never, spy.fallback))
        yield* TestClock.adjust("10 millis")
        expect(yield* Fiber.join(probe)).toBe("fallback")
        expect(yield* breaker.state).toBe("Open")
        expect(spy.called).toBe(true)
        expect(yield* entered("Open")).toBe(round)
      }

      yield* TestClock.adjust("100 millis")
      expect(yield* breaker.state).toBe("HalfOpen")
      yield* execute(Effect.void, spy.fallback)
      expect(yield* breaker.state).toBe("Closed")
      spy.called = false
      for (let i = 0; i < DEFAULT_MAX_FAILURES; i++) yield* execute(Effect.succeed(null), spy.fallback)
      expect(yield* breaker.state).toBe("Closed")
      expect(yield* entered("Open")).toBe(3)
      expect(spy.called).toBe(false)
    }))

  it.scoped("testThatOnlyOneRequestIsCheckedInHalfOpen", () =>
    Effect.gen(function*() {
      const spy = fallbackSpy()
      const { breaker, entered, execute } = yield* vertxBreaker("test", {
        resetTimeout: 1000,
        fallbackOnFailure: true
      })
      expect(yield* breaker.state).toBe("Closed")
      for (let i = 0; i < DEFAULT_MAX_FAILURES; i++) yield* execute(failWith("expected failure"), spy.fallback)
      expect(yield* entered("Open")).toBe(1)
      expect(spy.called).toBe(true)

      yield* TestClock.adjust("1 second")
      expect(yield* breaker.state).toBe("HalfOpen")
      let fallbackCalled = 0
      const fallback = Effect.sync(() => {
        fallbackCalled++
        return "fallback"
      })
      const calls = []
      for (let i = 0; i < DEFAULT_MAX_FAILURES; i++) {
        calls.push(yield* start(execute(Effect.sleep("500 millis"), fallback)))
      }
      yield* TestClock.adjust("500 millis")
      yield* Effect.forEach(calls, Fiber.join)
      expect(yield* breaker.state).toBe("Closed")
      expect(fallbackCalled).toBe(DEFAULT_MAX_FAILURES - 1)
    }))

  it.scoped("testFailureWhenThereIsNoFallback", () =>
    Effect.gen(function*() {
      const { breaker, execute } = yield* vertxBreaker("test", {
        resetTimeout: 50_000,
        timeout: 300,
        fallbackOnFailure: true
      })
      expect(yield* breaker.state).toBe("Closed")
      for (let i = 0; i < DEFAULT_MAX_FAILURES; i++) {
        const failure = yield* Effect.flip(execute(failWith("expected failure")))
        expect((failure as Error).message).toBe("expected failure")
      }
      expect(yield* breaker.state).toBe("Open")
      const open = yield* Effect.flip(execute(failWith("expected failure")))
      // Vert.x: OpenCircuitException "open circuit"
      expect(CircuitBreaker.isCircuitOpen(open)).toBe(true)
      expect((open as CircuitBreaker.CircuitOpen).message).toContain("circuit open for test")

      yield* breaker.reset
      expect(yield* breaker.state).toBe("Closed")
      // Vert.x: TimeoutException "operation timeout" (its blocking sleep runs on; here the attempt is interrupted)
      const timedOut = yield* advanceToDone(execute(Effect.sleep("500 millis")))
      expect(Exit.isFailure(timedOut)).toBe(true)
      const failure = yield* Effect.flip(timedOut)
      expect(Deadline.isDeadlineExceeded(failure) && failure.reason).toBe("Attempt")
    }))

  it.scoped("testWhenFallbackThrowsAnException", () =>
    Effect.gen(function*() {
      const { breaker, execute } = yield* vertxBreaker("test", { resetTimeout: 5000, fallbackOnFailure: true })
      const boom = Effect.fail(new RuntimeException("boom"))
      expect(yield* breaker.state).toBe("Closed")
      for (let i = 0; i < DEFAULT_MAX_FAILURES; i++) {
        const failure = yield* Effect.flip(execute(failWith("expected failure"), boom))
        expect((failure as Error).message).toBe("boom")
      }
      expect(yield* breaker.state).toBe("Open")
      const failure = yield* Effect.flip(execute(failWith("expected failure"), boom))
      expect((failure as Error).message).toBe("boom")
    }))

  it.scoped("testTheExceptionReceivedByFallback", () =>
    Effect.gen(function*() {
      // the failure the fallback receives is the answer's provenance
      const { breaker, executeWithProvenance } = yield* vertxBreaker("test", {
        resetTimeout: 50_000,
        timeout: 300,
        fallbackOnFailure: true
      })
      const fallback = Effect.succeed("fallback")
      const received = (answer: Fallback.Provenanced<unknown, unknown>) => answer.failures.map((f) => f.error)
      expect(yield* breaker.state).toBe("Closed")
      for (let i = 0; i < DEFAULT_MAX_FAILURES; i++) {
        const failures = received(yield* executeWithProvenance(failWith("expected failure"), fallback))
        expect(failures.map((e) => (e as Error).message)).toEqual(["expected failure"])
      }

      yield* breaker.reset
      expect(yield* breaker.state).toBe("Closed")
      const timedOut = yield* advanceToDone(executeWithProvenance(Effect.sleep("500 millis"), fallback))
      const [timeout] = received(yield* timedOut)
      expect(Deadline.isDeadlineExceeded(timeout) && timeout.reason).toBe("Attempt")

      yield* breaker.reset
      expect(yield* breaker.state).toBe("Closed")
      const failures = received(yield* executeWithProvenance(throwing("boom"), fallback))
      expect(failures.map((e) => (e as Error).message)).toEqual(["boom"])
    }))

  it.scoped("testRetries", () =>
    Effect.gen(function*() {
      const maxFailures = 4
      const { breaker, execute, executeWithProvenance, failureCount } = yield* vertxBreaker("test", {
        maxRetries: 5,
        maxFailures,
        timeout: 100,
        fallbackOnFailure: true
      })

      // every attempt fails: 6 attempts, one failure recorded
      let calls = 0
      const failed = yield* Effect.exit(execute(Effect.suspend(() => {
        calls++
        return failWith("boom")
      })))
      expect(calls).toBe(6)
      expect(Exit.isFailure(failed)).toBe(true)
      expect(yield* failureCount).toBe(1)
      expect(yield* breaker.state).toBe("Closed")

      // the fourth attempt succeeds
      yield* breaker.reset
      calls = 0
      const succeeded = yield* Effect.exit(execute(Effect.suspend(() => ++calls >= 4 ? Effect.void : failWith("boom"))))
      expect(calls).toBe(4)
      expect(Exit.isSuccess(succeeded)).toBe(true)
      expect(yield* failureCount).toBe(0)
      expect(yield* breaker.state).toBe("Closed")

      // maxFailures + 1 calls whose attempts never complete: each times out six times, the breaker opens
      yield* breaker.reset
      calls = 0
      const hanging = []
      for (let i = 0; i < maxFailures + 1; i++) {
        hanging.push(
          yield* start(Effect.exit(execute(Effect.suspend(() => {
            calls++
            return Effect.never
          }))))
        )
      }
      yield* TestClock.adjust("600 millis")
      yield* Effect.forEach(hanging, Fiber.join)
      expect(yield* breaker.state).toBe("Open")

      // a call still retrying when other calls open the breaker. Vert.x's retry sees the breaker open after its first
      // timeout, fails with OpenCircuitException and counts it (maxFailures + 1 failures). Sturdy's retry inside the
      // breaker goes on to its fourth attempt, which succeeds; the breaker, open by then, records nothing of it
      calls = 0
      yield* breaker.reset
      const result2 = yield* start(
        Effect.exit(execute(Effect.suspend(() => ++calls === 4 ? Effect.void : Effect.never)))
      )
      for (let i = 0; i < maxFailures; i++) yield* Effect.either(execute(failWith("boom")))
      expect(yield* breaker.state).toBe("Open")
      yield* TestClock.adjust("300 millis")
      expect(Exit.isSuccess(yield* Fiber.join(result2))).toBe(true)
      expect(calls).toBe(4)
      expect(yield* breaker.state).toBe("Open")

      // attempts that block past the timeout: the fallback receives the last attempt's timeout
      yield* breaker.reset
      const timedOut = yield* advanceToDone(executeWithProvenance(Effect.sleep("150 millis"), Effect.succeed("f")))
      const answer = yield* timedOut
      expect(answer.failures.length).toBe(1)
      const [timeout] = answer.failures.map((f) => f.error)
      expect(Deadline.isDeadlineExceeded(timeout) && timeout.reason).toBe("Attempt")
      expect(yield* breaker.state).toBe("Closed")

      // the fourth attempt succeeds, the three before time out
      yield* breaker.reset
      calls = 0
      const last = yield* advanceToDone(
        execute(Effect.suspend(() => ++calls === 4 ? Effect.void : Effect.sleep("150 millis")))
      )
      expect(calls).toBe(4)
      expect(Exit.isSuccess(last)).toBe(true)
      expect(yield* failureCount).toBe(0)
      expect(yield* breaker.state).toBe("Closed")
    }))

  it.live("operationTimersShouldBeRemovedToAvoidOOM", () =>
    Effect.gen(function*() {
      // 3000 calls that end at once under a timeout of 600 s, on the live clock (no call sleeps): none of their
      // timers is left armed (the TestClock keeps a sleep that was interrupted on its list, so it cannot tell)
      const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length
      const before = timers()
      yield* Effect.scoped(Effect.gen(function*() {
        const { execute } = yield* vertxBreaker("cb", { timeout: 600_000 })
        let done = 0
        for (let i = 0; i < 3000; i++) {
          yield* execute(Effect.succeed(new Uint8Array(16)))
          done++
        }
        expect(done).toBe(3000)
      }))
      expect(timers()).toBeLessThanOrEqual(before)
    }))
})

describe("peer vertx NumberOfRetryTest", () => {
  const runWith = (maxRetries: number | undefined) =>
    Effect.gen(function*() {
      const { execute } = yield* vertxBreaker("my-circuit-breaker", {
        maxFailures: 5,
        ...(maxRetries === undefined ? {} : { maxRetries })
      })
      let counter = 0
      yield* Effect.either(execute(Effect.suspend(() => {
        counter++
        return failWith("FAILED")
      })))
      return counter
    })

  it.scoped("testWithoutRetry", () => Effect.map(runWith(undefined), (counter) => expect(counter).toBe(1)))
  it.scoped("testWithRetrySetToZero", () => Effect.map(runWith(0), (counter) => expect(counter).toBe(1)))
  it.scoped("testWithRetrySetToOne", () => Effect.map(runWith(1), (counter) => expect(counter).toBe(2)))
  it.scoped("testWithRetrySetToFive", () => Effect.map(runWith(5), (counter) => expect(counter).toBe(6)))
})

describe("peer vertx RetryPolicyTest", () => {
  // runRetryPolicyTest: 6 attempts, the policy asked 5 times, with retryCount 1 to 5; the attempts start at the
  // delays the policy gave (a delay that is not positive is no wait)
  const runRetryPolicyTest = (retryPolicy: (retryCount: number) => number) =>
    Effect.gen(function*() {
      const asked: Array<number> = []
      const { execute } = yield* vertxBreaker("my-circuit-breaker", {
        maxFailures: 5,
        maxRetries: 5,
        retryPolicy: (_, retryCount) => {
          asked.push(retryCount)
          return retryPolicy(retryCount)
        }
      })
      const startedAt: Array<number> = []
      const exit = yield* advanceToDone(execute(Effect.suspend(() => {
        startedAt.push(asked.length)
        return Effect.flatMap(TestClock.currentTimeMillis, (now) => {
          startedAt[startedAt.length - 1] = now
          return failWith("FAILED")
        })
      })))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(startedAt.length).toBe(6)
      expect(asked).toEqual([1, 2, 3, 4, 5])
      let at = 0
      expect(startedAt).toEqual([0, ...asked.map((n) => (at += Math.max(0, retryPolicy(n))))])
    })

  it.scoped("testWithRetryPolicy", () =>
    // RetryPolicy.linearDelay(100, 10000)
    runRetryPolicyTest((retryCount) => Math.min(10_000, 100 * retryCount)))
  it.scoped("testWithZeroRetryPolicy", () => runRetryPolicyTest(() => 0))
  it.scoped("testWithNegativeRetryPolicy", () => runRetryPolicyTest(() => -1))
})

describe("peer vertx PredefinedRetryPolicyTest", () => {
  const fifty = Array.from({ length: 50 }, () => undefined)

  it("testConstantDelayNegative", () => {
    // RetryPolicy.constantDelay(-1): an exponential backoff of factor 1
    expect(() => Backoff.exponential({ baseDelay: -1, factor: 1, jitter: "none" })).toThrow(RangeError)
  })

  it("testConstantDelay", () => {
    const delays = stepDelays(Backoff.exponential({ baseDelay: 10, factor: 1, jitter: "none", maxAttempts: 51 }), fifty)
    expect(delays).toEqual(Array.from({ length: 50 }, () => 10))
  })

  it("testLinearDelayNegative", () => {
    // linearDelay(-1, 30000) is a delay function here, which has no initial delay to refuse; the bound put on it is
    // checked: a negative maxDelay is refused
    expect(() => Backoff.bounded(Backoff.fromDelay((retry) => retry * 10), { maxDelay: -1 })).toThrow(RangeError)
  })

  it("testLinearDelayGreatherThanMax", () => {
    // Vert.x refuses an initial delay above maxDelay; Sturdy's envelope caps every delay at maxDelay
    const delays = stepDelays(
      Backoff.exponential({ baseDelay: 50_000, maxDelay: 30_000, factor: 1, jitter: "none", maxAttempts: 4 }),
      [1, 2, 3]
    )
    expect(delays).toEqual([30_000, 30_000, 30_000])
  })

  it("testLinearDelay", () => {
    // RetryPolicy.linearDelay(10, 250)
    const delays = stepDelays(
      Backoff.bounded(Backoff.fromDelay((retry) => retry * 10), { maxDelay: 250, maxAttempts: 51 }),
      fifty
    )
    expect(delays).toEqual(Array.from({ length: 50 }, (_, i) => (i + 1 <= 25 ? 10 * (i + 1) : 250)))
  })

  it("testExponentialDelayNegative", () => {
    expect(() => Backoff.exponential({ baseDelay: -1, maxDelay: 30_000, jitter: "full" })).toThrow(RangeError)
  })

  it("testExponentialDelayGreatherThanMax", () => {
    // Vert.x refuses an initial delay above maxDelay; Sturdy caps every delay, jitter included, at maxDelay
    const delays = stepDelays(
      Backoff.exponential({ baseDelay: 50_000, maxDelay: 30_000, jitter: "full", maxAttempts: 21 }),
      Array.from({ length: 20 }, () => undefined),
      0,
      7
    )
    expect(delays.length).toBe(20)
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0)
    expect(Math.max(...delays)).toBeLessThanOrEqual(30_000)
  })

  it("testExponentialDelayWithJitter", () => {
    const maxDelay = 30_000
    const delays = stepDelays(
      Backoff.exponential({ baseDelay: 3, maxDelay, jitter: "full", maxAttempts: 51 }),
      fifty,
      0,
      42
    )
    expect(delays.length).toBe(50)
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0)
    expect(Math.max(...delays)).toBeLessThanOrEqual(maxDelay)
    // the envelope grows to the cap: the later delays are not all small
    expect(Math.max(...delays)).toBeGreaterThan(3 * 2 ** 5)
  })
})

describe("peer vertx APITest", () => {
  // MyAsyncOperations
  const operation = (a: number, b: number) => Effect.succeed(a + b)
  const fail = failWith("boom")

  it.scoped("testWhenOptionsAreNull", () =>
    Effect.gen(function*() {
      const cb = yield* CircuitBreaker.make("name", undefined)
      expect(cb.key).toBe("name")
      expect(yield* cb.state).toBe("Closed")
    }))

  it.scoped("testWithOperationWithHandler", () =>
    Effect.gen(function*() {
      const { execute } = yield* vertxBreaker("test")
      expect(yield* execute(operation(1, 1), Effect.succeed(0))).toBe(2)
    }))

  it.scoped("testWithOperationWithCompletionHandler", () =>
    Effect.gen(function*() {
      const { execute } = yield* vertxBreaker("test")
      expect(yield* execute(operation(1, 1), Effect.succeed(0))).toBe(2)
    }))

  it.scoped("testWithFailingOperationWithHandler", () =>
    Effect.gen(function*() {
      const { execute } = yield* vertxBreaker("test", { fallbackOnFailure: true })
      expect(yield* execute(fail, Effect.succeed(-1))).toBe(-1)
    }))

  it.scoped("testWithFailingOperationWithCompletionHandler", () =>
    Effect.gen(function*() {
      const { execute } = yield* vertxBreaker("test", { fallbackOnFailure: true })
      expect(yield* execute(fail, Effect.succeed(-1))).toBe(-1)
    }))

  it.scoped("testWithOperationWithFuture", () =>
    Effect.gen(function*() {
      const { execute } = yield* vertxBreaker("test", { fallbackOnFailure: true })
      const operationResult = yield* Deferred.make<number, unknown>()
      yield* Deferred.complete(operationResult, execute(operation(1, 1)))
      expect(yield* Deferred.await(operationResult)).toBe(2)
    }))

  it.scoped("testWithFailingOperationWithFuture", () =>
    Effect.gen(function*() {
      const { execute } = yield* vertxBreaker("test", { fallbackOnFailure: true })
      const operationResult = yield* Deferred.make<number, unknown>()
      yield* Deferred.complete(operationResult, execute(fail, Effect.succeed(-1)))
      expect(yield* Deferred.await(operationResult)).toBe(-1)
    }))
})

describe("peer vertx UsageTest", () => {
  // the breaker of setUp: fallbackOnFailure, timeout 500 ms, resetTimeout 1 s
  const usageBreaker = vertxBreaker("circuit-breaker", { fallbackOnFailure: true, timeout: 500, resetTimeout: 1000 })

  it.scoped("testCBWithWriteOperation", () =>
    Effect.gen(function*() {
      const { execute } = yield* usageBreaker
      // asyncWrite: OK and FAILURE answer after 1 to 249 ms, TIMEOUT after 2 s, RUNTIME_EXCEPTION throws
      const asyncWrite = (scenario: "OK" | "FAILURE" | "TIMEOUT" | "RUNTIME_EXCEPTION") =>
        scenario === "RUNTIME_EXCEPTION" ? throwing("Bad bad bad") : Effect.gen(function*() {
          const delay = scenario === "TIMEOUT" ? 2000 : yield* Random.nextIntBetween(1, 250)
          yield* Effect.sleep(Duration.millis(delay))
          return scenario === "FAILURE" ? yield* failWith("Bad Bad Bad") : "foo"
        })
      const bar = Effect.succeed("bar")
      const write = (scenario: Parameters<typeof asyncWrite>[0]) =>
        Effect.flatten(advanceToDone(execute(asyncWrite(scenario), bar)))
      const seeded = <A, E>(effect: Effect.Effect<A, E>) => Effect.withRandom(effect, Random.make(10))
      expect(yield* seeded(write("OK"))).toBe("foo")
      expect(yield* seeded(write("FAILURE"))).toBe("bar")
      expect(yield* seeded(write("TIMEOUT"))).toBe("bar")
      expect(yield* seeded(write("RUNTIME_EXCEPTION"))).toBe("bar")
    }))

  it.scoped("testCBWithEventBus", () =>
    Effect.gen(function*() {
      const { execute } = yield* usageBreaker
      // the consumers: "ok" replies, "timeout" replies after 2 s, "fail" fails the message, "exception" throws in the
      // consumer, so no reply ever comes
      const consumers = {
        ok: Effect.succeed("OK"),
        timeout: Effect.as(Effect.sleep("2 seconds"), "Too late"),
        fail: failWith("Bad bad bad"),
        exception: Effect.never
      }
      const request = (address: keyof typeof consumers) =>
        Effect.flatten(advanceToDone(execute(consumers[address], Effect.succeed("KO"))))
      expect(yield* request("ok")).toBe("OK")
      expect(yield* request("timeout")).toBe("KO")
      expect(yield* request("fail")).toBe("KO")
      expect(yield* request("exception")).toBe("KO")
    }))
})

describe("peer vertx AsyncBreakerTest", () => {
  // setUp: maxFailures 2, timeout 1 s, no fallback on failure, resetTimeout 2 s. `x(id)`: a call that answers after
  // 100 + 10 × id ms; the 5th to 12th answers (in the order they come) fail, the others succeed; the fallback answers
  // "OPEN" to a call the breaker turns away
  const setUp = Effect.gen(function*() {
    const cb = yield* vertxBreaker("collector-circuit-breaker", {
      maxFailures: 2,
      timeout: 1000,
      fallbackOnFailure: false,
      resetTimeout: 2000
    })
    let count = 0
    const fallbacks: Array<number> = []
    const x = (id: number) =>
      start(Effect.either(cb.execute(
        Effect.sleep(Duration.millis(100 + id * 10)).pipe(
          Effect.zipRight(Effect.suspend(() => {
            count++
            return count < 5 || count > 12 ? Effect.succeed("OK") : failWith("kapot")
          }))
        ),
        Effect.sync(() => {
          fallbacks.push(id)
          return "OPEN"
        })
      )))
    return { ...cb, x, fallbacks }
  })

  it.scoped("test1", () =>
    Effect.gen(function*() {
      const { breaker, entered, fallbacks, x } = yield* setUp
      const calls = []
      for (let i = 0; i < 20; ++i) calls.push(yield* x(i))
      yield* TestClock.adjust("300 millis")
      yield* Effect.forEach(calls, Fiber.join)
      // the 5th and 6th answers fail and open the breaker; the calls already running end while it is open, and
      // their successes do not close it
      expect(yield* entered("Open")).toBe(1)
      expect(yield* entered("Closed")).toBe(0)
      expect(yield* breaker.state).toBe("Open")
      expect(fallbacks).toEqual([])
    }))

  it.scoped("test2", () =>
    Effect.gen(function*() {
      const { breaker, entered, fallbacks, x } = yield* setUp
      const calls = []
      for (let i = 0; i < 20; ++i) calls.push(yield* x(i))
      // Thread.sleep(3000): the breaker opened at 150 ms, its pause is over at 2150 ms
      yield* TestClock.adjust("3 seconds")
      yield* Effect.forEach(calls, Fiber.join)
      expect(yield* breaker.state).toBe("HalfOpen")
      const more = []
      for (let i = 0; i < 5; ++i) more.push(yield* x(i))
      yield* TestClock.adjust("200 millis")
      yield* Effect.forEach(more, Fiber.join)
      // the first of the five is the probe and closes the breaker; the four others were turned away
      expect(yield* entered("Closed")).toBe(1)
      expect(yield* breaker.state).toBe("Closed")
      expect(fallbacks).toEqual([1, 2, 3, 4])
    }))
})

describe("peer vertx CircuitBreakerMetricsTest", () => {
  // the metrics are the breaker's snapshot: `totalOperationCount` is `calls`, `totalErrorCount` `failures` (of the
  // window, 60 s here, which these calls never leave); Sturdy does not tell timeouts, exceptions and failures apart
  // in its counts, so the kind of each error is asserted on the call's own outcome
  const commandThatWorks = Effect.sleep("5 millis")
  const commandThatFails = Effect.zipRight(Effect.sleep("5 millis"), failWith("expected failure"))
  const commandThatCrashes = throwing("Expected error")
  const commandThatTimeout = (timeout: number) => Effect.sleep(Duration.millis(timeout + 500))

  const runAll = <E>(
    execute: (operation: Effect.Effect<void, E>) => Effect.Effect<unknown, unknown>,
    commands: ReadonlyArray<Effect.Effect<void, E>>
  ) =>
    Effect.gen(function*() {
      const all = yield* start(Effect.all(commands.map((command) => Effect.exit(execute(command))), {
        concurrency: "unbounded"
      }))
      yield* TestClock.adjust("1 second")
      return yield* Fiber.join(all)
    })

  const metrics = (breaker: CircuitBreaker.CircuitBreaker) =>
    Effect.map(breaker.snapshot, (s) => ({
      name: s.key,
      state: s.state,
      totalOperationCount: s.calls,
      totalErrorCount: s.failures,
      totalSuccessCount: s.calls - s.failures
    }))

  it.scoped("testWithSuccessfulCommands", () =>
    Effect.gen(function*() {
      const { breaker, execute } = yield* vertxBreaker("some-circuit-breaker")
      const exits = yield* runAll(execute, [commandThatWorks, commandThatWorks, commandThatWorks])
      expect(exits.every(Exit.isSuccess)).toBe(true)
      expect(yield* metrics(breaker)).toEqual({
        name: "some-circuit-breaker",
        state: "Closed",
        totalOperationCount: 3,
        totalErrorCount: 0,
        totalSuccessCount: 3
      })
      expect((yield* breaker.snapshot).consecutiveFailures).toBe(0)
    }))

  it.scoped("testWithFailedCommands", () =>
    Effect.gen(function*() {
      const { breaker, execute } = yield* vertxBreaker("some-circuit-breaker")
      yield* runAll(execute, [commandThatFails, commandThatWorks, commandThatWorks, commandThatFails])
      expect(yield* metrics(breaker)).toEqual({
        name: "some-circuit-breaker",
        state: "Closed",
        totalOperationCount: 4,
        totalErrorCount: 2,
        totalSuccessCount: 2
      })
    }))

  it.scoped("testWithCrashingCommands", () =>
    Effect.gen(function*() {
      const { breaker, execute } = yield* vertxBreaker("some-circuit-breaker")
      const exits = yield* runAll(execute, [
        commandThatFails,
        commandThatWorks,
        commandThatWorks,
        commandThatFails,
        commandThatCrashes
      ])
      // totalExceptionCount 1: the crash is the fifth call's failure
      const crash = exits[4]!
      expect(Exit.isFailure(crash) && crash.cause._tag === "Fail" && crash.cause.error).toBeInstanceOf(RuntimeException)
      expect(yield* metrics(breaker)).toEqual({
        name: "some-circuit-breaker",
        state: "Closed",
        totalOperationCount: 5,
        totalErrorCount: 3,
        totalSuccessCount: 2
      })
    }))

  it.scoped("testWithTimeoutCommands", () =>
    Effect.gen(function*() {
      const { breaker, execute } = yield* vertxBreaker("some-circuit-breaker", { timeout: 100 })
      const exits = yield* runAll(execute, [
        commandThatFails,
        commandThatWorks,
        commandThatWorks,
        commandThatFails,
        commandThatTimeout(100)
      ])
      // totalTimeoutCount 1
      const timedOut = exits.filter((exit) =>
        Exit.isFailure(exit) && exit.cause._tag === "Fail" && Deadline.isDeadlineExceeded(exit.cause.error)
      )
      expect(timedOut.length).toBe(1)
      expect(yield* metrics(breaker)).toEqual({
        name: "some-circuit-breaker",
        state: "Closed",
        totalOperationCount: 5,
        totalErrorCount: 3,
        totalSuccessCount: 2
      })
    }))

  it.scoped("testLatencyComputation", () =>
    Effect.gen(function*() {
      const { breaker, execute } = yield* vertxBreaker("some-circuit-breaker")
      const count = 1000
      // the 5 ms timer left out: a TestClock wake-up costs real milliseconds, a thousand of them seconds
      const exits = yield* runAll(execute, Array.from({ length: count }, () => Effect.void))
      expect(exits.every(Exit.isSuccess)).toBe(true)
      expect(yield* metrics(breaker)).toEqual({
        name: "some-circuit-breaker",
        state: "Closed",
        totalOperationCount: count,
        totalErrorCount: 0,
        totalSuccessCount: count
      })
    }))

  it.scoped("testEviction", () =>
    Effect.gen(function*() {
      // metricsRollingWindow 10 ms: a breaker whose sliding window is 10 ms; the rolling count is at most the 1000
      // calls, and none once the window has passed over them
      const breaker = yield* CircuitBreaker.make("some-circuit-breaker", {
        consecutiveFailures: DEFAULT_MAX_FAILURES,
        slidingWindow: "10 millis"
      })
      const count = 1000
      const exits = yield* runAll(
        (operation) => CircuitBreaker.withBreaker(operation, breaker),
        // the 5 ms timer left out, as in testLatencyComputation
        Array.from({ length: count }, () => Effect.void)
      )
      expect(exits.every(Exit.isSuccess)).toBe(true)
      expect((yield* breaker.snapshot).calls).toBeLessThanOrEqual(count)
      yield* TestClock.adjust("10 millis")
      expect((yield* breaker.snapshot).calls).toBe(0)
    }))
})
