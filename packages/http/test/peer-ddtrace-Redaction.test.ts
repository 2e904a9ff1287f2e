/**
 * Query-string obfuscation and secret redaction cases of Datadog's dd-trace-js, ported to `Redaction` (pure: no
 * transport). One `it` per peer case, named after it.
 *
 * Source: DataDog/dd-trace-js (commit 5735ffe7643cd9a984a8d21bde2131cc2fbe3a50):
 * - `packages/dd-trace/test/plugins/util/url.spec.js`, `describe('obfuscateQs')` (4 cases) and
 *   `describe('buildClientHttpUrl')` (the client span's `http.url`, 2 of 4 cases);
 * - `packages/datadog-plugin-http2/test/server.spec.js`, "should obfuscate matching query string parameters";
 * - `packages/dd-trace/test/ci-visibility/redaction.spec.js` (secret redaction in free text, 9 of 14 cases);
 * - the default `DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP` in `packages/dd-trace/src/config/supported-configurations.json`.
 *   dd-trace-js has no test of the default regex (its tests use custom ones), so the `describe` on it is derived
 *   from the regex's own alternatives, one `it` per alternative, and says so: these are not peer test cases.
 *
 * Mapping: the peer's `obfuscateQs(config, url)` and the client span's `http.url` are `Redaction.redactUrl` and
 * `Telemetry.target(request).url` (Sturdy's `url.full`); `sanitizeString` is `Redaction.redactText`; a custom
 * `queryStringObfuscation` regex is `Redaction.withSecretNames` (names, not `key=value` text).
 *
 * Deliberate differences (documented in `Redaction`; each test says which):
 * - The peer runs one regex over the raw query text and replaces the whole match (`secret=x&` becomes `<redacted>`,
 *   name included); Sturdy decides by parameter name and replaces the value only (`secret=<redacted>&`).
 * - The peer also hides secret-looking values under any name (`bearer ...`, `gh[opsu]_...`, JWTs, PEM private keys,
 *   `ssh-rsa` keys, a JSON `"password":"..."` pair inside a parameter). Sturdy's URL rule is by name only, plus the
 *   values the client holds (`registerSecretValues`, `Auth`); in free text it redacts `Bearer ...` credentials.
 * - Names in the peer's default and not in Sturdy's documented rule are kept: `pass_phrase`, `accesskey`,
 *   `publickey`, `access_key_id`, `consumer_id`, `sign`, `signed`. Users add them with `withSecretNames`.
 * - There is no switch that turns redaction off (`false`) or drops the whole query (`true`): `withSecretNames` adds
 *   names to the built-in rule, and `[/.*\/]` hides every value.
 * - `sanitizeString` keeps a secret-named field whose value is a boolean and a `${{ secrets.X }}` reference; Sturdy
 *   redacts every value under a secret name.
 *
 * Not ported: `getQsObfuscator` (4 cases: parsing the regex string from configuration; Sturdy takes names and
 * `RegExp`s in code); `buildClientHttpUrl` "drops the query when ... true" and "keeps the raw query when ...
 * disabled" (the two switches above); `sanitizeForReport`'s argv, nesting and report-shape cases (no counterpart:
 * Sturdy redacts text and URLs, not report objects), the default-ignorable-Unicode and terminal-control cases (see
 * the report: not in Sturdy's documented rule).
 */
import { HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Redaction, Telemetry } from "@sturdy/http"
import { Effect } from "effect"

/** the URL as both places render it: `Redaction.redactUrl` and the `url.full` of `Telemetry.target` */
const redacted = (url: string) => {
  const direct = Redaction.redactUrl(url)
  expect(Telemetry.target({ method: "GET", url }).url).toBe(direct)
  return direct
}

describe("dd-trace-js: url.spec.js obfuscateQs", () => {
  const urlPath = "http://perdu.com/path/"
  const qs = "?data=secret"

  it("should not obfuscate when passed false", () => {
    // the peer's `false` turns obfuscation off; Sturdy has no such switch, and `data` is no secret name, so the URL
    // comes back as written all the same
    expect(redacted(urlPath + qs)).toBe(urlPath + qs)
  })

  it("should not obfuscate when no querystring is found", () => {
    expect(redacted(urlPath)).toBe(urlPath)
  })

  it.effect("should remove the querystring if passed true", () =>
    Effect.gen(function*() {
      // the peer's `true` drops the query; Sturdy keeps its shape and hides every value when every name is secret
      const url = yield* Effect.sync(() => redacted(urlPath + qs + "&page=2")).pipe(Redaction.withSecretNames([/.*/]))
      expect(url).toBe(`${urlPath}?data=<redacted>&page=<redacted>`)
    }))

  it.effect("should obfuscate only the querystring part of the url", () =>
    Effect.gen(function*() {
      // the peer's `/secret/gi` matches the value; Sturdy matches names: `data` declared secret
      const url = yield* Effect.sync(() => redacted(urlPath + "secret/" + qs)).pipe(Redaction.withSecretNames(["data"]))
      expect(url).toBe(urlPath + "secret/?data=<redacted>")
    }))
})

describe("dd-trace-js: url.spec.js buildClientHttpUrl", () => {
  it("returns the stripped url when there is no query", () => {
    const request = HttpClientRequest.get("http://perdu.com/path")
    expect(Telemetry.target(request).url).toBe("http://perdu.com/path")
  })

  it.effect("includes the query with sensitive values obfuscated", () =>
    Effect.gen(function*() {
      // the peer's custom regex `secret` hides `data=secret`; in Sturdy `data` must be declared a secret name
      const request = HttpClientRequest.get("http://perdu.com/path?data=secret")
      const url = yield* Effect.sync(() => Telemetry.target(request).url).pipe(Redaction.withSecretNames(["data"]))
      expect(url).toBe("http://perdu.com/path?data=<redacted>")
      // without it, the value stays: Sturdy does not match values
      expect(Telemetry.target(request).url).toBe("http://perdu.com/path?data=secret")
    }))
})

describe("dd-trace-js: datadog-plugin-http2 server.spec.js queryStringObfuscation", () => {
  it("should obfuscate matching query string parameters", () => {
    // the peer (regex `secret=.*?(&|$)`) replaces the whole pair and its `&`: `/user?<redacted>foo=bar`; `secret` is a
    // built-in secret name in Sturdy, whose value alone is replaced
    expect(redacted("http://localhost:8080/user?secret=password&foo=bar")).toBe(
      "http://localhost:8080/user?secret=<redacted>&foo=bar"
    )
  })
})

describe("dd-trace-js: default DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP (derived from the regex, not peer tests)", () => {
  const hidden = (url: string, names: ReadonlyArray<string>) => {
    const out = redacted(url)
    for (const name of names) expect(out).toContain(`${name}=<redacted>`)
    return out
  }

  it("p(?:ass)?w(?:or)?d|pass(?:_?phrase)?: the password family", () => {
    const out = hidden("http://h.test/x?pwd=v1&password=v2&passwd=v3&pass=v4&passphrase=v5&pass_phrase=v6", [
      "pwd",
      "password",
      "passwd",
      "pass",
      "passphrase"
    ])
    // `pass_phrase` is not in Sturdy's documented names (`passphrase`, `pass`, `pwd` are): kept
    expect(out).toContain("pass_phrase=v6")
  })

  it("secret|(?:api_?|private_?|public_?|access_?|secret_?)key(?:_?id)?: secrets and keys", () => {
    const out = hidden(
      "http://h.test/x?secret=v1&api_key=v2&apikey=v3&private_key=v4&privatekey=v5&public_key=v6&access_key=v7" +
        "&secret_key=v8&api_key_id=v9&secret_key_id=v10&accessKey=v11&accesskey=v12&publickey=v13&access_key_id=v14",
      [
        "secret",
        "api_key",
        "apikey",
        "private_key",
        "privatekey",
        "public_key",
        "access_key",
        "secret_key",
        "api_key_id",
        "secret_key_id",
        "accessKey"
      ]
    )
    // a key name run together in lower case, or with `_id` after `key`, is not in Sturdy's documented rule (a name
    // ending in `key` after a separator or in camel case): kept
    expect(out).toContain("accesskey=v12&publickey=v13&access_key_id=v14")
  })

  it("token|consumer_?(?:id|key|secret): tokens and OAuth 1 consumer credentials", () => {
    const out = hidden("http://h.test/x?token=v1&x_token=v2&consumer_key=v3&consumerSecret=v4&consumer_id=v5", [
      "token",
      "x_token",
      "consumer_key",
      "consumerSecret"
    ])
    // a consumer id identifies, it is not a credential in Sturdy's rule: kept
    expect(out).toContain("consumer_id=v5")
  })

  it("sign(?:ed|ature)?: signatures", () => {
    const out = hidden("http://h.test/x?signature=v1&X-Amz-Signature=v2&sig=v3&sign=v4&signed=v5", [
      "signature",
      "X-Amz-Signature",
      "sig"
    ])
    // Sturdy names `sig` and anything containing `signature`; `sign` and `signed` are kept
    expect(out).toContain("sign=v4&signed=v5")
  })

  it("auth(?:entication|orization)?: auth", () => {
    hidden("http://h.test/x?auth=v1&authentication=v2&authorization=v3&x-auth=v4", [
      "auth",
      "authentication",
      "authorization",
      "x-auth"
    ])
  })

  it("(?:\\s|%20)*(?:=|%3D): a key followed by blanks before `=`, and an encoded key", () => {
    const out = redacted("http://h.test/x?password%20=v1&%70assword=v2&page=2")
    expect(out).toBe("http://h.test/x?password%20=<redacted>&password=<redacted>&page=2")
  })

  it("(?:\"|%22)(?:\\s|%20)*(?::|%3A): a JSON pair inside a parameter's value", () => {
    // the peer hides `"password":"x"` inside any parameter; Sturdy's URL rule is by parameter name: kept in the URL
    const url = "http://h.test/x?json=%7B%22password%22%3A%22hunter2%22%7D"
    expect(redacted(url)).toBe(url)
    // the same JSON in free text (an error body) is redacted
    expect(Redaction.redactText(`{"password": "hunter2"}`)).toBe(`{"password":"<redacted>"}`)
  })

  it("bearer(?:\\s|%20)+[a-z0-9\\._\\-]+: a bearer credential under any name", () => {
    // kept in a URL under a name that is not secret (Sturdy does not match values there)...
    const url = "http://h.test/x?q=Bearer%20abc.def-123"
    expect(redacted(url)).toBe(url)
    // ...but under a secret name, and in free text, it is redacted
    expect(redacted("http://h.test/x?authorization=Bearer%20abc.def-123")).toBe(
      "http://h.test/x?authorization=<redacted>"
    )
    expect(Redaction.redactText("sent Bearer abc.def-123")).toBe("sent Bearer <redacted>")
  })

  it.effect("gh[opsu]_..., JWTs, PEM private keys, ssh-rsa keys: secret-looking values under any name", () =>
    Effect.gen(function*() {
      const github = `ghp_${"a1".repeat(18)}`
      const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
      const url = `http://h.test/x?a=${github}&b=${jwt}`
      // Sturdy does not guess secrets from their shape: kept under names that are not secret...
      expect(redacted(url)).toBe(url)
      // ...redacted under a secret name (`jwt` is one)...
      expect(redacted(`http://h.test/x?jwt=${jwt}`)).toBe("http://h.test/x?jwt=<redacted>")
      // ...and wherever it appears once the process registers it (as `Auth` does with the credentials it attaches)
      yield* Redaction.registerSecretValues(github)
      expect(redacted(url)).toBe(`http://h.test/x?a=<redacted>&b=${jwt}`)
    }))
})

describe("dd-trace-js: ci-visibility/redaction.spec.js (sanitizeString)", () => {
  it("preserves boolean configuration evidence under secret-like field names", () => {
    // the peer keeps `true` under `apiKeyConfigured`; Sturdy redacts every value under a secret name
    expect(Redaction.redactText(`{"apiKeyConfigured": true, "apiKeyValue": "actual-value"}`)).toBe(
      `{"apiKeyConfigured":"<redacted>", "apiKeyValue":"<redacted>"}`
    )
  })

  it("redacts exact inline secret assignments", () => {
    const pairs = [
      ["API_KEY", "api-key-secret"],
      ["APP_KEY", "app-key-secret"],
      ["TOKEN", "token-secret"],
      ["SECRET", "secret-secret"],
      ["PASSWORD", "password-secret"],
      ["PASSPHRASE", "passphrase-secret"],
      ["CREDENTIAL", "credential-secret"],
      ["PRIVATE_KEY", "private-key-secret"],
      ["CLIENT_SECRET", "client-secret-secret"],
      ["ACCESS_KEY", "access-key-secret"],
      ["COOKIE", "cookie-secret"],
      ["AUTH", "auth-secret"],
      ["AUTHORIZATION", "authorization-secret"],
      ["PASS", "pass-secret"]
    ] as const
    const output = Redaction.redactText(pairs.map(([name, value]) => `${name}=${value}`).join(" "))
    for (const [name, value] of pairs) {
      expect(output).toContain(`${name}=<redacted>`)
      expect(output).not.toContain(value)
    }
  })

  it("preserves name-only GitHub Actions secret references while redacting actual values", () => {
    // the peer keeps `${{ secrets.DD_API_KEY }}` (a reference, not a value); Sturdy redacts the line all the same
    expect(Redaction.redactText("DD_API_KEY: ${{ secrets.DD_API_KEY }}")).toBe("DD_API_KEY: <redacted>")
    expect(Redaction.redactText("DD_API_KEY=actual-value")).toBe("DD_API_KEY=<redacted>")
  })

  it("redacts colon-form secret environment output", () => {
    const output = Redaction.redactText(
      [
        "DD_API_KEY: dd-api-key-colon-secret",
        "API_KEY: api-key-colon-secret",
        "PASSWORD: password-colon-secret",
        "authorization: Bearer authorization-colon-secret"
      ].join("\n")
    )
    expect(output).toBe(
      ["DD_API_KEY: <redacted>", "API_KEY: <redacted>", "PASSWORD: <redacted>", "authorization: <redacted>"].join("\n")
    )
  })

  it("does not treat natural-language pass labels as secret headers", () => {
    const input = "Skipped because basic reporting did not pass: The selected command ran tests."
    expect(Redaction.redactText(input)).toBe(input)
  })

  it("preserves JSON structure when redacting bearer values", () => {
    // the peer keeps the scheme (`"Bearer <redacted>"`); Sturdy replaces the whole value of a secret field
    expect(Redaction.redactText(`{"Authorization": "Bearer secret-token"}`)).toBe(`{"Authorization":"<redacted>"}`)
  })

  it("redacts common unlabeled token and private-key forms", () => {
    // the peer finds `ghp_...`, JWTs and PEM blocks by their shape; Sturdy does not guess secrets from their shape
    // (a documented choice: names, `Bearer ...`, URLs and registered values), so unlabeled ones are kept...
    const githubToken = `ghp_${"a".repeat(24)}`
    const jwt = `eyJ${"a".repeat(12)}.${"b".repeat(16)}.${"c".repeat(16)}`
    const text = `${githubToken}\n${jwt}`
    expect(Redaction.redactText(text)).toBe(text)
    // ...and labeled ones are not
    expect(Redaction.redactText(`token=${githubToken} jwt=${jwt}`)).toBe("token=<redacted> jwt=<redacted>")
  })

  it("redacts PAT and JWT aliases and all URL userinfo", () => {
    const output = Redaction.redactText(
      `{"GITHUB_PAT": "github-pat-secret", "CI_JOB_JWT": "job-jwt-secret", ` +
        `"remote": "https://username-only-secret@example.com/repository.git"}`
    )
    expect(output).toContain(`"CI_JOB_JWT":"<redacted>"`)
    // user info is dropped, not replaced (the peer: `https://<redacted>@example.com/...`)
    expect(output).toContain(`"remote": "https://example.com/repository.git"`)
    expect(output).not.toContain("username-only-secret")
    // `PAT` is not in Sturdy's documented names: kept (the peer hides it)
    expect(output).toContain(`"GITHUB_PAT": "github-pat-secret"`)
  })

  it("redacts secret names split by default-ignorable Unicode characters (the plain-name part)", () => {
    // the peer's input starts with `AUTHORIZATION=Bearer top-secret-value npm test`, expected
    // `AUTHORIZATION=<redacted> npm test`: Sturdy left `top-secret-value` behind (fixed, see Redaction.test.ts). The
    // names split by U+FE0F or ESC are not secret names to Sturdy and are kept (not in its documented rule)
    const output = Redaction.redactText("AUTHORIZATION=Bearer top-secret-value npm test\nAPI_KEY\uFE0F=second-secret")
    expect(output).toBe("AUTHORIZATION=<redacted> npm test\nAPI_KEY\uFE0F=second-secret")
  })
})
