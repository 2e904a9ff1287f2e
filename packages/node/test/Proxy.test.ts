// The `proxy` option of UndiciHttpClient against a real CONNECT proxy (./utils/connectProxy.ts) and real origins, all on
// 127.0.0.1: requests go through a tunnel to http: and https: origins (and through an https: proxy), the proxy's
// credentials (URL userinfo, username / password fields, or a Redacted token) reach the proxy only and no rendering shows them; each way the proxy
// fails is classified (refused → Refused, CONNECT 407 → Proxy not retried, 502/503 → Proxy retried, a cut tunnel →
// BodyTruncated / Reset), through `Policy` too; bad values are RangeErrors naming `proxy` (ConfigError in
// layerConfig); `proxy: "env"` reads HTTP(S)_PROXY and NO_PROXY, with host names resolved to 127.0.0.1 by a stub of
// `dns.lookup` that fails closed (no name ever reaches a real resolver).
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Attempt, HttpFailure, Policy } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { Cause, Config, ConfigError, Effect, Exit, Layer, Redacted, Scope } from "effect"
import type * as Dns from "node:dns"
import * as Fs from "node:fs"
import * as Module from "node:module"
import * as Net from "node:net"
import * as Path from "node:path"
import * as Util from "node:util"
import { closedPort, json, start } from "../../../test/utils/loopbackServer.js"
import type { Handler, LoopbackServer } from "../../../test/utils/loopbackServer.js"
import { renderings } from "../../../test/utils/renderings.js"
import { type ConnectProxy, type envNames, startConnectProxy, withEnv } from "./utils/connectProxy.js"
import { recordingTracer } from "./utils/recordingTracer.js"
import { type Socks5Server, startSocks5Server } from "./utils/socks5Server.js"

const fixture = (name: string): Buffer => Fs.readFileSync(Path.join(import.meta.dirname, "fixtures", name))
const caCert = fixture("ca-cert.pem")
const serverTls = { cert: fixture("server-cert.pem"), key: fixture("server-key.pem") }

const user = "proxy-user"
const password = "pr0xy-s3cret-pw"
const token = "Bearer pr0xy-t0ken-value"
const basic = `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`
const secrets = [password, token, "pr0xy-t0ken-value", Buffer.from(`${user}:${password}`).toString("base64")]

// a secret held as bytes shows in `inspect` as `<Buffer 70 72 30 ...>`: its first bytes so written
const asInspectedBytes = (secret: string) =>
  [...Buffer.from(secret).subarray(0, 8)].map((b) => b.toString(16)).join(" ")

const expectNoSecret = (texts: ReadonlyArray<string> | string) => {
  for (const text of typeof texts === "string" ? [texts] : texts) {
    for (const secret of secrets) {
      expect(text).not.toContain(secret)
      expect(text).not.toContain(asInspectedBytes(secret))
    }
  }
}

const withCredentials = (proxy: ConnectProxy) => proxy.url.replace("://", `://${user}:${password}@`)

/** One request through a fresh dispatcher made with `options`: the response's status and body, or the failure. */
const send = (request: HttpClientRequest.HttpClientRequest, options: UndiciHttpClient.DispatcherOptions) =>
  Effect.scoped(Effect.gen(function*() {
    const client = UndiciHttpClient.make(yield* UndiciHttpClient.makeDispatcher(options))
    const response = yield* Attempt.send(client, request, { timeout: "5 seconds" })
    return { status: response.status, body: response.text }
  }))

const get = (url: string, options: UndiciHttpClient.DispatcherOptions) => send(HttpClientRequest.get(url), options)

const causeCode = (error: HttpFailure.HttpFailure): unknown =>
  (error as { readonly cause?: { code?: unknown } }).cause?.code

const defectOf = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.exit(effect), (exit) => Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined)

const makeWith = (options: unknown) =>
  Effect.scoped(UndiciHttpClient.makeDispatcher(options as UndiciHttpClient.DispatcherOptions))

const policyWith = (maxAttempts: number) =>
  Policy.make({ retry: { maxAttempts, baseDelay: "1 millis", budget: false }, circuitBreaker: false })

/** `request` through `Policy` (3 attempts) on a dispatcher made with `options`. */
const viaPolicy = (request: HttpClientRequest.HttpClientRequest, options: UndiciHttpClient.DispatcherOptions) =>
  Effect.scoped(Effect.gen(function*() {
    const client = UndiciHttpClient.make(yield* UndiciHttpClient.makeDispatcher(options))
    const policy = yield* policyWith(3)
    const response = yield* Policy.send(client, request).pipe(Effect.provideService(Policy.Policy, policy))
    return response.status
  }))

let origin: LoopbackServer
let secureOrigin: LoopbackServer
let scope: Scope.CloseableScope

const routes: Readonly<Record<string, Handler>> = {
  "/": json(200, { ok: true }),
  // a body longer than the proxy lets through when it cuts the tunnel
  "/long": (_, response) => {
    response.writeHead(200, { "content-type": "text/plain", "content-length": 100_000 })
    response.end("x".repeat(100_000))
  }
}

beforeAll(async () => {
  scope = Effect.runSync(Scope.make())
  origin = await Effect.runPromise(Scope.extend(start(routes), scope))
  secureOrigin = await Effect.runPromise(Scope.extend(start(routes, { tls: serverTls }), scope))
})

afterAll(() => Effect.runPromise(Scope.close(scope, Exit.void)))

describe("UndiciHttpClient proxy: requests go through a CONNECT tunnel", () => {
  it.scopedLive("an http: origin: 200; the proxy saw CONNECT 127.0.0.1:port, no credentials; Host is the origin's", () =>
    Effect.gen(function*() {
      const proxy = yield* startConnectProxy()
      const before = origin.requests.length
      const request = HttpClientRequest.get(`${origin.url}/`)
      const received = yield* send(request, { proxy: proxy.url })
      expect(received).toEqual({ status: 200, body: "{\"ok\":true}" })
      expect(proxy.seen).toEqual([
        { target: `127.0.0.1:${origin.port}`, proxyAuthorization: undefined, authorization: undefined }
      ])
      const seen = origin.requests.slice(before)
      expect(seen.map((r) => [r.url, r.headers.host, r.headers["proxy-authorization"]])).toEqual([
        ["/", `127.0.0.1:${origin.port}`, undefined]
      ])
      // the request's own headers are left as they were (undici's ProxyAgent adds `host` to the object it is given)
      expect(request.headers["host"]).toBeUndefined()
    }))

  it.scopedLive("an https: origin gets the tls option end to end through the tunnel: 200; without the CA a Tls failure", () =>
    Effect.gen(function*() {
      const proxy = yield* startConnectProxy()
      const received = yield* get(`${secureOrigin.url}/`, { proxy: proxy.url, tls: { ca: caCert } })
      expect(received.status).toBe(200)
      expect(proxy.seen.map((c) => c.target)).toEqual([`127.0.0.1:${secureOrigin.port}`])
      const untrusted = yield* Effect.flip(get(`${secureOrigin.url}/`, { proxy: proxy.url }))
      expect(untrusted).toMatchObject({ _tag: "ConnectionError", reason: "Tls" })
      expect(HttpFailure.mayHaveReachedServer(untrusted)).toBe(false)
    }))

  it.scopedLive("an https: proxy, trusted by tls.ca, to an http: and an https: origin: 200", () =>
    Effect.gen(function*() {
      const proxy = yield* startConnectProxy(serverTls)
      expect(proxy.url.startsWith("https://")).toBe(true)
      expect((yield* get(`${origin.url}/`, { proxy: proxy.url, tls: { ca: caCert } })).status).toBe(200)
      expect((yield* get(`${secureOrigin.url}/`, { proxy: proxy.url, tls: { ca: caCert } })).status).toBe(200)
      expect(proxy.seen.map((c) => c.target)).toEqual([`127.0.0.1:${origin.port}`, `127.0.0.1:${secureOrigin.port}`])
      // the proxy's certificate is checked: without the CA the connection to the proxy fails, a Tls failure
      const untrusted = yield* Effect.flip(get(`${origin.url}/`, { proxy: proxy.url }))
      expect(untrusted).toMatchObject({ _tag: "ConnectionError", reason: "Tls" })
    }))

  it.scopedLive("credentials in the URL go to the proxy as Basic on CONNECT, never to the origin", () =>
    Effect.gen(function*() {
      const proxy = yield* startConnectProxy()
      const before = origin.requests.length
      expect((yield* get(`${origin.url}/`, { proxy: withCredentials(proxy) })).status).toBe(200)
      // a Redacted URL, and a URL object
      expect((yield* get(`${origin.url}/`, { proxy: Redacted.make(withCredentials(proxy)) })).status).toBe(200)
      expect((yield* get(`${origin.url}/`, { proxy: { url: new URL(withCredentials(proxy)) } })).status).toBe(200)
      expect(proxy.seen.map((c) => c.proxyAuthorization)).toEqual([basic, basic, basic])
      for (const seen of origin.requests.slice(before)) {
        expect(seen.headers["proxy-authorization"]).toBeUndefined()
        expect(seen.headers["authorization"]).toBeUndefined()
      }
    }))

  it.scopedLive("a token (plain or Redacted) is the Proxy-Authorization sent on CONNECT", () =>
    Effect.gen(function*() {
      const proxy = yield* startConnectProxy()
      expect((yield* get(`${origin.url}/`, { proxy: { url: proxy.url, token } })).status).toBe(200)
      expect(
        (yield* get(`${secureOrigin.url}/`, {
          proxy: { url: proxy.url, token: Redacted.make(token) },
          tls: { ca: caCert }
        })).status
      ).toBe(200)
      expect(proxy.seen.map((c) => c.proxyAuthorization)).toEqual([token, token])
    }))

  it.scopedLive("username and password fields are the Basic Proxy-Authorization sent on CONNECT", () =>
    Effect.gen(function*() {
      const proxy = yield* startConnectProxy()
      expect((yield* get(`${origin.url}/`, { proxy: { url: proxy.url, username: user, password } })).status).toBe(200)
      const redacted = { url: proxy.url, username: user, password: Redacted.make(password) }
      expect((yield* get(`${secureOrigin.url}/`, { proxy: redacted, tls: { ca: caCert } })).status).toBe(200)
      expect(proxy.seen.map((c) => c.proxyAuthorization)).toEqual([basic, basic])
    }))

  it.scopedLive("a request that sets Proxy-Authorization itself is refused, unsent: InvalidRequest InvalidHeader", () =>
    Effect.gen(function*() {
      const proxy = yield* startConnectProxy()
      const error = yield* Effect.flip(
        send(HttpClientRequest.get(`${origin.url}/`).pipe(HttpClientRequest.setHeader("proxy-authorization", token)), {
          proxy: proxy.url
        })
      )
      expect(error).toMatchObject({ _tag: "InvalidRequest", reason: "InvalidHeader" })
      expect(proxy.seen).toEqual([])
      expectNoSecret(renderings(error))
    }))
})

describe("UndiciHttpClient proxy: how a proxy fails", () => {
  it.scopedLive("a proxy that refuses the TCP connection: ConnectionError Refused, never sent; Policy retries a POST", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const error = yield* Effect.flip(get(`${origin.url}/`, { proxy: `http://127.0.0.1:${port}` }))
      expect(error).toMatchObject({ _tag: "ConnectionError", reason: "Refused" })
      expect(causeCode(error)).toBe("ECONNREFUSED")
      expect(HttpFailure.mayHaveReachedServer(error)).toBe(false)
      const before = origin.requests.length
      const retried = yield* Effect.flip(
        viaPolicy(HttpClientRequest.post(`${origin.url}/`), { proxy: `http://127.0.0.1:${port}` })
      )
      expect(retried).toMatchObject({ _tag: "ConnectionError", reason: "Refused", attempts: 3 })
      expect(origin.requests.length).toBe(before)
    }))

  it.scopedLive("CONNECT answered 407: ConnectionError Proxy 407, never sent, not transient; Policy does not retry", () =>
    Effect.gen(function*() {
      const proxy = yield* startConnectProxy()
      proxy.verdict = () => ({ _tag: "Answer", status: 407 })
      const before = origin.requests.length
      const error = yield* Effect.flip(get(`${origin.url}/`, { proxy: withCredentials(proxy) }))
      expect(error).toMatchObject({
        _tag: "ConnectionError",
        reason: "Proxy",
        proxyStatus: 407,
        requestSent: false
      })
      expect(error.message).toBe(
        `proxy authentication required (CONNECT answered 407) (UND_ERR_ABORTED): GET ${origin.url}/`
      )
      expect(HttpFailure.isTransient(error)).toBe(false)
      expect(HttpFailure.mayHaveReachedServer(error)).toBe(false)
      expect(HttpFailure.isRetryableByDefault(error)).toBe(false)
      const viaPolicyError = yield* Effect.flip(
        viaPolicy(HttpClientRequest.get(`${origin.url}/`), { proxy: proxy.url })
      )
      expect(viaPolicyError).toMatchObject({ _tag: "ConnectionError", reason: "Proxy", proxyStatus: 407, attempts: 1 })
      expect(proxy.seen.length).toBe(2)
      expect(origin.requests.length).toBe(before)
      expectNoSecret(renderings(error))
    }))

  it.scopedLive("CONNECT answered 502 then tunnelled: Policy retries a POST, the origin sees it once", () =>
    Effect.gen(function*() {
      const proxy = yield* startConnectProxy()
      proxy.verdict = (_, index) => index === 0 ? { _tag: "Answer", status: 502 } : { _tag: "Tunnel" }
      const before = origin.requests.length
      expect(yield* viaPolicy(HttpClientRequest.post(`${origin.url}/`), { proxy: proxy.url })).toBe(200)
      expect(proxy.seen.length).toBe(2)
      expect(origin.requests.length - before).toBe(1)
    }))

  it.scopedLive("CONNECT answered 502, 503, 504: transient, never sent; 403 and 500 are not transient", () =>
    Effect.gen(function*() {
      for (const status of [502, 503, 504, 403, 500]) {
        const proxy = yield* startConnectProxy()
        proxy.verdict = () => ({ _tag: "Answer", status })
        const error = yield* Effect.flip(get(`${origin.url}/`, { proxy: proxy.url }))
        expect(error, String(status)).toMatchObject({ _tag: "ConnectionError", reason: "Proxy", proxyStatus: status })
        expect(error.message).toContain(`proxy refused the tunnel (CONNECT answered ${status})`)
        expect(HttpFailure.isTransient(error), String(status)).toBe(status >= 502 && status <= 504)
        expect(HttpFailure.mayHaveReachedServer(error)).toBe(false)
      }
    }))

  it.scopedLive("a tunnel cut mid-body: BodyTruncated, as from the origin; cut before the response: Reset", () =>
    Effect.gen(function*() {
      const proxy = yield* startConnectProxy()
      // the CONNECT reply is the proxy's; the cut counts the origin's bytes: headers and some of the body pass
      proxy.verdict = () => ({ _tag: "CutAfter", bytes: 2_000 })
      const error = yield* Effect.flip(get(`${origin.url}/long`, { proxy: proxy.url }))
      expect(error).toMatchObject({ _tag: "BodyTruncated", status: 200, expectedBytes: 100_000 })
      expect(HttpFailure.isTransient(error)).toBe(true)
      proxy.verdict = () => ({ _tag: "CutAfter", bytes: 0 })
      const reset = yield* Effect.flip(get(`${origin.url}/`, { proxy: proxy.url }))
      expect(reset).toMatchObject({ _tag: "ConnectionError", reason: "Reset" })
      // the request was written into the tunnel: it may have reached the origin
      expect(HttpFailure.mayHaveReachedServer(reset)).toBe(true)
    }))
})

describe("UndiciHttpClient proxy: the credentials stay secret", () => {
  it.scopedLive("not in inspect of the dispatcher or layer, a failure's renderings, nor a span", () =>
    Effect.gen(function*() {
      const proxy = yield* startConnectProxy()
      for (const options of [{ proxy: withCredentials(proxy) }, { proxy: { url: proxy.url, token } }]) {
        const dispatcher = yield* UndiciHttpClient.makeDispatcher(options)
        const client = UndiciHttpClient.make(dispatcher)
        const { recording, spans } = yield* recordingTracer
        expect(
          (yield* Attempt.send(client, HttpClientRequest.get(`${origin.url}/`)).pipe(
            Effect.withTracer(recording)
          )).status
        ).toBe(200)
        expectNoSecret(Util.inspect(dispatcher, { depth: Infinity, showHidden: true }))
        expectNoSecret(Util.inspect(dispatcher, { depth: Infinity, showHidden: true, showProxy: true }))
        expectNoSecret(Util.inspect(dispatcher, { depth: 8, getters: true }))
        expectNoSecret(String(dispatcher))
        expectNoSecret(Util.inspect(client, { depth: Infinity }))
        expectNoSecret(Util.inspect(UndiciHttpClient.layer(options), { depth: Infinity }))
        for (const span of spans) expectNoSecret(Util.inspect([...span.attributes], { depth: Infinity }))
        expect(spans.length).toBeGreaterThan(0)
        // a failure through it: refused by 407, and a proxy that is gone
        proxy.verdict = () => ({ _tag: "Answer", status: 407 })
        const refused = yield* Effect.flip(
          Attempt.send(client, HttpClientRequest.get(`${origin.url}/`)).pipe(
            Effect.withTracer(recording)
          )
        )
        expectNoSecret(renderings(refused))
        expectNoSecret(Util.inspect(dispatcher, { depth: Infinity, showHidden: true }))
        for (const span of spans) expectNoSecret(Util.inspect([...span.attributes], { depth: Infinity }))
        proxy.verdict = () => ({ _tag: "Tunnel" })
      }
      const port = yield* closedPort
      const gone = yield* Effect.flip(get(`${origin.url}/`, { proxy: `http://${user}:${password}@127.0.0.1:${port}` }))
      expect(gone).toMatchObject({ _tag: "ConnectionError", reason: "Refused" })
      expectNoSecret(renderings(gone))
    }))
})

describe("UndiciHttpClient proxy: values refused by name", () => {
  const refusals: ReadonlyArray<readonly [unknown, RegExp]> = [
    [`not a url ${password}`, /^UndiciHttpClient: proxy is not a URL/],
    [`http://${user}:${password}@127.0.0.1:3128/path`, /^UndiciHttpClient: proxy must name the proxy only/],
    [`http://${user}:${password}@127.0.0.1:3128/?q=1`, /^UndiciHttpClient: proxy must name the proxy only/],
    [`http://${user}:${password}@127.0.0.1:3128?`, /^UndiciHttpClient: proxy must name the proxy only/],
    [`http://${user}:${password}@127.0.0.1:3128#frag`, /^UndiciHttpClient: proxy must name the proxy only/],
    [`socks://${user}:${password}@127.0.0.1:1080`, /^UndiciHttpClient: proxy \(socks:\) is ambiguous/],
    [`socks4://${user}:${password}@127.0.0.1:1080`, /^UndiciHttpClient: proxy \(socks4:\) is SOCKS4/],
    [`socks5://${user}:${password}@127.0.0.1:1080/x`, /^UndiciHttpClient: proxy must name the proxy only/],
    [{ url: `socks5h://127.0.0.1:1080`, token }, /^UndiciHttpClient: proxy\.url is a SOCKS5 proxy with a token/],
    ["ftp://127.0.0.1:21", /^UndiciHttpClient: proxy \(ftp:\) must be an http:, https:, socks5: or socks5h: URL/],
    ["127.0.0.1:3128", /^UndiciHttpClient: proxy is not a URL/],
    ["localhost:3128", /^UndiciHttpClient: proxy \(localhost:\) must be an http:, https:, socks5: or socks5h: URL/],
    [Redacted.make(`gopher://${password}@x`), /^UndiciHttpClient: proxy \(gopher:\) must be/],
    [42, /^UndiciHttpClient: proxy \(of type number\) must be a URL string/],
    [{ url: `http://${user}:${password}@127.0.0.1:3128`, token }, /^UndiciHttpClient: proxy\.url has credentials/],
    [{ url: "http://127.0.0.1:3128", token: 7 }, /^UndiciHttpClient: proxy\.token \(of type number\) must be/],
    [{ url: "http://127.0.0.1:3128", token: "a\r\nb" }, /^UndiciHttpClient: proxy\.token \(of type string\)/],
    [{ token }, /^UndiciHttpClient: proxy\.url is missing/],
    // username / password fields: not with credentials in the URL, nor with a token; RFC 1929's lengths for SOCKS5
    [
      { url: `socks5h://${user}:${password}@127.0.0.1:1080`, username: user, password },
      /^UndiciHttpClient: proxy\.url has credentials in the URL and proxy\.username \/ proxy\.password/
    ],
    [
      { url: `socks5h://${user}@127.0.0.1:1080`, username: user, password: Redacted.make(password) },
      /^UndiciHttpClient: proxy\.url has credentials in the URL and proxy\.username/
    ],
    [
      { url: `http://${user}:${password}@127.0.0.1:3128`, username: user, password },
      /^UndiciHttpClient: proxy\.url has credentials in the URL and proxy\.username/
    ],
    [{ url: "http://127.0.0.1:3128", username: user, password, token }, /^UndiciHttpClient: proxy\.token is set with/],
    [
      { url: "socks5h://127.0.0.1:1080", username: user, token },
      /^UndiciHttpClient: proxy\.url is a SOCKS5 proxy with/
    ],
    [
      { url: "socks5h://127.0.0.1:1080", password },
      /^UndiciHttpClient: proxy\.password is set without proxy\.username/
    ],
    [{ url: "http://127.0.0.1:3128", password: Redacted.make(password) }, /^UndiciHttpClient: proxy\.password is set/],
    [
      { url: "socks5h://127.0.0.1:1080", username: "", password },
      /^UndiciHttpClient: proxy\.username \(of type string/
    ],
    [{ url: "socks5h://127.0.0.1:1080", username: 7, password }, /^UndiciHttpClient: proxy\.username \(of type number/],
    [{ url: "socks5h://127.0.0.1:1080", username: user, password: 7 }, /^UndiciHttpClient: proxy\.password \(of type/],
    [
      { url: "socks5h://127.0.0.1:1080", username: "u".repeat(256), password },
      /^UndiciHttpClient: proxy\.username has 256 bytes \(SOCKS5 allows 255\)$/
    ],
    [
      { url: "socks5h://127.0.0.1:1080", username: user, password: Redacted.make(`${password}${"é".repeat(121)}`) },
      /^UndiciHttpClient: proxy\.password has 257 bytes \(SOCKS5 allows 255\)$/
    ],
    [{ url: "http://127.0.0.1:3128", username: `a:${password}` }, /^UndiciHttpClient: proxy\.username must not contain/]
  ]

  it.effect("a proxy that is not an http(s) origin is a RangeError naming it, without the URL", () =>
    Effect.gen(function*() {
      for (const [proxy, message] of refusals) {
        const defect = yield* defectOf(makeWith({ proxy }))
        expect(defect, Util.inspect(proxy)).toBeInstanceOf(RangeError)
        expect((defect as RangeError).message, Util.inspect(proxy)).toMatch(message)
        expectNoSecret((defect as RangeError).message)
      }
    }))

  it.effect("proxy with socketPath or http2 is a RangeError; socketPath with env too", () =>
    Effect.gen(function*() {
      const both = yield* defectOf(makeWith({ proxy: "http://127.0.0.1:3128", socketPath: "/tmp/x.sock" }))
      expect((both as RangeError).message).toBe(
        "UndiciHttpClient: socketPath cannot be combined with proxy (a proxy is reached over TCP)"
      )
      const env = yield* defectOf(makeWith({ proxy: "env", socketPath: "/tmp/x.sock" }))
      expect(env).toBeInstanceOf(RangeError)
      for (const http2 of [true, "h2c"]) {
        const h2 = yield* defectOf(makeWith({ proxy: "http://127.0.0.1:3128", http2 }))
        expect((h2 as RangeError).message).toMatch(/^UndiciHttpClient: proxy cannot be combined with http2/)
      }
      // null and undefined are no proxy
      expect(yield* defectOf(makeWith({ proxy: null }))).toBeUndefined()
      expect(yield* defectOf(makeWith({ proxy: undefined }))).toBeUndefined()
    }))

  it.effect("layerConfig: a refused proxy is a ConfigError naming it, without the credentials", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        Layer.build(UndiciHttpClient.layerConfig(Config.succeed({
          proxy: Redacted.make(`http://${user}:${password}@127.0.0.1:3128/path`)
        }))).pipe(Effect.scoped)
      )
      const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
      expect(ConfigError.isConfigError(error)).toBe(true)
      expect(String(error)).toContain("UndiciHttpClient: proxy must name the proxy only")
      expectNoSecret(renderings(error))
    }))

  it.scopedLive("layerConfig with a Config.redacted proxy URL serves requests through it", () =>
    Effect.gen(function*() {
      const proxy = yield* startConnectProxy()
      const layer = UndiciHttpClient.layerConfig(Config.all({
        proxy: Config.all({ url: Config.redacted(Config.succeed(proxy.url)), token: Config.succeed(token) })
      }))
      const response = yield* HttpClient.get(`${origin.url}/`).pipe(Effect.provide(layer))
      expect(response.status).toBe(200)
      expect(proxy.seen.map((c) => c.proxyAuthorization)).toEqual([token])
    }))
})

// -----------------------------------------------------------------------------
// proxy: "env"
// -----------------------------------------------------------------------------

// Host names of the tests resolve to 127.0.0.1 and nowhere else; any other name fails as unknown, without asking a
// real resolver. Only these names: `localhost` and 127.0.0.1 need no stub.
const stubNames = new Set([
  "api.example",
  "sub.api.example",
  "other.example",
  "example.org",
  "localhost",
  "api.sturdy.test"
])
// the module object net reads `lookup` from at each connect (an ESM namespace cannot be assigned to)
const dnsModule: { lookup: typeof Dns.lookup } = Module.createRequire(import.meta.url)("node:dns")
const realLookup = dnsModule.lookup
const stubLookup = ((
  hostname: string,
  options: Dns.LookupOptions | ((...args: Array<unknown>) => void),
  callback?: (...args: Array<unknown>) => void
) => {
  const done = (typeof options === "function" ? options : callback)!
  const all = typeof options === "object" && options.all === true
  if (!stubNames.has(hostname) && hostname !== "127.0.0.1") {
    const error = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" })
    return process.nextTick(() => done(error))
  }
  process.nextTick(() => all ? done(null, [{ address: "127.0.0.1", family: 4 }]) : done(null, "127.0.0.1", 4))
}) as unknown as typeof Dns.lookup

describe("UndiciHttpClient proxy: \"env\"", () => {
  beforeAll(() => {
    dnsModule.lookup = stubLookup
  })
  afterAll(() => {
    dnsModule.lookup = realLookup
  })

  /** Where a GET of `url` went with `proxy: "env"` under `vars`: "proxy" (a CONNECT seen) or "direct". */
  const route = (proxy: ConnectProxy, url: string, vars: Partial<Record<(typeof envNames)[number], string>>) =>
    withEnv(
      vars,
      Effect.gen(function*() {
        const connects = proxy.seen.length
        const received = yield* get(url, { proxy: "env", tls: { ca: caCert } })
        expect(received.status).toBe(200)
        return proxy.seen.length > connects ? "proxy" : "direct"
      })
    )

  it.scopedLive("not the default: HTTP_PROXY set, no proxy option, the request goes direct", () =>
    Effect.gen(function*() {
      const proxy = yield* startConnectProxy()
      yield* withEnv(
        { HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url },
        Effect.gen(function*() {
          expect((yield* get(`${origin.url}/`, {})).status).toBe(200)
          expect((yield* get(`${secureOrigin.url}/`, { tls: { ca: caCert } })).status).toBe(200)
        })
      )
      expect(proxy.seen).toEqual([])
    }))

  it.scopedLive("HTTP_PROXY for http:, HTTPS_PROXY for https: (HTTP_PROXY when unset); lower case first", () =>
    Effect.gen(function*() {
      const httpProxy = yield* startConnectProxy()
      const httpsProxy = yield* startConnectProxy()
      const refused = `http://127.0.0.1:${yield* closedPort}`
      const vars = { HTTP_PROXY: httpProxy.url, HTTPS_PROXY: httpsProxy.url }
      expect(yield* route(httpProxy, `${origin.url}/`, vars)).toBe("proxy")
      expect(yield* route(httpsProxy, `${secureOrigin.url}/`, vars)).toBe("proxy")
      expect(httpProxy.seen.length).toBe(1)
      expect(yield* route(httpProxy, `${secureOrigin.url}/`, { HTTP_PROXY: httpProxy.url })).toBe("proxy")
      // the lower-case variable wins over the upper-case one, as in curl and undici
      expect(yield* route(httpsProxy, `${origin.url}/`, { http_proxy: httpsProxy.url, HTTP_PROXY: refused })).toBe(
        "proxy"
      )
      // a value without a scheme is http://, as curl reads it
      expect(yield* route(httpProxy, `${origin.url}/`, { HTTP_PROXY: `127.0.0.1:${httpProxy.port}` })).toBe("proxy")
      // credentials in the variable go to the proxy only
      expect(yield* route(httpProxy, `${origin.url}/`, { HTTP_PROXY: withCredentials(httpProxy) })).toBe("proxy")
      expect(httpProxy.seen.at(-1)?.proxyAuthorization).toBe(basic)
    }))

  it.scopedLive("NO_PROXY: exact host, .suffix, *, host:port, 127.0.0.1; both cases", () =>
    Effect.gen(function*() {
      const proxy = yield* startConnectProxy()
      const at = (host: string, server: LoopbackServer = origin) => `http://${host}:${server.port}/`
      const vars = (noProxy: string) => ({ HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url, NO_PROXY: noProxy })
      // no NO_PROXY: everything through the proxy, the host name as the CONNECT target
      expect(yield* route(proxy, at("api.example"), vars(""))).toBe("proxy")
      expect(proxy.seen.at(-1)?.target).toBe(`api.example:${origin.port}`)
      // an exact host, and its subdomains, not a longer name that merely ends with it
      expect(yield* route(proxy, at("api.example"), vars("api.example"))).toBe("direct")
      expect(yield* route(proxy, at("sub.api.example"), vars("api.example"))).toBe("direct")
      expect(yield* route(proxy, at("other.example"), vars("api.example"))).toBe("proxy")
      // a suffix with a leading dot (or *.) matches every host under it
      expect(yield* route(proxy, at("api.example"), vars(".example"))).toBe("direct")
      expect(yield* route(proxy, at("other.example"), vars("*.example"))).toBe("direct")
      expect(yield* route(proxy, at("example.org"), vars(".example"))).toBe("proxy")
      // * alone: nothing through the proxy
      expect(yield* route(proxy, at("api.example"), vars("*"))).toBe("direct")
      // a port: only that port is exempt
      expect(yield* route(proxy, at("api.example"), vars(`api.example:${origin.port}`))).toBe("direct")
      expect(yield* route(proxy, at("api.example"), vars(`api.example:${origin.port + 1}`))).toBe("proxy")
      // an IP address, in a list with spaces and commas; https: too
      expect(yield* route(proxy, at("127.0.0.1"), vars("other.example, 127.0.0.1"))).toBe("direct")
      expect(yield* route(proxy, at("127.0.0.1", secureOrigin).replace("http:", "https:"), vars("127.0.0.1"))).toBe(
        "direct"
      )
      expect(yield* route(proxy, at("127.0.0.1", secureOrigin).replace("http:", "https:"), vars("localhost"))).toBe(
        "proxy"
      )
      expect(yield* route(proxy, at("localhost"), vars("localhost"))).toBe("direct")
      // the lower-case name, and it wins over the upper-case one
      expect(yield* route(proxy, at("api.example"), { HTTP_PROXY: proxy.url, no_proxy: "api.example" })).toBe(
        "direct"
      )
      expect(
        yield* route(proxy, at("api.example"), { HTTP_PROXY: proxy.url, no_proxy: "other.example", NO_PROXY: "*" })
      ).toBe("proxy")
    }))

  it.scopedLive("an explicit proxy with noProxy matches hosts as NO_PROXY does, whatever the environment says", () =>
    Effect.gen(function*() {
      const proxy = yield* startConnectProxy()
      const at = (host: string) => `http://${host}:${origin.port}/`
      const via = (url: string, noProxy: string) =>
        withEnv(
          { NO_PROXY: "*" },
          Effect.gen(function*() {
            const connects = proxy.seen.length
            expect((yield* get(url, { proxy: { url: proxy.url, token, noProxy } })).status).toBe(200)
            return proxy.seen.length > connects ? "proxy" : "direct"
          })
        )
      expect(yield* via(at("api.example"), "")).toBe("proxy")
      expect(yield* via(at("api.example"), "other.example, .example")).toBe("direct")
      expect(yield* via(at("127.0.0.1"), "api.example")).toBe("proxy")
      expect(proxy.seen.map((c) => c.proxyAuthorization)).toEqual([token, token])
      const defect = yield* defectOf(makeWith({ proxy: { url: proxy.url, noProxy: 3 } }))
      expect((defect as RangeError).message).toMatch(/^UndiciHttpClient: proxy\.noProxy \(of type number\) must be/)
    }))

  it.effect("a variable that is not a usable proxy is a RangeError naming it, without its value", () =>
    withEnv(
      { HTTPS_PROXY: `socks4://${user}:${password}@127.0.0.1:1080` },
      Effect.gen(function*() {
        const defect = yield* defectOf(makeWith({ proxy: "env" }))
        expect((defect as RangeError).message).toBe(
          "UndiciHttpClient: proxy (\"env\": HTTPS_PROXY) (socks4:) is SOCKS4, which is not supported: use socks5: or socks5h:"
        )
        expectNoSecret((defect as RangeError).message)
      })
    ))
})

// SOCKS5 (./utils/socks5Server.ts): socks5h: sends the host name to the proxy, socks5: resolves it here (with the stub
// of `dns.lookup`, synced into the ESM namespace the transport reads); RFC 1929 credentials; each reply code mapped to
// `ConnectionError` `Proxy` with `proxyReply`, the transient ones retried by `Policy`; secrets in no rendering.
describe("UndiciHttpClient proxy: SOCKS5", () => {
  beforeAll(() => {
    dnsModule.lookup = stubLookup
    Module.syncBuiltinESMExports()
  })
  afterAll(() => {
    dnsModule.lookup = realLookup
    Module.syncBuiltinESMExports()
  })

  const socks = (proxy: Socks5Server, scheme: "socks5" | "socks5h", userinfo = "") =>
    `${scheme}://${userinfo}127.0.0.1:${proxy.port}`

  it.scopedLive("socks5h: the host name goes to the proxy (domain type); http: and https: origins, tls end to end", () =>
    Effect.gen(function*() {
      const proxy = yield* startSocks5Server()
      const before = origin.requests.length
      const received = yield* get(`http://nowhere.example:${origin.port}/`, { proxy: socks(proxy, "socks5h") })
      expect(received).toEqual({ status: 200, body: "{\"ok\":true}" })
      expect(proxy.seen).toEqual([{ methods: [0], type: "domain", address: "nowhere.example", port: origin.port }])
      expect(origin.requests.slice(before).map((r) => r.headers.host)).toEqual([`nowhere.example:${origin.port}`])
      // an https: origin: the certificate is checked against the URL's name, with the tls option's CA
      const secure = `https://api.sturdy.test:${secureOrigin.port}/`
      expect((yield* get(secure, { proxy: socks(proxy, "socks5h"), tls: { ca: caCert } })).status).toBe(200)
      expect(proxy.seen.at(-1)).toMatchObject({ type: "domain", address: "api.sturdy.test", port: secureOrigin.port })
      const untrusted = yield* Effect.flip(get(secure, { proxy: socks(proxy, "socks5h") }))
      expect(untrusted).toMatchObject({ _tag: "ConnectionError", reason: "Tls" })
      // servername too: a name the certificate does not hold fails
      const wrongName = yield* Effect.flip(
        get(secure, { proxy: socks(proxy, "socks5h"), tls: { ca: caCert, servername: "other.example" } })
      )
      expect(wrongName).toMatchObject({ _tag: "ConnectionError", reason: "Tls" })
    }))

  it.scopedLive("socks5: the host name is resolved here, the proxy gets the address; a name that does not resolve is DnsLookup", () =>
    Effect.gen(function*() {
      const proxy = yield* startSocks5Server()
      expect((yield* get(`http://api.example:${origin.port}/`, { proxy: socks(proxy, "socks5") })).status).toBe(200)
      expect(proxy.seen).toEqual([{ methods: [0], type: "ipv4", address: "127.0.0.1", port: origin.port }])
      const unresolved = yield* Effect.flip(
        get(`http://nowhere.example:${origin.port}/`, { proxy: socks(proxy, "socks5") })
      )
      expect(unresolved).toMatchObject({ _tag: "ConnectionError", reason: "DnsLookup" })
      expect(HttpFailure.mayHaveReachedServer(unresolved)).toBe(false)
      // resolved before the proxy is reached: it saw nothing more
      expect(proxy.connections()).toBe(1)
    }))

  it.scopedLive("IP literals go as IPv4 and IPv6 address types, with either scheme", () =>
    Effect.gen(function*() {
      const proxy = yield* startSocks5Server()
      for (const scheme of ["socks5", "socks5h"] as const) {
        expect((yield* get(`http://127.0.0.1:${origin.port}/`, { proxy: socks(proxy, scheme) })).status).toBe(200)
        expect((yield* get(`http://[::1]:${origin.port}/`, { proxy: socks(proxy, scheme) })).status).toBe(200)
      }
      expect(proxy.seen.map((s) => [s.type, s.address])).toEqual([
        ["ipv4", "127.0.0.1"],
        ["ipv6", "::1"],
        ["ipv4", "127.0.0.1"],
        ["ipv6", "::1"]
      ])
    }))

  it.scopedLive("username and password (RFC 1929) from the URL, percent-decoded; missing or wrong: Proxy, not retried", () =>
    Effect.gen(function*() {
      const proxy = yield* startSocks5Server({ username: "us@er", password })
      const url = socks(proxy, "socks5h", `us%40er:${password}@`)
      expect((yield* get(`http://api.example:${origin.port}/`, { proxy: url })).status).toBe(200)
      expect(proxy.seen[0]).toMatchObject({ methods: [0, 2], username: "us@er", password })
      const wrong = yield* Effect.flip(
        get(`http://api.example:${origin.port}/`, { proxy: socks(proxy, "socks5h", "us%40er:wrong@") })
      )
      expect(wrong).toMatchObject({ _tag: "ConnectionError", reason: "Proxy", requestSent: false })
      expect(causeCode(wrong)).toBe("UND_ERR_SOCKS5_AUTH_FAILED")
      expect(wrong.message).toMatch(/^SOCKS proxy authentication failed/)
      expect(HttpFailure.isTransient(wrong)).toBe(false)
      const none = yield* Effect.flip(get(`http://api.example:${origin.port}/`, { proxy: socks(proxy, "socks5h") }))
      expect(none).toMatchObject({ _tag: "ConnectionError", reason: "Proxy" })
      expect(causeCode(none)).toBe("UND_ERR_SOCKS5_AUTH_REJECTED")
      expect(HttpFailure.isTransient(none)).toBe(false)
      // a Redacted URL in ProxyOptions
      const redacted = { url: Redacted.make(url) }
      expect((yield* get(`http://api.example:${origin.port}/`, { proxy: redacted })).status).toBe(200)
    }))

  it.scopedLive("username and password as fields (the password Redacted or not) are sent by RFC 1929, as from the URL", () =>
    Effect.gen(function*() {
      const proxy = yield* startSocks5Server({ username: "us@er", password })
      const at = `http://api.example:${origin.port}/`
      for (const pass of [password, Redacted.make(password)]) {
        const options = { proxy: { url: socks(proxy, "socks5h"), username: "us@er", password: pass } }
        expect((yield* get(at, options)).status).toBe(200)
      }
      expect(proxy.seen.map((s) => [s.username, s.password])).toEqual([["us@er", password], ["us@er", password]])
      const wrong = yield* Effect.flip(
        get(at, { proxy: { url: socks(proxy, "socks5"), username: "us@er", password: "wrong" } })
      )
      expect(wrong).toMatchObject({ _tag: "ConnectionError", reason: "Proxy" })
      expect(causeCode(wrong)).toBe("UND_ERR_SOCKS5_AUTH_FAILED")
      // a username alone: an empty password, as in socks5h://user@host
      const userOnly = yield* startSocks5Server({ username: user, password: "" })
      expect((yield* get(at, { proxy: { url: socks(userOnly, "socks5h"), username: user } })).status).toBe(200)
      expect(userOnly.seen[0]).toMatchObject({ username: user, password: "" })
    }))

  it.scopedLive("each reply code is a ConnectionError Proxy with proxyReply; 1, 3, 4, 5, 6 retried by Policy, 2, 7, 8 not", () =>
    Effect.gen(function*() {
      const proxy = yield* startSocks5Server()
      const transient = [1, 3, 4, 5, 6]
      for (const code of [1, 2, 3, 4, 5, 6, 7, 8, 9]) {
        proxy.reply = () => code
        const before = proxy.seen.length
        const failure = yield* Effect.flip(
          viaPolicy(HttpClientRequest.post(`http://api.example:${origin.port}/`), { proxy: socks(proxy, "socks5h") })
        )
        expect(failure, String(code)).toMatchObject({
          _tag: "ConnectionError",
          reason: "Proxy",
          proxyReply: code,
          requestSent: false
        })
        expect(HttpFailure.isTransient(failure as HttpFailure.HttpFailure), String(code)).toBe(transient.includes(code))
        expect(HttpFailure.mayHaveReachedServer(failure as HttpFailure.HttpFailure)).toBe(false)
        expect(proxy.seen.length - before, String(code)).toBe(transient.includes(code) ? 3 : 1)
        expect(failure).toMatchObject({ attempts: transient.includes(code) ? 3 : 1 })
        expect(failure.message).toMatch(new RegExp(`^SOCKS proxy refused the connection \\(reply ${code}: `))
      }
      expect(HttpFailure.isTransient(
        new HttpFailure.ConnectionError({
          method: "GET",
          url: "http://x/",
          reason: "Proxy",
          proxyReply: 4
        })
      )).toBe(true)
    }))

  it.scopedLive("a SOCKS proxy that is down is Refused; one that is not SOCKS5 is Proxy", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const gone = yield* Effect.flip(get(`${origin.url}/`, { proxy: `socks5h://127.0.0.1:${port}` }))
      expect(gone).toMatchObject({ _tag: "ConnectionError", reason: "Refused" })
      // an HTTP proxy answering the SOCKS greeting
      const http = yield* startConnectProxy()
      const notSocks = yield* Effect.flip(get(`${origin.url}/`, { proxy: `socks5h://127.0.0.1:${http.port}` }))
      expect(notSocks).toMatchObject({ _tag: "ConnectionError", reason: "Proxy" })
      expect(HttpFailure.isTransient(notSocks)).toBe(false)
    }))

  it.scopedLive("connectTimeout bounds the proxy's handshake: a proxy that never answers is a ConnectTimeout, never sent", () =>
    Effect.gen(function*() {
      // accepts the connection, reads the greeting, never answers
      const accepted = new Set<Net.Socket>()
      const silent = Net.createServer((socket) => {
        accepted.add(socket)
        socket.on("error", () => {})
      })
      yield* Effect.async<void>((resume) => {
        silent.listen(0, "127.0.0.1", () => resume(Effect.void))
      })
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          for (const socket of accepted) socket.destroy()
          silent.close()
        })
      )
      const port = (silent.address() as Net.AddressInfo).port
      const failure = yield* Effect.flip(
        get(`${origin.url}/`, { proxy: `socks5h://127.0.0.1:${port}`, connectTimeout: "200 millis" })
      )
      expect(failure).toMatchObject({ _tag: "ConnectionError", reason: "ConnectTimeout" })
      expect(causeCode(failure)).toBe("UND_ERR_CONNECT_TIMEOUT")
      expect(HttpFailure.mayHaveReachedServer(failure)).toBe(false)
    }))

  it.scopedLive("the credentials are in no rendering: failures, spans, inspect of the dispatcher, client and layer", () =>
    Effect.gen(function*() {
      const proxy = yield* startSocks5Server({ username: user, password })
      const options = { proxy: socks(proxy, "socks5h", `${user}:${password}@`) }
      const dispatcher = yield* UndiciHttpClient.makeDispatcher(options)
      const client = UndiciHttpClient.make(dispatcher)
      const { recording: tracer, spans } = yield* recordingTracer
      const ok = yield* Attempt.send(client, HttpClientRequest.get(`http://api.example:${origin.port}/`)).pipe(
        Effect.withTracer(tracer)
      )
      expect(ok.status).toBe(200)
      expect(proxy.seen[0]).toMatchObject({ username: user, password })
      expectNoSecret(Util.inspect(dispatcher, { depth: Infinity, showHidden: true }))
      expectNoSecret(Util.inspect(dispatcher, { depth: 8, getters: true }))
      expectNoSecret(Util.inspect(client, { depth: Infinity }))
      expectNoSecret(Util.inspect(UndiciHttpClient.layer(options), { depth: Infinity }))
      for (const span of spans) expectNoSecret(Util.inspect([...span.attributes], { depth: Infinity }))
      expect(spans.length).toBeGreaterThan(0)
      proxy.reply = () => 5
      const refused = yield* Effect.flip(
        Attempt.send(client, HttpClientRequest.get(`http://api.example:${origin.port}/`)).pipe(
          Effect.withTracer(tracer)
        )
      )
      expect(refused).toMatchObject({ reason: "Proxy", proxyReply: 5 })
      expectNoSecret(renderings(refused))
      const wrong = yield* Effect.flip(
        get(`http://api.example:${origin.port}/`, { proxy: socks(proxy, "socks5h", `${user}:x${password}@`) })
      )
      expectNoSecret(renderings(wrong))
      const port = yield* closedPort
      const gone = yield* Effect.flip(
        get(`${origin.url}/`, { proxy: `socks5h://${user}:${password}@127.0.0.1:${port}` })
      )
      expect(gone).toMatchObject({ _tag: "ConnectionError", reason: "Refused" })
      expectNoSecret(renderings(gone))
      // the username and password fields, the password plain or Redacted
      for (const pass of [password, Redacted.make(password)]) {
        proxy.reply = () => 0
        const fields = { proxy: { url: socks(proxy, "socks5h"), username: user, password: pass } }
        const fromFields = yield* UndiciHttpClient.makeDispatcher(fields)
        const fieldsClient = UndiciHttpClient.make(fromFields)
        const received = yield* Attempt.send(fieldsClient, HttpClientRequest.get(`http://api.example:${origin.port}/`))
          .pipe(Effect.withTracer(tracer))
        expect(received.status).toBe(200)
        expect(proxy.seen.at(-1)).toMatchObject({ username: user, password })
        expectNoSecret(Util.inspect(fromFields, { depth: Infinity, showHidden: true }))
        expectNoSecret(Util.inspect(fromFields, { depth: 8, getters: true }))
        expectNoSecret(Util.inspect(fieldsClient, { depth: Infinity }))
        expectNoSecret(Util.inspect(UndiciHttpClient.layer(fields), { depth: Infinity }))
        for (const span of spans) expectNoSecret(Util.inspect([...span.attributes], { depth: Infinity }))
        proxy.reply = () => 5
        const refusedByFields = yield* Effect.flip(
          Attempt.send(fieldsClient, HttpClientRequest.get(`http://api.example:${origin.port}/`))
        )
        expect(refusedByFields).toMatchObject({ reason: "Proxy", proxyReply: 5 })
        expectNoSecret(renderings(refusedByFields))
        const goneByFields = yield* Effect.flip(
          get(`${origin.url}/`, { proxy: { url: `socks5h://127.0.0.1:${port}`, username: user, password: pass } })
        )
        expect(goneByFields).toMatchObject({ _tag: "ConnectionError", reason: "Refused" })
        expectNoSecret(renderings(goneByFields))
      }
    }))

  it.scopedLive("noProxy, and \"env\": HTTP(S)_PROXY or ALL_PROXY a SOCKS5 URL, NO_PROXY as for an HTTP proxy", () =>
    Effect.gen(function*() {
      const proxy = yield* startSocks5Server()
      const routeOf = (url: string, options: UndiciHttpClient.DispatcherOptions) =>
        Effect.gen(function*() {
          const before = proxy.seen.length
          expect((yield* get(url, { ...options, tls: { ca: caCert } })).status).toBe(200)
          return proxy.seen.length > before ? "proxy" : "direct"
        })
      const at = `http://api.example:${origin.port}/`
      const secure = `https://api.sturdy.test:${secureOrigin.port}/`
      const url = socks(proxy, "socks5h")
      expect(yield* routeOf(at, { proxy: { url, noProxy: "" } })).toBe("proxy")
      expect(yield* routeOf(at, { proxy: { url, noProxy: ".example" } })).toBe("direct")
      expect(yield* routeOf(at, { proxy: { url, noProxy: `api.example:${origin.port + 1}` } })).toBe("proxy")
      expect(yield* routeOf(secure, { proxy: { url, noProxy: "sturdy.test" } })).toBe("direct")
      const env = (vars: Partial<Record<(typeof envNames)[number], string>>, target: string) =>
        withEnv(vars, routeOf(target, { proxy: "env" }))
      expect(yield* env({ HTTP_PROXY: url }, at)).toBe("proxy")
      expect(yield* env({ HTTP_PROXY: url }, secure)).toBe("proxy")
      expect(yield* env({ HTTPS_PROXY: url }, at)).toBe("direct")
      expect(yield* env({ ALL_PROXY: url }, at)).toBe("proxy")
      expect(yield* env({ all_proxy: url }, secure)).toBe("proxy")
      expect(yield* env({ ALL_PROXY: url, NO_PROXY: "api.example" }, at)).toBe("direct")
      // a scheme's own variable wins over ALL_PROXY
      const refused = `socks5h://127.0.0.1:${yield* closedPort}`
      expect(yield* env({ ALL_PROXY: refused, HTTP_PROXY: url }, at)).toBe("proxy")
      // one kind of proxy per setting
      const http = yield* startConnectProxy()
      const mixed = yield* withEnv({ HTTP_PROXY: http.url, HTTPS_PROXY: url }, defectOf(makeWith({ proxy: "env" })))
      expect((mixed as RangeError).message).toMatch(/^UndiciHttpClient: proxy \("env"\) names a SOCKS5 proxy for one/)
    }))
})

describe("UndiciHttpClient proxy: forwardHttp", () => {
  it.scopedLive("http: requests are forwarded in absolute form with Proxy-Authorization; https: ones still tunnel", () =>
    Effect.gen(function*() {
      const proxy = yield* startConnectProxy(undefined, { forward: true })
      const before = origin.requests.length
      const options = { proxy: { url: proxy.url, token: Redacted.make(token), forwardHttp: true } }
      const received = yield* get(`${origin.url}/?q=1`, options)
      expect(received).toEqual({ status: 200, body: "{\"ok\":true}" })
      expect(proxy.forwarded).toEqual([
        { requestLine: `GET ${origin.url}/?q=1 HTTP/1.1`, proxyAuthorization: token, authorization: undefined }
      ])
      expect(proxy.seen).toEqual([])
      // the origin got the request without the proxy's credentials
      expect(origin.requests.slice(before).map((r) => [r.url, r.headers["proxy-authorization"]])).toEqual([
        ["/?q=1", undefined]
      ])
      expect((yield* get(`${secureOrigin.url}/`, { ...options, tls: { ca: caCert } })).status).toBe(200)
      expect(proxy.seen.map((c) => [c.target, c.proxyAuthorization])).toEqual([
        [`127.0.0.1:${secureOrigin.port}`, token]
      ])
      expect(proxy.forwarded.length).toBe(1)
      // credentials in the URL: Basic, to the proxy only
      const withUrl = { proxy: { url: withCredentials(proxy), forwardHttp: true } }
      expect((yield* get(`${origin.url}/`, withUrl)).status).toBe(200)
      expect(proxy.forwarded.at(-1)?.proxyAuthorization).toBe(basic)
      // noProxy still goes direct
      const count = proxy.forwarded.length
      expect((yield* get(`${origin.url}/`, { proxy: { ...withUrl.proxy, noProxy: "127.0.0.1" } })).status).toBe(200)
      expect((yield* get(`${origin.url}/`, { proxy: { ...withUrl.proxy, noProxy: "other.example" } })).status).toBe(200)
      expect(proxy.forwarded.length).toBe(count + 1)
      expect(proxy.forwarded.at(-1)?.proxyAuthorization).toBe(basic)
      // without forwardHttp the same proxy sees a CONNECT
      expect((yield* get(`${origin.url}/`, { proxy: proxy.url })).status).toBe(200)
      expect(proxy.seen.at(-1)?.target).toBe(`127.0.0.1:${origin.port}`)
    }))

  it.scopedLive("a forwarded request the proxy answers 407 is a ConnectionError Proxy 407, not retried; no secret shown", () =>
    Effect.gen(function*() {
      const proxy = yield* startConnectProxy(undefined, { forward: true })
      proxy.forwardVerdict = () => ({ _tag: "Answer", status: 407 })
      const options = { proxy: { url: withCredentials(proxy), forwardHttp: true } }
      const dispatcher = yield* UndiciHttpClient.makeDispatcher(options)
      const client = UndiciHttpClient.make(dispatcher)
      const failure = yield* Effect.flip(Attempt.send(client, HttpClientRequest.post(`${origin.url}/`)))
      expect(failure).toMatchObject({ _tag: "ConnectionError", reason: "Proxy", proxyStatus: 407, requestSent: false })
      expect(HttpFailure.isTransient(failure)).toBe(false)
      expectNoSecret(renderings(failure))
      expectNoSecret(Util.inspect(dispatcher, { depth: Infinity, showHidden: true }))
      expectNoSecret(Util.inspect(client, { depth: Infinity }))
      // a 502 the proxy answers itself cannot be told from the origin's: a ServerError
      proxy.forwardVerdict = () => ({ _tag: "Answer", status: 502 })
      const bad = yield* Effect.flip(get(`${origin.url}/`, options))
      expect(bad).toMatchObject({ _tag: "ServerError", status: 502 })
    }))

  it.effect("forwardHttp needs an http: proxy and a boolean", () =>
    Effect.gen(function*() {
      for (
        const [proxy, message] of [
          [
            { url: "https://127.0.0.1:3128", forwardHttp: true },
            /^UndiciHttpClient: proxy\.forwardHttp needs an http:/
          ],
          [
            { url: "socks5h://127.0.0.1:1080", forwardHttp: true },
            /^UndiciHttpClient: proxy\.forwardHttp needs an http:/
          ],
          [
            { url: "http://127.0.0.1:3128", forwardHttp: "yes" },
            /^UndiciHttpClient: proxy\.forwardHttp \(of type string\)/
          ]
        ] as const
      ) {
        const defect = yield* defectOf(makeWith({ proxy }))
        expect(defect).toBeInstanceOf(RangeError)
        expect((defect as RangeError).message).toMatch(message)
      }
      expect(yield* defectOf(makeWith({ proxy: { url: "http://127.0.0.1:3128", forwardHttp: false } }))).toBeUndefined()
    }))
})
