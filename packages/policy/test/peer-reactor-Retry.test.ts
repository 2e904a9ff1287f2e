// Ported from reactor/reactor-core (commit c4900cdb414dcc5e0c5f0baa000bfe61d2638f38):
// reactor-core/src/test/java/reactor/util/retry/RetryBackoffSpecTest.java, RetrySpecTest.java, and the backoff cases
// of reactor-core/src/test/java/reactor/core/publisher/FluxRetryWhenTest.java; one `it` per reactor case, named after it.
// Mapping: `Retry.backoff(n, minBackoff)` is `Retry.retry({ schedule: Backoff.exponential({ baseDelay: minBackoff,
// maxAttempts: n + 1 }) })` (reactor counts retries, Sturdy attempts, the first included); `maxBackoff` is `maxDelay`,
// `multiplier` is `factor`; `Retry.max(n)` is a schedule of no wait, `Backoff.bounded(Backoff.fromDelay(() => 0),
// { maxAttempts: n + 1 })`; `filter` is `while`; `onRetryExhaustedThrow` is `finalFailure` (which gets the attempts
// made); `doBeforeRetry`/`doBeforeRetryAsync` are `onAttempt` (an Effect, run before the retry's wait and awaited).
// `transientErrors(true)` (the count restarts after a value) is one `Retry.retry` per value pulled: each pull is a
// logical call with its own count; `transientErrors(false)` is one `Retry.retry` around the whole consumer, which
// re-runs it on the same stateful source, as a resubscription does. Reactor's virtual time is the TestClock.
// Deliberate differences (each test says which): Sturdy gives up with the last failure itself, not a
// `RetryExhaustedException` wrapping it ("Retries exhausted: n/n" is what a `finalFailure` can write); `onAttempt`
// also runs for the decision to give up (`retrying: false`), so the ported before-hooks check `retrying`; jitter only
// shortens a delay (reactor spreads t × [1 − f, 1 + f] and floors it at `minBackoff`), so a jittered first delay may
// fall below `baseDelay` but never above it: reactor's default factor 0.5 is `jitter: "equal"` ([t/2, t]), factor 0
// is `"none"`, any other factor f is `Backoff.bounded` over `Schedule.jitteredWith({ min: 1 − f, max: 1 })`; delays
// are whole milliseconds, rounded down (reactor's 1.5 ms waits 1 ms); reactor's default `maxBackoff` is unbounded,
// Sturdy's `maxDelay` 10 seconds (the cases that rely on it pass `maxDelay: Infinity`).
// Not ported: builderMethodsProduceNewInstances, retryContextIsCorrectlyPropagatedAndSet, the modifyErrorFilter and
// null-argument cases (builder API: Sturdy's options are a plain object and the predicate is composed in user code,
// typed non-null), doBefore/doAfterRetryIsCumulative, delayRetryWithIsCumulative, retryThenIsCumulative (they call the
// builder's private hook fields; cumulatedRetryHooks covers the behaviour), the scheduler cases
// (backoffSchedulerIsEagerlyCaptured, backoffSchedulerNullResetToDefaultSupplier, fluxRetryBackoffWithSpecificScheduler,
// fluxRetryBackoffRetriesOnGivenScheduler: the Clock is a service), and the after-hooks halves of the hook cases
// (`doAfterRetry`/`doAfterRetryAsync`: Sturdy has no hook after the resubscription). Reactor's
// `jitterFactor must be between 0 and 1` check is in its source, not its tests; it is not ported.
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Retry from "@sturdy/policy/Retry"
import { laws } from "@sturdy/testing/ScheduleKit"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import { advanceToDone } from "./utils/advance.js"
import { stepDelays } from "./utils/stepDelays.js"

// a Java exception: its class and message
class JavaError extends Data.TaggedError("JavaError")<{ readonly kind: string; readonly message: string }> {}
const illegalState = (message: string) => new JavaError({ kind: "IllegalStateException", message })
const describeError = (e: JavaError) => `{java.lang.${e.kind}: ${e.message}}`

// runs `effect` on the TestClock, moving it to each sleep in turn, and answers its result
const settle = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> => Effect.flatten(advanceToDone(effect))

type Schedules = (retries: number) => Schedule.Schedule<unknown, JavaError>

// `Retry.backoff(retries, Duration.ZERO)` (its delays are all zero) and `Retry.max(retries)`
const backoffZero: Schedules = (retries) =>
  Backoff.exponential({ baseDelay: 0, jitter: "none", maxAttempts: retries + 1 })
const max: Schedules = (retries) => Backoff.bounded(Backoff.fromDelay(() => 0), { maxAttempts: retries + 1 })

// A stateful source, pulled one value at a time: `Option.none()` ends it. A failed pull moves it on, as a
// resubscription to reactor's `Flux.generate` continues its counter.
type Source = Effect.Effect<Option.Option<number>, JavaError>

// FluxRetryWhenTest.transientErrorSource: steps 1, 2, 5, 6, 9, 10 fail; 3, 4, 7, 8, 11, 12 are values; then it ends
const transientErrorSource = (): Source => {
  let count = 0
  return Effect.suspend(() => {
    const step = ++count
    if ([1, 2, 5, 6, 9, 10].includes(step)) return Effect.fail(illegalState(`failing on step ${step}`))
    return Effect.succeed(step <= 12 ? Option.some(step) : Option.none())
  })
}

// builderCanBeUsedAsTemplate's source: errors on even counts, a value on odd ones, ends at 5
const errorOnEven = (): Source => {
  let i = 0
  return Effect.suspend(() => {
    const n = i++
    if (n === 5) return Effect.succeed(Option.none())
    return n % 2 === 0 ? Effect.fail(illegalState(`boom ${n}`)) : Effect.succeed(Option.some(n))
  })
}

// `transientErrors(false)`: one retry around the whole consumer; the values seen are kept across re-runs
const collectNotTransient = (source: Source, options: Retry.Options<JavaError>) => {
  const seen: Array<number> = []
  const drain: Effect.Effect<void, JavaError> = Effect.flatMap(
    source,
    Option.match({ onNone: () => Effect.void, onSome: (n) => Effect.suspend(() => (seen.push(n), drain)) })
  )
  return Effect.map(Effect.exit(Retry.retry(drain, options)), (exit) => ({ exit, seen }))
}

// `transientErrors(true)`: each pull is its own logical call, so the count restarts after each value
const collectTransient = (source: Source, options: Retry.Options<JavaError>) => {
  const seen: Array<number> = []
  const pull = Retry.retry(source, options)
  const drain: Effect.Effect<void, JavaError> = Effect.flatMap(
    pull,
    Option.match({ onNone: () => Effect.void, onSome: (n) => Effect.suspend(() => (seen.push(n), drain)) })
  )
  return Effect.map(Effect.exit(drain), (exit) => ({ exit, seen }))
}

const failureOf = <A>(exit: Exit.Exit<A, JavaError>) =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined

// the cases RetryBackoffSpecTest and RetrySpecTest share, with `spec(n)` the schedule of `Retry.backoff(n,
// Duration.ZERO)` or `Retry.max(n)`; `inARow(n)` is the same with `transientErrors(true)` (RetrySpec's `maxInARow`)
const sharedCases = (spec: Schedules) => {
  it.effect("builderCanBeUsedAsTemplate", () =>
    Effect.gen(function*() {
      // a base set of options reused with different tuning: as a plain object, spread and override
      const template: Retry.Options<JavaError> = { schedule: spec(1) }
      const modified1 = yield* settle(collectNotTransient(errorOnEven(), { ...template, schedule: spec(2) }))
      expect(modified1.seen).toEqual([1, 3])
      // reactor: RetryExhausted "Retries exhausted: 2/2" caused by "boom 4"; Sturdy: the last failure itself
      expect(failureOf(modified1.exit)).toEqual(illegalState("boom 4"))

      const modified2 = yield* settle(collectTransient(errorOnEven(), template))
      expect(modified2.seen).toEqual([1, 3])
      expect(Exit.isSuccess(modified2.exit)).toBe(true)
    }))

  it.effect("throwablePredicateReplacesThePredicate", () =>
    Effect.gen(function*() {
      const isRuntime = (_: JavaError) => true // every JavaError here is a RuntimeException
      const base: Retry.Options<JavaError> = { schedule: spec(1), while: isRuntime }
      // the later `while` replaces the earlier one, as reactor's second `filter` does
      const options: Retry.Options<JavaError> = { ...base, while: (t) => t.kind === "IllegalStateException" }
      const callsFor = (kind: string) =>
        Effect.gen(function*() {
          let calls = 0
          yield* Effect.exit(
            Retry.retry(Effect.suspend(() => (calls++, Effect.fail(new JavaError({ kind, message: "" })))), options)
          )
          return calls
        })
      expect(yield* settle(callsFor("IllegalStateException"))).toBe(2) // accepted: retried once
      expect(yield* settle(callsFor("IllegalArgumentException"))).toBe(1) // rejected
      expect(yield* settle(callsFor("RuntimeException"))).toBe(1) // rejected
    }))

  it.effect("retryExceptionDefaultsToRetryExhausted", () =>
    Effect.gen(function*() {
      // reactor's trigger: 100 retries in all, the last 50 in a row, with `transientErrors(true)` and 50 allowed.
      // Two logical calls: the first fails 50 times then succeeds, the second keeps failing.
      let failuresLeft = 50
      const reasons: Array<Retry.Reason> = []
      let retries = 0
      const options: Retry.Options<JavaError> = {
        schedule: spec(50),
        onAttempt: (a) => Effect.sync(() => (a.retrying ? retries++ : reasons.push(a.reason)))
      }
      const first = Effect.suspend(() => failuresLeft-- > 0 ? Effect.fail(illegalState("boom")) : Effect.succeed(1))
      expect(yield* settle(Retry.retry(first, options))).toBe(1)
      const second = yield* settle(Effect.exit(Retry.retry(Effect.fail(illegalState("boom")), options)))
      expect(retries).toBe(100)
      expect(reasons).toEqual(["exhausted"])
      // reactor: RetryExhausted "Retries exhausted: 50/50 in a row (100 total)" caused by "boom"; Sturdy: "boom" itself
      expect(failureOf(second)).toEqual(illegalState("boom"))
    }))

  it.effect("defaultRetryExhaustedMessageWithNoTransientErrors", () =>
    Effect.gen(function*() {
      // reactor's message, written by a `finalFailure` from the attempts Sturdy counts
      const exit = yield* settle(Effect.exit(Retry.retry(Effect.fail(illegalState("boom")), {
        schedule: spec(123),
        finalFailure: (f, attempts) => illegalState(`Retries exhausted: ${attempts - 1}/123`)
      })))
      expect(failureOf(exit)?.message).toBe("Retries exhausted: 123/123")
    }))

  it.effect("defaultRetryExhaustedMessageWithTransientErrors", () =>
    Effect.gen(function*() {
      // 123 retries in all, the last 12 in a row: nine calls retried 12 times, one 3 times, then one that gives up
      let total = 0
      const options: Retry.Options<JavaError> = {
        schedule: spec(12),
        onAttempt: (a) => Effect.sync(() => a.retrying && total++),
        finalFailure: (f, attempts) => illegalState(`Retries exhausted: ${attempts - 1}/12 in a row (${total} total)`)
      }
      const failingTimes = (n: number) => {
        let left = n
        return Effect.suspend(() => left-- > 0 ? Effect.fail(illegalState("boom")) : Effect.void)
      }
      for (let call = 0; call < 9; call++) yield* settle(Retry.retry(failingTimes(12), options))
      yield* settle(Retry.retry(failingTimes(3), options))
      const exit = yield* settle(Effect.exit(Retry.retry(failingTimes(Infinity), options)))
      expect(failureOf(exit)?.message).toBe("Retries exhausted: 12/12 in a row (123 total)")
    }))

  it.effect("companionWaitsForAllHooksBeforeTrigger", () =>
    Effect.gen(function*() {
      // each retry's hook takes 100 × (3 − retries so far) ms: the retries still come in order, each after its hook
      const starts: Array<number> = []
      let left = 3
      const call = Effect.flatMap(Clock.currentTimeMillis, (now) => {
        starts.push(now)
        return left-- > 0 ? Effect.fail(illegalState("ignored")) : Effect.succeed(starts.length)
      })
      const result = yield* settle(Retry.retry(call, {
        schedule: spec(10),
        onAttempt: (a) => a.retrying ? Effect.sleep(Duration.millis(100 * (3 - (a.attempt - 1)))) : Effect.void
      }))
      expect(result).toBe(4)
      expect(starts).toEqual([0, 200, 300, 300])
    }))

  it.effect("retryExceptionCanBeCustomized", () =>
    Effect.gen(function*() {
      const retries = 50
      const exit = yield* settle(Effect.exit(Retry.retry(Effect.fail(illegalState("boom")), {
        schedule: spec(retries),
        // reactor builds it from the builder (`"max" + builder.maxAttempts`); a `finalFailure` closes over the options
        finalFailure: () => new JavaError({ kind: "IllegalArgumentException", message: `max${retries}` })
      })))
      // not the exhausted failure, and no cause: the replacement itself
      expect(failureOf(exit)).toEqual(new JavaError({ kind: "IllegalArgumentException", message: "max50" }))
    }))

  it.effect("cumulatedRetryHooks", () =>
    Effect.gen(function*() {
      const order: Array<string> = []
      let beforeHookTracker = 0
      const signal = (a: Retry.Attempt<JavaError>) =>
        `attempt #${a.attempt - 1} (${a.attempt - 1} in a row), last failure=${describeError(a.failure)}`
      let secondAttemptAt = -1
      let calls = 0
      const call = Effect.flatMap(Clock.currentTimeMillis, (now) => {
        if (calls++ === 1) secondAttemptAt = now
        return Effect.fail(illegalState("boom"))
      })
      const exit = yield* settle(Effect.exit(Retry.retry(call, {
        schedule: spec(1),
        // doBeforeRetry A, B, then doBeforeRetryAsync C (200 ms), D: in order, and awaited before the retry
        onAttempt: (a) =>
          !a.retrying ? Effect.void : Effect.gen(function*() {
            order.push(`SyncBefore A: ${signal(a)}`)
            order.push(`SyncBefore B, tracking ${++beforeHookTracker}`)
            yield* Effect.sleep("200 millis")
            order.push("AsyncBefore C")
            order.push("AsyncBefore D")
            beforeHookTracker += 100
          })
      })))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(beforeHookTracker).toBe(101)
      expect(order).toEqual([
        "SyncBefore A: attempt #1 (1 in a row), last failure={java.lang.IllegalStateException: boom}",
        "SyncBefore B, tracking 1",
        "AsyncBefore C",
        "AsyncBefore D"
      ])
      expect(secondAttemptAt).toBe(200) // the retry waited for the async hook (the backoff itself is zero)
    }))

  it.effect("cumulatedRetryHooksWithTransient", () =>
    Effect.gen(function*() {
      const order: Array<string> = []
      let beforeHookTracker = 0
      let total = 0
      const result = yield* settle(collectTransient(transientErrorSource(), {
        schedule: spec(2),
        onAttempt: (a) =>
          !a.retrying ? Effect.void : Effect.gen(function*() {
            total++
            order.push(
              `SyncBefore A: attempt #${total} (${a.attempt - 1} in a row), last failure=${describeError(a.failure)}`
            )
            order.push(`SyncBefore B, tracking ${++beforeHookTracker}`)
            yield* Effect.sleep("200 millis")
            order.push("AsyncBefore C")
            order.push("AsyncBefore D")
            beforeHookTracker += 100
          })
      }))
      expect(Exit.isSuccess(result.exit)).toBe(true)
      expect(beforeHookTracker).toBe(606)
      const expected: Array<string> = []
      const steps = [1, 2, 5, 6, 9, 10]
      steps.forEach((step, i) => {
        expected.push(
          `SyncBefore A: attempt #${i + 1} (${
            (i % 2) + 1
          } in a row), last failure={java.lang.IllegalStateException: failing on step ${step}}`,
          `SyncBefore B, tracking ${i * 101 + 1}`,
          "AsyncBefore C",
          "AsyncBefore D"
        )
      })
      expect(order).toEqual(expected)
    }))
}

describe("RetryBackoffSpecTest", () => {
  sharedCases(backoffZero)

  it("companionDelaysRetriesWithDefaultMultiplier", () => {
    // backoff(4, 1 ms), no jitter: reactor's signals 1..3 are the 2nd to 4th retries, 2, 4 and 8 ms
    const delays = stepDelays(Backoff.exponential({ baseDelay: "1 millis", jitter: "none", maxAttempts: 5 }), [
      1,
      2,
      3,
      4,
      5
    ])
    expect(delays).toEqual([1, 2, 4, 8])
    expect(delays.slice(1)).toEqual([2, 4, 8])
  })

  it("companionDelaysRetriesWithFractionalMultiplier", () => {
    // multiplier 1.5: reactor waits 1.5, 2.25, 3.375 ms; Sturdy's delays are whole milliseconds, rounded down
    const delays = stepDelays(
      Backoff.exponential({ baseDelay: "1 millis", factor: 1.5, jitter: "none", maxAttempts: 5 }),
      [1, 2, 3, 4, 5]
    )
    expect(delays.slice(1)).toEqual([1, 2, 3])
  })

  it.effect("backoffSchedulerDefaultIsLazilyResolved", () =>
    Effect.gen(function*() {
      // backoff(3, 10 ms) on virtual time: an hour of it exhausts the retries
      let calls = 0
      const exit = yield* settle(Effect.exit(Retry.retry(
        Effect.suspend(() => (calls++, Effect.fail(illegalState("boom")))),
        { schedule: Backoff.exponential({ baseDelay: "10 millis", jitter: "equal", maxAttempts: 4 }) }
      )))
      expect(calls).toBe(4)
      expect(failureOf(exit)).toEqual(illegalState("boom"))
      expect(yield* Clock.currentTimeMillis).toBeLessThanOrEqual(70) // 10 + 20 + 40 at most
    }))
})

describe("RetrySpecTest", () => {
  sharedCases(max)
})

// FluxRetryWhenTest: `Flux.concat(Flux.range(0, 2), Flux.error(e)).retryWhen(...)`, the time between attempts
const attemptGaps = (schedule: Schedule.Schedule<unknown, JavaError>, seed: number) =>
  Effect.gen(function*() {
    const starts: Array<number> = []
    const exception = new JavaError({ kind: "IOException", message: "boom retry" })
    const call = Effect.flatMap(Clock.currentTimeMillis, (now) => (starts.push(now), Effect.fail(exception)))
    const exit = yield* settle(Effect.exit(Retry.retry(call, { schedule })))
    // reactor's elapsedList: 0, then the wait before each retry
    const elapsed = starts.map((t, i) => i === 0 ? 0 : t - starts[i - 1]!)
    return { exit, elapsed, exception }
  }).pipe(Effect.withRandom(Random.make(seed)))

const closeTo = (actual: number, expected: number, percent: number) => {
  expect(actual).toBeGreaterThanOrEqual(expected * (1 - percent / 100))
  expect(actual).toBeLessThanOrEqual(expected * (1 + percent / 100))
}

// reactor's jitter factor f, shortening only: `Backoff.bounded` over Effect's `jitteredWith`
const jitterFactor = (
  f: number,
  options: { readonly maxDelay: Duration.DurationInput; readonly maxAttempts: number }
) => Backoff.bounded(Schedule.exponential("100 millis").pipe(Schedule.jitteredWith({ min: 1 - f, max: 1 })), options)

describe("FluxRetryWhenTest (backoff)", () => {
  it.effect("fluxRetryRandomBackoff", () =>
    Effect.gen(function*() {
      for (const seed of [1, 2, 3]) {
        const { elapsed, exception, exit } = yield* attemptGaps(
          jitterFactor(0.1, { maxDelay: "2 seconds", maxAttempts: 5 }),
          seed
        )
        expect(failureOf(exit)).toBe(exception) // reactor: RetryExhausted "Retries exhausted: 4/4" caused by it
        expect(elapsed).toHaveLength(5)
        expect(elapsed[0]).toBe(0)
        ;[100, 200, 400, 800].forEach((t, i) => closeTo(elapsed[i + 1]!, t, 10))
      }
    }))

  it.effect("fluxRetryRandomBackoffDefaultJitter", () =>
    Effect.gen(function*() {
      for (const seed of [1, 2, 3]) {
        const schedule = Backoff.exponential({
          baseDelay: "100 millis",
          maxDelay: "2 seconds",
          jitter: "equal",
          maxAttempts: 5
        })
        const { elapsed, exception, exit } = yield* attemptGaps(schedule, seed)
        expect(failureOf(exit)).toBe(exception)
        expect(elapsed).toHaveLength(5)
        expect(elapsed[0]).toBe(0)
        ;[100, 200, 400, 800].forEach((t, i) => closeTo(elapsed[i + 1]!, t, 50))
      }
    }))

  it.effect("fluxRetryRandomBackoffDefaultMaxDuration", () =>
    Effect.gen(function*() {
      for (const seed of [1, 2, 3]) {
        // no maxBackoff: Sturdy's default maxDelay (10 seconds) is far above these
        const schedule = Backoff.exponential({ baseDelay: "100 millis", jitter: "equal", maxAttempts: 5 })
        const { elapsed, exception, exit } = yield* attemptGaps(schedule, seed)
        expect(failureOf(exit)).toBe(exception)
        expect(elapsed).toHaveLength(5)
        ;[100, 200, 400, 800].forEach((t, i) => closeTo(elapsed[i + 1]!, t, 50))
      }
    }))

  it.effect("fluxRetryRandomBackoffMaxDurationWithMultiplier", () =>
    Effect.gen(function*() {
      for (const seed of [1, 2, 3]) {
        // reactor's maxBackoff defaults to unbounded; Sturdy's maxDelay to 10 seconds, which would cap 12.5 s
        const schedule = Backoff.exponential({
          baseDelay: "100 millis",
          factor: 5,
          maxDelay: Infinity,
          jitter: "equal",
          maxAttempts: 5
        })
        const { elapsed, exception, exit } = yield* attemptGaps(schedule, seed)
        expect(failureOf(exit)).toBe(exception)
        expect(elapsed).toHaveLength(5)
        ;[100, 500, 2500, 12500].forEach((t, i) => closeTo(elapsed[i + 1]!, t, 50))
      }
    }))

  it.effect("fluxRetryRandomBackoff_maxBackoffShaves", () =>
    Effect.gen(function*() {
      for (const seed of [1, 2, 3, 4, 5]) {
        const { elapsed, exit } = yield* attemptGaps(
          jitterFactor(0.9, { maxDelay: "220 millis", maxAttempts: 5 }),
          seed
        )
        expect(Exit.isFailure(exit)).toBe(true)
        expect(elapsed).toHaveLength(5)
        // reactor floors each delay at minBackoff (100 ms); Sturdy's jitter only shortens, so the first may be less
        closeTo(elapsed[1]!, 100, 90)
        expect(elapsed[1]).toBeLessThanOrEqual(100)
        closeTo(elapsed[2]!, 200, 90)
        for (const delay of elapsed.slice(2)) expect(delay).toBeLessThanOrEqual(220)
      }
      // the cap holds for any seed, as a schedule law
      expect(
        laws.capHolds(jitterFactor(0.9, { maxDelay: "220 millis", maxAttempts: 50 }), 220, { seed: 7, attempts: 60 })
      )
        .toBe(true)
    }))

  it.effect("fluxRetryRandomBackoff_minBackoffFloor", () =>
    Effect.gen(function*() {
      for (let i = 0; i < 50; i++) {
        const { elapsed, exception, exit } = yield* attemptGaps(
          jitterFactor(0.9, { maxDelay: "2 seconds", maxAttempts: 2 }),
          i
        )
        expect(failureOf(exit)).toBe(exception)
        expect(elapsed).toHaveLength(2)
        expect(elapsed[0]).toBe(0)
        // reactor: at least minBackoff; Sturdy (jitter only shortens): at most baseDelay, and at least 10 % of it
        expect(elapsed[1]).toBeLessThanOrEqual(100)
        closeTo(elapsed[1]!, 100, 90)
      }
    }))

  it.effect("fluxRetryRandomBackoff_noRandomness", () =>
    Effect.gen(function*() {
      const schedule = Backoff.exponential({
        baseDelay: "100 millis",
        maxDelay: "2 seconds",
        jitter: "none",
        maxAttempts: 5
      })
      const { elapsed, exception, exit } = yield* attemptGaps(schedule, 0)
      expect(failureOf(exit)).toBe(exception)
      expect(elapsed).toEqual([0, 100, 200, 400, 800])
    }))

  it.effect("fluxRetryRandomBackoffNoArithmeticException", () =>
    Effect.gen(function*() {
      // with pure exponential, 80 retries would overflow: 10 s × 2⁷⁹; the cap (100 000 s) holds throughout
      const schedule = Backoff.exponential({
        baseDelay: "10 seconds",
        maxDelay: "100000 seconds",
        jitter: "none",
        maxAttempts: 81
      })
      const { elapsed, exit } = yield* attemptGaps(schedule, 0)
      expect(failureOf(exit)?.message).toBe("boom retry")
      expect(elapsed).toHaveLength(81)
      expect(elapsed.slice(-3)).toEqual([100_000_000, 100_000_000, 100_000_000])
      expect(elapsed.every((d) => Number.isFinite(d) && d >= 0 && d <= 100_000_000)).toBe(true)
    }))

  it.effect("backoffFunctionNotTransient", () =>
    Effect.gen(function*() {
      const schedule = Backoff.exponential({ baseDelay: 0, maxDelay: "100 millis", jitter: "none", maxAttempts: 3 })
      const { exit, seen } = yield* settle(collectNotTransient(transientErrorSource(), { schedule }))
      expect(seen).toEqual([3, 4])
      // reactor: "Retries exhausted: 2/2"; Sturdy: the failure that exhausted them
      expect(failureOf(exit)).toEqual(illegalState("failing on step 5"))
    }))

  it.effect("backoffFunctionTransient", () =>
    Effect.gen(function*() {
      const schedule = Backoff.exponential({ baseDelay: 0, maxDelay: "100 millis", jitter: "none", maxAttempts: 3 })
      const { exit, seen } = yield* settle(collectTransient(transientErrorSource(), { schedule }))
      expect(seen).toEqual([3, 4, 7, 8, 11, 12])
      expect(Exit.isSuccess(exit)).toBe(true)
    }))

  it.effect("simpleFunctionTransient", () =>
    Effect.gen(function*() {
      const { exit, seen } = yield* settle(collectTransient(transientErrorSource(), { schedule: max(2) }))
      expect(seen).toEqual([3, 4, 7, 8, 11, 12])
      expect(Exit.isSuccess(exit)).toBe(true)
    }))
})
