// Ported from the Python `backoff` library's `tests/test_wait_gen.py` and `tests/test_jitter.py` (litl/backoff), one
// `it` per peer case, named after it, against `@sturdy/policy`'s `Backoff` and the Effect `Schedule` combinators it
// bounds, without sleeping (a schedule's delays are read with `Schedule.run`). backoff's values are seconds; here they
// are the same numbers of seconds, in whole milliseconds.
// Option mapping: `expo(base, factor, max_value)` is `Backoff.exponential({ factor: base, baseDelay: factor, maxDelay:
// max_value, jitter: "none" })` (its first value is `factor`, before the second attempt, as Sturdy's retry 0);
// `fibo(max_value)` is `Backoff.bounded(Schedule.fibonacci, { maxDelay })`; `constant(interval)` is
// `Schedule.spaced`; `runtime(value)` is `Backoff.fromDelay`, whose delay function is given the failure;
// `decay(initial, factor, min)` is `Backoff.fromDelay` with the floor applied in the function; `full_jitter` is
// `jitter: "full"`.
// Deliberate differences (each test says which): `Backoff.exponential` refuses a `factor` below 1 (a shrinking
// envelope is `fromDelay`'s to draw); `fromDelay` rounds a fractional millisecond up, so a positive wait stays one.
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"

/** the delays (in seconds) a schedule chooses for `inputs`, one per retry, without sleeping */
const waitsFor = <In>(s: Schedule.Schedule<unknown, In>, inputs: ReadonlyArray<In>) =>
  Effect.map(
    Schedule.run(Backoff.bounded(s, {}), 0, inputs),
    (out) => Chunk.toReadonlyArray(out).map((d) => Duration.toMillis(d) / 1000)
  )
const waits = (s: Schedule.Schedule<unknown, unknown>, count: number) =>
  waitsFor(s, Array.from({ length: count }, () => undefined))

/** backoff's `expo(base, factor, max_value)` */
const expo = (o: { base?: number; factor?: number; maxValue?: number } = {}) =>
  Backoff.exponential({
    baseDelay: Duration.seconds(o.factor ?? 1),
    factor: o.base ?? 2,
    maxDelay: o.maxValue === undefined ? Infinity : Duration.seconds(o.maxValue),
    jitter: "none",
    maxAttempts: Infinity
  })

/** backoff's `decay(initial_value, decay_factor, min_value)`: initial × e^(−t × factor), never below min */
const decay = (o: { initial?: number; factor?: number; min?: number } = {}) =>
  Backoff.fromDelay((retry) =>
    Duration.seconds(Math.max((o.initial ?? 1) * Math.E ** (-(retry - 1) * (o.factor ?? 1)), o.min ?? 0))
  )

/**
 * a value in seconds as `fromDelay` waits it: whole milliseconds, a fraction rounded up (a value below half a
 * nanosecond, 100 × e^−27 s, is already zero as an Effect `Duration`, so no wait)
 */
const asWaited = (seconds: number) => Math.ceil(Duration.toMillis(Duration.seconds(seconds))) / 1000

const range = (n: number) => Array.from({ length: n }, (_, i) => i)

describe("backoff tests/test_wait_gen.py", () => {
  it.effect("test_decay", () =>
    Effect.gen(function*() {
      expect(yield* waits(decay(), 10)).toEqual(range(10).map((i) => asWaited(Math.E ** -i)))
      // `Backoff.exponential` refuses a shrinking envelope
      expect(() => Backoff.exponential({ factor: Math.E ** -1 })).toThrow(/factor/)
    }))

  it.effect("test_decay_init100", () =>
    Effect.gen(function*() {
      expect(yield* waits(decay({ initial: 100 }), 10)).toEqual(range(10).map((i) => asWaited(100 * Math.E ** -i)))
    }))

  it.effect("test_decay_init100_decay3", () =>
    Effect.gen(function*() {
      expect(yield* waits(decay({ initial: 100, factor: 3 }), 10)).toEqual(
        range(10).map((i) => asWaited(100 * Math.E ** (-i * 3)))
      )
    }))

  it.effect("test_decay_init100_decay3_min5", () =>
    Effect.gen(function*() {
      expect(yield* waits(decay({ initial: 100, factor: 3, min: 5 }), 10)).toEqual(
        range(10).map((i) => asWaited(Math.max(100 * Math.E ** (-i * 3), 5)))
      )
    }))

  it.effect("test_expo", () =>
    Effect.gen(function*() {
      expect(yield* waits(expo(), 9)).toEqual(range(9).map((i) => 2 ** i))
    }))

  it.effect("test_expo_base3", () =>
    Effect.gen(function*() {
      expect(yield* waits(expo({ base: 3 }), 9)).toEqual(range(9).map((i) => 3 ** i))
    }))

  it.effect("test_expo_factor3", () =>
    Effect.gen(function*() {
      expect(yield* waits(expo({ factor: 3 }), 9)).toEqual(range(9).map((i) => 3 * 2 ** i))
    }))

  it.effect("test_expo_base3_factor5", () =>
    Effect.gen(function*() {
      expect(yield* waits(expo({ base: 3, factor: 5 }), 9)).toEqual(range(9).map((i) => 5 * 3 ** i))
    }))

  it.effect("test_expo_max_value", () =>
    Effect.gen(function*() {
      expect(yield* waits(expo({ maxValue: 2 ** 4 }), 7)).toEqual([1, 2, 4, 8, 16, 16, 16])
    }))

  it.effect("test_fibo", () =>
    Effect.gen(function*() {
      expect(yield* waits(Schedule.fibonacci("1 second"), 7)).toEqual([1, 1, 2, 3, 5, 8, 13])
    }))

  it.effect("test_fibo_max_value", () =>
    Effect.gen(function*() {
      expect(yield* waits(Backoff.bounded(Schedule.fibonacci("1 second"), { maxDelay: "8 seconds" }), 8)).toEqual([
        1,
        1,
        2,
        3,
        5,
        8,
        8,
        8
      ])
    }))

  it.effect("test_constant", () =>
    Effect.gen(function*() {
      expect(yield* waits(Schedule.spaced("3 seconds"), 9)).toEqual(Array(9).fill(3))
      expect(yield* waits(Backoff.fromDelay(() => "3 seconds"), 9)).toEqual(Array(9).fill(3))
    }))

  it.effect("test_runtime", () =>
    Effect.gen(function*() {
      // the wait is read from what the attempt returned (a failure, under `Retry.retry`)
      const runtime = Backoff.fromDelay((_retry: number, value: number) => Duration.seconds(value))
      expect(yield* waitsFor(runtime, range(20))).toEqual(range(20))
    }))
})

describe("backoff tests/test_jitter.py", () => {
  it.effect("test_full_jitter", () =>
    Effect.gen(function*() {
      // full_jitter(value) is uniform in [0, value]: full jitter under a constant envelope of `value` s (factor 1)
      for (let input = 0; input < 100; input++) {
        const full = Backoff.exponential({
          baseDelay: Duration.seconds(input),
          factor: 1,
          maxDelay: Infinity,
          jitter: "full",
          maxAttempts: Infinity
        })
        const jitters = yield* waits(full, 100)
        expect(jitters.length).toBe(100)
        for (const jitter of jitters) {
          expect(jitter).toBeGreaterThanOrEqual(0)
          expect(jitter).toBeLessThanOrEqual(input)
        }
      }
    }))
})
