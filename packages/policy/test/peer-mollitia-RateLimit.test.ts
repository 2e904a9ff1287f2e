// Ported from mollitia's packages/mollitia/test/unit/module/ratelimit.spec.ts (genesys/mollitia at
// a8a24286b23f437b70f6cc99794571f14bc9a8e4), one `it` per mollitia case, named after it.
// Mapping: `new Ratelimit({ limitPeriod, limitForPeriod, name })` is `RateLimit.make({ window: limitPeriod, limit:
// limitForPeriod, algorithm: "fixed-window", onExceeded: "fail" })` used under the key `name`; `RatelimitError` is
// `RateLimitExceeded` (reason "Limit"), whose `key` is mollitia's `name`. Two modules in a circuit are two
// `withRateLimit`s, the first one outermost. mollitia's real `delay`s are TestClock moves.
// Deliberate difference: mollitia keeps a sliding log (a call is allowed when fewer than `limitForPeriod` calls were
// allowed in the last `limitPeriod` ms). Sturdy has no sliding log: its "fixed-window" (@effect/experimental's) counts
// the calls of a window that starts with its first call and ends `window / limit` after it for each call admitted (a
// full one lasts `window`), and its "token-bucket" refills one slot every `window / limit`, further from the log.
// Each step asserts Sturdy's answer; the steps where it is not mollitia's say so.
// Not ported: nothing.
import { describe, expect, it } from "@effect/vitest"
import { RateLimit } from "@sturdy/policy"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as TestClock from "effect/TestClock"

const limited = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" && RateLimit.isRateLimitExceeded(exit.cause.error)
    ? exit.cause.error
    : undefined

describe("peer mollitia Ratelimit", () => {
  it.effect("With a single ratelimit", () =>
    Effect.gen(function*() {
      const ratelimit = yield* RateLimit.make({
        window: 1000,
        limit: 3,
        algorithm: "fixed-window",
        onExceeded: "fail"
      })
      const execute = Effect.exit(Effect.succeed("dummy").pipe(RateLimit.withRateLimit(ratelimit, "dummy-name")))
      const ok = Exit.succeed("dummy")
      expect(yield* execute).toStrictEqual(ok) // t0
      yield* TestClock.adjust(200)
      expect(yield* execute).toStrictEqual(ok) // t0 + 200
      yield* TestClock.adjust(400)
      expect(yield* execute).toStrictEqual(ok) // t0 + 600
      yield* TestClock.adjust(300)
      expect(limited(yield* execute)?.reason).toBe("Limit") // t0 + 900: already 3 calls
      yield* TestClock.adjust(100)
      expect(yield* execute).toStrictEqual(ok) // t0 + 1000: a new window
      yield* TestClock.adjust(100)
      // t0 + 1100: mollitia refuses (200, 600, 1000 in its last second); Sturdy's window of 1000 holds one call
      expect(yield* execute).toStrictEqual(ok)
      yield* TestClock.adjust(100)
      expect(yield* execute).toStrictEqual(ok) // t0 + 1200
      yield* TestClock.adjust(300)
      const refused = limited(yield* execute) // t0 + 1500
      expect(refused?.reason).toBe("Limit")
      expect(refused?.key).toBe("dummy-name")
      yield* TestClock.adjust(200)
      // t0 + 1700: mollitia allows (1000, 1200 in its last second); Sturdy's window (1000, 1100, 1200) lasts until 2000
      expect(limited(yield* execute)?.reason).toBe("Limit")
      yield* TestClock.adjust(200)
      expect(limited(yield* execute)?.reason).toBe("Limit") // t0 + 1900
      yield* TestClock.adjust(300)
      expect(yield* execute).toStrictEqual(ok) // t0 + 2200
      yield* TestClock.adjust(1)
      expect(yield* execute).toStrictEqual(ok) // t0 + 2201
    }).pipe(Effect.provide(RateLimit.layerStoreMemory)))

  it.effect("With two ratelimits", () =>
    Effect.gen(function*() {
      const ratelimit1 = yield* RateLimit.make({
        window: 1500,
        limit: 3,
        algorithm: "fixed-window",
        onExceeded: "fail"
      })
      const ratelimit2 = yield* RateLimit.make({
        window: 500,
        limit: 1,
        algorithm: "fixed-window",
        onExceeded: "fail"
      })
      // modules [ratelimit2, ratelimit1]: ratelimit2 is asked first
      const execute = Effect.exit(
        Effect.succeed("dummy").pipe(
          RateLimit.withRateLimit(ratelimit1, "ratelimit1"),
          RateLimit.withRateLimit(ratelimit2, "ratelimit2")
        )
      )
      const ok = Exit.succeed("dummy")
      expect(yield* execute).toStrictEqual(ok) // t0
      yield* TestClock.adjust(250)
      expect(limited(yield* execute)?.key).toBe("ratelimit2") // t0 + 250
      yield* TestClock.adjust(350)
      expect(yield* execute).toStrictEqual(ok) // t0 + 600
      yield* TestClock.adjust(500)
      expect(yield* execute).toStrictEqual(ok) // t0 + 1100
      yield* TestClock.adjust(200)
      // t0 + 1300: refused, as in mollitia, but by ratelimit2 (its window began at 1100) where mollitia's ratelimit1
      // refuses (three calls in its last 1500 ms; mollitia's ratelimit2 saw none in its last 500 ms)
      expect(limited(yield* execute)?.key).toBe("ratelimit2")
      yield* TestClock.adjust(300)
      expect(yield* execute).toStrictEqual(ok) // t0 + 1600
      yield* TestClock.adjust(1)
      expect(limited(yield* execute)?.key).toBe("ratelimit2") // t0 + 1601
    }).pipe(Effect.provide(RateLimit.layerStoreMemory)))
})
