// Ported from Haskell's retry (Soostone/retry, commit 524f206096c088a82674798b27b133c8c63e3182),
// test/Tests/Control/Retry.hs: its groups that run an action, "recovering" (with "exception hierarchy semantics"),
// "retry status", "quadratic delay", "masking state", "overriding delay" and "retryOnError", one `it` per
// `testCase`/`testProperty`, named after it, against `@sturdy/policy`'s `Retry.retry` over `Backoff` schedules.
//
// Mapping: `recovering policy handlers action` is `Retry.retry(action, { schedule, while })`: an exception is a typed
// failure (`Custom1`, `Custom2`, `UserError` as tagged errors), a list of `Handler`s that return `True` is `while`
// answering true for the failures they catch (a `SomeException` handler is `() => true`), `recoverAll` is the default
// `while`. `retrying policy check action` (a result worth retrying) is an action that fails; the `RetryStatus` an
// action is handed is what it observes instead: its own attempt count, the TestClock (cumulative delay) and the
// `onAttempt` hook (the delay before it). `ConsultPolicyOverrideDelay d` (retryingDynamic, recoveringDynamic) is
// `delayHint`, the wait that replaces the schedule's delay. An asynchronous exception (`throwTo ... UserInterrupt`) is
// fiber interruption; the masking state is Effect's interruptibility. `p <> q` is `Schedule.intersect`, the policies
// those of the Policies port (peer-haskell-retry-Policies.test.ts). Haskell's delays are microseconds and measured on
// the wall clock; Sturdy's are milliseconds, measured on the TestClock. Hedgehog's `forAll` is fast-check, seeded.
//
// Deliberate differences: "recoverAll won't catch exceptions which are not decendants of SomeException" is about
// Haskell's exception hierarchy, which typed failures do not have; what it asserts (the policy's limit ends recoverAll
// with the last failure) is ported. A `delayHint` wait gets a small positive jitter (at most 10 % of it): Haskell's
// bound, "actual delays don't exceed specified delays" (they are at least those), holds, and Sturdy's upper bound is
// asserted with it.
//
// Not ported: "should mask asynchronous exceptions in exception handlers" (Sturdy's handler, `while`, is a synchronous
// predicate, so no interruption can land in it); the five "resumable" cases (resumeRetrying, resumeRetryingDynamic,
// resumeRecovering, resumeRecoveringDynamic, resumeRecoverAll: Sturdy's `Retry` cannot be started from a given
// `RetryStatus`); test/Tests/UnliftIO/Retry.hs (the same cases through unliftio's versions of the functions).
import { describe, expect, it } from "@effect/vitest"
import * as Retry from "@sturdy/policy/Retry"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import { advance, advanceUntil } from "./utils/advance.js"
import { constantDelay, exponentialBackoff, fibonacciBackoff, fullJitter, limitRetries } from "./utils/retryPolicies.js"

class Custom1 extends Data.TaggedError("Custom1") {}
class Custom2 extends Data.TaggedError("Custom2") {}
class UserError extends Data.TaggedError("UserError")<{ readonly message: string }> {}

// runs a retrying effect to its end, the TestClock a minute at a time (each sleep wakes at its own time)
const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.flatten(advance(effect))
// the same, with the TestClock's time when the effect ended
const runTimed = <A, E>(effect: Effect.Effect<A, E>) => run(Effect.zip(effect, Clock.currentTimeMillis))
const append = <A, B>(a: Schedule.Schedule<A, unknown>, b: Schedule.Schedule<B, unknown>) => Schedule.intersect(a, b)

/** `mkFailN e n`: an action that fails with `e` on its first `n` calls and succeeds after, counting its calls */
const mkFailN = <E>(e: E, n: number) => {
  const s: { calls: number; readonly action: Effect.Effect<void, E> } = {
    calls: 0,
    action: Effect.suspend(() => s.calls++ < n ? Effect.fail(e) : Effect.void)
  }
  return s
}

describe("peer Haskell retry: recovering", () => {
  it.effect.prop(
    "recovering test without quadratic retry delay",
    [FastCheck.integer({ min: 0, max: 15 }), FastCheck.integer({ min: 0, max: 50 })],
    ([timeout, retries]) =>
      Effect.gen(function*() {
        const startTime = yield* Clock.currentTimeMillis
        let attempts = 0
        const [res, endTime] = yield* runTimed(Effect.either(Retry.retry(
          Effect.suspend(() => (attempts++, Effect.fail(new UserError({ message: "booo" })))),
          { schedule: append(constantDelay(timeout), limitRetries(retries)), while: () => true }
        )))
        expect(Either.isLeft(res) && res.left._tag === "UserError").toBe(true)
        // Haskell: at least timeout × retries on the wall clock; on the TestClock, exactly
        expect(endTime - startTime).toBe(timeout * retries)
        expect(attempts).toBe(retries + 1)
      }),
    { fastCheck: { seed: 20261205, numRuns: 60 } }
  )

  describe("exception hierarchy semantics", () => {
    it.effect("does not catch async exceptions", () =>
      Effect.gen(function*() {
        let counter = 0
        const work = Effect.zipRight(Effect.sync(() => counter++), Effect.sleep("1 second"))
        const fiber = yield* Effect.fork(Retry.retry(work, { schedule: limitRetries(2) }))
        yield* advanceUntil(Effect.sync(() => counter === 1))
        // Haskell's `throwTo tid UserInterrupt` is an interruption: it ends the call, unretried
        const exit = yield* Fiber.interrupt(fiber)
        expect(Exit.isInterrupted(exit)).toBe(true)
        expect(counter).toBe(1)
      }))

    it.effect("recovers from custom exceptions", () =>
      Effect.gen(function*() {
        const f = mkFailN(new Custom1(), 2)
        const res = yield* run(Effect.either(Retry.retry(f.action, {
          schedule: append(constantDelay(5), limitRetries(3)),
          while: (e) => e._tag === "Custom1"
        })))
        expect(res).toEqual(Either.right(undefined))
      }))

    it.effect("fails beyond policy using custom exceptions", () =>
      Effect.gen(function*() {
        const f = mkFailN(new Custom1(), 3)
        const res = yield* run(Effect.either(Retry.retry(f.action, {
          schedule: append(constantDelay(5), limitRetries(2)),
          while: (e) => e._tag === "Custom1"
        })))
        expect(res).toEqual(Either.left(new Custom1()))
      }))

    it.effect("recoverAll won't catch exceptions which are not decendants of SomeException", () =>
      Effect.gen(function*() {
        const f = mkFailN(new Custom1(), 4)
        const res = yield* run(Effect.either(Retry.retry(f.action, {
          schedule: append(constantDelay(5), limitRetries(3))
        })))
        expect(res).toEqual(Either.left(new Custom1()))
        expect(f.calls).toBe(4)
      }))

    it.effect("does not recover from unhandled exceptions", () =>
      Effect.gen(function*() {
        // an action that may fail with either; the handler catches Custom1 only
        const f = mkFailN<Custom1 | Custom2>(new Custom2(), 2)
        const res = yield* run(Effect.either(Retry.retry(f.action, {
          schedule: append(constantDelay(5), limitRetries(5)),
          while: (e) => e._tag === "Custom1"
        })))
        expect(res).toEqual(Either.left(new Custom2()))
        expect(f.calls).toBe(1)
      }))

    it.effect("recovers in presence of multiple handlers", () =>
      Effect.gen(function*() {
        const f = mkFailN<Custom1 | Custom2>(new Custom2(), 2)
        const res = yield* run(Effect.either(Retry.retry(f.action, {
          schedule: append(constantDelay(5), limitRetries(5)),
          while: (e) => e._tag === "Custom1" || e._tag === "Custom2"
        })))
        expect(res).toEqual(Either.right(undefined))
      }))

    it.effect("general exceptions catch specific ones", () =>
      Effect.gen(function*() {
        const f = mkFailN(new Custom2(), 2)
        const res = yield* run(Effect.either(Retry.retry(f.action, {
          schedule: append(constantDelay(5), limitRetries(5)),
          while: () => true
        })))
        expect(res).toEqual(Either.right(undefined))
      }))

    it.effect("(redundant) even general catchers don't go beyond policy", () =>
      Effect.gen(function*() {
        const f = mkFailN(new Custom2(), 3)
        const res = yield* run(Effect.either(Retry.retry(f.action, {
          schedule: append(constantDelay(5), limitRetries(2)),
          while: () => true
        })))
        expect(res).toEqual(Either.left(new Custom2()))
      }))

    it.effect("rethrows in presence of failed exception casts", () =>
      Effect.gen(function*() {
        const f = mkFailN<Custom1 | Custom2>(new Custom2(), 3)
        // the inner `try @Custom1` does not catch the Custom2 the retry ends with: the outer one does
        const caughtCustom1: Array<Custom1> = []
        const final = yield* run(Effect.either(
          Retry.retry(f.action, {
            schedule: append(constantDelay(5), limitRetries(2)),
            while: () => true
          }).pipe(Effect.catchTag("Custom1", (e) => Effect.sync(() => void caughtCustom1.push(e))))
        ))
        expect(caughtCustom1).toEqual([])
        expect(final).toEqual(Either.left(new Custom2()))
      }))
  })
})

describe("peer Haskell retry: retry status", () => {
  it.effect("passes the correct retry status each time", () =>
    Effect.gen(function*() {
      const start = yield* Clock.currentTimeMillis
      const statuses: Array<{ iter: number; cumulative: number; previous: number | null }> = []
      let previousDelay: number | null = null
      const action = Effect.flatMap(Clock.currentTimeMillis, (now) => {
        statuses.push({ iter: statuses.length, cumulative: now - start, previous: previousDelay })
        return Effect.fail("retry" as const)
      })
      yield* run(Effect.either(Retry.retry(action, {
        schedule: append(limitRetries(2), constantDelay(100)),
        onAttempt: (a) => Effect.sync(() => void (a.retrying && (previousDelay = Duration.toMillis(a.delay))))
      })))
      expect(statuses.map((s) => s.iter)).toEqual([0, 1, 2])
      expect(statuses.map((s) => s.cumulative)).toEqual([0, 100, 200])
      expect(statuses.map((s) => s.previous)).toEqual([null, 100, 100])
    }))
})

describe("peer Haskell retry: quadratic delay", () => {
  it.effect.prop(
    "recovering test with quadratic retry delay",
    [FastCheck.integer({ min: 0, max: 15 }), FastCheck.integer({ min: 0, max: 8 })],
    ([timeout, retries]) =>
      Effect.gen(function*() {
        const startTime = yield* Clock.currentTimeMillis
        const [res, endTime] = yield* runTimed(
          Effect.either(Retry.retry(Effect.fail(new UserError({ message: "booo" })), {
            schedule: append(exponentialBackoff(timeout), limitRetries(retries)),
            while: () => true
          }))
        )
        expect(Either.isLeft(res) && res.left._tag === "UserError").toBe(true)
        const tmo = retries > 0 ? timeout * 2 ** (retries - 1) : 0
        expect(endTime - startTime).toBeGreaterThanOrEqual(tmo)
        // on the TestClock, exactly the sum of the delays: timeout × (2^retries − 1)
        expect(endTime - startTime).toBe(timeout * (2 ** retries - 1))
      }),
    { fastCheck: { seed: 20261205, numRuns: 60 } }
  )
})

describe("peer Haskell retry: masking state", () => {
  it.effect("shouldn't change masking state in a recovered action", () =>
    Effect.gen(function*() {
      // retryPolicyDefault: constantDelay 50 ms <> limitRetries 5
      const retryPolicyDefault = append(constantDelay(50), limitRetries(5))
      for (const region of [Effect.interruptible, Effect.uninterruptible]) {
        const states: Array<boolean> = []
        const final = yield* run(region(Effect.checkInterruptible((maskingState) =>
          Effect.either(Retry.retry(
            Effect.checkInterruptible((maskingState2) => {
              states.push(maskingState2 === maskingState)
              return Effect.fail(new UserError({ message: "Retrying..." }))
            }),
            { schedule: retryPolicyDefault }
          ))
        )))
        expect(Either.isLeft(final)).toBe(true)
        expect(states).toEqual([true, true, true, true, true, true])
      }
    }))
})

describe("peer Haskell retry: overriding delay", () => {
  // `genPolicyNoLimit (Range.linear 1 1000000)`: constant, exponential, full jitter or Fibonacci, 1 to 1000 ms
  const genPolicyNoLimit = FastCheck.tuple(
    FastCheck.constantFrom(constantDelay, exponentialBackoff, fullJitter, fibonacciBackoff),
    FastCheck.integer({ min: 1, max: 1000 })
  ).map(([make, duration]) => make(duration))
  const genDelays = FastCheck.array(FastCheck.integer({ min: 10, max: 1000 }), { minLength: 1, maxLength: 10 })

  class Iteration extends Data.TaggedError("Iteration")<{ readonly n: number }> {}

  // Runs `retrying'` with the delays the handler asks for, and checks the gaps between the attempts' timestamps.
  const testOverride = (
    policy: Schedule.Schedule<unknown, unknown>,
    delays: ReadonlyArray<number>,
    action: (n: number) => Effect.Effect<void, Iteration>
  ) =>
    Effect.gen(function*() {
      const measuredTimestamps: Array<number> = []
      let n = 0
      yield* run(Effect.either(Retry.retry(
        Effect.suspend(() =>
          Effect.flatMap(Clock.currentTimeMillis, (time) => (measuredTimestamps.push(time), action(n++)))
        ),
        {
          // stop retrying when we run out of delays
          schedule: append(policy, limitRetries(delays.length)),
          delayHint: (failure) => Option.some(Duration.millis(delays[failure.n]!))
        }
      )))
      expect(measuredTimestamps).toHaveLength(delays.length + 1)
      const diffTimes = measuredTimestamps.slice(1).map((t, i) => t - measuredTimestamps[i]!)
      diffTimes.forEach((actual, i) => {
        expect(actual).toBeGreaterThanOrEqual(delays[i]!)
        // Sturdy's jitter on a hint: at most 10 % of it
        expect(actual).toBeLessThanOrEqual(Math.floor(delays[i]! * 1.1))
      })
    })

  describe("actual delays don't exceed specified delays", () => {
    it.effect.prop(
      "retryingDynamic",
      [genPolicyNoLimit, genDelays, FastCheck.integer()],
      ([policy, delays, seed]) =>
        // `retryingDynamic`: every result is judged worth retrying, with the delay the handler names
        testOverride(policy, delays, (n) => Effect.fail(new Iteration({ n }))).pipe(
          Effect.withRandom(Random.make(seed))
        ),
      { fastCheck: { seed: 20261205, numRuns: 60 } }
    )

    it.effect.prop(
      "recoveringDynamic",
      [genPolicyNoLimit, genDelays, FastCheck.integer()],
      ([policy, delays, seed]) =>
        // `recoveringDynamic`: the action throws until it has run out of delays
        testOverride(policy, delays, (n) => n < delays.length ? Effect.fail(new Iteration({ n })) : Effect.void).pipe(
          Effect.withRandom(Random.make(seed))
        ),
      { fastCheck: { seed: 20261205, numRuns: 60 } }
    )
  })
})

describe("peer Haskell retry: retryOnError", () => {
  it.effect("passes in the error type", () =>
    Effect.gen(function*() {
      const errCalls: Array<string> = []
      let iter = 0
      const action = Effect.suspend(() => Effect.fail(`boom${iter++}`))
      const res = yield* run(Effect.either(Retry.retry(action, {
        schedule: limitRetries(2),
        while: (e) => (errCalls.push(e), true)
      })))
      expect(res).toEqual(Either.left("boom2"))
      expect(errCalls).toEqual(["boom0", "boom1", "boom2"])
    }))
})
