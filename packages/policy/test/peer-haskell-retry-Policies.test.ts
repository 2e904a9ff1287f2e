// Ported from Haskell's retry (Soostone/retry, commit 524f206096c088a82674798b27b133c8c63e3182),
// test/Tests/Control/Retry.hs: its policy groups "Policy is a monoid", "policy transformers", "capDelay" and
// "limitRetriesByCumulativeDelay", one `it` per `testProperty`, named after it, against `@sturdy/policy`'s `Backoff`
// and `@sturdy/testing`'s ScheduleKit laws. (The groups that run an action are in peer-haskell-retry-Recovering.)
//
// Mapping: a `RetryPolicyM` is a function of the `RetryStatus`; Sturdy's is a `Schedule` whose state carries the
// same, so "the policy at iteration n" is the (n + 1)-th step of a fresh schedule (`simulatePolicy n p` is the first n
// delays, attempts taking no time). Haskell's delays are microseconds, Sturdy's milliseconds: the ranges keep their
// numbers with the unit changed, and `maxBound` is the longest delay Sturdy asks for, 2^31 − 1 ms (a timer's limit).
// `p <> q` (both must retry, the longer delay) is `Schedule.intersect`; `mempty` is `retryPolicy (const (Just 0))`,
// `constantDelay(0)`; `retryPolicy (const Nothing)` never retries (`Backoff.bounded(..., { maxAttempts: 1 })`);
// `constantDelay d` is `Backoff.exponential({ baseDelay: d, factor: 1, jitter: "none" })` without limits,
// `exponentialBackoff b` the same with factor 2, `fibonacciBackoff b` is `Backoff.bounded(Schedule.fibonacci(b), {})`,
// `limitRetries n` is Effect's `Schedule.recurs(n)` (in "capDelay") or `Backoff.bounded(fromDelay(() => 0),
// { maxAttempts: n + 1 })`, `capDelay c p` is `Backoff.bounded(p, { maxDelay: c })`,
// `limitRetriesByCumulativeDelay m p` is `Backoff.bounded(p, { maxElapsed: m })`. Hedgehog's `forAll` is fast-check
// with a fixed seed.
//
// Deliberate differences: the monoid laws compare the first eight decisions (Haskell evaluates one arbitrary
// `RetryStatus`, with an iteration up to `maxBound`; the policies of those laws are constant, so any eight retries
// stand for all). "positive, nonzero exponential backoff is always incrementing" runs under `limitRetriesByDelay
// maxBound`, which gives up once a delay would pass `maxBound`; Sturdy's backoff never gives up on a delay's size but
// holds it at the timer's limit (documented: "no delay ever exceeds 2^31 − 1 ms"), so the delays increase strictly
// until that limit and then stay on it.
//
// Not ported: none of these groups.
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import { laws } from "@sturdy/testing/ScheduleKit"
import * as FastCheck from "effect/FastCheck"
import * as Schedule from "effect/Schedule"
import {
  alwaysGiveUp,
  constantDelay,
  delaysOf,
  exponentialBackoff,
  fibonacciBackoff,
  maxTimerMillis
} from "./utils/retryPolicies.js"

type Policy = Schedule.Schedule<unknown, unknown>

const append = (a: Policy, b: Policy): Policy => Schedule.intersect(a, b)
const mempty: Policy = constantDelay(0)
/** `retryPolicy (const delay)`: `Nothing` never retries, `Just d` always waits `d` */
const retryPolicy = (delay: number | null): Policy => delay === null ? alwaysGiveUp : constantDelay(delay)
const genDelay = FastCheck.option(FastCheck.integer({ min: 0, max: maxTimerMillis }), { nil: null })
const eqv = (left: Policy, right: Policy): void => {
  expect(delaysOf(left, 8)).toEqual(delaysOf(right, 8))
}

/** `genScalingPolicy`: policies that increase on each iteration */
const genScalingPolicy = (baseDelay: number) =>
  FastCheck.constantFrom(
    { name: "exponentialBackoff", make: () => exponentialBackoff(baseDelay) },
    { name: "fibonacciBackoff", make: () => fibonacciBackoff(baseDelay) }
  )
const scaling = FastCheck.integer({ min: 1, max: 100 }).chain((baseDelay) =>
  FastCheck.tuple(FastCheck.constant(baseDelay), genScalingPolicy(baseDelay))
)
const property = { seed: 20261205, numRuns: 100 }

describe("peer Haskell retry: Policy is a monoid", () => {
  it("left identity", () => {
    FastCheck.assert(
      FastCheck.property(genDelay, (delay) => eqv(append(mempty, retryPolicy(delay)), retryPolicy(delay))),
      property
    )
  })

  it("right identity", () => {
    FastCheck.assert(
      FastCheck.property(genDelay, (delay) => eqv(append(retryPolicy(delay), mempty), retryPolicy(delay))),
      property
    )
  })

  it("associativity", () => {
    FastCheck.assert(
      FastCheck.property(genDelay, genDelay, genDelay, (a, b, c) => {
        const [x, y, z] = [retryPolicy(a), retryPolicy(b), retryPolicy(c)]
        eqv(append(x, append(y, z)), append(append(x, y), z))
      }),
      property
    )
  })
})

describe("peer Haskell retry: policy transformers", () => {
  it("always produces positive delay with positive constants (no rollover)", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.integer({ min: 0, max: maxTimerMillis }), (delay) => {
        const delays = delaysOf(exponentialBackoff(delay), 1000)
        expect(delays).toHaveLength(1000)
        expect(Math.min(...delays)).toBeGreaterThanOrEqual(0)
        expect(Math.max(...delays)).toBeLessThanOrEqual(maxTimerMillis)
      }),
      property
    )
  })

  it("positive, nonzero exponential backoff is always incrementing", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.integer({ min: 1, max: maxTimerMillis }), (delay) => {
        const delays = delaysOf(exponentialBackoff(delay), 1000)
        expect([...delays].sort((a, b) => a - b)).toEqual(delays)
        // strictly increasing below the timer's limit (Haskell: `length (group delays) === length delays`), where
        // Haskell's `limitRetriesByDelay maxBound` gives up and Sturdy stays
        const belowLimit = delays.filter((d) => d < maxTimerMillis)
        expect(new Set(belowLimit).size).toBe(belowLimit.length)
        expect(delays.slice(belowLimit.length).every((d) => d === maxTimerMillis)).toBe(true)
      }),
      property
    )
  })
})

describe("peer Haskell retry: capDelay", () => {
  it("respects limitRetries", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.integer({ min: 1, max: 100 }),
        FastCheck.integer({ min: 1, max: maxTimerMillis }),
        (retries, cap) => {
          const policy = Backoff.bounded(Schedule.recurs(retries), { maxDelay: cap })
          const delays = delaysOf(policy, retries + 1)
          // the last retry is made without delay; the one after it is not made
          expect(delays[retries - 1]).toBe(0)
          expect(delays).toHaveLength(retries)
        }
      ),
      property
    )
  })

  it("does not allow any delays higher than the given delay", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.integer({ min: 1, max: maxTimerMillis }),
        scaling,
        FastCheck.integer(),
        (cap, [, basePolicy], seed) =>
          laws.capHolds(Backoff.bounded(basePolicy.make(), { maxDelay: cap }), cap, { seed, attempts: 100 })
      ),
      property
    )
  })
})

describe("peer Haskell retry: limitRetriesByCumulativeDelay", () => {
  it("never exceeds the given cumulative delay", () => {
    FastCheck.assert(
      FastCheck.property(
        scaling,
        FastCheck.integer({ min: 1, max: 10_000 }),
        FastCheck.integer(),
        ([, basePolicy], cumulativeDelayMax, seed) => {
          const policy = Backoff.bounded(basePolicy.make(), { maxElapsed: cumulativeDelayMax })
          // ScheduleKit steps as a retry does with attempts taking no time: elapsed time is the cumulative delay
          return laws.totalBounded(policy, cumulativeDelayMax, { seed, attempts: 100 })
        }
      ),
      property
    )
  })
})
