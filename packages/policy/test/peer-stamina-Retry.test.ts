// Ported from stamina's tests/test_sync.py (hynek/stamina, commit 87ccfa48350ab770c1ef69038f96fe8f42375733), with
// TestLogging.test_sync and TestSetOnRetryHooks.test_context_manager_hooks of tests/test_instrumentation.py, one `it` per
// stamina case, named after it, against `@sturdy/policy`'s `Retry.retry`, `Backoff` and `Deadline`, every wait on the
// TestClock. stamina's times are seconds (a float or a timedelta); here they are the same numbers of seconds.
// Option mapping: `retry(on=..., attempts, timeout, wait_initial, wait_max, wait_jitter, wait_exp_base)` is
// `Retry.retry({ schedule: staminaSchedule(...), while })` inside `Deadline.withDeadline(timeout)`. stamina's backoff
// before retry n (1-based) is min(wait_max, wait_initial × wait_exp_base^(n − 1) + random(0, wait_jitter)): here
// `Backoff.exponential({ baseDelay: wait_initial, factor: wait_exp_base, jitter: "none" })` plus a random [0,
// wait_jitter) added with `Schedule.addDelayEffect`, capped and counted by `Backoff.bounded({ maxDelay: wait_max,
// maxAttempts: attempts })` (`attempts=None` is `Infinity`). conftest's `on` fixture (an exception class, a tuple of
// them, or a predicate) is one `while` predicate here, the only form Sturdy takes. A backoff hook returning a float or a
// timedelta is `delayHint` (the hint replaces the backoff, as stamina's custom backoff does) with a `while` that is
// false only when the hook answers False. `RetryingCaller(...).on(exc)` is `Retry.retry(options)` applied data-last,
// kept and reused; `retry_context`'s `Attempt.num`/`next_wait` and the `on_retry` hooks' `RetryDetails` are the number
// `while` is given and the `Retry.Attempt` decisions told to `onAttempt` (stamina's `retry_num` n is Sturdy's `attempt`
// n + 1: the attempt the decision is about).
// Deliberate differences (each test says which): stamina's `timeout` (tenacity's stop_after_delay, checked after each
// failed attempt) is a `Deadline` here: it also interrupts an attempt in flight, and a zero or negative one is a deadline
// already passed, so the call fails at once with `DeadlineExceeded` (stamina warns on 0 and runs one attempt, and
// ignores a negative one on the happy path). `attempts` of 0 or -1 (stamina: one attempt) is a `RangeError`. Delays are
// whole milliseconds, rounded down (0.0001 s is no wait). A hinted wait gets up to 10 % jitter (`retryAfterJitter`,
// none on a zero hint) where stamina's custom backoff gets none. A `while` answering `undefined` (stamina's hook
// returning None, which warns) is read as false, without a warning. Decisions are logged at Debug and the decision to
// give up is reported too (stamina logs `stamina.retry_scheduled` at WARNING, once per retry).
// Not ported: test_async.py (Effect has no separate async form: its cases are the sync ones above, and its async
// generator cases are Python mechanics); the generator-function cases (TestGeneratorFunctionDecoration: Sturdy retries
// an Effect, not a generator); set_active/set_testing and their cases (test_retry_inactive*, test_testing_mode*,
// test_config.py: Sturdy has no global switch or testing mode, a test runs waits on the TestClock instead);
// TestRetryingCaller.test_repr (Python repr); test_instrumentation.py's guess_name, default-hook, Prometheus and
// structlog cases and test_none_is_default/test_init_hooks (a global hook registry Sturdy does not have), and its async
// and generator variants of the logging and context-manager-hook cases (the same cases here).
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Deadline from "@sturdy/policy/Deadline"
import * as Retry from "@sturdy/policy/Retry"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import { advanceToDone } from "./utils/advance.js"
import { counted } from "./utils/counted.js"
import { stepDelays } from "./utils/stepDelays.js"

class ValueError extends Error {
  readonly kind = "ValueError"
}
class PyTypeError extends Error {
  readonly kind = "TypeError"
}
class CustomBackoffError extends Error {
  readonly kind = "CustomBackoffError"
  constructor(readonly backoff: number) {
    super(`Retry after ${backoff}s`)
  }
}

/** stamina's time parameters: a float of seconds or a timedelta */
type Seconds = number | Duration.Duration
const toDuration = (s: Seconds): Duration.Duration => typeof s === "number" ? Duration.seconds(s) : s

interface StaminaOptions {
  readonly attempts?: number | null
  readonly timeout?: Seconds | null
  readonly wait_initial?: Seconds
  readonly wait_max?: Seconds
  readonly wait_jitter?: Seconds
  readonly wait_exp_base?: number
}

/** stamina's backoff with its defaults (attempts 10, wait_initial 0.1, wait_max 5, wait_jitter 1, wait_exp_base 2) */
const staminaSchedule = (o: StaminaOptions = {}) => {
  const jitterMillis = Duration.toMillis(toDuration(o.wait_jitter ?? 1))
  return Backoff.bounded(
    Schedule.addDelayEffect(
      Backoff.exponential({
        baseDelay: toDuration(o.wait_initial ?? 0.1),
        factor: o.wait_exp_base ?? 2,
        maxDelay: Infinity,
        jitter: "none",
        maxAttempts: Infinity
      }),
      () =>
        jitterMillis > 0
          ? Effect.map(Random.nextRange(0, jitterMillis), (j) => Duration.millis(Math.floor(j)))
          : Effect.succeed(Duration.zero)
    ),
    { maxDelay: toDuration(o.wait_max ?? 5), maxAttempts: o.attempts === null ? Infinity : o.attempts ?? 10 }
  )
}

/** `@stamina.retry(on=..., **o)` applied to `self`; `timeout` (default 45 s) is the call's deadline */
const staminaRetry = <A, E>(
  self: Effect.Effect<A, E>,
  on: (e: E, attempt: number) => boolean,
  o: StaminaOptions = {},
  onAttempt?: (a: Retry.Attempt<E>) => Effect.Effect<void>
) => {
  const retried = Retry.retry(self, { schedule: staminaSchedule(o), while: on, onAttempt })
  const timeout = o.timeout === undefined ? 45 : o.timeout
  return timeout === null ? retried : Deadline.withDeadline(retried, toDuration(timeout))
}

const isValueError = (e: unknown) => e instanceof ValueError

/** the decisions told to `onAttempt`, without the failure */
const recorder = <E>() => {
  const decisions: Array<Omit<Retry.Attempt<E>, "failure"> & { readonly failure: E }> = []
  return {
    decisions,
    onAttempt: (a: Retry.Attempt<E>) => Effect.sync(() => decisions.push(a)),
    summary: () => decisions.map((d) => [d.attempt, Duration.toMillis(d.delay), d.reason] as const)
  }
}

/** a backoff hook (`on=` returning a bool, a float of seconds or a timedelta) as `while` and `delayHint` */
const hookOptions = <E>(hook: (e: E) => boolean | Seconds) => ({
  while: (e: E) => hook(e) !== false,
  delayHint: (e: E): Option.Option<Duration.Duration> => {
    const answer = hook(e)
    return typeof answer === "boolean" ? Option.none() : Option.some(toDuration(answer))
  }
})

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E | undefined =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined

describe("stamina tests/test_sync.py", () => {
  it.effect("test_ok", () =>
    Effect.gen(function*() {
      // No error, no problem: the happy path makes no decision, whatever the options.
      for (const attempts of [null, -1, 0, 1]) {
        for (const timeout of [null, -1, 1, Duration.days(1)]) {
          for (const duration of [1, Duration.days(1)]) {
            const o: StaminaOptions = {
              attempts,
              timeout,
              wait_initial: duration,
              wait_max: duration,
              wait_jitter: duration
            }
            if (attempts !== null && attempts < 1) {
              // stamina takes 0 and -1 as "one attempt"; Sturdy refuses an attempt count below 1
              expect(() => staminaRetry(Effect.succeed(42), () => true, o)).toThrow(/maxAttempts/)
              continue
            }
            const f = counted(() => Effect.succeed(42))
            const exit = yield* Effect.exit(staminaRetry(f.call, () => true, o))
            if (timeout === -1) {
              // a negative timeout is a deadline already passed: the call fails at once (stamina runs it)
              expect(Deadline.isDeadlineExceeded(failureOf(exit))).toBe(true)
              expect(f.executions).toBe(0)
            } else {
              expect(exit).toEqual(Exit.succeed(42))
              expect(f.executions).toBe(1)
            }
          }
        }
      }
    }))

  it.effect("test_timeout_zero_warns", () =>
    Effect.gen(function*() {
      // stamina warns that timeout=0 means no retries and runs one attempt; Sturdy's deadline of 0 has passed: the call
      // fails at once with DeadlineExceeded, no attempt made
      for (const timeout of [0, 0.0, Duration.zero]) {
        const f = counted(() => Effect.fail(new ValueError()))
        const exit = yield* Effect.exit(staminaRetry(f.call, isValueError, { timeout }))
        expect(Deadline.isDeadlineExceeded(failureOf(exit))).toBe(true)
        expect(f.executions).toBe(0)
      }
      // the limit from the first failure, `maxElapsed: 0`, allows no retry that waits: one attempt, as stamina's
      const f = counted(() => Effect.fail(new ValueError()))
      const exit = yield* Effect.exit(
        Retry.retry(f.call, { schedule: Backoff.bounded(staminaSchedule(), { maxElapsed: 0 }), while: isValueError })
      )
      expect(failureOf(exit)).toBeInstanceOf(ValueError)
      expect(f.executions).toBe(1)
    }))

  it.effect("test_retries", () =>
    Effect.gen(function*() {
      // Retries if the specific error is raised.
      for (const timeout of [null, 1, Duration.days(1)]) {
        for (const duration of [0, Duration.zero]) {
          const f = counted((n) => n === 1 ? Effect.fail(new ValueError()) : Effect.succeed(42))
          const exit = yield* Effect.exit(
            staminaRetry(f.call, isValueError, {
              timeout,
              wait_max: duration,
              wait_initial: duration,
              wait_jitter: duration
            })
          )
          expect(exit).toEqual(Exit.succeed(42))
          expect(f.executions).toBe(2)
        }
      }
      // zero waits: the retry ran at once
      expect(yield* Clock.currentTimeMillis).toBe(0)
    }))

  it.effect("test_wrong_exception", () =>
    Effect.gen(function*() {
      // Exceptions that are not passed as `on` are left through.
      const f = counted(() => Effect.fail(new PyTypeError("passed")))
      const exit = yield* Effect.exit(staminaRetry(f.call, isValueError))
      expect(failureOf(exit)).toBeInstanceOf(PyTypeError)
      expect(failureOf(exit)?.message).toBe("passed")
      expect(f.executions).toBe(1)
    }))

  it.effect("test_retry_block", () =>
    Effect.gen(function*() {
      // retry_context(on, wait_max=0): the block runs again; each attempt knows its number and a next wait of 0.
      const seen: Array<number> = []
      const r = recorder<ValueError>()
      const f = counted((n) => n < 2 ? Effect.fail(new ValueError()) : Effect.succeed(n))
      const exit = yield* Effect.exit(
        staminaRetry(f.call, (e, attempt) => (seen.push(attempt), isValueError(e)), { wait_max: 0 }, r.onAttempt)
      )
      expect(exit).toEqual(Exit.succeed(2))
      expect(f.executions).toBe(2)
      // `while` is told the number of the attempt that failed (`attempt.num`), the decision the wait before the next
      expect(seen).toEqual([1])
      expect(r.summary()).toEqual([[2, 0, "backoff"]])
    }))

  it.effect("test_next_wait", () =>
    Effect.gen(function*() {
      // stamina's next_wait is 0.0001 s with wait_max=0.0001; Sturdy's delays are whole milliseconds, rounded down, so
      // the wait is none
      const r = recorder<ValueError>()
      const f = counted((n) => n === 1 ? Effect.fail(new ValueError()) : Effect.succeed(n))
      const exit = yield* Effect.exit(staminaRetry(f.call, isValueError, { wait_max: 0.0001 }, r.onAttempt))
      expect(exit).toEqual(Exit.succeed(2))
      expect(r.summary()).toEqual([[2, 0, "backoff"]])
      expect(yield* Clock.currentTimeMillis).toBe(0)
    }))

  it.effect("test_backoff_computation_clamps", () =>
    Effect.sync(() => {
      // The backoff never exceeds wait_max (0.42 s), with or without jitter, for attempts 1..9.
      const retries = Array.from({ length: 9 }, () => undefined)
      for (let n = 0; n < 9; n++) {
        const bounds = Backoff.envelope({ baseDelay: "100 millis", maxDelay: "420 millis", jitter: "none" }, n)
        expect(Duration.toMillis(bounds.upper)).toBeLessThanOrEqual(420)
      }
      for (const seed of [0, 1, 2, 3, 4]) {
        const delays = stepDelays(staminaSchedule({ wait_max: 0.42 }), retries, 0, seed)
        expect(delays).toHaveLength(9)
        for (const d of delays) expect(d).toBeLessThanOrEqual(420)
        // Sturdy's own jitter modes are capped after jitter too
        for (const jitter of ["full", "equal", "decorrelated"] as const) {
          const own = Backoff.exponential({ maxDelay: "420 millis", jitter, maxAttempts: 10 })
          for (const d of stepDelays(own, retries, 0, seed)) expect(d).toBeLessThanOrEqual(420)
        }
      }
    }))

  it.effect("test_backoff_no_overflow_on_high_attempt_numbers", () =>
    Effect.sync(() => {
      // Exponential backoff does not overflow past attempt 1024: wait_max=5 is the backoff at attempts 1025, 2000,
      // 10,000 (jitter-less and jittered: min(5, overflow + jitter) is 5).
      for (const num of [1025, 2000, 10_000]) {
        const bounds = Backoff.envelope({ baseDelay: "100 millis", maxDelay: "5 seconds", jitter: "none" }, num - 1)
        expect(Duration.toMillis(bounds.lower)).toBe(5000)
        expect(Duration.toMillis(bounds.upper)).toBe(5000)
        for (const jitter of ["full", "equal", "decorrelated"] as const) {
          const own = Backoff.envelope({ baseDelay: "100 millis", maxDelay: "5 seconds", jitter }, num - 1)
          expect(Duration.toMillis(own.upper)).toBe(5000)
        }
      }
      const delays = stepDelays(
        staminaSchedule({ wait_max: 5, attempts: null, timeout: null }),
        Array.from({ length: 10_000 }, () => undefined),
        0,
        7
      )
      expect(delays).toHaveLength(10_000)
      for (const num of [1025, 2000, 10_000]) expect(delays[num - 1]).toBe(5000)
      expect(delays.every((d) => Number.isFinite(d) && d <= 5000)).toBe(true)
    }))

  it.effect("test_attempt_next_wait", () =>
    Effect.gen(function*() {
      // next_wait is computed from the current attempt number: next_wait_fn(num) = num seconds, so the wait after
      // attempt 1 is 1 s and after attempt 2 is 2 s (stamina's off-by-one fix of 25.2.0). Here the delay function is
      // 1-based the same way.
      const r = recorder<ValueError>()
      const f = counted((n) => n < 3 ? Effect.fail(new ValueError()) : Effect.succeed(n))
      const schedule = Backoff.bounded(Backoff.fromDelay((retry) => Duration.seconds(retry)), { maxAttempts: 3 })
      const exit = yield* advanceToDone(Retry.retry(f.call, { schedule, onAttempt: r.onAttempt }))
      expect(exit).toEqual(Exit.succeed(3))
      expect(r.summary()).toEqual([[2, 1000, "backoff"], [3, 2000, "backoff"]])
      expect(yield* Clock.currentTimeMillis).toBe(3000)
    }))
})

describe("stamina tests/test_sync.py TestMakeStop", () => {
  it.effect("test_never", () =>
    Effect.sync(() => {
      // attempts=None and timeout=None: retrying never stops by itself
      const delays = stepDelays(staminaSchedule({ attempts: null, timeout: null }), Array.from({ length: 2000 }), 0, 1)
      expect(delays).toHaveLength(2000)
      // (capped at wait_max from retry 7 on: 0.1 × 2⁶ s is past it, jitter or not)
      expect(delays.slice(6).every((d) => d === 5000)).toBe(true)
    }))
})

describe("stamina tests/test_sync.py TestRetryingCaller", () => {
  it.effect("test_ok", () =>
    Effect.gen(function*() {
      // RetryingCaller().on(BaseException): the default `while` retries every failure
      const rc = Retry.retry({ schedule: staminaSchedule() })
      expect(yield* Effect.exit(rc(Effect.succeed(42)))).toEqual(Exit.succeed(42))
    }))

  it.effect("test_retries", () =>
    Effect.gen(function*() {
      // Retries if the specific error is raised. Arguments are passed through.
      let i = 0
      const f = (...args: ReadonlyArray<unknown>) =>
        Effect.suspend(() => {
          const [positional, kw] = [args.slice(0, -1), args.at(-1)]
          if (i < 1) {
            i++
            return Effect.fail(new ValueError())
          }
          return Effect.succeed([positional, kw] as const)
        })
      const boundRc = Retry.retry({ schedule: staminaSchedule({ wait_max: 0 }), while: isValueError })
      const [args, kw] = yield* boundRc(f(42, { foo: "bar" }))
      expect(i).toBe(1)
      expect(args).toEqual([42])
      expect(kw).toEqual({ foo: "bar" })
    }))
})

describe("stamina tests/test_sync.py TestBackoffHookSync", () => {
  it.effect("test_backoff_hook_in_test_mode_returns_zero", () =>
    Effect.gen(function*() {
      // stamina's testing mode turns the hook's 10 s into no wait. Sturdy has no testing mode: a test runs the waits on
      // the TestClock, where the hinted 10 s (plus up to 10 % jitter) pass without real time.
      const r = recorder<ValueError>()
      const f = counted((n) => n < 3 ? Effect.fail(new ValueError("retry")) : Effect.succeed(42))
      const exit = yield* advanceToDone(
        Retry.retry(f.call, {
          schedule: staminaSchedule({ attempts: 3 }),
          ...hookOptions(() => 10.0),
          onAttempt: r.onAttempt
        })
      )
      expect(exit).toEqual(Exit.succeed(42))
      expect(f.executions).toBe(3)
      expect(r.decisions.map((d) => d.reason)).toEqual(["retry-after", "retry-after"])
      for (const d of r.decisions) {
        expect(Duration.toMillis(d.delay)).toBeGreaterThanOrEqual(10_000)
        expect(Duration.toMillis(d.delay)).toBeLessThanOrEqual(11_000)
      }
    }))

  it.effect("test_backoff_hook_returns_float", () =>
    Effect.gen(function*() {
      // If a backoff hook returns a float, it is used as the backoff duration: 0.0 instead of wait_initial=5.
      const f = counted((n) => n < 3 ? Effect.fail(new ValueError("retry")) : Effect.succeed(42))
      const exit = yield* advanceToDone(
        Retry.retry(f.call, { schedule: staminaSchedule({ wait_initial: 5, attempts: 3 }), ...hookOptions(() => 0.0) })
      )
      expect(exit).toEqual(Exit.succeed(42))
      expect(f.executions).toBe(3)
      expect(yield* Clock.currentTimeMillis).toBe(0)
    }))

  it.effect("test_backoff_hook_returns_timedelta", () =>
    Effect.gen(function*() {
      // If a backoff hook returns a timedelta, it is used as the backoff duration.
      const f = counted((n) => n < 2 ? Effect.fail(new ValueError("retry")) : Effect.succeed(42))
      const exit = yield* advanceToDone(
        Retry.retry(f.call, {
          schedule: staminaSchedule({ wait_initial: 5, attempts: 3 }),
          ...hookOptions(() => Duration.seconds(0))
        })
      )
      expect(exit).toEqual(Exit.succeed(42))
      expect(f.executions).toBe(2)
      expect(yield* Clock.currentTimeMillis).toBeLessThan(1000)
    }))

  it.effect("test_backoff_hook_custom_backoff_from_exception", () =>
    Effect.gen(function*() {
      // A backoff hook can extract a custom backoff from exception attributes.
      const hook = (e: unknown) => e instanceof CustomBackoffError ? e.backoff : false
      const f = counted((n) => n < 2 ? Effect.fail(new CustomBackoffError(0)) : Effect.succeed(42))
      const exit = yield* advanceToDone(
        Retry.retry(f.call, { schedule: staminaSchedule({ attempts: 3, wait_initial: 5 }), ...hookOptions(hook) })
      )
      expect(exit).toEqual(Exit.succeed(42))
      expect(f.executions).toBe(2)
      expect(yield* Clock.currentTimeMillis).toBeLessThan(5000)
    }))

  it.effect("test_backoff_hook_with_retry_context", () =>
    Effect.gen(function*() {
      // Backoff hooks work with retry_context (a block is an Effect here, as a function is).
      const f = counted((n) => n < 2 ? Effect.fail(new ValueError("retry")) : Effect.void)
      const exit = yield* advanceToDone(
        Retry.retry(f.call, { schedule: staminaSchedule({ wait_initial: 5, attempts: 3 }), ...hookOptions(() => 0.0) })
      )
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(f.executions).toBe(2)
      expect(yield* Clock.currentTimeMillis).toBeLessThan(5000)
    }))

  it.effect("test_backoff_hook_returns_none", () =>
    Effect.gen(function*() {
      // A hook returning None is treated as False: the failure is let through after one attempt. stamina also warns;
      // Sturdy reads a `while` that answers `undefined` as false, without a warning.
      const r = recorder<ValueError>()
      const f = counted(() => Effect.fail(new ValueError("retry")))
      const exit = yield* advanceToDone(
        Retry.retry(f.call, {
          schedule: staminaSchedule({ attempts: 3 }),
          while: (() => undefined) as unknown as (e: ValueError) => boolean,
          onAttempt: r.onAttempt
        })
      )
      expect(failureOf(exit)).toBeInstanceOf(ValueError)
      expect(f.executions).toBe(1)
      expect(r.summary()).toEqual([[2, 0, "not-retryable"]])
    }))
})

describe("stamina tests/test_instrumentation.py", () => {
  it.effect("TestLogging.test_sync", () =>
    Effect.gen(function*() {
      // Retries are logged: stamina logs one `stamina.retry_scheduled` at WARNING for its one retry; Sturdy logs each
      // decision at Debug, the decision to give up included.
      const logs: Array<[string, string]> = []
      const logger = Logger.make(({ logLevel, message }) =>
        logs.push([logLevel.label, String(Array.isArray(message) ? message[0] : message)])
      )
      const f = counted(() => Effect.fail(new ValueError()))
      const exit = yield* staminaRetry(f.call, isValueError, { wait_max: 0, attempts: 2 }).pipe(
        Logger.withMinimumLogLevel(LogLevel.Debug),
        Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
        Effect.exit
      )
      expect(failureOf(exit)).toBeInstanceOf(ValueError)
      expect(logs).toEqual([
        ["DEBUG", "retrying: attempt 2 after 0 (backoff)"],
        ["DEBUG", "not retrying: attempt 3 not made (exhausted)"]
      ])
    }))

  it.effect("TestSetOnRetryHooks.test_context_manager_hooks", () =>
    Effect.gen(function*() {
      // A hook is told each retry before its wait (stamina's RetryDetails(retry_num=1, wait_for=0.0,
      // waited_so_far=0.0, caused_by=ValueError)), and retrying's end (stamina exits the hooks' context managers then;
      // Sturdy tells `onAttempt` the decision to give up).
      const r = recorder<ValueError>()
      const f = counted(() => Effect.fail(new ValueError()))
      const exit = yield* Effect.exit(staminaRetry(f.call, isValueError, { wait_max: 0, attempts: 2 }, r.onAttempt))
      expect(failureOf(exit)).toBeInstanceOf(ValueError)
      expect(r.decisions).toHaveLength(2)
      const [retry, stop] = r.decisions
      expect(retry).toMatchObject({ attempt: 2, reason: "backoff", retrying: true })
      expect(Duration.toMillis(retry!.delay)).toBe(0)
      expect(retry!.failure).toBeInstanceOf(ValueError)
      expect(stop).toMatchObject({ attempt: 3, reason: "exhausted", retrying: false })
      expect(stop!.failure).toBe(failureOf(exit))
    }))
})
