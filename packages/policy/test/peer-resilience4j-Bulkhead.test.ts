// Ported from resilience4j's resilience4j-bulkhead/src/test/java/io/github/resilience4j/bulkhead/internal/
// SemaphoreBulkheadTest.java (resilience4j/resilience4j), one `it` per resilience4j case, named after it.
// Mapping: `BulkheadConfig.custom().maxConcurrentCalls(n).maxWaitDuration(d)` is `Bulkhead.make({ maxConcurrent: n,
// maxQueued, maxWait: d })`: resilience4j lets every caller wait up to `maxWaitDuration` (its semaphore queue has no
// bound), so a wait above zero is `maxQueued: Infinity`, and a wait of zero is `maxQueued: 0` (rejected at once);
// `tryAcquirePermission()` false is a `BulkheadRejected` ("Full" when no wait is allowed, "Timeout" after the wait);
// `onComplete()` is a call that ends; `getMetrics().getAvailableConcurrentCalls()` is `maxConcurrent − snapshot.active`;
// a thread interrupted while it waits is an interrupted fiber; the wall clock is the TestClock.
// Deliberate differences (each test says which): `maxConcurrent: 0` is a `RangeError` of `make` (a bulkhead that
// admits nothing is a configuration mistake) where resilience4j builds one that rejects every call.
// Not ported: testToString/testCreateWithNullConfig/testCreateWithDefaults (Java object mechanics), the
// changePermissions*/changeMaxConcurrentCalls* cases (resilience4j's runtime reconfiguration; a Sturdy bulkhead's
// limits are fixed when it is made), the event-publisher sequence (Sturdy publishes no bulkhead events) and the
// thread-mode parameterization.
import { describe, expect, it } from "@effect/vitest"
import { Bulkhead } from "@sturdy/policy"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"

// resilience4j's setUp: two concurrent calls, no wait
const setUp = Bulkhead.make({ key: "test", maxConcurrent: 2, maxQueued: 0 })

// a call that holds its permit until `release` completes
const hold = (bulkhead: Bulkhead.Bulkhead) =>
  Effect.gen(function*() {
    const release = yield* Deferred.make<void>()
    const fiber = yield* Effect.fork(Bulkhead.withBulkhead(Deferred.await(release), bulkhead))
    yield* Effect.yieldNow()
    return { fiber, onComplete: Effect.zipRight(Deferred.succeed(release, void 0), Fiber.join(fiber)) }
  })

const tryAcquire = (bulkhead: Bulkhead.Bulkhead) =>
  Effect.map(Effect.either(Bulkhead.withBulkhead(Effect.void, bulkhead)), (e) => e._tag === "Right")

describe("peer resilience4j SemaphoreBulkheadTest", () => {
  it.effect("shouldReturnTheCorrectName", () =>
    Effect.gen(function*() {
      const bulkhead = yield* setUp
      expect(bulkhead.key).toBe("test")
    }))

  it.effect("shouldHandleBasicBulkheadOperationsInBothThreadModes", () =>
    Effect.gen(function*() {
      const bulkhead = yield* setUp
      const first = yield* hold(bulkhead)
      const second = yield* hold(bulkhead)
      expect(2 - (yield* bulkhead.snapshot).active).toBe(0)

      const third = yield* Effect.flip(Bulkhead.withBulkhead(Effect.succeed(3), bulkhead))
      expect(Bulkhead.isBulkheadRejected(third) && third.reason).toBe("Full")

      yield* first.onComplete
      expect(2 - (yield* bulkhead.snapshot).active).toBe(1)
      yield* second.onComplete
      expect(2 - (yield* bulkhead.snapshot).active).toBe(2)
      expect(yield* tryAcquire(bulkhead)).toBe(true)
      expect(yield* bulkhead.snapshot).toEqual({ active: 0, queued: 0 })
    }))

  it.effect("shouldHandleTimeoutBehaviorConsistentlyInBothThreadModes", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.make({ maxConcurrent: 1, maxQueued: Infinity, maxWait: "50 millis" })
      const entered = yield* hold(bulkhead)
      let ran = false
      const waiting = yield* Effect.fork(Bulkhead.withBulkhead(Effect.sync(() => (ran = true)), bulkhead))
      yield* Effect.yieldNow()
      expect(yield* bulkhead.snapshot).toEqual({ active: 1, queued: 1 })
      yield* TestClock.adjust("49 millis")
      expect(waiting.unsafePoll()).toBe(null)
      yield* TestClock.adjust("1 millis")
      const exit = yield* Fiber.await(waiting)
      expect(Exit.isFailure(exit) && Bulkhead.isBulkheadRejected(exit.cause._tag === "Fail" && exit.cause.error))
        .toBe(true)
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error.reason).toBe("Timeout")
      expect(ran).toBe(false)
      expect(yield* bulkhead.snapshot).toEqual({ active: 1, queued: 0 })
      yield* entered.onComplete
    }))

  it.effect("testTryEnterWithInterruptDuringTimeout", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.make({ maxConcurrent: 1, maxQueued: Infinity, maxWait: "2 seconds" })
      const entered = yield* hold(bulkhead)
      let ran = false
      const waiting = yield* Effect.fork(Bulkhead.withBulkhead(Effect.sync(() => (ran = true)), bulkhead))
      yield* TestClock.adjust("1 second")
      expect(yield* bulkhead.snapshot).toEqual({ active: 1, queued: 1 })
      // interrupted while it waits: it ends at once, before its 2 s, never runs, and leaves the queue
      const exit = yield* Fiber.interrupt(waiting)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(ran).toBe(false)
      expect(yield* bulkhead.snapshot).toEqual({ active: 1, queued: 0 })
      yield* entered.onComplete
      expect(yield* bulkhead.snapshot).toEqual({ active: 0, queued: 0 })
    }))

  it.effect("testAcquireWithInterruptDuringTimeout", () =>
    Effect.gen(function*() {
      // the same through `run`; then the permit the interrupted caller never got is still free for the next one
      const bulkhead = yield* Bulkhead.make({ maxConcurrent: 1, maxQueued: Infinity, maxWait: "2 seconds" })
      const entered = yield* hold(bulkhead)
      const waiting = yield* Effect.fork(bulkhead.run(Effect.succeed("never")))
      yield* TestClock.adjust("500 millis")
      expect(Exit.isInterrupted(yield* Fiber.interrupt(waiting))).toBe(true)
      yield* entered.onComplete
      expect(yield* bulkhead.run(Effect.succeed("next"))).toBe("next")
      expect(yield* bulkhead.snapshot).toEqual({ active: 0, queued: 0 })
    }))

  it("testZeroMaxConcurrentCalls", () => {
    // resilience4j builds a bulkhead that rejects every call; Sturdy refuses the configuration
    expect(() => Effect.runSync(Bulkhead.make({ maxConcurrent: 0 }))).toThrow(/maxConcurrent/)
  })

  it.effect("testEntryTimeout", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.make({ maxConcurrent: 1, maxQueued: Infinity, maxWait: "10 millis" })
      const consumed = yield* hold(bulkhead)
      const entry = yield* Effect.fork(tryAcquire(bulkhead))
      yield* TestClock.adjust("10 millis")
      expect(yield* Fiber.join(entry)).toBe(false)
      yield* consumed.onComplete
    }))

  it.effect("shouldGrantPermitsInArrivalOrder (fairCallHandlingStrategyEnabled)", () =>
    Effect.gen(function*() {
      // resilience4j's default fair semaphore: waiting callers get permits in the order they came
      const bulkhead = yield* Bulkhead.make({ maxConcurrent: 1, maxQueued: Infinity, maxWait: "1 minute" })
      const entered = yield* hold(bulkhead)
      const order: Array<number> = []
      const waiters = yield* Effect.forEach(
        [1, 2, 3],
        (i) =>
          Effect.zipLeft(
            Effect.fork(Bulkhead.withBulkhead(Effect.sync(() => order.push(i)), bulkhead)),
            Effect.yieldNow()
          )
      )
      yield* entered.onComplete
      yield* Effect.forEach(waiters, Fiber.join)
      expect(order).toEqual([1, 2, 3])
    }))

  it.effect("shouldReleasePermitOnFailure (BulkheadTest.shouldDecorateSupplierAndReturnWithException)", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.make({ maxConcurrent: 1 })
      expect(yield* Effect.flip(Bulkhead.withBulkhead(Effect.fail("BAM!"), bulkhead))).toBe("BAM!")
      expect(yield* Effect.exit(Bulkhead.withBulkhead(Effect.die("defect"), bulkhead))).toEqual(Exit.die("defect"))
      expect(yield* bulkhead.snapshot).toEqual({ active: 0, queued: 0 })
      expect(yield* tryAcquire(bulkhead)).toBe(true)
    }))

  it("shouldRejectNegativeMaxWaitDuration (BulkheadConfigTest)", () => {
    // BulkheadConfig.custom().maxWaitDuration(Duration.ofMillis(-1)) throws IllegalArgumentException
    expect(() => Effect.runSync(Bulkhead.make({ maxConcurrent: 1, maxQueued: 1, maxWait: -1 }))).toThrow(/maxWait/)
    expect(() => Effect.runSync(Bulkhead.make({ maxConcurrent: 1, maxQueued: -1 }))).toThrow(/maxQueued/)
  })
})
