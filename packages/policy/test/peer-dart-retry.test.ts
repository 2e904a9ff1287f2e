// Ported from Dart's `package:retry` `retry/test/retry_test.dart` (google/dart-neats, commit
// ec7983efba45bca755a3b8bf843ee153c05329f9; defaults read from `retry/lib/retry.dart`, same commit), one `it` per
// peer case, named after it, against `@sturdy/policy`'s `Backoff` and `Retry.retry`, every wait on the TestClock.
// Option mapping: `RetryOptions.delay(attempt)`, the wait after attempt `attempt` (1-based) is `delayFactor × 2^attempt`,
// so the first retry waits `2 × delayFactor` (400 ms at the default 200 ms): `baseDelay: 2 × delayFactor, factor: 2`,
// and Dart's `delay(n)` is `Backoff`'s retry `n − 1`; `maxDelay` is `maxDelay` (default 30 s in both); `maxAttempts`
// is `maxAttempts` (Dart's default 8); `retryIf` is `while`; `onRetry` is the `onAttempt` hook (no case of the suite
// tests it); Dart's `fn` is the retried effect, a thrown `Exception` a typed failure and a thrown `Error` (never
// retried by Dart) a defect (never retried by Sturdy). Dart's defaults are `dartDefaults` below.
// Deliberate differences (each test says which): Dart's `randomizationFactor` (default 0.25) moves a delay up or down
// by up to 25 %; Sturdy's jitter only shortens a delay within its envelope (`"full"`: [0, t], `"equal"`: [t/2, t]), so
// no delay ever exceeds the envelope, and a test asserts the envelope with `jitter: "none"` (Dart's
// `randomizationFactor: 0`) and Sturdy's bound with its jitter. Dart caps a randomized delay at `maxDelay` too, so
// at the cap it always waits exactly `maxDelay`; Sturdy's jitter applies under the cap.
// Not ported: nothing (the suite's 8 cases are all here); `delay(0)` of "default delay" (the wait after no attempt,
// zero) has no counterpart, as a `Backoff` schedule is stepped only after a failure.
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Retry from "@sturdy/policy/Retry"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import { stepDelays } from "./utils/stepDelays.js"

interface RetryOptions {
  /** milliseconds (Dart's default 200) */
  readonly delayFactor?: number
  /** milliseconds (Dart's default 30 s) */
  readonly maxDelay?: number
  readonly maxAttempts?: number
  readonly jitter?: Backoff.Jitter
}

/** `RetryOptions()`'s defaults as a Sturdy schedule (without Dart's ±25 %: `jitter` says which Sturdy jitter) */
const dartDefaults = (o: RetryOptions = {}) =>
  Backoff.exponential({
    baseDelay: 2 * (o.delayFactor ?? 200),
    factor: 2,
    maxDelay: o.maxDelay ?? 30_000,
    maxAttempts: o.maxAttempts ?? 8,
    jitter: o.jitter ?? "none"
  })

class FormatException extends Data.TaggedError("FormatException")<{ readonly message: string }> {}
class DartException extends Data.TaggedError("Exception")<{ readonly message: string }> {}

/** runs `effect` to its end without moving the TestClock: it must not wait at all (Dart's `maxDelay: Duration()`) */
const withoutWaiting = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    for (let turn = 0; turn < 1000; turn++) {
      const done = yield* Fiber.poll(fiber)
      if (Option.isSome(done)) return done.value
      yield* Effect.yieldNow()
    }
    throw new Error("the retries waited: the TestClock was never moved")
  })

describe("dart-neats retry/test/retry_test.dart RetryOptions", () => {
  it("default delay", () => {
    const ivt = [400, 800, 1600, 3200, 6400, 12800, 25600]
    // the envelope is Dart's: 400 ms doubling up to 25.6 s over the 7 retries of 8 attempts
    expect(stepDelays(dartDefaults(), Array.from({ length: 10 }, () => undefined))).toEqual(ivt)
    // Dart randomizes within ±25 % ([0.74, 1.26] × ivt over 1,000 runs); Sturdy's jitter only shortens: with its
    // default full jitter every delay of 1,000 seeded runs is in [0, ivt], under Dart's upper bound
    for (let seed = 0; seed < 1000; seed++) {
      const delays = stepDelays(dartDefaults({ jitter: "full" }), ivt.map(() => undefined), 0, seed)
      expect(delays.length).toBe(ivt.length)
      delays.forEach((d, i) => {
        expect(d).toBeGreaterThanOrEqual(0)
        expect(d).toBeLessThanOrEqual(ivt[i]!)
        expect(d).toBeLessThanOrEqual(ivt[i]! * 1.26)
      })
    }
  })

  it("avoid overflow", () => {
    // Dart's `r.delay(64)` is retry 63: 400 ms × 2^63 is far past the cap, which it must be clamped to, not overflow
    const schedule = Backoff.exponential({
      baseDelay: 400,
      factor: 2,
      maxDelay: 30_000,
      maxAttempts: Infinity,
      jitter: "none"
    })
    const delays = stepDelays(schedule, Array.from({ length: 64 }, () => undefined))
    expect(delays[63]).toBe(30_000)
    // with jitter the delay at the cap stays a number within [0, maxDelay] (Dart waits exactly maxDelay there)
    const jittered = stepDelays(
      Backoff.exponential({ baseDelay: 400, factor: 2, maxDelay: 30_000, maxAttempts: Infinity, jitter: "full" }),
      Array.from({ length: 64 }, () => undefined),
      0,
      7
    )
    expect(Number.isFinite(jittered[63])).toBe(true)
    expect(jittered[63]).toBeGreaterThanOrEqual(0)
    expect(jittered[63]).toBeLessThanOrEqual(30_000)
  })

  it.effect("retry (success)", () =>
    Effect.gen(function*() {
      let count = 0
      const exit = yield* withoutWaiting(Retry.retry(Effect.sync(() => (count++, true)), { schedule: dartDefaults() }))
      expect(exit).toEqual(Exit.succeed(true))
      expect(count).toBe(1)
    }))

  it.effect("retry (unhandled exception)", () =>
    Effect.gen(function*() {
      let count = 0
      const exception = new DartException({ message: "Retry will fail" })
      const exit = yield* withoutWaiting(
        Retry.retry(Effect.suspend(() => (count++, Effect.fail(exception))), {
          schedule: dartDefaults({ maxAttempts: 5 }),
          while: () => false
        })
      )
      expect(exit).toEqual(Exit.fail(exception))
      expect(count).toBe(1)
    }))

  it.effect("retry (retryIf, exhaust retries)", () =>
    Effect.gen(function*() {
      // `maxDelay: Duration()`: every delay capped to zero, so the five attempts run without waiting
      let count = 0
      const exception = new FormatException({ message: "Retry will fail" })
      const exit = yield* withoutWaiting(
        Retry.retry(Effect.suspend(() => (count++, Effect.fail(exception))), {
          schedule: dartDefaults({ maxAttempts: 5, maxDelay: 0 }),
          while: (e) => e._tag === "FormatException"
        })
      )
      expect(exit).toEqual(Exit.fail(exception))
      expect(count).toBe(5)
    }))

  it.effect("retry (success after 2)", () =>
    Effect.gen(function*() {
      let count = 0
      const exit = yield* withoutWaiting(
        Retry.retry(
          Effect.suspend(() =>
            ++count === 1 ? Effect.fail(new FormatException({ message: "Retry will be okay" })) : Effect.succeed(true)
          ),
          { schedule: dartDefaults({ maxAttempts: 5, maxDelay: 0 }), while: (e) => e._tag === "FormatException" }
        )
      )
      expect(exit).toEqual(Exit.succeed(true))
      expect(count).toBe(2)
    }))

  it.effect("retry (no retryIf)", () =>
    Effect.gen(function*() {
      // no `retryIf`: Dart retries any Exception, Sturdy's default `while` any typed failure
      let count = 0
      const exit = yield* withoutWaiting(
        Retry.retry(
          Effect.suspend(() =>
            ++count === 1 ? Effect.fail(new FormatException({ message: "Retry will be okay" })) : Effect.succeed(true)
          ),
          { schedule: dartDefaults({ maxAttempts: 5, maxDelay: 0 }) }
        )
      )
      expect(exit).toEqual(Exit.succeed(true))
      expect(count).toBe(2)
    }))

  it.effect("retry (unhandled on 2nd try)", () =>
    Effect.gen(function*() {
      let count = 0
      const unhandled = new DartException({ message: "unhandled thing" })
      const exit = yield* withoutWaiting(
        Retry.retry(
          Effect.suspend(() =>
            ++count === 1
              ? Effect.fail<FormatException | DartException>(new FormatException({ message: "Retry will be okay" }))
              : Effect.fail(unhandled)
          ),
          { schedule: dartDefaults({ maxAttempts: 5, maxDelay: 0 }), while: (e) => e._tag === "FormatException" }
        )
      )
      expect(exit).toEqual(Exit.fail(unhandled))
      expect(count).toBe(2)
    }))
})
