/**
 * googleapis/retry-request's `test.js` (commit 618e7dcf5d34bcac3a3a11384d84f7ee6a4afad9), ported to Sturdy's public
 * API: `SturdyClient` for retry-request's callback mode, and `Policy.withPolicy` for its stream mode (a client whose
 * response comes back with its body unread, the last response when the retries of a status end, as retry-request's
 * stream emits the last `response`), over `@sturdy/node`'s undici transport against a real node:http server on
 * 127.0.0.1 (`test/utils/retryHarness.ts`) in place of google.com and the fake `request` functions, every wait on the
 * TestClock. One `it` per retry-request case, named after it. The mapping is read from `index.js` at the same commit.
 *
 * Mapping: `retries: n` is `retry.maxAttempts: n + 1`; `noResponseRetries: n` (a count of its own for failures with no
 * response) is a `retry.retryOn` entry per transport failure, `(_, attempt) => attempt <= n`; `shouldRetryFn(response)`
 * is `retry.retryOn` (over failures: see below), and its default ranges (1xx, 429, 5xx) are `retry.statuses`;
 * `getNextRetryDelay`'s `retryDelayMultiplier^retryNumber` seconds (the first retry is `retryNumber` 1) is
 * `retry.delay: (attempt) => multiplier ** attempt × 1000` (`attempt` is the one that failed, 1 for the first);
 * `maxRetryDelay` is `retry.maxDelay`; `totalTimeout` is `totalTimeout`; `request` (the transport) is the platform
 * client, wrapped with `transformClient`; the stream's `request` events are `AttemptStarted`; `abort()` is fiber
 * interruption; a failed DNS lookup (`http://theblahstore`) is injected at connect (`connectFailures`), since
 * nothing but 127.0.0.1 is reachable. retry-request retries any method and never reads `Retry-After`
 * (`retryRequestDefaults` below says so).
 *
 * Deliberate differences (each test says which): retry-request's defaults are 2 retries (3 attempts, as Sturdy's), a
 * delay of 2^n s plus up to 1 s of jitter, up to 64 s, any method, 1xx, 429 and every 5xx; Sturdy's are 2 s doubling
 * with full jitter up to 30 s (jitter only shortens a delay), safe methods only, 408, 429 and 5xx but 501, 505 and
 * 511. A retry-request stream emits `response` for a response it then retries; Sturdy's retry stage judges failures
 * only: a 2xx is the answer and is never retried, so `shouldRetryFn` over a 200 becomes `retryOn` over a failing
 * status. retry-request shortens the last wait to end at `totalTimeout`; Sturdy does not start a retry it cannot
 * finish before the deadline and returns the failure at once (reason `"deadline"`).
 *
 * Not ported: `allows object mode` (a Node stream option: Sturdy's body is bytes), `should allow overriding
 * currentRetryAttempt` and `has an initial delay when currentRetryAttempt > 0` (resuming a count of attempts from
 * outside: Sturdy's call always starts at attempt 1, with no wait), and `should retry a 1xx code` (a 1xx is never a
 * final answer over HTTP/1.1: Node and undici consume informational responses, so a server cannot make a call end on
 * one).
 */
import { HttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Policy } from "@sturdy/http"
import { Duration, Effect, Exit, Fiber, TestClock } from "effect"
import {
  connectErrors,
  failureOf,
  gaps,
  type Handler,
  type Harness,
  interruptInFlight,
  realPause,
  send,
  setup,
  statusOf,
  textOf
} from "./utils/retryHarness.js"

/** `noResponseRetries: n`: a failure with no response retries while fewer than `n` retries were made */
const noResponseRetries = (n: number): Policy.RetryOn => ({
  ConnectionError: (_, attempt) => attempt <= n,
  Timeout: (_, attempt) => attempt <= n
})

/** `getNextRetryDelay` without its jitter: `multiplier ^ retryNumber` seconds, the first retry being number 1 */
const retryRequestDelay = (multiplier = 2) => (attempt: number) => multiplier ** attempt * 1000

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i)

/** retry-request's `DEFAULTS` as Sturdy options: 2 retries, 2^n s up to 64 s, 1xx 429 5xx, any method, 600 s */
const retryRequestDefaults = {
  totalTimeout: "600 seconds",
  retry: {
    maxAttempts: 3,
    delay: retryRequestDelay(),
    maxDelay: "64 seconds",
    statuses: [...range(100, 200), 429, ...range(500, 600)],
    methods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    respectRetryAfter: false,
    retryOn: noResponseRetries(2)
  }
} satisfies Policy.Options

const defaults = (retry: Policy.RetryOptions = {}, options: Policy.Options = {}): Policy.Options => ({
  ...retryRequestDefaults,
  ...options,
  retry: { ...retryRequestDefaults.retry, ...retry }
})

/** answers `status` until request `okAt`, then 200 `ok` */
const untilOk = (okAt: number, status: number): Handler => (_, response, n) =>
  n >= okAt ? send(response, 200, {}, "ok") : send(response, status)

/** the stream mode: the response through the policy, its body unread */
const streamOf = (h: Harness, path = "/") => Policy.withPolicy(h.platform, h.policy).get(`${h.url}${path}`)

/** one retry, at once: whether a status is retried, not when */
const once = { maxAttempts: 2, delay: () => 0 } as const
const sturdyOnce = { retry: { maxAttempts: 2, baseDelay: 0 } } as const

/** a path-addressed server: `/<status>` answers that status, every time */
const byPath: Handler = (request, response) => send(response, Number(request.path.slice(1)))

/** the calls of `statuses` on one server, each once; the number of requests each one made */
const requestsPer = (h: Harness, statuses: ReadonlyArray<number>) =>
  Effect.gen(function*() {
    for (const status of statuses) yield* h.run(h.api.get(`/${status}`))
    const counts = new Map<number, number>()
    for (const seen of h.seen) counts.set(Number(seen.path.slice(1)), (counts.get(Number(seen.path.slice(1))) ?? 0) + 1)
    return counts
  })

const retried = (counts: Map<number, number>) => [...counts].filter(([, n]) => n > 1).map(([status]) => status)

/** a 1 MiB body: the server can finish sending it only if the client reads it (else the client must close it) */
const big = "x".repeat(1024 * 1024)
const tracked = (ended: Array<number>, answer: (n: number) => [number, string]): Handler => (_, response, n) => {
  response.on("finish", () => ended.push(n))
  response.on("close", () => ended.includes(n) || ended.push(n))
  const [status, body] = answer(n)
  send(response, status, { "content-type": "text/plain" }, body)
}

describe("retry-request test.js", () => {
  describe("streams", () => {
    it.scoped("works with defaults in a stream", () =>
      Effect.gen(function*() {
        // a 404: one response, not retried, and its body completes
        const h = yield* setup((_, response) => send(response, 404, {}, "not here"), retryRequestDefaults)
        const exit = yield* h.run(
          Effect.flatMap(streamOf(h), (response) => Effect.map(response.text, (text) => [response.status, text]))
        )
        expect(exit).toEqual(Exit.succeed([404, "not here"]))
        expect(h.seen.length).toBe(1)
      }))

    it.scoped("emits an error", () =>
      Effect.gen(function*() {
        // a host that does not resolve: the error comes out (after the no-response retries)
        const h = yield* setup(untilOk(1, 200), retryRequestDefaults, {
          connectFailures: connectErrors(5, "ENOTFOUND", "getaddrinfo")
        })
        const exit = yield* h.run(streamOf(h))
        expect(Exit.isFailure(exit)).toBe(true)
        expect(failureOf(exit)).toMatchObject({ cause: { _tag: "ConnectionError", reason: "DnsLookup" } })
        expect(h.seen.length).toBe(0)
      }))

    it.scoped("emits a `request` event on each request", () =>
      Effect.gen(function*() {
        // shouldRetryFn retries the first two answers: three requests, three events. Sturdy retries failures only (a
        // 200 is the answer): the first two answers are 503s, and the third a 200
        let requestsEmitted = 0
        const h = yield* setup(
          untilOk(3, 503),
          defaults({ retryOn: () => true }, {
            onEvent: (event) => Effect.sync(() => event._tag === "AttemptStarted" && requestsEmitted++)
          })
        )
        expect(textOf(yield* h.run(h.api.get("/")))).toBe("ok")
        expect(requestsEmitted).toBe(3)
        expect(h.seen.length).toBe(3)
      }))

    it.scoped("exposes an `abort` function to match request", () =>
      Effect.gen(function*() {
        // after the error, aborting is still possible and harmless: interrupting the ended call gives its error back
        const h = yield* setup(untilOk(1, 200), retryRequestDefaults, {
          connectFailures: connectErrors(5, "ENOTFOUND", "getaddrinfo")
        })
        const fiber = yield* Effect.fork(Effect.provideService(h.api.get("/"), Policy.Policy, h.policy))
        while (fiber.unsafePoll() === null) {
          yield* TestClock.adjust("10 seconds")
          yield* realPause
        }
        const exit = yield* Fiber.interrupt(fiber)
        expect(failureOf(exit)).toMatchObject({ _tag: "ConnectionError", reason: "DnsLookup" })
      }))

    it.scoped("works on the last attempt", () =>
      Effect.gen(function*() {
        // 503, 503, then 200: the two 503s are closed (read or aborted, never left open), the 200 completes
        const ended: Array<number> = []
        const h = yield* setup(tracked(ended, (n) => n < 3 ? [503, big] : [200, "done"]), retryRequestDefaults)
        const exit = yield* h.run(Effect.flatMap(streamOf(h), (response) => response.text))
        expect(exit).toEqual(Exit.succeed("done"))
        expect(h.seen.length).toBe(3)
        for (let i = 0; i < 500 && ended.length < 2; i++) yield* realPause
        expect([...ended].sort().slice(0, 2)).toEqual([1, 2])
      }))

    it.scoped("never succeeds", () =>
      Effect.gen(function*() {
        // 503 forever: three attempts, the first two closed, and the last 503 is the response
        const ended: Array<number> = []
        const h = yield* setup(tracked(ended, () => [503, big]), retryRequestDefaults)
        const exit = yield* h.run(streamOf(h))
        expect(Exit.isSuccess(exit) && exit.value.status).toBe(503)
        expect(h.seen.length).toBe(3)
        for (let i = 0; i < 500 && ended.length < 2; i++) yield* realPause
        expect([...ended].sort().slice(0, 2)).toEqual([1, 2])
      }))

    it.scoped("forwards a request error", () =>
      Effect.gen(function*() {
        // a 200 whose body then fails: the error comes out of the body, and nothing is retried (the response was
        // already handed over, as `Policy.withPolicy` documents for a 2xx's body)
        const h = yield* setup((_, response) => {
          response.writeHead(200, { "content-length": "10" })
          response.write("abc")
          setTimeout(() => response.socket?.destroy(), 5)
        }, retryRequestDefaults)
        const exit = yield* h.run(Effect.flatMap(streamOf(h), (response) => response.text))
        expect(Exit.isFailure(exit)).toBe(true)
        expect(h.seen.length).toBe(1)
        expect(h.decisions).toEqual([])
      }))
  })

  describe("callbacks", () => {
    it.scoped("works with defaults with a callback", () =>
      Effect.gen(function*() {
        const h = yield* setup(untilOk(2, 404), retryRequestDefaults)
        expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ _tag: "ClientError", status: 404 })
        expect(h.seen.length).toBe(1)
      }))

    it.scoped("exposes an `abort` function", () =>
      Effect.gen(function*() {
        // abort() aborts the request in flight: the call ends interrupted and the request is aborted under the server
        const h = yield* setup(() => {}, retryRequestDefaults)
        yield* interruptInFlight(h, "/")
        yield* TestClock.adjust("1 minute")
        expect(h.seen.length).toBe(1)
      }))

    it.scoped("returns an error", () =>
      Effect.gen(function*() {
        const h = yield* setup(untilOk(1, 200), retryRequestDefaults, {
          connectFailures: connectErrors(5, "ENOTFOUND", "getaddrinfo")
        })
        const failure = failureOf(yield* h.run(h.api.get("/")))
        expect(typeof failure).toBe("object")
        expect(failure).toMatchObject({ _tag: "ConnectionError", reason: "DnsLookup" })
      }))
  })

  describe("overriding", () => {
    it.scoped("should ignore undefined options", () =>
      Effect.gen(function*() {
        // an option set to `undefined` is the default: 3 attempts of a lookup that fails, then its error
        const h = yield* setup(untilOk(1, 200), { retry: { maxAttempts: undefined, baseDelay: 0 } }, {
          connectFailures: connectErrors(5, "ENOTFOUND", "getaddrinfo")
        })
        const failure = failureOf(yield* h.run(h.api.get("/")))
        expect(failure).toMatchObject({ _tag: "ConnectionError", reason: "DnsLookup" })
        expect(Policy.attemptsOf(failure)).toBe(3)
      }))

    it.scoped("should allow overriding retries", () =>
      Effect.gen(function*() {
        // retries: 0: one attempt
        const h = yield* setup(untilOk(2, 503), defaults({ maxAttempts: 1 }))
        expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ status: 503 })
        expect(h.seen.length).toBe(1)
      }))

    it.scoped("should use default noResponseRetries", () =>
      Effect.gen(function*() {
        // 2 no-response retries: 3 attempts, then the error; Sturdy's defaults agree (3 attempts in all)
        for (const options of [retryRequestDefaults, { retry: { baseDelay: 0 } }]) {
          const h = yield* setup(untilOk(1, 200), options, {
            connectFailures: connectErrors(5, "ENOTFOUND", "getaddrinfo")
          })
          const failure = failureOf(yield* h.run(h.api.get("/")))
          expect(failure).toMatchObject({ _tag: "ConnectionError", reason: "DnsLookup" })
          expect(Policy.attemptsOf(failure)).toBe(3)
        }
      }))

    it.scoped("should allow overriding noResponseRetries", () =>
      Effect.gen(function*() {
        // noResponseRetries: 0: one attempt
        const h = yield* setup(untilOk(1, 200), defaults({ retryOn: noResponseRetries(0) }), {
          connectFailures: connectErrors(5, "ENOTFOUND", "getaddrinfo")
        })
        const failure = failureOf(yield* h.run(h.api.get("/")))
        expect(failure).toMatchObject({ _tag: "ConnectionError", reason: "DnsLookup" })
        expect(Policy.attemptsOf(failure)).toBe(1)
      }))

    it.scoped("should allow overriding shouldRetryFn", () =>
      Effect.gen(function*() {
        // retries: 1, a shouldRetryFn that says yes: it is asked, and the 404 (no default retries it) is retried once
        let asked = 0
        const h = yield* setup(untilOk(3, 404), defaults({ maxAttempts: 2, retryOn: () => (asked++, true) }))
        expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ status: 404 })
        expect(asked).toBeGreaterThan(0)
        expect(h.seen.length).toBe(2)
      }))

    it.scoped("should allow overriding request", () =>
      Effect.gen(function*() {
        // the caller's own transport is the one used
        const used: Array<string> = []
        const h = yield* setup(untilOk(1, 200), retryRequestDefaults, {
          client: {
            transformClient: (client) =>
              HttpClient.tapRequest(client, (request) => Effect.sync(() => used.push(request.url)))
          }
        })
        expect(textOf(yield* h.run(h.api.get("/")))).toBe("ok")
        expect(used).toEqual([`${h.url}/`])
      }))
  })

  describe("shouldRetryFn", () => {
    it.scoped("should not retry a 2xx code", () =>
      Effect.gen(function*() {
        const h = yield* setup(byPath, defaults(once))
        const counts = yield* requestsPer(h, range(200, 299))
        expect(counts.size).toBe(99)
        expect(retried(counts)).toEqual([])
      }))

    it.scoped("should not retry a 3xx code", () =>
      Effect.gen(function*() {
        const h = yield* setup(byPath, defaults(once))
        const counts = yield* requestsPer(h, range(300, 399))
        expect(counts.size).toBe(99)
        expect(retried(counts)).toEqual([])
      }))

    it.scoped("should not retry a 4xx code", () =>
      Effect.gen(function*() {
        // 400 to 498 but 428 and 429: none retried with retry-request's ranges; Sturdy's defaults differ on 408 (a
        // request timeout is transient), and retry a 413 only when the server names a wait (none here)
        const statuses = [...range(400, 428), ...range(430, 499)]
        const peer = yield* setup(byPath, defaults(once))
        expect(retried(yield* requestsPer(peer, statuses))).toEqual([])
        const sturdy = yield* setup(byPath, sturdyOnce)
        expect(retried(yield* requestsPer(sturdy, statuses))).toEqual([408])
      }))

    it.scoped("should retry a 429 code", () =>
      Effect.gen(function*() {
        for (const options of [retryRequestDefaults, { retry: { baseDelay: 0 } }]) {
          const h = yield* setup(untilOk(2, 429), options)
          expect(textOf(yield* h.run(h.api.get("/")))).toBe("ok")
          expect(h.seen.length).toBe(2)
        }
      }))

    it.scoped("should retry a 5xx code", () =>
      Effect.gen(function*() {
        // 500 to 598: all retried with retry-request's ranges; Sturdy's defaults leave out 501, 505 and 511 (the
        // server's configuration, not its load)
        const statuses = range(500, 599)
        const peer = yield* setup(byPath, defaults(once))
        expect(retried(yield* requestsPer(peer, statuses))).toEqual(statuses)
        const sturdy = yield* setup(byPath, sturdyOnce)
        expect(retried(yield* requestsPer(sturdy, statuses))).toEqual(
          statuses.filter((s) => ![501, 505, 511].includes(s))
        )
      }))
  })

  it.scoped("should not do any retries if unnecessary", () =>
    Effect.gen(function*() {
      // a shouldRetryFn that says no is asked once, and nothing is retried. (Sturdy asks about failures only: a 200 is
      // never put to it, so the failing answer here is a 503)
      let asked = 0
      const h = yield* setup(untilOk(2, 503), defaults({ retryOn: () => (asked++, false) }))
      expect(statusOf(failureOf(yield* h.run(h.api.get("/"))))).toBe(503)
      expect(asked).toBe(1)
      expect(h.seen.length).toBe(1)
      const ok = yield* setup(untilOk(1, 503), defaults({ retryOn: () => (asked++, false) }))
      expect(textOf(yield* ok.run(ok.api.get("/")))).toBe("ok")
      expect(asked).toBe(1)
    }))
})

describe("retry-request test.js getNextRetryDelay", () => {
  const failing = (times: number): Handler => untilOk(times + 1, 503)

  it.scoped("should return exponential retry delay", () =>
    Effect.gen(function*() {
      // retries 1 to 5 wait 2^n s (retry-request adds up to 1 s of jitter; Sturdy's delay function is the caller's,
      // and its own jitter only shortens a delay: with "full", each wait is at most 2^n s)
      const h = yield* setup(failing(5), defaults({ maxAttempts: 6 }))
      expect(textOf(yield* h.run(h.api.get("/")))).toBe("ok")
      expect(gaps(h)).toEqual([2000, 4000, 8000, 16_000, 32_000])
      const jittered = yield* setup(
        failing(5),
        defaults({ maxAttempts: 6, delay: undefined, baseDelay: "2 seconds", maxDelay: "64 seconds", jitter: "full" })
      )
      expect(textOf(yield* jittered.run(jittered.api.get("/")))).toBe("ok")
      gaps(jittered).forEach((wait, i) => expect(wait).toBeLessThanOrEqual(2000 * 2 ** i))
    }))

  it.scoped("should allow overriding the multiplier", () =>
    Effect.gen(function*() {
      // multipliers 1 to 5: the first retry waits multiplier^1 s
      for (const multiplier of [1, 2, 3, 4, 5]) {
        const h = yield* setup(failing(1), defaults({ delay: retryRequestDelay(multiplier) }))
        expect(textOf(yield* h.run(h.api.get("/")))).toBe("ok")
        expect(gaps(h)).toEqual([multiplier * 1000])
      }
    }))

  it.scoped("should honor total timeout setting", () =>
    Effect.gen(function*() {
      // 30 s into a 60 s totalTimeout, a delay that would be enormous (multiplier 10, retry 10, maxRetryDelay 1e9 s):
      // retry-request waits the 30 s left and tries at the deadline; Sturdy does not start a retry it cannot finish in
      // time: the 503 comes back at 30 s, and no wait runs past the deadline. (`maxDelay` is held to 24 days here:
      // Sturdy refuses a longer one, which no timer can hold)
      const h = yield* setup(
        (_, response, __, tools) => tools.later(30_000, () => send(response, 503)),
        defaults({ delay: (attempt) => 10 ** (attempt + 9) * 1000, maxDelay: "24 days" }, {
          totalTimeout: "60 seconds",
          attemptTimeout: "45 seconds"
        })
      )
      const start = yield* TestClock.currentTimeMillis
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(statusOf(failure)).toBe(503)
      expect((yield* TestClock.currentTimeMillis) - start).toBe(30_000)
      expect(h.decisions.map((d) => [d.reason, d.retrying])).toEqual([["deadline", false]])
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("should return maxRetryDelay if calculated retry would be too high", () =>
    Effect.gen(function*() {
      // retry number 100: held to maxRetryDelay, 64 s; and to 1 s with maxRetryDelay 1
      const huge = (attempt: number) => 2 ** (attempt + 99) * 1000
      for (const [maxDelay, expected] of [["64 seconds", 64_000], ["1 second", 1000]] as const) {
        const h = yield* setup(failing(1), defaults({ delay: huge, maxDelay }))
        expect(textOf(yield* h.run(h.api.get("/")))).toBe("ok")
        expect(gaps(h)).toEqual([expected])
        expect(h.decisions.map((d) => Duration.toMillis(d.delay))).toEqual([expected])
      }
    }))
})
