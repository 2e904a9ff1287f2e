// Ported from Polly's bulkhead specs, test/Polly.Specs/Bulkhead/BulkheadSpecsBase.cs with its scenarios
// (BulkheadScenarios.cs) (App-vNext/Polly; Polly v8's counterpart is a ConcurrencyLimiter, whose default of 1,000
// permits and no queue is Sturdy's `Policy` bulkhead default too). One `it` per Polly scenario of
// "Should_control_executions_per_specification", named after the case and the scenario.
// Mapping: `Bulkhead(maxParallelization, maxQueuingActions)` is `Bulkhead.make({ maxConcurrent, maxQueued })`;
// `BulkheadAvailableCount` / `QueueAvailableCount` are `maxConcurrent − snapshot.active` / `maxQueued −
// snapshot.queued`; `BulkheadRejectedException` is `BulkheadRejected`; cancelling an action is interrupting its
// fiber; completing one is releasing the gate it waits on.
// Not ported: argument validation ("Should_throw_when_maxParallelization_less_or_equal_to_zero", ...: Sturdy's are in
// Bulkhead.test.ts) and the .NET disposal cases.
import { describe, expect, it } from "@effect/vitest"
import * as Bulkhead from "@sturdy/policy/Bulkhead"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"

type Status = "QueueingForSemaphore" | "Executing" | "Completed" | "Canceled" | "Rejected"

const scenarios = [
  [5, 0, 3, false, false, "A bulkhead, with no queue, not even oversubscribed."],
  [20, 0, 3, false, true, "A high capacity bulkhead, with no queue, not even oversubscribed; cancel some executing."],
  [3, 0, 4, false, false, "A bulkhead, with no queue, oversubscribed."],
  [3, 1, 5, false, false, "A bulkhead, with not enough queue to avoid rejections, oversubscribed."],
  [
    6,
    3,
    9,
    true,
    true,
    "A bulkhead, with not enough queue to avoid rejections, oversubscribed; cancel some queuing, and some executing."
  ],
  [5, 3, 8, false, false, "A bulkhead, with enough queue to avoid rejections, oversubscribed."],
  [
    6,
    3,
    9,
    true,
    true,
    "A bulkhead, with enough queue to avoid rejections, oversubscribed; cancel some queuing, and some executing."
  ],
  [
    1,
    6,
    5,
    true,
    true,
    "A very tight capacity bulkhead, but which allows a huge queue; enough for all actions to be gradually processed; cancel some queuing, and some executing."
  ]
] as const

const settle = Effect.repeatN(Effect.yieldNow(), 50)

describe("peer Polly BulkheadSpecsBase", () => {
  for (
    const [maxParallelization, maxQueuingActions, totalActions, cancelQueuingAtFirst, cancelExecutingAtFirst, scenario]
      of scenarios
  ) {
    it.effect(`Should_control_executions_per_specification: ${scenario}`, () =>
      Effect.gen(function*() {
        let cancelQueuing: boolean = cancelQueuingAtFirst
        let cancelExecuting: boolean = cancelExecutingAtFirst
        const bulkhead = yield* Bulkhead.make({ maxConcurrent: maxParallelization, maxQueued: maxQueuingActions })
        const actions = yield* Effect.forEach(Array.from({ length: totalActions }, (_, i) => i), () =>
          Effect.gen(function*() {
            const gate = yield* Deferred.make<void>()
            const action = {
              status: "QueueingForSemaphore" as Status,
              gate,
              fiber: undefined as unknown as Fiber.RuntimeFiber<void, unknown>
            }
            action.fiber = yield* Effect.fork(
              Effect.sync(() => (action.status = "Executing")).pipe(
                Effect.zipRight(Deferred.await(gate)),
                Bulkhead.withBulkhead(bulkhead),
                Effect.onExit((exit) =>
                  Effect.sync(() => {
                    action.status = Exit.isSuccess(exit)
                      ? "Completed"
                      : Exit.isInterrupted(exit)
                      ? "Canceled"
                      : "Rejected"
                  })
                )
              )
            )
            return action
          }))

        let expectedCompleted = 0
        let expectedCancelled = 0
        let expectedExecuting = Math.min(totalActions, maxParallelization)
        const expectedRejects = Math.max(0, totalActions - maxParallelization - maxQueuingActions)
        let expectedQueuing = Math.min(maxQueuingActions, Math.max(0, totalActions - maxParallelization))
        let expectedBulkheadFree = maxParallelization - expectedExecuting
        let expectedQueueFree = maxQueuingActions - expectedQueuing

        const actualsMatchExpecteds = Effect.gen(function*() {
          yield* settle
          const count = (status: Status) =>
            actions.filter((a) =>
              a.status === status
            ).length
          const snapshot = yield* bulkhead.snapshot
          expect({
            completed: count("Completed"),
            cancelled: count("Canceled"),
            executing: count("Executing"),
            rejects: count("Rejected"),
            queuing: count("QueueingForSemaphore"),
            bulkheadFree: maxParallelization - snapshot.active,
            queueFree: maxQueuingActions - snapshot.queued
          }).toEqual({
            completed: expectedCompleted,
            cancelled: expectedCancelled,
            executing: expectedExecuting,
            rejects: expectedRejects,
            queuing: expectedQueuing,
            bulkheadFree: expectedBulkheadFree,
            queueFree: expectedQueueFree
          })
        })

        yield* actualsMatchExpecteds
        for (const action of actions.filter((a) => a.status === "Rejected")) {
          const exit = yield* Fiber.await(action.fiber)
          expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && Bulkhead.isBulkheadRejected(exit.cause.error))
            .toBe(true)
        }

        while (expectedExecuting > 0) {
          if (cancelQueuing) {
            yield* Fiber.interrupt(actions.find((a) => a.status === "QueueingForSemaphore")!.fiber)
            expectedCancelled++
            expectedQueuing--
            expectedQueueFree++
            cancelQueuing = false
          } else if (cancelExecuting) {
            yield* Fiber.interrupt(actions.find((a) => a.status === "Executing")!.fiber)
            expectedCancelled++
            if (expectedQueuing > 0) {
              expectedQueuing--
              expectedQueueFree++
            } else {
              expectedExecuting--
              expectedBulkheadFree++
            }
            cancelExecuting = false
          } else {
            yield* Deferred.succeed(actions.find((a) => a.status === "Executing")!.gate, undefined)
            expectedCompleted++
            if (expectedQueuing > 0) {
              expectedQueuing--
              expectedQueueFree++
            } else {
              expectedExecuting--
              expectedBulkheadFree++
            }
          }
          yield* actualsMatchExpecteds
        }
        expect(expectedCompleted + expectedCancelled + expectedRejects).toBe(totalActions)
      }))
  }
})
