/**
 * Apache HttpClient 5's retry rules, ported to Sturdy's public API over a real node:http server on 127.0.0.1
 * (`test/utils/retryHarness.ts`, every wait on the TestClock). Source: apache/httpcomponents-client at
 * 86c313b2876a8796ab696a2aab546ba4fe6ac227, `httpclient5/src/test/java/org/apache/hc/client5/http/impl/
 * TestDefaultHttpRequestRetryStrategy.java` (all its cases), the cases of `.../impl/classic/TestHttpRequestRetryExec.java`
 * that describe behaviour rather than mock wiring, the async exec's integration tests (`httpclient5-testing/src/test/
 * java/org/apache/hc/client5/testing/async/TestHttp1RequestReExecution.java`, the same two cases as `.../sync/
 * TestClientRequestReExecution.java`) and the two retry cases of `.../sync/TestClientRequestExecution.java`. One `it`
 * per Java test, named after it.
 *
 * Mapping: `new DefaultHttpRequestRetryStrategy(3, TimeValue.ofMilliseconds(1234))` (3 retries, a constant 1234 ms
 * interval, retriable codes 429 and 503) is `retry: { maxAttempts: 4, baseDelay: maxDelay: 1234 ms, jitter: "none",
 * statuses: [429, 503] }`; `retryRequest(response, n)` is whether the harness saw attempt n + 1; `getRetryInterval`
 * is the wait between two attempts (the `RetryDecision`'s delay); `Retry-After` is read by the same rules (seconds or
 * an HTTP-date, on 429 and 503); Apache's "a retry interval longer than the response timeout is not retried" is
 * `retry.maxElapsed` (no retry starts later than that after the failure); `HttpRequest.cancel()` is interrupting the
 * call's fiber; an `IOException` from the exchange is the server dropping the connection (`ConnectionError`).
 *
 * Deliberate differences (each test says which): Apache retries no I/O failure of its non-retriable kinds (connect
 * refused, unknown host, no route, connection closed, socket timeout), Sturdy retries every failure that proves the
 * request never left (refused, DNS, connect timeout) and, for a method safe to repeat, a dropped connection or an
 * attempt timeout (`Policy` "Rules"); only TLS failures are refused by both. A `Retry-After` above `maxRetryAfter`
 * (30 s by default) fails the call at once in Sturdy, where Apache waits whatever the server says, so the long waits
 * here raise `maxRetryAfter`. A past `Retry-After` date retries at once in Sturdy where Apache falls back to its
 * default interval.
 *
 * Not ported: TestHttpRequestRetryExec's testFundamentals1, testRetryIntervalResponseTimeoutNull,
 * testStrategyRuntimeException and testNonRepeatableEntityResponseReturnedImmediately (they verify Mockito wiring:
 * a mocked strategy's answers, `response.close()` calls); `AsyncHttpRequestRetryExec` has no unit test of its own in
 * this tree, only the integration tests ported here; TestClientRequestExecution's other cases are not about retries.
 */
import { HttpBody } from "@effect/platform"
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Policy } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { Duration, Effect, Exit, Fiber, Stream, TestClock } from "effect"
import { Agent } from "undici"
import { loopbackTls } from "./utils/loopbackServer.js"
import {
  failureOf,
  fixture,
  gaps,
  type Handler,
  interruptInFlight,
  realPause,
  send,
  setup,
  textOf
} from "./utils/retryHarness.js"

/** `new DefaultHttpRequestRetryStrategy(3, TimeValue.ofMilliseconds(1234L))` */
const apache = {
  maxAttempts: 4,
  baseDelay: "1234 millis",
  maxDelay: "1234 millis",
  jitter: "none",
  statuses: [429, 503],
  retryAfterJitter: 0
} as const

const always = (status: number, headers: Record<string, string> = {}): Handler => (_, response) =>
  send(response, status, headers)

const untilOk = (okAt: number, status: number, headers: Record<string, string> = {}): Handler => (_, response, n) =>
  n >= okAt ? send(response, 200, {}, fixture) : send(response, status, headers)

/** drops the connection of the first `drops` requests without answering (an IOException on the client's side) */
const dropThenOk = (drops: number): Handler => (_, response, n) =>
  n <= drops ? response.socket?.destroy() : send(response, 200, {}, fixture)

/** an undici dispatcher whose lookup or connect fails with `error`, as the OS reports it (no resolver asked) */
const failingDispatcher = (error: Error & { code: string }, where: "lookup" | "connect") =>
  Effect.acquireRelease(
    Effect.sync(() =>
      where === "lookup"
        ? new Agent({
          connect: {
            lookup: ((_: string, __: unknown, callback: (e: Error) => void) =>
              process.nextTick(() =>
                callback(error)
              )) as never
          }
        })
        : new Agent({
          connect: ((_: unknown, callback: (e: Error, s: null) => void) => callback(error, null)) as never
        })
    ),
    (agent) => Effect.promise(() => agent.close())
  )

const httpDate = (millis: number) => new Date(millis).toUTCString()

describe("httpcomponents-client TestDefaultHttpRequestRetryStrategy", () => {
  it.scoped("testBasics", () =>
    Effect.gen(function*() {
      // 503 and 429: retried after attempts 1, 2 and 3, not after the 4th
      for (const status of [503, 429]) {
        const h = yield* setup(always(status), { retry: apache })
        const failure = failureOf(yield* h.run(h.api.get("/")))
        expect(failure).toMatchObject({ status })
        expect(h.seen.length).toBe(4)
        expect(h.decisions.map((d) => d.retrying)).toEqual([true, true, true, false])
        expect(h.decisions.at(-1)!.reason).toBe("exhausted")
        // getRetryInterval: the default interval when the server names none
        expect(gaps(h)).toEqual([1234, 1234, 1234])
      }
      // 500 is not one of the retriable codes
      const h500 = yield* setup(always(500), { retry: apache })
      expect(failureOf(yield* h500.run(h500.api.get("/")))).toMatchObject({ status: 500 })
      expect(h500.seen.length).toBe(1)
    }))

  it.scoped("testRetryRequestWithResponseTimeout", () =>
    Effect.gen(function*() {
      // no limit, a limit equal to the interval: retried; a limit 1 ms shorter than the interval: not retried.
      // (Apache compares the interval with the response timeout; Sturdy's bound on when a retry may start is
      // `retry.maxElapsed`, counted from the failure.)
      for (const [maxElapsed, attempts] of [[undefined, 2], ["1234 millis", 2], ["1233 millis", 1]] as const) {
        const h = yield* setup(untilOk(2, 503), { retry: { ...apache, maxElapsed } })
        yield* h.run(h.api.get("/"))
        expect(h.seen.length).toBe(attempts)
      }
    }))

  it.scoped("testRetryAfterHeaderAsLong", () =>
    Effect.gen(function*() {
      // Retry-After: 321 is a 321 s wait (Sturdy: within a maxRetryAfter that allows it; the default 30 s would fail
      // the call at once)
      const h = yield* setup(untilOk(2, 503, { "retry-after": "321" }), {
        totalTimeout: "1 hour",
        attemptTimeout: "10 seconds",
        retry: { ...apache, maxRetryAfter: "10 minutes" }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(gaps(h)).toEqual([321_000])
      expect(h.decisions[0]).toMatchObject({ reason: "retry-after", delay: Duration.seconds(321) })
    }))

  it.scoped("testRetryAfterHeaderAsDate", () =>
    Effect.gen(function*() {
      // a zero default interval, and a date 100 s ahead: a wait above zero (the date has whole seconds)
      const h = yield* setup(
        (_, response, n) =>
          n >= 2
            ? send(response, 200, {}, fixture)
            : send(response, 503, { "retry-after": httpDate(Date.now() + 100_000) }),
        {
          totalTimeout: "1 hour",
          attemptTimeout: "10 seconds",
          retry: { ...apache, baseDelay: 0, maxDelay: 0, maxRetryAfter: "5 minutes" }
        }
      )
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(gaps(h)[0]).toBeGreaterThan(0)
      expect(gaps(h)[0]).toBeGreaterThanOrEqual(99_000)
      // (real time runs on while the TestClock stands still: a few ms more at most)
      expect(gaps(h)[0]).toBeLessThanOrEqual(100_100)
    }))

  it.scoped("testRetryAfterHeaderAsPastDate", () =>
    Effect.gen(function*() {
      // Apache falls back to its default interval (1234 ms) for a date in the past; Sturdy retries at once (a past
      // date says "now", documented in `Policy`'s rules)
      const h = yield* setup(
        (_, response, n) =>
          n >= 2
            ? send(response, 200, {}, fixture)
            : send(response, 503, { "retry-after": httpDate(Date.now() - 100_000) }),
        { retry: apache }
      )
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(gaps(h)).toEqual([0])
    }))

  it.scoped("testInvalidRetryAfterHeader", () =>
    Effect.gen(function*() {
      // Retry-After: Stuff is ignored: the default interval applies
      const h = yield* setup(untilOk(2, 503, { "retry-after": "Stuff" }), { retry: apache })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(gaps(h)).toEqual([1234])
      expect(h.decisions[0]!.reason).toBe("backoff")
    }))

  it.scoped("noRetryOnConnectTimeout", () =>
    Effect.gen(function*() {
      // a SocketTimeoutException: Apache does not retry it; Sturdy retries an attempt timeout of a GET (safe to
      // repeat), then fails with it
      const h = yield* setup(() => undefined, { attemptTimeout: "100 millis", retry: { ...apache, maxAttempts: 2 } })
      expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect(h.seen.length).toBe(2)
      // a POST, which may have been applied, is not retried: there the two agree
      const post = yield* setup(() => undefined, { attemptTimeout: "100 millis", retry: { ...apache, maxAttempts: 2 } })
      expect(failureOf(yield* post.run(post.api.post("/")))).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect(post.seen.length).toBe(1)
    }))

  it.scoped("noRetryOnConnect", () =>
    Effect.gen(function*() {
      // a refused connection (ConnectException): Apache does not retry; Sturdy does, since nothing was sent
      const h = yield* setup(always(200), { retry: apache }, { listen: "later" })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(failure).toMatchObject({ _tag: "ConnectionError", reason: "Refused" })
      expect(h.decisions.map((d) => d.retrying)).toEqual([true, true, true, false])
      expect(Policy.attemptsOf(failure)).toBe(4)
    }))

  it.scoped("noRetryOnConnectionClosed", () =>
    Effect.gen(function*() {
      // the server closes the connection before answering (ConnectionClosedException): Apache does not retry; Sturdy
      // retries a GET (safe to repeat)
      const h = yield* setup(dropThenOk(1), { retry: apache })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.seen.length).toBe(2)
      expect(h.decisions[0]!.failure._tag).toBe("ConnectionError")
    }))

  it.scoped("noRetryForNoRouteToHostException", () =>
    Effect.gen(function*() {
      // EHOSTUNREACH on connect (NoRouteToHostException): Apache does not retry; Sturdy reads it as a connect that
      // failed (nothing sent) and retries it
      const h = yield* setup(always(200), { retry: apache })
      const error = Object.assign(new Error("connect EHOSTUNREACH 127.0.0.1"), {
        code: "EHOSTUNREACH",
        syscall: "connect"
      })
      const client = Policy.withPolicy(UndiciHttpClient.make(yield* failingDispatcher(error, "connect")), h.policy)
      // `withPolicy` answers the platform's error; the decisions carry Sturdy's failure
      expect(failureOf(yield* h.run(client.execute(HttpClientRequest.get(`${h.url}/`))))._tag).toBe("RequestError")
      expect(h.decisions[0]!.failure).toMatchObject({ _tag: "ConnectionError", reason: "ConnectTimeout" })
      expect(h.decisions.map((d) => d.retrying)).toEqual([true, true, true, false])
    }))

  it.scoped("noRetryOnSSLFailure", () =>
    Effect.gen(function*() {
      // a handshake that fails (a certificate the client does not trust): retried by neither
      const h = yield* setup(always(200), { retry: apache }, { tls: loopbackTls })
      expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ _tag: "ConnectionError", reason: "Tls" })
      expect(h.decisions.map((d) => [d.retrying, d.reason])).toEqual([[false, "not-retryable"]])
      expect(h.seen.length).toBe(0)
    }))

  it.scoped("noRetryOnUnknownHost", () =>
    Effect.gen(function*() {
      // an unknown host (UnknownHostException): Apache does not retry; Sturdy does (a failed lookup sent nothing)
      const h = yield* setup(always(200), { retry: apache })
      const error = Object.assign(new Error("getaddrinfo ENOTFOUND doesntexist"), {
        code: "ENOTFOUND",
        syscall: "getaddrinfo",
        hostname: "doesntexist"
      })
      const client = Policy.withPolicy(UndiciHttpClient.make(yield* failingDispatcher(error, "lookup")), h.policy)
      const failure = failureOf(yield* h.run(client.execute(HttpClientRequest.get("http://doesntexist/"))))
      expect(failure._tag).toBe("RequestError")
      expect(h.decisions[0]!.failure).toMatchObject({ _tag: "ConnectionError", reason: "DnsLookup" })
      expect(h.decisions.map((d) => d.retrying)).toEqual([true, true, true, false])
    }))

  it.scoped("noRetryOnAbortedRequests", () =>
    Effect.gen(function*() {
      // a cancelled request is not retried: the call's fiber is interrupted while the server holds the first attempt
      // (run without the harness's clock moves: no timer fires, so nothing but the interruption ends the call)
      const h = yield* setup(() => undefined, { retry: apache })
      yield* interruptInFlight(h, "/")
      for (let i = 0; i < 10; i++) yield* realPause
      expect(h.seen.length).toBe(1)
      expect(h.decisions).toEqual([])
    }))

  it.scoped("retryOnNonAbortedRequests", () =>
    Effect.gen(function*() {
      // an I/O failure of a GET that was not cancelled: retried
      const h = yield* setup(dropThenOk(1), { retry: apache })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.decisions.map((d) => d.retrying)).toEqual([true])
    }))

  it.scoped("retryOnQueryRequests", () =>
    Effect.gen(function*() {
      // QUERY (safe and idempotent, with a body) is retried like GET, its body sent again
      const h = yield* setup(dropThenOk(1), { retry: apache })
      const answer = yield* h.run(h.api.query("/", { body: HttpBody.text("q=1", "text/plain") }))
      expect(textOf(answer)).toBe(fixture)
      expect(h.seen.map((s) => [s.method, s.body])).toEqual([["QUERY", "q=1"], ["QUERY", "q=1"]])
    }))

  it.scoped("testRetryRequestWithResponseTimeoutAndRetryAfterHeader", () =>
    Effect.gen(function*() {
      // 429 with Retry-After: 321 and a 2 s limit: not retried (the server's wait is held to the limit like the
      // backoff), even with a maxRetryAfter that would allow the wait
      const h = yield* setup(untilOk(2, 429, { "retry-after": "321" }), {
        totalTimeout: "1 hour",
        retry: { ...apache, maxElapsed: "2 seconds", maxRetryAfter: "10 minutes" }
      })
      expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ _tag: "RateLimited", status: 429 })
      expect(h.seen.length).toBe(1)
      expect(h.decisions.map((d) => d.retrying)).toEqual([false])
    }))
})

describe("httpcomponents-client TestHttpRequestRetryExec", () => {
  it.scoped("testRetrySleepOnIOException", () =>
    Effect.gen(function*() {
      // an IOException, a 100 ms interval: one sleep of 100 ms, then the second attempt
      const h = yield* setup(dropThenOk(1), { retry: { ...apache, baseDelay: "100 millis", maxDelay: "100 millis" } })
      expect(textOf(yield* h.run(h.api.get("/test")))).toBe(fixture)
      expect(gaps(h)).toEqual([100])
    }))

  it.scoped("testFundamentals2", () =>
    Effect.gen(function*() {
      // a GET with two `header` values fails with an IOException and is retried: every attempt carries the original
      // headers (what one attempt did to its request does not leak into the next)
      const h = yield* setup((_, response) => response.socket?.destroy(), { retry: { ...apache, maxAttempts: 2 } })
      const request = HttpClientRequest.get(`${h.url}/test`).pipe(
        HttpClientRequest.setHeader("header", "this, that")
      )
      const client = Policy.withPolicy(h.platform, h.policy)
      expect(failureOf(yield* h.run(client.execute(request)))._tag).toBe("RequestError")
      expect(h.decisions.map((d) => [d.failure._tag, d.retrying])).toEqual([
        ["ConnectionError", true],
        ["ConnectionError", false]
      ])
      expect(h.seen.length).toBe(2)
      for (const seen of h.seen) {
        expect(seen.headers["header"]).toBe("this, that")
        expect(seen.headers["cookie"]).toBeUndefined()
      }
    }))

  it.scoped("testAbortedRequest", () =>
    Effect.gen(function*() {
      // the execution was aborted when the IOException came: the strategy is not asked, one attempt. Sturdy: an
      // interrupted call makes no decision and no second attempt
      // interrupted call makes no second attempt: here the failure came and the retry's wait began (the clock does not
      // move), then the call is interrupted
      const h = yield* setup((_, response) => response.socket?.destroy(), { retry: apache })
      const call = yield* Effect.fork(Effect.provideService(h.api.get("/test"), Policy.Policy, h.policy))
      while (h.decisions.length < 1) yield* realPause
      expect(Exit.isInterrupted(yield* Fiber.interrupt(call))).toBe(true)
      yield* TestClock.adjust("1 hour")
      for (let i = 0; i < 10; i++) yield* realPause
      expect(h.seen.length).toBe(1)
      expect(h.decisions.map((d) => d.retrying)).toEqual([true])
    }))

  it.scoped("testNonRepeatableRequest", () =>
    Effect.gen(function*() {
      // a POST whose entity is a stream, written once, then an IOException: one attempt. Sturdy never resends a
      // body read once, even for a method listed as safe to repeat
      const h = yield* setup((_, response) => response.socket?.destroy(), {
        retry: { ...apache, methods: ["GET", "POST"] }
      })
      const body = HttpBody.stream(Stream.make(new TextEncoder().encode("data")), "application/octet-stream")
      expect(failureOf(yield* h.run(h.api.post("/test", { body })))).toMatchObject({ _tag: "ConnectionError" })
      expect(h.seen.length).toBe(1)
      expect(h.seen[0]!.body).toBe("data")
    }))
})

/** ServiceUnavailableAsyncDecorator with TestHttp1RequestReExecution's resolver: 503 + `Retry-After: 1` three times */
const unavailableThrice: Handler = (_, response, n) =>
  n <= 3 ? send(response, 503, { "retry-after": "1" }) : send(response, 200, {}, "x".repeat(2048))

describe("httpcomponents-client TestHttp1RequestReExecution (async) and TestClientRequestReExecution (classic)", () => {
  it.scoped("testGiveUpAfterOneRetry", () =>
    Effect.gen(function*() {
      // DefaultHttpRequestRetryStrategy(1, 1 s): two attempts, and the 503 itself comes back (`withPolicy` returns
      // the last response when retries end)
      const h = yield* setup(unavailableThrice, {
        retry: { ...apache, maxAttempts: 2, baseDelay: "1 second", maxDelay: "1 second" }
      })
      const client = Policy.withPolicy(h.platform, h.policy)
      const exit = yield* h.run(client.execute(HttpClientRequest.get(`${h.url}/random/2048`)))
      expect(Exit.isSuccess(exit) && exit.value.status).toBe(503)
      expect(h.seen.length).toBe(2)
      expect(gaps(h)).toEqual([1000])
    }))

  it.scoped("testDoNotGiveUpEasily", () =>
    Effect.gen(function*() {
      // DefaultHttpRequestRetryStrategy(5, 1 s): the 4th attempt gets the 200, each wait the server's 1 s
      const h = yield* setup(unavailableThrice, {
        retry: { ...apache, maxAttempts: 6, baseDelay: "1 second", maxDelay: "1 second" }
      })
      expect(textOf(yield* h.run(h.api.get("/random/2048")))).toHaveLength(2048)
      expect(gaps(h)).toEqual([1000, 1000, 1000])
      expect(h.decisions.map((d) => d.reason)).toEqual(["retry-after", "retry-after", "retry-after"])
    }))
})

describe("httpcomponents-client TestClientRequestExecution (classic)", () => {
  it.scoped("testAutoGeneratedHeaders", () =>
    Effect.gen(function*() {
      // an interceptor adds `my-header` to each attempt; the first attempt fails with an IOException and is retried
      // (a strategy retrying every IOException): the retried request carries the header once
      const h = yield* setup(dropThenOk(1), { retry: { ...apache, retryOn: () => true } }, {
        client: {
          transformClient: (client) => HttpClient.mapRequest(client, HttpClientRequest.setHeader("my-header", "stuff"))
        }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.seen.map((s) => s.headers["my-header"])).toEqual(["stuff", "stuff"])
    }))

  it.scoped("testNonRepeatableEntity", () =>
    Effect.gen(function*() {
      // a strategy retrying every IOException, and a POST whose entity is a stream: the IOException comes back,
      // one attempt (Sturdy never resends a body read once, whatever `retryOn` and `methods` say)
      const h = yield* setup(dropThenOk(1), { retry: { ...apache, methods: ["POST"], retryOn: () => true } })
      const body = HttpBody.stream(Stream.make(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9])), "application/octet-stream")
      expect(failureOf(yield* h.run(h.api.post("/", { body })))).toMatchObject({ _tag: "ConnectionError" })
      expect(h.seen.length).toBe(1)
    }))
})
