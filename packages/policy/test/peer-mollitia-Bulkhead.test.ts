// Ported from mollitia's packages/mollitia/test/unit/module/bulkhead.spec.ts (genesys/mollitia at
// a8a24286b23f437b70f6cc99794571f14bc9a8e4), one `it` per mollitia case, named after it.
// Mapping: `new Bulkhead({ concurrentSize, queueSize, maxQueueWait })` is `Bulkhead.make({ maxConcurrent, maxQueued,
// maxWait })`; `BulkheadOverloadError` is `BulkheadRejected` with reason "Full", `BulkheadQueueWaitError` reason
// "Timeout". mollitia's `successAsync(value, delay)` is a call that answers `value` after `delay` ms of TestClock time
// (default 1 ms); its real `delay(60)` and `delay(1000)` are TestClock moves.
// Deliberate differences: none. Not ported: nothing.
import { describe, expect, it } from "@effect/vitest"
import { Bulkhead } from "@sturdy/policy"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"

const successAsync = (value: string, delay = 1) => Effect.as(Effect.sleep(delay), value)

const rejection = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" && Bulkhead.isBulkheadRejected(exit.cause.error)
    ? exit.cause.error.reason
    : undefined

describe("peer mollitia Bulkhead", () => {
  it.effect("should add to concurrent buffer", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.make({ maxConcurrent: 2, maxQueued: 2, maxWait: 200 })
      const start = (value: string, delay?: number) =>
        Effect.fork(Effect.exit(Bulkhead.withBulkhead(successAsync(value, delay), bulkhead)))
      const settle = Effect.repeatN(Effect.yieldNow(), 10)
      const dummy1 = yield* start("dummy1", 50)
      const dummy2 = yield* start("dummy2", 300)
      const dummy3 = yield* start("dummy3", 50)
      const dummy4 = yield* start("dummy4", 200)
      const dummy5 = yield* start("dummy5")
      yield* settle
      expect(yield* bulkhead.snapshot).toEqual({ active: 2, queued: 2 })
      // two running, two queued: the fifth finds the queue full
      expect(rejection(yield* Fiber.join(dummy5))).toBe("Full")
      yield* TestClock.adjust(60)
      yield* settle
      // dummy1 ended at 50 ms and dummy3 took its permit; dummy4 waits, and so does dummy6 now
      const dummy6 = yield* start("dummy6")
      yield* settle
      expect(yield* bulkhead.snapshot).toEqual({ active: 2, queued: 2 })
      // dummy3 ends at 100 ms and dummy4 takes its permit; dummy6 waits on, until its 200 ms are over at 260 ms
      yield* TestClock.adjust(199)
      yield* settle
      expect(yield* bulkhead.snapshot).toEqual({ active: 2, queued: 1 })
      expect(yield* Fiber.poll(dummy6)).toStrictEqual(Option.none())
      yield* TestClock.adjust(1)
      yield* settle
      expect(rejection(yield* Fiber.join(dummy6))).toBe("Timeout")
      yield* TestClock.adjust(1000)
      expect(yield* Fiber.join(dummy1)).toStrictEqual(Exit.succeed("dummy1"))
      expect(yield* Fiber.join(dummy2)).toStrictEqual(Exit.succeed("dummy2"))
      expect(yield* Fiber.join(dummy3)).toStrictEqual(Exit.succeed("dummy3"))
      // dummy4 got dummy3's permit at 100 ms, within its 200 ms wait
      expect(yield* Fiber.join(dummy4)).toStrictEqual(Exit.succeed("dummy4"))
      // dummy6 came at 60 ms; no permit is free before dummy2 and dummy4 end at 300 ms, past its 200 ms wait
      expect(rejection(yield* Fiber.join(dummy6))).toBe("Timeout")
    }))
})
