// Ported from vercel/swr at 7173e55b2a175dee455612c5fa067383345c392f: test/use-swr-revalidate.test.tsx (and "should
// handle errors" from test/use-swr-error.test.tsx), the cases about which answer a key holds after revalidations, as
// far as they map to StaleCache without React. One `it` per SWR case, named after it.
// Mapping: a hook's fetcher is the upstream effect; a revalidation (`mutate()`, or the fetch on mount) is one call
// through `StaleCache.serve(cache, key)`; the hook's `data` is what the cache holds for the key (`cache.get`), which is
// what a later failing call is answered with; two hooks on one key are two callers of one cache. SWR's
// `createResponse(value, { delay })` is `Effect.sleep(delay)` on the TestClock, then the value (or the failure).
// Deliberate differences: StaleCache never answers from the cache while the upstream is up (no stale-while-revalidate:
// each call waits for the upstream), and has no deduping. As in SWR, an earlier, slower call that completes after a
// later one does not replace the later one's answer.
// Not ported: "should keep isValidating be true when there are two concurrent requests" and "should set initial
// isValidating be false when config.isPaused returns true" (hook state; StaleCache has no in-flight state), and "should
// mark the key as invalidated and clear deduping with `mutate`, even if there is no mounted hook" (no deduping).
import { describe, expect, it } from "@effect/vitest"
import { StaleCache } from "@sturdy/policy"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"

const data = <A>(cache: StaleCache.StaleCache<A>, key: string) =>
  Effect.map(cache.get(key), Option.map((entry) => entry.value))

const createResponse = <A>(value: A, delay: number = 10) => Effect.as(Effect.sleep(delay), value)

describe("peer swr useSWR - revalidate", () => {
  it.effect("should rerender after triggering revalidation", () =>
    Effect.gen(function*() {
      const cache = yield* StaleCache.make<number>({ maxEntries: 10, maxStaleness: "1 hour" })
      let value = 0
      const fetcher = Effect.sync(() => value++)
      // mount
      expect(yield* data(cache, "key")).toEqual(Option.none())
      expect((yield* fetcher.pipe(StaleCache.serve(cache, "key"))).value).toBe(0)
      expect(yield* data(cache, "key")).toEqual(Option.some(0))
      // mutate()
      expect((yield* fetcher.pipe(StaleCache.serve(cache, "key"))).value).toBe(1)
      expect(yield* data(cache, "key")).toEqual(Option.some(1))
    }))

  it.effect("should revalidate all the hooks with the same key", () =>
    Effect.gen(function*() {
      const cache = yield* StaleCache.make<number>({ maxEntries: 10, maxStaleness: "1 hour" })
      let value = 0
      const fetcher = Effect.sync(() => value++)
      const hook1 = fetcher.pipe(StaleCache.serve(cache, "key"))
      yield* hook1
      // both hooks read the key's one entry: 0, 0
      expect([yield* data(cache, "key"), yield* data(cache, "key")]).toEqual([Option.some(0), Option.some(0)])
      // the first hook's mutate() revalidates what the second one sees: 1, 1
      yield* hook1
      expect([yield* data(cache, "key"), yield* data(cache, "key")]).toEqual([Option.some(1), Option.some(1)])
      expect(value).toBe(2)
    }))

  it.effect("should respect sequences of revalidation calls (cope with race condition)", () =>
    Effect.gen(function*() {
      const cache = yield* StaleCache.make<number>({ maxEntries: 10, maxStaleness: "1 hour" })
      // the slower revalidation (100 ms, answers 0), then 1 ms later the faster one (50 ms, answers 1)
      const slower = yield* Effect.fork(createResponse(0, 100).pipe(StaleCache.serve(cache, "key")))
      yield* TestClock.adjust("1 millis")
      const faster = yield* Effect.fork(createResponse(1, 50).pipe(StaleCache.serve(cache, "key")))
      yield* TestClock.adjust("150 millis")
      expect((yield* Fiber.join(slower)).value).toBe(0)
      expect((yield* Fiber.join(faster)).value).toBe(1)
      // as SWR shows 1: the latest revalidation's answer, stored at 51 ms, is not replaced by the slower call's
      const entry = yield* cache.get("key")
      expect(Option.map(entry, (e) => [e.value, e.storedAt])).toEqual(Option.some([1, 51]))
    }))

  it.effect("should respect sequences of revalidation calls although in dedupingInterval", () =>
    Effect.gen(function*() {
      const cache = yield* StaleCache.make<number>({ maxEntries: 10, maxStaleness: "1 hour" })
      let count = 0
      const fetcher = Effect.suspend(() => {
        const currCount = ++count
        return createResponse(currCount, currCount === 1 ? 50 : 0)
      })
      // mount (the first call, 50 ms), then mutate() on the next tick (no deduping here: the fetcher runs again)
      const mount = yield* Effect.fork(fetcher.pipe(StaleCache.serve(cache, "key")))
      yield* TestClock.adjust("1 millis")
      expect((yield* fetcher.pipe(StaleCache.serve(cache, "key"))).value).toBe(2)
      expect(yield* data(cache, "key")).toEqual(Option.some(2))
      yield* TestClock.adjust("70 millis")
      expect((yield* Fiber.join(mount)).value).toBe(1)
      expect(count).toBe(2)
      // as SWR shows "count: 2": the mount's 1 arrived last but started first
      expect(yield* data(cache, "key")).toEqual(Option.some(2))
    }))
})

describe("peer swr useSWR - error handling", () => {
  it.effect("should handle errors", () =>
    Effect.gen(function*() {
      const cache = yield* StaleCache.make<string>({ maxEntries: 10, maxStaleness: "1 hour" })
      const error = new Error("error!")
      const fetcher = Effect.zipRight(Effect.sleep("10 millis"), Effect.fail(error))
      const fiber = yield* Effect.fork(Effect.flip(fetcher.pipe(StaleCache.serve(cache, "key"))))
      // before the answer: no data, no error
      expect(yield* data(cache, "key")).toEqual(Option.none())
      yield* TestClock.adjust("10 millis")
      // nothing was cached, so the error itself is the answer
      const failure = yield* Fiber.join(fiber)
      expect(failure).toBe(error)
      expect(failure.message).toBe("error!")
      expect(yield* data(cache, "key")).toEqual(Option.none())
    }))
})
