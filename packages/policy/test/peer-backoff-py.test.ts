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
// `tests/test_backoff.py`'s decorators are `Retry.retry`: `on_exception(wait, KeyError)` is `while: instanceof`,
// `on_predicate` maps the result to a typed failure, `max_tries` is `maxAttempts`, `giveup(e)` is a `while` that
// refuses, and `on_backoff`/`on_giveup`/`on_success` are read from the `onAttempt` decisions (a success makes none).
// Deliberate differences (each test says which): `Backoff.exponential` refuses a `factor` below 1 (a shrinking
// envelope is `fromDelay`'s to draw); `fromDelay` rounds a fractional millisecond up, so a positive wait stays one.
// backoff's `max_time` counts from the first attempt and shortens the last sleep to fit; `maxElapsed` counts from the
// first failure and refuses a retry that would start later (as the p-retry port notes).
// Not ported (Python mechanics): the thread, logger, async and typing cases, callable `max_tries`/`max_time` (a
// schedule is built per use: compute the option when building it), the `_target`/args details.
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Retry from "@sturdy/policy/Retry"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schedule from "effect/Schedule"
import { advance } from "./utils/advance.js"

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

class KeyError extends Error {
  readonly kind = "KeyError"
}
class ValueError extends Error {
  readonly kind = "ValueError"
}

/** backoff's handlers, from the `onAttempt` decisions: a retry is `on_backoff`, a give-up `on_giveup` */
const handlers = () => {
  const backoffs: Array<{ tries: number; wait: number; exception: unknown }> = []
  const giveups: Array<{ tries: number; exception: unknown }> = []
  const onAttempt = (a: Retry.Attempt<unknown>) =>
    Effect.sync(() => {
      if (a.retrying) backoffs.push({ tries: a.attempt - 1, wait: Duration.toMillis(a.delay), exception: a.failure })
      else giveups.push({ tries: a.attempt - 1, exception: a.failure })
    })
  return { backoffs, giveups, onAttempt }
}

describe("backoff tests/test_backoff.py", () => {
  it.effect("test_on_predicate", () =>
    Effect.gen(function*() {
      // true on the third call; a false result is mapped to a failure to retry
      const log: Array<boolean> = []
      const returnTrue = Effect.filterOrFail(
        Effect.sync(() => {
          const val = log.length === 2
          log.push(val)
          return val
        }),
        (val) => val,
        () => "falsey"
      )
      expect(yield* advance(Retry.retry(returnTrue, { schedule: Backoff.bounded(expo(), {}) }))).toEqual(
        Exit.succeed(true)
      )
      expect(log.length).toBe(3)
    }))

  it.effect("test_on_predicate_max_tries", () =>
    Effect.gen(function*() {
      const log: Array<boolean> = []
      const returnTrue = Effect.filterOrFail(
        Effect.sync(() => {
          const val = log.length === 10
          log.push(val)
          return val
        }),
        (val) => val,
        (val) => val
      )
      const exit = yield* advance(Retry.retry(returnTrue, { schedule: Backoff.bounded(expo(), { maxAttempts: 3 }) }))
      // backoff returns the last falsey value; Sturdy fails with it
      expect(exit).toEqual(Exit.fail(false))
      expect(log.length).toBe(3)
    }))

  it.effect("test_on_exception", () =>
    Effect.gen(function*() {
      const log: Array<KeyError> = []
      const keyerrorThenTrue = Effect.suspend(() =>
        log.length === 3 ? Effect.succeed(true) : Effect.fail(log[log.push(new KeyError()) - 1]!)
      )
      const exit = yield* advance(Retry.retry(keyerrorThenTrue, {
        schedule: Backoff.bounded(expo(), {}),
        while: (e) => e instanceof KeyError
      }))
      expect(exit).toEqual(Exit.succeed(true))
      expect(log.length).toBe(3)
    }))

  it.effect("test_on_exception_tuple", () =>
    Effect.gen(function*() {
      const log: Array<Error> = []
      const call = Effect.suspend((): Effect.Effect<boolean, KeyError | ValueError> => {
        if (log.length === 2) return Effect.succeed(true)
        const e = log.length === 0 ? new KeyError() : new ValueError()
        log.push(e)
        return Effect.fail(e)
      })
      const exit = yield* advance(Retry.retry(call, {
        schedule: Backoff.bounded(expo(), {}),
        while: (e) => e instanceof KeyError || e instanceof ValueError
      }))
      expect(exit).toEqual(Exit.succeed(true))
      expect(log.length).toBe(2)
      expect(log[0]).toBeInstanceOf(KeyError)
      expect(log[1]).toBeInstanceOf(ValueError)
    }))

  it.effect("test_on_exception_max_tries", () =>
    Effect.gen(function*() {
      let calls = 0
      const call = Effect.suspend(() => (calls++, Effect.fail(new KeyError())))
      const exit = yield* advance(Retry.retry(call, {
        schedule: Backoff.bounded(expo(), { maxAttempts: 3 }),
        while: (e) => e instanceof KeyError
      }))
      expect(exit).toEqual(Exit.fail(new KeyError()))
      expect(calls).toBe(3)
    }))

  it.effect("test_on_exception_constant_iterable", () =>
    Effect.gen(function*() {
      // constant(interval=(1, 2, 3)): three waits, then the iterable is exhausted and it gives up
      const { backoffs, giveups, onAttempt } = handlers()
      const intervals = Schedule.andThen(
        Schedule.intersect(Schedule.spaced("1 second"), Schedule.recurs(1)),
        Schedule.andThen(
          Schedule.intersect(Schedule.spaced("2 seconds"), Schedule.recurs(1)),
          Schedule.intersect(Schedule.spaced("3 seconds"), Schedule.recurs(1))
        )
      )
      const exit = yield* advance(Retry.retry(Effect.fail(new KeyError("foo")), { schedule: intervals, onAttempt }))
      expect(exit).toEqual(Exit.fail(new KeyError("foo")))
      expect(backoffs.map((b) => b.wait)).toEqual([1000, 2000, 3000])
      expect(giveups.length).toBe(1)
    }))

  it.effect("test_on_exception_success", () =>
    Effect.gen(function*() {
      // succeeds after backing off twice: two `on_backoff` with tries 1 and 2 and wait 0, no give-up
      const { backoffs, giveups, onAttempt } = handlers()
      const succeeder = Effect.suspend(() =>
        backoffs.length < 2 ? Effect.fail(new ValueError("catch me")) : Effect.succeed("ok")
      )
      const exit = yield* advance(
        Retry.retry(succeeder, { schedule: Backoff.bounded(Schedule.spaced(0), {}), onAttempt })
      )
      expect(exit).toEqual(Exit.succeed("ok"))
      expect(backoffs.map(({ tries, wait }) => ({ tries, wait }))).toEqual([{ tries: 1, wait: 0 }, {
        tries: 2,
        wait: 0
      }])
      for (const b of backoffs) expect(b.exception).toBeInstanceOf(ValueError)
      expect(giveups.length).toBe(0)
    }))

  it.effect("test_on_exception_giveup", () =>
    Effect.gen(function*() {
      // max_tries 3: backs off twice and gives up once, on the third try, with the ValueError raised
      const { backoffs, giveups, onAttempt } = handlers()
      const exit = yield* advance(Retry.retry(Effect.fail(new ValueError("catch me")), {
        schedule: Backoff.bounded(Schedule.spaced(0), { maxAttempts: 3 }),
        onAttempt
      }))
      expect(exit).toEqual(Exit.fail(new ValueError("catch me")))
      expect(backoffs.length).toBe(2)
      expect(giveups.map((g) => g.tries)).toEqual([3])
      expect(giveups[0]!.exception).toBeInstanceOf(ValueError)
    }))

  it.effect("test_on_exception_giveup_predicate", () =>
    Effect.gen(function*() {
      // giveup(e) = str(e) == "baz": the third failure, "baz", is not retried
      const vals = ["baz", "bar", "foo"]
      const fooBarBaz = Effect.suspend(() => Effect.fail(new ValueError(vals.pop())))
      const exit = yield* advance(Retry.retry(fooBarBaz, {
        schedule: Backoff.bounded(Schedule.spaced(0), {}),
        while: (e) => e.message !== "baz"
      }))
      expect(exit).toEqual(Exit.fail(new ValueError("baz")))
      expect(vals).toEqual([])
    }))
})
