/**
 * The redirect cases of psf/requests (`tests/test_requests.py`, github.com/psf/requests at
 * 1f6589ec3a1ee910f9a65cc3ceac60b26677bc0e) and of urllib3 (`test/with_dummyserver/test_poolmanager.py`,
 * github.com/urllib3/urllib3 at 6a8536b6e1b0cbe69ae801337c599951e527ae29), ported to `Redirect.follow` over
 * `@sturdy/node`'s undici transport against real node:http(s) servers on 127.0.0.1, and, for urllib3's `retries`, to
 * `SturdyClient` with a `Policy` (`test/utils/retryHarness.ts`). httpbin's and urllib3's dummyserver routes are
 * re-created here; their host names (`example.com`, `another.example.com`, urllib3's `localhost` and its alternative
 * host `127.0.0.1`) reach the loopback servers through `Loopback.virtualHosts`, default ports included. One `it` per
 * peer case, named after it.
 *
 * Mapping: requests' `max_redirects` (30) and urllib3's `Retry(redirect=n)` / `retries=n` for redirects are
 * `Redirect.follow({ maxRedirects })`; `TooManyRedirects` / `MaxRetryError` is `RedirectFailed` `TooMany`;
 * `InvalidURL` and `URLSchemeUnknown` for a Location are `RedirectFailed` `InvalidLocation`; `allow_redirects=False` /
 * `redirect=False` / `retries=False` is a client without `Redirect.follow`; `auth=("user", "pass")` is the
 * `Authorization: Basic` header requests sets; `should_strip_auth(old, new)` is whether `Authorization` reaches `new`
 * after a redirect from `old`; urllib3's `remove_headers_on_redirect` is `Redaction.withSecretNames` (names added to
 * those dropped); `r.url` is the final response's `request.url` and `request.hash`; urllib3's pool counters are the
 * server's count of connections.
 *
 * Deliberate differences (each test says which): the default limit is 20 (fetch), requests' is 30; Sturdy strips
 * secrets on every change of origin, an http → https upgrade on default ports included, which requests lets through
 * (curl strips it too); urllib3's `remove_headers_on_redirect` replaces the default set, so `[]` sends
 * `Authorization` and `Cookie` to another host, where Sturdy only adds names: credentials never cross origins; a
 * streamed body cannot be sent twice, so a 307 after one is returned (requests rewinds a seekable file);
 * urllib3's `raise_on_redirect=False` (return the last redirect when the limit is hit) has no counterpart: the call
 * fails with `TooMany`; urllib3 counts redirects against `retries`, Sturdy keeps them apart (a `Policy` retry repeats
 * the whole chain, and `maxAttempts: 1` still follows redirects).
 *
 * Not ported (requests): test_redirect_history_no_self_reference, test_manual_redirect_with_partial_body_read,
 * test_custom_redirect_mixin (requests' `history` and `resolve_redirects` API: Sturdy keeps no history), the cookie
 * jar cases (test_cookie_sent_on_redirect, test_cookielib_cookiejar_on_redirect: no cookie jar), the proxy and
 * pyOpenSSL cases, test_redirect_with_wrong_gzipped_header (decoding, not redirects). (urllib3)
 * test_redirects_disabled_for_individual_request (per-request `retries` overriding the pool's: Sturdy's options are
 * the client's), test_headers*, test_body, test_top_level_* without redirects, the ssl keyword cases (not redirects),
 * `test_connectionpool.py`'s test_redirect_after (urllib3 sleeps a 303's Retry-After; Sturdy does not wait on a
 * redirect) and the history cases.
 */
import type { HttpClient } from "@effect/platform"
import { HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import type { Policy } from "@sturdy/http"
import { Attempt, Redaction, Redirect } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { Effect, Stream } from "effect"
import * as Fs from "node:fs"
import type * as Http from "node:http"
import * as Path from "node:path"
import * as Loopback from "./utils/loopbackServer.js"
import { send, setup, textOf } from "./utils/retryHarness.js"

const fixtures = Path.join(import.meta.dirname, "fixtures")
const cert = Fs.readFileSync(Path.join(fixtures, "loopback-cert.pem"))
const key = Fs.readFileSync(Path.join(fixtures, "loopback-key.pem"))

type Routes = Record<string, Loopback.Handler>

const query = (req: Http.IncomingMessage) => new URL(req.url ?? "/", "http://x").searchParams

const moved = (res: Http.ServerResponse, status: number, location: string) => {
  res.writeHead(status, { location, "content-type": "text/html; charset=utf-8" })
  res.end(`<a href="${location}">redirect</a>`)
}

/** httpbin's routes: /get, /post, /html echo; /redirect/n, /relative-redirect/n, /redirect-to, /status/3xx */
const httpbin = (): Routes => {
  const echo: Loopback.Handler = (req, res, body) =>
    Loopback.json(200, { method: req.method, url: req.url, headers: req.headers, data: body })(req, res, body)
  const routes: Routes = { "/get": echo, "/post": echo, "/html": echo }
  for (let n = 1; n <= 60; n++) {
    routes[`/redirect/${n}`] = (_, res) => moved(res, 302, n === 1 ? "/get" : `/relative-redirect/${n - 1}`)
    routes[`/relative-redirect/${n}`] = (_, res) => moved(res, 302, n === 1 ? "/get" : `/relative-redirect/${n - 1}`)
  }
  routes["/redirect-to"] = (req, res) =>
    moved(res, Number(query(req).get("status_code") ?? 302), query(req).get("url") ?? "/get")
  for (const code of [301, 302, 303, 307, 308]) routes[`/status/${code}`] = (_, res) => moved(res, code, "/redirect/1")
  return routes
}

/** urllib3's dummyserver: /redirect?target=&status=, /, /headers, /headers_and_params, /echo */
const dummyserver = (): Routes => ({
  "/": Loopback.text(200, "text/plain", "Dummy server!"),
  "/redirect": (req, res) =>
    moved(res, Number((query(req).get("status") ?? "303 See Other").split(" ")[0]), query(req).get("target") ?? "/"),
  "/headers": (req, res) => Loopback.json(200, req.headers)(req, res, ""),
  "/headers_and_params": (req, res) =>
    Loopback.json(200, { headers: req.headers, params: Object.fromEntries(query(req)) })(req, res, ""),
  "/echo": (req, res) => Loopback.text(200, "text/plain", req.url ?? "")(req, res, "")
})

/** `http` routes on every http URL, `https` on every https URL, and an undici client that reaches them. */
const servers = (http: Routes, https?: Routes, connections?: number) =>
  Effect.gen(function*() {
    const plain = yield* Loopback.start(http)
    const secure = https === undefined ? undefined : yield* Loopback.start(https, { tls: { cert, key } })
    const agent = yield* Loopback.virtualHosts({ http: plain, https: secure }, cert, connections)
    return { plain, secure, client: UndiciHttpClient.make(agent) }
  })

const basicAuth = { authorization: `Basic ${Buffer.from("user:pass").toString("base64")}` }

describe("requests tests/test_requests.py", () => {
  const base = "http://127.0.0.1:5000"

  it.scopedLive("test_HTTP_302_ALLOW_REDIRECT_GET", () =>
    Effect.gen(function*() {
      const { client, plain } = yield* servers(httpbin())
      const r = yield* Loopback.exchange(client.pipe(Redirect.follow()), HttpClientRequest.get(`${base}/redirect/1`))
      expect(r.status).toBe(200)
      expect(plain.requests.map((q) => q.url)).toEqual(["/redirect/1", "/get"])
    }))

  it.scopedLive("test_HTTP_307_ALLOW_REDIRECT_POST", () =>
    Effect.gen(function*() {
      const { client } = yield* servers(httpbin())
      const r = yield* Loopback.exchange(
        client.pipe(Redirect.follow()),
        HttpClientRequest.post(`${base}/redirect-to`, { urlParams: { url: "post", status_code: "307" } }).pipe(
          HttpClientRequest.bodyText("test")
        )
      )
      expect(r.status).toBe(200)
      expect(r.json().data).toBe("test")
      expect(r.json().method).toBe("POST")
    }))

  it.scopedLive("test_HTTP_307_ALLOW_REDIRECT_POST_WITH_SEEKABLE", () =>
    Effect.gen(function*() {
      const { client, plain } = yield* servers(httpbin())
      const to = HttpClientRequest.post(`${base}/redirect-to`, { urlParams: { url: "post", status_code: "307" } })
      // bytes in memory are sent again
      const bytes = yield* Loopback.exchange(
        client.pipe(Redirect.follow()),
        HttpClientRequest.bodyUint8Array(to, new TextEncoder().encode("test"))
      )
      expect([bytes.status, bytes.json().data]).toEqual([200, "test"])
      // Difference: a stream (requests' seekable BytesIO) cannot be rewound, so the 307 is the answer
      const streamed = yield* Loopback.exchange(
        client.pipe(Redirect.follow()),
        HttpClientRequest.bodyStream(to, Stream.make(new TextEncoder().encode("test")))
      )
      expect(streamed.status).toBe(307)
      expect(plain.hits("/post")).toBe(1)
    }))

  it.scopedLive("test_HTTP_302_TOO_MANY_REDIRECTS", () =>
    Effect.gen(function*() {
      const { client, plain } = yield* servers(httpbin())
      const failure = yield* Effect.flip(
        Loopback.exchange(client.pipe(Redirect.follow()), HttpClientRequest.get(`${base}/relative-redirect/50`))
      )
      // Difference: Sturdy's default limit is 20 (fetch), requests' 30: the last response came from /30, not /20
      expect(failure).toMatchObject({
        _tag: "RedirectFailed",
        reason: "TooMany",
        redirects: 20,
        url: `${base}/relative-redirect/50`,
        location: `${base}/relative-redirect/29`
      })
      expect(plain.requests.at(-1)!.url).toBe("/relative-redirect/30")
      expect(plain.requests.length).toBe(21)
    }))

  it.scopedLive("test_HTTP_302_TOO_MANY_REDIRECTS_WITH_PARAMS", () =>
    Effect.gen(function*() {
      const { client, plain } = yield* servers(httpbin())
      const failure = yield* Effect.flip(
        Loopback.exchange(
          client.pipe(Redirect.follow({ maxRedirects: 5 })),
          HttpClientRequest.get(`${base}/relative-redirect/50`)
        )
      )
      expect(failure).toMatchObject({ _tag: "RedirectFailed", reason: "TooMany", redirects: 5 })
      expect(plain.requests.at(-1)!.url).toBe("/relative-redirect/45")
      expect(plain.requests.length).toBe(6)
    }))

  for (const code of [301, 302, 303]) {
    it.scopedLive(`test_http_${code}_changes_post_to_get`, () =>
      Effect.gen(function*() {
        const { client, plain } = yield* servers(httpbin())
        const r = yield* Loopback.exchange(
          client.pipe(Redirect.follow()),
          HttpClientRequest.post(`${base}/status/${code}`)
        )
        expect(r.status).toBe(200)
        expect(r.method).toBe("GET")
        expect(plain.requests.map((q) => [q.method, q.url])).toEqual([
          ["POST", `/status/${code}`],
          ["GET", "/redirect/1"],
          ["GET", "/get"]
        ])
      }))

    it.scopedLive(`test_http_${code}_doesnt_change_head_to_get`, () =>
      Effect.gen(function*() {
        const { client, plain } = yield* servers(httpbin())
        const r = yield* Loopback.exchange(
          client.pipe(Redirect.follow()),
          HttpClientRequest.head(`${base}/status/${code}`)
        )
        expect(r.status).toBe(200)
        expect(r.method).toBe("HEAD")
        expect(plain.requests.map((q) => q.method)).toEqual(["HEAD", "HEAD", "HEAD"])
      }))
  }

  it.scopedLive("test_header_and_body_removal_on_redirect", () =>
    Effect.gen(function*() {
      const { client, plain } = yield* servers({ ...httpbin(), "/post": (_, res) => moved(res, 302, "get") })
      const r = yield* Loopback.exchange(
        client.pipe(Redirect.follow()),
        HttpClientRequest.post(`${base}/post`).pipe(HttpClientRequest.bodyUrlParams({ test: "data" }))
      )
      expect(plain.requests[0]).toMatchObject({ body: "test=data" })
      const next = r.json()
      expect(next.url).toBe("/get")
      expect(next.data).toBe("")
      expect(next.headers["content-length"]).toBeUndefined()
      expect(next.headers["content-type"]).toBeUndefined()
    }))

  it.scopedLive("test_transfer_enc_removal_on_redirect", () =>
    Effect.gen(function*() {
      const { client, plain } = yield* servers({ ...httpbin(), "/post": (_, res) => moved(res, 302, `${base}/get`) })
      // a generator body: sent chunked
      const r = yield* Loopback.exchange(
        client.pipe(Redirect.follow()),
        HttpClientRequest.post(`${base}/post`).pipe(
          HttpClientRequest.bodyStream(Stream.make(new TextEncoder().encode("x")), { contentType: "text/plain" })
        )
      )
      expect(plain.requests[0]!.headers["transfer-encoding"]).toBe("chunked")
      const next = r.json()
      expect(next.data).toBe("")
      expect(next.headers["transfer-encoding"]).toBeUndefined()
      expect(next.headers["content-type"]).toBeUndefined()
    }))

  it.scopedLive("test_fragment_maintained_on_redirect", () =>
    Effect.gen(function*() {
      const { client, plain } = yield* servers(httpbin())
      const fragment = "#view=edit&token=hunter2"
      const r = yield* Loopback.exchange(
        client.pipe(Redirect.follow()),
        HttpClientRequest.get(`${base}/redirect-to?url=get${fragment}`)
      )
      expect(r.url).toBe(`${base}/get${fragment}`)
      // never sent
      expect(plain.requests.map((q) => q.url)).toEqual(["/redirect-to?url=get", "/get"])
    }))

  it.scopedLive("test_uppercase_scheme_redirect", () =>
    Effect.gen(function*() {
      const { client } = yield* servers(httpbin())
      const url = "HTTP://127.0.0.1:5000/html"
      const r = yield* Loopback.exchange(
        client.pipe(Redirect.follow()),
        HttpClientRequest.get(`${base}/redirect-to`, { urlParams: { url } })
      )
      expect(r.status).toBe(200)
      expect(r.url.toLowerCase()).toBe(url.toLowerCase())
    }))

  it.scopedLive("test_auth_is_stripped_on_http_downgrade", () =>
    Effect.gen(function*() {
      const { client, plain, secure } = yield* servers(httpbin(), httpbin())
      const r = yield* Loopback.exchange(
        client.pipe(Redirect.follow()),
        HttpClientRequest.get("https://127.0.0.1:5443/redirect-to", {
          urlParams: { url: `${base}/get` },
          headers: basicAuth
        })
      )
      expect(r.status).toBe(200)
      expect(secure!.requests[0]!.headers.authorization).toBe(basicAuth.authorization)
      expect(plain.requests[0]!.headers.authorization).toBeUndefined()
    }))

  it.scopedLive("test_auth_is_retained_for_redirect_on_host", () =>
    Effect.gen(function*() {
      const { client, plain } = yield* servers(httpbin())
      yield* Loopback.exchange(
        client.pipe(Redirect.follow()),
        HttpClientRequest.get(`${base}/redirect/1`, { headers: basicAuth })
      )
      const [h1, h2] = plain.requests.map((q) => q.headers.authorization)
      expect(h1).toBe(basicAuth.authorization)
      expect(h2).toBe(h1)
    }))

  /** Whether `Authorization` is dropped on a redirect from `oldUri` to `newUri` (requests' `should_strip_auth`). */
  const shouldStripAuth = (oldUri: string, newUri: string) =>
    Effect.gen(function*() {
      const routes: Routes = { "/foo": (_, res) => moved(res, 302, newUri), "/bar": Loopback.json(200, {}) }
      const { client, plain, secure } = yield* servers(routes, routes)
      yield* Loopback.exchange(client.pipe(Redirect.follow()), HttpClientRequest.get(oldUri, { headers: basicAuth }))
      const landed = [...plain.requests, ...secure!.requests].find((q) => q.url === "/bar")!
      return landed.headers.authorization === undefined
    })

  it.scopedLive("test_should_strip_auth_host_change", () =>
    Effect.gen(function*() {
      expect(yield* shouldStripAuth("http://example.com/foo", "http://another.example.com/bar")).toBe(true)
    }))

  it.scopedLive("test_should_strip_auth_http_downgrade", () =>
    Effect.gen(function*() {
      expect(yield* shouldStripAuth("https://example.com/foo", "http://example.com/bar")).toBe(true)
    }))

  it.scopedLive("test_should_strip_auth_https_upgrade", () =>
    Effect.gen(function*() {
      // Difference: requests lets an upgrade on default ports keep the credentials; Sturdy (as curl) strips them on
      // any change of origin
      expect(yield* shouldStripAuth("http://example.com/foo", "https://example.com/bar")).toBe(true)
      expect(yield* shouldStripAuth("http://example.com:80/foo", "https://example.com/bar")).toBe(true)
      expect(yield* shouldStripAuth("http://example.com/foo", "https://example.com:443/bar")).toBe(true)
      // Non-standard ports should trigger stripping
      expect(yield* shouldStripAuth("http://example.com:8080/foo", "https://example.com/bar")).toBe(true)
      expect(yield* shouldStripAuth("http://example.com/foo", "https://example.com:8443/bar")).toBe(true)
    }))

  it.scopedLive("test_should_strip_auth_port_change", () =>
    Effect.gen(function*() {
      expect(yield* shouldStripAuth("http://example.com:1234/foo", "https://example.com:4321/bar")).toBe(true)
    }))

  it.scopedLive("test_should_strip_auth_default_port", () =>
    Effect.gen(function*() {
      for (
        const [oldUri, newUri] of [
          ["https://example.com:443/foo", "https://example.com/bar"],
          ["http://example.com:80/foo", "http://example.com/bar"],
          ["https://example.com/foo", "https://example.com:443/bar"],
          ["http://example.com/foo", "http://example.com:80/bar"]
        ]
      ) {
        expect([oldUri, newUri, yield* shouldStripAuth(oldUri!, newUri!)]).toEqual([oldUri, newUri, false])
      }
    }))

  it.scopedLive("test_redirecting_to_bad_url", () =>
    Effect.gen(function*() {
      const { client } = yield* servers(httpbin())
      const failure = yield* Effect.flip(
        Loopback.exchange(
          client.pipe(Redirect.follow()),
          HttpClientRequest.get(`${base}/redirect-to`, { urlParams: { url: "http://:1" } })
        )
      )
      expect(failure).toMatchObject({ _tag: "RedirectFailed", reason: "InvalidLocation", location: "http://:1" })
    }))
})

describe("urllib3 test/with_dummyserver/test_poolmanager.py", () => {
  // urllib3's `host` and `host_alt`
  const baseUrl = "http://localhost:8081"
  const baseUrlAlt = "http://127.0.0.1:8081"

  it.scoped("test_redirect", () =>
    Effect.gen(function*() {
      // parametrized over the pool's retries ({}, None, 1, Retry(1)): a Policy's attempts, which do not limit redirects
      for (const maxAttempts of [1, 2, 3]) {
        const h = yield* setup(
          (seen, response) =>
            seen.path.startsWith("/redirect")
              ? send(response, 303, { location: new URL(seen.path, "http://x").searchParams.get("target")! })
              : send(response, 200, {}, "Dummy server!"),
          { retry: { maxAttempts } },
          { client: { transformClient: Redirect.follow() } }
        )
        // redirect=False: the platform client without Redirect.follow
        const raw = yield* Effect.scoped(
          Effect.map(h.platform.get(`${h.url}/redirect`, { urlParams: { target: `${h.url}/` } }), (r) => r.status)
        )
        expect(raw).toBe(303)
        const r = yield* h.run(h.api.get("/redirect", { urlParams: { target: `${h.url}/` } }))
        expect(textOf(r)).toBe("Dummy server!")
        expect(h.seen.map((s) => s.path)).toEqual([
          `/redirect?target=${encodeURIComponent(`${h.url}/`)}`,
          `/redirect?target=${encodeURIComponent(`${h.url}/`)}`,
          "/"
        ])
      }
    }))

  it.scopedLive("test_redirect_twice", () =>
    Effect.gen(function*() {
      const { client } = yield* servers(dummyserver())
      const raw = yield* Loopback.exchange(
        client,
        HttpClientRequest.get(`${baseUrl}/redirect`, { urlParams: { target: `${baseUrl}/redirect` } })
      )
      expect(raw.status).toBe(303)
      const r = yield* Loopback.exchange(
        client.pipe(Redirect.follow()),
        HttpClientRequest.get(`${baseUrl}/redirect`, {
          urlParams: { target: `${baseUrl}/redirect?target=${baseUrl}/` }
        })
      )
      expect([r.status, r.text]).toEqual([200, "Dummy server!"])
    }))

  it.scopedLive("test_redirect_to_relative_url", () =>
    Effect.gen(function*() {
      const { client, plain } = yield* servers(dummyserver())
      const raw = yield* Loopback.exchange(
        client,
        HttpClientRequest.get(`${baseUrl}/redirect`, { urlParams: { target: "/redirect" } })
      )
      expect(raw.status).toBe(303)
      const r = yield* Loopback.exchange(
        client.pipe(Redirect.follow()),
        HttpClientRequest.get(`${baseUrl}/redirect`, { urlParams: { target: "/redirect" } })
      )
      expect([r.status, r.text]).toEqual([200, "Dummy server!"])
      // the relative Location is the whole target: the first URL's query does not follow it
      expect(plain.requests.map((q) => q.url)).toEqual([
        "/redirect?target=%2Fredirect",
        "/redirect?target=%2Fredirect",
        "/redirect",
        "/"
      ])
    }))

  it.scopedLive("test_redirects_disabled_for_pool_manager_with_0", () =>
    Effect.gen(function*() {
      const { client } = yield* servers(dummyserver())
      const failure = yield* Effect.flip(
        Loopback.exchange(
          client.pipe(Redirect.follow({ maxRedirects: 0 })),
          HttpClientRequest.get(`${baseUrl}/redirect`)
        )
      )
      expect(failure).toMatchObject({ _tag: "RedirectFailed", reason: "TooMany", redirects: 0, status: 303 })
      // redirect=False: not followed, no failure
      const r = yield* Loopback.exchange(client, HttpClientRequest.get(`${baseUrl}/redirect`))
      expect(r.status).toBe(303)
    }))

  it.scopedLive("test_redirects_disabled_for_pool_manager_with_false", () =>
    Effect.gen(function*() {
      const { client } = yield* servers(dummyserver())
      const r = yield* Loopback.exchange(client, HttpClientRequest.get(`${baseUrl}/redirect`))
      expect(r.status).toBe(303)
    }))

  it.scopedLive("test_cross_host_redirect", () =>
    Effect.gen(function*() {
      const { client, plain } = yield* servers(dummyserver())
      const crossHostLocation = `${baseUrlAlt}/echo?a=b`
      const request = HttpClientRequest.get(`${baseUrl}/redirect`, { urlParams: { target: crossHostLocation } })
      const failure = yield* Effect.flip(Loopback.exchange(client.pipe(Redirect.follow({ maxRedirects: 0 })), request))
      expect(failure).toMatchObject({ _tag: "RedirectFailed", reason: "TooMany" })
      const r = yield* Loopback.exchange(client.pipe(Redirect.follow({ maxRedirects: 1 })), request)
      expect(r.url).toBe(crossHostLocation)
      expect(plain.requests.at(-1)!.headers.host).toBe("127.0.0.1:8081")
    }))

  it.scopedLive("test_too_many_redirects", () =>
    Effect.gen(function*() {
      // a pool of one connection (urllib3 counts its pool's connections): a hop waits for the redirect's to be freed
      const { client, plain } = yield* servers(dummyserver(), undefined, 1)
      const request = HttpClientRequest.get(`${baseUrl}/redirect`, {
        urlParams: { target: `${baseUrl}/redirect?target=${baseUrl}/` }
      })
      const failure = yield* Effect.flip(Loopback.exchange(client.pipe(Redirect.follow({ maxRedirects: 1 })), request))
      expect(failure).toMatchObject({ _tag: "RedirectFailed", reason: "TooMany", redirects: 1 })
      // Even with raise on redirects, we reused the same connection
      expect(plain.requests.length).toBe(2)
      expect(plain.requests[1]!.connection).toBe(plain.requests[0]!.connection)
      // relative targets; a higher limit lets it through
      const relative = HttpClientRequest.get(`${baseUrl}/redirect`, {
        urlParams: { target: `/redirect?target=${baseUrl}/` }
      })
      yield* Effect.flip(Loopback.exchange(client.pipe(Redirect.follow({ maxRedirects: 1 })), relative))
      const r = yield* Loopback.exchange(client.pipe(Redirect.follow({ maxRedirects: 2 })), relative)
      expect(r.status).toBe(200)
      const hops = plain.requests.slice(-3)
      expect(hops.map((q) => q.url)).toEqual([
        expect.stringMatching(/^\/redirect\?/),
        expect.stringMatching(/^\/redirect\?/),
        "/"
      ])
      expect(new Set(hops.map((q) => q.connection)).size).toBe(1)
    }))

  it.scopedLive("test_redirect_cross_host_remove_headers", () =>
    Effect.gen(function*() {
      const { client } = yield* servers(dummyserver())
      for (
        const headers of [
          { Authorization: "foo", "Proxy-Authorization": "bar", Cookie: "foo=bar" },
          { authorization: "foo", "proxy-authorization": "baz", cookie: "foo=bar" }
        ]
      ) {
        const r = yield* Loopback.exchange(
          client.pipe(Redirect.follow()),
          HttpClientRequest.get(`${baseUrl}/redirect`, { urlParams: { target: `${baseUrlAlt}/headers` }, headers })
        )
        expect(r.status).toBe(200)
        const data = r.json()
        expect(data.authorization).toBeUndefined()
        expect(data["proxy-authorization"]).toBeUndefined()
        expect(data.cookie).toBeUndefined()
      }
    }))

  it.scopedLive("test_redirect_cross_host_no_remove_headers", () =>
    Effect.gen(function*() {
      const { client } = yield* servers(dummyserver())
      const r = yield* Loopback.exchange(
        client.pipe(Redirect.follow()),
        HttpClientRequest.get(`${baseUrl}/redirect`, {
          urlParams: { target: `${baseUrlAlt}/headers` },
          headers: { Authorization: "foo", "Proxy-Authorization": "bar", Cookie: "foo=bar" }
        })
      )
      expect(r.status).toBe(200)
      // Difference: urllib3's remove_headers_on_redirect=[] sends them to the other host; Sturdy has no way to:
      // credentials never cross origins
      expect(r.json()).not.toHaveProperty("authorization")
      expect(r.json()).not.toHaveProperty("proxy-authorization")
      expect(r.json()).not.toHaveProperty("cookie")
    }))

  it.scopedLive("test_redirect_cross_host_set_removed_headers", () =>
    Effect.gen(function*() {
      const { client } = yield* servers(dummyserver())
      for (
        const headers of [
          { "X-API-Secret": "foo", Authorization: "bar", "Proxy-Authorization": "baz", Cookie: "foo=bar" },
          { "x-api-secret": "foo", authorization: "bar", "proxy-authorization": "baz", cookie: "foo=bar" }
        ]
      ) {
        const copy = { ...headers }
        const r = yield* Loopback.exchange(
          client.pipe(Redirect.follow()),
          HttpClientRequest.get(`${baseUrl}/redirect`, { urlParams: { target: `${baseUrlAlt}/headers` }, headers })
        ).pipe(Redaction.withSecretNames(["X-API-Secret"]))
        expect(r.status).toBe(200)
        const data = r.json()
        expect(data["x-api-secret"]).toBeUndefined()
        // Difference: withSecretNames adds to the names dropped, it does not replace them
        expect(data.authorization).toBeUndefined()
        expect(data["proxy-authorization"]).toBeUndefined()
        expect(data.cookie).toBeUndefined()
        // Ensure the header argument itself is not modified in-place.
        expect(headers).toEqual(copy)
      }
    }))

  it.scopedLive("test_redirect_without_preload_releases_connection", () =>
    Effect.gen(function*() {
      // PoolManager(block=True, maxsize=2) there; a pool of one connection here, so a redirect that kept its
      // connection would leave the hop waiting forever
      const { client, plain } = yield* servers(dummyserver(), undefined, 1)
      // the 303's body is left unread by the caller: Redirect.follow discards it, freeing the connection for the hop
      const r = yield* Loopback.exchange(client.pipe(Redirect.follow()), HttpClientRequest.get(`${baseUrl}/redirect`))
      expect(r.status).toBe(200)
      expect(plain.requests.length).toBe(2)
      expect(plain.requests[1]!.connection).toBe(plain.requests[0]!.connection)
    }))

  it.scopedLive("test_303_redirect_makes_request_lose_body", () =>
    Effect.gen(function*() {
      const { client, plain } = yield* servers(dummyserver())
      const form = new FormData()
      form.append("target", `${baseUrl}/headers_and_params`)
      form.append("status", "303 See Other")
      const r = yield* Loopback.exchange(
        client.pipe(Redirect.follow()),
        HttpClientRequest.post(`${baseUrl}/redirect`, {
          urlParams: { target: `${baseUrl}/headers_and_params`, status: "303 See Other" }
        }).pipe(HttpClientRequest.bodyFormData(form))
      )
      const data = r.json()
      expect(data.params).toEqual({})
      expect(data.headers["content-type"]).toBeUndefined()
      expect(plain.requests[1]).toMatchObject({ method: "GET", body: "" })
    }))

  it.scopedLive("test_unknown_scheme", () =>
    Effect.gen(function*() {
      const { client } = yield* servers(dummyserver())
      const unknownSchemeUrl = "unknown://host"
      const request = HttpClientRequest.get(`${baseUrl}/redirect`, { urlParams: { target: unknownSchemeUrl } })
      const raw = yield* Effect.scoped(
        Effect.map(client.execute(request), (response) => [response.status, response.headers.location])
      )
      expect(raw).toEqual([303, unknownSchemeUrl])
      const failure = yield* Effect.flip(Loopback.exchange(client.pipe(Redirect.follow()), request))
      expect(failure).toMatchObject({ _tag: "RedirectFailed", reason: "InvalidLocation", location: unknownSchemeUrl })
      // and an unknown scheme asked for directly is refused before anything is sent
      const direct = yield* Effect.flip(Attempt.send(client, HttpClientRequest.get(unknownSchemeUrl)))
      expect(direct).toMatchObject({ _tag: "InvalidRequest" })
    }))

  it.scopedLive("test_raise_on_redirect", () =>
    Effect.gen(function*() {
      const { client } = yield* servers(dummyserver())
      const failure = yield* Effect.flip(
        Loopback.exchange(
          client.pipe(Redirect.follow({ maxRedirects: 1 })),
          HttpClientRequest.get(`${baseUrl}/redirect`, {
            urlParams: { target: `${baseUrl}/redirect?target=${baseUrl}/` }
          })
        )
      )
      // Difference: urllib3's raise_on_redirect=False returns the last 303; Sturdy always fails with TooMany
      expect(failure).toMatchObject({ _tag: "RedirectFailed", reason: "TooMany", status: 303, redirects: 1 })
    }))

  /** the dummyserver's /redirect and / on the retry harness: a SturdyClient with `policy`, following redirects */
  const topLevel = (policy: Policy.Options) =>
    setup(
      (seen, response) =>
        seen.path.startsWith("/redirect")
          ? send(response, 303, { location: new URL(seen.path, "http://x").searchParams.get("target") ?? "/" })
          : send(response, 200, {}, "Dummy server!"),
      policy,
      { client: { transformClient: Redirect.follow() } }
    )
  const platformStatus = (h: { readonly platform: HttpClient.HttpClient }, url: string) =>
    Effect.scoped(Effect.map(h.platform.get(url), (response) => response.status))

  it.scoped("test_top_level_request_with_redirect", () =>
    Effect.gen(function*() {
      const h = yield* topLevel({})
      expect(yield* platformStatus(h, `${h.url}/redirect?target=${h.url}/`)).toBe(303)
      const r = yield* h.run(h.api.get("/redirect", { urlParams: { target: `${h.url}/` } }))
      expect(textOf(r)).toBe("Dummy server!")
    }))

  it.scoped("test_top_level_request_with_retries", () =>
    Effect.gen(function*() {
      // retries=False: nothing followed; retries=3: a policy of 4 attempts, and the redirect is followed within the
      // first (redirects are not retries: one attempt, two requests)
      const h = yield* topLevel({ retry: { maxAttempts: 4 } })
      expect(yield* platformStatus(h, `${h.url}/redirect`)).toBe(303)
      const r = yield* h.run(h.api.get("/redirect"))
      expect(textOf(r)).toBe("Dummy server!")
      expect(h.seen.map((s) => s.path)).toEqual(["/redirect", "/redirect", "/"])
      expect(h.decisions).toEqual([])
    }))
})
