// Ported from eapache/go-resiliency at 39c0aa4a7ec871cc8e2f7be2c44db1362e0667b7: semaphore/semaphore_test.go, one `it`
// per Go test, named after it.
// Mapping: `semaphore.New(tickets, timeout)` is `Bulkhead.make({ maxConcurrent: tickets, maxQueued: Infinity,
// maxWait: timeout })` (a Go channel semaphore keeps any number of waiters); `Acquire()` then `Release()` is a call
// through `withBulkhead` that holds its permit until it is released (a `Deferred` it waits on); `ErrNoTickets` is
// `BulkheadRejected` "Timeout"; `IsEmpty()` is `snapshot.active === 0`; the timeout is measured on the TestClock.
// Deliberate differences: none.
// Not ported: ExampleSemaphore (no assertion).
import { describe, expect, it } from "@effect/vitest"
import { Bulkhead } from "@sturdy/policy"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"

const semaphore = (tickets: number, timeout: Duration.DurationInput) =>
  Bulkhead.make({ maxConcurrent: tickets, maxQueued: Infinity, maxWait: timeout })

// Acquire(): a call that takes a permit and holds it until `release`; `result` is its outcome once it has one
const acquire = (sem: Bulkhead.Bulkhead) =>
  Effect.gen(function*() {
    const gate = yield* Deferred.make<void>()
    const fiber = yield* Effect.fork(Bulkhead.withBulkhead(Deferred.await(gate), sem))
    yield* Effect.yieldNow()
    return { release: Effect.zipRight(Deferred.succeed(gate, undefined), Fiber.join(fiber)), fiber }
  })

describe("peer go-resiliency semaphore_test.go", () => {
  it.effect("TestSemaphoreAcquireRelease", () =>
    Effect.gen(function*() {
      const sem = yield* semaphore(3, "1 second")
      for (let i = 0; i < 10; i++) {
        const held = [yield* acquire(sem), yield* acquire(sem), yield* acquire(sem)]
        // all three got a ticket at once, none waited
        expect(yield* sem.snapshot).toEqual({ active: 3, queued: 0 })
        for (const ticket of held) yield* ticket.release
        expect(yield* sem.snapshot).toEqual({ active: 0, queued: 0 })
      }
    }))

  it.effect("TestSemaphoreBlockTimeout", () =>
    Effect.gen(function*() {
      const sem = yield* semaphore(1, "200 millis")
      const first = yield* acquire(sem)

      // the second Acquire waits the whole 200 ms, then fails with ErrNoTickets
      const second = yield* acquire(sem)
      yield* TestClock.adjust("199 millis")
      expect(Option.isNone(yield* Fiber.poll(second.fiber))).toBe(true)
      yield* TestClock.adjust("1 millis")
      const rejected = yield* Effect.flip(Fiber.join(second.fiber))
      expect(Bulkhead.isBulkheadRejected(rejected) && rejected.reason).toBe("Timeout")

      yield* first.release
      const third = yield* acquire(sem)
      expect(yield* sem.snapshot).toEqual({ active: 1, queued: 0 })
      yield* third.release
    }))

  it.effect("TestSemaphoreEmpty", () =>
    Effect.gen(function*() {
      const sem = yield* semaphore(2, "200 millis")
      expect((yield* sem.snapshot).active).toBe(0)
      const ticket = yield* acquire(sem)
      expect((yield* sem.snapshot).active).not.toBe(0)
      yield* ticket.release
      expect((yield* sem.snapshot).active).toBe(0)
    }))
})
