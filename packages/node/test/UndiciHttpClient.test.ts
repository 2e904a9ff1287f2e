import { Headers, HttpBody, HttpClient, HttpClientRequest, HttpClientResponse } from "@effect/platform"
import type { HttpClientError } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Attempt, type ClientResponse, HttpFailure, Policy, Redaction } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { Deadline } from "@sturdy/policy"
import type { Scope } from "effect"
import {
  Cause,
  Chunk,
  Config,
  ConfigError,
  ConfigProvider,
  Deferred,
  Duration,
  Effect,
  Either,
  Exit,
  Fiber,
  Layer,
  Option,
  Redacted,
  Schema,
  Stream,
  TestClock
} from "effect"
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Https from "node:https"
import type * as Net from "node:net"
import * as Path from "node:path"
import { Readable } from "node:stream"
import { Agent, Client, Pool } from "undici"
import { readBody, silentListener } from "../../../test/utils/loopbackServer.js"
import * as internal from "../src/internal/undiciHttpClient.js"
import { recordingTracer } from "./utils/recordingTracer.js"

// -----------------------------------------------------------------------------
// A real server on 127.0.0.1:0 with one route per scenario
// -----------------------------------------------------------------------------

interface ServerLog {
  connections: number
  readonly closed: Array<string>
  readonly onRequest: Map<string, () => void>
  readonly onClose: Map<string, () => void>
}

const log: ServerLog = { connections: 0, closed: [], onRequest: new Map(), onClose: new Map() }

// the responses of `/held` requests, by tag, whose bodies are still arriving
const held = new Map<string, Http.ServerResponse>()

/** Sends the rest of the body of the `/held` request tagged `tag`. */
const releaseHeld = (tag: string) =>
  Effect.sync(() => {
    held.get(tag)?.end("1}")
    held.delete(tag)
  })

// the tag of the latest request on each connection, reported when the connection closes
const lastTag = new WeakMap<Net.Socket, string>()

const writeAndThen = (socket: Net.Socket, data: string, then: () => void) => socket.write(data, () => then())

const handle = async (request: Http.IncomingMessage, response: Http.ServerResponse) => {
  const url = new URL(request.url ?? "/", "http://127.0.0.1")
  const tag = url.searchParams.get("tag") ?? url.pathname
  lastTag.set(request.socket, tag)
  log.onRequest.get(tag)?.()
  switch (url.pathname) {
    case "/json": {
      response.writeHead(200, { "content-type": "application/json", "set-cookie": ["a=1", "b=2"], "x-multi": "one" })
      response.end(JSON.stringify({ hello: "world" }))
      return
    }
    case "/echo": {
      const body = await readBody(request)
      response.writeHead(200, { "content-type": "application/json" })
      response.end(JSON.stringify({
        method: request.method,
        url: request.url,
        headers: request.headers,
        body: body.toString("utf8")
      }))
      return
    }
    case "/status": {
      const status = Number(url.searchParams.get("code"))
      response.writeHead(status, { "content-type": "text/plain" })
      response.end(status === 204 || status === 304 ? undefined : `status ${status}`)
      return
    }
    case "/text": {
      response.writeHead(200, { "content-type": "text/plain; charset=utf-8" })
      response.end("\uFEFFhéllo wörld")
      return
    }
    case "/empty": {
      response.writeHead(200, { "content-length": "0" })
      response.end()
      return
    }
    case "/stream": {
      const count = Number(url.searchParams.get("chunks") ?? "5")
      response.writeHead(200, { "content-type": "application/octet-stream" })
      let sent = 0
      const next = () => {
        if (sent === count) return response.end()
        sent++
        response.write(`chunk${sent};`, () => setImmediate(next))
      }
      next()
      return
    }
    case "/big": {
      // larger than the client's read-ahead buffer, so the socket gets paused until someone reads
      response.writeHead(200, { "content-type": "application/octet-stream" })
      response.end(Buffer.alloc(512 * 1024, 7))
      return
    }
    case "/endless": {
      response.writeHead(200, { "content-type": "application/octet-stream" })
      const timer = setInterval(() => response.write("tick;"), 5)
      response.on("close", () => clearInterval(timer))
      return
    }
    case "/hang":
      return
    case "/held": {
      // half of a JSON body, then nothing until the test ends it with `releaseHeld(tag)`
      response.writeHead(200, { "content-type": "application/json" })
      response.write("{\"a\":")
      held.set(tag, response)
      return
    }
    case "/headers-then-hang": {
      response.writeHead(200, { "content-type": "text/plain", "content-length": "100" })
      response.write("0123456789")
      return
    }
    case "/chunked-then-hang": {
      // no content-length: the body is chunked and read as a stream
      response.writeHead(200, { "content-type": "text/plain" })
      response.write("0123456789")
      return
    }
    case "/error-then-hang": {
      response.writeHead(503, { "content-type": "text/plain", "content-length": "100" })
      response.write("0123456789")
      return
    }
    case "/reset-before-headers": {
      request.socket.resetAndDestroy()
      return
    }
    case "/close-before-headers": {
      request.socket.destroy()
      return
    }
    case "/reset-mid-body": {
      response.writeHead(200, { "content-type": "text/plain", "content-length": "100" })
      response.write("0123456789", () => request.socket.destroy())
      return
    }
    case "/no-content-with-length": {
      // a 304 may carry the Content-Length of the representation (RFC 9110 §8.6); neither it nor a 204 has a body
      const socket = request.socket
      const status = url.searchParams.get("code") === "304" ? "304 Not Modified" : "204 No Content"
      writeAndThen(socket, `HTTP/1.1 ${status}\r\ncontent-length: 100\r\nconnection: close\r\n\r\n`, () => socket.end())
      return
    }
    case "/truncated": {
      // Connection: close, so undici completes the message at EOF and compares the byte count with content-length
      const socket = request.socket
      writeAndThen(
        socket,
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 100\r\nconnection: close\r\n\r\n0123456789",
        () => socket.end()
      )
      return
    }
    default: {
      response.writeHead(404)
      response.end()
    }
  }
}

let server: Http.Server
let base = ""
let refusedBase = ""

beforeAll(async () => {
  server = Http.createServer((request, response) => {
    handle(request, response).catch((error) => response.destroy(error))
  })
  server.keepAliveTimeout = 10_000
  server.on("connection", (socket: Net.Socket) => {
    log.connections++
    socket.once("close", () => {
      const tag = lastTag.get(socket)
      if (tag === undefined) return
      log.closed.push(tag)
      log.onClose.get(tag)?.()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  base = `http://127.0.0.1:${(server.address() as Net.AddressInfo).port}`
  const closed = Http.createServer()
  await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve))
  refusedBase = `http://127.0.0.1:${(closed.address() as Net.AddressInfo).port}`
  await new Promise<void>((resolve) => closed.close(() => resolve()))
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

/** Resolves when the server receives a request tagged `tag`. */
const serverReceives = (tag: string) =>
  Effect.gen(function*() {
    const deferred = yield* Deferred.make<void>()
    log.onRequest.set(tag, () => Deferred.unsafeDone(deferred, Exit.void))
    return deferred
  })

/** Resolves when the server sees the connection of the request tagged `tag` close. */
const serverSeesClose = (tag: string) =>
  Effect.gen(function*() {
    const deferred = yield* Deferred.make<void>()
    log.onClose.set(tag, () => Deferred.unsafeDone(deferred, Exit.void))
    return deferred
  })

const sturdy = UndiciHttpClient.layer()

// Collects garbage every 20 ms until `done` or `rounds` rounds (the finalization of unread responses needs a GC)
const collectGarbageUntil = (done: Effect.Effect<boolean>, rounds: number) =>
  Effect.gen(function*() {
    const collect = (globalThis as { gc?: () => void }).gc
    if (collect === undefined) throw new Error("run the tests with --expose-gc (vitest.config.ts does)")
    for (let round = 0; round < rounds && !(yield* done); round++) {
      collect()
      yield* Effect.sleep("20 millis")
    }
  })

const codeOf = (error: unknown): unknown =>
  typeof error === "object" && error !== null && "code" in error ? error.code : undefined

interface Shape {
  readonly tag: string
  readonly reason: string
  readonly code: unknown
}

const shapeOf = (error: HttpClientError.HttpClientError): Shape => ({
  tag: error._tag,
  reason: error.reason,
  code: codeOf(error.cause)
})

/** Runs the same failing program through both transports and returns both error shapes. */
const bothFail = <A>(program: Effect.Effect<A, HttpClientError.HttpClientError, HttpClient.HttpClient>) =>
  Effect.gen(function*() {
    const ours = yield* program.pipe(Effect.flip, Effect.provide(sturdy))
    const platform = yield* program.pipe(Effect.flip, Effect.provide(NodeHttpClient.layerUndici))
    return { ours: shapeOf(ours), platform: shapeOf(platform), error: ours }
  })

const getText = (path: string) =>
  HttpClient.get(`${base}${path}`).pipe(Effect.flatMap((response) => response.text), Effect.scoped)

const Echo = Schema.Struct({
  method: Schema.String,
  url: Schema.String,
  headers: Schema.Record({ key: Schema.String, value: Schema.Union(Schema.String, Schema.Array(Schema.String)) }),
  body: Schema.String
})

const echo = (request: HttpClientRequest.HttpClientRequest) =>
  HttpClient.execute(request).pipe(Effect.flatMap(HttpClientResponse.schemaBodyJson(Echo)))

describe("UndiciHttpClient", () => {
  describe("requests", () => {
    it.live("a Pool or Client serves its own origin only: a request for another fails as InvalidUrl, unsent", () =>
      Effect.gen(function*() {
        let received = 0
        const other = Http.createServer((_request, response) => {
          received++
          response.end("{}")
        })
        yield* Effect.acquireRelease(
          Effect.async<void>((resume) => void other.listen(0, "127.0.0.1", () => resume(Effect.void))),
          () => Effect.async<void>((resume) => void other.close(() => resume(Effect.void)))
        )
        const otherBase = `http://127.0.0.1:${(other.address() as Net.AddressInfo).port}`
        for (const dispatcher of [new Pool(base), new Client(base)]) {
          yield* Effect.addFinalizer(() => Effect.promise(() => dispatcher.close()))
          const client = UndiciHttpClient.make(dispatcher)
          const own = yield* client.get(`${base}/json`)
          expect(own.status).toBe(200)
          // undici would send it to the pool's origin, headers and all
          const error = yield* Effect.flip(client.get(`${otherBase}/json`))
          expect(error).toMatchObject({ _tag: "RequestError", reason: "InvalidUrl" })
          expect(error.description).toBe(
            `${otherBase} is not the origin of the dispatcher (an undici Client or Pool serves ${base} only)`
          )
          const failure = yield* Effect.flip(Attempt.send(client, HttpClientRequest.get(`${otherBase}/json`)))
          expect(failure).toMatchObject({ _tag: "InvalidRequest", reason: "MalformedUrl" })
          // (redacted as every detail is, which writes each URL out whole)
          expect((failure as HttpFailure.InvalidRequest).detail).toBe(
            `${otherBase}/ is not the origin of the dispatcher (an undici Client or Pool serves ${base}/ only)`
          )
        }
        expect(received).toBe(0)
        // an Agent serves every origin
        const agent = new Agent()
        yield* Effect.addFinalizer(() => Effect.promise(() => agent.close()))
        expect((yield* UndiciHttpClient.make(agent).get(`${otherBase}/json`)).status).toBe(200)
        expect(received).toBe(1)
      }).pipe(Effect.scoped))

    it.live("GET with headers and url params", () =>
      Effect.gen(function*() {
        const result = yield* echo(
          HttpClientRequest.get(`${base}/echo`).pipe(
            HttpClientRequest.setHeader("x-request-id", "abc"),
            HttpClientRequest.setUrlParam("q", "a b")
          )
        )
        expect(result.method).toBe("GET")
        expect(result.url).toBe("/echo?q=a+b")
        expect(result.headers["x-request-id"]).toBe("abc")
        expect(result.body).toBe("")
      }).pipe(Effect.provide(sturdy)))

    it.live("credentials in the URL are sent as Basic authentication, as node:http does; a set header wins", () =>
      Effect.gen(function*() {
        const withCredentials = base.replace("http://", "http://ad%40min:p%3Ass%20w@")
        const ours = yield* echo(HttpClientRequest.get(`${withCredentials}/echo`))
        const platform = yield* echo(HttpClientRequest.get(`${withCredentials}/echo`)).pipe(
          Effect.provide(NodeHttpClient.layer)
        )
        const expected = `Basic ${Buffer.from("ad@min:p:ss w").toString("base64")}`
        expect(ours.headers["authorization"]).toBe(expected)
        expect(platform.headers["authorization"]).toBe(expected)
        expect(ours.url).toBe("/echo")
        const explicit = yield* echo(
          HttpClientRequest.get(`${withCredentials}/echo`).pipe(
            HttpClientRequest.setHeader("authorization", "Bearer t")
          )
        )
        expect(explicit.headers["authorization"]).toBe("Bearer t")
        const none = yield* echo(HttpClientRequest.get(`${base}/echo`))
        expect(none.headers["authorization"]).toBeUndefined()
      }).pipe(Effect.provide(sturdy)))

    it.live("POST a JSON (Uint8Array) body with its content type", () =>
      Effect.gen(function*() {
        const request = yield* HttpClientRequest.post(`${base}/echo`).pipe(HttpClientRequest.bodyJson({ a: 1 }))
        const result = yield* echo(request)
        expect(result.method).toBe("POST")
        expect(result.body).toBe("{\"a\":1}")
        expect(result.headers["content-type"]).toBe("application/json")
        expect(result.headers["content-length"]).toBe("7")
      }).pipe(Effect.provide(sturdy)))

    it.live("POST a text body", () =>
      Effect.gen(function*() {
        const result = yield* echo(
          HttpClientRequest.post(`${base}/echo`).pipe(HttpClientRequest.bodyText("hi", "text/x"))
        )
        expect(result.body).toBe("hi")
        expect(result.headers["content-type"]).toBe("text/x")
      }).pipe(Effect.provide(sturdy)))

    it.live("PUT a raw body", () =>
      Effect.gen(function*() {
        const result = yield* echo(
          HttpClientRequest.put(`${base}/echo`).pipe(
            HttpClientRequest.setBody(HttpBody.raw("raw-string", { contentType: "text/plain" }))
          )
        )
        expect(result.method).toBe("PUT")
        expect(result.body).toBe("raw-string")
      }).pipe(Effect.provide(sturdy)))

    it.live("POST a FormData body as multipart", () =>
      Effect.gen(function*() {
        const form = new FormData()
        form.append("field", "value")
        const result = yield* echo(HttpClientRequest.post(`${base}/echo`).pipe(HttpClientRequest.bodyFormData(form)))
        expect(result.headers["content-type"]).toMatch(/^multipart\/form-data; boundary=/)
        expect(result.body).toContain("name=\"field\"")
        expect(result.body).toContain("value")
      }).pipe(Effect.provide(sturdy)))

    it.live("POST a streaming body", () =>
      Effect.gen(function*() {
        const encoder = new TextEncoder()
        const body = Stream.make("one,", "two,", "three").pipe(Stream.map((part) => encoder.encode(part)))
        const result = yield* echo(
          HttpClientRequest.post(`${base}/echo`).pipe(HttpClientRequest.bodyStream(body, { contentType: "text/csv" }))
        )
        expect(result.body).toBe("one,two,three")
        expect(result.headers["content-type"]).toBe("text/csv")
      }).pipe(Effect.provide(sturdy)))

    it.live("a failing request body stream is a RequestError Encode with the stream's error (layerUndici: Transport)", () =>
      Effect.gen(function*() {
        for (
          const body of [
            Stream.fail(new Error("boom")),
            // after a first chunk was written
            Stream.concat(Stream.make(new TextEncoder().encode("one,")), Stream.fail(new Error("boom")))
          ]
        ) {
          const { error, ours, platform } = yield* bothFail(
            HttpClient.execute(HttpClientRequest.post(`${base}/echo`).pipe(HttpClientRequest.bodyStream(body)))
          )
          expect(platform).toMatchObject({ tag: "RequestError", reason: "Transport" })
          expect(ours).toMatchObject({ tag: "RequestError", reason: "Encode" })
          expect(String(error.cause)).toContain("boom")
        }
        // a Readable of the caller's that fails too
        const readable = new Readable({
          read() {
            this.destroy(new Error("disk gone"))
          }
        })
        const failed = yield* HttpClient.execute(
          HttpClientRequest.post(`${base}/echo`).pipe(HttpClientRequest.setBody(HttpBody.raw(readable)))
        ).pipe(Effect.flip, Effect.provide(sturdy))
        expect(failed).toMatchObject({ _tag: "RequestError", reason: "Encode" })
        // and through an Attempt: the caller's failure, never counted against the upstream
        const failure = yield* HttpClient.HttpClient.pipe(
          Effect.flatMap((client) =>
            Attempt.send(
              client,
              HttpClientRequest.post(`${base}/echo`).pipe(HttpClientRequest.bodyStream(Stream.fail(new Error("boom"))))
            )
          ),
          Effect.flip,
          Effect.provide(sturdy)
        )
        expect(failure).toMatchObject({ _tag: "InvalidRequest", reason: "BodyEncode" })
        expect(Policy.countsAgainstUpstream(failure)).toBe(false)
        expect(failure.message).toContain("boom")
      }))

    it.live("an invalid URL is a RequestError with reason InvalidUrl", () =>
      Effect.gen(function*() {
        const { ours, platform } = yield* bothFail(HttpClient.get("http://[not-a-host"))
        expect(ours).toEqual(platform)
        expect(ours.reason).toBe("InvalidUrl")
      }))

    // each URL is parsed once per client and kept: what it keeps must never send a request elsewhere
    const sentPath = (request: HttpClientRequest.HttpClientRequest) =>
      HttpClient.execute(request).pipe(
        Effect.flatMap(HttpClientResponse.schemaBodyJson(Schema.Struct({ url: Schema.String }))),
        Effect.map((echo) => echo.url)
      )

    it.live("a URL sent again goes where it went, with its own query params and without its fragment", () =>
      Effect.gen(function*() {
        const plain = HttpClientRequest.get(`${base}/echo?a=1`)
        for (let round = 0; round < 2; round++) {
          expect(yield* sentPath(plain)).toBe("/echo?a=1")
          expect(yield* sentPath(HttpClientRequest.setUrlParam(plain, "b", "2"))).toBe("/echo?a=1&b=2")
          expect(yield* sentPath(HttpClientRequest.setHash(plain, "part"))).toBe("/echo?a=1")
          expect(yield* sentPath(HttpClientRequest.get(`${base}/echo?a=1#part`))).toBe("/echo?a=1")
          expect(yield* sentPath(HttpClientRequest.get(`${base}/echo?a=2`))).toBe("/echo?a=2")
        }
      }).pipe(Effect.provide(sturdy)))

    // node-fetch's "should keep `?` sign in URL when no params are given" (test/peer-node-fetch-body.test.ts): the
    // path once sent `url.pathname + url.search`, and `search` is "" for an empty query as for none
    it.live("an empty query keeps its `?` on the wire, as node-fetch and fetch send it", () =>
      Effect.gen(function*() {
        for (const url of [`${base}/echo?`, `${base}/echo?#part`, `${base}/echo?#`]) {
          for (let round = 0; round < 2; round++) {
            expect(yield* sentPath(HttpClientRequest.get(url)).pipe(Effect.provide(sturdy))).toBe("/echo?")
          }
        }
        expect(yield* sentPath(HttpClientRequest.get(`${base}/echo`)).pipe(Effect.provide(sturdy))).toBe("/echo")
        expect(yield* sentPath(HttpClientRequest.get(`${base}/echo#`)).pipe(Effect.provide(sturdy))).toBe("/echo")
      }))

    // the one difference from layerUndici that @effect/platform-node's HttpClient tests show (peer port
    // peer-platform-node-HttpClient.test.ts, "ClientRequest parses URL instances"); stated in the module doc
    it.live("a fragment goes neither on the wire nor in the span's url.full, where layerUndici sends it", () =>
      Effect.gen(function*() {
        const attributes: Array<ReadonlyMap<string, unknown>> = []
        const tracer = yield* Effect.tracer
        const recording = {
          ...tracer,
          span(...args: Parameters<typeof tracer.span>) {
            const span = tracer.span(...args)
            attributes.push(span.attributes)
            return span
          }
        }
        const request = HttpClientRequest.get(new URL(`${base}/echo?a=1#hash`)).pipe(
          HttpClientRequest.setUrlParam("b", "2")
        )
        const ours = yield* sentPath(request).pipe(Effect.withTracer(recording), Effect.provide(sturdy))
        const ourSpan = attributes.pop()?.get("url.full")
        const platform = yield* sentPath(request).pipe(Effect.provide(NodeHttpClient.layerUndici))
        expect(ours).toBe("/echo?a=1&b=2")
        expect(ourSpan).toBe(`${base}/echo?a=1&b=2`)
        expect(platform).toBe("/echo?a=1&b=2#hash")
      }))

    // @effect/platform's client span records `url.full` and `url.query` verbatim and the origin as `server.address`;
    // this transport's span, the one a plain `HttpClient` call gets, records them as Sturdy's own client span does
    it.live("its own span redacts the URL, the query and the headers as Sturdy's client span does", () =>
      Effect.gen(function*() {
        const { recording, spans } = yield* recordingTracer
        const token = "tok-5e3a9c0b71"
        const request = HttpClientRequest.get(`${base}/echo?api_key=k-1f2e3d&state=${token}&page=2`).pipe(
          HttpClientRequest.setHeaders({ authorization: `Bearer ${token}`, "x-tenant-secret": "s-8d7c6b", "x-n": "1" })
        )
        const sent = yield* sentPath(request).pipe(
          Redaction.withSecretNames(["x-tenant-secret"]),
          Effect.withTracer(recording),
          Effect.provide(sturdy)
        )
        expect(sent).toBe(`/echo?api_key=k-1f2e3d&state=${token}&page=2`)
        const span = spans.find((span) => span.attributes.get("http.request.method") === "GET")!
        const rendered = JSON.stringify([...span.attributes])
        for (const secret of [token, "k-1f2e3d", "s-8d7c6b"]) expect(rendered).not.toContain(secret)
        expect(span.attributes.get("url.full")).toBe(
          `${base}/echo?api_key=<redacted>&state=<redacted>&page=2`
        )
        expect(span.attributes.get("url.path")).toBe("/echo")
        expect(span.attributes.get("url.query")).toBe("api_key=<redacted>&state=<redacted>&page=2")
        expect(span.attributes.get("server.address")).toBe("127.0.0.1")
        expect(span.attributes.get("http.request.header.authorization")).toBe("<redacted>")
        expect(span.attributes.get("http.request.header.x-tenant-secret")).toBe("<redacted>")
        expect(span.attributes.get("http.request.header.x-n")).toBe("1")
        expect(span.attributes.get("http.response.status_code")).toBe(200)
        expect(span.attributes.get("http.response.header.content-type")).toBe("application/json")
      }))

    it.live("past the URLs a client keeps, every request still goes to its own URL", () =>
      Effect.gen(function*() {
        const paths = Array.from({ length: 300 }, (_, index) => `/echo?n=${index}`)
        for (const round of [0, 1]) {
          const sent = yield* Effect.forEach(
            round === 0 ? paths : paths.slice().reverse(),
            (path) => sentPath(HttpClientRequest.get(`${base}${path}`)),
            { concurrency: 16 }
          )
          expect(sent).toEqual(round === 0 ? paths : paths.slice().reverse())
        }
      }).pipe(Effect.provide(sturdy)))

    it.live("relative URLs follow a global location as it changes, as layerUndici's do", () =>
      Effect.gen(function*() {
        const global = globalThis as { location?: unknown }
        const restore = () => {
          delete global.location
        }
        yield* Effect.addFinalizer(() => Effect.sync(restore))
        const status = Effect.map(HttpClient.get("echo?n=1"), (response) => response.status)
        global.location = { origin: base, pathname: "/" }
        expect(yield* status).toBe(200)
        global.location = { origin: base, pathname: "/elsewhere/" }
        expect(yield* status).toBe(404)
        restore()
        const { ours, platform } = yield* bothFail(HttpClient.get("echo?n=1"))
        expect(ours).toEqual(platform)
        expect(ours.reason).toBe("InvalidUrl")
      }).pipe(Effect.scoped, Effect.provide(sturdy)))
  })

  describe("responses", () => {
    it.effect("header(name) agrees with headers[name] for every header, repeated ones included, before and after", () =>
      Effect.gen(function*() {
        const fresh = () =>
          HttpClient.get(`${base}/json`).pipe(
            Effect.map((response) => response as ClientResponse.Class),
            Effect.tap((response) => response.text)
          )
        const before = yield* fresh()
        const names = ["content-type", "set-cookie", "x-multi", "content-length", "absent"]
        const read = names.map((name) => before.header(name))
        expect(read).toEqual(names.map((name) => before.headers[name]))
        expect(before.header("set-cookie")).toBe("a=1, b=2")
        expect(before.header("absent")).toBeUndefined()
        const after = yield* fresh()
        const headers = after.headers
        for (const name of Object.keys(headers)) expect(after.header(name)).toBe(headers[name])
      }).pipe(Effect.provide(sturdy)))

    it.live("status, headers, cookies and json", () =>
      Effect.gen(function*() {
        const response = yield* HttpClient.get(`${base}/json`)
        expect(response.status).toBe(200)
        expect(response.headers["content-type"]).toBe("application/json")
        expect(response.headers["set-cookie"]).toBe("a=1, b=2")
        expect(Object.keys(response.cookies.cookies).sort()).toEqual(["a", "b"])
        expect(yield* response.json).toEqual({ hello: "world" })
        // the body is kept, so it can be read again in another form
        expect(yield* response.text).toBe("{\"hello\":\"world\"}")
        expect(new TextDecoder().decode(yield* response.arrayBuffer)).toBe("{\"hello\":\"world\"}")
      }).pipe(Effect.provide(sturdy)))

    it.live("headers are the same record layerUndici gives", () =>
      Effect.gen(function*() {
        const read = HttpClient.get(`${base}/json`).pipe(
          Effect.map((response) => {
            const { date: _date, ...rest } = response.headers
            return rest
          })
        )
        const ours = yield* Effect.provide(read, sturdy)
        const platform = yield* Effect.provide(read, NodeHttpClient.layerUndici)
        expect(ours).toEqual(platform)
        // and the same kind of value: platform Headers, which redaction and inspection recognise
        const headersOf = Effect.map(HttpClient.get(`${base}/json`), (response) => response.headers)
        const oursHeaders = yield* Effect.provide(headersOf, sturdy)
        expect(Headers.isHeaders(oursHeaders)).toBe(true)
        expect(Object.getPrototypeOf(oursHeaders)).toBe(
          Object.getPrototypeOf(yield* Effect.provide(headersOf, NodeHttpClient.layerUndici))
        )
      }))

    it.live("text decodes UTF-8 and drops a byte-order mark", () =>
      Effect.gen(function*() {
        expect(yield* getText("/text")).toBe("héllo wörld")
      }).pipe(Effect.provide(sturdy)))

    it.live("json of an empty body is null", () =>
      Effect.gen(function*() {
        const response = yield* HttpClient.get(`${base}/empty`)
        expect(yield* response.json).toBeNull()
      }).pipe(Effect.provide(sturdy)))

    it.live("invalid JSON is a ResponseError with reason Decode, like layerUndici", () =>
      Effect.gen(function*() {
        const { ours, platform } = yield* bothFail(
          HttpClient.get(`${base}/text`).pipe(Effect.flatMap((response) => response.json))
        )
        expect(ours).toEqual(platform)
        expect(ours).toMatchObject({ tag: "ResponseError", reason: "Decode" })
      }))

    it.live("status codes pass through; filterStatusOk fails with reason StatusCode", () =>
      Effect.gen(function*() {
        for (const code of [201, 204, 301, 404, 500, 503]) {
          const response = yield* HttpClient.get(`${base}/status?code=${code}`)
          expect(response.status).toBe(code)
          expect(yield* response.text).toBe(code === 204 ? "" : `status ${code}`)
        }
        const client = (yield* HttpClient.HttpClient).pipe(HttpClient.filterStatusOk)
        const error = yield* Effect.flip(client.get(`${base}/status?code=503`))
        expect(error).toMatchObject({ _tag: "ResponseError", reason: "StatusCode" })
      }).pipe(Effect.provide(sturdy)))

    it.live("HEAD has no body", () =>
      Effect.gen(function*() {
        const response = yield* HttpClient.head(`${base}/json`)
        expect(response.status).toBe(200)
        expect(yield* response.text).toBe("")
      }).pipe(Effect.provide(sturdy)))

    it.live("a 204 or 304 carrying a Content-Length has no body: it reads empty, not as a length mismatch", () =>
      Effect.gen(function*() {
        // undici (and so layerUndici) fails these with UND_ERR_RES_CONTENT_LENGTH_MISMATCH
        for (const code of [204, 304]) {
          const path = `${base}/no-content-with-length?code=${code}`
          const whole = yield* HttpClient.get(path)
          expect(whole.status).toBe(code)
          expect(yield* whole.text).toBe("")
          const streamed = yield* HttpClient.get(path)
          expect(Chunk.size(yield* Stream.runCollect(streamed.stream))).toBe(0)
        }
      }).pipe(Effect.provide(sturdy)))

    it.live("streams the body chunk by chunk", () =>
      Effect.gen(function*() {
        const response = yield* HttpClient.get(`${base}/stream?chunks=5`)
        const chunks = yield* Stream.runCollect(Stream.decodeText(response.stream))
        expect(Chunk.join(chunks, "")).toBe("chunk1;chunk2;chunk3;chunk4;chunk5;")
        const again = yield* Effect.flip(response.text)
        expect(again).toMatchObject({ _tag: "ResponseError", reason: "Decode" })
      }).pipe(Effect.provide(sturdy)))

    it.live("a read that is built but never run takes nothing: the body still streams, whole or arriving", () =>
      Effect.gen(function*() {
        // arrived with its headers (the `Exit` fast path) and still arriving (a body larger than the read-ahead)
        for (const path of ["/json", "/big", "/stream?chunks=5"]) {
          const response = yield* HttpClient.get(`${base}${path}`)
          const unrun = [response.text, response.json, response.arrayBuffer, response.urlParamsBody]
          expect(unrun).toHaveLength(4)
          const streamed = yield* Stream.runFold(response.stream, 0, (total, chunk) => total + chunk.length)
          const expected = path === "/json" ? 17 : path === "/big" ? 512 * 1024 : 35
          expect(streamed).toBe(expected)
        }
      }).pipe(Effect.provide(sturdy)))

    it.live("a body read whole is kept: every later reader, a stream included, gets the same bytes", () =>
      Effect.gen(function*() {
        for (const path of ["/json", "/big"]) {
          const response = yield* HttpClient.get(`${base}${path}`)
          const whole = new Uint8Array(yield* response.arrayBuffer)
          const streamed = yield* Stream.runCollect(response.stream)
          expect(Buffer.concat(Chunk.toArray(streamed)).equals(whole)).toBe(true)
          expect(Buffer.from(yield* response.arrayBuffer).equals(whole)).toBe(true)
        }
      }).pipe(Effect.provide(sturdy)))

    it.live("a body larger than the read-ahead buffer arrives whole, streamed or read at once", () =>
      Effect.gen(function*() {
        const whole = yield* HttpClient.get(`${base}/big`).pipe(
          Effect.tap(() => Effect.sleep("20 millis")),
          Effect.flatMap((response) => response.arrayBuffer)
        )
        expect(whole.byteLength).toBe(512 * 1024)
        const streamed = yield* HttpClient.get(`${base}/big`).pipe(
          Effect.tap(() => Effect.sleep("20 millis")),
          Effect.flatMap((response) => Stream.runFold(response.stream, 0, (total, chunk) => total + chunk.length))
        )
        expect(streamed).toBe(512 * 1024)
      }).pipe(Effect.provide(sturdy)))

    it.live("HttpClientResponse.stream keeps working", () =>
      Effect.gen(function*() {
        const text = yield* HttpClient.get(`${base}/stream?chunks=3`).pipe(
          HttpClientResponse.stream,
          Stream.decodeText(),
          Stream.mkString
        )
        expect(text).toBe("chunk1;chunk2;chunk3;")
      }).pipe(Effect.provide(sturdy)))
  })

  describe("connections", () => {
    it.live("keeps the connection alive across sequential requests", () =>
      Effect.gen(function*() {
        const before = log.connections
        for (let i = 0; i < 10; i++) {
          expect(yield* getText("/status?code=200")).toBe("status 200")
        }
        expect(log.connections - before).toBe(1)
      }).pipe(Effect.provide(UndiciHttpClient.layer({ connections: 1, keepAliveTimeout: "5 seconds" }))))

    it.live("without a limit, sequential requests still share at most two connections", () =>
      Effect.gen(function*() {
        // undici frees a pipelining-1 socket on setImmediate, so a request sent straight after the previous body may
        // open a second socket; raw undici and layerUndici do the same
        const before = log.connections
        for (let i = 0; i < 10; i++) {
          expect(yield* getText("/status?code=200")).toBe("status 200")
        }
        expect(log.connections - before).toBeLessThanOrEqual(2)
      }).pipe(Effect.provide(sturdy)))

    it.live("honours the connections limit of the pool", () =>
      Effect.gen(function*() {
        const before = log.connections
        yield* Effect.all(Array.from({ length: 10 }, () => getText("/stream?chunks=2")), { concurrency: 10 })
        expect(log.connections - before).toBe(2)
      }).pipe(Effect.provide(UndiciHttpClient.layer({ connections: 2 }))))

    it.live("sends through a user-provided dispatcher", () =>
      Effect.gen(function*() {
        const agent = new Agent({ connections: 1 })
        const before = log.connections
        const text = yield* getText("/status?code=200").pipe(
          Effect.provide(UndiciHttpClient.layerWithDispatcher),
          Effect.provideService(UndiciHttpClient.Dispatcher, agent)
        )
        expect(text).toBe("status 200")
        expect(log.connections - before).toBe(1)
        yield* Effect.promise(() => agent.destroy())
      }))
  })

  describe("interruption", () => {
    it.live("interrupting a request waiting for headers closes its connection", () =>
      Effect.gen(function*() {
        const received = yield* serverReceives("hang-1")
        const closed = yield* serverSeesClose("hang-1")
        const fiber = yield* Effect.fork(HttpClient.get(`${base}/hang?tag=hang-1`))
        yield* Deferred.await(received)
        yield* Fiber.interrupt(fiber)
        yield* Deferred.await(closed).pipe(Effect.timeout("2 seconds"))
        expect(log.closed).toContain("hang-1")
      }).pipe(Effect.provide(sturdy)))

    it.live("interrupting a body read closes the connection", () =>
      Effect.gen(function*() {
        const closed = yield* serverSeesClose("hang-2")
        const response = yield* HttpClient.get(`${base}/headers-then-hang?tag=hang-2`)
        const fiber = yield* Effect.fork(response.text)
        yield* Effect.sleep("20 millis")
        yield* Fiber.interrupt(fiber)
        yield* Deferred.await(closed).pipe(Effect.timeout("2 seconds"))
        expect(log.closed).toContain("hang-2")
      }).pipe(Effect.provide(sturdy)))

    it.live("leaving a response stream early closes the connection", () =>
      Effect.gen(function*() {
        const closed = yield* serverSeesClose("endless")
        const response = yield* HttpClient.get(`${base}/endless?tag=endless`)
        const first = yield* Stream.runHead(response.stream)
        expect(first._tag).toBe("Some")
        yield* Deferred.await(closed).pipe(Effect.timeout("2 seconds"))
        expect(log.closed).toContain("endless")
      }).pipe(Effect.provide(sturdy)))

    it.live("a dropped response whose body would pause the socket closes its connection once collected", () =>
      Effect.gen(function*() {
        const closed = yield* serverSeesClose("big-dropped")
        // the response is dropped unread: its 512 KiB body fills the read-ahead buffer and pauses the socket
        expect(yield* HttpClient.get(`${base}/big?tag=big-dropped`).pipe(Effect.map((response) => response.status)))
          .toBe(200)
        yield* collectGarbageUntil(Deferred.isDone(closed), 150)
        expect(yield* Deferred.isDone(closed)).toBe(true)
      }).pipe(Effect.provide(sturdy)))

    it.live("a dropped response whose short body stalls closes its connection once collected", () =>
      Effect.gen(function*() {
        const closed = yield* serverSeesClose("stalled-dropped")
        // 10 of the 100 bytes its Content-Length announces, then nothing: the body never completes on its own
        expect(
          yield* HttpClient.get(`${base}/headers-then-hang?tag=stalled-dropped`).pipe(
            Effect.map((response) => response.status)
          )
        ).toBe(200)
        yield* collectGarbageUntil(Deferred.isDone(closed), 150)
        expect(yield* Deferred.isDone(closed)).toBe(true)
      }).pipe(Effect.provide(sturdy)))

    it.live("a dropped response with a short body completes unread: collecting it leaves the connection open", () =>
      Effect.gen(function*() {
        expect(yield* HttpClient.get(`${base}/json?tag=short-dropped`).pipe(Effect.map((response) => response.status)))
          .toBe(200)
        yield* collectGarbageUntil(Effect.succeed(false), 5)
        expect(log.closed).not.toContain("short-dropped")
      }).pipe(Effect.provide(sturdy)))

    it.live("HttpClient.withScope: closing the scope closes the connection of an unread response", () =>
      Effect.gen(function*() {
        const closed = yield* serverSeesClose("hang-6")
        const client = (yield* HttpClient.HttpClient).pipe(HttpClient.withScope)
        const status = yield* client.get(`${base}/headers-then-hang?tag=hang-6`).pipe(
          Effect.map((response) => response.status),
          Effect.scoped
        )
        expect(status).toBe(200)
        yield* Deferred.await(closed).pipe(Effect.timeout("2 seconds"))
      }).pipe(Effect.provide(sturdy)))

    it.live("Effect.timeout on a slow server interrupts and closes the connection", () =>
      Effect.gen(function*() {
        const closed = yield* serverSeesClose("hang-3")
        const result = yield* HttpClient.get(`${base}/hang?tag=hang-3`).pipe(Effect.timeout("50 millis"), Effect.flip)
        expect(result._tag).toBe("TimeoutException")
        yield* Deferred.await(closed).pipe(Effect.timeout("2 seconds"))
      }).pipe(Effect.provide(sturdy)))
  })

  describe("failures have the same shape as layerUndici", () => {
    it.live("connection refused", () =>
      Effect.gen(function*() {
        const { ours, platform } = yield* bothFail(HttpClient.get(`${refusedBase}/json`))
        expect(ours).toEqual({ tag: "RequestError", reason: "Transport", code: "ECONNREFUSED" })
        expect(ours).toEqual(platform)
      }))

    it.live("connection reset before the headers", () =>
      Effect.gen(function*() {
        const { ours, platform } = yield* bothFail(HttpClient.get(`${base}/reset-before-headers`))
        expect(ours).toEqual({ tag: "RequestError", reason: "Transport", code: "ECONNRESET" })
        expect(ours).toEqual(platform)
      }))

    it.live("connection closed before the headers", () =>
      Effect.gen(function*() {
        const { ours, platform } = yield* bothFail(HttpClient.get(`${base}/close-before-headers`))
        expect(ours).toEqual({ tag: "RequestError", reason: "Transport", code: "UND_ERR_SOCKET" })
        expect(ours).toEqual(platform)
      }))

    it.live("connection closed in the middle of the body", () =>
      Effect.gen(function*() {
        const { ours, platform } = yield* bothFail(
          HttpClient.get(`${base}/reset-mid-body`).pipe(Effect.flatMap((response) => response.text))
        )
        expect(ours).toEqual({ tag: "ResponseError", reason: "Decode", code: "UND_ERR_SOCKET" })
        expect(ours).toEqual(platform)
      }))

    it.live("connection closed in the middle of a streamed body", () =>
      Effect.gen(function*() {
        const { ours, platform } = yield* bothFail(
          HttpClient.get(`${base}/reset-mid-body`).pipe(
            Effect.flatMap((response) => Stream.runDrain(response.stream))
          )
        )
        expect(ours).toEqual({ tag: "ResponseError", reason: "Decode", code: "UND_ERR_SOCKET" })
        expect(ours).toEqual(platform)
      }))

    it.live("a body shorter than its content-length", () =>
      Effect.gen(function*() {
        const { ours, platform } = yield* bothFail(
          HttpClient.get(`${base}/truncated`).pipe(Effect.flatMap((response) => response.arrayBuffer))
        )
        expect(ours).toEqual({ tag: "ResponseError", reason: "Decode", code: "UND_ERR_RES_CONTENT_LENGTH_MISMATCH" })
        expect(ours).toEqual(platform)
      }))

    it.live("Attempt over a body cut short reports how many of the declared bytes arrived", () =>
      Effect.gen(function*() {
        const client = yield* HttpClient.HttpClient
        for (const path of ["/reset-mid-body", "/truncated"]) {
          const failure = yield* Effect.flip(Attempt.send(client, HttpClientRequest.get(`${base}${path}`)))
          expect(failure).toMatchObject({ _tag: "BodyTruncated", receivedBytes: 10, expectedBytes: 100 })
          expect(failure.message).toBe(`response body truncated (10 of 100 bytes): 200 GET ${base}${path}`)
        }
      }).pipe(Effect.provide(sturdy)))

    it.live("Attempt: a Content-Length the body does not match is InvalidRequest, not a connection failure", () =>
      Effect.gen(function*() {
        const client = yield* HttpClient.HttpClient
        for (const declared of ["10", "2"]) {
          const request = HttpClientRequest.post(`${base}/echo`).pipe(
            HttpClientRequest.bodyText("hello"),
            HttpClientRequest.setHeader("content-length", declared)
          )
          const failure = yield* Effect.flip(Attempt.send(client, request))
          expect(failure).toMatchObject({ _tag: "InvalidRequest", reason: "InvalidHeader" })
          expect(HttpFailure.isTransient(failure)).toBe(false)
        }
      }).pipe(Effect.provide(sturdy)))

    it.live("unknown host (a failing DNS lookup, answered locally)", () =>
      Effect.gen(function*() {
        // the lookup fails the way getaddrinfo does, so no resolver outside this machine is asked
        const lookup: Net.LookupFunction = (hostname, _options, callback) => {
          const error: NodeJS.ErrnoException = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
            code: "ENOTFOUND"
          })
          callback(error, "", 4)
        }
        const program = HttpClient.get("http://sturdy-does-not-exist.invalid/")
        const ours = yield* program.pipe(
          Effect.flip,
          Effect.provide(UndiciHttpClient.layerWithDispatcher),
          Effect.provideService(UndiciHttpClient.Dispatcher, new Agent({ connect: { lookup } }))
        )
        const platform = yield* program.pipe(
          Effect.flip,
          Effect.provide(NodeHttpClient.layerUndiciWithoutDispatcher),
          Effect.provideService(NodeHttpClient.Dispatcher, new Agent({ connect: { lookup } }))
        )
        expect(shapeOf(ours)).toEqual({ tag: "RequestError", reason: "Transport", code: "ENOTFOUND" })
        expect(shapeOf(ours)).toEqual(shapeOf(platform))
      }))
  })

  describe("timeouts", () => {
    it.live("a headers timeout is a RequestError with UND_ERR_HEADERS_TIMEOUT", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(HttpClient.get(`${base}/hang?tag=hang-4`))
        expect(shapeOf(error)).toEqual({ tag: "RequestError", reason: "Transport", code: "UND_ERR_HEADERS_TIMEOUT" })
      }).pipe(Effect.provide(UndiciHttpClient.layer({ headersTimeout: "100 millis" }))))

    it.live("a body timeout is a ResponseError with UND_ERR_BODY_TIMEOUT", () =>
      Effect.gen(function*() {
        const error = yield* HttpClient.get(`${base}/headers-then-hang?tag=hang-5`).pipe(
          Effect.flatMap((response) => response.text),
          Effect.flip
        )
        expect(shapeOf(error)).toEqual({ tag: "ResponseError", reason: "Decode", code: "UND_ERR_BODY_TIMEOUT" })
      }).pipe(Effect.provide(UndiciHttpClient.layer({ bodyTimeout: "100 millis" }))))

    it.live("a dispatcher made elsewhere has its timeouts reported with the limit it set", () =>
      Effect.gen(function*() {
        // undici's timeout errors do not say the limit: it is read from the Agent, Pool or Client itself (before, the
        // failure said "timed out after 0"). undici checks these limits on a coarse timer: each case takes about 1 s.
        const cases = [
          ["Agent", new Agent({ headersTimeout: 50, bodyTimeout: 60 }), "/hang", ["Attempt", 50]],
          ["Pool", new Pool(base, { headersTimeout: 50, bodyTimeout: 60 }), "/headers-then-hang", ["BodyRead", 60]],
          ["Client", new Client(base, { headersTimeout: 50, bodyTimeout: 60 }), "/hang", ["Attempt", 50]],
          // one limit set: undici's default (5 minutes) stands for the other
          ["Agent, body only", new Agent({ bodyTimeout: 60 }), "/headers-then-hang", ["BodyRead", 60]],
          // a custom factory's limits are not known: none is reported rather than a wrong one
          [
            "custom factory",
            new Agent({ factory: (origin, options) => new Pool(origin, { ...options, bodyTimeout: 40 }) }),
            "/headers-then-hang",
            ["BodyRead", 0]
          ]
        ] as const
        let n = 0
        for (const [name, dispatcher, path, expected] of cases) {
          const failure = yield* Effect.flip(
            Attempt.send(UndiciHttpClient.make(dispatcher), HttpClientRequest.get(`${base}${path}?tag=own-${++n}`))
          )
          yield* Effect.promise(() => dispatcher.destroy())
          expect([name, failure._tag === "Timeout" ? [failure.phase, Duration.toMillis(failure.timeout)] : failure])
            .toEqual([name, expected])
        }
      }))

    it.live("make's headersTimeout and bodyTimeout apply to its client alone, and are the limits reported", () =>
      Effect.gen(function*() {
        // one Agent with long limits of its own; each client sends its limits with its requests (undici's per-request
        // `headersTimeout` / `bodyTimeout`). undici checks them on a coarse timer: each case takes about 1 s.
        const agent = new Agent({ headersTimeout: 600_000, bodyTimeout: 70 })
        const headers = UndiciHttpClient.make(agent, { headersTimeout: 50 })
        const body = UndiciHttpClient.make(agent, { bodyTimeout: "60 millis" })
        const outcome = (client: HttpClient.HttpClient, path: string) =>
          Effect.map(
            Effect.flip(Attempt.send(client, HttpClientRequest.get(`${base}${path}`))),
            (failure) => failure._tag === "Timeout" ? [failure.phase, Duration.toMillis(failure.timeout)] : failure
          )
        expect(yield* outcome(headers, "/hang?tag=own-headers")).toEqual(["Attempt", 50])
        expect(yield* outcome(body, "/headers-then-hang?tag=own-body")).toEqual(["BodyRead", 60])
        // the other limit stays the Agent's, and is reported so
        expect(yield* outcome(headers, "/headers-then-hang?tag=agent-body")).toEqual(["BodyRead", 70])
        expect(yield* Effect.flatMap(headers.get(`${base}/status?code=200`), (response) => response.text))
          .toBe("status 200")
        yield* Effect.promise(() => agent.destroy())
      }))

    it.live("a connect timeout can be configured", () =>
      Effect.gen(function*() {
        const text = yield* getText("/status?code=200")
        expect(text).toBe("status 200")
      }).pipe(Effect.provide(UndiciHttpClient.layer({ connectTimeout: "1 second", pipelining: 2 }))))

    it.effect("a pool setting out of range is refused when the dispatcher is made, not read as no limit", () =>
      Effect.gen(function*() {
        // Effect's Duration reads -1 and NaN as zero, and undici a zero connect timeout as none; a zero keep-alive
        // timeout or a negative pool size undici refuses only at every request, as an invalid header
        const cases: ReadonlyArray<readonly [UndiciHttpClient.DispatcherOptions, string]> = [
          [{ connectTimeout: -1 }, "connectTimeout (-1) must not be negative"],
          [{ connectTimeout: "-5 seconds" }, "connectTimeout (-5 seconds) must not be negative"],
          [{ headersTimeout: NaN }, "headersTimeout (NaN) is not a duration"],
          [{ bodyTimeout: [-1, 0] }, "bodyTimeout (-1,0) must not be negative"],
          [{ connectTimeout: "1e3 millis" as Duration.DurationInput }, "connectTimeout (1e3 millis) is not a duration"],
          [{ keepAliveTimeout: 0 }, "keepAliveTimeout (0) must be positive"],
          [{ keepAliveMaxTimeout: -5 }, "keepAliveMaxTimeout (-5) must not be negative"],
          [{ connections: -1 }, "connections (-1) must be an integer >= 0"],
          [{ pipelining: 1.5 }, "pipelining (1.5) must be an integer >= 0"]
        ]
        for (const [options, message] of cases) {
          const exit = yield* Effect.exit(Effect.scoped(UndiciHttpClient.makeDispatcher(options)))
          const defect = Exit.isFailure(exit) ? Cause.dieOption(exit.cause) : Option.none()
          expect(Option.getOrUndefined(defect)).toEqual(new RangeError(`UndiciHttpClient: ${message}`))
        }
        // zero timeouts keep undici's reading (none), and the defaults stand
        for (const options of [{ connectTimeout: 0, headersTimeout: 0, bodyTimeout: 0 }, {}]) {
          expect(Exit.isSuccess(yield* Effect.exit(Effect.scoped(UndiciHttpClient.makeDispatcher(options))))).toBe(true)
        }
        // the default connect timeout ends before Policy's default attempt timeout: a host that never answers the
        // handshake is then a ConnectTimeout (nothing sent, so even a POST is retried), not an attempt Timeout
        const agent = yield* Effect.scoped(UndiciHttpClient.makeDispatcher())
        const symbol = Object.getOwnPropertySymbols(agent).find((s) => s.description === "options")
        const agentOptions = symbol === undefined ? undefined : (agent as unknown as Record<symbol, unknown>)[symbol]
        expect(agentOptions).toMatchObject({ connectTimeout: 5_000 })
        expect(5_000).toBeLessThan(Duration.toMillis(Policy.defaults.attemptTimeout))
        // read from configuration, the same is a ConfigError naming the setting
        const configured = yield* Effect.exit(
          Effect.scoped(Layer.build(UndiciHttpClient.layerConfig(Config.succeed({ connectTimeout: -1 }))))
        )
        expect(Exit.isFailure(configured) && Cause.failureOption(configured.cause)).toEqual(
          Option.some(ConfigError.InvalidData([], "UndiciHttpClient: connectTimeout (-1) must not be negative"))
        )
      }))
  })

  describe("tracing", () => {
    it.live("propagates the current span to the server", () =>
      Effect.gen(function*() {
        const result = yield* echo(HttpClientRequest.get(`${base}/echo`)).pipe(Effect.withSpan("parent"))
        const parent = yield* Effect.makeSpan("unused")
        expect(parent).toBeDefined()
        expect(result.headers["traceparent"]).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
        expect(result.headers["b3"]).toMatch(/^[0-9a-f]{32}-[0-9a-f]{16}-1-[0-9a-f]{16}$/)
      }).pipe(Effect.provide(sturdy)))

    it.live("the trace id is the parent span's", () =>
      Effect.gen(function*() {
        const [traceId, result] = yield* Effect.gen(function*() {
          const span = yield* Effect.currentSpan
          return [span.traceId, yield* echo(HttpClientRequest.get(`${base}/echo`))] as const
        }).pipe(Effect.withSpan("parent"))
        expect(String(result.headers["traceparent"]).split("-")[1]).toBe(traceId)
      }).pipe(Effect.provide(sturdy)))

    it.live("with no tracer installed and no current span, no trace headers are sent", () =>
      Effect.gen(function*() {
        const result = yield* echo(HttpClientRequest.get(`${base}/echo`))
        expect(result.headers["traceparent"]).toBeUndefined()
        expect(result.headers["b3"]).toBeUndefined()
      }).pipe(Effect.provide(sturdy)))

    it.live("no trace headers when propagation is off or the tracer is disabled", () =>
      Effect.gen(function*() {
        const client = yield* HttpClient.HttpClient
        const noPropagation = yield* client.pipe(HttpClient.withTracerPropagation(false)).get(`${base}/echo`).pipe(
          Effect.flatMap(HttpClientResponse.schemaBodyJson(Echo))
        )
        expect(noPropagation.headers["traceparent"]).toBeUndefined()
        const disabled = yield* client.pipe(HttpClient.withTracerDisabledWhen(() => true)).get(`${base}/echo`).pipe(
          Effect.flatMap(HttpClientResponse.schemaBodyJson(Echo))
        )
        expect(disabled.headers["traceparent"]).toBeUndefined()
      }).pipe(Effect.provide(sturdy)))

    it.live("with an installed tracer, a client span is recorded with the request attributes", () =>
      Effect.gen(function*() {
        const { recording, spans } = yield* recordingTracer
        const result = yield* echo(HttpClientRequest.get(`${base}/echo`)).pipe(Effect.withTracer(recording))
        const client = spans.find((span) => span.name === "http.client GET")
        expect(client?.attributes.get("http.request.method")).toBe("GET")
        expect(client?.attributes.get("http.response.status_code")).toBe(200)
        expect(result.headers["traceparent"]).toBeDefined()
      }).pipe(Effect.provide(sturdy)))
  })

  it.live("layerConfig builds the pool from configuration", () =>
    Effect.gen(function*() {
      const before = log.connections
      yield* Effect.all(Array.from({ length: 6 }, () => getText("/stream?chunks=2")), { concurrency: 6 })
      expect(log.connections - before).toBe(3)
    }).pipe(
      Effect.provide(UndiciHttpClient.layerConfig(Config.map(Config.integer("HTTP_CONNECTIONS"), (connections) => ({
        connections
      })))),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["HTTP_CONNECTIONS", "3"]])))
    ))
})

// -----------------------------------------------------------------------------
// Deadlines enforced by the transport itself
// -----------------------------------------------------------------------------

const Hello = Schema.Struct({ hello: Schema.String })

/** Runs `effect`, which must fail, and returns its error with the real milliseconds it took. */
const flipTimed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const started = Date.now()
    const error = yield* Effect.flip(effect)
    return { error, elapsed: Date.now() - started }
  })

const expectTimeout = (
  error: unknown,
  expected: { readonly phase: HttpFailure.Timeout["phase"]; readonly millis: number }
) => {
  expect(error).toBeInstanceOf(HttpFailure.Timeout)
  const timeout = error as HttpFailure.Timeout
  expect(timeout.phase).toBe(expected.phase)
  expect(Duration.toMillis(timeout.timeout)).toBe(expected.millis)
}

/** The DeadlineExceeded inside a platform error's cause, if that is what it is. */
const deadlineCause = (error: HttpClientError.HttpClientError): Deadline.DeadlineExceeded | undefined =>
  error.cause instanceof Deadline.DeadlineExceeded ? error.cause : undefined

/** Waits `millis` of real time, whatever the fiber's Clock. */
const realWait = (millis: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, millis)))

describe("UndiciHttpClient enforces deadlines itself", () => {
  it.live("a schema whose decoding waits is still bounded by the attempt's timeout", () =>
    Effect.gen(function*() {
      const SlowHello = Schema.transformOrFail(Hello, Schema.String, {
        // far longer than the timeout, so that the bound below holds with room on a loaded machine
        decode: (value) => Effect.as(Effect.sleep("10 seconds"), value.hello),
        encode: (hello) => Effect.succeed({ hello })
      })
      const client = yield* HttpClient.HttpClient
      const { elapsed, error } = yield* flipTimed(
        Attempt.json(client, HttpClientRequest.get(`${base}/json`), SlowHello, { timeout: "100 millis" })
      )
      expectTimeout(error, { phase: "Attempt", millis: 100 })
      expect(elapsed).toBeLessThan(1500)
    }).pipe(Effect.provide(sturdy)))

  it.live("a limit longer than Node's timers can hold (30 days) is no limit, not one that fires at once", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const hello = yield* Attempt.json(client, HttpClientRequest.get(`${base}/json`), Hello, { timeout: "30 days" })
      expect(hello).toEqual({ hello: "world" })
      const response = yield* client.get(`${base}/json`).pipe(Deadline.establish("30 days"))
      expect(response.status).toBe(200)
    }).pipe(Effect.provide(sturdy)))

  it.live("Attempt.json with a 100 ms timeout against a silent server: Timeout(Attempt) at ~100 ms, request aborted", () =>
    Effect.gen(function*() {
      const closed = yield* serverSeesClose("deadline-a")
      const client = yield* HttpClient.HttpClient
      const { elapsed, error } = yield* flipTimed(
        Attempt.json(client, HttpClientRequest.get(`${base}/hang?tag=deadline-a`), Hello, { timeout: "100 millis" })
      )
      expectTimeout(error, { phase: "Attempt", millis: 100 })
      expect(elapsed).toBeGreaterThanOrEqual(80)
      expect(elapsed).toBeLessThan(1500)
      // the transport aborted the request: the server sees its connection close
      yield* Deferred.await(closed).pipe(Effect.timeout("2 seconds"))
      expect(log.closed).toContain("deadline-a")
    }).pipe(Effect.provide(sturdy)))

  it.live("requests under different limits each time out at their own, a later and shorter one first", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const started = Date.now()
      const order: Array<number> = []
      const attempt = (millis: number, delayMillis: number) =>
        Effect.sleep(Duration.millis(delayMillis)).pipe(
          Effect.zipRight(Effect.flip(
            Attempt.send(client, HttpClientRequest.get(`${base}/hang?tag=limits-${millis}`), {
              timeout: Duration.millis(millis)
            })
          )),
          Effect.tap(() => Effect.sync(() => order.push(millis))),
          Effect.map((error) => ({ error, at: Date.now() - started }))
        )
      // the 150 ms one starts last but is due first; a request that succeeds meanwhile leaves nothing due
      const [slow, middle, fast, ok] = yield* Effect.all([
        attempt(600, 0),
        attempt(350, 0),
        attempt(150, 30),
        Attempt.send(client, HttpClientRequest.get(`${base}/json`), { timeout: "1 second" })
      ], { concurrency: "unbounded" })
      expect(ok.status).toBe(200)
      expect(order).toEqual([150, 350, 600])
      expectTimeout(fast.error, { phase: "Attempt", millis: 150 })
      expectTimeout(middle.error, { phase: "Attempt", millis: 350 })
      expectTimeout(slow.error, { phase: "Attempt", millis: 600 })
      expect(fast.at).toBeGreaterThanOrEqual(150)
      // the shorter limit set the shared timer earlier: it did not wait for the 350 ms one
      expect(fast.at).toBeLessThan(middle.at - 100)
      expect(middle.at).toBeGreaterThanOrEqual(330)
      expect(slow.at).toBeGreaterThanOrEqual(580)
      expect(slow.at).toBeLessThan(3000)
    }).pipe(Effect.provide(UndiciHttpClient.layer({ connections: 8 }))))

  it.live("headers, then a stalled body: Timeout(Attempt) while the body is read, connection closed", () =>
    Effect.gen(function*() {
      const closed = yield* serverSeesClose("deadline-b")
      const client = yield* HttpClient.HttpClient
      const { elapsed, error } = yield* flipTimed(
        Attempt.send(client, HttpClientRequest.get(`${base}/headers-then-hang?tag=deadline-b`), {
          timeout: "100 millis"
        })
      )
      expectTimeout(error, { phase: "Attempt", millis: 100 })
      expect(elapsed).toBeGreaterThanOrEqual(80)
      expect(elapsed).toBeLessThan(1500)
      yield* Deferred.await(closed).pipe(Effect.timeout("2 seconds"))
    }).pipe(Effect.provide(sturdy)))

  it.live("a chunked body that stalls: Timeout(Attempt)", () =>
    Effect.gen(function*() {
      const closed = yield* serverSeesClose("deadline-chunked")
      const client = yield* HttpClient.HttpClient
      const { elapsed, error } = yield* flipTimed(
        Attempt.send(client, HttpClientRequest.get(`${base}/chunked-then-hang?tag=deadline-chunked`), {
          timeout: "100 millis"
        })
      )
      expectTimeout(error, { phase: "Attempt", millis: 100 })
      expect(elapsed).toBeLessThan(1500)
      yield* Deferred.await(closed).pipe(Effect.timeout("2 seconds"))
    }).pipe(Effect.provide(sturdy)))

  it.live("an error status whose body stalls is a Timeout(Attempt), not a ServerError with a cut excerpt", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const { elapsed, error } = yield* flipTimed(
        Attempt.send(client, HttpClientRequest.get(`${base}/error-then-hang?tag=deadline-503`), {
          timeout: "100 millis"
        })
      )
      expectTimeout(error, { phase: "Attempt", millis: 100 })
      expect(elapsed).toBeLessThan(1500)
    }).pipe(Effect.provide(sturdy)))

  it.live("an established deadline reaches Attempt as Timeout(Deadline) with the deadline's duration", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const { error } = yield* flipTimed(
        Attempt.send(client, HttpClientRequest.get(`${base}/hang?tag=deadline-established`), {
          timeout: "5 seconds"
        }).pipe(Deadline.establish("100 millis"))
      )
      expectTimeout(error, { phase: "Deadline", millis: 100 })
    }).pipe(Effect.provide(sturdy)))

  it.live("no timer of Effect's is needed: an uninterruptible attempt still ends at its timeout", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const { elapsed, error } = yield* flipTimed(
        Attempt.send(client, HttpClientRequest.get(`${base}/hang?tag=deadline-u`), { timeout: "100 millis" }).pipe(
          Effect.uninterruptible,
          // a safety net: an attempt that relied on a racing timer could not be interrupted and would hang here
          Effect.disconnect,
          Effect.timeoutFail({ duration: "1500 millis", onTimeout: () => "hung" as const })
        )
      )
      expectTimeout(error, { phase: "Attempt", millis: 100 })
      expect(elapsed).toBeLessThan(1500)
    }).pipe(Effect.provide(sturdy)))

  it.live("Deadline.establish around a raw client.get: RequestError caused by DeadlineExceeded(Deadline)", () =>
    Effect.gen(function*() {
      const closed = yield* serverSeesClose("deadline-c")
      const client = yield* HttpClient.HttpClient
      const { elapsed, error } = yield* flipTimed(
        client.get(`${base}/hang?tag=deadline-c`).pipe(Deadline.establish("100 millis"))
      )
      expect(error._tag).toBe("RequestError")
      expect(error.reason).toBe("Transport")
      expect(deadlineCause(error)).toStrictEqual(
        new Deadline.DeadlineExceeded({ reason: "Deadline", timeout: Duration.millis(100) })
      )
      expect(elapsed).toBeGreaterThanOrEqual(80)
      expect(elapsed).toBeLessThan(1500)
      yield* Deferred.await(closed).pipe(Effect.timeout("2 seconds"))
    }).pipe(Effect.provide(sturdy)))

  it.live("an established attempt cap: RequestError caused by DeadlineExceeded(Attempt)", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const { error } = yield* flipTimed(
        client.get(`${base}/hang?tag=deadline-cap`).pipe(
          Deadline.establish("1 minute", { attemptTimeout: "100 millis" })
        )
      )
      expect(error._tag).toBe("RequestError")
      expect(deadlineCause(error)).toStrictEqual(
        new Deadline.DeadlineExceeded({ reason: "Attempt", timeout: Duration.millis(100) })
      )
    }).pipe(Effect.provide(sturdy)))

  it.live("the deadline passing while the body is read: ResponseError caused by DeadlineExceeded", () =>
    Effect.gen(function*() {
      const closed = yield* serverSeesClose("deadline-body")
      const client = yield* HttpClient.HttpClient
      const { elapsed, error } = yield* flipTimed(
        client.get(`${base}/headers-then-hang?tag=deadline-body`).pipe(
          Effect.flatMap((response) => response.text),
          Deadline.establish("100 millis")
        )
      )
      expect(error._tag).toBe("ResponseError")
      expect(deadlineCause(error)).toStrictEqual(
        new Deadline.DeadlineExceeded({ reason: "Deadline", timeout: Duration.millis(100) })
      )
      expect(elapsed).toBeLessThan(1500)
      yield* Deferred.await(closed).pipe(Effect.timeout("2 seconds"))
    }).pipe(Effect.provide(sturdy)))

  it.live("a streamed body is cut by the deadline the same way", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const { error } = yield* flipTimed(
        client.get(`${base}/headers-then-hang?tag=deadline-stream`).pipe(
          Effect.flatMap((response) => Stream.runDrain(response.stream)),
          Deadline.establish("100 millis")
        )
      )
      expect(error._tag).toBe("ResponseError")
      expect(deadlineCause(error)?.reason).toBe("Deadline")
    }).pipe(Effect.provide(sturdy)))

  it.live("a deadline already passed at dispatch fails at once, without waiting for the server", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const { elapsed, error } = yield* flipTimed(
        realWait(20).pipe(
          Effect.zipRight(client.get(`${base}/hang?tag=deadline-late`)),
          Deadline.establish("5 millis")
        )
      )
      expect(deadlineCause(error)?.reason).toBe("Deadline")
      // never dispatched, so never written
      expect(error).toMatchObject({ requestSent: false })
      expect(elapsed).toBeLessThan(1000)
    }).pipe(Effect.provide(sturdy)))

  it.live("a request still waiting for a connection when its attempt times out was never sent: requestSent false", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const received = yield* serverReceives("unsent-first")
      const first = yield* Effect.fork(
        Effect.flip(
          Attempt.send(client, HttpClientRequest.get(`${base}/hang?tag=unsent-first`), { timeout: "2 seconds" })
        )
      )
      yield* Deferred.await(received)
      // the pool's only connection is busy: this one waits for it, and its attempt times out there
      const queued = yield* Effect.flip(
        Attempt.send(client, HttpClientRequest.post(`${base}/echo?tag=unsent-queued`), { timeout: "100 millis" })
      )
      expectTimeout(queued, { phase: "Attempt", millis: 100 })
      expect(queued).toMatchObject({ requestSent: false })
      expect(HttpFailure.mayHaveReachedServer(queued)).toBe(false)
      expect(queued.message).toMatch(/^attempt timed out after 100ms before the request was sent: POST /)
      // the one on the connection was written: it may have reached the server
      yield* Fiber.interrupt(first)
      const written = yield* Effect.flip(
        Attempt.send(client, HttpClientRequest.get(`${base}/hang?tag=unsent-written`), { timeout: "100 millis" })
      )
      expectTimeout(written, { phase: "Attempt", millis: 100 })
      expect("requestSent" in written).toBe(false)
      expect(HttpFailure.mayHaveReachedServer(written)).toBe(true)
    }).pipe(Effect.provide(UndiciHttpClient.layer({ connections: 1 }))))

  it.live("a connection still opening when the attempt times out (a TLS handshake never answered): requestSent false", () =>
    Effect.gen(function*() {
      const silent = yield* silentListener()
      const client = yield* HttpClient.HttpClient
      // the connect timeout (5 s) is far off: the attempt's limit fires during the handshake
      const error = yield* Effect.flip(
        Attempt.send(client, HttpClientRequest.post(`https://127.0.0.1:${silent}/orders`), { timeout: "100 millis" })
      )
      expectTimeout(error, { phase: "Attempt", millis: 100 })
      expect(error).toMatchObject({ requestSent: false })
      // a deadline that passes there says the same
      const deadline = yield* Effect.flip(
        client.post(`https://127.0.0.1:${silent}/orders`).pipe(Deadline.establish("100 millis"))
      )
      expect(deadlineCause(deadline)?.reason).toBe("Deadline")
      expect(deadline).toMatchObject({ _tag: "RequestError", requestSent: false })
      // the mark is the request's own, not enumerable: the error reads and logs as before
      expect(Object.keys(deadline)).not.toContain("requestSent")
    }).pipe(Effect.provide(sturdy), Effect.scoped))

  it.live("a connection reset during its TLS handshake never sent the request: ConnectionError Reset, requestSent false", () =>
    Effect.gen(function*() {
      const resetting = yield* silentListener((socket) => socket.resetAndDestroy())
      const client = yield* HttpClient.HttpClient
      const error = yield* Effect.flip(
        Attempt.send(client, HttpClientRequest.post(`https://127.0.0.1:${resetting}/orders`), { timeout: "5 seconds" })
      )
      expect(error).toMatchObject({ _tag: "ConnectionError", reason: "Reset", requestSent: false })
      expect(HttpFailure.mayHaveReachedServer(error)).toBe(false)
      // the server's own reset after reading the request: written, so it may have reached it
      const afterWrite = yield* Effect.flip(
        Attempt.send(client, HttpClientRequest.post(`${base}/reset-before-headers?tag=unsent-reset-after`), {
          timeout: "5 seconds"
        })
      )
      expect(afterWrite._tag).toBe("ConnectionError")
      expect("requestSent" in afterWrite).toBe(false)
      expect(HttpFailure.mayHaveReachedServer(afterWrite)).toBe(true)
    }).pipe(Effect.provide(sturdy), Effect.scoped))

  it.live("Policy retries a POST whose attempts time out before they are sent, and not one that was sent", () =>
    Effect.gen(function*() {
      const silent = yield* silentListener()
      const policy = yield* Policy.make({
        retry: { maxAttempts: 3, baseDelay: "1 millis", budget: false },
        attemptTimeout: "50 millis",
        circuitBreaker: false
      })
      const client = yield* HttpClient.HttpClient
      const post = (url: string) =>
        Policy.send(client, HttpClientRequest.post(url)).pipe(Effect.provideService(Policy.Policy, policy))
      const unsent = yield* Effect.flip(post(`https://127.0.0.1:${silent}/orders`))
      expect(unsent).toMatchObject({ _tag: "Timeout", phase: "Attempt", requestSent: false, attempts: 3 })
      const sent = yield* Effect.flip(post(`${base}/hang?tag=unsent-policy`))
      expect(sent).toMatchObject({ _tag: "Timeout", phase: "Attempt", attempts: 1 })
    }).pipe(Effect.provide(sturdy), Effect.scoped))

  it.live("a timer raced around the transport (Policy.run with a send of its own) also learns the request was not sent", () =>
    Effect.gen(function*() {
      const silent = yield* silentListener()
      const policy = yield* Policy.make({ retry: false, attemptTimeout: "100 millis", circuitBreaker: false })
      const client = yield* HttpClient.HttpClient
      // `run` with a send of its own: Policy arms its own timer, and the transport reports its progress to it
      const unsent = yield* Effect.flip(
        policy.run(
          HttpClientRequest.post(`https://127.0.0.1:${silent}/orders`),
          (request) => Effect.catchAll(client.execute(request), Attempt.fromClientError)
        )
      )
      expect(unsent).toMatchObject({ _tag: "Timeout", phase: "Attempt", requestSent: false })
      const sent = yield* Effect.flip(
        policy.run(
          HttpClientRequest.post(`${base}/hang?tag=unsent-run`),
          (request) => Effect.catchAll(client.execute(request), Attempt.fromClientError)
        )
      )
      expect(sent).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect("requestSent" in sent).toBe(false)
      // one attempt, two requests: the first was written, so the attempt may have reached a server
      const both = yield* Effect.flip(
        policy.run(HttpClientRequest.post(`https://127.0.0.1:${silent}/orders`), (request) =>
          Effect.catchAll(
            Effect.zipRight(client.execute(HttpClientRequest.get(`${base}/json`)), client.execute(request)),
            Attempt.fromClientError
          ))
      )
      expect(both).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect("requestSent" in both).toBe(false)
    }).pipe(Effect.provide(sturdy), Effect.scoped))

  it.effect("under TestClock the attempt's timer fires during a TLS handshake never answered: requestSent false", () =>
    Effect.gen(function*() {
      const silent = yield* silentListener()
      const client = yield* HttpClient.HttpClient
      const fiber = yield* Effect.fork(
        Effect.flip(
          Attempt.send(client, HttpClientRequest.post(`https://127.0.0.1:${silent}/orders`), { timeout: "1 second" })
        )
      )
      // the request is dispatched (a connection starts opening) before the virtual second passes
      yield* Effect.yieldNow()
      yield* TestClock.adjust("1 second")
      const error = yield* Fiber.join(fiber)
      expect(error).toMatchObject({ _tag: "Timeout", phase: "Attempt", requestSent: false })
    }).pipe(Effect.provide(sturdy), Effect.scoped))

  it.live("a fast server answers well within the deadline and the limit does not linger", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const hello = yield* Attempt.json(client, HttpClientRequest.get(`${base}/json`), Hello, {
        timeout: "100 millis"
      })
      expect(hello).toEqual({ hello: "world" })
      // the connection is reused after the timer was cleared: waiting past the timeout fails nothing
      yield* realWait(150)
      const again = yield* client.get(`${base}/json`).pipe(
        Effect.flatMap((response) => response.json),
        Deadline.establish("100 millis")
      )
      expect(again).toEqual({ hello: "world" })
    }).pipe(Effect.provide(sturdy)))

  it.live("a request step that waits (mapRequestEffect) is bounded by a timer instead: still Timeout(Attempt)", () =>
    Effect.gen(function*() {
      const client = (yield* HttpClient.HttpClient).pipe(
        HttpClient.mapRequestEffect((request) => Effect.as(Effect.yieldNow(), request))
      )
      const { elapsed, error } = yield* flipTimed(
        Attempt.send(client, HttpClientRequest.get(`${base}/hang?tag=deadline-effect`), { timeout: "100 millis" })
      )
      expectTimeout(error, { phase: "Attempt", millis: 100 })
      expect(elapsed).toBeLessThan(1500)
    }).pipe(Effect.provide(sturdy)))

  it.live("Deadline.isEnforcedBy: true for this layer's client and mapRequest of it, false for layerUndici's", () =>
    Effect.gen(function*() {
      const ours = yield* HttpClient.HttpClient.pipe(Effect.provide(sturdy))
      expect(Deadline.isEnforcedBy(ours)).toBe(true)
      expect(Deadline.isEnforcedBy(HttpClient.mapRequest(ours, HttpClientRequest.setHeader("x-a", "1")))).toBe(
        true
      )
      expect(
        Deadline.isEnforcedBy(HttpClient.mapRequestEffect(ours, (request) => Effect.succeed(request)))
      ).toBe(true)
      const withDispatcher = yield* HttpClient.HttpClient.pipe(
        Effect.provide(UndiciHttpClient.layerWithDispatcher),
        Effect.provideService(UndiciHttpClient.Dispatcher, new Agent())
      )
      expect(Deadline.isEnforcedBy(withDispatcher)).toBe(true)
      const platform = yield* HttpClient.HttpClient.pipe(Effect.provide(NodeHttpClient.layerUndici))
      expect(Deadline.isEnforcedBy(platform)).toBe(false)
    }))

  // TestClock: the transport's real-time timer would disagree with the clock, so the attempt races an Effect timer
  it.effect("under TestClock an attempt with a timeout still succeeds against a fast server", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const hello = yield* Attempt.json(client, HttpClientRequest.get(`${base}/json`), Hello, { timeout: "1 second" })
      expect(hello).toEqual({ hello: "world" })
    }).pipe(Effect.provide(sturdy)))

  it.effect("under TestClock the attempt's timeout fires when the TestClock passes it, not in real time", () =>
    Effect.gen(function*() {
      const received = yield* serverReceives("deadline-e")
      const closed = yield* serverSeesClose("deadline-e")
      const client = yield* HttpClient.HttpClient
      const fiber = yield* Effect.fork(
        Attempt.send(client, HttpClientRequest.get(`${base}/hang?tag=deadline-e`), { timeout: "100 millis" })
      )
      yield* Deferred.await(received)
      // real time passes the timeout; virtual time does not
      yield* realWait(200)
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* TestClock.adjust("100 millis")
      expectTimeout(yield* Effect.flip(Fiber.join(fiber)), { phase: "Attempt", millis: 100 })
      yield* Deferred.await(closed)
    }).pipe(Effect.provide(sturdy)))

  it.effect("under TestClock an established deadline is not the transport's to enforce", () =>
    Effect.gen(function*() {
      const received = yield* serverReceives("deadline-f")
      const closed = yield* serverSeesClose("deadline-f")
      const client = yield* HttpClient.HttpClient
      const fiber = yield* Effect.fork(client.get(`${base}/hang?tag=deadline-f`).pipe(Deadline.establish("50 millis")))
      yield* Deferred.await(received)
      yield* realWait(150)
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* Fiber.interrupt(fiber)
      yield* Deferred.await(closed)
    }).pipe(Effect.provide(sturdy)))

  // `/held` sends its head and half its body at once, then the rest when the test says: the body outlives the limit
  const heldBodyUnder = (tag: string, limit: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>) =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const response = yield* client.get(`${base}/held?tag=${tag}`).pipe(limit)
      const text = yield* Effect.fork(response.text)
      // well past the 100 ms limit, with the body still arriving
      yield* realWait(300)
      yield* releaseHeld(tag)
      return yield* Effect.either(Fiber.join(text))
    })

  it.live("under Deadline.headOnly the limit ends at the head: a body still arriving past it completes", () =>
    Effect.gen(function*() {
      const underDeadline = yield* heldBodyUnder(
        "head-only-deadline",
        (self) => self.pipe(Deadline.headOnly, Deadline.establish("100 millis"))
      )
      expect(underDeadline).toStrictEqual(Either.right("{\"a\":1}"))
      const underAttemptCap = yield* heldBodyUnder(
        "head-only-attempt",
        (self) => self.pipe(Deadline.headOnly, Deadline.establish("1 minute", { attemptTimeout: "100 millis" }))
      )
      expect(underAttemptCap).toStrictEqual(Either.right("{\"a\":1}"))
      // the flag is the requests' under it only: one sent after it is held to its limit for its whole body again
      const after = yield* heldBodyUnder("head-only-after", Deadline.establish("100 millis"))
      expect(Either.isLeft(after) && deadlineCause(after.left)).toStrictEqual(
        new Deadline.DeadlineExceeded({ reason: "Deadline", timeout: Duration.millis(100) })
      )
    }).pipe(Effect.provide(sturdy)))

  it.live("without Deadline.headOnly the same body is cut by the limit: ResponseError caused by DeadlineExceeded", () =>
    Effect.gen(function*() {
      const underDeadline = yield* heldBodyUnder("whole-deadline", Deadline.establish("100 millis"))
      expect(Either.isLeft(underDeadline) && underDeadline.left._tag).toBe("ResponseError")
      expect(Either.isLeft(underDeadline) && deadlineCause(underDeadline.left)).toStrictEqual(
        new Deadline.DeadlineExceeded({ reason: "Deadline", timeout: Duration.millis(100) })
      )
      const underAttemptCap = yield* heldBodyUnder(
        "whole-attempt",
        Deadline.establish("1 minute", { attemptTimeout: "100 millis" })
      )
      expect(Either.isLeft(underAttemptCap) && deadlineCause(underAttemptCap.left)).toStrictEqual(
        new Deadline.DeadlineExceeded({ reason: "Attempt", timeout: Duration.millis(100) })
      )
    }).pipe(Effect.provide(sturdy)))

  it.live("under Deadline.headOnly a head that does not come within the limit fails as without it", () =>
    Effect.gen(function*() {
      // each on a client of its own, as the other tests here send one aborted request a client
      const failed = (tag: string, headOnly: boolean) =>
        Effect.gen(function*() {
          const client = yield* HttpClient.HttpClient
          const closed = yield* serverSeesClose(tag)
          const request = client.get(`${base}/hang?tag=${tag}`)
          const { elapsed, error } = yield* flipTimed(
            (headOnly ? Deadline.headOnly(request) : request).pipe(Deadline.establish("100 millis"))
          )
          yield* Deferred.await(closed).pipe(Effect.timeout("2 seconds"))
          expect(elapsed).toBeGreaterThanOrEqual(80)
          expect(elapsed).toBeLessThan(1500)
          return { tag: error._tag, reason: error.reason, cause: deadlineCause(error), keys: Object.keys(error) }
        }).pipe(Effect.provide(sturdy))
      const headOnly = yield* failed("head-only-hang", true)
      expect(headOnly).toStrictEqual(yield* failed("whole-hang", false))
      expect(headOnly.cause).toStrictEqual(
        new Deadline.DeadlineExceeded({ reason: "Deadline", timeout: Duration.millis(100) })
      )
      expect(headOnly.tag).toBe("RequestError")
    }))
})

// -----------------------------------------------------------------------------
// Several readers of one body at once
// -----------------------------------------------------------------------------

/** Awaits `fibers`; the timeout guards against a reader left waiting forever, it is not a timing assertion. */
const awaitAll = <A, E>(fibers: ReadonlyArray<Fiber.Fiber<A, E>>) =>
  Effect.all(fibers.map((fiber) => Fiber.await(fiber))).pipe(
    Effect.timeoutFail({ duration: "3 seconds", onTimeout: () => "a reader was left waiting forever" })
  )

/** A one-connection pool: a request aborted by the client shows as a second connection for the next request. */
const oneConnection = UndiciHttpClient.layer({ connections: 1, keepAliveTimeout: "5 seconds" })

/** The response of a `/held` request (its body still arriving) with `readers` forked on it, each seeing the last. */
const forkReaders = <A>(
  tag: string,
  readers: ReadonlyArray<(response: HttpClientResponse.HttpClientResponse) => Effect.Effect<A, unknown>>
) =>
  Effect.gen(function*() {
    const response = yield* HttpClient.get(`${base}/held?tag=${tag}`)
    const fibers: Array<Fiber.RuntimeFiber<A, unknown>> = []
    for (const read of readers) {
      fibers.push(yield* Effect.fork(read(response)))
      yield* Effect.yieldNow()
    }
    return { response, fibers }
  })

describe("UndiciHttpClient: several readers of one body at once", () => {
  it.live("text and json forked while the body arrives: both get the whole body, the connection is kept", () =>
    Effect.gen(function*() {
      const before = log.connections
      const { fibers } = yield* forkReaders<unknown>("readers-2", [(r) => r.text, (r) => r.json])
      yield* releaseHeld("readers-2")
      const exits = yield* awaitAll(fibers)
      expect(exits).toStrictEqual([Exit.succeed("{\"a\":1}"), Exit.succeed({ a: 1 })])
      expect(yield* getText("/status?code=200")).toBe("status 200")
      expect(log.connections - before).toBe(1)
    }).pipe(Effect.provide(oneConnection)))

  it.live("three readers at once (text, json, arrayBuffer) all get the same bytes", () =>
    Effect.gen(function*() {
      const { fibers } = yield* forkReaders<unknown>("readers-3", [
        (r) => r.text,
        (r) => r.json,
        (r) => Effect.map(r.arrayBuffer, (buffer) => new TextDecoder().decode(buffer))
      ])
      yield* releaseHeld("readers-3")
      const exits = yield* awaitAll(fibers)
      expect(exits).toStrictEqual([Exit.succeed("{\"a\":1}"), Exit.succeed({ a: 1 }), Exit.succeed("{\"a\":1}")])
    }).pipe(Effect.provide(sturdy)))

  for (const interrupted of [0, 1, 2]) {
    it.live(`interrupting reader ${interrupted + 1} of three: the others get the body, the request is not aborted`, () =>
      Effect.gen(function*() {
        const tag = `readers-interrupt-${interrupted}`
        const before = log.connections
        const { fibers } = yield* forkReaders<string>(tag, [(r) => r.text, (r) => r.text, (r) => r.text])
        yield* Fiber.interrupt(fibers[interrupted])
        yield* releaseHeld(tag)
        const exits = yield* awaitAll(fibers.filter((_, i) => i !== interrupted))
        expect(exits).toStrictEqual([Exit.succeed("{\"a\":1}"), Exit.succeed("{\"a\":1}")])
        expect(yield* getText("/status?code=200")).toBe("status 200")
        expect(log.connections - before).toBe(1)
        expect(log.closed).not.toContain(tag)
      }).pipe(Effect.provide(oneConnection)))
  }

  it.live("interrupting every reader aborts the request: the server sees its connection close", () =>
    Effect.gen(function*() {
      const closed = yield* serverSeesClose("readers-all-interrupted")
      const { fibers } = yield* forkReaders<unknown>("readers-all-interrupted", [(r) => r.text, (r) => r.json])
      yield* Fiber.interrupt(fibers[1])
      yield* Fiber.interrupt(fibers[0])
      yield* Deferred.await(closed).pipe(Effect.timeout("2 seconds"))
      expect(log.closed).toContain("readers-all-interrupted")
    }).pipe(Effect.provide(sturdy)))

  it.live("a body timeout reaches every waiting reader as a ResponseError with UND_ERR_BODY_TIMEOUT", () =>
    Effect.gen(function*() {
      const { fibers } = yield* forkReaders<unknown>("readers-body-timeout", [(r) => r.text, (r) => r.json])
      const exits = yield* awaitAll(fibers)
      for (const exit of exits) {
        expect(Exit.isFailure(exit)).toBe(true)
        const error = Option.getOrThrow(Exit.causeOption(exit).pipe(Option.flatMap(Cause.failureOption)))
        expect(shapeOf(error as HttpClientError.HttpClientError)).toEqual({
          tag: "ResponseError",
          reason: "Decode",
          code: "UND_ERR_BODY_TIMEOUT"
        })
      }
      yield* releaseHeld("readers-body-timeout")
    }).pipe(Effect.provide(UndiciHttpClient.layer({ bodyTimeout: "100 millis" }))))

  it.live("a deadline passing while two readers wait fails both with a ResponseError caused by DeadlineExceeded", () =>
    Effect.gen(function*() {
      const exits = yield* Effect.flatMap(
        forkReaders<unknown>("readers-deadline", [(r) => r.text, (r) => r.json]),
        ({ fibers }) => awaitAll(fibers)
      ).pipe(Deadline.establish("100 millis"))
      for (const exit of exits) {
        const error = Option.getOrThrow(Exit.causeOption(exit).pipe(Option.flatMap(Cause.failureOption)))
        expect(error).toMatchObject({ _tag: "ResponseError" })
        expect(deadlineCause(error as HttpClientError.HttpClientError)?.reason).toBe("Deadline")
      }
      yield* releaseHeld("readers-deadline")
    }).pipe(Effect.provide(sturdy)))

  it.live("a stream asked for while a whole-body read waits fails typed; the read still gets the body", () =>
    Effect.gen(function*() {
      const { fibers, response } = yield* forkReaders<string>("readers-stream-after", [(r) => r.text])
      const error = yield* Effect.flip(Stream.runCollect(response.stream))
      expect(error).toMatchObject({ _tag: "ResponseError", reason: "Decode" })
      yield* releaseHeld("readers-stream-after")
      expect(yield* awaitAll(fibers)).toStrictEqual([Exit.succeed("{\"a\":1}")])
    }).pipe(Effect.provide(sturdy)))

  it.live("text asked for while a stream is read fails typed; the stream still gets every byte", () =>
    Effect.gen(function*() {
      const firstChunk = yield* Deferred.make<void>()
      const { fibers, response } = yield* forkReaders<string>("readers-text-after", [
        (r) =>
          r.stream.pipe(
            Stream.tap(() => Deferred.succeed(firstChunk, undefined)),
            Stream.decodeText(),
            Stream.mkString
          )
      ])
      yield* Deferred.await(firstChunk)
      const error = yield* Effect.flip(response.text).pipe(Effect.timeout("3 seconds"))
      expect(error).toMatchObject({ _tag: "ResponseError", reason: "Decode" })
      yield* releaseHeld("readers-text-after")
      expect(yield* awaitAll(fibers)).toStrictEqual([Exit.succeed("{\"a\":1}")])
    }).pipe(Effect.provide(sturdy)))
})

describe("UndiciHttpClient: fractional timeouts", () => {
  it.live("a timeout with a fraction of a millisecond is rounded up to whole ones, not a transport error per request", () =>
    Effect.gen(function*() {
      for (const timeout of ["2000.5 millis", 1000.25, "1500500 micros"] as const) {
        const dispatcher = yield* UndiciHttpClient.makeDispatcher({
          headersTimeout: timeout,
          bodyTimeout: timeout,
          connectTimeout: timeout,
          keepAliveTimeout: timeout
        })
        const response = yield* UndiciHttpClient.make(dispatcher).execute(HttpClientRequest.get(`${base}/echo`))
        expect(response.status, String(timeout)).toBe(200)
      }
    }).pipe(Effect.scoped))
})

describe("UndiciHttpClient: a TLS alert after the client's side of the handshake", () => {
  const fixture = (name: string) => Fs.readFileSync(Path.join(import.meta.dirname, "fixtures", name))

  it.live("a server requiring a client certificate that gets none (TLS 1.3 alert) is a Tls failure, not a reset", () =>
    Effect.gen(function*() {
      let handled = 0
      const server = Https.createServer({
        cert: fixture("server-cert.pem"),
        key: fixture("server-key.pem"),
        ca: fixture("ca-cert.pem"),
        requestCert: true,
        rejectUnauthorized: true
      }, (_, response) => {
        handled++
        response.end("ok")
      })
      server.on("tlsClientError", () => {})
      yield* Effect.acquireRelease(
        Effect.promise(() => new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))),
        () => Effect.promise(() => new Promise<void>((resolve) => server.close(() => resolve())))
      )
      const url = `https://127.0.0.1:${(server.address() as Net.AddressInfo).port}/`
      const client = UndiciHttpClient.make(
        yield* UndiciHttpClient.makeDispatcher({ tls: { ca: fixture("ca-cert.pem") } })
      )
      // the alert comes once undici has written the request: undici alone reports the close after it, "other side
      // closed", which read as a reset that may have reached the server
      const error = yield* Effect.flip(Attempt.send(client, HttpClientRequest.get(url), { timeout: "5 seconds" }))
      expect(error).toMatchObject({ _tag: "ConnectionError", reason: "Tls" })
      expect((error as { readonly cause?: { readonly code?: unknown } }).cause?.code).toBe(
        "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED"
      )
      expect(HttpFailure.mayHaveReachedServer(error)).toBe(false)
      expect(handled).toBe(0)
    }).pipe(Effect.scoped))
})

describe("UndiciHttpClient proxy and socketPath options", () => {
  const defectOf = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>) =>
    Effect.map(Effect.exit(Effect.scoped(effect)), (exit) => Exit.isFailure(exit) ? Cause.squash(exit.cause) : exit)

  it.effect("a proxy token that is no header value (NUL, a control, beyond Latin-1, blank) is a RangeError naming proxy.token", () =>
    Effect.gen(function*() {
      for (const token of ["Basic a\u0000b", "Bearer \u0001", "Bearer \u20ac", "Bearer \u2028x", " ", "\t"]) {
        for (const given of [token, Redacted.make(token)]) {
          const defect = yield* defectOf(
            UndiciHttpClient.makeDispatcher({ proxy: { url: "http://proxy.test:3128", token: given } })
          )
          expect(defect, JSON.stringify(token)).toBeInstanceOf(RangeError)
          expect((defect as Error).message).toContain("proxy.token")
          expect((defect as Error).message).not.toContain(token.trim() === "" ? "Basic" : token)
        }
      }
      // Latin-1 beyond ASCII is a valid header value (obs-text)
      const latin1 = yield* defectOf(
        UndiciHttpClient.makeDispatcher({ proxy: { url: "http://proxy.test:3128", token: "Bearer caf\u00e9" } })
      )
      expect(Exit.isExit(latin1) && Exit.isSuccess(latin1)).toBe(true)
    }))

  it.effect("a proxy URL with port 0 is a RangeError naming proxy (not a refused connection at every request)", () =>
    Effect.gen(function*() {
      for (
        const proxy of [
          "http://proxy.test:0",
          "https://user:secret@proxy.test:00",
          { url: "http://proxy.test:0" },
          new URL("http://proxy.test:0")
        ]
      ) {
        const defect = yield* defectOf(UndiciHttpClient.makeDispatcher({ proxy }))
        expect(defect, String(proxy)).toBeInstanceOf(RangeError)
        expect((defect as Error).message).toMatch(/UndiciHttpClient: proxy(\.url)? has port 0/)
        expect((defect as Error).message).not.toContain("secret")
      }
    }))

  it.effect("a socketPath longer than a socket address holds is a RangeError naming it; the longest one is taken", () =>
    Effect.gen(function*() {
      const path = (bytes: number) => `/tmp/${"s".repeat(bytes - 5)}`
      const tooLong = process.platform === "darwin" ? 104 : 108
      for (const socketPath of [path(tooLong), path(200), `/tmp/${"é".repeat(60)}`]) {
        const defect = yield* defectOf(UndiciHttpClient.makeDispatcher({ socketPath }))
        expect(defect, socketPath).toBeInstanceOf(RangeError)
        expect((defect as Error).message).toMatch(
          /UndiciHttpClient: socketPath \(\d+ bytes\) must be at most 10[37] bytes/
        )
      }
      const longest = yield* defectOf(UndiciHttpClient.makeDispatcher({ socketPath: path(tooLong - 1) }))
      expect(Exit.isExit(longest) && Exit.isSuccess(longest)).toBe(true)
      // the limit of each platform: sockaddr_un.sun_path less its NUL; none for Windows' named pipes
      expect(() => internal.toSocketPath(path(104), "darwin")).toThrow(/at most 103 bytes on darwin/)
      expect(internal.toSocketPath(path(103), "freebsd")).toBe(path(103))
      expect(() => internal.toSocketPath(path(108), "linux")).toThrow(/at most 107 bytes on linux/)
      expect(internal.toSocketPath(`\\\\.\\pipe\\${"p".repeat(200)}`, "win32")).toHaveLength(209)
    }))
})
