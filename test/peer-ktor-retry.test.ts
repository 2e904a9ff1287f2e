/**
 * ktor's `ktor-client/ktor-client-tests/common/test/io/ktor/client/tests/HttpRequestRetryTest.kt` (class
 * HttpRequestRetryTest) and the one retry case of `ktor-client/ktor-client-cio/jvm/test/io/ktor/client/engine/cio/
 * ConnectErrorsTest.kt` (testResponseErrorWithInvalidChunkException), ktorio/ktor at commit
 * ef92e5537d7465961f1b3f2b21e217fc35bcfa1f, ported to Sturdy's public API: `SturdyClient` over `@sturdy/node`'s undici
 * transport against a real node:http server on 127.0.0.1 (`test/utils/retryHarness.ts`), every wait on the TestClock.
 * One `it` per ktor case, named after it. ktor's `MockEngine` handlers become the server's answers in order; its
 * `IOException("Network error")` is a connection the server destroys (Sturdy's `ConnectionError`).
 *
 * Mapping: `maxRetries = n` (`retryOnServerErrors(n)`, `retryOnException(n)`, `retryOnExceptionOrServerErrors(n)`) is
 * `retry.maxAttempts: n + 1`; `noRetry()` is `retry: false`; `retryIf` / `retryOnExceptionIf` are `retry.retryOn`
 * (by tag, or a predicate); `exponentialDelay(base, baseDelayMs, maxDelayMs, randomizationMs = 0)` is `baseDelay`,
 * `maxDelay`, `jitter: "none"` (base 2), or `retry.schedule: Backoff.exponential({ factor: base })` for another base;
 * `constantDelay(millis, randomizationMs = 0)` and `delayMillis { ms }` are `retry.delay: () => ms`; the test hook
 * `delay { }` (no real wait) is `retry.delay: () => 0`; `respectRetryAfterHeader` is `retry.respectRetryAfter`;
 * `modifyRequest` is the `send` of `Policy.run`, which makes each attempt and may change its request; the
 * `HttpRequestRetryEvent` is the `RetryDecision` event; per-request `retry { }` is an `endpoints` override;
 * `HttpTimeout { requestTimeoutMillis }` installed after the retry plugin (per attempt) is `attemptTimeout`;
 * `HttpSend { maxSendCount }` is `Redirect.follow({ maxRedirects: maxSendCount - 1 })`.
 *
 * Deliberate differences (each test says which): Sturdy's defaults are 3 attempts, 2 s base delay and full jitter
 * (ktor's: 4 attempts, 1 s base and up to 1 s added); ktor takes the larger of its delay and `Retry-After` on any
 * status, Sturdy honours a server's wait on `retry.retryAfterStatuses` only (413, 429, 503 by default) and the wait
 * is the server's, not a floor under the backoff; Sturdy retries an attempt timeout by default where ktor's
 * `retryOnException` does not unless `retryOnTimeout = true` (`retryOn: { Timeout: false }` gives ktor's rule);
 * ktor's `retryOnServerErrors` retries every 5xx, Sturdy never 501, 505 nor 511 (not exercised by these cases); the
 * transport does not decompress, so a gzip body arrives as sent.
 *
 * Not ported: none of HttpRequestRetryTest's cases is left out. `exponentialDelay`'s `maxDelayMs` has no case of its
 * own in ktor's file (Sturdy's `maxDelay` cap is covered by the urllib3 and Backoff tests).
 */
import { HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Attempt, Policy, Redirect } from "@sturdy/http"
import { Backoff } from "@sturdy/policy"
import { Duration, Effect, Exit, Fiber, TestClock } from "effect"
import type * as Http from "node:http"
import * as Zlib from "node:zlib"
import {
  delays,
  failureOf,
  fixture,
  type Handler,
  realPause,
  send,
  setup,
  statusOf,
  textOf
} from "./utils/retryHarness.js"

/** the n-th answer (1-based) of `answers`, ktor's MockEngine handlers in order; past the end, the last one */
const inOrder = (...answers: ReadonlyArray<(response: Http.ServerResponse) => void>): Handler => (_, response, n) =>
  answers[Math.min(n, answers.length) - 1]!(response)

const status = (code: number, headers: Record<string, string> = {}) => (response: Http.ServerResponse) =>
  send(response, code, headers)
const ok = (response: Http.ServerResponse) => send(response, 200, {}, fixture)
/** ktor's `throw IOException("Network error")`: the connection is cut before any answer */
const networkError = (response: Http.ServerResponse) => response.socket?.destroy()

/** ktor's `delay { }`: retries without waiting */
const noWait = { delay: () => 0 } as const

const tags = (h: { readonly decisions: ReadonlyArray<Policy.RetryDecision> }) => h.decisions.map((d) => d.failure._tag)

describe("ktor HttpRequestRetryTest", () => {
  it.scoped("test3RetriesWithExponentialDelayByDefault", () =>
    Effect.gen(function*() {
      // ktor's default: 3 retries, 1 s doubling, plus up to 1 s. Sturdy's default: 3 attempts in all, 2 s doubling
      // with full jitter (a delay is at most its envelope), so the fourth answer is never reached
      const h = yield* setup(inOrder(status(500), status(500), status(500), ok))
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(failure).toMatchObject({ _tag: "ServerError", status: 500 })
      expect(Policy.attemptsOf(failure)).toBe(3)
      expect(h.seen).toHaveLength(3)
      const waited = h.decisions.filter((d) => d.retrying).map((d) => Duration.toMillis(d.delay))
      expect(waited).toHaveLength(2)
      expect(waited[0]).toBeLessThanOrEqual(2000)
      expect(waited[1]).toBeLessThanOrEqual(4000)
      // ktor's count, with Sturdy's default backoff: every retry within its envelope, the last answer reached
      const four = yield* setup(inOrder(status(500), status(500), status(500), ok), { retry: { maxAttempts: 4 } })
      expect(textOf(yield* four.run(four.api.get("/")))).toBe(fixture)
      const envelope = [2000, 4000, 8000]
      four.decisions.forEach((d, i) => expect(Duration.toMillis(d.delay)).toBeLessThanOrEqual(envelope[i]!))
    }))

  it.scoped("testRetryOnNonSuccess", () =>
    Effect.gen(function*() {
      const h = yield* setup(inOrder(status(500), status(500), status(500), ok), {
        retry: { maxAttempts: 4, ...noWait }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.seen).toHaveLength(4)
    }))

  it.scoped("testModifyRequest", () =>
    Effect.gen(function*() {
      // modifyRequest { it.headers.append("X-RETRY-COUNT", retryCount) }: Policy.run's `send` makes every attempt, so
      // it can number them; the first goes out unchanged
      const h = yield* setup(inOrder(status(500), status(500), status(503), ok), {
        retry: { maxAttempts: 4, ...noWait }
      })
      let retryCount = 0
      const call = Policy.run(HttpClientRequest.get(`${h.url}/`), (request) =>
        Effect.suspend(() => {
          const n = retryCount++
          return Attempt.send(
            h.platform,
            n === 0 ? request : HttpClientRequest.setHeader(request, "x-retry-count", `${n}`)
          )
        }))
      expect(textOf(yield* h.run(call))).toBe(fixture)
      expect(h.seen.map((s) => s.headers["x-retry-count"])).toEqual([undefined, "1", "2", "3"])
    }))

  it.scoped("testExponentialDelayDefaults", () =>
    Effect.gen(function*() {
      // exponentialDelay(randomizationMs = 0): 1 s doubling, capped at 60 s
      const h = yield* setup(inOrder(status(500), status(500), status(500), ok), {
        retry: { maxAttempts: 4, baseDelay: "1 second", maxDelay: "60 seconds", jitter: "none" }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(delays(h)).toEqual([1000, 2000, 4000])
      expect(h.seen.map((s) => s.at - h.seen[0]!.at)).toEqual([0, 1000, 3000, 7000])
    }))

  it.scoped("testExponentialDelayExplicitBaseDelay", () =>
    Effect.gen(function*() {
      const h = yield* setup(inOrder(status(500), status(500), status(500), ok), {
        retry: { maxAttempts: 4, baseDelay: "200 millis", maxDelay: "60 seconds", jitter: "none" }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(delays(h)).toEqual([200, 400, 800])
    }))

  it.scoped("testExponentialDelayExplicitBase", () =>
    Effect.gen(function*() {
      // base = 1.1: a growth factor other than 2 is a schedule of Backoff.exponential
      const h = yield* setup(inOrder(status(500), status(500), status(500), ok), {
        retry: {
          maxAttempts: 4,
          maxDelay: "60 seconds",
          schedule: Backoff.exponential({
            baseDelay: "1 second",
            factor: 1.1,
            maxDelay: "60 seconds",
            jitter: "none",
            maxAttempts: Infinity
          })
        }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      // ktor truncates to whole milliseconds (1210); 1.1² × 1000 in floating point is a hair above it
      expect(delays(h).map(Math.floor)).toEqual([1000, 1100, 1210])
    }))

  it.scoped("testConstantDelay", () =>
    Effect.gen(function*() {
      const h = yield* setup(inOrder(status(500), status(500), status(500), ok), {
        retry: { maxAttempts: 4, delay: () => "123 millis" }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(delays(h)).toEqual([123, 123, 123])
      expect(h.seen.map((s) => s.at - h.seen[0]!.at)).toEqual([0, 123, 246, 369])
    }))

  it.scoped("testRetryAfterHeader", () =>
    Effect.gen(function*() {
      // ktor waits max(delayMillis, Retry-After) on any status: [2000, 1234, 1234]. Sturdy honours a server's wait on
      // `retryAfterStatuses` only (500 listed here), and the server's wait replaces the backoff instead of flooring
      // it: `Retry-After: 1` waits 1 s, not 1.234 s
      const h = yield* setup(
        inOrder(status(500, { "retry-after": "2" }), status(500), status(500, { "retry-after": "1" }), ok),
        { retry: { maxAttempts: 4, delay: () => 1234, retryAfterStatuses: [500], retryAfterJitter: 0 } }
      )
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(delays(h)).toEqual([2000, 1234, 1000])
      expect(h.decisions.map((d) => d.reason)).toEqual(["retry-after", "backoff", "retry-after"])
      // with the default statuses a 500's Retry-After is not read at all
      const byDefault = yield* setup(
        inOrder(status(500, { "retry-after": "2" }), status(500), status(500, { "retry-after": "1" }), ok),
        { retry: { maxAttempts: 4, delay: () => 1234, retryAfterJitter: 0 } }
      )
      expect(textOf(yield* byDefault.run(byDefault.api.get("/")))).toBe(fixture)
      expect(delays(byDefault)).toEqual([1234, 1234, 1234])
    }))

  it.scoped("testRetryAfterHeaderFalse", () =>
    Effect.gen(function*() {
      // delayMillis(respectRetryAfterHeader = false) { 123 }: the server's waits are ignored, even on a status whose
      // waits would otherwise be honoured
      const h = yield* setup(
        inOrder(status(500, { "retry-after": "1234" }), status(500), status(500, { "retry-after": "2345" }), ok),
        { retry: { maxAttempts: 4, delay: () => 123, retryAfterStatuses: [500], respectRetryAfter: false } }
      )
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(delays(h)).toEqual([123, 123, 123])
    }))

  it.scoped("testMaxRetries", () =>
    Effect.gen(function*() {
      // retryOnServerErrors(2) with expectSuccess: the third 500 is the call's failure
      const h = yield* setup(inOrder(status(500), status(500), status(500), ok), {
        retry: { maxAttempts: 3, ...noWait }
      })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(failure).toMatchObject({ _tag: "ServerError", status: 500 })
      expect(Policy.attemptsOf(failure)).toBe(3)
      expect(h.seen).toHaveLength(3)
    }))

  it.scoped("testRetryOnException", () =>
    Effect.gen(function*() {
      const h = yield* setup(inOrder(networkError, networkError, networkError, ok), {
        retry: { maxAttempts: 4, ...noWait }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.seen).toHaveLength(4)
      expect(tags(h)).toEqual(["ConnectionError", "ConnectionError", "ConnectionError"])
    }))

  it.scoped("testRetryOnExceptionOrServerError", () =>
    Effect.gen(function*() {
      const h = yield* setup(inOrder(networkError, status(500), networkError, ok), {
        retry: { maxAttempts: 4, ...noWait }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.seen).toHaveLength(4)
      expect(tags(h)).toEqual(["ConnectionError", "ServerError", "ConnectionError"])
    }))

  it.scoped("testRetryCanCancel", () =>
    Effect.gen(function*() {
      // the caller cancels the request while it waits to retry (default delays): the call ends interrupted (ktor's
      // CancellationException) and nothing more is sent
      const h = yield* setup(inOrder(networkError, networkError, networkError, ok), { retry: { maxAttempts: 4 } })
      // not `h.run`: the TestClock moves only when this test moves it
      const fiber = yield* Effect.fork(Effect.provideService(h.api.get("/"), Policy.Policy, h.policy))
      for (let i = 0; i < 500 && h.decisions.length === 0; i++) yield* realPause
      expect(h.decisions.map((d) => d.retrying)).toEqual([true])
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      yield* TestClock.adjust("1 minute")
      for (let i = 0; i < 10; i++) yield* realPause
      expect(h.seen).toHaveLength(1)
    }))

  it.scoped("testRetryPerRequestConfig", () =>
    Effect.gen(function*() {
      // the client says noRetry(); one request says constantDelay(123) and retryOnExceptionOrServerErrors(4): an
      // endpoint override of the retry stage
      const perRequest = inOrder(networkError, status(500), networkError, status(500), ok)
      const h = yield* setup((request, response, n, tools) =>
        request.path === "/other" ? status(500)(response) : perRequest(request, response, n, tools), {
        retry: false,
        endpoints: {
          "GET /per-request": {
            retry: {
              maxAttempts: 5,
              delay: () =>
                123,
              budget: false
            }
          }
        }
      })
      expect(textOf(yield* h.run(h.api.get("/per-request")))).toBe(fixture)
      expect(delays(h)).toEqual([123, 123, 123, 123])
      expect(h.seen).toHaveLength(5)
      // the client's own rule still holds for the other requests
      const other = failureOf(yield* h.run(h.api.get("/other")))
      expect(other).toMatchObject({ _tag: "ServerError", status: 500 })
      expect(h.seen).toHaveLength(6)
    }))

  it.scoped("testRetryEvent", () =>
    Effect.gen(function*() {
      // HttpRequestRetryEvent: one per retry, with its count (ktor's retryCount 1 is Sturdy's attempt 2) and either
      // the cause (no response) or the response
      const h = yield* setup(inOrder(networkError, status(500), ok), { retry: { maxAttempts: 4, ...noWait } })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      const retries = h.decisions.filter((d) => d.retrying)
      expect(retries).toHaveLength(2)
      expect(retries.map((d) => d.attempt)).toEqual([2, 3])
      expect(retries[0]!.failure._tag).toBe("ConnectionError")
      expect(statusOf(retries[0]!.failure)).toBeUndefined()
      expect(retries[1]!.failure).toMatchObject({ _tag: "ServerError", status: 500 })
    }))

  it.scoped("testRetryOnExceptionDoesntRetryTimeoutByDefault", () =>
    Effect.gen(function*() {
      // ktor's retryOnException(3) does not retry a request timeout; in Sturdy that rule is `retryOn: { Timeout:
      // false }`. The answer would come after 5 s; each attempt may take 1 s
      const late: Handler = (_, response, __, { later }) => later(5000, () => ok(response))
      const h = yield* setup(late, {
        attemptTimeout: "1 second",
        retry: { maxAttempts: 4, ...noWait, retryOn: { Timeout: false } }
      })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(failure).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect(h.seen).toHaveLength(1)
      // Sturdy's default differs: an attempt timeout of a request safe to repeat is retried
      const byDefault = yield* setup(late, { attemptTimeout: "1 second", retry: { maxAttempts: 4, ...noWait } })
      const last = failureOf(yield* byDefault.run(byDefault.api.get("/")))
      expect(last).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect(Policy.attemptsOf(last)).toBe(4)
      expect(byDefault.seen).toHaveLength(4)
    }))

  it.scoped("testRetryOnExceptionRetriesTimeoutIfSet", () =>
    Effect.gen(function*() {
      // retryOnException(3, retryOnTimeout = true): the slow first attempt times out after 1 s, the retry succeeds
      const h = yield* setup(
        (_, response, n, { later }) => n === 1 ? later(5000, () => ok(response)) : ok(response),
        { attemptTimeout: "1 second", retry: { maxAttempts: 4, ...noWait } }
      )
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.seen).toHaveLength(2)
      expect(h.seen[1]!.at - h.seen[0]!.at).toBe(1000)
      expect(tags(h)).toEqual(["Timeout"])
    }))

  it.scoped("testResponseBodyCheckIgnoresEmpty", () =>
    Effect.gen(function*() {
      // retryOnExceptionIf(1) { true }: every failure without a response retries; a 401 with an empty body is an
      // answer, returned as it is (through Policy.withPolicy, which returns the last response), never retried
      const h = yield* setup(inOrder(status(401)), {
        retry: { maxAttempts: 2, ...noWait, retryOn: (failure) => statusOf(failure) === undefined }
      })
      const client = Policy.withPolicy(h.platform, h.policy)
      const exit = yield* h.run(
        Effect.flatMap(client.get(`${h.url}/`), (response) =>
          Effect.map(response.text, (text) => ({ status: response.status, text })))
      )
      expect(Exit.isSuccess(exit) && exit.value).toEqual({ status: 401, text: "" })
      expect(h.seen).toHaveLength(1)
      // the same through SturdyClient: a typed ClientError with the empty body, sent once
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(failure).toMatchObject({ _tag: "ClientError", status: 401, bodyExcerpt: "" })
      expect(h.seen).toHaveLength(2)
    }))

  it.scoped("testRetryWithLargeEncodedBody", () =>
    Effect.gen(function*() {
      // KTOR-8820: a gzip body larger than a read buffer, retries off. Sturdy's transport does not decompress, so the
      // encoded bytes arrive whole and inflate to the original 2 MiB
      const bytes = Buffer.from(Array.from({ length: 2 * 1024 * 1024 }, (_, i) => i & 0xff))
      const gzipped = Zlib.gzipSync(bytes)
      const h = yield* setup((_, response) => {
        response.writeHead(200, { "content-encoding": "gzip", "content-length": gzipped.length })
        response.end(gzipped)
      }, { retry: false })
      const exit = yield* h.run(h.api.get("/"))
      if (Exit.isFailure(exit)) throw new Error("expected a success")
      expect(exit.value.status).toBe(200)
      expect(Buffer.from(exit.value.body).equals(gzipped)).toBe(true)
      expect(Zlib.gunzipSync(exit.value.body).equals(bytes)).toBe(true)
    }))

  it.scoped("testRetryHasPriorityOverHttpSend", () =>
    Effect.gen(function*() {
      // HttpSend { maxSendCount = 1 } (no redirect may follow) does not limit the retries: 4 × 500, then 200
      const h = yield* setup((_, response, n) => n < 5 ? status(500)(response) : ok(response), {
        retry: { maxAttempts: 6, ...noWait }
      }, { client: { transformClient: Redirect.follow({ maxRedirects: 0 }) } })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.seen).toHaveLength(5)
    }))

  it.scoped("testMaxSendCountGreaterThanMaxRetries", () =>
    Effect.gen(function*() {
      // retryOnServerErrors(maxRetries = 0) does not limit redirects: / redirects to /ok
      const h = yield* setup(
        (request, response) => request.path === "/ok" ? ok(response) : send(response, 302, { location: "/ok" }),
        { retry: false },
        { client: { transformClient: Redirect.follow() } }
      )
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.seen.map((s) => s.path)).toEqual(["/", "/ok"])
    }))

  it.scoped("testMaxSendCountEqualToMaxRetries", () =>
    Effect.gen(function*() {
      // retryOnServerErrors(2) with HttpSend { maxSendCount = 2 }: two 500s, then 200
      const h = yield* setup(inOrder(status(500), status(500), ok), { retry: { maxAttempts: 3, ...noWait } }, {
        client: { transformClient: Redirect.follow({ maxRedirects: 1 }) }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.seen).toHaveLength(3)
    }))

  it.scoped("testRetryWithMaxValueDoesNotFailAllRequests", () =>
    Effect.gen(function*() {
      // retryOnExceptionIf(Int.MAX_VALUE) { false }: a huge attempt limit (bounded by the default 30 s deadline) does
      // not break a call that succeeds at once; Int.MAX_VALUE retries, and Infinity
      for (const maxAttempts of [2 ** 31, Infinity]) {
        const h = yield* setup(inOrder(ok), { retry: { maxAttempts, retryOn: () => false } })
        expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
        expect(h.seen).toHaveLength(1)
        expect(h.decisions).toEqual([])
      }
    }))
})

describe("ktor ConnectErrorsTest (ktor-client-cio)", () => {
  it.scoped("testResponseErrorWithInvalidChunkException", () =>
    Effect.gen(function*() {
      // retryOnException(maxRetries = 3): twice the server writes a chunked 200 and closes the connection 10 bytes
      // short; the third time it answers in full. A truncated body is retried like a network error
      const valid =
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nTest\r\n0\r\n\r\n"
      const h = yield* setup((_, response, n) => {
        response.socket?.end(n <= 2 ? valid.slice(0, valid.length - 10) : valid)
      }, { retry: { maxAttempts: 4, ...noWait } })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe("Test")
      expect(h.seen).toHaveLength(3)
      expect(tags(h)).toHaveLength(2)
    }))
})
