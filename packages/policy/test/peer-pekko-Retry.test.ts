// Ported from Apache Pekko's actor-tests/src/test/scala/org/apache/pekko/pattern/RetrySpec.scala (`pattern.retry`, of
// RetrySupport), with the case "correctly calculate the delay" of actor-tests/src/test/scala/org/apache/pekko/pattern/
// BackoffSupervisorSpec.scala (a table for `RetrySupport.calculateDelay`, the exponential backoff of `retry(attempt,
// attempts, minBackoff, maxBackoff, randomFactor)`) at the end (apache/pekko, commit
// 9d9771347e7f3f3900acc196c5cd9252384c2141), one `it` per Pekko case, named after it.
// Mapping: `retry(attempt, attempts, delay)` is `Retry.retry(attempt, { schedule })` with the schedule
// `Backoff.bounded(Backoff.fromDelay(...), { maxAttempts: attempts + 1 })`: Pekko's `attempts` are the retries after
// the first attempt, Sturdy's `maxAttempts` the attempts in all; a fixed `delay` is `fromDelay(() => delay)`, a
// `delayFunction` (`attempted => Option[FiniteDuration]`, 1 for the wait after the first attempt) is `fromDelay`'s
// delay function, 1-based as well, with `None` a wait of zero (no wait, as in Pekko); `retry(attempt, attempts)`
// without a delay waits nothing. A `shouldRetry` on failures is `while`; on results (`(T, Throwable) => Boolean` given
// a value) it is a typed failure carrying the result inside the retry, answered as the result outside, since Sturdy's
// `Retry` retries failures only (`retryingValues` below). `Future.failed(e)` is `Effect.fail(e)`; `within(d)` and
// `System.currentTimeMillis()` are the virtual time the call took on the TestClock, asserted exactly.
// `calculateDelay(restartCount, minBackoff, maxBackoff, randomFactor)` (`min(maxBackoff, minBackoff × 2^restartCount)
// × (1 + random × randomFactor)`) is `Backoff.envelope({ baseDelay: minBackoff, maxDelay: maxBackoff, factor: 2,
// jitter: "none" }, restartCount)` for the table's randomFactor 0.
// Deliberate differences (each test says which): an `attempt` that throws instead of returning a failed future is
// retried by Pekko; in Effect a throw outside `Effect.try` is a defect, which `Retry` never retries (Retry.ts: "Defects
// and interruptions are never retried"), so the port wraps the throwing function in `Effect.try`. Sturdy refuses a
// delay longer than a timer can hold (2^31 − 1 ms, about 24.8 days) with a `RangeError` (Backoff.ts), where the
// table's last rows ask for 10000 days. Outside the ported cases (no Pekko test covers them): the first retry of
// `retry(..., minBackoff, maxBackoff, randomFactor)` waits `calculateDelay(1, ...)`, twice `minBackoff`, where
// Sturdy's first retry waits `baseDelay`; Pekko's `randomFactor` lengthens a delay by up to that fraction, Sturdy's
// jitter only shortens one.
// Not ported: nothing.
import { describe, expect, it } from "@effect/vitest"
import { Backoff, Retry } from "@sturdy/policy"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { counted } from "./utils/counted.js"
import { timedExit } from "./utils/pekko.js"

class IllegalStateException extends Error {}
class IllegalArgumentException extends Error {}

// RetrySupport.retry(attempt, [shouldRetry,] attempts, delay or delayFunction)
const retry = <A, E>(
  attempt: Effect.Effect<A, E>,
  attempts: number,
  delayFunction: (attempted: number) => Option.Option<Duration.DurationInput> = () => Option.none(),
  shouldRetry?: (e: E) => boolean
) =>
  Retry.retry(attempt, {
    schedule: Backoff.bounded(
      Backoff.fromDelay((attempted) => Option.getOrElse(delayFunction(attempted), () => Duration.zero)),
      { maxAttempts: attempts + 1 }
    ),
    while: shouldRetry
  })
const fixed = (delay: Duration.DurationInput) => () => Option.some(delay)

// a result `shouldRetry` wants retried, carried as a failure through the retry
class RetriedResult<A> {
  constructor(readonly value: A) {}
}
// retry(attempt, shouldRetry, attempts, delay) with a `shouldRetry` on results: the last result when retrying stops
const retryingValues = <A>(
  attempt: Effect.Effect<A>,
  shouldRetry: (value: A) => boolean,
  attempts: number,
  delay: Duration.DurationInput
) =>
  retry(
    Effect.filterOrFail(attempt, (a) => !shouldRetry(a), (a) => new RetriedResult(a)),
    attempts,
    fixed(delay)
  ).pipe(Effect.catchAll((r) => Effect.succeed(r.value)))

const failureOf = <A, E>(exit: Exit.Exit<A, E>) =>
  Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
const messageOf = <A, E>(exit: Exit.Exit<A, E>) => Option.map(failureOf(exit), (e) => (e as Error).message)

describe("peer pekko RetrySpec: pattern.retry", () => {
  it.effect("run a successful Future immediately", () =>
    Effect.gen(function*() {
      const [elapsed, exit] = yield* timedExit(retry(Effect.succeed(5), 5, fixed("1 second")))
      expect(exit).toEqual(Exit.succeed(5))
      expect(elapsed).toBe(0)
    }))

  it.effect("run a successful Future only once", () =>
    Effect.gen(function*() {
      const c = counted((execution) => Effect.succeed(execution))
      const [, exit] = yield* timedExit(retry(c.call, 5, fixed("1 second")))
      expect(exit).toEqual(Exit.succeed(1))
      expect(c.executions).toBe(1)
    }))

  it.effect("eventually return a failure for a Future that will never succeed", () =>
    Effect.gen(function*() {
      const [elapsed, exit] = yield* timedExit(
        retry(Effect.fail(new IllegalStateException("Mexico")), 5, fixed("100 millis"))
      )
      expect(Option.getOrNull(failureOf(exit))).toBeInstanceOf(IllegalStateException)
      expect(messageOf(exit)).toEqual(Option.some("Mexico"))
      // within(3.seconds): five waits of 100 ms
      expect(elapsed).toBe(500)
    }))

  it.effect("return a success for a Future that succeeds eventually", () =>
    Effect.gen(function*() {
      let failCount = 0
      const attempt = Effect.suspend(() => {
        if (failCount < 5) {
          failCount += 1
          return Effect.fail(new IllegalStateException(String(failCount)))
        }
        return Effect.succeed(5)
      })
      const [elapsed, exit] = yield* timedExit(retry(attempt, 10, fixed("100 millis")))
      expect(exit).toEqual(Exit.succeed(5))
      expect(elapsed).toBe(500)
    }))

  it.effect("return a failure for a Future that would have succeeded but additional attempts were exhausted", () =>
    Effect.gen(function*() {
      let failCount = 0
      const attempt = Effect.suspend(() => {
        if (failCount < 10) {
          failCount += 1
          return Effect.fail(new IllegalStateException(String(failCount)))
        }
        return Effect.succeed(5)
      })
      const [elapsed, exit] = yield* timedExit(retry(attempt, 5, fixed("100 millis")))
      expect(messageOf(exit)).toEqual(Option.some("6"))
      expect(failCount).toBe(6)
      expect(elapsed).toBe(500)
    }))

  it.effect(
    "return a failure for a Future that would have succeeded but additional attempts were exhausted with delay function",
    () =>
      Effect.gen(function*() {
        let failCount = 0
        let attemptedCount = 0
        const attempt = Effect.suspend(() => {
          if (failCount < 10) {
            failCount += 1
            return Effect.fail(new IllegalStateException(String(failCount)))
          }
          return Effect.succeed(5)
        })
        const [elapsed, exit] = yield* timedExit(retry(attempt, 5, (attempted) => {
          attemptedCount = attempted
          return Option.some(Duration.millis(100 * attempted))
        }))
        expect(messageOf(exit)).toEqual(Option.some("6"))
        expect(failCount).toBe(6)
        expect(attemptedCount).toBe(5)
        // 100 ms × attempted, for attempted 1 to 5
        expect(elapsed).toBe(1_500)
      })
  )

  it.effect("retry can be attempted without any delay", () =>
    Effect.gen(function*() {
      let failCount = 0
      const attempt = Effect.suspend(() => {
        if (failCount < 1000) {
          failCount += 1
          return Effect.fail(new IllegalStateException(String(failCount)))
        }
        return Effect.succeed(1)
      })
      const [elapsed, exit] = yield* timedExit(retry(attempt, 999))
      expect(messageOf(exit)).toEqual(Option.some("1000"))
      expect(failCount).toBe(1000)
      // elapse <= 100 ms of wall time: no virtual time at all
      expect(elapsed).toBe(0)
    }))

  it.effect("make one attempt when no additional attempts are configured", () =>
    Effect.gen(function*() {
      const c = counted((execution) => Effect.succeed(execution))
      const [, exit] = yield* timedExit(retry(c.call, 0, fixed("100 millis")))
      expect(exit).toEqual(Exit.succeed(1))
      expect(c.executions).toBe(1)
    }))

  it.effect("not make an additional attempt when none are configured", () =>
    Effect.gen(function*() {
      const c = counted((execution) => Effect.fail(new IllegalStateException(String(execution))))
      const [, exit] = yield* timedExit(retry(c.call, 0, fixed("100 millis")))
      expect(messageOf(exit)).toEqual(Option.some("1"))
      expect(c.executions).toBe(1)
    }))

  it.effect("handle thrown exceptions in same way as failed Future", () =>
    Effect.gen(function*() {
      let failCount = 0
      const attempt = (): Effect.Effect<number> => {
        if (failCount < 5) {
          failCount += 1
          throw new IllegalStateException(String(failCount))
        }
        return Effect.succeed(5)
      }
      // deliberate difference: a function that throws is retried once its throw is a typed failure (`Effect.try`)
      const caught = Effect.flatten(Effect.try({ try: attempt, catch: (e) => e as IllegalStateException }))
      const [elapsed, exit] = yield* timedExit(retry(caught, 10, fixed("100 millis")))
      expect(exit).toEqual(Exit.succeed(5))
      expect(elapsed).toBe(500)
      // ... and a throw left a defect is not retried
      failCount = 0
      const [, died] = yield* timedExit(retry(Effect.suspend(attempt), 10, fixed("100 millis")))
      expect(Exit.isFailure(died) && Cause.isDie(died.cause)).toBe(true)
      expect(failCount).toBe(1)
    }))

  it.effect("be able to retry with predicate for value", () =>
    Effect.gen(function*() {
      const c = counted((execution) => Effect.succeed(execution))
      const [elapsed, exit] = yield* timedExit(retryingValues(c.call, (t) => t < 5, 10, "100 millis"))
      expect(exit).toEqual(Exit.succeed(5))
      expect(c.executions).toBe(5)
      expect(elapsed).toBe(400)
    }))

  it.effect("be able to skip retry with predicate for exception", () =>
    Effect.gen(function*() {
      // should not retry on this exception
      const c = counted(() => Effect.fail(new IllegalArgumentException()))
      const [, exit] = yield* timedExit(
        retry(c.call, 10, fixed("100 millis"), (e) => !(e instanceof IllegalArgumentException))
      )
      expect(Option.getOrNull(failureOf(exit))).toBeInstanceOf(IllegalArgumentException)
      expect(c.executions).toBe(1)
    }))
})

describe("peer pekko BackoffSupervisorSpec: RetrySupport.calculateDelay", () => {
  it("correctly calculate the delay", () => {
    const calculateDelay = (
      restartCount: number,
      minBackoff: Duration.DurationInput,
      maxBackoff: Duration.DurationInput
    ) =>
      Backoff.envelope({ baseDelay: minBackoff, maxDelay: maxBackoff, factor: 2, jitter: "none" }, restartCount).upper
    type Row = readonly [number, Duration.DurationInput, Duration.DurationInput, number, Duration.DurationInput]
    const delayTable: ReadonlyArray<Row> = [
      // restartCount, minBackoff, maxBackoff, randomFactor, expectedResult
      [0, "0 minutes", "0 minutes", 0, "0 minutes"],
      [0, "5 minutes", "7 minutes", 0, "5 minutes"],
      [2, "5 seconds", "7 seconds", 0, "7 seconds"],
      [2, "5 seconds", "7 days", 0, "20 seconds"],
      [29, "5 minutes", "10 minutes", 0, "10 minutes"],
      [29, "10000 days", "10000 days", 0, "10000 days"],
      [2 ** 31 - 1, "10000 days", "10000 days", 0, "10000 days"]
    ]
    for (const [restartCount, minBackoff, maxBackoff, , expectedResult] of delayTable) {
      const expected = Duration.toMillis(Duration.decode(expectedResult))
      if (expected > 2 ** 31 - 1) {
        // deliberate difference: no delay may exceed what a timer holds (2^31 − 1 ms, about 24.8 days)
        expect(() => calculateDelay(restartCount, minBackoff, maxBackoff)).toThrow(RangeError)
      } else {
        expect(Duration.toMillis(calculateDelay(restartCount, minBackoff, maxBackoff))).toBe(expected)
      }
    }
    // the last rows' point, at the longest delay a timer holds: a huge restartCount stays at maxBackoff
    expect(Duration.toMillis(calculateDelay(2 ** 31 - 1, "24 days", "24 days"))).toBe(24 * 86_400_000)
    expect(Duration.toMillis(calculateDelay(2 ** 31 - 1, "1 millis", "24 days"))).toBe(24 * 86_400_000)
  })
})
