// Ported from p-retry's `test.js` (sindresorhus/p-retry 7.0.0) and async-retry's `test/index.js` (vercel/async-retry),
// one `it` per peer case, named after it, against `@sturdy/policy`'s `Retry.retry` and `Backoff`, every wait on the
// TestClock.
// Option mapping: p-retry's `retries: n` is `maxAttempts: n + 1` (default 10 retries: 11 attempts); `minTimeout` is
// `baseDelay` (default 1 s), `factor` is `factor` (default 2), `maxTimeout` is `maxDelay` (default none: `Infinity`),
// `randomize: false` (the default) is `jitter: "none"`, `maxRetryTime` is `maxElapsed`; `shouldRetry` is `while`;
// throwing an `AbortError` is a failure `while` refuses, and p-retry's unwrapping of it (`originalError`) is
// `finalFailure`; `onFailedAttempt({ error, attemptNumber, retriesLeft })` is the `onAttempt` hook, whose `attempt` is
// the attempt about to be made (p-retry's `attemptNumber` is Sturdy's `attempt − 1`, `retriesLeft` is `maxAttempts −
// (attempt − 1)`); an `AbortSignal` is fiber interruption; p-retry's delays, captured from `setTimeout`, are the
// `delay` of the `onAttempt` decisions. async-retry's `bail(err)` and `err.bail` are a failure `while` refuses, its
// `onRetry(err, attempt)` the `onAttempt` hook.
// Deliberate differences (each test says which): p-retry wraps a non-Error throw into a TypeError and does not
// retry it, and never retries a TypeError other than a network one; Sturdy retries any typed failure, whatever its
// type (`while` decides), and never a defect (a thrown exception). p-retry calls `onFailedAttempt` before
// `shouldRetry`; Sturdy's `onAttempt` reports the decision, after `while`. A `factor` below 1 is turned to 1 (or
// shrinks the delays) in p-retry; `Backoff.exponential` refuses it (`Backoff.fromDelay` draws any shape). p-retry's
// `randomize` multiplies a delay by [1, 2); Sturdy's jitter draws within [0, t]. p-retry's `maxRetryTime` counts from
// the first attempt and cuts the last delay short to fit; Sturdy's `maxElapsed` counts from the first failure and a
// retry that would start past it is not made (for a limit from the very start, `Deadline.withDeadline`).
// Not ported (Promise and Node mechanics): "AbortError - string", "AbortError - error" (the error class), "retry
// context object is immutable", "handles async shouldRetry with maxRetryTime" (`while` is synchronous), the `unref`
// cases, "preserves user stack trace through async retries", the `makeRetriable` cases, "unsupported `forever`
// option throws", "aborts immediately if signal is already aborted with reason" (an interrupted fiber runs nothing),
// "retriesLeft is Infinity when retries is Infinity"; async-retry's "chained promise" and "with number of retries"
// fetch real hosts on the internet (the latter is ported on a failing effect).
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Retry from "@sturdy/policy/Retry"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { advance } from "./utils/advance.js"

const fixture = Symbol("fixture")
const fixtureError = new Error("fixture")

class AbortError extends Error {
  constructor(readonly originalError: Error) {
    super(originalError.message)
  }
}

interface PRetryOptions {
  readonly retries?: number
  readonly factor?: number
  readonly minTimeout?: number
  readonly maxTimeout?: number
  readonly randomize?: boolean
  readonly maxRetryTime?: number
}

/** p-retry's options as a Sturdy schedule: `retries` 10, `factor` 2, `minTimeout` 1 s, `maxTimeout` none */
const schedule = (o: PRetryOptions = {}) =>
  Backoff.exponential({
    maxAttempts: (o.retries ?? 10) + 1,
    factor: o.factor ?? 2,
    baseDelay: o.minTimeout ?? 1000,
    maxDelay: o.maxTimeout ?? Infinity,
    jitter: o.randomize ? "full" : "none",
    maxElapsed: o.maxRetryTime ?? Infinity
  })

/** p-retry's AbortError: never retried, and the error it wraps is what the call fails with */
const abortable = {
  while: (e: unknown) => !(e instanceof AbortError),
  finalFailure: (e: unknown) => e instanceof AbortError ? e.originalError : e
}

/** the delays chosen (p-retry's captured `setTimeout`s) */
const capture = () => {
  const delays: Array<number> = []
  const onAttempt = (a: Retry.Attempt<unknown>) =>
    a.retrying ? Effect.sync(() => delays.push(Duration.toMillis(a.delay))) : Effect.void
  return { delays, onAttempt }
}

const failing = <E>(error: E) => {
  const s: { calls: number; readonly call: Effect.Effect<never, E> } = {
    calls: 0,
    call: Effect.suspend(() => (s.calls++, Effect.fail(error)))
  }
  return s
}

describe("p-retry test.js", () => {
  it.effect("retries", () =>
    Effect.gen(function*() {
      let index = 0
      const exit = yield* advance(Retry.retry(
        Effect.suspend(() => {
          index++
          return Effect.zipRight(
            Effect.sleep("40 millis"),
            index === 3 ? Effect.succeed(fixture) : Effect.fail(fixtureError)
          )
        }),
        { schedule: schedule() }
      ))
      expect(exit).toEqual(Exit.succeed(fixture))
      expect(index).toBe(3)
    }))

  it.effect("retries forever when specified", () =>
    Effect.gen(function*() {
      let attempts = 0
      const exit = yield* advance(Retry.retry(
        Effect.suspend(() => {
          attempts++
          return Effect.fail(attempts === 15 ? new AbortError(new Error("stop")) : new Error("test"))
        }),
        { schedule: schedule({ retries: Infinity, minTimeout: 0 }), ...abortable }
      ))
      expect(Exit.isFailure(exit) && Cause.failureOption(exit.cause)).toEqual(Option.some(new Error("stop")))
      expect(attempts).toBe(15)
    }))

  it.effect("throws useful error message when non-error is thrown", () =>
    Effect.gen(function*() {
      // p-retry turns `throw "foo"` into a TypeError "Non-error was thrown" and does not retry it. In Sturdy a typed
      // failure of any type is retried like any other, and comes back as it was
      const s = failing("foo")
      const exit = yield* advance(Retry.retry(s.call, { schedule: schedule({ retries: 2, minTimeout: 0 }) }))
      expect(exit).toEqual(Exit.fail("foo"))
      expect(s.calls).toBe(3)
    }))

  it.effect("no retry on TypeError", () =>
    Effect.gen(function*() {
      // a thrown TypeError is a programming error, a defect in Effect: never retried
      const typeErrorFixture = new TypeError("type-error-fixture")
      let index = 0
      const exit = yield* advance(Retry.retry(
        Effect.suspend(() => {
          index++
          return Effect.zipRight(
            Effect.sleep("40 millis"),
            Effect.sync(() => {
              throw typeErrorFixture
            })
          )
        }),
        { schedule: schedule() }
      ))
      expect(Exit.isFailure(exit) && Cause.dieOption(exit.cause)).toEqual(Option.some(typeErrorFixture))
      expect(index).toBe(1)
    }))

  it.effect("shouldRetry is not called for non-network TypeError", () =>
    Effect.gen(function*() {
      let asked = 0
      const exit = yield* advance(Retry.retry(
        Effect.sync(() => {
          throw new TypeError("type-error-fixture")
        }),
        {
          schedule: schedule(),
          while: () => {
            asked++
            return true
          }
        }
      ))
      expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
      expect(asked).toBe(0)
    }))

  it.effect("retry on TypeError - failed to fetch", () =>
    Effect.gen(function*() {
      // a TypeError as a typed failure (fetch's network failure) is retried like any other
      const typeErrorFixture = new TypeError("Failed to fetch")
      let index = 0
      const exit = yield* advance(Retry.retry(
        Effect.suspend(() => {
          index++
          return index === 3 ? Effect.succeed(fixture) : Effect.fail(typeErrorFixture)
        }),
        { schedule: schedule() }
      ))
      expect(exit).toEqual(Exit.succeed(fixture))
      expect(index).toBe(3)
    }))

  it.effect("errors are preserved when maxRetryTime exceeded", () =>
    Effect.gen(function*() {
      const originalError = new Error("original error")
      const exit = yield* advance(Retry.retry(
        Effect.zipRight(Effect.sleep("150 millis"), Effect.fail(originalError)),
        { schedule: schedule({ maxRetryTime: 100, minTimeout: 0 }) }
      ))
      expect(Exit.isFailure(exit) && Cause.failureOption(exit.cause)).toEqual(Option.some(originalError))
      expect(Exit.isFailure(exit) && Option.getOrThrow(Cause.failureOption(exit.cause))).toBe(originalError)
    }))

  it.effect("aborts", () =>
    Effect.gen(function*() {
      let index = 0
      const exit = yield* advance(Retry.retry(
        Effect.suspend(() => {
          index++
          return Effect.zipRight(
            Effect.sleep("40 millis"),
            Effect.fail(index === 3 ? new AbortError(fixtureError) : fixtureError)
          )
        }),
        { schedule: schedule(), ...abortable }
      ))
      expect(Exit.isFailure(exit) && Option.getOrThrow(Cause.failureOption(exit.cause))).toBe(fixtureError)
      expect(index).toBe(3)
    }))

  it.effect("operation stops immediately on AbortError", () =>
    Effect.gen(function*() {
      let attempts = 0
      const exit = yield* advance(Retry.retry(
        Effect.suspend(() => {
          attempts++
          return Effect.fail(attempts === 2 ? new AbortError(new Error("stop")) : new Error("test"))
        }),
        { schedule: schedule({ retries: 10, minTimeout: 0 }), ...abortable }
      ))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(attempts).toBe(2)
    }))

  it.effect("shouldRetry controls retry behavior", () =>
    Effect.gen(function*() {
      const shouldRetryError = new Error("should-retry")
      const customError = new Error("custom-error")
      let index = 0
      const exit = yield* advance(Retry.retry(
        Effect.suspend(() => {
          index++
          return Effect.zipRight(Effect.sleep("40 millis"), Effect.fail(index < 3 ? shouldRetryError : customError))
        }),
        { schedule: schedule({ retries: 10 }), while: (error) => error.message === shouldRetryError.message }
      ))
      expect(Exit.isFailure(exit) && Option.getOrThrow(Cause.failureOption(exit.cause))).toBe(customError)
      expect(index).toBe(3)
    }))

  it.effect("onFailedAttempt then shouldRetry order", () =>
    Effect.gen(function*() {
      // p-retry: onFailedAttempt, then shouldRetry. Sturdy's hook reports the decision, so it comes after `while`;
      // it is called for a failure `while` refuses too
      const order: Array<string> = []
      yield* advance(Retry.retry(Effect.fail(new Error("order")), {
        schedule: schedule(),
        onAttempt: (a) => Effect.sync(() => order.push(`onAttempt:${a.reason}`)),
        while: () => {
          order.push("while")
          return false
        }
      }))
      expect(order).toEqual(["while", "onAttempt:not-retryable"])
    }))

  it.effect("onFailedAttempt provides correct error details", () =>
    Effect.gen(function*() {
      const retries = 5
      let index = 0
      const details: Array<{ error: unknown; attemptNumber: number; retriesLeft: number }> = []
      const exit = yield* advance(Retry.retry(
        Effect.suspend(() => {
          index++
          return Effect.zipRight(
            Effect.sleep("40 millis"),
            index === 3 ? Effect.succeed(fixture) : Effect.fail(fixtureError)
          )
        }),
        {
          schedule: schedule({ retries }),
          onAttempt: (a) =>
            Effect.sync(() =>
              details.push({
                error: a.failure,
                attemptNumber: a.attempt - 1,
                retriesLeft: retries + 1 - (a.attempt - 1)
              })
            )
        }
      ))
      expect(exit).toEqual(Exit.succeed(fixture))
      expect(index).toBe(3)
      expect(details).toEqual([
        { error: fixtureError, attemptNumber: 1, retriesLeft: 5 },
        { error: fixtureError, attemptNumber: 2, retriesLeft: 4 }
      ])
    }))

  it.effect("onFailedAttempt is called even when shouldRetry returns false", () =>
    Effect.gen(function*() {
      const error = new Error("fail")
      const s = failing(error)
      const reported: Array<Retry.Reason> = []
      const exit = yield* advance(Retry.retry(s.call, {
        schedule: schedule({ retries: 5 }),
        while: () => false,
        onAttempt: (a) => Effect.sync(() => reported.push(a.reason))
      }))
      expect(Exit.isFailure(exit) && Option.getOrThrow(Cause.failureOption(exit.cause))).toBe(error)
      expect(s.calls).toBe(1)
      expect(reported).toEqual(["not-retryable"])
    }))

  it.effect("onFailedAttempt can return a promise to add a delay", () =>
    Effect.gen(function*() {
      // the hook is waited for: its second adds to the 1 s backoff
      const starts: Array<number> = []
      let isCalled = false
      const exit = yield* advance(Retry.retry(
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          starts.push(now)
          if (isCalled) return Effect.succeed(fixture)
          isCalled = true
          return Effect.fail(fixtureError)
        }),
        { schedule: schedule(), onAttempt: () => Effect.sleep("1 second") }
      ))
      expect(exit).toEqual(Exit.succeed(fixture))
      expect(starts[1]! - starts[0]!).toBe(2000)
    }))

  it.effect("onFailedAttempt can throw to abort retries", () =>
    Effect.gen(function*() {
      // the hook cannot fail (its type is Effect<void>); one that dies ends the call with its defect, no retry made
      const error = new Error("thrown from onFailedAttempt")
      const s = failing(fixtureError)
      const exit = yield* advance(Retry.retry(s.call, { schedule: schedule(), onAttempt: () => Effect.die(error) }))
      expect(Exit.isFailure(exit) && Cause.dieOption(exit.cause)).toEqual(Option.some(error))
      expect(s.calls).toBe(1)
    }))

  it.effect("onFailedAttempt can be undefined", () =>
    Effect.gen(function*() {
      const error = new Error("thrown from onFailedAttempt")
      const s = failing(error)
      const exit = yield* advance(Retry.retry(s.call, { schedule: schedule({ retries: 1 }), onAttempt: undefined }))
      expect(Exit.isFailure(exit) && Option.getOrThrow(Cause.failureOption(exit.cause))).toBe(error)
      expect(s.calls).toBe(2)
    }))

  it.effect("shouldRetry can be undefined", () =>
    Effect.gen(function*() {
      const error = new Error("thrown from onFailedAttempt")
      const s = failing(error)
      const exit = yield* advance(Retry.retry(s.call, { schedule: schedule({ retries: 1 }), while: undefined }))
      expect(Exit.isFailure(exit) && Option.getOrThrow(Cause.failureOption(exit.cause))).toBe(error)
      expect(s.calls).toBe(2)
    }))

  it.effect("factor affects exponential backoff", () =>
    Effect.gen(function*() {
      const c = capture()
      yield* advance(Retry.retry(Effect.fail(new Error("test")), {
        schedule: schedule({ retries: 3, factor: 2, minTimeout: 100, maxTimeout: Infinity, randomize: false }),
        onAttempt: c.onAttempt
      }))
      expect(c.delays).toEqual([100, 200, 400])
    }))

  it.effect("timeouts are incremental with factor", () =>
    Effect.gen(function*() {
      // a factor below 1 shrinks p-retry's delays (100, 50, 25); `Backoff.exponential` refuses it (a backoff that
      // shrinks is rarely meant), and `Backoff.fromDelay` draws that shape when it is
      expect(() => schedule({ retries: 3, factor: 0.5, minTimeout: 100 })).toThrow(/factor/)
      const c = capture()
      yield* advance(Retry.retry(Effect.fail(new Error("test")), {
        schedule: Backoff.bounded(Backoff.fromDelay((n) => 100 * 0.5 ** (n - 1)), { maxAttempts: 4 }),
        onAttempt: c.onAttempt
      }))
      expect(c.delays).toEqual([100, 50, 25])
    }))

  it.effect("minTimeout is respected even with small factor", () =>
    Effect.gen(function*() {
      expect(() => schedule({ retries: 2, factor: 0.1, minTimeout: 100 })).toThrow(/factor/)
      const c = capture()
      yield* advance(Retry.retry(Effect.fail(new Error("test")), {
        schedule: Backoff.bounded(Backoff.fromDelay((n) => 100 * 0.1 ** (n - 1)), { maxAttempts: 3 }),
        onAttempt: c.onAttempt
      }))
      expect(c.delays).toEqual([100, 10])
    }))

  it.effect("maxTimeout caps retry delays", () =>
    Effect.gen(function*() {
      const c = capture()
      yield* advance(Retry.retry(Effect.fail(new Error("test")), {
        schedule: schedule({ retries: 3, minTimeout: 100, factor: 3, maxTimeout: 150, randomize: false }),
        onAttempt: c.onAttempt
      }))
      expect(c.delays).toEqual([100, 150, 150])
    }))

  it.effect("maxTimeout lower than minTimeout caps delay", () =>
    Effect.gen(function*() {
      const c = capture()
      const s = failing(new Error("fail"))
      yield* advance(Retry.retry(s.call, {
        schedule: schedule({ retries: 1, minTimeout: 200, maxTimeout: 50, factor: 1 }),
        onAttempt: c.onAttempt
      }))
      expect(c.delays).toEqual([50])
      expect(s.calls).toBe(2)
    }))

  it.effect("randomize affects retry delays", () =>
    Effect.gen(function*() {
      // p-retry draws each delay in [t, 2t); Sturdy's full jitter draws it in [1 ms, t]: random, never above the
      // envelope
      const c = capture()
      yield* advance(Retry.retry(Effect.fail(new Error("test")), {
        schedule: schedule({ retries: 8, minTimeout: 100, factor: 1, randomize: true }),
        onAttempt: c.onAttempt
      }))
      expect(c.delays.length).toBe(8)
      for (const d of c.delays) {
        expect(d).toBeGreaterThanOrEqual(1)
        expect(d).toBeLessThanOrEqual(100)
        expect(Number.isInteger(d)).toBe(true)
      }
      expect(new Set(c.delays).size).toBeGreaterThan(1)
    }))

  it.effect("maxRetryTime limits total retry duration", () =>
    Effect.gen(function*() {
      // attempts of 400 ms, 100 ms then 200 ms apart: the third fails at 1500 ms, and a retry at 1900 ms would start
      // 1500 ms after the first failure, past maxElapsed. Done in less than maxRetryTime + 1 s, as in p-retry
      const start = yield* Clock.currentTimeMillis
      const ends: Array<number> = []
      const exit = yield* advance(Retry.retry(
        Effect.zipRight(
          Effect.sleep("400 millis"),
          Effect.flatMap(Clock.currentTimeMillis, (now) => (ends.push(now - start), Effect.fail(new Error("test"))))
        ),
        { schedule: schedule({ retries: 10, minTimeout: 100, maxRetryTime: 1000 }) }
      ))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(ends).toEqual([400, 900, 1500])
      expect(ends[ends.length - 1]).toBeLessThan(1000 + 1000)
    }))

  it.effect("onFailedAttempt time counts toward maxRetryTime", () =>
    Effect.gen(function*() {
      // p-retry runs the hook before deciding, so its 300 ms already exceed maxRetryTime (200 ms): one attempt.
      // Sturdy's hook reports a decision already made (a retry at once, within 200 ms of the first failure); its
      // time counts toward the next decision, which stops: two attempts, then the original failure
      let attempts = 0
      const exit = yield* advance(Retry.retry(
        Effect.suspend(() => {
          attempts++
          return Effect.fail(new Error("fail"))
        }),
        {
          schedule: schedule({ maxRetryTime: 200, minTimeout: 0 }),
          onAttempt: (a) => a.retrying ? Effect.sleep("300 millis") : Effect.void
        }
      ))
      expect(Exit.isFailure(exit) && Option.getOrThrow(Cause.failureOption(exit.cause))).toEqual(new Error("fail"))
      expect(attempts).toBe(2)
    }))

  it.effect("signal abort during delay cancels promptly", () =>
    Effect.gen(function*() {
      // interrupted 50 ms into a 500 ms wait: the call ends at once, and no attempt follows
      const s = failing(new Error("retry"))
      const fiber = yield* Effect.fork(Retry.retry(s.call, { schedule: schedule({ retries: 5, minTimeout: 500 }) }))
      yield* TestClock.adjust("50 millis")
      expect(Exit.isInterrupted(yield* Fiber.interrupt(fiber))).toBe(true)
      yield* TestClock.adjust("10 seconds")
      expect(s.calls).toBe(1)
    }))

  it("throws on negative retry count", () => {
    // `retries: -1` is `maxAttempts: 0`: refused when the schedule is built
    expect(() => schedule({ retries: -1 })).toThrow(RangeError)
    expect(() => Backoff.bounded(Backoff.fromDelay(() => 0), { maxAttempts: 0 })).toThrow(RangeError)
  })

  it("throws on non-number retries", () => {
    expect(() => Backoff.exponential({ maxAttempts: "3" as unknown as number })).toThrow(/maxAttempts/)
    expect(() => Backoff.bounded(Backoff.fromDelay(() => 0), { maxAttempts: "3" as unknown as number })).toThrow(
      /maxAttempts/
    )
  })

  it("throws on NaN retries", () => {
    expect(() => Backoff.exponential({ maxAttempts: NaN })).toThrow(/maxAttempts/)
    expect(() => Backoff.bounded(Backoff.fromDelay(() => 0), { maxAttempts: NaN })).toThrow(/maxAttempts/)
  })

  it.effect("handles zero retries", () =>
    Effect.gen(function*() {
      const s = failing(new Error("test"))
      yield* advance(Retry.retry(s.call, { schedule: schedule({ retries: 0 }) }))
      expect(s.calls).toBe(1)
    }))

  it.effect("onFailedAttempt still called when retries is zero", () =>
    Effect.gen(function*() {
      const reported: Array<[Retry.Reason, boolean]> = []
      yield* advance(Retry.retry(Effect.fail(new Error("fail")), {
        schedule: schedule({ retries: 0 }),
        onAttempt: (a) => Effect.sync(() => reported.push([a.reason, a.retrying]))
      }))
      expect(reported).toEqual([["exhausted", false]])
    }))

  it("invalid numeric options throw", () => {
    expect(() => schedule({ factor: -1 })).toThrow(/factor/)
    expect(() => schedule({ minTimeout: -1 })).toThrow(/baseDelay/)
    expect(() => schedule({ maxTimeout: -1 })).toThrow(/maxDelay/)
    expect(() => schedule({ maxRetryTime: -1 })).toThrow(/maxElapsed/)
    expect(() => schedule({ factor: NaN })).toThrow(/factor/)
    expect(() => schedule({ minTimeout: NaN })).toThrow(/baseDelay/)
  })

  it("factor <= 0 is treated as 1 (stable delays)", () => {
    // p-retry reads a factor ≤ 0 as 1; Sturdy refuses it when the schedule is built (`factor: 1` is the stable one)
    expect(() => schedule({ retries: 1, minTimeout: 100, factor: 0 })).toThrow(/factor/)
  })

  it.effect("handles zero maxRetryTime", () =>
    Effect.gen(function*() {
      const s = failing(new Error("test"))
      yield* advance(Retry.retry(s.call, { schedule: schedule({ maxRetryTime: 0 }) }))
      expect(s.calls).toBe(1)
    }))

  it.effect("handles invalid factor values", () =>
    Effect.gen(function*() {
      // `factor: 0`: refused (see above); the stable delays p-retry then uses are `factor: 1`
      expect(() => schedule({ retries: 2, factor: 0, minTimeout: 100 })).toThrow(/factor/)
      const c = capture()
      yield* advance(Retry.retry(Effect.fail(new Error("test")), {
        schedule: schedule({ retries: 2, factor: 1, minTimeout: 100 }),
        onAttempt: c.onAttempt
      }))
      expect(c.delays).toEqual([100, 100])
    }))

  it.effect("handles synchronous input function", () =>
    Effect.gen(function*() {
      let attempts = 0
      const exit = yield* advance(Retry.retry(
        Effect.suspend(() => {
          attempts++
          return Effect.fail(new Error("test"))
        }),
        { schedule: schedule({ retries: 2, minTimeout: 0 }) }
      ))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(attempts).toBe(3)
    }))

  it.effect("aborts retries if input function returns null", () =>
    Effect.gen(function*() {
      let attempts = 0
      const exit = yield* advance(Retry.retry(
        Effect.sync(() => {
          attempts++
          return null
        }),
        { schedule: schedule({ retries: 2 }) }
      ))
      expect(exit).toEqual(Exit.succeed(null))
      expect(attempts).toBe(1)
    }))

  it.effect("handles non-Error rejection values", () =>
    Effect.gen(function*() {
      // retried, then returned as is (p-retry: a TypeError "Non-error was thrown", unretried)
      const s = failing("string rejection")
      const exit = yield* advance(Retry.retry(s.call, { schedule: schedule({ retries: 1, minTimeout: 0 }) }))
      expect(exit).toEqual(Exit.fail("string rejection"))
      expect(s.calls).toBe(2)
    }))

  it.effect("throws error from shouldRetry", () =>
    Effect.gen(function*() {
      // a `while` that throws ends the call with that defect
      const thrown = new Error("shouldRetry failure")
      const s = failing(new Error("operation failed"))
      const exit = yield* advance(Retry.retry(s.call, {
        schedule: schedule(),
        while: () => {
          throw thrown
        }
      }))
      expect(Exit.isFailure(exit) && Cause.dieOption(exit.cause)).toEqual(Option.some(thrown))
      expect(s.calls).toBe(1)
    }))
})

describe("async-retry test/index.js", () => {
  // async-retry's defaults (node-retry's): 10 retries, factor 2, 1 s, randomized
  const asyncRetry = (retries = 10) =>
    Backoff.exponential({ maxAttempts: retries + 1, baseDelay: "1 second", maxDelay: Infinity, jitter: "full" })

  it.effect("return value", () =>
    Effect.gen(function*() {
      let num = 0
      const exit = yield* advance(Retry.retry(
        Effect.suspend(() => {
          num++
          return num < 2
            ? Effect.fail(new Error("woot"))
            : Effect.as(Effect.sleep("50 millis"), `woot ${num}`)
        }),
        { schedule: asyncRetry() }
      ))
      expect(exit).toEqual(Exit.succeed("woot 2"))
    }))

  it.effect("return value no await", () =>
    Effect.gen(function*() {
      const exit = yield* advance(Retry.retry(Effect.succeed(1), { schedule: asyncRetry() }))
      expect(exit).toEqual(Exit.succeed(1))
    }))

  it.effect("bail", () =>
    Effect.gen(function*() {
      // bail(err) at attempt 2: that failure is not retried, and is the one returned
      class Bail extends Error {}
      let num = 0
      const exit = yield* advance(Retry.retry(
        Effect.suspend(() => {
          num++
          return Effect.fail(num === 2 ? new Bail("Wont retry") : new Error(`Test ${num}`))
        }),
        { schedule: asyncRetry(3), while: (e) => !(e instanceof Bail) }
      ))
      expect(Exit.isFailure(exit) && Option.getOrThrow(Cause.failureOption(exit.cause)).message).toBe("Wont retry")
      expect(num).toBe(2)
    }))

  it.effect("bail + return", () =>
    Effect.gen(function*() {
      class Bail extends Error {}
      const exit = yield* advance(Retry.retry(
        Effect.zipRight(Effect.sleep("400 millis"), Effect.fail(new Bail("woot"))),
        { schedule: asyncRetry(), while: (e) => !(e instanceof Bail) }
      ))
      expect(Exit.isFailure(exit) && Option.getOrThrow(Cause.failureOption(exit.cause)).message).toBe("woot")
    }))

  it.effect("bail error", () =>
    Effect.gen(function*() {
      let retries = 0
      const exit = yield* advance(Retry.retry(
        Effect.suspend(() => {
          retries++
          return Effect.zipRight(Effect.sleep("100 millis"), Effect.fail({ message: "Wont retry", bail: true }))
        }),
        { schedule: asyncRetry(3), while: (e) => !e.bail }
      ))
      expect(Exit.isFailure(exit) && Option.getOrThrow(Cause.failureOption(exit.cause)).message).toBe("Wont retry")
      expect(retries).toBe(1)
    }))

  it.effect("with non-async functions", () =>
    Effect.gen(function*() {
      // the last failure is returned: attempt 3 of retries 2
      let num = 0
      const exit = yield* advance(Retry.retry(
        Effect.suspend(() => Effect.fail(new Error(`Test ${++num}`))),
        { schedule: asyncRetry(2) }
      ))
      expect(Exit.isFailure(exit) && Option.getOrThrow(Cause.failureOption(exit.cause)).message).toBe("Test 3")
    }))

  it.effect("return non-async", () =>
    Effect.gen(function*() {
      expect(yield* advance(Retry.retry(Effect.sync(() => 5), { schedule: asyncRetry() }))).toEqual(Exit.succeed(5))
    }))

  it.effect("with number of retries", () =>
    Effect.gen(function*() {
      // onRetry(err, i) after each failed attempt that is retried: i = 1, 2 for retries 2
      const seen: Array<number> = []
      const s = failing(new Error("getaddrinfo ENOTFOUND"))
      const exit = yield* advance(Retry.retry(s.call, {
        schedule: asyncRetry(2),
        onAttempt: (a) => a.retrying ? Effect.sync(() => seen.push(a.attempt - 1)) : Effect.void
      }))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(seen).toEqual([1, 2])
      expect(s.calls).toBe(3)
    }))
})
