// Hostile option values for every public constructor of @sturdy/policy that takes options. For each option, a
// property (fast-check, fixed seed) feeds it wrong types, NaN, ±Infinity, -0, negatives, fractions, huge numbers,
// durations that do not parse, null, values whose `valueOf` throws, symbols, bigints, in an options object that is
// plain, frozen, carries `__proto__`/`constructor` keys, or has a throwing getter for the option. The constructor must
// refuse the value with a RangeError/TypeError naming the option (the pattern of every module's doc), or accept it and
// then answer a call on the TestClock with a documented outcome: never a hang, another defect, or a value outside the
// option's documented domain read as something else. The getter's own error passing through unchanged is allowed.
// The named examples at the end are the defects these properties found (each has its regression test in the module's
// own test file).
import { describe, expect, it } from "@effect/vitest"
import * as AdaptiveThrottle from "@sturdy/policy/AdaptiveThrottle"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Balancer from "@sturdy/policy/Balancer"
import * as Bulkhead from "@sturdy/policy/Bulkhead"
import * as CircuitBreaker from "@sturdy/policy/CircuitBreaker"
import * as CircuitBreakerRedis from "@sturdy/policy/CircuitBreakerRedis"
import * as CircuitBreakerStore from "@sturdy/policy/CircuitBreakerStore"
import * as Coalesce from "@sturdy/policy/Coalesce"
import * as ConcurrencyLimit from "@sturdy/policy/ConcurrencyLimit"
import * as Deadline from "@sturdy/policy/Deadline"
import * as Fallback from "@sturdy/policy/Fallback"
import * as Hedge from "@sturdy/policy/Hedge"
import * as RateLimit from "@sturdy/policy/RateLimit"
import * as RateLimitRedis from "@sturdy/policy/RateLimitRedis"
import * as Retry from "@sturdy/policy/Retry"
import * as RetryBudget from "@sturdy/policy/RetryBudget"
import * as RetryBudgetRedis from "@sturdy/policy/RetryBudgetRedis"
import * as RetryBudgetStore from "@sturdy/policy/RetryBudgetStore"
import * as Runner from "@sturdy/policy/Runner"
import * as StaleCache from "@sturdy/policy/StaleCache"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import {
  Boom,
  type Case,
  defectOf,
  hostileValue,
  isCount,
  isDurationLike,
  judge,
  optionsWith,
  type Wrapper,
  wrapper
} from "./utils/hostile.js"

const fastCheck = { fastCheck: { seed: 20261206, numRuns: 40 } }
const boom = Effect.fail(new Boom("boom"))
const isFunction = (value: unknown) => typeof value === "function"
const isBoolean = (value: unknown) => typeof value === "boolean"
const isRatio = (value: unknown) => typeof value === "number" && value > 0 && value <= 1
const isUnit = (value: unknown) => typeof value === "number" && value >= 0 && value <= 1
const isPositiveDuration = (value: unknown) =>
  isDurationLike(value) && !(value === 0 || value === 0n || value === "0 millis")

// One property per option: `call(wrap, value)` builds what the option is given to and calls through it.
const property = (
  name: string,
  c: Case,
  call: (wrap: Wrapper, value: unknown) => Effect.Effect<unknown, unknown>
) =>
  it.effect.prop(name, [wrapper, hostileValue], ([wrap, value]) => judge(c, value, () => call(wrap, value)), fastCheck)

describe("HostileOptions: Backoff", () => {
  const cases: ReadonlyArray<Case> = [
    { option: "baseDelay", allows: isDurationLike },
    { option: "maxDelay", allows: isDurationLike },
    { option: "maxElapsed", allows: isDurationLike },
    { option: "factor", allows: (v) => typeof v === "number" && v >= 1 && Number.isFinite(v) },
    { option: "jitter", allows: (v) => ["none", "full", "equal", "decorrelated"].includes(v as string) },
    { option: "maxAttempts", allows: isCount(1, true) }
  ]
  for (const c of cases) {
    property(`exponential: ${c.option}`, c, (wrap, value) =>
      Effect.retry(
        boom,
        Schedule.intersect(Backoff.exponential(optionsWith(wrap, {}, c.option, value)), Schedule.recurs(3))
      ))
    if (c.option !== "baseDelay" && c.option !== "factor" && c.option !== "jitter") {
      property(`bounded: ${c.option}`, c, (wrap, value) =>
        Effect.retry(
          boom,
          Schedule.intersect(
            Backoff.bounded(Schedule.spaced("1 second"), optionsWith(wrap, {}, c.option, value)),
            Schedule.recurs(3)
          )
        ))
    }
  }
})

describe("HostileOptions: Retry", () => {
  const cases: ReadonlyArray<Case> = [
    { option: "maxRetryAfter", allows: isDurationLike },
    { option: "maxRetryAfterJitter", allows: isDurationLike },
    { option: "retryAfterJitter", allows: isUnit },
    { option: "while", allows: isFunction },
    { option: "delayHint", allows: isFunction },
    { option: "finalFailure", allows: isFunction },
    { option: "onAttempt", allows: isFunction }
  ]
  for (const c of cases) {
    property(
      c.option,
      c,
      (wrap, value) => Retry.retry(boom, optionsWith(wrap, { schedule: Schedule.recurs(2) }, c.option, value))
    )
  }
})

describe("HostileOptions: CircuitBreaker", () => {
  const cases: ReadonlyArray<Case> = [
    { option: "consecutiveFailures", allows: isCount(1, true) },
    { option: "failureCountThreshold", allows: isCount(1) },
    { option: "minimumThroughput", allows: isCount(1) },
    { option: "halfOpenMaxProbes", allows: isCount(1) },
    { option: "successThreshold", allows: isCount(1) },
    { option: "failureRateThreshold", allows: isRatio },
    { option: "slidingWindow", allows: isPositiveDuration },
    { option: "maxProbeDuration", allows: isPositiveDuration },
    { option: "breakDuration", allows: isDurationLike },
    { option: "isFailure", allows: isFunction },
    { option: "isIgnored", allows: isFunction }
  ]
  const run = (breaker: CircuitBreaker.CircuitBreaker) =>
    Effect.gen(function*() {
      for (let i = 0; i < 12; i++) yield* Effect.either(CircuitBreaker.withBreaker(boom, breaker))
      return yield* CircuitBreaker.withBreaker(boom, breaker)
    })
  for (const c of cases) {
    property(
      c.option,
      { ...c, failures: ["CircuitOpen"] },
      (wrap, value) =>
        Effect.scoped(Effect.flatMap(CircuitBreaker.make("api", optionsWith(wrap, {}, c.option, value)), run))
    )
  }
  property(
    "key",
    { option: "key", allows: (v) => typeof v === "string", failures: ["CircuitOpen"] },
    (_, value) => Effect.scoped(Effect.flatMap(CircuitBreaker.make(value as string, { consecutiveFailures: 1 }), run))
  )
  // options that are no object are read as none, as every module's `options?.x` reads them; nothing may crash
  property("options", { option: "options", allows: () => true }, (_, value) =>
    Effect.scoped(
      Effect.flatMap(CircuitBreaker.make("api", value as CircuitBreaker.Options), (breaker) =>
        CircuitBreaker.withBreaker(Effect.void, breaker))
    ))
  property(
    "makeRegistry: capacity",
    { option: "capacity", allows: isCount(1) },
    (wrap, value) =>
      Effect.scoped(Effect.flatMap(
        CircuitBreaker.makeRegistry(optionsWith(wrap, {}, "capacity", value)),
        (registry) => registry.withBreaker("api")(Effect.void)
      ))
  )
})

describe("HostileOptions: Bulkhead", () => {
  const cases: ReadonlyArray<Case> = [
    { option: "maxConcurrent", allows: isCount(1, true), required: true },
    { option: "maxQueued", allows: isCount(0, true) },
    { option: "maxWait", allows: isDurationLike },
    { option: "key", allows: (v) => typeof v === "string" }
  ]
  for (const c of cases) {
    property(c.option, { ...c, failures: ["BulkheadRejected"] }, (wrap, value) =>
      Effect.flatMap(
        Bulkhead.make(optionsWith(wrap, { maxConcurrent: 1 }, c.option, value)),
        (bulkhead) =>
          Effect.all(
            [1, 2, 3].map(() => Bulkhead.withBulkhead(Effect.sleep("1 second"), bulkhead)),
            { concurrency: "unbounded" }
          )
      ))
  }
})

describe("HostileOptions: RateLimit", () => {
  const cases: ReadonlyArray<Case> = [
    { option: "limit", allows: (v) => isCount(1)(v) && Number.isSafeInteger(v), required: true },
    { option: "window", allows: isPositiveDuration, required: true },
    { option: "maxWait", allows: isDurationLike },
    { option: "maxPausedKeys", allows: isCount(1) },
    { option: "algorithm", allows: (v) => v === "token-bucket" || v === "fixed-window" }
  ]
  for (const c of cases) {
    property(c.option, { ...c, failures: ["RateLimitExceeded"] }, (wrap, value) =>
      Effect.flatMap(
        RateLimit.make(optionsWith(wrap, { limit: 2, window: "1 second", maxWait: "1 minute" }, c.option, value)),
        (limiter) => Effect.all([1, 2, 3, 4].map(() => RateLimit.withRateLimit(Effect.void, limiter, "api")))
      ).pipe(Effect.provide(RateLimit.layerStoreMemory)))
  }
  property(
    "makeStoreMemory: maxKeys",
    { option: "maxKeys", allows: isCount(1) },
    (wrap, value) => Effect.sync(() => RateLimit.makeStoreMemory(optionsWith(wrap, {}, "maxKeys", value)))
  )
})

describe("HostileOptions: RetryBudget", () => {
  const cases: ReadonlyArray<Case> = [
    { option: "ratio", allows: (v) => typeof v === "number" && v >= 0 && Number.isFinite(v) },
    { option: "minRetries", allows: (v) => typeof v === "number" && v >= 0 },
    { option: "window", allows: (v) => isPositiveDuration(v) && v !== Infinity },
    { option: "maxKeys", allows: isCount(1) }
  ]
  for (const c of cases) {
    property(c.option, c, (wrap, value) =>
      Effect.gen(function*() {
        const budget = yield* RetryBudget.make(optionsWith(wrap, {}, c.option, value))
        for (let i = 0; i < 5; i++) yield* budget.deposit("api")
        for (let i = 0; i < 20; i++) yield* budget.withdraw("api")
        const stats = yield* budget.stats("api")
        expect(typeof stats.available).toBe("number")
        expect(Number.isNaN(stats.available)).toBe(false)
      }))
  }
})

describe("HostileOptions: AdaptiveThrottle", () => {
  const cases: ReadonlyArray<Case> = [
    { option: "k", allows: (v) => typeof v === "number" && v >= 1 && Number.isFinite(v) },
    { option: "window", allows: (v) => isPositiveDuration(v) && v !== Infinity },
    { option: "key", allows: (v) => typeof v === "string" },
    { option: "isRejectedByBackend", allows: isFunction }
  ]
  for (const c of cases) {
    property(
      c.option,
      { ...c, failures: ["AdaptiveThrottleRejected"] },
      (wrap, value) =>
        Effect.flatMap(
          AdaptiveThrottle.make(optionsWith(wrap, {}, c.option, value)),
          (throttle) =>
            Effect.gen(function*() {
              for (let i = 0; i < 30; i++) yield* Effect.either(AdaptiveThrottle.withAdaptiveThrottle(boom, throttle))
            })
        )
    )
  }
  property(
    "options",
    { option: "options", allows: () => true },
    (_, value) =>
      Effect.flatMap(
        AdaptiveThrottle.make(value as AdaptiveThrottle.Options),
        (throttle) => AdaptiveThrottle.withAdaptiveThrottle(Effect.void, throttle)
      )
  )
})

describe("HostileOptions: ConcurrencyLimit", () => {
  // with the other options at their defaults: minLimit 1, maxLimit 200, initialLimit 20 (moved into the range)
  const isLimitIn = (min: number, max: number) => (v: unknown) =>
    typeof v === "number" && Number.isSafeInteger(v) && v >= min && v <= max
  const cases: ReadonlyArray<Case> = [
    { option: "initialLimit", allows: isLimitIn(1, 200) },
    { option: "minLimit", allows: isLimitIn(1, 200) },
    { option: "maxLimit", allows: isLimitIn(1, Number.MAX_SAFE_INTEGER) },
    { option: "backoffRatio", allows: (v) => typeof v === "number" && v >= 0.5 && v < 1 },
    { option: "timeout", allows: isPositiveDuration },
    { option: "key", allows: (v) => typeof v === "string" },
    { option: "isDrop", allows: isFunction },
    { option: "algorithm", allows: (v) => v === "aimd" || v === "gradient2" },
    { option: "smoothing", allows: (v) => typeof v === "number" && v > 0 && v <= 1 },
    { option: "queueSize", allows: isLimitIn(0, Number.MAX_SAFE_INTEGER) },
    { option: "rttTolerance", allows: (v) => typeof v === "number" && v >= 1 && Number.isFinite(v) },
    { option: "longWindow", allows: isLimitIn(1, Number.MAX_SAFE_INTEGER) }
  ]
  for (const c of cases) {
    property(c.option, { ...c, failures: ["ConcurrencyLimitExceeded"] }, (wrap, value) =>
      Effect.flatMap(
        // gradient2, so that its options are used as well as checked
        ConcurrencyLimit.make(
          optionsWith(wrap, c.option === "algorithm" ? {} : { algorithm: "gradient2" }, c.option, value)
        ),
        (limiter) =>
          Effect.gen(function*() {
            for (let i = 0; i < 10; i++) yield* Effect.either(ConcurrencyLimit.withLimit(boom, limiter))
            yield* Effect.all(
              [1, 2, 3].map(() => ConcurrencyLimit.withLimit(Effect.sleep("6 seconds"), limiter)),
              { concurrency: "unbounded" }
            )
            const limit = yield* limiter.limit
            expect(Number.isSafeInteger(limit) && limit >= 1).toBe(true)
          })
      ))
  }
})

describe("HostileOptions: Deadline", () => {
  // a negative or zero timeout is a deadline already passed (documented); NaN is refused
  const c: Case = {
    option: "",
    allows: (v) => typeof v === "number" || typeof v === "bigint" || Option.isSome(Duration.decodeUnknown(v)),
    failures: ["DeadlineExceeded"]
  }
  property(
    "withDeadline: timeout",
    { ...c, option: "timeout" },
    (_, value) => Deadline.withDeadline(Effect.sleep("1 second"), value as never)
  )
  property(
    "attemptTimeout: timeout",
    { ...c, option: "timeout" },
    (_, value) => Deadline.attemptTimeout(Effect.sleep("1 second"), value as never)
  )
  property(
    "ensureRemaining: minimum",
    { ...c, option: "minimum" },
    (_, value) => Deadline.withDeadline(Deadline.ensureRemaining(value as never), "1 minute")
  )
})

describe("HostileOptions: Hedge", () => {
  const cases: ReadonlyArray<Case> = [
    { option: "delay", allows: isDurationLike },
    { option: "maxHedges", allows: isCount(0) },
    { option: "enabled", allows: isBoolean },
    { option: "failure", allows: (v) => v === "first" || v === "last" },
    { option: "deposit", allows: isBoolean },
    { option: "while", allows: isFunction },
    { option: "pushback", allows: isFunction },
    { option: "onHedge", allows: isFunction }
  ]
  for (const c of cases) {
    // with many hedges allowed (2^53 is an integer) and every copy failing, hedging goes on as asked: the copies
    // answer, for `maxHedges`, so that the call ends with the first of them
    property(c.option, c, (wrap, value) =>
      Hedge.hedge(
        Effect.zipRight(Effect.sleep("1 second"), c.option === "maxHedges" ? Effect.succeed(1) : boom),
        optionsWith(wrap, { delay: "100 millis", maxHedges: 2 }, c.option, value) as Hedge.Options
      ))
  }
  for (const option of ["samples", "maxKeys"]) {
    property(
      `LatencyTracker: ${option}`,
      { option, allows: isCount(1) },
      (wrap, value) =>
        Effect.flatMap(
          Hedge.makeLatencyTracker(optionsWith(wrap, {}, option, value)),
          (tracker) =>
            Hedge.hedge(Effect.succeed(1), {
              delay: Hedge.percentile({ tracker, key: "api", fallback: "100 millis" })
            })
        )
    )
  }
  const percentileCases: ReadonlyArray<Case> = [
    { option: "quantile", allows: isUnit },
    { option: "fallback", allows: isDurationLike },
    { option: "min", allows: isDurationLike },
    { option: "max", allows: isDurationLike },
    { option: "minSamples", allows: isCount(0) }
  ]
  for (const c of percentileCases) {
    property(
      `percentile: ${c.option}`,
      c,
      (wrap, value) =>
        Effect.suspend(() =>
          Hedge.hedge(Effect.zipRight(Effect.sleep("1 second"), Effect.succeed(1)), {
            delay: Hedge.percentile(
              optionsWith(
                wrap,
                { tracker: Hedge.unsafeMakeLatencyTracker(), key: "api", fallback: "100 millis" },
                c.option,
                value
              )
            )
          })
        )
    )
  }
})

describe("HostileOptions: StaleCache", () => {
  const cases: ReadonlyArray<Case> = [
    { option: "maxEntries", allows: isCount(1), required: true },
    { option: "maxStaleness", allows: isDurationLike, required: true }
  ]
  for (const c of cases) {
    property(c.option, c, (wrap, value) =>
      Effect.gen(function*() {
        const cache = yield* StaleCache.make<number>(
          optionsWith(wrap, { maxEntries: 2, maxStaleness: "1 minute" }, c.option, value)
        )
        yield* StaleCache.serve(Effect.succeed(1), cache, "a")
        return yield* StaleCache.serve(boom, cache, "a")
      }))
  }
})

class Prices extends Context.Tag("Prices")<Prices, { readonly price: Effect.Effect<number, Boom> }>() {}

describe("HostileOptions: Fallback", () => {
  property("attempts", { option: "attempts", allows: isCount(1) }, (wrap, value) =>
    Effect.suspend(() => {
      // the primary answers on its third attempt: `attempts` of 2^53 (an integer) are as many as asked, not a hang
      let tries = 0
      const price = Effect.suspend(() => (++tries >= 3 ? Effect.succeed(1) : boom))
      const plan = Fallback.make(
        optionsWith(wrap, { source: "primary", layer: Layer.succeed(Prices, { price }) }, "attempts", value),
        { source: "default", layer: Layer.succeed(Prices, { price: Effect.succeed(0) }) }
      )
      return Fallback.run(Effect.flatMap(Prices, (prices) => prices.price), plan) as Effect.Effect<unknown, unknown>
    }))
})

describe("HostileOptions: Runner", () => {
  property("maxIdle", { option: "maxIdle", allows: isCount(0) }, (wrap, value) =>
    Effect.scoped(
      Effect.flatMap(Runner.make(optionsWith(wrap, {}, "maxIdle", value)), (runner) =>
        Effect.promise(() => runner.runPromise(Effect.succeed(1))))
    ))
})

// The options argument itself: a value that is no object has none of the fields read from it, so every constructor
// took it for no options (every setting its default, the mistake unseen). Each must refuse it with a RangeError
// naming the options, before doing anything else (the Redis stores before connecting: no server is needed here).
describe("HostileOptions: Coalesce", () => {
  const isString = (value: unknown) => typeof value === "string"
  property(
    "name",
    { option: "name", allows: isString },
    (wrap, value) =>
      Effect.flatMap(
        Coalesce.make(optionsWith(wrap, {}, "name", value)),
        (group) =>
          Effect.all([Coalesce.run(Effect.succeed(1), group, "a"), Coalesce.run(boom, group, "b")], {
            concurrency: 2,
            mode: "either"
          })
      )
  )
})

describe("HostileOptions: Balancer", () => {
  const isPercent = (v: unknown) => typeof v === "number" && v >= 0 && v <= 100
  const isFinitePositive = (v: unknown) => isPositiveDuration(v) && v !== Infinity && v !== "Infinity"
  const isFiniteDuration = (v: unknown) => isDurationLike(v) && v !== Infinity && v !== "Infinity"
  // three endpoints, one of which fails: a few calls, some of them overlapping, and a wait past any ejection
  const use = (balancer: Balancer.Balancer<string>) =>
    Effect.gen(function*() {
      const call = Balancer.withEndpoint(balancer, (e: string) => e === "a" ? boom : Effect.as(Effect.sleep(10), e))
      for (let i = 0; i < 12; i++) yield* Effect.either(call)
      yield* Effect.all([call, call, call].map(Effect.either), { concurrency: "unbounded" })
      const snapshot = yield* balancer.snapshot
      expect(snapshot.every((s) => s.inFlight === 0 && Number.isFinite(s.latency))).toBe(true)
      return yield* call
    })
  const base: { readonly endpoints: readonly [string, ...Array<string>] } = { endpoints: ["a", "b", "c"] }
  const cases: ReadonlyArray<Case> = [
    { option: "strategy", allows: (v) => v === "p2c" || v === "round-robin" },
    { option: "ewmaDecay", allows: isFinitePositive },
    { option: "defaultLatency", allows: isFiniteDuration },
    { option: "key", allows: (v) => v === String }
  ]
  for (const c of cases) {
    property(
      c.option,
      c,
      (wrap, value) => Effect.flatMap(Balancer.make<string>(optionsWith(wrap, base, c.option, value)), use)
    )
  }
  const outlierCases: ReadonlyArray<Case> = [
    {
      option: "consecutiveFailures",
      allows: (v) => isCount(1, true)(v) && (v as number) <= Number.MAX_SAFE_INTEGER || v === Infinity
    },
    { option: "isFailure", allows: isFunction },
    { option: "baseEjectionTime", allows: isFinitePositive },
    {
      option: "maxEjectionTime",
      allows: (v) => isFiniteDuration(v) && Duration.toMillis(Duration.decode(v as never)) >= 30_000
    },
    { option: "maxEjectionPercent", allows: isPercent },
    { option: "alwaysEjectOne", allows: isBoolean },
    { option: "interval", allows: isFinitePositive },
    { option: "panicThreshold", allows: isPercent }
  ]
  for (const c of outlierCases) {
    property(
      `outlier.${c.option}`,
      c,
      (wrap, value) =>
        Effect.flatMap(
          Balancer.make({ ...base, outlier: optionsWith(wrap, { consecutiveFailures: 2 }, c.option, value) }),
          use
        )
    )
  }
  property(
    "endpoints",
    {
      option: "endpoints",
      allows: (v) => Array.isArray(v) && v.length > 0 && new Set(v.map(String)).size === v.length,
      required: true
    },
    (wrap, value) =>
      Effect.flatMap(
        Balancer.make(optionsWith(wrap, {}, "endpoints", value)),
        (balancer) => Balancer.withEndpoint(balancer, () => Effect.void)
      )
  )
})

describe("HostileOptions: the options argument", () => {
  const notAnObject = FastCheck.constantFrom<unknown>(
    "abc",
    "",
    "{\"limit\":5}",
    0,
    5,
    Number.NaN,
    true,
    false,
    Symbol("options"),
    5n,
    () => ({ limit: 5 }),
    [],
    [{ limit: 5 }]
  )
  const spaced = Schedule.spaced("1 second")
  const constructors: ReadonlyArray<readonly [string, (options: any) => Effect.Effect<unknown, unknown>]> = [
    ["Backoff.exponential", (options) => Effect.sync(() => Backoff.exponential(options))],
    ["Backoff.bounded", (options) => Effect.sync(() => Backoff.bounded(spaced, options))],
    ["Retry.retry", (options) => Retry.retry(boom, options)],
    ["CircuitBreaker.make", (options) => Effect.scoped(CircuitBreaker.make("api", options))],
    ["CircuitBreaker.makeRegistry", (options) => Effect.scoped(CircuitBreaker.makeRegistry(options))],
    [
      "CircuitBreakerStore.make",
      (options) =>
        Effect.scoped(CircuitBreakerStore.make("api", options)).pipe(Effect.provide(CircuitBreakerStore.layerMemory))
    ],
    ["Bulkhead.make", (options) => Bulkhead.make(options)],
    ["RateLimit.make", (options) => RateLimit.make(options).pipe(Effect.provide(RateLimit.layerStoreMemory))],
    ["RateLimit.makeStoreMemory", (options) => Effect.sync(() => RateLimit.makeStoreMemory(options))],
    ["RetryBudget.make", (options) => RetryBudget.make(options)],
    ["RetryBudgetStore.makeMemory", (options) => Effect.sync(() => RetryBudgetStore.makeMemory(options))],
    ["AdaptiveThrottle.make", (options) => AdaptiveThrottle.make(options)],
    ["ConcurrencyLimit.make", (options) => ConcurrencyLimit.make(options)],
    ["Deadline.withDeadline", (options) => Deadline.withDeadline(Effect.void, "1 second", options)],
    ["Deadline.attemptTimeout", (options) => Deadline.attemptTimeout(Effect.void, "1 second", options)],
    ["Deadline.establish", (options) => Deadline.establish(Effect.void, "1 second", options)],
    ["Hedge.hedge", (options) => Hedge.hedge(Effect.void, options as Hedge.Options)],
    ["Hedge.makeLatencyTracker", (options) => Hedge.makeLatencyTracker(options)],
    ["Hedge.percentile", (options) => Effect.sync(() => Hedge.percentile(options))],
    ["StaleCache.make", (options) => StaleCache.make(options)],
    ["Coalesce.make", (options) => Coalesce.make(options)],
    ["Balancer.make", (options) => Balancer.make(options)],
    ["Runner.make", (options) => Effect.scoped(Runner.make(options))],
    ["RateLimitRedis.layerStore", (options) => Layer.build(RateLimitRedis.layerStore(options)).pipe(Effect.scoped)],
    ["RetryBudgetRedis.layerStore", (options) => Layer.build(RetryBudgetRedis.layerStore(options)).pipe(Effect.scoped)],
    [
      "CircuitBreakerRedis.layerStore",
      (options) => Layer.build(CircuitBreakerRedis.layerStore(options)).pipe(Effect.scoped)
    ]
  ]
  for (const [name, construct] of constructors) {
    it.effect.prop(name, [notAnObject], ([options]) =>
      Effect.map(defectOf(() => construct(options)), (defect) => {
        expect(defect).toBeInstanceOf(RangeError)
        expect((defect as RangeError).message).toMatch(/options \(.*\) must be an object/)
      }), fastCheck)
  }

  it.effect("undefined and null are no options", () =>
    Effect.gen(function*() {
      // `null` is outside the option types: a setting read as none, from plain JavaScript or a file
      for (const none of [undefined, null] as Array<never>) {
        expect(yield* defectOf(() => RetryBudget.make(none))).toBeUndefined()
        expect(yield* defectOf(() => AdaptiveThrottle.make(none))).toBeUndefined()
        expect(yield* defectOf(() => Effect.scoped(CircuitBreaker.make("api", none)))).toBeUndefined()
        expect(yield* defectOf(() => Effect.sync(() => Backoff.exponential(none)))).toBeUndefined()
      }
    }))
})
