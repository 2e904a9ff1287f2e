// Ported from tower's tower/tests/limit/concurrency.rs (tower-rs/tower, commit
// 8358ee712c4050650737e361fba242aa8c798ce2), one `it` per case, named after it.
// Mapping: `ConcurrencyLimitLayer::new(n)` is `Bulkhead.make({ maxConcurrent: n, maxQueued: Infinity })` (tower keeps
// any number of callers waiting in `poll_ready`), and a service behind it is `withBulkhead` around tower-test's mock
// (`utils/towerMock.ts`: a request waits until the test answers it). A clone of the service (`s1.clone()`) is another
// caller of the same bulkhead. `poll_ready()` returning `Pending` is a call that waits in the bulkhead's queue without
// reaching the mock (or, where tower makes no call then, `snapshot` showing every permit taken); `is_woken()` followed
// by a ready `poll_ready()` is the queued call getting its permit and running. A permit reserved by `poll_ready` and
// not yet used by `call` is a call that holds its permit and has not sent its request (`holdPermit`, or a call whose
// request waits on a gate); dropping the service or the response future is interrupting that call's fiber.
// Deliberate differences (each test says which): tower releases a permit when the response future is polled to its
// end, so a response sent and not yet awaited still holds it; Sturdy's call ends when the mock answers, and releases
// the permit then. A limit of 0 (`request_without_capacity`) is a `RangeError` in Sturdy (documented: `maxConcurrent`
// is an integer ≥ 1), where tower's service is never ready.
// Not ported: none of concurrency.rs's cases is left out.
import { describe, expect, it } from "@effect/vitest"
import * as Bulkhead from "@sturdy/policy/Bulkhead"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import { holdPermit } from "./utils/holdPermit.js"
import { mockPair, settle } from "./utils/towerMock.js"

// tower's `mock::spawn_layer(ConcurrencyLimitLayer::new(n))`
const spawnLayer = <E = never>(n: number) =>
  Effect.gen(function*() {
    const bulkhead = yield* Bulkhead.make({ maxConcurrent: n, maxQueued: Infinity })
    const handle = mockPair<string, string, E>()
    const service = (req: string) => Bulkhead.withBulkhead(handle.call(req), bulkhead)
    // `service.call(req)`, forked: the caller's response future
    const call = (req: string) => Effect.tap(Effect.fork(service(req)), () => settle)
    return { bulkhead, handle, call }
  })

const pending = <A, E>(fiber: Fiber.Fiber<A, E>) => Effect.map(Fiber.poll(fiber), Option.isNone)

describe("peer tower limit/concurrency.rs", () => {
  it.effect("basic_service_limit_functionality_with_poll_ready", () =>
    Effect.gen(function*() {
      const { bulkhead, call, handle } = yield* spawnLayer(2)

      const r1 = yield* call("hello 1")
      const r2 = yield* call("hello 2")

      // `assert_pending!(service.poll_ready())`, `assert!(!service.is_woken())`: the third caller waits
      const r3 = yield* call("hello 3")
      expect(yield* pending(r3)).toBe(true)
      expect(yield* bulkhead.snapshot).toEqual({ active: 2, queued: 1 })

      // The request gets passed through
      yield* handle.assertRequestEq("hello 1").sendResponse("world 1")
      // (tower answers "hello 2" here too, and its permit is held until r2 is awaited; Sturdy's call would end with
      // the answer, so it is sent once r3 is running)

      expect(yield* Fiber.join(r1)).toBe("world 1")

      // `assert!(service.is_woken())`: another request can be sent
      expect(handle.requests).toEqual(["hello 1", "hello 2", "hello 3"])
      // `assert_pending!(service.poll_ready())`
      expect(yield* bulkhead.snapshot).toEqual({ active: 2, queued: 0 })

      // The next request gets passed through
      yield* handle.assertRequestEq("hello 2").sendResponse("world 2")
      expect(yield* Fiber.join(r2)).toBe("world 2")

      // The request gets passed through
      yield* handle.assertRequestEq("hello 3").sendResponse("world 3")
      expect(yield* Fiber.join(r3)).toBe("world 3")

      // There are no more requests
      expect(handle.waiting()).toBe(0)
      expect(yield* bulkhead.snapshot).toEqual({ active: 0, queued: 0 })
    }))

  it.effect("basic_service_limit_functionality_without_poll_ready", () =>
    Effect.gen(function*() {
      const { bulkhead, call, handle } = yield* spawnLayer(2)

      const r1 = yield* call("hello 1")
      const r2 = yield* call("hello 2")

      // `assert_pending!(service.poll_ready())`: both permits are taken (and, unlike above, nobody waits for one)
      expect(yield* bulkhead.snapshot).toEqual({ active: 2, queued: 0 })

      // The request gets passed through
      yield* handle.assertRequestEq("hello 1").sendResponse("world 1")
      // There are no more requests
      expect(handle.waiting()).toBe(1)

      expect(yield* Fiber.join(r1)).toBe("world 1")

      // One more request can be sent
      const r4 = yield* call("hello 4")
      expect(handle.requests).toEqual(["hello 1", "hello 2", "hello 4"])

      // `assert_pending!(service.poll_ready())`
      expect(yield* bulkhead.snapshot).toEqual({ active: 2, queued: 0 })

      // (tower answers "hello 2" before r1 is awaited; here it is answered now, see the header)
      yield* handle.assertRequestEq("hello 2").sendResponse("world 2")
      expect(yield* Fiber.join(r2)).toBe("world 2")
      expect(yield* bulkhead.snapshot).toEqual({ active: 1, queued: 0 })

      // The request gets passed through
      yield* handle.assertRequestEq("hello 4").sendResponse("world 4")
      expect(yield* Fiber.join(r4)).toBe("world 4")
    }))

  // tower's limit of 0 is a service never ready; Sturdy refuses it when made (documented: an integer ≥ 1)
  it.effect("request_without_capacity", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Bulkhead.make({ maxConcurrent: 0, maxQueued: Infinity }))
      expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
      const defect = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
      expect(defect).toBeInstanceOf(RangeError)
      expect(String(defect)).toMatch(/maxConcurrent/)
    }))

  it.effect("reserve_capacity_without_sending_request", () =>
    Effect.gen(function*() {
      const { bulkhead, handle } = yield* spawnLayer(1)
      // s1 holds its permit before it sends its request (tower's `poll_ready` reservation)
      const send = yield* Deferred.make<void>()
      const s1 = yield* Effect.fork(
        Bulkhead.withBulkhead(Effect.zipRight(Deferred.await(send), handle.call("hello")), bulkhead)
      )
      yield* settle

      // Service 2 cannot get capacity
      const s2 = yield* holdPermit(bulkhead)
      expect(yield* s2.outcome).toBe("waiting")

      // s1 sends the request, then s2 is able to get capacity
      yield* Deferred.succeed(send, undefined)
      yield* settle
      expect(yield* s2.outcome).toBe("waiting")

      yield* handle.assertRequestEq("hello").sendResponse("world")

      expect(yield* Fiber.join(s1)).toBe("world")

      expect(yield* s2.outcome).toBe("held")
      yield* s2.release
    }))

  it.effect("service_drop_frees_capacity", () =>
    Effect.gen(function*() {
      const { bulkhead } = yield* spawnLayer(1)

      // Reserve capacity in s1
      const s1 = yield* holdPermit(bulkhead)
      expect(yield* s1.outcome).toBe("held")

      // Service 2 cannot get capacity
      const s2 = yield* holdPermit(bulkhead)
      expect(yield* s2.outcome).toBe("waiting")

      // drop(s1)
      yield* Fiber.interrupt(s1.fiber)
      yield* settle

      expect(yield* s2.outcome).toBe("held")
      yield* s2.release
    }))

  it.effect("response_error_releases_capacity", () =>
    Effect.gen(function*() {
      const { bulkhead, call, handle } = yield* spawnLayer<string>(1)

      // s1 sends the request, then s2 is able to get capacity
      const r1 = yield* call("hello")

      yield* handle.assertRequestEq("hello").sendError("boom")

      expect(yield* Fiber.await(r1)).toEqual(Exit.fail("boom"))

      const s2 = yield* holdPermit(bulkhead)
      expect(yield* s2.outcome).toBe("held")
      yield* s2.release
    }))

  it.effect("response_future_drop_releases_capacity", () =>
    Effect.gen(function*() {
      const { bulkhead, call } = yield* spawnLayer(1)

      // s1 sends the request, then s2 is able to get capacity
      const r1 = yield* call("hello")

      const s2 = yield* holdPermit(bulkhead)
      expect(yield* s2.outcome).toBe("waiting")

      // drop(r1)
      yield* Fiber.interrupt(r1)
      yield* settle

      expect(yield* s2.outcome).toBe("held")
      yield* s2.release
    }))

  it.effect("multi_waiters", () =>
    Effect.gen(function*() {
      const { bulkhead } = yield* spawnLayer(1)

      // Reserve capacity in s1
      const s1 = yield* holdPermit(bulkhead)
      expect(yield* s1.outcome).toBe("held")

      // s2 and s3 are not ready
      const s2 = yield* holdPermit(bulkhead)
      const s3 = yield* holdPermit(bulkhead)
      expect(yield* s2.outcome).toBe("waiting")
      expect(yield* s3.outcome).toBe("waiting")

      // drop(s1): s2 is woken, s3 is not
      yield* Fiber.interrupt(s1.fiber)
      yield* settle
      expect(yield* s2.outcome).toBe("held")
      expect(yield* s3.outcome).toBe("waiting")

      // drop(s2): s3 is woken
      yield* Fiber.interrupt(s2.fiber)
      yield* settle
      expect(yield* s3.outcome).toBe("held")
      yield* s3.release
      expect(yield* bulkhead.snapshot).toEqual({ active: 0, queued: 0 })
    }))
})
