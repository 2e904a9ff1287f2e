// Ported from failsafe-go's test/hedgepolicy_test.go and test/issues/issue141_test.go (failsafe-go/failsafe-go, commit
// 5759a5e6d557eace215f820f5b5e663d5c05c3ee; the package hedgepolicy/ has no test file of its own), one `it` per Go
// case (`t.Run`, or the test function), named after it.
// Mapping: `hedgepolicy.NewBuilderWithDelay(d)` is `Hedge.hedge({ delay: d })`, `WithMaxHedges(n)` is `maxHedges: n`;
// `stats.Hedges()` counts `onHedge` calls; `exec.Attempts()` is `Hedge.currentIndex + 1`; `time.Sleep` is TestClock
// time, and `WaitAndAssertCanceled(exec)` (an attempt that waits until the policy cancels it) is an attempt that never
// ends on its own and records its interruption. `NewBuilderWithDelayQuantile(q, maxSamples, warmup)` is
// `Hedge.percentile({ quantile: q, minSamples: warmup })` over a tracker of `samples: maxSamples`; Go does not hedge
// during the warm-up, which is `fallback: Duration.infinity`. A hedge budget (`WithBudget(budget.NewBuilder().
// WithMinConcurrency(1))`: one hedge in flight at most) is a `RetryBudget` under `budgetKey` that grants one retry
// (`ratio: 0, minRetries: 1`).
// Deliberate differences (each test says which): in Go every result, success or error, is final (it cancels the
// other attempts) unless `CancelOn...` conditions are set, and then only the matching results are. In Sturdy a success
// always wins, and a failure is final only when `while` refuses it; a "result that does not cancel" (not matched by
// `CancelOnResult`) is therefore a typed failure carrying the result, and `while` accepts it. Such a failure sends the
// next hedge at once (Go waits for the delay). Go's negative delay ("stop hedging") has no counterpart: Sturdy's delay
// is a duration or a percentile (a negative one is a RangeError), and `maxHedges: 0` turns hedging off.
import { describe, expect, it } from "@effect/vitest"
import * as Hedge from "@sturdy/policy/Hedge"
import * as RetryBudget from "@sturdy/policy/RetryBudget"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import { advanceToDone } from "./utils/advance.js"

// a result that does not match Go's `CancelOnResult`: a typed failure that `while` lets through
class Result extends Error {
  constructor(readonly value: unknown) {
    super(`result ${String(value)}`)
  }
}

// an attempt counter and a hedge counter (`policytesting.Stats`), and a record of the attempts interrupted
const makeStats = () => {
  const s = {
    attempts: 0,
    hedges: 0,
    interrupted: [] as Array<number>,
    onHedge: () => Effect.sync(() => void s.hedges++),
    // runs `body` with the attempt number (1 for the first), counting it and recording its interruption
    attempt: <A, E>(body: (attempt: number) => Effect.Effect<A, E>) =>
      Effect.flatMap(FiberRef.get(Hedge.currentIndex), (index) => {
        s.attempts++
        return body(index + 1).pipe(Effect.onInterrupt(() => Effect.sync(() => void s.interrupted.push(index + 1))))
      })
  }
  return s
}

// Go's `WaitAndAssertCanceled`: waits until the policy interrupts the attempt
const waitCanceled = Effect.never

describe("peer failsafe-go TestHedgePolicy", () => {
  it.effect("should not hedge when delay not exceeded", () =>
    Effect.gen(function*() {
      const stats = makeStats()
      const exit = yield* advanceToDone(
        stats.attempt(() => Effect.void).pipe(Hedge.hedge({ delay: "1 second", onHedge: stats.onHedge }))
      )
      expect(exit).toEqual(Exit.void)
      expect(stats.attempts).toBe(1)
      expect(stats.hedges).toBe(0)
    }))

  // Tests a simple execution that hedges after a delay. Should return a result from the initial execution, but not
  // until hedges are started.
  it.effect("should hedge when delay exceeded", () =>
    Effect.gen(function*() {
      const stats = makeStats()
      // SlowNTimesThenReturn(1, 100ms, true, false)
      const call = stats.attempt((attempt) =>
        attempt <= 1 ? Effect.as(Effect.sleep("100 millis"), true) : Effect.as(waitCanceled, false)
      )
      const exit = yield* advanceToDone(
        call.pipe(Hedge.hedge({ delay: "10 millis", maxHedges: 2, onHedge: stats.onHedge }))
      )
      expect(exit).toEqual(Exit.succeed(true))
      expect(stats.attempts).toBe(3)
      expect(stats.hedges).toBe(2)
      expect(stats.interrupted.sort()).toEqual([2, 3])
    }))

  // Asserts that the expected number of hedges are executed.
  it.effect("all hedges used", () =>
    Effect.gen(function*() {
      const stats = makeStats()
      const isHedge: Array<boolean> = []
      const call = stats.attempt((attempt) =>
        Effect.gen(function*() {
          isHedge.push((yield* FiberRef.get(Hedge.currentIndex)) > 0)
          yield* Effect.sleep("100 millis")
          return attempt
        })
      )
      const exit = yield* advanceToDone(
        call.pipe(Hedge.hedge({ delay: "20 millis", maxHedges: 2, onHedge: stats.onHedge }))
      )
      expect(exit).toEqual(Exit.succeed(1))
      expect(stats.attempts).toBe(3)
      expect(stats.hedges).toBe(2)
      expect(isHedge).toEqual([false, true, true])
    }))

  // Asserts that backup executions, which are hedges with 0 delay, are supported.
  it.effect("backup executions", () =>
    Effect.gen(function*() {
      const stats = makeStats()
      // CancelOnResult(3): the results 1 and 2 do not cancel (failures `while` accepts), 3 does (a success)
      const call = stats.attempt((attempt) => attempt === 3 ? Effect.succeed(3) : Effect.fail(new Result(attempt)))
      const exit = yield* advanceToDone(
        call.pipe(Hedge.hedge({ delay: 0, maxHedges: 2, onHedge: stats.onHedge, while: (e) => e instanceof Result }))
      )
      expect(exit).toEqual(Exit.succeed(3))
      expect(stats.attempts).toBe(3)
      expect(stats.hedges).toBe(2)
    }))

  // Asserts that when a negative delay stops hedging, the result of the initial execution is returned, even though it
  // does not match a cancellation condition.
  it.effect("should return result with negative delay when no result is cancellable", () =>
    Effect.gen(function*() {
      // Deliberate difference: no delay stops hedging; `maxHedges: 0` does. The result 2, which does not match
      // CancelOnResult(1), is a failure `while` accepts; with no hedge left it is the call's answer, at once.
      const stats = makeStats()
      const call = stats.attempt(() => Effect.fail(new Result(2)))
      expect(() => Hedge.hedge(call, { delay: -1, maxHedges: 2 })).toThrow(RangeError)
      const exit = yield* advanceToDone(
        call.pipe(
          Hedge.hedge({ delay: "10 millis", maxHedges: 0, onHedge: stats.onHedge, while: (e) => e instanceof Result })
        )
      )
      expect(exit).toEqual(Exit.fail(new Result(2)))
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && (exit.cause.error as Result).value).toBe(2)
      expect(stats.attempts).toBe(1)
      expect(stats.hedges).toBe(0)
    }))

  // Asserts that no hedging occurs during the warmup period for quantile-based delay.
  it.effect("should not hedge with quantile during warmup", () =>
    Effect.gen(function*() {
      const stats = makeStats()
      const tracker = Hedge.unsafeMakeLatencyTracker({ samples: 30 })
      const delay = Hedge.percentile({
        tracker,
        key: "call",
        quantile: 0.95,
        minSamples: 20,
        fallback: Duration.infinity
      })
      for (let i = 0; i < 20; i++) {
        const exit = yield* advanceToDone(
          stats.attempt(() => Effect.as(Effect.sleep("5 millis"), 1)).pipe(
            Hedge.hedge({ delay, maxHedges: 1, onHedge: stats.onHedge })
          )
        )
        expect(exit).toEqual(Exit.succeed(1))
      }
      expect(stats.hedges).toBe(0)
      expect(stats.attempts).toBe(20)
    }))

  // Asserts that quantile-based delay triggers hedging for slow executions after warmup.
  it.effect("should hedge with quantile", () =>
    Effect.gen(function*() {
      const stats = makeStats()
      const tracker = Hedge.unsafeMakeLatencyTracker({ samples: 30 })
      const policy = Hedge.hedge({
        delay: Hedge.percentile({ tracker, key: "call", quantile: 0.95, minSamples: 20, fallback: Duration.infinity }),
        onHedge: stats.onHedge
      })
      // Warmup - feed 25 fast executions to establish a baseline
      for (let i = 0; i < 25; i++) {
        const exit = yield* advanceToDone(stats.attempt(() => Effect.as(Effect.sleep("5 millis"), 1)).pipe(policy))
        expect(exit).toEqual(Exit.succeed(1))
      }
      const hedgesBeforeSlow = stats.hedges
      // When - execute a slow request that exceeds the quantile delay
      const exit = yield* advanceToDone(
        stats.attempt((attempt) => attempt > 1 ? Effect.succeed(2) : Effect.as(Effect.sleep("200 millis"), 1)).pipe(
          policy
        )
      )
      expect(exit).toEqual(Exit.succeed(2))
      expect(stats.hedges).toBe(hedgesBeforeSlow + 1)
    }))

  // Asserts that a specific cancellable hedge result is returned.
  describe("should cancel on result", () => {
    // CancelOnResult(true).CancelOnResult(3): both are successes; every other result would be a failure `while`
    // accepts (none comes before the cancellation here)
    const options = (stats: ReturnType<typeof makeStats>) =>
      ({
        delay: "10 millis",
        maxHedges: 4,
        onHedge: stats.onHedge,
        while: (e: unknown) => e instanceof Result
      }) as const

    it.effect("first returned result triggers cancellation", () =>
      Effect.gen(function*() {
        const stats = makeStats()
        const call = stats.attempt((attempt): Effect.Effect<unknown, Result> =>
          attempt === 3 ? Effect.succeed(true) : Effect.as(waitCanceled, false)
        )
        const exit = yield* advanceToDone(call.pipe(Hedge.hedge(options(stats))))
        expect(exit).toEqual(Exit.succeed(true))
        expect(stats.attempts).toBe(3)
        expect(stats.hedges).toBe(2)
        expect(stats.interrupted.sort()).toEqual([1, 2])
      }))

    it.effect("third returned result triggers cancellation", () =>
      Effect.gen(function*() {
        const stats = makeStats()
        // SlowNTimesThenReturn(3, 100ms, 3, 0)
        const call = stats.attempt((attempt): Effect.Effect<number, Result> =>
          attempt <= 3 ? Effect.as(Effect.sleep("100 millis"), 3) : Effect.as(waitCanceled, 0)
        )
        const exit = yield* advanceToDone(call.pipe(Hedge.hedge(options(stats))))
        expect(exit).toEqual(Exit.succeed(3))
        expect(stats.attempts).toBe(5)
        expect(stats.hedges).toBe(4)
        // the first attempt answers at 100 ms; the other four are cancelled
        expect(stats.interrupted.sort()).toEqual([2, 3, 4, 5])
      }))
  })
})

describe("peer failsafe-go TestIssue141", () => {
  // Asserts that when a hedge budget is exceeded, only the hedge that exceeds the budget is suppressed, and attempts
  // that are already inflight, including the initial attempt, are still allowed to produce a result.
  it.effect("TestIssue141", () =>
    Effect.gen(function*() {
      const stats = makeStats()
      const call = stats.attempt(() => Effect.as(Effect.sleep("200 millis"), "success"))
      const exit = yield* advanceToDone(
        call.pipe(
          Hedge.hedge({ delay: "20 millis", maxHedges: 2, budgetKey: "upstream", onHedge: stats.onHedge }),
          Effect.provide(RetryBudget.layer({ ratio: 0, minRetries: 1 }))
        )
      )
      expect(exit).toEqual(Exit.succeed("success"))
      // the first hedge was granted, the second refused; the attempts in flight answered
      expect(stats.attempts).toBe(2)
      expect(stats.hedges).toBe(1)
    }))
})
