// Ported from resilience4j's resilience4j-retry/src/test/java/io/github/resilience4j/retry/internal/SupplierRetryTest.java
// and EventPublisherTest.java, and resilience4j-core/src/test/java/io/github/resilience4j/core/IntervalFunctionTest.java (resilience4j/resilience4j),
// one `it` per resilience4j case, named after it.
// Mapping: `Retry.ofDefaults("id")` (3 attempts, a fixed 500 ms wait) is `Retry.retry({ schedule })` with
// `Backoff.bounded(Backoff.fromDelay(() => 500), { maxAttempts: 3 })`; resilience4j's `maxAttempts` counts every
// attempt, as Sturdy's does; `retryOnException(p)` is `while`; `intervalFunction(IntervalFunction.ofExponentialBackoff(
// initial, multiplier[, max]))` is `Backoff.exponential({ baseDelay, factor, maxDelay, jitter: "none" })`;
// `ofExponentialRandomBackoff` is a jittered `Backoff.exponential`; `intervalBiFunction` is `Backoff.fromDelay((retry,
// failure) => ...)`; the mocked `sleepFunction` (sleptTime) is virtual time on the TestClock.
// Deliberate differences (each test says which): Sturdy retries failures, not results (`retryOnResult` is a failure
// the caller raises, as in the cases below); resilience4j's randomization factor spreads a delay both ways (t × [1 − f,
// 1 + f]) while Sturdy's jitter only shortens it ("full": [0, t], "equal": [t/2, t]), so no jittered delay exceeds the
// envelope or `maxDelay`; a zero `baseDelay` means no wait (resilience4j refuses non-positive durations).
// Not ported: the Vavr/CheckedSupplier/Callable/CompletionStage decorators (one `Effect` covers them),
// shouldMarkThreadInterruptedWhenInterruptedDuringRetry (Java thread flags), the metrics and event-consumer cases
// (`getNumberOfFailedCallsWithRetryAttempt`, `consumeResultBeforeRetryAttempt`; `onAttempt` is the hook, as in the
// EventPublisherTest cases),
// IntervalFunctionTest's shouldRejectAttemptLessThenOne (a schedule has no attempt 0 to ask for) and the
// ofRandomized cases with no exponent (no fixed-with-jitter constructor; `Backoff.exponential({ factor: 1 })` is it).
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Retry from "@sturdy/policy/Retry"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"

class HelloWorldException extends Data.TaggedError("HelloWorldException") {}
class TryAgain extends Data.TaggedError("TryAgain")<{ readonly result: string }> {}

const DEFAULT_WAIT_DURATION = 500
const ofDefaults = Backoff.bounded(Backoff.fromDelay(() => DEFAULT_WAIT_DURATION), { maxAttempts: 3 })

// the mocked service: answers each call with the next outcome (the last one repeats), counting the calls
const service = <A, E>(...outcomes: ReadonlyArray<Effect.Effect<A, E>>) => {
  const s: { calls: number; readonly returnHelloWorld: Effect.Effect<A, E> } = {
    calls: 0,
    returnHelloWorld: Effect.suspend(() => outcomes[Math.min(s.calls++, outcomes.length - 1)]!)
  }
  return s
}

// runs `effect` on the TestClock; `sleptTime` is the virtual time it took
const run = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const start = yield* Clock.currentTimeMillis
    const fiber = yield* Effect.fork(Effect.zip(effect, Clock.currentTimeMillis))
    yield* TestClock.adjust("1 hour")
    const exit = yield* Fiber.await(fiber)
    return {
      exit: Exit.map(exit, ([a]) => a),
      sleptTime: Exit.isSuccess(exit) ? exit.value[1] - start : undefined
    }
  })

// the same, for a failing effect: the virtual time until it failed
const runFailing = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const start = yield* Clock.currentTimeMillis
    let failedAt = start
    const fiber = yield* Effect.fork(Effect.tapError(effect, () =>
      Effect.map(Clock.currentTimeMillis, (t) => {
        failedAt = t
      })))
    yield* TestClock.adjust("1 hour")
    const exit = yield* Fiber.await(fiber)
    return { exit, sleptTime: failedAt - start }
  })

// the first `count` delays a schedule chooses, without sleeping
const delays = <In>(schedule: Schedule.Schedule<Duration.Duration, In>, count: number) =>
  Effect.map(
    Schedule.run(schedule, 0, Array.from({ length: count }, () => undefined as In)),
    (out) => Chunk.toReadonlyArray(out).map(Duration.toMillis)
  )

describe("peer resilience4j SupplierRetryTest", () => {
  it.effect("shouldNotRetry", () =>
    Effect.gen(function*() {
      const s = service(Effect.succeed("Hello world"))
      const { exit, sleptTime } = yield* run(Retry.retry(s.returnHelloWorld, { schedule: ofDefaults }))
      expect(s.calls).toBe(1)
      expect(exit).toEqual(Exit.succeed("Hello world"))
      expect(sleptTime).toBe(0)
    }))

  it.effect("shouldNotRetryWithResult", () =>
    Effect.gen(function*() {
      // retryOnResult(s -> s.contains("tryAgain")): a result the caller turns into a failure
      const s = service(Effect.succeed("Hello world"))
      const checked = Effect.flatMap(
        s.returnHelloWorld,
        (r) => r.includes("tryAgain") ? Effect.fail(new TryAgain({ result: r })) : Effect.succeed(r)
      )
      const { exit, sleptTime } = yield* run(
        Retry.retry(checked, { schedule: Backoff.bounded(Backoff.fromDelay(() => 500), { maxAttempts: 2 }) })
      )
      expect(s.calls).toBe(1)
      expect(exit).toEqual(Exit.succeed("Hello world"))
      expect(sleptTime).toBe(0)
    }))

  it.effect("shouldRetryWithResult", () =>
    Effect.gen(function*() {
      const s = service(Effect.succeed("tryAgain"), Effect.succeed("Hello world"))
      const checked = Effect.flatMap(
        s.returnHelloWorld,
        (r) => r.includes("tryAgain") ? Effect.fail(new TryAgain({ result: r })) : Effect.succeed(r)
      )
      const { exit, sleptTime } = yield* run(
        Retry.retry(checked, { schedule: Backoff.bounded(Backoff.fromDelay(() => 500), { maxAttempts: 2 }) })
      )
      expect(s.calls).toBe(2)
      expect(exit).toEqual(Exit.succeed("Hello world"))
      expect(sleptTime).toBe(500)
    }))

  it.effect("shouldReturnSuccessfullyAfterSecondAttempt", () =>
    Effect.gen(function*() {
      const s = service<string, HelloWorldException>(
        Effect.fail(new HelloWorldException()),
        Effect.succeed("Hello world")
      )
      const { exit, sleptTime } = yield* run(Retry.retry(s.returnHelloWorld, { schedule: ofDefaults }))
      expect(s.calls).toBe(2)
      expect(exit).toEqual(Exit.succeed("Hello world"))
      expect(sleptTime).toBe(DEFAULT_WAIT_DURATION)
    }))

  it.effect("shouldReturnAfterThreeAttempts", () =>
    Effect.gen(function*() {
      const s = service(Effect.fail(new HelloWorldException()))
      const { exit, sleptTime } = yield* runFailing(Retry.retry(s.returnHelloWorld, { schedule: ofDefaults }))
      expect(s.calls).toBe(3)
      expect(exit).toEqual(Exit.fail(new HelloWorldException()))
      expect(sleptTime).toBe(DEFAULT_WAIT_DURATION * 2)
    }))

  it.effect("shouldReturnAfterOneAttempt", () =>
    Effect.gen(function*() {
      const s = service(Effect.fail(new HelloWorldException()))
      const { exit, sleptTime } = yield* runFailing(
        Retry.retry(s.returnHelloWorld, { schedule: Backoff.bounded(Backoff.fromDelay(() => 500), { maxAttempts: 1 }) })
      )
      expect(s.calls).toBe(1)
      expect(exit).toEqual(Exit.fail(new HelloWorldException()))
      expect(sleptTime).toBe(0)
    }))

  it.effect("shouldReturnAfterOneAttemptAndIgnoreException", () =>
    Effect.gen(function*() {
      const s = service(Effect.fail(new HelloWorldException()))
      const { exit, sleptTime } = yield* runFailing(Retry.retry(s.returnHelloWorld, {
        schedule: ofDefaults,
        while: (e) => !(e instanceof HelloWorldException)
      }))
      // the exception is returned at once
      expect(s.calls).toBe(1)
      expect(exit).toEqual(Exit.fail(new HelloWorldException()))
      expect(sleptTime).toBe(0)
    }))

  it.effect("shouldReturnAfterThreeAttemptsAndRecover", () =>
    Effect.gen(function*() {
      const s = service(Effect.fail(new HelloWorldException()))
      const attempts: Array<Retry.Attempt<HelloWorldException>> = []
      const { exit, sleptTime } = yield* run(
        Retry.retry(s.returnHelloWorld, {
          schedule: ofDefaults,
          onAttempt: (a) => Effect.sync(() => attempts.push(a))
        }).pipe(Effect.catchAll(() => Effect.succeed("Hello world from recovery function")))
      )
      expect(s.calls).toBe(3)
      expect(exit).toEqual(Exit.succeed("Hello world from recovery function"))
      expect(sleptTime).toBe(DEFAULT_WAIT_DURATION * 2)
      // getNumberOfFailedCallsWithRetryAttempt() == 1: one call that failed after retrying (the decision to give up
      // is about the 4th attempt, which is not made)
      expect(attempts.filter((a) => !a.retrying).map((a) => [a.attempt, a.reason])).toEqual([[4, "exhausted"]])
    }))

  it.effect("shouldTakeIntoAccountBackoffFunction", () =>
    Effect.gen(function*() {
      const s = service(Effect.fail(new HelloWorldException()))
      const { sleptTime } = yield* runFailing(Retry.retry(s.returnHelloWorld, {
        schedule: Backoff.exponential({ baseDelay: 500, factor: 2, jitter: "none", maxAttempts: 3, maxDelay: "1 hour" })
      }))
      expect(s.calls).toBe(3)
      expect(sleptTime).toBe(DEFAULT_WAIT_DURATION + DEFAULT_WAIT_DURATION * 2)
    }))

  it.effect("shouldRetryInCaseOResultRetryMatchAtSyncStage", () =>
    Effect.gen(function*() {
      // maxAttempts(1), retryOnResult(contains "Hello world"): one attempt, whose result is the answer
      const s = service(Effect.succeed("Hello world"))
      const { exit } = yield* run(
        Retry.retry(s.returnHelloWorld, { schedule: Backoff.bounded(Backoff.fromDelay(() => 500), { maxAttempts: 1 }) })
      )
      expect(s.calls).toBe(1)
      expect(Exit.isSuccess(exit)).toBe(true)
    }))

  it.effect("shouldUseBackoffBiFunctionWhenRetryWithResult", () =>
    Effect.gen(function*() {
      const s = service(Effect.succeed("Await 100"), Effect.succeed("Await 200"), Effect.succeed("Hello world"))
      const checked = Effect.flatMap(
        s.returnHelloWorld,
        (r) => r.includes("Await") ? Effect.fail(new TryAgain({ result: r })) : Effect.succeed(r)
      )
      const { exit, sleptTime } = yield* run(Retry.retry(checked, {
        schedule: Backoff.bounded(
          Backoff.fromDelay((_: number, failure: TryAgain) => failure.result.includes("100") ? 100 : 200),
          { maxAttempts: 3 }
        )
      }))
      expect(s.calls).toBe(3)
      expect(exit).toEqual(Exit.succeed("Hello world"))
      expect(sleptTime).toBe(300)
    }))

  it.effect("shouldThrowMaxRetriesExceededIfConfigured", () =>
    Effect.gen(function*() {
      // failAfterMaxAttempts: the caller's `finalFailure` says the attempts were exhausted, with their number
      const s = service(Effect.fail(new TryAgain({ result: "retryable response" })))
      const { exit } = yield* runFailing(Retry.retry(s.returnHelloWorld, {
        schedule: ofDefaults,
        finalFailure: (failure, attempts) =>
          new TryAgain({ result: `Retry 'test' has exhausted all attempts (${attempts}): ${failure.result}` })
      }))
      expect(s.calls).toBe(3)
      expect(exit).toEqual(
        Exit.fail(new TryAgain({ result: "Retry 'test' has exhausted all attempts (3): retryable response" }))
      )
    }))

  it.effect("shouldNotThrowMaxRetriesExceededIfCompletedExceptionally", () =>
    Effect.gen(function*() {
      // a defect is not a typed failure: it is neither retried nor rewritten
      let calls = 0
      const { exit } = yield* runFailing(Retry.retry(
        Effect.suspend(() => {
          calls++
          return Effect.die(new HelloWorldException())
        }),
        { schedule: ofDefaults, finalFailure: () => new TryAgain({ result: "exhausted" }) }
      ))
      expect(calls).toBe(1)
      expect(Exit.isFailure(exit) && exit.cause._tag).toBe("Die")
    }))
})

// resilience4j-retry/src/test/java/io/github/resilience4j/retry/internal/EventPublisherTest.java: RETRY / ERROR /
// SUCCESS / IGNORED_ERROR events are the `onAttempt` decisions (`retrying`, and `reason` "exhausted" or
// "not-retryable"); a success after retries is the value itself (Sturdy reports decisions, not successes)
describe("peer resilience4j EventPublisherTest", () => {
  const eventsOf = <E>(attempts: ReadonlyArray<Retry.Attempt<E>>) =>
    attempts.map((a) => a.retrying ? "RETRY" : a.reason === "not-retryable" ? "IGNORED_ERROR" : "ERROR")

  it.effect("shouldReturnAfterThreeAttempts", () =>
    Effect.gen(function*() {
      const s = service(Effect.fail(new HelloWorldException()))
      const attempts: Array<Retry.Attempt<HelloWorldException>> = []
      const { exit, sleptTime } = yield* runFailing(Retry.retry(s.returnHelloWorld, {
        schedule: ofDefaults,
        onAttempt: (a) => Effect.sync(() => attempts.push(a))
      }))
      expect(s.calls).toBe(3)
      expect(exit).toEqual(Exit.fail(new HelloWorldException()))
      expect(sleptTime).toBe(DEFAULT_WAIT_DURATION * 2)
      expect(eventsOf(attempts)).toEqual(["RETRY", "RETRY", "ERROR"])
      expect(attempts.map((a) => Duration.toMillis(a.delay)).slice(0, 2)).toEqual([500, 500])
    }))

  it.effect("asyncShouldReturnAfterThreeAttempts", () =>
    Effect.gen(function*() {
      // retryOnResult + failAfterMaxAttempts: the result raised as a failure, retried twice, then returned
      const s = service(Effect.succeed("hello world"))
      const attempts: Array<Retry.Attempt<TryAgain>> = []
      const checked = Effect.flatMap(s.returnHelloWorld, (r) => Effect.fail(new TryAgain({ result: r })))
      const { exit } = yield* runFailing(Retry.retry(checked, {
        schedule: Backoff.bounded(Backoff.fromDelay(() => 1), { maxAttempts: 3 }),
        onAttempt: (a) => Effect.sync(() => attempts.push(a))
      }))
      expect(s.calls).toBe(3)
      expect(Exit.isFailure(exit)).toBe(true)
      expect(eventsOf(attempts)).toEqual(["RETRY", "RETRY", "ERROR"])
    }))

  it.effect("shouldReturnAfterTwoAttempts", () =>
    Effect.gen(function*() {
      const s = service<void, HelloWorldException>(Effect.fail(new HelloWorldException()), Effect.void)
      const attempts: Array<Retry.Attempt<HelloWorldException>> = []
      const { exit, sleptTime } = yield* run(Retry.retry(s.returnHelloWorld, {
        schedule: ofDefaults,
        onAttempt: (a) => Effect.sync(() => attempts.push(a))
      }))
      expect(s.calls).toBe(2)
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(sleptTime).toBe(DEFAULT_WAIT_DURATION)
      expect(eventsOf(attempts)).toEqual(["RETRY"])
    }))

  it.effect("shouldIgnoreError", () =>
    Effect.gen(function*() {
      class IOException extends Error {}
      const s = service<void, HelloWorldException>(Effect.fail(new HelloWorldException()), Effect.void)
      const attempts: Array<Retry.Attempt<HelloWorldException>> = []
      const { exit, sleptTime } = yield* runFailing(Retry.retry(s.returnHelloWorld, {
        schedule: ofDefaults,
        while: (e) => (e as unknown) instanceof IOException,
        onAttempt: (a) => Effect.sync(() => attempts.push(a))
      }))
      expect(s.calls).toBe(1)
      expect(Exit.isFailure(exit)).toBe(true)
      expect(sleptTime).toBe(0)
      expect(eventsOf(attempts)).toEqual(["IGNORED_ERROR"])
    }))
})

describe("peer resilience4j IntervalFunctionTest", () => {
  it("shouldRejectNonPositiveDuration", () => {
    // resilience4j refuses a zero or negative interval; Sturdy refuses a negative one (a zero baseDelay is no wait)
    expect(() => Backoff.exponential({ baseDelay: -1 })).toThrow(RangeError)
    expect(() => Backoff.exponential({ baseDelay: 100, maxDelay: -1 })).toThrow(RangeError)
    expect(() => Backoff.bounded(Backoff.fromDelay(() => 1), { maxDelay: -1 })).toThrow(RangeError)
  })

  it("shouldPassPositiveDuration", () => {
    for (const d of [10, 99, 981]) {
      expect(() => Backoff.exponential({ baseDelay: d, maxDelay: d, factor: 1 })).not.toThrow()
      expect(() => Backoff.exponential({ baseDelay: Duration.millis(d), jitter: "full" })).not.toThrow()
    }
  })

  it("shouldRejectOutOfBoundsRandomizationFactor", () => {
    // the randomization is a mode, not a factor: an unknown mode is refused
    expect(() => Backoff.exponential({ jitter: "Full" as Backoff.Jitter })).toThrow(RangeError)
  })

  it("shouldPassPositiveMultiplier", () => {
    expect(() => Backoff.exponential({ baseDelay: 100, factor: 1.0001 })).not.toThrow()
    // a multiplier below 1 would shrink the delays: refused
    expect(() => Backoff.exponential({ baseDelay: 100, factor: 0.5 })).toThrow(RangeError)
  })

  it.effect("generatesRandomizedIntervals", () =>
    Effect.gen(function*() {
      // ofRandomized(100, 0.5) is [50, 150]; Sturdy's "equal" jitter of a constant 100 ms is [50, 100]
      for (let seed = 0; seed < 50; seed++) {
        const out = yield* Effect.withRandom(
          delays(Backoff.exponential({ baseDelay: 100, factor: 1, jitter: "equal", maxAttempts: 11 }), 10),
          Random.make(seed)
        )
        for (const d of out) expect(d >= 50 && d <= 100).toBe(true)
      }
    }))

  it.effect("generatesExponentialIntervals", () =>
    Effect.gen(function*() {
      const out = yield* delays(
        Backoff.exponential({ baseDelay: 100, factor: 1.5, jitter: "none", maxAttempts: Infinity, maxDelay: "1 day" }),
        20
      )
      expect(out[0]).toBe(100)
      for (let i = 1; i < out.length; i++) expect(out[i]).toBeGreaterThan(out[i - 1]!)
    }))

  it.effect("generatesCappedExponentialIntervals", () =>
    Effect.gen(function*() {
      const out = yield* delays(
        Backoff.exponential({ baseDelay: 100, factor: 2, maxDelay: 100_000, jitter: "none", maxAttempts: Infinity }),
        13
      )
      for (let i = 1; i < 11; i++) expect(out[i]).toBeGreaterThan(out[i - 1]!)
      // f.apply(12) and f.apply(13): capped
      expect(out[11]).toBe(100_000)
      expect(out[12]).toBe(100_000)
    }))

  it.effect("generatesExponentialRandomIntervals", () =>
    Effect.gen(function*() {
      // ofExponentialRandomBackoff(100, 1.5, 0.5): within t(n) × [0.5, 1.5]; "equal" jitter: within t(n) × [0.5, 1]
      const out = yield* Effect.withRandom(
        delays(Backoff.exponential({ baseDelay: 100, factor: 1.5, jitter: "equal", maxAttempts: Infinity }), 10),
        Random.make(42)
      )
      let expected = 100
      for (const v of out) {
        expect(v).toBeGreaterThanOrEqual(Math.floor(expected * 0.5) - 1)
        expect(v).toBeLessThanOrEqual(Math.floor(expected) + 1)
        expected *= 1.5
      }
    }))

  it.effect("generatesCappedExponentialRandomIntervals", () =>
    Effect.gen(function*() {
      const out = yield* Effect.withRandom(
        delays(
          Backoff.exponential({
            baseDelay: 100,
            factor: 1.5,
            jitter: "equal",
            maxDelay: 100_000,
            maxAttempts: Infinity
          }),
          30
        ),
        Random.make(7)
      )
      let expected = 100
      for (const v of out) {
        // within the envelope, or the cap; never above the cap (Sturdy applies it after jitter)
        expect(v >= Math.floor(Math.min(expected, 100_000) * 0.5) - 1 || v === 100_000).toBe(true)
        expect(v).toBeLessThanOrEqual(Math.min(Math.floor(expected) + 1, 100_000))
        expected *= 1.5
      }
      expect(out[out.length - 1]).toBeLessThanOrEqual(100_000)
    }))
})
