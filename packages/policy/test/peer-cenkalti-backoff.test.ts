// Ported from cenkalti/backoff v4 (branch v4, commit 720b78985a65c0452fd37bb155c7cac4157a7c45, v4.3.0):
// `exponential_test.go`, `backoff_test.go`, `retry_test.go`, `tries_test.go`, `ticker_test.go` and `context_test.go`,
// one `it` per Go test function (a table's rows are asserted in one `it`), named after it, against `@sturdy/policy`'s
// `Backoff` schedules (stepped with `stepDelays`) and `Retry.retry` on the TestClock.
// Option mapping: `ExponentialBackOff{InitialInterval, Multiplier, MaxInterval, MaxElapsedTime}` is
// `Backoff.exponential({ baseDelay, factor, maxDelay, maxElapsed, maxAttempts: Infinity })`; the envelope cenkalti calls
// `currentInterval` is Sturdy's t(n) (`jitter: "none"` gives it exactly); `RandomizationFactor` has no Sturdy option:
// the closest mode is `jitter: "equal"` (cenkalti's default 0.5 spreads over [t/2, 3t/2]; Sturdy's over [t/2, t]).
// `WithMaxRetries(b, n)` is `maxAttempts: n + 1` (or `Backoff.bounded`); `ZeroBackOff` is `fromDelay(() => 0)`;
// `StopBackOff` is `Schedule.stop`; `NewConstantBackOff(d)` is `fromDelay(() => d)`; `Permanent(err)` is a failure
// that `while` refuses; `Retry`/`RetryWithData` are `Retry.retry`; the test timer that fires at once is the TestClock;
// a cancelled `context` is the interruption of the retrying fiber; a `Ticker` is the schedule driving `Effect.retry`.
// Deliberate differences (each test says which): Sturdy's jitter only shortens a delay (cenkalti's randomization
// spreads it both ways), and its `maxDelay` caps the delay after jitter (cenkalti's `MaxInterval` caps the interval
// before randomization, so a delay can exceed it); `MaxElapsedTime` counts from `Reset()` (the start) while
// `maxElapsed` counts from the first failure (`Deadline.withDeadline` is the bound from the start); no delay exceeds
// what a timer holds (2^31 − 1 ms) where cenkalti caps at `math.MaxInt64` ns; a `baseDelay` above that is refused.
// Not ported: TestGetElapsedTime (no elapsed-time getter: a schedule's state is its own), TestCustomStop (the `Stop`
// sentinel: a Sturdy schedule is done instead), TestNewExponentialBackOff's `WithClockProvider`/`WithRetryStopDuration`
// (a clock is the Effect `Clock`), TestPermanent (Go's `errors.Unwrap`/`errors.Is`/`errors.As` and `Permanent(nil)`),
// TestTickerDefaultTimer (the Go timer). No case of v4.3.0 passes a `notify` to `RetryNotify` (all pass nil), so
// `onAttempt` is only asserted where a ported case needs it.
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Retry from "@sturdy/policy/Retry"
import { laws } from "@sturdy/testing/ScheduleKit"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import { advance } from "./utils/advance.js"
import { stepDelays } from "./utils/stepDelays.js"

class OpError extends Data.TaggedError("OpError")<{ readonly message: string; readonly res?: number }> {}
class PermanentError extends Data.TaggedError("PermanentError")<{ readonly err: unknown; readonly res?: number }> {}
class Wrapped extends Data.TaggedError("Wrapped")<{ readonly cause: unknown; readonly res?: number }> {}

/** `errors.As(err, &permanent)`: the failure, or one it wraps, is a `PermanentError` */
const isPermanent = (e: unknown): boolean =>
  e instanceof PermanentError || (e instanceof Wrapped && isPermanent(e.cause))

/** cenkalti's defaults (500 ms, × 1.5, 60 s, 15 minutes, randomization 0.5 → "equal"), retrying without a count limit */
const newExponentialBackOff = (o: Backoff.Options = {}) =>
  Backoff.exponential({
    baseDelay: "500 millis",
    factor: 1.5,
    maxDelay: "60 seconds",
    maxElapsed: "15 minutes",
    jitter: "equal",
    maxAttempts: Infinity,
    ...o
  })

const ms = (d: Duration.Duration) => Duration.toMillis(d)
const times = <A>(n: number, a: A): Array<A> => Array.from({ length: n }, () => a)

/** an operation that answers with the next outcome (the last one repeats), counting its calls */
const operation = <A, E>(outcome: (i: number) => Effect.Effect<A, E>) => {
  const op: { i: number; readonly f: Effect.Effect<A, E> } = { i: 0, f: Effect.suspend(() => outcome(++op.i)) }
  return op
}

describe("cenkalti/backoff exponential_test.go", () => {
  it("TestBackOff", () => {
    const options = {
      baseDelay: 500,
      factor: 2,
      maxDelay: "5 seconds",
      maxElapsed: "15 minutes",
      maxAttempts: Infinity
    } as const
    const expectedResults = [500, 1000, 2000, 4000, 5000, 5000, 5000, 5000, 5000, 5000]
    // `currentInterval` is the envelope: exactly the delays without jitter
    expect(stepDelays(Backoff.exponential({ ...options, jitter: "none" }), times(10, undefined))).toEqual(
      expectedResults
    )
    // randomized, each delay falls in its range: Sturdy's "equal" jitter only shortens, to [t/2, t] (cenkalti's
    // RandomizationFactor 0.1 spreads to [0.9 t, 1.1 t])
    for (let seed = 0; seed < 50; seed++) {
      const actual = stepDelays(Backoff.exponential({ ...options, jitter: "equal" }), times(10, undefined), 0, seed)
      expect(actual).toHaveLength(10)
      actual.forEach((d, n) => {
        const { lower, upper } = Backoff.envelope({ ...options, jitter: "equal" }, n)
        expect(ms(lower)).toBe(expectedResults[n]! / 2)
        expect(ms(upper)).toBe(expectedResults[n])
        expect(d).toBeGreaterThanOrEqual(expectedResults[n]! / 2)
        expect(d).toBeLessThanOrEqual(expectedResults[n]!)
      })
      // the same, as the schedule laws of @sturdy/testing: the cap holds and a seed reproduces the delays
      expect(laws.capHolds(Backoff.exponential({ ...options, jitter: "equal" }), 5000, { seed, attempts: 10 })).toBe(
        true
      )
      expect(laws.deterministic(Backoff.exponential({ ...options, jitter: "equal" }), { seed, attempts: 10 })).toBe(
        true
      )
    }
  })

  it("TestGetRandomizedInterval", () => {
    // cenkalti: getRandomValueFromInterval(0.5, random, 2) is 1, 1, 2, 2, 3, 3 for random 0, 0.33, 0.34, 0.66, 0.67,
    // 0.99: the delay is linear in the random unit across its range. Sturdy's "equal" jitter on t = 2000 ms spreads
    // [1000, 2000] the same way (only shorter than t); "full" spreads [0, 2000] (a zero draw still waits 1 ms).
    const units = [0, 0.33, 0.34, 0.66, 0.67, 0.99] as const
    const at = (jitter: Backoff.Jitter, unit: number) =>
      stepDelays(
        Backoff.exponential({ baseDelay: 2000, factor: 1, jitter, maxAttempts: 2 }),
        [undefined],
        0,
        Random.fixed([unit])
      )[0]
    expect(units.map((u) => at("equal", u))).toEqual([1000, 1330, 1340, 1660, 1670, 1990])
    expect(units.map((u) => at("full", u))).toEqual([1, 660, 680, 1320, 1340, 1980])
  })

  it.effect("TestMaxElapsedTime", () =>
    Effect.gen(function*() {
      // cenkalti: 10000 s after Reset, past MaxElapsedTime (15 minutes), NextBackOff is Stop. Sturdy's `maxElapsed`
      // counts from the first failure: the second attempt fails 10000 s after the first, and no retry follows.
      const decisions: Array<Retry.Attempt<OpError>> = []
      const op = operation((i) =>
        i === 1
          ? Effect.fail(new OpError({ message: "error" }))
          : Effect.zipRight(Effect.sleep("10000 seconds"), Effect.fail(new OpError({ message: "error" })))
      )
      const exit = yield* advance(Retry.retry(op.f, {
        schedule: newExponentialBackOff(),
        onAttempt: (a) => Effect.sync(() => decisions.push(a))
      }))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(op.i).toBe(2)
      expect(decisions.map((a) => a.reason)).toEqual(["backoff", "exhausted"])
      // the same, stepping the schedule: a step 10000 s after the first failure is done
      const schedule = newExponentialBackOff()
      const first = yield* schedule.step(0, undefined, schedule.initial)
      expect(ScheduleDecision.isContinue(first[2])).toBe(true)
      const second = yield* schedule.step(10_000_000, undefined, first[0])
      expect(ScheduleDecision.isDone(second[2])).toBe(true)
    }))

  it("TestBackOffOverflow", () => {
    // cenkalti: InitialInterval MaxInt64/2 ns, Multiplier 2.1, MaxInterval MaxInt64: the interval is capped at
    // MaxInterval rather than overflowing. Sturdy's largest delay is what a timer holds (2^31 − 1 ms), and an infinite
    // maxDelay means that; a baseDelay above it is refused.
    const maxTimer = 2 ** 31 - 1
    const delays = stepDelays(
      Backoff.exponential({ baseDelay: Math.floor(maxTimer / 2), factor: 2.1, maxDelay: Infinity, jitter: "none" }),
      times(2, undefined)
    )
    expect(delays).toEqual([Math.floor(maxTimer / 2), maxTimer])
    // far past any float range: still the cap, never NaN or a wrap-around
    expect(
      stepDelays(
        Backoff.exponential({ baseDelay: maxTimer, factor: 1e10, maxDelay: Infinity, jitter: "none", maxAttempts: 50 }),
        times(49, undefined)
      )
    ).toEqual(times(49, maxTimer))
    expect(() => Backoff.exponential({ baseDelay: maxTimer + 1 })).toThrow(RangeError)
  })

  it("TestNewExponentialBackOff", () => {
    // cenkalti: the options WithInitialInterval(1 s), WithMultiplier(2), WithMaxInterval(10 s), WithMaxElapsedTime(30 s)
    // are applied. Sturdy: the delays show them: 1, 2, 4, 8, 10 s, and then a retry 35 s after the first failure
    // would start past the 30 s limit.
    const backOff = Backoff.exponential({
      baseDelay: "1 second",
      factor: 2,
      maxDelay: "10 seconds",
      maxElapsed: "30 seconds",
      jitter: "none",
      maxAttempts: Infinity
    })
    expect(stepDelays(backOff, times(10, undefined))).toEqual([1000, 2000, 4000, 8000, 10_000])
  })
})

describe("cenkalti/backoff backoff_test.go", () => {
  it("TestNextBackOffMillis", () => {
    // ZeroBackOff always answers 0; StopBackOff always answers Stop
    expect(stepDelays(Backoff.fromDelay(() => 0), times(10, undefined))).toEqual(times(10, 0))
    expect(stepDelays(Schedule.stop, times(10, undefined))).toEqual([])
  })

  it("TestConstantBackOff", () => {
    expect(stepDelays(Backoff.fromDelay(() => "1 second"), [undefined])).toEqual([1000])
  })
})

describe("cenkalti/backoff retry_test.go", () => {
  it.effect("TestRetry", () =>
    Effect.gen(function*() {
      const successOn = 3
      const op = operation((i) => i === successOn ? Effect.void : Effect.fail(new OpError({ message: "error" })))
      const exit = yield* advance(Retry.retry(op.f, { schedule: newExponentialBackOff() }))
      expect(exit).toEqual(Exit.void)
      expect(op.i).toBe(successOn)
    }))

  it.effect("TestRetryWithData", () =>
    Effect.gen(function*() {
      const successOn = 3
      const op = operation((i) =>
        i === successOn ? Effect.succeed(42) : Effect.fail(new OpError({ message: "error", res: 1 }))
      )
      const exit = yield* advance(Retry.retry(op.f, { schedule: newExponentialBackOff() }))
      expect(exit).toEqual(Exit.succeed(42))
      expect(op.i).toBe(successOn)
    }))

  it.effect("TestRetryContext", () =>
    Effect.gen(function*() {
      // cenkalti cancels the context during the third call: Retry returns context.Canceled after 3 calls. Sturdy: the
      // retrying fiber is interrupted during the third call; interruption is never retried.
      const cancelOn = 3
      const cancel = yield* Deferred.make<void>()
      const op = operation((i) =>
        Effect.zipRight(
          i === cancelOn ? Deferred.succeed(cancel, undefined) : Effect.void,
          Effect.fail(new OpError({ message: `error (${i})` }))
        )
      )
      const fiber = yield* Effect.fork(
        Retry.retry(op.f, { schedule: Backoff.fromDelay(() => "1 millis") })
      )
      const watcher = yield* Effect.fork(Effect.zipRight(Deferred.await(cancel), Fiber.interrupt(fiber)))
      const exit = yield* advance(Fiber.join(fiber))
      yield* Fiber.join(watcher)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(op.i).toBe(cancelOn)
    }))

  it.effect("TestRetryPermanent", () =>
    Effect.gen(function*() {
      // cenkalti: the second call always fails with Permanent("forced") and result -1; the first runs `f`
      const ensureRetries = (
        shouldRetry: boolean,
        f: Effect.Effect<number, OpError | PermanentError | Wrapped>,
        expectRes: number
      ) =>
        Effect.gen(function*() {
          let numRetries = -1
          const maxRetries = 1
          const exit = yield* advance(Retry.retry(
            Effect.suspend(() => {
              numRetries++
              return numRetries >= maxRetries
                ? Effect.fail(new PermanentError({ err: new OpError({ message: "forced" }), res: -1 }))
                : f
            }),
            { schedule: newExponentialBackOff(), while: (e) => !isPermanent(e) }
          ))
          if (shouldRetry) expect(numRetries).toBeGreaterThan(0)
          else expect(numRetries).toBe(0)
          // Go returns the data with the error: here it is carried on the failure
          const res = Exit.isSuccess(exit) ? exit.value : Exit.causeOption(exit).pipe(
            (c) => c._tag === "Some" ? (c.value as { _tag: "Fail"; error: { res: number } }).error.res : undefined
          )
          expect(res).toBe(expectRes)
        })
      // "nil test"
      yield* ensureRetries(false, Effect.succeed(1), 1)
      // "io.EOF"
      yield* ensureRetries(true, Effect.fail(new OpError({ message: "EOF", res: 2 })), -1)
      // "Permanent(io.EOF)"
      yield* ensureRetries(false, Effect.fail(new PermanentError({ err: new OpError({ message: "EOF" }), res: 3 })), 3)
      // "Wrapped: Permanent(io.EOF)"
      yield* ensureRetries(
        false,
        Effect.fail(new Wrapped({ cause: new PermanentError({ err: new OpError({ message: "EOF" }) }), res: 4 })),
        4
      )
    }))
})

describe("cenkalti/backoff tries_test.go", () => {
  it.effect("TestMaxTriesHappy", () =>
    Effect.gen(function*() {
      // cenkalti draws max in [17, 30) at random; fixed here (both ends)
      for (const max of [17, 29]) {
        const bo = Backoff.bounded(Backoff.fromDelay(() => 0), { maxAttempts: max + 1 })
        // Reset clears the record: each run of a schedule starts from its initial state
        expect(stepDelays(bo, times(Math.floor(max / 2), undefined))).toHaveLength(Math.floor(max / 2))
        // max delays, then Stop, however often it is asked again
        let state = bo.initial
        for (let ix = 0; ix < max; ix++) {
          const [next, , decision] = yield* bo.step(ix, undefined, state)
          expect(ScheduleDecision.isContinue(decision)).toBe(true)
          state = next
        }
        for (let ix = 0; ix < 7; ix++) {
          const [next, , decision] = yield* bo.step(max + ix, undefined, state)
          expect(ScheduleDecision.isDone(decision)).toBe(true)
          state = next
        }
        // Reset makes it all work again
        const [, , again] = yield* bo.step(0, undefined, bo.initial)
        expect(ScheduleDecision.isContinue(again)).toBe(true)
      }
    }))

  it.effect("TestMaxTriesZero", () =>
    Effect.gen(function*() {
      // https://github.com/cenkalti/backoff/issues/80: WithMaxRetries(…, 0) calls the operation once
      const op = operation(() => Effect.fail(new OpError({ message: "err" })))
      const exit = yield* advance(Retry.retry(op.f, {
        schedule: Backoff.bounded(Backoff.fromDelay(() => 0), { maxAttempts: 1 })
      }))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(op.i).toBe(1)
      // the same with Backoff.exponential's own count
      const op2 = operation(() => Effect.fail(new OpError({ message: "err" })))
      yield* advance(Retry.retry(op2.f, { schedule: newExponentialBackOff({ maxAttempts: 1 }) }))
      expect(op2.i).toBe(1)
    }))
})

describe("cenkalti/backoff ticker_test.go and context_test.go", () => {
  it.effect("TestTicker", () =>
    Effect.gen(function*() {
      // a ticker ticks at once, then after each backoff delay; the loop stops at the first success. The schedule
      // drives Effect's own `retry` as it drives `Retry.retry`.
      const successOn = 3
      const op = operation((i) => i === successOn ? Effect.void : Effect.fail(new OpError({ message: "error" })))
      const exit = yield* advance(Effect.retry(op.f, newExponentialBackOff()))
      expect(exit).toEqual(Exit.void)
      expect(op.i).toBe(successOn)
    }))

  it.effect("TestTickerContext", () =>
    Effect.gen(function*() {
      // a backoff whose context is already cancelled answers Stop (TestContext); the ticker still ticks once, and the
      // loop ends with the first error. Sturdy: a schedule that is done at once runs the operation once and returns
      // its own failure.
      const op = operation((i) => Effect.fail(new OpError({ message: `error (${i})` })))
      const exit = yield* advance(Retry.retry(op.f, { schedule: Schedule.stop }))
      expect(exit).toEqual(Exit.fail(new OpError({ message: "error (1)" })))
      expect(op.i).toBe(1)
    }))
})
