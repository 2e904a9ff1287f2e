/**
 * Resuming a download (`curl -C -`, `wget -c`), ported to `Download.stream` over `@sturdy/node`'s undici transport
 * against a real `node:http` server on 127.0.0.1 that destroys the socket mid-body. Each case names the peer's file.
 *
 * Mapping: the peers resume from a partial file already on disk; here the first answer is cut where that file ends
 * (the server destroys the socket after that many bytes), and the resume is the request the peer sends. curl's
 * failure exit codes (33, "range error") are a `DownloadError`. Resumes wait for nothing (`Schedule.recurs`), so no
 * test sleeps; the server waits a few ms of real time before cutting, so the cut bytes reach the client first.
 *
 * Deliberate differences: curl resumes without `If-Range` (it sends `Range` alone); `Download` sends `If-Range` with
 * the response's validator and refuses to resume without one (`NotResumable`), since what it emitted cannot be taken
 * back. wget's cases run with an existing local file of the same or greater size (nothing to fetch): not applicable.
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Download, Policy } from "@sturdy/http"
import { Effect, Either, Schedule, Stream } from "effect"
import type * as Http from "node:http"
import * as Loopback from "./utils/loopbackServer.js"
import { undiciClient } from "./utils/undiciClient.js"

interface Resource {
  readonly body: Buffer
  readonly headers: Readonly<Record<string, string>>
  /** Where each answer (in order) is cut: the server destroys the socket after that many bytes of the body. */
  readonly cuts: Array<number>
  /** Answers a range request with the whole body (a server without range support, or one that ignores it). */
  readonly ignoreRange?: boolean
}

/** A handler for `resource`: honours `Range: bytes=N-` (with `If-Range` matching its validator) and cuts as told. */
const serve = (resource: Resource): Loopback.Handler => (req: Http.IncomingMessage, res: Http.ServerResponse) => {
  const { body, headers } = resource
  const range = /^bytes=(\d+)-$/.exec(String(req.headers["range"] ?? ""))
  const ifRange = req.headers["if-range"]
  const matches = ifRange === undefined || ifRange === headers["etag"] || ifRange === headers["last-modified"]
  const start = range !== null && matches && resource.ignoreRange !== true ? Number(range[1]) : undefined
  if (start !== undefined && start >= body.byteLength) {
    res.writeHead(416, { ...headers, "content-range": `bytes */${body.byteLength}` }).end()
    return
  }
  const from = start ?? 0
  res.sendDate = false
  res.writeHead(
    start === undefined ? 200 : 206,
    start === undefined
      ? { ...headers, "content-length": body.byteLength }
      : {
        ...headers,
        "content-length": body.byteLength - from,
        "content-range": `bytes ${from}-${body.byteLength - 1}/${body.byteLength}`
      }
  )
  const cut = resource.cuts.shift()
  if (cut === undefined) {
    res.end(body.subarray(from))
    return
  }
  res.write(body.subarray(from, Math.max(from, cut)))
  res.flushHeaders()
  setTimeout(() => res.socket?.destroy(), 15)
}

const download = (url: string, schedule: Schedule.Schedule<unknown> = Schedule.recurs(5)) =>
  Effect.gen(function*() {
    const client = yield* undiciClient
    const chunks: Array<Uint8Array> = []
    const exit = yield* Download.stream(HttpClientRequest.get(url), { schedule }).pipe(
      Stream.runForEach((bytes) => Effect.sync(() => chunks.push(bytes))),
      Effect.either,
      Effect.provideService(HttpClient.HttpClient, client)
    )
    return { bytes: Buffer.concat(chunks), exit }
  })

// curl's tests/data: ten lines of "012345678\n", 100 bytes
const curlBody = Buffer.from("012345678\n".repeat(10))

describe("peer: resuming a cut download", () => {
  // curl tests/data/test1043 "HTTP GET with resume from end of file": 40 bytes are there, curl sends
  // `Range: bytes=40-`, the server answers 206 `Content-Range: bytes 40-99/100` (Last-Modified 2000, Date 2007: a
  // strong validator), and the file ends with all 100 bytes.
  it.scopedLive("curl test1043: resume from byte 40 with a 206 bytes 40-99/100", () =>
    Effect.gen(function*() {
      const lastModified = "Tue, 13 Jun 2000 12:10:00 GMT"
      const server = yield* Loopback.start({
        "/1043": serve({
          body: curlBody,
          headers: { date: "Mon, 13 Nov 2007 13:41:09 GMT", "last-modified": lastModified, "accept-ranges": "bytes" },
          cuts: [40]
        })
      })
      const { bytes, exit } = yield* download(`${server.url}/1043`)
      expect(Either.isRight(exit)).toBe(true)
      expect(bytes.toString()).toBe(curlBody.toString())
      expect(server.requests).toHaveLength(2)
      expect(server.requests[1].headers["range"]).toBe("bytes=40-")
      expect(server.requests[1].headers["if-range"]).toBe(lastModified)
    }))

  // curl tests/data/test1042 "HTTP GET beyond end of entirely-downloaded file, no server resume": the server answers
  // the range request with 200 and the whole body ("Some servers (e.g. Apache 1.2) respond this way"); curl fails
  // with 33 and leaves the file as it was. Here: `Changed`, and the 40 bytes emitted are all there is, no duplicate.
  it.scopedLive("curl test1042: a 200 to the range request fails the download, nothing emitted twice", () =>
    Effect.gen(function*() {
      const server = yield* Loopback.start({
        "/1042": serve({ body: curlBody, headers: { etag: "\"1042\"" }, cuts: [40], ignoreRange: true })
      })
      const { bytes, exit } = yield* download(`${server.url}/1042`)
      expect(Either.isLeft(exit) && exit.left._tag === "DownloadError" && exit.left.reason).toBe("Changed")
      expect(bytes.toString()).toBe(curlBody.subarray(0, 40).toString())
      expect(server.requests[1].headers["range"]).toBe("bytes=40-")
    }))

  // wget testenv/Test-c-full.py "Test continue option": File2 exists with 38 of its 68 bytes ("abab..."); `wget -c`
  // fetches the rest and File2 ends as the server's. Here the first answer is cut at 38 and then at 50, and resumed
  // each time.
  it.scopedLive("wget Test-c-full: continue a 68-byte file cut at 38 (and again at 50)", () =>
    Effect.gen(function*() {
      const file = Buffer.from("ab".repeat(34))
      const server = yield* Loopback.start({
        "/File2": serve({ body: file, headers: { etag: "\"File2\"" }, cuts: [38, 50] })
      })
      const { bytes, exit } = yield* download(`${server.url}/File2`)
      expect(Either.isRight(exit)).toBe(true)
      expect(bytes.equals(file)).toBe(true)
      expect(server.requests.map((r) => r.headers["range"])).toEqual([undefined, "bytes=38-", "bytes=50-"])
    }))

  // wget testenv/server/http/http_server.py `parse_range_header`: a range that starts at or past the length is a
  // "Range Overflow" error. Here the server declares one length and then holds fewer bytes (the resource shrank
  // between the answers): its 416 fails the download with RangeMismatch, after the bytes already emitted.
  it.scopedLive("wget http_server Range Overflow: a 416 to the resume fails with RangeMismatch", () =>
    Effect.gen(function*() {
      const long = Buffer.from("x".repeat(100))
      let turn = 0
      const server = yield* Loopback.start({
        "/shrunk": (req, res) => {
          const resource: Resource = turn++ === 0
            ? { body: long, headers: { etag: "\"s\"" }, cuts: [60] }
            : { body: long.subarray(0, 50), headers: { etag: "\"s\"" }, cuts: [] }
          serve(resource)(req, res, "")
        }
      })
      const { bytes, exit } = yield* download(`${server.url}/shrunk`)
      expect(Either.isLeft(exit) && exit.left._tag === "DownloadError" && exit.left.reason).toBe("RangeMismatch")
      expect(bytes.byteLength).toBe(60)
    }))

  // curl tests/data/test1043 again, with what `-C -` does not check: a server without any validator (no ETag, no
  // Last-Modified). curl would resume blindly; `Download` cannot tell the rest is of the same file, and stops.
  it.scopedLive("no validator: the cut is not resumed (NotResumable), the socket's cut is the cause", () =>
    Effect.gen(function*() {
      const server = yield* Loopback.start({ "/plain": serve({ body: curlBody, headers: {}, cuts: [40] }) })
      const { bytes, exit } = yield* download(`${server.url}/plain`)
      const error = Either.isLeft(exit) && exit.left._tag === "DownloadError" ? exit.left : undefined
      expect(error?.reason).toBe("NotResumable")
      expect(error?.cause?._tag).toBe("BodyTruncated")
      expect(bytes.byteLength).toBe(40)
      expect(server.requests).toHaveLength(1)
    }))

  it.scopedLive("a large body cut many times arrives whole and in order", () =>
    Effect.gen(function*() {
      const body = Buffer.alloc(256 * 1024)
      for (let i = 0; i < body.length; i++) body[i] = (i * 7 + (i >> 8)) & 0xff
      const cuts = [1, 5000, 70_000, 70_001, 131_072, 200_000, 256 * 1024 - 1]
      const server = yield* Loopback.start({ "/big": serve({ body, headers: { etag: "\"big\"" }, cuts: [...cuts] }) })
      const { bytes, exit } = yield* download(`${server.url}/big`, Schedule.recurs(3))
      expect(Either.isRight(exit)).toBe(true)
      expect(bytes.equals(body)).toBe(true)
      expect(server.requests.slice(1).map((r) => r.headers["range"])).toEqual(cuts.map((c) => `bytes=${c}-`))
    }))

  it.scopedLive("interrupting the download closes its connection", () =>
    Effect.gen(function*() {
      const server = yield* Loopback.start({
        "/endless": (_, res) => {
          res.writeHead(200, { etag: "\"e\"", "content-length": 1_000_000 })
          res.write(Buffer.alloc(1000))
        }
      })
      const client = yield* undiciClient
      yield* Download.stream(HttpClientRequest.get(`${server.url}/endless`)).pipe(
        Stream.take(1),
        Stream.runDrain,
        Effect.provideService(HttpClient.HttpClient, client)
      )
      // the server sees its socket closed (no wait of our own: poll the event loop until it is)
      yield* Effect.promise(async () => {
        for (let i = 0; i < 200 && server.closed() < 1; i++) await new Promise((resolve) => setImmediate(resolve))
      })
      expect(server.closed()).toBe(1)
    }))
})

describe("through Policy.withPolicy on the node transport", () => {
  // the transport enforces the deadline in force when a request is sent; Download sends it under `Deadline.headOnly`,
  // so the policy's attemptTimeout and totalTimeout bound getting the head, and a slower body is no Timeout to resume
  it.scopedLive("a body slower than attemptTimeout and totalTimeout arrives whole, without a resume", () =>
    Effect.gen(function*() {
      const body = Buffer.from("0123456789".repeat(8))
      const server = yield* Loopback.start({
        "/slow": (_, res) => {
          res.writeHead(200, { etag: "\"slow\"", "content-length": body.byteLength })
          // ten bytes every 50 ms: ~400 ms in all
          let at = 0
          const tick = () => {
            if (res.destroyed) return
            if (at >= body.byteLength) return void res.end()
            res.write(body.subarray(at, at += 10))
            setTimeout(tick, 50)
          }
          tick()
        }
      })
      const policy = yield* Policy.make({
        attemptTimeout: "150 millis",
        totalTimeout: "200 millis",
        retry: false,
        circuitBreaker: false
      })
      const client = Policy.withPolicy(yield* undiciClient, policy)
      const chunks: Array<Uint8Array> = []
      const exit = yield* Download.stream(HttpClientRequest.get(`${server.url}/slow`), {
        schedule: Schedule.recurs(5)
      }).pipe(
        Stream.runForEach((bytes) => Effect.sync(() => chunks.push(bytes))),
        Effect.either,
        Effect.provideService(HttpClient.HttpClient, client)
      )
      expect(exit).toStrictEqual(Either.right(undefined))
      expect(Buffer.concat(chunks).equals(body)).toBe(true)
      expect(server.requests.map((r) => r.headers["range"])).toEqual([undefined])
    }))
})
