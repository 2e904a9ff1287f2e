// Ported from cockatiel's src/BulkheadPolicy.test.ts (connor4312/cockatiel), one `it` per cockatiel case, named
// after it. Mapping: `bulkhead(limit, queue)` is `Bulkhead.make({ maxConcurrent: limit, maxQueued: queue })`;
// `BulkheadRejectedError` is `BulkheadRejected` (reason "Full"); cockatiel's free `executionSlots`/`queueSlots` are
// `maxConcurrent - active` and `maxQueued - queued` of `snapshot`; an AbortSignal is interruption (cockatiel's
// `TaskCancelledError` is an interrupted fiber).
import { describe, expect, it } from "@effect/vitest"
import { Bulkhead } from "@sturdy/policy"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"

// cockatiel's makeFns: function i records its entry, waits i × 2 ms, records its exit and returns i
const makeFns = (count: number) => {
  const order: Array<string> = []
  const fns = Array.from({ length: count }, (_, index) =>
    Effect.gen(function*() {
      order.push(`${index}: enter`)
      // cockatiel's `delay(0)` is a timer turn, which lets the other calls in; under the TestClock a zero sleep ends
      // at once, so yield first
      yield* Effect.yieldNow()
      yield* Effect.sleep(Duration.millis(index * 2))
      order.push(`${index}: exit`)
      return index
    }))
  return { order, fns }
}

const rejection = <A, E>(exit: Exit.Exit<A, E>) =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined

describe("peer cockatiel Bulkhead", () => {
  it.effect("rejects calls after limit is hit", () =>
    Effect.gen(function*() {
      const b = yield* Bulkhead.make({ maxConcurrent: 2 })
      const { fns, order } = makeFns(3)
      const output = yield* Effect.forEach(fns, (fn) => Effect.fork(Bulkhead.withBulkhead(fn, b)))
      yield* TestClock.adjust(100)
      const exits = yield* Effect.forEach(output, Fiber.await)

      expect(exits[0]).toStrictEqual(Exit.succeed(0))
      expect(exits[1]).toStrictEqual(Exit.succeed(1))
      const rejected = rejection(exits[2])
      expect(rejected).toBeInstanceOf(Bulkhead.BulkheadRejected)
      expect((rejected as Bulkhead.BulkheadRejected).reason).toBe("Full")

      expect(order).toEqual(["0: enter", "1: enter", "0: exit", "1: exit"])
    }))

  it.effect("queues requests, and rejects after queue limit", () =>
    Effect.gen(function*() {
      const b = yield* Bulkhead.make({ maxConcurrent: 2, maxQueued: 2 })
      const { fns, order } = makeFns(5)
      const output = yield* Effect.forEach(fns, (fn) => Effect.fork(Bulkhead.withBulkhead(fn, b)))
      yield* TestClock.adjust(100)
      const exits = yield* Effect.forEach(output, Fiber.await)

      expect(exits.slice(0, 4)).toStrictEqual([0, 1, 2, 3].map((i) => Exit.succeed(i)))
      expect(rejection(exits[4])).toBeInstanceOf(Bulkhead.BulkheadRejected)

      expect(order).toEqual([
        "0: enter",
        "1: enter",
        "0: exit",
        "2: enter",
        "1: exit",
        "3: enter",
        "2: exit",
        "3: exit"
      ])
    }))

  it.effect("maintains proper state", () =>
    Effect.gen(function*() {
      const b = yield* Bulkhead.make({ maxConcurrent: 2, maxQueued: 2 })
      const slots = Effect.map(b.snapshot, (s) => ({ executionSlots: 2 - s.active, queueSlots: 2 - s.queued }))
      const settle = Effect.repeatN(Effect.yieldNow(), 5)
      const defers = yield* Effect.forEach([1, 2, 3, 4], () => Deferred.make<void>())
      const run = (i: number) => Effect.fork(Bulkhead.withBulkhead(Deferred.await(defers[i]), b))

      expect(yield* slots).toEqual({ executionSlots: 2, queueSlots: 2 })

      const out1 = yield* run(0)
      yield* settle
      expect(yield* slots).toEqual({ executionSlots: 1, queueSlots: 2 })

      const out2 = yield* run(1)
      yield* settle
      expect(yield* slots).toEqual({ executionSlots: 0, queueSlots: 2 })

      const out3 = yield* run(2)
      yield* settle
      expect(yield* slots).toEqual({ executionSlots: 0, queueSlots: 1 })

      const out4 = yield* run(3)
      yield* settle
      expect(yield* slots).toEqual({ executionSlots: 0, queueSlots: 0 })

      yield* Deferred.succeed(defers[0], undefined)
      yield* Fiber.join(out1)
      yield* settle
      expect(yield* slots).toEqual({ executionSlots: 0, queueSlots: 1 })

      yield* Deferred.succeed(defers[1], undefined)
      yield* Fiber.join(out2)
      yield* settle
      expect(yield* slots).toEqual({ executionSlots: 0, queueSlots: 2 })

      yield* Deferred.succeed(defers[2], undefined)
      yield* Fiber.join(out3)
      yield* settle
      expect(yield* slots).toEqual({ executionSlots: 1, queueSlots: 2 })

      yield* Deferred.succeed(defers[3], undefined)
      yield* Fiber.join(out4)
      yield* settle
      expect(yield* slots).toEqual({ executionSlots: 2, queueSlots: 2 })
    }))

  // cockatiel: a call whose signal is already aborted is never run (TaskCancelledError), nor is one whose signal is
  // aborted while it waits in the queue; the others run in turn. Here, interruption of the caller.
  it.effect("links parent cancellation token", () =>
    Effect.gen(function*() {
      const b = yield* Bulkhead.make({ maxConcurrent: 1, maxQueued: Infinity })
      let ran = 0
      const todo = yield* Effect.forEach([0, 1, 2], () =>
        Effect.fork(Bulkhead.withBulkhead(Effect.zipRight(Effect.sleep("1 millis"), Effect.sync(() => ran++)), b)))

      // initially cancelled: interrupted before it could run
      let notCalled = true
      const initially = yield* Effect.fork(Bulkhead.withBulkhead(Effect.sync(() => (notCalled = false)), b))
      const initiallyExit = yield* Fiber.interrupt(initially)

      // cancelled by the time it gets executed
      const later = yield* Effect.fork(Bulkhead.withBulkhead(Effect.sync(() => (notCalled = false)), b))
      yield* TestClock.adjust(2)
      const laterExit = yield* Fiber.interrupt(later)

      yield* TestClock.adjust(10)
      yield* Effect.forEach(todo, Fiber.join)
      expect(ran).toBe(3)
      expect(Exit.isInterrupted(initiallyExit)).toBe(true)
      expect(Exit.isInterrupted(laterExit)).toBe(true)
      expect(notCalled).toBe(true)
      expect(yield* b.snapshot).toEqual({ active: 0, queued: 0 })
    }))

  it.effect("should process next queued item when previous item was aborted", () =>
    Effect.gen(function*() {
      const b = yield* Bulkhead.make({ maxConcurrent: 1, maxQueued: 10 })
      const defer1 = yield* Deferred.make<number>()

      const promise1 = yield* Effect.fork(Bulkhead.withBulkhead(Deferred.await(defer1), b))
      const promise2 = yield* Effect.fork(Bulkhead.withBulkhead(Effect.succeed(2), b))
      const promise3 = yield* Effect.fork(Bulkhead.withBulkhead(Effect.succeed(3), b))
      yield* Effect.repeatN(Effect.yieldNow(), 5)
      expect(yield* b.snapshot).toEqual({ active: 1, queued: 2 })

      const exit2 = yield* Fiber.interrupt(promise2)
      yield* Deferred.succeed(defer1, 1)
      expect(yield* Fiber.join(promise1)).toBe(1)

      expect(Exit.isInterrupted(exit2)).toBe(true)
      expect(yield* Fiber.join(promise3)).toBe(3)

      expect(yield* b.snapshot).toEqual({ active: 0, queued: 0 })
    }))
})
