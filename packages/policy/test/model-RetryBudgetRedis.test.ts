/**
 * Model-based properties of `RetryBudgetRedis` (packages/policy/src/RetryBudgetRedis.ts, its script in
 * `src/internal/retryBudgetRedis.ts`) under the store-backed budget of `RetryBudgetStore.makeBudget`
 * (`src/RetryBudgetStore.ts`, `src/internal/retryBudgetStore.ts`): several "processes" (a budget each, on a connection
 * of its own) share one redis-server, and the same scripts run on processes sharing one memory store
 * (`RetryBudgetStore.makeMemory`, which the docs say processes share "as processes share Redis"). Every answer of both
 * fleets must equal the reference model's. `model-RetryBudget.test.ts` checks one process on each store; this file
 * checks what sharing and outages add.
 *
 * The model, from the docs of `RetryBudget`, `RetryBudgetStore` and `RetryBudgetRedis`:
 * - a window of `window` in ten slots; the slot of `t` is `floor(t / (window / 10))`, the window at `t` holds slots
 *   `slot(t) - 9 .. slot(t)`; a retry is allowed while `retries < minRetries + ratio × requests` over the window (the
 *   model computes it exactly, the ratio a fraction of whole numbers); `stats` answers the window's requests, retries
 *   and `available = max(0, ceil(minRetries + ratio × requests − retries))`;
 * - the fleet's counts: `deposit` only counts locally and queues the request (in the slot it was made in); a
 *   process's queued requests reach the store with its next `withdraw` or `stats` of that key, or with the flush of
 *   every key every `syncInterval`, each in its own slot (a request already out of the window is dropped); `withdraw`
 *   is then one atomic operation: the fleet's rule decides and counts the retry (in the process's local budget too);
 * - each process keeps a local budget of its own traffic (its deposits, the retries it was granted); when the store
 *   fails, the process decides on it at once and stops asking the store; the requests it was adding are left out of
 *   the fleet's count; it asks the store again with its next flush that has requests to add (pending from before or
 *   during the outage, each in its own slot) and, when that succeeds, shares again. Nothing is replayed late:
 *   whatever failed is not counted later.
 * Rules taken from the code (the docs are silent): the flush runs first when the budget is built and then
 * `syncInterval` after the previous one ended (the scripts move the clock to a flush's time exactly, or stay before
 * it); a flush with no requests queued asks nothing, so a degraded process without traffic stays local until it has
 * some; a failed `withdraw`/`stats` loses the requests of that key it was adding; a granted retry is counted in the
 * local budget only when the local rule allows it.
 *
 * Scripts: deposits (several), withdrawals, stats of a process and a key; the clock moved by milliseconds, a slot, a
 * few slots (never across a flush), or to the next flush; the store failing and answering again. On Redis an
 * outage is an ACL rule that refuses the scripts to the processes' user (every command fails at once, as with a
 * connection that is down and no offline queue); on the memory store a switch. The TestClock drives the slots and
 * flushes; Redis expires a slot key two windows of its own (real) time after its last write, so the window is ten
 * seconds (a run takes far less real time; each run has keys of its own), and flushes come every two windows and a
 * half, so that requests and retries leave the window between two flushes. The store's `timeout` is an hour, so that a round trip is never taken for an outage.
 * A separate property kills the redis-server and starts one on the same port again: the budgets decide locally
 * meanwhile, and after the restart share again without any of the outage's requests or retries in the fleet's count.
 *
 * Left out: clocks that differ between processes, `maxKeys` (memory store only), a store slower than `timeout`
 * (RetryBudgetStore.test.ts).
 *
 * Mutants run (each made a property fail with a shrunk counterexample):
 * - script: `r < allowance` → `r <= allowance`; the window summed over 9 slots (`slots - 2`); requests added to the
 *   slot before (`current - 1`); requests not added by a withdrawal (`if requests > 0 and not withdraw`);
 * - TS (retryBudgetRedis.ts): the slot rounded up (`Math.ceil(now / slotMillis)`); the `withdraw` flag always sent;
 * - TS (retryBudgetStore.ts): `take` keeping batches already out of the window; a retry the fleet granted not counted
 *   in the local budget; batches kept queued after a failed flush, so sent again once the store answers (replayed
 *   late: the kill-and-restart property).
 *
 * Found: nothing to fix.
 */
import { expect, it } from "@effect/vitest"
import * as RetryBudgetRedis from "@sturdy/policy/RetryBudgetRedis"
import * as RetryBudgetStore from "@sturdy/policy/RetryBudgetStore"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Runtime from "effect/Runtime"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import { Redis } from "ioredis"
import { describeWithRedis, freePort, type RedisServer, startRedisServer, startRedisServerOn } from "./utils/redis.js"
import { callCounter, settle, startedCalls } from "./utils/storeCalls.js"

type StoreService = RetryBudgetStore.RetryBudgetStore.Service
type Budget = Effect.Effect.Success<ReturnType<typeof RetryBudgetStore.makeBudget>>

const SLOTS = 10
const WINDOW = 10_000
const SLOT = WINDOW / SLOTS
// two windows and a half: the clock can move past a window's edge between two flushes
const SYNC = 25_000
const PROCESSES = 3
const KEYS = ["a", "b"] as const

// ratio as num / den (exact in the model), passed to the budget as the number it is
const RATIOS: ReadonlyArray<readonly [number, number]> = [[0, 1], [1, 10], [1, 5], [1, 4], [1, 2], [1, 1], [7, 100]]

interface Config {
  readonly ratio: readonly [number, number]
  readonly minRetries: number
  /** where in a slot the run starts: often on its first millisecond, where rounding errors show */
  readonly offset: number
}

const configArb: FastCheck.Arbitrary<Config> = FastCheck.record({
  ratio: FastCheck.constantFrom(...RATIOS),
  minRetries: FastCheck.constantFrom(0, 1, 2, 5, Infinity),
  offset: FastCheck.oneof(FastCheck.constant(0), FastCheck.integer({ min: 1, max: SLOT - 1 }))
})

type Command =
  | { readonly kind: "deposit"; readonly proc: number; readonly key: number; readonly n: number }
  | { readonly kind: "withdraw"; readonly proc: number; readonly key: number; readonly n: number }
  | { readonly kind: "stats"; readonly proc: number; readonly key: number }
  | { readonly kind: "advance"; readonly millis: number } // (negative: to the start of the -millis-th slot ahead)
  | { readonly kind: "flush" }
  | { readonly kind: "down" }
  | { readonly kind: "up" }

const procKey = { proc: FastCheck.nat(PROCESSES - 1), key: FastCheck.nat(KEYS.length - 1) }

const commandArb = (outages: boolean): FastCheck.Arbitrary<Command> =>
  FastCheck.oneof(
    {
      arbitrary: FastCheck.record({
        kind: FastCheck.constant("deposit" as const),
        ...procKey,
        n: FastCheck.integer({ min: 1, max: 12 })
      }),
      weight: 4
    },
    {
      arbitrary: FastCheck.record({
        kind: FastCheck.constant("withdraw" as const),
        ...procKey,
        n: FastCheck.integer({ min: 1, max: 4 })
      }),
      weight: 4
    },
    { arbitrary: FastCheck.record({ kind: FastCheck.constant("stats" as const), ...procKey }), weight: 2 },
    {
      arbitrary: FastCheck.record({
        kind: FastCheck.constant("advance" as const),
        millis: FastCheck.oneof(
          FastCheck.integer({ min: 1, max: 2_000 }),
          FastCheck.constant(SLOT),
          FastCheck.integer({ min: 1, max: SLOTS }).map((n) => n * SLOT - 1),
          FastCheck.integer({ min: 1, max: SLOTS }).map((n) => n * SLOT),
          FastCheck.integer({ min: 1, max: SLOTS }).map((n) => n * SLOT + 1),
          // negative: to the first millisecond of the n-th slot ahead
          FastCheck.integer({ min: 1, max: SLOTS }).map((n) => -n)
        )
      }),
      weight: 3
    },
    { arbitrary: FastCheck.constant({ kind: "flush" as const }), weight: 1 },
    { arbitrary: FastCheck.constant({ kind: "down" as const }), weight: outages ? 1 : 0 },
    { arbitrary: FastCheck.constant({ kind: "up" as const }), weight: outages ? 1 : 0 }
  )

// ---------------------------------------------------------------------------------------------------------------
// the reference model
// ---------------------------------------------------------------------------------------------------------------

type Slots = Map<number, { q: number; r: number }>

interface Stats {
  readonly requests: number
  readonly retries: number
  readonly available: number
}

class Model {
  now: number
  nextFlush: number
  up = true
  /** the fleet's counts per key */
  readonly fleet: Array<Slots> = KEYS.map(() => new Map())
  /** per process: local counts per key, queued requests per key (slot, n), degraded */
  readonly local: Array<Array<Slots>>
  readonly pending: Array<Map<number, Array<{ slot: number; n: number }>>>
  readonly degraded: Array<boolean>

  constructor(readonly config: Config, start: number) {
    this.now = start
    this.nextFlush = start + SYNC
    this.local = Array.from({ length: PROCESSES }, () => KEYS.map(() => new Map()))
    this.pending = Array.from({ length: PROCESSES }, () => new Map())
    this.degraded = Array.from({ length: PROCESSES }, () => false)
  }

  slot(t = this.now) {
    return Math.floor(t / SLOT)
  }

  private sums(slots: Slots) {
    const current = this.slot()
    let q = 0
    let r = 0
    for (const [slot, counts] of slots) {
      if (slot > current - SLOTS && slot <= current) {
        q += counts.q
        r += counts.r
      }
    }
    return { q, r }
  }

  private counts(slots: Slots, slot: number) {
    let counts = slots.get(slot)
    if (counts === undefined) slots.set(slot, counts = { q: 0, r: 0 })
    return counts
  }

  private allows(q: number, r: number) {
    const [num, den] = this.config.ratio
    return this.config.minRetries === Infinity || den * r < den * this.config.minRetries + num * q
  }

  private statsOf(slots: Slots): Stats {
    const { q, r } = this.sums(slots)
    const [num, den] = this.config.ratio
    const available = this.config.minRetries === Infinity
      ? Infinity
      : Math.max(0, Math.ceil((den * this.config.minRetries + num * q - den * r) / den))
    return { requests: q, retries: r, available }
  }

  private localWithdraw(proc: number, key: number) {
    const slots = this.local[proc]![key]!
    const { q, r } = this.sums(slots)
    if (!this.allows(q, r)) return false
    this.counts(slots, this.slot()).r += 1
    return true
  }

  /** A process's queued requests of `key` at `at`, taken out of the queue; those out of the window dropped. */
  private take(proc: number, key: number, at: number) {
    const batches = this.pending[proc]!.get(key) ?? []
    this.pending[proc]!.delete(key)
    return batches.filter((batch) => batch.slot > this.slot(at) - SLOTS)
  }

  /** One store operation adding `n` requests in `slot`; whether it succeeded. Counts the store calls. */
  private add(proc: number, key: number, slot: number, n: number) {
    this.calls++
    if (!this.up) {
      this.degraded[proc] = true
      return false
    }
    this.degraded[proc] = false
    if (n > 0) this.counts(this.fleet[key]!, slot).q += n
    return true
  }

  calls = 0

  deposit(proc: number, key: number) {
    this.counts(this.local[proc]![key]!, this.slot()).q += 1
    let batches = this.pending[proc]!.get(key)
    if (batches === undefined) this.pending[proc]!.set(key, batches = [])
    const last = batches.at(-1)
    if (last !== undefined && last.slot === this.slot()) last.n += 1
    else batches.push({ slot: this.slot(), n: 1 })
  }

  // the queued requests of earlier slots, one operation each; the requests of the current slot; undefined when the
  // store failed (the process then decides locally)
  private addEarlier(proc: number, key: number): number | undefined {
    const batches = this.take(proc, key, this.now)
    const last = batches.at(-1)
    const current = last !== undefined && last.slot === this.slot() ? batches.pop()!.n : 0
    for (const batch of batches) this.add(proc, key, batch.slot, batch.n)
    return this.degraded[proc] ? undefined : current
  }

  withdraw(proc: number, key: number): boolean {
    if (this.degraded[proc]) return this.localWithdraw(proc, key)
    const current = this.addEarlier(proc, key)
    if (current === undefined || !this.add(proc, key, this.slot(), current)) return this.localWithdraw(proc, key)
    const { q, r } = this.sums(this.fleet[key]!)
    if (!this.allows(q, r)) return false
    this.counts(this.fleet[key]!, this.slot()).r += 1
    this.localWithdraw(proc, key)
    return true
  }

  stats(proc: number, key: number): Stats {
    if (this.degraded[proc]) return this.statsOf(this.local[proc]![key]!)
    const current = this.addEarlier(proc, key)
    if (current === undefined || !this.add(proc, key, this.slot(), current)) {
      return this.statsOf(this.local[proc]![key]!)
    }
    return this.statsOf(this.fleet[key]!)
  }

  /** The clock moved to the next flush: every process adds what it has queued, each batch in its own slot. */
  flush() {
    this.now = this.nextFlush
    for (let proc = 0; proc < PROCESSES; proc++) {
      for (const key of Array.from(this.pending[proc]!.keys())) {
        for (const batch of this.take(proc, key, this.now)) this.add(proc, key, batch.slot, batch.n)
      }
    }
    this.nextFlush = this.now + SYNC
  }

  /** How far `millis` may move the clock without reaching the next flush. */
  clip(millis: number) {
    return Math.min(millis, this.nextFlush - this.now - 1)
  }
}

// ---------------------------------------------------------------------------------------------------------------
// the fleets
// ---------------------------------------------------------------------------------------------------------------

/** A store that counts its calls (to wait for the answers of a flush, which come over the network). */
const counting = (store: StoreService) => {
  const { count, state } = callCounter()
  const service: StoreService = { update: (request) => count(store.update(request)) }
  return { state, service }
}

type Counted = ReturnType<typeof counting>

interface Fleet {
  readonly name: string
  readonly budgets: ReadonlyArray<Budget>
  readonly counted: ReadonlyArray<Counted>
  readonly setUp: (up: boolean) => Effect.Effect<void>
}

const budgetsOn = (stores: ReadonlyArray<StoreService>, config: Config) =>
  Effect.gen(function*() {
    const counted = stores.map(counting)
    const budgets = yield* Effect.forEach(counted, (c) =>
      RetryBudgetStore.makeBudget({
        ratio: config.ratio[0] / config.ratio[1],
        minRetries: config.minRetries,
        window: Duration.millis(WINDOW),
        syncInterval: Duration.millis(SYNC),
        timeout: "1 hour"
      }).pipe(Effect.provideService(RetryBudgetStore.RetryBudgetStore, c.service)))
    return { budgets, counted }
  })

const RetryBudgetStoreError = RetryBudgetStore.RetryBudgetStoreError

/** processes on one memory store, with a switch for its outages */
const memoryFleet = (config: Config): Effect.Effect<Fleet, never, Scope.Scope> =>
  Effect.gen(function*() {
    const memory = RetryBudgetStore.makeMemory()
    let up = true
    const switched: StoreService = {
      update: (request) =>
        Effect.suspend(() => up ? memory.update(request) : Effect.fail(new RetryBudgetStoreError({ key: request.key })))
    }
    const { budgets, counted } = yield* budgetsOn(Array.from({ length: PROCESSES }, () => switched), config)
    return { name: "memory store", budgets, counted, setUp: (u) => Effect.sync(() => void (up = u)) }
  })

// Refuses the scripts to the user the processes connect as (every command of theirs then fails at once); the control
// connection only runs ACL, which stays allowed.
const aclSwitch = (control: Redis) => (up: boolean) =>
  Effect.asVoid(
    Effect.promise(() =>
      up ? control.call("ACL", "SETUSER", "default", "+@all") : control.call("ACL", "SETUSER", "default", "-@scripting")
    )
  )

const redisFleet = (stores: ReadonlyArray<StoreService>, control: Redis, config: Config) =>
  Effect.map(budgetsOn(stores, config), ({ budgets, counted }): Fleet => ({
    name: "redis",
    budgets,
    counted,
    setUp: aclSwitch(control)
  }))

let runs = 0

const runScript = (
  redisStores: ReadonlyArray<StoreService>,
  control: Redis
) =>
(config: Config, commands: ReadonlyArray<Command>) =>
  Effect.gen(function*() {
    const run = ++runs
    const keyName = (key: number) => `r${run}-${KEYS[key]}`
    // the run starts `offset` into a slot
    const at = yield* Clock.currentTimeMillis
    yield* TestClock.adjust(Duration.millis((Math.ceil(at / SLOT) + 1) * SLOT + config.offset - at))
    const fleets = [yield* memoryFleet(config), yield* redisFleet(redisStores, control, config)]
    // the first flush of each budget (nothing queued) runs before the clock moves
    for (let i = 0; i < 10; i++) yield* Effect.yieldNow()
    const model = new Model(config, yield* Clock.currentTimeMillis)
    const log: Array<string> = []
    try {
      for (const command of commands) {
        log.push(JSON.stringify(command))
        switch (command.kind) {
          case "deposit": {
            for (let i = 0; i < command.n; i++) model.deposit(command.proc, command.key)
            for (const fleet of fleets) {
              const budget = fleet.budgets[command.proc]!
              for (let i = 0; i < command.n; i++) yield* budget.deposit(keyName(command.key))
            }
            break
          }
          case "withdraw": {
            for (let i = 0; i < command.n; i++) {
              const expected = model.withdraw(command.proc, command.key)
              for (const fleet of fleets) {
                const actual = yield* fleet.budgets[command.proc]!.withdraw(keyName(command.key))
                expect(actual, `${fleet.name}: withdrawal ${i}`).toBe(expected)
              }
            }
            break
          }
          case "stats": {
            const expected = model.stats(command.proc, command.key)
            for (const fleet of fleets) {
              expect(yield* fleet.budgets[command.proc]!.stats(keyName(command.key)), fleet.name).toEqual(expected)
            }
            break
          }
          case "advance": {
            const millis = model.clip(
              command.millis > 0 ? command.millis : (model.slot() - command.millis) * SLOT - model.now
            )
            if (millis <= 0) break
            model.now += millis
            yield* TestClock.adjust(Duration.millis(millis))
            break
          }
          case "flush": {
            const before = fleets.map((fleet) => startedCalls(fleet.counted))
            const calls = model.calls
            const millis = model.nextFlush - model.now
            model.flush()
            yield* TestClock.adjust(Duration.millis(millis))
            for (const [i, fleet] of fleets.entries()) {
              yield* settle(fleet.counted, before[i]! + model.calls - calls)
              expect(startedCalls(fleet.counted) - before[i]!, `${fleet.name}: store calls of the flush`).toBe(
                model.calls - calls
              )
            }
            break
          }
          case "down":
          case "up": {
            model.up = command.kind === "up"
            for (const fleet of fleets) yield* fleet.setUp(model.up)
            break
          }
        }
      }
    } catch (error) {
      throw new Error(`${String(error)}\nafter: ${log.join("; ")}`)
    } finally {
      for (const fleet of fleets) yield* fleet.setUp(true)
    }
  })

// ---------------------------------------------------------------------------------------------------------------
// a redis-server stopped and started again on the same port
// ---------------------------------------------------------------------------------------------------------------

const storesOn = (redis: RedisServer, prefix: string, count: number) =>
  Effect.replicateEffect(
    Effect.map(
      Layer.build(RetryBudgetRedis.layerStore({ host: redis.host, port: redis.port, prefix })),
      (context) => Context.get(context, RetryBudgetStore.RetryBudgetStore)
    ),
    count
  )

const quiet = Logger.withMinimumLogLevel(LogLevel.None)

describeWithRedis("model RetryBudgetRedis: several processes on one redis-server", () => {
  it.effect(
    "deposits, withdrawals, stats and time across processes: Redis, the memory store and the model agree",
    () =>
      Effect.gen(function*() {
        const redis = yield* startRedisServer
        const stores = yield* storesOn(redis, "model:", PROCESSES)
        const control = yield* Effect.acquireRelease(
          Effect.sync(() => new Redis({ host: redis.host, port: redis.port })),
          (client) => Effect.sync(() => client.disconnect())
        )
        const runtime = yield* Effect.runtime<never>()
        const property = FastCheck.asyncProperty(
          configArb,
          FastCheck.array(commandArb(false), { minLength: 1, maxLength: 30 }),
          (config, commands) =>
            Runtime.runPromise(runtime)(Effect.scoped(runScript(stores, control)(config, commands)).pipe(quiet))
        )
        yield* Effect.promise(() => FastCheck.assert(property, { seed: 20261206, numRuns: 50 }))
      }).pipe(Effect.scoped),
    60_000
  )

  it.effect(
    "the store failing and answering again: each process decides locally, then shares, and nothing comes back late",
    () =>
      Effect.gen(function*() {
        const redis = yield* startRedisServer
        const stores = yield* storesOn(redis, "outage:", PROCESSES)
        const control = yield* Effect.acquireRelease(
          Effect.sync(() => new Redis({ host: redis.host, port: redis.port })),
          (client) => Effect.sync(() => client.disconnect())
        )
        const runtime = yield* Effect.runtime<never>()
        const property = FastCheck.asyncProperty(
          configArb,
          FastCheck.array(commandArb(true), { minLength: 1, maxLength: 40 }),
          (config, commands) =>
            Runtime.runPromise(runtime)(Effect.scoped(runScript(stores, control)(config, commands)).pipe(quiet))
        )
        yield* Effect.promise(() => FastCheck.assert(property, { seed: 20261207, numRuns: 60 }))
      }).pipe(Effect.scoped),
    60_000
  )

  it.live(
    "redis-server killed and started again: local decisions meanwhile, then one fleet budget without the outage's counts",
    () =>
      Effect.gen(function*() {
        const port = yield* freePort
        const server = { host: "127.0.0.1", port }
        const first = yield* Scope.make()
        yield* Effect.provideService(startRedisServerOn(port), Scope.Scope, first)
        const budgets = yield* Effect.flatMap(
          Effect.replicateEffect(
            Effect.map(
              Layer.build(RetryBudgetRedis.layerStore({ ...server, prefix: "kill:", connectTimeout: 2000 })),
              (context) => Context.get(context, RetryBudgetStore.RetryBudgetStore)
            ),
            2
          ),
          (stores) =>
            Effect.forEach(stores, (store) =>
              RetryBudgetStore.makeBudget({ ratio: 0, minRetries: 3, syncInterval: "20 millis", timeout: "1 second" })
                .pipe(Effect.provideService(RetryBudgetStore.RetryBudgetStore, store)))
        )
        const [a, b] = budgets as [Budget, Budget]
        const withdrawals = (budget: Budget, n: number) =>
          Effect.map(Effect.replicateEffect(budget.withdraw("api"), n), (granted) =>
            granted.filter(Boolean).length)
        // the fleet's floor of 3: a takes 2, b gets the last one
        expect(yield* withdrawals(a, 2)).toBe(2)
        expect(yield* withdrawals(b, 5)).toBe(1)

        yield* Scope.close(first, Exit.void)
        // each decides on its own budget: a has 1 of its floor left (it counted its 2), b 2 (it counted 1)
        const started = performance.now()
        expect(yield* withdrawals(a, 5)).toBe(1)
        expect(yield* withdrawals(b, 5)).toBe(2)
        for (let i = 0; i < 20; i++) {
          yield* a.deposit("api")
        }
        // at once: nothing waits on a connection that is down
        expect(performance.now() - started).toBeLessThan(1_000)
        // a's flushes meanwhile fail: those requests are left out of the fleet's count for good
        yield* Effect.sleep("200 millis")

        const again = yield* Scope.make()
        yield* Effect.addFinalizer(() =>
          Scope.close(again, Exit.void)
        )
        yield* Effect.provideService(startRedisServerOn(port), Scope.Scope, again)
        // sharing resumes with a successful flush: each process deposits until its flush has reached the new server
        const control = yield* Effect.acquireRelease(
          Effect.sync(() => new Redis(server)),
          (client) => Effect.sync(() => client.disconnect())
        )
        const giveUpAt = performance.now() + 15_000
        for (const [i, budget] of [a, b].entries()) {
          while (performance.now() < giveUpAt) {
            yield* budget.deposit(`probe-${i}`)
            yield* Effect.sleep("50 millis")
            if ((yield* Effect.promise(() => control.keys(`kill:{probe-${i}}:*`))).length > 0) break
          }
        }
        // the fleet's counts hold nothing of the outage (the server is new: nothing of before either): neither the
        // retries decided locally nor the requests whose flush failed are sent late
        expect(yield* b.stats("api")).toEqual({ requests: 0, retries: 0, available: 3 })
        expect(yield* withdrawals(b, 5)).toBe(3)
        expect(yield* withdrawals(a, 5)).toBe(0)
      }).pipe(Effect.scoped, quiet),
    60_000
  )
})
