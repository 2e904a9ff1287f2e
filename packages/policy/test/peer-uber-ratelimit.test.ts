// Ported from uber-go/ratelimit's ratelimit_test.go (uber-go/ratelimit, commit
// 3e5300c8868057cbf05a2818400bc45e75eaab6e), one `it` per Go test or subtest, named after it. Go runs each test
// against its three limiters (mutex, atomic, atomic_int64); Sturdy has one.
// Mapping: `New(rate, WithSlack(s), Per(p))` (a Take every `p / rate`, and up to `s` unspent Takes kept while the
// limiter is used below its rate, so `s + 1` Takes at once after an idle spell) is Sturdy's token bucket
// `{ limit: s + 1, window: (s + 1) × p / rate }` in mode "delay" (a token every `p / rate`); the default slack is 10,
// `WithoutSlack` is `s = 0` (a bucket of one token), `Per` defaults to 1 s. `Take()` is `consume(key)` (each Go
// limiter is its own key); the time it returns is the Clock's when `consume` returns. The mock clock is the TestClock
// (Go's `time.Nanosecond` offsets are milliseconds here). `startTaking(rls...)` is a fiber that takes from each
// limiter in turn and counts one, forever; `assertCountAt(d, n)` reads the count when the clock reaches `d`, before a
// Take due at `d` itself (Go's assertion timer is set first, so it fires first: 100 Takes by 1 s at 100 per second).
// Deliberate differences: a Sturdy bucket starts full (documented: a key seen again starts full, as a new one), while
// uber's limiter starts with no slack: with slack, the first Takes go at once (TestInitial/With Slack). Sturdy's waits
// are whole milliseconds on an exact interval: 7 per minute puts the 8th Take at 60 s exactly, where uber's interval,
// truncated to whole nanoseconds, puts it at 59.999999997 s, before its assertion at 1 minute (TestPer).
// Not ported: TestUnlimited (`NewUnlimited`: Sturdy has no unlimited limiter; no limiter is the equivalent); the
// examples of example_test.go (they run on the wall clock: the ones with slack sleep 45 ms between Takes) and the
// benchmarks of ratelimit_bench_test.go.
import { describe, expect, it } from "@effect/vitest"
import { RateLimit } from "@sturdy/policy"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"

const memory = Effect.provide(RateLimit.layerStoreMemory)

interface Options {
  /** `WithSlack(s)` (default 10); `WithoutSlack` is 0. */
  readonly slack?: number
  /** `Per(p)` in milliseconds (default 1 s). */
  readonly per?: number
}

/** A Go test's runner: its limiters (each its own key), its Take count, and its clock. */
const makeRunner = Effect.gen(function*() {
  let limiters = 0
  let count = 0
  const createLimiter = (rate: number, options: Options = {}) =>
    Effect.gen(function*() {
      const limit = (options.slack ?? 10) + 1
      const per = options.per ?? 1_000
      const limiter = yield* RateLimit.make({ limit, window: Duration.millis(limit * per / rate) })
      const key = `limiter-${limiters++}`
      /** `Take()`: the time it returns. */
      return Effect.zipRight(limiter.consume(key), Clock.currentTimeMillis)
    })
  type Take = Effect.Effect.Success<ReturnType<typeof createLimiter>>
  return {
    createLimiter,
    /** `startTaking(rls...)`: takes from each in turn and counts one, forever (interrupted with the test). */
    startTaking: (...rls: ReadonlyArray<Take>) =>
      Effect.fork(Effect.forever(Effect.zipRight(Effect.all(rls, { discard: true }), Effect.sync(() => count++)))),
    /** `takeOnceAfter(d, rl)`. */
    takeOnceAfter: (d: number, rl: Take) =>
      Effect.fork(Effect.zipRight(Effect.sleep(Duration.millis(d)), Effect.zipRight(rl, Effect.sync(() => count++)))),
    /** `afterFunc(d, fn)` (its fiber then stays, so that the fibers `fn` starts live on with the test). */
    afterFunc: <A, E>(d: number, fn: Effect.Effect<A, E>) =>
      Effect.fork(Effect.zipRight(Effect.zipRight(Effect.sleep(Duration.millis(d)), fn), Effect.never)),
    /** The count when the clock reaches `d` ms, before the Takes due at `d` itself (Go's `assertCountAt` fires first). */
    countAt: (d: number) => Effect.zipRight(TestClock.setTime(d - 1), Effect.sync(() => count))
  }
})

describe("peer uber-go/ratelimit ratelimit_test.go", () => {
  it.effect("TestRateLimiter", () =>
    Effect.gen(function*() {
      const r = yield* makeRunner
      const rl = yield* r.createLimiter(100, { slack: 0 })
      // "Create copious counts concurrently."
      yield* r.startTaking(rl)
      yield* r.startTaking(rl)
      yield* r.startTaking(rl)
      yield* r.startTaking(rl)
      expect(yield* r.countAt(1_000)).toBe(100)
      expect(yield* r.countAt(2_000)).toBe(200)
      expect(yield* r.countAt(3_000)).toBe(300)
    }).pipe(memory))

  it.effect("TestDelayedRateLimiter", () =>
    Effect.gen(function*() {
      const r = yield* makeRunner
      const slow = yield* r.createLimiter(10, { slack: 0 })
      const fast = yield* r.createLimiter(100, { slack: 0 })
      yield* r.startTaking(slow, fast)
      yield* r.afterFunc(
        20_000,
        Effect.all([r.startTaking(fast), r.startTaking(fast), r.startTaking(fast), r.startTaking(fast)])
      )
      // 20 s at the slow limiter's 10 per second, then 10 s at the fast one's 100 per second
      expect(yield* r.countAt(30_000)).toBe(1_200)
    }).pipe(memory), 60_000)

  it.effect("TestPer", () =>
    Effect.gen(function*() {
      const r = yield* makeRunner
      const rl = yield* r.createLimiter(7, { slack: 0, per: 60_000 })
      yield* r.startTaking(rl)
      yield* r.startTaking(rl)
      expect(yield* r.countAt(1_000)).toBe(1)
      // uber counts 8 and 15: its 8th and 15th Takes come at 59.999999997 s and 119.999999994 s (an interval of
      // 60 s / 7 truncated to whole nanoseconds); Sturdy's exact interval puts them at 60 s and 120 s themselves
      expect(yield* r.countAt(60_000)).toBe(7)
      expect(yield* r.countAt(60_001)).toBe(8)
      expect(yield* r.countAt(120_000)).toBe(14)
      expect(yield* r.countAt(120_001)).toBe(15)
    }).pipe(memory))

  // TestInitial: "verifies that the initial sequence is scheduled as expected"
  const initial = (options: Options) =>
    Effect.gen(function*() {
      const r = yield* makeRunner
      const rl = yield* r.createLimiter(10, options)
      const prev = yield* Clock.currentTimeMillis
      const fibers = yield* Effect.all([Effect.fork(rl), Effect.fork(rl), Effect.fork(rl)])
      yield* TestClock.adjust("1 second")
      const times = [...(yield* Fiber.joinAll(fibers))].sort((a, b) => a - b)
      return times.map((ts, i) => ts - (i === 0 ? prev : times[i - 1]!))
    }).pipe(memory)

  it.effect("TestInitial/With Slack", () =>
    Effect.gen(function*() {
      // uber: [0, 100 ms, 100 ms] (its limiter starts with no slack); a Sturdy bucket starts full, so the three
      // Takes of a bucket of 11 go at once
      expect(yield* initial({})).toEqual([0, 0, 0])
    }))

  it.effect("TestInitial/Without Slack", () =>
    Effect.gen(function*() {
      expect(yield* initial({ slack: 0 })).toEqual([0, 100, 100])
    }))

  it.effect("TestMaxSlack", () =>
    Effect.gen(function*() {
      const r = yield* makeRunner
      const rl = yield* r.createLimiter(1, { slack: 1 })
      yield* r.takeOnceAfter(1, rl)
      yield* r.takeOnceAfter(2_001, rl)
      yield* r.takeOnceAfter(2_002, rl)
      yield* r.takeOnceAfter(2_003, rl)
      yield* r.takeOnceAfter(2_004, rl)
      expect(yield* r.countAt(3_000)).toBe(3)
      expect(yield* r.countAt(10_000)).toBe(5)
    }).pipe(memory))

  // TestSlack: "To simulate slack, we combine two limiters": one fiber takes from a slow (10 per second) and a fast
  // limiter, so the fast one saves slack; after 2 s two more fibers take from the fast one only and spend it. The count
  // at 3 s is the slow limiter's 2 s, the fast one's last second, and the slack.
  const slackCases: ReadonlyArray<readonly [name: string, options: Options, want: number]> = [
    ["no option, defaults to 10", {}, 130], // 2*10 + 1*100 + 1*10 (slack)
    ["slack of 10, like default", { slack: 10 }, 130], // 2*10 + 1*100 + 1*10 (slack)
    ["slack of 20", { slack: 20 }, 140], // 2*10 + 1*100 + 1*20 (slack)
    // "Note this is bigger then the rate of the limiter."
    ["slack of 150", { slack: 150 }, 270], // 2*10 + 1*100 + 1*150 (slack)
    ["no option, defaults to 10, with per", { per: 500 }, 230], // 2*(10*2) + 1*(100*2) + 1*10 (slack)
    ["slack of 10, like default, with per", { slack: 10, per: 500 }, 230],
    ["slack of 20, with per", { slack: 20, per: 500 }, 240],
    ["slack of 150, with per", { slack: 150, per: 500 }, 370]
  ]
  for (const [name, options, want] of slackCases) {
    it.effect(`TestSlack/${name}`, () =>
      Effect.gen(function*() {
        const r = yield* makeRunner
        const slow = yield* r.createLimiter(10, { slack: 0 })
        const fast = yield* r.createLimiter(100, options)
        yield* r.startTaking(slow, fast)
        yield* r.afterFunc(2_000, Effect.all([r.startTaking(fast), r.startTaking(fast)]))
        // "limiter with 10hz dominates here - we're always at 10."
        expect(yield* r.countAt(1_000)).toBe(10)
        expect(yield* r.countAt(3_000)).toBe(want)
      }).pipe(memory))
  }
})
