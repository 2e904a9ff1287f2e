import { Headers } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Redaction } from "@sturdy/http"
import { FastCheck } from "effect"

describe("Redaction", () => {
  it("recognises secret header names, case-insensitively", () => {
    for (const name of ["Authorization", "proxy-authorization", "Cookie", "Set-Cookie", "X-Api-Key", "api_key"]) {
      expect(Redaction.isSecretHeaderName(name)).toBe(true)
    }
    for (const name of ["X-Auth-Token", "X-Session-Id", "X-Client-Secret", "X-Amz-Signature"]) {
      expect(Redaction.isSecretHeaderName(name)).toBe(true)
    }
    for (const name of ["Content-Type", "Accept", "X-Request-Id", "User-Agent", "Retry-After"]) {
      expect(Redaction.isSecretHeaderName(name)).toBe(false)
    }
  })

  it("recognises secret query parameter names", () => {
    const secret = [
      "api_key",
      "apikey",
      "access_token",
      "token",
      "key",
      "signature",
      "sig",
      "password",
      "secret",
      "client_secret",
      "X-Amz-Signature"
    ]
    for (const name of secret) expect(Redaction.isSecretParamName(name)).toBe(true)
    for (const name of ["page", "limit", "q", "sort", "monkey", "keyword"]) {
      expect(Redaction.isSecretParamName(name)).toBe(false)
    }
  })

  it("redacts header values and lower-cases names", () => {
    const headers = Headers.fromInput({ Authorization: "Bearer abc", "X-Api-Key": "k1", Accept: "application/json" })
    expect(Redaction.redactHeaders(headers)).toEqual({
      authorization: "<redacted>",
      "x-api-key": "<redacted>",
      accept: "application/json"
    })
  })

  it("redacts user info, secret query and fragment parameters, keeping the rest", () => {
    expect(Redaction.redactUrl("https://ada:pw@api.example.com/v1/items?api_key=abc&page=2#access_token=xyz"))
      .toBe("https://<redacted>@api.example.com/v1/items?api_key=<redacted>&page=2#access_token=<redacted>")
    expect(Redaction.redactUrl("https://api.example.com/v1#section")).toBe("https://api.example.com/v1#section")
    expect(Redaction.redactUrlWithParams("https://api.example.com/v1", [["token", "t"], ["q", "x y"]]))
      .toBe("https://api.example.com/v1?token=<redacted>&q=x%20y")
  })

  it("redacts URLs that do not parse", () => {
    const redacted = Redaction.redactUrl("http://ada:pw@exa mple/?sig=s1&page=2\r\nx")
    expect(redacted).not.toContain("pw")
    expect(redacted).not.toContain("s1")
    expect(redacted).toContain("page=2")
    expect(redacted).not.toMatch(/[\r\n]/)
  })

  it("redacts secret pairs, bearer credentials and URLs in free text", () => {
    const text = `{"access_token": "a1", "user":"ada"} password=p1 Bearer b1.b2 see https://x.test/?token=t1`
    const redacted = Redaction.redactText(text)
    for (const secret of ["a1", "p1", "b1.b2", "t1"]) expect(redacted).not.toContain(secret)
    expect(redacted).toContain(`"user":"ada"`)
  })

  it("never lets a secret query value through, whatever it is", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.constantFrom("api_key", "access_token", "token", "sig", "password", "client_secret"),
        FastCheck.string({ minLength: 6, maxLength: 30 }).filter((s) => !"<redacted>".includes(s)),
        (name, value) => {
          const url = `https://api.example.com/v1?${name}=${encodeURIComponent(value)}&page=2`
          const redacted = Redaction.redactUrl(url)
          return !redacted.includes(encodeURIComponent(value)) && redacted.includes("page=2")
        }
      ),
      { seed: 42, numRuns: 300 }
    )
  })
})
