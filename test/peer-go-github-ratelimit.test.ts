/**
 * google/go-github `github/github_test.go` (commit 30af001aa7b4e4e503a211e0711146ecd08c71b2): the rate-limit cases of
 * `Client.Do` and `CheckResponse`, ported to Sturdy's public API: `SturdyClient` over `@sturdy/node`'s undici
 * transport against a real node:http server on 127.0.0.1 (`test/utils/retryHarness.ts`), every wait on the TestClock,
 * and `RetryHeaders.parse` for go-github's `Rate` and `AbuseRateLimitError.RetryAfter`. One `it` per Go test.
 *
 * Mapping: `resp.Rate` (limit, remaining, reset) is `RetryHeaders.parse` of the response's headers; a
 * `*RateLimitError` (GitHub's primary limit: `X-RateLimit-Remaining: 0`) and an `*AbuseRateLimitError` (the secondary
 * limit, with `RetryAfter` from `Retry-After`) are, on a 429, `HttpFailure.RateLimited` with its `retryAfter`, and on a
 * 403, a `ClientError` whose wait is `RetryHeaders.retryAfter` of its headers. go-github's "known exceeded, not making
 * remote request" is the server pause of `Policy`: after a 429 with a wait, calls to the key fail at once with
 * `RateLimitExceeded` (reason `"Paused"`) when they cannot wait that long. `SleepUntilPrimaryRateLimitResetWhen
 * RateLimited` (sleep until the reset, then try once more) is a retry of the rate-limited 403 with its headers as the
 * wait (`githubLimits`), `maxAttempts: 2`; cancelling the context is interrupting the call; `WithDisableRateLimitCheck`
 * is `retry.respectRetryAfter: false`.
 *
 * Deliberate differences (each test says which):
 * - Only a 429 (or 503) pauses the key; a rate-limited 403 is a `ClientError` whose headers carry the wait, and the
 *   next call is sent (go-github predicts the 403's limit for the next call too).
 * - `X-RateLimit-Reset: 243424` is 243424 seconds from now for Sturdy (below 1e9: delta seconds), clamped to 24 h;
 *   go-github reads every reset as epoch seconds.
 * - A reset sent with a remaining count above 0 (`X-RateLimit-Remaining: 1`, GitHub's secondary limit) is no wait for
 *   Sturdy (the quota it describes is not exhausted); go-github waits until that reset.
 * - go-github sleeps one second past the reset (`sleepUntilResetWithBuffer`); Sturdy waits until the reset itself.
 * - Sturdy reads no `X-RateLimit-Used` nor `X-RateLimit-Resource` (they stay in the headers).
 *
 * Not ported: TestDo_rateLimit_ignoredFromCache (`X-From-Cache`: Sturdy has no HTTP cache),
 * TestDo_rateLimit_sleepUntilClientResetLimit and TestDo_rateLimit_abortSleepContextCancelledClientLimit (they preset
 * the client's private `rateLimits` table), TestDo_rateLimitCategory, TestClient_rateLimits and the error types'
 * `Is` / `Error` tests (go-github's categories and Go error plumbing), TestUnauthenticatedRateLimitedTransport* (an
 * auth transport).
 */
import { Headers } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { type HttpFailure, type Policy, RetryHeaders } from "@sturdy/http"
import { Clock, Deferred, Duration, Effect, Option, TestClock } from "effect"
import type * as Http from "node:http"
import { delays, failureOf, gaps, type Handler, realPause, send, setup, textOf } from "./utils/retryHarness.js"

// go-github's referenceTime, 2006-01-02T15:04:05Z
const referenceUnixTimeStr = "1136214245"
const json = { "content-type": "application/json; charset=utf-8" }
const primaryMessage = JSON.stringify({
  message: "API rate limit exceeded for xxx.xxx.xxx.xxx.",
  documentation_url: "https://docs.github.com/en/rest/overview/resources-in-the-rest-api#abuse-rate-limits"
})
const abuseMessage = JSON.stringify({
  message: "You have triggered an abuse detection mechanism and have been temporarily blocked from content creation.",
  documentation_url: "https://docs.github.com/en/rest/overview/resources-in-the-rest-api#abuse-rate-limits"
})

const rate = (limit: string, remaining: string, used: string, reset: string): Http.OutgoingHttpHeaders => ({
  "x-ratelimit-limit": limit,
  "x-ratelimit-remaining": remaining,
  "x-ratelimit-used": used,
  "x-ratelimit-reset": reset,
  "x-ratelimit-resource": "core"
})

/** go-github's `Rate`, as Sturdy reads it at `now` */
const rateOf = (headers: Readonly<Record<string, string>>, now: number) => {
  const parsed = RetryHeaders.parse(Headers.fromInput(headers), now)
  return {
    limit: Option.getOrUndefined(parsed.limit),
    remaining: Option.getOrUndefined(parsed.remaining),
    reset: Option.getOrUndefined(Option.map(parsed.reset, (d) => [Duration.toMillis(d.duration), d.format]))
  }
}

const waitOf = (headers: Readonly<Record<string, string>>, now: number) =>
  Option.getOrUndefined(Option.map(RetryHeaders.retryAfter(Headers.fromInput(headers), now), Duration.toMillis))

/** GitHub's rate-limited 403 (no requests left) retried, its headers the wait */
const githubLimits: Policy.Options = {
  totalTimeout: "5 minutes",
  retry: {
    maxAttempts: 2,
    retryOn: { ClientError: (e) => e.status === 403 && e.headers["x-ratelimit-remaining"] === "0" },
    retryAfterStatuses: [403, 429, 503],
    retryAfterJitter: 0,
    maxRetryAfter: "2 minutes"
  }
}

// the TestClock on a whole second, so that epoch-second resets are exact
const wholeSecond = Effect.flatMap(Clock.currentTimeMillis, (now) => TestClock.adjust(1000 - (now % 1000)))

describe("go-github github/github_test.go", () => {
  it.scoped("TestDo_rateLimit", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response) => send(response, 200, rate("60", "59", "1", referenceUnixTimeStr)))
      const exit = yield* h.run(h.api.get("/"))
      expect(textOf(exit)).toBe("")
      const received = yield* exit
      const now = yield* Clock.currentTimeMillis
      // the reset (2006) is past: 0 s from now, read as epoch seconds
      expect(rateOf(received.headers, now)).toEqual({ limit: 60, remaining: 59, reset: [0, "epoch-seconds"] })
      expect(received.headers["x-ratelimit-used"]).toBe("1")
      expect(received.headers["x-ratelimit-resource"]).toBe("core")
    }))

  it.scoped("TestDo_rateLimit_errorResponse", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response) =>
        send(response, 400, rate("60", "59", "1", referenceUnixTimeStr), "Bad Request")
      )
      const failure = failureOf(yield* h.run(h.api.get("/"))) as HttpFailure.ClientError
      // a plain 400, not a rate limit, and not retried
      expect(failure).toMatchObject({ _tag: "ClientError", status: 400 })
      expect(h.seen.length).toBe(1)
      const now = yield* Clock.currentTimeMillis
      expect(rateOf(failure.headers, now)).toEqual({ limit: 60, remaining: 59, reset: [0, "epoch-seconds"] })
    }))

  // go-github's *RateLimitError for a 403 with no requests left: a ClientError whose headers say so (a 429 would be
  // RateLimited: TestCheckResponse_RateLimit_TooManyRequests)
  it.scoped("TestDo_rateLimit_rateLimitError", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response) =>
        send(response, 403, { ...json, ...rate("60", "0", "60", referenceUnixTimeStr) }, primaryMessage)
      )
      const failure = failureOf(yield* h.run(h.api.get("/"))) as HttpFailure.ClientError
      expect(failure).toMatchObject({ _tag: "ClientError", status: 403 })
      const now = yield* Clock.currentTimeMillis
      expect(rateOf(failure.headers, now)).toEqual({ limit: 60, remaining: 0, reset: [0, "epoch-seconds"] })
      // the reset has passed: no wait left
      expect(waitOf(failure.headers, now)).toBe(0)
      expect(failure.headers["x-ratelimit-used"]).toBe("60")
    }))

  // Sturdy pauses the key on a 429 (GitHub answers 403 or 429 for its limits); a rate-limited 403 pauses nothing and
  // the next call goes out, where go-github predicts it
  it.scoped("TestDo_rateLimit_noNetworkCall", () =>
    Effect.gen(function*() {
      for (const status of [429, 403]) {
        const handler: Handler = (request, response) =>
          request.path === "/first"
            ? send(
              response,
              status,
              { ...json, ...rate("60", "0", "60", String(Math.round(request.at / 1000) + 60)) },
              primaryMessage
            )
            : send(response, 200, json, "{}")
        const h = yield* setup(handler)
        yield* wholeSecond
        const first = failureOf(yield* h.run(h.api.get("/first")))
        expect(first).toMatchObject({ status })
        const second = yield* h.run(h.api.get("/second"))
        if (status === 429) {
          expect(first).toMatchObject({ _tag: "RateLimited" })
          expect(Option.map((first as HttpFailure.RateLimited).retryAfter, Duration.toMillis)).toEqual(
            Option.some(60_000)
          )
          // the reset is a minute away, beyond what the call would wait (30 s): it fails at once, unsent
          const paused = failureOf(second)
          expect(paused).toMatchObject({ _tag: "RateLimitExceeded", reason: "Paused" })
          // the pause kept is `maxRetryAfter` (30 s), after which a call probes: that is when to come back
          expect(Duration.toMillis((paused as { retryAfter: Duration.Duration }).retryAfter)).toBe(30_000)
          expect(h.seen.map((s) => s.path)).toEqual(["/first"])
        } else {
          expect(textOf(second)).toBe("{}")
          expect(h.seen.map((s) => s.path)).toEqual(["/first", "/second"])
        }
      }
    }))

  // go-github sleeps until the reset plus a second's buffer; Sturdy until the reset
  it.scoped("TestDo_rateLimit_sleepUntilResponseResetLimit", () =>
    Effect.gen(function*() {
      const h = yield* setup((request, response, n) =>
        n === 1
          ? send(
            response,
            403,
            { ...json, ...rate("60", "0", "60", String(Math.round(request.at / 1000) + 1)) },
            primaryMessage
          )
          : send(
            response,
            200,
            { ...json, ...rate("5000", "5000", "0", String(Math.round(request.at / 1000) + 3600)) },
            "{}"
          ), githubLimits)
      yield* wholeSecond
      const received = yield* h.run(h.api.get("/"))
      expect(textOf(received)).toBe("{}")
      expect(h.seen.length).toBe(2)
      expect(gaps(h)).toEqual([1000])
    }))

  it.scoped("TestDo_rateLimit_sleepUntilResponseResetLimitRetryOnce", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        (request, response) =>
          send(
            response,
            403,
            { ...json, ...rate("60", "0", "60", String(Math.round(request.at / 1000) + 1)) },
            primaryMessage
          ),
        githubLimits
      )
      yield* wholeSecond
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(failure).toMatchObject({ _tag: "ClientError", status: 403, attempts: 2 })
      expect(h.seen.length).toBe(2)
    }))

  // the context cancelled once the server has the request: the call is interrupted, and no retry goes out
  it.scoped("TestDo_rateLimit_abortSleepContextCancelled", () =>
    Effect.gen(function*() {
      const requestReceived = yield* Deferred.make<void>()
      const h = yield* setup((request, response) => {
        send(
          response,
          403,
          { ...json, ...rate("60", "0", "60", String(Math.round(request.at / 1000) + 60)) },
          primaryMessage
        )
        Effect.runSync(Deferred.succeed(requestReceived, undefined))
      }, githubLimits)
      const cancelled = Effect.as(Deferred.await(requestReceived), "cancelled" as const)
      const exit = yield* h.run(Effect.raceFirst(Effect.as(h.api.get("/"), "answered" as const), cancelled))
      expect(yield* exit).toBe("cancelled")
      // the reset a minute away: had the call not been interrupted, it would have slept and retried
      yield* TestClock.adjust("2 minutes")
      for (let i = 0; i < 10; i++) yield* realPause
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("TestDo_rateLimit_abuseRateLimitError", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response) => send(response, 403, json, abuseMessage))
      const failure = failureOf(yield* h.run(h.api.get("/"))) as HttpFailure.ClientError
      expect(failure).toMatchObject({ _tag: "ClientError", status: 403 })
      // "temporarily blocked from content creation" comes without Retry-After: no wait
      expect(waitOf(failure.headers, yield* Clock.currentTimeMillis)).toBeUndefined()
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("TestDo_rateLimit_abuseRateLimitErrorEnterprise", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response) => send(response, 403, json, abuseMessage))
      const failure = failureOf(yield* h.run(h.api.get("/"))) as HttpFailure.ClientError
      expect(failure).toMatchObject({ _tag: "ClientError", status: 403 })
      expect(waitOf(failure.headers, yield* Clock.currentTimeMillis)).toBeUndefined()
    }))

  // the 403 of the Go test carries its Retry-After (123 s); as a 429 the wait also pauses the key, and the next call is
  // not sent
  it.scoped("TestDo_rateLimit_abuseRateLimitError_retryAfter", () =>
    Effect.gen(function*() {
      const h403 = yield* setup((_, response) => send(response, 403, { ...json, "retry-after": "123" }, abuseMessage))
      const forbidden = failureOf(yield* h403.run(h403.api.get("/"))) as HttpFailure.ClientError
      expect(waitOf(forbidden.headers, yield* Clock.currentTimeMillis)).toBe(123_000)

      const h = yield* setup((_, response) => send(response, 429, { ...json, "retry-after": "123" }, abuseMessage))
      const first = failureOf(yield* h.run(h.api.get("/"))) as HttpFailure.RateLimited
      expect(first._tag).toBe("RateLimited")
      expect(Option.map(first.retryAfter, Duration.toMillis)).toEqual(Option.some(123_000))
      expect(h.decisions.map((d) => d.reason)).toEqual(["retry-after-too-long"])
      // "not making remote request"
      const second = failureOf(yield* h.run(h.api.get("/")))
      expect(second).toMatchObject({ _tag: "RateLimitExceeded", reason: "Paused" })
      expect(h.seen.length).toBe(1)
    }))

  // go-github waits until a reset sent with `X-RateLimit-Remaining: 1` (the secondary limit); Sturdy reads no wait
  // from a quota that is not exhausted: the reset is reported, and the backoff applies
  it.scoped("TestDo_rateLimit_abuseRateLimitError_xRateLimitReset", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        (request, response, n) =>
          n === 2 ? send(response, 200, json, "{}") : send(response, 429, {
            ...json,
            "x-ratelimit-reset": String(Math.round(request.at / 1000) + 123),
            "x-ratelimit-remaining": "1"
          }, abuseMessage),
        { retry: { maxAttempts: 2, delay: () => 500 } }
      )
      yield* wholeSecond
      const now = yield* Clock.currentTimeMillis
      const headers = { "x-ratelimit-reset": String(now / 1000 + 123), "x-ratelimit-remaining": "1" }
      expect(rateOf(headers, now)).toEqual({ limit: undefined, remaining: 1, reset: [123_000, "epoch-seconds"] })
      expect(waitOf(headers, now)).toBeUndefined()
      expect(textOf(yield* h.run(h.api.get("/")))).toBe("{}")
      expect(h.decisions.map((d) => d.reason)).toEqual(["backoff"])
      expect(delays(h)).toEqual([500])
    }))

  // go-github caps the secondary wait at `maxSecondaryRateLimitRetryAfterDuration`; Sturdy's `maxRetryAfter` is the
  // longest wait it honours. The Go test's reset comes with `X-RateLimit-Remaining: 1`, no wait for Sturdy (above).
  it.scoped("TestDo_rateLimit_abuseRateLimitError_maxDuration", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        (request, response) =>
          send(response, 403, {
            ...json,
            "x-ratelimit-reset": String(Math.round(request.at / 1000) + 3600),
            "x-ratelimit-remaining": "1"
          }, abuseMessage),
        { retry: { maxRetryAfter: "60 seconds" } }
      )
      const failure = failureOf(yield* h.run(h.api.get("/"))) as HttpFailure.ClientError
      expect(failure).toMatchObject({ _tag: "ClientError", status: 403 })
      const now = yield* Clock.currentTimeMillis
      expect(waitOf(failure.headers, now)).toBeUndefined()
      const reset = rateOf(failure.headers, now).reset!
      expect(reset[0]).toBeGreaterThan(3_599_000)
      expect(h.seen.length).toBe(1)
    }))

  // the known limit is a pause left by an earlier 429 (go-github presets its table); with the check disabled
  // (`respectRetryAfter: false`) no pause is kept and the call goes out
  it.scoped("TestDo_rateLimit_disableRateLimitCheck", () =>
    Effect.gen(function*() {
      const handler: Handler = (request, response, n) =>
        n === 1
          ? send(response, 429, { ...json, ...rate("5000", "0", "5000", String(Math.round(request.at / 1000) + 60)) })
          : send(
            response,
            200,
            { ...json, ...rate("5000", "5000", "0", String(Math.round(request.at / 1000) + 3660)) },
            "{}"
          )
      const h = yield* setup(handler, { retry: { respectRetryAfter: false, maxAttempts: 1 } })
      expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ _tag: "RateLimited" })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe("{}")
      expect(h.seen.length).toBe(2)
      // with the check on, the same second call is held back
      const checked = yield* setup(handler, { retry: { maxAttempts: 1 } })
      expect(failureOf(yield* checked.run(checked.api.get("/")))).toMatchObject({ _tag: "RateLimited" })
      expect(failureOf(yield* checked.run(checked.api.get("/")))).toMatchObject({
        _tag: "RateLimitExceeded",
        reason: "Paused"
      })
      expect(checked.seen.length).toBe(1)
    }))

  // go-github reads `243424` as epoch seconds (1970: past); Sturdy as 243424 s from now, clamped to 24 h
  it.scoped("TestCheckResponse_RateLimit", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response) =>
        send(response, 403, rate("60", "0", "1", "243424"), JSON.stringify({ message: "m", documentation_url: "url" }))
      )
      const failure = failureOf(yield* h.run(h.api.get("/"))) as HttpFailure.ClientError
      expect(failure).toMatchObject({ _tag: "ClientError", status: 403 })
      expect(JSON.parse(failure.bodyExcerpt).message).toBe("m")
      const parsed = RetryHeaders.parse(Headers.fromInput(failure.headers), yield* Clock.currentTimeMillis)
      expect(Option.map(parsed.wait, (w) => [w.source, Duration.toHours(w.duration), w.clamped, w.format])).toEqual(
        Option.some(["x-ratelimit", 24, true, "delta-seconds"])
      )
    }))

  it.scoped("TestCheckResponse_AbuseRateLimit", () =>
    Effect.gen(function*() {
      const body = JSON.stringify({
        message: "m",
        documentation_url: "docs.github.com/en/rest/overview/resources-in-the-rest-api#abuse-rate-limits"
      })
      const h = yield* setup((_, response) => send(response, 403, {}, body))
      const failure = failureOf(yield* h.run(h.api.get("/"))) as HttpFailure.ClientError
      expect(failure).toMatchObject({ _tag: "ClientError", status: 403 })
      expect(JSON.parse(failure.bodyExcerpt).message).toBe("m")
      expect(waitOf(failure.headers, yield* Clock.currentTimeMillis)).toBeUndefined()
    }))

  // As TestCheckResponse_RateLimit: the reset is 243424 s (clamped to 24 h), beyond `maxRetryAfter`: no retry
  it.scoped("TestCheckResponse_RateLimit_TooManyRequests", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response) =>
        send(response, 429, rate("60", "0", "60", "243424"), JSON.stringify({ message: "m", documentation_url: "url" }))
      )
      const failure = failureOf(yield* h.run(h.api.get("/"))) as HttpFailure.RateLimited
      expect(failure._tag).toBe("RateLimited")
      expect(Option.map(failure.retryAfter, Duration.toHours)).toEqual(Option.some(24))
      expect(h.decisions.map((d) => d.reason)).toEqual(["retry-after-too-long"])
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("TestCheckResponse_AbuseRateLimit_TooManyRequests", () =>
    Effect.gen(function*() {
      const body = JSON.stringify({
        message: "m",
        documentation_url:
          "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
      })
      const h = yield* setup((_, response) => send(response, 429, { "retry-after": "60" }, body), {
        retry: { maxAttempts: 1 }
      })
      const failure = failureOf(yield* h.run(h.api.get("/"))) as HttpFailure.RateLimited
      expect(failure._tag).toBe("RateLimited")
      expect(JSON.parse(failure.bodyExcerpt).message).toBe("m")
      expect(Option.map(failure.retryAfter, Duration.toSeconds)).toEqual(Option.some(60))
    }))
})
