/**
 * hashicorp/go-retryablehttp's `client_test.go` and `roundtripper_test.go` (commit
 * fd004584a46724fae09e2f21d7c382e15c893f42), ported to Sturdy's public API: `SturdyClient` over `@sturdy/node`'s
 * undici transport against a real node:http(s) server on 127.0.0.1 (`test/utils/retryHarness.ts`),
 * `Policy.withPolicy` for the `StandardClient` / `RoundTripper` cases, `RetryHeaders.parseRetryAfter` and `Backoff`
 * for the pure helpers, every wait on the TestClock. One `it` per Go test (per row of a table-driven one), named after
 * it.
 *
 * Mapping: `RetryMax: n` is `retry.maxAttempts: n + 1`; `RetryWaitMin` / `RetryWaitMax` with `DefaultBackoff` is
 * `retry.baseDelay` / `retry.maxDelay` with `jitter: "none"` (`min × 2^attemptNum`, capped); a custom `Backoff` is
 * `retry.delay`; `LinearJitterBackoff(min, max)` is `retry.schedule: Schedule.jitteredWith(Backoff.fromDelay((n) =>
 * n × min), { min: 1, max: max / min })`; `CheckRetry` is `retry.retryOn`; `DefaultRetryPolicy` is Sturdy's default
 * rule (`Policy.isRetryableByDefault`); a `ResponseHandler` that rejects a 200 is a response `schema` whose
 * `SchemaMismatch` `retryOn` retries; `RequestLogHook` / `ResponseLogHook` are the `AttemptStarted` / `AttemptEnded`
 * events; `PassthroughErrorHandler` (the last response or error comes back as it is) is `Policy.withPolicy`, which
 * returns the last response when retries end; "giving up after n attempt(s)" is the failure's `attempts` (and the end
 * of its `message`); a cancelled `context` is fiber interruption; the client's redirect following is
 * `transformClient: Redirect.follow()`.
 *
 * Deliberate differences (each test says which): go-retryablehttp retries every method, a POST included, after a
 * 5xx; Sturdy repeats a request that may have reached the server only when it is safe to repeat or `retry.methods`
 * lists its method. go-retryablehttp reads an `io.Reader` body into memory to replay it; Sturdy never repeats a
 * body read once (a `Readable`), since a second send would go out empty, and replays every other body. Its
 * `Retry-After` reader takes the first of several headers; Sturdy takes copies only when they agree (`2, 3` is
 * ignored, the backoff applies). Above 10 attempts (`RetryMax: 50`) Sturdy asks for a bound in time (`totalTimeout`,
 * on by default). (Alike: the first retry waits `RetryWaitMin × 2^0`, as Sturdy's waits `baseDelay`.)
 *
 * Not ported: TestRequest, TestFromRequest, TestClient_NewRequestWithContext (Go request construction), TestClient_Get,
 * TestClient_Head, TestClient_Post, TestClient_PostForm (one plain request per verb, no retry involved; the verbs are
 * covered by `test/http-failures.test.ts`), the logger variants of TestClient_RequestLogHook /
 * TestClient_ResponseLogHook (Go `Logger` / `LeveledLogger` plumbing: one case each is ported),
 * TestClient_Do_WithPrepareRetry (a hook that rewrites the request before each retry: every Sturdy attempt sends the
 * same request, built once per call), TestClient_StandardClient, TestRoundTripper_implements,
 * TestRoundTripper_init (Go types and lazy initialisation).
 */
import { Headers, HttpBody, HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Policy, Redirect, RetryHeaders } from "@sturdy/http"
import { Backoff } from "@sturdy/policy"
import { Duration, Effect, Exit, Fiber, Option, Schedule, Schema, TestClock } from "effect"
import { Readable } from "node:stream"
import { stepDelays } from "../packages/policy/test/utils/stepDelays.js"
import { loopbackTls } from "./utils/loopbackServer.js"
import {
  expectInterruptedUnsent,
  failureOf,
  gaps,
  type Handler,
  realPause,
  send,
  setup,
  textOf
} from "./utils/retryHarness.js"

/** `RetryWaitMin = RetryWaitMax = 10ms` with `DefaultBackoff`: every retry waits 10 ms */
const short = { baseDelay: "10 millis", maxDelay: "10 millis", jitter: "none", retryAfterJitter: 0 } as const

/** waits (in real time, a few ms at a time) until `done` holds */
const until = (done: () => boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 2000 && !done(); i++) yield* realPause
    expect(done()).toBe(true)
  })

const always = (status: number, body = ""): Handler => (_, response) => send(response, status, {}, body)

const attemptsStarted = () => {
  const started: Array<number> = []
  const onEvent = (event: Policy.Event) =>
    event._tag === "AttemptStarted" ? Effect.sync(() => started.push(event.attempt)) : Effect.void
  return { started, onEvent }
}

describe("go-retryablehttp client_test.go", () => {
  const bodies: ReadonlyArray<readonly [string, () => HttpBody.HttpBody]> = [
    ["[]byte", () => HttpBody.uint8Array(new TextEncoder().encode("hello"))],
    ["strings.Reader", () => HttpBody.text("hello")],
    ["ReaderFunc", () => HttpBody.text("hello", "application/octet-stream")]
  ]
  for (const [kind, body] of bodies) {
    it.scoped(`TestClient_Do (${kind})`, () =>
      Effect.gen(function*() {
        // the server is not up yet (refused connections are retried), then answers 500 (retried), then 200; every
        // attempt is the same PUT /v1/foo with header foo=bar and body "hello"
        let code = 500
        const hook = attemptsStarted()
        const h = yield* setup((_, response) => send(response, code), {
          retry: { baseDelay: "10 millis", maxDelay: "50 millis", jitter: "none", maxAttempts: 51 },
          // RetryMax 50 with no bound in time: Sturdy takes more than 10 attempts only with one (the default 30 s)
          totalTimeout: "1 minute"
        }, { listen: "later" })
        const call = h.api.put("/v1/foo", { headers: { foo: "bar" }, body: body(), onEvent: hook.onEvent })
        const fiber = yield* Effect.fork(h.run(call))
        // still retrying the refused connection
        yield* until(() => h.decisions.length >= 3)
        expect(h.decisions.slice(0, 3).map((d) => [d.failure._tag, d.retrying])).toEqual([
          ["ConnectionError", true],
          ["ConnectionError", true],
          ["ConnectionError", true]
        ])
        expect(h.decisions[0]!.failure).toMatchObject({ reason: "Refused" })
        yield* h.listen
        // still retrying the 500s
        yield* until(() => h.seen.length >= 2)
        expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
        code = 200
        const exit = yield* Fiber.join(fiber)
        expect(Exit.isSuccess(exit) && exit.value.status).toBe(200)
        for (const seen of h.seen) {
          expect(seen).toMatchObject({ method: "PUT", path: "/v1/foo", body: "hello" })
          expect(seen.headers.foo).toBe("bar")
        }
        // the request hook saw every attempt, numbered
        expect(hook.started).toEqual(hook.started.map((_, i) => i + 1))
        expect(hook.started.length).toBeGreaterThan(h.seen.length)
      }))
  }

  it.scoped("TestClient_Do (custReader: an io.Reader)", () =>
    Effect.gen(function*() {
      // go-retryablehttp buffers any io.Reader to replay it; Sturdy never repeats a body read once (a second send
      // would go out empty): the 500 comes back after one attempt. A body that can be sent again is replayed (above)
      const h = yield* setup(always(500), { retry: { ...short, maxAttempts: 51 } })
      const stream = Readable.from([Buffer.from("hello")])
      const failure = failureOf(
        yield* h.run(h.api.put("/v1/foo", { headers: { foo: "bar" }, body: HttpBody.raw(stream) }))
      )
      expect(failure).toMatchObject({ _tag: "ServerError", status: 500 })
      expect(h.seen.map((s) => s.body)).toEqual(["hello"])
    }))

  describe("TestClient_Do_WithResponseHandler", () => {
    // the server always answers 200; the response handler is a schema over its body, and CheckRetry (which stops on
    // "nonretryable") is `retryOn` for `SchemaMismatch`. RetryMax 2: at most 3 attempts
    const rows: ReadonlyArray<
      readonly [name: string, verdict: ((n: number) => string) | undefined, attempts: number, ok: boolean]
    > = [
      ["nil handler", undefined, 1, true],
      ["handler always succeeds", () => "ok", 1, true],
      ["handler always fails in a retryable way", () => "retryable failure", 3, false],
      ["handler always fails in a nonretryable way", () => "nonretryable failure", 1, false],
      ["handler succeeds on second attempt", (n) => n === 1 ? "retryable failure" : "ok", 2, true]
    ]
    const handler = Schema.String.pipe(Schema.filter((verdict) => verdict === "ok" || verdict))
    for (const [name, verdict, attempts, ok] of rows) {
      it.scoped(name, () =>
        Effect.gen(function*() {
          let checks = 0
          const h = yield* setup(
            (_, response, n) =>
              send(response, 200, { "content-type": "application/json" }, JSON.stringify(verdict?.(n) ?? "ok")),
            // the handler's error is the schema's message
            {
              retry: {
                ...short,
                maxAttempts: 3,
                retryOn: {
                  SchemaMismatch: (failure) => {
                    checks++
                    return !failure.issue.includes("nonretryable")
                  }
                }
              }
            }
          )
          const exit = yield* h.run(
            verdict === undefined ? Effect.asVoid(h.api.get("/")) : Effect.asVoid(h.api.get("/", { schema: handler }))
          )
          expect(Exit.isSuccess(exit)).toBe(ok)
          if (!ok) expect(failureOf(exit)).toMatchObject({ _tag: "SchemaMismatch", status: 200 })
          expect(h.seen.length).toBe(attempts)
          // CheckRetry is asked once per rejected response
          expect(checks).toBe(ok ? attempts - 1 : attempts === 3 ? 3 : 1)
        }))
    }
  })

  describe("TestClient_Do_fails", () => {
    it.scoped("default_retry_policy", () =>
      Effect.gen(function*() {
        // go-retryablehttp retries the POST after each 500 and gives up after 3 attempts; Sturdy does not repeat a
        // POST that reached the server unless `retry.methods` lists it (then: the same 3 attempts)
        const h = yield* setup(always(500), { retry: { ...short, maxAttempts: 3 } })
        const once = failureOf(yield* h.run(h.api.post("/")))
        expect(once).toMatchObject({ _tag: "ServerError", status: 500 })
        expect(h.seen.length).toBe(1)

        const listed = yield* setup(always(500), { retry: { ...short, maxAttempts: 3, methods: ["POST"] } })
        const failure = failureOf(yield* listed.run(listed.api.post("/")))
        expect(failure.message).toMatch(/after 3 attempts\)?$/)
        expect(Policy.attemptsOf(failure)).toBe(3)
        expect(listed.seen.length).toBe(3)
      }))

    it.scoped("default_retry_policy_url_with_basic_auth", () =>
      Effect.gen(function*() {
        // the message names the URL with its password redacted
        const h = yield* setup(always(500), { retry: { ...short, maxAttempts: 3, methods: ["POST"] } })
        const url = new URL(h.url)
        url.username = "user"
        url.password = "pasten"
        const failure = failureOf(yield* h.run(h.api.post(url.href)))
        expect(failure.message).toMatch(/after 3 attempts\)?$/)
        expect(failure.message).toContain(`127.0.0.1:${url.port}`)
        expect(failure.message).not.toContain("pasten")
        expect(JSON.stringify(failure)).not.toContain("pasten")
        expect(h.seen.length).toBe(3)
      }))

    it.scoped("error_propagated_retry_policy", () =>
      Effect.gen(function*() {
        // ErrorPropagatedRetryPolicy's "unexpected HTTP status 500 Internal Server Error": the failure says the status
        const h = yield* setup(always(500), { retry: { ...short, maxAttempts: 3, methods: ["POST"] } })
        const failure = failureOf(yield* h.run(h.api.post("/")))
        expect(failure).toMatchObject({ _tag: "ServerError", status: 500 })
        expect(failure.message).toMatch(/500/)
        expect(failure.message).toMatch(/after 3 attempts\)?$/)
      }))
  })

  it.scoped("TestClient_RequestLogHook", () =>
    Effect.gen(function*() {
      // the hook is called for the attempt (numbered) before it is sent
      const hook = attemptsStarted()
      const h = yield* setup((s, response) => {
        expect(hook.started).toEqual([1])
        send(response, 200)
      })
      const exit = yield* h.run(h.api.get("/foo/bar", { onEvent: hook.onEvent }))
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(h.seen.map((s) => `${s.method} ${s.path}`)).toEqual(["GET /foo/bar"])
      expect(hook.started).toEqual([1])
    }))

  it.scoped("TestClient_ResponseLogHook", () =>
    Effect.gen(function*() {
      // 500 "test_500_body" for the first 100 ms, then 200 "test_200_body"; the hook sees each response (the 500's
      // body in the failure), and the 200's body is still there to read
      let first: number | undefined
      const h = yield* setup((s, response) => {
        first ??= s.at
        if (s.at - first >= 100) send(response, 200, {}, "test_200_body")
        else send(response, 500, {}, "test_500_body")
      }, { retry: { ...short, maxAttempts: 16 } })
      const logged: Array<string> = []
      const exit = yield* h.run(h.api.get("/", {
        onEvent: (event) =>
          Effect.sync(() => {
            if (event._tag !== "AttemptEnded") return
            if (event.status === 200) logged.push("test_log_pass")
            else if (event.failure !== undefined && "bodyExcerpt" in event.failure) {
              logged.push(event.failure.bodyExcerpt)
            }
          })
      }))
      expect(textOf(exit)).toBe("test_200_body")
      expect(logged).toEqual([...Array.from({ length: 10 }, () => "test_500_body"), "test_log_pass"])
      expect(gaps(h)).toEqual(Array.from({ length: 10 }, () => 10))
    }))

  it.scoped("TestClient_RequestWithContext", () =>
    Effect.gen(function*() {
      // a call whose context is cancelled before it runs: interrupted at once, nothing sent, no retry
      const h = yield* setup(always(200, "test_200_body"))
      yield* expectInterruptedUnsent(h)
    }))

  it.scoped("TestClient_CheckRetry", () =>
    Effect.gen(function*() {
      // CheckRetry retries the first 500 and stops at the second: 2 attempts; go-retryablehttp then returns the
      // CheckRetry's own error, Sturdy the last failure (a caller replaces it with `Effect.mapError`)
      let called = 0
      const h = yield* setup(always(500, "test_500_body"), {
        retry: { ...short, maxAttempts: 5, retryOn: () => called++ < 1 }
      })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(called).toBe(2)
      expect(failure).toMatchObject({ _tag: "ServerError", status: 500, bodyExcerpt: "test_500_body" })
      expect(Policy.attemptsOf(failure)).toBe(2)
      expect(failure.message).toMatch(/after 2 attempts\)?$/)
    }))

  describe("TestParseRetryAfterHeader", () => {
    // testStaticTime: now is Fri, 31 Dec 1999 23:59:57 GMT
    const now = Date.UTC(1999, 11, 31, 23, 59, 57)
    const rows: ReadonlyArray<readonly [string, string | undefined, number | undefined]> = [
      ["seconds", "2", 2000],
      ["date", "Fri, 31 Dec 1999 23:59:59 GMT", 2000],
      ["past-date", "Fri, 31 Dec 1999 23:59:00 GMT", 0],
      ["nil", undefined, undefined],
      // go-retryablehttp takes the first of two headers (2 s); the transports join them ("2, 3"), and Sturdy reads
      // copies only when they agree: two different waits are no hint at all
      ["two-headers", "2, 3", undefined],
      ["empty", "", undefined],
      ["negative", "-2", undefined],
      ["bad-date", "Fri, 32 Dec 1999 23:59:59 GMT", undefined],
      ["bad-date-format", "badbadbad", undefined]
    ]
    for (const [name, header, millis] of rows) {
      it(name, () => {
        const parsed = header === undefined
          ? RetryHeaders.retryAfter(Headers.empty, now)
          : RetryHeaders.parseRetryAfter(header, now)
        expect(Option.map(parsed, Duration.toMillis)).toEqual(
          millis === undefined ? Option.none() : Option.some(millis)
        )
      })
    }
    it("two-headers (copies that agree)", () => {
      expect(Option.map(RetryHeaders.parseRetryAfter("2, 2", now), Duration.toMillis)).toEqual(Option.some(2000))
    })
  })

  describe("TestClient_DefaultBackoff", () => {
    // a 429 or 503 with Retry-After (seconds, or an HTTP-date 2 s ahead) is retryable, and the wait is 2 s
    const rows = [
      ["http_429_seconds", 429, "seconds"],
      ["http_429_date", 429, "date"],
      ["http_503_seconds", 503, "seconds"],
      ["http_503_date", 503, "date"]
    ] as const
    for (const [name, status, form] of rows) {
      it.scoped(name, () =>
        Effect.gen(function*() {
          let retryable: boolean | undefined
          const h = yield* setup(
            (s, response, n) =>
              n >= 2
                ? send(response, 200)
                : send(response, status, {
                  "retry-after": form === "seconds" ? "2" : new Date(s.at + 2000).toUTCString()
                }, `test_${status}_body`),
            {
              retry: {
                retryAfterJitter: 0,
                retryOn: (failure) => {
                  retryable = Policy.isRetryableByDefault(failure)
                  return retryable
                }
              }
            }
          )
          // an HTTP-date has whole seconds: start the clock on one
          yield* TestClock.setTime(Math.ceil(Date.now() / 1000) * 1000 + 1000)
          const exit = yield* h.run(h.api.get("/"))
          expect(Exit.isSuccess(exit)).toBe(true)
          expect(retryable).toBe(true)
          expect(h.decisions.map((d) => [d.reason, Duration.toMillis(d.delay)])).toEqual([["retry-after", 2000]])
          expect(gaps(h)).toEqual([2000])
        }))
    }
  })

  it.scoped("TestClient_DefaultRetryPolicy_TLS", () =>
    Effect.gen(function*() {
      // a certificate the client does not trust: not retried
      const h = yield* setup(always(200), { retry: short }, {
        tls: loopbackTls
      })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(failure).toMatchObject({ _tag: "ConnectionError", reason: "Tls" })
      expect(h.decisions.map((d) => [d.reason, d.retrying])).toEqual([["not-retryable", false]])
      expect(Policy.attemptsOf(failure)).toBe(1)
      expect(h.seen.length).toBe(0)
    }))

  it.scoped("TestClient_DefaultRetryPolicy_redirects", () =>
    Effect.gen(function*() {
      // a server that always redirects to itself: too many redirects, not retried (the chain is one attempt)
      const h = yield* setup((_, response) => send(response, 302, { location: "/" }), { retry: short }, {
        client: { transformClient: Redirect.follow({ maxRedirects: 10 }) }
      })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(failure).toMatchObject({ _tag: "RedirectFailed", reason: "TooMany" })
      expect(h.decisions.map((d) => [d.reason, d.retrying])).toEqual([["not-retryable", false]])
      expect(h.seen.length).toBe(11)
    }))

  it.scoped("TestClient_DefaultRetryPolicy_invalidscheme", () =>
    Effect.gen(function*() {
      const h = yield* setup(always(200), { retry: short })
      const failure = failureOf(yield* h.run(h.api.get(h.url.replace("http", "ftp"))))
      expect(failure).toMatchObject({ _tag: "InvalidRequest", reason: "MalformedUrl" })
      expect(h.decisions.map((d) => [d.reason, d.retrying])).toEqual([["not-retryable", false]])
      expect(h.seen.length).toBe(0)
    }))

  it.scoped("TestClient_DefaultRetryPolicy_invalidheadername", () =>
    Effect.gen(function*() {
      // through the standard client (`StandardClient()`: `Policy.withPolicy`)
      const h = yield* setup(always(200), { retry: short })
      const client = Policy.withPolicy(h.platform, h.policy)
      const exit = yield* h.run(
        client.execute(
          HttpClientRequest.get(h.url).pipe(HttpClientRequest.setHeader("Header-Name-\x1b", "header value"))
        )
      )
      expect(Exit.isFailure(exit)).toBe(true)
      expect(h.decisions.filter((d) => d.retrying)).toEqual([])
      expect(h.seen.length).toBe(0)
      const api = failureOf(
        yield* h.run(h.api.get("/", { headers: { "Header-Name-\x1b": "header value" } }))
      )
      expect(api).toMatchObject({ _tag: "InvalidRequest", reason: "InvalidHeader" })
      expect(h.seen.length).toBe(0)
    }))

  it.scoped("TestClient_DefaultRetryPolicy_invalidheadervalue", () =>
    Effect.gen(function*() {
      const h = yield* setup(always(200), { retry: short })
      const client = Policy.withPolicy(h.platform, h.policy)
      const exit = yield* h.run(
        client.execute(
          HttpClientRequest.get(h.url).pipe(HttpClientRequest.setHeader("Header-Name", "bad header value \x1b"))
        )
      )
      expect(Exit.isFailure(exit)).toBe(true)
      expect(h.decisions.filter((d) => d.retrying)).toEqual([])
      expect(h.seen.length).toBe(0)
      const api = failureOf(yield* h.run(h.api.get("/", { headers: { "Header-Name": "bad header value \x1b" } })))
      expect(api).toMatchObject({ _tag: "InvalidRequest", reason: "InvalidHeader" })
      expect(h.seen.length).toBe(0)
    }))

  it.scoped("TestClient_CheckRetryStop", () =>
    Effect.gen(function*() {
      // CheckRetry says no at once: one attempt, and (with the standard client) the 500 response itself, no error
      let called = 0
      const h = yield* setup(always(500, "test_500_body"), {
        retry: {
          ...short,
          retryOn: () => {
            called++
            return false
          }
        }
      })
      const client = Policy.withPolicy(h.platform, h.policy)
      const exit = yield* h.run(client.execute(HttpClientRequest.get(h.url)))
      expect(Exit.isSuccess(exit) && exit.value.status).toBe(500)
      expect(called).toBe(1)
      expect(h.seen.length).toBe(1)
    }))

  describe("TestBackoff_RateLimitLinearJitterBackoff", () => {
    // the wait before the first retry, over HTTP: a 429 or 503's Retry-After is the wait (whatever min and max);
    // otherwise LinearJitterBackoff: min × 1 when min = max, min..max × 1 otherwise
    const rows: ReadonlyArray<
      readonly [name: string, min: number, max: number, retryAfter: string | undefined, status: number, expect: number]
    > = [
      ["429 no retry header", 1000, 1000, undefined, 429, 1000],
      ["503 no retry header", 1000, 1000, undefined, 503, 1000],
      ["429 retry header", 1000, 1000, "2", 429, 2000],
      ["503 retry header", 1000, 1000, "2", 503, 2000],
      ["502 ignore retry header", 1000, 1000, "2", 502, 1000],
      ["502 no retry header", 1000, 1000, undefined, 502, 1000],
      ["429 retry header with jitter", 1000, 5000, "2", 429, 2000],
      ["429 retry header less than min", 5000, 10_000, "2", 429, 2000],
      ["429 retry header in range", 1000, 10_000, "2", 429, 2000]
    ]
    for (const [name, min, max, retryAfter, status, millis] of rows) {
      it.scoped(name, () =>
        Effect.gen(function*() {
          const h = yield* setup(
            (_, response, n) =>
              n >= 2
                ? send(response, 200)
                : send(response, status, retryAfter === undefined ? {} : { "retry-after": retryAfter }),
            {
              retry: {
                maxDelay: "1 minute",
                retryAfterJitter: 0,
                schedule: Schedule.jitteredWith(Backoff.fromDelay((n) => n * min), { min: 1, max: max / min })
              }
            }
          )
          expect(Exit.isSuccess(yield* h.run(h.api.get("/")))).toBe(true)
          expect(gaps(h)).toEqual([millis])
        }))
    }
  })

  it("TestBackoff", () => {
    // DefaultBackoff(1s, 5m, i) = 1 s × 2^i, capped at 5 minutes (i = 63 and 128 included)
    const delays = stepDelays(
      Backoff.exponential({
        baseDelay: "1 second",
        factor: 2,
        maxDelay: "5 minutes",
        jitter: "none",
        maxAttempts: Infinity
      }),
      Array.from({ length: 129 }, () => undefined)
    )
    expect([delays[0], delays[1], delays[2], delays[3], delays[63], delays[128]]).toEqual([
      1000,
      2000,
      4000,
      8000,
      300_000,
      300_000
    ])
  })

  it.scoped("TestClient_BackoffCustom", () =>
    Effect.gen(function*() {
      // a custom backoff of 1 ms, called once per retry; the server answers 500 until it was called RetryMax (4) times
      let retries = 0
      const h = yield* setup((_, response) => send(response, retries === 4 ? 200 : 500), {
        retry: {
          maxAttempts: 5,
          delay: () => {
            retries++
            return "1 millis"
          }
        }
      })
      expect(Exit.isSuccess(yield* h.run(h.api.get("/foo/bar")))).toBe(true)
      expect(retries).toBe(4)
      expect(gaps(h)).toEqual([1, 1, 1, 1])
    }))

  it.scoped("TestClient_RedirectWithBody", () =>
    Effect.gen(function*() {
      // a POST with a body, redirected with 307: the body is sent again to the target; then the same without a body
      const h = yield* setup(
        (s, response) => {
          if (s.path === "/redirect") send(response, 307, { location: "/target" })
          else send(response, 201)
        },
        { retry: short },
        { client: { transformClient: Redirect.follow() } }
      )
      const withBody = yield* h.run(h.api.post("/redirect", { body: HttpBody.text(`{"foo":"bar"}`) }))
      expect(Exit.isSuccess(withBody) && withBody.value.status).toBe(201)
      const withoutBody = yield* h.run(h.api.post("/redirect"))
      expect(Exit.isSuccess(withoutBody) && withoutBody.value.status).toBe(201)
      expect(h.seen.map((s) => [s.method, s.path, s.body])).toEqual([
        ["POST", "/redirect", `{"foo":"bar"}`],
        ["POST", "/target", `{"foo":"bar"}`],
        ["POST", "/redirect", ""],
        ["POST", "/target", ""]
      ])
    }))
})

describe("go-retryablehttp roundtripper_test.go", () => {
  it.scoped("TestRoundTripper_RoundTrip", () =>
    Effect.gen(function*() {
      // the standard client retries what CheckRetry says (a 404, here) and returns the 200 and its body
      const h = yield* setup((_, response, n) => n < 3 ? send(response, 404) : send(response, 200, {}, "success!"), {
        retry: { ...short, maxAttempts: 5, retryOn: { ClientError: (failure) => failure.status === 404 } }
      })
      const client = Policy.withPolicy(h.platform, h.policy)
      const exit = yield* h.run(Effect.flatMap(client.execute(HttpClientRequest.get(h.url)), (r) => r.text))
      expect(Exit.isSuccess(exit) && exit.value).toBe("success!")
      expect(h.seen.length).toBe(3)
    }))

  it.scoped("TestRoundTripper_TransportFailureErrorHandling", () =>
    Effect.gen(function*() {
      // go resolves 999.999.999.999 and fails the lookup; for the WHATWG URL parser it is no address at all, and the
      // request is malformed (never sent). CheckRetry retries every error (RetryMax times, as `retryOn: () => true`
      // does here), then the standard client passes the last failure through, as the RequestError's cause
      const h = yield* setup(always(200), { retry: { ...short, maxAttempts: 3, retryOn: () => true } })
      const client = Policy.withPolicy(h.platform, h.policy)
      const exit = yield* h.run(client.execute(HttpClientRequest.get("http://999.999.999.999:999/")))
      const failure = failureOf(exit)
      expect(failure).toMatchObject({ _tag: "RequestError" })
      expect(failure.cause).toMatchObject({ _tag: "InvalidRequest", reason: "MalformedUrl", attempts: 3 })
      expect(h.decisions.map((d) => [d.reason, d.retrying])).toEqual([["backoff", true], ["backoff", true], [
        "exhausted",
        false
      ]])
      expect(h.seen.length).toBe(0)
    }))
})
