/**
 * slackapi/node-slack-sdk `packages/web-api/src/WebClient.test.ts` (commit 4322e14f116ac7551073767c533b9aca77fd9552),
 * the cases about timeouts, errors, retries and rate limiting, ported to Sturdy's public API: `SturdyClient` over
 * `@sturdy/node`'s undici transport against a real node:http server on 127.0.0.1 (`test/utils/retryHarness.ts`), every
 * wait on the TestClock. One `it` per peer case, named after it. `WebClient.apiCall("method", args)` is a POST of the
 * args to `/api/method`, as Slack's Web API takes them.
 *
 * Mapping: `retryConfig` (p-retry's options) is `retry`: `retries: n` is `maxAttempts: n + 1`, `minTimeout` /
 * `maxTimeout` / `factor` are `baseDelay` / `maxDelay` / `factor` (`rapidRetryPolicy`, at most 1 ms a wait, is
 * `rapid` below; the policies' delay sequences are in `packages/policy/test/peer-slack-Backoff.test.ts`). Slack's
 * client retries every call, and every call is a POST, so each policy here lists `retry.methods: ["POST"]` (Sturdy
 * repeats a POST only when told it is safe to). `timeout` is the client's `timeout` (each attempt's limit).
 * `rejectRateLimitedCalls: true` is `retry.retryOn: { RateLimited: false }` (a 429 fails the call at once, carrying the
 * server's wait); `retry.maxRetryAfter` rejects only the waits longer than the caller's patience. Slack's queue pause
 * after a 429 is `Policy`'s server pause on the upstream key. The `rate_limited` event is the `RetryDecision` event of
 * the 429 (its `failure` a `RateLimited` carrying `retryAfter` and the URL). Slack's errors map to `HttpFailure`:
 * `WebAPIHTTPError` (status, headers, body) is `ServerError` / `ClientError` (status, headers, `bodyExcerpt`),
 * `WebAPIRequestError` (with `original`) is `ConnectionError` (with its sanitized `cause`) or `Timeout`,
 * `WebAPIRateLimitedError` is `RateLimited`.
 *
 * Deliberate differences (each test says which):
 * - `WebAPIPlatformError` (a 200 whose JSON says `ok: false`) has no counterpart: a 200 is a success to an HTTP
 *   client, and Slack's envelope is the caller's to read (with a `schema`, say). It is not retried in either.
 * - Slack fails a 429 without a valid `Retry-After` at once; Sturdy retries a 429 by default, and a hint it cannot
 *   read (`notanumber`) is ignored: its backoff applies, and the header is on the failure's `headers`.
 * - A timed-out attempt is `Timeout` (phase `"Attempt"`, the limit that fired), not a request error wrapping the
 *   platform's `AbortError`.
 * - A server's wait gets up to 10 % (at most 1 s) of jitter added (`retry.retryAfterJitter`); Slack waits exactly.
 * - Slack's 429 pauses its whole request queue; so does Sturdy's server pause, read as a call starts and again as each
 *   attempt starts (a call queued in the bulkhead, another call's retry), as "should pause the remaining requests in
 *   queue" checks.
 * - `RateLimited`'s message does not repeat the server's wait (Slack's `WebAPIRateLimitedError` message does); the
 *   wait is its `retryAfter`.
 *
 * Not ported (not about retries, rate limits, timeouts or errors): the constructor, logging, warnings, argument
 * serialization, user agent, headers, `paginate`, `slackApiUrl`, GZIP, `chatStream`, `filesUploadV2` and file upload
 * helpers, "custom fetch" (the transport is `SturdyClient.makeWith`'s platform client), and the request-concurrency
 * cases ("should have a default conncurrency of 100", "should allow concurrency to be set": the bulkhead, not a retry
 * behaviour; "should pause the remaining requests in queue" is ported with a bulkhead of one).
 */
import { Headers } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { type Policy, RetryHeaders } from "@sturdy/http"
import { Clock, Duration, Effect, Exit, Option } from "effect"
import { failureOf, type Handler, type Harness, realPause, send, setup, textOf } from "./utils/retryHarness.js"

const json = { "content-type": "application/json" }
const ok = JSON.stringify({ ok: true })

/** Slack's `rapidRetryPolicy` (`minTimeout: 0, maxTimeout: 1`, p-retry's 10 retries): waits of at most 1 ms */
const rapid: Policy.RetryOptions = {
  methods: ["POST"],
  maxAttempts: 11,
  baseDelay: "1 millis",
  maxDelay: "1 millis",
  jitter: "none"
}

/** `retryConfig: { retries: 0 }` */
const noRetries: Policy.RetryOptions = { methods: ["POST"], maxAttempts: 1 }

/** `rejectRateLimitedCalls: true` */
const rejectRateLimitedCalls: Policy.RetryOptions = { methods: ["POST"], retryOn: { RateLimited: false } }

/** request n gets answer n (the last one again after that), as a chain of nock `.reply`s */
const replies = (
  ...answers: ReadonlyArray<{ status: number; headers?: Record<string, string>; body?: string } | "reset">
): Handler =>
(_, response, n) => {
  const answer = answers[Math.min(n, answers.length) - 1]!
  if (answer === "reset") response.socket?.destroy()
  else send(response, answer.status, answer.headers ?? {}, answer.body ?? "")
}

/** `client.apiCall("method")` */
const apiCall = (h: Harness) => h.api.post("/api/method", { body: {} })

describe("slack web-api WebClient.test.ts: has an option to override the timeout value", () => {
  it.scoped("should throw error if timeout exceeded", () =>
    Effect.gen(function*() {
      // Slack's slowFetch rejects after 5 s unless aborted: the server answers only after 5 s
      const h = yield* setup(
        (_, response, _n, tools) => tools.later(5000, () => send(response, 200, json, ok)),
        { retry: noRetries },
        { client: { timeout: "1 millis" } }
      )
      const exit = yield* h.run(h.api.post("/api/users.list"))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(failureOf(exit)._tag).toBe("Timeout")
      expect(h.seen).toHaveLength(1)
    }))

  it.scoped("should produce a WebAPIRequestError with original when timeout fires", () =>
    Effect.gen(function*() {
      // Slack: a `WebAPIRequestError` whose `original` is the AbortError; Sturdy: a typed `Timeout` of the attempt,
      // naming the limit that fired
      const h = yield* setup(
        (_, response, _n, tools) => tools.later(5000, () => send(response, 200, json, ok)),
        { retry: noRetries },
        { client: { timeout: "1 millis" } }
      )
      const failure = failureOf(yield* h.run(h.api.post("/api/users.list")))
      if (failure._tag !== "Timeout") throw new Error(`expected Timeout, got ${failure._tag}`)
      expect(failure.phase).toBe("Attempt")
      expect(Duration.toMillis(failure.timeout)).toBe(1)
      expect(failure.url).toBe(`${h.url}/api/users.list`)
      expect(failure.message).toContain("attempt timed out after")
    }))
})

describe("slack web-api WebClient.test.ts: apiCall()", () => {
  it.scoped("should return a Promise which rejects on error", () =>
    Effect.gen(function*() {
      const h = yield* setup(replies({ status: 500 }), { retry: noRetries })
      const failure = failureOf(yield* h.run(apiCall(h)))
      expect(failure._tag).toBe("ServerError")
      expect(h.seen).toHaveLength(1)
    }))

  it.scoped("should fail with WebAPIPlatformError when the API response has an error", () =>
    Effect.gen(function*() {
      // Slack turns `{ ok: false }` into a `WebAPIPlatformError`; to Sturdy a 200 is a success, and the envelope is
      // the caller's to read. Neither retries it (the client is `rapidRetryPolicy`'s)
      const h = yield* setup(
        replies({ status: 200, headers: json, body: JSON.stringify({ ok: false, error: "bad error" }) }),
        { retry: rapid }
      )
      const body = JSON.parse(textOf(yield* h.run(apiCall(h))))
      expect(body).toEqual({ ok: false, error: "bad error" })
      expect(h.seen).toHaveLength(1)
    }))

  it.scoped("should fail with WebAPIHTTPError when the API response has an unexpected status", () =>
    Effect.gen(function*() {
      const body = JSON.stringify({ foo: "bar" })
      const h = yield* setup(replies({ status: 500, headers: json, body }), { retry: noRetries })
      const failure = failureOf(yield* h.run(apiCall(h)))
      if (failure._tag !== "ServerError") throw new Error(`expected ServerError, got ${failure._tag}`)
      expect(failure.status).toBe(500)
      expect(failure.headers["content-type"]).toBe("application/json")
      expect(JSON.parse(failure.bodyExcerpt)).toEqual({ foo: "bar" })
      expect(h.seen).toHaveLength(1)
    }))

  it.scoped("should fail with WebAPIRequestError when the API request fails", () =>
    Effect.gen(function*() {
      // Slack sends to a port nothing listens on (ECONNREFUSED); the harness reserves one and never listens
      const h = yield* setup(replies({ status: 200, body: ok }), { retry: noRetries }, { listen: "later" })
      const failure = failureOf(yield* h.run(apiCall(h)))
      if (failure._tag !== "ConnectionError") throw new Error(`expected ConnectionError, got ${failure._tag}`)
      expect(failure.reason).toBe("Refused")
      // Slack's `original`: the low-level error, sanitized
      expect(failure.cause?.code).toBe("ECONNREFUSED")
      expect(h.seen).toHaveLength(0)
    }))

  it.scoped("should set error.body to the raw string when HTTP error response is not valid JSON", () =>
    Effect.gen(function*() {
      const htmlBody = "<html><body><h1>502 Bad Gateway</h1></body></html>"
      const h = yield* setup(replies({ status: 502, headers: { "content-type": "text/html" }, body: htmlBody }), {
        retry: noRetries
      })
      const failure = failureOf(yield* h.run(apiCall(h)))
      if (failure._tag !== "ServerError") throw new Error(`expected ServerError, got ${failure._tag}`)
      expect(failure.status).toBe(502)
      expect(failure.bodyExcerpt).toBe(htmlBody)
    }))
})

describe("slack web-api WebClient.test.ts: has an option to set the retry policy", () => {
  it.scoped("retries a request which fails to get a response", () =>
    Effect.gen(function*() {
      // nock's replyWithError: the server drops the connection without an answer, then answers
      const h = yield* setup(replies("reset", { status: 200, headers: json, body: ok }), { retry: rapid })
      expect(JSON.parse(textOf(yield* h.run(apiCall(h))))).toEqual({ ok: true })
      expect(h.seen).toHaveLength(2)
      expect(h.decisions[0]?.failure._tag).toBe("ConnectionError")
    }))

  it.scoped("retries a request whose response has a status code that is not 200 nor 429 (rate limited)", () =>
    Effect.gen(function*() {
      const h = yield* setup(replies({ status: 500 }, { status: 200, headers: json, body: ok }), { retry: rapid })
      expect(JSON.parse(textOf(yield* h.run(apiCall(h))))).toEqual({ ok: true })
      expect(h.seen).toHaveLength(2)
    }))
})

describe("slack web-api WebClient.test.ts: has rate limit handling", () => {
  describe("when configured to reject rate-limited calls", () => {
    it.scoped("should reject with a WebAPIRateLimitedError when a request fails due to rate-limiting", () =>
      Effect.gen(function*() {
        const retryAfter = 5
        const h = yield* setup(replies({ status: 429, headers: { "retry-after": String(retryAfter) } }), {
          retry: rejectRateLimitedCalls
        })
        const failure = failureOf(yield* h.run(apiCall(h)))
        if (failure._tag !== "RateLimited") throw new Error(`expected RateLimited, got ${failure._tag}`)
        expect(Option.map(failure.retryAfter, Duration.toSeconds)).toEqual(Option.some(retryAfter))
        // Slack's message names the wait; Sturdy's names the status and the request, the wait is `retryAfter`
        expect(failure.message).toContain("429")
        expect(h.seen).toHaveLength(1)
      }))

    it.scoped("should emit a rate_limited event on the client", () =>
      Effect.gen(function*() {
        const h = yield* setup(replies({ status: 429, headers: { "retry-after": "0" }, body: "{}" }), {
          retry: rejectRateLimitedCalls
        })
        const exit = yield* h.run(h.api.post("/api/method", { body: { foo: "bar" } }))
        expect(failureOf(exit)._tag).toBe("RateLimited")
        // Slack's `rate_limited` event, once, with the wait (0) and the request (url, body)
        expect(h.decisions).toHaveLength(1)
        const event = h.decisions[0]!
        expect(event.retrying).toBe(false)
        const failure = event.failure
        if (failure._tag !== "RateLimited") throw new Error(`expected RateLimited, got ${failure._tag}`)
        expect(Option.map(failure.retryAfter, Duration.toMillis)).toEqual(Option.some(0))
        expect(failure.url).toBe(`${h.url}/api/method`)
        expect(JSON.parse(h.seen[0]!.body)).toEqual({ foo: "bar" })
      }))
  })

  it.scoped("should automatically retry the request after the specified timeout", () =>
    Effect.gen(function*() {
      const retryAfter = 1
      const h = yield* setup(
        replies({ status: 429, headers: { "retry-after": String(retryAfter) } }, {
          status: 200,
          headers: json,
          body: ok
        }),
        { retry: rapid }
      )
      expect(JSON.parse(textOf(yield* h.run(apiCall(h))))).toEqual({ ok: true })
      const diff = h.seen[1]!.at - h.seen[0]!.at
      expect(diff).toBeGreaterThanOrEqual(retryAfter * 1000)
      // Slack waits exactly; Sturdy adds at most 10 % of jitter so that the clients told the same second spread out
      expect(diff).toBeLessThanOrEqual(retryAfter * 1100)
      expect(h.decisions[0]?.reason).toBe("retry-after")
    }))

  it.scoped("should include retryAfter metadata if the response has retry info", () =>
    Effect.gen(function*() {
      // Slack copies the header into `response_metadata.retryAfter`; Sturdy returns the response, whose headers
      // `RetryHeaders` reads
      const h = yield* setup(replies({ status: 200, headers: { ...json, "retry-after": "100" }, body: ok }), {
        retry: rapid
      })
      const exit = yield* h.run(apiCall(h))
      if (Exit.isFailure(exit)) throw new Error("expected a success")
      const now = yield* Clock.currentTimeMillis
      expect(Option.map(RetryHeaders.retryAfter(exit.value.headers, now), Duration.toSeconds)).toEqual(
        Option.some(100)
      )
      expect(Headers.get(exit.value.headers, "retry-after")).toEqual(Option.some("100"))
    }))

  it.scoped("should pause the remaining requests in queue", () =>
    Effect.gen(function*() {
      // `maxRequestConcurrency: 1` is a bulkhead of one with room for the second call in its queue. Slack pauses its
      // whole queue for the 429's wait, so the queued call too is sent after it; Sturdy's pause holds it as well (each
      // attempt reads the pause as it starts). A call started during the pause waits it out (the third one here).
      const retryAfter = 1
      const h = yield* setup(
        replies({ status: 429, headers: { "retry-after": String(retryAfter) } }, {
          status: 200,
          headers: json,
          body: ok
        }),
        { retry: { ...rapid, retryAfterJitter: 0 }, bulkhead: { maxConcurrent: 1, maxQueued: 1 } }
      )
      const exit = yield* h.run(
        Effect.all([
          apiCall(h),
          apiCall(h),
          // started once the 429 has arrived
          Effect.zipRight(
            Effect.repeat(Effect.zipRight(realPause, Effect.sync(() => h.decisions.length)), { until: (n) => n > 0 }),
            h.api.post("/api/third", { body: {} })
          )
        ], { concurrency: "unbounded" })
      )
      if (Exit.isFailure(exit)) throw new Error("expected the calls to succeed")
      expect(exit.value.map((r) => JSON.parse(r.text))).toEqual([{ ok: true }, { ok: true }, { ok: true }])
      expect(h.seen).toHaveLength(4)
      const first = h.seen[0]!.at
      const at = (path: string) => h.seen.filter((s) => s.path === path).map((s) => s.at - first)
      // the told call retries after the server's wait; so does the call started during the pause
      expect(at("/api/method")).toContain(retryAfter * 1000)
      expect(at("/api/third")).toEqual([retryAfter * 1000])
      // the call queued before the 429 waited the pause out too, as Slack's does
      expect(at("/api/method")).toEqual([0, retryAfter * 1000, retryAfter * 1000])
    }))

  it.scoped("should emit a rate_limited event on the client", () =>
    Effect.gen(function*() {
      const h = yield* setup(replies({ status: 429, headers: { "retry-after": "0" }, body: "{}" }), {
        retry: noRetries
      })
      const exit = yield* h.run(h.api.post("/api/method", { body: { foo: "bar" } }))
      expect(failureOf(exit)._tag).toBe("RateLimited")
      expect(h.decisions).toHaveLength(1)
      const failure = h.decisions[0]!.failure
      if (failure._tag !== "RateLimited") throw new Error(`expected RateLimited, got ${failure._tag}`)
      expect(Option.map(failure.retryAfter, Duration.toMillis)).toEqual(Option.some(0))
      expect(failure.url).toBe(`${h.url}/api/method`)
      expect(JSON.parse(h.seen[0]!.body)).toEqual({ foo: "bar" })
    }))
})

describe("slack web-api WebClient.test.ts: WebClient", () => {
  it.scoped("should throw an error if the response has no retry info", () =>
    Effect.gen(function*() {
      // Slack fails a 429 without Retry-After at once; Sturdy retries a 429 by default, on its backoff (the default
      // three attempts here), and then fails with `RateLimited`, no wait known
      const h = yield* setup(replies({ status: 429, body: "{}" }), { retry: { methods: ["POST"] } })
      const failure = failureOf(yield* h.run(apiCall(h)))
      if (failure._tag !== "RateLimited") throw new Error(`expected RateLimited, got ${failure._tag}`)
      expect(Option.isNone(failure.retryAfter)).toBe(true)
      expect(h.seen).toHaveLength(3)
      expect(h.decisions.filter((d) => d.retrying).map((d) => d.reason)).toEqual(["backoff", "backoff"])
    }))

  it.scoped("should throw an error if the response has an invalid retry-after header", () =>
    Effect.gen(function*() {
      // Slack fails at once, naming the raw header; Sturdy ignores a hint it cannot read, its backoff applies, and
      // the raw header is on the failure
      const h = yield* setup(replies({ status: 429, headers: { "retry-after": "notanumber" }, body: "{}" }), {
        retry: { methods: ["POST"] }
      })
      const failure = failureOf(yield* h.run(apiCall(h)))
      if (failure._tag !== "RateLimited") throw new Error(`expected RateLimited, got ${failure._tag}`)
      expect(failure.headers["retry-after"]).toBe("notanumber")
      expect(Option.isNone(failure.retryAfter)).toBe(true)
      expect(h.seen).toHaveLength(3)
    }))

  describe("request errors always attach original", () => {
    it.scoped("the 'original' property is always attached to request errors", () =>
      Effect.gen(function*() {
        const h = yield* setup(replies("reset"), { retry: noRetries })
        const failure = failureOf(yield* h.run(h.api.post("/api/conversations/list", { body: {} })))
        if (failure._tag !== "ConnectionError") throw new Error(`expected ConnectionError, got ${failure._tag}`)
        expect(failure.cause).toBeDefined()
        expect(failure.cause?.message.length).toBeGreaterThan(0)
        expect(h.seen).toHaveLength(1)
      }))
  })
})
