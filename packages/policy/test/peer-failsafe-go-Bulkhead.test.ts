// Ported from failsafe-go (failsafe-go/failsafe-go, commit 5759a5e6d557eace215f820f5b5e663d5c05c3ee):
// bulkhead/bulkhead_test.go and the cases of test/bulkhead_test.go that Failsafe's BulkheadTest does not have, one `it`
// per Go case (test function or `t.Run`), named after it.
// Mapping: `bulkhead.New(n)` is `Bulkhead.make({ maxConcurrent: n })` (no queue: a full bulkhead rejects at once);
// `AcquirePermit(ctx)` (waits as long as it takes) is a call through a bulkhead with `maxQueued: Infinity` and no
// `maxWait`, `AcquirePermitWithMaxWait(ctx, d)` / `WithMaxWaitTime(d)` one with `maxWait: d`; `TryAcquirePermit()` and
// `ReleasePermit()` are a call holding a permit until it is released (`holdPermit`); `bulkhead.ErrFull` is
// `BulkheadRejected`, of reason "Full" when turned away at once and "Timeout" when no permit came within `maxWait`
// (Go answers ErrFull for both). `time.Sleep` and the elapsed times are TestClock time.
// Not ported: "should AcquirePermit after wait", "when full" and "with maxWaitTime exceeded" (Failsafe's
// testPermitAcquiredAfterWait, shouldThrowBulkheadFullExceptionAfterPermitsExceeded and testMaxWaitTimeExceeded, in
// peer-failsafe-Bulkhead.test.ts); the benchmarks.
import { describe, expect, it } from "@effect/vitest"
import { Bulkhead } from "@sturdy/policy"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import { advanceToDone } from "./utils/advance.js"
import { counted } from "./utils/counted.js"
import { holdPermit } from "./utils/holdPermit.js"

describe("peer failsafe-go bulkhead_test", () => {
  it.effect("TestAcquirePermit", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.make({ maxConcurrent: 2, maxQueued: Infinity })
      const start = yield* Clock.currentTimeMillis
      const first = yield* holdPermit(bulkhead) // waits 0
      yield* holdPermit(bulkhead) // waits 0
      const third = yield* holdPermit(bulkhead) // waits for a release
      expect(yield* third.outcome).toBe("waiting")
      yield* TestClock.adjust("200 millis")
      yield* first.release
      expect(yield* third.outcome).toBe("held")
      expect((yield* Clock.currentTimeMillis) - start).toBe(200)
    }))

  it.effect("TestAcquirePermitWithMaxWaitTime", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.make({ maxConcurrent: 1, maxQueued: Infinity, maxWait: "100 millis" })
      const first = yield* holdPermit(bulkhead) // waits 0
      expect(yield* first.outcome).toBe("held")
      const start = yield* Clock.currentTimeMillis
      const exit = yield* advanceToDone(Bulkhead.withBulkhead(Effect.void, bulkhead)) // waits 100
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error).toMatchObject({
        _tag: "BulkheadRejected",
        reason: "Timeout"
      })
      expect((yield* Clock.currentTimeMillis) - start).toBe(100)
    }))

  it.effect("TestTryAcquirePermitAndReleasePermit", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.make({ maxConcurrent: 2 })
      const tryAcquire = holdPermit(bulkhead)
      const isHeld = (h: Effect.Effect.Success<typeof tryAcquire>) => Effect.map(h.outcome, (o) => o === "held")

      const a = yield* tryAcquire
      const b = yield* tryAcquire
      expect(yield* isHeld(a)).toBe(true)
      expect(yield* isHeld(b)).toBe(true)
      expect(yield* isHeld(yield* tryAcquire)).toBe(false)

      yield* a.release
      const c = yield* tryAcquire
      expect(yield* isHeld(c)).toBe(true)
      expect(yield* isHeld(yield* tryAcquire)).toBe(false)

      yield* b.release
      yield* c.release
      expect(yield* isHeld(yield* tryAcquire)).toBe(true)
      expect(yield* isHeld(yield* tryAcquire)).toBe(true)
      expect(yield* isHeld(yield* tryAcquire)).toBe(false)
    }))
})

describe("peer failsafe-go TestBulkHead", () => {
  it.effect("when not full", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.make({ maxConcurrent: 2 })
      const c = counted(() => Effect.succeed("test"))
      expect(yield* Bulkhead.withBulkhead(c.call, bulkhead)).toBe("test")
      expect(c.executions).toBe(1)
      expect(yield* bulkhead.snapshot).toEqual({ active: 0, queued: 0 })
    }))

  // Asserts that a short maxWaitTime still allows a permit to be claimed.
  it.effect("with short maxWaitTime", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.make({ maxConcurrent: 1, maxQueued: Infinity, maxWait: "1 nanos" })
      const c = counted(() => Effect.void)
      const fiber = yield* Effect.fork(Bulkhead.withBulkhead(c.call, bulkhead))
      expect(yield* Fiber.await(fiber)).toEqual(Exit.void)
      expect(c.executions).toBe(1)
    }))
})
