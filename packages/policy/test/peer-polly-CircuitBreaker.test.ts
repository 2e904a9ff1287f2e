// Ported from Polly v8's test/Polly.Core.Tests/CircuitBreaker/Controller/CircuitStateControllerTests.cs,
// Controller/AdvancedCircuitBehaviorTests.cs, Health/RollingHealthMetricsTests.cs and
// CircuitBreakerManualControlTests.cs (App-vNext/Polly), one `it` per Polly case (a [Theory] as one `it` over its
// rows), named after it.
// Mapping: Polly's controller is driven by a mocked `CircuitBehavior` whose `OnActionFailure` says "break"; here a
// breaker with `consecutiveFailures: 1` breaks on the first counted failure, and the rate cases use
// `failureRateThreshold` (Polly's `FailureRatio`), `minimumThroughput` and `slidingWindow` (`SamplingDuration`).
// Polly's `BreakDuration` (default 5 s) is `breakDuration`, its `BreakDurationGenerator` a `Schedule`;
// `BrokenCircuitException` and `IsolatedCircuitException` are `CircuitOpen` (`reason: "Isolated"` for the latter),
// `RetryAfter` is `retryAfter` (`Duration.infinity` where Polly's is null, for an isolated circuit);
// `IsolateCircuitAsync`/`CloseCircuitAsync` are `isolate`/`reset`; `OnOpened`/`OnClosed`/`OnHalfOpened` are
// transitions on `subscribe`; `HealthInfo` (throughput, failure count) is `snapshot`'s `calls`/`failures`.
// Deliberate differences: Polly's `CircuitState.Isolated` is a fifth state; Sturdy reports an isolated breaker as
// `Open` with `snapshot.isolated` true. Polly's `BrokenCircuitException.InnerException` is the exception that broke
// the circuit; Sturdy's `CircuitOpen.lastFailure` names its `_tag` and status only (no message or payload).
// Not ported (.NET mechanics): "Disposed_EnsureThrows", "OnActionFailure_EnsureLock" (thread locking),
// "ExecuteScheduledTask_Async_Ok", "OnActionFailureAsync_EnsureBreakDurationNotOverflow" (DateTimeOffset.MaxValue),
// the stack-trace half of "OnActionPreExecute_CircuitOpened_EnsureExceptionStackTraceDoesNotGrow" (ported: the
// message and retryAfter stay the same over 100 rejections), "OnActionFailureAsync_VoidResult_EnsureBreakingExceptionNotSet"
// (a void outcome), CircuitBreakerManualControlTests' registration/disposal cases (a manual control object shared by
// several pipelines: Sturdy's `isolate`/`reset` belong to the breaker itself; ported: "IsolateAsync_NotInitialized_Ok"
// and "ResetAsync_NotInitialized_Ok" as isolate/reset before any call), AdvancedCircuitBehavior's
// "OnActionFailure_State_EnsureCorrectCalls" and "BehaviorProperties_ShouldReflectHealthInfoValues" (calls on a mocked
// HealthMetrics object; ported as observable counts in "OnCircuitClosed_Ok" and the RollingHealthMetrics cases).
import { describe, expect, it } from "@effect/vitest"
import { CircuitBreaker } from "@sturdy/policy"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"

class InvalidOperation extends Data.TaggedError("InvalidOperation")<{}> {}

const breakDuration = Duration.seconds(5) // Polly's default BreakDuration

// A breaker that breaks on the first counted failure (Polly's mocked behaviour answering shouldBreak = true), with
// its transitions recorded.
const makeController = (options?: CircuitBreaker.Options) =>
  Effect.gen(function*() {
    const breaker = yield* CircuitBreaker.make("polly", { consecutiveFailures: 1, breakDuration, ...options })
    const changes: Array<CircuitBreaker.StateChange> = []
    yield* Effect.forkScoped(Stream.runForEach(yield* breaker.subscribe, (c) => Effect.sync(() => changes.push(c))))
    const settle = Effect.repeatN(Effect.yieldNow(), 10)
    return {
      breaker,
      changes: Effect.as(settle, changes),
      execute: <A, E>(self: Effect.Effect<A, E>) => CircuitBreaker.withBreaker(self, breaker)
    }
  })

type Controller = Effect.Effect.Success<ReturnType<typeof makeController>>

const openCircuit = (c: Controller, failure: unknown = new InvalidOperation()) =>
  Effect.flip(c.execute(Effect.fail(failure)))

const rejection = (c: Controller) =>
  Effect.map(Effect.flip(c.execute(Effect.succeed(0))), (e) => {
    expect(CircuitBreaker.isCircuitOpen(e)).toBe(true)
    return e as CircuitBreaker.CircuitOpen
  })

// Polly's TransitionToState(HalfOpen): open the circuit, wait the break duration, start a probe (left in flight)
const toHalfOpen = (c: Controller, probe: Effect.Effect<number, unknown>) =>
  Effect.gen(function*() {
    yield* openCircuit(c)
    yield* TestClock.adjust(breakDuration)
    const fiber = yield* Effect.fork(c.execute(probe))
    yield* Effect.repeatN(Effect.yieldNow(), 5)
    expect(yield* c.breaker.state).toBe("HalfOpen")
    return fiber
  })

describe("peer Polly CircuitStateControllerTests", () => {
  it.scoped("Ctor_EnsureDefaults", () =>
    Effect.gen(function*() {
      const c = yield* makeController()
      expect(yield* c.breaker.state).toBe("Closed")
      const snapshot = yield* c.breaker.snapshot
      expect(snapshot.isolated).toBe(false)
      expect(snapshot.failures).toBe(0)
      expect(snapshot.calls).toBe(0)
    }))

  it.scoped("IsolateAsync_Ok", () =>
    Effect.gen(function*() {
      yield* TestClock.adjust("1 second")
      const c = yield* makeController()
      yield* c.breaker.isolate
      // Polly's CircuitState.Isolated: Sturdy reports Open, isolated
      expect(yield* c.breaker.state).toBe("Open")
      expect((yield* c.breaker.snapshot).isolated).toBe(true)
      const changes = yield* c.changes
      expect(changes.map((x) => [x.from, x.to])).toEqual([["Closed", "Open"]])

      let calls = 0
      const rejected = yield* Effect.flip(c.execute(Effect.sync(() => calls++)))
      expect(CircuitBreaker.isCircuitOpen(rejected) && rejected.reason).toBe("Isolated")
      // Polly: IsolatedCircuitException.RetryAfter is null; Sturdy: an infinite wait
      expect(CircuitBreaker.isCircuitOpen(rejected) && Duration.isZero(rejected.retryAfter)).toBe(false)
      expect(CircuitBreaker.isCircuitOpen(rejected) && Duration.toMillis(rejected.retryAfter)).toBe(Infinity)
      expect(calls).toBe(0)

      // now close it
      yield* c.breaker.reset
      expect(yield* c.execute(Effect.succeed(1))).toBe(1)
      expect(yield* c.breaker.state).toBe("Closed")
      expect((yield* c.changes).map((x) => [x.from, x.to])).toEqual([["Closed", "Open"], ["Open", "Closed"]])
    }))

  // Polly's name; it closes an isolated circuit by hand
  it.scoped("BreakAsync_Ok", () =>
    Effect.gen(function*() {
      yield* TestClock.adjust("1 second")
      const c = yield* makeController()
      yield* c.breaker.isolate
      yield* c.breaker.reset
      expect(yield* c.breaker.state).toBe("Closed")
      expect((yield* c.breaker.snapshot).isolated).toBe(false)
      expect((yield* c.changes).at(-1)?.to).toBe("Closed")
      expect(yield* c.execute(Effect.succeed("ok"))).toBe("ok")
    }))

  it.scoped("OnActionPreExecute_CircuitOpenedByValue", () =>
    Effect.gen(function*() {
      const c = yield* makeController()
      // a "value" that is handled: a typed failure carrying a status, as an HTTP response would
      yield* openCircuit(c, { _tag: "Handled", status: 99 })
      const e = yield* rejection(c)
      expect(Duration.toMillis(e.retryAfter)).toBe(Duration.toMillis(breakDuration))
      expect(e.lastFailure).toEqual({ tag: "Handled", status: 99 })
    }))

  it.scoped("OnActionPreExecute_CircuitOpened_EnsureExceptionStackTraceDoesNotGrow", () =>
    Effect.gen(function*() {
      for (const byException of [true, false]) {
        const c = yield* makeController()
        yield* openCircuit(c, byException ? new InvalidOperation() : { _tag: "Handled", status: 99 })
        const messages = new Set<string>()
        for (let i = 0; i < 100; i++) {
          const e = yield* rejection(c)
          messages.add(e.message)
          expect(Duration.toMillis(e.retryAfter)).toBe(5_000)
          expect(e.lastFailure?.tag).toBe(byException ? "InvalidOperation" : "Handled")
        }
        expect(messages.size).toBe(1)
      }
    }))

  // Polly: once half-open (a probe in flight), the circuit is blocked for another break duration
  it.scoped("HalfOpen_EnsureBreakDuration", () =>
    Effect.gen(function*() {
      const c = yield* makeController()
      yield* toHalfOpen(c, Effect.never)
      const e = yield* rejection(c)
      expect(Duration.toMillis(e.retryAfter)).toBeGreaterThan(0)
      expect(Duration.toMillis(e.retryAfter)).toBeLessThanOrEqual(Duration.toMillis(breakDuration))
    }))

  it.scoped("HalfOpen_EnsureCorrectStateTransitionAfterExecution", () =>
    Effect.gen(function*() {
      for (const success of [true, false]) {
        const c = yield* makeController()
        const probe = yield* toHalfOpen(
          c,
          Effect.zipRight(Effect.sleep("10 millis"), success ? Effect.succeed(0) : Effect.fail(new InvalidOperation()))
        )
        yield* TestClock.adjust("10 millis")
        yield* Fiber.await(probe)
        expect(yield* c.breaker.state).toBe(success ? "Closed" : "Open")
      }
    }))

  it.scoped("OnActionPreExecute_CircuitOpenedByException", () =>
    Effect.gen(function*() {
      const c = yield* makeController()
      yield* openCircuit(c, new InvalidOperation())
      const e = yield* rejection(c)
      // Polly: InnerException is the InvalidOperationException; Sturdy names its tag
      expect(e.lastFailure?.tag).toBe("InvalidOperation")
      expect(e.reason).toBe("ConsecutiveFailures")
      expect(Duration.toMillis(e.retryAfter)).toBe(5_000)
    }))

  it.scoped("OnActionPreExecute_HalfOpen", () =>
    Effect.gen(function*() {
      const c = yield* makeController()
      yield* toHalfOpen(c, Effect.never)
      // a second call while the probe is in flight is rejected
      yield* rejection(c)
      expect(yield* c.breaker.state).toBe("HalfOpen")
      expect((yield* c.changes).filter((x) => x.to === "HalfOpen")).toHaveLength(1)
    }))

  it.scoped("OnActionSuccess_EnsureCorrectBehavior", () =>
    Effect.gen(function*() {
      // HalfOpen → Closed
      const halfOpen = yield* makeController()
      const probe = yield* toHalfOpen(halfOpen, Effect.as(Effect.sleep("10 millis"), 10))
      yield* TestClock.adjust("10 millis")
      expect(yield* Fiber.join(probe)).toBe(10)
      expect(yield* halfOpen.breaker.state).toBe("Closed")
      expect((yield* halfOpen.changes).at(-1)).toMatchObject({ from: "HalfOpen", to: "Closed" })

      // Isolated → Isolated: a call already in flight when the circuit was isolated succeeds; it stays isolated
      const isolated = yield* makeController()
      const inFlight = yield* Effect.fork(isolated.execute(Effect.as(Effect.sleep("10 millis"), 10)))
      yield* Effect.repeatN(Effect.yieldNow(), 5)
      yield* isolated.breaker.isolate
      yield* TestClock.adjust("10 millis")
      expect(yield* Fiber.join(inFlight)).toBe(10)
      expect((yield* isolated.breaker.snapshot).isolated).toBe(true)
      expect(yield* isolated.breaker.state).toBe("Open")

      // Closed → Closed
      const closed = yield* makeController()
      expect(yield* closed.execute(Effect.succeed(10))).toBe(10)
      expect(yield* closed.breaker.state).toBe("Closed")
    }))

  it.scoped("OnActionFailureAsync_EnsureCorrectBehavior", () =>
    Effect.gen(function*() {
      const slowFailure = Effect.zipRight(Effect.sleep("10 millis"), Effect.fail(new InvalidOperation()))

      // HalfOpen, break → Open
      const halfOpen = yield* makeController()
      const probe = yield* toHalfOpen(halfOpen, slowFailure)
      yield* TestClock.adjust("10 millis")
      yield* Fiber.await(probe)
      expect(yield* halfOpen.breaker.state).toBe("Open")

      // Closed, break → Open
      const closed = yield* makeController()
      yield* openCircuit(closed)
      expect(yield* closed.breaker.state).toBe("Open")

      // Closed, no break → Closed
      const tolerant = yield* makeController({ consecutiveFailures: 2 })
      yield* openCircuit(tolerant)
      expect(yield* tolerant.breaker.state).toBe("Closed")

      // Open → Open: a call in flight when the circuit opened fails afterwards; no second opening
      const open = yield* makeController()
      const late = yield* Effect.fork(open.execute(slowFailure))
      yield* Effect.repeatN(Effect.yieldNow(), 5)
      yield* openCircuit(open)
      yield* TestClock.adjust("10 millis")
      yield* Fiber.await(late)
      expect(yield* open.breaker.state).toBe("Open")
      expect((yield* open.changes).filter((x) => x.to === "Open")).toHaveLength(1)
      expect(Duration.toMillis((yield* rejection(open)).retryAfter)).toBe(5_000 - 10)

      // Isolated → Isolated
      const isolated = yield* makeController()
      const inFlight = yield* Effect.fork(isolated.execute(slowFailure))
      yield* Effect.repeatN(Effect.yieldNow(), 5)
      yield* isolated.breaker.isolate
      yield* TestClock.adjust("10 millis")
      yield* Fiber.await(inFlight)
      expect((yield* isolated.breaker.snapshot).isolated).toBe(true)
      expect((yield* rejection(isolated)).reason).toBe("Isolated")
      yield* TestClock.adjust("1 hour")
      expect((yield* rejection(isolated)).reason).toBe("Isolated")
    }))

  it.scoped("OnActionFailureAsync_EnsureBreakDurationGeneration", () =>
    Effect.gen(function*() {
      const inputs: Array<unknown> = []
      const c = yield* makeController({
        breakDuration: Schedule.spaced("42 minutes").pipe(
          Schedule.tapInput((input) => Effect.sync(() => inputs.push(input)))
        )
      })
      yield* openCircuit(c)
      expect(inputs).toHaveLength(1)
      expect(inputs[0]).toBeInstanceOf(InvalidOperation)
      expect(Duration.toMillis((yield* rejection(c)).retryAfter)).toBe(42 * 60_000)
    }))

  // Polly's generator sees HalfOpenAttempts 0..4, then 0..2 after the circuit closed. Sturdy steps the schedule on
  // every opening and restarts it when the breaker closes: an exponential schedule gives 1, 2, 4, 8, 16 s, then 1, 2,
  // 4 s again.
  it.scoped("BreakDurationGenerator_EnsureHalfOpenAttempts", () =>
    Effect.gen(function*() {
      const c = yield* makeController({ breakDuration: Schedule.exponential("1 second") })
      const pauses: Array<number> = []
      const openAndProbe = (probe: Effect.Effect<number, InvalidOperation>) =>
        Effect.gen(function*() {
          const pause = (yield* rejection(c)).retryAfter
          pauses.push(Duration.toSeconds(pause))
          yield* TestClock.adjust(pause)
          yield* Effect.either(c.execute(probe))
        })
      yield* openCircuit(c)
      for (let i = 0; i < 4; i++) yield* openAndProbe(Effect.fail(new InvalidOperation()))
      yield* openAndProbe(Effect.succeed(0))
      expect(yield* c.breaker.state).toBe("Closed")
      yield* openCircuit(c)
      for (let i = 0; i < 2; i++) yield* openAndProbe(Effect.fail(new InvalidOperation()))
      yield* openAndProbe(Effect.succeed(0))
      expect(pauses).toEqual([1, 2, 4, 8, 16, 1, 2, 4])
    }))

  it.scoped("Flow_Closed_HalfOpen_Closed", () =>
    Effect.gen(function*() {
      const c = yield* makeController()
      const probe = yield* toHalfOpen(c, Effect.as(Effect.sleep("1 millis"), 0))
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(probe)
      expect(yield* c.breaker.state).toBe("Closed")
    }))

  it.scoped("Flow_Closed_HalfOpen_Open_HalfOpen_Closed", () =>
    Effect.gen(function*() {
      const c = yield* makeController()
      const probe = yield* toHalfOpen(c, Effect.zipRight(Effect.sleep("1 millis"), Effect.fail(new InvalidOperation())))
      yield* TestClock.adjust("1 millis")
      yield* Fiber.await(probe)
      expect(yield* c.breaker.state).toBe("Open")

      // execution rejected
      yield* TestClock.adjust("1 millis")
      const e = yield* rejection(c)
      expect(Duration.toMillis(e.retryAfter)).toBe(Duration.toMillis(breakDuration) - 1)

      // wait and try, transition to half open
      yield* TestClock.adjust(Duration.times(breakDuration, 2))
      const second = yield* Effect.fork(c.execute(Effect.as(Effect.sleep("1 millis"), 0)))
      yield* Effect.repeatN(Effect.yieldNow(), 5)
      expect(yield* c.breaker.state).toBe("HalfOpen")

      // close circuit
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(second)
      expect(yield* c.breaker.state).toBe("Closed")
      expect((yield* c.changes).map((x) => x.to)).toEqual(["Open", "HalfOpen", "Open", "HalfOpen", "Closed"])
    }))
})

describe("peer Polly AdvancedCircuitBehaviorTests", () => {
  // [throughput, minimumThroughput, failures, failureThreshold, expectedShouldBreak]: the last call is a failure, the
  // others' failures come first. Polly breaks when throughput ≥ minimum and failure rate ≥ threshold.
  const rows: ReadonlyArray<readonly [number, number, number, number, boolean]> = [
    [10, 10, 0, 0.1, false],
    [10, 10, 1, 0.1, true],
    [10, 10, 2, 0.1, true],
    [11, 10, 2, 0.1, true],
    [9, 10, 1, 0.1, false]
  ]
  it.scoped("OnActionFailure_WhenClosed_EnsureCorrectBehavior", () =>
    Effect.gen(function*() {
      for (const [throughput, minimumThroughput, failures, failureRateThreshold, expected] of rows) {
        const breaker = yield* CircuitBreaker.make("polly", {
          failureRateThreshold,
          minimumThroughput,
          slidingWindow: "30 seconds"
        })
        for (let i = 0; i < throughput; i++) {
          const fails = i >= throughput - failures
          yield* Effect.either(CircuitBreaker.withBreaker(fails ? Effect.fail("boom") : Effect.succeed(i), breaker))
        }
        expect([throughput, failures, yield* breaker.state]).toEqual([
          throughput,
          failures,
          expected ? "Open" : "Closed"
        ])
      }
    }))

  // Polly: closing the circuit resets the health metrics. The failures that opened the breaker are forgotten: after
  // it closes, the rate is judged again only once minimumThroughput new calls were made.
  it.scoped("OnCircuitClosed_Ok", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make("polly", {
        failureRateThreshold: 0.1,
        minimumThroughput: 10,
        slidingWindow: "30 seconds",
        breakDuration: "5 seconds"
      })
      const fail = Effect.either(CircuitBreaker.withBreaker(Effect.fail("boom"), breaker))
      for (let i = 0; i < 10; i++) yield* fail
      expect(yield* breaker.state).toBe("Open")
      yield* TestClock.adjust("5 seconds")
      yield* CircuitBreaker.withBreaker(Effect.void, breaker)
      expect(yield* breaker.state).toBe("Closed")
      expect((yield* breaker.snapshot).calls).toBe(0)
      for (let i = 0; i < 9; i++) yield* fail
      expect(yield* breaker.state).toBe("Closed")
      yield* fail
      expect(yield* breaker.state).toBe("Open")
    }))
})

describe("peer Polly RollingHealthMetricsTests", () => {
  // Polly's RollingHealthMetrics(samplingDuration 10 s, 10 windows), read through a breaker that never opens
  const makeMetrics = Effect.gen(function*() {
    const breaker = yield* CircuitBreaker.make("polly", {
      failureRateThreshold: 1,
      minimumThroughput: 1_000,
      slidingWindow: "10 seconds"
    })
    return {
      breaker,
      success: CircuitBreaker.withBreaker(Effect.void, breaker),
      failure: Effect.either(CircuitBreaker.withBreaker(Effect.fail("boom"), breaker)),
      health: Effect.map(breaker.snapshot, (s) => ({ throughput: s.calls, failures: s.failures }))
    }
  })

  it.scoped("Ctor_EnsureDefaults", () =>
    Effect.gen(function*() {
      const m = yield* makeMetrics
      expect(yield* m.health).toEqual({ throughput: 0, failures: 0 })
    }))

  it.scoped("Increment_Ok", () =>
    Effect.gen(function*() {
      const m = yield* makeMetrics
      yield* m.failure
      for (let i = 0; i < 4; i++) yield* m.success
      const h = yield* m.health
      expect(h).toEqual({ throughput: 5, failures: 1 })
      expect(h.failures / h.throughput).toBe(0.2)
    }))

  it.scoped("GetHealthInfo_EnsureWindowRespected", () =>
    Effect.gen(function*() {
      const m = yield* makeMetrics
      const health: Array<{ throughput: number; failures: number }> = []
      for (let i = 0; i < 5; i++) {
        yield* i < 2 ? m.failure : m.success
        yield* m.success
        yield* TestClock.adjust("2 seconds")
        health.push(yield* m.health)
      }
      yield* TestClock.adjust("2 seconds")
      health.push(yield* m.health)
      expect(health[0]).toEqual({ throughput: 2, failures: 1 })
      expect(health[1]).toEqual({ throughput: 4, failures: 2 })
      expect(health[3]).toEqual({ throughput: 8, failures: 2 })
      expect(health[4]).toEqual({ throughput: 8, failures: 1 })
      expect(health[5]).toEqual({ throughput: 6, failures: 0 })
    }))

  it.scoped("GetHealthInfo_EnsureWindowCapacityRespected", () =>
    Effect.gen(function*() {
      const m = yield* makeMetrics
      for (let i = 0; i < 10; i++) {
        yield* m.success
        yield* TestClock.adjust("1 second")
      }
      expect((yield* m.health).throughput).toBe(9)
      yield* TestClock.adjust("1 second")
      expect((yield* m.health).throughput).toBe(8)
    }))

  it.scoped("Reset_Ok", () =>
    Effect.gen(function*() {
      const m = yield* makeMetrics
      yield* m.success
      yield* m.breaker.reset
      expect((yield* m.health).throughput).toBe(0)
    }))

  it.scoped("GetHealthInfo_SamplingDurationRespected", () =>
    Effect.gen(function*() {
      for (const variance of [true, false]) {
        const m = yield* makeMetrics
        yield* m.success
        yield* m.success
        yield* TestClock.adjust(variance ? "10001 millis" : "10 seconds")
        expect(yield* m.health).toEqual({ throughput: 0, failures: 0 })
      }
    }))
})

describe("peer Polly CircuitBreakerManualControlTests", () => {
  it.scoped("IsolateAsync_NotInitialized_Ok", () =>
    Effect.gen(function*() {
      for (const closedAfter of [true, false]) {
        const c = yield* makeController()
        yield* c.breaker.isolate
        expect((yield* rejection(c)).reason).toBe("Isolated")
        if (closedAfter) {
          yield* c.breaker.reset
          expect(yield* c.execute(Effect.succeed("ok"))).toBe("ok")
        }
        expect(yield* c.breaker.state).toBe(closedAfter ? "Closed" : "Open")
      }
    }))

  it.scoped("ResetAsync_NotInitialized_Ok", () =>
    Effect.gen(function*() {
      const c = yield* makeController()
      yield* c.breaker.reset
      expect(yield* c.breaker.state).toBe("Closed")
      expect(yield* c.execute(Effect.succeed("ok"))).toBe("ok")
    }))

  // Polly: a manual reset of a circuit the upstream opened closes it at once
  it.scoped("ResetAsync_OpenCircuit_Closes", () =>
    Effect.gen(function*() {
      const c = yield* makeController()
      yield* openCircuit(c)
      expect(yield* c.breaker.state).toBe("Open")
      yield* c.breaker.reset
      expect(yield* c.breaker.state).toBe("Closed")
      expect(yield* c.execute(Effect.succeed("ok"))).toBe("ok")
    }))
})

// test/Polly.Core.Tests/Issues/IssuesTests.CircuitBreakerStateSharing_959.cs: one breaker guards calls of different
// result types; failures of both open it, calls of both are rejected, and both go through after the break.
describe("peer Polly IssuesTests", () => {
  it.scoped("CircuitBreakerStateSharing_959", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make("polly", {
        failureRateThreshold: 1,
        minimumThroughput: 10,
        breakDuration: "5 seconds"
      })
      for (let i = 0; i < 5; i++) {
        yield* Effect.flip(CircuitBreaker.withBreaker(Effect.fail(-1), breaker))
        yield* Effect.flip(CircuitBreaker.withBreaker(Effect.fail("error"), breaker))
      }
      expect(CircuitBreaker.isCircuitOpen(yield* Effect.flip(CircuitBreaker.withBreaker(Effect.succeed(0), breaker))))
        .toBe(true)
      expect(
        CircuitBreaker.isCircuitOpen(yield* Effect.flip(CircuitBreaker.withBreaker(Effect.succeed("valid"), breaker)))
      ).toBe(true)
      yield* TestClock.adjust("5 seconds")
      expect(yield* CircuitBreaker.withBreaker(Effect.succeed(0), breaker)).toBe(0)
      expect(yield* CircuitBreaker.withBreaker(Effect.succeed("valid-result"), breaker)).toBe("valid-result")
    }))
})

// test/Polly.Core.Tests/CircuitBreaker/CircuitBreakerResilienceStrategyTests.cs: a handled outcome is a failure of the
// breaker, an unhandled one a success (its own outcome returned unchanged). `ShouldHandle` is `isFailure`; the counts
// are `snapshot`'s (a rate breaker that does not open on these few calls).
describe("peer Polly CircuitBreakerResilienceStrategyTests", () => {
  class ArgumentError extends Data.TaggedError("ArgumentError")<{}> {}
  const makeStrategy = CircuitBreaker.make("polly", {
    failureRateThreshold: 0.5,
    minimumThroughput: 100,
    isFailure: (e) => e instanceof InvalidOperation || e === -1
  })
  const counts = (breaker: CircuitBreaker.CircuitBreaker) =>
    Effect.map(breaker.snapshot, (s) => ({ calls: s.calls, failures: s.failures }))

  it.scoped("Ctor_ManualControl_EnsureAttached", () =>
    Effect.gen(function*() {
      const breaker = yield* makeStrategy
      yield* breaker.isolate
      const rejected = yield* Effect.flip(CircuitBreaker.withBreaker(Effect.succeed(0), breaker))
      expect(CircuitBreaker.isCircuitOpen(rejected) && rejected.reason).toBe("Isolated")
      expect(CircuitBreaker.isCircuitOpen(rejected) && Duration.isFinite(rejected.retryAfter)).toBe(false)
      yield* breaker.reset
      expect(yield* CircuitBreaker.withBreaker(Effect.succeed(0), breaker)).toBe(0)
    }))

  it.scoped("Execute_HandledResult_OnFailureCalled", () =>
    Effect.gen(function*() {
      const breaker = yield* makeStrategy
      expect(yield* Effect.flip(CircuitBreaker.withBreaker(Effect.fail(-1), breaker))).toBe(-1)
      expect(yield* counts(breaker)).toEqual({ calls: 1, failures: 1 })
    }))

  it.scoped("Execute_UnhandledResult_OnActionSuccess", () =>
    Effect.gen(function*() {
      const breaker = yield* makeStrategy
      expect(yield* CircuitBreaker.withBreaker(Effect.succeed(0), breaker)).toBe(0)
      expect(yield* Effect.flip(CircuitBreaker.withBreaker(Effect.fail(1), breaker))).toBe(1)
      expect(yield* counts(breaker)).toEqual({ calls: 2, failures: 0 })
    }))

  it.scoped("Execute_HandledException_OnFailureCalled", () =>
    Effect.gen(function*() {
      const breaker = yield* makeStrategy
      expect(yield* Effect.flip(CircuitBreaker.withBreaker(Effect.fail(new InvalidOperation()), breaker)))
        .toBeInstanceOf(
          InvalidOperation
        )
      expect(yield* counts(breaker)).toEqual({ calls: 1, failures: 1 })
    }))

  it.scoped("Execute_UnhandledException_OnActionSuccess", () =>
    Effect.gen(function*() {
      const breaker = yield* makeStrategy
      expect(yield* Effect.flip(CircuitBreaker.withBreaker(Effect.fail(new ArgumentError()), breaker))).toBeInstanceOf(
        ArgumentError
      )
      expect(yield* counts(breaker)).toEqual({ calls: 1, failures: 0 })
    }))
})
