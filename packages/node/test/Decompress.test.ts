// The `decompress` option of `UndiciHttpClient` (0.2): Accept-Encoding sent, gzip / x-gzip / deflate (zlib and raw) /
// br and lists of them decoded as they arrive, Content-Encoding and Content-Length removed from what the caller sees,
// compression bombs stopped at `maxBodyBytes` (through Attempt) or `maxDecompressionRatio` (the HttpClient itself),
// corrupt data `BodyUndecodable`, cut data `BodyTruncated`, streams delivered incrementally. Real servers on 127.0.0.1.
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Attempt, Download, EventStream, HttpFailure } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { Cause, Chunk, Effect, Exit, Schedule, Schema, Stream } from "effect"
import * as fc from "fast-check"
import * as Http from "node:http"
import type * as Net from "node:net"
import * as Zlib from "node:zlib"
import { Agent } from "undici"
import * as Decompress from "../src/internal/decompress.js"

// -----------------------------------------------------------------------------
// encodings, as a server applies them
// -----------------------------------------------------------------------------

/** A coding as the server applies it; `deflate-raw` is labelled `deflate` (raw deflate, as some servers send it). */
type ServerCoding = "gzip" | "x-gzip" | "deflate" | "deflate-raw" | "br" | "identity"

const encodeOne = (coding: ServerCoding, bytes: Buffer): Buffer => {
  switch (coding) {
    case "gzip":
    case "x-gzip":
      return Zlib.gzipSync(bytes)
    case "deflate":
      return Zlib.deflateSync(bytes)
    case "deflate-raw":
      return Zlib.deflateRawSync(bytes)
    case "br":
      return Zlib.brotliCompressSync(bytes)
    case "identity":
      return bytes
  }
}

/** The bytes after applying `codings` in order, and the Content-Encoding that says so. */
const encode = (codings: ReadonlyArray<ServerCoding>, bytes: Buffer) => ({
  body: codings.reduce((acc, coding) => encodeOne(coding, acc), bytes),
  header: codings.map((coding) => coding === "deflate-raw" ? "deflate" : coding).join(", ")
})

/**
 * A gzip stream that inflates to `megabytes` MiB of zeros, built from one deflate block sequence repeated (no 1 GiB
 * buffer is ever made); its trailer is not checked (the read must stop long before it).
 */
const gzipOfZeros = (megabytes: number): Buffer => {
  const block = Zlib.deflateRawSync(Buffer.alloc(1 << 20), { level: 9, finishFlush: Zlib.constants.Z_FULL_FLUSH })
  const parts = [Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff])]
  for (let i = 0; i < megabytes; i++) parts.push(block)
  parts.push(Buffer.from([3, 0]), Buffer.alloc(8))
  return Buffer.concat(parts)
}

// 1 GiB of zeros, gzipped and then brotli'd: about 64 bytes on the wire
const bomb = Zlib.brotliCompressSync(gzipOfZeros(1024))

// -----------------------------------------------------------------------------
// the server
// -----------------------------------------------------------------------------

interface Case {
  readonly status?: number
  readonly headers?: Record<string, string>
  /** written one after the other, each flushed */
  readonly chunks: ReadonlyArray<Buffer>
  /** then: end the response (default), keep it open, or destroy the socket */
  readonly then?: "end" | "hold" | "destroy"
}

const cases = new Map<string, Case>()
let caseId = 0
const seen: Array<Http.IncomingHttpHeaders> = []
const closedSockets: Array<string> = []
let sseRelease: (() => void) | undefined
const downloads: Array<{ readonly range: string | undefined; readonly acceptEncoding: string | undefined }> = []
const downloadBody = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7919) % 251))

const serve = (response: Http.ServerResponse, served: Case) => {
  response.writeHead(served.status ?? 200, served.headers ?? {})
  response.flushHeaders()
  const write = (index: number): void => {
    if (index === served.chunks.length) {
      if (served.then === "destroy") response.socket?.destroy()
      else if (served.then !== "hold") response.end()
      return
    }
    response.write(served.chunks[index], () => write(index + 1))
  }
  write(0)
}

let server: Http.Server
let base: string

beforeAll(async () => {
  server = Http.createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1")
    seen.push(request.headers)
    const tag = url.searchParams.get("tag")
    if (tag !== null) request.socket.once("close", () => closedSockets.push(tag))
    if (url.pathname === "/case") {
      const served = cases.get(url.searchParams.get("id") ?? "")
      if (served === undefined) {
        response.writeHead(404).end()
        return
      }
      return serve(response, served)
    }
    if (url.pathname === "/accept") {
      response.writeHead(200, { "content-type": "application/json" })
      response.end(JSON.stringify({ acceptEncoding: request.headers["accept-encoding"] ?? null }))
      return
    }
    if (url.pathname === "/sse") {
      // each event gzipped and flushed on its own; the second only once the test has read the first
      const gzip = Zlib.createGzip()
      response.writeHead(200, { "content-type": "text/event-stream", "content-encoding": "gzip" })
      gzip.on("data", (chunk: Buffer) => response.write(chunk))
      gzip.write("data: one\n\n")
      gzip.flush(Zlib.constants.Z_SYNC_FLUSH)
      sseRelease = () => {
        gzip.end("data: two\n\n")
        gzip.on("end", () => response.end())
      }
      return
    }
    if (url.pathname === "/download") {
      // a representation with a strong ETag and ranges; gzipped only when asked for; the first answer cut halfway
      const range = request.headers["range"]
      downloads.push({ range, acceptEncoding: request.headers["accept-encoding"] })
      if (request.headers["accept-encoding"]?.includes("gzip")) {
        response.writeHead(200, { etag: "\"v1-gzip\"", "content-encoding": "gzip" })
        response.end(Zlib.gzipSync(downloadBody))
        return
      }
      if (range === undefined) {
        response.writeHead(200, { etag: "\"v1\"", "accept-ranges": "bytes", "content-length": downloadBody.length })
        response.write(downloadBody.subarray(0, downloadBody.length >> 1), () => response.socket?.destroy())
        return
      }
      const start = Number(/^bytes=(\d+)-$/.exec(range)?.[1] ?? 0)
      response.writeHead(206, {
        etag: "\"v1\"",
        "content-range": `bytes ${start}-${downloadBody.length - 1}/${downloadBody.length}`,
        "content-length": downloadBody.length - start
      })
      response.end(downloadBody.subarray(start))
      return
    }
    response.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  base = `http://127.0.0.1:${(server.address() as Net.AddressInfo).port}`
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

/** A URL serving `served`. */
const caseUrl = (served: Case, tag?: string): string => {
  const id = String(caseId++)
  cases.set(id, served)
  return `${base}/case?id=${id}${tag === undefined ? "" : `&tag=${tag}`}`
}

/** A JSON body encoded with `codings`, declared with its Content-Length and cut into `cuts` pieces. */
const encodedJson = (value: unknown, codings: ReadonlyArray<ServerCoding>, cutAt: ReadonlyArray<number> = []): Case => {
  const { body, header } = encode(codings, Buffer.from(JSON.stringify(value)))
  const points = [...new Set(cutAt.map((at) => at % (body.length + 1)))].sort((a, b) => a - b)
  const chunks: Array<Buffer> = []
  let from = 0
  for (const at of [...points, body.length]) {
    if (at > from) chunks.push(body.subarray(from, at))
    from = Math.max(from, at)
  }
  return {
    headers: { "content-type": "application/json", "content-encoding": header, "content-length": String(body.length) },
    chunks
  }
}

const withClient = <A, E>(
  options: UndiciHttpClient.DispatcherOptions,
  use: (client: HttpClient.HttpClient) => Effect.Effect<A, E>
) => Effect.scoped(Effect.flatMap(UndiciHttpClient.makeDispatcher(options), (d) => use(UndiciHttpClient.make(d))))

const on = { decompress: true } as const
const Hello = Schema.Struct({ hello: Schema.String })

// -----------------------------------------------------------------------------

describe("UndiciHttpClient decompress: requests", () => {
  it.live("Accept-Encoding: none by default; gzip, deflate, br with decompress; a caller's own kept; none with Range", () =>
    Effect.gen(function*() {
      const accept = (options: UndiciHttpClient.DispatcherOptions, request = HttpClientRequest.get(`${base}/accept`)) =>
        withClient(options, (client) => Effect.flatMap(client.execute(request), (response) => response.json))
      expect(yield* accept({})).toEqual({ acceptEncoding: null })
      expect(yield* accept(on)).toEqual({
        acceptEncoding: Decompress.zstdSupported ? "gzip, deflate, br, zstd" : "gzip, deflate, br"
      })
      expect(yield* accept({ decompress: ["br", "gzip"] })).toEqual({ acceptEncoding: "gzip, br" })
      expect(
        yield* accept(
          on,
          HttpClientRequest.get(`${base}/accept`).pipe(HttpClientRequest.setHeader("accept-encoding", "identity"))
        )
      )
        .toEqual({ acceptEncoding: "identity" })
      expect(
        yield* accept(
          on,
          HttpClientRequest.get(`${base}/accept`).pipe(HttpClientRequest.setHeader("range", "bytes=0-"))
        )
      )
        .toEqual({ acceptEncoding: null })
    }))

  it("zstd is advertised only where Node's zlib has it", () => {
    expect(Decompress.supportedCodings.includes("zstd")).toBe(
      typeof (Zlib as Record<string, unknown>)["createZstdDecompress"] === "function"
    )
  })
})

describe("UndiciHttpClient decompress: responses", () => {
  it.live("each coding and lists of them decode; Content-Encoding and Content-Length are removed", () =>
    Effect.gen(function*() {
      const lists: ReadonlyArray<ReadonlyArray<ServerCoding>> = [
        ["gzip"],
        ["x-gzip"],
        ["deflate"],
        ["deflate-raw"],
        ["br"],
        ["gzip", "br"],
        ["deflate", "gzip"],
        ["identity", "gzip", "identity"],
        ["br", "deflate-raw", "gzip"]
      ]
      for (const codings of lists) {
        const url = caseUrl(encodedJson({ hello: codings.join("+") }, codings))
        const response = yield* withClient(
          on,
          (client) =>
            Effect.flatMap(
              client.execute(HttpClientRequest.get(url)),
              (response) => Effect.map(response.json, (body) => ({ body, headers: response.headers }))
            )
        )
        expect(response.body, codings.join(",")).toEqual({ hello: codings.join("+") })
        expect(response.headers["content-encoding"], codings.join(",")).toBeUndefined()
        expect(response.headers["content-length"], codings.join(",")).toBeUndefined()
        expect(response.headers["content-type"]).toBe("application/json")
        // through Attempt too (its length check and JSON decoding)
        const viaAttempt = yield* withClient(
          on,
          (client) => Attempt.json(client, HttpClientRequest.get(caseUrl(encodedJson({ hello: "x" }, codings))), Hello)
        )
        expect(viaAttempt).toEqual({ hello: "x" })
      }
    }))

  it.live("without decompress a compressed body is handed over as sent, headers and all", () =>
    Effect.gen(function*() {
      const served = encodedJson({ hello: "world" }, ["gzip"])
      const response = yield* withClient({}, (client) =>
        Effect.flatMap(client.execute(HttpClientRequest.get(caseUrl(served))), (response) =>
          Effect.map(response.arrayBuffer, (body) => ({ body: Buffer.from(body), headers: response.headers }))))
      expect(response.body.equals(Buffer.concat(served.chunks))).toBe(true)
      expect(response.headers["content-encoding"]).toBe("gzip")
    }))

  it.live("an unknown coding (or one not asked for): body and headers as sent, and Attempt says it is still compressed", () =>
    Effect.gen(function*() {
      const gz = Zlib.gzipSync(JSON.stringify({ hello: "world" }))
      for (
        const [options, header] of [[on, "compress"], [{ decompress: ["br"] }, "gzip"], [on, "gzip, compress"]] as const
      ) {
        const url = caseUrl({ headers: { "content-encoding": header }, chunks: [gz] })
        const response = yield* withClient(
          options,
          (client) =>
            Effect.flatMap(
              client.execute(HttpClientRequest.get(url)),
              (response) =>
                Effect.map(response.arrayBuffer, (body) => ({ body: Buffer.from(body), headers: response.headers }))
            )
        )
        expect(response.body.equals(gz), header).toBe(true)
        expect(response.headers["content-encoding"]).toBe(header)
        const failure = yield* Effect.flip(
          withClient(options, (client) =>
            Attempt.json(
              client,
              HttpClientRequest.get(caseUrl({ headers: { "content-encoding": header }, chunks: [gz] })),
              Hello
            ))
        )
        expect(failure._tag).toBe("InvalidJson")
        expect((failure as HttpFailure.InvalidJson).detail).toContain("still compressed")
      }
    }))

  it.live("more than 5 codings are not decoded (each stage holds a decompressor)", () =>
    Effect.gen(function*() {
      const six: ReadonlyArray<ServerCoding> = ["gzip", "gzip", "gzip", "gzip", "gzip", "gzip"]
      const served = encodedJson({ hello: "six" }, six)
      const response = yield* withClient(on, (client) =>
        Effect.flatMap(client.execute(HttpClientRequest.get(caseUrl(served))), (response) =>
          Effect.map(response.arrayBuffer, (body) => ({ body: Buffer.from(body), headers: response.headers }))))
      expect(response.body.equals(Buffer.concat(served.chunks))).toBe(true)
      expect(response.headers["content-encoding"]).toBe(six.join(", "))
      const five = yield* withClient(on, (client) =>
        Attempt.json(client, HttpClientRequest.get(caseUrl(encodedJson({ hello: "five" }, six.slice(1)))), Hello))
      expect(five).toEqual({ hello: "five" })
    }))

  it.live("the 'still compressed' hint does not fire for a decoded body that is not JSON", () =>
    Effect.gen(function*() {
      // a decoded body whose first byte no text has: were Content-Encoding kept, Attempt would blame the transport
      const url = caseUrl(encodedJson("ignored", ["gzip"]))
      cases.set(url.split("id=")[1], {
        headers: { "content-encoding": "gzip" },
        chunks: [Zlib.gzipSync(Buffer.from([0x01, 0x02, 0x41]))]
      })
      const failure = yield* Effect.flip(
        withClient(on, (client) => Attempt.json(client, HttpClientRequest.get(url), Hello))
      )
      expect(failure._tag).toBe("InvalidJson")
      expect((failure as HttpFailure.InvalidJson).detail).not.toContain("still compressed")
    }))

  it.live("HEAD, 204 and 304 with a Content-Encoding and no body, and a 200 with an empty body, succeed empty", () =>
    Effect.gen(function*() {
      const headers = { "content-encoding": "gzip" }
      for (const [status, method] of [[200, "HEAD"], [204, "GET"], [304, "GET"], [200, "GET"]] as const) {
        const url = caseUrl({ status, headers, chunks: [] })
        const request = method === "HEAD" ? HttpClientRequest.head(url) : HttpClientRequest.get(url)
        const bytes = yield* withClient(
          on,
          (client) => Effect.flatMap(client.execute(request), (response) => response.arrayBuffer)
        )
        expect(bytes.byteLength, `${method} ${status}`).toBe(0)
        if (status !== 304) {
          const url2 = caseUrl({ status, headers, chunks: [] })
          const received = yield* withClient(
            on,
            (client) =>
              Attempt.send(client, method === "HEAD" ? HttpClientRequest.head(url2) : HttpClientRequest.get(url2))
          )
          expect(received.body.byteLength, `${method} ${status} through Attempt`).toBe(0)
        }
      }
    }))

  it.live("a 206 is handed over as sent: its Content-Range counts encoded bytes", () =>
    Effect.gen(function*() {
      const gz = Zlib.gzipSync("partial")
      const url = caseUrl({
        status: 206,
        headers: { "content-encoding": "gzip", "content-range": `bytes 0-${gz.length - 1}/${gz.length}` },
        chunks: [gz]
      })
      const response = yield* withClient(on, (client) =>
        Effect.flatMap(client.execute(HttpClientRequest.get(url)), (response) =>
          Effect.map(response.arrayBuffer, (body) => ({ body: Buffer.from(body), headers: response.headers }))))
      expect(response.body.equals(gz)).toBe(true)
      expect(response.headers["content-encoding"]).toBe("gzip")
    }))
})

describe("UndiciHttpClient decompress: failures", () => {
  it.live("corrupt compressed data is BodyUndecodable; the coding is named in its cause", () =>
    Effect.gen(function*() {
      const good = Zlib.gzipSync(JSON.stringify({ hello: "world" }))
      const corrupt = Buffer.from(good)
      corrupt[12] ^= 0xff
      for (
        const [header, body] of [["gzip", corrupt], ["br", Buffer.from("definitely not brotli, just text")], [
          "deflate",
          Buffer.from([0x78, 0x9c, 0xff, 0xff, 0xff, 0xff])
        ]] as const
      ) {
        const url = caseUrl({ headers: { "content-encoding": header }, chunks: [body] })
        const failure = yield* Effect.flip(
          withClient(on, (client) => Attempt.json(client, HttpClientRequest.get(url), Hello))
        )
        expect(failure._tag, header).toBe("BodyUndecodable")
        expect((failure as HttpFailure.BodyUndecodable).cause?.message, header).toContain(`Content-Encoding ${header}`)
        expect((failure as HttpFailure.BodyUndecodable).contentEncoding, header).toBe(header)
        expect(HttpFailure.isTransient(failure)).toBe(false)
      }
    }))

  it.live("the failure names the coding whose data did not decode, though the caller sees no Content-Encoding", () =>
    Effect.gen(function*() {
      // gzip applied last, so decoded first: valid gzip around data that is not brotli
      const body = Zlib.gzipSync(Buffer.from("definitely not brotli, just text"))
      const url = caseUrl({ headers: { "content-encoding": "br, gzip" }, chunks: [body] })
      const failure = yield* Effect.flip(
        withClient(on, (client) => Attempt.json(client, HttpClientRequest.get(url), Hello))
      )
      expect(failure._tag).toBe("BodyUndecodable")
      expect((failure as HttpFailure.BodyUndecodable).contentEncoding).toBe("br")
      expect(failure.message).toContain("does not decode as Content-Encoding br")
    }))

  it.live("a compressed stream that ends early (the response complete) is BodyTruncated, transient", () =>
    Effect.gen(function*() {
      const gz = Zlib.gzipSync(JSON.stringify({ hello: "x".repeat(1000) }))
      const url = caseUrl({ headers: { "content-encoding": "gzip" }, chunks: [gz.subarray(0, gz.length - 6)] })
      const failure = yield* Effect.flip(
        withClient(on, (client) => Attempt.json(client, HttpClientRequest.get(url), Hello))
      )
      expect(failure._tag).toBe("BodyTruncated")
      expect(HttpFailure.isTransient(failure)).toBe(true)
    }))

  it.live("a connection lost mid-body is BodyTruncated, not BodyUndecodable (with and without Content-Length)", () =>
    Effect.gen(function*() {
      const gz = Zlib.gzipSync(Buffer.from(JSON.stringify({ hello: "y".repeat(100_000) })), { level: 0 })
      for (const declared of [true, false]) {
        const url = caseUrl({
          headers: { "content-encoding": "gzip", ...(declared ? { "content-length": String(gz.length) } : {}) },
          chunks: [gz.subarray(0, gz.length >> 1)],
          then: "destroy"
        })
        const failure = yield* Effect.flip(
          withClient(on, (client) => Attempt.json(client, HttpClientRequest.get(url), Hello))
        )
        expect(failure._tag, String(declared)).toBe("BodyTruncated")
      }
    }))
})

describe("UndiciHttpClient decompress: compression bombs", () => {
  it.live("1 GiB from 64 bytes: BodyTooLarge through Attempt at maxBodyBytes, without inflating the rest", () =>
    Effect.gen(function*() {
      expect(bomb.length).toBeLessThan(1024)
      const url = caseUrl({
        headers: { "content-encoding": "gzip, br", "content-length": String(bomb.length) },
        chunks: [bomb]
      })
      const heapBefore = process.memoryUsage().rss
      const failure = yield* Effect.flip(
        withClient(
          { ...on, maxDecompressionRatio: Infinity },
          (client) => Attempt.send(client, HttpClientRequest.get(url), { maxBodyBytes: 1024 * 1024 })
        )
      )
      expect(failure._tag).toBe("BodyTooLarge")
      expect((failure as HttpFailure.BodyTooLarge).limitBytes).toBe(1024 * 1024)
      expect(process.memoryUsage().rss - heapBefore).toBeLessThan(200 * 1024 * 1024)
    }))

  it.live("a bomb still arriving: the request is aborted at the limit, its socket closed", () =>
    Effect.gen(function*() {
      const tag = "bomb-held"
      const url = caseUrl({ headers: { "content-encoding": "gzip, br" }, chunks: [bomb], then: "hold" }, tag)
      const failure = yield* Effect.flip(
        withClient(
          { ...on, maxDecompressionRatio: Infinity },
          (client) => Attempt.json(client, HttpClientRequest.get(url), Hello)
        )
      )
      expect(failure._tag).toBe("BodyTooLarge")
      expect(yield* socketClosed(tag)).toBe(true)
    }))

  it.live("the HttpClient itself: maxDecompressionRatio stops a bomb read whole (default 100) and streamed", () =>
    Effect.gen(function*() {
      const url = () => caseUrl({ headers: { "content-encoding": "gzip, br" }, chunks: [bomb] })
      const whole = yield* withClient(
        on,
        (client) =>
          Effect.exit(Effect.flatMap(client.execute(HttpClientRequest.get(url())), (response) => response.arrayBuffer))
      )
      expect(Exit.isFailure(whole)).toBe(true)
      const error = Exit.isFailure(whole) ? (whole.cause as { error?: { cause?: { code?: string } } }).error : undefined
      expect(error?.cause?.code).toBe("UND_ERR_RES_EXCEEDED_MAX_SIZE")
      const streamed = yield* withClient(
        on,
        (client) =>
          Effect.exit(
            Effect.flatMap(client.execute(HttpClientRequest.get(url())), (response) => Stream.runDrain(response.stream))
          )
      )
      expect(Exit.isFailure(streamed)).toBe(true)
      // through Attempt.classify: BodyTooLarge
      const classified = yield* Effect.flip(
        withClient(on, (client) => Attempt.send(client, HttpClientRequest.get(url()), { maxBodyBytes: 2 ** 40 }))
      )
      expect(classified._tag).toBe("BodyTooLarge")
      // a ratio under the grace size is allowed: 1 MiB of zeros is ~1000:1
      const mib = caseUrl({
        headers: { "content-encoding": "gzip" },
        chunks: [Zlib.gzipSync(Buffer.alloc(1024 * 1024))]
      })
      const body = yield* withClient(
        on,
        (client) => Effect.flatMap(client.execute(HttpClientRequest.get(mib)), (response) => response.arrayBuffer)
      )
      expect(body.byteLength).toBe(1024 * 1024)
    }))
})

/** Waits (real time, a few ms at a time, up to 2 s) until the server saw the socket of `tag` close. */
const socketClosed = (tag: string) =>
  Effect.promise(async () => {
    for (let i = 0; i < 400 && !closedSockets.includes(tag); i++) await new Promise((resolve) => setTimeout(resolve, 5))
    return closedSockets.includes(tag)
  })

describe("UndiciHttpClient decompress: a failed decoding aborts the request", () => {
  it.live("a bomb past maxDecompressionRatio, or corrupt data, on a body still arriving: the socket is closed at once", () =>
    Effect.gen(function*() {
      const corrupt = Buffer.from(Zlib.gzipSync("x".repeat(1000)))
      corrupt[12] ^= 0xff
      for (
        const [tag, header, body] of [["ratio-held", "gzip, br", bomb], ["corrupt-held", "gzip", corrupt]] as const
      ) {
        const url = caseUrl({ headers: { "content-encoding": header }, chunks: [body], then: "hold" }, tag)
        // inside the client's scope: closing the dispatcher would close the socket anyway
        const closed = yield* withClient(on, (client) =>
          Effect.gen(function*() {
            const exit = yield* Effect.exit(
              Effect.flatMap(client.execute(HttpClientRequest.get(url)), (response) => response.arrayBuffer)
            )
            expect(Exit.isFailure(exit), tag).toBe(true)
            return yield* socketClosed(tag)
          }))
        expect(closed, tag).toBe(true)
      }
    }))
})

describe("UndiciHttpClient decompress: backpressure", () => {
  it.live("a stream nobody reads stops the decoders: a bomb does not inflate into memory while the reader waits", () =>
    Effect.gen(function*() {
      const url = caseUrl({ headers: { "content-encoding": "gzip, br" }, chunks: [bomb] })
      const grown = yield* withClient(
        { ...on, maxDecompressionRatio: Infinity },
        (client) =>
          Effect.flatMap(
            client.execute(HttpClientRequest.get(url)),
            (response) =>
              Effect.scoped(Effect.gen(function*() {
                const pull = yield* Stream.toPull(response.stream)
                yield* pull
                const before = process.memoryUsage().arrayBuffers
                // the reader waits: were the decoders left running, some hundreds of MiB would pile up meanwhile
                yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 300)))
                return process.memoryUsage().arrayBuffers - before
              }))
          )
      )
      expect(grown).toBeLessThan(16 * 1024 * 1024)
    }))
})

describe("UndiciHttpClient decompress: streams", () => {
  it.live("EventStream over a gzipped stream: the first event arrives before the server sends the second", () =>
    Effect.gen(function*() {
      const events = yield* withClient(
        on,
        (client) =>
          EventStream.make(client, `${base}/sse`, { schedule: Schedule.stop }).pipe(
            // the server sends the second event only once the first has been delivered
            Stream.tap(() => Effect.sync(() => sseRelease?.())),
            Stream.take(2),
            Stream.runCollect,
            Effect.timeout("5 seconds")
          )
      )
      expect(Chunk.toArray(events).map((event) => event.data)).toEqual(["one", "two"])
    }))

  it.live("Download: asks for identity (kept by the transport), and a cut is resumed with Range", () =>
    Effect.gen(function*() {
      downloads.length = 0
      const body = yield* withClient(
        on,
        (client) =>
          Download.bytes(HttpClientRequest.get(`${base}/download`), { schedule: Schedule.recurs(3) }).pipe(
            Effect.provideService(HttpClient.HttpClient, client)
          )
      )
      expect(Buffer.from(body).equals(downloadBody)).toBe(true)
      expect(downloads).toEqual([
        { range: undefined, acceptEncoding: "identity" },
        { range: `bytes=${downloadBody.length >> 1}-`, acceptEncoding: "identity" }
      ])
    }))

  it.live("a gzipped event stream is delivered event by event, not held back until its end", () =>
    Effect.gen(function*() {
      const chunks = yield* withClient(
        on,
        (client) =>
          Effect.flatMap(
            client.execute(HttpClientRequest.get(`${base}/sse`)),
            (response) =>
              Effect.scoped(Effect.gen(function*() {
                const pull = yield* Stream.toPull(response.stream)
                const first = Buffer.concat(Chunk.toArray(yield* pull)).toString()
                // the server sends the second event only now
                sseRelease?.()
                const rest: Array<string> = []
                while (true) {
                  const next = yield* Effect.option(pull)
                  if (next._tag === "None") {
                    break
                  }
                  rest.push(Buffer.concat(Chunk.toArray(next.value)).toString())
                }
                return [first, rest.join("")]
              }))
          )
      )
      expect(chunks).toEqual(["data: one\n\n", "data: two\n\n"])
    }))
})

describe("UndiciHttpClient decompress: property", () => {
  const coding = fc.constantFrom<ServerCoding>("gzip", "x-gzip", "deflate", "deflate-raw", "br", "identity")
  it.live.prop(
    "any JSON value, any coding list, any chunk cutting: Attempt.json returns the value",
    [
      fc.jsonValue({ maxDepth: 4 }),
      fc.array(coding, { minLength: 1, maxLength: 4 }),
      fc.array(fc.nat(4096), { maxLength: 6 })
    ],
    ([value, codings, cuts]) =>
      Effect.gen(function*() {
        const url = caseUrl(encodedJson(value, codings, cuts))
        const decoded = yield* withClient(on, (client) =>
          Attempt.json(client, HttpClientRequest.get(url), Schema.Unknown))
        // JSON itself has no -0
        expect(decoded).toEqual(JSON.parse(JSON.stringify(value)))
      }),
    { fastCheck: { seed: 20261207, numRuns: 150 } }
  )
})

// -----------------------------------------------------------------------------
// make(dispatcher, options): decompression per client, on a dispatcher of the caller's own
// -----------------------------------------------------------------------------

describe("UndiciHttpClient decompress: make's options", () => {
  const gzipped = () => caseUrl(encodedJson({ hello: "world" }, ["gzip"]))
  /** The body and Content-Encoding the caller sees. */
  const read = (client: HttpClient.HttpClient, url: string) =>
    Effect.flatMap(
      client.execute(HttpClientRequest.get(url)),
      (response) =>
        Effect.map(response.arrayBuffer, (body) => [
          Buffer.from(body).equals(Buffer.from(JSON.stringify({ hello: "world" }))) ? "decoded" : "as sent",
          response.headers["content-encoding"] ?? null
        ])
    )
  const accept = (client: HttpClient.HttpClient) =>
    Effect.flatMap(client.execute(HttpClientRequest.get(`${base}/accept`)), (response) => response.json)

  it.live("a dispatcher of the caller's own decodes with make's decompress; a second client on it does not", () =>
    Effect.gen(function*() {
      const agent = new Agent()
      const decoding = UndiciHttpClient.make(agent, { decompress: true })
      const plain = UndiciHttpClient.make(agent)
      const gzipOnly = UndiciHttpClient.make(agent, { decompress: ["gzip"] })
      expect(yield* read(decoding, gzipped())).toEqual(["decoded", null])
      expect(yield* read(plain, gzipped())).toEqual(["as sent", "gzip"])
      // the first client is unchanged by the second made after it
      expect(yield* read(decoding, gzipped())).toEqual(["decoded", null])
      expect(yield* accept(decoding)).toEqual({
        acceptEncoding: Decompress.zstdSupported ? "gzip, deflate, br, zstd" : "gzip, deflate, br"
      })
      expect(yield* accept(plain)).toEqual({ acceptEncoding: null })
      expect(yield* accept(gzipOnly)).toEqual({ acceptEncoding: "gzip" })
      yield* Effect.promise(() => agent.destroy())
    }))

  it.live("a field left out keeps makeDispatcher's setting; one given overrides it for that client alone", () =>
    Effect.scoped(Effect.gen(function*() {
      const dispatcher = yield* UndiciHttpClient.makeDispatcher(on)
      expect(yield* read(UndiciHttpClient.make(dispatcher), gzipped())).toEqual(["decoded", null])
      expect(yield* read(UndiciHttpClient.make(dispatcher, {}), gzipped())).toEqual(["decoded", null])
      expect(yield* read(UndiciHttpClient.make(dispatcher, { decompress: false }), gzipped()))
        .toEqual(["as sent", "gzip"])
      // the ratio alone: 4 MiB of zeros is ~1000:1, past the default 100 once past the first MiB
      const zeros = () =>
        caseUrl({ headers: { "content-encoding": "gzip" }, chunks: [Zlib.gzipSync(Buffer.alloc(4 << 20))] })
      const whole = (client: HttpClient.HttpClient) =>
        Effect.exit(Effect.flatMap(client.execute(HttpClientRequest.get(zeros())), (response) => response.arrayBuffer))
      const bounded = yield* whole(UndiciHttpClient.make(dispatcher))
      expect(Exit.isFailure(bounded)).toBe(true)
      const unbounded = yield* whole(UndiciHttpClient.make(dispatcher, { maxDecompressionRatio: Infinity }))
      expect(Exit.isSuccess(unbounded) ? unbounded.value.byteLength : unbounded).toBe(4 << 20)
      // on its own Agent, a ratio without decompress decodes nothing (as in makeDispatcher's options)
      const agent = new Agent()
      expect(yield* read(UndiciHttpClient.make(agent, { maxDecompressionRatio: 10 }), gzipped()))
        .toEqual(["as sent", "gzip"])
      // 4 MiB in runs of 16 equal bytes is ~37:1: over a ratio of 10, under the default 100
      const runs = Buffer.alloc(4 << 20)
      for (let i = 0, seed = 1; i < runs.length; i += 16) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff
        runs.fill(seed & 255, i, i + 16)
      }
      const runsUrl = () => caseUrl({ headers: { "content-encoding": "gzip" }, chunks: [Zlib.gzipSync(runs)] })
      const ratioOf = (client: HttpClient.HttpClient) =>
        Effect.map(
          Effect.exit(
            Effect.flatMap(client.execute(HttpClientRequest.get(runsUrl())), (response) => response.arrayBuffer)
          ),
          (exit) => Exit.isSuccess(exit) ? exit.value.byteLength : "too large"
        )
      expect(yield* ratioOf(UndiciHttpClient.make(agent, { decompress: true }))).toBe(4 << 20)
      expect(yield* ratioOf(UndiciHttpClient.make(agent, { decompress: true, maxDecompressionRatio: 10 })))
        .toBe("too large")
      // decompress given, the ratio left out: the dispatcher's ratio stands
      const strict = yield* UndiciHttpClient.makeDispatcher({ decompress: true, maxDecompressionRatio: 10 })
      expect(yield* ratioOf(UndiciHttpClient.make(strict, { decompress: ["gzip"] }))).toBe("too large")
      expect(yield* ratioOf(UndiciHttpClient.make(strict, { maxDecompressionRatio: 100 }))).toBe(4 << 20)
      yield* Effect.promise(() => agent.destroy())
    })))

  it.effect("out of range: the RangeError makeDispatcher gives, thrown by make; dispatcher settings refused", () =>
    Effect.gen(function*() {
      const agent = new Agent()
      const thrown = (options: unknown) => {
        try {
          UndiciHttpClient.make(agent, options as UndiciHttpClient.ClientOptions)
          return "made"
        } catch (error) {
          return error
        }
      }
      const bad: ReadonlyArray<unknown> = [
        { decompress: "gzip" },
        { decompress: [] },
        { decompress: ["gzip", "lzma"] },
        { maxDecompressionRatio: 0 },
        { maxDecompressionRatio: NaN },
        { decompress: true, maxDecompressionRatio: "10" },
        { headersTimeout: -1 },
        { bodyTimeout: "soon" },
        "decompress",
        [{ decompress: true }]
      ]
      for (const options of bad) {
        const ours = thrown(options)
        const exit = yield* Effect.exit(
          Effect.scoped(UndiciHttpClient.makeDispatcher(options as UndiciHttpClient.DispatcherOptions))
        )
        const theirs = Exit.isFailure(exit) ? Cause.squash(exit.cause) : "made"
        expect(ours, JSON.stringify(options)).toBeInstanceOf(RangeError)
        expect((ours as Error).message).toBe((theirs as Error).message)
      }
      for (const field of ["connections", "tls", "proxy", "dns", "socketPath", "http2", "connectTimeout"]) {
        const error = thrown({ [field]: field === "connections" ? 4 : true })
        expect(error, field).toBeInstanceOf(RangeError)
        expect((error as Error).message).toBe(
          `UndiciHttpClient: ${field} is a setting of the dispatcher (makeDispatcher), not of make's options`
        )
      }
      // none: as make(dispatcher)
      expect(thrown(undefined)).not.toBeInstanceOf(Error)
      expect(thrown(null)).not.toBeInstanceOf(Error)
      yield* Effect.promise(() => agent.destroy())
    }))
})
