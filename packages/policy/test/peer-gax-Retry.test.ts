// Ported from googleapis/gax-nodejs `gax/test/unit/apiCallable.ts` and `gax/test/unit/longrunning.ts` (commit
// acfbe801d92219693b7ea5487ef701a77657dec8): apiCallable.ts's describes "retryable" and "Promise", the transport-free
// cases, against `Retry`, `Backoff` and `Deadline`, one `it` per gax case, named after it (prefixed with its describe).
// The cases about what a request carries (its deadline) and about overriding settings per method are ported over a
// loopback server in `test/peer-gax-retry.test.ts`.
//
// Mapping (as in the python-api-core ports, `peer-google-api-core-*.test.ts`): gax's `retryCodes` is `Retry.retry`'s
// `while` (the failure's code is in the list); `BackoffSettings.initialRetryDelayMillis` × `retryDelayMultiplier` up
// to `maxRetryDelayMillis` is `Backoff.exponential({ baseDelay, factor, maxDelay })`, whose `"full"` jitter is gax's
// `Math.random() * delay`; an all-zero backoff is `Backoff.fromDelay(() => 0)` (its multiplier of 0 is a RangeError
// for `Backoff.exponential`, whose factor is at least 1); `totalTimeoutMillis` is
// `Deadline.withDeadline` around the retry; `maxRetries` (which gax counts as attempts: `maxRetries: 5` makes 5 calls) is
// `maxAttempts`; the per-attempt rpc timeout (`initialRpcTimeoutMillis` × `rpcTimeoutMultiplier` up to
// `maxRpcTimeoutMillis`) is `Deadline.attemptTimeout` of that value around attempt n, which Sturdy does not grow by
// itself (the test does, as the api-core port does); `promise.cancel()` is interrupting the call's fiber; the
// `err.note` gax sets on a failure it did not retry is the `onAttempt` decision's reason (`"not-retryable"`). gax's
// `fail` (an immediate failure with code 1) is `Coded(1)`; its attempts take real time, Sturdy's here take TestClock
// time only where a case needs time to pass.
//
// Deliberate differences: when retrying stops on the total timeout or on `maxRetries`, gax answers a new
// DEADLINE_EXCEEDED error whose message names the original one (and lists the "Previous errors"); Sturdy returns the
// ORIGINAL last failure itself, the decision's reason (`"deadline"`, `"exhausted"`) saying why, and `onAttempt` sees
// every earlier failure; a deadline that fires during an attempt interrupts it with `Deadline.DeadlineExceeded`
// (reason `"Deadline"`), which is gax's DEADLINE_EXCEEDED. gax refuses `totalTimeoutMillis` together with
// `maxRetries` (INVALID_ARGUMENT, no call made); Sturdy applies both, whichever ends the call first. gax sleeps into
// the deadline and checks it after waking; Sturdy does not start a sleep that would end at or past it.
//
// Not ported: "Promise calls api call" / "does not return promise when callback is supplied" / "emits error on
// rejected promise" / "emits error on failure" / "has cancel method" (gax's callback-or-promise calling convention,
// no retry involved); "retryable forwards metadata to builder" (gRPC metadata); the `it.skip` cases "times out"
// (skipped upstream, and its expectations contradict "aborts retries") and "reports A/B testing" (a metadata header
// gax never sends). The skipped "retries with exponential backoff" is ported: it specifies the backoff. From
// `gax/test/unit/longrunning.ts`, "times out when polling" is ported (polling on a backoff under a total timeout); the
// rest of that file is the Operation API. The server-streaming retries of `gax/test/unit/streaming.ts` are not ported:
// Sturdy does not retry a stream (nor resume one from a request rebuilt by `getResumptionRequestFn`); their unary
// counterparts (total timeout, maxRetries, empty retryCodes) are the apiCallable.ts cases here.
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Deadline from "@sturdy/policy/Deadline"
import * as Retry from "@sturdy/policy/Retry"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as Random from "effect/Random"
import * as TestClock from "effect/TestClock"
import { advanceToDone } from "./utils/advance.js"

// a gax GoogleError with a status code
class Coded extends Data.TaggedError("Coded")<{ readonly code: number; readonly n: number }> {}

const FAKE_STATUS_CODE_1 = 1
const FAKE_STATUS_CODE_2 = FAKE_STATUS_CODE_1 + 1

// gax's `retryCodes` (an rpc timeout is DEADLINE_EXCEEDED, not one of the codes of these cases)
const retryCodes = (...codes: ReadonlyArray<number>) => (e: Coded | Deadline.DeadlineExceeded) =>
  e._tag === "Coded" && codes.includes(e.code)

// the "retryable" describe's settings: `createRetryOptions(0, 0, 0, 0, 0, 0, 100)`, codes [FAKE_STATUS_CODE_1]
const zeroBackoff = Backoff.fromDelay(() => 0)
const totalTimeout = "100 millis"

/**
 * An API method: attempt n fails with code `codeOf(n)` (none: answers 1729) after `millis(n)` of TestClock time,
 * counting its calls and recording the deadline each attempt was given (gax's `options.deadline`).
 */
const method = (codeOf: (n: number) => number | undefined, millis: (n: number) => number = () => 0) => {
  const m = {
    calls: 0,
    deadlines: [] as Array<number>,
    call: Effect.suspend((): Effect.Effect<number | null, Coded> => {
      const n = ++m.calls
      return FiberRef.get(Deadline.currentLimit).pipe(
        Effect.tap((limit) => void m.deadlines.push(limit.at)),
        Effect.zipRight(Effect.sleep(millis(n))),
        Effect.zipRight(Effect.suspend(() => {
          const code = codeOf(n)
          return code === undefined ? Effect.succeed(1729) : Effect.fail(new Coded({ code, n }))
        }))
      )
    })
  }
  return m
}

const recorder = () => {
  const attempts: Array<Retry.Attempt<Coded | Deadline.DeadlineExceeded>> = []
  return {
    attempts,
    onAttempt: (a: Retry.Attempt<Coded | Deadline.DeadlineExceeded>) => Effect.sync(() => void attempts.push(a))
  }
}

describe("gax-nodejs test/unit/apiCallable.ts", () => {
  it.effect("Promise cancels retrying call", () =>
    Effect.gen(function*() {
      // each call answers after 10 ms, the first 3 with FAKE_STATUS_CODE_1; the caller cancels at 15 ms
      const m = method((n) => (n <= 3 ? FAKE_STATUS_CODE_1 : undefined), () => 10)
      const fiber = yield* Effect.fork(
        Retry.retry(m.call, { schedule: zeroBackoff, while: retryCodes(FAKE_STATUS_CODE_1) }).pipe(
          Deadline.withDeadline(totalTimeout)
        )
      )
      yield* TestClock.adjust("10 millis")
      yield* TestClock.adjust("5 millis")
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(m.calls).toBeLessThan(4)
      expect(m.calls).toBe(2)
      // nothing runs after the cancel
      yield* TestClock.adjust("1 second")
      expect(m.calls).toBe(2)
    }))

  it.effect("retryable retries the API call", () =>
    Effect.gen(function*() {
      let toAttempt = 3
      const m = method(() => (--toAttempt > 0 ? FAKE_STATUS_CODE_1 : undefined))
      const exit = yield* advanceToDone(
        Retry.retry(m.call, { schedule: zeroBackoff, while: retryCodes(FAKE_STATUS_CODE_1) }).pipe(
          Deadline.withDeadline(totalTimeout)
        )
      )
      expect(exit).toEqual(Exit.succeed(1729))
      expect(toAttempt).toBe(0)
      expect(m.calls).toBe(3)
      // every attempt ran under the call's deadline (gax's `options.deadline`)
      expect(m.deadlines).toEqual([100, 100, 100])
    }))

  it.effect("retryable cancels in the middle of retries", () =>
    Effect.gen(function*() {
      // two immediate failures; the third call would answer after 10 ms, and is cancelled as soon as it starts
      const m = method((n) => (n <= 2 ? FAKE_STATUS_CODE_1 : undefined), (n) => (n <= 2 ? 0 : 10))
      const fiber = yield* Effect.fork(
        Retry.retry(m.call, { schedule: zeroBackoff, while: retryCodes(FAKE_STATUS_CODE_1) }).pipe(
          Deadline.withDeadline(totalTimeout)
        )
      )
      for (let i = 0; i < 20 && m.calls < 3; i++) yield* Effect.yieldNow()
      expect(m.calls).toBe(3)
      const exit = yield* Fiber.interrupt(fiber)
      // gax: the promise rejects with an Error; Sturdy: the call is interrupted, and never answers 1729
      expect(Exit.isInterrupted(exit)).toBe(true)
      yield* TestClock.adjust("1 second")
      expect(m.calls).toBe(3)
    }))

  it.effect("retryable aborts retries", () =>
    Effect.gen(function*() {
      // every call fails after 30 ms: the fourth is still running at the 100 ms deadline, which ends the call
      const m = method(() => FAKE_STATUS_CODE_1, () => 30)
      const exit = yield* advanceToDone(
        Retry.retry(m.call, { schedule: zeroBackoff, while: retryCodes(FAKE_STATUS_CODE_1) }).pipe(
          Deadline.withDeadline(totalTimeout)
        )
      )
      const failure = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined
      // gax: GoogleError, code DEADLINE_EXCEEDED
      expect(Deadline.isDeadlineExceeded(failure)).toBe(true)
      expect(Deadline.isDeadlineExceeded(failure) && failure.reason).toBe("Deadline")
      expect(m.calls).toBe(4)
      expect(yield* Clock.currentTimeMillis).toBe(100)
    }))

  it.effect("retryable errors on maxRetries and surfaces original error", () =>
    Effect.gen(function*() {
      const toAttempt = 5
      const m = method(() => FAKE_STATUS_CODE_1)
      const r = recorder()
      const exit = yield* advanceToDone(
        Retry.retry(m.call, {
          schedule: Backoff.bounded(zeroBackoff, { maxAttempts: toAttempt }),
          while: retryCodes(FAKE_STATUS_CODE_1),
          onAttempt: r.onAttempt
        })
      )
      expect(m.calls).toBe(toAttempt)
      // gax: DEADLINE_EXCEEDED "Exceeded maximum number of retries retrying error Error ..."; Sturdy: the original
      // error itself, the last decision saying why retrying stopped
      expect(exit).toEqual(Exit.fail(new Coded({ code: FAKE_STATUS_CODE_1, n: toAttempt })))
      expect(r.attempts.at(-1)).toMatchObject({ reason: "exhausted", retrying: false, attempt: toAttempt + 1 })
    }))

  it.effect("retryable retry fails for exceeding total timeout, surfacing original error", () =>
    Effect.gen(function*() {
      // gax's calls take real time before the zero backoff; here the time passes between the calls (30 ms): calls at
      // 0, 30, 60, 90 ms, and the next would start at 120 ms, past the 100 ms total timeout
      const m = method(() => FAKE_STATUS_CODE_1)
      const r = recorder()
      const exit = yield* advanceToDone(
        Retry.retry(m.call, {
          schedule: Backoff.fromDelay(() => 30),
          while: retryCodes(FAKE_STATUS_CODE_1),
          onAttempt: r.onAttempt
        }).pipe(Deadline.withDeadline(totalTimeout))
      )
      // gax: DEADLINE_EXCEEDED "Total timeout of API TestApi exceeded 100 milliseconds retrying error Error ..."
      expect(exit).toEqual(Exit.fail(new Coded({ code: FAKE_STATUS_CODE_1, n: 4 })))
      expect(r.attempts.at(-1)).toMatchObject({ reason: "deadline", retrying: false })
      // no sleep toward the deadline: the call ends with the last failure, at 90 ms
      expect(yield* Clock.currentTimeMillis).toBe(90)
    }))

  it.effect("retryable retry fails for exceeding total timeout, surfacing original error and previous errors", () =>
    Effect.gen(function*() {
      const m = method(() => FAKE_STATUS_CODE_1)
      const r = recorder()
      const exit = yield* advanceToDone(
        Retry.retry(m.call, {
          schedule: Backoff.fromDelay(() => 30),
          while: retryCodes(FAKE_STATUS_CODE_1),
          onAttempt: r.onAttempt
        }).pipe(Deadline.withDeadline(totalTimeout))
      )
      // gax lists the "Previous errors" in the message; Sturdy tells each one to `onAttempt` as it happens
      const all = [1, 2, 3, 4].map((n) => new Coded({ code: FAKE_STATUS_CODE_1, n }))
      expect(r.attempts.map((a) => a.failure)).toEqual(all)
      expect(r.attempts.map((a) => a.retrying)).toEqual([true, true, true, false])
      expect(exit).toEqual(Exit.fail(all[3]))
    }))

  // gax: INVALID_ARGUMENT and no call at all. Sturdy applies both limits; whichever comes first ends the call.
  it.effect("retryable errors when totalTimeoutMillis and maxRetries set", () =>
    Effect.gen(function*() {
      const maxRetries = 5
      const schedule = Backoff.bounded(zeroBackoff, { maxAttempts: maxRetries })
      // immediate failures: the attempts run out first
      const quick = method(() => FAKE_STATUS_CODE_1)
      const r = recorder()
      const first = yield* advanceToDone(
        Retry.retry(quick.call, { schedule, while: retryCodes(FAKE_STATUS_CODE_1), onAttempt: r.onAttempt }).pipe(
          Deadline.withDeadline(totalTimeout)
        )
      )
      expect(first).toEqual(Exit.fail(new Coded({ code: FAKE_STATUS_CODE_1, n: maxRetries })))
      expect(quick.calls).toBe(maxRetries)
      expect(r.attempts.at(-1)?.reason).toBe("exhausted")
      // 30 ms failures: the deadline comes first, during the fourth call
      const slow = method(() => FAKE_STATUS_CODE_1, () => 30)
      const second = yield* advanceToDone(
        Retry.retry(slow.call, { schedule, while: retryCodes(FAKE_STATUS_CODE_1) }).pipe(
          Deadline.withDeadline(totalTimeout)
        )
      )
      const failure = Exit.isFailure(second) && second.cause._tag === "Fail" ? second.cause.error : undefined
      expect(Deadline.isDeadlineExceeded(failure) && failure.reason).toBe("Deadline")
      expect(slow.calls).toBe(4)
    }))

  it.effect("retryable aborts on unexpected exception", () =>
    Effect.gen(function*() {
      const m = method(() => FAKE_STATUS_CODE_2)
      const r = recorder()
      const exit = yield* advanceToDone(
        Retry.retry(m.call, { schedule: zeroBackoff, while: retryCodes(FAKE_STATUS_CODE_1), onAttempt: r.onAttempt })
          .pipe(Deadline.withDeadline(totalTimeout))
      )
      expect(exit).toEqual(Exit.fail(new Coded({ code: FAKE_STATUS_CODE_2, n: 1 })))
      expect(m.calls).toBe(1)
      // gax's `err.note` ("not classified as transient")
      expect(r.attempts).toHaveLength(1)
      expect(r.attempts[0]).toMatchObject({ reason: "not-retryable", retrying: false })
    }))

  it.effect("retryable does not retry even when no responses", () =>
    Effect.gen(function*() {
      let calls = 0
      const r = recorder()
      const exit = yield* advanceToDone(
        Retry.retry(Effect.sync(() => (calls++, null)), {
          schedule: zeroBackoff,
          while: retryCodes(FAKE_STATUS_CODE_1),
          onAttempt: r.onAttempt
        }).pipe(Deadline.withDeadline(totalTimeout))
      )
      expect(exit).toEqual(Exit.succeed(null))
      expect(calls).toBe(1)
      expect(r.attempts).toEqual([])
    }))

  // `it.skip` upstream. `createBackoffSettings(3, 2, 24, 5, 2, 80, 2500)`: delays random(0, 3 × 2ⁿ ms) up to 24 ms,
  // rpc timeouts 5 × 2ⁿ ms up to 80 ms, total 2500 ms; every call fails at once with FAKE_STATUS_CODE_1.
  it.effect("retryable retries with exponential backoff", () =>
    Effect.gen(function*() {
      const backoff = {
        initialRetryDelayMillis: 3,
        retryDelayMultiplier: 2,
        maxRetryDelayMillis: 24,
        initialRpcTimeoutMillis: 5,
        rpcTimeoutMultiplier: 2,
        maxRpcTimeoutMillis: 80,
        totalTimeoutMillis: 2500
      }
      const rpcTimeout = (n: number) =>
        Math.min(backoff.initialRpcTimeoutMillis * backoff.rpcTimeoutMultiplier ** (n - 1), backoff.maxRpcTimeoutMillis)
      let calls = 0
      const timeouts: Array<number> = []
      const attempt = Effect.suspend(() => {
        const n = ++calls
        return Effect.zipWith(FiberRef.get(Deadline.currentLimit), Clock.currentTimeMillis, (limit, now) => {
          timeouts.push(limit.at - now)
        }).pipe(
          Effect.zipRight(Effect.fail(new Coded({ code: FAKE_STATUS_CODE_1, n }))),
          Deadline.attemptTimeout(rpcTimeout(n))
        )
      })
      const r = recorder()
      const exit = yield* advanceToDone(
        Retry.retry(attempt, {
          schedule: Backoff.exponential({
            baseDelay: backoff.initialRetryDelayMillis,
            factor: backoff.retryDelayMultiplier,
            maxDelay: backoff.maxRetryDelayMillis,
            maxAttempts: Infinity
          }),
          while: retryCodes(FAKE_STATUS_CODE_1),
          onAttempt: r.onAttempt
        }).pipe(Deadline.withDeadline(backoff.totalTimeoutMillis), Effect.withRandom(Random.make(7)))
      )
      // the original error, the last decision "deadline" (gax: its own error, with a note)
      expect(exit).toEqual(Exit.fail(new Coded({ code: FAKE_STATUS_CODE_1, n: calls })))
      expect(r.attempts.at(-1)).toMatchObject({ reason: "deadline", retrying: false })
      // gax waits out the whole total timeout; Sturdy stops before a sleep that would reach it
      const elapsed = yield* Clock.currentTimeMillis
      expect(elapsed).toBeLessThan(backoff.totalTimeoutMillis)
      expect(elapsed).toBeGreaterThanOrEqual(backoff.totalTimeoutMillis - backoff.maxRetryDelayMillis)
      const callsLowerBound = backoff.totalTimeoutMillis / (backoff.maxRetryDelayMillis + backoff.maxRpcTimeoutMillis)
      const callsUpperBound = backoff.totalTimeoutMillis / backoff.initialRetryDelayMillis
      expect(calls).toBeGreaterThan(callsLowerBound)
      expect(calls).toBeLessThan(callsUpperBound)
      // each call's rpc timeout grew 5, 10, 20, 40, 80 ms and stayed at 80 ms (nearer the end: what is left of the total)
      expect(timeouts.slice(0, 7)).toEqual([5, 10, 20, 40, 80, 80, 80])
      expect(timeouts.every((t) => t <= 80)).toBe(true)
      // every delay within gax's envelope, random(0, min(3 × 2ⁿ, 24)) ms
      r.attempts.filter((a) => a.retrying).forEach((a, n) =>
        expect(Duration.toMillis(a.delay)).toBeLessThanOrEqual(Math.min(3 * 2 ** n, 24))
      )
    }))
})

// gax polls a long-running operation until it is done, on its own backoff (`longrunning` BackoffSettings); here a poll
// that finds the operation still pending is a `Pending` failure, retried on that backoff under the total timeout.
class Pending extends Data.TaggedError("Pending")<{ readonly name: string }> {}

describe("gax-nodejs test/unit/longrunning.ts", () => {
  // `createBackoffSettings(1, 1, 1, 0, 0, 0, 1)`: polls 1 ms apart, a total timeout of 1 ms; the operation stays
  // pending. gax: DEADLINE_EXCEEDED "Total timeout exceeded before any response was received"; Sturdy: the last poll's
  // `Pending` itself, the decision's reason `"deadline"` (the next poll would start at the deadline).
  it.effect("longrunning Operation polling times out when polling", () =>
    Effect.gen(function*() {
      let polls = 0
      const pending = new Pending({ name: "operation_name" })
      const poll = Effect.suspend(() => (polls++, Effect.fail(pending)))
      const decisions: Array<Retry.Attempt<Pending>> = []
      const exit = yield* advanceToDone(
        Retry.retry(poll, {
          schedule: Backoff.exponential({
            baseDelay: 1,
            factor: 1,
            maxDelay: 1,
            jitter: "none",
            maxAttempts: Infinity
          }),
          onAttempt: (a) => Effect.sync(() => void decisions.push(a))
        }).pipe(Deadline.withDeadline(1))
      )
      expect(exit).toEqual(Exit.fail(pending))
      expect(polls).toBe(1)
      expect(decisions.map((d) => d.reason)).toEqual(["deadline"])
      expect(yield* Clock.currentTimeMillis).toBe(0)
    }))
})
