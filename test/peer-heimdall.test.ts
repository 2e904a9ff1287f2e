/**
 * gojek/heimdall's `httpclient/client_test.go` (commit ecba1e80c400d55c60eb9599117b04aca4e09bee), ported to Sturdy's
 * public API: `Policy.withPolicy` over `@sturdy/node`'s undici transport (and `SturdyClient` where a case needs a
 * per-call hook) against a real node:http server on 127.0.0.1 (`test/utils/retryHarness.ts`), every wait on the
 * TestClock. One `it` per Go test, named after it.
 *
 * Mapping: heimdall's `httpclient.Client` returns the last response of a 5xx with no error, as `Policy.withPolicy`
 * returns the last response when the policy gives up on a status; `client.Get/Post/...(url, body, headers)` is the
 * wrapped client's `get/post/...`; `WithHTTPTimeout(d)` (the `http.Client`'s timeout, per attempt) is
 * `attemptTimeout: d`; `WithRetryCount(n)` is `retry.maxAttempts: n + 1` (heimdall's default, 0, is `retry: false`);
 * `NewConstantBackoff(interval, maxJitter)` is `retry.delay: () => interval` (Sturdy's jitter does not apply to a
 * `delay` function; heimdall adds up to `maxJitter`); `WithRetryableStatusCodes(...)` is `retry.statuses` (with the
 * 5xx Sturdy retries by default); `WithRetryErrorBudgetToken(maxToken, ratio)` is a `RetryBudget` in context (see
 * that test); a plugin's `OnRequestStart` / `OnRequestEnd` / `OnError` are the `AttemptStarted` / `AttemptEnded`
 * events; a `context` deadline is `totalTimeout`, a cancelled one fiber interruption; a custom `Doer` is the client
 * under `withPolicy`.
 *
 * Deliberate differences (each test says which): heimdall retries a POST after a 5xx; Sturdy repeats a request that
 * may have reached the server only when it is safe to repeat or `retry.methods` lists its method. A backoff longer
 * than what is left of the deadline: heimdall sleeps until the context expires and answers `DeadlineExceeded`, Sturdy
 * does not start a wait that cannot end in time and answers the server's last response at once. heimdall's error
 * budget charges every failed attempt (the last one too) and is refilled by successes; Sturdy's `RetryBudget` charges
 * only the retries it grants. Once the budget refuses a retry, heimdall returns the 5xx response, `withPolicy` a
 * `RequestError` whose cause is `RetryBudgetExhausted` carrying the 500 (a policy rejection, documented as such).
 *
 * `hystrix/hystrix_client_test.go` (same commit): the same client with each attempt run as a hystrix-go command.
 * `WithHystrixTimeout(d)` (it wraps one attempt) is `attemptTimeout: d`; `WithErrorPercentThreshold(p)`,
 * `WithRequestVolumeThreshold(n)`, `WithSleepWindow(d)` are `circuitBreaker: { failureRateThreshold: p / 100,
 * minimumThroughput: n, breakDuration: d }`. Ported: the cases that differ from `httpclient`'s (5xx under a breaker,
 * POST on failure and on timeout, cancellation before the call and during a backoff, a streamed response body, a
 * large POST body replayed after timeouts). Not ported: the cases identical to `httpclient`'s ones above (Do/Get/
 * Post/Delete/Put/Patch success, RetriesGetOnFailure with a bad URL, RetriesWithBudgetGetOnFailure5xx,
 * RetriesOnSpecificStatusCodes, CustomHystrixHTTPClientDoSuccess); the five fallback cases (hystrix's
 * `FallbackFunc(err) error` only rewrites the error, which is Effect's own `catchAll`, not a Sturdy feature; Sturdy's
 * `Fallback` answers from another source; and they dial `foobar.example`, unreachable here); TestDurationToInt (a Go
 * helper); the metric-registry assertions of TestHystrixHTTPClientDoContextCancelled (hystrix-go's metrics: the port
 * asserts no attempt was reported). hystrix-go itself is ported in `packages/policy/test/peer-hystrix-go.test.ts`.
 *
 * Not ported from `httpclient`: the Benchmark* functions. `httpclient/options_test.go` (Go functional options) and the
 * top-level `backoff_test.go` / `retry_test.go` (heimdall's backoff arithmetic, not HTTP: constant and exponential
 * backoff are ported from other peers in `packages/policy/test/`) are not this file's subject.
 */
import { HttpClient, HttpClientRequest, type HttpClientResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Policy, SturdyClient } from "@sturdy/http"
import * as RetryBudget from "@sturdy/policy/RetryBudget"
import { Clock, Duration, Effect, Exit, Fiber } from "effect"
import { failureOf, type Handler, realPause, send, setup } from "./utils/retryHarness.js"

const ok = `{ "response": "ok" }`
const wrong = `{ "response": "something went wrong" }`
const requestBody = `{ "name": "heimdall" }`
const json = { "Content-Type": "application/json", "Accept-Language": "en" }

/** `NewConstantBackoff(interval, _)` with `WithRetryCount(retries)` and `WithHTTPTimeout(timeout)` */
const constant = (retries: number, interval: number, timeout = 10) => ({
  attemptTimeout: Duration.millis(timeout),
  retry: { maxAttempts: retries + 1, delay: () => Duration.millis(interval) }
})

const always = (status: number, body = ""): Handler => (_, response) => send(response, status, {}, body)

/** waits (in real time, a few ms at a time) until `done` holds */
const until = (done: () => boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 2000 && !done(); i++) yield* realPause
    expect(done()).toBe(true)
  })

/** the response's status and body, read */
const read = <E, R>(effect: Effect.Effect<HttpClientResponse.HttpClientResponse, E, R>) =>
  Effect.flatMap(effect, (response) => Effect.map(response.text, (text) => ({ status: response.status, text })))

describe("heimdall httpclient/client_test.go", () => {
  it.scoped("TestHTTPClientDoSuccess", () =>
    Effect.gen(function*() {
      const h = yield* setup(always(200, ok), { attemptTimeout: "10 millis", retry: false })
      const client = Policy.withPolicy(h.platform, h.policy)
      const exit = yield* h.run(
        read(client.execute(HttpClientRequest.get(h.url).pipe(HttpClientRequest.setHeaders(json))))
      )
      expect(exit).toStrictEqual(Exit.succeed({ status: 200, text: ok }))
      expect(h.seen).toHaveLength(1)
      expect(h.seen[0]).toMatchObject({
        method: "GET",
        headers: { "content-type": "application/json", "accept-language": "en" }
      })
    }))

  const verbs = [
    ["TestHTTPClientGetSuccess", "GET", false],
    ["TestHTTPClientPostSuccess", "POST", true],
    ["TestHTTPClientDeleteSuccess", "DELETE", false],
    ["TestHTTPClientPutSuccess", "PUT", true],
    ["TestHTTPClientPatchSuccess", "PATCH", true]
  ] as const
  for (const [name, method, withBody] of verbs) {
    it.scoped(name, () =>
      Effect.gen(function*() {
        const h = yield* setup(always(200, ok), { attemptTimeout: "10 millis", retry: false })
        const client = Policy.withPolicy(h.platform, h.policy)
        let request = HttpClientRequest.make(method)(h.url).pipe(HttpClientRequest.setHeaders(json))
        if (withBody) request = HttpClientRequest.bodyText(request, requestBody, "application/json")
        const exit = yield* h.run(read(client.execute(request)))
        expect(exit).toStrictEqual(Exit.succeed({ status: 200, text: ok }))
        expect(h.seen).toHaveLength(1)
        expect(h.seen[0]).toMatchObject({
          method,
          body: withBody ? requestBody : "",
          headers: { "content-type": "application/json", "accept-language": "en" }
        })
      }))
  }

  it.scoped("TestHTTPClientGetRetriesOnFailure", () =>
    Effect.gen(function*() {
      // 3 retries, a 1 ms constant backoff, the server always 500: 4 calls, then the last 500 comes back, no error
      const h = yield* setup(always(500, wrong), constant(3, 1))
      const client = Policy.withPolicy(h.platform, h.policy)
      const exit = yield* h.run(read(client.get(h.url)))
      expect(exit).toStrictEqual(Exit.succeed({ status: 500, text: wrong }))
      expect(h.seen).toHaveLength(4)
    }))

  it.scoped("TestHTTPClientPostRetriesOnFailure", () =>
    Effect.gen(function*() {
      // heimdall retries the POST after each 500 (4 calls). Sturdy deliberately does not repeat a POST that may have
      // reached the server: one call, its 500 back; with POST listed in `retry.methods`, heimdall's 4 calls
      const h = yield* setup(always(500, wrong), constant(3, 1))
      const client = Policy.withPolicy(h.platform, h.policy)
      const post = HttpClientRequest.post(h.url).pipe(HttpClientRequest.bodyText("a=1"))
      expect(yield* h.run(read(client.execute(post)))).toStrictEqual(Exit.succeed({ status: 500, text: wrong }))
      expect(h.seen).toHaveLength(1)

      const listed = yield* setup(always(500, wrong), {
        ...constant(3, 1),
        retry: { ...constant(3, 1).retry, methods: ["GET", "POST"] }
      })
      const retrying = Policy.withPolicy(listed.platform, listed.policy)
      const again = HttpClientRequest.post(listed.url).pipe(HttpClientRequest.bodyText("a=1"))
      expect(yield* listed.run(read(retrying.execute(again)))).toStrictEqual(Exit.succeed({ status: 500, text: wrong }))
      expect(listed.seen.map((s) => [s.method, s.body])).toEqual(Array(4).fill(["POST", "a=1"]))
    }))

  it.scoped("TestHTTPClientRetriesWithBudgetGetOnFailure5xx", () =>
    Effect.gen(function*() {
      // WithRetryCount(4), WithRetryErrorBudgetToken(100, 0.1): heimdall retries while its tokens (100, −1 per failed
      // attempt, +0.1 per success) stay at or above half (50). With the server always failing, 10 calls of 5 attempts
      // spend the 50 spare tokens (40 retries); every later call is sent once. Sturdy's budget counts granted retries
      // only: `minRetries: 40, ratio: 0` over a window longer than the test grants the same 40 retries
      const budget = RetryBudget.unsafeMake({ minRetries: 40, ratio: 0, window: "1 hour" })
      const h = yield* setup(always(500, wrong), {
        ...constant(4, 1),
        retry: { ...constant(4, 1).retry, budget: true }
      }).pipe(Effect.provideService(RetryBudget.RetryBudget, budget))
      const client = Policy.withPolicy(h.platform, h.policy)
      for (let attempt = 0; attempt < 10; attempt++) { // under budget
        const before = h.seen.length
        expect(yield* h.run(read(client.get(h.url)))).toStrictEqual(Exit.succeed({ status: 500, text: wrong }))
        expect([attempt, h.seen.length - before]).toEqual([attempt, 5])
      }
      for (let attempt = 0; attempt < 10; attempt++) { // over budget, no retry
        const before = h.seen.length
        const exit = yield* h.run(read(client.get(h.url)))
        expect([attempt, h.seen.length - before]).toEqual([attempt, 1])
        // heimdall returns the 500 response; withPolicy fails with the budget's rejection, which carries the 500
        const error = failureOf(exit)
        expect(error).toMatchObject({ _tag: "RequestError", reason: "Transport" })
        const cause = (error as { readonly cause: unknown }).cause
        expect(cause).toMatchObject({ _tag: "RetryBudgetExhausted", attempts: 1 })
        expect((cause as RetryBudget.RetryBudgetExhausted).failure).toMatchObject({ _tag: "ServerError", status: 500 })
      }
    }))

  it.scoped("TestHTTPClientGetReturnsNoErrorsIfRetriesFailWith5xx", () =>
    Effect.gen(function*() {
      const h = yield* setup(always(500, wrong), constant(2, 1))
      const client = Policy.withPolicy(h.platform, h.policy)
      expect(yield* h.run(read(client.get(h.url)))).toStrictEqual(Exit.succeed({ status: 500, text: wrong }))
      expect(h.seen).toHaveLength(3)
    }))

  it.scoped("TestHTTPClientGetReturnsNoErrorsIfRetrySucceeds", () =>
    Effect.gen(function*() {
      // 500, 500, then 200 on the third call
      const h = yield* setup(
        (_, response, n) =>
          n === 3 ? send(response, 200, {}, `{ "response": "success" }`) : send(response, 500, {}, wrong),
        constant(3, 1)
      )
      const client = Policy.withPolicy(h.platform, h.policy)
      const exit = yield* h.run(read(client.get(h.url)))
      expect(exit).toStrictEqual(Exit.succeed({ status: 200, text: `{ "response": "success" }` }))
      expect(h.seen).toHaveLength(3)
    }))

  it.scoped("TestHTTPClientGetReturnsErrorOnClientCallFailure", () =>
    Effect.gen(function*() {
      // an empty URL: an error, no response, nothing sent (Go: "unsupported protocol scheme")
      const h = yield* setup(always(200), { attemptTimeout: "10 millis", retry: false })
      const client = Policy.withPolicy(h.platform, h.policy)
      const error = failureOf(yield* h.run(client.get("")))
      expect(error).toMatchObject({ _tag: "RequestError", cause: { _tag: "InvalidRequest", reason: "MalformedUrl" } })
      expect(h.seen).toHaveLength(0)
    }))

  it.scoped("TestHTTPClientGetReturnsNoErrorOn5xxFailure", () =>
    Effect.gen(function*() {
      // no retry configured: the 500 comes back as a response, no error
      const h = yield* setup(always(500, wrong), { attemptTimeout: "10 millis", retry: false })
      const client = Policy.withPolicy(h.platform, h.policy)
      expect(yield* h.run(read(client.get(h.url)))).toStrictEqual(Exit.succeed({ status: 500, text: wrong }))
      expect(h.seen).toHaveLength(1)
    }))

  it.scoped("TestHTTPClientGetReturnsErrorOnFailure", () =>
    Effect.gen(function*() {
      const h = yield* setup(always(200), { attemptTimeout: "10 millis", retry: false })
      const client = Policy.withPolicy(h.platform, h.policy)
      const error = failureOf(yield* h.run(client.get("url_doenst_exist")))
      expect(error).toMatchObject({ _tag: "RequestError", cause: { _tag: "InvalidRequest", reason: "MalformedUrl" } })
      expect(h.seen).toHaveLength(0)
    }))

  it.scoped("TestPluginMethodsCalled", () =>
    Effect.gen(function*() {
      // OnRequestStart once (GET to the server's URL), OnRequestEnd once with the 200
      const h = yield* setup(always(200, wrong), { attemptTimeout: "10 millis", retry: false })
      const events: Array<Policy.Event> = []
      const exit = yield* h.run(h.api.get("/", { onEvent: (event) => Effect.sync(() => events.push(event)) }))
      expect(Exit.isSuccess(exit) && exit.value.status).toBe(200)
      const started = events.filter((e): e is Policy.AttemptStarted => e._tag === "AttemptStarted")
      const ended = events.filter((e): e is Policy.AttemptEnded => e._tag === "AttemptEnded")
      expect(started).toHaveLength(1)
      // the event names the upstream and the attempt; the request itself is the one the server saw
      expect(started[0]).toMatchObject({ key: h.url, attempt: 1 })
      expect(h.seen.map((s) => [s.method, s.path])).toEqual([["GET", "/"]])
      expect(ended).toHaveLength(1)
      expect(ended[0]).toMatchObject({ outcome: "success", status: 200 })
    }))

  it.scoped("TestPluginErrorMethodCalled", () =>
    Effect.gen(function*() {
      // OnRequestStart once (GET does_not_exist), then OnError once ("unsupported protocol scheme"): Sturdy's
      // AttemptStarted, then AttemptEnded with the `InvalidRequest` (MalformedUrl) failure; nothing is sent
      const h = yield* setup(always(200), { attemptTimeout: "10 millis", retry: false })
      const api = SturdyClient.makeWith(h.platform, { policy: h.policy })
      const events: Array<Policy.Event> = []
      const failure = failureOf(
        yield* h.run(api.get("does_not_exist", { onEvent: (event) => Effect.sync(() => events.push(event)) }))
      )
      expect(failure).toMatchObject({ _tag: "InvalidRequest", reason: "MalformedUrl", url: "does_not_exist" })
      const started = events.filter((e): e is Policy.AttemptStarted => e._tag === "AttemptStarted")
      const ended = events.filter((e): e is Policy.AttemptEnded => e._tag === "AttemptEnded")
      expect(started).toHaveLength(1)
      expect(started[0]).toMatchObject({ attempt: 1 })
      expect(ended).toHaveLength(1)
      expect(ended[0]).toMatchObject({
        outcome: "failure",
        failure: { _tag: "InvalidRequest", reason: "MalformedUrl", method: "GET" }
      })
      expect(h.seen).toHaveLength(0)
    }))

  it.scoped("TestCustomHTTPClientHeaderSuccess", () =>
    Effect.gen(function*() {
      // a custom Doer that sets foo: bar on every request is the client under withPolicy
      const h = yield* setup(always(200, ok), { attemptTimeout: "10 millis", retry: false })
      const doer = HttpClient.mapRequest(h.platform, HttpClientRequest.setHeader("foo", "bar"))
      const client = Policy.withPolicy(doer, h.policy)
      expect(yield* h.run(read(client.get(h.url)))).toStrictEqual(Exit.succeed({ status: 200, text: ok }))
      expect(h.seen[0]!.headers.foo).toBe("bar")
    }))

  it.scoped("TestHTTPClientContextTimeout", () =>
    Effect.gen(function*() {
      // a 1 s client timeout, a 1 ms context deadline, the server answering after 100 ms: DeadlineExceeded, no
      // response. The deadline is `totalTimeout`: the call fails with `Timeout` (Deadline). Sturdy refuses an
      // `attemptTimeout` above `totalTimeout`, so the 1 s is left unset (derived from the deadline)
      const h = yield* setup(
        (_, response, _n, tools) => tools.later(100, () => send(response, 200, {}, ok)),
        { totalTimeout: "1 millis", retry: false }
      )
      const client = Policy.withPolicy(h.platform, h.policy)
      const request = HttpClientRequest.get(h.url).pipe(HttpClientRequest.setHeaders(json))
      const error = failureOf(yield* h.run(read(client.execute(request))))
      expect(error).toMatchObject({ _tag: "RequestError", cause: { _tag: "Timeout", phase: "Deadline" } })
      expect(h.seen).toHaveLength(1)
      expect(h.seen[0]).toMatchObject({
        method: "GET",
        headers: { "content-type": "application/json", "accept-language": "en" }
      })
    }))

  it.scoped("TestHTTPClientDoContextCancelledDuringRetry", () =>
    Effect.gen(function*() {
      // 3 retries 100 ms apart; the caller cancels during the first wait: cancelled, fewer than 4 calls
      const h = yield* setup(always(500), constant(3, 100), { advanceWhenIdle: false })
      const client = Policy.withPolicy(h.platform, h.policy)
      const fiber = yield* Effect.fork(client.get(h.url))
      yield* until(() => h.decisions.some((d) => d.retrying))
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(h.seen.length).toBeLessThan(4)
      expect(h.seen).toHaveLength(1)
    }))

  it.scoped("TestHTTPClientDoContextCancelledBeforeRetry", () =>
    Effect.gen(function*() {
      // the caller cancels while the first attempt is in flight: cancelled, one call, the backoff never asked
      let delayAsked = 0
      const h = yield* setup(
        () => {/* never answers */},
        { attemptTimeout: "10 millis", retry: { maxAttempts: 4, delay: () => (delayAsked++, Duration.zero) } },
        { advanceWhenIdle: false }
      )
      const client = Policy.withPolicy(h.platform, h.policy)
      const fiber = yield* Effect.fork(client.get(h.url))
      yield* until(() => h.seen.length === 1)
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(h.seen).toHaveLength(1)
      expect(delayAsked).toBe(0)
      expect(h.decisions).toEqual([])
    }))

  it.scoped("TestHTTPClientDoContextTimeoutDuringRetry", () =>
    Effect.gen(function*() {
      // 3 retries 100 ms apart under a 15 ms context deadline. heimdall sleeps into the deadline and answers
      // DeadlineExceeded; Sturdy does not start a 100 ms wait with 15 ms left and answers the last 500 at once.
      // Both: fewer than 4 calls
      const h = yield* setup(always(500, wrong), { ...constant(3, 100), totalTimeout: "15 millis" })
      const client = Policy.withPolicy(h.platform, h.policy)
      const exit = yield* h.run(read(client.get(h.url)))
      expect(exit).toStrictEqual(Exit.succeed({ status: 500, text: wrong }))
      expect(h.seen.length).toBeLessThan(4)
      expect(h.seen).toHaveLength(1)
      expect(h.decisions.map((d) => d.retrying)).toEqual([false])
    }))

  it.scoped("TestHTTPClientMultiRetryOnTimeout", () =>
    Effect.gen(function*() {
      // a 5 ms timeout per attempt, 3 retries 4 ms apart, the server answering after 10 ms: every attempt times out,
      // and the error holds the 4 timeouts (Sturdy: the last `Timeout`, with `attempts: 4`)
      const h = yield* setup(
        (_, response, _n, tools) => tools.later(10, () => send(response, 200)),
        constant(3, 4, 5)
      )
      const client = Policy.withPolicy(h.platform, h.policy)
      const error = failureOf(yield* h.run(client.get(h.url)))
      expect(error).toMatchObject({ _tag: "RequestError", cause: { _tag: "Timeout", phase: "Attempt", attempts: 4 } })
      expect(h.seen).toHaveLength(4)
      expect(h.decisions.map((d) => [d.failure._tag, d.retrying])).toEqual([
        ["Timeout", true],
        ["Timeout", true],
        ["Timeout", true],
        ["Timeout", false]
      ])
    }))

  it.scoped("TestHTTPClientRetriesOnSpecificStatusCodes", () =>
    Effect.gen(function*() {
      // WithRetryableStatusCodes(424, 400), 3 retries: a 400, then 200
      const h = yield* setup(
        (_, response, n) => send(response, n < 2 ? 400 : 200, {}, ok),
        { attemptTimeout: "10 millis", retry: { maxAttempts: 4, statuses: [424, 400, 500, 502, 503, 504] } }
      )
      const client = Policy.withPolicy(h.platform, h.policy)
      expect(yield* h.run(read(client.get(h.url)))).toStrictEqual(Exit.succeed({ status: 200, text: ok }))
      expect(h.seen).toHaveLength(2)
    }))
})

describe("heimdall hystrix/hystrix_client_test.go", () => {
  /** WithHystrixTimeout(d) (hystrix's timeout wraps one attempt), WithErrorPercentThreshold(10),
   * WithRequestVolumeThreshold(10), WithSleepWindow(100 ms), WithRetryCount(n), a constant backoff */
  const hystrix = (retries: number, interval: number, timeout: number) => ({
    ...constant(retries, interval, timeout),
    circuitBreaker: { failureRateThreshold: 0.1, minimumThroughput: 10, breakDuration: "100 millis" }
  } as const)

  it.scoped("TestHystrixHTTPClientRetriesGetOnFailure5xx", () =>
    Effect.gen(function*() {
      // 3 retries under a breaker whose volume threshold (10) the 4 failed attempts do not reach: 4 calls, the 500
      const h = yield* setup(always(500, wrong), hystrix(3, 1, 10))
      const client = Policy.withPolicy(h.platform, h.policy)
      expect(yield* h.run(read(client.get(h.url)))).toStrictEqual(Exit.succeed({ status: 500, text: wrong }))
      expect(h.seen).toHaveLength(4)
    }))

  it.scoped("TestHystrixHTTPClientRetriesPostOnFailure", () =>
    Effect.gen(function*() {
      // heimdall: 4 calls. Sturdy deliberately repeats a POST only when `retry.methods` lists it
      const h = yield* setup(always(500, wrong), {
        ...hystrix(3, 1, 10),
        retry: { ...hystrix(3, 1, 10).retry, methods: ["POST"] }
      })
      const client = Policy.withPolicy(h.platform, h.policy)
      const post = HttpClientRequest.post(h.url).pipe(HttpClientRequest.bodyText("a=1&b=2"))
      expect(yield* h.run(read(client.execute(post)))).toStrictEqual(Exit.succeed({ status: 500, text: wrong }))
      expect(h.seen.map((s) => s.body)).toEqual(Array(4).fill("a=1&b=2"))
    }))

  it.scoped("TestHystrixHTTPClientRetriesPostOnTimeout", () =>
    Effect.gen(function*() {
      // a 1 ms hystrix timeout per attempt, the server answering after 10 ms: a timeout error, no response. heimdall
      // sends the POST 4 times; Sturdy does not repeat a POST whose attempt timed out (it may have been applied)
      const h = yield* setup(
        (_, response, _n, tools) => tools.later(10, () => send(response, 200, {}, `{ "response": "something" }`)),
        hystrix(3, 1, 1)
      )
      const client = Policy.withPolicy(h.platform, h.policy)
      const post = HttpClientRequest.post(h.url).pipe(HttpClientRequest.bodyText("a=1&b=2"))
      const error = failureOf(yield* h.run(client.execute(post)))
      expect(error).toMatchObject({ _tag: "RequestError", cause: { _tag: "Timeout", phase: "Attempt" } })
      expect(h.seen).toHaveLength(1)
      expect(h.decisions.map((d) => [d.failure._tag, d.retrying])).toEqual([["Timeout", false]])
    }))

  it.scoped("TestHystrixHTTPClientDoContextCancelled", () =>
    Effect.gen(function*() {
      // the context is cancelled before Do: a cancelled error, no response, the retrier never asked, no success,
      // failure or timeout counted
      let delayAsked = 0
      const h = yield* setup(always(200), { retry: { maxAttempts: 4, delay: () => (delayAsked++, Duration.zero) } }, {
        advanceWhenIdle: false
      })
      const client = Policy.withPolicy(h.platform, h.policy)
      const events: Array<string> = []
      const onEvent = (event: Policy.Event) => Effect.sync(() => events.push(event._tag))
      // the call is cancelled as it starts (forked and interrupted at once), through both clients
      const exit = yield* Fiber.interrupt(yield* Effect.fork(client.get(h.url)))
      expect(Exit.isInterrupted(exit)).toBe(true)
      const apiExit = yield* Fiber.interrupt(yield* Effect.fork(h.api.get("/test", { onEvent })))
      expect(Exit.isInterrupted(apiExit)).toBe(true)
      // nothing goes out afterwards either
      for (let i = 0; i < 10; i++) yield* realPause
      expect(events.filter((e) => e === "RetryDecision")).toEqual([])
      expect(h.decisions).toEqual([])
      expect(delayAsked).toBe(0)
      expect(h.seen).toHaveLength(0)
    }))

  it.scoped("TestHystrixHTTPClientDoContextCancelledDuringRetryBackoff", () =>
    Effect.gen(function*() {
      // the retrier cancels the context and asks for an hour: the call ends at once, cancelled, after one request
      // and one retrier call (the wait never passes: the TestClock does not move). No deadline here (heimdall's
      // context has none): under Sturdy's default 30 s one, a wait that cannot fit ends the call with the last 500
      let delayAsked = 0
      const h = yield* setup(always(500), {
        totalTimeout: false,
        retry: { maxAttempts: 4, delay: () => (delayAsked++, Duration.hours(1)), maxDelay: "1 hour" }
      }, {
        advanceWhenIdle: false
      })
      const client = Policy.withPolicy(h.platform, h.policy)
      const fiber = yield* Effect.fork(client.get(h.url))
      yield* until(() => delayAsked === 1)
      const before = yield* Clock.currentTimeMillis
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(h.seen).toHaveLength(1)
      expect(delayAsked).toBe(1)
      expect((yield* Clock.currentTimeMillis) - before).toBe(0)
    }))

  it.scoped("TestResponseBodyStreaming", () =>
    Effect.gen(function*() {
      // 40 chunks of 1 KiB, 10 ms apart: the response comes back once its head arrives, and its body streams in full
      // (the default attempt timeout, like hystrix's, bounds the head, not the body read after the call)
      const h = yield* setup((_, response, _n, tools) => {
        response.writeHead(200, { "content-type": "text/plain" })
        const chunk = (i: number) => {
          response.write("x".repeat(1024))
          if (i === 39) response.end()
          else tools.later(10, () => chunk(i + 1))
        }
        chunk(0)
      }, { retry: false })
      const client = Policy.withPolicy(h.platform, h.policy)
      const exit = yield* h.run(read(client.get(h.url)))
      expect(Exit.isSuccess(exit) && exit.value.status).toBe(200)
      expect(Exit.isSuccess(exit) && exit.value.text.length).toBe(1024 * 40)
    }))

  it.scoped("TestReqBodyResetForHTTPTimeoutHigherThanHystrix", () =>
    Effect.gen(function*() {
      // a 40 KiB POST, a 5 ms hystrix timeout, 5 retries; the first two requests are answered after 100 ms, the third
      // at once: 3 requests, each with the whole body. (Sturdy repeats the POST because `retry.methods` lists it:
      // by default a POST whose attempt timed out is not repeated)
      const payload = "x".repeat(40 * 1024)
      const h = yield* setup(
        (_, response, n, tools) => n < 3 ? tools.later(100, () => send(response, 200)) : send(response, 200),
        { attemptTimeout: "5 millis", retry: { maxAttempts: 6, delay: () => Duration.zero, methods: ["POST"] } }
      )
      const client = Policy.withPolicy(h.platform, h.policy)
      const post = HttpClientRequest.post(h.url).pipe(HttpClientRequest.bodyText(payload))
      const exit = yield* h.run(read(client.execute(post)))
      expect(Exit.isSuccess(exit) && exit.value.status).toBe(200)
      expect(h.seen).toHaveLength(3)
      for (const seen of h.seen) expect(seen.body).toBe(payload)
    }))
})
