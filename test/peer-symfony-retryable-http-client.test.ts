/**
 * Symfony HttpClient's retry tests, ported to Sturdy's public API: `SturdyClient` over `@sturdy/node`'s undici
 * transport against a real node:http server on 127.0.0.1 (`test/utils/retryHarness.ts`), every wait on the TestClock.
 * Source: symfony/http-client (the read-only split of symfony/symfony's `src/Symfony/Component/HttpClient`) at
 * 274e2f6886b43a36f8bd5dfeb67215f7ebf9e291: `Tests/RetryableHttpClientTest.php`, the `shouldRetry` cases of
 * `Tests/Retry/GenericRetryStrategyTest.php`, and the table `GenericRetryStrategy::DEFAULT_RETRY_STATUS_CODES` of
 * `Retry/GenericRetryStrategy.php`. The delay cases (`testGetDelay`, `testJitter`) are in
 * `packages/policy/test/peer-symfony-Backoff.test.ts`. One `it` per peer case (one per data set of a data provider),
 * named after it. The peer's `MockHttpClient` queue is the server's answer to its n-th request.
 *
 * Mapping: `new RetryableHttpClient($client, $strategy, $maxRetries)` is a `Policy` with `retry.maxAttempts:
 * $maxRetries + 1`; `GenericRetryStrategy($statusCodes, $delayMs, ...)` is `retry.statuses` (a flat list: which
 * methods retry is Sturdy's own rule, below) and the backoff (`retry.delay: () => 0` for a `$delayMs` of 0); a
 * strategy's `shouldRetry` is `retry.retryOn` (it sees the failure, whose `bodyExcerpt` is the response's content);
 * the request option `max_retries` is an `endpoints` override of `retry.maxAttempts`, and `withOptions(['max_retries'
 * => n])` a `hosts` one; the `timeout` option is the request's `timeout`; `ServerException` is `ServerError`,
 * `TransportException` a `ConnectionError` or `Timeout`; `$response->cancel()` is interrupting the call;
 * `$client->stream()` has no counterpart (a `SturdyClient` reads the whole body: a body cut short is `BodyTruncated`,
 * retried as a transport error is, see the last case), so the stream cases check the one answer's status.
 *
 * Deliberate differences (each test says which): Symfony retries 423, 425, 429, 502 and 503 for every method and
 * 500, 504, 507, 510 and transport errors for GET, HEAD, PUT, DELETE, OPTIONS and TRACE; Sturdy retries 408, 429 and
 * every 5xx but 501, 505 and 511, never 423 (a 4xx) nor 425 (replaying early data is the caller's call), and only for
 * a request safe to repeat (the same six methods, or one with an `Idempotency-Key`, or `retry.methods`): a POST is
 * not repeated after a 429, 502 or 503, but is after a failure that proves it was never sent (refused, DNS), which
 * Symfony does not retry for a POST. A fractional `Retry-After` (`0.46`) is not a valid hint for Sturdy (RFC 9110's
 * delay-seconds is an integer): the backoff applies, where Symfony waits 460 ms. Symfony retries a request whose host
 * did not resolve without asking the strategy; Sturdy asks `retryOn` (whose default retries it). A `shouldRetry` that
 * answers `null` once it has the body is a `LogicException` in Symfony; Sturdy reads a `retryOn` answer that is not
 * a boolean as its truth value (`null`: no retry), and refuses only a Promise.
 *
 * Not ported: testRetryWithMultipleBaseUris, testMultipleBaseUrisAsOptions,
 * testRetryWithMultipleBaseUrisShufflesNestedArray, testRetryWithMultipleBaseUrisPreservesNonNestedOrder: Symfony's
 * `base_uri` list sends each retry to the next base URI (a nested list shuffled); Sturdy has no equivalent (a
 * `SturdyClient` has one `baseUrl`, and a retry repeats the same request; failing over to another host is
 * `Fallback`'s job, or hedging's), and none is invented here. The rest of the files is ported.
 */
import { describe, expect, it } from "@effect/vitest"
import { HttpFailure, Policy } from "@sturdy/http"
import { Effect, Exit } from "effect"
import {
  delays,
  failureOf,
  type Handler,
  interruptInFlight,
  send,
  setup,
  statusOf,
  systemError,
  textOf
} from "./utils/retryHarness.js"

/** the peer's MockHttpClient: request n gets `answers[n - 1]` (a status, or a status and a body), then 200 */
const queue =
  (...answers: ReadonlyArray<number | readonly [number, string] | "reset">): Handler => (_, response, n) => {
    const answer = answers[n - 1] ?? 200
    if (answer === "reset") return response.socket?.destroy()
    const [status, body] = typeof answer === "number" ? [answer, ""] : answer
    send(response, status, {}, body)
  }

/** `new GenericRetryStrategy($statusCodes, 0)` with `$maxRetries`: those statuses, no wait */
const strategy = (maxRetries: number, statuses?: ReadonlyArray<number>): Policy.Options => ({
  retry: { maxAttempts: maxRetries + 1, delay: () => 0, ...(statuses === undefined ? {} : { statuses }) }
})

const never: Handler = () => {}

/** GenericRetryStrategy's defaults (1 s, doubling) without jitter, one retry, a server's wait taken as it is */
const delayed = { maxAttempts: 2, baseDelay: "1 second", jitter: "none", retryAfterJitter: 0 } as const

describe("symfony Tests/RetryableHttpClientTest.php", () => {
  it.scoped("testRetryOnError", () =>
    Effect.gen(function*() {
      const h = yield* setup(queue(500, 200), strategy(1, [500]))
      const exit = yield* h.run(h.api.get("/foo-bar"))
      expect(Exit.isSuccess(exit) && exit.value.status).toBe(200)
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("testRetryRespectStrategy", () =>
    Effect.gen(function*() {
      // one retry: the second 500 is the call's ServerException
      const h = yield* setup(queue(500, 500, 200), strategy(1, [500]))
      const failure = failureOf(yield* h.run(h.api.get("/foo-bar")))
      expect(failure).toBeInstanceOf(HttpFailure.ServerError)
      expect(statusOf(failure)).toBe(500)
      expect(Policy.attemptsOf(failure)).toBe(2)
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("testRetryWithBody", () =>
    Effect.gen(function*() {
      // the strategy decides on the content: retried because the 500's body is "abc"
      const bodies: Array<string> = []
      const h = yield* setup(queue([500, "abc"], [200, "def"]), {
        retry: {
          maxAttempts: 3,
          delay: () => 0,
          retryOn: { ServerError: (e) => (bodies.push(e.bodyExcerpt), e.bodyExcerpt === "abc") }
        }
      })
      const exit = yield* h.run(h.api.get("/foo-bar"))
      expect(Exit.isSuccess(exit) && exit.value.status).toBe(200)
      expect(textOf(exit)).toBe("def")
      expect(bodies).toEqual(["abc"])
    }))

  it.scoped("testRetryWithBodyKeepContent", () =>
    Effect.gen(function*() {
      // the strategy refuses on the content: the 400 comes back with its content
      const h = yield* setup(queue([400, "my bad"]), {
        retry: {
          maxAttempts: 2,
          delay: () => 0,
          statuses: [400],
          retryOn: { ClientError: (e) => e.bodyExcerpt !== "my bad" }
        }
      })
      const failure = failureOf(yield* h.run(h.api.get("/foo-bar")))
      expect(failure).toBeInstanceOf(HttpFailure.ClientError)
      expect(statusOf(failure)).toBe(400)
      expect((failure as HttpFailure.ClientError).bodyExcerpt).toBe("my bad")
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("testRetryWithBodyInvalid", () =>
    Effect.gen(function*() {
      // Difference: Symfony throws "must not return null when called with a body"; Sturdy reads a decider's answer by
      // its truth value, so `null` is "no retry" (only a Promise is refused, with a TypeError naming the option)
      const h = yield* setup(queue(500, 200), {
        retry: { maxAttempts: 2, delay: () => 0, retryOn: () => null as unknown as boolean }
      })
      const failure = failureOf(yield* h.run(h.api.get("/foo-bar")))
      expect(statusOf(failure)).toBe(500)
      expect(h.seen.length).toBe(1)
      // the Promise answer is the one Sturdy refuses
      const p = yield* setup(queue(500, 200), {
        retry: { maxAttempts: 2, delay: () => 0, retryOn: () => Promise.resolve(true) as unknown as boolean }
      })
      const exit = yield* p.run(p.api.get("/foo-bar"))
      expect(Exit.isFailure(exit) && String(exit.cause)).toMatch(/retry\.retryOn returned a Promise/)
      expect(p.seen.length).toBe(1)
    }))

  it.scoped("testStreamNoRetry", () =>
    Effect.gen(function*() {
      // no retry: the first (and only) answer's status is the call's
      const h = yield* setup(queue(500), strategy(0, [500]))
      const failure = failureOf(yield* h.run(h.api.get("/foo-bar")))
      expect(statusOf(failure)).toBe(500)
      expect(h.seen.length).toBe(1)
      expect(h.decisions.map((d) => [d.failure._tag, d.retrying])).toEqual([["ServerError", false]])
    }))

  it.scoped("testRetryWithDnsIssue", () =>
    Effect.gen(function*() {
      // the host does not resolve, three times: two retries (Symfony's two log lines), then the DNS failure.
      // Difference: Symfony retries it without asking the strategy; Sturdy asks retryOn, whose default retries it
      const asked: Array<string> = []
      const h = yield* setup(
        never,
        {
          retry: {
            maxAttempts: 3,
            delay: () => 0,
            retryOn: (failure) => (asked.push(failure._tag), Policy.isRetryableByDefault(failure))
          }
        },
        {
          connectFailures: Array.from({ length: 3 }, () => systemError("ENOTFOUND", "getaddrinfo", "does.not.exists"))
        }
      )
      const failure = failureOf(yield* h.run(h.api.get("/foo-bar")))
      expect(failure).toMatchObject({ _tag: "ConnectionError", reason: "DnsLookup" })
      // Symfony's 'Could not resolve host "does.not.exists".' (the harness fails the connect, so the URL is the server's)
      expect((failure as Error).message).toMatch(
        /^DNS lookup failed \(ENOTFOUND\): GET http:\/\/127\.0\.0\.1:\d+\/foo-bar/
      )
      expect(Policy.attemptsOf(failure)).toBe(3)
      expect(h.decisions.filter((d) => d.retrying).length).toBe(2)
      expect(asked).toEqual(["ConnectionError", "ConnectionError", "ConnectionError"])
      expect(h.seen.length).toBe(0)
    }))

  it.scoped("testCancelOnTimeout", () =>
    Effect.gen(function*() {
      // the server never answers; the caller cancels the call while it waits: the request is aborted, not retried
      const h = yield* setup(never, strategy(2))
      yield* interruptInFlight(h, "/")
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("testRetryWithDelay", () =>
    Effect.gen(function*() {
      // Difference: `Retry-After: 0.46` is no valid hint for Sturdy (delay-seconds is an integer): the backoff's
      // wait applies (GenericRetryStrategy's defaults without jitter: 1 s), where Symfony waits 460 ms
      const fractional = yield* setup(
        (_, response, n) => n === 1 ? send(response, 503, { "retry-after": "0.46" }) : send(response, 200),
        {
          retry: delayed
        }
      )
      expect(Exit.isSuccess(yield* fractional.run(fractional.api.get("/foo-bar")))).toBe(true)
      expect(delays(fractional)).toEqual([1000])
      // the integer form is the wait, as Symfony's `(int) ($after * 1000)`
      const whole = yield* setup(
        (_, response, n) => n === 1 ? send(response, 503, { "retry-after": "3" }) : send(response, 200),
        {
          retry: delayed
        }
      )
      expect(Exit.isSuccess(yield* whole.run(whole.api.get("/foo-bar")))).toBe(true)
      expect(delays(whole)).toEqual([3000])
      expect(whole.seen[1]!.at - whole.seen[0]!.at).toBe(3000)
    }))

  it.scoped("testRetryOnErrorAssertContent", () =>
    Effect.gen(function*() {
      const h = yield* setup(queue(500, [200, "Test out content"]), strategy(1, [500]))
      const exit = yield* h.run(h.api.get("/foo-bar"))
      expect(Exit.isSuccess(exit) && exit.value.status).toBe(200)
      expect(textOf(exit)).toBe("Test out content")
      // the content is buffered: read again, the same
      expect(textOf(exit)).toBe("Test out content")
      expect(Exit.isSuccess(exit) && new TextDecoder().decode(exit.value.body)).toBe("Test out content")
    }))

  it.scoped("testRetryOnTimeout", () =>
    Effect.gen(function*() {
      // the server never sends its headers; the request's timeout of 0.1 s fails the attempt, and the strategy is
      // asked about it (and refuses)
      let called = false
      const h = yield* setup(never, {
        retry: { maxAttempts: 4, delay: () => 0, retryOn: () => (called = true, false) }
      })
      const failure = failureOf(yield* h.run(h.api.get("/timeout-header", { timeout: "100 millis" })))
      expect(failure).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect(called).toBe(true)
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("testMaxRetriesOption", () =>
    Effect.gen(function*() {
      // the request's max_retries (1) overrides the client's 3: the 502 is the answer
      const h = yield* setup(queue(500, 502, 200), {
        ...strategy(3, [500, 502]),
        endpoints: { "GET /foo-bar": { retry: { maxAttempts: 2 } } }
      })
      const failure = failureOf(yield* h.run(h.api.get("/foo-bar")))
      expect(statusOf(failure)).toBe(502)
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("testMaxRetriesWithOptions", () =>
    Effect.gen(function*() {
      // the client's options (max_retries 2) override the constructor's 3: the 504 is the answer
      const h = yield* setup(queue(500, 502, 504, 200), {
        ...strategy(3, [500, 502, 504]),
        hosts: { "127.0.0.1": { retry: { maxAttempts: 3 } } }
      })
      const failure = failureOf(yield* h.run(h.api.get("/foo-bar")))
      expect(statusOf(failure)).toBe(504)
      expect(h.seen.length).toBe(3)
    }))
})

describe("symfony Tests/Retry/GenericRetryStrategyTest.php (shouldRetry)", () => {
  // `new GenericRetryStrategy()`: the default statuses. The peer's TransportException is the server resetting the
  // socket before it answers (a failure that may have reached the server)
  const defaults = strategy(1)

  it.scoped("testShouldRetry: GET, 200, TransportException", () =>
    Effect.gen(function*() {
      const h = yield* setup(queue("reset", 200), defaults)
      expect(Exit.isSuccess(yield* h.run(h.api.get("/")))).toBe(true)
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("testShouldRetry: GET, 500", () =>
    Effect.gen(function*() {
      const h = yield* setup(queue(500, 200), defaults)
      expect(Exit.isSuccess(yield* h.run(h.api.get("/")))).toBe(true)
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("testShouldRetry: POST, 429", () =>
    Effect.gen(function*() {
      // Difference: Symfony repeats a POST after a 429; Sturdy repeats a POST only with an Idempotency-Key (or when
      // `retry.methods` lists POST)
      const h = yield* setup(queue(429, 429, 200), defaults)
      const failure = failureOf(yield* h.run(h.api.post("/", { body: "x" })))
      expect(statusOf(failure)).toBe(429)
      expect(h.seen.length).toBe(1)
      const keyed = yield* h.run(h.api.post("/", { body: "x", headers: { "idempotency-key": "k-1" } }))
      expect(Exit.isSuccess(keyed)).toBe(true)
      expect(h.seen.length).toBe(3)
    }))

  it.scoped("testShouldNotRetry: POST, 200", () =>
    Effect.gen(function*() {
      // a success is never retried
      const h = yield* setup(queue(200), defaults)
      expect(Exit.isSuccess(yield* h.run(h.api.post("/", { body: "x" })))).toBe(true)
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("testShouldNotRetry: POST, 200, TransportException", () =>
    Effect.gen(function*() {
      // a POST whose connection broke after it was sent may have been applied: not repeated
      const h = yield* setup(queue("reset", 200), defaults)
      const failure = failureOf(yield* h.run(h.api.post("/", { body: "x" })))
      expect(failure).toMatchObject({ _tag: "ConnectionError", reason: "Reset" })
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("testShouldNotRetry: POST, 500", () =>
    Effect.gen(function*() {
      const h = yield* setup(queue(500, 200), defaults)
      const failure = failureOf(yield* h.run(h.api.post("/", { body: "x" })))
      expect(statusOf(failure)).toBe(500)
      expect(h.seen.length).toBe(1)
    }))
})

describe("symfony Retry/GenericRetryStrategy.php DEFAULT_RETRY_STATUS_CODES (the table, not a test case)", () => {
  // per path `/<status>`: the first request answers the status, the next 200; retried iff the path was seen twice
  const firstFails: Handler = (request, response) => {
    const status = Number(request.path.slice(1))
    const earlier = seenPaths.get(request.path) ?? 0
    seenPaths.set(request.path, earlier + 1)
    send(response, earlier === 0 ? status : 200)
  }
  const seenPaths = new Map<string, number>()
  const statuses = [423, 425, 429, 500, 502, 503, 504, 507, 510] as const

  it.scoped("idempotent methods: 423, 425, 429, 500, 502, 503, 504, 507, 510", () =>
    Effect.gen(function*() {
      seenPaths.clear()
      const h = yield* setup(firstFails, strategy(1))
      const methods = { GET: h.api.get, HEAD: h.api.head, PUT: h.api.put, DELETE: h.api.del, OPTIONS: h.api.options }
      const retried: Record<string, Array<number>> = {}
      for (const [method, call] of Object.entries(methods)) {
        retried[method] = []
        for (const status of statuses) {
          yield* h.run(call(`/${status}`))
          if (seenPaths.get(`/${status}`) === 2) retried[method].push(status)
        }
        seenPaths.clear()
      }
      // Difference: Symfony retries all nine; Sturdy never 423 Locked (a 4xx) nor 425 Too Early (replaying early
      // data is the caller's decision)
      for (const method of Object.keys(methods)) {
        expect([method, retried[method]]).toEqual([method, [429, 500, 502, 503, 504, 507, 510]])
      }
    }))

  it.scoped("other methods: 423, 425, 429, 502, 503 (not 500, 504, 507, 510)", () =>
    Effect.gen(function*() {
      seenPaths.clear()
      const h = yield* setup(firstFails, strategy(1))
      const retried: Array<number> = []
      for (const status of statuses) {
        yield* h.run(h.api.post(`/${status}`, { body: "x" }))
        if (seenPaths.get(`/${status}`) === 2) retried.push(status)
      }
      // Difference: Symfony repeats a POST after 423, 425, 429, 502 and 503; Sturdy never repeats a POST that may have
      // reached the server unless it is declared safe to repeat
      expect(retried).toEqual([])
      // with an Idempotency-Key it is, and then by the same rule as a GET
      seenPaths.clear()
      const keyed: Array<number> = []
      for (const status of statuses) {
        yield* h.run(h.api.post(`/${status}`, { body: "x", headers: { "idempotency-key": `k-${status}` } }))
        if (seenPaths.get(`/${status}`) === 2) keyed.push(status)
      }
      expect(keyed).toEqual([429, 500, 502, 503, 504, 507, 510])
    }))

  it.scoped("0 (transport errors): idempotent methods only", () =>
    Effect.gen(function*() {
      // a reset after the request went out: a GET is retried, a POST is not (as Symfony)
      const h = yield* setup(queue("reset", 200, "reset", 200), strategy(1))
      expect(Exit.isSuccess(yield* h.run(h.api.get("/")))).toBe(true)
      expect(h.seen.length).toBe(2)
      const failure = failureOf(yield* h.run(h.api.post("/", { body: "x" })))
      expect(failure).toMatchObject({ _tag: "ConnectionError", reason: "Reset" })
      expect(h.seen.length).toBe(3)
      // Difference: a POST whose connection was refused was never sent: Sturdy retries it (Symfony does not)
      const refused = yield* setup(queue(201), strategy(1), {
        connectFailures: [systemError("ECONNREFUSED", "connect")]
      })
      const exit = yield* refused.run(refused.api.post("/", { body: "x" }))
      expect(Exit.isSuccess(exit) && exit.value.status).toBe(201)
      expect(refused.seen.length).toBe(1)
    }))
})

describe("symfony RetryableHttpClient.php: a body cut short (the client's behaviour, no case of the peer's file)", () => {
  it.scoped("a transport error while the body streams is retried for a GET", () =>
    Effect.gen(function*() {
      // RetryableHttpClient asks the strategy about a TransportException raised by any chunk, the body's included
      const h = yield* setup((_, response, n) => {
        if (n === 1) {
          response.writeHead(200, { "content-length": "10" })
          response.write("abc", () => response.socket?.destroy())
          return
        }
        send(response, 200, {}, "abcdefghij")
      }, strategy(1))
      const exit = yield* h.run(h.api.get("/"))
      expect(textOf(exit)).toBe("abcdefghij")
      expect(h.seen.length).toBe(2)
      expect(h.decisions.map((d) => [d.failure._tag, d.retrying])).toEqual([["BodyTruncated", true]])
    }))
})
