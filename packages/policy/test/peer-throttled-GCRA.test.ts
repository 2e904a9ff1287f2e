// Ported from throttled/throttled's rate_test.go (throttled/throttled, commit
// 9e814f2763334cb3ce7b72a17b6c4052105922e6), one `it` per Go test, named after it.
// Mapping: a GCRA limiter of `RateQuota{MaxRate: PerDuration(n, p), MaxBurst: b}` admits `b + 1` requests at once and
// then one every `p / n`: Sturdy's token bucket `{ limit: b + 1, window: (b + 1) × p / n }` (a token every `p / n`).
// `RateLimitCtx(ctx, key, quantity)` is `consume(key, quantity)` of a limiter in mode "fail": `limited` is a
// `RateLimitExceeded`, whose `retryAfter` is the result's `RetryAfter`. The test store's clock (`st.clock`) is the
// TestClock (start = 0).
// Deliberate differences (each case says which): Sturdy answers only whether the call went through and, when it did
// not, `retryAfter`: `RateLimitResult`'s Limit, Remaining and ResetAfter have no counterpart, so they are not asserted.
// A quantity above the limit (cases 0 and 15) or of 0 (case 12, the peek) is a `RangeError` defect in Sturdy
// (documented: tokens from 1 to `limit`), where throttled answers limited (or, for 0, the state without a change).
// Not ported: TestRateLimitUpdateFailuresWithRetryLimitSetToTwo (`SetMaxCASAttemptsLimit`: Sturdy's stores update in one
// step and have no compare-and-swap retry), BenchmarkRateLimit; store/storetest's TestGCRAStoreCtx (run by memstore's
// tests) checks the GCRA store's own primitives (GetWithTime, SetIfNotExistsWithTTL, CompareAndSwapWithTTL), which
// Sturdy's `RateLimiterStore` (token bucket and fixed window requests) does not have; http_test.go, varyby_test.go and
// deprecated_test.go are the server-side HTTP middleware and the deprecated API.
import * as ExperimentalRateLimiter from "@effect/experimental/RateLimiter"
import { describe, expect, it } from "@effect/vitest"
import { RateLimit } from "@sturdy/policy"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as TestClock from "effect/TestClock"

const memory = Effect.provide(RateLimit.layerStoreMemory)

/** `RateLimitCtx(ctx, key, quantity)`: `[limited, retryAfter in ms or -1]`, or "defect" for a RangeError. */
const rateLimit = (limiter: RateLimit.RateLimiter, key: string, quantity: number) =>
  Effect.map(Effect.either(Effect.sandbox(limiter.consume(key, quantity))), (result) => {
    if (Either.isRight(result)) return [false, -1] as const
    const cause = result.left
    if (Cause.isDie(cause)) return "defect" as const
    const failure = Cause.failureOption(cause)
    if (failure._tag === "Some" && failure.value._tag === "RateLimitExceeded") {
      return [true, Duration.toMillis(failure.value.retryAfter)] as const
    }
    return "other" as const
  })

describe("peer throttled rate_test.go", () => {
  it.effect("TestRateLimit", () =>
    Effect.gen(function*() {
      // rq := RateQuota{MaxRate: PerSec(1), MaxBurst: limit - 1} with limit = 5
      const limit = 5
      const rl = yield* RateLimit.make({ limit, window: Duration.seconds(limit), onExceeded: "fail" })
      // [now (ms from start), volume, retry (ms, -1 when none), limited] of each case; "defect" for Sturdy's RangeError
      const cases: ReadonlyArray<readonly [number, number, number | "defect", boolean]> = [
        // 0: "You can never make a request larger than the maximum": limited in throttled, a RangeError defect here
        [0, 6, "defect", true],
        // "Rate limit normal requests appropriately"
        [0, 1, -1, false], // 1
        [0, 1, -1, false], // 2
        [0, 1, -1, false], // 3
        [0, 1, -1, false], // 4
        [0, 1, -1, false], // 5
        [0, 1, 1000, true], // 6
        [3000, 1, -1, false], // 7
        [3100, 1, -1, false], // 8
        [4000, 1, -1, false], // 9
        [8000, 1, -1, false], // 10
        [9500, 1, -1, false], // 11
        // 12: "Zero-volume request just peeks at the state": a RangeError defect here (Sturdy has no peek)
        [9500, 0, "defect", false],
        // 13: "High-volume request uses up more of the limit"
        [9500, 2, -1, false],
        // 14: "Large requests cannot exceed limits": the bucket, full again at 9 s, restarts its refill at 9.5 s, so
        // the three tokens missing come at 10.5, 11.5 and 12.5 s
        [9500, 5, 3000, true],
        // 15: "Requesting value larger than the maximum after some values have been added to store and state was reset
        // by timeout": limited in throttled, a RangeError defect here
        [15000, 6, "defect", true]
      ]
      for (const [i, [now, volume, retry, limited]] of cases.entries()) {
        yield* TestClock.setTime(now)
        const result = yield* rateLimit(rl, "foo", volume)
        expect([i, result]).toEqual([i, retry === "defect" ? "defect" : [limited, retry]])
      }
    }).pipe(memory))

  it.effect("TestRateLimitCustomPeriod", () =>
    Effect.gen(function*() {
      // rq := RateQuota{PerDuration(3, period), 0} with period = 10 ms: one request every 10/3 ms, no burst
      const period = 10
      const rl = yield* RateLimit.make({ limit: 1, window: Duration.millis(period / 3), onExceeded: "fail" })
      // The Go test sleeps a period of wall time after a limited request, but its test store answers `st.clock`,
      // which it never sets: the limiter's clock stands still, as the TestClock does here, so every request after
      // the first is limited, and with it every third one, which is what the Go test asserts.
      for (let i = 0; i < 27; i++) {
        const [limited] = (yield* rateLimit(rl, "bar", 1)) as readonly [boolean, number]
        if (i !== 0 && i % 3 === 0) expect([i, limited]).toEqual([i, true])
        expect([i, limited]).toEqual([i, i !== 0])
      }
    }).pipe(memory))

  it.effect("TestRateLimitUpdateFailures", () =>
    Effect.gen(function*() {
      // a store whose updates fail (throttled's testStore with failUpdates: its CompareAndSwap never succeeds)
      const updateFailed = Effect.fail(new ExperimentalRateLimiter.RateLimitStoreError({ message: "update failed" }))
      const failing = ExperimentalRateLimiter.RateLimiterStore.of({
        fixedWindow: () => updateFailed,
        tokenBucket: () => updateFailed
      })
      const rl = yield* RateLimit.make({ limit: 2, window: "2 seconds", onExceeded: "fail" }).pipe(
        Effect.provideService(RateLimit.RateLimiterStore, failing)
      )
      // "Expected limiting to fail when store updates fail": a typed failure, naming the key, not a pass
      const error = yield* Effect.flip(rl.consume("foo"))
      expect(error._tag).toBe("RateLimitStoreError")
      expect(error.message).toBe("rate limit store failed for foo")
    }))
})
