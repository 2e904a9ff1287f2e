// HTTP/2 in UndiciHttpClient (the `http2` option): h2 with prior knowledge ("h2c") against a node:http2 server on
// 127.0.0.1, the ALPN offer of `http2: true` read by a TLS server, how a stream the server resets or refuses is
// classified (REFUSED_STREAM: not processed, so `Policy` retries even a POST; any other code: may have been processed),
// what a GOAWAY gives, and a few behaviours of the HTTP/1.1 suite run over both protocols with the same results.
import { HttpClient, HttpClientRequest } from "@effect/platform"
import type { HttpClientError } from "@effect/platform"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Attempt, HttpFailure, Policy } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { Cause, Config, ConfigError, Deferred, Effect, Exit, Fiber, Layer, Option, Schema, TestClock } from "effect"
import * as Http from "node:http"
import * as Http2 from "node:http2"
import type * as Net from "node:net"
import * as Tls from "node:tls"
import { Agent } from "undici"
import { loopbackTls } from "../../../test/utils/loopbackServer.js"
import { recordingTracer } from "./utils/recordingTracer.js"

const { NGHTTP2_CANCEL, NGHTTP2_INTERNAL_ERROR, NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM } = Http2.constants

// -----------------------------------------------------------------------------
// One handler for both servers (node:http and node:http2's compatibility API), so a route answers alike on each
// -----------------------------------------------------------------------------

type Request = Http.IncomingMessage | Http2.Http2ServerRequest
type Response = Http.ServerResponse | Http2.Http2ServerResponse

// requests seen, by tag (each attempt counts)
const seen = new Map<string, number>()
// the HTTP version of the latest request with each tag
const versions = new Map<string, string>()
// whoever waits for a request with a tag to arrive
const arrivals = new Map<string, () => void>()
// the sessions of `/held` requests, by tag
const heldSessions = new Map<string, Http2.Http2Session>()
// the answers held by `/gate`, by tag
const gates = new Map<string, Array<() => void>>()

const readAll = (request: Request): Promise<string> =>
  new Promise((resolve) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
  })

/** The server's reset of the request's stream with `code` (h2 only; HTTP/1.1 has no streams: the socket is cut). */
const resetStream = (request: Request, code: number) => {
  if ("stream" in request) {
    request.stream.close(code)
  } else {
    request.socket.destroy()
  }
}

const handle = async (request: Request, response: Response) => {
  const url = new URL(request.url ?? "/", "http://127.0.0.1")
  const tag = url.searchParams.get("tag") ?? url.pathname
  const count = (seen.get(tag) ?? 0) + 1
  seen.set(tag, count)
  versions.set(tag, request.httpVersion)
  arrivals.get(tag)?.()
  // the first `fail` requests of the tag fail as the route says, later ones succeed
  const failing = count <= Number(url.searchParams.get("fail") ?? "0")
  const body = await readAll(request)
  const json = (status: number, value: unknown) => {
    const text = JSON.stringify(value)
    response.writeHead(status, {
      "content-type": "application/json",
      "content-length": String(Buffer.byteLength(text)),
      "x-request-id": "r-1"
    })
    if (request.method === "HEAD") response.end()
    else response.end(text)
  }
  switch (url.pathname) {
    case "/json":
      return json(200, { hello: "world", method: request.method, body, version: request.httpVersion })
    case "/refuse":
      // before any processing: the stream is refused as soon as it opens
      return failing ? resetStream(request, NGHTTP2_REFUSED_STREAM) : json(200, { attempt: count })
    case "/internal":
      // after the whole request was read: it may have been acted on
      return failing ? resetStream(request, NGHTTP2_INTERNAL_ERROR) : json(200, { attempt: count })
    case "/cancel":
      return failing ? resetStream(request, NGHTTP2_CANCEL) : json(200, { attempt: count })
    case "/reset":
      return failing ? resetStream(request, Number(url.searchParams.get("code"))) : json(200, { attempt: count })
    case "/flaky":
      return failing ? json(503, { error: "busy" }) : json(200, { attempt: count })
    case "/text":
      response.writeHead(200, { "content-type": "text/plain; charset=utf-8" })
      return response.end("\uFEFFhéllo wörld")
    case "/hang":
      return
    case "/cut": {
      // part of a 100-byte body, then the stream reset with the code asked for (NO_ERROR and CANCEL are no error
      // to Node: the client's stream just ends)
      response.writeHead(200, { "content-type": "application/octet-stream", "content-length": "100" })
      ;(response as Http2.Http2ServerResponse).write("0123456789")
      const code = Number(url.searchParams.get("code"))
      setTimeout(() => resetStream(request, code), 20)
      return
    }
    case "/gate": {
      // held until `n` requests of the tag have arrived, then all answered
      const waiting = gates.get(tag) ?? []
      gates.set(tag, waiting)
      waiting.push(() => json(200, { attempt: count }))
      if (waiting.length >= Number(url.searchParams.get("n"))) { for (const answer of waiting) answer() }
      return
    }
    case "/held": {
      // held; its session kept for the test to send a GOAWAY on
      heldSessions.set(tag, (request as Http2.Http2ServerRequest).stream.session!)
      return
    }
    case "/goaway": {
      // the server closes the connection, telling the client that this stream is above the last one it processed
      const stream = (request as Http2.Http2ServerRequest).stream
      return stream.session?.goaway(NGHTTP2_NO_ERROR, Math.max(0, (stream.id ?? 0) - 2))
    }
    default:
      response.writeHead(404)
      response.end()
  }
}

const onRequest = (request: Request, response: Response) => {
  void handle(request, response)
}

let h1Server: Http.Server
let h2Server: Http2.Http2Server
let h1Base: string
let h2Base: string
// sessions (connections) the h2 server accepted
let h2Sessions = 0

beforeAll(async () => {
  h1Server = Http.createServer(onRequest)
  h2Server = Http2.createServer(onRequest)
  h2Server.on("session", (session) => {
    h2Sessions++
    // a session the client resets is no failure of the test's
    session.on("error", () => {})
  })
  h2Server.on("stream", (stream) => stream.on("error", () => {}))
  await new Promise<void>((resolve) => h1Server.listen(0, "127.0.0.1", resolve))
  await new Promise<void>((resolve) => h2Server.listen(0, "127.0.0.1", resolve))
  h1Base = `http://127.0.0.1:${(h1Server.address() as Net.AddressInfo).port}`
  h2Base = `http://127.0.0.1:${(h2Server.address() as Net.AddressInfo).port}`
})

afterAll(async () => {
  h1Server.closeAllConnections()
  await new Promise<void>((resolve) => h1Server.close(() => resolve()))
  await new Promise<void>((resolve) => h2Server.close(() => resolve()))
})

const h2 = UndiciHttpClient.layer({ http2: "h2c" })
const h1 = UndiciHttpClient.layer()

let tags = 0
const freshTag = (name: string) => `${name}-${++tags}`

/** Resolves when the server receives a request tagged `tag`. */
const serverReceives = (tag: string) =>
  Effect.tap(Deferred.make<void>(), (deferred) =>
    Effect.sync(() => {
      arrivals.set(tag, () => Deferred.unsafeDone(deferred, Exit.void))
    }))

const policyWith = (maxAttempts: number) =>
  Policy.make({ retry: { maxAttempts, baseDelay: "1 millis", budget: false }, circuitBreaker: false })

/** `request` sent under a `Policy` of up to 3 attempts: its result, and how many requests the server saw. */
const underPolicy = (request: HttpClientRequest.HttpClientRequest, tag: string) =>
  Effect.gen(function*() {
    const policy = yield* policyWith(3)
    const client = yield* HttpClient.HttpClient
    const exit = yield* Effect.exit(
      Policy.json(client, request, Schema.Unknown).pipe(Effect.provideService(Policy.Policy, policy))
    )
    return { exit, requests: seen.get(tag) ?? 0 }
  }).pipe(Effect.scoped)

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error(`expected a failure, got ${JSON.stringify(exit.value)}`)
  return Cause.squash(exit.cause) as E
}

// -----------------------------------------------------------------------------
// The option
// -----------------------------------------------------------------------------

describe("UndiciHttpClient http2 option", () => {
  it.live("off by default: the server sees HTTP/1.1; with http2: true a cleartext origin stays HTTP/1.1", () =>
    Effect.gen(function*() {
      const tag = freshTag("version")
      yield* HttpClient.get(`${h1Base}/json?tag=${tag}`).pipe(Effect.flatMap((r) => r.json), Effect.provide(h1))
      expect(versions.get(tag)).toBe("1.1")
      const tagTrue = freshTag("version")
      yield* HttpClient.get(`${h1Base}/json?tag=${tagTrue}`).pipe(
        Effect.flatMap((r) => r.json),
        Effect.provide(UndiciHttpClient.layer({ http2: true }))
      )
      expect(versions.get(tagTrue)).toBe("1.1")
    }))

  it.live(`"h2c" speaks HTTP/2 with prior knowledge: the server sees 2.0`, () =>
    Effect.gen(function*() {
      const tag = freshTag("version")
      const body = yield* HttpClient.get(`${h2Base}/json?tag=${tag}`).pipe(Effect.flatMap((r) => r.json))
      expect(body).toMatchObject({ hello: "world", version: "2.0" })
      expect(versions.get(tag)).toBe("2.0")
    }).pipe(Effect.provide(h2)))

  it.live("over TLS, http2: true offers h2 by ALPN and the default offers HTTP/1.1 only", () =>
    Effect.gen(function*() {
      const offers: Array<ReadonlyArray<string>> = []
      const server = Tls.createServer({
        ...loopbackTls,
        ALPNCallback: ({ protocols }) => {
          offers.push(protocols)
          return protocols.includes("h2") ? "h2" : protocols[0]
        }
      }, (socket) => socket.destroy())
      server.on("tlsClientError", () => {})
      yield* Effect.acquireRelease(
        Effect.promise(() => new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))),
        () => Effect.promise(() => new Promise<void>((resolve) => server.close(() => resolve())))
      )
      const url = `https://127.0.0.1:${(server.address() as Net.AddressInfo).port}/`
      // the certificate is not trusted by the client: the handshake fails after the server read the offer
      yield* Effect.exit(HttpClient.get(url).pipe(Effect.provide(h1)))
      yield* Effect.exit(HttpClient.get(url).pipe(Effect.provide(UndiciHttpClient.layer({ http2: true }))))
      expect(offers).toEqual([["http/1.1"], ["http/1.1", "h2"]])
    }).pipe(Effect.scoped))

  it.live("requests in flight together share one h2 connection (no pipelining limit of 1 over h2)", () =>
    Effect.gen(function*() {
      const before = h2Sessions
      const client = yield* HttpClient.HttpClient
      const tag = freshTag("gate")
      const fibers: Array<Fiber.RuntimeFiber<unknown, unknown>> = []
      // one at a time, each once the server holds the one before: none waits in undici's queue for a connection
      for (let i = 0; i < 3; i++) {
        const received = yield* serverReceives(tag)
        fibers.push(
          yield* Effect.fork(client.get(`${h2Base}/gate?tag=${tag}&n=3`).pipe(Effect.flatMap((r) => r.json)))
        )
        yield* Deferred.await(received)
      }
      yield* Fiber.joinAll(fibers)
      expect(h2Sessions - before).toBe(1)
    }).pipe(Effect.provide(UndiciHttpClient.layer({ http2: "h2c", connections: 4 }))))

  it.live("http2: true over TLS: the server sees 2.0, and requests in flight together share its connection", () =>
    Effect.gen(function*() {
      const server = Http2.createSecureServer({ ...loopbackTls, allowHTTP1: true }, onRequest)
      let sessions = 0
      server.on("session", (session) => {
        sessions++
        session.on("error", () => {})
      })
      yield* Effect.acquireRelease(
        Effect.promise(() => new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))),
        () => Effect.promise(() => new Promise<void>((resolve) => server.close(() => resolve())))
      )
      const base = `https://127.0.0.1:${(server.address() as Net.AddressInfo).port}`
      const tag = freshTag("tls-gate")
      // the loopback certificate is trusted as the client's CA
      const client = UndiciHttpClient.make(
        yield* UndiciHttpClient.makeDispatcher({ http2: true, connections: 4, tls: { ca: loopbackTls.cert } })
      )
      const fibers: Array<Fiber.RuntimeFiber<unknown, unknown>> = []
      for (let i = 0; i < 3; i++) {
        const received = yield* serverReceives(tag)
        fibers.push(yield* Effect.fork(client.get(`${base}/gate?tag=${tag}&n=3`).pipe(Effect.flatMap((r) => r.json))))
        yield* Deferred.await(received)
      }
      yield* Fiber.joinAll(fibers)
      expect(versions.get(tag)).toBe("2.0")
      expect(sessions).toBe(1)
    }).pipe(Effect.scoped))

  it.effect("an http2 that is none of true, false, \"h2c\" is a RangeError naming it; layerConfig: ConfigError", () =>
    Effect.gen(function*() {
      for (const value of ["h2", "yes", 1, null, {}]) {
        const exit = yield* Effect.exit(
          Effect.scoped(
            UndiciHttpClient.makeDispatcher({ http2: value as unknown as UndiciHttpClient.DispatcherOptions["http2"] })
          )
        )
        const defect = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
        expect(defect, String(value)).toBeInstanceOf(RangeError)
        expect((defect as Error).message).toMatch(/^UndiciHttpClient: http2 \(.*\) must be true, false or "h2c"$/)
      }
      const configured = yield* Effect.exit(
        Effect.scoped(Layer.build(UndiciHttpClient.layerConfig(Config.succeed({
          http2: "h3" as unknown as UndiciHttpClient.DispatcherOptions["http2"]
        }))))
      )
      expect(Exit.isFailure(configured) && Option.getOrUndefined(Cause.failureOption(configured.cause))).toSatisfy(
        (error: unknown) => ConfigError.isConfigError(error) && String(error).includes("http2")
      )
      for (const value of [true, false, "h2c", undefined] as const) {
        const made = yield* Effect.exit(Effect.scoped(UndiciHttpClient.makeDispatcher({ http2: value })))
        expect(Exit.isSuccess(made), String(value)).toBe(true)
      }
    }))
})

// -----------------------------------------------------------------------------
// Resets and GOAWAY
// -----------------------------------------------------------------------------

describe("UndiciHttpClient over h2: streams the server resets", () => {
  it.live("REFUSED_STREAM: ConnectionError never processed (requestSent false), its message names REFUSED_STREAM", () =>
    Effect.gen(function*() {
      const tag = freshTag("refused")
      const client = yield* HttpClient.HttpClient
      const error = yield* Effect.flip(
        Attempt.send(client, HttpClientRequest.post(`${h2Base}/refuse?tag=${tag}&fail=1&api_key=s3cret`), {
          timeout: "5 seconds"
        })
      )
      expect(error).toMatchObject({ _tag: "ConnectionError", reason: "Unknown", requestSent: false })
      expect(error.message).toBe(
        `transport failure (NGHTTP2_REFUSED_STREAM): POST ${h2Base}/refuse?tag=${tag}&fail=1&api_key=<redacted>`
      )
      expect((error as HttpFailure.ConnectionError).cause?.message).toBe(
        "HTTP/2 stream refused by the server (RST_STREAM NGHTTP2_REFUSED_STREAM): the request was not processed"
      )
      expect(HttpFailure.mayHaveReachedServer(error)).toBe(false)
      expect(HttpFailure.isTransient(error)).toBe(true)
    }).pipe(Effect.provide(h2)))

  it.live("a POST under Policy is retried after REFUSED_STREAM and succeeds", () =>
    Effect.gen(function*() {
      const tag = freshTag("refused-post")
      const { exit, requests } = yield* underPolicy(
        HttpClientRequest.post(`${h2Base}/refuse?tag=${tag}&fail=2`).pipe(HttpClientRequest.bodyText("order")),
        tag
      )
      expect(exit).toEqual(Exit.succeed({ attempt: 3 }))
      expect(requests).toBe(3)
    }).pipe(Effect.provide(h2)))

  it.live("a POST under Policy is not retried after an INTERNAL_ERROR reset once it was sent", () =>
    Effect.gen(function*() {
      const tag = freshTag("internal-post")
      const { exit, requests } = yield* underPolicy(
        HttpClientRequest.post(`${h2Base}/internal?tag=${tag}&fail=1`).pipe(HttpClientRequest.bodyText("order")),
        tag
      )
      const error = failureOf(exit) as HttpFailure.HttpFailure
      expect(requests).toBe(1)
      expect(error).toMatchObject({ _tag: "ConnectionError", attempts: 1 })
      expect("requestSent" in error).toBe(false)
      expect(error.message).toContain("NGHTTP2_INTERNAL_ERROR")
      expect(HttpFailure.mayHaveReachedServer(error)).toBe(true)
    }).pipe(Effect.provide(h2)))

  it.live("a reset code with digits in its name (HTTP_1_1_REQUIRED) is named in the failure too", () =>
    Effect.gen(function*() {
      const tag = freshTag("http11-required")
      const { exit, requests } = yield* underPolicy(
        HttpClientRequest.post(`${h2Base}/reset?tag=${tag}&fail=1&code=${Http2.constants.NGHTTP2_HTTP_1_1_REQUIRED}`)
          .pipe(HttpClientRequest.bodyText("order")),
        tag
      )
      const error = failureOf(exit) as HttpFailure.HttpFailure
      expect(requests).toBe(1)
      expect(error).toMatchObject({ _tag: "ConnectionError", attempts: 1 })
      expect(error.message).toContain("NGHTTP2_HTTP_1_1_REQUIRED")
      expect(HttpFailure.mayHaveReachedServer(error)).toBe(true)
    }).pipe(Effect.provide(h2)))

  it.live("a GET under Policy is retried after REFUSED_STREAM, INTERNAL_ERROR or CANCEL", () =>
    Effect.gen(function*() {
      for (const route of ["refuse", "internal", "cancel"]) {
        const tag = freshTag(`get-${route}`)
        const { exit, requests } = yield* underPolicy(
          HttpClientRequest.get(`${h2Base}/${route}?tag=${tag}&fail=1`),
          tag
        )
        expect(exit, route).toEqual(Exit.succeed({ attempt: 2 }))
        expect(requests, route).toBe(2)
      }
    }).pipe(Effect.provide(h2)))

  it.live("CANCEL before the response: undici does not report the code, a failure that may have been processed", () =>
    Effect.gen(function*() {
      const tag = freshTag("cancel-post")
      const { exit, requests } = yield* underPolicy(HttpClientRequest.post(`${h2Base}/cancel?tag=${tag}&fail=1`), tag)
      const error = failureOf(exit) as HttpFailure.HttpFailure
      expect(requests).toBe(1)
      expect(error).toMatchObject({ _tag: "ConnectionError", attempts: 1 })
      expect(HttpFailure.mayHaveReachedServer(error)).toBe(true)
    }).pipe(Effect.provide(h2)))

  it.live("GOAWAY naming a last stream below the request's: undici fails it as UND_ERR_SOCKET, kept as maybe processed", () =>
    Effect.gen(function*() {
      const tag = freshTag("goaway")
      const { exit, requests } = yield* underPolicy(HttpClientRequest.post(`${h2Base}/goaway?tag=${tag}`), tag)
      const error = failureOf(exit) as HttpFailure.HttpFailure
      expect(requests).toBe(1)
      expect(error).toMatchObject({ _tag: "ConnectionError", reason: "Reset", attempts: 1 })
      expect(error.message).toContain("UND_ERR_SOCKET")
      // undici does not read the GOAWAY's last-stream-id: nothing tells this stream from one the server processed
      expect(HttpFailure.mayHaveReachedServer(error)).toBe(true)
    }).pipe(Effect.provide(h2)))

  it.live("a reset with NO_ERROR or CANCEL before a body's declared end: a length mismatch, as over HTTP/1.1", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      for (const code of [NGHTTP2_NO_ERROR, NGHTTP2_CANCEL, NGHTTP2_INTERNAL_ERROR]) {
        const error = yield* Effect.flip(
          client.get(`${h2Base}/cut?code=${code}`).pipe(Effect.flatMap((response) => response.arrayBuffer))
        )
        expect(error, String(code)).toMatchObject({ _tag: "ResponseError", reason: "Decode" })
        const failure = yield* Effect.flip(Attempt.send(client, HttpClientRequest.get(`${h2Base}/cut?code=${code}`)))
        expect(failure, String(code)).toMatchObject({ _tag: "BodyTruncated", receivedBytes: 10, expectedBytes: 100 })
      }
      const cut = yield* Effect.flip(
        client.get(`${h2Base}/cut?code=${NGHTTP2_CANCEL}`).pipe(Effect.flatMap((response) => response.text))
      )
      expect((cut.cause as { readonly code?: unknown }).code).toBe("UND_ERR_RES_CONTENT_LENGTH_MISMATCH")
      // a HEAD's Content-Length is the GET's: no body is due
      const head = yield* client.head(`${h2Base}/json`)
      expect(head.status).toBe(200)
      expect(yield* head.text).toBe("")
    }).pipe(Effect.provide(h2)))

  it.live("GOAWAY with an error code: a POST still queued behind a request in flight fails unsent, Policy retries it", () =>
    Effect.gen(function*() {
      const agent = (yield* UndiciHttpClient.makeDispatcher({ http2: "h2c", connections: 1 })) as Agent
      const client = UndiciHttpClient.make(agent)
      const heldTag = freshTag("held")
      const received = yield* serverReceives(heldTag)
      const get = yield* Effect.fork(Effect.exit(client.get(`${h2Base}/held?tag=${heldTag}`)))
      yield* Deferred.await(received)
      // undici writes no non-idempotent request while another is in flight on the connection: the POST waits
      const tag = freshTag("queued-post")
      const post = yield* Effect.fork(
        underPolicy(HttpClientRequest.post(`${h2Base}/json?tag=${tag}`), tag).pipe(
          Effect.provideService(HttpClient.HttpClient, client)
        )
      )
      yield* Effect.sleep("1 millis").pipe(
        Effect.repeat({
          until: () => (agent.stats[h2Base] as { readonly pending?: number } | undefined)?.pending === 1
        })
      )
      const session = heldSessions.get(heldTag)!
      session.goaway(NGHTTP2_INTERNAL_ERROR, 1)
      const { exit, requests } = yield* Fiber.join(post)
      expect(exit).toEqual(Exit.succeed({ hello: "world", method: "POST", body: "", version: "2.0" }))
      // the only POST the server saw is the retry's
      expect(requests).toBe(1)
      const held = yield* Fiber.join(get)
      // the request in flight: failed as UND_ERR_SOCKET, whatever the GOAWAY's last-stream-id said
      expect((failureOf(held) as HttpClientError.RequestError).cause).toMatchObject({ code: "UND_ERR_SOCKET" })
    }).pipe(Effect.scoped))

  it.live("over TLS (ALPN h2, the client's own Agent) a refused POST is retried the same way", () =>
    Effect.gen(function*() {
      const server = Http2.createSecureServer({ ...loopbackTls, allowHTTP1: true }, onRequest)
      server.on("session", (session) => session.on("error", () => {}))
      server.on("stream", (stream) => stream.on("error", () => {}))
      yield* Effect.acquireRelease(
        Effect.promise(() => new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))),
        () => Effect.promise(() => new Promise<void>((resolve) => server.close(() => resolve())))
      )
      const base = `https://127.0.0.1:${(server.address() as Net.AddressInfo).port}`
      const agent = new Agent({ allowH2: true, connect: { ca: loopbackTls.cert } })
      yield* Effect.addFinalizer(() => Effect.promise(() => agent.destroy()))
      const tag = freshTag("tls-refused")
      const { exit, requests } = yield* underPolicy(HttpClientRequest.post(`${base}/refuse?tag=${tag}&fail=1`), tag)
        .pipe(
          Effect.provideService(HttpClient.HttpClient, UndiciHttpClient.make(agent))
        )
      expect(exit).toEqual(Exit.succeed({ attempt: 2 }))
      expect(requests).toBe(2)
      expect(versions.get(tag)).toBe("2.0")
    }).pipe(Effect.scoped))
})

// -----------------------------------------------------------------------------
// The same behaviours over HTTP/1.1 and h2
// -----------------------------------------------------------------------------

const Hello = Schema.Struct({ hello: Schema.String, method: Schema.String, body: Schema.String })

const protocols = [
  { name: "HTTP/1.1", base: () => h1Base, layer: h1 },
  { name: "h2", base: () => h2Base, layer: h2 }
] as const

describe("UndiciHttpClient: the same behaviours over HTTP/1.1 and h2", () => {
  for (const protocol of protocols) {
    it.live(`${protocol.name}: JSON success, with status, headers and the decoded body`, () =>
      Effect.gen(function*() {
        const client = yield* HttpClient.HttpClient
        const response = yield* client.execute(
          HttpClientRequest.post(`${protocol.base()}/json`).pipe(HttpClientRequest.bodyText("payload"))
        )
        expect(response.status).toBe(200)
        expect(response.headers["content-type"]).toBe("application/json")
        expect(response.headers["x-request-id"]).toBe("r-1")
        const hello = yield* Attempt.json(client, HttpClientRequest.get(`${protocol.base()}/json`), Hello)
        expect(hello).toEqual({ hello: "world", method: "GET", body: "" })
        expect(yield* response.json).toMatchObject({ hello: "world", method: "POST", body: "payload" })
      }).pipe(Effect.provide(protocol.layer)))

    it.live(`${protocol.name}: a client span with the request's attributes, a secret header redacted`, () =>
      Effect.gen(function*() {
        const { recording, spans } = yield* recordingTracer
        const client = yield* HttpClient.HttpClient
        yield* client.execute(
          HttpClientRequest.get(`${protocol.base()}/json`).pipe(
            HttpClientRequest.setHeader("authorization", "Bearer t")
          )
        ).pipe(Effect.flatMap((response) => response.json), Effect.withTracer(recording))
        const span = spans.find((span) => span.name === "http.client GET")
        expect(span?.attributes.get("http.request.method")).toBe("GET")
        expect(span?.attributes.get("http.response.status_code")).toBe(200)
        expect(span?.attributes.get("url.full")).toBe(`${protocol.base()}/json`)
        expect(span?.attributes.get("http.request.header.authorization")).toBe("<redacted>")
        expect(span?.attributes.get("http.response.header.x-request-id")).toBe("r-1")
      }).pipe(Effect.provide(protocol.layer)))

    it.live(`${protocol.name}: 503 then success under Policy`, () =>
      Effect.gen(function*() {
        const tag = freshTag("flaky")
        const { exit, requests } = yield* underPolicy(
          HttpClientRequest.get(`${protocol.base()}/flaky?tag=${tag}&fail=1`),
          tag
        )
        expect(exit).toEqual(Exit.succeed({ attempt: 2 }))
        expect(requests).toBe(2)
      }).pipe(Effect.provide(protocol.layer)))

    it.live(`${protocol.name}: body decoding: UTF-8 text without its byte-order mark; text is no JSON`, () =>
      Effect.gen(function*() {
        const client = yield* HttpClient.HttpClient
        const text = yield* client.get(`${protocol.base()}/text`).pipe(Effect.flatMap((r) => r.text))
        expect(text).toBe("héllo wörld")
        const invalid = yield* Effect.flip(
          Attempt.json(client, HttpClientRequest.get(`${protocol.base()}/text`), Schema.Unknown)
        )
        expect(invalid._tag).toBe("UnexpectedContentType")
      }).pipe(Effect.provide(protocol.layer)))

    it.effect(`${protocol.name}: no answer: the attempt's timeout fires when the TestClock passes it`, () =>
      Effect.gen(function*() {
        const tag = freshTag("hang")
        const received = yield* serverReceives(tag)
        const client = yield* HttpClient.HttpClient
        const fiber = yield* Effect.fork(
          Attempt.send(client, HttpClientRequest.get(`${protocol.base()}/hang?tag=${tag}`), { timeout: "1 second" })
        )
        yield* Deferred.await(received)
        expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
        yield* TestClock.adjust("1 second")
        const error = yield* Effect.flip(Fiber.join(fiber))
        expect(error).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
        expect(HttpFailure.mayHaveReachedServer(error)).toBe(true)
      }).pipe(Effect.provide(protocol.layer)))
  }
})
