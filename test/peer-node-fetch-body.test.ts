/**
 * node-fetch's transport, body and decoding cases, ported to `@sturdy/node`'s undici transport, `Attempt` and
 * `SturdyClient` against real node:http (and, for hand-written chunked framing, raw TCP) servers on 127.0.0.1.
 * Source: github.com/node-fetch/node-fetch at 8b3320d2a7c07bce4afc6b2bf6c3bbddda85b01f, `test/main.js` (the routes
 * of `test/utils/server.js` re-created below, the server's waits of 100 ms to 1 s shortened to 10 to 20 ms or, where
 * a timeout ends the call first, left unanswered), the three BOM cases of `test/response.js`, run here on a body
 * that arrives over the wire, and "should reject illegal header" of `test/headers.js`, as a request that carries
 * such a header (`test/headers.js`'s other cases are of node-fetch's `Headers` class). One `it` per peer case, named
 * after it.
 *
 * Mapping: `fetch(url)` then `res.text()` is `Attempt.send` (the body read into one bounded buffer) or, for the
 * platform response, `Loopback.exchange`; `res.json()` is `Attempt.json`; `res.ok === false` is the status failure
 * an attempt fails with (`ClientError`, `ServerError`, `UnexpectedStatus` for a 304); FetchError `system` with
 * `ECONNREFUSED`/`ECONNRESET`/`ENOTFOUND` is `ConnectionError` `Refused`/`Reset`/`DnsLookup` with the code in `cause`;
 * a body that stops early is `BodyTruncated`; `size` is `maxBodyBytes` and FetchError `max-size` is `BodyTooLarge`;
 * `AbortController.abort()` during a call is an attempt `timeout` (or `bodyTimeout`) on the TestClock; the peer's
 * string, `ArrayBuffer`, typed-array, `Blob` and `Readable` bodies are `HttpBody.text`, `HttpBody.uint8Array` and
 * `HttpBody.raw`, an Effect `Stream` body is `HttpBody.stream`, `URLSearchParams` is `HttpBody.urlParams`, and the
 * `form-data` package's and node-fetch's own `FormData` are the global `FormData` through `HttpBody.formData`.
 *
 * Deliberate differences (each test says which): the transport sends no `Accept-Encoding` and never decompresses
 * (`UndiciHttpClient`'s documentation: no zip bomb inflates past `maxBodyBytes`), so every decompression case gets the
 * bytes as the server sent them, which decompress to the peer's expected text, a header value keeps its case (`GZip`),
 * and a broken gzip body is read as sent; a JSON attempt on a still-compressed body fails with `InvalidJson` saying
 * so. A 204 read as JSON gives the schema `undefined` (`Attempt.json`), where node-fetch's `res.json()` rejects. A
 * `Content-Length` the body does not match is refused unsent (`InvalidRequest` `InvalidHeader`), where node-fetch
 * overwrites it. A plain object body is sent as JSON by `SturdyClient`, where node-fetch sends `[object Object]`.
 * Effect's default content types are `text/plain` (no charset), `application/octet-stream` for bytes and
 * `application/x-www-form-urlencoded` (no charset). No default `Accept`: `Attempt.send` sends none, `Attempt.json` the
 * types it expects, where node-fetch sends the wildcard one. A `URL` object loses an empty query (`?`) in Effect's
 * `HttpClientRequest`, before the transport; a string keeps it. undici writes a streamed request's head with its first
 * chunk, where node-fetch sends the head at once.
 *
 * Not ported: cases of node-fetch's own classes and internals (`Headers`, `Request`, `Response` constructors,
 * `FetchError`, `Body`, `getTotalBytes`, `extractContentType`, `Response.redirect`, `Response.json`, cloning and
 * `highWaterMark`, `res.body` as a Node stream, `bodyUsed`, reading a body twice, blobs read back); the AbortController
 * cases about signal listeners, polyfills, a non-AbortSignal, an already aborted signal and the body stream's error
 * events (an Effect call is interrupted instead); "should handle errors on the body stream even if it is not used" and
 * "should collect handled errors on the body stream to reject if the body is used later" (no decompression stream
 * exists to fail); the DataView body (Effect's bodies take a `Uint8Array`; the `ArrayBuffer` cases send a view over
 * the buffer); `statusText` (Effect's response has none); "should set default User-Agent" (the transport sends none,
 * and its documentation promises none) and the agent, lookup and family cases;
 * "should support https request" (it calls github.com) and the IPv6 case (a server on ::1; these listen on
 * 127.0.0.1 only); "should still recognize URLSearchParams when extended from
 * polyfill" (in the peer's code the same subclass as the case before it).
 */
import { HttpBody, HttpClientRequest, UrlParams } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Attempt, HttpFailure, SturdyClient } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { Effect, Exit, Fiber, Schema, Stream, TestClock } from "effect"
import * as Fs from "node:fs"
import type * as Http from "node:http"
import { Readable } from "node:stream"
import * as Vm from "node:vm"
import * as Zlib from "node:zlib"
import * as Loopback from "./utils/loopbackServer.js"
import * as Raw from "./utils/rawServer.js"
import { failureOf, realPause, setup as harness, systemError } from "./utils/retryHarness.js"

type Routes = Record<string, Loopback.Handler>

const encoder = new TextEncoder()
const { Uint8Array: VMUint8Array } = Vm.runInNewContext("this") as { Uint8Array: Uint8ArrayConstructor }

/** `/inspect`: what the server received, as JSON */
const inspect: Loopback.Handler = (req, res, body) => {
  const text = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body })
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) })
  res.end(text)
}

/** `/multipart`: the form fields as `name=value` (`name=filename` for a file), as the peer's busboy route */
const multipart: Loopback.Handler = (req, res, body) => {
  void new Response(body, { headers: { "content-type": String(req.headers["content-type"]) } }).formData().then(
    (form) => {
      let fields = ""
      for (const [name, value] of form) fields += `${name}=${typeof value === "string" ? value : value.name}`
      inspect(req, res, fields)
    },
    () => res.writeHead(400).end()
  )
}

const compressed =
  (encoding: string, bytes: Buffer, headers: Http.OutgoingHttpHeaders = {}): Loopback.Handler => (_, res) => {
    res.writeHead(200, { "Content-Type": "text/plain", "Content-Encoding": encoding, ...headers })
    res.end(bytes)
  }

const hello = "hello world"
const gzipped = Zlib.gzipSync(hello)

/** the routes of the peer's `test/utils/server.js` these cases use */
const routes: Routes = {
  "/hello": Loopback.text(200, "text/plain", "world"),
  "/plain": Loopback.text(200, "text/plain", "text"),
  "/html": Loopback.text(200, "text/html", "<html></html>"),
  "/json": Loopback.text(200, "application/json", JSON.stringify({ name: "value" })),
  "/options": (_, res) => {
    res.setHeader("Allow", "GET, HEAD, OPTIONS")
    res.end("hello world")
  },
  "/no-status-text": (_, res) => {
    res.writeHead(200, "", {}).end()
  },
  "/inspect": inspect,
  "/multipart": multipart,
  "/error/400": Loopback.text(400, "text/plain", "client error"),
  "/error/404": (_, res) => {
    res.statusCode = 404
    res.setHeader("Content-Encoding", "gzip")
    res.end()
  },
  "/error/500": Loopback.text(500, "text/plain", "server error"),
  "/error/reset": (_, res) => {
    res.destroy()
  },
  "/error/premature": (_, res) => {
    res.writeHead(200, { "content-length": 50 })
    res.write("foo")
    setTimeout(() => res.destroy(), 20)
  },
  "/error/premature/chunked": (_, res) => {
    res.writeHead(200, { "Content-Type": "application/json", "Transfer-Encoding": "chunked" })
    res.write(`${JSON.stringify({ data: "hi" })}\n`)
    setTimeout(() => res.write(`${JSON.stringify({ data: "bye" })}\n`), 10)
    setTimeout(() => res.destroy(), 20)
  },
  "/error/json": Loopback.text(200, "application/json", "invalid json"),
  "/no-content": (_, res) => {
    res.statusCode = 204
    res.end()
  },
  "/no-content/gzip": (_, res) => {
    res.statusCode = 204
    res.setHeader("Content-Encoding", "gzip")
    res.end()
  },
  "/no-content/brotli": (_, res) => {
    res.statusCode = 204
    res.setHeader("Content-Encoding", "br")
    res.end()
  },
  "/not-modified": (_, res) => {
    res.statusCode = 304
    res.end()
  },
  "/not-modified/gzip": (_, res) => {
    res.statusCode = 304
    res.setHeader("Content-Encoding", "gzip")
    res.end()
  },
  "/gzip": compressed("gzip", gzipped),
  // the CRC and size check at the end of the stream cut off
  "/gzip-truncated": compressed("gzip", gzipped.subarray(0, -8)),
  "/gzip-capital": compressed("GZip", gzipped),
  "/deflate": compressed("deflate", Zlib.deflateSync(hello)),
  "/deflate-raw": compressed("deflate", Zlib.deflateRawSync(hello)),
  "/empty/deflate": compressed("deflate", Buffer.alloc(0)),
  "/brotli": compressed("br", Zlib.brotliCompressSync(hello)),
  "/sdch": compressed("sdch", Buffer.from("fake sdch string")),
  "/invalid-content-encoding": compressed("gzip", Buffer.from("fake gzip string")),
  // the peer answers after 1 s; here never (the attempt's timeout ends the call first)
  "/timeout": () => {},
  // the peer sends the rest after 1 s; here never
  "/slow": (_, res) => {
    res.writeHead(200, { "Content-Type": "text/plain" })
    res.write("test")
  },
  "/size/chunk": (_, res) => {
    res.statusCode = 200
    res.setHeader("Content-Type", "text/plain")
    setTimeout(() => res.write("test"), 10)
    setTimeout(() => res.end("test"), 20)
  },
  "/size/long": (_, res) => {
    res.statusCode = 200
    res.setHeader("Content-Type", "text/plain")
    res.end("testtest")
  },
  "/question": Loopback.text(200, "text/plain", "ok"),
  "/m%C3%B6bius": Loopback.text(200, "text/plain", "ok"),
  "/bom": Loopback.text(200, "application/json", "\uFEFF{\"a\":1}")
}

/** the peer's server on 127.0.0.1 and a client on `@sturdy/node`'s transport, without redirects */
const setup = Effect.gen(function*() {
  const server = yield* Loopback.start(routes)
  const client = UndiciHttpClient.make(yield* UndiciHttpClient.makeDispatcher())
  const base = `${server.url}/`
  const api = SturdyClient.makeWith(client, { baseUrl: base })
  return { server, base, client, api }
})

const bytesOf = (received: Attempt.Received) => Buffer.from(received.body)

const Inspected = Schema.Struct({
  method: Schema.String,
  url: Schema.String,
  headers: Schema.Record({ key: Schema.String, value: Schema.String }),
  body: Schema.String
})

/** sends `request` and decodes what `/inspect` saw */
const inspected = (request: HttpClientRequest.HttpClientRequest) =>
  Effect.flatMap(setup, ({ client }) => Attempt.json(client, request, Inspected))

describe("node-fetch test/main.js: responses and network errors", () => {
  it.scopedLive("should reject with error if url is protocol relative", () =>
    Effect.gen(function*() {
      const { client } = yield* setup
      const failure = failureOf(yield* Effect.exit(Attempt.send(client, HttpClientRequest.get("//example.com/"))))
      expect(failure).toMatchObject({ _tag: "InvalidRequest", reason: "MalformedUrl" })
    }))

  it.scopedLive("should reject with error if url is relative path", () =>
    Effect.gen(function*() {
      const { client } = yield* setup
      const failure = failureOf(yield* Effect.exit(Attempt.send(client, HttpClientRequest.get("/some/path"))))
      expect(failure).toMatchObject({ _tag: "InvalidRequest", reason: "MalformedUrl" })
    }))

  it.scopedLive("should reject with error if protocol is unsupported", () =>
    Effect.gen(function*() {
      const { client } = yield* setup
      const failure = failureOf(yield* Effect.exit(Attempt.send(client, HttpClientRequest.get("ftp://example.com/"))))
      expect(failure).toMatchObject({ _tag: "InvalidRequest", reason: "MalformedUrl" })
    }))

  it.scopedLive("should reject with error on network failure", () =>
    Effect.gen(function*() {
      const { client } = yield* setup
      const port = yield* Loopback.closedPort
      const failure = failureOf(
        yield* Effect.exit(Attempt.send(client, HttpClientRequest.get(`http://127.0.0.1:${port}/`)))
      )
      expect(failure).toBeInstanceOf(HttpFailure.ConnectionError)
      expect(failure).toMatchObject({ reason: "Refused", cause: { code: "ECONNREFUSED" } })
    }))

  it.scopedLive("system error is extracted from failed requests", () =>
    Effect.gen(function*() {
      const { client } = yield* setup
      const port = yield* Loopback.closedPort
      const failure = failureOf(
        yield* Effect.exit(Attempt.send(client, HttpClientRequest.get(`http://127.0.0.1:${port}/`)))
      ) as HttpFailure.ConnectionError
      // the system error, sanitized: its name, code and message
      expect(failure.cause?.code).toBe("ECONNREFUSED")
      expect(failure.cause?.message).toContain("ECONNREFUSED")
      expect(failure.message).toContain("ECONNREFUSED")
    }))

  it.scopedLive("should resolve into response", () =>
    Effect.gen(function*() {
      const { api, base } = yield* setup
      const received = yield* api.get("hello")
      expect(received.status).toBe(200)
      expect(received.response.request.url).toBe(`${base}hello`)
      expect(received.text).toBe("world")
    }))

  it.scopedLive("should accept plain text response", () =>
    Effect.gen(function*() {
      const { api } = yield* setup
      const received = yield* api.get("plain")
      expect(received.headers["content-type"]).toBe("text/plain")
      expect(received.text).toBe("text")
    }))

  it.scopedLive("should accept html response (like plain text)", () =>
    Effect.gen(function*() {
      const { api } = yield* setup
      const received = yield* api.get("html")
      expect(received.headers["content-type"]).toBe("text/html")
      expect(received.text).toBe("<html></html>")
    }))

  it.scopedLive("should accept json response", () =>
    Effect.gen(function*() {
      const { api } = yield* setup
      expect(yield* api.get("json", { schema: Schema.Struct({ name: Schema.String }) })).toEqual({ name: "value" })
    }))

  it.scopedLive("should handle client-error response", () =>
    Effect.gen(function*() {
      const { api } = yield* setup
      const failure = failureOf(yield* Effect.exit(api.get("error/400")))
      expect(failure).toBeInstanceOf(HttpFailure.ClientError)
      expect(failure).toMatchObject({ status: 400, bodyExcerpt: "client error" })
      expect((failure as HttpFailure.ClientError).headers["content-type"]).toBe("text/plain")
    }))

  it.scopedLive("should handle server-error response", () =>
    Effect.gen(function*() {
      const { api } = yield* setup
      const failure = failureOf(yield* Effect.exit(api.get("error/500")))
      expect(failure).toBeInstanceOf(HttpFailure.ServerError)
      expect(failure).toMatchObject({ status: 500, bodyExcerpt: "server error" })
      expect((failure as HttpFailure.ServerError).headers["content-type"]).toBe("text/plain")
    }))

  it.scopedLive("should handle network-error response", () =>
    Effect.gen(function*() {
      const { api } = yield* setup
      const failure = failureOf(yield* Effect.exit(api.get("error/reset")))
      expect(failure).toBeInstanceOf(HttpFailure.ConnectionError)
      expect(failure).toMatchObject({ reason: "Reset" })
    }))

  it.scopedLive("should handle network-error partial response", () =>
    Effect.gen(function*() {
      const { api } = yield* setup
      const failure = failureOf(yield* Effect.exit(api.get("error/premature")))
      expect(failure).toBeInstanceOf(HttpFailure.BodyTruncated)
      expect(failure).toMatchObject({ status: 200, receivedBytes: 3, expectedBytes: 50 })
    }))

  const chunkedLines = `${JSON.stringify({ data: "hi" })}\n${JSON.stringify({ data: "bye" })}\n`

  it.scopedLive("should handle network-error in chunked response", () =>
    Effect.gen(function*() {
      // the platform response's body stream fails (node-fetch: the body stream emits `error`)
      const { base, client } = yield* setup
      const exit = yield* Effect.exit(Effect.scoped(
        Effect.flatMap(
          client.execute(HttpClientRequest.get(`${base}error/premature/chunked`)),
          (response) => {
            expect(response.status).toBe(200)
            return Stream.runDrain(response.stream)
          }
        )
      ))
      expect(failureOf(exit)).toMatchObject({ _tag: "ResponseError", reason: "Decode" })
    }))

  it.scopedLive("should handle network-error in chunked response async iterator", () =>
    Effect.gen(function*() {
      // read chunk by chunk: both lines arrive, then the stream fails
      const { base, client } = yield* setup
      const chunks: Array<string> = []
      const decoder = new TextDecoder()
      const exit = yield* Effect.exit(Effect.scoped(
        Effect.flatMap(
          client.execute(HttpClientRequest.get(`${base}error/premature/chunked`)),
          (response) =>
            Stream.runForEach(response.stream, (chunk) => Effect.sync(() => chunks.push(decoder.decode(chunk))))
        )
      ))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(chunks.join("")).toBe(chunkedLines)
      // and as an attempt's failure
      expect(yield* Effect.flip(Attempt.fromClientError(failureOf(exit)))).toBeInstanceOf(HttpFailure.BodyTruncated)
    }))

  it.scopedLive("should handle network-error in chunked response in consumeBody", () =>
    Effect.gen(function*() {
      const { api } = yield* setup
      const failure = failureOf(yield* Effect.exit(api.get("error/premature/chunked")))
      expect(failure).toBeInstanceOf(HttpFailure.BodyTruncated)
      expect(failure).toMatchObject({ status: 200, expectedBytes: undefined, receivedBytes: chunkedLines.length })
    }))

  it.scopedLive("should handle chunked response with more than 1 chunk in the final packet", () =>
    Effect.gen(function*() {
      const raw = yield* Raw.start({
        "/chunked/multiple-ending": (socket) => {
          socket.write("HTTP/1.1 200\r\nTransfer-Encoding: chunked\r\n\r\n")
          socket.write("3\r\nfoo\r\n3\r\nbar\r\n0\r\n\r\n")
        }
      })
      const { client } = yield* setup
      const received = yield* Attempt.send(client, HttpClientRequest.get(`${raw.url}/chunked/multiple-ending`))
      expect(received.text).toBe("foobar")
    }))

  it.scopedLive("should handle chunked response with final chunk and EOM in separate packets", () =>
    Effect.gen(function*() {
      const raw = yield* Raw.start({
        "/chunked/split-ending": (socket) => {
          socket.write("HTTP/1.1 200\r\nTransfer-Encoding: chunked\r\n\r\n")
          socket.write("3\r\nfoo\r\n3\r\nbar\r\n")
          setTimeout(() => socket.write("0\r\n"), 10)
          setTimeout(() => socket.end("\r\n"), 20)
        }
      })
      const { client } = yield* setup
      const received = yield* Attempt.send(client, HttpClientRequest.get(`${raw.url}/chunked/split-ending`))
      expect(received.text).toBe("foobar")
    }))

  it.scoped("should handle DNS-error response", () =>
    Effect.gen(function*() {
      // no name resolves here: the connection fails as Node reports a failed lookup of `domain.invalid`
      const h = yield* harness(() => {}, { retry: false }, {
        connectFailures: [systemError("ENOTFOUND", "getaddrinfo", "domain.invalid")]
      })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(failure).toBeInstanceOf(HttpFailure.ConnectionError)
      expect(failure).toMatchObject({ reason: "DnsLookup", cause: { code: "ENOTFOUND" } })
      expect(h.seen).toHaveLength(0)
    }))

  it.scopedLive("should reject invalid json response", () =>
    Effect.gen(function*() {
      const { api } = yield* setup
      const failure = failureOf(yield* Effect.exit(api.get("error/json", { schema: Schema.Unknown })))
      expect(failure).toBeInstanceOf(HttpFailure.InvalidJson)
      expect(failure).toMatchObject({ status: 200, bodyExcerpt: "invalid json" })
      expect((failure as HttpFailure.InvalidJson).headers["content-type"]).toBe("application/json")
    }))

  it.scopedLive("should handle response with no status text", () =>
    Effect.gen(function*() {
      const { api } = yield* setup
      const received = yield* api.get("no-status-text")
      expect(received.status).toBe(200)
      expect(received.body.byteLength).toBe(0)
    }))

  it.scopedLive("should handle no content response", () =>
    Effect.gen(function*() {
      const { api } = yield* setup
      const received = yield* api.get("no-content")
      expect(received.status).toBe(204)
      expect(received.text).toBe("")
    }))

  it.scopedLive("should reject when trying to parse no content response as json", () =>
    Effect.gen(function*() {
      // node-fetch's `res.json()` rejects; `Attempt.json` gives the schema `undefined` for an answer without content:
      // `Schema.Void` accepts it, a schema that wants a value fails with `SchemaMismatch` (not `InvalidJson`)
      const { api } = yield* setup
      expect(yield* api.get("no-content", { schema: Schema.Void })).toBeUndefined()
      const failure = failureOf(
        yield* Effect.exit(api.get("no-content", { schema: Schema.Struct({ a: Schema.Number }) }))
      )
      expect(failure).toBeInstanceOf(HttpFailure.SchemaMismatch)
      expect(failure).toMatchObject({ status: 204 })
    }))

  it.scopedLive("should handle no content response with gzip encoding", () =>
    Effect.gen(function*() {
      const { api } = yield* setup
      const received = yield* api.get("no-content/gzip")
      expect(received.status).toBe(204)
      expect(received.headers["content-encoding"]).toBe("gzip")
      expect(received.text).toBe("")
      expect(yield* api.get("no-content/gzip", { schema: Schema.Void })).toBeUndefined()
    }))

  it.scopedLive("should handle not modified response", () =>
    Effect.gen(function*() {
      const { api, base, client } = yield* setup
      const res = yield* Loopback.exchange(client, HttpClientRequest.get(`${base}not-modified`))
      expect(res.status).toBe(304)
      expect(res.text).toBe("")
      // not ok: an attempt fails with `UnexpectedStatus`
      expect(failureOf(yield* Effect.exit(api.get("not-modified")))).toMatchObject({
        _tag: "UnexpectedStatus",
        status: 304,
        bodyExcerpt: ""
      })
    }))

  it.scopedLive("should handle not modified response with gzip encoding", () =>
    Effect.gen(function*() {
      const { api, base, client } = yield* setup
      const res = yield* Loopback.exchange(client, HttpClientRequest.get(`${base}not-modified/gzip`))
      expect(res.status).toBe(304)
      expect(res.headers["content-encoding"]).toBe("gzip")
      expect(res.text).toBe("")
      expect(failureOf(yield* Effect.exit(api.get("not-modified/gzip")))).toMatchObject({
        _tag: "UnexpectedStatus",
        status: 304
      })
    }))
})

describe("node-fetch test/main.js: decompression (Sturdy's transport never decompresses)", () => {
  it.scopedLive("should decompress gzip response", () =>
    Effect.gen(function*() {
      const { api, server } = yield* setup
      const received = yield* api.get("gzip")
      expect(received.headers["content-type"]).toBe("text/plain")
      expect(bytesOf(received).equals(gzipped)).toBe(true)
      expect(Zlib.gunzipSync(received.body).toString()).toBe(hello)
      // it asked for no compression
      expect(server.requests[0]!.headers["accept-encoding"]).toBeUndefined()
    }))

  it.scopedLive("should decompress slightly invalid gzip response", () =>
    Effect.gen(function*() {
      const { api } = yield* setup
      const received = yield* api.get("gzip-truncated")
      expect(bytesOf(received).equals(gzipped.subarray(0, -8))).toBe(true)
      // what the caller decompresses, leniently as node-fetch does, is the peer's text
      expect(Zlib.gunzipSync(received.body, { finishFlush: Zlib.constants.Z_SYNC_FLUSH }).toString()).toBe(hello)
    }))

  it.scopedLive("should make capitalised Content-Encoding lowercase", () =>
    Effect.gen(function*() {
      // node-fetch lower-cases the value; Sturdy's headers keep the value as sent (names are lower-cased)
      const { api } = yield* setup
      const received = yield* api.get("gzip-capital")
      expect(received.headers["content-encoding"]).toBe("GZip")
      expect(Zlib.gunzipSync(received.body).toString()).toBe(hello)
    }))

  it.scopedLive("should decompress deflate response", () =>
    Effect.gen(function*() {
      const { api } = yield* setup
      const received = yield* api.get("deflate")
      expect(received.headers["content-type"]).toBe("text/plain")
      expect(Zlib.inflateSync(received.body).toString()).toBe(hello)
    }))

  it.scopedLive("should decompress deflate raw response from old apache server", () =>
    Effect.gen(function*() {
      const { api } = yield* setup
      const received = yield* api.get("deflate-raw")
      expect(received.headers["content-encoding"]).toBe("deflate")
      expect(Zlib.inflateRawSync(received.body).toString()).toBe(hello)
    }))

  it.scopedLive("should handle empty deflate response", () =>
    Effect.gen(function*() {
      const { api } = yield* setup
      const received = yield* api.get("empty/deflate")
      expect(received.headers["content-type"]).toBe("text/plain")
      expect(received.text).toBe("")
    }))

  it.scopedLive("should decompress brotli response", () =>
    Effect.gen(function*() {
      const { api } = yield* setup
      const received = yield* api.get("brotli")
      expect(received.headers["content-encoding"]).toBe("br")
      expect(Zlib.brotliDecompressSync(received.body).toString()).toBe(hello)
    }))

  it.scopedLive("should handle no content response with brotli encoding", () =>
    Effect.gen(function*() {
      const { api } = yield* setup
      const received = yield* api.get("no-content/brotli")
      expect(received.status).toBe(204)
      expect(received.headers["content-encoding"]).toBe("br")
      expect(received.text).toBe("")
    }))

  it.scopedLive("should skip decompression if unsupported", () =>
    Effect.gen(function*() {
      const { api } = yield* setup
      const received = yield* api.get("sdch")
      expect(received.headers["content-type"]).toBe("text/plain")
      expect(received.text).toBe("fake sdch string")
    }))

  it.scopedLive("should reject if response compression is invalid", () =>
    Effect.gen(function*() {
      // node-fetch fails the read with Z_DATA_ERROR; Sturdy reads the bytes as sent, and a JSON attempt on them
      // fails with a typed `InvalidJson` (in the parser's words: the bytes do not look compressed)
      const { api } = yield* setup
      const received = yield* api.get("invalid-content-encoding")
      expect(received.text).toBe("fake gzip string")
      const failure = failureOf(
        yield* Effect.exit(api.get("invalid-content-encoding", { schema: Schema.Unknown, expectedContentTypes: [] }))
      ) as HttpFailure.InvalidJson
      expect(failure).toBeInstanceOf(HttpFailure.InvalidJson)
      expect(failure.detail).not.toContain("still compressed")
      // a gzip body that is JSON but was not asked for: the failure says the transport did not decompress it
      const server = yield* Loopback.start({
        "/": compressed("gzip", Zlib.gzipSync(JSON.stringify({ a: 1 })), { "Content-Type": "application/json" })
      })
      const { client } = yield* setup
      const stillCompressed = failureOf(
        yield* Effect.exit(Attempt.json(client, HttpClientRequest.get(`${server.url}/`), Schema.Unknown))
      ) as HttpFailure.InvalidJson
      expect(stillCompressed).toBeInstanceOf(HttpFailure.InvalidJson)
      expect(stillCompressed.detail).toContain("body still compressed, Content-Encoding: gzip")
    }))

  it.scopedLive("should allow disabling auto decompression", () =>
    Effect.gen(function*() {
      // `compress: false` is the transport's only behaviour
      const { api } = yield* setup
      const received = yield* api.get("gzip")
      expect(received.headers["content-type"]).toBe("text/plain")
      expect(received.text).not.toBe(hello)
      expect(bytesOf(received).equals(gzipped)).toBe(true)
    }))

  it.scopedLive("should not overwrite existing accept-encoding header when auto decompression is true", () =>
    Effect.gen(function*() {
      const { base } = yield* setup
      const seen = yield* inspected(
        HttpClientRequest.get(`${base}inspect`).pipe(HttpClientRequest.setHeader("Accept-Encoding", "gzip"))
      )
      expect(seen.headers["accept-encoding"]).toBe("gzip")
    }))
})

describe("node-fetch test/main.js: size (maxBodyBytes)", () => {
  it.scopedLive("should support maximum response size, multiple chunk", () =>
    Effect.gen(function*() {
      const { api } = yield* setup
      const failure = failureOf(yield* Effect.exit(api.get("size/chunk", { maxBodyBytes: 5 })))
      expect(failure).toBeInstanceOf(HttpFailure.BodyTooLarge)
      expect(failure).toMatchObject({ status: 200, limitBytes: 5, declaredBytes: undefined })
      expect((failure as HttpFailure.BodyTooLarge).headers["content-type"]).toBe("text/plain")
    }))

  it.scopedLive("should support maximum response size, single chunk", () =>
    Effect.gen(function*() {
      const { api } = yield* setup
      const failure = failureOf(yield* Effect.exit(api.get("size/long", { maxBodyBytes: 5 })))
      expect(failure).toBeInstanceOf(HttpFailure.BodyTooLarge)
      expect(failure).toMatchObject({ status: 200, limitBytes: 5, declaredBytes: 8 })
    }))
})

describe("node-fetch test/main.js: AbortController (as attempt timeouts on the TestClock)", () => {
  /** starts `call`, waits (real time) until the server has seen `requests` heads, then moves the TestClock */
  const timedOut = <A, E>(
    call: Effect.Effect<A, E>,
    arrived: () => number,
    requests: number,
    millis: number
  ) =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(call)
      for (let i = 0; i < 500 && arrived() < requests; i++) yield* realPause
      expect(arrived()).toBe(requests)
      yield* TestClock.adjust(millis)
      return yield* Fiber.await(fiber)
    })

  it.scoped("should support request cancellation with signal", () =>
    Effect.gen(function*() {
      const { api, server } = yield* setup
      const call = api.post("timeout", {
        body: { hello: "world" },
        timeout: "100 millis"
      })
      const failure = failureOf(yield* timedOut(call, () => server.requests.length, 1, 100))
      expect(failure).toBeInstanceOf(HttpFailure.Timeout)
      expect(failure).toMatchObject({ phase: "Attempt", method: "POST" })
      expect(server.requests[0]!.headers["content-type"]).toBe("application/json")
    }))

  it.scoped("should support multiple request cancellation with signal", () =>
    Effect.gen(function*() {
      const { api, server } = yield* setup
      const get: Effect.Effect<Attempt.Received, HttpFailure.HttpFailure> = api.get("timeout", {
        timeout: "100 millis"
      })
      const post: Effect.Effect<Attempt.Received, HttpFailure.HttpFailure> = api.post("timeout", {
        body: HttpBody.unsafeJson({ hello: "world" }),
        timeout: "100 millis"
      })
      const calls = Effect.all([Effect.exit(get), Effect.exit(post)], { concurrency: 2 })
      const exit = yield* timedOut(calls, () => server.requests.length, 2, 100)
      if (Exit.isFailure(exit)) throw new Error("expected both calls to end")
      for (const one of exit.value) expect(failureOf(one)).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
    }))

  it.scoped("should reject response body with AbortError when aborted before stream has been read completely", () =>
    Effect.gen(function*() {
      // the headers and "test" arrived; the rest never comes: the body read's own limit ends it
      const { api, server } = yield* setup
      const failure = failureOf(
        yield* timedOut(api.get("slow", { bodyTimeout: "100 millis" }), () => server.requests.length, 1, 100)
      )
      expect(failure).toBeInstanceOf(HttpFailure.Timeout)
      expect(failure).toMatchObject({ phase: "BodyRead" })
    }))

  it.scoped("should cancel request body of type Stream with AbortError when aborted", () =>
    Effect.gen(function*() {
      // a request body that never yields: the timeout ends the call, the body's stream is interrupted (its finalizer
      // runs; node-fetch destroys it with an AbortError) and the connection is closed. undici writes the request head
      // with the first body chunk, so the server sees a connection and no request (node-fetch sends the head first)
      const server = yield* Loopback.start({})
      const { client } = yield* setup
      let finalized = false
      const body = Stream.never.pipe(Stream.ensuring(Effect.sync(() => (finalized = true))))
      const call = Attempt.send(
        client,
        HttpClientRequest.post(`${server.url}/slow`).pipe(HttpClientRequest.bodyStream(body)),
        { timeout: "100 millis" }
      )
      const failure = failureOf(yield* timedOut(call, server.connections, 1, 100))
      expect(failure).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      for (let i = 0; i < 500 && (!finalized || server.closed() < server.connections()); i++) yield* realPause
      expect(finalized).toBe(true)
      // every connection is closed (undici, after the abort destroys the socket, opens one more and closes it
      // unused: its own behaviour, the same through `Agent.request`) and no request was sent
      expect(server.closed()).toBe(server.connections())
      expect(server.requests).toHaveLength(0)
    }))
})

describe("node-fetch test/main.js: request methods and bodies", () => {
  const sent = (method: "POST" | "PUT" | "PATCH" | "DELETE", body?: HttpBody.HttpBody) =>
    Effect.flatMap(setup, ({ base }) => {
      const request = HttpClientRequest.make(method)(`${base}inspect`)
      return inspected(body === undefined ? request : HttpClientRequest.setBody(request, body))
    })

  it.scopedLive("should send request with custom headers", () =>
    Effect.gen(function*() {
      const { base } = yield* setup
      const seen = yield* inspected(
        HttpClientRequest.get(`${base}inspect`).pipe(HttpClientRequest.setHeader("x-custom-header", "abc"))
      )
      expect(seen.headers["x-custom-header"]).toBe("abc")
    }))

  it.scopedLive("should accept custom host header", () =>
    Effect.gen(function*() {
      const { base } = yield* setup
      const seen = yield* inspected(
        HttpClientRequest.get(`${base}inspect`).pipe(HttpClientRequest.setHeader("host", "example.com"))
      )
      expect(seen.headers.host).toBe("example.com")
    }))

  it.scopedLive("should accept custom HoSt header", () =>
    Effect.gen(function*() {
      const { base } = yield* setup
      const seen = yield* inspected(
        HttpClientRequest.get(`${base}inspect`).pipe(HttpClientRequest.setHeader("HoSt", "example.com"))
      )
      expect(seen.headers.host).toBe("example.com")
    }))

  it.scopedLive("should allow POST request", () =>
    Effect.gen(function*() {
      const seen = yield* sent("POST")
      expect(seen.method).toBe("POST")
      expect(seen.headers["transfer-encoding"]).toBeUndefined()
      expect(seen.headers["content-type"]).toBeUndefined()
      expect(seen.headers["content-length"]).toBe("0")
    }))

  it.scopedLive("should allow POST request with string body", () =>
    Effect.gen(function*() {
      const seen = yield* sent("POST", HttpBody.text("a=1"))
      expect(seen.method).toBe("POST")
      expect(seen.body).toBe("a=1")
      expect(seen.headers["transfer-encoding"]).toBeUndefined()
      expect(seen.headers["content-type"]).toBe("text/plain")
      expect(seen.headers["content-length"]).toBe("3")
    }))

  const bytesCase = (name: string, bytes: () => Uint8Array, expected: string) =>
    it.scopedLive(name, () =>
      Effect.gen(function*() {
        const seen = yield* sent("POST", HttpBody.uint8Array(bytes()))
        expect(seen.method).toBe("POST")
        expect(seen.body).toBe(expected)
        expect(seen.headers["transfer-encoding"]).toBeUndefined()
        expect(seen.headers["content-type"]).toBe("application/octet-stream")
        expect(seen.headers["content-length"]).toBe(String(Buffer.byteLength(expected)))
      }))

  bytesCase(
    "should allow POST request with ArrayBuffer body",
    () => new Uint8Array(encoder.encode("Hello, world!\n").buffer),
    "Hello, world!\n"
  )
  bytesCase(
    "should allow POST request with ArrayBuffer body from a VM context",
    () => new Uint8Array(new VMUint8Array(encoder.encode("Hello, world!\n")).buffer),
    "Hello, world!\n"
  )
  bytesCase(
    "should allow POST request with ArrayBufferView (Uint8Array) body",
    () => encoder.encode("Hello, world!\n"),
    "Hello, world!\n"
  )
  bytesCase(
    "should allow POST request with ArrayBufferView (Uint8Array) body from a VM context",
    () => new VMUint8Array(encoder.encode("Hello, world!\n")),
    "Hello, world!\n"
  )
  bytesCase(
    "should allow POST request with ArrayBufferView (Uint8Array, offset, length) body",
    () => encoder.encode("Hello, world!\n").subarray(7, 13),
    "world!"
  )

  it.scopedLive("should allow POST request with blob body without type", () =>
    Effect.gen(function*() {
      const seen = yield* sent("POST", HttpBody.raw(new Blob(["a=1"])))
      expect(seen.body).toBe("a=1")
      expect(seen.headers["transfer-encoding"]).toBeUndefined()
      expect(seen.headers["content-type"]).toBeUndefined()
      expect(seen.headers["content-length"]).toBe("3")
    }))

  it.scopedLive("should allow POST request with blob body with type", () =>
    Effect.gen(function*() {
      const blob = new Blob(["a=1"], { type: "text/plain;charset=UTF-8" })
      const seen = yield* sent("POST", HttpBody.raw(blob, { contentType: blob.type }))
      expect(seen.body).toBe("a=1")
      expect(seen.headers["transfer-encoding"]).toBeUndefined()
      // the Blob constructor lower-cases its type: the peer's assertion reads node-fetch's own Blob
      expect(seen.headers["content-type"]).toBe("text/plain;charset=utf-8")
      expect(seen.headers["content-length"]).toBe("3")
    }))

  it.scopedLive("should allow POST request with readable stream as body", () =>
    Effect.gen(function*() {
      // a node Readable (raw) and an Effect Stream: both sent chunked, without a length
      const fromReadable = yield* sent("POST", HttpBody.raw(Readable.from("a=1")))
      expect(fromReadable.body).toBe("a=1")
      expect(fromReadable.headers["transfer-encoding"]).toBe("chunked")
      expect(fromReadable.headers["content-type"]).toBeUndefined()
      expect(fromReadable.headers["content-length"]).toBeUndefined()
      const fromStream = yield* sent("POST", HttpBody.stream(Stream.make(encoder.encode("a="), encoder.encode("1"))))
      expect(fromStream.body).toBe("a=1")
      expect(fromStream.headers["transfer-encoding"]).toBe("chunked")
      expect(fromStream.headers["content-length"]).toBeUndefined()
    }))

  it.scopedLive("should reject if the request body stream emits an error", () =>
    Effect.gen(function*() {
      const { base, client } = yield* setup
      const errorMessage = "request body stream error"
      const body = Stream.fromEffect(Effect.fail(new Error(errorMessage)))
      const exit = yield* Effect.exit(
        Attempt.send(client, HttpClientRequest.post(`${base}inspect`).pipe(HttpClientRequest.bodyStream(body)))
      )
      const failure = failureOf(exit)
      // a typed failure that names the stream's error: the request's body could not be written, the caller's failure
      expect(failure).toMatchObject({ _tag: "InvalidRequest", reason: "BodyEncode" })
      expect(failure.message).toContain(errorMessage)
    }))

  it.scopedLive("should allow POST request with form-data as body", () =>
    Effect.gen(function*() {
      const { base } = yield* setup
      const form = new FormData()
      form.append("a", "1")
      const seen = yield* inspected(
        HttpClientRequest.post(`${base}multipart`).pipe(HttpClientRequest.bodyFormData(form))
      )
      expect(seen.method).toBe("POST")
      expect(seen.headers["content-type"]).toMatch(/^multipart\/form-data; ?boundary=/)
      expect(seen.body).toBe("a=1")
    }))

  it.scopedLive("should allow POST request with form-data using stream as body", () =>
    Effect.gen(function*() {
      const { base } = yield* setup
      const form = new FormData()
      // a file read as it is sent (the peer's `fs.createReadStream`)
      const file = yield* Effect.promise(() => Fs.openAsBlob(new URL("./fixtures/loopback-cert.pem", import.meta.url)))
      form.append("my_field", file, "dummy.txt")
      const seen = yield* inspected(
        HttpClientRequest.post(`${base}multipart`).pipe(HttpClientRequest.bodyFormData(form))
      )
      expect(seen.method).toBe("POST")
      expect(seen.headers["content-type"]).toMatch(/^multipart\/form-data; ?boundary=/)
      expect(seen.body).toContain("my_field=")
    }))

  it.scopedLive("should allow POST request with form-data as body and custom headers", () =>
    Effect.gen(function*() {
      const { base } = yield* setup
      const form = new FormData()
      form.append("a", "1")
      const seen = yield* inspected(
        HttpClientRequest.post(`${base}multipart`).pipe(
          HttpClientRequest.bodyFormData(form),
          HttpClientRequest.setHeader("b", "2")
        )
      )
      expect(seen.headers["content-type"]).toMatch(/^multipart\/form-data; ?boundary=/)
      expect(seen.headers.b).toBe("2")
      expect(seen.body).toBe("a=1")
    }))

  it.scopedLive("should support spec-compliant form-data as POST body", () =>
    Effect.gen(function*() {
      const { base } = yield* setup
      const form = new FormData()
      form.set("field", "some text")
      form.set("file", new File(["dummy"], "dummy.txt", { type: "text/plain" }))
      const seen = yield* inspected(
        HttpClientRequest.post(`${base}multipart`).pipe(HttpClientRequest.bodyFormData(form))
      )
      expect(seen.headers["content-type"]).toMatch(/^multipart\/form-data/)
      expect(seen.body).toContain("field=some text")
      expect(seen.body).toContain("file=dummy.txt")
    }))

  it.scopedLive("should allow POST request with object body", () =>
    Effect.gen(function*() {
      // node-fetch sends `String(body)`, "[object Object]"; SturdyClient sends a non-HttpBody value as JSON
      const { api } = yield* setup
      const seen = yield* api.post("inspect", { body: { a: 1 }, schema: Inspected })
      expect(seen.method).toBe("POST")
      expect(seen.body).toBe("{\"a\":1}")
      expect(seen.headers["content-type"]).toBe("application/json")
      expect(seen.headers["content-length"]).toBe("7")
    }))

  const urlParamsCase = (name: string, make: () => URLSearchParams) =>
    it.scopedLive(name, () =>
      Effect.gen(function*() {
        const parameters = make()
        parameters.append("a", "1")
        const seen = yield* sent("POST", HttpBody.urlParams(UrlParams.fromInput(parameters)))
        expect(seen.method).toBe("POST")
        expect(seen.headers["content-type"]).toBe("application/x-www-form-urlencoded")
        expect(seen.headers["content-length"]).toBe("3")
        expect(seen.body).toBe("a=1")
      }))

  urlParamsCase("should allow POST request with URLSearchParams as body", () => new URLSearchParams())
  urlParamsCase("should still recognize URLSearchParams when extended", () => {
    class CustomSearchParameters extends URLSearchParams {}
    return new CustomSearchParameters()
  })

  it.scopedLive("should overwrite Content-Length if possible", () =>
    Effect.gen(function*() {
      // node-fetch sends the body's own length; Sturdy refuses a Content-Length the body does not match, unsent
      const { base, client, server } = yield* setup
      const failure = failureOf(
        yield* Effect.exit(Attempt.send(
          client,
          HttpClientRequest.post(`${base}inspect`).pipe(
            HttpClientRequest.bodyText("a=1"),
            HttpClientRequest.setHeader("Content-Length", "1000")
          )
        ))
      )
      expect(failure).toMatchObject({ _tag: "InvalidRequest", reason: "InvalidHeader" })
      expect(server.requests).toHaveLength(0)
    }))

  it.scopedLive("should allow PUT request", () =>
    Effect.gen(function*() {
      const seen = yield* sent("PUT", HttpBody.text("a=1"))
      expect(seen.method).toBe("PUT")
      expect(seen.body).toBe("a=1")
    }))

  it.scopedLive("should allow DELETE request", () =>
    Effect.gen(function*() {
      expect((yield* sent("DELETE")).method).toBe("DELETE")
    }))

  it.scopedLive("should allow DELETE request with string body", () =>
    Effect.gen(function*() {
      const seen = yield* sent("DELETE", HttpBody.text("a=1"))
      expect(seen.method).toBe("DELETE")
      expect(seen.body).toBe("a=1")
      expect(seen.headers["transfer-encoding"]).toBeUndefined()
      expect(seen.headers["content-length"]).toBe("3")
    }))

  it.scopedLive("should allow PATCH request", () =>
    Effect.gen(function*() {
      const seen = yield* sent("PATCH", HttpBody.text("a=1"))
      expect(seen.method).toBe("PATCH")
      expect(seen.body).toBe("a=1")
    }))

  it.scopedLive("should allow HEAD request", () =>
    Effect.gen(function*() {
      const { api } = yield* setup
      const received = yield* api.head("hello")
      expect(received.status).toBe(200)
      expect(received.headers["content-type"]).toBe("text/plain")
      expect(received.text).toBe("")
    }))

  it.scopedLive("should allow HEAD request with content-encoding header", () =>
    Effect.gen(function*() {
      const { base, client } = yield* setup
      const res = yield* Loopback.exchange(client, HttpClientRequest.head(`${base}error/404`))
      expect(res.status).toBe(404)
      expect(res.headers["content-encoding"]).toBe("gzip")
      expect(res.text).toBe("")
    }))

  it.scopedLive("should allow OPTIONS request", () =>
    Effect.gen(function*() {
      const { api } = yield* setup
      const received = yield* api.options("options")
      expect(received.status).toBe(200)
      expect(received.headers.allow).toBe("GET, HEAD, OPTIONS")
      expect(received.text).toBe("hello world")
    }))
})

describe("node-fetch test/response.js: a BOM on the wire", () => {
  it.scopedLive("should decode responses containing BOM to json", () =>
    Effect.gen(function*() {
      const { api } = yield* setup
      expect(yield* api.get("bom", { schema: Schema.Struct({ a: Schema.Number }) })).toEqual({ a: 1 })
    }))

  it.scopedLive("should decode responses containing BOM to text", () =>
    Effect.gen(function*() {
      const { api } = yield* setup
      expect((yield* api.get("bom")).text).toBe("{\"a\":1}")
    }))

  it.scopedLive("should keep BOM when getting raw bytes", () =>
    Effect.gen(function*() {
      const { api } = yield* setup
      expect((yield* api.get("bom")).body.byteLength).toBe(10)
    }))
})

describe("node-fetch test/main.js: URLs and request headers on the wire", () => {
  it.scopedLive("should set default Accept header", () =>
    Effect.gen(function*() {
      // node-fetch sends `*/*`; Sturdy's `send` sends none, its `json` the types it expects (Attempt's table)
      const { api } = yield* setup
      const sent = yield* api.get("inspect", { expectedContentTypes: [] })
      expect(JSON.parse(sent.text).headers.accept).toBeUndefined()
      const asJson = yield* api.get("inspect", { schema: Inspected })
      expect(asJson.headers.accept).toBe("application/json")
    }))

  it.scopedLive("should allow setting Accept header", () =>
    Effect.gen(function*() {
      const { api } = yield* setup
      const seen = yield* api.get("inspect", { headers: { accept: "application/json" }, schema: Inspected })
      expect(seen.headers.accept).toBe("application/json")
      const other = yield* api.get("inspect", { headers: { accept: "application/vnd.api+json" }, schema: Inspected })
      expect(other.headers.accept).toBe("application/vnd.api+json")
    }))

  it.scopedLive("should allow setting User-Agent", () =>
    Effect.gen(function*() {
      const { api } = yield* setup
      const seen = yield* api.get("inspect", { headers: { "user-agent": "faked" }, schema: Inspected })
      expect(seen.headers["user-agent"]).toBe("faked")
    }))

  it.scopedLive("should support fetch with Request instance", () =>
    Effect.gen(function*() {
      const { api, base } = yield* setup
      const received = yield* api.execute(HttpClientRequest.get(`${base}hello`))
      expect(received.response.request.url).toBe(`${base}hello`)
      expect(received.status).toBe(200)
    }))

  it.scopedLive("should support fetch with Node.js URL object", () =>
    Effect.gen(function*() {
      // the peer's code is the same as the next case's (a WHATWG `URL` from `node:url`'s global)
      const { base, client } = yield* setup
      const received = yield* Attempt.send(client, HttpClientRequest.get(new URL(`${base}hello`)))
      expect(received.response.request.url).toBe(`${base}hello`)
      expect(received.status).toBe(200)
    }))

  it.scopedLive("should support fetch with WHATWG URL object", () =>
    Effect.gen(function*() {
      const { base, client } = yield* setup
      const received = yield* Attempt.send(client, HttpClientRequest.get(new URL(`${base}hello`)))
      expect(received.response.request.url).toBe(`${base}hello`)
      expect(received.text).toBe("world")
    }))

  it.scopedLive("should keep `?` sign in URL when no params are given", () =>
    Effect.gen(function*() {
      const { base, client, server } = yield* setup
      // (the transport once sent `/question`: fixed, see UndiciHttpClient.test.ts "an empty query keeps its `?`...")
      const received = yield* Attempt.send(client, HttpClientRequest.get(`${base}question?`))
      expect(received.status).toBe(200)
      expect(received.response.request.url).toBe(`${base}question?`)
      expect(server.requests[0]!.url).toBe("/question?")
      // the peer's `new URL(url)`: Effect's `HttpClientRequest` takes a URL object's query apart into `urlParams`, so
      // an empty one is gone before the transport sees the request
      yield* Attempt.send(client, HttpClientRequest.get(new URL(`${base}question?`)))
      expect(server.requests[1]!.url).toBe("/question")
    }))

  it.scopedLive("if params are given, do not modify anything", () =>
    Effect.gen(function*() {
      const { base, client, server } = yield* setup
      const received = yield* Attempt.send(client, HttpClientRequest.get(new URL(`${base}question?a=1`)))
      expect(received.status).toBe(200)
      expect(server.requests[0]!.url).toBe("/question?a=1")
    }))

  it.scopedLive("should preserve the hash (#) symbol", () =>
    Effect.gen(function*() {
      // the fragment is the client's alone (UndiciHttpClient's documentation): kept on the request, never sent
      const { base, client, server } = yield* setup
      const res = yield* Loopback.exchange(client, HttpClientRequest.get(`${base}question?#frag`))
      expect(res.status).toBe(200)
      expect(res.url).toBe(`${base}question?#frag`)
      expect(server.requests[0]!.url).toBe("/question?")
    }))

  it.scopedLive("should encode URLs as UTF-8", () =>
    Effect.gen(function*() {
      const { base, client, server } = yield* setup
      const received = yield* Attempt.send(client, HttpClientRequest.get(`${base}möbius`))
      expect(received.text).toBe("ok")
      expect(server.requests[0]!.url).toBe("/m%C3%B6bius")
    }))
})

describe("node-fetch test/headers.js: illegal headers are not sent", () => {
  it.scopedLive("should reject illegal header", () =>
    Effect.gen(function*() {
      const { base, client, server } = yield* setup
      for (const [name, value] of [["He y", "ok"], ["Hé-y", "ok"], ["He-y", "ăk"], ["", "ok"]]) {
        const exit = yield* Effect.exit(
          Attempt.send(client, HttpClientRequest.get(`${base}hello`).pipe(HttpClientRequest.setHeader(name, value)))
        )
        const failure = failureOf(exit)
        expect(failure, `${name}: ${value}`).toMatchObject({ _tag: "InvalidRequest", reason: "InvalidHeader" })
      }
      expect(server.requests).toHaveLength(0)
    }))
})
