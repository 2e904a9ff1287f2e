import { describe, expect, it } from "@effect/vitest"
import * as RetryBudget from "@sturdy/policy/RetryBudget"
import * as RetryBudgetRedis from "@sturdy/policy/RetryBudgetRedis"
import * as RetryBudgetStore from "@sturdy/policy/RetryBudgetStore"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as TestClock from "effect/TestClock"
import { closesWhenMadeMasked } from "./utils/closesWhenMadeMasked.js"
import { describeWithRedis, startRedisServer } from "./utils/redis.js"
import { fallbacksOf } from "./utils/sharedStateMetrics.js"

const withdrawMany = (budget: RetryBudget.RetryBudget.Service, key: string, n: number) =>
  Effect.map(Effect.replicateEffect(budget.withdraw(key), n), (results) => results.filter(Boolean).length)

const depositMany = (budget: RetryBudget.RetryBudget.Service, key: string, n: number) =>
  Effect.replicateEffect(budget.deposit(key), n, { discard: true })

// two "processes": two budgets with their own local state and flush fibers, on one store
const twoProcesses = (options?: RetryBudgetStore.Options) =>
  Effect.gen(function*() {
    const store = RetryBudgetStore.makeMemory()
    const build = RetryBudgetStore.makeBudget(options).pipe(
      Effect.provideService(RetryBudgetStore.RetryBudgetStore, store)
    )
    return [yield* build, yield* build] as const
  })

// a store whose outage the test switches on and off; otherwise a memory store
const switchable = () => {
  const memory = RetryBudgetStore.makeMemory()
  const state = { down: false, hang: false, calls: 0 }
  const store: RetryBudgetStore.RetryBudgetStore.Service = {
    update: (request) =>
      Effect.suspend(() => {
        state.calls++
        if (state.hang) return Effect.never
        return state.down
          ? Effect.fail(new RetryBudgetStore.RetryBudgetStoreError({ key: request.key }))
          : memory.update(request)
      })
  }
  return { store, state }
}

describe("RetryBudgetStore", () => {
  // a fiber inherits its parent's interruptibility: the flush loop forked by a budget made inside a mask ignored
  // the scope's close, which then waited for ever
  it.effect("a budget made inside a mask still lets its scope close", () =>
    Effect.gen(function*() {
      expect(
        yield* closesWhenMadeMasked(RetryBudgetStore.makeBudget().pipe(Effect.provide(RetryBudgetStore.layerMemory)))
      )
        .toBe(true)
    }))

  it.effect("the memory store sums the window that ends at the caller's now, as the Redis store does", () =>
    Effect.gen(function*() {
      // found by model-RetryBudgetRedis: the memory store also summed slots past `now` (a process whose clock is
      // ahead), so two processes with skewed clocks got other answers from it than from Redis
      const store = RetryBudgetStore.makeMemory()
      const request = { key: "k", withdraw: false, windowMillis: 10_000, ratio: 0.1, minRetries: 0 }
      yield* store.update({ ...request, requests: 100, now: 25_000 })
      const behind = yield* store.update({ ...request, requests: 0, withdraw: true, now: 20_000 })
      expect(behind).toEqual({ granted: false, requests: 0, retries: 0 })
      const ahead = yield* store.update({ ...request, requests: 0, withdraw: true, now: 25_500 })
      expect(ahead).toEqual({ granted: true, requests: 100, retries: 1 })
    }))

  it.effect("the memory store: a read of a key it does not hold adds nothing, and keys beyond maxKeys go", () =>
    Effect.gen(function*() {
      const store = RetryBudgetStore.makeMemory({ maxKeys: 2 })
      const request = { requests: 0, withdraw: false, now: 0, windowMillis: 10_000, ratio: 0.2, minRetries: 10 }
      yield* store.update({ ...request, key: "api", requests: 10 })
      for (let i = 0; i < 1_000; i++) yield* store.update({ ...request, key: `unused-${i}` })
      expect((yield* store.update({ ...request, key: "api" })).requests).toBe(10)
      yield* store.update({ ...request, key: "b", requests: 1 })
      yield* store.update({ ...request, key: "c", requests: 1 })
      expect((yield* store.update({ ...request, key: "api" })).requests).toBe(0)
    }))

  it.scoped("a memory store gives the same budget as RetryBudget: the floor, then ratio × requests", () =>
    Effect.gen(function*() {
      const budget = yield* RetryBudgetStore.makeBudget().pipe(Effect.provide(RetryBudgetStore.layerMemory))
      expect(yield* withdrawMany(budget, "api", 15)).toBe(10)
      yield* depositMany(budget, "api", 100)
      // deposits reach the store with the next withdrawal (or the next flush)
      expect(yield* withdrawMany(budget, "api", 40)).toBe(20)
      expect(yield* budget.stats("api")).toEqual({ requests: 100, retries: 30, available: 0 })
    }))

  it.scoped("two processes on one store share one budget: the fleet gets what one process with their traffic would", () =>
    Effect.gen(function*() {
      const [a, b] = yield* twoProcesses()
      yield* depositMany(a, "api", 50)
      yield* depositMany(b, "api", 50)
      yield* TestClock.adjust("100 millis") // one flush
      let granted = 0
      for (let i = 0; i < 30; i++) {
        granted += (yield* a.withdraw("api")) ? 1 : 0
        granted += (yield* b.withdraw("api")) ? 1 : 0
      }
      // 10 + 0.2 × 100, not 2 × (10 + 0.2 × 50)
      expect(granted).toBe(30)
      expect(yield* b.stats("api")).toEqual({ requests: 100, retries: 30, available: 0 })

      // the same traffic on per-process budgets: each process has its own floor
      const c = yield* RetryBudget.make()
      const d = yield* RetryBudget.make()
      yield* depositMany(c, "api", 50)
      yield* depositMany(d, "api", 50)
      expect((yield* withdrawMany(c, "api", 30)) + (yield* withdrawMany(d, "api", 30))).toBe(40)
    }))

  it.scoped("pending requests are flushed every syncInterval, in one store operation per key", () =>
    Effect.gen(function*() {
      const { state, store } = switchable()
      const budget = yield* RetryBudgetStore.makeBudget({ syncInterval: "1 second" }).pipe(
        Effect.provideService(RetryBudgetStore.RetryBudgetStore, store)
      )
      yield* depositMany(budget, "a", 100)
      yield* depositMany(budget, "b", 100)
      expect(state.calls).toBe(0)
      yield* TestClock.adjust("1 second")
      expect(state.calls).toBe(2)
      yield* TestClock.adjust("1 second") // nothing pending, nothing sent
      expect(state.calls).toBe(2)
    }))

  it.scoped("the window slides with the Clock across the fleet", () =>
    Effect.gen(function*() {
      const [a, b] = yield* twoProcesses({ minRetries: 0, ratio: 0.5, window: "10 seconds" })
      yield* depositMany(a, "api", 10)
      yield* TestClock.adjust("5 seconds")
      yield* depositMany(b, "api", 4)
      expect(yield* withdrawMany(b, "api", 10)).toBe(7)
      yield* TestClock.adjust("5 seconds") // the t = 0 slot has left the window
      expect(yield* a.stats("api")).toEqual({ requests: 4, retries: 7, available: 0 })
    }))

  it.scoped("a request counts in the slot of its deposit, not of the flush or retry that adds it to the store", () =>
    Effect.gen(function*() {
      // slots of 100 ms; a request made at 50 ms leaves the window at 1 s, as in the local budget
      const options = { minRetries: 0, ratio: 1, window: "1 second", syncInterval: "100 millis" } as const
      const shared = yield* RetryBudgetStore.makeBudget(options).pipe(Effect.provide(RetryBudgetStore.layerMemory))
      const local = yield* RetryBudget.make(options)
      yield* TestClock.adjust("50 millis")
      yield* shared.deposit("flushed")
      yield* local.deposit("flushed")
      // flushed at 100 ms, in the next slot: it must still leave the window at 1 s
      yield* TestClock.adjust("1 second")
      expect(yield* local.stats("flushed")).toEqual({ requests: 0, retries: 0, available: 0 })
      expect(yield* shared.stats("flushed")).toEqual({ requests: 0, retries: 0, available: 0 })
      expect(yield* shared.withdraw("flushed")).toBe(false)

      // added to the store by a retry in a later slot, before any flush
      const slow = yield* RetryBudgetStore.makeBudget({ ...options, syncInterval: "10 seconds" }).pipe(
        Effect.provide(RetryBudgetStore.layerMemory)
      )
      yield* TestClock.adjust("40 millis") // 1090 ms: slot 10
      yield* slow.deposit("retried")
      yield* TestClock.adjust("20 millis") // 1110 ms: slot 11
      expect(yield* slow.withdraw("retried")).toBe(true)
      yield* TestClock.adjust("950 millis") // 2060 ms: slot 20, the window holds slots 11 to 20
      expect(yield* slow.stats("retried")).toEqual({ requests: 0, retries: 1, available: 0 })
    }))

  it.scoped("a failing store: decisions fall back to the local budget, reported once, and sharing resumes", () => {
    const logs: Array<string> = []
    const logger = Logger.make(({ message }) => logs.push(String(message)))
    return Effect.gen(function*() {
      const { state, store } = switchable()
      const before = yield* fallbacksOf("retry_budget")
      const budget = yield* RetryBudgetStore.makeBudget({ minRetries: 2, ratio: 0 }).pipe(
        Effect.provideService(RetryBudgetStore.RetryBudgetStore, store)
      )
      const other = yield* RetryBudgetStore.makeBudget({ minRetries: 2, ratio: 0 }).pipe(
        Effect.provideService(RetryBudgetStore.RetryBudgetStore, store)
      )
      // the fleet's floor of 2 is spent by another process
      expect(yield* withdrawMany(other, "api", 2)).toBe(2)
      expect(yield* budget.withdraw("api")).toBe(false)

      state.down = true
      // the local budget of this process decides: its own floor of 2, never an error
      expect(yield* withdrawMany(budget, "api", 5)).toBe(2)
      expect((yield* fallbacksOf("retry_budget")) - before).toBe(1)
      expect(logs.filter((line) => line.includes("store failed"))).toHaveLength(1)
      // while down, a retry does not even ask the store
      const calls = state.calls
      yield* budget.withdraw("api")
      expect(state.calls).toBe(calls)

      state.down = false
      yield* depositMany(budget, "api", 1)
      yield* TestClock.adjust("100 millis") // the next flush finds the store again
      expect(logs.filter((line) => line.includes("answers again"))).toHaveLength(1)
      expect(yield* budget.withdraw("api")).toBe(false) // the fleet's floor is spent
      expect((yield* fallbacksOf("retry_budget")) - before).toBe(1)
    }).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
  })

  it.scoped("a store that does not answer holds a retry for at most `timeout`", () =>
    Effect.gen(function*() {
      const { state, store } = switchable()
      const budget = yield* RetryBudgetStore.makeBudget({ timeout: "50 millis" }).pipe(
        Effect.provideService(RetryBudgetStore.RetryBudgetStore, store)
      )
      state.hang = true
      const fiber = yield* Effect.fork(budget.withdraw("api"))
      yield* TestClock.adjust("49 millis")
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      expect(fiber.unsafePoll()).toEqual(Exit.succeed(true)) // the local floor
    }))

  it.effect("refuses a syncInterval or timeout that is not a finite positive duration", () =>
    Effect.gen(function*() {
      for (
        const options of [
          { syncInterval: 0 },
          { timeout: "-1 millis" },
          { syncInterval: Duration.infinity },
          // strings Effect cannot read as durations (they type-check): named, not a bare Error
          { syncInterval: "1e3 millis" },
          { timeout: "soon millis" },
          { window: "1e3 millis" }
        ] as const
      ) {
        const exit = yield* Effect.exit(
          RetryBudgetStore.makeBudget(options as RetryBudgetStore.Options).pipe(
            Effect.provide(RetryBudgetStore.layerMemory),
            Effect.scoped
          )
        )
        expect(Exit.isFailure(exit) && String(exit.cause)).toContain("RangeError")
      }
    }))

  describeWithRedis("RetryBudgetStore on a real redis-server", () => {
    it.live("Redis: processes racing for retries never get more than the fleet's bound", () =>
      Effect.gen(function*() {
        const redis = yield* startRedisServer
        const store = RetryBudgetRedis.layerStore({ host: redis.host, port: redis.port, prefix: "test:" })
        const budgets = yield* Effect.forEach([1, 2, 3, 4], () =>
          Effect.flatMap(Layer.build(store), (context) =>
            Effect.provide(RetryBudgetStore.makeBudget({ minRetries: 5, ratio: 0.1 }), context)))
        yield* Effect.forEach(budgets, (budget) =>
          depositMany(budget, "api", 50), { discard: true })
        const granted = yield* Effect.all(
          budgets.map((budget) =>
            withdrawMany(budget, "api", 20)
          ),
          { concurrency: "unbounded" }
        )
        // 5 + 0.1 × 200 for the fleet, not 4 × (5 + 0.1 × 50)
        expect(granted.reduce((a, b) => a + b, 0)).toBe(25)
        expect(yield* budgets[0]!.stats("api")).toEqual({ requests: 200, retries: 25, available: 0 })
        // keys stay separate
        expect(yield* withdrawMany(budgets[1]!, "other", 10)).toBe(5)
      }).pipe(Effect.scoped))

    it.live("Redis: ratio 0.07 with 100 requests allows 7 retries, as in memory (not 8 from 7.000000000000001)", () =>
      Effect.gen(function*() {
        const redis = yield* startRedisServer
        const context = yield* Layer.build(
          RetryBudgetRedis.layerStore({ host: redis.host, port: redis.port, prefix: "noise:" })
        )
        const store = Context.get(context, RetryBudgetStore.RetryBudgetStore)
        const request = {
          key: "api",
          requests: 0,
          withdraw: true,
          now: 0,
          windowMillis: 10_000,
          ratio: 0.07,
          minRetries: 0
        }
        yield* store.update({ ...request, requests: 100, withdraw: false })
        const granted = yield* Effect.forEach([1, 2, 3, 4, 5, 6, 7, 8, 9], () => store.update(request))
        expect(granted.filter((result) => result.granted).length).toBe(7)
        expect(granted.at(-1)).toEqual({ granted: false, requests: 100, retries: 7 })
      }).pipe(Effect.scoped))

    it.live("Redis: the one-layer form is a RetryBudget that Policy and Retry pick up", () =>
      Effect.gen(function*() {
        const redis = yield* startRedisServer
        const layer = RetryBudgetRedis.layer({
          host: redis.host,
          port: redis.port,
          retryBudget: { minRetries: 1, ratio: 0 }
        })
        const a = yield* Effect.provide(RetryBudget.RetryBudget, yield* Layer.build(layer))
        const b = yield* Effect.provide(RetryBudget.RetryBudget, yield* Layer.build(layer))
        expect(yield* a.withdraw("api")).toBe(true)
        expect(yield* b.withdraw("api")).toBe(false)
      }).pipe(Effect.scoped))
  })
})
