// Ported from failsafe-go's test/cancellation_test.go (failsafe-go/failsafe-go, commit
// 5759a5e6d557eace215f820f5b5e663d5c05c3ee), one `it` per Go case (`t.Run`), named after the Go test function and
// the case.
// Mapping: a canceled `context.Context` (`ContextWithCancel(d)`, canceled after d) and `ExecutionResult.Cancel()` are
// both the interruption of the caller's fiber (here `Fiber.interrupt` after d of TestClock time): Effect has one
// cancellation, so Go's `context.Canceled` and `ErrExecutionCanceled` are both an interrupted exit. A context with a
// deadline (`context.WithTimeout(d)`) is `Deadline.withDeadline(d)` around the call (`context.DeadlineExceeded` is
// `DeadlineExceeded` of reason "Deadline"); a `timeout.New(d)` outside the other policies is `Deadline.withDeadline(d)`
// too (`timeout.ErrExceeded`). `WaitAndAssertCanceled(exec)` is an attempt that never ends on its own and records its
// interruption. "Executions" are the calls that reached the user's function. `retrypolicy.NewWithDefaults()` is
// `Schedule.recurs(2)`, `WithDelay(d)` `Schedule.spaced(d)`; `bulkhead.NewBuilder(n).WithMaxWaitTime(d)` is
// `maxConcurrent: n, maxQueued: Infinity, maxWait: d` (Go queues any number of waiters), `TryAcquirePermit()` a call
// holding a permit; `ratelimiter.NewSmoothBuilder(n, d).WithMaxWaitTime(w)` is a token bucket of `limit: n, window: d,
// onExceeded: "delay", maxWait: w`, `TryAcquirePermit()` a `consume`; `fallback.NewWithError(nil)` is a fallback that
// succeeds with nothing.
// Deliberate differences (each test says which): a rate limiter whose wait would end at or after the current deadline
// fails at once with `RateLimitExceeded` (RateLimit.ts module doc) instead of waiting for the timeout to fire.
// Not ported: TestAdaptiveLimiter_Cancellation (Sturdy has no adaptive concurrency limiter; `AdaptiveThrottle` sheds
// load without queueing); TestCloseCanceledChannelBeforeAccessingIt (a Go channel detail with no counterpart).
import { describe, expect, it } from "@effect/vitest"
import { Bulkhead, Deadline, Fallback, Hedge, RateLimit, Retry } from "@sturdy/policy"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import { advanceToDone } from "./utils/advance.js"
import { holdPermit } from "./utils/holdPermit.js"

class ErrInvalidState extends Error {}
class ErrInvalidArgument extends Error {}

// the user's function: counts its executions and records those interrupted
const stub = <A, E>(body: (execution: number) => Effect.Effect<A, E>) => {
  const s: { executions: number; interrupted: Array<number>; readonly call: Effect.Effect<A, E> } = {
    executions: 0,
    interrupted: [],
    call: Effect.suspend(() => {
      const n = ++s.executions
      return body(n).pipe(Effect.onInterrupt(() => Effect.sync(() => void s.interrupted.push(n))))
    })
  }
  return s
}

// runs `self`, interrupts it `after` (Go's context canceled, or `result.Cancel()`), and returns its exit
const cancelAfter = <A, E>(self: Effect.Effect<A, E>, after: Duration.DurationInput) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(self)
    yield* TestClock.adjust(after)
    expect(fiber.unsafePoll()).toBeNull() // assert.False(t, result.IsDone())
    return yield* Fiber.interrupt(fiber)
  })

const failure = <A, E>(exit: Exit.Exit<A, E>) =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined

describe("peer failsafe-go cancellation_test", () => {
  // Asserts that an execution is marked as canceled when a provided Context is canceled.
  it.effect("TestExecution_Cancellation with Context", () =>
    Effect.gen(function*() {
      const s = stub(() => Effect.never)
      const exit = yield* cancelAfter(s.call.pipe(Retry.retry({ schedule: Schedule.recurs(2) })), "100 millis")
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(s.executions).toBe(1)
      expect(s.interrupted).toEqual([1])
    }))

  // Asserts that an execution is marked as canceled when a provided Context deadline is exceeded.
  it.effect("TestExecution_Cancellation with Deadline", () =>
    Effect.gen(function*() {
      const s = stub(() => Effect.never)
      const exit = yield* advanceToDone(
        s.call.pipe(Retry.retry({ schedule: Schedule.recurs(2) }), Deadline.withDeadline("100 millis"))
      )
      expect(failure(exit)).toMatchObject({ _tag: "DeadlineExceeded", reason: "Deadline" })
      expect(s.executions).toBe(1)
      expect(s.interrupted).toEqual([1])
    }))

  // Asserts that an execution is marked as canceled when it's canceled via an execution result.
  // Also asserts that the context provided to an execution is canceled.
  it.effect("TestExecution_Cancellation with ExecutionResult", () =>
    Effect.gen(function*() {
      const s = stub(() => Effect.never)
      const exit = yield* cancelAfter(s.call.pipe(Retry.retry({ schedule: Schedule.recurs(2) })), "100 millis")
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(s.interrupted).toEqual([1])
    }))

  // Asserts that an execution is marked as canceled when a timeout is exceeded.
  // Also asserts that the context provided to an execution is canceled.
  it.effect("TestTimeout_Cancellation during execution", () =>
    Effect.gen(function*() {
      const s = stub(() => Effect.never)
      const exit = yield* advanceToDone(s.call.pipe(Deadline.withDeadline("100 millis")))
      expect(failure(exit)).toBeInstanceOf(Deadline.DeadlineExceeded)
      expect(s.executions).toBe(1)
      expect(s.interrupted).toEqual([1])
    }))

  // Asserts that when a RetryPolicy is blocked on a delay, canceling the context results in a Canceled error being
  // returned.
  it.effect("TestRetryPolicy_Cancellation with context during pending retry", () =>
    Effect.gen(function*() {
      const s = stub(() => Effect.fail(new ErrInvalidState()))
      const exit = yield* cancelAfter(s.call.pipe(Retry.retry({ schedule: Schedule.spaced("1 second") })), "50 millis")
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(s.executions).toBe(1)
      // no retry runs after the cancellation
      yield* TestClock.adjust("10 seconds")
      expect(s.executions).toBe(1)
    }))

  // Asserts that waiting on a cancelation from an ExecutionResult works from during a retry delay.
  it.effect("TestRetryPolicy_Cancellation with ExecutionResult during successive retry", () =>
    Effect.gen(function*() {
      const s = stub(() => Effect.fail(new ErrInvalidState()))
      const exit = yield* cancelAfter(
        s.call.pipe(Retry.retry({ schedule: Schedule.spaced("1 second") })),
        "100 millis"
      )
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(s.executions).toBe(1)
    }))

  // Asserts that a cancellation with a fallback returns the expected error.
  it.effect("TestFallback_Cancellation with context during execution", () =>
    Effect.gen(function*() {
      let fallbacks = 0
      const s = stub(() => Effect.zipRight(Effect.sleep("200 millis"), Effect.fail(new ErrInvalidArgument())))
      const exit = yield* cancelAfter(
        s.call.pipe(Fallback.orElse(Effect.sync(() => void fallbacks++))),
        "50 millis"
      )
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(s.executions).toBe(1)
      expect(s.interrupted).toEqual([1])
      expect(fallbacks).toBe(0)
    }))

  // Asserts that waiting on a cancelation from a context works from within a fallback function.
  it.effect("TestFallback_Cancellation with context during fallback func", () =>
    Effect.gen(function*() {
      let fallbackInterrupted = false
      const s = stub(() => Effect.fail(new ErrInvalidState()))
      const fallback = Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => (fallbackInterrupted = true))))
      const exit = yield* cancelAfter(s.call.pipe(Fallback.orElse(fallback)), "100 millis")
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(s.executions).toBe(1)
      expect(fallbackInterrupted).toBe(true)
    }))

  // Asserts that waiting on a cancelation from an ExecutionResult works from within a fallback function.
  it.effect("TestFallback_Cancellation with ExecutionResult during fallback func", () =>
    Effect.gen(function*() {
      let fallbackInterrupted = false
      const s = stub(() => Effect.fail(new ErrInvalidState()))
      const fallback = Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => (fallbackInterrupted = true))))
      const exit = yield* cancelAfter(s.call.pipe(Fallback.orElse(fallback)), "100 millis")
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(fallbackInterrupted).toBe(true)
    }))

  describe("TestRateLimit_Cancellation", () => {
    const smooth = (n: number, window: Duration.DurationInput) =>
      RateLimit.make({ limit: n, window, algorithm: "token-bucket", onExceeded: "delay", maxWait: "1 minute" })

    // Asserts that when a RateLimiter is blocked on a delay, canceling the context results in a Canceled error being
    // returned.
    it.effect("with context during RateLimiter delay", () =>
      Effect.gen(function*() {
        const rl = yield* smooth(1, "1 second") // NewSmoothBuilderWithMaxRate(1s)
        yield* rl.consume("key") // All permits used
        const s = stub(() => Effect.fail(new ErrInvalidState()))
        const exit = yield* cancelAfter(s.call.pipe(RateLimit.withRateLimit(rl, "key")), "100 millis")
        expect(Exit.isInterrupted(exit)).toBe(true)
        expect(s.executions).toBe(0)
      }).pipe(Effect.provide(RateLimit.layerStoreMemory)))

    // Asserts that when a RateLimiter is blocked on a delay, canceling with a timeout results in the rate limiter being
    // unblocked.
    it.effect("with Timeout during RateLimiter delay", () =>
      Effect.gen(function*() {
        const rl = yield* smooth(1, "30 seconds")
        yield* rl.consume("key") // All permits used
        const s = stub(() => Effect.void)
        const exit = yield* advanceToDone(
          s.call.pipe(RateLimit.withRateLimit(rl, "key"), Deadline.withDeadline("100 millis"))
        )
        // Deliberate difference: Go waits until the timeout fires (timeout.ErrExceeded); Sturdy's limiter sees that the
        // 30 s wait ends after the deadline and fails at once with RateLimitExceeded, giving its slot back
        expect(failure(exit)).toMatchObject({ _tag: "RateLimitExceeded", reason: "Limit" })
        expect(s.executions).toBe(0)
      }).pipe(Effect.provide(RateLimit.layerStoreMemory)))

    // Asserts that an execution is marked as canceled when it's canceled via an execution result.
    // Also asserts that the context provided to an execution is canceled.
    it.effect("with ExecutionResult during RateLimiter delay", () =>
      Effect.gen(function*() {
        const rl = yield* smooth(1, "30 seconds")
        yield* rl.consume("key") // All permits used
        const s = stub(() => Effect.void)
        const exit = yield* cancelAfter(s.call.pipe(RateLimit.withRateLimit(rl, "key")), "100 millis")
        expect(Exit.isInterrupted(exit)).toBe(true)
        expect(s.executions).toBe(0)
      }).pipe(Effect.provide(RateLimit.layerStoreMemory)))
  })

  describe("TestBulkhead_Cancellation", () => {
    const full = (maxWait: Duration.DurationInput) =>
      Effect.gen(function*() {
        const bh = yield* Bulkhead.make({ maxConcurrent: 2, maxQueued: Infinity, maxWait })
        yield* holdPermit(bh)
        yield* holdPermit(bh) // bulkhead should be full
        return bh
      })

    it.effect("with context during Bulkhead delay", () =>
      Effect.gen(function*() {
        const bh = yield* full("200 millis")
        const s = stub(() => Effect.void)
        const exit = yield* cancelAfter(s.call.pipe(Bulkhead.withBulkhead(bh)), "100 millis")
        expect(Exit.isInterrupted(exit)).toBe(true)
        expect(s.executions).toBe(0)
        expect(yield* bh.snapshot).toEqual({ active: 2, queued: 0 }) // the cancelled caller left the queue
      }))

    it.effect("with Timeout during Bulkhead delay", () =>
      Effect.gen(function*() {
        const bh = yield* full("100 millis")
        const s = stub(() => Effect.void)
        const exit = yield* advanceToDone(s.call.pipe(Bulkhead.withBulkhead(bh), Deadline.withDeadline("10 millis")))
        expect(failure(exit)).toMatchObject({ _tag: "DeadlineExceeded", reason: "Deadline" })
        expect(s.executions).toBe(0)
        expect(yield* bh.snapshot).toEqual({ active: 2, queued: 0 })
      }))

    // Asserts that waiting on a cancelation from an ExecutionResult works from within a bulkhead function.
    it.effect("with ExecutionResult during Bulkhead delay", () =>
      Effect.gen(function*() {
        const bh = yield* full("1 second")
        const s = stub(() => Effect.fail(new ErrInvalidState()))
        const exit = yield* cancelAfter(s.call.pipe(Bulkhead.withBulkhead(bh)), "100 millis")
        expect(Exit.isInterrupted(exit)).toBe(true)
        expect(s.executions).toBe(0)
      }))
  })

  describe("TestHedgePolicy_Cancellation", () => {
    // an attempt that waits until cancelled, recording the index of each one interrupted
    const waiting = () => {
      const s = { hedges: 0, started: 0, interrupted: [] as Array<number> }
      const call = Effect.flatMap(FiberRef.get(Hedge.currentIndex), (index) => {
        s.started++
        return Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => void s.interrupted.push(index))))
      })
      return { s, call, onHedge: () => Effect.sync(() => void s.hedges++) }
    }

    // Tests canceling an execution that is blocked, before hedges have started.
    it.effect("with context before hedge", () =>
      Effect.gen(function*() {
        const { call, onHedge, s } = waiting()
        const exit = yield* cancelAfter(
          call.pipe(Hedge.hedge({ delay: "1 second", maxHedges: 2, onHedge })),
          "100 millis"
        )
        expect(Exit.isInterrupted(exit)).toBe(true)
        expect(s.started).toBe(1)
        expect(s.hedges).toBe(0)
        expect(s.interrupted).toEqual([0])
      }))

    // Tests canceling an execution after hedges have been started.
    it.effect("with context during hedge", () =>
      Effect.gen(function*() {
        const { call, onHedge, s } = waiting()
        const exit = yield* cancelAfter(
          call.pipe(Hedge.hedge({ delay: "10 millis", maxHedges: 2, onHedge })),
          "100 millis"
        )
        expect(Exit.isInterrupted(exit)).toBe(true)
        expect(s.started).toBe(3)
        expect(s.interrupted.sort()).toEqual([0, 1, 2]) // waiter.AwaitWithTimeout(3, ...)
      }))

    it.effect("with Timeout during hedge", () =>
      Effect.gen(function*() {
        const { call, onHedge, s } = waiting()
        const exit = yield* advanceToDone(
          call.pipe(Hedge.hedge({ delay: "10 millis", maxHedges: 2, onHedge }), Deadline.withDeadline("100 millis"))
        )
        expect(failure(exit)).toMatchObject({ _tag: "DeadlineExceeded", reason: "Deadline" })
        expect(s.started).toBe(3)
        expect(s.interrupted.sort()).toEqual([0, 1, 2])
      }))
  })
})
