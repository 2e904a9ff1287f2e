/**
 * The request/response examples of draft-ietf-httpapi-ratelimit-headers (ietf-wg-httpapi/ratelimit-headers,
 * `draft-ietf-httpapi-ratelimit-headers.md`, commit 0669b82c3cf739f52c4d37b2495e88e39fbcd2a2, Appendix "Examples"),
 * played by a real node:http server on 127.0.0.1 to `SturdyClient` over `@sturdy/node`'s undici transport
 * (`test/utils/retryHarness.ts`), every wait on the TestClock. One `it` per example that has a throttled or
 * exhausted answer; the header parsing of every example is in `packages/http/test/peer-ratelimit-headers.test.ts`.
 *
 * Mapping: the draft leaves the client's behaviour open ("implementers can adopt their preferred policies"); Sturdy's
 * is `Policy`'s: on a 429 (or 503) the server's wait replaces the backoff, `Retry-After` first ("the Retry-After field
 * MUST take precedence"), else the reset of an exhausted quota; a success is an answer, whatever its RateLimit fields
 * say, and pauses nothing. `retryAfterJitter: 0` makes a server's wait exact (Sturdy adds up to 10 % by default).
 *
 * Not ported: the examples whose answers are all 200 with quota left ("Multiple policies in response", "Use for
 * limiting concurrency", "Throttling window specified via parameter", "Dynamic limits with parameterized windows",
 * "Missing Remaining information", "Use with multiple windows"): Sturdy does not shape its request rate from quota
 * hints (its client-side limiter is configured, `Policy`'s `rateLimit`), so there is no behaviour to observe beyond
 * the parsing.
 */
import { describe, expect, it } from "@effect/vitest"
import { Clock, Duration, Effect, TestClock } from "effect"
import type * as Http from "node:http"
import { gaps, type Handler, send, setup, textOf } from "./utils/retryHarness.js"

const json = { "content-type": "application/json" }
const exact = { retry: { retryAfterJitter: 0 } } as const

/** the example's throttled answer first, then `{"hello": "world"}` */
const thenOk =
  (status: number, headers: (at: number) => Http.OutgoingHttpHeaders, body = "{}"): Handler => (request, response, n) =>
    n === 1
      ? send(response, status, { ...json, ...headers(request.at) }, body)
      : send(response, 200, json, JSON.stringify({ hello: "world" }))

const httpDate = (at: number) => new Date(at).toUTCString()

describe("draft-ietf-httpapi-ratelimit-headers Appendix Examples", () => {
  // "a subsequent request is not required to fail": the 200s are answers, and the second request is sent at once
  it.scoped("Throttling information in responses", () =>
    Effect.gen(function*() {
      const h = yield* setup((request, response) =>
        request.path === "/items/123"
          ? send(response, 200, { ...json, ratelimit: "\"default\";r=0;t=50" }, JSON.stringify({ hello: "world" }))
          : send(
            response,
            200,
            { ...json, ratelimit: "\"default\";r=0;t=48" },
            JSON.stringify({ still: "successful" })
          ), exact)
      expect(JSON.parse(textOf(yield* h.run(h.api.get("/items/123"))))).toEqual({ hello: "world" })
      expect(JSON.parse(textOf(yield* h.run(h.api.get("/items/456"))))).toEqual({ still: "successful" })
      expect(h.seen.map((s) => s.path)).toEqual(["/items/123", "/items/456"])
      expect(gaps(h)).toEqual([0])
    }))

  it.scoped("Use in throttled responses", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        thenOk(429, (at) => ({
          date: httpDate(at),
          "retry-after": httpDate(at + 5000),
          ratelimit: "\"default\";r=0;t=5"
        })),
        exact
      )
      // the TestClock on a whole second, as HTTP-dates are
      yield* TestClock.adjust(1000 - ((yield* Clock.currentTimeMillis) % 1000))
      expect(JSON.parse(textOf(yield* h.run(h.api.get("/items/123"))))).toEqual({ hello: "world" })
      expect(h.decisions.map((d) => [Duration.toMillis(d.delay), d.reason])).toEqual([[5000, "retry-after"]])
      expect(gaps(h)).toEqual([5000])
    }))

  it.scoped("Dynamic limits for pushing back and slowing down", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        thenOk(429, () => ({ "ratelimit-policy": "\"dynamic\";q=15;w=20", ratelimit: "\"dynamic\";r=0;t=20" })),
        exact
      )
      expect(JSON.parse(textOf(yield* h.run(h.api.get("/items/123"))))).toEqual({ hello: "world" })
      // "Wait 20 seconds, then slow down!"
      expect(h.decisions.map((d) => [Duration.toMillis(d.delay), d.reason])).toEqual([[20_000, "retry-after"]])
      expect(gaps(h)).toEqual([20_000])
    }))

  it.scoped("Dynamic limits for pushing back with Retry-After and slow down", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        thenOk(429, () => ({
          "retry-after": "20",
          "ratelimit-policy": "\"dynamic\";q=100;w=60",
          ratelimit: "\"dynamic\";r=15;t=40"
        })),
        exact
      )
      expect(JSON.parse(textOf(yield* h.run(h.api.get("/items/123"))))).toEqual({ hello: "world" })
      // Retry-After's 20 s, not the quota's 40 s reset (quota is left)
      expect(gaps(h)).toEqual([20_000])
    }))
})
