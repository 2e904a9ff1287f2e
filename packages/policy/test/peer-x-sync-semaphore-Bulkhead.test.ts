// Ported from golang/sync (golang.org/x/sync) at ec11c4a93de22cde2abe2bf74d70791033c2464c: semaphore/semaphore_test.go,
// one `it` per Go test, named after it.
// Mapping: `semaphore.NewWeighted(n)` is `Bulkhead.make({ maxConcurrent: n, maxQueued: Infinity })` (Go keeps any
// number of waiters); `Acquire(ctx, 1)` then `Release(1)` is a call through the bulkhead that holds its permit until
// released (`holdPermit`); `TryAcquire(1)` is a call on a bulkhead with `maxQueued: 0`, turned away with
// `BulkheadRejected` "Full" when no permit is free; `Acquire` under `context.WithTimeout(ctx, d)` is the call under
// `Deadline.establish(d)` (the queue wait ends with `BulkheadRejected` "Timeout" when the deadline passes) or under
// `Deadline.withDeadline(d)` (its timer interrupts the wait: `DeadlineExceeded`); a cancelled `ctx` is the waiting
// fiber interrupted. Time is the TestClock.
// Deliberate differences: Go's ctx bounds only `Acquire`; Sturdy's deadline bounds the whole call, so a permit held
// under `withDeadline` would be interrupted with it (`establish` is used where the permit must outlive the deadline).
// An `Acquire` with a done context fails even when a permit is free; a call under an established deadline that has
// passed still takes a free permit (the bulkhead bounds waits only; `withDeadline` fails such a call at once, before
// the bulkhead is reached): TestWeightedAcquireCanceled asserts both.
// Not ported: TestWeighted/HammerWeighted, TestWeightedDoesntBlockIfTooBig, TestLargeAcquireDoesntStarve and
// TestAllocCancelDoesntStarve (they acquire weights above 1, and a Bulkhead call always takes one permit);
// TestWeightedPanic (a Bulkhead has no public release: a permit is given back when its call ends, so an unbalanced
// Release cannot be written). In TestWeightedAcquireCanceled, `Acquire(ctx, 2)` on a semaphore of 2 with one held is a
// call that must wait: here a bulkhead of 1 with its permit held.
import { describe, expect, it } from "@effect/vitest"
import { Bulkhead, Deadline } from "@sturdy/policy"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import { holdPermit } from "./utils/holdPermit.js"

const rejected = (exit: unknown, reason: "Full" | "Timeout") =>
  Exit.isExit(exit) && Exit.isFailure(exit) && exit.cause._tag === "Fail" &&
  Bulkhead.isBulkheadRejected(exit.cause.error) && exit.cause.error.reason === reason

const timedOut = (exit: unknown) =>
  Exit.isExit(exit) && Exit.isFailure(exit) && exit.cause._tag === "Fail" &&
  Deadline.isDeadlineExceeded(exit.cause.error)

describe("peer golang.org/x/sync semaphore_test.go", () => {
  it.effect("TestWeightedTryAcquire", () =>
    Effect.gen(function*() {
      const sem = yield* Bulkhead.make({ maxConcurrent: 2, maxQueued: 0 })
      const tries: Array<boolean> = []
      const tryAcquire = Effect.gen(function*() {
        const call = yield* holdPermit(sem)
        const outcome = yield* call.outcome
        tries.push(outcome === "held")
        return call
      })
      const first = yield* holdPermit(sem)
      expect(yield* first.outcome).toBe("held")
      const second = yield* tryAcquire
      const third = yield* tryAcquire
      expect(rejected(yield* third.outcome, "Full")).toBe(true)

      // Release(2)
      yield* first.release
      yield* second.release
      expect(yield* sem.snapshot).toEqual({ active: 0, queued: 0 })

      yield* tryAcquire
      yield* holdPermit(sem)
      yield* tryAcquire

      expect(tries).toEqual([true, false, true, false])
      expect(yield* sem.snapshot).toEqual({ active: 2, queued: 0 })
    }))

  it.effect("TestWeightedAcquire", () =>
    Effect.gen(function*() {
      // each `tryAcquire` waits at most 10 ms under the deadline; a permit it got is held past the deadline
      // (`establish`), as Go's Acquire keeps it after its ctx is cancelled
      const sem = yield* Bulkhead.make({ maxConcurrent: 2, maxQueued: Infinity })
      const tries: Array<boolean> = []
      const tryAcquire = Effect.gen(function*() {
        const call = yield* holdPermit(sem, Deadline.establish("10 millis"))
        yield* TestClock.adjust("10 millis")
        const outcome = yield* call.outcome
        if (outcome !== "held") expect(rejected(outcome, "Timeout")).toBe(true)
        tries.push(outcome === "held")
        return call
      })
      const first = yield* holdPermit(sem)
      const second = yield* tryAcquire
      yield* tryAcquire
      // the timed-out waiter left the queue
      expect(yield* sem.snapshot).toEqual({ active: 2, queued: 0 })

      yield* first.release
      yield* second.release

      yield* tryAcquire
      yield* holdPermit(sem)
      yield* tryAcquire

      expect(tries).toEqual([true, false, true, false])
      expect(yield* sem.snapshot).toEqual({ active: 2, queued: 0 })

      // the same wait under `withDeadline`: its timer interrupts the queued call, which fails with DeadlineExceeded,
      // and leaves no waiter behind
      const armed = yield* holdPermit(sem, Deadline.withDeadline("10 millis"))
      expect(yield* sem.snapshot).toEqual({ active: 2, queued: 1 })
      yield* TestClock.adjust("10 millis")
      expect(timedOut(yield* Fiber.await(armed.fiber))).toBe(true)
      expect(yield* sem.snapshot).toEqual({ active: 2, queued: 0 })
    }))

  it.effect("TestWeightedAcquireCanceled", () =>
    Effect.gen(function*() {
      // https://go.dev/issue/63615
      const sem = yield* Bulkhead.make({ maxConcurrent: 1, maxQueued: Infinity })
      const held = yield* holdPermit(sem)
      const waiting = yield* holdPermit(sem)
      expect(yield* waiting.outcome).toBe("waiting")
      // the context is cancelled before the permit comes back: the Acquire fails with Canceled
      const exit = yield* Fiber.interrupt(waiting.fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      yield* held.release
      // no permit was lost: the whole capacity can be taken at once
      expect(yield* sem.snapshot).toEqual({ active: 0, queued: 0 })
      const again = yield* holdPermit(sem)
      expect(yield* again.outcome).toBe("held")
      yield* again.release
      expect(yield* sem.snapshot).toEqual({ active: 0, queued: 0 })

      // "we don't acquire with a done context even when we wouldn't need to block": under `withDeadline` a call
      // with no time left fails at once, without taking the free permit
      let ran = false
      const done = yield* Effect.exit(
        sem.run(Effect.sync(() => (ran = true))).pipe(Deadline.withDeadline("0 millis"))
      )
      expect(timedOut(done)).toBe(true)
      expect(ran).toBe(false)
      // deliberate difference: under an established deadline that has passed, the free permit is taken (the bulkhead
      // bounds only waits) and the call runs; a call that would have to wait is turned away at once
      const late = yield* Effect.gen(function*() {
        yield* TestClock.adjust("2 millis")
        const free = yield* Effect.exit(sem.run(Effect.succeed("ran")))
        const blocker = yield* holdPermit(sem)
        const queued = yield* holdPermit(sem)
        const queuedOutcome = yield* queued.outcome
        yield* blocker.release
        return { free, queuedOutcome }
      }).pipe(Deadline.establish("1 millis"))
      expect(late.free).toEqual(Exit.succeed("ran"))
      expect(rejected(late.queuedOutcome, "Timeout")).toBe(true)
      expect(yield* sem.snapshot).toEqual({ active: 0, queued: 0 })
    }))
})
