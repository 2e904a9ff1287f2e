// The retry policies of slackapi/node-slack-sdk (commit 4322e14f116ac7551073767c533b9aca77fd9552,
// packages/web-api/src/retry-policies.ts, and the table of packages/web-api/README.md), as the delay sequences they
// promise, against `Backoff`. Slack's test suite has no case about these sequences (its tests only use
// `rapidRetryPolicy` to run fast, ported in the repository's `test/peer-slack-web-api.test.ts`): each `it` here is a
// claim of the policy's doc comment, named after the policy, and the numbers are p-retry's delay formula, which
// `WebClient` runs the options through (`calculateDelay` of sindresorhus/p-retry 7.0.0, commit
// e11ca9c9c4a8032182403871593a67a49e948568; Slack depends on p-retry ^8: `round(random × max(minTimeout, 1) ×
// factor^(n−1))`, at most `maxTimeout`, `random` 1, or in [1, 2) with `randomize`; defaults 10 retries, factor 2, 1 s,
// no cap).
//
// Mapping: `retries: n` is `maxAttempts: n + 1`; `max(minTimeout, 1)` is `baseDelay` (default 1 s); `factor` is
// `factor`; `maxTimeout` is `maxDelay` (default none: `Infinity`); `randomize: false` is `jitter: "none"`,
// `randomize: true` a jitter mode (below). The n-th delay is the one `stepDelays` reads from the schedule.
//
// Deliberate differences (each test says which): Sturdy rounds each delay down to a whole millisecond where p-retry
// rounds to the nearest (1000 × 1.96821² = 3873.85 ms waits 3873, p-retry 3874); p-retry's `randomize` multiplies a
// delay by [1, 2), so "about thirty minutes" is the top of a 15-to-30-minute spread, where Sturdy's jitter only
// shortens a delay within its envelope (the spread is 0 to 15 minutes, never longer than the plain sequence); p-retry
// waits at least 1 ms whatever `minTimeout` says, Sturdy's `baseDelay: 0` waits nothing.
//
// Not ported: nothing else; the file has no test cases upstream.
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Duration from "effect/Duration"
import { stepDelays } from "./utils/stepDelays.js"

/** Slack's `RetryOptions` (p-retry's options) */
interface RetryOptions {
  readonly retries?: number
  readonly factor?: number
  readonly minTimeout?: number
  readonly maxTimeout?: number
  readonly randomize?: boolean
}

/** the options as a Sturdy schedule, with `jitter` for `randomize: true` */
const schedule = (o: RetryOptions, jitter: Backoff.Jitter = "full") =>
  Backoff.exponential({
    maxAttempts: (o.retries ?? 10) + 1,
    baseDelay: Math.max(o.minTimeout ?? 1000, 1),
    factor: o.factor ?? 2,
    maxDelay: o.maxTimeout ?? Infinity,
    jitter: o.randomize === true ? jitter : "none"
  })

/** every delay the schedule chooses (more failures than it retries: it stops by itself) */
const delays = (o: RetryOptions, seed = 0, jitter?: Backoff.Jitter) =>
  stepDelays(schedule(o, jitter), Array.from({ length: 20 }, () => undefined), 0, seed)

/** p-retry's delay for retry n (1-based), unrandomized */
const pRetryDelay = (o: RetryOptions, n: number) =>
  Math.min(Math.round(Math.max(o.minTimeout ?? 1000, 1) * (o.factor ?? 2) ** (n - 1)), o.maxTimeout ?? Infinity)

const sum = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0)

// retry-policies.ts
const tenRetriesInAboutThirtyMinutes: RetryOptions = { retries: 10, factor: 1.96821, randomize: true }
const fiveRetriesInFiveMinutes: RetryOptions = { retries: 5, factor: 3.86 }
const rapidRetryPolicy: RetryOptions = { minTimeout: 0, maxTimeout: 1 }

describe("peer slack web-api retry-policies.ts", () => {
  it("tenRetriesInAboutThirtyMinutes", () => {
    // "Retry up to 10 times, over the span of about 30 minutes ... randomization has been added"
    const plain = delays({ ...tenRetriesInAboutThirtyMinutes, randomize: false })
    expect(plain).toHaveLength(10)
    // p-retry's unrandomized delays, but rounded down (3873.85 ms waits 3873 where p-retry waits 3874)
    const exact = Array.from({ length: 10 }, (_, i) => 1000 * 1.96821 ** i)
    expect(plain).toEqual(exact.map(Math.floor))
    expect(plain.map((d, i) => pRetryDelay(tenRetriesInAboutThirtyMinutes, i + 1) - d).every((d) => d === 0 || d === 1))
      .toBe(true)
    // 1 s, 1.97 s, 3.87 s ... 7.9 min: about 15 minutes in all, which p-retry's randomize stretches up to 30
    expect(plain.slice(0, 3)).toEqual([1000, 1968, 3873])
    expect(plain[9]).toBe(Math.floor(1000 * 1.96821 ** 9))
    expect(sum(plain)).toBeGreaterThan(Duration.toMillis("15 minutes"))
    expect(sum(plain) * 2).toBeLessThan(Duration.toMillis("31 minutes"))
    // randomized: Slack's [1, 2) × the plain delay; Sturdy's jitter only shortens it, so the spread is within the
    // plain sequence (full jitter: from 1 ms; equal: from half), never past it
    for (const seed of [0, 1, 2, 3, 4]) {
      const full = delays(tenRetriesInAboutThirtyMinutes, seed, "full")
      const equal = delays(tenRetriesInAboutThirtyMinutes, seed, "equal")
      expect(full).toHaveLength(10)
      expect(equal).toHaveLength(10)
      full.forEach((d, i) => {
        expect(d).toBeGreaterThanOrEqual(1)
        expect(d).toBeLessThanOrEqual(plain[i]!)
      })
      equal.forEach((d, i) => {
        expect(d).toBeGreaterThanOrEqual(Math.floor(plain[i]! / 2))
        expect(d).toBeLessThanOrEqual(plain[i]!)
      })
      expect(sum(full)).toBeLessThanOrEqual(sum(plain))
    }
    // reproducible from the seed
    expect(delays(tenRetriesInAboutThirtyMinutes, 3)).toEqual(delays(tenRetriesInAboutThirtyMinutes, 3))
  })

  it("fiveRetriesInFiveMinutes", () => {
    // "Short & sweet, five retries in five minutes and then bail" (README: "Five attempts in five minutes"; the
    // first attempt makes six)
    const out = delays(fiveRetriesInFiveMinutes)
    expect(out).toEqual([1000, 3860, 14899, 57512, 221998])
    expect(out.map((d, i) => pRetryDelay(fiveRetriesInFiveMinutes, i + 1) - d).every((d) => d === 0 || d === 1))
      .toBe(true)
    // the last retry starts just under five minutes after the first failure
    expect(sum(out)).toBeLessThan(Duration.toMillis("5 minutes"))
    expect(sum(out)).toBeGreaterThan(Duration.toMillis("4.9 minutes"))
  })

  it("rapidRetryPolicy", () => {
    // "just to keep the tests running fast": p-retry's default 10 retries, each at most `maxTimeout` 1 ms, and at
    // least 1 ms (p-retry reads `minTimeout: 0` as 1)
    const out = delays(rapidRetryPolicy)
    expect(out).toEqual(Array.from({ length: 10 }, () => 1))
    expect(out).toEqual(Array.from({ length: 10 }, (_, i) => pRetryDelay(rapidRetryPolicy, i + 1)))
    // Sturdy's own `baseDelay: 0` is no wait at all
    const none = stepDelays(
      Backoff.exponential({ maxAttempts: 11, baseDelay: 0, maxDelay: 1, jitter: "none" }),
      Array.from({ length: 20 }, () => undefined)
    )
    expect(none).toEqual(Array.from({ length: 10 }, () => 0))
  })
})
