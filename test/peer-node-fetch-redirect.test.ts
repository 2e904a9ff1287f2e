/**
 * node-fetch's redirect cases, ported to `Redirect.follow` over `@sturdy/node`'s undici transport (and, where the
 * behaviour belongs to the attempt, `Attempt.send` and `SturdyClient`) against real node:http servers on 127.0.0.1.
 * Source: github.com/node-fetch/node-fetch at 8b3320d2a7c07bce4afc6b2bf6c3bbddda85b01f, `test/main.js` (the
 * `redirect/*` and `redirect-to/*` routes of `test/utils/server.js` re-created below, and the two AbortController
 * cases that abort a redirect chain). The peer's `http://localhost:<port>/` is `http://127.0.0.1:<port>/`; its
 * third parties (`https://httpbin.org`, `https://github.com`) are a second loopback server (another port, so another
 * origin) or, for the https → http case, two loopback servers behind `Loopback.virtualHosts` under one host name.
 * One `it` per peer case, named after it.
 *
 * Mapping: `redirect: 'follow'` (the default) is a client with `Redirect.follow()`; `follow: n` is
 * `Redirect.follow({ maxRedirects: n })`; `redirect: 'manual'` is a client without `Redirect.follow` (the 3xx is the
 * response); `redirect: 'error'` is `Attempt.send` on such a client (a 3xx fails with `UnexpectedStatus`); `res.url` is
 * the final response's `request.url` (`Loopback.exchange`'s `url`); `res.redirected` is whether it differs from the
 * first URL (Sturdy keeps no flag); FetchError `max-redirect` is `RedirectFailed` `TooMany`; the "invalid redirect URL"
 * FetchError is `RedirectFailed` `InvalidLocation`; `AbortController.abort()` after a delay is an attempt `timeout`
 * on the TestClock (`HttpFailure.Timeout` `Attempt`).
 *
 * Deliberate differences (each test says which): a 307 with a body read once (a stream) returns the 307, where
 * node-fetch rejects with FetchError `unsupported-redirect`; the secret headers node-fetch drops on a hop to another
 * host or scheme (`Cookie`, `Cookie2`, `Authorization`, `WWW-Authenticate`) Sturdy drops too, as `Host` and every
 * secret-named header, and on any other origin, a subdomain or another port included (node-fetch keeps them on a hop
 * to a subdomain of the same scheme); an invalid redirect option is `Redirect.follow`'s `maxRedirects` out of range (a `RangeError` when the middleware is
 * built), Sturdy having no redirect-mode option.
 *
 * Not ported: `isDomainOrSubdomain` and `isSameProtocol` (unit tests of node-fetch internals; note that node-fetch
 * keeps secrets on a hop to a subdomain, where Sturdy drops them on any other origin); the AbortController cases
 * that concern a signal's listeners or a polyfill; `test/referrer.js` (Referrer-Policy, which Sturdy does not
 * implement). node-fetch has no case for a `Location` with a non-HTTP scheme (`test/redirect-loopback.test.ts`
 * covers `file:`).
 */
import { HttpBody, HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Attempt, HttpFailure, Redirect, SturdyClient } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { Effect, Exit, Fiber, Schema, Stream, TestClock } from "effect"
import { Readable } from "node:stream"
import * as Loopback from "./utils/loopbackServer.js"
import { failureOf, realPause } from "./utils/retryHarness.js"

type Routes = Record<string, Loopback.Handler>

const redirect = (status: number, location: string): Loopback.Handler => (_, res) => {
  res.statusCode = status
  res.setHeader("Location", location)
  res.end()
}

/** `/inspect`: what the server received, as JSON */
const inspect: Loopback.Handler = (req, res, body) => {
  const text = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body })
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) })
  res.end(text)
}

/** `/redirect-to?status_code=302&url=...` (httpbin's form; the peer's own server takes them in the path) */
const redirectTo: Loopback.Handler = (req, res) => {
  const query = new URL(req.url ?? "/", "http://x").searchParams
  res.statusCode = Number(query.get("status_code"))
  res.setHeader("Location", query.get("url") ?? "")
  res.end()
}

/** the routes of the peer's `test/utils/server.js` these cases use */
const routes: Routes = {
  "/hello": Loopback.text(200, "text/plain", "world"),
  "/inspect": inspect,
  "/redirect/301": redirect(301, "/inspect"),
  "/redirect/302": redirect(302, "/inspect"),
  "/redirect/303": redirect(303, "/inspect"),
  "/redirect/307": redirect(307, "/inspect"),
  "/redirect/308": redirect(308, "/inspect"),
  "/redirect/chain": redirect(301, "/redirect/301"),
  "/redirect/301/invalid": redirect(301, "//super:invalid:url%/"),
  "/redirect/301/otherhost": redirect(301, "https://github.com/node-fetch"),
  "/redirect/no-location": (_, res) => {
    res.statusCode = 301
    res.end()
  },
  "/redirect/bad-location": (_, res) => {
    res.socket!.write("HTTP/1.1 301\r\nLocation: <>\r\nContent-Length: 0\r\n")
    res.socket!.end("\r\n")
  },
  "/redirect/chunked": (_, res) => {
    res.writeHead(301, { Location: "/inspect", "Transfer-Encoding": "chunked" })
    // the peer ends the empty chunked body 10 ms later: the client must wait for it, then follow
    setTimeout(() => res.end(), 10)
  },
  // the peer ends it after 1 s; the attempt's timeout ends the call first, so it never ends here
  "/redirect/slow": (_, res) => {
    res.statusCode = 301
    res.setHeader("Location", "/redirect/301")
  },
  "/redirect/slow-stream": redirect(301, "/slow"),
  // the peer sends the rest after 1 s; here never (the attempt's timeout ends the call first)
  "/slow": (_, res) => {
    res.writeHead(200, { "Content-Type": "text/plain" })
    res.write("test")
  },
  "/redirect-to": redirectTo
}

const agentClient = Effect.map(UndiciHttpClient.makeDispatcher(), UndiciHttpClient.make)

/** the peer's server, a client following redirects (`maxRedirects` given: `follow`) and one that does not (`manual`) */
const setup = (maxRedirects?: number) =>
  Effect.gen(function*() {
    const server = yield* Loopback.start(routes)
    const manual = yield* agentClient
    const following = manual.pipe(Redirect.follow(maxRedirects === undefined ? {} : { maxRedirects }))
    return { server, base: `${server.url}/`, manual, following }
  })

const post = (method: "POST" | "PATCH" | "PUT", url: string, body: string) =>
  HttpClientRequest.make(method)(url).pipe(HttpClientRequest.bodyText(body))

const Inspected = Schema.Struct({
  method: Schema.String,
  url: Schema.String,
  headers: Schema.Record({ key: Schema.String, value: Schema.String }),
  body: Schema.String
})

describe("node-fetch test/main.js: redirects", () => {
  for (const code of [301, 302, 303, 307, 308]) {
    it.scopedLive(`should follow redirect code ${code}`, () =>
      Effect.gen(function*() {
        const { base, following, server } = yield* setup()
        const res = yield* Loopback.exchange(following, HttpClientRequest.get(`${base}redirect/${code}`))
        expect(res.url).toBe(`${base}inspect`)
        expect(res.status).toBe(200)
        expect(server.hits("/inspect")).toBe(1)
      }))
  }

  it.scopedLive("should follow redirect chain", () =>
    Effect.gen(function*() {
      const { base, following, server } = yield* setup()
      const res = yield* Loopback.exchange(following, HttpClientRequest.get(`${base}redirect/chain`))
      expect(res.url).toBe(`${base}inspect`)
      expect(res.status).toBe(200)
      expect(server.requests.map((r) => r.url)).toEqual(["/redirect/chain", "/redirect/301", "/inspect"])
    }))

  it.scopedLive("should follow POST request redirect code 301 with GET", () =>
    Effect.gen(function*() {
      const { base, following } = yield* setup()
      const res = yield* Loopback.exchange(following, post("POST", `${base}redirect/301`, "a=1"))
      expect(res.url).toBe(`${base}inspect`)
      expect(res.status).toBe(200)
      const result = res.json()
      expect(result.method).toBe("GET")
      expect(result.body).toBe("")
      // dropping the body drops its headers too (Redirect's documentation)
      expect(result.headers["content-type"]).toBeUndefined()
      expect(result.headers["content-length"]).toBeUndefined()
    }))

  it.scopedLive("should follow PATCH request redirect code 301 with PATCH", () =>
    Effect.gen(function*() {
      const { base, following } = yield* setup()
      const res = yield* Loopback.exchange(following, post("PATCH", `${base}redirect/301`, "a=1"))
      expect(res.url).toBe(`${base}inspect`)
      expect(res.status).toBe(200)
      expect(res.json().method).toBe("PATCH")
      expect(res.json().body).toBe("a=1")
    }))

  it.scopedLive("should follow POST request redirect code 302 with POST", () =>
    Effect.gen(function*() {
      // the peer's name says POST, its assertions GET: a POST answered 302 is repeated as a GET without body
      const { base, following } = yield* setup()
      const res = yield* Loopback.exchange(following, post("POST", `${base}redirect/302`, "a=1"))
      expect(res.url).toBe(`${base}inspect`)
      expect(res.status).toBe(200)
      expect(res.json().method).toBe("GET")
      expect(res.json().body).toBe("")
    }))

  it.scopedLive("should follow PATCH request redirect code 302 with PATCH", () =>
    Effect.gen(function*() {
      const { base, following } = yield* setup()
      const res = yield* Loopback.exchange(following, post("PATCH", `${base}redirect/302`, "a=1"))
      expect(res.url).toBe(`${base}inspect`)
      expect(res.status).toBe(200)
      expect(res.json().method).toBe("PATCH")
      expect(res.json().body).toBe("a=1")
    }))

  it.scopedLive("should follow redirect code 303 with GET", () =>
    Effect.gen(function*() {
      // through SturdyClient (a PUT, which the client sends once: no policy), decoding the final JSON
      const { base, manual } = yield* setup()
      const api = SturdyClient.makeWith(manual, { baseUrl: base, transformClient: Redirect.follow() })
      const result = yield* api.put("redirect/303", { body: HttpBody.text("a=1"), schema: Inspected })
      expect(result.method).toBe("GET")
      expect(result.url).toBe("/inspect")
      expect(result.body).toBe("")
    }))

  it.scopedLive("should follow PATCH request redirect code 307 with PATCH", () =>
    Effect.gen(function*() {
      const { base, following } = yield* setup()
      const res = yield* Loopback.exchange(following, post("PATCH", `${base}redirect/307`, "a=1"))
      expect(res.url).toBe(`${base}inspect`)
      expect(res.status).toBe(200)
      expect(res.json().method).toBe("PATCH")
      expect(res.json().body).toBe("a=1")
      expect(res.json().headers["content-length"]).toBe("3")
    }))

  it.scopedLive("should not follow non-GET redirect if body is a readable stream", () =>
    Effect.gen(function*() {
      // node-fetch rejects with FetchError `unsupported-redirect`; Sturdy (Redirect's table: a body read once cannot
      // be sent twice) returns the 307, which an attempt then fails with `UnexpectedStatus`
      const { base, following, server } = yield* setup()
      const request = () =>
        HttpClientRequest.patch(`${base}redirect/307`).pipe(
          HttpClientRequest.setBody(HttpBody.raw(Readable.from("tada")))
        )
      const res = yield* Loopback.exchange(following, request())
      expect(res.status).toBe(307)
      expect(res.url).toBe(`${base}redirect/307`)
      const failure = failureOf(yield* Effect.exit(Attempt.send(following, request())))
      expect(failure).toBeInstanceOf(HttpFailure.UnexpectedStatus)
      expect((failure as HttpFailure.UnexpectedStatus).status).toBe(307)
      // an Effect `Stream` body alike
      const fromStream = yield* Loopback.exchange(
        following,
        HttpClientRequest.patch(`${base}redirect/307`).pipe(
          HttpClientRequest.bodyStream(Stream.make(new TextEncoder().encode("tada")))
        )
      )
      expect(fromStream.status).toBe(307)
      expect(server.hits("/inspect")).toBe(0)
      expect(server.requests.filter((r) => r.url === "/redirect/307").map((r) => r.body)).toEqual([
        "tada",
        "tada",
        "tada"
      ])
    }))

  it.scopedLive("should obey maximum redirect, reject case", () =>
    Effect.gen(function*() {
      const { base, following, server } = yield* setup(1)
      const failure = failureOf(
        yield* Effect.exit(Attempt.send(following, HttpClientRequest.get(`${base}redirect/chain`)))
      )
      expect(failure).toBeInstanceOf(HttpFailure.RedirectFailed)
      const redirectFailed = failure as HttpFailure.RedirectFailed
      expect(redirectFailed.reason).toBe("TooMany")
      expect(redirectFailed.redirects).toBe(1)
      expect(server.hits("/inspect")).toBe(0)
    }))

  it.scopedLive("should obey redirect chain, resolve case", () =>
    Effect.gen(function*() {
      const { base, following } = yield* setup(2)
      const res = yield* Loopback.exchange(following, HttpClientRequest.get(`${base}redirect/chain`))
      expect(res.url).toBe(`${base}inspect`)
      expect(res.status).toBe(200)
    }))

  it.scopedLive("should allow not following redirect", () =>
    Effect.gen(function*() {
      const { base, following, server } = yield* setup(0)
      const failure = failureOf(
        yield* Effect.exit(Attempt.send(following, HttpClientRequest.get(`${base}redirect/301`)))
      )
      expect(failure).toMatchObject({ _tag: "RedirectFailed", reason: "TooMany", redirects: 0, status: 301 })
      expect(server.hits("/inspect")).toBe(0)
    }))

  it.scopedLive("should support redirect mode, manual flag", () =>
    Effect.gen(function*() {
      const { base, manual } = yield* setup()
      const url = `${base}redirect/301`
      const res = yield* Loopback.exchange(manual, HttpClientRequest.get(url))
      expect(res.url).toBe(url)
      expect(res.status).toBe(301)
      expect(res.headers.location).toBe("/inspect")
      expect(new URL(res.headers.location!, url).href).toBe(`${base}inspect`)
    }))

  it.scopedLive("should support redirect mode, manual flag, broken Location header", () =>
    Effect.gen(function*() {
      const { base, manual } = yield* setup()
      const url = `${base}redirect/bad-location`
      const res = yield* Loopback.exchange(manual, HttpClientRequest.get(url))
      expect(res.url).toBe(url)
      expect(res.status).toBe(301)
      expect(res.headers.location).toBe("<>")
      expect(new URL(res.headers.location!, url).href).toBe(`${base}redirect/%3C%3E`)
    }))

  it.scopedLive("should support redirect mode to other host, manual flag", () =>
    Effect.gen(function*() {
      const { base, manual } = yield* setup()
      const url = `${base}redirect/301/otherhost`
      const res = yield* Loopback.exchange(manual, HttpClientRequest.get(url))
      expect(res.url).toBe(url)
      expect(res.status).toBe(301)
      expect(res.headers.location).toBe("https://github.com/node-fetch")
    }))

  it.scopedLive("should support redirect mode, error flag", () =>
    Effect.gen(function*() {
      const { base, manual, server } = yield* setup()
      const failure = failureOf(yield* Effect.exit(Attempt.send(manual, HttpClientRequest.get(`${base}redirect/301`))))
      expect(failure).toBeInstanceOf(HttpFailure.UnexpectedStatus)
      expect((failure as HttpFailure.UnexpectedStatus).status).toBe(301)
      expect((failure as HttpFailure.UnexpectedStatus).headers.location).toBe("/inspect")
      expect(server.hits("/inspect")).toBe(0)
    }))

  it.scopedLive("should support redirect mode, manual flag when there is no redirect", () =>
    Effect.gen(function*() {
      const { base, manual } = yield* setup()
      const url = `${base}hello`
      const res = yield* Loopback.exchange(manual, HttpClientRequest.get(url))
      expect(res.url).toBe(url)
      expect(res.status).toBe(200)
      expect(res.headers.location).toBeUndefined()
      expect(res.text).toBe("world")
    }))

  it.scopedLive("should follow redirect code 301 and keep existing headers", () =>
    Effect.gen(function*() {
      const { base, following } = yield* setup()
      const res = yield* Loopback.exchange(
        following,
        HttpClientRequest.get(`${base}redirect/301`).pipe(HttpClientRequest.setHeader("x-custom-header", "abc"))
      )
      expect(res.url).toBe(`${base}inspect`)
      expect(res.json().headers["x-custom-header"]).toBe("abc")
    }))

  const secureHeaders = (value: (name: string) => string) => ({
    cookie: value("cookie"),
    cookie2: value("cookie2"),
    authorization: value("authorization"),
    "www-authenticate": value("www-authenticate"),
    "other-safe-headers": "stays",
    "x-foo": "bar"
  })

  it.scopedLive("should not forward secure headers to 3th party", () =>
    Effect.gen(function*() {
      const { base, following, server } = yield* setup()
      const thirdParty = yield* Loopback.start({ "/get": inspect })
      const location = encodeURIComponent(`${thirdParty.url}/get`)
      const res = yield* Loopback.exchange(
        following,
        HttpClientRequest.get(`${base}redirect-to?status_code=302&url=${location}`).pipe(
          HttpClientRequest.setHeaders(secureHeaders(() => "gets=removed"))
        )
      )
      expect(res.url).toBe(`${thirdParty.url}/get`)
      const headers = res.json().headers
      // safe headers are not removed
      expect(headers["other-safe-headers"]).toBe("stays")
      expect(headers["x-foo"]).toBe("bar")
      // unsafe headers are not sent to the third party
      expect(headers.cookie).toBeUndefined()
      expect(headers.cookie2).toBeUndefined()
      expect(headers["www-authenticate"]).toBeUndefined()
      expect(headers.authorization).toBeUndefined()
      // the first origin had them all
      expect(server.requests[0]!.headers.authorization).toBe("gets=removed")
      expect(server.requests[0]!.headers.cookie2).toBe("gets=removed")
    }))

  it.scopedLive("should forward secure headers to same host", () =>
    Effect.gen(function*() {
      const { base, following } = yield* setup()
      const res = yield* Loopback.exchange(
        following,
        HttpClientRequest.get(`${base}redirect-to?status_code=302&url=${encodeURIComponent(`${base}inspect`)}`).pipe(
          HttpClientRequest.setHeaders(secureHeaders((name) => `is=${name}`))
        )
      )
      expect(res.url).toBe(`${base}inspect`)
      const headers = res.json().headers
      expect(headers["other-safe-headers"]).toBe("stays")
      expect(headers["x-foo"]).toBe("bar")
      expect(headers.cookie).toBe("is=cookie")
      expect(headers.cookie2).toBe("is=cookie2")
      expect(headers["www-authenticate"]).toBe("is=www-authenticate")
      expect(headers.authorization).toBe("is=authorization")
    }))

  it.scopedLive("should not forward secure headers to changed protocol", () =>
    Effect.gen(function*() {
      // https://httpbin.test and http://httpbin.test are two loopback servers under one name
      const secure = yield* Loopback.start({ "/redirect-to": redirectTo }, { tls: Loopback.loopbackTls })
      const plain = yield* Loopback.start({ "/get": inspect })
      const agent = yield* Loopback.virtualHosts({ http: plain, https: secure }, Loopback.loopbackTls.cert)
      const following = UndiciHttpClient.make(agent).pipe(Redirect.follow())
      const res = yield* Loopback.exchange(
        following,
        HttpClientRequest.get("https://httpbin.test/redirect-to?url=http%3A%2F%2Fhttpbin.test%2Fget&status_code=302")
          .pipe(HttpClientRequest.setHeaders(secureHeaders(() => "gets=removed")))
      )
      expect(res.url).toBe("http://httpbin.test/get")
      const headers = res.json().headers
      expect(headers["other-safe-headers"]).toBe("stays")
      expect(headers["x-foo"]).toBe("bar")
      expect(headers.cookie).toBeUndefined()
      expect(headers.cookie2).toBeUndefined()
      expect(headers["www-authenticate"]).toBeUndefined()
      expect(headers.authorization).toBeUndefined()
      expect(secure.requests[0]!.headers.authorization).toBe("gets=removed")
    }))

  it.scopedLive("should treat broken redirect as ordinary response (follow)", () =>
    Effect.gen(function*() {
      const { base, following } = yield* setup()
      const url = `${base}redirect/no-location`
      const res = yield* Loopback.exchange(following, HttpClientRequest.get(url))
      expect(res.url).toBe(url)
      expect(res.status).toBe(301)
      expect(res.headers.location).toBeUndefined()
      // as an attempt, an unfollowed 3xx is `UnexpectedStatus`
      const failure = failureOf(yield* Effect.exit(Attempt.send(following, HttpClientRequest.get(url))))
      expect(failure).toMatchObject({ _tag: "UnexpectedStatus", status: 301 })
    }))

  it.scopedLive("should treat broken redirect as ordinary response (manual)", () =>
    Effect.gen(function*() {
      const { base, manual } = yield* setup()
      const url = `${base}redirect/no-location`
      const res = yield* Loopback.exchange(manual, HttpClientRequest.get(url))
      expect(res.url).toBe(url)
      expect(res.status).toBe(301)
      expect(res.headers.location).toBeUndefined()
    }))

  it.scopedLive("should process an invalid redirect (manual)", () =>
    Effect.gen(function*() {
      const { base, manual } = yield* setup()
      const url = `${base}redirect/301/invalid`
      const res = yield* Loopback.exchange(manual, HttpClientRequest.get(url))
      expect(res.url).toBe(url)
      expect(res.status).toBe(301)
      expect(res.headers.location).toBe("//super:invalid:url%/")
    }))

  it.scopedLive("should throw an error on invalid redirect url", () =>
    Effect.gen(function*() {
      const { base, following, server } = yield* setup()
      const url = `${base}redirect/301/invalid`
      const failure = failureOf(yield* Effect.exit(Attempt.send(following, HttpClientRequest.get(url))))
      expect(failure).toBeInstanceOf(HttpFailure.RedirectFailed)
      expect(failure).toMatchObject({ reason: "InvalidLocation", status: 301, redirects: 0 })
      expect((failure as HttpFailure.RedirectFailed).message).toContain("//super:invalid:url%/")
      expect(server.requests.map((r) => r.url)).toEqual(["/redirect/301/invalid"])
    }))

  it.scopedLive("should throw a TypeError on an invalid redirect option", () =>
    Effect.gen(function*() {
      // Sturdy has no redirect mode; its one redirect option, out of range, is refused when the middleware is built
      const { manual } = yield* setup()
      for (const maxRedirects of [-1, 1.5, Number.NaN]) {
        expect(() => manual.pipe(Redirect.follow({ maxRedirects }))).toThrow(RangeError)
      }
    }))

  it.scopedLive("should set redirected property on response when redirect", () =>
    Effect.gen(function*() {
      const { base, following } = yield* setup()
      const url = `${base}redirect/301`
      const res = yield* Loopback.exchange(following, HttpClientRequest.get(url))
      expect(res.url).not.toBe(url)
    }))

  it.scopedLive("should not set redirected property on response without redirect", () =>
    Effect.gen(function*() {
      const { base, following } = yield* setup()
      const url = `${base}hello`
      const res = yield* Loopback.exchange(following, HttpClientRequest.get(url))
      expect(res.url).toBe(url)
    }))

  it.scopedLive("should follow redirect after empty chunked transfer-encoding", () =>
    Effect.gen(function*() {
      const { base, following } = yield* setup()
      const received = yield* Attempt.send(following, HttpClientRequest.get(`${base}redirect/chunked`))
      expect(received.status).toBe(200)
      expect(received.response.request.url).toBe(`${base}inspect`)
    }))
})

describe("node-fetch test/main.js: AbortController and redirects (as an attempt timeout on the TestClock)", () => {
  /** starts `call`, waits (real time) until the server has seen `requests`, then moves the TestClock by `millis` */
  const timedOut = <A, E>(
    call: Effect.Effect<A, E>,
    server: Loopback.LoopbackServer,
    requests: number,
    millis: number
  ) =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(call)
      for (let i = 0; i < 500 && server.requests.length < requests; i++) yield* realPause
      expect(server.requests.length).toBe(requests)
      yield* TestClock.adjust(millis)
      return yield* Fiber.await(fiber)
    })

  it.scoped("should allow redirects to be aborted", () =>
    Effect.gen(function*() {
      // the peer aborts after 20 ms while the first hop's answer is held; the attempt's timeout covers every hop
      const { base, following, server } = yield* setup()
      const exit = yield* timedOut(
        Attempt.send(following, HttpClientRequest.get(`${base}redirect/slow`), { timeout: "20 millis" }),
        server,
        1,
        20
      )
      expect(Exit.isFailure(exit)).toBe(true)
      expect(failureOf(exit)).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect(server.hits("/redirect/301")).toBe(0)
    }))

  it.scoped("should allow redirected response body to be aborted", () =>
    Effect.gen(function*() {
      // through SturdyClient: the redirect is followed, the body of /slow stalls after "test", the timeout ends it
      const { base, manual, server } = yield* setup()
      const api = SturdyClient.makeWith(manual, { baseUrl: base, transformClient: Redirect.follow() })
      const exit = yield* timedOut(api.get("redirect/slow-stream", { timeout: "1 second" }), server, 2, 1000)
      const failure = failureOf(exit)
      expect(failure).toBeInstanceOf(HttpFailure.Timeout)
      expect(failure).toMatchObject({ phase: "Attempt" })
      expect(server.requests.map((r) => r.url)).toEqual(["/redirect/slow-stream", "/slow"])
    }))
})
