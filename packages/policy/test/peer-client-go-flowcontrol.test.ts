// Ported from kubernetes/client-go's util/flowcontrol/throttle_test.go (kubernetes/client-go, commit
// 32ce75a7d6bc6960fd048d3d1e3b34185418d8c8), one `it` per Go test, named after it.
// Mapping: `NewTokenBucketRateLimiter(qps, burst)` (x/time/rate's bucket of `burst` tokens, full at first, refilled at
// `qps` per second) is Sturdy's token bucket `{ limit: burst, window: burst / qps seconds }`. `TryAccept()` is
// `consume(key)` of a limiter in mode "fail" succeeding; `Accept()` is `consume(key)` in mode "delay"; `Wait(ctx)`
// with `context.WithTimeout(ctx, d)` is mode "delay" under `Deadline.withDeadline(d)` (both fail at once when the
// token would come after the deadline). The wall clock (`time.Now`, `time.Sleep`) and the test's fakeClock are the
// TestClock.
// Deliberate differences: none in the cases ported; where Go bounds a wall-clock duration from below, the TestClock
// also gives the exact time, which is asserted too.
// Not ported: TestAlwaysFake and TestNeverFake (`NewFakeAlwaysRateLimiter`, `NewFakeNeverRateLimiter` and `Stop`:
// test doubles Sturdy does not ship; no limiter, or one that never grants, is the user's to write).
import { describe, expect, it } from "@effect/vitest"
import { Deadline, RateLimit } from "@sturdy/policy"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"

const memory = Effect.provide(RateLimit.layerStoreMemory)
const KEY = "client-go"

/** `NewTokenBucketRateLimiter(qps, burst)`: its `TryAccept` and `Accept` (or `Wait`) faces over one key. */
const newTokenBucketRateLimiter = (qps: number, burst: number) =>
  Effect.gen(function*() {
    const window = Duration.millis((burst / qps) * 1000)
    const trying = yield* RateLimit.make({ limit: burst, window, onExceeded: "fail" })
    const waiting = yield* RateLimit.make({ limit: burst, window })
    return {
      tryAccept: Effect.map(Effect.either(trying.consume(KEY)), Either.isRight),
      accept: waiting.consume(KEY)
    }
  })

describe("peer client-go util/flowcontrol throttle_test.go", () => {
  it.effect("TestMultithreadedThrottling", () =>
    Effect.gen(function*() {
      // "Bucket with 100QPS and no burst"
      const r = yield* newTokenBucketRateLimiter(100, 1)
      // "channel to collect 100 tokens", filled by 10 fibers hammering the throttler
      let taken = 0
      const startTime = yield* Clock.currentTimeMillis
      // "take the initial capacity so all tokens are the result of refill"
      yield* r.accept
      const worker = Effect.gen(function*() {
        while (taken < 100) {
          yield* r.accept
          taken++
        }
        return yield* Clock.currentTimeMillis
      })
      const workers = yield* Effect.forEach(Array.from({ length: 10 }), () => Effect.fork(worker))
      yield* TestClock.adjust("2 seconds")
      // "wait for the first signal that we collected 100 tokens"
      const endTime = Math.min(...(yield* Fiber.joinAll(workers)))
      // "We shouldn't be able to get 100 tokens out of the bucket in less than 1 second", Go tolerating 1%
      expect(endTime - startTime).toBeGreaterThanOrEqual(990)
      // on the TestClock: the 100th token refilled comes at 1 s exactly
      expect(endTime - startTime).toBe(1_000)
    }).pipe(memory))

  it.effect("TestBasicThrottle", () =>
    Effect.gen(function*() {
      const r = yield* newTokenBucketRateLimiter(1, 3)
      for (let i = 0; i < 3; i++) expect([i, yield* r.tryAccept]).toEqual([i, true])
      expect(yield* r.tryAccept).toBe(false)
    }).pipe(memory))

  it.effect("TestIncrementThrottle", () =>
    Effect.gen(function*() {
      const r = yield* newTokenBucketRateLimiter(1, 1)
      expect(yield* r.tryAccept).toBe(true)
      expect(yield* r.tryAccept).toBe(false)
      // "Allow to refill"
      yield* TestClock.adjust("2 seconds")
      expect(yield* r.tryAccept).toBe(true)
    }).pipe(memory))

  it.effect("TestThrottle", () =>
    Effect.gen(function*() {
      const r = yield* newTokenBucketRateLimiter(10, 5)
      // "Should consume 5 tokens immediately, then the remaining 11 should take at least 1 second (0.1s each)"
      const start = yield* Clock.currentTimeMillis
      const fiber = yield* Effect.fork(Effect.gen(function*() {
        for (let i = 0; i < 16; i++) yield* r.accept
        return yield* Clock.currentTimeMillis
      }))
      yield* TestClock.adjust("2 seconds")
      const finished = yield* Fiber.join(fiber)
      // "rate limit was not respected, finished too early"
      expect(finished - start).toBeGreaterThanOrEqual(1_000)
      // on the TestClock: the 11 tokens after the burst come 100 ms apart
      expect(finished - start).toBe(1_100)
    }).pipe(memory))

  it.effect("TestWait", () =>
    Effect.gen(function*() {
      const r = yield* newTokenBucketRateLimiter(0.0001, 1)
      // the first Wait, with a timeout of 1 s, gets the burst token at once
      const first = yield* Effect.either(r.accept.pipe(Deadline.withDeadline("1 second")))
      expect(Either.isRight(first)).toBe(true)
      // "unexpected wait success": the next token is 10,000 s away, past the 1 s timeout: it fails at once
      const start = yield* Clock.currentTimeMillis
      const second = yield* Effect.either(r.accept.pipe(Deadline.withDeadline("1 second")))
      expect(Either.isLeft(second) && second.left._tag).toBe("RateLimitExceeded")
      expect((yield* Clock.currentTimeMillis) - start).toBe(0)
    }).pipe(memory))

  it.effect("TestRatePrecisionBug", () =>
    Effect.gen(function*() {
      // "golang.org/x/time/rate used to have bugs around precision and this proves that they don't recur (at least in
      // the form we know about). This case is specifically designed to trigger the problem after 14 seconds."
      // qps := float32(time.Second) / float32(1031425*time.Microsecond), in float32 as Go computes it
      const qps = Math.fround(Math.fround(1e9) / Math.fround(1_031_425_000))
      const tb = yield* newTokenBucketRateLimiter(qps, 1)
      for (let i = 0; i < 60; i++) {
        expect([`after ${i * 2} seconds`, yield* tb.tryAccept]).toEqual([`after ${i * 2} seconds`, true])
        yield* TestClock.adjust("2 seconds")
      }
    }).pipe(memory))
})
