// Ported from cep21/circuit at 076289099fe63d129cfa553c0d1d8c32b3ed8516: the circuit-level cases of
// circuit_regression_test.go that a user can observe, one `it` per Go test, named after it.
// Mapping: as in peer-cep21-circuit-Circuit.test.ts (utils/cep21.ts's `makeCircuit`; `ForceOpen` and `OpenCircuit`
// are `isolate`); `regAlwaysAllowCloser` (every call probes, a success closes) is `breakDuration: 0` with room for
// every probe; `regFlappyOpener` (opens on any failure) is `consecutiveFailures: 1`; `regOneProbeCloser` (one probe
// per opening) is the default `halfOpenMaxProbes: 1`. A run holding the circuit's concurrency slot is a call through
// the circuit's bulkhead (cep21 lets it in with `ForcedClosed`, which Sturdy has not). The Opened/Closed metrics are
// the transitions on `subscribe`.
// Deliberate difference: Sturdy's breaker stands outside the bulkhead, so a probe the bulkhead turns away fails with
// `BulkheadRejected` "Full" (the slot given back, the state unchanged); cep21 checks the concurrency before spending
// the probe and answers a short circuit. Both leave the probe for the next call.
// Not ported: TestRegression_TimeoutReadOnceUnderConfigChange and TestRegression_SetConfigNotThreadSafeWhileOpenStill
// Recovers (reconfiguring a live circuit), TestRegression_NilRunFuncNeverPanics (a nil function), TestRegression_Manual
// TransitionsUnderForceFlags (`ForcedClosed`), the bad-request unwrapping and error-string cases (Go's `errors.As` and
// messages), the Manager cases (cep21's circuit registry by name: no counterpart of its constructors), and the
// listener-delivery cases (panicking, re-entrant, `Goexit`ing or slow `Metrics` listeners, the stale ShouldOpen /
// ShouldClose re-checks under the transition lock: Go concurrency inside the notifier; Sturdy's transitions are one
// step each and published to a stream).
import { describe, expect, it } from "@effect/vitest"
import { Bulkhead, CircuitBreaker } from "@sturdy/policy"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { makeCircuit } from "./utils/cep21.js"
import { holdPermit } from "./utils/holdPermit.js"

const failureOf = <A, E>(exit: Exit.Exit<A, E>) =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined

describe("cep21/circuit circuit_regression_test.go", () => {
  it.effect("TestRegression_ForceOpenNeverRuns", () =>
    Effect.gen(function*() {
      const c = yield* makeCircuit("fo", { breaker: { breakDuration: 0, halfOpenMaxProbes: 10 } })
      yield* c.breaker.isolate
      let ran = 0
      for (let i = 0; i < 10; i++) {
        const exit = yield* Effect.exit(c.execute(Effect.sync(() => void ran++)))
        expect(CircuitBreaker.isCircuitOpen(failureOf(exit))).toBe(true)
      }
      expect(ran).toBe(0)
    }).pipe(Effect.scoped))

  it.effect("TestRegression_TransitionEventsDeliveredInOrder", () =>
    Effect.gen(function*() {
      // cep21 runs 30 trials of a real-concurrency race; fibers interleave deterministically, so 5 suffice
      for (let trial = 0; trial < 5; trial++) {
        const c = yield* makeCircuit("flap", {
          Timeout: -1,
          MaxConcurrentRequests: -1,
          breaker: { consecutiveFailures: 1, breakDuration: 0, halfOpenMaxProbes: 8 }
        })
        const seq: Array<CircuitBreaker.StateChange> = []
        yield* Effect.forkScoped(Stream.runForEach(yield* c.breaker.subscribe, (e) => Effect.sync(() => seq.push(e))))
        const bad = new Error("bad")
        const worker = (g: number) =>
          Effect.forEach(
            Array.from({ length: 200 }, (_, i) => i),
            (i) => Effect.exit(c.run((i + g) % 2 === 0 ? Effect.fail(bad) : Effect.void)),
            { discard: true }
          )
        yield* Effect.all(Array.from({ length: 8 }, (_, g) => worker(g)), { concurrency: "unbounded", discard: true })
        yield* Effect.repeatN(Effect.yieldNow(), 20)
        expect(seq.length).toBeGreaterThan(0)
        // every transition starts where the one before it ended (no duplicate), and the last ends in the actual
        // state, in cep21's terms (`IsOpen()`: Open or HalfOpen; with a pause of zero `state` reads HalfOpen at once,
        // and Open -> HalfOpen is published with the next call, as documented)
        for (let i = 1; i < seq.length; i++) expect(seq[i]!.from).toBe(seq[i - 1]!.to)
        expect(seq.at(-1)!.to !== "Closed").toBe(yield* c.isOpen)
      }
    }).pipe(Effect.scoped))

  it.effect("TestRegression_HalfOpenTokenNotConsumedByThrottle", () =>
    Effect.gen(function*() {
      const c = yield* makeCircuit("hp", {
        Timeout: -1,
        MaxConcurrentRequests: 1,
        breaker: { consecutiveFailures: 1, breakDuration: "1 second" }
      })
      expect(Exit.isFailure(yield* Effect.exit(c.run(Effect.fail(new Error("trip")))))).toBe(true)
      expect(yield* c.breaker.state).toBe("Open")
      yield* TestClock.adjust("1 second")
      // saturate the concurrency limit with an in-flight request
      const inFlight = yield* holdPermit(c.bulkhead)
      expect(yield* inFlight.outcome).toBe("held")
      let ran = 0
      const throttled = yield* Effect.exit(c.run(Effect.sync(() => void ran++)))
      // Sturdy: the bulkhead inside the breaker turns the probe away (cep21: a short circuit)
      const err = failureOf(throttled)
      expect(Bulkhead.isBulkheadRejected(err) && err.reason === "Full").toBe(true)
      yield* inFlight.release
      // the probe was not spent: the next call probes, succeeds and closes the circuit
      expect(yield* Effect.exit(c.run(Effect.sync(() => void ran++)))).toEqual(Exit.void)
      expect(ran).toBe(1)
      expect(yield* c.isOpen).toBe(false)
    }).pipe(Effect.scoped))

  it.effect("TestRegression_OpenAndSaturatedIsShortCircuit", () =>
    Effect.gen(function*() {
      const c = yield* makeCircuit("sat", {
        Timeout: -1,
        MaxConcurrentRequests: 1,
        breaker: { breakDuration: 0, halfOpenMaxProbes: 10 }
      })
      const inFlight = yield* holdPermit(c.bulkhead)
      expect(yield* inFlight.outcome).toBe("held")
      yield* c.breaker.isolate
      for (let i = 0; i < 5; i++) {
        const err = failureOf(yield* Effect.exit(c.run(Effect.void)))
        // a short circuit, not a concurrency rejection
        expect(CircuitBreaker.isCircuitOpen(err)).toBe(true)
        expect(Bulkhead.isBulkheadRejected(err)).toBe(false)
      }
      yield* inFlight.release
    }).pipe(Effect.scoped))
})
