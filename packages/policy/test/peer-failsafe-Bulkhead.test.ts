// Ported from Failsafe's core/src/test/java/dev/failsafe/functional/BulkheadTest.java (failsafe-lib/failsafe), one
// `it` per Failsafe case, named after it.
// Mapping: `Bulkhead.of(n)` is `Bulkhead.make({ maxConcurrent: n })` (no queue: a full bulkhead rejects at once);
// `withMaxWaitTime(d)` is `maxQueued` (Failsafe queues any number of waiters) with `maxWait: d`;
// `tryAcquirePermit()`/`releasePermit()` are calls holding a permit until a latch opens; `BulkheadFullException` is
// `BulkheadRejected`. Real sleeps are TestClock time.
import { describe, expect, it } from "@effect/vitest"
import { Bulkhead } from "@sturdy/policy"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"

// takes a permit and holds it until the returned latch is opened
const hold = (bulkhead: Bulkhead.Bulkhead) =>
  Effect.gen(function*() {
    const latch = yield* Deferred.make<void>()
    const fiber = yield* Effect.fork(Bulkhead.withBulkhead(Deferred.await(latch), bulkhead))
    yield* Effect.yieldNow()
    return { release: Deferred.succeed(latch, undefined), fiber }
  })

describe("peer failsafe BulkheadTest", () => {
  it.effect("testPermitAcquiredAfterWait", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.make({ maxConcurrent: 2, maxQueued: Infinity, maxWait: "1 second" })
      const first = yield* hold(bulkhead)
      yield* hold(bulkhead) // bulkhead should be full
      expect(yield* bulkhead.snapshot).toEqual({ active: 2, queued: 0 })
      const call = yield* Effect.fork(Bulkhead.withBulkhead(Effect.succeed("test"), bulkhead))
      yield* TestClock.adjust("200 millis")
      yield* first.release // bulkhead should not be full
      expect(yield* Fiber.join(call)).toBe("test")
    }))

  it.effect("testPermitAcquiredAfterWaitWithLargeQueue", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.make({ maxConcurrent: 1, maxQueued: Infinity, maxWait: "1 second" })
      const tasks = yield* Effect.forEach(
        Array.from({ length: 10 }, (_, i) => i),
        (i) => Effect.fork(Bulkhead.withBulkhead(Effect.as(Effect.sleep("10 millis"), i), bulkhead))
      )
      yield* Effect.yieldNow()
      expect(yield* bulkhead.snapshot).toEqual({ active: 1, queued: 9 })
      // ten tasks of 10 ms in turn: the last starts after 90 ms, well within the 1 s wait
      for (let i = 0; i < 10; i++) yield* TestClock.adjust("10 millis")
      expect(yield* Fiber.joinAll(tasks)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    }))

  it.effect("shouldThrowBulkheadFullExceptionAfterPermitsExceeded", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.make({ maxConcurrent: 2 })
      yield* hold(bulkhead)
      yield* hold(bulkhead) // bulkhead should be full
      let ran = false
      const e = yield* Effect.flip(Bulkhead.withBulkhead(Effect.sync(() => ran = true), bulkhead))
      expect(Bulkhead.isBulkheadRejected(e)).toBe(true)
      expect(ran).toBe(false)
    }))

  it.effect("testMaxWaitTimeExceeded", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.make({ maxConcurrent: 2, maxQueued: Infinity, maxWait: "20 millis" })
      yield* hold(bulkhead)
      yield* hold(bulkhead) // bulkhead should be full
      let ran = false
      const call = yield* Effect.fork(Effect.flip(Bulkhead.withBulkhead(Effect.sync(() => ran = true), bulkhead)))
      yield* TestClock.adjust("20 millis")
      expect(Bulkhead.isBulkheadRejected(yield* Fiber.join(call))).toBe(true)
      expect(ran).toBe(false)
      expect(yield* bulkhead.snapshot).toEqual({ active: 2, queued: 0 })
    }))
})
