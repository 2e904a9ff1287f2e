// Ported from async-sema's test/sema.test.ts (vercel/async-sema, main at commit
// 603842b82e68e24b76eb0e74dae66de1eda468b4), one `it` per async-sema test, named after it.
// Mapping: `new Sema(n)` is `Bulkhead.make({ maxConcurrent: n, maxQueued: Infinity })` (a Sema queues any number of
// waiters); `acquire()` … `release()` is a call through the bulkhead that holds its permit until released
// (`holdPermit`; a permit is given back when its call ends, so the Sema's n-th `release()` ends the n-th holder);
// `nrWaiting()` is `snapshot`'s `queued`; `tryAcquire()` is a call on a bulkhead with `maxQueued: 0` (turned away with
// `BulkheadRejected` "Full" where the Sema answers `undefined`). Sturdy has no `pauseFn` / `resumeFn`: what the Sema
// signals with them is read from `snapshot` instead: it pauses when a caller must wait (`queued` above 0) and resumes
// when a released permit finds no waiter (`active` below `maxConcurrent`).
// Not ported: "initFn is called properly" and "Tokens are returned properly" (a Bulkhead permit carries no token).
// The brief's `drain()` and the `RateLimit()` helper have no test on async-sema's main branch; the unmerged pull
// requests #52–#55 add test/Sema.ts (these cases again) and test/Utils.ts (`createRateLimiter` against a mocked Sema
// and a spied `setTimeout`: white-box checks of its arguments), neither on main, so neither is ported.
import { describe, expect, it } from "@effect/vitest"
import { Bulkhead } from "@sturdy/policy"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { holdPermit } from "./utils/holdPermit.js"

/** `new Sema(nr)`: any number of waiters. */
const sema = (nr: number) => Bulkhead.make({ maxConcurrent: nr, maxQueued: Infinity })

const full = (outcome: unknown) =>
  Exit.isExit(outcome) && Exit.isFailure(outcome) && outcome.cause._tag === "Fail" &&
  Bulkhead.isBulkheadRejected(outcome.cause.error) && outcome.cause.error.reason === "Full"

describe("peer async-sema test/sema.test.ts", () => {
  it.effect("s.nrWaiting() is sane", () =>
    Effect.gen(function*() {
      const s = yield* sema(1)

      const first = yield* holdPermit(s)
      expect(yield* first.outcome).toBe("held")
      expect((yield* s.snapshot).queued).toBe(0)

      // This would block with await
      const second = yield* holdPermit(s)
      expect(yield* second.outcome).toBe("waiting")
      expect((yield* s.snapshot).queued).toBe(1)

      yield* first.release
      expect((yield* s.snapshot).queued).toBe(0)
      expect(yield* second.outcome).toBe("held")
      yield* second.release
      expect(yield* s.snapshot).toEqual({ active: 0, queued: 0 })
    }))

  it.effect("nr of available semas seems correct", () =>
    Effect.gen(function*() {
      const s = yield* sema(3)

      for (let i = 1; i <= 3; i++) {
        const call = yield* holdPermit(s)
        expect(yield* call.outcome).toBe("held")
        expect(yield* s.snapshot).toEqual({ active: i, queued: 0 })
      }
    }))

  it.effect("tryAcquire returns undefined", () =>
    Effect.gen(function*() {
      // tryAcquire never waits: a bulkhead without a queue
      const s = yield* Bulkhead.make({ maxConcurrent: 2, maxQueued: 0 })

      const acquired = yield* holdPermit(s)
      expect(yield* acquired.outcome).toBe("held")
      const defined = yield* holdPermit(s)
      expect(yield* defined.outcome).toBe("held")
      expect(full(yield* (yield* holdPermit(s)).outcome)).toBe(true)

      yield* acquired.release
      expect(yield* (yield* holdPermit(s)).outcome).toBe("held")
      expect(full(yield* (yield* holdPermit(s)).outcome)).toBe(true)
      expect(yield* s.snapshot).toEqual({ active: 2, queued: 0 })
    }))

  it.effect("Pausing works", () =>
    Effect.gen(function*() {
      const s = yield* sema(5)
      const paused = Effect.map(s.snapshot, ({ queued }) => queued > 0)
      const resumed = Effect.map(s.snapshot, ({ active, queued }) => queued === 0 && active < 5)

      const holders = []
      for (let i = 0; i < 5; i++) holders.push(yield* holdPermit(s))

      // pauseFn and resumeFn not called
      expect(yield* paused).toBe(false)
      expect(yield* s.snapshot).toEqual({ active: 5, queued: 0 })

      const sixth = yield* holdPermit(s)
      // pauseFn called: a caller waits
      expect(yield* paused).toBe(true)
      expect(yield* sixth.outcome).toBe("waiting")

      // the first release hands the permit to the waiter: no permit is free yet
      yield* holders[0]!.release
      expect(yield* sixth.outcome).toBe("held")
      expect(yield* resumed).toBe(false)
      expect(yield* s.snapshot).toEqual({ active: 5, queued: 0 })

      // resumeFn called: the second release finds no waiter and frees a permit
      yield* holders[1]!.release
      expect(yield* resumed).toBe(true)
      expect(yield* s.snapshot).toEqual({ active: 4, queued: 0 })
    }))
})
