/**
 * npm/make-fetch-happen's retry and timeout cases of `test/fetch.js` (commit
 * 36435b4fd8e68ff77fda4ac515d3dea198da2cb9), ported to Sturdy's public API: `SturdyClient` (and `Policy.withPolicy`
 * where make-fetch-happen resolves with the last response) over `@sturdy/node`'s undici transport against a real
 * node:http server on 127.0.0.1 (`test/utils/retryHarness.ts`) in place of nock, every wait on the TestClock. One `it`
 * per make-fetch-happen case, named after it (its `t.test` path joined with ": "). A second `describe` checks the retry
 * rules of its `lib/remote.js` and `lib/options.js` (the errors and statuses it retries, POST never retried): those
 * are its source, not its test cases, and are named as such.
 *
 * Mapping: `retry: { retries: n }` (and the shorthand `retry: n`) is `retry.maxAttempts: n + 1`; `retry: false` (and
 * an unset `retry`, which make-fetch-happen reads as `retries: 0`) is `retry: false`; promise-retry's `minTimeout` is
 * `retry.baseDelay`, `maxTimeout` is `retry.maxDelay`, `factor` is the backoff's doubling (Sturdy's factor is 2,
 * node-retry's default), `randomize: false` (node-retry's default) is `jitter: "none"`; `timeout` (each attempt's) is
 * `attemptTimeout`; `onRetry(res | err)` is `onEvent`'s `RetryDecision` (`h.decisions`: its `failure` is the status
 * failure where make-fetch-happen passes the response, the `ConnectionError` where it passes the error); the
 * `x-fetch-attempts` header of the response is `retryCountHeader` as the server sees it (`x-retry-count` of the last
 * request + 1) and, on a failure, `Policy.attemptsOf`; its `log.http` line ("GET url attempt 1 failed with 500") is
 * the decision's `failure` and its `attempt` - 1 (a decision names the attempt it starts: 2 for the first retry); nock's `replyWithError({ code: 'ECONNRESET' })` is a server that destroys
 * the socket (`ConnectionError`, reason `Reset`); nock's `.delay(ms)` is a server answering `ms` later on the
 * TestClock; a stream body (`Minipass`) is `HttpBody.stream`; `srv.isDone()` is the requests the server saw.
 *
 * Deliberate differences (each test says which): make-fetch-happen resolves with a response whatever its status
 * ("500-level responses not thrown"); in Sturdy a non-2xx status is a typed failure, and `Policy.withPolicy` hands back
 * the last response instead. make-fetch-happen retries 420 (Twitter's "enhance your calm") and every status from 500
 * up; Sturdy retries 408, 429 and 5xx but 501, 505 and 511 by default, not 420 (`retry.statuses` gives
 * make-fetch-happen's list). make-fetch-happen never retries a POST, even after a refused connection; Sturdy repeats
 * a POST whose failure proves it was never sent (`retry.retryUnsent`), and one listed in `retry.methods` or carrying
 * an `Idempotency-Key`. make-fetch-happen does not retry ENOTFOUND (a failed DNS lookup); Sturdy does (nothing was
 * sent; an unreachable resolver is transient). make-fetch-happen does not read `Retry-After` at all (its waits are
 * promise-retry's backoff alone); Sturdy honours it on 413, 429 and 503, and has no case here for it.
 *
 * Not ported: the rest of `test/fetch.js` (remote content, http/https, custom headers, redirects, protocol switching,
 * authorization and cookie stripping, streaming content, proxy, agent config, 15 concurrent requests, integrity; the
 * commented-out "pass opts to fetch.Request as well as agent", "retries non-POST requests on ECONNRESET" and
 * "supports automatic agent pooling on unique configs"): not retry nor timeout behaviour, or no body. `test/options.js`
 * (the `retry` shorthand parsing: "one" and `{}` read as no retry, "10" as 10 retries): a `Policy`'s options are typed,
 * so there is no string to parse; the number and `false` shorthands are ported below. The other test files (cache,
 * integrity, events, redirect, pipeline, defaults) set `retry: false` and test nothing about it. promise-retry's and
 * node-retry's own backoff cases (factor, maxTimeout, randomize) are ported in
 * `packages/policy/test/peer-node-retry-async-retry.test.ts` and not repeated here.
 */
import { HttpBody, HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Policy } from "@sturdy/http"
import { Effect, Exit, Stream } from "effect"
import type * as Http from "node:http"
import {
  connectErrors,
  delays,
  failureOf,
  fixture,
  gaps,
  type Handler,
  type Harness,
  send,
  setup,
  statusOf,
  textOf
} from "./utils/retryHarness.js"

/** make-fetch-happen's CONTENT */
const CONTENT = "hello, world!"

/** promise-retry's waits as make-fetch-happen's tests give them: `minTimeout`, doubling, no randomness */
const promiseRetry = (retries: number, minTimeout: number) =>
  ({ maxAttempts: retries + 1, baseDelay: `${minTimeout} millis`, jitter: "none" }) as const

/** nock's `replyWithError({ code: 'ECONNRESET' })`: the connection is cut before an answer */
const cut = (response: Http.ServerResponse) => response.socket?.destroy()

/** answers `status` until request `okAt`, then `okStatus` with CONTENT */
const failUntil = (status: number, okAt: number, okStatus = 200): Handler => (_, response, n) =>
  n >= okAt ? send(response, okStatus, {}, CONTENT) : send(response, status)

/** nock's `.delay(100)` on the first `slow` requests, then CONTENT at once */
const slowUntil = (okAt: number): Handler => (_, response, n, tools) =>
  n >= okAt
    ? send(response, 200, {}, CONTENT)
    : tools.later(100, () => send(response, 200))

/** make-fetch-happen's `x-fetch-attempts`: the attempt number of the last request the server saw */
const fetchAttempts = (h: Harness) => Number(h.seen.at(-1)!.headers["x-retry-count"]) + 1

/** a request through `Policy.withPolicy`: the last response comes back whatever its status, as make-fetch-happen's */
const raw = (h: Harness, request: HttpClientRequest.HttpClientRequest) =>
  h.run(Policy.withPolicy(h.platform, h.policy).execute(request))

const statusOfResponse = <E>(exit: Exit.Exit<{ readonly status: number }, E>) =>
  Exit.isSuccess(exit) ? exit.value.status : `failed: ${String(exit.cause)}`

describe("make-fetch-happen test/fetch.js", () => {
  it.scoped("500-level responses not thrown: 500 response", () =>
    Effect.gen(function*() {
      // make-fetch-happen resolves with the 500; in Sturdy it is a typed failure, and `withPolicy` returns the response
      const h = yield* setup((_, response) => send(response, 500), { retry: false, retryCountHeader: true })
      expect(failureOf(yield* h.run(h.api.get("/test-500")))).toMatchObject({ _tag: "ServerError", status: 500 })
      expect(statusOfResponse(yield* raw(h, HttpClientRequest.get(`${h.url}/test-500`)))).toBe(500)
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("500-level responses not thrown: 543 response", () =>
    Effect.gen(function*() {
      // a status Node has no name for comes back as given
      const h = yield* setup((_, response) => send(response, 543), { retry: false })
      const failure = failureOf(yield* h.run(h.api.get("/test-543")))
      expect(failure).toMatchObject({ _tag: "ServerError", status: 543 })
      expect(statusOfResponse(yield* raw(h, HttpClientRequest.get(`${h.url}/test-543`)))).toBe(543)
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("calls opts.onRetry: when request is retriable", () =>
    Effect.gen(function*() {
      // retries: 1; 500 then 200: the hook is called once, with the 500, and the answer came on attempt 2
      const h = yield* setup(failUntil(500, 2), { retry: { maxAttempts: 2 }, retryCountHeader: true })
      expect(textOf(yield* h.run(h.api.get("/test-onretry")))).toBe(CONTENT)
      expect(fetchAttempts(h)).toBe(2)
      expect(h.decisions.filter((d) => d.retrying).length).toBe(1)
      // its log line: "GET …/test-onretry attempt 1 failed with 500" (the decision's `attempt` is the retry's: 2)
      expect(h.decisions.map((d) => [d.attempt - 1, d.failure._tag, statusOf(d.failure)])).toEqual([
        [1, "ServerError", 500]
      ])
      expect(h.seen.map((s) => `${s.method} ${s.path}`)).toEqual(["GET /test-onretry", "GET /test-onretry"])
    }))

  it.scoped("calls opts.onRetry: when request is retriable; and caught", () =>
    Effect.gen(function*() {
      // the connection is reset, then CONTENT: the hook gets the connection failure (make-fetch-happen's err.code
      // 'ECONNRESET'), which names the request's URL, and the body arrives
      const h = yield* setup(
        (_, response, n) => n === 1 ? cut(response) : send(response, 200, {}, CONTENT),
        { retry: { maxAttempts: 2 }, retryCountHeader: true }
      )
      expect(textOf(yield* h.run(h.api.get("/catch-retry")))).toBe(CONTENT)
      expect(fetchAttempts(h)).toBe(2)
      expect(h.decisions.length).toBe(1)
      const [decision] = h.decisions
      // "attempt 1 failed with ECONNRESET": the decision is about attempt 2, the retry
      expect(decision).toMatchObject({ attempt: 2, retrying: true })
      expect(decision!.failure).toMatchObject({ _tag: "ConnectionError", reason: "Reset" })
      expect("url" in decision!.failure && decision!.failure.url).toBe(`${h.url}/catch-retry`)
    }))

  it.scoped("calls opts.onRetry: onRetry not supplied", () =>
    Effect.gen(function*() {
      // no hook of the caller's (the harness's own only records): the retry happens the same
      const h = yield* setup(
        (_, response, n) => n === 1 ? cut(response) : send(response, 200, {}, CONTENT),
        { retry: { maxAttempts: 2 }, retryCountHeader: true }
      )
      expect(textOf(yield* h.run(h.api.get("/catch-retry")))).toBe(CONTENT)
      expect(fetchAttempts(h)).toBe(2)
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("supports opts.timeout for controlling request timeout time", () =>
    Effect.gen(function*() {
      // timeout 1 ms, no retry, a server answering after 10 ms: a timeout failure (its 'request-timeout') at 1 ms
      const h = yield* setup((_, response, __, tools) => tools.later(10, () => send(response, 200, {}, CONTENT)), {
        attemptTimeout: "1 millis",
        retry: false
      })
      const failure = failureOf(yield* h.run(h.api.get("/test")))
      expect(failure).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("retries non-POST requests on timeouts: retries request", () =>
    Effect.gen(function*() {
      // timeout 10 ms, retries 4, minTimeout 5: four attempts time out, the fifth is answered
      const h = yield* setup(slowUntil(5), {
        attemptTimeout: "10 millis",
        retry: promiseRetry(4, 5),
        retryCountHeader: true
      })
      expect(textOf(yield* h.run(h.api.get("/test")))).toBe(CONTENT)
      expect(fetchAttempts(h)).toBe(5)
      expect(h.decisions.map((d) => d.failure._tag)).toEqual(["Timeout", "Timeout", "Timeout", "Timeout"])
      // each gap: the 10 ms the attempt lasted, then promise-retry's wait (5, 10, 20, 40 ms)
      expect(delays(h)).toEqual([5, 10, 20, 40])
      expect(gaps(h)).toEqual([15, 20, 30, 50])
    }))

  it.scoped("retries non-POST requests on timeouts: throws if not enough retries", () =>
    Effect.gen(function*() {
      // retries 1: both attempts time out, and the call fails with the timeout
      const h = yield* setup(slowUntil(Infinity), { attemptTimeout: "10 millis", retry: promiseRetry(1, 1) })
      const failure = failureOf(yield* h.run(h.api.get("/test")))
      expect(failure).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect(Policy.attemptsOf(failure)).toBe(2)
      expect(h.seen.length).toBe(2)
      expect(gaps(h)).toEqual([11])
    }))

  it.scoped("retries non-POST requests on 500 errors: retries request", () =>
    Effect.gen(function*() {
      const h = yield* setup(failUntil(500, 5), { retry: promiseRetry(4, 5), retryCountHeader: true })
      expect(textOf(yield* h.run(h.api.get("/test")))).toBe(CONTENT)
      expect(fetchAttempts(h)).toBe(5)
      expect(gaps(h)).toEqual([5, 10, 20, 40])
    }))

  it.scoped("retries non-POST requests on 500 errors: returns 500 if at max retries", () =>
    Effect.gen(function*() {
      // make-fetch-happen resolves with the last 500 (`withPolicy` here); `SturdyClient` fails with it
      const h = yield* setup((_, response) => send(response, 500), { retry: promiseRetry(1, 1) })
      const failure = failureOf(yield* h.run(h.api.get("/test")))
      expect(statusOf(failure)).toBe(500)
      expect(Policy.attemptsOf(failure)).toBe(2)
      expect(h.seen.length).toBe(2)
      expect(statusOfResponse(yield* raw(h, HttpClientRequest.get(`${h.url}/test`)))).toBe(500)
      expect(h.seen.length).toBe(4)
    }))

  it.scoped("retries non-POST requests on 500 errors: returns 500 error on POST requests", () =>
    Effect.gen(function*() {
      // retries 3, but a POST is not repeated after it reached the server (Sturdy's default, as make-fetch-happen's)
      const h = yield* setup((_, response) => send(response, 500), { retry: promiseRetry(3, 1) })
      const failure = failureOf(yield* h.run(h.api.post("/test")))
      expect(statusOf(failure)).toBe(500)
      expect(Policy.attemptsOf(failure)).toBe(1)
      expect(h.seen.map((s) => s.method)).toEqual(["POST"])
    }))

  it.scoped("retries non-POST requests on 500 errors: does not retry because POST body is stream", () =>
    Effect.gen(function*() {
      // a PUT (idempotent) with a body read once: the 500 comes back after one attempt, the body sent whole
      const h = yield* setup((_, response) => send(response, 500), { retry: promiseRetry(5, 1) })
      const body = HttpBody.stream(Stream.make(new TextEncoder().encode("bleh")))
      const failure = failureOf(yield* h.run(h.api.put("/test", { body })))
      expect(statusOf(failure)).toBe(500)
      expect(Policy.attemptsOf(failure)).toBe(1)
      expect(h.seen.map((s) => [s.method, s.body])).toEqual([["PUT", "bleh"]])
    }))

  it.scoped("retries non-POST requests on 500 errors: successfully retries with request body", () =>
    Effect.gen(function*() {
      // a PUT with a buffer body: four 500s, then 201; every attempt carries the whole body
      const h = yield* setup(failUntil(500, 5, 201), { retry: promiseRetry(4, 5), retryCountHeader: true })
      const body = HttpBody.uint8Array(new TextEncoder().encode("great success!"))
      expect(textOf(yield* h.run(h.api.put("/put-test", { body })))).toBe(CONTENT)
      expect(fetchAttempts(h)).toBe(5)
      expect(h.seen.map((s) => s.body)).toEqual(Array(5).fill("great success!"))
      expect(h.seen.every((s) => s.method === "PUT")).toBe(true)
    }))

  it.scoped("accepts opts.retry shorthands: false value for retry", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response) => send(response, 500), { retry: false, retryCountHeader: true })
      const failure = failureOf(yield* h.run(h.api.get("/test")))
      expect(statusOf(failure)).toBe(500)
      // with `retry: false` no retry stage counts attempts (`attemptsOf` is documented `undefined` then)
      expect(Policy.attemptsOf(failure)).toBeUndefined()
      expect(fetchAttempts(h)).toBe(1)
    }))

  it.scoped("accepts opts.retry shorthands: numeric value for retry", () =>
    Effect.gen(function*() {
      // `retry: 1` is one retry, after promise-retry's default wait (1 s); Sturdy's default wait is up to 2 s (full
      // jitter on a 2 s base)
      const h = yield* setup(failUntil(500, 2), { retry: { maxAttempts: 2 }, retryCountHeader: true })
      expect(textOf(yield* h.run(h.api.get("/test")))).toBe(CONTENT)
      expect(fetchAttempts(h)).toBe(2)
      expect(gaps(h)[0]).toBeLessThanOrEqual(2000)
      expect(delays(h)).toEqual(gaps(h))
    }))

  it.scoped("accepts opts.retry shorthands: numeric value for retry, with error", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response) => send(response, 500), { retry: { maxAttempts: 2 } })
      const failure = failureOf(yield* h.run(h.api.get("/test")))
      expect(statusOf(failure)).toBe(500)
      expect(Policy.attemptsOf(failure)).toBe(2)
      expect(h.seen.length).toBe(2)
    }))
})

describe("make-fetch-happen lib/remote.js retry rules (its source, not its test cases)", () => {
  const noWait = { baseDelay: 0, maxDelay: 0 } as const
  const mfhStatuses = [408, 420, 429, 500, 501, 502, 503, 504, 505, 511, 599]

  it.scoped("retries 408, 420, 429 and every status from 500", () =>
    Effect.gen(function*() {
      // with make-fetch-happen's list as `retry.statuses`, each is retried once
      for (const status of mfhStatuses) {
        const h = yield* setup(failUntil(status, 2), { retry: { ...noWait, maxAttempts: 2, statuses: mfhStatuses } })
        expect(textOf(yield* h.run(h.api.get("/")))).toBe(CONTENT)
        expect(h.seen.length).toBe(2)
      }
      // Sturdy's own rules: not 420, nor 501, 505 and 511
      const retried: Array<number> = []
      for (const status of mfhStatuses) {
        const h = yield* setup(failUntil(status, 2), { retry: { ...noWait, maxAttempts: 2 } })
        if (Exit.isSuccess(yield* h.run(h.api.get("/")))) retried.push(status)
      }
      expect(retried).toEqual([408, 429, 500, 502, 503, 504, 599])
    }))

  it.scoped("retries ECONNRESET, ECONNREFUSED, EADDRINUSE and ETIMEDOUT (RETRY_ERRORS)", () =>
    Effect.gen(function*() {
      const reset = yield* setup((_, response, n) => n === 1 ? cut(response) : send(response, 200, {}, fixture), {
        retry: { ...noWait, maxAttempts: 2 }
      })
      expect(textOf(yield* reset.run(reset.api.get("/")))).toBe(fixture)
      expect(reset.decisions.map((d) => d.failure)).toMatchObject([{ _tag: "ConnectionError", reason: "Reset" }])
      const reasons: Array<string> = []
      for (const code of ["ECONNREFUSED", "EADDRINUSE", "ETIMEDOUT"]) {
        const h = yield* setup((_, response) => send(response, 200, {}, fixture), {
          retry: { ...noWait, maxAttempts: 2 }
        }, {
          connectFailures: connectErrors(1, code)
        })
        expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
        expect(h.seen.length).toBe(1)
        reasons.push(`${code}: ${h.decisions.map((d) => "reason" in d.failure ? d.failure.reason : "?").join()}`)
      }
      // EADDRINUSE while connecting: the connection never opened, so Sturdy knows the request unsent
      expect(reasons).toEqual(["ECONNREFUSED: Refused", "EADDRINUSE: ConnectTimeout", "ETIMEDOUT: ConnectTimeout"])
    }))

  it.scoped("never retries a POST (not even a refused connection)", () =>
    Effect.gen(function*() {
      // make-fetch-happen rethrows a POST's error at once; Sturdy repeats a POST that was never sent (a refused
      // connection) unless `retryUnsent: false`, and never one that may have reached the server (a reset)
      const refused = yield* setup((_, response) => send(response, 200, {}, fixture), {
        retry: { ...noWait, maxAttempts: 2 }
      }, { connectFailures: connectErrors(1, "ECONNREFUSED") })
      expect(textOf(yield* refused.run(refused.api.post("/")))).toBe(fixture)
      const strict = yield* setup((_, response) => send(response, 200, {}, fixture), {
        retry: { ...noWait, maxAttempts: 2, retryUnsent: false }
      }, { connectFailures: connectErrors(1, "ECONNREFUSED") })
      expect(failureOf(yield* strict.run(strict.api.post("/")))).toMatchObject({
        _tag: "ConnectionError",
        reason: "Refused"
      })
      expect(strict.seen.length).toBe(0)
      const reset = yield* setup((_, response, n) => n === 1 ? cut(response) : send(response, 200, {}, fixture), {
        retry: { ...noWait, maxAttempts: 2 }
      })
      expect(failureOf(yield* reset.run(reset.api.post("/")))).toMatchObject({
        _tag: "ConnectionError",
        reason: "Reset"
      })
      expect(reset.seen.length).toBe(1)
    }))
})
