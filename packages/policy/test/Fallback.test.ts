import { describe, expect, it } from "@effect/vitest"
import * as Fallback from "@sturdy/policy/Fallback"
import * as StaleCache from "@sturdy/policy/StaleCache"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"

class Unavailable extends Data.TaggedError("Unavailable")<{ readonly source: string }> {}
class NotFound extends Data.TaggedError("NotFound")<{ readonly sku: string }> {}
class CacheNotConfigured extends Data.TaggedError("CacheNotConfigured")<{}> {}

class Prices extends Context.Tag("test/Prices")<Prices, {
  readonly price: (sku: string) => Effect.Effect<number, Unavailable | NotFound>
}>() {}

// A source whose calls are counted and whose health the test switches.
const makeSource = (name: string, price: number) => {
  const state = { calls: 0, healthy: true, notFound: false }
  const layer = Layer.succeed(Prices, {
    price: (sku) =>
      Effect.suspend((): Effect.Effect<number, Unavailable | NotFound> => {
        state.calls++
        if (state.notFound) return Effect.fail(new NotFound({ sku }))
        return state.healthy ? Effect.succeed(price) : Effect.fail(new Unavailable({ source: name }))
      })
  })
  return { state, layer }
}

const priceOf = (sku: string) => Effect.flatMap(Prices, (prices) => prices.price(sku))

describe("Fallback", () => {
  describe("run (layers)", () => {
    it.effect("each step of the chain answers with its provenance", () =>
      Effect.gen(function*() {
        const primary = makeSource("primary", 10)
        const alternative = makeSource("alternative", 11)
        const plan = Fallback.make(
          { source: "primary", layer: primary.layer },
          { source: "alternative", layer: alternative.layer },
          { source: "default", layer: Layer.succeed(Prices, { price: () => Effect.succeed(0) }) }
        )
        const call = priceOf("sku-1").pipe(Fallback.run(plan))

        const fresh = yield* call
        expect(fresh).toEqual({ value: 10, source: "primary", failures: [], age: Option.none() })
        expect(Fallback.isDegraded(fresh)).toBe(false)

        primary.state.healthy = false
        const second = yield* call
        expect(second).toEqual({
          value: 11,
          source: "alternative",
          failures: [{ source: "primary", error: new Unavailable({ source: "primary" }) }],
          age: Option.none()
        })
        expect(Fallback.isDegraded(second)).toBe(true)

        alternative.state.healthy = false
        const last = yield* call
        expect(last.source).toBe("default")
        expect(last.value).toBe(0)
        expect(last.failures.map((failure) => failure.source)).toEqual(["primary", "alternative"])
        expect(primary.state.calls).toBe(3)
        expect(alternative.state.calls).toBe(2)
      }))

    it.effect("when every source fails, the last failure is returned", () =>
      Effect.gen(function*() {
        const primary = makeSource("primary", 10)
        const alternative = makeSource("alternative", 11)
        primary.state.healthy = false
        alternative.state.healthy = false
        const plan = Fallback.make(
          { source: "primary", layer: primary.layer },
          { source: "alternative", layer: alternative.layer }
        )
        const exit = yield* Effect.exit(priceOf("sku-1").pipe(Fallback.run(plan)))
        expect(exit).toStrictEqual(Exit.fail(new Unavailable({ source: "alternative" })))
      }))

    it.effect("a layer that fails to build counts as that source's failure", () =>
      Effect.gen(function*() {
        const plan = Fallback.make(
          { source: "cache", layer: Layer.fail(new CacheNotConfigured()) },
          { source: "primary", layer: makeSource("primary", 10).layer }
        )
        const answer = yield* priceOf("sku-1").pipe(Fallback.run(plan))
        expect(answer.source).toBe("primary")
        expect(answer.failures).toEqual([{ source: "cache", error: new CacheNotConfigured() }])
      }))

    it.effect("while: false returns the failure at once (a NotFound is not sent to the default)", () =>
      Effect.gen(function*() {
        const primary = makeSource("primary", 10)
        const alternative = makeSource("alternative", 11)
        primary.state.notFound = true
        const plan = Fallback.make(
          { source: "primary", layer: primary.layer },
          { source: "alternative", layer: alternative.layer }
        )
        const exit = yield* Effect.exit(
          priceOf("sku-1").pipe(Fallback.run(plan, { while: (error) => error._tag !== "NotFound" }))
        )
        expect(exit).toStrictEqual(Exit.fail(new NotFound({ sku: "sku-1" })))
        expect(alternative.state.calls).toBe(0)
      }))

    it.effect("a step retried on its schedule records each failed attempt", () =>
      Effect.gen(function*() {
        const primary = makeSource("primary", 10)
        primary.state.healthy = false
        const plan = Fallback.make(
          { source: "primary", layer: primary.layer, attempts: 3, schedule: Schedule.spaced("100 millis") },
          { source: "default", layer: Layer.succeed(Prices, { price: () => Effect.succeed(0) }) }
        )
        const fiber = yield* Effect.fork(priceOf("sku-1").pipe(Fallback.run(plan)))
        yield* TestClock.adjust("1 second")
        const answer = yield* Fiber.join(fiber)
        expect(answer.source).toBe("default")
        expect(primary.state.calls).toBe(3)
        expect(answer.failures.map((failure) => failure.source)).toEqual(["primary", "primary", "primary"])
      }))

    it.effect("a later source with a schedule is tried at once; only its retries wait the schedule", () =>
      Effect.gen(function*() {
        const primary = makeSource("primary", 10)
        primary.state.healthy = false
        const replica = makeSource("replica", 20)
        const plan = Fallback.make(
          { source: "primary", layer: primary.layer },
          { source: "replica", layer: replica.layer, attempts: 2, schedule: Schedule.spaced("1 second") }
        )
        // the replica answers at its first try, with no wait (not one second later)
        const first = yield* Effect.fork(priceOf("sku-1").pipe(Fallback.run(plan)))
        yield* TestClock.adjust("999 millis")
        expect(first.unsafePoll()).not.toBeNull()
        expect(yield* Fiber.join(first)).toMatchObject({ value: 20, source: "replica" })
        replica.state.healthy = false
        const fiber = yield* Effect.fork(Effect.exit(priceOf("sku-1").pipe(Fallback.run(plan))))
        yield* TestClock.adjust("999 millis")
        // first try at once, the retry after one second
        expect(replica.state.calls).toBe(2)
        expect(fiber.unsafePoll()).toBeNull()
        yield* TestClock.adjust("1 millis")
        expect(yield* Fiber.join(fiber)).toStrictEqual(Exit.fail(new Unavailable({ source: "replica" })))
        expect(replica.state.calls).toBe(3)
      }))

    it.effect("a later source retried on a schedule alone gets as many tries as the first source would", () =>
      Effect.gen(function*() {
        const primary = makeSource("primary", 10)
        primary.state.healthy = false
        const replica = makeSource("replica", 20)
        replica.state.healthy = false
        const retried = Schedule.recurs(2)
        const plan = Fallback.make(
          { source: "primary", layer: primary.layer, schedule: retried },
          { source: "replica", layer: replica.layer, schedule: retried }
        )
        const exit = yield* Effect.exit(priceOf("sku-1").pipe(Fallback.run(plan)))
        expect(exit).toStrictEqual(Exit.fail(new Unavailable({ source: "replica" })))
        // one try and two retries each
        expect(primary.state.calls).toBe(3)
        expect(replica.state.calls).toBe(3)
      }))

    it.effect("a cache source built on StaleCache marks its answer with its age", () =>
      Effect.gen(function*() {
        const primary = makeSource("primary", 10)
        const cache = yield* StaleCache.make<number>({ maxEntries: 10, maxStaleness: "1 minute" })
        const remembering = Layer.effect(
          Prices,
          Effect.map(
            Prices,
            (prices) => ({ price: (sku: string) => StaleCache.remember(prices.price(sku), cache, sku) })
          )
        ).pipe(Layer.provide(primary.layer))
        const cached = Layer.succeed(Prices, {
          price: (sku: string) =>
            StaleCache.lookup(cache, sku).pipe(
              Effect.catchTag("NoStaleAnswer", () => Effect.fail(new Unavailable({ source: "cache" })))
            )
        })
        const plan = Fallback.make({ source: "primary", layer: remembering }, { source: "cache", layer: cached })
        const call = priceOf("sku-1").pipe(Fallback.run(plan))
        expect((yield* call).source).toBe("primary")
        primary.state.healthy = false
        yield* TestClock.adjust("20 seconds")
        const stale = yield* call
        expect(stale).toMatchObject({ value: 10, source: "cache", age: Option.some(Duration.seconds(20)) })
        expect(Fallback.isDegraded(stale)).toBe(true)
      }))

    it("rejects attempts below 1", () => {
      expect(() => Fallback.make({ source: "primary", layer: Layer.empty, attempts: 0 })).toThrow(RangeError)
      // a fraction of an attempt means nothing either
      expect(() => Fallback.make({ source: "primary", layer: Layer.empty, attempts: 1.5 })).toThrow(
        /step\[0\] \(primary\) attempts must be an integer of at least 1/
      )
      expect(() => Fallback.make({ source: "primary", layer: Layer.empty, attempts: 3 })).not.toThrow()
    })
  })

  describe("firstOf and orElse (per call)", () => {
    it.effect("firstOf tries the sources in key order", () =>
      Effect.gen(function*() {
        const tried: Array<string> = []
        const source = <A>(name: string, answer: Exit.Exit<A, Unavailable>) =>
          Effect.suspend(() => {
            tried.push(name)
            return answer
          })
        const answer = yield* Fallback.firstOf({
          primary: source("primary", Exit.fail(new Unavailable({ source: "primary" }))),
          mirror: source("mirror", Exit.succeed("from mirror")),
          default: source("default", Exit.succeed(0))
        })
        expect(tried).toEqual(["primary", "mirror"])
        const source_: "primary" | "mirror" | "default" = answer.source
        expect(source_).toBe("mirror")
        expect(answer.value).toBe("from mirror")
        expect(answer.failures).toEqual([{ source: "primary", error: new Unavailable({ source: "primary" }) }])

        const exit = yield* Effect.exit(
          Fallback.firstOf({ a: Effect.fail(new NotFound({ sku: "x" })), b: Effect.succeed(1) }, {
            while: (error) => error._tag !== "NotFound"
          })
        )
        expect(exit).toStrictEqual(Exit.fail(new NotFound({ sku: "x" })))
      }))

    it.effect("firstOf with a stale lookup carries the age", () =>
      Effect.gen(function*() {
        const cache = StaleCache.unsafeMake<number>({ maxEntries: 10, maxStaleness: "1 minute" })
        yield* cache.set("k", 7)
        yield* TestClock.adjust("5 seconds")
        const answer = yield* Fallback.firstOf({
          primary: Effect.fail(new Unavailable({ source: "primary" })),
          stale: StaleCache.lookup(cache, "k")
        })
        expect(answer).toEqual({
          value: 7,
          source: "stale",
          failures: [{ source: "primary", error: new Unavailable({ source: "primary" }) }],
          age: Option.some(Duration.seconds(5))
        })
      }))

    it.effect("orElse names both sides", () =>
      Effect.gen(function*() {
        const ok = yield* Effect.succeed(1).pipe(Fallback.orElse(Effect.succeed("zero")))
        expect(ok).toEqual(Fallback.fresh(1, "primary"))
        const fellBack = yield* Fallback.orElse(
          Effect.fail(new Unavailable({ source: "api" })),
          Effect.succeed(0),
          { source: "api", fallback: "default" }
        )
        expect(fellBack).toEqual({
          value: 0,
          source: "default",
          failures: [{ source: "api", error: new Unavailable({ source: "api" }) }],
          age: Option.none()
        })
      }))

    it.effect("orElse with while: a failure it rejects is returned as is, and the fallback does not run", () =>
      Effect.gen(function*() {
        let fallbacks = 0
        const backup = Effect.sync(() => ++fallbacks)
        const upstream = (error: Unavailable | NotFound): Effect.Effect<number, Unavailable | NotFound> =>
          Effect.fail(error)
        const isDown = (e: Unavailable | NotFound) => e._tag === "Unavailable"
        // data-last: the failure type keeps the primary's failures
        const missing: Effect.Effect<
          Fallback.Provenanced<number, Unavailable | NotFound, string>,
          NotFound | Unavailable
        > = upstream(new NotFound({ sku: "x" })).pipe(Fallback.orElse(backup, { while: isDown }))
        expect(yield* Effect.flip(missing)).toEqual(new NotFound({ sku: "x" }))
        // data-first, with named sources
        const down = yield* Fallback.orElse(upstream(new Unavailable({ source: "api" })), backup, {
          source: "api",
          fallback: "default",
          while: (e) => e._tag === "Unavailable"
        })
        expect(down).toMatchObject({ value: 1, source: "default" })
        expect(fallbacks).toBe(1)
        // without while, any failure falls back and the primary's failures leave the type
        const always: Effect.Effect<Fallback.Provenanced<number, Unavailable | NotFound, string>> = upstream(
          new NotFound({ sku: "x" })
        ).pipe(Fallback.orElse(backup))
        expect((yield* always).source).toBe("fallback")
      }))
  })
})
