/**
 * Model-based properties of `RateLimitRedis` (packages/policy/src/RateLimitRedis.ts, implementation
 * `src/internal/rateLimitRedis.ts`), a `RateLimit.RateLimiterStore` shared by several processes: each "process" is a
 * layer of its own (its own ioredis connection) on one real redis-server, and the limiters of `RateLimit.make` run on
 * it. The single-process answers of this store (time moving, both algorithms, both modes) are checked against the
 * model of `model-RateLimit.test.ts`; this file checks what sharing adds.
 *
 * Modelled, from the docs of `RateLimit` and `RateLimitRedis`:
 * - a store keeps one counter per key whichever limiter (process) asks: the limit holds for the fleet; a token bucket
 *   starts full (`limit` tokens), a fixed window starts empty; a call is granted while the key's count plus its tokens
 *   stays within `limit`; refused calls fail with `RateLimitExceeded` reason "Limit", the key, and `retryAfter` the
 *   time until the caller's tokens are due (token bucket: the deficit × `window / limit`; fixed window: the window's
 *   end, `window / limit` per call counted);
 * - mode "delay" reserves the slot when the caller asks (the count grows past `limit`); a wait longer than `maxWait`
 *   (0 here) fails at once with "Limit", `retryAfter` the wait (token bucket: deficit × interval; fixed window: the
 *   start of the window of the caller's last token), and gives the slot back; a caller interrupted while it waits gives
 *   its slot back: the counts of every process see it at once;
 * - `prefix` isolates: the same key under two prefixes is two counters; keys that differ only around the hash tag
 *   (`k`, `{k}`, `k:tokens`) are separate counters;
 * - the memory store gives the same answers (both stores "answer alike"): every script runs on limiters over one
 *   memory store per prefix (shared by the processes) as well, and must answer as the model, exactly.
 * Redis measures time by its own clock, which no TestClock moves: the first property keeps the TestClock still and
 * uses a window of an hour (an interval of 10 minutes and more), so that the real milliseconds a run takes refill
 * nothing and end no window; a `retryAfter` on Redis is then the model's less at most the real milliseconds since the
 * key's first call. The second property moves time: the TestClock for the memory store and the limiters' waits, and
 * the Redis counters as far (`advanceRedisRateLimit`, utils/limits.ts), in whole seconds plus a half, so that no
 * decision sits on a boundary the real milliseconds could cross.
 * Further properties: `RateLimit.make` options it refuses and token counts out of range are the same `RangeError`
 * defect on both stores and write nothing to Redis, and `RateLimitRedis.layerStore` refuses options that are not an
 * object; while Redis is unreachable every call fails at once with `RateLimitStoreError` naming the key, and the store
 * resumes (shared again) once a server answers on the port again (real time: a server is stopped and restarted).
 *
 * Rules taken from the code: none beyond `model-RateLimit.test.ts`'s (a fixed window's count keeps growing past
 * `limit` in mode "delay", a caller's window is `floor((count - 1) / limit)`).
 * Left out: server pauses (`pauseFor`: in the limiter's memory, not in the store), callers of several processes
 * moving up in one line (the docs keep the line exact in one process only), a Redis that stops answering
 * (RateLimitRedis.test.ts: after `commandTimeout`), clocks off between processes (RateLimitRedis.test.ts).
 *
 * Mutants run (each made a property fail with a shrunk counterexample):
 * - fixed-window script: `next > limit` → `next >= limit`; the fix below reverted (the refund's `SET ... PX` with an
 *   expiry of zero or less); the window restarted by each call (`nextpttl = refillms * next`);
 * - token-bucket script: `if overflow or next >= 0` → `if next >= 0` (no reservation counted); the deficit answered
 *   as `next - 1`; the refill mark moved to the call (`last_refill = now`) instead of the last whole token;
 * - TS: the prefix left out of the token bucket's keys, and of the fixed window's key; `allowOverflow` never sent;
 *   the fixed window's `limit` never sent.
 *
 * Found and fixed: a fixed-window caller of mode "delay" whose tokens fall in two windows, interrupted after part of
 * its window had passed, did not give its slot back on Redis: the refund's expiry came out at or below zero, Redis
 * refused `SET ... PX` with it, and the error was dropped, so the key stayed counted (and refused the next caller)
 * until the caller's whole reservation expired, where the memory store had already started a fresh window (regression
 * test in RateLimitRedis.test.ts: "a refund that ends the fixed window frees the key, as in the memory store").
 */
import { expect, it } from "@effect/vitest"
import { RateLimit } from "@sturdy/policy"
import * as RateLimitRedis from "@sturdy/policy/RateLimitRedis"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Runtime from "effect/Runtime"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import { Redis } from "ioredis"
import { advanceRedisRateLimit } from "./utils/limits.js"
import { describeWithRedis, freePort, type RedisServer, startRedisServer, startRedisServerOn } from "./utils/redis.js"
import { callCounter, settle, startedCalls } from "./utils/storeCalls.js"

type Store = RateLimit.RateLimiterStore["Type"]
type Algorithm = "token-bucket" | "fixed-window"

const HOUR = 3_600_000
const PREFIXES = ["model-a:", "model-b:"] as const
// keys that differ only around the hash tag the token bucket puts them in
const KEYS = ["k", "{k}", "k:tokens"] as const
const PROCESSES = 3

/** A store that counts the calls made to it and finished, so a test can wait (in real time) for Redis to answer. */
const counting = (store: Store) => {
  const { count, state } = callCounter()
  return {
    state,
    store: RateLimit.RateLimiterStore.of({
      fixedWindow: (request) => count(store.fixedWindow(request)),
      tokenBucket: (request) => count(store.tokenBucket(request))
    })
  }
}

type Counted = ReturnType<typeof counting>

// one "process": its own connection, one store per prefix
const redisProcess = (redis: RedisServer) =>
  Effect.forEach(PREFIXES, (prefix) =>
    Effect.map(
      Layer.build(RateLimitRedis.layerStore({ host: redis.host, port: redis.port, prefix })),
      (context) => Context.get(context, RateLimit.RateLimiterStore)
    ))

type Answer =
  | { readonly _tag: "ok" }
  | { readonly _tag: "RateLimitExceeded"; readonly key: string; readonly reason: string; readonly retryAfter: number }
  | { readonly _tag: "RateLimitStoreError"; readonly key: string }
  | { readonly _tag: "waiting" }

const answerOf = (
  either: Either.Either<void, RateLimit.RateLimitExceeded | RateLimit.RateLimitStoreError>
): Answer =>
  Either.match(either, {
    onRight: () => ({ _tag: "ok" }),
    onLeft: (e) =>
      e._tag === "RateLimitExceeded"
        ? { _tag: e._tag, key: e.key, reason: e.reason, retryAfter: Duration.toMillis(e.retryAfter) }
        : { _tag: e._tag, key: e.key }
  })

// ---------------------------------------------------------------------------------------------------------------
// the model: one count per (prefix, key) for the whole fleet; the clock does not move
// ---------------------------------------------------------------------------------------------------------------

interface Config {
  readonly algorithm: Algorithm
  readonly limit: number
}

type Command =
  | { readonly kind: "fail" | "noWait" | "reserve"; proc: number; prefix: number; key: number; tokens: number }
  | { readonly kind: "interrupt"; readonly pick: number }

const configArb: FastCheck.Arbitrary<Config> = FastCheck.record({
  algorithm: FastCheck.constantFrom<Algorithm>("token-bucket", "fixed-window"),
  // an interval of window / limit = a whole number of milliseconds (10 minutes and more)
  limit: FastCheck.integer({ min: 1, max: 6 })
})

const callArb = (kind: "fail" | "noWait" | "reserve") =>
  FastCheck.record({
    kind: FastCheck.constant(kind),
    proc: FastCheck.nat(PROCESSES - 1),
    prefix: FastCheck.nat(PREFIXES.length - 1),
    key: FastCheck.nat(KEYS.length - 1),
    tokens: FastCheck.integer({ min: 1, max: 6 })
  })

const commandsArb: FastCheck.Arbitrary<Array<Command>> = FastCheck.array(
  FastCheck.oneof(
    { arbitrary: callArb("fail"), weight: 4 },
    { arbitrary: callArb("noWait"), weight: 2 },
    { arbitrary: callArb("reserve"), weight: 2 },
    {
      arbitrary: FastCheck.record({ kind: FastCheck.constant("interrupt" as const), pick: FastCheck.nat(9) }),
      weight: 1
    }
  ),
  { minLength: 1, maxLength: 25 }
)

class Model {
  readonly used = new Map<string, number>()
  readonly interval: number
  constructor(readonly config: Config) {
    this.interval = HOUR / config.limit
  }
  private countOf(prefix: number, key: number) {
    return this.used.get(`${prefix}/${key}`) ?? 0
  }
  add(prefix: number, key: number, tokens: number) {
    this.used.set(`${prefix}/${key}`, this.countOf(prefix, key) + tokens)
  }
  /** The answer of a call of mode "fail" (it takes its tokens when granted). */
  fail(prefix: number, key: string, keyIndex: number, tokens: number): Answer {
    const used = this.countOf(prefix, keyIndex)
    const { limit } = this.config
    if (used + tokens <= limit) {
      this.add(prefix, keyIndex, tokens)
      return { _tag: "ok" }
    }
    const retryAfter = this.config.algorithm === "token-bucket"
      ? (used + tokens - limit) * this.interval
      : used * this.interval
    return { _tag: "RateLimitExceeded", key, reason: "Limit", retryAfter }
  }
  /** The wait of a call of mode "delay" (its slot reserved; 0 when it fits now). */
  wait(prefix: number, keyIndex: number, tokens: number): number {
    const count = this.countOf(prefix, keyIndex) + tokens
    const { limit } = this.config
    return this.config.algorithm === "token-bucket"
      ? Math.max(0, count - limit) * this.interval
      : Math.floor((count - 1) / limit) * HOUR
  }
}

interface Side {
  readonly name: string
  /** limiters[proc][prefix][mode] */
  readonly limiters: ReadonlyArray<ReadonlyArray<Record<"fail" | "noWait" | "reserve", RateLimit.RateLimiter>>>
  readonly counted: ReadonlyArray<Counted>
  readonly exact: boolean
}

let runs = 0

const makeSide = (
  name: string,
  config: Config,
  stores: ReadonlyArray<ReadonlyArray<Store>>,
  exact: boolean
): Effect.Effect<Side> =>
  Effect.gen(function*() {
    const counted: Array<Counted> = []
    const limiters = yield* Effect.forEach(stores, (perPrefix) =>
      Effect.forEach(perPrefix, (store) => {
        const c = counting(store)
        counted.push(c)
        const make = (options: RateLimit.Options) =>
          RateLimit.make(options).pipe(Effect.provideService(RateLimit.RateLimiterStore, c.store))
        const base = { limit: config.limit, window: Duration.millis(HOUR), algorithm: config.algorithm }
        return Effect.all({
          fail: make({ ...base, onExceeded: "fail" }),
          noWait: make({ ...base, onExceeded: "delay", maxWait: 0 }),
          reserve: make({ ...base, onExceeded: "delay" })
        })
      }))
    return { name, limiters, counted, exact }
  })

const sharedCounts = (redisStores: ReadonlyArray<ReadonlyArray<Store>>) =>
(
  config: Config,
  commands: ReadonlyArray<Command>
) =>
  Effect.gen(function*() {
    const run = ++runs
    const keyName = (key: number) => `r${run}-${KEYS[key]}`
    const start = performance.now()
    const memoryStores = PREFIXES.map(() => RateLimit.makeStoreMemory())
    const sides = [
      yield* makeSide("memory", config, Array.from({ length: PROCESSES }, () => memoryStores), true),
      yield* makeSide("redis", config, redisStores, false)
    ]
    const model = new Model(config)
    const waiting: Array<
      { fibers: Array<Fiber.RuntimeFiber<void, unknown>>; prefix: number; key: number; tokens: number }
    > = []
    const check = (side: Side, expected: Answer, actual: Answer, step: string) => {
      if (side.exact || expected._tag !== "RateLimitExceeded" || actual._tag !== "RateLimitExceeded") {
        expect(actual, `${side.name}: ${step}`).toEqual(expected)
        return
      }
      // Redis measured the time since the key's first call by its own clock: up to the run's real time less
      const slack = Math.ceil(performance.now() - start) + 1
      expect({ ...actual, retryAfter: 0 }, `${side.name}: ${step}`).toEqual({ ...expected, retryAfter: 0 })
      expect(actual.retryAfter, `${side.name}: ${step}`).toBeLessThanOrEqual(expected.retryAfter)
      expect(actual.retryAfter, `${side.name}: ${step}`).toBeGreaterThanOrEqual(expected.retryAfter - slack)
    }
    for (const [i, command] of commands.entries()) {
      const step = `#${i} ${JSON.stringify(command)}`
      if (command.kind === "interrupt") {
        if (waiting.length === 0) continue
        const [w] = waiting.splice(command.pick % waiting.length, 1)
        for (const fiber of w!.fibers) yield* Fiber.interrupt(fiber)
        model.add(w!.prefix, w!.key, -w!.tokens)
        continue
      }
      const tokens = Math.min(command.tokens, config.limit)
      const key = keyName(command.key)
      if (command.kind === "fail") {
        const expected = model.fail(command.prefix, key, command.key, tokens)
        for (const side of sides) {
          const limiter = side.limiters[command.proc]![command.prefix]!.fail
          check(side, expected, answerOf(yield* Effect.either(limiter.consume(key, tokens))), step)
        }
      } else if (command.kind === "noWait") {
        const wait = model.wait(command.prefix, command.key, tokens)
        // maxWait 0: any wait fails at once, and the slot is given back
        if (wait === 0) model.add(command.prefix, command.key, tokens)
        const expected: Answer = wait === 0
          ? { _tag: "ok" }
          : { _tag: "RateLimitExceeded", key, reason: "Limit", retryAfter: wait }
        for (const side of sides) {
          const limiter = side.limiters[command.proc]![command.prefix]!.noWait
          check(side, expected, answerOf(yield* Effect.either(limiter.consume(key, tokens))), step)
        }
      } else {
        const wait = model.wait(command.prefix, command.key, tokens)
        model.add(command.prefix, command.key, tokens)
        const fibers: Array<Fiber.RuntimeFiber<void, unknown>> = []
        for (const side of sides) {
          const limiter = side.limiters[command.proc]![command.prefix]!.reserve
          const before = startedCalls(side.counted)
          const fiber = yield* Effect.fork(limiter.consume(key, tokens))
          yield* settle(side.counted, before + 1)
          const exit = fiber.unsafePoll()
          const actual: Answer = exit === null ? { _tag: "waiting" } : answerOf(
            Exit.isSuccess(exit)
              ? Either.right(undefined)
              : Either.left(Cause.squash(exit.cause) as RateLimit.RateLimitExceeded)
          )
          expect(actual, `${side.name}: ${step}`).toEqual(wait === 0 ? { _tag: "ok" } : { _tag: "waiting" })
          fibers.push(fiber)
        }
        if (wait > 0) waiting.push({ fibers, prefix: command.prefix, key: command.key, tokens })
      }
    }
    for (const w of waiting) for (const fiber of w.fibers) yield* Fiber.interrupt(fiber)
  })

// ---------------------------------------------------------------------------------------------------------------
// time moving: a waiting caller interrupted after part of its wait gives its slot back, on Redis as in memory
// ---------------------------------------------------------------------------------------------------------------

interface RefundCase {
  readonly algorithm: Algorithm
  readonly limit: number
  /** tokens of the first caller (granted), of the waiting one, of the caller after the interruption */
  readonly first: number
  readonly waiter: number
  readonly after: number
  /** a share of the waiter's wait that passes before it is interrupted */
  readonly share: number
  /** seconds that pass after the interruption, before the last caller */
  readonly later: number
}

const refundCaseArb: FastCheck.Arbitrary<RefundCase> = FastCheck.record({
  algorithm: FastCheck.constantFrom<Algorithm>("token-bucket", "fixed-window"),
  limit: FastCheck.integer({ min: 1, max: 4 }),
  first: FastCheck.integer({ min: 1, max: 4 }),
  waiter: FastCheck.integer({ min: 1, max: 4 }),
  after: FastCheck.integer({ min: 1, max: 4 }),
  share: FastCheck.double({ min: 0, max: 1, noNaN: true }),
  later: FastCheck.nat(25)
})

const INTERVAL = 10_000 // ms: window = limit × 10 s

const refundAfterTime = (
  redisStores: ReadonlyArray<ReadonlyArray<Store>>,
  client: Redis
) =>
(c: RefundCase) =>
  Effect.gen(function*() {
    const limit = c.limit
    const first = 1 + (c.first - 1) % limit
    // a waiter that does not fit beside the first caller: from limit - first + 1 to limit tokens
    const waiter = limit - first + 1 + (c.waiter - 1) % first
    const after = Math.min(c.after, limit)
    const run = ++runs
    const key = `t${run}`
    const memory = RateLimit.makeStoreMemory()
    const options = { limit, window: Duration.millis(limit * INTERVAL), algorithm: c.algorithm }
    // the waiter's wait, as the model of model-RateLimit.test.ts has it (the clock has not moved since the first call)
    const wait = c.algorithm === "token-bucket" ? (first + waiter - limit) * INTERVAL : limit * INTERVAL
    // whole seconds and a half, strictly inside the wait
    const seconds = Math.min(Math.floor(c.share * (wait / 1000 - 1)), wait / 1000 - 1)
    const elapsed = seconds * 1000 + 500
    const outcomes: Array<Array<Answer>> = []
    for (const side of ["memory", "redis"] as const) {
      const storeOf = (proc: number) => side === "memory" ? memory : redisStores[proc]![0]!
      const make = (proc: number, onExceeded: "fail" | "delay") =>
        RateLimit.make({ ...options, onExceeded }).pipe(
          Effect.provideService(RateLimit.RateLimiterStore, counting(storeOf(proc)).store)
        )
      const moveOn = (millis: number) =>
        side === "memory"
          ? TestClock.adjust(Duration.millis(millis))
          : Effect.zipRight(
            advanceRedisRateLimit(client, PREFIXES[0], [key], millis),
            TestClock.adjust(Duration.millis(millis))
          )
      const a = yield* make(0, "fail")
      const d = yield* make(2, "fail")
      const answers: Array<Answer> = []
      answers.push(answerOf(yield* Effect.either(a.consume(key, first))))
      const counted = counting(storeOf(1))
      const bOnCounted = yield* RateLimit.make({ ...options, onExceeded: "delay" }).pipe(
        Effect.provideService(RateLimit.RateLimiterStore, counted.store)
      )
      const fiber = yield* Effect.fork(bOnCounted.consume(key, waiter))
      yield* settle([counted], 1)
      answers.push(fiber.unsafePoll() === null ? { _tag: "waiting" } : { _tag: "ok" })
      yield* moveOn(elapsed)
      yield* Fiber.interrupt(fiber)
      answers.push(answerOf(yield* Effect.either(d.consume(key, after))))
      yield* moveOn(c.later * 1000)
      answers.push(answerOf(yield* Effect.either(d.consume(key, after))))
      answers.push(answerOf(yield* Effect.either(a.consume(key, 1))))
      outcomes.push(answers)
    }
    const [onMemory, onRedis] = outcomes as [Array<Answer>, Array<Answer>]
    expect(onMemory[1]).toEqual({ _tag: "waiting" })
    for (const [i, expected] of onMemory.entries()) {
      const actual = onRedis[i]!
      if (expected._tag === "RateLimitExceeded" && actual._tag === "RateLimitExceeded") {
        // moved by whole seconds and a half, so only the real milliseconds of the run separate them
        expect(Math.abs(actual.retryAfter - expected.retryAfter), `answer ${i}`).toBeLessThanOrEqual(400)
        expect({ ...actual, retryAfter: 0 }, `answer ${i}`).toEqual({ ...expected, retryAfter: 0 })
      } else {
        expect(actual, `answer ${i}`).toEqual(expected)
      }
    }
  })

// ---------------------------------------------------------------------------------------------------------------
// a redis-server stopped and started again on the same port
// ---------------------------------------------------------------------------------------------------------------

const bad = <A>(value: unknown): A => value as A

describeWithRedis("model RateLimitRedis: several processes on one redis-server", () => {
  it.effect(
    "the fleet shares one count per prefix and key: calls, waits refused and given back, interrupted callers",
    () =>
      Effect.gen(function*() {
        const redis = yield* startRedisServer
        const stores = yield* Effect.replicateEffect(redisProcess(redis), PROCESSES)
        const runtime = yield* Effect.runtime<never>()
        const property = FastCheck.asyncProperty(
          configArb,
          commandsArb,
          (config, commands) => Runtime.runPromise(runtime)(Effect.scoped(sharedCounts(stores)(config, commands)))
        )
        yield* Effect.promise(() => FastCheck.assert(property, { seed: 20261206, numRuns: 60 }))
      }).pipe(Effect.scoped),
    60_000
  )

  it.effect(
    "a caller interrupted after part of its wait gives its slot back: the next caller is answered as in memory",
    () =>
      Effect.gen(function*() {
        const redis = yield* startRedisServer
        const stores = yield* Effect.replicateEffect(redisProcess(redis), PROCESSES)
        const client = yield* Effect.acquireRelease(
          Effect.sync(() => new Redis({ host: redis.host, port: redis.port })),
          (client) => Effect.sync(() => client.disconnect())
        )
        const runtime = yield* Effect.runtime<never>()
        const property = FastCheck.asyncProperty(
          refundCaseArb,
          (c) => Runtime.runPromise(runtime)(Effect.scoped(refundAfterTime(stores, client)(c)))
        )
        yield* Effect.promise(() => FastCheck.assert(property, { seed: 20261207, numRuns: 60 }))
      }).pipe(Effect.scoped),
    60_000
  )

  it.effect(
    "options and token counts RateLimit refuses: the same RangeError on both stores, and nothing written to Redis",
    () =>
      Effect.gen(function*() {
        const redis = yield* startRedisServer
        const [[store]] = yield* Effect.replicateEffect(redisProcess(redis), 1)
        const client = yield* Effect.acquireRelease(
          Effect.sync(() => new Redis({ host: redis.host, port: redis.port })),
          (client) => Effect.sync(() => client.disconnect())
        )
        const defectOf = <A, E>(self: Effect.Effect<A, E>) =>
          Effect.map(Effect.exit(self), (exit) => {
            if (Exit.isSuccess(exit) || !Cause.isDie(exit.cause)) return "no defect"
            const error = Cause.squash(exit.cause)
            return error instanceof RangeError ? `RangeError: ${error.message}` : String(error)
          })
        const optionsArb = FastCheck.record({
          limit: FastCheck.oneof(FastCheck.integer({ min: -2, max: 4 }), FastCheck.constantFrom(1.5, NaN, Infinity)),
          window: FastCheck.constantFrom<unknown>("1 hour", 0, "-1 seconds", "1e3 millis", Infinity, "1 nanos"),
          algorithm: FastCheck.constantFrom<unknown>(undefined, "token-bucket", "fixed-window", "Token-Bucket", 1),
          onExceeded: FastCheck.constantFrom("fail", "delay"),
          maxWait: FastCheck.constantFrom<unknown>(undefined, 0, "-1 millis", "soon"),
          maxPausedKeys: FastCheck.constantFrom<unknown>(undefined, 1, 0, 2.5)
        })
        const runtime = yield* Effect.runtime<never>()
        const property = FastCheck.asyncProperty(
          optionsArb,
          FastCheck.constantFrom(0, 1, 2, 1.5, -1, 5, NaN),
          (raw, tokens) =>
            Effect.gen(function*() {
              const options = bad<RateLimit.Options>(raw)
              const key = `bad-${++runs}`
              const onStore = (s: Store) =>
                defectOf(
                  Effect.flatMap(
                    RateLimit.make(options).pipe(Effect.provideService(RateLimit.RateLimiterStore, s)),
                    (limiter) => limiter.consume(key, tokens)
                  )
                )
              const memory = yield* onStore(RateLimit.makeStoreMemory())
              const onRedis = yield* onStore(store!)
              expect(onRedis).toEqual(memory)
              if (memory !== "no defect") {
                expect(memory).toMatch(/^RangeError: RateLimit: /)
                expect(yield* Effect.promise(() => client.keys(`*${key}*`))).toEqual([])
              }
            }).pipe(Runtime.runPromise(runtime))
        )
        yield* Effect.promise(() => FastCheck.assert(property, { seed: 20261208, numRuns: 150 }))
        // the store's own options: anything but an object is refused, naming the module
        for (const options of ["127.0.0.1", 6379, ["127.0.0.1"], true]) {
          const defect = yield* defectOf(
            Layer.build(RateLimitRedis.layerStore(bad<RateLimitRedis.StoreOptions>(options))).pipe(Effect.scoped)
          )
          expect(defect).toMatch(/^RangeError: RateLimitRedis: options .* must be an object/)
        }
      }).pipe(Effect.scoped),
    60_000
  )

  it.live(
    "Redis unreachable: every call fails at once with RateLimitStoreError for its key; shared again once it answers",
    () =>
      Effect.gen(function*() {
        const port = yield* freePort
        const server = { host: "127.0.0.1", port }
        const upScope = yield* Scope.make()
        yield* Effect.provideService(startRedisServerOn(port), Scope.Scope, upScope)
        const options = { ...server, commandTimeout: 1000, connectTimeout: 2000 }
        const processes = yield* Effect.replicateEffect(
          Effect.map(
            Layer.build(RateLimitRedis.layerStore({ ...options, prefix: "down:" })),
            (context) => Context.get(context, RateLimit.RateLimiterStore)
          ),
          2
        )
        const limiters = (config: { algorithm: Algorithm; onExceeded: "fail" | "delay" }) =>
          Effect.forEach(processes, (store) =>
            RateLimit.make({ limit: 3, window: "1 hour", ...config }).pipe(
              Effect.provideService(RateLimit.RateLimiterStore, store)
            ))
        const [a, b] = yield* limiters({ algorithm: "fixed-window", onExceeded: "fail" })
        yield* a!.consume("api", 2)
        expect(answerOf(yield* Effect.either(b!.consume("api", 2)))._tag).toBe("RateLimitExceeded")

        yield* Scope.close(upScope, Exit.void)
        const runtime = yield* Effect.runtime<never>()
        const property = FastCheck.asyncProperty(
          FastCheck.constantFrom<Algorithm>("token-bucket", "fixed-window"),
          FastCheck.constantFrom<"fail" | "delay">("fail", "delay"),
          FastCheck.nat(1),
          FastCheck.constantFrom("api", "other", "{api}"),
          FastCheck.integer({ min: 1, max: 3 }),
          (algorithm, onExceeded, proc, key, tokens) =>
            Effect.gen(function*() {
              const limiter = (yield* limiters({ algorithm, onExceeded }))[proc]!
              const started = performance.now()
              const answer = answerOf(yield* Effect.either(limiter.consume(key, tokens)))
              expect(answer).toEqual({ _tag: "RateLimitStoreError", key })
              // at once: nothing is queued while the connection is down, no waiting for commandTimeout
              expect(performance.now() - started).toBeLessThan(500)
            }).pipe(Runtime.runPromise(runtime))
        )
        yield* Effect.promise(() => FastCheck.assert(property, { seed: 20261209, numRuns: 40 }))

        // a server on the port again (empty: it keeps nothing): ioredis reconnects in the background
        const againScope = yield* Scope.make()
        yield* Effect.addFinalizer(() => Scope.close(againScope, Exit.void))
        yield* Effect.provideService(startRedisServerOn(port), Scope.Scope, againScope)
        const [c, d] = yield* limiters({ algorithm: "token-bucket", onExceeded: "fail" })
        // each process reconnects on its own: wait (real time, bounded) until each answers, on a key of its own
        const giveUpAt = performance.now() + 15_000
        for (const [i, limiter] of [c!, d!].entries()) {
          let back = answerOf(yield* Effect.either(limiter.consume(`probe-${i}`, 1)))
          while (back._tag === "RateLimitStoreError" && performance.now() < giveUpAt) {
            yield* Effect.sleep("50 millis")
            back = answerOf(yield* Effect.either(limiter.consume(`probe-${i}`, 1)))
          }
          expect(back).toEqual({ _tag: "ok" })
        }
        // shared again: 3 tokens for the fleet (the restarted server kept nothing of before)
        expect(answerOf(yield* Effect.either(c!.consume("api", 1)))).toEqual({ _tag: "ok" })
        expect(answerOf(yield* Effect.either(d!.consume("api", 2)))).toEqual({ _tag: "ok" })
        expect(answerOf(yield* Effect.either(c!.consume("api", 1)))._tag).toBe("RateLimitExceeded")
      }).pipe(Effect.scoped),
    60_000
  )
})
