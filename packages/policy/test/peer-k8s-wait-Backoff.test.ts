// Ported from kubernetes/apimachinery (commit eed236ceee2c19c2753a3d93ac0631dc20750454): `pkg/util/wait/wait_test.go`
// (this commit has no `backoff_test.go`: `Backoff.Step` is tested in `wait_test.go`). One `it` per Go test function or
// table row, named after it, against `@sturdy/policy`'s `Backoff` schedules (stepped with `stepDelays`) and
// `Retry.retry` on the TestClock.
// Option mapping: `wait.Backoff{Duration, Factor, Cap, Steps}` stepped by `Step()` is `Backoff.exponential({ baseDelay:
// Duration, factor: Factor, maxDelay: Cap, jitter: "none" })`; a `nil` Backoff is `baseDelay: 0`.
// `ExponentialBackoff(opts, condition)` is `Retry.retry` with `maxAttempts: Steps`: a condition's `(false, nil)` is a
// retryable `NotDone` failure, `(true, nil)` success, `(_, err)` a failure `while` refuses; `ErrWaitTimeout` is the last
// `NotDone`. A cancelled `context` is the interruption of the retrying fiber; a context at its deadline is
// `Deadline.withDeadline(0)`. `JitterUntil(f, period, factor, sliding, stop)` is `Effect.repeat` over
// `Backoff.fromDelay(() => period)`; closing `stop` is interrupting the repeating fiber.
// Deliberate differences (each test says which): Sturdy's jitter only shortens a delay (k8s's `Jitter` lengthens it by up
// to `Jitter × d`); a factor below 1 (k8s's zero factor, meaning no growth) is refused (`factor: 1` is no growth);
// `Steps: 0` (k8s: no attempt at all, `ErrWaitTimeout`) is refused (`maxAttempts` must be ≥ 1: the first attempt is
// always made); delays are whole milliseconds, so k8s's 1 µs Duration is 1 ms here.
// Not ported: TestUntil/TestNonSlidingUntil/...WithContext and TestUntilReturnsImmediately (`Until` is `JitterUntil` with
// no jitter; the JitterUntil cases cover it), TestJitterUntilRecoversPanic (Go's panic handlers: a defect is not a typed
// failure), TestPoller/TestPoll*/Test_waitFor*/TestPollUntil/TestPollImmediateUntilWithContext/Test_poll (polling with
// a fixed interval and timeout, not a backoff), TestContextForChannel (Go channels), the BackoffManager and
// DelayWithReset cases (a reset after a quiet interval: Sturdy's schedule state lives per `Retry.retry` call, so every
// call starts from `baseDelay`; the *WithRealClock ones sleep in real time), BenchmarkExponentialBackoffWithContext.
// In TestExponentialBackoffWithContext's table, rows 9–11 and 14–16 repeat rows 1–3 and 6–8 verbatim: each is ported once.
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Deadline from "@sturdy/policy/Deadline"
import * as Retry from "@sturdy/policy/Retry"
import { laws } from "@sturdy/testing/ScheduleKit"
import * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { advance } from "./utils/advance.js"
import { stepDelays } from "./utils/stepDelays.js"

/** the condition answered `(false, nil)`: not done yet, try again */
class NotDone extends Data.TaggedError("NotDone")<{ readonly attempt: number }> {}
/** the condition answered an error: stop at once */
class ConditionError extends Data.TaggedError("ConditionError")<{ readonly message: string }> {}

const times = (n: number): Array<undefined> => Array.from({ length: n }, () => undefined)
const seeds = [0, 1, 2, 3, 4]

/** `ExponentialBackoff(backoff, condition)`: retries while the condition is not done, counting the attempts */
const exponentialBackoff = (
  options: Backoff.Options,
  condition: (attempt: number) => Effect.Effect<void, NotDone | ConditionError>
) => {
  const counter = { attempts: 0 }
  const effect = Effect.suspend(() => condition(++counter.attempts)).pipe(
    Retry.retry({ schedule: Backoff.exponential(options), while: (e) => e._tag === "NotDone" })
  )
  return { counter, effect }
}

const notDone = (attempt: number) => Effect.fail(new NotDone({ attempt }))
const done = Effect.void

describe("kubernetes/apimachinery wait_test.go TestBackoff_Step", () => {
  it("nil Backoff: 0, 0, 0, 0", () => {
    for (const seed of seeds) {
      expect(
        stepDelays(Backoff.exponential({ baseDelay: 0, jitter: "none", maxAttempts: Infinity }), times(4), 0, seed)
      )
        .toEqual([0, 0, 0, 0])
    }
  })

  it("Duration 1s, Steps -1 / 0 / 1 (no Factor): 1s, 1s, 1s", () => {
    // k8s's zero Factor means no growth; Sturdy refuses a factor below 1 and spells no growth `factor: 1`
    expect(() => Backoff.exponential({ baseDelay: "1 second", factor: 0 })).toThrow(RangeError)
    for (const seed of seeds) {
      expect(
        stepDelays(
          Backoff.exponential({ baseDelay: "1 second", factor: 1, jitter: "none", maxAttempts: Infinity }),
          times(3),
          0,
          seed
        )
      ).toEqual([1000, 1000, 1000])
    }
  })

  it("Duration 1s, Factor 1.0, Steps 1: 1s, 1s, 1s", () => {
    for (const seed of seeds) {
      expect(
        stepDelays(
          Backoff.exponential({ baseDelay: "1 second", factor: 1, jitter: "none", maxAttempts: Infinity }),
          times(3),
          0,
          seed
        )
      ).toEqual([1000, 1000, 1000])
    }
  })

  it("Duration 1s, Factor 2, Steps 3: 1s, 2s, 4s", () => {
    for (const seed of seeds) {
      expect(
        stepDelays(
          Backoff.exponential({ baseDelay: "1 second", factor: 2, jitter: "none", maxAttempts: 4 }),
          times(5),
          0,
          seed
        )
      ).toEqual([1000, 2000, 4000])
    }
  })

  it("Duration 1s, Factor 2, Steps 3, Cap 3s: 1s, 2s, 3s", () => {
    const schedule = Backoff.exponential({
      baseDelay: "1 second",
      factor: 2,
      maxDelay: "3 seconds",
      jitter: "none",
      maxAttempts: Infinity
    })
    for (const seed of seeds) {
      expect(stepDelays(schedule, times(3), 0, seed)).toEqual([1000, 2000, 3000])
      expect(laws.capHolds(schedule, 3000, { seed, attempts: 16 })).toBe(true)
    }
  })

  it("Duration 1s, Factor 2, Steps 2, Cap 3s, Jitter 0.5: jittered, within Jitter of the envelope, capped", () => {
    // k8s's Jitter 0.5 lengthens a delay by up to half; Sturdy's "equal" jitter shortens it by up to half: each delay is
    // within [t(n)/2, t(n)] of the envelope 1s, 2s, 3s, so k8s's check `(want - got) / want <= Jitter` holds against
    // Sturdy's envelope, and no delay passes the cap
    const schedule = Backoff.exponential({
      baseDelay: "1 second",
      factor: 2,
      maxDelay: "3 seconds",
      jitter: "equal",
      maxAttempts: Infinity
    })
    const envelope = [1000, 2000, 3000]
    for (const seed of seeds) {
      const got = stepDelays(schedule, times(3), 0, seed)
      expect(got).toHaveLength(3)
      got.forEach((d, i) => {
        expect((envelope[i]! - d) / envelope[i]!).toBeLessThanOrEqual(0.5)
        expect(d).toBeLessThanOrEqual(3000)
      })
      // "statistically unlikely": not every delay is the envelope itself
      expect(got).not.toEqual(envelope)
    }
  })

  it("Duration 1s, Factor 2, Steps 6, Jitter 4: jittered around 1s, 2s, 4s, 8s, 16s, 32s", () => {
    // k8s's Jitter 4 lengthens a delay up to 5×; Sturdy's widest jitter ("full") spreads it over [1 ms, t(n)]
    const schedule = Backoff.exponential({ baseDelay: "1 second", factor: 2, jitter: "full", maxAttempts: 7 })
    const envelope = [1000, 2000, 4000, 8000, 16000, 32000]
    for (const seed of seeds) {
      const got = stepDelays(schedule, times(8), 0, seed)
      expect(got).toHaveLength(6)
      got.forEach((d, i) => {
        expect(d).toBeGreaterThanOrEqual(1)
        expect(d).toBeLessThanOrEqual(envelope[i]!)
        expect((envelope[i]! - d) / envelope[i]!).toBeLessThanOrEqual(4)
      })
      expect(got).not.toEqual(envelope)
      expect(laws.attemptsBounded(schedule, 6, { seed })).toBe(true)
    }
  })
})

describe("kubernetes/apimachinery wait_test.go TestExponentialBackoff", () => {
  it.effect("exits immediately (Steps 0): refused, the first attempt is always made", () =>
    Effect.sync(() => {
      // k8s runs no attempt and answers ErrWaitTimeout; Sturdy refuses maxAttempts 0 when the schedule is made
      expect(() => Backoff.exponential({ baseDelay: 0, factor: 1, maxAttempts: 0 })).toThrow(RangeError)
    }))

  it.effect("waits up to steps", () =>
    Effect.gen(function*() {
      const { counter, effect } = exponentialBackoff({ baseDelay: 0, factor: 1, maxAttempts: 3 }, notDone)
      const exit = yield* advance(effect)
      expect(exit).toStrictEqual(Exit.fail(new NotDone({ attempt: 3 })))
      expect(counter.attempts).toBe(3)
    }))

  it.effect("returns immediately", () =>
    Effect.gen(function*() {
      const { counter, effect } = exponentialBackoff({ baseDelay: 0, factor: 1, maxAttempts: 3 }, () => done)
      expect(Exit.isSuccess(yield* advance(effect))).toBe(true)
      expect(counter.attempts).toBe(1)
    }))

  it.effect("returns immediately on error", () =>
    Effect.gen(function*() {
      const testErr = new ConditionError({ message: "some other error" })
      const { counter, effect } = exponentialBackoff(
        { baseDelay: 0, factor: 1, maxAttempts: 3 },
        () => Effect.fail(testErr)
      )
      const exit = yield* advance(effect)
      expect(exit).toStrictEqual(Exit.fail(testErr))
      expect(counter.attempts).toBe(1)
    }))

  it.effect("invoked multiple times", () =>
    Effect.gen(function*() {
      const { counter, effect } = exponentialBackoff(
        { baseDelay: 0, factor: 1, maxAttempts: 3 },
        (i) => i < 3 ? notDone(i) : done
      )
      expect(Exit.isSuccess(yield* advance(effect))).toBe(true)
      expect(counter.attempts).toBe(3)
    }))
})

describe("kubernetes/apimachinery wait_test.go TestExponentialBackoffWithContext", () => {
  /** k8s's table: Duration 1 µs (1 ms here: whole milliseconds), Factor 1.0, Steps `steps` */
  const options = (steps: number, zeroDuration = false): Backoff.Options => ({
    baseDelay: zeroDuration ? 0 : "1 millis",
    factor: 1,
    jitter: "none",
    maxAttempts: steps
  })

  it.effect("no attempts expected with zero backoff steps", () =>
    Effect.sync(() => {
      // deliberate difference: k8s answers ErrWaitTimeout without an attempt; Sturdy refuses maxAttempts 0
      expect(() => Backoff.exponential(options(0))).toThrow(RangeError)
    }))

  it.effect("condition returns false with single backoff step", () =>
    Effect.gen(function*() {
      const { counter, effect } = exponentialBackoff(options(1), notDone)
      expect(yield* advance(effect)).toStrictEqual(Exit.fail(new NotDone({ attempt: 1 })))
      expect(counter.attempts).toBe(1)
    }))

  it.effect("condition returns true with single backoff step", () =>
    Effect.gen(function*() {
      const { counter, effect } = exponentialBackoff(options(1), () => done)
      expect(Exit.isSuccess(yield* advance(effect))).toBe(true)
      expect(counter.attempts).toBe(1)
    }))

  it.effect("condition always returns false with multiple backoff steps", () =>
    Effect.gen(function*() {
      const { counter, effect } = exponentialBackoff(options(5), notDone)
      expect(yield* advance(effect)).toStrictEqual(Exit.fail(new NotDone({ attempt: 5 })))
      expect(counter.attempts).toBe(5)
    }))

  it.effect("condition returns true after certain attempts with multiple backoff steps", () =>
    Effect.gen(function*() {
      const { counter, effect } = exponentialBackoff(options(5), (i) => i === 3 ? done : notDone(i))
      expect(Exit.isSuccess(yield* advance(effect))).toBe(true)
      expect(counter.attempts).toBe(3)
    }))

  it.effect("condition returns error no further attempts expected", () =>
    Effect.gen(function*() {
      const conditionErr = new ConditionError({ message: "condition failed" })
      const { counter, effect } = exponentialBackoff(options(5), () => Effect.fail(conditionErr))
      expect(yield* advance(effect)).toStrictEqual(Exit.fail(conditionErr))
      expect(counter.attempts).toBe(1)
    }))

  it.effect("context already canceled no attempts expected", () =>
    Effect.gen(function*() {
      const { counter, effect } = exponentialBackoff(options(5), notDone)
      const fiber = yield* Effect.fork(effect)
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(counter.attempts).toBe(0)
    }))

  it.effect("context at deadline no attempts expected", () =>
    Effect.gen(function*() {
      const { counter, effect } = exponentialBackoff(options(5), notDone)
      const exit = yield* advance(Deadline.withDeadline(effect, 0))
      // k8s answers context.DeadlineExceeded; Sturdy fails with its typed `DeadlineExceeded`
      expect(
        Exit.isFailure(exit) && Option.exists(Cause.failureOption(exit.cause), Deadline.isDeadlineExceeded)
      ).toBe(true)
      expect(counter.attempts).toBe(0)
    }))

  it.effect("condition always returns false with multiple backoff steps but is cancelled at step 4", () =>
    Effect.gen(function*() {
      const cancel = yield* Deferred.make<void>()
      const { counter, effect } = exponentialBackoff(
        options(5),
        (i) => (i === 4 ? Deferred.succeed(cancel, undefined) : Effect.void).pipe(Effect.zipRight(notDone(i)))
      )
      const fiber = yield* Effect.fork(effect)
      for (let i = 0; i < 100 && !(yield* Deferred.isDone(cancel)); i++) yield* TestClock.adjust("1 millis")
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(counter.attempts).toBe(4)
    }))

  it.effect("condition returns true after certain attempts with multiple backoff steps and zero duration", () =>
    Effect.gen(function*() {
      const { counter, effect } = exponentialBackoff(options(5, true), (i) => i === 3 ? done : notDone(i))
      expect(Exit.isSuccess(yield* advance(effect))).toBe(true)
      expect(counter.attempts).toBe(3)
    }))
})

describe("kubernetes/apimachinery wait_test.go JitterUntil", () => {
  /** `JitterUntil(f, period, ...)`: runs `f`, then again after each `period`, until the fiber is interrupted */
  const jitterUntil = (f: Effect.Effect<void>, period: Duration.DurationInput) =>
    Effect.repeat(f, Backoff.fromDelay(() => period))

  it.effect("TestJitterUntil", () =>
    Effect.gen(function*() {
      // a closed stop channel: f is never invoked
      let calls = 0
      const first = yield* Effect.fork(jitterUntil(Effect.sync(() => calls++), 0))
      yield* Fiber.interrupt(first)
      expect(calls).toBe(0)
      // otherwise f is invoked, and stopping ends the loop
      const called = yield* Deferred.make<void>()
      const second = yield* Effect.fork(jitterUntil(Deferred.succeed(called, undefined).pipe(Effect.asVoid), 0))
      yield* Deferred.await(called)
      expect(Exit.isInterrupted(yield* Fiber.interrupt(second))).toBe(true)
    }))

  it.effect("TestJitterUntilReturnsImmediately", () =>
    Effect.gen(function*() {
      // f stops the loop itself: it returns without waiting the 30 s period
      const stop = yield* Deferred.make<void>()
      const loop = jitterUntil(Deferred.succeed(stop, undefined).pipe(Effect.asVoid), "30 seconds")
      const exit = yield* Effect.raceFirst(Effect.exit(loop), Deferred.await(stop).pipe(Effect.as("stopped" as const)))
      expect(exit).toBe("stopped")
      expect(yield* TestClock.currentTimeMillis).toBe(0)
    }))

  it.effect("TestJitterUntilNegativeFactor", () =>
    Effect.gen(function*() {
      // a negative jitter factor is no jitter: the second call comes one period (1 s) after the first, not later
      const calls: Array<number> = []
      const fiber = yield* Effect.fork(
        jitterUntil(TestClock.currentTimeMillis.pipe(Effect.map((t) => void calls.push(t))), "1 second")
      )
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(fiber)
      expect(calls).toEqual([0, 1000])
      // Sturdy's "none" jitter (the counterpart) with factor 1 is the same period every time
      expect(stepDelays(Backoff.exponential({ baseDelay: "1 second", factor: 1, jitter: "none" }), times(2))).toEqual([
        1000,
        1000
      ])
    }))
})
