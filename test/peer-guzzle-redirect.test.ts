/**
 * guzzle/guzzle's `tests/RedirectMiddlewareTest.php` (github.com/guzzle/guzzle at
 * 2779e868a00289e1b1fd854af030c43a06f4bcb4), ported to `Redirect.follow` over `@sturdy/node`'s undici transport against
 * real node:http(s) servers on 127.0.0.1. The peer's `MockHandler` queue is the n-th answer of either server (one queue
 * for both, as Guzzle's one handler answers every host); its hosts (`example.com`, `www.example.com`, `test.com`, any
 * port) reach the http or the https server through `Loopback.virtualHosts`, which sees the name in `Host`. One `it`
 * per peer case (a data provider's sets under one name with the set appended).
 *
 * Mapping: `allow_redirects.max` is `Redirect.follow({ maxRedirects })`; `TooManyRedirectsException` is
 * `RedirectFailed` `TooMany` (its `getResponse()` status is the failure's `status`); the `BadResponseException`
 * "Redirect URI, ..." for a non-http(s) `Location` is `RedirectFailed` `InvalidLocation`; `$mock->getLastRequest()` is
 * the last request the servers saw; `'auth' => ['testuser', 'testpass']` is the `Authorization: Basic` header it sets;
 * the curl cases' digest and NTLM credentials (`CURLOPT_USERPWD`, which curl, not a header, sends) are the URL's user
 * info, which the transport sends as Basic authentication: both are the transport's credentials, not a header the
 * caller set; `modifyRequest` with a response whose status is at most 302 (the rule Guzzle applies to 301 and 302 when
 * not `strict`) is a real 302 hop.
 *
 * Deliberate differences (each test says which): a 304 is never followed, `Location` or not (fetch), so the
 * max-redirects case's fourth answer, a 304, is returned after three redirects where Guzzle counts it as a fourth and
 * fails; a 301 or 302 changes only a POST into a GET without body (fetch, browsers), where Guzzle (not `strict`) makes a
 * GET of every method but GET, HEAD and OPTIONS; Sturdy sends no `Referer` at all (Guzzle can, with `referer: true`).
 *
 * Not ported: testAddsRefererHeader and testAddsRefererHeaderButClearsUserInfo (no `referer` option: Sturdy never
 * adds the header), testAddsGuzzleRedirectHeader and testAddsGuzzleRedirectStatusHeader (`track_redirects`: Sturdy
 * keeps no redirect history), testInvokesOnRedirectForRedirects (no `on_redirect` hook: wrap the client).
 */
import { HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Redirect } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { Effect } from "effect"
import type * as Http from "node:http"
import * as Loopback from "./utils/loopbackServer.js"

const { cert, key } = Loopback.loopbackTls

interface Seen {
  readonly scheme: "http" | "https"
  readonly method: string
  readonly host: string
  readonly url: string
  readonly headers: Http.IncomingHttpHeaders
  readonly body: string
}

type Answer = readonly [status: number, headers?: Record<string, string>]

/** the peer's MockHandler: the n-th request, to any host and scheme, gets `answers[n - 1]`; then 200 */
const mock = (...answers: ReadonlyArray<Answer>) =>
  Effect.gen(function*() {
    const seen: Array<Seen> = []
    const answer = (scheme: Seen["scheme"]): Loopback.Handler => (req, res, body) => {
      seen.push({
        scheme,
        method: req.method ?? "",
        host: req.headers.host ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body
      })
      const [status, headers = {}] = answers[seen.length - 1] ?? [200]
      res.writeHead(status, headers)
      res.end()
    }
    const plain = yield* Loopback.start({ "*": answer("http") })
    const secure = yield* Loopback.start({ "*": answer("https") }, { tls: { cert, key } })
    const client = UndiciHttpClient.make(yield* Loopback.virtualHosts({ http: plain, https: secure }, cert))
    /** the last request the servers saw (`$mock->getLastRequest()`) */
    const last = () => seen[seen.length - 1]!
    return { seen, last, client, follow: (options?: Redirect.Options) => client.pipe(Redirect.follow(options)) }
  })

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`

describe("guzzle tests/RedirectMiddlewareTest.php", () => {
  it.scopedLive("testIgnoresNonRedirects", () =>
    Effect.gen(function*() {
      const m = yield* mock([200])
      expect((yield* Loopback.exchange(m.follow(), HttpClientRequest.get("http://example.com"))).status).toBe(200)
      expect(m.seen.length).toBe(1)
    }))

  it.scopedLive("testIgnoresWhenNoLocation", () =>
    Effect.gen(function*() {
      const m = yield* mock([304])
      expect((yield* Loopback.exchange(m.follow(), HttpClientRequest.get("http://example.com"))).status).toBe(304)
      expect(m.seen.length).toBe(1)
    }))

  it.scopedLive("testRedirectsWithAbsoluteUri", () =>
    Effect.gen(function*() {
      const m = yield* mock([302, { location: "http://test.com" }], [200])
      const res = yield* Loopback.exchange(
        m.follow({ maxRedirects: 2 }),
        HttpClientRequest.get("http://example.com?a=b")
      )
      expect(res.status).toBe(200)
      expect(res.url).toBe("http://test.com/")
      expect([m.last().host, m.last().url]).toEqual(["test.com", "/"])
    }))

  it.scopedLive("testRedirectsWithRelativeUri", () =>
    Effect.gen(function*() {
      const m = yield* mock([302, { location: "/foo" }], [200])
      const res = yield* Loopback.exchange(
        m.follow({ maxRedirects: 2 }),
        HttpClientRequest.get("http://example.com?a=b")
      )
      expect(res.status).toBe(200)
      // the query is not carried over: the Location is the whole target
      expect(res.url).toBe("http://example.com/foo")
      expect([m.last().host, m.last().url]).toEqual(["example.com", "/foo"])
    }))

  it.scopedLive("testLimitsToMaxRedirects", () =>
    Effect.gen(function*() {
      // Difference: the fourth answer is a 304, which is never followed: three redirects within `max` 3, and the 304
      // comes back (Guzzle counts it as a fourth redirect and fails "Will not follow more than 3 redirects")
      const m = yield* mock(
        [301, { location: "http://test.com" }],
        [302, { location: "http://test.com" }],
        [303, { location: "http://test.com" }],
        [304, { location: "http://test.com" }]
      )
      const res = yield* Loopback.exchange(m.follow({ maxRedirects: 3 }), HttpClientRequest.get("http://example.com"))
      expect(res.status).toBe(304)
      expect(m.seen.length).toBe(4)
      // one more followed redirect than `max` fails, naming the limit
      const over = yield* mock(
        [301, { location: "http://test.com" }],
        [302, { location: "http://test.com" }],
        [303, { location: "http://test.com" }],
        [302, { location: "http://test.com" }]
      )
      const failure = yield* Effect.flip(
        Loopback.exchange(over.follow({ maxRedirects: 3 }), HttpClientRequest.get("http://example.com"))
      )
      expect(failure).toMatchObject({ _tag: "RedirectFailed", reason: "TooMany", redirects: 3 })
      expect(failure.message).toMatch(/more than 3 redirects/)
      expect(over.seen.length).toBe(4)
    }))

  it.scopedLive("testTooManyRedirectsExceptionHasResponse", () =>
    Effect.gen(function*() {
      const m = yield* mock([301, { location: "http://test.com" }], [302, { location: "http://test.com" }])
      const failure = yield* Effect.flip(
        Loopback.exchange(m.follow({ maxRedirects: 1 }), HttpClientRequest.get("http://example.com"))
      )
      expect(failure).toMatchObject({ _tag: "RedirectFailed", reason: "TooMany", status: 302, redirects: 1 })
      expect(m.seen.length).toBe(2)
    }))

  it.scopedLive("testEnsuresProtocolIsValid", () =>
    Effect.gen(function*() {
      const m = yield* mock([301, { location: "ftp://test.com" }])
      const failure = yield* Effect.flip(
        Loopback.exchange(m.follow({ maxRedirects: 3 }), HttpClientRequest.get("http://example.com"))
      )
      expect(failure).toMatchObject({ _tag: "RedirectFailed", reason: "InvalidLocation", status: 301 })
      expect(failure.message).toMatch(/invalid location "ftp:\/\/test\.com/)
      expect(m.seen.length).toBe(1)
    }))

  it.scopedLive("testDoesNotAddRefererWhenGoingFromHttpsToHttp", () =>
    Effect.gen(function*() {
      // Sturdy never adds a Referer (Guzzle adds one with `referer: true`, except from https to http)
      const m = yield* mock([302, { location: "http://test.com" }], [200])
      const res = yield* Loopback.exchange(
        m.follow({ maxRedirects: 2 }),
        HttpClientRequest.get("https://example.com?a=b")
      )
      expect(res.status).toBe(200)
      expect(m.last()).toMatchObject({ scheme: "http", host: "test.com" })
      expect(m.last().headers.referer).toBeUndefined()
    }))

  /** the curl cases: the transport's credentials (the URL's user info) after a redirect from `from` */
  const credentialsAfter = (from: string, location: string) =>
    Effect.gen(function*() {
      const m = yield* mock([302, { location }], [200])
      const url = new URL(from)
      url.username = "testuser"
      url.password = "testpass"
      const res = yield* Loopback.exchange(m.follow(), HttpClientRequest.get(url.href))
      expect(res.status).toBe(200)
      // the first hop carried them
      expect(m.seen[0]!.headers.authorization).toBe(basic("testuser", "testpass"))
      return m.last().headers.authorization
    })

  it.scopedLive("testRemoveCurlAuthorizationOptionsOnRedirectCrossHost", () =>
    Effect.gen(function*() {
      expect(yield* credentialsAfter("http://example.com?a=b", "http://test.com")).toBeUndefined()
    }))

  it.scopedLive("testRemoveCurlAuthorizationOptionsOnRedirectCrossPort", () =>
    Effect.gen(function*() {
      expect(yield* credentialsAfter("http://example.com?a=b", "http://example.com:81/")).toBeUndefined()
    }))

  it.scopedLive("testRemoveCurlAuthorizationOptionsOnRedirectCrossScheme", () =>
    Effect.gen(function*() {
      expect(yield* credentialsAfter("https://example.com?a=b", "http://example.com?a=b")).toBeUndefined()
    }))

  it.scopedLive("testRemoveCurlAuthorizationOptionsOnRedirectCrossSchemeSamePort", () =>
    Effect.gen(function*() {
      expect(yield* credentialsAfter("https://example.com?a=b", "http://example.com:80?a=b")).toBeUndefined()
    }))

  it.scopedLive("testNotRemoveCurlAuthorizationOptionsOnRedirect", () =>
    Effect.gen(function*() {
      expect(yield* credentialsAfter("http://example.com?a=b", "http://example.com/2")).toBe(
        basic("testuser", "testpass")
      )
    }))

  // crossOriginRedirectProvider
  it.scopedLive.each(
    [
      ["http://example.com/123", "http://example.com/", false],
      ["http://example.com/123", "http://example.com:80/", false],
      ["http://example.com:80/123", "http://example.com/", false],
      ["http://example.com:80/123", "http://example.com:80/", false],
      ["http://example.com/123", "https://example.com/", true],
      ["http://example.com/123", "http://www.example.com/", true],
      ["http://example.com/123", "http://example.com:81/", true],
      ["http://example.com:80/123", "http://example.com:81/", true],
      ["https://example.com/123", "https://example.com/", false],
      ["https://example.com/123", "https://example.com:443/", false],
      ["https://example.com:443/123", "https://example.com/", false],
      ["https://example.com:443/123", "https://example.com:443/", false],
      ["https://example.com/123", "http://example.com/", true],
      ["https://example.com/123", "https://www.example.com/", true],
      ["https://example.com/123", "https://example.com:444/", true],
      ["https://example.com:443/123", "https://example.com:444/", true]
    ] as const
  )(
    "testHeadersTreatmentOnRedirect %s → %s (cross-origin: %s)",
    ([originalUri, targetUri, isCrossOrigin]) =>
      Effect.gen(function*() {
        const m = yield* mock([302, { location: targetUri }], [200])
        const res = yield* Loopback.exchange(
          m.follow(),
          HttpClientRequest.get(originalUri, {
            headers: { authorization: basic("testuser", "testpass"), cookie: "foo=bar" }
          })
        )
        expect(res.status).toBe(200)
        expect(m.seen.length).toBe(2)
        expect(m.last().headers.authorization !== undefined).toBe(!isCrossOrigin)
        expect(m.last().headers.cookie !== undefined).toBe(!isCrossOrigin)
      })
  )

  it.scopedLive("testNotRemoveAuthorizationHeaderOnRedirect", () =>
    Effect.gen(function*() {
      const m = yield* mock([302, { location: "http://example.com/2" }], [200])
      yield* Loopback.exchange(
        m.follow(),
        HttpClientRequest.get("http://example.com?a=b", { headers: { authorization: basic("testuser", "testpass") } })
      )
      expect(m.last().url).toBe("/2")
      expect(m.last().headers.authorization).toBe(basic("testuser", "testpass"))
    }))

  // modifyRequestFollowRequyestMethodAndBodyProvider: the method Guzzle follows with, and Sturdy's after a 302
  it.scopedLive.each(
    [
      ["DELETE", "GET", "DELETE"],
      ["GET", "GET", "GET"],
      ["HEAD", "HEAD", "HEAD"],
      ["OPTIONS", "OPTIONS", "OPTIONS"],
      ["PATCH", "GET", "PATCH"],
      ["POST", "GET", "GET"],
      ["PUT", "GET", "PUT"]
    ] as const
  )("testModifyRequestFollowRequestMethodAndBody %s", ([method, _guzzle, sturdy]) =>
    Effect.gen(function*() {
      // Difference: only a POST becomes a GET after a 301 or 302 (fetch); Guzzle makes a GET of DELETE, PATCH and PUT too
      const m = yield* mock([302, { location: "http://example.com/" }], [200])
      yield* Loopback.exchange(m.follow(), HttpClientRequest.make(method)("http://example.com/"))
      expect(m.seen.map((s) => s.method)).toEqual([method, sturdy])
      // the follow-up has an empty body, as in Guzzle
      expect(m.last().body).toBe("")
      expect(m.last().headers["content-length"] ?? "0").toBe("0")
    }))
})
