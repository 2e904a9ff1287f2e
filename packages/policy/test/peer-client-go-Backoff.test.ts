// Ported from kubernetes/client-go (commit 32ce75a7d6bc6960fd048d3d1e3b34185418d8c8): `util/flowcontrol/backoff_test.go`
// (the per-key `flowcontrol.Backoff`; the token-bucket throttle is in `peer-client-go-flowcontrol.test.ts`), one `it` per
// Go test function, named after it, against `@sturdy/policy`'s `Backoff` schedules stepped with `stepDelays`.
// Option mapping: `NewFakeBackOff(initial, max, clock)` for one key is `Backoff.exponential({ baseDelay: initial,
// factor: 2, maxDelay: max, jitter: "none", maxAttempts: Infinity })`: `Get(id)` before any `Next` is 0 (the first
// attempt does not wait), and the `Get` after the n-th `Next` is the delay before retry n; `Reset(id)` is starting a new
// `Retry.retry` (each call steps the schedule from its initial state); `NewFakeBackOffWithJitter(.., maxJitterFactor)`
// is `jitter: "equal"` (Sturdy's narrowest random mode).
// Deliberate differences: client-go's jitter lengthens a delay by up to `maxJitterFactor × delay` and grows from the
// jittered delay; Sturdy's jitter only shortens a delay within its envelope t(n) (`Backoff.envelope` gives the bounds),
// and the envelope itself is never jittered; at the cap client-go's delay is the max, Sturdy's is in [max / 2, max].
// Not ported: TestBackoffReset, TestBackoffGC, TestAlternateBackoffGC, TestIsInBackOffSinceUpdate and
// TestAlternateHasExpiredFunc (a shared per-key table with `IsInBackOffSince`, `GC()` of entries idle 2 × max and a
// custom `HasExpiredFunc`: Sturdy has no per-key backoff store; a schedule's state lives in one `Retry.retry` call).
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import { laws } from "@sturdy/testing/ScheduleKit"
import * as Duration from "effect/Duration"
import { stepDelays } from "./utils/stepDelays.js"

const times = (n: number): Array<undefined> => Array.from({ length: n }, () => undefined)

/** `NewFakeBackOff(initial, max, clock)` for one key */
const fakeBackOff = (initial: number, max: number) =>
  Backoff.exponential({ baseDelay: initial, factor: 2, maxDelay: max, jitter: "none", maxAttempts: Infinity })

describe("kubernetes/client-go util/flowcontrol backoff_test.go", () => {
  it("TestSlowBackoff", () => {
    const step = 1000
    const cases = [0, 1, 2, 4, 8, 16, 32, 50, 50, 50]
    const schedule = fakeBackOff(step, 50 * step)
    // `Get` before the first `Next` is 0: the first attempt does not wait; then one delay per retry
    expect([0, ...stepDelays(schedule, times(cases.length - 1))]).toEqual(cases.map((c) => c * step))
    // "Reset cancels backoff": a new retry loop starts again from the initial delay
    expect(stepDelays(schedule, times(1))).toEqual([step])
  })

  it("TestBackoffHighWaterMark", () => {
    const step = 1000
    const maxDuration = 5 * step
    const schedule = fakeBackOff(step, maxDuration)
    // get to backoff = maxDuration, then one more `Next`: the backoff stays at the high watermark
    const delays = stepDelays(schedule, times(maxDuration / step + 2))
    expect(delays.slice(-2)).toEqual([maxDuration, maxDuration])
    expect(laws.capHolds(schedule, maxDuration, { seed: 0, attempts: 64 })).toBe(true)
  })

  it("TestBackoffWithJitter", () => {
    const initial = 100
    const maxDuration = 60_000
    const attempts = 10
    const options: Backoff.Options = {
      baseDelay: initial,
      factor: 2,
      maxDelay: maxDuration,
      jitter: "equal",
      maxAttempts: Infinity
    }
    for (const seed of [0, 1, 2, 3, 4]) {
      const delays = stepDelays(Backoff.exponential(options), times(attempts + 1), 0, seed)
      expect(delays).toHaveLength(attempts + 1)
      delays.forEach((d, n) => {
        // client-go: (prev × 2, prev × 2 + 0.1 × prev] or the max; Sturdy: within the envelope of retry n, never
        // above the max
        const { lower, upper } = Backoff.envelope(options, n)
        expect(d).toBeGreaterThanOrEqual(Math.min(Duration.toMillis(lower), maxDuration))
        expect(d).toBeLessThanOrEqual(Math.min(Duration.toMillis(upper), maxDuration))
      })
      // client-go's configuration is "guaranteed" to reach the max: so is Sturdy's envelope (t(10) = min(60 s, 102.4 s)),
      // but Sturdy jitters below the capped envelope, so the delay there is in [max / 2, max], not the max itself
      expect(Duration.toMillis(Backoff.envelope(options, attempts).upper)).toBe(maxDuration)
      expect(delays[attempts]).toBeGreaterThanOrEqual(maxDuration / 2)
      // jittered: not exactly the envelope
      expect(delays).not.toEqual(delays.map((_, n) => Math.min(initial * 2 ** n, maxDuration)))
    }
  })
})
