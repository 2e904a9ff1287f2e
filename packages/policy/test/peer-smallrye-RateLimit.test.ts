// Ported from SmallRye Fault Tolerance (smallrye/smallrye-fault-tolerance, commit 5066307cd9021e850c3ac4dda8b352707fbb8722),
// implementation/core/src/test/java/io/smallrye/faulttolerance/core/rate/limit/: FixedWindowTest.java,
// SmoothWindowTest.java and RateLimitSyncTest.java, one `it` per SmallRye case, named after it.
// Mapping: `new FixedWindow(stopwatch, n, w, 0)` / `RateLimitType.FIXED` is `RateLimit.make({ limit: n, window: w,
// algorithm: "fixed-window", onExceeded: "fail" })` and `new SmoothWindow(stopwatch, n, w, 0)` / `RateLimitType.SMOOTH`
// is `{ algorithm: "token-bucket" }` (one permit every w / n, at most n stored); `window.record()` is one `consume` on
// one key, its answer 0 when granted and otherwise the `RateLimitExceeded`'s `retryAfter` in milliseconds (SmallRye's
// `RateLimitException.getRetryAfterMillis()`); the TestStopwatch is the TestClock; the "multiThreaded" cases' threads
// are fibers started at once (`Effect.all` with unbounded concurrency).
// Deliberate differences (each test says which):
// - a rejected call takes no slot in Sturdy (as resilience4j and Bucket4j); SmallRye's windows record every call,
//   rejected ones included, so in SmallRye a call turned away can push the next grant later.
// - Sturdy's fixed window is `@effect/experimental`'s: it starts at the key's first call and a window holding k calls
//   ends k × window / limit after its start, where SmallRye's windows are aligned on the limiter's creation
//   (0, w, 2w, ...) and always last w. The two agree while a window fills up at its start (scenario1, 3, 4, 6,
//   fixed_singleThreaded, fixed_multiThreaded) and differ once calls arrive mid-window (scenario2).
// - Sturdy's token bucket starts full (`limit` tokens, as Bucket4j, Guava's SmoothBursty after idling, x/time/rate);
//   SmallRye's smooth window starts with a single permit and only a limiter idle for a whole window holds `limit`.
// Not ported: the `minSpacing` cases (FixedWindowTest scenario5 and scenario7, SmoothWindowTest scenario5 and
// scenario7, the *_withMinSpacing cases): Sturdy has no minimum spacing between calls; the ROLLING type
// (AbstractRollingWindowTest with its Naive/RingBuffer implementations, rolling_* cases): Sturdy has no rolling-log
// window; RateLimitAsyncTest.java: the same cases with the invocation run on a thread pool (Java-specific).
import { describe, expect, it } from "@effect/vitest"
import { RateLimit } from "@sturdy/policy"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as TestClock from "effect/TestClock"

const memory = Effect.provide(RateLimit.layerStoreMemory)

const window = (algorithm: "fixed-window" | "token-bucket", limit: number, windowMillis: number) =>
  RateLimit.make({ limit, window: Duration.millis(windowMillis), algorithm, onExceeded: "fail" })

// window.record(): 0 when granted, else the retry-after in milliseconds
const record = (limiter: RateLimit.RateLimiter) =>
  Effect.map(Effect.either(limiter.consume("key")), (result) =>
    Either.isRight(result)
      ? 0
      : RateLimit.isRateLimitExceeded(result.left)
      ? Duration.toMillis(result.left.retryAfter)
      : Number.NaN)

// stopwatch.setCurrentValue(at), then `calls` records; the answers, step by step
const scenario = (limiter: RateLimit.RateLimiter, steps: ReadonlyArray<readonly [at: number, calls: number]>) =>
  Effect.gen(function*() {
    const answers: Array<[number, Array<number>]> = []
    for (const [at, calls] of steps) {
      yield* TestClock.adjust(Duration.millis(at - (yield* Clock.currentTimeMillis)))
      const recorded: Array<number> = []
      for (let i = 0; i < calls; i++) recorded.push(yield* record(limiter))
      answers.push([at, recorded])
    }
    return answers
  })

describe("peer SmallRye FixedWindowTest", () => {
  it.effect("scenario1", () =>
    Effect.gen(function*() {
      const limiter = yield* window("fixed-window", 2, 100)
      expect(yield* scenario(limiter, [[0, 3], [50, 1], [100, 1]])).toEqual([
        [0, [0, 0, 100]],
        [50, [50]],
        [100, [0]]
      ])
    }).pipe(memory))

  it.effect("scenario2", () =>
    Effect.gen(function*() {
      const limiter = yield* window("fixed-window", 2, 100)
      // SmallRye: 120 → [0]; 190 → [0, 10] (the window [100, 200) has one permit left); 210 → [0, 0, 90]; 290 → [10].
      // Sturdy's window of one call at 120 ends at 170 (1 × 100 / 2), so at 190 a new one starts with 2 calls and ends
      // at 290, and the calls at 210 wait for it (deliberate difference: see the header)
      expect(yield* scenario(limiter, [[0, 3], [50, 2], [120, 1], [190, 2], [210, 3], [290, 1]])).toEqual([
        [0, [0, 0, 100]],
        [50, [50, 50]],
        [120, [0]],
        [190, [0, 0]],
        [210, [80, 80, 80]],
        [290, [0]]
      ])
    }).pipe(memory))

  it.effect("scenario3", () =>
    Effect.gen(function*() {
      const limiter = yield* window("fixed-window", 4, 100)
      expect(yield* scenario(limiter, [[0, 5], [50, 1], [100, 5], [200, 5]])).toEqual([
        [0, [0, 0, 0, 0, 100]],
        [50, [50]],
        [100, [0, 0, 0, 0, 100]],
        [200, [0, 0, 0, 0, 100]]
      ])
    }).pipe(memory))

  it.effect("scenario4", () =>
    Effect.gen(function*() {
      const limiter = yield* window("fixed-window", 4, 100)
      expect(yield* scenario(limiter, [[0, 5], [50, 1], [75, 1], [100, 5], [200, 5]])).toEqual([
        [0, [0, 0, 0, 0, 100]],
        [50, [50]],
        [75, [25]],
        [100, [0, 0, 0, 0, 100]],
        [200, [0, 0, 0, 0, 100]]
      ])
    }).pipe(memory))

  it.effect("scenario6", () =>
    Effect.gen(function*() {
      const limiter = yield* window("fixed-window", 2, 100)
      // SmallRye: 1050 → [0, 0, 50]: its windows are aligned on 0, so the third call waits for the window [1000, 1100)
      // to end. Sturdy's window starts at the call at 1050 and the third waits for its end at 1150 (deliberate
      // difference: a window starts at its first call)
      expect(yield* scenario(limiter, [[0, 3], [550, 1], [1050, 3]])).toEqual([
        [0, [0, 0, 100]],
        [550, [0]],
        [1050, [0, 0, 100]]
      ])
    }).pipe(memory))
})

describe("peer SmallRye SmoothWindowTest", () => {
  it.effect("scenario1", () =>
    Effect.gen(function*() {
      const limiter = yield* window("token-bucket", 2, 100)
      // SmallRye: 0 → [0, 50] (its smooth window starts with one permit); Sturdy's bucket starts full (2 tokens), and
      // from then on one token every 50 ms, as SmallRye's
      expect(yield* scenario(limiter, [[0, 3], [50, 2], [100, 2]])).toEqual([
        [0, [0, 0, 50]],
        [50, [0, 50]],
        [100, [0, 50]]
      ])
    }).pipe(memory))

  it.effect("scenario2", () =>
    Effect.gen(function*() {
      const limiter = yield* window("token-bucket", 2, 100)
      // SmallRye: 0 → [0, 50] (one permit at the start; Sturdy's bucket starts full); then the same answers
      expect(yield* scenario(limiter, [[0, 3], [50, 2], [120, 1], [190, 2], [210, 2], [290, 2]])).toEqual([
        [0, [0, 0, 50]],
        [50, [0, 50]],
        [120, [0]],
        [190, [0, 10]],
        [210, [0, 40]],
        [290, [0, 10]]
      ])
    }).pipe(memory))

  it.effect("scenario3", () =>
    Effect.gen(function*() {
      const limiter = yield* window("token-bucket", 4, 100)
      // SmallRye: 0 → [0, 25]; 50 → [0, 0, 25]; 100 → [0, 0, 25]. Sturdy's bucket starts with 4 tokens: 4 calls at 0,
      // then one token every 25 ms, as SmallRye's
      expect(yield* scenario(limiter, [[0, 5], [50, 3], [100, 3], [200, 5]])).toEqual([
        [0, [0, 0, 0, 0, 25]],
        [50, [0, 0, 25]],
        [100, [0, 0, 25]],
        [200, [0, 0, 0, 0, 25]]
      ])
    }).pipe(memory))

  it.effect("scenario4", () =>
    Effect.gen(function*() {
      const limiter = yield* window("token-bucket", 4, 100)
      // SmallRye: 0 → [0, 25] (one permit at the start; Sturdy's bucket starts with 4)
      expect(yield* scenario(limiter, [[0, 5], [50, 3], [75, 2], [100, 2], [200, 5]])).toEqual([
        [0, [0, 0, 0, 0, 25]],
        [50, [0, 0, 25]],
        [75, [0, 25]],
        [100, [0, 25]],
        [200, [0, 0, 0, 0, 25]]
      ])
    }).pipe(memory))

  it.effect("scenario6", () =>
    Effect.gen(function*() {
      const limiter = yield* window("token-bucket", 2, 100)
      // SmallRye: 0 → [0, 50] (one permit at the start; Sturdy's bucket starts full); idle, both hold 2 permits
      expect(yield* scenario(limiter, [[0, 3], [550, 3], [1050, 3]])).toEqual([
        [0, [0, 0, 50]],
        [550, [0, 0, 50]],
        [1050, [0, 0, 50]]
      ])
    }).pipe(memory))
})

describe("peer SmallRye RateLimitSyncTest", () => {
  // TestInvocation.of(() -> "" + counter.incrementAndGet()) behind the limiter
  const invocation = (limiter: RateLimit.RateLimiter) => {
    let counter = 0
    return Effect.suspend(() => Effect.succeed(`${++counter}`)).pipe(RateLimit.withRateLimit(limiter, "key"))
  }
  const rejectedAfter = (call: Effect.Effect<string, RateLimit.RateLimitExceeded | RateLimit.RateLimitStoreError>) =>
    Effect.map(Effect.flip(call), (e) => RateLimit.isRateLimitExceeded(e) ? Duration.toMillis(e.retryAfter) : NaN)
  // the results and the retry-afters of `n` calls started at once
  const concurrently = (
    call: Effect.Effect<string, RateLimit.RateLimitExceeded | RateLimit.RateLimitStoreError>,
    n: number
  ) =>
    Effect.map(
      Effect.all(Array.from({ length: n }, () => Effect.either(call)), { concurrency: "unbounded" }),
      (results) => ({
        results: results.filter(Either.isRight).map((r) => r.right).sort(),
        retryAfters: results.filter(Either.isLeft).map((r) =>
          RateLimit.isRateLimitExceeded(r.left) ? Duration.toMillis(r.left.retryAfter) : NaN
        )
      })
    )

  it.effect("fixed_singleThreaded", () =>
    Effect.gen(function*() {
      const call = invocation(yield* window("fixed-window", 2, 100))
      expect(yield* call).toBe("1")
      expect(yield* call).toBe("2")
      expect(yield* rejectedAfter(call)).toBe(100)
      yield* TestClock.adjust("50 millis")
      expect(yield* rejectedAfter(call)).toBe(50)
      yield* TestClock.adjust("50 millis")
      expect(yield* call).toBe("3")
      expect(yield* call).toBe("4")
      expect(yield* rejectedAfter(call)).toBe(100)
    }).pipe(memory))

  it.effect("fixed_multiThreaded", () =>
    Effect.gen(function*() {
      const call = invocation(yield* window("fixed-window", 2, 100))
      expect(yield* concurrently(call, 4)).toEqual({ results: ["1", "2"], retryAfters: [100, 100] })
      yield* TestClock.adjust("50 millis")
      expect(yield* rejectedAfter(call)).toBe(50)
      yield* TestClock.adjust("50 millis")
      expect(yield* concurrently(call, 2)).toEqual({ results: ["3", "4"], retryAfters: [] })
    }).pipe(memory))

  it.effect("smooth_singleThreaded", () =>
    Effect.gen(function*() {
      const call = invocation(yield* window("token-bucket", 2, 100))
      expect(yield* call).toBe("1")
      // SmallRye: the second call at 0 is rejected, retry after 50 (its smooth window starts with one permit); Sturdy's
      // bucket starts full, so it is granted and the third waits the 50 ms SmallRye's second did
      expect(yield* call).toBe("2")
      expect(yield* rejectedAfter(call)).toBe(50)
      yield* TestClock.adjust("50 millis")
      expect(yield* call).toBe("3")
      yield* TestClock.adjust("50 millis")
      expect(yield* call).toBe("4")
      yield* TestClock.adjust("50 millis")
      expect(yield* call).toBe("5")
      expect(yield* rejectedAfter(call)).toBe(50)
    }).pipe(memory))

  it.effect("smooth_multiThreaded", () =>
    Effect.gen(function*() {
      const call = invocation(yield* window("token-bucket", 2, 100))
      // SmallRye: 1 of the 4 granted, 3 rejected with retry after 50 (one permit at the start); Sturdy's bucket starts
      // with 2 tokens: 2 granted, the 2 others told 50
      expect(yield* concurrently(call, 4)).toEqual({ results: ["1", "2"], retryAfters: [50, 50] })
      yield* TestClock.adjust("50 millis")
      expect(yield* call).toBe("3")
      yield* TestClock.adjust("50 millis")
      expect(yield* concurrently(call, 2)).toEqual({ results: ["4"], retryAfters: [50] })
    }).pipe(memory))
})
