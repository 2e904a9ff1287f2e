// Ported from SmallRye Fault Tolerance (smallrye/smallrye-fault-tolerance, commit 5066307cd9021e850c3ac4dda8b352707fbb8722),
// implementation/core/src/test/java/io/smallrye/faulttolerance/core/: retry/RetrySyncTest.java,
// retry/RetryAsyncTest.java and composition/FallbackAndRetryTest.java, one `it` per SmallRye case, named after it.
// Mapping: `new Retry(invocation, .., exceptionDecision, maxRetries, maxTotalDuration, delay, stopwatch, ..)` is
// `Retry.retry({ schedule, while })` around the invocation. `SetBasedExceptionDecision(retryOn = {Exception}, abortOn
// = {})` is the default `while` (every typed failure retried); with `abortOn = {TestException}` it is
// `while: (e) => !(e instanceof TestException)`; `ExceptionDecision.ALWAYS_EXPECTED` (nothing retried) is
// `while: () => false`. `maxRetries` 3 and `maxTotalDuration` 1000 ms are `Backoff.bounded(delays, { maxAttempts: 4,
// maxElapsed: "1000 millis" })`, -1 (unbounded) leaving the bound out; `SyncDelay.NONE` is a delay of zero and the
// TestDelay (a first delay that lasts while the test moves SmallRye's stopwatch to 500, 1000 or 1500 ms, the next ones
// instant) is a first delay of that length on the TestClock (`Backoff.fromDelay`). `TestInvocation.initiallyFailing(n,
// RuntimeException::new, then)` is `initiallyFailing` (test/utils/smallrye.ts); `numberOfInvocations()` is its
// `executions`. A thread interrupted in an invocation or in a delay is the retrying fiber interrupted there: it ends
// interrupted (SmallRye's InterruptedException), and no further attempt runs. A delay that throws is a delay function
// that throws: the call dies with that defect (SmallRye rethrows it) after the one invocation. Strategies.fallback
// (FallbackAndRetryTest) is `Effect.catchAll` with SmallRye's fallback function.
// Deliberate differences (each test says which): SmallRye sleeps a delay and then gives up when the time since the
// call started has reached `maxTotalDuration` (`elapsed >= max`); Sturdy's `maxElapsed` counts from the first failure
// and gives up before sleeping when the next attempt would start LATER than it (`> max`), so a retry due exactly at
// `maxElapsed` runs (the *_totalDelayEqualToMaxDuration cases) and a retry that would start past it does not sleep
// first (the *_totalDelayMoreThanMaxDuration cases: same outcome, without the useless wait).
// RetryAsyncTest's invocation offloaded to an executor is the invocation run on a forked fiber; `SetOfThrowables.ALL`
// retried with `RuntimeException` aborting is `while: (e) => !(e instanceof RuntimeException)` (abortOn wins).
// Not ported: immediatelyReturning_retriedValue and RetryAsyncTest's shouldRetryOnSuccessThatMatches
// (`ResultDecision.ALWAYS_FAILURE`, retrying on a returned value: Sturdy retries failures only); the *selfInterrupted*
// cases and initiallyFailing_retriedExceptionThenSelfInterrupt (a thread setting its own interrupt flag:
// Java-specific); RetryAsyncTest's shouldPropagateAbortOnErrorInCSCreation and shouldRetryOnceOnCsFailure (the same
// bodies as shouldPropagateAbortOnError and shouldRetryOnce, kept apart in Java for a CompletionStage failing when made
// or later: one case in Effect); RetryFutureTest.java (the policy on java.util.concurrent.Future invocations); the
// backoff classes' tests are in peer-smallrye-Backoff.test.ts.
import { describe, expect, it } from "@effect/vitest"
import { Backoff, Retry } from "@sturdy/policy"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { advanceToDone } from "./utils/advance.js"
import { initiallyFailing, RuntimeException, TestException } from "./utils/smallrye.js"

type Failure = RuntimeException | TestException

const retryOnException = undefined
const abortOnTestException = (e: Failure) => !(e instanceof TestException)
const alwaysExpected = () => false

// maxRetries (-1: unbounded), maxTotalDuration in ms (-1: unbounded), the first delay in ms (the next ones are zero)
const schedule = (maxRetries: number, maxTotalDuration: number, firstDelay = 0) =>
  Backoff.bounded(Backoff.fromDelay((retry) => (retry === 1 ? firstDelay : 0)), {
    ...(maxRetries < 0 ? {} : { maxAttempts: maxRetries + 1 }),
    ...(maxTotalDuration < 0 ? {} : { maxElapsed: Duration.millis(maxTotalDuration) })
  })

const retry = <A>(
  invocation: Effect.Effect<A, Failure>,
  decision: ((e: Failure) => boolean) | undefined,
  maxRetries = 3,
  maxTotalDuration = 1000,
  firstDelay = 0
) => Retry.retry(invocation, { schedule: schedule(maxRetries, maxTotalDuration, firstDelay), while: decision })

const foobar = () => Effect.succeed("foobar")
const testException = () => Effect.fail(new TestException())
const runtimeException = () => new RuntimeException()

// runs the retrying call to its end on the TestClock
const run = <A>(call: Effect.Effect<A, Failure>) => advanceToDone(call)

const failedWith = <A>(exit: Exit.Exit<A, Failure>, type: typeof TestException | typeof RuntimeException) => {
  expect(Exit.isFailure(exit)).toBe(true)
  if (Exit.isFailure(exit)) {
    const failure = Cause.failureOption(exit.cause)
    expect(failure._tag === "Some" && failure.value.constructor).toBe(type)
  }
}

// SmallRye's RetrySyncTest runs the retry with its delay interrupted or a blocked invocation interrupted
const interruptWhen = <A>(call: Effect.Effect<A, Failure>, ready: () => boolean) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(call)
    for (let i = 0; i < 100 && !ready(); i++) yield* Effect.yieldNow()
    expect(ready()).toBe(true)
    return yield* Fiber.interrupt(fiber)
  })

describe("peer SmallRye RetrySyncTest", () => {
  it.effect("immediatelyReturning_value", () =>
    Effect.gen(function*() {
      const invocation = initiallyFailing(0, runtimeException, foobar)
      expect(yield* run(retry(invocation.call, alwaysExpected))).toEqual(Exit.succeed("foobar"))
      expect(invocation.executions).toBe(1)
    }))

  it.effect("immediatelyReturning_retriedException", () =>
    Effect.gen(function*() {
      const invocation = initiallyFailing(0, runtimeException, testException)
      failedWith(yield* run(retry(invocation.call, retryOnException)), TestException)
      expect(invocation.executions).toBe(4)
    }))

  it.effect("immediatelyReturning_abortingException", () =>
    Effect.gen(function*() {
      const invocation = initiallyFailing(0, runtimeException, testException)
      failedWith(yield* run(retry(invocation.call, abortOnTestException)), TestException)
      expect(invocation.executions).toBe(1)
    }))

  it.effect("immediatelyReturning_unknownException", () =>
    Effect.gen(function*() {
      const invocation = initiallyFailing(0, runtimeException, testException)
      failedWith(yield* run(retry(invocation.call, alwaysExpected)), TestException)
      expect(invocation.executions).toBe(1)
    }))

  it.effect("immediatelyReturning_interruptedInInvocation", () =>
    Effect.gen(function*() {
      const invocation = initiallyFailing(0, runtimeException, () => Effect.never)
      const exit = yield* interruptWhen(retry(invocation.call, alwaysExpected), () => invocation.executions === 1)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(invocation.executions).toBe(1)
    }))

  const byMaxRetries = [["lessThanMaxRetries", 2], ["equalToMaxRetries", 3], ["moreThanMaxRetries", 4]] as const

  for (const [name, failures] of byMaxRetries) {
    it.effect(`initiallyFailing_retriedExceptionThenValue_${name}`, () =>
      Effect.gen(function*() {
        const invocation = initiallyFailing(failures, runtimeException, foobar)
        const exit = yield* run(retry(invocation.call, retryOnException))
        if (failures <= 3) expect(exit).toEqual(Exit.succeed("foobar"))
        else failedWith(exit, RuntimeException)
        expect(invocation.executions).toBe(Math.min(failures + 1, 4))
      }))
  }

  for (const [name, failures] of byMaxRetries) {
    it.effect(`initiallyFailing_retriedExceptionThenRetriedException_${name}`, () =>
      Effect.gen(function*() {
        const invocation = initiallyFailing(failures, runtimeException, testException)
        failedWith(
          yield* run(retry(invocation.call, retryOnException)),
          failures <= 3 ? TestException : RuntimeException
        )
        expect(invocation.executions).toBe(4)
      }))
  }

  for (const [name, failures] of byMaxRetries) {
    it.effect(`initiallyFailing_retriedExceptionThenAbortingException_${name}`, () =>
      Effect.gen(function*() {
        const invocation = initiallyFailing(failures, runtimeException, testException)
        failedWith(
          yield* run(retry(invocation.call, abortOnTestException)),
          failures <= 3 ? TestException : RuntimeException
        )
        // aborted on the TestException after the failures, or retries exhausted by them
        expect(invocation.executions).toBe(Math.min(failures + 1, 4))
      }))
  }

  // the first delay lasts 500 / 1000 / 1500 ms of a maxTotalDuration of 1000 ms
  it.effect("initiallyFailing_retriedExceptionThenValue_totalDelayLessThanMaxDuration", () =>
    Effect.gen(function*() {
      const invocation = initiallyFailing(3, runtimeException, foobar)
      expect(yield* run(retry(invocation.call, retryOnException, 3, 1000, 500))).toEqual(Exit.succeed("foobar"))
      expect(invocation.executions).toBe(4)
    }))

  it.effect("initiallyFailing_retriedExceptionThenValue_totalDelayEqualToMaxDuration", () =>
    Effect.gen(function*() {
      const invocation = initiallyFailing(3, runtimeException, foobar)
      // SmallRye gives up once 1000 ms have passed (RuntimeException, 1 invocation); Sturdy's `maxElapsed` lets a retry
      // start at 1000 ms, not later (deliberate difference), so the call goes on and succeeds
      expect(yield* run(retry(invocation.call, retryOnException, 3, 1000, 1000))).toEqual(Exit.succeed("foobar"))
      expect(invocation.executions).toBe(4)
    }))

  it.effect("initiallyFailing_retriedExceptionThenValue_totalDelayMoreThanMaxDuration", () =>
    Effect.gen(function*() {
      const invocation = initiallyFailing(3, runtimeException, foobar)
      const exit = yield* run(retry(invocation.call, retryOnException, 3, 1000, 1500))
      failedWith(exit, RuntimeException)
      expect(invocation.executions).toBe(1)
      // Sturdy gives up without sleeping the 1500 ms (SmallRye sleeps, then gives up)
      expect(yield* TestClock.currentTimeMillis).toBe(0)
    }))

  it.effect("initiallyFailing_retriedExceptionThenRetriedException_totalDelayLessThanMaxDuration", () =>
    Effect.gen(function*() {
      const invocation = initiallyFailing(3, runtimeException, testException)
      failedWith(yield* run(retry(invocation.call, retryOnException, 3, 1000, 500)), TestException)
      expect(invocation.executions).toBe(4)
    }))

  it.effect("initiallyFailing_retriedExceptionThenRetriedException_totalDelayEqualToMaxDuration", () =>
    Effect.gen(function*() {
      const invocation = initiallyFailing(3, runtimeException, testException)
      // SmallRye: RuntimeException after 1 invocation; Sturdy retries at 1000 ms (deliberate difference)
      failedWith(yield* run(retry(invocation.call, retryOnException, 3, 1000, 1000)), TestException)
      expect(invocation.executions).toBe(4)
    }))

  it.effect("initiallyFailing_retriedExceptionThenRetriedException_totalDelayMoreThanMaxDuration", () =>
    Effect.gen(function*() {
      const invocation = initiallyFailing(3, runtimeException, testException)
      failedWith(yield* run(retry(invocation.call, retryOnException, 3, 1000, 1500)), RuntimeException)
      expect(invocation.executions).toBe(1)
    }))

  it.effect("initiallyFailing_retriedExceptionThenAbortingException_totalDelayLessThanMaxDuration", () =>
    Effect.gen(function*() {
      const invocation = initiallyFailing(3, runtimeException, testException)
      failedWith(yield* run(retry(invocation.call, abortOnTestException, 3, 1000, 500)), TestException)
      expect(invocation.executions).toBe(4)
    }))

  it.effect("initiallyFailing_retriedExceptionThenAbortingException_totalDelayEqualToMaxDuration", () =>
    Effect.gen(function*() {
      const invocation = initiallyFailing(3, runtimeException, testException)
      // SmallRye: RuntimeException after 1 invocation; Sturdy retries at 1000 ms (deliberate difference), and the
      // fourth invocation's TestException aborts
      failedWith(yield* run(retry(invocation.call, abortOnTestException, 3, 1000, 1000)), TestException)
      expect(invocation.executions).toBe(4)
    }))

  it.effect("initiallyFailing_retriedExceptionThenAbortingException_totalDelayMoreThanMaxDuration", () =>
    Effect.gen(function*() {
      const invocation = initiallyFailing(3, runtimeException, testException)
      failedWith(yield* run(retry(invocation.call, abortOnTestException, 3, 1000, 1500)), RuntimeException)
      expect(invocation.executions).toBe(1)
    }))

  it.effect("initiallyFailing_retriedExceptionThenValue_infiniteRetries", () =>
    Effect.gen(function*() {
      const invocation = initiallyFailing(10, runtimeException, foobar)
      expect(yield* run(retry(invocation.call, retryOnException, -1, 1000))).toEqual(Exit.succeed("foobar"))
      expect(invocation.executions).toBe(11)
    }))

  it.effect("initiallyFailing_retriedExceptionThenAbortingException_infiniteRetries", () =>
    Effect.gen(function*() {
      const invocation = initiallyFailing(10, runtimeException, testException)
      failedWith(yield* run(retry(invocation.call, abortOnTestException, -1, 1000)), TestException)
      expect(invocation.executions).toBe(11)
    }))

  // the first delay lasts 1,000,000,000 ms (11.6 days) under no maxTotalDuration
  it.effect("initiallyFailing_retriedExceptionThenValue_infiniteDuration", () =>
    Effect.gen(function*() {
      const invocation = initiallyFailing(3, runtimeException, foobar)
      expect(yield* run(retry(invocation.call, retryOnException, 3, -1, 1_000_000_000))).toEqual(
        Exit.succeed("foobar")
      )
      expect(invocation.executions).toBe(4)
      expect(yield* TestClock.currentTimeMillis).toBe(1_000_000_000)
    }))

  it.effect("initiallyFailing_retriedExceptionThenRetriedException_infiniteDuration", () =>
    Effect.gen(function*() {
      const invocation = initiallyFailing(3, runtimeException, testException)
      failedWith(yield* run(retry(invocation.call, retryOnException, 3, -1, 1_000_000_000)), TestException)
      expect(invocation.executions).toBe(4)
    }))

  it.effect("initiallyFailing_retriedExceptionThenAbortingException_infiniteDuration", () =>
    Effect.gen(function*() {
      const invocation = initiallyFailing(3, runtimeException, testException)
      failedWith(yield* run(retry(invocation.call, abortOnTestException, 3, -1, 1_000_000_000)), TestException)
      expect(invocation.executions).toBe(4)
    }))

  // the fourth invocation blocks and the retrying fiber is interrupted there
  for (
    const [name, decision] of [
      ["initiallyFailing_retriedExceptionThenValue_interruptedInInvocation", abortOnTestException],
      ["initiallyFailing_retriedExceptionThenRetriedException_interruptedInInvocation", retryOnException],
      ["initiallyFailing_retriedExceptionThenAbortingException_interruptedInInvocation", abortOnTestException]
    ] as const
  ) {
    it.effect(name, () =>
      Effect.gen(function*() {
        const invocation = initiallyFailing(3, runtimeException, () => Effect.never)
        const exit = yield* interruptWhen(retry(invocation.call, decision), () => invocation.executions === 4)
        expect(Exit.isInterrupted(exit)).toBe(true)
        expect(invocation.executions).toBe(4)
      }))
  }

  // the retrying fiber is interrupted in its first delay
  for (
    const [name, decision, then] of [
      ["initiallyFailing_retriedExceptionThenValue_interruptedInDelay", abortOnTestException, foobar],
      ["initiallyFailing_retriedExceptionThenRetriedException_interruptedInDelay", retryOnException, testException],
      ["initiallyFailing_retriedExceptionThenAbortingException_interruptedInDelay", abortOnTestException, testException]
    ] as const
  ) {
    it.effect(name, () =>
      Effect.gen(function*() {
        const invocation = initiallyFailing(3, runtimeException, then)
        const call = retry<string>(invocation.call, decision, 3, 1000, 500)
        const fiber = yield* Effect.fork(call)
        yield* TestClock.adjust("100 millis") // within the first delay
        expect(invocation.executions).toBe(1)
        const exit = yield* Fiber.interrupt(fiber)
        expect(Exit.isInterrupted(exit)).toBe(true)
        yield* TestClock.adjust("1 minute")
        expect(invocation.executions).toBe(1)
      }))
  }

  // the delay throws a RuntimeException: the call ends with it, after the one invocation
  for (
    const [name, decision, then] of [
      ["initiallyFailing_retriedExceptionThenValue_unexpectedExceptionInDelay", abortOnTestException, foobar],
      [
        "initiallyFailing_retriedExceptionThenRetriedException_unexpectedExceptionInDelay",
        retryOnException,
        testException
      ],
      [
        "initiallyFailing_retriedExceptionThenAbortingException_unexpectedExceptionInDelay",
        abortOnTestException,
        testException
      ]
    ] as const
  ) {
    it.effect(name, () =>
      Effect.gen(function*() {
        const invocation = initiallyFailing(3, runtimeException, then)
        const thrown = new RuntimeException()
        const throwing = Backoff.bounded(
          Backoff.fromDelay((): Duration.DurationInput => {
            throw thrown
          }),
          { maxAttempts: 4, maxElapsed: "1000 millis" }
        )
        const exit = yield* run(Retry.retry(invocation.call, { schedule: throwing, while: decision }))
        expect(Exit.isFailure(exit) && Option.getOrUndefined(Cause.dieOption(exit.cause))).toBe(thrown)
        expect(invocation.executions).toBe(1)
      }))
  }
})

// new Retry(ThreadOffload(invocation), .., maxRetries 3, maxTotalDuration 1000, no delay)
describe("peer SmallRye RetryAsyncTest", () => {
  const offloaded = <A, E>(invocation: Effect.Effect<A, E>) => Effect.flatMap(Effect.fork(invocation), Fiber.join)

  it.effect("shouldNotRetryOnSuccess", () =>
    Effect.gen(function*() {
      const invocation = initiallyFailing(0, runtimeException, () => Effect.succeed("shouldNotRetryOnSuccess"))
      expect(yield* run(retry(offloaded(invocation.call), retryOnException))).toEqual(
        Exit.succeed("shouldNotRetryOnSuccess")
      )
      expect(invocation.executions).toBe(1)
    }))

  it.effect("shouldPropagateAbortOnError", () =>
    Effect.gen(function*() {
      const error = new RuntimeException("forced")
      const invocation = initiallyFailing(Infinity, () => error, foobar)
      const abortOnRuntimeException = (e: Failure) => !(e instanceof RuntimeException)
      expect(yield* run(retry(offloaded(invocation.call), abortOnRuntimeException))).toEqual(Exit.fail(error))
      expect(invocation.executions).toBe(1)
    }))

  it.effect("shouldRetryOnce", () =>
    Effect.gen(function*() {
      const invocation = initiallyFailing(1, () =>
        new RuntimeException("forced"), () =>
        Effect.succeed("shouldRetryOnce"))
      expect(yield* run(retry(offloaded(invocation.call), retryOnException))).toEqual(Exit.succeed("shouldRetryOnce"))
      expect(invocation.executions).toBe(2)
    }))

  it.effect("shouldRetryMaxTimesAndSucceed", () =>
    Effect.gen(function*() {
      const invocation = initiallyFailing(
        3,
        () => new RuntimeException("forced"),
        () => Effect.succeed("shouldRetryMaxTimesAndSucceed")
      )
      expect(yield* run(retry(offloaded(invocation.call), retryOnException))).toEqual(
        Exit.succeed("shouldRetryMaxTimesAndSucceed")
      )
      expect(invocation.executions).toBe(4)
    }))

  it.effect("shouldRetryMaxTimesAndFail", () =>
    Effect.gen(function*() {
      const error = new RuntimeException("forced")
      const invocation = initiallyFailing(Infinity, () => error, foobar)
      expect(yield* run(retry(offloaded(invocation.call), retryOnException))).toEqual(Exit.fail(error))
      expect(invocation.executions).toBe(4)
    }))
})

// Strategies.fallback(delegate): "fallback after " + the failure's class name, on every failure; Strategies.retry:
// 10 retries, no delay, every failure retried
describe("peer SmallRye FallbackAndRetryTest", () => {
  const fallback = <A>(self: Effect.Effect<A, Failure>) =>
    Effect.catchAll(self, (failure) => Effect.succeed(`fallback after ${failure.constructor.name}`))
  const strategiesRetry = <A>(self: Effect.Effect<A, Failure>) => retry(self, retryOnException, 10, -1)

  it.effect("shouldFallbackAfterRetrying", () =>
    Effect.gen(function*() {
      const invocation = initiallyFailing(0, runtimeException, testException)
      expect(yield* fallback(strategiesRetry(invocation.call))).toBe("fallback after TestException")
      expect(invocation.executions).toBe(11)
    }))

  it.effect("shouldNotFallbackOnSuccess", () =>
    Effect.gen(function*() {
      expect(yield* fallback(strategiesRetry(Effect.succeed("foobar")))).toBe("foobar")
    }))

  it.effect("shouldNotFallbackOnSuccessAtSecondAttempt", () =>
    Effect.gen(function*() {
      let failures = 0
      const invocation = initiallyFailing(3, () => {
        failures++
        return new RuntimeException()
      }, () => Effect.succeed(`success after ${failures} failures`))
      expect(yield* fallback(strategiesRetry(invocation.call))).toBe("success after 3 failures")
    }))
})
