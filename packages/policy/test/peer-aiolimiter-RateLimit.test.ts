// Ported from aiolimiter's tests/test_aiolimiter.py (mjpieters/aiolimiter, commit
// 01c52ea9a5721cc3e56a325697472996f9c5b72f), one `it` per aiolimiter case, named after it, against `@sturdy/policy`'s
// `RateLimit` on `RateLimit.layerStoreMemory`, every wait on the TestClock.
// Mapping: `AsyncLimiter(max_rate, time_period=60)`, a leaky bucket of `max_rate` that drains `max_rate / time_period`
// a second, is `RateLimit.make({ limit: max_rate, window: time_period seconds })` (its defaults: a token bucket of
// `limit` tokens, one refilled every `window / limit`, in mode "delay"); `acquire(amount)` is `consume(key, amount)`,
// `async with limiter` is `withRateLimit`. `MockLoopTime`'s `current_time = t` is `TestClock.setTime(t s)`, and
// `wait_for_n_done` polls the fibers after letting them run. `has_capacity()` has no counterpart (Sturdy has no probe
// that takes nothing): "has capacity" is a call that completes without the clock moving, "has none" a call of a limiter
// in mode "fail" on the same store and key (which draw on the same counter) refused with `RateLimitExceeded`.
// Deliberate differences (each test says which): a request for more than `limit` is a `RangeError` defect (aiolimiter
// raises ValueError), and amounts are integers. Waiters are served in the order they asked, whatever their amount:
// aiolimiter lets a smaller request that fits now go ahead of a larger one already waiting (test_decreasing_acquire),
// which delays the larger one; Sturdy's larger request keeps its slot and the smaller one waits behind it.
// Not ported: test_version (packaging), test_attributes (a `RateLimiter` does not expose its options),
// test_multiple_loops (asyncio event loops), and test_acquire's `has_capacity()` at t = 3 s (no probe; the capacity
// aiolimiter finds then is what its next waiter takes, which Sturdy reserved for that waiter when it asked).
import { describe, expect, it } from "@effect/vitest"
import { RateLimit } from "@sturdy/policy"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"

const memory = Effect.provide(RateLimit.layerStoreMemory)
const key = "aiolimiter"

/** aiolimiter's AsyncLimiter(max_rate, time_period) */
const asyncLimiter = (maxRate: number, timePeriod = 60, onExceeded: "delay" | "fail" = "delay") =>
  RateLimit.make({ limit: maxRate, window: `${timePeriod} seconds`, onExceeded })

/** `mocked_time.current_time = seconds` */
const at = (seconds: number) => TestClock.setTime(seconds * 1000)

/** the fibers of `fibers` not done yet, once every fiber has had its turns (aiolimiter's `wait_for_n_done`) */
const pendingOf = <A, E>(fibers: ReadonlyArray<Fiber.RuntimeFiber<A, E>>) =>
  Effect.gen(function*() {
    for (let turn = 0; turn < 16; turn++) yield* Effect.yieldNow()
    const pending: Array<Fiber.RuntimeFiber<A, E>> = []
    for (const fiber of fibers) if (Option.isNone(yield* Fiber.poll(fiber))) pending.push(fiber)
    return pending
  })

const defectOf = <A, E>(exit: Exit.Exit<A, E>): unknown =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.dieOption(exit.cause)) : undefined

describe("aiolimiter tests/test_aiolimiter.py", () => {
  it.effect("test_has_capacity", () =>
    Effect.gen(function*() {
      const limiter = yield* asyncLimiter(1)
      const probe = yield* asyncLimiter(1, 60, "fail")
      // not limiter.has_capacity(42): 42 is more than the limit could ever grant
      expect(defectOf(yield* Effect.exit(probe.consume(key, 42)))).toBeInstanceOf(RangeError)
      // limiter.has_capacity(), then acquire(): the call completes at once
      yield* limiter.consume(key)
      expect(yield* TestClock.currentTimeMillis).toBe(0)
      // not limiter.has_capacity(): a call now is refused, its slot due when the minute has passed
      const refused = yield* Effect.flip(probe.consume(key))
      if (!RateLimit.isRateLimitExceeded(refused)) throw new Error(`expected RateLimitExceeded, got ${refused._tag}`)
      expect(refused.reason).toBe("Limit")
      expect(Duration.toMillis(refused.retryAfter)).toBe(60_000)
    }).pipe(memory))

  it.effect("test_over_acquire", () =>
    Effect.gen(function*() {
      // aiolimiter raises ValueError; Sturdy's request that could never be granted is a RangeError defect
      const limiter = yield* asyncLimiter(1)
      const exit = yield* Effect.exit(limiter.consume(key, 42))
      expect(defectOf(exit)).toBeInstanceOf(RangeError)
      expect(String(defectOf(exit))).toMatch(/tokens \(42\)/)
    }).pipe(memory))

  const tasks = [
    ["acquire_task", (limiter: RateLimit.RateLimiter) => limiter.consume(key)],
    [
      "async_contextmanager_task",
      (limiter: RateLimit.RateLimiter) => RateLimit.withRateLimit(Effect.void, limiter, key)
    ]
  ] as const
  for (const [name, task] of tasks) {
    it.effect(`test_acquire[${name}]`, () =>
      Effect.gen(function*() {
        // capacity released every 2 seconds
        const limiter = yield* asyncLimiter(5, 10)
        const fibers = yield* Effect.forEach(Array.from({ length: 10 }), () => Effect.fork(task(limiter)))

        let pending = yield* pendingOf(fibers)
        expect(pending).toHaveLength(5)

        yield* at(3) // releases capacity for one and some buffer
        pending = yield* pendingOf(pending)
        expect(pending).toHaveLength(4)

        yield* at(7) // releases capacity for two more, plus buffer
        pending = yield* pendingOf(pending)
        expect(pending).toHaveLength(2)

        yield* at(11) // releases the remainder
        pending = yield* pendingOf(pending)
        expect(pending).toHaveLength(0)
        for (const fiber of fibers) expect(yield* Fiber.await(fiber)).toEqual(Exit.void)
      }).pipe(memory))
  }

  it.effect("test_acquire_wait_time", () =>
    Effect.gen(function*() {
      const limiter = yield* asyncLimiter(3, 3)
      // Fill the bucket with an amount of 1
      yield* limiter.consume(key, 1)

      // Acquiring an amount of 3 now should take 1 second
      const task = yield* Effect.fork(limiter.consume(key, 3))
      expect(yield* pendingOf([task])).toHaveLength(1)

      yield* at(1)
      expect(yield* pendingOf([task])).toHaveLength(0)
      expect(yield* Fiber.await(task)).toEqual(Exit.void)
    }).pipe(memory))

  it.effect("test_decreasing_acquire", () =>
    Effect.gen(function*() {
      const limiter = yield* asyncLimiter(3, 3)
      // Fill the bucket with an amount of 1
      yield* limiter.consume(key, 1)

      // Acquiring an amount of 3 would take 1 second
      const task = yield* Effect.fork(limiter.consume(key, 3))
      expect(yield* pendingOf([task])).toHaveLength(1)

      // aiolimiter: _unless_ a lower amount is acquired in-between, which goes ahead at once and delays the amount of
      // 3 to 2 seconds. Sturdy serves the waiters in order: the amount of 1 waits behind the 3, which keeps its second.
      const lower = yield* Effect.fork(limiter.consume(key, 1))
      expect(yield* pendingOf([lower])).toHaveLength(1)

      yield* at(1)
      expect(yield* pendingOf([task])).toHaveLength(0)
      expect(yield* pendingOf([lower])).toHaveLength(1)

      yield* at(2)
      expect(yield* pendingOf([lower])).toHaveLength(0)
      expect(yield* Fiber.await(task)).toEqual(Exit.void)
      expect(yield* Fiber.await(lower)).toEqual(Exit.void)
    }).pipe(memory))

  it.effect("test_task_cancelled", () =>
    Effect.gen(function*() {
      const limiter = yield* asyncLimiter(3, 3)
      // Fill the bucket with an amount of 1
      yield* limiter.consume(key, 1)

      // Two tasks asking for an amount of 3 would take 4 seconds
      const tasks = yield* Effect.forEach([1, 2], () => Effect.fork(limiter.consume(key, 3)))
      expect(yield* pendingOf(tasks)).toHaveLength(2)

      // But if the first one is cancelled, it should only take 1 second for the second to finish
      yield* Fiber.interrupt(tasks[0]!)
      yield* at(1)
      expect(yield* pendingOf(tasks.slice(1))).toHaveLength(0)
      expect(yield* Fiber.await(tasks[1]!)).toEqual(Exit.void)
    }).pipe(memory))
})
