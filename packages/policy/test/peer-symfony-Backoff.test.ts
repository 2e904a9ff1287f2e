// Ported from Symfony HttpClient's GenericRetryStrategyTest (symfony/http-client, the read-only split of
// symfony/symfony's src/Symfony/Component/HttpClient, commit 274e2f6886b43a36f8bd5dfeb67215f7ebf9e291,
// Tests/Retry/GenericRetryStrategyTest.php; the strategy: Retry/GenericRetryStrategy.php): its delay cases,
// testGetDelay (one `it` per data set of provideDelay) and testJitter (one per data set of provideJitter). Its
// shouldRetry cases run over HTTP in the repository's `test/peer-symfony-retryable-http-client.test.ts`.
//
// Mapping: `getDelay()` with `retry_count` n is the (n + 1)-th delay the schedule chooses (`stepDelays`: n = 0 is the
// wait before the first retry). `new GenericRetryStrategy([], $delayMs, $multiplier, $maxDelayMs, 0)` is
// `Backoff.exponential({ baseDelay: $delayMs, factor: $multiplier, maxDelay: $maxDelayMs, jitter: "none" })`, with
// `maxDelay: Infinity` for Symfony's `$maxDelayMs = 0` (no maximum) and `maxAttempts: Infinity` (the count of retries is
// `RetryableHttpClient`'s, not the strategy's). Symfony's `$jitter = 1` (the delay ± 100 %) is Sturdy's `"full"`
// jitter (a delay drawn in [0, t(n)]); its `random_int` is Effect's `Random` service, one seed per draw. Both apply
// `maxDelay` after the jitter.
//
// Deliberate differences (each test says which): Sturdy's jitter only shortens a delay (module doc of Backoff.ts),
// so a jittered delay is never above t(n) = delay × multiplierⁿ, where Symfony's ranges over [0, 2 t(n)] (its
// testJitter asks for a maximum ≥ 1000 ms and a spread ≥ 1000 ms over 50 draws of t = 1000 ms; here the maximum is at
// most t(n) and the spread is above half of it).
//
// Not ported: nothing; every case of the two data providers has its `it`.
import { describe, expect, it } from "@effect/vitest"
import { Backoff } from "@sturdy/policy"
import * as Duration from "effect/Duration"
import { stepDelays } from "./utils/stepDelays.js"

/** `getDelay()` at `retry_count` = `previousRetries`, for `new GenericRetryStrategy([], delay, multiplier, maxDelay, 0)` */
const getDelay = (delay: number, multiplier: number, maxDelay: number, previousRetries: number, seed = 0) =>
  stepDelays(
    Backoff.exponential({
      baseDelay: delay,
      factor: multiplier,
      maxDelay: maxDelay === 0 ? Infinity : maxDelay,
      jitter: "none",
      maxAttempts: Infinity
    }),
    Array.from({ length: previousRetries + 1 }, () => null),
    0,
    seed
  )[previousRetries]

describe("peer symfony Tests/Retry/GenericRetryStrategyTest.php", () => {
  // delay, multiplier, maxDelay, previousRetries, expectedDelay
  const provideDelay: ReadonlyArray<readonly [number, number, number, number, number, string?]> = [
    [1000, 1, 5000, 0, 1000],
    [1000, 1, 5000, 1, 1000],
    [1000, 1, 5000, 2, 1000],
    [1000, 2, 10000, 0, 1000],
    [1000, 2, 10000, 1, 2000],
    [1000, 2, 10000, 2, 4000],
    [1000, 2, 10000, 3, 8000],
    [1000, 2, 10000, 4, 10000, "max hit"],
    [1000, 2, 0, 4, 16000, "no max"],
    [1000, 3, 10000, 0, 1000],
    [1000, 3, 10000, 1, 3000],
    [1000, 3, 10000, 2, 9000],
    [1000, 1, 500, 0, 500, "max hit immediately"],
    [0, 2, 10000, 0, 0, "never a delay"],
    [0, 2, 10000, 1, 0, "never a delay"]
  ]

  for (const [delay, multiplier, maxDelay, previousRetries, expected, note] of provideDelay) {
    const name = `testGetDelay: ${delay}, ${multiplier}, ${maxDelay}, ${previousRetries} -> ${expected}`
    it(note === undefined ? name : `${name} (${note})`, () => {
      expect(getDelay(delay, multiplier, maxDelay, previousRetries)).toBe(expected)
    })
  }

  // multiplier, previousRetries
  const provideJitter: ReadonlyArray<readonly [number, number]> = [
    [1, 0],
    [1.1, 2]
  ]

  for (const [multiplier, previousRetries] of provideJitter) {
    it(`testJitter: ${multiplier}, ${previousRetries}`, () => {
      // new GenericRetryStrategy([], 1000, multiplier, 0, 1): 50 draws of the delay at retry_count previousRetries
      const options = {
        baseDelay: 1000,
        factor: multiplier,
        maxDelay: Infinity,
        jitter: "full",
        maxAttempts: Infinity
      } as const
      const draws = Array.from(
        { length: 50 },
        (_, seed) =>
          stepDelays(Backoff.exponential(options), Array.from({ length: previousRetries + 1 }, () => null), 0, seed)[
            previousRetries
          ]!
      )
      const t = Math.floor(1000 * multiplier ** previousRetries)
      const { lower, upper } = Backoff.envelope(options, previousRetries)
      expect([lower, upper].map(Duration.toMillis)).toEqual([0, t])
      const min = Math.min(...draws)
      const max = Math.max(...draws)
      // as Symfony: the smallest draw is at most 1000 ms
      expect(min).toBeLessThanOrEqual(1000)
      // Difference: Symfony's draws reach 1000 ms and above (up to 2 t) and spread over 1000 ms at least; Sturdy's
      // never pass t(n), never fall to no wait, and spread over more than half of [0, t(n)]
      expect(max).toBeLessThanOrEqual(t)
      expect(min).toBeGreaterThanOrEqual(1)
      expect(max - min).toBeGreaterThan(t / 2)
      // a randomised delay, not one value
      expect(new Set(draws).size).toBeGreaterThan(25)
    })
  }
})
