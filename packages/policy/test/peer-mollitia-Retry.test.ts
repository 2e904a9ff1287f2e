// Ported from mollitia's packages/mollitia/test/unit/module/retry.spec.ts (genesys/mollitia at
// a8a24286b23f437b70f6cc99794571f14bc9a8e4), one `it` per mollitia case, named after it.
// Mapping: `new Retry({ attempts: n, interval, mode, factor, maxInterval, fastFirst })` is `Retry.retry({ schedule })`
// with `maxAttempts: n + 1` (mollitia counts retries, Sturdy attempts) and the schedule:
// - CONSTANT: `Backoff.fromDelay(() => interval)`; LINEAR: `Backoff.fromDelay((retry) => retry × interval)` (mollitia's
//   `interval + interval × factor × n`, factor 1); both under `Backoff.bounded({ maxDelay: maxInterval, maxAttempts })`;
// - EXPONENTIAL: `Backoff.exponential({ baseDelay: interval, factor, maxDelay: maxInterval, jitter: "none" })`;
// - JITTER: `Backoff.exponential({ ..., jitter: "equal" })`, the nearest mode (see the differences);
// - `fastFirst: true`: a `fromDelay` whose first retry waits 0 and whose later ones are the mode's, one step behind.
// `onRejection(err, nbTry)` is `while(err, attempt)` (`attempt = nbTry + 1`: mollitia counts the first try as 0) for
// `false`, and `delayHint` (with `retryAfterJitter: 0`, so the wait is exactly the number) for a number of ms.
// mollitia's events are Sturdy's `onAttempt` decisions: `retry` (n) is a decision with `retrying` for attempt n + 1;
// `delay-before-next-retry` is its `delay`; `success-without-retry` / `success-with-retry` are a success with no /
// some retrying decision; `failure-without-retry` / `failure-with-retry` are a final decision (`retrying: false`)
// after no / some retry. mollitia's `failureAsync(value, delay = 1)` is an upstream that fails with `value` after
// `delay` ms of TestClock time; the times mollitia checks with real `delay`s are read from the upstream's call log.
// Deliberate differences (each test says which): Sturdy's jitter only shortens a delay ("equal": between half the
// envelope and all of it) where mollitia's JITTER spreads it ±jitterAdjustment around the envelope; Sturdy refuses an
// out-of-range jitter fraction with a RangeError where mollitia clamps it; Sturdy's defaults differ (below).
// Not ported from this spec: nothing. From the rest of mollitia's unit suite: timeout.spec.ts ("should timeout the
// function for circuit": an exact duplicate of peer-cockatiel-Timeout's "properly aggressively cancels") and
// fallback.spec.ts ("should permit to filter the rejection value": peer-polly-Fallback's
// "Should_not_handle_exception_thrown_by_fallback_delegate..." with "Should_call_onFallback_passing_exception...");
// circuit.spec.ts, addon.spec.ts and module/index.spec.ts test mollitia's Circuit/Module/addon framework, which has
// no Sturdy counterpart (a policy is a function of an Effect).
import { describe, expect, it } from "@effect/vitest"
import { Backoff, Deadline, Retry } from "@sturdy/policy"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import type * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import { advance } from "./utils/advance.js"

// mollitia's failureAsync / successAsync: each call logs its Clock time, takes `delay` ms, then answers or fails
const scripted = (answer: (call: number) => Exit.Exit<string, string>, delay = 1) => {
  const starts: Array<number> = []
  const call = Effect.gen(function*() {
    starts.push(yield* Clock.currentTimeMillis)
    const n = starts.length
    if (delay > 0) yield* Effect.sleep(Duration.millis(delay))
    return yield* answer(n)
  })
  return { starts, call }
}
const failureAsync = (value: string, delay = 1) => scripted(() => Exit.fail(value), delay)
const successAsync = (value: string, delay = 1) => scripted(() => Exit.succeed(value), delay)

const decisions = () => {
  const seen: Array<Retry.Attempt<unknown>> = []
  return {
    seen,
    onAttempt: (a: Retry.Attempt<unknown>) => Effect.sync(() => void seen.push(a)),
    // mollitia's `retry` events (the retry number) and `delay-before-next-retry` events (ms)
    retries: () => seen.filter((a) => a.retrying).map((a) => a.attempt - 1),
    delays: () => seen.filter((a) => a.retrying).map((a) => Duration.toMillis(a.delay)),
    final: () => seen.filter((a) => !a.retrying).map((a) => a.reason)
  }
}

const constant = (attempts: number, interval = 0, maxInterval = Infinity) =>
  Backoff.bounded(Backoff.fromDelay(() => interval), { maxDelay: maxInterval, maxAttempts: attempts + 1 })

const linearDelay = (interval: number, maxInterval: number) => (retry: number) =>
  Math.min(interval * retry, maxInterval)

// mollitia's fastFirst: the first retry at once, then the mode's delays one step behind
const fastFirst = (attempts: number, delay: (retry: number) => number) =>
  Backoff.bounded(Backoff.fromDelay((retry) => (retry === 1 ? 0 : delay(retry - 1))), { maxAttempts: attempts + 1 })

const retrying = <A, E>(
  self: Effect.Effect<A, E>,
  schedule: Schedule.Schedule<unknown, unknown>,
  options: Omit<Retry.Options<E>, "schedule"> = {}
) => Retry.retry(self, { schedule, ...options })

describe("peer mollitia Retry", () => {
  it.effect("check default value", () =>
    Effect.gen(function*() {
      // mollitia: attempts 2 (retries) is Sturdy's maxAttempts 3 (attempts, the first included): the same two retries
      expect(Backoff.defaults.maxAttempts).toBe(3)
      // mollitia: factor 2 in modes EXPONENTIAL and JITTER, as Backoff's
      expect(Backoff.defaults.factor).toBe(2)
      // differences: mollitia's default is CONSTANT with interval 0 and no maxInterval; Sturdy's is full-jitter
      // exponential from 100 ms, capped at 10 s
      expect(Backoff.defaults.jitter).toBe("full")
      expect(Duration.toMillis(Backoff.defaults.baseDelay)).toBe(100)
      expect(Duration.toMillis(Backoff.defaults.maxDelay)).toBe(10_000)
      // mollitia clamps jitterAdjustment 12 to 1 and -0.1 to 0; Sturdy refuses a jitter fraction outside [0, 1]
      // (`retryAfterJitter`, its only one) rather than run a policy nobody asked for
      expect(() => Retry.retry(Effect.void, { retryAfterJitter: 12 })).toThrow(RangeError)
      expect(() => Retry.retry(Effect.void, { retryAfterJitter: -0.1 })).toThrow(RangeError)
      expect(() => Retry.retry(Effect.void, { retryAfterJitter: 1 })).not.toThrow()
      expect(() => Retry.retry(Effect.void, { retryAfterJitter: 0 })).not.toThrow()
      // mollitia: factor 4 is kept as given; so is Sturdy's (a factor below 1 is refused)
      expect(() => Backoff.exponential({ factor: 4 })).not.toThrow()
      expect(() => Backoff.exponential({ factor: 0.5 })).toThrow(RangeError)
    }))

  it.effect("should retry the function multiple times - Basic Test", () =>
    Effect.gen(function*() {
      const upstream = failureAsync("dummy")
      const d = decisions()
      const exit = yield* advance(retrying(upstream.call, constant(2), { onAttempt: d.onAttempt }))
      expect(exit).toStrictEqual(Exit.fail("dummy"))
      expect(d.retries()).toEqual([1, 2])
      expect(upstream.starts).toHaveLength(3)
    }))

  it.effect("should retry function and use the timeout", () =>
    Effect.gen(function*() {
      // modules [retry, timeout]: the timeout bounds each attempt, the retry makes three
      const slow = failureAsync("dummy", 1000)
      const d = decisions()
      const exit = yield* advance(
        retrying(slow.call.pipe(Deadline.attemptTimeout("500 millis")), constant(2), d),
        10_000,
        "100 millis"
      )
      const error = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined
      expect(Deadline.isDeadlineExceeded(error) && error.reason).toBe("Attempt")
      expect(slow.starts).toEqual([0, 500, 1000])
      expect(d.retries()).toEqual([1, 2])
      // modules [timeout, retry]: the timeout bounds the whole call, which it ends during the first attempt
      const again = failureAsync("dummy", 1000)
      const start = yield* Clock.currentTimeMillis
      const outer = yield* advance(
        retrying(again.call, constant(2)).pipe(Deadline.withDeadline("500 millis")),
        10_000,
        "100 millis"
      )
      const outerError = Exit.isFailure(outer) && outer.cause._tag === "Fail" ? outer.cause.error : undefined
      expect(Deadline.isDeadlineExceeded(outerError) && outerError.reason).toBe("Deadline")
      expect(again.starts).toEqual([start])
    }))

  it.effect("should retry every 100ms", () =>
    Effect.gen(function*() {
      const upstream = failureAsync("dummy", 100)
      const fiber = yield* Effect.fork(Effect.exit(retrying(upstream.call, constant(2, 500))))
      yield* Effect.yieldNow()
      expect(upstream.starts).toEqual([0])
      yield* TestClock.adjust("700 millis")
      expect(upstream.starts).toEqual([0, 600])
      yield* TestClock.adjust("700 millis")
      expect(upstream.starts).toEqual([0, 600, 1200])
      expect(yield* Fiber.join(fiber)).toStrictEqual(Exit.fail("dummy"))
    }))

  it.effect("should allow to filter for rejections and set retry interval", () =>
    Effect.gen(function*() {
      const options = {
        while: (err: string) => err !== "should-stop",
        delayHint: (err: string) => (err === "should-wait" ? Option.some(Duration.millis(1000)) : Option.none()),
        retryAfterJitter: 0
      }
      const stop = failureAsync("should-stop")
      const stopped = yield* Effect.fork(Effect.exit(retrying(stop.call, constant(2, 500), options)))
      yield* TestClock.adjust("100 millis")
      expect(yield* Fiber.join(stopped)).toStrictEqual(Exit.fail("should-stop"))
      expect(stop.starts).toEqual([0])
      const wait = failureAsync("should-wait")
      const waited = yield* Effect.fork(Effect.exit(retrying(wait.call, constant(2, 500), options)))
      yield* TestClock.adjust("100 millis") // t0 + 200
      expect(wait.starts).toEqual([100])
      yield* TestClock.adjust("400 millis") // t0 + 600: the interval (500) would have retried by now
      expect(wait.starts).toEqual([100])
      yield* TestClock.adjust("600 millis") // t0 + 1200
      expect(wait.starts).toEqual([100, 1101])
      yield* TestClock.adjust("1000 millis") // t0 + 2200
      expect(wait.starts).toEqual([100, 1101, 2102])
      expect(yield* Fiber.join(waited)).toStrictEqual(Exit.fail("should-wait"))
    }))

  it.effect("Failure case - Should not retry", () =>
    Effect.gen(function*() {
      const upstream = failureAsync("dummy")
      const d = decisions()
      // mollitia's `nbTry === 2` (0-based) is Sturdy's attempt 3
      const exit = yield* advance(
        retrying(upstream.call, constant(4), { while: (_, attempt) => attempt !== 3, ...d })
      )
      expect(exit).toStrictEqual(Exit.fail("dummy"))
      expect(d.retries()).toEqual([1, 2])
      expect(d.final()).toEqual(["not-retryable"])
      expect(upstream.starts).toHaveLength(3)
    }))

  it.effect("should emit success-without-retry events for retries", () =>
    Effect.gen(function*() {
      for (const attempts of [0, 1, 2]) {
        const upstream = successAsync("dummy", 100)
        const d = decisions()
        expect(yield* advance(retrying(upstream.call, constant(attempts, 100), d))).toStrictEqual(Exit.succeed("dummy"))
        // a success at the first attempt: no decision at all, one call
        expect(d.seen).toEqual([])
        expect(upstream.starts).toHaveLength(1)
      }
    }))

  it.effect("should emit success-with-retry events for retries", () =>
    Effect.gen(function*() {
      for (const attempts of [1, 2]) {
        // mollitia's successAsyncAfterNth(1): fails once, then succeeds
        const upstream = scripted((n) => (n === 1 ? Exit.fail("dummy") : Exit.succeed("dummy")), 100)
        const d = decisions()
        expect(yield* advance(retrying(upstream.call, constant(attempts, 100), d))).toStrictEqual(Exit.succeed("dummy"))
        expect(d.retries()).toEqual([1])
        expect(d.final()).toEqual([])
        expect(upstream.starts).toHaveLength(2)
      }
    }))

  it.effect("should emit failure-without-retry events for retries", () =>
    Effect.gen(function*() {
      const none = failureAsync("dummy", 100)
      const d0 = decisions()
      expect(yield* advance(retrying(none.call, constant(0, 100), d0))).toStrictEqual(Exit.fail("dummy"))
      expect(d0.retries()).toEqual([])
      expect(d0.final()).toEqual(["exhausted"])
      expect(none.starts).toHaveLength(1)
      for (const attempts of [1, 2]) {
        // mollitia's `onRejection = () => false`
        const upstream = failureAsync("dummy", 100)
        const d = decisions()
        const exit = yield* advance(
          retrying(upstream.call, constant(attempts, 100), { while: () => false, ...d })
        )
        expect(exit).toStrictEqual(Exit.fail("dummy"))
        expect(d.retries()).toEqual([])
        expect(d.final()).toEqual(["not-retryable"])
        expect(upstream.starts).toHaveLength(1)
      }
    }))

  it.effect("should emit failure-with-retry events for retries", () =>
    Effect.gen(function*() {
      const once = failureAsync("dummy", 100)
      const d1 = decisions()
      expect(yield* advance(retrying(once.call, constant(1, 100), d1))).toStrictEqual(Exit.fail("dummy"))
      expect(d1.retries()).toEqual([1])
      expect(d1.final()).toEqual(["exhausted"])
      // attempts 2, but no retry after the first retry failed (mollitia's `attempt === 1`, Sturdy's attempt 2)
      const twice = failureAsync("dummy", 100)
      const d2 = decisions()
      const exit = yield* advance(
        retrying(twice.call, constant(2, 100), { while: (_, attempt) => attempt !== 2, ...d2 })
      )
      expect(exit).toStrictEqual(Exit.fail("dummy"))
      expect(d2.retries()).toEqual([1])
      expect(d2.final()).toEqual(["not-retryable"])
      expect(twice.starts).toHaveLength(2)
    }))

  it.effect("should retry the function multiple times - Default mode (constant)", () =>
    Effect.gen(function*() {
      const upstream = failureAsync("dummy")
      const d = decisions()
      const fiber = yield* Effect.fork(Effect.exit(retrying(upstream.call, constant(3, 500), d)))
      yield* TestClock.adjust("350 millis")
      // mollitia's `retry` event fires as the retry starts; Sturdy's decision is made at the failure, so the calls
      // are what is read here
      expect(upstream.starts).toEqual([0])
      yield* TestClock.adjust("350 millis")
      expect(upstream.starts).toEqual([0, 501])
      yield* TestClock.adjust("500 millis")
      expect(upstream.starts).toEqual([0, 501, 1002])
      yield* TestClock.adjust("500 millis")
      expect(upstream.starts).toEqual([0, 501, 1002, 1503])
      yield* TestClock.adjust("1 millis")
      expect(yield* Fiber.join(fiber)).toStrictEqual(Exit.fail("dummy"))
      expect(d.retries()).toEqual([1, 2, 3])
      expect(d.delays()).toEqual([500, 500, 500])
    }))

  it.effect("should retry the function multiple times - Constant mode - FastFirst", () =>
    Effect.gen(function*() {
      const upstream = failureAsync("dummy")
      const d = decisions()
      const fiber = yield* Effect.fork(Effect.exit(retrying(upstream.call, fastFirst(2, () => 500), d)))
      yield* TestClock.adjust("100 millis")
      expect(upstream.starts).toEqual([0, 1])
      yield* TestClock.adjust("350 millis")
      expect(upstream.starts).toEqual([0, 1])
      yield* TestClock.adjust("350 millis")
      expect(upstream.starts).toEqual([0, 1, 502])
      expect(yield* Fiber.join(fiber)).toStrictEqual(Exit.fail("dummy"))
      expect(d.delays()).toEqual([0, 500])
    }))

  it.effect("should retry the function multiple times - Linear mode", () =>
    Effect.gen(function*() {
      const upstream = failureAsync("dummy")
      const d = decisions()
      const schedule = Backoff.bounded(Backoff.fromDelay(linearDelay(500, Infinity)), { maxAttempts: 4 })
      const exit = yield* advance(retrying(upstream.call, schedule, d), 10_000, "50 millis")
      expect(exit).toStrictEqual(Exit.fail("dummy"))
      expect(d.retries()).toEqual([1, 2, 3])
      expect(d.delays()).toEqual([500, 1000, 1500])
      expect(upstream.starts).toEqual([0, 501, 1502, 3003])
    }))

  it.effect("should retry the function multiple times - FastFirst and MaxInterval - Linear Mode", () =>
    Effect.gen(function*() {
      const upstream = failureAsync("dummy")
      const d = decisions()
      const exit = yield* advance(
        retrying(upstream.call, fastFirst(3, linearDelay(500, 530)), d),
        10_000,
        "50 millis"
      )
      expect(exit).toStrictEqual(Exit.fail("dummy"))
      expect(d.delays()).toEqual([0, 500, 530])
      expect(upstream.starts).toEqual([0, 1, 502, 1033])
    }))

  it.effect("should retry the function multiple times - EXPONENTIAL mode", () =>
    Effect.gen(function*() {
      const upstream = failureAsync("dummy")
      const d = decisions()
      const schedule = Backoff.exponential({ baseDelay: 500, factor: 2, jitter: "none", maxAttempts: 4 })
      const exit = yield* advance(retrying(upstream.call, schedule, d), 10_000, "50 millis")
      expect(exit).toStrictEqual(Exit.fail("dummy"))
      expect(d.retries()).toEqual([1, 2, 3])
      expect(d.delays()).toEqual([500, 1000, 2000])
      expect(upstream.starts).toEqual([0, 501, 1502, 3503])
    }))

  it.effect("should retry the function multiple times - EXPONENTIAL mode - MaxTimeout", () =>
    Effect.gen(function*() {
      const upstream = failureAsync("dummy")
      const d = decisions()
      const schedule = Backoff.exponential({
        baseDelay: 500,
        factor: 4,
        maxDelay: 1000,
        jitter: "none",
        maxAttempts: 4
      })
      const exit = yield* advance(retrying(upstream.call, schedule, d), 10_000, "50 millis")
      expect(exit).toStrictEqual(Exit.fail("dummy"))
      expect(d.delays()).toEqual([500, 1000, 1000])
      expect(upstream.starts).toEqual([0, 501, 1502, 2503])
    }))

  it.effect("should retry the function multiple times - JITTER mode", () =>
    Effect.gen(function*() {
      const upstream = failureAsync("dummy")
      const d = decisions()
      const options = { baseDelay: 300, factor: 3, maxDelay: 1000, jitter: "equal", maxAttempts: 4 } as const
      // mollitia mocks Math.random to 0.6; Sturdy's randomness is Effect's Random service
      const exit = yield* advance(
        (retrying(upstream.call, Backoff.exponential(options), d)).pipe(
          Effect.withRandom(Random.fixed([0.6]))
        ),
        10_000,
        "50 millis"
      )
      expect(exit).toStrictEqual(Exit.fail("dummy"))
      expect(d.retries()).toEqual([1, 2, 3])
      // envelopes min(1000, 300 × 3ⁿ) = 300, 900, 1000. mollitia's JITTER draws from [0.8 × t, min(1.2 × t, 1000)]:
      // 312, 888, 920. Sturdy's jitter only shortens ("equal": t/2 + 0.6 × t/2): 240, 720, 800, never above the
      // envelope, nor above mollitia's delay
      expect(d.delays()).toEqual([240, 720, 800])
      const peer = [312, 888, 920]
      d.delays().forEach((delay, n) => {
        expect(delay).toBeLessThanOrEqual(Duration.toMillis(Backoff.envelope(options, n).upper))
        expect(delay).toBeLessThanOrEqual(peer[n])
      })
    }))

  it.effect("No Retry attempt configured - Failure and Success cases", () =>
    Effect.gen(function*() {
      const failing = failureAsync("dummy")
      const d = decisions()
      expect(yield* advance(retrying(failing.call, constant(0), d))).toStrictEqual(Exit.fail("dummy"))
      const succeeding = successAsync("dummy")
      expect(yield* advance(retrying(succeeding.call, constant(0), d))).toStrictEqual(Exit.succeed("dummy"))
      expect(d.retries()).toEqual([])
      expect(failing.starts).toHaveLength(1)
      expect(succeeding.starts).toHaveLength(1)
    }))

  it.effect("Success case", () =>
    Effect.gen(function*() {
      const upstream = successAsync("dummy")
      const d = decisions()
      expect(yield* advance(retrying(upstream.call, constant(2), d))).toStrictEqual(Exit.succeed("dummy"))
      expect(d.seen).toEqual([])
      expect(upstream.starts).toHaveLength(1)
    }))

  it.effect("Check logger", () =>
    Effect.gen(function*() {
      // mollitia's logger.debug lines "circuit/retry - Retry: (1/2)" and "(2/2)" are Sturdy's Effect.logDebug lines
      const lines: Array<{ readonly level: string; readonly message: string }> = []
      const collector = Logger.make(({ logLevel, message }) =>
        void lines.push({ level: logLevel.label, message: String(Array.isArray(message) ? message[0] : message) })
      )
      const upstream = failureAsync("dummy")
      const exit = yield* advance(
        (retrying(upstream.call, constant(2))).pipe(
          Logger.withMinimumLogLevel(LogLevel.Debug),
          Effect.provide(Logger.add(collector))
        )
      )
      expect(exit).toStrictEqual(Exit.fail("dummy"))
      const retries = lines.filter((l) => l.message.startsWith("retrying"))
      expect(retries.map((l) => l.level)).toEqual(["DEBUG", "DEBUG"])
      expect(retries[0].message).toContain("attempt 2")
      expect(retries[1].message).toContain("attempt 3")
      expect(lines.filter((l) => l.message.startsWith("not retrying"))).toHaveLength(1)
    }))
})
