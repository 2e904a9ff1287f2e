import { describe, expect, it } from "@effect/vitest"
import { AdaptiveThrottle } from "@sturdy/policy"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as TestClock from "effect/TestClock"
import { defectOf } from "./utils/hostile.js"
import { makeUpstream } from "./utils/upstream.js"
import { wallClockStep } from "./utils/wallClockStep.js"

describe("AdaptiveThrottle", () => {
  it.effect("never rejects while the backend accepts everything", () =>
    Effect.gen(function*() {
      const upstream = yield* makeUpstream
      const throttle = yield* AdaptiveThrottle.make()
      for (let i = 0; i < 1_000; i++) yield* upstream.call.pipe(AdaptiveThrottle.withAdaptiveThrottle(throttle))
      expect(yield* upstream.count).toBe(1_000)
      expect(yield* throttle.snapshot).toEqual({ requests: 1_000, accepts: 1_000, rejectProbability: 0 })
    }).pipe(Effect.withRandom(Random.make(7))))

  it.effect("converges to max(0, (requests - K·accepts) / (requests + 1)) when the backend rejects everything", () =>
    Effect.gen(function*() {
      const upstream = yield* makeUpstream
      const throttle = yield* AdaptiveThrottle.make({ key: "search", k: 2 })
      const call = upstream.call.pipe(AdaptiveThrottle.withAdaptiveThrottle(throttle))
      for (let i = 0; i < 100; i++) yield* call
      yield* upstream.failNext(true)

      let expectedLocalRejections = 0
      let localRejections = 0
      let allLocalRejections = 0
      for (let i = 0; i < 10_000; i++) {
        const before = yield* throttle.snapshot
        // the probability in force is exactly the formula over the window's counts
        expect(before.rejectProbability).toBe(AdaptiveThrottle.rejectProbability(before.requests, before.accepts, 2))
        const error = yield* Effect.flip(call)
        if (error._tag === "AdaptiveThrottleRejected") allLocalRejections++
        if (i >= 8_000) {
          expectedLocalRejections += before.rejectProbability
          if (error._tag === "AdaptiveThrottleRejected") localRejections++
        }
      }
      const after = yield* throttle.snapshot
      expect(after).toMatchObject({ requests: 10_100, accepts: 100 })
      expect(after.rejectProbability).toBeCloseTo((10_100 - 200) / 10_101, 10)
      // over the last 2,000 calls, the share rejected locally matches the formula (±1 % of the calls)
      expect(Math.abs(localRejections - expectedLocalRejections)).toBeLessThan(20)
      expect(localRejections / 2_000).toBeGreaterThan(0.97)
      // a locally rejected call never reaches the backend
      expect(yield* upstream.count).toBe(10_100 - allLocalRejections)
      expect(allLocalRejections).toBeGreaterThan(9_000)
    }).pipe(Effect.withRandom(Random.make(42))))

  it.effect("forgets the window: the probability falls back to 0 once old counts slide out", () =>
    Effect.gen(function*() {
      const throttle = yield* AdaptiveThrottle.make({ window: "1 minute" })
      for (let i = 0; i < 500; i++) {
        yield* Effect.either(Effect.fail("overloaded").pipe(AdaptiveThrottle.withAdaptiveThrottle(throttle)))
      }
      expect((yield* throttle.snapshot).rejectProbability).toBeGreaterThan(0.9)
      const rejected = yield* Effect.flip(Effect.succeed(1).pipe(AdaptiveThrottle.withAdaptiveThrottle(throttle)))
      expect(rejected).toBeInstanceOf(AdaptiveThrottle.AdaptiveThrottleRejected)
      yield* TestClock.adjust("61 seconds")
      expect(yield* throttle.snapshot).toEqual({ requests: 0, accepts: 0, rejectProbability: 0 })
      expect(yield* Effect.succeed(1).pipe(AdaptiveThrottle.withAdaptiveThrottle(throttle))).toBe(1)
    }).pipe(Effect.withRandom(Random.make(1))))

  // grpc-go's HeavyTimeTravel, with the wall clock alone stepped (an NTP correction): the window runs on the clock's
  // monotonic time, so an hour back neither keeps the old history counting for an hour nor drops new outcomes
  it.effect("a wall clock set back neither keeps the window's history counting nor drops new outcomes", () =>
    Effect.gen(function*() {
      const { clock, step } = yield* wallClockStep
      const testClock = yield* TestClock.testClock() // `TestClock.adjust` would find the stepped clock
      const throttle = yield* AdaptiveThrottle.make({ window: "1 minute" })
      const failing = Effect.fail("overloaded").pipe(AdaptiveThrottle.withAdaptiveThrottle(throttle))
      yield* Effect.withClock(
        Effect.gen(function*() {
          for (let i = 0; i < 50; i++) yield* Effect.either(failing)
          step(-3_600_000)
          expect((yield* throttle.snapshot).requests).toBe(50)
          yield* testClock.adjust("61 seconds")
          expect(yield* throttle.snapshot).toEqual({ requests: 0, accepts: 0, rejectProbability: 0 })
          yield* Effect.succeed(1).pipe(AdaptiveThrottle.withAdaptiveThrottle(throttle))
          expect(yield* throttle.snapshot).toEqual({ requests: 1, accepts: 1, rejectProbability: 0 })
        }),
        clock
      )
    }).pipe(Effect.withRandom(Random.make(1))))

  it.effect("only counts failures the predicate selects, and never other policies' rejections", () =>
    Effect.gen(function*() {
      const throttle = yield* AdaptiveThrottle.make({ isRejectedByBackend: (error) => error === "overloaded" })
      for (let i = 0; i < 100; i++) {
        yield* Effect.either(Effect.fail("not found").pipe(AdaptiveThrottle.withAdaptiveThrottle(throttle)))
        yield* Effect.either(
          Effect.fail({ _tag: "CircuitOpen" as const }).pipe(AdaptiveThrottle.withAdaptiveThrottle(throttle))
        )
      }
      expect(yield* throttle.snapshot).toEqual({ requests: 100, accepts: 100, rejectProbability: 0 })
    }).pipe(Effect.withRandom(Random.make(3))))

  it.effect("a defect is counted only when the predicate says the backend refused; by default every one is", () =>
    Effect.gen(function*() {
      const options = { isRejectedByBackend: (error: unknown) => error === "overloaded" }
      const bugs = yield* AdaptiveThrottle.make(options)
      const refusals = yield* AdaptiveThrottle.make(options)
      const byDefault = yield* AdaptiveThrottle.make()
      for (let i = 0; i < 50; i++) {
        yield* Effect.exit(Effect.die(new TypeError("a bug")).pipe(AdaptiveThrottle.withAdaptiveThrottle(bugs)))
        yield* Effect.exit(Effect.die("overloaded").pipe(AdaptiveThrottle.withAdaptiveThrottle(refusals)))
        yield* Effect.exit(Effect.die(new TypeError("a bug")).pipe(AdaptiveThrottle.withAdaptiveThrottle(byDefault)))
      }
      // the caller's own bug says nothing about the backend: never throttled
      expect(yield* bugs.snapshot).toEqual({ requests: 0, accepts: 0, rejectProbability: 0 })
      // a defect the predicate accepts is a refusal, as is any defect by default
      for (const throttle of [refusals, byDefault]) {
        const counted = yield* throttle.snapshot
        expect(counted.accepts).toBe(0)
        expect(counted.requests).toBe(50)
        expect(counted.rejectProbability).toBeGreaterThan(0.9)
      }
    }).pipe(Effect.withRandom(Random.make(5))))

  it.effect("what isIgnored accepts counts neither way, asked before isRejectedByBackend, failures and defects", () =>
    Effect.gen(function*() {
      const throttle = yield* AdaptiveThrottle.make({ isIgnored: (error) => error === "never sent" })
      for (let i = 0; i < 50; i++) {
        yield* Effect.either(Effect.fail("never sent").pipe(AdaptiveThrottle.withAdaptiveThrottle(throttle)))
        yield* Effect.exit(Effect.die("never sent").pipe(AdaptiveThrottle.withAdaptiveThrottle(throttle)))
      }
      // by default every failure is a refusal: ignored first, none is counted
      expect(yield* throttle.snapshot).toEqual({ requests: 0, accepts: 0, rejectProbability: 0 })
      yield* AdaptiveThrottle.withAdaptiveThrottle(Effect.void, throttle)
      yield* Effect.either(Effect.fail("overloaded").pipe(AdaptiveThrottle.withAdaptiveThrottle(throttle)))
      expect(yield* throttle.snapshot).toMatchObject({ requests: 2, accepts: 1 })
    }).pipe(Effect.withRandom(Random.make(11))))

  it("make refuses a k or a window that cannot work, naming it", () => {
    for (const k of [NaN, 0.5, 0, -1, Infinity]) {
      expect(() => Effect.runSync(AdaptiveThrottle.make({ k }))).toThrow(/AdaptiveThrottle: k .* at least 1/)
    }
    for (const window of [0, -5, NaN, Infinity, "a while" as Duration.DurationInput]) {
      expect(() => Effect.runSync(AdaptiveThrottle.make({ window }))).toThrow(/AdaptiveThrottle: window/)
    }
    expect(() => Effect.runSync(AdaptiveThrottle.make({ k: 1, window: "1 millis" }))).not.toThrow()
  })
})

describe("AdaptiveThrottle: options of the wrong type", () => {
  it.effect("a k, key, isRejectedByBackend or isIgnored of another type is a RangeError naming it", () =>
    Effect.gen(function*() {
      const bad: ReadonlyArray<readonly [string, unknown]> = [
        ["k", Symbol("k")],
        ["k", { valueOf: () => 2 }],
        ["key", 7],
        ["isRejectedByBackend", true],
        ["isIgnored", "yes"]
      ]
      for (const [field, value] of bad) {
        const defect = yield* defectOf(() => AdaptiveThrottle.make({ [field]: value } as AdaptiveThrottle.Options))
        expect(defect, field).toBeInstanceOf(RangeError)
        expect((defect as Error).message, field).toContain(`AdaptiveThrottle: ${field}`)
      }
    }))

  it.effect("null options are read as none", () =>
    Effect.gen(function*() {
      const throttle = yield* AdaptiveThrottle.make(null as unknown as AdaptiveThrottle.Options)
      expect(yield* AdaptiveThrottle.withAdaptiveThrottle(Effect.succeed(1), throttle)).toBe(1)
    }))
})
