// Ported from tower's tower/tests/load_shed/main.rs (tower-rs/tower, commit 8358ee712c4050650737e361fba242aa8c798ce2),
// one `it` per case, named after it.
// Mapping: tower's `LoadShedLayer` fails a call at once with `Overloaded` when the service under it is not ready; in
// Sturdy the readiness of the service under it is a free permit of a bulkhead, and shedding is that bulkhead with no
// queue: `Bulkhead.make({ maxConcurrent: 1, maxQueued: 0 })` turns a call away at once with `BulkheadRejected` "Full".
// The mock is tower-test's (`utils/towerMock.ts`); `handle.allow(0)` (the mock admits no request) is the bulkhead's
// permit held by another call (`holdPermit`). `assert_ready_ok!(service.poll_ready(), "overload always reports
// ready")` has no counterpart: a Sturdy call has no readiness step, it is admitted or shed when made.
// Deliberate differences: none seen.
// Not ported: none of main.rs's cases is left out.
import { describe, expect, it } from "@effect/vitest"
import * as Bulkhead from "@sturdy/policy/Bulkhead"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import { holdPermit } from "./utils/holdPermit.js"
import { mockPair, settle } from "./utils/towerMock.js"

// tower's `mock::spawn_layer(LoadShedLayer::new())`
const spawnLayer = Effect.gen(function*() {
  const bulkhead = yield* Bulkhead.make({ key: "svc", maxConcurrent: 1, maxQueued: 0 })
  const handle = mockPair<string, string>()
  const call = (req: string) => Effect.tap(Effect.fork(Bulkhead.withBulkhead(handle.call(req), bulkhead)), () => settle)
  return { bulkhead, handle, call }
})

describe("peer tower load_shed/main.rs", () => {
  it.effect("when_ready", () =>
    Effect.gen(function*() {
      const { call, handle } = yield* spawnLayer

      const response = yield* call("hello")

      yield* handle.assertRequestEq("hello").sendResponse("world")
      expect(yield* Fiber.join(response)).toBe("world")
    }))

  it.effect("when_not_ready", () =>
    Effect.gen(function*() {
      const { bulkhead, call, handle } = yield* spawnLayer

      // handle.allow(0)
      const other = yield* holdPermit(bulkhead)
      expect(yield* other.outcome).toBe("held")

      const fut = yield* call("hello")

      // shed at once: no wait, and the request never reaches the mock
      const err = yield* Fiber.poll(fut)
      expect(err).toEqual(Option.some(Exit.fail(new Bulkhead.BulkheadRejected({ key: "svc", reason: "Full" }))))
      expect(handle.requests).toEqual([])
      yield* other.release
    }))
})
