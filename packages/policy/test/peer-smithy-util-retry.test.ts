// Ported from smithy-lang/smithy-typescript (commit 6815d3e96f3abc32e238bf6d806523aab81c6a8e), directory
// packages/core/src/submodules/retry/util-retry/ (formerly packages/util-retry): DefaultRetryBackoffStrategy.spec.ts,
// ConfiguredRetryStrategy.spec.ts, StandardRetryStrategy.spec.ts, the "specification tests" of retries.integ.spec.ts,
// two cases of DefaultRateLimiter.spec.ts and middleware-retry/retry-pre-sra-deprecated/defaultRetryQuota.spec.ts; one
// `it` per smithy case, named after it (a spec test case is one `it`, its steps in order).
// Mapping: `DefaultRetryBackoffStrategy` (`floor(random × min(delayBase × 2^i, 20 s))`, i = 0 before the first retry)
// is `Backoff.exponential({ baseDelay: delayBase, maxDelay: "20 seconds" })` with full jitter, its `t(n)` being smithy's
// with n = i; `Math.random = () => 1` is the top of the envelope (`Random.fixed([1])`, or `jitter: "none"` for the
// `DeterministicRetryBackoffStrategy` of the spec tests). `ConfiguredRetryStrategy(maxAttempts, (attempt) => ms)` is
// `Backoff.bounded(Backoff.fromDelay(...), { maxAttempts })` (both 1-based). `StandardRetryStrategy` is `Retry.retry`:
// its `errorType` CLIENT_ERROR is `while` false, `maxAttempts` is the schedule's (both count every attempt), and its
// retry codes map on `Retry.Reason` in the same order of priority: 1 (not retryable) is `"not-retryable"`, 2 (attempts
// exhausted) `"exhausted"`, 3 (no capacity) `"budget-refused"`, 0 `"backoff"`. The 2026 spec tests' delays, 50 ms
// (transient) and 1000 ms (THROTTLING) doubling up to 20 s, are a `fromDelay` schedule that reads the failure.
// The retry quota (500 tokens, 14 a transient retry, 5 a throttling one, the cost given back when a retried call
// succeeds, 1 when a call succeeds at once, never above 500) is mapped on `RetryBudget` only as far as the semantics
// correspond: a quota of `q` tokens at 14 a retry allows `floor(q / 14)` retries while nothing succeeds, which is
// `minRetries: floor(q / 14), ratio: 0`. Deliberate differences (each test says where): a Sturdy retry costs one
// whatever the failure (no cheaper throttling retry); nothing is given back on success: a spent retry leaves the
// budget when it leaves the sliding window (see RetryBudget's module doc), so "Retry quota Recovery After Successful
// Responses" is refused where smithy retries, until the window passes.
// Not ported: "sets maxAttemptsProvider as a class member variable", "sets mode=standard" and acquireInitialRetryToken
// "returns default retryToken" (object fields and provider mechanics); "refreshes the token" and "throws when attempts
// exceeds maxAttempts" (a mocked token whose retry count no real call can have: 2 retries made under maxAttempts 1);
// the "long-poll token behavior" block (5 cases: Sturdy has no long-poll scope that retries past its refusal codes);
// retries.integ.spec.ts's "retry timings" tables (the token's cost/count fields per step; their delays are the
// backoff cases below); the long-poll spec steps; DefaultRetryToken.spec.ts (token object); DefaultRateLimiter.spec.ts
// but its two cases on when the limiter engages (ported at the end on AdaptiveThrottle): getSendToken (3), cubicSuccess
// (7), cubicThrottle (5), "acquireTokenBucket re-checks after sleep" (3) and updateClientSendingRate: Sturdy estimates
// no send rate and has no CUBIC; `AdaptiveThrottle` is the SRE book's client-side rejection by accept ratio, not
// pacing, and `RateLimit` has a fixed rate, so none corresponds; AdaptiveRetryStrategy.spec.ts (9 cases, all about
// calling that rate limiter, mocked, from the token methods); the deprecated retry-pre-sra-deprecated/ specs (the same strategy,
// deciders and limiter in an older API, with mocks; delayDecider.spec.ts repeats the backoff cases above), except
// defaultRetryQuota.spec.ts, ported at the end of this file, and StandardRetryStrategy.spec.ts's Retry-After cases,
// ported in test/peer-smithy-retries.test.ts.
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
import { advance, advanceToDone } from "./utils/advance.js"
import { stepDelays } from "./utils/stepDelays.js"

type ErrorType = "TRANSIENT" | "THROTTLING" | "CLIENT_ERROR"
class SmithyError extends Data.TaggedError("SmithyError")<{ readonly status: number; readonly type: ErrorType }> {}

const MAXIMUM_RETRY_DELAY = 20_000

// smithy's computeNextBackoffDelay(i) for i = attempts under Math.random = r: step the schedule i + 1 times
const backoffDelay = (options: Backoff.Options, attempts: number, random = 1) =>
  stepDelays(
    Backoff.exponential({ maxDelay: Duration.millis(MAXIMUM_RETRY_DELAY), maxAttempts: Infinity, ...options }),
    Array.from({ length: attempts + 1 }, () => undefined),
    0,
    Random.fixed([random])
  ).at(-1)

// the answers of a sequence of attempts: an error (status, type) or success
const responses = (...answers: ReadonlyArray<SmithyError | "ok">) => {
  const starts: Array<number> = []
  const call = Effect.flatMap(Clock.currentTimeMillis, (now) => {
    const answer = answers[starts.length] ?? "ok"
    starts.push(now)
    return answer === "ok" ? Effect.succeed("ok") : Effect.fail(answer)
  })
  return { call, starts }
}
const transient = (status = 500) => new SmithyError({ status, type: "TRANSIENT" })
const throttling = (status = 429) => new SmithyError({ status, type: "THROTTLING" })
const clientError = (status = 400) => new SmithyError({ status, type: "CLIENT_ERROR" })
const isRetryable = (e: SmithyError) => e.type !== "CLIENT_ERROR"

// the 2026 DeterministicRetryBackoffStrategy: 50 ms (1000 ms after a throttling error) × 2^i, at most 20 s
const spec2026 = (maxAttempts: number) =>
  Backoff.bounded(
    Backoff.fromDelay((retry: number, e: SmithyError) =>
      Math.min((e.type === "THROTTLING" ? 1000 : 50) * 2 ** (retry - 1), MAXIMUM_RETRY_DELAY)
    ),
    { maxAttempts }
  )

// a quota of `tokens` at 14 a retry, nothing given back
const quota = (tokens: number) => RetryBudget.make({ minRetries: Math.floor(tokens / 14), ratio: 0 })

const runSpec = (
  budget: RetryBudget.RetryBudget.Service,
  maxAttempts: number,
  ...answers: ReadonlyArray<SmithyError | "ok">
) =>
  Effect.gen(function*() {
    const { call, starts } = responses(...answers)
    const decisions: Array<Retry.Attempt<SmithyError>> = []
    const exit = yield* advanceToDone(
      Retry.retry(call, {
        schedule: spec2026(maxAttempts),
        while: isRetryable,
        budgetKey: "none",
        budgetService: budget,
        onAttempt: (a) => Effect.sync(() => decisions.push(a))
      })
    )
    const delays = decisions.filter((d) => d.retrying).map((d) => Duration.toMillis(d.delay))
    return { exit, starts, delays, reasons: decisions.map((d) => d.reason), stats: yield* budget.stats("none") }
  })

describe("smithy DefaultRetryBackoffStrategy.spec.ts", () => {
  describe("uses 100 by default", () => {
    for (const attempts of [0, 1, 2, 3]) {
      const expected = Math.floor(2 ** attempts * 100)
      it(`(${attempts}) returns ${expected}`, () => {
        expect(Duration.toMillis(Backoff.defaults.baseDelay)).toBe(100)
        expect(backoffDelay({}, attempts)).toBe(expected)
      })
    }
  })

  describe("retry delay increases exponentially with attempt number", () => {
    for (const attempts of [0, 1, 2, 3]) {
      const expected = Math.floor(2 ** attempts * 50)
      it(`(${attempts}) returns ${expected}`, () => {
        expect(backoffDelay({ baseDelay: "50 millis" }, attempts)).toBe(expected)
      })
    }
  })

  describe(`caps retry delay at ${MAXIMUM_RETRY_DELAY / 1000} seconds`, () => {
    it("when value exceeded because of high delayBase", () => {
      // Sturdy's default cap is 10 s where smithy's MAXIMUM_RETRY_DELAY is 20 s: the cap is given here
      expect(backoffDelay({ baseDelay: Duration.millis(MAXIMUM_RETRY_DELAY + 1) }, 0)).toBe(MAXIMUM_RETRY_DELAY)
      expect(backoffDelay({ baseDelay: Duration.millis(MAXIMUM_RETRY_DELAY + 2) }, 0)).toBe(MAXIMUM_RETRY_DELAY)
    })

    it("when value exceeded because of high attempts number", () => {
      const largeAttemptsNumber = Math.ceil(Math.log2(MAXIMUM_RETRY_DELAY))
      expect(backoffDelay({ baseDelay: "1 millis" }, largeAttemptsNumber)).toBe(MAXIMUM_RETRY_DELAY)
      expect(backoffDelay({ baseDelay: "1 millis" }, largeAttemptsNumber + 1)).toBe(MAXIMUM_RETRY_DELAY)
    })
  })

  describe("randomizes the retry delay value", () => {
    // smithy draws the three values from Math.random; fixed values here (fixed seeds)
    for (const mockRandomValue of [0.1234, 0.5, 0.9876]) {
      const expected = Math.floor(mockRandomValue * 2 ** 0 * 100)
      it(`(100, 0) with mock Math.random=${mockRandomValue} returns ${expected}`, () => {
        expect(backoffDelay({ baseDelay: "100 millis" }, 0, mockRandomValue)).toBe(expected)
      })
    }
  })
})

describe("smithy ConfiguredRetryStrategy.spec.ts", () => {
  it.effect("allows setting a custom backoff function", () =>
    Effect.gen(function*() {
      const { call, starts } = responses(transient(), transient(), transient())
      const decisions: Array<Retry.Attempt<SmithyError>> = []
      const exit = yield* advanceToDone(
        Retry.retry(call, {
          schedule: Backoff.bounded(Backoff.fromDelay((attempt) => attempt * 1000), { maxAttempts: 5 }),
          onAttempt: (a) => Effect.sync(() => decisions.push(a))
        })
      )
      expect(exit).toEqual(Exit.succeed("ok"))
      // acquisitionDelay 1000, 2000, 3000: the waits chosen and the waits slept
      expect(decisions.map((d) => Duration.toMillis(d.delay))).toEqual([1000, 2000, 3000])
      expect(starts).toEqual([0, 1000, 3000, 6000])
    }))
})

describe("smithy StandardRetryStrategy.spec.ts", () => {
  describe("refreshRetryTokenForRetry", () => {
    it.effect("disables any retries when maxAttempts is 1", () =>
      Effect.gen(function*() {
        const { call, starts } = responses(transient())
        const reasons: Array<Retry.Reason> = []
        const exit = yield* advance(Retry.retry(call, {
          schedule: Backoff.exponential({ maxAttempts: 1 }),
          onAttempt: (a) => Effect.sync(() => reasons.push(a.reason))
        }))
        expect(exit).toEqual(Exit.fail(transient()))
        expect(starts).toHaveLength(1)
        expect(reasons).toEqual(["exhausted"])
      }))

    it.effect("throws when attempts exceeds default max attempts (3)", () =>
      Effect.gen(function*() {
        const { call, starts } = responses(transient(), transient(), transient(), transient(), transient())
        const reasons: Array<Retry.Reason> = []
        const exit = yield* advance(Retry.retry(call, { onAttempt: (a) => Effect.sync(() => reasons.push(a.reason)) }))
        // the default schedule makes 3 attempts in all, as smithy's DEFAULT_MAX_ATTEMPTS
        expect(Backoff.defaults.maxAttempts).toBe(3)
        expect(exit).toEqual(Exit.fail(transient()))
        expect(starts).toHaveLength(3)
        expect(reasons).toEqual(["backoff", "backoff", "exhausted"])
      }))

    it.effect("throws when error is non-retryable", () =>
      Effect.gen(function*() {
        const { call, starts } = responses(clientError())
        const reasons: Array<Retry.Reason> = []
        const exit = yield* advance(Retry.retry(call, {
          schedule: Backoff.exponential({ maxAttempts: 3 }),
          while: isRetryable,
          onAttempt: (a) => Effect.sync(() => reasons.push(a.reason))
        }))
        expect(exit).toEqual(Exit.fail(clientError()))
        expect(starts).toHaveLength(1)
        expect(reasons).toEqual(["not-retryable"])
      }))
  })

  describe("retryCode", () => {
    const decide = (
      error: SmithyError,
      maxAttempts: number,
      budget: RetryBudget.RetryBudget.Service
    ) =>
      Effect.gen(function*() {
        const { call } = responses(error)
        const reasons: Array<Retry.Reason> = []
        const exit = yield* advance(Retry.retry(call, {
          schedule: Backoff.exponential({ baseDelay: 0, maxAttempts }),
          while: isRetryable,
          budgetKey: "scope",
          budgetService: budget,
          onAttempt: (a) => Effect.sync(() => reasons.push(a.reason))
        }))
        return { exit, first: reasons[0] }
      })

    it.effect("returns code 1 (non-retryable) with highest priority over other reasons", () =>
      Effect.gen(function*() {
        // not retryable, no attempt left and no budget: "not-retryable" wins
        const { exit, first } = yield* decide(clientError(), 1, yield* RetryBudget.make({ minRetries: 0, ratio: 0 }))
        expect(first).toBe("not-retryable")
        expect(exit).toEqual(Exit.fail(clientError()))
      }))

    it.effect("returns code 2 (attempts exhausted) when retryable but no attempts left", () =>
      Effect.gen(function*() {
        // retryable, no attempt left and no budget: "exhausted" comes before the budget
        const { exit, first } = yield* decide(transient(), 1, yield* RetryBudget.make({ minRetries: 0, ratio: 0 }))
        expect(first).toBe("exhausted")
        expect(exit).toEqual(Exit.fail(transient()))
      }))

    it.effect("returns code 3 (no capacity) when retryable with attempts left but no tokens", () =>
      Effect.gen(function*() {
        const { exit, first } = yield* decide(transient(), 3, yield* RetryBudget.make({ minRetries: 0, ratio: 0 }))
        expect(first).toBe("budget-refused")
        expect(exit).toEqual(
          Exit.fail(new RetryBudget.RetryBudgetExhausted({ key: "scope", attempts: 1, failure: transient() }))
        )
      }))

    it.effect("returns code 0 (OK to retry) when all conditions are met", () =>
      Effect.gen(function*() {
        const { exit, first } = yield* decide(transient(), 3, yield* quota(500))
        expect(first).toBe("backoff")
        expect(exit).toEqual(Exit.succeed("ok"))
      }))
  })
})

describe("smithy retries.integ.spec.ts specification tests (StandardRetryStrategy unit tests)", () => {
  it.effect("Retry eventually succeeds", () =>
    Effect.gen(function*() {
      const r = yield* runSpec(yield* quota(500), 3, transient(), transient(), "ok")
      expect(r.exit).toEqual(Exit.succeed("ok"))
      expect(r.delays).toEqual([50, 100])
      // smithy: 486, 472, then 486 (the last retry's 14 given back on success). Sturdy: 35 retries, 2 spent, none
      // given back
      expect(r.stats).toEqual({ requests: 1, retries: 2, available: 33 })
    }))

  it.effect("Fail due to max attempts reached", () =>
    Effect.gen(function*() {
      const r = yield* runSpec(yield* quota(500), 3, transient(502), transient(502), transient(502))
      expect(r.exit).toEqual(Exit.fail(transient(502)))
      expect(r.delays).toEqual([50, 100])
      expect(r.reasons).toEqual(["backoff", "backoff", "exhausted"])
      // the refusal spends nothing (smithy: 472 after the third failure as after the second)
      expect(r.stats.retries).toBe(2)
    }))

  it.effect("Retry Quota reached after a single retry", () =>
    Effect.gen(function*() {
      const r = yield* runSpec(yield* quota(14), 3, transient(), transient())
      expect(r.delays).toEqual([50])
      expect(r.reasons).toEqual(["backoff", "budget-refused"])
      expect(r.exit).toEqual(
        Exit.fail(new RetryBudget.RetryBudgetExhausted({ key: "none", attempts: 2, failure: transient() }))
      )
      expect(r.stats.available).toBe(0)
    }))

  it.effect("No retries at all if retry quota is 0", () =>
    Effect.gen(function*() {
      const r = yield* runSpec(yield* quota(0), 3, transient())
      expect(r.starts).toHaveLength(1)
      expect(r.reasons).toEqual(["budget-refused"])
      expect(r.exit).toEqual(
        Exit.fail(new RetryBudget.RetryBudgetExhausted({ key: "none", attempts: 1, failure: transient() }))
      )
      expect(r.stats.available).toBe(0)
    }))

  it.effect("Verifying exponential backoff timing", () =>
    Effect.gen(function*() {
      const r = yield* runSpec(yield* quota(500), 5, transient(), transient(), transient(), transient(), transient())
      expect(r.delays).toEqual([50, 100, 200, 400])
      expect(r.starts).toEqual([0, 50, 150, 350, 750])
      expect(r.reasons.at(-1)).toBe("exhausted")
      expect(r.exit).toEqual(Exit.fail(transient()))
      // smithy: 444 tokens left, 31 retries of 14; Sturdy: 35 − 4
      expect(r.stats.available).toBe(31)
    }))

  it.effect("Retry Stops After Retry Quota Exhaustion", () =>
    Effect.gen(function*() {
      // 20 tokens: one retry of 14, then 6 left, not enough for a second
      const r = yield* runSpec(yield* quota(20), 5, transient(500), transient(502))
      expect(r.delays).toEqual([50])
      expect(r.reasons).toEqual(["backoff", "budget-refused"])
      expect(r.exit).toEqual(
        Exit.fail(new RetryBudget.RetryBudgetExhausted({ key: "none", attempts: 2, failure: transient(502) }))
      )
    }))

  it.effect("Retry quota Recovery After Successful Responses", () =>
    Effect.gen(function*() {
      // 30 tokens: two retries of 14
      const budget = yield* quota(30)
      const first = yield* runSpec(budget, 5, transient(500), transient(502), "ok")
      expect(first.exit).toEqual(Exit.succeed("ok"))
      expect(first.delays).toEqual([50, 100])
      // smithy gives the last retry's 14 back on success (16 left) and retries the next call's 500 once. Deliberate
      // difference: Sturdy gives nothing back, so the next call's retry is refused while the window holds the two...
      const second = yield* runSpec(budget, 5, transient(500), "ok")
      expect(second.reasons).toEqual(["budget-refused"])
      // ...and granted once they have left it
      yield* TestClock.adjust(RetryBudget.defaults.window)
      const third = yield* runSpec(budget, 5, transient(500), "ok")
      expect(third.exit).toEqual(Exit.succeed("ok"))
      expect(third.delays).toEqual([50])
    }))

  it.effect("Throttling Error Token Bucket Drain (5 tokens) and Backoff Duration (1000ms)", () =>
    Effect.gen(function*() {
      const r = yield* runSpec(yield* quota(500), 3, throttling(400), "ok")
      expect(r.exit).toEqual(Exit.succeed("ok"))
      // the throttling base delay: 1000 ms
      expect(r.delays).toEqual([1000])
      expect(r.starts).toEqual([0, 1000])
      // smithy drains 5 tokens for a throttling retry (14 for a transient one); a Sturdy retry costs one whatever the
      // failure
      expect(r.stats.retries).toBe(1)
    }))
})

// retry-pre-sra-deprecated/defaultRetryQuota.spec.ts: INITIAL_RETRY_TOKENS 500 at RETRY_COST 5 is 100 retries; a
// TimeoutError costs TIMEOUT_RETRY_COST 10 there, one retry like any other here (deliberate difference); a call that
// succeeds at once gives back NO_RETRY_INCREMENT 1, a fifth of a retry: `ratio: 0.2` where a case needs it
describe("smithy retry-pre-sra-deprecated defaultRetryQuota.spec.ts", () => {
  const drained = (retries: number, ratio = 0) =>
    Effect.gen(function*() {
      const budget = yield* RetryBudget.make({ minRetries: retries, ratio })
      for (let i = 0; i < retries; i++) expect(yield* budget.withdraw("svc")).toBe(true)
      return budget
    })

  describe("custom initial retry tokens", () => {
    it.effect("hasRetryTokens returns false if capacity is not available", () =>
      Effect.gen(function*() {
        // 100 tokens: 20 retries
        const budget = yield* drained(20)
        expect((yield* budget.stats("svc")).available).toBe(0)
      }))

    it.effect("retrieveRetryToken throws error if retry tokens not available", () =>
      Effect.gen(function*() {
        const budget = yield* drained(20)
        expect(yield* budget.withdraw("svc")).toBe(false)
        expect((yield* budget.stats("svc")).retries).toBe(20)
      }))
  })

  describe("hasRetryTokens", () => {
    describe("returns true if capacity is available", () => {
      it.effect("when it's TimeoutError", () =>
        Effect.gen(function*() {
          // no per-failure cost: the same answer for a timeout as for any failure
          expect((yield* (yield* RetryBudget.make({ minRetries: 100, ratio: 0 })).stats("svc")).available).toBe(100)
        }))

      it.effect("when it's not TimeoutError", () =>
        Effect.gen(function*() {
          expect((yield* (yield* RetryBudget.make({ minRetries: 100, ratio: 0 })).stats("svc")).available).toBe(100)
        }))
    })

    describe("returns false if capacity is not available", () => {
      it.effect("when it's TimeoutError", () =>
        Effect.gen(function*() {
          // smithy drains 500 tokens in 50 timeout retries of 10; a timeout retry costs one here, so 50 leave 50
          const budget = yield* drained(100)
          expect((yield* budget.stats("svc")).available).toBe(0)
          const half = yield* RetryBudget.make({ minRetries: 100, ratio: 0 })
          for (let i = 0; i < 50; i++) yield* half.withdraw("svc")
          expect((yield* half.stats("svc")).available).toBe(50)
        }))

      it.effect("when it's not TimeoutError", () =>
        Effect.gen(function*() {
          const budget = yield* drained(100)
          expect((yield* budget.stats("svc")).available).toBe(0)
        }))
    })
  })

  describe("retrieveRetryToken", () => {
    describe("returns retry tokens amount if available", () => {
      it.effect("when it's TimeoutError", () =>
        Effect.gen(function*() {
          // smithy takes 10 tokens (two retries' worth); a withdrawal here is one retry whatever the failure
          const budget = yield* RetryBudget.make({ minRetries: 100, ratio: 0 })
          expect(yield* budget.withdraw("svc")).toBe(true)
          expect((yield* budget.stats("svc")).available).toBe(99)
        }))

      it.effect("when it's not TimeoutError", () =>
        Effect.gen(function*() {
          const budget = yield* RetryBudget.make({ minRetries: 100, ratio: 0 })
          expect(yield* budget.withdraw("svc")).toBe(true)
          expect((yield* budget.stats("svc")).available).toBe(99)
        }))
    })

    describe("throws error if retry tokens not available", () => {
      it.effect("when it's TimeoutError", () =>
        Effect.gen(function*() {
          const budget = yield* drained(100)
          expect(yield* budget.withdraw("svc")).toBe(false)
        }))

      it.effect("when it's not TimeoutError", () =>
        Effect.gen(function*() {
          const budget = yield* drained(100)
          expect(yield* budget.withdraw("svc")).toBe(false)
          // the refusal counts nothing and nothing goes below 0
          expect(yield* budget.stats("svc")).toEqual({ requests: 0, retries: 100, available: 0 })
        }))
    })
  })

  describe("releaseRetryToken", () => {
    it.effect("adds capacityReleaseAmount if passed", () =>
      Effect.gen(function*() {
        const budget = yield* drained(100)
        expect(yield* budget.withdraw("svc")).toBe(false)
        // smithy: releaseRetryTokens(5) gives one retry back. Deliberate difference: no release; the spent retries
        // leave the sliding window, and the budget is whole again
        yield* TestClock.adjust(RetryBudget.defaults.window)
        expect(yield* budget.withdraw("svc")).toBe(true)
        expect((yield* budget.stats("svc")).available).toBe(99)
      }))

    it.effect("adds NO_RETRY_INCREMENT if capacityReleaseAmount not passed", () =>
      Effect.gen(function*() {
        // each call adds a fifth of a retry (ratio 0.2). smithy needs 5 successes to afford a retry of 5 tokens;
        // here a fraction of a retry allows one (RetryBudget's rule), so one call does
        const budget = yield* drained(100, 0.2)
        expect(yield* budget.withdraw("svc")).toBe(false)
        yield* budget.deposit("svc")
        expect(yield* budget.withdraw("svc")).toBe(true)
        expect(yield* budget.withdraw("svc")).toBe(false)
      }))

    it.effect("ensures availableCapacity is maxed at INITIAL_RETRY_TOKENS", () =>
      Effect.gen(function*() {
        // deliberate difference: the capacity has no fixed maximum; 100 calls in the window add 100 × 0.2 retries
        // to the floor of 100 (with ratio 0 they add none, and exactly 100 retries are allowed, as smithy's)
        const budget = yield* RetryBudget.make({ minRetries: 100, ratio: 0.2 })
        for (let i = 0; i < 100; i++) yield* budget.deposit("svc")
        expect((yield* budget.stats("svc")).available).toBe(120)
        const capped = yield* RetryBudget.make({ minRetries: 100, ratio: 0 })
        for (let i = 0; i < 100; i++) yield* capped.deposit("svc")
        let granted = 0
        while (yield* capped.withdraw("svc")) granted++
        expect(granted).toBe(100)
      }))
  })
})

// DefaultRateLimiter.spec.ts: the limiter is off (`enabled` false) until the first throttling error. The two cases
// about when it engages map on AdaptiveThrottle, which rejects nothing locally until the backend has rejected calls,
// `isRejectedByBackend` being smithy's throttling test (a 429, or an error typed THROTTLING; the modeled
// `$retryable.throttling` trait is that type here). What it does once engaged (CUBIC pacing) has no counterpart.
describe("smithy DefaultRateLimiter.spec.ts", () => {
  const throttleOf = AdaptiveThrottle.make({
    key: "svc",
    isRejectedByBackend: (e) => e instanceof SmithyError && (e.status === 429 || e.type === "THROTTLING")
  })
  const engagedAfter = (error: SmithyError) =>
    Effect.gen(function*() {
      const throttle = yield* throttleOf
      expect((yield* throttle.snapshot).rejectProbability).toBe(0)
      yield* Effect.either(Effect.fail(error).pipe(AdaptiveThrottle.withAdaptiveThrottle(throttle)))
      return (yield* throttle.snapshot).rejectProbability > 0
    })

  it.effect("detects throttling from an error with status code 429 or $retryable.throttling", () =>
    Effect.gen(function*() {
      // ThrottlingStatusCodeException: a 429 passed as TRANSIENT; ThrottlingModelMetadataException: modeled throttling
      expect(yield* engagedAfter(new SmithyError({ status: 429, type: "TRANSIENT" }))).toBe(true)
      expect(yield* engagedAfter(new SmithyError({ status: 400, type: "THROTTLING" }))).toBe(true)
      // (the contrast: a failure that is not throttling leaves it off)
      expect(yield* engagedAfter(transient(500))).toBe(false)
    }).pipe(Effect.withRandom(Random.make(1))))

  it.effect("treats a RetryErrorInfo with errorType THROTTLING as a throttling error", () =>
    Effect.gen(function*() {
      expect(yield* engagedAfter(throttling(400))).toBe(true)
    }).pipe(Effect.withRandom(Random.make(1))))
})
