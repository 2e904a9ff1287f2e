/**
 * go-resty/resty's circuit breaker tests, ported to Sturdy's `Policy` breaker over a real node:http server on
 * 127.0.0.1 (`test/utils/retryHarness.ts`, every pause on the TestClock). Source: go-resty/resty, v3 line,
 * `circuit_breaker_test.go` at f15ba104c6c4144bb3353c64d4228adb3a8859a2 (the breaker of `circuit_breaker.go` with a
 * sliding window, `NewCircuitBreakerWithCount` / `NewCircuitBreakerWithRatio` and hooks). One `it` per Go test, named
 * after it. Resty's unit tests drive the breaker directly (`cb.applyPolicies(&http.Response{StatusCode: 500})`,
 * `cb.allow()`); here every outcome is a real response from the server and "allow" is whether the next call reaches
 * it.
 *
 * Mapping: `NewCircuitBreakerWithCount(failureThreshold, successThreshold, resetTimeout)` is
 * `circuitBreaker: { failureCountThreshold, successThreshold, breakDuration: resetTimeout, slidingWindow:
 * resetTimeout }` (resty's window is `resetTimeout` long, in 10 buckets); `NewCircuitBreakerWithRatio(ratio,
 * minRequests, resetTimeout)` is `failureRateThreshold: ratio, minimumThroughput: minRequests` with the same pause and
 * window; `CircuitBreaker5xxPolicy` is Sturdy's default `countsAsFailure` (`Policy.countsAgainstUpstream`);
 * `ErrCircuitBreakerOpen` is `CircuitOpen`; `getState()` is the breaker's `state` (`policy.circuitBreaker(request)`),
 * `sw.Get().failures` its snapshot's `failures`; `OnTrigger` hooks are the `Rejected` event (rejection `CircuitOpen`),
 * `OnStateChange` hooks the `BreakerTransition` event. The resty client makes one attempt per call: `retry: false`;
 * no attempt timeout (`attemptTimeout: false`), so that a window of a few ms is valid.
 *
 * Deliberate differences (each test says which): resty's 5xx policy counts every status above 499; Sturdy's default
 * leaves out 501, 505 and 511 (not the upstream's health). Resty lets every call through while half-open; Sturdy one
 * probe at a time (`halfOpenMaxProbes` 1). Resty closes a ratio breaker on any success while half-open; Sturdy after
 * `successThreshold` (1) successful probes, which is the same here.
 *
 * Not ported: `TestCircuitBreakerNewStateAndPolicies` (reads the constructor's fields back; its one behaviour, a new
 * breaker is closed, is asserted in `TestCircuitBreakerCountBased`), `TestCircuitBreakerChangeStateClearsCounts`
 * (forces a transition through an unexported method), `TestCircuitBreakerConcurrentOnTriggerRegistration` and
 * `TestCircuitBreakerConcurrentOnStateChangeRegistration` (Go goroutines registering hooks: a `Policy`'s hook is
 * given once, in its options), `TestCircuitBreakerSlidingWindow1SetInterval`, `...2SetInterval`,
 * `...ConcurrentAddGet` and `TestCircuitBreakerTotalAndFailuresOperations` (resty's unexported sliding-window type).
 * The state-change half of `TestCircuitBreakerMultipleHooksAreCalled` (a `Policy` has one policy-wide hook, the only
 * one that gets transitions).
 */
import { HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import type { Policy } from "@sturdy/http"
import { Effect, Exit, Option, TestClock } from "effect"
import { failureOf, type Handler, type Harness, send, setup } from "./utils/retryHarness.js"

/** createTestServer's `/200` and `/500` */
const byPath: Handler = (request, response) => send(response, request.path === "/500" ? 500 : 200)

const count = (failureCountThreshold: number, successThreshold: number, resetTimeout: number) =>
  ({
    failureCountThreshold,
    successThreshold,
    breakDuration: `${resetTimeout} millis`,
    slidingWindow: `${resetTimeout} millis`
  }) as const

const ratio = (failureRateThreshold: number, minimumThroughput: number, resetTimeout: number) =>
  ({
    failureRateThreshold,
    minimumThroughput,
    breakDuration: `${resetTimeout} millis`,
    slidingWindow: `${resetTimeout} millis`
  }) as const

const breakerOf = (h: Harness) =>
  Effect.map(h.policy.circuitBreaker(HttpClientRequest.get(`${h.url}/`)), Option.getOrThrow)
const stateOf = (h: Harness) => Effect.flatMap(breakerOf(h), (b) => b.state)
const failuresOf = (h: Harness) => Effect.map(Effect.flatMap(breakerOf(h), (b) => b.snapshot), (s) => s.failures)
const get = (h: Harness, path: "/200" | "/500") => h.run(h.api.get(path))
const tagOf = <A, E>(exit: Exit.Exit<A, E>) =>
  Exit.isSuccess(exit) ? "Success" : (failureOf(exit) as { _tag: string })._tag

const breakerSetup = (
  circuitBreaker: Policy.CircuitBreakerOptions,
  onEvent?: (event: Policy.Event) => Effect.Effect<void>
) => setup(byPath, { retry: false, attemptTimeout: false, circuitBreaker, onEvent })

describe("go-resty/resty circuit_breaker_test.go", () => {
  it.scoped("TestCircuitBreakerCountBased", () =>
    Effect.gen(function*() {
      const h = yield* breakerSetup(count(2, 1, 100))
      expect(yield* stateOf(h)).toBe("Closed")
      for (let i = 0; i < 2; i++) expect(tagOf(yield* get(h, "/500"))).toBe("ServerError")
      // the failure threshold reached: the third call is not sent
      expect(failureOf(yield* get(h, "/500"))).toMatchObject({ _tag: "CircuitOpen" })
      expect(yield* stateOf(h)).toBe("Open")
      expect(h.seen.length).toBe(2)

      yield* TestClock.adjust("150 millis")
      expect(yield* stateOf(h)).toBe("HalfOpen")
      // a failed probe opens it again
      expect(tagOf(yield* get(h, "/500"))).toBe("ServerError")
      expect(yield* stateOf(h)).toBe("Open")

      yield* TestClock.adjust("150 millis")
      expect(yield* stateOf(h)).toBe("HalfOpen")
      // successThreshold (1) successful probes close it
      expect(tagOf(yield* get(h, "/200"))).toBe("Success")
      expect(yield* stateOf(h)).toBe("Closed")
      expect(tagOf(yield* get(h, "/200"))).toBe("Success")

      expect(tagOf(yield* get(h, "/500"))).toBe("ServerError")
      expect(yield* failuresOf(h)).toBe(1)
      // a window later, the earlier failure has aged out: still one failure, still closed
      yield* TestClock.adjust("100 millis")
      expect(tagOf(yield* get(h, "/500"))).toBe("ServerError")
      expect(yield* failuresOf(h)).toBe(1)
      expect(yield* stateOf(h)).toBe("Closed")
    }))

  it.scoped("TestCircuitBreaker5xxPolicy", () =>
    Effect.gen(function*() {
      // a 500 counts as a failure, a 200 does not (one failure opens this breaker)
      const h = yield* breakerSetup(count(1, 1, 1000))
      expect(tagOf(yield* get(h, "/200"))).toBe("Success")
      expect(yield* stateOf(h)).toBe("Closed")
      expect(yield* failuresOf(h)).toBe(0)
      expect(tagOf(yield* get(h, "/500"))).toBe("ServerError")
      expect(yield* stateOf(h)).toBe("Open")
    }))

  it.scoped("TestCircuitBreakerCountBasedOpensAndAllow", () =>
    Effect.gen(function*() {
      const h = yield* breakerSetup(count(2, 1, 20))
      // allowed while closed, no failures yet
      expect(yield* failuresOf(h)).toBe(0)
      expect(tagOf(yield* get(h, "/500"))).toBe("ServerError")
      // still closed after 1 failure
      expect(yield* failuresOf(h)).toBe(1)
      expect(yield* stateOf(h)).toBe("Closed")
      expect(tagOf(yield* get(h, "/500"))).toBe("ServerError")
      // open after reaching the failure threshold
      expect(tagOf(yield* get(h, "/200"))).toBe("CircuitOpen")
      yield* TestClock.adjust("25 millis")
      expect(yield* stateOf(h)).toBe("HalfOpen")
      // a failure while half-open opens it again, and the next call is refused
      expect(tagOf(yield* get(h, "/500"))).toBe("ServerError")
      expect(yield* stateOf(h)).toBe("Open")
      expect(tagOf(yield* get(h, "/200"))).toBe("CircuitOpen")
      expect(h.seen.length).toBe(3)
    }))

  it.scoped("TestCircuitBreakerCountBasedHalfOpenToClosedOnSuccess", () =>
    Effect.gen(function*() {
      const h = yield* breakerSetup(count(1, 1, 30))
      expect(tagOf(yield* get(h, "/500"))).toBe("ServerError")
      expect(tagOf(yield* get(h, "/200"))).toBe("CircuitOpen")
      yield* TestClock.adjust("30 millis")
      expect(yield* stateOf(h)).toBe("HalfOpen")
      expect(tagOf(yield* get(h, "/200"))).toBe("Success")
      expect(yield* stateOf(h)).toBe("Closed")
      // allowed when closed
      expect(tagOf(yield* get(h, "/200"))).toBe("Success")
    }))

  it.scoped("TestCircuitBreakerRatioBasedOpenToClosed", () =>
    Effect.gen(function*() {
      const h = yield* breakerSetup(ratio(0.5, 2, 20))
      // one failure: minRequests (2) not met, still closed
      expect(tagOf(yield* get(h, "/500"))).toBe("ServerError")
      expect(yield* stateOf(h)).toBe("Closed")
      // two failures of two calls: 1.0 >= 0.5, open
      expect(tagOf(yield* get(h, "/500"))).toBe("ServerError")
      expect(tagOf(yield* get(h, "/200"))).toBe("CircuitOpen")
      yield* TestClock.adjust("25 millis")
      expect(yield* stateOf(h)).toBe("HalfOpen")
      expect(tagOf(yield* get(h, "/200"))).toBe("Success")
      expect(yield* stateOf(h)).toBe("Closed")
    }))

  it.scoped("TestCircuitBreakerAllowDuringHalfOpen", () =>
    Effect.gen(function*() {
      const h = yield* breakerSetup(count(1, 1, 20))
      expect(tagOf(yield* get(h, "/500"))).toBe("ServerError")
      expect(tagOf(yield* get(h, "/200"))).toBe("CircuitOpen")
      yield* TestClock.adjust("25 millis")
      expect(yield* stateOf(h)).toBe("HalfOpen")
      // allowed: the call reaches the server
      expect(tagOf(yield* get(h, "/200"))).toBe("Success")
      expect(h.seen.map((s) => s.path)).toEqual(["/500", "/200"])
    }))

  it.scoped("TestCircuitBreakerOnTriggerHooks", () =>
    Effect.gen(function*() {
      // the hook sees each call the open breaker refuses, with the breaker's error
      const triggered: Array<Policy.Rejected> = []
      const h = yield* breakerSetup(count(1, 1, 10), (event) =>
        Effect.sync(() => {
          if (event._tag === "Rejected") triggered.push(event)
        }))
      expect(tagOf(yield* get(h, "/500"))).toBe("ServerError")
      expect(triggered).toEqual([])
      expect(tagOf(yield* get(h, "/200"))).toBe("CircuitOpen")
      expect(triggered.length).toBe(1)
      expect(triggered[0]!.rejection).toMatchObject({ _tag: "CircuitOpen" })
    }))

  it.scoped("TestCircuitBreakerOnStateChangeHooks", () =>
    Effect.gen(function*() {
      // the hook gets the old and the new state: Closed → Open
      const changes: Array<readonly [string, string]> = []
      const h = yield* breakerSetup(count(1, 1, 10), (event) =>
        Effect.sync(() => {
          if (event._tag === "BreakerTransition") changes.push([event.from, event.to])
        }))
      expect(tagOf(yield* get(h, "/500"))).toBe("ServerError")
      expect(changes).toEqual([["Closed", "Open"]])
    }))

  it.scoped("TestCircuitBreakerMultipleHooksAreCalled", () =>
    Effect.gen(function*() {
      // two trigger hooks, both called: the policy's hook and the call's own
      let triggerCount = 0
      const onEvent = (event: Policy.Event) =>
        Effect.sync(() => {
          if (event._tag === "Rejected") triggerCount++
        })
      const h = yield* breakerSetup(count(1, 1, 10), onEvent)
      expect(tagOf(yield* get(h, "/500"))).toBe("ServerError")
      expect(tagOf(yield* h.run(h.api.get("/200", { onEvent })))).toBe("CircuitOpen")
      expect(triggerCount).toBe(2)
    }))

  it.scoped("TestCircuitBreakerSlidingWindowResetWhenElapsedExceedsBuckets", () =>
    Effect.gen(function*() {
      // failures recorded, then ten windows without a call: all of them are dropped, only the new one remains
      const h = yield* breakerSetup(count(3, 1, 100))
      for (let i = 0; i < 2; i++) expect(tagOf(yield* get(h, "/500"))).toBe("ServerError")
      expect(yield* failuresOf(h)).toBe(2)
      yield* TestClock.adjust("1 second")
      expect(tagOf(yield* get(h, "/500"))).toBe("ServerError")
      expect(yield* failuresOf(h)).toBe(1)
      expect(yield* stateOf(h)).toBe("Closed")
    }))
})
