// The `tls` option of UndiciHttpClient against real node:https and node:http2 servers on 127.0.0.1: a CA given as
// `ca` is trusted, none is not (a `ConnectionError` Tls, never retried), `rejectUnauthorized: false`, a client
// certificate for a server that requires one (mTLS, with a plain, an encrypted and a Redacted key), `servername` for SNI
// and verification; each field refused by name when it is of the wrong type or does not parse, and neither the key nor
// its passphrase in any message or in the dispatcher's inspection. The fixtures are in ./fixtures (see its README).
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Attempt, HttpFailure, Policy } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { Cause, Config, ConfigError, Effect, Exit, Layer, Redacted } from "effect"
import * as Fs from "node:fs"
import type * as Http from "node:http"
import * as Http2 from "node:http2"
import * as Https from "node:https"
import type * as Net from "node:net"
import * as Path from "node:path"
import type * as Tls from "node:tls"
import * as Util from "node:util"
import { loopbackTls } from "../../../test/utils/loopbackServer.js"

const fixture = (name: string): Buffer => Fs.readFileSync(Path.join(import.meta.dirname, "fixtures", name))

const caCert = fixture("ca-cert.pem")
const serverCert = fixture("server-cert.pem")
const serverKey = fixture("server-key.pem")
const clientCert = fixture("client-cert.pem")
const clientKey = fixture("client-key.pem")
const clientKeyEncrypted = fixture("client-key-encrypted.pem")
const passphrase = "sturdy-test-passphrase"

/** A line of the key's PEM body: the key is shown if any message or inspection holds it. */
const keyLines = [clientKey, clientKeyEncrypted].map((pem) => pem.toString("utf8").split("\n")[1])

const expectNoSecret = (text: string) => {
  for (const line of keyLines) expect(text).not.toContain(line)
  expect(text).not.toContain(passphrase)
}

// -----------------------------------------------------------------------------
// Servers: what each TLS connection and request looked like to them
// -----------------------------------------------------------------------------

interface Seen {
  /** TCP connections accepted */
  connections: number
  /** requests that reached the handler */
  requests: number
  /** the SNI name of the latest TLS connection (false: none sent) */
  servername: string | false | undefined
  /** the client certificate's CN of the latest request */
  client: string | undefined
}

const fresh = (): Seen => ({ connections: 0, requests: 0, servername: undefined, client: undefined })

const answer = (seen: Seen) => (request: Http.IncomingMessage, response: Http.ServerResponse) => {
  seen.requests++
  const socket = request.socket as Tls.TLSSocket
  const name = socket.getPeerCertificate().subject?.CN
  seen.client = Array.isArray(name) ? name.join(",") : name
  response.writeHead(200, { "content-type": "application/json" })
  response.end(JSON.stringify({ ok: true }))
}

const track = (server: Net.Server, seen: Seen) => {
  server.on("connection", () => seen.connections++)
  server.on("secureConnection", (socket: Tls.TLSSocket) => {
    seen.servername = (socket as Tls.TLSSocket & { readonly servername?: string | false }).servername
  })
  server.on("tlsClientError", () => {})
}

const listen = (server: Net.Server): Promise<string> =>
  new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve(`https://127.0.0.1:${(server.address() as Net.AddressInfo).port}`))
  )

const close = (server: Https.Server | Http2.Http2SecureServer) =>
  new Promise<void>((resolve) => {
    if ("closeAllConnections" in server) server.closeAllConnections()
    server.close(() => resolve())
  })

// the self-signed loopback certificate of test/fixtures
const selfSigned = fresh()
let selfSignedServer: Https.Server
let selfSignedUrl: string
// a certificate of the test CA for 127.0.0.1, localhost and api.sturdy.test
const caSigned = fresh()
let caSignedServer: Https.Server
let caSignedUrl: string
// the same, requiring a client certificate of the test CA
const mutual = fresh()
let mutualServer: Https.Server
let mutualUrl: string
// HTTP/2 over TLS (and HTTP/1.1 for a client that does not offer h2), requiring a client certificate
const mutualH2 = fresh()
let mutualH2Server: Http2.Http2SecureServer
let mutualH2Url: string
const h2Versions: Array<string> = []

beforeAll(async () => {
  selfSignedServer = Https.createServer(loopbackTls, answer(selfSigned))
  track(selfSignedServer, selfSigned)
  selfSignedUrl = await listen(selfSignedServer)
  caSignedServer = Https.createServer({ cert: serverCert, key: serverKey }, answer(caSigned))
  track(caSignedServer, caSigned)
  caSignedUrl = await listen(caSignedServer)
  mutualServer = Https.createServer(
    { cert: serverCert, key: serverKey, ca: caCert, requestCert: true, rejectUnauthorized: true },
    answer(mutual)
  )
  track(mutualServer, mutual)
  mutualUrl = await listen(mutualServer)
  mutualH2Server = Http2.createSecureServer(
    { cert: serverCert, key: serverKey, ca: caCert, requestCert: true, rejectUnauthorized: true, allowHTTP1: true },
    (request, response) => {
      h2Versions.push(request.httpVersion)
      mutualH2.requests++
      response.writeHead(200, { "content-type": "application/json" })
      response.end(JSON.stringify({ ok: true }))
    }
  )
  track(mutualH2Server, mutualH2)
  mutualH2Server.on("session", (session) => session.on("error", () => {}))
  mutualH2Url = await listen(mutualH2Server)
})

afterAll(async () => {
  await Promise.all([selfSignedServer, caSignedServer, mutualServer, mutualH2Server].map(close))
})

/** One GET through a fresh dispatcher made with `options`: its status, or the `HttpFailure` it ended with. */
const get = (url: string, options: UndiciHttpClient.DispatcherOptions) =>
  Effect.scoped(Effect.gen(function*() {
    const client = UndiciHttpClient.make(yield* UndiciHttpClient.makeDispatcher(options))
    return yield* Attempt.send(client, HttpClientRequest.get(`${url}/`), { timeout: "5 seconds" })
  }))

const status = (url: string, options: UndiciHttpClient.DispatcherOptions) =>
  Effect.map(get(url, options), (received) => received.status)

const failure = (url: string, options: UndiciHttpClient.DispatcherOptions) => Effect.flip(get(url, options))

/** The cause's code as the failure copied it (its `SanitizedCause`). */
const causeCode = (error: HttpFailure.HttpFailure): unknown =>
  (error as { readonly cause?: { code?: unknown } }).cause?.code

/** What `effect` died with (a RangeError here), or undefined when it did not die. */
const defectOf = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.exit(effect), (exit) => Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined)

const makeWith = (tls: unknown) =>
  Effect.scoped(UndiciHttpClient.makeDispatcher({ tls } as UndiciHttpClient.DispatcherOptions))

// -----------------------------------------------------------------------------

describe("UndiciHttpClient tls: whom the client trusts", () => {
  it.live("a self-signed certificate given as ca is trusted: 200", () =>
    Effect.gen(function*() {
      expect(yield* status(selfSignedUrl, { tls: { ca: loopbackTls.cert } })).toBe(200)
      // as a string, in a list, and as a plain Uint8Array too
      expect(yield* status(selfSignedUrl, { tls: { ca: loopbackTls.cert.toString("utf8") } })).toBe(200)
      expect(yield* status(selfSignedUrl, { tls: { ca: [caCert, loopbackTls.cert] } })).toBe(200)
      expect(yield* status(selfSignedUrl, { tls: { ca: new Uint8Array(loopbackTls.cert) } })).toBe(200)
    }))

  it.live("without ca it is not: ConnectionError Tls, never sent, not retried by Policy even for a GET", () =>
    Effect.gen(function*() {
      const error = yield* failure(selfSignedUrl, {})
      expect(error).toMatchObject({ _tag: "ConnectionError", reason: "Tls" })
      expect(causeCode(error)).toBe("DEPTH_ZERO_SELF_SIGNED_CERT")
      expect(HttpFailure.mayHaveReachedServer(error)).toBe(false)
      // a ca that is another CA's: the same
      const other = yield* failure(selfSignedUrl, { tls: { ca: caCert } })
      expect(other).toMatchObject({ _tag: "ConnectionError", reason: "Tls" })
      const before = { connections: selfSigned.connections, requests: selfSigned.requests }
      const policy = yield* Policy.make({ retry: { maxAttempts: 3, baseDelay: "1 millis", budget: false } })
      const viaPolicy = yield* Effect.flip(Effect.scoped(Effect.gen(function*() {
        const client = UndiciHttpClient.make(yield* UndiciHttpClient.makeDispatcher())
        return yield* Policy.send(client, HttpClientRequest.get(`${selfSignedUrl}/`)).pipe(
          Effect.provideService(Policy.Policy, policy)
        )
      })))
      expect(viaPolicy).toMatchObject({ _tag: "ConnectionError", reason: "Tls", attempts: 1 })
      expect(selfSigned.connections - before.connections).toBe(1)
      expect(selfSigned.requests - before.requests).toBe(0)
    }).pipe(Effect.scoped))

  it.live("rejectUnauthorized: false accepts a certificate nobody vouches for: 200", () =>
    Effect.gen(function*() {
      expect(yield* status(selfSignedUrl, { tls: { rejectUnauthorized: false } })).toBe(200)
      // and false is not the default when tls is given without it
      const error = yield* failure(selfSignedUrl, { tls: { servername: "localhost" } })
      expect(error).toMatchObject({ _tag: "ConnectionError", reason: "Tls" })
    }))

  it.live("a certificate of the CA given as ca: 200; a name it was not issued for is a Tls failure", () =>
    Effect.gen(function*() {
      expect(yield* status(caSignedUrl, { tls: { ca: caCert } })).toBe(200)
      const mismatch = yield* failure(caSignedUrl, { tls: { ca: caCert, servername: "other.sturdy.test" } })
      expect(mismatch).toMatchObject({ _tag: "ConnectionError", reason: "Tls" })
      expect(causeCode(mismatch)).toBe("ERR_TLS_CERT_ALTNAME_INVALID")
      expect(HttpFailure.mayHaveReachedServer(mismatch)).toBe(false)
    }))

  it.live("servername is sent by SNI and is the name verified; unset, an IP address sends none", () =>
    Effect.gen(function*() {
      expect(yield* status(caSignedUrl, { tls: { ca: caCert, servername: "api.sturdy.test" } })).toBe(200)
      expect(caSigned.servername).toBe("api.sturdy.test")
      expect(yield* status(caSignedUrl, { tls: { ca: caCert } })).toBe(200)
      expect(caSigned.servername).toBe(false)
    }))
})

describe("UndiciHttpClient tls: client certificates (mTLS)", () => {
  it.live("cert and key are presented to a server that requires them: 200, the server sees the client's name", () =>
    Effect.gen(function*() {
      expect(yield* status(mutualUrl, { tls: { ca: caCert, cert: clientCert, key: clientKey } })).toBe(200)
      expect(mutual.client).toBe("sturdy-test-client")
      mutual.client = undefined
      // a Redacted key, as a string
      const redacted = Redacted.make(clientKey.toString("utf8"))
      expect(yield* status(mutualUrl, { tls: { ca: caCert, cert: clientCert, key: redacted } })).toBe(200)
      expect(mutual.client).toBe("sturdy-test-client")
    }))

  it.live("an encrypted key with its passphrase (plain or Redacted): 200", () =>
    Effect.gen(function*() {
      expect(yield* status(mutualUrl, { tls: { ca: caCert, cert: clientCert, key: clientKeyEncrypted, passphrase } }))
        .toBe(200)
      const tls = { ca: caCert, cert: clientCert, key: clientKeyEncrypted, passphrase: Redacted.make(passphrase) }
      expect(yield* status(mutualUrl, { tls })).toBe(200)
    }))

  it.live("no client certificate for a server that requires one: ConnectionError Tls, handler never run, not retried", () =>
    Effect.gen(function*() {
      // several times: the server's refusal comes after the client's handshake (TLS 1.3); it must read as Tls each time
      for (let i = 0; i < 5; i++) {
        const before = mutual.requests
        const error = yield* failure(mutualUrl, { tls: { ca: caCert } })
        expect(error).toMatchObject({ _tag: "ConnectionError", reason: "Tls" })
        expect(String(causeCode(error))).toMatch(/CERTIFICATE_REQUIRED|PEER_DID_NOT_RETURN_A_CERTIFICATE/)
        expect(HttpFailure.mayHaveReachedServer(error)).toBe(false)
        expect(mutual.requests).toBe(before)
      }
      const connections = mutual.connections
      const policy = yield* Policy.make({ retry: { maxAttempts: 3, baseDelay: "1 millis", budget: false } })
      const viaPolicy = yield* Effect.flip(Effect.scoped(Effect.gen(function*() {
        const client = UndiciHttpClient.make(yield* UndiciHttpClient.makeDispatcher({ tls: { ca: caCert } }))
        return yield* Policy.send(client, HttpClientRequest.post(`${mutualUrl}/`)).pipe(
          Effect.provideService(Policy.Policy, policy)
        )
      })))
      expect(viaPolicy).toMatchObject({ _tag: "ConnectionError", reason: "Tls", attempts: 1 })
      expect(mutual.connections - connections).toBe(1)
    }).pipe(Effect.scoped))

  it.live("a client certificate the server does not trust: node:https closes without an alert, which reads as a reset", () =>
    Effect.gen(function*() {
      // Node's server checks the client's certificate after the handshake and destroys the socket, sending no alert:
      // the client sees the connection end, as any reset (a server that sends an alert gives a Tls failure)
      const before = mutual.requests
      const error = yield* failure(mutualUrl, { tls: { ca: caCert, cert: loopbackTls.cert, key: loopbackTls.key } })
      expect(error).toMatchObject({ _tag: "ConnectionError", reason: "Reset" })
      expect(mutual.requests).toBe(before)
    }))

  it.live("over h2 (http2: true): mTLS with cert and key speaks 2.0; without them a Tls failure", () =>
    Effect.gen(function*() {
      const tls = { ca: caCert, cert: clientCert, key: clientKey }
      expect(yield* status(mutualH2Url, { http2: true, tls })).toBe(200)
      expect(h2Versions.at(-1)).toBe("2.0")
      const error = yield* failure(mutualH2Url, { http2: true, tls: { ca: caCert } })
      expect(error).toMatchObject({ _tag: "ConnectionError", reason: "Tls" })
    }))

  it.live(`with http2: "h2c" the tls option is merged with prior knowledge: h2c to http:, TLS to https:`, () =>
    Effect.gen(function*() {
      const versions: Array<string> = []
      const h2c = Http2.createServer((request, response) => {
        versions.push(request.httpVersion)
        response.end("ok")
      })
      yield* Effect.acquireRelease(
        Effect.promise(() => new Promise<void>((resolve) => h2c.listen(0, "127.0.0.1", resolve))),
        () => Effect.promise(() => new Promise<void>((resolve) => h2c.close(() => resolve())))
      )
      const client = UndiciHttpClient.make(
        yield* UndiciHttpClient.makeDispatcher({ http2: "h2c", tls: { ca: caCert, cert: clientCert, key: clientKey } })
      )
      const port = (h2c.address() as Net.AddressInfo).port
      const cleartext = yield* client.get(`http://127.0.0.1:${port}/`)
      expect(cleartext.status).toBe(200)
      expect(versions).toEqual(["2.0"])
      const secure = yield* client.get(`${mutualH2Url}/`)
      expect(secure.status).toBe(200)
      expect(h2Versions.at(-1)).toBe("2.0")
    }).pipe(Effect.scoped))
})

describe("UndiciHttpClient tls: refused settings name the field", () => {
  const refusals: ReadonlyArray<readonly [string, unknown, RegExp]> = [
    ["tls", "ca.pem", /^UndiciHttpClient: tls \(of type string\) must be an object$/],
    ["tls", [caCert], /^UndiciHttpClient: tls \(an array\) must be an object$/],
    ["tls.ca", { ca: 5 }, /^UndiciHttpClient: tls\.ca \(of type number\) must be a PEM string or Buffer/],
    ["tls.ca", { ca: [caCert, 5] }, /^UndiciHttpClient: tls\.ca \(an array\) must be/],
    ["tls.ca", { ca: [] }, /^UndiciHttpClient: tls\.ca is an empty list$/],
    ["tls.ca", { ca: "internal-ca.pem" }, /^UndiciHttpClient: tls\.ca holds no PEM certificate/],
    ["tls.ca", { ca: [caCert, clientKey] }, /^UndiciHttpClient: tls\.ca\[1\] holds no PEM certificate/],
    [
      "tls.ca",
      { ca: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n" },
      /^UndiciHttpClient: tls\.ca holds a PEM certificate that does not parse/
    ],
    ["tls.cert", { cert: clientCert }, /^UndiciHttpClient: tls\.cert is given without tls\.key$/],
    ["tls.cert", { cert: true, key: clientKey }, /^UndiciHttpClient: tls\.cert \(of type boolean\) must be/],
    ["tls.cert", { cert: "client.pem", key: clientKey }, /^UndiciHttpClient: tls\.cert holds no PEM certificate/],
    ["tls.key", { key: clientKey }, /^UndiciHttpClient: tls\.key is given without tls\.cert$/],
    ["tls.key", { cert: clientCert, key: 5 }, /^UndiciHttpClient: tls\.key \(of type number\) must be/],
    [
      "tls.key",
      { cert: clientCert, key: Redacted.make(5) },
      /^UndiciHttpClient: tls\.key \(a Redacted of type number\) must be/
    ],
    ["tls.key", { cert: clientCert, key: clientCert }, /^UndiciHttpClient: tls\.key is not a PEM private key/],
    ["tls.key", { cert: clientCert, key: serverKey }, /^UndiciHttpClient: tls\.key is not the key of tls\.cert$/],
    [
      "tls.key",
      { cert: clientCert, key: clientKeyEncrypted },
      /^UndiciHttpClient: tls\.key is encrypted: tls\.passphrase is needed$/
    ],
    [
      "tls.passphrase",
      { cert: clientCert, key: clientKeyEncrypted, passphrase: `not-${passphrase}` },
      /^UndiciHttpClient: tls\.passphrase does not decrypt tls\.key/
    ],
    [
      "tls.passphrase",
      { cert: clientCert, key: clientKeyEncrypted, passphrase: Buffer.from(passphrase) },
      /^UndiciHttpClient: tls\.passphrase \(of type object\) must be a string/
    ],
    ["tls.passphrase", { passphrase }, /^UndiciHttpClient: tls\.passphrase is given without tls\.key$/],
    ["tls.servername", { servername: 5 }, /^UndiciHttpClient: tls\.servername \(of type number\) must be a host name/],
    ["tls.servername", { servername: "" }, /^UndiciHttpClient: tls\.servername \(""\) must be a host name$/],
    ["tls.servername", { servername: "a b" }, /^UndiciHttpClient: tls\.servername \("a b"\) must be a host name$/],
    ["tls.servername", { servername: "127.0.0.1" }, /^UndiciHttpClient: tls\.servername \(127\.0\.0\.1\) is an IP/],
    [
      "tls.rejectUnauthorized",
      { rejectUnauthorized: "false" },
      /^UndiciHttpClient: tls\.rejectUnauthorized \(of type string\) must be true or false$/
    ],
    ["tls.minVersion", { minVersion: "TLSv1" }, /^UndiciHttpClient: tls\.minVersion \("TLSv1"\) must be "TLSv1\.2"/],
    ["tls.minVersion", { minVersion: 1.3 }, /^UndiciHttpClient: tls\.minVersion \(of type number\) must be/]
  ]

  it.effect("a field of the wrong type, or that does not parse, is a RangeError naming it", () =>
    Effect.gen(function*() {
      for (const [field, tls, message] of refusals) {
        const defect = yield* defectOf(
          field === "tls"
            ? Effect.scoped(UndiciHttpClient.makeDispatcher({ tls } as UndiciHttpClient.DispatcherOptions))
            : makeWith(tls)
        )
        expect(defect, `${field} ${Util.inspect(tls)}`).toBeInstanceOf(RangeError)
        expect((defect as Error).message, field).toMatch(message)
        expectNoSecret((defect as Error).message)
      }
    }))

  it.effect("null is no setting, as undefined is; minVersion TLSv1.3 and rejectUnauthorized true are taken", () =>
    Effect.gen(function*() {
      for (
        const tls of [null, {}, { ca: null, servername: null }, { minVersion: "TLSv1.3", rejectUnauthorized: true }]
      ) {
        expect(yield* defectOf(makeWith(tls)), Util.inspect(tls)).toBeUndefined()
      }
    }))

  it.live("minVersion TLSv1.3 is the floor: a server that stops at TLS 1.2 fails with Tls", () =>
    Effect.gen(function*() {
      const old = Https.createServer({ ...loopbackTls, maxVersion: "TLSv1.2" }, (_, response) => response.end("ok"))
      old.on("tlsClientError", () => {})
      const url = yield* Effect.acquireRelease(
        Effect.promise(() => listen(old)),
        () => Effect.promise(() => close(old))
      )
      expect(yield* status(url, { tls: { ca: loopbackTls.cert } })).toBe(200)
      const error = yield* failure(url, { tls: { ca: loopbackTls.cert, minVersion: "TLSv1.3" } })
      expect(error).toMatchObject({ _tag: "ConnectionError", reason: "Tls" })
    }).pipe(Effect.scoped))

  it.effect("layerConfig: a refused tls field is a ConfigError naming it", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        Effect.scoped(Layer.build(UndiciHttpClient.layerConfig(Config.succeed({
          tls: { cert: clientCert, key: clientKeyEncrypted, passphrase: Redacted.make(`not-${passphrase}`) }
        }))))
      )
      expect(Exit.isFailure(exit)).toBe(true)
      const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
      expect(ConfigError.isConfigError(error)).toBe(true)
      expect(String(error)).toContain("tls.passphrase")
      expectNoSecret(String(error))
    }))

  it.live("layerConfig with a tls read from configuration (Config.redacted key) serves requests", () =>
    Effect.gen(function*() {
      const config = Config.succeed({
        tls: { ca: caCert, cert: clientCert, key: clientKeyEncrypted, passphrase: Redacted.make(passphrase) }
      })
      const response = yield* HttpClient.get(`${mutualUrl}/`).pipe(
        Effect.provide(UndiciHttpClient.layerConfig(config))
      )
      expect(response.status).toBe(200)
    }))
})

describe("UndiciHttpClient tls: the key and its passphrase stay secret", () => {
  it.live("inspecting the dispatcher shows neither; nor does a failure of a request through it", () =>
    Effect.gen(function*() {
      const dispatcher = yield* UndiciHttpClient.makeDispatcher({
        tls: { ca: caCert, cert: clientCert, key: clientKeyEncrypted, passphrase }
      })
      const plain = yield* UndiciHttpClient.makeDispatcher({ tls: { ca: caCert, cert: clientCert, key: clientKey } })
      for (const shown of [dispatcher, plain]) {
        expectNoSecret(Util.inspect(shown, { depth: Infinity, showHidden: true }))
        expectNoSecret(String(shown))
      }
      // a request that fails (the self-signed server is not trusted): the failure, its message and its JSON
      const client = UndiciHttpClient.make(dispatcher)
      const error = yield* Effect.flip(Attempt.send(client, HttpClientRequest.get(`${selfSignedUrl}/`)))
      expect(error).toMatchObject({ _tag: "ConnectionError", reason: "Tls" })
      expectNoSecret(error.message)
      expectNoSecret(String(error))
      expectNoSecret(JSON.stringify(error))
      expectNoSecret(Util.inspect(error, { depth: Infinity, showHidden: true }))
    }).pipe(Effect.scoped))
})
