// Ported from slok/goresilience at 3163dfcb956c6ada224984dbf6a237137c1010ba: bulkhead/bulkhead_test.go and
// concurrencylimit/execute/fifo_test.go, one `it` per table case, named after it.
// Mapping: `bulkhead.New(Config{Workers, MaxWaitTime})` is `Bulkhead.make({ maxConcurrent: Workers, maxQueued:
// Infinity, maxWait: MaxWaitTime })` over goresilience's defaults (15 workers; a `MaxWaitTime` of 0 waits as long as
// it takes: no `maxWait`). The FIFO executor `execute.NewFIFO(FIFOConfig{MaxWaitTime})` with
// `SetWorkerQuantity(n)` is the same bulkhead with `maxConcurrent: n` and `maxWait: MaxWaitTime` (default 1 s): a
// fixed pool of workers fed from one first-in-first-out queue whose callers give up after `MaxWaitTime`, as Sturdy's
// queue is. `errors.ErrTimeoutWaitingForExecution` / `ErrRejectedExecution` are `BulkheadRejected` "Timeout". Calls
// are fibers; `time.Sleep` is virtual, moved by `advanceToDone`.
// Differences: goresilience's first case checks the count within 10 % (`InEpsilon`), its timing being real; on the
// TestClock the counts are exact.
// Not ported: concurrencylimit/execute's lifo_test.go and codel_test.go (LIFO and CoDel queues: Sturdy's bulkhead
// queue is FIFO only), executor_test.go (benchmarks), concurrencylimit/limit/aimd_test.go, concurrencylimit_test.go
// and policy_test.go (an AIMD adaptive concurrency limit and the result policies that feed it: Sturdy has no adaptive
// concurrency limiter; its `AdaptiveThrottle` rejects by rate, not by concurrency).
import { describe, expect, it } from "@effect/vitest"
import { Bulkhead } from "@sturdy/policy"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { advanceToDone } from "./utils/advance.js"

// calls `f` `times` times at once through `bulkhead` and counts the successes and the failures
const callAll = <E>(bulkhead: Bulkhead.Bulkhead, f: Effect.Effect<void, E>, times: number) =>
  Effect.gen(function*() {
    const exits = yield* advanceToDone(
      Effect.all(Array.from({ length: times }, () => Effect.exit(Bulkhead.withBulkhead(f, bulkhead))), {
        concurrency: "unbounded"
      })
    )
    if (Exit.isFailure(exits)) return yield* Effect.dieMessage("the calls never end")
    const failures = exits.value.filter(Exit.isFailure)
    for (const failure of failures) {
      expect(
        failure.cause._tag === "Fail" && Bulkhead.isBulkheadRejected(failure.cause.error) &&
          failure.cause.error.reason === "Timeout"
      ).toBe(true)
    }
    return { calls: times - failures.length, errors: failures.length }
  })

describe("slok/goresilience bulkhead_test.go TestBulkheadTimeout", () => {
  it.effect("A bulkhead without timeout should complete all runs.", () =>
    Effect.gen(function*() {
      const bk = yield* Bulkhead.make({ maxConcurrent: 15, maxQueued: Infinity })
      expect(yield* callAll(bk, Effect.sleep("2 millis"), 100)).toEqual({ calls: 100, errors: 0 })
    }))

  it.effect("A bulkhead with timeout should timeout the funcs waiting to run if they have waited too much.", () =>
    Effect.gen(function*() {
      const bk = yield* Bulkhead.make({ maxConcurrent: 10, maxQueued: Infinity, maxWait: "5 millis" })
      expect(yield* callAll(bk, Effect.sleep("20 millis"), 100)).toEqual({ calls: 10, errors: 90 })
    }))
})

describe("slok/goresilience concurrencylimit/execute fifo_test.go", () => {
  describe("TestExecuteFIFO", () => {
    it.effect("A FIFO executor with a not aggresive timeout and sufficent workers should execute all.", () =>
      Effect.gen(function*() {
        const exec = yield* Bulkhead.make({ maxConcurrent: 100, maxQueued: Infinity, maxWait: "1 second" })
        expect((yield* callAll(exec, Effect.void, 50)).calls).toBe(50)
      }))

    it.effect("A simple executor with a an aggresive timeout and not sufficent workers should fail fast.", () =>
      Effect.gen(function*() {
        const exec = yield* Bulkhead.make({ maxConcurrent: 25, maxQueued: Infinity, maxWait: Duration.nanos(10n) })
        expect((yield* callAll(exec, Effect.sleep("10 millis"), 50)).calls).toBe(25)
      }))
  })

  it.effect("TestExecuteFIFOOrder: In a FIFO queue the queued objects should execute in a first-in-first-out priority.", () =>
    Effect.gen(function*() {
      // long enough so that nothing times out
      const exec = yield* Bulkhead.make({ maxConcurrent: 1, maxQueued: Infinity, maxWait: "500 millis" })
      const results: Array<number> = []
      const calls = Effect.forEach(Array.from({ length: 12 }, (_, i) => i), (i) =>
        // one call a millisecond, each running 2 ms: they queue in the order they came
        Effect.sleep("1 millis").pipe(
          Effect.zipRight(Effect.fork(Bulkhead.withBulkhead(
            Effect.zipRight(Effect.sleep("2 millis"), Effect.sync(() => void results.push(i))),
            exec
          )))
        ))
      yield* advanceToDone(Effect.flatMap(calls, (fibers) => Effect.forEach(fibers, (f) => f.await)))
      expect(results).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
    }))
})
