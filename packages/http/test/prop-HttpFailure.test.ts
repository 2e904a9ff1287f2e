// Properties of `HttpFailure`'s classification and of the wait a failure carries, against a table written from the
// docs: the module table of src/HttpFailure.ts (tag, `isTransient`, `mayHaveReachedServer`, `retryAfter`), the doc of
// `isRetryableByDefault` (transient failures except 425 and `AuthenticationFailed`; a 413 only when its server named a
// wait; the server's own `x-should-retry` / `Stripe-Should-Retry` first) and of `Policy.countsAgainstUpstream` (5xx
// other than 501/505/511, `Timeout` Attempt/BodyRead, 408, `ConnectionError` Refused/Reset/ConnectTimeout/Unknown,
// `BodyTruncated`).
//
// Status failures are made as a transport makes them: a response of every status 200–599 (generated headers) through
// `Attempt.classify` over an in-memory client on the TestClock; 1xx, which a web `Response` cannot carry, are built as
// the `UnexpectedStatus` the table names. The wait of a 429 or 503 is the model's "limited" reading of its headers
// (utils/retryHeadersModel.ts: the documented order, and a reset without a remaining count counts), that of another
// 5xx `RetryHeaders.retryAfter` of the headers, and no other failure has one.
//
// Rules taken from the code: `x-should-retry` is read before `Stripe-Should-Retry`, case- and space-insensitively;
// an unreadable `x-should-retry` is no word, and a readable `Stripe-Should-Retry` then decides.
// Left out: the messages (HttpFailure.test.ts), redaction (prop-Redaction.test.ts), Policy's own 413 hint read with
// the Clock (prop-Policy.test.ts).
//
// Found and fixed (regression in RetryHeaders.test.ts, "an unreadable RateLimit-Remaining ..."): on a 429/503 a
// `RateLimit-Remaining: -1` next to a reset was read as requests left (no wait), though `parse` and the RateLimit
// field's `r=` read it as no count.
//
// Mutation checks (each made the named property fail; the source was then restored):
// - 505 transient (internal/httpFailure.ts `isTransientStatus`) → "every status 100–599 ..."
// - `ConnectTimeout` not counted against the upstream (internal/httpFailure.ts) → "every failure without a status ..."
// - a reset without `r=` no longer a wait when limited (internal/retryHeaders.ts); a 503 read as an unlimited
//   response (internal/attempt.ts); the 413-with-a-wait clause removed (internal/httpFailure.ts); the fix above
//   reverted → "retryAfter is the limited reading ..."
// - `x-should-retry` read case-sensitively (internal/httpFailure.ts) → "the server's own word ..."
// - a `Timeout` with `requestSent: false` read as possibly delivered (internal/httpFailure.ts) → "every failure
//   without a status ..."
import { HttpClientRequest } from "@effect/platform"
import * as Headers from "@effect/platform/Headers"
import { describe, expect, it } from "@effect/vitest"
import { Attempt, HttpFailure, Policy, RetryHeaders } from "@sturdy/http"
import { Duration, Effect, FastCheck as fc, Option, TestClock } from "effect"
import { fakeClient } from "./utils/fakeTransport.js"
import { applyCase, headerSetArb, modelWait, render } from "./utils/retryHeadersModel.js"

interface Row {
  readonly tag: HttpFailure.HttpFailure["_tag"]
  readonly transient: boolean
  readonly reached: boolean
  readonly retried: boolean
  readonly counts: boolean
}

/** The docs' table for a status (the 413 with a wait aside). */
const statusRow = (status: number): Row => {
  if (status === 429) return { tag: "RateLimited", transient: true, reached: true, retried: true, counts: false }
  if (status >= 500) {
    const ok = status !== 501 && status !== 505 && status !== 511
    return { tag: "ServerError", transient: ok, reached: true, retried: ok, counts: ok }
  }
  if (status >= 400) {
    return {
      tag: "ClientError",
      transient: status === 408 || status === 425,
      reached: true,
      retried: status === 408,
      counts: status === 408
    }
  }
  return { tag: "UnexpectedStatus", transient: false, reached: true, retried: false, counts: false }
}

const request = { method: "GET", url: "https://api.test/items" }
const response = { ...request, status: 200, headers: {} }

/** Every failure that carries no status of its own, with its row of the docs' table. */
const transportRows: ReadonlyArray<readonly [HttpFailure.HttpFailure, Row]> = [
  // `requestSent: false` (the transport never wrote the request, footnote ¹) changes only `mayHaveReachedServer`
  ...([undefined, false, true] as const).flatMap((requestSent) =>
    (["Refused", "DnsLookup", "ConnectTimeout", "Tls", "Reset", "Unknown"] as const).map((reason) =>
      [
        new HttpFailure.ConnectionError(
          requestSent === undefined ? { ...request, reason } : { ...request, reason, requestSent }
        ),
        {
          tag: "ConnectionError",
          transient: reason !== "Tls",
          reached: (reason === "Reset" || reason === "Unknown") && requestSent !== false,
          retried: reason !== "Tls",
          counts: reason !== "Tls" && reason !== "DnsLookup"
        }
      ] as const
    )
  ),
  ...([undefined, false, true] as const).flatMap((requestSent) =>
    (["Attempt", "BodyRead", "Deadline"] as const).map((phase) =>
      [
        new HttpFailure.Timeout(
          requestSent === undefined
            ? { ...request, phase, timeout: Duration.seconds(1) }
            : { ...request, phase, timeout: Duration.seconds(1), requestSent }
        ),
        {
          tag: "Timeout",
          transient: phase !== "Deadline",
          reached: requestSent !== false,
          retried: phase !== "Deadline",
          counts: phase !== "Deadline"
        }
      ] as const
    )
  ),
  [new HttpFailure.BodyTruncated({ ...response, receivedBytes: 1, expectedBytes: 2 }), {
    tag: "BodyTruncated",
    transient: true,
    reached: true,
    retried: true,
    counts: true
  }],
  ...[
    new HttpFailure.BodyUndecodable({ ...response, contentEncoding: "gzip" }),
    new HttpFailure.BodyTooLarge({ ...response, limitBytes: 1, declaredBytes: undefined }),
    new HttpFailure.UnexpectedContentType({ ...response, contentType: "text/html", expected: ["application/json"] }),
    new HttpFailure.InvalidJson({ ...response, detail: "x", bodyExcerpt: "{" }),
    new HttpFailure.SchemaMismatch({ ...response, path: "$", issue: "x", issues: [] }),
    ...(["TooMany", "InvalidLocation", "Downgrade"] as const).map((reason) =>
      new HttpFailure.RedirectFailed({ ...request, reason, status: 302, redirects: 5, location: "http://x.test/" })
    )
  ].map((failure) =>
    [failure, { tag: failure._tag, transient: false, reached: true, retried: false, counts: false }] as const
  ),
  ...(["MalformedUrl", "InvalidHeader", "BodyEncode", "InvalidOptions"] as const).map((reason) =>
    [new HttpFailure.InvalidRequest({ ...request, reason, detail: "x" }), {
      tag: "InvalidRequest",
      transient: false,
      reached: false,
      retried: false,
      counts: false
    }] as const
  ),
  ...(["Unavailable", "Rejected", "Malformed"] as const).map((reason) =>
    [new HttpFailure.AuthenticationFailed({ ...request, reason, detail: "x" }), {
      tag: "AuthenticationFailed",
      transient: reason === "Unavailable",
      reached: false,
      retried: false,
      counts: false
    }] as const
  )
]

const rowOf = (failure: HttpFailure.HttpFailure): Row => ({
  tag: failure._tag,
  transient: HttpFailure.isTransient(failure),
  reached: HttpFailure.mayHaveReachedServer(failure),
  retried: HttpFailure.isRetryableByDefault(failure),
  counts: Policy.countsAgainstUpstream(failure)
})

/** The failure `Attempt.classify` makes of a response with `status` and `headers`, at the TestClock's `now`. */
const failureOf = (status: number, headers: ReadonlyArray<readonly [string, string]>, now: number) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(now)
    if (status < 200) {
      return new HttpFailure.UnexpectedStatus({
        ...request,
        status,
        headers: Object.fromEntries(headers.map(([k, v]) => [k.toLowerCase(), v.trim()])),
        bodyExcerpt: "",
        payload: Option.none()
      })
    }
    const { client } = fakeClient(() =>
      Effect.succeed(new Response(null, { status, headers: headers.map(([k, v]): [string, string] => [k, v]) }))
    )
    return yield* Effect.flip(Attempt.classify(client).execute(HttpClientRequest.get(request.url)))
  })

const statusArb = fc.oneof(
  fc.integer({ min: 100, max: 599 }).filter((s) => s < 200 || s >= 300),
  fc.constantFrom(408, 413, 425, 429, 501, 503, 505, 511)
)
const nowArb = fc.integer({ min: Date.UTC(2001, 8, 10), max: Date.UTC(2100, 0, 1) })

const word = fc.oneof(
  fc.constantFrom("true", "false").chain((w) =>
    fc.tuple(fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }), fc.constantFrom("", " ", "\t")).map((
      [mask, space]
    ) => ({ text: `${space}${applyCase(w, mask)}${space}`, said: w === "true" }))
  ),
  fc.constantFrom("yes", "1", "", "truee", "no", "0").map((text) => ({ text, said: undefined }))
)

describe("the classification table", () => {
  it("every failure without a status agrees with the docs' row", () => {
    for (const [failure, row] of transportRows) {
      expect(rowOf(failure), `${failure._tag} ${JSON.stringify(failure)}`).toStrictEqual(row)
      expect(Policy.isRetryableByDefault(failure)).toBe(row.retried)
      expect(HttpFailure.retryAfter(failure)).toStrictEqual(Option.none())
    }
  })

  it.effect("every status 100–599 but 2xx, as a transport answers it, agrees with the docs' row", () =>
    Effect.gen(function*() {
      for (let status = 100; status <= 599; status++) {
        if (status >= 200 && status < 300) continue
        const failure = yield* failureOf(status, [], Date.UTC(2026, 0, 1))
        expect([status, rowOf(failure)]).toStrictEqual([status, statusRow(status)])
        expect([status, Policy.isRetryableByDefault(failure)]).toStrictEqual([status, statusRow(status).retried])
        expect([status, HttpFailure.retryAfter(failure)]).toStrictEqual([status, Option.none()])
      }
    }))
})

describe("the wait a failure carries", () => {
  it.effect.prop(
    "retryAfter is the limited reading on 429 and 503, RetryHeaders.retryAfter on other 5xx, none elsewhere; a 413 is retried exactly when it named a wait",
    [statusArb, headerSetArb, nowArb],
    ([status, set, now]) =>
      Effect.gen(function*() {
        const { headers, model } = render(set, now)
        const failure = yield* failureOf(status, headers, now)
        const limited = modelWait(model, true)
        const expected = status === 429 || status === 503
          ? Option.fromNullable(limited?.ms)
          : status >= 500
          ? Option.map(RetryHeaders.retryAfter(Headers.fromInput(headers), now), Duration.toMillis)
          : Option.none()
        const label = `${status} ${JSON.stringify(headers)}`
        expect(Option.map(HttpFailure.retryAfter(failure), Duration.toMillis), label).toStrictEqual(expected)
        const row = statusRow(status)
        expect(rowOf(failure), label).toStrictEqual({
          ...row,
          retried: row.retried || (status === 413 && limited !== undefined)
        })
        // Policy's default predicate says the same (it reads a 413's wait with the Clock only inside a call)
        expect(Policy.isRetryableByDefault(failure), label).toBe(
          row.retried || (status === 413 && limited !== undefined)
        )
      }),
    { fastCheck: { seed: 2101, numRuns: 400 } }
  )

  it.effect.prop(
    "the server's own word (x-should-retry, else Stripe-Should-Retry) decides whether a status failure is retried",
    [statusArb, fc.option(word, { nil: undefined }), fc.option(word, { nil: undefined }), fc.boolean(), nowArb],
    ([status, openai, stripe, withWait, now]) =>
      Effect.gen(function*() {
        const headers: Array<readonly [string, string]> = []
        if (openai) headers.push(["X-Should-Retry", openai.text])
        if (stripe) headers.push(["Stripe-Should-Retry", stripe.text])
        if (withWait) headers.push(["Retry-After", "5"])
        const failure = yield* failureOf(status, headers, now)
        const said = openai?.said ?? stripe?.said
        const table = statusRow(status).retried || (status === 413 && withWait)
        const label = `${status} ${JSON.stringify(headers)}`
        expect(HttpFailure.isRetryableByDefault(failure), label).toBe(said ?? table)
        expect(Policy.isRetryableByDefault(failure), label).toBe(said ?? table)
        // the word changes whether to retry, never what the failure is
        expect({ ...rowOf(failure), retried: true }, label).toStrictEqual({ ...statusRow(status), retried: true })
      }),
    { fastCheck: { seed: 2102, numRuns: 150 } }
  )
})
