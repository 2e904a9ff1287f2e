/**
 * Req's (Elixir) `retry` step, ported to Sturdy's public API over a real node:http server on 127.0.0.1
 * (`test/utils/retryHarness.ts`, every wait on the TestClock). Source: wojtekmach/req, `test/req/steps_test.exs`,
 * `describe "retry"`, at 5a5185bfb1c4006660a7e4790045851c7857981a (the last commit where the block lives in
 * steps_test.exs; at a9d6ac2887d4f36d4e56019e54d7e8a7d3dc3aa0 it is `test/req/retry_test.exs`, reworked for
 * `Req.stream`, and its one new case on the retry decision is ported too), and the one retry case outside that block,
 * `describe "encode_body"`'s "form_multipart: content-type boundary stays in sync with body on retry". One `it` per
 * ExUnit test, named after it; the cases in the last block come from the `retry/1` step's documentation and code in
 * `lib/req/steps.ex` at 5a5185b (its defaults: `:safe_transient`'s statuses and transport errors, `Retry-After` on
 * 429 and 503, the default delay, `max_retries`), not from a test, and are named after what they check.
 *
 * Mapping: `max_retries: n` (default 3) is `retry.maxAttempts: n + 1`; `retry_delay: ms` is
 * `retry.delay: () => ms`, `retry_delay: fun(retry_count)` is `retry.delay: (attempt) => fun(attempt - 1)` (req's
 * count is 0-based, Sturdy's attempt 1-based); `retry: :safe_transient` (the default) is Sturdy's default rules;
 * `retry: :transient` is `retry.methods` listing POST; `retry: false` is `retry: false`; a custom `retry` function
 * returning `true` is `retry.retryOn: () => true` (with the method listed in `retry.methods`: `retryOn` never makes a
 * POST safe to repeat) and one returning `{:delay, ms}` is `retryOn` plus `retry.delay`; `retry_log_level` is
 * `onEvent`'s `RetryDecision` (Sturdy logs retries at debug through `Retry`; the level a caller wants is the caller's
 * `onEvent` hook, and no hook is "logging disabled"); req's log line's "in Nms, k attempts left" is the decision's
 * `delay` and `maxAttempts − attempt + 1`. A request step re-run per attempt is the per-call `onEvent`'s
 * `AttemptStarted`.
 *
 * Deliberate differences (each test says which): req returns the last response when retries end, Sturdy fails with
 * it (`ServerError`, carrying the status); an explicit `retry_delay` overrides `Retry-After` in req, where a server's
 * wait is the wait in Sturdy (`retry.respectRetryAfter: false` gives req's behaviour); req raises when a
 * `retry_delay` function returns a non-integer, while Sturdy's `retry.delay` is typed to return a duration (see the
 * case); req's custom function that returns `true` retries a POST, Sturdy's `retryOn` needs the method listed;
 * `:safe_transient` retries GET and HEAD only, Sturdy's default rules every method safe to repeat (PUT, DELETE, ...)
 * and a request whose connection was refused (nothing was sent) (`retry.methods: ["GET", "HEAD"]` gives req's rule);
 * req's default delay is 1 s doubling, less up to 10 % (0.949 s, 1.97 s, 3.87 s ...), Sturdy's 2 s doubling to 30 s
 * with full jitter; req's default `max_retries: 3` makes 4 requests, Sturdy's default 3 attempts in all; Sturdy
 * also reads `Retry-After` on a 413 (`retry.retryAfterStatuses`), req on 429 and 503 only.
 *
 * Not ported: retry_test.exs's "stream", "stream always failing", "custom function receives response without body"
 * and "does not retry response with malformed compressed body" (req's streaming API: its decompression error comes
 * after the retry step there); "raise on custom function returning {:delay, milliseconds} when `:retry_delay` is
 * provided" (Sturdy has one delay option, `retry.delay`, so the conflict cannot be written), "does not carry `halted`
 * status over" and the response steps appending " - updated" in three cases (req's step pipeline; the status and body
 * those cases assert are ported); the docs' `Req.HTTPError` with `protocol: :http2` (the transport speaks HTTP/1.1
 * here).
 */
import { HttpBody } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import type { Policy } from "@sturdy/http"
import { Duration, Effect } from "effect"
import { delays, failureOf, fixture, gaps, type Handler, type Seen, send, setup, textOf } from "./utils/retryHarness.js"

/** answers each request with the next of `answers` (req's `serve_sequence`), the last one from then on */
const sequence = (...answers: ReadonlyArray<Handler>): Handler => (request, response, count, tools) =>
  answers[Math.min(count, answers.length) - 1]!(request, response, count, tools)
const status = (code: number, body = "oops", headers: Record<string, string> = {}): Handler => (_, response) =>
  send(response, code, headers, body)
const ok = status(200, fixture)
/** req's `send_resp_retry_after`: the status (429 unless given) with a `Retry-After` header and no body */
const retryAfter = (value: string, code = 429): Handler => status(code, "", { "retry-after": value })
const httpDate = (millis: number) => new Date(millis).toUTCString()

/** req's defaults: max_retries 3; no jitter on a server's wait, for exact assertions */
const req = { maxAttempts: 4, retryAfterJitter: 0 } as const

/** req's log line, from a retry decision */
const logLine = (d: Extract<Policy.Event, { readonly _tag: "RetryDecision" }>, maxAttempts: number) => {
  const left = maxAttempts - d.attempt + 1
  const failure = d.failure as { readonly status?: number }
  return `retry: got response with status ${failure.status}, will retry in ${Duration.toMillis(d.delay)}ms, ${left} ${
    left === 1 ? "attempt" : "attempts"
  } left`
}

describe("req test/req/steps_test.exs describe \"retry\"", () => {
  it.scoped("eventually successful - function", () =>
    Effect.gen(function*() {
      const h = yield* setup(sequence(status(500), status(500), status(500), ok), {
        retry: { ...req, delay: (attempt) => 2 ** (attempt - 1) }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      // req_retry_count == 3
      expect(h.seen.length).toBe(4)
      expect(gaps(h)).toEqual([1, 2, 4])
      expect(h.decisions.filter((d) => d.retrying).map((d) => logLine(d, 4))).toEqual([
        "retry: got response with status 500, will retry in 1ms, 3 attempts left",
        "retry: got response with status 500, will retry in 2ms, 2 attempts left",
        "retry: got response with status 500, will retry in 4ms, 1 attempt left"
      ])
    }))

  it.scoped("invalid :retry_delay", () =>
    Effect.gen(function*() {
      // req raises ArgumentError when the retry_delay function returns `:ok`. Sturdy's `retry.delay` is typed to
      // return a duration, so `:ok` does not type-check; a number that is not a valid wait (NaN, negative) is read as
      // no wait (`Backoff.fromDelay`'s documented rule), and the attempt limit still bounds the call
      const h = yield* setup(status(500, ""), { retry: { ...req, delay: () => Number.NaN } })
      expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ _tag: "ServerError", status: 500 })
      expect(h.seen.length).toBe(4)
      expect(delays(h)).toEqual([0, 0, 0])
      expect(gaps(h)).toEqual([0, 0, 0])
    }))

  it.scoped("eventually successful - integer", () =>
    Effect.gen(function*() {
      const h = yield* setup(sequence(status(500), status(500), ok), { retry: { ...req, delay: () => 1 } })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.seen.length).toBe(3)
      expect(h.decisions.filter((d) => d.retrying).map((d) => logLine(d, 4))).toEqual([
        "retry: got response with status 500, will retry in 1ms, 3 attempts left",
        "retry: got response with status 500, will retry in 1ms, 2 attempts left"
      ])
    }))

  it.scoped("default log_level", () =>
    Effect.gen(function*() {
      // req logs each retry at :warning by default; Sturdy reports each decision to `onEvent` (the harness's hook)
      const h = yield* setup(sequence(status(500), ok), { retry: { ...req, delay: () => 1 } })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.decisions.map((d) => logLine(d, 4))).toEqual([
        "retry: got response with status 500, will retry in 1ms, 3 attempts left"
      ])
    }))

  it.scoped("custom log_level", () =>
    Effect.gen(function*() {
      // retry_log_level: :info is the caller's own hook, per call: it sees the same decision
      const lines: Array<string> = []
      const h = yield* setup(sequence(status(500), ok), { retry: { ...req, delay: () => 1 } })
      const exit = yield* h.run(h.api.get("/", {
        onEvent: (event) =>
          Effect.sync(() => {
            if (event._tag === "RetryDecision") lines.push(`[info] ${logLine(event, 4)}`)
          })
      }))
      expect(textOf(exit)).toBe(fixture)
      expect(lines).toEqual(["[info] retry: got response with status 500, will retry in 1ms, 3 attempts left"])
    }))

  it.scoped("logging disabled", () =>
    Effect.gen(function*() {
      // retry_log_level: false: no per-call hook; the call retries all the same
      const h = yield* setup(sequence(status(500), ok), { retry: { ...req, delay: () => 1 } })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("retries response with malformed compressed body", () =>
    Effect.gen(function*() {
      const h = yield* setup(sequence(status(500, "bad gzip", { "content-encoding": "gzip" }), ok), {
        retry: { ...req, delay: () => 1 }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("retry-after", () =>
    Effect.gen(function*() {
      // 429 with `Retry-After: 0`, then 503 with an HTTP-date 2 s ahead, then 200; max_retries: 5
      const h = yield* setup(
        (request, response, count, tools) =>
          sequence(
            retryAfter("0"),
            retryAfter(httpDate(request.at + 2000), 503),
            ok
          )(request, response, count, tools),
        { retry: { ...req, maxAttempts: 6 } }
      )
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.seen.length).toBe(3)
      const [first, second] = gaps(h)
      expect(first).toBe(0)
      // an HTTP-date has whole seconds: the wait is what is left of the 2 s to that second
      expect(second).toBeGreaterThan(1000)
      expect(second).toBeLessThanOrEqual(2000)
    }))

  it.scoped(":retry_delay", () =>
    Effect.gen(function*() {
      // Retry-After 0, -1 (not a valid hint), a date now, a date an hour ago, then 200; retry_delay is a function
      const now = (request: { readonly at: number }) => httpDate(request.at)
      const handler: Handler = (request, response, count, tools) =>
        sequence(
          retryAfter("0"),
          retryAfter("-1"),
          retryAfter(now(request), 503),
          retryAfter(httpDate(request.at - 3_600_000), 503),
          ok
        )(request, response, count, tools)
      // req: an explicit retry_delay overrides Retry-After, so it is asked for every retry (counts 0, 1, 2, 3)
      const reqCounts: Array<number> = []
      const asReq = yield* setup(handler, {
        retry: {
          ...req,
          maxAttempts: 6,
          respectRetryAfter: false,
          delay: (attempt) => {
            reqCounts.push(attempt - 1)
            return 0
          }
        }
      })
      expect(textOf(yield* asReq.run(asReq.api.get("/")))).toBe(fixture)
      expect(reqCounts).toEqual([0, 1, 2, 3])
      // Sturdy's default: the delay function is asked at every retry too (the schedule is stepped with each failure),
      // but a server's wait replaces its answer; only after the invalid `-1` is its delay the wait
      const sturdyCounts: Array<number> = []
      const h = yield* setup(handler, {
        retry: {
          ...req,
          maxAttempts: 6,
          delay: (attempt) => {
            sturdyCounts.push(attempt - 1)
            return 0
          }
        }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.seen.length).toBe(5)
      expect(sturdyCounts).toEqual([0, 1, 2, 3])
      expect(h.decisions.map((d) => d.reason)).toEqual(["retry-after", "backoff", "retry-after", "retry-after"])
      expect(gaps(h)).toEqual([0, 0, 0, 0])
    }))

  it.scoped("always failing", () =>
    Effect.gen(function*() {
      const h = yield* setup(status(500), { retry: { ...req, delay: () => 1 } })
      // req returns the last response (500 "oops"); Sturdy fails with it
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(failure).toMatchObject({ _tag: "ServerError", status: 500, attempts: 4 })
      expect(h.seen.length).toBe(4)
    }))

  it.scoped("retry: :safe_transient does not retry on POST", () =>
    Effect.gen(function*() {
      const h = yield* setup(status(500), { retry: { ...req, maxAttempts: 11 } })
      expect(failureOf(yield* h.run(h.api.post("/", { body: "x" })))).toMatchObject({ status: 500 })
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("retry: :transient retries on POST", () =>
    Effect.gen(function*() {
      const h = yield* setup(status(500), {
        retry: { ...req, methods: ["GET", "HEAD", "POST"], delay: () => 1, maxAttempts: 2 }
      })
      expect(failureOf(yield* h.run(h.api.post("/", { body: "x" })))).toMatchObject({ status: 500 })
      expect(h.seen.map((s) => s.method)).toEqual(["POST", "POST"])
    }))

  it.scoped("retry: false", () =>
    Effect.gen(function*() {
      const h = yield* setup(status(500), { retry: false })
      expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ status: 500 })
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("custom function returning true", () =>
    Effect.gen(function*() {
      // req's function decides alone, and retries a POST; Sturdy's `retryOn` decides which failures retry, and a POST
      // repeats only when `retry.methods` lists it
      const statuses: Array<number | undefined> = []
      const h = yield* setup(status(500), {
        retry: {
          ...req,
          methods: ["POST"],
          delay: () => 1,
          retryOn: (failure) => {
            statuses.push("status" in failure ? failure.status : undefined)
            return true
          }
        }
      })
      expect(failureOf(yield* h.run(h.api.post("/", { body: "x" })))).toMatchObject({ status: 500 })
      expect(h.seen.length).toBe(4)
      expect(statuses).toEqual([500, 500, 500, 500])
    }))

  it.scoped("custom function returning {:delay, milliseconds}", () =>
    Effect.gen(function*() {
      const h = yield* setup(status(500), { retry: { ...req, retryOn: () => true, delay: () => 1 } })
      expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ status: 500 })
      expect(h.seen.length).toBe(4)
      expect(delays(h)).toEqual([1, 1, 1])
    }))

  it.scoped("does not re-encode params", () =>
    Effect.gen(function*() {
      const h = yield* setup(status(500), { retry: { ...req, delay: () => 1 } })
      expect(failureOf(yield* h.run(h.api.get("/", { urlParams: { a: 1, b: 2 } })))).toMatchObject({ status: 500 })
      expect(h.seen.map((s) => s.path)).toEqual(["/?a=1&b=2", "/?a=1&b=2", "/?a=1&b=2", "/?a=1&b=2"])
    }))

  it.scoped("re-runs request steps on each attempt", () =>
    Effect.gen(function*() {
      // req's appended request step is the per-call `onEvent`'s AttemptStarted: 1 initial attempt + 3 retries
      const started: Array<number> = []
      const h = yield* setup(status(500), { retry: { ...req, delay: () => 1 } })
      const exit = yield* h.run(h.api.get("/", {
        onEvent: (event) =>
          Effect.sync(() => {
            if (event._tag === "AttemptStarted") started.push(event.attempt)
          })
      }))
      expect(failureOf(exit)).toMatchObject({ status: 500 })
      expect(started).toEqual([1, 2, 3, 4])
      expect(h.seen.length).toBe(4)
    }))
})

describe("req test/req/retry_test.exs (a9d6ac2), cases added since the move", () => {
  it.scoped("retry: fun sees req.private.req_retry_count", () =>
    Effect.gen(function*() {
      // req's function sees the retry count so far (nil, 1, 2, 3); Sturdy's `retryOn` sees the number of the attempt
      // that failed (1, 2, 3, 4): the same count, plus one
      const seen: Array<number> = []
      const h = yield* setup(status(500), {
        retry: {
          ...req,
          delay: () => 1,
          retryOn: (failure, attempt) => {
            seen.push(attempt)
            return "status" in failure && failure.status === 500
          }
        }
      })
      expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ status: 500, attempts: 4 })
      expect(seen).toEqual([1, 2, 3, 4])
    }))
})

describe("req test/req/steps_test.exs describe \"encode_body\"", () => {
  it.scoped("form_multipart: content-type boundary stays in sync with body on retry", () =>
    Effect.gen(function*() {
      // each attempt's multipart body must parse with the boundary its own Content-Type names
      const parsed: Array<string | undefined> = []
      const field = (request: Seen) => {
        const boundary = /boundary=("?)([^";]+)\1/.exec(String(request.headers["content-type"]))?.[2]
        if (boundary === undefined) return undefined
        const parts = request.body.split(`--${boundary}`)
        // preamble, the one part, and the closing "--"
        if (parts.length !== 3 || !parts[2]!.startsWith("--")) return undefined
        return /name="a"\r\n\r\n([^\r]*)\r\n/.exec(parts[1]!)?.[1]
      }
      const h = yield* setup(
        (request, response, count, tools) => {
          parsed.push(field(request))
          sequence(status(500, ""), status(200, ""))(request, response, count, tools)
        },
        // retry: :transient is POST listed in `retry.methods`
        { retry: { ...req, methods: ["GET", "HEAD", "POST"], delay: () => 1 } }
      )
      const form = new FormData()
      form.append("a", "1")
      const exit = yield* h.run(h.api.post("/", { body: HttpBody.formData(form) }))
      expect(exit._tag === "Success" && exit.value.status).toBe(200)
      expect(parsed).toEqual(["1", "1"])
      expect(h.seen.map((s) => s.method)).toEqual(["POST", "POST"])
    }))
})

describe("req lib/req/steps.ex retry/1 docs: :safe_transient", () => {
  // "HTTP 408/429/500/502/503/504 responses" and "Req.TransportError with reason: :timeout | :econnrefused | :closed"
  // retry for GET and HEAD (Sturdy's default rules retry every safe method)
  for (const code of [408, 429, 500, 502, 503, 504]) {
    it.scoped(`retries a GET answered ${code}`, () =>
      Effect.gen(function*() {
        const h = yield* setup(sequence(status(code, ""), ok), { retry: { ...req, delay: () => 1 } })
        expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
        expect(h.seen.length).toBe(2)
      }))
  }

  it.scoped("retries a HEAD answered 503", () =>
    Effect.gen(function*() {
      const h = yield* setup(sequence(status(503, ""), status(200, "")), { retry: { ...req, delay: () => 1 } })
      const exit = yield* h.run(h.api.head("/"))
      expect(exit._tag).toBe("Success")
      expect(h.seen.map((s) => s.method)).toEqual(["HEAD", "HEAD"])
    }))

  it.scoped("does not retry other statuses (404, 501)", () =>
    Effect.gen(function*() {
      for (const code of [404, 501]) {
        const h = yield* setup(status(code, ""), { retry: { ...req, delay: () => 1 } })
        expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ status: code })
        expect(h.seen.length).toBe(1)
      }
    }))

  it.scoped("retries a closed connection (:closed)", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        (request, response, count, tools) =>
          count === 1 ? response.socket?.destroy() : ok(request, response, count, tools),
        { retry: { ...req, delay: () => 1 } }
      )
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("retries a refused connection (:econnrefused)", () =>
    Effect.gen(function*() {
      const h = yield* setup(ok, { retry: { ...req, delay: () => 1 } }, { listen: "later" })
      expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ _tag: "ConnectionError", attempts: 4 })
      expect(h.decisions.map((d) => d.retrying)).toEqual([true, true, true, false])
    }))

  it.scoped("retries a timed-out request (:timeout)", () =>
    Effect.gen(function*() {
      // the first answer comes after the attempt's limit (req's receive_timeout)
      const h = yield* setup(
        (_, response, count, tools) =>
          count === 1 ? tools.later(1000, () => send(response, 200, {}, "late")) : send(response, 200, {}, fixture),
        { attemptTimeout: "500 millis", retry: { ...req, delay: () => 1 } }
      )
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.decisions.map((d) => [d.failure._tag, d.retrying])).toEqual([["Timeout", true]])
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("retries safe (GET/HEAD) requests only", () =>
    Effect.gen(function*() {
      // Sturdy's default rules also repeat PUT and DELETE (safe to repeat), where req's :safe_transient does not
      for (const method of ["PUT", "DELETE"] as const) {
        const h = yield* setup(sequence(status(503, ""), ok), { retry: { ...req, delay: () => 1 } })
        const call = method === "PUT" ? h.api.put("/", { body: "x" }) : h.api.del("/")
        expect(textOf(yield* h.run(call))).toBe(fixture)
        expect(h.seen.map((s) => s.method)).toEqual([method, method])
      }
      // `retry.methods: ["GET", "HEAD"]` is req's rule
      for (const method of ["PUT", "DELETE", "PATCH"] as const) {
        const h = yield* setup(sequence(status(503, ""), ok), {
          retry: { ...req, delay: () => 1, methods: ["GET", "HEAD"] }
        })
        const call = method === "PUT"
          ? h.api.put("/", { body: "x" })
          : method === "PATCH"
          ? h.api.patch("/", { body: "x" })
          : h.api.del("/")
        expect(failureOf(yield* h.run(call))).toMatchObject({ status: 503, attempts: 1 })
        expect(h.seen.length).toBe(1)
      }
    }))
})

describe("req lib/req/steps.ex retry/1 docs: :transient, :retry_delay, :max_retries", () => {
  it.scoped(":transient retries all HTTP methods (POST, DELETE, etc.)", () =>
    Effect.gen(function*() {
      const transient = { ...req, delay: () => 1, methods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"] } as const
      for (const method of ["POST", "PATCH", "DELETE"] as const) {
        const h = yield* setup(sequence(status(500), ok), { retry: transient })
        const call = method === "POST"
          ? h.api.post("/", { body: "x" })
          : method === "PATCH"
          ? h.api.patch("/", { body: "x" })
          : h.api.del("/")
        expect(textOf(yield* h.run(call))).toBe(fixture)
        expect(h.seen.map((s) => [s.method, s.body])).toEqual(
          method === "DELETE" ? [[method, ""], [method, ""]] : [[method, "\"x\""], [method, "\"x\""]]
        )
      }
    }))

  it.scoped("the delay is the Retry-After header's on HTTP 429/503 responses", () =>
    Effect.gen(function*() {
      // delay-seconds: waited exactly (no jitter here: req adds none)
      for (const code of [429, 503]) {
        const h = yield* setup(sequence(retryAfter("2", code), ok), { retry: req })
        expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
        expect(gaps(h)).toEqual([2000])
        expect(h.decisions.map((d) => d.reason)).toEqual(["retry-after"])
      }
      // on another status the header is not read: the backoff applies
      const other = yield* setup(sequence(status(500, "", { "retry-after": "2" }), ok), {
        retry: { ...req, delay: () => 1 }
      })
      expect(textOf(yield* other.run(other.api.get("/")))).toBe(fixture)
      expect(gaps(other)).toEqual([1])
      expect(other.decisions.map((d) => d.reason)).toEqual(["backoff"])
    }))

  it.scoped("the default delay follows a simple exponential backoff with jitter", () =>
    Effect.gen(function*() {
      // req's `exp_backoff_with_jitter(n)`: 2^n × 1000 × (1 − 0.1 × U); its docs' example 0.949 s, 1.97 s, 3.87 s,
      // as `retry.delay`
      const example = [949, 1970, 3870]
      const asReq = yield* setup(status(500), { retry: { ...req, delay: (attempt) => example[attempt - 1]! } })
      expect(failureOf(yield* asReq.run(asReq.api.get("/")))).toMatchObject({ status: 500, attempts: 4 })
      expect(gaps(asReq)).toEqual(example)
      for (const [n, d] of example.entries()) {
        expect(d).toBeGreaterThanOrEqual(0.9 * 2 ** n * 1000)
        expect(d).toBeLessThanOrEqual(2 ** n * 1000)
      }
      // the envelope without jitter (`baseDelay: 1 s`, doubling) is req's upper bound
      const envelope = yield* setup(status(500), { retry: { ...req, baseDelay: "1 second", jitter: "none" } })
      expect(failureOf(yield* envelope.run(envelope.api.get("/")))).toMatchObject({ attempts: 4 })
      expect(gaps(envelope)).toEqual([1000, 2000, 4000])
      // Sturdy's default (a deliberate difference): 2 s doubling, full jitter, so each wait is within [0, 2 s × 2^n]
      const sturdy = yield* setup(status(500), { retry: { maxAttempts: 4, retryAfterJitter: 0 } })
      expect(failureOf(yield* sturdy.run(sturdy.api.get("/")))).toMatchObject({ attempts: 4 })
      const waits = delays(sturdy)
      expect(waits.length).toBe(3)
      waits.forEach((d, n) => expect(d).toBeLessThanOrEqual(2000 * 2 ** n))
      expect(gaps(sturdy)).toEqual(waits)
    }))

  it.scoped(":max_retries defaults to 3 (for a total of 4 requests)", () =>
    Effect.gen(function*() {
      // Sturdy's default is 3 attempts in all (a deliberate difference); `maxAttempts: 4` is req's default
      const sturdy = yield* setup(status(500), { retry: { delay: () => 1 } })
      expect(failureOf(yield* sturdy.run(sturdy.api.get("/")))).toMatchObject({ attempts: 3 })
      expect(sturdy.seen.length).toBe(3)
      const asReq = yield* setup(status(500), { retry: { maxAttempts: 4, delay: () => 1 } })
      expect(failureOf(yield* asReq.run(asReq.api.get("/")))).toMatchObject({ attempts: 4 })
      expect(asReq.seen.length).toBe(4)
    }))
})
