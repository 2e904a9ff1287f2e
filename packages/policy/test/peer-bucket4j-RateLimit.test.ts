// Ported from bucket4j's core specifications (bucket4j/bucket4j, commit 731354a7e244bbbfc070dc39c46868b92ba0d204),
// bucket4j-core/src/test/java/io/github/bucket4j/api_specifications/: regular/TryConsumeSpecification.groovy,
// blocking/BlockingTryConsumeSpecification.groovy and blocking/BlockingConsumeSpecification.groovy; one `it` per
// Spock feature (a `where:` table as one `it` over its rows), named after it.
// Mapping: a greedy bandwidth `capacity(c).refillGreedy(c, period)` (a token every `period / c`) is Sturdy's token
// bucket `{ limit: c, window: period }`; bucket4j's nanosecond `TimeMeterMock` is the TestClock in milliseconds (a
// period of 100 ns is 100 ms here); `initialTokens(k)` is the Sturdy bucket drained to `k` tokens at t0 (Sturdy's
// starts full); `tryConsume(n)` is `consume(key, n)` in mode "fail"; the blocking `tryConsume(n, maxWait)` is mode
// "delay" with `maxWait` (bucket4j's limit holds when the wait equals it, as Sturdy's does), `consume(n)` mode "delay"
// without one; the parked time of `BlockingStrategyMock` is the TestClock time the call took (moved sleep by sleep);
// the listener's consumed/rejected counts are counted by the test; a thread interrupt is a fiber interruption.
// Deliberate differences (each test says which): a request for more tokens than the capacity is a `RangeError`
// defect in Sturdy, where bucket4j rejects it (tryConsume) or waits for it to be refilled past the capacity (blocking
// tryConsume within the limit); a caller interrupted while it waits gives its tokens back in Sturdy, where bucket4j's
// keeps them consumed.
// Not ported: the async (`AsyncBucketProxy`) and verbose variants (the same cases through other Java APIs) and the
// `BucketType` loop (Sturdy's Redis store is covered by RateLimitRedis.test.ts); the `uninterruptibly` features
// (Effect has no uninterruptible wait that ignores a pending interrupt: `Effect.uninterruptible` is the analogue and
// is not the limiter's concern); core_algorithms/FixedIntervalRefillSpecification.groovy and
// IntervallyAlignedRefillSpecification.groovy (intervally refill, all tokens at once at fixed intervals: Sturdy's
// token bucket refills greedily, and its "fixed-window" starts its window at the first call; both also read
// `getAvailableTokens`, which Sturdy does not expose).
import { describe, expect, it } from "@effect/vitest"
import { RateLimit } from "@sturdy/policy"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import { advanceToDone } from "./utils/advance.js"

const memory = Effect.provide(RateLimit.layerStoreMemory)
const KEY = "bucket4j"

/** A bucket of one greedy bandwidth; `initialTokens` below the capacity drains it at t0. */
const makeBucket = (capacity: number, period: Duration.DurationInput, initialTokens = capacity) =>
  Effect.gen(function*() {
    const store = yield* RateLimit.RateLimiterStore
    const make = (options: Partial<RateLimit.Options>) =>
      RateLimit.make({ limit: capacity, window: period, ...options }).pipe(
        Effect.provideService(RateLimit.RateLimiterStore, store)
      )
    const failing = yield* make({ onExceeded: "fail" })
    const waiting = yield* make({})
    if (initialTokens < capacity) yield* Effect.orDie(failing.consume(KEY, capacity - initialTokens))
    const counts = { consumed: 0, rejected: 0 }

    const count = (n: number) => <E>(exit: Exit.Exit<void, E>) =>
      Effect.sync(() => {
        if (Exit.isSuccess(exit)) counts.consumed += n
        else if (Cause.isFailType(exit.cause)) counts.rejected += n
      })
    /** The parked time of a blocking call and its exit. */
    const parked = <E>(call: Effect.Effect<void, E>) =>
      Effect.gen(function*() {
        const start = yield* Clock.currentTimeMillis
        const exit = yield* advanceToDone(call)
        return { exit, parked: (yield* Clock.currentTimeMillis) - start }
      })

    return {
      counts,
      tryConsume: (n: number) => Effect.map(Effect.tap(Effect.exit(failing.consume(KEY, n)), count(n)), Exit.isSuccess),
      /** Blocking `tryConsume(n, maxWait)`: whether it consumed, and how long it parked. */
      blockingTryConsume: (n: number, maxWait: Duration.DurationInput) =>
        Effect.gen(function*() {
          const limited = yield* make({ maxWait })
          const { exit, parked: time } = yield* parked(limited.consume(KEY, n))
          yield* count(n)(exit)
          return { exit, consumed: Exit.isSuccess(exit), parked: time }
        }),
      /** Blocking `consume(n)`: how long it parked. */
      consume: (n: number) =>
        Effect.flatMap(parked(waiting.consume(KEY, n)), ({ exit, parked }) => Effect.as(count(n)(exit), parked)),
      waiting
    }
  })

const isRangeError = <A, E>(exit: Exit.Exit<A, E>) =>
  Exit.isFailure(exit) && Cause.isDie(exit.cause) && Cause.squash(exit.cause) instanceof RangeError

describe("peer bucket4j TryConsumeSpecification", () => {
  it.effect("#n Should return #requiredResult when trying to consume #toConsume tokens from Bucket #configuration", () =>
    Effect.gen(function*() {
      const rows = [
        [1, false, 1, 0],
        [2, true, 1, 1]
      ] as const
      for (const [n, requiredResult, toConsume, initialTokens] of rows) {
        // Bandwidth.simple(10, Duration.ofMinutes(100)).withInitialTokens(k), a bucket of its own per row
        const bucket = yield* makeBucket(10, "100 minutes", initialTokens).pipe(memory)
        expect([n, yield* bucket.tryConsume(toConsume)]).toEqual([n, requiredResult])
      }
    }))

  it.effect("#type verbose=#verbose test listener for tryConsume", () =>
    Effect.gen(function*() {
      const bucket = yield* makeBucket(10, "1 second")
      expect(yield* bucket.tryConsume(9)).toBe(true)
      expect(bucket.counts).toEqual({ consumed: 9, rejected: 0 })
      yield* bucket.tryConsume(6)
      expect(bucket.counts).toEqual({ consumed: 9, rejected: 6 })
    }).pipe(memory))
})

describe("peer bucket4j BlockingTryConsumeSpecification", () => {
  it.effect("#n Should sleep #requiredSleep when trying to consuming #toConsume tokens from Bucket #configuration", () =>
    Effect.gen(function*() {
      // capacity(10).refillGreedy(10, Duration.ofNanos(100)).initialTokens(k), tryConsume(n, 1 hour)
      const rows = [
        [1, 10, 1, 0],
        [2, 0, 1, 1]
      ] as const
      for (const [n, requiredSleep, toConsume, initialTokens] of rows) {
        const bucket = yield* makeBucket(10, "100 millis", initialTokens).pipe(memory)
        const result = yield* bucket.blockingTryConsume(toConsume, "1 hour")
        expect([n, result.consumed, result.parked]).toEqual([n, true, requiredSleep])
      }
      // row 3: 1000 tokens from a capacity of 10. bucket4j sleeps 9,990 ns and consumes them (the bucket goes 990
      // tokens into debt); Sturdy: a RangeError defect, since no bucket of 10 can grant 1000 at once
      const bucket = yield* makeBucket(10, "100 millis", 1).pipe(memory)
      const result = yield* bucket.blockingTryConsume(1000, "1 hour")
      expect(isRangeError(result.exit)).toBe(true)
      expect(result.parked).toBe(0)
    }))

  it.effect(
    "#n Should sleep #requiredSleep and return #requiredResult when trying to synchronous consume #toConsume tokens with limit #sleepLimit",
    () =>
      Effect.gen(function*() {
        // capacity(10).refillGreedy(10, Duration.ofNanos(100)).initialTokens(k), tryConsume(n, sleepLimit)
        const rows = [
          ["1", 10, true, 1, 11, 0],
          ["2", 10, true, 1, 11, 0],
          ["3", 0, true, 1, 11, 1],
          ["5", 40, true, 5, 40, 1],
          ["6", 40, true, 5, 41, 1],
          ["6", 0, false, 5, 39, 1]
        ] as const
        for (const [n, requiredSleep, requiredResult, toConsume, sleepLimit, initialTokens] of rows) {
          const bucket = yield* makeBucket(10, "100 millis", initialTokens).pipe(memory)
          const result = yield* bucket.blockingTryConsume(toConsume, Duration.millis(sleepLimit))
          expect([n, result.consumed, result.parked]).toEqual([n, requiredResult, requiredSleep])
        }
        // row 4: 1000 tokens within 11: bucket4j answers false without sleeping; Sturdy dies with a RangeError
        const bucket = yield* makeBucket(10, "100 millis", 1).pipe(memory)
        const result = yield* bucket.blockingTryConsume(1000, Duration.millis(11))
        expect([isRangeError(result.exit), result.parked]).toEqual([true, 0])
      })
  )

  it.effect(
    "#type Should throw InterruptedException when thread interrupted during waiting for token refill #verbose #meter",
    () =>
      Effect.gen(function*() {
        // capacity(1).refillGreedy(1, Duration.ofMinutes(1)).initialTokens(0)
        const bucket = yield* makeBucket(1, "1 minute", 0)
        for (const maxWait of ["1000 hours", "1 hour"] as const) {
          const limited = yield* RateLimit.make({ limit: 1, window: "1 minute", maxWait })
          const fiber = yield* Effect.fork(limited.consume(KEY))
          yield* Effect.yieldNow()
          const exit = yield* Fiber.interrupt(fiber)
          expect(Exit.isInterrupted(exit)).toBe(true)
        }
        // Sturdy: the interrupted callers gave their token back; the one due at 1 minute is still there
        yield* TestClock.adjust("1 minute")
        expect(yield* bucket.tryConsume(1)).toBe(true)
      }).pipe(memory)
  )

  it.effect("#type test listener for blocking tryConsume #verbose", () =>
    Effect.gen(function*() {
      const bucket = yield* makeBucket(10, "1 second")
      const first = yield* bucket.blockingTryConsume(9, "1 second")
      expect([first.consumed, first.parked]).toEqual([true, 0])
      expect(bucket.counts).toEqual({ consumed: 9, rejected: 0 })

      // bucket4j rejects 1000 tokens (counted as rejected) without parking; Sturdy: a RangeError defect, nothing taken
      const tooMany = yield* bucket.blockingTryConsume(1000, "1 second")
      expect([isRangeError(tooMany.exit), tooMany.parked]).toEqual([true, 0])

      const second = yield* bucket.blockingTryConsume(2, "1 second")
      expect([second.consumed, second.parked]).toEqual([true, 100])
      expect(bucket.counts.consumed).toBe(11)

      // interrupted while it waits for its token (100 ms): bucket4j counts it consumed (12) and throws
      // InterruptedException; Sturdy's caller ends interrupted and gives the token back
      const limited = yield* RateLimit.make({ limit: 10, window: "1 second", maxWait: "1 second" })
      const fiber = yield* Effect.fork(limited.consume(KEY, 1))
      yield* Effect.yieldNow()
      expect(Exit.isInterrupted(yield* Fiber.interrupt(fiber))).toBe(true)
      yield* TestClock.adjust("100 millis")
      expect(yield* bucket.tryConsume(1)).toBe(true)
      expect(yield* bucket.tryConsume(1)).toBe(false)
    }).pipe(memory))
})

describe("peer bucket4j BlockingConsumeSpecification", () => {
  it.effect("#type test for blocking consume verbose=#verbose", () =>
    Effect.gen(function*() {
      const bucket = yield* makeBucket(10, "1 second")
      expect(yield* bucket.consume(9)).toBe(0)
      expect(yield* bucket.consume(2)).toBe(100)

      // interrupted while it waits: the fiber ends interrupted, having parked nothing more
      const fiber = yield* Effect.fork(bucket.waiting.consume(KEY, 1))
      yield* Effect.yieldNow()
      expect(Exit.isInterrupted(yield* Fiber.interrupt(fiber))).toBe(true)

      // consume(Long.MAX_VALUE): IllegalArgumentException in bucket4j, a RangeError defect in Sturdy, without parking
      const start = yield* Clock.currentTimeMillis
      expect(isRangeError(yield* Effect.exit(bucket.waiting.consume(KEY, Number.MAX_SAFE_INTEGER))))
        .toBe(true)
      expect((yield* Clock.currentTimeMillis) - start).toBe(0)
    }).pipe(memory))

  it.effect("#type test listener for blocking consume verbose=#verbose", () =>
    Effect.gen(function*() {
      const bucket = yield* makeBucket(10, "1 second")
      expect(yield* bucket.consume(9)).toBe(0)
      expect(bucket.counts).toEqual({ consumed: 9, rejected: 0 })
      expect(yield* bucket.consume(2)).toBe(100)
      expect(bucket.counts).toEqual({ consumed: 11, rejected: 0 })

      // interrupted while it waits (100 ms): bucket4j counts the token consumed (12) and one interrupt; Sturdy's
      // caller ends interrupted and gives its token back, so the next refill is there for the next caller
      const fiber = yield* Effect.fork(bucket.waiting.consume(KEY, 1))
      yield* Effect.yieldNow()
      expect(Exit.isInterrupted(yield* Fiber.interrupt(fiber))).toBe(true)
      yield* TestClock.adjust("100 millis")
      expect(yield* bucket.tryConsume(1)).toBe(true)
    }).pipe(memory))
})
