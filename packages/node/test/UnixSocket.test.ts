// The `socketPath` option of UndiciHttpClient against real node:http and node:https servers listening on a Unix domain
// socket in a temporary directory: the URL's host is the Host header (and the TLS name), a socket that does not exist
// (ENOENT) or where nothing listens (ECONNREFUSED) is a `ConnectionError` Refused that never reached the server (Policy
// retries even a POST), and a path that is not one is a RangeError naming `socketPath` (ConfigError in layerConfig).
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Attempt, HttpFailure, Policy } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { Cause, Config, ConfigError, Effect, Exit, Layer } from "effect"
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Https from "node:https"
import * as Os from "node:os"
import * as Path from "node:path"

const fixture = (name: string): Buffer => Fs.readFileSync(Path.join(import.meta.dirname, "fixtures", name))
const caCert = fixture("ca-cert.pem")

interface Seen {
  readonly method: string | undefined
  readonly url: string | undefined
  readonly host: string | undefined
}

let directory: string
let plainPath: string
let securePath: string
const seen: Array<Seen> = []
let plain: Http.Server
let secure: Https.Server

const answer = (request: Http.IncomingMessage, response: Http.ServerResponse) => {
  seen.push({ method: request.method, url: request.url, host: request.headers.host })
  request.resume()
  request.on("end", () => {
    response.writeHead(200, { "content-type": "application/json" })
    response.end(JSON.stringify({ ok: true }))
  })
}

const listen = (server: Http.Server, path: string) =>
  new Promise<void>((resolve) => server.listen(path, () => resolve()))

beforeAll(async () => {
  directory = Fs.mkdtempSync(Path.join(Os.tmpdir(), "sturdy-unix-"))
  plainPath = Path.join(directory, "plain.sock")
  securePath = Path.join(directory, "secure.sock")
  plain = Http.createServer(answer)
  secure = Https.createServer({ cert: fixture("server-cert.pem"), key: fixture("server-key.pem") }, answer)
  await Promise.all([listen(plain, plainPath), listen(secure, securePath)])
})

afterAll(async () => {
  await Promise.all([plain, secure].map((server) =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  ))
  Fs.rmSync(directory, { recursive: true, force: true })
})

const send = (request: HttpClientRequest.HttpClientRequest, options: UndiciHttpClient.DispatcherOptions) =>
  Effect.scoped(Effect.gen(function*() {
    const client = UndiciHttpClient.make(yield* UndiciHttpClient.makeDispatcher(options))
    return yield* Attempt.send(client, request, { timeout: "5 seconds" })
  }))

const causeCode = (error: HttpFailure.HttpFailure): unknown =>
  (error as { readonly cause?: { code?: unknown } }).cause?.code

const defectOf = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.exit(effect), (exit) => Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined)

describe("UndiciHttpClient socketPath", () => {
  it.live("http: over the socket: 200, the URL's host is the Host header", () =>
    Effect.gen(function*() {
      const before = seen.length
      const received = yield* send(HttpClientRequest.get("http://docker/v1.47/info?all=1"), { socketPath: plainPath })
      expect(received.status).toBe(200)
      expect(received.text).toBe("{\"ok\":true}")
      expect(seen.slice(before)).toEqual([{ method: "GET", url: "/v1.47/info?all=1", host: "docker" }])
      // a port in the URL is part of Host only
      yield* send(HttpClientRequest.post("http://api.local:2375/containers"), { socketPath: plainPath })
      expect(seen.at(-1)).toEqual({ method: "POST", url: "/containers", host: "api.local:2375" })
    }))

  it.live("https: over the socket: TLS with the tls option, the URL's host as the name verified", () =>
    Effect.gen(function*() {
      const received = yield* send(HttpClientRequest.get("https://api.sturdy.test/"), {
        socketPath: securePath,
        tls: { ca: caCert }
      })
      expect(received.status).toBe(200)
      expect(seen.at(-1)?.host).toBe("api.sturdy.test")
      // a name the certificate is not for: Tls
      const error = yield* Effect.flip(
        send(HttpClientRequest.get("https://docker/"), { socketPath: securePath, tls: { ca: caCert } })
      )
      expect(error).toMatchObject({ _tag: "ConnectionError", reason: "Tls" })
    }))

  it.live("a socket that does not exist: ConnectionError Refused (ENOENT), never sent; Policy retries a POST", () =>
    Effect.gen(function*() {
      const missing = Path.join(directory, "missing.sock")
      const error = yield* Effect.flip(send(HttpClientRequest.get("http://docker/"), { socketPath: missing }))
      expect(error).toMatchObject({ _tag: "ConnectionError", reason: "Refused" })
      expect(causeCode(error)).toBe("ENOENT")
      expect(HttpFailure.mayHaveReachedServer(error)).toBe(false)
      expect(error.message).toBe("connection refused (ENOENT): GET http://docker/")
      const policy = yield* Policy.make({ retry: { maxAttempts: 3, baseDelay: "1 millis", budget: false } })
      const retried = yield* Effect.flip(Effect.scoped(Effect.gen(function*() {
        const client = UndiciHttpClient.make(yield* UndiciHttpClient.makeDispatcher({ socketPath: missing }))
        return yield* Policy.send(client, HttpClientRequest.post("http://docker/")).pipe(
          Effect.provideService(Policy.Policy, policy)
        )
      })))
      expect(retried).toMatchObject({ _tag: "ConnectionError", reason: "Refused", attempts: 3 })
    }).pipe(Effect.scoped))

  it.live("a path where nothing listens (a plain file): ConnectionError Refused (ECONNREFUSED), never sent", () =>
    Effect.gen(function*() {
      const file = Path.join(directory, "not-a-socket")
      Fs.writeFileSync(file, "")
      const error = yield* Effect.flip(send(HttpClientRequest.post("http://docker/"), { socketPath: file }))
      expect(error).toMatchObject({ _tag: "ConnectionError", reason: "Refused" })
      expect(causeCode(error)).toBe("ECONNREFUSED")
      expect(HttpFailure.mayHaveReachedServer(error)).toBe(false)
    }))

  it.effect("an empty or non-string socketPath, or one with proxy, is a RangeError naming it", () =>
    Effect.gen(function*() {
      for (const socketPath of ["", 7, "a\0b", ["/x.sock"]]) {
        const defect = yield* defectOf(
          Effect.scoped(UndiciHttpClient.makeDispatcher({ socketPath } as UndiciHttpClient.DispatcherOptions))
        )
        expect(defect, String(socketPath)).toBeInstanceOf(RangeError)
        expect((defect as RangeError).message).toMatch(/^UndiciHttpClient: socketPath \(.*\) must be a non-empty path$/)
      }
      const both = yield* defectOf(
        Effect.scoped(UndiciHttpClient.makeDispatcher({ socketPath: "/x.sock", proxy: "http://127.0.0.1:3128" }))
      )
      expect((both as RangeError).message).toMatch(/^UndiciHttpClient: socketPath cannot be combined with proxy/)
    }))

  it.effect("layerConfig: an empty socketPath is a ConfigError naming it", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        Layer.build(UndiciHttpClient.layerConfig(Config.succeed({ socketPath: "" }))).pipe(Effect.scoped)
      )
      const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
      expect(ConfigError.isConfigError(error)).toBe(true)
      expect(String(error)).toContain("UndiciHttpClient: socketPath")
    }))

  it.live("layerConfig with a socketPath read from configuration serves requests", () =>
    Effect.gen(function*() {
      const layer = UndiciHttpClient.layerConfig(Config.all({ socketPath: Config.succeed(plainPath) }))
      const response = yield* HttpClient.get("http://docker/_ping").pipe(Effect.provide(layer))
      expect(response.status).toBe(200)
      expect(seen.at(-1)).toEqual({ method: "GET", url: "/_ping", host: "docker" })
    }).pipe(Effect.scoped))
})
