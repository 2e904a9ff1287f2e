// Ported from Finagle's backoff tests (twitter/finagle, commit 4feb34cb949918c572a6152327212e062527bd62,
// finagle-core/src/test/scala/com/twitter/finagle/BackoffTest.scala; Finagle's `Backoff` lives in finagle-core, not
// twitter/util), one `it` per Finagle `test`, named after it, against `@sturdy/policy`'s `Backoff`.
//
// Mapping: a Finagle `Backoff` is a lazy list of delays; Sturdy's is a `Schedule` whose delays `stepDelays` reads.
// `verifyBackoff(b, expected, exhausted)` is: the first `expected.length` delays are `expected`, and asking for one
// more gives one more (`exhausted = false`) or none (`exhausted = true`, the schedule is done). `Backoff.empty` is a
// schedule with `maxAttempts: 1` (no retry); `b.take(n)` is `maxAttempts: n + 1` (Sturdy counts the first attempt);
// `b.takeUntil(d)` is `maxElapsed: d`; `Backoff.apply(start)(f)`, `fromFunction(f)`, `linear(start, step)` and
// `fromStream(s)` are `Backoff.fromDelay` (1-based retry number); `const(d)` and `exponential(start, m[, max])` are
// `Backoff.exponential({ jitter: "none", factor: 1 | m, ... })`; `linear(start, step, max)` is `Backoff.bounded(...,
// { maxDelay })`; `ExponentialJittered`/`EqualJittered`/`DecorrelatedJittered` are the jitter modes `"full"`,
// `"equal"`, `"decorrelated"` (factor 2), seeded through Effect's `Random`; `concat`/`++` is Effect's
// `Schedule.andThen` over Sturdy's schedules. ScalaCheck's `forAll` is fast-check with a fixed seed.
//
// Deliberate differences (each test says which): Finagle's jittered backoffs return `start` unjittered as their first
// delay and exactly `maximum` once capped; Sturdy jitters every delay, the first included, and jitter only shortens a
// delay within its envelope (so a capped delay is at most `maxDelay`, not exactly it). Finagle's decorrelated jitter
// draws from [previous, 3 × previous) (non-decreasing); Sturdy's is AWS's [baseDelay, 3 × previous]. Finagle's
// `takeUntil(d)` keeps the delay that crosses `d` (1 s, 2 s, 3 s, 4 s for 9 s); Sturdy's `maxElapsed` lets no retry
// start after `d` (1 s, 2 s, 3 s). Delays are whole milliseconds (Finagle's are nanoseconds), so `fromFunction`
// draws milliseconds.
//
// Not ported: the exception messages of `empty`/`take(0)`/`takeUntil(Duration.Zero)` (`duration`/`next` of an empty
// Backoff: a done schedule has no head to ask for; the empty schedule is asserted instead); `toStream`,
// `toStream from an empty Backoff`, `toJavaStream` (Scala/Java collection conversions Sturdy has no counterpart of);
// `concat 2 empty Backoffs`'s reference equality with `Backoff.empty` (asserted as no delays).
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import { laws } from "@sturdy/testing/ScheduleKit"
import * as FastCheck from "effect/FastCheck"
import * as Schedule from "effect/Schedule"
import { stepDelays } from "./utils/stepDelays.js"

const steps = (n: number) => Array.from({ length: n }, () => undefined)

/** Finagle's `verifyBackoff`: the delays are `expected`, then one more (not exhausted) or none (exhausted) */
const verifyBackoff = (
  schedule: Schedule.Schedule<unknown>,
  expected: ReadonlyArray<number>,
  exhausted: boolean,
  seed = 0
) => {
  const delays = stepDelays(schedule, steps(expected.length + 1), 0, seed)
  expect(delays.slice(0, expected.length)).toEqual(expected)
  expect(delays.length).toBe(exhausted ? expected.length : expected.length + 1)
}

const unbounded = { maxAttempts: Infinity, maxDelay: Infinity } as const
const constant = (millis: number) => Backoff.exponential({ ...unbounded, baseDelay: millis, factor: 1, jitter: "none" })
const linear = (start: number, step: number) => Backoff.fromDelay((retry) => start + step * (retry - 1))
const empty = Backoff.bounded(Backoff.fromDelay(() => 1), { maxAttempts: 1 })

/** ScalaCheck's generator of the jittered tests: startMs in 1..1000, maxMs in startMs..2·startMs, a seed */
const jitteredGen = FastCheck.integer({ min: 1, max: 1000 }).chain((startMs) =>
  FastCheck.tuple(
    FastCheck.constant(startMs),
    FastCheck.integer({ min: startMs, max: startMs * 2 }),
    FastCheck.integer({ min: 0, max: 2 ** 31 - 1 })
  )
)
const property = { seed: 20241023, numRuns: 200 }

describe("peer finagle BackoffTest", () => {
  it("empty", () => {
    verifyBackoff(empty, [], true)
    // backoff.take(1) == Backoff.empty: a bounded empty schedule stays empty
    verifyBackoff(Backoff.bounded(empty, { maxAttempts: 2 }), [], true)
  })

  it("apply", () => {
    // Backoff.apply(1.millis)(_ + 1.millis): each delay is the previous plus 1 ms
    verifyBackoff(Backoff.fromDelay((retry) => retry), [1, 2, 3, 4, 5], false)
  })

  it("fromFunction", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.integer(), (seed) => {
        // two generators from one seed (Finagle's `fRng, rng = Rng(seed)`): the schedule's and the expectation's
        const lcg = (state: number) => () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) % 10
        const fRng = lcg(seed)
        const rng = lcg(seed)
        const schedule = Backoff.fromDelay(() => fRng())
        const expected = Array.from({ length: 5 }, () => rng())
        verifyBackoff(schedule, expected, false)
      }),
      property
    )
  })

  it("const", () => {
    verifyBackoff(constant(7), Array.from({ length: 7 }, () => 7), false)
  })

  it("exponential", () => {
    verifyBackoff(
      Backoff.exponential({ ...unbounded, baseDelay: 2, factor: 2, jitter: "none" }),
      [2, 4, 8, 16, 32],
      false
    )
  })

  it("exponential with maximum", () => {
    const schedule = Backoff.exponential({
      baseDelay: 2,
      factor: 2,
      maxDelay: 15,
      jitter: "none",
      maxAttempts: Infinity
    })
    verifyBackoff(schedule, [2, 4, 8, 15, 15], false)
    expect(laws.capHolds(schedule, 15, { seed: 1, attempts: 40 })).toBe(true)
  })

  it("linear", () => {
    verifyBackoff(linear(7, 10), [7, 17, 27, 37, 47], false)
  })

  it("linear with maximum", () => {
    const schedule = Backoff.bounded(linear(9, 30), { maxDelay: 99 })
    verifyBackoff(schedule, [9, 39, 69, 99, 99], false)
    expect(laws.capHolds(schedule, 99, { seed: 1, attempts: 40 })).toBe(true)
  })

  it("decorrelatedJittered", () => {
    FastCheck.assert(
      FastCheck.property(jitteredGen, ([startMs, maxMs, seed]) => {
        const schedule = Backoff.exponential({
          baseDelay: startMs,
          maxDelay: maxMs,
          jitter: "decorrelated",
          maxAttempts: Infinity
        })
        const delays = stepDelays(schedule, steps(5), 0, seed)
        expect(delays).toHaveLength(5) // never exhausted
        // Finagle: the first delay is `start` and each next one is in [previous, min(max, 3 × previous)).
        // Sturdy (AWS's formula, deliberate): every delay, the first too, is in [start, min(max, 3 × previous)]
        let previous = startMs
        for (const delay of delays) {
          expect(delay).toBeGreaterThanOrEqual(startMs)
          expect(delay).toBeLessThanOrEqual(Math.min(maxMs, 3 * previous))
          previous = delay
        }
        expect(laws.deterministic(schedule, { seed, attempts: 5 })).toBe(true)
      }),
      property
    )
  })

  it("equalJittered", () => {
    FastCheck.assert(
      FastCheck.property(jitteredGen, ([startMs, maxMs, seed]) => {
        const schedule = Backoff.exponential({
          baseDelay: startMs,
          maxDelay: maxMs,
          jitter: "equal",
          maxAttempts: Infinity
        })
        const delays = stepDelays(schedule, steps(7), 0, seed)
        expect(delays).toHaveLength(7)
        // Finagle: delay 0 is `start`; delay n ≥ 1 is start·2ⁿ⁻¹ + random(start·2ⁿ⁻¹), or exactly `max` once capped.
        // Sturdy: with t = min(max, start·2ⁿ), delay n is in [t/2, t] for every n (the same envelope below the cap;
        // the first delay jittered too, and a capped one no longer than `max`: jitter only shortens)
        delays.forEach((delay, n) => {
          const t = Math.min(maxMs, startMs * 2 ** n)
          expect(delay).toBeGreaterThanOrEqual(Math.floor(t / 2))
          expect(delay).toBeLessThanOrEqual(t)
        })
        expect(laws.capHolds(schedule, maxMs, { seed, attempts: 7 })).toBe(true)
      }),
      property
    )
  })

  it("exponentialJittered", () => {
    FastCheck.assert(
      FastCheck.property(jitteredGen, ([startMs, maxMs, seed]) => {
        const schedule = Backoff.exponential({
          baseDelay: startMs,
          maxDelay: maxMs,
          jitter: "full",
          maxAttempts: Infinity
        })
        const delays = stepDelays(schedule, steps(7), 0, seed)
        expect(delays).toHaveLength(7)
        // Finagle: delay 0 is `start`; delay n ≥ 1 is random(min(max, start·2ⁿ)), or exactly `max` once capped.
        // Sturdy: delay n is in [1, min(max, start·2ⁿ)] for every n (never rounded down to no wait; the first is
        // jittered too, and a capped one is at most `max`: jitter only shortens)
        delays.forEach((delay, n) => {
          expect(delay).toBeGreaterThanOrEqual(1)
          expect(delay).toBeLessThanOrEqual(Math.min(maxMs, startMs * 2 ** n))
        })
        expect(laws.capHolds(schedule, maxMs, { seed, attempts: 7 })).toBe(true)
      }),
      property
    )
  })

  it("take", () => {
    const schedule = Backoff.bounded(linear(7, 10), { maxAttempts: 6 })
    verifyBackoff(schedule, [7, 17, 27, 37, 47], true)
    expect(laws.attemptsBounded(schedule, 5, { seed: 1 })).toBe(true)
  })

  it("take(0)", () => {
    verifyBackoff(Backoff.bounded(constant(1), { maxAttempts: 1 }), [], true)
  })

  it("takeUntil", () => {
    const schedule = Backoff.bounded(linear(1000, 1000), { maxElapsed: "9 seconds" })
    // Finagle: 1 s, 2 s, 3 s, 4 s (the delay that crosses 9 s is kept). Sturdy (deliberate): no retry starts later
    // than `maxElapsed` after the first failure, so the 4 s delay (ending at 10 s) is not taken
    verifyBackoff(schedule, [1000, 2000, 3000], true)
    expect(laws.totalBounded(schedule, 9000, { seed: 1 })).toBe(true)
    // the bound that keeps Finagle's four delays
    verifyBackoff(Backoff.bounded(linear(1000, 1000), { maxElapsed: "10 seconds" }), [1000, 2000, 3000, 4000], true)
  })

  it("takeUntil(Duration.Zero)", () => {
    verifyBackoff(Backoff.bounded(constant(1), { maxElapsed: 0 }), [], true)
  })

  it("concat 2 non empty Backoffs", () => {
    const schedule = Backoff.bounded(constant(1), { maxAttempts: 2 }).pipe(
      Schedule.andThen(Backoff.bounded(linear(2, 1), { maxAttempts: 3 })),
      Schedule.andThen(constant(4))
    )
    verifyBackoff(schedule, [1, 2, 3, 4, 4, 4], false)
  })

  it("concat a non-empty Backoff and an empty Backoff", () => {
    const schedule = Backoff.bounded(linear(1, 1), { maxAttempts: 6 }).pipe(Schedule.andThen(empty))
    verifyBackoff(schedule, [1, 2, 3, 4, 5], true)
  })

  it("concat an empty Backoff and a non empty Backoff", () => {
    verifyBackoff(empty.pipe(Schedule.andThen(linear(1, 1))), [1, 2, 3, 4, 5], false)
  })

  it("concat 2 empty Backoffs", () => {
    verifyBackoff(empty.pipe(Schedule.andThen(empty)), [], true)
  })

  it("++ as an alias of concat", () => {
    const schedule = Backoff.bounded(constant(1000), { maxAttempts: 4 }).pipe(
      Schedule.andThen(Backoff.bounded(linear(2000, 1000), { maxAttempts: 3 })),
      Schedule.andThen(Backoff.bounded(constant(7000), { maxAttempts: 4 }))
    )
    verifyBackoff(schedule, [1, 1, 1, 2, 3, 7, 7, 7].map((s) => s * 1000), true)
  })

  const fromStream = (stream: ReadonlyArray<number>) =>
    Backoff.bounded(Backoff.fromDelay((retry) => stream[retry - 1]!), { maxAttempts: stream.length + 1 })

  it("fromStream", () => {
    verifyBackoff(fromStream([1000, 9000, 3000]), [1000, 9000, 3000], true)
  })

  it("fromStream with an empty Backoff", () => {
    verifyBackoff(fromStream([]), [], true)
  })

  it("fromStream with Stream created from Backoff#toStream", () => {
    const exponential = Backoff.exponential({ ...unbounded, baseDelay: "2 seconds", factor: 3, jitter: "none" })
    const stream = stepDelays(exponential, steps(10))
    expect(stream).toEqual([2000, 6000, 18000, 54000, 162000, 486000, 1458000, 4374000, 13122000, 39366000])
    verifyBackoff(fromStream(stream), stream, true)
  })
})
