// Ported from failsafe-go (failsafe-go/failsafe-go, commit 5759a5e6d557eace215f820f5b5e663d5c05c3ee): the cases of
// circuitbreaker/*_test.go and test/circuitbreaker_test.go that Failsafe's ClosedStateTest, HalfOpenStateTest,
// OpenStateTest, CircuitBreakerTest and functional/CircuitBreakerTest do not have, one `it` per Go case, named after it.
// Mapping: `WithDelay(d)` / a `WithDelayFunc` answering d is `breakDuration: d`; `breaker.halfOpen()` is a tripping
// call followed by the pause; `RemainingDelay()` is `snapshot.retryAfter`; `RecordSuccess()` / `RecordFailure()` are
// calls through the breaker that succeed or fail; `WithFailureThresholdRatio(k, n)` is `failureRateThreshold: k / n`
// over `slidingWindow: { calls: n }` judged from `minimumThroughput: n` calls; `WithSuccessThresholdRatio(k, n)` is
// `successThreshold: k`; the `OnOpen` / `OnClose` listeners are the transitions published on `subscribe`'s stream, and
// the metrics an `OnOpen` listener reads are what the `CircuitOpen` of the next call says of the opening.
// Deliberate difference (the test says so): in HalfOpen Go keeps a window of probe outcomes ("3 of 5" successes);
// Sturdy reopens on the first failed probe and closes after `successThreshold` successful probes (CircuitBreaker.ts
// module doc).
// Not ported: "support call OnOpen listener > with context" (the listener is handed the execution's
// `context.Context`; Sturdy's transitions carry no caller context); the rest of circuitbreaker/*_test.go and
// test/circuitbreaker_test.go, test/nested_circuitbreaker_test.go and the circuit breaker cases of
// test/delayablepolicy_test.go (Failsafe's, in peer-failsafe-CircuitBreaker.test.ts).
import { describe, expect, it } from "@effect/vitest"
import { CircuitBreaker } from "@sturdy/policy"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { onError, onSuccess } from "./utils/resilience4j.js"

// the transitions published from now on, as "From->To"
const record = (breaker: CircuitBreaker.CircuitBreaker) =>
  Effect.gen(function*() {
    const published: Array<string> = []
    yield* Effect.forkScoped(
      Stream.runForEach(yield* breaker.subscribe, (c) => Effect.sync(() => published.push(`${c.from}->${c.to}`)))
    )
    return published
  })

const settle = Effect.repeatN(Effect.yieldNow(), 10)

describe("peer failsafe-go circuitbreaker", () => {
  it.scoped("TestRemainingDelayInHalfOpenState", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make("cb", { consecutiveFailures: 1, breakDuration: "1 second" })
      yield* onError(breaker)
      yield* TestClock.adjust("1 second") // breaker.halfOpen()
      expect(yield* breaker.state).toBe("HalfOpen")
      expect(Duration.toMillis((yield* breaker.snapshot).retryAfter)).toBe(0)
    }))

  it.scoped("support call OnOpen listener without context", () =>
    Effect.gen(function*() {
      // WithFailureThresholdRatio(1, 2)
      const breaker = yield* CircuitBreaker.make("cb", {
        failureRateThreshold: 1 / 2,
        slidingWindow: { calls: 2 },
        minimumThroughput: 2
      })
      const published = yield* record(breaker)
      yield* onSuccess(breaker)
      yield* onError(breaker)
      yield* settle
      expect(published).toEqual(["Closed->Open"]) // called
      // the opening's metrics: one failure (and one success) among the two calls
      const open = yield* Effect.flip(CircuitBreaker.withBreaker(Effect.void, breaker))
      expect(open).toMatchObject({ _tag: "CircuitOpen", reason: "FailureRate", failures: 1 })
    }))

  it.scoped("should call OnClose listener", () =>
    Effect.gen(function*() {
      // WithSuccessThresholdRatio(3, 5)
      const breaker = yield* CircuitBreaker.make("cb", {
        consecutiveFailures: 1,
        successThreshold: 3,
        breakDuration: "1 minute"
      })
      yield* onError(breaker)
      yield* TestClock.adjust("1 minute") // breaker.HalfOpen()
      const published = yield* record(breaker)
      // Deliberate difference: Go records 2 failures and 3 successes in one half-open window of 5 and closes; in Sturdy
      // each failed probe reopens the breaker, and the 3 successes close it after the next pause
      yield* onError(breaker)
      expect(yield* breaker.state).toBe("Open")
      yield* TestClock.adjust("1 minute")
      yield* onError(breaker)
      expect(yield* breaker.state).toBe("Open")
      yield* TestClock.adjust("1 minute")
      yield* onSuccess(breaker)
      yield* onSuccess(breaker)
      expect(yield* breaker.state).toBe("HalfOpen")
      yield* onSuccess(breaker)
      yield* settle
      expect(yield* breaker.state).toBe("Closed")
      expect(published.filter((c) => c.endsWith("->Closed"))).toEqual(["HalfOpen->Closed"]) // called
      expect(published).toEqual([
        "Open->HalfOpen",
        "HalfOpen->Open",
        "Open->HalfOpen",
        "HalfOpen->Open",
        "Open->HalfOpen",
        "HalfOpen->Closed"
      ])
    }))
})
