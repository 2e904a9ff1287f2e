// Ported from mollitia's packages/mollitia/test/unit/module/cache.spec.ts (genesys/mollitia at
// a8a24286b23f437b70f6cc99794571f14bc9a8e4), one `it` per mollitia case ported, named after it.
// Mapping: mollitia's Cache answers from its cache while an entry is younger than `ttl` ("Cache: Hit") and, once it is
// older, calls the function and answers the old entry if that fails ("Cache: Hit [Old]") until the
// `cacheClearInterval` timer drops it. Sturdy's `StaleCache` is the second half only (stale-if-error): `serve` always
// calls the upstream and answers a stored value, with its age, when the upstream fails; `maxStaleness` is how long a
// stored value may be served (mollitia's entry lives until the clear at `cacheClearInterval`). A cache key is the
// caller's string (mollitia's is the function and its parameters). mollitia's log lines are the answer's `source`
// ("upstream" / "stale") and `age`. mollitia's `requestAsync(res, delay = 1)` is a call that takes 1 ms of TestClock
// time; its real `delay`s are TestClock moves.
// Deliberate difference: a call within `ttl` still reaches the upstream (Sturdy has no fresh-hit cache; a read-through
// cache with a TTL is Effect's `Cache` / `Effect.cachedWithTTL`).
// Not ported (each needs a fresh hit, served without calling the function): "should cache the previous response by
// reference", "should cache the previous response - using onCache parameter" (`adjustCacheParams`, the key from some
// of the parameters), and the three "With multiple modules - Cache module ... - Cache the previous response by
// reference" cases (the hit with Retry and Ratelimit around or inside the cache).
import { describe, expect, it } from "@effect/vitest"
import { StaleCache } from "@sturdy/policy"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"

describe("peer mollitia Cache", () => {
  it.effect("should have a cache interval", () =>
    Effect.gen(function*() {
      let shouldFail = false
      let calls = 0
      const requestAsync = (res: string) =>
        Effect.zipRight(
          Effect.sleep(1),
          Effect.suspend(() => {
            calls++
            return shouldFail ? Effect.fail(res) : Effect.succeed(res)
          })
        )
      const cache = yield* StaleCache.make<string>({ maxEntries: 100, maxStaleness: "1 second" })
      const execute = (res: string) =>
        Effect.gen(function*() {
          const fiber = yield* Effect.fork(Effect.exit(StaleCache.serve(requestAsync(res), cache, "default")))
          yield* TestClock.adjust(1)
          return yield* Fiber.join(fiber)
        })
      const first = yield* execute("default")
      expect(Exit.isSuccess(first) && first.value.source).toBe("upstream")
      // mollitia answers this one from its cache ("Cache: Hit") without calling the function; Sturdy calls it
      const second = yield* execute("default")
      expect(Exit.isSuccess(second) && second.value.value).toBe("default")
      expect(Exit.isSuccess(second) && second.value.source).toBe("upstream")
      expect(calls).toBe(2)
      yield* TestClock.adjust(150)
      shouldFail = true
      // "Cache: Hit [Old]": the upstream fails, the stored answer is served with its age
      const stale = yield* execute("default")
      expect(Exit.isSuccess(stale) && stale.value.value).toBe("default")
      expect(Exit.isSuccess(stale) && stale.value.source).toBe("stale")
      expect(Exit.isSuccess(stale) && stale.value.age).toStrictEqual(Option.some(Duration.millis(151)))
      expect(Exit.isSuccess(stale) && stale.value.failures.map((f) => f.error)).toEqual(["default"])
      yield* TestClock.adjust(1000)
      // "Cache: Clear" in mollitia; here the answer is older than maxStaleness: the failure itself comes back
      expect(yield* execute("default")).toStrictEqual(Exit.fail("default"))
      expect(calls).toBe(4)
    }))
})
