/**
 * go-resty/resty's timeout and context tests, ported to Sturdy's public API over a real node:http server on
 * 127.0.0.1 (`test/utils/retryHarness.ts`, every timeout on the TestClock). Source: go-resty/resty, v3 branch at
 * e7bb2cd59984dd5bfbf9957ddd1912c63093bd5a: `client_test.go` (`TestClientTimeout*`), `context_test.go` (the cases
 * that cancel or time out a call) and `request_test.go` (`TestRequestContextTimeout`). One `it` per Go test (per
 * `t.Run`), named after it.
 *
 * Mapping: the client's `SetTimeout(d)` is the `SturdyClient`'s `timeout` (each attempt's limit), a request's
 * `SetTimeout(d)` the request's `timeout`; `context.WithTimeout` is the caller's `Effect.timeout`; a cancelled
 * `context` is interrupting the call's fiber; `context.DeadlineExceeded` from the client's timeout is `Timeout`
 * (phase `"Attempt"`), from the caller's context a `TimeoutException`; `context.Canceled` is an interrupted exit.
 * `SetRetryCount(n)` is `retry.maxAttempts: n + 1`; resty's default (no retries) is `retry: false`. The test servers
 * are resty's `createGetServer` routes: `/set-timeout-test` answers after 400 ms, `/set-timeout-test-with-sequence`
 * after 100 ms with a sequence number.
 *
 * Not ported: `TestClientTimeoutInternalError` (asserts nothing), `TestClientSetContext`, `TestRequestSetContext`,
 * `TestSetContextWithError` and `TestRequestContext` (a background context: no timeout, no cancel, no retry), and
 * `TestTraceInfoOnTimeout` (resty's trace timings).
 */
import { describe, expect, it } from "@effect/vitest"
import { Policy } from "@sturdy/http"
import { Cause, Effect, Exit, Fiber, Option } from "effect"
import {
  abortedRequests,
  failureOf,
  type Handler,
  type Harness,
  realPause,
  send,
  setup,
  textOf
} from "./utils/retryHarness.js"

/** `/set-timeout-test`: answers after 400 ms */
const timeoutTest: Handler = (_, response, __, tools) =>
  tools.later(400, () => send(response, 200, {}, "TestClientTimeout page"))
/** `/set-timeout-test-with-sequence`: the request's number, after 100 ms */
const sequenceTest: Handler = (_, response, count, tools) => tools.later(100, () => send(response, 200, {}, `${count}`))
/** a server that holds every request until the test ends (resty's channel handshakes) */
const hold: Handler = () => {}

/** starts `call` without `run`'s clock moves, cancels it once the server holds the request, and returns its exit */
const cancelWhileServerHolds = <A, E>(h: Harness, call: Effect.Effect<A, E, Policy.Policy>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(Effect.provideService(call, Policy.Policy, h.policy))
    for (let i = 0; i < 500 && h.seen.length === 0; i++) yield* realPause
    expect(h.seen.length).toBe(1)
    yield* Fiber.interrupt(fiber)
    return yield* Fiber.await(fiber)
  })

describe("go-resty/resty client_test.go", () => {
  it.scoped("TestClientTimeout", () =>
    Effect.gen(function*() {
      const h = yield* setup(timeoutTest, { retry: false }, { client: { timeout: "200 millis" } })
      expect(failureOf(yield* h.run(h.api.get("/set-timeout-test")))).toMatchObject({
        _tag: "Timeout",
        phase: "Attempt"
      })
      expect(yield* abortedRequests(h, 1)).toEqual([1])
    }))

  it.scoped("TestClientTimeoutWithinThreshold", () =>
    Effect.gen(function*() {
      // answers in 100 ms under a 200 ms timeout: both calls succeed, in sequence
      const h = yield* setup(sequenceTest, { retry: false }, { client: { timeout: "200 millis" } })
      const seq1 = Number(textOf(yield* h.run(h.api.get("/set-timeout-test-with-sequence"))))
      const seq2 = Number(textOf(yield* h.run(h.api.get("/set-timeout-test-with-sequence"))))
      expect(seq2).toBe(seq1 + 1)
    }))
})

describe("go-resty/resty context_test.go", () => {
  it.scoped("TestSetContextCancel", () =>
    Effect.gen(function*() {
      const h = yield* setup(hold, { retry: false })
      const exit = yield* cancelWhileServerHolds(h, h.api.get("/"))
      expect(Exit.isInterrupted(exit)).toBe(true)
      // the request in flight is abandoned: its connection is closed
      expect(yield* abortedRequests(h, 1)).toEqual([1])
    }))

  it.scoped("TestSetContextCancelRetry", () =>
    Effect.gen(function*() {
      // SetTimeout(3s), SetRetryCount(3): a cancelled call is not retried
      const h = yield* setup(hold, { retry: { maxAttempts: 4 } }, { client: { timeout: "3 seconds" } })
      const exit = yield* cancelWhileServerHolds(h, h.api.get("/"))
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(h.decisions).toEqual([])
      for (let i = 0; i < 20; i++) yield* realPause
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("TestSetContextCancelWithError", () =>
    Effect.gen(function*() {
      // the server sends a 400's head, then holds the body: the cancel still ends the call as cancelled
      const h = yield* setup((_, response) => {
        response.writeHead(400)
        response.flushHeaders()
      }, { retry: false })
      const exit = yield* cancelWhileServerHolds(h, h.api.get("/"))
      expect(Exit.isInterrupted(exit)).toBe(true)
    }))

  it.scoped("TestClientRetryWithSetContext", () =>
    Effect.gen(function*() {
      // SetTimeout(50ms), SetRetryCount(3), the first 4 requests answered after 100 ms: every attempt times out
      const h = yield* setup(
        (_, response, count, tools) =>
          count <= 4
            ? tools.later(100, () => send(response, 200, {}, "TestClientRetry page"))
            : send(response, 200, {}, "TestClientRetry page"),
        { retry: { maxAttempts: 4, baseDelay: "100 millis" } },
        { client: { timeout: "50 millis" } }
      )
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(failure).toMatchObject({ _tag: "Timeout", phase: "Attempt", attempts: 4 })
      expect(h.seen.length).toBe(4)
    }))
})

describe("go-resty/resty request_test.go TestRequestContextTimeout", () => {
  it.scoped("use client set timeout", () =>
    Effect.gen(function*() {
      const h = yield* setup(timeoutTest, { retry: false }, { client: { timeout: "200 millis" } })
      expect(failureOf(yield* h.run(h.api.get("/set-timeout-test")))).toMatchObject({ _tag: "Timeout" })
    }))

  it.scoped("use request set timeout", () =>
    Effect.gen(function*() {
      const h = yield* setup(timeoutTest, { retry: false })
      expect(failureOf(yield* h.run(h.api.get("/set-timeout-test", { timeout: "200 millis" })))).toMatchObject({
        _tag: "Timeout",
        phase: "Attempt"
      })
    }))

  it.scoped("use external context for timeout", () =>
    Effect.gen(function*() {
      const h = yield* setup(timeoutTest, { retry: false })
      const exit = yield* h.run(Effect.timeout(h.api.get("/set-timeout-test"), "200 millis"))
      expect(Exit.isFailure(exit) && Cause.failureOption(exit.cause)).toMatchObject(
        Option.some({ _tag: "TimeoutException" })
      )
      expect(yield* abortedRequests(h, 1)).toEqual([1])
    }))
})
