/**
 * Microsoft.Extensions.Http.Resilience's tests of which outcomes the standard handler's retry and circuit breaker
 * handle, and of the retry's method filter (dotnet/extensions, commit 5862342c9a100ca33f5d1f2bd58c511bde1e8f40,
 * test/Libraries/Microsoft.Extensions.Http.Resilience.Tests: Polly/HttpRetryStrategyOptionsExtensionsTests.cs,
 * Polly/HttpRetryStrategyOptionsTests.cs (the `DefaultInstance` cases) and Polly/HttpCircuitBreakerStrategyOptionsTests.cs
 * (the `ShouldHandle` cases)), ported to `SturdyClient` with `@sturdy/http`'s `Policy` over `@sturdy/node`'s undici
 * transport against a real node:http server on 127.0.0.1, every wait on the TestClock (test/utils/retryHarness.ts).
 * One `it` per peer case ([Theory] rows in one `it`), named after it. The same files' other cases, with
 * HttpClientResiliencePredicatesTests.cs and RetryAfterHelperTests.cs, are ported in test/peer-polly-http.test.ts.
 *
 * Mapping: `ShouldHandle` returning `true` for every outcome is `retry.retryOn: () => true`; `DisableFor(methods)` is
 * `retry.methods` listing the methods that are not disabled (Sturdy's list says which methods retry, and a method listed
 * there is declared safe to repeat); `DisableForUnsafeHttpMethods()` is `methods: ["GET", "HEAD", "OPTIONS", "TRACE"]`;
 * an outcome with no response (an exception) is a connection cut after the server read the request;
 * `HttpRequestException` is a `ConnectionError`, `TimeoutRejectedException` an attempt timeout (`Timeout`, phase
 * `Attempt`), `InvalidCastException` (a bug, not the upstream) a body that does not decode, `TaskCanceledException`
 * (the caller's token) the caller's fiber interrupted; the breaker's `ShouldHandle` is what the breaker counts
 * (`Policy.countsAgainstUpstream`), observed with `consecutiveFailures: 1`: a counted failure opens the breaker, and
 * the next call fails with `CircuitOpen` without reaching the server.
 *
 * Deliberate differences (asserted as Sturdy documents them, the peer's named): a 505 is neither retried nor counted by
 * the breaker (the peer handles every status ≥ 500); without `retry.methods`, Sturdy retries GET, HEAD, OPTIONS, TRACE,
 * PUT and DELETE but not POST or PATCH (the standard handler retries every method unless told otherwise); `methods: []`
 * is accepted and turns retries off, where `DisableFor()` with no method throws.
 *
 * Not ported: null-argument cases (`DisableFor_RetryOptionsIsNull_Throws`, `DisableFor_HttpMethodsIsNull_Throws`,
 * `DisableFor_ShouldHandleIsNull_Throws`: TypeScript's types), `DisableFor_RequestMessageIsNull_DoesNotDisableRetries`
 * (a Sturdy attempt always has its request), the CONNECT row of `DisableForUnsafeHttpMethods_PositiveScenario` (a
 * CONNECT opens a tunnel; it is not a request an HTTP client retries), and the
 * `OperationCanceledException(InvalidOperationException)` row (a cancellation with no cause: Sturdy has none but the
 * caller's interruption, ported as the cancelled-token row).
 */
import { HttpClientRequest, type HttpMethod } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { HttpFailure, Policy } from "@sturdy/http"
import { Effect, Exit, Fiber, Schema } from "effect"
import type * as Http from "node:http"
import { failureOf, fixture, type Handler, type Harness, realPause, send, setup, textOf } from "./utils/retryHarness.js"

/** answers `status` until request `okAt`, then 200 `fixture` */
const untilOk = (okAt: number, status: number): Handler => (_, response, n) =>
  n >= okAt ? send(response, 200, {}, fixture) : send(response, status)

const cut = (response: Http.ServerResponse) => response.socket?.destroy()
// a quick backoff, so that a test's retries take 10 ms each
const fast = { baseDelay: "10 millis", maxDelay: "10 millis", jitter: "none" } as const
const requests = (h: Harness) => h.seen.length

type Method = "GET" | "HEAD" | "OPTIONS" | "TRACE" | "PUT" | "DELETE" | "POST" | "PATCH"
// Effect's `HttpMethod` type has no TRACE; the request goes out with the method as given
const call = (h: Harness, method: Method) =>
  h.api.execute(HttpClientRequest.make(method as HttpMethod.HttpMethod)(`${h.url}/`))

// -----------------------------------------------------------------------------
// Polly/HttpRetryStrategyOptionsExtensionsTests.cs
// -----------------------------------------------------------------------------

describe("peer dotnet HttpRetryStrategyOptionsExtensionsTests", () => {
  // DisableFor() with no method throws; Sturdy's `methods: []` is the empty list of methods that retry (documented):
  // accepted, and nothing is retried
  it.scoped("DisableFor_HttpMethodsIsEmptry_Throws", () =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(2, 500), { retry: { ...fast, methods: [] } })
      expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ _tag: "ServerError", status: 500 })
      expect(requests(h)).toBe(1)
    }))

  // ShouldHandle always true, DisableFor(POST, DELETE): POST and DELETE are not retried, GET is
  it.scoped("DisableFor_PositiveScenario", () =>
    Effect.gen(function*() {
      const notDisabled = ["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "PATCH"] as const
      for (const [method, retried] of [["POST", false], ["DELETE", false], ["GET", true]] as const) {
        const h = yield* setup(untilOk(2, 500), { retry: { ...fast, retryOn: () => true, methods: notDisabled } })
        const exit = yield* h.run(call(h, method))
        expect([method, Exit.isSuccess(exit), requests(h)]).toEqual([method, retried, retried ? 2 : 1])
      }
    }))

  // ShouldHandle false: DisableFor(POST) does not make a GET retry
  it.scoped("DisableFor_RespectsOriginalShouldHandlePredicate", () =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(2, 500), {
        retry: { ...fast, retryOn: () => false, methods: ["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE", "PATCH"] }
      })
      expect(failureOf(yield* h.run(call(h, "GET")))).toMatchObject({ status: 500 })
      expect(requests(h)).toBe(1)
    }))

  // no response (an exception), the POST known from the request: not retried
  it.scoped("DisableFor_ResponseMessageIsNull_RetrievesRequestMessageFromContext", () =>
    Effect.gen(function*() {
      const handler: Handler = (_, response, n) => n >= 2 ? send(response, 200, {}, fixture) : cut(response)
      const h = yield* setup(handler, {
        retry: { ...fast, retryOn: () => true, methods: ["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE", "PATCH"] }
      })
      expect(failureOf(yield* h.run(call(h, "POST")))).toMatchObject({ _tag: "ConnectionError" })
      expect(requests(h)).toBe(1)
      // the same failure on a GET is retried
      const get = yield* setup(handler, {
        retry: { ...fast, retryOn: () => true, methods: ["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE", "PATCH"] }
      })
      expect(textOf(yield* get.run(call(get, "GET")))).toBe(fixture)
      expect(requests(get)).toBe(2)
    }))

  it.scoped("DisableForUnsafeHttpMethods_PositiveScenario", () =>
    Effect.gen(function*() {
      const rows = [
        ["POST", false],
        ["DELETE", false],
        ["PUT", false],
        ["PATCH", false],
        ["GET", true],
        ["HEAD", true],
        ["TRACE", true],
        ["OPTIONS", true]
      ] as const
      for (const [method, retried] of rows) {
        const h = yield* setup(untilOk(2, 500), {
          retry: { ...fast, retryOn: () => true, methods: ["GET", "HEAD", "OPTIONS", "TRACE"] }
        })
        const exit = yield* h.run(call(h, method))
        expect([method, Exit.isSuccess(exit), requests(h), h.seen[0]?.method]).toEqual([
          method,
          retried,
          retried ? 2 : 1,
          method
        ])
      }
      // Sturdy's default (no `methods`): the idempotent methods retry, POST and PATCH do not (the standard handler
      // retries every method unless DisableFor says otherwise)
      for (const [method, retried] of [...rows.slice(0, 4), ["GET", true]] as const) {
        const h = yield* setup(untilOk(2, 500), { retry: { ...fast } })
        yield* h.run(call(h, method))
        expect([method, requests(h)]).toEqual([method, method === "PUT" || method === "DELETE" || retried ? 2 : 1])
      }
    }))
})

// -----------------------------------------------------------------------------
// Polly/HttpRetryStrategyOptionsTests.cs: the DefaultInstance cases
// -----------------------------------------------------------------------------

describe("peer dotnet HttpRetryStrategyOptionsTests (DefaultInstance)", () => {
  // a new default instance: the failure's classification by `Policy.isRetryableByDefault`, and what a fresh default
  // policy does with it
  it.scoped("ShouldHandleResultAsError_DefaultInstance_ShouldClassify", () =>
    Effect.gen(function*() {
      // [status, the peer handles it, Sturdy retries it]; a 505 is not retried (see the header)
      const rows = [[200, false, false], [400, false, false], [413, false, false], [500, true, true], [
        505,
        true,
        false
      ], [408, true, true]] as const
      for (const [status, , retried] of rows) {
        const once = yield* setup((_, response) => send(response, status), { retry: false })
        const exit = yield* once.run(once.api.get("/"))
        if (status === 200) {
          expect(Exit.isSuccess(exit)).toBe(true)
        } else {
          const failure = failureOf(exit)
          expect([status, HttpFailure.isHttpFailure(failure) && Policy.isRetryableByDefault(failure)]).toEqual([
            status,
            retried
          ])
        }
        const h = yield* setup((_, response) => send(response, status), { retry: { ...fast } })
        yield* h.run(h.api.get("/"))
        expect([status, requests(h)]).toEqual([status, retried ? 3 : 1])
      }
    }))

  it.scoped("ShouldHandleException_DefaultInstance_ShouldClassify", () =>
    Effect.gen(function*() {
      // InvalidCastException: not handled (a body that does not decode)
      const bug = yield* setup(
        (_, response) => send(response, 200, { "content-type": "application/json" }, "{\"foo\":1}"),
        { retry: { ...fast } }
      )
      const bugFailure = failureOf(yield* bug.run(bug.api.get("/", { schema: Schema.Struct({ foo: Schema.String }) })))
      expect(HttpFailure.isHttpFailure(bugFailure) && Policy.isRetryableByDefault(bugFailure)).toBe(false)
      expect(requests(bug)).toBe(1)
      // HttpRequestException: handled
      const network = yield* setup((_, response) => cut(response), { retry: { ...fast } })
      const networkFailure = failureOf(yield* network.run(network.api.get("/")))
      expect(networkFailure).toMatchObject({ _tag: "ConnectionError" })
      expect(Policy.isRetryableByDefault(networkFailure as HttpFailure.HttpFailure)).toBe(true)
      expect(requests(network)).toBe(3)
      // OperationCanceledException(TimeoutException), no cancellation (null or default token): handled
      const timeout = yield* setup(() => {}, { attemptTimeout: "1 second", retry: { ...fast } })
      const timeoutFailure = failureOf(yield* timeout.run(timeout.api.get("/")))
      expect(timeoutFailure).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect(Policy.isRetryableByDefault(timeoutFailure as HttpFailure.HttpFailure)).toBe(true)
      expect(requests(timeout)).toBe(3)
      // OperationCanceledException(TimeoutException) with the caller's token cancelled: not handled (the caller's
      // fiber interrupted: no retry decision, one request)
      const cancelled = yield* setup(() => {}, { attemptTimeout: "1 second", retry: { ...fast } })
      const fiber = yield* Effect.fork(cancelled.run(cancelled.api.get("/")))
      for (let i = 0; i < 200 && requests(cancelled) === 0; i++) yield* realPause
      expect(Exit.isInterrupted(yield* Fiber.interrupt(fiber))).toBe(true)
      expect(requests(cancelled)).toBe(1)
      expect(cancelled.decisions).toEqual([])
    }))
})

// -----------------------------------------------------------------------------
// Polly/HttpCircuitBreakerStrategyOptionsTests.cs: ShouldHandle
// -----------------------------------------------------------------------------

/** one call, then a second: does the first one's outcome open a breaker that opens on one counted failure? */
const opensBreaker = (handler: Handler, first: (h: Harness) => Effect.Effect<unknown, unknown, Policy.Policy>) =>
  Effect.gen(function*() {
    const h = yield* setup(handler, { retry: false, circuitBreaker: { consecutiveFailures: 1 } })
    const exit = yield* h.run(first(h))
    const second = yield* h.run(h.api.get("/"))
    const open = Exit.isFailure(second) && failureOf(second) !== null &&
      (failureOf(second) as { readonly _tag: string })._tag === "CircuitOpen"
    return { exit, open, requests: requests(h) }
  })

describe("peer dotnet HttpCircuitBreakerStrategyOptionsTests", () => {
  it.scoped("ShouldHandleResultAsError_DefaultValue_ShouldClassify", () =>
    Effect.gen(function*() {
      // [status, the peer counts it, Sturdy counts it]: a 505 is not counted (see the header)
      const rows = [[200, false, false], [400, false, false], [413, false, false], [500, true, true], [
        505,
        true,
        false
      ], [408, true, true]] as const
      for (const [status, , counted] of rows) {
        const { exit, open, requests } = yield* opensBreaker((_, response) => send(response, status), (h) =>
          h.api.get("/"))
        expect([status, open, requests]).toEqual([status, counted, counted ? 1 : 2])
        if (Exit.isFailure(exit)) {
          expect([status, Policy.countsAgainstUpstream(failureOf(exit))]).toEqual([status, counted])
        }
      }
    }))

  it.scoped("ShouldHandleException_DefaultValue_ShouldClassify", () =>
    Effect.gen(function*() {
      // InvalidCastException: not counted (a body that does not decode is an answer from a live upstream)
      const bug = yield* opensBreaker(
        (_, response, n) =>
          n === 1 ? send(response, 200, { "content-type": "application/json" }, "{\"foo\":1}") : send(response, 200),
        (h) => h.api.get("/", { schema: Schema.Struct({ foo: Schema.String }) })
      )
      expect([bug.open, bug.requests]).toEqual([false, 2])
      // HttpRequestException: counted
      const network = yield* opensBreaker((_, response) => cut(response), (h) => h.api.get("/"))
      expect(failureOf(network.exit)).toMatchObject({ _tag: "ConnectionError" })
      expect([network.open, network.requests]).toEqual([true, 1])
      // TimeoutRejectedException: counted
      const timeout = yield* opensBreaker(
        (_, response, n) => n === 1 ? undefined : send(response, 200),
        (h) => h.api.get("/", { timeout: "1 second" })
      )
      expect(failureOf(timeout.exit)).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect([timeout.open, timeout.requests]).toEqual([true, 1])
      // TaskCanceledException (the caller gave up): not counted
      const h = yield* setup((_, response, n) => n === 1 ? undefined : send(response, 200, {}, fixture), {
        retry: false,
        circuitBreaker: { consecutiveFailures: 1 }
      })
      const fiber = yield* Effect.fork(h.run(h.api.get("/")))
      for (let i = 0; i < 200 && requests(h) === 0; i++) yield* realPause
      expect(Exit.isInterrupted(yield* Fiber.interrupt(fiber))).toBe(true)
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(requests(h)).toBe(2)
    }))
})
