// Ported from rubyist/circuitbreaker at aa1899571bdfc34ca5b981cd0144cca2759f282e: circuitbreaker_test.go, one `it`
// per Go test, named after it.
// Mapping: a rubyist `Breaker` is `CircuitBreaker.make` with the Go defaults: its `BackOff` (cenkalti's exponential
// backoff, initial interval 1 ms in the tests' `init`, multiplier 1.5, max interval 60 s, never stopping) is
// `breakDuration: Backoff.exponential({ baseDelay: "1 millis", factor: 1.5, maxDelay: "60 seconds", jitter: "none" })`,
// its window (10 s in 10 buckets) is `slidingWindow: "10 seconds"`, the mock clock is the TestClock.
// `NewThresholdBreaker(n)` (trips when the window holds n failures) is `failureCountThreshold: n`;
// `NewConsecutiveBreaker(n)` is `consecutiveFailures: n`; `NewRateBreaker(rate, minSamples)` is
// `failureRateThreshold: rate, minimumThroughput: minSamples`. `NewBreaker()` has no TripFunc: it trips only by hand.
// Where a test only counts, it is a breaker that never opens by itself (`consecutiveFailures: Infinity`); Sturdy has no
// hand trip that keeps the pause (`isolate` is `Break()`: open until `reset`), so where a test calls `Trip()` it is the
// breaker's own rule met: one counted failure of a breaker with `consecutiveFailures: 1`, or two with
// `consecutiveFailures: 2` in the events tests, whose later single `Fail()` must not trip. `Fail()` / `Success()` are
// a failed / successful call through the breaker (gobreaker's `fail` / `succeed`, utils/goBreaker.ts); `Call(circuit,
// timeout)` is the circuit under `Deadline.attemptTimeout(timeout)` inside the breaker (`ErrBreakerTimeout` is a
// `DeadlineExceeded`, `ErrBreakerOpen` is `CircuitOpen`); a cancelled `ctx` is the interruption of the calling fiber.
// `Tripped()` is a state other than Closed (rubyist's breaker stays tripped while half-open); `Ready()` is `admits`
// (utils/admission.ts: a call the breaker admits or rejects and does not record); `cb.nextBackOff` is the open
// breaker's `snapshot.retryAfter`; `Reset()` is `reset`; `Failures()`, `ConsecFailures()` are the snapshot's `failures`,
// `consecutiveFailures`, `Successes()` its `calls − failures`. `Subscribe()` / `AddListener` are `subscribe`, whose
// transitions stand for rubyist's events: to Open is `BreakerTripped`, Open → HalfOpen `BreakerReady` (published by
// the first call after the pause, as `Ready()` sends it), to Closed `BreakerReset`; `RemoveListener` is closing the
// subscription's scope.
// Deliberate differences (each test says which): `changes` carries transitions only: no `BreakerFail` per failure, and
// no `BreakerReset` for a reset of a closed breaker; the window is emptied when the breaker opens, so the error rate
// that tripped it is read from the rejection (`failures` of the `calls`), not from the window; the backoff has no
// randomization (cenkalti's default spreads each interval by ±50 %; the tests read the pause, not a fixed value);
// a pause ends at its last millisecond (rubyist waits for more than `nextBackOff`: the tests wait `nextBackOff + 1`);
// a finished `breakDuration` schedule (`StopBackOff`, `Schedule.stop`) does not hold the breaker open for ever as
// rubyist's does: it pauses for the default 60 s (an open-for-ever breaker is `isolate`'s job).
// Not ported: panel_test.go, window_test.go and client.go's tests (not in circuitbreaker_test.go; the window's buckets
// are private), example_test.go (examples without assertions).
import { describe, expect, it } from "@effect/vitest"
import { Backoff, CircuitBreaker, Deadline } from "@sturdy/policy"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { admits, isReadyCheck } from "./utils/admission.js"
import { fail, succeed } from "./utils/goBreaker.js"

// NewBreakerWithOptions' defaults, with the test init's 1 ms initial interval
const defaultBackOff = () =>
  Backoff.exponential({ baseDelay: "1 millis", factor: 1.5, maxDelay: "60 seconds", jitter: "none" })

const newBreaker = (options: CircuitBreaker.Options) =>
  CircuitBreaker.make("rubyist", {
    breakDuration: defaultBackOff(),
    slidingWindow: "10 seconds",
    isIgnored: isReadyCheck,
    ...options
  })

// NewBreaker(): no TripFunc
const newCountingBreaker = () => newBreaker({ consecutiveFailures: Infinity })
// NewBreaker() whose Trip() is `trips` counted failures
const newTrippableBreaker = (trips = 1) => newBreaker({ consecutiveFailures: trips })
const trip = (cb: CircuitBreaker.CircuitBreaker, trips = 1) =>
  Effect.gen(function*() {
    for (let i = 0; i < trips; i++) yield* fail(cb)
    expect(yield* cb.state).toBe("Open")
  })

const tripped = (cb: CircuitBreaker.CircuitBreaker) => Effect.map(cb.state, (state) => state !== "Closed")

// c.Add(cb.nextBackOff + 1)
const afterNextBackOff = (cb: CircuitBreaker.CircuitBreaker) =>
  Effect.flatMap(cb.snapshot, (s) => TestClock.adjust(Duration.sum(s.retryAfter, Duration.millis(1))))

const counts = (cb: CircuitBreaker.CircuitBreaker) =>
  Effect.map(cb.snapshot, (s) => ({
    failures: s.failures,
    successes: s.calls - s.failures,
    consecFailures: s.consecutiveFailures
  }))

const failureOf = <A, E>(exit: Exit.Exit<A, E>) =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined

// a subscription's transitions as rubyist's events; `next` is `<-events` (undefined when none is waiting)
const eventOf = (change: CircuitBreaker.StateChange) =>
  change.to === "Open" ? "BreakerTripped" : change.to === "HalfOpen" ? "BreakerReady" : "BreakerReset"
const listen = (cb: CircuitBreaker.CircuitBreaker) =>
  Effect.gen(function*() {
    const events: Array<string> = []
    const changes = yield* cb.subscribe
    yield* Effect.forkScoped(Stream.runForEach(changes, (c) => Effect.sync(() => events.push(eventOf(c)))))
    return { next: Effect.map(Effect.repeatN(Effect.yieldNow(), 10), () => events.shift()) }
  })

describe("peer rubyist/circuitbreaker circuitbreaker_test.go", () => {
  it.scoped("TestBreakerTripping", () =>
    Effect.gen(function*() {
      const cb = yield* newTrippableBreaker()
      expect(yield* tripped(cb)).toBe(false)
      yield* trip(cb)
      expect(yield* tripped(cb)).toBe(true)
      yield* cb.reset
      expect(yield* tripped(cb)).toBe(false)
    }))

  it.scoped("TestBreakerCounts", () =>
    Effect.gen(function*() {
      const cb = yield* newCountingBreaker()
      yield* fail(cb)
      expect((yield* counts(cb)).failures).toBe(1)
      yield* fail(cb)
      expect((yield* counts(cb)).consecFailures).toBe(2)
      yield* succeed(cb)
      expect((yield* counts(cb)).successes).toBe(1)
      expect((yield* counts(cb)).consecFailures).toBe(0)
      yield* cb.reset
      expect(yield* counts(cb)).toEqual({ failures: 0, successes: 0, consecFailures: 0 })
    }))

  it.scoped("TestErrorRate", () =>
    Effect.gen(function*() {
      const cb = yield* newCountingBreaker()
      // a breaker with no samples has a 0 error rate (Sturdy: no calls and no failures in the window)
      const s = yield* cb.snapshot
      expect(s.calls === 0 ? 0 : s.failures / s.calls).toBe(0)
      expect(s).toMatchObject({ calls: 0, failures: 0 })
    }))

  it.scoped("TestBreakerEvents", () =>
    Effect.gen(function*() {
      const cb = yield* newTrippableBreaker(2)
      const events = yield* listen(cb)
      yield* trip(cb, 2)
      expect(yield* events.next).toBe("BreakerTripped")
      yield* afterNextBackOff(cb)
      expect(yield* admits(cb)).toBe(true)
      expect(yield* events.next).toBe("BreakerReady")
      yield* cb.reset
      expect(yield* events.next).toBe("BreakerReset")
      // rubyist sends BreakerFail; Sturdy publishes transitions only: the failure is counted, nothing is published
      yield* fail(cb)
      expect(yield* events.next).toBeUndefined()
      expect((yield* counts(cb)).failures).toBe(1)
    }))

  it.scoped("TestAddRemoveListener", () =>
    Effect.gen(function*() {
      const cb = yield* newTrippableBreaker(2)
      const scope = yield* Scope.make()
      const events = yield* Scope.extend(listen(cb), scope)
      yield* trip(cb, 2)
      expect(yield* events.next).toBe("BreakerTripped")
      yield* afterNextBackOff(cb)
      expect(yield* admits(cb)).toBe(true)
      expect(yield* events.next).toBe("BreakerReady")
      yield* cb.reset
      expect(yield* events.next).toBe("BreakerReset")
      // BreakerFail: none in Sturdy (transitions only)
      yield* fail(cb)
      expect(yield* events.next).toBeUndefined()
      // a reset of a closed breaker is no transition in Sturdy; so that the removal is seen, the breaker is tripped
      // (a second failure) before it, and a listener that stays sees the reset the removed one does not
      const kept = yield* listen(cb)
      yield* fail(cb)
      expect(yield* kept.next).toBe("BreakerTripped")
      expect(yield* events.next).toBe("BreakerTripped")
      yield* Scope.close(scope, Exit.void)
      yield* cb.reset
      expect(yield* kept.next).toBe("BreakerReset")
      // after removing the listener, it does not receive the reset event
      expect(yield* events.next).toBeUndefined()
    }))

  it.scoped("TestTrippableBreakerState", () =>
    Effect.gen(function*() {
      const cb = yield* newTrippableBreaker()
      expect(yield* admits(cb)).toBe(true)
      yield* trip(cb)
      expect(yield* admits(cb)).toBe(false)
      yield* afterNextBackOff(cb)
      // ready after the reset timeout
      expect(yield* admits(cb)).toBe(true)
      // the failure (of the probe) pauses the breaker again; ready after the next reset timeout
      yield* fail(cb)
      expect(yield* admits(cb)).toBe(false)
      yield* afterNextBackOff(cb)
      expect(yield* admits(cb)).toBe(true)
    }))

  it.scoped("TestTrippableBreakerManualBreak", () =>
    Effect.gen(function*() {
      const cb = yield* newTrippableBreaker()
      yield* cb.isolate
      // an isolated breaker has no next backoff (retryAfter is infinite): wait the first one, and more
      expect(Duration.isFinite((yield* cb.snapshot).retryAfter)).toBe(false)
      yield* TestClock.adjust("1 minute")
      // still tripped
      expect(yield* admits(cb)).toBe(false)
      yield* cb.reset
      yield* trip(cb)
      yield* afterNextBackOff(cb)
      expect(yield* admits(cb)).toBe(true)
    }))

  it.scoped("TestThresholdBreaker", () =>
    Effect.gen(function*() {
      const cb = yield* newBreaker({ failureCountThreshold: 2 })
      expect(yield* tripped(cb)).toBe(false)
      yield* fail(cb)
      expect(yield* tripped(cb)).toBe(false)
      yield* fail(cb)
      expect(yield* tripped(cb)).toBe(true)
      yield* cb.reset
      expect((yield* counts(cb)).failures).toBe(0)
      expect(yield* tripped(cb)).toBe(false)
    }))

  it.scoped("TestConsecutiveBreaker", () =>
    Effect.gen(function*() {
      const cb = yield* newBreaker({ consecutiveFailures: 3 })
      expect(yield* tripped(cb)).toBe(false)
      yield* fail(cb)
      yield* succeed(cb)
      yield* fail(cb)
      yield* fail(cb)
      expect(yield* tripped(cb)).toBe(false)
      yield* fail(cb)
      expect(yield* tripped(cb)).toBe(true)
    }))

  it.scoped("TestThresholdBreakerCalling", () =>
    Effect.gen(function*() {
      const circuit = Effect.fail(new Error("error"))
      const cb = yield* newBreaker({ failureCountThreshold: 2 })
      // first failure: the circuit's error
      expect((failureOf(yield* Effect.exit(CircuitBreaker.withBreaker(circuit, cb))) as Error).message).toBe("error")
      expect(yield* tripped(cb)).toBe(false)
      // second failure trips
      expect((failureOf(yield* Effect.exit(CircuitBreaker.withBreaker(circuit, cb))) as Error).message).toBe("error")
      expect(yield* tripped(cb)).toBe(true)
    }))

  it.scoped("TestThresholdBreakerCallingContext", () =>
    Effect.gen(function*() {
      let called = 0
      const circuit = Effect.suspend(() => {
        called++
        return Effect.zipRight(Effect.sleep("1 millis"), Effect.fail(new Error("error")))
      })
      const cb = yield* newBreaker({ failureCountThreshold: 2 })
      const first = yield* Effect.fork(CircuitBreaker.withBreaker(circuit, cb))
      yield* TestClock.adjust("1 millis")
      // first failure
      expect(failureOf(yield* Fiber.await(first))).toBeInstanceOf(Error)
      expect(yield* tripped(cb)).toBe(false)
      // cancel the next call: its caller is interrupted while the circuit runs
      const second = yield* Effect.fork(CircuitBreaker.withBreaker(circuit, cb))
      yield* Effect.yieldNow()
      expect(called).toBe(2)
      // second failure, but it's canceled: rubyist returns the circuit's error, Sturdy's caller is interrupted
      expect(Exit.isInterrupted(yield* Fiber.interrupt(second))).toBe(true)
      expect(yield* tripped(cb)).toBe(false)
      // third failure trips
      const third = yield* Effect.fork(CircuitBreaker.withBreaker(circuit, cb))
      yield* TestClock.adjust("1 millis")
      expect(failureOf(yield* Fiber.await(third))).toBeInstanceOf(Error)
      expect(yield* tripped(cb)).toBe(true)
    }))

  it.scoped("TestThresholdBreakerResets", () =>
    Effect.gen(function*() {
      let called = 0
      let success = false
      const circuit = Effect.suspend(() => {
        if (called === 0) {
          called++
          return Effect.fail(new Error("error"))
        }
        success = true
        return Effect.void
      })
      const cb = yield* newBreaker({ failureCountThreshold: 1 })
      expect(failureOf(yield* Effect.exit(CircuitBreaker.withBreaker(circuit, cb)))).toBeInstanceOf(Error)
      yield* afterNextBackOff(cb)
      for (let i = 0; i < 4; i++) {
        // expected cb to be successful, and to have been reset
        expect(yield* Effect.exit(CircuitBreaker.withBreaker(circuit, cb))).toEqual(Exit.void)
        expect(success).toBe(true)
      }
      expect(yield* cb.state).toBe("Closed")
    }))

  it.scoped("TestTimeoutBreaker", () =>
    Effect.gen(function*() {
      let called = 0
      const wait = yield* Deferred.make<void>()
      const circuit = Effect.suspend(() => {
        called++
        return Deferred.await(wait)
      })
      const cb = yield* newBreaker({ failureCountThreshold: 1 })
      const call = CircuitBreaker.withBreaker(Deadline.attemptTimeout(circuit, "1 millis"), cb)
      // <-wait: the circuit has started (the timeout runs it in a fiber of its own)
      const started = Effect.repeatN(Effect.yieldNow(), 10)

      const errc = yield* Effect.fork(call)
      yield* started
      expect(called).toBe(1)
      yield* TestClock.adjust("3 millis")
      // expected the timeout breaker to return an error
      const err = failureOf(yield* Fiber.await(errc))
      expect(Deadline.isDeadlineExceeded(err) && err.reason).toBe("Attempt")

      // the next call comes after the pause (1 ms from the trip at 1 ms): it runs, and times out too
      const again = yield* Effect.fork(call)
      yield* started
      expect(called).toBe(2)
      yield* TestClock.adjust("3 millis")
      expect(Deadline.isDeadlineExceeded(failureOf(yield* Fiber.await(again)))).toBe(true)
      // expected the timeout breaker to be open
      expect(yield* tripped(cb)).toBe(true)
      yield* Deferred.succeed(wait, undefined)
    }))

  it.scoped("TestRateBreakerTripping", () =>
    Effect.gen(function*() {
      const cb = yield* newBreaker({ failureRateThreshold: 0.5, minimumThroughput: 4 })
      yield* succeed(cb)
      yield* succeed(cb)
      yield* fail(cb)
      yield* fail(cb)
      expect(yield* tripped(cb)).toBe(true)
      // the error rate is 0.5: the rejection says the failure rate tripped it with 2 failures (of the 4 calls); the
      // window itself was emptied when the breaker opened
      const rejection = yield* fail(cb)
      expect(rejection).toMatchObject({ reason: "FailureRate", failures: 2 })
    }))

  it.scoped("TestRateBreakerSampleSize", () =>
    Effect.gen(function*() {
      const cb = yield* newBreaker({ failureRateThreshold: 0.5, minimumThroughput: 100 })
      yield* fail(cb)
      // not tripped yet
      expect(yield* tripped(cb)).toBe(false)
    }))

  it.scoped("TestRateBreakerResets", () =>
    Effect.gen(function*() {
      const serviceError = new Error("service error")
      let called = 0
      let success = false
      const circuit = Effect.suspend(() => {
        if (called < 4) {
          called++
          return Effect.fail(serviceError)
        }
        success = true
        return Effect.void
      })
      const cb = yield* newBreaker({ failureRateThreshold: 0.5, minimumThroughput: 4 })
      for (let i = 0; i < 4; i++) {
        // closed breaker, service failure: the error from the service
        expect(failureOf(yield* Effect.exit(CircuitBreaker.withBreaker(circuit, cb)))).toBe(serviceError)
      }
      // open breaker: the open breaker error
      const open = failureOf(yield* Effect.exit(CircuitBreaker.withBreaker(circuit, cb)))
      expect(CircuitBreaker.isCircuitOpen(open)).toBe(true)
      yield* afterNextBackOff(cb)
      expect(yield* Effect.exit(CircuitBreaker.withBreaker(circuit, cb))).toEqual(Exit.void)
      // expected cb to have been reset
      expect(success).toBe(true)
      expect(yield* cb.state).toBe("Closed")
    }))

  it.scoped("TestNeverRetryAfterBackoffStops", () =>
    Effect.gen(function*() {
      const cb = yield* newBreaker({ consecutiveFailures: 1, breakDuration: Schedule.stop })
      yield* trip(cb)
      // circuit should be open and not retry when the backoff has stopped
      let called = 0
      yield* Effect.exit(CircuitBreaker.withBreaker(Effect.sync(() => called = 1), cb))
      expect(called).toBe(0)
      // rubyist never retries; Sturdy pauses for the default 60 s (isolate holds a breaker open for ever)
      expect(Duration.toMillis((yield* cb.snapshot).retryAfter)).toBe(60_000)
    }))

  it.scoped("TestPartialSecondBackoff", () =>
    Effect.gen(function*() {
      // cb.nextBackOff = 500 ms (set after the trip in rubyist; here the breaker's pause)
      const cb = yield* newBreaker({ consecutiveFailures: 1, breakDuration: "500 millis" })
      // set the time to 0.5 seconds after the epoch, then trip the breaker
      yield* TestClock.adjust("500 millis")
      yield* trip(cb)
      // move forward 100 milliseconds: less time than nextBackoff has passed
      yield* TestClock.adjust("100 millis")
      expect(yield* admits(cb)).toBe(false)
      // more than nextBackoff has passed
      yield* TestClock.adjust("401 millis")
      expect(yield* admits(cb)).toBe(true)
    }))
})
