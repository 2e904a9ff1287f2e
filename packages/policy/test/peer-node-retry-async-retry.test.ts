// Ported from node-retry's `test/integration/test-timeouts.js`, `test-retry-operation.js` and `test-forever.js`
// (tim-kos/node-retry, commit 11efd6e4e896e06b7873df4f6e187c1e6dd2cf1b; that commit has no `test/unit`) and from
// promise-retry's `test/test.js` (IndigoUnited/node-promise-retry, commit 7fb08491112cffe5a0dd11805eff20ca6b6133ac),
// one `it` per peer case, named after it, against `@sturdy/policy`'s `Retry.retry` and `Backoff`, every wait on the
// TestClock. async-retry's `test/index.js` (vercel/async-retry, commit 9505be1f829ea297e7aff6c731ca3d5bd7052ed7: return
// value, bail, bail + return, bail error, with non-async functions, with number of retries) is already ported, case by
// case, in `peer-p-retry.test.ts` ("async-retry test/index.js"): not repeated here.
//
// Option mapping: node-retry's `retries: n` is `maxAttempts: n + 1` (default 10 retries: 11 attempts); `minTimeout` is
// `baseDelay` (default 1 s), `factor` is `factor` (default 2), `maxTimeout` is `maxDelay` (default none: `Infinity`),
// `randomize: false` (the default) is `jitter: "none"`, `maxRetryTime` is `maxElapsed`, `forever` is `maxAttempts:
// Infinity`; `retry.timeouts(options)` is the delays the schedule chooses (stepped with `stepDelays`), and
// `retry.operation([t1, t2, ...])` (explicit timeouts) is `Backoff.bounded(Backoff.fromDelay((n) => timeouts[n - 1]),
// { maxAttempts: timeouts.length + 1 })`; `operation.attempt(fn)` is `Retry.retry(effect)`, `operation.retry(err)`
// returning true is a failure that is retried, `currentAttempt` is the attempt `while` is told about (1 for the
// first), `operation.stop()` is `while` refusing, and `mainError()` is the failure the call ends with. promise-retry's
// `retry(err)` (only a failure passed to it is retried, and it comes back unwrapped) is a marker that `while` accepts
// and `finalFailure` unwraps.
//
// Deliberate differences (each test says which): node-retry's `randomize` multiplies a timeout by [1, 2) and then sorts
// the timeouts ascending; Sturdy's jitter draws within [1 ms, t] and the delays keep the order of the retries. A
// `factor` below 1 gives node-retry shrinking timeouts, which it sorts back ascending; `Backoff.exponential` refuses it
// (`Backoff.fromDelay` draws any shape). `forever` repeats node-retry's last timeout; Sturdy's backoff goes on growing up
// to `maxDelay` (the same when `minTimeout` = `maxTimeout`). `mainError()` is the most frequent error (by message, the
// last on equal counts); Sturdy returns the last failure. `maxRetryTime` counts from the first attempt; Sturdy's
// `maxElapsed` counts from the first failure (`Deadline.withDeadline` is the bound from the start).
//
// Not ported: node-retry's `testErrors` and `testAttempt` (they read and write the operation's private `_errors`,
// `_fn`, `_operationTimeout`); `test-retry-wrap.js` (`retry.wrap` patches an object's callback-style methods: Sturdy
// retries an Effect, not a method); the `unref` option (no test of it in node-retry; a Node timer detail). promise-
// retry's "should work with several retries in the same chain" (a retry error passed to `retry` again is unwrapped:
// Promise-chain mechanics of its marker) and "should allow options to be passed first" (argument order).
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Retry from "@sturdy/policy/Retry"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { advance, advanceToDone } from "./utils/advance.js"
import { stepDelays } from "./utils/stepDelays.js"

interface NodeRetryOptions {
  readonly retries?: number
  readonly factor?: number
  readonly minTimeout?: number
  readonly maxTimeout?: number
  readonly randomize?: boolean
  readonly forever?: boolean
  readonly maxRetryTime?: number
}

/** node-retry's options as a Sturdy schedule: `retries` 10, `factor` 2, `minTimeout` 1 s, `maxTimeout` none */
const schedule = (o: NodeRetryOptions = {}) =>
  Backoff.exponential({
    maxAttempts: o.forever ? Infinity : (o.retries ?? 10) + 1,
    factor: o.factor ?? 2,
    baseDelay: o.minTimeout ?? 1000,
    maxDelay: o.maxTimeout ?? Infinity,
    jitter: o.randomize ? "full" : "none",
    maxElapsed: o.maxRetryTime ?? Infinity
  })

/** `retry.operation([t1, t2, ...])`: exactly these waits, then no more retries */
const timeoutsSchedule = (timeouts: ReadonlyArray<number>) =>
  Backoff.bounded(Backoff.fromDelay((n) => timeouts[n - 1]!), { maxAttempts: timeouts.length + 1 })

/** `retry.timeouts(options)`: the delays the schedule chooses, stepped far past its end */
const timeouts = (s: ReturnType<typeof schedule>, seed = 0) => stepDelays(s, Array.from({ length: 50 }), 0, seed)

/** the delays of the retries a call made (node-retry's timers) */
const capture = () => {
  const delays: Array<number> = []
  const onAttempt = (a: Retry.Attempt<unknown>) =>
    a.retrying ? Effect.sync(() => delays.push(Duration.toMillis(a.delay))) : Effect.void
  return { delays, onAttempt }
}

describe("node-retry test/integration/test-timeouts.js", () => {
  it("testDefaultValues", () => {
    const t = timeouts(schedule())
    expect(t.length).toBe(10)
    expect(t.slice(0, 3)).toEqual([1000, 2000, 4000])
  })

  it("testDefaultValuesWithRandomize", () => {
    // node-retry draws each timeout in [t, 2t) and sorts them: each above minTimeout, each above the one before.
    // Sturdy's jitter only shortens: each delay in [1 ms, t(n)], t(n) growing; the delays are drawn, not sorted
    const minTimeout = 5000
    const options = { baseDelay: minTimeout, maxDelay: Infinity, jitter: "full", maxAttempts: 11 } as const
    const t = timeouts(schedule({ minTimeout, randomize: true }), 42)
    expect(t.length).toBe(10)
    t.forEach((delay, n) => {
      expect(delay).toBeGreaterThanOrEqual(1)
      expect(delay).toBeLessThanOrEqual(Duration.toMillis(Backoff.envelope(options, n).upper))
    })
    expect(Duration.toMillis(Backoff.envelope(options, 0).upper)).toBe(minTimeout)
    expect(Duration.toMillis(Backoff.envelope(options, 1).upper)).toBeGreaterThan(minTimeout)
    expect(new Set(t).size).toBeGreaterThan(1)
  })

  it.effect("testPassedTimeoutsAreUsed", () =>
    Effect.gen(function*() {
      const timeoutsArray = [1000, 2000, 3000]
      expect(timeouts(timeoutsSchedule(timeoutsArray))).toEqual(timeoutsArray)
      // and an operation on them waits exactly those, then stops
      const c = capture()
      let attempts = 0
      yield* advance(Retry.retry(Effect.suspend(() => (attempts++, Effect.fail(new Error("x")))), {
        schedule: timeoutsSchedule(timeoutsArray),
        onAttempt: c.onAttempt
      }))
      expect(c.delays).toEqual(timeoutsArray)
      expect(attempts).toBe(4)
    }))

  it("testTimeoutsAreWithinBoundaries", () => {
    // (node-retry's loop, `i < timeouts`, compares with the array and never runs; here every delay is checked)
    const t = timeouts(schedule({ minTimeout: 1000, maxTimeout: 10000 }))
    expect(t.length).toBe(10)
    for (const delay of t) {
      expect(delay).toBeGreaterThanOrEqual(1000)
      expect(delay).toBeLessThanOrEqual(10000)
    }
    expect(t).toEqual([1000, 2000, 4000, 8000, 10000, 10000, 10000, 10000, 10000, 10000])
  })

  it("testTimeoutsAreIncremental", () => {
    const t = timeouts(schedule())
    for (let i = 1; i < t.length; i++) expect(t[i]!).toBeGreaterThan(t[i - 1]!)
  })

  it("testTimeoutsAreIncrementalForFactorsLessThanOne", () => {
    // node-retry computes 1000, 500, 250 and sorts them: [250, 500, 1000]. `Backoff.exponential` refuses a factor
    // below 1; `Backoff.fromDelay` draws that ascending sequence when it is wanted
    expect(() => schedule({ retries: 3, factor: 0.5 })).toThrow(/factor/)
    const ascending = Backoff.bounded(Backoff.fromDelay((n) => 1000 * 0.5 ** (3 - n)), { maxAttempts: 4 })
    expect(timeouts(ascending)).toEqual([250, 500, 1000])
  })

  it("testRetries", () => {
    expect(timeouts(schedule({ retries: 2 })).length).toBe(2)
  })
})

describe("node-retry test/integration/test-retry-operation.js", () => {
  it.effect("testReset", () =>
    Effect.gen(function*() {
      // an operation reset and attempted again makes its attempts anew: a retried Effect run twice does the same,
      // each run numbering its attempts from 1
      const error = new Error("some error")
      const told: Array<number> = []
      const operation = Retry.retry(Effect.fail(error), {
        schedule: timeoutsSchedule([1, 2, 3]),
        while: (_, attempt) => (told.push(attempt), true)
      })
      expect(yield* advance(operation)).toEqual(Exit.fail(error))
      expect(yield* advance(operation)).toEqual(Exit.fail(error))
      expect(told).toEqual([1, 2, 3, 4, 1, 2, 3, 4])
    }))

  it.effect("testMainErrorReturnsMostFrequentError", () =>
    Effect.gen(function*() {
      // errors error, error2, error: node-retry's mainError is the most frequent, `error`; Sturdy's is the last,
      // `error` here too (after error, error, error2 node-retry would say `error`, Sturdy `error2`)
      const error = new Error("some error")
      const error2 = new Error("some other error")
      const errors = [error, error2, error]
      let n = 0
      const exit = yield* advance(Retry.retry(Effect.suspend(() => Effect.fail(errors[n++]!)), {
        schedule: timeoutsSchedule([1, 1])
      }))
      expect(n).toBe(3)
      expect(Exit.isFailure(exit) && exit).toEqual(Exit.fail(error))
    }))

  it.effect("testMainErrorReturnsLastErrorOnEqualCount", () =>
    Effect.gen(function*() {
      const error = new Error("some error")
      const error2 = new Error("some other error")
      const errors = [error, error2]
      let n = 0
      const exit = yield* advance(Retry.retry(Effect.suspend(() => Effect.fail(errors[n++]!)), {
        schedule: timeoutsSchedule([1])
      }))
      expect(exit).toEqual(Exit.fail(error2))
    }))

  it.effect("testRetry", () =>
    Effect.gen(function*() {
      const error = new Error("some error")
      let attempts = 0
      const told: Array<number> = []
      const exit = yield* advance(Retry.retry(Effect.suspend(() => (attempts++, Effect.fail(error))), {
        schedule: timeoutsSchedule([1, 2, 3]),
        while: (_, attempt) => (told.push(attempt), true)
      }))
      expect(attempts).toBe(4)
      // currentAttempt equals the attempts made so far
      expect(told).toEqual([1, 2, 3, 4])
      expect(Exit.isFailure(exit) && exit).toEqual(Exit.fail(error))
    }))

  it.effect("testRetryForever", () =>
    Effect.gen(function*() {
      // retries 3, forever: retrying goes on past the 3 retries, until the caller stops at attempt 6
      const error = new Error("some error")
      let attempts = 0
      const exit = yield* advance(Retry.retry(Effect.suspend(() => (attempts++, Effect.fail(error))), {
        schedule: schedule({ retries: 3, forever: true }),
        while: (_, attempt) => attempt !== 6
      }))
      expect(attempts).toBe(6)
      expect(exit).toEqual(Exit.fail(error))
    }))

  it.effect("testRetryForeverNoRetries", () =>
    Effect.gen(function*() {
      // retries null, forever, 50 ms each: 4 attempts end 3 × 50 ms after the start (node-retry allows 20 ms of
      // headroom; on the TestClock it is exact)
      const error = new Error("some error")
      const start = yield* Clock.currentTimeMillis
      let attempts = 0
      let end = 0
      const exit = yield* advanceToDone(Retry.retry(
        Effect.suspend(() => (attempts++, Effect.fail(error))),
        {
          schedule: schedule({ forever: true, minTimeout: 50, maxTimeout: 50 }),
          while: (_, attempt) => attempt !== 4,
          onAttempt: (a) => a.retrying ? Effect.void : Effect.map(Clock.currentTimeMillis, (now) => void (end = now))
        }
      ))
      expect(attempts).toBe(4)
      expect(end - start).toBe(150)
      expect(exit).toEqual(Exit.fail(error))
    }))

  it.effect("testStop", () =>
    Effect.gen(function*() {
      // the operation stopped during attempt 2: no retry after it, and its error is the main error
      const error = new Error("some error")
      let attempts = 0
      let stopped = false
      const exit = yield* advance(Retry.retry(
        Effect.suspend(() => {
          attempts++
          if (attempts === 2) stopped = true
          return Effect.fail(error)
        }),
        { schedule: timeoutsSchedule([1, 2, 3]), while: () => !stopped }
      ))
      expect(attempts).toBe(2)
      expect(exit).toEqual(Exit.fail(error))
    }))

  it.effect("testMaxRetryTime", () =>
    Effect.gen(function*() {
      // minTimeout 1 ms, maxRetryTime 30 ms: attempt 1 fails at once, attempt 2 fails 31 ms after the start; no
      // retry follows, and the error is kept
      const error = new Error("some error")
      const start = yield* Clock.currentTimeMillis
      let attempts = 0
      const exit = yield* advanceToDone(Retry.retry(
        Effect.suspend(() => {
          attempts++
          if (attempts !== 2) return Effect.fail(error)
          return Effect.flatMap(
            Clock.currentTimeMillis,
            (now) => Effect.zipRight(Effect.sleep(30 - (now - start - 1)), Effect.fail(error))
          )
        }),
        { schedule: schedule({ minTimeout: 1, maxRetryTime: 30 }) }
      ))
      expect(attempts).toBe(2)
      expect(exit).toEqual(Exit.fail(error))
    }))

  it.effect("testErrorsPreservedWhenMaxRetryTimeExceeded", () =>
    Effect.gen(function*() {
      // every attempt takes 31 ms. node-retry counts maxRetryTime (30 ms) from the start: one attempt. Sturdy's
      // maxElapsed counts from the first failure (31 ms): a retry at 32 ms is made, the next (at 65 ms, 34 ms after
      // the first failure) is not. Either way the error itself comes back
      const error = new Error("some error")
      let attempts = 0
      const exit = yield* advanceToDone(Retry.retry(
        Effect.suspend(() => (attempts++, Effect.zipRight(Effect.sleep("31 millis"), Effect.fail(error)))),
        { schedule: schedule({ minTimeout: 1, maxRetryTime: 30 }) }
      ))
      expect(attempts).toBe(2)
      expect(exit).toEqual(Exit.fail(error))
    }))
})

describe("node-retry test/integration/test-forever.js", () => {
  it.effect("testForeverUsesFirstTimeout", () =>
    Effect.gen(function*() {
      // retries 0, 100 ms, forever: every retry waits 100 ms until the operation is stopped at attempt 10
      const c = capture()
      let attempts = 0
      yield* advance(Retry.retry(Effect.suspend(() => (attempts++, Effect.fail(new Error("foo")))), {
        schedule: schedule({ retries: 0, minTimeout: 100, maxTimeout: 100, forever: true }),
        while: (_, attempt) => attempt !== 10,
        onAttempt: c.onAttempt
      }))
      expect(attempts).toBe(10)
      expect(c.delays).toEqual(Array.from({ length: 9 }, () => 100))
    }))
})

describe("promise-retry test/test.js", () => {
  /** promise-retry's `retry(err)`: marks a failure to be retried; it comes back unwrapped when retrying ends */
  class RetryError {
    constructor(readonly retried: unknown) {}
  }
  const markRetry = (err?: unknown) => Effect.fail(new RetryError(err))
  const promiseRetry = (o: NodeRetryOptions = {}) => ({
    schedule: schedule(o),
    while: (e: unknown) => e instanceof RetryError,
    finalFailure: (e: unknown) => e instanceof RetryError ? e.retried : e
  })
  /** the failure the call ended with */
  const failureOf = <A>(exit: Exit.Exit<A, unknown>): unknown =>
    Exit.match(exit, {
      onSuccess: () => {
        throw new Error("should not succeed")
      },
      onFailure: (cause) => cause._tag === "Fail" ? cause.error : cause
    })

  it.effect("should call fn again if retry was called", () =>
    Effect.gen(function*() {
      let count = 0
      const exit = yield* advance(Retry.retry(
        Effect.suspend(() => {
          count += 1
          return Effect.zipRight(
            Effect.sleep("10 millis"),
            count <= 2 ? markRetry(new Error("foo")) : Effect.succeed("final")
          )
        }),
        promiseRetry({ factor: 1 })
      ))
      expect(exit).toEqual(Exit.succeed("final"))
      expect(count).toBe(3)
    }))

  it.effect("should call fn with the attempt number", () =>
    Effect.gen(function*() {
      // the attempt's number is told to `while` (1 for the first), equal to the calls made
      let count = 0
      const numbers: Array<[number, number]> = []
      const options = promiseRetry({ factor: 1 })
      const exit = yield* advance(Retry.retry(
        Effect.suspend(() => {
          count += 1
          return Effect.zipRight(
            Effect.sleep("10 millis"),
            count <= 2 ? markRetry(new Error("foo")) : Effect.succeed("final")
          )
        }),
        { ...options, while: (e, attempt) => (numbers.push([count, attempt]), options.while(e)) }
      ))
      expect(exit).toEqual(Exit.succeed("final"))
      expect(numbers).toEqual([[1, 1], [2, 2]])
    }))

  it.effect("should not retry on fulfillment if retry was not called", () =>
    Effect.gen(function*() {
      let count = 0
      const exit = yield* advance(Retry.retry(
        Effect.suspend(() => (count += 1, Effect.as(Effect.sleep("10 millis"), "final"))),
        promiseRetry()
      ))
      expect(exit).toEqual(Exit.succeed("final"))
      expect(count).toBe(1)
    }))

  it.effect("should not retry on rejection if retry was not called", () =>
    Effect.gen(function*() {
      let count = 0
      const exit = yield* advance(Retry.retry(
        Effect.suspend(() => (count += 1, Effect.zipRight(Effect.sleep("10 millis"), Effect.fail(new Error("foo"))))),
        promiseRetry()
      ))
      expect((failureOf(exit) as Error).message).toBe("foo")
      expect(count).toBe(1)
    }))

  it.effect("should not retry on rejection if nr of retries is 0", () =>
    Effect.gen(function*() {
      let count = 0
      const exit = yield* advance(Retry.retry(
        Effect.suspend(() => (count += 1, Effect.zipRight(Effect.sleep("10 millis"), markRetry(new Error("foo"))))),
        promiseRetry({ retries: 0 })
      ))
      expect((failureOf(exit) as Error).message).toBe("foo")
      expect(count).toBe(1)
    }))

  it.effect("should reject the promise if the retries were exceeded", () =>
    Effect.gen(function*() {
      let count = 0
      const exit = yield* advance(Retry.retry(
        Effect.suspend(() => (count += 1, Effect.zipRight(Effect.sleep("10 millis"), markRetry(new Error("foo"))))),
        promiseRetry({ retries: 2, factor: 1 })
      ))
      expect((failureOf(exit) as Error).message).toBe("foo")
      expect(count).toBe(3)
    }))

  it.effect("should pass options to the underlying retry module", () =>
    Effect.gen(function*() {
      // retries 1: the second `retry(foo)` is not honoured, and foo comes back
      let count = 0
      const exit = yield* advance(Retry.retry(
        Effect.zipRight(
          Effect.sleep("10 millis"),
          Effect.suspend(() => count < 2 ? (count += 1, markRetry(new Error("foo"))) : Effect.succeed("final"))
        ),
        promiseRetry({ retries: 1, factor: 1 })
      ))
      expect((failureOf(exit) as Error).message).toBe("foo")
      expect(count).toBe(2)
    }))

  it.effect("should convert direct fulfillments into promises", () =>
    Effect.gen(function*() {
      expect(yield* advance(Retry.retry(Effect.sync(() => "final"), promiseRetry({ factor: 1 }))))
        .toEqual(Exit.succeed("final"))
    }))

  it.effect("should convert direct rejections into promises", () =>
    Effect.gen(function*() {
      // a synchronous throw caught as a typed failure (`Effect.try`); `retry` not called: not retried
      let count = 0
      const exit = yield* advance(Retry.retry(
        Effect.try({
          try: () => {
            count += 1
            throw new Error("foo")
          },
          catch: (e) => e
        }),
        promiseRetry({ retries: 1, factor: 1 })
      ))
      expect((failureOf(exit) as Error).message).toBe("foo")
      expect(count).toBe(1)
    }))

  it.effect("should not crash on undefined rejections", () =>
    Effect.gen(function*() {
      expect(yield* advance(Retry.retry(Effect.fail(undefined), promiseRetry({ retries: 1, factor: 1 }))))
        .toEqual(Exit.fail(undefined))
      // `retry()` with nothing: retried, and `undefined` comes back
      let count = 0
      const exit = yield* advance(Retry.retry(
        Effect.suspend(() => (count += 1, markRetry())),
        promiseRetry({ retries: 1, factor: 1 })
      ))
      expect(exit).toEqual(Exit.fail(undefined))
      expect(count).toBe(2)
    }))

  it.effect("should retry if retry() was called with undefined", () =>
    Effect.gen(function*() {
      let count = 0
      const exit = yield* advance(Retry.retry(
        Effect.suspend(() => {
          count += 1
          return Effect.zipRight(Effect.sleep("10 millis"), count <= 2 ? markRetry() : Effect.succeed("final"))
        }),
        promiseRetry({ factor: 1 })
      ))
      expect(exit).toEqual(Exit.succeed("final"))
      expect(count).toBe(3)
    }))
})
