// Ported from node-rate-limiter's tests (jhurliman/node-rate-limiter, the `limiter` package, commit
// 4aa1b5a5c827a3f98a872a265689143275e5c3de): src/TokenBucket.test.ts and src/RateLimiter.test.ts, one `it` per case,
// named after it (prefixed by its describe block). The vows tests they replaced (test/tokenbucket-test.js and
// test/ratelimiter-test.js, before 2.0.0) are the same cases.
// Mapping: `new TokenBucket({ bucketSize: 10, tokensPerInterval: 1, interval: 100 })` (10 tokens at most, one more
// every 100 ms) is Sturdy's token bucket `{ limit: 10, window: "1 second" }`; `await bucket.removeTokens(n)` is
// `consume(key, n)` in mode "delay", the time it takes read on the TestClock (limiter's ±10 ms TIMING_EPSILON is
// exact here); the bucket's `content` (what `removeTokens` resolves with) is read with a limiter in mode "fail" on the
// same store and key: a refused `consume(key, 1)` whose `retryAfter` is the full 100 ms means nothing is left, not
// even part of a token; `wait(ms)` is `TestClock.adjust`. `new RateLimiter({ tokensPerInterval, interval })` is
// `RateLimit.make({ limit: tokensPerInterval, window })`, its named intervals Effect durations: "sec"/"second" is
// "1 second", "min"/"minute" "1 minute", "hr"/"hour" "1 hour", "day" "1 day" (Effect has no "sec", "min" or "hr"),
// and `toThrow()` a `RangeError` defect of `make`.
// Deliberate differences: a Sturdy bucket starts full (a key seen for the first time has all its tokens, as
// limiter's RateLimiter, whose bucket starts with `tokensPerInterval`); limiter's bare TokenBucket starts empty, so
// each case here drains the bucket at t0 first, and "is initialized empty" asserts Sturdy's full start.
// Not ported: nothing of these two files is left out. The brief also names `tryRemoveTokens`, `fireImmediately` and
// `getTokensRemaining`: limiter has no test of them (at this commit or before), so no case is ported for them.
import { describe, expect, it } from "@effect/vitest"
import { RateLimit } from "@sturdy/policy"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as TestClock from "effect/TestClock"
import { advanceToDone } from "./utils/advance.js"

const memory = Effect.provide(RateLimit.layerStoreMemory)
const KEY = "limiter"

/** `new TokenBucket({ bucketSize: 10, tokensPerInterval: 1, interval: 100 })`, drained at t0 unless `full`. */
const makeBucket = (full = false) =>
  Effect.gen(function*() {
    const store = yield* RateLimit.RateLimiterStore
    const make = (options: Partial<RateLimit.Options>) =>
      RateLimit.make({ limit: 10, window: "1 second", ...options }).pipe(
        Effect.provideService(RateLimit.RateLimiterStore, store)
      )
    const waiting = yield* make({})
    const failing = yield* make({ onExceeded: "fail" })
    // limiter's TokenBucket starts empty, Sturdy's bucket full
    if (!full) yield* Effect.orDie(failing.consume(KEY, 10))
    return {
      failing,
      /** `await bucket.removeTokens(n)`: the TestClock milliseconds it took. */
      removeTokens: (n: number) =>
        Effect.gen(function*() {
          const start = yield* Clock.currentTimeMillis
          const exit = yield* advanceToDone(waiting.consume(KEY, n))
          expect(Exit.isSuccess(exit)).toBe(true)
          return (yield* Clock.currentTimeMillis) - start
        }),
      /** The bucket is empty: not a whole token left, nor part of one (the next is a full 100 ms away). */
      isEmpty: Effect.map(Effect.flip(failing.consume(KEY, 1)), (e) =>
        RateLimit.isRateLimitExceeded(e) && Duration.toMillis(e.retryAfter) === 100)
    }
  })

describe("peer node-rate-limiter TokenBucket.test.ts", () => {
  it.effect("capacity 10, 1 per 100ms: is initialized empty", () =>
    Effect.gen(function*() {
      const bucket = yield* makeBucket(true)
      // Sturdy's bucket starts full (see the header): bucketSize 10 is 10 tokens at once, and no 11th
      yield* bucket.failing.consume(KEY, 10)
      // tokensPerInterval 1 every 100 ms; content 0
      expect(yield* bucket.isEmpty).toBe(true)
    }).pipe(memory))

  it.effect("capacity 10, 1 per 100ms: removing 10 tokens takes 1 second", () =>
    Effect.gen(function*() {
      const bucket = yield* makeBucket()
      const duration = yield* bucket.removeTokens(10)

      expect(duration).toBe(1000)
      expect(yield* bucket.isEmpty).toBe(true)
    }).pipe(memory))

  it.effect("capacity 10, 1 per 100ms: removing another 10 tokens takes 1 second", () =>
    Effect.gen(function*() {
      const bucket = yield* makeBucket()
      yield* bucket.removeTokens(10)

      const duration = yield* bucket.removeTokens(10)
      expect(duration).toBe(1000)
      expect(yield* bucket.isEmpty).toBe(true)
    }).pipe(memory))

  it.effect("capacity 10, 1 per 100ms: waiting 2 seconds gives us only 10 tokens", () =>
    Effect.gen(function*() {
      const bucket = yield* makeBucket()
      yield* TestClock.adjust("2 seconds")

      const duration = yield* bucket.removeTokens(10)
      expect(duration).toBe(0)
      expect(yield* bucket.isEmpty).toBe(true)
    }).pipe(memory))

  it.effect("capacity 10, 1 per 100ms: removing 1 token takes 100ms", () =>
    Effect.gen(function*() {
      const bucket = yield* makeBucket()

      const duration = yield* bucket.removeTokens(1)
      expect(duration).toBe(100)
      expect(yield* bucket.isEmpty).toBe(true)
    }).pipe(memory))
})

describe("peer node-rate-limiter RateLimiter.test.ts", () => {
  const make = (window: Duration.DurationInput) =>
    Effect.exit(RateLimit.make({ limit: 1, window, onExceeded: "fail" }).pipe(memory))

  it.effect("interval validation: invalid interval", () =>
    Effect.gen(function*() {
      const exit = yield* make("junk" as Duration.DurationInput)
      expect(Exit.isFailure(exit) && exit.cause._tag === "Die" && exit.cause.defect instanceof RangeError).toBe(true)
    }))

  it.effect("interval validation: valid intervals", () =>
    Effect.gen(function*() {
      const intervals: ReadonlyArray<readonly [string, Duration.DurationInput, number]> = [
        ["sec", "1 second", 1_000],
        ["second", "1 second", 1_000],
        ["min", "1 minute", 60_000],
        ["minute", "1 minute", 60_000],
        ["hr", "1 hour", 3_600_000],
        ["hour", "1 hour", 3_600_000],
        ["day", "1 day", 86_400_000]
      ]
      for (const [name, window, millis] of intervals) {
        const exit = yield* make(window)
        expect(Exit.isSuccess(exit), name).toBe(true)
        if (Exit.isFailure(exit)) continue
        // the interval is what it names: one call, then the next token an interval away
        const limiter = exit.value
        yield* limiter.consume(name)
        const refused = yield* Effect.flip(limiter.consume(name))
        expect(RateLimit.isRateLimitExceeded(refused) && Duration.toMillis(refused.retryAfter), name).toBe(millis)
      }
    }))
})
