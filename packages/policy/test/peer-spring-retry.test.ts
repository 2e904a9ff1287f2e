// Ported from Spring Retry (spring-projects/spring-retry, commit c8977dda2d97c6d73719a5413761cee5e91de34b):
// `src/test/java/org/springframework/retry/backoff/ExponentialBackOffPolicyTests.java`,
// `ExponentialRandomBackOffPolicyTests.java`, `UniformRandomBackOffPolicyTests.java`, and
// `src/test/java/org/springframework/retry/policy/SimpleRetryPolicyTests.java`, `TimeoutRetryPolicyTests.java`, one
// `it` per JUnit `@Test`, named after it, against `@sturdy/policy`'s `Backoff` and `Retry` on the TestClock.
// Mapping: `ExponentialBackOffPolicy` (initialInterval 100 ms, multiplier 2, maxInterval 30 s) is
// `Backoff.exponential({ baseDelay, factor, maxDelay, jitter: "none" })`; `ExponentialRandomBackOffPolicy` is a jittered
// `Backoff.exponential`; `UniformRandomBackOffPolicy(min, max)` is Effect's `Schedule.jitteredWith(Schedule.spaced(max),
// { min: min / max, max: 1 })` under `Backoff.bounded`; the `DummySleeper` is the TestClock (or `stepDelays`);
// `SimpleRetryPolicy(maxAttempts, retryableExceptions, traverseCauses, defaultValue)` is `Retry.retry({ schedule:
// Backoff.bounded(..., { maxAttempts }), while })` with the exception classifier as `while` (both count the first
// attempt); `canRetry` after n `registerThrowable` calls is whether attempt n + 1 runs; `TimeoutRetryPolicy(timeout)`
// (measured from `open`, the start) is `Deadline.establish(timeout)`.
// Deliberate differences (each test says which): Spring clamps bad settings with a warning (multiplier below 1 to 1,
// initialInterval or maxInterval 0 to 1 ms); Sturdy refuses a factor below 1 with a RangeError naming it, and takes a
// zero baseDelay or maxDelay as no wait. Spring truncates each interval before multiplying again (40, 48, 57, 68, 81
// for × 1.2); Sturdy computes base × factorⁿ, rounded down once (40, 48, 57, 69, 82). Spring's random backoff
// lengthens a delay (up to × multiplier), Sturdy's jitter only shortens it. A uniform range with max < min waits min
// in Spring; Sturdy's `maxDelay` caps instead. `setMaxAttempts(0)` makes no attempt in Spring; Sturdy always makes
// the first attempt and refuses `maxAttempts` below 1.
// Not ported: testSetMultiplierWithWarning / testSetInitialIntervalWithWarning / testSetMaxIntervalWithWarning (the
// warning log lines: Sturdy throws instead, asserted in testSetMultiplier), testMultiBackOffWithInitialDelaySupplier
// (a supplier of the initial interval: build the schedule with the value), ExponentialRandomBackOffPolicyTests'
// testMultiBackOff (it prints percentiles and asserts nothing), testParent (nested retry contexts).
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Deadline from "@sturdy/policy/Deadline"
import * as Retry from "@sturdy/policy/Retry"
import { laws } from "@sturdy/testing/ScheduleKit"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import { advance } from "./utils/advance.js"
import { stepDelays } from "./utils/stepDelays.js"

// Java's exception hierarchy, for the classifier cases
class JavaException extends Error {
  constructor(message?: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause })
  }
}
class RuntimeException extends JavaException {}
class IllegalStateException extends RuntimeException {}
class IllegalArgumentException extends RuntimeException {}

type Classified = ReadonlyArray<readonly [abstract new(...args: Array<any>) => unknown, boolean]>

/**
 * Spring's `BinaryExceptionClassifier`: the entry for the nearest class in the failure's hierarchy, else (with
 * `traverseCauses`) that of its cause, else `defaultValue`.
 */
const classifier = (map: Classified, traverseCauses = false, defaultValue = false) => {
  const classify = (e: unknown): boolean | undefined => {
    for (let proto = Object.getPrototypeOf(e); proto !== null; proto = Object.getPrototypeOf(proto)) {
      const hit = map.find(([cls]) => cls.prototype === proto)
      if (hit !== undefined) return hit[1]
    }
    return traverseCauses && e instanceof JavaException && e.cause !== undefined ? classify(e.cause) : undefined
  }
  return (e: unknown) => classify(e) ?? defaultValue
}

/** Spring's `SimpleRetryPolicy` (3 attempts, every `Exception` retryable by default), with no backoff */
const simpleRetry = (maxAttempts = 3, retryable: (e: unknown) => boolean = (e) => e instanceof JavaException) => ({
  schedule: Backoff.bounded(Backoff.fromDelay(() => 0), { maxAttempts }),
  while: retryable
})

/** a callback that fails with each of `failures` in turn, then succeeds; counts its calls */
const callback = (...failures: ReadonlyArray<unknown>) => {
  const c: { calls: number; readonly run: Effect.Effect<string, unknown> } = {
    calls: 0,
    run: Effect.suspend(() => {
      const failure = failures[c.calls++]
      return failure === undefined ? Effect.succeed("ok") : Effect.fail(failure)
    })
  }
  return c
}

/** Spring's `ExponentialBackOffPolicy` defaults: 100 ms, × 2, 30 s */
const exponentialBackOff = (o: Backoff.Options = {}) =>
  Backoff.exponential({
    baseDelay: 100,
    factor: 2,
    maxDelay: "30 seconds",
    jitter: "none",
    maxAttempts: Infinity,
    ...o
  })

describe("spring-retry ExponentialBackOffPolicyTests", () => {
  it("testSetMaxInterval", () => {
    expect(stepDelays(exponentialBackOff({ baseDelay: 5000, maxDelay: 1000 }), [undefined])).toEqual([1000])
    // Spring raises a max interval of 0 to 1 ms; Sturdy's zero maxDelay is no wait
    expect(stepDelays(exponentialBackOff({ maxDelay: 0 }), [undefined, undefined])).toEqual([0, 0])
    // what Sturdy refuses, naming the option: a negative one
    expect(() => exponentialBackOff({ maxDelay: -1 })).toThrow(/maxDelay/)
  })

  it("testSetInitialInterval", () => {
    expect(stepDelays(exponentialBackOff({ baseDelay: 10_000 }), [undefined])).toEqual([10_000])
    // Spring raises an initial interval of 0 to 1 ms; Sturdy's zero baseDelay is no wait
    expect(stepDelays(exponentialBackOff({ baseDelay: 0 }), [undefined, undefined])).toEqual([0, 0])
    expect(() => exponentialBackOff({ baseDelay: -1 })).toThrow(/baseDelay/)
  })

  it("testSetMultiplier", () => {
    expect(stepDelays(exponentialBackOff({ factor: 3 }), [undefined, undefined])).toEqual([100, 300])
    // Spring raises a multiplier of .5 to 1 with a warning; Sturdy refuses it with a RangeError naming the option
    expect(() => exponentialBackOff({ factor: 0.5 })).toThrow(RangeError)
    expect(() => exponentialBackOff({ factor: 0.5 })).toThrow(/factor/)
    expect(() => exponentialBackOff({ factor: NaN })).toThrow(/factor/)
    expect(() => exponentialBackOff({ factor: 0 })).toThrow(/factor/)
    // a multiplier of exactly 1 is allowed (Spring warns; Sturdy takes it as a constant delay)
    expect(stepDelays(exponentialBackOff({ factor: 1 }), [undefined, undefined])).toEqual([100, 100])
  })

  it("testSingleBackOff", () => {
    expect(stepDelays(exponentialBackOff(), [undefined])).toEqual([100])
  })

  it("testMaximumBackOff", () => {
    expect(stepDelays(exponentialBackOff({ maxDelay: 50 }), [undefined])).toEqual([50])
  })

  it("testMultiBackOff", () => {
    // Spring truncates each interval before multiplying again: 40, 48, 57, 68, 81. Sturdy rounds base × factorⁿ down
    // once, so the error does not compound
    expect(stepDelays(exponentialBackOff({ baseDelay: 40, factor: 1.2 }), Array(5).fill(undefined))).toEqual([
      40,
      48,
      57,
      69,
      82
    ])
  })

  it.effect("testInterruptedStatusIsRestored", () =>
    Effect.gen(function*() {
      // Spring: an interrupted sleep ends the backoff with BackOffInterruptedException. Sturdy: interrupting the
      // retrying fiber during its backoff sleep ends it as interrupted, with no further attempt
      const c = callback(new RuntimeException("foo"), new RuntimeException("bar"))
      const fiber = yield* Effect.fork(Retry.retry(c.run, { schedule: exponentialBackOff() }))
      yield* TestClock.adjust(50)
      expect(c.calls).toBe(1)
      yield* Fiber.interrupt(fiber)
      const exit = yield* Fiber.await(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      yield* TestClock.adjust("1 minute")
      expect(c.calls).toBe(1)
    }))
})

describe("spring-retry ExponentialRandomBackOffPolicyTests", () => {
  const MAX_RETRIES = 6
  const makeBackoffPolicy = (o: Backoff.Options = {}) =>
    Backoff.exponential({ baseDelay: 50, factor: 2, maxDelay: 3000, jitter: "full", maxAttempts: MAX_RETRIES, ...o })
  /** Spring's bound on sleep i: 2 × (initial + initial × max(1, multiplierⁱ)) */
  const expectedMaxValue = (initial: number, i: number) => 2 * (initial + initial * Math.max(1, 2 ** i))

  it("testSingleBackoff", () => {
    for (let seed = 0; seed < 20; seed++) {
      const sleeps = stepDelays(makeBackoffPolicy(), Array(20).fill(undefined), 0, seed)
      expect(sleeps).toHaveLength(MAX_RETRIES - 1)
      sleeps.forEach((s, i) => expect(s).toBeLessThan(expectedMaxValue(50, i)))
    }
  })

  it("testMaxInterval", () => {
    for (let seed = 0; seed < 20; seed++) {
      const sleeps = stepDelays(makeBackoffPolicy({ baseDelay: 3000 }), Array(20).fill(undefined), 0, seed)
      expect(sleeps).toHaveLength(MAX_RETRIES - 1)
      sleeps.forEach((s, i) => expect(s).toBeLessThanOrEqual(expectedMaxValue(3000, i)))
      // Sturdy's own bound is tighter: the cap holds after jitter
      expect(laws.capHolds(makeBackoffPolicy({ baseDelay: 3000 }), 3000, { seed, attempts: 20 })).toBe(true)
    }
  })
})

describe("spring-retry UniformRandomBackOffPolicyTests", () => {
  const uniformRandom = (min: number, max: number) =>
    Backoff.bounded(Schedule.jitteredWith(Schedule.spaced(max), { min: min / max, max: 1 }), {})

  it("testSetSleeper", () => {
    for (let seed = 0; seed < 20; seed++) {
      const backOffs = stepDelays(uniformRandom(1000, 10_000), [undefined], 0, seed)
      expect(backOffs).toHaveLength(1)
      expect(backOffs[0]).toBeGreaterThanOrEqual(1000)
      expect(backOffs[0]).toBeLessThan(10_000)
    }
  })

  it.effect("testInterruptedStatusIsRestored", () =>
    Effect.gen(function*() {
      const c = callback(new RuntimeException("foo"), new RuntimeException("bar"))
      const fiber = yield* Effect.fork(Retry.retry(c.run, { schedule: uniformRandom(1000, 10_000) }))
      yield* TestClock.adjust(500)
      yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(yield* Fiber.await(fiber))).toBe(true)
      expect(c.calls).toBe(1)
    }))

  it("testMaxBackOffLessThanMinBackOff", () => {
    // Spring: max 10 < min 1000 waits min (1000). Sturdy's maxDelay caps every delay, whatever the base: 10
    expect(stepDelays(Backoff.exponential({ baseDelay: 1000, maxDelay: 10, factor: 1, jitter: "none" }), [undefined]))
      .toEqual([10])
    expect(stepDelays(Backoff.bounded(Schedule.spaced(1000), { maxDelay: 10 }), [undefined])).toEqual([10])
  })
})

describe("spring-retry SimpleRetryPolicyTests", () => {
  it.effect("testCanRetryIfNoException", () =>
    Effect.gen(function*() {
      // a fresh policy allows the first retry
      expect(stepDelays(simpleRetry().schedule, [undefined])).toHaveLength(1)
      const c = callback(new JavaException())
      expect(yield* advance(Retry.retry(c.run, simpleRetry()))).toEqual(Exit.succeed("ok"))
      expect(c.calls).toBe(2)
    }))

  it.effect("testEmptyExceptionsNeverRetry", () =>
    Effect.gen(function*() {
      const c = callback(new IllegalStateException())
      const exit = yield* advance(Retry.retry(c.run, simpleRetry(3, classifier([]))))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(c.calls).toBe(1)
    }))

  it.effect("testWithExceptionDefaultAlwaysRetry", () =>
    Effect.gen(function*() {
      const retryable = classifier([[IllegalStateException, false]], true, true)
      const illegalState = callback(new IllegalStateException())
      yield* advance(Retry.retry(illegalState.run, simpleRetry(3, retryable)))
      expect(illegalState.calls).toBe(1)
      const illegalArgument = callback(new IllegalArgumentException())
      expect(yield* advance(Retry.retry(illegalArgument.run, simpleRetry(3, retryable)))).toEqual(Exit.succeed("ok"))
      expect(illegalArgument.calls).toBe(2)
    }))

  it("testRetryLimitInitialState", () => {
    expect(stepDelays(simpleRetry().schedule, [undefined])).toHaveLength(1)
    // Spring's setMaxAttempts(0) makes no attempt; Sturdy always makes the first and refuses fewer than 1
    expect(() => Backoff.bounded(Backoff.fromDelay(() => 0), { maxAttempts: 0 })).toThrow(/maxAttempts/)
    expect(() => Backoff.exponential({ maxAttempts: 0 })).toThrow(/maxAttempts/)
    expect(() => Backoff.exponential({ maxAttempts: -1 })).toThrow(RangeError)
    expect(() => Backoff.exponential({ maxAttempts: NaN })).toThrow(/maxAttempts/)
  })

  it.effect("testRetryLimitSubsequentState", () =>
    Effect.gen(function*() {
      // maxAttempts 2: a retry after the first failure, none after the second
      const c = callback(new JavaException(), new JavaException(), new JavaException())
      const exit = yield* advance(Retry.retry(c.run, simpleRetry(2)))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(c.calls).toBe(2)
    }))

  it.effect("testRetryCount", () =>
    Effect.gen(function*() {
      // after one failure the retry count is 1 and the last failure is "foo": the decision is about attempt 2
      const decisions: Array<Retry.Attempt<unknown>> = []
      const c = callback(new RuntimeException("foo"))
      yield* advance(Retry.retry(c.run, { ...simpleRetry(), onAttempt: (a) => Effect.sync(() => decisions.push(a)) }))
      expect(decisions).toHaveLength(1)
      expect(decisions[0]!.attempt).toBe(2)
      expect((decisions[0]!.failure as Error).message).toBe("foo")
    }))

  it.effect("testFatalOverridesRetryable", () =>
    Effect.gen(function*() {
      const retryable = classifier([[JavaException, false], [RuntimeException, true]])
      const c = callback(new RuntimeException("foo"))
      expect(yield* advance(Retry.retry(c.run, simpleRetry(3, retryable)))).toEqual(Exit.succeed("ok"))
      expect(c.calls).toBe(2)
    }))

  it.effect("testRetryableWithCause", () =>
    Effect.gen(function*() {
      const retryable = classifier([[RuntimeException, true]], true)
      const c = callback(new JavaException(undefined, new RuntimeException("foo")))
      expect(yield* advance(Retry.retry(c.run, simpleRetry(3, retryable)))).toEqual(Exit.succeed("ok"))
      expect(c.calls).toBe(2)
    }))
})

describe("spring-retry TimeoutRetryPolicyTests", () => {
  /** a callback whose attempts fail after `attemptMillis` each; the decisions Retry made */
  const timed = (timeout: number, firstAttemptMillis: number) =>
    Effect.gen(function*() {
      const reasons: Array<Retry.Reason> = []
      let calls = 0
      const run = Effect.suspend(() => {
        calls++
        return Effect.zipRight(
          Effect.sleep(calls === 1 ? firstAttemptMillis : 0),
          Effect.fail(new JavaException())
        )
      })
      yield* advance(
        Retry.retry(run, {
          schedule: Backoff.fromDelay(() => 10),
          onAttempt: (a) => Effect.sync(() => reasons.push(a.reason))
        }).pipe(Deadline.establish(timeout))
      )
      return { calls, reasons }
    })

  it.effect("testTimeoutPreventsRetry", () =>
    Effect.gen(function*() {
      // within the 100 ms timeout a failure is retried; 200 ms after the start it is not
      const early = yield* timed(100, 0)
      expect(early.reasons[0]).toBe("backoff")
      expect(early.reasons.at(-1)).toBe("deadline")
      const late = yield* timed(100, 200)
      expect(late.calls).toBe(1)
      expect(late.reasons).toEqual(["deadline"])
    }))

  it.effect("testRetryCount", () =>
    Effect.gen(function*() {
      const decisions: Array<Retry.Attempt<unknown>> = []
      const c = callback(new RuntimeException("foo"))
      yield* advance(
        Retry.retry(c.run, {
          schedule: Backoff.fromDelay(() => 0),
          onAttempt: (a) => Effect.sync(() => decisions.push(a))
        }).pipe(Deadline.establish(1000))
      )
      expect(decisions).toHaveLength(1)
      expect(decisions[0]!.attempt).toBe(2)
      expect((decisions[0]!.failure as Error).message).toBe("foo")
    }))

  it.effect("testConstructorWithCustomTimeout", () =>
    Effect.gen(function*() {
      const early = yield* timed(100, 0)
      expect(early.reasons[0]).toBe("backoff")
      const late = yield* timed(100, 200)
      expect(late.calls).toBe(1)
      expect(late.reasons).toEqual(["deadline"])
    }))
})
