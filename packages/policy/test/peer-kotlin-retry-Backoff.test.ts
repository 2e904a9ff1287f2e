// Ported from michaelbull/kotlin-retry (commit 2f2617e85a18f5eee317328ba6c4f39e15c8175a), kotlin-retry/src/commonTest:
// `policy/BackoffTest.kt`, `policy/DelayTest.kt`, `policy/PredicateTest.kt`, `policy/StopTest.kt` and `RetryTest.kt`,
// one `describe` per Kotlin class and one `it` per `@Test`, named after it, against `@sturdy/policy`'s `Backoff`
// schedules (stepped with `stepDelays`, attempts taking no time) and `Retry.retry` on the TestClock.
//
// Mapping: a `RetryPolicy` is a `Schedule` stepped with the failure; "the policy on `FailedAttempt(number = n, ...)`"
// is the (n + 1)-th step of a fresh schedule stepped through the n decisions before it (which give the case's
// `previousDelay` and `cumulativeDelay`). `RetryAfter(d)` is a delay of d ms, `ContinueRetrying` a delay of 0, and
// `StopRetrying` the schedule being done. `stopAtAttempts(n)` is `Backoff.bounded(fromDelay(() => 0), { maxAttempts: n })`
// (both count the first attempt); `constantDelay(d)` is `Backoff.exponential({ baseDelay: d, factor: 1, jitter: "none" })`
// without limits; `binaryExponentialBackoff(min..max)` is `Backoff.exponential({ baseDelay: min, maxDelay: max,
// jitter: "none" })`, `fullJitterBackoff`, `equalJitterBackoff` and `decorrelatedJitterBackoff` the same with
// `jitter: "full"`, `"equal"`, `"decorrelated"` (the correlation 3 is Sturdy's fixed one); Kotlin's `PenultimateRandom`
// (the highest draw) is `Random.fixed([1 − 2⁻⁵³])`, the largest unit below 1, and `LowerBoundRandom` is
// `Random.fixed([0])`. `delayAtMost(m)` is `Backoff.bounded(p, { maxDelay: m })`; `stopAtDelay(d)` is Effect's
// `Schedule.whileOutput` over the delay chosen (`< d`); `stopAtCumulativeDelay(m)` is `Backoff.bounded(p,
// { maxElapsed: m })`. `continueIf(p)` / `stopUnless(p)` is `Retry.retry`'s `while: p`, `continueUnless(p)` /
// `stopIf(p)` is `while: !p`; in the composition of `RetryTest.retryWithCustomPolicy`, `continueIf(p)` is
// `Schedule.recurWhile(p)` and `+` (both must continue, the longer delay wins) is `Schedule.intersect`. A thrown
// exception is a typed failure; a `CancellationException` or a cancelled `Job` is fiber interruption;
// `runTest`'s virtual time is the TestClock.
//
// Deliberate differences (each test says which): Kotlin draws full jitter from the closed range [0, t] in whole
// milliseconds, Sturdy scales a unit in [0, 1) and rounds down, so its highest full-jitter draw is t − 1 ms where
// Kotlin's is t (every delay stays within `Backoff.envelope`, checked over 20 seeds); a full-jitter draw of 0 is 1 ms in Sturdy (documented:
// "while t(n) is at least 1 ms the delay is at least 1 ms"), where Kotlin answers `ContinueRetrying`; decorrelated jitter
// starts from `previous = baseDelay`, as in AWS's formula (documented: `random(baseDelay, previous × 3)`), so its first
// retry is in [base, 3·base), where Kotlin's starts from `previous = 0` and its first retry waits exactly `min`.
// Sturdy's `maxElapsed` allows a retry that starts exactly at the limit ("no retry starts later than this"), where
// `stopAtCumulativeDelay` stops at equality (`>=`); no case of the suite lands on the equality.
//
// Not ported: kotlin-retry-result's `RetryTest.kt` (the same eight cases over `Result<V, E>`: in Effect a typed failure
// already is that `Err`, so its port is `RetryTest` below); jvmTest's `DispatcherTest.kt` (coroutine dispatchers).
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Retry from "@sturdy/policy/Retry"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import { advanceToDone } from "./utils/advance.js"
import { constantDelay, decisionAt, limitRetries } from "./utils/retryPolicies.js"
import { stepDelays } from "./utils/stepDelays.js"

/** Kotlin's `PenultimateRandom`: the highest draw (`nextLong(until)` = until − 1), here the largest unit below 1 */
const penultimateRandom = Random.fixed([1 - 2 ** -53])
/** Kotlin's `LowerBoundRandom`: the lowest draw */
const lowerBoundRandom = Random.fixed([0])

const stopAtAttempts = (count: number) => limitRetries(count - 1)
const unbounded = { maxAttempts: Infinity } as const
const range = { baseDelay: 10, maxDelay: 8000 } as const

/** `simulate(times)`: the delays of the first `times` decisions (0 = `ContinueRetrying`) */
const simulate = (schedule: Schedule.Schedule<unknown, unknown>, times: number, random: Random.Random) =>
  stepDelays(schedule, new Array<undefined>(times).fill(undefined), 0, random)

/** `binaryExponentialBackoff(10L..8000L)`'s delays, Kotlin's expectation for the highest draw of every jitter mode */
const binaryExponential = [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5120, 8000]

/** the envelope of retry n of `options`, in milliseconds */
const envelopeOf = (options: Backoff.Options, n: number) => {
  const { lower, upper } = Backoff.envelope(options, n)
  return [Duration.toMillis(lower), Duration.toMillis(upper)] as const
}

/** every delay of 20 seeded runs lies within its envelope */
const withinEnvelope = (options: Backoff.Options, times: number) => {
  for (let seed = 1; seed <= 20; seed++) {
    const delays = simulate(Backoff.exponential(options), times, Random.make(seed))
    expect(delays.length).toBe(times)
    delays.forEach((delay, n) => {
      const [lower, upper] = envelopeOf(options, n)
      expect(delay).toBeGreaterThanOrEqual(lower)
      expect(delay).toBeLessThanOrEqual(upper)
    })
  }
}

describe("peer kotlin-retry: BackoffTest", () => {
  it("binaryExponentialBackoff", () => {
    const policy = Backoff.exponential({ ...unbounded, ...range, jitter: "none" })
    expect(simulate(policy, binaryExponential.length, penultimateRandom)).toEqual(binaryExponential)
  })

  it("fullJitterBackoff", () => {
    const options: Backoff.Options = { ...unbounded, ...range, jitter: "full" }
    // Kotlin draws from [0, t] and its highest draw is t; Sturdy draws from [0, t), so its highest is t − 1 ms
    expect(simulate(Backoff.exponential(options), binaryExponential.length, penultimateRandom)).toEqual(
      binaryExponential.map((t) => t - 1)
    )
    withinEnvelope(options, binaryExponential.length)
  })

  it("fullJitterBackoffLowerBound", () => {
    // Kotlin answers ContinueRetrying (no wait) for a draw of 0; Sturdy's full jitter never rounds a wait down to
    // none while t(n) ≥ 1 ms (documented), so the lowest draw waits 1 ms
    const policy = Backoff.exponential({ ...unbounded, ...range, jitter: "full" })
    expect(simulate(policy, 10, lowerBoundRandom)).toEqual(new Array(10).fill(1))
  })

  it("equalJitter", () => {
    const options: Backoff.Options = { ...unbounded, ...range, jitter: "equal" }
    // as Kotlin's: the highest draw is t / 2 + t / 2 = t (Sturdy's t / 2 + (t / 2) × u, for the largest u below 1,
    // rounds to t in floating point)
    expect(simulate(Backoff.exponential(options), binaryExponential.length, penultimateRandom)).toEqual(
      binaryExponential
    )
    // and the lowest draw is t / 2 in both
    expect(simulate(Backoff.exponential(options), binaryExponential.length, lowerBoundRandom)).toEqual(
      binaryExponential.map((t) => t / 2)
    )
    withinEnvelope(options, binaryExponential.length)
  })

  it("decorrelatedJitter", () => {
    const options: Backoff.Options = { ...unbounded, ...range, jitter: "decorrelated" }
    // Kotlin: 10, 30, 90, ..., 7290, then 8000 (its first wait is `min`, from previous = 0). Sturdy starts from
    // previous = baseDelay (AWS's formula): the highest draws are 10 + 20u → 29, 10 + 77u → 86, then 10 + 248u, which
    // floating point rounds up to 3 × 86 = 258 (as Kotlin's closed range reaches 3 × previous), and so on, capped at
    // 8000 once they pass it
    expect(simulate(Backoff.exponential(options), 11, penultimateRandom)).toEqual(
      [29, 86, 258, 773, 2318, 6953, 8000, 8000, 8000, 8000, 8000]
    )
    // the lowest draw is the base every time, as Kotlin's `nextLong(min, ...)` would give
    expect(simulate(Backoff.exponential(options), 11, lowerBoundRandom)).toEqual(new Array(11).fill(10))
    withinEnvelope(options, 11)
  })
})

describe("peer kotlin-retry: DelayTest", () => {
  const stopAtDelay = (policy: Schedule.Schedule<Duration.Duration>, delay: number) =>
    Schedule.whileOutput(policy, Duration.lessThan(Duration.millis(delay)))

  it("delayAtMostStoppedPolicy", () => {
    const policy = Backoff.bounded(stopAtDelay(constantDelay(30), 5), { maxDelay: 50 })
    expect(decisionAt(policy, 0)).toBe("GiveUp")
  })

  it("delayAtMostRunningPolicy", () => {
    const policy = Backoff.bounded(stopAtAttempts(5), { maxDelay: 20 })
    expect(decisionAt(policy, 0)).toBe(0)
  })

  it("delayAtMostLowerBound", () => {
    expect(decisionAt(Backoff.bounded(constantDelay(30), { maxDelay: 50 }), 0)).toBe(30)
  })

  it("delayAtMostUpperBound", () => {
    expect(decisionAt(Backoff.bounded(constantDelay(100), { maxDelay: 100 }), 0)).toBe(100)
  })

  it("delayAtMostReduce", () => {
    expect(decisionAt(Backoff.bounded(constantDelay(200), { maxDelay: 150 }), 0)).toBe(150)
  })
})

class IllegalStateException extends Data.TaggedError("IllegalStateException") {}
class UnsupportedOperationException extends Data.TaggedError("UnsupportedOperationException") {}
type Failure = IllegalStateException | UnsupportedOperationException

describe("peer kotlin-retry: PredicateTest", () => {
  const isIllegalState = (failure: Failure) => failure._tag === "IllegalStateException"

  /** fails once with `failure`, then succeeds: `"ContinueRetrying"` if it was retried, `"StopRetrying"` if not */
  const decide = (failure: Failure, retryWhile: (failure: Failure) => boolean) =>
    Effect.gen(function*() {
      let attempts = 0
      const exit = yield* Effect.exit(
        Effect.suspend(() => ++attempts === 1 ? Effect.fail(failure) : Effect.succeed("ok")).pipe(
          Retry.retry({ schedule: stopAtAttempts(5), while: retryWhile })
        )
      )
      if (Exit.isSuccess(exit)) {
        expect(attempts).toBe(2)
        return "ContinueRetrying"
      }
      expect(exit).toStrictEqual(Exit.fail(failure))
      expect(attempts).toBe(1)
      return "StopRetrying"
    })

  const continueIf = isIllegalState
  const continueUnless = (failure: Failure) => !isIllegalState(failure)
  const stopIf = (failure: Failure) => !isIllegalState(failure)
  const stopUnless = isIllegalState

  it.effect("continueIfExpectedException", () =>
    Effect.gen(function*() {
      expect(yield* decide(new IllegalStateException(), continueIf)).toBe("ContinueRetrying")
    }))

  it.effect("continueIfUnexpectedException", () =>
    Effect.gen(function*() {
      expect(yield* decide(new UnsupportedOperationException(), continueIf)).toBe("StopRetrying")
    }))

  it.effect("continueUnlessExpectedException", () =>
    Effect.gen(function*() {
      expect(yield* decide(new IllegalStateException(), continueUnless)).toBe("StopRetrying")
    }))

  it.effect("continueUnlessUnexpectedException", () =>
    Effect.gen(function*() {
      expect(yield* decide(new UnsupportedOperationException(), continueUnless)).toBe("ContinueRetrying")
    }))

  it.effect("stopIfExpectedException", () =>
    Effect.gen(function*() {
      expect(yield* decide(new IllegalStateException(), stopIf)).toBe("StopRetrying")
    }))

  it.effect("stopIfUnexpectedException", () =>
    Effect.gen(function*() {
      expect(yield* decide(new UnsupportedOperationException(), stopIf)).toBe("ContinueRetrying")
    }))

  it.effect("stopUnlessUnexpectedException", () =>
    Effect.gen(function*() {
      expect(yield* decide(new UnsupportedOperationException(), stopUnless)).toBe("StopRetrying")
    }))

  it.effect("stopUnlessExpectedException", () =>
    Effect.gen(function*() {
      expect(yield* decide(new IllegalStateException(), stopUnless)).toBe("ContinueRetrying")
    }))
})

describe("peer kotlin-retry: StopTest", () => {
  const stopAtCumulativeDelay = (delay: number, max: number) =>
    Backoff.bounded(constantDelay(delay), { maxElapsed: max })
  const stopAtDelay = (delay: number, max: number) =>
    Schedule.whileOutput(constantDelay(delay), Duration.lessThan(Duration.millis(max)))

  it("stopAtAttemptsContinuesUnderMaximum", () => {
    expect(decisionAt(stopAtAttempts(5), 0)).toBe(0)
  })

  it("stopAtAttemptsStopsAtMaximum", () => {
    // FailedAttempt(number = 2): the third attempt failed
    expect(decisionAt(stopAtAttempts(2), 2)).toBe("GiveUp")
  })

  it("stopAtDelayContinuesUnderMaximum", () => {
    expect(decisionAt(stopAtDelay(20, 50), 0)).toBe(20)
  })

  it("stopAtDelayStopsAtMaximum", () => {
    expect(decisionAt(stopAtDelay(80, 80), 0)).toBe("GiveUp")
  })

  it("stopAtDelayStopsAboveMaximum", () => {
    expect(decisionAt(stopAtDelay(300, 150), 0)).toBe("GiveUp")
  })

  it("stopAtCumulativeDelayContinuesUnderMaximum", () => {
    // FailedAttempt(number = 1, cumulativeDelay = 20): one wait of 20 ms so far
    const policy = stopAtCumulativeDelay(20, 50)
    expect(simulate(policy, 1, penultimateRandom)).toEqual([20])
    expect(decisionAt(policy, 1)).toBe(20)
  })

  it("stopAtCumulativeDelayStopsAtMaximum", () => {
    // FailedAttempt(number = 2, cumulativeDelay = 80): two waits of 40 ms so far
    const policy = stopAtCumulativeDelay(40, 80)
    expect(simulate(policy, 2, penultimateRandom)).toEqual([40, 40])
    expect(decisionAt(policy, 2)).toBe("GiveUp")
  })

  it("stopAtCumulativeDelayStopsAboveMaximum", () => {
    // FailedAttempt(number = 3, cumulativeDelay = 180): 60 ms + 60 ms fit in 150 ms, a third wait would end at 180
    const policy = stopAtCumulativeDelay(60, 150)
    expect(simulate(policy, 3, penultimateRandom)).toEqual([60, 60])
    expect(decisionAt(policy, 3)).toBe("GiveUp")
  })
})

class AttemptsException extends Data.TaggedError("AttemptsException")<{ readonly attempts: number }> {}
class OtherException extends Data.TaggedError("OtherException") {}

describe("peer kotlin-retry: RetryTest", () => {
  it.effect("retryToAttemptLimit", () =>
    Effect.gen(function*() {
      let attempts = 0
      const exit = yield* Effect.exit(
        Effect.suspend(() => {
          attempts++
          return attempts < 5 ? Effect.fail(new AttemptsException({ attempts })) : Effect.void
        }).pipe(Retry.retry({ schedule: stopAtAttempts(5) }))
      )
      expect(exit).toStrictEqual(Exit.void)
      expect(attempts).toBe(5)
    }))

  it.effect("retryExhaustingAttemptLimit", () =>
    Effect.gen(function*() {
      let attempts = 0
      const exit = yield* Effect.exit(
        Effect.suspend(() => {
          attempts++
          return attempts < 15 ? Effect.fail(new AttemptsException({ attempts })) : Effect.void
        }).pipe(Retry.retry({ schedule: stopAtAttempts(10) }))
      )
      expect(exit).toStrictEqual(Exit.fail(new AttemptsException({ attempts: 10 })))
      expect(attempts).toBe(10)
    }))

  it.effect("retryThrowsCancellationException", () =>
    Effect.gen(function*() {
      let attempts = 0
      const exit = yield* Effect.exit(
        Effect.suspend(() => {
          attempts++
          return Effect.interrupt
        }).pipe(Retry.retry({ schedule: stopAtAttempts(10) }))
      )
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(attempts).toBe(1)
    }))

  it.effect("retryStopsAfterCancellation", () =>
    Effect.gen(function*() {
      let attempts = 0
      const exit = yield* Effect.exit(
        Effect.suspend(() => {
          attempts++
          return attempts === 2 ? Effect.interrupt : Effect.fail(new OtherException())
        }).pipe(Retry.retry({ schedule: stopAtAttempts(5) }))
      )
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(attempts).toBe(2)
    }))

  it.effect("retryWithCustomPolicy", () =>
    Effect.gen(function*() {
      const customPolicy = Schedule.recurWhile((failure: AttemptsException | OtherException) =>
        failure._tag === "AttemptsException"
      )
      const uptoFifteenTimes = Schedule.intersect(customPolicy, stopAtAttempts(15))
      let attempts = 0
      const exit = yield* Effect.exit(
        Effect.suspend(() => {
          attempts++
          return Effect.fail<AttemptsException | OtherException>(new AttemptsException({ attempts }))
        }).pipe(Retry.retry({ schedule: uptoFifteenTimes }))
      )
      expect(exit).toStrictEqual(Exit.fail(new AttemptsException({ attempts: 15 })))
    }))

  it.effect("cancelRetryFromJob", () =>
    Effect.gen(function*() {
      let attempts = 0
      const job = yield* Effect.fork(
        Effect.suspend(() => {
          attempts++
          return Effect.fail(new AttemptsException({ attempts }))
        }).pipe(Retry.retry({ schedule: constantDelay(100) }))
      )
      yield* TestClock.adjust(350)
      yield* Fiber.interrupt(job)
      expect(Exit.isInterrupted(yield* Fiber.await(job))).toBe(true)
      expect(attempts).toBe(4)
      yield* TestClock.adjust(2000)
      expect(attempts).toBe(4)
    }))

  it.effect("cancelRetryWithinJob", () =>
    Effect.gen(function*() {
      let attempts = 0
      const exit = yield* advanceToDone(
        Effect.suspend(() => {
          attempts++
          return attempts === 15 ? Effect.interrupt : Effect.fail(new AttemptsException({ attempts }))
        }).pipe(Retry.retry({ schedule: constantDelay(20) }))
      )
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(attempts).toBe(15)
      yield* TestClock.adjust(2000)
      expect(attempts).toBe(15)
    }))

  it.effect("cancelRetryWithinChildJob", () =>
    Effect.gen(function*() {
      let attempts = 0
      let childJobOne: Fiber.RuntimeFiber<number> | undefined
      let childJobTwo: Fiber.RuntimeFiber<number> | undefined
      const exit = yield* advanceToDone(
        Effect.gen(function*() {
          childJobOne = yield* Effect.fork(Effect.sleep(100).pipe(Effect.as(attempts)))
          childJobTwo = yield* Effect.fork(
            Effect.sleep(50).pipe(Effect.zipRight(attempts === 15 ? Effect.interrupt : Effect.succeed(1)))
          )
          attempts = (yield* Fiber.join(childJobOne)) + (yield* Fiber.join(childJobTwo))
          return yield* Effect.fail(new AttemptsException({ attempts }))
        }).pipe(Retry.retry({ schedule: constantDelay(20) }))
      )
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(Exit.isInterrupted(yield* Fiber.await(childJobOne!))).toBe(false)
      expect(Exit.isInterrupted(yield* Fiber.await(childJobTwo!))).toBe(true)
      expect(attempts).toBe(15)
      yield* TestClock.adjust(2000)
      expect(attempts).toBe(15)
    }))
})
