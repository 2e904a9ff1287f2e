// Ported from sethvargo/go-retry (commit a324c6800a6189fc368379f95605517663d73d32): `backoff_test.go`,
// `backoff_constant_test.go`, `backoff_exponential_test.go`, `backoff_fibonacci_test.go` and `retry_test.go`, one `it`
// per Go test (a table's rows, or a `t.Run` subtest, one `it` each), named after it, plus the `Example*` functions
// that carry a checked `// Output:`. Against `@sturdy/policy`'s `Backoff` schedules (stepped with `stepDelays`),
// `Retry.retry` and `Deadline` on the TestClock, and `@sturdy/testing`'s schedule laws.
// Option mapping: `NewExponential(base)` is `Backoff.exponential({ baseDelay: base, factor: 2, maxDelay: Infinity,
// jitter: "none", maxAttempts: Infinity })`; `NewConstant(t)` is `Backoff.fromDelay(() => t)`; `NewFibonacci(base)`
// (1, 2, 3, 5, 8... × base) has no Sturdy counterpart and is built here from `Backoff.fromDelay` (`fibonacci` below;
// Effect's `Schedule.fibonacci` starts 1, 1, 2, ... instead); `WithMaxRetries(n, b)` is `Backoff.bounded(b,
// { maxAttempts: n + 1 })`; `WithCappedDuration(c, b)` is `bounded(b, { maxDelay: c })`; `WithMaxDuration(d, b)` is
// `bounded(b, { maxElapsed: d })`; `RetryableError(err)` is a failure that `while` accepts (Sturdy classifies with a
// predicate, not a wrapper), any other failure is one it refuses; `Do`/`DoValue` are `Retry.retry`; a `context` with a
// timeout is `Deadline.withDeadline`, a cancelled one an expired deadline or the interruption of the retrying fiber.
// Go's nanosecond delays are scaled to milliseconds (Sturdy's delays are whole milliseconds); `b.Next()` called from
// goroutines and sorted is stepping the schedule in order (a Sturdy schedule's state is a value, not shared).
// Deliberate differences (each test says which): Sturdy's jitter only shortens a delay (`"equal"`: [t/2, t]) where
// `WithJitter`/`WithJitterPercent` spread it both ways; the nearest both-ways counterpart is the jitter `Retry.retry`
// adds to a server's wait (`retryAfterJitter`, `maxRetryAfterJitter`), which only lengthens it, so that half is
// asserted; `maxElapsed` ends retrying when the next delay would end past it, rather than shortening the last delay
// to fit (as `WithMaxDuration` does), and counts from the first failure rather than from construction; a delay
// saturates at what a timer holds (2^31 − 1 ms) where Go saturates at `math.MaxInt64` ns, and a `baseDelay` above it
// is refused at construction; when the next attempt would start past the deadline, `Retry.retry` returns the
// original failure at once (Go waits for the context and returns `context.DeadlineExceeded`).
// Not ported: TestRetryableError (the text of Go's wrapper: Sturdy has no wrapper), the `Example*` functions without
// an `// Output:` (they only show composition, and `ExampleDo_customRetry`/`ExampleDoValue` call google.com).
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Deadline from "@sturdy/policy/Deadline"
import * as Retry from "@sturdy/policy/Retry"
import { laws } from "@sturdy/testing/ScheduleKit"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import type * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as Intervals from "effect/ScheduleIntervals"
import { advance, advanceToDone } from "./utils/advance.js"
import { stepDelays } from "./utils/stepDelays.js"

/** `retry.RetryableError(err)` when `retryable`, a plain error otherwise */
class Oops extends Data.TaggedError("Oops")<{ readonly message: string; readonly retryable: boolean }> {}

const maxTimerMillis = 2 ** 31 - 1
const times = (n: number): Array<undefined> => Array.from({ length: n }, () => undefined)

/** `retry.NewExponential(base)`: doubling, no cap, no jitter, never stops */
const newExponential = (base: Duration.DurationInput) =>
  Backoff.exponential({
    baseDelay: base,
    factor: 2,
    maxDelay: Duration.infinity,
    jitter: "none",
    maxAttempts: Infinity
  })

/** `retry.NewConstant(t)` */
const newConstant = (t: Duration.DurationInput) => Backoff.fromDelay(() => t)

/** The n-th Fibonacci number of go-retry's sequence (1, 2, 3, 5, 8, ...), n 1-based */
const fib = (n: number): number => {
  let [a, b] = [1, 1]
  for (let i = 0; i < n; i++) [a, b] = [b, a + b]
  return a
}

/**
 * `retry.NewFibonacci(base)`: go-retry's Fibonacci backoff has no Sturdy counterpart; built from `Backoff.fromDelay`
 * (the wait before retry n is base × fib(n)), for these tests only.
 */
const newFibonacci = (base: number) => Backoff.fromDelay((retry) => base * fib(retry))

/** `retry.Do(ctx, b, f)`: only `Oops` failures marked retryable are retried */
const doRetry = <A>(
  schedule: Schedule.Schedule<unknown, Oops>,
  f: Effect.Effect<A, Oops>,
  onAttempt?: (a: Retry.Attempt<Oops>) => void
) =>
  Retry.retry(f, {
    schedule,
    while: (e) => e.retryable,
    onAttempt: (a) => Effect.sync(() => onAttempt?.(a))
  })

/** an operation that counts its calls */
const counted = <A, E>(outcome: (call: number) => Effect.Effect<A, E>) => {
  const op: { calls: number; readonly f: Effect.Effect<A, E> } = {
    calls: 0,
    f: Effect.suspend(() => outcome(++op.calls))
  }
  return op
}

/** one step of a schedule at `now`: the delay, or `undefined` when it is done */
const stepAt = <In>(schedule: Schedule.Schedule<unknown, In>, now: number, input: In, state: unknown) =>
  Effect.map(schedule.step(now, input, state), ([next, , decision]) => ({
    state: next,
    delay: ScheduleDecision.isDone(decision) ? undefined : Intervals.start(decision.intervals) - now
  }))

describe("go-retry backoff_constant_test.go", () => {
  // TestConstantBackoff: Go's 1 ns is 1 ms here
  it("TestConstantBackoff/single", () => {
    expect(stepDelays(newConstant(1), times(1))).toEqual([1])
  })

  it("TestConstantBackoff/max", () => {
    expect(stepDelays(newConstant("10 millis"), times(5))).toEqual([10, 10, 10, 10, 10])
  })

  it("TestConstantBackoff/many", () => {
    expect(stepDelays(newConstant(1), times(14))).toEqual(Array.from({ length: 14 }, () => 1))
  })

  it("ExampleNewConstant", () => {
    expect(stepDelays(newConstant("1 second"), times(5))).toEqual([1000, 1000, 1000, 1000, 1000])
  })
})

describe("go-retry backoff_exponential_test.go", () => {
  it("TestExponentialBackoff/single", () => {
    expect(stepDelays(newExponential(1), times(1))).toEqual([1])
  })

  it("TestExponentialBackoff/many", () => {
    expect(stepDelays(newExponential(1), times(14))).toEqual(Array.from({ length: 14 }, (_, n) => 2 ** n))
  })

  it("TestExponentialBackoff/overflow", () => {
    // Go starts at 100 000 h and saturates at math.MaxInt64 ns after five doublings. Sturdy refuses a baseDelay no
    // timer can hold (documented), naming the option...
    expect(() => newExponential("100000 hours")).toThrow(RangeError)
    expect(() => newExponential("100000 hours")).toThrow(/baseDelay/)
    // ...and saturates at what a timer holds (2^31 − 1 ms): from 2^27 ms, four doublings, then the ceiling for good
    const base = 2 ** 27
    expect(stepDelays(newExponential(base), times(10))).toEqual([
      base,
      2 * base,
      4 * base,
      8 * base,
      ...Array.from({ length: 6 }, () => maxTimerMillis)
    ])
    // the same as a law: the envelope grows to the ceiling and never falls from it (no overflow back to small)
    expect(laws.envelopeMonotone(newExponential(base), { seeds: 1, attempts: 40, maxDelay: maxTimerMillis })).toBe(
      true
    )
    expect(laws.capHolds(newExponential(base), maxTimerMillis, { seed: 0, attempts: 40 })).toBe(true)
  })

  it("ExampleNewExponential", () => {
    expect(stepDelays(newExponential("1 second"), times(5))).toEqual([1000, 2000, 4000, 8000, 16000])
  })
})

describe("go-retry backoff_fibonacci_test.go", () => {
  it("TestFibonacciBackoff/single", () => {
    expect(stepDelays(newFibonacci(1), times(1))).toEqual([1])
  })

  it("TestFibonacciBackoff/max", () => {
    expect(stepDelays(newFibonacci(10), times(5))).toEqual([10, 20, 30, 50, 80])
  })

  it("TestFibonacciBackoff/many", () => {
    expect(stepDelays(newFibonacci(1), times(14))).toEqual([1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610])
  })

  it("TestFibonacciBackoff/overflow", () => {
    // Go: 100 000 h × 1, 2, 3, 5, 8, 13, 21, then math.MaxInt64 ns. `fromDelay` holds every delay to what a timer
    // holds, so a base of 100 000 h is the ceiling from the first retry on...
    const hours = Duration.toMillis("100000 hours")
    expect(stepDelays(newFibonacci(hours), times(10))).toEqual(Array.from({ length: 10 }, () => maxTimerMillis))
    // ...and from 2^27 ms it grows six times, then stays at the ceiling
    const base = 2 ** 27
    expect(stepDelays(newFibonacci(base), times(10))).toEqual([
      base,
      2 * base,
      3 * base,
      5 * base,
      8 * base,
      13 * base,
      ...Array.from({ length: 4 }, () => maxTimerMillis)
    ])
    expect(laws.envelopeMonotone(newFibonacci(base), { seeds: 1, attempts: 40, maxDelay: maxTimerMillis })).toBe(true)
  })

  it("ExampleNewFibonacci", () => {
    expect(stepDelays(newFibonacci(1000), times(5))).toEqual([1000, 2000, 3000, 5000, 8000])
  })
})

describe("go-retry backoff_test.go", () => {
  it.effect("TestWithJitter", () =>
    Effect.gen(function*() {
      // Go: WithJitter(250 ms) on a constant 1 s lies in [750 ms, 1250 ms]. Sturdy's jitter only shortens a delay
      // (documented): `"equal"` on a 1 s envelope lies in [500, 1000] ms, never above the envelope...
      const equal = { baseDelay: "1 second", factor: 1, jitter: "equal", maxAttempts: 2 } as const
      for (let seed = 0; seed < 500; seed++) {
        const [val] = stepDelays(Backoff.exponential(equal), times(1), 0, seed)
        expect(val).toBeGreaterThanOrEqual(500)
        expect(val).toBeLessThanOrEqual(1000)
      }
      expect(laws.capHolds(Backoff.exponential({ ...equal, maxAttempts: 50 }), 1000, { seed: 7, attempts: 49 })).toBe(
        true
      )
      // ...while the absolute jitter Retry adds to a server's wait of 1 s (up to 250 ms) lies in [1000, 1250] ms:
      // the upper half of the peer's range
      const waits: Array<number> = []
      for (let seed = 0; seed < 50; seed++) {
        const op = counted((call) =>
          call === 1 ? Effect.fail(new Oops({ message: "oops", retryable: true })) : Effect.void
        )
        yield* advanceToDone(
          Retry.retry(op.f, {
            schedule: newConstant("1 second"),
            delayHint: () => Option.some(Duration.seconds(1)),
            retryAfterJitter: 1,
            maxRetryAfterJitter: "250 millis",
            onAttempt: (a) => Effect.sync(() => waits.push(Duration.toMillis(a.delay)))
          }).pipe(Effect.withRandom(Random.make(seed)))
        )
      }
      expect(waits).toHaveLength(50)
      expect(Math.min(...waits)).toBeGreaterThanOrEqual(1000)
      expect(Math.max(...waits)).toBeLessThanOrEqual(1250)
      // it is jitter: the seeds spread the waits
      expect(new Set(waits).size).toBeGreaterThan(10)
    }))

  it.effect("TestWithJitterPercent", () =>
    Effect.gen(function*() {
      // Go: WithJitterPercent(5) on 1 s lies in [950 ms, 1050 ms]. Sturdy has no percentage jitter on a backoff; the
      // percentage it does have is `retryAfterJitter` on a server's wait, which only lengthens: [1000, 1050] ms
      const waits: Array<number> = []
      for (let seed = 0; seed < 50; seed++) {
        const op = counted((call) =>
          call === 1 ? Effect.fail(new Oops({ message: "oops", retryable: true })) : Effect.void
        )
        yield* advanceToDone(
          Retry.retry(op.f, {
            schedule: newConstant("1 second"),
            delayHint: () => Option.some(Duration.seconds(1)),
            retryAfterJitter: 0.05,
            onAttempt: (a) => Effect.sync(() => waits.push(Duration.toMillis(a.delay)))
          }).pipe(Effect.withRandom(Random.make(seed)))
        )
      }
      expect(waits).toHaveLength(50)
      expect(Math.min(...waits)).toBeGreaterThanOrEqual(1000)
      expect(Math.max(...waits)).toBeLessThanOrEqual(1050)
      // it is jitter: the seeds spread the waits
      expect(new Set(waits).size).toBeGreaterThan(10)
    }))

  it("TestWithMaxRetries", () => {
    // three retries of 1 s, then stop
    const b = Backoff.bounded(newConstant("1 second"), { maxAttempts: 3 + 1 })
    expect(stepDelays(b, times(10))).toEqual([1000, 1000, 1000])
    expect(laws.attemptsBounded(b, 3, { seed: 0 })).toBe(true)
  })

  it("TestWithMaxRetries_Zero", () => {
    // no retry at all: the first step is done
    const b = Backoff.bounded(newConstant("1 second"), { maxAttempts: 0 + 1 })
    expect(stepDelays(b, times(10))).toEqual([])
    expect(laws.attemptsBounded(b, 0, { seed: 0 })).toBe(true)
  })

  it("TestWithCappedDuration", () => {
    const b = Backoff.bounded(newConstant("5 seconds"), { maxDelay: "3 seconds" })
    expect(stepDelays(b, times(1))).toEqual([3000])
    expect(laws.capHolds(b, 3000, { seed: 0, attempts: 20 })).toBe(true)
  })

  it.effect("TestWithMaxDuration", () =>
    Effect.gen(function*() {
      // Go: WithMaxDuration(250 ms) on a constant 1 s answers at most 250 ms, then (200 ms later) at most the 50 ms
      // left, then (at 250 ms) stops: it shortens a delay to what is left. Sturdy's `maxElapsed` is a hard limit on
      // when a retry may start (documented): a 1 s delay that would end past 250 ms ends retrying at once.
      const b = Backoff.bounded(newConstant("1 second"), { maxElapsed: "250 millis" })
      const first = yield* stepAt(b, 0, undefined, b.initial)
      expect(first.delay).toBeUndefined()
      // The peer's timeline with delays that fit: 100 ms at 0 and at 100 ms; at 200 ms the next would end at 300 ms,
      // past 250: done (counted from the first failure, where Go counts from construction)
      const c = Backoff.bounded(newConstant("100 millis"), { maxElapsed: "250 millis" })
      const s1 = yield* stepAt(c, 0, undefined, c.initial)
      expect(s1.delay).toBe(100)
      expect(s1.delay).toBeLessThanOrEqual(250)
      const s2 = yield* stepAt(c, 100, undefined, s1.state)
      expect(s2.delay).toBe(100)
      const s3 = yield* stepAt(c, 200, undefined, s2.state)
      expect(s3.delay).toBeUndefined()
      // the total of the delays never passes the limit
      expect(laws.totalBounded(c, 250, { seed: 0, attempts: 50 })).toBe(true)
    }))
})

describe("go-retry retry_test.go", () => {
  it.effect("TestDoValue/returns_value", () =>
    Effect.gen(function*() {
      const b = Backoff.bounded(newConstant(Duration.nanos(1n)), { maxAttempts: 3 + 1 })
      const v = yield* doRetry(b, Effect.succeed("foo"))
      expect(v).toBe("foo")
    }))

  it.effect("TestDo/exit_on_max_attempt", () =>
    Effect.gen(function*() {
      const b = Backoff.bounded(newConstant(Duration.nanos(1n)), { maxAttempts: 3 + 1 })
      const op = counted(() => Effect.fail(new Oops({ message: "oops", retryable: true })))
      const exit = yield* advance(doRetry(b, op.f), 100, "1 millis")
      expect(Exit.isFailure(exit)).toBe(true)
      // 1 + retries
      expect(op.calls).toBe(4)
    }))

  it.effect("TestDo/exit_on_non_retryable", () =>
    Effect.gen(function*() {
      const b = Backoff.bounded(newConstant(Duration.nanos(1n)), { maxAttempts: 3 + 1 })
      const op = counted(() => Effect.fail(new Oops({ message: "oops", retryable: false })))
      const reasons: Array<Retry.Reason> = []
      const exit = yield* advance(doRetry(b, op.f, (a) => reasons.push(a.reason)), 100, "1 millis")
      expect(Exit.isFailure(exit)).toBe(true)
      expect(op.calls).toBe(1)
      expect(reasons).toEqual(["not-retryable"])
    }))

  it.effect("TestDo/unwraps", () =>
    Effect.gen(function*() {
      // Go unwraps `RetryableError(io.EOF)` back to `io.EOF`; Sturdy marks nothing, so the failure returned is the
      // very one the last attempt failed with
      const eof = new Oops({ message: "EOF", retryable: true })
      const b = Backoff.bounded(newConstant(Duration.nanos(1n)), { maxAttempts: 1 + 1 })
      const exit = yield* advance(doRetry(b, Effect.fail(eof)), 100, "1 millis")
      expect(exit).toStrictEqual(Exit.fail(eof))
      if (Exit.isFailure(exit)) expect(Option.getOrThrow(Cause.failureOption(exit.cause))).toBe(eof)
    }))

  it.effect("TestDo/exit_no_error", () =>
    Effect.gen(function*() {
      const b = Backoff.bounded(newConstant(Duration.nanos(1n)), { maxAttempts: 3 + 1 })
      const op = counted(() => Effect.void)
      yield* doRetry(b, op.f)
      expect(op.calls).toBe(1)
    }))

  it.effect("TestDo/context_canceled", () =>
    Effect.gen(function*() {
      // Go: a 50 ms context over a 5 s backoff ends with `context.DeadlineExceeded` after 50 ms. Sturdy (documented)
      // does not sleep past the deadline: the next attempt would start after it, so the original failure comes back
      // at once, with the reason "deadline"
      const reasons: Array<Retry.Reason> = []
      const failure = new Oops({ message: "oops", retryable: true })
      const op = counted(() => Effect.fail(failure))
      const exit = yield* advance(
        doRetry(newConstant("5 seconds"), op.f, (a) => reasons.push(a.reason)).pipe(Deadline.withDeadline("50 millis")),
        100,
        "10 millis"
      )
      expect(exit).toStrictEqual(Exit.fail(failure))
      expect(op.calls).toBe(1)
      expect(reasons).toEqual(["deadline"])
    }))

  it.effect("TestDo/deadline_exceeded", () =>
    Effect.gen(function*() {
      // Go: a 10 ms context over a constant 20 ms backoff returns around the timeout (under 15 ms), not after the
      // backoff. Sturdy returns at once (no time passes), with the original failure rather than DeadlineExceeded
      const failure = new Oops({ message: "oops", retryable: true })
      const start = yield* Clock.currentTimeMillis
      const fiber = yield* Effect.fork(
        doRetry(newConstant("20 millis"), Effect.fail(failure)).pipe(Deadline.withDeadline("10 millis"))
      )
      const exit = yield* Fiber.await(fiber)
      expect(exit).toStrictEqual(Exit.fail(failure))
      expect((yield* Clock.currentTimeMillis) - start).toBeLessThan(15)
    }))

  it.effect("ExampleDo_simple", () =>
    Effect.gen(function*() {
      // Fibonacci (1 ns, here 1 ms) with three retries prints 0, 1, 2, 3
      const printed: Array<number> = []
      let i = 0
      const f = Effect.suspend(() => {
        printed.push(i++)
        return Effect.fail(new Oops({ message: "oops", retryable: true }))
      })
      yield* advance(doRetry(Backoff.bounded(newFibonacci(1), { maxAttempts: 3 + 1 }), f), 100, "1 millis")
      expect(printed).toEqual([0, 1, 2, 3])
    }))

  it.effect("TestCancel", () =>
    Effect.gen(function*() {
      // Go: with the context cancelled before `Do`, the function runs 0 or 1 times (100 000 rounds). Sturdy's
      // counterparts: a deadline already passed fails with DeadlineExceeded before any attempt, and a retrying fiber
      // interrupted as soon as it is forked runs the function at most once
      for (let round = 0; round < 1000; round++) {
        const b = Backoff.bounded(newConstant("1 millis"), { maxAttempts: 5 + 1 })
        const expired = counted(() => Effect.fail(new Oops({ message: "nope", retryable: true })))
        const exit = yield* Effect.exit(doRetry(b, expired.f).pipe(Deadline.withDeadline(0)))
        expect(Exit.isFailure(exit) && Deadline.isDeadlineExceeded(Option.getOrNull(Cause.failureOption(exit.cause))))
          .toBe(true)
        expect(expired.calls).toBe(0)
        const interrupted = counted(() => Effect.fail(new Oops({ message: "nope", retryable: true })))
        const fiber = yield* Effect.fork(doRetry(b, interrupted.f))
        const result = yield* Fiber.interrupt(fiber)
        expect(Exit.isInterrupted(result)).toBe(true)
        expect(interrupted.calls).toBeLessThanOrEqual(1)
      }
    }))
})
