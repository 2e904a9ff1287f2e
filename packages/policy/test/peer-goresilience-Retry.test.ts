// Ported from slok/goresilience at 3163dfcb956c6ada224984dbf6a237137c1010ba: retry/retry_test.go, one `it` per table
// case, named after it.
// Mapping: `retry.New(Config{WaitBase, DisableBackoff, Times})` is `Retry.retry` with `Times` retries (so `Times + 1`
// attempts): with `DisableBackoff` on the schedule `Schedule.spaced(WaitBase)` limited to `Times` recurrences, without
// it `Backoff.exponential({ baseDelay: WaitBase, jitter: "full", maxAttempts: Times + 1 })` (goresilience's wait is
// `WaitBase × 2^(i+1) × rand`: full jitter on a doubling envelope). goresilience's defaults are WaitBase 20 ms and 3
// retries. `counterFailer` (succeeds on its n-th execution) is a counted call; `patternTimer` records the TestClock
// time between executions. Randomness is seeded (`Random.make`).
// Deliberate differences: the first retry's envelope is `baseDelay` (goresilience's is twice WaitBase); goresilience
// also sleeps after the last failed attempt before returning it, which Sturdy does not (no execution follows, so the
// wait patterns are the same); Sturdy's delays are whole milliseconds, where goresilience compares its waits to the
// microsecond, so two of the six jittered waits of TestBackoffJitterRetry collide for some seeds (21 is one): the
// case checks a fixed seed.
import { describe, expect, it } from "@effect/vitest"
import { Backoff, Retry } from "@sturdy/policy"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import { advanceToDone } from "./utils/advance.js"
import { counted } from "./utils/counted.js"

const err = new Error("wanted error")

interface Config {
  /** milliseconds (default 20) */
  readonly WaitBase?: Duration.DurationInput
  readonly DisableBackoff?: boolean
  /** retries (default 3) */
  readonly Times?: number
}

const newRetry = (cfg: Config) => {
  const base = cfg.WaitBase ?? 20
  const times = cfg.Times ?? 3
  return <A, E>(self: Effect.Effect<A, E>) =>
    Retry.retry(self, {
      schedule: cfg.DisableBackoff
        ? Schedule.intersect(Schedule.spaced(base), Schedule.recurs(times))
        : Backoff.exponential({ baseDelay: base, jitter: "full", maxAttempts: times + 1 })
    })
}

// counterFailer: fails until its `notFailOnAttempt`-th execution, which succeeds
const counterFailer = (notFailOnAttempt: number) =>
  counted((execution) => (execution === notFailOnAttempt ? Effect.void : Effect.fail(err)))

// patternTimer: always fails, recording the time passed between executions
const patternTimer = () => {
  const waitPattern: Array<number> = []
  let prev: number | undefined
  const run = Effect.flatMap(Clock.currentTimeMillis, (now) => {
    if (prev !== undefined) waitPattern.push(now - prev)
    prev = now
    return Effect.fail(new Error("wanted error"))
  })
  return { waitPattern, run }
}

describe("slok/goresilience retry_test.go", () => {
  describe("TestRetryResult", () => {
    it.effect(
      "A failing execution should not fail if it's retried the required times until returns a non error.",
      () =>
        Effect.gen(function*() {
          const c = counterFailer(4)
          const exit = yield* advanceToDone(
            newRetry({ WaitBase: Duration.nanos(1n), DisableBackoff: true, Times: 3 })(c.call)
          )
          expect(exit).toEqual(Exit.void)
          expect(c.executions).toBe(4)
        })
    )

    it.effect("A failing execution should fail if it's not retried the required times until returns a non error.", () =>
      Effect.gen(function*() {
        const c = counterFailer(5)
        const exit = yield* advanceToDone(
          newRetry({ WaitBase: Duration.nanos(1n), DisableBackoff: true, Times: 3 })(c.call)
        )
        expect(exit).toEqual(Exit.fail(err))
        expect(c.executions).toBe(4)
      }))
  })

  describe("TestConstantRetry", () => {
    it.effect("A retry executions without backoff should be at constant rate. (2ms, 9 retries)", () =>
      Effect.gen(function*() {
        const pt = patternTimer()
        yield* advanceToDone(newRetry({ WaitBase: 10, DisableBackoff: true, Times: 4 })(pt.run))
        expect(pt.waitPattern).toEqual([10, 10, 10, 10])
      }))

    it.effect("A retry executions without backoff should be at constant rate (5ms, 4 retries)", () =>
      Effect.gen(function*() {
        const pt = patternTimer()
        yield* advanceToDone(newRetry({ WaitBase: 30, DisableBackoff: true, Times: 2 })(pt.run))
        expect(pt.waitPattern).toEqual([30, 30])
      }))
  })

  it.effect("TestBackoffJitterRetry: Multiple retry executions with backoff should have all different wait times.", () =>
    Effect.gen(function*() {
      const occurrences = new Set<number>()
      // 3 iterations of the same process
      for (let i = 0; i < 3; i++) {
        const runner = patternTimer()
        yield* advanceToDone(newRetry({ WaitBase: 50, DisableBackoff: false, Times: 2 })(runner.run))
        expect(runner.waitPattern.length).toBe(2)
        for (const wait of runner.waitPattern) {
          if (wait === 0) continue
          // with full jitter an iteration's wait differs from every other one
          expect(occurrences.has(wait)).toBe(false)
          occurrences.add(wait)
        }
      }
      expect(occurrences.size).toBeGreaterThan(0)
    }).pipe(Effect.withRandom(Random.make(1))))
})
