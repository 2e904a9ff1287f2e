/**
 * stripe/stripe-node's retry cases (commit 663942164d3876f04bb26617b88f498ba785e580): `test/RequestSender.spec.ts`
 * (describe "_makeHeaders" › "idempotency keys", "_shouldRetry", "Retry Network Requests" › "_request" and
 * "_getSleepTimeInMS") and `test/StripeResource.spec.ts` (describe "streaming" › "failure"), ported to Sturdy's public
 * API: `SturdyClient` over `@sturdy/node`'s undici transport against a real node:http server on 127.0.0.1
 * (`test/utils/retryHarness.ts`), every wait on the TestClock. One `it` per peer case, named after it. The SDK's
 * pure helpers (`_makeHeaders`, `_shouldRetry`) are ported as what they decide over the wire: the headers the server
 * sees, the requests it gets.
 *
 * Mapping: `maxNetworkRetries: n` is `retry.maxAttempts: n + 1` (the SDK's default 2, Sturdy's default 3 attempts: the
 * same); a per-request `maxNetworkRetries` is an `endpoints` entry (`"POST /v1/charges"`), which wins over the base
 * options as the request's setting wins over the client's; the SDK keys every v1 POST (`stripe-node-retry-<uuid>`),
 * which is `retry.idempotencyKey: true`, and a caller's `idempotencyKey` is an `Idempotency-Key` header; the SDK's
 * `_shouldRetry` (`Stripe-Should-Retry: true/false` first, then 409 and every status from 500, and every connection
 * error) is a `retry.retryOn` predicate over the failure's `headers` and `status` (`stripeRetryOn` below); the
 * backoff (0.5 s doubling to 5 s, randomised within [t/2, t]) is `retry.baseDelay: "500 millis"`,
 * `maxDelay: "5 seconds"`, `jitter: "equal"`; the client's `timeout` is `attemptTimeout`.
 *
 * Sturdy's default rules read `Stripe-Should-Retry` as the SDK does (`false` never retries; `true` retries whatever
 * the status), under the same safety rules as any retry.
 *
 * Deliberate differences (each test says which): Sturdy's default rules do not retry 409; a POST is
 * repeated after a failure that may have reached the server only with an `Idempotency-Key` (the SDK always sends one,
 * so the mapped policy does too); DELETE gets no generated key (RFC 9110 makes it idempotent; the SDK keys v2
 * DELETEs); a generated key is a bare UUID; Stripe's delays never fall below 0.5 s, while Sturdy's jitter only shortens
 * a delay (the first retry waits 250 to 500 ms).
 *
 * Not ported: 'should return true on a connection-closed error even if retries are disabled' and 'should only bypass
 * maxNetworkRetries for the first connection-closed error' (the SDK retries an ECONNRESET/EPIPE once beyond
 * `maxNetworkRetries: 0`; Sturdy's `maxAttempts` bounds every kind of failure, and nothing retries past it: a
 * possible gap; 'retries closed connection errors once' and its neighbours are ported with one retry allowed); the
 * rest of RequestSender.spec.ts and StripeResource.spec.ts (headers, encodings, JSON and OAuth error classes, the
 * body-read timeouts of 'response body failures with ...': not retry cases).
 */
import { HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { type HttpFailure, Policy } from "@sturdy/http"
import { Backoff } from "@sturdy/policy"
import { Chunk, Duration, Effect, Random, Schedule } from "effect"
import type * as Http from "node:http"
import { failureOf, type Handler, send, setup, statusOf, textOf } from "./utils/retryHarness.js"

const json = { "content-type": "application/json" }
const charge = JSON.stringify({ id: "ch_123", object: "charge", amount: 1000 })
const chargeBody = { amount: 1000, currency: "usd", source: "tok_visa", description: "test" }

type Answer = "reset" | "hang" | { readonly status: number; readonly headers?: Http.OutgoingHttpHeaders; body?: string }

/** nock's scripted replies: request n gets answer n (the last one again after that); `reset` is `replyWithError` */
const script = (...answers: ReadonlyArray<Answer>): Handler => (_, response, n) => {
  const answer = answers[Math.min(n, answers.length) - 1]!
  if (answer === "reset") return response.socket?.destroy()
  if (answer === "hang") return
  send(response, answer.status, { ...json, ...answer.headers }, answer.body ?? "{}")
}
const ok = { status: 200, body: charge }

/** the SDK's `_shouldRetry`: every connection failure, `Stripe-Should-Retry` when sent, else 409 and >= 500 */
const stripeRetryOn = (failure: HttpFailure.HttpFailure): boolean => {
  const status = statusOf(failure)
  if (status === undefined) return Policy.isRetryableByDefault(failure)
  const header = "headers" in failure ? failure.headers["stripe-should-retry"] : undefined
  if (header === "true") return true
  if (header === "false") return false
  return status === 409 || status >= 500
}

const backoff = { baseDelay: "500 millis", maxDelay: "5 seconds", jitter: "equal", retryAfterJitter: 0 } as const

/** the SDK with `maxNetworkRetries` (the client's), and a request's own setting for POST /v1/charges */
const stripe = (maxNetworkRetries: number, perRequest?: number, extra: Policy.Options = {}): Policy.Options => ({
  ...extra,
  retry: { ...backoff, maxAttempts: maxNetworkRetries + 1, idempotencyKey: true, retryOn: stripeRetryOn },
  ...(perRequest === undefined ? {} : { endpoints: { "POST /v1/charges": { retry: { maxAttempts: perRequest + 1 } } } })
})

const key = (s: { readonly headers: Http.IncomingHttpHeaders }) => s.headers["idempotency-key"]
const uuid = /^[\da-f]{8}-[\da-f]{4}-[\da-f]{4}-[\da-f]{4}-[\da-f]{12}$/

describe("stripe-node test/RequestSender.spec.ts _makeHeaders idempotency keys", () => {
  it.scoped("creates an idempotency key for v1 POST requests", () =>
    Effect.gen(function*() {
      const h = yield* setup(script(ok), stripe(3))
      expect(textOf(yield* h.run(h.api.post("/v1/charges", { body: chargeBody })))).toBe(charge)
      expect(key(h.seen[0]!)).toMatch(uuid)
    }))

  it.scoped("creates an idempotency key for v1 POST requests when retries are disabled", () =>
    Effect.gen(function*() {
      const h = yield* setup(script(ok), stripe(0))
      expect(textOf(yield* h.run(h.api.post("/v1/charges", { body: chargeBody })))).toBe(charge)
      expect(key(h.seen[0]!)).toMatch(uuid)
    }))

  it.scoped("does not create an idempotency key for v1 GET requests", () =>
    Effect.gen(function*() {
      const h = yield* setup(script(ok), stripe(0))
      expect(textOf(yield* h.run(h.api.get("/v1/charges/ch_123")))).toBe(charge)
      expect(key(h.seen[0]!)).toBeUndefined()
    }))

  it.scoped("always creates an idempotency key for v2 POST requests", () =>
    Effect.gen(function*() {
      const h = yield* setup(script(ok), stripe(2))
      expect(textOf(yield* h.run(h.api.post("/v2/billing/meter_events", { body: {} })))).toBe(charge)
      expect(key(h.seen[0]!)).toMatch(uuid)
    }))

  it.scoped("always creates an idempotency key for v2 DELETE requests", () =>
    Effect.gen(function*() {
      // deliberate difference: DELETE is idempotent (RFC 9110), so Sturdy neither keys it nor needs a key to retry it
      const h = yield* setup(script({ status: 500 }, ok), stripe(2))
      expect(textOf(yield* h.run(h.api.del("/v2/core/event_destinations/ed_1")))).toBe(charge)
      expect(h.seen.map(key)).toEqual([undefined, undefined])
    }))

  it.scoped("generates a new key every time", () =>
    Effect.gen(function*() {
      const h = yield* setup(script(ok), stripe(2))
      yield* h.run(h.api.post("/v2/billing/meter_events", { body: {} }))
      yield* h.run(h.api.post("/v2/billing/meter_events", { body: {} }))
      expect(key(h.seen[0]!)).toMatch(uuid)
      expect(key(h.seen[1]!)).toMatch(uuid)
      expect(key(h.seen[0]!)).not.toBe(key(h.seen[1]!))
    }))
})

describe("stripe-node test/RequestSender.spec.ts _shouldRetry", () => {
  it.scoped("should return false if we've reached maximum retries", () =>
    Effect.gen(function*() {
      const h = yield* setup(script({ status: 409 }), stripe(1))
      const failure = failureOf(yield* h.run(h.api.post("/v1/charges", { body: chargeBody })))
      expect(failure).toMatchObject({ _tag: "ClientError", status: 409 })
      expect(Policy.attemptsOf(failure)).toBe(2)
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("should return true if we have more retries available", () =>
    Effect.gen(function*() {
      const h = yield* setup(script({ status: 409 }, ok), stripe(1))
      expect(textOf(yield* h.run(h.api.post("/v1/charges", { body: chargeBody })))).toBe(charge)
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("should return true if the error code is either 409 or 503", () =>
    Effect.gen(function*() {
      for (const status of [409, 503]) {
        const h = yield* setup(script({ status }, ok), stripe(1))
        expect(textOf(yield* h.run(h.api.post("/v1/charges", { body: chargeBody })))).toBe(charge)
        expect(h.seen.length).toBe(2)
      }
    }))

  it.scoped("should return false if the status is 200", () =>
    Effect.gen(function*() {
      const h = yield* setup(script(ok), stripe(2))
      expect(textOf(yield* h.run(h.api.post("/v1/charges", { body: chargeBody })))).toBe(charge)
      expect(h.seen.length).toBe(1)
      expect(h.decisions).toEqual([])
    }))

  it.scoped("should not bypass maxNetworkRetries for other error codes", () =>
    Effect.gen(function*() {
      // ETIMEDOUT with maxNetworkRetries 0: one attempt
      const h = yield* setup(script("hang"), stripe(0, undefined, { attemptTimeout: "10 millis" }))
      const failure = failureOf(yield* h.run(h.api.post("/v1/charges", { body: chargeBody })))
      expect(failure).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect(h.seen.length).toBe(1)
    }))
})

describe("stripe-node test/RequestSender.spec.ts Retry Network Requests _request", () => {
  it.scoped("throws an error on connection failure", () =>
    Effect.gen(function*() {
      const h = yield* setup(script("reset"), stripe(0))
      const failure = failureOf(yield* h.run(h.api.post("/v1/charges", { body: chargeBody })))
      expect(failure).toMatchObject({ _tag: "ConnectionError", reason: "Reset" })
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("throws an error on connection timeout", () =>
    Effect.gen(function*() {
      const h = yield* setup(script("hang"), stripe(0, undefined, { attemptTimeout: "10 millis" }))
      const failure = failureOf(yield* h.run(h.api.post("/v1/charges", { body: chargeBody })))
      expect(failure).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect(Duration.toMillis((failure as HttpFailure.Timeout).timeout)).toBe(10)
    }))

  it.scoped("retries connection timeout errors", () =>
    Effect.gen(function*() {
      const h = yield* setup(script("hang"), stripe(2, undefined, { attemptTimeout: "10 millis" }))
      const failure = failureOf(yield* h.run(h.api.post("/v1/charges", { body: chargeBody })))
      expect(failure).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect(h.seen.length).toBe(3)
    }))

  it.scoped("retries closed connection errors once", () =>
    Effect.gen(function*() {
      // the SDK retries this with maxNetworkRetries 0 (its connection-closed bypass); Sturdy needs one retry allowed
      const h = yield* setup(script("reset", ok), stripe(1))
      expect(textOf(yield* h.run(h.api.post("/v1/charges", { body: chargeBody })))).toBe(charge)
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("throws on multiple closed connection errors", () =>
    Effect.gen(function*() {
      const h = yield* setup(script("reset", "reset", ok), stripe(1))
      const failure = failureOf(yield* h.run(h.api.post("/v1/charges", { body: chargeBody })))
      expect(failure).toMatchObject({ _tag: "ConnectionError", reason: "Reset" })
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("reuses an idempotency key on the closed-connection retry", () =>
    Effect.gen(function*() {
      const h = yield* setup(script("reset", ok), stripe(1))
      expect(textOf(yield* h.run(h.api.post("/v1/charges", { body: chargeBody })))).toBe(charge)
      expect(h.seen.length).toBe(2)
      expect(key(h.seen[0]!)).toMatch(uuid)
      expect(key(h.seen[1]!)).toBe(key(h.seen[0]!))
    }))

  it.scoped("should retry the request if max retries are set", () =>
    Effect.gen(function*() {
      const h = yield* setup(script("reset", "reset"), stripe(1))
      const failure = failureOf(yield* h.run(h.api.post("/v1/charges", { body: chargeBody })))
      expect(failure).toMatchObject({ _tag: "ConnectionError" })
      // the SDK's message names the retries made; Sturdy's failure carries the attempts
      expect(Policy.attemptsOf(failure)).toBe(2)
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("should stop retrying after a successful retry", () =>
    Effect.gen(function*() {
      const h = yield* setup(script("reset", ok, "reset"), stripe(2))
      expect(textOf(yield* h.run(h.api.post("/v1/charges", { body: chargeBody })))).toBe(charge)
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("should give precedence to request-level (1) vs client-level maxNetworkRetries (0)", () =>
    Effect.gen(function*() {
      const h = yield* setup(script("reset", "reset"), stripe(0, 1))
      const failure = failureOf(yield* h.run(h.api.post("/v1/charges", { body: chargeBody })))
      expect(failure).toMatchObject({ _tag: "ConnectionError" })
      expect(Policy.attemptsOf(failure)).toBe(2)
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("should give precedence to request-level (0) vs client-level maxNetworkRetries (1)", () =>
    Effect.gen(function*() {
      const h = yield* setup(script("reset", ok), stripe(1, 0))
      const failure = failureOf(yield* h.run(h.api.post("/v1/charges", { body: chargeBody })))
      expect(failure).toMatchObject({ _tag: "ConnectionError" })
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("should retry on a 409 error", () =>
    Effect.gen(function*() {
      const conflict = { status: 409, body: JSON.stringify({ error: { message: "Conflict" } }) }
      const h = yield* setup(script(conflict, ok), stripe(1))
      expect(textOf(yield* h.run(h.api.post("/v1/charges", { body: chargeBody })))).toBe(charge)
      expect(h.seen.length).toBe(2)
      // deliberate difference: Sturdy's default rules do not retry a 409 (even a keyed POST)
      const defaults = yield* setup(script(conflict, ok), {
        retry: { ...backoff, maxAttempts: 2, idempotencyKey: true }
      })
      expect(statusOf(failureOf(yield* defaults.run(defaults.api.post("/v1/charges", { body: chargeBody }))))).toBe(409)
      expect(defaults.seen.length).toBe(1)
    }))

  it.scoped("should not retry on a 400 error", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        script({ status: 400, body: JSON.stringify({ error: { type: "invalid_request_error" } }) }, ok),
        stripe(1)
      )
      const failure = failureOf(yield* h.run(h.api.post("/v1/charges", { body: chargeBody })))
      expect(failure).toMatchObject({ _tag: "ClientError", status: 400 })
      expect(JSON.parse((failure as HttpFailure.ClientError).bodyExcerpt).error.type).toBe("invalid_request_error")
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("should not retry when a header says not to", () =>
    Effect.gen(function*() {
      const apiError = {
        status: 500,
        headers: { "stripe-should-retry": "false" },
        body: JSON.stringify({ error: { type: "api_error" } })
      }
      const h = yield* setup(script(apiError, ok), stripe(1))
      expect(failureOf(yield* h.run(h.api.post("/v1/charges", { body: chargeBody })))).toMatchObject({
        _tag: "ServerError",
        status: 500
      })
      expect(h.seen.length).toBe(1)
      // Sturdy's default rules read the header too: even the keyed POST is not retried
      const defaults = yield* setup(script(apiError, ok), {
        retry: { ...backoff, maxAttempts: 2, idempotencyKey: true }
      })
      expect(statusOf(failureOf(yield* defaults.run(defaults.api.post("/v1/charges", { body: chargeBody })))))
        .toBe(500)
      expect(defaults.seen.length).toBe(1)
    }))

  it.scoped("should retry when a header says it should, even on status codes we ordinarily wouldn't", () =>
    Effect.gen(function*() {
      const yours = {
        status: 400,
        headers: { "stripe-should-retry": "true" },
        body: JSON.stringify({ error: { type: "your_fault" } })
      }
      const h = yield* setup(script(yours, ok), stripe(1))
      expect(textOf(yield* h.run(h.api.post("/v1/charges", { body: chargeBody })))).toBe(charge)
      expect(h.seen.length).toBe(2)
      // the header does not make an unkeyed POST safe to repeat: `retryOn` widens which failures retry, never safety
      const unkeyed = yield* setup(script(yours, ok), {
        retry: { ...backoff, maxAttempts: 2, retryOn: stripeRetryOn }
      })
      expect(statusOf(failureOf(yield* unkeyed.run(unkeyed.api.post("/v1/charges", { body: chargeBody }))))).toBe(400)
      expect(unkeyed.seen.length).toBe(1)
    }))

  it.scoped("should retry on a 503 error when the method is POST", () =>
    Effect.gen(function*() {
      const unavailable = { status: 503, body: JSON.stringify({ error: { message: "Service unavailable" } }) }
      const h = yield* setup(script(unavailable, ok), stripe(1))
      expect(textOf(yield* h.run(h.api.post("/v1/charges", { body: chargeBody })))).toBe(charge)
      expect(h.seen.length).toBe(2)
      // deliberate difference: without an Idempotency-Key (which the SDK always sends) Sturdy does not repeat a POST
      // that reached the server
      const unkeyed = yield* setup(script(unavailable, ok), { retry: { ...backoff, maxAttempts: 2 } })
      expect(statusOf(failureOf(yield* unkeyed.run(unkeyed.api.post("/v1/charges", { body: chargeBody }))))).toBe(503)
      expect(unkeyed.seen.length).toBe(1)
    }))

  it.scoped("should retry on a 500 error when the method is GET", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        script({ status: 500, body: JSON.stringify({ error: { type: "api_error" } }) }, ok),
        stripe(1)
      )
      expect(textOf(yield* h.run(h.api.get("/v1/charges/ch_123")))).toBe(charge)
      expect(h.seen.map((s) => `${s.method} ${s.path}`)).toEqual(["GET /v1/charges/ch_123", "GET /v1/charges/ch_123"])
    }))

  it.scoped("should add an idempotency key for retries using the POST method", () =>
    Effect.gen(function*() {
      const h = yield* setup(script("reset", ok), stripe(1))
      expect(textOf(yield* h.run(h.api.post("/v1/charges", { body: chargeBody })))).toBe(charge)
      expect(h.seen.length).toBe(2)
      expect(key(h.seen[1]!)).toMatch(uuid)
    }))

  it.scoped("should not add idempotency key for retries using the GET method", () =>
    Effect.gen(function*() {
      const h = yield* setup(script("reset", ok), stripe(1))
      expect(textOf(yield* h.run(h.api.get("/v1/charges/ch_123")))).toBe(charge)
      expect(h.seen.length).toBe(2)
      expect(h.seen[1]!.headers).not.toHaveProperty("idempotency-key")
    }))

  it.scoped("should reuse the given idempotency key provided for retries", () =>
    Effect.gen(function*() {
      const h = yield* setup(script("reset", ok), stripe(0, 1))
      const headers = { "idempotency-key": "i-am-a-key" }
      expect(textOf(yield* h.run(h.api.post("/v1/charges", { body: chargeBody, headers })))).toBe(charge)
      expect(h.seen.map(key)).toEqual(["i-am-a-key", "i-am-a-key"])
    }))

  it.scoped("should allow the setting of network retries on a per-request basis", () =>
    Effect.gen(function*() {
      // the client's setting left at the default; the request's is 1
      const h = yield* setup(script("reset", ok), {
        retry: { ...backoff, idempotencyKey: true, retryOn: stripeRetryOn },
        endpoints: { "POST /v1/charges": { retry: { maxAttempts: 2 } } }
      })
      expect(textOf(yield* h.run(h.api.post("/v1/charges", { body: chargeBody })))).toBe(charge)
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("should pick the per-request network retry setting if a global setting is set", () =>
    Effect.gen(function*() {
      const h = yield* setup(script("reset", ok), stripe(0, 1))
      expect(textOf(yield* h.run(h.api.post("/v1/charges", { body: chargeBody })))).toBe(charge)
      expect(h.seen.length).toBe(2)
      // the client's setting still applies elsewhere
      expect(h.policy.describe(HttpClientRequest.post(`${h.url}/v1/customers`)).maxAttempts).toBe(1)
    }))
})

describe("stripe-node test/RequestSender.spec.ts _getSleepTimeInMS", () => {
  it.effect("should not exceed the maximum or minimum values", () =>
    Effect.gen(function*() {
      // ten retries' delays: never above the SDK's maximum (5 s); the SDK floors every delay at its initial 0.5 s, and
      // Sturdy's jitter only shortens, so the floor here is half each delay's envelope (250 ms for the first)
      const options = { baseDelay: "500 millis", maxDelay: "5 seconds", jitter: "equal", maxAttempts: 11 } as const
      const out = yield* Effect.withRandom(
        Schedule.run(Backoff.exponential(options), 0, Array.from({ length: 10 }, () => undefined)),
        Random.make(2026)
      )
      const millis = Chunk.toReadonlyArray(out).map(Duration.toMillis)
      expect(millis.length).toBe(10)
      millis.forEach((delay, n) => {
        const { lower, upper } = Backoff.envelope(options, n)
        expect(delay).toBeLessThanOrEqual(5000)
        expect(delay).toBeGreaterThanOrEqual(250)
        expect(delay).toBeGreaterThanOrEqual(Duration.toMillis(lower))
        expect(delay).toBeLessThanOrEqual(Duration.toMillis(upper))
      })
      expect(Math.max(...millis)).toBeGreaterThan(2500)
    }))
})

describe("stripe-node test/StripeResource.spec.ts streaming", () => {
  it.scoped("failure", () =>
    Effect.gen(function*() {
      // a GET whose 500 body arrives in pieces, twice, with maxNetworkRetries 1: the last failure carries the body
      const h = yield* setup((_, response, __, tools) => {
        response.writeHead(500)
        tools.later(10, () => response.write("{\"error\": \"api_error\", \"error_description\": \"this is bad\"}"))
        tools.later(20, () => response.end())
      }, stripe(1))
      const failure = failureOf(yield* h.run(h.api.get("/v1/resourceWithPDF/foo_123")))
      expect(failure).toMatchObject({ _tag: "ServerError", status: 500 })
      expect(JSON.parse((failure as HttpFailure.ServerError).bodyExcerpt)).toEqual({
        error: "api_error",
        error_description: "this is bad"
      })
      expect(h.seen.length).toBe(2)
    }))
})
