// Ported from Deno's standard library (denoland/std, commit ca58f9427152c946ce1c1bc287d290efde1fbab7,
// async/retry_test.ts; the function: async/retry.ts, same commit), one `it` per `Deno.test`, named after it, against
// `@sturdy/policy`'s `Retry.retry` and `Backoff`, every wait on the TestClock (Deno's `FakeTime`).
//
// Mapping (`deno` below): `retry(fn, options)` is `Retry.retry(effect, { schedule, while })` with the schedule
// `Backoff.exponential({ baseDelay: minTimeout, factor: multiplier, maxDelay: maxTimeout, maxAttempts, jitter })`
// and Deno's defaults (1 s, × 2, 60 s, 5 attempts, full jitter); `jitter: 0` is `jitter: "none"` and `jitter: 1`
// (the default) `"full"`, the same draw in [0, t]; `isRetriable` is `while`; a function that throws is an effect that
// fails (a typed failure: a thrown exception is a defect in Effect, never retried); `RetryError` (the attempts
// exhausted, the last error as `cause`) is the last failure itself, as Sturdy returns it, with `finalFailure` and
// `onAttempt` showing the attempts made and why retrying stopped; an `AbortSignal` is fiber interruption. Deno's
// option checks (`RangeError` at the call) are `Backoff.exponential`'s (`RangeError` when the schedule is built).
//
// Deliberate differences (each test says which): Deno refuses `minTimeout > maxTimeout`, Sturdy caps every delay at
// `maxDelay`, the first included; Deno's `jitter` is a number in [0, 1] scaling the random part, Sturdy's a mode
// (`"none"`, `"full"`, `"equal"`, `"decorrelated"`), so any number is refused as an unknown mode; Deno's `maxTimeout`
// must be above 0, Sturdy's `maxDelay: 0` means no wait; a failure that ran out of attempts is not wrapped (no
// `RetryError`): the caller matches on its own failure type, and `Retry.Attempt`'s reason `"exhausted"` tells why.
//
// Not ported: "retry() throws AbortError when signal is aborted without reason" (a `DOMException` for an
// `AbortSignal` without a reason: an interrupted fiber has no reason to carry).
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
import { advanceToDone } from "./utils/advance.js"

interface DenoRetryOptions {
  readonly multiplier?: number
  readonly maxTimeout?: number
  readonly maxAttempts?: number
  readonly minTimeout?: number
  readonly jitter?: 0 | 1
}

/** Deno's options (its defaults where unset) as a Sturdy schedule */
const deno = (options: DenoRetryOptions = {}) =>
  Backoff.exponential({
    baseDelay: options.minTimeout ?? 1000,
    factor: options.multiplier ?? 2,
    maxDelay: options.maxTimeout ?? 60_000,
    maxAttempts: options.maxAttempts ?? 5,
    jitter: options.jitter === 0 ? "none" : "full"
  })

/** `generateErroringFunction(n)`: fails n times ("Only errored k times"), then succeeds with n */
const erroring = (errorsBeforeSucceeds: number) => {
  let errorCount = 0
  return Effect.suspend(() => {
    if (errorCount >= errorsBeforeSucceeds) return Effect.succeed(errorCount)
    errorCount++
    return Effect.fail(`Only errored ${errorCount} times`)
  })
}

const failureOf = <A, E>(exit: Exit.Exit<A, E>) =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined

/** the decisions of a call: (attempt, reason) */
const decisions = () => {
  const seen: Array<Retry.Attempt<unknown>> = []
  return { seen, onAttempt: (a: Retry.Attempt<unknown>) => Effect.sync(() => void seen.push(a)) }
}

class HttpError extends Error {
  constructor(readonly status: number) {
    super()
  }
}

describe("deno std async/retry_test.ts", () => {
  it.effect("retry()", () =>
    Effect.gen(function*() {
      const exit = yield* advanceToDone(Retry.retry(erroring(3), { schedule: deno({ minTimeout: 1 }) }))
      expect(exit).toEqual(Exit.succeed(3))
    }))

  it.effect("retry() works with async functions", () =>
    Effect.gen(function*() {
      let attempts = 0
      const asyncCall = Effect.promise(() => Promise.resolve()).pipe(
        Effect.zipRight(Effect.suspend(() => {
          attempts++
          return attempts < 3 ? Effect.fail(new Error("Not yet")) : Effect.succeed("async success")
        }))
      )
      const exit = yield* advanceToDone(Retry.retry(asyncCall, { schedule: deno({ minTimeout: 1 }) }))
      expect(exit).toEqual(Exit.succeed("async success"))
      expect(attempts).toBe(3)
    }))

  it.effect("retry() returns immediately on first success", () =>
    Effect.gen(function*() {
      const startTime = yield* Clock.currentTimeMillis
      const result = yield* Retry.retry(Effect.succeed("immediate"), { schedule: deno() })
      expect(result).toBe("immediate")
      // no time passed, and nothing was left sleeping
      expect(yield* Clock.currentTimeMillis).toBe(startTime)
      expect(yield* TestClock.sleeps()).toHaveLength(0)
    }))

  it.effect("retry() fails after five errors by default", () =>
    Effect.gen(function*() {
      const exit = yield* advanceToDone(Retry.retry(erroring(5), { schedule: deno({ minTimeout: 1 }) }))
      expect(failureOf(exit)).toBe("Only errored 5 times")
    }))

  it.effect("retry() fails after five errors when undefined is passed", () =>
    Effect.gen(function*() {
      // maxAttempts: undefined is the default: Deno's 5 through the mapping, and Backoff's own (3) when given straight
      const exit = yield* advanceToDone(Retry.retry(erroring(5), {
        schedule: Backoff.exponential({
          baseDelay: 1,
          maxAttempts: undefined,
          jitter: "none"
        })
      }))
      expect(failureOf(exit)).toBe(`Only errored ${Backoff.defaults.maxAttempts} times`)
      const mapped = yield* advanceToDone(Retry.retry(erroring(5), { schedule: deno({ minTimeout: 1 }) }))
      expect(failureOf(mapped)).toBe("Only errored 5 times")
    }))

  it.effect("retry() throws RetryError with last error as cause", () =>
    Effect.gen(function*() {
      // Deno wraps the last error in a RetryError ("Retrying exceeded the maxAttempts (1)."); Sturdy returns it as it
      // is, and says why retrying stopped and after how many attempts
      const specificError = new Error("Specific failure")
      const d = decisions()
      let attemptsMade = 0
      const exit = yield* advanceToDone(Retry.retry(Effect.fail(specificError), {
        schedule: deno({ maxAttempts: 1 }),
        onAttempt: d.onAttempt,
        finalFailure: (e, attempts) => {
          attemptsMade = attempts
          return e
        }
      }))
      expect(failureOf(exit)).toBe(specificError)
      expect(attemptsMade).toBe(1)
      expect(d.seen.map((a) => [a.retrying, a.reason])).toEqual([[false, "exhausted"]])
    }))

  it.effect("retry() waits four times by default", () =>
    Effect.gen(function*() {
      let callCount = 0
      const onlyErrors = Effect.suspend(() => {
        callCount++
        return Effect.fail(new Error("Failure"))
      })
      // the call count at each wait (Deno's `time.next()`), then at the end
      const callCounts: Array<number> = []
      const exit = yield* advanceToDone(Retry.retry(onlyErrors, { schedule: deno() }), 10_000, (ahead) => {
        if (ahead.length > 0) callCounts.push(callCount)
      })
      callCounts.push(callCount)
      expect(Exit.isFailure(exit)).toBe(true)
      expect(callCounts).toEqual([1, 2, 3, 4, 5])
    }))

  it("retry() throws if minTimeout is greater than maxTimeout", () => {
    // Deno refuses minTimeout 1000 with maxTimeout 100; Sturdy's maxDelay caps every delay, the first included
    const out = Backoff.envelope({ baseDelay: 1000, maxDelay: 100, jitter: "none" }, 0)
    expect(Duration.toMillis(out.upper)).toBe(100)
    expect(() => deno({ minTimeout: 1000, maxTimeout: 100 })).not.toThrow()
  })

  it("retry() throws if maxTimeout is less than or equal to 0", () => {
    expect(() => deno({ maxTimeout: -1 })).toThrow(RangeError)
    expect(() => deno({ maxTimeout: -1 })).toThrow(/maxDelay/)
    // Deno refuses 0 too; Sturdy's maxDelay: 0 is no wait (with baseDelay 0)
    expect(() => deno({ minTimeout: 0, maxTimeout: 0 })).not.toThrow()
  })

  it("retry() throws if jitter is greater than 1", () => {
    // a number is not one of Sturdy's jitter modes
    expect(() => Backoff.exponential({ jitter: 2 as unknown as Backoff.Jitter })).toThrow(RangeError)
    expect(() => Backoff.exponential({ jitter: 2 as unknown as Backoff.Jitter })).toThrow(/jitter must be one of/)
  })

  it("retry() throws if maxAttempts is 0", () => {
    expect(() => deno({ maxAttempts: 0 })).toThrow(RangeError)
    expect(() => deno({ maxAttempts: 0 })).toThrow(/maxAttempts/)
  })

  it("retry() throws if maxAttempts is not an integer", () => {
    expect(() => deno({ maxAttempts: 2.5 })).toThrow(RangeError)
    expect(() => deno({ maxAttempts: 2.5 })).toThrow(/maxAttempts/)
  })

  it.effect("retry() respects custom maxAttempts", () =>
    Effect.gen(function*() {
      let attempts = 0
      const d = decisions()
      const exit = yield* advanceToDone(Retry.retry(
        Effect.suspend(() => {
          attempts++
          return Effect.fail(new Error())
        }),
        { schedule: deno({ maxAttempts: 3, minTimeout: 1 }), onAttempt: d.onAttempt }
      ))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(attempts).toBe(3)
      // "Retrying exceeded the maxAttempts (3).": the last decision, about a fourth attempt, is "exhausted"
      expect(d.seen.map((a) => [a.attempt, a.reason])).toEqual([[2, "backoff"], [3, "backoff"], [4, "exhausted"]])
    }))

  it("retry() throws if multiplier is less than 1", () => {
    expect(() => deno({ multiplier: 0.5 })).toThrow(RangeError)
    expect(() => deno({ multiplier: 0.5 })).toThrow(/factor/)
  })

  it("retry() throws if multiplier is NaN", () => {
    expect(() => deno({ multiplier: NaN })).toThrow(RangeError)
    expect(() => deno({ multiplier: NaN })).toThrow(/factor/)
  })

  it("retry() throws if multiplier is Infinity", () => {
    expect(() => deno({ multiplier: Infinity })).toThrow(RangeError)
    expect(() => deno({ multiplier: Infinity })).toThrow(/factor/)
  })

  it("retry() throws if minTimeout is negative", () => {
    expect(() => deno({ minTimeout: -100 })).toThrow(RangeError)
    expect(() => deno({ minTimeout: -100 })).toThrow(/baseDelay/)
  })

  it("retry() throws if minTimeout is NaN", () => {
    expect(() => deno({ minTimeout: NaN })).toThrow(RangeError)
    expect(() => deno({ minTimeout: NaN })).toThrow(/baseDelay/)
  })

  it("retry() throws if jitter is negative", () => {
    expect(() => Backoff.exponential({ jitter: -0.5 as unknown as Backoff.Jitter })).toThrow(RangeError)
    expect(() => Backoff.exponential({ jitter: -0.5 as unknown as Backoff.Jitter })).toThrow(/jitter must be one of/)
  })

  it("retry() throws if jitter is NaN", () => {
    expect(() => Backoff.exponential({ jitter: NaN as unknown as Backoff.Jitter })).toThrow(RangeError)
    expect(() => Backoff.exponential({ jitter: NaN as unknown as Backoff.Jitter })).toThrow(/jitter must be one of/)
  })

  it("retry() throws if maxTimeout is NaN", () => {
    expect(() => deno({ maxTimeout: NaN })).toThrow(RangeError)
    expect(() => deno({ maxTimeout: NaN })).toThrow(/maxDelay/)
  })

  it.effect("retry() checks backoff function timings", () =>
    Effect.gen(function*() {
      // step "wait fixed times without jitter": 1, 2, 4, 8 s, so the attempts at 0, 1, 3, 7 and 15 s, then the end
      const startTime = yield* Clock.currentTimeMillis
      const at: Array<number> = []
      const exit = yield* advanceToDone(Retry.retry(
        Effect.suspend(() =>
          Effect.zipRight(
            Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => at.push(now - startTime))),
            Effect.fail(new Error("Failure"))
          )
        ),
        { schedule: deno({ jitter: 0 }) }
      ))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(at).toEqual([0, 1000, 3000, 7000, 15000])
      expect((yield* Clock.currentTimeMillis) - startTime).toBe(15000)
    }))

  it.effect("retry() caps backoff at maxTimeout", () =>
    Effect.gen(function*() {
      const startTime = yield* Clock.currentTimeMillis
      const at: Array<number> = []
      const exit = yield* advanceToDone(Retry.retry(
        Effect.zipRight(
          Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => at.push(now - startTime))),
          Effect.fail(new Error())
        ),
        { schedule: deno({ minTimeout: 1000, maxTimeout: 1500, multiplier: 2, jitter: 0 }) }
      ))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(at).toEqual([0, 1000, 2500, 4000, 5500])
    }))

  it.effect("retry() only retries errors that are retriable with `isRetriable` option", () =>
    Effect.gen(function*() {
      const isRetriable = (err: unknown) => err instanceof HttpError && (err.status === 429 || err.status >= 500)
      const options = { schedule: deno({ minTimeout: 1 }), while: isRetriable }

      let numCalls = 0
      const exit400 = yield* advanceToDone(Retry.retry(
        Effect.suspend(() => (numCalls++, Effect.fail(new HttpError(400)))),
        options
      ))
      expect(failureOf(exit400)).toMatchObject({ status: 400 })
      expect(numCalls).toBe(1)

      numCalls = 0
      const d = decisions()
      const exit500 = yield* advanceToDone(Retry.retry(
        Effect.suspend(() => (numCalls++, Effect.fail(new HttpError(500)))),
        { ...options, onAttempt: d.onAttempt }
      ))
      // Deno's RetryError: the attempts ran out
      expect(failureOf(exit500)).toMatchObject({ status: 500 })
      expect(d.seen.at(-1)?.reason).toBe("exhausted")
      expect(numCalls).toBe(5)

      numCalls = 0
      const exitMixed = yield* advanceToDone(Retry.retry(
        Effect.suspend(() => Effect.fail(new HttpError(++numCalls === 3 ? 400 : 500))),
        options
      ))
      expect(failureOf(exitMixed)).toMatchObject({ status: 400 })
      expect(numCalls).toBe(3)
    }))

  it.effect("retry() aborts during delay when signal is aborted", () =>
    Effect.gen(function*() {
      let attempts = 0
      const fiber = yield* Effect.fork(Retry.retry(
        Effect.suspend(() => {
          attempts++
          return Effect.fail(new Error("fail"))
        }),
        { schedule: deno({ jitter: 0 }) }
      ))
      // the first delay (1 s) passes, the second attempt fails, the second delay starts: abort (interrupt) then
      yield* TestClock.adjust("1 second")
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(attempts).toBe(2)
      // nothing runs after the interruption
      yield* TestClock.adjust("1 minute")
      expect(attempts).toBe(2)
    }))

  it.effect("retry() throws immediately if signal is already aborted", () =>
    Effect.gen(function*() {
      let called = false
      const call = Retry.retry(Effect.sync(() => (called = true, "ok")), { schedule: deno() })
      // a fiber interrupted before it starts runs nothing
      const fiber = yield* Effect.fork(call)
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(called).toBe(false)
    }))
})
