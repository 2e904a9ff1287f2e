// Ported from Arrow's arrow-libs/resilience/arrow-resilience/src/commonTest/kotlin/arrow/resilience/CircuitBreakerTest.kt
// (arrow-kt/arrow, commit 0aa9227a8dcc51fc207b219f328c62cf85195a2e), one `it` per Arrow case, named after it.
// Mapping: `CircuitBreaker(resetTimeout, openingStrategy, exponentialBackoffFactor, maxResetTimeout)` is
// `CircuitBreaker.make(key, { breakDuration, ...threshold })` with `breakDuration` the Backoff schedule
// `Backoff.exponential({ baseDelay: resetTimeout, factor: exponentialBackoffFactor, maxDelay: maxResetTimeout,
// jitter: "none", maxAttempts: Infinity })` (Arrow's pauses: resetTimeout, then × factor after each failed probe, capped
// at maxResetTimeout; its defaults, factor 1.0 and an infinite maxResetTimeout, are factor 1 and maxDelay Infinity).
// Arrow's `maxFailures` is the number of failures TOLERATED (`Count.shouldOpen` is `failuresCount > maxFailures`;
// `SlidingWindow` opens on maxFailures + 1 failures within `windowDuration`), where Sturdy's thresholds are the number
// that opens: `OpeningStrategy.Count(n)` is `consecutiveFailures: n + 1` (a success resets both counts) and
// `SlidingWindow(timeSource, window, n)` is `failureCountThreshold: n + 1, slidingWindow: window` (successes between
// failures reset neither). `protectOrThrow { f }` is `CircuitBreaker.withBreaker(f, breaker)`, its thrown failure the
// typed failure of the Effect and `ExecutionRejected` a `CircuitOpen`; `state()` is `state` (and `Open.resetTimeout`
// `snapshot.retryAfter` right after the opening); `doOnOpen`/`doOnHalfOpen`/`doOnClosed` are the transitions published
// on `subscribe` into Open/HalfOpen/Closed, `doOnRejectedTask` the `CircuitOpen` failures the calls got; the
// `TestTimeSource` is the TestClock; the CompletableDeferred latches are `Deferred`s; `withContext(Dispatchers.Default)`
// is an `Effect.yieldNow()` (a hop off the current fiber's run, no time passing). `stackSafeIteration()` is 200,000 on
// the JVM and 1,000 on JS in Arrow; here 20,000 (a recursion that is not stack-safe overflows a JS stack well before).
// Deliberate differences (each test says which): Sturdy's breaker has no timers and its `state` reports HalfOpen as soon
// as the pause is over (Arrow's `state()` still reports Open until the next call moves it); a resetTimeout or
// maxResetTimeout of zero is accepted (a pause of zero is documented: the next call probes at once) where Arrow's
// constructor refuses it; a factor below 1 is refused by `Backoff.exponential` (Arrow refuses only factors ≤ 0).
// Arrow's sliding-window cases step the `OpeningStrategy` object itself (`trackFailure`, `shouldOpen`); Sturdy exposes
// no strategy, so they make the same failures, at the same times, through a breaker and read its state.
// Not ported: nothing; the examples under src/jvmTest/kotlin/examples (documentation snippets, no assertions) are not
// tests. SagaSpec.kt is not ported: Sturdy has no saga (compensating actions) policy. ScheduleTest.kt is in
// peer-arrow-Schedule.test.ts, and the ktor-client integration's HttpRequestScheduleTest.kt (HttpCircuitBreaker included)
// in test/peer-arrow-ktor-client.test.ts.
import { describe, expect, it } from "@effect/vitest"
import { Backoff, CircuitBreaker } from "@sturdy/policy"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import { recordTransitions, settle } from "./utils/transitions.js"

class RuntimeException extends Error {}

const dummy = new RuntimeException("dummy")
const maxFailures = 5
const exponentialBackoffFactor = 2.0
const resetTimeout = Duration.millis(500)
const maxTimeout = Duration.millis(1000)
const stackSafeIteration = 20_000

type OpeningStrategy =
  | { readonly _tag: "Count"; readonly maxFailures: number }
  | { readonly _tag: "SlidingWindow"; readonly windowDuration: Duration.DurationInput; readonly maxFailures: number }

const Count = (maxFailures: number): OpeningStrategy => ({ _tag: "Count", maxFailures })
const SlidingWindow = (windowDuration: Duration.DurationInput, maxFailures: number): OpeningStrategy => ({
  _tag: "SlidingWindow",
  windowDuration,
  maxFailures
})

/** Arrow's constructor as breaker options (see the header's mapping). */
const arrowOptions = (
  resetTimeout: Duration.DurationInput,
  openingStrategy: OpeningStrategy,
  exponentialBackoffFactor = 1.0,
  maxResetTimeout: Duration.DurationInput = Duration.infinity
): CircuitBreaker.Options => ({
  breakDuration: Backoff.exponential({
    baseDelay: resetTimeout,
    factor: exponentialBackoffFactor,
    maxDelay: maxResetTimeout,
    jitter: "none",
    maxAttempts: Infinity
  }),
  ...(openingStrategy._tag === "Count"
    ? { consecutiveFailures: openingStrategy.maxFailures + 1 }
    : { failureCountThreshold: openingStrategy.maxFailures + 1, slidingWindow: openingStrategy.windowDuration })
})

const arrowBreaker = (...args: Parameters<typeof arrowOptions>) => CircuitBreaker.make("arrow", arrowOptions(...args))

const protect = <A, E>(cb: CircuitBreaker.CircuitBreaker, fa: Effect.Effect<A, E>) => CircuitBreaker.withBreaker(fa, cb)

/** `Either.catch { cb.protectOrThrow { throw dummy } }` */
const failOnce = (cb: CircuitBreaker.CircuitBreaker) => Effect.either(protect(cb, Effect.fail(dummy)))

/** `recurAndCollect(n).repeat { ... }`: the first run and n repetitions, collected */
const recurAndCollect = <A, E>(n: number, self: Effect.Effect<A, E>) =>
  Effect.forEach(Array.from({ length: n + 1 }), () => self)

const isRejected = (result: Either.Either<unknown, unknown>) =>
  Either.isLeft(result) && CircuitBreaker.isCircuitOpen(result.left)

// the doOnOpen / doOnHalfOpen / doOnClosed counters, from the published transitions
const countInto = (published: ReadonlyArray<CircuitBreaker.StateChange>, to: CircuitBreaker.State) =>
  published.filter((c) => c.to === to).length

const stackSafeSuspend = (
  cb: CircuitBreaker.CircuitBreaker,
  n: number,
  acc: number
): Effect.Effect<number, CircuitBreaker.CircuitOpen> =>
  n > 0
    ? Effect.flatMap(
      protect(cb, Effect.zipRight(Effect.yieldNow(), Effect.sync(() => acc + 1))),
      (s) => stackSafeSuspend(cb, n - 1, s)
    )
    : Effect.succeed(acc)

const stackSafeImmediate = (
  cb: CircuitBreaker.CircuitBreaker,
  n: number,
  acc: number
): Effect.Effect<number, CircuitBreaker.CircuitOpen> =>
  n > 0
    ? Effect.flatMap(protect(cb, Effect.sync(() => acc + 1)), (s) => stackSafeImmediate(cb, n - 1, s))
    : Effect.succeed(acc)

// a probe held in flight: it says it started, then waits for `release` before ending as `outcome` does (Arrow's
// checkHalfOpen / delayProtectLatch pair)
const heldProbe = <A, E>(cb: CircuitBreaker.CircuitBreaker, outcome: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const started = yield* Deferred.make<void>()
    const release = yield* Deferred.make<void>()
    const body = Effect.zipRight(Deferred.succeed(started, undefined), Deferred.await(release))
    const fiber = yield* Effect.fork(Effect.either(protect(cb, Effect.zipRight(body, outcome))))
    yield* Deferred.await(started)
    return { release: Deferred.succeed(release, undefined), fiber }
  })

describe("peer Arrow CircuitBreakerTest", () => {
  it.scoped("shouldWorkForSuccessfulAsyncTasks", () =>
    Effect.gen(function*() {
      const cb = yield* arrowBreaker(resetTimeout, Count(maxFailures))
      let effect = 0
      yield* Effect.repeat(
        protect(cb, Effect.zipRight(Effect.yieldNow(), Effect.sync(() => effect += 1))),
        Schedule.recurs(stackSafeIteration)
      )
      expect(effect).toBe(stackSafeIteration + 1)
    }))

  it.scoped("shouldWorkForSuccessfulImmediateTasks", () =>
    Effect.gen(function*() {
      const cb = yield* arrowBreaker(resetTimeout, Count(maxFailures))
      let effect = 0
      yield* Effect.repeat(protect(cb, Effect.sync(() => effect += 1)), Schedule.recurs(stackSafeIteration))
      expect(effect).toBe(stackSafeIteration + 1)
    }))

  it.scoped("staysClosedAfterLessThanMaxFailures", () =>
    Effect.gen(function*() {
      const cb = yield* arrowBreaker(resetTimeout, Count(maxFailures))
      // recurAndCollect(4): five failed calls, all of them tolerated by Count(5)
      const result = yield* recurAndCollect(4, failOnce(cb))
      expect(result).toHaveLength(5)
      expect(result.every((r) => Either.isLeft(r) && r.left === dummy)).toBe(true)
      expect(yield* cb.state).toBe("Closed")
    }))

  it.scoped("closedCircuitBreakerResetsFailureCountAfterSuccess", () =>
    Effect.gen(function*() {
      const cb = yield* arrowBreaker(resetTimeout, Count(maxFailures))
      const result = yield* recurAndCollect(4, failOnce(cb))
      expect(result.every((r) => Either.isLeft(r) && r.left === dummy)).toBe(true)
      expect(yield* cb.state).toBe("Closed")
      expect((yield* cb.snapshot).consecutiveFailures).toBe(5)
      expect(yield* protect(cb, Effect.succeed(1))).toBe(1)
      expect(yield* cb.state).toBe("Closed")
      // the count the name speaks of: back to zero after the success
      expect((yield* cb.snapshot).consecutiveFailures).toBe(0)
    }))

  it.scoped("circuitBreakerOpensAfterMaxFailures", () =>
    Effect.gen(function*() {
      const cb = yield* arrowBreaker(resetTimeout, Count(maxFailures))
      const result = yield* recurAndCollect(4, failOnce(cb))
      expect(result.every((r) => Either.isLeft(r) && r.left === dummy)).toBe(true)
      expect(yield* cb.state).toBe("Closed")
      // the sixth failure still reaches the upstream, and opens the breaker
      const sixth = yield* failOnce(cb)
      expect(Either.isLeft(sixth) && sixth.left).toBe(dummy)
      const snapshot = yield* cb.snapshot
      expect(snapshot.state).toBe("Open")
      expect(Duration.toMillis(snapshot.retryAfter)).toBe(Duration.toMillis(resetTimeout))
    }))

  it.scoped("circuitBreakerCanBeClosedAgainAfterWaitingResetTimeOut", () =>
    Effect.gen(function*() {
      const cb = yield* arrowBreaker(resetTimeout, Count(maxFailures), exponentialBackoffFactor, maxTimeout)
      const published = yield* recordTransitions(cb)
      let rejectedCount = 0
      const counting = <A, E>(self: Effect.Effect<A, E>) =>
        Effect.tap(Effect.either(self), (r) => Effect.sync(() => isRejected(r) && rejectedCount++))

      // CircuitBreaker opens after 5 failures (tolerated), at the sixth
      yield* recurAndCollect(5, counting(protect(cb, Effect.fail(dummy))))
      let snapshot = yield* cb.snapshot
      expect(snapshot.state).toBe("Open")
      expect(Duration.toMillis(snapshot.retryAfter)).toBe(500)

      // If CircuitBreaker is Open our tasks are rejected
      const rejected = yield* counting(protect(cb, Effect.fail(dummy)))
      expect(isRejected(rejected)).toBe(true)

      yield* TestClock.adjust(Duration.sum(resetTimeout, Duration.millis(10)))
      // Arrow: still Open until a call arrives. Sturdy (no timers): `state` reports HalfOpen once the pause is over;
      // the transition itself is published when the probe below arrives
      expect(yield* cb.state).toBe("HalfOpen")
      yield* settle
      expect(countInto(published, "HalfOpen")).toBe(0)

      // a successful probe, held in flight to inspect the HalfOpen state
      const probe = yield* heldProbe(cb, Effect.succeed("probe"))
      snapshot = yield* cb.snapshot
      expect(snapshot.state).toBe("HalfOpen")
      expect(snapshot.probesInFlight).toBe(1)

      // Rejects all other tasks in HalfOpen; Arrow's `HalfOpen.resetTimeout` (500 ms) is the rejection's `retryAfter`
      for (let i = 0; i < 2; i++) {
        const halfOpenRejection = yield* counting(protect(cb, Effect.fail(dummy)))
        expect(isRejected(halfOpenRejection)).toBe(true)
        if (Either.isLeft(halfOpenRejection) && CircuitBreaker.isCircuitOpen(halfOpenRejection.left)) {
          expect(Duration.toMillis(halfOpenRejection.left.retryAfter)).toBe(Duration.toMillis(resetTimeout))
        }
      }

      // Once the probe completes, the circuit breaker goes back to Closed
      yield* probe.release
      expect(yield* Fiber.join(probe.fiber)).toEqual(Either.right("probe"))
      expect(yield* cb.state).toBe("Closed")
      yield* settle

      expect(rejectedCount).toBe(3) // 3 tasks were rejected in total
      expect(countInto(published, "Open")).toBe(1) // Circuit breaker opened once
      expect(countInto(published, "HalfOpen")).toBe(1) // Circuit breaker went into halfOpen once
      expect(countInto(published, "Closed")).toBe(1) // Circuit breaker closed once after it opened
    }))

  it.scoped("circuitBreakerStaysOpenWithFailureAfterResetTimeOut", () =>
    Effect.gen(function*() {
      const cb = yield* arrowBreaker(resetTimeout, Count(maxFailures), 2.0, maxTimeout)
      const published = yield* recordTransitions(cb)
      let rejectedCount = 0
      const counting = <A, E>(self: Effect.Effect<A, E>) =>
        Effect.tap(Effect.either(self), (r) => Effect.sync(() => isRejected(r) && rejectedCount++))

      yield* recurAndCollect(5, counting(protect(cb, Effect.fail(dummy))))
      let snapshot = yield* cb.snapshot
      expect(snapshot.state).toBe("Open")
      expect(Duration.toMillis(snapshot.retryAfter)).toBe(500)

      expect(isRejected(yield* counting(protect(cb, Effect.fail(dummy))))).toBe(true)

      yield* TestClock.adjust(Duration.sum(resetTimeout, Duration.millis(10)))
      // Arrow: still Open; Sturdy: HalfOpen once the pause is over (see above)
      expect(yield* cb.state).toBe("HalfOpen")

      // a probe that fails, held in flight to inspect the HalfOpen state
      const probe = yield* heldProbe(cb, Effect.fail(dummy))
      expect(yield* cb.state).toBe("HalfOpen")

      // Rejects all other tasks in HalfOpen
      expect(isRejected(yield* counting(protect(cb, Effect.fail(dummy))))).toBe(true)
      expect(isRejected(yield* counting(protect(cb, Effect.fail(dummy))))).toBe(true)

      yield* probe.release
      const probed = yield* Fiber.join(probe.fiber)
      expect(Either.isLeft(probed) && probed.left).toBe(dummy)

      // the failed probe opens the breaker again, with the pause × exponentialBackoffFactor (capped at maxTimeout)
      snapshot = yield* cb.snapshot
      expect(snapshot.state).toBe("Open")
      expect(Duration.toMillis(snapshot.retryAfter)).toBe(Duration.toMillis(resetTimeout) * exponentialBackoffFactor)
      yield* settle

      expect(rejectedCount).toBe(3)
      expect(countInto(published, "Open")).toBe(2) // Circuit breaker opened twice
      expect(countInto(published, "HalfOpen")).toBe(1)
      expect(countInto(published, "Closed")).toBe(0)
    }))

  it.scoped("shouldBeStackSafeForSuccessfulAsyncTasks", () =>
    Effect.gen(function*() {
      const cb = yield* arrowBreaker("1 minute", Count(5))
      expect(yield* stackSafeSuspend(cb, stackSafeIteration, 0)).toBe(stackSafeIteration)
    }))

  it.scoped("shouldBeStackSafeForSuccessfulImmediateTasks", () =>
    Effect.gen(function*() {
      const cb = yield* arrowBreaker("1 minute", Count(5))
      expect(yield* stackSafeImmediate(cb, stackSafeIteration, 0)).toBe(stackSafeIteration)
    }))

  it.scoped("shouldRequireValidConstructorValues", () =>
    Effect.gen(function*() {
      // ConstructorValues' defaults: maxFailures 1, resetTimeout 1 s, factor 1.0, maxResetTimeout infinite
      const construct = (values: {
        readonly maxFailures?: number
        readonly resetTimeout?: Duration.DurationInput
        readonly exponentialBackoffFactor?: number
        readonly maxResetTimeout?: Duration.DurationInput
      }) =>
        Effect.exit(
          Effect.suspend(() =>
            arrowBreaker(
              values.resetTimeout ?? "1 second",
              Count(values.maxFailures ?? 1),
              values.exponentialBackoffFactor ?? 1.0,
              values.maxResetTimeout ?? Duration.infinity
            )
          )
        )
      // each refusal is a RangeError naming the option it maps to
      const refused = [
        [{ maxFailures: -1 }, "consecutiveFailures"], // `make` dies
        [{ resetTimeout: "-1 seconds" }, "baseDelay"], // `Backoff.exponential` throws
        [{ exponentialBackoffFactor: 0.0 }, "factor"],
        [{ exponentialBackoffFactor: -1.0 }, "factor"],
        [{ maxResetTimeout: "-1 seconds" }, "maxDelay"]
      ] as const
      for (const [values, option] of refused) {
        const exit = yield* construct(values)
        expect(Exit.isFailure(exit)).toBe(true)
        if (Exit.isFailure(exit)) {
          const defect = Cause.squash(exit.cause)
          expect(defect).toBeInstanceOf(RangeError)
          expect((defect as RangeError).message).toContain(option)
        }
      }
      // Sturdy: a pause of zero is accepted (documented: the next call probes at once); Arrow refuses a zero
      // resetTimeout and a zero maxResetTimeout
      for (const values of [{ resetTimeout: Duration.zero }, { maxResetTimeout: Duration.zero }]) {
        const exit = yield* construct(values)
        expect(Exit.isSuccess(exit)).toBe(true)
        if (Exit.isSuccess(exit)) {
          const cb = exit.value
          yield* failOnce(cb)
          yield* failOnce(cb)
          // open, with no pause: the next call is a probe, and its success closes the breaker
          expect(Duration.toMillis((yield* cb.snapshot).retryAfter)).toBe(0)
          expect(yield* protect(cb, Effect.succeed("probe"))).toBe("probe")
          expect(yield* cb.state).toBe("Closed")
        }
      }
    }))

  it.scoped("slidingWindowStrategyShouldKeepClosed", () =>
    Effect.gen(function*() {
      const windowDuration = Duration.millis(200)
      const stepDuration = Duration.millis(40)
      const cb = yield* arrowBreaker(resetTimeout, SlidingWindow(windowDuration, 5))
      // `Schedule.spaced(40ms) and Schedule.recurs(10)`: eleven failures, 40 ms apart; no 200 ms holds six of them
      for (let i = 0; i <= 10; i++) {
        yield* TestClock.adjust(stepDuration)
        const result = yield* failOnce(cb)
        expect(Either.isLeft(result) && result.left).toBe(dummy)
        expect(yield* cb.state, "The circuit breaker should keep closed").toBe("Closed")
      }
    }))

  it.scoped("slidingWindowStrategyShouldOpen", () =>
    Effect.gen(function*() {
      const windowDuration = Duration.millis(200)
      const stepDuration = Duration.millis(39)
      const cb = yield* arrowBreaker(resetTimeout, SlidingWindow(windowDuration, 5))
      // six failures, 39 ms apart: all within 200 ms
      for (let i = 0; i <= 5; i++) {
        yield* TestClock.adjust(stepDuration)
        yield* failOnce(cb)
      }
      expect(yield* cb.state, "The circuit breaker should open after reaching max failures").toBe("Open")
      expect((yield* cb.snapshot).failures).toBe(0) // the window is emptied on opening

      yield* TestClock.adjust(stepDuration)
      // Arrow tracks one more failure on the strategy; through Sturdy's open breaker the call is rejected
      expect(isRejected(yield* failOnce(cb))).toBe(true)
      expect(yield* cb.state, "The circuit breaker should still open").toBe("Open")
    }))

  it.scoped("slidingWindowStrategyShouldCloseAfterResetTimeout", () =>
    Effect.gen(function*() {
      const windowDuration = Duration.millis(200)
      const stepDuration = Duration.millis(39)
      // the pause is the window, so "after reset timeout" and "after the window" are the same instant
      const cb = yield* arrowBreaker(windowDuration, SlidingWindow(windowDuration, 5))
      for (let i = 0; i <= 5; i++) {
        yield* TestClock.adjust(stepDuration)
        yield* failOnce(cb)
      }
      expect(yield* cb.state, "The circuit breaker should open after reaching max failures").toBe("Open")

      yield* TestClock.adjust(windowDuration)
      // Arrow's strategy no longer says "open" once the failures are older than the window. Sturdy: the pause is over
      // and the breaker lets a probe through, which closes it; the old failures are gone (the window was emptied),
      // so one more failure does not open it again
      expect(yield* cb.state).not.toBe("Open")
      expect(yield* protect(cb, Effect.succeed("probe"))).toBe("probe")
      expect(yield* cb.state, "The circuit breaker should close after reset timeout").toBe("Closed")
      yield* failOnce(cb)
      expect(yield* cb.state).toBe("Closed")
      expect((yield* cb.snapshot).failures).toBe(1)
    }))
})
