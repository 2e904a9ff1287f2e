/**
 * HAR sanitizers' default scrub lists and scrub patterns, ported to `Redaction` and to the failures that use it. One
 * `it` per peer case, named after it.
 *
 * Sources:
 * - cloudflare/har-sanitizer (commit 2e889e51500c57303b94dce8c055239f9febd598), `src/lib/har_sanitize.tsx`. The
 *   repository has no test files: the cases are its defaults, `defaultWordList` (27 words), `defaultRegex` (a JWT's
 *   signature), the three patterns of `buildRegex(word)` (`word=value` after one of `\s";,&?`; a HAR record with
 *   `"name": "word"` before its `"value"`; and after it) and the `allCookies` / `allHeaders` / `allQueryArgs` options.
 *   The concrete inputs are ours, written in the shapes those patterns match.
 * - google/har-sanitizer (commit cc4599dd749ce983634669c458b8cb2a65686b33): `harsanitizer/static/wordlist.json` (24
 *   words, all in Cloudflare's list), `gen_regex`'s `word_patterns` (the same three patterns, matched with `re.I`), and
 *   `tests/python-tests/harsanitizer_test.py`: `test_HarSanitizer_load_wordlist`.
 *
 * Mapping: scrubbing a HAR's text is `Redaction.redactText` (what a failure's `bodyExcerpt` goes through when a server
 * echoes a request back, as a debugging proxy or an echo endpoint does); a HAR's header and query entries are
 * `Redaction.isSecretHeaderName` / `isSecretParamName` and `Redaction.redactHeaders`; a custom word list is
 * `Redaction.withSecretNames`; `allHeaders` / `allQueryArgs` are `withSecretNames([/.../])`. The echo case also runs
 * through `Attempt.send` on an in-memory transport.
 *
 * Deliberate differences (documented in `Redaction`; each test says which):
 * - The placeholder is `<redacted>`, not `[word redacted]`.
 * - Words of the peers' lists that are not in Sturdy's documented rule are kept: `SAMLRequest`, `SAMLResponse`,
 *   `appID`, `challenge`, `client_id`, `code_challenge`, `email`, `facetID`, `fcParams`, `serverData`, `shdf`,
 *   `state`, `usg`, `vses2`, `x-client-data`; `assertion`, `code` and `code_verifier` are secret as parameters, not as
 *   header names. Users add them with `withSecretNames` (Sturdy's own example adds `state`).
 * - The peers find a HAR record's value by the `"name"` next to it (`{"name": "token", "value": "..."}`), written
 *   name first or value first with `": "` between; Sturdy reads name-value records too (any member order and JSON
 *   spacing, Postman's `"key"` as well) and judges the name by its header and parameter rule; it replaces the whole
 *   value (`"<redacted>"`, not `"Bearer <redacted>"`). (Until the records rule, a record's value was kept unless
 *   another rule found it: these cases asserted that leak and now assert the records rule.)
 * - A record in a HAR `"cookies"` array is secret whatever its name: Sturdy's default is the peers' `allCookies` /
 *   `all_cookies` option (off by default there), as it hides a `Cookie` header whole.
 * - Cloudflare cuts a JWT's signature anywhere; Sturdy does not guess a secret from its shape (see
 *   `peer-ddtrace-Redaction.test.ts`).
 * - Both peers replace the bodies of scripts (and Google's of HTML, CSS, XML) by content type; Sturdy keeps a failure's
 *   body excerpt, bounded and redacted by the rules above, whatever its type.
 *
 * Not ported: the peers' user-info pattern (Google's `single_use`: covered by `peer-otel-semconv-Redaction.test.ts` and
 * `peer-sentry-Redaction.test.ts`); `getHarInfo` / `get_hartype_names`, `test_POST_lists`, `test_GET_lists` (listing a
 * HAR's names, and the Flask API); `test_Har_init_*` (parsing a HAR document: Sturdy has none); `trim_wordlist` and
 * `test_HarSanitizer_trim_wordlist` (an optimisation of a word-list scan; Sturdy's rule is not a list scan);
 * `test_HarSanitizer_load_wordlist_failure` (a list with a non-string: rejected by `withSecretNames`' type; see the
 * report); `allMimeTypes` / `all_content_mimetypes` (no counterpart, see above).
 */
import { HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Attempt, Redaction } from "@sturdy/http"
import { Effect } from "effect"
import { fakeClient } from "./utils/fakeTransport.js"

/** `defaultWordList` of cloudflare/har-sanitizer's `src/lib/har_sanitize.tsx`, in its order. */
const cloudflareWords = [
  "Authorization",
  "SAMLRequest",
  "SAMLResponse",
  "access_token",
  "appID",
  "assertion",
  "auth",
  "authenticity_token",
  "challenge",
  "client_id",
  "client_secret",
  "code",
  "code_challenge",
  "code_verifier",
  "email",
  "facetID",
  "fcParams",
  "id_token",
  "password",
  "refresh_token",
  "serverData",
  "shdf",
  "state",
  "token",
  "usg",
  "vses2",
  "x-client-data"
]

/** google/har-sanitizer's `harsanitizer/static/wordlist.json`, in its order. */
const googleWords = [
  "state",
  "shdf",
  "usg",
  "password",
  "email",
  "code",
  "code_verifier",
  "client_secret",
  "client_id",
  "token",
  "access_token",
  "authenticity_token",
  "id_token",
  "appID",
  "challenge",
  "facetID",
  "assertion",
  "fcParams",
  "serverData",
  "Authorization",
  "auth",
  "x-client-data",
  "SAMLRequest",
  "SAMLResponse"
]

/** Sturdy's documented rule: secret as header names and as parameter names */
const secretEverywhere = [
  "Authorization",
  "access_token",
  "auth",
  "authenticity_token",
  "client_secret",
  "id_token",
  "password",
  "refresh_token",
  "token"
]
/** secret as parameter names only (Sturdy's query list: `code`, `code_verifier`, `assertion`) */
const secretAsParam = ["assertion", "code", "code_verifier"]

/** The status Sturdy gives each word, as header name and as parameter name, and in text as `word=value`. */
const checkWordList = (words: ReadonlyArray<string>) => {
  for (const word of words) {
    const everywhere = secretEverywhere.includes(word)
    const asParam = everywhere || secretAsParam.includes(word)
    expect([word, Redaction.isSecretHeaderName(word)]).toEqual([word, everywhere])
    expect([word, Redaction.isSecretParamName(word)]).toEqual([word, asParam])
    expect(Redaction.redactText(`a=1&${word}=v4lue-123&b=2`)).toBe(
      asParam ? `a=1&${word}=<redacted>&b=2` : `a=1&${word}=v4lue-123&b=2`
    )
  }
}

describe("cloudflare/har-sanitizer: src/lib/har_sanitize.tsx defaults", () => {
  it.effect("defaultWordList", () =>
    Effect.gen(function*() {
      expect(cloudflareWords).toHaveLength(27)
      checkWordList(cloudflareWords)
      // the words Sturdy keeps (the peer hides them all) are one `withSecretNames` away, as headers and parameters
      const kept = cloudflareWords.filter((word) => !secretEverywhere.includes(word))
      yield* Effect.sync(() => {
        for (const word of kept) {
          expect([word, Redaction.isSecretHeaderName(word)]).toEqual([word, true])
          expect(Redaction.redactText(`a=1&${word}=v4lue-123`)).toBe(`a=1&${word}=<redacted>`)
        }
      }).pipe(Redaction.withSecretNames(kept))
    }))

  it("defaultRegex: a JWT's signature", () => {
    const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlLXBhcnQ"
    // the peer writes `eyJ...eyJ....redacted` anywhere; Sturdy does not guess a secret from its shape: a JWT in a
    // record whose name is not secret is kept...
    const record = `{"name": "x-debug", "value": "${jwt}"}`
    expect(Redaction.redactText(record)).toBe(record)
    // ...and hidden whole (not only its signature) where a rule finds it: a secret record name, a secret key
    expect(Redaction.redactText(`{"name": "Authorization", "value": "Bearer ${jwt}"}`)).toBe(
      `{"name": "Authorization", "value": "<redacted>"}`
    )
    expect(Redaction.redactText(`sent Bearer ${jwt}`)).toBe(`sent Bearer <redacted>`)
    expect(Redaction.redactText(`{"id_token": "${jwt}"}`)).toBe(`{"id_token":"<redacted>"}`)
  })

  it("buildRegex: [\\s\";,&?]+word=value, up to & \\\", \", \"\\s \"}} or ;", () => {
    // the peer's pattern starts a pair after a blank, a quote, `;`, `,`, `&` or `?`; so does Sturdy's (after any
    // character that cannot be part of a name). A quote starts a HAR's `postData.text` or `queryString` value.
    for (const before of [" ", "\"", ";", ",", "&", "?"]) {
      expect(Redaction.redactText(`x${before}password=hunter2;`)).toBe(`x${before}password=<redacted>;`)
    }
    const postData = `"postData": {"mimeType": "application/x-www-form-urlencoded", ` +
      `"text": "client_secret=cs-0123456789&grant_type=client_credentials"}`
    expect(Redaction.redactText(postData)).toBe(
      `"postData": {"mimeType": "application/x-www-form-urlencoded", ` +
        `"text": "client_secret=<redacted>&grant_type=client_credentials"}`
    )
    // each of the peer's ends closes the value; the next pair is judged on its own
    expect(Redaction.redactText(`"token=t0k3n-1", "token=t0k3n-2" token=t0k3n-3&page=2`)).toBe(
      `"token=<redacted>", "token=<redacted>" token=<redacted>&page=2`
    )
  })

  it("buildRegex: \"name\": \"word\", ... \"value\": \"capture\" (a HAR record, name first)", () => {
    // the peer finds the value by the record's name; so does Sturdy, by its header and parameter rule, and replaces
    // the whole value (see the header)
    expect(Redaction.redactText(`{"name": "x-csrf-token", "value": "csrf-0123456789"}`)).toBe(
      `{"name": "x-csrf-token", "value": "<redacted>"}`
    )
    expect(Redaction.redactText(`{"name": "Authorization", "value": "Basic YWRhOnB3LTEyMzQ="}`)).toBe(
      `{"name": "Authorization", "value": "<redacted>"}`
    )
    expect(Redaction.redactText(`{"name": "Cookie", "value": "sessionid=s-0123456789; lang=en"}`)).toBe(
      `{"name": "Cookie", "value": "<redacted>"}`
    )
    // a record whose name is not secret is kept
    const kept = `{"name": "Accept", "value": "application/json"}`
    expect(Redaction.redactText(kept)).toBe(kept)
  })

  it("buildRegex: \"value\": \"capture\", ... \"name\": \"word\" (a HAR record, value first)", () => {
    expect(Redaction.redactText(`{"value": "csrf-0123456789", "name": "x-csrf-token"}`)).toBe(
      `{"value": "<redacted>", "name": "x-csrf-token"}`
    )
    expect(Redaction.redactText(`{"value": "Bearer at-0123456789", "name": "Authorization"}`)).toBe(
      `{"value": "<redacted>", "name": "Authorization"}`
    )
  })

  it.effect("buildRegex over an echoed HAR entry: the request's own secrets are found by value", () =>
    Effect.gen(function*() {
      // a server (an echo endpoint, a debugging proxy) answers 400 with the request it got, as a HAR entry
      const entry = {
        request: {
          method: "POST",
          url: "https://api.example.test/oauth/token?client_id=app-1",
          headers: [
            { name: "Cookie", value: "sid=s3ss10n-v4lue; lang=en" },
            { name: "Authorization", value: "Bearer at-0123456789" },
            { name: "X-Api-Key", value: "k-abcdef123456" }
          ],
          cookies: [{ name: "sid", value: "s3ss10n-v4lue" }],
          postData: {
            mimeType: "application/x-www-form-urlencoded",
            text: "client_secret=cs-0123456789&grant_type=client_credentials"
          }
        }
      }
      const { client } = fakeClient(() =>
        Effect.succeed(
          new Response(JSON.stringify(entry), { status: 400, headers: { "content-type": "application/json" } })
        )
      )
      const request = HttpClientRequest.post("https://api.example.test/oauth/token?client_id=app-1", {
        headers: {
          cookie: "sid=s3ss10n-v4lue; lang=en",
          authorization: "Bearer at-0123456789",
          "x-api-key": "k-abcdef123456"
        }
      }).pipe(HttpClientRequest.bodyText(entry.request.postData.text, "application/x-www-form-urlencoded"))
      const failure = yield* Effect.flip(Attempt.send(client, request))
      expect(failure._tag).toBe("ClientError")
      if (failure._tag !== "ClientError") return
      const excerpt = failure.bodyExcerpt ?? ""
      // the records' values, by their secret names (and each cookie, whatever its name), the form body's secret by its
      // name; the request's own secrets are found by value too
      expect(excerpt).toContain(`{"name":"Cookie","value":"<redacted>"}`)
      expect(excerpt).toContain(`{"name":"Authorization","value":"<redacted>"}`)
      expect(excerpt).toContain(`{"name":"X-Api-Key","value":"<redacted>"}`)
      expect(excerpt).toContain(`"cookies":[{"name":"sid","value":"<redacted>"}]`)
      expect(excerpt).toContain(`"text":"client_secret=<redacted>&grant_type=client_credentials"`)
      // `client_id` is no secret to Sturdy (the peers hide it): kept
      expect(excerpt).toContain("client_id=app-1")
      const rendered = `${failure.message} ${JSON.stringify(failure)} ${String(failure)}`
      for (const secret of ["s3ss10n-v4lue", "at-0123456789", "k-abcdef123456", "cs-0123456789"]) {
        expect(rendered).not.toContain(secret)
      }
    }))

  it("allCookies: every cookie's value", () => {
    // the peer's option adds every cookie name of the HAR to its word list; Sturdy hides `Cookie` and `Set-Cookie`
    // whole by default, whatever the cookies are called
    expect(
      Redaction.redactHeaders({
        cookie: "theme=dark; sid=s-0123456789",
        "set-cookie": ["sid=s-0123456789; Path=/; HttpOnly", "theme=dark"],
        "content-type": "text/html"
      })
    ).toEqual({ cookie: "<redacted>", "set-cookie": "<redacted>", "content-type": "text/html" })
    expect(Redaction.redactText("Set-Cookie: sid=s-0123456789; Path=/\r\nCookie: theme=dark")).toBe(
      "Set-Cookie: <redacted>\r\nCookie: <redacted>"
    )
  })

  it.effect("allHeaders / allQueryArgs: every header and query argument", () =>
    Effect.gen(function*() {
      // the peer adds every name of the HAR; in Sturdy a pattern added with `withSecretNames` matches every name
      const headers = { accept: "application/json", "x-request-id": "r-123456" }
      const url = "https://api.example.test/search?q=ada&page=2"
      expect(Redaction.redactHeaders(headers)).toEqual(headers)
      yield* Effect.sync(() => {
        expect(Redaction.redactHeaders(headers)).toEqual({ accept: "<redacted>", "x-request-id": "<redacted>" })
        expect(Redaction.redactUrl(url)).toBe("https://api.example.test/search?q=<redacted>&page=<redacted>")
      }).pipe(Redaction.withSecretNames([/./]))
    }))
})

describe("google/har-sanitizer: harsanitizer", () => {
  it("static/wordlist.json", () => {
    expect(googleWords).toHaveLength(24)
    // every word is in Cloudflare's list, which adds `code_challenge`, `refresh_token` and `vses2`
    expect(googleWords.filter((word) => !cloudflareWords.includes(word))).toEqual([])
    checkWordList(googleWords)
  })

  it("gen_regex word_patterns: matched with re.I", () => {
    // the peer matches its words in any case; so do Sturdy's names, in pairs, lines and JSON keys
    expect(Redaction.redactText("PASSWORD=hunter2&Client_Secret=cs-1234")).toBe(
      "PASSWORD=<redacted>&Client_Secret=<redacted>"
    )
    expect(Redaction.redactText("AUTHORIZATION: Digest username=ada")).toBe("AUTHORIZATION: <redacted>")
    expect(Redaction.redactText(`{"Access_Token": "at-0123456789"}`)).toBe(`{"Access_Token":"<redacted>"}`)
    expect(Redaction.isSecretHeaderName("authorization")).toBe(true)
    expect(Redaction.isSecretParamName("CODE_VERIFIER")).toBe(true)
  })

  it.effect("test_HarSanitizer_load_wordlist", () =>
    Effect.gen(function*() {
      // the peer loads `['word1', u'word2', 'word3']` as the word list; Sturdy adds the names to its rule
      expect(Redaction.isSecretParamName("word3")).toBe(false)
      yield* Effect.sync(() => {
        expect(Redaction.isSecretParamName("word3")).toBe(true)
        expect(Redaction.isSecretHeaderName("WORD2")).toBe(true)
        expect(Redaction.redactText("word1=a-value&other=1")).toBe("word1=<redacted>&other=1")
      }).pipe(Redaction.withSecretNames(["word1", "word2", "word3"]))
    }))
})
