// Ported from Arrow's arrow-libs/resilience/arrow-resilience/src/commonTest/kotlin/arrow/resilience/ScheduleTest.kt
// (arrow-kt/arrow, commit 0aa9227a8dcc51fc207b219f328c62cf85195a2e), one `it` per Arrow case, named after it, against
// what Sturdy adds to Effect's `Schedule`: `Backoff.exponential`/`bounded`/`fromDelay`/`envelope`, `Retry.retry` and
// `@sturdy/testing`'s `ScheduleKit`. Effect's own combinators (`Schedule.recurs`, `spaced`, `fibonacci`, `whileInput`,
// `collectInputs`, `Effect.repeat`'s options) are Effect's to test, so each case runs through Sturdy's counterpart.
// Mapping: Arrow's `Schedule.recurs(n)` is `Backoff.bounded(Schedule.forever, { maxAttempts: n + 1 })` (n repetitions
// with no wait: `maxAttempts` counts the first run); `Schedule.spaced(d)` is `Backoff.exponential({ baseDelay: d,
// factor: 1, jitter: "none", maxDelay: Infinity, maxAttempts: Infinity })`, `Schedule.exponential(base)` the same with
// factor 2, `Schedule.linear(base)` is `Backoff.fromDelay((retry) => base × retry)` (Backoff's own example), and
// `Schedule.fibonacci(one)` is Effect's, bounded by `Backoff.bounded` (which must keep its delays); `calculateSchedule`
// / `calculateDelay` is `ScheduleKit.delaysSync` (the delays, ending where the schedule is done). Arrow's `repeat`
// (run again after a success) is `Retry.retry` (run again after a failure): the value each run produces is the failure
// it fails with, `doWhile { input, _ -> p }` is `while: (failure) => p`, `doUntil` its negation, the `collect()`ed and
// `log`ged inputs are the failures of the decisions to retry told to `onAttempt`, and `repeatOrElseEither` /
// `retryOrElseEither`'s handler is `finalFailure` with the call's `Either`. `retry<E>` on a `Schedule<Throwable>` (a
// schedule that retries only exceptions of type E) is `while: (e) => e instanceof E`. Kotlin's thrown exceptions, `raise`
// and `Either.Left` are all Effect's typed failure (`Effect.fail`, a yielded `Either.left`). `stackSafeIteration()` is
// 200,000 on the JVM and 1,000 on JS in Arrow; here 20,000, as Arrow's own retryIsStackSafe.
// Deliberate differences (each test says which): a negative count (`recurs(-500)`, no repetition in Arrow) is a
// `RangeError` of `Backoff.bounded`'s `maxAttempts`; defects (a `throw` inside `Effect.sync`) are never retried, where
// Arrow's `retry` retries any Throwable of the type (Arrow's exceptions are the typed failures here, so this changes no
// case); the decision to give up is told to `onAttempt` too (with `retrying: false`), where Arrow's `log` sees only the
// decisions to go on, so the ported buffers keep the retrying decisions.
// Not ported: the commented-out cases of ScheduleTest.kt (identity, unfold, forever, the `repeatAsFlow*` cases): Arrow
// does not run them; FlowTest.kt (`Flow.retry`/`repeat` over Kotlin flows: Sturdy has no stream retry of its own).
import { describe, expect, it } from "@effect/vitest"
import { Backoff, Retry } from "@sturdy/policy"
import { delaysSync, laws } from "@sturdy/testing/ScheduleKit"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Schedule from "effect/Schedule"
import { advanceToDone } from "./utils/advance.js"
import { counted } from "./utils/counted.js"

class MyException extends Error {}
class IllegalStateException extends Error {}
class IllegalArgumentException extends Error {}
class Throwable extends Error {}
class RuntimeException extends Error {}
const CustomError = { _tag: "CustomError" } as const

const exception = new MyException()
const stackSafeIteration = 20_000

/** Arrow's `Schedule.recurs(n)`: n repetitions, no wait */
const recurs = (n: number) => Backoff.bounded(Schedule.forever, { maxAttempts: n + 1 })

/** Arrow's `Schedule.spaced(d)` and `Schedule.exponential(base)` as Backoff schedules, unbounded and without jitter */
const spaced = (d: Duration.DurationInput) =>
  Backoff.exponential({ baseDelay: d, factor: 1, jitter: "none", maxDelay: Duration.infinity, maxAttempts: Infinity })
const exponentialOptions = (base: Duration.DurationInput): Backoff.Options => ({
  baseDelay: base,
  factor: 2,
  jitter: "none",
  maxDelay: Duration.infinity,
  maxAttempts: Infinity
})

/**
 * Arrow's `checkRepeat(schedule, expected)` with `count.updateAndGet { it + 1 }` as the body: each run produces the
 * next count (1 first), here as its failure. Answers the last run's count and the failures the retry went on after.
 */
const checkRepeat = (options: Retry.Options<number>) =>
  Effect.gen(function*() {
    const collected: Array<number> = []
    const body = counted((n) => Effect.fail(n))
    const last = yield* Effect.flip(
      Retry.retry(body.call, {
        schedule: Schedule.forever,
        ...options,
        onAttempt: (a) => Effect.sync(() => a.retrying && collected.push(a.failure))
      })
    )
    expect(last).toBe(body.executions)
    return { last, collected }
  })

const doWhile = (p: (input: number) => boolean) => ({ while: (input: number) => p(input) })
const doUntil = (p: (input: number) => boolean) => ({ while: (input: number) => !p(input) })

const fibs = (one: number, n: number) => {
  const out: Array<number> = []
  for (let a = one, b = one; out.length < n; [a, b] = [b, a + b]) out.push(a)
  return out
}

describe("peer Arrow ScheduleTest", () => {
  it.effect("recurs", () =>
    Effect.gen(function*() {
      // Sturdy: a negative count is refused (Arrow: no repetition)
      expect(() => recurs(-500)).toThrow(RangeError)
      expect(() => recurs(-500)).toThrow(/maxAttempts/)
      for (const [n, expected] of [[0, 0], [1, 1]] as const) {
        let runs = 0
        yield* Effect.repeat(Effect.sync(() => runs++), recurs(n))
        expect(runs - 1).toBe(expected)
        expect(delaysSync(recurs(n), { attempts: 10, seed: 1 })).toHaveLength(expected)
      }
    }))

  it("scheduleRecursWithPositiveNumber", () => {
    const n = 500
    // stepped n + 1 times: n decisions to go on, each with no wait, then done
    const res = delaysSync(recurs(n), { attempts: n + 1, seed: 1 })
    expect(res).toEqual(Array.from({ length: n }, () => 0))
    expect(laws.attemptsBounded(recurs(n), n, { seed: 1, attempts: n + 1 })).toBe(true)
    expect(() => laws.attemptsBounded(recurs(n), n - 1, { seed: 1, attempts: n + 1 })).toThrow(
      /"attemptsBounded" violated.*at most 499 retries/
    )
  })

  it.effect("doWhileRepeatsWhileConditionHolds", () =>
    Effect.gen(function*() {
      expect((yield* checkRepeat(doWhile((input) => input < 10))).last).toBe(10)
      expect((yield* checkRepeat(doWhile((input) => input > 10))).last).toBe(1)
      expect((yield* checkRepeat(doWhile((input) => input === 1))).last).toBe(2)
    }))

  it.effect("doUntilRepeatsUntilConditionIsSatisfied", () =>
    Effect.gen(function*() {
      expect((yield* checkRepeat(doUntil((input) => input < 10))).last).toBe(1)
      expect((yield* checkRepeat(doUntil((input) => input > 10))).last).toBe(11)
      expect((yield* checkRepeat(doUntil((input) => input === 1))).last).toBe(1)
    }))

  it.effect("doWhileCollectCollectsAllInputsIntoAList", () =>
    Effect.gen(function*() {
      const { collected } = yield* checkRepeat(doWhile((input) => input < 10))
      expect(collected).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9])
    }))

  it.effect("doUntilCollectCollectsAllInputsIntoAList", () =>
    Effect.gen(function*() {
      const { collected } = yield* checkRepeat(doUntil((input) => input > 10))
      expect(collected).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    }))

  it.effect("repeatScheduledRepeatRepeatsTheWholeNumber", () =>
    Effect.gen(function*() {
      const n = 42
      let count = 0
      const inner = Retry.retry(Effect.suspend(() => Effect.fail(++count)), { schedule: recurs(n) })
      const outer = Retry.retry(inner, { schedule: recurs(1) })
      expect(yield* Effect.flip(outer)).toBe((n + 1) * 2)
      expect(count).toBe((n + 1) * 2)
    }))

  it("spaced", () => {
    const duration = 5_000
    const res = delaysSync(spaced("5 seconds"), { attempts: 500, seed: 1 })
    expect(res).toHaveLength(500)
    expect(res.every((d) => d === duration)).toBe(true)
    // Backoff.envelope agrees: without jitter, the bounds are the delay
    for (const n of [0, 1, 499]) {
      const { lower, upper } = Backoff.envelope(
        { baseDelay: "5 seconds", factor: 1, jitter: "none", maxDelay: Duration.infinity },
        n
      )
      expect([Duration.toMillis(lower), Duration.toMillis(upper)]).toEqual([duration, duration])
    }
  })

  it("fibonacci", () => {
    const n = 10
    // Effect's fibonacci, through Backoff.bounded (no limit given): the delays are kept as they are
    const res = delaysSync(Backoff.bounded(Schedule.fibonacci("10 seconds"), {}), { attempts: n, seed: 1 })
    expect(res).toEqual(fibs(10_000, n))
  })

  it("linear", () => {
    const n = 10
    const res = delaysSync(Backoff.fromDelay((retry) => Duration.times(Duration.seconds(10), retry)), {
      attempts: n,
      seed: 1
    })
    expect(res).toEqual(Array.from({ length: n }, (_, i) => 10_000 * (i + 1)))
  })

  it("exponential", () => {
    const n = 10
    const exp = Array.from({ length: n }, (_, i) => 10_000 * 2 ** i)
    expect(delaysSync(Backoff.exponential(exponentialOptions("10 seconds")), { attempts: n, seed: 1 })).toEqual(exp)
    exp.forEach((delay, i) => {
      const { lower, upper } = Backoff.envelope(exponentialOptions("10 seconds"), i)
      expect([Duration.toMillis(lower), Duration.toMillis(upper)]).toEqual([delay, delay])
    })
  })

  it.effect("repeatIsStackSafe", () =>
    Effect.gen(function*() {
      const iterations = 20_000
      let count = 0
      yield* Effect.repeat(Effect.sync(() => ++count), recurs(iterations))
      expect(count - 1).toBe(iterations)
    }))

  it.effect("repeat", () =>
    Effect.gen(function*() {
      const stop = new RuntimeException("WOOO")
      const n = 100
      const eff = { counter: 0 }
      // Arrow's `Schedule.forever()`: Backoff.bounded with no limit
      const l = yield* Effect.either(
        Effect.repeat(
          Effect.suspend(() => eff.counter >= n ? Effect.fail(stop) : Effect.sync(() => eff.counter++)),
          Backoff.bounded(Schedule.forever, {})
        )
      )
      expect(eff.counter).toBe(100)
      expect(l).toEqual(Either.left(stop))
    }))

  it.effect("repeatFailsFastOnErrors", () =>
    Effect.gen(function*() {
      const ex = new Throwable("Hello")
      const result = yield* Effect.either(
        Effect.repeatOrElse(Effect.fail(ex), recurs(0), (exc) => Effect.fail(exc))
      )
      expect(result).toEqual(Either.left(ex))
    }))

  it.effect("repeatShouldRunTheScheduleWithTheCorrectInput", () =>
    Effect.gen(function*() {
      let i = 0
      const n = 10
      const inputs: Array<number> = []
      // the schedule Retry.retry steps is given each failure, in order, the last one (that ends it) included
      const schedule = Schedule.tapInput(recurs(n), (input: number) => Effect.sync(() => inputs.push(input)))
      yield* Effect.flip(Retry.retry(Effect.suspend(() => Effect.fail(i++)), { schedule }))
      expect(inputs).toEqual(Array.from({ length: n + 1 }, (_, k) => k))
    }))

  it.effect("retryIsStackSafe", () =>
    Effect.gen(function*() {
      let count = 0
      const iterations = 20_000
      const l = yield* Effect.either(
        Retry.retry(Effect.suspend(() => (count++, Effect.fail(exception))), { schedule: recurs(iterations) })
      )
      expect(Either.isLeft(l) && l.left).toBeInstanceOf(MyException)
      expect(count).toBe(iterations + 1)
    }))

  it.effect("retrySucceedsIfNoExceptionIsThrown", () =>
    Effect.gen(function*() {
      const result = yield* Retry.retry(Effect.succeed(1), { schedule: recurs(0) })
      expect(result).toBe(1)
    }))

  it.effect("retryOrElseEitherRunsTheScheduleWithCorrectInputAndRunsOrElseHandlerIfItDoesNotRetry", () =>
    Effect.gen(function*() {
      const ex = new Throwable("Hello")
      const handled: Array<[Throwable, number]> = []
      const res = yield* Effect.either(
        Retry.retry(Effect.fail(ex), {
          schedule: recurs(0),
          finalFailure: (e, attempts) => (handled.push([e, attempts]), e)
        })
      )
      expect(res).toEqual(Either.left(ex))
      expect(handled).toEqual([[ex, 1]])
    }))

  it.effect("stopsRetryingIfFirstOfMorePredicatesIsMet", () =>
    Effect.gen(function*() {
      const ex = new Throwable("Hello")
      // exponential(1 ms), done once its output (the delay) exceeds 50 ms, or once the failure is an
      // IllegalStateException (it never is here)
      const schedule = Backoff.exponential(exponentialOptions("1 millis")).pipe(
        Schedule.untilOutput((output) => Duration.greaterThan(output, Duration.millis(50)))
      )
      const start = yield* Clock.currentTimeMillis
      let attempts = 0
      const result = yield* advanceToDone(
        Effect.either(
          Retry.retry(Effect.suspend(() => (attempts++, Effect.fail(ex))), {
            schedule,
            while: (e) => !(e instanceof IllegalStateException)
          })
        )
      )
      expect(Exit.isSuccess(result) && result.value).toEqual(Either.left(ex))
      // waits of 1, 2, 4, 8, 16, 32 ms; the step that would wait 64 ms ends it
      expect(attempts).toBe(7)
      expect((yield* Clock.currentTimeMillis) - start).toBe(63)
    }))

  it.effect("rethrowsUnmatchedException", () =>
    Effect.gen(function*() {
      const ex = new Throwable("Hello")
      let attempts = 0
      const e = yield* Effect.flip(
        Retry.retry(Effect.suspend(() => (attempts++, Effect.fail(ex))), {
          schedule: Schedule.forever,
          while: (e) => e instanceof IllegalStateException
        })
      )
      expect(e).toBe(ex)
      expect(attempts).toBe(1)
    }))

  it.effect("captureException", () =>
    Effect.gen(function*() {
      const ex = new IllegalStateException("Hello")
      const buffer: Array<IllegalStateException> = []
      const e = yield* Effect.flip(
        Retry.retry(Effect.fail(ex), {
          schedule: recurs(2),
          onAttempt: (a) => Effect.sync(() => a.retrying && buffer.push(a.failure))
        })
      )
      expect(e).toBeInstanceOf(IllegalStateException)
      expect(buffer).toEqual([ex, ex])
    }))

  it.effect("captureExceptionDifferentInput", () =>
    Effect.gen(function*() {
      const ex = new IllegalStateException("Hello")
      const buffer: Array<Error> = []
      const e = yield* Effect.flip(
        Retry.retry(Effect.fail<Error>(ex), {
          schedule: recurs(2),
          while: (e) => e instanceof IllegalStateException,
          onAttempt: (a) => Effect.sync(() => a.retrying && buffer.push(a.failure))
        })
      )
      expect(e).toBeInstanceOf(IllegalStateException)
      expect(buffer).toEqual([ex, ex])
    }))

  it.effect("notCaptureExceptionDifferentInput", () =>
    Effect.gen(function*() {
      const ex = new IllegalStateException("Hello")
      const buffer: Array<Error> = []
      const decisions: Array<Retry.Reason> = []
      const e = yield* Effect.flip(
        Retry.retry(Effect.fail<Error>(ex), {
          schedule: recurs(2),
          while: (e) => e instanceof IllegalArgumentException,
          onAttempt: (a) =>
            Effect.sync(() => {
              decisions.push(a.reason)
              if (a.retrying) buffer.push(a.failure)
            })
        })
      )
      expect(e).toBeInstanceOf(IllegalStateException)
      expect(buffer).toEqual([])
      // Sturdy also tells the decision to give up
      expect(decisions).toEqual(["not-retryable"])
    }))

  it.effect("retriesMatchedException", () =>
    Effect.gen(function*() {
      const ex = new IllegalStateException("Hello")
      let count = 0
      const i = yield* Retry.retry(Effect.suspend(() => count++ === 0 ? Effect.fail(ex) : Effect.succeed(1)), {
        schedule: Schedule.forever
      })
      expect(i).toBe(1)
      expect(count).toBe(2)
    }))

  it.effect("retriesMatchedExceptionDifferentInput", () =>
    Effect.gen(function*() {
      const ex = new IllegalStateException("Hello")
      let count = 0
      const i = yield* Retry.retry(
        Effect.suspend(() => count++ === 0 ? Effect.fail<Error>(ex) : Effect.succeed(1)),
        { schedule: Schedule.forever, while: (e) => e instanceof IllegalStateException }
      )
      expect(i).toBe(1)
    }))

  it.effect("notRetriesMatchedExceptionDifferentInput", () =>
    Effect.gen(function*() {
      const ex = new IllegalStateException("Hello")
      let count = 0
      const e = yield* Effect.flip(
        Retry.retry(
          Effect.suspend(() => count++ === 0 ? Effect.fail<Error>(ex) : Effect.succeed(1)),
          { schedule: Schedule.forever, while: (e) => e instanceof IllegalArgumentException }
        )
      )
      expect(e).toBe(ex)
      expect(count).toBe(1)
    }))

  it.effect("retryRaiseIsStackSafe", () =>
    Effect.gen(function*() {
      let count = 0
      const iterations = stackSafeIteration
      const increment = Effect.sync(() => count++)
      // `raise(CustomError)` in a Raise block: a typed failure from Effect.gen
      const result = yield* Effect.either(
        Retry.retry(
          Effect.gen(function*() {
            yield* increment
            return yield* Effect.fail(CustomError)
          }),
          { schedule: recurs(iterations) }
        )
      )
      expect(result).toEqual(Either.left(CustomError))
      expect(count).toBe(iterations + 1)
    }))

  it.effect("retryRaiseSucceedsIfErrorIsNotRaised", () =>
    Effect.gen(function*() {
      const result = yield* Effect.either(
        Retry.retry(
          Effect.gen(function*() {
            if (false as boolean) yield* Effect.fail(CustomError)
            return 1
          }),
          { schedule: recurs(0) }
        )
      )
      expect(result).toEqual(Either.right(1))
    }))

  it.effect("retryEitherIsStackSafe", () =>
    Effect.gen(function*() {
      let count = 0
      const iterations = stackSafeIteration
      // a block returning `CustomError.left()`: an Either yielded in Effect.gen fails with its Left
      const result = yield* Effect.either(
        Retry.retry(
          Effect.gen(function*() {
            count++
            return yield* Either.left(CustomError)
          }),
          { schedule: recurs(iterations) }
        )
      )
      expect(result).toEqual(Either.left(CustomError))
      expect(count).toBe(iterations + 1)
    }))

  it.effect("retryEitherSucceedsIfErrorIsNotRaised", () =>
    Effect.gen(function*() {
      const result = yield* Effect.either(
        Retry.retry(
          Effect.gen(function*() {
            return yield* Either.right(1)
          }),
          { schedule: recurs(0) }
        )
      )
      expect(result).toEqual(Either.right(1))
    }))
})
