import { describe, expect, it } from "@effect/vitest"
import { AdaptiveThrottle, Bulkhead, ConcurrencyLimit } from "@sturdy/policy"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { defectOf } from "./utils/hostile.js"

// Starts a call that stays in flight until `release` is completed; the call ends as `release` says.
const hold = (limiter: ConcurrencyLimit.ConcurrencyLimit) =>
  Effect.gen(function*() {
    const release = yield* Deferred.make<void, string>()
    const fiber = yield* Effect.fork(ConcurrencyLimit.withLimit(Deferred.await(release), limiter))
    yield* Effect.yieldNow()
    return { release, fiber }
  })

const refusal = (options: unknown) =>
  Effect.map(defectOf(() => ConcurrencyLimit.make(options as ConcurrencyLimit.Options)), (defect) => {
    expect(defect).toBeInstanceOf(RangeError)
    return (defect as RangeError).message
  })

describe("ConcurrencyLimit", () => {
  it.effect("starts at initialLimit (20 by default), with nothing in flight", () =>
    Effect.gen(function*() {
      const byDefault = yield* ConcurrencyLimit.make()
      expect(yield* byDefault.limit).toBe(20)
      expect(yield* byDefault.inFlight).toBe(0)
      const given = yield* ConcurrencyLimit.make({ initialLimit: 7 })
      expect(yield* given.limit).toBe(7)
      // unset, 20 is moved into [minLimit, maxLimit]
      expect(yield* (yield* ConcurrencyLimit.make({ maxLimit: 5 })).limit).toBe(5)
      expect(yield* (yield* ConcurrencyLimit.make({ minLimit: 30 })).limit).toBe(30)
    }))

  it.effect("rejects the call over the limit at once, with the limit and the calls in flight, and does not run it", () =>
    Effect.gen(function*() {
      const limiter = yield* ConcurrencyLimit.make({ key: "search", initialLimit: 2 })
      const a = yield* hold(limiter)
      yield* hold(limiter)
      expect(yield* limiter.inFlight).toBe(2)
      let ran = false
      const error = yield* Effect.flip(ConcurrencyLimit.withLimit(Effect.sync(() => (ran = true)), limiter))
      expect(ran).toBe(false)
      expect(error).toBeInstanceOf(ConcurrencyLimit.ConcurrencyLimitExceeded)
      expect(ConcurrencyLimit.isConcurrencyLimitExceeded(error)).toBe(true)
      expect({ tag: error._tag, key: error.key, limit: error.limit, inFlight: error.inFlight }).toEqual({
        tag: "ConcurrencyLimitExceeded",
        key: "search",
        limit: 2,
        inFlight: 2
      })
      expect(error.message).toContain("search")
      // a rejection is not a sample, and the place freed by an ending call is taken again
      yield* Deferred.succeed(a.release, undefined)
      yield* Fiber.join(a.fiber)
      expect(yield* limiter.inFlight).toBe(1)
      expect(yield* Effect.succeed("ok").pipe(ConcurrencyLimit.withLimit(limiter))).toBe("ok")
    }))

  it.effect("gives the place back on success, failure, defect and interruption", () =>
    Effect.gen(function*() {
      const limiter = yield* ConcurrencyLimit.make({ initialLimit: 5, isDrop: () => false })
      yield* ConcurrencyLimit.withLimit(Effect.void, limiter)
      expect(yield* limiter.inFlight).toBe(0)
      yield* Effect.either(ConcurrencyLimit.withLimit(Effect.fail("boom"), limiter))
      expect(yield* limiter.inFlight).toBe(0)
      yield* Effect.exit(ConcurrencyLimit.withLimit(Effect.die("bug"), limiter))
      expect(yield* limiter.inFlight).toBe(0)
      const held = yield* hold(limiter)
      expect(yield* limiter.inFlight).toBe(1)
      yield* Fiber.interrupt(held.fiber)
      expect(yield* limiter.inFlight).toBe(0)
      // interrupted before it began: nothing was taken
      const fiber = yield* Effect.fork(ConcurrencyLimit.withLimit(Effect.never, limiter))
      yield* Fiber.interrupt(fiber)
      expect(yield* limiter.inFlight).toBe(0)
      // an isDrop that throws: the place is still given back, and the throw is the call's defect
      const throwing = yield* ConcurrencyLimit.make({
        isDrop: () => {
          throw new Error("isDrop broke")
        }
      })
      const exit = yield* Effect.exit(ConcurrencyLimit.withLimit(Effect.fail("boom"), throwing))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(yield* throwing.inFlight).toBe(0)
    }))

  it.effect("interruptions at any point of many overlapping calls leave nothing in flight", () =>
    Effect.gen(function*() {
      const limiter = yield* ConcurrencyLimit.make({ initialLimit: 50, maxLimit: 60 })
      const fibers: Array<Fiber.RuntimeFiber<unknown, unknown>> = []
      for (let i = 0; i < 300; i++) {
        const upstream = i % 3 === 0 ? Effect.fail("overloaded") : Effect.void
        fibers.push(
          yield* Effect.fork(
            Effect.either(ConcurrencyLimit.withLimit(Effect.zipRight(Effect.sleep((i * 7) % 23), upstream), limiter))
          )
        )
        if (i % 4 === 1) yield* Fiber.interrupt(fibers[(i * 13) % fibers.length])
        if (i % 10 === 0) yield* TestClock.adjust((i * 3) % 11)
      }
      for (let i = 0; i < fibers.length; i += 5) yield* Fiber.interrupt(fibers[i])
      yield* TestClock.adjust("1 minute")
      for (const fiber of fibers) yield* Fiber.await(fiber)
      expect(yield* limiter.inFlight).toBe(0)
      const limit = yield* limiter.limit
      expect(limit >= 1 && limit <= 60).toBe(true)
    }))

  it.effect("grows by one on an answer with the limit in use (inFlight × 2 ≥ limit), and not otherwise", () =>
    Effect.gen(function*() {
      const limiter = yield* ConcurrencyLimit.make({ initialLimit: 4 })
      // alone: 1 × 2 < 4, the limit is not in use
      yield* ConcurrencyLimit.withLimit(Effect.void, limiter)
      expect(yield* limiter.limit).toBe(4)
      // the second of two in flight: 2 × 2 ≥ 4
      const held = yield* hold(limiter)
      yield* ConcurrencyLimit.withLimit(Effect.void, limiter)
      expect(yield* limiter.limit).toBe(5)
      // the held call started alone (inFlight 1): its success does not grow the limit
      yield* Deferred.succeed(held.release, undefined)
      yield* Fiber.join(held.fiber)
      expect(yield* limiter.limit).toBe(5)
      // a failure isDrop refuses is an answer too
      const answered = yield* ConcurrencyLimit.make({ initialLimit: 2, isDrop: () => false })
      yield* Effect.either(ConcurrencyLimit.withLimit(Effect.fail("not found"), answered))
      expect(yield* answered.limit).toBe(3)
    }))

  it.effect("shrinks by backoffRatio on a drop: a failure or defect isDrop accepts", () =>
    Effect.gen(function*() {
      const limiter = yield* ConcurrencyLimit.make()
      yield* Effect.either(ConcurrencyLimit.withLimit(Effect.fail("overloaded"), limiter))
      expect(yield* limiter.limit).toBe(18)
      yield* Effect.exit(ConcurrencyLimit.withLimit(Effect.die("overloaded"), limiter))
      expect(yield* limiter.limit).toBe(16)
      const halving = yield* ConcurrencyLimit.make({ backoffRatio: 0.5, isDrop: (e) => e === "overloaded" })
      yield* Effect.either(ConcurrencyLimit.withLimit(Effect.fail("overloaded"), halving))
      expect(yield* halving.limit).toBe(10)
      // refused by isDrop: a failure is an answer (alone, 1 × 2 < 10: unchanged), a defect is not counted
      yield* Effect.either(ConcurrencyLimit.withLimit(Effect.fail("bad request"), halving))
      yield* Effect.exit(ConcurrencyLimit.withLimit(Effect.die("bug"), halving))
      expect(yield* halving.limit).toBe(10)
    }))

  it.effect("a failure or defect isIgnored accepts is no sample, asked before isDrop and before timeout", () =>
    Effect.gen(function*() {
      const limiter = yield* ConcurrencyLimit.make({
        initialLimit: 2,
        timeout: "1 second",
        isDrop: (e) => e !== "not found",
        isIgnored: (e) => e === "never sent"
      })
      // as answers with the limit in use (1 × 2 ≥ 2) these would grow it; as drops they would shrink it
      yield* Effect.either(ConcurrencyLimit.withLimit(Effect.fail("never sent"), limiter))
      yield* Effect.exit(ConcurrencyLimit.withLimit(Effect.die("never sent"), limiter))
      const slow = yield* Effect.fork(
        Effect.either(
          ConcurrencyLimit.withLimit(Effect.zipRight(Effect.sleep("2 seconds"), Effect.fail("never sent")), limiter)
        )
      )
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.join(slow)
      expect(yield* limiter.limit).toBe(2)
      expect(yield* limiter.inFlight).toBe(0)
      // anything else is counted as before
      yield* Effect.either(ConcurrencyLimit.withLimit(Effect.fail("not found"), limiter))
      expect(yield* limiter.limit).toBe(3)
      // gradient2 takes no RTT sample from it either
      const gradient = yield* ConcurrencyLimit.make({ algorithm: "gradient2", initialLimit: 1, isIgnored: () => true })
      for (let i = 0; i < 3; i++) yield* Effect.either(ConcurrencyLimit.withLimit(Effect.fail("x"), gradient))
      expect(yield* gradient.limit).toBe(1)
    }))

  it.effect("a call slower than timeout is a drop; one that takes exactly timeout is not", () =>
    Effect.gen(function*() {
      const limiter = yield* ConcurrencyLimit.make({ initialLimit: 2 })
      const exact = yield* Effect.fork(ConcurrencyLimit.withLimit(Effect.sleep("5 seconds"), limiter))
      yield* TestClock.adjust("5 seconds")
      yield* Fiber.join(exact)
      expect(yield* limiter.limit).toBe(3)
      const slow = yield* Effect.fork(ConcurrencyLimit.withLimit(Effect.sleep("5001 millis"), limiter))
      yield* TestClock.adjust("5001 millis")
      yield* Fiber.join(slow)
      // floor(3 × 0.9) = 2
      expect(yield* limiter.limit).toBe(2)
      // a slow failure that isDrop refuses is a drop too
      const answering = yield* ConcurrencyLimit.make({ initialLimit: 10, timeout: "1 second", isDrop: () => false })
      const failing = yield* Effect.fork(
        Effect.either(
          ConcurrencyLimit.withLimit(Effect.zipRight(Effect.sleep("2 seconds"), Effect.fail("x")), answering)
        )
      )
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.join(failing)
      expect(yield* answering.limit).toBe(9)
    }))

  it.effect("never falls below minLimit nor rises above maxLimit", () =>
    Effect.gen(function*() {
      const low = yield* ConcurrencyLimit.make({ minLimit: 3, initialLimit: 4 })
      for (let i = 0; i < 5; i++) yield* Effect.either(ConcurrencyLimit.withLimit(Effect.fail("x"), low))
      expect(yield* low.limit).toBe(3)
      const one = yield* ConcurrencyLimit.make({ initialLimit: 1 })
      yield* Effect.either(ConcurrencyLimit.withLimit(Effect.fail("x"), one))
      expect(yield* one.limit).toBe(1)
      const high = yield* ConcurrencyLimit.make({ initialLimit: 1, maxLimit: 3 })
      for (let i = 0; i < 5; i++) {
        const held = yield* Effect.all([hold(high), hold(high)])
        for (const h of held) yield* Deferred.succeed(h.release, undefined)
        for (const h of held) yield* Effect.exit(Fiber.join(h.fiber))
      }
      expect(yield* high.limit).toBe(3)
    }))

  it.effect("a limit that shrinks below the calls in flight cuts none: new calls wait until enough have ended", () =>
    Effect.gen(function*() {
      const limiter = yield* ConcurrencyLimit.make({ initialLimit: 3, backoffRatio: 0.5 })
      const held = yield* Effect.all([hold(limiter), hold(limiter), hold(limiter)])
      yield* Deferred.fail(held[0].release, "overloaded")
      yield* Effect.exit(Fiber.join(held[0].fiber))
      // floor(3 × 0.5) = 1, two still in flight
      expect(yield* limiter.limit).toBe(1)
      expect(yield* limiter.inFlight).toBe(2)
      const error = yield* Effect.flip(ConcurrencyLimit.withLimit(Effect.void, limiter))
      expect({ limit: error.limit, inFlight: error.inFlight }).toEqual({ limit: 1, inFlight: 2 })
      expect(yield* Fiber.poll(held[1].fiber)).toEqual(expect.objectContaining({ _tag: "None" }))
    }))

  it.effect("interrupted calls and other policies' rejections do not move the limit", () =>
    Effect.gen(function*() {
      const limiter = yield* ConcurrencyLimit.make({ initialLimit: 2 })
      const held = yield* hold(limiter)
      const other = yield* hold(limiter)
      yield* Fiber.interrupt(held.fiber)
      yield* Fiber.interrupt(other.fiber)
      expect(yield* limiter.limit).toBe(2)
      for (const tag of ["CircuitOpen", "BulkheadRejected", "RateLimitExceeded", "AdaptiveThrottleRejected"]) {
        yield* Effect.either(ConcurrencyLimit.withLimit(Effect.fail({ _tag: tag }), limiter))
      }
      // a real bulkhead inside, full
      const bulkhead = yield* Bulkhead.make({ maxConcurrent: 1 })
      const blocker = yield* Effect.fork(Bulkhead.withBulkhead(Effect.never, bulkhead))
      yield* Effect.yieldNow()
      const rejected = yield* Effect.flip(
        Bulkhead.withBulkhead(Effect.void, bulkhead).pipe(ConcurrencyLimit.withLimit(limiter))
      )
      expect(rejected._tag).toBe("BulkheadRejected")
      yield* Fiber.interrupt(blocker)
      // its own rejection, from a second limit inside
      const inner = yield* ConcurrencyLimit.make({ initialLimit: 1 })
      const innerHeld = yield* hold(inner)
      const own = yield* Effect.flip(
        ConcurrencyLimit.withLimit(ConcurrencyLimit.withLimit(Effect.void, inner), limiter)
      )
      expect(own._tag).toBe("ConcurrencyLimitExceeded")
      yield* Fiber.interrupt(innerHeld.fiber)
      expect(yield* limiter.limit).toBe(2)
      expect(yield* limiter.inFlight).toBe(0)
    }))

  it.effect("a ConcurrencyLimitExceeded is not counted by an adaptive throttle outside", () =>
    Effect.gen(function*() {
      const limiter = yield* ConcurrencyLimit.make({ initialLimit: 1 })
      const throttle = yield* AdaptiveThrottle.make()
      const held = yield* hold(limiter)
      yield* Effect.flip(
        ConcurrencyLimit.withLimit(Effect.void, limiter).pipe(AdaptiveThrottle.withAdaptiveThrottle(throttle))
      )
      expect((yield* throttle.snapshot).requests).toBe(0)
      yield* Fiber.interrupt(held.fiber)
    }))

  it.scoped("publishes every change of the limit on changes, in order", () =>
    Effect.gen(function*() {
      const limiter = yield* ConcurrencyLimit.make({ key: "api", initialLimit: 2 })
      const collected = yield* Effect.fork(Stream.runCollect(Stream.take(yield* limiter.subscribe, 3)))
      const alsoCollected = yield* Effect.fork(Stream.runCollect(Stream.take(limiter.changes, 3)))
      for (let i = 0; i < 10; i++) yield* Effect.yieldNow()
      yield* ConcurrencyLimit.withLimit(Effect.void, limiter) // 1 × 2 ≥ 2: 3
      yield* ConcurrencyLimit.withLimit(Effect.void, limiter) // 1 × 2 < 3: unchanged, nothing published
      yield* Effect.either(ConcurrencyLimit.withLimit(Effect.fail("x"), limiter)) // floor(2.7) = 2
      yield* Effect.either(ConcurrencyLimit.withLimit(Effect.fail("x"), limiter)) // floor(1.8) = 1
      expect(Chunk.toReadonlyArray(yield* Fiber.join(collected))).toEqual([
        { key: "api", from: 2, to: 3 },
        { key: "api", from: 3, to: 2 },
        { key: "api", from: 2, to: 1 }
      ])
      expect(Chunk.size(yield* Fiber.join(alsoCollected))).toBe(3)
    }))

  it.effect("unsafeMake builds the same limit outside of Effect", () =>
    Effect.gen(function*() {
      const limiter = ConcurrencyLimit.unsafeMake({ initialLimit: 3 })
      expect(yield* limiter.limit).toBe(3)
      expect(limiter.key).toBe("default")
      expect(() => ConcurrencyLimit.unsafeMake({ backoffRatio: 1 })).toThrow(RangeError)
    }))

  it.effect("refuses bad options with a RangeError naming the option", () =>
    Effect.gen(function*() {
      expect(yield* refusal({ initialLimit: 0 })).toMatch(/initialLimit \(0\) must be an integer in \[1, 200\]/)
      expect(yield* refusal({ initialLimit: 2.5 })).toContain("initialLimit")
      expect(yield* refusal({ initialLimit: 300 })).toContain("initialLimit")
      expect(yield* refusal({ minLimit: 5, initialLimit: 4 })).toContain("initialLimit")
      expect(yield* refusal({ minLimit: 0 })).toContain("minLimit")
      expect(yield* refusal({ minLimit: Number.NaN })).toContain("minLimit")
      expect(yield* refusal({ maxLimit: Infinity })).toContain("maxLimit")
      expect(yield* refusal({ minLimit: 10, maxLimit: 5 })).toContain("maxLimit")
      expect(yield* refusal({ backoffRatio: 1 })).toContain("backoffRatio")
      expect(yield* refusal({ backoffRatio: 0.4 })).toContain("backoffRatio")
      expect(yield* refusal({ backoffRatio: Number.NaN })).toContain("backoffRatio")
      expect(yield* refusal({ timeout: 0 })).toContain("timeout")
      expect(yield* refusal({ timeout: -1 })).toContain("timeout")
      expect(yield* refusal({ timeout: "soon" })).toContain("timeout")
      expect(yield* refusal({ isDrop: true })).toContain("isDrop")
      expect(yield* refusal({ isIgnored: "yes" })).toContain("isIgnored")
      expect(yield* refusal({ key: 5 })).toContain("key")
      expect(yield* refusal("limit")).toMatch(/options \(.*\) must be an object/)
    }))

  describe("gradient2", () => {
    const timed = (
      limiter: ConcurrencyLimit.ConcurrencyLimit,
      millis: number,
      self: Effect.Effect<void, string> = Effect.void
    ) =>
      Effect.gen(function*() {
        const fiber = yield* Effect.fork(
          Effect.either(ConcurrencyLimit.withLimit(Effect.zipRight(Effect.sleep(millis), self), limiter))
        )
        yield* TestClock.adjust(millis)
        yield* Fiber.join(fiber)
        return yield* limiter.limit
      })

    it.effect("grows by queueSize × smoothing a sample while calls keep their pace and the limit is in use", () =>
      Effect.gen(function*() {
        const limiter = yield* ConcurrencyLimit.make({ algorithm: "gradient2", initialLimit: 1 })
        // estimated: 1 → 1 × 0.8 + (1 + 4) × 0.2 = 1.8 → 2.6; then 1 < 2.6 / 2, not in use: unchanged
        expect(yield* timed(limiter, 10)).toBe(1)
        expect(yield* timed(limiter, 10)).toBe(2)
        expect(yield* timed(limiter, 10)).toBe(2)
      }))

    it.effect("a drop is a sample of its round-trip time like any other; timeout plays no part", () =>
      Effect.gen(function*() {
        const limiter = yield* ConcurrencyLimit.make({ algorithm: "gradient2", initialLimit: 1, timeout: "1 milli" })
        expect(yield* timed(limiter, 10, Effect.fail("overloaded"))).toBe(1)
        expect(yield* timed(limiter, 10, Effect.fail("overloaded"))).toBe(2)
        // an interruption is still no sample
        const fiber = yield* Effect.fork(ConcurrencyLimit.withLimit(Effect.never, limiter))
        yield* Effect.yieldNow()
        yield* Fiber.interrupt(fiber)
        expect(yield* limiter.limit).toBe(2)
      }))

    it.effect("shrinks toward half when calls get much slower than the long-term RTT", () =>
      Effect.gen(function*() {
        const limiter = yield* ConcurrencyLimit.make({
          algorithm: "gradient2",
          initialLimit: 2,
          queueSize: 0,
          smoothing: 1
        })
        for (let i = 0; i < 10; i++) expect(yield* timed(limiter, 10)).toBe(2)
        // long ≈ 10.1, gradient = max(0.5, min(1, 1.5 × 10.1 / 40)) = 0.5: estimated 2 × 0.5 = 1
        expect(yield* timed(limiter, 40)).toBe(1)
        expect(yield* timed(limiter, 400)).toBe(1)
      }))

    it.effect("the long-term RTT decays by 5 % when a call is more than twice as fast", () =>
      Effect.gen(function*() {
        const limiter = yield* ConcurrencyLimit.make({
          algorithm: "gradient2",
          initialLimit: 2,
          queueSize: 0,
          rttTolerance: 1
        })
        // warm-up: long = 100; then 40 ms: long = 100 × 599/601 + 40 × 2/601 ≈ 99.8, more than twice 40: × 0.95 ≈ 94.8
        for (let i = 0; i < 10; i++) yield* timed(limiter, 100)
        expect(yield* timed(limiter, 40)).toBe(2)
        // 99 ms: long ≈ 94.8, gradient ≈ 0.958, estimated = 2 × 0.8 + 2 × 0.958 × 0.2 ≈ 1.98 (without the decay: 2)
        expect(yield* timed(limiter, 99)).toBe(1)
      }))

    it.effect("refuses its own options out of range", () =>
      Effect.gen(function*() {
        expect(yield* refusal({ algorithm: "vegas" })).toContain("algorithm")
        expect(yield* refusal({ smoothing: 0 })).toContain("smoothing")
        expect(yield* refusal({ smoothing: 1.5 })).toContain("smoothing")
        expect(yield* refusal({ queueSize: -1 })).toContain("queueSize")
        expect(yield* refusal({ queueSize: 1.5 })).toContain("queueSize")
        expect(yield* refusal({ rttTolerance: 0.9 })).toContain("rttTolerance")
        expect(yield* refusal({ rttTolerance: Infinity })).toContain("rttTolerance")
        expect(yield* refusal({ longWindow: 0 })).toContain("longWindow")
      }))
  })
})
