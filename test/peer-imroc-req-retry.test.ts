/**
 * imroc/req's retry tests, ported to Sturdy's public API over a real node:http server on 127.0.0.1
 * (`test/utils/retryHarness.ts`, every wait on the TestClock). Source: imroc/req (v3) at
 * 5197ba77c8f023ee5296c5b8cc9243123aebe515: `retry_test.go`, the retry cases of `client_test.go`
 * (`TestRetryCancelledContext`) and of `request_test.go` (`TestSetFileWithRetry`); the test server's handlers
 * (`/too-many`, `/header`, `/protected`, `/file-text`) are `req_test.go`'s, reproduced here. The delays the interval
 * setters give, as pure sequences, are in `packages/policy/test/peer-imroc-req-Backoff.test.ts`. One `it` per Go test.
 *
 * Mapping (`retry.go`, `request.go`'s `shouldRetry` / `prepareRetry`): `SetCommonRetryCount(n)` /
 * `SetRetryCount(n)` is `retry.maxAttempts: n + 1`; `SetCommonRetryBackoffInterval(min, max)` is `retry.baseDelay` /
 * `retry.maxDelay` with `jitter: "equal"` (req waits `t/2 + rand(t/2)`, `t = min(max, min × 2ⁿ)`);
 * `SetCommonRetryFixedInterval(d)` and `SetCommonRetryInterval(f)` are `retry.delay` (req's default interval, a fixed
 * 100 ms, is `delay: () => 100`); `SetCommonRetryCondition` / `AddCommonRetryCondition` (conditions OR'ed) is
 * `retry.retryOn` (one predicate); `SetCommonRetryHook` / `AddCommonRetryHook` is a `RetryDecision` event with
 * `retrying: true` (the policy's `onEvent`, or a call's own); a request's own `SetRetry*` is an `endpoints` override
 * for its method and path; `SetTimeout` is `attemptTimeout`; an `OnBeforeRequest` middleware is a `transformClient`;
 * `OnAfterResponse` reading `GetRetryOption()` is the `AttemptEnded` / `RetryDecision` events; `resp.Request.RetryAttempt`
 * is the failure's `attempts` − 1, or the requests the server saw − 1. req's `err != nil` (a transport failure)
 * is a failure without a status.
 *
 * Deliberate differences (each test says which): req returns the last response, with no error, when retries end;
 * Sturdy fails with it (`RateLimited` for a 429, carrying the status and `attempts`). req's first backoff retry waits
 * within `[min, 2 × min)`; Sturdy's first retry waits at most `baseDelay`, and jitter only shortens a delay. req
 * refuses to send at all a retryable request whose body is an `io.Reader` (`errRetryableWithUnReplayableBody`);
 * Sturdy sends a stream body once and never repeats it. req retries any method; Sturdy repeats a POST only when
 * `retry.methods` lists it or it carries an `Idempotency-Key`. A request's `SetRetryHook` replaces the client's hooks
 * in req; Sturdy's per-call `onEvent` runs as well as the policy's. A retry hook cannot change the next attempt's
 * request in Sturdy (`resp.Request.SetBearerAuthToken`, `SetQueryParam`): the attempt's client (`transformClient`)
 * does, reading the attempt's number from `retryCountHeader`. req skips its conditions once the count is spent
 * (`SetRetryCount(0)` never asks them); Sturdy asks `retryOn` before the attempt limit (`Retry`'s documented order,
 * for the decision's reason), so retry off is `retry: false`. req's `TestRetryFalse` and
 * `TestGetRetryOptionInMiddlewareTransportError` call an unresolvable host; here the connections fail as a failed
 * DNS lookup does (`connectFailures`), since nothing but 127.0.0.1 is reachable.
 *
 * Not ported: `TestGetRetryOptionNilWhenNotConfigured`, `TestGetRetryOptionFromRequest`, `...FromClient` and
 * `...RequestOverridesClient` (Go accessors of the option struct: no behaviour; a Sturdy `Policy` is immutable);
 * `TestMultipartReaderCannotBeRetried` and `TestMultipartFileRetryReplaysFromDisk` (req's streamed multipart
 * internals: Sturdy's multipart body is a `FormData`, replayable, and the read-once body is
 * `TestRetryWithUnreplayableBody`'s stream); `TestClientClone`'s retry count (cloning, no retry behaviour).
 */
import { HttpBody, HttpClient, HttpClientError, HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { type HttpFailure, Policy } from "@sturdy/http"
import { Effect, Exit, Schema, Stream } from "effect"
import {
  connectErrors,
  delays,
  expectInterruptedUnsent,
  failureOf,
  gaps,
  type Handler,
  send,
  setup,
  statusOf,
  textOf
} from "./utils/retryHarness.js"

const json = "application/json; charset=utf-8"

/** req_test.go's `/too-many`: 429 with `{"errMsg":"too many requests"}` */
const tooMany: Handler = (_, response) =>
  send(response, 429, { "content-type": json }, `{"errMsg":"too many requests"}`)
/** `/header`: the request's headers as JSON */
const headerEcho: Handler = (request, response) =>
  send(response, 200, { "content-type": json }, JSON.stringify(request.headers))
/** `/protected`: "good" for `Bearer goodtoken`, else 401 "bad" */
const protectedPath: Handler = (request, response) =>
  request.headers.authorization === "Bearer goodtoken"
    ? send(response, 200, {}, "good")
    : send(response, 401, {}, "bad")
/** `/` of the test server: "TestGet: text response" */
const root: Handler = (_, response) => send(response, 200, {}, "TestGet: text response")

/** req's `err != nil`: a failure of the transport, which has no status */
const isTransport = (failure: unknown) => statusOf(failure) === undefined
/** testRetry's condition: `err != nil || resp.StatusCode == 429` */
const errOr = (status: number) => (failure: unknown) => isTransport(failure) || statusOf(failure) === status

const retrying = (h: { readonly decisions: ReadonlyArray<{ readonly retrying: boolean }> }) =>
  h.decisions.filter((d) => d.retrying).length

/** a call-level hook: counts the retries it is told of (req's `SetRetryHook` / `AddRetryHook`) */
const hook = (onRetry: () => void) => ({
  onEvent: (event: Policy.Event) =>
    Effect.sync(() => {
      if (event._tag === "RetryDecision" && event.retrying) onRetry()
    })
})

/**
 * testRetry: SetRetryCount(3), condition `err || 429`, a hook counting retries, GET `/too-many` (always 429), with
 * the interval `retry` gives: req returns the 429 with RetryAttempt 3 and no error; Sturdy fails with it, after 4
 * attempts, and the hook ran 3 times
 */
const testRetry = (retry: Policy.RetryOptions, extraHook?: () => void) =>
  Effect.gen(function*() {
    const h = yield* setup(tooMany, { retry: { maxAttempts: 4, retryOn: errOr(429), ...retry } })
    let attempt = 0
    const failure = failureOf(
      yield* h.run(h.api.get(
        "/too-many",
        hook(() => {
          attempt++
          extraHook?.()
        })
      ))
    )
    expect(failure).toMatchObject({ _tag: "RateLimited", status: 429 })
    expect(Policy.attemptsOf(failure)).toBe(4)
    expect(h.seen.length).toBe(4)
    expect(attempt).toBe(3)
    return h
  })

describe("imroc/req retry_test.go", () => {
  it.scoped("TestRetryBackOff", () =>
    Effect.gen(function*() {
      // SetRetryBackoffInterval(10ms, 1s): req waits within [t/2, t), t = min(1 s, 10 ms × 2ⁿ) for retry n = 1, 2, 3
      // (20, 40, 80 ms); Sturdy's first retry's envelope is baseDelay: t = 10, 20, 40 ms, within [t/2, t]
      const h = yield* testRetry({ baseDelay: "10 millis", maxDelay: "1 second", jitter: "equal" })
      const envelope = [10, 20, 40]
      expect(gaps(h).length).toBe(3)
      gaps(h).forEach((gap, n) => {
        expect(gap).toBeGreaterThanOrEqual(envelope[n]! / 2)
        expect(gap).toBeLessThanOrEqual(envelope[n]!)
      })
    }))

  it.scoped("TestRetryInterval", () =>
    Effect.gen(function*() {
      // req's function: time.Duration(math.Min(2, 0.01 × 2^attempt)) × time.Second. Go truncates the float to an
      // integer before multiplying, so 0.02, 0.04 and 0.08 are 0: three retries back to back
      const h = yield* testRetry({
        delay: (attempt) => Math.trunc(Math.min(2, 0.01 * 2 ** attempt)) * 1000
      })
      expect(delays(h)).toEqual([0, 0, 0])
      expect(gaps(h)).toEqual([0, 0, 0])
    }))

  it.scoped("TestRetryFixedInterval", () =>
    Effect.gen(function*() {
      // SetRetryFixedInterval(1ms)
      const h = yield* testRetry({ delay: () => 1 })
      expect(gaps(h)).toEqual([1, 1, 1])
    }))

  it.scoped("TestAddRetryHook", () =>
    Effect.gen(function*() {
      // AddRetryHook adds a hook to SetRetryHook's: both run before each retry. req's default interval (100 ms)
      let test = "test1"
      let added = 0
      const h = yield* testRetry({ delay: () => 100 }, () => {
        test = "test2"
        added++
      })
      expect(test).toBe("test2")
      expect(added).toBe(3)
      // the policy's hook (the harness's) saw the same three retries
      expect(retrying(h)).toBe(3)
      expect(gaps(h)).toEqual([100, 100, 100])
    }))

  it.scoped("TestRetryOverride", () =>
    Effect.gen(function*() {
      // the client: 3 retries, backoff 1..10 ms, a condition that never retries; the request: 2 retries, a fixed
      // 2 ms, condition `err || 429`, its own hook. The request's settings win (an endpoint override)
      const h = yield* setup(tooMany, {
        retry: { maxAttempts: 4, baseDelay: "1 millis", maxDelay: "10 millis", jitter: "equal", retryOn: () => false },
        endpoints: { "GET /too-many": { retry: { maxAttempts: 3, delay: () => 2, retryOn: errOr(429) } } }
      })
      let test = "test"
      const failure = failureOf(yield* h.run(h.api.get("/too-many", hook(() => test = "test1"))))
      expect(test).toBe("test1")
      expect(failure).toMatchObject({ _tag: "RateLimited", status: 429 })
      // RetryAttempt 2: three requests
      expect(Policy.attemptsOf(failure)).toBe(3)
      expect(gaps(h)).toEqual([2, 2])
      // req's request hook replaces the client's; Sturdy's policy-wide hook (the harness's) still runs
      expect(retrying(h)).toBe(2)
    }))

  it.scoped("TestAddRetryCondition", () =>
    Effect.gen(function*() {
      // two conditions, OR'ed: `err != nil`, `status == 503`; a 429 meets neither: no retry, on the request
      // (an endpoint override) and on the client
      const condition = (failure: HttpFailure.HttpFailure) => isTransport(failure) || statusOf(failure) === 503
      const onRequest = yield* setup(tooMany, {
        endpoints: { "GET /too-many": { retry: { maxAttempts: 4, retryOn: condition } } }
      })
      let attempt = 0
      const first = failureOf(yield* onRequest.run(onRequest.api.get("/too-many", hook(() => attempt++))))
      expect(first).toMatchObject({ _tag: "RateLimited", status: 429 })
      expect(attempt).toBe(0)
      expect(onRequest.seen.length).toBe(1)

      attempt = 0
      const onClient = yield* setup(tooMany, { retry: { maxAttempts: 4, retryOn: condition } })
      const second = failureOf(yield* onClient.run(onClient.api.get("/too-many", hook(() => attempt++))))
      expect(second).toMatchObject({ _tag: "RateLimited", status: 429 })
      expect(attempt).toBe(0)
      expect(onClient.seen.length).toBe(1)
      expect(onClient.decisions.map((d) => [d.retrying, d.reason])).toEqual([[false, "not-retryable"]])
    }))

  it.scoped("TestRetryWithUnreplayableBody", () =>
    Effect.gen(function*() {
      // SetRetryCount(1) with a bytes.Buffer body, then an io.NopCloser of one: req refuses to send either
      // (errRetryableWithUnReplayableBody). Sturdy sends a body it can read only once and never repeats it: one
      // attempt, and the server's failure (POST listed in `retry.methods`, so the body alone decides)
      const h = yield* setup((_, response) => send(response, 503), { retry: { maxAttempts: 2, methods: ["POST"] } })
      const buffer = HttpBody.stream(Stream.make(new TextEncoder().encode("test")), "text/plain")
      expect(failureOf(yield* h.run(h.api.post("/", { body: buffer })))).toMatchObject({
        _tag: "ServerError",
        status: 503
      })
      const nopCloser = HttpBody.stream(
        Stream.fromReadableStream({
          evaluate: () => new Blob(["test"]).stream(),
          onError: (error) => new Error(String(error))
        }),
        "text/plain"
      )
      expect(failureOf(yield* h.run(h.api.post("/", { body: nopCloser })))).toMatchObject({ status: 503 })
      expect(h.seen.map((s) => s.body)).toEqual(["test", "test"])
      expect(retrying(h)).toBe(0)
    }))

  it.scoped("TestRetryWithSetResult", () =>
    Effect.gen(function*() {
      // a common cookie, SetRetryCount(1), the result decoded from `/header`: one attempt, decoded
      const h = yield* setup(headerEcho, { retry: { maxAttempts: 2 } })
      const Headers = Schema.Struct({ cookie: Schema.String })
      const exit = yield* h.run(h.api.get("/header", { headers: { cookie: "test=test" }, schema: Headers }))
      expect(Exit.isSuccess(exit) && exit.value.cookie).toBe("test=test")
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("TestRetryWithModify", () =>
    Effect.gen(function*() {
      // the hook switches to the next token before each retry; 2 retries, condition `err || 401`. In Sturdy the
      // attempt's client sets the token, from the attempt's number (`retryCountHeader`)
      const tokens = ["badtoken1", "badtoken2", "goodtoken"]
      const h = yield* setup(protectedPath, {
        retryCountHeader: true,
        retry: { maxAttempts: 3, delay: () => 100, retryOn: errOr(401) }
      }, {
        client: {
          transformClient: HttpClient.mapRequest((request) => {
            const n = Number(request.headers["x-retry-count"] ?? "0")
            return HttpClientRequest.bearerToken(request, tokens[n]!)
          })
        }
      })
      expect(textOf(yield* h.run(h.api.get("/protected")))).toBe("good")
      expect(h.seen.map((s) => s.headers.authorization)).toEqual(tokens.map((t) => `Bearer ${t}`))
      expect(retrying(h)).toBe(2)
    }))
})

/**
 * an `OnBeforeRequest` middleware that fails while `fails()` says so, with req's error (`errors.New(message)`) as
 * the cause of the platform's `RequestError`: Sturdy classifies it as a `ConnectionError` ("Unknown") whose
 * `cause.message` is the middleware's
 */
const beforeRequest = (fails: () => boolean, message: string) => (client: HttpClient.HttpClient) =>
  HttpClient.mapRequestEffect(client, (request) =>
    fails()
      ? Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause: new Error(message) }))
      : Effect.succeed(request))

const causeMessage = (failure: unknown) =>
  (failure as { readonly cause?: { readonly message?: string } }).cause?.message

describe("imroc/req retry_test.go: before-request errors", () => {
  it.scoped("TestRetryOnBeforeRequestError", () =>
    Effect.gen(function*() {
      // the middleware fails twice; SetRetryCount(2), a fixed 1 ms, a condition on the middleware's error
      let failCount = 0
      let retryHookCount = 0
      const h = yield* setup(root, {
        retry: {
          maxAttempts: 3,
          delay: () => 1,
          retryOn: (failure) => causeMessage(failure) === "temporary before-request error"
        }
      }, { client: { transformClient: beforeRequest(() => ++failCount < 3, "temporary before-request error") } })
      const exit = yield* h.run(h.api.get("/", hook(() => retryHookCount++)))
      expect(textOf(exit)).toBe("TestGet: text response")
      expect(retryHookCount).toBe(2)
      expect(failCount).toBe(3)
      // RetryAttempt 2: the third attempt is the one that left the client
      expect(h.seen.length).toBe(1)
      expect(gaps(h)).toEqual([])
      expect(delays(h)).toEqual([1, 1])
    }))

  it.scoped("TestRetryConditionHasRequestOnBeforeRequestError", () =>
    Effect.gen(function*() {
      // SetRetryCount(0), a condition that checks resp.Request (RawURL "/header", GET) and answers false; the error
      // comes back with the request. req never calls the condition here (shouldRetry stops at RetryAttempt >=
      // MaxRetries first); Sturdy's retry stage asks `retryOn` first and the attempt limit second (`Retry`'s documented
      // order, so that the decision's reason says "not-retryable"), so with `maxAttempts: 1` it is asked, once, and
      // sees the failure's method and URL
      const asked: Array<unknown> = []
      const h = yield* setup(headerEcho, {
        retry: {
          maxAttempts: 1,
          retryOn: (failure) => {
            asked.push(failure)
            return false
          }
        }
      }, { client: { transformClient: beforeRequest(() => true, "before-request error") } })
      const failure = failureOf(yield* h.run(h.api.get("/header")))
      expect(failure).toMatchObject({ _tag: "ConnectionError", method: "GET", url: `${h.url}/header` })
      expect(causeMessage(failure)).toBe("before-request error")
      expect(asked).toHaveLength(1)
      expect(asked[0]).toMatchObject({ _tag: "ConnectionError", method: "GET", url: `${h.url}/header` })
      expect(h.decisions.map((d) => [d.retrying, d.reason])).toEqual([[false, "not-retryable"]])
      expect(h.seen.length).toBe(0)
    }))

  it.scoped("TestNoRetryOnBeforeRequestErrorWhenConditionFalse", () =>
    Effect.gen(function*() {
      // SetRetryCount(3), a condition that never retries: one attempt, RetryAttempt 0
      let calls = 0
      const h = yield* setup(root, { retry: { maxAttempts: 4, retryOn: () => false } }, {
        client: {
          transformClient: beforeRequest(() => {
            calls++
            return true
          }, "not retryable")
        }
      })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(failure).toMatchObject({ _tag: "ConnectionError" })
      expect(Policy.attemptsOf(failure)).toBe(1)
      expect(calls).toBe(1)
      expect(h.decisions.map((d) => [d.retrying, d.reason])).toEqual([[false, "not-retryable"]])
    }))
})

describe("imroc/req retry_test.go: retry off, and what middleware sees", () => {
  it.scoped("TestRetryFalse", () =>
    Effect.gen(function*() {
      // SetTimeout(2s), SetRetryCount(1), a condition that never retries, a host that does not resolve: the error,
      // no response, RetryAttempt 0
      const h = yield* setup(root, { attemptTimeout: "2 seconds", retry: { maxAttempts: 2, retryOn: () => false } }, {
        connectFailures: connectErrors(2, "ENOTFOUND", "getaddrinfo")
      })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(failure).toMatchObject({ _tag: "ConnectionError", reason: "DnsLookup" })
      expect(Policy.attemptsOf(failure)).toBe(1)
      expect(statusOf(failure)).toBeUndefined()
      expect(h.decisions.map((d) => d.retrying)).toEqual([false])
    }))

  it.scoped("TestRetryTurnedOffWhenRetryCountEqZero", () =>
    Effect.gen(function*() {
      // SetRetryCount(0) on the request, then SetCommonRetryCount(0) on the client, a condition that must never be
      // asked, an unresolvable host: the error, RetryAttempt 0. Retry turned off is `retry: false` (on the endpoint,
      // then on the client): no retry stage, no condition asked. (`maxAttempts: 1` would ask `retryOn` once, to name
      // the decision's reason: see TestRetryConditionHasRequestOnBeforeRequestError)
      const never = () => {
        throw new Error("retry condition should not be executed")
      }
      const onRequest = yield* setup(root, {
        attemptTimeout: "2 seconds",
        retry: { retryOn: never },
        endpoints: { "GET /": { retry: false } }
      }, { connectFailures: connectErrors(1, "ENOTFOUND", "getaddrinfo") })
      const first = failureOf(yield* onRequest.run(onRequest.api.get("/")))
      expect(first).toMatchObject({ _tag: "ConnectionError", reason: "DnsLookup" })
      expect(onRequest.decisions).toEqual([])

      const onClient = yield* setup(root, { attemptTimeout: "2 seconds", retry: false }, {
        connectFailures: connectErrors(1, "ENOTFOUND", "getaddrinfo")
      })
      const second = failureOf(yield* onClient.run(onClient.api.get("/")))
      expect(second).toMatchObject({ _tag: "ConnectionError", reason: "DnsLookup" })
      expect(onClient.decisions).toEqual([])
      expect(onClient.seen.length).toBe(0)
    }))

  /**
   * req's #475 middleware: an OnAfterResponse hook that sees every attempt and reports a failure only when the retry
   * budget is exhausted (RetryAttempt >= MaxRetries). In Sturdy, `AttemptEnded` is each attempt and a
   * `RetryDecision` with `retrying: false` the end of retrying, with its reason ("exhausted" for the budget)
   */
  const middleware = () => {
    const attempts: Array<number> = []
    const reports: Array<string> = []
    const onEvent = (event: Policy.Event) =>
      Effect.sync(() => {
        if (event._tag === "AttemptEnded") attempts.push(event.attempt)
        if (event._tag === "RetryDecision" && !event.retrying && event.reason === "exhausted") reports.push(event.key)
      })
    return { attempts, reports, onEvent }
  }

  it.scoped("TestGetRetryOptionInMiddleware", () =>
    Effect.gen(function*() {
      // SetCommonRetryCount(2), a fixed 1 ms, condition `err || 429`, GET /too-many: 3 attempts seen, 1 report
      const seen = middleware()
      const h = yield* setup(tooMany, {
        onEvent: seen.onEvent,
        retry: { maxAttempts: 3, delay: () => 1, retryOn: errOr(429) }
      })
      const failure = failureOf(yield* h.run(h.api.get("/too-many")))
      expect(failure).toMatchObject({ _tag: "RateLimited", status: 429 })
      expect(Policy.attemptsOf(failure)).toBe(3)
      expect(seen.attempts).toEqual([1, 2, 3])
      expect(seen.reports.length).toBe(1)
    }))

  it.scoped("TestGetRetryOptionInMiddlewareTransportError", () =>
    Effect.gen(function*() {
      // SetTimeout(500ms), SetCommonRetryCount(1), a fixed 1 ms, the default condition (err != nil), an unresolvable
      // host: 2 attempts seen, 1 report, RetryAttempt 1
      const seen = middleware()
      const h = yield* setup(root, {
        onEvent: seen.onEvent,
        attemptTimeout: "500 millis",
        retry: { maxAttempts: 2, delay: () => 1 }
      }, {
        connectFailures: connectErrors(2, "ENOTFOUND", "getaddrinfo")
      })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(failure).toMatchObject({ _tag: "ConnectionError", reason: "DnsLookup" })
      expect(Policy.attemptsOf(failure)).toBe(2)
      expect(seen.attempts).toEqual([1, 2])
      expect(seen.reports.length).toBe(1)
    }))

  it.scoped("TestGetRetryOptionInMiddlewareNoReportOnEventualSuccess", () =>
    Effect.gen(function*() {
      // 503, 503, then 200 "ok"; SetCommonRetryCount(3), a fixed 1 ms, condition `err || 503`: no report
      const seen = middleware()
      const h = yield* setup(
        (_, response, count) => count <= 2 ? send(response, 503) : send(response, 200, {}, "ok"),
        { onEvent: seen.onEvent, retry: { maxAttempts: 4, delay: () => 1, retryOn: errOr(503) } }
      )
      expect(textOf(yield* h.run(h.api.get("/")))).toBe("ok")
      expect(seen.reports).toEqual([])
      expect(seen.attempts).toEqual([1, 2, 3])
      // RetryAttempt 2
      expect(h.seen.length).toBe(3)
      expect(gaps(h)).toEqual([1, 1])
    }))
})

describe("imroc/req client_test.go and request_test.go", () => {
  it.scoped("TestRetryCancelledContext", () =>
    Effect.gen(function*() {
      // SetCommonRetryCount(2), backoff 1..5 s, a context cancelled before the call: "context canceled", no retry.
      // A cancelled context is fiber interruption: interrupted at once, nothing sent, no retry decided
      const h = yield* setup(root, {
        retry: { maxAttempts: 3, baseDelay: "1 second", maxDelay: "5 seconds", jitter: "equal" }
      })
      yield* expectInterruptedUnsent(h)
    }))

  it.scoped("TestSetFileWithRetry", () =>
    Effect.gen(function*() {
      // a file part (sample-file.txt), POST /file-text, SetRetryCount(3), condition `err || status > 499`, a hook that
      // sets the query parameter `attempt` to RetryAttempt; the server answers 500 unless attempt is "2", and echoes
      // the file. The attempt's number is `retryCountHeader` here; req retries a POST, Sturdy when `retry.methods`
      // lists it. Every attempt sends the whole file again
      const fileText = "THIS IS A SAMPLE FILE\n"
      const h = yield* setup((request, response) => {
        const attempt = request.headers["x-retry-count"]
        const file = /\r\n\r\n([^]*?)\r\n--/.exec(request.body)?.[1] ?? ""
        send(response, attempt !== "2" ? 500 : 200, {}, file)
      }, {
        retryCountHeader: true,
        retry: {
          maxAttempts: 4,
          delay: () => 100,
          methods: ["POST"],
          retryOn: (failure) => isTransport(failure) || (statusOf(failure) ?? 0) > 499
        }
      })
      const form = new FormData()
      form.append("file", new Blob([fileText]), "sample-file.txt")
      const exit = yield* h.run(h.api.post("/file-text", { body: HttpBody.formData(form) }))
      expect(textOf(exit)).toBe(fileText)
      // RetryAttempt 2
      expect(h.seen.length).toBe(3)
      expect(h.seen.map((s) => s.headers["x-retry-count"])).toEqual(["0", "1", "2"])
      for (const s of h.seen) expect(s.body).toContain(`filename="sample-file.txt"\r\n`)
      for (const s of h.seen) expect(s.body).toContain(fileText)
    }))
})
