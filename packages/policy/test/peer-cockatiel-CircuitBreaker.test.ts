// Ported from cockatiel's src/CircuitBreakerPolicy.test.ts and src/breaker/{ConsecutiveBreaker,SamplingBreaker}.test.ts
// (connor4312/cockatiel), one `it` per cockatiel case, named after it.
// Mapping: `circuitBreaker(handleType(MyException), { halfOpenAfter: 1000, breaker: new ConsecutiveBreaker(2) })` is
// `CircuitBreaker.make(key, { breakDuration: "1 second", consecutiveFailures: 2, isFailure })`; a cockatiel
// `IBackoffFactory` for `halfOpenAfter` is a `Schedule`; `SamplingBreaker({ threshold, duration, minimumRps })` is
// `{ failureRateThreshold: threshold, slidingWindow: duration, minimumThroughput: minimumRps × duration }`;
// `onBreak`/`onReset`/`onHalfOpen` are transitions to Open/Closed/HalfOpen on `subscribe`; `BrokenCircuitError` and
// `IsolatedCircuitError` are `CircuitOpen` (reason "Isolated" for the latter); an AbortSignal is interruption.
// Deliberate differences (each test below says which): a call that finds every half-open probe slot taken is
// rejected with `CircuitOpen` (as resilience4j and Polly do) where cockatiel queues it behind the probe; one failed
// probe re-opens the breaker (Polly, Failsafe) where cockatiel's `halfOpenSampling` judges a ratio over N probes;
// `isolate` is not reference-counted (one `reset` ends it); a failure rate equal to the threshold opens the breaker
// (resilience4j, Polly: `>=`) where cockatiel's SamplingBreaker needs more than the threshold.
// Not ported: "state restoration" (toJSON/initialState; Sturdy shares state through `CircuitBreakerStore` instead),
// SamplingBreaker's "creates good initial params"/"creates initial params for small durations"/"creates guess for
// rpms"/"increments and wraps buckets correctly"/"serializes and deserializes" and ConsecutiveBreaker's
// "serializes and deserializes" (they read private fields of cockatiel's breaker objects), and CountBreaker (Sturdy
// has no count-based window: its rate is judged over a time window only).
import { describe, expect, it } from "@effect/vitest"
import { CircuitBreaker } from "@sturdy/policy"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"

class MyException extends Error {}

const isMyException = (e: unknown) => e instanceof MyException

// the breaker of cockatiel's beforeEach, with its onBreak/onReset/onHalfOpen counters
const makeBreaker = (options?: CircuitBreaker.Options) =>
  Effect.gen(function*() {
    const breaker = yield* CircuitBreaker.make("cockatiel", {
      breakDuration: "1 second",
      consecutiveFailures: 2,
      isFailure: isMyException,
      ...options
    })
    const changes: Array<CircuitBreaker.StateChange> = []
    yield* Effect.forkScoped(
      Stream.runForEach(yield* breaker.subscribe, (c) => Effect.sync(() => changes.push(c)))
    )
    const settle = Effect.repeatN(Effect.yieldNow(), 10)
    const count = (to: CircuitBreaker.State) =>
      Effect.zipRight(settle, Effect.sync(() => changes.filter((c) => c.to === to && c.from !== to).length))
    return {
      breaker,
      changes,
      onBreak: count("Open"),
      onReset: count("Closed"),
      onHalfOpen: count("HalfOpen"),
      execute: <A, E>(self: Effect.Effect<A, E>) => CircuitBreaker.withBreaker(self, breaker)
    }
  })

const failing = () => {
  const s: { calls: number; readonly call: Effect.Effect<never, MyException> } = {
    calls: 0,
    call: Effect.suspend(() => {
      s.calls++
      return Effect.fail(new MyException())
    })
  }
  return s
}

const openBreaker = (
  p: { execute: <A, E>(self: Effect.Effect<A, E>) => Effect.Effect<A, E | CircuitBreaker.CircuitOpen> }
) =>
  Effect.gen(function*() {
    const s = failing()
    expect(yield* Effect.flip(p.execute(s.call))).toBeInstanceOf(MyException)
    expect(yield* Effect.flip(p.execute(s.call))).toBeInstanceOf(MyException)
  })

// a call that takes `millis` of virtual time, then gives `value` (or fails with MyException)
const slow = <A>(millis: number, value: A) => Effect.as(Effect.sleep(Duration.millis(millis)), value)
const slowFailure = (millis: number) =>
  Effect.zipRight(Effect.sleep(Duration.millis(millis)), Effect.fail(new MyException()))

describe("peer cockatiel CircuitBreakerPolicy", () => {
  it.scoped("allows calls when open", () =>
    Effect.gen(function*() {
      // (cockatiel's name; the breaker is closed)
      const p = yield* makeBreaker()
      expect(yield* p.execute(Effect.succeed(42))).toBe(42)
    }))

  it.scoped("opens after failing calls", () =>
    Effect.gen(function*() {
      const p = yield* makeBreaker()
      const s = failing()

      expect(yield* Effect.flip(p.execute(s.call))).toBeInstanceOf(MyException)
      expect(yield* p.breaker.state).toBe("Closed")
      expect(yield* p.onBreak).toBe(0)

      expect(yield* Effect.flip(p.execute(s.call))).toBeInstanceOf(MyException)
      expect(yield* p.breaker.state).toBe("Open")
      expect(yield* p.onBreak).toBe(1)

      const rejected = yield* Effect.flip(p.execute(s.call))
      expect(CircuitBreaker.isCircuitOpen(rejected)).toBe(true)
      expect(yield* p.breaker.state).toBe("Open")

      // cockatiel's `lastFailure` holds the error; Sturdy's CircuitOpen names its kind only (no message or payload)
      expect(CircuitBreaker.isCircuitOpen(rejected) && rejected.lastFailure?.tag).toBe("Error")
      expect(CircuitBreaker.isCircuitOpen(rejected) && rejected.reason).toBe("ConsecutiveFailures")
      expect(yield* p.onBreak).toBe(1)
      expect(s.calls).toBe(2)
    }))

  it.scoped("closes if the half open test succeeds", () =>
    Effect.gen(function*() {
      const p = yield* makeBreaker()
      yield* openBreaker(p)

      yield* TestClock.adjust(1000)

      const result = yield* Effect.fork(p.execute(slow(1, 42)))
      expect(yield* p.breaker.state).toBe("HalfOpen")
      expect(yield* p.onHalfOpen).toBe(1)
      yield* TestClock.adjust(1)
      expect(yield* Fiber.join(result)).toBe(42)
      expect(yield* p.breaker.state).toBe("Closed")
      expect(yield* p.onReset).toBe(1)
    }))

  it.scoped("uses the given backof factory to decide whether to enter the half open state", () =>
    Effect.gen(function*() {
      // cockatiel's IterableBackoff([1000, 2000]): the last pause repeats
      const p = yield* makeBreaker({
        breakDuration: Schedule.union(Schedule.fromDelays("1 second", "2 seconds"), Schedule.spaced("2 seconds"))
      })
      yield* openBreaker(p)

      yield* TestClock.adjust(1000)

      const failedAttempt = yield* Effect.fork(p.execute(slowFailure(1)))
      expect(yield* p.breaker.state).toBe("HalfOpen")
      expect(yield* p.onHalfOpen).toBe(1)
      yield* TestClock.adjust(1)
      expect(yield* Effect.flip(Fiber.join(failedAttempt))).toBeInstanceOf(MyException)
      expect(yield* p.breaker.state).toBe("Open")

      yield* TestClock.adjust(1000)

      const s = failing()
      expect(CircuitBreaker.isCircuitOpen(yield* Effect.flip(p.execute(s.call)))).toBe(true)
      expect(s.calls).toBe(0)

      yield* TestClock.adjust(1000)

      const result = yield* Effect.fork(p.execute(slow(1, 42)))
      expect(yield* p.breaker.state).toBe("HalfOpen")
      expect(yield* p.onHalfOpen).toBe(2)
      yield* TestClock.adjust(1)
      expect(yield* Fiber.join(result)).toBe(42)
      expect(yield* p.breaker.state).toBe("Closed")
      expect(yield* p.onReset).toBe(1)
    }))

  it.scoped("resets the backoff when closing the circuit", () =>
    Effect.gen(function*() {
      // cockatiel's MyBreaker: pause n on the n-th opening in a row (in ms); `attempt` is the opening's number, and
      // the schedule's input (cockatiel's `context.result`) is the error that opened the breaker
      const args: Array<{ duration: number; attempt: number }> = []
      const inputs: Array<unknown> = []
      const p = yield* makeBreaker({
        breakDuration: Schedule.unfold(1, (n) => n + 1).pipe(
          Schedule.addDelay((n) => Duration.millis(n)),
          Schedule.tapInput((input) => Effect.sync(() => inputs.push(input))),
          Schedule.tapOutput((n) => Effect.sync(() => args.push({ duration: n, attempt: n })))
        )
      })

      yield* openBreaker(p)

      expect(args).toEqual([{ duration: 1, attempt: 1 }])
      yield* TestClock.adjust(args.pop()!.duration)

      expect(yield* Effect.flip(p.execute(failing().call))).toBeInstanceOf(MyException)
      expect(args).toEqual([{ duration: 2, attempt: 2 }])
      yield* TestClock.adjust(args.pop()!.duration)

      expect(yield* p.execute(Effect.succeed(42))).toBe(42)
      expect(args).toEqual([])

      yield* openBreaker(p)

      expect(args).toEqual([{ duration: 1, attempt: 1 }])
      yield* TestClock.adjust(args.pop()!.duration)

      expect(yield* p.execute(Effect.succeed(42))).toBe(42)
      expect(args).toEqual([])
      expect(inputs.length).toBe(3)
      for (const input of inputs) expect(input).toBeInstanceOf(MyException)
    }))

  // Deliberate difference: cockatiel queues b behind the half-open test a and runs it once a closed the breaker;
  // Sturdy (as resilience4j and Polly) rejects b at once with CircuitOpen (b never runs), and the test a closes it.
  it.scoped("dedupes half-open tests", () =>
    Effect.gen(function*() {
      const p = yield* makeBreaker()
      yield* openBreaker(p)
      yield* TestClock.adjust(1000)

      let aReturned = false
      let bCalled = false
      const a = Effect.zipRight(Effect.sleep("10 millis"), Effect.sync(() => (aReturned = true, 1)))
      const b = Effect.sync(() => (bCalled = true, 2))

      const todoA = yield* Effect.fork(p.execute(a))
      const todoB = yield* Effect.fork(p.execute(b))

      yield* TestClock.adjust(10)

      expect(yield* Fiber.join(todoA)).toBe(1)
      const rejected = yield* Effect.flip(Fiber.join(todoB))
      expect(CircuitBreaker.isCircuitOpen(rejected)).toBe(true)
      expect(aReturned).toBe(true)
      expect(bCalled).toBe(false)
      expect(yield* p.breaker.state).toBe("Closed")
      // the next call runs
      expect(yield* p.execute(b)).toBe(2)
    }))

  // Deliberate difference: cockatiel's `halfOpenSampling: { calls: 10, threshold: 0.3 }` closes after 10 probes with
  // at most 30 % failed (3 failures, 7 successes). Sturdy closes after `successThreshold` successful probes, and the
  // first failed probe re-opens the breaker (Polly, Failsafe): 7 successes close it; the failures are shown in the
  // next case.
  it.scoped("samples multiple half-open calls before closing", () =>
    Effect.gen(function*() {
      const p = yield* makeBreaker({ successThreshold: 7, halfOpenMaxProbes: 10 })
      yield* openBreaker(p)
      yield* TestClock.adjust(1000)

      for (let i = 0; i < 6; i++) {
        expect(yield* p.execute(Effect.succeed(42))).toBe(42)
        expect(yield* p.breaker.state).toBe("HalfOpen")
      }

      expect(yield* p.execute(Effect.succeed(42))).toBe(42)
      expect(yield* p.breaker.state).toBe("Closed")
      expect(yield* p.onHalfOpen).toBe(1)
      expect(yield* p.onReset).toBe(1)
    }))

  // Deliberate difference (see above): cockatiel stays half-open through 3 failed probes of 10 and re-opens on the
  // 4th; Sturdy re-opens on the first failed probe.
  it.scoped("re-opens when the half-open sample exceeds the failure threshold", () =>
    Effect.gen(function*() {
      const p = yield* makeBreaker({ successThreshold: 7, halfOpenMaxProbes: 10 })
      yield* openBreaker(p)
      yield* TestClock.adjust(1000)

      for (let i = 0; i < 3; i++) {
        expect(yield* p.execute(Effect.succeed(42))).toBe(42)
        expect(yield* p.breaker.state).toBe("HalfOpen")
      }

      expect(yield* Effect.flip(p.execute(failing().call))).toBeInstanceOf(MyException)
      expect(yield* p.breaker.state).toBe("Open")
      expect(yield* p.onHalfOpen).toBe(1)
    }))

  // Deliberate difference: with two probe slots both taken, cockatiel queues c and runs it after; Sturdy rejects it
  // with CircuitOpen, and the two probes close the breaker.
  it.scoped("queues calls once the half-open sample is full", () =>
    Effect.gen(function*() {
      const p = yield* makeBreaker({ successThreshold: 2, halfOpenMaxProbes: 2 })
      yield* openBreaker(p)
      yield* TestClock.adjust(1000)

      let cCalls = 0
      const a = yield* Effect.fork(p.execute(slow(10, 1)))
      const b = yield* Effect.fork(p.execute(slow(10, 2)))
      const c = yield* Effect.fork(p.execute(Effect.sync(() => (cCalls++, 3))))

      yield* TestClock.adjust(10)

      expect(yield* Fiber.join(a)).toBe(1)
      expect(yield* Fiber.join(b)).toBe(2)
      expect(CircuitBreaker.isCircuitOpen(yield* Effect.flip(Fiber.join(c)))).toBe(true)
      expect(cCalls).toBe(0)
      expect(yield* p.breaker.state).toBe("Closed")
    }))

  it.effect("validates half-open sampling options", () =>
    Effect.gen(function*() {
      for (
        const options of [
          { halfOpenMaxProbes: 0 },
          { successThreshold: 0 },
          { halfOpenMaxProbes: Number.NaN },
          { successThreshold: Number.NaN },
          { halfOpenMaxProbes: 1.5 },
          { successThreshold: -1 }
        ]
      ) {
        const exit = yield* Effect.exit(Effect.scoped(CircuitBreaker.make("k", { consecutiveFailures: 2, ...options })))
        expect(Exit.isFailure(exit) && exit.cause._tag === "Die" && exit.cause.defect).toBeInstanceOf(RangeError)
      }
    }))

  it.scoped("stops deduped half-open tests if the circuit reopens", () =>
    Effect.gen(function*() {
      const p = yield* makeBreaker()
      yield* openBreaker(p)
      yield* TestClock.adjust(1000)

      let bCalled = false
      const a = yield* Effect.fork(p.execute(slowFailure(10)))
      const b = yield* Effect.fork(p.execute(Effect.sync(() => (bCalled = true))))

      yield* TestClock.adjust(10)

      expect(yield* Effect.flip(Fiber.join(a))).toBeInstanceOf(MyException)
      expect(CircuitBreaker.isCircuitOpen(yield* Effect.flip(Fiber.join(b)))).toBe(true)
      expect(bCalled).toBe(false)
      expect(yield* p.breaker.state).toBe("Open")
    }))

  it.scoped("re-opens if the half open fails", () =>
    Effect.gen(function*() {
      const p = yield* makeBreaker()
      yield* openBreaker(p)

      yield* TestClock.adjust(1000)

      expect(yield* Effect.flip(p.execute(failing().call))).toBeInstanceOf(MyException)
      expect(yield* p.breaker.state).toBe("Open")
    }))

  // Deliberate difference: cockatiel's `isolate()` returns a handle and the breaker stays isolated until every
  // handle is disposed; Sturdy's `isolate` holds the breaker open until one `reset`.
  it.scoped("handles isolation correctly", () =>
    Effect.gen(function*() {
      const p = yield* makeBreaker()
      yield* p.breaker.isolate
      expect(yield* p.onBreak).toBe(1)

      yield* p.breaker.isolate
      expect(yield* p.onBreak).toBe(1)

      expect(yield* p.breaker.state).toBe("Open")
      expect((yield* p.breaker.snapshot).isolated).toBe(true)
      const rejected = yield* Effect.flip(p.execute(Effect.succeed(42)))
      expect(CircuitBreaker.isCircuitOpen(rejected) && rejected.reason).toBe("Isolated")
      expect(CircuitBreaker.isCircuitOpen(rejected) && Duration.isFinite(rejected.retryAfter)).toBe(false)
      expect(yield* p.onReset).toBe(0)

      // isolation outlasts any pause
      yield* TestClock.adjust("1 hour")
      expect(CircuitBreaker.isCircuitOpen(yield* Effect.flip(p.execute(Effect.succeed(42))))).toBe(true)

      yield* p.breaker.reset
      expect(yield* p.breaker.state).toBe("Closed")
      expect(yield* p.onReset).toBe(1)

      expect(yield* p.execute(Effect.succeed(42))).toBe(42)
    }))

  // cockatiel links the caller's AbortSignal to the call's; in Effect the caller's interruption reaches the call,
  // and a call interrupted so says nothing about the upstream: it is not counted.
  it.scoped("links parent cancellation token", () =>
    Effect.gen(function*() {
      const p = yield* makeBreaker({ consecutiveFailures: 3, isFailure: undefined })
      const started = yield* Deferred.make<void>()
      let interrupted = false
      const call = yield* Effect.fork(
        p.execute(
          Effect.zipRight(Deferred.succeed(started, undefined), Effect.never).pipe(
            Effect.onInterrupt(() => Effect.sync(() => (interrupted = true)))
          )
        )
      )
      yield* Deferred.await(started)
      expect(Exit.isInterrupted(yield* Fiber.interrupt(call))).toBe(true)
      expect(interrupted).toBe(true)
      const snapshot = yield* p.breaker.snapshot
      expect([snapshot.state, snapshot.consecutiveFailures, snapshot.failures]).toEqual(["Closed", 0, 0])
    }))

  // cockatiel: a call queued behind the half-open test with an aborted signal fails with TaskCancelledError, and the
  // test closes the breaker. Sturdy rejects the second call at once (CircuitOpen; it never runs), and the test
  // closes the breaker with one reset.
  it.scoped("aborts function execution if half open test succeeds", () =>
    Effect.gen(function*() {
      const p = yield* makeBreaker()
      yield* openBreaker(p)

      yield* TestClock.adjust(1000)

      // half open test:
      const test = yield* Effect.fork(p.execute(slow(1, 42)))
      yield* Effect.yieldNow()

      // the second call:
      let called = false
      const second = yield* Effect.flip(p.execute(Effect.sync(() => (called = true))))
      expect(CircuitBreaker.isCircuitOpen(second)).toBe(true)
      expect(called).toBe(false)

      yield* TestClock.adjust(1)
      expect(yield* Fiber.join(test)).toBe(42)
      expect(yield* p.breaker.state).toBe("Closed")
      expect(yield* p.onReset).toBe(1)
    }))

  // cockatiel: a call made during the half-open test sees its own signal aborted. Sturdy: a call made while the
  // test is in flight is rejected and never runs; one interrupted while it is the test frees the probe slot and
  // leaves the breaker half-open, so the next call probes at once.
  it.scoped("respects signal cancellation when execute() is called during HalfOpen state", () =>
    Effect.gen(function*() {
      const p = yield* makeBreaker()
      yield* openBreaker(p)

      yield* TestClock.adjust(1000)

      const test = yield* Effect.fork(p.execute(Effect.never))
      yield* Effect.yieldNow()
      expect(CircuitBreaker.isCircuitOpen(yield* Effect.flip(p.execute(Effect.succeed("result"))))).toBe(true)
      yield* Fiber.interrupt(test)
      expect(yield* p.breaker.state).toBe("HalfOpen")
      expect(yield* p.execute(Effect.succeed("result"))).toBe("result")
      expect(yield* p.breaker.state).toBe("Closed")
    }))
})

describe("peer cockatiel ConsecutiveBreaker", () => {
  it.scoped("works", () =>
    Effect.gen(function*() {
      const p = yield* makeBreaker({ consecutiveFailures: 3 })
      const fail = Effect.flip(p.execute(failing().call))
      yield* fail
      yield* fail
      expect(yield* p.breaker.state).toBe("Closed")
      yield* fail
      expect(yield* p.breaker.state).toBe("Open")

      yield* p.breaker.reset
      yield* fail
      yield* fail
      expect(yield* p.execute(Effect.succeed(1))).toBe(1)
      // a success restarts the count
      yield* fail
      yield* fail
      expect(yield* p.breaker.state).toBe("Closed")
      yield* fail
      expect(yield* p.breaker.state).toBe("Open")
    }))
})

describe("peer cockatiel SamplingBreaker", () => {
  // cockatiel: SamplingBreaker({ threshold: 0.5, duration: 5_000, minimumRps: 3 }); 3 rps over 5 s = 15 calls
  const sampling = (options?: CircuitBreaker.Options) =>
    makeBreaker({
      consecutiveFailures: undefined,
      failureRateThreshold: 0.5,
      slidingWindow: "5 seconds",
      minimumThroughput: 15,
      ...options
    })

  // Deliberate difference: cockatiel rejects a threshold of 1 (its breaker opens above the threshold, which 100 %
  // can never be); Sturdy opens at or above it (resilience4j, Polly), so 1 means "every call failed" and is valid.
  it.effect("rejects if threshold out of range", () =>
    Effect.gen(function*() {
      for (const failureRateThreshold of [-1, 0, 10, Number.NaN]) {
        const exit = yield* Effect.exit(Effect.scoped(CircuitBreaker.make("k", { failureRateThreshold })))
        expect(Exit.isFailure(exit) && exit.cause._tag === "Die" && exit.cause.defect).toBeInstanceOf(RangeError)
      }
      const one = yield* Effect.exit(Effect.scoped(CircuitBreaker.make("k", { failureRateThreshold: 1 })))
      expect(Exit.isSuccess(one)).toBe(true)
    }))

  it.scoped("does not start failing if below threshold rps", () =>
    Effect.gen(function*() {
      const p = yield* sampling()
      for (let i = 0; i < 10; i++) {
        expect(yield* Effect.flip(p.execute(failing().call))).toBeInstanceOf(MyException)
        expect(yield* p.breaker.state).toBe("Closed")
        yield* TestClock.adjust(500) // advancing 0.5s each, never hits 3rps
      }
    }))

  // Difference in cockatiel's favour of Sturdy: cockatiel's buckets lose the oldest calls at the window's edge ("need
  // one extra due to bucket approximation"), so it opens on the 17th failure. The 15 failures 334 ms apart all fall
  // in the last 5 seconds (4.7 s from first to last): 3 rps over 5 s is reached at the 15th, and Sturdy opens there.
  it.scoped("fails once above rps", () =>
    Effect.gen(function*() {
      const p = yield* sampling()
      for (let i = 0; i < 3 * 5 - 1; i++) {
        yield* TestClock.adjust(334)
        yield* Effect.flip(p.execute(failing().call))
        expect([i, yield* p.breaker.state]).toEqual([i, "Closed"])
      }

      yield* TestClock.adjust(334)
      yield* Effect.flip(p.execute(failing().call))
      expect(yield* p.breaker.state).toBe("Open")
      expect(CircuitBreaker.isCircuitOpen(yield* Effect.flip(p.execute(failing().call)))).toBe(true)
    }))

  // Deliberate difference: exactly half failed opens a Sturdy breaker with threshold 0.5 (`>=`, resilience4j and
  // Polly) where cockatiel needs more than half; cockatiel's "right on the edge" is a threshold just above 0.5 here.
  it.scoped("calculates rps correctly over time", () =>
    Effect.gen(function*() {
      for (let runLength = 10; runLength < 20; runLength++) {
        const p = yield* sampling({ failureRateThreshold: 0.51 })

        for (let i = 0; i < runLength; i++) {
          yield* p.execute(Effect.void)
          yield* Effect.flip(p.execute(failing().call))
          expect(yield* p.breaker.state).toBe("Closed")
          yield* TestClock.adjust(250)
        }

        yield* Effect.flip(p.execute(failing().call))
        expect(yield* p.breaker.state).toBe("Open")
      }
      // and at 0.5, half failed is enough
      const half = yield* sampling()
      for (let i = 0; i < 7; i++) {
        yield* half.execute(Effect.void)
        yield* Effect.flip(half.execute(failing().call))
        yield* TestClock.adjust(250)
      }
      expect(yield* half.breaker.state).toBe("Closed")
      yield* half.execute(Effect.void)
      yield* Effect.flip(half.execute(failing().call))
      expect(yield* half.breaker.state).toBe("Open")
    }))

  it.scoped("resets when recoving from a half-open", () =>
    Effect.gen(function*() {
      const p = yield* sampling()
      for (let i = 0; i < 15; i++) {
        yield* Effect.flip(p.execute(failing().call))
      }
      expect(yield* p.breaker.state).toBe("Open")
      yield* TestClock.adjust(1000)

      yield* p.execute(Effect.void)
      expect(yield* p.breaker.state).toBe("Closed")
      expect((yield* p.breaker.snapshot).failures).toBe(0)
      yield* Effect.flip(p.execute(failing().call))
      expect(yield* p.breaker.state).toBe("Closed")
    }))
})
