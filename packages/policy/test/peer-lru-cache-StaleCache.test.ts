// Ported from isaacs/node-lru-cache at c6eafb2e1b3c78651dc425c28bf6ef9cd2574ec5, test/fetch.ts, one `it` per `t.test`,
// named after it, as far as each maps to StaleCache (a case that maps only in part says which assertions it keeps).
// Mapping: `new LRUCache({ max, ttl, fetchMethod })` is `StaleCache.make({ maxEntries: max, maxStaleness: ttl })` and an
// upstream effect. `c.fetch(key)` (no allowStale) answers from the cache while the value is no older than `ttl`, else
// waits for `fetchMethod` and stores its answer: `Fallback.firstOf({ cache: StaleCache.lookup(cache, key), fetchMethod:
// StaleCache.remember(upstream, cache, key) })` (`fetch` below; Polly's cache-aside mapping). `fetch(key, {
// forceRefresh: true })` always calls `fetchMethod`, and with `allowStaleOnFetchRejection` a rejection is answered
// with the cached value: `StaleCache.serve(upstream, cache, key)` (`refresh` below), which behaves so always;
// `allowStaleOnFetchRejection: false` for one call is `serve`'s `while: () => false`. `get`/`has`/`peek` are
// `cache.get`, `set` is `cache.set`, `delete` is `cache.invalidate`. A fetch that waits on a microtask or a timer
// waits on the TestClock here (`Effect.sleep`). Aborting a fetch with an `AbortSignal` is interrupting its fiber; an
// abort that lru-cache answers from the cache (`allowStaleOnFetchAbort`) is a typed failure of the upstream (the
// abort's reason), which `serve` answers from the cache. The `oldValue` lru-cache hands `fetchMethod` is kept beside
// the cache by the test (`previous`), as StaleCache drops an entry older than `maxStaleness` when it is read.
// Deliberate differences (each case says where): StaleCache has no stale-while-revalidate (`allowStale`: a call waits
// for the upstream; an entry older than `maxStaleness` is never returned) and no sharing of one in-flight fetch between
// callers of a key (each call runs the upstream; documented: calls of one key may overlap). A rejection never deletes
// the stored answer (lru-cache's `noDeleteOnFetchRejection: true`, always). A `set` or `invalidate` during a call does
// not cancel the call: its caller still gets its own answer, which is not stored (lru-cache rejects the fetch, or
// answers the stale value). An interruption is never answered from the cache. A call holds no slot in the cache until
// it answers, so other keys' sets cannot evict it.
// Not ported: "fetchMethod must be a function", "fetch context" and "fetch context required if set in ctor type"
// (types and the `context` option: an upstream effect closes over what it needs), "properly dispose when using fetch"
// (no dispose hooks), "background update on timeout, return stale" and "allowStaleOnFetchAbort and ignoreFetchAbort"
// (`ignoreFetchAbort`: an interrupted upstream is not kept running to fill the cache later), the `ttl` overrides per
// fetch and from `fetchMethod` (one `maxStaleness` per cache), `status` objects and snapshots, `dump()` and `expose()`
// internals, and an undefined answer meaning "no value" (in Effect it is a value).
import { describe, expect, it } from "@effect/vitest"
import { Fallback, StaleCache } from "@sturdy/policy"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"

/** lru-cache's `fetch(key)`: the cached value while no older than `ttl`, else `fetchMethod`'s answer, stored. */
const fetch = <A, E>(cache: StaleCache.StaleCache<A>, key: string, fetchMethod: Effect.Effect<A, E>) =>
  Fallback.firstOf({
    cache: StaleCache.lookup(cache, key),
    fetchMethod: StaleCache.remember(fetchMethod, cache, key)
  })

/** lru-cache's `fetch(key, { forceRefresh: true })` with `allowStaleOnFetchRejection`. */
const refresh = <A, E>(
  cache: StaleCache.StaleCache<A>,
  key: string,
  fetchMethod: Effect.Effect<A, E>,
  options?: StaleCache.ServeOptions<E>
) => StaleCache.serve(fetchMethod, cache, key, options ?? {})

/** lru-cache's `get(key)` / `peek(key)`: the value, or undefined (None). */
const get = <A>(cache: StaleCache.StaleCache<A>, key: string) =>
  Effect.map(cache.get(key), Option.map((entry) => entry.value))

const valueOf = <A>(answer: Fallback.Provenanced<A, unknown>) => answer.value

/** Forks `effect` and lets it start (lru-cache's `const p = c.fetch(k)` without awaiting it). */
const start = <A, E>(effect: Effect.Effect<A, E>) => Effect.tap(Effect.fork(effect), () => Effect.yieldNow())

describe("peer lru-cache fetch", () => {
  it.effect("asynchronous fetching", () =>
    Effect.gen(function*() {
      // `fn` answers 0 for a key never fetched, else oldValue + 1, after a microtask (1 ms here)
      const cache = yield* StaleCache.make<number>({ maxEntries: 5, maxStaleness: "5 millis" })
      const previous = new Map<string, number>()
      const fn = (key: string) =>
        Effect.sleep("1 millis").pipe(
          Effect.map(() => {
            const old = previous.get(key)
            return old === undefined ? 0 : old + 1
          }),
          Effect.tap((value) => Effect.sync(() => previous.set(key, value)))
        )
      const set = (key: string, value: number) =>
        Effect.zipRight(cache.set(key, value), Effect.sync(() => previous.set(key, value)))
      const settle = <A, E>(effect: Effect.Effect<A, E>) =>
        Effect.gen(function*() {
          const fiber = yield* start(effect)
          yield* TestClock.adjust("1 millis")
          return yield* Fiber.join(fiber)
        })

      const v1 = yield* settle(fetch(cache, "key", fn("key")))
      expect([v1.value, v1.source]).toEqual([0, "fetchMethod"]) // first fetch, no stale data, wait for initial value
      const v2 = yield* fetch(cache, "key", fn("key"))
      expect([v2.value, v2.source]).toEqual([0, "cache"]) // got same cached value
      yield* TestClock.adjust("10 millis")
      // (v3, v3.1: allowStale, get stale data: StaleCache has no stale-while-revalidate)
      expect(valueOf(yield* settle(fetch(cache, "key", fn("key"))))).toBe(1) // no allow stale, wait until fresh data
      expect(valueOf(yield* fetch(cache, "key", fn("key")))).toBe(1) // fetch while not stale, just get from cache
      // (v6 to v9: allowStale again)

      const v10 = yield* start(fetch(cache, "key2", fn("key2")))
      expect(yield* get(cache, "key2")).toEqual(Option.none()) // get while fetching but not yet returned
      yield* TestClock.adjust("1 millis")
      expect(valueOf(yield* Fiber.join(v10))).toBe(0) // eventually 0 is returned
      expect(yield* get(cache, "key2")).toEqual(Option.some(0)) // get cached value after fetch

      const v13 = yield* start(fetch(cache, "key3", fn("key3")))
      yield* cache.invalidate("key3")
      yield* TestClock.adjust("1 millis")
      // lru-cache rejects the fetch ("rejects, because it was deleted"); Sturdy's caller gets its own answer
      expect(valueOf(yield* Fiber.join(v13))).toBe(0)
      expect(yield* get(cache, "key3")).toEqual(Option.none()) // not inserted into cache

      // (key4, v15 and v18: allowStale)
      yield* set("key5", 0)
      yield* TestClock.adjust("100 millis")
      expect(valueOf(yield* settle(fetch(cache, "key5", fn("key5"))))).toBe(1) // waited for new data, cached was stale

      const p6 = yield* start(fetch(cache, "key6", fn("key6")))
      expect(yield* get(cache, "key6")).toEqual(Option.none()) // get while fetching, but no stale data to return
      yield* TestClock.adjust("1 millis")
      expect(valueOf(yield* Fiber.join(p6))).toBe(0)
      yield* TestClock.adjust("100 millis")
      // (v21: allowStale, got stale data while fetching; StaleCache's `get` returns nothing older than maxStaleness)
      expect(valueOf(yield* settle(fetch(cache, "key6", fn("key6"))))).toBe(1) // eventually updated
    }))

  it.effect("fetch without fetch method", () =>
    Effect.gen(function*() {
      // a fetch with no fetchMethod answers what is cached: `lookup`
      const cache = yield* StaleCache.make<number>({ maxEntries: 3, maxStaleness: Duration.infinity })
      yield* cache.set("0", 0)
      yield* cache.set("1", 1)
      expect(yield* Effect.all([StaleCache.lookup(cache, "0"), StaleCache.lookup(cache, "1")])).toEqual([0, 1])
    }))

  it.effect("fetch options, signal", () =>
    Effect.gen(function*() {
      const cache = yield* StaleCache.make<number>({ maxEntries: 3, maxStaleness: "100 millis" })
      const previous = new Map<string, number>()
      let calls = 0
      // do something async, then (oldVal || 0) + 1
      const fetchMethod = (key: string) =>
        Effect.suspend(() => {
          calls++
          return Effect.as(Effect.sleep("1 millis"), (previous.get(key) ?? 0) + 1)
        })

      // aborted by clearing the cache (delete)
      const v1 = yield* start(fetch(cache, "2", fetchMethod("2")))
      yield* cache.invalidate("2")
      yield* TestClock.adjust("1 millis")
      // lru-cache aborts fetchMethod and rejects; Sturdy's call runs to its end and answers, but is not stored
      expect(valueOf(yield* Fiber.join(v1))).toBe(1)
      expect(yield* get(cache, "2")).toEqual(Option.none())

      // rejected, replaced (set)
      const v2 = yield* start(fetch(cache, "2", fetchMethod("2")))
      yield* cache.set("2", 2)
      yield* TestClock.adjust("1 millis")
      expect(valueOf(yield* Fiber.join(v2))).toBe(1)
      expect(yield* get(cache, "2")).toEqual(Option.some(2)) // the value set is kept
      yield* cache.invalidate("2")

      // aborted by evict: lru-cache's pending fetch holds a slot that three sets of other keys evict. A Sturdy call
      // holds no slot: its answer is stored when it comes, and the least recently used key ("3") makes room.
      const v3 = yield* start(fetch(cache, "2", fetchMethod("2")))
      yield* cache.set("3", 3)
      yield* cache.set("4", 4)
      yield* cache.set("5", 5)
      yield* TestClock.adjust("1 millis")
      expect(valueOf(yield* Fiber.join(v3))).toBe(1)
      expect([yield* get(cache, "3"), yield* get(cache, "4"), yield* get(cache, "5"), yield* get(cache, "2")]).toEqual(
        [Option.none(), Option.some(4), Option.some(5), Option.some(1)]
      )
      expect(calls).toBe(3)
      // (the ttl overrides: one maxStaleness per cache)
    }))

  it.effect("fetchMethod throws", () =>
    Effect.gen(function*() {
      // allowStale with ttl 10: lru-cache serves a stale value of any age, so maxStaleness is unbounded here
      const cache = yield* StaleCache.make<number>({ maxEntries: 10, maxStaleness: Duration.infinity })
      let calls = 0
      const failing = Effect.suspend(() => {
        calls++
        return Effect.zipRight(Effect.sleep("1 millis"), Effect.fail(new Error("fetch failure")))
      })
      // seed the cache, and make the values stale
      yield* cache.set("a", 1)
      yield* cache.set("b", 2)
      yield* TestClock.adjust("20 millis")
      const three = (key: string) =>
        Effect.gen(function*() {
          const fiber = yield* start(
            Effect.all([refresh(cache, key, failing), refresh(cache, key, failing), refresh(cache, key, failing)], {
              concurrency: "unbounded"
            })
          )
          yield* TestClock.adjust("1 millis")
          return (yield* Fiber.join(fiber)).map((answer) => [answer.value, answer.source])
        })
      expect(yield* three("a")).toEqual([[1, "stale"], [1, "stale"], [1, "stale"]])
      // lru-cache: "removed from cache" once the fetch rejects; Sturdy never deletes on a rejection
      // (noDeleteOnFetchRejection), and runs the upstream once per call (no shared fetch)
      expect(yield* get(cache, "a")).toEqual(Option.some(1))
      expect(yield* three("b")).toEqual([[2, "stale"], [2, "stale"], [2, "stale"]])
      expect(yield* get(cache, "b")).toEqual(Option.some(2))
      expect(calls).toBe(6)
      // aborted by replace: lru-cache rejects the fetch; Sturdy answers the failure with what is cached now, the 99
      const ap = yield* start(refresh(cache, "a", failing))
      yield* cache.set("a", 99)
      yield* TestClock.adjust("1 millis")
      expect(valueOf(yield* Fiber.join(ap))).toBe(99)
      expect(yield* get(cache, "a")).toEqual(Option.some(99)) // did not delete new value
      // lru-cache rejects a fetch of "b" with "fetch failure", having deleted "b"; here that is a key with no value
      yield* cache.invalidate("b")
      const bp = yield* start(Effect.flip(refresh(cache, "b", failing)))
      yield* TestClock.adjust("1 millis")
      expect((yield* Fiber.join(bp)).message).toBe("fetch failure")
    }))

  it.effect("fetchMethod throws, noDeleteOnFetchRejection option", () =>
    Effect.gen(function*() {
      const cache = yield* StaleCache.make<number>({ maxEntries: 10, maxStaleness: Duration.infinity })
      let calls = 0
      const fetchMethod = Effect.suspend(() => {
        calls++
        return Effect.zipRight(Effect.sleep("1 millis"), Effect.fail(new Error("fetch failure")))
      })
      yield* cache.set("a", 1)
      yield* cache.set("b", 2)
      yield* TestClock.adjust("20 millis")
      for (const [key, value] of [["a", 1], ["b", 2]] as const) {
        const fiber = yield* start(
          Effect.all([
            refresh(cache, key, fetchMethod),
            refresh(cache, key, fetchMethod),
            refresh(cache, key, fetchMethod)
          ], {
            concurrency: "unbounded"
          })
        )
        yield* TestClock.adjust("20 millis")
        expect((yield* Fiber.join(fiber)).map(valueOf)).toEqual([value, value, value])
        // clock advances, promise rejects: the stale value stays
        expect(yield* get(cache, key)).toEqual(Option.some(value))
      }
      // lru-cache calls fetchMethod once per key for three concurrent fetches; Sturdy once per call
      expect(calls).toBe(6)
      yield* cache.invalidate("a")
      yield* cache.invalidate("b")

      const ap = yield* start(refresh(cache, "a", Effect.as(Effect.sleep("1 millis"), 1)))
      yield* cache.set("a", 99)
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(ap) // lru-cache: "aborted by replace"; Sturdy's caller has its own answer
      expect(yield* get(cache, "a")).toEqual(Option.some(99)) // did not delete, was replaced
      const bp = yield* start(Effect.flip(refresh(cache, "b", fetchMethod)))
      yield* TestClock.adjust("1 millis")
      expect((yield* Fiber.join(bp)).message).toBe("fetch failure")
      expect(yield* get(cache, "b")).toEqual(Option.none()) // not in cache
      expect(yield* cache.size).toBe(1)
    }))

  it.effect("forceRefresh", () =>
    Effect.gen(function*() {
      const cache = yield* StaleCache.make<number>({ maxEntries: 10, maxStaleness: "100 millis" })
      // fetchMethod answers the key itself, after a microtask
      const fetchMethod = (key: number) => Effect.as(Effect.sleep("1 millis"), key)
      const settle = <A, E>(effect: Effect.Effect<A, E>) =>
        Effect.gen(function*() {
          const fiber = yield* start(effect)
          yield* TestClock.adjust("1 millis")
          return yield* Fiber.join(fiber)
        })
      // put in some values that don't match what fetchMethod returns
      yield* cache.set("1", 100)
      yield* cache.set("2", 200)
      expect(valueOf(yield* fetch(cache, "1", fetchMethod(1)))).toBe(100)
      // forceRefresh, allowStale false: fetchMethod's answer
      const forced = yield* settle(refresh(cache, "2", fetchMethod(2)))
      expect([forced.value, forced.source]).toEqual([2, "upstream"])
      // lru-cache with allowStale answers 100 (the cached value) and refreshes in the background; a Sturdy refresh
      // waits for fetchMethod
      expect(valueOf(yield* settle(refresh(cache, "1", fetchMethod(1))))).toBe(1)
      yield* TestClock.adjust("100 millis")
      expect(valueOf(yield* settle(refresh(cache, "2", fetchMethod(2))))).toBe(2)
      // (peek(1) 100 and the background fetch: allowStale)
      yield* cache.set("1", 100)
      expect(valueOf(yield* fetch(cache, "1", fetchMethod(1)))).toBe(100)
      expect(valueOf(yield* settle(refresh(cache, "1", fetchMethod(1))))).toBe(1)
      expect(yield* get(cache, "1")).toEqual(Option.some(1))
    }))

  it.effect("allowStaleOnFetchRejection", () =>
    Effect.gen(function*() {
      // ttl 10; the stale value is served at any age on a rejection
      const cache = yield* StaleCache.make<number>({ maxEntries: 10, maxStaleness: Duration.infinity })
      let fetchFail = false
      const fetchMethod = (key: number) =>
        Effect.suspend(() => fetchFail ? Effect.fail(new Error("fetch rejection")) : Effect.succeed(key))
      expect(valueOf(yield* refresh(cache, "1", fetchMethod(1)))).toBe(1)
      yield* TestClock.adjust("11 millis")
      fetchFail = true
      const stale = yield* refresh(cache, "1", fetchMethod(1))
      // status.returnedStale is the answer's source and age
      expect([stale.value, stale.source, stale.age]).toEqual([1, "stale", Option.some(Duration.millis(11))])
      expect(stale.failures.map((failure) => failure.error.message)).toEqual(["fetch rejection"])
      expect(valueOf(yield* refresh(cache, "1", fetchMethod(1)))).toBe(1)
      // if we override it, no go
      const exit = yield* Effect.exit(refresh(cache, "1", fetchMethod(1), { while: () => false }))
      expect(exit).toStrictEqual(Exit.fail(new Error("fetch rejection")))
      // lru-cache: "that also deletes from the cache"; Sturdy keeps the stored answer
      expect(yield* get(cache, "1")).toEqual(Option.some(1))
    }))

  it.effect("placeholder promise is not removed when resolving", () =>
    Effect.gen(function*() {
      // maxSize 10 with each value its own size: 4 and 5 fit, 3 more evicts the oldest. Here: two entries.
      const cache = yield* StaleCache.make<number>({ maxEntries: 2, maxStaleness: Duration.infinity })
      const resolves = new Map<number, Deferred.Deferred<number>>()
      const fetchMethod = (key: number) =>
        Effect.flatMap(Deferred.make<number>(), (deferred) => {
          resolves.set(key, deferred)
          return Deferred.await(deferred)
        })
      const p3 = yield* start(fetch(cache, "3", fetchMethod(3)))
      const p4 = yield* start(fetch(cache, "4", fetchMethod(4)))
      const p5 = yield* start(fetch(cache, "5", fetchMethod(5)))
      yield* Deferred.succeed(resolves.get(4)!, 4)
      expect(valueOf(yield* Fiber.join(p4))).toBe(4)
      expect(yield* cache.size).toBe(1)
      expect(yield* get(cache, "4")).toEqual(Option.some(4))
      yield* Deferred.succeed(resolves.get(5)!, 5)
      expect(valueOf(yield* Fiber.join(p5))).toBe(5)
      expect(yield* cache.size).toBe(2)
      yield* Deferred.succeed(resolves.get(3)!, 3)
      expect(valueOf(yield* Fiber.join(p3))).toBe(3)
      // [[3, 3], [5, 5]]: the least recently used ("4", read before "5" was stored) made room
      expect(yield* cache.size).toBe(2)
      expect([yield* get(cache, "3"), yield* get(cache, "5"), yield* get(cache, "4")]).toEqual([
        Option.some(3),
        Option.some(5),
        Option.none()
      ])
    }))

  it.effect("send a signal", () =>
    Effect.gen(function*() {
      const cache = yield* StaleCache.make<number>({ maxEntries: 10, maxStaleness: Duration.infinity })
      let aborted = false
      let resolved = false
      const fetchMethod = (key: number) =>
        Effect.sleep("100 millis").pipe(
          Effect.map(() => {
            resolved = true
            return key
          }),
          Effect.onInterrupt(() => Effect.sync(() => (aborted = true)))
        )
      const p = yield* start(fetch(cache, "1", fetchMethod(1)))
      // ac.abort(er): interrupting the caller (Effect's interruption carries no reason)
      const exit = yield* Fiber.interrupt(p)
      expect(Exit.isInterrupted(exit)).toBe(true)
      yield* TestClock.adjust("100 millis")
      expect(resolved).toBe(false) // should have aborted before fetchMethod resolved
      expect(aborted).toBe(true)
      expect(yield* get(cache, "1")).toEqual(Option.none())
    }))

  it.effect("verify inflight works as expected", () =>
    Effect.gen(function*() {
      const cache = yield* StaleCache.make<object>({ maxEntries: 5, maxStaleness: Duration.infinity })
      let called = 0
      const fetchMethod = Effect.suspend(() => {
        called++
        return Effect.as(Effect.sleep("1 millis"), {})
      })
      const promises = yield* start(Effect.all(Array.from({ length: 5 }, () => fetch(cache, "1", fetchMethod)), {
        concurrency: "unbounded"
      }))
      expect(yield* get(cache, "1")).toEqual(Option.none()) // get while fetching
      yield* TestClock.adjust("1 millis")
      const answers = (yield* Fiber.join(promises)).map(valueOf)
      expect(answers).toHaveLength(5)
      // lru-cache: every fetch shares the one in flight (`called` 1, one object); Sturdy runs the upstream per call,
      // and keeps the answer of the call that started last
      expect(called).toBe(5)
      expect(new Set(answers).size).toBe(5)
      expect(Option.getOrThrow(yield* get(cache, "1"))).toBe(answers[4])
    }))

  it.effect("abort, but then keep on fetching anyway", () =>
    Effect.gen(function*() {
      // the cases without ignoreFetchAbort's signal: a fetch whose key is deleted or set meanwhile
      const cache = yield* StaleCache.make<number>({ maxEntries: 10, maxStaleness: Duration.infinity })
      const fetchMethod = (key: number) => Effect.as(Effect.sleep("100 millis"), key)
      const p2 = yield* start(refresh(cache, "2", fetchMethod(2))) // forceFetch
      expect(yield* get(cache, "2")).toEqual(Option.none())
      yield* cache.invalidate("2")
      expect(yield* get(cache, "2")).toEqual(Option.none())
      yield* TestClock.adjust("100 millis")
      expect(valueOf(yield* Fiber.join(p2))).toBe(2)
      expect(yield* get(cache, "2")).toEqual(Option.none())
      // if aborted for cause, we don't save the fetched value
      const p3 = yield* start(fetch(cache, "3", fetchMethod(3)))
      expect(yield* get(cache, "3")).toEqual(Option.none())
      yield* cache.set("3", 33)
      expect(yield* get(cache, "3")).toEqual(Option.some(33))
      yield* TestClock.adjust("100 millis")
      expect(valueOf(yield* Fiber.join(p3))).toBe(3)
      expect(yield* get(cache, "3")).toEqual(Option.some(33))
    }))

  it.effect("allowStaleOnFetchAbort", () =>
    Effect.gen(function*() {
      const cache = yield* StaleCache.make<number>({ maxEntries: 10, maxStaleness: Duration.infinity })
      // fetchMethod answers the key after 100 ms, unless its signal is aborted first: the abort's reason is then its
      // typed failure
      const fetchMethod = (key: number, signal: Deferred.Deferred<never, Error>) =>
        Effect.raceFirst(Effect.as(Effect.sleep("100 millis"), key), Deferred.await(signal))
      yield* cache.set("1", 10)
      yield* TestClock.adjust("100 millis")
      const ac = yield* Deferred.make<never, Error>()
      const p = yield* start(refresh(cache, "1", fetchMethod(1, ac)))
      yield* Deferred.fail(ac, new Error("gimme the stale value"))
      const answer = yield* Fiber.join(p)
      expect([answer.value, answer.source]).toEqual([10, "stale"])
      expect(yield* get(cache, "1")).toEqual(Option.some(10))
      // lru-cache: a set aborts the fetch in flight, which answers the stale 10; Sturdy's call answers its own 1 and
      // the cache keeps the 100 that was set
      const p2 = yield* start(refresh(cache, "1", fetchMethod(1, yield* Deferred.make<never, Error>())))
      yield* cache.set("1", 100)
      yield* TestClock.adjust("100 millis")
      expect(valueOf(yield* Fiber.join(p2))).toBe(1)
      expect(yield* get(cache, "1")).toEqual(Option.some(100))
    }))

  it.effect("has false for pending fetch without stale val", () =>
    Effect.gen(function*() {
      const cache = yield* StaleCache.make<number>({ maxEntries: 10, maxStaleness: Duration.infinity })
      const fetchMethod = (key: number) => Effect.as(Effect.sleep("10 millis"), key)
      const p = yield* start(fetch(cache, "1", fetchMethod(1)))
      expect(Option.isSome(yield* cache.get("1"))).toBe(false) // pending fetch, no value
      yield* TestClock.adjust("10 millis")
      expect(valueOf(yield* Fiber.join(p))).toBe(1)
      expect(Option.isSome(yield* cache.get("1"))).toBe(true)
      // background fetch that DOES have a stale value: the key is still there while it runs
      const forced = yield* start(refresh(cache, "1", fetchMethod(1)))
      expect(Option.isSome(yield* cache.get("1"))).toBe(true)
      yield* TestClock.adjust("10 millis")
      expect(valueOf(yield* Fiber.join(forced))).toBe(1)
      expect(Option.isSome(yield* cache.get("1"))).toBe(true)
    }))
})
