// Ported from danielfm/pybreaker at 3c436f208f5ed012532e2ece55cf3d571f4c3a66: tests/pybreaker_test.py, the in-memory
// cases (CircuitBreakerStorageBasedTestCase, CircuitBreakerConfigurationTestCase, CircuitBreakerTestCase,
// CircuitBreakerThreadsTestCase, CircuitBreakerContextManagerTestCase); one `it` per pybreaker case, named after it.
// The Redis cases (CircuitBreakerRedisTestCase, CircuitBreakerRedisConcurrencyTestCase, the storage-based cases on
// Redis, and the cases about a breaker's initial state in its `state_storage`) are in peer-pybreaker-Redis.test.ts.
// Mapping: `CircuitBreaker()` (fail_max 5, reset_timeout 60) is `CircuitBreaker.make(key, { consecutiveFailures: 5 })`
// (Sturdy's `breakDuration` default is already 60 s); `fail_max` is `consecutiveFailures`, `reset_timeout` is
// `breakDuration`, `success_threshold` is `successThreshold`, `exclude=[...]` is `isFailure` (pybreaker counts an
// excluded exception as a success, which resets `fail_counter`: the same as a failure `isFailure` rejects; Sturdy's
// `isIgnored`, which records nothing, has no pybreaker counterpart); `breaker.call(f)` and the `@breaker` decorator
// are `withBreaker`; `CircuitBreakerError` is `CircuitOpen`; `fail_counter` is `snapshot.consecutiveFailures` while
// Closed and the rejection's `failures` once Open (Sturdy's Open state starts with fresh counts);
// `current_state` is `state`; `close()` is `reset`; a `CircuitBreakerListener.state_change` is a `subscribe`r;
// `sleep(t)` is `TestClock.adjust(t)`; threads are fibers, and the peer's `sleep(0.00005)` inside a call (to let the
// threads interleave) is an `Effect.yieldNow()`.
// Deliberate differences (each test says which):
// - the call that trips the breaker (and a failed half-open probe) answers its own failure in Sturdy, never a
//   `CircuitOpen`: pybreaker's default `throw_new_error_on_trip=True` raises `CircuitBreakerError` from it; Sturdy
//   behaves as `throw_new_error_on_trip=False` always (the call ran, so its caller gets what the upstream said).
// - Sturdy's default `consecutiveFailures` is 3 (pybreaker's `fail_max` 5).
// - there are no manual `open()` / `half_open()` transitions: HalfOpen is reached by failures and the pause
//   (`isolate` holds a breaker open until `reset`), and Open -> HalfOpen is published with the first call after it.
// Not ported: test_call_events (`before_call`/`success`/`failure` listeners: Sturdy publishes transitions only),
// test_generator and test_contextmanager (Python generators and `with`), test_call_with_args/kwargs and
// test_call_async_with_no_args/kwargs (Python calling conventions; an Effect closes over its arguments: the value
// passing through is test_call_with_no_args and test_call_async_with_args), the setters and mutators
// (test_fail_max_setter, test_reset_timeout_setter, test_success_threshold_property, test_add_listeners beyond
// test_add_listener, test_add/remove_excluded_exception(s): a breaker's options are fixed when it is made),
// test_no_tornado_raises and test_create_new_state__bad_state (Python internals), test_notify_*,
// test_failure_count_not_reset_during_creation, test_state_opened_at_not_reset_during_creation and test_default_state
// (about the state storage: in peer-pybreaker-Redis.test.ts on `CircuitBreakerStore`).
import { describe, expect, it } from "@effect/vitest"
import { CircuitBreaker } from "@sturdy/policy"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import {
  call,
  err,
  failCounter,
  failureOf,
  KeyError,
  listen,
  LookupError,
  NotImplementedError,
  openWith,
  pybreakerOptions,
  raisesOpen,
  raisesOwn,
  suc
} from "./utils/pybreaker.js"

class TestException extends Error {
  override name = "TestException"
  constructor(readonly value: string) {
    super(value)
  }
}

const pybreaker = (options?: CircuitBreaker.Options) => CircuitBreaker.make("pybreaker", pybreakerOptions(options))

describe("peer pybreaker CircuitBreakerStorageBasedTestCase (memory)", () => {
  it.scoped("test_successful_call", () =>
    Effect.gen(function*() {
      const breaker = yield* pybreaker()
      expect(yield* call(breaker, suc)).toEqual(Either.right(true))
      expect(yield* failCounter(breaker)).toBe(0)
      expect(yield* breaker.state).toBe("Closed")
    }))

  it.scoped("test_one_failed_call", () =>
    Effect.gen(function*() {
      const breaker = yield* pybreaker()
      raisesOwn(yield* call(breaker, err))
      expect(yield* failCounter(breaker)).toBe(1)
      expect(yield* breaker.state).toBe("Closed")
    }))

  it.scoped("test_one_successful_call_after_failed_call", () =>
    Effect.gen(function*() {
      const breaker = yield* pybreaker()
      raisesOwn(yield* call(breaker, err))
      expect(yield* failCounter(breaker)).toBe(1)
      expect(yield* call(breaker, suc)).toEqual(Either.right(true))
      expect(yield* failCounter(breaker)).toBe(0)
      expect(yield* breaker.state).toBe("Closed")
    }))

  it.scoped("test_several_failed_calls_setting_absent", () =>
    Effect.gen(function*() {
      const breaker = yield* pybreaker({ consecutiveFailures: 3 })
      raisesOwn(yield* call(breaker, err))
      raisesOwn(yield* call(breaker, err))
      // pybreaker raises CircuitBreakerError from the call that trips it; Sturdy answers the call's own failure
      raisesOwn(yield* call(breaker, err))
      expect(yield* breaker.state).toBe("Open")
      // fail_counter == 3: the rejection says 3 failures tripped it
      const open = raisesOpen(yield* call(breaker, err))
      expect([open.reason, open.failures]).toEqual(["ConsecutiveFailures", 3])
    }))

  it.scoped("test_throw_new_error_on_trip_false", () =>
    Effect.gen(function*() {
      const breaker = yield* pybreaker({ consecutiveFailures: 3 })
      raisesOwn(yield* call(breaker, err))
      raisesOwn(yield* call(breaker, err))
      raisesOwn(yield* call(breaker, err))
      // Circuit should be open
      expect(yield* breaker.state).toBe("Open")
      // Circuit should still be open and break
      let ran = 0
      const open = raisesOpen(yield* call(breaker, Effect.suspend(() => (ran++, err))))
      expect(ran).toBe(0)
      expect(open.failures).toBe(3)
      expect(yield* breaker.state).toBe("Open")
    }))

  it.scoped("test_throw_new_error_on_trip_true", () =>
    Effect.gen(function*() {
      // Sturdy has no `throw_new_error_on_trip`: the tripping call answers its own failure (the peer's option False),
      // and only the calls the open breaker turns away get CircuitOpen
      const breaker = yield* pybreaker({ consecutiveFailures: 3 })
      raisesOwn(yield* call(breaker, err))
      raisesOwn(yield* call(breaker, err))
      raisesOwn(yield* call(breaker, err))
      const open = raisesOpen(yield* call(breaker, err))
      expect(open.failures).toBe(3)
      expect(yield* breaker.state).toBe("Open")
    }))

  it.scoped("test_traceback_in_circuitbreaker_error", () =>
    Effect.gen(function*() {
      const breaker = yield* pybreaker({ consecutiveFailures: 3 })
      yield* openWith(breaker, 3)
      // pybreaker chains the NotImplementedError into the CircuitBreakerError's traceback; Sturdy's CircuitOpen names
      // the last failure's kind (its tag or class name, nothing of its message)
      const open = raisesOpen(yield* call(breaker, err))
      expect(open.lastFailure).toEqual({ tag: "NotImplementedError" })
      expect(open.sameKind).toBe(true)
      expect(open.message).toContain("after 3 × NotImplementedError")
    }))

  it.scoped("test_failed_call_after_timeout", () =>
    Effect.gen(function*() {
      const breaker = yield* pybreaker({ consecutiveFailures: 3, breakDuration: "500 millis" })
      raisesOwn(yield* call(breaker, err))
      raisesOwn(yield* call(breaker, err))
      expect(yield* breaker.state).toBe("Closed")
      // Circuit should open (pybreaker: CircuitBreakerError from this call)
      raisesOwn(yield* call(breaker, err))
      expect(raisesOpen(yield* call(breaker, err)).failures).toBe(3)

      // Wait for timeout
      yield* TestClock.adjust("600 millis")
      expect(yield* breaker.state).toBe("HalfOpen")

      // Circuit should open again: the failed probe answers its own failure (pybreaker: CircuitBreakerError)
      raisesOwn(yield* call(breaker, err))
      expect(yield* breaker.state).toBe("Open")
      const open = raisesOpen(yield* call(breaker, err))
      expect(open.reason).toBe("ProbeFailed")
      expect(Duration.toMillis(open.retryAfter)).toBe(500)
    }))

  it.scoped("test_successful_after_timeout", () =>
    Effect.gen(function*() {
      const breaker = yield* pybreaker({ consecutiveFailures: 3, breakDuration: "1 second" })
      let sucCalls = 0
      const counted = Effect.sync(() => (sucCalls++, true))
      raisesOwn(yield* call(breaker, err))
      raisesOwn(yield* call(breaker, err))
      expect(yield* breaker.state).toBe("Closed")
      // Circuit should open
      raisesOwn(yield* call(breaker, err))
      raisesOpen(yield* call(breaker, err))
      raisesOpen(yield* call(breaker, counted))

      // Wait for timeout
      yield* TestClock.adjust("2 seconds")

      // Circuit should close again; the successful function was called once
      expect(yield* call(breaker, counted)).toEqual(Either.right(true))
      expect(yield* failCounter(breaker)).toBe(0)
      expect(yield* breaker.state).toBe("Closed")
      expect(sucCalls).toBe(1)
    }))

  it.scoped("test_failed_call_when_halfopen", () =>
    Effect.gen(function*() {
      // no half_open(): the default breaker opens after 5 failures and is half-open after its 60 s pause
      const breaker = yield* pybreaker()
      yield* openWith(breaker, 5)
      yield* TestClock.adjust("60 seconds")
      expect(yield* breaker.state).toBe("HalfOpen")
      expect(yield* failCounter(breaker)).toBe(0)

      // Circuit should open (pybreaker: CircuitBreakerError from the probe, fail_counter 1)
      raisesOwn(yield* call(breaker, err))
      expect(yield* breaker.state).toBe("Open")
      const open = raisesOpen(yield* call(breaker, err))
      expect([open.reason, open.failures]).toEqual(["ProbeFailed", 1])
    }))

  it.scoped("test_successful_call_when_halfopen", () =>
    Effect.gen(function*() {
      const breaker = yield* pybreaker()
      yield* openWith(breaker, 5)
      yield* TestClock.adjust("60 seconds")
      expect(yield* breaker.state).toBe("HalfOpen")
      expect(yield* failCounter(breaker)).toBe(0)

      expect(yield* call(breaker, suc)).toEqual(Either.right(true))
      expect(yield* failCounter(breaker)).toBe(0)
      expect(yield* breaker.state).toBe("Closed")
    }))

  it.scoped("test_close", () =>
    Effect.gen(function*() {
      const breaker = yield* pybreaker({ consecutiveFailures: 3 })
      raisesOwn(yield* call(breaker, err))
      raisesOwn(yield* call(breaker, err))
      // Circuit should open
      raisesOwn(yield* call(breaker, err))
      raisesOpen(yield* call(breaker, err))
      expect(raisesOpen(yield* call(breaker, err)).failures).toBe(3)
      expect(yield* breaker.state).toBe("Open")

      // Circuit should close again: close() is reset
      yield* breaker.reset
      expect(yield* failCounter(breaker)).toBe(0)
      expect(yield* breaker.state).toBe("Closed")
      expect(yield* call(breaker, suc)).toEqual(Either.right(true))
    }))

  it.scoped("test_transition_events", () =>
    Effect.gen(function*() {
      const breaker = yield* pybreaker()
      const out = yield* listen(breaker)
      expect(yield* breaker.state).toBe("Closed")

      // open(): five failures; half_open(): the pause ends and a call arrives (Open -> HalfOpen is published then);
      // close(): that probe succeeds
      yield* openWith(breaker, 5)
      expect(yield* breaker.state).toBe("Open")
      yield* TestClock.adjust("60 seconds")
      expect(yield* breaker.state).toBe("HalfOpen")
      expect(yield* call(breaker, suc)).toEqual(Either.right(true))
      expect(yield* breaker.state).toBe("Closed")

      expect(yield* out).toBe("Closed->Open,Open->HalfOpen,HalfOpen->Closed,")
    }))
})

describe("peer pybreaker CircuitBreakerConfigurationTestCase", () => {
  it.scoped("test_default_params", () =>
    Effect.gen(function*() {
      // Sturdy's own defaults: 3 consecutive failures (pybreaker's fail_max is 5), a 60 s pause, every failure
      // counts (no exclusions), no subscriber
      const breaker = yield* CircuitBreaker.make("pybreaker")
      expect(yield* failCounter(breaker)).toBe(0)
      expect(yield* breaker.state).toBe("Closed")
      yield* openWith(breaker, 3)
      const open = raisesOpen(yield* call(breaker, err))
      expect(Duration.toMillis(open.retryAfter)).toBe(60_000)
    }))

  it.scoped("test_new_with_custom_reset_timeout", () =>
    Effect.gen(function*() {
      const breaker = yield* pybreaker({ breakDuration: "30 seconds" })
      expect(yield* failCounter(breaker)).toBe(0)
      // fail_max is still 5
      yield* openWith(breaker, 5)
      const open = raisesOpen(yield* call(breaker, err))
      expect(Duration.toMillis(open.retryAfter)).toBe(30_000)
    }))

  it.scoped("test_new_with_custom_fail_max", () =>
    Effect.gen(function*() {
      const breaker = yield* pybreaker({ consecutiveFailures: 10 })
      expect(yield* failCounter(breaker)).toBe(0)
      for (let i = 0; i < 9; i++) raisesOwn(yield* call(breaker, err))
      expect(yield* breaker.state).toBe("Closed")
      raisesOwn(yield* call(breaker, err))
      const open = raisesOpen(yield* call(breaker, err))
      // reset_timeout is still 60
      expect([open.failures, Duration.toMillis(open.retryAfter)]).toEqual([10, 60_000])
    }))

  it.scoped("test_new_with_custom_excluded_exceptions", () =>
    Effect.gen(function*() {
      // exclude=[Exception]: no failure counts
      const breaker = yield* pybreaker({ isFailure: (e) => !(e instanceof Error) })
      for (let i = 0; i < 10; i++) raisesOwn(yield* call(breaker, err))
      expect(yield* failCounter(breaker)).toBe(0)
      expect(yield* breaker.state).toBe("Closed")
    }))

  it.scoped("test_call_with_no_args", () =>
    Effect.gen(function*() {
      const breaker = yield* pybreaker()
      expect(yield* call(breaker, Effect.sync(() => true))).toEqual(Either.right(true))
    }))

  it.scoped("test_call_async_with_args", () =>
    Effect.gen(function*() {
      const breaker = yield* pybreaker()
      const func = async (arg1: number, arg2: string) => [arg1, arg2]
      expect(yield* call(breaker, Effect.promise(() => func(42, "abc")))).toEqual(Either.right([42, "abc"]))
    }))

  it.scoped("test_add_listener", () =>
    Effect.gen(function*() {
      // a listener added later sees the transitions from then on; the first one sees all of them
      const breaker = yield* pybreaker({ consecutiveFailures: 1, breakDuration: "1 second" })
      const first = yield* listen(breaker)
      raisesOwn(yield* call(breaker, err))
      const second = yield* listen(breaker)
      yield* TestClock.adjust("1 second")
      expect(yield* call(breaker, suc)).toEqual(Either.right(true))
      expect(yield* first).toBe("Closed->Open,Open->HalfOpen,HalfOpen->Closed,")
      expect(yield* second).toBe("Open->HalfOpen,HalfOpen->Closed,")
    }))

  it.scoped("test_remove_listener", () =>
    Effect.gen(function*() {
      // a listener is removed by closing the scope of its subscription
      const breaker = yield* pybreaker({ consecutiveFailures: 1 })
      const scope = yield* Scope.make()
      const out = yield* Scope.extend(listen(breaker), scope)
      yield* Scope.close(scope, Exit.void)
      raisesOwn(yield* call(breaker, err))
      expect(yield* breaker.state).toBe("Open")
      expect(yield* out).toBe("")
    }))

  it.scoped("test_excluded_exceptions", () =>
    Effect.gen(function*() {
      const breaker = yield* pybreaker({ isFailure: (e) => !(e instanceof LookupError) })
      raisesOwn(yield* call(breaker, err))
      expect(yield* failCounter(breaker)).toBe(1)

      // LookupError is not considered a system error (the caller still gets it)
      expect(failureOf(yield* call(breaker, Effect.fail(new LookupError())))).toBeInstanceOf(LookupError)
      expect(yield* failCounter(breaker)).toBe(0)

      raisesOwn(yield* call(breaker, err))
      expect(yield* failCounter(breaker)).toBe(1)

      // Should consider subclasses as well (KeyError is a subclass of LookupError)
      expect(failureOf(yield* call(breaker, Effect.fail(new KeyError())))).toBeInstanceOf(KeyError)
      expect(yield* failCounter(breaker)).toBe(0)
    }))

  it.scoped("test_excluded_callable_exceptions", () =>
    Effect.gen(function*() {
      const filter = (e: unknown) => e instanceof TestException && e.value === "good"
      const breaker = yield* pybreaker({ isFailure: (e) => !filter(e) })

      expect(failureOf(yield* call(breaker, Effect.fail(new TestException("bad"))))).toBeInstanceOf(TestException)
      expect(yield* failCounter(breaker)).toBe(1)

      expect(failureOf(yield* call(breaker, Effect.fail(new TestException("good"))))).toBeInstanceOf(TestException)
      expect(yield* failCounter(breaker)).toBe(0)

      raisesOwn(yield* call(breaker, err))
      expect(yield* failCounter(breaker)).toBe(1)
    }))

  it.scoped("test_excluded_callable_and_types_exceptions", () =>
    Effect.gen(function*() {
      const filter = (e: unknown) => e instanceof TestException && e.value === "good"
      const breaker = yield* pybreaker({ isFailure: (e) => !(filter(e) || e instanceof LookupError) })

      expect(failureOf(yield* call(breaker, Effect.fail(new TestException("bad"))))).toBeInstanceOf(TestException)
      expect(yield* failCounter(breaker)).toBe(1)

      expect(failureOf(yield* call(breaker, Effect.fail(new TestException("good"))))).toBeInstanceOf(TestException)
      expect(yield* failCounter(breaker)).toBe(0)

      raisesOwn(yield* call(breaker, err))
      expect(yield* failCounter(breaker)).toBe(1)

      expect(failureOf(yield* call(breaker, Effect.fail(new LookupError())))).toBeInstanceOf(LookupError)
      expect(yield* failCounter(breaker)).toBe(0)
    }))

  it.scoped("test_decorator", () =>
    Effect.gen(function*() {
      const breaker = yield* pybreaker()
      // @breaker: the data-last `withBreaker(breaker)` wraps any effect
      const guarded = CircuitBreaker.withBreaker(breaker)
      const sucFn = (value: boolean) => guarded(Effect.succeed(value))
      const errFn = (_value: boolean) => guarded(Effect.fail(new NotImplementedError()))

      expect(yield* Effect.flip(errFn(true))).toBeInstanceOf(NotImplementedError)
      expect(yield* failCounter(breaker)).toBe(1)
      expect(yield* sucFn(true)).toBe(true)
      expect(yield* failCounter(breaker)).toBe(0)
    }))

  it.scoped("test_decorator_call_future", () =>
    Effect.gen(function*() {
      const breaker = yield* pybreaker()
      const guarded = CircuitBreaker.withBreaker(breaker)
      const fromPromise = <A>(f: () => Promise<A>) => Effect.tryPromise({ try: f, catch: (e) => e })
      const sucFn = (value: boolean) => guarded(fromPromise(async () => value))
      const errFn = (_value: boolean) =>
        guarded(fromPromise(async () => {
          throw new NotImplementedError()
        }))

      expect(yield* Effect.flip(errFn(true))).toBeInstanceOf(NotImplementedError)
      expect(yield* failCounter(breaker)).toBe(1)
      expect(yield* sucFn(true)).toBe(true)
      expect(yield* failCounter(breaker)).toBe(0)
    }))

  it.scoped("test_name", () =>
    Effect.gen(function*() {
      // the key names the breaker (fixed when it is made: no setter)
      const breaker = yield* CircuitBreaker.make("test_breaker")
      expect(breaker.key).toBe("test_breaker")
      expect((yield* breaker.snapshot).key).toBe("test_breaker")
    }))

  it.scoped("test_success_threshold_default_behavior", () =>
    Effect.gen(function*() {
      const breaker = yield* pybreaker({ consecutiveFailures: 3, breakDuration: "100 millis" })
      // Open the circuit (pybreaker: the third call raises CircuitBreakerError; Sturdy: its own failure)
      yield* openWith(breaker, 3)
      // Wait for timeout to enter half-open state
      yield* TestClock.adjust("200 millis")
      // Single successful call should close the circuit
      expect(yield* call(breaker, suc)).toEqual(Either.right(true))
      expect(yield* breaker.state).toBe("Closed")
    }))

  it.scoped("test_success_threshold_multiple_successes_required", () =>
    Effect.gen(function*() {
      const breaker = yield* pybreaker({ consecutiveFailures: 3, breakDuration: "100 millis", successThreshold: 3 })
      yield* openWith(breaker, 3)
      yield* TestClock.adjust("200 millis")

      // the first two successful calls leave it half-open (success_counter 1, 2: Sturdy keeps that count private)
      expect(yield* call(breaker, suc)).toEqual(Either.right(true))
      expect(yield* breaker.state).toBe("HalfOpen")
      expect(yield* call(breaker, suc)).toEqual(Either.right(true))
      expect(yield* breaker.state).toBe("HalfOpen")
      // Third successful call should close the circuit
      expect(yield* call(breaker, suc)).toEqual(Either.right(true))
      expect(yield* breaker.state).toBe("Closed")
    }))

  it.scoped("test_success_threshold_failure_resets_counter", () =>
    Effect.gen(function*() {
      const breaker = yield* pybreaker({ consecutiveFailures: 3, breakDuration: "100 millis", successThreshold: 3 })
      yield* openWith(breaker, 3)
      yield* TestClock.adjust("200 millis")

      expect(yield* call(breaker, suc)).toEqual(Either.right(true))
      expect(yield* call(breaker, suc)).toEqual(Either.right(true))
      expect(yield* breaker.state).toBe("HalfOpen")

      // Failure should reset success counter and open circuit (pybreaker: CircuitBreakerError from the probe)
      raisesOwn(yield* call(breaker, err))
      expect(yield* breaker.state).toBe("Open")
      // success_counter == 0: after the next pause two successes no longer close it, three do
      yield* TestClock.adjust("200 millis")
      expect(yield* call(breaker, suc)).toEqual(Either.right(true))
      expect(yield* call(breaker, suc)).toEqual(Either.right(true))
      expect(yield* breaker.state).toBe("HalfOpen")
      expect(yield* call(breaker, suc)).toEqual(Either.right(true))
      expect(yield* breaker.state).toBe("Closed")
    }))
})

describe("peer pybreaker CircuitBreakerThreadsTestCase (fibers)", () => {
  // three fibers calling `body` `n` times each, interleaved at every call
  const threads = <A, E>(breaker: CircuitBreaker.CircuitBreaker, body: Effect.Effect<A, E>, n: number) =>
    Effect.all(
      Array.from({ length: 3 }, () =>
        Effect.forEach(Array.from({ length: n }), () => call(breaker, Effect.zipRight(Effect.yieldNow(), body)))),
      { concurrency: "unbounded", discard: true }
    )

  it.scoped("test_fail_thread_safety", () =>
    Effect.gen(function*() {
      const breaker = yield* pybreaker({ consecutiveFailures: 3000, breakDuration: "1 second" })
      yield* threads(breaker, err, 500)
      expect(yield* breaker.snapshot).toMatchObject({
        state: "Closed",
        consecutiveFailures: 1500,
        failures: 1500,
        calls: 1500
      })
    }))

  it.scoped("test_success_thread_safety", () =>
    Effect.gen(function*() {
      const breaker = yield* pybreaker({ consecutiveFailures: 3000, breakDuration: "1 second" })
      let successes = 0
      yield* threads(breaker, Effect.sync(() => (successes++, true)), 500)
      expect(successes).toBe(1500)
      expect(yield* breaker.snapshot).toMatchObject({ state: "Closed", calls: 1500, failures: 0 })
    }))

  it.scoped("test_half_open_thread_safety", () =>
    Effect.gen(function*() {
      const breaker = yield* pybreaker({ consecutiveFailures: 1, breakDuration: "10 millis" })
      // open(): one failure
      raisesOwn(yield* call(breaker, err))
      yield* TestClock.adjust("10 millis")
      const out = yield* listen(breaker)

      // five threads fail a call that takes a moment (the peer's before_call sleep)
      let ran = 0
      const slowErr = Effect.zipRight(Effect.sleep("1 millis"), Effect.suspend(() => (ran++, err)))
      const fibers = yield* Effect.forEach(Array.from({ length: 5 }), () => Effect.fork(call(breaker, slowErr)))
      yield* Effect.yieldNow()
      yield* TestClock.adjust("1 millis")
      const outcomes = yield* Effect.forEach(fibers, Fiber.join)

      // only one trial call, and one transition to half-open
      expect(ran).toBe(1)
      expect(outcomes.filter((o) => CircuitBreaker.isCircuitOpen(failureOf(o))).length).toBe(4)
      expect((yield* out).split(",").filter((t) => t.endsWith("->HalfOpen")).length).toBe(1)
      expect(yield* breaker.state).toBe("Open")
    }))

  it.scoped("test_fail_max_thread_safety", () =>
    Effect.gen(function*() {
      const breaker = yield* pybreaker({ consecutiveFailures: 3000, breakDuration: "1 second" })
      let ran = 0
      yield* threads(breaker, Effect.suspend(() => (ran++, err)), 2000)
      // fail_max == fail_counter: the breaker opened on exactly 3000 failures. pybreaker holds its lock around the
      // whole call; Sturdy admits calls concurrently, so the other two threads' calls already admitted when the
      // 3000th failed still ran (their outcomes, from before the transition, change nothing)
      const open = raisesOpen(yield* call(breaker, err))
      expect([open.reason, open.failures]).toEqual(["ConsecutiveFailures", 3000])
      expect(ran).toBeGreaterThanOrEqual(3000)
      expect(ran).toBeLessThanOrEqual(3002)
    }))
})

describe("peer pybreaker CircuitBreakerContextManagerTestCase", () => {
  it.scoped("test_calling", () =>
    Effect.gen(function*() {
      // `with breaker.calling():` guards a block: `withBreaker` around the block's effect
      const breaker = yield* CircuitBreaker.make("calling", { consecutiveFailures: 2, breakDuration: "10 millis" })
      let mockFn = 0
      const doRaise = call(breaker, Effect.fail(new NotImplementedError()))
      const doSucceed = call(breaker, Effect.sync(() => void mockFn++))

      raisesOwn(yield* doRaise)
      // pybreaker: CircuitBreakerError from the call that trips it; Sturdy: its own failure
      raisesOwn(yield* doRaise)
      expect(yield* breaker.state).toBe("Open")
      expect(raisesOpen(yield* doRaise).failures).toBe(2)

      // Still fails while circuit breaker is open
      raisesOpen(yield* doSucceed)
      expect(mockFn).toBe(0)

      yield* TestClock.adjust("10 millis")
      expect(Either.isRight(yield* doSucceed)).toBe(true)
      expect(mockFn).toBe(1)
      expect(yield* failCounter(breaker)).toBe(0)
      expect(yield* breaker.state).toBe("Closed")
    }))
})
