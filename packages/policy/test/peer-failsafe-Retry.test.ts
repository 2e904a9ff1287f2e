// Ported from Failsafe's core/src/test/java/dev/failsafe/functional/RetryPolicyTest.java,
// functional/DelayableRetryPolicyTest.java and internal/RetryPolicyImplTest.java (failsafe-lib/failsafe), one `it`
// per Failsafe case, named after it.
// Mapping: `RetryPolicy.ofDefaults()` (3 attempts, no delay) is `schedule: Schedule.recurs(2)`; `withMaxRetries(n)`
// is `Schedule.recurs(n)` (`-1`, unlimited: `Schedule.forever`); `withDelay(d)` is `Schedule.spaced(d)`;
// `withMaxDuration(d)` is `Backoff.bounded(schedule, { maxElapsed: d })`; `handle(X)` is `while: (e) => e instanceof
// X`; `abortOn`/`abortIf` (stop retrying on a match) is the negation inside `while`; `withDelayFnOn(fn, X)` is
// `delayHint` (the wait for a matching failure, replacing the schedule's delay); `onRetryScheduled`'s delay is
// `onAttempt`'s `delay`; `Failsafe.with(Fallback.of(v), retryPolicy)` is the retried call followed by
// `Effect.orElseSucceed(() => v)`; `getAttemptCount()` is the number of calls made.
// Deliberate differences (each test says which): Failsafe retries results (`handleResult`), Sturdy's `Retry` typed
// failures, so a handled result is a typed failure here. Failsafe's `abortIf` on results has no counterpart (a
// successful result is never retried), so the abortable-result cases assert the same decisions on failures carrying
// the result.
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Retry from "@sturdy/policy/Retry"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"

class IllegalStateException extends Error {}
class IllegalArgumentException extends Error {}
class ConnectException extends Error {}
class IOException extends Error {}
class UncheckedExpectedException extends Error {}
class DelayException extends UncheckedExpectedException {}
class Result extends Error {
  constructor(readonly value: unknown) {
    super()
  }
}

const ofDefaults = { schedule: Schedule.recurs(2) }

// a call that counts its attempts and answers the attempt number (0-based) with `body`
const counted = <A, E>(body: (attempt: number) => Effect.Effect<A, E>) => {
  const s: { attempts: number; readonly call: Effect.Effect<A, E> } = {
    attempts: 0,
    call: Effect.suspend(() => body(s.attempts++))
  }
  return s
}

// Failsafe's isAbortable as a `while` predicate's negation
const abortable = (retryWhile: (e: unknown, attempt: number) => boolean) => (e: unknown) => !retryWhile(e, 1)

describe("peer failsafe RetryPolicyTest", () => {
  it.effect("shouldNotRetry", () =>
    Effect.gen(function*() {
      const c = counted(() => Effect.succeed(true))
      expect(yield* Retry.retry(c.call, ofDefaults)).toBe(true)
      expect(c.attempts).toBe(1)
    }))

  it.effect("shouldThrowOnNonRetriableFailure", () =>
    Effect.gen(function*() {
      const c = counted((n) => Effect.fail(n < 2 ? new IllegalStateException() : new IllegalArgumentException()))
      const e = yield* Effect.flip(
        Retry.retry(c.call, { schedule: Schedule.forever, while: (e) => e instanceof IllegalStateException })
      )
      expect(e).toBeInstanceOf(IllegalArgumentException)
      expect(c.attempts).toBe(3)
    }))

  it.effect("shouldCompleteWhenMaxDurationExceeded", () =>
    Effect.gen(function*() {
      // handleResult(false): a false result is a typed failure; the first attempt alone takes 120 ms of 100
      const c = counted(() => Effect.zipRight(Effect.sleep("120 millis"), Effect.fail(new Result(false))))
      const fiber = yield* Effect.fork(
        Retry.retry(c.call, { schedule: Backoff.bounded(Schedule.forever, { maxElapsed: "100 millis" }) })
      )
      yield* TestClock.adjust("120 millis")
      yield* TestClock.adjust("120 millis")
      yield* TestClock.adjust("120 millis")
      const exit = yield* Fiber.await(fiber)
      expect(Exit.isFailure(exit)).toBe(true)
      // Failsafe's maxDuration runs from the start of the execution, so its 120 ms attempt leaves no retry; Sturdy's
      // `maxElapsed` runs from the first failure (Backoff.ts module doc), so one retry starts at once and the second
      // failure, 120 ms after the first, ends retrying
      expect(c.attempts).toBe(2)
    }))

  it.effect("assertScheduledRetryDelay", () =>
    Effect.gen(function*() {
      const delays: Array<number> = []
      const fiber = yield* Effect.fork(
        Effect.fail(new IllegalStateException()).pipe(
          Retry.retry({
            schedule: Schedule.spaced("10 millis").pipe(Schedule.intersect(Schedule.recurs(2))),
            onAttempt: (a) => Effect.sync(() => a.retrying && delays.push(Duration.toMillis(a.delay)))
          })
        )
      )
      yield* TestClock.adjust("100 millis")
      yield* Fiber.await(fiber)
      expect(delays).toEqual([10, 10])
    }))
})

describe("peer failsafe DelayableRetryPolicyTest", () => {
  it.effect("testUncheckedExceptionInDelayFunction", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        Effect.fail(new Error("try again")).pipe(
          Retry.retry({
            schedule: Backoff.fromDelay(() => {
              throw new UncheckedExpectedException()
            })
          })
        )
      )
      // the delay function's exception reaches the caller (as a defect: it is a bug, not a failure of the call)
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) {
        const defects = Chunk.toReadonlyArray(Cause.defects(exit.cause))
        expect(defects.some((d) => d instanceof UncheckedExpectedException)).toBe(true)
      }
    }))

  it.effect("shouldDelayOnMatchingResult", () =>
    Effect.gen(function*() {
      // handleResultIf(true): every result is a typed failure carrying it; withDelayFnWhen(fn, "expected")
      let delays = 0
      const c = counted((i) => Effect.fail(new Result(i === 0 || i === 3 ? "expected" : i)))
      const fiber = yield* Effect.fork(
        Retry.retry(c.call, {
          schedule: Schedule.recurs(4),
          delayHint: (e) => {
            if (e.value !== "expected") return Option.none()
            delays++
            return Option.some(Duration.nanos(1n))
          }
        }).pipe(Effect.orElseSucceed(() => 123))
      )
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(fiber)).toBe(123)
      expect(c.attempts).toBe(5)
      expect(delays).toBe(2)
    }))

  it.effect("shouldDelayOnMatchingFailureType", () =>
    Effect.gen(function*() {
      let delays = 0
      const c = counted((i) =>
        Effect.fail(i === 0 || i === 2 ? new DelayException() : new UncheckedExpectedException())
      )
      const fiber = yield* Effect.fork(
        Retry.retry(c.call, {
          schedule: Schedule.recurs(4),
          while: (e) => e instanceof UncheckedExpectedException,
          delayHint: (e) => {
            if (!(e instanceof DelayException)) return Option.none()
            delays++
            return Option.some(Duration.nanos(1n))
          }
        }).pipe(Effect.orElseSucceed(() => 123))
      )
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(fiber)).toBe(123)
      expect(c.attempts).toBe(5)
      expect(delays).toBe(2)
    }))
})

describe("peer failsafe RetryPolicyImplTest", () => {
  it.effect("testIsAbortableNull", () =>
    Effect.gen(function*() {
      // no abort condition: every failure is retried
      const c = counted(() => Effect.fail(null))
      yield* Effect.flip(Retry.retry(c.call, ofDefaults))
      expect(c.attempts).toBe(3)
    }))

  it("testIsAbortableCompletionPredicate", () => {
    const retryWhile = (e: unknown) =>
      !((e instanceof Result && e.value === "test") || e instanceof IllegalArgumentException)
    expect(abortable(retryWhile)(new Result("test"))).toBe(true)
    expect(abortable(retryWhile)(new Result(0))).toBe(false)
    expect(abortable(retryWhile)(new IllegalArgumentException())).toBe(true)
    expect(abortable(retryWhile)(new IllegalStateException())).toBe(false)
  })

  it.effect("testIsAbortableFailurePredicate", () =>
    Effect.gen(function*() {
      // abortOn(ConnectException): the first ConnectException ends retrying
      const c = counted((i) => Effect.fail(i === 0 ? new IllegalArgumentException() : new ConnectException()))
      const e = yield* Effect.flip(
        Retry.retry(c.call, { schedule: Schedule.recurs(5), while: (e) => !(e instanceof ConnectException) })
      )
      expect(e).toBeInstanceOf(ConnectException)
      expect(c.attempts).toBe(2)
    }))

  it("testIsAbortablePredicate", () => {
    const retryWhile = (e: unknown) => !(e instanceof Result && typeof e.value === "number" && e.value > 100)
    expect(abortable(retryWhile)(new Result(110))).toBe(true)
    expect(abortable(retryWhile)(new Result(50))).toBe(false)
    expect(abortable(retryWhile)(new IllegalArgumentException())).toBe(false)
  })

  it.effect("testIsAbortableFailure", () =>
    Effect.gen(function*() {
      const aborts = (isAbort: (e: unknown) => boolean, failure: Error) =>
        Effect.gen(function*() {
          const c = counted(() => Effect.fail(failure))
          yield* Effect.flip(Retry.retry(c.call, { schedule: Schedule.recurs(2), while: (e) => !isAbort(e) }))
          return c.attempts === 1
        })
      const onException = (e: unknown) => e instanceof Error
      expect(yield* aborts(onException, new Error())).toBe(true)
      expect(yield* aborts(onException, new IllegalArgumentException())).toBe(true)
      const onTwo = (e: unknown) => e instanceof IllegalArgumentException || e instanceof IOException
      expect(yield* aborts(onTwo, new IllegalArgumentException())).toBe(true)
      expect(yield* aborts(onTwo, new IOException())).toBe(true)
      expect(yield* aborts(onTwo, new Error())).toBe(false)
      expect(yield* aborts(onTwo, new IllegalStateException())).toBe(false)
    }))

  it("testIsAbortableResult", () => {
    const retryWhile = (e: unknown) => !(e instanceof Result && e.value === 10)
    expect(abortable(retryWhile)(new Result(10))).toBe(true)
    expect(abortable(retryWhile)(new Result(5))).toBe(false)
    expect(abortable(retryWhile)(new IllegalArgumentException())).toBe(false)
  })
})
