// Ported from aws/aws-sdk-go-v2 aws/retry/jitter_backoff_test.go (commit 843b02ad6f819c6152f467ce07dd456d971eca23) and
// aws/retry/standard_test.go (commit 2435999956c7d45b405631c30838285c74b70dee), one `it` per Go subtest, named
// after it.
// Mapping: `NewExponentialJitterBackoff(maxBackoff)`, `rand × min(maxBackoff, 2^attempt)` seconds where `attempt` is
// the attempt that failed (1 for the first), is `Backoff.exponential({ baseDelay: "2 seconds", factor: 2, maxDelay:
// maxBackoff })` with full jitter: Go's attempt n is Sturdy's retry n − 1, whose envelope `t(n − 1) = 2 × 2^(n − 1)`
// s is Go's `2^n` s. `randFloat64` is `Random.fixed([r])`. `NewStandard` is `Retry.retry` with a `Backoff` schedule:
// `StandardOptions.MaxAttempts` is the schedule's `maxAttempts` (both count every attempt, default 3),
// `Retryables` is `while`, `Backoff` (a `BackoffDelayer`, `(attempt, err) → delay`) is `Backoff.fromDelay((retry,
// failure) → delay)`, whose 1-based `retry` is Go's `attempt` (the attempt that failed).
// Deliberate differences (each test says where): Sturdy's full jitter never rounds a positive envelope down to no
// wait (at least 1 ms; Go's `rand = 0` waits 0); delays are whole milliseconds, rounded down (Go keeps nanoseconds);
// Go's `aws.Ternary` "unknown" (no retryable decided) is not retried, while Sturdy's `while` is a boolean and,
// omitted, retries every typed failure.
// Not ported: standard_test.go's TestStandard_RetryDelay "error" (a `BackoffDelayer` that returns an error: Sturdy's
// delay function is total, it has no error result). retryable_error_test.go is `// +build disabled` at the commit read
// (242bdee5b6d63bbee36c5d2d0980f7ebfd4d167d: Go error wrapping, `Temporary()`/`Timeout()` interfaces, `url.Error`,
// `net.OpError`: Go types with no Sturdy counterpart; @sturdy/http classifies statuses and transport failures itself).
// retry2026_test.go's TestRetry2026StandardMode steps are the 2026 retry spec cases already ported from smithy's
// retries.integ.spec.ts in peer-smithy-util-retry.test.ts (same steps, same quota numbers): not repeated.
// adaptive_test.go / adaptive_ratelimit_test.go (the CUBIC send-rate limiter), clockskew_test.go, middleware_test.go
// (smithy middleware stack, metadata, clock skew, the `amz-sdk-request` header), retry_test.go (AddWithMaxAttempts and
// other retryer wrappers) and timeout_error_test.go were not ported within this session's time; see the report.
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Retry from "@sturdy/policy/Retry"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Random from "effect/Random"
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
