/**
 * `url.full` redaction cases of OpenTelemetry JS, ported to `Redaction.redactUrl` and to the `url.full` that
 * `Telemetry.target` hands every span (pure: no transport). One `it` per peer case, named after it.
 *
 * Source: open-telemetry/opentelemetry-js (commit 61126358cb5cf06a2004151cbad18e79cbede00a),
 * `experimental/packages/opentelemetry-instrumentation-http/test/functionals/http-enable.test.ts`
 * (`describe('URL Redaction')`, 12 cases) and `.../test/functionals/utils.test.ts` (`getAbsoluteUrl()`, the 4
 * redaction cases). Semantic conventions 1.27+: user info becomes `REDACTED:REDACTED`, and the values of the query
 * parameters `AWSAccessKeyId`, `Signature`, `sig`, `X-Goog-Signature` become `REDACTED`.
 *
 * Mapping: the peer's `url.full` on the outgoing span is `Telemetry.target(request).url` (what `Telemetry` and
 * `Policy` write as `url.full`) and `Redaction.redactUrl`; `redactedQueryParams` is `Redaction.withSecretNames`.
 *
 * Deliberate differences (documented in `Redaction`; each test says which):
 * - The placeholder is `<redacted>` (`Redaction.placeholder`), not `REDACTED`.
 * - User info is dropped, not replaced by `REDACTED:REDACTED` (so not even its presence is told).
 * - Sturdy's built-in secret parameter names are a superset of the convention's four (`api_key`, `token`, anything
 *   naming a signature, ...), matched case-insensitively; `withSecretNames` adds names to them and cannot remove
 *   the built-in ones, where the peer's `redactedQueryParams` replaces its defaults (`[]` turns redaction off).
 * - An empty value is replaced too (`sig=` becomes `sig=<redacted>`): the peer leaves `sig=` as written. Nothing
 *   secret is shown either way; Sturdy marks where the parameter was.
 *
 * Not ported: the other `getAbsoluteUrl()` cases (building a URL from node `http.request` options, which Sturdy
 * never takes).
 */
import { HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Redaction, Telemetry } from "@sturdy/http"
import { Effect } from "effect"

const origin = "http://localhost:12345"
const pathname = "/test"

/** the URL as both places render it: `Redaction.redactUrl` and the `url.full` of `Telemetry.target` */
const redacted = (url: string) => {
  const direct = Redaction.redactUrl(url)
  expect(Telemetry.target({ method: "GET", url }).url).toBe(direct)
  return direct
}

describe("opentelemetry-instrumentation-http: URL Redaction", () => {
  it("should redact authentication credentials from URLs", () => {
    // the peer: `http://REDACTED:REDACTED@localhost:...`; Sturdy drops the user info
    expect(redacted(`http://user:password@localhost:12345${pathname}`)).toBe(`${origin}${pathname}`)
  })

  it("should redact default query strings", () => {
    expect(redacted(`${origin}${pathname}?X-Goog-Signature=xyz789&normal=value`)).toBe(
      `${origin}${pathname}?X-Goog-Signature=<redacted>&normal=value`
    )
  })

  it("should handle both auth credentials and sensitive default query parameters", () => {
    expect(redacted(`http://username:password@localhost:12345${pathname}?AWSAccessKeyId=secret`)).toBe(
      `${origin}${pathname}?AWSAccessKeyId=<redacted>`
    )
  })

  it("should handle URLs with special characters in auth and query", () => {
    const url = redacted(`http://user%40domain:p%40ssword@localhost:12345${pathname}?sig=abc%3Ddef`)
    expect(url).toBe(`${origin}${pathname}?sig=<redacted>`)
    expect(url).not.toContain("abc")
    expect(url).not.toContain("ssword")
  })

  it("should handle malformed query strings", () => {
    expect(redacted(`${origin}${pathname}?X-Goog-Signature=value&=nokey&malformed=`)).toBe(
      `${origin}${pathname}?X-Goog-Signature=<redacted>&=nokey&malformed=`
    )
  })

  it("should not modify URLs without auth or sensitive query parameters", () => {
    expect(redacted(`${origin}${pathname}?param=value&another=123`)).toBe(
      `${origin}${pathname}?param=value&another=123`
    )
  })

  it("should not modify URLs with no query string", () => {
    expect(redacted(`${origin}${pathname}`)).toBe(`${origin}${pathname}`)
  })

  it("should not modify URLs with empty query parameters", () => {
    // the peer keeps `sig=` as written; Sturdy replaces the (empty) value of a secret parameter all the same
    expect(redacted(`${origin}${pathname}?sig=&empty=`)).toBe(`${origin}${pathname}?sig=<redacted>&empty=`)
  })

  it("should preserve non-sensitive query parameters when sensitive ones are redacted", () => {
    expect(redacted(`${origin}${pathname}?normal=value&Signature=secret&other=data`)).toBe(
      `${origin}${pathname}?normal=value&Signature=<redacted>&other=data`
    )
  })

  it.effect("should redact only custom query parameters when user provides a populated config", () =>
    Effect.gen(function*() {
      // the peer's custom list replaces its defaults (so `sig` is kept); Sturdy's names add to the built-in rule
      const url = yield* Effect.sync(() =>
        redacted(`${origin}${pathname}?sig=abc123&authorize=xyz789&session_id=s-1&normal=value`)
      ).pipe(Redaction.withSecretNames(["authorize", "session_id"]))
      expect(url).toBe(`${origin}${pathname}?sig=<redacted>&authorize=<redacted>&session_id=<redacted>&normal=value`)
    }))

  it.effect("should not redact query strings when redactedQueryParams is empty", () =>
    Effect.gen(function*() {
      // the peer turns redaction off with `[]`; Sturdy has no such switch: an empty list keeps the built-in rule
      const url = yield* Effect.sync(() =>
        redacted(`${origin}${pathname}?X-Goog-Signature=secret&api_key=12345&normal=value`)
      ).pipe(Redaction.withSecretNames([]))
      expect(url).toBe(`${origin}${pathname}?X-Goog-Signature=<redacted>&api_key=<redacted>&normal=value`)
    }))

  it.effect("should handle case-sensitive query parameter names correctly", () =>
    Effect.gen(function*() {
      // the peer matches `TOKEN` case-sensitively and keeps `token=` and `sig=`; in Sturdy `token` and `sig` are
      // built-in secret names, and a string name matches whatever its case
      const url = yield* Effect.sync(() => redacted(`${origin}${pathname}?token=lowercase&TOKEN=uppercase&sig=secret`))
        .pipe(Redaction.withSecretNames(["TOKEN"]))
      expect(url).toBe(`${origin}${pathname}?token=<redacted>&TOKEN=<redacted>&sig=<redacted>`)
      // a custom name that is not built in matches whatever its case too
      const custom = yield* Effect.sync(() => redacted(`${origin}${pathname}?tenant=a&TENANT=b&other=c`))
        .pipe(Redaction.withSecretNames(["TENANT"]))
      expect(custom).toBe(`${origin}${pathname}?tenant=<redacted>&TENANT=<redacted>&other=c`)
    }))

  it.effect(
    "should handle very complex URLs with multiple redaction points and if custom query strings are provided only redact those",
    () =>
      Effect.gen(function*() {
        const complexUrl = `http://user:pass@localhost:12345${pathname}?` +
          "sig=abc123&api_key=secret&normal=value&Signature=xyz&" +
          "token=sensitive&X-Goog-Signature=gcp&AWSAccessKeyId=aws"
        const url = yield* Effect.sync(() => redacted(complexUrl)).pipe(Redaction.withSecretNames(["api_key", "token"]))
        // the peer keeps the four default names once a custom list is given; Sturdy adds to its rule
        expect(url).toBe(
          `${origin}${pathname}?sig=<redacted>&api_key=<redacted>&normal=value&Signature=<redacted>&` +
            "token=<redacted>&X-Goog-Signature=<redacted>&AWSAccessKeyId=<redacted>"
        )
      })
  )
})

describe("opentelemetry-instrumentation-http: getAbsoluteUrl()", () => {
  it("should return auth credentials as REDACTED to avoid leaking sensitive information", () => {
    expect(redacted("http://user:password@localhost:8080/helloworld")).toBe("http://localhost:8080/helloworld")
  })

  it("should return auth credentials and particular query strings as REDACTED", () => {
    expect(redacted("http://user:pass@localhost:8080/registers?X-Goog-Signature=secret123")).toBe(
      "http://localhost:8080/registers?X-Goog-Signature=<redacted>"
    )
  })

  it("should return particular query strings as REDACTED", () => {
    expect(redacted("http://localhost:8080/registers?AWSAccessKeyId=secret123")).toBe(
      "http://localhost:8080/registers?AWSAccessKeyId=<redacted>"
    )
  })

  it("does not perform redaction if the provided path cannot be parsed", () => {
    // the peer hands an unparsable URL back as written, secret included; Sturdy redacts unparsable URLs too
    const url = Redaction.redactUrl("http://localhosthttp://?AWSAccessKeyId=secret123")
    expect(url).not.toContain("secret123")
    expect(url).toContain("AWSAccessKeyId=<redacted>")
    // nor a password that makes the URL unparsable (a raw `/`, as base64 has), user info included
    const withPassword = Redaction.redactUrl(
      "http://user:abc/def+g==@localhost:8080/registers?AWSAccessKeyId=secret123"
    )
    expect(withPassword).toBe("http://<redacted>@localhost:8080/registers?AWSAccessKeyId=<redacted>")
    const request = HttpClientRequest.get("http://localhost:8080/registers?AWSAccessKeyId=secret123")
    expect(Telemetry.target(request).url).toBe("http://localhost:8080/registers?AWSAccessKeyId=<redacted>")
  })
})
