import { describe, expect, it } from "@effect/vitest"
import * as Fallback from "@sturdy/policy/Fallback"
import * as StaleCache from "@sturdy/policy/StaleCache"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { wallClockStep } from "./utils/wallClockStep.js"

class Unavailable extends Data.TaggedError("Unavailable")<{ readonly call: number }> {}

// An upstream that answers `price-<n>` for its n-th call while healthy and fails while not.
const makeUpstream = () => {
  const state = { calls: 0, healthy: true }
  const call = Effect.suspend(() => {
    state.calls++
    return state.healthy
      ? Effect.succeed(`price-${state.calls}`)
      : Effect.fail(new Unavailable({ call: state.calls }))
  })
  return { state, call }
}

describe("StaleCache", () => {
  it.effect("serves the last good answer only when the upstream fails, with its age", () =>
    Effect.gen(function*() {
      const cache = yield* StaleCache.make<string>({ maxEntries: 10, maxStaleness: "1 minute" })
      const upstream = makeUpstream()
      const call = upstream.call.pipe(StaleCache.serve(cache, "sku-1"))

      expect(yield* call).toEqual(Fallback.fresh("price-1", "upstream"))
      yield* TestClock.adjust("10 seconds")
      // Healthy: the upstream answers and the cache is not used.
      expect(yield* call).toEqual(Fallback.fresh("price-2", "upstream"))

      upstream.state.healthy = false
      yield* TestClock.adjust("15 seconds")
      const stale = yield* call
      expect(stale).toEqual({
        value: "price-2",
        source: "stale",
        failures: [{ source: "upstream", error: new Unavailable({ call: 3 }) }],
        age: Option.some(Duration.seconds(15))
      })
      expect(Fallback.isDegraded(stale)).toBe(true)
      expect(upstream.state.calls).toBe(3)
    }))

  it.effect("respects max staleness: an answer older than that is not served, and dropped", () =>
    Effect.gen(function*() {
      const cache = yield* StaleCache.make<string>({ maxEntries: 10, maxStaleness: "1 minute" })
      const upstream = makeUpstream()
      const call = upstream.call.pipe(StaleCache.serve(cache, "sku-1"))
      yield* call
      upstream.state.healthy = false
      yield* TestClock.adjust("60 seconds")
      expect((yield* call).age).toEqual(Option.some(Duration.minutes(1)))
      yield* TestClock.adjust("1 millis")
      expect(yield* Effect.exit(call)).toStrictEqual(Exit.fail(new Unavailable({ call: 3 })))
      expect(yield* cache.size).toBe(0)
      expect(yield* Effect.flip(cache.lookup("sku-1"))).toEqual(
        new StaleCache.NoStaleAnswer({ key: "sku-1", reason: "Missing" })
      )
    }))

  it.effect("an answer's age runs on monotonic time: a wall clock set back does not make an old answer young", () =>
    Effect.gen(function*() {
      const { clock, step } = yield* wallClockStep
      const testClock = yield* TestClock.testClock() // `TestClock.adjust` would find the stepped clock
      const cache = StaleCache.unsafeMake<number>({ maxEntries: 10, maxStaleness: "5 minutes" })
      yield* Effect.withClock(
        Effect.gen(function*() {
          yield* cache.set("a", 1)
          expect((yield* cache.lookup("a")).storedAt).toBe(0)
          step(-3_600_000) // an hour back
          yield* testClock.adjust("4 minutes")
          expect(Duration.toMillis((yield* cache.lookup("a")).age)).toBe(240_000)
          yield* testClock.adjust("2 minutes")
          expect((yield* Effect.flip(cache.lookup("a"))).reason).toBe("TooOld")
        }),
        clock
      )
    }))

  it.effect("lookup says why nothing is served", () =>
    Effect.gen(function*() {
      const cache = StaleCache.unsafeMake<number>({ maxEntries: 10, maxStaleness: "1 second" })
      const missing = yield* Effect.flip(StaleCache.lookup(cache, "a"))
      expect(missing.reason).toBe("Missing")
      expect(missing.message).toBe("no earlier answer is cached for a")
      yield* cache.set("a", 1)
      yield* TestClock.adjust("2 seconds")
      expect((yield* Effect.flip(StaleCache.lookup(cache, "a"))).reason).toBe("TooOld")
    }))

  it.effect("is bounded: the least recently used key is evicted first", () =>
    Effect.gen(function*() {
      const cache = StaleCache.unsafeMake<number>({ maxEntries: 2, maxStaleness: "1 hour" })
      yield* cache.set("a", 1)
      yield* cache.set("b", 2)
      // Reading "a" makes "b" the least recently used.
      expect(Option.map(yield* cache.get("a"), (entry) => entry.value)).toEqual(Option.some(1))
      yield* cache.set("c", 3)
      expect(yield* cache.size).toBe(2)
      expect(yield* cache.get("b")).toEqual(Option.none())
      expect(Option.isSome(yield* cache.get("a"))).toBe(true)
      expect(Option.isSome(yield* cache.get("c"))).toBe(true)
      // Overwriting a key does not evict another.
      yield* cache.set("c", 4)
      expect(yield* cache.size).toBe(2)
      yield* cache.invalidate("a")
      expect(yield* cache.get("a")).toEqual(Option.none())
    }))

  it.effect("a failure with nothing stored is returned as is; defects are never masked", () =>
    Effect.gen(function*() {
      const cache = StaleCache.unsafeMake<string>({ maxEntries: 2, maxStaleness: "1 hour" })
      const upstream = makeUpstream()
      upstream.state.healthy = false
      expect(yield* Effect.exit(upstream.call.pipe(StaleCache.serve(cache, "k")))).toStrictEqual(
        Exit.fail(new Unavailable({ call: 1 }))
      )
      yield* cache.set("k", "old")
      expect(yield* Effect.exit(Effect.die("boom").pipe(StaleCache.serve(cache, "k")))).toStrictEqual(Exit.die("boom"))
    }))

  it.effect("with while, a failure it rejects is returned as is, even with a young answer stored", () =>
    Effect.gen(function*() {
      class NotFound extends Data.TaggedError("NotFound")<{}> {}
      const cache = yield* StaleCache.make<string>({ maxEntries: 10, maxStaleness: "1 hour" })
      yield* Effect.succeed("v1").pipe(StaleCache.serve(cache, "k"))
      yield* TestClock.adjust("1 minute")
      const serverError = (e: Unavailable | NotFound) => e._tag === "Unavailable"
      const gone: Effect.Effect<string, NotFound | Unavailable> = Effect.fail(new NotFound())
      expect(yield* Effect.flip(gone.pipe(StaleCache.serve(cache, "k", { while: serverError })))).toEqual(
        new NotFound()
      )
      const down: Effect.Effect<string, NotFound | Unavailable> = Effect.fail(new Unavailable({ call: 1 }))
      const stale = yield* StaleCache.serve(down, cache, "k", { while: (e) => e._tag === "Unavailable" })
      expect(stale).toMatchObject({ value: "v1", source: "stale", age: Option.some(Duration.minutes(1)) })
      // without while, any typed failure is answered from the cache (the default)
      expect((yield* gone.pipe(StaleCache.serve(cache, "k"))).source).toBe("stale")
    }))

  it.effect("each key has its own answer", () =>
    Effect.gen(function*() {
      const cache = StaleCache.unsafeMake<string>({ maxEntries: 10, maxStaleness: "1 hour" })
      yield* Effect.succeed("for a").pipe(StaleCache.serve(cache, "a"))
      yield* Effect.succeed("for b").pipe(StaleCache.remember(cache, "b"))
      const failing = Effect.fail(new Unavailable({ call: 0 }))
      expect((yield* StaleCache.serve(failing, cache, "a")).value).toBe("for a")
      expect((yield* StaleCache.serve(failing, cache, "b")).value).toBe("for b")
    }))

  it.effect("agrees with a reference LRU with expiry on random operations (seeded)", () =>
    Effect.gen(function*() {
      type Op =
        | { readonly op: "set"; readonly key: string; readonly value: number }
        | { readonly op: "get"; readonly key: string }
        | { readonly op: "wait"; readonly millis: number }
      const key = FastCheck.constantFrom("a", "b", "c", "d", "e")
      const op: FastCheck.Arbitrary<Op> = FastCheck.oneof(
        FastCheck.record({ op: FastCheck.constant("set" as const), key, value: FastCheck.integer() }),
        FastCheck.record({ op: FastCheck.constant("get" as const), key }),
        FastCheck.record({ op: FastCheck.constant("wait" as const), millis: FastCheck.integer({ min: 0, max: 400 }) })
      )
      const runs = FastCheck.sample(
        FastCheck.record({
          maxEntries: FastCheck.integer({ min: 1, max: 4 }),
          ops: FastCheck.array(op, { maxLength: 40 })
        }),
        { seed: 42, numRuns: 200 }
      )
      for (const { maxEntries, ops } of runs) {
        const cache = StaleCache.unsafeMake<number>({ maxEntries, maxStaleness: "1 second" })
        // The reference: entries in least-recently-used-first order.
        let reference: Array<{ key: string; value: number; at: number }> = []
        let now = yield* TestClock.currentTimeMillis
        for (const step of ops) {
          if (step.op === "wait") {
            yield* TestClock.adjust(Duration.millis(step.millis))
            now += step.millis
          } else if (step.op === "set") {
            yield* cache.set(step.key, step.value)
            reference = reference.filter((entry) => entry.key !== step.key)
            if (reference.length >= maxEntries) reference.shift()
            reference.push({ key: step.key, value: step.value, at: now })
          } else {
            const found = reference.find((entry) => entry.key === step.key)
            reference = reference.filter((entry) => entry.key !== step.key)
            let expected: Option.Option<{ value: number; age: Duration.Duration }> = Option.none()
            if (found !== undefined && now - found.at <= 1000) {
              reference.push(found)
              expected = Option.some({ value: found.value, age: Duration.millis(now - found.at) })
            }
            const actual = Option.map(yield* cache.get(step.key), (entry) => ({ value: entry.value, age: entry.age }))
            expect(actual).toEqual(expected)
          }
          expect(yield* cache.size).toBe(reference.length)
        }
      }
    }))

  it.effect("an earlier call that answers after a later one does not replace the later one's answer", () =>
    Effect.gen(function*() {
      const answer = <A>(value: A, millis: number) => Effect.as(Effect.sleep(Duration.millis(millis)), value)
      for (const run of ["serve", "remember"] as const) {
        const cache = yield* StaleCache.make<string>({ maxEntries: 10, maxStaleness: "1 hour" })
        const through = (self: Effect.Effect<string>) =>
          run === "serve"
            ? Effect.map(StaleCache.serve(self, cache, "k"), (a) => a.value)
            : StaleCache.remember(self, cache, "k")
        const start = yield* TestClock.currentTimeMillis
        // the older call (100 ms) answers after the newer one (started 1 ms later, 10 ms): its answer is older data
        const older = yield* Effect.fork(through(answer("older", 100)))
        yield* TestClock.adjust("1 millis")
        const newer = yield* Effect.fork(through(answer("newer", 10)))
        yield* TestClock.adjust("100 millis")
        // each caller still gets its own answer
        expect([yield* Fiber.join(older), yield* Fiber.join(newer)]).toEqual(["older", "newer"])
        expect(Option.map(yield* cache.get("k"), (e) => [e.value, e.storedAt - start])).toEqual(
          Option.some(["newer", 11])
        )
        // a call started after both stores its answer as usual
        yield* through(answer("latest", 0))
        expect(Option.map(yield* cache.get("k"), (e) => e.value)).toEqual(Option.some("latest"))
      }
    }))

  it.effect("a call that started before a set or invalidate of its key does not store its answer", () =>
    Effect.gen(function*() {
      const answer = <A>(value: A) => Effect.as(Effect.sleep("100 millis"), value)
      for (const run of ["serve", "remember"] as const) {
        const cache = yield* StaleCache.make<string>({ maxEntries: 10, maxStaleness: "1 hour" })
        const through = (self: Effect.Effect<string>) =>
          run === "serve"
            ? Effect.map(StaleCache.serve(self, cache, "k"), (a) => a.value)
            : StaleCache.remember(self, cache, "k")
        // a set while a call is out: the call's caller gets its answer, the cache keeps what was set
        const beforeSet = yield* Effect.fork(through(answer("read before the set")))
        yield* TestClock.adjust("1 millis")
        yield* cache.set("k", "set")
        yield* TestClock.adjust("100 millis")
        expect(yield* Fiber.join(beforeSet)).toBe("read before the set")
        expect(Option.map(yield* cache.get("k"), (e) => e.value)).toEqual(Option.some("set"))
        // an invalidate while a call is out: the call does not put back what it read
        const beforeInvalidate = yield* Effect.fork(through(answer("read before the invalidate")))
        yield* TestClock.adjust("1 millis")
        yield* cache.invalidate("k")
        yield* TestClock.adjust("100 millis")
        expect(yield* Fiber.join(beforeInvalidate)).toBe("read before the invalidate")
        expect(yield* cache.get("k")).toEqual(Option.none())
        // another key's set does not hold back a call, and a call started after the invalidate stores as usual
        const after = yield* Effect.fork(through(answer("read after")))
        yield* TestClock.adjust("1 millis")
        yield* cache.set("other", "x")
        yield* TestClock.adjust("100 millis")
        expect(yield* Fiber.join(after)).toBe("read after")
        expect(Option.map(yield* cache.get("k"), (e) => e.value)).toEqual(Option.some("read after"))
      }
    }))

  it.effect("an earlier call's answer is stored when the later call failed", () =>
    Effect.gen(function*() {
      const cache = yield* StaleCache.make<string>({ maxEntries: 10, maxStaleness: "1 hour" })
      const older = yield* Effect.fork(StaleCache.serve(Effect.as(Effect.sleep("100 millis"), "older"), cache, "k"))
      yield* TestClock.adjust("1 millis")
      yield* Effect.either(StaleCache.serve(Effect.fail("down"), cache, "k"))
      yield* TestClock.adjust("100 millis")
      expect((yield* Fiber.join(older)).value).toBe("older")
      expect(Option.map(yield* cache.get("k"), (e) => e.value)).toEqual(Option.some("older"))
    }))

  it.effect("the write order is kept however many other keys are written while a call runs", () =>
    Effect.gen(function*() {
      // found by model-StaleCache.test.ts: past 64 keys written while calls ran, the order was forgotten, and a call
      // that started before an invalidate (or before a later call that stored) stored its older answer after all
      const cache = yield* StaleCache.make<string>({ maxEntries: 2, maxStaleness: "1 hour" })
      const call = (value: string, millis: number) =>
        StaleCache.serve(Effect.as(Effect.sleep(Duration.millis(millis)), value), cache, "k")
      const beforeInvalidate = yield* Effect.fork(call("read before the invalidate", 100))
      const older = yield* Effect.fork(call("older", 100))
      yield* TestClock.adjust("1 millis")
      yield* cache.invalidate("k")
      // a newer call answers first and is stored
      const newer = yield* Effect.fork(call("newer", 10))
      yield* TestClock.adjust("50 millis")
      expect((yield* Fiber.join(newer)).value).toBe("newer")
      for (let i = 0; i < 200; i++) yield* cache.invalidate(`other-${i}`)
      // the two that started before it, and before the invalidate, answer their callers but store nothing
      yield* TestClock.adjust("50 millis")
      expect((yield* Fiber.join(older)).value).toBe("older")
      expect((yield* Fiber.join(beforeInvalidate)).value).toBe("read before the invalidate")
      expect(Option.map(yield* cache.get("k"), (e) => e.value)).toEqual(Option.some("newer"))
    }))

  it("rejects a size that is not a positive integer", () => {
    expect(() => StaleCache.unsafeMake({ maxEntries: 0, maxStaleness: "1 second" })).toThrow(RangeError)
    expect(() => StaleCache.unsafeMake({ maxEntries: 1.5, maxStaleness: "1 second" })).toThrow(RangeError)
    // a staleness that is no duration is named, as a size is
    expect(() => StaleCache.unsafeMake({ maxEntries: 1, maxStaleness: "a while" as Duration.DurationInput })).toThrow(
      /StaleCache: maxStaleness is not a duration/
    )
    expect(() => StaleCache.unsafeMake({ maxEntries: 1, maxStaleness: Duration.infinity })).not.toThrow()
  })

  it("rejects a negative or NaN maxStaleness, which Effect would read as zero", () => {
    for (const maxStaleness of [-1, "-5 seconds", BigInt(-1), [-1, 0]] as const) {
      expect(() => StaleCache.unsafeMake({ maxEntries: 1, maxStaleness })).toThrow(
        /StaleCache: maxStaleness \(.*\) must not be negative/
      )
    }
    expect(() => StaleCache.unsafeMake({ maxEntries: 1, maxStaleness: Number.NaN })).toThrow(
      "StaleCache: maxStaleness (NaN) is not a duration"
    )
    expect(() => StaleCache.unsafeMake({ maxEntries: 1, maxStaleness: 0 })).not.toThrow()
  })
})
