/**
 * Model-based properties of `RetryBudget` (packages/policy/src/RetryBudget.ts), of a budget on a shared store
 * (`RetryBudgetStore.makeBudget` over the memory store) and, against a real redis-server, of one over
 * `RetryBudgetRedis`'s store: each is driven with `fc.commands` (deposit on a key, try a withdrawal on a key, read a
 * key's stats, move the TestClock) and every answer must equal the reference model's.
 *
 * The model, from the module docs: the window (`window`) is cut into ten slots of `window / 10` milliseconds; the
 * slot of a time `t` is `floor(t / (window / 10))`, and the window at `t` holds the slots `slot(t) - 9 .. slot(t)`.
 * `deposit(key)` adds one request to the key's current slot; `withdraw(key)` is granted, and counts one retry in
 * the current slot, while `retries < minRetries + ratio × requests` over the window (a fraction of a retry allows
 * one), and is refused (counting nothing) otherwise; `stats(key)` is the window's `requests`, `retries` and
 * `available = max(0, ceil(minRetries + ratio × requests − retries))`, and never adds a key. The model computes
 * these exactly (the ratio is a fraction of whole numbers), so floating-point noise in the budget shows. Keys are counted
 * apart. A budget on a shared store applies the same rule to the store's counts, so a single process's budget on a
 * store answers exactly as the in-memory one (its deposits reach the store by the flush every `syncInterval`, or
 * before a withdrawal or a read, each in its own slot). Memory stays bounded by `maxKeys` (in-memory budget only):
 * when a key is added, the keys with nothing in their window go, and beyond `maxKeys` the one counted into least
 * recently, which then starts again from the floor.
 * Rules taken from the code (the docs are silent): "counted into" is any deposit or withdrawal, a refused one too;
 * a key's recency moves once per slot, on its first deposit or withdrawal in a slot (not on every call), so among
 * the keys last counted into in the same slot the one that entered that slot first goes first.
 *
 * The TestClock starts at 0 or at an epoch-like time; steps are a few milliseconds, whole windows, or to one
 * millisecond before, at or after the start of a slot 1 to 10 slots ahead (where the window's edge is). Windows include ones whose slot is not a whole number of
 * milliseconds (7 ms, 1234 ms).
 *
 * Found: the budget granted one retry too many, and reported one more `available`, where `minRetries + ratio ×
 * requests` is a whole number that floating point overshoots (ratio 0.07 with 100 requests: 7.000000000000001, 8
 * retries), in memory, on the memory store and in Redis's script alike (fixed; regression tests in
 * RetryBudget.test.ts and RetryBudgetStore.test.ts; the "allowance is exact" property below).
 *
 * Store parity (real redis-server; skipped with one line when redis-server is not on the PATH, a failure under
 * CI=true, as every Redis suite: `utils/redis.ts`): the same commands on a budget over `RetryBudgetRedis`'s store must
 * answer as the model (and so as the memory store), and the same `update` requests (keys, requests, withdrawals, times
 * moving by parts of a slot) on the memory store and on Redis's must give the same results. Redis expires a slot's key two windows after its last write, in
 * real time, while the slots are chosen on the TestClock: the windows there are long enough (a minute and more) that
 * no key expires during a run. The flush interval is longer than any run there, so that a flush in flight (real
 * network time) cannot race a withdrawal (a race the docs allow: the fleet may be stricter, never looser).
 *
 * Left out: several processes on one store (the fleet is only bounded, not exact: RetryBudgetStore.test.ts), store
 * outages and the fallback to the local budget, clocks set back, and `maxKeys` of the memory store.
 */
import { describe, expect, it } from "@effect/vitest"
import * as RetryBudget from "@sturdy/policy/RetryBudget"
import * as RetryBudgetRedis from "@sturdy/policy/RetryBudgetRedis"
import * as RetryBudgetStore from "@sturdy/policy/RetryBudgetStore"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as TestContext from "effect/TestContext"
import { describeWithRedis, startRedisServer } from "./utils/redis.js"

const SLOTS = 10
const KEYS = ["a", "b", "c", "d"] as const

interface Config {
  /** the ratio as a fraction [numerator, denominator]: the model decides in whole numbers, the budget gets n / d */
  readonly ratio: readonly [number, number]
  readonly minRetries: number
  readonly windowMillis: number
  readonly maxKeys: number
  readonly epoch: number
}

interface Stats {
  readonly requests: number
  readonly retries: number
  readonly available: number
}

// ---------------------------------------------------------------------------------------------------------------
// the reference model

interface KeyState {
  /** the last slot the key was counted into: its recency */
  last: number
  /** requests and retries per slot */
  readonly slots: Map<number, { q: number; r: number }>
}

class Model {
  now: number
  /** keys, least recently counted into first */
  readonly keys = new Map<string, KeyState>()
  constructor(readonly config: Config) {
    this.now = config.epoch
  }
  get slotMillis(): number {
    return this.config.windowMillis / SLOTS
  }
  slotOf(t: number): number {
    return Math.floor(t / this.slotMillis)
  }
  /** the first whole millisecond in the slot `slots` after now's */
  nextBoundary(slots: number): number {
    const next = this.slotOf(this.now) + slots
    let t = Math.max(this.now + 1, Math.floor(next * this.slotMillis) - 1)
    while (this.slotOf(t) < next) t++
    return t
  }
  private sums(state: KeyState | undefined): { requests: number; retries: number } {
    const current = this.slotOf(this.now)
    let requests = 0
    let retries = 0
    if (state !== undefined) {
      for (const [slot, counts] of state.slots) {
        if (slot > current - SLOTS && slot <= current) {
          requests += counts.q
          retries += counts.r
        }
      }
    }
    return { requests, retries }
  }
  /** the key counted into now: added (dropping the keys that hold nothing, then beyond maxKeys), or moved back */
  private touch(key: string): { q: number; r: number } {
    const current = this.slotOf(this.now)
    let state = this.keys.get(key)
    if (state === undefined) {
      state = { last: current, slots: new Map() }
      this.keys.set(key, state)
      for (const [other, old] of this.keys) {
        if (other === key) break
        if (old.last > current - SLOTS && this.keys.size <= this.config.maxKeys) break
        this.keys.delete(other)
      }
    } else if (current > state.last) {
      state.last = current
      this.keys.delete(key)
      this.keys.set(key, state)
    }
    let counts = state.slots.get(current)
    if (counts === undefined) {
      counts = { q: 0, r: 0 }
      state.slots.set(current, counts)
    }
    return counts
  }
  deposit(key: string): void {
    this.touch(key).q += 1
  }
  withdraw(key: string): boolean {
    const counts = this.touch(key)
    const { requests, retries } = this.sums(this.keys.get(key))
    const [n, d] = this.config.ratio
    // retries < minRetries + (n / d) × requests, exactly
    if (this.config.minRetries === Infinity || retries * d < this.config.minRetries * d + n * requests) {
      counts.r += 1
      return true
    }
    return false
  }
  stats(key: string): Stats {
    const { requests, retries } = this.sums(this.keys.get(key))
    const { minRetries, ratio: [n, d] } = this.config
    // ceil(minRetries + (n / d) × requests − retries), exactly
    const available = minRetries === Infinity
      ? Infinity
      : Math.max(0, Math.ceil((minRetries * d + n * requests - retries * d) / d))
    return { requests, retries, available }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// the system under test, on a TestClock of its own

interface Real {
  readonly run: <A>(effect: Effect.Effect<A>) => Promise<A>
  readonly budget: RetryBudget.RetryBudget.Service
  /** the keys as the budget sees them (a Redis run has keys of its own) */
  readonly keyOf: (key: string) => string
}

class Deposit implements FastCheck.AsyncCommand<Model, Real> {
  constructor(readonly key: string, readonly times: number) {}
  check = () => true
  async run(model: Model, real: Real) {
    for (let i = 0; i < this.times; i++) model.deposit(this.key)
    await real.run(Effect.replicateEffect(real.budget.deposit(real.keyOf(this.key)), this.times, { discard: true }))
  }
  toString = () => `deposit(${this.key}) x${this.times}`
}

class Withdraw implements FastCheck.AsyncCommand<Model, Real> {
  constructor(readonly key: string) {}
  check = () => true
  async run(model: Model, real: Real) {
    const expected = model.withdraw(this.key)
    const actual = await real.run(real.budget.withdraw(real.keyOf(this.key)))
    expect(actual, `withdraw(${this.key}) at ${model.now}`).toBe(expected)
  }
  toString = () => `withdraw(${this.key})`
}

class ReadStats implements FastCheck.AsyncCommand<Model, Real> {
  constructor(readonly key: string) {}
  check = () => true
  async run(model: Model, real: Real) {
    const expected = model.stats(this.key)
    const actual = await real.run(real.budget.stats(real.keyOf(this.key)))
    expect(actual, `stats(${this.key}) at ${model.now}`).toEqual(expected)
  }
  toString = () => `stats(${this.key})`
}

type Step =
  | { readonly kind: "ms"; readonly millis: number }
  | { readonly kind: "boundary"; readonly slots: number; readonly off: -1 | 0 | 1 }
  | { readonly kind: "windows"; readonly n: number }

class Advance implements FastCheck.AsyncCommand<Model, Real> {
  constructor(readonly step: Step) {}
  check = () => true
  millis(model: Model): number {
    switch (this.step.kind) {
      case "ms":
        return this.step.millis
      case "boundary":
        return Math.max(0, model.nextBoundary(this.step.slots) + this.step.off - model.now)
      case "windows":
        return this.step.n * model.config.windowMillis
    }
  }
  async run(model: Model, real: Real) {
    const millis = this.millis(model)
    model.now += millis
    // the yields let a store budget's flush (woken by the clock) finish before the next command
    await real.run(Effect.zipRight(TestClock.adjust(Duration.millis(millis)), Effect.repeatN(Effect.yieldNow(), 20)))
  }
  toString = () => `advance(${JSON.stringify(this.step)})`
}

const key = FastCheck.constantFrom(...KEYS)
// to one millisecond before, at or after the start of the next slot, or of one up to a window later
const boundary = FastCheck.record({
  kind: FastCheck.constant("boundary" as const),
  slots: FastCheck.oneof(FastCheck.constant(1), FastCheck.integer({ min: 1, max: SLOTS })),
  off: FastCheck.constantFrom(-1 as const, 0 as const, 1 as const)
})
type Script = FastCheck.Arbitrary<Iterable<FastCheck.AsyncCommand<Model, Real>>>
const commands: Script = FastCheck.commands<Model, Real, false>([
  FastCheck.tuple(key, FastCheck.integer({ min: 1, max: 6 })).map(([k, n]) => new Deposit(k, n)),
  key.map((k) => new Withdraw(k)),
  key.map((k) => new Withdraw(k)),
  key.map((k) => new ReadStats(k)),
  FastCheck.oneof(
    FastCheck.integer({ min: 0, max: 400 }).map((millis) => ({ kind: "ms" as const, millis })),
    boundary,
    FastCheck.integer({ min: 1, max: 2 }).map((n) => ({ kind: "windows" as const, n }))
  ).map((step) => new Advance(step))
], { maxCommands: 60, size: "max" })

// for eviction: keys come and go within a window (steps of a slot at most), so that live keys are dropped
const evictionCommands: Script = FastCheck.commands<Model, Real, false>([
  FastCheck.tuple(key, FastCheck.integer({ min: 1, max: 3 })).map(([k, n]) => new Deposit(k, n)),
  key.map((k) => new Withdraw(k)),
  key.map((k) => new ReadStats(k)),
  key.map((k) => new ReadStats(k)),
  FastCheck.oneof(FastCheck.integer({ min: 0, max: 50 }).map((millis) => ({ kind: "ms" as const, millis })), boundary)
    .map((step) => new Advance(step))
], { maxCommands: 50, size: "max" })

// 7/100 and 7/25: 0.07 × 100 and 0.28 × 25 are 7.000000000000001 in floating point
const ratio = FastCheck.constantFrom<readonly [number, number]>(
  [0, 1],
  [1, 10],
  [2, 10],
  [1, 2],
  [1, 1],
  [3, 2],
  [1, 3],
  [7, 100],
  [7, 25],
  [11, 20]
)
const minRetries = FastCheck.constantFrom(0, 1, 2, 3, 10, Infinity)
const epoch = FastCheck.constantFrom(0, 1_764_000_000_123)

const memoryConfig: FastCheck.Arbitrary<Config> = FastCheck.record({
  ratio,
  minRetries,
  windowMillis: FastCheck.constantFrom(7, 100, 1000, 1234, 3000),
  maxKeys: FastCheck.constantFrom(1, 2, 3, 10_000),
  epoch
})

/** Runs `commands` against `model` and the budget `build` makes, on a TestClock of the run's own set to the epoch. */
const runScript = async (
  config: Config,
  build: Effect.Effect<RetryBudget.RetryBudget.Service, never, Scope.Scope>,
  script: Iterable<FastCheck.AsyncCommand<Model, Real>>,
  keyOf: (key: string) => string = (k) => k
) => {
  const runtime = ManagedRuntime.make(TestContext.TestContext)
  const scope = await runtime.runPromise(Scope.make())
  try {
    await runtime.runPromise(TestClock.setTime(config.epoch))
    const budget = await runtime.runPromise(Scope.extend(build, scope))
    const real: Real = { run: (effect) => runtime.runPromise(effect), budget, keyOf }
    await FastCheck.asyncModelRun(() => ({ model: new Model(config), real }), script)
  } finally {
    await runtime.runPromise(Scope.close(scope, Exit.void))
    await runtime.dispose()
  }
}

const budgetOptions = (config: Config) => ({
  ratio: config.ratio[0] / config.ratio[1],
  minRetries: config.minRetries,
  window: Duration.millis(config.windowMillis)
})

describe("model RetryBudget: the in-memory budget answers as the model", () => {
  it("every withdrawal and every stats read equals the model's, with keys bounded by maxKeys", async () => {
    await FastCheck.assert(
      FastCheck.asyncProperty(memoryConfig, commands, (config, script) =>
        runScript(
          config,
          RetryBudget.make({ ...budgetOptions(config), maxKeys: config.maxKeys }),
          script
        )),
      { seed: 7101, numRuns: 120 }
    )
  }, 40_000)

  it(
    "beyond maxKeys the key counted into least recently (by slot) is dropped and starts again from the floor",
    async () => {
      await FastCheck.assert(
        FastCheck.asyncProperty(
          FastCheck.record({
            ratio,
            minRetries: FastCheck.constantFrom(0, 1, 2),
            windowMillis: FastCheck.constantFrom(1000, 3000),
            maxKeys: FastCheck.constantFrom(2, 3),
            epoch
          }),
          evictionCommands,
          (config, script) =>
            runScript(config, RetryBudget.make({ ...budgetOptions(config), maxKeys: config.maxKeys }), script)
        ),
        { seed: 7104, numRuns: 150 }
      )
    },
    40_000
  )
})

describe("model RetryBudget: the allowance is exact, whatever the ratio", () => {
  it.effect.prop(
    "with ratio n/d and r requests, exactly ceil(minRetries + n × r / d) retries are granted, in memory and on a store",
    [
      FastCheck.integer({ min: 1, max: 100 }).chain((d) =>
        FastCheck.tuple(FastCheck.constant(d), FastCheck.integer({ min: 0, max: 2 * d }))
      ),
      FastCheck.integer({ min: 0, max: 3 }),
      FastCheck.integer({ min: 0, max: 400 })
    ],
    ([[d, n], minRetries, requests]) =>
      Effect.gen(function*() {
        const expected = Math.ceil((minRetries * d + n * requests) / d)
        const options = { ratio: n / d, minRetries }
        const budgets = [yield* RetryBudget.make(options), yield* RetryBudgetStore.makeBudget(options)]
        for (const budget of budgets) {
          yield* Effect.replicateEffect(budget.deposit("api"), requests, { discard: true })
          expect(yield* budget.stats("api")).toEqual({ requests, retries: 0, available: expected })
          let granted = 0
          while (yield* budget.withdraw("api")) granted++
          expect(granted).toBe(expected)
        }
      }).pipe(Effect.scoped, Effect.provide(RetryBudgetStore.layerMemory)),
    { fastCheck: { seed: 7106, numRuns: 300 } }
  )
})

describe("model RetryBudget: a budget on the memory RetryBudgetStore answers as the model", () => {
  it(
    "a single process's store budget decides as the in-memory one (flushes every slot, every 100 ms, or none in the run)",
    async () => {
      await FastCheck.assert(
        FastCheck.asyncProperty(
          memoryConfig.map((config) => ({ ...config, maxKeys: 10_000 })),
          // a flush every slot (50 ms at least), every 100 ms, or none during the run
          FastCheck.constantFrom(0.1, 100, 3_600_000),
          commands,
          (config, sync, script) =>
            runScript(
              config,
              RetryBudgetStore.makeBudget({
                ...budgetOptions(config),
                syncInterval: Duration.millis(sync < 1 ? Math.max(50, sync * config.windowMillis) : sync)
              }).pipe(
                Effect.provideService(RetryBudgetStore.RetryBudgetStore, RetryBudgetStore.makeMemory())
              ),
              script
            )
        ),
        { seed: 7102, numRuns: 60 }
      )
    },
    40_000
  )
})

/** A `RetryBudgetRedis` store on a redis-server of its own, for the scope. */
const redisBudgetStore = (prefix: string) =>
  Effect.gen(function*() {
    const server = yield* startRedisServer
    const context = yield* Layer.build(RetryBudgetRedis.layerStore({ host: server.host, port: server.port, prefix }))
    return Context.get(context, RetryBudgetStore.RetryBudgetStore)
  })

describeWithRedis("model RetryBudget: a budget on RetryBudgetRedis's store answers as the model", () => {
  it(
    "the same commands are granted, refused and counted on Redis as the model (and the memory store) says",
    async () => {
      await Effect.runPromise(
        Effect.gen(function*() {
          const store = yield* redisBudgetStore("model:")
          let run = 0
          yield* Effect.promise(() =>
            FastCheck.assert(
              FastCheck.asyncProperty(
                FastCheck.record({
                  ratio,
                  minRetries,
                  windowMillis: FastCheck.constantFrom(60_000, 90_000, 123_450),
                  maxKeys: FastCheck.constant(10_000),
                  epoch
                }),
                commands,
                (config, script) => {
                  const prefix = `run${run++}.`
                  return runScript(
                    config,
                    RetryBudgetStore.makeBudget({
                      ...budgetOptions(config),
                      syncInterval: Duration.days(30),
                      timeout: Duration.days(1)
                    }).pipe(Effect.provideService(RetryBudgetStore.RetryBudgetStore, store)),
                    script,
                    (k) => prefix + k
                  )
                }
              ),
              { seed: 7103, numRuns: 120 }
            )
          )
        }).pipe(Effect.scoped)
      )
    },
    60_000
  )

  it("store parity: the same update requests give the same results on the memory store and on Redis", async () => {
    await Effect.runPromise(
      Effect.gen(function*() {
        const redis = yield* redisBudgetStore("parity:")
        let run = 0
        yield* Effect.promise(() =>
          FastCheck.assert(
            FastCheck.asyncProperty(
              FastCheck.record({
                ratio,
                minRetries,
                windowMillis: FastCheck.constantFrom(60_000, 123_450),
                epoch
              }),
              FastCheck.array(
                FastCheck.record({
                  key,
                  requests: FastCheck.oneof(FastCheck.constant(0), FastCheck.integer({ min: 1, max: 5 })),
                  withdraw: FastCheck.boolean(),
                  // how far the store's `now` moves before this request, in thousandths of a slot
                  step: FastCheck.oneof(FastCheck.constant(0), FastCheck.integer({ min: 0, max: 12_000 }))
                }),
                { maxLength: 40 }
              ),
              (config, requests) =>
                Effect.runPromise(Effect.gen(function*() {
                  const memory = RetryBudgetStore.makeMemory()
                  const prefix = `run${run++}.`
                  let now = config.epoch
                  for (const [i, request] of requests.entries()) {
                    now += Math.floor(request.step * config.windowMillis / SLOTS / 1000)
                    const update = {
                      key: prefix + request.key,
                      requests: request.requests,
                      withdraw: request.withdraw,
                      now,
                      windowMillis: config.windowMillis,
                      ratio: config.ratio[0] / config.ratio[1],
                      minRetries: config.minRetries
                    }
                    const expected = yield* memory.update(update)
                    const actual = yield* redis.update(update)
                    expect(actual, `request ${i} at ${now}`).toEqual(expected)
                  }
                }))
            ),
            { seed: 7105, numRuns: 150 }
          )
        )
      }).pipe(Effect.scoped)
    )
  }, 60_000)
})
