// Ported from failsafe-go's test/listeners_test.go (failsafe-go/failsafe-go, commit
// 5759a5e6d557eace215f820f5b5e663d5c05c3ee), one `it` per Go test function, named after it.
// Mapping: a RetryPolicy's `OnRetry` / `OnRetryScheduled` are `onAttempt`'s decisions that retry, `OnRetriesExceeded`
// one that gives up with reason "exhausted"; a CircuitBreaker's `OnOpen` / `OnHalfOpen` / `OnClose` /
// `OnStateChanged` are the transitions published on `subscribe`'s stream, its `OnSuccess` / `OnFailure` the calls it
// recorded (`snapshot`'s `calls` and `failures`, judged over a window long enough to keep them all, with `WithDelay(0)`
// `breakDuration: 0` and `consecutiveFailures: 1`); a Fallback's `OnSuccess` is an answer from the fallback, and
// `OnFailedAttempt` of the executor the call's exit; a RateLimiter's `OnRateLimitExceeded` and a Bulkhead's `OnFull`
// are the `RateLimitExceeded` / `BulkheadRejected` failures, a HedgePolicy's `OnHedge` is `onHedge`.
// `failsafe.With(outer, ..., inner)` is `call.pipe(inner, ..., outer)`; `HandleResult(false)` is a typed failure
// carrying the result; a Go panic is a defect. `time.Sleep` is TestClock time.
// Deliberate difference (the test says so): Go's breaker does not record a panic; Sturdy's counts a defect as a
// failed call (CircuitBreaker.ts module doc: "a failure `isFailure` selects, a defect, a too-slow call").
// Not ported: TestListenersForUnhandledFailure, TestListenersForRetriesExceeded, TestListenersForAbort,
// TestListenersForFailingRetryPolicy, TestListenersForFailingCircuitBreaker and TestListenersForFailingFallback (Go's
// per-policy success/failure listener bookkeeping: which of `OnSuccess`, `OnFailure`, `OnDone` fire when a policy
// handles a result, which Sturdy's policies do not report); TestListenersForCache and the cache policy of
// TestListenersOnSuccess (a cache keyed by the call; Sturdy's `StaleCache` has its own peer ports); TestGetElapsedTime
// (`ElapsedAttemptTime`: Sturdy's `Attempt` carries no elapsed time).
import { describe, expect, it } from "@effect/vitest"
import { Bulkhead, CircuitBreaker, Fallback, Hedge, RateLimit, Retry } from "@sturdy/policy"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { advanceToDone } from "./utils/advance.js"
import { counted } from "./utils/counted.js"
import { holdPermit } from "./utils/holdPermit.js"

class ErrInvalidState extends Error {}
class Result extends Error {
  constructor(readonly value: unknown) {
    super(`result ${String(value)}`)
  }
}

// the retry policy's listeners
const retryStats = () => {
  const s = {
    retry: 0,
    retriesExceeded: 0,
    onAttempt: (a: Retry.Attempt<unknown>) =>
      Effect.sync(() => {
        if (a.retrying) s.retry++
        else if (a.reason === "exhausted") s.retriesExceeded++
      })
  }
  return s
}

// the breaker's state listeners: the transitions published, as "From->To"
const transitions = (breaker: CircuitBreaker.CircuitBreaker) =>
  Effect.gen(function*() {
    const published: Array<string> = []
    yield* Effect.forkScoped(
      Stream.runForEach(yield* breaker.subscribe, (c) => Effect.sync(() => published.push(`${c.from}->${c.to}`)))
    )
    return published
  })
const count = (published: ReadonlyArray<string>, to: string) => published.filter((c) => c.endsWith(`->${to}`)).length

const settle = Effect.repeatN(Effect.yieldNow(), 10)

// WithDelay(0), opening on one failure; a window long enough to keep every call of the test
const breakerOptions: CircuitBreaker.Options = { consecutiveFailures: 1, breakDuration: 0, slidingWindow: "1 hour" }

describe("peer failsafe-go listeners_test", () => {
  it.scoped("TestListenersOnSuccess", () =>
    Effect.gen(function*() {
      // ErrorNTimesThenReturn(ErrInvalidState, 2, false, false, true); HandleResult(false)
      const stub = counted((n): Effect.Effect<boolean, ErrInvalidState | Result> =>
        n <= 2 ? Effect.fail(new ErrInvalidState()) : n <= 4 ? Effect.fail(new Result(false)) : Effect.succeed(true)
      )
      const rp = retryStats()
      const cb = yield* CircuitBreaker.make("cb", breakerOptions)
      const published = yield* transitions(cb)
      const exit = yield* advanceToDone(
        stub.call.pipe(
          CircuitBreaker.withBreaker(cb),
          Retry.retry({ schedule: Schedule.recurs(9), onAttempt: rp.onAttempt }),
          Fallback.orElse(Effect.succeed(false))
        )
      )
      yield* settle
      expect(Exit.isSuccess(exit) && [exit.value.value, exit.value.source]).toEqual([true, "primary"])
      expect(rp.retry).toBe(4)
      expect(rp.retriesExceeded).toBe(0)

      expect(published).toHaveLength(9)
      expect(count(published, "Open")).toBe(4)
      expect(count(published, "HalfOpen")).toBe(4)
      expect(count(published, "Closed")).toBe(1)
      // Go's cbFailure 4 and cbSuccess 1: each of the 4 failed calls opened the breaker, the 1 successful probe closed it
      expect(stub.executions).toBe(5)
      expect((yield* cb.snapshot).state).toBe("Closed")
    }))

  it.effect("TestRetryPolicyOnScheduledRetry", () =>
    Effect.gen(function*() {
      // HandleResult(nil).WithMaxRetries(1): both executions return the handled result
      const decisions: Array<[number, boolean, Retry.Reason]> = []
      const stub = counted(() => Effect.fail(new Result(null)))
      yield* advanceToDone(
        stub.call.pipe(
          Retry.retry({
            schedule: Schedule.recurs(1),
            onAttempt: (a) => Effect.sync(() => void decisions.push([a.attempt, a.retrying, a.reason]))
          })
        )
      )
      // after the first attempt (IsFirstAttempt) a retry is scheduled; after the retry (IsRetry) retrying ends
      expect(decisions).toEqual([[2, true, "backoff"], [3, false, "exhausted"]])
      expect(stub.executions).toBe(2)
    }))

  it.effect("TestListenersForRateLimiter", () =>
    Effect.gen(function*() {
      const rl = yield* RateLimit.make({
        limit: 1,
        window: "100 millis",
        algorithm: "token-bucket",
        onExceeded: "fail"
      })
      const results: Array<string> = []
      const run = Effect.gen(function*() {
        const exit = yield* Effect.exit(RateLimit.withRateLimit(Effect.void, rl, "key"))
        results.push(
          Exit.isSuccess(exit)
            ? "success"
            : RateLimit.isRateLimitExceeded(Cause.squash(exit.cause))
            ? "exceeded"
            : "other"
        )
      })
      yield* run // Success
      yield* run // Failure
      yield* TestClock.adjust("110 millis")
      yield* run // Success
      yield* run // Failure
      yield* run // Failure
      expect(results.filter((r) => r === "exceeded")).toHaveLength(3)
      expect(results).toEqual(["success", "exceeded", "success", "exceeded", "exceeded"])
    }).pipe(Effect.provide(RateLimit.layerStoreMemory)))

  it.effect("TestListenersForBulkhead", () =>
    Effect.gen(function*() {
      const bh = yield* Bulkhead.make({ maxConcurrent: 2 })
      const a = yield* holdPermit(bh)
      const b = yield* holdPermit(bh)
      const first = yield* Effect.flip(Bulkhead.withBulkhead(Effect.void, bh))
      const second = yield* Effect.flip(Bulkhead.withBulkhead(Effect.void, bh))
      yield* a.release
      yield* b.release
      expect([first, second]).toMatchObject([
        { _tag: "BulkheadRejected", reason: "Full" },
        { _tag: "BulkheadRejected", reason: "Full" }
      ])
    }))

  it.effect("TestListenersForHedgePolicy", () =>
    Effect.gen(function*() {
      let hedges = 0
      const exit = yield* advanceToDone(
        Effect.as(Effect.sleep("100 millis"), true).pipe(
          Hedge.hedge({ delay: "10 millis", maxHedges: 2, onHedge: () => Effect.sync(() => void hedges++) })
        )
      )
      expect(exit).toEqual(Exit.succeed(true))
      expect(hedges).toBe(2)
    }))

  // Asserts which listeners are called when a panic occurs.
  it.scoped("TestListenersOnPanic", () =>
    Effect.gen(function*() {
      // ErrorNTimesThenPanic(ErrInvalidState, 2, "test panic")
      const panicValue = "test panic"
      const stub = counted((n) => n <= 2 ? Effect.fail(new ErrInvalidState()) : Effect.die(panicValue))
      const rp = retryStats()
      const cb = yield* CircuitBreaker.make("cb", breakerOptions)
      const published = yield* transitions(cb)
      let fallbacks = 0
      const exit = yield* advanceToDone(
        stub.call.pipe(
          CircuitBreaker.withBreaker(cb),
          Retry.retry({ schedule: Schedule.recurs(9), onAttempt: rp.onAttempt }),
          Fallback.orElse(Effect.sync(() => ++fallbacks))
        )
      )
      yield* settle
      // the panic reaches the caller: not retried, no fallback
      expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toBe(panicValue)
      expect(rp.retry).toBe(2)
      expect(rp.retriesExceeded).toBe(0)
      expect(fallbacks).toBe(0)
      // Deliberate difference: Go's breaker does not record the panic (2 opens, 2 half-opens, 4 transitions); Sturdy's
      // counts the defect of the third (probe) call as a failure and opens again
      expect(count(published, "Open")).toBe(3)
      expect(count(published, "HalfOpen")).toBe(2)
      expect(count(published, "Closed")).toBe(0)
      expect(published).toHaveLength(5)
    }))
})
