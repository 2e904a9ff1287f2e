// Ported from kamui/retriable (Ruby) at 5be1372e31868ec06ed0ee82be49d4117b43cfb8: `spec/retriable_spec.rb` (context
// "#retriable") and `spec/exponential_backoff_spec.rb`, one `it` per RSpec example, named after it, against
// `@sturdy/policy`'s `Retry.retry` and `Backoff`, every wait on the TestClock (`advanceToDone`), a schedule's delays read
// with `stepDelays` without sleeping. retriable's values are seconds; here they are milliseconds.
//
// Mapping: `tries: n` (attempts, the first included) is `maxAttempts: n`; `base_interval`, `multiplier`,
// `max_interval` are `Backoff.exponential`'s `baseDelay`, `factor`, `maxDelay`; `rand_factor: 0` is `jitter: "none"`,
// and the default `rand_factor: 0.5` (a delay in [0.5 t, 1.5 t]) is `jitter: "equal"` (a delay in [0.5 t, t]: Sturdy's
// jitter only shortens); `max_elapsed_time` is `maxElapsed`; `intervals: [...]` is
// `Backoff.bounded(Backoff.fromDelay((retry) => intervals[retry - 1]), { maxAttempts: intervals.length + 1 })`;
// `on: Class` (and arrays, Sets of classes) is `while: (e) => e instanceof Class`, and `on: { Class => /pattern/ }` a
// `while` that tests the message too; `retry_if` is `while`; `on_retry(exception, try, elapsed, next_interval)` is
// `onAttempt` (`try` is the decision's `attempt − 1`, `next_interval` its `delay`, nil when `retrying` is false);
// `on_give_up` is the `onAttempt` decision that gives up with a reason other than `"not-retryable"`
// (`:tries_exhausted` and `:max_elapsed_time` are both `"exhausted"`). Ruby's `StandardError` (retriable's default
// `on:`) is a typed failure (`while` retries every one by default); an `Exception` outside it (the spec's
// `NonStandardError`) is a defect, which is never retried.
//
// Deliberate differences (each test says which): the jitter only shortens a delay, so the seeded randomized intervals
// are asserted against Sturdy's envelope, not retriable's numbers (Ruby's `Random`); delays are whole milliseconds
// (rounded down); `maxElapsed` counts from the first failure and counts every wait (retriable's `sleep_disabled`
// test mode does not count skipped sleeps; the TestClock is Sturdy's way to skip them, and it counts them); Sturdy's
// `Backoff` defaults (100 ms, ×2, 10 s cap) are not retriable's (0.5 s, ×1.5, 60 s); `Backoff.exponential` with
// `maxAttempts: n` gives n − 1 delays, where retriable's `ExponentialBackoff.new(tries: n).intervals` has n.
//
// Not ported: the global-scope / Kernel extension examples, `#configure`, `#with_context`, `#with_override` and its
// thread-safety examples (Ruby mechanics: Sturdy's options are values, passed per call); "reuses the singleton config",
// "raises a LocalJumpError if not given a block", "raises ArgumentError on invalid options", "rejects timeout as an
// unknown option", "rejects on: Object" (the types refuse these); the `on_retry: false / nil` and `on_give_up: false /
// nil` examples (they override a global handler; Sturdy has none); "calls on_retry before on_give_up when giving up"
// (Sturdy reports one decision per failure, not two callbacks); "uses monotonic clock for elapsed time tracking"
// (Process.clock_gettime stubs: Sturdy's time is Effect's Clock, which the TestClock drives); the `tries:
// Float::INFINITY` with `intervals` and the `intervals` validation examples (an interval list is a `fromDelay`
// function here; its length bounds `maxAttempts` by construction); "does not validate generated backoff options when
// intervals are provided" (one schedule is given, the other is never built).
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Retry from "@sturdy/policy/Retry"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import type * as Schedule from "effect/Schedule"
import { advanceToDone } from "./utils/advance.js"
import { stepDelays } from "./utils/stepDelays.js"

class StandardError extends Error {}
class NonStandardError extends Error {}
class SecondNonStandardError extends NonStandardError {}
class DifferentError extends Error {}

/** retriable's defaults (tries 3, 0.5 s, ×1.5, 60 s, rand_factor 0.5) */
const retriable = (o: Backoff.Options = {}) =>
  Backoff.exponential({ baseDelay: 500, factor: 1.5, maxDelay: "60 seconds", jitter: "equal", maxAttempts: 3, ...o })
/** retriable's `intervals: [...]` (seconds) */
const intervals = (list: ReadonlyArray<number>) =>
  Backoff.bounded(Backoff.fromDelay((retry) => Duration.seconds(list[retry - 1]!)), { maxAttempts: list.length + 1 })

/** the spec's block: counts its tries (and when each ran), and raises what `raise(try)` says */
const block = (raise: (tries: number) => Error | "defect" | undefined) => {
  const state = { tries: 0, at: [] as Array<number> }
  const effect = Effect.gen(function*() {
    state.tries++
    state.at.push(yield* Clock.currentTimeMillis)
    const error = raise(state.tries)
    if (error === "defect") return yield* Effect.die(new NonStandardError(`NonStandardError occurred`))
    if (error !== undefined) return yield* Effect.fail(error)
    return state.tries
  })
  return { state, effect }
}
const always = (make: () => Error) => block(() => make())
const standard = () => new StandardError("StandardError occurred")

/** runs with `Retry.retry(options)` on the TestClock, recording the decisions */
const run = <E>(effect: Effect.Effect<number, E>, options: Retry.Options<E> = {}) =>
  Effect.gen(function*() {
    const decisions: Array<Retry.Attempt<E>> = []
    const exit = yield* advanceToDone(
      effect.pipe(
        Retry.retry({
          ...options,
          onAttempt: (a) => Effect.zipRight(Effect.sync(() => decisions.push(a)), options.onAttempt?.(a) ?? Effect.void)
        }),
        Effect.withRandom(Random.make(42))
      )
    )
    return { exit, decisions }
  })

/** on_retry's table: try → next_interval (ms), undefined when it gives up */
const table = <E>(decisions: ReadonlyArray<Retry.Attempt<E>>) =>
  Object.fromEntries(decisions.map((d) => [d.attempt - 1, d.retrying ? Duration.toMillis(d.delay) : undefined]))
/** the decisions on_give_up sees */
const gaveUp = <E>(decisions: ReadonlyArray<Retry.Attempt<E>>) =>
  decisions.filter((d) => !d.retrying && d.reason !== "not-retryable")

const failureOf = <A, E>(exit: Exit.Exit<A, E>) => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  return Option.getOrThrow(Cause.failureOption(exit.cause))
}

describe("retriable spec/retriable_spec.rb #retriable", () => {
  it.effect("stops at first try if the block does not raise an exception", () =>
    Effect.gen(function*() {
      const b = block(() => undefined)
      const { exit } = yield* run(b.effect, { schedule: retriable() })
      expect(exit).toEqual(Exit.succeed(1))
      expect(b.state.tries).toBe(1)
    }))

  it.effect("makes 3 tries when retrying block of code raising StandardError with no arguments", () =>
    Effect.gen(function*() {
      const b = always(standard)
      const { exit } = yield* run(b.effect, { schedule: retriable() })
      expect(failureOf(exit)).toBeInstanceOf(StandardError)
      expect(b.state.tries).toBe(3)
    }))

  it.effect("makes only 1 try when exception raised is not descendent of StandardError", () =>
    Effect.gen(function*() {
      // an Exception outside StandardError is a defect here: never retried
      const b = block(() => "defect")
      const { exit, decisions } = yield* run(b.effect, { schedule: retriable() })
      expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
      expect(b.state.tries).toBe(1)
      expect(decisions).toEqual([])
    }))

  it.effect("with custom exception tries 3 times and re-raises the exception", () =>
    Effect.gen(function*() {
      const b = always(() => new NonStandardError("NonStandardError occurred"))
      const { exit } = yield* run(b.effect, {
        schedule: retriable(),
        while: (e) => e instanceof NonStandardError
      })
      expect(failureOf(exit)).toBeInstanceOf(NonStandardError)
      expect(b.state.tries).toBe(3)
    }))

  it.effect("tries 10 times when specified", () =>
    Effect.gen(function*() {
      const b = always(standard)
      yield* run(b.effect, { schedule: retriable({ maxAttempts: 10 }) })
      expect(b.state.tries).toBe(10)
    }))

  it.effect("does not prebuild generated intervals before the first successful try", () =>
    Effect.gen(function*() {
      // nothing is stepped before the first failure: a schedule whose delay throws is never asked
      const b = block(() => undefined)
      const schedule = Backoff.bounded(
        Backoff.fromDelay((): number => {
          throw new Error("interval should not be used")
        }),
        { maxAttempts: 1_000_000 }
      )
      const { exit } = yield* run(b.effect, { schedule })
      expect(exit).toEqual(Exit.succeed(1))
      expect(b.state.tries).toBe(1)
    }))

  it.effect("supports unbounded retries until the block succeeds", () =>
    Effect.gen(function*() {
      const b = block((tries) => tries < 5 ? standard() : undefined)
      const { exit } = yield* run(b.effect, {
        schedule: retriable({ maxAttempts: Infinity, maxElapsed: "60 seconds" })
      })
      expect(exit).toEqual(Exit.succeed(5))
      expect(b.state.tries).toBe(5)
    }))

  it.effect("stops unbounded retries at max_elapsed_time", () =>
    Effect.gen(function*() {
      // base 10 ms, multiplier 1, rand_factor 0, max_elapsed_time 15 ms. retriable's mocked clock (sleeps disabled)
      // makes 3 tries; with the waits counted, the first retry starts at 10 ms and the second would at 20 ms, past the
      // 15 ms: 2 tries, given up as exhausted
      const b = always(standard)
      const { decisions } = yield* run(b.effect, {
        schedule: retriable({ baseDelay: 10, factor: 1, jitter: "none", maxAttempts: Infinity, maxElapsed: 15 })
      })
      expect(b.state.at).toEqual([0, 10])
      expect(decisions.at(-1)).toMatchObject({ retrying: false, reason: "exhausted" })
    }))

  it("raises ArgumentError when tries is Float::INFINITY without a finite max_elapsed_time", () => {
    // retriable refuses an unbounded retry without a time limit; Sturdy's `Backoff` accepts it (an unbounded schedule
    // is a caller's choice: `Deadline.withDeadline` or `maxElapsed` bounds it), as its docs say
    expect(() => Backoff.exponential({ maxAttempts: Infinity })).not.toThrow()
  })

  it("raises ArgumentError when tries is Float::INFINITY with infinite max_elapsed_time", () => {
    // as above: an infinite maxElapsed means none
    expect(() => Backoff.exponential({ maxAttempts: Infinity, maxElapsed: Infinity })).not.toThrow()
  })

  it("raises ArgumentError when tries is Float::NAN", () => {
    expect(() => retriable({ maxAttempts: Number.NaN })).toThrow(RangeError)
    expect(() => retriable({ maxAttempts: Number.NaN })).toThrow(/maxAttempts/)
  })

  it("raises ArgumentError when tries is negative infinity", () => {
    expect(() => retriable({ maxAttempts: -Infinity })).toThrow(/maxAttempts/)
  })

  it.effect("applies a randomized exponential backoff to each try", () =>
    Effect.gen(function*() {
      // retriable's seeded values lie in [0.5 t, 1.5 t] of t = 0.5 × 1.5ⁿ s; Sturdy's ("equal") in [0.5 t, t]
      const b = always(standard)
      const options = { baseDelay: 500, factor: 1.5, maxDelay: "60 seconds", jitter: "equal" } as const
      const { decisions } = yield* run(b.effect, { schedule: retriable({ maxAttempts: 10 }) })
      expect(b.state.tries).toBe(10)
      const t = table(decisions)
      expect(Object.keys(t).map(Number)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
      expect(t[10]).toBeUndefined()
      for (let n = 0; n < 9; n++) {
        const { lower, upper } = Backoff.envelope(options, n)
        expect(t[n + 1]).toBeGreaterThanOrEqual(Duration.toMillis(lower))
        expect(t[n + 1]).toBeLessThanOrEqual(Duration.toMillis(upper))
        expect(Duration.toMillis(upper)).toBe(Math.floor(500 * 1.5 ** n))
      }
    }))

  it.effect("calls on_give_up with max elapsed time details before re-raising", () =>
    Effect.gen(function*() {
      // intervals [1, 1], max_elapsed_time 0.5 s: the first retry would start at 1 s, past it
      const b = always(standard)
      const schedule = Backoff.bounded(intervals([1, 1]), { maxElapsed: 500 })
      const { exit, decisions } = yield* run(b.effect, { schedule })
      expect((failureOf(exit) as Error).message).toBe("StandardError occurred")
      expect(b.state.tries).toBe(1)
      const giveUps = gaveUp(decisions)
      expect(giveUps.length).toBe(1)
      // try 1, reason :max_elapsed_time ("exhausted")
      expect(giveUps[0]).toMatchObject({ attempt: 2, reason: "exhausted", retrying: false })
    }))

  it.effect("calls on_give_up with tries exhausted details before re-raising", () =>
    Effect.gen(function*() {
      const b = always(standard)
      const { exit, decisions } = yield* run(b.effect, { schedule: retriable({ maxAttempts: 2 }) })
      expect((failureOf(exit) as Error).message).toBe("StandardError occurred")
      const giveUps = gaveUp(decisions)
      expect(giveUps.length).toBe(1)
      // try 2, next_interval nil, :tries_exhausted
      expect(giveUps[0]).toMatchObject({ attempt: 3, reason: "exhausted", retrying: false })
      expect(b.state.tries).toBe(2)
    }))

  it.effect("does not call on_give_up when the block eventually succeeds", () =>
    Effect.gen(function*() {
      const b = block((tries) => tries < 2 ? standard() : undefined)
      const { exit, decisions } = yield* run(b.effect, { schedule: retriable() })
      expect(exit).toEqual(Exit.succeed(2))
      expect(gaveUp(decisions)).toEqual([])
    }))

  it.effect("does not call on_give_up for non-retriable exception types", () =>
    Effect.gen(function*() {
      const b = block(() => "defect")
      const { decisions } = yield* run(b.effect, { schedule: retriable() })
      expect(gaveUp(decisions)).toEqual([])
      expect(b.state.tries).toBe(1)
    }))

  it.effect("does not call on_give_up when retry_if rejects the exception", () =>
    Effect.gen(function*() {
      const b = always(standard)
      const { decisions } = yield* run(b.effect, { schedule: retriable(), while: () => false })
      expect(gaveUp(decisions)).toEqual([])
      expect(decisions.map((d) => d.reason)).toEqual(["not-retryable"])
      expect(b.state.tries).toBe(1)
    }))

  it.effect("propagates exceptions raised inside on_give_up, replacing the original exception", () =>
    Effect.gen(function*() {
      const b = always(standard)
      const exploded = new Error("handler exploded")
      const { exit } = yield* run(b.effect, {
        schedule: retriable({ maxAttempts: 1 }),
        onAttempt: (a) => a.retrying ? Effect.void : Effect.die(exploded)
      })
      expect(exit).toEqual(Exit.die(exploded))
    }))
})

describe("retriable spec/retriable_spec.rb #retriable with rand_factor 0.0 and an on_retry handler", () => {
  const none = { jitter: "none", maxAttempts: 6 } as const

  it.effect("applies a non-randomized exponential backoff to each try", () =>
    Effect.gen(function*() {
      const b = block((tries) => tries < 6 ? standard() : undefined)
      const { exit, decisions } = yield* run(b.effect, { schedule: retriable(none) })
      expect(exit).toEqual(Exit.succeed(6))
      // 1.6875 s and 2.53125 s, in whole milliseconds
      expect(table(decisions)).toEqual({ 1: 500, 2: 750, 3: 1125, 4: 1687, 5: 2531 })
    }))

  it.effect("obeys a max interval of 1.5 seconds", () =>
    Effect.gen(function*() {
      const b = always(standard)
      const { decisions } = yield* run(b.effect, { schedule: retriable({ ...none, maxDelay: 1500 }) })
      expect(table(decisions)).toEqual({ 1: 500, 2: 750, 3: 1125, 4: 1500, 5: 1500, 6: undefined })
    }))

  it.effect("obeys custom defined intervals", () =>
    Effect.gen(function*() {
      const list = [0.5, 0.75, 1.125, 1.5, 1.5]
      const b = always(standard)
      const { decisions } = yield* run(b.effect, { schedule: intervals(list) })
      expect(table(decisions)).toEqual({ 1: 500, 2: 750, 3: 1125, 4: 1500, 5: 1500, 6: undefined })
      expect(b.state.tries).toBe(list.length + 1)
    }))

  it.effect("intervals option overrides tries, base_interval, max_interval, rand_factor, and multiplier", () =>
    Effect.gen(function*() {
      // one schedule is given: the interval list, whatever exponential backoff could have been built
      const b = always(standard)
      const { decisions } = yield* run(b.effect, { schedule: intervals([0.1, 0.2, 0.3]) })
      expect(b.state.tries).toBe(4)
      expect(table(decisions)).toEqual({ 1: 100, 2: 200, 3: 300, 4: undefined })
    }))
})

describe("retriable spec/retriable_spec.rb #retriable :on", () => {
  const onClasses = (...classes: ReadonlyArray<abstract new(...args: Array<any>) => Error>) => (e: Error) =>
    classes.some((c) => e instanceof c)
  /** `on: { Class => pattern | [patterns] | nil }` */
  const onHash =
    (entries: ReadonlyArray<readonly [abstract new(...args: Array<any>) => Error, Array<RegExp> | null]>) =>
    (e: Error) =>
      entries.some(([c, patterns]) => e instanceof c && (patterns === null || patterns.some((p) => p.test(e.message))))

  it.effect("with an array :on parameter: handles both kinds of exceptions", () =>
    Effect.gen(function*() {
      const b = block((tries) => tries === 1 ? standard() : tries === 2 ? new NonStandardError("x") : undefined)
      const { exit } = yield* run(b.effect, {
        schedule: retriable(),
        while: onClasses(StandardError, NonStandardError)
      })
      expect(exit).toEqual(Exit.succeed(3))
    }))

  it.effect("with a Set :on parameter: retries each exception class in the Set", () =>
    Effect.gen(function*() {
      const on = new Set([StandardError, NonStandardError])
      const b = block((tries) => tries === 1 ? standard() : tries === 2 ? new NonStandardError("x") : undefined)
      const { exit } = yield* run(b.effect, { schedule: retriable(), while: onClasses(...on) })
      expect(exit).toEqual(Exit.succeed(3))
    }))

  it.effect("with a hash :on parameter: where the value is an exception message pattern", () =>
    Effect.gen(function*() {
      const b = always(() => new NonStandardError("NonStandardError occurred"))
      const { exit } = yield* run(b.effect, {
        schedule: retriable(),
        while: onHash([[NonStandardError, [/NonStandardError occurred/]]])
      })
      expect((failureOf(exit) as Error).message).toMatch(/NonStandardError occurred/)
      expect(b.state.tries).toBe(3)
    }))

  it.effect("with a hash :on parameter: matches exception subclasses when message matches pattern", () =>
    Effect.gen(function*() {
      const b = always(() => new SecondNonStandardError("SecondNonStandardError occurred"))
      const { exit } = yield* run(b.effect, {
        schedule: retriable(),
        while: onHash([[NonStandardError, [/NonStandardError occurred/]], [DifferentError, [
          /shouldn't happen/,
          /also not/
        ]]])
      })
      expect(failureOf(exit)).toBeInstanceOf(SecondNonStandardError)
      expect(b.state.tries).toBe(3)
    }))

  it.effect("with a hash :on parameter: does not retry matching exception subclass but not message", () =>
    Effect.gen(function*() {
      const b = always(() => new SecondNonStandardError("not a match"))
      const { exit } = yield* run(b.effect, {
        schedule: retriable(),
        while: onHash([[NonStandardError, [/NonStandardError occurred/]]])
      })
      expect((failureOf(exit) as Error).message).toBe("not a match")
      expect(b.state.tries).toBe(1)
    }))

  it.effect("with a hash :on parameter: does not call on_give_up when exception class matches but message does not", () =>
    Effect.gen(function*() {
      const b = always(() => new SecondNonStandardError("not a match"))
      const { decisions } = yield* run(b.effect, {
        schedule: retriable(),
        while: onHash([[NonStandardError, [/NonStandardError occurred/]]])
      })
      expect(gaveUp(decisions)).toEqual([])
      expect(b.state.tries).toBe(1)
    }))

  it.effect("with a hash :on parameter: successfully retries when the values are arrays of exception message patterns", () =>
    Effect.gen(function*() {
      const messages = ["foo", "bar"]
      const b = block((tries) =>
        tries <= 2
          ? new NonStandardError(messages[tries - 1])
          : tries === 3
          ? standard()
          : new NonStandardError("crash")
      )
      const { exit, decisions } = yield* run(b.effect, {
        schedule: retriable({ maxAttempts: 4 }),
        while: onHash([[StandardError, null], [NonStandardError, [/foo/, /bar/]]])
      })
      expect((failureOf(exit) as Error).message).toBe("crash")
      const retried = decisions.filter((d) => d.retrying).map((d) => d.failure)
      expect(retried[0]).toBeInstanceOf(NonStandardError)
      expect(retried[0]!.message).toBe("foo")
      expect(retried[1]!.message).toBe("bar")
      expect(retried[2]).toBeInstanceOf(StandardError)
    }))
})

describe("retriable spec/retriable_spec.rb #retriable :retry_if", () => {
  it.effect("retries only when retry_if returns true", () =>
    Effect.gen(function*() {
      const b = block((tries) => tries < 3 ? standard() : undefined)
      const { exit } = yield* run(b.effect, { schedule: retriable(), while: () => b.state.tries < 3 })
      expect(exit).toEqual(Exit.succeed(3))
    }))

  it.effect("does not retry when retry_if returns false", () =>
    Effect.gen(function*() {
      const b = always(standard)
      yield* run(b.effect, { schedule: retriable(), while: () => false })
      expect(b.state.tries).toBe(1)
    }))

  it.effect("can retry based on the wrapped exception cause", () =>
    Effect.gen(function*() {
      class RootCause extends Error {}
      class Wrapper extends Error {}
      const b = block((tries) => tries < 3 ? new Wrapper("wrapped", { cause: new RootCause("root cause") }) : undefined)
      const { exit } = yield* run(b.effect, {
        schedule: retriable(),
        while: (e) => e instanceof Wrapper && e.cause instanceof RootCause
      })
      expect(exit).toEqual(Exit.succeed(3))
    }))
})

describe("retriable spec/retriable_spec.rb #retriable max_elapsed_time", () => {
  it.effect("runs for a max elapsed time of 2 seconds", () =>
    Effect.gen(function*() {
      // base 1 s, multiplier 1, rand_factor 0, max_elapsed_time 2 s (tries 3): retriable makes 2 tries, since its
      // elapsed time includes the tries' own run time; Sturdy's starts at the first failure, and a retry may start
      // at the limit (2 s after it), not later, so the third try runs at 2 s
      const b = always(standard)
      yield* run(b.effect, { schedule: retriable({ baseDelay: 1000, factor: 1, jitter: "none", maxElapsed: 2000 }) })
      expect(b.state.at).toEqual([0, 1000, 2000])
      const tighter = always(standard)
      yield* run(tighter.effect, {
        schedule: retriable({ baseDelay: 1000, factor: 1, jitter: "none", maxElapsed: 1999 })
      })
      expect(tighter.state.tries).toBe(2)
    }))

  it.effect("does not count skipped sleep intervals against max elapsed time", () =>
    Effect.gen(function*() {
      // retriable's `sleep_disabled` does not count the intervals it skips (3 tries under max_elapsed_time 0.1 s with
      // 1 s intervals); Sturdy's TestClock skips the sleeps and counts them: the first retry would start at 1 s
      const b = always(standard)
      yield* run(b.effect, { schedule: retriable({ baseDelay: 1000, jitter: "none", maxElapsed: 100 }) })
      expect(b.state.tries).toBe(1)
    }))

  it.effect("retries up to tries limit when max_elapsed_time is nil", () =>
    Effect.gen(function*() {
      const b = always(standard)
      yield* run(b.effect, { schedule: retriable({ maxAttempts: 4, maxElapsed: undefined }) })
      expect(b.state.tries).toBe(4)
    }))

  it("raises ArgumentError when tries is not a positive integer", () => {
    expect(() => retriable({ maxAttempts: 1.5 })).toThrow(/maxAttempts/)
  })

  it("raises ArgumentError when configured timing options become invalid", () => {
    // tries = 0
    expect(() => retriable({ maxAttempts: 0 })).toThrow(/maxAttempts/)
  })

  it.effect("allows an empty interval array as one attempt", () =>
    Effect.gen(function*() {
      const b = always(standard)
      yield* run(b.effect, { schedule: intervals([]) })
      expect(b.state.tries).toBe(1)
    }))
})

describe("retriable spec/exponential_backoff_spec.rb", () => {
  /** the delays of `schedule` for `count` failures */
  const delaysOf = (schedule: Schedule.Schedule<unknown, unknown>, count = 20, seed = 0) =>
    stepDelays(schedule, Array.from({ length: count }, () => undefined), 0, seed)

  it("defaults: tries defaults to 3", () => {
    expect(Backoff.defaults.maxAttempts).toBe(3)
  })

  it("defaults: max interval defaults to 60", () => {
    // Sturdy's cap is 10 s
    expect(Duration.toMillis(Backoff.defaults.maxDelay)).toBe(10_000)
  })

  it("defaults: randomization factor defaults to 0.5", () => {
    // the example reads base_interval (0.5 s); Sturdy's base delay is 100 ms, and its default jitter is "full"
    expect(Duration.toMillis(Backoff.defaults.baseDelay)).toBe(100)
    expect(Backoff.defaults.jitter).toBe("full")
  })

  it("defaults: multiplier defaults to 1.5", () => {
    // Sturdy doubles
    expect(Backoff.defaults.factor).toBe(2)
  })

  it("generates 10 randomized intervals", () => {
    // retriable's tries: 9 gives 9 intervals; Sturdy's maxAttempts: 10 (9 retries). Each delay is in Sturdy's
    // envelope, [0.5 t, t] of t = 0.5 × 1.5ⁿ s, where retriable's seeded values are in [0.5 t, 1.5 t]
    const out = delaysOf(retriable({ maxAttempts: 10 }))
    expect(out.length).toBe(9)
    out.forEach((d, n) => {
      expect(d).toBeGreaterThanOrEqual(Math.floor(250 * 1.5 ** n))
      expect(d).toBeLessThanOrEqual(Math.floor(500 * 1.5 ** n))
    })
  })

  it("generates defined number of intervals", () => {
    expect(delaysOf(retriable({ maxAttempts: 6 })).length).toBe(5)
  })

  it("generates intervals with a defined base interval", () => {
    // base_interval 1 s: envelopes 1, 1.5, 2.25 s
    const out = delaysOf(retriable({ baseDelay: 1000, maxAttempts: 4 }))
    expect(out.length).toBe(3)
    ;[1000, 1500, 2250].forEach((t, n) => {
      expect(out[n]).toBeGreaterThanOrEqual(t / 2)
      expect(out[n]).toBeLessThanOrEqual(t)
    })
  })

  it("generates intervals with a defined multiplier", () => {
    // multiplier 1: every envelope is 0.5 s
    const out = delaysOf(retriable({ factor: 1, maxAttempts: 4 }))
    expect(out.length).toBe(3)
    for (const d of out) {
      expect(d).toBeGreaterThanOrEqual(250)
      expect(d).toBeLessThanOrEqual(500)
    }
  })

  it("generates intervals with a defined max interval", () => {
    expect(delaysOf(retriable({ maxDelay: 1000, jitter: "none", maxAttempts: 4 }))).toEqual([500, 750, 1000])
  })

  it("generates intervals with a defined rand_factor", () => {
    // rand_factor 0.2 (retriable: [0.8 t, 1.2 t]) has no Sturdy mode; "equal" ([0.5 t, t]) and "full" ([0, t]) are
    // its nearest: the same envelopes, shortened only
    for (const jitter of ["equal", "full"] as const) {
      const out = delaysOf(retriable({ jitter, maxAttempts: 4 }))
      ;[500, 750, 1125].forEach((t, n) => {
        expect(out[n]).toBeLessThanOrEqual(t)
        expect(out[n]).toBeGreaterThanOrEqual(jitter === "equal" ? t / 2 : 1)
      })
    }
  })

  it("generates 10 non-randomized intervals", () => {
    // 0.5 × 1.5ⁿ s, in whole milliseconds (rounded down)
    const expected = Array.from({ length: 10 }, (_, n) => Math.floor(500 * 1.5 ** n))
    expect(delaysOf(retriable({ jitter: "none", maxAttempts: 11 }))).toEqual(expected)
  })

  it("provides capped intervals lazily", () => {
    const out = delaysOf(
      Backoff.exponential({ baseDelay: 1000, factor: 2, maxDelay: 4000, jitter: "none", maxAttempts: Infinity }),
      5
    )
    expect(out).toEqual([1000, 2000, 4000, 4000, 4000])
  })
})
