// Ported from cockatiel's src/errors/Errors.test.ts (connor4312/cockatiel), one `it` per cockatiel case, named after
// it. Mapping: `isBrokenCircuitError` is `CircuitBreaker.isCircuitOpen` (an isolated breaker's rejection is a
// `CircuitOpen` too, with reason "Isolated"), `isIsolatedCircuitError` is that with reason "Isolated",
// `isBulkheadRejectedError` is `Bulkhead.isBulkheadRejected`, and `isTaskCancelledError` (a timeout) is
// `Deadline.isDeadlineExceeded`. cockatiel's HydratingCircuitError has no counterpart (no state to hydrate).
import { describe, expect, it } from "@effect/vitest"
import { Bulkhead, CircuitBreaker, Deadline } from "@sturdy/policy"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"

// the failures as the policies produce them
const errors = Effect.gen(function*() {
  const breaker = yield* CircuitBreaker.make("k", { consecutiveFailures: 1 })
  yield* Effect.flip(CircuitBreaker.withBreaker(Effect.fail("down"), breaker))
  const broken = yield* Effect.flip(CircuitBreaker.withBreaker(Effect.void, breaker))
  yield* breaker.isolate
  const isolated = yield* Effect.flip(CircuitBreaker.withBreaker(Effect.void, breaker))

  const bulkhead = yield* Bulkhead.make({ maxConcurrent: 1 })
  const holder = yield* Effect.fork(Bulkhead.withBulkhead(Effect.never, bulkhead))
  yield* Effect.yieldNow()
  const rejected = yield* Effect.flip(Bulkhead.withBulkhead(Effect.void, bulkhead))
  yield* Fiber.interrupt(holder)

  const timing = yield* Effect.fork(Effect.flip(Deadline.withDeadline(Effect.never, "1 second")))
  yield* TestClock.adjust("1 second")
  const cancelled = yield* Fiber.join(timing)
  return { broken, isolated, rejected, cancelled, plain: new Error("plain") }
})

const isIsolated = (u: unknown) => CircuitBreaker.isCircuitOpen(u) && u.reason === "Isolated"

describe("peer cockatiel Errors", () => {
  describe("isBrokenCircuitError", () => {
    it.scoped("returns true for an instance of BrokenCircuitError", () =>
      Effect.map(errors, (e) => {
        expect(CircuitBreaker.isCircuitOpen(e.broken)).toBe(true)
        expect(CircuitBreaker.isCircuitOpen(new CircuitBreaker.CircuitOpen({ key: "k", retryAfter: Duration.zero })))
          .toBe(true)
      }))
    it.scoped("returns true for an instance of IsolatedCircuitError", () =>
      Effect.map(errors, (e) => expect(CircuitBreaker.isCircuitOpen(e.isolated)).toBe(true)))
    it.scoped("returns false for an instance of BulkheadRejectedError", () =>
      Effect.map(errors, (e) => expect(CircuitBreaker.isCircuitOpen(e.rejected)).toBe(false)))
    it.scoped("returns false for an instance of TaskCancelledError", () =>
      Effect.map(errors, (e) => {
        expect(CircuitBreaker.isCircuitOpen(e.cancelled)).toBe(false)
        expect(CircuitBreaker.isCircuitOpen(e.plain)).toBe(false)
      }))
  })

  describe("BulkheadRejectedError", () => {
    it.scoped("returns true for an instance of BulkheadRejectedError", () =>
      Effect.map(errors, (e) => {
        expect(Bulkhead.isBulkheadRejected(e.rejected)).toBe(true)
        expect(Bulkhead.isBulkheadRejected(new Bulkhead.BulkheadRejected({ key: "k", reason: "Timeout" }))).toBe(true)
      }))
    it.scoped("returns false for an instance of BrokenCircuitError", () =>
      Effect.map(errors, (e) => expect(Bulkhead.isBulkheadRejected(e.broken)).toBe(false)))
    it.scoped("returns false for an instance of IsolatedCircuitError", () =>
      Effect.map(errors, (e) => expect(Bulkhead.isBulkheadRejected(e.isolated)).toBe(false)))
    it.scoped("returns false for an instance of TaskCancelledError", () =>
      Effect.map(errors, (e) => {
        expect(Bulkhead.isBulkheadRejected(e.cancelled)).toBe(false)
        expect(Bulkhead.isBulkheadRejected(e.plain)).toBe(false)
        expect(Bulkhead.isBulkheadRejected(null)).toBe(false)
      }))
  })

  describe("IsolatedCircuitError", () => {
    it.scoped("returns true for an instance of IsolatedCircuitError", () =>
      Effect.map(errors, (e) => expect(isIsolated(e.isolated)).toBe(true)))
    it.scoped("returns false for an instance of BrokenCircuitError", () =>
      Effect.map(errors, (e) => expect(isIsolated(e.broken)).toBe(false)))
    it.scoped("returns false for an instance of BulkheadRejectedError", () =>
      Effect.map(errors, (e) => expect(isIsolated(e.rejected)).toBe(false)))
    it.scoped("returns false for an instance of TaskCancelledError", () =>
      Effect.map(errors, (e) => expect(isIsolated(e.cancelled)).toBe(false)))
  })

  describe("TaskCancelledError", () => {
    it.scoped("returns true for an instance of TaskCancelledError", () =>
      Effect.map(errors, (e) => {
        expect(Deadline.isDeadlineExceeded(e.cancelled)).toBe(true)
        expect(
          Deadline.isDeadlineExceeded(
            new Deadline.DeadlineExceeded({ reason: "Attempt", timeout: Duration.seconds(1) })
          )
        )
          .toBe(true)
      }))
    it.scoped("returns false for an instance of BrokenCircuitError", () =>
      Effect.map(errors, (e) => {
        expect(Deadline.isDeadlineExceeded(e.broken)).toBe(false)
        expect(Deadline.isDeadlineExceeded(e.isolated)).toBe(false)
        expect(Deadline.isDeadlineExceeded(e.rejected)).toBe(false)
        expect(Deadline.isDeadlineExceeded(e.plain)).toBe(false)
        expect(Deadline.isDeadlineExceeded(undefined)).toBe(false)
      }))
  })
})
