/**
 * URL sanitizing and data scrubbing cases of Sentry's Python SDK, ported to `Redaction` and to the failures that use
 * it. One `it` per peer case (per parameter set of a parametrized test), named after it.
 *
 * Source: getsentry/sentry-python (commit 064542dd2cbdbe0b11f1cda7f47d7d2920b0c38b):
 * - `tests/test_utils.py`: `test_sanitize_url` (13 parameter sets) and `test_sanitize_url_remove_authority_is_false`;
 * - `tests/test_scrubber.py` (8 of 11 tests) and `DEFAULT_DENYLIST` in `sentry_sdk/scrubber.py`;
 * and getsentry/sentry-javascript (file version at commit 2ed89153f4261b21784a76a251b776b9aa027600),
 * `packages/core/test/lib/utils/url.test.ts`: `describe('getSanitizedUrlString')` (14 cases) and
 * `describe('stripQueryStringAndFragment')` (3 cases).
 *
 * Mapping: `sanitize_url` is `Redaction.redactUrl` and the `url.full` of `Telemetry.target`; `EventScrubber` over a
 * headers dict is `Redaction.redactHeaders`; over a dict of data (request data, `extra`, breadcrumb and span data,
 * frame variables) it is `Redaction.redactText` over the same dict written as JSON (as an error body reaches a
 * failure's `bodyExcerpt`); a custom `denylist` is `Redaction.withSecretNames`. The request case also runs through
 * `Attempt.send` on an in-memory transport, to check the failure a server's echo produces.
 *
 * Deliberate differences (documented in `Redaction`; each test says which):
 * - The placeholder is `<redacted>`, not `[Filtered]`.
 * - `sanitize_url` replaces every query value and user info by `[Filtered]` and keeps the fragment; Sturdy replaces
 *   the values of secret names only (`save=true` stays), drops user info and drops the fragment.
 * - A value under a secret name is replaced whatever it is; Sentry's `[Filtered]` also replaces a number, and so does
 *   Sturdy (`"password": 12345` becomes `"password":"<redacted>"`): a JSON pair is rewritten without its blanks.
 * - Sturdy has no PII list: `ip_address`, `x_forwarded_for`, `x_real_ip`, `remote_addr` are kept, as with Sentry's
 *   `send_default_pii=True`.
 * - Sentry's default denylist names Sturdy's rule does not cover are kept: `mysql_pwd`, `connect.sid`, `csrf`,
 *   `_csrf`, `PHPSESSID`, `symfony`, `_xsrf` (as a header, `Cookie` and `Set-Cookie` are secret whole, so a session
 *   cookie never shows). Users add them with `withSecretNames`.
 * - There is no `remove_authority=False`: user info is always dropped.
 * - sentry-javascript's span URLs drop the whole query (`getSanitizedUrlString`, `stripUrlQueryAndFragment`); Sturdy
 *   keeps the query with secret values replaced, re-encoded as `URLSearchParams` writes it. Default ports are dropped
 *   as the URL standard says (`:443` stays on an `http:` URL, where Sentry drops it too).
 * - A custom list adds to Sturdy's rule; Sentry's `denylist` replaces its default.
 *
 * Not ported: sentry-javascript's `parseUrl`, `parseStringToURLObject`, `getSanitizedUrlStringFromUrlObject` and
 * `getHttpSpanDetailsFromUrlObject` cases (URL parsing and span naming; the sanitizing ones repeat
 * `getSanitizedUrlString`); `test_parse_url` (16 sets: splitting a URL into url, query and fragment, with `sanitize=False` half
 * of them; Sturdy neither splits nor has an off switch, and the sanitized sets repeat `test_sanitize_url`);
 * `test_user_ip_address_removed_when_pii_disabled` and `..._not_removed_when_pii_enabled` (a user context: none in
 * Sturdy); `test_scrubbing_doesnt_affect_local_vars` (mutation of the caller's variables: JS strings are immutable,
 * and Sturdy returns new strings).
 */
import { HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Attempt, Redaction, Telemetry } from "@sturdy/http"
import { Effect } from "effect"
import { fakeClient } from "./utils/fakeTransport.js"

/** the URL as both places render it: `Redaction.redactUrl` and the `url.full` of `Telemetry.target` */
const redacted = (url: string) => {
  const direct = Redaction.redactUrl(url)
  expect(Telemetry.target({ method: "GET", url }).url).toBe(direct)
  return direct
}

const query = "token=abc&sessionid=123&save=true"
/** Sturdy's answer to Sentry's `token=[Filtered]&sessionid=[Filtered]&save=[Filtered]`: `save` is no secret name */
const redactedQuery = "token=<redacted>&sessionid=<redacted>&save=true"

describe("sentry-python: test_sanitize_url", () => {
  const cases: ReadonlyArray<readonly [url: string, sentry: string, sturdy: string]> = [
    // an origin parses to a URL whose path is `/`; Sentry keeps the text as written
    ["http://localhost:8000", "http://localhost:8000", "http://localhost:8000/"],
    ["http://example.com", "http://example.com", "http://example.com/"],
    ["https://example.com", "https://example.com", "https://example.com/"],
    [
      `example.com?${query}`,
      "example.com?token=[Filtered]&sessionid=[Filtered]&save=[Filtered]",
      `example.com?${redactedQuery}`
    ],
    [
      `http://example.com?${query}`,
      "http://example.com?token=[Filtered]&sessionid=[Filtered]&save=[Filtered]",
      `http://example.com/?${redactedQuery}`
    ],
    [
      `https://example.com?${query}`,
      "https://example.com?token=[Filtered]&sessionid=[Filtered]&save=[Filtered]",
      `https://example.com/?${redactedQuery}`
    ],
    [
      `http://localhost:8000/?${query}`,
      "http://localhost:8000/?token=[Filtered]&sessionid=[Filtered]&save=[Filtered]",
      `http://localhost:8000/?${redactedQuery}`
    ],
    // user info and fragment dropped (Sentry: `ftp://[Filtered]:[Filtered]@...#foo`)
    [
      "ftp://username:password@ftp.example.com:9876/bla/blub#foo",
      "ftp://[Filtered]:[Filtered]@ftp.example.com:9876/bla/blub#foo",
      "ftp://ftp.example.com:9876/bla/blub"
    ],
    [
      `https://username:password@example.com/bla/blub?${query}#fragment`,
      "https://[Filtered]:[Filtered]@example.com/bla/blub?token=[Filtered]&sessionid=[Filtered]&save=[Filtered]#fragment",
      `https://example.com/bla/blub?${redactedQuery}`
    ],
    ["bla/blub/foo", "bla/blub/foo", "bla/blub/foo"],
    ["/bla/blub/foo/", "/bla/blub/foo/", "/bla/blub/foo/"],
    [
      `bla/blub/foo?${query}`,
      "bla/blub/foo?token=[Filtered]&sessionid=[Filtered]&save=[Filtered]",
      `bla/blub/foo?${redactedQuery}`
    ],
    [
      `/bla/blub/foo/?${query}`,
      "/bla/blub/foo/?token=[Filtered]&sessionid=[Filtered]&save=[Filtered]",
      `/bla/blub/foo/?${redactedQuery}`
    ]
  ]
  it.each(cases)("%s (Sentry: %s)", (url, _sentry, sturdy) => {
    expect(redacted(url)).toBe(sturdy)
  })
})

describe("sentry-python: test_sanitize_url_remove_authority_is_false", () => {
  it("test_sanitize_url_remove_authority_is_false", () => {
    // Sentry can keep the authority as written; Sturdy has no such switch and always drops user info
    expect(redacted("https://usr:pwd@example.com")).toBe("https://example.com/")
  })
})

describe("sentry-python: test_scrubber.py", () => {
  it.effect("test_request_scrubbing", () =>
    Effect.gen(function*() {
      const headers = { COOKIE: "secret", authorization: "Bearer bla", ORIGIN: "google.com", ip_address: "127.0.0.1" }
      // names lower-cased; `ip_address` is PII to Sentry (filtered by default), not a secret to Sturdy: kept
      expect(Redaction.redactHeaders(headers)).toEqual({
        cookie: "<redacted>",
        authorization: "<redacted>",
        origin: "google.com",
        ip_address: "127.0.0.1"
      })
      // cookies: the `Cookie` header is secret whole; as `name=value` text, `sessionid` is a secret name
      expect(Redaction.redactHeaders({ cookie: "sessionid=secret; foo=bar" })).toEqual({ cookie: "<redacted>" })
      expect(Redaction.redactText("sessionid=secret; foo=bar")).toBe("sessionid=<redacted>; foo=bar")
      // data
      expect(Redaction.redactText(`{"token": "secret", "foo": "bar"}`)).toBe(`{"token":"<redacted>", "foo": "bar"}`)

      // where it applies: a server that answers 400 with those headers and the data echoed in its body
      const { client } = fakeClient(() =>
        Effect.succeed(
          new Response(JSON.stringify({ token: "secret-token-1", foo: "bar" }), {
            status: 400,
            headers: {
              "content-type": "application/json",
              "set-cookie": "sessionid=secret-session-1",
              "x-echo-authorization": "Bearer bla-bla-bla-1",
              origin: "google.com"
            }
          })
        )
      )
      const request = HttpClientRequest.get("https://example.com/bla?token=secret-token-1&foo=bar", {
        headers: { cookie: "sessionid=secret-session-1", authorization: "Bearer bla-bla-bla-1", origin: "google.com" }
      })
      const failure = yield* Effect.flip(Attempt.send(client, request))
      expect(failure._tag).toBe("ClientError")
      if (failure._tag !== "ClientError") return
      expect(failure.url).toBe("https://example.com/bla?token=<redacted>&foo=bar")
      expect(failure.headers).toEqual({
        "content-type": "application/json",
        "set-cookie": "<redacted>",
        // echoed under a name that is not secret: found by value, the request's own credential
        "x-echo-authorization": "<redacted>",
        origin: "google.com"
      })
      expect(failure.bodyExcerpt).toBe(`{"token":"<redacted>","foo":"bar"}`)
      const rendered = `${failure.message} ${JSON.stringify(failure)} ${String(failure)}`
      for (const secret of ["secret-token-1", "secret-session-1", "bla-bla-bla-1"]) {
        expect(rendered).not.toContain(secret)
      }
    }))

  it("test_ip_address_not_scrubbed_when_pii_enabled", () => {
    // Sturdy behaves as Sentry with `send_default_pii=True`, whatever the setting: IP addresses are not secrets
    expect(Redaction.redactHeaders({ COOKIE: "secret", ip_address: "127.0.0.1" })).toEqual({
      cookie: "<redacted>",
      ip_address: "127.0.0.1"
    })
  })

  it("test_stack_var_scrubbing", () => {
    expect(Redaction.redactText(`{"password": "supersecret", "api_key": "1231231231", "safe": "keepthis"}`)).toBe(
      `{"password":"<redacted>", "api_key":"<redacted>", "safe": "keepthis"}`
    )
  })

  it("test_breadcrumb_extra_scrubbing", () => {
    expect(Redaction.redactText(`{"bar": 69, "auth": "secret"}`)).toBe(`{"bar": 69, "auth":"<redacted>"}`)
    expect(Redaction.redactText(`{"bar": 2, "auth": "secret"}`)).toBe(`{"bar": 2, "auth":"<redacted>"}`)
    expect(Redaction.redactText(`{"foobar": 3, "password": "secret"}`)).toBe(`{"foobar": 3, "password":"<redacted>"}`)
  })

  it("test_span_data_scrubbing", () => {
    expect(Redaction.redactText(`{"password": "secret", "datafoo": "databar"}`)).toBe(
      `{"password":"<redacted>", "datafoo": "databar"}`
    )
  })

  it.effect("test_custom_denylist", () =>
    Effect.gen(function*() {
      const text = `{"my_sensitive_var": "secret", "my_pii_var": "jane.doe", "safe": "keepthis"}`
      // neither name is secret by default
      expect(Redaction.redactText(text)).toBe(text)
      const out = yield* Effect.sync(() => Redaction.redactText(text)).pipe(
        Redaction.withSecretNames(["my_sensitive_var", "my_pii_var"])
      )
      expect(out).toBe(`{"my_sensitive_var":"<redacted>", "my_pii_var":"<redacted>", "safe": "keepthis"}`)
    }))

  it("test_recursive_event_scrubber", () => {
    expect(Redaction.redactText(`{"deep": {"deeper": [{"deepest": {"password": "my_darkest_secret"}}]}}`)).toBe(
      `{"deep": {"deeper": [{"deepest": {"password":"<redacted>"}}]}}`
    )
  })

  it.effect("test_recursive_scrubber_does_not_override_original", () =>
    Effect.gen(function*() {
      const text = `{"csrf": "secret"}`
      // `csrf` is in Sentry's default denylist, not in Sturdy's rule: kept unless declared
      expect(Redaction.redactText(text)).toBe(text)
      const out = yield* Effect.sync(() => Redaction.redactText(text)).pipe(Redaction.withSecretNames(["csrf"]))
      expect(out).toBe(`{"csrf":"<redacted>"}`)
      expect(text).toBe(`{"csrf": "secret"}`)
    }))

  it("DEFAULT_DENYLIST", () => {
    const covered = [
      "password",
      "passwd",
      "secret",
      "api_key",
      "apikey",
      "auth",
      "credentials",
      "privatekey",
      "private_key",
      "token",
      "session",
      "csrftoken",
      "sessionid",
      "x_csrftoken",
      "set_cookie",
      "cookie",
      "authorization",
      "proxy-authorization",
      "x_api_key",
      "aiohttp_session",
      "csrf_token",
      "_csrf_token",
      "_session",
      "user_session",
      "XSRF-TOKEN"
    ]
    for (const name of covered) {
      expect([name, Redaction.isSecretHeaderName(name), Redaction.isSecretParamName(name)]).toEqual([name, true, true])
    }
    // not in Sturdy's documented rule: kept (add them with `withSecretNames`); `x_forwarded_for` is PII to Sentry
    for (
      const name of ["mysql_pwd", "connect.sid", "csrf", "_csrf", "PHPSESSID", "symfony", "_xsrf", "x_forwarded_for"]
    ) {
      expect([name, Redaction.isSecretHeaderName(name), Redaction.isSecretParamName(name)]).toEqual([
        name,
        false,
        false
      ])
    }
  })
})

describe("sentry-javascript: url.test.ts stripQueryStringAndFragment", () => {
  const urlString = "http://dogs.are.great:1231/yay/"
  const queryString = "?furry=yes&funny=very"
  const fragment = "#adoptnotbuy"

  it("strips query string from url", () => {
    // Sentry drops the query; Sturdy keeps one without secret names
    expect(redacted(`${urlString}${queryString}`)).toBe(`${urlString}${queryString}`)
  })

  it("strips fragment from url", () => {
    expect(redacted(`${urlString}${fragment}`)).toBe(urlString)
  })

  it("strips query string and fragment from url", () => {
    expect(redacted(`${urlString}${queryString}${fragment}`)).toBe(`${urlString}${queryString}`)
  })
})

describe("sentry-javascript: url.test.ts getSanitizedUrlString", () => {
  const cases: ReadonlyArray<readonly [name: string, url: string, sentry: string, sturdy: string]> = [
    ["regular url", "https://somedomain.com", "https://somedomain.com", "https://somedomain.com/"],
    [
      "regular url with a path",
      "https://somedomain.com/path/to/happiness",
      "https://somedomain.com/path/to/happiness",
      "https://somedomain.com/path/to/happiness"
    ],
    [
      "url with standard http port 80",
      "http://somedomain.com:80/path/to/happiness",
      "http://somedomain.com/path/to/happiness",
      "http://somedomain.com/path/to/happiness"
    ],
    [
      "url with standard https port 443",
      "https://somedomain.com:443/path/to/happiness",
      "https://somedomain.com/path/to/happiness",
      "https://somedomain.com/path/to/happiness"
    ],
    [
      "url with non-standard port",
      "https://somedomain.com:4200/path/to/happiness",
      "https://somedomain.com:4200/path/to/happiness",
      "https://somedomain.com:4200/path/to/happiness"
    ],
    [
      // the misspelt `auhtToken` still contains `token`
      "url with query params",
      "https://somedomain.com:4200/path/to/happiness?auhtToken=abc123&param2=bar",
      "https://somedomain.com:4200/path/to/happiness",
      "https://somedomain.com:4200/path/to/happiness?auhtToken=<redacted>&param2=bar"
    ],
    [
      "url with a fragment",
      "https://somedomain.com/path/to/happiness#somewildfragment123",
      "https://somedomain.com/path/to/happiness",
      "https://somedomain.com/path/to/happiness"
    ],
    [
      "url with a fragment and query params",
      "https://somedomain.com/path/to/happiness#somewildfragment123?auhtToken=abc123&param2=bar",
      "https://somedomain.com/path/to/happiness",
      "https://somedomain.com/path/to/happiness"
    ],
    [
      "url with authorization",
      "https://username:password@somedomain.com",
      "https://[filtered]:[filtered]@somedomain.com",
      "https://somedomain.com/"
    ],
    ["same-origin url", "/api/v4/users?id=123", "/api/v4/users", "/api/v4/users?id=123"],
    [
      "url with port 8080",
      "http://172.31.12.144:8080/test",
      "http://172.31.12.144:8080/test",
      "http://172.31.12.144:8080/test"
    ],
    [
      "url with port 4433",
      "http://172.31.12.144:4433/test",
      "http://172.31.12.144:4433/test",
      "http://172.31.12.144:4433/test"
    ],
    // 443 is not the default port of `http:`
    [
      "url with port 443",
      "http://172.31.12.144:443/test",
      "http://172.31.12.144/test",
      "http://172.31.12.144:443/test"
    ],
    [
      "url with IP and port 80",
      "http://172.31.12.144:80/test",
      "http://172.31.12.144/test",
      "http://172.31.12.144/test"
    ]
  ]
  it.each(cases)("returns a sanitized URL for a %s", (_name, url, _sentry, sturdy) => {
    expect(redacted(url)).toBe(sturdy)
  })
})
