/**
 * RateLimit header parsing cases from three sources, ported to `RetryHeaders.parse` / `RetryHeaders.retryAfter`
 * (pure parsing, with a fixed `nowMillis`). One `it` per source case (or per draft example), named after it.
 *
 * 1. The examples of draft-ietf-httpapi-ratelimit-headers (ietf-wg-httpapi/ratelimit-headers,
 *    `draft-ietf-httpapi-ratelimit-headers.md`, commit 0669b82c3cf739f52c4d37b2495e88e39fbcd2a2: the sections'
 *    examples and Appendix examples, named by section), and that repository's `test_ratelimit.py` (`test_policy`,
 *    `test_get_policy`: the older `RateLimit-Policy: 100;w=60` form).
 * 2. express-rate-limit/ratelimit-header-parser `test/parser-test.ts` (commit
 *    d8f9af205df334719e7e054bb5082724014ca94d).
 * 3. mre/rate-limits (Rust; commit 22f1983c181d37617da7913e767a649e47a5bcb0): `tests/parse.rs`, and the unit tests of
 *    `src/lib.rs`, `src/headers/mod.rs` and `src/retryafter/mod.rs`.
 *
 * Mapping: the parsers' limit / remaining / reset are `RetryHeaders.parse`'s `limit` / `remaining` / `reset` (the
 * most constrained quota) with the detail in `rateLimits` (IETF fields), `policies` (`RateLimit-Policy`) and
 * `xRateLimit` (`X-RateLimit-*`); a reset "date" is a `Delay` from `nowMillis` with its `format`; the wait a client
 * should honour is `wait` (and `retryAfter`).
 *
 * Deliberate differences (each test says which):
 * - Sturdy reads no `used` / `observed` count (`X-Ratelimit-Used`, Reddit; `RateLimit-Observed`, GitLab): the parsers
 *   derive limit = used + remaining, or used = limit − remaining; Sturdy's `limit` is what the server sent.
 * - A reset is a number (delta seconds below 1e9, epoch seconds from 1e9, epoch milliseconds from 1e12) or an
 *   HTTP-date (Vimeo's IMF-fixdate `X-RateLimit-Reset`, rate-limits' `ImfFixdate` kind): an ISO 8601 `RateLimit-Reset`
 *   (ratelimit-header-parser reads it with `new Date`) is no reset.
 * - rate-limits takes the later of `Retry-After` and the reset; Sturdy's wait is `Retry-After` when it is readable
 *   (the draft: "the Retry-After field MUST take precedence"), and a reset only for an exhausted quota.
 * - rate-limits guesses the vendor (and so the reset's kind and the window) from the headers' spelling; Sturdy reads
 *   the number's magnitude, and reports no window for `X-RateLimit-*`.
 *
 * Not ported: `test_all_in_one` and `test_get_policy_tokenized` of `test_ratelimit.py` (unfinished: both end in
 * `raise NotImplementedError`, for syntaxes the draft dropped), rate-limits' `parse_header_map_newlines` (its own
 * header-map text parser) and `parse_retry_after_seconds` (a header lookup, covered by `retry_after_seconds`).
 */
import * as Headers from "@effect/platform/Headers"
import { describe, expect, it } from "@effect/vitest"
import { RetryHeaders } from "@sturdy/http"
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"

const now = Date.UTC(2026, 11, 5, 12, 0, 0)

const parse = (input: Headers.Input, at = now) => RetryHeaders.parse(Headers.fromInput(input), at)

const delayMs = (o: Option.Option<RetryHeaders.Delay>) =>
  Option.getOrUndefined(Option.map(o, (d) => Duration.toMillis(d.duration)))

const quota = (r: RetryHeaders.RateLimit) => ({
  policy: Option.getOrUndefined(r.policy),
  limit: Option.getOrUndefined(r.limit),
  remaining: Option.getOrUndefined(r.remaining),
  reset: delayMs(r.reset)
})

const policy = (p: RetryHeaders.RateLimitPolicy) => ({
  name: Option.getOrUndefined(p.name),
  quota: p.quota,
  window: Option.getOrUndefined(Option.map(p.window, Duration.toSeconds)),
  unit: Option.getOrUndefined(p.quotaUnit)
})

const waitOf = (parsed: RetryHeaders.RetryHeaders) =>
  Option.getOrUndefined(Option.map(parsed.wait, (w) => [w.source, Duration.toMillis(w.duration), w.format]))

const summary = (parsed: RetryHeaders.RetryHeaders) => ({
  limit: Option.getOrUndefined(parsed.limit),
  remaining: Option.getOrUndefined(parsed.remaining),
  reset: delayMs(parsed.reset)
})

// -----------------------------------------------------------------------------
// draft-ietf-httpapi-ratelimit-headers
// -----------------------------------------------------------------------------

describe("draft-ietf-httpapi-ratelimit-headers examples", () => {
  it("RateLimit-Policy Field: \"burst\";q=100;w=60,\"daily\";q=1000;w=86400", () => {
    const parsed = parse({ "ratelimit-policy": "\"burst\";q=100;w=60,\"daily\";q=1000;w=86400" })
    expect(parsed.policies.map(policy)).toEqual([
      { name: "burst", quota: 100, window: 60, unit: undefined },
      { name: "daily", quota: 1000, window: 86400, unit: undefined }
    ])
    // a policy alone says nothing about what is left: no wait
    expect(waitOf(parsed)).toBeUndefined()
  })

  it("RateLimit Policy Field Examples: a time window", () => {
    expect(parse({ "ratelimit-policy": "\"default\";q=100;w=10" }).policies.map(policy)).toEqual([
      { name: "default", quota: 100, window: 10, unit: undefined }
    ])
  })

  it("RateLimit Policy Field Examples: multiple policies", () => {
    expect(parse({ "ratelimit-policy": "\"permin\";q=50;w=60,\"perhr\";q=1000;w=3600" }).policies.map(policy)).toEqual([
      { name: "permin", quota: 50, window: 60, unit: undefined },
      { name: "perhr", quota: 1000, window: 3600, unit: undefined }
    ])
  })

  it("RateLimit Policy Field Examples: a partition key", () => {
    expect(parse({ "ratelimit-policy": "\"peruser\";q=100;w=60;pk=:cHsdsRa894==:" }).policies.map(policy)).toEqual([
      { name: "peruser", quota: 100, window: 60, unit: undefined }
    ])
  })

  it("RateLimit Policy Field Examples: a partition key and a quota unit", () => {
    const parsed = parse({ "ratelimit-policy": "\"peruser\";q=65535;qu=\"content-bytes\";w=10;pk=:sdfjLJUOUH==:" })
    expect(parsed.policies.map(policy)).toEqual([
      { name: "peruser", quota: 65535, window: 10, unit: "content-bytes" }
    ])
  })

  it("RateLimit Field Examples: remaining 50, reset in 30 seconds", () => {
    const parsed = parse({ ratelimit: "\"default\";r=50;t=30" })
    expect(parsed.rateLimits.map(quota)).toEqual([
      { policy: "default", limit: undefined, remaining: 50, reset: 30_000 }
    ])
    expect(summary(parsed)).toEqual({ limit: undefined, remaining: 50, reset: 30_000 })
    // quota left: the reset is no wait
    expect(waitOf(parsed)).toBeUndefined()
  })

  it("RateLimit Field Examples: 999 remaining, a partition key, no reset", () => {
    expect(parse({ ratelimit: "\"default\";r=999;pk=:dHJpYWwxMjEzMjM=:" }).rateLimits.map(quota)).toEqual([
      { policy: "default", limit: undefined, remaining: 999, reset: undefined }
    ])
  })

  it("RateLimit Field Examples: 300MB remaining in the next 60 seconds", () => {
    expect(parse({ ratelimit: "\"default\";r=300000000;t=60;pk=:QXBwLTk5OQ==:" }).rateLimits.map(quota)).toEqual([
      { policy: "default", limit: undefined, remaining: 300_000_000, reset: 60_000 }
    ])
  })

  it("Server Behavior: a 301 whose remaining is 0 (a client could wait 10 seconds)", () => {
    const parsed = parse({ location: "/foo/123", ratelimit: "\"problemPolicy\";r=0;t=10" })
    expect(waitOf(parsed)).toEqual(["ratelimit", 10_000, "delta-seconds"])
  })

  it("Client Behavior: r=1;t=7 does not guarantee the next request", () => {
    const parsed = parse({ ratelimit: "\"default\";r=1;t=7" })
    expect(summary(parsed)).toEqual({ limit: undefined, remaining: 1, reset: 7_000 })
    expect(waitOf(parsed)).toBeUndefined()
  })

  it("Resource exhaustion: \"daily\";r=1;t=36400", () => {
    const parsed = parse({ date: "Tue, 15 Nov 1994 18:00:00 GMT", ratelimit: "\"daily\";r=1;t=36400" })
    // delta seconds need no clock agreement: the Date header does not matter
    expect(summary(parsed)).toEqual({ limit: undefined, remaining: 1, reset: 36_400_000 })
  })

  it("Resource exhaustion: \"somepolicy\";q=10000;w=1000 with r=10000;t=10", () => {
    const parsed = parse({
      "ratelimit-policy": "\"somepolicy\";q=10000;w=1000",
      ratelimit: "\"somepolicy\";r=10000;t=10"
    })
    expect(parsed.rateLimits.map(quota)).toEqual([
      { policy: "somepolicy", limit: 10_000, remaining: 10_000, reset: 10_000 }
    ])
    expect(parsed.policies.map(policy)).toEqual([
      { name: "somepolicy", quota: 10_000, window: 1000, unit: undefined }
    ])
  })

  it("Throttling information in responses: a 200 with r=0;t=50, then r=0;t=48", () => {
    // the quota is exhausted for 50 s, whatever the status; the server may still serve the next request
    expect(waitOf(parse({ ratelimit: "\"default\";r=0;t=50" }))).toEqual(["ratelimit", 50_000, "delta-seconds"])
    expect(waitOf(parse({ ratelimit: "\"default\";r=0;t=48" }))).toEqual(["ratelimit", 48_000, "delta-seconds"])
    expect(
      Option.map(
        RetryHeaders.retryAfter(Headers.fromInput({ ratelimit: "\"default\";r=0;t=48" }), now),
        Duration.toMillis
      )
    )
      .toEqual(Option.some(48_000))
  })

  it("Multiple policies in response: \"dayLimit\";r=100;t=36000", () => {
    const parsed = parse({ ratelimit: "\"dayLimit\";r=100;t=36000" })
    expect(parsed.rateLimits.map(quota)).toEqual([
      { policy: "dayLimit", limit: undefined, remaining: 100, reset: 36_000_000 }
    ])
    expect(waitOf(parsed)).toBeUndefined()
  })

  it("Use for limiting concurrency: \"basic\";q=100;w=60 with r=60;t=58, then r=20;t=56", () => {
    const first = parse({ "ratelimit-policy": "\"basic\";q=100;w=60", ratelimit: "\"basic\";r=60;t=58" })
    expect(summary(first)).toEqual({ limit: 100, remaining: 60, reset: 58_000 })
    const second = parse({ "ratelimit-policy": "\"basic\";q=100;w=60", ratelimit: "\"basic\";r=20;t=56" })
    expect(summary(second)).toEqual({ limit: 100, remaining: 20, reset: 56_000 })
    expect(second.policies.map(policy)).toEqual([{ name: "basic", quota: 100, window: 60, unit: undefined }])
  })

  it("Use in throttled responses: a 429 with Retry-After (an HTTP-date) and r=0;t=5", () => {
    const at = Date.UTC(2019, 7, 5, 9, 27, 0)
    const parsed = parse({
      date: "Mon, 05 Aug 2019 09:27:00 GMT",
      "retry-after": "Mon, 05 Aug 2019 09:27:05 GMT",
      ratelimit: "\"default\";r=0;t=5"
    }, at)
    // Retry-After takes precedence (the draft: it MUST); here both name the same moment
    expect(waitOf(parsed)).toEqual(["retry-after", 5_000, "http-date"])
    expect(delayMs(parsed.reset)).toBe(5_000)
  })

  it("Throttling window specified via parameter: \"fixedwindow\";r=99;t=50 with q=100;w=60", () => {
    const parsed = parse({
      ratelimit: "\"fixedwindow\";r=99;t=50",
      "ratelimit-policy": "\"fixedwindow\";q=100;w=60"
    })
    expect(summary(parsed)).toEqual({ limit: 100, remaining: 99, reset: 50_000 })
    expect(parsed.policies.map(policy)).toEqual([{ name: "fixedwindow", quota: 100, window: 60, unit: undefined }])
  })

  it("Dynamic limits with parameterized windows: \"dynamic\";r=9;t=50 with q=100;w=60", () => {
    const parsed = parse({ "ratelimit-policy": "\"dynamic\";q=100;w=60", ratelimit: "\"dynamic\";r=9;t=50" })
    expect(summary(parsed)).toEqual({ limit: 100, remaining: 9, reset: 50_000 })
    expect(waitOf(parsed)).toBeUndefined()
  })

  it("Dynamic limits for pushing back and slowing down: a 429 with r=0;t=20 and q=15;w=20", () => {
    const parsed = parse({ "ratelimit-policy": "\"dynamic\";q=15;w=20", ratelimit: "\"dynamic\";r=0;t=20" })
    expect(summary(parsed)).toEqual({ limit: 15, remaining: 0, reset: 20_000 })
    expect(waitOf(parsed)).toEqual(["ratelimit", 20_000, "delta-seconds"])
  })

  it("Dynamic limits for pushing back with Retry-After and slow down: Retry-After: 20 with r=15;t=40", () => {
    const parsed = parse({
      "retry-after": "20",
      "ratelimit-policy": "\"dynamic\";q=100;w=60",
      ratelimit: "\"dynamic\";r=15;t=40"
    })
    expect(waitOf(parsed)).toEqual(["retry-after", 20_000, "delta-seconds"])
    expect(summary(parsed)).toEqual({ limit: 100, remaining: 15, reset: 40_000 })
  })

  it("Missing Remaining information: quota;q=100;w=1 with quota;t=1, then quota;q=10", () => {
    // token names (the example's spelling) are read like strings; no `r`: no remaining, and so no wait
    const first = parse({ "ratelimit-policy": "quota;q=100;w=1", ratelimit: "quota;t=1" })
    expect(first.rateLimits.map(quota)).toEqual([{ policy: "quota", limit: 100, remaining: undefined, reset: 1_000 }])
    expect(waitOf(first)).toBeUndefined()
    const second = parse({ "ratelimit-policy": "quota;q=10", ratelimit: "quota;t=1" })
    expect(second.rateLimits.map(quota)).toEqual([{ policy: "quota", limit: 10, remaining: undefined, reset: 1_000 }])
    expect(second.policies.map(policy)).toEqual([{ name: "quota", quota: 10, window: undefined, unit: undefined }])
  })

  it("Use with multiple windows: \"hour\" and \"day\" policies, \"day\";r=100;t=36000", () => {
    const parsed = parse({
      "ratelimit-policy": "\"hour\";q=1000;w=3600, \"day\";q=5000;w=86400",
      ratelimit: "\"day\";r=100;t=36000"
    })
    // the expiring limit is the day's 5000
    expect(summary(parsed)).toEqual({ limit: 5000, remaining: 100, reset: 36_000_000 })
    expect(parsed.policies.map((p) => p.name.pipe(Option.getOrUndefined))).toEqual(["hour", "day"])
  })

  it("FAQ 8: RateLimit:\"default\";r=50;t=60, and RateLimit-Policy split over two fields", () => {
    expect(summary(parse({ ratelimit: "\"default\";r=50;t=60" }))).toEqual({
      limit: undefined,
      remaining: 50,
      reset: 60_000
    })
    // two RateLimit-Policy fields are one list (joined with ", ", as a transport joins them)
    const parsed = parse({
      "ratelimit-policy": ["\"sliding\";q=100;w=60;burst=1000", "\"fixed\";q=5000;w=3600;burst=0"],
      ratelimit: "\"sliding\";r=50;t=44"
    })
    expect(parsed.policies.map(policy)).toEqual([
      { name: "sliding", quota: 100, window: 60, unit: undefined },
      { name: "fixed", quota: 5000, window: 3600, unit: undefined }
    ])
    // "the value "sliding" identifies the policy being reported"
    expect(summary(parsed)).toEqual({ limit: 100, remaining: 50, reset: 44_000 })
  })
})

describe("ietf-wg-httpapi/ratelimit-headers test_ratelimit.py", () => {
  it("test_policy", () => {
    const policies = [
      "1000;w=3600,5000;w=86400",
      "100;w=60",
      "10;w=1, 50;w=60, 1000;w=3600, 5000;w=86400",
      "10;w=1;burst=1000, 1000;w=3600"
    ]
    const read = policies.map((p) => parse({ "ratelimit-policy": p }).policies.map(policy))
    // every item has a value (the quota, in this older form) and a window
    expect(read).toEqual([
      [{ name: undefined, quota: 1000, window: 3600, unit: undefined }, {
        name: undefined,
        quota: 5000,
        window: 86400,
        unit: undefined
      }],
      [{ name: undefined, quota: 100, window: 60, unit: undefined }],
      [1, 60, 3600, 86400].map((window, i) => ({
        name: undefined,
        quota: [10, 50, 1000, 5000][i],
        window,
        unit: undefined
      })),
      [{ name: undefined, quota: 10, window: 1, unit: undefined }, {
        name: undefined,
        quota: 1000,
        window: 3600,
        unit: undefined
      }]
    ])
  })

  it("test_get_policy", () => {
    const parsed = parse({
      "ratelimit-policy": "10;w=1,50;w=60,1000;w=3600;comment=\"foo\", 5000;w=86400",
      "ratelimit-limit": "1000"
    })
    expect(Option.getOrUndefined(parsed.limit)).toBe(1000)
    expect(parsed.policies.map((p) => [p.quota, Option.getOrUndefined(Option.map(p.window, Duration.toSeconds))]))
      .toEqual([[10, 1], [50, 60], [1000, 3600], [5000, 86400]])
    // the policy whose quota is the limit
    const current = parsed.policies.find((p) => p.quota === Option.getOrUndefined(parsed.limit))
    expect(current && Option.map(current.window, Duration.toSeconds)).toEqual(Option.some(3600))
  })
})

// -----------------------------------------------------------------------------
// express-rate-limit/ratelimit-header-parser
// -----------------------------------------------------------------------------

describe("ratelimit-header-parser test/parser-test.ts", () => {
  // The parser also reports used = limit − remaining (30); Sturdy reads no used count.
  it("should handle X-RateLimit-* headers in a fetch Headers object", () => {
    const headers = new globalThis.Headers({
      "X-RateLimit-Limit": "100",
      "X-RateLimit-Remaining": "70",
      "X-RateLimit-Reset": Math.floor(now / 1000).toString()
    })
    const parsed = parse(headers)
    expect(summary(parsed)).toEqual({ limit: 100, remaining: 70, reset: 0 })
    expect(Option.map(parsed.reset, (d) => d.format)).toEqual(Option.some("epoch-seconds"))
    expect(Option.map(parsed.xRateLimit, quota)).toEqual(
      Option.some({ policy: undefined, limit: 100, remaining: 70, reset: 0 })
    )
  })

  // The parser reads an ISO 8601 reset (`new Date().toISOString()`) as a date; Sturdy's reset is a number only, so
  // this one is no reset, and limit and remaining still count.
  it("should handle RateLimit-* headers in a node-style headers object", () => {
    const parsed = parse({
      "ratelimit-limit": "60",
      "ratelimit-remaining": "20",
      "ratelimit-reset": new Date(now).toISOString()
    })
    expect(summary(parsed)).toEqual({ limit: 60, remaining: 20, reset: undefined })
  })

  it("should parse a combined header", () => {
    const parsed = parse({ ratelimit: "limit=100, remaining=25, reset=5" })
    expect(summary(parsed)).toEqual({ limit: 100, remaining: 25, reset: 5_000 })
    expect(waitOf(parsed)).toBeUndefined()
  })
})

// -----------------------------------------------------------------------------
// mre/rate-limits
// -----------------------------------------------------------------------------

// 1350085394 = 2012-10-12T23:43:14Z, GitHub's documented example; a minute before it
const beforeGithubReset = (1_350_085_394 - 60) * 1000

describe("rate-limits tests/parse.rs", () => {
  it("test_example", () => {
    const parsed = parse({
      "X-RATELIMIT-LIMIT": "5000",
      "X-RATELIMIT-REMAINING": "4987",
      "X-RATELIMIT-RESET": "1350085394"
    }, beforeGithubReset)
    expect(summary(parsed)).toEqual({ limit: 5000, remaining: 4987, reset: 60_000 })
    expect(Option.map(parsed.reset, (d) => d.format)).toEqual(Option.some("epoch-seconds"))
  })
})

describe("rate-limits src/lib.rs", () => {
  // rate-limits takes the later of the two; Sturdy's wait is Retry-After (here also the later one), and the vendor
  // reset stays in `xRateLimit` (22 remaining: not a wait)
  it("use_later_reset_time_date", () => {
    const at = Date.UTC(2015, 9, 21, 7, 27, 0)
    const parsed = parse({
      "X-Ratelimit-Used": "100",
      "X-Ratelimit-Remaining": "22",
      "X-Ratelimit-Reset": "30",
      "Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"
    }, at)
    expect(waitOf(parsed)).toEqual(["retry-after", 60_000, "http-date"])
    expect(delayMs(parsed.reset)).toBe(30_000)
  })

  // rate-limits answers the later reset (30 s); Sturdy's wait is Retry-After's 20 s (the draft: Retry-After takes
  // precedence), and the quota's reset is reported beside it
  it("use_later_reset_time_seconds", () => {
    const parsed = parse({
      "X-Ratelimit-Used": "100",
      "X-Ratelimit-Remaining": "22",
      "X-Ratelimit-Reset": "30",
      "Retry-After": "20"
    })
    expect(waitOf(parsed)).toEqual(["retry-after", 20_000, "delta-seconds"])
    expect(delayMs(parsed.reset)).toBe(30_000)
  })
})

describe("rate-limits src/headers/mod.rs", () => {
  it("parse_limit_value", () => {
    expect(Option.getOrUndefined(parse({ "x-ratelimit-limit": "  23 " }).limit)).toBe(23)
  })

  it("parse_invalid_limit_value", () => {
    for (const value of ["foo", "0 foo", "bar 0"]) {
      expect(parse({ "x-ratelimit-limit": value, "x-ratelimit-remaining": "1" }).limit).toEqual(Option.none())
    }
  })

  // the vendor guess maps to where Sturdy files the numbers: `X-RateLimit-*` or the IETF triple
  it("parse_vendor", () => {
    const github = parse({ "x-ratelimit-limit": "5000" })
    expect(Option.map(github.xRateLimit, quota)).toEqual(
      Option.some({ policy: undefined, limit: 5000, remaining: undefined, reset: undefined })
    )
    expect(github.rateLimits).toEqual([])
    const standard = parse({ "RateLimit-Limit": "5000" })
    expect(standard.rateLimits.map(quota)).toEqual([
      { policy: undefined, limit: 5000, remaining: undefined, reset: undefined }
    ])
    expect(standard.xRateLimit).toEqual(Option.none())
  })

  it("parse_remaining_value", () => {
    expect(Option.getOrUndefined(parse({ "x-ratelimit-remaining": "  23 " }).remaining)).toBe(23)
  })

  it("parse_invalid_remaining_value", () => {
    for (const value of ["foo", "0 foo", "bar 0"]) {
      const parsed = parse({ "x-ratelimit-remaining": value, "x-ratelimit-reset": "30" })
      expect(parsed.remaining).toEqual(Option.none())
      // an unreadable remaining is not an exhausted quota
      expect(waitOf(parsed)).toBeUndefined()
    }
  })

  it("parse_reset_timestamp", () => {
    const parsed = parse({ "x-ratelimit-reset": "1350085394" }, beforeGithubReset)
    expect(Option.map(parsed.xRateLimit, (r) => Option.map(r.reset, (d) => [Duration.toMillis(d.duration), d.format])))
      .toEqual(Option.some(Option.some([60_000, "epoch-seconds"])))
  })

  it("parse_reset_seconds", () => {
    const parsed = parse({ "ratelimit-reset": "100" })
    expect(parsed.rateLimits.map((r) => Option.map(r.reset, (d) => [Duration.toMillis(d.duration), d.format])))
      .toEqual([Option.some([100_000, "delta-seconds"])])
  })

  // rate-limits reads an IMF-fixdate reset for Vimeo, as Sturdy does
  it("parse_reset_datetime", () => {
    const parsed = parse(
      { "x-ratelimit-remaining": "0", "x-ratelimit-reset": "Tue, 15 Nov 1994 08:12:31 GMT" },
      Date.UTC(1994, 10, 15, 8, 12, 0)
    )
    expect(Option.map(parsed.xRateLimit, (r) => Option.map(r.reset, (d) => [Duration.toMillis(d.duration), d.format])))
      .toEqual(Option.some(Option.some([31_000, "http-date"])))
    expect(waitOf(parsed)).toEqual(["x-ratelimit", 31_000, "http-date"])
  })

  it("parse_github_headers", () => {
    const parsed = parse({
      "x-ratelimit-limit": "5000",
      "x-ratelimit-remaining": "4987",
      "x-ratelimit-reset": "1350085394"
    }, beforeGithubReset)
    expect(summary(parsed)).toEqual({ limit: 5000, remaining: 4987, reset: 60_000 })
  })

  // rate-limits derives limit 122 = used + remaining (Reddit sends no limit); Sturdy reports no limit
  it("parse_reddit_headers", () => {
    const parsed = parse({ "X-Ratelimit-Used": "100", "X-Ratelimit-Remaining": "22", "X-Ratelimit-Reset": "30" })
    expect(summary(parsed)).toEqual({ limit: undefined, remaining: 22, reset: 30_000 })
    expect(Option.map(parsed.reset, (d) => d.format)).toEqual(Option.some("delta-seconds"))
  })

  it("parse_gitlab_headers", () => {
    // 1609844400 = 2021-01-05T11:00:00Z; the trailing space is the test's own
    const at = (1_609_844_400 - 45) * 1000
    const parsed = parse({
      "RateLimit-Limit": "60",
      "RateLimit-Observed": "67",
      "RateLimit-Remaining": "0",
      "RateLimit-Reset": "1609844400 "
    }, at)
    expect(summary(parsed)).toEqual({ limit: 60, remaining: 0, reset: 45_000 })
    expect(waitOf(parsed)).toEqual(["ratelimit", 45_000, "epoch-seconds"])
  })
})

describe("rate-limits src/retryafter/mod.rs", () => {
  it("retry_after_seconds", () => {
    expect(waitOf(parse({ "Retry-After": "19" }))).toEqual(["retry-after", 19_000, "delta-seconds"])
  })

  it("retry_after_seconds_case_sensitive", () => {
    expect(waitOf(parse({ "retry-after": "19" }))).toEqual(["retry-after", 19_000, "delta-seconds"])
  })

  it("retry_after_imf_fixdate", () => {
    const at = Date.UTC(1999, 11, 31, 23, 59, 0)
    expect(waitOf(parse({ "Retry-After": "Fri, 31 Dec 1999 23:59:59 GMT" }, at))).toEqual([
      "retry-after",
      59_000,
      "http-date"
    ])
    expect(Option.map(RetryHeaders.parseRetryAfter("Fri, 31 Dec 1999 23:59:59 GMT", at), Duration.toMillis)).toEqual(
      Option.some(59_000)
    )
  })
})
