// Ported from botocore's tests/unit/retries/test_quota.py, test_standard.py and test_adaptive.py (boto/botocore, commit
// 0e6e2404b85dc336dd2889814e089bde7d1a4c55), one `it` per botocore case, named after it.
// Mapping: botocore's standard mode draws from a `RetryQuota` of 500 units, 5 a retry (10 after a timeout), and gives
// the units back when a retried call succeeds, 1 unit when a call succeeds without retrying. Sturdy's `RetryBudget`
// is not a bucket: a retry is allowed while `retries < minRetries + ratio × requests` over a sliding window. A quota
// of `q` units at 5 a retry is `minRetries: q / 5`; the unit a plain success gives back (a fifth of a retry) is
// `ratio: 0.2`, Sturdy's default. `quota.acquire(5)` is `withdraw`, `available_capacity / 5` is `stats().available`.
// `MaxAttemptsChecker(max_attempts=3)` is `Backoff.exponential({ maxAttempts: 3 })` (both count every attempt);
// `ExponentialBackoff(max_backoff=20)`, `random() × min(20, 2^(attempt − 1))` seconds, is `Backoff.exponential({
// baseDelay: "1 second", maxDelay: "20 seconds" })` with full jitter (`random = lambda: 1`, the top of the envelope,
// is `jitter: "none"`); `RetryHandler.needs_retry` (checker, then quota, then delay) is `Retry.retry` with `while`,
// `budgetKey` and the schedule; the retry metadata botocore adds to the response is the `Attempt` given to `onAttempt`.
// Adaptive mode's client rate limiter (off until the first throttling error) is mapped on `AdaptiveThrottle` (off
// until the backend rejects) for the two cases that test when it engages.
// Deliberate differences (each test says which): a retry costs one from the budget whatever the failure (no cost of
// 10 for a timeout); nothing is given back when a retried call succeeds: spent retries leave the budget as they leave
// the window, and every logical call adds `ratio` whether it succeeds or fails (gRPC, Finagle), where botocore refills
// only on success; hence no fixed maximum capacity (it is `minRetries + ratio × requests` of the window); a fraction
// of a retry allows one (496 units, 99.2 retries, allow 100).
// Not ported: the error classifiers (RETRYABLE_TRANSIENT_ERRORS, RETRYABLE_THROTTLED_RESPONSES, RETRYABLE_MODELED_
// ERRORS, TestThrottlingErrorDetector, TestModeledRetryErrorDetector, TestRetryContext.get_error_code; AWS error codes
// and service models: Sturdy's `Retry` takes a `while` predicate, and @sturdy/http classifies HTTP statuses),
// TestOrRetryChecker, TestRetryEventAdapter, test_can_create_default_retry_handler, test_can_register_retry_handler
// and test_retries_context_not_on_request_context (botocore's event hooks and request-context dict),
// test_can_acquire_quota_for_timeout_error (no per-failure cost), test_bucket.py (the token bucket whose rate adaptive
// mode moves: Sturdy has no send-rate limiter whose rate changes at run time; `RateLimit` has a fixed limit),
// test_adaptive.py's test_max_rate_updated_on_success_response, test_max_rate_cant_exceed_20_percent_max and
// TestRateClocker (6 cases: measured send rate, smoothing) and test_throttling.py (CubicCalculator, 4 cases): Sturdy
// estimates no sending rate and has no CUBIC; its client-side throttle is the SRE book's (AdaptiveThrottle), which
// rejects a share of calls by the accept ratio instead of pacing them.
import { describe, expect, it } from "@effect/vitest"
import * as AdaptiveThrottle from "@sturdy/policy/AdaptiveThrottle"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Retry from "@sturdy/policy/Retry"
import * as RetryBudget from "@sturdy/policy/RetryBudget"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Random from "effect/Random"
import * as TestClock from "effect/TestClock"
import { advance } from "./utils/advance.js"
import { recording, statsAfter } from "./utils/retryBudget.js"
import { stepDelays } from "./utils/stepDelays.js"

class ServiceError extends Data.TaggedError("ServiceError")<{ readonly status: number }> {}

// RetryQuota(50) at 5 units a retry, with no refill from traffic (test_quota.py calls release() by hand)
const quota50 = () => RetryBudget.make({ minRetries: 10, ratio: 0 })
// RetryQuotaChecker(RetryQuota(500)): 100 retries, a plain success gives back a fifth of one
const quota500 = () => RetryBudget.make({ minRetries: 100, ratio: 0.2 })
const WINDOW = RetryBudget.defaults.window

// a call that fails `failures` times with `error`, then succeeds; `starts` are the virtual times of its attempts
const flaky = (failures: number, error = new ServiceError({ status: 500 })) => {
  const starts: Array<number> = []
  const call = Effect.flatMap(Clock.currentTimeMillis, (now) => {
    starts.push(now)
    return starts.length <= failures ? Effect.fail(error) : Effect.succeed("ok")
  })
  return { call, starts }
}

const noWait = Backoff.exponential({ baseDelay: 0, maxAttempts: 3 })

describe("botocore test_quota.py TestRetryQuota", () => {
  it.effect("test_can_acquire_amount", () =>
    Effect.gen(function*() {
      const budget = yield* quota50()
      expect(yield* budget.withdraw("svc")).toBe(true)
      // 45 of 50 units: 9 retries of 10
      expect((yield* budget.stats("svc")).available).toBe(9)
    }))

  it.effect("test_can_release_amount", () =>
    Effect.gen(function*() {
      const budget = yield* quota50()
      expect(yield* budget.withdraw("svc")).toBe(true)
      expect((yield* budget.stats("svc")).available).toBe(9)
      // botocore: release(5) gives the units back. Sturdy has no release: the retry leaves the sliding window.
      yield* TestClock.adjust(WINDOW)
      expect((yield* budget.stats("svc")).available).toBe(10)
    }))

  it.effect("test_cant_exceed_max_capacity", () =>
    Effect.gen(function*() {
      const budget = yield* quota50()
      expect(yield* budget.withdraw("svc")).toBe(true)
      expect((yield* budget.stats("svc")).available).toBe(9)
      // botocore: release(10) after acquire(5) stops at the maximum of 50. Here: once the retry has left the window
      // the floor is all there is, however long the budget then stands idle.
      yield* TestClock.adjust(Duration.times(WINDOW, 3))
      expect((yield* budget.stats("svc")).available).toBe(10)
    }))

  it.effect("test_noop_if_at_max_capacity", () =>
    Effect.gen(function*() {
      const budget = yield* quota50()
      // botocore: release(10) at full capacity changes nothing. With ratio 0 a call recorded at full capacity does
      // not raise it (with ratio > 0 it would: Sturdy's capacity grows with the window's traffic, it has no maximum).
      yield* budget.deposit("svc")
      expect(yield* budget.stats("svc")).toEqual({ requests: 1, retries: 0, available: 10 })
    }))

  it.effect("test_cant_go_below_zero", () =>
    Effect.gen(function*() {
      const budget = yield* quota50()
      // botocore: acquire(49) leaves 1 and acquire(10) is refused, the 1 left untouched. A retry costs one here, so
      // the budget is drained retry by retry; the refused withdrawal counts nothing and nothing goes below 0.
      for (let i = 0; i < 9; i++) expect(yield* budget.withdraw("svc")).toBe(true)
      expect((yield* budget.stats("svc")).available).toBe(1)
      expect(yield* budget.withdraw("svc")).toBe(true)
      expect(yield* budget.withdraw("svc")).toBe(false)
      expect(yield* budget.stats("svc")).toEqual({ requests: 0, retries: 10, available: 0 })
    }))
})

describe("botocore test_standard.py MaxAttemptsChecker", () => {
  it.effect("test_can_honor_max_attempts", () =>
    Effect.gen(function*() {
      const { call, starts } = flaky(10)
      const attempts: Array<Retry.Attempt<ServiceError>> = []
      const exit = yield* advance(Retry.retry(call, {
        schedule: noWait,
        onAttempt: (a) => Effect.sync(() => attempts.push(a))
      }))
      expect(Exit.isFailure(exit)).toBe(true)
      // attempts 1 and 2 are retried, attempt 3 is not
      expect(starts).toHaveLength(3)
      expect(attempts.map((a) => [a.attempt, a.retrying])).toEqual([[2, true], [3, true], [4, false]])
    }))

  it.effect("test_max_attempts_adds_metadata_key_when_reached", () =>
    Effect.gen(function*() {
      const { call } = flaky(10)
      const attempts: Array<Retry.Attempt<ServiceError>> = []
      let attemptsMade = 0
      yield* advance(Retry.retry(call, {
        schedule: noWait,
        onAttempt: (a) => Effect.sync(() => attempts.push(a)),
        finalFailure: (e, n) => {
          attemptsMade = n
          return e
        }
      }))
      // botocore's MaxAttemptsReached: the decision to stop says why, and the final failure knows the attempts made
      expect(attempts.at(-1)?.reason).toBe("exhausted")
      expect(attemptsMade).toBe(3)
    }))
})

describe("botocore test_standard.py TestRetryHandler", () => {
  it.effect("test_does_need_retry", () =>
    Effect.gen(function*() {
      const { service, withdrawn } = recording(yield* quota500())
      const { call, starts } = flaky(1)
      const exit = yield* advance(Retry.retry(call, {
        schedule: Backoff.exponential({ baseDelay: "1 second", jitter: "none" }),
        while: () => true,
        budgetKey: "my-service",
        budgetService: service
      }))
      // retryable, quota granted, and the retry waits the computed delay (1 s)
      expect(exit).toEqual(Exit.succeed("ok"))
      expect(withdrawn).toEqual(["my-service"])
      expect(starts).toEqual([0, 1000])
    }))

  it.effect("test_does_not_need_retry", () =>
    Effect.gen(function*() {
      const { service, withdrawn } = recording(yield* quota500())
      const { call, starts } = flaky(1)
      const exit = yield* advance(Retry.retry(call, {
        while: () => false,
        budgetKey: "my-service",
        budgetService: service
      }))
      expect(exit).toEqual(Exit.fail(new ServiceError({ status: 500 })))
      expect(starts).toHaveLength(1)
      // the quota is not consulted for a failure that is not retryable
      expect(withdrawn).toEqual([])
    }))

  it.effect("test_needs_retry_but_not_enough_quota", () =>
    Effect.gen(function*() {
      const budget = yield* RetryBudget.make({ minRetries: 0, ratio: 0 })
      const { call, starts } = flaky(1)
      const exit = yield* advance(Retry.retry(call, {
        while: () => true,
        budgetKey: "my-service",
        budgetService: budget
      }))
      // botocore answers "no retry" (None); Sturdy returns the failure wrapped so the caller sees why
      expect(exit).toEqual(
        Exit.fail(
          new RetryBudget.RetryBudgetExhausted({
            key: "my-service",
            attempts: 1,
            failure: new ServiceError({ status: 500 })
          })
        )
      )
      expect(starts).toHaveLength(1)
    }))

  it.effect("test_retry_handler_adds_retry_metadata_to_response", () =>
    Effect.gen(function*() {
      const { call } = flaky(1)
      const attempts: Array<Retry.Attempt<ServiceError>> = []
      yield* advance(Retry.retry(call, {
        while: () => false,
        onAttempt: (a) => Effect.sync(() => attempts.push(a))
      }))
      // the decision not to retry is reported too
      expect(attempts).toEqual([{
        attempt: 2,
        delay: Duration.zero,
        reason: "not-retryable",
        retrying: false,
        failure: new ServiceError({ status: 500 })
      }])
    }))
})

describe("botocore test_standard.py TestRetryPolicy", () => {
  it.effect("test_delegates_to_retry_checker", () =>
    Effect.gen(function*() {
      const error = new ServiceError({ status: 503 })
      const { call } = flaky(1, error)
      const asked: Array<[ServiceError, number]> = []
      const exit = yield* advance(Retry.retry(call, {
        schedule: noWait,
        while: (e, attempt) => {
          asked.push([e, attempt])
          return true
        }
      }))
      expect(exit).toEqual(Exit.succeed("ok"))
      expect(asked).toEqual([[error, 1]])
    }))

  it.effect("test_delegates_to_retry_backoff", () =>
    Effect.gen(function*() {
      const { call, starts } = flaky(1)
      const attempts: Array<Retry.Attempt<ServiceError>> = []
      yield* advance(Retry.retry(call, {
        schedule: Backoff.bounded(Backoff.fromDelay(() => "1 second"), { maxAttempts: 3 }),
        onAttempt: (a) => Effect.sync(() => attempts.push(a))
      }))
      expect(attempts.map((a) => Duration.toMillis(a.delay))).toEqual([1000])
      expect(starts).toEqual([0, 1000])
    }))
})

describe("botocore test_standard.py TestExponentialBackoff", () => {
  const options = { baseDelay: "1 second", maxDelay: "20 seconds", maxAttempts: Infinity } as const

  it("test_range_of_exponential_backoff", () => {
    // random = lambda: 1 puts every delay at the top of its envelope: jitter "none"
    const delays = stepDelays(Backoff.exponential({ ...options, jitter: "none" }), Array(9).fill(undefined))
    expect(delays).toEqual([1, 2, 4, 8, 16, 20, 20, 20, 20].map((s) => s * 1000))
  })

  it("test_exponential_backoff_with_jitter", () => {
    // attempt_number 3 is Sturdy's retry n = 2: at most 2^2 = 4 seconds
    expect(Duration.toMillis(Backoff.envelope(options, 2).upper)).toBe(4000)
    for (let seed = 0; seed < 10; seed++) {
      const [, , third] = stepDelays(Backoff.exponential(options), Array(3).fill(undefined), 0, seed)
      expect(third).toBeGreaterThanOrEqual(0)
      expect(third).toBeLessThanOrEqual(4000)
    }
  })

  it("test_uniform_rand_dist_on_max_attempts", () => {
    // 10,000 delays of attempt_number 10 (capped at 20 s), grouped by whole seconds: each within 20 % of the mean.
    // Every full-jitter delay is drawn afresh, so one seeded schedule stepped 10,009 times gives them from retry 9 on.
    const backoffs = stepDelays(Backoff.exponential(options), Array(10_009).fill(undefined), 0, 7).slice(9)
    expect(backoffs).toHaveLength(10_000)
    const histogram = new Map<number, number>()
    for (const millis of backoffs) {
      const second = Math.floor(millis / 1000)
      histogram.set(second, (histogram.get(second) ?? 0) + 1)
    }
    expect([...histogram.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i))
    const expected = backoffs.length / histogram.size
    for (const count of histogram.values()) {
      expect(count).toBeGreaterThanOrEqual(expected * 0.8)
      expect(count).toBeLessThanOrEqual(expected * 1.2)
    }
  })
})

describe("botocore test_standard.py TestRetryQuotaChecker", () => {
  it.effect("test_can_acquire_quota_non_timeout_error", () =>
    Effect.gen(function*() {
      const budget = yield* quota500()
      expect(yield* budget.withdraw("svc")).toBe(true)
      // botocore records a cost of 5 units; here a retry is one of the 100
      expect(yield* budget.stats("svc")).toEqual({ requests: 0, retries: 1, available: 99 })
    }))

  it.effect("test_can_release_quota_based_on_context_value_on_success", () =>
    Effect.gen(function*() {
      const budget = yield* quota500()
      const { call } = flaky(1)
      const [exit, stats] = yield* statsAfter(
        Retry.retry(call, { schedule: noWait, budgetKey: "svc", budgetService: budget }),
        budget,
        "svc"
      )
      expect(exit).toEqual(Exit.succeed("ok"))
      // botocore gives the 5 units back on success (500 again). Sturdy refunds nothing: the retry stays counted until
      // it leaves the window; the call adds its 0.2 (99.2 retries, rounded up to 100 allowed).
      expect(stats).toEqual({ requests: 1, retries: 1, available: 100 })
    }))

  it.effect("test_dont_release_quota_if_all_retries_failed", () =>
    Effect.gen(function*() {
      const budget = yield* quota500()
      const { call } = flaky(10)
      const [exit, stats] = yield* statsAfter(
        Retry.retry(call, {
          schedule: Backoff.exponential({ baseDelay: 0, maxAttempts: 2 }),
          budgetKey: "svc",
          budgetService: budget
        }),
        budget,
        "svc"
      )
      expect(Exit.isFailure(exit)).toBe(true)
      // botocore keeps the units of a call whose retries all failed (495). Sturdy counts the call whatever its
      // outcome, so a failed call leaves the budget as a successful one does (the previous case).
      expect(stats).toEqual({ requests: 1, retries: 1, available: 100 })
    }))

  it.effect("test_can_release_default_quota_if_not_in_context", () =>
    Effect.gen(function*() {
      const budget = yield* quota500()
      expect(yield* budget.withdraw("svc")).toBe(true)
      expect((yield* budget.stats("svc")).available).toBe(99)
      // a call that succeeds without retrying gives back 1 unit in botocore (496: 99.2 retries), a fifth of a retry
      // here; Sturdy allows the fraction as a whole retry
      const { call } = flaky(0)
      const [, stats] = yield* statsAfter(Retry.retry(call, { budgetKey: "svc", budgetService: budget }), budget, "svc")
      expect(stats).toEqual({ requests: 1, retries: 1, available: 100 })
    }))

  it.effect("test_acquire_quota_fails", () =>
    Effect.gen(function*() {
      // RetryQuota(initial_capacity=5): one retry
      const budget = yield* RetryBudget.make({ minRetries: 1, ratio: 0 })
      expect(yield* budget.withdraw("svc")).toBe(true)
      expect(yield* budget.withdraw("svc")).toBe(false)
      expect(yield* budget.stats("svc")).toEqual({ requests: 0, retries: 1, available: 0 })
    }))

  it.effect("test_quota_reached_adds_retry_metadata", () =>
    Effect.gen(function*() {
      const budget = yield* RetryBudget.make({ minRetries: 0, ratio: 0 })
      const { call } = flaky(1)
      const attempts: Array<Retry.Attempt<ServiceError>> = []
      const exit = yield* advance(Retry.retry(call, {
        budgetKey: "svc",
        budgetService: budget,
        onAttempt: (a) => Effect.sync(() => attempts.push(a))
      }))
      expect(Exit.isFailure(exit)).toBe(true)
      // botocore's RetryQuotaReached
      expect(attempts.map((a) => [a.reason, a.retrying])).toEqual([["budget-refused", false]])
    }))

  it.effect("test_single_failed_request_does_not_give_back_quota", () =>
    Effect.gen(function*() {
      const budget = yield* quota500()
      // acquire(50): ten retries spent, 450 units (90 retries) left
      for (let i = 0; i < 10; i++) yield* budget.withdraw("svc")
      expect((yield* budget.stats("svc")).available).toBe(90)
      // a call that fails (a 400, not retried): botocore gives nothing back (450). Sturdy counts it as it counts
      // every call, adding 0.2 (90.2, so 91 allowed).
      const { call } = flaky(1, new ServiceError({ status: 400 }))
      const [, stats] = yield* statsAfter(
        Retry.retry(call, { while: () => false, budgetKey: "svc", budgetService: budget }),
        budget,
        "svc"
      )
      expect(stats).toEqual({ requests: 1, retries: 10, available: 91 })
    }))
})

describe("botocore test_adaptive.py TestClientRateLimiter", () => {
  // botocore's limiter acquires from its token bucket only once a throttling error has enabled it. Sturdy's
  // AdaptiveThrottle likewise rejects nothing locally until the backend has rejected calls.
  it.effect("test_bucket_bucket_acquisition_only_if_enabled", () =>
    Effect.gen(function*() {
      const throttle = yield* AdaptiveThrottle.make({ key: "svc" })
      for (let i = 0; i < 1000; i++) {
        expect(yield* Effect.succeed("ok").pipe(AdaptiveThrottle.withAdaptiveThrottle(throttle))).toBe("ok")
      }
      expect(yield* throttle.snapshot).toEqual({ requests: 1000, accepts: 1000, rejectProbability: 0 })
    }).pipe(Effect.withRandom(Random.make(1))))

  it.effect("test_token_bucket_enabled_on_throttling_error", () =>
    Effect.gen(function*() {
      const throttle = yield* AdaptiveThrottle.make({ key: "svc" })
      const throttled = Effect.fail(new ServiceError({ status: 400 })).pipe(
        AdaptiveThrottle.withAdaptiveThrottle(throttle)
      )
      expect((yield* throttle.snapshot).rejectProbability).toBe(0)
      yield* Effect.either(throttled)
      // after a throttling error the throttle is engaged: the next call may be turned away locally
      expect((yield* throttle.snapshot).rejectProbability).toBeGreaterThan(0)
      const outcomes = yield* Effect.replicateEffect(Effect.either(throttled), 200)
      expect(outcomes.some((o) => o._tag === "Left" && o.left._tag === "AdaptiveThrottleRejected")).toBe(true)
    }).pipe(Effect.withRandom(Random.make(1))))
})
