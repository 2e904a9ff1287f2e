/**
 * got's and ky's error, timeout and redirect tests (got `test/timeout.ts`, `test/error.ts`, `test/redirects.ts`,
 * `test/http.ts`, `test/response-parse.ts`; ky `test/http-error.ts`, `test/main.ts`), ported to Sturdy's public API
 * over real `node:http` / `net` servers on 127.0.0.1. Each `it` is named after the peer case it ports.
 *
 * Where Sturdy deliberately differs from the peer, the test asserts Sturdy's documented behaviour and says why.
 * got's errors map to Sturdy's tags as: `HTTPError` → `ClientError` / `ServerError` / `RateLimited` (with `status`,
 * `headers`, `bodyExcerpt`); `ParseError` → `InvalidJson`; `ReadError` → `BodyTruncated`; `TimeoutError` `request` /
 * `send` → `Timeout` `Attempt`, `response` → `Timeout` `Attempt` (the transport's `headersTimeout`), `read` →
 * `Timeout` `BodyRead`, `connect` → `ConnectionError` `ConnectTimeout`, `lookup` → `ConnectionError` `DnsLookup`;
 * `MaxRedirectsError` → `RedirectFailed` `TooMany`; `UnsupportedProtocolError` → `InvalidRequest` `MalformedUrl`.
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Attempt, HttpFailure, Redirect, SturdyClient } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { Context, Duration, Effect, Exit, Fiber, Layer, Option, Schema, Stream, TestClock } from "effect"
import type * as Scope from "effect/Scope"
import * as Http from "node:http"
import type * as Net from "node:net"
import * as Zlib from "node:zlib"
import { Agent, errors as UndiciErrors } from "undici"
import { until } from "./utils/loopbackServer.js"
import * as Raw from "./utils/rawServer.js"
import { failureIn } from "./utils/undiciClient.js"

// -----------------------------------------------------------------------------
// servers
// -----------------------------------------------------------------------------

interface Arrival {
  readonly method: string
  readonly url: string
  readonly headers: Http.IncomingHttpHeaders
  body: string
}

interface Server {
  readonly url: string
  readonly port: number
  readonly arrivals: ReadonlyArray<Arrival>
  /** Connections the client closed (or that closed otherwise) so far. */
  readonly closed: () => number
  /** Connections open now. */
  readonly open: () => number
}

type Handler = (request: Http.IncomingMessage, response: Http.ServerResponse, arrival: Arrival) => void

/**
 * A `node:http` server on 127.0.0.1 whose handler runs as soon as the request head arrives (so a test sees a slow
 * upload begin); the body the client sends is recorded into the arrival as it comes.
 */
const serve = (routes: Readonly<Record<string, Handler>>): Effect.Effect<Server, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ server: Http.Server; state: Server }>((resume) => {
      const arrivals: Array<Arrival> = []
      let closed = 0
      let connections = 0
      const server = Http.createServer((request, response) => {
        const arrival: Arrival = {
          method: request.method ?? "",
          url: request.url ?? "",
          headers: request.headers,
          body: ""
        }
        arrivals.push(arrival)
        request.on("data", (chunk: Buffer) => (arrival.body += chunk.toString("utf8")))
        const handler = routes[(request.url ?? "/").split("?", 1)[0]]
        if (handler === undefined) {
          request.on("end", () => response.writeHead(404).end())
          return
        }
        handler(request, response, arrival)
      })
      // a connection counts as closed by the client once its end (or its close) arrives: how soon node's server
      // closes its own side after an unfinished request is its own business
      server.on("connection", (socket) => {
        connections++
        let counted = false
        const count = () => {
          if (!counted) closed++
          counted = true
        }
        socket.on("end", count)
        socket.on("close", count)
      })
      server.listen(0, "127.0.0.1", () => {
        const port = (server.address() as Net.AddressInfo).port
        resume(Effect.succeed({
          server,
          state: {
            url: `http://127.0.0.1:${port}`,
            port,
            arrivals,
            closed: () => closed,
            open: () => connections - closed
          }
        }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ state }) => state))

/** Answers once the request body has arrived. */
const afterBody = (f: (request: Http.IncomingMessage, response: Http.ServerResponse) => void): Handler => (req, res) =>
  req.on("end", () => f(req, res)).resume()

const plain = (status: number, body: string, headers: Http.OutgoingHttpHeaders = {}): Handler =>
  afterBody((_, res) => {
    res.writeHead(status, { "content-length": Buffer.byteLength(body), ...headers })
    res.end(body)
  })

const jsonBody = (status: number, body: unknown): Handler =>
  plain(status, JSON.stringify(body), { "content-type": "application/json" })

const redirectTo = (status: number, location: string | ((req: Http.IncomingMessage) => string)): Handler =>
  afterBody((req, res) => {
    res.writeHead(status, { location: typeof location === "string" ? location : location(req), "content-length": 0 })
    res.end()
  })

const reached = plain(200, "reached")

/** Never answers (until the connection closes). */
const never: Handler = () => {}

/** Echoes what the server received as JSON. */
const echo: Handler = afterBody((req, res) => {
  const chunks: Array<string> = []
  void chunks
  const body = JSON.stringify({ method: req.method, url: req.url, headers: req.headers })
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
  res.end(body)
})

const failureOf = failureIn

const Echoed = Schema.Struct({
  method: Schema.String,
  url: Schema.String,
  headers: Schema.Record({ key: Schema.String, value: Schema.String })
})

const transports: ReadonlyArray<readonly [string, Layer.Layer<HttpClient.HttpClient>]> = [
  ["@sturdy/node UndiciHttpClient.layer", UndiciHttpClient.layer()],
  ["NodeHttpClient.layer", NodeHttpClient.layer]
]

describe.each(transports)("got / ky failures over %s", (_, transport) => {
  // built in the test's scope, so the transport (and its connection pool) lives as long as the test
  const client = Effect.map(Layer.build(transport), Context.get(HttpClient.HttpClient))

  // ---------------------------------------------------------------------------
  // got test/timeout.ts
  // ---------------------------------------------------------------------------

  it.scoped("got timeout: timeout option", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": never })
      const http = yield* client
      const fiber = yield* Effect.fork(failureOf(Attempt.send(http, HttpClientRequest.get(`${server.url}/`), {
        timeout: "1 second"
      })))
      yield* until(() => server.arrivals.length === 1)
      yield* TestClock.adjust("999 millis")
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* TestClock.adjust("1 millis")
      const failure = yield* Fiber.join(fiber)
      expect(failure._tag).toBe("Timeout")
      if (failure._tag !== "Timeout") return
      expect(failure.phase).toBe("Attempt")
      expect(Duration.toMillis(failure.timeout)).toBe(1000)
      expect(failure.message).toBe(`attempt timed out after 1s: GET ${server.url}/`)
      expect(HttpFailure.isTransient(failure)).toBe(true)
    }))

  it.scoped("got timeout: timeout option (one limit for every redirect hop)", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": never, "/redirect": redirectTo(302, "/") })
      const http = (yield* client).pipe(Redirect.follow())
      const fiber = yield* Effect.fork(failureOf(Attempt.send(http, HttpClientRequest.get(`${server.url}/redirect`), {
        timeout: "1 second"
      })))
      yield* until(() => server.arrivals.length === 2)
      yield* TestClock.adjust("1 second")
      const failure = yield* Fiber.join(fiber)
      expect(failure._tag === "Timeout" && failure.phase).toBe("Attempt")
      expect(failure.url).toBe(`${server.url}/redirect`)
    }))

  it.scoped("got timeout: send timeout", () =>
    Effect.gen(function*() {
      // an upload that never ends: the attempt's timeout covers sending too
      const server = yield* serve({ "/": afterBody((_, res) => res.end("OK")) })
      const http = yield* client
      const request = HttpClientRequest.post(`${server.url}/`).pipe(
        HttpClientRequest.bodyStream(Stream.concat(Stream.make(new TextEncoder().encode("a")), Stream.never))
      )
      const fiber = yield* Effect.fork(failureOf(Attempt.send(http, request, { timeout: "1 second" })))
      yield* until(() => server.arrivals.length === 1 && server.arrivals[0].body === "a")
      yield* TestClock.adjust("1 second")
      const failure = yield* Fiber.join(fiber)
      expect(failure._tag === "Timeout" && failure.phase).toBe("Attempt")
      // the abandoned upload's connection is closed, not left half-written in the pool
      yield* until(() => server.closed() >= 1 && server.open() === 0)
    }))

  it.scoped("got timeout: `read` timeout - promise", () =>
    Effect.gen(function*() {
      const server = yield* serve({
        "/": afterBody((_, res) => {
          res.writeHead(200, { "content-type": "text/plain" })
          res.write("a")
        })
      })
      const http = yield* client
      const fiber = yield* Effect.fork(failureOf(Attempt.send(http, HttpClientRequest.get(`${server.url}/`), {
        bodyTimeout: "500 millis"
      })))
      yield* until(() => server.arrivals.length === 1)
      // headers and a first chunk are on their way: let them arrive before the clock moves
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 50)))
      yield* TestClock.adjust("500 millis")
      const failure = yield* Fiber.join(fiber)
      expect(failure._tag).toBe("Timeout")
      expect(failure._tag === "Timeout" && failure.phase).toBe("BodyRead")
      expect(failure._tag === "Timeout" && Duration.toMillis(failure.timeout)).toBe(500)
      expect(failure.message).toBe(`body read timed out after 500ms: GET ${server.url}/`)
    }))

  it.scoped("got timeout: no error emitted when timeout is not breached (promise)", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": plain(200, "OK") })
      const http = yield* client
      const received = yield* Attempt.send(http, HttpClientRequest.get(`${server.url}/`), {
        timeout: "1 second",
        bodyTimeout: "500 millis"
      })
      expect(received.text).toBe("OK")
      // the timers died with the attempt: moving the clock past them changes nothing
      yield* TestClock.adjust("10 seconds")
      expect(received.status).toBe(200)
    }))

  it.scoped("got timeout: no more timeouts after an error", () =>
    Effect.gen(function*() {
      const port = yield* Effect.async<number>((resume) => {
        const server = Http.createServer()
        server.listen(0, "127.0.0.1", () => {
          const port = (server.address() as Net.AddressInfo).port
          server.close(() => resume(Effect.succeed(port)))
        })
      })
      const http = yield* client
      const exit = yield* Effect.exit(
        Attempt.send(http, HttpClientRequest.get(`http://127.0.0.1:${port}/`), { timeout: "1 second" })
      )
      yield* TestClock.adjust("10 seconds")
      expect(Exit.isFailure(exit)).toBe(true)
      const failure = yield* failureOf(exit)
      expect(failure._tag === "ConnectionError" && failure.reason).toBe("Refused")
    }))

  it.scoped("got timeout: cancelling the request removes timeouts", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": never })
      const http = yield* client
      const fiber = yield* Effect.fork(
        Attempt.send(http, HttpClientRequest.get(`${server.url}/`), { timeout: "1 second" })
      )
      yield* until(() => server.arrivals.length === 1)
      yield* Fiber.interrupt(fiber)
      // the request's connection is closed, and no timer fires into an interrupted attempt
      yield* until(() => server.closed() >= 1 && server.open() === 0)
      yield* TestClock.adjust("10 seconds")
      const exit = yield* Fiber.await(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
    }))

  it.scoped("got timeout: timeouts are emitted ASAP", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": never })
      const http = yield* client
      const fiber = yield* Effect.fork(failureOf(Attempt.send(http, HttpClientRequest.get(`${server.url}/`), {
        timeout: "500 millis"
      })))
      yield* until(() => server.arrivals.length === 1)
      yield* TestClock.adjust("500 millis")
      // nothing but the timer: no real wait for the server or the socket
      const started = Date.now()
      const failure = yield* Fiber.join(fiber)
      expect(Date.now() - started).toBeLessThan(500)
      expect(failure._tag === "Timeout" && failure.phase).toBe("Attempt")
    }))

  it.scoped("got timeout: timeout with streams", () =>
    Effect.gen(function*() {
      // Differs from got, deliberately: got's `request: 0` times out at once; Sturdy's timeout must be positive (an
      // infinite one is none), so 0 is a mistake it reports before anything is sent
      const server = yield* serve({ "/": plain(200, "OK") })
      const failure = yield* failureOf(
        Attempt.send(yield* client, HttpClientRequest.get(`${server.url}/`), { timeout: 0 })
      )
      expect(failure._tag === "InvalidRequest" && failure.reason).toBe("InvalidOptions")
      expect(failure._tag === "InvalidRequest" && failure.detail).toContain("timeout")
      expect(server.arrivals.length).toBe(0)
    }))

  it.scoped("got timeout: no unhandled `socket hung up` errors", () =>
    Effect.gen(function*() {
      // the server answers after 800 ms (by the test's clock), the attempt gives up after 400
      let answer: (() => void) | undefined
      const server = yield* serve({ "/": afterBody((_, res) => (answer = () => res.end("OK"))) })
      const http = yield* client
      const fiber = yield* Effect.fork(
        failureOf(Attempt.send(http, HttpClientRequest.get(`${server.url}/`), { timeout: "400 millis" }))
      )
      yield* until(() => answer !== undefined)
      yield* TestClock.adjust("400 millis")
      const failure = yield* Fiber.join(fiber)
      expect(failure._tag === "Timeout" && failure.phase).toBe("Attempt")
      yield* TestClock.adjust("400 millis")
      answer!()
      // the late answer lands on a closed connection: nothing fails, nothing is left open
      yield* until(() => server.open() === 0)
    }))

  it.scoped("got timeout: no unhandled `Premature close` error", () =>
    Effect.gen(function*() {
      const server = yield* serve({
        "/": afterBody((_, res) => {
          res.writeHead(200)
          res.write("hello")
        })
      })
      const http = yield* client
      const fiber = yield* Effect.fork(
        failureOf(Attempt.send(http, HttpClientRequest.get(`${server.url}/`), { timeout: "10 millis" }))
      )
      yield* until(() => server.arrivals.length === 1)
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 50)))
      yield* TestClock.adjust("10 millis")
      const failure = yield* Fiber.join(fiber)
      expect(failure.message).toBe(`attempt timed out after 10ms: GET ${server.url}/`)
      yield* TestClock.adjust("20 millis")
      yield* until(() => server.open() === 0)
    }))

  // ---------------------------------------------------------------------------
  // got test/error.ts
  // ---------------------------------------------------------------------------

  it.scoped("got error: properties", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": plain(404, "not", { "content-type": "text/plain" }) })
      const http = yield* client
      const failure = yield* failureOf(Attempt.send(http, HttpClientRequest.get(`${server.url}/`)))
      expect(failure._tag).toBe("ClientError")
      if (failure._tag !== "ClientError") return
      expect(failure.status).toBe(404)
      expect(failure.method).toBe("GET")
      expect(failure.url).toBe(`${server.url}/`)
      // got checks `connection: keep-alive`; which value a server sends depends on the transport's agent
      expect(failure.headers["connection"]).toBeDefined()
      expect(failure.headers["content-type"]).toBe("text/plain")
      expect(failure.bodyExcerpt).toBe("not")
      // got: "Request failed with status code 404 (Not Found): GET http://…/"; Sturdy names the status the same way
      // from its own table (the transports do not hand over the reason phrase) and adds the excerpt
      expect(failure.message).toBe(`404 Not Found GET ${server.url}/: not`)
    }))

  it.scoped("got error: catches dns errors", () =>
    Effect.gen(function*() {
      // the lookup fails as getaddrinfo does for an unknown name, without asking any resolver
      const lookup = (hostname: string, _: unknown, callback: (error: Error) => void) =>
        process.nextTick(() =>
          callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
            code: "ENOTFOUND",
            syscall: "getaddrinfo",
            hostname
          }))
        )
      const dispatcher = yield* Effect.acquireRelease(
        Effect.sync(() => new Agent({ connect: { lookup: lookup as never } })),
        (agent) => Effect.promise(() => agent.close())
      )
      const http = UndiciHttpClient.make(dispatcher)
      const failure = yield* failureOf(Attempt.send(http, HttpClientRequest.get("http://doesntexist/")))
      expect(failure._tag).toBe("ConnectionError")
      if (failure._tag !== "ConnectionError") return
      expect(failure.reason).toBe("DnsLookup")
      expect(failure.cause?.code).toBe("ENOTFOUND")
      expect(failure.method).toBe("GET")
      expect(failure.url).toBe("http://doesntexist/")
      expect(HttpFailure.mayHaveReachedServer(failure)).toBe(false)
    }))

  it.scoped("got error: default status message", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": plain(400, "body") })
      const failure = yield* failureOf(Attempt.send(yield* client, HttpClientRequest.get(`${server.url}/`)))
      expect(failure._tag === "ClientError" && failure.status).toBe(400)
      expect(failure.message).toBe(`400 Bad Request GET ${server.url}/: body`)
    }))

  it.scoped("got error: custom status message", () =>
    Effect.gen(function*() {
      // Differs from got, deliberately: got shows the server's reason phrase ("Something Exploded"); @effect/platform's
      // response has no reason phrase, so Sturdy names the status from the standard table
      const server = yield* serve({
        "/": afterBody((_, res) => {
          res.statusMessage = "Something Exploded"
          res.writeHead(400, { "content-length": 4 }).end("body")
        })
      })
      const failure = yield* failureOf(Attempt.send(yield* client, HttpClientRequest.get(`${server.url}/`)))
      expect(failure._tag === "ClientError" && failure.status).toBe(400)
      expect(failure.message).toBe(`400 Bad Request GET ${server.url}/: body`)
    }))

  it.scoped("got error: credentials are stripped from HTTPError message URL", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": plain(400, "body") })
      const url = `http://user:secret@127.0.0.1:${server.port}/`
      const failure = yield* failureOf(Attempt.send(yield* client, HttpClientRequest.get(url)))
      expect(failure._tag === "ClientError" && failure.status).toBe(400)
      expect(failure.message).not.toContain("secret")
      expect(failure.url).not.toContain("secret")
      expect(JSON.stringify(failure)).not.toContain("secret")
    }))

  it.scoped("got error: custom body", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": plain(404, "not") })
      const failure = yield* failureOf(Attempt.send(yield* client, HttpClientRequest.get(`${server.url}/`)))
      expect(failure._tag === "ClientError" && failure.bodyExcerpt).toBe("not")
    }))

  it.scoped("got error: promise does not hang on timeout on HTTP error", () =>
    Effect.gen(function*() {
      // a 404 whose body never ends: the attempt's timeout ends it as a Timeout, as got's TimeoutError. (ky ends
      // the same case with its HTTPError; with `bodyTimeout` Sturdy does too, see the ky case below.)
      const server = yield* serve({
        "/": afterBody((_, res) => {
          res.writeHead(404)
          res.write("asdf")
        })
      })
      const http = yield* client
      const fiber = yield* Effect.fork(failureOf(Attempt.send(http, HttpClientRequest.get(`${server.url}/`), {
        timeout: "100 millis"
      })))
      yield* until(() => server.arrivals.length === 1)
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 50)))
      yield* TestClock.adjust("100 millis")
      const failure = yield* Fiber.join(fiber)
      expect(failure._tag === "Timeout" && failure.phase).toBe("Attempt")
    }))

  it.scoped("got error: no uncaught parse errors", () =>
    Effect.gen(function*() {
      // a HEAD answered with a chunked body: a response no HEAD may have
      const raw = yield* Raw.start({
        "/": (socket) => socket.end("HTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n")
      })
      const exit = yield* Effect.exit(Attempt.send(yield* client, HttpClientRequest.head(`${raw.url}/`)))
      // Differs from got ("Parse Error"), as node:http and undici both read it: the 404 arrived, and the bytes no
      // HEAD response has are left unread; a typed status failure, never a throw or a hang
      const failure = yield* failureOf(exit)
      expect(failure._tag === "ClientError" && failure.status).toBe(404)
    }))

  it.scoped("got error: a response that is not HTTP is a ConnectionError", () =>
    Effect.gen(function*() {
      const raw = yield* Raw.start({ "/": (socket) => socket.end("HTTP/1.1 404 Not Found\r\nnot a header\r\n\r\n") })
      const failure = yield* failureOf(Attempt.send(yield* client, HttpClientRequest.get(`${raw.url}/`)))
      expect(failure._tag).toBe("ConnectionError")
      expect(HttpFailure.mayHaveReachedServer(failure)).toBe(true)
    }))

  // ---------------------------------------------------------------------------
  // got test/http.ts
  // ---------------------------------------------------------------------------

  it.scoped("got http: empty response", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": plain(200, "") })
      const received = yield* Attempt.send(yield* client, HttpClientRequest.get(`${server.url}/`))
      expect(received.text).toBe("")
      expect(received.body.length).toBe(0)
    }))

  it.scoped("got http: http errors have `response` property", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": plain(404, "not", { "x-trace": "t-1" }) })
      const failure = yield* failureOf(Attempt.send(yield* client, HttpClientRequest.get(`${server.url}/`)))
      expect(failure._tag).toBe("ClientError")
      if (failure._tag !== "ClientError") return
      expect(failure.status).toBe(404)
      expect(failure.headers["x-trace"]).toBe("t-1")
      expect(failure.bodyExcerpt).toBe("not")
    }))

  it.scoped("got http: status code 304 doesn't throw", () =>
    Effect.gen(function*() {
      // Differs from got, deliberately: only a 2xx is a success; a 3xx that reaches the caller (a 304 it did not ask
      // for with a conditional request, or a redirect not followed) is UnexpectedStatus, with its status and headers
      const server = yield* serve({ "/": afterBody((_, res) => res.writeHead(304, { etag: "\"v1\"" }).end()) })
      const http = yield* client
      const failure = yield* failureOf(Attempt.send(http, HttpClientRequest.get(`${server.url}/`)))
      expect(failure._tag === "UnexpectedStatus" && failure.status).toBe(304)
      expect(failure._tag === "UnexpectedStatus" && failure.headers["etag"]).toBe("\"v1\"")
      const json = yield* failureOf(Attempt.json(http, HttpClientRequest.get(`${server.url}/`), Schema.Undefined))
      expect(json._tag === "UnexpectedStatus" && json.status).toBe(304)
    }))

  it.scoped("got http: invalid protocol throws", () =>
    Effect.gen(function*() {
      const failure = yield* failureOf(
        Attempt.json(yield* client, HttpClientRequest.get("c:/nope.com"), Schema.Unknown)
      )
      expect(failure._tag).toBe("InvalidRequest")
      expect(failure._tag === "InvalidRequest" && failure.reason).toBe("MalformedUrl")
      expect(HttpFailure.mayHaveReachedServer(failure)).toBe(false)
    }))

  it.scoped("got http: socket destroyed by the server throws ECONNRESET", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": (req) => req.socket.destroy() })
      const failure = yield* failureOf(Attempt.send(yield* client, HttpClientRequest.get(`${server.url}/`)))
      expect(failure._tag).toBe("ConnectionError")
      expect(failure._tag === "ConnectionError" && failure.reason).toBe("Reset")
      expect(HttpFailure.isTransient(failure)).toBe(true)
    }))

  it.scoped("got http: throws an error if the server aborted the request", () =>
    Effect.gen(function*() {
      const server = yield* serve({
        "/": afterBody((_, res) => {
          res.writeHead(200, { "content-type": "text/plain" })
          res.write("chunk 1")
          setImmediate(() => {
            res.write("chunk 2")
            setImmediate(() => res.destroy())
          })
        })
      })
      const failure = yield* failureOf(Attempt.send(yield* client, HttpClientRequest.get(`${server.url}/`)))
      expect(failure._tag).toBe("BodyTruncated")
      if (failure._tag !== "BodyTruncated") return
      expect(failure.status).toBe(200)
      expect(failure.expectedBytes).toBeUndefined()
      expect(HttpFailure.isTransient(failure)).toBe(true)
    }))

  it.scoped("got http: does not throw on close-delimited response without content-length", () =>
    Effect.gen(function*() {
      const raw = yield* Raw.start({
        "/": (socket) =>
          socket.end("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{\"ok\":true}")
      })
      const body = yield* Attempt.json(
        yield* client,
        HttpClientRequest.get(`${raw.url}/`),
        Schema.Struct({ ok: Schema.Boolean })
      )
      expect(body).toEqual({ ok: true })
    }))

  it.scoped("got http: status code 404 has error response ok is false if error is thrown", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": plain(404, "not") })
      const failure = yield* failureOf(Attempt.send(yield* client, HttpClientRequest.get(`${server.url}/`)))
      expect(failure._tag === "ClientError" && failure.status).toBe(404)
      expect(HttpFailure.isTransient(failure)).toBe(false)
    }))

  // ---------------------------------------------------------------------------
  // got test/response-parse.ts
  // ---------------------------------------------------------------------------

  it.scoped("got response-parse: wraps parsing errors", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": plain(200, "/") })
      const failure = yield* failureOf(
        Attempt.json(yield* client, HttpClientRequest.get(`${server.url}/`), Schema.Unknown)
      )
      expect(failure._tag).toBe("InvalidJson")
      expect(failure.message).toContain("127.0.0.1")
      expect(failure._tag === "InvalidJson" && new URL(failure.url).pathname).toBe("/")
    }))

  it.scoped("got response-parse: credentials are stripped from ParseError message URL", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": plain(200, "/") })
      const failure = yield* failureOf(
        Attempt.json(
          yield* client,
          HttpClientRequest.get(`http://user:secret@127.0.0.1:${server.port}/`),
          Schema.Unknown
        )
      )
      expect(failure._tag).toBe("InvalidJson")
      expect(failure.message).not.toContain("secret")
      expect(JSON.stringify(failure)).not.toContain("secret")
    }))

  it.scoped("got response-parse: JSON response with UTF-8 BOM throws ParseError", () =>
    Effect.gen(function*() {
      // Differs from got, deliberately: got fails with ParseError; Sturdy decodes the body as UTF-8 text does (the
      // Encoding standard drops a leading BOM), as fetch's `Response.json()` and so ky read it
      const server = yield* serve({
        "/": afterBody((_, res) => res.end(Buffer.from([0xef, 0xbb, 0xbf, ...Buffer.from("{\"data\":\"dog\"}")])))
      })
      const body = yield* Attempt.json(
        yield* client,
        HttpClientRequest.get(`${server.url}/`),
        Schema.Struct({ data: Schema.String })
      )
      expect(body).toEqual({ data: "dog" })
    }))

  it.scoped("got response-parse: parses non-200 responses", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": jsonBody(500, { data: "dog" }) })
      const failure = yield* failureOf(
        Attempt.json(yield* client, HttpClientRequest.get(`${server.url}/`), Schema.Unknown, {
          errorSchema: Schema.Struct({ data: Schema.String })
        })
      )
      expect(failure._tag).toBe("ServerError")
      expect(failure._tag === "ServerError" && failure.payload).toEqual(Option.some({ data: "dog" }))
    }))

  it.scoped("got response-parse: ignores errors on invalid non-200 responses", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": plain(500, "Internal error") })
      const failure = yield* failureOf(
        Attempt.json(yield* client, HttpClientRequest.get(`${server.url}/`), Schema.Unknown, {
          errorSchema: Schema.Struct({ data: Schema.String })
        })
      )
      expect(failure._tag).toBe("ServerError")
      if (failure._tag !== "ServerError") return
      expect(failure.bodyExcerpt).toBe("Internal error")
      expect(Option.isNone(failure.payload)).toBe(true)
      expect(failure.message).toBe(`500 Internal Server Error GET ${server.url}/: Internal error`)
    }))

  it.scoped("got response-parse: parse errors have `response` property", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": plain(200, "/") })
      const failure = yield* failureOf(
        Attempt.json(yield* client, HttpClientRequest.get(`${server.url}/`), Schema.Unknown)
      )
      expect(failure._tag).toBe("InvalidJson")
      if (failure._tag !== "InvalidJson") return
      expect(failure.status).toBe(200)
      expect(failure.bodyExcerpt).toBe("/")
    }))

  it.scoped("got response-parse: doesn't throw on 204 No Content", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": afterBody((_, res) => res.writeHead(204).end()) })
      const decoded = yield* Attempt.json(yield* client, HttpClientRequest.get(`${server.url}/`), Schema.Void)
      expect(decoded).toBeUndefined()
    }))

  it.scoped("got response-parse: doesn't throw on empty bodies", () =>
    Effect.gen(function*() {
      // Differs from got (which gives ""), deliberately, as ky (`.json() with empty body` throws "Unexpected end of
      // JSON input"): an empty 200 body is not JSON, and reading it as "" would hide a broken endpoint
      const server = yield* serve({ "/": plain(200, "") })
      const failure = yield* failureOf(
        Attempt.json(yield* client, HttpClientRequest.get(`${server.url}/`), Schema.Unknown)
      )
      expect(failure._tag).toBe("InvalidJson")
    }))

  // ---------------------------------------------------------------------------
  // got test/redirects.ts
  // ---------------------------------------------------------------------------

  it.scoped("got redirects: follows redirect", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": reached, "/finite": redirectTo(302, "/") })
      const http = (yield* client).pipe(Redirect.follow())
      const received = yield* Attempt.send(http, HttpClientRequest.get(`${server.url}/finite`))
      expect(received.text).toBe("reached")
    }))

  it.scoped("got redirects: follows 307, 308 redirect", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": reached, "/307": redirectTo(307, "/"), "/308": redirectTo(308, "/") })
      const http = (yield* client).pipe(Redirect.follow())
      expect((yield* Attempt.send(http, HttpClientRequest.get(`${server.url}/307`))).text).toBe("reached")
      expect((yield* Attempt.send(http, HttpClientRequest.get(`${server.url}/308`))).text).toBe("reached")
    }))

  it.scoped("got redirects: does not follow redirect when disabled", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": reached, "/finite": redirectTo(302, "/") })
      const failure = yield* failureOf(Attempt.send(yield* client, HttpClientRequest.get(`${server.url}/finite`)))
      expect(failure._tag === "UnexpectedStatus" && failure.status).toBe(302)
      expect(failure._tag === "UnexpectedStatus" && failure.headers["location"]).toBe("/")
    }))

  it.scoped("got redirects: relative redirect works", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": reached, "/relative": redirectTo(302, "/") })
      const http = (yield* client).pipe(Redirect.follow())
      expect((yield* Attempt.send(http, HttpClientRequest.get(`${server.url}/relative`))).text).toBe("reached")
    }))

  it.scoped("got redirects: throws on endless redirects - default behavior", () =>
    Effect.gen(function*() {
      // Differs from got's default of 10, deliberately: Sturdy's is fetch's 20 (Redirect.defaultMaxRedirects)
      const server = yield* serve({ "/": redirectTo(302, (req) => `http://127.0.0.1:${req.socket.localPort}/`) })
      const http = (yield* client).pipe(Redirect.follow())
      const failure = yield* failureOf(Attempt.send(http, HttpClientRequest.get(`${server.url}/`)))
      expect(failure._tag).toBe("RedirectFailed")
      if (failure._tag !== "RedirectFailed") return
      expect(failure.reason).toBe("TooMany")
      expect(failure.redirects).toBe(20)
      expect(server.arrivals.length).toBe(21)
      expect(HttpFailure.isTransient(failure)).toBe(false)
    }))

  it.scoped("got redirects: custom `maxRedirects` option", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": redirectTo(302, (req) => `http://127.0.0.1:${req.socket.localPort}/`) })
      const http = (yield* client).pipe(Redirect.follow({ maxRedirects: 5 }))
      const failure = yield* failureOf(Attempt.send(http, HttpClientRequest.get(`${server.url}/`)))
      expect(failure._tag === "RedirectFailed" && failure.reason).toBe("TooMany")
      expect(failure._tag === "RedirectFailed" && failure.redirects).toBe(5)
      expect(server.arrivals.length).toBe(6)
    }))

  it.scoped("got redirects: searchParams are not breaking redirects", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": reached, "/relativeSearchParam": redirectTo(302, "/") })
      const http = (yield* client).pipe(Redirect.follow())
      const request = HttpClientRequest.get(`${server.url}/relativeSearchParam`).pipe(
        HttpClientRequest.setUrlParam("bang", "1")
      )
      expect((yield* Attempt.send(http, request)).text).toBe("reached")
      expect(server.arrivals[0].url).toBe("/relativeSearchParam?bang=1")
      expect(server.arrivals[1].url).toBe("/")
    }))

  it.scoped("got redirects: redirects GET and HEAD requests", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": redirectTo(308, "/") })
      const http = (yield* client).pipe(Redirect.follow())
      const get = yield* failureOf(Attempt.send(http, HttpClientRequest.get(`${server.url}/`)))
      expect(get._tag === "RedirectFailed" && get.reason).toBe("TooMany")
      const head = yield* failureOf(Attempt.send(http, HttpClientRequest.head(`${server.url}/`)))
      expect(head._tag === "RedirectFailed" && head.reason).toBe("TooMany")
    }))

  it.scoped("got redirects: redirects POST requests", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": redirectTo(308, "/") })
      const http = (yield* client).pipe(Redirect.follow())
      const failure = yield* failureOf(
        Attempt.send(http, HttpClientRequest.post(`${server.url}/`).pipe(HttpClientRequest.bodyText("wow")))
      )
      expect(failure._tag === "RedirectFailed" && failure.reason).toBe("TooMany")
      expect(server.arrivals.every((a) => a.method === "POST" && a.body === "wow")).toBe(true)
    }))

  it.scoped("got redirects: redirects on 303 if GET or HEAD", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": reached, "/seeOther": redirectTo(303, "/") })
      const http = (yield* client).pipe(Redirect.follow())
      const received = yield* Attempt.send(http, HttpClientRequest.head(`${server.url}/seeOther`))
      expect(received.headers["content-length"]).toBe(String("reached".length))
      expect(server.arrivals.map((a) => a.method)).toEqual(["HEAD", "HEAD"])
    }))

  it.scoped("got redirects: removes body on GET redirect", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": echo, "/seeOther": redirectTo(303, "/") })
      const http = (yield* client).pipe(Redirect.follow())
      const echoed = yield* Attempt.json(
        http,
        HttpClientRequest.post(`${server.url}/seeOther`).pipe(HttpClientRequest.bodyText("wow", "text/plain")),
        Echoed
      )
      expect(echoed.method).toBe("GET")
      expect(server.arrivals[1].body).toBe("")
    }))

  it.scoped("got redirects: removes request body headers on GET redirect", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": echo, "/seeOther": redirectTo(303, "/") })
      const http = (yield* client).pipe(Redirect.follow())
      const echoed = yield* Attempt.json(
        http,
        HttpClientRequest.post(`${server.url}/seeOther`).pipe(
          HttpClientRequest.bodyText("wow", "text/plain"),
          HttpClientRequest.setHeaders({ "content-language": "en", "content-location": "/x", "x-keep": "1" })
        ),
        Echoed
      )
      expect(echoed.headers["content-type"]).toBeUndefined()
      expect(echoed.headers["content-length"]).toBeUndefined()
      expect(echoed.headers["content-language"]).toBeUndefined()
      expect(echoed.headers["content-location"]).toBeUndefined()
      expect(echoed.headers["x-keep"]).toBe("1")
    }))

  it.scoped("got redirects: redirects on 303 response even on post, put, delete", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": echo, "/seeOther": redirectTo(303, "/") })
      const http = (yield* client).pipe(Redirect.follow())
      for (const method of ["POST", "PUT", "DELETE"] as const) {
        const echoed = yield* Attempt.json(
          http,
          HttpClientRequest.make(method)(`${server.url}/seeOther`).pipe(HttpClientRequest.bodyText("wow")),
          Echoed
        )
        expect(echoed.method).toBe("GET")
      }
    }))

  it.scoped("got redirects: redirect response contains new url", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": reached, "/finite": redirectTo(302, "/") })
      const http = (yield* client).pipe(Redirect.follow())
      const received = yield* Attempt.send(http, HttpClientRequest.get(`${server.url}/finite`))
      expect(received.response.request.url).toBe(`${server.url}/`)
    }))

  it.scoped("got redirects: redirect response contains old url", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": reached, "/finite": redirectTo(302, "/") })
      const http = (yield* client).pipe(Redirect.follow())
      const received = yield* Attempt.send(http, HttpClientRequest.get(`${server.url}/finite`))
      expect(received.request.url).toBe(`${server.url}/finite`)
    }))

  it.scoped("got redirects: redirect response contains UTF-8 with URI encoding", () =>
    Effect.gen(function*() {
      const server = yield* serve({
        "/": echo,
        "/redirect-with-uri-encoded-location": redirectTo(
          302,
          (req) => new URL("/?test=it’s+ok", `http://127.0.0.1:${req.socket.localPort}`).toString()
        )
      })
      const http = (yield* client).pipe(Redirect.follow())
      const echoed = yield* Attempt.json(
        http,
        HttpClientRequest.get(`${server.url}/redirect-with-uri-encoded-location`),
        Echoed
      )
      expect(new URL(echoed.url, server.url).searchParams.get("test")).toBe("it’s ok")
    }))

  it.scoped("got redirects: throws on invalid redirect URL", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": redirectTo(302, "http://") })
      const http = (yield* client).pipe(Redirect.follow())
      const failure = yield* failureOf(Attempt.send(http, HttpClientRequest.get(`${server.url}/`)))
      expect(failure._tag === "RedirectFailed" && failure.reason).toBe("InvalidLocation")
    }))

  it.scoped("got redirects: cannot redirect to UNIX protocol when UNIX sockets are not enabled", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": redirectTo(302, "unix:/var/run/docker.sock:/containers/json") })
      const http = (yield* client).pipe(Redirect.follow())
      const failure = yield* failureOf(Attempt.send(http, HttpClientRequest.get(`${server.url}/`)))
      expect(failure._tag === "RedirectFailed" && failure.reason).toBe("InvalidLocation")
      expect(server.arrivals.length).toBe(1)
    }))

  it.scoped("got redirects: redirect uses port from redirect URL, not from original request", () =>
    Effect.gen(function*() {
      const target = yield* serve({ "/": reached })
      const server = yield* serve({ "/": redirectTo(302, `${target.url}/`) })
      const http = (yield* client).pipe(Redirect.follow())
      expect((yield* Attempt.send(http, HttpClientRequest.get(`${server.url}/`))).text).toBe("reached")
      expect(target.arrivals.length).toBe(1)
    }))

  it.scoped("got redirects: body is passed on POST redirect", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": echo, "/redirect": redirectTo(307, "/") })
      const http = (yield* client).pipe(Redirect.follow())
      yield* Attempt.json(
        http,
        HttpClientRequest.post(`${server.url}/redirect`).pipe(HttpClientRequest.bodyText("foobar")),
        Echoed
      )
      expect(server.arrivals.map((a) => [a.method, a.body])).toEqual([["POST", "foobar"], ["POST", "foobar"]])
    }))

  it.scoped("got redirects: does not forward body on cross-origin 307 redirect", () =>
    Effect.gen(function*() {
      // Differs from got, deliberately: got drops the body (and turns the 307 into a GET) on another origin; Sturdy
      // does what fetch and curl do, keeping the method and body of a 307/308 and dropping only the credentials
      const target = yield* serve({ "/": echo })
      const server = yield* serve({ "/": redirectTo(307, `${target.url}/`) })
      const http = (yield* client).pipe(Redirect.follow())
      const echoed = yield* Attempt.json(
        http,
        HttpClientRequest.post(`${server.url}/`).pipe(
          HttpClientRequest.bodyText("foobar"),
          HttpClientRequest.setHeader("authorization", "Bearer 123")
        ),
        Echoed
      )
      expect(echoed.method).toBe("POST")
      expect(target.arrivals[0].body).toBe("foobar")
      expect(echoed.headers["authorization"]).toBeUndefined()
    }))

  it.scoped("got redirects: does not follow 304 responses with a location header", () =>
    Effect.gen(function*() {
      const target = yield* serve({ "/": reached })
      const server = yield* serve({
        "/": afterBody((_, res) => res.writeHead(304, { location: `${target.url}/` }).end())
      })
      const http = (yield* client).pipe(Redirect.follow())
      const failure = yield* failureOf(Attempt.send(http, HttpClientRequest.get(`${server.url}/`)))
      expect(failure._tag === "UnexpectedStatus" && failure.status).toBe(304)
      expect(target.arrivals.length).toBe(0)
    }))

  it.scoped("got redirects: does not follow 300 responses with a location header", () =>
    Effect.gen(function*() {
      const target = yield* serve({ "/": reached })
      const server = yield* serve({ "/": redirectTo(300, (_) => `${target.url}/`) })
      const http = (yield* client).pipe(Redirect.follow())
      const failure = yield* failureOf(Attempt.send(http, HttpClientRequest.get(`${server.url}/`)))
      expect(failure._tag === "UnexpectedStatus" && failure.status).toBe(300)
      expect(target.arrivals.length).toBe(0)
    }))

  it.scoped("got redirects: method rewriting", () =>
    Effect.gen(function*() {
      const server = yield* serve({
        "/": echo,
        "/redirect": redirectTo(302, "/"),
        "/permanentRedirect": redirectTo(301, "/"),
        "/temporaryRedirect": redirectTo(307, "/")
      })
      const http = (yield* client).pipe(Redirect.follow())
      const post = (path: string) =>
        Attempt.json(
          http,
          HttpClientRequest.post(`${server.url}${path}`).pipe(HttpClientRequest.bodyText("foobar")),
          Echoed
        )
      expect((yield* post("/redirect")).method).toBe("GET")
      expect(server.arrivals[1].body).toBe("")
      expect((yield* post("/permanentRedirect")).method).toBe("GET")
      expect(server.arrivals[3].body).toBe("")
      expect((yield* post("/temporaryRedirect")).method).toBe("POST")
      expect(server.arrivals[5].body).toBe("foobar")
    }))

  it.scoped("got redirects: clears the authorization header when redirecting to a different hostname", () =>
    Effect.gen(function*() {
      const target = yield* serve({ "/": echo })
      const server = yield* serve({ "/": redirectTo(302, `http://localhost:${target.port}/`) })
      const http = (yield* client).pipe(Redirect.follow())
      const echoed = yield* Attempt.json(
        http,
        HttpClientRequest.get(`${server.url}/`).pipe(HttpClientRequest.setHeaders({
          authorization: "Bearer 123",
          "proxy-authorization": "Basic eDp5",
          cookie: "a=1",
          cookie2: "v=1"
        })),
        Echoed
      )
      expect(echoed.headers["authorization"]).toBeUndefined()
      expect(echoed.headers["proxy-authorization"]).toBeUndefined()
      expect(echoed.headers["cookie"]).toBeUndefined()
      expect(echoed.headers["cookie2"]).toBeUndefined()
    }))

  it.scoped("got redirects: clears the host header when redirecting to a different hostname", () =>
    Effect.gen(function*() {
      const target = yield* serve({ "/": echo })
      const server = yield* serve({ "/redirect": redirectTo(302, `http://localhost:${target.port}/`) })
      const http = (yield* client).pipe(Redirect.follow())
      const echoed = yield* Attempt.json(
        http,
        HttpClientRequest.get(`${server.url}/redirect`).pipe(HttpClientRequest.setHeader("host", "wrongsite.com")),
        Echoed
      )
      expect(echoed.headers["host"]).toBe(`localhost:${target.port}`)
    }))

  it.scoped("got redirects: correct port on redirect", () =>
    Effect.gen(function*() {
      const target = yield* serve({ "/": echo })
      const server = yield* serve({ "/redirect": redirectTo(302, `http://localhost:${target.port}/`) })
      const http = (yield* client).pipe(Redirect.follow())
      const echoed = yield* Attempt.json(http, HttpClientRequest.get(`${server.url}/redirect`), Echoed)
      expect(echoed.headers["host"]).toBe(`localhost:${target.port}`)
    }))

  it.scoped("got redirects: redirect response contains UTF-8 with binary encoding", () =>
    Effect.gen(function*() {
      const server = yield* serve({
        "/utf8-url-%C3%A1%C3%A9": reached,
        // the Location's UTF-8 bytes, each written as one Latin-1 character (what got's test sends)
        "/redirect-with-utf8-binary": redirectTo(
          302,
          (req) =>
            Buffer.from(new URL("/utf8-url-áé", `http://127.0.0.1:${req.socket.localPort}`).toString(), "utf8")
              .toString("binary")
        )
      })
      const http = (yield* client).pipe(Redirect.follow())
      const received = yield* Attempt.send(http, HttpClientRequest.get(`${server.url}/redirect-with-utf8-binary`))
      expect(received.text).toBe("reached")
    }))

  it.scoped("got redirects: ignores invalid compressed redirect bodies when following redirects", () =>
    Effect.gen(function*() {
      const server = yield* serve({
        "/redirect": afterBody((_, res) => {
          res.writeHead(302, { location: "/target", "content-encoding": "gzip" })
          res.end("not-a-valid-gzip-stream")
        }),
        "/target": plain(200, "target-ok")
      })
      const http = (yield* client).pipe(Redirect.follow())
      expect((yield* Attempt.send(http, HttpClientRequest.get(`${server.url}/redirect`))).text).toBe("target-ok")
    }))

  it.scoped("got redirects: decompresses compressed redirect bodies when redirects are not followed", () =>
    Effect.gen(function*() {
      // Differs from got, deliberately: Sturdy's transports decompress nothing (documented), so an unfollowed 302
      // keeps its gzip bytes; the failure still says what it is and how it is encoded
      const compressed = Zlib.gzipSync("redirect-body")
      const server = yield* serve({
        "/redirect": afterBody((_, res) => {
          res.writeHead(302, { location: "/target", "content-encoding": "gzip", "content-length": compressed.length })
          res.end(compressed)
        })
      })
      const failure = yield* failureOf(Attempt.send(yield* client, HttpClientRequest.get(`${server.url}/redirect`)))
      expect(failure._tag).toBe("UnexpectedStatus")
      if (failure._tag !== "UnexpectedStatus") return
      expect(failure.status).toBe(302)
      expect(failure.headers["content-encoding"]).toBe("gzip")
      expect(failure.bodyExcerpt).not.toContain("redirect-body")
    }))

  it.scoped("got redirects: preserves body on same-origin 307 redirect", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": echo, "/redirect": redirectTo(307, "/") })
      const http = (yield* client).pipe(Redirect.follow())
      const echoed = yield* Attempt.json(
        http,
        HttpClientRequest.post(`${server.url}/redirect`).pipe(HttpClientRequest.bodyText("foobar", "text/plain")),
        Echoed
      )
      expect(echoed.method).toBe("POST")
      expect(echoed.headers["content-type"]).toBe("text/plain")
      expect(server.arrivals[1].body).toBe("foobar")
    }))

  it.scoped("got redirects: preserves body on same-origin permanent POST redirect by default", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": echo, "/redirect": redirectTo(308, "/") })
      const http = (yield* client).pipe(Redirect.follow())
      const echoed = yield* Attempt.json(
        http,
        HttpClientRequest.post(`${server.url}/redirect`).pipe(HttpClientRequest.bodyText("foobar")),
        Echoed
      )
      expect(echoed.method).toBe("POST")
      expect(server.arrivals[1].body).toBe("foobar")
    }))

  it.scoped("got redirects: does not forward body on cross-origin 308 redirect", () =>
    Effect.gen(function*() {
      // Differs from got, deliberately, as for a 307 above: fetch and curl keep a 308's method and body
      const target = yield* serve({ "/": echo })
      const server = yield* serve({ "/": redirectTo(308, `${target.url}/`) })
      const http = (yield* client).pipe(Redirect.follow())
      const echoed = yield* Attempt.json(
        http,
        HttpClientRequest.post(`${server.url}/`).pipe(HttpClientRequest.bodyText("foobar")),
        Echoed
      )
      expect(echoed.method).toBe("POST")
      expect(target.arrivals[0].body).toBe("foobar")
    }))

  it.scoped("got redirects: does not fail when dropping a streaming body on cross-origin 307 redirect", () =>
    Effect.gen(function*() {
      // Differs from got, deliberately: got follows with the streamed body dropped; Sturdy cannot send a body read
      // once again and will not send the request without it, so the 307 is the answer (documented), never a hang
      const target = yield* serve({ "/": echo })
      const server = yield* serve({ "/redirect-stream": redirectTo(307, `${target.url}/`) })
      const http = (yield* client).pipe(Redirect.follow())
      const request = HttpClientRequest.post(`${server.url}/redirect-stream`).pipe(
        HttpClientRequest.bodyStream(
          Stream.make(new TextEncoder().encode("chunk-1"), new TextEncoder().encode("chunk-2"))
        )
      )
      const failure = yield* failureOf(Attempt.send(http, request))
      expect(failure._tag === "UnexpectedStatus" && failure.status).toBe(307)
      expect(server.arrivals[0].body).toBe("chunk-1chunk-2")
      expect(target.arrivals.length).toBe(0)
    }))

  it.scoped("got redirects: large body is preserved on 307 redirect", () =>
    Effect.gen(function*() {
      const requestBody = new Uint8Array(2 * 1024 * 1024).fill(0x61)
      const server = yield* serve({ "/redirect": redirectTo(307, "/target"), "/target": plain(200, "ok") })
      const http = (yield* client).pipe(Redirect.follow())
      const received = yield* Attempt.send(
        http,
        HttpClientRequest.post(`${server.url}/redirect`).pipe(HttpClientRequest.bodyUint8Array(requestBody))
      )
      expect(received.text).toBe("ok")
      expect(server.arrivals[1].body.length).toBe(requestBody.length)
      expect(server.arrivals[1].body).toBe("a".repeat(requestBody.length))
    }))

  // got test/error.ts: parse errors of the transport

  it.scoped("got error: no uncaught parse errors #2", () =>
    Effect.gen(function*() {
      // more bytes than the Content-Length, on a connection the server keeps open
      const raw = yield* Raw.start({ "/": (socket) => socket.write("HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\n0a") })
      const exit = yield* Effect.exit(Attempt.send(yield* client, HttpClientRequest.get(`${raw.url}/`)))
      // Differs from got ("Parse Error"), as node:http and undici both read it: the body is the one declared byte,
      // and what follows it is not read as part of this response
      expect(Exit.isSuccess(exit) && exit.value.text).toBe("0")
    }))

  it.scoped("got error: no uncaught parse errors on fallback to utf8", () =>
    Effect.gen(function*() {
      // got reads a 512 MiB body and fails to decode it; Sturdy stops at maxBodyBytes with BodyTooLarge
      const server = yield* serve({ "/": plain(200, "A".repeat(64 * 1024)) })
      const failure = yield* failureOf(
        Attempt.send(yield* client, HttpClientRequest.get(`${server.url}/`), { maxBodyBytes: 16 * 1024 })
      )
      expect(failure._tag).toBe("BodyTooLarge")
      if (failure._tag !== "BodyTooLarge") return
      expect(failure.limitBytes).toBe(16 * 1024)
      expect(failure.declaredBytes).toBe(64 * 1024)
    }))

  // ---------------------------------------------------------------------------
  // ky test/main.ts and test/http-error.ts
  // ---------------------------------------------------------------------------

  it.scoped("ky main: timeout option", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": never })
      const http = yield* client
      const fiber = yield* Effect.fork(failureOf(Attempt.send(http, HttpClientRequest.get(`${server.url}/`), {
        timeout: "1 second"
      })))
      yield* until(() => server.arrivals.length === 1)
      yield* TestClock.adjust("1 second")
      const failure = yield* Fiber.join(fiber)
      expect(failure._tag === "Timeout" && failure.phase).toBe("Attempt")
      expect(server.arrivals.length).toBe(1)
    }))

  it.scoped("ky main: invalid timeout option", () =>
    Effect.gen(function*() {
      // Differs from ky, deliberately: ky throws a RangeError for a timeout over 2^31 − 1 ms; Sturdy documents such a
      // timeout as none (a timer cannot hold it), and only a non-positive or malformed one is InvalidOptions
      const server = yield* serve({ "/": plain(200, "ok") })
      const http = yield* client
      const received = yield* Attempt.send(http, HttpClientRequest.get(`${server.url}/`), { timeout: 21_474_836_470 })
      expect(received.text).toBe("ok")
      const failure = yield* failureOf(Attempt.send(http, HttpClientRequest.get(`${server.url}/`), { timeout: -1 }))
      expect(failure._tag === "InvalidRequest" && failure.reason).toBe("InvalidOptions")
      expect(server.arrivals.length).toBe(1)
    }))

  it.scoped("ky main: .json() when response is chunked", () =>
    Effect.gen(function*() {
      const server = yield* serve({
        "/": afterBody((_, res) => {
          res.write("[")
          res.write("\"one\",")
          res.write("\"two\"")
          res.end("]")
        })
      })
      const body = yield* Attempt.json(
        yield* client,
        HttpClientRequest.get(`${server.url}/`),
        Schema.Array(Schema.String)
      )
      expect(body).toEqual(["one", "two"])
    }))

  it.scoped("ky main: .json() with invalid JSON body", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": plain(200, "not json") })
      const failure = yield* failureOf(
        Attempt.json(yield* client, HttpClientRequest.get(`${server.url}/`), Schema.Unknown)
      )
      expect(failure._tag).toBe("InvalidJson")
      expect(failure._tag === "InvalidJson" && failure.bodyExcerpt).toBe("not json")
    }))

  it.scoped("ky main: .json() with empty body", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": plain(200, "") })
      const failure = yield* failureOf(
        Attempt.json(yield* client, HttpClientRequest.get(`${server.url}/`), Schema.Unknown)
      )
      expect(failure._tag).toBe("InvalidJson")
    }))

  it.scoped("ky main: .json(schema) throws SchemaValidationError when validation fails", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": jsonBody(200, { id: "one" }) })
      const failure = yield* failureOf(
        Attempt.json(yield* client, HttpClientRequest.get(`${server.url}/`), Schema.Struct({ id: Schema.Number }))
      )
      expect(failure._tag).toBe("SchemaMismatch")
      expect(failure._tag === "SchemaMismatch" && failure.path).toBe("$.id")
    }))

  it.scoped("ky main: .json(schema) does not run validation for HTTP errors", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": jsonBody(500, { id: "one" }) })
      const failure = yield* failureOf(
        Attempt.json(yield* client, HttpClientRequest.get(`${server.url}/`), Schema.Struct({ id: Schema.Number }))
      )
      expect(failure._tag).toBe("ServerError")
    }))

  it.scoped("ky main: timeout bounds a never-ending successful response body", () =>
    Effect.gen(function*() {
      const server = yield* serve({
        "/": afterBody((_, res) => {
          res.writeHead(200, { "content-type": "application/json" })
          res.write("{\"partial\"")
        })
      })
      const http = yield* client
      const fiber = yield* Effect.fork(
        failureOf(Attempt.json(http, HttpClientRequest.get(`${server.url}/`), Schema.Unknown, {
          timeout: "50 millis"
        }))
      )
      yield* until(() => server.arrivals.length === 1)
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 50)))
      yield* TestClock.adjust("50 millis")
      const failure = yield* Fiber.join(fiber)
      expect(failure._tag === "Timeout" && failure.phase).toBe("Attempt")
    }))

  it.scoped("ky main: timeout:false option", () =>
    Effect.gen(function*() {
      // no timeout: nothing waits on the clock, however long the server takes
      const server = yield* serve({ "/": afterBody((_, res) => setTimeout(() => res.end("fixture"), 50)) })
      const received = yield* Attempt.send(yield* client, HttpClientRequest.get(`${server.url}/`))
      expect(received.text).toBe("fixture")
      expect(server.arrivals.length).toBe(1)
    }))

  it.scoped("ky main: .json() with 204 response and empty body", () =>
    Effect.gen(function*() {
      // Differs from ky (which fails with "Unexpected end of JSON input"), deliberately, as got: a 204 has no content
      // by definition, so the schema is given `undefined`
      const server = yield* serve({ "/": afterBody((_, res) => res.writeHead(204).end()) })
      const decoded = yield* Attempt.json(yield* client, HttpClientRequest.get(`${server.url}/`), Schema.Undefined)
      expect(decoded).toBeUndefined()
    }))

  it.scoped("ky main: .json(schema) validates 204 responses as undefined", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": afterBody((_, res) => res.writeHead(204).end()) })
      const failure = yield* failureOf(
        Attempt.json(yield* client, HttpClientRequest.get(`${server.url}/`), Schema.Struct({ id: Schema.Number }))
      )
      expect(failure._tag).toBe("SchemaMismatch")
      expect(failure._tag === "SchemaMismatch" && failure.status).toBe(204)
    }))

  it.scoped("ky main: .json(schema) validates empty body values as undefined", () =>
    Effect.gen(function*() {
      // Differs from ky, deliberately: an empty 200 body is not JSON (ky's own `.json()` without a schema says so),
      // so it fails with InvalidJson before any schema sees it
      const server = yield* serve({ "/": plain(200, "") })
      const failure = yield* failureOf(
        Attempt.json(yield* client, HttpClientRequest.get(`${server.url}/`), Schema.Undefined)
      )
      expect(failure._tag).toBe("InvalidJson")
    }))

  it.scoped("ky http-error: HTTPError#data does not parse non-JSON content types with json parameters", () =>
    Effect.gen(function*() {
      const body = "{\"error\":\"plain text\"}"
      const server = yield* serve({ "/": plain(400, body, { "content-type": "text/plain; note=json" }) })
      const failure = yield* failureOf(Attempt.send(yield* client, HttpClientRequest.get(`${server.url}/`), {
        errorSchema: Schema.Struct({ error: Schema.String })
      }))
      expect(failure._tag === "ClientError" && failure.bodyExcerpt).toBe(body)
      // Differs from ky, deliberately: ky parses only bodies labelled JSON; Sturdy decodes the caller's
      // `errorSchema` from any error body that parses and matches it (error pages behind proxies are often mislabelled),
      // and `bodyExcerpt` always holds the text
      expect(failure._tag === "ClientError" && Option.isSome(failure.payload)).toBe(true)
    }))

  it.scoped("ky http-error: HTTPError#data is text for JSON-like but non-JSON media types", () =>
    Effect.gen(function*() {
      const body = "{\"error\":\"sequence\"}"
      const server = yield* serve({ "/": plain(400, body, { "content-type": "application/json-seq" }) })
      const failure = yield* failureOf(Attempt.send(yield* client, HttpClientRequest.get(`${server.url}/`), {
        errorSchema: Schema.Struct({ error: Schema.String })
      }))
      expect(failure._tag === "ClientError" && failure.bodyExcerpt).toBe(body)
      // Differs from ky, deliberately: ky parses only bodies labelled JSON; Sturdy decodes the caller's
      // `errorSchema` from any error body that parses and matches it (error pages behind proxies are often mislabelled),
      // and `bodyExcerpt` always holds the text
      expect(failure._tag === "ClientError" && Option.isSome(failure.payload)).toBe(true)
    }))

  it.scoped("ky http-error: HTTPError#data is text when no content-type header", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": plain(500, "plain error") })
      const failure = yield* failureOf(Attempt.send(yield* client, HttpClientRequest.get(`${server.url}/`), {
        errorSchema: Schema.String
      }))
      expect(failure._tag === "ServerError" && failure.bodyExcerpt).toBe("plain error")
    }))

  it.scoped("ky http-error: HTTPError#data is populated with parsed JSON", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": jsonBody(404, { error: "not found", code: 42 }) })
      const failure = yield* failureOf(Attempt.send(yield* client, HttpClientRequest.get(`${server.url}/`), {
        errorSchema: Schema.Struct({ error: Schema.String, code: Schema.Number })
      }))
      expect(failure._tag === "ClientError" && failure.payload).toEqual(Option.some({ error: "not found", code: 42 }))
    }))

  it.scoped("ky http-error: HTTPError#data is populated with text for non-JSON", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": plain(500, "Internal failure", { "content-type": "text/plain" }) })
      const failure = yield* failureOf(Attempt.send(yield* client, HttpClientRequest.get(`${server.url}/`), {
        errorSchema: Schema.Struct({ error: Schema.String })
      }))
      expect(failure._tag === "ServerError" && failure.bodyExcerpt).toBe("Internal failure")
      expect(failure._tag === "ServerError" && Option.isNone(failure.payload)).toBe(true)
    }))

  it.scoped("ky http-error: HTTPError#data is undefined for empty body", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": plain(404, "") })
      const failure = yield* failureOf(Attempt.send(yield* client, HttpClientRequest.get(`${server.url}/`), {
        errorSchema: Schema.Unknown
      }))
      expect(failure._tag === "ClientError" && failure.bodyExcerpt).toBe("")
      expect(failure._tag === "ClientError" && Option.isNone(failure.payload)).toBe(true)
    }))

  it.scoped("ky http-error: HTTPError#data is undefined when JSON parse fails", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": plain(500, "not json", { "content-type": "application/json" }) })
      const failure = yield* failureOf(Attempt.send(yield* client, HttpClientRequest.get(`${server.url}/`), {
        errorSchema: Schema.Unknown
      }))
      expect(failure._tag).toBe("ServerError")
      expect(failure._tag === "ServerError" && Option.isNone(failure.payload)).toBe(true)
      expect(failure._tag === "ServerError" && failure.bodyExcerpt).toBe("not json")
    }))

  it.scoped("ky http-error: HTTPError#data handles non-standard JSON content types", () =>
    Effect.gen(function*() {
      const body = { type: "https://example.com/not-found", title: "Not Found", status: 404 }
      const server = yield* serve({
        "/": plain(404, JSON.stringify(body), { "content-type": "application/problem+json" })
      })
      const failure = yield* failureOf(Attempt.send(yield* client, HttpClientRequest.get(`${server.url}/`), {
        errorSchema: Schema.Struct({ type: Schema.String, title: Schema.String, status: Schema.Number })
      }))
      expect(failure._tag === "ClientError" && failure.payload).toEqual(Option.some(body))
    }))

  it.scoped("ky http-error: HTTPError#data parses JSON for case-insensitive content types", () =>
    Effect.gen(function*() {
      const server = yield* serve({
        "/": plain(400, "{\"error\":\"case-insensitive\"}", { "content-type": "Application/JSON; Charset=UTF-8" })
      })
      const failure = yield* failureOf(Attempt.send(yield* client, HttpClientRequest.get(`${server.url}/`), {
        errorSchema: Schema.Struct({ error: Schema.String })
      }))
      expect(failure._tag === "ClientError" && failure.payload).toEqual(Option.some({ error: "case-insensitive" }))
    }))

  it.scoped("ky http-error: HTTPError#data is text for HTML error pages", () =>
    Effect.gen(function*() {
      const html = "<html><body>Bad Gateway</body></html>"
      const server = yield* serve({ "/": plain(502, html, { "content-type": "text/html" }) })
      const failure = yield* failureOf(Attempt.send(yield* client, HttpClientRequest.get(`${server.url}/`), {
        errorSchema: Schema.Unknown
      }))
      expect(failure._tag === "ServerError" && failure.bodyExcerpt).toBe(html)
      expect(failure._tag === "ServerError" && Option.isNone(failure.payload)).toBe(true)
    }))

  it.scoped("ky http-error: HTTPError#data is preserved for slow error bodies when timeout is greater than 1 second", () =>
    Effect.gen(function*() {
      const server = yield* serve({
        "/": afterBody((_, res) => {
          res.writeHead(500, { "content-type": "application/json" })
          res.write("{\"error\":\"")
          setTimeout(() => res.end("slow\"}"), 50)
        })
      })
      const failure = yield* failureOf(Attempt.send(yield* client, HttpClientRequest.get(`${server.url}/`), {
        timeout: "2 seconds",
        errorSchema: Schema.Struct({ error: Schema.String })
      }))
      expect(failure._tag === "ServerError" && failure.payload).toEqual(Option.some({ error: "slow" }))
    }))

  it.scoped("ky http-error: HTTPError does not hang on never-ending error response body when timeout is configured", () =>
    Effect.gen(function*() {
      // with `bodyTimeout`, a stalled error body still ends with the status failure (ky's HTTPError, data undefined)
      const server = yield* serve({
        "/": afterBody((_, res) => {
          res.writeHead(500, { "content-type": "application/json", "retry-after": "3" })
          res.write("{\"error\":\"partial\"")
        })
      })
      const http = yield* client
      const fiber = yield* Effect.fork(failureOf(Attempt.send(http, HttpClientRequest.get(`${server.url}/`), {
        bodyTimeout: "50 millis",
        errorSchema: Schema.Unknown
      })))
      yield* until(() => server.arrivals.length === 1)
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 50)))
      yield* TestClock.adjust("50 millis")
      const failure = yield* Fiber.join(fiber)
      expect(failure._tag).toBe("ServerError")
      if (failure._tag !== "ServerError") return
      expect(failure.status).toBe(500)
      expect(Option.isNone(failure.payload)).toBe(true)
      expect(Option.map(failure.retryAfter, Duration.toSeconds)).toEqual(Option.some(3))
    }))

  it.scoped("ky http-error: HTTPError#data is undefined when error response body exceeds max size", () =>
    Effect.gen(function*() {
      const big = "x".repeat(2_000)
      const server = yield* serve({ "/": plain(500, big, { "content-type": "text/plain" }) })
      const failure = yield* failureOf(Attempt.send(yield* client, HttpClientRequest.get(`${server.url}/`), {
        maxBodyBytes: 1_000,
        errorSchema: Schema.String
      }))
      expect(failure._tag).toBe("ServerError")
      expect(failure._tag === "ServerError" && Option.isNone(failure.payload)).toBe(true)
    }))
})

// got cases that need a hand-built undici dispatcher, so only over @sturdy/node's transport

describe("got / ky failures over @sturdy/node UndiciHttpClient with a custom dispatcher", () => {
  const withDispatcher = (options: ConstructorParameters<typeof Agent>[0]) =>
    Effect.map(
      Effect.acquireRelease(Effect.sync(() => new Agent(options)), (agent) => Effect.promise(() => agent.close())),
      UndiciHttpClient.make
    )

  const layerClient = (options: UndiciHttpClient.DispatcherOptions) =>
    Effect.map(Layer.build(UndiciHttpClient.layer(options)), Context.get(HttpClient.HttpClient))

  it.scoped("got timeout: connect timeout (ip address)", () =>
    Effect.gen(function*() {
      // a connect that never completes: undici's connector fails it with its ConnectTimeoutError
      const http = yield* withDispatcher({
        connect: (_, callback) => {
          const timer = setTimeout(() => callback(new UndiciErrors.ConnectTimeoutError(), null), 20)
          void timer
        }
      })
      const failure = yield* failureOf(Attempt.send(http, HttpClientRequest.get("http://127.0.0.1:9/")))
      expect(failure._tag).toBe("ConnectionError")
      expect(failure._tag === "ConnectionError" && failure.reason).toBe("ConnectTimeout")
      expect(HttpFailure.mayHaveReachedServer(failure)).toBe(false)
      expect(HttpFailure.isTransient(failure)).toBe(true)
    }))

  it.live("got timeout: response timeout", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* serve({ "/": never })
      const http = yield* layerClient({ headersTimeout: 50 })
      const failure = yield* failureOf(Attempt.send(http, HttpClientRequest.get(`${server.url}/`)))
      expect(failure._tag).toBe("Timeout")
      expect(failure._tag === "Timeout" && failure.phase).toBe("Attempt")
      expect(failure._tag === "Timeout" && Duration.toMillis(failure.timeout)).toBe(50)
    })))

  it.live("got timeout: response timeout unaffected by slow download", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* serve({
        "/": afterBody((_, res) => {
          res.writeHead(200, { "content-type": "text/plain" })
          res.flushHeaders()
          let sent = 0
          const tick = () => {
            if (sent++ === 4) return res.end("end")
            res.write("chunk ")
            setTimeout(tick, 30)
          }
          tick()
        })
      })
      const http = yield* layerClient({ headersTimeout: 50 })
      const received = yield* Attempt.send(http, HttpClientRequest.get(`${server.url}/`))
      expect(received.text).toBe("chunk chunk chunk chunk end")
    })))

  it.live("got timeout: response timeout unaffected by slow upload", () =>
    Effect.scoped(Effect.gen(function*() {
      // headersTimeout counts from the end of the upload, not from its start
      const server = yield* serve({ "/": afterBody((_, res) => res.end("OK")) })
      const http = yield* layerClient({ headersTimeout: 50 })
      const slow = Stream.fromIterable([1, 2, 3, 4]).pipe(
        Stream.mapEffect((i) => Effect.as(Effect.sleep("30 millis"), new TextEncoder().encode(`part${i} `)))
      )
      const received = yield* Attempt.send(
        http,
        HttpClientRequest.post(`${server.url}/`).pipe(HttpClientRequest.bodyStream(slow))
      )
      expect(received.text).toBe("OK")
      expect(server.arrivals[0].body).toBe("part1 part2 part3 part4 ")
    })))

  it.live("got timeout: `read` timeout - stream", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* serve({
        "/": afterBody((_, res) => {
          res.writeHead(200, { "content-type": "text/plain" })
          res.write("a")
        })
      })
      const http = yield* layerClient({ bodyTimeout: 50 })
      const failure = yield* failureOf(Attempt.send(http, HttpClientRequest.get(`${server.url}/`)))
      expect(failure._tag === "Timeout" && failure.phase).toBe("BodyRead")
      expect(failure._tag === "Timeout" && Duration.toMillis(failure.timeout)).toBe(50)
    })))
})

// both transports send URL credentials as Basic authentication (node:http does, and @sturdy/node as it does)
describe.each(transports)("got redirects with userinfo over %s", (_, transport) => {
  const client = Effect.map(Layer.build(transport), Context.get(HttpClient.HttpClient))

  it.scoped("got redirects: preserves userinfo on redirect to the same origin", () =>
    Effect.gen(function*() {
      const server = yield* serve({
        "/": echo,
        "/redirect": redirectTo(303, (req) => `http://127.0.0.1:${req.socket.localPort}/`)
      })
      const http = (yield* client).pipe(Redirect.follow())
      const echoed = yield* Attempt.json(
        http,
        HttpClientRequest.get(`http://hello:world@127.0.0.1:${server.port}/redirect`),
        Echoed
      )
      expect(echoed.headers["authorization"]).toBe("Basic aGVsbG86d29ybGQ=")
    }))

  it.scoped("got error: credentials are stripped from HTTPError message URL (after a same-origin redirect)", () =>
    Effect.gen(function*() {
      // the credentials the redirect keeps for the next hop are still redacted from what that hop's failure says
      const server = yield* serve({
        "/": plain(401, "who are you"),
        "/redirect": redirectTo(302, (req) => `http://127.0.0.1:${req.socket.localPort}/`)
      })
      const http = (yield* client).pipe(Redirect.follow())
      const failure = yield* failureOf(
        Attempt.send(http, HttpClientRequest.get(`http://hello:s3cr3t-pw@127.0.0.1:${server.port}/redirect`))
      )
      expect(failure._tag === "ClientError" && failure.status).toBe(401)
      expect(server.arrivals[1].headers.authorization).toBe(
        `Basic ${Buffer.from("hello:s3cr3t-pw").toString("base64")}`
      )
      expect(failure.message).not.toContain("s3cr3t-pw")
      expect(JSON.stringify(failure)).not.toContain("s3cr3t-pw")
    }))

  it.scoped("got redirects: clears username and password when redirecting to a different hostname", () =>
    Effect.gen(function*() {
      const target = yield* serve({ "/": echo })
      const server = yield* serve({ "/": redirectTo(302, `http://localhost:${target.port}/`) })
      const http = (yield* client).pipe(Redirect.follow())
      const echoed = yield* Attempt.json(
        http,
        HttpClientRequest.get(`http://hello:world@127.0.0.1:${server.port}/`),
        Echoed
      )
      expect(echoed.headers["authorization"]).toBeUndefined()
    }))

  it.scoped("got redirects: strips credentials embedded in cross-origin redirect Location URL", () =>
    Effect.gen(function*() {
      const target = yield* serve({ "/target": echo })
      const server = yield* serve({ "/": redirectTo(302, `http://injected:creds@localhost:${target.port}/target`) })
      const http = (yield* client).pipe(Redirect.follow())
      const echoed = yield* Attempt.json(http, HttpClientRequest.get(`${server.url}/`), Echoed)
      expect(echoed.headers["authorization"]).toBeUndefined()
    }))

  it.scoped("got redirects: strips credentials embedded in cross-origin redirect Location URL on 307", () =>
    Effect.gen(function*() {
      const target = yield* serve({ "/target": echo })
      const server = yield* serve({ "/": redirectTo(307, `http://injected:creds@localhost:${target.port}/target`) })
      const http = (yield* client).pipe(Redirect.follow())
      const echoed = yield* Attempt.json(http, HttpClientRequest.get(`${server.url}/`), Echoed)
      expect(echoed.headers["authorization"]).toBeUndefined()
    }))

  it.scoped("got redirects: strips both user-supplied and Location-embedded credentials on cross-origin redirect", () =>
    Effect.gen(function*() {
      const target = yield* serve({ "/target": echo })
      const server = yield* serve({ "/": redirectTo(302, `http://injected:creds@localhost:${target.port}/target`) })
      const http = (yield* client).pipe(Redirect.follow())
      const echoed = yield* Attempt.json(
        http,
        HttpClientRequest.get(`http://hello:world@127.0.0.1:${server.port}/`),
        Echoed
      )
      expect(echoed.headers["authorization"]).toBeUndefined()
    }))
})

// the same peer cases through SturdyClient, whose options are the defaults of every call

describe.each(transports)("got / ky failures through SturdyClient over %s", (_, transport) => {
  const client = Effect.map(Layer.build(transport), Context.get(HttpClient.HttpClient))

  it.scoped("ky main: timeout option (the client's default)", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": never })
      const api = SturdyClient.makeWith(yield* client, { baseUrl: server.url, timeout: "1 second" })
      const fiber = yield* Effect.fork(failureOf(api.get("/")))
      yield* until(() => server.arrivals.length === 1)
      yield* TestClock.adjust("1 second")
      const failure = yield* Fiber.join(fiber)
      expect(failure._tag === "Timeout" && failure.phase).toBe("Attempt")
      expect(failure.url).toBe(`${server.url}/`)
    }))

  it.scoped("ky main: timeout:false option (an infinite timeout lifts the client's)", () =>
    Effect.gen(function*() {
      let answer: (() => void) | undefined
      const server = yield* serve({ "/": afterBody((_, res) => (answer = () => res.end("fixture"))) })
      const api = SturdyClient.makeWith(yield* client, { baseUrl: server.url, timeout: "1 second" })
      const fiber = yield* Effect.fork(api.get("/", { timeout: Duration.infinity }))
      yield* until(() => answer !== undefined)
      yield* TestClock.adjust("1 minute")
      answer!()
      const received = yield* Fiber.join(fiber)
      expect(received.text).toBe("fixture")
    }))

  it.scoped("got error: properties (SturdyClient)", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": plain(404, "not") })
      const api = SturdyClient.makeWith(yield* client, { baseUrl: server.url })
      const failure = yield* failureOf(api.get("/"))
      expect(failure._tag === "ClientError" && failure.status).toBe(404)
      expect(failure._tag === "ClientError" && failure.bodyExcerpt).toBe("not")
      expect(failure.message).toBe(`404 Not Found GET ${server.url}/: not`)
    }))

  it.scoped("got response-parse: wraps parsing errors (SturdyClient)", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": plain(200, "/") })
      const api = SturdyClient.makeWith(yield* client, { baseUrl: server.url })
      const failure = yield* failureOf(api.get("/", { schema: Schema.Unknown }))
      expect(failure._tag).toBe("InvalidJson")
      expect(failure._tag === "InvalidJson" && failure.bodyExcerpt).toBe("/")
    }))

  it.scoped("got redirects: relative redirect works (SturdyClient with Redirect.follow)", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": reached, "/relative": redirectTo(302, "/") })
      const api = SturdyClient.makeWith(yield* client, { baseUrl: server.url, transformClient: Redirect.follow() })
      expect((yield* api.get("/relative")).text).toBe("reached")
    }))

  it.scoped("got redirects: throws on endless redirects (SturdyClient with Redirect.follow)", () =>
    Effect.gen(function*() {
      const server = yield* serve({ "/": redirectTo(302, "/") })
      const api = SturdyClient.makeWith(yield* client, {
        baseUrl: server.url,
        transformClient: Redirect.follow({ maxRedirects: 3 })
      })
      const failure = yield* failureOf(api.get("/"))
      expect(failure._tag === "RedirectFailed" && failure.reason).toBe("TooMany")
      expect(server.arrivals.length).toBe(4)
    }))
})
