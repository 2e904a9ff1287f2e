import { describe, expect, it } from "@effect/vitest"
import * as RetryBudget from "@sturdy/policy/RetryBudget"
import * as RetryBudgetStore from "@sturdy/policy/RetryBudgetStore"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"
import { wallClockStep } from "./utils/wallClockStep.js"

const withdrawMany = (budget: RetryBudget.RetryBudget.Service, key: string, n: number) =>
  Effect.map(Effect.replicateEffect(budget.withdraw(key), n), (results) => results.filter(Boolean).length)

// the heap in use after collecting garbage (the tests run with --expose-gc)
const heapMB = (): number => {
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  gc?.()
  return process.memoryUsage().heapUsed / 1024 / 1024
}

describe("RetryBudget", () => {
  it.effect("allows the floor of retries with no traffic, then refuses", () =>
    Effect.gen(function*() {
      const budget = yield* RetryBudget.make({ minRetries: 10 })
      expect(yield* withdrawMany(budget, "api", 15)).toBe(10)
      expect(yield* budget.stats("api")).toEqual({ requests: 0, retries: 10, available: 0 })
    }))

  it.effect("allows ratio × requests on top of the floor", () =>
    Effect.gen(function*() {
      const budget = yield* RetryBudget.make()
      yield* Effect.replicateEffect(budget.deposit("api"), 100)
      expect(yield* budget.stats("api")).toEqual({ requests: 100, retries: 0, available: 30 })
      expect(yield* withdrawMany(budget, "api", 100)).toBe(30)
    }))

  it.effect("a fraction of a retry allows one: ratio 0.5 with one request allows one retry, with two one", () =>
    Effect.gen(function*() {
      const budget = yield* RetryBudget.make({ ratio: 0.5, minRetries: 0 })
      yield* budget.deposit("api")
      expect(yield* budget.stats("api")).toEqual({ requests: 1, retries: 0, available: 1 })
      expect(yield* withdrawMany(budget, "api", 3)).toBe(1)
      yield* budget.deposit("api")
      expect(yield* budget.stats("api")).toEqual({ requests: 2, retries: 1, available: 0 })
      expect(yield* withdrawMany(budget, "api", 3)).toBe(0)
    }))

  it.effect("ratio 0.07 with 100 requests allows 7 retries, not 8 (0.07 × 100 is 7.000000000000001 in floating point)", () =>
    Effect.gen(function*() {
      for (const [ratio, requests, allowed] of [[0.07, 100, 7], [0.28, 25, 7], [0.55, 100, 55], [0.56, 25, 14]]) {
        // one store for every case: a key of its own each
        const key = `api-${ratio}`
        const budget = yield* RetryBudget.make({ ratio, minRetries: 0 })
        const shared = yield* RetryBudgetStore.makeBudget({ ratio, minRetries: 0 })
        for (let i = 0; i < requests!; i++) {
          yield* budget.deposit(key)
          yield* shared.deposit(key)
        }
        expect(yield* budget.stats(key)).toEqual({ requests, retries: 0, available: allowed })
        expect(yield* withdrawMany(budget, key, allowed! + 3)).toBe(allowed)
        expect(yield* withdrawMany(shared, key, allowed! + 3)).toBe(allowed)
        expect(yield* shared.stats(key)).toEqual({ requests, retries: allowed, available: 0 })
      }
    }).pipe(Effect.scoped, Effect.provide(RetryBudgetStore.layerMemory)))

  it.effect("decides as a budget on a shared store does, request by request, and reports the same stats", () =>
    Effect.gen(function*() {
      const cases = [{ ratio: 0.5, minRetries: 0 }, { ratio: 0.3, minRetries: 1 }, { ratio: 0.2 }]
      for (const [index, options] of cases.entries()) {
        // one store for every case: a key of its own each
        const key = `api-${index}`
        const memory = yield* RetryBudget.make(options)
        const shared = yield* RetryBudgetStore.makeBudget(options)
        const decisions = { memory: [] as Array<boolean>, shared: [] as Array<boolean> }
        for (let i = 0; i < 30; i++) {
          yield* memory.deposit(key)
          yield* shared.deposit(key)
          expect(yield* memory.stats(key)).toEqual(yield* shared.stats(key))
          // a failing call asks for a retry after every request, and a second one after every third
          for (let n = i % 3 === 0 ? 2 : 1; n > 0; n--) {
            decisions.memory.push(yield* memory.withdraw(key))
            decisions.shared.push(yield* shared.withdraw(key))
          }
        }
        expect(decisions.memory).toEqual(decisions.shared)
        expect(decisions.memory).toContain(false)
      }
    }).pipe(Effect.scoped, Effect.provide(RetryBudgetStore.layerMemory)))

  it.effect("keys are budgeted separately", () =>
    Effect.gen(function*() {
      const budget = yield* RetryBudget.make({ minRetries: 2, ratio: 0 })
      expect(yield* withdrawMany(budget, "a", 5)).toBe(2)
      expect(yield* withdrawMany(budget, "b", 5)).toBe(2)
    }))

  it.effect("the window slides with the Clock: old counts expire, recent ones stay", () =>
    Effect.gen(function*() {
      const budget = yield* RetryBudget.make({ minRetries: 0, ratio: 0.5, window: "10 seconds" })
      yield* Effect.replicateEffect(budget.deposit("api"), 10) // t = 0
      yield* TestClock.adjust("5 seconds")
      yield* Effect.replicateEffect(budget.deposit("api"), 4) // t = 5s
      expect((yield* budget.stats("api")).requests).toBe(14)
      expect(yield* withdrawMany(budget, "api", 10)).toBe(7)
      yield* TestClock.adjust("5 seconds") // t = 10s: the t = 0 slot has left the window
      expect(yield* budget.stats("api")).toEqual({ requests: 4, retries: 7, available: 0 })
      yield* TestClock.adjust("5 seconds") // t = 15s: everything has left
      expect(yield* budget.stats("api")).toEqual({ requests: 0, retries: 0, available: 0 })
    }))

  // a wall clock set back by an hour (an NTP correction) must not keep the old window's counts for that hour: the
  // in-memory window runs on the clock's monotonic time
  it.effect("the window slides with monotonic time: a wall clock set back keeps no count past the window", () =>
    Effect.gen(function*() {
      const { clock, step } = yield* wallClockStep
      const testClock = yield* TestClock.testClock() // `TestClock.adjust` would find the stepped clock
      const budget = yield* RetryBudget.make({ minRetries: 2, ratio: 0, window: "10 seconds" })
      yield* Effect.withClock(
        Effect.gen(function*() {
          yield* budget.deposit("api")
          expect(yield* withdrawMany(budget, "api", 5)).toBe(2)
          step(-3_600_000)
          yield* testClock.adjust("10 seconds")
          expect(yield* budget.stats("api")).toEqual({ requests: 0, retries: 0, available: 2 })
          yield* budget.deposit("api")
          expect(yield* withdrawMany(budget, "api", 5)).toBe(2)
        }),
        clock
      )
    }))

  it.effect("a layer is one budget shared by every fiber", () =>
    Effect.gen(function*() {
      const withdraw = Effect.flatMap(RetryBudget.RetryBudget, (budget) => budget.withdraw("api"))
      const results = yield* Effect.all(Effect.replicate(withdraw, 20), { concurrency: "unbounded" })
      expect(results.filter(Boolean).length).toBe(3)
    }).pipe(Effect.provide(RetryBudget.layer({ minRetries: 3 }))))

  it.effect("layerConfig reads its options from Config", () =>
    Effect.gen(function*() {
      const budget = yield* RetryBudget.RetryBudget
      expect(yield* withdrawMany(budget, "api", 5)).toBe(2)
    }).pipe(
      Effect.provide(
        RetryBudget.layerConfig(Config.all({ minRetries: Config.integer("MIN_RETRIES") })).pipe(
          Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["MIN_RETRIES", "2"]]))))
        )
      )
    ))

  it.effect("rejects invalid options", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(RetryBudget.make({ ratio: -1 }))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(() => RetryBudget.unsafeMake({ window: 0 })).toThrow(RangeError)
      // a string Effect cannot read as a duration (it type-checks) is named, not a bare Error
      expect(() => RetryBudget.unsafeMake({ window: "1e3 millis" as Duration.DurationInput })).toThrow(
        new RangeError("RetryBudget: window (1e3 millis) is not a duration")
      )
    }))

  it("refuses an infinite ratio, which allowed no retry before the first request and reported NaN available", () => {
    expect(() => RetryBudget.unsafeMake({ ratio: Infinity, minRetries: 0 })).toThrow(RangeError)
    expect(() => RetryBudget.unsafeMake({ ratio: Number.POSITIVE_INFINITY })).toThrow(RangeError)
    // an infinite floor still means every retry is allowed
    expect(() => RetryBudget.unsafeMake({ minRetries: Infinity })).not.toThrow()
  })

  describe("keys", () => {
    it.effect("stats of a key never counted into adds nothing: a counted key is not crowded out", () =>
      Effect.gen(function*() {
        const budget = yield* RetryBudget.make({ maxKeys: 2 })
        for (let i = 0; i < 10; i++) yield* budget.deposit("api")
        for (let i = 0; i < 1_000; i++) expect((yield* budget.stats(`unused-${i}`)).requests).toBe(0)
        expect((yield* budget.stats("api")).requests).toBe(10)
      }))

    it.effect("beyond maxKeys the key counted into least recently is dropped", () =>
      Effect.gen(function*() {
        const budget = yield* RetryBudget.make({ maxKeys: 2 })
        yield* budget.deposit("a")
        yield* budget.deposit("b")
        yield* budget.deposit("c")
        expect((yield* budget.stats("a")).requests).toBe(0)
        expect((yield* budget.stats("b")).requests).toBe(1)
        expect((yield* budget.stats("c")).requests).toBe(1)
      }))

    it.effect("50,000 hosts then a day idle: the expired keys are dropped", () =>
      Effect.gen(function*() {
        const budget = yield* RetryBudget.make({ maxKeys: 100_000 })
        const before = heapMB()
        for (let i = 0; i < 50_000; i++) yield* budget.deposit(`host-${i}`)
        expect(heapMB() - before).toBeGreaterThan(10)
        yield* TestClock.adjust("1 day")
        yield* budget.deposit("next")
        expect(heapMB() - before).toBeLessThan(3)
      }), 60_000)

    it("maxKeys must be an integer of at least 1", () => {
      expect(() => RetryBudget.unsafeMake({ maxKeys: 0 })).toThrow(RangeError)
      expect(() => RetryBudgetStore.makeMemory({ maxKeys: 1.5 })).toThrow(RangeError)
    })
  })

  it("defaults: 20% of requests, a floor of 10 per 10 second window", () => {
    expect(RetryBudget.defaults.ratio).toBe(0.2)
    expect(RetryBudget.defaults.minRetries).toBe(10)
    expect(RetryBudget.defaults.maxKeys).toBe(10_000)
  })
})

describe("RetryBudget: options of the wrong type", () => {
  it("a minRetries or ratio that is no number is refused, not concatenated", () => {
    for (const options of [{ minRetries: "5" }, { minRetries: true }, { ratio: "0.2" }, { ratio: Symbol("r") }]) {
      expect(
        () => RetryBudget.unsafeMake(options as unknown as RetryBudget.RetryBudget.Options),
        Object.keys(options)[0]
      )
        .toThrow(RangeError)
    }
  })
})
