import { describe, expect, it } from "@effect/vitest"
import { Balancer, Retry } from "@sturdy/policy"
import { TestTracer } from "@sturdy/testing"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import { pipe } from "effect/Function"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { defectOf } from "./utils/hostile.js"

const seeded = (seed: number) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.withRandom(self, Random.make(seed))

// the endpoint's key, answered at once
const which = <A>(balancer: Balancer.Balancer<A>) => Balancer.withEndpoint(balancer, (a: A) => Effect.succeed(a))

const states = <A>(balancer: Balancer.Balancer<A>) =>
  Effect.map(balancer.snapshot, (all) => Object.fromEntries(all.map((s) => [s.key, s])))

// a call on `balancer` that fails on the endpoints in `failing`; answers the endpoint
const callFailingOn = (balancer: Balancer.Balancer<string>, failing: ReadonlySet<string>) =>
  Effect.either(
    Balancer.withEndpoint(balancer, (a: string) => failing.has(a) ? Effect.fail(`down:${a}`) : Effect.succeed(a))
  )

const refusal = (options: unknown) =>
  Effect.map(defectOf(() => Balancer.make(options as Balancer.Options<string>)), (defect) => {
    expect(defect).toBeInstanceOf(RangeError)
    return (defect as RangeError).message
  })

describe("Balancer", () => {
  it.effect("round-robin uses the endpoints in turn", () =>
    Effect.gen(function*() {
      const balancer = yield* Balancer.make({ endpoints: ["a", "b", "c"], strategy: "round-robin" })
      const picks: Array<string> = []
      for (let i = 0; i < 7; i++) picks.push(yield* which(balancer))
      expect(picks).toEqual(["a", "b", "c", "a", "b", "c", "a"])
      // data-last
      expect(yield* pipe(balancer, Balancer.withEndpoint((a: string) => Effect.succeed(a)))).toBe("b")
    }))

  it.effect("p2c spreads calls in flight evenly (it always prefers the less loaded of its two draws)", () =>
    Effect.gen(function*() {
      const keys = ["a", "b", "c", "d", "e"] as const
      const balancer = yield* Balancer.make({ endpoints: keys })
      const never = yield* Deferred.make<void>()
      const fibers = []
      for (let i = 0; i < 100; i++) {
        fibers.push(yield* Effect.fork(Balancer.withEndpoint(balancer, () => Deferred.await(never))))
        yield* Effect.yieldNow()
      }
      const loads = (yield* balancer.snapshot).map((s) => s.inFlight)
      expect(loads.reduce((x, y) => x + y)).toBe(100)
      // random choices would give a spread of about ±9 (a binomial of 100 draws at 1/5); p2c keeps it within 2
      expect(Math.max(...loads) - Math.min(...loads)).toBeLessThanOrEqual(2)
      yield* Fiber.interruptAll(fibers)
      expect((yield* balancer.snapshot).map((s) => s.inFlight)).toEqual([0, 0, 0, 0, 0])
    }).pipe(seeded(7)))

  it.effect("p2c sends almost nothing to a slow endpoint once it is measured (over many seeded picks)", () =>
    Effect.gen(function*() {
      const latency: Record<string, number> = { slow: 200, a: 10, b: 10, c: 10 }
      for (const seed of [1, 2, 3, 4, 5]) {
        const balancer = yield* Balancer.make({ endpoints: ["slow", "a", "b", "c"] })
        const counts: Record<string, number> = { slow: 0, a: 0, b: 0, c: 0 }
        for (let i = 0; i < 100; i++) {
          const fiber = yield* Effect.fork(
            Balancer.withEndpoint(balancer, (e: string) => Effect.as(Effect.sleep(latency[e]!), e)).pipe(
              seeded(seed * 1000 + i)
            )
          )
          yield* TestClock.adjust("200 millis")
          counts[yield* Fiber.join(fiber)]!++
        }
        // uniform choice would send it 25 calls; p2c only while its estimate is unmeasured (the first draws)
        expect(counts.slow).toBeLessThanOrEqual(2)
        const slow = (yield* states(balancer)).slow!
        expect(slow.inFlight).toBe(0)
        // its estimate decays (20 virtual seconds went by), so that it would be tried again once the others slow down
      }
    }))

  it.effect("p2c: the peak-EWMA estimate takes a slower sample at once and decays with ewmaDecay", () =>
    Effect.gen(function*() {
      const balancer = yield* Balancer.make({ endpoints: ["only"], ewmaDecay: "10 seconds" })
      const call = (millis: number) =>
        Effect.gen(function*() {
          const fiber = yield* Effect.fork(Balancer.withEndpoint(balancer, () => Effect.sleep(millis)))
          yield* TestClock.adjust(millis)
          yield* Fiber.join(fiber)
        })
      // unmeasured: the default 30 ms
      expect((yield* states(balancer)).only!.latency).toBe(30)
      expect((yield* states(balancer)).only!.measured).toBe(false)
      yield* call(100)
      expect((yield* states(balancer)).only!.latency).toBe(100)
      // 10 s later the estimate read has decayed by e
      yield* TestClock.adjust("10 seconds")
      expect((yield* states(balancer)).only!.latency).toBeCloseTo(100 / Math.E, 9)
      // a faster sample moves the estimate toward it by 1 − exp(−Δ/τ), Δ since the last sample (10.02 s here)
      yield* call(20)
      const w = Math.exp(-10_020 / 10_000)
      expect((yield* states(balancer)).only!.latency).toBeCloseTo(100 * w + 20 * (1 - w), 9)
      // the score is latency × (inFlight + 1)
      const never = yield* Deferred.make<void>()
      const held = yield* Effect.fork(Balancer.withEndpoint(balancer, () => Deferred.await(never)))
      yield* Effect.yieldNow()
      const s = (yield* states(balancer)).only!
      expect(s.score).toBeCloseTo(s.latency * 2, 9)
      yield* Fiber.interrupt(held)
    }))

  it.effect("ejects an endpoint after consecutiveFailures and returns it after baseEjectionTime × the multiplier", () =>
    Effect.gen(function*() {
      const balancer = yield* Balancer.make({
        endpoints: ["a", "b"],
        strategy: "round-robin",
        outlier: { consecutiveFailures: 3 }
      })
      const events = yield* balancer.subscribe
      const down = new Set(["a"])
      // a, b, a, b, a: the third failure of a ejects it
      for (let i = 0; i < 5; i++) yield* callFailingOn(balancer, down)
      let a = (yield* states(balancer)).a!
      expect(a.ejectedUntil).toBe(30_000)
      expect(a.consecutiveFailures).toBe(0)
      expect(a.multiplier).toBe(1)
      // only b while a is out
      for (let i = 0; i < 4; i++) expect(yield* callFailingOn(balancer, down)).toEqual(Either.right("b"))
      yield* TestClock.adjust("29999 millis")
      expect((yield* states(balancer)).a!.ejectedUntil).toBe(30_000)
      yield* TestClock.adjust("1 millis")
      a = (yield* states(balancer)).a!
      expect(a.ejectedUntil).toBeUndefined()
      // back, then ejected again: 2 × 30 s
      for (let i = 0; i < 6; i++) yield* callFailingOn(balancer, down)
      a = (yield* states(balancer)).a!
      expect(a.multiplier).toBe(2)
      expect(a.ejectedUntil).toBe(30_000 + 60_000)
      yield* TestClock.adjust("60 seconds")
      expect((yield* states(balancer)).a!.ejectedUntil).toBeUndefined()
      const seen = Chunk.toReadonlyArray(yield* Stream.runCollect(Stream.take(events, 4)))
      expect(seen).toEqual([
        { _tag: "Ejected", key: "a", at: 0, until: 30_000, multiplier: 1 },
        { _tag: "Returned", key: "a", at: 30_000 },
        { _tag: "Ejected", key: "a", at: 30_000, until: 90_000, multiplier: 2 },
        { _tag: "Returned", key: "a", at: 90_000 }
      ])
    }).pipe(Effect.scoped))

  it.effect("the multiplier is capped by maxEjectionTime and falls by one per interval back in service", () =>
    Effect.gen(function*() {
      const balancer = yield* Balancer.make({
        endpoints: ["a", "b"],
        strategy: "round-robin",
        outlier: { consecutiveFailures: 1, baseEjectionTime: "10 seconds", maxEjectionTime: "25 seconds" }
      })
      const down = new Set(["a"])
      const ejectA = Effect.gen(function*() {
        while ((yield* states(balancer)).a!.ejectedUntil === undefined) yield* callFailingOn(balancer, down)
        return (yield* states(balancer)).a!
      })
      const durations: Array<number> = []
      for (let i = 0; i < 5; i++) {
        const now = yield* TestClock.currentTimeMillis
        const a = yield* ejectA
        durations.push(a.ejectedUntil! - now)
        yield* TestClock.adjust(a.ejectedUntil! - now)
      }
      // 10, 20, then capped at 25 (the multiplier stops at 4: 4 × 10 ≥ 25 + 10)
      expect(durations).toEqual([10_000, 20_000, 25_000, 25_000, 25_000])
      expect((yield* states(balancer)).a!.multiplier).toBe(4)
      // 25 s in service: two whole intervals of 10 s
      yield* TestClock.adjust("25 seconds")
      expect((yield* states(balancer)).a!.multiplier).toBe(2)
      const now = yield* TestClock.currentTimeMillis
      expect((yield* ejectA).ejectedUntil! - now).toBe(25_000)
    }))

  it.effect("at most maxEjectionPercent of the endpoints are ejected (Envoy: 100 × (ejected + 1) / n ≤ max)", () =>
    Effect.gen(function*() {
      const keys = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"] as const
      const balancer = yield* Balancer.make({
        endpoints: keys,
        strategy: "round-robin",
        outlier: { consecutiveFailures: 1, maxEjectionPercent: 20, panicThreshold: 0 }
      })
      const down = new Set<string>(keys)
      for (let i = 0; i < 30; i++) yield* callFailingOn(balancer, down)
      const ejected = (yield* balancer.snapshot).filter((s) => s.ejectedUntil !== undefined)
      expect(ejected.map((s) => s.key)).toEqual(["0", "1"])
      // without alwaysEjectOne, 10 % of 3 endpoints is none (Envoy's default); with it (ours), one
      const strict = yield* Balancer.make({
        endpoints: ["a", "b", "c"],
        strategy: "round-robin",
        outlier: { consecutiveFailures: 1, alwaysEjectOne: false }
      })
      for (let i = 0; i < 9; i++) yield* callFailingOn(strict, new Set(["a", "b", "c"]))
      expect((yield* strict.snapshot).filter((s) => s.ejectedUntil !== undefined)).toEqual([])
      const lenient = yield* Balancer.make({
        endpoints: ["a", "b", "c"],
        strategy: "round-robin",
        outlier: { consecutiveFailures: 1 }
      })
      for (let i = 0; i < 9; i++) yield* callFailingOn(lenient, new Set(["a", "b", "c"]))
      expect((yield* lenient.snapshot).filter((s) => s.ejectedUntil !== undefined).map((s) => s.key)).toEqual(["a"])
    }))

  it.effect("panic: with every endpoint ejected (or fewer in service than panicThreshold) every endpoint is used", () =>
    Effect.gen(function*() {
      const balancer = yield* Balancer.make({
        endpoints: ["a", "b"],
        strategy: "round-robin",
        outlier: { consecutiveFailures: 1, maxEjectionPercent: 100 }
      })
      const all = new Set(["a", "b"])
      yield* callFailingOn(balancer, all)
      yield* callFailingOn(balancer, all)
      expect((yield* balancer.snapshot).every((s) => s.ejectedUntil !== undefined)).toBe(true)
      const picks = []
      for (let i = 0; i < 4; i++) picks.push(yield* which(balancer))
      expect(picks).toEqual(["a", "b", "a", "b"])
      // 4 endpoints, 3 ejected: 25 % in service is below the default 50 %
      const four = yield* Balancer.make({
        endpoints: ["a", "b", "c", "d"],
        strategy: "round-robin",
        outlier: { consecutiveFailures: 1, maxEjectionPercent: 100 }
      })
      for (let i = 0; i < 3; i++) yield* callFailingOn(four, new Set(["a", "b", "c"]))
      expect((yield* four.snapshot).map((s) => s.ejectedUntil !== undefined)).toEqual([true, true, true, false])
      const panicked = []
      for (let i = 0; i < 4; i++) panicked.push(yield* which(four))
      expect(panicked.sort()).toEqual(["a", "b", "c", "d"])
      // with panicThreshold 0, only when none is in service
      const calm = yield* Balancer.make({
        endpoints: ["a", "b", "c", "d"],
        strategy: "round-robin",
        outlier: { consecutiveFailures: 1, maxEjectionPercent: 100, panicThreshold: 0 }
      })
      for (let i = 0; i < 3; i++) yield* callFailingOn(calm, new Set(["a", "b", "c"]))
      for (let i = 0; i < 3; i++) expect(yield* which(calm)).toBe("d")
    }))

  it.effect("a success resets the consecutive failures; interruptions and policy rejections do not count", () =>
    Effect.gen(function*() {
      const balancer = yield* Balancer.make({ endpoints: ["a"], outlier: { consecutiveFailures: 3 } })
      const run = (self: Effect.Effect<unknown, unknown>) => Effect.exit(Balancer.withEndpoint(balancer, () => self))
      yield* run(Effect.fail("x"))
      yield* run(Effect.fail("x"))
      expect((yield* states(balancer)).a!.consecutiveFailures).toBe(2)
      yield* run(Effect.fail({ _tag: "CircuitOpen" }))
      yield* run(Effect.fail({ _tag: "BulkheadRejected" }))
      yield* run(Effect.interrupt)
      expect((yield* states(balancer)).a!.consecutiveFailures).toBe(2)
      // a defect counts (by default isFailure accepts everything)
      yield* run(Effect.die("bug"))
      expect((yield* states(balancer)).a!.ejectedUntil).toBe(30_000)
      const picky = yield* Balancer.make({
        endpoints: ["a"],
        outlier: { consecutiveFailures: 3, isFailure: (e) => e === "503" }
      })
      yield* Effect.exit(Balancer.withEndpoint(picky, () => Effect.fail("503")))
      yield* Effect.exit(Balancer.withEndpoint(picky, () => Effect.fail("404")))
      expect((yield* states(picky)).a!.consecutiveFailures).toBe(0)
      yield* Effect.exit(Balancer.withEndpoint(picky, () => Effect.fail("503")))
      yield* Effect.exit(Balancer.withEndpoint(picky, () => Effect.die("bug")))
      expect((yield* states(picky)).a!.consecutiveFailures).toBe(1)
    }))

  it.effect("retries under avoidRepeats go to endpoints not yet tried, then to any", () =>
    Effect.gen(function*() {
      for (let seed = 1; seed <= 20; seed++) {
        const balancer = yield* Balancer.make({ endpoints: ["a", "b", "c"] })
        const tried: Array<string> = []
        const attempt = Balancer.withEndpoint(balancer, (e: string) => {
          tried.push(e)
          return Effect.fail(e)
        })
        yield* Effect.exit(attempt.pipe(Effect.retry(Schedule.recurs(3)), Balancer.avoidRepeats, seeded(seed)))
        expect(new Set(tried.slice(0, 3)).size).toBe(3)
        expect(tried.length).toBe(4)
        // with Sturdy's Retry, the same
        tried.length = 0
        yield* Effect.exit(
          attempt.pipe(Retry.retry({ schedule: Schedule.recurs(2) }), Balancer.avoidRepeats, seeded(seed))
        )
        expect(new Set(tried).size).toBe(3)
      }
      // without avoidRepeats a retry may go back to the same endpoint
      const balancer = yield* Balancer.make({ endpoints: ["a", "b", "c"] })
      let repeats = 0
      for (let seed = 1; seed <= 20; seed++) {
        const tried: Array<string> = []
        const attempt = Balancer.withEndpoint(balancer, (e: string) => {
          tried.push(e)
          return Effect.fail(e)
        })
        yield* Effect.exit(attempt.pipe(Effect.retry(Schedule.recurs(2)), seeded(seed)))
        if (new Set(tried).size < 3) repeats++
      }
      expect(repeats).toBeGreaterThan(0)
    }))

  it.effect("avoidRepeats still prefers endpoints in service, and a call out of it starts afresh", () =>
    Effect.gen(function*() {
      const balancer = yield* Balancer.make({
        endpoints: ["a", "b", "c"],
        strategy: "round-robin",
        outlier: { consecutiveFailures: 1 }
      })
      // eject a
      yield* callFailingOn(balancer, new Set(["a"]))
      const tried: Array<string> = []
      const attempt = Balancer.withEndpoint(balancer, (e: string) => {
        tried.push(e)
        return Effect.fail(e)
      })
      // b, c, then every candidate in service has been tried: any of them (a stays out)
      yield* Effect.exit(attempt.pipe(Effect.retry(Schedule.recurs(3)), Balancer.avoidRepeats))
      expect(tried.slice(0, 2).sort()).toEqual(["b", "c"])
      expect(tried.includes("a")).toBe(false)
    }))

  it.effect("inFlight goes back to 0 after successes, failures, defects and interruptions of overlapping calls", () =>
    Effect.gen(function*() {
      const balancer = yield* Balancer.make({ endpoints: ["a", "b", "c"], outlier: { consecutiveFailures: Infinity } })
      const fibers: Array<Fiber.RuntimeFiber<unknown, unknown>> = []
      for (let i = 0; i < 60; i++) {
        const outcome = i % 4
        const call = Balancer.withEndpoint(balancer, () =>
          Effect.zipRight(
            Effect.sleep(`${10 + (i * 7) % 50} millis`),
            outcome === 0
              ? Effect.succeed(i)
              : outcome === 1
              ? Effect.fail(i)
              : outcome === 2
              ? Effect.die(i)
              : Effect.never
          ))
        fibers.push(yield* Effect.fork(call))
      }
      yield* Effect.yieldNow()
      expect((yield* balancer.snapshot).reduce((n, s) => n + s.inFlight, 0)).toBe(60)
      yield* TestClock.adjust("30 millis")
      // interrupt every fifth, whether it has ended or not
      yield* Effect.forEach(fibers.filter((_, i) => i % 5 === 0), Fiber.interrupt)
      yield* TestClock.adjust("1 second")
      // the ones that never end, interrupted now
      yield* Effect.forEach(fibers.filter((_, i) => i % 4 === 3), Fiber.interrupt)
      yield* Effect.forEach(fibers, Fiber.await)
      expect((yield* balancer.snapshot).map((s) => s.inFlight)).toEqual([0, 0, 0])
    }).pipe(seeded(3)))

  it.effect("interrupting a call before it starts leaves nothing in flight", () =>
    Effect.gen(function*() {
      const balancer = yield* Balancer.make({ endpoints: ["a", "b"] })
      for (let i = 0; i < 20; i++) {
        const fiber = yield* Effect.fork(which(balancer))
        yield* Fiber.interrupt(fiber)
      }
      expect((yield* balancer.snapshot).map((s) => s.inFlight)).toEqual([0, 0])
    }))

  it.effect("marks the current span with the chosen endpoint's key", () =>
    Effect.gen(function*() {
      const { byName, tracer } = TestTracer.make()
      const balancer = yield* Balancer.make({
        endpoints: [{ host: "10.0.0.1" }, { host: "10.0.0.2" }],
        key: (e) => e.host,
        strategy: "round-robin"
      })
      yield* Balancer.withEndpoint(balancer, () => Effect.void).pipe(Effect.withSpan("call"), Effect.withTracer(tracer))
      yield* Balancer.withEndpoint(balancer, () => Effect.void).pipe(Effect.withSpan("call"), Effect.withTracer(tracer))
      expect(byName("call").map((span) => span.attributes.get("sturdy.balancer.endpoint"))).toEqual([
        "10.0.0.1",
        "10.0.0.2"
      ])
    }))

  it.effect("refuses bad options with a RangeError naming the option", () =>
    Effect.gen(function*() {
      expect(yield* refusal(undefined)).toMatch(/options/)
      expect(yield* refusal("a,b")).toMatch(/options \(.*\) must be an object/)
      expect(yield* refusal({})).toMatch(/endpoints must be a non-empty array/)
      expect(yield* refusal({ endpoints: [] })).toMatch(/endpoints must be a non-empty array/)
      expect(yield* refusal({ endpoints: ["a", "a"] })).toMatch(/key "a" twice/)
      expect(yield* refusal({ endpoints: [{ p: 1 }, { p: 2 }] })).toMatch(/key "\[object Object\]" twice/)
      expect(yield* refusal({ endpoints: ["a"], key: () => 1 })).toMatch(/key of endpoint 0 \(1\) must be a string/)
      expect(yield* refusal({ endpoints: ["a"], key: "host" })).toMatch(/key must be a function/)
      expect(yield* refusal({ endpoints: ["a"], strategy: "random" })).toMatch(/strategy/)
      expect(yield* refusal({ endpoints: ["a"], ewmaDecay: Number.NaN })).toMatch(/ewmaDecay/)
      expect(yield* refusal({ endpoints: ["a"], ewmaDecay: 0 })).toMatch(/ewmaDecay/)
      expect(yield* refusal({ endpoints: ["a"], ewmaDecay: Infinity })).toMatch(/ewmaDecay/)
      expect(yield* refusal({ endpoints: ["a"], defaultLatency: "-5 millis" })).toMatch(/defaultLatency/)
      expect(yield* refusal({ endpoints: ["a"], outlier: 5 })).toMatch(/outlier/)
      const outlier = (o: Record<string, unknown>) => refusal({ endpoints: ["a"], outlier: o })
      expect(yield* outlier({ consecutiveFailures: 0 })).toMatch(/consecutiveFailures/)
      expect(yield* outlier({ consecutiveFailures: 1.5 })).toMatch(/consecutiveFailures/)
      expect(yield* outlier({ consecutiveFailures: Number.NaN })).toMatch(/consecutiveFailures/)
      expect(yield* outlier({ isFailure: true })).toMatch(/isFailure/)
      expect(yield* outlier({ baseEjectionTime: -1 })).toMatch(/baseEjectionTime/)
      expect(yield* outlier({ baseEjectionTime: Number.NaN })).toMatch(/baseEjectionTime/)
      expect(yield* outlier({ baseEjectionTime: "1e3 millis" })).toMatch(/baseEjectionTime/)
      expect(yield* outlier({ maxEjectionTime: "1 second" })).toMatch(/maxEjectionTime .* must not be below/)
      expect(yield* outlier({ maxEjectionPercent: 101 })).toMatch(/maxEjectionPercent/)
      expect(yield* outlier({ maxEjectionPercent: -1 })).toMatch(/maxEjectionPercent/)
      expect(yield* outlier({ maxEjectionPercent: Number.NaN })).toMatch(/maxEjectionPercent/)
      expect(yield* outlier({ panicThreshold: 150 })).toMatch(/panicThreshold/)
      expect(yield* outlier({ alwaysEjectOne: "yes" })).toMatch(/alwaysEjectOne/)
      expect(yield* outlier({ interval: 0 })).toMatch(/interval/)
      // unset: Envoy's max(300 s, base)
      const long = Balancer.unsafeMake({
        endpoints: ["a", "b"],
        strategy: "round-robin",
        outlier: { consecutiveFailures: 1, baseEjectionTime: "400 seconds" }
      })
      yield* callFailingOn(long, new Set(["a"]))
      expect((yield* states(long)).a!.ejectedUntil).toBe(400_000)
      // null is unset
      expect(Balancer.unsafeMake({ endpoints: ["a"], strategy: null as never }).strategy).toBe("p2c")
    }))
})
