/**
 * aws/aws-sdk-go-v2 `aws/retry/retryable_error_test.go` (commit c363cb8290bd1cb29739c24cd7f1d873180c552c), the
 * cases that are HTTP behaviour, ported over a real loopback server (`test/utils/retryHarness.ts`): `SturdyClient` on
 * `@sturdy/node`'s undici transport, every wait on the TestClock. One `it` per Go subtest, named after it.
 *
 * Mapping: the Go retryables (`RetryableConnectionError`, `RetryableHTTPStatusCode`, `NoRetryCanceledError`) classify
 * an error value as retryable (true), not (false) or undecided (unknown); Sturdy's `Policy` classifies the failure of
 * a real request itself (`Policy.isRetryableByDefault`), so each case is the real failure the Go error stands for, and
 * "retryable" is a `RetryDecision` with `retrying: true` and a second request at the server. A `connection reset` is
 * the server destroying the socket; a `url.Error` "connection refused" is a port nothing listens on; a `Timeout()`
 * error is `attemptTimeout` firing; `RetryableHTTPStatusCode{500, 502}` is the server answering that status (both
 * are in Sturdy's default retryable set); `aws.RequestCanceledError` is interrupting the call.
 *
 * Not ported: the cases that test Go's error wrapping and interfaces rather than a failure a request can have —
 * TestRetryConnectionErrors "nested connection reset", "wrapped connection reset" (the same reset, wrapped in
 * `fmt.Errorf`), "other connection refused" (a bare error string, not from a dial), "nil error connection reset",
 * "some other error", "request send error", "temporary error" (`Temporary()`), "timeout false error",
 * "net.OpError dial" and "net.OpError nested" (Go `net` error types); TestRetryHTTPStatusCodes "nested" (the 500 of
 * "top level", wrapped); TestRetryErrorCodes (3 cases: AWS error codes in a response body, which Sturdy does not parse);
 * TestCanceledError "canceled retryable error", "not canceled error" and "retryable error" (Go's `RetryableError()` /
 * `CanceledError()` interfaces on an error value: Sturdy's counterpart is the caller's `retry.retryOn`).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, TestClock } from "effect"
import { abortedRequests, failureOf, fixture, realPause, send, setup } from "./utils/retryHarness.js"

const fast = { baseDelay: "10 millis", maxDelay: "10 millis", jitter: "none", maxAttempts: 3 } as const

/** waits (in real time, a few ms at a time) until `done` holds */
const until = (done: () => boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 2000 && !done(); i++) yield* realPause
    expect(done()).toBe(true)
  })

describe("aws-sdk-go-v2 retryable_error_test.go TestRetryConnectionErrors", () => {
  it.scoped("top level connection reset", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        (_, response, n) => n === 1 ? response.socket?.destroy() : send(response, 200, {}, fixture),
        { retry: fast }
      )
      const exit = yield* h.run(h.api.get("/"))
      expect(Exit.isSuccess(exit) && exit.value.status).toBe(200)
      expect(h.decisions.map((d) => [d.failure._tag, d.retrying])).toEqual([["ConnectionError", true]])
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("url.Error connection refused", () =>
    Effect.gen(function*() {
      // nothing listens: every attempt is refused, and each refusal but the last is retried
      const h = yield* setup((_, response) => send(response, 200), { retry: fast }, { listen: "later" })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(failure).toMatchObject({ _tag: "ConnectionError", reason: "Refused" })
      expect(h.decisions.map((d) => [d.failure._tag, d.retrying])).toEqual([
        ["ConnectionError", true],
        ["ConnectionError", true],
        ["ConnectionError", false]
      ])
      expect(h.seen.length).toBe(0)
    }))

  it.scoped("timeout error", () =>
    Effect.gen(function*() {
      // the first attempt's answer comes after the attempt timeout: retried, and the second answers in time
      const h = yield* setup(
        (_, response, n, tools) =>
          n === 1 ? tools.later(1000, () => send(response, 200, {}, fixture)) : send(response, 200, {}, fixture),
        { attemptTimeout: "500 millis", retry: fast }
      )
      const exit = yield* h.run(h.api.get("/"))
      expect(Exit.isSuccess(exit) && exit.value.status).toBe(200)
      expect(h.decisions.map((d) => [d.failure._tag, d.retrying])).toEqual([["Timeout", true]])
      expect(h.decisions[0]!.failure).toMatchObject({ phase: "Attempt" })
      expect(h.seen.length).toBe(2)
    }))
})

describe("aws-sdk-go-v2 retryable_error_test.go TestRetryHTTPStatusCodes", () => {
  for (const [name, status] of [["top level", 500], ["response error", 502]] as const) {
    it.scoped(name, () =>
      Effect.gen(function*() {
        const h = yield* setup(
          (_, response, n) => n === 1 ? send(response, status) : send(response, 200, {}, fixture),
          { retry: fast }
        )
        const exit = yield* h.run(h.api.get("/"))
        expect(Exit.isSuccess(exit) && exit.value.status).toBe(200)
        expect(h.decisions.map((d) => [d.failure._tag, d.retrying])).toEqual([["ServerError", true]])
        expect(h.decisions[0]!.failure).toMatchObject({ status })
        expect(h.seen.length).toBe(2)
      }))
  }
})

describe("aws-sdk-go-v2 retryable_error_test.go TestCanceledError", () => {
  it.scoped("canceled error", () =>
    Effect.gen(function*() {
      // the server never answers; the caller cancels (interrupts) the call: the request is aborted and, even once
      // the attempt timeout (which would have been retried) is long past, nothing is retried
      const h = yield* setup(() => undefined, { attemptTimeout: "500 millis", retry: fast }, { advanceWhenIdle: false })
      const fiber = yield* Effect.fork(h.run(h.api.get("/")))
      yield* until(() => h.seen.length === 1)
      yield* Fiber.interrupt(fiber)
      expect(yield* abortedRequests(h, 1)).toEqual([1])
      yield* TestClock.adjust("10 seconds")
      for (let i = 0; i < 10; i++) yield* realPause
      expect(h.seen.length).toBe(1)
      expect(h.decisions).toEqual([])
    }))
})
