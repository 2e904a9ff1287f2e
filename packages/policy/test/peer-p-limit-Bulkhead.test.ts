// Ported from p-limit's test.js (sindresorhus/p-limit, commit df476048d023ff868cd45b35ee47f5fb0ca2b25a), one `it` per
// p-limit case, named after it.
// Mapping: `pLimit(n)` (and `pLimit({ concurrency: n })`) is `Bulkhead.make({ maxConcurrent: n, maxQueued: Infinity })`
// (p-limit queues any number of calls); `limit(fn)` is `bulkhead.run(effect)`, and each call is its own fiber, as
// each p-limit call is its own promise (`Promise.all` is joining them in order: one failure does not stop the
// others); `activeCount` / `pendingCount` are `snapshot`'s `active` / `queued`; `limit.map(items, fn)` is
// `Effect.forEach(items, (item, index) => bulkhead.run(fn(item, index)), { concurrency: "unbounded" })`, and
// `limitFunction(fn, { concurrency })` is `Bulkhead.withBulkhead(bulkhead)` applied to each call; `clearQueue()` is
// interrupting the fibers of the queued calls (Sturdy's way to withdraw a waiting call, which leaves the queue at
// once: so the rejection of `rejectOnClear` is an interruption, p-limit's AbortError); the async execution context
// (`AsyncLocalStorage`) is a FiberRef; an extra argument of `limit(fn, ...args)` is a value the effect closes over;
// `delay(ms)` and `time-span` are the TestClock (p-limit's tolerance of 590–650 ms for 600 ms is exact here);
// `random-int` is Effect's Random with a fixed seed; a synchronous throw is a defect (`Effect.sync` that throws).
// Deliberate differences (each test says which): an Effect is a description and runs when its fiber does, so in
// "runs all tasks asynchronously" the calls' fibers have not started when `limit` returns (p-limit's activeCount 2
// at that point is not observable), and the effect reads `value` when it runs as p-limit's function does; a
// Bulkhead does not expose its `maxConcurrent` ("accepts options object" checks it by the calls it lets run at once).
// Not ported: "change concurrency to smaller value" and "change concurrency to bigger value" (a Bulkhead's
// `maxConcurrent` is fixed when it is made; Sturdy has no setter), "accepts additional arguments" (an Effect carries
// its arguments in its closure; nothing of the bulkhead is involved; "shared context with a limited provider helper"
// covers the same helper shape through the queue).
import { describe, expect, it } from "@effect/vitest"
import { Bulkhead } from "@sturdy/policy"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as Random from "effect/Random"
import { advanceToDone } from "./utils/advance.js"

/** `pLimit(concurrency)`: p-limit queues any number of calls. */
const pLimit = (concurrency: number) => Bulkhead.make({ maxConcurrent: concurrency, maxQueued: Infinity })

const delay = (ms: number) => Effect.sleep(Duration.millis(ms))

/** Starts each call on its own fiber (as p-limit's `limit()` returns a running promise) and lets them reach the queue. */
const start = <A, E>(calls: ReadonlyArray<Effect.Effect<A, E>>) =>
  Effect.gen(function*() {
    const fibers = yield* Effect.forEach(calls, (call) => Effect.fork(call))
    for (let turn = 0; turn < 8; turn++) yield* Effect.yieldNow()
    return fibers
  })

/** `Promise.all(promises)`: the results in order, or the first failure in order; the other calls run on. */
const all = <A, E>(fibers: ReadonlyArray<Fiber.Fiber<A, E>>) => Effect.forEach(fibers, Fiber.join)

/** Runs `effect` to its end on the TestClock: its exit and the virtual milliseconds it took (`time-span`). */
const timed = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const startedAt = yield* Clock.currentTimeMillis
    const exit = yield* advanceToDone(effect)
    return { exit, elapsed: (yield* Clock.currentTimeMillis) - startedAt }
  })

const value = <A, E>(exit: Exit.Exit<A, E>): A => {
  if (Exit.isFailure(exit)) throw new Error(`expected a success, got ${String(exit.cause)}`)
  return exit.value
}

/** 100 calls of 30–200 ms (seeded) through `limited`, counting the calls running at once. */
const hundredRandomCalls = (
  concurrency: number,
  limited: (call: Effect.Effect<void>) => Effect.Effect<void, Bulkhead.BulkheadRejected>
) =>
  Effect.gen(function*() {
    let running = 0
    let maxRunning = 0
    let finished = 0
    const task = Effect.gen(function*() {
      running++
      maxRunning = Math.max(maxRunning, running)
      expect(running).toBeLessThanOrEqual(concurrency)
      // random-int's randomInt(30, 200) includes 200
      yield* delay(yield* Random.nextIntBetween(30, 201))
      running--
      finished++
    })
    const input = yield* start(Array.from({ length: 100 }, () => limited(task)))
    value(yield* advanceToDone(all(input)))
    expect(finished).toBe(100)
    expect(maxRunning).toBe(concurrency)
  }).pipe(Effect.withRandom(Random.make(4)))

describe("peer p-limit test.js", () => {
  it.effect("concurrency: 1", () =>
    Effect.gen(function*() {
      const input: ReadonlyArray<readonly [number, number]> = [[10, 300], [20, 200], [30, 100]]
      const limit = yield* pLimit(1)
      const mapper = ([v, ms]: readonly [number, number]) => limit.run(Effect.as(delay(ms), v))

      const { elapsed, exit } = yield* timed(Effect.flatMap(start(input.map((x) => mapper(x))), all))
      expect(value(exit)).toEqual([10, 20, 30])
      // p-limit: inRange(end(), { start: 590, end: 650 }); one at a time, 300 + 200 + 100 ms
      expect(elapsed).toBe(600)
    }))

  it.effect("concurrency: 4", () =>
    Effect.gen(function*() {
      // (p-limit's test is named "concurrency: 4" and uses 5)
      const concurrency = 5
      const limit = yield* pLimit(concurrency)
      yield* hundredRandomCalls(concurrency, limit.run)
    }))

  it.effect("propagates async execution context properly", () =>
    Effect.gen(function*() {
      const concurrency = 2
      const limit = yield* pLimit(concurrency)
      const store = FiberRef.unsafeMake<{ readonly id: number } | undefined>(undefined)
      const seen: Array<number | undefined> = []

      const checkId = (id: number) =>
        Effect.gen(function*() {
          yield* Effect.yieldNow()
          const current = yield* FiberRef.get(store)
          seen[id] = current?.id
        })
      const startContext = (id: number) => Effect.locally(limit.run(checkId(id)), store, { id })

      const fibers = yield* start(Array.from({ length: 100 }, (_, id) => startContext(id)))
      value(yield* advanceToDone(all(fibers)))
      expect(seen).toEqual(Array.from({ length: 100 }, (_, id) => id))
    }))

  it.effect("non-promise returning function", () =>
    Effect.gen(function*() {
      const limit = yield* pLimit(1)
      const exit = yield* Effect.exit(limit.run(Effect.sync(() => null)))
      expect(exit).toStrictEqual(Exit.succeed(null))
    }))

  it.effect("continues after sync throw", () =>
    Effect.gen(function*() {
      const limit = yield* pLimit(1)
      let ran = false

      const promises = yield* start([
        limit.run(Effect.sync((): void => {
          throw new Error("err")
        })),
        limit.run(Effect.sync(() => {
          ran = true
        }))
      ])
      const exit = yield* Effect.exit(all(promises))
      expect(Exit.isFailure(exit) && exit.cause._tag === "Die").toBe(true)
      // the second call must also have ended by now (its fiber is its own)
      yield* Fiber.await(promises[1]!)

      expect(ran).toBe(true)
      expect(yield* limit.snapshot).toEqual({ active: 0, queued: 0 })
    }))

  it.effect("shared context with a limited provider helper", () =>
    Effect.gen(function*() {
      const limit = yield* pLimit(1)
      const sharedContext: { values: Array<string> } = { values: [] }

      const runWithContext = <A>(
        function_: (context: typeof sharedContext, value: string) => Effect.Effect<A>,
        value: string
      ) => limit.run(function_(sharedContext, value))

      const addValue = (context: typeof sharedContext, value: string) =>
        Effect.gen(function*() {
          context.values.push(value)
          yield* delay(10)
          return context.values.length
        })

      const [firstPromise, secondPromise] = yield* start([
        runWithContext(addValue, "first"),
        runWithContext(addValue, "second")
      ])

      expect(yield* limit.snapshot).toEqual({ active: 1, queued: 1 })

      const results = value(yield* advanceToDone(all([firstPromise!, secondPromise!])))

      expect(results).toEqual([1, 2])
      expect(sharedContext.values).toEqual(["first", "second"])
    }))

  it.effect("does not ignore errors", () =>
    Effect.gen(function*() {
      const limit = yield* pLimit(1)
      const error = new Error("🦄")

      const promises = yield* start([
        limit.run(delay(30)),
        limit.run(Effect.zipRight(delay(80), Effect.fail(error))),
        limit.run(delay(50))
      ])

      const exit = yield* advanceToDone(all(promises))
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error).toBe(error)
      // the call after the failed one still ran, at 30 + 80 ms, for 50 ms
      const { elapsed, exit: last } = yield* timed(Fiber.join(promises[2]!))
      expect(Exit.isSuccess(last)).toBe(true)
      expect(elapsed).toBe(50)
    }))

  it.effect("runs all tasks asynchronously", () =>
    Effect.gen(function*() {
      const limit = yield* pLimit(3)

      let v = 1

      const one = yield* Effect.fork(limit.run(Effect.sync(() => 1)))
      const two = yield* Effect.fork(limit.run(Effect.sync(() => v)))

      // p-limit asserts activeCount 2 here: not observable, the forked fibers need not have started (see the header)
      v = 2

      const result = yield* all([one, two])

      expect(result).toEqual([1, 2])
    }))

  it.effect("activeCount and pendingCount properties", () =>
    Effect.gen(function*() {
      const limit = yield* pLimit(5)
      expect(yield* limit.snapshot).toEqual({ active: 0, queued: 0 })

      const [runningPromise1] = yield* start([limit.run(delay(1000))])
      expect(yield* limit.snapshot).toEqual({ active: 1, queued: 0 })

      value(yield* advanceToDone(Fiber.join(runningPromise1!)))
      expect(yield* limit.snapshot).toEqual({ active: 0, queued: 0 })

      const immediatePromises = yield* start(Array.from({ length: 5 }, () => limit.run(delay(1000))))
      const delayedPromises = yield* start(Array.from({ length: 3 }, () => limit.run(delay(1000))))

      expect(yield* limit.snapshot).toEqual({ active: 5, queued: 3 })

      value(yield* advanceToDone(all(immediatePromises)))
      expect(yield* limit.snapshot).toEqual({ active: 3, queued: 0 })

      value(yield* advanceToDone(all(delayedPromises)))

      expect(yield* limit.snapshot).toEqual({ active: 0, queued: 0 })
    }))

  it.effect("clearQueue", () =>
    Effect.gen(function*() {
      const limit = yield* pLimit(1)

      yield* start(Array.from({ length: 1 }, () => limit.run(delay(1000))))
      const pending = yield* start(Array.from({ length: 3 }, () => limit.run(delay(1000))))

      expect(yield* limit.snapshot).toEqual({ active: 1, queued: 3 })
      // clearQueue(): the queued calls are withdrawn
      yield* Fiber.interruptAll(pending)
      expect(yield* limit.snapshot).toEqual({ active: 1, queued: 0 })
    }))

  it.effect("clearQueue rejects pending promises when enabled", () =>
    Effect.gen(function*() {
      const limit = yield* pLimit(1)

      const [runningPromise] = yield* start([limit.run(delay(100))])
      const [pendingPromiseOne, pendingPromiseTwo] = yield* start([limit.run(delay(10)), limit.run(delay(10))])

      expect(yield* limit.snapshot).toEqual({ active: 1, queued: 2 })

      yield* Fiber.interruptAll([pendingPromiseOne!, pendingPromiseTwo!])
      expect(yield* limit.snapshot).toEqual({ active: 1, queued: 0 })

      const { elapsed, exit } = yield* timed(Fiber.join(runningPromise!))
      expect(Exit.isSuccess(exit)).toBe(true)
      // the withdrawn calls never ran: the running one ends on its own time, and nothing runs after it
      expect(elapsed).toBe(100)
      expect(yield* limit.snapshot).toEqual({ active: 0, queued: 0 })
      // p-limit: rejects with an AbortError
      expect(Exit.isInterrupted(yield* Fiber.await(pendingPromiseOne!))).toBe(true)
      expect(Exit.isInterrupted(yield* Fiber.await(pendingPromiseTwo!))).toBe(true)
    }))

  it.effect("map", () =>
    Effect.gen(function*() {
      const limit = yield* pLimit(1)
      const results = yield* Effect.forEach(
        [1, 2, 3, 4, 5, 6, 7],
        (input) => limit.run(Effect.sync(() => input + 1)),
        { concurrency: "unbounded" }
      )

      expect(results).toEqual([2, 3, 4, 5, 6, 7, 8])
    }))

  it.effect("map works when detached from the limit", () =>
    Effect.gen(function*() {
      const limit = yield* pLimit(1)
      // `run` is a plain field of the bulkhead: detached, it still goes through the same limit
      const { run } = limit
      let running = 0
      let maxRunning = 0
      const mapper = (input: number) =>
        Effect.gen(function*() {
          running++
          maxRunning = Math.max(maxRunning, running)
          yield* delay(10)
          running--
          return input * 2
        })

      const [directResult, mapResult] = yield* start<number | Array<number>, Bulkhead.BulkheadRejected>([
        limit.run(mapper(1)),
        Effect.forEach([2, 3], (input) => run(mapper(input)), { concurrency: "unbounded" })
      ])

      expect(value(yield* advanceToDone(all([directResult!, mapResult!])))).toEqual([2, [4, 6]])
      expect(maxRunning).toBe(1)
    }))

  it.effect("map passes index and preserves order with concurrency", () =>
    Effect.gen(function*() {
      const limit = yield* pLimit(3)
      const inputs = [10, 10, 10, 10, 10]

      const results = yield* advanceToDone(Effect.forEach(inputs, (v, index) =>
        limit.run(
          // a variable duration per index shuffles the completion order
          Effect.as(delay((inputs.length - index) * 5), v + index)
        ), { concurrency: "unbounded" }))

      // results in input order, with the index
      expect(value(results)).toEqual([10, 11, 12, 13, 14])
    }))

  it.effect("map accepts an iterable (set)", () =>
    Effect.gen(function*() {
      const limit = yield* pLimit(2)
      const inputs = new Set([1, 2, 3, 4])

      const results = yield* Effect.forEach(inputs, (input) => limit.run(Effect.sync(() => input * 2)), {
        concurrency: "unbounded"
      })

      expect(results).toEqual([2, 4, 6, 8])
    }))

  it.effect("map accepts an iterable (array iterator)", () =>
    Effect.gen(function*() {
      const limit = yield* pLimit(2)
      const inputs = [1, 2, 3, 4].values()

      const results = yield* Effect.forEach(inputs, (input) => limit.run(Effect.sync(() => input * 2)), {
        concurrency: "unbounded"
      })

      expect(results).toEqual([2, 4, 6, 8])
    }))

  it.effect("accepts options object", () =>
    Effect.gen(function*() {
      const limit = yield* Bulkhead.make({ maxConcurrent: 1, maxQueued: Infinity })

      const input = yield* start([
        limit.run(Effect.as(delay(50), 1)),
        limit.run(Effect.as(delay(50), 2))
      ])
      // p-limit: limit.concurrency is 1; a Bulkhead does not expose it, but lets one call run at a time
      expect(yield* limit.snapshot).toEqual({ active: 1, queued: 1 })

      const { elapsed, exit } = yield* timed(all(input))
      expect(value(exit)).toEqual([1, 2])
      expect(elapsed).toBe(100)
    }))

  it.effect("throws on invalid concurrency argument", () =>
    Effect.gen(function*() {
      const throws = (options: unknown) =>
        Effect.map(
          Effect.exit(Bulkhead.make(options as Bulkhead.Options)),
          (exit) => Exit.isFailure(exit) && exit.cause._tag === "Die" && exit.cause.defect instanceof RangeError
        )

      // pLimit(0), pLimit(-1), pLimit(1.2), pLimit(undefined), pLimit(true), pLimit({}), pLimit({ concurrency: 0 })
      expect(yield* throws({ maxConcurrent: 0 })).toBe(true)
      expect(yield* throws({ maxConcurrent: -1 })).toBe(true)
      expect(yield* throws({ maxConcurrent: 1.2 })).toBe(true)
      expect(yield* throws({ maxConcurrent: undefined })).toBe(true)
      expect(yield* throws({ maxConcurrent: true })).toBe(true)
      expect(yield* throws({})).toBe(true)
      expect(yield* throws({ maxConcurrent: 0, maxQueued: Infinity })).toBe(true)
    }))

  it.effect("limitFunction()", () =>
    Effect.gen(function*() {
      const concurrency = 5
      const limitedFunction = Bulkhead.withBulkhead(yield* pLimit(concurrency))
      yield* hundredRandomCalls(concurrency, limitedFunction)
    }))
})
