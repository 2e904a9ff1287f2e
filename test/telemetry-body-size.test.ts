/**
 * `http.request.body.size` and `http.response.body.size` on the attempt's client span (`Telemetry.attempt`'s, or the
 * redacted `http.client` span `Attempt` gives outside it), against `node:http` servers on 127.0.0.1: identity and
 * gzip bodies, with Content-Length and chunked, through `@sturdy/node`'s transport with and without `decompress`
 * and through fetch (which decodes and keeps `Content-Encoding`).
 */
import { FetchHttpClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Attempt, Auth, Download, HttpCache, SturdyClient, Telemetry } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { TestTracer } from "@sturdy/testing"
import { Context, Effect, Layer, Redacted, Schema, Stream } from "effect"
import * as Zlib from "node:zlib"
import * as Loop from "./utils/loopbackServer.js"
import { failureIn } from "./utils/undiciClient.js"

const clientOf = (layer: Layer.Layer<HttpClient.HttpClient>) =>
  Effect.map(Layer.build(layer), Context.get(HttpClient.HttpClient))

// 200 KiB of JSON: more than one chunk on the wire (undici hands over 64 KiB at most), compressible
const items = Array.from({ length: 8_000 }, (_, i) => ({ id: i, name: `item-${i}` }))
const json = JSON.stringify(items)
const identityBytes = Buffer.from(json)
const gzipBytes = Zlib.gzipSync(json)
const Items = Schema.Array(Schema.Struct({ id: Schema.Number, name: Schema.String }))

const serve =
  (body: Buffer, options: { readonly gzip: boolean; readonly chunked: boolean }): Loop.Handler => (_, res) => {
    res.setHeader("content-type", "application/json")
    if (options.gzip) res.setHeader("content-encoding", "gzip")
    if (options.chunked) {
      // written in pieces without a length: Transfer-Encoding: chunked
      for (let offset = 0; offset < body.length; offset += 10_000) res.write(body.subarray(offset, offset + 10_000))
      res.end()
    } else {
      res.setHeader("content-length", body.length)
      res.end(body)
    }
  }

const attributesOf = (span: TestTracer.CollectedSpan) => Object.fromEntries(span.attributes)

const attemptSpan = (spans: ReadonlyArray<TestTracer.CollectedSpan>) => {
  const found = spans.filter((span) =>
    span.name === "http.client.attempt GET" || span.name === "http.client.attempt POST"
  )
  expect(found).toHaveLength(1)
  return found[0]
}

describe("http.response.body.size: the bytes on the wire", () => {
  for (const chunked of [false, true]) {
    const framing = chunked ? "chunked" : "Content-Length"
    it.scoped(`identity body (${framing}): the bytes read, on the attempt span`, () =>
      Effect.gen(function*() {
        const server = yield* Loop.start({ "/items": serve(identityBytes, { gzip: false, chunked }) })
        const client = yield* clientOf(UndiciHttpClient.layer())
        const { spans, tracer } = TestTracer.make()
        const request = HttpClientRequest.get(`${server.url}/items`)
        const decoded = yield* Telemetry.attempt(request, (ready) => Attempt.json(client, ready, Items)).pipe(
          Effect.withTracer(tracer)
        )
        expect(decoded).toHaveLength(items.length)
        expect(attributesOf(attemptSpan(spans))).toMatchObject({
          "http.request.body.size": 0,
          "http.response.body.size": identityBytes.length
        })
      }))

    it.scoped(`gzip body decoded by the transport (${framing}): the compressed size`, () =>
      Effect.gen(function*() {
        const server = yield* Loop.start({ "/items": serve(gzipBytes, { gzip: true, chunked }) })
        const client = yield* clientOf(UndiciHttpClient.layer({ decompress: true }))
        const { spans, tracer } = TestTracer.make()
        const request = HttpClientRequest.get(`${server.url}/items`)
        const decoded = yield* Telemetry.attempt(request, (ready) => Attempt.json(client, ready, Items)).pipe(
          Effect.withTracer(tracer)
        )
        expect(decoded).toHaveLength(items.length)
        expect(gzipBytes.length).toBeLessThan(identityBytes.length / 2)
        expect(attemptSpan(spans).attributes.get("http.response.body.size")).toBe(gzipBytes.length)
      }))
  }

  it.scoped("fetch decodes and keeps Content-Encoding: the Content-Length; chunked: absent", () =>
    Effect.gen(function*() {
      const server = yield* Loop.start({
        "/length": serve(gzipBytes, { gzip: true, chunked: false }),
        "/chunked": serve(gzipBytes, { gzip: true, chunked: true })
      })
      const client = yield* clientOf(FetchHttpClient.layer)
      for (const [path, expected] of [["/length", gzipBytes.length], ["/chunked", undefined]] as const) {
        const { spans, tracer } = TestTracer.make()
        const request = HttpClientRequest.get(`${server.url}${path}`)
        yield* Telemetry.attempt(request, (ready) => Attempt.json(client, ready, Items)).pipe(Effect.withTracer(tracer))
        expect(attemptSpan(spans).attributes.get("http.response.body.size"), path).toBe(expected)
      }
    }))

  it.scoped("through Auth's middleware (its credential-redacting response): still the compressed size", () =>
    Effect.gen(function*() {
      const server = yield* Loop.start({ "/items": serve(gzipBytes, { gzip: true, chunked: true }) })
      const client = (yield* clientOf(UndiciHttpClient.layer({ decompress: true }))).pipe(
        Auth.bearer(Redacted.make("body-size-token"))
      )
      const { spans, tracer } = TestTracer.make()
      const request = HttpClientRequest.get(`${server.url}/items`)
      yield* Telemetry.attempt(request, (ready) => Attempt.json(client, ready, Items)).pipe(Effect.withTracer(tracer))
      expect(attemptSpan(spans).attributes.get("http.response.body.size")).toBe(gzipBytes.length)
    }))

  it.scoped("outside Telemetry.attempt: on the redacted http.client span Attempt gives", () =>
    Effect.gen(function*() {
      const server = yield* Loop.start({ "/items": serve(gzipBytes, { gzip: true, chunked: true }) })
      const client = yield* clientOf(UndiciHttpClient.layer({ decompress: true }))
      const { spans, tracer } = TestTracer.make()
      yield* Attempt.json(client, HttpClientRequest.get(`${server.url}/items`), Items).pipe(Effect.withTracer(tracer))
      const [span] = spans.filter((span) => span.kind === "client")
      expect(attributesOf(span)).toMatchObject({
        "http.request.body.size": 0,
        "http.response.body.size": gzipBytes.length
      })
    }))

  it.scoped("a SturdyClient with a cache: the miss's body size on its request's span, a fresh hit sends nothing", () =>
    Effect.gen(function*() {
      const server = yield* Loop.start({
        "/items": (request, res) => {
          res.setHeader("cache-control", "max-age=60")
          serve(gzipBytes, { gzip: true, chunked: true })(request, res, "")
        }
      })
      const client = yield* clientOf(UndiciHttpClient.layer({ decompress: true }))
      const store = yield* HttpCache.makeMemory()
      const cache = yield* HttpCache.make().pipe(Effect.provideService(HttpCache.Store, store))
      const api = SturdyClient.makeWith(client, { baseUrl: server.url, cache })
      const { spans, tracer } = TestTracer.make()
      yield* api.get("/items").pipe(Effect.withTracer(tracer))
      yield* api.get("/items").pipe(Effect.withTracer(tracer))
      expect(server.requests).toHaveLength(1)
      // no policy: the redacted http.client span of the one request
      const sent = spans.filter((span) => span.kind === "client")
      expect(sent).toHaveLength(1)
      expect(sent[0].attributes.get("http.response.body.size")).toBe(gzipBytes.length)
    }))

  it.scoped("HEAD and 204: 0 bytes on the wire, whatever Content-Length says of the representation", () =>
    Effect.gen(function*() {
      const server = yield* Loop.start({
        "/head": (_, res) => {
          res.setHeader("content-length", 12_345)
          res.setHeader("content-encoding", "gzip")
          res.end()
        },
        "/none": (_, res) => {
          res.statusCode = 204
          res.end()
        }
      })
      for (const layer of [UndiciHttpClient.layer({ decompress: true }), FetchHttpClient.layer]) {
        const client = yield* clientOf(layer)
        for (
          const request of [HttpClientRequest.head(`${server.url}/head`), HttpClientRequest.get(`${server.url}/none`)]
        ) {
          const { spans, tracer } = TestTracer.make()
          yield* Telemetry.attempt(request, (ready) => Attempt.send(client, ready)).pipe(Effect.withTracer(tracer))
          const [span] = spans
          expect(span.attributes.get("http.response.body.size"), request.method).toBe(0)
        }
      }
    }))

  it.scoped("an error body read whole: its size; one past the excerpt's 64 KiB (read only in part): none", () =>
    Effect.gen(function*() {
      const small = Zlib.gzipSync(JSON.stringify({ error: "not found" }))
      const server = yield* Loop.start({
        "/small": (request, res) => {
          res.statusCode = 404
          serve(small, { gzip: true, chunked: false })(request, res, "")
        },
        "/large": (request, res) => {
          res.statusCode = 500
          serve(identityBytes, { gzip: false, chunked: true })(request, res, "")
        }
      })
      const client = yield* clientOf(UndiciHttpClient.layer({ decompress: true }))
      for (
        const [path, tag, expected] of [["/small", "ClientError", small.length], [
          "/large",
          "ServerError",
          undefined
        ]] as const
      ) {
        const { spans, tracer } = TestTracer.make()
        const request = HttpClientRequest.get(`${server.url}${path}`)
        const failure = yield* failureIn(
          Telemetry.attempt(request, (ready) => Attempt.send(client, ready)).pipe(Effect.withTracer(tracer))
        )
        expect(failure._tag).toBe(tag)
        expect(attemptSpan(spans).attributes.get("http.response.body.size"), path).toBe(expected)
      }
    }))

  it.scoped("a truncated body: no size (the failure's receivedBytes tells), the attempt fails with BodyTruncated", () =>
    Effect.gen(function*() {
      const server = yield* Loop.start({
        "/cut": (_, res) => {
          res.setHeader("content-length", 100_000)
          res.write(identityBytes.subarray(0, 70_000))
          setTimeout(() => res.destroy(), 20)
        }
      })
      const client = yield* clientOf(UndiciHttpClient.layer())
      const { spans, tracer } = TestTracer.make()
      const request = HttpClientRequest.get(`${server.url}/cut`)
      const failure = yield* failureIn(
        Telemetry.attempt(request, (ready) => Attempt.send(client, ready)).pipe(Effect.withTracer(tracer))
      )
      expect(failure._tag).toBe("BodyTruncated")
      expect(attemptSpan(spans).attributes.has("http.response.body.size")).toBe(false)
    }))

  it.scoped("a Download (streamed body) records none; its request span ends at the head as before", () =>
    Effect.gen(function*() {
      const server = yield* Loop.start({ "/file": serve(identityBytes, { gzip: false, chunked: false }) })
      const client = yield* clientOf(UndiciHttpClient.layer())
      const { spans, tracer } = TestTracer.make()
      const bytes = yield* Download.stream(HttpClientRequest.get(`${server.url}/file`)).pipe(
        Stream.runFold(0, (total, chunk) => total + chunk.length),
        Effect.provideService(HttpClient.HttpClient, client),
        Effect.withTracer(tracer)
      )
      expect(bytes).toBe(identityBytes.length)
      expect(spans.some((span) => span.attributes.has("http.response.body.size"))).toBe(false)
    }))

  it.scoped("a logical call without Telemetry.attempt: its internal span gets no size (a client span does)", () =>
    Effect.gen(function*() {
      const server = yield* Loop.start({ "/items": serve(identityBytes, { gzip: false, chunked: false }) })
      const client = yield* clientOf(UndiciHttpClient.layer())
      const { spans, tracer } = TestTracer.make()
      const request = HttpClientRequest.get(`${server.url}/items`)
      yield* Attempt.json(client, request, Items).pipe(Telemetry.logicalCall(request), Effect.withTracer(tracer))
      expect(spans.map((span) => span.name)).toEqual(["http.client.request GET"])
      expect(spans[0].attributes.has("http.response.body.size")).toBe(false)
    }))

  it.scoped("no tracer: nothing recorded, the body read as before", () =>
    Effect.gen(function*() {
      const server = yield* Loop.start({ "/items": serve(gzipBytes, { gzip: true, chunked: true }) })
      const client = yield* clientOf(UndiciHttpClient.layer({ decompress: true }))
      const request = HttpClientRequest.get(`${server.url}/items`)
      expect(yield* Telemetry.attempt(request, (ready) => Attempt.json(client, ready, Items))).toHaveLength(
        items.length
      )
    }))
})

describe("http.request.body.size: a length known before sending", () => {
  it.scoped("bytes and text (encoded): their length; a stream: absent", () =>
    Effect.gen(function*() {
      const server = yield* Loop.start({ "/echo": (_, res) => res.end("ok") })
      const client = yield* clientOf(UndiciHttpClient.layer())
      const post = HttpClientRequest.post(`${server.url}/echo`)
      const cases = [
        [HttpClientRequest.bodyText(post, "héllo"), 6],
        [HttpClientRequest.bodyUint8Array(post, new Uint8Array(1_000)), 1_000],
        [HttpClientRequest.bodyStream(post, Stream.make(new Uint8Array(3), new Uint8Array(4))), undefined]
      ] as const
      for (const [request, expected] of cases) {
        const { spans, tracer } = TestTracer.make()
        yield* Telemetry.attempt(request, (ready) => Attempt.send(client, ready)).pipe(Effect.withTracer(tracer))
        expect(attemptSpan(spans).attributes.get("http.request.body.size"), request.body._tag).toBe(expected)
      }
    }))

  it.scoped("the transport's own span (a plain HttpClient call, no Attempt): the same attribute", () =>
    Effect.gen(function*() {
      const server = yield* Loop.start({ "/echo": (_, res) => res.end("ok") })
      const client = yield* clientOf(UndiciHttpClient.layer())
      const { spans, tracer } = TestTracer.make()
      const request = HttpClientRequest.bodyText(HttpClientRequest.post(`${server.url}/echo`), "héllo")
      yield* Effect.scoped(client.execute(request)).pipe(Effect.withTracer(tracer))
      const [span] = spans.filter((span) => span.kind === "client")
      expect(span.attributes.get("http.request.body.size")).toBe(6)
    }))
})
