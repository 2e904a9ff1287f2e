// Ported from Bottleneck's test/general.js and test/promises.js (SGrondin/bottleneck, commit
// b83528333ba4d27cf70b81cc2be12e09d7ff692f; the brief's test/ratelimiting.js does not exist in that repository), one
// `it` per Bottleneck case, named after it (prefixed by its describe block).
// Mapping: `maxConcurrent` is a Bulkhead (`maxConcurrent`, unbounded queue), `highWater` its `maxQueued`; `minTime`
// (the least time between two job starts) is a token bucket of one, `RateLimit.make({ limit: 1, window: minTime })`;
// `reservoir: n` with `reservoirRefreshInterval: t, reservoirRefreshAmount: n` (n calls, then all n again t later) is
// the fixed window `{ limit: n, window: t, algorithm: "fixed-window" }`, and `reservoirIncreaseAmount: n` every `t` the
// token bucket `{ limit: n, window: t }`; `schedule({ expiration })` is `Deadline.withDeadline`. A job takes its
// permit, then its slot (mode "delay"), then runs. Bottleneck's `c.job`/`c.promise`/`c.slowPromise` record the result
// and the time they end: so do the jobs here, on the TestClock, where `checkDuration` (Bottleneck's ±50 ms) is exact.
// Deliberate differences (each test says which): a full Bulkhead rejects the newcomer with `BulkheadRejected` "Full",
// where Bottleneck's default strategy (LEAK) drops the oldest queued job to make room; a token bucket hands out an
// increase one token at a time (every t / n), where Bottleneck adds n at once every t.
// Not ported: Weight (a Bulkhead permit has no weight), "Should overflow at the correct rate" (also
// `incrementReservoir`/`updateSettings` and the "depleted" event), "Reservoir Refresh: Should auto-refresh the
// reservoir" (an initial reservoir of 8 refreshed to 5: a Sturdy window grants the same number each time), "Reservoir
// Increase: Should auto-increase the reservoir (up to a maximum)" (increases of 5 at once, see above), "Should keep
// process alive until queue is empty" (child processes), the memory-leak, upgrade, null-capacity, scope,
// submit()-arguments and Events cases, Counts and statuses (job ids, counts and status events Sturdy does not keep),
// Pubsub, and test/priority.js, test/stop.js, test/group.js, test/batcher.js, test/retries.js and the Redis clustering
// tests (priorities, stop(), groups, batching and retry events have no Sturdy equivalent in RateLimit or Bulkhead).
import { describe, expect, it } from "@effect/vitest"
import { Bulkhead, Deadline, RateLimit } from "@sturdy/policy"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import { advanceToDone } from "./utils/advance.js"

const memory = Effect.provide(RateLimit.layerStoreMemory)

interface Settings {
  readonly maxConcurrent?: number
  readonly highWater?: number
  readonly minTime?: number
  readonly reservoir?: { readonly amount: number; readonly interval: number; readonly refresh: boolean }
}

/** Bottleneck's `makeTest(options)`: a limiter, and the calls its jobs record (result and end time). */
const makeTest = (settings: Settings) =>
  Effect.gen(function*() {
    const calls: Array<{ readonly result: ReadonlyArray<number>; readonly time: number }> = []
    const stages: Array<<A, E>(self: Effect.Effect<A, E>) => Effect.Effect<A, unknown>> = []
    if (settings.minTime !== undefined && settings.minTime > 0) {
      const spacing = yield* RateLimit.make({ limit: 1, window: Duration.millis(settings.minTime) })
      stages.push(RateLimit.withRateLimit(spacing, "bottleneck"))
    }
    if (settings.reservoir !== undefined) {
      const { amount, interval, refresh } = settings.reservoir
      const reservoir = yield* RateLimit.make({
        limit: amount,
        window: Duration.millis(interval),
        algorithm: refresh ? "fixed-window" : "token-bucket"
      })
      stages.push(RateLimit.withRateLimit(reservoir, "bottleneck"))
    }
    const bulkhead = settings.maxConcurrent === undefined ? undefined : yield* Bulkhead.make({
      maxConcurrent: settings.maxConcurrent,
      maxQueued: settings.highWater ?? Number.POSITIVE_INFINITY
    })
    const record = (result: ReadonlyArray<number>) =>
      Effect.flatMap(Clock.currentTimeMillis, (time) => Effect.sync(() => calls.push({ result, time })))

    /** `limiter.schedule(task)`: the permit first, then the slots, then the task. */
    const schedule = <A, E>(task: Effect.Effect<A, E>): Effect.Effect<A, unknown> => {
      const limited = stages.reduce<Effect.Effect<A, unknown>>((self, stage) => stage(self), task)
      return bulkhead === undefined ? limited : bulkhead.run(limited)
    }
    return {
      bulkhead,
      schedule,
      promise: (...result: Array<number>) => Effect.as(record(result), result),
      slowPromise: (duration: number, ...result: Array<number>) =>
        Effect.zipRight(Effect.sleep(Duration.millis(duration)), Effect.as(record(result), result)),
      /** `checkResultsOrder`: the results in the order the jobs ended. */
      resultsOrder: () => calls.map((call) => call.result),
      /** The time each job ended, in the order they ended. */
      times: () => calls.map((call) => call.time),
      /** `checkDuration`: the time the last job ended. */
      callsDuration: () => calls.at(-1)?.time
    }
  })

/** Schedules the jobs at once, in order, and runs the clock until all have ended; their exits. */
const scheduleAll = (jobs: ReadonlyArray<Effect.Effect<unknown, unknown>>) =>
  Effect.flatten(advanceToDone(Effect.all(jobs.map(Effect.exit), { concurrency: "unbounded" })))

describe("peer Bottleneck", () => {
  it.effect("Promises: Should support promises", () =>
    Effect.gen(function*() {
      const c = yield* makeTest({ maxConcurrent: 1, minTime: 100 })
      const exits = yield* scheduleAll([
        c.schedule(c.promise(1, 9)),
        c.schedule(c.promise(2)),
        c.schedule(c.promise(3)),
        c.schedule(c.promise(4, 5))
      ])
      expect(exits.every(Exit.isSuccess)).toBe(true)
      expect(c.resultsOrder()).toEqual([[1, 9], [2], [3], [4, 5]])
      expect(c.callsDuration()).toBe(300)
    }).pipe(memory))

  it.effect("High water limit: Should support highWater set to 0", () =>
    Effect.gen(function*() {
      const c = yield* makeTest({ maxConcurrent: 1, minTime: 0, highWater: 0 })
      const exits = yield* scheduleAll([1, 2, 3, 4].map((n) => c.schedule(c.slowPromise(50, n))))
      expect(c.resultsOrder()).toEqual([[1]])
      expect(c.callsDuration()).toBe(50)
      // Bottleneck drops them silently (rejectOnDrop: false); Sturdy rejects them at once
      expect(exits.slice(1).map((exit) => Exit.isFailure(exit) && exit.cause)).toEqual(
        exits.slice(1).map(() => expect.objectContaining({ error: expect.objectContaining({ reason: "Full" }) }))
      )
    }).pipe(memory))

  it.effect("High water limit: Should support highWater set to 1", () =>
    Effect.gen(function*() {
      const c = yield* makeTest({ maxConcurrent: 1, minTime: 0, highWater: 1 })
      const exits = yield* scheduleAll([1, 2, 3, 4].map((n) => c.schedule(c.slowPromise(50, n))))
      // Bottleneck (strategy LEAK) drops the older queued jobs 2 and 3 for 4: results [1], [4]. Sturdy's Bulkhead
      // keeps the queued job 2 and rejects the newcomers 3 and 4 (Bottleneck's OVERFLOW strategy)
      expect(c.resultsOrder()).toEqual([[1], [2]])
      expect(c.callsDuration()).toBe(100)
      expect(exits.map(Exit.isSuccess)).toEqual([true, true, false, false])
    }).pipe(memory))

  it.effect("Expiration: Should cancel jobs", () =>
    Effect.gen(function*() {
      const c = yield* makeTest({ maxConcurrent: 2 })
      const bulkhead = c.bulkhead!
      const verySlow = yield* Effect.fork(c.schedule(c.slowPromise(150, 1)))
      const withExpiration = yield* Effect.fork(
        c.schedule(c.slowPromise(75, 2)).pipe(Deadline.withDeadline(Duration.millis(50)))
      )
      const timedOut = yield* advanceToDone(Fiber.join(withExpiration))
      // "This job timed out after 50 ms."
      expect(Exit.isFailure(timedOut) && Exit.causeOption(timedOut)).toMatchObject({
        _tag: "Some",
        value: { error: { _tag: "DeadlineExceeded" } }
      })
      expect(yield* Clock.currentTimeMillis).toBe(50)
      expect((yield* bulkhead.snapshot).active).toBe(1) // running 1

      const slowest = yield* advanceToDone(Fiber.join(verySlow))
      expect(slowest).toEqual(Exit.succeed([1]))
      expect(yield* Clock.currentTimeMillis).toBe(150)
      expect((yield* bulkhead.snapshot).active).toBe(0) // running 0, done 2
      expect(c.resultsOrder()).toEqual([[1]])
      yield* TestClock.adjust("1 second")
      expect(c.resultsOrder()).toEqual([[1]]) // the expired job never ended
    }).pipe(memory))

  it.effect("Reservoir Refresh: Should allow staggered X by Y type usage", () =>
    Effect.gen(function*() {
      const c = yield* makeTest({ reservoir: { amount: 2, interval: 150, refresh: true } })
      yield* scheduleAll([1, 2, 3, 4].map((n) => c.schedule(c.promise(n))))
      // 3 and 4 are both due at 150 ms, and the TestClock wakes sleepers due at one instant last-in first-out (real
      // timers: first-in first-out): they are compared as a set
      const order = c.resultsOrder()
      expect(order.slice(0, 2)).toEqual([[1], [2]])
      expect(order.slice(2).sort()).toEqual([[3], [4]])
      expect(c.callsDuration()).toBe(150)
      expect(c.times()).toEqual([0, 0, 150, 150])
    }).pipe(memory))

  it.effect("Reservoir Increase: Should allow staggered X by Y type usage", () =>
    Effect.gen(function*() {
      const c = yield* makeTest({ reservoir: { amount: 2, interval: 150, refresh: false } })
      yield* scheduleAll([1, 2, 3, 4].map((n) => c.schedule(c.promise(n))))
      expect(c.resultsOrder()).toEqual([[1], [2], [3], [4]])
      expect(c.callsDuration()).toBe(150)
      // Bottleneck adds 2 at 150 ms and runs 3 and 4 then; the token bucket refills one every 75 ms
      expect(c.times()).toEqual([0, 0, 75, 150])
    }).pipe(memory))
})
