// Ported from tenacity's `tests/test_tenacity.py` (jd/tenacity), one `it` per peer case, named after it, against
// `@sturdy/policy`'s `Retry.retry` and `Backoff` and the Effect `Schedule` combinators they build on, every wait on
// the TestClock. tenacity's waits are seconds; here they are the same numbers of seconds.
// Option mapping: `wait_fixed(s)` is `Schedule.spaced`; `wait_incrementing(start, increment)` is `Backoff.fromDelay`;
// `wait_exponential(multiplier, max, exp_base)` is `Backoff.exponential({ baseDelay: multiplier, maxDelay: max, factor:
// exp_base, jitter: "none" })` (tenacity's attempt n waits multiplier × exp_base^(n − 1): Sturdy's retry n − 1);
// its `min` is `Schedule.modifyDelay` with a floor; `wait_random_exponential(multiplier, max)` is `jitter: "full"`;
// `wait_exponential_jitter(max, jitter)` is the exponential plus `Schedule.addDelayEffect` of a random [0, jitter],
// capped by `Backoff.bounded`; a sum of waits is `Schedule.addDelay`(`Effect`); `wait_chain` is `Schedule.andThen`.
// `stop_after_attempt(n)` is `maxAttempts: n`; `stop_before_delay(d)` is `maxElapsed: d`; `a | b` (stop when either
// stops) is `Schedule.intersect`, `a & b` (stop when both do) is `Schedule.union`. `retry_if_exception_type` and
// its kin are `while`; `retry_if_result` maps the result to a typed failure (`Effect.filterOrFail`), as Sturdy retries
// typed failures; `before`/`after`/`before_sleep` and `statistics` are read from the `onAttempt` decisions.
// Deliberate differences (each test says which): Sturdy returns the last failure itself, as tenacity's `reraise=True`
// does; tenacity's default `RetryError` wrapper is `finalFailure(failure, attempts)`. tenacity's
// `stop_after_delay`/`stop_before_delay` count from the first attempt's start and stop at `>=`; `maxElapsed` counts
// from the first failure and refuses a retry that would start strictly later (for a limit from the very start,
// `Deadline.withDeadline`). Delays are whole milliseconds.
// Not ported (Python mechanics): the repr/name/`copy`/`retry_with`/`enabled` cases, the legacy string wait and stop
// types, the context-manager and callable forms, the logging handlers, `test_wait_exception` on a non-failure, the
// `TryAgain` cause/reraise variants, and `before` on the first attempt (a call that succeeds at once makes no
// decision and calls no hook: the happy path stays cheap).
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Retry from "@sturdy/policy/Retry"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import { advance } from "./utils/advance.js"

/** the delays (in seconds) a schedule chooses before retries 1..count, without sleeping */
const waits = (s: Schedule.Schedule<unknown, unknown>, count: number) =>
  Effect.map(
    Schedule.run(Backoff.bounded(s, {}), 0, Array.from({ length: count }, () => undefined)),
    (out) => Chunk.toReadonlyArray(out).map((d) => Duration.toMillis(d) / 1000)
  )

/** tenacity's `wait_exponential(multiplier, max, exp_base)`, without jitter, never stopping */
const waitExponential = (o: { multiplier?: number; max?: number; expBase?: number; min?: number } = {}) => {
  const exponential = Backoff.exponential({
    baseDelay: Duration.seconds(o.multiplier ?? 1),
    factor: o.expBase ?? 2,
    maxDelay: o.max === undefined ? Infinity : Duration.seconds(o.max),
    jitter: "none",
    maxAttempts: Infinity
  })
  const min = o.min
  return min === undefined
    ? exponential
    : Schedule.modifyDelay(exponential, (d) => Duration.max(d, Duration.seconds(min)))
}

const fixed = (seconds: number) => Schedule.spaced(Duration.seconds(seconds))
/** tenacity's `wait_random(min, max)`: a uniform wait in [min, max) */
const random = (min: number, max: number) =>
  Schedule.addDelayEffect(Schedule.forever, () => Effect.map(Random.nextRange(min * 1000, max * 1000), Math.floor))

/** the typed failure an exit failed with, if any */
const failureOf = <A, E>(exit: Exit.Exit<A, E>): E | undefined =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined

class IOError extends Error {
  readonly kind = "IOError"
}
class NameError extends Error {
  readonly kind = "NameError"
}
class CustomError extends Error {
  readonly kind = "CustomError"
}

/** fails with `make()` for the first `count` calls, then succeeds with true (tenacity's `No...AfterCount`) */
const failUntil = <E>(count: number, make: () => E) => {
  const s = {
    calls: 0,
    call: Effect.suspend((): Effect.Effect<boolean, E> =>
      s.calls++ < count ? Effect.fail(make()) : Effect.succeed(true)
    )
  }
  return s
}

describe("tenacity tests/test_tenacity.py TestStopConditions", () => {
  const attemptsMade = (schedule: Schedule.Schedule<unknown, unknown>, attemptSeconds = 0) =>
    Effect.gen(function*() {
      let calls = 0
      const call = Effect.zipRight(
        Effect.sleep(Duration.seconds(attemptSeconds)),
        Effect.suspend(() => (calls++, Effect.fail("boom")))
      )
      yield* advance(Retry.retry(call, { schedule }))
      return calls
    })

  it.effect("test_stop_after_attempt", () =>
    Effect.gen(function*() {
      expect(yield* attemptsMade(Backoff.bounded(fixed(0), { maxAttempts: 3 }))).toBe(3)
      expect(yield* attemptsMade(Backoff.exponential({ maxAttempts: 3, jitter: "none" }))).toBe(3)
    }))

  it.effect("test_never_stop", () =>
    Effect.gen(function*() {
      // Retrying() never stops: an unbounded schedule keeps going until the call succeeds
      const r = failUntil(200, () => "boom")
      expect(yield* advance(Retry.retry(r.call, { schedule: Backoff.bounded(fixed(1), {}) }))).toEqual(
        Exit.succeed(true)
      )
      expect(r.calls).toBe(201)
    }))

  it.effect("test_stop_before_delay", () =>
    Effect.gen(function*() {
      // tenacity stops when elapsed + upcoming sleep >= 1 s; `maxElapsed` refuses a retry that would start later than
      // 1 s after the first failure (exactly at 1 s is still made: Sturdy's documented `>`)
      const timesOf = (schedule: Schedule.Schedule<unknown, unknown>) =>
        Effect.gen(function*() {
          const start = yield* TestClock.currentTimeMillis
          const times: Array<number> = []
          const call = Effect.suspend(() => (times.push(0), Effect.fail("boom")))
          const at = Effect.flatMap(
            TestClock.currentTimeMillis,
            (now) => Effect.sync(() => (times[times.length - 1] = now - start))
          )
          yield* advance(Retry.retry(Effect.tapError(call, () => at), { schedule }))
          return times
        })
      expect(yield* timesOf(Backoff.bounded(Schedule.spaced("300 millis"), { maxElapsed: "1 second" }))).toEqual([
        0,
        300,
        600,
        900
      ])
      expect(yield* timesOf(Backoff.bounded(Schedule.spaced("250 millis"), { maxElapsed: "1 second" }))).toEqual([
        0,
        250,
        500,
        750,
        1000
      ])
      expect(yield* timesOf(Backoff.bounded(Schedule.spaced("1001 millis"), { maxElapsed: "1 second" }))).toEqual([0])
    }))

  it.effect("test_stop_after_delay", () =>
    Effect.gen(function*() {
      // attempts of 400 ms each, no wait: tenacity's stop_after_delay(1) stops once 1 s has passed since the start,
      // after the third attempt (1.2 s). `maxElapsed` counts from the first failure (0.4 s) and refuses a retry that
      // would start later than 1 s after it: the third attempt starts at 0.8 s, the fourth at 1.2 s, the fifth
      // would start at 1.6 s, 1.2 s after the first failure
      expect(yield* attemptsMade(Backoff.bounded(fixed(0), { maxElapsed: "1 second" }), 0.4)).toBe(4)
    }))

  it.effect("test_stop_or", () =>
    Effect.gen(function*() {
      // stop_after_delay(1) | stop_after_attempt(4): whichever comes first
      const stop = (wait: Duration.DurationInput) =>
        Schedule.intersect(
          Backoff.bounded(Schedule.spaced(wait), { maxElapsed: "1 second" }),
          Backoff.bounded(Schedule.forever, { maxAttempts: 4 })
        )
      expect(yield* attemptsMade(stop("100 millis"))).toBe(4)
      expect(yield* attemptsMade(stop("600 millis"))).toBe(2)
    }))

  it.effect("test_stop_any", () =>
    Effect.gen(function*() {
      // stop_any(a, b) is a | b
      const stop = Schedule.intersect(
        Backoff.bounded(Schedule.spaced("900 millis"), { maxElapsed: "1 second" }),
        Backoff.bounded(Schedule.forever, { maxAttempts: 4 })
      )
      expect(yield* attemptsMade(stop)).toBe(2)
    }))

  it.effect("test_stop_and", () =>
    Effect.gen(function*() {
      // stop_after_delay(1) & stop_after_attempt(4): only once both would stop
      const stop = (wait: Duration.DurationInput) =>
        Schedule.union(
          Backoff.bounded(Schedule.spaced(wait), { maxElapsed: "1 second" }),
          Backoff.bounded(Schedule.spaced(wait), { maxAttempts: 4 })
        )
      expect(yield* attemptsMade(stop("100 millis"))).toBe(11)
      expect(yield* attemptsMade(stop("600 millis"))).toBe(4)
    }))

  it.effect("test_stop_all", () =>
    Effect.gen(function*() {
      const stop = Schedule.union(
        Backoff.bounded(Schedule.spaced("200 millis"), { maxElapsed: "1 second" }),
        Backoff.bounded(Schedule.spaced("200 millis"), { maxAttempts: 4 })
      )
      expect(yield* attemptsMade(stop)).toBe(6)
    }))

  it.effect("test_stop_func_with_retry_state", () =>
    Effect.gen(function*() {
      // a stop function of the attempt number: `while(failure, attempt)`
      let calls = 0
      yield* advance(Retry.retry(Effect.suspend(() => (calls++, Effect.fail("boom"))), {
        schedule: Backoff.bounded(fixed(0), {}),
        while: (_, attempt) => attempt !== 101
      }))
      expect(calls).toBe(101)
    }))
})

describe("tenacity tests/test_tenacity.py TestWaitConditions", () => {
  it.effect("test_no_sleep", () =>
    Effect.gen(function*() {
      expect(yield* waits(Schedule.forever, 18)).toEqual(Array(18).fill(0))
    }))

  it.effect("test_fixed_sleep", () =>
    Effect.gen(function*() {
      expect(yield* waits(fixed(1), 12)).toEqual(Array(12).fill(1))
      expect(yield* waits(Backoff.fromDelay(() => "1 second"), 12)).toEqual(Array(12).fill(1))
    }))

  it.effect("test_incrementing_sleep", () =>
    Effect.gen(function*() {
      const incrementing = Backoff.fromDelay((retry) => Duration.seconds(500 + 100 * (retry - 1)))
      expect(yield* waits(incrementing, 3)).toEqual([500, 600, 700])
    }))

  it.effect("test_random_sleep", () =>
    Effect.gen(function*() {
      const times = yield* waits(random(1, 20), 1000)
      expect(new Set(times).size).toBeGreaterThan(1)
      for (const t of times) {
        expect(t).toBeGreaterThanOrEqual(1)
        expect(t).toBeLessThan(20)
      }
    }))

  it.effect("test_random_sleep_withoutmin_", () =>
    Effect.gen(function*() {
      const times = yield* waits(random(0, 2), 4)
      expect(new Set(times).size).toBeGreaterThan(1)
      for (const t of times) {
        expect(t).toBeGreaterThanOrEqual(0)
        expect(t).toBeLessThanOrEqual(2)
      }
    }))

  it.effect("test_exponential", () =>
    Effect.gen(function*() {
      expect(yield* waits(waitExponential(), 8)).toEqual([1, 2, 4, 8, 16, 32, 64, 128])
    }))

  it.effect("test_exponential_with_max_wait", () =>
    Effect.gen(function*() {
      const w = yield* waits(waitExponential({ max: 40 }), 50)
      expect(w.slice(0, 8)).toEqual([1, 2, 4, 8, 16, 32, 40, 40])
      expect(w[49]).toBe(40)
    }))

  it.effect("test_exponential_skips_power_after_reaching_max", () =>
    Effect.gen(function*() {
      // no exploding power in JS; far past the cap (where 2^n overflows to Infinity) the delay is still the cap
      const w = yield* waits(waitExponential({ max: 40 }), 1100)
      expect(w[49]).toBe(40)
      expect(w[1099]).toBe(40)
    }))

  it.effect("test_exponential_caps_when_max_multiplier_ratio_underflows", () =>
    Effect.gen(function*() {
      // a cap far below the base: every delay is the cap (in whole milliseconds: 1 ms). tenacity's multiplier of
      // 1e300 s is refused by Sturdy, as any baseDelay longer than a timer holds (documented on `exponential`), with
      // a RangeError naming it (it used to fail formatting the message: a BigInt of Infinity)
      expect(() => Backoff.exponential({ baseDelay: Duration.seconds(1e300), maxDelay: "1 millis" })).toThrow(
        /Backoff: baseDelay .* exceeds what a timer can hold/
      )
      const w = yield* waits(
        Backoff.exponential({ baseDelay: "1 hour", maxDelay: "1 millis", jitter: "none", maxAttempts: Infinity }),
        3
      )
      expect(w).toEqual([0.001, 0.001, 0.001])
    }))

  it.effect("test_exponential_with_min_wait", () =>
    Effect.gen(function*() {
      const w = yield* waits(waitExponential({ min: 20 }), 20)
      expect(w.slice(0, 8)).toEqual([20, 20, 20, 20, 20, 32, 64, 128])
      expect(w[19]).toBe(524288)
    }))

  it.effect("test_exponential_with_max_wait_and_multiplier", () =>
    Effect.gen(function*() {
      const w = yield* waits(waitExponential({ max: 50, multiplier: 1 }), 50)
      expect(w.slice(0, 8)).toEqual([1, 2, 4, 8, 16, 32, 50, 50])
      expect(w[49]).toBe(50)
    }))

  it.effect("test_exponential_with_min_wait_and_multiplier", () =>
    Effect.gen(function*() {
      const w = yield* waits(waitExponential({ min: 20, multiplier: 2 }), 20)
      expect(w.slice(0, 8)).toEqual([20, 20, 20, 20, 32, 64, 128, 256])
      expect(w[19]).toBe(1048576)
    }))

  it.effect("test_exponential_with_min_wait_andmax__wait", () =>
    Effect.gen(function*() {
      const w = yield* waits(waitExponential({ min: 10, max: 100 }), 20)
      expect(w.slice(0, 9)).toEqual([10, 10, 10, 10, 16, 32, 64, 100, 100])
      expect(w[19]).toBe(100)
    }))

  it.effect("test_wait_func", () =>
    Effect.gen(function*() {
      // a wait of the retry state: `Backoff.fromDelay(retry, failure)`
      const w = yield* Schedule.run(
        Backoff.fromDelay((retry: number, seconds: number) => Duration.seconds(retry * seconds)),
        0,
        [5, 11, 100]
      )
      expect(Chunk.toReadonlyArray(w).map(Duration.toSeconds)).toEqual([5, 22, 300])
    }))

  it.effect("test_wait_combine", () =>
    Effect.gen(function*() {
      // wait_combine(wait_random(0, 3), wait_fixed(5))
      const combined = Schedule.addDelayEffect(fixed(5), () => Effect.map(Random.nextRange(0, 3000), Math.floor))
      for (const w of yield* waits(combined, 1000)) {
        expect(w).toBeLessThan(8)
        expect(w).toBeGreaterThanOrEqual(5)
      }
    }))

  it.effect("test_wait_exception", () =>
    Effect.gen(function*() {
      // a wait chosen from the failure: `Backoff.fromDelay`'s second argument
      const byFailure = Backoff.fromDelay((_: number, e: Error) => e instanceof RangeError ? 3500 : 10_000)
      const w = yield* Schedule.run(byFailure, 0, [new RangeError(), new Error()])
      expect(Chunk.toReadonlyArray(w).map(Duration.toSeconds)).toEqual([3.5, 10])
    }))

  it.effect("test_wait_double_sum", () =>
    Effect.gen(function*() {
      for (const w of yield* waits(Schedule.addDelayEffect(random(0, 3), () => Effect.succeed("5 seconds")), 1000)) {
        expect(w).toBeLessThan(8)
        expect(w).toBeGreaterThanOrEqual(5)
      }
    }))

  it.effect("test_wait_triple_sum", () =>
    Effect.gen(function*() {
      const sum = random(0, 3).pipe(Schedule.addDelay(() => "1 second"), Schedule.addDelay(() => "5 seconds"))
      for (const w of yield* waits(sum, 1000)) {
        expect(w).toBeLessThan(9)
        expect(w).toBeGreaterThanOrEqual(6)
      }
    }))

  it.effect("test_wait_arbitrary_sum", () =>
    Effect.gen(function*() {
      const parts = [1, 5, 0].map((s) => Duration.seconds(s))
      const sum = parts.reduce(
        (acc: Schedule.Schedule<unknown, unknown>, d) => Schedule.addDelay(acc, () => d),
        random(0, 3)
      )
      for (const w of yield* waits(sum, 1000)) {
        expect(w).toBeLessThan(9)
        expect(w).toBeGreaterThanOrEqual(6)
      }
    }))

  it.effect("test_wait_chain", () =>
    Effect.gen(function*() {
      // wait_fixed(1) twice, wait_fixed(4) twice, then wait_fixed(8)
      const chain = Schedule.andThen(
        Schedule.andThen(
          Schedule.intersect(fixed(1), Schedule.recurs(2)),
          Schedule.intersect(fixed(4), Schedule.recurs(2))
        ),
        fixed(8)
      )
      const w = yield* waits(chain, 10)
      expect(w).toEqual([1, 1, 4, 4, 8, 8, 8, 8, 8, 8])
    }))

  it.effect("test_wait_chain_multiple_invocations", () =>
    Effect.gen(function*() {
      // wait_chain(fixed 1, 2, 3), stop_after_attempt(5), retry_if_result(x == 1): sleeps 1, 2, 3, 3; each call of
      // the retried effect starts the chain afresh
      const chain = Backoff.bounded(
        Schedule.andThen(
          Schedule.andThen(
            Schedule.intersect(fixed(1), Schedule.recurs(1)),
            Schedule.intersect(fixed(2), Schedule.recurs(1))
          ),
          fixed(3)
        ),
        { maxAttempts: 5 }
      )
      const alwaysReturn1 = Effect.filterOrFail(Effect.succeed(1), (x) => x !== 1, (x) => ({ result: x }))
      for (let run = 0; run < 2; run++) {
        const sleeps: Array<number> = []
        const exit = yield* advance(Retry.retry(alwaysReturn1, {
          schedule: chain,
          onAttempt: (a) => a.retrying ? Effect.sync(() => sleeps.push(Duration.toSeconds(a.delay))) : Effect.void
        }))
        expect(exit).toEqual(Exit.fail({ result: 1 }))
        expect(sleeps).toEqual([1, 2, 3, 3])
      }
    }))

  it.effect("test_wait_random_exponential", () =>
    Effect.gen(function*() {
      // wait_random_exponential(0.5, 60): full jitter under 0.5 × 2^(n − 1), at most 60
      const full = (baseDelay: Duration.DurationInput, maxDelay: Duration.DurationInput) =>
        Backoff.exponential({ baseDelay, maxDelay, jitter: "full", maxAttempts: Infinity })
      const uppers = [0.5, 1, 2, 4, 8, 16, 32, 60, 60]
      for (let run = 0; run < 200; run++) {
        const w = yield* waits(full("500 millis", "60 seconds"), 9)
        w.forEach((t, i) => {
          expect(t).toBeGreaterThanOrEqual(0)
          expect(t).toBeLessThanOrEqual(uppers[i]!)
        })
        const [first] = yield* waits(full("10 seconds", "5 seconds"), 1)
        expect(first).toBeGreaterThanOrEqual(0)
        expect(first).toBeLessThanOrEqual(5)
      }
      // "min wait": tenacity's min=5 floors a 1 s envelope to exactly 5
      const floored = Schedule.modifyDelay(full("1 second", "60 seconds"), (d) => Duration.max(d, Duration.seconds(5)))
      for (const t of yield* waits(floored, 1)) expect(t).toBe(5)
      // default arguments exist
      expect((yield* waits(Backoff.exponential(), 1)).length).toBe(1)
    }))

  it.effect("test_wait_random_exponential_statistically", () =>
    Effect.gen(function*() {
      // the mean of full jitter is half the envelope: 0.25, 0.5, 1, ... 30 once capped at 60
      const means = Array.from({ length: 9 }, () => 0)
      const runs = 4000
      for (let run = 0; run < runs; run++) {
        const w = yield* waits(
          Backoff.exponential({
            baseDelay: "500 millis",
            maxDelay: "60 seconds",
            jitter: "full",
            maxAttempts: Infinity
          }),
          9
        )
        w.forEach((t, i) => (means[i]! += t / runs))
      }
      const expected = [0.25, 0.5, 1, 2, 4, 8, 16, 30, 30]
      const epsilon = [0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 2.56]
      means.forEach((m, i) => expect(Math.abs(m - expected[i]!)).toBeLessThanOrEqual(epsilon[i]!))
    }).pipe(Effect.withRandom(Random.make("tenacity"))))

  /** tenacity's `wait_exponential_jitter(multiplier, max, jitter, min)`: min(max, multiplier × 2^(n − 1) + U[0, jitter]) */
  const exponentialJitter = (o: { multiplier?: number; max: number; jitter?: number; min?: number }) => {
    const jitterMillis = (o.jitter ?? 1) * 1000
    const jittered = Schedule.addDelayEffect(
      waitExponential({ multiplier: o.multiplier ?? 1 }),
      () => Effect.map(Random.nextRange(0, jitterMillis), Math.floor)
    )
    const capped = Backoff.bounded(jittered, { maxDelay: Duration.seconds(o.max) })
    const min = o.min
    return min === undefined ? capped : Schedule.modifyDelay(capped, (d) => Duration.max(d, Duration.seconds(min)))
  }

  it.effect("test_wait_exponential_jitter", () =>
    Effect.gen(function*() {
      for (let run = 0; run < 200; run++) {
        const w = yield* waits(exponentialJitter({ max: 60 }), 9)
        ;[1, 2, 4, 8, 16, 32].forEach((low, i) => {
          expect(w[i]).toBeGreaterThanOrEqual(low)
          expect(w[i]).toBeLessThanOrEqual(low + 1)
        })
        expect(w.slice(6)).toEqual([60, 60, 60])
      }
    }))

  it.effect("test_wait_exponential_jitter_min", () =>
    Effect.gen(function*() {
      for (let run = 0; run < 200; run++) {
        const w = yield* waits(exponentialJitter({ max: 60, jitter: 1, min: 5 }), 4)
        expect(w.slice(0, 3)).toEqual([5, 5, 5])
        expect(w[3]).toBeGreaterThanOrEqual(8)
        expect(w[3]).toBeLessThanOrEqual(9)
      }
    }))

  it.effect("test_wait_exponential_jitter_timedelta", () =>
    Effect.gen(function*() {
      for (let run = 0; run < 200; run++) {
        const w = yield* waits(exponentialJitter({ max: 60, jitter: 1, min: 5 }), 7)
        expect(w[0]).toBe(5)
        expect(w[4]).toBeGreaterThanOrEqual(16)
        expect(w[4]).toBeLessThanOrEqual(17)
        expect(w[6]).toBe(60)
      }
    }))

  it.effect("test_wait_exponential_jitter_multiplier", () =>
    Effect.gen(function*() {
      expect(yield* waits(exponentialJitter({ multiplier: 10, max: 60, jitter: 0 }), 4)).toEqual([10, 20, 40, 60])
    }))

  it.effect("test_wait_retry_state_attributes", () =>
    Effect.gen(function*() {
      // the wait sees the outcome of the attempt that failed and its number
      const seen: Array<[number, unknown]> = []
      const schedule = Backoff.bounded(
        Backoff.fromDelay((retry: number, failure: unknown) => (seen.push([retry, failure]), 0)),
        { maxAttempts: 2 }
      )
      const returnval = Effect.filterOrFail(Effect.succeed(123), () => false, (result) => ({ result }))
      yield* advance(Retry.retry(returnval, { schedule }))
      expect(seen).toEqual([[1, { result: 123 }]])
    }))
})

describe("tenacity tests/test_tenacity.py TestRetryConditions", () => {
  const attempts = <E>(r: { call: Effect.Effect<boolean, E> }, options: Retry.Options<E>) =>
    advance(Retry.retry(r.call, { schedule: Backoff.bounded(fixed(0), { maxAttempts: 20 }), ...options }))

  it.effect("test_retry_if_result", () =>
    Effect.gen(function*() {
      // retry_if_result(lambda x: x == 1): the result mapped to a typed failure
      let n = 0
      const call = Effect.filterOrFail(Effect.sync(() => ++n), (x) => x !== 1, (x) => ({ result: x }))
      expect(yield* advance(Retry.retry(call, { schedule: Backoff.bounded(fixed(0), {}) }))).toEqual(Exit.succeed(2))
    }))

  it.effect("test_retry_if_not_result", () =>
    Effect.gen(function*() {
      let n = 0
      const call = Effect.filterOrFail(Effect.sync(() => ++n), (x) => x === 3, (x) => ({ result: x }))
      expect(yield* advance(Retry.retry(call, { schedule: Backoff.bounded(fixed(0), {}) }))).toEqual(Exit.succeed(3))
    }))

  it.effect("test_retry_or", () =>
    Effect.gen(function*() {
      const r = failUntil(3, (): Error => new IOError("x"))
      const exit = yield* attempts(r, { while: (e) => e instanceof IOError || e instanceof NameError })
      expect(exit).toEqual(Exit.succeed(true))
      const n = failUntil(3, (): Error => new CustomError("x"))
      yield* attempts(n, { while: (e) => e instanceof IOError || e instanceof NameError })
      expect(n.calls).toBe(1)
    }))

  it.effect("test_retry_and", () =>
    Effect.gen(function*() {
      const r = failUntil(3, () => new IOError("retry"))
      expect(yield* attempts(r, { while: (e) => e instanceof IOError && e.message === "retry" })).toEqual(
        Exit.succeed(true)
      )
      const n = failUntil(3, () => new IOError("other"))
      yield* attempts(n, { while: (e) => e instanceof IOError && e.message === "retry" })
      expect(n.calls).toBe(1)
    }))

  it.effect("test_retry_if_exception_message_empty_message", () =>
    Effect.gen(function*() {
      // retry_if_exception_message(message=""): an empty message matches only itself
      const r = failUntil(3, () => new Error(""))
      expect(yield* attempts(r, { while: (e) => e.message === "" })).toEqual(Exit.succeed(true))
      const n = failUntil(3, () => new Error("x"))
      yield* attempts(n, { while: (e) => e.message === "" })
      expect(n.calls).toBe(1)
    }))
})

describe("tenacity tests/test_tenacity.py TestRetryConditions (TryAgain)", () => {
  it.effect("test_retry_try_again", () =>
    Effect.gen(function*() {
      // retry_never, but TryAgain is raised twice: a failure `while` accepts whatever else it refuses
      class TryAgain extends Error {
        readonly kind = "TryAgain"
      }
      let attempts = 0
      const call = Effect.suspend(() => ++attempts < 3 ? Effect.fail(new TryAgain()) : Effect.succeed(attempts))
      const exit = yield* advance(Retry.retry(call, {
        schedule: Backoff.bounded(Schedule.forever, { maxAttempts: 5 }),
        while: (e) => e instanceof TryAgain
      }))
      expect(exit).toEqual(Exit.succeed(3))
      expect(attempts).toBe(3)
    }))

  it.effect("test_retry_try_again_forever", () =>
    Effect.gen(function*() {
      // always TryAgain, stop_after_attempt(5): RetryError after 5 attempts (`finalFailure` is given 5)
      let attemptNumber = 0
      const exit = yield* advance(Retry.retry(Effect.fail("TryAgain"), {
        schedule: Backoff.bounded(Schedule.forever, { maxAttempts: 5 }),
        finalFailure: (e, attempts) => ((attemptNumber = attempts), e)
      }))
      expect(exit).toEqual(Exit.fail("TryAgain"))
      expect(attemptNumber).toBe(5)
    }))
})

describe("tenacity tests/test_tenacity.py TestRetryErrorCallback", () => {
  it.effect("test_retry_error_callback", () =>
    Effect.gen(function*() {
      // a value instead of the error when retrying gives up: `Effect.catchAll` after `Retry.retry`, called once
      let attemptNumber = 0
      let calledTimes = 0
      const foobar = Effect.suspend(
        () => (attemptNumber++, Effect.fail(new Error("This exception should not be raised")))
      )
      const exit = yield* advance(
        Retry.retry(foobar, { schedule: Backoff.bounded(Schedule.forever, { maxAttempts: 3 }) }).pipe(
          Effect.catchAll((e) => Effect.sync(() => (calledTimes++, { outcome: e })))
        )
      )
      expect(calledTimes).toBe(1)
      expect(attemptNumber).toBe(3)
      expect(Exit.isSuccess(exit) && exit.value.outcome).toBeInstanceOf(Error)
    }))
})

describe("tenacity tests/test_tenacity.py TestDecoratorWrapper", () => {
  it.effect("test_with_wait", () =>
    Effect.gen(function*() {
      // wait_fixed(0.05) until the fifth call returns: at least 250 ms
      const start = yield* TestClock.currentTimeMillis
      const r = failUntil(5, () => "none")
      const exit = yield* advance(Retry.retry(r.call, { schedule: Backoff.bounded(Schedule.spaced("50 millis"), {}) }))
      expect(exit).toEqual(Exit.succeed(true))
      expect((yield* TestClock.currentTimeMillis) - start).toBeGreaterThanOrEqual(250)
    }))

  it.effect("test_with_stop_on_return_value", () =>
    Effect.gen(function*() {
      // stop_after_attempt(3), retry_if_result(None): tenacity raises RetryError with attempt 3; Sturdy returns the
      // last failure, with the attempts made given to `finalFailure`
      const r = failUntil(5, () => ({ result: null, attempts: 0 }))
      const exit = yield* advance(Retry.retry(r.call, {
        schedule: Backoff.bounded(fixed(0), { maxAttempts: 3 }),
        finalFailure: (e, attempts) => ({ ...e, attempts })
      }))
      expect(exit).toEqual(Exit.fail({ result: null, attempts: 3 }))
    }))

  it.effect("test_with_stop_on_exception", () =>
    Effect.gen(function*() {
      const r = failUntil(5, () => new IOError("Hi there, I'm an IOError"))
      const exit = yield* advance(Retry.retry(r.call, { schedule: Backoff.bounded(fixed(0), { maxAttempts: 3 }) }))
      // the IOError itself, not a wrapper
      expect(failureOf(exit)).toBeInstanceOf(IOError)
      expect(r.calls).toBe(3)
    }))

  it.effect("test_retry_if_exception_of_type", () =>
    Effect.gen(function*() {
      const io = (e: unknown) => e instanceof IOError
      const a = failUntil(5, () => new IOError("x"))
      expect(yield* advance(Retry.retry(a.call, { schedule: Backoff.bounded(fixed(0), {}), while: io }))).toEqual(
        Exit.succeed(true)
      )
      const b = failUntil(5, (): Error => new NameError("x"))
      const exit = yield* advance(Retry.retry(b.call, { schedule: Backoff.bounded(fixed(0), {}), while: io }))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(b.calls).toBe(1)
      const c = failUntil(5, () => new CustomError("x"))
      expect(
        yield* advance(Retry.retry(c.call, {
          schedule: Backoff.bounded(fixed(0), {}),
          while: (e) => e instanceof CustomError
        }))
      ).toEqual(Exit.succeed(true))
    }))

  it.effect("test_retry_except_exception_of_type", () =>
    Effect.gen(function*() {
      const notIo = (e: unknown) => !(e instanceof IOError)
      const a = failUntil(5, () => new NameError("x"))
      expect(yield* advance(Retry.retry(a.call, { schedule: Backoff.bounded(fixed(0), {}), while: notIo }))).toEqual(
        Exit.succeed(true)
      )
      const b = failUntil(5, () => new IOError("x"))
      yield* advance(Retry.retry(b.call, { schedule: Backoff.bounded(fixed(0), {}), while: notIo }))
      expect(b.calls).toBe(1)
    }))

  it.effect("test_retry_until_exception_of_type_attempt_number", () =>
    Effect.gen(function*() {
      // retry_unless_exception_type(NameError): succeeds until the sixth call raises NameError
      let calls = 0
      let lastAttempt = 0
      const call = Effect.suspend((): Effect.Effect<never, NameError | IOError> =>
        ++calls > 5 ? Effect.fail(new NameError("x")) : Effect.fail(new IOError("y"))
      )
      yield* advance(Retry.retry(call, {
        schedule: Backoff.bounded(fixed(0), {}),
        while: (e, attempt) => ((lastAttempt = attempt), !(e instanceof NameError))
      }))
      expect(lastAttempt).toBe(6)
    }))

  it.effect("test_retry_if_exception_message", () =>
    Effect.gen(function*() {
      const r = failUntil(5, () => new NameError("Hi there, I'm a NameError"))
      expect(
        yield* advance(Retry.retry(r.call, {
          schedule: Backoff.bounded(fixed(0), {}),
          while: (e) => e.message === "Hi there, I'm a NameError"
        }))
      ).toEqual(Exit.succeed(true))
    }))

  it.effect("test_retry_if_not_exception_message", () =>
    Effect.gen(function*() {
      const r = failUntil(5, () => new NameError("Hi there, I'm a NameError"))
      const exit = yield* advance(Retry.retry(r.call, {
        schedule: Backoff.bounded(fixed(0), {}),
        while: (e) => e.message !== "Hi there, I'm a NameError"
      }))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(r.calls).toBe(1)
    }))

  it.effect("test_retry_if_exception_message_match", () =>
    Effect.gen(function*() {
      const r = failUntil(5, () => new NameError("Hi there, I'm a NameError"))
      expect(
        yield* advance(Retry.retry(r.call, {
          schedule: Backoff.bounded(fixed(0), {}),
          while: (e) => /^Hi there, I'm a NameError$/.test(e.message)
        }))
      ).toEqual(Exit.succeed(true))
    }))

  it.effect("test_retry_if_exception_cause_type", () =>
    Effect.gen(function*() {
      const r = failUntil(5, () => new Error("outer", { cause: new NameError("inner") }))
      expect(
        yield* advance(Retry.retry(r.call, {
          schedule: Backoff.bounded(fixed(0), {}),
          while: (e) => e.cause instanceof NameError
        }))
      ).toEqual(Exit.succeed(true))
    }))
})

describe("tenacity tests/test_tenacity.py TestBeforeAfterAttempts", () => {
  it.effect("test_before_attempts", () =>
    Effect.gen(function*() {
      // a call that succeeds at once makes no decision: `onAttempt` is never called (tenacity's `before` sees 1)
      const decisions: Array<Retry.Attempt<never>> = []
      const exit = yield* advance(Retry.retry(Effect.succeed(1), {
        schedule: Backoff.bounded(fixed(1), { maxAttempts: 1 }),
        onAttempt: (a) => Effect.sync(() => decisions.push(a))
      }))
      expect(exit).toEqual(Exit.succeed(1))
      expect(decisions).toEqual([])
    }))

  it.effect("test_after_attempts", () =>
    Effect.gen(function*() {
      // `after` sees the attempt that failed: `onAttempt`'s `attempt` is the one about to be made, so minus one
      let lastFailed = 0
      const r = failUntil(2, () => new Error("testing after_attempts handler"))
      yield* advance(Retry.retry(r.call, {
        schedule: Backoff.bounded(Schedule.spaced("100 millis"), { maxAttempts: 3 }),
        onAttempt: (a) => Effect.sync(() => (lastFailed = a.attempt - 1))
      }))
      expect(lastFailed).toBe(2)
    }))

  it.effect("test_before_sleep", () =>
    Effect.gen(function*() {
      let sleptAfter = 0
      const r = failUntil(2, () => new Error("testing before_sleep_attempts handler"))
      yield* advance(Retry.retry(r.call, {
        schedule: Backoff.bounded(Schedule.spaced("10 millis"), { maxAttempts: 3 }),
        onAttempt: (a) =>
          Effect.sync(() => {
            expect(a.retrying).toBe(true)
            expect(Duration.toMillis(a.delay)).toBeGreaterThan(0)
            sleptAfter = a.attempt - 1
          })
      }))
      expect(sleptAfter).toBe(2)
    }))

  it.effect("test_before_sleep_log_raises", () =>
    Effect.gen(function*() {
      // two "Retrying ... in 0.01 seconds as it raised IOError" lines: the two retry decisions, with their delay and
      // failure
      const lines: Array<string> = []
      const r = failUntil(2, () => new IOError("Hi there, I'm an IOError."))
      yield* advance(Retry.retry(r.call, {
        schedule: Backoff.bounded(Schedule.spaced("10 millis"), { maxAttempts: 3 }),
        onAttempt: (a) =>
          Effect.sync(() =>
            lines.push(`Retrying in ${Duration.toSeconds(a.delay)} seconds as it raised ${a.failure.message}`)
          )
      }))
      expect(lines).toEqual(Array(2).fill("Retrying in 0.01 seconds as it raised Hi there, I'm an IOError."))
    }))
})

describe("tenacity tests/test_tenacity.py TestReraiseExceptions", () => {
  it.effect("test_reraise_by_default", () =>
    Effect.gen(function*() {
      const r = failUntil(10, () => new Error("Bad key"))
      const exit = yield* advance(
        Retry.retry(r.call, { schedule: Backoff.bounded(Schedule.spaced("100 millis"), { maxAttempts: 2 }) })
      )
      expect(exit).toEqual(Exit.fail(new Error("Bad key")))
      expect(r.calls).toBe(2)
    }))

  it.effect("test_reraise_from_retry_error", () =>
    Effect.gen(function*() {
      // RetryError.reraise(): Sturdy's failure is the original; `finalFailure` may wrap it with the attempts made
      class RetryError extends Error {
        constructor(readonly last: Error, readonly attempts: number) {
          super("RetryError")
        }
      }
      const r = failUntil(10, (): Error => new Error("Bad key"))
      const exit = yield* advance(Retry.retry(r.call, {
        schedule: Backoff.bounded(Schedule.spaced("100 millis"), { maxAttempts: 2 }),
        finalFailure: (e, attempts) => new RetryError(e, attempts)
      }))
      const failure = failureOf(exit)
      expect(failure).toBeInstanceOf(RetryError)
      expect((failure as RetryError).last.message).toBe("Bad key")
      expect((failure as RetryError).attempts).toBe(2)
      expect(r.calls).toBe(2)
    }))

  it.effect("test_reraise_no_exception", () =>
    Effect.gen(function*() {
      // retry on every result: the result mapped to a failure, returned after the last attempt
      let calls = 0
      const call = Effect.filterOrFail(Effect.sync(() => ++calls), () => false, () => "retry on result")
      const exit = yield* advance(Retry.retry(call, {
        schedule: Backoff.bounded(Schedule.spaced("100 millis"), { maxAttempts: 2 })
      }))
      expect(exit).toEqual(Exit.fail("retry on result"))
      expect(calls).toBe(2)
    }))
})

describe("tenacity tests/test_tenacity.py TestStatistics", () => {
  const stats = () => {
    const s = { attempt_number: 1, idle_for: 0 }
    const onAttempt = (a: Retry.Attempt<unknown>) =>
      Effect.sync(() => {
        s.attempt_number = a.retrying ? a.attempt : a.attempt - 1
        if (a.retrying) s.idle_for += Duration.toSeconds(a.delay)
      })
    return { s, onAttempt }
  }

  it.effect("test_stats", () =>
    Effect.gen(function*() {
      const { onAttempt, s } = stats()
      expect(yield* advance(Retry.retry(Effect.succeed(42), { onAttempt }))).toEqual(Exit.succeed(42))
      expect(s.attempt_number).toBe(1)
    }))

  it.effect("test_stats_failing", () =>
    Effect.gen(function*() {
      const { onAttempt, s } = stats()
      yield* advance(Retry.retry(Effect.fail(42), {
        schedule: Backoff.bounded(Schedule.spaced("1 second"), { maxAttempts: 2 }),
        onAttempt
      }))
      expect(s).toEqual({ attempt_number: 2, idle_for: 1 })
    }))
})
