/**
 * JustinBeckwith/retry-axios's `test/index.ts` (commit 857b1dff1a6f442f91e99f91e657d049e222c5b1), ported to Sturdy's
 * public API: `SturdyClient` over `@sturdy/node`'s undici transport against a real node:http server on 127.0.0.1
 * (`test/utils/retryHarness.ts`) in place of nock, every wait on the TestClock. One `it` per retry-axios case, named
 * after it.
 *
 * Mapping: `retry: n` is `retry.maxAttempts: n + 1` (`currentRetryAttempt` is `attempts − 1`, `retriesRemaining` is
 * `maxAttempts − attempt`); `statusCodesToRetry` ranges are `retry.statuses` (the ranges listed out);
 * `httpMethodsToRetry` is `retry.methods`; `shouldRetry` is `retry.retryOn`; `checkRetryAfter` is
 * `retry.respectRetryAfter`; `maxRetryAfter` is `retry.maxRetryAfter`; `maxRetryDelay` is `retry.maxDelay`;
 * `backoffType: "static"` is `retry.delay: () => retryDelay`, `"linear"` is `retry.delay: (n) => n × 1000`, and
 * `"exponential"` (`(2^n − 1) / 2 × retryDelay`) is `retry.delay` with that formula, or, for its first retry and its
 * jitter modes, `Backoff`'s exponential with `baseDelay: retryDelay / 2` and `jitter: "full" | "equal"`;
 * `onRetryAttempt` is a `RetryDecision` event with `retrying: true`, `onError` an `AttemptEnded` with a failure, and
 * `config.errors` the failures of the `AttemptEnded` events; an axios instance with `rax.attach` is a `SturdyClient`
 * (or `Policy.withPolicy` client) with a policy, plain axios one without; a cancel token is fiber interruption.
 * Network errors: `ETIMEDOUT` is a server that does not answer within `attemptTimeout`; `ENOTFOUND` (which nock
 * injects, and a loopback test cannot produce) is an injected `ConnectionError` `DnsLookup` on the first attempt.
 *
 * Deliberate differences (each test says which): retry-axios's defaults are 3 retries, 100 ms exponential
 * (`(2^n − 1) / 2 × 100`), 1xx, 429 and every 5xx, a 5-minute `maxRetryAfter`; Sturdy's are 3 attempts, 2 s
 * exponential with full jitter, 408, 425, 429 and 5xx but 501, 505, 511, a 30 s `maxRetryAfter`. An invalid
 * `Retry-After` (`foo`) makes retry-axios give up; Sturdy ignores it and the backoff applies (as ky, got and urllib3
 * do). retry-axios's `onRetryAttempt` runs after the wait, Sturdy's `RetryDecision` before it.
 *
 * Not ported: "should handle promise rejection in onRetryAttempt" (an `onEvent` hook cannot fail: its type is
 * `Effect<void>`; a caller that wants to stop retrying says so in `retryOn`), "should handle errors with no config
 * (with mock adapter)" (axios adapter mechanics).
 */
import { HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Attempt, HttpFailure, Policy, SturdyClient } from "@sturdy/http"
import { Duration, Effect, Exit, Option, TestClock } from "effect"
import { failureOf, gaps, type Handler, send, setup, textOf } from "./utils/retryHarness.js"

/** answers `status` until request `okAt`, then 200 `body` */
const untilOk =
  (okAt: number, status: number, body: string, headers: Record<string, string> = {}): Handler => (_, response, n) =>
    n >= okAt ? send(response, 200, {}, body) : send(response, status, headers)

/** retry-axios's exponential backoff, `(2^n − 1) / 2 × retryDelay` (no jitter) */
const exponential = (retryDelay: number) => (n: number) => (2 ** n - 1) / 2 * retryDelay

/** retry-axios's defaults as Sturdy options: 3 retries, 100 ms exponential, no jitter */
const raxDefaults = { maxAttempts: 4, delay: exponential(100), jitter: "none", retryAfterJitter: 0 } as const

/** a server that does not answer: each attempt runs out of its `attemptTimeout` (retry-axios's ETIMEDOUT) */
const silent: Handler = () => {}

describe("retry-axios test/index.ts", () => {
  it.scoped("should provide an expected set of defaults", () =>
    Effect.gen(function*() {
      // Sturdy's defaults are its own (see the header): 3 attempts, then the last failure, which says so
      expect(Policy.defaults.retry.maxAttempts).toBe(3)
      expect(Duration.toMillis(Policy.defaults.retry.baseDelay)).toBe(2000)
      expect(Policy.defaults.retry.respectRetryAfter).toBe(true)
      expect(Duration.toMillis(Policy.defaults.retry.maxRetryAfter)).toBe(30_000)
      const h = yield* setup((_, response) => send(response, 500))
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(Policy.attemptsOf(failure)).toBe(3)
      expect(h.seen.length).toBe(3)
      // the methods retried by default are retry-axios's (and TRACE); POST is not
      for (const method of ["GET", "HEAD", "PUT", "OPTIONS", "DELETE"] as const) {
        const m = yield* setup(untilOk(2, 500, "toast"), { retry: { ...raxDefaults } })
        const exit = yield* m.run(m.api.execute(HttpClientRequest.make(method)(`${m.url}/`)))
        expect(Exit.isSuccess(exit)).toBe(true)
        expect(m.seen.length).toBe(2)
      }
      const post = yield* setup(untilOk(2, 500, "toast"), { retry: { ...raxDefaults } })
      expect(failureOf(yield* post.run(post.api.post("/")))).toMatchObject({ status: 500 })
      expect(post.seen.length).toBe(1)
      // statuses: 429 and 5xx retried (as retry-axios); 1xx never reaches a caller as a final answer
      for (const status of [429, 500, 502, 503, 504, 599]) {
        const s = yield* setup(untilOk(2, status, "toast"), { retry: { ...raxDefaults } })
        expect(textOf(yield* s.run(s.api.get("/")))).toBe("toast")
      }
    }))

  it.scoped("should retry on 500 on the main export", () =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(2, 500, "toast"), { retry: raxDefaults })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe("toast")
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("should support methods passed as an object", () =>
    Effect.gen(function*() {
      // httpMethodsToRetry: { 0: "POST" } is `methods: ["POST"]`
      const h = yield* setup(untilOk(2, 500, "toast"), { retry: { ...raxDefaults, methods: ["POST"] } })
      expect(textOf(yield* h.run(h.api.post("/", { body: {} })))).toBe("toast")
      expect(h.seen.map((s) => s.method)).toEqual(["POST", "POST"])
    }))

  it.scoped("should not retry on a post", () =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(2, 500, "toast"), { retry: raxDefaults })
      const failure = failureOf(yield* h.run(h.api.post("/")))
      expect(failure).toMatchObject({ _tag: "ServerError", status: 500 })
      expect(Policy.attemptsOf(failure)).toBe(1)
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("should retry at least the configured number of times", () =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(4, 500, "milk"), { retry: { ...raxDefaults, maxAttempts: 5 } })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe("milk")
      expect(h.seen.length).toBe(4)
    }))

  it.scoped("should retry at least the configured number of times for custom client", () =>
    Effect.gen(function*() {
      // another client on the same policy: the platform client through `Policy.withPolicy`
      const h = yield* setup(untilOk(4, 500, "milk"), { retry: { ...raxDefaults, maxAttempts: 5 } })
      const client = Policy.withPolicy(h.platform, h.policy)
      const exit = yield* h.run(Effect.flatMap(client.execute(HttpClientRequest.get(h.url)), (r) => r.text))
      expect(Exit.isSuccess(exit) && exit.value).toBe("milk")
      expect(h.seen.length).toBe(4)
    }))

  it.scoped("should not retry more than configured", () =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(3, 500, "toast"), { retry: { ...raxDefaults, maxAttempts: 2 } })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(Policy.attemptsOf(failure)! - 1).toBe(1)
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("should have non-zero delay between first and second attempt, static backoff", () =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(2, 500, "bar"), { retry: { ...raxDefaults, delay: () => 100 } })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe("bar")
      expect(gaps(h)).toEqual([100])
    }))

  it.scoped("should have non-zero delay between first and second attempt, linear backoff", () =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(2, 500, "bar"), { retry: { ...raxDefaults, delay: (n) => n * 1000 } })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe("bar")
      expect(gaps(h)).toEqual([1000])
    }))

  it.scoped("should have non-zero delay between first and second attempt, exp backoff", () =>
    Effect.gen(function*() {
      // ((2^1 − 1) / 2) × 100 = 50 ms, with the formula and with Sturdy's backoff (baseDelay = retryDelay / 2)
      const h = yield* setup(untilOk(2, 500, "bar"), { retry: raxDefaults })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe("bar")
      expect(gaps(h)).toEqual([50])
      const b = yield* setup(untilOk(2, 500, "bar"), {
        retry: { maxAttempts: 4, baseDelay: "50 millis", jitter: "none" }
      })
      expect(textOf(yield* b.run(b.api.get("/")))).toBe("bar")
      expect(gaps(b)).toEqual([50])
    }))

  it.scoped("should accept a new axios instance", () =>
    Effect.gen(function*() {
      // a client with the policy retries; a client without one (makeWith, no policy) makes one attempt
      const h = yield* setup(untilOk(3, 500, "raisins"), { retry: raxDefaults })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe("raisins")
      expect(h.seen.length).toBe(3)
      const plain = SturdyClient.makeWith(h.platform, { baseUrl: h.url })
      const other = yield* setup((_, response) => send(response, 500))
      const bare = SturdyClient.makeWith(other.platform, { baseUrl: other.url })
      expect(Option.isNone(plain.policy)).toBe(true)
      const failure = failureOf(yield* Effect.exit(bare.get("/")))
      expect(failure).toMatchObject({ _tag: "ServerError", status: 500 })
      expect(Policy.attemptsOf(failure)).toBeUndefined()
      expect(other.seen.length).toBe(1)
    }))

  it.scoped("should accept defaults on a new instance", () =>
    Effect.gen(function*() {
      const retried: Array<number> = []
      const h = yield* setup(untilOk(3, 500, "🥧"), { retry: raxDefaults })
      const exit = yield* h.run(h.api.get("/", {
        onEvent: (event) =>
          event._tag === "RetryDecision" && event.retrying
            ? Effect.sync(() => retried.push(event.attempt - 1))
            : Effect.void
      }))
      expect(textOf(exit)).toBe("🥧")
      expect(retried).toEqual([1, 2])
    }))

  it.scoped("should not retry on 4xx errors", () =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(2, 404, "toast"), { retry: raxDefaults })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(failure).toMatchObject({ _tag: "ClientError", status: 404 })
      expect(Policy.attemptsOf(failure)! - 1).toBe(0)
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("should not retry if retries set to 0", () =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(2, 500, "toast"), { retry: { ...raxDefaults, maxAttempts: 1 } })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(Policy.attemptsOf(failure)! - 1).toBe(0)
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("should allow configuring backoffType", () =>
    Effect.gen(function*() {
      // ETIMEDOUT on every attempt, exponential backoff: 50, 150, 350 ms between the attempt timeouts
      const h = yield* setup(silent, { attemptTimeout: "100 millis", retry: raxDefaults })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(failure).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect(h.decisions.filter((d) => d.retrying).map((d) => Duration.toMillis(d.delay))).toEqual([50, 150, 350])
      expect(gaps(h)).toEqual([150, 250, 450])
    }))

  it.scoped("should notify on retry attempts", () =>
    Effect.gen(function*() {
      const retried: Array<number> = []
      const h = yield* setup(untilOk(2, 500, "toast"), { retry: raxDefaults })
      const exit = yield* h.run(h.api.get("/", {
        onEvent: (event) =>
          event._tag === "RetryDecision" && event.retrying
            ? Effect.sync(() => retried.push(event.attempt - 1))
            : Effect.void
      }))
      expect(textOf(exit)).toBe("toast")
      expect(retried).toEqual([1])
    }))

  it.scoped("should notify on retry attempts as a promise", () =>
    Effect.gen(function*() {
      // the hook is asynchronous: the retry waits for it
      const retried: Array<number> = []
      const h = yield* setup(untilOk(2, 500, "toast"), { retry: raxDefaults })
      const exit = yield* h.run(h.api.get("/", {
        onEvent: (event) =>
          event._tag === "RetryDecision" && event.retrying
            ? Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve))).pipe(
              Effect.andThen(Effect.sync(() => retried.push(event.attempt - 1)))
            )
            : Effect.void
      }))
      expect(textOf(exit)).toBe("toast")
      expect(retried).toEqual([1])
    }))

  it.scoped("should support overriding the shouldRetry method", () =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(2, 500, "toast"), { retry: { ...raxDefaults, retryOn: () => false } })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(Policy.attemptsOf(failure)! - 1).toBe(0)
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("should respect retry limit when using shouldRetry", () =>
    Effect.gen(function*() {
      // retry: 2 with a shouldRetry that always says yes: 2 retries, not more. retry-axios checks the count first and
      // asks shouldRetry twice; Sturdy asks `retryOn` after every failure, the last one too (so that the decision
      // says whether the failure was retryable, "exhausted", or not, "not-retryable"): 3 times
      let asked = 0
      const h = yield* setup((_, response) => send(response, 500), {
        retry: {
          ...raxDefaults,
          maxAttempts: 3,
          retryOn: () => {
            asked++
            return true
          }
        }
      })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(Policy.attemptsOf(failure)! - 1).toBe(2)
      expect(h.seen.length).toBe(3)
      expect(asked).toBe(3)
      expect(h.decisions.map((d) => [d.reason, d.retrying])).toEqual([["backoff", true], ["backoff", true], [
        "exhausted",
        false
      ]])
    }))

  it.scoped("should retry on ENOTFOUND", () =>
    Effect.gen(function*() {
      // the first attempt's lookup fails (injected, as nock does); the second goes to the server
      const h = yield* setup((_, response) => send(response, 200, {}, "oatmeal"), { retry: raxDefaults })
      let attempts = 0
      const request = HttpClientRequest.get(`${h.url}/`)
      const exit = yield* h.run(h.policy.run(request, (r) =>
        Effect.suspend(() =>
          attempts++ === 0
            ? Effect.fail(new HttpFailure.ConnectionError({ method: "GET", url: r.url, reason: "DnsLookup" }))
            : Attempt.send(h.client, r)
        )))
      expect(textOf(exit)).toBe("oatmeal")
      expect(h.decisions.map((d) => [d.failure._tag, d.retrying])).toEqual([["ConnectionError", true]])
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("should retry on ETIMEDOUT", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        (_, response, n) => n >= 2 ? send(response, 200, {}, "bacon") : undefined,
        { attemptTimeout: "100 millis", retry: raxDefaults }
      )
      expect(textOf(yield* h.run(h.api.get("/")))).toBe("bacon")
      expect(h.decisions.map((d) => d.failure)).toMatchObject([{ _tag: "Timeout", phase: "Attempt" }])
    }))

  it.scoped("should not retry network errors when retry is 0", () =>
    Effect.gen(function*() {
      const h = yield* setup(silent, { attemptTimeout: "100 millis", retry: { ...raxDefaults, maxAttempts: 1 } })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(failure).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect(Policy.attemptsOf(failure)! - 1).toBe(0)
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("should reset error counter upon success", () =>
    Effect.gen(function*() {
      // retry: 2; 500, 500, 200 "milk", then 500, 200 "toast": the second call has its own two retries
      const answers: Array<readonly [number, string]> = [[500, ""], [500, ""], [200, "milk"], [500, ""], [200, "toast"]]
      const h = yield* setup((_, response, n) => send(response, answers[n - 1]![0], {}, answers[n - 1]![1]), {
        retry: { ...raxDefaults, maxAttempts: 3 }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe("milk")
      expect(textOf(yield* h.run(h.api.get("/")))).toBe("toast")
      expect(h.seen.length).toBe(5)
    }))

  it.scoped("should ignore requests that have been canceled", () =>
    Effect.gen(function*() {
      // the server answers 500 after 5 ms (twice), then 200; the call is cancelled at 10 ms, during the first retry's
      // wait: it ends, and the 200 is never asked for
      const h = yield* setup(
        (_, response, n, tools) =>
          n >= 3 ? send(response, 200, {}, "toast") : tools.later(5, () => send(response, 500)),
        { retry: { ...raxDefaults, maxAttempts: 3 } }
      )
      const exit = yield* h.run(Effect.timeoutOption(h.api.get("/"), "10 millis"))
      expect(Exit.isSuccess(exit) && Option.isNone(exit.value)).toBe(true)
      yield* TestClock.adjust("1 second")
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("should accept 0 for config.retryDelay", () =>
    Effect.gen(function*() {
      // retryDelay 0: every retry at once
      const h = yield* setup(silent, { attemptTimeout: "100 millis", retry: { ...raxDefaults, delay: exponential(0) } })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(failure).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect(h.decisions.filter((d) => d.retrying).map((d) => Duration.toMillis(d.delay))).toEqual([0, 0, 0])
      expect(gaps(h)).toEqual([100, 100, 100])
    }))

  it.scoped("should accept 0 for config.retry", () =>
    Effect.gen(function*() {
      const h = yield* setup(silent, { attemptTimeout: "100 millis", retry: { ...raxDefaults, maxAttempts: 1 } })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(Policy.attemptsOf(failure)).toBe(1)
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("should retry with Retry-After header in seconds", () =>
    Effect.gen(function*() {
      // Retry-After: 5 with a static retryDelay of 10 s: the server's 5 s is the wait
      const h = yield* setup(untilOk(2, 429, "toast", { "retry-after": "5" }), {
        retry: { ...raxDefaults, maxDelay: "10 seconds", delay: () => 10_000 }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe("toast")
      expect(gaps(h)).toEqual([5000])
    }))

  it.scoped("should retry with Retry-After header in http datetime", () =>
    Effect.gen(function*() {
      // a date 5 s ahead (retry-axios sets the clock to the epoch and sends 00:00:05)
      const h = yield* setup(
        (s, response, n) =>
          n >= 2
            ? send(response, 200, {}, "toast")
            : send(response, 429, { "retry-after": new Date(s.at + 5000).toUTCString() }),
        { retry: { ...raxDefaults, maxDelay: "10 seconds", delay: () => 10_000 } }
      )
      // an HTTP-date has whole seconds: start the clock on one
      yield* TestClock.setTime(Math.ceil(Date.now() / 1000) * 1000 + 1000)
      expect(textOf(yield* h.run(h.api.get("/")))).toBe("toast")
      expect(gaps(h)).toEqual([5000])
    }))

  it.scoped("should not retry if Retry-After greater than maxRetryAfter", () =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(2, 429, "toast", { "retry-after": "2" }), {
        retry: { ...raxDefaults, maxRetryAfter: "1 second" }
      })
      expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ _tag: "RateLimited", status: 429 })
      expect(h.seen.length).toBe(1)
      expect(h.decisions.map((d) => d.reason)).toEqual(["retry-after-too-long"])
    }))

  it.scoped("should not retry if Retry-After is invalid", () =>
    Effect.gen(function*() {
      // retry-axios gives up on `Retry-After: foo`; Sturdy ignores a value that is not a valid hint and the backoff
      // applies (50 ms here), as ky, got and urllib3 do
      const h = yield* setup(untilOk(2, 429, "toast", { "retry-after": "foo" }), {
        retry: { ...raxDefaults, maxRetryAfter: "1 second" }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe("toast")
      expect(h.decisions.map((d) => [d.reason, Duration.toMillis(d.delay)])).toEqual([["backoff", 50]])
    }))

  it.scoped("should use maxRetryDelay", () =>
    Effect.gen(function*() {
      // retryDelay 10 s, exponential, maxRetryDelay 5 s: the 429 (no Retry-After) waits 5 s
      const h = yield* setup(untilOk(2, 429, "toast"), {
        retry: { ...raxDefaults, delay: (n) => 2 ** n * 10_000, maxDelay: "5 seconds" }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe("toast")
      expect(gaps(h)).toEqual([5000])
    }))

  it.scoped("should use retryDelay as base multiplier for exponential backoff", () =>
    Effect.gen(function*() {
      // retryDelay 1000: ((2^1 − 1) / 2) × 1000 = 500 ms
      const h = yield* setup(untilOk(2, 500, "success"), { retry: { ...raxDefaults, delay: exponential(1000) } })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe("success")
      expect(gaps(h)).toEqual([500])
    }))

  it.scoped("should apply full jitter to exponential backoff", () =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(2, 500, "success"), {
        retry: { maxAttempts: 4, baseDelay: "500 millis", jitter: "full" }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe("success")
      expect(gaps(h)[0]).toBeGreaterThanOrEqual(0)
      expect(gaps(h)[0]).toBeLessThanOrEqual(500)
    }))

  it.scoped("should apply equal jitter to exponential backoff", () =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(2, 500, "success"), {
        retry: { maxAttempts: 4, baseDelay: "500 millis", jitter: "equal" }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe("success")
      expect(gaps(h)[0]).toBeGreaterThanOrEqual(250)
      expect(gaps(h)[0]).toBeLessThanOrEqual(500)
    }))

  it.scoped("should not apply jitter to static backoff", () =>
    Effect.gen(function*() {
      // a `delay` function replaces the exponential backoff and its jitter: exactly 500 ms
      const h = yield* setup(untilOk(2, 500, "success"), {
        retry: { maxAttempts: 4, jitter: "full", delay: () => 500 }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe("success")
      expect(gaps(h)).toEqual([500])
    }))

  it.scoped("should respect maxRetryDelay with jitter", () =>
    Effect.gen(function*() {
      // retryDelay 10 s (so baseDelay 5 s), maxRetryDelay 2 s, full jitter: at most 2 s
      const h = yield* setup(untilOk(2, 500, "toast"), {
        retry: { maxAttempts: 4, jitter: "full", delay: (n) => exponential(10_000)(n), maxDelay: "2 seconds" }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe("toast")
      expect(gaps(h)[0]).toBeLessThanOrEqual(2000)
      const b = yield* setup(untilOk(2, 500, "toast"), {
        retry: { maxAttempts: 4, jitter: "full", baseDelay: "2 seconds", maxDelay: "2 seconds" }
      })
      expect(textOf(yield* b.run(b.api.get("/")))).toBe("toast")
      expect(gaps(b)[0]).toBeLessThanOrEqual(2000)
    }))

  it.scoped("should collect all errors in the errors array", () =>
    Effect.gen(function*() {
      const statuses = [500, 503, 502, 504]
      const ended: Array<number | undefined> = []
      const h = yield* setup((_, response, n) => send(response, statuses[n - 1]!), {
        retry: { ...raxDefaults, methods: ["POST"], delay: () => 1 }
      })
      const failure = failureOf(
        yield* h.run(h.api.post("/", {
          body: { data: "test" },
          onEvent: (event) => event._tag === "AttemptEnded" ? Effect.sync(() => ended.push(event.status)) : Effect.void
        }))
      )
      expect(ended).toEqual([500, 503, 502, 504])
      // the last error is the one the call fails with
      expect(failure).toMatchObject({ status: 504 })
      expect(Policy.attemptsOf(failure)).toBe(4)
    }))

  it.scoped("should collect errors even when using shouldRetry", () =>
    Effect.gen(function*() {
      const ended: Array<unknown> = []
      const h = yield* setup((_, response, n) => send(response, 500, {}, `Error ${n}`), {
        retry: { ...raxDefaults, delay: () => 1, retryOn: (_, attempt) => attempt - 1 < 1 }
      })
      failureOf(
        yield* h.run(h.api.get("/", {
          onEvent: (event) => event._tag === "AttemptEnded" ? Effect.sync(() => ended.push(event.failure)) : Effect.void
        }))
      )
      expect(ended).toMatchObject([{ bodyExcerpt: "Error 1" }, { bodyExcerpt: "Error 2" }])
    }))

  it.scoped("should allow serializing the final error when errors are tracked", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response, n) => send(response, 500, {}, `Error ${n}`), {
        retry: { ...raxDefaults, maxAttempts: 2, delay: () => 1 }
      })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(Policy.attemptsOf(failure)).toBe(2)
      expect(() => JSON.stringify(failure)).not.toThrow()
      expect(JSON.parse(JSON.stringify(failure))).toMatchObject({ status: 500, attempts: 2 })
    }))

  it.scoped("should track retriesRemaining correctly", () =>
    Effect.gen(function*() {
      const remaining: Array<number> = []
      const h = yield* setup((_, response) => send(response, 500), { retry: { ...raxDefaults, delay: () => 1 } })
      const failure = failureOf(
        yield* h.run(h.api.get("/", {
          onEvent: (event) =>
            event._tag === "RetryDecision" && event.retrying
              ? Effect.sync(() => remaining.push(4 - event.attempt))
              : Effect.void
        }))
      )
      expect(Policy.attemptsOf(failure)! - 1).toBe(3)
      expect(remaining).toEqual([2, 1, 0])
    }))
})
