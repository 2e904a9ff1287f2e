// AWS's "Exponential Backoff and Jitter" variants as Polly.Contrib.WaitAndRetry tests them (Polly-Contrib/
// Polly.Contrib.WaitAndRetry, commit 7596d2dacf22d88bbd814bc49c28424fb6e921e9):
// `src/Polly.Contrib.WaitAndRetry.Specs/AwsDecorrelatedJitterBackoffSpecs.cs` and `DecorrelatedJitterBackoffV2Specs.cs`,
// one `it` per xUnit `[Fact]`/`[Theory]` (a theory's 1000 seeds in one `it`), named after it, against `@sturdy/policy`'s
// `Backoff.exponential` stepped with `stepDelays`.
// Mapping: `AwsDecorrelatedJitterBackoff(minDelay, maxDelay, retryCount, seed)` is `Backoff.exponential({ jitter:
// "decorrelated", baseDelay: minDelay, maxDelay, maxAttempts: retryCount + 1 })` with `Random.make(seed)` (both are AWS's
// `sleep = min(cap, random(base, sleep × 3))`; Polly.Contrib clamps the ceiling before drawing, AWS and Sturdy after, so
// the distributions differ but the range [minDelay, maxDelay] is the same). `DecorrelatedJitterBackoffV2(median, n)`
// (Polly's own formula, around a median first delay) has no Sturdy formula; it is mapped to `"decorrelated"` with
// `baseDelay: median`, as the Polly v8 port does: the bad-input and count cases carry over, and the range cases assert
// Sturdy's own envelope (`Backoff.envelope`: [base, min(maxDelay, base × 3ⁿ⁺¹)]) in place of V2's
// `median × (2ᵗ⁺¹ − 2ᵗ⁻¹)` bound, which a decorrelated draw (up to 3× the previous) may exceed. `fastFirst` (an
// immediate first retry) has no Sturdy option (the first retry waits `baseDelay`); it is composed as
// `Schedule.andThen(Schedule.once, ...)`.
// Deliberate differences: `maxDelay < minDelay` throws in Polly.Contrib (ArgumentOutOfRangeException naming maxDelay);
// Sturdy caps every delay at `maxDelay` (as p-retry, Polly v8 and tenacity do; see their ports). A `retryCount` of 0
// is `maxAttempts: 1`, and -1 (`maxAttempts: 0`) is refused as a RangeError naming maxAttempts.
// Not ported: ConcurrentRandomSpecs (.NET thread safety of the generator), and the non-jitter specs of the same
// repository (ConstantBackoffSpecs, LinearBackoffSpecs, ExponentialBackoffSpecs), outside this file's subject.
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import { laws } from "@sturdy/testing/ScheduleKit"
import * as Duration from "effect/Duration"
import * as Schedule from "effect/Schedule"
import { stepDelays } from "./utils/stepDelays.js"

const maxTimer = 2 ** 31 - 1
const steps = (n: number) => Array.from({ length: n }, () => undefined)
const ms = (d: Duration.Duration) => Duration.toMillis(d)

/** Polly.Contrib's `AwsDecorrelatedJitterBackoff(minDelay, maxDelay, retryCount)` */
const awsDecorrelated = (minDelay: Duration.DurationInput, maxDelay: Duration.DurationInput, retryCount: number) =>
  Backoff.exponential({ jitter: "decorrelated", baseDelay: minDelay, maxDelay, maxAttempts: retryCount + 1 })

/** Polly.Contrib's `DecorrelatedJitterBackoffV2(medianFirstRetryDelay, retryCount)`, as Sturdy's decorrelated jitter */
const decorrelatedV2Options = (median: Duration.DurationInput, retryCount: number): Backoff.Options => ({
  jitter: "decorrelated",
  baseDelay: median,
  maxDelay: Infinity,
  maxAttempts: retryCount + 1
})

describe("Polly.Contrib.WaitAndRetry AwsDecorrelatedJitterBackoffSpecs", () => {
  it("Backoff_WithMinDelayLessThanZero_ThrowsException", () => {
    // new TimeSpan(-1): one tick, 100 ns, below zero. Written as a number or string (as configuration gives it): an
    // Effect `Duration.nanos(-100n)` is already zero when built, so nothing is left to refuse
    expect(() => awsDecorrelated(-0.0001, 0, 3)).toThrow(RangeError)
    expect(() => awsDecorrelated(-0.0001, 0, 3)).toThrow(/baseDelay/)
    expect(() => awsDecorrelated("-100 nanos", 0, 3)).toThrow(/baseDelay/)
  })

  it("Backoff_WithMaxDelayLessThanMinDelay_ThrowsException", () => {
    // Polly.Contrib throws (naming maxDelay); Sturdy caps every delay at maxDelay: no wait
    for (let seed = 0; seed < 10; seed++) {
      expect(stepDelays(awsDecorrelated(1, 0, 3), steps(3), 0, seed)).toEqual([0, 0, 0])
    }
  })

  it("Backoff_WithRetryCountLessThanZero_ThrowsException", () => {
    expect(() => awsDecorrelated(1, 2, -1)).toThrow(RangeError)
    expect(() => awsDecorrelated(1, 2, -1)).toThrow(/maxAttempts/)
  })

  it("Backoff_WithRetryEqualToZero_ResultIsEmpty", () => {
    expect(stepDelays(awsDecorrelated(1, 2, 0), steps(3), 0, 1)).toEqual([])
  })

  it("Backoff_WithFastFirstEqualToTrue_ResultIsZero", () => {
    // an immediate first retry, then retryCount − 1 decorrelated delays, each in [minDelay, maxDelay]
    const retryCount = 3
    for (let seed = 0; seed < 20; seed++) {
      const result = stepDelays(
        Schedule.andThen(Schedule.once, awsDecorrelated(1, 2, retryCount - 1)),
        steps(10),
        0,
        seed
      )
      expect(result).toHaveLength(retryCount)
      expect(result[0]).toBe(0)
      for (const d of result.slice(1)) {
        expect(d).toBeGreaterThanOrEqual(1)
        expect(d).toBeLessThanOrEqual(2)
      }
    }
  })

  it("Backoff_ResultIsInRange", () => {
    const retryCount = 3
    for (let seed = 0; seed < 1000; seed++) {
      const result = stepDelays(awsDecorrelated(10, 100, retryCount), steps(10), 0, seed)
      expect(result).toHaveLength(retryCount)
      for (const d of result) {
        expect(d).toBeGreaterThanOrEqual(10)
        expect(d).toBeLessThanOrEqual(100)
      }
    }
    expect(laws.capHolds(awsDecorrelated(10, 100, retryCount), 100, { seed: 7, attempts: 10 })).toBe(true)
    expect(laws.attemptsBounded(awsDecorrelated(10, 100, retryCount), retryCount, { seed: 7, attempts: 10 })).toBe(true)
    expect(laws.deterministic(awsDecorrelated(10, 100, retryCount), { seed: 7, attempts: 10 })).toBe(true)
  })
})

describe("Polly.Contrib.WaitAndRetry DecorrelatedJitterBackoffV2Specs", () => {
  it("Backoff_WithMeanFirstDelayLessThanZero_ThrowsException", () => {
    expect(() => Backoff.exponential(decorrelatedV2Options("-100 nanos", 3))).toThrow(RangeError)
    expect(() => Backoff.exponential(decorrelatedV2Options(-0.0001, 3))).toThrow(/baseDelay/)
  })

  it("Backoff_WithRetryCountLessThanZero_ThrowsException", () => {
    expect(() => Backoff.exponential(decorrelatedV2Options("1 second", -1))).toThrow(/maxAttempts/)
  })

  it("Backoff_WithRetryEqualToZero_ResultIsEmpty", () => {
    expect(stepDelays(Backoff.exponential(decorrelatedV2Options("2 seconds", 0)), steps(3), 0, 1)).toEqual([])
  })

  it("Backoff_WithFastFirstEqualToTrue_ResultIsZero", () => {
    const retryCount = 10
    const options = decorrelatedV2Options("2 seconds", retryCount - 1)
    const result = stepDelays(Schedule.andThen(Schedule.once, Backoff.exponential(options)), steps(20), 0, 1)
    expect(result).toHaveLength(retryCount)
    expect(result[0]).toBe(0)
    result.slice(1).forEach((d, n) => {
      const { lower, upper } = Backoff.envelope(options, n)
      expect(d).toBeGreaterThanOrEqual(ms(lower))
      expect(d).toBeLessThanOrEqual(ms(upper))
    })
  })

  it("Backoff_ResultIsInRange", () => {
    const retryCount = 6
    const options = decorrelatedV2Options("3 seconds", retryCount)
    for (let seed = 0; seed < 1000; seed++) {
      const result = stepDelays(Backoff.exponential(options), steps(10), 0, seed)
      expect(result).toHaveLength(retryCount)
      result.forEach((d, n) => {
        const { lower, upper } = Backoff.envelope(options, n)
        expect(d).toBeGreaterThanOrEqual(0)
        expect(d).toBeGreaterThanOrEqual(ms(lower))
        expect(d).toBeLessThanOrEqual(ms(upper))
      })
    }
  })

  it("Backoff_should_not_overflow_to_give_negative_timespan", () => {
    // https://github.com/Polly-Contrib/Polly.Contrib.WaitAndRetry/issues/24: 100 retries from 1 s never go negative;
    // Sturdy's saturate at what a timer holds
    const delays = stepDelays(Backoff.exponential(decorrelatedV2Options("1 second", 100)), steps(100), 0, 1)
    expect(delays).toHaveLength(100)
    for (const d of delays) {
      expect(Number.isFinite(d)).toBe(true)
      expect(d).toBeGreaterThanOrEqual(1000)
      expect(d).toBeLessThanOrEqual(maxTimer)
    }
  })
})
