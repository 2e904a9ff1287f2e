// Ported from Apache Pekko's actor-tests/src/test/scala/org/apache/pekko/pattern/CircuitBreakerSpec.scala,
// CircuitBreakerMTSpec.scala and CircuitBreakerStressSpec.scala, with actor-tests/src/test/java/org/apache/pekko/
// pattern/CircuitBreakerTest.java at the end (apache/pekko, commit 9d9771347e7f3f3900acc196c5cd9252384c2141), one `it`
// per Pekko case, named after it, under a `describe` named after its group.
// Mapping: `new CircuitBreaker(scheduler, maxFailures, callTimeout, resetTimeout)` is `CircuitBreaker.make` with
// `{ consecutiveFailures: maxFailures, breakDuration: resetTimeout }`, and Pekko's `callTimeout` is a
// `Deadline.attemptTimeout(callTimeout)` inside the breaker (Sturdy's breaker has no call timeout of its own; the
// timeout's `DeadlineExceeded` of reason "Attempt", Pekko's `TimeoutException`, is then a counted failure). The
// exponential backoff of the reset timeout (`maxResetTimeout` 1 day, `exponentialBackoffFactor` 5, `randomFactor` 0) is
// `breakDuration: Backoff.exponential({ baseDelay: resetTimeout, factor: 5, maxDelay: "1 day", jitter: "none" })`.
// `CircuitBreakerOpenException` is `CircuitOpen`, its `remainingDuration` `retryAfter`. The `onOpen` / `onHalfOpen` /
// `onClose` latches are the transitions published on `subscribe`'s stream; `onCallSuccess` / `onCallFailure` /
// `onCallTimeout` are the call's outcome as the breaker recorded it (a success, a counted failure, a counted
// `DeadlineExceeded`), with the elapsed time Pekko passes them measured on the TestClock around the call
// (`utils/pekko.ts`); `onCallBreakerOpen` is a call rejected with `CircuitOpen` whose body never ran. Pekko's
// `currentFailureCount` is `snapshot.consecutiveFailures` while Closed; Sturdy's counts start again when the breaker
// opens (as its window is emptied, `CallWindow`), so once a breaker of `maxFailures` 1 has opened, the count that
// tripped it is the `failures` of the `CircuitOpen` a call then gets. `succeed()` / `fail()` (marking an outcome
// produced outside the breaker) are a call through the breaker whose body just succeeds / fails. A per-call
// `defineFailureFn` (`Try[T] => Boolean`) is a verdict the call carries to the breaker's `isFailure`
// (`utils/pekko.ts`), since Sturdy's `isFailure` is per breaker and sees failures only: a result it calls a failure is
// failed inside the breaker and answered outside. The "identified" breaker of the config (`exception-allowlist`) is a
// registry's breaker with an `isFailure` that leaves `AllowException` out (counted as a successful call, as the
// allowlist does). A synchronous `throwException` is `Effect.try` of a throw, `Future(...)` an `Effect.tryPromise`,
// `Thread.sleep(d)` in a call an `Effect.sleep(d)` on the TestClock, `checkLatch` of a listener a look after the call
// has ended.
// Deliberate differences (each test says which): Pekko's scheduler moves an open breaker to half-open when the reset
// timeout fires; Sturdy has no timers, so `state` reports HalfOpen once the pause is over and the transition is
// published when the next call arrives (CircuitBreaker.ts, `changes`). A synchronous call that overruns Pekko's
// `callTimeout` runs to its end before it fails with `TimeoutException`; an attempt timeout interrupts it when it
// fires. A call takes no virtual time unless it sleeps, so the elapsed time Pekko asserts to be above zero is zero here
// for a call that does not, and held to the same upper bound. A probe still running after the pause before it gives its
// slot to the next call (`maxProbeDuration`), where Pekko's stays the only call until it ends or times out; the cases
// turn the next call away while the probe has just started, where both agree.
// Not ported: the docs' example actors (docs/src/test/scala/docs/circuitbreaker, no assertions). The stress test is
// scaled down. Pekko's three actors each run 1001 call chains for 3 s; here each runs 11, and a chain that is rejected
// waits 500 ms of TestClock before its next call (the actor's mailbox turn), since a rejection takes no virtual time
// and would otherwise spin at one instant: every wake-up of the TestClock costs a few milliseconds of real time (it
// waits for every fiber to suspend), so 3 × 1001 chains would run for minutes. The run still has jobs that end, jobs
// that time out and rejections (the test checks it).
import { describe, expect, it } from "@effect/vitest"
import { Backoff, CircuitBreaker, Deadline } from "@sturdy/policy"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as TestClock from "effect/TestClock"
import { advanceToDone } from "./utils/advance.js"
import type { PekkoBreaker } from "./utils/pekko.js"
import { isFailureWith, makePekkoBreaker, pekkoBreaker, settle, timedExit } from "./utils/pekko.js"

class TestException extends Error {}
class AllowException extends Error {}

// withSyncCircuitBreaker's bodies
const throwException = Effect.try({
  try: (): string => {
    throw new TestException()
  },
  catch: (e) => e as TestException
})
const sayHi = Effect.sync(() => "hi")
// withCircuitBreaker(Future(...))'s bodies
const futureThrowException = Effect.tryPromise({
  try: (): Promise<string> => Promise.reject(new TestException()),
  catch: (e) => e as TestException
})
const futureThrowAllowException = Effect.tryPromise({
  try: (): Promise<string> => Promise.reject(new AllowException()),
  catch: (e) => e as AllowException
})
const futureSayHi = Effect.promise(() => Promise.resolve("hi"))
// Thread.sleep(millis) in the call
const threadSleep = (millis: number) => Effect.sleep(Duration.millis(millis))

const evenNumberIsFailure = (result: Either.Either<number, unknown>) =>
  Either.isRight(result) ? result.right % 2 === 0 : true
const anyExceptionIsFailure = (result: Either.Either<unknown, unknown>) => Either.isLeft(result)

const multiFailureCb = () => makePekkoBreaker(5, "200 millis", "500 millis")
const nonOneFactorCb = () =>
  makePekkoBreaker(
    1,
    "2000 millis",
    Backoff.exponential({
      baseDelay: "1000 millis",
      factor: 5,
      maxDelay: "1 day",
      jitter: "none",
      maxAttempts: Infinity
    })
  )
const shortCallTimeout = 50
const shortCallTimeoutCb = () => makePekkoBreaker(1, Duration.millis(shortCallTimeout), "500 millis")
const shortResetTimeout = 50
const shortResetTimeoutCb = () => makePekkoBreaker(1, "1000 millis", Duration.millis(shortResetTimeout))
const longCallTimeoutCb = () => makePekkoBreaker(1, "5 seconds", "500 millis")
const longResetTimeout = 5_000
const longResetTimeoutCb = () => makePekkoBreaker(1, "100 millis", Duration.millis(longResetTimeout))

// a call made while the breaker is open: Pekko's CircuitBreakerOpenException, thrown without running the body
const rejected = (cb: PekkoBreaker) =>
  Effect.gen(function*() {
    let ran = false
    const e = yield* Effect.flip(cb.call(Effect.sync(() => (ran = true))))
    expect(ran).toBe(false)
    if (!CircuitBreaker.isCircuitOpen(e)) return expect.fail(`expected CircuitOpen, got ${String(e)}`)
    return e
  })

// intercept[X] { ... }: the call fails with an X
const intercept = <A, E>(effect: Effect.Effect<A, E>, type: new(...args: Array<any>) => unknown) =>
  Effect.gen(function*() {
    const e = yield* Effect.flip(effect)
    expect(e).toBeInstanceOf(type)
    return e
  })

// a failed call opened the breaker, whose pause then ended: checkLatch(halfOpenLatch)
const toHalfOpen = (cb: PekkoBreaker, failing: Effect.Effect<string, TestException>, resetTimeout: number) =>
  Effect.gen(function*() {
    yield* intercept(cb.call(failing), TestException)
    expect(yield* cb.breaker.state).toBe("Open")
    yield* TestClock.adjust(Duration.millis(resetTimeout))
    expect(yield* cb.breaker.state).toBe("HalfOpen")
  })

const transitions = (cb: PekkoBreaker) => Effect.as(settle, cb.transitions)

describe("peer pekko CircuitBreakerSpec: A synchronous circuit breaker that is open", () => {
  it.scoped("throw exceptions when called before reset timeout", () =>
    Effect.gen(function*() {
      const breaker = yield* longResetTimeoutCb()
      yield* intercept(breaker.call(throwException), TestException)
      expect(yield* transitions(breaker)).toEqual(["Open"])
      const e = yield* rejected(breaker)
      expect(Duration.toMillis(e.retryAfter)).toBeGreaterThan(0)
      expect(Duration.toMillis(e.retryAfter)).toBeLessThanOrEqual(longResetTimeout)
    }))

  it.scoped("transition to half-open on reset timeout", () =>
    Effect.gen(function*() {
      const breaker = yield* shortResetTimeoutCb()
      yield* intercept(breaker.call(throwException), TestException)
      yield* TestClock.adjust(Duration.millis(shortResetTimeout))
      expect(yield* breaker.breaker.state).toBe("HalfOpen")
      // deliberate difference: no timer moves the breaker; HalfOpen is published when the next call arrives
      expect(yield* transitions(breaker)).toEqual(["Open"])
      yield* breaker.call(sayHi)
      expect(yield* transitions(breaker)).toEqual(["Open", "HalfOpen", "Closed"])
    }))

  it.scoped("still be in open state after calling success method", () =>
    Effect.gen(function*() {
      const breaker = yield* longResetTimeoutCb()
      yield* intercept(breaker.call(throwException), TestException)
      expect(yield* transitions(breaker)).toEqual(["Open"])
      // succeed(): an outcome marked through the breaker, which an open breaker turns away
      const e = yield* Effect.flip(breaker.call(Effect.void))
      expect(CircuitBreaker.isCircuitOpen(e)).toBe(true)
      expect(yield* breaker.breaker.state).toBe("Open")
    }))

  it.scoped("still be in open state after calling fail method", () =>
    Effect.gen(function*() {
      const breaker = yield* longResetTimeoutCb()
      yield* intercept(breaker.call(throwException), TestException)
      expect(yield* transitions(breaker)).toEqual(["Open"])
      const e = yield* Effect.flip(breaker.call(Effect.fail(new TestException())))
      expect(CircuitBreaker.isCircuitOpen(e)).toBe(true)
      expect(yield* breaker.breaker.state).toBe("Open")
    }))

  it.scoped("invoke onHalfOpen during transition to half-open state", () =>
    Effect.gen(function*() {
      const breaker = yield* shortResetTimeoutCb()
      yield* toHalfOpen(breaker, throwException, shortResetTimeout)
      // deliberate difference: published with the first call after the pause (a probe, here)
      yield* breaker.call(sayHi)
      expect((yield* transitions(breaker)).slice(0, 2)).toEqual(["Open", "HalfOpen"])
    }))

  it.scoped("invoke onCallBreakerOpen when called before reset timeout", () =>
    Effect.gen(function*() {
      const breaker = yield* longResetTimeoutCb()
      yield* intercept(breaker.call(throwException), TestException)
      expect(yield* transitions(breaker)).toEqual(["Open"])
      const e = yield* rejected(breaker)
      expect(e.reason).toBe("ConsecutiveFailures")
    }))

  it.scoped("invoke onCallFailure when call results in exception", () =>
    Effect.gen(function*() {
      const breaker = yield* longResetTimeoutCb()
      const [elapsed, exit] = yield* timedExit(breaker.call(throwException))
      expect(Exit.isFailure(exit) && Cause.failureOption(exit.cause)).toEqual(Option.some(expect.any(TestException)))
      // recorded as a failure: it opened the breaker of maxFailures 1
      expect((yield* rejected(breaker)).failures).toBe(1)
      expect(elapsed).toBeLessThan(longResetTimeout)
    }))
})

describe("peer pekko CircuitBreakerSpec: A synchronous circuit breaker that is half-open", () => {
  it.scoped("pass through next call and close on success", () =>
    Effect.gen(function*() {
      const breaker = yield* shortResetTimeoutCb()
      yield* toHalfOpen(breaker, throwException, shortResetTimeout)
      expect(yield* breaker.call(sayHi)).toBe("hi")
      expect(yield* transitions(breaker)).toEqual(["Open", "HalfOpen", "Closed"])
    }))

  it.scoped("pass through next call and close on exception when exception is defined as call succeeded", () =>
    Effect.gen(function*() {
      const breaker = yield* shortResetTimeoutCb()
      yield* toHalfOpen(breaker, throwException, shortResetTimeout)
      const allReturnIsSuccess = () => false
      yield* intercept(breaker.call(throwException, allReturnIsSuccess), TestException)
      expect(yield* transitions(breaker)).toEqual(["Open", "HalfOpen", "Closed"])
    }))

  it.scoped("open on exception in call", () =>
    Effect.gen(function*() {
      const breaker = yield* shortResetTimeoutCb()
      yield* toHalfOpen(breaker, throwException, shortResetTimeout)
      yield* intercept(breaker.call(throwException), TestException)
      expect(yield* transitions(breaker)).toEqual(["Open", "HalfOpen", "Open"])
    }))

  it.scoped("open on even number when even number is defined as failure", () =>
    Effect.gen(function*() {
      const breaker = yield* shortResetTimeoutCb()
      yield* toHalfOpen(breaker, throwException, shortResetTimeout)
      expect(yield* breaker.call(Effect.sync(() => 2), evenNumberIsFailure)).toBe(2)
      expect(yield* transitions(breaker)).toEqual(["Open", "HalfOpen", "Open"])
    }))

  it.scoped("open on calling fail method", () =>
    Effect.gen(function*() {
      const breaker = yield* shortResetTimeoutCb()
      yield* toHalfOpen(breaker, throwException, shortResetTimeout)
      yield* intercept(breaker.call(Effect.fail(new TestException())), TestException)
      expect(yield* transitions(breaker)).toEqual(["Open", "HalfOpen", "Open"])
    }))

  it.scoped("close on calling success method", () =>
    Effect.gen(function*() {
      const breaker = yield* shortResetTimeoutCb()
      yield* toHalfOpen(breaker, throwException, shortResetTimeout)
      yield* breaker.call(Effect.void)
      expect(yield* transitions(breaker)).toEqual(["Open", "HalfOpen", "Closed"])
    }))

  it.scoped("pass through next call and invoke onCallSuccess on success", () =>
    Effect.gen(function*() {
      const breaker = yield* shortResetTimeoutCb()
      yield* toHalfOpen(breaker, throwException, shortResetTimeout)
      const [elapsed, exit] = yield* timedExit(breaker.call(sayHi))
      expect(exit).toEqual(Exit.succeed("hi"))
      expect(elapsed).toBeLessThan(shortResetTimeout)
      expect(yield* breaker.breaker.state).toBe("Closed")
    }))

  it.scoped("pass through next call and invoke onCallFailure on failure", () =>
    Effect.gen(function*() {
      const breaker = yield* shortResetTimeoutCb()
      yield* toHalfOpen(breaker, throwException, shortResetTimeout)
      const [elapsed, exit] = yield* timedExit(breaker.call(throwException))
      expect(Exit.isFailure(exit) && Cause.failureOption(exit.cause)).toEqual(Option.some(expect.any(TestException)))
      expect(elapsed).toBeLessThan(shortResetTimeout)
      expect((yield* rejected(breaker)).reason).toBe("ProbeFailed")
    }))

  it.scoped("pass through next call and invoke onCallTimeout on timeout", () =>
    Effect.gen(function*() {
      const breaker = yield* shortCallTimeoutCb()
      yield* toHalfOpen(breaker, throwException, 500)
      let finished = false
      const [elapsed, exit] = yield* timedExit(breaker.call(Effect.map(threadSleep(200), () => (finished = true))))
      const e = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
      expect(Option.isSome(e) && Deadline.isDeadlineExceeded(e.value) && e.value.reason).toBe("Attempt")
      expect(elapsed).toBeGreaterThan(0)
      expect(elapsed).toBeLessThan(shortCallTimeout * 2)
      // deliberate difference: the call is interrupted when its timeout fires, not left to finish
      expect(finished).toBe(false)
      expect((yield* rejected(breaker)).reason).toBe("ProbeFailed")
    }))

  it.scoped("pass through next call and invoke onCallBreakerOpen while executing other", () =>
    Effect.gen(function*() {
      const breaker = yield* shortResetTimeoutCb()
      yield* toHalfOpen(breaker, throwException, shortResetTimeout)
      const probe = yield* Effect.fork(breaker.call(Effect.as(threadSleep(250), "slept")))
      yield* Effect.yieldNow()
      expect((yield* rejected(breaker)).reason).toBe("ConsecutiveFailures")
      yield* TestClock.adjust("250 millis")
      expect(yield* Fiber.join(probe)).toBe("slept")
    }))

  it.scoped("pass through next call and invoke onCallSuccess after transition to open state", () =>
    Effect.gen(function*() {
      const breaker = yield* shortResetTimeoutCb()
      yield* toHalfOpen(breaker, throwException, shortResetTimeout)
      // withSyncCircuitBreaker(Future.successful(sayHi)): the call's result is a future, a success
      const result = yield* breaker.call(Effect.sync(() => Promise.resolve("hi")))
      expect(yield* Effect.promise(() => result)).toBe("hi")
      expect(yield* transitions(breaker)).toEqual(["Open", "HalfOpen", "Closed"])
    }))
})

describe("peer pekko CircuitBreakerSpec: A synchronous circuit breaker that is closed", () => {
  it.scoped("allow calls through", () =>
    Effect.gen(function*() {
      const breaker = yield* longCallTimeoutCb()
      expect(yield* breaker.call(sayHi)).toBe("hi")
    }))

  it.scoped("increment failure count on failure", () =>
    Effect.gen(function*() {
      const breaker = yield* longCallTimeoutCb()
      expect((yield* breaker.breaker.snapshot).consecutiveFailures).toBe(0)
      yield* intercept(breaker.call(throwException), TestException)
      expect(yield* transitions(breaker)).toEqual(["Open"])
      expect((yield* rejected(breaker)).failures).toBe(1)
    }))

  it.scoped("increment failure count on even number when even number is considered failure", () =>
    Effect.gen(function*() {
      const breaker = yield* longCallTimeoutCb()
      expect((yield* breaker.breaker.snapshot).consecutiveFailures).toBe(0)
      const result = yield* breaker.call(Effect.sync(() => 2), evenNumberIsFailure)
      expect(yield* transitions(breaker)).toEqual(["Open"])
      expect((yield* rejected(breaker)).failures).toBe(1)
      expect(result).toBe(2)
    }))

  it.scoped("increment failure count on fail method", () =>
    Effect.gen(function*() {
      const breaker = yield* longCallTimeoutCb()
      expect((yield* breaker.breaker.snapshot).consecutiveFailures).toBe(0)
      yield* intercept(breaker.call(Effect.fail(new TestException())), TestException)
      expect(yield* transitions(breaker)).toEqual(["Open"])
      expect((yield* rejected(breaker)).failures).toBe(1)
    }))

  it.scoped("reset failure count after success", () =>
    Effect.gen(function*() {
      const breaker = yield* multiFailureCb()
      expect((yield* breaker.breaker.snapshot).consecutiveFailures).toBe(0)
      yield* intercept(breaker.call(throwException), TestException)
      expect((yield* breaker.breaker.snapshot).consecutiveFailures).toBe(1)
      yield* breaker.call(sayHi)
      expect((yield* breaker.breaker.snapshot).consecutiveFailures).toBe(0)
    }))

  it.scoped("reset failure count after exception in call when exception is defined as Success", () =>
    Effect.gen(function*() {
      const breaker = yield* multiFailureCb()
      expect((yield* breaker.breaker.snapshot).consecutiveFailures).toBe(0)
      yield* intercept(breaker.call(throwException), TestException)
      expect((yield* breaker.breaker.snapshot).consecutiveFailures).toBe(1)
      const harmlessException = new TestException()
      const harmlessExceptionAsSuccess = (result: Either.Either<string, unknown>) =>
        Either.isLeft(result) && result.left !== harmlessException
      const e = yield* Effect.flip(breaker.call(Effect.fail(harmlessException), harmlessExceptionAsSuccess))
      expect(e).toBe(harmlessException)
      expect((yield* breaker.breaker.snapshot).consecutiveFailures).toBe(0)
    }))

  it.scoped("reset failure count after success method", () =>
    Effect.gen(function*() {
      const breaker = yield* multiFailureCb()
      expect((yield* breaker.breaker.snapshot).consecutiveFailures).toBe(0)
      yield* intercept(breaker.call(throwException), TestException)
      expect((yield* breaker.breaker.snapshot).consecutiveFailures).toBe(1)
      yield* breaker.call(Effect.void)
      expect((yield* breaker.breaker.snapshot).consecutiveFailures).toBe(0)
    }))

  it.scoped("throw TimeoutException on callTimeout", () =>
    Effect.gen(function*() {
      const breaker = yield* shortCallTimeoutCb()
      const [, exit] = yield* timedExit(breaker.call(threadSleep(200)))
      const e = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
      expect(Option.isSome(e) && Deadline.isDeadlineExceeded(e.value) && e.value.reason).toBe("Attempt")
      expect((yield* rejected(breaker)).failures).toBe(1)
    }))

  it.scoped("increment failure count on callTimeout before call finishes", () =>
    Effect.gen(function*() {
      const breaker = yield* shortCallTimeoutCb()
      let finished = false
      yield* Effect.fork(breaker.call(Effect.map(threadSleep(1_000), () => (finished = true))))
      yield* Effect.yieldNow()
      // within(900.millis) { awaitCond(currentFailureCount == 1) }: counted when the timeout fires
      yield* TestClock.adjust(Duration.millis(shortCallTimeout))
      expect(yield* breaker.breaker.state).toBe("Open")
      expect((yield* rejected(breaker)).failures).toBe(1)
      expect(finished).toBe(false)
    }))

  it.scoped("invoke onCallSuccess if call succeeds", () =>
    Effect.gen(function*() {
      const breaker = yield* shortCallTimeoutCb()
      const [elapsed, exit] = yield* timedExit(breaker.call(sayHi))
      expect(exit).toEqual(Exit.succeed("hi"))
      expect(elapsed).toBeLessThan(shortCallTimeout)
      const snapshot = yield* breaker.breaker.snapshot
      expect({ calls: snapshot.calls, failures: snapshot.failures }).toEqual({ calls: 1, failures: 0 })
    }))

  it.scoped("invoke onCallTimeout if call timeouts", () =>
    Effect.gen(function*() {
      const breaker = yield* shortCallTimeoutCb()
      const [elapsed, exit] = yield* timedExit(breaker.call(threadSleep(250)))
      const e = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
      expect(Option.isSome(e) && Deadline.isDeadlineExceeded(e.value) && e.value.reason).toBe("Attempt")
      expect(elapsed).toBeGreaterThan(0)
      expect(elapsed).toBeLessThan(shortCallTimeout * 2)
      expect((yield* rejected(breaker)).failures).toBe(1)
    }))

  it.scoped("invoke onCallFailure if call fails", () =>
    Effect.gen(function*() {
      const breaker = yield* shortCallTimeoutCb()
      const [elapsed, exit] = yield* timedExit(breaker.call(throwException))
      expect(Exit.isFailure(exit) && Cause.failureOption(exit.cause)).toEqual(Option.some(expect.any(TestException)))
      expect(elapsed).toBeLessThan(shortCallTimeout)
      expect((yield* rejected(breaker)).failures).toBe(1)
    }))

  it.scoped("invoke onOpen if call fails and breaker transits to open state", () =>
    Effect.gen(function*() {
      const breaker = yield* shortCallTimeoutCb()
      yield* intercept(breaker.call(throwException), TestException)
      expect(yield* transitions(breaker)).toEqual(["Open"])
    }))
})

describe("peer pekko CircuitBreakerSpec: An asynchronous circuit breaker that is open", () => {
  it.scoped("throw exceptions when called before reset timeout", () =>
    Effect.gen(function*() {
      const breaker = yield* longResetTimeoutCb()
      yield* intercept(breaker.call(futureThrowException), TestException)
      expect(yield* transitions(breaker)).toEqual(["Open"])
      let ran = false
      const e = yield* Effect.flip(breaker.call(Effect.promise(async () => (ran = true))))
      expect(CircuitBreaker.isCircuitOpen(e)).toBe(true)
      expect(ran).toBe(false)
    }))

  it.scoped("transition to half-open on reset timeout", () =>
    Effect.gen(function*() {
      const breaker = yield* shortResetTimeoutCb()
      yield* intercept(breaker.call(futureThrowException), TestException)
      yield* TestClock.adjust(Duration.millis(shortResetTimeout))
      expect(yield* breaker.breaker.state).toBe("HalfOpen")
      // deliberate difference: HalfOpen is published when the next call arrives
      yield* breaker.call(futureSayHi)
      expect(yield* transitions(breaker)).toEqual(["Open", "HalfOpen", "Closed"])
    }))

  it.scoped("increase the reset timeout after it transits to open again", () =>
    Effect.gen(function*() {
      const breaker = yield* nonOneFactorCb()
      yield* intercept(breaker.call(futureThrowException), TestException)
      expect(yield* transitions(breaker)).toEqual(["Open"])
      const shortRemainingDuration = Duration.toMillis((yield* rejected(breaker)).retryAfter)

      yield* TestClock.adjust("1000 millis")
      expect(yield* breaker.breaker.state).toBe("HalfOpen")

      // transit to open again
      yield* intercept(breaker.call(futureThrowException), TestException)
      expect(yield* transitions(breaker)).toEqual(["Open", "HalfOpen", "Open"])
      const longRemainingDuration = Duration.toMillis((yield* rejected(breaker)).retryAfter)

      expect(shortRemainingDuration).toBeLessThan(longRemainingDuration)
      // randomFactor 0: the reset timeout, then five times it
      expect([shortRemainingDuration, longRemainingDuration]).toEqual([1_000, 5_000])
    }))

  it.scoped("invoke onHalfOpen during transition to half-open state", () =>
    Effect.gen(function*() {
      const breaker = yield* shortResetTimeoutCb()
      yield* toHalfOpen(breaker, futureThrowException, shortResetTimeout)
      // deliberate difference: published with the first call after the pause
      yield* intercept(breaker.call(futureThrowException), TestException)
      expect(yield* transitions(breaker)).toEqual(["Open", "HalfOpen", "Open"])
    }))

  it.scoped("invoke onCallBreakerOpen when called before reset timeout", () =>
    Effect.gen(function*() {
      const breaker = yield* longResetTimeoutCb()
      yield* intercept(breaker.call(futureThrowException), TestException)
      expect(yield* transitions(breaker)).toEqual(["Open"])
      const e = yield* Effect.flip(breaker.call(futureSayHi))
      expect(CircuitBreaker.isCircuitOpen(e)).toBe(true)
    }))

  it.scoped("invoke onCallFailure when call results in exception", () =>
    Effect.gen(function*() {
      const breaker = yield* longResetTimeoutCb()
      const [elapsed, exit] = yield* timedExit(breaker.call(futureThrowException))
      expect(Exit.isFailure(exit) && Cause.failureOption(exit.cause)).toEqual(Option.some(expect.any(TestException)))
      expect(elapsed).toBeLessThan(longResetTimeout)
      expect((yield* rejected(breaker)).failures).toBe(1)
    }))
})

describe("peer pekko CircuitBreakerSpec: An asynchronous circuit breaker that is half-open", () => {
  it.scoped("pass through next call and close on success", () =>
    Effect.gen(function*() {
      const breaker = yield* shortResetTimeoutCb()
      yield* toHalfOpen(breaker, futureThrowException, shortResetTimeout)
      expect(yield* breaker.call(futureSayHi)).toBe("hi")
      expect(yield* transitions(breaker)).toEqual(["Open", "HalfOpen", "Closed"])
    }))

  it.scoped("pass through next call and close on exception when exception is defined as call succeeded", () =>
    Effect.gen(function*() {
      const breaker = yield* shortResetTimeoutCb()
      yield* toHalfOpen(breaker, futureThrowException, shortResetTimeout)
      const allReturnIsSuccess = () => false
      yield* Effect.exit(breaker.call(futureThrowException, allReturnIsSuccess))
      expect(yield* transitions(breaker)).toEqual(["Open", "HalfOpen", "Closed"])
    }))

  it.scoped("re-open on exception in call", () =>
    Effect.gen(function*() {
      const breaker = yield* shortResetTimeoutCb()
      yield* toHalfOpen(breaker, futureThrowException, shortResetTimeout)
      yield* intercept(breaker.call(futureThrowException), TestException)
      expect(yield* transitions(breaker)).toEqual(["Open", "HalfOpen", "Open"])
    }))

  it.scoped("re-open on even number when even number is defined as failure", () =>
    Effect.gen(function*() {
      const breaker = yield* shortResetTimeoutCb()
      yield* toHalfOpen(breaker, throwException, shortResetTimeout)
      expect(yield* breaker.call(Effect.promise(async () => 2), evenNumberIsFailure)).toBe(2)
      expect(yield* transitions(breaker)).toEqual(["Open", "HalfOpen", "Open"])
    }))

  it.scoped("re-open on async failure", () =>
    Effect.gen(function*() {
      const breaker = yield* shortResetTimeoutCb()
      yield* toHalfOpen(breaker, futureThrowException, shortResetTimeout)
      yield* Effect.exit(breaker.call(futureThrowException))
      expect(yield* transitions(breaker)).toEqual(["Open", "HalfOpen", "Open"])
    }))

  it.scoped("pass through next call and invoke onCallSuccess on success", () =>
    Effect.gen(function*() {
      const breaker = yield* shortResetTimeoutCb()
      yield* toHalfOpen(breaker, futureThrowException, shortResetTimeout)
      const [elapsed, exit] = yield* timedExit(breaker.call(futureSayHi))
      expect(exit).toEqual(Exit.succeed("hi"))
      expect(elapsed).toBeLessThan(shortResetTimeout)
      expect(yield* breaker.breaker.state).toBe("Closed")
    }))

  it.scoped("pass through next call and invoke onCallFailure on failure", () =>
    Effect.gen(function*() {
      const breaker = yield* shortResetTimeoutCb()
      yield* toHalfOpen(breaker, futureThrowException, shortResetTimeout)
      const [elapsed, exit] = yield* timedExit(breaker.call(futureThrowException))
      expect(Exit.isFailure(exit) && Cause.failureOption(exit.cause)).toEqual(Option.some(expect.any(TestException)))
      expect(elapsed).toBeLessThan(shortResetTimeout)
      expect((yield* rejected(breaker)).reason).toBe("ProbeFailed")
    }))

  it.scoped("pass through next call and invoke onCallTimeout on timeout", () =>
    Effect.gen(function*() {
      const breaker = yield* shortCallTimeoutCb()
      yield* toHalfOpen(breaker, futureThrowException, 500)
      const [elapsed, exit] = yield* timedExit(breaker.call(threadSleep(200)))
      const e = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
      expect(Option.isSome(e) && Deadline.isDeadlineExceeded(e.value) && e.value.reason).toBe("Attempt")
      expect(elapsed).toBeGreaterThan(0)
      expect(elapsed).toBeLessThan(shortCallTimeout * 2)
      expect((yield* rejected(breaker)).reason).toBe("ProbeFailed")
    }))

  it.scoped("pass through next call and invoke onCallBreakerOpen while executing other", () =>
    Effect.gen(function*() {
      const breaker = yield* shortResetTimeoutCb()
      yield* toHalfOpen(breaker, futureThrowException, shortResetTimeout)
      yield* Effect.fork(breaker.call(threadSleep(250)))
      yield* Effect.yieldNow()
      const e = yield* Effect.flip(breaker.call(futureSayHi))
      expect(CircuitBreaker.isCircuitOpen(e)).toBe(true)
    }))

  it.scoped("pass through next call and invoke onOpen after transition to open state", () =>
    Effect.gen(function*() {
      // (the case checks onCallSuccess, as its synchronous twin does)
      const breaker = yield* shortResetTimeoutCb()
      yield* toHalfOpen(breaker, futureThrowException, shortResetTimeout)
      expect(yield* breaker.call(futureSayHi)).toBe("hi")
      expect(yield* transitions(breaker)).toEqual(["Open", "HalfOpen", "Closed"])
    }))
})

describe("peer pekko CircuitBreakerSpec: An asynchronous circuit breaker that is closed", () => {
  it.scoped("allow calls through", () =>
    Effect.gen(function*() {
      const breaker = yield* longCallTimeoutCb()
      expect(yield* breaker.call(futureSayHi)).toBe("hi")
    }))

  it.scoped("increment failure count on exception", () =>
    Effect.gen(function*() {
      const breaker = yield* longCallTimeoutCb()
      yield* intercept(breaker.call(futureThrowException), TestException)
      expect(yield* transitions(breaker)).toEqual(["Open"])
      expect((yield* rejected(breaker)).failures).toBe(1)
    }))

  it.scoped("increment failure count on even number when even number is considered failure", () =>
    Effect.gen(function*() {
      const breaker = yield* longCallTimeoutCb()
      expect((yield* breaker.breaker.snapshot).consecutiveFailures).toBe(0)
      const result = yield* breaker.call(Effect.promise(async () => 2), evenNumberIsFailure)
      expect(yield* transitions(breaker)).toEqual(["Open"])
      expect((yield* rejected(breaker)).failures).toBe(1)
      expect(result).toBe(2)
    }))

  it.scoped("increment failure count on async failure", () =>
    Effect.gen(function*() {
      const breaker = yield* longCallTimeoutCb()
      yield* Effect.exit(breaker.call(futureThrowException))
      expect(yield* transitions(breaker)).toEqual(["Open"])
      expect((yield* rejected(breaker)).failures).toBe(1)
    }))

  it.scoped("reset failure count after success", () =>
    Effect.gen(function*() {
      const breaker = yield* multiFailureCb()
      yield* breaker.call(futureSayHi)
      for (let i = 1; i <= 4; i++) yield* Effect.exit(breaker.call(futureThrowException))
      expect((yield* breaker.breaker.snapshot).consecutiveFailures).toBe(4)
      yield* breaker.call(futureSayHi)
      expect((yield* breaker.breaker.snapshot).consecutiveFailures).toBe(0)
    }))

  it.scoped("reset failure count after exception in call when exception is defined as Success", () =>
    Effect.gen(function*() {
      const breaker = yield* multiFailureCb()
      for (let i = 1; i <= 4; i++) yield* Effect.exit(breaker.call(futureThrowException))
      expect((yield* breaker.breaker.snapshot).consecutiveFailures).toBe(4)
      const harmlessException = new TestException()
      const harmlessExceptionAsSuccess = (result: Either.Either<string, unknown>) =>
        Either.isLeft(result) && result.left !== harmlessException
      yield* Effect.exit(
        breaker.call(
          Effect.tryPromise({ try: () => Promise.reject(harmlessException), catch: (e) => e }),
          harmlessExceptionAsSuccess
        )
      )
      expect((yield* breaker.breaker.snapshot).consecutiveFailures).toBe(0)
    }))

  it.scoped("increment failure count on callTimeout", () =>
    Effect.gen(function*() {
      const breaker = yield* shortCallTimeoutCb()
      const fut = yield* Effect.fork(breaker.call(Effect.zipRight(threadSleep(150), futureThrowException)))
      yield* Effect.yieldNow()
      yield* TestClock.adjust(Duration.millis(shortCallTimeout))
      expect(yield* transitions(breaker)).toEqual(["Open"])
      expect((yield* rejected(breaker)).failures).toBe(1)
      // the timeout happened before the inner code finished: a timeout, not TestException
      const e = yield* Effect.flip(Fiber.join(fut))
      expect(Deadline.isDeadlineExceeded(e) && e.reason).toBe("Attempt")
    }))

  it.scoped("invoke onCallSuccess if call succeeds", () =>
    Effect.gen(function*() {
      const breaker = yield* shortCallTimeoutCb()
      const [elapsed, exit] = yield* timedExit(breaker.call(futureSayHi))
      expect(exit).toEqual(Exit.succeed("hi"))
      expect(elapsed).toBeLessThan(shortCallTimeout)
      const snapshot = yield* breaker.breaker.snapshot
      expect({ calls: snapshot.calls, failures: snapshot.failures }).toEqual({ calls: 1, failures: 0 })
    }))

  it.scoped("invoke onCallTimeout if call timeouts", () =>
    Effect.gen(function*() {
      const breaker = yield* shortCallTimeoutCb()
      const [elapsed, exit] = yield* timedExit(breaker.call(threadSleep(250)))
      const e = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
      expect(Option.isSome(e) && Deadline.isDeadlineExceeded(e.value) && e.value.reason).toBe("Attempt")
      expect(elapsed).toBeGreaterThan(0)
      expect(elapsed).toBeLessThan(shortCallTimeout * 2)
      expect((yield* rejected(breaker)).failures).toBe(1)
    }))

  it.scoped("invoke onCallFailure if call fails", () =>
    Effect.gen(function*() {
      const breaker = yield* shortCallTimeoutCb()
      const [elapsed, exit] = yield* timedExit(breaker.call(futureThrowException))
      expect(Exit.isFailure(exit) && Cause.failureOption(exit.cause)).toEqual(Option.some(expect.any(TestException)))
      expect(elapsed).toBeLessThan(shortCallTimeout)
      expect((yield* rejected(breaker)).failures).toBe(1)
    }))

  it.scoped("invoke onOpen if call fails and breaker transits to open state", () =>
    Effect.gen(function*() {
      const breaker = yield* shortCallTimeoutCb()
      yield* Effect.exit(breaker.call(futureThrowException))
      expect(yield* transitions(breaker)).toEqual(["Open"])
    }))
})

// The config's "identified" breaker (max-failures 1, call-timeout 100 ms, reset-timeout 200 ms, exception-allowlist
// AllowException), looked up by name in a registry. Pekko's five cases run in turn on the one breaker; each `it`
// replays the steps before its own on a fresh registry.
const identified = Effect.gen(function*() {
  const registry = yield* CircuitBreaker.makeRegistry({
    breaker: {
      consecutiveFailures: 1,
      breakDuration: "200 millis",
      isFailure: isFailureWith((e) => !(e instanceof AllowException))
    }
  })
  return yield* pekkoBreaker(yield* registry.get("identified"), "100 millis")
})

const identifiedSteps: ReadonlyArray<(cb: PekkoBreaker) => Effect.Effect<void, unknown>> = [
  // be closed after success result
  (cb) =>
    Effect.gen(function*() {
      expect(yield* cb.call(futureSayHi)).toBe("hi")
      const snapshot = yield* cb.breaker.snapshot
      expect([snapshot.state, snapshot.calls, snapshot.failures]).toEqual(["Closed", 1, 0])
    }),
  // be closed after throw allowable exception
  (cb) =>
    Effect.gen(function*() {
      yield* intercept(cb.call(futureThrowAllowException), AllowException)
      const snapshot = yield* cb.breaker.snapshot
      expect([snapshot.state, snapshot.calls, snapshot.failures]).toEqual(["Closed", 2, 0])
    }),
  // be open after throw exception and half-open after reset timeout
  (cb) =>
    Effect.gen(function*() {
      yield* intercept(cb.call(futureThrowException), TestException)
      expect(yield* transitions(cb)).toEqual(["Open"])
      yield* TestClock.adjust("250 millis")
      expect(yield* cb.breaker.state).toBe("HalfOpen")
    }),
  // be closed again after success result
  (cb) =>
    Effect.gen(function*() {
      expect(yield* cb.call(futureSayHi)).toBe("hi")
      expect(yield* transitions(cb)).toEqual(["Open", "HalfOpen", "Closed"])
    }),
  // be open after pass custom failure function and throw allowable exception
  (cb) =>
    Effect.gen(function*() {
      yield* intercept(cb.call(futureThrowAllowException, anyExceptionIsFailure), AllowException)
      expect((yield* transitions(cb)).at(-1)).toBe("Open")
      expect((yield* rejected(cb)).failures).toBe(1)
    })
]

const identifiedCase = (n: number) =>
  Effect.gen(function*() {
    const cb = yield* identified
    for (const step of identifiedSteps.slice(0, n + 1)) yield* step(cb)
  })

describe("peer pekko CircuitBreakerSpec: An identified asynchronous circuit breaker", () => {
  it.scoped("be closed after success result", () => identifiedCase(0))
  it.scoped("be closed after throw allowable exception", () => identifiedCase(1))
  it.scoped("be open after throw exception and half-open after reset timeout", () => identifiedCase(2))
  it.scoped("be closed again after success result", () => identifiedCase(3))
  it.scoped("be open after pass custom failure function and throw allowable exception", () => identifiedCase(4))
})

// CircuitBreakerMTSpec: maxFailures 5, callTimeout 2 s, resetTimeout 3 s, 100 test calls at once
const mtBreaker = () => makePekkoBreaker(5, "2 seconds", "3 seconds")
const maxFailures = 5
const numberOfTestCalls = 100

const openBreaker = (cb: PekkoBreaker) =>
  Effect.gen(function*() {
    // true if the breaker is open
    const failingCall = Effect.map(
      Effect.flip(cb.call(Effect.fail(new Error("FAIL")))),
      (e) => CircuitBreaker.isCircuitOpen(e)
    )
    // fire some failing calls
    for (let i = 1; i <= maxFailures + 1; i++) yield* failingCall
    // and then continue with failing calls until the breaker is open
    let open = false
    for (let i = 0; i < 100 && !open; i++) open = yield* failingCall
    expect(open).toBe(true)
  })

// TestLatch(n)
const testLatch = (count: number) =>
  Effect.map(Deferred.make<void>(), (done) => {
    let left = count
    return {
      countDown: Effect.suspend(() => --left <= 0 ? Deferred.succeed(done, undefined) : Effect.void),
      ready: (timeout: Duration.DurationInput) => Effect.timeout(Deferred.await(done), timeout)
    }
  })

const testCallsWithBreaker = (cb: PekkoBreaker) =>
  Effect.gen(function*() {
    const aFewActive = yield* testLatch(5)
    const one = cb.call(
      Effect.gen(function*() {
        yield* aFewActive.countDown
        yield* aFewActive.ready("5 seconds")
        return "succeed"
      })
    ).pipe(
      Effect.catchIf(CircuitBreaker.isCircuitOpen, () => Effect.as(aFewActive.countDown, "CBO"))
    )
    const calls = Effect.forEach(Array.from({ length: numberOfTestCalls }), () => one, { concurrency: "unbounded" })
    return yield* Effect.flatMap(advanceToDone(calls), (exit) => exit)
  })

describe("peer pekko CircuitBreakerMTSpec: A circuit breaker being called by many threads", () => {
  it.scoped("allow many calls while in closed state with no errors", () =>
    Effect.gen(function*() {
      const result = yield* testCallsWithBreaker(yield* mtBreaker())
      expect(result.length).toBe(numberOfTestCalls)
      expect(new Set(result)).toEqual(new Set(["succeed"]))
    }))

  it.scoped("transition to open state upon reaching failure limit and fail-fast", () =>
    Effect.gen(function*() {
      const breaker = yield* mtBreaker()
      yield* openBreaker(breaker)
      const result = yield* testCallsWithBreaker(breaker)
      expect(result.length).toBe(numberOfTestCalls)
      expect(new Set(result)).toEqual(new Set(["CBO"]))
    }))

  it.scoped("allow a single call through in half-open state", () =>
    Effect.gen(function*() {
      const breaker = yield* mtBreaker()
      yield* openBreaker(breaker)
      // breaker should become half-open after a while
      yield* TestClock.adjust("3 seconds")
      expect(yield* breaker.breaker.state).toBe("HalfOpen")
      const result = yield* testCallsWithBreaker(breaker)
      expect(result.length).toBe(numberOfTestCalls)
      expect(new Set(result)).toEqual(new Set(["succeed", "CBO"]))
      expect(result.filter((r) => r === "succeed").length).toBe(1)
    }))

  it.scoped("recover and reset the breaker after the reset timeout", () =>
    Effect.gen(function*() {
      const breaker = yield* mtBreaker()
      yield* openBreaker(breaker)
      yield* TestClock.adjust("3 seconds")
      expect(yield* breaker.breaker.state).toBe("HalfOpen")
      // one successful call should close the breaker
      yield* breaker.call(Effect.succeed("succeed"))
      expect((yield* transitions(breaker)).at(-1)).toBe("Closed")
      const result = yield* testCallsWithBreaker(breaker)
      expect(result.length).toBe(numberOfTestCalls)
      expect(new Set(result)).toEqual(new Set(["succeed"]))
    }))
})

describe("peer pekko CircuitBreakerStressSpec", () => {
  it.scoped("A CircuitBreaker", () =>
    Effect.gen(function*() {
      // reproducer for issue #17415: a job ending as its timeout fires must be a success or a timeout, nothing else
      const breaker = yield* makePekkoBreaker(5, "200 millis", "200 seconds")
      const job = Effect.flatMap(Random.nextIntBetween(0, 300), (millis) => Effect.as(threadSleep(millis), "JobDone"))
      const stressActor = () => {
        const result = { doneCount: 0, timeoutCount: 0, failCount: 0, circCount: 0 }
        const chain = Effect.gen(function*() {
          while ((yield* Clock.currentTimeMillis) < 3_000) {
            const exit = yield* Effect.exit(breaker.call(job))
            if (Exit.isSuccess(exit)) {
              result.doneCount++
              continue
            }
            const failure = Cause.failureOption(exit.cause)
            if (Option.isSome(failure) && CircuitBreaker.isCircuitOpen(failure.value)) {
              result.circCount++
              // the actor's mailbox turn
              yield* threadSleep(500)
            } else if (Option.isSome(failure) && Deadline.isDeadlineExceeded(failure.value)) {
              result.timeoutCount++
            } else {
              result.failCount++
            }
          }
        })
        return { result, chain }
      }
      const stressActors = Array.from({ length: 3 }, stressActor)
      const chains = []
      // Pekko: `for (_ <- 0 to 1000; a <- stressActors) a ! JobDone`; scaled down to 0 to 10 (see the header)
      for (let i = 0; i <= 10; i++) for (const a of stressActors) chains.push(a.chain)
      // let them work for a while
      const all = yield* Effect.fork(Effect.all(chains, { concurrency: "unbounded", discard: true }))
      // let them work for a while: 3 s, and the calls under way then end
      yield* TestClock.adjust("3500 millis")
      const exit = yield* Fiber.await(all)
      expect(Exit.isSuccess(exit)).toBe(true)
      for (const a of stressActors) {
        expect(a.result.failCount).toBe(0)
        // the run did what the reproducer needs: jobs that ended, timed out and were turned away
        expect(a.result.doneCount).toBeGreaterThan(0)
        expect(a.result.timeoutCount).toBeGreaterThan(0)
        expect(a.result.circCount).toBeGreaterThan(0)
      }
    }).pipe(Effect.withRandom(Random.make(17415))))
})

describe("peer pekko CircuitBreakerTest (Java API)", () => {
  it.scoped("useCircuitBreakerWithCompletableFuture", () =>
    Effect.gen(function*() {
      const breaker = yield* makePekkoBreaker(1, "5 seconds", "500 millis")
      expect(yield* breaker.call(Effect.promise(() => Promise.resolve("hello")))).toBe("hello")
    }))

  it.scoped("useCircuitBreakerWithCompletableFutureAndCustomDefineFailure", () =>
    Effect.gen(function*() {
      const breaker = yield* makePekkoBreaker(1, "5 seconds", "500 millis")
      const fn = (result: Either.Either<string, unknown>) => Either.isRight(result) && result.right === "hello"
      expect(yield* breaker.call(Effect.promise(() => Promise.resolve("hello")), fn)).toBe("hello")
      // currentFailureCount 1: the breaker of maxFailures 1 opened on it
      expect((yield* rejected(breaker)).failures).toBe(1)
    }))
})
