/**
 * faraday-retry's middleware spec, ported to Sturdy's public API over a real node:http server on 127.0.0.1
 * (`test/utils/retryHarness.ts`, every wait on the TestClock). Source: lostisland/faraday-retry at
 * a422231c8dbd6f3667b99bcb04f4927d33fab2a5, `spec/faraday/retry/middleware_spec.rb`. One `it` per RSpec example,
 * named after its context and description.
 *
 * Mapping: `max: n` (default 2) is `retry.maxAttempts: n + 1` (Sturdy's default 3 is faraday's); `interval` is
 * `retry.baseDelay` (faraday's default 0: `baseDelay: 0`); `backoff_factor: 2` is Sturdy's doubling (other factors
 * would be `retry.delay`); `max_interval` is `retry.maxDelay` for the backoff and `retry.maxRetryAfter` for a server's
 * wait; `methods` is `retry.methods`; `retry_statuses` is `retry.statuses` (and `retry.retryAfterStatuses`, since
 * faraday honours `Retry-After` on every status it retries); `exceptions` is `retry.retryOn` (a predicate for a class,
 * an entry per tag for a name); `retry_if` on a method that is not idempotent is listing it in `retry.methods` (and a
 * `retryOn` entry when it looks at the exception); `retry_block` is `onEvent`'s `RetryDecision` with `retrying: true`
 * and `exhausted_retries_block` the last one, with `retrying: false`; `retry_count` (0-based) is the decision's
 * `attempt` − 2 (the attempt it is about, 2 for the first retry); `rate_limit_retry_header`, `rate_limit_reset_header`
 * and `header_parser_block` are a `retry.delay` reading the header. The stub adapter raising `Errno::ETIMEDOUT` is the
 * server dropping the connection before it answers (`ConnectionError`, retried for GET, not for POST, as faraday); the
 * unexpected `RuntimeError` is a 400 (a failure outside the default rules).
 *
 * Deliberate differences (each test says which): a negative `max` is an `InvalidPolicy`, not "no retry";
 * `interval_randomness` lengthens the wait where Sturdy's jitter only shortens it; `methods: []` turns retries off
 * where faraday then asks `retry_if` for every method (Sturdy's `retryOn` is the predicate, and it does not override
 * the method rules); a server's wait replaces the backoff (faraday waits the longer of the two) and `Retry-After` is
 * read by RFC 9110 (whole seconds or an HTTP-date: faraday's fractional `0.5` is ignored); Sturdy reads a valid
 * `Retry-After` before a `RateLimit-Reset` where faraday waits the longer; faraday returns the last
 * response when retries end, Sturdy fails with it.
 *
 * Found: a 5xx other than 503 listed in `retry.retryAfterStatuses` (faraday's 504) ignored a `RateLimit-Reset` or
 * `X-RateLimit-Reset` sent without a remaining count, which a 429 or 503 takes as the wait (fixed; the regression test
 * is in `packages/http/test/Policy.test.ts`).
 *
 * Not ported: the `retry_block` / `exhausted_retries_block` arguments `options` and `env` (faraday's own objects; the
 * decision carries the key and the failure instead), the retry_if "FilePart/UploadIO: should rewind files on retry"
 * examples (Ruby IO objects; a body read once is never resent by Sturdy), and "does not call retry_if for specified
 * methods" as stated (Sturdy's `retryOn` is asked about every failure; the example's retry count is ported).
 */
import { HttpBody } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Policy } from "@sturdy/http"
import { Duration, Effect } from "effect"
import { failureOf, gaps, type Handler, send, setup } from "./utils/retryHarness.js"

/** faraday's defaults: max 2, interval 0 */
const faraday = { baseDelay: 0, maxDelay: 0, jitter: "none", retryAfterJitter: 0 } as const

/** the stub raising Errno::ETIMEDOUT: the connection drops before an answer */
const timedOut: Handler = (_, response) => response.socket?.destroy()
const always = (status: number, headers: Record<string, string> = {}): Handler => (_, response) =>
  send(response, status, headers)

const elapsed = (h: { readonly seen: ReadonlyArray<{ readonly at: number }> }) => h.seen.at(-1)!.at - h.seen[0]!.at

/**
 * An HTTP-date at least 2 s ahead of now, rounded up to its whole second: a date rounded down could end up less than
 * a second after the moment the test's clock starts, which is a little later.
 */
const inTwoSeconds = (): string => new Date(Math.ceil((Date.now() + 2000) / 1000) * 1000).toUTCString()
describe("faraday-retry: when an unexpected error happens", () => {
  it.scoped("times_called is 1", () =>
    Effect.gen(function*() {
      const h = yield* setup(always(400), { retry: faraday })
      expect(failureOf(yield* h.run(h.api.get("/unstable")))).toMatchObject({ _tag: "ClientError", status: 400 })
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("when this is passed as a custom exception: times_called is 3", () =>
    Effect.gen(function*() {
      // exceptions: StandardError (every error): a predicate accepting every failure
      const h = yield* setup(always(400), { retry: { ...faraday, retryOn: () => true } })
      expect(failureOf(yield* h.run(h.api.get("/unstable")))).toMatchObject({ status: 400 })
      expect(h.seen.length).toBe(3)
    }))

  it.scoped("when this is passed as a string custom exception: times_called is 3", () =>
    Effect.gen(function*() {
      // exceptions: 'StandardError' (by name): an entry for the failure's tag
      const h = yield* setup(always(400), { retry: { ...faraday, retryOn: { ClientError: true } } })
      expect(failureOf(yield* h.run(h.api.get("/unstable")))).toMatchObject({ status: 400 })
      expect(h.seen.length).toBe(3)
    }))

  it.scoped("when a non-existent string custom exception is passed: times_called is 1", () =>
    Effect.gen(function*() {
      // an entry for a kind of failure that does not happen changes nothing
      const h = yield* setup(always(400), { retry: { ...faraday, retryOn: { InvalidJson: true } } })
      expect(failureOf(yield* h.run(h.api.get("/unstable")))).toMatchObject({ status: 400 })
      expect(h.seen.length).toBe(1)
    }))
})

describe("faraday-retry: when an expected error happens", () => {
  it.scoped("times_called is 3", () =>
    Effect.gen(function*() {
      const h = yield* setup(timedOut, { retry: faraday })
      expect(failureOf(yield* h.run(h.api.get("/unstable")))).toMatchObject({ _tag: "ConnectionError" })
      expect(h.seen.length).toBe(3)
    }))

  it.scoped("when legacy max_retry set to 1: times_called is 2", () =>
    Effect.gen(function*() {
      const h = yield* setup(timedOut, { retry: { ...faraday, maxAttempts: 2 } })
      yield* h.run(h.api.get("/unstable"))
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("when legacy max_retry set to -9: times_called is 1", () =>
    Effect.gen(function*() {
      // faraday reads a negative count as "no retry"; Sturdy refuses it as a configuration error, and one attempt is
      // `maxAttempts: 1`
      expect(Policy.validate({ retry: { maxAttempts: -8 } })._tag).toBe("Left")
      const h = yield* setup(timedOut, { retry: { ...faraday, maxAttempts: 1 } })
      yield* h.run(h.api.get("/unstable"))
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("when new max_retry set to 3: times_called is 4", () =>
    Effect.gen(function*() {
      const h = yield* setup(timedOut, { retry: { ...faraday, maxAttempts: 4 } })
      yield* h.run(h.api.get("/unstable"))
      expect(h.seen.length).toBe(4)
    }))

  it.scoped("when new max_retry set to -9: times_called is 1", () =>
    Effect.gen(function*() {
      const invalid = Policy.validate({ retry: { maxAttempts: -8 } })
      expect(invalid._tag).toBe("Left")
      if (invalid._tag === "Left") expect(invalid.left.message).toMatch(/maxAttempts/)
      const h = yield* setup(timedOut, { retry: { ...faraday, maxAttempts: 1 } })
      yield* h.run(h.api.get("/unstable"))
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("when both max_retry and interval are set: elapsed is 0.2 s", () =>
    Effect.gen(function*() {
      // max 2, interval 0.1 (backoff_factor 1: a constant interval)
      const h = yield* setup(timedOut, {
        retry: { ...faraday, maxAttempts: 3, baseDelay: "100 millis", maxDelay: "100 millis" }
      })
      yield* h.run(h.api.get("/unstable"))
      expect(gaps(h)).toEqual([100, 100])
      expect(elapsed(h)).toBe(200)
    }))

  it.scoped("when retry_block is set: calls retry block for each retry", () =>
    Effect.gen(function*() {
      const h = yield* setup(timedOut, { retry: faraday })
      yield* h.run(h.api.get("/unstable"))
      expect(h.decisions.filter((d) => d.retrying).length).toBe(2)
    }))

  it.scoped("when retry_block is set: with arguments to retry_block (exception, retry_count)", () =>
    Effect.gen(function*() {
      // the exception is the attempt's failure; retry_count 0 on the first call is the decision about attempt 2
      const h = yield* setup(timedOut, { retry: faraday })
      yield* h.run(h.api.get("/unstable"))
      const first = h.decisions.find((d) => d.retrying)!
      expect(first.failure._tag).toBe("ConnectionError")
      expect(Number.isInteger(first.attempt)).toBe(true)
      expect(first.attempt - 2).toBe(0)
    }))

  it.scoped("when retry_block is set: arguments to retry_block on second call (retry_count 1)", () =>
    Effect.gen(function*() {
      const h = yield* setup(timedOut, { retry: faraday })
      yield* h.run(h.api.get("/unstable"))
      expect(h.decisions.filter((d) => d.retrying)[1]!.attempt - 2).toBe(1)
    }))

  it.scoped("when exhausted_retries_block is set: with arguments to exhausted_retries_block (exception)", () =>
    Effect.gen(function*() {
      const h = yield* setup(timedOut, { retry: faraday })
      yield* h.run(h.api.get("/unstable"))
      const exhausted = h.decisions.filter((d) => !d.retrying)
      expect(exhausted.map((d) => [d.reason, d.failure._tag])).toEqual([["exhausted", "ConnectionError"]])
    }))

  it.scoped("when exhausted_retries_block is set: calls exhausted_retries_block block once", () =>
    Effect.gen(function*() {
      const h = yield* setup(timedOut, { retry: { ...faraday, maxAttempts: 3 } })
      yield* h.run(h.api.get("/unstable"))
      expect(h.decisions.filter((d) => !d.retrying).length).toBe(1)
    }))

  it.scoped("when exhausted_retries_block is set: times_called is max + 1", () =>
    Effect.gen(function*() {
      const h = yield* setup(timedOut, { retry: { ...faraday, maxAttempts: 3 } })
      const failure = failureOf(yield* h.run(h.api.get("/unstable")))
      expect(h.seen.length).toBe(3)
      expect(Policy.attemptsOf(failure)).toBe(3)
    }))
})

describe("faraday-retry: when no exception raised (max 1, retry_statuses 429)", () => {
  const options = { retry: { ...faraday, maxAttempts: 2, statuses: [429] } }

  it.scoped("when response code is in retry_statuses: times_called is 2", () =>
    Effect.gen(function*() {
      // faraday returns the last 429; Sturdy fails with it
      const h = yield* setup(always(429), options)
      expect(failureOf(yield* h.run(h.api.get("/unstable")))).toMatchObject({ _tag: "RateLimited", status: 429 })
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("when response code is not in retry_statuses: times_called is 1", () =>
    Effect.gen(function*() {
      const h = yield* setup(always(503), options)
      expect(failureOf(yield* h.run(h.api.get("/unstable")))).toMatchObject({ status: 503 })
      expect(h.seen.length).toBe(1)
    }))
})

describe("faraday-retry: #calculate_retry_interval", () => {
  // the waits before retries 1, 2, 3, 4 (faraday's calculate_retry_interval(5), (4), (3), (2) with max 5)
  const waits = (retry: Policy.RetryOptions) =>
    Effect.gen(function*() {
      const h = yield* setup(timedOut, { retry: { ...faraday, maxAttempts: 5, ...retry } })
      yield* h.run(h.api.get("/unstable"))
      return gaps(h)
    })
  const exponential = { baseDelay: "100 millis", maxDelay: "10 seconds" } as const
  const capped = { baseDelay: "100 millis", maxDelay: "300 millis" } as const

  it.scoped("with exponential backoff: calculate_retry_interval(5) is 0.1", () =>
    Effect.map(waits(exponential), (w) => expect(w[0]).toBe(100)))
  it.scoped("with exponential backoff: calculate_retry_interval(4) is 0.2", () =>
    Effect.map(waits(exponential), (w) => expect(w[1]).toBe(200)))
  it.scoped("with exponential backoff: calculate_retry_interval(3) is 0.4", () =>
    Effect.map(waits(exponential), (w) => expect(w[2]).toBe(400)))

  it.scoped("with exponential backoff and max_interval: calculate_retry_interval(5) is 0.1", () =>
    Effect.map(waits(capped), (w) => expect(w[0]).toBe(100)))
  it.scoped("with exponential backoff and max_interval: calculate_retry_interval(4) is 0.2", () =>
    Effect.map(waits(capped), (w) => expect(w[1]).toBe(200)))
  it.scoped("with exponential backoff and max_interval: calculate_retry_interval(3) is 0.3", () =>
    Effect.map(waits(capped), (w) => expect(w[2]).toBe(300)))
  it.scoped("with exponential backoff and max_interval: calculate_retry_interval(2) is 0.3", () =>
    Effect.map(waits(capped), (w) => expect(w[3]).toBe(300)))

  it.scoped("with exponential backoff and interval_randomness: calculate_retry_interval(2) is within the interval", () =>
    Effect.gen(function*() {
      // faraday: between 0.1 and 0.105 (randomness adds up to 5 %); Sturdy's jitter only shortens a wait: "full"
      // draws within (0, 0.1], "equal" within [0.05, 0.1]
      const full = yield* waits({ baseDelay: "100 millis", maxDelay: "100 millis", jitter: "full", maxAttempts: 2 })
      expect(full[0]).toBeGreaterThanOrEqual(0)
      expect(full[0]).toBeLessThanOrEqual(100)
      const equal = yield* waits({ baseDelay: "100 millis", maxDelay: "100 millis", jitter: "equal", maxAttempts: 2 })
      expect(equal[0]).toBeGreaterThanOrEqual(50)
      expect(equal[0]).toBeLessThanOrEqual(100)
    }))
})

describe("faraday-retry: when method is not idempotent", () => {
  it.scoped("times_called is 1", () =>
    Effect.gen(function*() {
      const h = yield* setup(timedOut, { retry: faraday })
      expect(failureOf(yield* h.run(h.api.post("/unstable")))).toMatchObject({ _tag: "ConnectionError" })
      expect(h.seen.length).toBe(1)
      expect(h.decisions.map((d) => d.reason)).toEqual(["not-retryable"])
    }))
})

describe("faraday-retry: retry_if option", () => {
  const body = HttpBody.text("foo=bar", "application/x-www-form-urlencoded")

  it.scoped("retries if retry_if block always returns true", () =>
    Effect.gen(function*() {
      // the caller's "this POST may repeat": POST in `retry.methods`; the body goes out the same each time
      const h = yield* setup(timedOut, { retry: { ...faraday, methods: ["GET", "POST"] } })
      expect(failureOf(yield* h.run(h.api.post("/unstable", { body })))).toMatchObject({ _tag: "ConnectionError" })
      expect(h.seen.length).toBe(3)
      expect(h.seen.map((s) => s.body)).toEqual(["foo=bar", "foo=bar", "foo=bar"])
    }))

  it.scoped("does not retry if retry_if block returns false checking env", () =>
    Effect.gen(function*() {
      // env[:method] != :post: POST not listed (Sturdy's default)
      const h = yield* setup(timedOut, { retry: faraday })
      yield* h.run(h.api.post("/unstable"))
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("does not retry if retry_if block returns false checking exception", () =>
    Effect.gen(function*() {
      // !exception.is_a?(Errno::ETIMEDOUT): an entry refusing the failure's tag, for a POST allowed to repeat
      const h = yield* setup(timedOut, {
        retry: { ...faraday, methods: ["GET", "POST"], retryOn: { ConnectionError: false } }
      })
      yield* h.run(h.api.post("/unstable"))
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("when explicitly specifying methods to retry: does not call retry_if for specified methods", () =>
    Effect.gen(function*() {
      // methods: [:post] retries the POST (3 calls). Sturdy's `retryOn` is asked about every failure, so its
      // "never called" half is not ported
      const h = yield* setup(timedOut, { retry: { ...faraday, methods: ["POST"] } })
      yield* h.run(h.api.post("/unstable"))
      expect(h.seen.length).toBe(3)
    }))

  it.scoped("with empty list of methods to retry: calls retry_if for all methods", () =>
    Effect.gen(function*() {
      // Sturdy: `methods: []` turns retries off (documented), where faraday asks retry_if for every method
      const off = yield* setup(timedOut, { retry: { ...faraday, methods: [] } })
      yield* off.run(off.api.get("/unstable"))
      expect(off.seen.length).toBe(1)
      // faraday's check `calls.size < 2` is a `retryOn` predicate on the attempt: 2 calls
      const h = yield* setup(timedOut, { retry: { ...faraday, retryOn: (_, attempt) => attempt < 2 } })
      yield* h.run(h.api.get("/unstable"))
      expect(h.seen.length).toBe(2)
    }))
})

describe("faraday-retry: retry_after header support (504, retry_statuses 504)", () => {
  const on504 = { ...faraday, maxAttempts: 2, statuses: [504], retryAfterStatuses: [504] }
  const headerSeconds = (name: string) => (_: number, failure: Policy.RetryFailure) =>
    "headers" in failure ? Duration.millis(Number(failure.headers[name]) * 1000) : Duration.zero

  it.scoped("when custom retry header is set", () =>
    Effect.gen(function*() {
      // rate_limit_retry_header: 'x-retry-after' is a `retry.delay` reading it (still capped by `maxDelay`, so
      // faraday's default interval of 0 is not the cap here)
      const h = yield* setup(always(504, { "x-retry-after": "0.5" }), {
        retry: { ...on504, maxDelay: "10 seconds", delay: headerSeconds("x-retry-after") }
      })
      yield* h.run(h.api.get("/unstable"))
      expect(elapsed(h)).toBe(500)
    }))

  it.scoped("when custom reset header is set", () =>
    Effect.gen(function*() {
      const h = yield* setup(always(504, { "x-reset-after": "0.5" }), {
        retry: { ...on504, maxDelay: "10 seconds", delay: headerSeconds("x-reset-after") }
      })
      yield* h.run(h.api.get("/unstable"))
      expect(elapsed(h)).toBe(500)
    }))

  it.scoped("when Retry-After bigger than RateLimit-Reset", () =>
    Effect.gen(function*() {
      // faraday waits the longer, 0.5 s. Sturdy reads Retry-After by RFC 9110, where `0.5` is not a valid hint, so the
      // `RateLimit-Reset` of a limited response (a status of `retryAfterStatuses`, no remaining count) is the wait:
      // 0.1 s
      const h = yield* setup(always(504, { "retry-after": "0.5", "ratelimit-reset": "0.1" }), {
        retry: { ...on504, baseDelay: "100 millis", maxDelay: "100 millis" }
      })
      yield* h.run(h.api.get("/unstable"))
      expect(elapsed(h)).toBe(100)
      expect(h.decisions[0]!.reason).toBe("retry-after")
    }))

  it.scoped("when RateLimit-Reset bigger than Retry-After", () =>
    Effect.gen(function*() {
      // the reset's 0.5 s, as faraday (Retry-After `0.1` is not a valid hint for Sturdy)
      const h = yield* setup(always(504, { "retry-after": "0.1", "ratelimit-reset": "0.5" }), {
        retry: { ...on504, baseDelay: "100 millis", maxDelay: "100 millis" }
      })
      yield* h.run(h.api.get("/unstable"))
      expect(elapsed(h)).toBe(500)
      expect(h.decisions[0]!.reason).toBe("retry-after")
    }))

  it.scoped("when retry_after smaller than interval", () =>
    Effect.gen(function*() {
      // `0.1` is ignored: the interval (0.2 s) applies, as in faraday
      const h = yield* setup(always(504, { "retry-after": "0.1" }), {
        retry: { ...on504, baseDelay: "200 millis", maxDelay: "200 millis" }
      })
      yield* h.run(h.api.get("/unstable"))
      expect(elapsed(h)).toBe(200)
      // with a valid Retry-After shorter than the interval, faraday waits the interval; Sturdy waits the server's
      // value (a server's wait replaces the backoff, documented in `Policy`'s rules)
      const valid = yield* setup(always(504, { "retry-after": "1" }), {
        retry: { ...on504, baseDelay: "2 seconds", maxDelay: "2 seconds" }
      })
      yield* valid.run(valid.api.get("/unstable"))
      expect(elapsed(valid)).toBe(1000)
    }))

  it.scoped("when RateLimit-Reset is a timestamp", () =>
    Effect.gen(function*() {
      // a reset given as an HTTP-date is read as a date: until then (> 1 s), as faraday
      const h = yield* setup(
        always(504, { "retry-after": "0.1", "ratelimit-reset": inTwoSeconds() }),
        { retry: { ...on504, baseDelay: "100 millis", maxDelay: "100 millis" } }
      )
      yield* h.run(h.api.get("/unstable"))
      // the date has whole seconds, 2 to 3 s ahead when written; the TestClock starts at the real time a little later
      expect(elapsed(h)).toBeGreaterThan(1000)
      expect(elapsed(h)).toBeLessThanOrEqual(3000)
      expect(h.decisions[0]!.reason).toBe("retry-after")
    }))

  it.scoped("when retry_after is a timestamp", () =>
    Effect.gen(function*() {
      const h = yield* setup(always(504, { "retry-after": inTwoSeconds() }), {
        retry: { ...on504, baseDelay: "100 millis", maxDelay: "100 millis" }
      })
      yield* h.run(h.api.get("/unstable"))
      // the date has whole seconds, 2 to 3 s ahead when written; the TestClock starts at the real time a little later
      expect(elapsed(h)).toBeGreaterThan(1000)
      expect(elapsed(h)).toBeLessThanOrEqual(3000)
      expect(h.decisions[0]!.reason).toBe("retry-after")
    }))

  it.scoped("when custom header_parser_block is set", () =>
    Effect.gen(function*() {
      // RateLimit-Reset as epoch seconds, read by a parser of the caller's: a `retry.delay`
      const h = yield* setup(
        always(504, { "retry-after": "0.1", "ratelimit-reset": String(Math.ceil(Date.now() / 1000) + 2) }),
        {
          retry: {
            ...on504,
            maxDelay: "10 seconds",
            delay: (_, failure) =>
              "headers" in failure
                ? Duration.millis(Math.max(0, Number(failure.headers["ratelimit-reset"]) * 1000 - Date.now()))
                : Duration.zero
          }
        }
      )
      yield* h.run(h.api.get("/unstable"))
      // (real time runs on while the TestClock stands still: a few ms either way)
      expect(elapsed(h)).toBeGreaterThan(1000)
      expect(elapsed(h)).toBeLessThanOrEqual(3000)
    }))

  it.scoped("when retry_after is bigger than max_interval: times_called is 1", () =>
    Effect.gen(function*() {
      // Retry-After 20 s ahead, max_interval 5: no retry (Sturdy: above `maxRetryAfter`, it fails at once)
      const h = yield* setup(always(504, { "retry-after": new Date(Date.now() + 20_000).toUTCString() }), {
        retry: { ...on504, maxAttempts: 3, baseDelay: "100 millis", maxDelay: "5 seconds", maxRetryAfter: "5 seconds" }
      })
      expect(failureOf(yield* h.run(h.api.get("/unstable")))).toMatchObject({ status: 504 })
      expect(h.seen.length).toBe(1)
      expect(h.decisions.map((d) => d.reason)).toEqual(["retry-after-too-long"])
    }))

  it.scoped("when retry_after is bigger than max_interval: when retry_block is set: retry_block is not called", () =>
    Effect.gen(function*() {
      const h = yield* setup(always(504, { "retry-after": new Date(Date.now() + 20_000).toUTCString() }), {
        retry: { ...on504, maxAttempts: 3, maxDelay: "5 seconds", maxRetryAfter: "5 seconds" }
      })
      yield* h.run(h.api.get("/unstable"))
      expect(h.decisions.filter((d) => d.retrying)).toEqual([])
    }))
})
