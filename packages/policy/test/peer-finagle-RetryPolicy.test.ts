// Ported from Finagle's retry-policy tests (twitter/finagle, commit 4feb34cb949918c572a6152327212e062527bd62,
// finagle-core/src/test/scala/com/twitter/finagle/service/RetryPolicyTest.scala), one `it` per Finagle `it`, named
// after it, against `@sturdy/policy`'s `Retry.retry` and `Backoff`.
//
// Mapping: Finagle's `getBackoffs(policy, exceptions)` (feed the failures in turn, collect the backoffs until the
// policy says None or the failures run out) is `getBackoffs(options, failures)` below: attempt n fails with
// failures[n - 1] and succeeds once they run out, under `Retry.retry` on the TestClock, and the delays are those of the
// retries `onAttempt` reports. `RetryPolicy.backoff(b)(pf)` is `schedule: b` with `while: pf`; `take(n)` is
// `maxAttempts: n + 1`; `.filter(p)` (asked about the first failure only) is a `while` that asks `p` on attempt 1 only;
// `.filterEach(p)` is a `while` that asks `p` on every failure; `.limit(n)` (a by-name bound, read per decision) is a
// `while` that reads the current bound: `attempt <= n`. `RetryPolicy.Never` is a schedule of one attempt
// (`maxAttempts: 1`), `RetryPolicy.none` a `while` that refuses every failure. Finagle's exception classes are tagged
// failures.
//
// Deliberate difference: Finagle's `limit` test compares only the common prefix of two backoffs (its `verifyBackoff`
// stops at the shorter one), so it would pass with any number of retries; here the number of retries is asserted
// (`min(limit, 3)`).
//
// Not ported: `should WriteExceptionsOnly`, `should TimeoutAndWriteExceptionsOnly` and `RetryableWriteException matches
// retryable exception` (Finagle's classification of its own failure types and flags: Sturdy's `Retry` is
// transport-agnostic, which failures are retryable is the caller's `while`; an interrupted attempt is never retried,
// as Finagle requires: asserted below under `RetryPolicy.Never`'s neighbour `none`); `RetryPolicy.combine`'s four cases
// (Sturdy has no combinator that keeps a separate schedule per failure kind, each advancing only on its own failures;
// see the report); `RetryPolicy.namedPF`'s three cases (Scala partial-function naming).
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Retry from "@sturdy/policy/Retry"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { advanceToDone } from "./utils/advance.js"
import { counted } from "./utils/counted.js"

class IException {
  readonly _tag = "IException"
  constructor(readonly i: number) {}
}
class ChannelClosedException {
  readonly _tag = "ChannelClosedException"
}
type Failure = IException | ChannelClosedException

/** attempt n fails with failures[n - 1], then succeeds; the delays (ms) of the retries made, and how it ended */
const getBackoffs = (options: Retry.Options<Failure>, failures: ReadonlyArray<Failure>) =>
  Effect.gen(function*() {
    const attempts: Array<Retry.Attempt<Failure>> = []
    const call = counted((n) => n <= failures.length ? Effect.fail(failures[n - 1]!) : Effect.succeed("ok"))
    const exit = yield* advanceToDone(
      Retry.retry(call.call, { ...options, onAttempt: (a) => Effect.sync(() => attempts.push(a)) })
    )
    return {
      delays: attempts.filter((a) => a.retrying).map((a) => Duration.toMillis(a.delay)),
      stop: attempts.find((a) => !a.retrying)?.reason,
      exit,
      executions: call.executions
    }
  })

const iExceptionsOnly = (e: Failure) => e._tag === "IException"
const iGreaterThan1 = (e: Failure) => e._tag === "IException" && e.i > 1
/** Backoff.linear(10.milliseconds, 10.milliseconds).take(3) */
const backoffs = () => Backoff.bounded(Backoff.fromDelay((retry) => 10 * retry), { maxAttempts: 4 })

describe("peer finagle RetryPolicyTest", () => {
  describe("RetryPolicy.filter/filterEach", () => {
    // `.filter(iGreaterThan1)`: asked about the first failure only
    const policy: Retry.Options<Failure> = {
      schedule: backoffs(),
      while: (e, attempt) => iExceptionsOnly(e) && (attempt > 1 || iGreaterThan1(e))
    }

    it.effect("returns None if filter rejects", () =>
      Effect.gen(function*() {
        const result = yield* getBackoffs(policy, [new IException(0), new IException(1)])
        expect(result.delays).toEqual([])
        expect(result.stop).toBe("not-retryable")
        expect(result.exit).toStrictEqual(Exit.fail(new IException(0)))
      }))

    it.effect("returns underlying result if filter accepts first", () =>
      Effect.gen(function*() {
        const result = yield* getBackoffs(policy, [new IException(2), new IException(0)])
        expect(result.delays).toEqual([10, 20])
        expect(result.exit).toStrictEqual(Exit.succeed("ok"))
      }))
  })

  describe("RetryPolicy.filterEach", () => {
    const policy: Retry.Options<Failure> = {
      schedule: backoffs(),
      while: (e) => iExceptionsOnly(e) && iGreaterThan1(e)
    }

    it.effect("returns None if filterEach rejects", () =>
      Effect.gen(function*() {
        const result = yield* getBackoffs(policy, [new IException(0), new IException(1)])
        expect(result.delays).toEqual([])
        expect(result.executions).toBe(1)
      }))

    it.effect("returns underlying result if filterEach accepts", () =>
      Effect.gen(function*() {
        const result = yield* getBackoffs(policy, [new IException(2), new IException(2), new IException(0)])
        expect(result.delays).toEqual([10, 20])
        expect(result.stop).toBe("not-retryable")
        expect(result.exit).toStrictEqual(Exit.fail(new IException(0)))
      }))
  })

  describe("RetryPolicy.limit", () => {
    let currentMaxRetries = 0
    // Backoff.const(10.milliseconds).take(3), ChannelClosedExceptionsOnly, .limit(currentMaxRetries) (by name)
    const policy: Retry.Options<Failure> = {
      schedule: Backoff.exponential({ baseDelay: 10, factor: 1, jitter: "none", maxAttempts: 4 }),
      while: (e, attempt) => e._tag === "ChannelClosedException" && attempt <= currentMaxRetries
    }

    it.effect("limits retries dynamically", () =>
      Effect.gen(function*() {
        for (let i = 0; i < 5; i++) {
          currentMaxRetries = i
          const result = yield* getBackoffs(policy, Array.from({ length: 3 }, () => new ChannelClosedException()))
          // Finagle compares only the common prefix; the count is asserted here (see the header)
          expect(result.delays).toEqual(Array.from({ length: Math.min(i, 3) }, () => 10))
        }
      }))
  })

  describe("RetryPolicy.Never", () => {
    const never: Retry.Options<Failure> = {
      schedule: Backoff.bounded(Backoff.fromDelay(() => 10), { maxAttempts: 1 })
    }

    it.effect("should not retry", () =>
      Effect.gen(function*() {
        const success = yield* getBackoffs(never, [])
        expect(success.exit).toStrictEqual(Exit.succeed("ok"))
        expect(success.delays).toEqual([])
        const failure = yield* getBackoffs(never, [new ChannelClosedException()])
        expect(failure.delays).toEqual([])
        expect(failure.stop).toBe("exhausted")
        expect(failure.executions).toBe(1)
      }))
  })

  describe("RetryPolicy.none", () => {
    const nah: Retry.Options<Failure> = { schedule: backoffs(), while: () => false }

    it.effect("should not retry", () =>
      Effect.gen(function*() {
        const success = yield* getBackoffs(nah, [])
        expect(success.exit).toStrictEqual(Exit.succeed("ok"))
        const failure = yield* getBackoffs(nah, [new ChannelClosedException()])
        expect(failure.delays).toEqual([])
        expect(failure.stop).toBe("not-retryable")
        expect(failure.executions).toBe(1)
        // Finagle's WriteExceptionsOnly: "interrupted futures should never be retried", even when flagged retryable:
        // an interrupted attempt is not retried even by a `while` that accepts everything
        const interrupted = counted(() => Effect.interrupt)
        const exit = yield* Effect.exit(Retry.retry(interrupted.call, { schedule: backoffs(), while: () => true }))
        expect(Exit.isInterrupted(exit)).toBe(true)
        expect(interrupted.executions).toBe(1)
      }))
  })
})
