// Ported from Polly v8's test/Polly.Core.Tests/Retry/RetryResilienceStrategyTests.cs and RetryHelperTests.cs
// (App-vNext/Polly), one `it` per Polly case (a [Theory] row group as one `it`), named after it.
// Option mapping: Polly's `MaxRetryAttempts` counts retries, Sturdy's `maxAttempts` counts every attempt (Polly's N is
// Sturdy's N + 1); `ShouldHandle` is `while`; `OnRetry` is the `onAttempt` hook with `retrying: true` (Polly's
// `AttemptNumber` 0, 1, 2 is Sturdy's `attempt` 2, 3, 4: the number of the attempt about to be made);
// `DelayGenerator` is `Backoff.fromDelay` (its `retry` is 1-based where Polly's `AttemptNumber` is 0-based), bounded
// by `Backoff.bounded`; Polly's `DelayBackoffType.Linear` with `Delay` d is `fromDelay((n) => n × d)`, `Constant` is
// `fromDelay(() => d)`, `Exponential` without jitter is `Backoff.exponential({ jitter: "none", factor: 2 })`, and
// Polly's exponential WITH jitter (its "DecorrelatedJitterBackoffV2") is Sturdy's `jitter: "decorrelated"` (AWS's
// decorrelated jitter: a different formula, same promise: every delay positive, at most `maxDelay`, random). A .NET
// `CancellationToken` is fiber interruption; a thrown exception is a defect.
// Deliberate differences: Polly retries results as well as exceptions (`ShouldHandle` sees the `Outcome`); Sturdy's
// `Retry` retries typed failures, so a handled "result" is a typed failure here (results are repeated with Effect's
// `repeat`, see the cockatiel port). Polly's ±25 % jitter of `Constant` and `Linear` backoffs has no Sturdy mode
// (a `fromDelay` function draws its own randomness), so "Constant_Jitter_Ok" and "Linear_Jitter_Ok" are not ported.
// Not ported (.NET mechanics): result disposal ("EnsureResultNotDisposed", "EnsureDiscardedResultsDisposed"),
// "IsLastAttempt_Ok" (an internal method), telemetry severities of "Execute_*_EnsureAttemptReported" (ported as the
// reason of the decision instead), "OnRetry_EnsureExecutionTime" (Sturdy's `Attempt` carries no attempt duration),
// "OnRetry_EnsureTelemetry" (ported as the onAttempt count), "IsValidDelay_Ok" and "UnsupportedRetryBackoffType_Throws"
// (an enum's out-of-range value; Sturdy's counterpart, an unknown jitter name, is tested in Backoff.test.ts).
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Retry from "@sturdy/policy/Retry"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import type * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import { advance } from "./utils/advance.js"
import { stepDelays } from "./utils/stepDelays.js"

class InvalidOperation extends Error {}

// A stub: answers each call with the next outcome of `outcomes` (the last one repeats), counting the calls.
const stub = <A, E>(...outcomes: ReadonlyArray<Effect.Effect<A, E>>) => {
  const s: { calls: number; readonly call: Effect.Effect<A, E> } = {
    calls: 0,
    call: Effect.suspend(() => outcomes[Math.min(s.calls++, outcomes.length - 1)]!)
  }
  return s
}

// Steps `schedule` as a retry would (one failure per step), returning the delay of each retry in milliseconds.
const delaysOf = (schedule: Schedule.Schedule<unknown, unknown>, steps: number, seed = 0): Array<number> =>
  stepDelays(schedule, new Array<undefined>(steps).fill(undefined), 0, seed)

// Polly's `DelayBackoffType.Linear` / `Constant` with `Delay` = `millis`
const linear = (millis: number) => Backoff.fromDelay((retry) => retry * millis)
const constant = (millis: number) => Backoff.fromDelay(() => millis)

// Polly's `Attempts()` theory data
const attemptsData = [1, 2, 3, 4, 10, 100, 1_000, 1_024, 1_025]

describe("peer Polly RetryResilienceStrategyTests", () => {
  // Polly: `ExecuteOutcomeAsync(() => throw new ArgumentException())` returns the exception, unretried (its
  // ShouldHandle is false). In Sturdy a thrown exception is a defect, never retried whatever `while` says.
  it.effect("ExecuteAsync_ExceptionInExecution_EnsureResultReturned", () =>
    Effect.gen(function*() {
      let calls = 0
      const exit = yield* Effect.exit(
        Retry.retry(
          Effect.sync(() => {
            calls++
            throw new RangeError("argument")
          }),
          { schedule: Backoff.exponential({ maxAttempts: 4 }), while: () => true }
        )
      )
      expect(Exit.isFailure(exit) && exit.cause._tag === "Die" && exit.cause.defect).toBeInstanceOf(RangeError)
      expect(calls).toBe(1)
    }))

  // Polly: the token is cancelled during the first execution, whose outcome is handled: OnRetry is reported, the
  // call ends with OperationCanceledException and the callback is not run again. Sturdy: the caller interrupts its
  // fiber during the first attempt; the fiber ends interrupted and no second attempt runs.
  it.effect("ExecuteAsync_CanceledDuringExecution_EnsureNotExecutedAgain", () =>
    Effect.gen(function*() {
      let executions = 0
      const fiber = yield* Effect.fork(
        Retry.retry(
          Effect.suspend(() => {
            executions++
            return Effect.zipRight(Effect.sleep("1 second"), Effect.fail("handled"))
          }),
          { schedule: Backoff.exponential({ maxAttempts: 4 }), while: () => true }
        )
      )
      yield* TestClock.adjust("500 millis")
      yield* Fiber.interrupt(fiber)
      yield* TestClock.adjust("1 hour")
      expect(Exit.isInterrupted(yield* Fiber.await(fiber))).toBe(true)
      expect(executions).toBe(1)
    }))

  // Polly: OnRetry cancels the token; the retry is not made. Sturdy: the onAttempt hook interrupts the call.
  it.effect("ExecuteAsync_CanceledAfterExecution_EnsureNotExecutedAgain", () =>
    Effect.gen(function*() {
      const s = stub(Effect.fail("handled"))
      const exit = yield* advance(
        Retry.retry(s.call, {
          schedule: Backoff.exponential({ maxAttempts: 4 }),
          while: () => true,
          onAttempt: (a) => a.retrying ? Effect.interrupt : Effect.void
        })
      )
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(s.calls).toBe(1)
    }))

  // Polly: the token is cancelled when the retry delay (Delay = 2 s) has passed... during the delay; not executed again.
  it.effect("ExecuteAsync_CanceledDuringDelay_EnsureNotExecutedAgain", () =>
    Effect.gen(function*() {
      const s = stub(Effect.fail("handled"))
      const fiber = yield* Effect.fork(
        Retry.retry(s.call, { schedule: Backoff.bounded(constant(2_000), { maxAttempts: 4 }), while: () => true })
      )
      yield* TestClock.adjust("1999 millis")
      yield* Fiber.interrupt(fiber)
      yield* TestClock.adjust("1 hour")
      expect(Exit.isInterrupted(yield* Fiber.await(fiber))).toBe(true)
      expect(s.calls).toBe(1)
    }))

  it.effect("Retry_RetryCount_Respected", () =>
    Effect.gen(function*() {
      let calls = 0
      const s = stub(Effect.fail(0))
      const exit = yield* advance(
        Retry.retry(s.call, {
          // MaxRetryAttempts = 12, no delay
          schedule: Backoff.bounded(constant(0), { maxAttempts: 13 }),
          while: (e) => e === 0,
          onAttempt: (a) => Effect.sync(() => a.retrying && calls++)
        })
      )
      expect(exit).toStrictEqual(Exit.fail(0))
      expect(calls).toBe(12)
      expect(s.calls).toBe(13)
    }))

  it.effect("RetryException_RetryCount_Respected", () =>
    Effect.gen(function*() {
      let calls = 0
      const s = stub<never, Error>(Effect.fail(new InvalidOperation()))
      const exit = yield* advance(
        Retry.retry(s.call, {
          schedule: Backoff.bounded(constant(0), { maxAttempts: 4 }),
          while: (e) => e instanceof InvalidOperation,
          onAttempt: (a) =>
            Effect.sync(() => {
              expect(a.failure).toBeInstanceOf(InvalidOperation)
              if (a.retrying) calls++
            })
        })
      )
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error).toBeInstanceOf(InvalidOperation)
      expect(calls).toBe(3)
    }))

  it.effect("RetryDelayGenerator_Respected", () =>
    Effect.gen(function*() {
      let retries = 0
      let generatedValues = 0
      const exit = yield* advance(
        Retry.retry(Effect.fail("dummy"), {
          schedule: Backoff.bounded(
            Backoff.fromDelay(() => {
              generatedValues++
              return Duration.millis(120)
            }),
            { maxAttempts: 4 }
          ),
          onAttempt: (a) =>
            Effect.sync(() => {
              if (!a.retrying) return
              retries++
              expect(Duration.toMillis(a.delay)).toBe(120)
            })
        })
      )
      expect(exit).toStrictEqual(Exit.fail("dummy"))
      expect(retries).toBe(3)
      expect(generatedValues).toBe(3)
    }))

  // Polly: a zero delay never touches the TimeProvider. Sturdy: the retries complete without the clock moving.
  it.effect("RetryDelayGenerator_ZeroDelay_NoTimeProviderCalls", () =>
    Effect.gen(function*() {
      let retries = 0
      let generatedValues = 0
      const s = stub(Effect.fail("dummy"))
      const fiber = yield* Effect.fork(
        Retry.retry(s.call, {
          schedule: Backoff.bounded(
            Backoff.fromDelay(() => {
              generatedValues++
              return Duration.zero
            }),
            { maxAttempts: 4 }
          ),
          onAttempt: (a) => Effect.sync(() => a.retrying && retries++)
        })
      )
      // no TestClock.adjust: the fiber finishes on its own
      expect(yield* Effect.flip(Fiber.join(fiber))).toBe("dummy")
      expect(retries).toBe(3)
      expect(generatedValues).toBe(3)
      expect(s.calls).toBe(4)
    }))

  it.effect("OnRetry_EnsureCorrectArguments", () =>
    Effect.gen(function*() {
      const attempts: Array<number> = []
      const delays: Array<number> = []
      yield* advance(
        Retry.retry(Effect.fail(0), {
          // BackoffType = Linear with Polly's default Delay of 2 seconds, MaxRetryAttempts = 3
          schedule: Backoff.bounded(linear(2_000), { maxAttempts: 4 }),
          onAttempt: (a) =>
            Effect.sync(() => {
              if (!a.retrying) return
              expect(a.failure).toBe(0)
              attempts.push(a.attempt)
              delays.push(Duration.toMillis(a.delay))
            })
        })
      )
      // Polly's AttemptNumber 0, 1, 2 (of the attempt that failed) is Sturdy's 2, 3, 4 (of the attempt to be made)
      expect(attempts).toEqual([2, 3, 4])
      expect(delays).toEqual([2_000, 4_000, 6_000])
    }))

  it.effect("MaxDelay_EnsureRespected", () =>
    Effect.gen(function*() {
      const delays: Array<number> = []
      yield* advance(
        Retry.retry(Effect.fail(0), {
          schedule: Backoff.bounded(linear(2_000), { maxAttempts: 4, maxDelay: "123 millis" }),
          onAttempt: (a) => Effect.sync(() => a.retrying && delays.push(Duration.toMillis(a.delay)))
        })
      )
      expect(delays).toEqual([123, 123, 123])
    }))

  // Polly reports each attempt with a `Handled` flag; Sturdy reports the decision after each failure, its `reason`
  // saying whether the failure was handled.
  it.effect("Execute_NotHandledOriginalAttempt_EnsureAttemptReported", () =>
    Effect.gen(function*() {
      const reported: Array<Retry.Attempt<number>> = []
      const exit = yield* advance(
        Retry.retry(Effect.fail(0), {
          while: () => false,
          onAttempt: (a) => Effect.sync(() => reported.push(a))
        })
      )
      expect(exit).toStrictEqual(Exit.fail(0))
      expect(reported.map((a) => [a.attempt, a.retrying, a.reason])).toEqual([[2, false, "not-retryable"]])
    }))

  it.effect("Execute_NotHandledFinalAttempt_EnsureAttemptReported", () =>
    Effect.gen(function*() {
      const reported: Array<Retry.Attempt<number>> = []
      // the original attempt is handled, the retried one is not
      const exit = yield* advance(
        Retry.retry(Effect.fail(0), {
          schedule: Backoff.bounded(constant(0), { maxAttempts: 2 }),
          while: (_, attempt) => attempt === 1,
          onAttempt: (a) => Effect.sync(() => reported.push(a))
        })
      )
      expect(exit).toStrictEqual(Exit.fail(0))
      expect(reported.map((a) => [a.attempt, a.retrying, a.reason])).toEqual([
        [2, true, "backoff"],
        [3, false, "not-retryable"]
      ])
    }))

  it.effect("Execute_HandledFinalAttempt_EnsureAttemptReported", () =>
    Effect.gen(function*() {
      const reported: Array<Retry.Attempt<number>> = []
      const exit = yield* advance(
        Retry.retry(Effect.fail(0), {
          schedule: Backoff.bounded(constant(0), { maxAttempts: 2 }),
          while: () => true,
          onAttempt: (a) => Effect.sync(() => reported.push(a))
        })
      )
      expect(exit).toStrictEqual(Exit.fail(0))
      expect(reported.map((a) => [a.attempt, a.retrying, a.reason])).toEqual([
        [2, true, "backoff"],
        [3, false, "exhausted"]
      ])
    }))

  it.effect("OnRetry_EnsureTelemetry", () =>
    Effect.gen(function*() {
      let onRetry = 0
      yield* advance(
        Retry.retry(Effect.fail(0), {
          schedule: Backoff.bounded(linear(2_000), { maxAttempts: 4 }),
          while: (e) => e === 0,
          onAttempt: (a) => Effect.sync(() => a.retrying && onRetry++)
        })
      )
      expect(onRetry).toBe(3)
    }))

  it.effect("RetryDelayGenerator_EnsureCorrectArguments", () =>
    Effect.gen(function*() {
      const attempts: Array<number> = []
      yield* advance(
        Retry.retry(Effect.fail(0), {
          schedule: Backoff.bounded(
            Backoff.fromDelay((retry, failure: number) => {
              expect(failure).toBe(0)
              attempts.push(retry)
              return Duration.zero
            }),
            { maxAttempts: 4 }
          )
        })
      )
      // Polly's 0-based AttemptNumber 0, 1, 2 is fromDelay's 1-based retry 1, 2, 3
      expect(attempts).toEqual([1, 2, 3])
    }))

  // Polly: a DelayGenerator that returns null falls back to the backoff's delay. Sturdy: a `delayHint` of none keeps
  // the schedule's delay.
  it.effect("RetryDelayGenerator_ReturnsNull_EnsureDefaultRetry", () =>
    Effect.gen(function*() {
      const delays: Array<number> = []
      yield* advance(
        Retry.retry(Effect.fail(0), {
          schedule: Backoff.bounded(constant(2), { maxAttempts: 3 }),
          delayHint: () => Option.none(),
          onAttempt: (a) => Effect.sync(() => a.retrying && delays.push(Duration.toMillis(a.delay)))
        })
      )
      expect(delays).toEqual([2, 2])
    }))

  // Polly's default ShouldHandle handles every exception except OperationCanceledException. Sturdy's default `while`
  // retries every typed failure; an interruption (cancellation) is never retried.
  it.effect("ShouldHandle default: cancellation is not retried", () =>
    Effect.gen(function*() {
      const s = stub<never, string>(Effect.interrupt)
      const exit = yield* advance(Retry.retry(s.call))
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(s.calls).toBe(1)
    }))
})

describe("peer Polly RetryHelperTests", () => {
  it("Constant_Ok", () => {
    expect(delaysOf(constant(0), 3)).toEqual([0, 0, 0])
    expect(delaysOf(constant(1_000), 3)).toEqual([1_000, 1_000, 1_000])
  })

  it("Linear_Ok", () => {
    expect(delaysOf(linear(0), 3)).toEqual([0, 0, 0])
    expect(delaysOf(linear(1_000), 3)).toEqual([1_000, 2_000, 3_000])
  })

  it("Exponential_Ok", () => {
    const exponential = (baseDelay: number) =>
      Backoff.exponential({ baseDelay: Duration.millis(baseDelay), jitter: "none", maxAttempts: 4 })
    expect(delaysOf(exponential(0), 3)).toEqual([0, 0, 0])
    expect(delaysOf(exponential(1_000), 3)).toEqual([1_000, 2_000, 4_000])
  })

  // Polly: Delay 10 s, MaxDelay 1 s, attempt 2, every backoff type with and without jitter → exactly 1 s (its jitter is
  // applied before the cap). Sturdy caps after jitter too: every mode gives at most 1 s, and exactly 1 s where the
  // jitter cannot go below the cap ("none"; "decorrelated", whose lower bound is the 10 s base).
  it("MaxDelay_Ok", () => {
    for (const jitter of ["none", "full", "equal", "decorrelated"] as const) {
      for (let seed = 0; seed < 20; seed++) {
        const delays = delaysOf(
          Backoff.exponential({ baseDelay: "10 seconds", maxDelay: "1 second", jitter, maxAttempts: 4 }),
          3,
          seed
        )
        expect(delays).toHaveLength(3)
        for (const delay of delays) {
          expect(delay).toBeLessThanOrEqual(1_000)
          if (jitter === "none" || jitter === "decorrelated") expect(delay).toBe(1_000)
        }
      }
    }
    expect(delaysOf(Backoff.bounded(linear(10_000), { maxDelay: "1 second" }), 3)).toEqual([1_000, 1_000, 1_000])
    expect(delaysOf(Backoff.bounded(constant(10_000), { maxDelay: "1 second" }), 3)).toEqual([1_000, 1_000, 1_000])
  })

  it("MaxDelay_DelayLessThanMaxDelay_Respected", () => {
    expect(delaysOf(Backoff.bounded(constant(1_000), { maxDelay: "2 seconds" }), 3)).toEqual([1_000, 1_000, 1_000])
  })

  // Polly: an exponential delay that overflows is TimeSpan.MaxValue. Sturdy: no delay exceeds what a timer can hold,
  // 2^31 − 1 ms (an infinite maxDelay means none).
  it("GetRetryDelay_Overflow_ReturnsMaxTimeSpan", () => {
    const delays = delaysOf(
      Backoff.exponential({ baseDelay: "1 day", maxDelay: Duration.infinity, jitter: "none", maxAttempts: Infinity }),
      1_001
    )
    expect(delays).toHaveLength(1_001)
    expect(delays[1_000]).toBe(2 ** 31 - 1)
    expect(delays.every((d) => d > 0 && d <= 2 ** 31 - 1)).toBe(true)
  })

  it("GetRetryDelay_OverflowWithMaxDelay_ReturnsMaxDelay", () => {
    const delays = delaysOf(
      Backoff.exponential({ baseDelay: "1 day", maxDelay: "2 days", jitter: "none", maxAttempts: Infinity }),
      1_001
    )
    expect(delays[1_000]).toBe(Duration.toMillis("2 days"))
  })

  it("GetRetryDelay_Exponential_Is_Positive_When_No_Maximum_Delay", () => {
    for (const attempt of attemptsData) {
      const delays = delaysOf(
        Backoff.exponential({
          baseDelay: "2 seconds",
          maxDelay: Duration.infinity,
          jitter: "decorrelated",
          maxAttempts: Infinity
        }),
        attempt + 2
      )
      expect(delays[attempt]).toBeGreaterThan(0)
      expect(delays[attempt + 1]).toBeGreaterThan(0)
    }
  })

  it("GetRetryDelay_Exponential_Does_Not_Exceed_MaxDelay", () => {
    for (const attempt of attemptsData) {
      const delays = delaysOf(
        Backoff.exponential({
          baseDelay: "2 seconds",
          maxDelay: "30 seconds",
          jitter: "decorrelated",
          maxAttempts: Infinity
        }),
        attempt + 2
      )
      for (const delay of delays.slice(attempt)) {
        expect(delay).toBeGreaterThan(0)
        expect(delay).toBeLessThanOrEqual(30_000)
      }
    }
  })

  // Polly compares its jittered exponential with Polly.Contrib.WaitAndRetry's: same count, all positive.
  it("ExponentialWithJitter_Ok", () => {
    for (const count of attemptsData) {
      const delays = delaysOf(
        Backoff.exponential({ baseDelay: "7800 millis", jitter: "decorrelated", maxAttempts: count + 1 }),
        count + 5
      )
      expect(delays).toHaveLength(count)
      expect(delays.every((d) => d > 0)).toBe(true)
    }
  })

  it("ExponentialWithJitter_EnsureRandomness", () => {
    const options: Backoff.Options = {
      baseDelay: "7800 millis",
      maxDelay: Duration.infinity,
      jitter: "decorrelated",
      maxAttempts: 101
    }
    const delays1 = delaysOf(Backoff.exponential(options), 100, 1)
    const delays2 = delaysOf(Backoff.exponential(options), 100, 2)
    expect(delays1).not.toEqual(delays2)
    expect(delays1.every((d) => d > 0)).toBe(true)
    expect(delays2.every((d) => d > 0)).toBe(true)
  })

  // Polly: every delay of DecorrelatedJitterBackoffV2 lies in [0, base × 2^attempt × 4). Sturdy's decorrelated jitter
  // states its own bounds: within `Backoff.envelope` (at least the base, at most min(maxDelay, base × 3ⁿ⁺¹)), and
  // positive for a positive base.
  it.prop(
    "DecorrelatedJitterBackoffV2_Meets_Specification",
    [FastCheck.integer({ min: 1, max: 3_600_000 }), FastCheck.integer({ min: 1, max: 64 }), FastCheck.integer()],
    ([baseMillis, attempt, seed]) => {
      const options: Backoff.Options = {
        baseDelay: Duration.millis(baseMillis),
        maxDelay: Duration.infinity,
        jitter: "decorrelated",
        maxAttempts: Infinity
      }
      delaysOf(Backoff.exponential(options), attempt, seed).forEach((delay, n) => {
        const { lower, upper } = Backoff.envelope(options, n)
        expect(delay).toBeGreaterThan(0)
        expect(delay).toBeGreaterThanOrEqual(Duration.toMillis(lower))
        expect(delay).toBeLessThanOrEqual(Duration.toMillis(upper))
      })
    },
    { fastCheck: { seed: 42, numRuns: 500 } }
  )
})

// test/Polly.Core.Tests/Issues/IssuesTests.InfiniteRetry_2163.cs: Delay 2 s, MaxDelay 30 s, jitter, unbounded retries;
// succeeding after 2,049 attempts, every delay is positive (no overflow to zero or below). Here with Sturdy's default
// jitter ("full") and Polly's jittered exponential ("decorrelated").
describe("peer Polly IssuesTests", () => {
  it("InfiniteRetry_Delay_Does_Not_Overflow_2163", () => {
    for (const jitter of ["full", "decorrelated"] as const) {
      for (const seed of [1, 2, 3]) {
        const delays = delaysOf(
          Backoff.exponential({ baseDelay: "2 seconds", maxDelay: "30 seconds", jitter, maxAttempts: Infinity }),
          2_049,
          seed
        )
        expect(delays).toHaveLength(2_049)
        expect(Math.min(...delays)).toBeGreaterThan(0)
        expect(Math.max(...delays)).toBeLessThanOrEqual(30_000)
      }
    }
  })

  // through Retry, past the 1,024th retry where 2ⁿ overflows (fewer attempts than Polly's 2,049 to keep the test quick)
  it.effect("InfiniteRetry_Delay_Does_Not_Overflow_2163 (through Retry)", () =>
    Effect.gen(function*() {
      let attempts = 0
      const fiber = yield* Effect.fork(
        Retry.retry(
          Effect.suspend(() => (attempts >= 1_100 ? Effect.succeed(true) : Effect.fail(false))),
          {
            schedule: Backoff.exponential({ baseDelay: "2 seconds", maxDelay: "30 seconds", maxAttempts: Infinity }),
            onAttempt: (a) =>
              Effect.sync(() => {
                expect(Duration.toMillis(a.delay)).toBeGreaterThan(0)
                attempts++
              })
          }
        )
      )
      while (Option.isNone(yield* Fiber.poll(fiber))) yield* TestClock.adjust("1 day")
      expect(yield* Fiber.join(fiber)).toBe(true)
      expect(attempts).toBe(1_100)
    }))
})
