/**
 * Armeria's retrying-client tests (line/armeria, commit 8cb6fc168d4808d0d82ca771e3cba62399b41be4,
 * core/src/test/java/com/linecorp/armeria/client/retry/: RetryingClientTest.java, RetryingClientWithLoggingTest.java,
 * RetryRuleBuilderTest.java, ResponseTimeoutFromStartTest.java, RetryTimeoutCancellationTest.java), ported to `SturdyClient` with `@sturdy/http`'s `Policy` over `@sturdy/node`'s undici
 * transport against a real node:http server on 127.0.0.1 (test/utils/retryHarness.ts), every wait on the TestClock.
 * One `it` per Armeria case, named after it. RetryRuleBuilderTest's cases ask a rule for its decision on a made-up
 * context; here each becomes a real call whose server answers with that status or failure.
 *
 * Mapping: `RetryRule`s become Sturdy's rules: `onServerErrorStatus().onException()` is the default rules,
 * `onStatus(...)` is `retry.statuses`, `onStatusClass(CLIENT_ERROR)` / `onException(X)` / `onTimeoutException()` are
 * `retry.retryOn` entries per failure tag, `RetryRule.builder(methods)` is `retry.methods`, a content rule is a schema
 * decoded in the attempt with `retryOn: { SchemaMismatch: true }`; `Backoff.fixed(n)` is `retry.delay: () => n` and a
 * backoff chosen per rule is `retry.delay` choosing by the failure; `maxTotalAttempts` is `retry.maxAttempts`; the
 * client's `responseTimeoutMillis` is `totalTimeout` (0: `false`) and `responseTimeoutMillisForEachAttempt` is
 * `attemptTimeout`; `useRetryAfter(true)` is Sturdy's default (`respectRetryAfter`, with `retryAfterJitter: 0` so the
 * waits are exact); `RetryConfigMapping` per path is `endpoints`; "the last response is propagated" is the call
 * failing with the last status failure (its headers kept); `UnprocessedRequestException` is a refused connection
 * (`ConnectionError` `Refused`), `ClosedSessionException` a connection cut after the request was read (`Reset`),
 * `ResponseTimeoutException` an attempt timeout; aborting the response is interrupting the call; a decorator under the
 * retrying client is `transformClient`, one over it a client over `Policy.withPolicy`.
 *
 * Deliberate differences (each test says which): a POST is not repeated after a failure that may have reached the
 * server unless `retry.methods` lists it (Armeria's `onServerErrorStatus()` retries any method); a Retry-After longer
 * than `retry.maxRetryAfter` fails at once instead of being cut by the response timeout; more than 10 attempts need a
 * bound in time (`maxTotalAttempts(100)` with no timeout is refused); `retry.statuses` replaces the default rules, so
 * listing 501 retries it (by default 501 is not retried). A thrown rule or delay function ends the call with that
 * exception as a defect, as Armeria completes the response with it.
 *
 * Not ported: retryWhenTrailerMatched and RetryRuleBuilderTest's onResponseTrailers / onGrpcTrailers (Sturdy's rules
 * see no trailers); retryWhenTotalDurationIsHigh (no rule on the elapsed time: `retryOn` sees the failure and the
 * attempt number); retryWithContentOnResponseTimeout, multipleRule and customRule (the order of `orElse` chains and
 * `RetryDecision.next()`: Sturdy has one `retryOn` and one `delay`, whose choice by failure differentBackoffBasedOnStatus
 * and buildFluently exercise); evaluatesMappingOnce (a profile's pipeline is built once, not observable);
 * shouldGetExceptionWhenFactoryIsClosed, useSameEventLoopWhenAggregate (Armeria's ClientFactory and Netty event loops);
 * doNotRetryWhenSubscriberIsCancelled (in Sturdy the same interruption as doNotRetryWhenResponseIsAborted);
 * methodFilter's "Should set at least one" (a `methods` list alone is a valid rule); RetryingClientWithLoggingTest's RequestLog fields (the port checks
 * which attempts each decorator sees). The directory's other files: RetryLimiterTest / RetryLimiterIntegrationTest
 * (Armeria's retry limiter, closer to `RetryBudget`, left to its own port), and the load-balancing, metrics, context,
 * authority-header and empty-endpoint-group tests (Armeria's client features, not retry rules).
 */
import { HttpClient, HttpClientError, HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import type { HttpFailure } from "@sturdy/http"
import { Policy } from "@sturdy/http"
import { Cause, Clock, Duration, Effect, Exit, Fiber, Option, Schema, Stream, Supervisor, TestClock } from "effect"
import type * as Http from "node:http"
import {
  delays,
  failureOf,
  gaps,
  type Handler,
  type Harness,
  realPause,
  send,
  setup,
  statusOf,
  textOf
} from "./utils/retryHarness.js"

const succeeded = "Succeeded after retry"

/** answers `status` (with `headers`) to the first `failures` requests, then 200 "Succeeded after retry" */
const thenSuccess =
  (failures: number, status: number, headers: Http.OutgoingHttpHeaders = {}): Handler => (_, response, n) =>
    n > failures ? send(response, 200, {}, succeeded) : send(response, status, headers)

const always = (status: number): Handler => (_, response) => send(response, status)

/** Armeria's `Backoff.fixed(millis)`: `retry.delay` of a constant */
const fixed = (millis: number) => ({ delay: () => millis, retryAfterJitter: 0 }) as const

/** Armeria's client(rule): response timeout 10 s, no per-attempt timeout, maxTotalAttempts 100, useRetryAfter */
const armeriaClient = { totalTimeout: "10 seconds", attemptTimeout: false } as const

const elapsed = (h: Harness) => h.seen.length === 0 ? 0 : h.seen[h.seen.length - 1]!.at - h.seen[0]!.at

describe("peer armeria RetryingClientTest", () => {
  it.scoped("retryWhenContentMatched", () =>
    Effect.gen(function*() {
      // a rule on the content: "Need to retry" is retried (Backoff.fixed(100)). Sturdy decides on failures: the body
      // is decoded with a schema inside each attempt, and `retryOn: { SchemaMismatch: true }` retries a body that does
      // not match it (by default a schema failure is never retried)
      const json = { "content-type": "application/json" }
      const h = yield* setup(
        (_, response, n) => send(response, 200, json, JSON.stringify(n > 2 ? succeeded : "Need to retry")),
        {
          ...armeriaClient,
          retry: { ...fixed(100), retryOn: { SchemaMismatch: true } },
          // Armeria's `armeria-retry-count` on each retry; Sturdy sends the header on the first attempt too, as "0"
          retryCountHeader: "armeria-retry-count"
        }
      )
      const exit = yield* h.run(h.api.get("/retry-content", { schema: Schema.Literal(succeeded) }))
      expect(exit).toEqual(Exit.succeed(succeeded))
      expect(h.seen).toHaveLength(3)
      expect(delays(h)).toEqual([100, 100])
      expect(h.seen.map((seen) => seen.headers["armeria-retry-count"])).toEqual(["0", "1", "2"])
    }))

  it.scoped("retryWhenStatusMatched", () =>
    Effect.gen(function*() {
      // RetryRule.builder().onServerErrorStatus().onException().thenBackoff(): Sturdy's default rules
      const h = yield* setup(thenSuccess(1, 503), { ...armeriaClient, retry: { retryAfterJitter: 0 } })
      expect(textOf(yield* h.run(h.api.get("/503-then-success")))).toBe(succeeded)
      expect(h.seen).toHaveLength(2)
    }))

  it.scoped("retryWhenStatusMatchedWithContent", () =>
    Effect.gen(function*() {
      // a rule that sees the content: Sturdy's attempt reads and decodes the body, and the 503 is retried the same
      const h = yield* setup(
        (_, response, n) =>
          n > 1
            ? send(response, 200, { "content-type": "application/json" }, JSON.stringify(succeeded))
            : send(response, 503),
        { ...armeriaClient, retry: { maxAttempts: 100, retryAfterJitter: 0 } }
      )
      const exit = yield* h.run(h.api.get("/503-then-success", { schema: Schema.Literal(succeeded) }))
      expect(exit).toEqual(Exit.succeed(succeeded))
      expect(h.seen).toHaveLength(2)
    }))

  it.scoped("disableResponseTimeout", () =>
    Effect.gen(function*() {
      // responseTimeoutMillis(0), responseTimeoutMillisForEachAttempt(0): `totalTimeout: false`, `attemptTimeout: false`.
      // Armeria's maxTotalAttempts(100) with no timeout at all: Sturdy refuses more than 10 attempts on a call that
      // nothing bounds in time (documented), so the port uses 10
      const unbounded = { totalTimeout: false, attemptTimeout: false } as const
      const refused = Policy.validate({ ...unbounded, retry: { maxAttempts: 100 } })
      expect(refused._tag).toBe("Left")
      const h = yield* setup(thenSuccess(1, 503), { ...unbounded, retry: { maxAttempts: 10, ...fixed(200) } })
      expect(textOf(yield* h.run(h.api.get("/503-then-success")))).toBe(succeeded)
      expect(h.seen).toHaveLength(2)
    }))

  it.scoped("respectRetryAfter", () =>
    Effect.gen(function*() {
      const h = yield* setup(thenSuccess(1, 503, { "retry-after": "1" }), {
        ...armeriaClient,
        retry: { retryAfterJitter: 0 }
      })
      expect(textOf(yield* h.run(h.api.get("/retry-after-1-second")))).toBe(succeeded)
      expect(gaps(h)).toEqual([1000])
      expect(h.decisions.map((d) => d.reason)).toEqual(["retry-after"])
    }))

  it.scoped("respectRetryAfterWithHttpDate", () =>
    Effect.gen(function*() {
      // Retry-After: an HTTP-date 3 s after the server's now (whole seconds: the wait is 2 to 3 s)
      const h = yield* setup(
        (request, response, n) =>
          n > 1
            ? send(response, 200, {}, succeeded)
            : send(response, 503, { "retry-after": new Date(request.at + 3000).toUTCString() }),
        { ...armeriaClient, retry: { retryAfterJitter: 0 } }
      )
      expect(textOf(yield* h.run(h.api.get("/retry-after-with-http-date")))).toBe(succeeded)
      expect(gaps(h)[0]).toBeGreaterThanOrEqual(2000)
      expect(gaps(h)[0]).toBeLessThanOrEqual(3000)
      expect(h.decisions.map((d) => d.reason)).toEqual(["retry-after"])
    }))

  it.scoped("propagateLastResponseWhenNextRetryIsAfterTimeout", () =>
    Effect.gen(function*() {
      // Backoff.fixed(10,000,000) under a 10 s response timeout: the last response comes back at once
      const h = yield* setup(always(503), { ...armeriaClient, retry: { maxAttempts: 100, ...fixed(10_000_000) } })
      const start = yield* Clock.currentTimeMillis
      const failure = failureOf(yield* h.run(h.api.get("/service-unavailable")))
      expect(failure).toMatchObject({ _tag: "ServerError", status: 503 })
      expect(h.seen).toHaveLength(1)
      expect((yield* Clock.currentTimeMillis) - start).toBe(0)
      expect(h.decisions.map((d) => d.reason)).toEqual(["deadline"])
    }))

  it.scoped("propagateLastResponseWhenExceedMaxAttempts", () =>
    Effect.gen(function*() {
      const h = yield* setup(always(503), {
        totalTimeout: false,
        attemptTimeout: false,
        retry: { maxAttempts: 3, ...fixed(1) }
      })
      const failure = failureOf(yield* h.run(h.api.get("/service-unavailable")))
      expect(failure).toMatchObject({ _tag: "ServerError", status: 503 })
      expect(Policy.attemptsOf(failure)).toBe(3)
      expect(h.seen).toHaveLength(3)
    }))

  it.scoped("retryAfterOneYear", () =>
    Effect.gen(function*() {
      // the next retry would be after the timeout: the last response, with its Retry-After, comes back. Sturdy: a wait
      // above `maxRetryAfter` (30 s) fails at once with the server's failure, which keeps the headers
      const h = yield* setup(
        (request, response) =>
          send(response, 503, { "retry-after": new Date(request.at + 365 * 24 * 3600_000).toUTCString() }),
        armeriaClient
      )
      const failure = failureOf(yield* h.run(h.api.get("/retry-after-one-year")))
      expect(failure).toMatchObject({ _tag: "ServerError", status: 503 })
      expect((failure as HttpFailure.ServerError).headers["retry-after"]).toBeDefined()
      expect(h.seen).toHaveLength(1)
      expect(h.decisions.map((d) => d.reason)).toEqual(["retry-after-too-long"])
    }))

  it.scoped("retryOnResponseTimeout", () =>
    Effect.gen(function*() {
      // responseTimeoutMillisForEachAttempt(500), no response timeout; the first answer comes after 1 s
      const h = yield* setup(
        (_, response, n, { later }) =>
          n === 1 ? later(1000, () => send(response, 503)) : send(response, 200, {}, succeeded),
        { totalTimeout: false, attemptTimeout: "500 millis", retry: { maxAttempts: 10, ...fixed(100) } }
      )
      expect(textOf(yield* h.run(h.api.get("/1sleep-then-success")))).toBe(succeeded)
      expect(h.decisions.map((d) => d.failure)).toMatchObject([{ _tag: "Timeout", phase: "Attempt" }])
      expect(gaps(h)).toEqual([600])
    }))

  it.scoped("honorRetryMapping", () =>
    Effect.gen(function*() {
      // RetryConfigMapping per path: /500-always retries 500 with 2 attempts, /501-always retries 501 with 8, anything
      // else retries only 400; Backoff.fixed(2000) for all. Sturdy: `endpoints` overrides per method and path
      const backoff = fixed(2000)
      const h = yield* setup((request, response) => send(response, Number(request.path.slice(1, 4))), {
        totalTimeout: false,
        attemptTimeout: false,
        retry: { ...backoff, maxAttempts: 10, statuses: [400] },
        endpoints: {
          "GET /500-always": { retry: { ...backoff, maxAttempts: 2, statuses: [500] } },
          "GET /501-always": { retry: { ...backoff, maxAttempts: 8, statuses: [501] } }
        }
      })
      const timed = (path: string) =>
        Effect.gen(function*() {
          h.seen.length = 0
          const failure = failureOf(yield* h.run(h.api.get(path)))
          return { status: statusOf(failure), requests: h.seen.length, elapsed: elapsed(h) }
        })
      expect(yield* timed("/500-always")).toEqual({ status: 500, requests: 2, elapsed: 2000 })
      expect(yield* timed("/501-always")).toEqual({ status: 501, requests: 8, elapsed: 14_000 })
      expect(yield* timed("/502-always")).toEqual({ status: 502, requests: 1, elapsed: 0 })
    }))

  it.scoped("retryWithContentOnUnprocessedException", () =>
    Effect.gen(function*() {
      // nothing listens: every attempt is refused (Armeria's UnprocessedRequestException), retried with
      // Backoff.fixed(2000) up to maxTotalAttempts(5): 4 waits of 2 s, then the refusal
      const h = yield* setup(always(200), {
        totalTimeout: false,
        attemptTimeout: false,
        retry: { maxAttempts: 5, ...fixed(2000) }
      }, {
        listen: "later"
      })
      const start = yield* Clock.currentTimeMillis
      const failure = failureOf(yield* h.run(h.api.get("/unprocessed-exception")))
      expect(failure).toMatchObject({ _tag: "ConnectionError", reason: "Refused" })
      expect(failure.message).toContain("ECONNREFUSED")
      expect(Policy.attemptsOf(failure)).toBe(5)
      expect(delays(h)).toEqual([2000, 2000, 2000, 2000])
      expect((yield* Clock.currentTimeMillis) - start).toBe(8000)
      expect(h.seen).toHaveLength(0)
    }))

  it.scoped("differentBackoffBasedOnStatus", () =>
    Effect.gen(function*() {
      // 503 → Backoff.fixed(10).withMaxAttempts(2), 500 → Backoff.fixed(1000).withMaxAttempts(2): `retry.delay` by the
      // failure's status
      const options = {
        ...armeriaClient,
        retry: {
          maxAttempts: 2,
          statuses: [500, 503],
          retryAfterJitter: 0,
          delay: (_: number, failure: Policy.RetryFailure) => statusOf(failure) === 503 ? 10 : 1000
        }
      }
      const on503 = yield* setup(thenSuccess(1, 503), options)
      expect(textOf(yield* on503.run(on503.api.get("/503-then-success")))).toBe(succeeded)
      expect(gaps(on503)).toEqual([10])
      const on500 = yield* setup(thenSuccess(1, 500), options)
      expect(textOf(yield* on500.run(on500.api.get("/500-then-success")))).toBe(succeeded)
      expect(gaps(on500)).toEqual([1000])
    }))

  it.scoped("retryWithRequestBody", () =>
    Effect.gen(function*() {
      // Armeria's onServerErrorStatus() retries the POST and sends its body again. Sturdy does not repeat a POST that
      // reached the server unless `retry.methods` lists it (or it carries an Idempotency-Key): documented difference
      const echo: Handler = (request, response, n) =>
        n > 1 ? send(response, 200, {}, request.body) : send(response, 503)
      const byDefault = yield* setup(echo, { ...armeriaClient, retry: fixed(10) })
      const failure = failureOf(yield* byDefault.run(byDefault.api.post("/post-ping-pong", { body: "bar" })))
      expect(failure).toMatchObject({ _tag: "ServerError", status: 503 })
      expect(byDefault.seen).toHaveLength(1)
      expect(byDefault.decisions.map((d) => d.reason)).toEqual(["not-retryable"])

      const listed = yield* setup(echo, { ...armeriaClient, retry: { ...fixed(10), methods: ["GET", "POST"] } })
      expect(textOf(yield* listed.run(listed.api.post("/post-ping-pong", { body: "bar" })))).toBe(JSON.stringify("bar"))
      expect(listed.seen.map((s) => s.body)).toEqual([JSON.stringify("bar"), JSON.stringify("bar")])
    }))

  it.scoped("doNotRetryWhenResponseIsAborted", () =>
    Effect.gen(function*() {
      // retryAlways (Backoff.fixed(500)); the caller aborts the response while it is in flight: interrupting the call
      // aborts the attempt, and nothing is retried
      const h = yield* setup((_, response, __, { later }) => later(1000, () => send(response, 503)), {
        ...armeriaClient,
        retry: { retryOn: () => true, ...fixed(500) }
      })
      const fiber = yield* Effect.fork(h.run(h.api.get("/response-abort")))
      for (let i = 0; i < 500 && h.seen.length === 0; i++) yield* realPause
      yield* Fiber.interrupt(fiber)
      yield* TestClock.adjust("3 seconds")
      for (let i = 0; i < 10; i++) yield* realPause
      expect(h.seen).toHaveLength(1)
      expect(h.decisions).toEqual([])
    }))

  it.scoped("doNotRetryWhenRequestIsAborted", () =>
    Effect.gen(function*() {
      // the request's body stream is aborted: no request reaches the service and nothing is retried
      const h = yield* setup(always(503), { ...armeriaClient, retry: { retryOn: () => true, ...fixed(500) } })
      const aborted = new Error("abort stream with a specified cause")
      const request = HttpClientRequest.get(`${h.url}/request-abort`).pipe(
        HttpClientRequest.bodyStream(
          Stream.concat(Stream.make(new TextEncoder().encode("I'm going to abort this request")), Stream.fail(aborted))
        )
      )
      const failure = failureOf(yield* h.run(h.api.execute(request)))
      // a body read once is never sent twice, whatever the rule says; the caller's cause is in the failure
      expect(Policy.attemptsOf(failure)).toBe(1)
      expect(failure.message).toContain("abort stream with a specified cause")
      expect(h.seen).toHaveLength(0)
      expect(h.decisions.map((d) => d.retrying)).toEqual([false])
    }))

  it.scoped("exceptionInDecorator", () =>
    Effect.gen(function*() {
      // a decorator under the retrying client fails every attempt; the rule retries everything, maxTotalAttempts 5
      const anticipated = new Error("AnticipatedException")
      let calls = 0
      const h = yield* setup(always(200), {
        ...armeriaClient,
        retry: { maxAttempts: 5, retryOn: () => true, ...fixed(0) }
      }, {
        client: {
          transformClient: () =>
            HttpClient.make((request) => {
              calls++
              return Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause: anticipated }))
            })
        }
      })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(calls).toBe(5)
      expect(h.decisions).toHaveLength(5)
      expect(Policy.attemptsOf(failure)).toBe(5)
      expect(failure.message).toContain("AnticipatedException")
      expect(h.seen).toHaveLength(0)
    }))

  it.scoped("exceptionInRule", () =>
    Effect.gen(function*() {
      // the retry rule throws: the call fails with that exception
      const exception = new Error("foo")
      const h = yield* setup(always(503), {
        ...armeriaClient,
        retry: {
          retryOn: () => {
            throw exception
          }
        }
      })
      const exit = yield* h.run(h.api.get("/"))
      expect(Exit.isFailure(exit) && Cause.dieOption(exit.cause)).toEqual(Option.some(exception))
      expect(h.seen).toHaveLength(1)
    }))

  it.scoped("exceptionInRuleWithContent", () =>
    Effect.gen(function*() {
      // the other user hook of the retry stage, the delay, throws: the call fails with that exception
      const exception = new Error("bar")
      const h = yield* setup(always(503), {
        ...armeriaClient,
        retry: {
          delay: () => {
            throw exception
          }
        }
      })
      const exit = yield* h.run(h.api.get("/"))
      expect(Exit.isFailure(exit) && Cause.dieOption(exit.cause)).toEqual(Option.some(exception))
      expect(h.seen).toHaveLength(1)
    }))
})

describe("peer armeria RetryingClientWithLoggingTest", () => {
  // /hello answers 500 first, then 200 "hello"
  const hello = thenSuccess(1, 500)

  it.scoped("retryingThenLogging", () =>
    Effect.gen(function*() {
      // WebClient -> RetryingClient -> LoggingClient: the logging decorator under the retrying client sees every
      // attempt. Sturdy: `transformClient` wraps the platform client under the policy
      const logged: Array<string> = []
      const h = yield* setup(hello, { ...armeriaClient, retry: fixed(10) }, {
        client: {
          transformClient: (client) =>
            client.pipe(
              HttpClient.tapRequest((request) => Effect.sync(() => logged.push(`request ${request.url}`))),
              HttpClient.tap((response) => Effect.sync(() => logged.push(`response ${response.status}`)))
            )
        }
      })
      expect(textOf(yield* h.run(h.api.get("/hello")))).toBe(succeeded)
      expect(logged).toEqual([`request ${h.url}/hello`, "response 500", `request ${h.url}/hello`, "response 200"])
    }))

  it.scoped("loggingThenRetrying", () =>
    Effect.gen(function*() {
      // WebClient -> LoggingClient -> RetryingClient: only the first request and the last response are logged.
      // Sturdy: a client over `Policy.withPolicy`
      const logged: Array<string> = []
      const h = yield* setup(hello, { ...armeriaClient, retry: fixed(10) })
      const client = Policy.withPolicy(h.platform, h.policy).pipe(
        HttpClient.tapRequest((request) => Effect.sync(() => logged.push(`request ${request.url}`))),
        HttpClient.tap((response) => Effect.sync(() => logged.push(`response ${response.status}`)))
      )
      const exit = yield* h.run(
        Effect.scoped(Effect.flatMap(client.get(`${h.url}/hello`), (response) => response.text))
      )
      expect(exit).toEqual(Exit.succeed(succeeded))
      expect(logged).toEqual([`request ${h.url}/hello`, "response 200"])
      expect(h.seen).toHaveLength(2)
    }))
})

/** each path's first request answers the status its path names (`/500` → 500), later ones 200 */
const firstFailsPerPath = (): Handler => {
  const counts = new Map<string, number>()
  return (request, response) => {
    const n = (counts.get(request.path) ?? 0) + 1
    counts.set(request.path, n)
    send(response, n > 1 ? 200 : Number(request.path.slice(1)), {}, n > 1 ? succeeded : "")
  }
}

/** the first request's connection is cut after the server read it (Armeria's ClosedSessionException), then 200 */
const cutThenSuccess: Handler = (_, response, n) =>
  n > 1 ? send(response, 200, {}, succeeded) : response.socket?.destroy()

/** the first request is never answered (an attempt timeout), then 200 */
const silentThenSuccess: Handler = (_, response, n) => {
  if (n > 1) send(response, 200, {}, succeeded)
}

const outcome = (h: Harness, exit: Exit.Exit<{ readonly text: string }, Policy.Failure>) => ({
  ok: Exit.isSuccess(exit),
  requests: h.seen.length,
  delays: delays(h)
})

describe("peer armeria RetryRuleBuilderTest", () => {
  const timeouts = { totalTimeout: false, attemptTimeout: "1 second" } as const

  it.scoped("onStatusClass", () =>
    Effect.gen(function*() {
      // RetryRule.onStatusClass(CLIENT_ERROR): a 400 retries. Sturdy: `retryOn: { ClientError: true }`
      const h = yield* setup(firstFailsPerPath(), {
        ...armeriaClient,
        retry: { ...fixed(10), retryOn: { ClientError: true } }
      })
      expect(outcome(h, yield* h.run(h.api.get("/400")))).toEqual({ ok: true, requests: 2, delays: [10] })
    }))

  it.scoped("onStatusErrorStatus", () =>
    Effect.gen(function*() {
      // onServerErrorStatus(): a 500 retries, a 400 does not. Sturdy's default rules
      const h = yield* setup(firstFailsPerPath(), { ...armeriaClient, retry: fixed(2000) })
      expect(outcome(h, yield* h.run(h.api.get("/500")))).toEqual({ ok: true, requests: 2, delays: [2000] })
      h.seen.length = 0
      expect(outcome(h, yield* h.run(h.api.get("/400")))).toEqual({ ok: false, requests: 1, delays: [2000] })
    }))

  it.scoped("onStatus", () =>
    Effect.gen(function*() {
      // onStatus(500) orElse onStatus(502): 500 and 502 retry, 504 does not. Sturdy: `retry.statuses`
      const h = yield* setup(firstFailsPerPath(), { ...armeriaClient, retry: { ...fixed(1000), statuses: [500, 502] } })
      for (const [path, retried] of [["/500", true], ["/502", true], ["/504", false]] as const) {
        h.seen.length = 0
        const exit = yield* h.run(h.api.get(path))
        expect({ ok: Exit.isSuccess(exit), requests: h.seen.length }).toEqual({
          ok: retried,
          requests: retried ? 2 : 1
        })
      }
    }))

  it.scoped("onException", () =>
    Effect.gen(function*() {
      // onException(ClosedSessionException): a cut connection retries; a ResponseTimeoutException does not. Sturdy:
      // `retryOn: { ConnectionError: true, Timeout: false }`
      const retry = { ...fixed(1000), retryOn: { ConnectionError: true, Timeout: false } }
      const cut = yield* setup(cutThenSuccess, { ...timeouts, retry })
      expect(outcome(cut, yield* cut.run(cut.api.get("/")))).toEqual({ ok: true, requests: 2, delays: [1000] })
      const silent = yield* setup(silentThenSuccess, { ...timeouts, retry })
      const failure = failureOf(yield* silent.run(silent.api.get("/")))
      expect(failure).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect(silent.seen).toHaveLength(1)
    }))

  it.scoped("onTimeoutException", () =>
    Effect.gen(function*() {
      // onTimeoutException(): a timed-out attempt retries; a closed session that did not time out does not. Sturdy:
      // `retryOn: { Timeout: true, ConnectionError: false }`
      const retry = { ...fixed(1000), retryOn: { Timeout: true, ConnectionError: false } }
      const silent = yield* setup(silentThenSuccess, { ...timeouts, retry })
      expect(outcome(silent, yield* silent.run(silent.api.get("/")))).toEqual({ ok: true, requests: 2, delays: [1000] })
      expect(silent.decisions[0]!.failure).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      const cut = yield* setup(cutThenSuccess, { ...timeouts, retry })
      expect(failureOf(yield* cut.run(cut.api.get("/")))).toMatchObject({ _tag: "ConnectionError" })
      expect(cut.seen).toHaveLength(1)
    }))

  it.scoped("onAnyException", () =>
    Effect.gen(function*() {
      // onException(): every exception retries. Sturdy's default rules retry a GET after a cut connection and after
      // an attempt timeout
      const cut = yield* setup(cutThenSuccess, { ...timeouts, retry: fixed(1000) })
      expect(outcome(cut, yield* cut.run(cut.api.get("/")))).toEqual({ ok: true, requests: 2, delays: [1000] })
      const silent = yield* setup(silentThenSuccess, { ...timeouts, retry: fixed(1000) })
      expect(outcome(silent, yield* silent.run(silent.api.get("/")))).toEqual({ ok: true, requests: 2, delays: [1000] })
    }))

  it.scoped("methodFilter", () =>
    Effect.gen(function*() {
      // RetryRule.builder(HEAD).onStatus(500): a HEAD retries on 500, a GET does not. Sturdy: `retry.methods`
      const h = yield* setup(always(500), {
        ...armeriaClient,
        retry: { ...fixed(10), maxAttempts: 2, methods: ["HEAD"] }
      })
      expect(failureOf(yield* h.run(h.api.head("/")))).toMatchObject({ _tag: "ServerError", status: 500 })
      expect(h.seen.map((s) => s.method)).toEqual(["HEAD", "HEAD"])
      h.seen.length = 0
      expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ _tag: "ServerError", status: 500 })
      expect(h.seen.map((s) => s.method)).toEqual(["GET"])
    }))

  it.scoped("buildFluently", () =>
    Effect.gen(function*() {
      // builder(idempotentMethods()).onStatus(500).onException(ClosedChannelException)... → Backoff.fixed(100), and
      // onUnprocessed() for any method → Backoff.fixed(200). Sturdy's default rules, with `retry.delay` by failure: a
      // GET retries a 500, a POST does not; a PUT retries a cut connection; a POST that was never sent (refused)
      // retries too
      const retry = {
        maxAttempts: 2,
        retryAfterJitter: 0,
        delay: (_: number, failure: Policy.RetryFailure) =>
          failure._tag === "ConnectionError" && failure.reason === "Refused" ? 200 : 100
      }
      const h = yield* setup(firstFailsPerPath(), { ...timeouts, retry })
      expect(outcome(h, yield* h.run(h.api.get("/500")))).toEqual({ ok: true, requests: 2, delays: [100] })
      const post = yield* setup(firstFailsPerPath(), { ...timeouts, retry })
      expect(outcome(post, yield* post.run(post.api.post("/500")))).toEqual({ ok: false, requests: 1, delays: [] })
      const cut = yield* setup(cutThenSuccess, { ...timeouts, retry })
      expect(outcome(cut, yield* cut.run(cut.api.put("/")))).toEqual({ ok: true, requests: 2, delays: [100] })
      const refused = yield* setup(always(200), { ...timeouts, retry }, { listen: "later" })
      const failure = failureOf(yield* refused.run(refused.api.post("/")))
      expect(failure).toMatchObject({ _tag: "ConnectionError", reason: "Refused" })
      expect(delays(refused)).toEqual([200])
      expect(Policy.attemptsOf(failure)).toBe(2)
    }))

  it.scoped("noRetry", () =>
    Effect.gen(function*() {
      // builder(POST).thenNoRetry().orElse(onException()): a GET retries after an exception, a POST does not. Sturdy's
      // default rules: a POST whose connection was cut after it was sent may have been applied, and is not repeated
      const get = yield* setup(cutThenSuccess, { ...timeouts, retry: fixed(10) })
      expect(outcome(get, yield* get.run(get.api.get("/")))).toEqual({ ok: true, requests: 2, delays: [10] })
      const post = yield* setup(cutThenSuccess, { ...timeouts, retry: fixed(10) })
      expect(failureOf(yield* post.run(post.api.post("/")))).toMatchObject({ _tag: "ConnectionError", reason: "Reset" })
      expect(post.seen).toHaveLength(1)
    }))

  it.scoped("noDelay", () =>
    Effect.gen(function*() {
      // onStatus(400 or 429) with Backoff.withoutDelay().withMaxAttempts(10): 9 retries at once, then stop; a 500
      // does not retry. Sturdy: `retry.statuses`, no delay, `maxAttempts: 10`
      const retry = { statuses: [400, 429], delay: () => 0, maxAttempts: 10, retryAfterJitter: 0 }
      const h = yield* setup(always(400), { ...armeriaClient, retry })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(failure).toMatchObject({ _tag: "ClientError", status: 400 })
      expect(Policy.attemptsOf(failure)).toBe(10)
      expect(elapsed(h)).toBe(0)
      const server = yield* setup(always(500), { ...armeriaClient, retry })
      expect(failureOf(yield* server.run(server.api.get("/")))).toMatchObject({ _tag: "ServerError", status: 500 })
      expect(server.seen).toHaveLength(1)
    }))
})

describe("peer armeria ResponseTimeoutFromStartTest", () => {
  it.scoped("originalResponseTimeoutRespected", () =>
    Effect.gen(function*() {
      // responseTimeout(3 s) FROM_START, responseTimeoutForEachAttempt(attemptMillis), maxTotalAttempts(MAX_VALUE),
      // Backoff.fixed(backoffMillis); the server answers 500 after delayMillis. The whole call's timeout holds: with no
      // backoff it ends at 3 s, and a backoff past it ends the call before 3 s. Sturdy: `totalTimeout` is the bound
      // from the start, `attemptTimeout` each attempt's, `maxAttempts: Infinity` retries until the deadline
      const rows = [[0, 2500, 2000], [0, 1750, 2000], [5000, 1500, 2000]] as const
      for (const [backoffMillis, attemptMillis, delayMillis] of rows) {
        const h = yield* setup((_, response, __, { later }) => later(delayMillis, () => send(response, 500)), {
          totalTimeout: "3 seconds",
          attemptTimeout: Duration.millis(attemptMillis),
          retry: { maxAttempts: Infinity, ...fixed(backoffMillis) }
        })
        const start = yield* Clock.currentTimeMillis
        const failure = failureOf(yield* h.run(h.api.get(`/?delayMillis=${delayMillis}`)))
        const took = (yield* Clock.currentTimeMillis) - start
        expect(failure._tag, `row ${backoffMillis},${attemptMillis}`).toBe("Timeout")
        if (backoffMillis > 0) {
          // the attempt timed out at 1.5 s and the 5 s backoff would pass the deadline: the call ends there
          expect(took).toBeLessThan(3000)
          expect(failure).toMatchObject({ phase: "Attempt" })
          expect(h.decisions.map((d) => d.reason)).toEqual(["deadline"])
        } else {
          expect(took).toBe(3000)
          expect(failure).toMatchObject({ phase: "Deadline" })
        }
      }
    }))
})

describe("peer armeria RetryTimeoutCancellationTest", () => {
  it.scoped("shouldCancelTimoutScheduler", () =>
    Effect.gen(function*() {
      // two 500s, then "hello"; Backoff.fixed(100), maxTotalAttempts(3), 30 s per attempt, 80 s from the start: once
      // the call succeeds, no timeout is left scheduled, the call's nor any attempt's. Sturdy: no fiber of the call is
      // left running (no timer waiting to fire; the TestClock keeps the entries of sleeps that were interrupted, so its
      // list is not the measure). Retrying the POST needs `retry.methods` to list it (a deliberate difference)
      const h = yield* setup(thenSuccess(2, 500), {
        totalTimeout: "80 seconds",
        attemptTimeout: "30 seconds",
        retry: { maxAttempts: 3, methods: ["POST"], ...fixed(100) }
      })
      const supervisor = yield* Supervisor.track
      const exit = yield* h.run(h.api.post("/foo", { body: "hello" })).pipe(Effect.supervised(supervisor))
      expect(textOf(exit)).toBe(succeeded)
      expect(h.seen).toHaveLength(3)
      expect(yield* supervisor.value).toHaveLength(0)
    }))
})
