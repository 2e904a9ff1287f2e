/**
 * octokit/plugin-throttling.js `test/retry.test.ts` and `test/events.test.ts` (commit
 * 1a6480439d828a076a794012b04e18954b544258), ported to Sturdy's public API: `SturdyClient` over `@sturdy/node`'s
 * undici transport against a real node:http server on 127.0.0.1 (`test/utils/retryHarness.ts`), every wait on the
 * TestClock, and `RetryHeaders` for the wait the plugin hands its `onRateLimit` / `onSecondaryRateLimit` handlers.
 * One `it` per peer case, named after it.
 *
 * Mapping: the plugin retries a 403 or 429 when GitHub says it is rate limited: a "secondary rate limit" message in
 * the body (waiting `Retry-After`), or `x-ratelimit-remaining: 0` (waiting until `x-ratelimit-reset`, epoch seconds).
 * Sturdy retries a 429 by default and honours its wait; GitHub's rate-limited 403 is opted in with `githubLimits`
 * below: `retry.retryOn.ClientError` recognises the 403 as the plugin does, and `retry.retryAfterStatuses` adds 403
 * so that its headers are the wait. The handlers' "retry?" answer (`true` in every retrying case) is the retry rule;
 * the `retryAfter` a handler is given is the `RetryDecision` event's `delay`, or `RetryHeaders.retryAfter` of the
 * failure's headers when the call is not retried. `retryAfterBaseValue: 50` (the tests' speed-up: 1 s becomes 50 ms)
 * has no counterpart: the waits here are the server's own seconds, on the TestClock. `retryAfterJitter: 0` makes a
 * server's wait exact (Sturdy adds up to 10 % by default).
 *
 * Deliberate differences (each test says which):
 * - `x-ratelimit-reset: 123` is 123 seconds from now for Sturdy (the magnitude rule of `RetryHeaders`: below 1e9 a
 *   reset is delta seconds), where the plugin reads any reset as epoch seconds (123 s after 1970: retry at once).
 * - The plugin waits one second past an epoch reset; Sturdy waits until the reset itself (plus its jitter).
 * - With no `Retry-After` on a secondary rate limit, the plugin waits 60 s (`fallbackSecondaryRateRetryAfter`);
 *   Sturdy has no GitHub-specific fallback: no hint, so its backoff applies.
 * - A GraphQL POST is retried only when the caller declares it safe to repeat (`retry.methods: ["POST"]`).
 *
 * Not ported: the GraphQL cases that find the rate limit in a 200's body (`errors[].type === "RATE_LIMITED"`: "Should
 * retry 'rate-limit' and succeed", "Should work with full URL"; Sturdy classifies by status and headers, and a 200 is
 * a success), "logs a warning when an 'error' event is emitted" (a throwing handler is logged by Bottleneck's event
 * emitter; Sturdy has no such handler), and `test/plugin.test.ts` (Bottleneck's write, search and notification
 * spacing, linearised requests, the required-handlers check: client-side scheduling, not answers to rate limits).
 */
import { Headers } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { type HttpFailure, type Policy, RetryHeaders } from "@sturdy/http"
import { Clock, Duration, Effect, Option, TestClock } from "effect"
import type * as Http from "node:http"
import { delays, failureOf, gaps, type Handler, send, setup, statusOf, textOf } from "./utils/retryHarness.js"

const secondaryMessage = JSON.stringify({ message: "You have exceeded a secondary rate limit" })
const json = { "content-type": "application/json" }

/** the plugin's test: a 403 is a rate limit when the body says "secondary rate", or no requests are left */
const githubLimited = (failure: HttpFailure.ClientError): boolean =>
  failure.status === 403 &&
  (/\bsecondary rate\b/i.test(failure.bodyExcerpt) || failure.headers["x-ratelimit-remaining"] === "0")

/** GitHub's rate-limited 403 retried like a 429, its headers the wait */
const githubLimits = (retry: Policy.RetryOptions = {}): Policy.Options => ({
  retry: {
    retryOn: { ClientError: githubLimited },
    retryAfterStatuses: [403, 429, 503],
    retryAfterJitter: 0,
    ...retry
  }
})

/** the plugin's mocked `responses`: request n gets answer n (the last one again after that) */
const responses = (
  ...answers: ReadonlyArray<{ status: number; headers?: Http.OutgoingHttpHeaders; body?: string }>
): Handler =>
(_, response, n) => {
  const answer = answers[Math.min(n, answers.length) - 1]!
  send(response, answer.status, { ...json, ...answer.headers }, answer.body ?? "{}")
}

const seconds = (o: Option.Option<Duration.Duration>) => Option.map(o, Duration.toMillis)

// -----------------------------------------------------------------------------
// test/retry.test.ts
// -----------------------------------------------------------------------------

describe("octokit/plugin-throttling test/retry.test.ts", () => {
  // "both 403 and 429 status codes can be returned when hitting a rate limit"
  for (const status of [403, 429]) {
    describe(`REST ${status}`, () => {
      it.scoped(`Should retry 'secondary-limit' and succeed when status ${status}`, () =>
        Effect.gen(function*() {
          const h = yield* setup(
            responses(
              { status, headers: { "retry-after": "1" }, body: secondaryMessage },
              { status: 200, body: JSON.stringify({ message: "Success!" }) }
            ),
            githubLimits()
          )
          expect(JSON.parse(textOf(yield* h.run(h.api.get("/route"))))).toEqual({ message: "Success!" })
          expect(h.seen.map((s) => `${s.method} ${s.path}`)).toEqual(["GET /route", "GET /route"])
          // the handler was told 1 (second) once; the plugin's 50 ms is its retryAfterBaseValue speed-up
          expect(h.decisions.map((d) => [d.attempt, Duration.toMillis(d.delay), d.reason])).toEqual([
            [2, 1000, "retry-after"]
          ])
          expect(gaps(h)).toEqual([1000])
        }))

      it.scoped("Should retry 'secondary-limit' twice and fail", () =>
        Effect.gen(function*() {
          const h = yield* setup(
            responses(
              { status, headers: { "retry-after": "1" }, body: secondaryMessage },
              { status, headers: { "retry-after": "2" }, body: secondaryMessage },
              { status: 404, headers: { "retry-after": "3" }, body: JSON.stringify({ message: "Nope!" }) }
            ),
            githubLimits({ maxAttempts: 5 })
          )
          const failure = failureOf(yield* h.run(h.api.get("/route")))
          expect(failure).toMatchObject({ _tag: "ClientError", status: 404 })
          expect(JSON.parse((failure as HttpFailure.ClientError).bodyExcerpt)).toEqual({ message: "Nope!" })
          expect(h.seen.length).toBe(3)
          // the 404's Retry-After does not make it retryable
          expect(h.decisions.map((d) => [d.retrying, d.reason])).toEqual([
            [true, "retry-after"],
            [true, "retry-after"],
            [false, "not-retryable"]
          ])
          expect(gaps(h)).toEqual([1000, 2000])
        }))

      it.scoped("Should not leak retryCount between requests", () =>
        Effect.gen(function*() {
          // every third request succeeds; each call is retried from its own first attempt
          const h = yield* setup(
            (_, response, n) =>
              n % 3 === 0
                ? send(response, 200, json, JSON.stringify({ message: "Success!" }))
                : send(response, status, { ...json, "retry-after": "1" }, secondaryMessage),
            githubLimits()
          )
          for (let call = 0; call < 3; call++) {
            expect(JSON.parse(textOf(yield* h.run(h.api.get("/nope-nope-ok"))))).toEqual({ message: "Success!" })
          }
          expect(h.seen.length).toBe(9)
          expect(h.decisions.map((d) => d.attempt)).toEqual([2, 3, 2, 3, 2, 3])
          expect(delays(h)).toEqual([1000, 1000, 1000, 1000, 1000, 1000])
        }))

      // The plugin reads `x-ratelimit-reset: 123` as epoch seconds (1970: the reset is past, retry at once). Sturdy's
      // magnitude rule reads a reset below 1e9 as delta seconds, so the server asked for 123 s: honoured when
      // `maxRetryAfter` allows it, a failure at once under the default 30 s.
      it.scoped(`Should retry 'rate-limit' with status code ${status} and succeed`, () =>
        Effect.gen(function*() {
          const limited = responses(
            { status, headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": "123" } },
            { status: 202, body: JSON.stringify({ message: "Yay!" }) }
          )
          const h = yield* setup(limited, { ...githubLimits({ maxRetryAfter: "5 minutes" }), totalTimeout: false })
          expect(JSON.parse(textOf(yield* h.run(h.api.get("/route"))))).toEqual({ message: "Yay!" })
          expect(h.seen.length).toBe(2)
          expect(h.decisions.map((d) => [Duration.toMillis(d.delay), d.reason])).toEqual([[123_000, "retry-after"]])
          expect(gaps(h)).toEqual([123_000])

          const impatient = yield* setup(limited, githubLimits())
          const failure = failureOf(yield* impatient.run(impatient.api.get("/route")))
          expect(statusOf(failure)).toBe(status)
          expect(impatient.decisions.map((d) => [Duration.toMillis(d.delay), d.reason])).toEqual([
            [123_000, "retry-after-too-long"]
          ])
          expect(impatient.seen.length).toBe(1)

          // a reset in epoch seconds that has passed is "now", as for the plugin
          const past = yield* setup(
            responses(
              { status, headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": "1350085394" } },
              { status: 202, body: JSON.stringify({ message: "Yay!" }) }
            ),
            githubLimits()
          )
          expect(JSON.parse(textOf(yield* past.run(past.api.get("/route"))))).toEqual({ message: "Yay!" })
          expect(past.decisions.map((d) => [Duration.toMillis(d.delay), d.reason])).toEqual([[0, "retry-after"]])
          expect(gaps(past)).toEqual([0])
        }))
    })
  }

  describe("GraphQL", () => {
    it.scoped("Should ignore other error types", () =>
      Effect.gen(function*() {
        // a 200 is an answer, whatever its rate-limit headers say
        const body = JSON.stringify({ errors: [{ type: "HELLO_WORLD" }] })
        const h = yield* setup(
          responses(
            { status: 200, headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": "123" }, body },
            { status: 200, body: JSON.stringify({ message: "Yay!" }) }
          ),
          githubLimits({ methods: ["POST"] })
        )
        expect(JSON.parse(textOf(yield* h.run(h.api.post("/graphql", { body: { query: "{}" } }))))).toEqual({
          errors: [{ type: "HELLO_WORLD" }]
        })
        expect(h.seen.map((s) => `${s.method} ${s.path}`)).toEqual(["POST /graphql"])
        expect(h.decisions).toEqual([])
      }))

    it.scoped("Should ignore 401 Unauthorized errors", () =>
      Effect.gen(function*() {
        const h = yield* setup(
          responses({
            status: 401,
            headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": "123" },
            body: JSON.stringify({ message: "Bad credentials", documentation_url: "https://docs.github.com/graphql" })
          }),
          githubLimits({ methods: ["POST"] })
        )
        const failure = failureOf(yield* h.run(h.api.post("/graphql", { body: { query: "{}" } })))
        expect(failure).toMatchObject({ _tag: "ClientError", status: 401 })
        expect(JSON.parse((failure as HttpFailure.ClientError).bodyExcerpt)).toMatchObject({
          message: "Bad credentials"
        })
        expect(h.seen.map((s) => `${s.method} ${s.path}`)).toEqual(["POST /graphql"])
      }))

    // Sturdy repeats a POST only when the caller says it is safe: `retry.methods: ["POST"]` (the plugin retries it).
    it.scoped("Should retry 403 Forbidden errors on SecondaryRate limit", () =>
      Effect.gen(function*() {
        const limited = responses(
          {
            status: 403,
            headers: { "retry-after": "1" },
            body: JSON.stringify({
              message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
              documentation_url: "https://developer.github.com/v3/#secondary-rate-limits"
            })
          },
          { status: 200, body: JSON.stringify({ message: "Success!" }) }
        )
        const h = yield* setup(limited, githubLimits({ methods: ["POST"] }))
        expect(JSON.parse(textOf(yield* h.run(h.api.post("/graphql", { body: { query: "{}" } }))))).toEqual({
          message: "Success!"
        })
        expect(h.seen.map((s) => `${s.method} ${s.path}`)).toEqual(["POST /graphql", "POST /graphql"])
        expect(h.decisions.map((d) => [Duration.toMillis(d.delay), d.reason])).toEqual([[1000, "retry-after"]])
        expect(gaps(h)).toEqual([1000])

        // without the declaration, the POST is not repeated
        const unsafe = yield* setup(limited, githubLimits())
        expect(failureOf(yield* unsafe.run(unsafe.api.post("/graphql", { body: { query: "{}" } })))).toMatchObject({
          _tag: "ClientError",
          status: 403
        })
        expect(unsafe.seen.length).toBe(1)
      }))
  })
})

// -----------------------------------------------------------------------------
// test/events.test.ts
// -----------------------------------------------------------------------------

// The plugin calls its handler with the wait and lets it decide; with Sturdy's defaults a 403 is not retried (the
// handlers below do not ask for a retry either), and the wait the handler would be given is
// `RetryHeaders.retryAfter` of the failure's headers.
describe("octokit/plugin-throttling test/events.test.ts", () => {
  it.scoped("Should support non-limit 403s", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        (request, response) =>
          request.path === "/route1" ? send(response, 201, json, "{}") : send(response, 403, json, "{}"),
        githubLimits()
      )
      expect(textOf(yield* h.run(h.api.get("/route1")))).toBe("{}")
      const failure = failureOf(yield* h.run(h.api.get("/route2")))
      expect(failure).toMatchObject({ _tag: "ClientError", status: 403 })
      expect(h.seen.map((s) => s.path)).toEqual(["/route1", "/route2"])
      expect(h.decisions.map((d) => [d.retrying, d.reason])).toEqual([[false, "not-retryable"]])
    }))

  it.scoped("Should detect SecondaryRate limit and broadcast event", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        (request, response) =>
          request.path === "/route1"
            ? send(response, 201, json, "{}")
            : send(response, 403, { ...json, "retry-after": "60" }, secondaryMessage)
      )
      expect(textOf(yield* h.run(h.api.get("/route1")))).toBe("{}")
      const failure = failureOf(yield* h.run(h.api.get("/route2"))) as HttpFailure.ClientError
      expect(failure).toMatchObject({ _tag: "ClientError", status: 403 })
      const now = yield* Clock.currentTimeMillis
      expect(seconds(RetryHeaders.retryAfter(Headers.fromInput(failure.headers), now))).toEqual(Option.some(60_000))
      expect(h.seen.length).toBe(2)

      // retried as the plugin would, the 60 s is beyond the default `maxRetryAfter` (30 s): the call fails at once
      // and the decision carries the server's wait
      const retried = yield* setup(
        (_, response) => send(response, 403, { ...json, "retry-after": "60" }, secondaryMessage),
        githubLimits()
      )
      expect(statusOf(failureOf(yield* retried.run(retried.api.get("/route2"))))).toBe(403)
      expect(retried.decisions.map((d) => [Duration.toMillis(d.delay), d.reason])).toEqual([
        [60_000, "retry-after-too-long"]
      ])
      expect(retried.seen.length).toBe(1)
    }))

  // The plugin substitutes 60 s for a missing Retry-After on a secondary limit; Sturdy has no hint then, and the
  // backoff applies (2 s first, full jitter: at most 2 s).
  it.scoped("Should broadcast retryAfter of 60s even when the header is missing", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response) => send(response, 403, json, secondaryMessage), githubLimits())
      const failure = failureOf(yield* h.run(h.api.get("/route2"))) as HttpFailure.ClientError
      expect(failure).toMatchObject({ _tag: "ClientError", status: 403 })
      const now = yield* Clock.currentTimeMillis
      expect(RetryHeaders.retryAfter(Headers.fromInput(failure.headers), now)).toEqual(Option.none())
      expect(h.decisions.filter((d) => d.retrying).map((d) => d.reason)).toEqual(["backoff", "backoff"])
      for (const delay of delays(h)) expect(delay).toBeLessThanOrEqual(4000)
      expect(h.seen.length).toBe(3)
    }))

  // The plugin's handler is given ⌈reset − now⌉ + 1 s (between 29 and 33 in the test); Sturdy's wait is the reset
  // itself, to the millisecond.
  it.scoped("Should detect rate limit exceeded and broadcast event", () =>
    Effect.gen(function*() {
      const h = yield* setup((request, response) => {
        if (request.path === "/route1") return send(response, 201, json, "{}")
        send(response, 403, {
          ...json,
          "x-ratelimit-remaining": "0",
          "x-ratelimit-reset": `${Math.round(request.at / 1000) + 30}`
        })
      })
      // t0 on a whole second, so that the reset is exactly 30 s away
      yield* TestClock.adjust(1000 - ((yield* Clock.currentTimeMillis) % 1000))
      expect(textOf(yield* h.run(h.api.get("/route1")))).toBe("{}")
      const failure = failureOf(yield* h.run(h.api.get("/route2"))) as HttpFailure.ClientError
      expect(failure).toMatchObject({ _tag: "ClientError", status: 403 })
      const now = yield* Clock.currentTimeMillis
      expect(seconds(RetryHeaders.retryAfter(Headers.fromInput(failure.headers), now))).toEqual(Option.some(30_000))
      const parsed = RetryHeaders.parse(Headers.fromInput(failure.headers), now)
      expect(Option.map(parsed.wait, (w) => [w.source, w.format])).toEqual(
        Option.some(["x-ratelimit", "epoch-seconds"])
      )
      expect(h.seen.length).toBe(2)
    }))
})
