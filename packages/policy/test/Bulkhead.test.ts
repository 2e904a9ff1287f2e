import { describe, expect, it } from "@effect/vitest"
import { Bulkhead, Deadline } from "@sturdy/policy"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Ref from "effect/Ref"
import * as TestClock from "effect/TestClock"
import { defectOf } from "./utils/hostile.js"

describe("Bulkhead", () => {
  it.effect("runs at most maxConcurrent calls, queues maxQueued and rejects the rest as full", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.make({ key: "search", maxConcurrent: 2, maxQueued: 1 })
      const gate = yield* Deferred.make<void>()
      const running = yield* Ref.make(0)
      const peak = yield* Ref.make(0)
      const call = Effect.gen(function*() {
        const now = yield* Ref.updateAndGet(running, (n) => n + 1)
        yield* Ref.update(peak, (p) => Math.max(p, now))
        yield* Deferred.await(gate)
        yield* Ref.update(running, (n) => n - 1)
        return "ok"
      }).pipe(Bulkhead.withBulkhead(bulkhead))

      const admitted = yield* Effect.forEach([1, 2, 3], () => Effect.fork(call))
      yield* Effect.yieldNow()
      expect(yield* bulkhead.snapshot).toEqual({ active: 2, queued: 1 })
      const rejected = yield* Effect.flip(call)
      expect(rejected).toBeInstanceOf(Bulkhead.BulkheadRejected)
      expect(rejected).toMatchObject({ key: "search", reason: "Full" })

      yield* Deferred.succeed(gate, undefined)
      expect(yield* Fiber.joinAll(admitted)).toEqual(["ok", "ok", "ok"])
      expect(yield* Ref.get(peak)).toBe(2)
      expect(yield* bulkhead.snapshot).toEqual({ active: 0, queued: 0 })
    }))

  it.effect("rejects a maxConcurrent, maxQueued or maxWait that means nothing, naming it (a defect of make)", () =>
    Effect.gen(function*() {
      for (
        const [options, field] of [
          [{ maxConcurrent: Number.NaN }, "maxConcurrent"],
          [{ maxConcurrent: 0 }, "maxConcurrent"],
          [{ maxConcurrent: 2.5 }, "maxConcurrent"],
          [{ maxConcurrent: 1, maxQueued: -1 }, "maxQueued"],
          [{ maxConcurrent: 1, maxQueued: Number.NaN }, "maxQueued"],
          [{ maxConcurrent: 1, maxWait: "30 days" }, "maxWait"],
          [{ maxConcurrent: 1, maxWait: "soon" as Duration.DurationInput }, "maxWait"],
          // Effect reads a negative duration as zero: refused, as resilience4j's BulkheadConfig refuses it
          [{ maxConcurrent: 1, maxQueued: 1, maxWait: -1 }, "maxWait"],
          [{ maxConcurrent: 1, maxQueued: 1, maxWait: "-5 seconds" }, "maxWait"]
        ] as const
      ) {
        const exit = yield* Effect.exit(Bulkhead.make(options))
        expect(Exit.isFailure(exit) && String(exit.cause)).toMatch(new RegExp(`RangeError: Bulkhead: ${field} `))
      }
      // no limit at all is a limit too
      const unbounded = yield* Bulkhead.make({ maxConcurrent: Infinity, maxQueued: Infinity })
      expect(yield* Effect.succeed(1).pipe(Bulkhead.withBulkhead(unbounded))).toBe(1)
    }))

  it.effect("callers that stop waiting leave the queue at once; the others are served in the order they came", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.make({ maxConcurrent: 1, maxQueued: 3 })
      const gate = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(Deferred.await(gate).pipe(Bulkhead.withBulkhead(bulkhead)))
      yield* Effect.yieldNow()
      const order: Array<string> = []
      const queue = (name: string) =>
        Effect.fork(Effect.sync(() => void order.push(name)).pipe(Bulkhead.withBulkhead(bulkhead)))
      const impatient = Effect.fork(
        Effect.void.pipe(Bulkhead.withBulkhead(bulkhead), Deadline.establish("1 second"), Effect.flip)
      )
      const first = yield* queue("first")
      // while the holder hangs, a hundred callers queue between the two that stay, and give up
      for (let round = 0; round < 50; round++) {
        const gaveUp = yield* Effect.all([impatient, impatient])
        yield* TestClock.adjust("1 second")
        for (const fiber of gaveUp) expect(yield* Fiber.join(fiber)).toMatchObject({ reason: "Timeout" })
        expect(yield* bulkhead.snapshot).toEqual({ active: 1, queued: 1 })
      }
      const second = yield* queue("second")
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.joinAll([holder, first, second])
      expect(order).toEqual(["first", "second"])
      expect(yield* bulkhead.snapshot).toEqual({ active: 0, queued: 0 })
    }))

  it.effect("rejects with timeout after maxWait in the queue and releases on failure", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.make({ maxConcurrent: 1, maxQueued: 5, maxWait: "2 seconds" })
      const holder = yield* Effect.fork(Effect.sleep("10 seconds").pipe(Bulkhead.withBulkhead(bulkhead)))
      yield* Effect.yieldNow()
      const waiter = yield* Effect.fork(Effect.flip(Effect.succeed(1).pipe(Bulkhead.withBulkhead(bulkhead))))
      yield* TestClock.adjust("2 seconds")
      expect(yield* Fiber.join(waiter)).toMatchObject({ _tag: "BulkheadRejected", reason: "Timeout" })
      expect(yield* bulkhead.snapshot).toEqual({ active: 1, queued: 0 })
      yield* TestClock.adjust("8 seconds")
      yield* Fiber.join(holder)
      // a failing call gives its permit back
      yield* Effect.flip(Effect.fail("boom").pipe(Bulkhead.withBulkhead(bulkhead)))
      expect(yield* Effect.succeed(2).pipe(Bulkhead.withBulkhead(bulkhead))).toBe(2)
    }))

  it.effect("a queued call in an uninterruptible region (acquireRelease's acquire) still gives up after maxWait", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.make({ maxConcurrent: 1, maxQueued: 2, maxWait: "100 millis" })
      const holder = yield* Effect.fork(Effect.never.pipe(Bulkhead.withBulkhead(bulkhead)))
      yield* Effect.yieldNow()
      // `acquire` runs uninterruptibly: the wait must end by itself, not by being interrupted
      const acquired = yield* Effect.fork(
        Effect.scoped(
          Effect.acquireRelease(Effect.succeed("conn").pipe(Bulkhead.withBulkhead(bulkhead)), () => Effect.void)
        ).pipe(Effect.flip)
      )
      const establishedDeadline = yield* Effect.fork(
        Effect.uninterruptible(Effect.void.pipe(Bulkhead.withBulkhead(bulkhead))).pipe(
          Deadline.establish("50 millis"),
          Effect.flip
        )
      )
      yield* TestClock.adjust("50 millis")
      expect(yield* Fiber.join(establishedDeadline)).toMatchObject({ _tag: "BulkheadRejected", reason: "Timeout" })
      yield* TestClock.adjust("50 millis")
      expect(yield* Fiber.join(acquired)).toMatchObject({ _tag: "BulkheadRejected", reason: "Timeout" })
      expect(yield* bulkhead.snapshot).toEqual({ active: 1, queued: 0 })
      yield* Fiber.interrupt(holder)
      expect(yield* Effect.succeed(1).pipe(Bulkhead.withBulkhead(bulkhead))).toBe(1)
      expect(yield* bulkhead.snapshot).toEqual({ active: 0, queued: 0 })
    }))

  it.effect("an uninterruptible queued call stays uninterruptible: an interruption waits for its maxWait to end", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.make({ maxConcurrent: 1, maxQueued: 1, maxWait: "1 second" })
      const holder = yield* Effect.fork(Effect.never.pipe(Bulkhead.withBulkhead(bulkhead)))
      yield* Effect.yieldNow()
      const waiter = yield* Effect.fork(
        Effect.uninterruptible(Effect.void.pipe(Bulkhead.withBulkhead(bulkhead), Effect.flip))
      )
      yield* Effect.yieldNow()
      const interrupting = yield* Effect.fork(Fiber.interrupt(waiter))
      yield* TestClock.adjust("500 millis")
      // still queued: the interruption is deferred to the end of the region
      expect(Option.isNone(yield* Fiber.poll(waiter))).toBe(true)
      expect(yield* bulkhead.snapshot).toEqual({ active: 1, queued: 1 })
      yield* TestClock.adjust("500 millis")
      const exit = yield* Fiber.join(interrupting)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(yield* bulkhead.snapshot).toEqual({ active: 1, queued: 0 })
      yield* Fiber.interrupt(holder)
      expect(yield* bulkhead.snapshot).toEqual({ active: 0, queued: 0 })
    }))

  // 10^4 runs take a few seconds on an idle machine; the long timeout is headroom for loaded CI runners
  it.effect("no permit is lost when fibers are interrupted at random points (10^4 runs)", () =>
    Effect.gen(function*() {
      const maxConcurrent = 3
      const bulkhead = yield* Bulkhead.make({ maxConcurrent, maxQueued: 3, maxWait: "1 second" })
      for (let run = 0; run < 10_000; run++) {
        const contenders = yield* Random.nextIntBetween(1, 8)
        const fibers = yield* Effect.forEach(
          Array.from({ length: contenders }),
          () => Effect.fork(Effect.never.pipe(Bulkhead.withBulkhead(bulkhead))),
          { concurrency: "unbounded" }
        )
        const steps = yield* Random.nextIntBetween(0, 3)
        for (let i = 0; i < steps; i++) yield* Effect.yieldNow()
        yield* Fiber.interruptAll(fibers)
        expect(yield* bulkhead.snapshot).toEqual({ active: 0, queued: 0 })
      }
      // all permits are back: maxConcurrent calls can hold one at the same time, and one more is queued
      const gate = yield* Deferred.make<void>()
      const holders = yield* Effect.forEach(
        Array.from({ length: maxConcurrent + 1 }),
        () => Effect.fork(Deferred.await(gate).pipe(Bulkhead.withBulkhead(bulkhead))),
        { concurrency: "unbounded" }
      )
      yield* Effect.yieldNow()
      expect(yield* bulkhead.snapshot).toEqual({ active: maxConcurrent, queued: 1 })
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.joinAll(holders)
    }).pipe(Effect.withRandom(Random.make(42))), 120_000)
})

describe("Bulkhead: queued calls and deadlines", () => {
  it.effect("a queued call never waits past an established deadline: BulkheadRejected timeout at 1 s", () =>
    Effect.gen(function*() {
      // no maxWait: only the deadline bounds the wait
      const bulkhead = yield* Bulkhead.make({ key: "reports", maxConcurrent: 1, maxQueued: 5 })
      const gate = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(Deferred.await(gate).pipe(Effect.as("held"), Bulkhead.withBulkhead(bulkhead)))
      yield* Effect.yieldNow()
      let ran = false
      const waiter = yield* Effect.fork(
        Effect.sync(() => {
          ran = true
        }).pipe(Bulkhead.withBulkhead(bulkhead), Deadline.establish("1 second"), Effect.flip)
      )
      yield* Effect.yieldNow()
      expect(yield* bulkhead.snapshot).toEqual({ active: 1, queued: 1 })
      yield* TestClock.adjust("999 millis")
      expect(Option.isNone(yield* Fiber.poll(waiter))).toBe(true)
      yield* TestClock.adjust("1 millis")
      const rejected = yield* Fiber.join(waiter)
      expect(rejected).toBeInstanceOf(Bulkhead.BulkheadRejected)
      expect(rejected).toMatchObject({ key: "reports", reason: "Timeout" })
      expect(ran).toBe(false)
      // the rejected call gave back nothing: the holder still has the only permit
      expect(yield* bulkhead.snapshot).toEqual({ active: 1, queued: 0 })
      const queuedLater = yield* Effect.fork(Effect.succeed("later").pipe(Bulkhead.withBulkhead(bulkhead)))
      yield* Effect.yieldNow()
      expect(yield* bulkhead.snapshot).toEqual({ active: 1, queued: 1 })
      yield* Deferred.succeed(gate, undefined)
      expect(yield* Fiber.join(holder)).toBe("held")
      // a later call still gets the permit
      expect(yield* Fiber.join(queuedLater)).toBe("later")
      expect(yield* Effect.succeed(3).pipe(Bulkhead.withBulkhead(bulkhead))).toBe(3)
      expect(yield* bulkhead.snapshot).toEqual({ active: 0, queued: 0 })
    }))

  it.effect("maxWait still applies when it is sooner than the established deadline", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.make({ maxConcurrent: 1, maxQueued: 1, maxWait: "300 millis" })
      const holder = yield* Effect.fork(Effect.never.pipe(Bulkhead.withBulkhead(bulkhead)))
      yield* Effect.yieldNow()
      const waiter = yield* Effect.fork(
        Effect.void.pipe(Bulkhead.withBulkhead(bulkhead), Deadline.establish("1 second"), Effect.flip)
      )
      yield* TestClock.adjust("300 millis")
      expect(yield* Fiber.join(waiter)).toMatchObject({ _tag: "BulkheadRejected", reason: "Timeout" })
      yield* Fiber.interrupt(holder)
      expect(yield* bulkhead.snapshot).toEqual({ active: 0, queued: 0 })
    }))

  it.effect("a queued call that gets the permit in time runs, even under an established deadline", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.make({ maxConcurrent: 1, maxQueued: 1 })
      const holder = yield* Effect.fork(Effect.sleep("400 millis").pipe(Bulkhead.withBulkhead(bulkhead)))
      yield* Effect.yieldNow()
      const waiter = yield* Effect.fork(
        Effect.succeed("served").pipe(Bulkhead.withBulkhead(bulkhead), Deadline.establish("1 second"))
      )
      yield* TestClock.adjust("400 millis")
      yield* Fiber.join(holder)
      expect(yield* Fiber.join(waiter)).toBe("served")
      // the deadline passing afterwards changes nothing
      yield* TestClock.adjust("1 second")
      expect(yield* bulkhead.snapshot).toEqual({ active: 0, queued: 0 })
    }))

  it.effect("a queued call entered after the established deadline passed is rejected at once", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.make({ maxConcurrent: 1, maxQueued: 1 })
      const holder = yield* Effect.fork(Effect.never.pipe(Bulkhead.withBulkhead(bulkhead)))
      yield* Effect.yieldNow()
      const exit = yield* Effect.gen(function*() {
        yield* TestClock.adjust("2 seconds")
        return yield* Effect.void.pipe(Bulkhead.withBulkhead(bulkhead), Effect.exit)
      }).pipe(Deadline.establish("1 second"))
      expect(exit).toStrictEqual(Exit.fail(new Bulkhead.BulkheadRejected({ key: "default", reason: "Timeout" })))
      expect(yield* bulkhead.snapshot).toEqual({ active: 1, queued: 0 })
      yield* Fiber.interrupt(holder)
      expect(yield* bulkhead.snapshot).toEqual({ active: 0, queued: 0 })
    }))

  it.effect("under an armed deadline the wait is interrupted by its timer: DeadlineExceeded", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.make({ maxConcurrent: 1, maxQueued: 1 })
      const holder = yield* Effect.fork(Effect.never.pipe(Bulkhead.withBulkhead(bulkhead)))
      yield* Effect.yieldNow()
      const waiter = yield* Effect.fork(
        Effect.void.pipe(Bulkhead.withBulkhead(bulkhead), Deadline.withDeadline("1 second"), Effect.flip)
      )
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(waiter)).toMatchObject({ _tag: "DeadlineExceeded", reason: "Deadline" })
      expect(yield* bulkhead.snapshot).toEqual({ active: 1, queued: 0 })
      yield* Fiber.interrupt(holder)
      expect(yield* bulkhead.snapshot).toEqual({ active: 0, queued: 0 })
    }))
})

describe("Bulkhead: nothing stays behind", () => {
  // A fiber inherits its parent's interruptibility: the `maxWait` timer, forked in the call's mask, ignored the
  // interruption meant to stop it when the call got its permit, and ran to its end
  it.effect("a queued call's maxWait timer stops when the call gets its permit", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.make({ maxConcurrent: 1, maxQueued: 10, maxWait: "1 hour" })
      const before = (yield* Fiber.roots).length
      const holder = yield* Effect.fork(bulkhead.run(Effect.sleep("1 second")))
      yield* TestClock.adjust("10 millis")
      const queued = yield* Effect.forEach(
        Array.from({ length: 5 }, () => bulkhead.run(Effect.void)),
        (call) => Effect.fork(call)
      )
      yield* TestClock.adjust("10 millis")
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(holder)
      yield* Fiber.joinAll(queued)
      yield* Effect.yieldNow()
      expect((yield* Fiber.roots).length - before).toBe(0)
    }))
})

describe("Bulkhead: options of the wrong type", () => {
  it.effect("a key that is no string is refused when made, not a ParseError of the first rejection", () =>
    Effect.gen(function*() {
      const defect = yield* defectOf(() => Bulkhead.make({ maxConcurrent: 1, key: 7 as unknown as string }))
      expect(defect).toBeInstanceOf(RangeError)
      expect((defect as Error).message).toContain("Bulkhead: key")
    }))

  it.effect("a symbol count is a RangeError naming it", () =>
    Effect.gen(function*() {
      const defect = yield* defectOf(() => Bulkhead.make({ maxConcurrent: Symbol("n") as unknown as number }))
      expect(defect).toBeInstanceOf(RangeError)
      expect((defect as Error).message).toContain("maxConcurrent")
    }))
})
