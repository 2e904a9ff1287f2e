// Ported from alibaba/Sentinel (commit d75a6687b82711f8611ef91f6a56e993d24f57c5), sentinel-core/src/test/java/com/
// alibaba/csp/sentinel/slots/block/degrade/: circuitbreaker/ExceptionCircuitBreakerTest.java,
// circuitbreaker/ResponseTimeCircuitBreakerTest.java, CircuitBreakingIntegrationTest.java and
// DegradeRuleManagerTest.java, with the helpers of test/AbstractTimeBasedTest.java; one `it` per Sentinel case, named
// after it.
// Mapping: a `DegradeRule` is `CircuitBreaker.make` with `breakDuration: timeWindow s`, `slidingWindow: statIntervalMs`,
// `minimumThroughput: minRequestAmount` and one probe at a time that closes the breaker when it passes
// (`halfOpenMaxProbes: 1, successThreshold: 1`, the defaults, as Sentinel's single HALF_OPEN probe); grade
// DEGRADE_GRADE_EXCEPTION_RATIO with `count` r is `failureRateThreshold: r`; grade DEGRADE_GRADE_RT with `count` m ms and
// `slowRatioThreshold` s is `slowCallDuration: m ms, slowCallRateThreshold: s` (the RT breaker ignores errors, as a
// Sturdy breaker given only a slow-call rate does). The mocked `TimeUtil` is the TestClock; `entryAndSleepFor(res, ms)`
// is a call that takes `ms` of virtual time (a blocked entry takes none), `entryWithErrorIfPresent(res, ex)` a call that
// fails with `ex` (or succeeds) after 7 ms (Sentinel draws 5 to 9 ms at random); `true` is an admitted call, `false`
// a `CircuitOpen`. Sentinel's random response times (`maxRt ± nextInt(10, 20)`) are fixed at maxRt ± 15 ms. A
// `CircuitBreakerStateChangeObserver` is the breaker's `changes`; two rules on one resource are two nested breakers,
// the first rule's outside; `DefaultCircuitBreakerRuleManager`'s rule for every resource is a `Registry`'s `breaker`
// options. `DegradeRuleManager.isValidRule(rule)` false is a `RangeError` from `make`.
// Deliberate differences (each test says which): the breaker opens when a ratio reaches its threshold (>=), where
// Sentinel opens above it (>, but at a slow ratio of 1 on equality); a call of exactly `count` ms is slow in Sturdy
// (at least `slowCallDuration`) and not in Sentinel (none here is). Sentinel's statistics are one bucket of
// `statIntervalMs` aligned on the epoch (a tumbling window); Sturdy's window slides in tenths (no case here crosses
// a boundary). A half-open probe turned away by another breaker gives its slot back and leaves the breaker HalfOpen,
// where Sentinel's hook sets it back to OPEN with its retry time already passed (the next call probes at once in
// both). A threshold of 0 is refused (it would open on successes under >=), and a pause of 0 accepted.
// Not ported: DegradeRuleTest.testRuleEquals (rule equality), the DefaultCircuitBreakerRuleManagerTest,
// DefaultCircuitBreakerSlotTest and DegradePartialIntegrationTest cases (Sentinel's rule loading and slot chain), and
// testExceptionCountMode (an empty TODO in Sentinel). Sturdy has no "more than n errors in the interval" trigger
// (DEGRADE_GRADE_EXCEPTION_COUNT); only its validation is mapped, onto `consecutiveFailures`.
import { describe, expect, it } from "@effect/vitest"
import { CircuitBreaker } from "@sturdy/policy"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"

class IllegalArgumentException extends Error {
  readonly _tag = "IllegalArgumentException"
}

type Guard = <A, E>(self: Effect.Effect<A, E>) => Effect.Effect<A, E | CircuitBreaker.CircuitOpen>

const guardOf = (breaker: CircuitBreaker.CircuitBreaker): Guard => CircuitBreaker.withBreaker(breaker)

// the entry passed (true) or was blocked by a breaker (false); the body takes `ms` of virtual time once admitted
const entry = (guard: Guard, ms: number, error?: Error) =>
  Effect.gen(function*() {
    const body = Effect.zipRight(
      Effect.sleep(Duration.millis(ms)),
      error === undefined ? Effect.void : Effect.fail(error)
    )
    const fiber = yield* Effect.fork(guard(body))
    yield* Effect.yieldNow()
    if (Option.isNone(yield* Fiber.poll(fiber))) yield* TestClock.adjust(Duration.millis(ms))
    const exit = yield* Fiber.await(fiber)
    return !(Exit.isFailure(exit) && exit.cause._tag === "Fail" && CircuitBreaker.isCircuitOpen(exit.cause.error))
  })

const entryAndSleepFor = (guard: Guard, sleepMs: number) => entry(guard, sleepMs)
const entryWithErrorIfPresent = (guard: Guard, error: Error | null) => entry(guard, 7, error ?? undefined)

const sleep = (ms: number) => TestClock.adjust(Duration.millis(ms))

// the transitions published from now on, as "from to" (key-prefixed when `keyed`)
const observe = (subscribe: CircuitBreaker.CircuitBreaker["subscribe"], keyed = false) =>
  Effect.gen(function*() {
    const stream = yield* subscribe
    const seen: Array<string> = []
    yield* Effect.forkScoped(Stream.runForEach(stream, (c) =>
      Effect.sync(() => {
        seen.push(keyed ? `${c.key}: ${c.from} ${c.to}` : `${c.from} ${c.to}`)
      })))
    yield* Effect.yieldNow()
    return {
      seen: Effect.as(Effect.repeatN(Effect.yieldNow(), 4), seen),
      reset: Effect.sync(() => {
        seen.length = 0
      })
    }
  })

interface DegradeRule {
  readonly grade: "RT" | "EXCEPTION_RATIO"
  readonly count: number
  readonly timeWindow: number
  readonly statIntervalMs?: number
  readonly minRequestAmount?: number
  readonly slowRatioThreshold?: number
}

// a DegradeRule's breaker options (Sentinel's defaults: statIntervalMs 1000, minRequestAmount 5, slowRatioThreshold 1),
// durations as plain milliseconds (`Duration.seconds(-1)` would already be zero, so `make` could not refuse it)
const optionsOf = (rule: DegradeRule): CircuitBreaker.Options => ({
  breakDuration: rule.timeWindow * 1000,
  slidingWindow: rule.statIntervalMs ?? 1000,
  minimumThroughput: rule.minRequestAmount ?? 5,
  ...(rule.grade === "RT"
    ? { slowCallDuration: rule.count, slowCallRateThreshold: rule.slowRatioThreshold ?? 1 }
    : { failureRateThreshold: rule.count })
})

const loadRule = (resource: string, rule: DegradeRule) => CircuitBreaker.make(resource, optionsOf(rule))

describe("peer sentinel ExceptionCircuitBreakerTest", () => {
  it.scoped("testRecordErrorOrSuccess", () =>
    Effect.gen(function*() {
      const retryTimeoutMillis = 10 * 1000
      const breaker = yield* loadRule("testRecordErrorOrSuccess", {
        grade: "EXCEPTION_RATIO",
        count: 0.2,
        statIntervalMs: 20 * 1000,
        timeWindow: retryTimeoutMillis / 1000,
        minRequestAmount: 1
      })
      const res = guardOf(breaker)

      expect(yield* entryAndSleepFor(res, 10)).toBe(true)

      expect(yield* entryWithErrorIfPresent(res, new IllegalArgumentException())).toBe(true) // -> open
      expect(yield* entryWithErrorIfPresent(res, new IllegalArgumentException())).toBe(false)
      expect(yield* entryAndSleepFor(res, 100)).toBe(false)
      yield* sleep(retryTimeoutMillis / 2)
      expect(yield* entryAndSleepFor(res, 100)).toBe(false)
      yield* sleep(retryTimeoutMillis / 2)
      expect(yield* entryWithErrorIfPresent(res, new IllegalArgumentException())).toBe(true) // -> half -> open
      expect(yield* entryAndSleepFor(res, 100)).toBe(false)
      expect(yield* entryAndSleepFor(res, 100)).toBe(false)
      yield* sleep(retryTimeoutMillis)
      expect(yield* entryAndSleepFor(res, 100)).toBe(true) // -> half -> closed
      for (let i = 0; i < 6; i++) expect(yield* entryAndSleepFor(res, 100)).toBe(true)
      // 1 error in 7 calls since the breaker closed: below 0.2
      expect(yield* entryWithErrorIfPresent(res, new IllegalArgumentException())).toBe(true)
      expect(yield* entryAndSleepFor(res, 100)).toBe(true)
      expect(yield* breaker.state).toBe("Closed")
    }))
})

describe("peer sentinel ResponseTimeCircuitBreakerTest", () => {
  it.scoped("testMaxSlowRatioThreshold", () =>
    Effect.gen(function*() {
      const breaker = yield* loadRule("testMaxSlowRatioThreshold", {
        grade: "RT",
        count: 10,
        minRequestAmount: 3,
        slowRatioThreshold: 1,
        statIntervalMs: 5000,
        timeWindow: 5
      })
      const res = guardOf(breaker)

      expect(yield* entryAndSleepFor(res, 20)).toBe(true)
      expect(yield* entryAndSleepFor(res, 20)).toBe(true)
      expect(yield* entryAndSleepFor(res, 20)).toBe(true)

      // should be blocked, cause 3/3 requests' rt is bigger than max rt.
      expect(yield* entryAndSleepFor(res, 20)).toBe(false)
      yield* sleep(1000)
      expect(yield* entryAndSleepFor(res, 20)).toBe(false)
      yield* sleep(4000)

      expect(yield* entryAndSleepFor(res, 20)).toBe(true)
    }))
})

// testSlowRequestMode and testSlowRequestModeUseDefaultRule: the same script, on a breaker of its own or on the
// registry's breaker for the resource
const slowRequestMode = (
  guard: Guard,
  state: Effect.Effect<CircuitBreaker.State>,
  observer: { readonly seen: Effect.Effect<Array<string>>; readonly reset: Effect.Effect<void> }
) =>
  Effect.gen(function*() {
    const retryTimeoutSec = 5
    const maxRt = 50
    const minRequestAmount = 10
    // Try first N requests where N = minRequestAmount.
    for (let i = 0; i < minRequestAmount; i++) {
      expect(yield* entryAndSleepFor(guard, i < 7 ? maxRt + 15 : maxRt - 15)).toBe(true)
    }
    // Till now slow ratio should be 70%.
    for (let i = 0; i < 5; i++) expect(yield* entryAndSleepFor(guard, maxRt + 15)).toBe(true)
    // Sentinel admits a sixth slow call here and opens after it (13/16 > 0.8); Sturdy opened at 12/15, exactly 0.8
    // (it opens at the threshold), so the sixth is turned away
    expect(yield* observer.seen).toEqual(["Closed Open"])
    expect(yield* state).toBe("Open")
    expect(yield* entryAndSleepFor(guard, maxRt + 15)).toBe(false)
    // Circuit breaker has transformed to OPEN since here.
    expect(yield* entryAndSleepFor(guard, 1)).toBe(false)

    yield* sleep(1000)
    expect(yield* entryAndSleepFor(guard, 1)).toBe(false)
    yield* sleep(retryTimeoutSec * 1000)
    // Test HALF-OPEN to OPEN.
    expect(yield* entryAndSleepFor(guard, maxRt + 15)).toBe(true)
    expect(yield* observer.seen).toEqual(["Closed Open", "Open HalfOpen", "HalfOpen Open"])
    // Wait for next retry timeout;
    yield* observer.reset
    yield* sleep((retryTimeoutSec + 1) * 1000)
    expect(yield* entryAndSleepFor(guard, maxRt - 15)).toBe(true)
    expect(yield* observer.seen).toEqual(["Open HalfOpen", "HalfOpen Closed"])
    // Now circuit breaker has been closed.
    expect(yield* entryAndSleepFor(guard, maxRt + 15)).toBe(true)
  })

const slowRule: DegradeRule = {
  grade: "RT",
  timeWindow: 5,
  count: 50,
  statIntervalMs: 20000,
  minRequestAmount: 10,
  slowRatioThreshold: 0.8
}

describe("peer sentinel CircuitBreakingIntegrationTest", () => {
  it.scoped("testSlowRequestMode", () =>
    Effect.gen(function*() {
      const breaker = yield* loadRule("CircuitBreakingIntegrationTest_testSlowRequestMode", slowRule)
      const observer = yield* observe(breaker.subscribe)
      yield* slowRequestMode(guardOf(breaker), breaker.state, observer)
    }))

  it.scoped("testSlowRequestModeUseDefaultRule", () =>
    Effect.gen(function*() {
      const res = "CircuitBreakingIntegrationTest_testSlowRequestModeUseDefaultRule"
      const registry = yield* CircuitBreaker.makeRegistry({ breaker: optionsOf(slowRule) })
      const observer = yield* observe(registry.subscribe)
      const state = Effect.flatMap(registry.get(res), (b) => b.state)
      yield* slowRequestMode(registry.withBreaker(res), state, observer)
    }))

  it.scoped("testExceptionRatioMode", () =>
    Effect.gen(function*() {
      const retryTimeoutSec = 5
      const minRequestAmount = 10
      const breaker = yield* loadRule("CircuitBreakingIntegrationTest_testExceptionRatioMode", {
        grade: "EXCEPTION_RATIO",
        timeWindow: retryTimeoutSec,
        count: 0.5,
        statIntervalMs: 25000,
        minRequestAmount
      })
      const res = guardOf(breaker)
      const observer = yield* observe(breaker.subscribe)

      // Try first N requests where N = minRequestAmount.
      for (let i = 0; i < minRequestAmount - 1; i++) {
        expect(yield* entryWithErrorIfPresent(res, i < 6 ? new IllegalArgumentException() : null)).toBe(true)
      }
      // Till now slow ratio should be 60%.
      expect(yield* entryWithErrorIfPresent(res, new IllegalArgumentException())).toBe(true)
      // Circuit breaker has transformed to OPEN since here.
      expect(yield* breaker.state).toBe("Open")
      expect(yield* entryWithErrorIfPresent(res, null)).toBe(false)

      yield* sleep(2000)
      expect(yield* entryWithErrorIfPresent(res, null)).toBe(false)
      yield* sleep(retryTimeoutSec * 1000)
      // Test HALF-OPEN to OPEN.
      expect(yield* entryWithErrorIfPresent(res, new IllegalArgumentException())).toBe(true)
      expect(yield* observer.seen).toEqual(["Closed Open", "Open HalfOpen", "HalfOpen Open"])
      // Wait for next retry timeout;
      yield* observer.reset
      yield* sleep((retryTimeoutSec + 1) * 1000)
      expect(yield* entryWithErrorIfPresent(res, null)).toBe(true)
      expect(yield* observer.seen).toEqual(["Open HalfOpen", "HalfOpen Closed"])
      // Now circuit breaker has been closed.
      expect(yield* entryWithErrorIfPresent(res, new IllegalArgumentException())).toBe(true)
    }))

  it.scoped("testMultipleHalfOpenedBreakers", () =>
    Effect.gen(function*() {
      const retryTimeoutSec = 2
      const res = "CircuitBreakingIntegrationTest_testMultipleHalfOpenedBreakers"
      const rule: DegradeRule = {
        grade: "RT",
        timeWindow: retryTimeoutSec,
        count: 50,
        statIntervalMs: 20000,
        minRequestAmount: 1,
        slowRatioThreshold: 0.8
      }
      // initial two rules
      const first = yield* loadRule(res, rule)
      const second = yield* loadRule(res, { ...rule, timeWindow: retryTimeoutSec * 2 })
      const guard: Guard = (self) => CircuitBreaker.withBreaker(CircuitBreaker.withBreaker(self, second), first)
      const states = Effect.all([first.state, second.state])

      expect(yield* entryAndSleepFor(guard, 100)).toBe(true)
      // they are open now
      expect(yield* states).toEqual(["Open", "Open"])

      yield* sleep(3000)
      for (let i = 0; i < 10; i++) expect(yield* entryAndSleepFor(guard, 100)).toBe(false)
      // Sentinel: both OPEN (the first went half-open, and back to OPEN when the second blocked the entry). Sturdy:
      // the first's probe was turned away by the second, which says nothing of the upstream: it stays HalfOpen, its
      // slot free, and the next call probes at once (as Sentinel's, whose retry time has passed)
      expect(yield* states).toEqual(["HalfOpen", "Open"])

      yield* sleep(3000)
      // They will all recover
      for (let i = 0; i < 10; i++) expect(yield* entryAndSleepFor(guard, 1)).toBe(true)
      expect(yield* states).toEqual(["Closed", "Closed"])
    }))
})

describe("peer sentinel DegradeRuleManagerTest", () => {
  it.scoped("loadSameRuleUseSameCircuitBreaker", () =>
    Effect.gen(function*() {
      const resource = "loadSameRuleUseSameCircuitBreaker"
      const registry = yield* CircuitBreaker.makeRegistry({
        breaker: optionsOf({ grade: "RT", count: 100, slowRatioThreshold: 0.9, timeWindow: 20, statIntervalMs: 20000 })
      })
      const cb = yield* registry.get(resource)
      yield* registry.get("abc")
      expect(yield* registry.get(resource)).toBe(cb)
      expect(yield* registry.size).toBe(2)
    }))

  it.scoped("testIsValidRule", () =>
    Effect.gen(function*() {
      const invalid = (options: CircuitBreaker.Options) =>
        Effect.map(
          Effect.exit(CircuitBreaker.make("rule", options)),
          (exit) => Exit.isFailure(exit) && exit.cause._tag === "Die" ? String(exit.cause.defect) : "valid"
        )
      // rule1, a DegradeRule with nothing set: Sentinel refuses its timeWindow of 0; Sturdy accepts a pause of 0 and
      // refuses the RT threshold of 0 ms
      expect(yield* invalid({ slowCallDuration: 0, slowCallRateThreshold: 1, breakDuration: 0 })).toContain(
        "slowCallDuration"
      )
      expect(yield* invalid({ breakDuration: 0 })).toBe("valid")
      // rule2: timeWindow -1
      expect(yield* invalid(optionsOf({ grade: "RT", count: 100, timeWindow: -1 }))).toContain("breakDuration")
      // rule3: an exception ratio of 1.1, then 1.0 and 0.0
      expect(yield* invalid(optionsOf({ grade: "EXCEPTION_RATIO", count: 1.1, timeWindow: 2 }))).toContain(
        "failureRateThreshold"
      )
      expect(yield* invalid(optionsOf({ grade: "EXCEPTION_RATIO", count: 1.0, timeWindow: 2 }))).toBe("valid")
      // Sentinel accepts a ratio of 0 (open above 0: on any error); Sturdy opens at the threshold, so 0 would open on
      // successes, and refuses it
      expect(yield* invalid(optionsOf({ grade: "EXCEPTION_RATIO", count: 0.0, timeWindow: 2 }))).toContain(
        "failureRateThreshold"
      )
      // rule4: an exception count of -3 (Sturdy's nearest count: consecutiveFailures)
      expect(yield* invalid({ consecutiveFailures: -3, breakDuration: "2 seconds" })).toContain("consecutiveFailures")
      // rule5: a slow ratio of 15
      expect(yield* invalid(optionsOf({ grade: "RT", count: 97, slowRatioThreshold: 15, timeWindow: 15 }))).toContain(
        "slowCallRateThreshold"
      )
      // rule6: minRequestAmount 0
      expect(
        yield* invalid(optionsOf({ grade: "EXCEPTION_RATIO", count: 0.93, timeWindow: 20, minRequestAmount: 0 }))
      ).toContain("minimumThroughput")
      // rule7: statIntervalMs 0
      expect(
        yield* invalid(
          optionsOf({
            grade: "RT",
            count: 100,
            slowRatioThreshold: 0.8,
            timeWindow: 10,
            statIntervalMs: 0,
            minRequestAmount: 20
          })
        )
      ).toContain("slidingWindow")
    }))
})
