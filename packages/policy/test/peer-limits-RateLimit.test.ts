/**
 * Peer suite: alisaifee/limits (Python), its strategies and its storage contract, on Sturdy's memory store.
 *
 * Source: github.com/alisaifee/limits, commit f7d1eef524a55301956a21a07853423632605b80: `tests/test_strategy.py`
 * (classes `TestFixedWindow`, `TestSlidingWindow`, `TestMovingWindow`, each run on the "memory://" storage here; the
 * Redis runs are in `peer-limits-Redis.test.ts`), `tests/test_storage.py` (`TestConcreteStorages` on "memory://",
 * `TestStorageErrors`), `tests/storage/test_memory.py` and `tests/integration/test_concurrency.py` (`TestConcurrency`). One `it` per case, named after it; the peer's sleeps
 * (`time.sleep`, its `window(...)` context manager) are `TestClock.adjust`, from a TestClock that starts at 0.
 *
 * Mapping. A `RateLimitItemPerSecond(amount, multiples)` (PerMinute, PerHour) is `{ limit: amount, window: multiples
 * seconds }`; `limiter.hit(item, key, cost=n)` is `consume(key, n)` in mode "fail" (true: it succeeded, false: a
 * `RateLimitExceeded`). The limiter has no `test`, `get_window_stats` or `clear`: `get_window_stats` is read from the
 * store with a zero-token request (`RateLimiterStore.fixedWindow` answers the count and the milliseconds until the
 * window ends, `tokenBucket` the tokens left; a request for no token counts nothing), `remaining` is `limit - count`
 * (or the tokens left) and `reset_time - now` the window's milliseconds left; `test(item, key, cost)` is
 * `remaining >= cost`, as the peer computes it. The storage cases call the store's two operations: `incr(key,
 * expiry, amount)` is `fixedWindow({ key, tokens: amount, limit: undefined })` (counts past any limit, as the peer's
 * `incr`) and `acquire_entry(key, limit, expiry, amount)` is `tokenBucket({ tokens: amount })` (a negative answer is
 * a refusal).
 *
 * Strategies. Sturdy has two algorithms. `FixedWindowRateLimiter` is `algorithm: "fixed-window"`. Sturdy has no
 * equivalent of `MovingWindowRateLimiter` (a log of every hit: at most `amount` in any span of the window) nor of
 * `SlidingWindowCounterRateLimiter` (the current window's count plus the previous one's, weighted by the part of it
 * still in the span). Their cases are ported onto the nearest Sturdy algorithm and assert Sturdy's answers: the moving
 * window onto the token bucket (the default; a limit that rolls with time: one token back every `window / limit`), the
 * sliding window counter onto the fixed window (what it weights; on a window filled at once it answers as the peer).
 *
 * Deliberate differences (asserted as Sturdy documents them, the peer's answer in a comment):
 * - a `cost` above the limit (`hit(item, "k1", cost=11)` on 10) is a `RangeError` defect: it could never be granted;
 *   the peer answers `False`;
 * - Sturdy's fixed window (`@effect/experimental`'s) starts at its first call and lasts `window / limit` per token
 *   counted, so a window with fewer than `limit` calls ends early: one call of 2 per 24 hours ends it after 12 hours
 *   (the peer's ends 24 hours after its first hit, whatever its count);
 * - the token bucket gives a token back every `window / limit` rather than each hit back a whole window after it: the
 *   moving-window cases that fill the span over time see tokens come back sooner (and none for a bucket still full);
 * - a store error is always wrapped (`RateLimitStoreError`, the store's error in `cause`): the peer's
 *   `wrap_exceptions=False` has no equivalent.
 *
 * Not ported: `clear` (the limiter has no operation to forget a key; a case that clears stops before it), the
 * sliding window counter's weighting (`test_sliding_window_counter_previous_window`), the storage-URI, `check`,
 * `reset` and `clear` storage cases (a store is a layer, not a URI; the store contract has only the two operations),
 * `test_expiry_acquire_sliding_window_entry`, the pluggable-storage cases (a store must implement both operations: the
 * type says so), the `TestStorageErrors` cases of operations Sturdy's store does not have (get, get_expiry, reset,
 * check, clear, the moving and sliding windows' reads), and `test_pickle` (a memory store is not serialized).
 */
import * as ExperimentalRateLimiter from "@effect/experimental/RateLimiter"
import { describe, expect, it } from "@effect/vitest"
import { RateLimit } from "@sturdy/policy"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import { advanceToDone } from "./utils/advance.js"
import { bucketStats, type Item, KEY, peerOperations, refillRateOf } from "./utils/limits.js"

const perSecond = (amount: number, multiples = 1): Item => ({ amount, window: Duration.seconds(multiples) })
const perMinute = (amount: number, multiples = 1): Item => ({ amount, window: Duration.minutes(multiples) })
const perHour = (amount: number, multiples = 1): Item => ({ amount, window: Duration.hours(multiples) })

/** A limiter of `algorithm` for `item` in mode "fail" on a memory store of its own, with the peer's operations. */
const limiterFor = (algorithm: "fixed-window" | "token-bucket", item: Item) =>
  Effect.gen(function*() {
    const store = RateLimit.makeStoreMemory()
    const limiter = yield* RateLimit.make({ limit: item.amount, window: item.window, algorithm, onExceeded: "fail" })
      .pipe(Effect.provideService(RateLimit.RateLimiterStore, store))
    const refillRate = refillRateOf(item)
    const stats = (key = KEY) =>
      algorithm === "fixed-window"
        ? Effect.map(
          Effect.orDie(store.fixedWindow({ key, tokens: 0, refillRate, limit: item.amount })),
          ([count, ttl]) => ({ remaining: item.amount - count, resetIn: ttl })
        )
        : bucketStats(store, item)(key)
    return { store, ...peerOperations(limiter, stats) }
  })

const retryAfterMillis = (error: RateLimit.RateLimitExceeded | RateLimit.RateLimitStoreError): number =>
  RateLimit.isRateLimitExceeded(error) ? Duration.toMillis(error.retryAfter) : Number.NaN

describe("peer limits test_strategy.py TestFixedWindow (memory)", () => {
  it.effect("test_fixed_window", () =>
    Effect.gen(function*() {
      const limiter = yield* limiterFor("fixed-window", perSecond(10, 2))
      // with window(1): 10 hits, then the rest of the second
      for (let i = 0; i < 10; i++) expect(yield* limiter.hit()).toBe(true)
      yield* TestClock.adjust("1 second")
      expect(yield* limiter.hit()).toBe(false)
      const stats = yield* limiter.stats()
      expect(stats.remaining).toBe(0)
      // reset_time == start + 2
      expect(stats.resetIn).toBe(1000)
      expect(retryAfterMillis(yield* limiter.refusal())).toBe(1000)
    }))

  it.effect("test_fixed_window_empty_stats", () =>
    Effect.gen(function*() {
      const limiter = yield* limiterFor("fixed-window", perSecond(10, 2))
      const stats = yield* limiter.stats()
      expect(stats.remaining).toBe(10)
      // reset_time == now
      expect(stats.resetIn).toBe(0)
    }))

  it.effect("test_fixed_window_multiple_cost", () =>
    Effect.gen(function*() {
      const limiter = yield* limiterFor("fixed-window", perMinute(10, 2))
      // the peer: hit(cost=11) is False; Sturdy: a cost above the limit could never be granted, a RangeError
      expect(yield* limiter.hitAboveLimit("k1", 11)).toBeInstanceOf(RangeError)
      expect(yield* limiter.hit("k2", 5)).toBe(true)
      expect((yield* limiter.stats("k2")).remaining).toBe(5)
      expect(yield* limiter.test("k2", 6)).toBe(false)
      expect(yield* limiter.hit("k2", 6)).toBe(false)
    }))

  it.effect("test_test_fixed_window", () =>
    Effect.gen(function*() {
      const limiter = yield* limiterFor("fixed-window", perHour(2, 1))
      expect(yield* limiter.hit()).toBe(true)
      expect(yield* limiter.test()).toBe(true)
      expect(yield* limiter.hit()).toBe(true)
      expect(yield* limiter.test()).toBe(false)
      expect(yield* limiter.hit()).toBe(false)
    }))
})

// SlidingWindowCounterRateLimiter has no Sturdy equivalent: its cases run on the fixed window (see the header).
describe("peer limits test_strategy.py TestSlidingWindow (memory, on the fixed window)", () => {
  it.effect("test_sliding_window_counter", () =>
    Effect.gen(function*() {
      const limiter = yield* limiterFor("fixed-window", perSecond(10, 2))
      for (let i = 0; i < 10; i++) expect(yield* limiter.hit()).toBe(true)
      yield* TestClock.adjust("1 second")
      expect(yield* limiter.hit()).toBe(false)
      const stats = yield* limiter.stats()
      expect(stats.remaining).toBe(0)
      // the peer's memory storage (not timestamp-based): reset_time == start + 2
      expect(stats.resetIn).toBe(1000)
      // (limiter.clear(limit) and the check after it: no clear, see the header)
    }))

  it.effect("test_sliding_window_counter_total_reset", () =>
    Effect.gen(function*() {
      const limiter = yield* limiterFor("fixed-window", perSecond(10, 1))
      expect((yield* limiter.stats()).remaining).toBe(10)
      expect(yield* limiter.hit(KEY, 10)).toBe(true)
      expect(yield* limiter.hit()).toBe(false)
      expect((yield* limiter.stats()).remaining).toBe(0)
      yield* TestClock.adjust("2 seconds")
      const stats = yield* limiter.stats()
      expect(stats.remaining).toBe(10)
      // reset_time == now
      expect(stats.resetIn).toBe(0)
    }))

  it.effect("test_sliding_window_counter_current_window", () =>
    Effect.gen(function*() {
      const limiter = yield* limiterFor("fixed-window", perHour(2, 24))
      expect(yield* limiter.hit()).toBe(true)
      // the peer: reset_time == now + 24 hours; Sturdy's fixed window lasts window / limit per call counted, so one
      // call of 2 ends it 12 hours from now (see the header)
      expect((yield* limiter.stats()).resetIn).toBe(Duration.toMillis("12 hours"))
      expect((yield* limiter.stats()).remaining).toBe(1)
      expect(yield* limiter.hit()).toBe(true)
      expect(yield* limiter.hit()).toBe(false)
      // the second call extends it to the full window
      expect(retryAfterMillis(yield* limiter.refusal())).toBe(Duration.toMillis("24 hours"))
    }))

  it.effect("test_sliding_window_counter_empty_stats", () =>
    Effect.gen(function*() {
      const limiter = yield* limiterFor("fixed-window", perSecond(10, 2))
      const stats = yield* limiter.stats()
      expect(stats.remaining).toBe(10)
      expect(stats.resetIn).toBe(0)
    }))

  it.effect("test_sliding_window_counter_multiple_cost", () =>
    Effect.gen(function*() {
      const limiter = yield* limiterFor("fixed-window", perMinute(10, 2))
      // the peer: False; Sturdy: a RangeError (see the header)
      expect(yield* limiter.hitAboveLimit("k1", 11)).toBeInstanceOf(RangeError)
      expect(yield* limiter.hit("k2", 5)).toBe(true)
      expect((yield* limiter.stats("k2")).remaining).toBe(5)
      expect(yield* limiter.test("k2", 6)).toBe(false)
      expect(yield* limiter.hit("k2", 6)).toBe(false)
    }))

  it.effect("test_test_sliding_window_counter", () =>
    Effect.gen(function*() {
      const limiter = yield* limiterFor("fixed-window", perHour(2, 1))
      expect(yield* limiter.hit()).toBe(true)
      expect(yield* limiter.test()).toBe(true)
      expect(yield* limiter.hit()).toBe(true)
      expect(yield* limiter.test()).toBe(false)
      expect(yield* limiter.hit()).toBe(false)
    }))
})

// MovingWindowRateLimiter has no Sturdy equivalent: its cases run on the token bucket (see the header).
describe("peer limits test_strategy.py TestMovingWindow (memory, on the token bucket)", () => {
  it.effect("test_moving_window_empty_stats", () =>
    Effect.gen(function*() {
      const limiter = yield* limiterFor("token-bucket", perSecond(10, 2))
      expect((yield* limiter.stats()).remaining).toBe(10)
      // the peer: reset_time == now + 2 for an empty window; a full bucket has nothing to refill: a cost of the
      // whole limit goes through at once
      expect(yield* limiter.hit(KEY, 10)).toBe(true)
    }))

  it.effect("test_moving_window_stats", () =>
    Effect.gen(function*() {
      const limiter = yield* limiterFor("token-bucket", perMinute(2))
      expect(yield* limiter.hit("key")).toBe(true)
      yield* TestClock.adjust("1 second")
      expect(yield* limiter.hit("key")).toBe(true)
      yield* TestClock.adjust("1 second")
      expect(yield* limiter.hit("key")).toBe(false)
      expect((yield* limiter.stats("key")).remaining).toBe(0)
      // the peer: reset_time - now == 58 s (the first hit leaves the minute); the bucket gives a token back every
      // 30 s from its first call: 28 s from now
      expect(retryAfterMillis(yield* limiter.refusal("key"))).toBe(28_000)
    }))

  it.effect("test_moving_window", () =>
    Effect.gen(function*() {
      const limiter = yield* limiterFor("token-bucket", perSecond(10, 2))
      // 5 hits in the first 500ms
      for (let i = 0; i < 5; i++) expect(yield* limiter.hit()).toBe(true)
      // window(2, delay=1.3) entered at 0.5 s: the hits at 1.8 s
      yield* TestClock.adjust("1800 millis")
      for (let i = 0; i < 5; i++) expect(yield* limiter.hit()).toBe(true)
      // the peer: the 11th fails (10 in the last 2 s); the bucket got a token back every 200 ms (9 by now, up to its
      // 10), so 5 are left after these 5 and the 11th goes through
      expect((yield* limiter.stats()).remaining).toBe(5)
      expect(yield* limiter.hit()).toBe(true)
    }))

  it.effect("test_moving_window_multiple_cost", () =>
    Effect.gen(function*() {
      const limiter = yield* limiterFor("token-bucket", perSecond(10, 2))
      // the peer: False; Sturdy: a RangeError (see the header)
      expect(yield* limiter.hitAboveLimit("k1", 11)).toBeInstanceOf(RangeError)
      // 5 hits in the first 100ms
      expect(yield* limiter.hit("k2", 5)).toBe(true)
      // window(2, delay=1.8) entered at 0.1 s: at 1.9 s the bucket is full again (5 + 9 refilled, up to 10)
      yield* TestClock.adjust("1900 millis")
      for (let i = 0; i < 4; i++) expect(yield* limiter.hit("k2")).toBe(true)
      // the peer: test and hit of cost 2 are False (10 in the span); the bucket has 6 left
      expect(yield* limiter.test("k2", 2)).toBe(true)
      expect(yield* limiter.hit("k2", 2)).toBe(true)
      expect(yield* limiter.hit("k2")).toBe(true)
      // the window ends at 2.1 s: one token back in those 200 ms, 4 left
      yield* TestClock.adjust("200 millis")
      // the peer: 5 more succeed (only 5 in the last 2 s); the bucket grants 4 and refuses the 5th
      for (let i = 0; i < 4; i++) expect(yield* limiter.hit("k2")).toBe(true)
      expect(yield* limiter.hit("k2")).toBe(false)
      expect((yield* limiter.stats("k2")).remaining).toBe(0)
      expect(yield* limiter.hit("k2", 2)).toBe(false)
    }))

  it.effect("test_moving_window_varying_cost", () =>
    Effect.gen(function*() {
      const limiter = yield* limiterFor("token-bucket", perMinute(5))
      expect(yield* limiter.hit(KEY, 5)).toBe(true)
      expect(yield* limiter.hit(KEY, 2)).toBe(false)
      // (limiter.clear(five_per_min) and the hit after it: no clear, see the header)
    }))

  it.effect("test_moving_window_huge_cost", () =>
    Effect.gen(function*() {
      const limiter = yield* limiterFor("token-bucket", perSecond(1_000_000, 2))
      expect(yield* limiter.hit()).toBe(true)
      // with window(2, 1): the hit at 1 s, then the rest of the 2 s
      yield* TestClock.adjust("1 second")
      expect(yield* limiter.hit(KEY, 1_000_000 - 1)).toBe(true)
      expect((yield* limiter.stats()).remaining).toBe(1)
      yield* TestClock.adjust("1 second")
      // the peer: remaining == 1 at 2 s (the 999,999 are still in the span); the bucket got half of them back
      expect((yield* limiter.stats()).remaining).toBe(500_001)
      // (limiter.clear and the check after it: no clear, see the header)
    }))

  it.effect("test_test_moving_window", () =>
    Effect.gen(function*() {
      const limiter = yield* limiterFor("token-bucket", perHour(2, 1))
      expect(yield* limiter.hit()).toBe(true)
      expect(yield* limiter.test()).toBe(true)
      expect(yield* limiter.hit()).toBe(true)
      expect(yield* limiter.test()).toBe(false)
      expect(yield* limiter.hit()).toBe(false)
    }))
})

describe("peer limits test_storage.py TestConcreteStorages (memory)", () => {
  it.effect("test_expiry_incr", () =>
    Effect.gen(function*() {
      const store = RateLimit.makeStoreMemory()
      const item = perSecond(1)
      const refillRate = refillRateOf(item)
      // storage.incr(key, expiry)
      expect(yield* store.fixedWindow({ key: KEY, tokens: 1, refillRate, limit: undefined })).toEqual([1, 1000])
      yield* TestClock.adjust("1100 millis")
      // storage.get(key) == 0
      const [count] = yield* store.fixedWindow({ key: KEY, tokens: 0, refillRate, limit: undefined })
      expect(count).toBe(0)
    }))

  it.effect("test_expiry_acquire_entry", () =>
    Effect.gen(function*() {
      const limiter = yield* limiterFor("token-bucket", perSecond(1))
      // storage.acquire_entry(key, 1, 1)
      expect(yield* limiter.hit()).toBe(true)
      expect((yield* limiter.stats()).remaining).toBe(0)
      yield* TestClock.adjust("1100 millis")
      // storage.get(key) == 0: nothing is counted any more, the bucket is full
      expect((yield* limiter.stats()).remaining).toBe(1)
    }))

  it.effect("test_incr_custom_amount", () =>
    Effect.gen(function*() {
      const store = RateLimit.makeStoreMemory()
      const refillRate = refillRateOf(perMinute(1))
      const [one] = yield* store.fixedWindow({ key: KEY, tokens: 1, refillRate, limit: undefined })
      expect(one).toBe(1)
      const [eleven] = yield* store.fixedWindow({ key: KEY, tokens: 10, refillRate, limit: undefined })
      expect(eleven).toBe(11)
    }))

  it.effect("test_acquire_entry_custom_amount", () =>
    Effect.gen(function*() {
      const item = perMinute(10)
      const limiter = yield* limiterFor("token-bucket", item)
      // the peer: acquire_entry(amount=11) is False; the store refuses it too (a negative answer) and keeps its
      // tokens; the limiter takes it as a RangeError (see the header)
      const refused = yield* limiter.store.tokenBucket({
        key: KEY,
        tokens: 11,
        limit: item.amount,
        refillRate: refillRateOf(item),
        allowOverflow: false
      })
      expect(refused).toBeLessThan(0)
      expect(yield* limiter.hitAboveLimit(KEY, 11)).toBeInstanceOf(RangeError)
      expect(yield* limiter.hit(KEY, 1)).toBe(true)
      expect(yield* limiter.hit(KEY, 10)).toBe(false)
    }))
})

// A storage whose every operation fails with its own error (`MyStorage.MyError`), wrap_exceptions=True: the caller
// sees the library's storage error with the storage's own error inside (`exc.storage_error`).
class MyError extends Error {}
const failingStore = ExperimentalRateLimiter.RateLimiterStore.of({
  fixedWindow: () =>
    Effect.fail(new ExperimentalRateLimiter.RateLimitStoreError({ message: "fixedWindow", cause: new MyError() })),
  tokenBucket: () =>
    Effect.fail(new ExperimentalRateLimiter.RateLimitStoreError({ message: "tokenBucket", cause: new MyError() }))
})

const storageErrorOf = (algorithm: "fixed-window" | "token-bucket", onExceeded: "fail" | "delay") =>
  RateLimit.make({ limit: 1, window: "1 second", algorithm, onExceeded }).pipe(
    Effect.flatMap((limiter) => Effect.flip(limiter.consume(KEY))),
    Effect.provideService(RateLimit.RateLimiterStore, failingStore)
  )

describe("peer limits test_storage.py TestStorageErrors (wrap_exceptions=True)", () => {
  it.effect("test_incr_exception", () =>
    Effect.gen(function*() {
      for (const onExceeded of ["fail", "delay"] as const) {
        const error = yield* storageErrorOf("fixed-window", onExceeded)
        expect(error._tag).toBe("RateLimitStoreError")
        expect(error._tag === "RateLimitStoreError" && error.cause).toBeInstanceOf(MyError)
        expect(error.message).not.toContain("MyError")
      }
    }))

  it.effect("test_acquire_entry_exception", () =>
    Effect.gen(function*() {
      for (const onExceeded of ["fail", "delay"] as const) {
        const error = yield* storageErrorOf("token-bucket", onExceeded)
        expect(error._tag).toBe("RateLimitStoreError")
        expect(error._tag === "RateLimitStoreError" && error.cause).toBeInstanceOf(MyError)
      }
    }))
})

// limits' 100 threads, each after a random sleep under a millisecond, are 100 fibers; the sleeps are on the TestClock
// (seeded), moved until every fiber is done.
const concurrentHits = (algorithm: "fixed-window" | "token-bucket") =>
  Effect.gen(function*() {
    const limiter = yield* limiterFor(algorithm, perMinute(5))
    // [limiter.hit(limit, uuid4().hex) for _ in range(100)]: other keys, each hit once
    for (let i = 0; i < 100; i++) expect(yield* limiter.hit(`other-${i}`)).toBe(true)
    let seed = 42
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31
    const hits = yield* advanceToDone(Effect.all(
      Array.from(
        { length: 100 },
        () => Effect.zipRight(Effect.sleep(Duration.micros(BigInt(Math.floor(random() * 1000)))), limiter.hit("key"))
      ),
      { concurrency: "unbounded" }
    ))
    return (yield* hits).filter((hit) => hit).length
  })

describe("peer limits integration/test_concurrency.py TestConcurrency (memory)", () => {
  it.effect("test_fixed_window", () => Effect.map(concurrentHits("fixed-window"), (hits) => expect(hits).toBe(5)))

  // on the fixed window (see the header)
  it.effect("test_sliding_window_counter", () =>
    Effect.map(concurrentHits("fixed-window"), (hits) => expect(hits).toBe(5)))

  // on the token bucket: 5 a minute refill a token every 12 s, none within the millisecond these take
  it.effect("test_moving_window", () => Effect.map(concurrentHits("token-bucket"), (hits) => expect(hits).toBe(5)))
})
