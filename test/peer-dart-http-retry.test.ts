/**
 * Dart's `package:http` RetryClient: `pkgs/http/test/http_retry_test.dart` (dart-lang/http, commit
 * a0d49cb2f80eae038c835394014aadcae8a95c8b; defaults read from `pkgs/http/lib/retry.dart`, same commit), ported to
 * Sturdy's public API: `Policy.withPolicy` (a client → client transform, as RetryClient wraps a `Client`) over
 * `@sturdy/node`'s undici transport against a real node:http server on 127.0.0.1 (`test/utils/retryHarness.ts`), every
 * wait on the TestClock. One `it` per Dart case, named after it (its `group` prefixed).
 *
 * Mapping: `retries: n` is `retry.maxAttempts: n + 1`; `when(response)` is `retry.retryOn` on the failures with a status
 * (it sees the failure, which carries `status` and `headers`), `whenError(error)` is `retry.retryOn` on the failures
 * without one (a thrown error of the inner client is a server that cuts the connection: `ConnectionError`, reason
 * `Reset`); `delay(retryCount)` (0-based) is `retry.delay(attempt)` (1-based: `attempt - 1` is Dart's `retryCount`);
 * `RetryClient.withDelays(delays)` is `maxAttempts: delays.length + 1` with `delay: (attempt) => delays[attempt - 1]`;
 * `onRetry(request, response, retryCount)` is the `RetryDecision` event (`attempt` = `retryCount + 2`, `failure.status`
 * the response's); `RequestAbortedException` is the caller interrupting the call (an aborted request is never retried).
 * RetryClient's defaults (3 retries, only 503, no error retried, 500 ms × 1.5^retryCount) are `dartDefaults` below;
 * `MockClient` is the loopback server and `expectAsync1(count: n)` the number of requests it saw. RetryClient returns
 * the last response when retries end, as `Policy.withPolicy` does.
 *
 * Deliberate differences (each test says which): Sturdy's own defaults differ (3 attempts, 2 s exponential backoff with
 * full jitter, every 5xx but 501, 505 and 511 retried, and 408 and 429), so every case states RetryClient's; `when`
 * sees every response in Dart, where `retryOn` is asked about failures only (a 2xx is never retried); Dart's `onRetry`
 * runs after the wait, just before the retry, where `RetryDecision` is reported when the wait is decided; RetryClient
 * repeats a POST, where Sturdy repeats one only when `retry.methods` lists it (or it carries an Idempotency-Key);
 * `when`, `whenError` are synchronous predicates in Sturdy (a Promise-returning `retryOn` is a defect), so "async when,
 * whenError and onRetry" is ported to what its `onRetry` does (set `Authorization` and replay a 401):
 * `Auth.layerBearerFrom` with a token source that takes 500 ms. RetryClient copies any request body, a `StreamedRequest`'s too (its doc warns of the memory);
 * Sturdy never repeats a request whose body is read once (a `Stream` body), documented in `Policy` (Dart's suite has no
 * case with a streamed body to replay, so none is ported for it).
 *
 * Not ported: the `followRedirects` / `maxRedirects` parts of "copies all request attributes for each attempt"
 * (redirects are `Redirect.follow`, a separate middleware, and are not followed here), and its `persistentConnection`
 * part (undici decides connection reuse; the request's `Connection` header is not an option of Sturdy's).
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import type { HttpFailure } from "@sturdy/http"
import { Auth, Policy } from "@sturdy/http"
import { Cause, Context, Duration, Effect, Exit, Fiber, Layer, Option, Redacted, TestClock } from "effect"
import { type Harness, interruptInFlight, realPause, send, setup, statusOf } from "./utils/retryHarness.js"

interface RetryClientOptions {
  readonly retries?: number
  readonly when?: (failure: HttpFailure.HttpFailure) => boolean
  readonly whenError?: (failure: HttpFailure.HttpFailure) => boolean
  /** Dart's `delay(retryCount)`, 0-based, in milliseconds */
  readonly delay?: (retryCount: number) => number
}

/** RetryClient's defaults (3 retries, 503 only, no error retried, 500 ms × 1.5^retryCount), with Dart's overrides */
const dartDefaults = (options: RetryClientOptions = {}): Policy.RetryOptions => {
  const when = options.when ?? ((failure) => statusOf(failure) === 503)
  const whenError = options.whenError ?? (() => false)
  const delay = options.delay ?? ((retryCount) => 500 * 1.5 ** retryCount)
  return {
    maxAttempts: (options.retries ?? 3) + 1,
    retryOn: (failure) => statusOf(failure) === undefined ? whenError(failure) : when(failure),
    delay: (attempt) => delay(attempt - 1),
    maxDelay: "10 minutes",
    retryAfterJitter: 0
  }
}

const zero = () => 0

/** RetryClient's `client.get(url)`: the last response comes back whatever its status */
const get = (h: Harness, headers: Record<string, string> = {}) =>
  Policy.withPolicy(h.platform, h.policy).execute(HttpClientRequest.get(`${h.url}/`, { headers }))

const statusOfExit = (exit: Exit.Exit<{ readonly status: number }, unknown>) => {
  if (Exit.isFailure(exit)) throw new Error(`expected a response, got ${Cause.pretty(exit.cause)}`)
  return exit.value.status
}

/** the Sturdy failure under the `RequestError` `Policy.withPolicy` ends with */
const sturdyFailureOf = (exit: Exit.Exit<unknown, unknown>): unknown => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure, got a success")
  const failure = Cause.failureOption(exit.cause)
  if (Option.isNone(failure)) throw new Error(`expected a typed failure, got ${Cause.pretty(exit.cause)}`)
  return (failure.value as { readonly cause?: unknown }).cause
}

const gaps = (h: Harness) => h.seen.slice(1).map((s, i) => s.at - h.seen[i]!.at)

/** waits (real time) until the server has seen `count` requests */
const seenAtLeast = (h: Harness, count: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < 1000 && h.seen.length < count; i++) yield* realPause
    expect(h.seen.length).toBeGreaterThanOrEqual(count)
  })

describe("dart-lang/http pkgs/http/test/http_retry_test.dart", () => {
  it.scoped("doesn't retry when: a request has a non-503 error code", () =>
    Effect.gen(function*() {
      // RetryClient retries 503 only; Sturdy's own default would retry this 502 too
      const h = yield* setup((_, response) => send(response, 502), { retry: dartDefaults() })
      expect(statusOfExit(yield* h.run(get(h)))).toBe(502)
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("doesn't retry when: a request doesn't match when()", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response) => send(response, 503), { retry: dartDefaults({ when: () => false }) })
      expect(statusOfExit(yield* h.run(get(h)))).toBe(503)
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("doesn't retry when: retries is 0", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response) => send(response, 503), { retry: dartDefaults({ retries: 0 }) })
      expect(statusOfExit(yield* h.run(get(h)))).toBe(503)
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("retries on a 503 by default", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response, n) => send(response, n < 2 ? 503 : 200), {
        retry: dartDefaults({ delay: zero })
      })
      expect(statusOfExit(yield* h.run(get(h)))).toBe(200)
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("retries on any request where when() returns true", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        (_, response, n) => send(response, 503, { retry: n < 2 ? "true" : "false" }),
        {
          retry: dartDefaults({
            when: (failure) => "headers" in failure && failure.headers.retry === "true",
            delay: zero
          })
        }
      )
      const exit = yield* h.run(get(h))
      expect(statusOfExit(exit)).toBe(503)
      expect(Exit.isSuccess(exit) && exit.value.headers.retry).toBe("false")
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("retries on any request where whenError() returns true", () =>
    Effect.gen(function*() {
      // the inner client's StateError('oh no') is a connection the server cuts before answering
      const h = yield* setup(
        (_, response, n) => n < 2 ? response.socket?.destroy() : send(response, 200),
        {
          retry: dartDefaults({
            whenError: (failure) => failure._tag === "ConnectionError" && failure.reason === "Reset",
            delay: zero
          })
        }
      )
      expect(statusOfExit(yield* h.run(get(h)))).toBe(200)
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("doesn't retry a request where whenError() returns false", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response) => response.socket?.destroy(), {
        retry: dartDefaults({ whenError: (failure) => failure._tag === "Timeout", delay: zero })
      })
      const failure = sturdyFailureOf(yield* h.run(get(h)))
      expect(failure).toMatchObject({ _tag: "ConnectionError", reason: "Reset", attempts: 1 })
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("retries three times by default", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response) => send(response, 503), { retry: dartDefaults({ delay: zero }) })
      expect(statusOfExit(yield* h.run(get(h)))).toBe(503)
      expect(h.seen.length).toBe(4)
    }))

  it.scoped("retries the given number of times", () =>
    Effect.gen(function*() {
      // 13 attempts: above `Policy.maxAttemptsCap`, accepted because the default `totalTimeout` bounds the call
      const h = yield* setup((_, response) => send(response, 503), {
        retry: dartDefaults({ retries: 12, delay: zero })
      })
      expect(statusOfExit(yield* h.run(get(h)))).toBe(503)
      expect(h.seen.length).toBe(13)
    }))

  it.scoped("waits 1.5x as long each time by default", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response) => send(response, 503), { retry: dartDefaults() })
      expect(statusOfExit(yield* h.run(get(h)))).toBe(503)
      // requests at 0, 500, 1250 and 2375 ms
      expect(h.seen.length).toBe(4)
      expect(gaps(h)).toEqual([500, 750, 1125])
    }))

  it.scoped("waits according to the delay parameter", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response) => send(response, 503), {
        retry: dartDefaults({ delay: (retryCount) => retryCount * 1000 })
      })
      expect(statusOfExit(yield* h.run(get(h)))).toBe(503)
      // requests at 0, 0, 1 and 3 s
      expect(h.seen.length).toBe(4)
      expect(gaps(h)).toEqual([0, 1000, 2000])
    }))

  it.scoped("waits according to the delay list", () =>
    Effect.gen(function*() {
      // RetryClient.withDelays([1 s, 1 min, 12 s]); the call lasts 73 s, so Sturdy's 30 s `totalTimeout` is lifted
      const delays = [1000, 60_000, 12_000]
      const h = yield* setup((_, response) => send(response, 503), {
        totalTimeout: Duration.infinity,
        retry: { ...dartDefaults({ retries: delays.length }), delay: (attempt) => delays[attempt - 1]! }
      })
      expect(statusOfExit(yield* h.run(get(h)))).toBe(503)
      // requests at 0, 1, 61 and 73 s
      expect(h.seen.length).toBe(4)
      expect(gaps(h)).toEqual(delays)
    }))

  it.scoped("calls onRetry for each retry", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response) => send(response, 503), { retry: dartDefaults({ retries: 2, delay: zero }) })
      expect(statusOfExit(yield* h.run(get(h)))).toBe(503)
      expect(h.seen.length).toBe(3)
      // onRetry's (request, response, retryCount): the upstream, the 503, and retry 0 then 1 (attempts 2 and 3); the
      // last decision gives up and is no retry
      const retries = h.decisions.filter((d) => d.retrying)
      expect(retries.map((d) => [d.key, statusOf(d.failure), d.attempt - 2])).toEqual([
        [h.url, 503, 0],
        [h.url, 503, 1]
      ])
      expect(h.decisions.filter((d) => !d.retrying).map((d) => d.reason)).toEqual(["exhausted"])
    }))

  it.scoped("copies all request attributes for each attempt", () =>
    Effect.gen(function*() {
      // RetryClient repeats any POST; Sturdy repeats one after a 503 only when `retry.methods` lists POST
      const h = yield* setup((_, response) => send(response, 503), {
        retry: { ...dartDefaults({ retries: 1, delay: zero }), methods: ["POST"] }
      })
      const request = HttpClientRequest.post(`${h.url}/`, { headers: { foo: "bar" } }).pipe(
        HttpClientRequest.bodyText("hello")
      )
      expect(statusOfExit(yield* h.run(Policy.withPolicy(h.platform, h.policy).execute(request)))).toBe(503)
      expect(h.seen.length).toBe(2)
      for (const seen of h.seen) {
        expect([seen.method, seen.path, seen.body, seen.headers["content-length"], seen.headers.foo])
          .toEqual(["POST", "/", "hello", "5", "bar"])
      }
    }))

  it.scoped("async when, whenError and onRetry", () =>
    Effect.gen(function*() {
      // the onRetry that sets `Authorization: Bearer TOKEN` (after 500 ms) and replays the 401 once is `Auth.bearerFrom`
      // with a token source that takes 500 ms; its first token is not the one the server accepts
      let fetched = 0
      const h = yield* setup(
        (seen, response) => send(response, seen.headers.authorization === "Bearer TOKEN" ? 200 : 401),
        { retry: dartDefaults({ retries: 1, delay: zero }) }
      )
      const authed = yield* Layer.build(
        Auth.layerBearerFrom(Auth.makeTokenSource(Effect.zipRight(
          Effect.sleep("500 millis"),
          Effect.sync(() => ({ token: Redacted.make(++fetched === 1 ? "STALE" : "TOKEN"), expiresAt: Option.none() }))
        )))
      ).pipe(Effect.provideService(HttpClient.HttpClient, h.platform), Effect.map(Context.get(HttpClient.HttpClient)))
      const client = Policy.withPolicy(authed, h.policy)
      expect(statusOfExit(yield* h.run(client.execute(HttpClientRequest.get(`${h.url}/`))))).toBe(200)
      expect(h.seen.map((s) => s.headers.authorization)).toEqual(["Bearer STALE", "Bearer TOKEN"])
    }))

  it.scoped("abort in first response", () =>
    Effect.gen(function*() {
      // the call (through `SturdyClient`, over the same policy) is interrupted while its first request is in flight:
      // it ends interrupted, the request is aborted under the server, and nothing is retried
      const h = yield* setup(() => {}, { retry: dartDefaults({ delay: zero }) })
      yield* interruptInFlight(h, "/")
      for (let i = 0; i < 10; i++) yield* realPause
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("abort in second response", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response, n) => {
        if (n === 1) send(response, 503)
      }, { retry: dartDefaults({ delay: zero }) })
      const call = yield* Effect.fork(get(h))
      yield* seenAtLeast(h, 2)
      expect(Exit.isInterrupted(yield* Fiber.interrupt(call))).toBe(true)
      for (let i = 0; i < 10; i++) yield* realPause
      expect(h.seen.length).toBe(2)
      expect(h.aborted).toEqual([2])
    }))

  it.scoped("abort in second response stream", () =>
    Effect.gen(function*() {
      // the second response's headers arrive (200), its body never ends, and the call is interrupted while reading it
      const h = yield* setup((_, response, n) => {
        if (n === 1) return send(response, 503)
        response.writeHead(200, { "content-length": "100" })
        response.write("partial")
      }, { retry: dartDefaults({ delay: zero }) })
      const call = yield* Effect.fork(Effect.flatMap(get(h), (response) => response.text))
      yield* seenAtLeast(h, 2)
      for (let i = 0; i < 10; i++) yield* realPause
      expect(Exit.isInterrupted(yield* Fiber.interrupt(call))).toBe(true)
      for (let i = 0; i < 10; i++) yield* realPause
      expect(h.seen.length).toBe(2)
      expect(h.aborted).toEqual([2])
    }))

  it.scoped("abort without abortable inner client", () =>
    Effect.gen(function*() {
      // the abort comes while the second 503 is answered: the retry after it is never sent. A 1 s wait (Dart's is zero)
      // holds the call in the retry wait, where the interruption lands
      const h = yield* setup((_, response) => send(response, 503), { retry: dartDefaults({ delay: () => 1000 }) })
      const call = yield* Effect.fork(get(h))
      yield* seenAtLeast(h, 1)
      while (h.decisions.length < 1) yield* realPause
      yield* TestClock.adjust("1 second")
      yield* seenAtLeast(h, 2)
      while (h.decisions.length < 2) yield* realPause
      expect(Exit.isInterrupted(yield* Fiber.interrupt(call))).toBe(true)
      yield* TestClock.adjust("1 minute")
      for (let i = 0; i < 10; i++) yield* realPause
      expect(h.seen.length).toBe(2)
    }))
})
