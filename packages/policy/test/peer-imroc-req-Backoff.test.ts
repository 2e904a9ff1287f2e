// The delay sequences of imroc/req's retry interval setters, as `retry_test.go` configures them, stepped as pure
// schedules (`stepDelays`) against `@sturdy/policy`'s `Backoff`. Source: imroc/req (v3) at
// 5197ba77c8f023ee5296c5b8cc9243123aebe515, `retry_test.go` (the interval each test sets) and `retry.go` /
// `request.go` (what that interval is: `backoffInterval`, `defaultGetRetryInterval`, `prepareRetry` calling
// `GetRetryInterval(resp, RetryAttempt)` after incrementing it, so the first retry's `attempt` is 1). The same tests
// over HTTP are `test/peer-imroc-req-retry.test.ts`. One `it` per Go test.
// Mapping: `SetRetryCount(n)` is `maxAttempts: n + 1`; `SetRetryBackoffInterval(min, max)` is
// `Backoff.exponential({ baseDelay: min, maxDelay: max, jitter: "equal" })` (req: `t/2 + rand(t/2)` with
// `t = min(max, min × 2^attempt)`); `SetRetryInterval(f)` is `Backoff.fromDelay(f)` (both 1-based);
// `SetRetryFixedInterval(d)` and req's default interval (100 ms) are `fromDelay(() => d)`; each bounded by
// `Backoff.bounded({ maxAttempts })`.
// Deliberate differences: req's first backoff retry is `attempt` 1, envelope `2 × min`, and waits within
// `[min, 2 × min)`; Sturdy's first retry waits at most `baseDelay` (`t(0) = baseDelay`), within `[t/2, t]`: jitter only
// shortens a delay.
// Not ported: the tests whose interval never produces a wait (`TestRetryOverride`'s client backoff 1..10 ms, replaced
// by the request's fixed 2 ms, which is ported; `TestRetryCancelledContext`'s 1..5 s, never reached), and every case
// without an interval setter (conditions, hooks, bodies: the HTTP port).
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Duration from "effect/Duration"
import { stepDelays } from "./utils/stepDelays.js"

/** `Backoff.envelope` in milliseconds */
const envelopeMillis = (options: Backoff.Options, n: number) => {
  const { lower, upper } = Backoff.envelope(options, n)
  return { lower: Duration.toMillis(lower), upper: Duration.toMillis(upper) }
}

/** testRetry's three retries (SetRetryCount(3)), stepped with no particular failure */
const threeRetries = [undefined, undefined, undefined, undefined]

describe("imroc/req retry_test.go", () => {
  it("TestRetryBackOff", () => {
    // SetRetryBackoffInterval(10ms, 1s), SetRetryCount(3): three delays, the fourth failure ends retrying
    const options = { baseDelay: "10 millis", maxDelay: "1 second", jitter: "equal", maxAttempts: 4 } as const
    // req's envelopes: 20, 40, 80 ms; Sturdy's: 10, 20, 40 ms (the first retry waits at most baseDelay)
    expect([0, 1, 2].map((n) => envelopeMillis(options, n))).toEqual([
      { lower: 5, upper: 10 },
      { lower: 10, upper: 20 },
      { lower: 20, upper: 40 }
    ])
    for (let seed = 0; seed < 50; seed++) {
      const delays = stepDelays(Backoff.exponential(options), threeRetries, 0, seed)
      expect(delays).toHaveLength(3)
      delays.forEach((delay, n) => {
        const { lower, upper } = envelopeMillis(options, n)
        expect(delay).toBeGreaterThanOrEqual(lower)
        expect(delay).toBeLessThanOrEqual(upper)
      })
    }
    // without jitter, the envelopes themselves
    expect(stepDelays(Backoff.exponential({ ...options, jitter: "none" }), threeRetries)).toEqual([10, 20, 40])
  })

  it("TestRetryInterval", () => {
    // `time.Duration(math.Min(2, 0.01 × 2^attempt)) * time.Second`: Go converts the float (0.02, 0.04, 0.08) to an
    // integer before multiplying, so each of the three retries waits nothing
    const goInterval = (attempt: number) => Math.trunc(Math.min(2, 0.01 * 2 ** attempt)) * 1000
    const schedule = Backoff.bounded(Backoff.fromDelay(goInterval), { maxAttempts: 4 })
    expect(stepDelays(schedule, threeRetries)).toEqual([0, 0, 0])
    // the same function without Go's truncation: 0.02, 0.04, 0.08 s
    const exact = Backoff.bounded(Backoff.fromDelay((attempt) => Math.min(2, 0.01 * 2 ** attempt) * 1000), {
      maxAttempts: 4
    })
    expect(stepDelays(exact, threeRetries)).toEqual([20, 40, 80])
  })

  it("TestRetryFixedInterval", () => {
    // SetRetryFixedInterval(1ms), SetRetryCount(3)
    const schedule = Backoff.bounded(Backoff.fromDelay(() => 1), { maxAttempts: 4 })
    expect(stepDelays(schedule, threeRetries)).toEqual([1, 1, 1])
  })

  it("TestAddRetryHook", () => {
    // no interval set: req's default, a fixed 100 ms (defaultGetRetryInterval), SetRetryCount(3)
    const schedule = Backoff.bounded(Backoff.fromDelay(() => 100), { maxAttempts: 4 })
    expect(stepDelays(schedule, threeRetries)).toEqual([100, 100, 100])
  })

  it("TestRetryOverride", () => {
    // the request's SetRetryFixedInterval(2ms) and SetRetryCount(2) replace the client's backoff and count
    const schedule = Backoff.bounded(Backoff.fromDelay(() => 2), { maxAttempts: 3 })
    expect(stepDelays(schedule, threeRetries)).toEqual([2, 2])
  })
})
