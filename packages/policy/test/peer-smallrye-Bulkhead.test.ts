// Ported from SmallRye Fault Tolerance (smallrye/smallrye-fault-tolerance, commit 5066307cd9021e850c3ac4dda8b352707fbb8722),
// implementation/core/src/test/java/io/smallrye/faulttolerance/core/bulkhead/: BulkheadSyncTest.java,
// BulkheadAsyncTest.java and BulkheadFutureTest.java (shouldLetMaxPlus1After1Canceled), one `it` per SmallRye case,
// named after it.
// Mapping: `new Bulkhead(invocation, description, size, queueSize, ..)` is `Bulkhead.make({ key: description,
// maxConcurrent: size, maxQueued: queueSize })` (a synchronous SmallRye bulkhead has no queue: `queueSize` 0, Sturdy's
// default); `BulkheadException` is `BulkheadRejected` (reason "Full"); a test thread or an `async` apply is a fiber;
// a Barrier is a `Deferred`, a `Semaphore` an Effect semaphore; `getQueueSize()` is `snapshot.queued`; a Party whose
// participants all attend is the bulkhead's `snapshot.active` reaching the size (the calls are in).
// Deliberate differences: none in these cases.
// Not ported: shouldLetMaxPlus1After1FailedCompletionStage (shouldLetMaxPlus1After1Failed again, with the invocation
// returning a CompletionStage: Java-specific); BulkheadFutureTest's other cases (BulkheadAsyncTest's again, on
// java.util.concurrent.Future invocations); the thread-pool executor of the async tests (a `ThreadOffload`: fibers
// need none). shouldProcessAllQueuedTasksUnderConcurrentSubmission runs 500 iterations of 1,000 tasks submitted by 50
// threads; here 5 iterations of 1,000 fibers released at once (the race it guards against is between threads).
import { describe, expect, it } from "@effect/vitest"
import { Bulkhead } from "@sturdy/policy"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"

const untilSnapshot = (bulkhead: Bulkhead.Bulkhead, done: (s: { active: number; queued: number }) => boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 1000; i++) {
      if (done(yield* bulkhead.snapshot)) return
      yield* Effect.yieldNow()
    }
    expect.fail(`the bulkhead never reached the expected state: ${JSON.stringify(yield* bulkhead.snapshot)}`)
  })

const isFull = (result: Either.Either<unknown, unknown>) =>
  Either.isLeft(result) && Bulkhead.isBulkheadRejected(result.left) && result.left.reason === "Full"

// shouldLetMaxPlus1After1Left / After1Failed: `size` calls wait on a barrier, then on a semaphore of 1 permit; the
// first to finish frees a place for one more call, then every call is let through
const maxPlus1After1 = <A, E>(size: number, queued: number, outcome: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const bulkhead = yield* Bulkhead.make({
      key: "shouldLetMaxPlus1After1Left",
      maxConcurrent: size,
      maxQueued: queued
    })
    const delayBarrier = yield* Deferred.make<void>()
    const letOneIn = yield* Effect.makeSemaphore(1)
    const finished: Array<number> = []
    const invocation = (id: number) =>
      Deferred.await(delayBarrier).pipe(
        Effect.zipRight(letOneIn.take(1)),
        Effect.zipRight(Effect.sync(() => finished.push(id))),
        Effect.zipRight(outcome)
      )
    const fibers = []
    for (let i = 0; i < size + queued; i++) {
      fibers.push(yield* Effect.fork(Bulkhead.withBulkhead(invocation(i), bulkhead)))
    }
    yield* untilSnapshot(bulkhead, (s) => s.active === size && s.queued === queued)
    yield* Deferred.succeed(delayBarrier, undefined)
    for (let i = 0; i < 1000 && finished.length === 0; i++) yield* Effect.yieldNow()
    expect(finished).toHaveLength(1)
    const first = yield* Fiber.await(fibers[finished[0]!]!)
    // the one that left makes room: the next call is let in (queued, or running)
    const plus1 = yield* Effect.fork(Bulkhead.withBulkhead(invocation(size + queued), bulkhead))
    yield* letOneIn.release(100)
    const others = yield* Effect.all(fibers.filter((_, i) => i !== finished[0]).map(Fiber.await))
    const last = yield* Fiber.await(plus1)
    expect(finished).toHaveLength(size + queued + 1)
    return [first, ...others, last]
  })

describe("peer SmallRye BulkheadSyncTest", () => {
  it.effect("shouldLetOneIn", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.make({ key: "shouldLetSingleThrough", maxConcurrent: 2 })
      expect(yield* Bulkhead.withBulkhead(Effect.succeed("shouldLetSingleThrough"), bulkhead)).toBe(
        "shouldLetSingleThrough"
      )
    }))

  it.effect("shouldLetMaxIn", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.make({ key: "shouldLetMaxThrough", maxConcurrent: 5 })
      const delayBarrier = yield* Deferred.make<void>()
      const invocation = Effect.as(Deferred.await(delayBarrier), "shouldLetMaxThrough")
      const fibers = yield* Effect.all(
        Array.from({ length: 5 }, () => Effect.fork(Bulkhead.withBulkhead(invocation, bulkhead)))
      )
      yield* untilSnapshot(bulkhead, (s) => s.active === 5)
      yield* Deferred.succeed(delayBarrier, undefined)
      expect(yield* Fiber.join(Fiber.all(fibers))).toEqual(Array(5).fill("shouldLetMaxThrough"))
    }))

  it.effect("shouldRejectMaxPlus1", () =>
    Effect.gen(function*() {
      const size = 5
      const bulkhead = yield* Bulkhead.make({ key: "shouldRejectMaxPlus1", maxConcurrent: size })
      const disband = yield* Deferred.make<void>()
      const invocation = Effect.as(Deferred.await(disband), "shouldRejectMaxPlus1")
      const fibers = yield* Effect.all(
        Array.from({ length: size }, () => Effect.fork(Bulkhead.withBulkhead(invocation, bulkhead)))
      )
      // make sure all the calls have entered the bulkhead
      yield* untilSnapshot(bulkhead, (s) => s.active === size)
      expect(isFull(yield* Effect.either(Bulkhead.withBulkhead(invocation, bulkhead)))).toBe(true)
      yield* Deferred.succeed(disband, undefined)
      expect(yield* Fiber.join(Fiber.all(fibers))).toEqual(Array(size).fill("shouldRejectMaxPlus1"))
    }))

  it.effect("shouldLetMaxPlus1After1Left", () =>
    Effect.gen(function*() {
      const results = yield* maxPlus1After1(5, 0, Effect.succeed("shouldLetMaxPlus1After1Left"))
      expect(results).toHaveLength(6)
      for (const result of results) {
        expect(result).toEqual(Exit.succeed("shouldLetMaxPlus1After1Left"))
      }
    }))

  it.effect("shouldLetMaxPlus1After1Failed", () =>
    Effect.gen(function*() {
      const error = new Error("forced")
      const results = yield* maxPlus1After1(5, 0, Effect.fail(error))
      expect(results).toHaveLength(6)
      for (const result of results) expect(result).toEqual(Exit.fail(error))
    }))
})

describe("peer SmallRye BulkheadAsyncTest", () => {
  it.effect("shouldLetOneIn", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.make({ key: "shouldLetSingleThrough", maxConcurrent: 2, maxQueued: 2 })
      expect(yield* Bulkhead.withBulkhead(Effect.succeed("shouldLetSingleThrough"), bulkhead)).toBe(
        "shouldLetSingleThrough"
      )
    }))

  it.effect("shouldLetMaxIn", () =>
    Effect.gen(function*() {
      // max threads + max queue
      const bulkhead = yield* Bulkhead.make({ key: "shouldLetSingleThrough", maxConcurrent: 2, maxQueued: 3 })
      const gate = yield* Deferred.make<void>()
      const invocation = Effect.as(Deferred.await(gate), "shouldLetMaxThrough")
      const fibers = yield* Effect.all(
        Array.from({ length: 5 }, () => Effect.fork(Bulkhead.withBulkhead(invocation, bulkhead)))
      )
      yield* untilSnapshot(bulkhead, (s) => s.active === 2 && s.queued === 3)
      yield* Deferred.succeed(gate, undefined)
      expect(yield* Fiber.join(Fiber.all(fibers))).toEqual(Array(5).fill("shouldLetMaxThrough"))
    }))

  it.effect("shouldRejectMaxPlus1", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.make({ key: "shouldRejectMaxPlus1", maxConcurrent: 2, maxQueued: 3 })
      const delayBarrier = yield* Deferred.make<void>()
      const invocation = Effect.as(Deferred.await(delayBarrier), "shouldRejectMaxPlus1")
      const fibers = yield* Effect.all(
        Array.from({ length: 5 }, () => Effect.fork(Bulkhead.withBulkhead(invocation, bulkhead)))
      )
      // to make sure all the tasks are in the bulkhead
      yield* untilSnapshot(bulkhead, (s) => s.queued === 3)
      expect(isFull(yield* Effect.either(Bulkhead.withBulkhead(invocation, bulkhead)))).toBe(true)
      yield* Deferred.succeed(delayBarrier, undefined)
      expect(yield* Fiber.join(Fiber.all(fibers))).toEqual(Array(5).fill("shouldRejectMaxPlus1"))
    }))

  it.effect("shouldLetMaxPlus1After1Left", () =>
    Effect.gen(function*() {
      const results = yield* maxPlus1After1(2, 3, Effect.succeed("shouldLetMaxPlus1After1Left"))
      expect(results).toHaveLength(6)
      for (const result of results) {
        expect(result).toEqual(Exit.succeed("shouldLetMaxPlus1After1Left"))
      }
    }))

  it.effect("shouldLetMaxPlus1After1Failed", () =>
    Effect.gen(function*() {
      const error = new Error("forced")
      const results = yield* maxPlus1After1(2, 3, Effect.fail(error))
      expect(results).toHaveLength(6)
      for (const result of results) expect(result).toEqual(Exit.fail(error))
    }))

  it.effect("shouldNotStartNextIfCSInProgress", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.make({ key: "shouldNotStartNextIfCSInProgress", maxConcurrent: 1, maxQueued: 1 })
      const disband = yield* Deferred.make<void>()
      let started = 0
      const invocation = Effect.zipRight(
        Effect.sync(() => started++),
        Effect.as(Deferred.await(disband), "shouldNotStartNextIfCSInProgress")
      )
      const first = yield* Effect.fork(Bulkhead.withBulkhead(invocation, bulkhead))
      yield* untilSnapshot(bulkhead, (s) => s.active === 1)
      const second = yield* Effect.fork(Bulkhead.withBulkhead(invocation, bulkhead))
      yield* untilSnapshot(bulkhead, (s) => s.queued === 1)
      // the second waits while the first is in progress
      expect(started).toBe(1)
      yield* Deferred.succeed(disband, undefined)
      expect(yield* Fiber.join(first)).toBe("shouldNotStartNextIfCSInProgress")
      expect(yield* Fiber.join(second)).toBe("shouldNotStartNextIfCSInProgress")
      expect((yield* bulkhead.snapshot).queued).toBe(0)
    }))

  it.effect("shouldNotStackOverflowOnSynchronousCompletion", () =>
    Effect.gen(function*() {
      // the first call holds the permit until completed; 10,000 calls are queued behind it and run one after another
      // once it is
      const bulkhead = yield* Bulkhead.make({ key: "test", maxConcurrent: 1, maxQueued: 10_000 })
      const firstTask = yield* Deferred.make<string>()
      let first = true
      const delegate = Effect.suspend(() => {
        if (first) {
          first = false
          return Deferred.await(firstTask)
        }
        return Effect.succeed("hello")
      })
      const fibers = []
      for (let i = 0; i < 10_001; i++) fibers.push(yield* Effect.fork(Bulkhead.withBulkhead(delegate, bulkhead)))
      yield* untilSnapshot(bulkhead, (s) => s.active === 1 && s.queued === 10_000)
      yield* Deferred.succeed(firstTask, "hello")
      const results = yield* Fiber.join(Fiber.all(fibers))
      expect(results).toHaveLength(10_001)
      expect(results.every((r) => r === "hello")).toBe(true)
    }))

  it.effect("shouldProcessAllQueuedTasksUnderConcurrentSubmission", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.make({ key: "test", maxConcurrent: 5, maxQueued: 1000 })
      const invocation = Effect.zipRight(Effect.yieldNow(), Effect.succeed("hello"))
      for (let iteration = 0; iteration < 5; iteration++) {
        const startBarrier = yield* Deferred.make<void>()
        const submitted = yield* Effect.all(
          Array.from(
            { length: 1000 },
            () =>
              Effect.fork(Effect.zipRight(Deferred.await(startBarrier), Bulkhead.withBulkhead(invocation, bulkhead)))
          )
        )
        // release all submitters at once to maximize contention
        yield* Deferred.succeed(startBarrier, undefined)
        const results = yield* Fiber.join(Fiber.all(submitted))
        expect(results.every((r) => r === "hello")).toBe(true)
        expect(yield* bulkhead.snapshot).toEqual({ active: 0, queued: 0 })
      }
    }))
})

describe("peer SmallRye BulkheadFutureTest", () => {
  it.effect("shouldLetMaxPlus1After1Canceled", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.make({ key: "shouldLetMaxPlus1After1Canceled", maxConcurrent: 2, maxQueued: 3 })
      const disband = yield* Deferred.make<void>()
      const invocation = Effect.as(Deferred.await(disband), "shouldLetMaxPlus1After1Canceled")
      const call = Effect.fork(Bulkhead.withBulkhead(invocation, bulkhead))
      const fibers = []
      for (let i = 0; i < 4; i++) fibers.push(yield* call)
      // to make sure the fifth added is enqueued, wait until two are started
      yield* untilSnapshot(bulkhead, (s) => s.active === 2)
      fibers.push(yield* call)
      yield* untilSnapshot(bulkhead, (s) => s.queued === 3)
      expect(isFull(yield* Effect.either(Bulkhead.withBulkhead(invocation, bulkhead)))).toBe(true)
      // cancel the fifth and remove it from the list: it leaves the queue
      expect(Exit.isInterrupted(yield* Fiber.interrupt(fibers.pop()!))).toBe(true)
      yield* untilSnapshot(bulkhead, (s) => s.queued === 2)
      fibers.push(yield* call)
      yield* untilSnapshot(bulkhead, (s) => s.queued === 3)
      yield* Deferred.succeed(disband, undefined)
      expect(yield* Fiber.join(Fiber.all(fibers))).toEqual(Array(5).fill("shouldLetMaxPlus1After1Canceled"))
    }))
})
