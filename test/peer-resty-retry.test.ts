/**
 * go-resty/resty's retry tests, ported to Sturdy's public API over a real node:http(s) server on 127.0.0.1
 * (`test/utils/retryHarness.ts`, every wait on the TestClock). Source: go-resty/resty, v3 line: `retry_test.go`
 * at f531c9de7027ff2d07532d7f246db0fa04b14988 (later than the v3 branch's e7bb2cd59984dd5bfbf9957ddd1912c63093bd5a,
 * whose `resty_test.go` test servers this port reproduces),
 * `retry_body_test.go` at 2c54dba7ac17b42d88c7c54afcb4413992d8a347 and `retry_clamp_test.go` at
 * 8aa894bb7d23c99390b87047700c4c1db7398e72, and the two retry cases of `request_test.go` at e7bb2cd. One `it` per Go
 * test (per `t.Run` of a table), named after it.
 *
 * Mapping: `SetRetryCount(n)` is `retry.maxAttempts: n + 1`; `SetRetryWaitTime(min)` / `SetRetryMaxWaitTime(max)`
 * with resty's default strategy (capped exponential backoff, half of it jittered) is `retry.baseDelay` /
 * `retry.maxDelay` with `jitter: "equal"`; `SetRetryDelayStrategy(f)` (and `RetryConstantDelayStrategy(d)`) is
 * `retry.delay`; `AddRetryConditions` is `retry.retryOn`; `AddRetryHooks` is a `RetryDecision` event with
 * `retrying: true` (`onEvent`); `SetTimeout` is `attemptTimeout` (resty's client timeout bounds each attempt), and a
 * request's `SetTimeout` is the request's `timeout`; a request's own retry settings are an `endpoints` override for
 * its method and path; `SetAllowNonIdempotentRetry(true)` is `retry.methods` listing POST (per request: an
 * `Idempotency-Key` on it, Sturdy's per-request "safe to repeat"); `SetRetryDefaultConditions` is Sturdy's default
 * rules (`Policy.isRetryableByDefault`); a cancelled or timed-out `context` is a caller's `Effect.timeout`; the
 * client's redirect following is `transformClient: Redirect.follow()`; `resp.Request.Attempt` is the failure's
 * `attempts` or the number of requests the server saw.
 *
 * Deliberate differences (each test says which): resty runs its retry conditions on every response, a 200 included,
 * and retries a 200 when a condition says so; Sturdy's `retryOn` decides about failures only and a success ends the
 * call, so the cases whose server answers 200 to every attempt (`/set-retrywaittime-test`) answer 500 here, with the
 * same body. Resty returns the last response when retries end; Sturdy fails with it (`ServerError`, carrying the
 * status and `attempts`). Resty clamps every wait into [min, max] (a strategy's 50 µs waits `SetRetryWaitTime`);
 * Sturdy only caps it by `maxDelay` (no floor: the first retry waits at most `baseDelay`, and jitter only shortens a
 * delay). Resty's first retry's envelope is `2 × min`, Sturdy's `baseDelay`. Resty stops retrying when its strategy
 * returns an error; a `retry.delay` that throws is a defect of the call in Sturdy. Resty re-reads a seekable body for
 * each attempt and fails the retry when it cannot seek; Sturdy encodes a body once and replays it, and never
 * repeats a body it can read only once (a stream): one attempt, and the server's failure. Resty clamps negative
 * retry settings to 0; Sturdy refuses them (`InvalidPolicy`). A request's hooks replace the client's in resty;
 * Sturdy's per-call `onEvent` runs as well as the policy's.
 *
 * Not ported: `TestRetryDefaultConditions/nil values` and `TestRetryCoverage/apply retry default min and max value`
 * (calls of resty's unexported helpers with nil arguments and zero settings); `TestRetryConstantDelayStrategy*`'s
 * identity checks are ported as the waits they give over HTTP; the debug-log assertions ("CORRELATION ID:") of
 * `TestRequestConditionalGet` and `TestClientRetryWithMinAndMaxWaitTime` (resty's debug logger); the getter checks
 * (`c.RetryHooks()`, `c.RetryDelayStrategy()`, `c.IsRetryAllowNonIdempotent()`): Go accessors, no behaviour.
 */
import { HttpBody } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Policy, Redirect } from "@sturdy/http"
import { Cause, Duration, Effect, Exit, Option, Schema, Stream, TestClock } from "effect"
import { loopbackTls } from "./utils/loopbackServer.js"
import {
  delays,
  failureOf,
  gaps,
  type Handler,
  send,
  setup,
  textOf,
  timeoutDuringRetryWait
} from "./utils/retryHarness.js"

/** answers each request with the next of `answers`, the last one from then on */
const sequence = (...answers: ReadonlyArray<Handler>): Handler => (request, response, count, tools) =>
  answers[Math.min(count, answers.length) - 1]!(request, response, count, tools)
const status = (code: number, body = "", headers: Record<string, string> = {}): Handler => (_, response) =>
  send(response, code, headers, body)
const json = "application/json; charset=utf-8"

/** createGetServer's `/`: "TestGet: text response" */
const getRoot = status(200, "TestGet: text response")
/** `/set-retrycount-test`: the first 4 requests answer after 150 ms, later ones at once */
const retryCountTest: Handler = (_, response, count, tools) =>
  count <= 4
    ? tools.later(150, () => send(response, 200, {}, "TestClientRetry page"))
    : send(response, 200, {}, "TestClientRetry page")
/**
 * `/set-retrywaittime-test`, as 500 (resty answers 200 and its condition retries it; Sturdy retries failures only).
 * Resty's body is the time since the previous request; here the server's arrival times say it (`gaps`)
 */
const retryWaitTimeTest: Handler = (_, response) => send(response, 500)
/** `/set-retry-error-recover`: 429 `{ "message": "too many" }`, then 200 `{ "message": "hello" }` */
const retryErrorRecover = sequence(
  status(429, `{ "message": "too many" }`, { "content-type": json }),
  status(200, `{ "message": "hello" }`, { "content-type": json })
)
const AuthSuccess = Schema.Struct({ message: Schema.String })
const AuthError = Schema.Struct({ message: Schema.String })

/** resty's client: `SetRetryCount(count)`, wait `min`..`max` (defaults 100 ms / 2 s); no jitter on server waits */
const resty = (count: number, min = 100, max: number = 2000) =>
  ({
    maxAttempts: count + 1,
    baseDelay: Duration.millis(min),
    maxDelay: Duration.millis(max),
    jitter: "equal",
    retryAfterJitter: 0
  }) as const

const always = () => true

/** `SetFileReader("name", "filename", bytes.NewReader([]byte("test")))`: a file part that can be sent again */
const multipart = () => {
  const form = new FormData()
  form.append("name", new Blob(["test"]), "filename")
  return HttpBody.formData(form)
}

describe("go-resty/resty retry_test.go", () => {
  it.scoped("TestRetryConditionalGet", () =>
    Effect.gen(function*() {
      // the condition would stop after the first response; the 200 ends the call before any condition in Sturdy
      let asked = 0
      const h = yield* setup(getRoot, {
        retry: {
          ...resty(2),
          retryOn: () => {
            asked++
            return asked !== 1
          }
        }
      })
      expect(textOf(yield* h.run(h.api.get("/", { urlParams: { request_no: "1" } })))).toBe("TestGet: text response")
      expect(h.seen.length).toBe(1)
      // resty asks its condition once, about the 200; Sturdy's retryOn decides about failures only
      expect(asked).toBe(0)
    }))

  it.scoped("TestRequestConditionalGet", () =>
    Effect.gen(function*() {
      // the request's own condition (false) and count: an endpoint override
      let asked = 0
      const h = yield* setup(getRoot, {
        endpoints: {
          "GET /": {
            retry: {
              ...resty(1, 50, 1000),
              retryOn: () => {
                asked++
                return false
              }
            }
          }
        }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe("TestGet: text response")
      expect(h.seen.length).toBe(1)
      expect(asked).toBe(0)
    }))

  it.scoped("TestClientRetryGetWithTimeout", () =>
    Effect.gen(function*() {
      // SetTimeout(50ms), SetRetryCount(3): every attempt outlives its 50 ms (the server answers after 150 ms)
      const h = yield* setup(retryCountTest, { attemptTimeout: "50 millis", retry: resty(3) })
      const failure = failureOf(yield* h.run(h.api.get("/set-retrycount-test")))
      expect(failure).toMatchObject({ _tag: "Timeout", phase: "Attempt", attempts: 4 })
      expect(h.seen.length).toBe(4)
    }))

  it.scoped("TestClientRetryWithMinAndMaxWaitTime", () =>
    Effect.gen(function*() {
      // SetRetryCount(5), wait 10..100 ms, a condition that always retries
      const h = yield* setup(retryWaitTimeTest, { retry: { ...resty(5, 10, 100), retryOn: always } })
      const failure = failureOf(yield* h.run(h.api.get("/set-retrywaittime-test")))
      expect(failure).toMatchObject({ _tag: "ServerError", status: 500, attempts: 6 })
      expect(h.seen.length).toBe(6)
      // resty waits within [min, max]; Sturdy's equal jitter waits within [t/2, t], t = min(max, 10 ms × 2ⁿ)
      const envelope = [10, 20, 40, 80, 100]
      gaps(h).forEach((gap, n) => {
        expect(gap).toBeGreaterThanOrEqual(envelope[n]! / 2)
        expect(gap).toBeLessThanOrEqual(envelope[n]!)
      })
    }))

  it.scoped("TestClientRetryWaitMaxInfinite", () =>
    Effect.gen(function*() {
      // SetRetryMaxWaitTime(-1): no cap. `Policy` refuses an infinite `retry.maxDelay` (documented: durations no
      // longer than a timer can hold), so "no cap" is the longest a timer holds, 2^31 − 1 ms
      const refused = yield* Effect.exit(Policy.make({ retry: { maxDelay: Duration.infinity } }))
      expect(failureOf(refused)).toMatchObject({ _tag: "InvalidPolicy", field: "retry.maxDelay" })
      const h = yield* setup(retryWaitTimeTest, {
        retry: { ...resty(5, 10), maxDelay: Duration.millis(2 ** 31 - 1), retryOn: always }
      })
      const failure = failureOf(yield* h.run(h.api.get("/set-retrywaittime-test")))
      expect(failure).toMatchObject({ _tag: "ServerError", attempts: 6 })
      const envelope = [10, 20, 40, 80, 160]
      gaps(h).forEach((gap, n) => {
        expect(gap).toBeGreaterThanOrEqual(envelope[n]! / 2)
        expect(gap).toBeLessThanOrEqual(envelope[n]!)
      })
    }))

  it.scoped("TestClientRetryWaitMaxMinimum", () =>
    Effect.gen(function*() {
      // SetRetryMaxWaitTime(1ns), SetRetryCount(1), always retry: resty waits 1 ns and returns the last response
      const h = yield* setup(retryWaitTimeTest, {
        retry: { ...resty(1), baseDelay: "1 nanos", maxDelay: "1 nanos", retryOn: always }
      })
      const failure = failureOf(yield* h.run(h.api.get("/set-retrywaittime-test")))
      expect(failure).toMatchObject({ _tag: "ServerError", attempts: 2 })
      expect(gaps(h)).toEqual([0])
    }))

  it.scoped("TestClientRetryDelayStrategyFuncError", () =>
    Effect.gen(function*() {
      // resty stops at the strategy's error and returns it; a `retry.delay` that throws is a defect of the call
      const h = yield* setup(retryWaitTimeTest, {
        retry: {
          ...resty(5, 50, 150),
          retryOn: always,
          delay: () => {
            throw new Error("quota exceeded")
          }
        }
      })
      const exit = yield* h.run(h.api.get("/set-retrywaittime-test"))
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) {
        expect(Option.map(Cause.dieOption(exit.cause), (e) => (e as Error).message)).toEqual(
          Option.some("quota exceeded")
        )
      }
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("TestClientRetryDelayStrategyFunc", () =>
    Effect.gen(function*() {
      // RetryConstantDelayStrategy(50µs) with min = max = 50 ms, 10 retries: resty raises each wait to 50 ms; Sturdy
      // caps a custom delay by maxDelay and has no floor: 50 µs waits 1 ms (a fraction of a millisecond is rounded up,
      // `Backoff.fromDelay`'s rule)
      const h = yield* setup(retryWaitTimeTest, {
        retry: { ...resty(10, 50, 50), retryOn: always, delay: () => "50 micros" }
      })
      const failure = failureOf(yield* h.run(h.api.get("/set-retrywaittime-test")))
      expect(failure).toMatchObject({ _tag: "ServerError", attempts: 11 })
      expect(h.seen.length).toBe(11)
      expect(gaps(h)).toEqual(Array(10).fill(1))
    }))

  it.scoped("TestRequestRetryDelayStrategyFunc", () =>
    Effect.gen(function*() {
      // the same, set on the request: an endpoint override
      const h = yield* setup(retryWaitTimeTest, {
        endpoints: {
          "GET /set-retrywaittime-test": {
            retry: { ...resty(10, 50, 50), retryOn: always, delay: () => "50 micros" }
          }
        }
      })
      const failure = failureOf(yield* h.run(h.api.get("/set-retrywaittime-test")))
      expect(failure).toMatchObject({ _tag: "ServerError", attempts: 11 })
      expect(gaps(h)).toEqual(Array(gaps(h).length).fill(1))
    }))

  it.scoped("TestClientRetryDelayStrategyWaitTooShort", () =>
    Effect.gen(function*() {
      // a 10 µs strategy with min 50 ms: resty waits 50 ms, Sturdy the strategy's own wait (no floor), rounded up to 1 ms
      const h = yield* setup(retryWaitTimeTest, {
        retry: { ...resty(5, 50, 150), retryOn: always, delay: () => "10 micros" }
      })
      expect(failureOf(yield* h.run(h.api.get("/set-retrywaittime-test")))).toMatchObject({ attempts: 6 })
      expect(gaps(h)).toEqual(Array(gaps(h).length).fill(1))
    }))

  it.scoped("TestClientRetryDelayStrategyWaitTooLong", () =>
    Effect.gen(function*() {
      // a 1 s strategy with max 50 ms: both cap each wait at 50 ms
      const h = yield* setup(retryWaitTimeTest, {
        retry: { ...resty(5, 10, 50), retryOn: always, delay: () => "1 second" }
      })
      expect(failureOf(yield* h.run(h.api.get("/set-retrywaittime-test")))).toMatchObject({ attempts: 6 })
      expect(delays(h)).toEqual([50, 50, 50, 50, 50])
      expect(gaps(h)).toEqual([50, 50, 50, 50, 50])
    }))

  it.scoped("TestClientRetryCancel", () =>
    Effect.gen(function*() {
      // wait 100..200 ms, a context that times out after 100 ms: one attempt, and the wait is cut short. Resty's
      // first wait is at least its min (100 ms); Sturdy's is within [50, 100] ms (equal jitter, first retry
      // `baseDelay`), so the caller's timeout here is 40 ms, shorter than any first wait
      const h = yield* setup(retryWaitTimeTest, { retry: { ...resty(5, 100, 200), retryOn: always } })
      const { decided, exit } = yield* timeoutDuringRetryWait(h, h.api.get("/set-retrywaittime-test"), 40)
      expect(decided.map((d) => d.retrying)).toEqual([true])
      expect(Exit.isFailure(exit) && Cause.failureOption(exit.cause)).toMatchObject(
        Option.some({ _tag: "TimeoutException" })
      )
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("TestClientRetryPost", () =>
    Effect.gen(function*() {
      // SetRetryCount(3), retry on >= 500, a POST that the server echoes with 500: a POST is not retried (resty v3
      // retries only idempotent methods unless allowed), and the 500 carries the echoed body
      const users = [{ user1: { FirstName: "firstname1", LastName: "lastname1", ZipCode: "10001" } }]
      const h = yield* setup((request, response) => send(response, 500, { "content-type": json }, request.body), {
        retry: { ...resty(3), retryOn: { ServerError: (e) => e.status >= 500 } }
      })
      const failure = failureOf(yield* h.run(h.api.post("/usersmap?status=500", { body: users })))
      expect(failure).toMatchObject({ _tag: "ServerError", status: 500 })
      expect(JSON.parse((failure as { readonly bodyExcerpt: string }).bodyExcerpt)).toEqual(users)
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("TestClientRetryErrorRecover", () =>
    Effect.gen(function*() {
      // SetResultError(AuthError{}) and a condition on the decoded error: retry a 429 whose message is "too many"
      const h = yield* setup(retryErrorRecover, {
        retry: {
          ...resty(2),
          retryOn: {
            RateLimited: (e) =>
              e.status === 429 &&
              Option.exists(e.payload, (p) => Schema.is(AuthError)(p) && p.message === "too many")
          }
        }
      })
      const exit = yield* h.run(
        h.api.get("/set-retry-error-recover", {
          headers: { "content-type": json },
          schema: AuthSuccess,
          errorSchema: AuthError
        })
      )
      expect(exit).toEqual(Exit.succeed({ message: "hello" }))
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("TestClientRetryCountWithTimeout", () =>
    Effect.gen(function*() {
      // SetTimeout(50ms), SetRetryCount(1), a condition that always retries: 2 attempts, both time out
      let asked = 0
      const h = yield* setup(retryCountTest, {
        attemptTimeout: "50 millis",
        retry: {
          ...resty(1),
          retryOn: () => {
            asked++
            return true
          }
        }
      })
      const failure = failureOf(yield* h.run(h.api.get("/set-retrycount-test")))
      expect(failure).toMatchObject({ _tag: "Timeout", phase: "Attempt", attempts: 2 })
      expect(h.seen.length).toBe(2)
      expect(asked).toBe(2)
    }))

  it.scoped("TestClientRetryTooManyRequestsAndRecover", () =>
    Effect.gen(function*() {
      // client timeout 1 s, the request's 10 ms: a 429 then 200, retried by the default rules
      const h = yield* setup(retryErrorRecover, { retry: resty(2) }, { client: { timeout: "1 second" } })
      const exit = yield* h.run(
        h.api.get("/set-retry-error-recover", { timeout: "10 millis", schema: AuthSuccess })
      )
      expect(exit).toEqual(Exit.succeed({ message: "hello" }))
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("TestClientRetryHookWithTimeout", () =>
    Effect.gen(function*() {
      // SetRetryCount(3), SetTimeout(50ms), a retry hook: 4 attempts, the hook runs before each of the 3 retries
      const h = yield* setup(retryCountTest, { attemptTimeout: "50 millis", retry: resty(3) })
      const failure = failureOf(yield* h.run(h.api.get("/set-retrycount-test")))
      expect(failure).toMatchObject({ _tag: "Timeout", phase: "Attempt", attempts: 4 })
      expect(h.decisions.filter((d) => d.retrying).length).toBe(3)
    }))

  it.scoped("TestResetMultipartReaderSeekStartError", () =>
    Effect.gen(function*() {
      // a file part whose reader cannot seek back, PUT, SetRetryCount(2), a server that answers 500: resty fails the
      // retry with the seek error; Sturdy never repeats a body it can read only once (a stream): one attempt
      const h = yield* setup(status(500, `{ "message": "error" }`, { "content-type": json }), { retry: resty(2) })
      const body = HttpBody.stream(Stream.make(new TextEncoder().encode("test")), "application/octet-stream")
      const failure = failureOf(yield* h.run(h.api.put("/set-reset-multipart-readers-test", { body })))
      expect(failure).toMatchObject({ _tag: "ServerError", status: 500 })
      expect(h.seen.map((s) => s.body)).toEqual(["test"])
    }))

  it.scoped("TestClientResetMultipartReaders", () =>
    Effect.gen(function*() {
      // a seekable file part, PUT, SetRetryCount(2): every attempt sends the whole part again
      const h = yield* setup(status(500, `{ "message": "error" }`, { "content-type": json }), { retry: resty(2) })
      const failure = failureOf(yield* h.run(h.api.put("/set-reset-multipart-readers-test", { body: multipart() })))
      expect(failure).toMatchObject({ _tag: "ServerError", status: 500, attempts: 3 })
      expect(h.seen.length).toBe(3)
      for (const s of h.seen) {
        expect(s.body).toContain(`filename="filename"`)
        expect(s.body).toContain("\r\n\r\ntest\r\n")
      }
      // the retry hook runs before each retry
      expect(h.decisions.filter((d) => d.retrying).length).toBe(2)
    }))

  it.scoped("TestRequestResetMultipartReaders", () =>
    Effect.gen(function*() {
      // the same with the request's SetRetryCount(2): an endpoint override
      const h = yield* setup(status(500, `{ "message": "error" }`, { "content-type": json }), {
        retry: resty(0),
        endpoints: { "PUT /set-reset-multipart-readers-test": { retry: resty(2) } }
      })
      const failure = failureOf(yield* h.run(h.api.put("/set-reset-multipart-readers-test", { body: multipart() })))
      expect(failure).toMatchObject({ _tag: "ServerError", status: 500, attempts: 3 })
      for (const s of h.seen) expect(s.body).toContain("\r\n\r\ntest\r\n")
    }))

  describe("TestParseRetryAfterHeader", () => {
    // resty's table, read over HTTP: a 503 with the header, then 200; `now` is Fri, 31 Dec 1999 23:59:57 GMT in
    // resty, a whole second of the TestClock here
    const cases: ReadonlyArray<readonly [name: string, header: (now: number) => string, sleep: number | undefined]> = [
      ["seconds", () => "2", 2000],
      ["date", (now) => new Date(now + 2000).toUTCString(), 2000],
      ["past-date", (now) => new Date(now - 57_000).toUTCString(), 0],
      ["two-headers", () => "3", 3000],
      ["empty", () => "", undefined],
      ["negative", () => "-2", undefined],
      ["bad-date", () => "Fri, 32 Dec 1999 23:59:59 GMT", undefined],
      ["bad-date-format", () => "badbadbad", undefined]
    ]
    for (const [name, header, sleep] of cases) {
      it.scoped(name, () =>
        Effect.gen(function*() {
          let now = 0
          const h = yield* setup(
            sequence((_, response) => send(response, 503, { "retry-after": header(now) }), status(200, "ok")),
            { retry: { ...resty(1), baseDelay: "10 millis", maxDelay: "10 millis", jitter: "none" } }
          )
          // align the TestClock to a whole second, as HTTP-dates are
          const millis = yield* TestClock.currentTimeMillis
          yield* TestClock.adjust(1000 - (millis % 1000))
          now = yield* TestClock.currentTimeMillis
          expect(textOf(yield* h.run(h.api.get("/")))).toBe("ok")
          // ok=false: the header is not a valid hint and the backoff (10 ms here) applies
          expect(h.decisions.map((d) => [d.reason, Duration.toMillis(d.delay)])).toEqual([
            sleep === undefined ? ["backoff", 10] : ["retry-after", sleep]
          ])
          expect(gaps(h)).toEqual([sleep ?? 10])
        }))
    }
  })

  it.scoped("TestRequestRetryTooManyRequestsHeaderRetryAfter", () =>
    Effect.gen(function*() {
      // `/retry-after-delay`: 429 with `Retry-After: 1`, then 200 hello
      const h = yield* setup(
        sequence(
          status(429, `{ "message": "too many" }`, { "content-type": json, "retry-after": "1" }),
          status(200, `{ "message": "hello" }`, { "content-type": json })
        ),
        { endpoints: { "GET /retry-after-delay": { retry: resty(2) } } }
      )
      const exit = yield* h.run(h.api.get("/retry-after-delay", { schema: AuthSuccess }))
      expect(exit).toEqual(Exit.succeed({ message: "hello" }))
      expect(h.decisions.map((d) => d.reason)).toEqual(["retry-after"])
      expect(gaps(h)).toEqual([1000])
    }))

  describe("TestRetryDefaultConditions", () => {
    it.scoped("redirect error", () =>
      Effect.gen(function*() {
        // `/redirect-n` redirects to `/redirect-(n+1)`: "stopped after 10 redirects", not retried
        const h = yield* setup(
          (request, response) =>
            send(response, 307, { location: `/redirect-${Number(request.path.slice("/redirect-".length)) + 1}` }),
          { retry: resty(2) },
          { client: { transformClient: Redirect.follow({ maxRedirects: 10 }) } }
        )
        const failure = failureOf(yield* h.run(h.api.get("/redirect-1")))
        expect(failure).toMatchObject({ _tag: "RedirectFailed", reason: "TooMany" })
        expect(h.decisions.map((d) => [d.reason, d.retrying])).toEqual([["not-retryable", false]])
        expect(h.seen.map((s) => s.path).at(-1)).toBe("/redirect-11")
        expect(h.seen.length).toBe(11)
      }))

    it.scoped("invalid scheme error", () =>
      Effect.gen(function*() {
        const h = yield* setup(getRoot, { retry: resty(2) })
        const failure = failureOf(yield* h.run(h.api.get(`${h.url.replace("http", "ftp")}/`)))
        expect(failure).toMatchObject({ _tag: "InvalidRequest", reason: "MalformedUrl" })
        expect(h.decisions.map((d) => d.retrying)).toEqual([false])
        expect(h.seen.length).toBe(0)
      }))

    it.scoped("invalid header error", () =>
      Effect.gen(function*() {
        const h = yield* setup(getRoot, { retry: resty(2) })
        const value = failureOf(yield* h.run(h.api.get("/", { headers: { "Header-Name": "bad header value \x1b" } })))
        expect(value).toMatchObject({ _tag: "InvalidRequest", reason: "InvalidHeader" })
        const name = failureOf(yield* h.run(h.api.get("/", { headers: { "Header-Name\x1b": "bad header value" } })))
        expect(name).toMatchObject({ _tag: "InvalidRequest", reason: "InvalidHeader" })
        expect(h.decisions.filter((d) => d.retrying)).toEqual([])
        expect(h.seen.length).toBe(0)
      }))
  })

  it.scoped("TestRequestRetryPutIoReadSeekerForBuffer", () =>
    Effect.gen(function*() {
      // a PUT of "body content", retried on >= 500 three times: every attempt carries the whole body
      const h = yield* setup(status(500), {
        retry: { ...resty(3), methods: ["PUT", "POST"], retryOn: { ServerError: (e) => e.status > 499 } }
      })
      const body = HttpBody.text("body content")
      const failure = failureOf(yield* h.run(h.api.put("/", { body })))
      expect(failure).toMatchObject({ _tag: "ServerError", status: 500, bodyExcerpt: "", attempts: 4 })
      expect(h.seen.map((s) => s.body)).toEqual(Array(4).fill("body content"))
    }))

  it.scoped("TestRequestRetryPostIoReadSeeker", () =>
    Effect.gen(function*() {
      // the client does not allow a POST to repeat, the request does: an `Idempotency-Key` on it
      const h = yield* setup(status(500), { retry: { ...resty(3), retryOn: { ServerError: (e) => e.status > 499 } } })
      const body = HttpBody.uint8Array(new TextEncoder().encode("body content"))
      const failure = failureOf(yield* h.run(h.api.post("/", { body, headers: { "idempotency-key": "k1" } })))
      expect(failure).toMatchObject({ _tag: "ServerError", status: 500, attempts: 4 })
      expect(h.seen.map((s) => s.body)).toEqual(Array(4).fill("body content"))
      // without it, the client's setting holds: one attempt
      const plain = yield* setup(status(500), { retry: { ...resty(3), retryOn: { ServerError: () => true } } })
      expect(failureOf(yield* plain.run(plain.api.post("/", { body })))).toMatchObject({ status: 500 })
      expect(plain.seen.length).toBe(1)
    }))

  it.scoped("TestRequestRetryHooks", () =>
    Effect.gen(function*() {
      // the client's hooks and the request's: in resty the request's SetRetryHooks replaces them all; Sturdy's
      // per-call hook runs as well as the policy's (the harness's), each once per retry
      const h = yield* setup(status(500), { retry: { ...resty(1), retryOn: always } })
      const requestHook: Array<number> = []
      const exit = yield* h.run(h.api.get("/set-retrycount-test", {
        onEvent: (event) =>
          Effect.sync(() => {
            if (event._tag === "RetryDecision" && event.retrying) requestHook.push(event.attempt)
          })
      }))
      expect(failureOf(exit)).toMatchObject({ status: 500, attempts: 2 })
      expect(requestHook).toEqual([2])
      expect(h.decisions.filter((d) => d.retrying).map((d) => d.attempt)).toEqual([2])
    }))

  it.scoped("TestRequestSetRetryConditions", () =>
    Effect.gen(function*() {
      // the client's conditions retry, the request's SetRetryConditions (false) replaces them: one attempt
      const h = yield* setup(status(500), {
        retry: { ...resty(2), retryOn: always },
        endpoints: { "GET /set-retrycount-test": { retry: { ...resty(2), retryOn: () => false } } }
      })
      expect(failureOf(yield* h.run(h.api.get("/set-retrycount-test")))).toMatchObject({ status: 500 })
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("TestRequestRetryQueryParamsGH938", () =>
    Effect.gen(function*() {
      // repeated query values are sent as they are on every retry, never appended again
      const h = yield* setup(status(500), { retry: { ...resty(5, 10, 20), retryOn: always } })
      const exit = yield* h.run(h.api.get("/set-retrycount-test", {
        urlParams: [["foo", "baz"], ["foo", "bar"], [
          "foo",
          "bar"
        ]]
      }))
      expect(failureOf(exit)).toMatchObject({ attempts: 6 })
      expect(h.seen.map((s) => s.path)).toEqual(Array(6).fill("/set-retrycount-test?foo=baz&foo=bar&foo=bar"))
    }))

  it.scoped("TestRetryConstantDelayStrategyReturnsGivenDelay", () =>
    Effect.gen(function*() {
      // RetryConstantDelayStrategy(250ms) returns 250 ms: every retry waits it (under resty's default max of 2 s)
      const h = yield* setup(status(500), { retry: { ...resty(2), delay: () => "250 millis" } })
      expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ attempts: 3 })
      expect(gaps(h)).toEqual([250, 250])
    }))

  it.scoped("TestRetryConstantDelayStrategyZeroAndNegative", () =>
    Effect.gen(function*() {
      // zero: no wait; negative: resty's strategy returns it as is (and its clamp makes it the max wait); Sturdy reads
      // a negative delay as no wait (`Backoff.fromDelay`'s rule)
      for (const delay of [0, -5000]) {
        const h = yield* setup(status(500), { retry: { ...resty(2), delay: () => delay } })
        expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ attempts: 3 })
        expect(gaps(h)).toEqual([0, 0])
      }
    }))

  it.scoped("TestRetryConstantDelayUsingMinAndMaxWaitTime", () =>
    Effect.gen(function*() {
      // min = max = 20 ms, 10 retries: resty waits 20 ms each time (its clamp undoes the jitter); Sturdy's equal
      // jitter only shortens, so each wait is within [10, 20] ms
      const h = yield* setup(retryWaitTimeTest, { retry: { ...resty(10, 20, 20), retryOn: always } })
      expect(failureOf(yield* h.run(h.api.get("/set-retrywaittime-test")))).toMatchObject({ attempts: 11 })
      expect(gaps(h).length).toBe(10)
      for (const gap of gaps(h)) {
        expect(gap).toBeGreaterThanOrEqual(10)
        expect(gap).toBeLessThanOrEqual(20)
      }
    }))

  it.scoped("TestRetryConstantDelayUsingStrategy", () =>
    Effect.gen(function*() {
      // the request's RetryConstantDelayStrategy(20ms), 10 retries: every wait is 20 ms (resty's default min of
      // 100 ms raises it; Sturdy has no floor)
      const h = yield* setup(retryWaitTimeTest, {
        retry: { ...resty(10), retryOn: always },
        endpoints: { "GET /set-retrywaittime-test": { retry: { ...resty(10), retryOn: always, delay: () => 20 } } }
      })
      expect(failureOf(yield* h.run(h.api.get("/set-retrywaittime-test")))).toMatchObject({ attempts: 11 })
      expect(gaps(h)).toEqual(Array(10).fill(20))
    }))

  it.scoped("TestRetryCoverage/mock tls cert error", () =>
    Effect.gen(function*() {
      // a certificate the client does not trust: not retried
      const h = yield* setup(getRoot, { retry: resty(2) }, { tls: loopbackTls })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(failure).toMatchObject({ _tag: "ConnectionError", reason: "Tls" })
      expect(h.decisions.map((d) => d.retrying)).toEqual([false])
      expect(h.seen.length).toBe(0)
    }))
})

describe("go-resty/resty request_test.go (e7bb2cd)", () => {
  it.scoped("TestRequestNegativeRetryCount", () =>
    Effect.gen(function*() {
      // resty clamps SetRetryCount(-1) to no retries and the GET succeeds; Sturdy refuses a count below one attempt
      const refused = failureOf(yield* Effect.exit(Policy.make({ retry: { maxAttempts: 0 } })))
      expect(refused).toMatchObject({ _tag: "InvalidPolicy", field: "retry.maxAttempts" })
      const h = yield* setup(getRoot, { retry: resty(0) })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe("TestGet: text response")
    }))

  it.scoped("TestRequestNoRetryOnNonIdempotentMethod", () =>
    Effect.gen(function*() {
      // a multipart POST with the request's SetRetryCount(3), answered 500: a POST is not repeated (one attempt)
      const h = yield* setup(status(500, `{ "message": "error" }`, { "content-type": json }), {
        endpoints: { "POST /set-reset-multipart-readers-test": { retry: resty(3) } }
      })
      const failure = failureOf(yield* h.run(h.api.post("/set-reset-multipart-readers-test", { body: multipart() })))
      expect(failure).toMatchObject({ _tag: "ServerError", status: 500 })
      expect(h.seen.length).toBe(1)
      expect(h.decisions.map((d) => d.retrying)).toEqual([false])
    }))
})

describe("go-resty/resty retry_body_test.go", () => {
  it.scoped("TestRetryReusesEncodedRequestBody", () =>
    Effect.gen(function*() {
      // a JSON POST allowed to repeat, 500 twice then 200: three attempts, the body encoded once
      let encodes = 0
      const Payload = Schema.Struct({ value: Schema.String })
      const Counted = Schema.transform(Payload, Payload, {
        strict: true,
        decode: (p) => p,
        encode: (p) => {
          encodes++
          return p
        }
      })
      const h = yield* setup(sequence(status(500), status(500), status(200)), {
        retry: { ...resty(2), methods: ["POST"], retryOn: { ServerError: (e) => e.status >= 500 } }
      })
      const exit = yield* h.run(h.api.post("/", { body: { value: "test" }, bodySchema: Counted }))
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(h.seen.length).toBe(3)
      expect(h.seen.map((s) => s.body)).toEqual(Array(3).fill(`{"value":"test"}`))
      expect(encodes).toBe(1)
    }))
})

describe("go-resty/resty retry_clamp_test.go", () => {
  it.scoped("TestClampNegativeRetrySettings", () =>
    Effect.gen(function*() {
      // resty clamps a negative count and waits to 0; Sturdy refuses them, naming each field
      const exit = yield* Effect.exit(
        Policy.make({ retry: { maxAttempts: -3 + 1, baseDelay: -1000, maxDelay: -1000 } })
      )
      const failure = failureOf(exit)
      expect(failure).toMatchObject({ _tag: "InvalidPolicy" })
      const fields = (failure as Policy.InvalidPolicy).problems.map((p) => p.field)
      expect(fields).toEqual(expect.arrayContaining(["retry.maxAttempts", "retry.baseDelay", "retry.maxDelay"]))
      // per request (an endpoint's retry): the same
      const endpoint = failureOf(
        yield* Effect.exit(Policy.make({ endpoints: { "GET /": { retry: { maxAttempts: 0, baseDelay: -1 } } } }))
      )
      expect((endpoint as Policy.InvalidPolicy).problems.map((p) => p.field).join(" ")).toMatch(/maxAttempts/)
    }))
})
