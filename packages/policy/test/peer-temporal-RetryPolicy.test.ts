// Ported from Temporal's retry policy tests, one `it` per case (a Go subtest or table row is a case), named after it:
// - temporalio/sdk-typescript (commit cd60591ca9b97dc919bd4987e9ff59f469b10609),
//   packages/common/src/__tests__/test-retry-policy.ts (`compileRetryPolicy`);
// - temporalio/temporal (commit 6805caea59e35d0611ed96be69641b8d86bff11c): common/backoff/retrypolicy_test.go
//   (`ExponentialRetryPolicy`, the retrier's next delay), common/retrypolicy/retry_policy_test.go (`Validate`,
//   `EnsureDefaults`, `IsRetryableFailure`) and service/history/workflow/retry_test.go (`nextBackoffInterval`,
//   `getBackoffInterval`).
// Mapping: `initialInterval` is `baseDelay`, `backoffCoefficient` is `factor`, `maximumInterval` is `maxDelay`,
// `maximumAttempts` is `maxAttempts` (both count every attempt, the first included), the expiration interval is
// `maxElapsed`, `nonRetryableErrorTypes` (and an application failure's `nonRetryable` flag) is `while`; a delay
// function of the error (`NewErrorDependentRetryPolicy`) and a constant delay are `Backoff.fromDelay` under
// `Backoff.bounded`. Temporal's jitter shortens a delay by up to 20 %, as Sturdy's does: it is
// `Backoff.bounded(Schedule.exponential(base).pipe(Schedule.jitteredWith({ min: 0.8, max: 1 })), ...)`, and the
// asserted range is temporal's [0.8 d, d]. A retrier's next delay is a schedule step (`stepDelays`, the clock moved by
// each delay, as temporal's tests advance their time source); `nextBackoffInterval(attempt)` is `Backoff.envelope(n)`
// with n = attempt − 1. Validation errors are `RangeError`s naming the option.
// Deliberate differences (each test says which): a zero `baseDelay` or `maxDelay` means no wait and a `maxDelay` below
// `baseDelay` caps every delay (temporal refuses all three); `maxAttempts` must be an integer ≥ 1 or `Infinity`
// (temporal's 0 means unlimited) and every option is checked even with one attempt; `maxElapsed` counts from the
// first failure, and a retry that would start past it is not made (temporal shortens the last delay to fit); the cap
// is applied after jitter, so a capped delay may equal `maxDelay`; Sturdy's defaults are its own (100 ms, × 2, 10 s,
// 3 attempts; temporal's 1 s, × 2, 100 × the initial interval, unlimited).
// Not ported: the timeout, terminated, canceled, server and child-workflow rows of TestIsRetryableFailure and the
// timeout-type rows of TestValidateRetryPolicy (Temporal's failure model; the application-failure rows are the ones a
// `while` expresses), TestConditionalRetryPolicy (no combinator choosing a schedule by failure), TestAddJitter and the
// jittered halves of TestErrorDependentPolicy and TestConstantDelayPolicy (temporal's jitter there lengthens a delay;
// Sturdy's never does), the Example (Go's seeded rand output), the proto round trips (`decompileRetryPolicy`) and
// EnsureDefaults' rows that only restate which fields a proto leaves unset.
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Retry from "@sturdy/policy/Retry"
import { laws } from "@sturdy/testing/ScheduleKit"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schedule from "effect/Schedule"
import { advanceToDone } from "./utils/advance.js"
import { stepDelays } from "./utils/stepDelays.js"

class ApplicationFailure extends Data.TaggedError("ApplicationFailure")<{
  readonly type: string
  readonly nonRetryable: boolean
}> {}

const seconds = (s: number) => s * 1000
const TIMER_MAX = 2 ** 31 - 1

// temporal's ExponentialRetryPolicy: exponential from `base`, shortened by up to 20 % at random, then bounded
const temporalPolicy = (
  base: Duration.DurationInput,
  options: {
    readonly factor?: number
    readonly maxDelay?: Duration.DurationInput
    readonly maxAttempts?: number
    readonly maxElapsed?: Duration.DurationInput
  }
) =>
  Backoff.bounded(
    Schedule.exponential(base, options.factor ?? 2).pipe(Schedule.jitteredWith({ min: 0.8, max: 1 })),
    { maxDelay: options.maxDelay, maxAttempts: options.maxAttempts, maxElapsed: options.maxElapsed }
  )

// temporal's getNextBackoffRange: [0.8 d, d] (d itself: the cap applies after jitter)
const expectInRange = (actual: number | undefined, d: number) => {
  expect(actual).toBeGreaterThanOrEqual(0.8 * d)
  expect(actual).toBeLessThanOrEqual(d)
}

const inputs = (n: number) => Array.from({ length: n }, (_, i) => i)

const upper = (options: Backoff.Options, n: number) => Duration.toMillis(Backoff.envelope(options, n).upper)

describe("sdk-typescript test-retry-policy", () => {
  it("compileRetryPolicy validates intervals are not 0", () => {
    // temporal: "RetryPolicy.initialInterval cannot be 0" / "maximumInterval cannot be 0". Sturdy: zero is a
    // documented value, no wait between attempts
    for (const zero of [0, "0 millis"] as const) {
      expect(stepDelays(Backoff.exponential({ baseDelay: zero, jitter: "none", maxAttempts: 4 }), inputs(4))).toEqual([
        0,
        0,
        0
      ])
      expect(stepDelays(Backoff.exponential({ maxDelay: zero, jitter: "none", maxAttempts: 4 }), inputs(4))).toEqual([
        0,
        0,
        0
      ])
    }
  })

  it("compileRetryPolicy validates maximumInterval is not less than initialInterval", () => {
    // temporal: "RetryPolicy.maximumInterval cannot be less than its initialInterval". Sturdy: t(n) = min(maxDelay,
    // baseDelay × factorⁿ), so every delay is the cap
    const schedule = Backoff.exponential({
      maxDelay: "1 millis",
      baseDelay: "3 millis",
      jitter: "none",
      maxAttempts: 4
    })
    expect(stepDelays(schedule, inputs(4))).toEqual([1, 1, 1])
  })

  it("compileRetryPolicy validates backoffCoefficient is greater than 0", () => {
    expect(() => Backoff.exponential({ factor: 0 })).toThrow(RangeError)
    expect(() => Backoff.exponential({ factor: 0 })).toThrow(/factor/)
  })

  it("compileRetryPolicy validates maximumAttempts is positive", () => {
    expect(() => Backoff.exponential({ maxAttempts: -1 })).toThrow(RangeError)
    expect(() => Backoff.exponential({ maxAttempts: -1 })).toThrow(/maxAttempts/)
    expect(() => Backoff.bounded(Schedule.forever, { maxAttempts: -1 })).toThrow(/maxAttempts/)
  })

  it("compileRetryPolicy validates maximumAttempts is an integer", () => {
    expect(() => Backoff.exponential({ maxAttempts: 3.1415 })).toThrow(RangeError)
    expect(() => Backoff.exponential({ maxAttempts: 3.1415 })).toThrow(/maxAttempts must be an integer/)
    expect(() => Backoff.bounded(Schedule.forever, { maxAttempts: 3.1415 })).toThrow(/maxAttempts must be an integer/)
  })

  it("compileRetryPolicy drops maximumAttempts when POSITIVE_INFINITY", () => {
    // Infinity is "no limit", as leaving `maxAttempts` out of `Backoff.bounded` is
    const unlimited = Backoff.exponential({ baseDelay: "1 millis", jitter: "none", maxAttempts: Infinity })
    expect(stepDelays(unlimited, inputs(100))).toHaveLength(100)
    expect(stepDelays(Backoff.bounded(Schedule.spaced("1 millis"), { maxAttempts: Infinity }), inputs(100))).toEqual(
      stepDelays(Backoff.bounded(Schedule.spaced("1 millis"), {}), inputs(100))
    )
  })

  it("compileRetryPolicy defaults initialInterval to 1 second", () => {
    // temporal's default initial interval is 1 second; Sturdy's baseDelay is 100 ms (its documented table)
    expect(Duration.toMillis(Backoff.defaults.baseDelay)).toBe(100)
    expect(upper({ jitter: "none" }, 0)).toBe(100)
    expect(Backoff.defaults.factor).toBe(2)
  })

  it.effect("compileRetryPolicy compiles a valid policy", () =>
    Effect.gen(function*() {
      const options: Backoff.Options = {
        maxDelay: "4 millis",
        baseDelay: "3 millis",
        factor: 2,
        maxAttempts: 3,
        jitter: "none"
      }
      const nonRetryableErrorTypes = ["Error"]
      expect(stepDelays(Backoff.exponential(options), inputs(5))).toEqual([3, 4])
      let calls = 0
      const failWith = (type: string) =>
        Effect.suspend(() => (calls++, Effect.fail(new ApplicationFailure({ type, nonRetryable: false }))))
      const retry = Retry.retry({
        schedule: Backoff.exponential(options),
        while: (e: ApplicationFailure) => !nonRetryableErrorTypes.includes(e.type)
      })
      yield* advanceToDone(retry(failWith("Error")))
      expect(calls).toBe(1)
      calls = 0
      yield* advanceToDone(retry(failWith("Other")))
      expect(calls).toBe(3)
    }))
})

describe("temporal common/backoff retrypolicy_test", () => {
  it("TestExponentialBackoff", () => {
    const delays = stepDelays(temporalPolicy("1 second", { maxDelay: "10 seconds" }), inputs(5), 0, 1)
    expect(delays).toHaveLength(5)
    ;[1, 2, 4, 8, 10].forEach((s, i) => expectInRange(delays[i], seconds(s)))
  })

  it("TestNumberOfAttempts", () => {
    const maxAttempts = 5
    const schedule = temporalPolicy("1 second", { maxAttempts })
    expect(stepDelays(schedule, inputs(10))).toHaveLength(maxAttempts - 1)
    expect(laws.attemptsBounded(schedule, maxAttempts - 1, { seed: 3, attempts: 10 })).toBe(true)
  })

  it("TestMaximumInterval", () => {
    const delays = stepDelays(temporalPolicy("1 second", { maxDelay: "10 seconds" }), inputs(10), 0, 2)
    expect(delays).toHaveLength(10)
    ;[1, 2, 4, 8, 10, 10, 10, 10, 10, 10].forEach((s, i) => expectInRange(delays[i], seconds(s)))
  })

  it("TestBackoffCoefficient", () => {
    const delays = stepDelays(temporalPolicy("2 seconds", { factor: 1 }), inputs(10), 0, 3)
    expect(delays).toHaveLength(10)
    for (const delay of delays) expectInRange(delay, seconds(2))
    // factor 1 in Backoff.exponential: a constant delay
    expect(
      stepDelays(
        Backoff.exponential({ baseDelay: "2 seconds", factor: 1, jitter: "none", maxAttempts: 11 }),
        inputs(10)
      )
    )
      .toEqual(Array(10).fill(2000))
  })

  it("TestExpirationInterval", () => {
    // temporal's retrier was created 6 minutes before its first failure, past its 5-minute expiration: done. Sturdy's
    // maxElapsed counts from the first failure, so a first failure at 6 minutes still retries (bound the whole call
    // from its start with `Deadline.withDeadline`)...
    const schedule = Backoff.exponential({
      baseDelay: "2 seconds",
      jitter: "none",
      maxAttempts: Infinity,
      maxElapsed: "5 minutes"
    })
    expect(stepDelays(schedule, inputs(1), 6 * 60_000)).toEqual([2000])
    // ...and none starts more than 5 minutes after it
    const delays = stepDelays(schedule, inputs(100), 6 * 60_000)
    expect(delays.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(5 * 60_000)
    expect(delays.length).toBeLessThan(100)
  })

  it("TestExpirationOverflow", () => {
    const jittered = stepDelays(temporalPolicy("2 seconds", { maxElapsed: "5 seconds" }), inputs(3), 0, 4)
    expectInRange(jittered[0], seconds(2))
    // temporal shortens the second delay to the 3 seconds left; Sturdy makes no retry that would start past maxElapsed:
    // without jitter, 2 s then 4 s would end at 6 s
    const schedule = Backoff.exponential({
      baseDelay: "2 seconds",
      jitter: "none",
      maxAttempts: Infinity,
      maxElapsed: "5 seconds"
    })
    expect(stepDelays(schedule, inputs(3))).toEqual([2000])
    for (let seed = 0; seed < 20; seed++) {
      const delays = stepDelays(temporalPolicy("2 seconds", { maxElapsed: "5 seconds" }), inputs(5), 0, seed)
      expect(delays.reduce((x, y) => x + y, 0)).toBeLessThanOrEqual(5000)
    }
  })

  it("TestDefaultPublishRetryPolicy", () => {
    // without jitter: temporal advances its clock by the nominal delay, not the jittered one
    const schedule = Backoff.exponential({
      baseDelay: "50 millis",
      maxElapsed: "1 minute",
      maxDelay: "10 seconds",
      jitter: "none",
      maxAttempts: Infinity
    })
    // temporal then waits the 7250 ms left before its minute is up; Sturdy stops: 10 s more would pass the minute
    expect(stepDelays(schedule, inputs(20))).toEqual([
      50,
      100,
      200,
      400,
      800,
      1600,
      3200,
      6400,
      10000,
      10000,
      10000,
      10000
    ])
  })

  it("TestNoMaxAttempts", () => {
    const schedule = temporalPolicy("50 millis", { maxElapsed: "1 minute", maxDelay: "10 seconds" })
    const delays = stepDelays(schedule, inputs(100), 0, 5)
    expect(delays.every((d) => d > 0)).toBe(true)
    expect(delays.length).toBeLessThan(100) // the expiration ends it
    expect(laws.totalBounded(schedule, 60_000, { seed: 5, attempts: 100 })).toBe(true)
  })

  it("TestUnbounded", () => {
    // no cap, no limit: 50 ms × 2⁹⁹ is held to the longest timer rather than overflowing
    const schedule = Backoff.exponential({
      baseDelay: "50 millis",
      maxDelay: Infinity,
      maxAttempts: Infinity,
      jitter: "none"
    })
    const delays = stepDelays(schedule, inputs(100))
    expect(delays).toHaveLength(100)
    expect(delays.every((d) => d > 0 && d <= TIMER_MAX)).toBe(true)
    expect(laws.capHolds(temporalPolicy("50 millis", {}), TIMER_MAX, { seed: 6, attempts: 100 })).toBe(true)
  })

  it("TestErrorDependentPolicy", () => {
    const twoSecondError = new Error("two seconds")
    const threeSecondError = new Error("two seconds")
    const delayForError = (_retry: number, err: Error) =>
      err === twoSecondError ? seconds(2) : err === threeSecondError ? seconds(3) : seconds(1)
    const schedule = Backoff.bounded(Backoff.fromDelay(delayForError), { maxAttempts: 4 })
    expect(stepDelays(schedule, [new Error("other error"), twoSecondError, threeSecondError, threeSecondError]))
      .toEqual([
        1000,
        2000,
        3000
      ])
  })

  it("TestConstantDelayPolicy", () => {
    const schedule = Backoff.bounded(Backoff.fromDelay(() => seconds(2)), { maxAttempts: 4 })
    expect(stepDelays(schedule, inputs(4))).toEqual([2000, 2000, 2000])
  })
})

describe("temporal common/retrypolicy retry_policy_test", () => {
  // TestIsRetryableFailure's application-failure rows: `nonRetryableErrorTypes` and the failure's own flag as `while`
  const isRetryable = (nonRetryableTypes: ReadonlyArray<string>) => (failure: ApplicationFailure) =>
    !failure.nonRetryable && !nonRetryableTypes.includes(failure.type)
  const rows: ReadonlyArray<{
    readonly name: string
    readonly failure: ApplicationFailure
    readonly nonRetryableTypes: ReadonlyArray<string>
    readonly retryable: boolean
  }> = [
    {
      name: "application failure marked non-retryable",
      failure: new ApplicationFailure({ type: "", nonRetryable: true }),
      nonRetryableTypes: [],
      retryable: false
    },
    {
      name: "retryable application failure",
      failure: new ApplicationFailure({ type: "type", nonRetryable: false }),
      nonRetryableTypes: [],
      retryable: true
    },
    {
      name: "application failure with different type excluded",
      failure: new ApplicationFailure({ type: "type", nonRetryable: false }),
      nonRetryableTypes: ["otherType"],
      retryable: true
    },
    {
      name: "application failure type excluded",
      failure: new ApplicationFailure({ type: "type", nonRetryable: false }),
      nonRetryableTypes: ["otherType", "type"],
      retryable: false
    },
    {
      name: "application failure type solely excluded",
      failure: new ApplicationFailure({ type: "type", nonRetryable: false }),
      nonRetryableTypes: ["type"],
      retryable: false
    }
  ]
  for (const row of rows) {
    it.effect(`TestIsRetryableFailure: ${row.name}`, () =>
      Effect.gen(function*() {
        let calls = 0
        const reasons: Array<Retry.Reason> = []
        yield* advanceToDone(Retry.retry(Effect.suspend(() => (calls++, Effect.fail(row.failure))), {
          schedule: Backoff.exponential({ baseDelay: "1 second", jitter: "none", maxAttempts: 3 }),
          while: isRetryable(row.nonRetryableTypes),
          onAttempt: (a) => Effect.sync(() => reasons.push(a.reason))
        }))
        expect(calls).toBe(row.retryable ? 3 : 1)
        expect(reasons.at(-1)).toBe(row.retryable ? "exhausted" : "not-retryable")
      }))
  }

  it("TestEnsureRetryPolicyDefaults: default fields are set", () => {
    // temporal: 1 s, 100 s, × 2, 120 attempts (its test's settings); Sturdy's documented defaults
    expect(Duration.toMillis(Backoff.defaults.baseDelay)).toBe(100)
    expect(Duration.toMillis(Backoff.defaults.maxDelay)).toBe(10_000)
    expect(Backoff.defaults.factor).toBe(2)
    expect(Backoff.defaults.maxAttempts).toBe(3)
    expect(stepDelays(Backoff.exponential({ jitter: "none" }), inputs(5))).toEqual([100, 200])
  })

  it("TestEnsureRetryPolicyDefaults: non-default InitialIntervalInSeconds is not set", () => {
    // temporal scales the default maximum interval with the initial one (100 ×: 200 s); Sturdy's maxDelay stays 10 s
    expect(upper({ baseDelay: "2 seconds", jitter: "none" }, 10)).toBe(10_000)
    expect(upper({ baseDelay: "2 seconds", jitter: "none" }, 0)).toBe(2000)
  })

  it("TestValidateRetryPolicy: nil policy is okay", () => {
    expect(() => Backoff.exponential()).not.toThrow()
    expect(() => Retry.retry(Effect.void)).not.toThrow()
  })

  it("TestValidateRetryPolicy: maxAttempts is 1, coefficient < 1", () => {
    // temporal skips the other checks when one attempt disables retries; Sturdy checks every option
    expect(() => Backoff.exponential({ factor: 0.5, maxAttempts: 1 })).toThrow(/factor/)
    expect(() => Backoff.exponential({ factor: 1, maxAttempts: 1 })).not.toThrow()
  })

  it("TestValidateRetryPolicy: initial interval negative", () => {
    expect(() => Backoff.exponential({ baseDelay: "-22 seconds" })).toThrow(RangeError)
    expect(() => Backoff.exponential({ baseDelay: "-22 seconds" })).toThrow(/baseDelay/)
    expect(() => Backoff.exponential({ baseDelay: -22_000 })).toThrow(/baseDelay/)
  })

  it("TestValidateRetryPolicy: coefficient < 1", () => {
    expect(() => Backoff.exponential({ factor: 0.8 })).toThrow(RangeError)
    expect(() => Backoff.exponential({ factor: 0.8 })).toThrow(/factor/)
  })

  it("TestValidateRetryPolicy: maximum interval in seconds is negative", () => {
    expect(() => Backoff.exponential({ factor: 2, maxDelay: "-2 seconds" })).toThrow(RangeError)
    expect(() => Backoff.exponential({ factor: 2, maxDelay: "-2 seconds" })).toThrow(/maxDelay/)
    expect(() => Backoff.bounded(Schedule.forever, { maxDelay: "-2 seconds" })).toThrow(/maxDelay/)
  })

  it("TestValidateRetryPolicy: maximum interval in less than initial interval", () => {
    // temporal refuses it; Sturdy caps every delay at maxDelay
    const schedule = Backoff.exponential({ factor: 2, maxDelay: "5 seconds", baseDelay: "10 seconds", jitter: "none" })
    expect(stepDelays(schedule, inputs(3))).toEqual([5000, 5000])
  })

  it("TestValidateRetryPolicy: maximum attempts negative", () => {
    expect(() => Backoff.exponential({ factor: 2, maxAttempts: -3 })).toThrow(RangeError)
    expect(() => Backoff.exponential({ factor: 2, maxAttempts: -3 })).toThrow(/maxAttempts/)
  })
})

describe("temporal service/history/workflow retry_test", () => {
  it.effect("Test_NonRetriableErrors: when non-retriable error provided should fail with non retriable failure", () =>
    Effect.gen(function*() {
      const failure = new ApplicationFailure({ type: "some non-retryable server failure", nonRetryable: true })
      const reasons: Array<Retry.Reason> = []
      const exit = yield* Effect.exit(
        advanceToDone(Retry.retry(Effect.fail(failure), {
          schedule: Backoff.exponential({ baseDelay: "1 second", maxAttempts: 2 }),
          while: (e) => !e.nonRetryable,
          onAttempt: (a) => Effect.sync(() => reasons.push(a.reason))
        })).pipe(Effect.flatten)
      )
      expect(exit).toEqual(Exit.fail(failure))
      expect(reasons).toEqual(["not-retryable"])
    }))

  it.effect("Test_NonRetriableErrors: when retriable error provided should proceed to calculate backoff interval", () =>
    Effect.gen(function*() {
      const failure = new ApplicationFailure({ type: "good-reason", nonRetryable: false })
      const reasons: Array<Retry.Reason> = []
      yield* advanceToDone(Retry.retry(Effect.fail(failure), {
        schedule: Backoff.exponential({ baseDelay: "1 second", maxAttempts: 2 }),
        while: (e) => !e.nonRetryable,
        onAttempt: (a) => Effect.sync(() => reasons.push(a.reason))
      }))
      expect(reasons[0]).toBe("backoff")
    }))

  it("Test_nextBackoffInterval: first attempt should use initial backoff", () => {
    expect(upper({ baseDelay: "5 seconds", maxDelay: "10 seconds", factor: 2, jitter: "none" }, 0)).toBe(5000)
    expect(stepDelays(Backoff.exponential({ baseDelay: "5 seconds", jitter: "none", maxAttempts: 5 }), inputs(1)))
      .toEqual([5000])
  })

  it("Test_nextBackoffInterval: negative or 0 attempt should be treated as first", () => {
    // temporal reads attempt -1 as the first; Sturdy's retry numbers start at 0 (attempt − 1) and envelope refuses
    // one below it rather than answer base × 2⁻² (1.25 s here, before the fix)
    const attempt = -1
    expect(() => Backoff.envelope({ baseDelay: "5 seconds", jitter: "none" }, attempt - 1)).toThrow(RangeError)
    expect(() => Backoff.envelope({ baseDelay: "5 seconds", jitter: "none" }, attempt - 1)).toThrow(
      /n must be an integer >= 0/
    )
    expect(upper({ baseDelay: "5 seconds", jitter: "none" }, 0)).toBe(5000)
  })

  it("Test_nextBackoffInterval: n-th retry should be initial * backoff^(n - 1)", () => {
    const attempt = 4
    const options: Backoff.Options = { baseDelay: "2 seconds", maxDelay: "200 seconds", factor: 3, jitter: "none" }
    expect(upper(options, attempt - 1)).toBe(2000 * 3 ** (attempt - 1))
    expect(stepDelays(Backoff.exponential({ ...options, maxAttempts: 5 }), inputs(4))[attempt - 1]).toBe(54_000)
  })

  it("Test_nextBackoffInterval: if retry exceeds max backoff interval should set it to max", () => {
    expect(upper({ baseDelay: "3 seconds", maxDelay: "1 second", factor: 2, jitter: "none" }, 5 - 1)).toBe(1000)
  })

  it("Test_nextBackoffInterval: when max attempts is specified and current exceeds max should return no more retries", () => {
    const schedule = Backoff.exponential({
      baseDelay: "3 seconds",
      maxDelay: "10 seconds",
      jitter: "none",
      maxAttempts: 10
    })
    // after the 10th attempt fails there is no 10th delay
    expect(stepDelays(schedule, inputs(20))).toHaveLength(9)
  })

  it("Test_nextBackoffInterval: when max attempts is set to 0 should keep trying", () => {
    // temporal's 0 means unlimited; Sturdy refuses 0 and spells unlimited `Infinity`
    expect(() => Backoff.exponential({ maxAttempts: 0 })).toThrow(/maxAttempts/)
    const options: Backoff.Options = {
      baseDelay: "2 seconds",
      maxDelay: "30 minutes",
      factor: 2,
      jitter: "none",
      maxAttempts: Infinity
    }
    expect(stepDelays(Backoff.exponential(options), inputs(10))[10 - 1]).toBe(2000 * 2 ** (10 - 1))
  })

  it("Test_nextBackoffInterval: if expiration is not 0 and expected delay beyond expiration should return no more retries", () => {
    const schedule = Backoff.exponential({
      baseDelay: "2 seconds",
      maxDelay: "30 minutes",
      factor: 2,
      jitter: "none",
      maxAttempts: Infinity,
      maxElapsed: "1 minute"
    })
    // 2 + 4 + 8 + 16 = 30 s; the next, 32 s, would start past the minute: no 10th attempt is reached
    expect(stepDelays(schedule, inputs(10))).toEqual([2000, 4000, 8000, 16000])
  })

  it("Test_nextBackoffInterval: if expiration is 0 should retry", () => {
    // the case's assertion (despite its name): an expiration of now is a timeout, no retry
    const schedule = Backoff.exponential({
      baseDelay: "2 seconds",
      jitter: "none",
      maxAttempts: Infinity,
      maxElapsed: 0
    })
    expect(stepDelays(schedule, inputs(10))).toEqual([])
  })
})
