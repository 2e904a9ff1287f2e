/**
 * Alamofire's `RetryPolicy` and `ConnectionLostRetryPolicy`, ported to Sturdy's public API: `SturdyClient` over
 * `@sturdy/node`'s undici transport against a real node:http(s) server on 127.0.0.1 (`test/utils/retryHarness.ts`),
 * every wait on the TestClock. Source: Alamofire/Alamofire, `Tests/RetryPolicyTests.swift` (the defaults from
 * `Source/Features/RetryPolicy.swift`), at 7595cbcf59809f9977c5f6378500de2ad73b7ddb. One `it` per XCTest case, named
 * after it; the cases that loop over URL error codes are one `it` per code (`<case>: .<code>`).
 *
 * Mapping: `RetryPolicy(retryLimit: n)` is `retry.maxAttempts: n + 1` (Alamofire's default 2 is Sturdy's default 3
 * attempts); the wait `exponentialBackoffScale × exponentialBackoffBase^retryCount` is, for base 2, `retry.baseDelay:
 * scale` with `jitter: "none"` (Sturdy's first retry waits `baseDelay` and doubles, as Alamofire's retryCount 0 waits
 * the scale), and for another base `retry.delay: (attempt) => scale × base^(attempt − 1)`; `retryableHTTPMethods` is
 * `retry.methods` (Alamofire's default set, GET HEAD PUT DELETE OPTIONS TRACE, is Sturdy's own safe-to-repeat set, so
 * the default needs no list); `retryableHTTPStatusCodes` is `retry.statuses`; `retryableURLErrorCodes` is
 * `retry.retryOn` per tag (`ConnectionError` by `reason`, `Timeout`, `BodyTruncated`); `RetryResult`
 * (`.retryWithDelay(d)` / `.doNotRetry`) is the `RetryDecision` event (`retrying`, `delay`) and the requests the
 * server saw; `request.cancel()` is interrupting the call. Foundation's `URLError` codes are the failures the loopback
 * can cause (a destroyed socket is `.networkConnectionLost`, a port nobody listens on `.cannotConnectToHost`, a late
 * answer under `attemptTimeout` `.timedOut`, an invalid status line `.badServerResponse`, a self-signed certificate
 * `.serverCertificateUntrusted`, ...) or, for those it cannot (DNS, an unreachable network, a certificate's dates), a
 * connection that fails with Node's error of that kind (`connectFailures` as it opens, `sendFailures` once the request
 * is being written); `AFError.sessionTaskFailed(error:)` is that
 * error wrapped as the `cause` of another (Sturdy reads the code anywhere in the cause chain).
 *
 * Deliberate differences (each test says which; a URL error case that differs also runs with the `retryOn` entry that
 * gives Alamofire's answer): Sturdy's default statuses are 408, 429 and every 5xx but 501, 505 and
 * 511 (and 413 with a server's wait), where Alamofire's are 408, 500, 502, 503, 504 (`retry.statuses` gives those
 * exactly); Sturdy's default backoff is 2 s, doubling to 30 s, with full jitter, Alamofire's 0.5 s doubling with no
 * jitter nor cap; a request that never reached the server (refused, DNS, connect timeout, any failure while the
 * connection opens) is retried whatever its method (`retry.retryUnsent: false` gives Alamofire's rule); a TLS failure (`.secureConnectionFailed`,
 * `.serverCertificateHasBadDate`, `.serverCertificateNotYetValid`) is never retried by default, where Alamofire retries
 * those three (a certificate or protocol mismatch that repeating does not fix); a failure Sturdy cannot classify
 * (`ConnectionError` `Unknown`, Alamofire's `.unknown`) and a body cut short (`BodyTruncated`, `.zeroByteResource`)
 * are transient in Sturdy and retried for a request safe to repeat, where Alamofire does not retry them.
 *
 * Not ported: URL error codes with no counterpart in a Node client: Apple platform states (`.backgroundSession*`,
 * `.callIsActive`, `.cannotLoadFromNetwork`, `.dataNotAllowed`, `.internationalRoamingOff`,
 * `.appTransportSecurityRequiresSecureConnection`, `.userCancelledAuthentication`), download-to-file and file-system
 * errors (`.cannot{Close,Create,Move,Open,Remove,WriteTo}File`, `.fileDoesNotExist`, `.fileIsDirectory`,
 * `.noPermissionsToReadFile`), `.resourceUnavailable`, and the content-decoding ones (`.cannotDecodeContentData`,
 * `.cannotDecodeRawData`, `.downloadDecodingFailed*`: `@sturdy/node` does not decode `Content-Encoding`, bodies arrive
 * as sent, so no decoding can fail). Status codes 100–199 of `testThatRetryPolicyRetriesRequestsWithRetryableStatusCodes`
 * (Alamofire's stub response carries any code; over HTTP/1.1 a 1xx is not a final response).
 */
import { HttpBody, HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Policy, Redirect } from "@sturdy/http"
import { Chunk, Clock, Duration, Effect, type Exit, Fiber, Schema, Stream, TestClock } from "effect"
import { loopbackTls } from "./utils/loopbackServer.js"
import {
  connectErrors,
  failureOf,
  fixture,
  gaps,
  type Handler,
  type Harness,
  type HarnessOptions,
  interruptInFlight,
  realPause,
  send,
  setup,
  statusOf,
  systemError,
  textOf
} from "./utils/retryHarness.js"

/** `RetryPolicy()`: retryLimit 2, 0.5 s × 2^retryCount, no jitter */
const alamofire = { maxAttempts: 3, baseDelay: "500 millis", jitter: "none" } as const

/** Alamofire's defaultRetryableHTTPStatusCodes */
const alamofireStatuses = [408, 500, 502, 503, 504]

/** `.networkConnectionLost` on the first request (the socket destroyed before an answer), then 200 */
const connectionLostOnce: Handler = (request, response, n) =>
  n === 1 ? response.socket?.destroy() : send(response, 200, {}, fixture)
const connectionLostAlways: Handler = (_, response) => response.socket?.destroy()

/** the first retry decision: whether it retries and after how long (Alamofire's `RetryResult`) */
const firstResult = (h: Harness) => {
  const decision = h.decisions[0]
  if (decision === undefined) throw new Error("no retry decision")
  return { retryRequired: decision.retrying, delay: decision.retrying ? Duration.toMillis(decision.delay) : undefined }
}

/**
 * GETs `/<code>` for every code at once (one retry at most), moves the TestClock by the 0.5 s wait once every
 * first attempt has failed and every retry's sleep is registered, and returns the calls' exits in order.
 */
const statusSweep = (h: Harness, statusCodes: ReadonlyArray<number>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(
      Effect.forEach(statusCodes, (code) => Effect.exit(h.api.get(`/${code}`)), { concurrency: "unbounded" }).pipe(
        Effect.provideService(Policy.Policy, h.policy)
      )
    )
    const failing = statusCodes.filter((s) => s >= 300).length
    for (let i = 0; i < 5000; i++) {
      const retrying = h.decisions.filter((d) => d.retrying).length
      const wakeAt = (yield* Clock.currentTimeMillis) + 500
      const waiting = Chunk.size(Chunk.filter(yield* TestClock.sleeps(), (at) => at === wakeAt))
      if (h.decisions.length === failing && waiting === retrying) break
      yield* realPause
    }
    yield* TestClock.adjust("500 millis")
    return yield* Fiber.join(fiber)
  })

const tagOf = (failure: unknown) => {
  const f = failure as { readonly _tag: string; readonly reason?: string; readonly phase?: string }
  return [f._tag, f.reason ?? f.phase].filter((x) => x !== undefined).join(" ")
}

/** a Node error of `code` wrapped as the cause of another error, as `AFError.sessionTaskFailed(error:)` wraps it */
const sessionTaskFailed = (error: Error) => new Error("Session task failed", { cause: error })

/**
 * One URL error code: how the loopback causes it, whether Alamofire retries it (`alamofire`, where it differs from
 * Sturdy: a deliberate difference, see the header), whether Sturdy does, and the failure Sturdy reports.
 */
interface ErrorCase {
  readonly code: string
  readonly alamofire: boolean
  readonly sturdy: boolean
  readonly failure: string
  /** the first connection fails with this Node error (a failure the loopback server cannot cause) */
  readonly connectFailure?: Error
  readonly handler?: Handler
  readonly options?: Policy.Options
  readonly harness?: HarnessOptions
  readonly call?: (h: Harness) => Effect.Effect<unknown, Policy.Failure, Policy.Policy>
  /** the requests the server sees when Sturdy does not retry (default 1) */
  readonly seen?: number
  /** where Sturdy's default differs: the `retry.retryOn` entry that gives Alamofire's answer */
  readonly asAlamofire?: Policy.RetryOn
}

const ok: Handler = (_, response) => send(response, 200, {}, fixture)

const errorCases: ReadonlyArray<ErrorCase> = [
  // retried by Alamofire
  {
    code: "networkConnectionLost",
    alamofire: true,
    sturdy: true,
    failure: "ConnectionError Reset",
    handler: connectionLostOnce
  },
  {
    code: "cannotConnectToHost",
    alamofire: true,
    sturdy: true,
    failure: "ConnectionError Refused",
    handler: ok,
    harness: { listen: "later" }
  },
  {
    code: "cannotFindHost",
    alamofire: true,
    sturdy: true,
    failure: "ConnectionError DnsLookup",
    connectFailure: systemError("ENOTFOUND", "getaddrinfo", "api.invalid")
  },
  {
    code: "dnsLookupFailed",
    alamofire: true,
    sturdy: true,
    failure: "ConnectionError DnsLookup",
    connectFailure: systemError("EAI_AGAIN", "getaddrinfo", "api.invalid")
  },
  {
    code: "notConnectedToInternet",
    alamofire: true,
    sturdy: true,
    failure: "ConnectionError ConnectTimeout",
    connectFailure: systemError("ENETUNREACH", "connect")
  },
  {
    code: "timedOut",
    alamofire: true,
    sturdy: true,
    failure: "Timeout Attempt",
    handler: (_, response, n, tools) =>
      n === 1 ? tools.later(1000, () => send(response, 200, {}, fixture)) : send(response, 200, {}, fixture),
    options: { attemptTimeout: "500 millis" }
  },
  {
    code: "badServerResponse",
    alamofire: true,
    sturdy: true,
    failure: "ConnectionError Unknown",
    handler: (_, response, n) =>
      n === 1 ? response.socket?.end("HTTP/1.1 bad\r\ncontent-length: 0\r\n\r\n") : send(response, 200, {}, fixture)
  },
  {
    // Sturdy: a TLS failure is a certificate or protocol mismatch, never retried by default
    code: "secureConnectionFailed",
    alamofire: true,
    sturdy: false,
    failure: "ConnectionError Tls",
    handler: ok,
    // https to a server that speaks plain HTTP: the handshake fails
    call: (h) => h.api.get(h.url.replace("http:", "https:") + "/"),
    seen: 0,
    asAlamofire: { ConnectionError: (e) => e.reason === "Tls" }
  },
  {
    code: "serverCertificateHasBadDate",
    alamofire: true,
    sturdy: false,
    failure: "ConnectionError Tls",
    connectFailure: systemError("CERT_HAS_EXPIRED", "connect"),
    asAlamofire: { ConnectionError: (e) => e.reason === "Tls" }
  },
  {
    code: "serverCertificateNotYetValid",
    alamofire: true,
    sturdy: false,
    failure: "ConnectionError Tls",
    connectFailure: systemError("CERT_NOT_YET_VALID", "connect"),
    asAlamofire: { ConnectionError: (e) => e.reason === "Tls" }
  },
  // not retried by Alamofire
  {
    code: "badURL",
    alamofire: false,
    sturdy: false,
    failure: "InvalidRequest MalformedUrl",
    handler: ok,
    call: (h) => h.api.get("http://127.0.0.1:99999/"),
    seen: 0
  },
  {
    // an https URL whose server presents a self-signed certificate
    code: "serverCertificateUntrusted",
    alamofire: false,
    sturdy: false,
    failure: "ConnectionError Tls",
    handler: ok,
    harness: { tls: loopbackTls },
    seen: 0
  },
  {
    code: "serverCertificateHasUnknownRoot",
    alamofire: false,
    sturdy: false,
    failure: "ConnectionError Tls",
    connectFailure: systemError("UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "connect")
  },
  {
    code: "clientCertificateRequired",
    alamofire: false,
    sturdy: false,
    failure: "ConnectionError Tls",
    connectFailure: systemError("ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED", "connect")
  },
  {
    code: "clientCertificateRejected",
    alamofire: false,
    sturdy: false,
    failure: "ConnectionError Tls",
    connectFailure: systemError("ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE", "connect")
  },
  {
    // a body that does not parse
    code: "cannotParseResponse",
    alamofire: false,
    sturdy: false,
    failure: "InvalidJson",
    handler: (_, response) => send(response, 200, { "content-type": "application/json" }, "{not json"),
    call: (h) => h.api.get("/", { schema: Schema.Struct({ id: Schema.Number }) })
  },
  {
    code: "dataLengthExceedsMaximum",
    alamofire: false,
    sturdy: false,
    failure: "BodyTooLarge",
    handler: (_, response) => send(response, 200, {}, "x".repeat(100)),
    call: (h) => h.api.get("/", { maxBodyBytes: 10 })
  },
  {
    code: "httpTooManyRedirects",
    alamofire: false,
    sturdy: false,
    failure: "RedirectFailed TooMany",
    handler: (request, response) => send(response, 302, { location: request.path === "/" ? "/a" : "/" }),
    harness: { client: { transformClient: Redirect.follow({ maxRedirects: 3 }) } },
    seen: 4
  },
  {
    // a redirect status without a Location: not followed, returned as it is
    code: "redirectToNonExistentLocation",
    alamofire: false,
    sturdy: false,
    failure: "UnexpectedStatus",
    handler: (_, response) => send(response, 302),
    harness: { client: { transformClient: Redirect.follow() } }
  },
  {
    // a body read once (a Stream) cannot be sent again, whatever the failure
    code: "requestBodyStreamExhausted",
    alamofire: false,
    sturdy: false,
    failure: "ConnectionError Reset",
    handler: connectionLostOnce,
    call: (h) => h.api.put("/", { body: HttpBody.stream(Stream.make(new TextEncoder().encode("once"))) })
  },
  {
    code: "userAuthenticationRequired",
    alamofire: false,
    sturdy: false,
    failure: "ClientError",
    handler: (_, response) => send(response, 401, { "www-authenticate": "Basic" })
  },
  {
    // Sturdy: a failure it cannot classify may be a passing one: retried for a request safe to repeat
    code: "unknown",
    alamofire: false,
    sturdy: true,
    failure: "ConnectionError Unknown",
    connectFailure: new Error("The operation couldn't be completed"),
    asAlamofire: { ConnectionError: (e) => e.reason !== "Unknown" }
  },
  {
    // content-length promised, the connection closed with no byte of it: Sturdy's BodyTruncated is transient
    code: "zeroByteResource",
    alamofire: false,
    sturdy: true,
    failure: "BodyTruncated",
    handler: (_, response, n) => {
      if (n > 1) return send(response, 200, {}, fixture)
      response.writeHead(200, { "content-length": "10" })
      response.flushHeaders()
      setImmediate(() => response.socket?.destroy())
    },
    asAlamofire: { BodyTruncated: false }
  }
]

/** runs one error case, `wrap` applied to its connection failure, and checks the first retry decision */
const checkErrorCase = (c: ErrorCase, wrap: (error: Error) => Error) =>
  Effect.gen(function*() {
    const connectFailures = c.connectFailure === undefined ? undefined : [wrap(c.connectFailure)]
    const h = yield* setup(c.handler ?? ok, { ...c.options, retry: alamofire }, {
      ...c.harness,
      ...(connectFailures === undefined ? {} : { connectFailures })
    })
    const exit: Exit.Exit<unknown, Policy.Failure> = yield* h.run((c.call ?? ((h) => h.api.get("/")))(h))
    expect(tagOf(h.decisions[0]?.failure)).toBe(c.failure)
    expect(firstResult(h)).toEqual(c.sturdy ? { retryRequired: true, delay: 500 } : { retryRequired: false })
    if (c.harness?.listen === "later") {
      // nothing ever listens: every attempt is refused
      expect(failureOf(exit)).toMatchObject({ attempts: 3 })
      expect(h.decisions.map((d) => d.retrying)).toEqual([true, true, false])
    } else if (c.sturdy) {
      // retried once, and the second attempt gets the answer
      expect(textOf(exit as Exit.Exit<{ readonly text: string }, unknown>)).toBe(fixture)
      expect(h.seen.length).toBe(c.connectFailure === undefined ? 2 : 1)
    } else {
      expect(failureOf(exit)).toMatchObject({ attempts: 1 })
      expect(h.seen.length).toBe(c.seen ?? (c.connectFailure === undefined ? 1 : 0))
    }
    if (c.alamofire !== c.sturdy) {
      // a deliberate difference: a `retryOn` entry gives Alamofire's answer
      if (c.asAlamofire === undefined) throw new Error(`.${c.code}: no retryOn for Alamofire's answer`)
      const as = yield* setup(c.handler ?? ok, { ...c.options, retry: { ...alamofire, retryOn: c.asAlamofire } }, {
        ...c.harness,
        ...(connectFailures === undefined ? {} : { connectFailures: [wrap(c.connectFailure!)] })
      })
      yield* as.run((c.call ?? ((h) => h.api.get("/")))(as))
      expect(tagOf(as.decisions[0]?.failure)).toBe(c.failure)
      expect(firstResult(as).retryRequired).toBe(c.alamofire)
    }
  })

describe("Alamofire Tests/RetryPolicyTests.swift RetryPolicyTestCase", () => {
  it.scoped("testThatRetryIsNotPerformedOnCancelledRequests", () =>
    Effect.gen(function*() {
      // a retrier that always says retry; the request is cancelled: the retrier is never asked
      let asked = 0
      const h = yield* setup(() => undefined, {
        retry: {
          ...alamofire,
          retryOn: () => {
            asked++
            return true
          }
        }
      }, { advanceWhenIdle: false })
      yield* interruptInFlight(h, "/")
      for (let i = 0; i < 10; i++) yield* realPause
      expect(asked).toBe(0)
      expect(h.decisions).toEqual([])
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("testThatRetryPolicyRetriesRequestsBelowRetryLimit", () =>
    Effect.gen(function*() {
      const h = yield* setup(connectionLostAlways, { retry: alamofire })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(failure).toMatchObject({ _tag: "ConnectionError", reason: "Reset", attempts: 3 })
      // retry 0: 0.5 s, retry 1: 1 s, then no retry
      expect(h.decisions.map((d) => [d.retrying, d.retrying ? Duration.toMillis(d.delay) : null])).toEqual([
        [true, 500],
        [true, 1000],
        [false, null]
      ])
      expect(gaps(h)).toEqual([500, 1000])
      // a deliberate difference: Sturdy's default backoff starts at 2 s with full jitter (each wait within
      // [0, 2 s × 2^n]); the attempts are the same, 3
      const defaults = yield* setup(connectionLostAlways, {})
      expect(failureOf(yield* defaults.run(defaults.api.get("/")))).toMatchObject({ attempts: 3 })
      const waits = defaults.decisions.filter((d) => d.retrying).map((d) => Duration.toMillis(d.delay))
      expect(waits.length).toBe(2)
      waits.forEach((wait, n) => expect(wait).toBeLessThanOrEqual(2000 * 2 ** n))
      expect(gaps(defaults)).toEqual(waits)
    }))

  it.scoped("testThatRetryPolicyRetriesIdempotentRequests", () =>
    Effect.gen(function*() {
      const idempotent = ["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"] as const
      const nonIdempotent = ["POST", "PATCH"] as const
      const calls = {
        GET: (h: Harness) => h.api.get("/"),
        HEAD: (h: Harness) => h.api.head("/"),
        PUT: (h: Harness) => h.api.put("/", { body: "x" }),
        DELETE: (h: Harness) => h.api.del("/"),
        OPTIONS: (h: Harness) => h.api.options("/"),
        TRACE: (h: Harness) => h.api.trace("/"),
        POST: (h: Harness) => h.api.post("/", { body: "x" }),
        PATCH: (h: Harness) => h.api.patch("/", { body: "x" })
      }
      for (const method of [...idempotent, ...nonIdempotent]) {
        const h = yield* setup(connectionLostOnce, { retry: alamofire })
        const exit = yield* h.run(calls[method](h))
        const retried = (idempotent as ReadonlyArray<string>).includes(method)
        expect([method, firstResult(h)]).toEqual([
          method,
          retried ? { retryRequired: true, delay: 500 } : { retryRequired: false }
        ])
        expect(h.seen.map((s) => s.method)).toEqual(retried ? [method, method] : [method])
        expect(exit._tag).toBe(retried ? "Success" : "Failure")
      }
      // CONNECT (not idempotent): the transport refuses to send it, so it is never sent, let alone repeated
      const connect = yield* setup(ok, { retry: alamofire })
      const failure = failureOf(
        yield* connect.run(connect.api.execute(HttpClientRequest.make("CONNECT" as "GET")(`${connect.url}/`)))
      )
      expect(failure).toMatchObject({ _tag: "InvalidRequest", attempts: 1 })
      expect(firstResult(connect)).toEqual({ retryRequired: false })
      expect(connect.seen).toEqual([])
      // a deliberate difference: a POST whose connection was refused was never sent, so Sturdy repeats it;
      // `retry.retryUnsent: false` gives Alamofire's answer (POST is not a retryable method)
      for (const retryUnsent of [true, false]) {
        const refused = yield* setup(ok, { retry: { ...alamofire, retryUnsent } }, {
          connectFailures: connectErrors(1, "ECONNREFUSED")
        })
        yield* refused.run(refused.api.post("/", { body: "x" }))
        expect(firstResult(refused)).toEqual(
          retryUnsent ? { retryRequired: true, delay: 500 } : { retryRequired: false }
        )
        expect(refused.seen.length).toBe(retryUnsent ? 1 : 0)
      }
    }))

  it.scoped("testThatRetryPolicyRetriesRequestsWithRetryableStatusCodes", () =>
    Effect.gen(function*() {
      const statusCodes = Array.from({ length: 400 }, (_, i) => 200 + i)
      const byPath: Handler = (request, response) => send(response, Number(request.path.slice(1)), {}, "")
      // `retry.statuses` set to Alamofire's list: retried exactly when Alamofire retries
      const mapped = yield* setup(byPath, { retry: { ...alamofire, maxAttempts: 2, statuses: alamofireStatuses } })
      // Sturdy's default rules: also 429 and every 5xx but 501, 505 and 511 (see the header)
      const sturdy = yield* setup(byPath, { retry: { ...alamofire, maxAttempts: 2 } })
      const sturdyRetries = (s: number) => s === 408 || s === 429 || (s >= 500 && ![501, 505, 511].includes(s))
      for (
        const [h, retries] of [[mapped, (s: number) => alamofireStatuses.includes(s)], [sturdy, sturdyRetries]] as const
      ) {
        const exits = yield* statusSweep(h, statusCodes)
        statusCodes.forEach((statusCode, i) => {
          const exit = exits[i]!
          if (statusCode < 300) expect([statusCode, exit._tag]).toEqual([statusCode, "Success"])
          else expect(failureOf(exit)).toMatchObject({ status: statusCode })
        })
        // one decision per failed first attempt: retry after 0.5 s, or not at all
        const first = h.decisions.filter((d) => d.attempt === 2)
        expect(first.length).toBe(statusCodes.filter((s) => s >= 300).length)
        const retried = first.filter((d) => d.retrying)
        expect(retried.map((d) => Duration.toMillis(d.delay))).toEqual(retried.map(() => 500))
        expect(retried.map((d) => statusOf(d.failure)).sort((a, b) => a! - b!)).toEqual(statusCodes.filter(retries))
        expect(h.seen.length).toBe(statusCodes.length + statusCodes.filter(retries).length)
      }
    }), 60_000)

  describe("testThatRetryPolicyRetriesRequestsWithRetryableErrors", () => {
    for (const c of errorCases) {
      it.scoped(`testThatRetryPolicyRetriesRequestsWithRetryableErrors: .${c.code}`, () => checkErrorCase(c, (e) => e))
    }
  })

  describe("testThatRetryPolicyRetriesRequestsWithRetryableAFErrors", () => {
    // the codes whose Node error the test controls, each wrapped as the cause of another error
    for (const c of errorCases.filter((c) => c.connectFailure !== undefined)) {
      it.scoped(
        `testThatRetryPolicyRetriesRequestsWithRetryableAFErrors: .${c.code}`,
        () => checkErrorCase(c, sessionTaskFailed)
      )
    }
    it.scoped("testThatRetryPolicyRetriesRequestsWithRetryableAFErrors: .cannotConnectToHost", () =>
      Effect.gen(function*() {
        const h = yield* setup(ok, { retry: alamofire }, {
          connectFailures: [sessionTaskFailed(systemError("ECONNREFUSED", "connect"))]
        })
        expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
        expect(tagOf(h.decisions[0]?.failure)).toBe("ConnectionError Refused")
        expect(firstResult(h)).toEqual({ retryRequired: true, delay: 500 })
      }))
  })

  it.scoped("testThatRetryPolicyDoesNotRetryErrorsThatAreNotRetryable", () =>
    Effect.gen(function*() {
      // `.unknown` and `AFError.sessionTaskFailed(.unknown)`: Alamofire never retries them. Sturdy's
      // `ConnectionError` `Unknown` is transient: a GET is retried (a deliberate difference), a POST is not once its
      // request was written (it may have reached the server), and a `retryOn` entry gives Alamofire's answer
      const unknown = () => new Error("The operation couldn't be completed")
      for (const error of [unknown(), sessionTaskFailed(unknown())]) {
        const get = yield* setup(ok, { retry: alamofire }, { sendFailures: [error] })
        expect(textOf(yield* get.run(get.api.get("/")))).toBe(fixture)
        expect(firstResult(get)).toEqual({ retryRequired: true, delay: 500 })

        const post = yield* setup(ok, { retry: alamofire }, { sendFailures: [error] })
        expect(failureOf(yield* post.run(post.api.post("/", { body: "x" })))).toMatchObject({
          _tag: "ConnectionError",
          reason: "Unknown"
        })
        expect(firstResult(post)).toEqual({ retryRequired: false })
        // the same error while the connection opens: the transport knows nothing was written, so even a POST is
        // repeated (a second difference: Alamofire does not look)
        const unsent = yield* setup(ok, { retry: alamofire }, { connectFailures: [error] })
        expect(textOf(yield* unsent.run(unsent.api.post("/", { body: "x" })))).toBe(fixture)
        expect(firstResult(unsent)).toEqual({ retryRequired: true, delay: 500 })

        const asAlamofire = yield* setup(ok, {
          retry: { ...alamofire, retryOn: { ConnectionError: (e) => e.reason !== "Unknown" } }
        }, { connectFailures: [error] })
        expect(failureOf(yield* asAlamofire.run(asAlamofire.api.get("/")))).toMatchObject({ reason: "Unknown" })
        expect(firstResult(asAlamofire)).toEqual({ retryRequired: false })
        expect(asAlamofire.seen).toEqual([])
      }
    }))

  it.scoped("testThatRetryPolicyTimeDelayBacksOffExponentially", () =>
    Effect.gen(function*() {
      // retryLimit 4: 0.5, 1, 2, 4 s, then no retry
      const h = yield* setup(connectionLostAlways, { retry: { ...alamofire, maxAttempts: 5 } })
      expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ _tag: "ConnectionError", attempts: 5 })
      expect(h.decisions.map((d) => d.retrying)).toEqual([true, true, true, true, false])
      expect(gaps(h)).toEqual([500, 1000, 2000, 4000])
    }))
})

/** ConnectionLostRetryPolicy: only `.networkConnectionLost` (a reset before an answer, or a body cut short) */
const connectionLostOnly = (retry: Policy.RetryOptions): Policy.RetryOptions => ({
  ...retry,
  // retryableHTTPStatusCodes: []
  statuses: [],
  // retryableURLErrorCodes: [.networkConnectionLost]
  retryOn: {
    ConnectionError: (e) => e.reason === "Reset",
    BodyTruncated: true,
    Timeout: false,
    RateLimited: false,
    ClientError: false,
    ServerError: false
  }
})

describe("Alamofire Tests/RetryPolicyTests.swift ConnectionLostRetryPolicyTestCase", () => {
  it.scoped("testThatConnectionLostRetryPolicyCanBeInitializedWithDefaultValues", () =>
    Effect.gen(function*() {
      // retryLimit 2, base 2, scale 0.5, the idempotent methods: a lost connection is retried at 0.5 s then 1 s
      const retry = connectionLostOnly(alamofire)
      const lost = yield* setup(connectionLostAlways, { retry })
      expect(failureOf(yield* lost.run(lost.api.get("/")))).toMatchObject({ reason: "Reset", attempts: 3 })
      expect(gaps(lost)).toEqual([500, 1000])
      // ... and nothing else: no status (not even 503), no refused connection, no timeout, no POST
      const unavailable = yield* setup((_, response) => send(response, 503), { retry })
      expect(failureOf(yield* unavailable.run(unavailable.api.get("/")))).toMatchObject({ status: 503, attempts: 1 })
      const refused = yield* setup(ok, { retry }, { connectFailures: connectErrors(1, "ECONNREFUSED") })
      expect(failureOf(yield* refused.run(refused.api.get("/")))).toMatchObject({ reason: "Refused", attempts: 1 })
      const slow = yield* setup((_, response, __, tools) => tools.later(1000, () => send(response, 200)), {
        attemptTimeout: "500 millis",
        retry
      })
      expect(failureOf(yield* slow.run(slow.api.get("/")))).toMatchObject({ _tag: "Timeout", attempts: 1 })
      const post = yield* setup(connectionLostOnce, { retry })
      expect(failureOf(yield* post.run(post.api.post("/", { body: "x" })))).toMatchObject({ reason: "Reset" })
      expect(post.seen.length).toBe(1)
      // every idempotent method is retried
      for (const method of ["HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"] as const) {
        const h = yield* setup(connectionLostOnce, { retry })
        yield* h.run(h.api.execute(HttpClientRequest.make(method as "GET")(`${h.url}/`)))
        expect(h.seen.map((s) => s.method)).toEqual([method, method])
      }
    }))

  it.scoped("testThatConnectionLostRetryPolicyCanBeInitializedWithCustomValues", () =>
    Effect.gen(function*() {
      // retryLimit 3, base 4, scale 0.25, methods [.delete, .get]: 0.25 s, 1 s, 4 s
      const retry = connectionLostOnly({
        maxAttempts: 4,
        delay: (attempt) => 250 * 4 ** (attempt - 1),
        methods: ["DELETE", "GET"]
      })
      const get = yield* setup(connectionLostAlways, { retry })
      expect(failureOf(yield* get.run(get.api.get("/")))).toMatchObject({ reason: "Reset", attempts: 4 })
      expect(gaps(get)).toEqual([250, 1000, 4000])
      const del = yield* setup(connectionLostOnce, { retry })
      expect((yield* del.run(del.api.del("/")))._tag).toBe("Success")
      expect(del.seen.map((s) => s.method)).toEqual(["DELETE", "DELETE"])
      // PUT is idempotent but not listed: not retried
      const put = yield* setup(connectionLostOnce, { retry })
      expect(failureOf(yield* put.run(put.api.put("/", { body: "x" })))).toMatchObject({ attempts: 1 })
      expect(put.seen.length).toBe(1)
      // still no status
      const unavailable = yield* setup((_, response) => send(response, 503), { retry })
      expect(failureOf(yield* unavailable.run(unavailable.api.get("/")))).toMatchObject({ attempts: 1 })
    }))
})
