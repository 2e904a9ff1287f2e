// Ported from exponential-backoff's specs (coveooss/exponential-backoff: `src/backoff.spec.ts`,
// `src/delay/always/always.delay.spec.ts`, `src/jitter/full/full.jitter.spec.ts`, `src/jitter/no/no.jitter.spec.ts`),
// one `it` per case, named after it, against `@sturdy/policy`'s `Retry.retry` and `Backoff`, every wait on the TestClock.
// Option mapping: `numOfAttempts` is `maxAttempts` (both count the first attempt; default 10), `startingDelay` is
// `baseDelay` (default 100 ms), `timeMultiple` is `factor` (default 2), `maxDelay` is `maxDelay` (default none:
// `Infinity`), `jitter: "none"` (the default) / `"full"` are the same modes of `Backoff.exponential`, `retry(e,
// attemptNumber)` is `while(e, attempt)` (both 1-based: the number of the attempt that failed).
// Deliberate differences (each test says which): `numOfAttempts` below 1 is raised to 1 by exponential-backoff; Sturdy
// refuses `maxAttempts: 0` (a RangeError when the schedule is built). `delayFirstAttempt` has no Sturdy option: the
// first attempt is delayed by composing a sleep before the retried effect, and the first retry's wait is then
// `startingDelay × timeMultiple`, as exponential-backoff computes it. Sturdy's full jitter never rounds a delay down to
// zero while its envelope is at least 1 ms (as Polly's jittered delays are positive): still within [0, delay].
// `Backoff.exponential`'s own default jitter is `"full"`, exponential-backoff's `"none"`.
// Not ported: "when the #BackOffOptions.retry function returns a promise, it awaits it" (`while` is synchronous).
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Retry from "@sturdy/policy/Retry"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schedule from "effect/Schedule"
import { advance } from "./utils/advance.js"

const mockSuccessResponse = { success: true }
const mockFailResponse = { success: false }

interface BackoffOptions {
  readonly numOfAttempts?: number
  readonly startingDelay?: number
  readonly timeMultiple?: number
  readonly maxDelay?: number
  readonly jitter?: "none" | "full"
}

/** exponential-backoff's options as a Sturdy schedule (its defaults: 10 attempts, 100 ms, × 2, no cap, no jitter) */
const schedule = (o: BackoffOptions = {}) =>
  Backoff.exponential({
    maxAttempts: o.numOfAttempts ?? 10,
    baseDelay: o.startingDelay ?? 100,
    factor: o.timeMultiple ?? 2,
    maxDelay: o.maxDelay ?? Infinity,
    jitter: o.jitter ?? "none"
  })

/** a request that records when it was called and answers with the next outcome (the last one repeats) */
const request = <A, E>(...outcomes: ReadonlyArray<Exit.Exit<A, E>>) => {
  const calls: Array<number> = []
  const call: Effect.Effect<A, E> = Effect.flatMap(Clock.currentTimeMillis, (now) => {
    calls.push(now)
    return outcomes[Math.min(calls.length - 1, outcomes.length - 1)]!
  })
  return { calls, call }
}

/** the delays a schedule chooses, without sleeping */
const delaysOf = (s: Schedule.Schedule<Duration.Duration>, count: number) =>
  Effect.map(
    Schedule.run(s, 0, Array.from({ length: count }, () => undefined)),
    (out) => Chunk.toReadonlyArray(out).map(Duration.toMillis)
  )

describe("exponential-backoff src/backoff.spec.ts BackOff", () => {
  // the spec's beforeEach: `startingDelay: 0`
  const base = { startingDelay: 0 }

  describe("when request function is a promise that resolves", () => {
    it.effect("returns the resolved value", () =>
      Effect.gen(function*() {
        const r = request(Exit.succeed(mockSuccessResponse))
        expect(yield* advance(Retry.retry(r.call, { schedule: schedule(base) }))).toEqual(
          Exit.succeed(mockSuccessResponse)
        )
      }))

    it.effect("calls the request function only once", () =>
      Effect.gen(function*() {
        const r = request(Exit.succeed(mockSuccessResponse))
        yield* advance(Retry.retry(r.call, { schedule: schedule(base) }))
        expect(r.calls.length).toBe(1)
      }))

    it.effect("when the #backOffOptions.numOfAttempts is 0, it overrides the value and calls the method only once", () =>
      Effect.gen(function*() {
        // exponential-backoff raises 0 to 1; Sturdy refuses 0 when the schedule is built, and 1 is one call
        expect(() => schedule({ ...base, numOfAttempts: 0 })).toThrow(/maxAttempts/)
        const r = request(Exit.succeed(mockSuccessResponse))
        yield* advance(Retry.retry(r.call, { schedule: schedule({ ...base, numOfAttempts: 1 }) }))
        expect(r.calls.length).toBe(1)
      }))
  })

  describe("when the #backOffOptions.startingDelay is 100ms", () => {
    it.effect("does not delay the first attempt", () =>
      Effect.gen(function*() {
        const start = yield* Clock.currentTimeMillis
        const r = request(Exit.succeed(mockSuccessResponse))
        yield* advance(Retry.retry(r.call, { schedule: schedule({ startingDelay: 100 }) }))
        expect(r.calls).toEqual([start])
      }))

    it.effect("when #backOffOptions.delayFirstAttempt is 'true', it delays the first attempt", () =>
      Effect.gen(function*() {
        // no such option: a sleep composed before the retried effect
        const start = yield* Clock.currentTimeMillis
        const r = request(Exit.succeed(mockSuccessResponse))
        yield* advance(
          Effect.zipRight(
            Effect.sleep("100 millis"),
            Retry.retry(r.call, { schedule: schedule({ startingDelay: 100 }) })
          )
        )
        expect(r.calls).toEqual([start + 100])
      }))
  })

  describe("when request function is a promise that is rejected", () => {
    it.effect("returns the rejected value", () =>
      Effect.gen(function*() {
        // the failure comes back as it is, a plain object included
        const r = request(Exit.fail(mockFailResponse))
        const exit = yield* advance(Retry.retry(r.call, { schedule: schedule(base) }))
        expect(exit).toEqual(Exit.fail(mockFailResponse))
        expect(r.calls.length).toBe(10)
      }))

    it.effect("retries the request as many times as specified in #BackOffOptions.numOfAttempts", () =>
      Effect.gen(function*() {
        const r = request(Exit.fail(mockFailResponse))
        yield* advance(Retry.retry(r.call, { schedule: schedule({ ...base, numOfAttempts: 2 }) }))
        expect(r.calls.length).toBe(2)
      }))

    it.effect(
      "when the #BackOffOptions.retry function is set to always return false, it only calls request function one time",
      () =>
        Effect.gen(function*() {
          const r = request(Exit.fail(mockFailResponse))
          yield* advance(Retry.retry(r.call, { schedule: schedule({ ...base, numOfAttempts: 2 }), while: () => false }))
          expect(r.calls.length).toBe(1)
        })
    )

    it.effect("the #BackOffOptions.retry function gets the error and the number of the attempt that failed", () =>
      Effect.gen(function*() {
        // exponential-backoff calls retry(e, attemptNumber) with 1 after the first failure
        const asked: Array<[unknown, number]> = []
        const r = request(Exit.fail(mockFailResponse))
        yield* advance(Retry.retry(r.call, {
          schedule: schedule({ ...base, numOfAttempts: 3 }),
          while: (e, attempt) => (asked.push([e, attempt]), true)
        }))
        // asked after each failure; the third is the last attempt, refused by the attempt limit
        expect(asked).toEqual([[mockFailResponse, 1], [mockFailResponse, 2], [mockFailResponse, 3]])
        expect(r.calls.length).toBe(3)
      }))
  })

  describe("when calling #backOff with a function that throws an error the first time, and succeeds the second time", () => {
    it.effect("returns a successful response", () =>
      Effect.gen(function*() {
        const r = request(Exit.fail(mockFailResponse), Exit.succeed(mockSuccessResponse))
        expect(yield* advance(Retry.retry(r.call, { schedule: schedule(base) }))).toEqual(
          Exit.succeed(mockSuccessResponse)
        )
      }))

    it.effect("calls the request function two times", () =>
      Effect.gen(function*() {
        const r = request(Exit.fail(mockFailResponse), Exit.succeed(mockSuccessResponse))
        yield* advance(Retry.retry(r.call, { schedule: schedule(base) }))
        expect(r.calls.length).toBe(2)
      }))

    it.effect(
      "when setting the #BackOffOption.timeMultiple to a value, when setting the #BackOffOption.delayFirstAttempt to true, it applies a delay between the first and the second call",
      () =>
        Effect.gen(function*() {
          // startingDelay 100, timeMultiple 3, the first attempt delayed: 100 ms, then 300 ms before the second
          const start = yield* Clock.currentTimeMillis
          const r = request(Exit.fail(mockFailResponse), Exit.succeed(mockSuccessResponse))
          yield* advance(Effect.zipRight(
            Effect.sleep("100 millis"),
            Retry.retry(r.call, { schedule: schedule({ startingDelay: 100 * 3, timeMultiple: 3 }) })
          ))
          expect(r.calls.map((at) => at - start)).toEqual([100, 100 + 3 * 100])
        })
    )

    it.effect("without delayFirstAttempt, the first retry waits startingDelay, then × timeMultiple", () =>
      Effect.gen(function*() {
        // SkipFirstDelay: the delay before attempt n + 1 is startingDelay × timeMultiple^(n − 1)
        const start = yield* Clock.currentTimeMillis
        const r = request(Exit.fail(mockFailResponse))
        yield* advance(
          Retry.retry(r.call, { schedule: schedule({ startingDelay: 100, timeMultiple: 3, numOfAttempts: 4 }) })
        )
        expect(r.calls.map((at) => at - start)).toEqual([0, 100, 400, 1300])
      }))
  })
})

describe("exponential-backoff src/delay/always/always.delay.spec.ts AlwaysDelay", () => {
  it.effect("when calling #apply, the delay is equal to the starting delay", () =>
    Effect.gen(function*() {
      expect((yield* delaysOf(schedule(), 1))[0]).toBe(100)
    }))

  it.effect(
    "when the attempt number is 1, when calling #apply, the delay is equal to the starting delay multiplied by the time multiple",
    () =>
      Effect.gen(function*() {
        expect((yield* delaysOf(schedule(), 2))[1]).toBe(100 * 2)
      })
  )

  it.effect(
    "when the attempt number is 2, when calling #apply, the delay is equal to the starting delay multiplied by the time multiple raised by the attempt number",
    () =>
      Effect.gen(function*() {
        expect((yield* delaysOf(schedule(), 3))[2]).toBe(100 * 2 ** 2)
      })
  )

  it.effect("when the #maxDelay is less than #startingDelay, when calling #apply, the delay is equal to the #maxDelay", () =>
    Effect.gen(function*() {
      expect(yield* delaysOf(schedule({ maxDelay: 99, numOfAttempts: 4 }), 3)).toEqual([99, 99, 99])
    }))
})

describe("exponential-backoff src/jitter/full/full.jitter.spec.ts fullJitter", () => {
  // five delays of the same 100 ms envelope (timeMultiple 1)
  const fiveFullJitterDelays = delaysOf(schedule({ timeMultiple: 1, numOfAttempts: 6, jitter: "full" }), 5)

  it.effect("all the delays are greater than or equal to 0", () =>
    Effect.gen(function*() {
      const delays = yield* fiveFullJitterDelays
      expect(delays.length).toBe(5)
      for (const d of delays) expect(d).toBeGreaterThanOrEqual(0)
    }))

  it.effect("all the delays are less than or equal to the original delay", () =>
    Effect.gen(function*() {
      for (const d of yield* fiveFullJitterDelays) expect(d).toBeLessThanOrEqual(100)
    }))

  it.effect("the delays are not equal to one another", () =>
    Effect.gen(function*() {
      expect(new Set(yield* fiveFullJitterDelays).size).not.toBe(1)
    }))

  it.effect("the delays are integers", () =>
    Effect.gen(function*() {
      for (const d of yield* fiveFullJitterDelays) expect(Number.isInteger(d)).toBe(true)
    }))
})

describe("exponential-backoff src/jitter/no/no.jitter.spec.ts noJitter", () => {
  it.effect("when calling #noJitter with a delay, it returns the same delay", () =>
    Effect.gen(function*() {
      expect(yield* delaysOf(schedule({ timeMultiple: 1, numOfAttempts: 6 }), 5)).toEqual([100, 100, 100, 100, 100])
    }))
})
