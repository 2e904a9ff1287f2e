// Ported from cep21/circuit at 076289099fe63d129cfa553c0d1d8c32b3ed8516: closers/simplelogic/closers_test.go, one `it`
// per Go test, named after it.
// Mapping: `ConsecutiveErrOpenerFactory(ConfigConsecutiveErrOpener{ErrorThreshold: n})` is a breaker with
// `consecutiveFailures: n`; the opener's `ShouldOpen` is the breaker's state after the call, and its count is
// `snapshot.consecutiveFailures`. `ErrFailure` is a failed call, `ErrTimeout` a call its `Deadline.attemptTimeout`
// ends (a counted failure), `Success` a successful call; the events the opener ignores are a bad request (`isIgnored`,
// utils/cep21.ts's `BadRequest`), an interrupted call (`ErrInterrupt`) and a bulkhead's rejection
// (`ErrConcurrencyLimitReject`). `Closed()` is `reset` (the breaker closing), `Opened()` the breaker opening.
// Deliberate difference: the default threshold is 3 consecutive failures, where cep21's simplelogic opener defaults
// to 10.
// Not ported: TestConsecutiveErrOpenerFactory_ConcurrentCreation, TestConsecutiveErrOpener_Merge and
// TestConsecutiveErrOpener_Config (the Go config structs and their thread safety: Sturdy's options are fixed when the
// breaker is made); TestConsecutiveErrOpener_OtherMethods's `Prevent` and `ErrShortCircuit` (a short-circuited call
// never reaches the opener: the breaker rejects it before anything is recorded, so there is nothing to count).
import { describe, expect, it } from "@effect/vitest"
import { Bulkhead, CircuitBreaker, Deadline } from "@sturdy/policy"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import { BadRequest, isBadRequest, makeCircuit } from "./utils/cep21.js"

const opener = (ErrorThreshold?: number) =>
  CircuitBreaker.make("SimpleLogic", {
    ...(ErrorThreshold === undefined ? {} : { consecutiveFailures: ErrorThreshold }),
    isIgnored: isBadRequest
  })

const call = <A, E>(breaker: CircuitBreaker.CircuitBreaker, body: Effect.Effect<A, E>) =>
  Effect.exit(CircuitBreaker.withBreaker(body, breaker))

const errFailure = (breaker: CircuitBreaker.CircuitBreaker) => call(breaker, Effect.fail(new Error("failure")))

const errTimeout = (breaker: CircuitBreaker.CircuitBreaker) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(call(breaker, Deadline.attemptTimeout(Effect.never, "1 second")))
    yield* TestClock.adjust("1 second")
    const exit = yield* Fiber.join(fiber)
    expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && Deadline.isDeadlineExceeded(exit.cause.error)).toBe(
      true
    )
  })

const consecutive = (breaker: CircuitBreaker.CircuitBreaker) =>
  Effect.map(breaker.snapshot, (s) => s.consecutiveFailures)

describe("cep21/circuit closers/simplelogic closers_test.go", () => {
  it.effect("TestConsecutiveErrOpenerFactory", () =>
    Effect.gen(function*() {
      const o = yield* opener(5)
      for (let i = 0; i < 4; i++) yield* errFailure(o)
      expect(yield* o.state).toBe("Closed")
      yield* errFailure(o)
      expect(yield* o.state).toBe("Open")
      // the default threshold: Sturdy's is 3 (cep21's simplelogic default is 10)
      const d = yield* opener()
      for (let i = 0; i < 2; i++) yield* errFailure(d)
      expect(yield* d.state).toBe("Closed")
      yield* errFailure(d)
      expect(yield* d.state).toBe("Open")
    }).pipe(Effect.scoped))

  it.effect("TestConsecutiveErrOpener_ShouldOpen", () =>
    Effect.gen(function*() {
      const o = yield* opener(3)
      // initially should not open
      expect(yield* o.state).toBe("Closed")
      yield* errFailure(o)
      expect(yield* o.state).toBe("Closed")
      yield* errTimeout(o)
      expect(yield* o.state).toBe("Closed")
      // after three errors (a timeout among them) it opens
      yield* errFailure(o)
      expect(yield* o.state).toBe("Open")

      // reset on success
      const s = yield* opener(3)
      yield* errFailure(s)
      yield* errFailure(s)
      expect(yield* consecutive(s)).toBe(2)
      yield* call(s, Effect.void)
      expect(yield* consecutive(s)).toBe(0)
      yield* errFailure(s)
      expect(yield* s.state).toBe("Closed")

      // reset when closed
      yield* errFailure(s)
      expect(yield* consecutive(s)).toBe(2)
      yield* s.reset
      expect(yield* consecutive(s)).toBe(0)
      yield* errFailure(s)
      expect(yield* s.state).toBe("Closed")

      // reset when opened
      yield* errFailure(s)
      yield* errFailure(s)
      expect(yield* s.state).toBe("Open")
      expect(yield* consecutive(s)).toBe(0)
    }).pipe(Effect.scoped))

  it.effect("TestConsecutiveErrOpener_OtherMethods", () =>
    Effect.gen(function*() {
      const o = yield* opener(1)
      // a bad request, an interrupt and a concurrency-limit rejection do not count
      yield* call(o, Effect.fail(new BadRequest({ message: "bad" })))
      const interrupted = yield* Effect.fork(call(o, Effect.never))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(interrupted)
      const bulkhead = yield* Bulkhead.make({ maxConcurrent: 1 })
      const gate = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(Bulkhead.withBulkhead(Deferred.await(gate), bulkhead))
      yield* Effect.yieldNow()
      const rejected = yield* call(o, Bulkhead.withBulkhead(Effect.void, bulkhead))
      expect(
        Exit.isFailure(rejected) && rejected.cause._tag === "Fail" && Bulkhead.isBulkheadRejected(rejected.cause.error)
      )
        .toBe(true)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(holder)
      expect(yield* consecutive(o)).toBe(0)
      expect(yield* o.state).toBe("Closed")
    }).pipe(Effect.scoped))

  it.effect("TestConsecutiveErrOpener_CircuitIntegration", () =>
    Effect.gen(function*() {
      const c = yield* makeCircuit("SimpleLogic", { breaker: { consecutiveFailures: 2 } })
      // circuit should start closed
      expect(yield* c.isOpen).toBe(false)
      // bad requests don't count towards failures
      const bad = yield* Effect.exit(c.execute(Effect.fail(new BadRequest({ message: "" }))))
      expect(Exit.isFailure(bad)).toBe(true)
      expect(yield* c.isOpen).toBe(false)
      // two failures open the circuit
      for (let i = 0; i < 2; i++) {
        expect(Exit.isFailure(yield* Effect.exit(c.execute(Effect.fail(new Error("failure")))))).toBe(true)
      }
      expect(yield* c.isOpen).toBe(true)
    }).pipe(Effect.scoped))
})
