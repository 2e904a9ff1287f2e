// Ported from three of sindresorhus's promise libraries, one `it` per case, named after it:
// - p-timeout at f9ced5e18ad81eab24a9a8d0f07bf3002f7bea64: test.js;
// - p-queue at 81cbae2128a1a0cef5029042fe4076ddbafdfd15: test/test.ts (its last version before it was split into
//   test/basic.ts and others);
// - p-limit at df476048d023ff868cd45b35ee47f5fb0ca2b25a: test.js.
// Mapping: `pTimeout(promise, {milliseconds})` is `Deadline.withDeadline(effect, milliseconds)` and `TimeoutError` is
// `DeadlineExceeded`; `new PQueue({concurrency})` and `pLimit(concurrency)` are `Bulkhead.make({ maxConcurrent:
// concurrency, maxQueued: Infinity })` (both keep any number of waiters); `queue.add(fn)` / `limit(fn)` is a call
// through the bulkhead, forked; p-queue's `timeout` is `Deadline.withDeadline` around the task inside the bulkhead (it
// bounds the run, not the wait); `queue.size` / `limit.pendingCount` is `snapshot.queued` and `queue.pending` /
// `limit.activeCount` is `snapshot.active`; `onIdle()` is awaiting every call, `onEmpty()` and `onSizeLessThan(n)`
// are waiting on the TestClock until `snapshot.queued` is 0 / below n (`advanceUntil`); an `AbortSignal` aborted is
// the call's fiber interrupted; `customTimers` is the fiber's Clock (the TestClock); `delay(ms)` is `Effect.sleep`.
// Deliberate differences: a timed-out task always fails with `DeadlineExceeded` (p-queue's `throwOnTimeout: false`
// resolves it with `undefined`; p-queue itself made timeouts always throw after this version); a negative timeout is
// a deadline already passed (the call fails at once, as Go's context does), where p-timeout throws a `TypeError`; a
// bad `maxConcurrent` is a `RangeError` thrown by `Bulkhead.make` (a defect), where p-queue throws a `TypeError`.
// Not ported: p-timeout's `message`/`fallback` options ("resolves after timeout with message:false", "fallback
// argument", "fallback resolves successfully": `Deadline` has none, `Fallback` is a separate policy), `.clear()` (no
// handle on a running deadline), the abort-listener and stack-trace cases (DOM event listeners, V8 stacks). p-queue's
// "update concurrency" and p-limit's "change concurrency to smaller/bigger value" (a Bulkhead's limits are fixed when
// made: not supported), priorities and `.setPriority()`/`.sizeBy()`, `.clear()`/`clearQueue`, `autoStart`/`.start()`/
// `.pause()` (and "should resolve empty when size is zero", "pending promises counted fast enough" which rely on
// them), the interval/throttle cases (`RateLimit`'s domain), the events, "should pass AbortSignal instance to job",
// "pending promises with abortions counted fast enough" (needs `autoStart: false`), the `test.failing` "handle task
// throwing error"; p-limit's "runs all tasks asynchronously" (it counts a call active before it has run: Effect's
// forks start on the scheduler), "propagates async execution context", "accepts additional arguments", "shared
// context with a limited provider helper", the `map`/`limitFunction` helpers and "accepts options object".
import { describe, expect, it } from "@effect/vitest"
import { Bulkhead, Deadline } from "@sturdy/policy"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { advanceToDone, advanceUntil } from "./utils/advance.js"

const fixture = Symbol("fixture")

const isTimeoutError = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" && Deadline.isDeadlineExceeded(exit.cause.error)

const delay = <A = void>(ms: number, value?: A) => Effect.as(Effect.sleep(`${ms} millis`), value as A)

const queue = (concurrency: number) => Bulkhead.make({ maxConcurrent: concurrency, maxQueued: Infinity })

// `queue.add(task)`: the call forked, then a few turns of the scheduler so that it has taken a permit or queued
const add = <A, E>(bulkhead: Bulkhead.Bulkhead, task: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(bulkhead.run(task))
    for (let turn = 0; turn < 4; turn++) yield* Effect.yieldNow()
    return fiber
  })

// with p-queue's `timeout` option: the task's own run is bounded
const withTimeout = (timeout: Duration.DurationInput) => <A, E>(task: Effect.Effect<A, E>) =>
  Deadline.withDeadline(task, timeout)

// awaits every call on the TestClock (`onIdle()` once they are all added)
const onIdle = <A, E>(fibers: ReadonlyArray<Fiber.Fiber<A, E> | Fiber.Fiber<unknown, unknown>>) =>
  advanceToDone(Effect.forEach(fibers, (fiber) => Fiber.await(fiber)))

// a seeded `randomInt(min, max)`
const randomInts = (seed: number) => {
  let state = seed >>> 0
  return (min: number, max: number) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return min + (state % (max - min + 1))
  }
}

const dies = (exit: Exit.Exit<unknown, unknown>, type: new(...args: Array<any>) => unknown) =>
  Exit.isFailure(exit) && Option.exists(Cause.dieOption(exit.cause), (defect) => defect instanceof type)

describe("peer p-timeout test.js", () => {
  it.effect("resolves before timeout", () =>
    Effect.gen(function*() {
      expect(yield* advanceToDone(Deadline.withDeadline(delay(50, fixture), "200 millis"))).toEqual(
        Exit.succeed(fixture)
      )
    }))

  it("throws when milliseconds is not number", () => {
    // p-timeout throws a TypeError; `"200"` is no DurationInput here: a RangeError naming it, when the effect is made
    expect(() => Deadline.withDeadline(delay(50), "200" as Duration.DurationInput)).toThrow(
      /Deadline.withDeadline: timeout \(200\) is not a duration/
    )
  })

  it.effect("throws when milliseconds is negative number", () =>
    Effect.gen(function*() {
      // deliberate difference: a negative timeout is a deadline already passed, and fails at once with
      // DeadlineExceeded (p-timeout throws a TypeError)
      let ran = false
      const exit = yield* Effect.exit(Deadline.withDeadline(Effect.sync(() => (ran = true)), -1))
      expect(isTimeoutError(exit)).toBe(true)
      expect(ran).toBe(false)
    }))

  it.effect("handles milliseconds being `Infinity`", () =>
    Effect.gen(function*() {
      expect(yield* advanceToDone(Deadline.withDeadline(delay(50, fixture), Infinity))).toEqual(Exit.succeed(fixture))
      // no limit: no timer armed, no deadline reported
      expect(yield* Deadline.current.pipe(Deadline.withDeadline(Infinity))).toEqual(Option.none())
    }))

  it.effect("rejects after timeout", () =>
    Effect.gen(function*() {
      const start = yield* Clock.currentTimeMillis
      expect(isTimeoutError(yield* advanceToDone(Deadline.withDeadline(delay(200), "50 millis")))).toBe(true)
      expect((yield* Clock.currentTimeMillis) - start).toBe(50)
    }))

  it.effect("rejects before timeout if specified promise rejects", () =>
    Effect.gen(function*() {
      const fixtureError = new Error("fixture")
      const rejecting = Effect.zipRight(delay(50), Effect.fail(fixtureError))
      expect(yield* advanceToDone(Deadline.withDeadline(rejecting, "200 millis"))).toEqual(Exit.fail(fixtureError))
    }))

  it.effect("calls `.cancel()` on promise when it exists", () =>
    Effect.gen(function*() {
      // the timed-out effect is interrupted (its onCancel handler runs) and the caller gets the TimeoutError
      let canceled = false
      const cancelable = delay(200).pipe(Effect.onInterrupt(() => Effect.sync(() => (canceled = true))))
      expect(isTimeoutError(yield* advanceToDone(Deadline.withDeadline(cancelable, "50 millis")))).toBe(true)
      expect(canceled).toBe(true)
    }))

  it.effect("accepts `customTimers` option", () =>
    Effect.gen(function*() {
      // the deadline's timer is set on the fiber's Clock, for 123 ms
      const now = yield* Clock.currentTimeMillis
      const fiber = yield* Effect.fork(Deadline.withDeadline(delay(50), "123 millis"))
      for (let turn = 0; turn < 8; turn++) yield* Effect.yieldNow()
      const sleeps = Chunk.toReadonlyArray(yield* TestClock.sleeps())
      expect(sleeps).toContain(now + 123)
      yield* TestClock.adjust("50 millis")
      expect(yield* Fiber.await(fiber)).toEqual(Exit.void)
      // (its `clearTimeout` half is not observable here: the TestClock lists an interrupted sleep until its time)
    }))

  it.effect("rejects when calling `AbortController#abort()`", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(Deadline.withDeadline(delay(3000), "2 seconds"))
      yield* Effect.yieldNow()
      const exit = yield* Fiber.interrupt(fiber)
      // aborted, not timed out
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(isTimeoutError(exit)).toBe(false)
    }))

  it.effect("already aborted signal", () =>
    Effect.gen(function*() {
      let ran = false
      const fiber = yield* Effect.fork(Deadline.withDeadline(Effect.sync(() => (ran = true)), "2 seconds"))
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(ran).toBe(false)
    }))

  it.effect("aborts even if milliseconds are set to infinity", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(Deadline.withDeadline(delay(3000), Infinity))
      yield* Effect.yieldNow()
      expect(Exit.isInterrupted(yield* Fiber.interrupt(fiber))).toBe(true)
    }))
})

describe("peer p-queue test/test.ts", () => {
  it.effect(".add()", () =>
    Effect.gen(function*() {
      const q = yield* queue(Infinity)
      const gate = yield* add(q, Effect.zipRight(Effect.sleep("1 millis"), Effect.succeed(fixture)))
      expect(yield* q.snapshot).toEqual({ active: 1, queued: 0 })
      expect(yield* advanceToDone(Fiber.join(gate))).toEqual(Exit.succeed(fixture))
    }))

  it.effect(".add() - limited concurrency", () =>
    Effect.gen(function*() {
      const q = yield* queue(2)
      const fibers = [
        yield* add(q, Effect.succeed(fixture).pipe(Effect.delay("1 millis"))),
        yield* add(q, delay(100, fixture)),
        yield* add(q, Effect.succeed(fixture))
      ]
      expect(yield* q.snapshot).toEqual({ active: 2, queued: 1 })
      expect(yield* onIdle(fibers)).toEqual(Exit.succeed(fibers.map(() => Exit.succeed(fixture))))
    }))

  it.effect(".add() - concurrency: 1", () =>
    Effect.gen(function*() {
      const input = [[10, 300], [20, 200], [30, 100]] as const
      const start = yield* Clock.currentTimeMillis
      const q = yield* queue(1)
      const fibers = yield* Effect.forEach(input, ([value, ms]) => add(q, delay(ms, value)))
      const results = yield* advanceToDone(Effect.forEach(fibers, Fiber.join))
      expect(results).toEqual(Exit.succeed([10, 20, 30]))
      // one at a time: 300 + 200 + 100 ms
      expect((yield* Clock.currentTimeMillis) - start).toBe(600)
    }))

  it.effect(".add() - concurrency: 5", () =>
    Effect.gen(function*() {
      const concurrency = 5
      const q = yield* queue(concurrency)
      const randomInt = randomInts(5)
      let running = 0
      let most = 0
      const fibers = []
      for (let i = 0; i < 100; i++) {
        const ms = randomInt(30, 200)
        fibers.push(
          yield* add(
            q,
            Effect.gen(function*() {
              running++
              most = Math.max(most, running)
              expect(running).toBeLessThanOrEqual(concurrency)
              expect((yield* q.snapshot).active).toBeLessThanOrEqual(concurrency)
              yield* delay(ms)
              running--
            })
          )
        )
      }
      expect(yield* onIdle(fibers)).toEqual(Exit.succeed(fibers.map(() => Exit.void)))
      expect(most).toBe(concurrency)
    }))

  it.effect(".add() - timeout without throwing", () =>
    Effect.gen(function*() {
      const result: Array<string> = []
      const q = yield* queue(Infinity)
      const timed = withTimeout("300 millis")
      const push = (ms: number, item: string) =>
        add(q, timed(Effect.zipRight(delay(ms), Effect.sync(() => result.push(item)))))
      const fibers = [
        yield* push(400, "🐌"),
        yield* push(250, "🦆"),
        yield* push(310, "🐢"),
        yield* push(100, "🐅"),
        yield* add(q, timed(Effect.sync(() => result.push("⚡️"))))
      ]
      const exits = yield* onIdle(fibers)
      expect(result).toEqual(["⚡️", "🐅", "🦆"])
      // deliberate difference: the two that timed out fail with DeadlineExceeded instead of resolving undefined
      if (Exit.isSuccess(exits)) expect(exits.value.map(isTimeoutError)).toEqual([true, false, true, false, false])
      else expect.fail("onIdle failed")
    }))

  it.effect(".add() - timeout with throwing", () =>
    Effect.gen(function*() {
      // `test.failing` in p-queue at this version; Sturdy passes it
      const result: Array<string> = []
      const q = yield* queue(Infinity)
      const timed = withTimeout("300 millis")
      const slow = yield* add(q, timed(Effect.zipRight(delay(400), Effect.sync(() => result.push("🐌")))))
      expect(isTimeoutError(yield* advanceToDone(Fiber.join(slow)))).toBe(true)
      const fast = yield* add(q, timed(Effect.zipRight(delay(200), Effect.sync(() => result.push("🦆")))))
      yield* onIdle([fast])
      expect(result).toEqual(["🦆"])
    }))

  it.effect(".add() - change timeout in between", () =>
    Effect.gen(function*() {
      // the timeout is each call's own: changing it between two adds is two calls with different deadlines
      const result: Array<string> = []
      const q = yield* queue(2)
      const fibers = [
        yield* add(q, withTimeout("50 millis")(Effect.zipRight(delay(300), Effect.sync(() => result.push("🐌"))))),
        yield* add(q, withTimeout("200 millis")(Effect.zipRight(delay(100), Effect.sync(() => result.push("🐅")))))
      ]
      yield* onIdle(fibers)
      expect(result).toEqual(["🐅"])
    }))

  it.effect(".onEmpty()", () =>
    Effect.gen(function*() {
      const q = yield* queue(1)
      const onEmpty = advanceUntil(Effect.map(q.snapshot, (s) => s.queued === 0))
      for (let round = 0; round < 2; round++) {
        const fibers = [yield* add(q, delay(1, 0)), yield* add(q, delay(1, 0))]
        expect(yield* q.snapshot).toEqual({ active: 1, queued: 1 })
        yield* onEmpty
        expect((yield* q.snapshot).queued).toBe(0)
        yield* onIdle(fibers)
      }
      // an empty queue
      yield* onEmpty
      expect((yield* q.snapshot).queued).toBe(0)
    }))

  it.effect(".onIdle()", () =>
    Effect.gen(function*() {
      const q = yield* queue(2)
      for (let round = 0; round < 2; round++) {
        const fibers = [yield* add(q, delay(100)), yield* add(q, delay(100)), yield* add(q, delay(100))]
        expect(yield* q.snapshot).toEqual({ active: 2, queued: 1 })
        yield* onIdle(fibers)
        expect(yield* q.snapshot).toEqual({ active: 0, queued: 0 })
      }
    }))

  it.effect(".onSizeLessThan()", () =>
    Effect.gen(function*() {
      const q = yield* queue(1)
      const fibers = []
      for (let i = 0; i < 5; i++) fibers.push(yield* add(q, delay(100)))
      const onSizeLessThan = (limit: number) => advanceUntil(Effect.map(q.snapshot, (s) => s.queued < limit))

      yield* onSizeLessThan(4)
      expect(yield* q.snapshot).toEqual({ active: 1, queued: 3 })

      yield* onSizeLessThan(2)
      expect(yield* q.snapshot).toEqual({ active: 1, queued: 1 })

      yield* onSizeLessThan(10)
      expect(yield* q.snapshot).toEqual({ active: 1, queued: 1 })

      yield* onSizeLessThan(1)
      expect(yield* q.snapshot).toEqual({ active: 1, queued: 0 })
      yield* onIdle(fibers)
    }))

  it.effect(".onIdle() - no pending", () =>
    Effect.gen(function*() {
      const q = yield* queue(Infinity)
      expect(yield* q.snapshot).toEqual({ active: 0, queued: 0 })
      expect(yield* onIdle([])).toEqual(Exit.succeed([]))
    }))

  it.effect(".addAll()", () =>
    Effect.gen(function*() {
      const q = yield* queue(Infinity)
      const fn = Effect.succeed(fixture).pipe(Effect.delay("1 millis"))
      const all = yield* Effect.fork(Effect.all([q.run(fn), q.run(fn)], { concurrency: "unbounded" }))
      for (let turn = 0; turn < 8; turn++) yield* Effect.yieldNow()
      expect(yield* q.snapshot).toEqual({ active: 2, queued: 0 })
      expect(yield* advanceToDone(Fiber.join(all))).toEqual(Exit.succeed([fixture, fixture]))
    }))

  it.effect("enforce number in options.concurrency", () =>
    Effect.gen(function*() {
      // deliberate difference: a RangeError thrown by make (a defect), where p-queue throws a TypeError
      expect(dies(yield* Effect.exit(Bulkhead.make({ maxConcurrent: 0 })), RangeError)).toBe(true)
      expect(dies(yield* Effect.exit(Bulkhead.make({ maxConcurrent: undefined as unknown as number })), RangeError))
        .toBe(true)
      for (const concurrency of [1, 10, Infinity]) {
        expect(Exit.isSuccess(yield* Effect.exit(Bulkhead.make({ maxConcurrent: concurrency })))).toBe(true)
      }
    }))

  it.effect(".add() sync/async mixed tasks", () =>
    Effect.gen(function*() {
      // the delayed task is added first here: p-queue counts 'sync 1' as pending before it runs, a forked call has
      // already ended by the time the next is added
      const q = yield* queue(1)
      const fibers = [
        yield* add(q, delay(1000)),
        yield* add(q, Effect.succeed("sync 1")),
        yield* add(q, Effect.succeed("sync 2")),
        yield* add(q, Effect.succeed(fixture))
      ]
      expect(yield* q.snapshot).toEqual({ active: 1, queued: 3 })
      yield* onIdle(fibers)
      expect(yield* q.snapshot).toEqual({ active: 0, queued: 0 })
    }))

  it.effect(".add() - handle task promise failure", () =>
    Effect.gen(function*() {
      const q = yield* queue(1)
      const broken = new Error("broken")
      expect(yield* Effect.exit(q.run(Effect.fail(broken)))).toEqual(Exit.fail(broken))
      const fiber = yield* add(q, delay(1, "task #1"))
      expect((yield* q.snapshot).active).toBe(1)
      yield* onIdle([fiber])
      expect((yield* q.snapshot).active).toBe(0)
    }))

  it.effect(".addAll() sync/async mixed tasks", () =>
    Effect.gen(function*() {
      const q = yield* queue(Infinity)
      const all = yield* Effect.fork(
        Effect.all([
          q.run(Effect.succeed("sync 1")),
          q.run(delay(2000)),
          q.run(Effect.succeed("sync 2")),
          q.run(Effect.succeed(fixture))
        ], { concurrency: "unbounded" })
      )
      for (let turn = 0; turn < 8; turn++) yield* Effect.yieldNow()
      // the sync ones are already done here; the delayed one still holds its permit
      expect(yield* q.snapshot).toEqual({ active: 1, queued: 0 })
      expect(yield* advanceToDone(Fiber.join(all))).toEqual(Exit.succeed(["sync 1", undefined, "sync 2", fixture]))
    }))

  it.effect("should verify timeout overrides passed to add", () =>
    Effect.gen(function*() {
      const q = yield* queue(Infinity)
      const run = (ms: number, timeout: Duration.DurationInput) =>
        Effect.flatMap(add(q, withTimeout(timeout)(delay(ms))), (fiber) => advanceToDone(Fiber.join(fiber)))
      expect(isTimeoutError(yield* run(400, "200 millis"))).toBe(true)
      // `{throwOnTimeout: false}`: deliberate difference, the timed-out call fails all the same
      expect(isTimeoutError(yield* run(400, "200 millis"))).toBe(true)
      expect(yield* run(400, "600 millis")).toEqual(Exit.void)
      expect(yield* run(100, "200 millis")).toEqual(Exit.void)
      expect(isTimeoutError(yield* run(100, "50 millis"))).toBe(true)
      expect(yield* q.snapshot).toEqual({ active: 0, queued: 0 })
    }))

  it.effect("should skip an aborted job", () =>
    Effect.gen(function*() {
      const q = yield* queue(Infinity)
      let ran = false
      const fiber = yield* Effect.fork(q.run(Effect.sync(() => (ran = true))))
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(ran).toBe(false)
      expect(yield* q.snapshot).toEqual({ active: 0, queued: 0 })
    }))

  it.effect("aborting multiple jobs at the same time", () =>
    Effect.gen(function*() {
      const q = yield* queue(1)
      const task1 = yield* add(q, Effect.never)
      const task2 = yield* add(q, Effect.never)
      expect(yield* q.snapshot).toEqual({ active: 1, queued: 1 })
      yield* Fiber.interruptAll([task1, task2])
      expect(Exit.isInterrupted(yield* Fiber.await(task1))).toBe(true)
      expect(Exit.isInterrupted(yield* Fiber.await(task2))).toBe(true)
      expect(yield* q.snapshot).toEqual({ active: 0, queued: 0 })
    }))

  it.effect("should not cause stack overflow with many aborted tasks", () =>
    Effect.gen(function*() {
      const q = yield* queue(1)
      const blocker = yield* add(q, Effect.never)
      const fibers = []
      for (let i = 0; i < 10_000; i++) fibers.push(yield* Effect.fork(q.run(Effect.sync(() => 1 + 1))))
      for (let turn = 0; turn < 8; turn++) yield* Effect.yieldNow()
      expect(yield* q.snapshot).toEqual({ active: 1, queued: 10_000 })
      yield* Fiber.interruptAll(fibers)
      yield* Fiber.interrupt(blocker)
      expect(yield* q.snapshot).toEqual({ active: 0, queued: 0 })
    }))
})

describe("peer p-limit test.js", () => {
  it.effect("concurrency: 1", () =>
    Effect.gen(function*() {
      const input = [[10, 300], [20, 200], [30, 100]] as const
      const start = yield* Clock.currentTimeMillis
      const limit = yield* queue(1)
      const all = Effect.all(input.map(([value, ms]) => limit.run(delay(ms, value))), { concurrency: "unbounded" })
      expect(yield* advanceToDone(all)).toEqual(Exit.succeed([10, 20, 30]))
      expect((yield* Clock.currentTimeMillis) - start).toBe(600)
    }))

  it.effect("concurrency: 4", () =>
    Effect.gen(function*() {
      const concurrency = 5
      const limit = yield* queue(concurrency)
      const randomInt = randomInts(4)
      let running = 0
      let most = 0
      const input = Array.from({ length: 100 }, () => {
        const ms = randomInt(30, 200)
        return limit.run(Effect.gen(function*() {
          running++
          most = Math.max(most, running)
          expect(running).toBeLessThanOrEqual(concurrency)
          yield* delay(ms)
          running--
        }))
      })
      expect(Exit.isSuccess(yield* advanceToDone(Effect.all(input, { concurrency: "unbounded" })))).toBe(true)
      expect(most).toBe(concurrency)
    }))

  it.effect("non-promise returning function", () =>
    Effect.gen(function*() {
      const limit = yield* queue(1)
      expect(yield* limit.run(Effect.succeed(null))).toBeNull()
    }))

  it.effect("continues after sync throw", () =>
    Effect.gen(function*() {
      const limit = yield* queue(1)
      let ran = false
      // a thrown error is a defect here: the permit is given back all the same, and the next call runs (each call
      // is forked on its own: Effect.all would interrupt the second when the first fails)
      const first = yield* add(
        limit,
        Effect.sync(() => {
          throw new Error("err")
        })
      )
      const second = yield* add(limit, Effect.sync(() => (ran = true)))
      expect(dies(yield* Fiber.await(first), Error)).toBe(true)
      expect(yield* Fiber.await(second)).toEqual(Exit.succeed(true))
      expect(ran).toBe(true)
      expect(yield* limit.snapshot).toEqual({ active: 0, queued: 0 })
    }))

  it.effect("does not ignore errors", () =>
    Effect.gen(function*() {
      const limit = yield* queue(1)
      const error = new Error("🦄")
      const all = Effect.all([
        limit.run(delay(30)),
        limit.run(Effect.zipRight(delay(80), Effect.fail(error))),
        limit.run(delay(50))
      ], { concurrency: "unbounded" })
      const exit = yield* advanceToDone(all)
      expect(Exit.isFailure(exit) && Cause.failureOption(exit.cause)).toEqual(Option.some(error))
    }))

  it.effect("activeCount and pendingCount properties", () =>
    Effect.gen(function*() {
      const limit = yield* queue(5)
      expect(yield* limit.snapshot).toEqual({ active: 0, queued: 0 })

      const runningPromise1 = yield* add(limit, delay(1000))
      expect(yield* limit.snapshot).toEqual({ active: 1, queued: 0 })
      yield* onIdle([runningPromise1])
      expect(yield* limit.snapshot).toEqual({ active: 0, queued: 0 })

      const immediate = []
      for (let i = 0; i < 5; i++) immediate.push(yield* add(limit, delay(1000)))
      const delayed = []
      for (let i = 0; i < 3; i++) delayed.push(yield* add(limit, delay(1000)))
      expect(yield* limit.snapshot).toEqual({ active: 5, queued: 3 })

      yield* onIdle(immediate)
      expect(yield* limit.snapshot).toEqual({ active: 3, queued: 0 })

      yield* onIdle(delayed)
      expect(yield* limit.snapshot).toEqual({ active: 0, queued: 0 })
    }))

  it.effect("throws on invalid concurrency argument", () =>
    Effect.gen(function*() {
      for (const concurrency of [0, -1, 1.2, undefined, true, {}, { concurrency: 0 }]) {
        const exit = yield* Effect.exit(Bulkhead.make({ maxConcurrent: concurrency as unknown as number }))
        expect(dies(exit, RangeError)).toBe(true)
      }
    }))
})
