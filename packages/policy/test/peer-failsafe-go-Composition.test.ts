// Ported from failsafe-go's test/policy_composition_test.go (failsafe-go/failsafe-go, commit
// 5759a5e6d557eace215f820f5b5e663d5c05c3ee), one `it` per Go case (`t.Run`), named after it (prefixed with the Go
// test function's policy).
// Mapping: `failsafe.With(outer, inner)` (and `.Compose(inner)`) is `call.pipe(inner, outer)`. `retrypolicy.
// NewWithDefaults()` (3 attempts, no delay) is `Retry.retry({ schedule: Schedule.recurs(2) })`, `WithMaxAttempts(n)`
// `Schedule.recurs(n - 1)`, `WithMaxRetries(-1)` `Schedule.forever`; `circuitbreaker.NewWithDefaults()` (opens on one
// failure) is `consecutiveFailures: 1`, `WithFailureThreshold(n)` `consecutiveFailures: n`, `WithDelay(d)`
// `breakDuration: d`, `cb.Open()` is `isolate`, `cb.Metrics().Failures()`/`Successes()` are `snapshot`'s `failures`
// and `calls - failures`; `ratelimiter.NewBurstyBuilder(n, d)` (no wait) is `RateLimit.make({ limit: n, window: d,
// algorithm: "fixed-window", onExceeded: "fail" })`; `bulkhead.New(n)` with both permits held is
// `Bulkhead.make({ maxConcurrent: n })` with two calls holding a permit; a `timeout.New(d)` inside a RetryPolicy or a
// HedgePolicy (one per attempt) is `Deadline.attemptTimeout(d)`, elsewhere `Deadline.withDeadline(d)`;
// `fallback.NewWithResult(v)` / `NewWithFunc` is `Fallback.orElse(Effect.succeed(v))`, the failures the function reads
// (`exec.LastError()`) being the answer's `failures`. "Attempts" are the calls the retry (or hedge) made, "executions"
// the calls that reached the user's function. `time.Sleep` is TestClock time.
// Go's HedgePolicy cancels the other attempts on its first result or error unless `CancelIf` says otherwise: that is
// `while: () => false` (every failure is the answer), and `CancelIf(err == nil)` is `while: () => true`.
// Deliberate differences (each test says which): Go's RetryPolicy wraps the last error in `retrypolicy.ErrExceeded`
// (a fallback may match either); Sturdy's `Retry` returns the last failure itself. Not ported:
// TestCachePolicy_Composition (a cache policy keyed by the call; Sturdy's `StaleCache` has its own peer ports).
import { describe, expect, it } from "@effect/vitest"
import { Bulkhead, CircuitBreaker, Deadline, Fallback, Hedge, RateLimit, Retry } from "@sturdy/policy"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as Schedule from "effect/Schedule"
import { advanceToDone } from "./utils/advance.js"
import { counted } from "./utils/counted.js"
import { holdPermit } from "./utils/holdPermit.js"

class ErrInvalidState extends Error {}
class ErrInvalidArgument extends Error {}
class ErrConnecting extends Error {}

const defaults = { schedule: Schedule.recurs(2) } // retrypolicy.NewWithDefaults()

describe("peer failsafe-go policy_composition_test", () => {
  it.scoped("TestRetryPolicy_Composition with CircuitBreaker - success after failures", () =>
    Effect.gen(function*() {
      const cb = yield* CircuitBreaker.make("cb", { consecutiveFailures: 3, breakDuration: "10 minutes" })
      // ErrorNTimesThenReturn(ErrConnecting, 2, true)
      const stub = counted((n) => n <= 2 ? Effect.fail(new ErrConnecting()) : Effect.succeed(true))
      const exit = yield* advanceToDone(
        stub.call.pipe(CircuitBreaker.withBreaker(cb), Retry.retry({ schedule: Schedule.forever }))
      )
      expect(exit).toEqual(Exit.succeed(true))
      expect(stub.executions).toBe(3)
      const s = yield* cb.snapshot
      expect(s.calls - s.failures).toBe(1)
      expect(s.failures).toBe(2)
      expect(s.state).toBe("Closed")
    }))

  // Tests RetryPolicy with a CircuitBreaker that is open.
  it.scoped("TestRetryPolicy_Composition with CircuitBreaker - open", () =>
    Effect.gen(function*() {
      const cb = yield* CircuitBreaker.make("cb", { consecutiveFailures: 1, breakDuration: "1 minute" })
      const stub = counted(() => Effect.fail(new Error("test")))
      let attempts = 0
      const exit = yield* advanceToDone(
        Effect.suspend(() => {
          attempts++
          return stub.call.pipe(CircuitBreaker.withBreaker(cb))
        }).pipe(Retry.retry(defaults))
      )
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error).toBeInstanceOf(
        CircuitBreaker.CircuitOpen
      )
      expect(attempts).toBe(3)
      expect(stub.executions).toBe(1)
    }))

  it.effect("TestRetryPolicy_Composition with RateLimiter", () =>
    Effect.gen(function*() {
      const rl = yield* RateLimit.make({ limit: 3, window: "1 second", algorithm: "fixed-window", onExceeded: "fail" })
      const stub = counted(() => Effect.fail(new ErrInvalidState()))
      let attempts = 0
      let retries = 0
      const exit = yield* advanceToDone(
        Effect.suspend(() => {
          attempts++
          return stub.call.pipe(RateLimit.withRateLimit(rl, "key"))
        }).pipe(
          Retry.retry({
            schedule: Schedule.recurs(6), // WithMaxAttempts(7)
            onAttempt: (a) => Effect.sync(() => void (a.retrying && retries++))
          })
        )
      )
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error).toBeInstanceOf(
        RateLimit.RateLimitExceeded
      )
      expect(attempts).toBe(7)
      expect(retries).toBe(6)
      expect(stub.executions).toBe(3)
    }).pipe(Effect.provide(RateLimit.layerStoreMemory)))

  it.effect("TestRetryPolicy_Composition with Fallback", () =>
    Effect.gen(function*() {
      // With(rp, fb): the fallback is inside the retry, so the first attempt already answers
      const stub = counted(() => Effect.fail(new ErrInvalidState()))
      const answer = yield* stub.call.pipe(Fallback.orElse(Effect.succeed("test")), Retry.retry(defaults))
      expect(answer.value).toBe("test")
      expect(answer.source).toBe("fallback")
      expect(stub.executions).toBe(1)
    }))

  // Tests 2 timeouts, then a success, and asserts the execution is cancelled after each timeout.
  it.effect("TestRetryPolicy_Composition with Timeout", () =>
    Effect.gen(function*() {
      const interrupted: Array<number> = []
      const timeouts: Array<unknown> = []
      const stub = counted((n) =>
        n <= 2
          ? Effect.as(Effect.sleep("100 millis"), "late").pipe(
            Effect.onInterrupt(() => Effect.sync(() => void interrupted.push(n)))
          )
          : Effect.succeed("success")
      )
      const exit = yield* advanceToDone(
        stub.call.pipe(
          Deadline.attemptTimeout("50 millis"),
          Retry.retry({ ...defaults, onAttempt: (a) => Effect.sync(() => void timeouts.push(a.failure)) })
        )
      )
      expect(exit).toEqual(Exit.succeed("success"))
      expect(stub.executions).toBe(3)
      expect(interrupted).toEqual([1, 2])
      expect(timeouts).toHaveLength(2)
      for (const failure of timeouts) {
        expect(Deadline.isDeadlineExceeded(failure) && failure.reason).toBe("Attempt")
      }
    }))

  it.effect("TestRetryPolicy_Composition with Bulkhead", () =>
    Effect.gen(function*() {
      const bh = yield* Bulkhead.make({ maxConcurrent: 2 })
      yield* holdPermit(bh)
      yield* holdPermit(bh) // bulkhead should be full
      const stub = counted(() => Effect.fail(new Error("test")))
      let attempts = 0
      const exit = yield* advanceToDone(
        Effect.suspend(() => {
          attempts++
          return stub.call.pipe(Bulkhead.withBulkhead(bh))
        }).pipe(Retry.retry({ schedule: Schedule.recurs(6) }))
      )
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error).toMatchObject({
        _tag: "BulkheadRejected",
        reason: "Full"
      })
      expect(attempts).toBe(7)
      expect(stub.executions).toBe(0)
    }))

  describe("TestRetryPolicy_Composition with HedgePolicy", () => {
    it.effect("when hedge runs multiple times", () =>
      Effect.gen(function*() {
        let retries = 0
        let hedges = 0
        const stub = counted(() => Effect.zipRight(Effect.sleep("20 millis"), Effect.fail(new ErrInvalidState())))
        const exit = yield* advanceToDone(
          stub.call.pipe(
            Hedge.hedge({ delay: "10 millis", while: () => false, onHedge: () => Effect.sync(() => void hedges++) }),
            Retry.retry({ ...defaults, onAttempt: (a) => Effect.sync(() => void (a.retrying && retries++)) })
          )
        )
        expect(exit).toEqual(Exit.fail(new ErrInvalidState()))
        expect(stub.executions).toBe(6)
        expect(retries).toBe(2)
        expect(hedges).toBe(3)
      }))

    it.effect("when hedge returns error", () =>
      Effect.gen(function*() {
        let retries = 0
        let hedges = 0
        const stub = counted(() => Effect.fail(new ErrInvalidState()))
        const exit = yield* advanceToDone(
          stub.call.pipe(
            Hedge.hedge({ delay: "1 second", while: () => false, onHedge: () => Effect.sync(() => void hedges++) }),
            Retry.retry({ ...defaults, onAttempt: (a) => Effect.sync(() => void (a.retrying && retries++)) })
          )
        )
        expect(exit).toEqual(Exit.fail(new ErrInvalidState()))
        expect(stub.executions).toBe(3)
        expect(retries).toBe(2)
        expect(hedges).toBe(0)
      }))
  })

  it.scoped("TestCircuitBreaker_Composition with RetryPolicy", () =>
    Effect.gen(function*() {
      // WithAny(cb).Compose(rp): the breaker sees the retried call once
      const cb = yield* CircuitBreaker.make("cb", { consecutiveFailures: 3 })
      const stub = counted(() => Effect.fail(new ErrInvalidState()))
      const exit = yield* advanceToDone(stub.call.pipe(Retry.retry(defaults), CircuitBreaker.withBreaker(cb)))
      expect(exit).toEqual(Exit.fail(new ErrInvalidState()))
      expect(stub.executions).toBe(3)
      const s = yield* cb.snapshot
      expect(s.calls - s.failures).toBe(0)
      expect(s.failures).toBe(1)
      expect(s.state).toBe("Closed")
    }))

  it.scoped("TestCircuitBreaker_Composition with Timeout", () =>
    Effect.gen(function*() {
      const cb = yield* CircuitBreaker.make("cb", { consecutiveFailures: 1 })
      expect(yield* cb.state).toBe("Closed")
      const exit = yield* advanceToDone(
        Effect.sleep("100 millis").pipe(Deadline.withDeadline("50 millis"), CircuitBreaker.withBreaker(cb))
      )
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error).toBeInstanceOf(
        Deadline.DeadlineExceeded
      )
      expect(yield* cb.state).toBe("Open")
    }))

  it.effect("TestFallback_Composition with RetryPolicy", () =>
    Effect.gen(function*() {
      // Deliberate difference: Go's fallback handles `retrypolicy.ErrExceeded`, which wraps the last error; Sturdy's
      // Retry returns the last failure itself, so the fallback's condition names it
      const first = counted(() => Effect.fail(new ErrInvalidArgument()))
      const answer = yield* advanceToDone(
        first.call.pipe(
          Retry.retry(defaults),
          Fallback.orElse(Effect.succeed(true), { while: (e) => e instanceof ErrInvalidArgument })
        )
      )
      expect(Exit.isSuccess(answer) && answer.value.value).toBe(true)
      expect(first.executions).toBe(3)

      // a fallback function reading the last error
      const second = counted(() => Effect.fail(new ErrInvalidState()))
      const provenanced = yield* second.call.pipe(Retry.retry(defaults), Fallback.orElse(Effect.succeed(true)))
      expect(provenanced.value).toBe(true)
      expect(provenanced.failures.at(-1)?.error).toBeInstanceOf(ErrInvalidState)
      expect(second.executions).toBe(3)
    }))

  it.effect("TestFallback_Composition with HedgePolicy", () =>
    Effect.gen(function*() {
      const stub = counted(() => Effect.zipRight(Effect.sleep("50 millis"), Effect.fail(new ErrInvalidArgument())))
      const exit = yield* advanceToDone(
        stub.call.pipe(Hedge.hedge({ delay: "10 millis", while: () => false }), Fallback.orElse(Effect.succeed(true)))
      )
      expect(Exit.isSuccess(exit) && exit.value.value).toBe(true)
      expect(stub.executions).toBe(2)
    }))

  // Tests fallback with a circuit breaker that is closed.
  it.scoped("TestFallback_Composition with CircuitBreaker - closed", () =>
    Effect.gen(function*() {
      const cb = yield* CircuitBreaker.make("cb", { consecutiveFailures: 1, successThreshold: 3 })
      const stub = counted(() => Effect.fail(new ErrInvalidState()))
      const answer = yield* stub.call.pipe(CircuitBreaker.withBreaker(cb), Fallback.orElse(Effect.succeed(true)))
      expect(answer.value).toBe(true)
      expect(answer.failures.map((f) => f.error)).toEqual([new ErrInvalidState()])
      expect(answer.failures[0]?.error).toBeInstanceOf(ErrInvalidState)
      expect(stub.executions).toBe(1)
    }))

  // Tests fallback with a circuit breaker that is open.
  it.scoped("TestFallback_Composition with CircuitBreaker - open", () =>
    Effect.gen(function*() {
      const cb = yield* CircuitBreaker.make("cb", { consecutiveFailures: 1, successThreshold: 3 })
      yield* cb.isolate // cb.Open()
      const stub = counted(() => Effect.succeed(true))
      const answer = yield* stub.call.pipe(CircuitBreaker.withBreaker(cb), Fallback.orElse(Effect.succeed(false)))
      expect(answer.value).toBe(false)
      expect(answer.failures[0]?.error).toBeInstanceOf(CircuitBreaker.CircuitOpen)
      expect(stub.executions).toBe(0)
    }))

  it.effect("TestFallback_Composition with Timeout", () =>
    Effect.gen(function*() {
      const exit = yield* advanceToDone(
        Effect.as(Effect.sleep("100 millis"), false).pipe(
          Deadline.withDeadline("10 millis"),
          Fallback.orElse(Effect.succeed(true))
        )
      )
      expect(Exit.isSuccess(exit) && exit.value.value).toBe(true)
      expect(Exit.isSuccess(exit) && exit.value.failures[0]?.error).toBeInstanceOf(Deadline.DeadlineExceeded)
    }))

  // Hedge should be triggered twice since the timeouts are longer than the hedge delay.
  // Timeout should be triggered 3 times since the results from the hedges are not cancellable.
  it.effect("TestHedgePolicy_Composition with Timeout", () =>
    Effect.gen(function*() {
      let hedges = 0
      let timeouts = 0
      const interrupted: Array<number> = []
      // WaitAndAssertCanceled, then an error that does not cancel (CancelIf(err == nil))
      const attempt = Effect.flatMap(FiberRef.get(Hedge.currentIndex), (index) =>
        Effect.never.pipe(
          Effect.onInterrupt(() => Effect.sync(() => void interrupted.push(index))),
          Deadline.attemptTimeout("100 millis"),
          Effect.tapError(() => Effect.sync(() => void timeouts++))
        ))
      const exit = yield* advanceToDone(
        attempt.pipe(
          Hedge.hedge({
            delay: "10 millis",
            maxHedges: 2,
            while: () => true,
            onHedge: () => Effect.sync(() => void hedges++)
          })
        )
      )
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error).toMatchObject({
        _tag: "DeadlineExceeded",
        reason: "Attempt"
      })
      expect(hedges).toBe(2)
      expect(timeouts).toBe(3)
      expect(interrupted.sort()).toEqual([0, 1, 2])
    }))

  // Fallback -> RetryPolicy -> CircuitBreaker
  it.scoped("TestMultiPolicy_Composition with Fallback -> RetryPolicy -> CircuitBreaker", () =>
    Effect.gen(function*() {
      const cb = yield* CircuitBreaker.make("cb", { consecutiveFailures: 5 })
      const stub = counted(() => Effect.fail(new ErrInvalidState()))
      const answer = yield* stub.call.pipe(
        CircuitBreaker.withBreaker(cb),
        Retry.retry(defaults),
        Fallback.orElse(Effect.succeed("test"))
      )
      expect(answer.value).toBe("test")
      expect(stub.executions).toBe(3)
      const s = yield* cb.snapshot
      expect(s.calls - s.failures).toBe(0)
      expect(s.failures).toBe(3)
      expect(s.state).toBe("Closed")
    }))
})
