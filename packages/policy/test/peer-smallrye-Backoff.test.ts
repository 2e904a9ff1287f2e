// Ported from SmallRye Fault Tolerance (smallrye/smallrye-fault-tolerance, commit 5066307cd9021e850c3ac4dda8b352707fbb8722),
// implementation/core/src/test/java/io/smallrye/faulttolerance/core/retry/: ConstantBackOffTest.java,
// ExponentialBackOffTest.java and FibonacciBackOffTest.java, one `it` per SmallRye case, named after it.
// Mapping: `backOff.getInMillis(null)` called in turn is the delays of the schedule stepped as a retry would
// (`stepDelays`). `new ExponentialBackOff(initialDelay, factor, Jitter.ZERO, maxDelay)` is `Backoff.exponential({
// baseDelay: initialDelay, factor, maxDelay, jitter: "none" })` (`Long.MAX_VALUE` is no cap: `maxDelay: Infinity`);
// `new ConstantBackOff(delay, ..)` is the same with `factor: 1`; `new FibonacciBackOff(initialDelay, Jitter.ZERO,
// maxDelay)` is `Backoff.bounded(Schedule.fibonacci(initialDelay), { maxDelay })`. An `IllegalArgumentException` from
// a constructor is a `RangeError` from `Backoff.exponential`. `RandomJitter(j)` (a uniform ± j added to the delay) is
// Sturdy's `jitter: "equal"` with a delay of 2j: see the differences.
// Deliberate differences (each test says which): Sturdy's jitter only shortens a delay (module doc of Backoff.ts),
// where SmallRye's RandomJitter adds or removes up to j; `baseDelay` equal to or above `maxDelay` is accepted (every
// delay is capped by `maxDelay`) where SmallRye's constructors refuse it; Effect's `Schedule.fibonacci(d)` goes d, d,
// 2d, 3d, ... where SmallRye's goes d, 2d, 3d, 5d, ...
// Not ported: the `FixedJitter` cases (positiveDelay_fixedJitter, zeroDelay_fixedJitter,
// exponentialSequence_fixedJitter, fibonacciSequence_fixedJitter: a constant added to every delay, which Sturdy's
// jitter modes do not have) and FixedJitterTest.java / RandomJitterTest.java (a jitter object and its validation:
// Sturdy's jitter is a mode of the schedule, not a value); the `nullJitter` cases (Java nulls; a TypeScript `jitter`
// is a literal type); FibonacciBackOffTest's negativeInitialDelay / initialDelay*ThanMaxDelay (no Fibonacci
// constructor of Sturdy's own: `Schedule.fibonacci` is Effect's).
import { describe, expect, it } from "@effect/vitest"
import { Backoff } from "@sturdy/policy"
import * as Schedule from "effect/Schedule"
import { stepDelays } from "./utils/stepDelays.js"

const getInMillis = (schedule: Schedule.Schedule<unknown>, times: number) =>
  stepDelays(schedule, Array.from({ length: times }, () => null))

const constant = (delay: number, jitter: Backoff.Jitter = "none") =>
  Backoff.exponential({ baseDelay: delay, factor: 1, jitter, maxDelay: Infinity, maxAttempts: Infinity })

describe("peer SmallRye ConstantBackOffTest", () => {
  it("positiveDelay_zeroJitter", () => {
    expect(getInMillis(constant(100), 100)).toEqual(Array(100).fill(100))
  })

  it("positiveDelay_randomJitter", () => {
    // SmallRye: 100 ± 50, in [50, 150]; Sturdy's jitter only shortens: "equal" jitter on 100 is in [50, 100]
    const delays = getInMillis(constant(100, "equal"), 100)
    expect(delays).toHaveLength(100)
    for (const delay of delays) expect(delay >= 50 && delay <= 100).toBe(true)
    expect(new Set(delays).size).toBeGreaterThan(1)
  })

  it("zeroDelay_zeroJitter", () => {
    expect(getInMillis(constant(0), 100)).toEqual(Array(100).fill(0))
  })

  it("zeroDelay_randomJitter", () => {
    // SmallRye: in [0, 50]; Sturdy's jitter only shortens a delay, and there is none to shorten
    expect(getInMillis(constant(0, "equal"), 100)).toEqual(Array(100).fill(0))
  })

  it("negativeDelay", () => {
    expect(() => constant(-1)).toThrow(RangeError)
  })
})

describe("peer SmallRye ExponentialBackOffTest", () => {
  const exponential = (initialDelay: number, factor: number, maxDelay: number) =>
    Backoff.exponential({ baseDelay: initialDelay, factor, jitter: "none", maxDelay, maxAttempts: Infinity })

  it("exponentialSequence", () => {
    expect(getInMillis(exponential(1, 2, Infinity), 11)).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024])
  })

  it("negativeInitialDelay", () => {
    expect(() => exponential(-1, 1, 2)).toThrow(RangeError)
  })

  it("negativeFactor", () => {
    expect(() => exponential(1, -1, 2)).toThrow(RangeError)
  })

  it("zeroFactor", () => {
    expect(() => exponential(1, 0, 2)).toThrow(RangeError)
  })

  it("initialDelayEqualToMaxDelay", () => {
    // SmallRye refuses it (IllegalArgumentException); Sturdy accepts it: a constant delay of 2 ms
    expect(getInMillis(exponential(2, 1, 2), 5)).toEqual([2, 2, 2, 2, 2])
  })

  it("initialDelayGreaterThanMaxDelay", () => {
    // SmallRye refuses it (IllegalArgumentException); Sturdy accepts it and caps every delay at maxDelay
    expect(getInMillis(exponential(3, 1, 2), 5)).toEqual([2, 2, 2, 2, 2])
  })
})

describe("peer SmallRye FibonacciBackOffTest", () => {
  it("fibonacciSequence", () => {
    // SmallRye: 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144; Effect's fibonacci starts 1, 1 (deliberate difference)
    expect(getInMillis(Backoff.bounded(Schedule.fibonacci("1 millis"), {}), 12)).toEqual([
      1,
      1,
      2,
      3,
      5,
      8,
      13,
      21,
      34,
      55,
      89,
      144
    ])
  })
})
