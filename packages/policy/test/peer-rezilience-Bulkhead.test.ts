// Ported from rezilience's rezilience/shared/src/test/scala/nl/vroste/rezilience/BulkheadSpec.scala
// (svroonland/rezilience, commit caa1642e8e7be29bf7c54715202f3ceff43eb07a), one `it` per rezilience case, named after it.
// Mapping: `Bulkhead.make(maxInFlightCalls, maxQueueing = 32)` is `Bulkhead.make({ maxConcurrent: maxInFlightCalls,
// maxQueued: maxQueueing })` (rezilience queues 32 calls by default, Sturdy none: the default is passed explicitly);
// `bulkhead(f)` is `Bulkhead.withBulkhead(f, bulkhead)`, its `WrappedError(e)` the failure `e` itself and
// `BulkheadRejection` a `BulkheadRejected` of reason "Full"; `Promise` is `Deferred`, `Ref` a local counter,
// `foreachPar` `Effect.forEach` with unbounded concurrency; `ZIO.sleep` sleeps on the TestClock.
// Deliberate differences: none found.
// Not ported: the `nonFlaky`/`timeout`/`timed` aspects (each case runs once, deterministically, on the TestClock).
import { describe, expect, it } from "@effect/vitest"
import { Bulkhead } from "@sturdy/policy"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"

// rezilience's Bulkhead.make(max, maxQueueing = 32)
const make = (max: number, maxQueueing = 32) => Bulkhead.make({ maxConcurrent: max, maxQueued: maxQueueing })

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1)

describe("peer rezilience BulkheadSpec", () => {
  it.effect("executes calls immediately", () =>
    Effect.gen(function*() {
      const bulkhead = yield* make(10)
      const p = yield* Deferred.make<void>()
      yield* Bulkhead.withBulkhead(Deferred.succeed(p, undefined), bulkhead)
      yield* Deferred.await(p)
      expect(yield* Deferred.isDone(p)).toBe(true)
    }))

  it.effect("executes up to the max nr of calls immediately", () =>
    Effect.gen(function*() {
      const max = 10
      const bulkhead = yield* make(max)
      const p = yield* Deferred.make<void>()
      let callsCompleted = 0
      const calls = yield* Effect.fork(
        Effect.forEach(
          range(max),
          () =>
            Effect.zipRight(Deferred.await(p), Bulkhead.withBulkhead(Effect.sync(() => ++callsCompleted), bulkhead)),
          { concurrency: "unbounded" }
        )
      )
      yield* Deferred.succeed(p, undefined)
      const results = yield* Fiber.join(calls)
      expect([...results].sort((a, b) => a - b)).toEqual(range(max))
    }))

  it.effect("holds back more calls than the max", () =>
    Effect.gen(function*() {
      const max = 20
      const bulkhead = yield* make(max)
      let callsCompleted = 0
      const calls = yield* Effect.fork(
        Effect.forEach(
          range(max + 2),
          () =>
            Bulkhead.withBulkhead(
              Effect.zipRight(Effect.sync(() => ++callsCompleted), Effect.sleep("2 seconds")),
              bulkhead
            ),
          { concurrency: 100, discard: true }
        )
      )
      yield* TestClock.adjust("1 second")
      const nrCallsCompleted = callsCompleted
      yield* TestClock.adjust("3 seconds")
      yield* Fiber.join(calls)
      expect(nrCallsCompleted).toBe(max)
      expect(callsCompleted).toBe(max + 2)
    }))

  it.effect("queues up to the queue limit and then reject calls", () =>
    Effect.gen(function*() {
      const max = 10
      const queueLimit = 5
      const bulkhead = yield* make(max, queueLimit)
      const p = yield* Deferred.make<void>()
      const maxInFlight = yield* Deferred.make<void>()
      let callsInFlight = 0
      // enqueue 10, we expect 10 in flight
      const calls = yield* Effect.fork(
        Effect.forEach(
          range(max),
          () =>
            Bulkhead.withBulkhead(
              Effect.gen(function*() {
                const nrCallsInFlight = ++callsInFlight
                if (nrCallsInFlight >= max) yield* Deferred.succeed(maxInFlight, undefined)
                yield* Deferred.await(p)
              }),
              bulkhead
            ),
          { concurrency: "unbounded", discard: true }
        )
      )
      yield* Effect.raceFirst(Deferred.await(maxInFlight), Fiber.join(calls))
      // enqueue 6 more, of which one will fail
      const failure = yield* Deferred.make<void>()
      const calls2 = yield* Effect.fork(
        Effect.forEach(
          range(queueLimit + 1),
          (i) =>
            Bulkhead.withBulkhead(Effect.void, bulkhead).pipe(
              Effect.tapError(() => Deferred.succeed(failure, undefined)),
              Effect.mapError((e) => [i, e] as const),
              Effect.either
            ),
          { concurrency: "unbounded" }
        )
      )
      // we expect one failure
      yield* Deferred.await(failure)
      yield* Deferred.succeed(p, undefined)
      yield* Fiber.join(calls)
      const results = yield* Fiber.join(calls2)
      const failures = results.filter(Either.isLeft)
      expect(failures.length).toBe(1)
      expect(failures.map((f) => Bulkhead.isBulkheadRejected(f.left[1]) && f.left[1].reason)).toEqual(["Full"])
    }))

  it.effect("will interrupt the effect when a call is interrupted", () =>
    Effect.gen(function*() {
      const bulkhead = yield* make(10)
      const latch = yield* Deferred.make<void>()
      const interrupted = yield* Deferred.make<void>()
      const fib = yield* Effect.fork(
        Bulkhead.withBulkhead(
          Effect.zipRight(Deferred.succeed(latch, undefined), Effect.never).pipe(
            Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined))
          ),
          bulkhead
        )
      )
      yield* Deferred.await(latch)
      yield* Fiber.interrupt(fib)
      yield* Deferred.await(interrupted)
      expect(yield* bulkhead.snapshot).toEqual({ active: 0, queued: 0 })
    }))
})
