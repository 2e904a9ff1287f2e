// Ported from Armeria's backoff tests (line/armeria, commit 8cb6fc168d4808d0d82ca771e3cba62399b41be4,
// core/src/test/java/com/linecorp/armeria/client/retry/: BackoffTest.java, ExponentialBackoffTest.java,
// FibonacciBackoffTest.java, RandomBackoffTest.java, BackoffSpecTest.java), one `it` per Armeria case, named after it;
// a case's `builderForX()` twin is asserted in the same `it` when Sturdy has a second form of it (`Backoff.bounded`).
//
// Mapping: Armeria's `nextDelayMillis(n)` (n = attempts so far, 1-based) is the n-th delay the schedule chooses
// (`stepDelays(...)[n - 1]`), and `-1` (stop) is the schedule being done (fewer delays). `Backoff.exponential(i, m, x)`
// is `Backoff.exponential({ baseDelay: i, maxDelay: m, factor: x, jitter: "none", maxAttempts: Infinity })`;
// `Backoff.fixed(d)` is the same with `factor: 1`; `Backoff.withoutDelay()` is `baseDelay: 0`; `Backoff.fibonacci(i, m)`
// is `Backoff.bounded(Schedule.fibonacci(i), { maxDelay: m })`; `withMaxAttempts(n)` is `maxAttempts: n` (both count
// the first attempt); `withJitter(min, max)` is a jitter mode; Armeria's `Supplier<Random>` is Effect's `Random`
// service (seeded).
//
// Deliberate differences (each test says which): Sturdy's jitter only shortens a delay within its envelope, where
// Armeria's `withJitter(-0.3, 0.3)` also lengthens it by up to 30 %; no delay exceeds what a timer holds (2^31 − 1 ms,
// about 24.8 days), so Armeria's `Long.MAX_VALUE` cap is `maxDelay: Infinity` and its delays past 2^31 − 1 ms are
// capped there, and a `baseDelay` or finite `maxDelay` beyond it is a RangeError; a `baseDelay` above `maxDelay` is
// capped (Armeria's `RandomBackoff`/`ExponentialBackoff` refuse min > max); `Backoff.bounded`'s `maxDelay: 0` is accepted
// (no wait), where Armeria's `FibonacciBackoff` refuses a max delay of 0; Sturdy's defaults are 100 ms, × 2, 10 s, full
// jitter (Armeria's `defaultBackoffSpec` is 200 ms, × 2, 10 s, ±20 %).
//
// Not ported: BackoffTest.unwrap (a wrapper's delegate: Sturdy's options are one value, nothing wraps);
// RandomBackoff's exact values from java.util.Random(1) (a different generator; the seeded reproducibility and the
// range are asserted instead); FibonacciBackoffTest.testConstraintInitialDelay (`Schedule.fibonacci` is Effect's, not
// Sturdy's, constructor); BackoffSpecTest's string cases (defaultBackoffSpec aside: Sturdy has no spec-string format,
// its options are a typed object, read from `Config` by `@sturdy/http`'s `Policy.config`), and in
// backoffWithWrongArguments the jitter-rate bound, the repeated key and the two base backoffs (nothing to repeat or
// combine in one options object).
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Duration from "effect/Duration"
import * as Schedule from "effect/Schedule"
import { stepDelays } from "./utils/stepDelays.js"

/** the first `count` delays (ms) a schedule chooses; fewer when it stops (Armeria's -1) */
const delays = (schedule: Schedule.Schedule<unknown>, count: number, seed = 0) =>
  stepDelays(schedule, Array.from({ length: count }, () => undefined), 0, seed)

const fixed = (millis: number, options: Backoff.Options = {}) =>
  Backoff.exponential({
    baseDelay: millis,
    maxDelay: millis,
    factor: 1,
    jitter: "none",
    maxAttempts: Infinity,
    ...options
  })

const exponential = (initial: number, max: number, factor = 2) =>
  Backoff.exponential({ baseDelay: initial, maxDelay: max, factor, jitter: "none", maxAttempts: Infinity })

const maxTimer = 2 ** 31 - 1

describe("peer armeria BackoffTest", () => {
  it("withoutDelay", () => {
    expect(delays(fixed(0), 3)).toEqual([0, 0, 0])
  })

  it("fixed", () => {
    expect(delays(fixed(100), 3)).toEqual([100, 100, 100])
  })

  it("exponential", () => {
    expect(delays(exponential(10, 50), 5)).toEqual([10, 20, 40, 50, 50])
    expect(delays(exponential(10, 120, 3.0), 5)).toEqual([10, 30, 90, 120, 120])
  })

  it("fibonacci", () => {
    const out = delays(Backoff.bounded(Schedule.fibonacci(10), { maxDelay: 120 }), 7)
    expect(out.slice(0, 4)).toEqual([10, 10, 20, 30])
    expect(out[6]).toBe(120)
  })

  it("withJitter, withJitterBuilder", () => {
    // Armeria's withJitter(-0.3, 0.3) on fixed(1000) gives 1240, 771, 803 (up to +30 %); Sturdy's jitter only shortens
    // a delay within its envelope: "equal" keeps each delay in [500, 1000], never above the fixed delay
    const jittered = fixed(1000, { jitter: "equal" })
    const out = delays(jittered, 3, 1)
    expect(out).toHaveLength(3)
    for (const d of out) {
      expect(d).toBeGreaterThanOrEqual(500)
      expect(d).toBeLessThanOrEqual(1000)
    }
    // the same random supplier (seed) gives the same delays, as Armeria's `new Random(1)` does
    expect(delays(jittered, 3, 1)).toEqual(out)
    expect(new Set(out).size).toBeGreaterThan(1)
  })

  it("withMaxAttempts", () => {
    // nextDelayMillis(1) = 100, nextDelayMillis(2) = -1: one retry, then done
    expect(delays(fixed(100, { maxAttempts: 2 }), 3)).toEqual([100])
  })

  it("withMaxAttemptsBuilder", () => {
    // the wrapper form: any schedule bounded to two attempts in total
    expect(delays(Backoff.bounded(Schedule.spaced(100), { maxAttempts: 2 }), 3)).toEqual([100])
  })
})

describe("peer armeria ExponentialBackoffTest", () => {
  it("normal", () => {
    expect(delays(exponential(10, 120, 3.0), 7)).toEqual([10, 30, 90, 120, 120, 120, 120])
    expect(delays(Backoff.bounded(Schedule.exponential(10, 3.0), { maxDelay: 120 }), 7)).toEqual(
      [10, 30, 90, 120, 120, 120, 120]
    )
  })

  it("nonPrecomputed", () => {
    // Armeria's cap Long.MAX_VALUE is `maxDelay: Infinity` (a finite one past 2^31 − 1 ms is refused); its 30th delay,
    // 10 × 2^29 = 5,368,709,120 ms, is past what a timer holds, so Sturdy's is capped there (documented)
    const out = delays(
      Backoff.exponential({ baseDelay: 10, maxDelay: Infinity, jitter: "none", maxAttempts: Infinity }),
      31
    )
    expect(out.slice(0, 3)).toEqual([10, 20, 40])
    expect(out[27]).toBe(10 * 2 ** 27)
    expect(out[29]).toBe(maxTimer)
    expect(out[30]).toBe(maxTimer)
    expect(() => Backoff.exponential({ baseDelay: 10, maxDelay: Number.MAX_SAFE_INTEGER })).toThrow(/maxDelay/)
  })

  it("overflow", () => {
    // Armeria accepts an initial delay of Long.MAX_VALUE / 3 ms and saturates; Sturdy refuses a baseDelay a timer
    // cannot hold at construction (documented), and the largest it takes saturates at the timer's limit
    expect(() => Backoff.exponential({ baseDelay: Math.floor(Number.MAX_SAFE_INTEGER / 3), maxDelay: Infinity }))
      .toThrow(
        RangeError
      )
    const out = delays(
      Backoff.exponential({
        baseDelay: Math.floor(maxTimer / 3),
        maxDelay: Infinity,
        jitter: "none",
        maxAttempts: Infinity
      }),
      4
    )
    expect(out).toEqual([Math.floor(maxTimer / 3), Math.floor(maxTimer / 3) * 2, maxTimer, maxTimer])
  })
})

describe("peer armeria FibonacciBackoffTest", () => {
  it("testNextDelay", () => {
    const out = delays(Backoff.bounded(Schedule.fibonacci(10), { maxDelay: 120 }), 7)
    expect(out.slice(0, 4)).toEqual([10, 10, 20, 30])
    expect(out[6]).toBe(120)
  })

  it("testLargeNumberOfRetries", () => {
    const out = delays(Backoff.bounded(Schedule.fibonacci(1), {}), 32)
    expect(out.slice(29)).toEqual([832040, 1346269, 2178309])
  })

  it("testOverflow", () => {
    // Armeria saturates at Long.MAX_VALUE; Sturdy's `bounded` never waits longer than a timer holds
    const third = Math.floor(Number.MAX_SAFE_INTEGER / 3)
    expect(delays(Backoff.bounded(Schedule.fibonacci(third), {}), 5)).toEqual([
      maxTimer,
      maxTimer,
      maxTimer,
      maxTimer,
      maxTimer
    ])
  })

  it("testConstraintMaxDelay", () => {
    // Armeria refuses a max delay of 0; Sturdy's `bounded` accepts it (only a negative one is refused, documented):
    // every retry goes at once
    expect(delays(Backoff.bounded(Schedule.fibonacci(10), { maxDelay: 0 }), 3)).toEqual([0, 0, 0])
    expect(() => Backoff.bounded(Schedule.fibonacci(10), { maxDelay: -1 })).toThrow(/maxDelay/)
  })
})

describe("peer armeria RandomBackoffTest", () => {
  it("nextDelayMillis, nextDelayMillisWithBuilder", () => {
    // RandomBackoff(10, 100): a random delay in [10, 100] each time. Sturdy's closest is full jitter over a fixed
    // envelope: a random delay in [1, 100], reproducible from the seed
    const random = fixed(100, { jitter: "full" })
    const out = delays(random, 20, 1)
    expect(out).toHaveLength(20)
    for (const d of out) {
      expect(d).toBeGreaterThanOrEqual(1)
      expect(d).toBeLessThanOrEqual(100)
    }
    expect(new Set(out).size).toBeGreaterThan(5)
    expect(delays(random, 20, 1)).toEqual(out)
  })

  it("validation", () => {
    // negative minDelayMillis
    expect(() => Backoff.exponential({ baseDelay: -1 })).toThrow(RangeError)
    // minDelayMillis > maxDelayMillis: Armeria refuses it; Sturdy's maxDelay caps every delay, the first included
    expect(delays(Backoff.exponential({ baseDelay: 2, maxDelay: 1, jitter: "none" }), 2)).toEqual([1, 1])
    // should not fail for 0-delay
    expect(delays(Backoff.exponential({ baseDelay: 0, maxDelay: 0, jitter: "full" }), 2)).toEqual([0, 0])
  })
})

describe("peer armeria BackoffSpecTest", () => {
  it("defaultBackoffSpec", () => {
    // Armeria: 200 ms, × 2.0, 10 s, jitter ±0.2; Sturdy's defaults are its own (documented)
    expect(Duration.toMillis(Backoff.defaults.baseDelay)).toBe(100)
    expect(Backoff.defaults.factor).toBe(2)
    expect(Duration.toMillis(Backoff.defaults.maxDelay)).toBe(10_000)
    expect(Backoff.defaults.jitter).toBe("full")
  })

  it("backoffWithWrongArguments", () => {
    // wrong negative value: exponential=-1000:60000:2.0
    expect(() => Backoff.exponential({ baseDelay: -1000, maxDelay: 60_000, factor: 2 })).toThrow(/baseDelay/)
    // typo key: texponential=... ; the closest a typed options object gets is a mode read from configuration
    expect(() => Backoff.exponential({ jitter: "texponential" as Backoff.Jitter })).toThrow(/jitter must be one of/)
  })
})
