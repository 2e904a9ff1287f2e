/**
 * ky's `test/retry.ts` and got's `test/retry.ts` (and ky's `test/hooks.ts` beforeRetry cases), ported to Sturdy's
 * public API: `SturdyClient` / `Policy.json` / `Policy.send` over `@sturdy/node`'s `UndiciHttpClient`, against a real
 * node:http server on 127.0.0.1, every wait on the TestClock. One `it` per peer case, named after it.
 *
 * The peers' options map to Sturdy's: `limit` → `retry.maxAttempts` = limit + 1, `statusCodes` → `retry.statuses`,
 * `methods` → `retry.methods`, `afterStatusCodes` → `retry.retryAfterStatuses`, `maxRetryAfter` →
 * `retry.maxRetryAfter`, `backoffLimit` → `retry.maxDelay`, `delay` / `calculateDelay` → `retry.delay`, `jitter` →
 * `retry.jitter`, `shouldRetry` → `retry.retryOn`, `timeout` → `attemptTimeout`, `totalTimeout` → `totalTimeout`,
 * `beforeRetry` → the `RetryDecision` events of `onEvent`. ky's backoff (0.3 s × 2^(n−1)) is `baseDelay: 300 millis`
 * with `jitter: "none"`.
 *
 * Where Sturdy differs from the peer on purpose (the rules in `Policy`'s module docs), the test asserts Sturdy's
 * documented behaviour and says which peer does otherwise and why.
 */
import { HttpBody, HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { type HttpFailure, Policy, Redirect, SturdyClient } from "@sturdy/http"
import {} from "@sturdy/node"
import { Cause, Clock, Duration, Effect, Exit, Option, Schema, Stream } from "effect"
import type * as Http from "node:http"
import {
  delays,
  failureOf,
  fixture,
  gaps,
  type Handler,
  type Seen,
  send,
  setup,
  statusOf,
  textOf
} from "./utils/retryHarness.js"

// -----------------------------------------------------------------------------
// harness
// -----------------------------------------------------------------------------

// ky's default: `limit: 2`, 0.3 s × 2^(n−1), no jitter
const kyBackoff = { baseDelay: "300 millis", maxDelay: "1 hour", jitter: "none" } as const
// a server's wait exactly (Sturdy adds up to 10 % by default so that clients told the same instant spread out)
const exactWait = { retryAfterJitter: 0 } as const

const failWith = (status: number, headers: Http.OutgoingHttpHeaders = {}) => (_: Seen, response: Http.ServerResponse) =>
  send(response, status, headers)

/** answers `status` (with `headers`) until request `okAt`, then 200 `fixture` */
const untilOk = (okAt: number, status: number, headers: Http.OutgoingHttpHeaders = {}): Handler => (_, response, n) =>
  n >= okAt ? send(response, 200, {}, fixture) : send(response, status, headers)

const httpDays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
const httpLongDays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
const httpMonths = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
const hms = (date: Date) =>
  [date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds()].map((v) => String(v).padStart(2, "0")).join(":")
const asctime = (date: Date) =>
  `${httpDays[date.getUTCDay()]} ${httpMonths[date.getUTCMonth()]} ${String(date.getUTCDate()).padStart(2, " ")} ${
    hms(date)
  } ${date.getUTCFullYear()}`
const rfc850 = (date: Date) =>
  `${httpLongDays[date.getUTCDay()]}, ${String(date.getUTCDate()).padStart(2, "0")}-${httpMonths[date.getUTCMonth()]}-${
    String(date.getUTCFullYear() % 100).padStart(2, "0")
  } ${hms(date)} GMT`

/** ky's `createSingleRetryHeaderServer`: 429 with `headers`, then 200 */
const singleRetry = (headers: Http.OutgoingHttpHeaders): Handler => untilOk(2, 429, headers)

// a test server that cuts the connection without an answer (ky's "network error")
const cut = (response: Http.ServerResponse) => response.socket?.destroy()

// -----------------------------------------------------------------------------
// ky: test/retry.ts
// -----------------------------------------------------------------------------

describe("ky test/retry.ts", () => {
  it.scoped("network error", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response, n) => n === 3 ? send(response, 200, {}, fixture) : cut(response))
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.seen.length).toBe(3)
    }))

  it.scoped("status code 500", () =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(3, 500))
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.seen.length).toBe(3)
    }))

  it.scoped("only on defined status codes", () =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(3, 400))
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(failure).toMatchObject({ _tag: "ClientError", status: 400 })
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("not on POST", () =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(3, 500))
      const failure = failureOf(yield* h.run(h.api.post("/")))
      expect(failure).toMatchObject({ _tag: "ServerError", status: 500 })
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("QUERY retries by default", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        (request, response, n) =>
          n === 3 ? send(response, 200, { "content-type": "application/json" }, request.body) : send(response, 500),
        { retry: { delay: () => 0 } }
      )
      const json = { foo: true }
      const result = yield* h.run(h.api.query("/", { body: json, schema: Schema.Struct({ foo: Schema.Boolean }) }))
      expect(result).toEqual(Exit.succeed(json))
      expect(h.seen.map((s) => s.method)).toEqual(["QUERY", "QUERY", "QUERY"])
      expect(h.seen.map((s) => JSON.parse(s.body))).toEqual([json, json, json])
    }))

  it.scoped("respect Retry-After: 0 and retry immediately", () =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(5, 413, { "Retry-After": 0 }), { retry: { maxAttempts: 5 } })
      const started = yield* Clock.currentTimeMillis
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect((yield* Clock.currentTimeMillis) - started).toBe(0)
      expect(h.seen.length).toBe(5)
    }))

  // ky waits 2^31−1 ms (its timer's cap) for `Retry-After: 1704067200` read as seconds. Sturdy reads it as seconds
  // too, but a wait beyond `retry.maxRetryAfter` (30 s by default) fails at once, as in got: a client should not sit
  // 54 years on one call.
  it.scoped("Retry-After number is treated as delay seconds, not timestamp", () =>
    Effect.gen(function*() {
      const h = yield* setup(singleRetry({ "Retry-After": "1704067200" }), { retry: { maxAttempts: 2 } })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(failure).toMatchObject({ _tag: "RateLimited", status: 429 })
      expect(h.decisions.map((d) => [d.retrying, d.reason])).toEqual([[false, "retry-after-too-long"]])
      expect(Duration.toMillis(h.decisions[0]!.delay)).toBeGreaterThan(24 * 60 * 60 * 1000 - 1)
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("invalid Retry-After number 0x10 falls back to retry delay", () =>
    Effect.gen(function*() {
      const h = yield* setup(singleRetry({ "Retry-After": "0x10" }), {
        attemptTimeout: Duration.infinity,
        retry: { maxAttempts: 2, delay: () => 10 }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(delays(h)).toEqual([10])
      expect(h.seen.length).toBe(2)
    }))

  // As `Retry-After: 1704067200`: X-RateLimit-Retry-After is read as seconds; beyond `maxRetryAfter` Sturdy fails at
  // once where ky waits its timer's cap. Within it, the header's wait is the wait.
  it.scoped("X-RateLimit-Retry-After number is treated as delay seconds, not timestamp", () =>
    Effect.gen(function*() {
      const h = yield* setup(singleRetry({ "X-RateLimit-Retry-After": "1704067200" }), { retry: { maxAttempts: 2 } })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(failure).toMatchObject({ _tag: "RateLimited", status: 429 })
      expect(h.decisions.map((d) => d.reason)).toEqual(["retry-after-too-long"])
      expect(h.seen.length).toBe(1)
      const short = yield* setup(singleRetry({ "X-RateLimit-Retry-After": "3" }), {
        retry: { maxAttempts: 2, delay: () => 7, ...exactWait }
      })
      expect(textOf(yield* short.run(short.api.get("/")))).toBe(fixture)
      expect(short.decisions.map((d) => [Duration.toMillis(d.delay), d.reason])).toEqual([[3000, "retry-after"]])
      expect(gaps(short)).toEqual([3000])
    }))

  it.scoped("Retry-After takes precedence over RateLimit-Reset", () =>
    Effect.gen(function*() {
      const h = yield* setup(singleRetry({ "Retry-After": "1", "RateLimit-Reset": "1704067200" }), {
        retry: { maxAttempts: 2, ...exactWait }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(delays(h)).toEqual([1000])
      expect(gaps(h)).toEqual([1000])
    }))

  // ky lets the first timing header present decide, so an invalid or empty Retry-After hides a valid reset and the
  // backoff applies. Sturdy reads each header on its own (RetryHeaders: "skips a garbage Retry-After and uses the
  // exhausted quota's reset"): a value that does not parse says nothing, and the reset that does is the server's
  // wait. Here the reset (1 Jan 2024, in the past) means "now": the retry is at once, with no backoff.
  it.scoped("invalid Retry-After does not fall back to RateLimit-Reset", () =>
    Effect.gen(function*() {
      const h = yield* setup(singleRetry({ "Retry-After": "1e3", "RateLimit-Reset": "1704067200" }), {
        retry: { maxAttempts: 2, delay: () => 23 }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.decisions.map((d) => [Duration.toMillis(d.delay), d.reason])).toEqual([[0, "retry-after"]])
      expect(h.seen.length).toBe(2)
      // without a reset, the invalid value is ignored and the backoff applies (as in ky)
      const alone = yield* setup(singleRetry({ "Retry-After": "1e3" }), { retry: { maxAttempts: 2, delay: () => 23 } })
      expect(textOf(yield* alone.run(alone.api.get("/")))).toBe(fixture)
      expect(delays(alone)).toEqual([23])
    }))

  // As above: an empty Retry-After says nothing, and the reset is the wait (ky: the backoff).
  it.scoped("empty Retry-After does not fall back to RateLimit-Reset", () =>
    Effect.gen(function*() {
      const h = yield* setup(singleRetry({ "Retry-After": "", "RateLimit-Reset": "1704067200" }), {
        retry: { maxAttempts: 2, delay: () => 31 }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.decisions.map((d) => [Duration.toMillis(d.delay), d.reason])).toEqual([[0, "retry-after"]])
      const alone = yield* setup(singleRetry({ "Retry-After": "" }), { retry: { maxAttempts: 2, delay: () => 31 } })
      expect(textOf(yield* alone.run(alone.api.get("/")))).toBe(fixture)
      expect(delays(alone)).toEqual([31])
    }))

  it.scoped("non-standard Retry-After date falls back to retry delay", () =>
    Effect.gen(function*() {
      const h = yield* setup(singleRetry({ "Retry-After": "Sun Nov 06 1994 08:49:37 GMT" }), {
        retry: { maxAttempts: 2, delay: () => 29 }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(delays(h)).toEqual([29])
      expect(h.seen.length).toBe(2)
    }))

  for (const [format, formatDate] of [["RFC 850", rfc850], ["asctime", asctime]] as const) {
    it.scoped(`Retry-After supports obsolete HTTP-date format: ${format}`, () =>
      Effect.gen(function*() {
        const h = yield* setup(
          (request, response, n) =>
            n === 2
              ? send(response, 200, {}, fixture)
              : send(response, 429, { "Retry-After": formatDate(new Date(request.at + 2_000_000)) }),
          { totalTimeout: Duration.infinity, retry: { maxAttempts: 2, delay: () => 13, maxRetryAfter: "1 hour" } }
        )
        expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
        expect(delays(h)[0]).toBeGreaterThan(1_000_000)
        expect(delays(h)).not.toContain(13)
        expect(h.seen.length).toBe(2)
      }))
  }

  it.scoped("Retry-After asctime HTTP-date is parsed as GMT", () =>
    Effect.gen(function*() {
      const zone = process.env.TZ
      process.env.TZ = "Pacific/Kiritimati"
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          if (zone === undefined) delete process.env.TZ
          else process.env.TZ = zone
        })
      )
      const h = yield* setup(
        (request, response, n) =>
          n === 2
            ? send(response, 200, {}, fixture)
            : send(response, 429, {
              "Retry-After": asctime(new Date(Math.ceil(request.at / 1000) * 1000 + 2_000_000))
            }),
        {
          totalTimeout: Duration.infinity,
          retry: { maxAttempts: 2, delay: () => 13, maxRetryAfter: "1 hour", ...exactWait }
        }
      )
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      const [wait] = delays(h)
      expect(wait).toBeGreaterThan(1_999_000)
      expect(wait).toBeLessThanOrEqual(2_001_000)
    }))

  it.scoped("Retry-After HTTP-date supports a leap second", () =>
    Effect.gen(function*() {
      let expected = 0
      const h = yield* setup(
        (request, response, n) => {
          if (n === 2) return send(response, 200, {}, fixture)
          const instant = new Date(request.at + 2_000_000)
          instant.setUTCSeconds(59, 0)
          expected = instant.getTime() + 1000 - request.at
          const date = `${httpDays[instant.getUTCDay()]}, ${String(instant.getUTCDate()).padStart(2, "0")} ${
            httpMonths[instant.getUTCMonth()]
          } ${instant.getUTCFullYear()} ${String(instant.getUTCHours()).padStart(2, "0")}:${
            String(instant.getUTCMinutes()).padStart(2, "0")
          }:60 GMT`
          send(response, 429, { "Retry-After": date })
        },
        {
          totalTimeout: Duration.infinity,
          retry: { maxAttempts: 2, delay: () => 13, maxRetryAfter: "1 hour", ...exactWait }
        }
      )
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(delays(h)).toEqual([expected])
    }))

  it.scoped("Retry-After RFC 850 HTTP-date applies the two-digit year rule", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        (request, response, n) => {
          if (n === 2) return send(response, 200, {}, fixture)
          const date = new Date(request.at + 2000)
          date.setUTCFullYear(date.getUTCFullYear() + 49)
          send(response, 429, { "Retry-After": rfc850(date) })
        },
        {
          totalTimeout: Duration.infinity,
          retry: { maxAttempts: 2, delay: () => 13, maxRetryAfter: Duration.infinity }
        }
      )
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      // 49 years ahead is the future: a long wait (Sturdy holds one wait to a day)
      expect(delays(h)[0]).toBeGreaterThan(1_000_000)
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("Retry-After RFC 850 HTTP-date more than 50 years in the future is interpreted as past", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        (request, response, n) => {
          if (n === 2) return send(response, 200, {}, fixture)
          const date = new Date(request.at + 2000)
          date.setUTCFullYear(date.getUTCFullYear() + 51)
          send(response, 429, { "Retry-After": rfc850(date) })
        },
        { retry: { maxAttempts: 2, delay: () => 13, maxRetryAfter: "1 millis" } }
      )
      const started = yield* Clock.currentTimeMillis
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.decisions.map((d) => [Duration.toMillis(d.delay), d.reason])).toEqual([[0, "retry-after"]])
      expect((yield* Clock.currentTimeMillis) - started).toBe(0)
    }))

  it.scoped("invalid Retry-After HTTP-date components fall back to retry delay", () =>
    Effect.gen(function*() {
      const h = yield* setup(singleRetry({ "Retry-After": "Sun, 32 Dec 2030 25:99:99 GMT" }), {
        retry: { maxAttempts: 2, delay: () => 17 }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(delays(h)).toEqual([17])
    }))

  it.scoped("RateLimit-Reset delay seconds are respected like Retry-After", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        (_, response, n) =>
          n === 3
            ? send(response, 200, {}, fixture)
            : send(response, 429, { [n < 2 ? "RateLimit-Reset" : "Retry-After"]: 1 }),
        { retry: exactWait }
      )
      const started = yield* Clock.currentTimeMillis
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect((yield* Clock.currentTimeMillis) - started).toBe(2000)
      expect(gaps(h)).toEqual([1000, 1000])
    }))

  it.scoped("RateLimit-Reset with time since epoch", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        (request, response, n) =>
          n === 3
            ? send(response, 200, {}, fixture)
            : send(response, 429, { "RateLimit-Reset": n < 2 ? 1 : Math.floor(request.at / 1000) + 3 }),
        { retry: exactWait }
      )
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      const [first, second] = delays(h)
      expect(first).toBe(1000)
      // whole epoch seconds: up to 1 s less than 3 s from a time within the second
      expect(second).toBeGreaterThan(2000)
      expect(second).toBeLessThanOrEqual(3000)
    }))

  it.scoped("empty RateLimit-Reset falls back to retry delay", () =>
    Effect.gen(function*() {
      const h = yield* setup(singleRetry({ "RateLimit-Reset": "" }), { retry: { maxAttempts: 2, delay: () => 37 } })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(delays(h)).toEqual([37])
    }))

  // As for Retry-After: ky lets the empty RateLimit-Reset hide X-RateLimit-Reset; Sturdy reads the one that parses
  // (1 Jan 2024, past: retry at once).
  it.scoped("empty RateLimit-Reset does not fall back to lower-priority reset alias", () =>
    Effect.gen(function*() {
      const h = yield* setup(singleRetry({ "RateLimit-Reset": "", "X-RateLimit-Reset": "1704067200" }), {
        retry: { maxAttempts: 2, delay: () => 41 }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.decisions.map((d) => [Duration.toMillis(d.delay), d.reason])).toEqual([[0, "retry-after"]])
    }))

  for (const header of ["X-RateLimit-Reset", "X-Rate-Limit-Reset"]) {
    it.scoped(`${header} supports time since epoch`, () =>
      Effect.gen(function*() {
        const h = yield* setup(
          (request, response, n) =>
            n === 2
              ? send(response, 200, {}, fixture)
              : send(response, 429, { [header]: (Math.ceil(request.at / 1000) * 1000 + 2000) / 1000 }),
          { retry: { maxAttempts: 2, delay: () => 7, maxRetryAfter: "3500 millis", ...exactWait } }
        )
        expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
        const [wait] = delays(h)
        expect(wait).toBeGreaterThanOrEqual(2000)
        expect(wait).toBeLessThan(3000)
      }))
  }

  it.scoped("respect 413 Retry-After", () =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(3, 413, { "Retry-After": 2 }))
      const started = yield* Clock.currentTimeMillis
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.seen[2]!.at - started).toBeGreaterThanOrEqual(2 * 2000)
      expect(h.seen.length).toBe(3)
    }))

  it.scoped("respect 413 Retry-After with HTTP date", () =>
    Effect.gen(function*() {
      const h = yield* setup((request, response, n) =>
        n === 3
          ? send(response, 200, {}, fixture)
          : send(response, 413, { "Retry-After": new Date(request.at + 3000).toUTCString() })
      )
      const started = yield* Clock.currentTimeMillis
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.seen[2]!.at - started).toBeGreaterThanOrEqual(2 * 2000)
      expect(h.seen.length).toBe(3)
    }))

  it.scoped("doesn't retry on 413 without Retry-After header", () =>
    Effect.gen(function*() {
      const h = yield* setup(failWith(413))
      expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ _tag: "ClientError", status: 413 })
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("respect custom `afterStatusCodes` (500) with Retry-After header", () =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(3, 500, { "Retry-After": 2 }), { retry: { retryAfterStatuses: [500] } })
      const started = yield* Clock.currentTimeMillis
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.seen[2]!.at - started).toBeGreaterThanOrEqual(2 * 2000)
      expect(h.decisions.filter((d) => d.retrying).map((d) => d.reason)).toEqual(["retry-after", "retry-after"])
    }))

  it.scoped("custom `afterStatusCodes` does not retry statuses missing from `statusCodes`", () =>
    Effect.gen(function*() {
      const h = yield* setup(failWith(400, { "Retry-After": 1 }), { retry: { retryAfterStatuses: [400] } })
      expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ _tag: "ClientError", status: 400 })
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("respect number of retries", () =>
    Effect.gen(function*() {
      const h = yield* setup(failWith(408), { retry: { maxAttempts: 4 } })
      expect(statusOf(failureOf(yield* h.run(h.api.get("/"))))).toBe(408)
      expect(h.seen.length).toBe(4)
    }))

  it.scoped("respect retry methods", () =>
    Effect.gen(function*() {
      const post = yield* setup(failWith(408), { retry: { maxAttempts: 4, methods: ["get"] } })
      expect(statusOf(failureOf(yield* post.run(post.api.post("/"))))).toBe(408)
      expect(post.seen.length).toBe(1)
      const get = yield* setup(failWith(408), { retry: { maxAttempts: 3, methods: ["get"] } })
      expect(statusOf(failureOf(yield* get.run(get.api.get("/"))))).toBe(408)
      expect(get.seen.length).toBe(3)
    }))

  // ky waits `maxRetryAfter` when the server asks for longer; Sturdy (as got) does not retry then: the server said
  // it will not be ready sooner, so a retry at 420 ms would only be refused again.
  it.scoped("respect maxRetryAfter", () =>
    Effect.gen(function*() {
      const short = yield* setup(untilOk(5, 413, { "Retry-After": 1 }), {
        retry: { maxAttempts: 5, maxRetryAfter: "420 millis" }
      })
      expect(failureOf(yield* short.run(short.api.get("/")))).toMatchObject({ _tag: "ClientError", status: 413 })
      expect(short.seen.length).toBe(1)

      const long = yield* setup(untilOk(5, 413, { "Retry-After": 1 }), {
        retry: { maxAttempts: 5, maxRetryAfter: "2 seconds", ...exactWait }
      })
      const started = yield* Clock.currentTimeMillis
      expect(textOf(yield* long.run(long.api.get("/")))).toBe(fixture)
      expect((yield* Clock.currentTimeMillis) - started).toBe(4000)
      expect(long.seen.length).toBe(5)
    }))

  it.scoped("invalid Retry-After header falls back to retry delay", () =>
    Effect.gen(function*() {
      const h = yield* setup(singleRetry({ "Retry-After": "not-a-valid-value" }), {
        attemptTimeout: Duration.infinity,
        retry: { maxAttempts: 2, delay: () => 50, maxRetryAfter: "10 millis" }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(delays(h)).toEqual([50])
    }))

  // ky retries a 413 whatever its Retry-After says, with the backoff when the value is invalid. Sturdy retries a
  // 413 only when the server named a wait (a Retry-After that parses, or a reset): a 413 says the body is too large,
  // which sending it again does not change unless the server says when it will accept it.
  it.scoped("invalid 413 Retry-After header falls back to retry delay", () =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(2, 413, { "Retry-After": "not-a-valid-value" }), {
        attemptTimeout: Duration.infinity,
        retry: { maxAttempts: 2, delay: () => 50, maxRetryAfter: "10 millis" }
      })
      expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ _tag: "ClientError", status: 413 })
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("retry - can provide retry as number", () =>
    Effect.gen(function*() {
      const h = yield* setup(failWith(408), { retry: { maxAttempts: 5 } })
      expect(statusOf(failureOf(yield* h.run(h.api.get("/"))))).toBe(408)
      expect(h.seen.length).toBe(5)
    }))

  it.scoped("doesn't retry on 413 with empty statusCodes and methods", () =>
    Effect.gen(function*() {
      const h = yield* setup(failWith(413, { "Retry-After": 1 }), {
        retry: { maxAttempts: 11, statuses: [], methods: [] }
      })
      expect(statusOf(failureOf(yield* h.run(h.api.get("/"))))).toBe(413)
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("doesn't retry on 413 with empty methods", () =>
    Effect.gen(function*() {
      const h = yield* setup(failWith(413, { "Retry-After": 1 }), { retry: { maxAttempts: 11, methods: [] } })
      expect(statusOf(failureOf(yield* h.run(h.api.get("/"))))).toBe(413)
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("does retry on 408 with methods provided as array", () =>
    Effect.gen(function*() {
      const h = yield* setup(failWith(408), { retry: { maxAttempts: 4, methods: ["get"] } })
      expect(statusOf(failureOf(yield* h.run(h.api.get("/"))))).toBe(408)
      expect(h.seen.length).toBe(4)
    }))

  it.scoped("does retry on 408 with methods provided as uppercase array", () =>
    Effect.gen(function*() {
      const h = yield* setup(failWith(408), { retry: { maxAttempts: 4, methods: ["GET"] } })
      expect(statusOf(failureOf(yield* h.run(h.api.get("/"))))).toBe(408)
      expect(h.seen.length).toBe(4)
    }))

  it.scoped("does retry on 408 with statusCodes provided as array", () =>
    Effect.gen(function*() {
      const h = yield* setup(failWith(408), { retry: { maxAttempts: 4, statuses: [408] } })
      expect(statusOf(failureOf(yield* h.run(h.api.get("/"))))).toBe(408)
      expect(h.seen.length).toBe(4)
    }))

  it.scoped("doesn't retry when retry.limit is set to 0", () =>
    Effect.gen(function*() {
      const h = yield* setup(failWith(408), { retry: { maxAttempts: 1 } })
      expect(statusOf(failureOf(yield* h.run(h.api.get("/"))))).toBe(408)
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("streaming body POST succeeds when retry.limit is 0", () =>
    Effect.gen(function*() {
      const h = yield* setup((request, response) => send(response, 200, {}, request.body), {
        retry: { maxAttempts: 1 }
      })
      const body = HttpBody.stream(
        Stream.make(new TextEncoder().encode("chunk-1"), new TextEncoder().encode("chunk-2"))
      )
      expect(textOf(yield* h.run(h.api.post("/", { body })))).toBe("chunk-1chunk-2")
      expect(h.seen.length).toBe(1)
    }))

  // ky buffers a stream body to replay it on a retry. Sturdy never retries a body read once (as fetch, got and undici's
  // RetryHandler): give a Uint8Array or text body to have it retried. Even with POST listed in `retry.methods`.
  it.scoped("streaming body POST retries and succeeds when retry.limit is above 0", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        (request, response, n) => n === 1 ? send(response, 500) : send(response, 200, {}, request.body),
        { retry: { maxAttempts: 2, methods: ["POST"], delay: () => 0 } }
      )
      const body = HttpBody.stream(Stream.make(new TextEncoder().encode("payload")))
      expect(failureOf(yield* h.run(h.api.post("/", { body })))).toMatchObject({ _tag: "ServerError", status: 500 })
      expect(h.seen.length).toBe(1)
      // the same bytes in memory are retried
      const again = yield* setup(
        (request, response, n) => n === 1 ? send(response, 500) : send(response, 200, {}, request.body),
        { retry: { maxAttempts: 2, methods: ["POST"], delay: () => 0 } }
      )
      const bytes = HttpBody.uint8Array(new TextEncoder().encode("payload"))
      expect(textOf(yield* again.run(again.api.post("/", { body: bytes })))).toBe("payload")
      expect(again.seen.map((s) => s.body)).toEqual(["payload", "payload"])
    }))

  it.scoped("throws when retry.methods is not an array", () =>
    Effect.gen(function*() {
      // @ts-expect-error a string is not a list of methods
      const exit = yield* Effect.exit(Policy.make({ retry: { methods: "get" } }))
      expect(failureOf(exit)).toMatchObject({ _tag: "InvalidPolicy" })
    }))

  it.scoped("throws when retry.statusCodes is not an array", () =>
    Effect.gen(function*() {
      // @ts-expect-error a number is not a list of statuses
      const exit = yield* Effect.exit(Policy.make({ retry: { statuses: 403 } }))
      expect(failureOf(exit)).toMatchObject({ _tag: "InvalidPolicy" })
    }))

  it.scoped("retry options ignore undefined overrides and keep defaults", () =>
    Effect.gen(function*() {
      const h = yield* setup(failWith(500), { retry: { maxAttempts: undefined } })
      expect(statusOf(failureOf(yield* h.run(h.api.get("/"))))).toBe(500)
      expect(h.seen.length).toBe(3)
    }))

  it.scoped("respect maximum backoffLimit", () =>
    Effect.gen(function*() {
      const unlimited = yield* setup(untilOk(5, 500), { retry: { maxAttempts: 5, ...kyBackoff } })
      expect(textOf(yield* unlimited.run(unlimited.api.get("/")))).toBe(fixture)
      expect(gaps(unlimited)).toEqual([300, 600, 1200, 2400])
      const limited = yield* setup(untilOk(5, 500), { retry: { maxAttempts: 5, ...kyBackoff, maxDelay: "1 second" } })
      expect(textOf(yield* limited.run(limited.api.get("/")))).toBe(fixture)
      expect(gaps(limited)).toEqual([300, 600, 1000, 1000])
    }))

  it.scoped("backoffLimit: undefined treats as no limit (Infinity)", () =>
    Effect.gen(function*() {
      // Sturdy's default cap is 30 s, far above these delays
      const h = yield* setup(untilOk(5, 500), {
        retry: { maxAttempts: 5, baseDelay: "300 millis", jitter: "none", maxDelay: undefined }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(gaps(h)).toEqual([300, 600, 1200, 2400])
    }))

  it.scoped("respect custom retry.delay", () =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(5, 500), { retry: { maxAttempts: 5, delay: (n) => 100 * (n + 1) } })
      const started = yield* Clock.currentTimeMillis
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(gaps(h)).toEqual([200, 300, 400, 500])
      expect((yield* Clock.currentTimeMillis) - started).toBe(200 + 300 + 400 + 500)
    }))

  it.scoped("jitter: true applies full jitter to delay", () =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(4, 500), { retry: { maxAttempts: 4, ...kyBackoff, jitter: "full" } })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      const [a, b, c] = gaps(h)
      expect(a).toBeGreaterThanOrEqual(0)
      expect(a).toBeLessThanOrEqual(300)
      expect(b).toBeLessThanOrEqual(600)
      expect(c).toBeLessThanOrEqual(1200)
      expect(h.seen.length).toBe(4)
    }))

  it.scoped("jitter respects backoffLimit", () =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(4, 500), {
        retry: { maxAttempts: 4, ...kyBackoff, maxDelay: "500 millis", jitter: "full" }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      for (const gap of gaps(h)) expect(gap).toBeLessThanOrEqual(500)
      expect(h.seen.length).toBe(4)
    }))

  // ky's custom jitter function has no counterpart: Sturdy's jitter is one of "none", "full", "equal",
  // "decorrelated"; a custom `retry.delay` is the whole wait, jitter included. Ported as the delay function's input.
  it.scoped("jitter works with custom delay function", () =>
    Effect.gen(function*() {
      const calls: Array<number> = []
      const h = yield* setup(untilOk(3, 500), {
        retry: {
          maxAttempts: 3,
          delay: (n) => {
            calls.push(n)
            return (100 * n) * 0.5
          }
        }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(calls).toEqual([1, 2])
      expect(gaps(h)).toEqual([50, 100])
    }))

  it.scoped("jitter is not applied when Retry-After header is present", () =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(3, 429, { "Retry-After": 1 }), { retry: { jitter: "full", ...exactWait } })
      const started = yield* Clock.currentTimeMillis
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.seen.length).toBe(3)
      expect(gaps(h)).toEqual([1000, 1000])
      expect((yield* Clock.currentTimeMillis) - started).toBe(2000)
    }))

  // ky does not retry a timed-out attempt unless `retryOnTimeout: true`. Sturdy retries an attempt timeout of a
  // request safe to repeat (as got retries ETIMEDOUT): a hung server is a transient failure like a 503; a POST's
  // timeout is not retried (it may have been applied).
  it.scoped("retryOnTimeout: false (default) - does not retry on timeout", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        (_, response, __, tools) => tools.later(1000, () => send(response, 200, {}, fixture)),
        { attemptTimeout: "500 millis", retry: { maxAttempts: 4 } }
      )
      expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect(h.seen.length).toBe(4)
      const post = yield* setup(
        (_, response, __, tools) => tools.later(1000, () => send(response, 200, {}, fixture)),
        { attemptTimeout: "500 millis", retry: { maxAttempts: 4 } }
      )
      expect(failureOf(yield* post.run(post.api.post("/")))).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect(post.seen.length).toBe(1)
    }))

  it.scoped("timeout: false does not throw TimeoutError during retries", () =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(2, 500), {
        attemptTimeout: Duration.infinity,
        totalTimeout: Duration.infinity,
        retry: { maxAttempts: 2 }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("retryOnTimeout: each retry gets the full per-attempt timeout", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        (_, response, n, tools) =>
          n <= 2 ? tools.later(1000, () => send(response, 200, {}, fixture)) : send(response, 200, {}, fixture),
        { attemptTimeout: "500 millis", retry: { maxAttempts: 4, delay: () => 0 } }
      )
      const started = yield* Clock.currentTimeMillis
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.seen.length).toBe(3)
      expect(gaps(h)).toEqual([500, 500])
      expect((yield* Clock.currentTimeMillis) - started).toBe(1000)
    }))

  it.scoped("totalTimeout takes precedence over retry limit", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response, __, tools) => tools.later(300, () => send(response, 500)), {
        totalTimeout: "500 millis",
        attemptTimeout: "500 millis",
        retry: { maxAttempts: 11, delay: () => 0 }
      })
      expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ _tag: "Timeout", phase: "Deadline" })
      expect(h.seen.length).toBeGreaterThanOrEqual(1)
      expect(h.seen.length).toBeLessThanOrEqual(2)
    }))

  it.scoped("shouldRetry: returns true cannot exceed totalTimeout budget", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response, __, tools) => tools.later(300, () => send(response, 500)), {
        totalTimeout: "500 millis",
        attemptTimeout: "500 millis",
        retry: { maxAttempts: 6, retryOn: () => true, delay: () => 0 }
      })
      expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ _tag: "Timeout", phase: "Deadline" })
      expect(h.seen.length).toBeLessThanOrEqual(2)
    }))

  it.scoped("shouldRetry: returns false - prevents retry", () =>
    Effect.gen(function*() {
      const h = yield* setup(failWith(500), { retry: { maxAttempts: 3, retryOn: () => false } })
      expect(statusOf(failureOf(yield* h.run(h.api.get("/"))))).toBe(500)
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("shouldRetry: returns undefined - uses default retry logic", () =>
    Effect.gen(function*() {
      // the per-tag form leaves every tag it does not name to the default rules
      const h = yield* setup(untilOk(3, 500), {
        retry: { maxAttempts: 3, retryOn: { ClientError: false }, delay: () => 0 }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.seen.length).toBe(3)
    }))

  it.scoped("shouldRetry: receives correct state object", () =>
    Effect.gen(function*() {
      const calls: Array<[string, number | undefined, number]> = []
      const h = yield* setup(failWith(500), {
        retry: {
          maxAttempts: 3,
          delay: () => 0,
          retryOn: (failure, attempt) => {
            calls.push([failure._tag, statusOf(failure), attempt])
            return true
          }
        }
      })
      expect(statusOf(failureOf(yield* h.run(h.api.get("/"))))).toBe(500)
      // asked about each failure, the last one included (whose answer the attempt limit overrules)
      expect(calls.slice(0, 2)).toEqual([["ServerError", 500, 1], ["ServerError", 500, 2]])
      expect(h.seen.length).toBe(3)
    }))

  it.scoped("shouldRetry: custom business logic with HTTPError", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        (_, response, n) =>
          n === 1 ? send(response, 500, { "x-retry": "yes" }) : n === 2 ? send(response, 500) : send(response, 200),
        {
          retry: {
            maxAttempts: 4,
            delay: () => 0,
            retryOn: (failure) => failure._tag === "ServerError" && failure.headers["x-retry"] === "yes"
          }
        }
      )
      expect(statusOf(failureOf(yield* h.run(h.api.get("/"))))).toBe(500)
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("shouldRetry: works with TimeoutError", () =>
    Effect.gen(function*() {
      const seenTags: Array<string> = []
      const h = yield* setup(
        (_, response, n, tools) =>
          n === 1 ? tools.later(1000, () => send(response, 200, {}, fixture)) : send(response, 200, {}, fixture),
        {
          attemptTimeout: "500 millis",
          retry: {
            maxAttempts: 3,
            delay: () => 0,
            retryOn: (failure) => {
              seenTags.push(failure._tag)
              return failure._tag === "Timeout"
            }
          }
        }
      )
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(seenTags).toEqual(["Timeout"])
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("each retry gets the full per-attempt timeout (not a shared budget)", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        (_, response, n, tools) =>
          tools.later(1500, () => n === 1 ? send(response, 500) : send(response, 200, {}, fixture)),
        { attemptTimeout: "2 seconds", retry: { maxAttempts: 2, delay: () => 0 } }
      )
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.seen.length).toBe(2)
    }))

  // ky sleeps until its total timeout and throws TimeoutError. Sturdy fails at once with the server's answer when
  // the server's wait would end past the deadline: waiting the rest of the deadline out could not end in a success.
  it.scoped("Retry-After delay is bounded by totalTimeout budget", () =>
    Effect.gen(function*() {
      const h = yield* setup(failWith(429, { "Retry-After": 5 }), {
        totalTimeout: "1 second",
        retry: { maxAttempts: 16 }
      })
      const started = yield* Clock.currentTimeMillis
      expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ _tag: "RateLimited", status: 429 })
      expect((yield* Clock.currentTimeMillis) - started).toBe(0)
      expect(h.decisions.map((d) => d.reason)).toEqual(["deadline"])
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("shouldRetry: retryCount starts at 1 for first retry", () =>
    Effect.gen(function*() {
      const attempts: Array<number> = []
      const h = yield* setup(untilOk(2, 500), {
        retry: {
          maxAttempts: 3,
          delay: () => 0,
          retryOn: (_, attempt) => {
            attempts.push(attempt)
            return true
          }
        }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(attempts).toEqual([1])
      expect(h.decisions.map((d) => d.attempt)).toEqual([2])
    }))

  it.scoped("totalTimeout with timeout: false - per-attempt disabled, total enabled", () =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(2, 500), {
        attemptTimeout: Duration.infinity,
        totalTimeout: "5 seconds",
        retry: { maxAttempts: 2, delay: () => 0 }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("totalTimeout with timeout: false - exceeds total budget", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response, __, tools) => tools.later(2000, () => send(response, 200, {}, fixture)), {
        attemptTimeout: Duration.infinity,
        totalTimeout: "500 millis",
        retry: { maxAttempts: 2, delay: () => 0 }
      })
      const started = yield* Clock.currentTimeMillis
      expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ _tag: "Timeout", phase: "Deadline" })
      expect((yield* Clock.currentTimeMillis) - started).toBe(500)
    }))

  it.scoped("totalTimeout bounds hanging HTTPError body reads when timeout is disabled", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response) => {
        // a 500 whose body never ends
        response.writeHead(500, { "content-length": 100 })
        response.write("partial")
      }, { attemptTimeout: Duration.infinity, totalTimeout: "1 second", retry: { maxAttempts: 1 } })
      const started = yield* Clock.currentTimeMillis
      expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ _tag: "Timeout", phase: "Deadline" })
      expect((yield* Clock.currentTimeMillis) - started).toBe(1000)
    }))

  it.scoped("totalTimeout smaller than timeout - effective timeout is capped", () =>
    Effect.gen(function*() {
      // A Policy refuses an `attemptTimeout` above its `totalTimeout` when built (an unset one is derived to fit);
      // a request's own `timeout` above the deadline is capped by it, as in ky.
      expect(failureOf(yield* Effect.exit(Policy.make({ attemptTimeout: "10 seconds", totalTimeout: "1 second" }))))
        .toMatchObject({ _tag: "InvalidPolicy" })
      const h = yield* setup((_, response, __, tools) => tools.later(5000, () => send(response, 200, {}, fixture)), {
        totalTimeout: "1 second",
        retry: { maxAttempts: 1 }
      })
      const started = yield* Clock.currentTimeMillis
      expect(failureOf(yield* h.run(h.api.get("/", { timeout: "10 seconds" })))).toMatchObject({
        _tag: "Timeout",
        phase: "Deadline"
      })
      expect((yield* Clock.currentTimeMillis) - started).toBe(1000)
    }))

  it.scoped("totalTimeout: 0 throws immediately", () =>
    Effect.gen(function*() {
      const made = yield* Effect.exit(Policy.make({ totalTimeout: 0 }))
      if (Exit.isFailure(made)) {
        // refused when built
        expect(failureOf(made)).toMatchObject({ _tag: "InvalidPolicy" })
        return
      }
      const h = yield* setup((_, response) => send(response, 200, {}, fixture), { totalTimeout: 0 })
      expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ _tag: "Timeout", phase: "Deadline" })
      expect(h.seen.length).toBe(0)
    }))

  it.scoped("totalTimeout exceeding maxSafeTimeout throws RangeError", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Policy.make({ totalTimeout: 2_147_483_648 }))
      expect(failureOf(exit)).toMatchObject({ _tag: "InvalidPolicy" })
    }))

  // ky throws TimeoutError when the delay would outlast the deadline; Sturdy does not start a wait that cannot end in
  // time and returns the failure that would have been retried, at once (its `attempts` say how many were made).
  it.scoped("totalTimeout expires mid-delay between retries", () =>
    Effect.gen(function*() {
      const h = yield* setup(failWith(500), { totalTimeout: "200 millis", retry: { maxAttempts: 6, delay: () => 500 } })
      const started = yield* Clock.currentTimeMillis
      expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ _tag: "ServerError", status: 500, attempts: 1 })
      expect((yield* Clock.currentTimeMillis) - started).toBe(0)
      expect(h.decisions.map((d) => d.reason)).toEqual(["deadline"])
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("totalTimeout caps total time while timeout caps each attempt", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response, __, tools) => tools.later(200, () => send(response, 500)), {
        attemptTimeout: "300 millis",
        totalTimeout: "500 millis",
        retry: { maxAttempts: 11, delay: () => 0 }
      })
      const started = yield* Clock.currentTimeMillis
      expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ _tag: "Timeout", phase: "Deadline" })
      expect((yield* Clock.currentTimeMillis) - started).toBe(500)
      expect(h.seen.length).toBe(3)
    }))

  it.scoped("NetworkError is retried by default", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response, n) => n <= 2 ? cut(response) : send(response, 200, {}, "ok"), {
        retry: { maxAttempts: 3, delay: () => 0 }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe("ok")
      expect(h.seen.length).toBe(3)
    }))

  it.scoped("NetworkError is not retried for non-retriable method (POST)", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response) => cut(response), { retry: { maxAttempts: 3, delay: () => 0 } })
      expect(failureOf(yield* h.run(h.api.post("/")))).toMatchObject({ _tag: "ConnectionError" })
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("shouldRetry returning undefined for NetworkError falls through to default retry", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response, n) => n === 1 ? cut(response) : send(response, 200, {}, "ok"), {
        retry: { maxAttempts: 2, delay: () => 0, retryOn: { ServerError: true } }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe("ok")
      expect(h.seen.length).toBe(2)
    }))
})

describe("ky test/retry.ts: options per client, per host and per endpoint (ky.create / extend)", () => {
  // ky.create({ retry: 3 }).extend({ retry: { methods: ["get"] } }): an override of some retry fields keeps the rest
  it.scoped("retry - extending a numeric `retry` with an object keeps the limit", () =>
    Effect.gen(function*() {
      const byHost = yield* setup(failWith(408), {
        retry: { maxAttempts: 4 },
        hosts: { "127.0.0.1": { retry: { methods: ["get"] } } }
      })
      expect(statusOf(failureOf(yield* byHost.run(byHost.api.get("/"))))).toBe(408)
      expect(byHost.seen.length).toBe(4)
      const byEndpoint = yield* setup(failWith(408), {
        retry: { maxAttempts: 4 },
        endpoints: { "GET /**": { retry: { methods: ["get"] } } }
      })
      expect(statusOf(failureOf(yield* byEndpoint.run(byEndpoint.api.get("/"))))).toBe(408)
      expect(byEndpoint.seen.length).toBe(4)
    }))

  it.scoped("retry - shorthand expansion does not rewrite nested user data with a `retry` key", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        (request, response) =>
          send(
            response,
            200,
            { "content-type": "application/json" },
            JSON.stringify({ body: JSON.parse(request.body) })
          ),
        { retry: { maxAttempts: 4 } }
      )
      const exit = yield* h.run(h.api.post("/", {
        body: { retry: { foo: "bar" } },
        schema: Schema.Struct({ body: Schema.Struct({ retry: Schema.Struct({ foo: Schema.String }) }) })
      }))
      expect(exit).toEqual(Exit.succeed({ body: { retry: { foo: "bar" } } }))
    }))

  // ky keeps its 10 s per-attempt timeout under a shorter total one, so its one attempt ends at the total. Sturdy
  // derives an unset `attemptTimeout` under a `totalTimeout` below 10 s as `totalTimeout ÷ maxAttempts` (Policy's
  // defaults), so that the retries fit in the deadline: the call still ends with Timeout within the 500 ms.
  it.scoped("totalTimeout works with ky.create()", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response, __, tools) => tools.later(2000, () => send(response, 200, {}, fixture)), {
        totalTimeout: "500 millis"
      })
      const started = yield* Clock.currentTimeMillis
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(failure).toMatchObject({ _tag: "Timeout" })
      expect((yield* Clock.currentTimeMillis) - started).toBeLessThanOrEqual(500)
      expect(h.seen[0]).toBeDefined()
      // with the attempt timeout as long as the deadline, as ky: the deadline ends the call at 500 ms
      const long = yield* setup((_, response, __, tools) => tools.later(2000, () => send(response, 200, {}, fixture)), {
        totalTimeout: "500 millis",
        attemptTimeout: "500 millis"
      })
      const from = yield* Clock.currentTimeMillis
      expect(failureOf(yield* long.run(long.api.get("/")))).toMatchObject({ _tag: "Timeout", phase: "Deadline" })
      expect((yield* Clock.currentTimeMillis) - from).toBe(500)
    }))

  it.scoped("totalTimeout can be overridden via extend()", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response, __, tools) => tools.later(1000, () => send(response, 200, {}, fixture)), {
        totalTimeout: "500 millis",
        attemptTimeout: "500 millis",
        endpoints: { "GET /slow": { totalTimeout: "5 seconds", attemptTimeout: "5 seconds" } }
      })
      expect(textOf(yield* h.run(h.api.get("/slow")))).toBe(fixture)
      expect(failureOf(yield* h.run(h.api.get("/other")))).toMatchObject({ _tag: "Timeout", phase: "Deadline" })
    }))

  it.scoped("totalTimeout can be disabled via extend()", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response, __, tools) => tools.later(1000, () => send(response, 200, {}, fixture)), {
        totalTimeout: "500 millis",
        hosts: { "127.0.0.1": { totalTimeout: false, attemptTimeout: false } }
      })
      const started = yield* Clock.currentTimeMillis
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect((yield* Clock.currentTimeMillis) - started).toBe(1000)
    }))
})

describe("ky test/retry.ts: shouldRetry (retry.retryOn) and timeouts", () => {
  it.scoped("shouldRetry: error propagates if shouldRetry throws", () =>
    Effect.gen(function*() {
      const h = yield* setup(failWith(500), {
        retry: {
          retryOn: () => {
            throw new Error("shouldRetry error")
          }
        }
      })
      const exit = yield* h.run(h.api.get("/"))
      expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
      expect(Exit.isFailure(exit) && Cause.pretty(exit.cause)).toContain("shouldRetry error")
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("shouldRetry: precedence over retryOnTimeout", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response, __, tools) => tools.later(1000, () => send(response, 200, {}, fixture)), {
        attemptTimeout: "500 millis",
        retry: { maxAttempts: 4, retryOn: { Timeout: false } }
      })
      expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("shouldRetry: works with synchronous function", () =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(2, 500), {
        retry: { maxAttempts: 3, delay: () => 0, retryOn: (failure) => statusOf(failure) === 500 }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("shouldRetry: receives proper Error instance even for HTTPError", () =>
    Effect.gen(function*() {
      const received: Array<unknown> = []
      const h = yield* setup(failWith(500), {
        retry: {
          maxAttempts: 2,
          delay: () => 0,
          retryOn: (failure) => {
            received.push(failure)
            return false
          }
        }
      })
      failureOf(yield* h.run(h.api.get("/")))
      expect(received.length).toBe(1)
      expect(received[0]).toBeInstanceOf(Error)
      expect(received[0]).toMatchObject({ _tag: "ServerError", status: 500 })
    }))

  it.scoped("shouldRetry: combines with default status code logic when returning undefined", () =>
    Effect.gen(function*() {
      // a rule for timeouts only: a 500 keeps the default (retried), a 400 too (not retried)
      const h = yield* setup(
        (_, response, n) => n === 1 ? send(response, 500) : n === 2 ? send(response, 400) : send(response, 200),
        { retry: { maxAttempts: 4, delay: () => 0, retryOn: { Timeout: true } } }
      )
      expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ _tag: "ClientError", status: 400, attempts: 2 })
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("totalTimeout bounds hanging HTTPError body reads when timeout is larger", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response) => {
        response.writeHead(500, { "content-length": 100 })
        response.write("partial")
      }, { totalTimeout: "1 second", retry: { maxAttempts: 1 } })
      const started = yield* Clock.currentTimeMillis
      expect(failureOf(yield* h.run(h.api.get("/", { timeout: "10 seconds" })))).toMatchObject({
        _tag: "Timeout",
        phase: "Deadline"
      })
      expect((yield* Clock.currentTimeMillis) - started).toBe(1000)
    }))

  it.scoped("totalTimeout bounds hanging HTTPError parseJson when timeout is disabled", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response) => {
        response.writeHead(500, { "content-type": "application/json", "content-length": 100 })
        response.write("{\"error\":")
      }, { attemptTimeout: false, totalTimeout: "1 second", retry: { maxAttempts: 1 } })
      const started = yield* Clock.currentTimeMillis
      expect(failureOf(yield* h.run(h.api.get("/", { schema: Schema.Unknown })))).toMatchObject({
        _tag: "Timeout",
        phase: "Deadline"
      })
      expect((yield* Clock.currentTimeMillis) - started).toBe(1000)
    }))

  it.scoped("totalTimeout with retryOnTimeout: true caps total time across retries", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response, __, tools) => tools.later(5000, () => send(response, 200, {}, fixture)), {
        attemptTimeout: "300 millis",
        totalTimeout: "1 second",
        retry: { maxAttempts: 11, delay: () => 0 }
      })
      const started = yield* Clock.currentTimeMillis
      expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ _tag: "Timeout", phase: "Deadline" })
      expect((yield* Clock.currentTimeMillis) - started).toBe(1000)
      // 300, 600, 900, then the deadline cuts the fourth attempt at 1000
      expect(h.seen.length).toBe(4)
    }))

  it.scoped("NetworkError is thrown when timeout is disabled", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response) => cut(response), {
        attemptTimeout: false,
        totalTimeout: false,
        retry: { maxAttempts: 1 }
      })
      expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ _tag: "ConnectionError" })
      expect(h.seen.length).toBe(1)
    }))
})

// -----------------------------------------------------------------------------
// ky: test/hooks.ts (beforeRetry → RetryDecision events)
// -----------------------------------------------------------------------------

describe("ky test/hooks.ts beforeRetry", () => {
  it.scoped("beforeRetry hook is never called for the initial request", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response) => send(response, 200, {}, fixture))
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.decisions).toEqual([])
    }))

  it.scoped("beforeRetry hook is called with error and retryCount", () =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(2, 500), { retry: { delay: () => 0 } })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.decisions.length).toBe(1)
      expect(h.decisions[0]).toMatchObject({ retrying: true, attempt: 2 })
      expect(h.decisions[0]!.failure).toMatchObject({ _tag: "ServerError", status: 500 })
    }))

  it.scoped("beforeRetry hook is called even if the error has no response", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response, n) => n === 1 ? cut(response) : send(response, 200, {}, fixture), {
        retry: { delay: () => 0 }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.decisions.length).toBe(1)
      expect(h.decisions[0]!.failure).toMatchObject({ _tag: "ConnectionError" })
    }))

  it.scoped("beforeRetry hook respects totalTimeout budget", () =>
    Effect.gen(function*() {
      const h = yield* setup(failWith(500), { totalTimeout: "1 second", retry: { maxAttempts: 4, delay: () => 600 } })
      expect(statusOf(failureOf(yield* h.run(h.api.get("/"))))).toBe(500)
      // the first retry (at 600 ms) fits, the second (at 1200 ms) does not
      expect(h.decisions.map((d) => [d.retrying, d.reason])).toEqual([[true, "backoff"], [false, "deadline"]])
      expect(h.seen.length).toBe(2)
    }))

  // ky's `parseJson` gives `error.data`; Sturdy's `errorSchema` decodes an error body into the failure's `payload`
  it.scoped("beforeRetry hook with parseJson and error.data", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        (_, response, n) =>
          n === 1
            ? send(response, 502, { "content-type": "application/json" }, JSON.stringify({ awesome: true }))
            : send(response, 200, { "content-type": "application/json" }, JSON.stringify({ awesome: true })),
        { retry: { maxAttempts: 2, delay: () => 0 } }
      )
      const Awesome = Schema.Struct({ awesome: Schema.Boolean })
      const exit = yield* h.run(h.api.get("/", { schema: Awesome, errorSchema: Awesome }))
      expect(exit).toEqual(Exit.succeed({ awesome: true }))
      expect(h.decisions.length).toBe(1)
      const failure = h.decisions[0]!.failure
      expect(failure).toMatchObject({ _tag: "ServerError", status: 502, payload: Option.some({ awesome: true }) })
      expect(failure).toBeInstanceOf(Error)
      expect((failure as Error).message).toContain("502")
      expect(h.decisions[0]!.attempt).toBe(2)
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("beforeRetry hook gets HTTPError when async parseJson rejects", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        (_, response, n) =>
          n === 1
            ? send(response, 502, { "content-type": "application/json" }, "not json")
            : send(response, 200, {}, fixture),
        { retry: { maxAttempts: 2, delay: () => 0 } }
      )
      const exit = yield* h.run(h.api.get("/", { errorSchema: Schema.Struct({ awesome: Schema.Boolean }) }))
      expect(textOf(exit)).toBe(fixture)
      // the body that does not decode leaves the payload empty; the failure is still the 502, and retried
      expect(h.decisions[0]!.failure).toMatchObject({ _tag: "ServerError", status: 502, payload: Option.none() })
      expect(h.seen.length).toBe(2)
    }))

  // ky's beforeRetry returns `stop`; Sturdy's `retryOn` says no, here from the second failure on
  it.scoped("beforeRetry hook can cancel retries by returning `stop`", () =>
    Effect.gen(function*() {
      const h = yield* setup(failWith(500), { retry: { maxAttempts: 4, delay: () => 0, retryOn: (_, n) => n < 2 } })
      expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ _tag: "ServerError", attempts: 2 })
      expect(h.decisions.map((d) => d.retrying)).toEqual([true, false])
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("afterResponse hook can retry on 401 status", () =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(2, 401), {
        retry: { delay: () => 0, retryOn: { ClientError: (failure) => failure.status === 401 } }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.seen.length).toBe(2)
    }))

  // ky's forced retry repeats even a POST. Sturdy's `retryOn` decides which failures retry, never whether a request
  // is safe to repeat: a POST is repeated only when listed in `retry.methods` (or with an Idempotency-Key).
  it.scoped("afterResponse hook forced retry works on non-retriable methods like POST", () =>
    Effect.gen(function*() {
      const unlisted = yield* setup(untilOk(2, 500), { retry: { delay: () => 0, retryOn: () => true } })
      expect(failureOf(yield* unlisted.run(unlisted.api.post("/")))).toMatchObject({ _tag: "ServerError" })
      expect(unlisted.seen.length).toBe(1)
      const listed = yield* setup(untilOk(2, 500), { retry: { delay: () => 0, methods: ["GET", "POST"] } })
      expect(textOf(yield* listed.run(listed.api.post("/")))).toBe(fixture)
      expect(listed.seen.length).toBe(2)
    }))

  it.scoped("network error then HTTP error uses combined retry budget", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        (_, response, n) => n === 1 ? cut(response) : n === 2 ? send(response, 500) : send(response, 200, {}, fixture),
        { retry: { maxAttempts: 3, delay: () => 0 } }
      )
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.seen.length).toBe(3)
    }))

  it.scoped("network error then HTTP error exhaust shared retry limit", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response, n) => n === 1 ? cut(response) : send(response, 500), {
        retry: { maxAttempts: 2, delay: () => 0 }
      })
      expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ _tag: "ServerError", attempts: 2 })
      expect(h.seen.length).toBe(2)
    }))
})

// -----------------------------------------------------------------------------
// got: test/retry.ts
// -----------------------------------------------------------------------------

describe("got test/retry.ts", () => {
  it.scoped("works on timeout", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        (_, response, n, tools) =>
          n === 1 ? tools.later(1000, () => send(response, 200, {}, "late")) : send(response, 200, {}, "who`s there?"),
        { attemptTimeout: "300 millis", retry: { delay: () => 0 } }
      )
      expect(textOf(yield* h.run(h.api.get("/")))).toBe("who`s there?")
    }))

  it.scoped("retry function gets iteration count", () =>
    Effect.gen(function*() {
      const counts: Array<number> = []
      const h = yield* setup(untilOk(2, 500), {
        retry: {
          delay: (attempt) => {
            counts.push(attempt)
            return attempt < 2 ? 1 : 0
          }
        }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(counts).toEqual([1])
    }))

  // got's `calculateDelay` returning 0 means "do not retry"; Sturdy's `retry.delay` is only the wait (0 retries at
  // once), and `retryOn` says whether to retry. Ported with `retryOn` refusing.
  it.scoped("setting to `0` disables retrying", () =>
    Effect.gen(function*() {
      const asked: Array<number> = []
      const h = yield* setup(
        (_, response, __, tools) => tools.later(1000, () => send(response, 200, {}, fixture)),
        {
          attemptTimeout: "300 millis",
          retry: {
            retryOn: (_, attempt) => {
              asked.push(attempt)
              return false
            }
          }
        }
      )
      expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect(asked).toEqual([1])
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("custom retries", () =>
    Effect.gen(function*() {
      const h = yield* setup(failWith(500), {
        retry: { maxAttempts: 2, methods: ["GET"], statuses: [500], delay: () => 1 }
      })
      expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ _tag: "ServerError", status: 500 })
      expect(h.decisions.filter((d) => d.retrying).length).toBe(1)
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("respects 413 Retry-After", () =>
    Effect.gen(function*() {
      const h = yield* setup(failWith(413, { "Retry-After": 2 }), { retry: { maxAttempts: 2 } })
      expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ _tag: "ClientError", status: 413 })
      expect(h.seen.length).toBe(2)
      expect(gaps(h)[0]).toBeGreaterThanOrEqual(2000)
    }))

  it.scoped("respects 413 Retry-After with RFC-1123 timestamp", () =>
    Effect.gen(function*() {
      let announced = 0
      const h = yield* setup((request, response) => {
        announced = request.at + 2000
        send(response, 413, { "Retry-After": new Date(announced).toUTCString() })
      }, { retry: { maxAttempts: 2 } })
      expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ _tag: "ClientError", status: 413 })
      expect(h.seen.length).toBe(2)
      // the second request arrives no sooner than the date the first answer named (second resolution)
      expect(h.seen[1]!.at).toBeGreaterThanOrEqual(Math.floor(h.seen[0]!.at / 1000) * 1000 + 2000)
    }))

  it.scoped("doesn't retry on 413 with empty statusCodes and methods", () =>
    Effect.gen(function*() {
      const h = yield* setup(failWith(413, { "Retry-After": 2 }), {
        retry: { maxAttempts: 2, statuses: [], methods: [] }
      })
      expect(statusOf(failureOf(yield* h.run(h.api.get("/"))))).toBe(413)
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("doesn't retry on 413 with empty methods", () =>
    Effect.gen(function*() {
      const h = yield* setup(failWith(413, { "Retry-After": 2 }), {
        retry: { maxAttempts: 2, statuses: [413], methods: [] }
      })
      expect(statusOf(failureOf(yield* h.run(h.api.get("/"))))).toBe(413)
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("doesn't retry on 413 without Retry-After header", () =>
    Effect.gen(function*() {
      const h = yield* setup(failWith(413))
      expect(statusOf(failureOf(yield* h.run(h.api.get("/"))))).toBe(413)
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("retries on 503 without Retry-After header", () =>
    Effect.gen(function*() {
      const h = yield* setup(failWith(503), { retry: { maxAttempts: 2 } })
      expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ _tag: "ServerError", status: 503, attempts: 2 })
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("doesn't retry if Retry-After header is greater than maxRetryAfter", () =>
    Effect.gen(function*() {
      const h = yield* setup(failWith(413, { "Retry-After": 2 }), { retry: { maxRetryAfter: "1 second" } })
      expect(statusOf(failureOf(yield* h.run(h.api.get("/"))))).toBe(413)
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("doesn't retry when set to 0", () =>
    Effect.gen(function*() {
      const h = yield* setup(failWith(413, { "Retry-After": 2 }), { retry: { maxAttempts: 1 } })
      expect(statusOf(failureOf(yield* h.run(h.api.get("/"))))).toBe(413)
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("works when defaults.options.retry is a number", () =>
    Effect.gen(function*() {
      const h = yield* setup(failWith(413, { "Retry-After": 2 }), { retry: { maxAttempts: 3 } })
      expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ status: 413, attempts: 3 })
      expect(h.seen.length).toBe(3)
    }))

  // got rejects the call with the error its `calculateDelay` throws; in Effect a function that throws is a defect:
  // the call dies with it, and no retry is made.
  it.scoped("retry function can throw", () =>
    Effect.gen(function*() {
      const h = yield* setup(failWith(413, { "Retry-After": 2 }), {
        retry: {
          delay: () => {
            throw new Error("Simple error")
          }
        }
      })
      const exit = yield* h.run(h.api.get("/"))
      expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
      expect(Exit.isFailure(exit) && Cause.pretty(exit.cause)).toContain("Simple error")
      expect(h.seen.length).toBe(1)
      const h2 = yield* setup(failWith(500), {
        retry: {
          delay: () => {
            throw new Error("Simple error")
          }
        }
      })
      const died = yield* h2.run(h2.api.get("/"))
      expect(Exit.isFailure(died) && Cause.isDie(died.cause)).toBe(true)
      expect(Exit.isFailure(died) && Cause.pretty(died.cause)).toContain("Simple error")
      expect(h2.seen.length).toBe(1)
    }))

  it.scoped("does not retry on POST", () =>
    Effect.gen(function*() {
      const h = yield* setup(() => {}, { attemptTimeout: "200 millis" })
      expect(failureOf(yield* h.run(h.api.post("/")))).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect(h.decisions.filter((d) => d.retrying)).toEqual([])
      expect(h.seen.length).toBe(1)
    }))

  // got retries the URL the redirect led to, so `/redirect` is asked once. Sturdy follows redirects only when asked
  // (`Redirect.follow`), and inside a Policy the whole chain is one attempt: a retry starts again from the first URL,
  // whose redirect may have changed (Redirect's module docs). The failure is the final hop's 500, as in got.
  it.scoped("does not break on redirect", () =>
    Effect.gen(function*() {
      let tries = 0
      const h = yield* setup((request, response) => {
        if (request.path === "/redirect") {
          tries++
          return send(response, 302, { location: "/" })
        }
        send(response, 500)
      }, { retry: { delay: () => 0 } })
      const followed = SturdyClient.makeWith(h.platform, {
        baseUrl: h.url,
        policy: h.policy,
        transformClient: Redirect.follow()
      })
      const failure = failureOf(yield* h.run(followed.get("/redirect")))
      expect(failure).toMatchObject({ _tag: "ServerError", status: 500, attempts: 3 })
      expect(failure._tag === "ServerError" && failure.url).toBe(`${h.url}/`)
      expect(tries).toBe(3)
      expect(h.seen.map((s) => s.path)).toEqual(["/redirect", "/", "/redirect", "/", "/redirect", "/"])
      // without Redirect.follow the 302 is the answer, not retried
      expect(failureOf(yield* h.run(h.api.get("/redirect")))).toMatchObject({ status: 302 })
    }))

  it.scoped("does not destroy the socket on HTTP error", () =>
    Effect.gen(function*() {
      const ports: Array<number | undefined> = []
      const h = yield* setup((_, response, n) => {
        ports.push(response.socket?.remotePort)
        return n === 1 ? send(response, 500) : send(response, 200)
      })
      expect(Exit.isSuccess(yield* h.run(h.api.get("/")))).toBe(true)
      expect(ports.length).toBe(2)
      expect(ports[1]).toBe(ports[0])
    }))

  it.scoped("reuses request options on retry", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        (request, response, n, tools) =>
          n === 1
            ? tools.later(5000, () => send(response, 200))
            : send(response, 200, { "content-type": "application/json" }, JSON.stringify(request.headers)),
        { attemptTimeout: "1 second", retry: { delay: () => 0 } }
      )
      const request = HttpClientRequest.get("/").pipe(HttpClientRequest.setHeader("accept", "application/json"))
      const headers = yield* h.run(
        h.api.get(request, { schema: Schema.Record({ key: Schema.String, value: Schema.String }) })
      )
      expect(Exit.isSuccess(headers) && headers.value.accept).toBe("application/json")
      expect(h.decisions.filter((d) => d.retrying).length).toBe(1)
    }))

  it.scoped("respects backoffLimit", () =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(3, 408), { retry: { maxDelay: 0, baseDelay: 0 } })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(gaps(h)).toEqual([0, 0])
    }))

  it.scoped("enforceRetryRules respects statusCodes with custom calculateDelay", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response, n) => send(response, n === 1 ? 500 : n === 2 ? 429 : 200), {
        retry: { maxAttempts: 6, statuses: [429], delay: (attempt) => attempt * 100 }
      })
      expect(statusOf(failureOf(yield* h.run(h.api.get("/"))))).toBe(500)
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("enforces retry rules by default with custom calculateDelay", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response, n) => send(response, n === 1 ? 500 : n === 2 ? 429 : 200), {
        retry: { maxAttempts: 6, statuses: [429], delay: (attempt) => attempt * 100 }
      })
      expect(statusOf(failureOf(yield* h.run(h.api.get("/"))))).toBe(500)
      expect(h.decisions.map((d) => d.retrying)).toEqual([false])
    }))

  it.scoped("enforceRetryRules respects limit with custom calculateDelay", () =>
    Effect.gen(function*() {
      const h = yield* setup(failWith(500), { retry: { maxAttempts: 3, delay: (attempt) => attempt * 100 } })
      expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ status: 500, attempts: 3 })
      expect(gaps(h)).toEqual([100, 200])
    }))

  it.scoped("promise does not retry when body is a stream", () =>
    Effect.gen(function*() {
      const h = yield* setup(failWith(500), { retry: { methods: ["POST"], delay: () => 0 } })
      const body = HttpBody.stream(Stream.make(new TextEncoder().encode("data")))
      expect(statusOf(failureOf(yield* h.run(h.api.post("/", { body }))))).toBe(500)
      expect(h.seen.length).toBe(1)
    }))
})

// -----------------------------------------------------------------------------
// the same rules through Policy.json / Policy.send
// -----------------------------------------------------------------------------

describe("Policy.json / Policy.send (ky and got cases through the functions)", () => {
  it.scoped("status code 500 (Policy.json)", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response, n) =>
        n === 3 ? send(response, 200, { "content-type": "application/json" }, "{\"ok\":true}") : send(response, 500)
      )
      const request = HttpClientRequest.get(`${h.url}/`)
      const exit = yield* h.run(Policy.json(h.client, request, Schema.Struct({ ok: Schema.Boolean })))
      expect(exit).toEqual(Exit.succeed({ ok: true }))
      expect(h.seen.length).toBe(3)
    }))

  it.scoped("respect retry methods (Policy.send: a listed POST retries like GET)", () =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(3, 503), { retry: { methods: ["POST"], delay: () => 0 } })
      const request = HttpClientRequest.post(`${h.url}/`).pipe(HttpClientRequest.bodyText("x"))
      const exit = yield* h.run(Policy.send(h.client, request))
      expect(textOf(exit)).toBe(fixture)
      expect(h.seen.map((s) => s.method)).toEqual(["POST", "POST", "POST"])
    }))
})

// keep the failure type in sight for readers
export type _Failure = HttpFailure.HttpFailure
