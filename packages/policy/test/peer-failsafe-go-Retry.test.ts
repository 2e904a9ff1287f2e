// Ported from failsafe-go (failsafe-go/failsafe-go, commit 5759a5e6d557eace215f820f5b5e663d5c05c3ee):
// test/retrypolicy_test.go, test/nested_retrypolicy_test.go and retrypolicy/retryexecutor_test.go, one `it` per Go case
// (`t.Run`, or the test function), named after it.
// Mapping: `retrypolicy.NewWithDefaults()` (3 attempts, no delay) is `Retry.retry({ schedule: Schedule.recurs(2) })`,
// `WithMaxRetries(n)` `Schedule.recurs(n)`, `WithMaxAttempts(n)` `Schedule.recurs(n - 1)`, `-1` (unlimited)
// `Schedule.forever`; `WithBackoff(d, max)` / `WithBackoffFactor(d, max, f)` is `Backoff.exponential({ baseDelay: d,
// maxDelay: max, factor: f, jitter: "none" })`; `HandleResult(v)` / `HandleErrors(e)` is `while`, a handled result being
// a typed failure carrying it (Sturdy's `Retry` retries failures, never successes); `OnRetryScheduled`'s delay and the
// stats' retries are `onAttempt`'s decisions that retry, `RetriesExceeded` one that gives up with reason
// "exhausted"; "attempts" are the calls that reached the user's function. `failsafe.With(outer, inner)` is
// `call.pipe(inner, outer)`; `fallback.NewWithResult(v)` is `Fallback.orElse(Effect.succeed(v))`.
// Deliberate differences (each test says which): Go's RetryPolicy returns `ExceededError` (wrapping the last result and
// error) when its attempts run out, and the last failure only with `ReturnLastFailure()`; Sturdy's `Retry` returns the
// last failure itself, and `finalFailure` is how a caller wraps it. A nested Go policy keeps its state for the whole
// execution, so once exceeded it lets the outer policy's later attempts through without retrying; an Effect policy is
// a description run afresh each time, so each outer attempt runs the inner `Retry` with its full schedule.
// Not ported: retrypolicy/retry_test.go (`errors.Is`/`errors.As` on `ExceededError`: Go error matching), the
// benchmarks, and "should fail when max duration exceeded" (Failsafe's shouldCompleteWhenMaxDurationExceeded, already
// in peer-failsafe-Retry.test.ts).
import { describe, expect, it } from "@effect/vitest"
import { Backoff, Fallback, Retry } from "@sturdy/policy"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schedule from "effect/Schedule"
import { advanceToDone } from "./utils/advance.js"
import { counted } from "./utils/counted.js"
import { stepDelays } from "./utils/stepDelays.js"

class ErrConnecting extends Error {}
class ErrInvalidState extends Error {}
class ErrInvalidArgument extends Error {}
// a result the policy handles (HandleResult)
class Result extends Error {
  constructor(readonly value: unknown) {
    super(`result ${String(value)}`)
  }
}
// Go's retrypolicy.ExceededError, built with `finalFailure`
class ExceededError extends Error {
  constructor(readonly lastError: unknown, readonly lastResult: unknown, readonly attempts: number) {
    super("retries exceeded")
  }
}

// counts the retries and the give-ups of one policy (`policytesting.Stats`)
const makeStats = () => {
  const s = {
    retries: 0,
    exceeded: 0,
    onAttempt: (a: Retry.Attempt<unknown>) =>
      Effect.sync(() => {
        if (a.retrying) s.retries++
        else if (a.reason === "exhausted") s.exceeded++
      })
  }
  return s
}

const defaults = { schedule: Schedule.recurs(2) }

const failure = <A, E>(exit: Exit.Exit<A, E>) =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined

describe("peer failsafe-go TestRetryPolicy", () => {
  // Tests a simple execution that retries.
  it.effect("should retry on failure", () =>
    Effect.gen(function*() {
      const c = counted(() => Effect.fail(new ErrConnecting()))
      const exit = yield* advanceToDone(c.call.pipe(Retry.retry(defaults)))
      expect(failure(exit)).toBeInstanceOf(ErrConnecting)
      expect(c.executions).toBe(3)
    }))

  // Tests a simple execution that does not retry.
  it.effect("should not retry on success", () =>
    Effect.gen(function*() {
      const c = counted(() => Effect.succeed(false))
      expect(yield* c.call.pipe(Retry.retry(defaults))).toBe(false)
      expect(c.executions).toBe(1)
    }))

  it.effect("should return ExceededError", () =>
    Effect.gen(function*() {
      // Deliberate difference: Sturdy returns the last failure unless `finalFailure` wraps it
      const stats = makeStats()
      const c = counted((): Effect.Effect<boolean, ErrConnecting | ExceededError> => Effect.fail(new ErrConnecting()))
      const exit = yield* advanceToDone(
        c.call.pipe(
          Retry.retry({
            ...defaults,
            onAttempt: stats.onAttempt,
            finalFailure: (e, attempts) => new ExceededError(e, undefined, attempts)
          })
        )
      )
      expect(failure(exit)).toBeInstanceOf(ExceededError)
      expect((failure(exit) as ExceededError).attempts).toBe(3)
      expect(c.executions).toBe(3)
      expect(stats.retries).toBe(2)
      expect(stats.exceeded).toBe(1)
    }))

  it.effect("should return ExceededError with wrapped results", () =>
    Effect.gen(function*() {
      const wrap = (e: unknown, attempts: number): unknown =>
        e instanceof Result
          ? new ExceededError(undefined, e.value, attempts)
          : new ExceededError(e, undefined, attempts)
      // for last error
      const underlyingErr = new Error("test")
      const first = failure(
        yield* advanceToDone(
          Effect.fail<unknown>(underlyingErr).pipe(Retry.retry({ ...defaults, finalFailure: wrap }))
        )
      )
      expect(first).toBeInstanceOf(ExceededError)
      expect((first as ExceededError).lastError).toBe(underlyingErr)
      expect((first as ExceededError).lastResult).toBeUndefined()
      // for last result: HandleResult(false)
      const second = failure(
        yield* advanceToDone(
          Effect.fail<unknown>(new Result(false)).pipe(
            Retry.retry({ ...defaults, while: (e) => e instanceof Result && e.value === false, finalFailure: wrap })
          )
        )
      )
      expect((second as ExceededError).lastError).toBeUndefined()
      expect((second as ExceededError).lastResult).toBe(false)
    }))

  // Asserts that a non-handled error does not trigger retries.
  it.effect("should not retry on non-retriable failure", () =>
    Effect.gen(function*() {
      // WithMaxRetries(-1).HandleResult(500): the result 500 is a failure `while` retries; 0 is the answer
      const c = counted((attempt) => attempt <= 2 ? Effect.fail(new Result(500)) : Effect.succeed(0))
      const exit = yield* advanceToDone(
        c.call.pipe(Retry.retry({ schedule: Schedule.forever, while: (e) => e.value === 500 }))
      )
      expect(exit).toEqual(Exit.succeed(0))
      expect(c.executions).toBe(3)
    }))

  // Asserts that the last failure is returned
  it.effect("should return last failure", () =>
    Effect.gen(function*() {
      // ReturnLastFailure() is Sturdy's default
      const err = new Error("test")
      const c = counted(() => Effect.fail(err))
      const exit = yield* advanceToDone(c.call.pipe(Retry.retry({ schedule: Schedule.recurs(3) })))
      expect(failure(exit)).toBe(err)
      expect(c.executions).toBe(4)
    }))

  // Asserts that a RetryPolicy configured with unlimited attempts, behaves as expected.
  it.effect("unlimited attempts", () =>
    Effect.gen(function*() {
      // ErrorNTimesThenReturn(ErrInvalidState, 5, true)
      const c = counted((attempt) => attempt <= 5 ? Effect.fail(new ErrInvalidState()) : Effect.succeed(true))
      const exit = yield* advanceToDone(c.call.pipe(Retry.retry({ schedule: Schedule.forever })))
      expect(exit).toEqual(Exit.succeed(true))
      expect(c.executions).toBe(6)
    }))

  // Asserts that backoff delays are as expected.
  it.effect("with backoff delay", () =>
    Effect.gen(function*() {
      const delays: Array<number> = []
      yield* advanceToDone(
        Effect.fail(new ErrInvalidState()).pipe(
          Retry.retry({
            schedule: Backoff.exponential({
              baseDelay: "1 millis",
              maxDelay: "10 millis",
              jitter: "none",
              maxAttempts: 7
            }),
            onAttempt: (a) => Effect.sync(() => void (a.retrying && delays.push(Duration.toMillis(a.delay))))
          })
        )
      )
      expect(delays).toEqual([1, 2, 4, 8, 10, 10])
    }))
})

describe("peer failsafe-go retryexecutor_test", () => {
  it("TestGetFixedOrRandomDelay", () => {
    // WithBackoffFactor(2s, 30s, 2)
    const schedule = Backoff.exponential({
      baseDelay: "2 seconds",
      maxDelay: "30 seconds",
      factor: 2,
      jitter: "none",
      maxAttempts: 6
    })
    expect(stepDelays(schedule, Array.from({ length: 5 }, () => new Error()))).toEqual([
      2_000,
      4_000,
      8_000,
      16_000,
      30_000
    ])
  })
})

describe("peer failsafe-go TestRetryPolicy_Nested", () => {
  // Tests a scenario with nested retry policies where the inner policy is exceeded and skipped.
  it.effect("RetryPolicy -> RetryPolicy where inner policy is exceeded", () =>
    Effect.gen(function*() {
      const outer = makeStats()
      const inner = makeStats()
      // ErrorNTimesThenReturn(ErrConnecting, 5, true)
      const c = counted((attempt) => attempt <= 5 ? Effect.fail(new ErrConnecting()) : Effect.succeed(true))
      const exit = yield* advanceToDone(
        c.call.pipe(
          Retry.retry({ schedule: Schedule.recurs(1), onAttempt: inner.onAttempt }),
          Retry.retry({ schedule: Schedule.recurs(10), onAttempt: outer.onAttempt })
        )
      )
      expect(exit).toEqual(Exit.succeed(true))
      expect(c.executions).toBe(6)
      // Deliberate difference: Go's inner policy, once exceeded, is skipped (2 inner failures in all, the outer
      // policy retrying 4 times); Sturdy's inner Retry runs afresh in each of the 3 outer attempts
      expect(outer.retries).toBe(2)
      expect(inner.retries).toBe(3)
      expect(inner.exceeded).toBe(2)
    }))

  // Asserts that attempt counts are as expected when using nested retry policies.
  it.effect("should track RetryPolicy -> RetryPolicy attempts", () =>
    Effect.gen(function*() {
      const c = counted(() => Effect.fail(new ErrInvalidArgument()))
      const exit = yield* advanceToDone(c.call.pipe(Retry.retry(defaults), Retry.retry(defaults)))
      expect(failure(exit)).toBeInstanceOf(ErrInvalidArgument)
      // Deliberate difference: Go makes 5 attempts (3 inner, then 2 outer retries through the exceeded inner policy);
      // Sturdy's inner Retry makes its 3 attempts in each of the 3 outer attempts
      expect(c.executions).toBe(9)
    }))

  it.effect("Fallback -> RetryPolicy -> RetryPolicy", () =>
    Effect.gen(function*() {
      const rp1 = (stats: ReturnType<typeof makeStats>) =>
        Retry.retry({
          schedule: Schedule.recurs(2),
          while: (e) => e instanceof ErrInvalidState,
          onAttempt: stats.onAttempt
        })
      const rp2 = (stats: ReturnType<typeof makeStats>) =>
        Retry.retry({
          schedule: Schedule.recurs(3),
          while: (e) => e instanceof ErrInvalidArgument,
          onAttempt: stats.onAttempt
        })
      const fn = () =>
        counted((attempt): Effect.Effect<boolean, ErrInvalidState | ErrInvalidArgument> =>
          attempt % 2 === 1 ? Effect.fail(new ErrInvalidState()) : Effect.fail(new ErrInvalidArgument())
        )

      // With(fb, rp2, rp1)
      const s1 = makeStats()
      const s2 = makeStats()
      const first = fn()
      const a = yield* advanceToDone(first.call.pipe(rp1(s1), rp2(s2), Fallback.orElse(Effect.succeed(true))))
      expect(Exit.isSuccess(a) && a.value.value).toBe(true)
      // Deliberate difference: Go makes 5 attempts (its rp1 is exceeded after its 3rd failure and then skipped); in
      // Sturdy each of rp2's 4 attempts runs rp1 afresh (an ErrInvalidState retried, then an ErrInvalidArgument that
      // rp1 does not handle), so 8 attempts, and rp2's retries run out
      expect(first.executions).toBe(8)
      expect(s1.retries).toBe(4)
      expect(s2.retries).toBe(3)
      expect(s2.exceeded).toBe(1)

      // With(fb, rp1, rp2)
      const t1 = makeStats()
      const t2 = makeStats()
      const second = fn()
      const b = yield* advanceToDone(second.call.pipe(rp2(t2), rp1(t1), Fallback.orElse(Effect.succeed(true))))
      expect(Exit.isSuccess(b) && b.value.value).toBe(true)
      // as in Go: 5 attempts, rp1 retrying twice and then exceeded, rp2 retrying twice
      expect(second.executions).toBe(5)
      expect(t1.retries).toBe(2)
      expect(t1.exceeded).toBe(1)
      expect(t2.retries).toBe(2)
    }))
})
