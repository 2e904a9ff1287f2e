// Ported from failsafe-rs' src/failure_policy.rs `mod tests` (dmexe/failsafe-rs, commit
// 5bf89775ea320f288f11935f3b5526e63a865d2a), one `it` per case, named after it.
// Mapping: a failure policy is the opening rule of a `CircuitBreaker`: `consecutive_failures(n, backoff)` is
// `{ consecutiveFailures: n, breakDuration: backoff }`; `success_rate_over_time_window(rate, minRequests, window,
// backoff)` is `{ failureRateThreshold: 1 - rate, minimumThroughput: minRequests, slidingWindow: window,
// breakDuration: backoff }`; `or_else` is both rules on one breaker. `mark_dead_on_failure()` is a failed call:
// `Some(d)` is the breaker opening with a pause of `d` (`CircuitOpen.retryAfter` of the next call), `None` is the
// breaker staying closed; `record_success()` is a successful call; once the breaker is open, the next
// `mark_dead_on_failure()` is a failed probe after the pause (which takes the backoff's next pause in both, as
// failsafe-rs' state machine asks its policy in HalfOpen); `revived()` is the breaker closing (Sturdy's `reset`, or a
// successful probe), which restarts the backoff in both. `constant(5 s)` is the duration "5 seconds" and
// `exponential(5 s, 60 s)` is `Backoff.exponential({ baseDelay: "5 seconds", maxDelay: "60 seconds", jitter: "none",
// maxAttempts: Infinity })`. `clock::freeze` is the TestClock.
// Deliberate differences (each test says which): failsafe-rs' success rate is an exponential moving average with the
// window as its time constant (Finagle's), Sturdy's failure rate is the ratio of counted failures among the calls in
// the sliding window, so a rate turns after a different number of failures; failsafe-rs judges no rate until a whole
// window has passed since it started (or revived), Sturdy judges as soon as `minimumThroughput` calls are in the
// window; Sturdy opens at the threshold (>=), failsafe-rs below the success rate, so a required success rate of 1.0
// (any failure opens) is the smallest failure ratio Sturdy takes (a `failureRateThreshold` of 0 would open on
// successes and is refused).
// Not ported: none of the module's cases is left out.
import { describe, expect, it } from "@effect/vitest"
import { Backoff, CircuitBreaker } from "@sturdy/policy"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"

const constantBackoff = "5 seconds"
const expBackoff = () =>
  Backoff.exponential({ baseDelay: "5 seconds", maxDelay: "60 seconds", jitter: "none", maxAttempts: Infinity })
// the first six of exponential(5 s, 60 s)
const expPauses = [5, 10, 20, 40, 60, 60]

const consecutiveFailures = (n: number, breakDuration: CircuitBreaker.Options["breakDuration"]) =>
  CircuitBreaker.make("failure-policy", { consecutiveFailures: n, breakDuration })

const successRateOverTimeWindow = (
  rate: number,
  minRequests: number,
  window: Duration.DurationInput,
  breakDuration: CircuitBreaker.Options["breakDuration"]
) =>
  CircuitBreaker.make("failure-policy", {
    // a required success rate of 1.0 (any failure) is the least failure ratio Sturdy takes
    failureRateThreshold: rate === 1 ? Number.MIN_VALUE : 1 - rate,
    minimumThroughput: minRequests,
    slidingWindow: window,
    breakDuration
  })

/**
 * `mark_dead_on_failure()`: a failed call (a probe, once the pause of an open breaker has passed: the clock moves to
 * its end); the pause the breaker opened with (seconds), or `None` when it stays closed.
 */
const markDeadOnFailure = (breaker: CircuitBreaker.CircuitBreaker) =>
  Effect.gen(function*() {
    const before = yield* breaker.snapshot
    if (before.state === "Open") yield* TestClock.adjust(before.retryAfter)
    const err = yield* Effect.flip(CircuitBreaker.withBreaker(Effect.fail("failure"), breaker))
    expect(err).toBe("failure")
    const after = yield* breaker.snapshot
    return after.state === "Open" ? Option.some(Duration.toSeconds(after.retryAfter)) : Option.none()
  })

const recordSuccess = (breaker: CircuitBreaker.CircuitBreaker) =>
  CircuitBreaker.withBreaker(Effect.succeed("ok"), breaker)

describe("peer failsafe-rs failure_policy.rs consecutive_failures", () => {
  it.scoped("fail_on_nth_attempt", () =>
    Effect.gen(function*() {
      const policy = yield* consecutiveFailures(3, constantBackoff)
      expect(yield* markDeadOnFailure(policy)).toEqual(Option.none())
      expect(yield* markDeadOnFailure(policy)).toEqual(Option.none())
      expect(yield* markDeadOnFailure(policy)).toEqual(Option.some(5))
    }))

  it.scoped("reset_to_zero_on_revived", () =>
    Effect.gen(function*() {
      const policy = yield* consecutiveFailures(3, constantBackoff)
      expect(yield* markDeadOnFailure(policy)).toEqual(Option.none())
      // revived(): the breaker closes
      yield* policy.reset
      expect(yield* markDeadOnFailure(policy)).toEqual(Option.none())
      expect(yield* markDeadOnFailure(policy)).toEqual(Option.none())
      expect(yield* markDeadOnFailure(policy)).toEqual(Option.some(5))
    }))

  it.scoped("reset_to_zero_on_success", () =>
    Effect.gen(function*() {
      const policy = yield* consecutiveFailures(3, constantBackoff)
      expect(yield* markDeadOnFailure(policy)).toEqual(Option.none())
      yield* recordSuccess(policy)
      expect(yield* markDeadOnFailure(policy)).toEqual(Option.none())
      expect(yield* markDeadOnFailure(policy)).toEqual(Option.none())
      expect(yield* markDeadOnFailure(policy)).toEqual(Option.some(5))
    }))

  it.scoped("iterates_over_backoff", () =>
    Effect.gen(function*() {
      const policy = yield* consecutiveFailures(1, expBackoff())
      for (const pause of expPauses) expect(yield* markDeadOnFailure(policy)).toEqual(Option.some(pause))
    }))
})

describe("peer failsafe-rs failure_policy.rs success_rate_over_time_window", () => {
  it.scoped("fail_when_success_rate_not_met", () =>
    Effect.gen(function*() {
      const policy = yield* successRateOverTimeWindow(0.5, 1, "30 seconds", expBackoff())
      // failsafe-rs: None, as no whole window has passed since it started; Sturdy judges the window once it holds
      // `minimumThroughput` (1) calls, so this failure opens the breaker, with the backoff's first pause
      expect(yield* markDeadOnFailure(policy)).toEqual(Option.some(5))
      // failsafe-rs, after the window: every failure is Some, iterating over the backoff; Sturdy's failed probes
      // take the following pauses (after the 5 s above: 10, 20, 40, 60, 60)
      yield* TestClock.adjust("30 seconds")
      for (const pause of expPauses.slice(1)) expect(yield* markDeadOnFailure(policy)).toEqual(Option.some(pause))
    }))

  it.scoped("respects_rps_threshold", () =>
    Effect.gen(function*() {
      const policy = yield* successRateOverTimeWindow(1.0, 5, "30 seconds", constantBackoff)
      yield* TestClock.adjust("30 seconds")
      expect(yield* markDeadOnFailure(policy)).toEqual(Option.none())
      expect(yield* markDeadOnFailure(policy)).toEqual(Option.none())
      expect(yield* markDeadOnFailure(policy)).toEqual(Option.none())
      expect(yield* markDeadOnFailure(policy)).toEqual(Option.none())
      expect(yield* markDeadOnFailure(policy)).toEqual(Option.some(5))
    }))

  it.scoped("revived_resets_failures", () =>
    Effect.gen(function*() {
      const policy = yield* successRateOverTimeWindow(0.5, 1, "30 seconds", constantBackoff)
      yield* TestClock.adjust("30 seconds")
      for (let i = 0; i < 6; i++) expect(yield* markDeadOnFailure(policy)).toEqual(Option.some(5))

      // revived(): a successful probe closes the breaker, with a fresh window
      yield* TestClock.adjust("5 seconds")
      yield* recordSuccess(policy)
      expect(yield* policy.state).toBe("Closed")
      const revived = yield* policy.snapshot
      expect([revived.calls, revived.failures]).toEqual([0, 0])

      // failsafe-rs: None (its window restarts, and judges nothing until it has passed); Sturdy's fresh window holds
      // 1 call, a failure: the minimum is met and the breaker opens again
      yield* TestClock.adjust("30 seconds")
      expect(Option.isSome(yield* markDeadOnFailure(policy))).toBe(true)
    }))

  it.scoped("fractional_success_rate", () =>
    Effect.gen(function*() {
      const policy = yield* successRateOverTimeWindow(0.5, 1, "100 seconds", expBackoff())
      for (let i = 0; i < 100; i++) {
        yield* TestClock.adjust("1 second")
        yield* recordSuccess(policy)
      }
      // failsafe-rs' moving average drops below 0.5 at the 70th failure (100 × ln 2 + 1); Sturdy's window ratio
      // reaches 0.5 when its failures match the successes still in the 100 s window: the successes of the last
      // 100 s age out one a second while a failure comes each second, so at the 50th failure (the successes of the
      // first 50 s having left, in buckets of 10 s)
      const opened: Array<number> = []
      for (let i = 0; i < 70 && opened.length === 0; i++) {
        yield* TestClock.adjust("1 second")
        if (Option.isSome(yield* markDeadOnFailure(policy))) opened.push(i + 1)
      }
      expect(opened).toEqual([50])
    }))
})

describe("peer failsafe-rs failure_policy.rs or_else", () => {
  it.scoped("compose_policies", () =>
    Effect.gen(function*() {
      const policy = yield* CircuitBreaker.make("failure-policy", {
        consecutiveFailures: 3,
        failureRateThreshold: 0.5,
        minimumThroughput: 100,
        slidingWindow: "10 seconds",
        breakDuration: constantBackoff
      })
      yield* recordSuccess(policy)
      expect(yield* markDeadOnFailure(policy)).toEqual(Option.none())
    }))
})
