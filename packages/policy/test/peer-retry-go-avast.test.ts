// Ported from avast/retry-go v5.0.0 (commit 91e2a667ead012464475e9262dc9d95fbcfe2924): `retry_test.go`,
// `last_error_test.go` and two of `examples/` (their retry logic, without the HTTP server), one `it` per Go test (a
// `t.Run` subtest or a table's row, one `it` each), named after it, against `@sturdy/policy`'s `Backoff` schedules
// and `Retry.retry` on the TestClock, and `@sturdy/testing`'s schedule laws.
// Option mapping (`avastDo` below): `Attempts(n)` is `maxAttempts: n` of `Backoff.bounded` (the first attempt
// included, as avast counts); `Attempts(0)`/`UntilSucceeded()` is `maxAttempts: Infinity`; `Delay(d)` is the base of
// the delay type; `MaxDelay(d)` is `bounded`'s `maxDelay` (avast's 0 means none); `DelayType(BackOffDelay)` (d × 2^(n−1)
// for the n-th retry) is `Backoff.exponential({ baseDelay: d, factor: 2, jitter: "none", maxDelay: Infinity })`;
// `FixedDelay` is `Backoff.fromDelay(() => d)`; `RandomDelay` (uniform in [0, MaxJitter)) is
// `Backoff.exponential({ baseDelay: maxJitter, factor: 1, jitter: "full" })`; `CombineDelay(f, g)` (the sum) has no
// Sturdy counterpart: for delay functions it is `fromDelay((n) => f(n) + g(n))`, and avast's default
// `CombineDelay(BackOffDelay, RandomDelay)` is the exponential schedule with Effect's `Schedule.addDelayEffect` adding
// `Random.nextIntBetween(0, maxJitter)`; `FullJitterBackoffDelay` (uniform in [0, min(max, d × 2^n)]) is
// `jitter: "full"`; `RetryIf(f)` is `while`; `Unrecoverable(err)` is a failure `while` refuses; `OnRetry(n, err)`
// (called after each failure `RetryIf` accepts, the last one included, with n counting from 0) is `onAttempt` for
// every reason but `"not-retryable"`, n being `attempt − 2`; `AttemptsForError(n, err)` has no Sturdy counterpart and
// is a `while` counting that failure per call; `Context(ctx)` with a timeout is `Deadline.withDeadline`, a cancelled
// one an expired deadline or the interruption of the retrying fiber; `WithTimer` is the TestClock.
// Deliberate differences (each test says which): Sturdy returns the last failure itself, as `LastErrorOnly(true)`
// does, never a list of every failure (`finalFailure` is given the number of attempts, asserted where avast asserts
// the list's length); an interrupted retry ends interrupted (with no failure to wrap; the last failure was reported to
// `onAttempt`), and when the next attempt would start past the deadline the original failure comes back at once rather
// than `context.DeadlineExceeded` (so `WrapContextErrorWithLastError` is how Sturdy always behaves under a deadline);
// a negative delay is refused at construction (avast reads it as 0); delays saturate at what a timer holds (2^31 − 1
// ms) rather than at avast's 2^62-bounded shift or `math.MaxInt64`; full jitter waits at least 1 ms when its envelope
// is at least 1 ms; wall-clock bounds (`dur > 300ms`) become exact sums on the TestClock.
// Not ported: TestIsRecoverable, TestErrorIs, TestErrorAs, TestUnwrap, TestWrappedErrors, TestErrorsUnwrapReturnsNil
// and TestLastError's first three subtests (Go's error-list type and `errors.Is`/`As`/`Unwrap`, which Sturdy does not
// have: it returns the failure itself), TestBackOffDelay's `maxBackOffN` assertions (an internal field), the
// benchmarks, and examples/http_get_test.go and delay_based_on_error_test.go (their server never fails, so no retry
// logic runs).
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Deadline from "@sturdy/policy/Deadline"
import * as Retry from "@sturdy/policy/Retry"
import { laws } from "@sturdy/testing/ScheduleKit"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import { advanceToDone, advanceUntil } from "./utils/advance.js"
import { stepDelays } from "./utils/stepDelays.js"

/** a Go error: `unrecoverable` is `retry.Unrecoverable(err)`; `retryAfter` a wait the failure asks for */
class GoError extends Data.TaggedError("GoError")<{
  readonly message: string
  readonly unrecoverable?: boolean
  readonly retryAfter?: Duration.Duration
}> {}

const maxTimerMillis = 2 ** 31 - 1

/** `retry.BackOffDelay`: d, 2d, 4d, ... */
const backOffDelay = (delay: Duration.DurationInput) =>
  Backoff.exponential({
    baseDelay: delay,
    factor: 2,
    jitter: "none",
    maxDelay: Duration.infinity,
    maxAttempts: Infinity
  })

/** `retry.FixedDelay` */
const fixedDelay = (delay: Duration.DurationInput) => Backoff.fromDelay(() => delay)

/** `retry.RandomDelay`: uniform up to `maxJitter` */
const randomDelay = (maxJitter: Duration.DurationInput) =>
  Backoff.exponential({ baseDelay: maxJitter, factor: 1, jitter: "full", maxAttempts: Infinity })

/** `retry.CombineDelay(BackOffDelay, RandomDelay)`, avast's default: the backoff plus a uniform [0, maxJitter) */
const backOffPlusRandom = (delay: Duration.DurationInput, maxJitter: number) =>
  maxJitter === 0
    ? backOffDelay(delay)
    : Schedule.addDelayEffect(backOffDelay(delay), () => Random.nextIntBetween(0, maxJitter))

/**
 * `retry.CombineDelay(f...)` of plain delay functions in milliseconds (n is the 1-based retry): numbers, since a
 * part may be negative (Effect reads a negative `Duration` as zero)
 */
const combineDelay = (...delays: Array<(n: number) => number>) =>
  Backoff.fromDelay((n) => delays.reduce((total, f) => total + f(n), 0))

interface AvastOptions {
  /** `Attempts(n)`, default 10; 0 retries until success */
  readonly attempts?: number
  /** `Delay(d)`, default 100 ms */
  readonly delay?: Duration.DurationInput
  /** `MaxDelay(d)`, default none */
  readonly maxDelay?: Duration.DurationInput
  /** `MaxJitter(d)` in ms, default 100 */
  readonly maxJitter?: number
  /** `DelayType(f)`, default `CombineDelay(BackOffDelay, RandomDelay)` */
  readonly delayType?: (o: { readonly delay: Duration.DurationInput; readonly maxJitter: number }) => Schedule.Schedule<
    unknown,
    unknown
  >
  /** `RetryIf(f)`, default: every recoverable error */
  readonly retryIf?: (e: GoError) => boolean
  /** `OnRetry(f)` */
  readonly onRetry?: (n: number, e: GoError) => void
  /** `AttemptsForError(n, err)`: `err` matched by message */
  readonly attemptsForError?: ReadonlyArray<readonly [number, string]>
  /** the number of attempts made, when retrying stops (avast's error list has one entry per attempt) */
  readonly onGiveUp?: (attempts: number) => void
  /** the wait the failure asks for (examples/custom_retry_function_test.go's `DelayType`) */
  readonly delayHint?: (e: GoError) => Option.Option<Duration.Duration>
}

/** `retry.New(opts...).Do(f)` */
const avastDo = <A>(f: Effect.Effect<A, GoError>, o: AvastOptions = {}) =>
  Effect.suspend(() => {
    const delay = o.delay ?? "100 millis"
    const maxJitter = o.maxJitter ?? 100
    const attempts = o.attempts ?? 10
    const delayType = o.delayType ?? ((c) => backOffPlusRandom(c.delay, c.maxJitter))
    // AttemptsForError counts per call
    const left = new Map((o.attemptsForError ?? []).map(([n, message]) => [message, n]))
    const retryIf = o.retryIf ?? (() => true)
    return Retry.retry(f, {
      schedule: Backoff.bounded(delayType({ delay, maxJitter }), {
        maxAttempts: attempts === 0 ? Infinity : attempts,
        maxDelay: o.maxDelay
      }),
      while: (e) => {
        if (e.unrecoverable === true || !retryIf(e)) return false
        const count = left.get(e.message)
        if (count === undefined) return true
        left.set(e.message, count - 1)
        return count - 1 > 0
      },
      delayHint: o.delayHint,
      retryAfterJitter: 0,
      finalFailure: (e, made) => {
        o.onGiveUp?.(made)
        return e
      },
      onAttempt: (a) => Effect.sync(() => a.reason !== "not-retryable" && o.onRetry?.(a.attempt - 2, a.failure))
    })
  })

const fail = (message: string) => Effect.fail(new GoError({ message }))

/** elapsed (TestClock) time of running `effect` to its end, with its exit */
const timed = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const start = yield* Clock.currentTimeMillis
    const exit = yield* advanceToDone(effect)
    return { exit, dur: (yield* Clock.currentTimeMillis) - start }
  })

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E | undefined =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined

describe("retry-go retry_test.go", () => {
  it.effect("TestDoWithDataAllFailed", () =>
    Effect.gen(function*() {
      let retrySum = 0
      let attempts = 0
      const { exit } = yield* timed(avastDo(Effect.as(fail("test"), 7), {
        onRetry: (n) => retrySum += n,
        delay: Duration.nanos(1n),
        onGiveUp: (made) => attempts = made
      }))
      // avast returns the zero value and a list of the 10 failures; Sturdy returns the last failure, and counts 10
      expect(failureOf(exit)?.message).toBe("test")
      expect(attempts).toBe(10)
      // OnRetry's n is 0..9
      expect(retrySum).toBe(45)
    }))

  it.effect("TestDoFirstOk", () =>
    Effect.gen(function*() {
      let retrySum = 0
      const exit = yield* Effect.exit(avastDo(Effect.void, { onRetry: (n) => retrySum += n }))
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(retrySum).toBe(0)
    }))

  it.effect("TestDoWithDataFirstOk", () =>
    Effect.gen(function*() {
      let retrySum = 0
      const val = yield* avastDo(Effect.succeed(1), { onRetry: (n) => retrySum += n })
      expect(val).toBe(1)
      expect(retrySum).toBe(0)
    }))

  it.effect("TestRetryIf", () =>
    Effect.gen(function*() {
      let retryCount = 0
      let attempts = 0
      const { exit } = yield* timed(avastDo(Effect.suspend(() => fail(retryCount >= 2 ? "special" : "test")), {
        onRetry: () => retryCount++,
        retryIf: (e) => e.message !== "special",
        delay: Duration.nanos(1n),
        onGiveUp: (made) => attempts = made
      }))
      // avast: the list test, test, special; Sturdy: the last failure, after 3 attempts
      expect(failureOf(exit)?.message).toBe("special")
      expect(attempts).toBe(3)
      expect(retryCount).toBe(2)
    }))

  it.effect("TestRetryIf_ZeroAttempts", () =>
    Effect.gen(function*() {
      let retryCount = 0
      let onRetryCount = 0
      const { exit } = yield* timed(avastDo(
        Effect.suspend(() => {
          if (retryCount >= 2) return fail("special")
          retryCount++
          return fail("test")
        }),
        {
          onRetry: (n) => onRetryCount = n,
          retryIf: (e) => e.message !== "special",
          delay: Duration.nanos(1n),
          attempts: 0
        }
      ))
      expect(failureOf(exit)?.message).toBe("special")
      expect(retryCount).toBe(onRetryCount + 1)
    }))

  it.effect("TestZeroAttemptsWithError", () =>
    Effect.gen(function*() {
      const maxErrors = 999
      let count = 0
      const { exit, dur } = yield* timed(avastDo(
        Effect.suspend(() => {
          if (count < maxErrors) {
            count += 1
            return fail("test")
          }
          return Effect.void
        }),
        { attempts: 0, maxDelay: Duration.nanos(1n) }
      ))
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(count).toBe(maxErrors)
      // a 1 ns cap is no wait at all
      expect(dur).toBe(0)
    }))

  it.effect("TestZeroAttemptsWithoutError", () =>
    Effect.gen(function*() {
      let count = 0
      const exit = yield* Effect.exit(avastDo(Effect.sync(() => count++), { attempts: 0 }))
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(count).toBe(1)
    }))

  it.effect("TestZeroAttemptsWithUnrecoverableError", () =>
    Effect.gen(function*() {
      const anError = new GoError({ message: "assert.AnError general error for testing", unrecoverable: true })
      const { exit } = yield* timed(avastDo(Effect.fail(anError), { attempts: 0, maxDelay: Duration.nanos(1n) }))
      // the very failure comes back
      expect(failureOf(exit)).toBe(anError)
    }))

  it.effect("TestAttemptsForError", () =>
    Effect.gen(function*() {
      let count = 0
      const { exit } = yield* timed(avastDo(
        Effect.suspend(() => {
          count++
          return fail("invalid argument")
        }),
        { attemptsForError: [[3, "invalid argument"]], attempts: 5 }
      ))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(count).toBe(3)
    }))

  it.effect("TestDefaultSleep", () =>
    Effect.gen(function*() {
      // avast: 3 attempts with the default delay take longer than 300 ms (100 + 200, plus the random part)
      for (let seed = 0; seed < 20; seed++) {
        const { dur, exit } = yield* timed(
          avastDo(fail("test"), { attempts: 3 }).pipe(
            Effect.withRandom(Random.make(seed))
          )
        )
        expect(Exit.isFailure(exit)).toBe(true)
        expect(dur).toBeGreaterThanOrEqual(300)
        expect(dur).toBeLessThan(300 + 2 * 100)
      }
    }))

  it.effect("TestFixedSleep", () =>
    Effect.gen(function*() {
      const { dur, exit } = yield* timed(avastDo(fail("test"), { attempts: 3, delayType: (c) => fixedDelay(c.delay) }))
      expect(Exit.isFailure(exit)).toBe(true)
      // avast: shorter than 500 ms; on the TestClock exactly two fixed delays
      expect(dur).toBeLessThan(500)
      expect(dur).toBe(200)
    }))

  it.effect("TestLastErrorOnly", () =>
    Effect.gen(function*() {
      let retrySum = 0
      const { exit } = yield* timed(avastDo(Effect.suspend(() => fail(`${retrySum}`)), {
        onRetry: () => retrySum += 1,
        delay: Duration.nanos(1n)
      }))
      // Sturdy always returns the last failure, as LastErrorOnly(true) does
      expect(failureOf(exit)?.message).toBe("9")
    }))

  it.effect("TestUnrecoverableError", () =>
    Effect.gen(function*() {
      let attempts = 0
      let made = 0
      const testErr = new GoError({ message: "error", unrecoverable: true })
      const { exit } = yield* timed(avastDo(
        Effect.suspend(() => {
          attempts++
          return Effect.fail(testErr)
        }),
        { attempts: 2, onGiveUp: (n) => made = n }
      ))
      // avast: Error{testErr}, one entry; Sturdy: the failure itself, after one attempt
      expect(failureOf(exit)).toBe(testErr)
      expect(made).toBe(1)
      expect(attempts).toBe(1)
    }))

  it.effect("TestCombineFixedDelays", () =>
    Effect.gen(function*() {
      const { dur, exit } = yield* timed(avastDo(fail("test"), {
        attempts: 3,
        delayType: (c) => combineDelay(() => Duration.toMillis(c.delay), () => Duration.toMillis(c.delay))
      }))
      expect(Exit.isFailure(exit)).toBe(true)
      // avast: between 400 and 500 ms; on the TestClock exactly two waits of 200 ms
      expect(dur).toBe(400)
    }))

  it.effect("TestRandomDelay", () =>
    Effect.gen(function*() {
      // avast: 3 attempts with RandomDelay up to 50 ms take between 2 and 150 ms. Sturdy's full jitter waits at least
      // 1 ms, so two waits lie in [2, 100] ms
      const durs = new Set<number>()
      for (let seed = 0; seed < 50; seed++) {
        const { dur, exit } = yield* timed(
          avastDo(fail("test"), {
            attempts: 3,
            delayType: (c) => randomDelay(c.maxJitter),
            maxJitter: 50
          }).pipe(Effect.withRandom(Random.make(seed)))
        )
        expect(Exit.isFailure(exit)).toBe(true)
        expect(dur).toBeGreaterThanOrEqual(2)
        expect(dur).toBeLessThanOrEqual(100)
        durs.add(dur)
      }
      expect(durs.size).toBeGreaterThan(10)
    }))

  it.effect("TestMaxDelay", () =>
    Effect.gen(function*() {
      // avast: 5 attempts, 10 ms doubling plus up to 100 ms at random, each capped at 50 ms: between 120 and 275 ms.
      // On the TestClock: four waits, 10 + r, 20 + r, 40 + r and 80 + r, each at most 50: in [120, 200]
      for (let seed = 0; seed < 20; seed++) {
        const { dur, exit } = yield* timed(
          avastDo(fail("test"), {
            attempts: 5,
            delay: "10 millis",
            maxDelay: "50 millis"
          }).pipe(Effect.withRandom(Random.make(seed)))
        )
        expect(Exit.isFailure(exit)).toBe(true)
        expect(dur).toBeGreaterThanOrEqual(120)
        expect(dur).toBeLessThanOrEqual(200)
      }
      // the cap holds for every delay, whatever the random part
      const capped = Backoff.bounded(backOffPlusRandom("10 millis", 100), { maxDelay: "50 millis", maxAttempts: 5 })
      expect(laws.capHolds(capped, 50, { seed: 3 })).toBe(true)
      expect(laws.attemptsBounded(capped, 4, { seed: 3 })).toBe(true)
    }))

  // TestBackOffDelay: `BackOffDelay(n, nil, New(Delay(d)))` is the delay before retry n (1-based) of the backoff
  it("TestBackOffDelay/negative-delay", () => {
    // avast reads Delay(-1) as 0; Sturdy refuses a negative baseDelay, naming it (documented)
    // (Go's -1 is -1 ns; Effect's `Duration.nanos(-1n)` is already zero, so the input is what can be checked)
    expect(() => backOffDelay("-1 nanos")).toThrow(/baseDelay/)
    expect(() => backOffDelay(-1)).toThrow(RangeError)
  })

  it("TestBackOffDelay/zero-delay", () => {
    const options = { baseDelay: 0, factor: 2, jitter: "none", maxDelay: Duration.infinity } as const
    expect(Duration.toMillis(Backoff.envelope(options, 65 - 1).upper)).toBe(0)
    expect(stepDelays(backOffDelay(0), Array.from({ length: 65 }, () => undefined)).every((d) => d === 0)).toBe(true)
  })

  it("TestBackOffDelay/one-second", () => {
    // avast: 1 s << 33 (its shift is bounded so as not to overflow); Sturdy saturates at what a timer holds
    const options = { baseDelay: "1 second", factor: 2, jitter: "none", maxDelay: Duration.infinity } as const
    expect(Duration.toMillis(Backoff.envelope(options, 62 - 1).upper)).toBe(maxTimerMillis)
    const delays = stepDelays(backOffDelay("1 second"), Array.from({ length: 62 }, () => undefined))
    expect(delays[61]).toBe(maxTimerMillis)
    expect(laws.envelopeMonotone(backOffDelay("1 second"), { seeds: 1, attempts: 62, maxDelay: maxTimerMillis }))
      .toBe(true)
  })

  it("TestBackOffDelay/one-second-n", () => {
    const options = { baseDelay: "1 second", factor: 2, jitter: "none", maxDelay: Duration.infinity } as const
    expect(Duration.toMillis(Backoff.envelope(options, 1 - 1).upper)).toBe(1000)
    expect(stepDelays(backOffDelay("1 second"), [undefined])).toEqual([1000])
  })

  // TestCombineDelay: the sum of delay functions, one step
  const maxDurationMillis = Number(2n ** 63n - 1n) / 1e6
  it("TestCombineDelay/empty", () => {
    expect(stepDelays(combineDelay(), [undefined])).toEqual([0])
  })

  it("TestCombineDelay/single", () => {
    expect(stepDelays(combineDelay(() => 1000), [undefined])).toEqual([1000])
  })

  it("TestCombineDelay/negative", () => {
    expect(stepDelays(combineDelay(() => 1000, () => -1), [undefined])).toEqual([999])
  })

  it("TestCombineDelay/overflow", () => {
    // avast saturates at math.MaxInt64 ns; Sturdy at what a timer holds
    expect(stepDelays(combineDelay(() => maxDurationMillis, () => 1000, () => 1), [undefined])).toEqual([
      maxTimerMillis
    ])
  })

  it.effect("TestContext/cancel before", () =>
    Effect.gen(function*() {
      // a context cancelled before: a deadline already passed. No attempt, no OnRetry, no wait
      let retrySum = 0
      let calls = 0
      const { dur, exit } = yield* timed(
        avastDo(Effect.suspend(() => (calls++, fail("test"))), { onRetry: () => retrySum += 1 }).pipe(
          Deadline.withDeadline(0)
        )
      )
      expect(Deadline.isDeadlineExceeded(failureOf(exit))).toBe(true)
      expect(dur).toBeLessThan(100)
      expect(retrySum).toBe(0)
      expect(calls).toBe(0)
    }))

  /** runs `Do` in a fiber that is interrupted (the context cancelled) once OnRetry has run `cancelAfter` times */
  const cancelInProgress = (cancelAfter: number, o: AvastOptions, error: (retrySum: number) => GoError) =>
    Effect.gen(function*() {
      const cancel = yield* Deferred.make<void>()
      const seen: Array<GoError> = []
      let retrySum = 0
      let calls = 0
      const fiber = yield* Effect.fork(avastDo(
        Effect.suspend(() => (calls++, Effect.fail(error(retrySum)))),
        {
          ...o,
          onRetry: (_, e) => {
            retrySum += 1
            seen.push(e)
            if (retrySum >= cancelAfter) Deferred.unsafeDone(cancel, Exit.void)
          }
        }
      ))
      yield* advanceUntil(Deferred.isDone(cancel))
      const exit = yield* Fiber.interrupt(fiber)
      return { exit, retrySum, calls, seen }
    })

  it.effect("TestContext/cancel in retry progress", () =>
    Effect.gen(function*() {
      // avast: the list test, test, context canceled. Sturdy: interrupted after two attempts; the failures were seen
      // by OnRetry
      const r = yield* cancelInProgress(2, {}, () => new GoError({ message: "test" }))
      expect(Exit.isInterrupted(r.exit)).toBe(true)
      expect(r.retrySum).toBe(2)
      expect(r.calls).toBe(2)
      expect(r.seen.map((e) => e.message)).toEqual(["test", "test"])
    }))

  it.effect("TestContext/cancel in retry progress - last error only", () =>
    Effect.gen(function*() {
      // avast: context.Canceled itself; Sturdy: the interruption
      const r = yield* cancelInProgress(2, {}, () => new GoError({ message: "test" }))
      expect(Exit.isInterrupted(r.exit)).toBe(true)
      expect(failureOf(r.exit)).toBeUndefined()
      expect(r.retrySum).toBe(2)
    }))

  it.effect("TestContext/cancel in retry progress - infinite attempts", () =>
    Effect.gen(function*() {
      const r = yield* cancelInProgress(2, { attempts: 0 }, () => new GoError({ message: "test" }))
      expect(Exit.isInterrupted(r.exit)).toBe(true)
      expect(r.retrySum).toBe(2)
    }))

  it.effect(
    "TestContext/cancelled on retry infinte attempts - wraps context error with last retried function error",
    () =>
      Effect.gen(function*() {
        // avast: an error that is both context.Canceled and the last failure, "error 2". Sturdy: the interruption,
        // and the last failure is the one OnRetry saw last
        const r = yield* cancelInProgress(
          2,
          { attempts: 0 },
          (retrySum) => new GoError({ message: `error ${retrySum + 1}` })
        )
        expect(Exit.isInterrupted(r.exit)).toBe(true)
        expect(r.seen.at(-1)?.message).toBe("error 2")
      })
  )

  it.effect(
    "TestContext/timed out on retry infinte attempts - wraps context error with last retried function error",
    () =>
      Effect.gen(function*() {
        // avast: a 200 ms context; the error is DeadlineExceeded wrapping "error 2". Sturdy: the second wait (200 ms
        // and more) would end past the deadline, so "error 2" itself comes back at once (reason "deadline")
        for (let seed = 0; seed < 10; seed++) {
          let retrySum = 0
          const { exit, dur } = yield* timed(
            avastDo(Effect.suspend(() => fail(`error ${retrySum + 1}`)), {
              onRetry: () => retrySum += 1,
              attempts: 0
            }).pipe(Deadline.withDeadline("200 millis"), Effect.withRandom(Random.make(seed)))
          )
          expect(failureOf(exit)?.message).toBe("error 2")
          expect(dur).toBeLessThan(200)
        }
      })
  )

  it.effect("TestTimerInterface", () =>
    Effect.gen(function*() {
      // one attempt: the error, and no wait asked of the timer (the TestClock)
      const { exit, dur } = yield* timed(
        avastDo(fail("test"), { attempts: 1, delay: "10 millis", maxDelay: "50 millis" })
      )
      expect(failureOf(exit)?.message).toBe("test")
      expect(dur).toBe(0)
    }))

  it("TestFullJitterBackoffDelay", () => {
    const options = { baseDelay: "50 millis", maxDelay: "500 millis", factor: 2, jitter: "full" } as const
    const attempts = [0, 1, 2, 3, 4, 5, 6, 10]
    for (let seed = 0; seed < 50; seed++) {
      const delays = stepDelays(
        Backoff.exponential({ ...options, maxAttempts: Infinity }),
        Array.from({ length: 11 }, () => undefined),
        0,
        seed
      )
      const noMax = stepDelays(
        Backoff.exponential({ ...options, maxDelay: Duration.infinity, maxAttempts: Infinity }),
        Array.from({ length: 11 }, () => undefined),
        0,
        seed
      )
      for (const n of attempts) {
        const ceiling = Math.min(500, 50 * 2 ** n)
        expect(delays[n]).toBeGreaterThanOrEqual(0)
        expect(delays[n]).toBeLessThanOrEqual(ceiling)
        expect(Duration.toMillis(Backoff.envelope(options, n).upper)).toBe(ceiling)
        // MaxDelay disabled
        expect(noMax[n]).toBeGreaterThanOrEqual(0)
        expect(noMax[n]).toBeLessThanOrEqual(Math.min(10 * 60 * 1000, 50 * 2 ** n))
      }
      expect(laws.capHolds(Backoff.exponential({ ...options, maxAttempts: Infinity }), 500, { seed, attempts: 20 }))
        .toBe(true)
    }
    // zero base: no wait
    const zeroBase = Backoff.exponential({ ...options, baseDelay: 0, maxAttempts: Infinity })
    expect(stepDelays(zeroBase, [undefined, undefined])).toEqual([0, 0])
    // a very small base (1 ns, here 1 ms) capped at 100 (ns, here ms)
    for (let seed = 0; seed < 50; seed++) {
      const small = stepDelays(
        Backoff.exponential({ ...options, baseDelay: 1, maxDelay: 100, maxAttempts: Infinity }),
        Array.from({ length: 5 }, () => undefined),
        0,
        seed
      )
      small.forEach((d, i) => expect(d).toBeLessThanOrEqual(Math.min(100, 2 ** i)))
    }
  })
})

describe("retry-go last_error_test.go", () => {
  it.effect("TestLastError/migration example from errors.Unwrap", () =>
    Effect.gen(function*() {
      const { exit } = yield* timed(avastDo(fail("operation failed"), { attempts: 3, delay: 0 }))
      // Sturdy returns the last failure itself: nothing to unwrap
      expect(failureOf(exit)?.message).toContain("operation failed")
    }))
})

describe("retry-go examples", () => {
  it.effect("TestCustomRetryFunction", () =>
    Effect.gen(function*() {
      // examples/custom_retry_function_test.go, without the HTTP server: five answers of 429 with Retry-After: 1, then
      // "hello". The DelayType follows the server's wait when the failure carries one, else BackOffDelay: Sturdy's
      // `delayHint` replaces the backoff's delay (the example adds no jitter: `retryAfterJitter: 0`)
      let attempts = 5
      const server = Effect.suspend(() => {
        if (attempts > 0) {
          attempts--
          return Effect.fail(
            new GoError({ message: "HTTP 429: Server limit reached", retryAfter: Duration.seconds(1) })
          )
        }
        return Effect.succeed("hello")
      })
      const { exit, dur } = yield* timed(
        avastDo(server, { delayHint: (e) => Option.fromNullable(e.retryAfter) })
      )
      expect(exit).toStrictEqual(Exit.succeed("hello"))
      // five waits of exactly the server's second
      expect(dur).toBe(5000)
    }))

  it.effect("TestErrorHistory", () =>
    Effect.gen(function*() {
      // examples/errors_history_test.go, without the HTTP server: three 502s then 200; OnRetry collects the failures
      let attempts = 3
      const allErrors: Array<GoError> = []
      const server = Effect.suspend(() => {
        if (attempts > 0) {
          attempts--
          return fail("failed HTTP - 502")
        }
        return Effect.void
      })
      const { exit } = yield* timed(avastDo(server, { onRetry: (_, e) => allErrors.push(e) }))
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(allErrors).toHaveLength(3)
    }))
})
