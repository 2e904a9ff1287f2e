// Ported from two Rust libraries, one `it` per Rust `#[test]`, named after it, against `@sturdy/policy`'s `Backoff`
// schedules (stepped with `stepDelays`) and `Retry.retry` on the TestClock.
//
// 1. Xuanwo/backon (commit db212c04e784b04eefc59ba630048500777c0227): `backon/src/backoff/exponential.rs`,
//    `constant.rs`, `fibonacci.rs` and `retry.rs` tests.
//    Mapping: `ExponentialBuilder` (`min_delay` 1 s, `factor` 2, `max_delay` 60 s, `max_times` 3 retries) is
//    `Backoff.exponential({ baseDelay, factor, maxDelay, maxAttempts: max_times + 1, jitter: "none" })`;
//    `with_total_delay(d)` (the cumulative sleep plus the next one may not exceed d) is `maxElapsed: d` (from the first
//    failure, the same thing when attempts take no time); `without_max_times` is `maxAttempts: Infinity`;
//    `without_max_delay` is `maxDelay: Infinity`; `ConstantBuilder` (1 s, 3 times) is `Backoff.bounded(fromDelay(() =>
//    delay), { maxAttempts: max_times + 1 })`; `FibonacciBuilder` (1 s, 60 s, 3 times) is
//    `Backoff.bounded(Schedule.fibonacci(min_delay), { maxDelay, maxAttempts })`; `.when(p)` is `while`; `.notify(f)`
//    is `onAttempt` with `retrying`; `.sleep(...)` (a custom sleeper) is the TestClock.
//    Deliberate differences: backon's jitter ADDS up to one delay (`[t, 2t)`); Sturdy's jitter only shortens (`"full"`:
//    `[0, t]`, `"equal"`: `[t/2, t]`), so a jittered delay never exceeds its envelope or `maxDelay`; backon saturates at
//    `Duration::MAX`, Sturdy at what a timer holds (2^31 − 1 ms) and refuses a `baseDelay` or finite `maxDelay` above it;
//    a Fibonacci schedule has no Sturdy jitter mode (Effect's `Schedule.jitteredWith` multiplies instead); backon's
//    `adjust(err, Option<Duration>)` sees the last failure too (with no delay), Sturdy's `delayHint` only the failures
//    that are retried.
//    Not ported: the `*_const_builder` tests (Rust `const fn` builders).
//
// 2. TrueLayer/retry-policies (commit a2592b85e8a5aaa73b7322a29ebd5b939dd9d14b): `src/policies/exponential_backoff.rs`
//    and `src/retry_policy.rs` tests.
//    Mapping: `ExponentialBackoff { max_n_retries, min_retry_interval, max_retry_interval, jitter, base }` is
//    `Backoff.exponential({ maxAttempts: max_n_retries + 1, baseDelay, maxDelay, jitter, factor: base })`;
//    `should_retry(start, n)` is stepping the schedule n times; `Jitter::None`/`Full` are `"none"`/`"full"`;
//    `Jitter::Bounded` (`[min_interval / 2, t]`) is closest to `"equal"` (`[t/2, t]`, a sub-range of it).
//    `build_with_total_retry_duration(d)` counts from the request's start, so it is `Deadline.establish(d)` (Sturdy's
//    `maxElapsed` counts from the first failure instead); `retry_bounds(min, max)` with min > max panics, while Sturdy
//    deliberately caps every delay at `maxDelay` (as p-retry, Polly and tenacity do).
//    Not ported: `build_with_total_retry_duration_and_limit_retries`'s derived retry count
//    (different_exponential_base_produce_different_max_retries_for_the_same_duration: Sturdy derives no count from a
//    duration), and the `max_retries()` getter checks.
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Deadline from "@sturdy/policy/Deadline"
import * as Retry from "@sturdy/policy/Retry"
import { laws } from "@sturdy/testing/ScheduleKit"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import { advance } from "./utils/advance.js"
import { stepDelays } from "./utils/stepDelays.js"

class QueryError extends Data.TaggedError("QueryError")<{ readonly message: string }> {}

const maxTimer = 2 ** 31 - 1
const times = <A>(n: number, a: A): Array<A> => Array.from({ length: n }, () => a)
const steps = (n: number) => times(n, undefined)

interface BackonExponential {
  readonly jitter?: Backoff.Jitter
  readonly factor?: number
  readonly minDelay?: Duration.DurationInput
  readonly maxDelay?: Duration.DurationInput
  /** retries; `Infinity` for `without_max_times` */
  readonly maxTimes?: number
  readonly totalDelay?: Duration.DurationInput
}

/** backon's `ExponentialBuilder` (defaults: no jitter, × 2, 1 s, 60 s, 3 retries) */
const exponentialBuilder = (o: BackonExponential = {}) =>
  Backoff.exponential({
    jitter: o.jitter ?? "none",
    factor: o.factor ?? 2,
    baseDelay: o.minDelay ?? "1 second",
    maxDelay: o.maxDelay ?? "60 seconds",
    maxAttempts: (o.maxTimes ?? 3) + 1,
    maxElapsed: o.totalDelay
  })

/** backon's `ConstantBuilder` (defaults: 1 s, 3 retries) */
const constantBuilder = (o: { delay?: Duration.DurationInput; maxTimes?: number } = {}) =>
  Backoff.bounded(Backoff.fromDelay(() => o.delay ?? "1 second"), { maxAttempts: (o.maxTimes ?? 3) + 1 })

/** backon's `FibonacciBuilder` (defaults: 1 s, 60 s, 3 retries) */
const fibonacciBuilder = (
  o: { minDelay?: Duration.DurationInput; maxDelay?: Duration.DurationInput; maxTimes?: number } = {}
) =>
  Backoff.bounded(Schedule.fibonacci(o.minDelay ?? "1 second"), {
    maxDelay: o.maxDelay ?? "60 seconds",
    maxAttempts: (o.maxTimes ?? 3) + 1
  })

describe("backon src/backoff/exponential.rs", () => {
  it("test_exponential_default", () => {
    expect(stepDelays(exponentialBuilder(), steps(4))).toEqual([1000, 2000, 4000])
  })

  it("test_exponential_factor", () => {
    expect(stepDelays(exponentialBuilder({ factor: 1.5 }), steps(4))).toEqual([1000, 1500, 2250])
  })

  it("test_exponential_jitter", () => {
    // backon: [1, 2), [2, 4), [4, 8) s (jitter adds); Sturdy: full jitter within [0, t] of 1, 2, 4 s
    for (let seed = 0; seed < 50; seed++) {
      const delays = stepDelays(exponentialBuilder({ jitter: "full" }), steps(4), 0, seed)
      expect(delays).toHaveLength(3)
      delays.forEach((d, n) => {
        expect(d).toBeGreaterThanOrEqual(1)
        expect(d).toBeLessThanOrEqual(1000 * 2 ** n)
      })
    }
  })

  it("test_exponential_min_delay", () => {
    expect(stepDelays(exponentialBuilder({ minDelay: "500 millis" }), steps(4))).toEqual([500, 1000, 2000])
  })

  it("test_exponential_total_delay", () => {
    expect(
      stepDelays(
        exponentialBuilder({ minDelay: "1 second", factor: 1, totalDelay: "3 seconds", maxTimes: 5 }),
        steps(6)
      )
    ).toEqual([1000, 1000, 1000])
  })

  it("test_exponential_no_max_times_with_default", () => {
    expect(stepDelays(exponentialBuilder({ factor: 1, maxTimes: Infinity }), steps(10_000))).toEqual(
      times(10_000, 1000)
    )
  })

  it("test_exponential_max_delay_with_default", () => {
    expect(stepDelays(exponentialBuilder({ maxDelay: "2 seconds" }), steps(4))).toEqual([1000, 2000, 2000])
  })

  it("test_exponential_no_max_delay_with_default", () => {
    // backon: 1 s, 10^10 s, Duration::MAX, Duration::MAX; Sturdy saturates at what a timer holds
    expect(stepDelays(exponentialBuilder({ factor: 1e10, maxDelay: Infinity, maxTimes: 4 }), steps(5))).toEqual([
      1000,
      maxTimer,
      maxTimer,
      maxTimer
    ])
  })

  it("test_exponential_max_delay_without_default_1", () => {
    expect(stepDelays(exponentialBuilder({ factor: 1e10, maxDelay: Infinity, maxTimes: Infinity }), steps(4)))
      .toEqual([1000, maxTimer, maxTimer, maxTimer])
  })

  it("test_exponential_max_delay_without_default_2", () => {
    // backon: a min_delay of 10^10 s, jittered, then Duration::MAX. Sturdy refuses a baseDelay no timer can hold, and
    // at the largest one it accepts, every delay stays within it
    expect(() => exponentialBuilder({ jitter: "full", factor: 1e10, minDelay: "10000000000 seconds" })).toThrow(
      /baseDelay/
    )
    const delays = stepDelays(
      exponentialBuilder({ jitter: "full", factor: 1e10, minDelay: maxTimer, maxDelay: Infinity, maxTimes: 2 }),
      steps(3),
      0,
      7
    )
    expect(delays).toHaveLength(2)
    for (const d of delays) expect(d).toBeLessThanOrEqual(maxTimer)
  })

  it("test_exponential_max_delay_without_default_3", () => {
    // backon: min 10^10 s, max 6 × 10^10 s: 10^10, then the max twice. Sturdy refuses a finite maxDelay no timer can
    // hold; scaled down to fit, the same shape
    expect(() => exponentialBuilder({ factor: 1e10, minDelay: "10000000000 seconds", maxDelay: "60000000000 seconds" }))
      .toThrow(RangeError)
    expect(stepDelays(exponentialBuilder({ factor: 1e10, minDelay: 10_000, maxDelay: 60_000, maxTimes: 3 }), steps(4)))
      .toEqual([10_000, 60_000, 60_000])
  })

  it("test_exponential_max_times", () => {
    expect(stepDelays(exponentialBuilder({ maxTimes: 1 }), steps(2))).toEqual([1000])
  })
})

describe("backon src/backoff/constant.rs", () => {
  it("test_constant_default", () => {
    expect(stepDelays(constantBuilder(), steps(4))).toEqual([1000, 1000, 1000])
  })

  it("test_constant_with_delay", () => {
    expect(stepDelays(constantBuilder({ delay: "2 seconds" }), steps(4))).toEqual([2000, 2000, 2000])
  })

  it("test_constant_with_times", () => {
    expect(stepDelays(constantBuilder({ maxTimes: 1 }), steps(2))).toEqual([1000])
  })

  it("test_constant_with_jitter", () => {
    // backon: a jittered constant delay exceeds 1 s; Sturdy's constant-with-jitter is `factor: 1` with jitter, which
    // only shortens: within [0.5, 1] s for "equal"
    const delays = stepDelays(exponentialBuilder({ factor: 1, jitter: "equal" }), steps(4), 0, 7)
    expect(delays).toHaveLength(3)
    for (const d of delays) {
      expect(d).toBeGreaterThanOrEqual(500)
      expect(d).toBeLessThanOrEqual(1000)
    }
  })

  it("test_constant_without_max_times", () => {
    expect(stepDelays(Backoff.fromDelay(() => "1 second"), steps(10_000))).toEqual(times(10_000, 1000))
  })
})

describe("backon src/backoff/fibonacci.rs", () => {
  it("test_fibonacci_default", () => {
    expect(stepDelays(fibonacciBuilder(), steps(4))).toEqual([1000, 1000, 2000])
  })

  it("test_fibonacci_jitter", () => {
    // backon adds up to min_delay: [1, 2), [1, 2), [2, 3) s. Sturdy has no Fibonacci jitter mode; Effect's
    // `Schedule.jitteredWith({ min: 1, max: 2 })` multiplies by [1, 2), so the third falls in [2, 4); `bounded` keeps
    // the count and the cap
    for (let seed = 0; seed < 20; seed++) {
      const delays = stepDelays(
        Backoff.bounded(Schedule.jitteredWith(Schedule.fibonacci("1 second"), { min: 1, max: 2 }), {
          maxDelay: "60 seconds",
          maxAttempts: 4
        }),
        steps(4),
        0,
        seed
      )
      expect(delays).toHaveLength(3)
      expect(delays[0]).toBeGreaterThanOrEqual(1000)
      expect(delays[0]).toBeLessThan(2000)
      expect(delays[1]).toBeGreaterThanOrEqual(1000)
      expect(delays[1]).toBeLessThan(2000)
      expect(delays[2]).toBeGreaterThanOrEqual(2000)
      expect(delays[2]).toBeLessThan(4000)
    }
  })

  it("test_fibonacci_min_delay", () => {
    expect(stepDelays(fibonacciBuilder({ minDelay: "500 millis" }), steps(4))).toEqual([500, 500, 1000])
  })

  it("test_fibonacci_max_delay", () => {
    expect(stepDelays(fibonacciBuilder({ maxTimes: 4, maxDelay: "2 seconds" }), steps(5))).toEqual([
      1000,
      1000,
      2000,
      2000
    ])
  })

  it("test_fibonacci_no_max_delay", () => {
    // backon: 10^19 s twice, then Duration::MAX; `bounded` with no maxDelay still holds every delay to a timer's limit
    const fib = Backoff.bounded(Schedule.fibonacci(Duration.seconds(1e19)), { maxAttempts: 5 })
    expect(stepDelays(fib, steps(5))).toEqual(times(4, maxTimer))
    expect(laws.capHolds(fib, maxTimer, { seed: 1, attempts: 5 })).toBe(true)
  })

  it("test_fibonacci_max_times", () => {
    expect(stepDelays(fibonacciBuilder({ maxTimes: 6 }), steps(7))).toEqual([1000, 1000, 2000, 3000, 5000, 8000])
  })

  it("test_fibonacci_no_max_times", () => {
    expect(stepDelays(Backoff.bounded(Schedule.fibonacci(0), {}), steps(10_000))).toEqual(times(10_000, 0))
  })
})

describe("backon src/retry.rs", () => {
  const alwaysError = Effect.fail(new QueryError({ message: "test_query meets error" }))
  const backoff = () => exponentialBuilder({ minDelay: "1 millis" })

  it.effect("test_retry", () =>
    Effect.gen(function*() {
      const exit = yield* advance(Retry.retry(alwaysError, { schedule: backoff() }))
      expect(exit).toEqual(Exit.fail(new QueryError({ message: "test_query meets error" })))
    }))

  it.effect("test_retry_with_not_retryable_error", () =>
    Effect.gen(function*() {
      let errorTimes = 0
      const f = Effect.suspend(() => {
        errorTimes++
        return Effect.fail(new QueryError({ message: "not retryable" }))
      })
      const exit = yield* advance(Retry.retry(f, { schedule: backoff(), while: (e) => e.message === "retryable" }))
      expect(exit).toEqual(Exit.fail(new QueryError({ message: "not retryable" })))
      expect(errorTimes).toBe(1)
    }))

  it.effect("test_retry_with_retryable_error", () =>
    Effect.gen(function*() {
      let errorTimes = 0
      const f = Effect.suspend(() => {
        errorTimes++
        return Effect.fail(new QueryError({ message: "retryable" }))
      })
      const exit = yield* advance(Retry.retry(f, { schedule: backoff(), while: (e) => e.message === "retryable" }))
      expect(exit).toEqual(Exit.fail(new QueryError({ message: "retryable" })))
      // 4 times (retry 3 times)
      expect(errorTimes).toBe(4)
    }))

  it.effect("test_retry_with_adjust", () =>
    Effect.gen(function*() {
      // backon's `adjust` is called for each of the 4 failures (the last with no delay); Sturdy's `delayHint` (which
      // may replace the delay) is asked only for the 3 failures it retries. `Option.none()` keeps the schedule's delay.
      let errorTimes = 0
      const f = Effect.fail(new QueryError({ message: "retryable" }))
      const exit = yield* advance(Retry.retry(f, {
        schedule: backoff(),
        while: (e) => e.message === "retryable",
        delayHint: () => {
          errorTimes++
          return Option.none()
        }
      }))
      expect(exit).toEqual(Exit.fail(new QueryError({ message: "retryable" })))
      expect(errorTimes).toBe(3)
    }))

  it.effect("test_fn_mut_when_and_notify", () =>
    Effect.gen(function*() {
      const callsRetryable: Array<void> = []
      const callsNotify: Array<void> = []
      const f = Effect.fail(new QueryError({ message: "retryable" }))
      const exit = yield* advance(Retry.retry(f, {
        schedule: backoff(),
        while: () => {
          callsRetryable.push(undefined)
          return true
        },
        onAttempt: (a) => Effect.sync(() => a.retrying && callsNotify.push(undefined))
      }))
      expect(exit).toEqual(Exit.fail(new QueryError({ message: "retryable" })))
      // executed 4 times (retry 3 times)
      expect(callsRetryable).toHaveLength(4)
      expect(callsNotify).toHaveLength(3)
    }))

  it.effect("test_retry_with_sleep", () =>
    Effect.gen(function*() {
      // a sleeper that returns at once: the TestClock, which the retries' sleeps wait on (no real time passes)
      const exit = yield* advance(Retry.retry(alwaysError, { schedule: backoff() }))
      expect(exit).toEqual(Exit.fail(new QueryError({ message: "test_query meets error" })))
    }))
})

/** retry-policies' test policy: 6 retries, [1 s, 5 min], full jitter, base 2 */
const getRetryPolicy = (o: Backoff.Options = {}) =>
  Backoff.exponential({
    maxAttempts: 7,
    baseDelay: "1 second",
    maxDelay: "5 minutes",
    jitter: "full",
    factor: 2,
    ...o
  })

describe("retry-policies src/policies/exponential_backoff.rs", () => {
  it("if_n_past_retries_is_below_maximum_it_decides_to_retry", () => {
    // every n below max_n_retries (the peer samples one at random): the n-th step retries
    for (let seed = 0; seed < 10; seed++) expect(stepDelays(getRetryPolicy(), steps(6), 0, seed)).toHaveLength(6)
  })

  it("if_n_past_retries_is_above_maximum_it_decides_to_mark_as_failed", () => {
    // past max_n_retries no step retries, however many are asked
    for (let seed = 0; seed < 10; seed++) expect(stepDelays(getRetryPolicy(), steps(50), 0, seed)).toHaveLength(6)
    expect(laws.attemptsBounded(getRetryPolicy(), 6, { seed: 3, attempts: 50 })).toBe(true)
  })

  it("maximum_retry_interval_is_never_exceeded", () => {
    for (let seed = 0; seed < 50; seed++) {
      const delays = stepDelays(getRetryPolicy(), steps(6), 0, seed)
      expect(delays[5]).toBeLessThanOrEqual(5 * 60_000)
      expect(laws.capHolds(getRetryPolicy(), 5 * 60_000, { seed, attempts: 6 })).toBe(true)
    }
  })

  it("overflow_backoff_exponent_does_not_cause_a_panic", () => {
    // u32::MAX − 1 past retries: base^n overflows, and the delay is still a number within the cap
    const delays = stepDelays(getRetryPolicy({ maxAttempts: Infinity }), steps(2000), 0, 11)
    expect(delays).toHaveLength(2000)
    for (const d of delays.slice(1000)) {
      expect(Number.isFinite(d)).toBe(true)
      expect(d).toBeLessThanOrEqual(5 * 60_000)
    }
  })

  it("builder_invalid_retry_bounds", () => {
    // retry-policies: retry_bounds(3 s, 2 s) panics (the bounds are the wrong way round). Sturdy deliberately accepts
    // a baseDelay above maxDelay and caps every delay (as p-retry, Polly and tenacity do; see their ports): each delay
    // is 2 s
    expect(stepDelays(Backoff.exponential({ baseDelay: "3 seconds", maxDelay: "2 seconds", jitter: "none" }), steps(2)))
      .toEqual([2000, 2000])
    // what Sturdy does refuse, as a RangeError naming the option: a negative or NaN bound
    expect(() => Backoff.exponential({ baseDelay: "3 seconds", maxDelay: -2000 })).toThrow(/maxDelay/)
    expect(() => Backoff.exponential({ baseDelay: NaN, maxDelay: "2 seconds" })).toThrow(/baseDelay/)
  })

  it.effect("does_not_retry_after_total_retry_duration", () =>
    Effect.gen(function*() {
      // the total duration counts from the request's start: `Deadline.establish`. An attempt that fails after 23 h is
      // retried within 24 h; one that fails after 25 h is not (the original failure comes back, reason "deadline")
      for (const [hours, calls] of [[23, 2], [25, 1]] as const) {
        let n = 0
        const reasons: Array<Retry.Reason> = []
        const f = Effect.suspend(() => {
          n++
          return Effect.zipRight(
            n === 1 ? Effect.sleep(Duration.hours(hours)) : Effect.void,
            n === 1 ? Effect.fail(new QueryError({ message: "down" })) : Effect.succeed("ok")
          )
        })
        const exit = yield* advance(
          Retry.retry(f, {
            schedule: Backoff.exponential({ maxDelay: "30 minutes", baseDelay: "1 second", maxAttempts: Infinity }),
            onAttempt: (a) => Effect.sync(() => reasons.push(a.reason))
          }).pipe(Deadline.establish("24 hours"))
        )
        expect(n).toBe(calls)
        if (hours === 23) {
          expect(exit).toEqual(Exit.succeed("ok"))
          expect(reasons).toEqual(["backoff"])
        } else {
          expect(exit).toEqual(Exit.fail(new QueryError({ message: "down" })))
          expect(reasons).toEqual(["deadline"])
        }
      }
    }))

  it.effect("does_not_retry_before_total_retry_duration_if_max_retries_exceeded", () =>
    Effect.gen(function*() {
      // [1 s, 6 h], 24 h total, 17 retries: the 18th retry is refused even though time remains
      const schedule = () =>
        Backoff.exponential({ baseDelay: "1 second", maxDelay: "6 hours", maxAttempts: 18, jitter: "full" })
      expect(stepDelays(schedule(), steps(30), 0, 5)).toHaveLength(17)
      let n = 0
      const f = Effect.suspend(() => {
        n++
        return Effect.fail(new QueryError({ message: "down" }))
      })
      const exit = yield* advance(Retry.retry(f, { schedule: schedule() }).pipe(Deadline.establish("24 hours")))
      expect(Exit.isFailure(exit)).toBe(true)
      // full jitter keeps 17 retries well inside 24 h: the count, not the time, ends it
      expect(n).toBe(18)
    }))

  it.effect("total_retry_duration_and_max_retries", () =>
    Effect.gen(function*() {
      // [1 s, 30 s], 120 s total, 5 retries
      const run = (firstAttemptSeconds: number) =>
        Effect.gen(function*() {
          let n = 0
          const reasons: Array<Retry.Reason> = []
          const f = Effect.suspend(() => {
            n++
            return Effect.zipRight(
              n === 1 ? Effect.sleep(Duration.seconds(firstAttemptSeconds)) : Effect.void,
              Effect.fail(new QueryError({ message: "down" }))
            )
          })
          yield* advance(
            Retry.retry(f, {
              schedule: Backoff.exponential({ baseDelay: "1 second", maxDelay: "30 seconds", maxAttempts: 6 }),
              onAttempt: (a) => Effect.sync(() => reasons.push(a.reason))
            }).pipe(Deadline.establish("120 seconds"))
          )
          return { n, reasons }
        })
      // within both limits at 60 s, the count (5 retries) ends it
      const within = yield* run(60)
      expect(within.n).toBe(6)
      expect(within.reasons.at(-1)).toBe("exhausted")
      // past the duration at 150 s: no retry
      const late = yield* run(150)
      expect(late.n).toBe(1)
      expect(late.reasons).toEqual(["deadline"])
    }))
})

describe("retry-policies src/retry_policy.rs", () => {
  it("test_jitter_none", () => {
    expect(stepDelays(Backoff.exponential({ baseDelay: "10 seconds", jitter: "none", factor: 1 }), steps(1))).toEqual(
      [10_000]
    )
  })

  it("test_jitter_full", () => {
    for (let seed = 0; seed < 50; seed++) {
      const [d] = stepDelays(
        Backoff.exponential({ baseDelay: "10 seconds", jitter: "full", factor: 1 }),
        steps(1),
        0,
        seed
      )
      expect(d).toBeGreaterThanOrEqual(0)
      expect(d).toBeLessThanOrEqual(10_000)
    }
  })

  it("test_jitter_bounded", () => {
    // Bounded: [min_interval / 2, t] = [2.5 s, 10 s] for min 5 s, t = 10 s. Sturdy's "equal" is [t/2, t] = [5 s, 10 s],
    // inside it
    const options = { baseDelay: "5 seconds", jitter: "equal", factor: 2, maxAttempts: 3 } as const
    for (let seed = 0; seed < 50; seed++) {
      const d = stepDelays(Backoff.exponential(options), steps(2), 0, seed)[1]!
      expect(d).toBeGreaterThanOrEqual(2_500)
      expect(d).toBeGreaterThanOrEqual(5_000)
      expect(d).toBeLessThanOrEqual(10_000)
    }
  })

  it("test_jitter_bounded_first_retry", () => {
    // the first retry (t = min = 1 s) can jitter below the min interval: the peer's seeded draw gives 708.215236 ms;
    // Sturdy's "equal" draw of the same position in [t/2, t] gives it too (in whole milliseconds)
    const [d] = stepDelays(
      Backoff.exponential({ baseDelay: "1 second", jitter: "equal" }),
      steps(1),
      0,
      Random.fixed([0.416430472])
    )
    expect(d).toBeLessThan(1000)
    expect(d).toBe(708)
  })
})
