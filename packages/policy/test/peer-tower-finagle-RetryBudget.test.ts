// Ported from tower's tower/src/retry/budget/tps_budget.rs `mod tests` (tower-rs/tower, commit
// 8358ee712c4050650737e361fba242aa8c798ce2) and Finagle's finagle-core/src/test/scala/com/twitter/finagle/service/
// RetryBudgetTest.scala (twitter/finagle, commit 4feb34cb949918c572a6152327212e062527bd62), one `it` per case, named
// after it.
// Mapping: tower's `TpsBudget::new(ttl, min_per_sec, retry_percent)` and Finagle's `RetryBudget(ttl, minRetriesPerSec,
// percentCanRetry)` are `RetryBudget.make({ window: ttl, minRetries: ttl in seconds × min_per_sec, ratio:
// retry_percent })`; both keep ten slots over the ttl, as Sturdy does. `deposit()` is `deposit(key)`, `withdraw()` /
// `tryWithdraw()` is `withdraw(key)`, Finagle's `balance` is `stats(key).available`. tokio's paused time and Finagle's
// `Time.withCurrentTimeFrozen` are the TestClock (which only moves when told). `RetryBudget.Empty` is `{ minRetries: 0,
// ratio: 0 }`; `RetryBudget.Infinite` is an infinite floor. Every case runs twice: on the in-memory budget and on a
// budget on a shared store (`RetryBudgetStore.makeBudget` on `layerMemory`), which is to decide alike (Finagle's
// 10,000 requests of `testBudget` are 1,000 there: each withdrawal is a store operation).
// Deliberate differences (each test says which): a fraction of a retry allows one (tower's integer tokens need a whole
// withdrawal's worth: with ratio 0.5 one deposit allows none, in Sturdy one); a window longer than 60 seconds is
// accepted (tower and Finagle bound the ttl to [1 s, 60 s], Sturdy only asks for a finite positive duration); the
// infinite budget's `available` is infinite (Finagle reports a nominal balance of 100).
// Not ported: RetryBudgetCompilationTest.java (the Java API), Finagle's `rb == RetryBudget.Empty` identity (Sturdy
// returns no shared instance; the case checks the behaviour instead).
import { describe, expect, it } from "@effect/vitest"
import * as RetryBudget from "@sturdy/policy/RetryBudget"
import * as RetryBudgetStore from "@sturdy/policy/RetryBudgetStore"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"

const KEY = "svc"

type Make = (
  options: RetryBudget.RetryBudget.Options
) => Effect.Effect<RetryBudget.RetryBudget.Service, never, Scope.Scope>
const backends: Array<[string, Make, number]> = [
  ["in memory", RetryBudget.make, 10_000],
  [
    "on a shared store",
    (options) => Effect.provide(RetryBudgetStore.makeBudget(options), RetryBudgetStore.layerMemory),
    1_000
  ]
]

describe.each(backends)("%s", (_, make, nReqs) => {
  // TpsBudget::new / RetryBudget(ttl, minRetriesPerSec, percentCanRetry)
  const tps = (ttlSeconds: number, minPerSec: number, percent: number) =>
    make({ window: Duration.seconds(ttlSeconds), minRetries: ttlSeconds * minPerSec, ratio: percent })

  describe("tower tps_budget.rs", () => {
    it.scoped("tps_empty", () =>
      Effect.gen(function*() {
        const bgt = yield* tps(1, 0, 1.0)
        expect(yield* bgt.withdraw(KEY)).toBe(false)
      }))

    it.scoped("tps_leaky", () =>
      Effect.gen(function*() {
        const bgt = yield* tps(1, 0, 1.0)
        yield* bgt.deposit(KEY)
        yield* TestClock.adjust("3 seconds")
        expect(yield* bgt.withdraw(KEY)).toBe(false)
      }))

    it.scoped("tps_slots", () =>
      Effect.gen(function*() {
        const bgt = yield* tps(1, 0, 0.5)
        yield* bgt.deposit(KEY)
        yield* bgt.deposit(KEY)
        yield* TestClock.adjust("901 millis")
        // 900ms later, the deposit should still be valid
        expect(yield* bgt.withdraw(KEY)).toBe(true)

        // blank slate
        yield* TestClock.adjust("2001 millis")
        expect(yield* bgt.stats(KEY)).toEqual({ requests: 0, retries: 0, available: 0 })

        yield* bgt.deposit(KEY)
        yield* TestClock.adjust("301 millis")
        yield* bgt.deposit(KEY)
        yield* TestClock.adjust("801 millis")
        yield* bgt.deposit(KEY)

        // the first deposit is expired, but the 2nd should still be valid, combining with the 3rd. (In Sturdy the 3rd
        // alone would allow a retry, half a retry being one: the window's count shows the 2nd is still there.)
        expect(yield* bgt.stats(KEY)).toEqual({ requests: 2, retries: 0, available: 1 })
        expect(yield* bgt.withdraw(KEY)).toBe(true)
      }))

    it.scoped("tps_reserve", () =>
      Effect.gen(function*() {
        const bgt = yield* tps(1, 5, 1.0)
        for (let i = 0; i < 5; i++) expect(yield* bgt.withdraw(KEY)).toBe(true)

        expect(yield* bgt.withdraw(KEY)).toBe(false)
      }))
  })

  // Finagle's testBudget: with the clock frozen, 10,000 requests (`nReqs`) each followed by a retry attempt; a
  // refused attempt leaves a balance of 0, and floor(nReqs × percentCanRetry) + minRetries retries are granted, give
  // or take one.
  const testBudget = (options: { ttl?: number; minRetriesPerSec?: number; percentCanRetry?: number } = {}) =>
    Effect.gen(function*() {
      const ttl = options.ttl ?? 60
      const minRetriesPerSec = options.minRetriesPerSec ?? 0
      const percentCanRetry = options.percentCanRetry ?? 0
      const rb = yield* tps(ttl, minRetriesPerSec, percentCanRetry)

      // check initial conditions
      const minRetries = ttl * minRetriesPerSec
      expect((yield* rb.stats(KEY)).available).toBe(minRetries)
      if (minRetries === 0) expect(yield* rb.withdraw(KEY)).toBe(false)

      let retried = 0
      for (let i = 0; i < nReqs; i++) {
        yield* rb.deposit(KEY)
        if (yield* rb.withdraw(KEY)) retried += 1
        else expect((yield* rb.stats(KEY)).available, `request ${i}`).toBe(0)
      }

      const expectedRetries = Math.floor(nReqs * percentCanRetry) + minRetries
      expect(Math.abs(retried - expectedRetries), `percentCanRetry=${percentCanRetry}`).toBeLessThanOrEqual(1)
    })

  describe("Finagle RetryBudgetTest.scala", () => {
    it.scoped("Empty", () =>
      Effect.gen(function*() {
        const rb = yield* make({ minRetries: 0, ratio: 0 })
        expect((yield* rb.stats(KEY)).available).toBe(0)
        expect(yield* rb.withdraw(KEY)).toBe(false)

        yield* rb.deposit(KEY)
        expect((yield* rb.stats(KEY)).available).toBe(0)
        expect(yield* rb.withdraw(KEY)).toBe(false)
      }))

    it.scoped("Infinite", () =>
      Effect.gen(function*() {
        const rb = yield* make({ minRetries: Infinity })
        // Finagle reports a nominal balance of 100; here the floor is infinite
        expect((yield* rb.stats(KEY)).available).toBe(Infinity)
        expect(yield* rb.withdraw(KEY)).toBe(true)

        yield* rb.deposit(KEY)
        expect((yield* rb.stats(KEY)).available).toBe(Infinity)
        expect(yield* rb.withdraw(KEY)).toBe(true)
      }))

    it("apply ttl bounds check", () => {
      expect(() => RetryBudget.unsafeMake({ window: Duration.zero, minRetries: 5, ratio: 0.1 })).toThrow(RangeError)
      // Finagle (and tower) refuse a ttl over 60 seconds; Sturdy takes any finite positive window
      expect(() => RetryBudget.unsafeMake({ window: Duration.seconds(61), minRetries: 5, ratio: 0.1 })).not.toThrow()
    })

    it("apply minRetriesPerSec bounds check", () => {
      expect(() => RetryBudget.unsafeMake({ window: Duration.seconds(10), minRetries: -10, ratio: 0.1 })).toThrow(
        RangeError
      )
    })

    it("apply maxPercentOver bounds", () => {
      expect(() => RetryBudget.unsafeMake({ window: Duration.seconds(10), minRetries: 0, ratio: -1.0 })).toThrow(
        RangeError
      )
    })

    it.scoped("apply minRetriesPerSec=0 maxPercentOver=0 should be empty", () =>
      Effect.gen(function*() {
        const rb = yield* tps(10, 0, 0.0)
        // behaves as Empty (Finagle returns the Empty instance itself)
        expect(yield* rb.withdraw(KEY)).toBe(false)
        yield* rb.deposit(KEY)
        expect(yield* rb.withdraw(KEY)).toBe(false)
        expect((yield* rb.stats(KEY)).available).toBe(0)
      }))

    it.scoped("apply minRetriesPerSec=0", () =>
      Effect.gen(function*() {
        // every 10 reqs should give 1 retry
        yield* testBudget({ percentCanRetry: 0.1 })
        // every 2 reqs should give 1 retry
        yield* testBudget({ percentCanRetry: 0.5 })
        // every 4 reqs should give 1 retry
        yield* testBudget({ percentCanRetry: 0.25 })
        // every 4 reqs should give 3 retries
        yield* testBudget({ percentCanRetry: 0.75 })
        // high and and low percentages
        for (const percentCanRetry of [0.99, 0.999, 0.9999, 0.01, 0.001, 0.0001]) {
          yield* testBudget({ percentCanRetry })
        }
      }))

    it.scoped("apply minRetries=0 maxPercentOver greater than 1.0", () =>
      Effect.gen(function*() {
        const percent = 2.0
        const rb = yield* tps(60, 0, percent)

        // check initial conditions
        expect((yield* rb.stats(KEY)).available).toBe(0)
        expect(yield* rb.withdraw(KEY)).toBe(false)

        const nReqs = 10_000
        for (let i = 0; i < nReqs; i++) yield* rb.deposit(KEY)

        expect((yield* rb.stats(KEY)).available).toBe(Math.floor(nReqs * percent))
      }))

    it.scoped("apply with minRetries and maxPercentOver=0", () =>
      Effect.gen(function*() {
        yield* testBudget({ ttl: 1, minRetriesPerSec: 10, percentCanRetry: 0.0 })
        yield* testBudget({ ttl: 2, minRetriesPerSec: 5, percentCanRetry: 0.0 })
      }))

    it.scoped("apply with minRetries and maxPercentOver", () =>
      Effect.gen(function*() {
        yield* testBudget({ ttl: 1, minRetriesPerSec: 10, percentCanRetry: 0.1 })
        yield* testBudget({ ttl: 2, minRetriesPerSec: 5, percentCanRetry: 0.5 })
      }))
  })
})
