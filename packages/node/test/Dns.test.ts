// The `dns` option of UndiciHttpClient (undici's DNS interceptor, with a cache of Sturdy's own) against real node:http
// and node:https servers on 127.0.0.1 (and ::1 where it is refused), names resolved by a counting `lookup` hook that
// maps `*.sturdy.test` to loopback: N requests to one name are one lookup within the TTL, and a new one after it
// (Date.now faked: the interceptor reads it for the TTL); the Host header and the TLS name (SNI and the name verified)
// stay the URL's, `tls.servername`'s or the request's Host header's (also when undici retries the other family); a name that does
// not resolve is a `ConnectionError` `DnsLookup` and is not cached; a refused connection drops the name; an IP in the
// URL is not looked up; an interrupted request waiting on its lookup sends nothing; with a proxy (CONNECT or SOCKS5,
// real ones on 127.0.0.1) the hosts of `noProxy` / `NO_PROXY` use the cache and the proxied ones are never looked up
// here; `dns` with a proxy that every host goes through, or with `socketPath`, is a RangeError.
import { HttpClientRequest } from "@effect/platform"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "@effect/vitest"
import { Attempt, HttpFailure } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { Cause, Config, ConfigError, Deferred, Effect, Exit, FastCheck, Fiber, Layer } from "effect"
import * as Dns from "node:dns"
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Http2 from "node:http2"
import * as Https from "node:https"
import type * as Net from "node:net"
import * as Path from "node:path"
import type * as Tls from "node:tls"
import * as Zlib from "node:zlib"
import { vi } from "vitest"
import { startConnectProxy, withEnv } from "./utils/connectProxy.js"
import { startSocks5Server } from "./utils/socks5Server.js"

const fixture = (name: string): Buffer => Fs.readFileSync(Path.join(import.meta.dirname, "fixtures", name))
const caCert = fixture("ca-cert.pem")

interface Seen {
  readonly host: string | undefined
  readonly servername: string | false | undefined
}

const seen: Array<Seen> = []
let plain: Http.Server
let secure: Https.Server
let plainPort: number
let securePort: number
let closedPort: number

const answer = (request: Http.IncomingMessage, response: Http.ServerResponse) => {
  const socket = request.socket as Tls.TLSSocket & { readonly servername?: string | false }
  seen.push({ host: request.headers.host, servername: socket.encrypted ? socket.servername : undefined })
  request.resume()
  response.writeHead(200, { "content-type": "text/plain" })
  response.end("ok")
}

const listen = (server: Net.Server, host = "127.0.0.1") =>
  new Promise<number>((resolve) => server.listen(0, host, () => resolve((server.address() as Net.AddressInfo).port)))

const close = (server: Net.Server) =>
  new Promise<void>((resolve) => {
    if ("closeAllConnections" in server) (server as Http.Server).closeAllConnections()
    server.close(() => resolve())
  })

beforeAll(async () => {
  plain = Http.createServer(answer)
  secure = Https.createServer({ cert: fixture("server-cert.pem"), key: fixture("server-key.pem") }, answer)
  plainPort = await listen(plain)
  securePort = await listen(secure)
  // a port nothing listens on: a server's, closed
  const gone = Http.createServer()
  closedPort = await listen(gone)
  await close(gone)
})

afterAll(async () => {
  await Promise.all([plain, secure].map(close))
})

afterEach(() => {
  vi.useRealTimers()
})

type Lookup = NonNullable<UndiciHttpClient.DnsOptions["lookup"]>
type Addresses = ReadonlyArray<{ readonly address: string; readonly family: number }>

/** A `lookup` that answers from `table` (a name it lacks: `ENOTFOUND`) and records each name it is asked for. */
const counting = (table: Record<string, Addresses | Error>) => {
  const asked: Array<string> = []
  const lookup: Lookup = (hostname, _options, callback) => {
    asked.push(hostname)
    const entry = table[hostname]
    setImmediate(() => {
      if (entry === undefined) {
        callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" }), [])
      } else if (entry instanceof Error) {
        callback(entry, [])
      } else {
        callback(null, entry)
      }
    })
  }
  return { asked, lookup }
}

const v4 = [{ address: "127.0.0.1", family: 4 }]

const withClient = <A, E>(
  options: UndiciHttpClient.DispatcherOptions,
  use: (
    send: (url: string, headers?: Record<string, string>) => Effect.Effect<string, HttpFailure.HttpFailure>
  ) => Effect.Effect<A, E>
) =>
  Effect.scoped(Effect.gen(function*() {
    const client = UndiciHttpClient.make(yield* UndiciHttpClient.makeDispatcher(options))
    return yield* use((url, headers = {}) =>
      Attempt.send(client, HttpClientRequest.get(url).pipe(HttpClientRequest.setHeaders(headers)), {
        timeout: "5 seconds"
      }).pipe(Effect.map((received) => received.text))
    )
  }))

const failureOf = <A>(effect: Effect.Effect<A, HttpFailure.HttpFailure>) =>
  Effect.flip(effect).pipe(Effect.map((failure) => ({
    tag: failure._tag,
    reason: "reason" in failure ? failure.reason : undefined,
    code: (failure as { readonly cause?: { readonly code?: unknown } }).cause?.code
  })))

describe("UndiciHttpClient dns", () => {
  it.live("N requests to one name: one lookup within the TTL; the Host header is the URL's", () =>
    Effect.gen(function*() {
      const { asked, lookup } = counting({ "api.sturdy.test": v4 })
      const before = seen.length
      yield* withClient({ dns: { lookup } }, (send) =>
        Effect.gen(function*() {
          for (let i = 0; i < 5; i++) expect(yield* send(`http://api.sturdy.test:${plainPort}/`)).toBe("ok")
        }))
      expect(asked).toEqual(["api.sturdy.test"])
      expect(seen.slice(before).map((s) => s.host)).toEqual(Array(5).fill(`api.sturdy.test:${plainPort}`))
    }))

  it.live("with decompress too: a gzipped answer is decoded through the cached address, one lookup", () =>
    Effect.gen(function*() {
      const gzipping = Http.createServer((request, response) => {
        request.resume()
        response.writeHead(200, {
          "content-type": "text/plain",
          "content-encoding": request.headers["accept-encoding"]?.includes("gzip") ? "gzip" : "identity"
        })
        response.end(request.headers["accept-encoding"]?.includes("gzip") ? Zlib.gzipSync("zipped") : "plain")
      })
      const port = yield* Effect.promise(() => listen(gzipping))
      const { asked, lookup } = counting({ "api.sturdy.test": v4 })
      const texts = yield* withClient(
        { dns: { lookup }, decompress: true },
        (send) => Effect.all([send(`http://api.sturdy.test:${port}/`), send(`http://api.sturdy.test:${port}/`)])
      ).pipe(
        Effect.ensuring(Effect.promise(() => close(gzipping)))
      )
      expect(texts).toEqual(["zipped", "zipped"])
      expect(asked).toEqual(["api.sturdy.test"])
    }))

  it.live("dns: true resolves with the system's resolver (localhost), and dns.lookup itself is a lookup", () =>
    Effect.gen(function*() {
      const before = seen.length
      yield* withClient({ dns: true }, (send) => send(`http://localhost:${plainPort}/`))
      yield* withClient(
        { dns: { lookup: Dns.lookup, dualStack: false } },
        (send) => send(`http://localhost:${plainPort}/`)
      )
      expect(seen.slice(before).map((s) => s.host)).toEqual([`localhost:${plainPort}`, `localhost:${plainPort}`])
    }))

  it.live("a new lookup once maxTtl has passed (Date.now faked), none just before", () =>
    Effect.gen(function*() {
      vi.useFakeTimers({ toFake: ["Date"], now: 1_000_000 })
      const { asked, lookup } = counting({ "api.sturdy.test": v4 })
      yield* withClient({ dns: { lookup, maxTtl: "1 minute" } }, (send) =>
        Effect.gen(function*() {
          const url = `http://api.sturdy.test:${plainPort}/`
          yield* send(url)
          vi.setSystemTime(1_000_000 + 60_000)
          yield* send(url)
          expect(asked).toHaveLength(1)
          vi.setSystemTime(1_000_000 + 60_001)
          yield* send(url)
          expect(asked).toHaveLength(2)
          yield* send(url)
          expect(asked).toHaveLength(2)
        }))
    }))

  it.live("a name that does not resolve is ConnectionError DnsLookup, and is not cached", () =>
    Effect.gen(function*() {
      const { asked, lookup } = counting({ "empty.sturdy.test": [] })
      yield* withClient({ dns: { lookup } }, (send) =>
        Effect.gen(function*() {
          for (const name of ["missing.sturdy.test", "missing.sturdy.test", "empty.sturdy.test"]) {
            expect(yield* failureOf(send(`http://${name}:${plainPort}/`))).toEqual({
              tag: "ConnectionError",
              reason: "DnsLookup",
              code: "ENOTFOUND"
            })
          }
        }))
      expect(asked).toEqual(["missing.sturdy.test", "missing.sturdy.test", "empty.sturdy.test"])
      const failure = yield* withClient({ dns: { lookup } }, (send) =>
        Effect.flip(send(`http://missing.sturdy.test:${plainPort}/`)))
      expect(HttpFailure.mayHaveReachedServer(failure)).toBe(false)
    }))

  it.live("EAI_AGAIN from the resolver is DnsLookup too", () =>
    Effect.gen(function*() {
      const again = Object.assign(new Error("getaddrinfo EAI_AGAIN api.sturdy.test"), { code: "EAI_AGAIN" })
      const { lookup } = counting({ "api.sturdy.test": again })
      const failure = yield* withClient({ dns: { lookup } }, (send) =>
        failureOf(send(`http://api.sturdy.test:${plainPort}/`)))
      expect(failure).toEqual({ tag: "ConnectionError", reason: "DnsLookup", code: "EAI_AGAIN" })
    }))

  it.live("a refused connection to a cached address drops the name: the next request resolves it again", () =>
    Effect.gen(function*() {
      const { asked, lookup } = counting({ "api.sturdy.test": v4 })
      yield* withClient({ dns: { lookup } }, (send) =>
        Effect.gen(function*() {
          const url = `http://api.sturdy.test:${closedPort}/`
          expect((yield* failureOf(send(url))).reason).toBe("Refused")
          expect((yield* failureOf(send(url))).reason).toBe("Refused")
        }))
      expect(asked).toEqual(["api.sturdy.test", "api.sturdy.test"])
    }))

  it.live("https: SNI and the name verified are the URL's host name, not the address", () =>
    Effect.gen(function*() {
      const { lookup } = counting({ "api.sturdy.test": v4, "other.sturdy.test": v4 })
      const before = seen.length
      yield* withClient({ dns: { lookup }, tls: { ca: caCert } }, (send) =>
        Effect.gen(function*() {
          expect(yield* send(`https://api.sturdy.test:${securePort}/`)).toBe("ok")
          // the certificate holds 127.0.0.1, not this name: verified against the address, it would pass
          const mismatch = yield* failureOf(send(`https://other.sturdy.test:${securePort}/`))
          expect(mismatch).toEqual({ tag: "ConnectionError", reason: "Tls", code: "ERR_TLS_CERT_ALTNAME_INVALID" })
        }))
      expect(seen.slice(before)).toEqual([{ host: `api.sturdy.test:${securePort}`, servername: "api.sturdy.test" }])
    }))

  it.live("https: tls.servername, and a request's own Host header, still name the TLS peer", () =>
    Effect.gen(function*() {
      const { lookup } = counting({ "api.sturdy.test": v4 })
      const before = seen.length
      yield* withClient(
        { dns: { lookup }, tls: { ca: caCert, servername: "localhost" } },
        (send) => send(`https://api.sturdy.test:${securePort}/`)
      )
      yield* withClient(
        { dns: { lookup }, tls: { ca: caCert } },
        (send) => send(`https://api.sturdy.test:${securePort}/`, { host: "localhost" })
      )
      expect(seen.slice(before)).toEqual([
        { host: `api.sturdy.test:${securePort}`, servername: "localhost" },
        { host: "localhost", servername: "localhost" }
      ])
    }))

  it.live("https: a name with IPv4 and IPv6 addresses (nothing on ::1): each request answered, with the SNI name", () =>
    Effect.gen(function*() {
      const { asked, lookup } = counting({
        "api.sturdy.test": [{ address: "127.0.0.1", family: 4 }, { address: "::1", family: 6 }]
      })
      const before = seen.length
      yield* withClient({ dns: { lookup }, tls: { ca: caCert } }, (send) =>
        Effect.gen(function*() {
          // IPv4 first (undici's own default would alternate, then retry a refused ::1 on IPv4)
          for (let i = 0; i < 2; i++) expect(yield* send(`https://api.sturdy.test:${securePort}/`)).toBe("ok")
        }))
      expect(asked).toEqual(["api.sturdy.test"])
      expect(seen.slice(before).map((s) => s.servername)).toEqual(["api.sturdy.test", "api.sturdy.test"])
    }))

  it.live("an IP address in the URL, IPv4 or IPv6, is not looked up", () =>
    Effect.gen(function*() {
      const { asked, lookup } = counting({})
      const v6 = Http.createServer(answer)
      const v6Port = yield* Effect.promise(() => listen(v6, "::1"))
      yield* withClient({ dns: { lookup } }, (send) =>
        Effect.gen(function*() {
          expect(yield* send(`http://127.0.0.1:${plainPort}/`)).toBe("ok")
          expect(yield* send(`http://[::1]:${v6Port}/`)).toBe("ok")
        })).pipe(Effect.ensuring(Effect.promise(() => close(v6))))
      expect(asked).toEqual([])
    }))

  it.live("maxItems bounds the cache: the oldest name is dropped, every name still goes through lookup", () =>
    Effect.gen(function*() {
      const { asked, lookup } = counting({ "a.sturdy.test": v4, "b.sturdy.test": v4 })
      yield* withClient({ dns: { lookup, maxItems: 1 } }, (send) =>
        Effect.gen(function*() {
          for (const name of ["a", "a", "b", "b", "a"]) yield* send(`http://${name}.sturdy.test:${plainPort}/`)
        }))
      expect(asked).toEqual(["a.sturdy.test", "b.sturdy.test", "a.sturdy.test"])
    }))

  // property: through real requests, the names looked up are exactly the misses of a first-in-first-out cache of
  // `maxItems` names (a name is kept from its lookup until `maxItems` newer names were looked up), and every name,
  // cached or not, goes through `lookup` (undici's own storage, once full, would let the Agent call getaddrinfo)
  it.live.prop(
    "maxItems: lookups are the misses of a FIFO cache of maxItems names",
    [
      FastCheck.integer({ min: 1, max: 3 }),
      FastCheck.array(FastCheck.constantFrom("a", "b", "c", "d"), { minLength: 1, maxLength: 8 })
    ],
    ([maxItems, names]) =>
      Effect.gen(function*() {
        const table = Object.fromEntries(["a", "b", "c", "d"].map((n) => [`${n}.sturdy.test`, v4]))
        const { asked, lookup } = counting(table)
        yield* withClient({ dns: { lookup, maxItems } }, (send) =>
          Effect.forEach(names, (name) => send(`http://${name}.sturdy.test:${plainPort}/`), { discard: true }))
        const kept: Array<string> = []
        const misses: Array<string> = []
        for (const name of names) {
          if (kept.includes(name)) {
            continue
          }
          misses.push(`${name}.sturdy.test`)
          kept.push(name)
          if (kept.length > maxItems) {
            kept.shift()
          }
        }
        expect(asked).toEqual(misses)
      }),
    { fastCheck: { seed: 20261207, numRuns: 25 } }
  )

  it.live("a request interrupted while its lookup is pending is never sent", () =>
    Effect.gen(function*() {
      const pending = yield* Deferred.make<() => void>()
      const lookup: Lookup = (_hostname, _options, callback) =>
        Deferred.unsafeDone(pending, Exit.succeed(() => callback(null, v4)))
      const before = seen.length
      yield* withClient({ dns: { lookup } }, (send) =>
        Effect.gen(function*() {
          const fiber = yield* Effect.fork(send(`http://api.sturdy.test:${plainPort}/`))
          const answerLookup = yield* Deferred.await(pending)
          const exit = yield* Fiber.interrupt(fiber)
          expect(Exit.isInterrupted(exit)).toBe(true)
          answerLookup()
          // the dispatch that follows the late answer is aborted before it writes: a request after it is the only one
          expect(yield* send(`http://127.0.0.1:${plainPort}/`)).toBe("ok")
        }))
      expect(seen.slice(before)).toHaveLength(1)
    }))

  it.live("an attempt timeout bounds a lookup that never answers", () =>
    Effect.gen(function*() {
      const lookup: Lookup = () => {}
      const failure = yield* Effect.scoped(Effect.gen(function*() {
        const client = UndiciHttpClient.make(yield* UndiciHttpClient.makeDispatcher({ dns: { lookup } }))
        return yield* Effect.flip(
          Attempt.send(client, HttpClientRequest.get(`http://api.sturdy.test:${plainPort}/`), { timeout: "50 millis" })
        )
      }))
      expect(failure._tag).toBe("Timeout")
      expect((failure as { readonly requestSent?: boolean }).requestSent).toBe(false)
    }))

  it.effect("values out of range are a RangeError naming the field; false, null and true are taken", () =>
    Effect.gen(function*() {
      const defectOf = (dns: unknown) =>
        Effect.exit(Effect.scoped(UndiciHttpClient.makeDispatcher({ dns } as UndiciHttpClient.DispatcherOptions)))
          .pipe(Effect.map((exit) => Exit.isFailure(exit) ? Cause.squash(exit.cause) : "made"))
      const cases: ReadonlyArray<readonly [unknown, RegExp]> = [
        ["yes", /^UndiciHttpClient: dns \(of type string\) must be true, false or an object$/],
        [1, /^UndiciHttpClient: dns \(of type number\) must be true, false or an object$/],
        [[], /^UndiciHttpClient: dns \(.*\) must be true, false or an object$/],
        [{ maxTtl: 0 }, /^UndiciHttpClient: dns\.maxTtl \(0\) must be positive$/],
        [{ maxTtl: -1 }, /^UndiciHttpClient: dns\.maxTtl \(-1\) must not be negative$/],
        [{ maxTtl: "soon" }, /^UndiciHttpClient: dns\.maxTtl \(soon\) is not a duration$/],
        [{ maxItems: 0 }, /^UndiciHttpClient: dns\.maxItems \(0\) must be an integer >= 1$/],
        [{ maxItems: 1.5 }, /^UndiciHttpClient: dns\.maxItems \(1\.5\) must be an integer >= 1$/],
        [{ dualStack: "no" }, /^UndiciHttpClient: dns\.dualStack \(of type string\) must be true or false$/],
        [{ lookup: "8.8.8.8" }, /^UndiciHttpClient: dns\.lookup \(of type string\) must be a function/]
      ]
      for (const [dns, message] of cases) {
        const defect = yield* defectOf(dns)
        expect(defect, String(dns)).toBeInstanceOf(RangeError)
        expect((defect as Error).message, String(dns)).toMatch(message)
      }
      for (const dns of [false, null, undefined, true, {}, { maxTtl: "1 millis", maxItems: 1, dualStack: false }]) {
        expect(yield* defectOf(dns)).toBe("made")
      }
    }))

  it.live("http2: h2 by ALPN to the cached address, with the URL's name as SNI", () =>
    Effect.gen(function*() {
      const { asked, lookup } = counting({ "api.sturdy.test": v4 })
      const versions: Array<string> = []
      let servername: string | false | undefined
      const h2 = Http2.createSecureServer(
        { cert: fixture("server-cert.pem"), key: fixture("server-key.pem"), allowHTTP1: true },
        (request, response) => {
          versions.push(request.httpVersion)
          response.end("ok")
        }
      )
      h2.on("secureConnection", (socket: Tls.TLSSocket & { readonly servername?: string | false }) => {
        servername = socket.servername
      })
      const port = yield* Effect.promise(() => listen(h2))
      yield* withClient({ dns: { lookup }, http2: true, tls: { ca: caCert } }, (send) =>
        Effect.gen(function*() {
          for (let i = 0; i < 3; i++) expect(yield* send(`https://api.sturdy.test:${port}/`)).toBe("ok")
        })).pipe(Effect.ensuring(Effect.promise(() => close(h2))))
      expect(versions).toEqual(["2.0", "2.0", "2.0"])
      expect(servername).toBe("api.sturdy.test")
      expect(asked).toEqual(["api.sturdy.test"])
    }))

  it.effect("layerConfig: a dns value out of range is a ConfigError naming it", () =>
    Effect.gen(function*() {
      const layer = UndiciHttpClient.layerConfig(Config.succeed({ dns: { maxItems: 0 } }))
      const error = yield* Effect.flip(Effect.scoped(Layer.build(layer)))
      expect(ConfigError.isConfigError(error)).toBe(true)
      expect(String(error)).toContain("dns.maxItems")
    }))

  it.effect("dns with a proxy every host goes through, or with socketPath, is a RangeError naming both", () =>
    Effect.gen(function*() {
      const noneDirect = /^UndiciHttpClient: dns cannot be combined with proxy without proxy\.noProxy \(every host/
      for (
        const [options, message] of [
          [{ dns: true, proxy: "http://127.0.0.1:3128" }, noneDirect],
          [{ dns: {}, proxy: "socks5h://127.0.0.1:1080" }, noneDirect],
          [{ dns: true, proxy: { url: "http://127.0.0.1:3128", forwardHttp: true } }, noneDirect],
          // a noProxy that names no host is none
          [{ dns: true, proxy: { url: "http://127.0.0.1:3128", noProxy: "" } }, noneDirect],
          [{ dns: true, proxy: { url: "http://127.0.0.1:3128", noProxy: " \t" } }, noneDirect],
          [{ dns: true, socketPath: "/tmp/x.sock" }, /dns cannot be combined with socketPath/]
        ] as const
      ) {
        const exit = yield* Effect.exit(Effect.scoped(UndiciHttpClient.makeDispatcher(options)))
        const defect = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
        expect(defect).toBeInstanceOf(RangeError)
        expect((defect as Error).message).toMatch(message)
      }
    }))

  describe("behind a proxy: the hosts reached directly use the cache", () => {
    /**
     * Sends `url` with `send`; "proxy" when the proxy saw a new connection for it, else "direct" (each test sends a
     * proxied origin once: a second request would take the tunnel already open).
     */
    const routed = (
      send: (url: string) => Effect.Effect<string, HttpFailure.HttpFailure>,
      proxied: () => number,
      url: string
    ) =>
      Effect.gen(function*() {
        const before = proxied()
        expect(yield* send(url)).toBe("ok")
        return proxied() > before ? "proxy" : "direct"
      })

    it.scopedLive("proxy.noProxy: its hosts resolved once (http: and https:), the others through the tunnel, never here", () =>
      Effect.gen(function*() {
        const proxy = yield* startConnectProxy()
        const { asked, lookup } = counting({ "api.sturdy.test": v4, "other.sturdy.test": v4 })
        const before = seen.length
        const routes = yield* withClient(
          { dns: { lookup }, proxy: { url: proxy.url, noProxy: "api.sturdy.test" }, tls: { ca: caCert } },
          (send) =>
            Effect.forEach([
              `http://api.sturdy.test:${plainPort}/`,
              `http://other.sturdy.test:${plainPort}/`,
              `http://api.sturdy.test:${plainPort}/`,
              `https://api.sturdy.test:${securePort}/`
            ], (url) => routed(send, () => proxy.seen.length, url))
        )
        expect(routes).toEqual(["direct", "proxy", "direct", "direct"])
        expect(asked).toEqual(["api.sturdy.test"])
        expect(proxy.seen.map((connect) => connect.target)).toEqual([`other.sturdy.test:${plainPort}`])
        // the Host header and the TLS name stay the URL's on the direct path
        expect(seen.slice(before).map((s) => s.host)).toContain(`api.sturdy.test:${securePort}`)
        expect(seen.slice(before).find((s) => s.servername !== undefined)?.servername).toBe("api.sturdy.test")
        // a URL without a port is on its scheme's (80): noProxy's "host:80" matches it, so its name is looked up here
        // (whatever answers on 127.0.0.1:80, if anything: only the lookup is checked)
        const port80 = counting({ "api.sturdy.test": v4 })
        yield* withClient(
          { dns: { lookup: port80.lookup }, proxy: { url: proxy.url, noProxy: "api.sturdy.test:80" } },
          (send) => Effect.exit(send("http://api.sturdy.test/"))
        )
        expect(port80.asked).toEqual(["api.sturdy.test"])
      }))

    it.scopedLive("\"env\": NO_PROXY's hosts and a scheme without a proxy go direct and use the cache", () =>
      Effect.gen(function*() {
        const proxy = yield* startConnectProxy()
        const { asked, lookup } = counting({ "api.sturdy.test": v4, "other.sturdy.test": v4 })
        const run = (vars: Record<string, string>, urls: ReadonlyArray<string>) =>
          withEnv(
            vars,
            withClient(
              { dns: { lookup }, proxy: "env", tls: { ca: caCert } },
              (send) => Effect.forEach(urls, (url) => routed(send, () => proxy.seen.length, url))
            )
          )
        const api = `http://api.sturdy.test:${plainPort}/`
        const other = `http://other.sturdy.test:${plainPort}/`
        expect(yield* run({ HTTP_PROXY: proxy.url, NO_PROXY: ".sturdy.test:" + plainPort }, [api, other, api]))
          .toEqual(["direct", "direct", "direct"])
        expect(asked).toEqual(["api.sturdy.test", "other.sturdy.test"])
        asked.length = 0
        expect(yield* run({ HTTP_PROXY: proxy.url, NO_PROXY: "api.sturdy.test" }, [api, other, api]))
          .toEqual(["direct", "proxy", "direct"])
        expect(asked).toEqual(["api.sturdy.test"])
        asked.length = 0
        // HTTPS_PROXY alone: http: origins have no proxy, and go direct
        expect(yield* run({ HTTPS_PROXY: proxy.url }, [other, other, `https://api.sturdy.test:${securePort}/`]))
          .toEqual(["direct", "direct", "proxy"])
        expect(asked).toEqual(["other.sturdy.test"])
        asked.length = 0
        // accepted with no exception at all (the environment decides, and may differ elsewhere): nothing looked up
        expect(yield* run({ HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url }, [api, other])).toEqual(["proxy", "proxy"])
        expect(asked).toEqual([])
      }))

    it.scopedLive("SOCKS5 with noProxy: its hosts use the cache, the others' names go to the proxy (socks5h)", () =>
      Effect.gen(function*() {
        const proxy = yield* startSocks5Server()
        const { asked, lookup } = counting({ "api.sturdy.test": v4, "other.sturdy.test": v4 })
        const routes = yield* withClient(
          { dns: { lookup }, proxy: { url: proxy.url, noProxy: "api.sturdy.test" } },
          (send) =>
            Effect.forEach([
              `http://api.sturdy.test:${plainPort}/`,
              `http://other.sturdy.test:${plainPort}/`,
              `http://api.sturdy.test:${plainPort}/`
            ], (url) => routed(send, () => proxy.seen.length, url))
        )
        expect(routes).toEqual(["direct", "proxy", "direct"])
        expect(asked).toEqual(["api.sturdy.test"])
        expect(proxy.seen.map((s) => [s.type, s.address])).toEqual([["domain", "other.sturdy.test"]])
      }))

    it.live("the two dispatchers are closed together: no connection left open once the scope closes", () =>
      Effect.gen(function*() {
        const own = Http.createServer(answer)
        const port = yield* Effect.promise(() => listen(own))
        const open = () => new Promise<number>((resolve) => own.getConnections((_, count) => resolve(count)))
        const { lookup } = counting({ "api.sturdy.test": v4 })
        yield* Effect.scoped(Effect.gen(function*() {
          const proxy = yield* startConnectProxy()
          yield* withClient(
            { dns: { lookup }, proxy: { url: proxy.url, noProxy: "api.sturdy.test" } },
            (send) =>
              Effect.gen(function*() {
                expect(yield* send(`http://api.sturdy.test:${port}/`)).toBe("ok")
                expect(yield* Effect.promise(open)).toBe(1)
              })
          )
        }))
        // the server sees the client's close soon after: a few ms at a time, up to 2 s
        let after = yield* Effect.promise(open)
        for (let i = 0; i < 400 && after > 0; i++) {
          yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 5)))
          after = yield* Effect.promise(open)
        }
        yield* Effect.promise(() => close(own))
        expect(after).toBe(0)
      }))
  })
})
