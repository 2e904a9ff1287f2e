// Ported from aws/aws-sdk-go-v2 aws/retry/jitter_backoff_test.go (commit 843b02ad6f819c6152f467ce07dd456d971eca23),
// aws/retry/standard_test.go (commit 2435999956c7d45b405631c30838285c74b70dee) and aws/retry/middleware_test.go
// (commit 6275c0d7517d8d429fb58d7db175f1f30702374e), one `it` per Go subtest, named after it.
// Mapping: `NewExponentialJitterBackoff(maxBackoff)`, `rand × min(maxBackoff, 2^attempt)` seconds where `attempt` is
// the attempt that failed (1 for the first), is `Backoff.exponential({ baseDelay: "2 seconds", factor: 2, maxDelay:
// maxBackoff })` with full jitter: Go's attempt n is Sturdy's retry n − 1, whose envelope `t(n − 1) = 2 × 2^(n − 1)`
// s is Go's `2^n` s. `randFloat64` is `Random.fixed([r])`. `NewStandard` is `Retry.retry` with a `Backoff` schedule:
// `StandardOptions.MaxAttempts` is the schedule's `maxAttempts` (both count every attempt, default 3),
// `Retryables` is `while`, `Backoff` (a `BackoffDelayer`, `(attempt, err) → delay`) is `Backoff.fromDelay((retry,
// failure) → delay)`, whose 1-based `retry` is Go's `attempt` (the attempt that failed). The attempt middleware's
// per-attempt results are `onAttempt`'s `Attempt`s, `MaxAttemptsError{Attempt}` is `finalFailure`'s count, and the
// `RateLimiter` token bucket (`RetryCost`) is `RetryBudget` (`budgetKey`), as in peer-botocore-retries.test.ts.
// Deliberate differences (each test says where): Sturdy's full jitter never rounds a positive envelope down to no
// wait (at least 1 ms; Go's `rand = 0` waits 0); delays are whole milliseconds, rounded down (Go keeps nanoseconds);
// Go's `aws.Ternary` "unknown" (no retryable decided) is not retried, while Sturdy's `while` is a boolean and,
// omitted, retries every typed failure; a retried call that succeeds gives no retry cost back to the budget (spent
// retries age out of the window: RetryBudget's module doc), where Go's bucket refunds it.
// Not ported: standard_test.go's TestStandard_RetryDelay "error" (a `BackoffDelayer` that returns an error: Sturdy's
// delay function is total, it has no error result); middleware_test.go's TestAttemptMiddleware "stops on rewind error"
// (a request body that cannot be rewound: HTTP, where Sturdy never repeats a body read once; ported from
// go-retryablehttp in test/peer-go-retryablehttp.test.ts) and TestMetricsHeaderMiddleware (3 cases: the
// `amz-sdk-request: attempt=n; max=m; ttl=...` header, which Sturdy does not send). The cases of
// retryable_error_test.go that are HTTP behaviour are in test/peer-aws-go-retry-http.test.ts. retry2026_test.go's
// TestRetry2026StandardMode steps are the 2026 retry spec cases already ported from smithy's retries.integ.spec.ts in
// peer-smithy-util-retry.test.ts (same steps and quota numbers): not repeated. adaptive_ratelimit_test.go
// (TestAdaptiveRateLimit_cubic, TestAdaptiveRateLimit_Update: CUBIC rate and measured send rate; TestSecondsFloat64):
// Sturdy estimates no send rate and `AdaptiveThrottle` is the SRE book's rejection by accept ratio, so nothing maps;
// adaptive_test.go and timeout_error_test.go hold no test at the commits stored (6925d1e9c5e5, 843b02ad6f81);
// retry_test.go's TestAddWithErrorCodes (AWS error codes); clockskew_test.go (TestWrapAsClockSkew: AWS signature error codes retried when the response Date shows a skew over
// 4 minutes; Sturdy signs nothing and parses no error codes).
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Retry from "@sturdy/policy/Retry"
import * as RetryBudget from "@sturdy/policy/RetryBudget"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Random from "effect/Random"
import * as TestClock from "effect/TestClock"
import { advanceToDone } from "./utils/advance.js"
import { stepDelays } from "./utils/stepDelays.js"

class ExpectedError extends Data.TaggedError("ExpectedError")<{ readonly message: string }> {}

// 1 − 2^-53, the largest float64 below 1 (Go's `maxB`)
const maxB = 1 - 1 / 2 ** 53

// Go's j.BackoffDelay(attempt, nil) under randFloat64 = r: the delay of Sturdy's retry attempt − 1
const jitterDelay = (maxBackoff: Duration.DurationInput, attempt: number, r: number) =>
  stepDelays(
    Backoff.exponential({ baseDelay: "2 seconds", factor: 2, maxDelay: maxBackoff, maxAttempts: Infinity }),
    Array.from({ length: attempt }, () => undefined),
    0,
    Random.fixed([r])
  ).at(-1)

describe("aws-sdk-go-v2 jitter_backoff_test.go TestExponentialJitterBackoff_AttemptDelay", () => {
  it("min delay floor", () => {
    // Go: rand 0 → 0. Sturdy: full jitter never rounds a positive envelope down to no wait (Backoff's module doc)
    expect(jitterDelay("20 seconds", 1, 0)).toBe(1)
  })

  it("min delay ceiling", () => {
    // Go: maxB × 2 s = 1.999999999 s; Sturdy rounds down to whole milliseconds
    expect(jitterDelay("20 seconds", 1, maxB)).toBe(Math.floor(maxB * 2 * 1000))
    expect(jitterDelay("20 seconds", 1, maxB)).toBe(1999)
  })

  it("attempt delay", () => {
    // Go: 0.5 × 2^2 s = 2 s
    expect(jitterDelay("20 seconds", 2, 0.5)).toBe(0.5 * 2 ** 2 * 1000)
  })

  it("max delay", () => {
    // Go: maxB × 20 s (2^10 s capped at MaxBackoff), just under 20 s
    expect(jitterDelay("20 seconds", 10, maxB)).toBe(Math.floor(maxB * 20 * 1000))
    expect(jitterDelay("20 seconds", 10, maxB)).toBeLessThan(20_000)
  })
})

// a call failing `failures` times with `error` (then succeeding), counting its attempts
const failing = (failures: number, error = new ExpectedError({ message: "expected error" })) => {
  let attempts = 0
  const call = Effect.suspend(() => ++attempts <= failures ? Effect.fail(error) : Effect.succeed("ok"))
  return { call, error, attempts: () => attempts }
}
const noWait = (maxAttempts = 3) => Backoff.exponential({ baseDelay: 0, maxAttempts })

describe("aws-sdk-go-v2 standard_test.go TestStandard_IsErrorRetryable", () => {
  it.effect("is retryable", () =>
    Effect.gen(function*() {
      const { attempts, call, error } = failing(1)
      const seen: Array<unknown> = []
      const result = yield* Retry.retry(call, {
        schedule: noWait(),
        while: (e) => {
          seen.push(e)
          return true
        }
      })
      expect(result).toBe("ok")
      expect(attempts()).toBe(2)
      // the retryable is given the very error the call failed with
      expect(seen).toEqual([error])
      expect(seen[0]).toBe(error)
    }))

  it.effect("is not retryable", () =>
    Effect.gen(function*() {
      const { attempts, call, error } = failing(1)
      const reasons: Array<Retry.Reason> = []
      const exit = yield* Effect.exit(Retry.retry(call, {
        schedule: noWait(),
        while: () => false,
        onAttempt: (a) => Effect.sync(() => reasons.push(a.reason))
      }))
      expect(exit).toStrictEqual(Exit.fail(error))
      expect(attempts()).toBe(1)
      expect(reasons).toEqual(["not-retryable"])
    }))

  it.effect("unknown retryable", () =>
    Effect.gen(function*() {
      // Go: UnknownTernary (no retryable decided) is not retried. Sturdy's `while` is a boolean: a predicate that
      // cannot decide must say false, and then the failure is not retried, as in Go ...
      const undecided = failing(1)
      const exit = yield* Effect.exit(Retry.retry(undecided.call, { schedule: noWait(), while: () => false }))
      expect(exit).toStrictEqual(Exit.fail(undecided.error))
      expect(undecided.attempts()).toBe(1)
      // ... while with no `while` at all Sturdy retries every typed failure (Retry's module doc: default `while`)
      const unclassified = failing(1)
      expect(yield* Retry.retry(unclassified.call, { schedule: noWait() })).toBe("ok")
      expect(unclassified.attempts()).toBe(2)
    }))
})

describe("aws-sdk-go-v2 standard_test.go TestStandard_MaxAttempts", () => {
  it.effect("defaults", () =>
    Effect.gen(function*() {
      expect(Backoff.defaults.maxAttempts).toBe(3)
      const { attempts, call, error } = failing(Infinity)
      const reasons: Array<Retry.Reason> = []
      const exit = yield* advanceToDone(Retry.retry(call, {
        onAttempt: (a) => Effect.sync(() => reasons.push(a.reason))
      }))
      expect(exit).toStrictEqual(Exit.fail(error))
      expect(attempts()).toBe(3)
      expect(reasons).toEqual(["backoff", "backoff", "exhausted"])
    }))

  it.effect("custom", () =>
    Effect.gen(function*() {
      const { attempts, call, error } = failing(Infinity)
      const exit = yield* Effect.exit(Retry.retry(call, { schedule: noWait(10) }))
      expect(exit).toStrictEqual(Exit.fail(error))
      expect(attempts()).toBe(10)
    }))
})

describe("aws-sdk-go-v2 standard_test.go TestStandard_RetryDelay", () => {
  it.effect("success", () =>
    Effect.gen(function*() {
      // Go: RetryDelay(2, err) asks the BackoffDelayer with attempt 2 and the error, and waits its 10 ms
      const { call, error } = failing(2)
      const asked: Array<[number, unknown]> = []
      const delays: Array<number> = []
      const result = yield* advanceToDone(Retry.retry(call, {
        schedule: Backoff.bounded(
          Backoff.fromDelay((retry: number, e: ExpectedError) => {
            asked.push([retry, e])
            return Duration.millis(10)
          }),
          { maxAttempts: 3 }
        ),
        onAttempt: (a) => Effect.sync(() => delays.push(Duration.toMillis(a.delay)))
      }))
      expect(result).toStrictEqual(Exit.succeed("ok"))
      expect(asked).toEqual([[1, error], [2, error]])
      expect(asked[1]![1]).toBe(error)
      expect(delays).toEqual([10, 10])
    }))
})

// middleware_test.go TestAttemptMiddleware: `NewAttemptMiddleware(NewStandard(MaxAttempts 3))` around a handler that
// records each attempt's retry metadata (AttemptNum, AttemptTime, MaxAttempts) and returns the next scripted error.
// Go's `sdk.NowTime` moves one minute per call and its sleep does nothing; here each retry waits one minute on the
// TestClock, so attempt n starts at (n − 1) minutes, Go's AttemptTime. The per-attempt `AttemptResults` (Err,
// Retryable, Retried) are the `Attempt`s given to `onAttempt` (failure, reason, retrying); a call that succeeds at
// once reports none (Sturdy reports decisions, made on failures only).
const minuteApart = Backoff.bounded(Backoff.fromDelay(() => Duration.minutes(1)), { maxAttempts: 3 })

const scripted = (answers: ReadonlyArray<ExpectedError | "ok">) => {
  const starts: Array<number> = []
  const call = Effect.gen(function*() {
    const { currentTimeMillis } = yield* Effect.clock
    starts.push(yield* currentTimeMillis)
    const answer = answers[starts.length - 1] ?? new ExpectedError({ message: "more requests then expected" })
    return answer === "ok" ? "mockResponse" : yield* Effect.fail(answer)
  })
  return { call, starts }
}

const attemptMiddleware = (
  answers: ReadonlyArray<ExpectedError | "ok">,
  options: Partial<Retry.Options<ExpectedError>> = {}
) =>
  Effect.gen(function*() {
    const { call, starts } = scripted(answers)
    const results: Array<[number, Retry.Reason, boolean, ExpectedError]> = []
    const finalAttempts: Array<number> = []
    const exit = yield* advanceToDone(Retry.retry(call, {
      schedule: minuteApart,
      // Go's AttemptResults are indexed by the attempt that failed; Sturdy's `Attempt.attempt` numbers the attempt
      // the decision is about (the next one: 2 after the first failure)
      onAttempt: (a) => Effect.sync(() => results.push([a.attempt - 1, a.reason, a.retrying, a.failure])),
      finalFailure: (failure, attempts) => {
        finalAttempts.push(attempts)
        return failure
      },
      ...options
    }))
    return { exit, starts, results, finalAttempts }
  })

const retryable = new ExpectedError({ message: "mock retryable true" })

describe("aws-sdk-go-v2 middleware_test.go TestAttemptMiddleware", () => {
  it.effect("no error, no response in a single attempt", () =>
    Effect.gen(function*() {
      const { exit, results, starts } = yield* attemptMiddleware(["ok"])
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(starts).toEqual([0])
      expect(results).toEqual([])
    }))

  it.effect("no error in a single attempt", () =>
    Effect.gen(function*() {
      const { exit, results, starts } = yield* attemptMiddleware(["ok"])
      // the response of the single attempt comes back as it is
      expect(exit).toStrictEqual(Exit.succeed("mockResponse"))
      expect(starts).toEqual([0])
      expect(results).toEqual([])
    }))

  it.effect("retries errors", () =>
    Effect.gen(function*() {
      const { exit, results, starts } = yield* attemptMiddleware([retryable, retryable, "ok"])
      expect(exit).toStrictEqual(Exit.succeed("mockResponse"))
      // AttemptNum 1, 2, 3 at 10:20:30, 10:21:30, 10:22:30: a minute apart
      expect(starts).toEqual([0, 60_000, 120_000])
      expect(results).toEqual([[1, "backoff", true, retryable], [2, "backoff", true, retryable]])
    }))

  it.effect("stops after max attempts", () =>
    Effect.gen(function*() {
      const { exit, finalAttempts, results, starts } = yield* attemptMiddleware([retryable, retryable, retryable])
      // Go: MaxAttemptsError{Attempt: 3, Err}; Sturdy returns the last failure and tells `finalFailure` the count
      expect(exit).toStrictEqual(Exit.fail(retryable))
      expect(finalAttempts).toEqual([3])
      expect(starts).toEqual([0, 60_000, 120_000])
      expect(results).toEqual([
        [1, "backoff", true, retryable],
        [2, "backoff", true, retryable],
        [3, "exhausted", false, retryable]
      ])
    }))

  it.effect("stops on non-retryable errors", () =>
    Effect.gen(function*() {
      const someError = new ExpectedError({ message: "some error" })
      const { exit, results, starts } = yield* attemptMiddleware([someError, "ok"], {
        while: (e) => e !== someError
      })
      expect(exit).toStrictEqual(Exit.fail(someError))
      expect(starts).toEqual([0])
      expect(results).toEqual([[1, "not-retryable", false, someError]])
    }))

  it.effect("nested metadata and valid response", () =>
    Effect.gen(function*() {
      // each attempt's result is its own: the failure of the first, then the response of the second
      const { exit, results, starts } = yield* attemptMiddleware([retryable, "ok"])
      expect(exit).toStrictEqual(Exit.succeed("mockResponse"))
      expect(starts).toEqual([0, 60_000])
      expect(results).toEqual([[1, "backoff", true, retryable]])
    }))
})

describe("aws-sdk-go-v2 middleware_test.go TestAttemptReleaseRetryLock", () => {
  it.effect("TestAttemptReleaseRetryLock", () =>
    Effect.gen(function*() {
      // Go: a bucket of 10 tokens, 10 a retry; a call retried once then successful gives its 10 back, so a
      // GetRetryToken right after succeeds. Sturdy's budget gives nothing back on success (RetryBudget's module doc):
      // a budget of one retry (`minRetries: 1, ratio: 0`) allows the call's retry, then refuses the next retry until
      // the spent one leaves the window.
      const budget = yield* RetryBudget.make({ minRetries: 1, ratio: 0 })
      const { call } = scripted([retryable, "ok"])
      const result = yield* advanceToDone(Retry.retry(call, {
        schedule: Backoff.exponential({ baseDelay: 0, maxAttempts: 3 }),
        budgetKey: "svc",
        budgetService: budget
      }))
      expect(result).toStrictEqual(Exit.succeed("mockResponse"))
      expect(yield* budget.withdraw("svc")).toBe(false)
      yield* TestClock.adjust(RetryBudget.defaults.window)
      expect(yield* budget.withdraw("svc")).toBe(true)
    }))
})
