// Ported from cats-retry (cb372/cats-retry, commit 35fe1cf506ab98825c6b95a95262c10b97fe526b),
// modules/core/shared/src/test/scala/retry/RetryPoliciesSuite.scala and FibonacciSuite.scala, one `it` per
// munit `test`/`property`, named after it, against `@sturdy/policy`'s `Backoff` and `Retry`.
//
// Mapping: a cats-retry `RetryPolicy` is a function of a `RetryStatus` (retriesSoFar, cumulativeDelay,
// previousDelay); Sturdy's is a `Schedule` whose state carries the same, so "decideNextRetry at retriesSoFar n" is the
// (n + 1)-th step of a fresh schedule, attempts taking no time (`decisionAt`). `constantDelay(d)` is
// `Backoff.exponential({ baseDelay: d, factor: 1, jitter: "none" })`, `exponentialBackoff(b)` the same with factor 2,
// `fullJitter(b)` with `jitter: "full"` (all without attempt or delay limit), `fibonacciBackoff(b)` is
// `Backoff.bounded(Schedule.fibonacci(b), {})`, `limitRetries(n)` is `Backoff.bounded(fromDelay(() => 0),
// { maxAttempts: n + 1 })` (Sturdy counts the 1st attempt), `capDelay(c, p)` is `Backoff.bounded(p, { maxDelay: c })`,
// `limitRetriesByDelay(t, p)` is Effect's `Schedule.whileOutput` over Backoff's output (the delay chosen), and
// `limitRetriesByCumulativeDelay(t, p)` is `Backoff.bounded(p, { maxElapsed: t })`. `dynamic` (a policy chosen by the
// last result) is `Retry.retry` with a `fromDelay` that reads the failure and a `while` that reads the attempt.
// ScalaCheck's `forAll` is fast-check with a fixed seed; `Random[IO]` is Effect's `Random`, seeded.
//
// Deliberate differences (each test says which): Sturdy refuses at construction a base delay longer than a timer holds
// (2^31 − 1 ms, a `RangeError`) where cats-retry accepts any `FiniteDuration`, and its delays are whole milliseconds.
// `limitRetriesByCumulativeDelay` gives up at cumulative + next >= threshold; Sturdy's `maxElapsed` lets a retry start
// exactly at the limit ("no retry starts later than this"), giving up only above it, as Haskell retry's
// `limitRetriesByCumulativeDelay` does. A cats-retry status is arbitrary (a cumulative delay unrelated to the retries);
// Sturdy's state is what the steps made, so the arbitrary status is reduced to its retry count.
//
// FibonacciSuite tests cats-retry's internal `Fibonacci.fibonacci`; Sturdy has none, so both cases are ported to the
// delays of `Schedule.fibonacci`, raw and under `Backoff.bounded` (where the saturation at Long.MaxValue is Sturdy's
// saturation at the timer's limit).
//
// Not ported: none.
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Retry from "@sturdy/policy/Retry"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Schedule from "effect/Schedule"
import { advanceToDone } from "./utils/advance.js"
import {
  alwaysGiveUp,
  constantDelay,
  decisionAt,
  delaysOf,
  exponentialBackoff,
  fibonacciBackoff,
  fullJitter,
  limitRetries,
  maxTimerMillis
} from "./utils/retryPolicies.js"

// cats-retry's `Arbitrary[RetryStatus]`: retriesSoFar in 0..1000 (the rest of a status is the schedule's own state)
const retriesSoFar = FastCheck.integer({ min: 0, max: 1000 })
const property = { seed: 20261205, numRuns: 100 }

describe("peer cats-retry RetryPoliciesSuite", () => {
  it("constantDelay - always retry with the same delay", () => {
    const policy = constantDelay("1 second")
    FastCheck.assert(FastCheck.property(retriesSoFar, (n) => decisionAt(policy, n) === 1000), property)
  })

  it("exponentialBackoff - start with the base delay and double the delay after each iteration", () => {
    const policy = exponentialBackoff("100 millis")
    expect(decisionAt(policy, 0)).toBe(100)
    expect(decisionAt(policy, 1)).toBe(200)
    expect(decisionAt(policy, 2)).toBe(400)
    expect(decisionAt(policy, 3)).toBe(800)
  })

  it("fibonacciBackoff - start with the base delay and increase the delay in a Fibonacci-y way", () => {
    expect(delaysOf(fibonacciBackoff("100 millis"), 8)).toEqual([100, 100, 200, 300, 500, 800, 1300, 2100])
  })

  it("fullJitter - implement the AWS Full Jitter backoff algorithm", () => {
    const cases = [[0, 100], [1, 200], [2, 400], [3, 800], [4, 1600], [5, 3200]] as const
    for (const [n, expectedMaximumDelay] of cases) {
      // cats-retry draws 1000 fresh policies from fresh generators: here 1000 seeds
      for (let seed = 0; seed < 1000; seed++) {
        const delay = decisionAt(fullJitter("100 millis"), n, seed)
        expect(delay).toBeGreaterThanOrEqual(0)
        expect(delay).toBeLessThan(expectedMaximumDelay)
      }
    }
  })

  it("all built-in policies - never try to create a FiniteDuration of more than Long.MaxValue nanoseconds", () => {
    // cats-retry's generator: a positive Long of nanoseconds for each policy (ScalaCheck's posNum favours small ones)
    const nanos = FastCheck.oneof(
      FastCheck.bigInt({ min: 1n, max: 10n ** 9n }),
      FastCheck.bigInt({ min: 1n, max: 2n ** 63n - 1n })
    ).map((n) => Duration.nanos(n))
    const policy = FastCheck.oneof(
      FastCheck.constant(() => alwaysGiveUp),
      nanos.map((d) => () => constantDelay(d)),
      nanos.map((d) => () => exponentialBackoff(d)),
      FastCheck.integer({ min: 1, max: 2 ** 31 - 1 }).map((n) => () => limitRetries(n)),
      nanos.map((d) => () => fibonacciBackoff(d)),
      nanos.map((d) => () => fullJitter(d))
    )
    FastCheck.assert(
      FastCheck.property(policy, retriesSoFar, FastCheck.integer(), (make, n, seed) => {
        let schedule: Schedule.Schedule<unknown>
        try {
          schedule = make()
        } catch (error) {
          // Sturdy: a base delay a timer cannot hold is refused when the schedule is made, never at a retry
          expect(error).toBeInstanceOf(RangeError)
          expect(String(error)).toContain("exceeds what a timer can hold")
          return
        }
        const decision = decisionAt(schedule, n, seed)
        if (decision !== "GiveUp") {
          expect(Number.isInteger(decision)).toBe(true)
          expect(decision).toBeGreaterThanOrEqual(0)
          expect(decision).toBeLessThanOrEqual(maxTimerMillis)
        }
      }),
      { ...property, numRuns: 300 }
    )
  })

  it("limitRetries - retry with no delay until the limit is reached", () => {
    const limit = 500
    const policy = limitRetries(limit)
    FastCheck.assert(
      FastCheck.property(retriesSoFar, (n) => decisionAt(policy, n) === (n < limit ? 0 : "GiveUp")),
      property
    )
  })

  it("capDelay - limits the maximum delay to the given duration", () => {
    FastCheck.assert(
      FastCheck.property(retriesSoFar, (n) => {
        expect(decisionAt(Backoff.bounded(constantDelay("101 millis"), { maxDelay: "100 millis" }), n)).toBe(100)
        expect(decisionAt(Backoff.bounded(constantDelay("99 millis"), { maxDelay: "100 millis" }), n)).toBe(99)
      }),
      property
    )
  })

  it("limitRetriesByDelay - give up if the underlying policy chooses a delay greater than the threshold", () => {
    const limitByDelay = (threshold: Duration.DurationInput, policy: Schedule.Schedule<Duration.Duration>) =>
      Schedule.whileOutput(policy, Duration.lessThanOrEqualTo(threshold))
    FastCheck.assert(
      FastCheck.property(retriesSoFar, (n) => {
        expect(decisionAt(limitByDelay("100 millis", constantDelay("101 millis")), n)).toBe("GiveUp")
        expect(decisionAt(limitByDelay("100 millis", constantDelay("99 millis")), n)).toBe(99)
      }),
      property
    )
  })

  it("limitRetriesByCumulativeDelay - give up if cumulativeDelay + underlying policy's next delay >= threshold", () => {
    // RetryStatus(retriesSoFar = 5, cumulativeDelay = 400 ms): five retries of 80 ms, then the underlying delay
    const check = (next: number, expected: number | "GiveUp") => {
      const underlying = Backoff.fromDelay((retry) => retry <= 5 ? 80 : next)
      expect(decisionAt(Backoff.bounded(underlying, { maxElapsed: "500 millis" }), 5)).toBe(expected)
    }
    check(98, 98)
    check(99, 99)
    // cats-retry gives up at 400 + 100 >= 500; Sturdy's maxElapsed lets a retry start exactly at the limit
    check(100, 100)
    check(101, "GiveUp")
  })

  it.effect("dynamic - choose the appropriate policy based on the result of the last attempt", () =>
    Effect.gen(function*() {
      class Result extends Data.TaggedError("Result")<{ readonly value: number }> {}
      // 42 → limitRetries(3) (no delay, give up after 3 retries); anything else → constantDelay(1 second)
      const options: Retry.Options<Result> = {
        schedule: Backoff.fromDelay((_retry, failure: Result) => failure.value === 42 ? 0 : 1000),
        while: (failure, attempt) => failure.value !== 42 || attempt - 1 < 3
      }
      const decisions: Array<[number, number, boolean]> = []
      const record = {
        onAttempt: (a: Retry.Attempt<Result>) =>
          Effect.sync(() => void decisions.push([a.attempt - 2, Duration.toMillis(a.delay), a.retrying]))
      }

      // given the value 42, it applies "limit retries": retry 2 is made at once, retry 3 is not
      let calls = 0
      yield* Effect.either(
        Retry.retry(Effect.suspend(() => (calls++, Effect.fail(new Result({ value: 42 })))), { ...options, ...record })
      )
      expect(calls).toBe(4)
      expect(decisions.slice(2)).toEqual([[2, 0, true], [3, 0, false]])

      // given any other value, it applies "constant delay": retry 100 waits 1 second
      decisions.length = 0
      calls = 0
      const other = Effect.suspend(() =>
        ++calls <= 101 ? Effect.fail(new Result({ value: 99 })) : Effect.succeed("done")
      )
      expect(yield* advanceToDone(Retry.retry(other, { ...options, ...record }))).toMatchObject({
        _tag: "Success",
        value: "done"
      })
      expect(decisions[100]).toEqual([100, 1000, true])
    }))
})

describe("peer cats-retry FibonacciSuite", () => {
  it("calculates the Fibonacci sequence", () => {
    // fibonacci(n) for n = 1.. is the n-th delay of Schedule.fibonacci("1 millis") (cats-retry's fibonacci(0) = 0 has
    // no delay: a Fibonacci backoff starts at its base)
    const delays = delaysOf(Schedule.fibonacci("1 millis"), 75)
    expect(delays.slice(0, 7)).toEqual([1, 1, 2, 3, 5, 8, 13])
    expect(delays[74]).toBe(2111485077978050)
  })

  it("should not overflow", () => {
    // cats-retry saturates at Long.MaxValue instead of wrapping to a negative; Sturdy's bounded Fibonacci saturates at
    // the longest wait a timer holds, and never goes negative, NaN or down
    const delays = delaysOf(fibonacciBackoff("1 millis"), 100)
    expect(delays[45]).toBe(1836311903) // fib(46), the last below 2^31 − 1
    expect(delays.slice(46)).toEqual(new Array(54).fill(maxTimerMillis))
    for (let i = 1; i < delays.length; i++) expect(delays[i]).toBeGreaterThanOrEqual(delays[i - 1]!)
  })
})
