// Ported from googleapis/python-api-core `tests/unit/retry/test_retry_base.py` (commit
// 07ae10bcfdaa2d5cf133a45d07d9f9fa34acf119) and `tests/unit/retry/test_retry_unary.py` (commit
// 07db4c260525092b64c68e8937bd172f508ba1a8), one `it` per api-core case, named after it (class cases as
// `Class.test_name`).
//
// Mapping: api-core's `predicate` (`if_exception_type(...)`) is `Retry.retry`'s `while`; `on_error` is the
// `onAttempt` hook (called for every failure the retry loop decides about: with `retrying: true` before a retry, and
// once more with the reason it stopped); `exponential_sleep_generator(initial, maximum, multiplier)` with
// `random.uniform` mocked to return its upper bound is `Backoff.exponential({ baseDelay: initial, maxDelay: maximum,
// factor: multiplier, jitter: "none" })`; a plain sleep generator (`range(10)`: 0, 1, 2 ... seconds) is
// `Backoff.fromDelay((retry) => (retry - 1) × 1 s)`; `retry_target(..., deadline=t)` / `Retry(timeout=t)` is
// `Deadline.withDeadline(t)` around the retry; `time.sleep` / `utcnow` are the TestClock.
//
// Deliberate differences: when retrying stops, api-core raises a `RetryError` wrapping the last exception
// (`exc_info.value.cause`); Sturdy returns the ORIGINAL last failure itself (the decision's reason, `"deadline"` or
// `"exhausted"`, says why), and a deadline that fires during an attempt interrupts it with `DeadlineExceeded`
// (reason `"Deadline"`) at the deadline, where api-core lets the attempt run out and checks after it. api-core's
// defaults (initial 1 s, maximum 60 s, multiplier 2, timeout 120 s, if_transient_error) are not Sturdy's (100 ms,
// 10 s, 2, 3 attempts, every typed failure): the ported cases give their options explicitly.
//
// Not ported: test_if_transient_error (classifies api-core's gRPC/HTTP/requests exception classes; Sturdy's HTTP
// classification is `@sturdy/http`'s `Policy.isRetryableByDefault`, ported elsewhere), test_build_retry_error_*
// (messages of the `RetryError` wrapper Sturdy does not have; "timeout_message"'s cause is ported as the
// hitting-deadline case returning the last failure), Test_BaseRetry's constructor/with_timeout/with_deadline/
// with_predicate/with_delay*/__str__ (Python object API: copies with one attribute changed, repr),
// test_retry_target_warning_for_retry (an asyncio warning for a coroutine target).
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Deadline from "@sturdy/policy/Deadline"
import * as Retry from "@sturdy/policy/Retry"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { advanceToDone } from "./utils/advance.js"
import { stepDelays } from "./utils/stepDelays.js"

class ValueError extends Data.TaggedError("ValueError")<{ readonly message?: string }> {}
class TypeError_ extends Data.TaggedError("TypeError")<{}> {}
class RuntimeError extends Data.TaggedError("RuntimeError")<{}> {}
type PyError = ValueError | TypeError_ | RuntimeError

// api-core's `if_exception_type(*types)`
const ifExceptionType = (...tags: ReadonlyArray<PyError["_tag"]>) => (e: PyError) => tags.includes(e._tag)

// a target failing with `failures` in turn, then answering 42, counting its calls
const target = (...failures: ReadonlyArray<PyError>) => {
  const t = {
    calls: 0,
    call: Effect.suspend((): Effect.Effect<number, PyError> => {
      const failure = failures[t.calls++]
      return failure === undefined ? Effect.succeed(42) : Effect.fail(failure)
    })
  }
  return t
}

// `range(10)`: sleeps of 0, 1, 2 ... seconds
const range10 = Backoff.bounded(Backoff.fromDelay((retry) => Duration.seconds(retry - 1)), { maxAttempts: 11 })

const recorder = () => {
  const attempts: Array<Retry.Attempt<PyError>> = []
  return {
    attempts,
    onAttempt: (a: Retry.Attempt<PyError>) => Effect.sync(() => void attempts.push(a)),
    sleeps: () => attempts.filter((a) => a.retrying).map((a) => Duration.toSeconds(a.delay))
  }
}

describe("python-api-core tests/unit/retry/test_retry_base.py", () => {
  it.effect("test_if_exception_type", () =>
    Effect.gen(function*() {
      const predicate = ifExceptionType("ValueError")
      // retried
      const retried = target(new ValueError({}))
      expect(yield* advanceToDone(Retry.retry(retried.call, { schedule: range10, while: predicate }))).toEqual(
        Exit.succeed(42)
      )
      expect(retried.calls).toBe(2)
      // not retried
      const failure = new TypeError_()
      const other = target(failure)
      expect(yield* advanceToDone(Retry.retry(other.call, { schedule: range10, while: predicate }))).toEqual(
        Exit.fail(failure)
      )
      expect(other.calls).toBe(1)
    }))

  it.effect("test_if_exception_type_multiple", () =>
    Effect.gen(function*() {
      const predicate = ifExceptionType("ValueError", "TypeError")
      const both = target(new ValueError({}), new TypeError_())
      expect(yield* advanceToDone(Retry.retry(both.call, { schedule: range10, while: predicate }))).toEqual(
        Exit.succeed(42)
      )
      expect(both.calls).toBe(3)
      const failure = new RuntimeError()
      const other = target(failure)
      expect(yield* advanceToDone(Retry.retry(other.call, { schedule: range10, while: predicate }))).toEqual(
        Exit.fail(failure)
      )
      expect(other.calls).toBe(1)
    }))

  // api-core mocks `random.uniform` to return its upper bound: the envelope itself, Sturdy's `jitter: "none"`
  it("test_exponential_sleep_generator_base_2", () => {
    const schedule = Backoff.exponential({
      baseDelay: "1 second",
      maxDelay: "60 seconds",
      factor: 2,
      jitter: "none",
      maxAttempts: Infinity
    })
    expect(stepDelays(schedule, new Array(8).fill(undefined)).map((ms) => ms / 1000)).toEqual([
      1,
      2,
      4,
      8,
      16,
      32,
      60,
      60
    ])
  })
})

describe("python-api-core tests/unit/retry/test_retry_unary.py", () => {
  it.effect("test_retry_target_success", () =>
    Effect.gen(function*() {
      const t = target(new ValueError({}), new ValueError({}))
      const r = recorder()
      const exit = yield* advanceToDone(
        Retry.retry(t.call, { schedule: range10, while: ifExceptionType("ValueError"), onAttempt: r.onAttempt })
      )
      expect(exit).toEqual(Exit.succeed(42))
      expect(t.calls).toBe(3)
      expect(r.sleeps()).toEqual([0, 1])
    }))

  it.effect("test_retry_target_w_on_error", () =>
    Effect.gen(function*() {
      const toRaise = new ValueError({})
      const t = target(toRaise, toRaise)
      const r = recorder()
      const exit = yield* advanceToDone(
        Retry.retry(t.call, { schedule: range10, while: ifExceptionType("ValueError"), onAttempt: r.onAttempt })
      )
      expect(exit).toEqual(Exit.succeed(42))
      expect(t.calls).toBe(3)
      // on_error was called with the exception, once per retry
      expect(r.attempts.map((a) => a.failure)).toEqual([toRaise, toRaise])
      expect(r.attempts.every((a) => a.failure === toRaise && a.retrying)).toBe(true)
      expect(r.sleeps()).toEqual([0, 1])
    }))

  it.effect("test_retry_target_non_retryable_error", () =>
    Effect.gen(function*() {
      const exception = new TypeError_()
      const t = target(exception, exception)
      const r = recorder()
      const exit = yield* advanceToDone(
        Retry.retry(t.call, { schedule: range10, while: ifExceptionType("ValueError"), onAttempt: r.onAttempt })
      )
      expect(exit).toEqual(Exit.fail(exception))
      expect(t.calls).toBe(1)
      expect(r.sleeps()).toEqual([])
      expect(yield* Clock.currentTimeMillis).toBe(0)
    }))

  // api-core: the first call takes 5 s, the second 6 s, past the 10 s deadline: RetryError, its cause the last
  // exception, 2 calls. Sturdy: the deadline interrupts the second attempt at 10 s, failing with DeadlineExceeded
  // (reason "Deadline"): a deliberate difference (the caller is answered at its deadline, not after it).
  it.effect("test_retry_target_deadline_exceeded", () =>
    Effect.gen(function*() {
      const exception = new ValueError({ message: "meep" })
      let calls = 0
      const call = Effect.suspend(() => {
        calls++
        return Effect.sleep(calls === 1 ? "5 seconds" : "6 seconds").pipe(Effect.zipRight(Effect.fail(exception)))
      })
      const exit = yield* advanceToDone(
        Retry.retry(call, { schedule: range10, while: ifExceptionType("ValueError") }).pipe(
          Deadline.withDeadline("10 seconds")
        )
      )
      expect(calls).toBe(2)
      expect(Exit.isFailure(exit)).toBe(true)
      const failure = Exit.isFailure(exit) ? exit.cause : undefined
      expect(failure?._tag === "Fail" && Deadline.isDeadlineExceeded(failure.error) && failure.error.reason).toBe(
        "Deadline"
      )
      expect(yield* Clock.currentTimeMillis).toBe(10_000)
    }))

  // api-core: an empty sleep generator is a ValueError ("Sleep generator stopped yielding sleep values."). Sturdy's
  // counterpart, a backoff allowing no attempt at all, is a RangeError naming the option.
  it("test_retry_target_bad_sleep_generator", () => {
    expect(() => Backoff.exponential({ maxAttempts: 0 })).toThrow(RangeError)
    expect(() => Backoff.exponential({ maxAttempts: 0 })).toThrow(/maxAttempts/)
  })

  it.effect("TestRetry.test___call___and_execute_success", () =>
    Effect.gen(function*() {
      const t = target()
      const r = recorder()
      const exit = yield* advanceToDone(Retry.retry(t.call, { onAttempt: r.onAttempt }))
      expect(exit).toEqual(Exit.succeed(42))
      expect(t.calls).toBe(1)
      expect(r.attempts).toEqual([])
    }))

  it.effect("TestRetry.test___call___and_execute_retry", () =>
    Effect.gen(function*() {
      const t = target(new ValueError({}))
      const r = recorder()
      const exit = yield* advanceToDone(
        Retry.retry(t.call, {
          schedule: Backoff.exponential({ baseDelay: "1 second", maxDelay: "60 seconds", factor: 2, jitter: "none" }),
          while: ifExceptionType("ValueError"),
          onAttempt: r.onAttempt
        })
      )
      expect(exit).toEqual(Exit.succeed(42))
      expect(t.calls).toBe(2)
      // one sleep, of `initial`
      expect(r.sleeps()).toEqual([1])
      expect(r.attempts).toHaveLength(1)
    }))

  // initial 1, maximum 1024, multiplier 2, deadline 30.9 s: attempts at 0, 1, 3, 7, 15 s; the next would start at
  // 31 s > 30.9 s, so api-core stops without sleeping: 5 calls, 4 sleeps (last 8 s, 15 s in all), on_error 5 times.
  // Sturdy: the same, the 5th decision being the stop (reason "deadline"), and the last failure comes back itself
  // (api-core: a RetryError wrapping it).
  it.effect("TestRetry.test___call___and_execute_retry_hitting_deadline", () =>
    Effect.gen(function*() {
      const failures = Array.from({ length: 10 }, () => new ValueError({}))
      const t = target(...failures)
      const r = recorder()
      const exit = yield* advanceToDone(
        Retry.retry(t.call, {
          schedule: Backoff.exponential({
            baseDelay: "1 second",
            maxDelay: "1024 seconds",
            factor: 2,
            jitter: "none",
            maxAttempts: Infinity
          }),
          while: ifExceptionType("ValueError"),
          onAttempt: r.onAttempt
        }).pipe(Deadline.withDeadline("30.9 seconds"))
      )
      expect(exit).toEqual(Exit.fail(failures[4]))
      expect(t.calls).toBe(5)
      expect(r.attempts).toHaveLength(5)
      const sleeps = r.sleeps()
      expect(sleeps).toHaveLength(4)
      expect(sleeps[sleeps.length - 1]).toBe(8)
      expect(sleeps.reduce((a, b) => a + b, 0)).toBe(15)
      expect(r.attempts[4]).toMatchObject({ reason: "deadline", retrying: false })
      // no sleep toward the deadline: the call ends at 15 s
      expect(yield* Clock.currentTimeMillis).toBe(15_000)
    }))

  it.effect("TestRetry.test___init___without_retry_executed", () =>
    Effect.gen(function*() {
      const t = target()
      const r = recorder()
      const exit = yield* advanceToDone(
        Retry.retry(t.call, { while: ifExceptionType("ValueError"), onAttempt: r.onAttempt })
      )
      expect(exit).toEqual(Exit.succeed(42))
      expect(t.calls).toBe(1)
      expect(r.attempts).toEqual([])
      expect(yield* Clock.currentTimeMillis).toBe(0)
    }))

  it.effect("TestRetry.test___init___when_retry_is_executed", () =>
    Effect.gen(function*() {
      const t = target(new ValueError({}), new ValueError({}))
      const r = recorder()
      const exit = yield* advanceToDone(
        Retry.retry(t.call, {
          schedule: Backoff.exponential({ baseDelay: "1 second", maxDelay: "60 seconds", factor: 2, jitter: "none" }),
          while: ifExceptionType("ValueError"),
          onAttempt: r.onAttempt
        })
      )
      expect(exit).toEqual(Exit.succeed(42))
      expect(t.calls).toBe(3)
      expect(r.attempts).toHaveLength(2)
      // sleep.assert_any_call(initial)
      expect(r.sleeps()).toContain(1)
    }))
})
