// Ported from eapache/go-resiliency at 39c0aa4a7ec871cc8e2f7be2c44db1362e0667b7: breaker/breaker_test.go, one `it` per
// Go test, named after it.
// Mapping: `breaker.New(errorThreshold, successThreshold, timeout)` opens when `errorThreshold` errors come with no
// error-free period of `timeout` between them, half-opens after `timeout`, and closes after `successThreshold`
// successes in a row (or reopens on one error); it is `CircuitBreaker.make(key, { failureRateThreshold: 1,
// minimumThroughput: errorThreshold, slidingWindow: timeout, breakDuration: timeout, successThreshold,
// halfOpenMaxProbes: Number.MAX_SAFE_INTEGER })`: `errorThreshold` calls within a sliding `timeout`, all failed (the
// tests never mix a success into a failing run while closed, where go-resiliency would keep counting the errors and
// Sturdy's ratio would drop below 1), and any number of half-open calls at once, as go-resiliency admits every call
// while half-open. `Run(work)` is a call through `withBreaker`; `Go(work)` is the same call forked, which answers
// the breaker's rejection (`ErrBreakerOpen` is `CircuitOpen`) as soon as it has one, or `undefined`; a panic is a
// defect; `GetState()` is `state`; `time.Sleep` is `TestClock.adjust`.
// Deliberate differences: none met by these cases (a half-open failure reopens at once in both).
// Not ported: ExampleBreaker (no assertion).
import { describe, expect, it } from "@effect/vitest"
import { CircuitBreaker } from "@sturdy/policy"
import * as Cause from "effect/Cause"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { rejectionOf } from "./utils/goBreaker.js"

const errSomeError = new Error("errSomeError")
const returnsError = Effect.fail(errSomeError)
const returnsSuccess = Effect.void
const alwaysPanics = Effect.die("foo")

const New = (errorThreshold: number, successThreshold: number, timeout: Duration.DurationInput) =>
  CircuitBreaker.make("breaker", {
    failureRateThreshold: 1,
    minimumThroughput: errorThreshold,
    slidingWindow: timeout,
    breakDuration: timeout,
    successThreshold,
    halfOpenMaxProbes: Number.MAX_SAFE_INTEGER
  })

// Run: the work's own outcome, or the breaker's rejection
const Run = <E>(breaker: CircuitBreaker.CircuitBreaker, work: Effect.Effect<void, E>) =>
  Effect.exit(CircuitBreaker.withBreaker(work, breaker))

// Go: the breaker's rejection (ErrBreakerOpen) if it refused the work, else undefined (the work runs in its own fiber)
const Go = <E>(breaker: CircuitBreaker.CircuitBreaker, work: Effect.Effect<void, E>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(rejectionOf(breaker, work))
    yield* Effect.yieldNow()
    const done = yield* Fiber.poll(fiber)
    return Option.isSome(done) && Exit.isSuccess(done.value) ? done.value.value : undefined
  })

const isOpenRejection = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" && CircuitBreaker.isCircuitOpen(exit.cause.error)

describe("peer go-resiliency breaker_test.go", () => {
  it.scoped("TestBreakerErrorExpiry", () =>
    Effect.gen(function*() {
      const breaker = yield* New(2, 1, "10 millis")
      expect(yield* breaker.state).toBe("Closed")

      for (let i = 0; i < 3; i++) {
        expect(yield* Run(breaker, returnsError)).toEqual(Exit.fail(errSomeError))
        yield* TestClock.adjust("10 millis")
      }
      expect(yield* breaker.state).toBe("Closed")

      for (let i = 0; i < 3; i++) {
        expect(yield* Go(breaker, returnsError)).toBeUndefined()
        yield* TestClock.adjust("10 millis")
      }
      expect(yield* breaker.state).toBe("Closed")
    }))

  it.scoped("TestBreakerPanicsCountAsErrors", () =>
    Effect.gen(function*() {
      const breaker = yield* New(3, 2, "1 second")
      expect(yield* breaker.state).toBe("Closed")

      // three errors opens the breaker; each caller gets the panic again
      for (let i = 0; i < 3; i++) {
        const exit = yield* Run(breaker, alwaysPanics)
        expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toBe("foo")
      }

      // breaker is open
      expect(yield* breaker.state).toBe("Open")
      for (let i = 0; i < 5; i++) expect(isOpenRejection(yield* Run(breaker, returnsError))).toBe(true)
    }))

  it.scoped("TestBreakerStateTransitions", () =>
    Effect.gen(function*() {
      const breaker = yield* New(3, 2, "10 millis")
      expect(yield* breaker.state).toBe("Closed")

      // three errors opens the breaker
      for (let i = 0; i < 3; i++) expect(yield* Run(breaker, returnsError)).toEqual(Exit.fail(errSomeError))

      // breaker is open
      expect(yield* breaker.state).toBe("Open")
      for (let i = 0; i < 5; i++) expect(isOpenRejection(yield* Run(breaker, returnsError))).toBe(true)

      // wait for it to half-close
      yield* TestClock.adjust("20 millis")
      expect(yield* breaker.state).toBe("HalfOpen")
      // one success works, but is not enough to fully close
      expect(yield* Run(breaker, returnsSuccess)).toEqual(Exit.void)
      // error works, but re-opens immediately
      expect(yield* Run(breaker, returnsError)).toEqual(Exit.fail(errSomeError))
      // breaker is open
      expect(yield* breaker.state).toBe("Open")
      expect(isOpenRejection(yield* Run(breaker, returnsError))).toBe(true)

      // wait for it to half-close
      yield* TestClock.adjust("20 millis")
      expect(yield* breaker.state).toBe("HalfOpen")
      // two successes is enough to close it for good
      for (let i = 0; i < 2; i++) expect(yield* Run(breaker, returnsSuccess)).toEqual(Exit.void)
      expect(yield* breaker.state).toBe("Closed")
      // error works
      expect(yield* Run(breaker, returnsError)).toEqual(Exit.fail(errSomeError))
      // breaker is still closed
      expect(yield* breaker.state).toBe("Closed")
      expect(yield* Run(breaker, returnsSuccess)).toEqual(Exit.void)
    }))

  it.scoped("TestBreakerAsyncStateTransitions", () =>
    Effect.gen(function*() {
      const breaker = yield* New(3, 2, "10 millis")
      // just enough to yield the scheduler and let the fibers work off
      const settle = Effect.repeatN(Effect.yieldNow(), 10)

      // three errors opens the breaker
      for (let i = 0; i < 3; i++) expect(yield* Go(breaker, returnsError)).toBeUndefined()
      yield* settle

      // breaker is open
      for (let i = 0; i < 5; i++) expect(CircuitBreaker.isCircuitOpen(yield* Go(breaker, returnsError))).toBe(true)

      // wait for it to half-close
      yield* TestClock.adjust("20 millis")
      // one success works, but is not enough to fully close
      expect(yield* Go(breaker, returnsSuccess)).toBeUndefined()
      // error works, but re-opens immediately
      expect(yield* Go(breaker, returnsError)).toBeUndefined()
      yield* settle
      // breaker is open
      expect(CircuitBreaker.isCircuitOpen(yield* Go(breaker, returnsError))).toBe(true)

      // wait for it to half-close
      yield* TestClock.adjust("20 millis")
      // two successes is enough to close it for good
      for (let i = 0; i < 2; i++) expect(yield* Go(breaker, returnsSuccess)).toBeUndefined()
      yield* settle
      expect(yield* breaker.state).toBe("Closed")
      // error works
      expect(yield* Go(breaker, returnsError)).toBeUndefined()
      yield* settle
      // breaker is still closed
      expect(yield* Go(breaker, returnsSuccess)).toBeUndefined()
      expect(yield* breaker.state).toBe("Closed")
    }))
})
