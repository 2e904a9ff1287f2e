import { FetchHttpClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Attempt, Auth, HttpFailure, Redaction, Redirect } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { Effect, Either, Inspectable, Layer, Redacted, Schema } from "effect"
import type * as Scope from "effect/Scope"
import * as Fs from "node:fs"
import type * as Http from "node:http"
import * as Https from "node:https"
import type * as Net from "node:net"
import * as Path from "node:path"
import { Agent } from "undici"
import * as Loopback from "./utils/loopbackServer.js"

// A self-signed certificate for 127.0.0.1, for the https side of the downgrade (test only).
const fixtures = Path.join(import.meta.dirname, "fixtures")
const cert = Fs.readFileSync(Path.join(fixtures, "loopback-cert.pem"))
const key = Fs.readFileSync(Path.join(fixtures, "loopback-key.pem"))

/** The transports the redirect rules are checked on; fetch follows by itself unless told `redirect: "manual"`. */
const transports: ReadonlyArray<readonly [string, Layer.Layer<HttpClient.HttpClient>]> = [
  ["NodeHttpClient.layerUndici", NodeHttpClient.layerUndici],
  ["NodeHttpClient.layer", NodeHttpClient.layer],
  [
    "FetchHttpClient.layer (redirect: manual)",
    FetchHttpClient.layer.pipe(Layer.provide(Layer.succeed(FetchHttpClient.RequestInit, { redirect: "manual" })))
  ],
  ["@sturdy/node UndiciHttpClient.layer", UndiciHttpClient.layer()]
]

const secretHeaders = {
  authorization: "Bearer REDIRECT-BEARER-1",
  cookie: "sid=REDIRECT-COOKIE-2",
  "proxy-authorization": "Basic UkVESVJFQ1QtUFJPWFktMw==",
  "x-api-key": "REDIRECT-APIKEY-4",
  "x-auth-token": "REDIRECT-TOKEN-5",
  "x-tenant": "REDIRECT-TENANT-6"
}
const plainHeaders = { "x-request-id": "req-1", accept: "application/json" }
const stripped = ["authorization", "cookie", "proxy-authorization", "x-api-key", "x-auth-token"]

/** Answers a redirect to `location(server)` with `status`. */
const redirect = (status: number, location: string): Loopback.Handler => (_, res) => {
  res.writeHead(status, { location, "content-type": "text/plain" })
  res.end("moved")
}

const landing: Loopback.Handler = Loopback.json(200, { landed: true })

/** Two origins on loopback: `a` redirects, `b` records what arrives. */
const twoOrigins = Effect.gen(function*() {
  const b = yield* Loopback.start({ "/landing": landing })
  const a = yield* Loopback.start({
    "/to-b-307": redirect(307, `${b.url}/landing?page=2`),
    "/to-b-308": redirect(308, `${b.url}/landing`),
    "/to-b-301": redirect(301, `${b.url}/landing`),
    "/to-b-302": redirect(302, `${b.url}/landing`),
    "/to-b-303": redirect(303, `${b.url}/landing`),
    "/to-b-scheme-relative": redirect(302, `//127.0.0.1:${b.port}/landing`),
    "/same-302": redirect(302, "/landing"),
    "/same-307": redirect(307, "/landing"),
    "/landing": landing,
    "/loop": redirect(302, "/loop"),
    // node writes a header string one byte a character: these are the UTF-8 bytes of "/café?q=ü"
    "/utf8": redirect(302, Buffer.from("/café?q=ü", "utf8").toString("latin1")),
    // and this the single Latin-1 byte 0xE9, which is not UTF-8
    "/latin1": redirect(302, "/caf\u00e9"),
    "/caf%C3%A9": landing,
    "/file": redirect(302, "file:///etc/passwd?token=LOCATION-TOKEN-7"),
    "/garbage": redirect(302, "http://[::1"),
    "/no-location": (_, res) => {
      res.writeHead(302, { "content-type": "text/plain" })
      res.end()
    }
  })
  return { a, b }
})

const send = (client: HttpClient.HttpClient.With<any>, request: HttpClientRequest.HttpClientRequest) =>
  Effect.scoped(Effect.flatMap(client.execute(request), (response) => Effect.as(response.text, response.status)))

const lastRequest = (server: Loopback.LoopbackServer) => server.requests[server.requests.length - 1]

describe.each(transports)("Redirect.follow over %s", (_, transport) => {
  it.scopedLive("a cross-origin 307 keeps method and body but drops every secret header", () =>
    Effect.gen(function*() {
      const { a, b } = yield* twoOrigins
      const client = (yield* HttpClient.HttpClient).pipe(Redirect.follow())
      const status = yield* send(
        client,
        HttpClientRequest.post(`${a.url}/to-b-307`, {
          headers: { ...secretHeaders, ...plainHeaders },
          urlParams: { access_token: "REDIRECT-QUERY-8" }
        }).pipe(HttpClientRequest.bodyUnsafeJson({ n: 1 }))
      )
      expect(status).toBe(200)
      const arrived = lastRequest(b)
      expect(arrived.method).toBe("POST")
      expect(arrived.body).toBe(`{"n":1}`)
      expect(arrived.headers["content-type"]).toBe("application/json")
      // the Location is the whole target: the first URL's query does not follow
      expect(arrived.url).toBe("/landing?page=2")
      for (const name of stripped) expect(arrived.headers[name]).toBeUndefined()
      expect(arrived.headers["x-request-id"]).toBe("req-1")
      // the tenant header is not secret by name: it follows until the user says it is
      expect(arrived.headers["x-tenant"]).toBe("REDIRECT-TENANT-6")
    }).pipe(Effect.provide(transport)))

  it.scopedLive("names added with Redaction.withSecretNames are dropped too", () =>
    Effect.gen(function*() {
      const { a, b } = yield* twoOrigins
      const client = (yield* HttpClient.HttpClient).pipe(Redirect.follow())
      yield* send(client, HttpClientRequest.get(`${a.url}/to-b-308`, { headers: secretHeaders })).pipe(
        Redaction.withSecretNames(["x-tenant"])
      )
      expect(lastRequest(b).headers["x-tenant"]).toBeUndefined()
    }).pipe(Effect.provide(transport)))

  it.scopedLive("a protocol-relative Location keeps the scheme, and another host:port there is another origin", () =>
    Effect.gen(function*() {
      const { a, b } = yield* twoOrigins
      const client = (yield* HttpClient.HttpClient).pipe(Redirect.follow())
      const status = yield* send(
        client,
        HttpClientRequest.get(`${a.url}/to-b-scheme-relative`, { headers: { ...secretHeaders, ...plainHeaders } })
      )
      expect(status).toBe(200)
      const arrived = lastRequest(b)
      expect(arrived.url).toBe("/landing")
      expect(arrived.headers.host).toBe(`127.0.0.1:${b.port}`)
      for (const name of stripped) expect(arrived.headers[name]).toBeUndefined()
      expect(arrived.headers["x-request-id"]).toBe("req-1")
    }).pipe(Effect.provide(transport)))

  it.scopedLive("a same-origin redirect keeps every header", () =>
    Effect.gen(function*() {
      const { a } = yield* twoOrigins
      const client = (yield* HttpClient.HttpClient).pipe(Redirect.follow())
      yield* send(client, HttpClientRequest.get(`${a.url}/same-302`, { headers: secretHeaders }))
      const arrived = lastRequest(a)
      expect(arrived.url).toBe("/landing")
      expect(arrived.headers.authorization).toBe(secretHeaders.authorization)
      expect(arrived.headers["x-api-key"]).toBe(secretHeaders["x-api-key"])
      expect(arrived.headers.cookie).toBe(secretHeaders.cookie)
      yield* send(
        client,
        HttpClientRequest.put(`${a.url}/same-307`).pipe(HttpClientRequest.bodyText("kept", "text/plain"))
      )
      expect(lastRequest(a)).toMatchObject({ method: "PUT", body: "kept", url: "/landing" })
    }).pipe(Effect.provide(transport)))

  it.scopedLive("303 turns a POST into a GET without body; 301 and 302 do so for POST only", () =>
    Effect.gen(function*() {
      const { a, b } = yield* twoOrigins
      const client = (yield* HttpClient.HttpClient).pipe(Redirect.follow())
      const post = (path: string) =>
        HttpClientRequest.post(`${a.url}${path}`).pipe(HttpClientRequest.bodyUnsafeJson({ n: 1 }))
      for (const path of ["/to-b-303", "/to-b-301", "/to-b-302"]) {
        yield* send(client, post(path))
        const arrived = lastRequest(b)
        expect([path, arrived.method, arrived.body]).toEqual([path, "GET", ""])
        expect(arrived.headers["content-type"]).toBeUndefined()
        expect(arrived.headers["content-length"]).toBeUndefined()
      }
      yield* send(client, HttpClientRequest.del(`${a.url}/to-b-303`))
      expect(lastRequest(b).method).toBe("GET")
      yield* send(client, HttpClientRequest.put(`${a.url}/to-b-302`).pipe(HttpClientRequest.bodyText("p")))
      expect(lastRequest(b)).toMatchObject({ method: "PUT", body: "p" })
      yield* send(client, HttpClientRequest.head(`${a.url}/to-b-303`))
      expect(lastRequest(b).method).toBe("HEAD")
    }).pipe(Effect.provide(transport)))

  it.scopedLive("a non-ASCII Location is read as UTF-8, as browsers, fetch and got read it", () =>
    Effect.gen(function*() {
      const { a } = yield* twoOrigins
      const client = (yield* HttpClient.HttpClient).pipe(Redirect.follow())
      const landed = yield* Attempt.json(client, HttpClientRequest.get(`${a.url}/utf8`), Schema.Unknown)
      expect(landed).toEqual({ landed: true })
      expect(lastRequest(a).url).toBe("/caf%C3%A9?q=%C3%BC")
      // bytes that are not UTF-8 are kept as the characters they are
      yield* Effect.either(Attempt.send(client, HttpClientRequest.get(`${a.url}/latin1`)))
      expect(lastRequest(a).url).toBe("/caf%C3%A9")
    }).pipe(Effect.provide(transport)))

  it.scopedLive("a redirect loop fails with RedirectFailed TooMany after maxRedirects", () =>
    Effect.gen(function*() {
      const { a } = yield* twoOrigins
      const client = (yield* HttpClient.HttpClient).pipe(Redirect.follow({ maxRedirects: 3 }))
      const failure = yield* Effect.flip(
        Attempt.json(client, HttpClientRequest.get(`${a.url}/loop?api_key=LOOP-KEY-9`), Schema.Unknown)
      )
      expect(failure._tag).toBe("RedirectFailed")
      if (failure._tag !== "RedirectFailed") return
      expect(failure.reason).toBe("TooMany")
      expect(failure.redirects).toBe(3)
      expect(failure.status).toBe(302)
      expect(a.hits("/loop")).toBe(4)
      expect(HttpFailure.isTransient(failure)).toBe(false)
      expect(failure.message).toBe(`more than 3 redirects (302): GET ${a.url}/loop?api_key=<redacted>`)
      // the default limit is fetch's
      const defaults = (yield* HttpClient.HttpClient).pipe(Redirect.follow())
      const again = yield* Effect.flip(Attempt.json(defaults, HttpClientRequest.get(`${a.url}/loop`), Schema.Unknown))
      expect(again).toMatchObject({
        _tag: "RedirectFailed",
        reason: "TooMany",
        redirects: Redirect.defaultMaxRedirects
      })
    }).pipe(Effect.provide(transport)))

  it.scopedLive("a Location that is not an http(s) URL fails with InvalidLocation; none is returned as is", () =>
    Effect.gen(function*() {
      const { a } = yield* twoOrigins
      const client = (yield* HttpClient.HttpClient).pipe(Redirect.follow())
      const file = yield* Effect.flip(Attempt.json(client, HttpClientRequest.get(`${a.url}/file`), Schema.Unknown))
      expect(file).toMatchObject({ _tag: "RedirectFailed", reason: "InvalidLocation", redirects: 0 })
      for (const text of [file.message, JSON.stringify(file), Inspectable.format(file)]) {
        expect(text).not.toContain("LOCATION-TOKEN-7")
      }
      const garbage = yield* Effect.flip(
        Attempt.json(client, HttpClientRequest.get(`${a.url}/garbage`), Schema.Unknown)
      )
      expect(garbage).toMatchObject({ _tag: "RedirectFailed", reason: "InvalidLocation" })
      const none = yield* Effect.flip(
        Attempt.json(client, HttpClientRequest.get(`${a.url}/no-location`), Schema.Unknown)
      )
      expect(none).toMatchObject({ _tag: "UnexpectedStatus", status: 302 })
    }).pipe(Effect.provide(transport)))

  it.scopedLive("Auth inside Redirect.follow: the credential stays on the first origin", () =>
    Effect.gen(function*() {
      const { a, b } = yield* twoOrigins
      const client = (yield* HttpClient.HttpClient).pipe(
        Auth.apiKeyHeader("X-Partner", Redacted.make("AUTH-PARTNER-10")),
        Redirect.follow()
      )
      yield* send(client, HttpClientRequest.get(`${a.url}/to-b-302`))
      expect(lastRequest(a).headers["x-partner"]).toBe("AUTH-PARTNER-10")
      expect(lastRequest(b).headers["x-partner"]).toBeUndefined()
    }).pipe(Effect.provide(transport)))
})

/** An https server on 127.0.0.1 with the fixture certificate, closed with the scope. */
const httpsServer = (handler: Http.RequestListener) =>
  Effect.acquireRelease(
    Effect.async<Https.Server & { url: string }>((resume) => {
      const server = Https.createServer({ cert, key }, handler)
      server.listen(0, "127.0.0.1", () => {
        const port = (server.address() as Net.AddressInfo).port
        resume(Effect.succeed(Object.assign(server, { url: `https://127.0.0.1:${port}` })))
      })
    }),
    (server) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  )

const trusting: ReadonlyArray<
  readonly [string, Effect.Effect<HttpClient.HttpClient, never, Scope.Scope>]
> = [
  [
    "@sturdy/node UndiciHttpClient",
    Effect.acquireRelease(
      Effect.sync(() => new Agent({ connect: { ca: cert } })),
      (agent) => Effect.promise(() => agent.destroy())
    ).pipe(Effect.map(UndiciHttpClient.make))
  ],
  [
    "NodeHttpClient.layer",
    HttpClient.HttpClient.pipe(
      Effect.provide(
        NodeHttpClient.layerWithoutAgent.pipe(Layer.provide(NodeHttpClient.makeAgentLayer({ ca: cert })))
      )
    )
  ]
]

describe.each(trusting)("an https → http downgrade over %s", (_, makeClient) => {
  it.scopedLive("drops the secret headers, or fails with Downgrade when downgrades are refused", () =>
    Effect.gen(function*() {
      const plain = yield* Loopback.start({ "/landing": landing })
      const secure = yield* httpsServer((req, res) => {
        if (req.url === "/same") return redirect(302, "/here")(req, res, "")
        if (req.url === "/here") return landing(req, res, "")
        redirect(302, `${plain.url}/landing`)(req, res, "")
      })
      const client = yield* makeClient
      // same origin over https keeps the credentials (and proves the certificate is trusted)
      const same = yield* send(
        client.pipe(Redirect.follow()),
        HttpClientRequest.get(`${secure.url}/same`, { headers: secretHeaders })
      )
      expect(same).toBe(200)

      const status = yield* send(
        client.pipe(Redirect.follow()),
        HttpClientRequest.get(`${secure.url}/down`, { headers: { ...secretHeaders, ...plainHeaders } })
      )
      expect(status).toBe(200)
      const arrived = lastRequest(plain)
      for (const name of stripped) expect(arrived.headers[name]).toBeUndefined()
      expect(arrived.headers["x-request-id"]).toBe("req-1")

      const before = plain.requests.length
      const refused = yield* Effect.either(
        Attempt.json(
          client.pipe(Redirect.follow({ allowDowngrade: false })),
          HttpClientRequest.get(`${secure.url}/down`, { headers: secretHeaders }),
          Schema.Unknown
        )
      )
      expect(Either.isLeft(refused) && refused.left).toMatchObject({
        _tag: "RedirectFailed",
        reason: "Downgrade",
        location: `${plain.url}/landing`
      })
      expect(plain.requests.length).toBe(before)
    }))
})
