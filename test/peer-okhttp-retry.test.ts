/**
 * square/okhttp's retry cases of `okhttp/src/jvmTest/kotlin/okhttp3/CallTest.kt` (commit
 * 1682d9bac8c03dffde2969b0b74d47649d0dbb52): what its `RetryAndFollowUpInterceptor` repeats (a 408 once, a 503 with
 * `Retry-After: 0` once, a failed pooled connection) and what it does not, ported to Sturdy's public API:
 * `SturdyClient` over `@sturdy/node`'s undici transport against a real node:http(s) server on 127.0.0.1
 * (`test/utils/retryHarness.ts`) in place of MockWebServer, every wait on the TestClock. One `it` per okhttp case,
 * named after it.
 *
 * Mapping: okhttp's follow-up retries (one for a 408, one for a 503 with `Retry-After: 0`) are `retry.maxAttempts: 2`;
 * `retryOnConnectionFailure(false)` is `retry: false`; the response okhttp returns when it stops (a 408 or 503 with its
 * body) is what `Policy.withPolicy` returns (the last response), and, for `SturdyClient`, a status failure with that
 * `bodyExcerpt`; a one-shot `RequestBody` is a `Stream` body (sent once); MockWebServer's `CloseSocket` at the start of
 * a response is a server that destroys the socket before answering (a `ConnectionError` `Reset`), after a first call
 * has seeded the connection pool.
 *
 * Deliberate differences (each test says which): okhttp repeats a POST after a 408 or a failed pooled connection (the
 * server said it did not process it, or the connection was stale); Sturdy repeats a POST that may have reached the
 * server only when `retry.methods` lists it or it carries an `Idempotency-Key`. okhttp does not retry a 408 that
 * carries a `Retry-After` above 0; Sturdy reads `Retry-After` only on `retry.retryAfterStatuses` (413, 429, 503), so a
 * 408's is ignored and the backoff applies (a `retryOn` predicate gives okhttp's rule). okhttp does not retry a read
 * timeout; Sturdy retries an attempt timeout of a request safe to repeat. okhttp calls a `RequestBody`'s `writeTo` for
 * each attempt; Sturdy encodes the body once and sends the same bytes on every attempt.
 *
 * Not ported: the route and proxy cases (readTimeoutFails, connectTimeoutsAttemptsAlternateRoute,
 * interceptorRecoversWhenRoutesExhausted, proxyDisconnectsAfterRequest: okhttp's route selection), the HTTP/2 variants
 * (the transport speaks HTTP/1.1 here), the TLS fallback cases (recoverFromTlsHandshakeFailure*,
 * noRecoveryFromTlsHandshakeFailureWhenTlsFallbackIsDisabled: okhttp's connection specs), and the event-listener
 * sequences of recoverWhenRetryOnConnectionFailureIsTrue and serverHalfClosingBeforeResponse (okhttp's event model:
 * the outcome of the first is ported).
 */
import { HttpBody, HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Policy } from "@sturdy/http"
import { Effect, Exit, Stream } from "effect"
import type * as Http from "node:http"
import { loopbackTls } from "./utils/loopbackServer.js"
import { failureOf, gaps, type Handler, send, setup, textOf } from "./utils/retryHarness.js"

const tooLong = (response: Http.ServerResponse, headers: Record<string, string> = {}) =>
  send(response, 408, { connection: "close", ...headers }, "You took too long!")
const unavailable = (response: Http.ServerResponse, body = "You took too long!") =>
  send(response, 503, { connection: "close", "retry-after": "0" }, body)
/** MockWebServer's `CloseSocket` at the start of the response */
const closeSocket = (response: Http.ServerResponse) => response.socket?.destroy()

/** okhttp's follow-up budget for a 408 or a 503: one retry, at once unless a backoff says otherwise */
const once = { maxAttempts: 2, baseDelay: 0, maxDelay: 0 } as const

/** answers each request with the next of `answers` */
const queue = (...answers: ReadonlyArray<(response: Http.ServerResponse) => void>): Handler => (_, response, n) =>
  answers[Math.min(n, answers.length) - 1]!(response)

describe("okhttp CallTest.kt", () => {
  it.scoped("getClientRequestTimeout", () =>
    Effect.gen(function*() {
      const h = yield* setup(queue(tooLong, (r) => send(r, 200, {}, "Body")), { retry: once })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe("Body")
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("getClientRequestTimeoutWithBackPressure", () =>
    Effect.gen(function*() {
      // okhttp returns a 408 with `Retry-After: 1` as it is. Sturdy ignores a 408's Retry-After (not one of
      // `retryAfterStatuses`) and retries it like any 408
      const h = yield* setup(queue((r) => tooLong(r, { "retry-after": "1" }), (r) => send(r, 200, {}, "Body")), {
        retry: once
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe("Body")
      expect(h.decisions.map((d) => [d.reason, d.retrying])).toEqual([["backoff", true]])
      // okhttp's rule, as a predicate: a 408 is retried only without a wait
      const okhttp = yield* setup(queue((r) => tooLong(r, { "retry-after": "1" }), (r) => send(r, 200, {}, "Body")), {
        retry: { ...once, retryOn: { ClientError: (e) => e.status === 408 && e.headers["retry-after"] === undefined } }
      })
      const client = Policy.withPolicy(okhttp.platform, okhttp.policy)
      const exit = yield* okhttp.run(
        Effect.flatMap(
          client.execute(HttpClientRequest.get(okhttp.url)),
          (r) => Effect.map(r.text, (t) => [r.status, t])
        )
      )
      expect(Exit.isSuccess(exit) && exit.value).toEqual([408, "You took too long!"])
      expect(okhttp.seen.length).toBe(1)
    }))

  it.scoped("requestBodyRetransmittedOnClientRequestTimeout", () =>
    Effect.gen(function*() {
      // okhttp repeats the POST after a 408; Sturdy does not unless `retry.methods` lists POST, and then sends the
      // same body again
      const h = yield* setup(queue(tooLong, (r) => send(r, 200, {}, "Body")), { retry: once })
      expect(failureOf(yield* h.run(h.api.post("/", { body: HttpBody.text("Hello") })))).toMatchObject({ status: 408 })
      expect(h.seen.length).toBe(1)

      const listed = yield* setup(queue(tooLong, (r) => send(r, 200, {}, "Body")), {
        retry: { ...once, methods: ["POST"] }
      })
      expect(textOf(yield* listed.run(listed.api.post("/", { body: HttpBody.text("Hello") })))).toBe("Body")
      expect(listed.seen.map((s) => s.body)).toEqual(["Hello", "Hello"])
    }))

  it.scoped("disableClientRequestTimeoutRetry", () =>
    Effect.gen(function*() {
      const h = yield* setup(queue(tooLong, (r) => send(r, 200, {}, "Body")), { retry: false })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(failure).toMatchObject({ _tag: "ClientError", status: 408, bodyExcerpt: "You took too long!" })
      const raw = yield* setup(queue(tooLong, (r) => send(r, 200, {}, "Body")), { retry: false })
      const client = Policy.withPolicy(raw.platform, raw.policy)
      const exit = yield* raw.run(
        Effect.flatMap(client.execute(HttpClientRequest.get(raw.url)), (r) => Effect.map(r.text, (t) => [r.status, t]))
      )
      expect(Exit.isSuccess(exit) && exit.value).toEqual([408, "You took too long!"])
      expect(h.seen.length + raw.seen.length).toBe(2)
    }))

  it.scoped("maxClientRequestTimeoutRetries", () =>
    Effect.gen(function*() {
      // two 408s: one retry, then the second 408 comes back
      const h = yield* setup(queue(tooLong, tooLong, (r) => send(r, 200, {}, "unreachable")), { retry: once })
      const client = Policy.withPolicy(h.platform, h.policy)
      const exit = yield* h.run(
        Effect.flatMap(client.execute(HttpClientRequest.get(h.url)), (r) => Effect.map(r.text, (t) => [r.status, t]))
      )
      expect(Exit.isSuccess(exit) && exit.value).toEqual([408, "You took too long!"])
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("maxUnavailableTimeoutRetries", () =>
    Effect.gen(function*() {
      const h = yield* setup(queue(unavailable, unavailable, (r) => send(r, 200, {}, "unreachable")), { retry: once })
      const client = Policy.withPolicy(h.platform, h.policy)
      const exit = yield* h.run(
        Effect.flatMap(client.execute(HttpClientRequest.get(h.url)), (r) => Effect.map(r.text, (t) => [r.status, t]))
      )
      expect(Exit.isSuccess(exit) && exit.value).toEqual([503, "You took too long!"])
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("retryOnUnavailableWith0RetryAfter", () =>
    Effect.gen(function*() {
      // `Retry-After: 0` retries at once, whatever the backoff
      const h = yield* setup(queue(unavailable, (r) => send(r, 200, {}, "Body")), {
        retry: { maxAttempts: 2, baseDelay: "5 seconds" }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe("Body")
      expect(h.decisions.map((d) => [d.reason, d.retrying])).toEqual([["retry-after", true]])
      expect(gaps(h)).toEqual([0])
    }))

  it.scoped("canRetryNormalRequestBody", () =>
    Effect.gen(function*() {
      // a POST after a 503 with `Retry-After: 0`: okhttp repeats it and writes the body again ("attempt 0", "attempt
      // 1"); Sturdy repeats it when `retry.methods` lists POST, with the body it encoded once
      let writes = 0
      const h = yield* setup(
        queue((r) => unavailable(r, "please retry"), (r) => send(r, 200, {}, "thank you for retrying")),
        { retry: { ...once, methods: ["POST"] } }
      )
      const exit = yield* h.run(h.api.post("/", { body: HttpBody.text(`attempt ${writes++}`) }))
      expect(textOf(exit)).toBe("thank you for retrying")
      expect(h.seen.map((s) => s.body)).toEqual(["attempt 0", "attempt 0"])
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("cannotRetryOneShotRequestBody", () =>
    Effect.gen(function*() {
      // a body that can be read once is sent once, even with POST listed in `retry.methods`: the 503 comes back
      const h = yield* setup(
        queue((r) => unavailable(r, "please retry"), (r) => send(r, 200, {}, "thank you for retrying")),
        { retry: { ...once, methods: ["POST"] } }
      )
      const body = HttpBody.stream(Stream.make(new TextEncoder().encode("attempt 0")))
      const failure = failureOf(yield* h.run(h.api.post("/", { body })))
      expect(failure).toMatchObject({ _tag: "ServerError", status: 503, bodyExcerpt: "please retry" })
      expect(h.seen.map((s) => s.body)).toEqual(["attempt 0"])
    }))

  it.scoped("recoverWhenRetryOnConnectionFailureIsTrue", () =>
    Effect.gen(function*() {
      // a first call seeds the pool; the second's connection is closed before the answer, and the retry succeeds
      const h = yield* setup(
        queue((r) => send(r, 200, {}, "seed connection pool"), closeSocket, (r) => send(r, 200, {}, "retry success")),
        { retry: once }
      )
      expect(textOf(yield* h.run(h.api.get("/")))).toBe("seed connection pool")
      expect(textOf(yield* h.run(h.api.get("/")))).toBe("retry success")
      expect(h.decisions.map((d) => d.failure)).toMatchObject([{ _tag: "ConnectionError", reason: "Reset" }])
    }))

  it.scoped("noRecoverWhenRetryOnConnectionFailureIsFalse", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        queue((r) => send(r, 200, {}, "seed connection pool"), closeSocket, (r) => send(r, 200, {}, "unreachable!")),
        { retry: false }
      )
      expect(textOf(yield* h.run(h.api.get("/")))).toBe("seed connection pool")
      expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ _tag: "ConnectionError", reason: "Reset" })
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("postBodyRetransmittedOnFailureRecovery", () =>
    Effect.gen(function*() {
      // okhttp repeats the POST on a fresh connection when the pooled one fails; Sturdy does not repeat a POST that
      // may have reached the server unless `retry.methods` lists it (then the same body goes again)
      const answers = () => queue((r) => send(r, 200, {}, "abc"), closeSocket, (r) => send(r, 200, {}, "def"))
      const h = yield* setup(answers(), { retry: once })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe("abc")
      expect(failureOf(yield* h.run(h.api.post("/", { body: HttpBody.text("body!", "text/plain") })))).toMatchObject({
        _tag: "ConnectionError",
        reason: "Reset"
      })
      expect(h.seen.length).toBe(2)

      const listed = yield* setup(answers(), { retry: { ...once, methods: ["POST"] } })
      expect(textOf(yield* listed.run(listed.api.get("/")))).toBe("abc")
      const exit = yield* listed.run(listed.api.post("/", { body: HttpBody.text("body!", "text/plain") }))
      expect(textOf(exit)).toBe("def")
      expect(listed.seen.map((s) => [s.method, s.body])).toEqual([["GET", ""], ["POST", "body!"], ["POST", "body!"]])
    }))

  it.scoped("serverHalfClosingBeforeResponse", () =>
    Effect.gen(function*() {
      // with retries off, the server shutting its output before answering the POST fails the call ("unexpected end
      // of stream"), and nothing is sent again
      const h = yield* setup(
        queue((r) => send(r, 200, {}, "abc"), (r) => r.socket?.end(), (r) => send(r, 200, {}, "abc")),
        { retry: false }
      )
      expect(textOf(yield* h.run(h.api.get("/")))).toBe("abc")
      const failure = failureOf(yield* h.run(h.api.post("/", { body: HttpBody.text("body!", "text/plain") })))
      expect(failure._tag).toBe("ConnectionError")
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("tlsTimeoutsNotRetried", () =>
    Effect.gen(function*() {
      // a server that stalls, and a 100 ms limit: okhttp does not retry the read timeout; Sturdy retries an attempt
      // timeout of a GET (safe to repeat), here once, and then fails with it. (Over plain HTTP: the client would not
      // trust the test certificate, and TLS changes nothing in the rule.)
      const h = yield* setup((_, response, n) => n >= 3 ? send(response, 200, {}, "unreachable!") : undefined, {
        attemptTimeout: "100 millis",
        retry: once
      })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(failure).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("tlsHandshakeFailure_noFallbackByDefault", () =>
    Effect.gen(function*() {
      // the handshake fails (a certificate the client does not trust): not retried
      const h = yield* setup((_, response) => send(response, 200, {}, "response that will never be received"), {
        retry: once
      }, {
        tls: loopbackTls
      })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(failure).toMatchObject({ _tag: "ConnectionError", reason: "Tls" })
      expect(h.decisions.map((d) => [d.reason, d.retrying])).toEqual([["not-retryable", false]])
      expect(h.seen.length).toBe(0)
    }))
})
