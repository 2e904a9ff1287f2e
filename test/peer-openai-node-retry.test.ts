/**
 * openai/openai-node's retry cases (commit 7b7d6ca71130d37ec09792c50056b47861f2eccf, a Stainless-generated client):
 * `tests/index.test.ts` (describe "retries", and "maxRetries option is correctly set" of "instantiate client") and
 * the retry cases of `tests/client-behavior.test.ts`, ported to Sturdy's public API: `SturdyClient` over
 * `@sturdy/node`'s undici transport against a real node:http server on 127.0.0.1 (`test/utils/retryHarness.ts`),
 * every wait on the TestClock. One `it` per peer case, named after it (a `test.each` row is one `it`).
 *
 * Mapping: `maxRetries: n` (default 2) is `retry.maxAttempts: n + 1` (default 3: the same); a per-request
 * `maxRetries` is an `endpoints` entry; the client's `timeout` is `attemptTimeout` (each attempt has its own, and an
 * attempt timeout is retried, as in the SDK); the SDK's backoff (0.5 s doubling to 8 s, minus up to 25 % jitter) is
 * `retry.baseDelay: "500 millis"`, `maxDelay: "8 seconds"`; a subclass's `idempotencyHeader = 'Idempotency-Key'`
 * is `retry.idempotencyKey: true`; the SDK's `shouldRetry` (src/client.ts: `x-should-retry: true/false` first, then
 * 408, 409, 429, >= 500) is a `retry.retryOn` predicate over the failure's `headers` and `status` (`openaiRetryOn`
 * below); `retry-after-ms` is read by Sturdy itself, before `Retry-After`, as the SDK reads it (`openaiDelay` below
 * maps it by hand too, for the SDK's rule in full).
 *
 * Deliberate differences (each test says which): Sturdy's default rules do not retry 409 (the SDK retries it as a
 * lock timeout) nor 501/505/511 (the SDK retries every 5xx); `Retry-After: 0.1` is not RFC 9110 delay-seconds, so Sturdy ignores it and waits its
 * backoff where the SDK waits 100 ms; a Retry-After above `maxRetryAfter` (30 s) fails the call at once where the SDK
 * (above 60 s) falls back to its backoff; a generated key is a UUID (the SDK's `stainless-node-retry-<uuid>`) and is
 * given to POST and PATCH only (the SDK's to every method but GET).
 *
 * The SDK's `x-stainless-retry-count` header is `retryCountHeader: "x-stainless-retry-count"`; the SDK sends it by
 * default, Sturdy only when asked ('omit retry count header by default' asserts Sturdy's default, off), and a
 * per-request `null` is an endpoint's `retryCountHeader: false`.
 *
 * Not ported: in 'preserves the appropriate error class when fetching fails', the OAuthError and
 * SubjectTokenProviderError rows (the SDK's own auth providers).
 */
import { HttpBody, HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { type HttpFailure, Policy } from "@sturdy/http"
import type { Duration } from "effect"
import { Effect, Stream } from "effect"
import { delays, failureOf, gaps, type Handler, send, setup, statusOf, textOf } from "./utils/retryHarness.js"

const json = { "content-type": "application/json" }
const a1 = JSON.stringify({ a: 1 })

/** the SDK's backoff, without its jitter (Sturdy's jitter only shortens a delay; `none` keeps the tests exact) */
const openaiBackoff = { baseDelay: "500 millis", maxDelay: "8 seconds", jitter: "none", retryAfterJitter: 0 } as const

/** the SDK's `shouldRetry`: `x-should-retry` when the server sent it, else 408, 409, 429 and every 5xx */
const openaiRetryOn = (failure: HttpFailure.HttpFailure): boolean => {
  const status = statusOf(failure)
  if (status === undefined) return Policy.isRetryableByDefault(failure)
  const header = "headers" in failure ? failure.headers["x-should-retry"] : undefined
  if (header === "true") return true
  if (header === "false") return false
  return status === 408 || status === 409 || status === 429 || status >= 500
}

/** the SDK's `retry-after-ms` (read first): the wait when it is a number, else the backoff */
const openaiDelay = (attempt: number, failure: Policy.RetryFailure): Duration.DurationInput => {
  const header = "headers" in failure ? failure.headers["retry-after-ms"] : undefined
  const millis = header === undefined ? NaN : parseFloat(header)
  return Number.isNaN(millis) ? 500 * 2 ** (attempt - 1) : millis
}

/** the first request answers `status` with `headers`; the rest answer `{ a: 1 }` */
const firstFails =
  (status: number, headers: (at: number) => Record<string, string> = () => ({})): Handler => (request, response, n) =>
    n === 1 ?
      send(
        response,
        status,
        { ...json, ...headers(request.at) },
        JSON.stringify({ error: { message: "request failed" } })
      ) :
      send(response, 200, json, a1)

describe("openai-node tests/index.test.ts", () => {
  it.scoped("retry on timeout", () =>
    Effect.gen(function*() {
      // timeout: 10 (ms): the first attempt never answers and is cut at 10 ms, the retry answers
      const h = yield* setup(
        (_, response, n) => n === 1 ? undefined : send(response, 200, json, a1),
        { attemptTimeout: "10 millis", retry: openaiBackoff }
      )
      expect(textOf(yield* h.run(h.api.get("/foo")))).toBe(a1)
      expect(h.seen.length).toBe(2)
      expect(h.decisions[0]!.failure).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect(textOf(yield* h.run(h.api.get("/foo")))).toBe(a1)
      expect(h.seen.length).toBe(3)
    }))

  it.scoped("does not retry streaming request bodies", () =>
    Effect.gen(function*() {
      // maxRetries: 2 and a ReadableStream body; `methods` lists POST so that only the body stops the retry (without
      // it Sturdy would not repeat a POST after a 429 anyway)
      const h = yield* setup((_, response) => send(response, 429), {
        retry: { ...openaiBackoff, maxAttempts: 3, methods: ["POST"] }
      })
      const body = HttpBody.stream(Stream.make(new TextEncoder().encode("streamed-content")))
      const failure = failureOf(yield* h.run(h.api.post("/foo", { body })))
      expect(failure).toMatchObject({ _tag: "RateLimited", status: 429 })
      expect(h.seen.length).toBe(1)
      expect(h.seen[0]!.body).toBe("streamed-content")
    }))

  it.scoped("retry on 429 with retry-after", () =>
    Effect.gen(function*() {
      // the SDK waits `Retry-After: 0.1` as 100 ms; RFC 9110 delay-seconds is digits only, so Sturdy ignores the value
      // and waits its backoff (500 ms here): retried either way
      const h = yield* setup(firstFails(429, () => ({ "retry-after": "0.1" })), { retry: openaiBackoff })
      expect(textOf(yield* h.run(h.api.get("/foo")))).toBe(a1)
      expect(h.seen.length).toBe(2)
      expect(gaps(h)).toEqual([500])
      expect(textOf(yield* h.run(h.api.get("/foo")))).toBe(a1)
      expect(h.seen.length).toBe(3)
    }))

  it.scoped("retry on 429 with retry-after-ms", () =>
    Effect.gen(function*() {
      // Sturdy reads `retry-after-ms` as the SDK does: the retry waits its 10 ms, by default and with the SDK's rule
      const defaults = yield* setup(firstFails(429, () => ({ "retry-after-ms": "10" })), { retry: openaiBackoff })
      expect(textOf(yield* defaults.run(defaults.api.get("/foo")))).toBe(a1)
      expect(defaults.seen.length).toBe(2)
      expect(gaps(defaults)).toEqual([10])
      expect(textOf(yield* defaults.run(defaults.api.get("/foo")))).toBe(a1)
      expect(defaults.seen.length).toBe(3)

      const mapped = yield* setup(firstFails(429, () => ({ "retry-after-ms": "10" })), {
        retry: { ...openaiBackoff, delay: openaiDelay }
      })
      expect(textOf(yield* mapped.run(mapped.api.get("/foo")))).toBe(a1)
      expect(gaps(mapped)).toEqual([10])
    }))

  describe("retry count header", () => {
    /** the first two requests answer 429 `Retry-After: 0.1` (Sturdy waits its backoff: see above), then `{ a: 1 }` */
    const twice429: Handler = (_, response, n) =>
      n <= 2 ? send(response, 429, { ...json, "retry-after": "0.1" }, "{}") : send(response, 200, json, a1)
    const stainless = "x-stainless-retry-count"
    // maxRetries: 4
    const retry = { ...openaiBackoff, maxAttempts: 5 }

    it.scoped("retry count header", () =>
      Effect.gen(function*() {
        const h = yield* setup(twice429, { retry, retryCountHeader: stainless })
        expect(textOf(yield* h.run(h.api.get("/foo")))).toBe(a1)
        expect(h.seen[2]!.headers[stainless]).toBe("2")
        expect(h.seen.length).toBe(3)
      }))

    it.scoped("omit retry count header", () =>
      Effect.gen(function*() {
        // headers: { 'X-Stainless-Retry-Count': null } on one request: an endpoint that turns the header off
        const h = yield* setup(twice429, {
          retry,
          retryCountHeader: stainless,
          endpoints: { "GET /foo": { retryCountHeader: false } }
        })
        expect(textOf(yield* h.run(h.api.get("/foo")))).toBe(a1)
        expect(h.seen.length).toBe(3)
        expect(h.seen.map((seen) => stainless in seen.headers)).toEqual([false, false, false])
      }))

    it.scoped("omit retry count header by default", () =>
      Effect.gen(function*() {
        // the SDK turns its default header off with defaultHeaders: { 'X-Stainless-Retry-Count': null }; Sturdy's
        // default is off already
        const h = yield* setup(twice429, { retry })
        expect(textOf(yield* h.run(h.api.get("/foo")))).toBe(a1)
        expect(h.seen.length).toBe(3)
        expect(h.seen.map((seen) => stainless in seen.headers || "x-retry-count" in seen.headers))
          .toEqual([false, false, false])
      }))

    it.scoped("overwrite retry count header", () =>
      Effect.gen(function*() {
        const h = yield* setup(twice429, { retry, retryCountHeader: stainless })
        expect(textOf(yield* h.run(h.api.get("/foo", { headers: { "X-Stainless-Retry-Count": "42" } })))).toBe(a1)
        expect(h.seen[2]!.headers[stainless]).toBe("42")
      }))
  })

  it.scoped("maxRetries option is correctly set", () =>
    Effect.gen(function*() {
      const request = HttpClientRequest.get("http://127.0.0.1/foo")
      const four = yield* Policy.make({ retry: { maxAttempts: 5 } })
      expect(four.describe(request).maxAttempts).toBe(5)
      // default: maxRetries 2, three attempts in all
      const byDefault = yield* Policy.make()
      expect(byDefault.describe(request).maxAttempts).toBe(3)
      // a per-request maxRetries (an endpoint's)
      const perRequest = yield* Policy.make({ endpoints: { "GET /foo": { retry: { maxAttempts: 1 } } } })
      expect(perRequest.describe(request).maxAttempts).toBe(1)
      expect(perRequest.describe(HttpClientRequest.get("http://127.0.0.1/bar")).maxAttempts).toBe(3)
    }))
})

describe("openai-node tests/client-behavior.test.ts", () => {
  it.scoped("generates unique idempotency keys and preserves explicitly supplied keys", () =>
    Effect.gen(function*() {
      // over the wire: a POST that fails once is retried with the same generated key; two calls get two keys; a
      // caller's key is sent as is; a GET gets none
      const h = yield* setup(
        (_, response, n) => n % 2 === 1 ? send(response, 500) : send(response, 200, json, a1),
        { retry: { ...openaiBackoff, idempotencyKey: true } }
      )
      expect(textOf(yield* h.run(h.api.post("/items", { body: {} })))).toBe(a1)
      expect(textOf(yield* h.run(h.api.post("/items", { body: {} })))).toBe(a1)
      expect(
        textOf(yield* h.run(h.api.post("/items", { body: {}, headers: { "idempotency-key": "caller-provided" } })))
      ).toBe(a1)
      expect(textOf(yield* h.run(h.api.get("/items")))).toBe(a1)
      const keys = h.seen.map((s) => s.headers["idempotency-key"])
      expect(h.seen.length).toBe(8)
      expect(keys[0]).toMatch(/^[\da-f-]{36}$/)
      expect(keys[1]).toBe(keys[0])
      expect(keys[3]).toBe(keys[2])
      expect(keys[2]).not.toBe(keys[0])
      expect(keys.slice(4, 6)).toEqual(["caller-provided", "caller-provided"])
      expect(keys.slice(6)).toEqual([undefined, undefined])
    }))

  const rows: ReadonlyArray<readonly [number, Record<string, string>, boolean, boolean]> = [
    // status, headers, the SDK retries, Sturdy's defaults retry
    [408, {}, true, true],
    [409, {}, true, false],
    [429, {}, true, true],
    [500, {}, true, true],
    [400, { "x-should-retry": "true" }, true, true],
    [500, { "x-should-retry": "false" }, false, false],
    [400, {}, false, false]
  ]
  for (const [status, headers, retries, sturdyRetries] of rows) {
    it.scoped(
      `retries HTTP status ${status} according to explicit headers and defaults ${JSON.stringify(headers)}`,
      () =>
        Effect.gen(function*() {
          // maxRetries: 1; the SDK's rule (`openaiRetryOn`) retries as the SDK does. Sturdy's defaults read
          // `x-should-retry` as the SDK does, and do not retry 409 (a deliberate difference)
          const handler = firstFails(status, () => ({ ...headers, "retry-after-ms": "0" }))
          const mapped = yield* setup(handler, {
            retry: { ...openaiBackoff, maxAttempts: 2, retryOn: openaiRetryOn, delay: openaiDelay }
          })
          const defaults = yield* setup(handler, { retry: { ...openaiBackoff, maxAttempts: 2 } })
          for (const [h, expected] of [[mapped, retries], [defaults, sturdyRetries]] as const) {
            const exit = yield* h.run(h.api.get("/items"))
            if (expected) {
              expect(textOf(exit)).toBe(a1)
              expect(h.seen.length).toBe(2)
            } else {
              expect(statusOf(failureOf(exit))).toBe(status)
              expect(h.seen.length).toBe(1)
            }
          }
          // the SDK's `retry-after-ms: 0`, which Sturdy reads too
          if (retries) expect(gaps(mapped)).toEqual([0])
        })
    )
  }

  it.scoped("honors HTTP-date retry-after headers", () =>
    Effect.gen(function*() {
      // the SDK mocks Date.parse to "now + 5 ms"; here the server names a date 5 s after its virtual now (an HTTP-date
      // has whole seconds, so the wait is 4 to 5 s)
      const h = yield* setup(
        firstFails(429, (at) => ({ "retry-after": new Date(at + 5000).toUTCString() })),
        { retry: { ...openaiBackoff, maxAttempts: 2 } }
      )
      expect(textOf(yield* h.run(h.api.get("/items")))).toBe(a1)
      expect(h.seen.length).toBe(2)
      const [wait] = delays(h)
      expect(wait).toBeGreaterThan(4000)
      expect(wait).toBeLessThanOrEqual(5000)
      expect(gaps(h)).toEqual([wait])
    }))

  it.scoped("prefers retry-after-ms over retry-after even when retry-after-ms is zero", () =>
    Effect.gen(function*() {
      // as the SDK: `retry-after-ms: 0` is read first, and the Retry-After of 60 s is not waited
      const h = yield* setup(
        firstFails(429, () => ({ "retry-after-ms": "0", "retry-after": "60" })),
        { retry: { ...openaiBackoff, maxAttempts: 2 } }
      )
      expect(textOf(yield* h.run(h.api.get("/items")))).toBe(a1)
      expect(h.seen.length).toBe(2)
      expect(gaps(h)).toEqual([0])
    }))

  it.scoped("preserves the appropriate error class when fetching fails: network unavailable", () =>
    Effect.gen(function*() {
      // maxRetries: 0; APIConnectionError is `ConnectionError`
      const h = yield* setup(() => undefined, { retry: false }, { listen: "later" })
      expect(failureOf(yield* h.run(h.api.get("/items")))).toMatchObject({ _tag: "ConnectionError", reason: "Refused" })
    }))

  it.scoped("preserves the appropriate error class when fetching fails: connection timed out", () =>
    Effect.gen(function*() {
      // maxRetries: 0; APIConnectionTimeoutError is `Timeout` (phase `Attempt`)
      const h = yield* setup(() => undefined, { attemptTimeout: "1 second", retry: false })
      expect(failureOf(yield* h.run(h.api.get("/items")))).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect(h.seen.length).toBe(1)
    }))
})
