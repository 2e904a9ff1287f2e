// Ported from failsafe-rs' src/backoff.rs `mod tests` (dmexe/failsafe-rs, commit
// 5bf89775ea320f288f11935f3b5526e63a865d2a), one `it` per case, named after it.
// Mapping: `backoff::exponential(start, max)` is `Backoff.exponential({ baseDelay: start, maxDelay: max, jitter: "none",
// maxAttempts: Infinity })` (failsafe-rs' iterators never end; its growth is start × 2^attempt, capped at max, as
// Sturdy's default factor 2); `full_jittered` and `equal_jittered` are the `"full"` and `"equal"` jitter modes, whose
// delay n has the same envelope (`random(0, t(n))` and `t(n) / 2 + random(0, t(n) / 2)`); `constant(d)` is
// `Backoff.fromDelay(() => d)` (Sturdy's schedule from a delay function); `backoff.take(n)` is the delays of n steps
// (`utils/stepDelays.ts`).
// Deliberate differences (each test says which): failsafe-rs draws from a seeded XorShift generator, Sturdy from
// Effect's `Random`, so the jittered sequences cannot be the same numbers: each of failsafe-rs' expected values is
// checked to lie in Sturdy's envelope for its step, and Sturdy's own seeded sequence to lie there too. failsafe-rs
// counts whole seconds (an equal-jittered first delay of 5 s is 2 + random(0, 2) s, integer halves), Sturdy whole
// milliseconds (2.5 s + random(0, 2.5 s)); and Sturdy's full jitter never waits nothing while t(n) ≥ 1 ms, where
// failsafe-rs' full jitter may draw 0 s.
// Not ported: none of the module's cases is left out.
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Duration from "effect/Duration"
import { stepDelays } from "./utils/stepDelays.js"

const seconds = (millis: number) => millis / 1000
const steps = (n: number) => Array.from({ length: n }, () => undefined)

// failsafe-rs' expected value `peer` (whole seconds) lies in Sturdy's envelope of step n, read in whole seconds
const withinEnvelope = (options: Backoff.Options, peer: ReadonlyArray<number>) =>
  peer.forEach((value, n) => {
    const { lower, upper } = Backoff.envelope(options, n)
    expect(value).toBeGreaterThanOrEqual(Math.floor(seconds(Duration.toMillis(lower))))
    expect(value).toBeLessThanOrEqual(seconds(Duration.toMillis(upper)))
  })

describe("peer failsafe-rs backoff.rs", () => {
  it("exponential_growth", () => {
    const backoff = Backoff.exponential({
      baseDelay: "10 seconds",
      maxDelay: "100 seconds",
      jitter: "none",
      maxAttempts: Infinity
    })
    expect(stepDelays(backoff, steps(6)).map(seconds)).toEqual([10, 20, 40, 80, 100, 100])
  })

  it("full_jittered_growth", () => {
    const options: Backoff.Options = {
      baseDelay: "10 seconds",
      maxDelay: "300 seconds",
      jitter: "full",
      maxAttempts: Infinity
    }
    // failsafe-rs' sequence from its seeded generator, each within the envelope [0, min(300, 10 × 2ⁿ)] s; its two
    // draws of 0 s are below Sturdy's floor of 1 ms (a full-jittered delay is never none), read in whole seconds
    const peer = [0, 0, 33, 53, 80, 6, 132, 121, 234, 79]
    withinEnvelope(options, peer)
    const sturdy = stepDelays(Backoff.exponential(options), steps(10), 0, 20261205)
    expect(sturdy).toHaveLength(10)
    sturdy.forEach((delay, n) => {
      const upper = Math.min(300_000, 10_000 * 2 ** n)
      expect(delay).toBeGreaterThanOrEqual(1)
      expect(delay).toBeLessThanOrEqual(upper)
    })
    // jittered: not the envelope's upper bounds
    expect(sturdy).not.toEqual(sturdy.map((_, n) => Math.min(300_000, 10_000 * 2 ** n)))
  })

  it("equal_jittered_growth", () => {
    const options: Backoff.Options = {
      baseDelay: "5 seconds",
      maxDelay: "300 seconds",
      jitter: "equal",
      maxAttempts: Infinity
    }
    // failsafe-rs' sequence, each within [t(n) / 2, t(n)] for t(n) = min(300, 5 × 2ⁿ) s (its first, 2 s, is the
    // integer half of 5 s; Sturdy's half is 2.5 s)
    const peer = [2, 5, 10, 37, 63, 133, 225, 153, 216, 170]
    withinEnvelope(options, peer)
    const sturdy = stepDelays(Backoff.exponential(options), steps(10), 0, 20261205)
    sturdy.forEach((delay, n) => {
      const t = Math.min(300_000, 5_000 * 2 ** n)
      expect(delay).toBeGreaterThanOrEqual(t / 2)
      expect(delay).toBeLessThanOrEqual(t)
    })
  })

  it("constant_growth", () => {
    const backoff = Backoff.fromDelay(() => "3 seconds")
    expect(stepDelays(backoff, steps(3)).map(seconds)).toEqual([3, 3, 3])
  })
})
