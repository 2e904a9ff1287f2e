// Ported from cep21/circuit at 076289099fe63d129cfa553c0d1d8c32b3ed8516: circuit_property_test.go, one `it` per Go
// test, named after it.
// Mapping: as in peer-cep21-circuit-Circuit.test.ts (utils/cep21.ts's `makeCircuit` with cep21's defaults: a circuit
// that never opens by itself; `OpenCircuit` is `isolate`, `CloseCircuit` is `reset`). cep21's `RunMetrics` callbacks
// (one per `Execute`) are what the breaker records: a success or a counted failure in `snapshot` (a bad request is
// not recorded, as cep21's openers ignore `ErrBadRequest`); its `Opened` / `Closed` callbacks are the transitions on
// `subscribe`; `ConcurrentCommands()` is the bulkhead's `snapshot.active`. Goroutines are fibers; cep21's
// time-bounded loops (`for running.Get()` over 50 ms) run a fixed number of rounds.
// Not ported: TestCircuit_FallbackMetricsExactlyOnce_Concurrent (fallback metrics: Sturdy counts no fallbacks),
// TestCircuit_StateMachineProperty and its handwritten cases (they toggle the opener's and closer's answers at run
// time, `commandableOpener` / `commandableCloser`, against a model; Sturdy's breaker decides from fixed options and
// the clock, so the model's operations have no counterpart).
import { describe, expect, it } from "@effect/vitest"
import type { CircuitBreaker } from "@sturdy/policy"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { BadRequest, makeCircuit } from "./utils/cep21.js"

const transitions = (breaker: CircuitBreaker.CircuitBreaker) =>
  Effect.gen(function*() {
    const seen: Array<CircuitBreaker.StateChange> = []
    yield* Effect.forkScoped(Stream.runForEach(yield* breaker.subscribe, (c) => Effect.sync(() => seen.push(c))))
    return seen
  })

describe("cep21/circuit circuit_property_test.go", () => {
  it.effect("TestCircuit_RunMetricsExactlyOnce_Concurrent", () =>
    Effect.gen(function*() {
      const c = yield* makeCircuit("RunMetricsExactlyOnce", { MaxConcurrentRequests: -1, Timeout: 3_600_000 })
      const seen = yield* transitions(c.breaker)
      const goroutines = 50
      // cep21 runs 2000 iterations a goroutine; each call here arms a timer, so 200 keep the test short
      const iterations = 200
      const errFail = new Error("fail")
      const expected = { calls: 0, failures: 0 }
      const worker = (id: number) =>
        Effect.forEach(Array.from({ length: iterations }, (_, i) => i), (i): Effect.Effect<unknown> => {
          switch ((id + i) % 3) {
            case 0:
              expected.calls++
              return Effect.exit(c.execute(Effect.void))
            case 1:
              expected.calls++
              expected.failures++
              return Effect.exit(c.execute(Effect.fail(errFail)))
            default:
              return Effect.exit(c.execute(Effect.fail(new BadRequest({ message: "fail" }))))
          }
        }, { discard: true })
      yield* Effect.all(Array.from({ length: goroutines }, (_, g) => worker(g)), {
        concurrency: "unbounded",
        discard: true
      })
      yield* Effect.repeatN(Effect.yieldNow(), 10)
      // exactly one record per call that reached the upstream (bad requests are not recorded)
      const snapshot = yield* c.breaker.snapshot
      expect({ calls: snapshot.calls, failures: snapshot.failures }).toEqual(expected)
      expect(expected.calls).toBeGreaterThan(0)
      // the default circuit never opens: no transitions
      expect(seen).toEqual([])
      // the concurrency count is balanced once every call has returned
      expect((yield* c.bulkhead.snapshot).active).toBe(0)
    }).pipe(Effect.scoped))

  it.effect("TestCircuit_TransitionAlternation_Concurrent", () =>
    Effect.gen(function*() {
      const c = yield* makeCircuit("TransitionAlternation", { MaxConcurrentRequests: -1, Timeout: 3_600_000 })
      const seen = yield* transitions(c.breaker)
      const rounds = 200
      // fibers that bang on execute
      const executor = (id: number) =>
        Effect.repeatN(
          Effect.exit(c.execute(id % 2 === 0 ? Effect.void : Effect.fail(new Error("x")))),
          rounds - 1
        )
      // fibers that toggle the circuit, racing with each other and with execute
      const toggler = Effect.repeatN(Effect.zipRight(c.breaker.isolate, c.breaker.reset), rounds - 1)
      yield* Effect.all(
        [...Array.from({ length: 8 }, (_, g) => executor(g)), ...Array.from({ length: 4 }, () => toggler)],
        { concurrency: "unbounded", discard: true }
      )
      yield* Effect.repeatN(Effect.yieldNow(), 10)
      const opened = seen.filter((t) => t.to === "Open").length
      const closed = seen.filter((t) => t.to === "Closed").length
      // the circuit starts closed: each Closed has an Opened before it
      expect(closed).toBeLessThanOrEqual(opened)
      expect(opened).toBeLessThanOrEqual(closed + 1)
      expect(opened).toBeGreaterThan(0)
      expect((yield* c.bulkhead.snapshot).active).toBe(0)
    }).pipe(Effect.scoped))
})
