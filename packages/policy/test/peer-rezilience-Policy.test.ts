// Ported from rezilience's rezilience/shared/src/test/scala/nl/vroste/rezilience/PolicySpec.scala
// (svroonland/rezilience, commit caa1642e8e7be29bf7c54715202f3ceff43eb07a), one `it` per rezilience case, named after it.
// Mapping: `Policy.common(rl, bh, cb)`, which is `retry(rateLimiter(circuitBreaker(bulkhead(effect))))` with no retry,
// is `effect.pipe(Bulkhead.withBulkhead(bh), CircuitBreaker.withBreaker(cb), RateLimit.withRateLimit(rl, key))`;
// `RateLimiter.make(n)` (n calls a second, a token bucket that delays) is `RateLimit.make({ limit: n, window: "1
// second" })` on `RateLimit.layerStoreMemory`; `Bulkhead.make(n, maxQueueing = 32)` is `Bulkhead.make({ maxConcurrent:
// n, maxQueued })`, 32 by default as rezilience's; `CircuitBreaker.withMaxFailures(n)` is `CircuitBreaker.make(key,
// { consecutiveFailures: n, breakDuration })` with rezilience's default reset policy (1 s, doubling, up to 1 minute).
// The policy errors: `WrappedError(e)` is the failure `e` itself (Sturdy does not wrap), `CircuitBreakerOpen` a
// `CircuitOpen`, `BulkheadRejection` a `BulkheadRejected` of reason "Full"; `Fiber.Status.Suspended` is a fiber that
// `Fiber.poll` finds still running.
// Deliberate differences: none found. (A bulkhead's rejection is ignored by a breaker around it in Sturdy; in
// rezilience the breaker, widened with `Policy.unwrap`, counts it as a success. Either way the breaker stays closed,
// which the bulkhead case asserts.)
// Not ported: the `nonFlaky`/`timeout` aspects (each case runs once, deterministically, on the TestClock), and
// SwitchablePolicySpec.scala (its 6 cases: "uses the new policy after switching", "does not wait for in-flight calls
// to finish when switching", "in-flight calls can be interrupted while switching", each in the transition and the
// finish-in-flight mode): Sturdy has no policy that can be swapped at run time; its policies are combinators, and a
// caller that wants another one applies it to its next call.
import { describe, expect, it } from "@effect/vitest"
import { Bulkhead, CircuitBreaker, RateLimit } from "@sturdy/policy"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"

class MyCallError extends Error {}

// Policy.common(RateLimiter.make(rate), Bulkhead.make(maxInFlight, maxQueueing), CircuitBreaker.withMaxFailures(n))
const common = (rate: number, maxInFlight: number, maxFailures: number, maxQueueing = 32) =>
  Effect.gen(function*() {
    const rl = yield* RateLimit.make({ limit: rate, window: "1 second" })
    const bh = yield* Bulkhead.make({ maxConcurrent: maxInFlight, maxQueued: maxQueueing })
    const cb = yield* CircuitBreaker.make("rezilience", {
      consecutiveFailures: maxFailures,
      breakDuration: Schedule.exponential("1 second").pipe(Schedule.union(Schedule.spaced("1 minute")))
    })
    const policy = <A, E>(self: Effect.Effect<A, E>) =>
      self.pipe(Bulkhead.withBulkhead(bh), CircuitBreaker.withBreaker(cb), RateLimit.withRateLimit(rl, "rezilience"))
    return { policy, cb }
  }).pipe(Effect.provide(RateLimit.layerStoreMemory))

describe("peer rezilience PolicySpec", () => {
  it.scoped("succeeds the first call immediately regardless of the policies", () =>
    Effect.gen(function*() {
      const { policy } = yield* common(1, 100, 10)
      expect(yield* policy(Effect.succeed(123))).toBe(123)
    }))

  it.scoped("fails the first call when retry is disabled", () =>
    Effect.gen(function*() {
      const { policy } = yield* common(1, 100, 10)
      const failure = new MyCallError()
      expect(yield* Effect.flip(policy(Effect.fail(failure)))).toBe(failure)
    }))

  it.scoped("fail with a circuit breaker error after too many failed calls", () =>
    Effect.gen(function*() {
      const { policy } = yield* common(2, 100, 1)
      yield* Effect.flip(policy(Effect.fail(new MyCallError())))
      const result = yield* Effect.flip(policy(Effect.fail(new MyCallError())))
      expect(CircuitBreaker.isCircuitOpen(result)).toBe(true)
    }))

  it.scoped("fail with a bulkhead error after too many calls in progress", () =>
    Effect.gen(function*() {
      const { cb, policy } = yield* common(10, 1, 1, 1)
      const latch = yield* Deferred.make<void>()
      const latch3 = yield* Deferred.make<void>()
      // this one goes in flight immediately
      const first = yield* Effect.fork(
        policy(Effect.zipRight(Deferred.succeed(latch, undefined), Deferred.await(latch3)))
      )
      yield* Deferred.await(latch)
      // one of these is enqueued, one is rejected
      const result = yield* Effect.raceFirst(Effect.flip(policy(Effect.void)), Effect.flip(policy(Effect.void)))
      expect(Bulkhead.isBulkheadRejected(result) && result.reason).toBe("Full")
      // the rejection is not held against the upstream: the breaker of one failure stays closed
      expect(yield* cb.state).toBe("Closed")
      yield* Deferred.succeed(latch3, undefined)
      yield* Fiber.join(first)
    }))

  it.scoped("rate limit", () =>
    Effect.gen(function*() {
      const { policy } = yield* common(2, 10, 1)
      yield* policy(Effect.void)
      yield* policy(Effect.void)
      const fib = yield* Effect.fork(policy(Effect.succeed(123)))
      yield* TestClock.adjust("0 seconds")
      const initialStatus = yield* Fiber.poll(fib)
      yield* TestClock.adjust("1 second")
      expect(Option.isNone(initialStatus)).toBe(true)
      expect(yield* Fiber.join(fib)).toBe(123)
    }))
})
