// Ported from boinkor-net/governor at 9f3a79dd47dd32acd589c562b8d4fefe99b93372, governor/tests/: direct.rs, keyed.rs,
// keyed_hashmap.rs, custom_hashers.rs, future.rs and proptests.rs; one `it` per Rust test, named after its file and
// function.
// Mapping: `Quota::per_second(n)` (GCRA: a burst of n cells, one more every 1/n s) is Sturdy's token bucket
// `{ limit: n, window: "1 second" }` (a bucket of n tokens, one refilled every 1/n s); the `FakeRelativeClock` is
// the TestClock. A direct limiter is one key of a limiter, a keyed one its keys. `check()` / `check_key(k)` is
// `consume(key)` in mode "fail", `check_n(n)` is `consume(key, n)`; a negative answer is `RateLimitExceeded`, and its
// `NotUntil::wait_time_from(now)` is `retryAfter`. `until_ready()` / `until_n_ready(n)` (and their keyed forms) are
// mode "delay": the time a caller waits is TestClock time. Threads calling at once are fibers run concurrently.
// Deliberate differences: a `check_n` of more cells than the burst is a `RangeError` defect in Sturdy (documented: it
// could never be granted), where governor answers `InsufficientCapacity(burst)`; a wait is in whole milliseconds
// (rounded up), where governor's is in nanoseconds, so the property test below uses quotas whose refill interval is a
// whole number of milliseconds.
// Not ported: keyed_hashmap.rs's `hashmap_length` and `hashmap_shrink_to_fit` (`len`, `shrink_to_fit`: Sturdy's store
// exposes no key count, and drops keys on its own); keyed_dashmap.rs (the same cases as keyed_hashmap.rs over another
// map); custom_hashers.rs's custom-hasher and dashmap instances (the same body as the identity-hasher ones, with
// another hasher; Sturdy keys are strings in a Map); direct.rs's `default_direct` (the same as `accepts_first_cell`
// on the real clock); `stresstest_large_quotas` and `cover_count_derives` (a real-time thread spin of two million checks
// and a Debug format); middleware.rs, sinks.rs, streams.rs and memory_leaks.rs (governor's middleware, futures
// Sink/Stream adapters and allocation checks: no counterpart).
import { describe, expect, it } from "@effect/vitest"
import { RateLimit } from "@sturdy/policy"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"

const memory = Effect.provide(RateLimit.layerStoreMemory)
const ms = (n: number) => TestClock.adjust(Duration.millis(n))
const KEY = "direct"
const KEYS = ["1", "2"]

/** `RateLimiter::direct_with_clock(Quota::per_second(n), clock)` (or a keyed one): the `check` face, mode "fail". */
const perSecond = (n: number) => RateLimit.make({ limit: n, window: "1 second", onExceeded: "fail" })
/** The `until_ready` face, mode "delay". */
const perSecondWaiting = (n: number) => RateLimit.make({ limit: n, window: "1 second" })

/** `check_n(n)` is `Ok`: the cells were taken. */
const check = (lim: RateLimit.RateLimiter, key = KEY, n = 1) =>
  Effect.map(Effect.exit(lim.consume(key, n)), Exit.isSuccess)

/** `check_n(n)` on more than the burst: governor's `InsufficientCapacity`, a `RangeError` defect here. */
const insufficientCapacity = (lim: RateLimit.RateLimiter, n: number, key = KEY) =>
  Effect.map(Effect.exit(lim.consume(key, n)), (exit) =>
    Exit.isFailure(exit) && Cause.isDie(exit.cause) &&
    Cause.squash(exit.cause) instanceof RangeError)

/** `NotUntil::wait_time_from(now)` of a negative `check`. */
const notUntil = (lim: RateLimit.RateLimiter, key = KEY) =>
  Effect.flatMap(
    Effect.flip(lim.consume(key)),
    (e) => e._tag === "RateLimitExceeded" ? Effect.succeed(e.retryAfter) : Effect.die(e)
  )

/** How long a waiting call took on the TestClock (in ms, from when it was started). */
const timed = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const startAt = yield* Clock.currentTimeMillis
    yield* effect
    return (yield* Clock.currentTimeMillis) - startAt
  })

/** Runs `effect` to its end with the clock moved 1 ms at a time, and says how long it took. */
const waited = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(timed(effect))
    yield* Effect.yieldNow()
    for (let i = 0; i < 10_000; i++) {
      const done = yield* Fiber.poll(fiber)
      if (done._tag === "Some") break
      yield* ms(1)
      yield* Effect.yieldNow()
    }
    return yield* Fiber.join(fiber)
  })

/** The 2-per-second sequence of `rejects_too_many` on one key. */
const rejectsTooMany = (lb: RateLimit.RateLimiter, key: string, n = 1) =>
  Effect.gen(function*() {
    // use up our burst capacity (2 in the first second):
    expect(yield* check(lb, key, n)).toBe(true)
    yield* ms(1)
    expect(yield* check(lb, key, n)).toBe(true)
    yield* ms(1)
    expect(yield* check(lb, key, n)).toBe(false)
    // should be ok again in 1s:
    yield* ms(1000)
    expect(yield* check(lb, key, n)).toBe(true)
    yield* ms(1)
    expect(yield* check(lb, key, n)).toBe(true)
    yield* ms(1)
    expect(yield* check(lb, key, n)).toBe(false)
  })

describe("peer governor tests/direct.rs", () => {
  it.effect("accepts_first_cell", () =>
    Effect.gen(function*() {
      const lb = yield* perSecond(5)
      expect(yield* check(lb)).toBe(true)
    }).pipe(memory))

  it.effect("rejects_too_many", () =>
    Effect.gen(function*() {
      yield* rejectsTooMany(yield* perSecond(2), KEY)
    }).pipe(memory))

  it.effect("does_not_allow_one_extra_cell_after_longer_interval", () =>
    Effect.gen(function*() {
      const lb = yield* perSecond(5)
      for (let i = 1; i <= 5; i++) expect(yield* check(lb)).toBe(true)
      expect(yield* check(lb)).toBe(false)
      // Advance the clock substantially longer than necessary (or at least `(max_burst + 1) * replenish_1_per`).
      yield* TestClock.adjust("2 seconds")
      for (let i = 1; i <= 5; i++) expect(yield* check(lb)).toBe(true)
      expect(yield* check(lb)).toBe(false)
    }).pipe(memory))

  it.effect("all_1_identical_to_1", () =>
    Effect.gen(function*() {
      // check_n(1) is check()
      yield* rejectsTooMany(yield* perSecond(2), KEY, 1)
    }).pipe(memory))

  it.effect("never_allows_more_than_capacity_all", () =>
    Effect.gen(function*() {
      const lb = yield* perSecond(4)
      // Use up the burst capacity:
      expect(yield* check(lb, KEY, 2)).toBe(true)
      expect(yield* check(lb, KEY, 2)).toBe(true)
      yield* ms(1)
      expect(yield* check(lb, KEY, 2)).toBe(false)
      // should be ok again in 1s:
      yield* ms(1000)
      expect(yield* check(lb, KEY, 2)).toBe(true)
      yield* ms(1)
      expect(yield* check(lb, KEY, 2)).toBe(true)
      yield* ms(1)
      expect(yield* check(lb, KEY, 2)).toBe(false)
    }).pipe(memory))

  it.effect("rejects_too_many_all", () =>
    Effect.gen(function*() {
      const lb = yield* perSecond(5)
      // Should not allow the first 15 cells on a capacity 5 bucket (a RangeError here, as it never could):
      expect(yield* insufficientCapacity(lb, 15)).toBe(true)
      // After 3 and 20 seconds, it should not allow 15 on that bucket either:
      yield* TestClock.adjust("3 seconds")
      expect(yield* insufficientCapacity(lb, 15)).toBe(true)
    }).pipe(memory))

  it.effect("all_capacity_check_rejects_excess", () =>
    Effect.gen(function*() {
      const lb = yield* perSecond(5)
      // InsufficientCapacity(5): the RangeError names the limit
      for (const n of [15, 7, 6]) {
        const exit = yield* Effect.exit(lb.consume(KEY, n))
        expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
        if (Exit.isFailure(exit)) {
          expect(String(Cause.squash(exit.cause))).toContain(`tokens (${n}) must be an integer from 1 to the limit (5)`)
        }
      }
      // a refused request took nothing
      expect(yield* check(lb, KEY, 5)).toBe(true)
    }).pipe(memory))

  it.effect("correct_wait_time", () =>
    Effect.gen(function*() {
      // Bucket adding a new element per 200ms:
      const lb = yield* perSecond(5)
      let conforming = 0
      for (let i = 0; i < 20; i++) {
        yield* ms(1)
        if (yield* check(lb)) {
          conforming++
        } else {
          yield* TestClock.adjust(yield* notUntil(lb))
          expect(yield* check(lb)).toBe(true)
          conforming++
        }
      }
      expect(conforming).toBe(20)
    }).pipe(memory))

  it.effect("actual_threadsafety", () =>
    Effect.gen(function*() {
      const lim = yield* perSecond(20)
      const all = yield* Effect.all(Array.from({ length: 20 }, () => check(lim)), { concurrency: "unbounded" })
      expect(all).toEqual(Array.from({ length: 20 }, () => true))
      yield* ms(2)
      expect(yield* check(lim)).toBe(false)
      yield* ms(998)
      expect(yield* check(lim)).toBe(true)
    }).pipe(memory))
})

describe("peer governor tests/keyed.rs", () => {
  it.effect("default_keyed", () =>
    Effect.gen(function*() {
      const limiter = yield* perSecond(20)
      expect(yield* check(limiter, "1")).toBe(true)
    }).pipe(memory))
})

describe("peer governor tests/keyed_hashmap.rs", () => {
  it.effect("accepts_first_cell", () =>
    Effect.gen(function*() {
      const lb = yield* perSecond(5)
      for (const key of KEYS) expect([key, yield* check(lb, key)]).toEqual([key, true])
    }).pipe(memory))

  it.effect("rejects_too_many", () =>
    Effect.gen(function*() {
      // each key runs the whole sequence after the other's: its own bucket, unaffected by the other's
      const lb = yield* perSecond(2)
      for (const key of KEYS) yield* rejectsTooMany(lb, key)
    }).pipe(memory))

  it.effect("expiration", () =>
    Effect.gen(function*() {
      // governor's `retain_recent` drops the keys that are indistinguishable from unoccupied ones, which Sturdy's
      // memory store does by itself. What a caller sees is which keys still limit: a key that still limits refuses
      // a cell, one indistinguishable from unoccupied takes it. The times are governor's; its retained lists keep a
      // key one replenish interval (1 s) past the point where its bucket is full again, so they are longer than these.
      const keys = ["bar", "baz", "foo"]
      const makeBucket = Effect.gen(function*() {
        const lim = yield* perSecond(1)
        const prefix = `${yield* Clock.currentTimeMillis}:` // a fresh limiter's keys, as governor's new limiter
        const at = (key: string) => prefix + key
        expect(yield* check(lim, at("foo"))).toBe(true)
        yield* ms(200)
        expect(yield* check(lim, at("bar"))).toBe(true)
        yield* ms(600)
        expect(yield* check(lim, at("baz"))).toBe(true)
        return { lim, at }
      })
      // the keys that still limit (a refused check takes nothing, so asking does not change the answer)
      const limiting = (bucket: Effect.Effect.Success<typeof makeBucket>) =>
        Effect.filter(keys, (key) => Effect.map(check(bucket.lim, bucket.at(key)), (ok) => !ok))

      // clean up all keys that are indistinguishable from unoccupied keys: at 800 ms every key still limits (governor
      // retains all three)
      expect(yield* limiting(yield* makeBucket)).toEqual(keys)
      // 1200 ms later (2000 ms: foo was full again at 1000 ms, bar at 1200, baz at 1800) none does; governor still
      // retains ["bar", "baz"], then ["baz"] 200 ms later, then nothing 600 ms after that
      for (const later of [1200, 1200 + 200, 1200 + 200 + 600]) {
        const bucket = yield* makeBucket
        yield* ms(later)
        expect([later, yield* limiting(bucket)]).toEqual([later, []])
      }
    }).pipe(memory))

  it.effect("actual_threadsafety", () =>
    Effect.gen(function*() {
      const lim = yield* perSecond(20)
      for (const key of KEYS) {
        const all = yield* Effect.all(Array.from({ length: 20 }, () => check(lim, key)), { concurrency: "unbounded" })
        expect(all.every((ok) => ok)).toBe(true)
        yield* ms(2)
        expect(yield* check(lim, key)).toBe(false)
        yield* ms(998)
        expect(yield* check(lim, key)).toBe(true)
      }
    }).pipe(memory))
})

describe("peer governor tests/custom_hashers.rs", () => {
  const twoKeys = (lb: RateLimit.RateLimiter) =>
    Effect.gen(function*() {
      expect(yield* check(lb, "1", 20)).toBe(true)
      expect(yield* check(lb, "1")).toBe(false)
      expect(yield* check(lb, "2", 20)).toBe(true)
      expect(yield* check(lb, "2")).toBe(false)
    })

  it.effect("test_hashmap_with_identity_hasher", () =>
    Effect.gen(function*() {
      // BadHasher hashes every key to 4: two keys still have their own buckets
      const lb = yield* perSecond(20)
      yield* twoKeys(lb)
      // Test reset after 1 second
      yield* TestClock.adjust("1 second")
      expect(yield* check(lb, "1")).toBe(true)
      expect(yield* check(lb, "2")).toBe(true)
      // Verify remaining capacity tracking
      expect(yield* check(lb, "1", 19)).toBe(true)
      expect(yield* check(lb, "2", 19)).toBe(true)
    }).pipe(memory))

  it.effect("test_hashmap_simple_with_identity_hasher", () =>
    Effect.gen(function*() {
      yield* twoKeys(yield* perSecond(20))
    }).pipe(memory))
})

describe("peer governor tests/future.rs", () => {
  /** `loop { if lim.check().is_err() { break } }` */
  const exhaust = (lim: RateLimit.RateLimiter, key: string) =>
    Effect.gen(function*() {
      let taken = 0
      while (yield* check(lim, key)) taken++
      return taken
    })

  const limiterPair = (n: number) => Effect.all({ checking: perSecond(n), waiting: perSecondWaiting(n) })

  for (const [name, key] of [["pauses", KEY], ["pauses_keyed", "1"]] as const) {
    it.effect(name, () =>
      Effect.gen(function*() {
        const lim = yield* limiterPair(10)
        // exhaust the limiter:
        expect(yield* exhaust(lim.checking, key)).toBe(10)
        expect(yield* waited(lim.waiting.consume(key))).toBeGreaterThanOrEqual(100)
      }).pipe(memory))
  }

  for (const [name, key] of [["pauses_n", KEY], ["pauses_keyed_n", "1"]] as const) {
    it.effect(name, () =>
      Effect.gen(function*() {
        const lim = yield* limiterPair(10)
        for (let i = 0; i < 6; i++) expect(yield* check(lim.checking, key)).toBe(true)
        // 4 cells left, 5 asked: one more is due in 100 ms
        expect(yield* waited(lim.waiting.consume(key, 5))).toBe(100)
      }).pipe(memory))
  }

  for (
    const [name, n, cells, key] of [
      ["proceeds", 2, 1, KEY],
      ["proceeds_n", 3, 2, KEY],
      ["proceeds_keyed", 2, 1, "1"],
      ["proceeds_keyed_n", 3, 2, "1"]
    ] as const
  ) {
    it.effect(name, () =>
      Effect.gen(function*() {
        const lim = yield* perSecondWaiting(n)
        // no wait at all (governor: within 200 µs of real time)
        expect(yield* timed(lim.consume(key, cells))).toBe(0)
      }).pipe(memory))
  }

  for (const [name, key] of [["multiple", KEY], ["multiple_keyed", "1"]] as const) {
    it.effect(name, () =>
      Effect.gen(function*() {
        const lim = yield* perSecondWaiting(10)
        const fiber = yield* Effect.fork(
          Effect.all(Array.from({ length: 20 }, () => timed(lim.consume(key))), { concurrency: "unbounded" })
        )
        yield* TestClock.adjust("1 hour")
        const waits = [...(yield* Fiber.join(fiber))].sort((a, b) => a - b)
        // governor: at least 8 ms for twenty callers on ten cells; here the ten beyond the burst wait 100 ms apart
        expect(waits[waits.length - 1]).toBeGreaterThanOrEqual(8)
        expect(waits).toEqual([
          ...Array.from({ length: 10 }, () => 0),
          ...Array.from({ length: 10 }, (_, i) => 100 * (i + 1))
        ])
      }).pipe(memory))
  }

  it.effect("errors_on_exceeded_capacity", () =>
    Effect.gen(function*() {
      const lim = yield* perSecondWaiting(10)
      expect(yield* insufficientCapacity(lim, 11)).toBe(true)
      expect(yield* insufficientCapacity(lim, 11, "1")).toBe(true)
    }).pipe(memory))
})

describe("peer governor tests/proptests.rs", () => {
  it.effect("accurate_not_until", () =>
    Effect.gen(function*() {
      // Count is 1..10000 in governor; here a refill interval of `step` whole ms (a quota of `capacity` per
      // `capacity × step` ms), so that a wait in whole ms is exact. With a fractional interval Sturdy is not exact on
      // every boundary: at 11 per second, taking each token as it comes, the refills due at 1000, 2000 and 3000 ms are
      // granted 1 ms late, as the stores add the interval to their refill mark in floating point (found by this
      // port's governor mapping, `per_second(capacity)` stepped by 1/capacity s; reported, not changed here). The
      // caller refused there was told to retry after 0 ms; it is now told 1 ms (RateLimit.test.ts)
      const runs = FastCheck.sample(
        FastCheck.record({
          capacity: FastCheck.integer({ min: 1, max: 100 }),
          step: FastCheck.integer({ min: 1, max: 50 }),
          additional: FastCheck.integer({ min: 1, max: 30 }),
          fractions: FastCheck.integer({ min: 1, max: 20 })
        }),
        { seed: 20251216, numRuns: 25 }
      )
      for (const { additional, capacity, fractions, step } of runs) {
        const lb = yield* RateLimit.make({
          limit: capacity,
          window: Duration.millis(capacity * step),
          onExceeded: "fail"
        })
        const key = `${capacity}/${step}/${additional}/${fractions}`
        // use up the burst capacity:
        for (let i = 0; i < capacity; i++) expect(yield* check(lb, key)).toBe(true)
        // step forward a few times:
        for (let i = 0; i < additional; i++) {
          yield* ms(step)
          expect(yield* check(lb, key)).toBe(true)
        }
        // get a negative response:
        const negative = yield* notUntil(lb, key)
        const earliest = (yield* Clock.currentTimeMillis) + Duration.toMillis(negative)
        // check in steps up until the expected time to see whether we are allowed
        const waitTime = Math.floor(Duration.toMillis(negative) / (fractions + 1))
        for (let i = 0; i < fractions; i++) {
          yield* ms(waitTime)
          expect([key, i, yield* check(lb, key)]).toEqual([key, i, false])
        }
        // should be ok exactly where it tells us:
        yield* ms(earliest - (yield* Clock.currentTimeMillis))
        expect([key, yield* check(lb, key)]).toEqual([key, true])
      }
    }).pipe(memory))
})
