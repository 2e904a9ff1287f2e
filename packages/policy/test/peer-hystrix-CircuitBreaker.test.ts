// Ported from Netflix/Hystrix at 7c03bafe32b518182e09e92fa57358a01043a504:
// hystrix-core/src/test/java/com/netflix/hystrix/HystrixCircuitBreakerTest.java, one `it` per @Test, named after it.
// Mapping: the tests' `Command` (HystrixCommandPropertiesTest's unit-test properties: error threshold 40 %, rolling
// statistical window 5 s in 5 buckets; and the Command's own: execution timeout 500 ms, sleep window 200 ms unless
// given, request volume threshold 1 unless given) is a call `Deadline.attemptTimeout("500 millis")` inside a breaker
// `CircuitBreaker.make(key, { failureRateThreshold: 0.4, minimumThroughput: requestVolumeThreshold,
// slidingWindow: "5 seconds", breakDuration: sleepWindow, halfOpenMaxProbes: 1, successThreshold: 1 })`; all the
// commands of a test share the key, so they share one breaker. `SuccessCommand(key, latency)` /
// `FailureCommand(key, latency)` sleep `latency` of virtual time, then succeed / fail; `TimeoutCommand` sleeps 2 s, so
// its 500 ms timeout fails it (`DeadlineExceeded`, a counted failure as in hystrix's error percentage). A command's
// `execute()` is the call run to its end on the TestClock (hystrix's fallback `false` is not modelled: nothing reads
// it), `observe()` is the call forked, `Thread.sleep` is `TestClock.adjust`. `isOpen()` is a state other than Closed
// (hystrix's `isOpen()` is true while HALF_OPEN too), `allowRequest()` is `admits` (utils/admission.ts: a call the
// breaker admits or rejects and does not record), `attemptExecution()` true is a call admitted and still in flight.
// Deliberate differences: Sturdy judges the failure rate on every recorded call, where hystrix recomputes its health
// counts every 100 ms (`metrics.healthSnapshot.intervalInMilliseconds`) and so lets the commands that follow the
// tripping one run until the next snapshot; in Sturdy they are short-circuited, so the tests assert the state they end
// in (as hystrix's do), not which commands ran. Sturdy's time window has 10 buckets, hystrix's here 5. A probe
// interrupted (hystrix: unsubscribed) frees its slot and leaves the breaker half-open, so the next call probes;
// hystrix reopens the circuit (`markNonSuccess`) and waits another sleep window: the case asserts what both end in.
// Not ported: testSuccessClosesCircuitWhenBusy (@Ignore: "this never ends", a load test with random errors and real
// sleeps); `TestCircuitBreaker` (a stub breaker for HystrixCommandTest, no case of this file); `BadRequestCommand` (no
// case of this file uses it). hystrix-go's port (peer-hystrix-go.test.ts) covers the command-level cases of the Go
// library; none of this file's cases duplicates one of them.
import { describe, expect, it } from "@effect/vitest"
import { CircuitBreaker, Deadline } from "@sturdy/policy"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import { admits, isReadyCheck } from "./utils/admission.js"
import { advanceToDone } from "./utils/advance.js"

class InducedFailure extends Error {}

// the circuit breaker of a command key, with the Command's properties
const commandBreaker = (key: string, sleepWindow = 200, requestVolumeThreshold = 1) =>
  CircuitBreaker.make(key, {
    failureRateThreshold: 0.4,
    minimumThroughput: requestVolumeThreshold,
    slidingWindow: "5 seconds",
    breakDuration: sleepWindow,
    halfOpenMaxProbes: 1,
    successThreshold: 1,
    isIgnored: isReadyCheck
  })

// Command.run(): Thread.sleep(latencyToAdd), then throw or return true; under the 500 ms execution timeout
const command = (cb: CircuitBreaker.CircuitBreaker, shouldFail: boolean, latencyToAdd: number) => {
  const run = Effect.zipRight(
    Effect.sleep(latencyToAdd),
    shouldFail ? Effect.fail(new InducedFailure("induced failure")) : Effect.succeed(true)
  )
  return CircuitBreaker.withBreaker(Deadline.attemptTimeout(run, "500 millis"), cb)
}

const success = (cb: CircuitBreaker.CircuitBreaker, latency: number) => advanceToDone(command(cb, false, latency))
const failure = (cb: CircuitBreaker.CircuitBreaker, latency: number) => advanceToDone(command(cb, true, latency))
const timeout = (cb: CircuitBreaker.CircuitBreaker) => advanceToDone(command(cb, false, 2000))

// observe(): the command started now, admitted (or short-circuited) before this returns
const observe = (cb: CircuitBreaker.CircuitBreaker, shouldFail: boolean, latency: number) =>
  Effect.tap(Effect.fork(command(cb, shouldFail, latency)), () => Effect.yieldNow())

const failureOf = <A, E>(exit: Exit.Exit<A, E>) =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined

const isOpen = (cb: CircuitBreaker.CircuitBreaker) => Effect.map(cb.state, (state) => state !== "Closed")

describe("peer Hystrix HystrixCircuitBreakerTest", () => {
  it.scoped("testTripCircuit", () =>
    Effect.gen(function*() {
      const cb = yield* commandBreaker("cmd-A")
      for (let i = 0; i < 4; i++) yield* success(cb, 1)
      // this should still allow requests as everything has been successful
      yield* TestClock.adjust("100 millis")
      expect(yield* isOpen(cb)).toBe(false)
      // fail
      for (let i = 0; i < 4; i++) yield* failure(cb, 1)
      // everything has failed in the test window so we should return false now
      yield* TestClock.adjust("100 millis")
      expect(yield* admits(cb)).toBe(false)
      expect(yield* isOpen(cb)).toBe(true)
    }))

  it.scoped("testTripCircuitOnFailuresAboveThreshold", () =>
    Effect.gen(function*() {
      const cb = yield* commandBreaker("cmd-B")
      // this should start as allowing requests
      expect(yield* admits(cb)).toBe(true)
      expect(yield* isOpen(cb)).toBe(false)
      // success with high latency
      yield* success(cb, 60)
      yield* success(cb, 1)
      yield* failure(cb, 1)
      yield* success(cb, 1)
      // 2 failures of 5 calls: 40 %, the threshold (Sturdy opens here; hystrix at its next health snapshot, 4 of 8)
      expect(failureOf(yield* failure(cb, 1))).toBeInstanceOf(InducedFailure)
      expect(yield* cb.state).toBe("Open")
      yield* success(cb, 1)
      yield* failure(cb, 1)
      yield* failure(cb, 1)
      // this should trip the circuit as the error percentage is above the threshold
      yield* TestClock.adjust("100 millis")
      expect(yield* admits(cb)).toBe(false)
      expect(yield* isOpen(cb)).toBe(true)
    }))

  it.scoped("testCircuitDoesNotTripOnFailuresBelowThreshold", () =>
    Effect.gen(function*() {
      const cb = yield* commandBreaker("cmd-C")
      // this should start as allowing requests
      expect(yield* admits(cb)).toBe(true)
      expect(yield* isOpen(cb)).toBe(false)
      // success with high latency
      yield* success(cb, 60)
      yield* success(cb, 1)
      yield* failure(cb, 1)
      yield* success(cb, 1)
      yield* success(cb, 1)
      yield* failure(cb, 1)
      yield* success(cb, 1)
      yield* failure(cb, 1)
      // this should remain closed as the failure threshold is below the percentage limit (3 of 8: 37.5 %; no prefix
      // of the run reaches 40 % either)
      yield* TestClock.adjust("100 millis")
      expect(yield* admits(cb)).toBe(true)
      expect(yield* isOpen(cb)).toBe(false)
      expect(yield* cb.snapshot).toMatchObject({ calls: 8, failures: 3 })
    }))

  it.scoped("testTripCircuitOnTimeouts", () =>
    Effect.gen(function*() {
      const cb = yield* commandBreaker("cmd-D")
      // this should start as allowing requests
      expect(yield* admits(cb)).toBe(true)
      expect(yield* isOpen(cb)).toBe(false)
      const first = failureOf(yield* timeout(cb))
      expect(Deadline.isDeadlineExceeded(first) && first.reason).toBe("Attempt")
      yield* timeout(cb)
      yield* timeout(cb)
      yield* timeout(cb)
      // everything has been a timeout so we should not allow any requests
      yield* TestClock.adjust("100 millis")
      expect(yield* admits(cb)).toBe(false)
      expect(yield* isOpen(cb)).toBe(true)
    }))

  it.scoped("testTripCircuitOnTimeoutsAboveThreshold", () =>
    Effect.gen(function*() {
      const cb = yield* commandBreaker("cmd-E")
      // this should start as allowing requests
      expect(yield* admits(cb)).toBe(true)
      expect(yield* isOpen(cb)).toBe(false)
      // success with high latency
      yield* success(cb, 60)
      yield* success(cb, 1)
      yield* timeout(cb)
      yield* success(cb, 1)
      yield* timeout(cb)
      yield* timeout(cb)
      yield* success(cb, 1)
      yield* timeout(cb)
      yield* timeout(cb)
      // this should trip the circuit as the error percentage is above the threshold
      yield* TestClock.adjust("100 millis")
      expect(yield* isOpen(cb)).toBe(true)
    }))

  it.scoped("testSingleTestOnOpenCircuitAfterTimeWindow", () =>
    Effect.gen(function*() {
      const sleepWindow = 200
      const cb = yield* commandBreaker("cmd-F", sleepWindow)
      // this should start as allowing requests
      expect(yield* admits(cb)).toBe(true)
      expect(yield* isOpen(cb)).toBe(false)
      yield* failure(cb, 60)
      yield* failure(cb, 1)
      yield* failure(cb, 1)
      yield* failure(cb, 1)
      // everything has failed in the test window so we should return false now
      yield* TestClock.adjust("100 millis")
      expect(yield* admits(cb)).toBe(false)
      expect(yield* isOpen(cb)).toBe(true)
      // wait for sleepWindow to pass
      yield* TestClock.adjust(sleepWindow + 50)
      // we should now allow 1 request (attemptExecution(): a probe admitted, in flight)
      let ran = 0
      const probe = yield* Effect.fork(
        CircuitBreaker.withBreaker(Effect.zipRight(Effect.sync(() => ran++), Effect.never), cb)
      )
      yield* Effect.yieldNow()
      expect(ran).toBe(1)
      // but the circuit should still be open
      expect(yield* isOpen(cb)).toBe(true)
      // and further requests are still blocked
      const second = yield* Effect.exit(CircuitBreaker.withBreaker(Effect.sync(() => ran++), cb))
      expect(CircuitBreaker.isCircuitOpen(failureOf(second))).toBe(true)
      expect(ran).toBe(1)
      yield* Fiber.interrupt(probe)
    }))

  it.scoped("testCircuitClosedAfterSuccess", () =>
    Effect.gen(function*() {
      const sleepWindow = 100
      const cb = yield* commandBreaker("cmd-G", sleepWindow)
      // this should start as allowing requests
      expect(yield* admits(cb)).toBe(true)
      expect(yield* isOpen(cb)).toBe(false)
      yield* failure(cb, 1)
      yield* failure(cb, 1)
      yield* failure(cb, 1)
      yield* timeout(cb)
      // everything has failed in the test window so we should return false now
      yield* TestClock.adjust("100 millis")
      expect(yield* isOpen(cb)).toBe(true)
      // wait for sleepWindow to pass
      yield* TestClock.adjust(sleepWindow + 50)
      // but the circuit should still be open
      expect(yield* isOpen(cb)).toBe(true)
      // we should now allow 1 request, and upon success, should cause the circuit to be closed
      const asyncResult = yield* observe(cb, false, 60)
      // and further requests are still blocked while the singleTest command is in flight
      expect(yield* admits(cb)).toBe(false)
      yield* TestClock.adjust("60 millis")
      expect(yield* Fiber.await(asyncResult)).toEqual(Exit.succeed(true))
      // all requests should be open again
      yield* TestClock.adjust("100 millis")
      expect(yield* admits(cb)).toBe(true)
      expect(yield* admits(cb)).toBe(true)
      expect(yield* admits(cb)).toBe(true)
      // and the circuit should be closed again
      expect(yield* isOpen(cb)).toBe(false)
      // the rolling window (containing failures) is cleared: the next bucket roll produces no signal to trip
      expect(yield* cb.snapshot).toMatchObject({ calls: 0, failures: 0 })
    }))

  it.scoped("testMultipleTimeWindowRetriesBeforeClosingCircuit", () =>
    Effect.gen(function*() {
      const sleepWindow = 200
      const cb = yield* commandBreaker("cmd-H")
      // this should start as allowing requests
      expect(yield* admits(cb)).toBe(true)
      expect(yield* isOpen(cb)).toBe(false)
      yield* failure(cb, 60)
      yield* failure(cb, 1)
      yield* failure(cb, 1)
      yield* timeout(cb)
      // everything has failed in the test window so we should return false now: 4 failures, circuit will open
      yield* TestClock.adjust("100 millis")
      expect(yield* isOpen(cb)).toBe(true)

      // wait for sleepWindow to pass
      yield* TestClock.adjust(sleepWindow + 50)
      // but the circuit should still be open
      expect(yield* isOpen(cb)).toBe(true)
      // we should now allow 1 request, and upon failure the circuit remains open
      const asyncResult5 = yield* observe(cb, true, 60)
      // and further requests are still blocked while the singleTest command is in flight
      expect(yield* admits(cb)).toBe(false)
      yield* TestClock.adjust("60 millis")
      expect(failureOf(yield* Fiber.await(asyncResult5))).toBeInstanceOf(InducedFailure)
      // all requests should still be blocked, because the singleTest failed
      expect(yield* admits(cb)).toBe(false)
      expect(yield* admits(cb)).toBe(false)
      expect(yield* admits(cb)).toBe(false)

      // wait for sleepWindow to pass
      yield* TestClock.adjust(sleepWindow + 50)
      // we should now allow 1 request, and upon failure the circuit remains open
      const asyncResult6 = yield* observe(cb, true, 60)
      // and further requests are still blocked while the singleTest command is in flight
      expect(yield* admits(cb)).toBe(false)
      yield* TestClock.adjust("60 millis")
      expect(failureOf(yield* Fiber.await(asyncResult6))).toBeInstanceOf(InducedFailure)
      // all requests should still be blocked, because the singleTest failed
      expect(yield* admits(cb)).toBe(false)
      expect(yield* admits(cb)).toBe(false)
      expect(yield* admits(cb)).toBe(false)

      // wait for sleepWindow to pass
      yield* TestClock.adjust(sleepWindow + 50)
      // but the circuit should still be open
      expect(yield* isOpen(cb)).toBe(true)
      // we should now allow 1 request, and upon success, should cause the circuit to be closed
      const asyncResult7 = yield* observe(cb, false, 60)
      // and further requests are still blocked while the singleTest command is in flight
      expect(yield* admits(cb)).toBe(false)
      yield* TestClock.adjust("60 millis")
      expect(yield* Fiber.await(asyncResult7)).toEqual(Exit.succeed(true))
      // all requests should be open again
      expect(yield* admits(cb)).toBe(true)
      expect(yield* admits(cb)).toBe(true)
      expect(yield* admits(cb)).toBe(true)
      // and the circuit should be closed again
      expect(yield* isOpen(cb)).toBe(false)
    }))

  it.scoped("testLowVolumeDoesNotTripCircuit", () =>
    Effect.gen(function*() {
      const sleepWindow = 200
      const lowVolume = 5
      const cb = yield* commandBreaker("cmd-I", sleepWindow, lowVolume)
      // this should start as allowing requests
      expect(yield* admits(cb)).toBe(true)
      expect(yield* isOpen(cb)).toBe(false)
      yield* failure(cb, 60)
      yield* failure(cb, 1)
      yield* failure(cb, 1)
      yield* failure(cb, 1)
      // even though it has all failed we won't trip the circuit because the volume is low
      yield* TestClock.adjust("100 millis")
      expect(yield* admits(cb)).toBe(true)
      expect(yield* isOpen(cb)).toBe(false)
      expect(yield* cb.snapshot).toMatchObject({ calls: 4, failures: 4 })
    }))

  it.scoped("testUnsubscriptionDoesNotLeaveCircuitStuckHalfOpen", () =>
    Effect.gen(function*() {
      const sleepWindow = 200
      const cb = yield* commandBreaker("cmd-J", sleepWindow)
      // fail
      for (let i = 0; i < 4; i++) yield* failure(cb, 1)
      // everything has failed in the test window so we should return false now
      yield* TestClock.adjust("100 millis")
      expect(yield* admits(cb)).toBe(false)
      expect(yield* isOpen(cb)).toBe(true)
      // wait for sleep window to pass
      yield* TestClock.adjust(sleepWindow + 50)
      // this occurs after the sleep window, so gets executed; however, it is unsubscribed, so never updates state on
      // the circuit breaker
      const o = yield* observe(cb, false, 5000)
      expect(yield* cb.snapshot).toMatchObject({ state: "HalfOpen", probesInFlight: 1 })
      expect(Exit.isInterrupted(yield* Fiber.interrupt(o))).toBe(true)
      // hystrix reopens the circuit here; Sturdy frees the probe's slot and stays half-open
      expect(yield* cb.snapshot).toMatchObject({ state: "HalfOpen", probesInFlight: 0 })
      // wait for 10 sleep windows, then try a successful command: this should return the circuit to CLOSED
      yield* TestClock.adjust(10 * sleepWindow)
      expect(yield* success(cb, 1)).toEqual(Exit.succeed(true))
      yield* TestClock.adjust("100 millis")
      expect(yield* admits(cb)).toBe(true)
      expect(yield* isOpen(cb)).toBe(false)
    }))
})
