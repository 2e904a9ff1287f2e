// Ported from fabfuel/circuitbreaker at f7f216c05abf8eac3e024b859bf0e7fb0245b835: tests/test_functional.py and
// tests/test_unit.py (fixtures in tests/conftest.py); one `it` per case, named after it, with pytest's `function_type`
// parameter in brackets where the case is parametrized.
// Mapping: `CircuitBreaker(failure_threshold, recovery_timeout, expected_exception, name, fallback_function)` and the
// `@circuit(...)` decorator are `CircuitBreaker.make(name, { consecutiveFailures: failure_threshold, breakDuration:
// recovery_timeout, isFailure: expected_exception })` and `withBreaker`; a `fallback_function` is
// `Fallback.orElse(fallback, { while: CircuitBreaker.isCircuitOpen })` around the guarded call (fabfuel calls it only
// while the circuit is open); `CircuitBreakerError` is `CircuitOpen`; `state`/`closed`/`opened` are `state`;
// `open_remaining` is `snapshot.retryAfter`; `failure_count` is `snapshot.consecutiveFailures` while closed and the
// rejection's `failures` once open; `last_failure` is the rejection's `lastFailure` (its class name: Sturdy keeps no
// failure value); `CircuitBreakerMonitor` is a `CircuitBreaker.Registry`; forcing `opened` to True is `isolate`;
// `sleep(t)` is `TestClock.adjust(t)`. fabfuel's defaults are failure_threshold 5 and recovery_timeout 30 s.
// An `is_failure(type, value)` assertion is checked by behaviour: the failure opens a breaker of threshold 1, or not.
// `function_type`: the sync-function and async-function variants run (`Effect.sync`, `Effect.promise`); the generator
// variants are Python's (`yield` through the decorator) and are not ported.
// Deliberate differences: fabfuel keeps counting in half-open (a failed probe makes `failure_count` 4 after 3) and
// keeps `failure_count` while open; Sturdy's rejection after a failed probe says `ProbeFailed` after 1 failure, and an
// opened breaker starts with fresh counts. fabfuel's open-error message prints the last failure's value
// (`last_failure: Exception()`); Sturdy's names its kind only (no message or payload). A failure `isFailure`
// rejects counts as a success in both (fabfuel's `_call_succeeded`).
// Not ported: test_circuitbreaker_unnamed__str__ (a key is required), test_circuitbreaker_wrapper_matches_function_type
// and test_circuit_decorator_without_args (Python's function kinds and decorator forms),
// test_circuitbreaker_should_clear_last_exception_on_success_call (Sturdy keeps no last failure outside a rejection),
// the test_constructor_mistake_* cases (a string or non-predicate `expected_exception`: TypeScript's types refuse
// them) and the test_advanced_usage_circuitbreaker_* cases (subclass class attributes).
import { describe, expect, it } from "@effect/vitest"
import { CircuitBreaker, Fallback } from "@sturdy/policy"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as TestClock from "effect/TestClock"

class IOError extends Error {
  override name = "IOError"
}
class KeyError extends Error {
  override name = "KeyError"
}
class FooError extends Error {
  override name = "FooError"
  constructor(readonly val?: number) {
    super()
  }
}
class BarError extends Error {
  override name = "BarError"
}

const functionTypes = ["sync-function", "async-function"] as const
type FunctionType = typeof functionTypes[number]

// conftest's mock_function_call and `function` fixture: returns its value, or raises its side effect; counts its calls
const mockFunction = (type: FunctionType) => {
  const mock = { calls: 0, sideEffect: undefined as Error | undefined, returnValue: { value: "object()" } }
  const body = () => {
    mock.calls++
    if (mock.sideEffect !== undefined) throw mock.sideEffect
    return mock.returnValue
  }
  const fn: Effect.Effect<{ value: string }, Error> = type === "sync-function"
    ? Effect.try({ try: body, catch: (e) => e as Error })
    : Effect.tryPromise({ try: async () => body(), catch: (e) => e as Error })
  return { mock, fn }
}

const call = <A, E>(breaker: CircuitBreaker.CircuitBreaker, body: Effect.Effect<A, E>) =>
  Effect.either(CircuitBreaker.withBreaker(body, breaker))

const failureOf = <A, E>(outcome: Either.Either<A, E>): E | undefined =>
  Either.isLeft(outcome) ? outcome.left : undefined

const openRejection = <A, E>(outcome: Either.Either<A, E>) => {
  const failure = failureOf(outcome)
  expect(CircuitBreaker.isCircuitOpen(failure)).toBe(true)
  return failure as CircuitBreaker.CircuitOpen
}

const retryAfterMillis = (breaker: CircuitBreaker.CircuitBreaker) =>
  Effect.map(breaker.snapshot, (s) => Duration.toMillis(s.retryAfter))

// `breaker.is_failure(type, value)`: whether this failure opens a breaker of threshold 1 with this `isFailure`
const isFailure = (expected: ((e: unknown) => boolean) | undefined, failure: Error) =>
  Effect.scoped(Effect.gen(function*() {
    const breaker = yield* CircuitBreaker.make("is_failure", {
      consecutiveFailures: 1,
      ...(expected === undefined ? {} : { isFailure: expected })
    })
    yield* call(breaker, Effect.fail(failure))
    return (yield* breaker.state) === "Open"
  }))

describe("peer fabfuel/circuitbreaker test_functional.py", () => {
  for (const type of functionTypes) {
    it.scoped(`test_circuit_pass_through[${type}]`, () =>
      Effect.gen(function*() {
        const { fn, mock } = mockFunction(type)
        const circuitSuccess = yield* CircuitBreaker.make("circuit_success", { consecutiveFailures: 5 })
        expect(yield* call(circuitSuccess, fn)).toEqual(Either.right(mock.returnValue))
      }))

    it.scoped(`test_circuitbreaker_monitor[${type}]`, () =>
      Effect.gen(function*() {
        // the five circuits of the fixtures, in one registry (a call only ever reaches circuit_failure, whose
        // threshold is 1)
        const registry = yield* CircuitBreaker.makeRegistry({ breaker: { consecutiveFailures: 1 } })
        const names = ["circuit_success", "circuit_failure", "threshold_1", "threshold_2", "threshold_3"]
        const states = Effect.forEach(names, (name) => Effect.flatMap(registry.get(name), (b) => b.state))
        const closed = Effect.map(states, (s) => s.filter((x) => x === "Closed").length)

        expect(yield* states).toEqual(Array(5).fill("Closed"))
        expect(yield* registry.size).toBe(5)
        expect(yield* closed).toBe(5)

        const { fn, mock } = mockFunction(type)
        mock.sideEffect = new IOError()
        expect(failureOf(yield* Effect.either(registry.withBreaker(fn, "circuit_failure")))).toBeInstanceOf(IOError)

        expect((yield* states).every((s) => s === "Closed")).toBe(false)
        expect(yield* registry.size).toBe(5)
        expect(yield* closed).toBe(4)
        expect((yield* states).filter((s) => s === "Open").length).toBe(1)
      }))

    it.scoped(`test_threshold_hit_prevents_consequent_calls[${type}]`, () =>
      Effect.gen(function*() {
        const circuitbreaker = yield* CircuitBreaker.make("threshold_1", { consecutiveFailures: 1 })
        const { fn, mock } = mockFunction(type)
        mock.sideEffect = new IOError()
        expect(yield* circuitbreaker.state).toBe("Closed")

        expect(failureOf(yield* call(circuitbreaker, fn))).toBeInstanceOf(IOError)
        expect(yield* circuitbreaker.state).toBe("Open")

        openRejection(yield* call(circuitbreaker, fn))
        expect(mock.calls).toBe(1)
      }))

    it.scoped(`test_circuitbreaker_recover_half_open[${type}]`, () =>
      Effect.gen(function*() {
        const circuitbreaker = yield* CircuitBreaker.make("threshold_3", {
          consecutiveFailures: 3,
          breakDuration: "1 second"
        })
        const { fn, mock } = mockFunction(type)
        const failureCount = Effect.map(circuitbreaker.snapshot, (s) => s.consecutiveFailures)

        // initial state: closed
        expect(yield* circuitbreaker.state).toBe("Closed")
        // no exception -> success
        expect(Either.isRight(yield* call(circuitbreaker, fn))).toBe(true)

        // from now all subsequent calls will fail
        mock.sideEffect = new IOError("Connection refused")

        // 1. and 2. failed call -> original exception
        expect(failureOf(yield* call(circuitbreaker, fn))).toBeInstanceOf(IOError)
        expect(yield* circuitbreaker.state).toBe("Closed")
        expect(yield* failureCount).toBe(1)
        expect(failureOf(yield* call(circuitbreaker, fn))).toBeInstanceOf(IOError)
        expect(yield* circuitbreaker.state).toBe("Closed")
        expect(yield* failureCount).toBe(2)

        // 3. failed call -> original exception; the threshold has been reached
        expect(failureOf(yield* call(circuitbreaker, fn))).toBeInstanceOf(IOError)
        expect(yield* circuitbreaker.state).toBe("Open")
        const remaining = yield* retryAfterMillis(circuitbreaker)
        expect(remaining > 0 && remaining <= 1000).toBe(true)

        // 4. and 5. failed call -> not passed to function -> CircuitBreakerError (failure_count 3)
        expect(openRejection(yield* call(circuitbreaker, fn)).failures).toBe(3)
        expect(openRejection(yield* call(circuitbreaker, fn)).failures).toBe(3)
        expect(yield* circuitbreaker.state).toBe("Open")
        expect(mock.calls).toBe(4)

        // wait for 1 second (recover timeout)
        yield* TestClock.adjust("1 second")

        // circuit half-open -> next call will be passed through (open_remaining < 0: Sturdy's retryAfter is zero)
        expect(yield* circuitbreaker.state).toBe("HalfOpen")
        expect(yield* retryAfterMillis(circuitbreaker)).toBe(0)

        // State half-open -> function is executed -> original exception
        expect(failureOf(yield* call(circuitbreaker, fn))).toBeInstanceOf(IOError)
        expect(mock.calls).toBe(5)
        expect(yield* circuitbreaker.state).toBe("Open")
        const again = yield* retryAfterMillis(circuitbreaker)
        expect(again > 0 && again <= 1000).toBe(true)

        // State open > not passed to function -> CircuitBreakerError (fabfuel's failure_count is 4; Sturdy says the
        // probe failed)
        const rejection = openRejection(yield* call(circuitbreaker, fn))
        expect(rejection.reason).toBe("ProbeFailed")
        expect(mock.calls).toBe(5)
      }))

    it.scoped(`test_circuitbreaker_reopens_after_successful_calls[${type}]`, () =>
      Effect.gen(function*() {
        const circuitbreaker = yield* CircuitBreaker.make("threshold_2", {
          consecutiveFailures: 2,
          breakDuration: "1 second"
        })
        const { fn, mock } = mockFunction(type)
        const failureCount = Effect.map(circuitbreaker.snapshot, (s) => s.consecutiveFailures)
        expect(circuitbreaker.key).toBe("threshold_2")

        // initial state: closed
        expect(yield* circuitbreaker.state).toBe("Closed")
        expect(yield* failureCount).toBe(0)
        expect(Either.isRight(yield* call(circuitbreaker, fn))).toBe(true)

        // from now all subsequent calls will fail
        mock.sideEffect = new IOError("Connection refused")
        expect(failureOf(yield* call(circuitbreaker, fn))).toBeInstanceOf(IOError)
        expect(yield* circuitbreaker.state).toBe("Closed")
        expect(yield* failureCount).toBe(1)
        expect(failureOf(yield* call(circuitbreaker, fn))).toBeInstanceOf(IOError)

        // Circuit breaker opens, threshold has been reached
        expect(yield* circuitbreaker.state).toBe("Open")
        const remaining = yield* retryAfterMillis(circuitbreaker)
        expect(remaining > 0 && remaining <= 1000).toBe(true)
        expect(openRejection(yield* call(circuitbreaker, fn)).failures).toBe(2)

        // from now all subsequent calls will succeed, but the recover timeout has not been reached -> still open
        mock.sideEffect = undefined
        expect(openRejection(yield* call(circuitbreaker, fn)).failures).toBe(2)
        expect(yield* circuitbreaker.state).toBe("Open")

        // wait for 1 second (recover timeout)
        yield* TestClock.adjust("1 second")
        expect(yield* circuitbreaker.state).toBe("HalfOpen")
        expect(yield* retryAfterMillis(circuitbreaker)).toBe(0)

        // successful call: circuit closed and reset
        expect(Either.isRight(yield* call(circuitbreaker, fn))).toBe(true)
        expect(yield* circuitbreaker.state).toBe("Closed")
        expect(yield* failureCount).toBe(0)

        // some another successful calls
        for (let i = 0; i < 3; i++) expect(Either.isRight(yield* call(circuitbreaker, fn))).toBe(true)
        expect(mock.calls).toBe(7)
      }))
  }
})

describe("peer fabfuel/circuitbreaker test_unit.py", () => {
  it.scoped("test_circuitbreaker__str__", () =>
    Effect.gen(function*() {
      const cb = yield* CircuitBreaker.make("Foobar")
      expect(cb.key).toBe("Foobar")
    }))

  it.scoped("test_circuitbreaker_error__str__", () =>
    Effect.gen(function*() {
      // fabfuel: 'Circuit "Foobar" OPEN until <t> (0 failures, 30 sec remaining) (last_failure: Exception())'.
      // Sturdy's message names the key, the failures that opened it (their kind, not their value) and the wait
      const cb = yield* CircuitBreaker.make("Foobar", { consecutiveFailures: 1, breakDuration: "30 seconds" })
      yield* call(cb, Effect.fail(new Error("secret payload")))
      const error = openRejection(yield* call(cb, Effect.void))
      expect(error.message).toBe("circuit open for Foobar after 1 × Error; retry after 30s")
    }))

  for (const type of functionTypes) {
    it.scoped(`test_circuitbreaker_should_save_last_exception_on_failure_call[${type}]`, () =>
      Effect.gen(function*() {
        // Sturdy keeps the last failure for the rejection only: a threshold of 1 makes this failure open the breaker
        const cb = yield* CircuitBreaker.make("Foobar", { consecutiveFailures: 1 })
        const { fn, mock } = mockFunction(type)
        mock.sideEffect = new IOError()
        expect(failureOf(yield* call(cb, fn))).toBeInstanceOf(IOError)
        expect(openRejection(yield* call(cb, fn)).lastFailure).toEqual({ tag: "IOError" })
      }))

    const withFallback = Effect.gen(function*() {
      // CircuitBreaker.opened = lambda self: True
      const cb = yield* CircuitBreaker.make("WithFallback")
      yield* cb.isolate
      const primary = mockFunction(type)
      const fallback = mockFunction(type)
      fallback.mock.returnValue = { value: "fallback object()" }
      const decorated = (self: Effect.Effect<{ value: string }, Error>, alternative: typeof self) =>
        Fallback.orElse(CircuitBreaker.withBreaker(self, cb), alternative, { while: CircuitBreaker.isCircuitOpen })
      return { primary, fallback, decorated }
    })

    it.scoped(`test_circuitbreaker_should_call_fallback_function_if_open[${type}]`, () =>
      Effect.gen(function*() {
        const { decorated, fallback, primary } = yield* withFallback
        const answer = yield* decorated(primary.fn, fallback.fn)
        expect(answer.value).toBe(fallback.mock.returnValue)
        expect(answer.source).toBe("fallback")
        expect(fallback.mock.calls).toBe(1)
      }))

    it.scoped(`test_circuitbreaker_should_not_call_function_if_open[${type}]`, () =>
      Effect.gen(function*() {
        const { decorated, fallback, primary } = yield* withFallback
        expect((yield* decorated(primary.fn, fallback.fn)).value).toBe(fallback.mock.returnValue)
        expect(primary.mock.calls).toBe(0)
      }))

    it.scoped(`test_circuitbreaker_call_fallback_function_with_parameters[${type}]`, () =>
      Effect.gen(function*() {
        // the fallback gets the decorated function's arguments: here both are built from the same arguments
        const { decorated } = yield* withFallback
        let seen: ReadonlyArray<unknown> = []
        const fallbackOf = (...args: ReadonlyArray<unknown>) => Effect.sync(() => (seen = args, { value: "fallback" }))
        const primaryOf = (..._args: ReadonlyArray<unknown>) => Effect.succeed({ value: "primary" })
        const guarded = (...args: ReadonlyArray<unknown>) => decorated(primaryOf(...args), fallbackOf(...args))
        expect((yield* guarded("test2", { test: "test" })).value).toEqual({ value: "fallback" })
        expect(seen).toEqual(["test2", { test: "test" }])
      }))
  }

  it.scoped("test_circuit_decorator_with_args", () =>
    Effect.gen(function*() {
      // circuit(10, 20, KeyError, 'foobar', function_fallback)
      const breaker = yield* CircuitBreaker.make("foobar", {
        consecutiveFailures: 10,
        breakDuration: "20 seconds",
        isFailure: (e) => e instanceof KeyError
      })
      const functionFallback = Effect.succeed(true)
      const guarded = (self: Effect.Effect<unknown, Error>) =>
        Fallback.orElse(CircuitBreaker.withBreaker(self, breaker), functionFallback, {
          while: CircuitBreaker.isCircuitOpen
        })
      expect(breaker.key).toBe("foobar")

      // an Exception (or a FooError) is not a failure: it counts as a success and resets the count
      for (let i = 0; i < 9; i++) yield* Effect.either(guarded(Effect.fail(new KeyError())))
      yield* Effect.either(guarded(Effect.fail(new Error())))
      yield* Effect.either(guarded(Effect.fail(new FooError())))
      for (let i = 0; i < 9; i++) yield* Effect.either(guarded(Effect.fail(new KeyError())))
      expect(yield* breaker.state).toBe("Closed")
      // a KeyError is: the tenth in a row opens it, for 20 s, and the fallback answers
      yield* Effect.either(guarded(Effect.fail(new KeyError())))
      expect(yield* breaker.state).toBe("Open")
      expect(yield* retryAfterMillis(breaker)).toBe(20_000)
      const answer = yield* guarded(Effect.fail(new KeyError()))
      expect([answer.source, answer.value]).toEqual(["fallback", true])
    }))

  it.effect("test_breaker_expected_exception_is_predicate", () =>
    Effect.gen(function*() {
      const isFourFoo = (e: unknown) => e instanceof FooError && e.val === 4
      expect(yield* isFailure(isFourFoo, new FooError(4))).toBe(true)
      expect(yield* isFailure(isFourFoo, new FooError(2))).toBe(false)
    }))

  it.effect("test_breaker_default_constructor_traps_Exception", () =>
    Effect.gen(function*() {
      expect(yield* isFailure(undefined, new Error())).toBe(true)
      expect(yield* isFailure(undefined, new FooError())).toBe(true)
    }))

  it.effect("test_breaker_expected_exception_is_custom_exception", () =>
    Effect.gen(function*() {
      const expected = (e: unknown) => e instanceof FooError
      expect(yield* isFailure(expected, new FooError())).toBe(true)
      expect(yield* isFailure(expected, new Error())).toBe(false)
    }))

  it.effect("test_breaker_constructor_expected_exception_is_exception_list", () =>
    Effect.gen(function*() {
      const expected = (e: unknown) => e instanceof FooError || e instanceof BarError
      expect(yield* isFailure(expected, new FooError())).toBe(true)
      expect(yield* isFailure(expected, new BarError())).toBe(true)
      expect(yield* isFailure(expected, new Error())).toBe(false)
    }))
})
