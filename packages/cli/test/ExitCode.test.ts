import { describe, expect, it } from "@effect/vitest"
import { ExitCode } from "@sturdy/cli"
import { HttpFailure } from "@sturdy/http"
import { AdaptiveThrottle, Bulkhead, CircuitBreaker, ConcurrencyLimit, RateLimit, RetryBudget } from "@sturdy/policy"
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"

const request = { method: "GET", url: "https://api.test/items" }
const response = { ...request, headers: {} }
const status = (code: number) => ({ ...response, status: code, bodyExcerpt: "", payload: Option.none() })

const cases: ReadonlyArray<readonly [ExitCode.Failure, ExitCode.Kind, number]> = [
  [new HttpFailure.ConnectionError({ ...request, reason: "Refused" }), "Connection", 7],
  [new HttpFailure.ConnectionError({ ...request, reason: "Tls" }), "Connection", 7],
  [new HttpFailure.Timeout({ ...request, phase: "Attempt", timeout: Duration.seconds(1) }), "Timeout", 8],
  [new HttpFailure.Timeout({ ...request, phase: "Deadline", timeout: Duration.seconds(1) }), "Timeout", 8],
  [new HttpFailure.ClientError(status(404)), "ClientError", 4],
  [new HttpFailure.RateLimited({ ...status(429), retryAfter: Option.none() }), "RateLimited", 6],
  [new HttpFailure.ServerError({ ...status(503), retryAfter: Option.none() }), "ServerError", 5],
  [new HttpFailure.UnexpectedStatus(status(302)), "UnexpectedStatus", 9],
  [
    new HttpFailure.BodyTruncated({ ...response, status: 200, receivedBytes: 1, expectedBytes: 2 }),
    "BodyIncomplete",
    12
  ],
  [
    new HttpFailure.BodyTooLarge({ ...response, status: 200, limitBytes: 1, declaredBytes: undefined }),
    "BodyIncomplete",
    12
  ],
  [
    new HttpFailure.UnexpectedContentType({ ...response, status: 200, contentType: "text/html", expected: [] }),
    "InvalidResponse",
    10
  ],
  [new HttpFailure.InvalidJson({ ...response, status: 200, detail: "x", bodyExcerpt: "" }), "InvalidResponse", 10],
  [new HttpFailure.BodyUndecodable({ ...response, status: 200, contentEncoding: "gzip" }), "InvalidResponse", 10],
  [
    new HttpFailure.SchemaMismatch({ ...response, status: 200, path: "$", issue: "x", issues: [] }),
    "SchemaMismatch",
    11
  ],
  [new HttpFailure.InvalidRequest({ ...request, reason: "MalformedUrl", detail: "x" }), "InvalidRequest", 3],
  [new CircuitBreaker.CircuitOpen({ key: "k", retryAfter: Duration.seconds(5) }), "CircuitOpen", 13],
  [new Bulkhead.BulkheadRejected({ key: "k", reason: "Full" }), "Rejected", 14],
  [new AdaptiveThrottle.AdaptiveThrottleRejected({ key: "k", probability: 0.9 }), "Rejected", 14],
  [new ConcurrencyLimit.ConcurrencyLimitExceeded({ key: "k", limit: 4, inFlight: 4 }), "Rejected", 14],
  [new RateLimit.RateLimitExceeded({ key: "k", reason: "Paused", retryAfter: Duration.seconds(1) }), "RateLimited", 6],
  [new RateLimit.RateLimitStoreError({ key: "k" }), "Rejected", 14]
]

describe("ExitCode", () => {
  it("maps every failure to its documented kind and code", () => {
    for (const [failure, kind, code] of cases) {
      expect([failure._tag, ExitCode.kindOf(failure)]).toEqual([failure._tag, kind])
      expect(ExitCode.fromFailure(failure)).toBe(code)
    }
  })

  it("a spent retry budget exits with the code of the failure that was not retried", () => {
    const server = new HttpFailure.ServerError({ ...status(502), retryAfter: Option.none() })
    const exhausted = new RetryBudget.RetryBudgetExhausted<ExitCode.Failure>({ key: "k", attempts: 2, failure: server })
    expect(ExitCode.fromFailure(exhausted)).toBe(ExitCode.codes.ServerError)
  })

  it("codes are distinct, 0 is success, no failure collides with the shell's 126+, Ctrl-C is 128 + SIGINT", () => {
    const values = Object.values(ExitCode.codes)
    expect(new Set(values).size).toBe(values.length)
    expect(ExitCode.codes.Ok).toBe(0)
    const { Interrupted, ...failures } = ExitCode.codes
    expect(Math.max(...Object.values(failures))).toBeLessThan(126)
    expect(Interrupted).toBe(128 + 2)
  })

  it("the Markdown table has one row per kind and matches the README", async () => {
    const table = ExitCode.markdownTable()
    const rows = table.split("\n").slice(2)
    expect(rows).toHaveLength(Object.keys(ExitCode.codes).length)
    const { readFileSync } = await import("node:fs")
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8")
    for (const [kind, code] of Object.entries(ExitCode.codes)) {
      expect(readme).toMatch(new RegExp(`\\|\\s+${code} \\| \`${kind}\``))
    }
  })
})
