/**
 * `Download`: a GET's body resumed with `Range` and `If-Range` when cut, on a scripted in-memory `HttpClient` (a
 * resource server: it answers ranges as RFC 9110 §14 says, cuts each answer where the script says, and records every
 * request) under the TestClock.
 */
import { HttpClient, HttpClientError, HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import type { HttpFailure } from "@sturdy/http"
import { Download } from "@sturdy/http"
import { Deadline } from "@sturdy/policy"
import { TestTracer } from "@sturdy/testing"
import {
  Chunk,
  Duration,
  Effect,
  Either,
  Exit,
  FastCheck as fc,
  Fiber,
  FiberRef,
  Metric,
  Option,
  Schedule,
  Stream,
  TestClock
} from "effect"
import { counterValue, renderedSpans } from "./utils/telemetryProbes.js"
import { settle } from "./utils/virtualTime.js"

interface Seen {
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
}

/** How one answer goes: sent by the resource server (`serve`) or scripted whole (`status`, `headers`, `body`). */
type Answer =
  | { readonly _tag: "Serve"; readonly cutAt?: number | undefined; readonly stall?: boolean | undefined }
  | {
    readonly _tag: "Raw"
    readonly status: number
    readonly headers: Record<string, string>
    readonly body: Uint8Array
    readonly cutAt?: number | undefined
  }
  | { readonly _tag: "Refuse" }

const resetError = () => Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" })

/**
 * A web response whose body sends `bytes` (in pieces of at most `piece` bytes), then ends, breaks (`cut`) or never
 * goes on (`stall`).
 */
const webResponse = (
  status: number,
  headers: Record<string, string>,
  bytes: Uint8Array,
  end: "end" | "cut" | "stall",
  piece = 7
): Response => {
  let offset = 0
  return new Response(
    new ReadableStream<Uint8Array>({
      pull(controller) {
        if (offset < bytes.byteLength) {
          const next = Math.min(bytes.byteLength, offset + piece)
          controller.enqueue(bytes.slice(offset, next))
          offset = next
          return
        }
        if (end === "end") controller.close()
        else if (end === "cut") controller.error(resetError())
        else return new Promise<void>(() => {})
      }
    }),
    { status, headers }
  )
}

/**
 * A resource server for `body` with `headers` (its validators): honours `Range: bytes=N-` when `If-Range` matches its
 * ETag or Last-Modified (else answers 200), and plays `script` one answer per request (then serves whole answers).
 */
const resourceServer = (
  body: Uint8Array,
  headers: Record<string, string>,
  script: ReadonlyArray<Answer>,
  piece = 7
) => {
  const seen: Array<Seen> = []
  let turn = 0
  const client = HttpClient.make((request: HttpClientRequest.HttpClientRequest, url: URL) => {
    seen.push({ url: url.toString(), headers: request.headers })
    const answer: Answer = script[turn++] ?? { _tag: "Serve" }
    if (answer._tag === "Refuse") {
      return Effect.fail(
        new HttpClientError.RequestError({
          request,
          reason: "Transport",
          cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED", syscall: "connect" })
        })
      )
    }
    if (answer._tag === "Raw") {
      const sent = answer.cutAt === undefined ? answer.body : answer.body.subarray(0, answer.cutAt)
      return Effect.succeed(
        HttpClientResponse.fromWeb(
          request,
          webResponse(answer.status, answer.headers, sent, answer.cutAt === undefined ? "end" : "cut")
        )
      )
    }
    const range = /^bytes=(\d+)-$/.exec(request.headers["range"] ?? "")
    const ifRange = request.headers["if-range"]
    const matches = ifRange === undefined || ifRange === headers["etag"] || ifRange === headers["last-modified"]
    const start = range !== null && matches ? Number(range[1]) : undefined
    const from = start ?? 0
    const rest = body.subarray(from)
    const responseHeaders: Record<string, string> = start === undefined
      ? { ...headers, "content-length": String(body.byteLength) }
      : {
        ...headers,
        "content-length": String(rest.byteLength),
        "content-range": `bytes ${from}-${body.byteLength - 1}/${body.byteLength}`
      }
    const cut = answer.cutAt === undefined ? undefined : Math.max(0, answer.cutAt - from)
    const sent = cut === undefined ? rest : rest.subarray(0, cut)
    return Effect.succeed(
      HttpClientResponse.fromWeb(
        request,
        webResponse(
          start === undefined ? 200 : 206,
          responseHeaders,
          sent,
          answer.stall === true ? "stall" : cut === undefined ? "end" : "cut",
          piece
        )
      )
    )
  })
  return { client, seen }
}

const bodyOf = (length: number): Uint8Array => Uint8Array.from({ length }, (_, i) => (i * 31 + 7) % 251)

const etagged = { etag: "\"v1\"", "content-type": "application/octet-stream" }
const url = "https://files.test/big.bin"
const get = HttpClientRequest.get(url)

const concat = (chunks: Chunk.Chunk<Uint8Array>): Uint8Array => {
  const all = Chunk.toReadonlyArray(chunks)
  const out = new Uint8Array(all.reduce((n, c) => n + c.byteLength, 0))
  let at = 0
  for (const c of all) {
    out.set(c, at)
    at += c.byteLength
  }
  return out
}

/** Runs the download on `client`; the bytes it emitted, and how it ended. */
const run = (
  client: HttpClient.HttpClient,
  options?: Download.Options,
  request = get
) =>
  Effect.gen(function*() {
    const emitted: Array<Uint8Array> = []
    const exit = yield* Download.stream(request, options).pipe(
      Stream.runForEach((bytes) => Effect.sync(() => emitted.push(bytes))),
      Effect.either,
      Effect.provideService(HttpClient.HttpClient, client)
    )
    return { bytes: concat(Chunk.fromIterable(emitted)), exit }
  })

const noWait = Schedule.recurs(10)

const downloadError = (exit: Either.Either<void, HttpFailure.HttpFailure | Download.DownloadError>) => {
  if (Either.isRight(exit) || exit.left._tag !== "DownloadError") {
    throw new Error(`expected a DownloadError, got ${JSON.stringify(exit)}`)
  }
  return exit.left
}

describe("Download", () => {
  it.effect("resumes after a cut at every offset of the body, emitting each byte once", () =>
    Effect.gen(function*() {
      const body = bodyOf(40)
      for (let cut = 0; cut < body.byteLength; cut++) {
        const server = resourceServer(body, etagged, [{ _tag: "Serve", cutAt: cut }])
        const { bytes, exit } = yield* run(server.client, { schedule: noWait })
        expect(Either.isRight(exit)).toBe(true)
        expect(bytes).toEqual(body)
        expect(server.seen).toHaveLength(2)
        // nothing emitted yet: the GET again as it was; otherwise the rest only
        expect(server.seen[1].headers["range"]).toBe(cut === 0 ? undefined : `bytes=${cut}-`)
      }
    }))

  it.effect("If-Range carries the strong ETag; the request asks for the identity encoding", () =>
    Effect.gen(function*() {
      const body = bodyOf(30)
      const server = resourceServer(body, { ...etagged, "last-modified": "Tue, 13 Jun 2000 12:10:00 GMT" }, [
        { _tag: "Serve", cutAt: 12 }
      ])
      const { bytes } = yield* run(server.client, { schedule: noWait })
      expect(bytes).toEqual(body)
      expect(server.seen[0].headers["accept-encoding"]).toBe("identity")
      expect(server.seen[1].headers).toMatchObject({ range: "bytes=12-", "if-range": "\"v1\"" })
    }))

  it.effect("If-Range carries Last-Modified when Date is at least 1 s later (a strong validator)", () =>
    Effect.gen(function*() {
      const body = bodyOf(30)
      const lastModified = "Tue, 13 Jun 2000 12:10:00 GMT"
      const server = resourceServer(body, { "last-modified": lastModified, date: "Tue, 13 Jun 2000 12:10:01 GMT" }, [
        { _tag: "Serve", cutAt: 5 }
      ])
      const { bytes } = yield* run(server.client, { schedule: noWait })
      expect(bytes).toEqual(body)
      expect(server.seen[1].headers["if-range"]).toBe(lastModified)
    }))

  it.effect("a Last-Modified less than 1 s before Date, or without Date, is weak: not resumable", () =>
    Effect.gen(function*() {
      const body = bodyOf(30)
      for (
        const headers of [
          { "last-modified": "Tue, 13 Jun 2000 12:10:00 GMT", date: "Tue, 13 Jun 2000 12:10:00 GMT" },
          { "last-modified": "Tue, 13 Jun 2000 12:10:00 GMT" }
        ]
      ) {
        const server = resourceServer(body, headers, [{ _tag: "Serve", cutAt: 9 }])
        const { bytes, exit } = yield* run(server.client, { schedule: noWait })
        const error = downloadError(exit)
        expect(error.reason).toBe("NotResumable")
        expect(error.receivedBytes).toBe(9)
        expect(error.cause?._tag).toBe("BodyTruncated")
        expect(bytes).toEqual(body.subarray(0, 9))
        expect(server.seen).toHaveLength(1)
      }
    }))

  it.effect("a weak ETag is never sent in If-Range: alone it makes the body not resumable", () =>
    Effect.gen(function*() {
      const body = bodyOf(30)
      const weak = resourceServer(body, { etag: "W/\"v1\"" }, [{ _tag: "Serve", cutAt: 9 }])
      const { exit } = yield* run(weak.client, { schedule: noWait })
      expect(downloadError(exit).reason).toBe("NotResumable")
      expect(weak.seen).toHaveLength(1)
      // with a strong Last-Modified beside it, that is the validator
      const lastModified = "Tue, 13 Jun 2000 12:10:00 GMT"
      const both = resourceServer(
        body,
        { etag: "W/\"v1\"", "last-modified": lastModified, date: "Wed, 14 Jun 2000 12:10:00 GMT" },
        [{ _tag: "Serve", cutAt: 9 }]
      )
      const resumed = yield* run(both.client, { schedule: noWait })
      expect(resumed.bytes).toEqual(body)
      expect(both.seen[1].headers["if-range"]).toBe(lastModified)
    }))

  it.effect("Accept-Ranges: none is not resumable", () =>
    Effect.gen(function*() {
      const server = resourceServer(bodyOf(30), { ...etagged, "accept-ranges": "none" }, [{ _tag: "Serve", cutAt: 3 }])
      const { exit } = yield* run(server.client, { schedule: noWait })
      const error = downloadError(exit)
      expect(error.reason).toBe("NotResumable")
      expect(error.detail).toContain("Accept-Ranges")
    }))

  it.effect("a compressed answer is never resumed", () =>
    Effect.gen(function*() {
      const body = bodyOf(30)
      const server = resourceServer(body, { ...etagged, "content-encoding": "gzip" }, [{ _tag: "Serve", cutAt: 10 }])
      const { bytes, exit } = yield* run(server.client, { schedule: noWait })
      const error = downloadError(exit)
      expect(error.reason).toBe("NotResumable")
      expect(error.detail).toContain("gzip")
      expect(bytes).toEqual(body.subarray(0, 10))
      expect(server.seen).toHaveLength(1)
    }))

  it.effect("a 200 to the resume (the resource changed) fails with Changed; the prefix stays as emitted", () =>
    Effect.gen(function*() {
      const body = bodyOf(30)
      const changed = bodyOf(31).reverse()
      const server = resourceServer(body, etagged, [
        { _tag: "Serve", cutAt: 10 },
        { _tag: "Raw", status: 200, headers: { etag: "\"v2\"" }, body: changed }
      ])
      const { bytes, exit } = yield* run(server.client, { schedule: noWait })
      const error = downloadError(exit)
      expect(error.reason).toBe("Changed")
      expect(error.receivedBytes).toBe(10)
      expect(bytes).toEqual(body.subarray(0, 10))
    }))

  it.effect("a 206 with another strong ETag fails with Changed", () =>
    Effect.gen(function*() {
      const body = bodyOf(30)
      const server = resourceServer(body, etagged, [
        { _tag: "Serve", cutAt: 10 },
        {
          _tag: "Raw",
          status: 206,
          headers: { etag: "\"v2\"", "content-range": "bytes 10-29/30" },
          body: body.subarray(10)
        }
      ])
      const { exit } = yield* run(server.client, { schedule: noWait })
      expect(downloadError(exit).reason).toBe("Changed")
    }))

  it.effect("a 206 with a wrong start, total or length, unparseable or multipart fails with RangeMismatch", () =>
    Effect.gen(function*() {
      const body = bodyOf(30)
      const cases: ReadonlyArray<[Record<string, string>, string]> = [
        [{ "content-range": "bytes 9-29/30" }, "starts at 9"],
        [{ "content-range": "bytes 11-29/30" }, "starts at 11"],
        [{ "content-range": "bytes 10-30/31" }, "total 31"],
        [{ "content-range": "bytes 10-29/30", "content-length": "5" }, "Content-Length 5"],
        [{ "content-range": "bytes */30" }, "is not bytes"],
        [{ "content-range": "bytes 10-29/30", "content-type": "multipart/byteranges; boundary=x" }, "multipart"],
        [{}, "is not bytes"]
      ]
      for (const [headers, detail] of cases) {
        const server = resourceServer(body, etagged, [
          { _tag: "Serve", cutAt: 10 },
          { _tag: "Raw", status: 206, headers, body: body.subarray(10) }
        ])
        const { bytes, exit } = yield* run(server.client, { schedule: noWait })
        const error = downloadError(exit)
        expect(error.reason).toBe("RangeMismatch")
        expect(error.detail).toContain(detail)
        expect(bytes).toEqual(body.subarray(0, 10))
      }
    }))

  it.effect("a 416 to the resume fails with RangeMismatch", () =>
    Effect.gen(function*() {
      const server = resourceServer(bodyOf(30), etagged, [
        { _tag: "Serve", cutAt: 10 },
        { _tag: "Raw", status: 416, headers: { "content-range": "bytes */30" }, body: new Uint8Array(0) }
      ])
      const { exit } = yield* run(server.client, { schedule: noWait })
      const error = downloadError(exit)
      expect(error.reason).toBe("RangeMismatch")
      expect(error.detail).toContain("416")
    }))

  // wget reads such a 416 as "the file is already fully retrieved": a body of unknown length cut after its last byte
  it.effect("a 416 naming exactly the bytes received completes a body of unknown length; another length does not", () =>
    Effect.gen(function*() {
      const body = bodyOf(30)
      const whole = resourceServer(body, etagged, [
        { _tag: "Raw", status: 200, headers: etagged, body, cutAt: 30 },
        { _tag: "Raw", status: 416, headers: { "content-range": "bytes */30" }, body: new Uint8Array(0) }
      ])
      const done = yield* run(whole.client, { schedule: noWait })
      expect(Either.isRight(done.exit)).toBe(true)
      expect(done.bytes).toEqual(body)
      expect(whole.seen.map((seen) => seen.headers["range"])).toEqual([undefined, "bytes=30-"])

      for (const contentRange of ["bytes */31", "bytes */29", "bytes 0-29/30"]) {
        const other = resourceServer(body, etagged, [
          { _tag: "Raw", status: 200, headers: etagged, body, cutAt: 30 },
          { _tag: "Raw", status: 416, headers: { "content-range": contentRange }, body: new Uint8Array(0) }
        ])
        const failed = yield* run(other.client, { schedule: noWait })
        expect(downloadError(failed.exit).reason).toBe("RangeMismatch")
      }

      // the first answer declared 40 bytes: a 416 saying 30 means the resource shrank, not that it is whole
      const longer = bodyOf(40)
      const shrunk = resourceServer(longer, etagged, [
        { _tag: "Raw", status: 200, headers: { ...etagged, "content-length": "40" }, body: longer, cutAt: 30 },
        { _tag: "Raw", status: 416, headers: { "content-range": "bytes */30" }, body: new Uint8Array(0) }
      ])
      const cutShort = yield* run(shrunk.client, { schedule: noWait })
      expect(downloadError(cutShort.exit).reason).toBe("RangeMismatch")
      expect(cutShort.bytes).toEqual(longer.subarray(0, 30))
    }))

  it.effect("more bytes than Content-Length, or than the 206 declared, fail with TooLong", () =>
    Effect.gen(function*() {
      const body = bodyOf(30)
      const long = resourceServer(body, etagged, [
        { _tag: "Raw", status: 200, headers: { ...etagged, "content-length": "20" }, body }
      ])
      const first = yield* run(long.client, { schedule: noWait })
      expect(downloadError(first.exit).reason).toBe("TooLong")
      expect(first.bytes.byteLength).toBeLessThanOrEqual(20)
      const part = resourceServer(body, etagged, [
        { _tag: "Serve", cutAt: 10 },
        { _tag: "Raw", status: 206, headers: { "content-range": "bytes 10-19/30" }, body: body.subarray(10) }
      ])
      const second = yield* run(part.client, { schedule: noWait })
      expect(downloadError(second.exit).reason).toBe("TooLong")
      expect(second.bytes.byteLength).toBeLessThanOrEqual(20)
    }))

  it.effect("a body that ends before its Content-Length is a cut: resumed, and never a success while short", () =>
    Effect.gen(function*() {
      const body = bodyOf(30)
      const server = resourceServer(body, etagged, [
        { _tag: "Raw", status: 200, headers: { ...etagged, "content-length": "30" }, body: body.subarray(0, 12) }
      ])
      const { bytes, exit } = yield* run(server.client, { schedule: noWait })
      expect(Either.isRight(exit)).toBe(true)
      expect(bytes).toEqual(body)
      expect(server.seen[1].headers["range"]).toBe("bytes=12-")
      // a server that always ends short: the schedule ends, and the download fails
      const short: Answer = { _tag: "Raw", status: 200, headers: { ...etagged, "content-length": "30" }, body: body }
      const never = resourceServer(body, etagged, [
        { ...short, body: body.subarray(0, 12) },
        ...Array.from({ length: 5 }, (): Answer => ({
          _tag: "Raw",
          status: 206,
          headers: { ...etagged, "content-range": "bytes 12-29/30" },
          body: new Uint8Array(0)
        }))
      ])
      const failed = yield* run(never.client, { schedule: Schedule.recurs(3) })
      const error = downloadError(failed.exit)
      expect(error.reason).toBe("ResumesExhausted")
      expect(error.cause?._tag).toBe("BodyTruncated")
      expect(never.seen).toHaveLength(4)
    }))

  it.effect("a part that ends before the whole length (206 bytes 10-19/30) is followed by a range for the rest", () =>
    Effect.gen(function*() {
      const body = bodyOf(30)
      const server = resourceServer(body, etagged, [
        { _tag: "Serve", cutAt: 10 },
        {
          _tag: "Raw",
          status: 206,
          headers: { ...etagged, "content-range": "bytes 10-19/30" },
          body: body.subarray(10, 20)
        }
      ])
      const { bytes, exit } = yield* run(server.client, { schedule: noWait })
      expect(Either.isRight(exit)).toBe(true)
      expect(bytes).toEqual(body)
      expect(server.seen.map((s) => s.headers["range"])).toEqual([undefined, "bytes=10-", "bytes=20-"])
    }))

  it.effect("waits follow the schedule on the Clock, and the schedule ends the resumes", () =>
    Effect.gen(function*() {
      const body = bodyOf(30)
      const server = resourceServer(body, etagged, [
        { _tag: "Serve", cutAt: 10 },
        { _tag: "Refuse" },
        { _tag: "Refuse" },
        { _tag: "Refuse" }
      ])
      const fiber = yield* Effect.fork(
        run(server.client, { schedule: Schedule.exponential("1 second").pipe(Schedule.intersect(Schedule.recurs(3))) })
      )
      yield* TestClock.adjust(Duration.millis(999))
      expect(server.seen).toHaveLength(1)
      yield* TestClock.adjust(Duration.millis(1))
      expect(server.seen).toHaveLength(2)
      yield* TestClock.adjust(Duration.seconds(2))
      expect(server.seen).toHaveLength(3)
      yield* TestClock.adjust(Duration.seconds(4))
      expect(server.seen).toHaveLength(4)
      const { exit } = yield* Fiber.join(fiber)
      const error = downloadError(exit)
      expect(error.reason).toBe("ResumesExhausted")
      expect(error.cause?._tag).toBe("ConnectionError")
      expect(error.receivedBytes).toBe(10)
    }))

  it.effect("the default schedule: at most 5 resumes without progress, the first after about 200 ms", () =>
    Effect.gen(function*() {
      const server = resourceServer(bodyOf(30), etagged, [
        { _tag: "Serve", cutAt: 10 },
        ...Array.from({ length: 10 }, (): Answer => ({ _tag: "Refuse" }))
      ])
      const fiber = yield* Effect.fork(run(server.client))
      yield* TestClock.adjust(Duration.millis(159))
      expect(server.seen).toHaveLength(1)
      yield* TestClock.adjust(Duration.millis(81))
      expect(server.seen).toHaveLength(2)
      yield* TestClock.adjust(Duration.minutes(5))
      const { exit } = yield* Fiber.join(fiber)
      expect(downloadError(exit).reason).toBe("ResumesExhausted")
      expect(server.seen).toHaveLength(6)
    }))

  it.effect("a resume that makes progress starts the schedule over", () =>
    Effect.gen(function*() {
      const body = bodyOf(30)
      // six cuts, each after some progress: a schedule of 2 resumes would end at the third without the reset
      const server = resourceServer(body, etagged, [5, 9, 13, 17, 21, 25].map((cutAt) => ({ _tag: "Serve", cutAt })))
      const fiber = yield* Effect.fork(
        run(server.client, { schedule: Schedule.exponential("1 second").pipe(Schedule.intersect(Schedule.recurs(2))) })
      )
      for (let i = 1; i <= 6; i++) {
        // each wait is the schedule's first: 1 s, never 2 s or 4 s
        yield* TestClock.adjust(Duration.seconds(1))
        expect(server.seen).toHaveLength(i + 1)
      }
      const { bytes, exit } = yield* Fiber.join(fiber)
      expect(Either.isRight(exit)).toBe(true)
      expect(bytes).toEqual(body)
    }))

  it.effect("a transient failure of a resume is resumed; a permanent one fails with itself", () =>
    Effect.gen(function*() {
      const body = bodyOf(30)
      const server = resourceServer(body, etagged, [
        { _tag: "Serve", cutAt: 10 },
        { _tag: "Raw", status: 503, headers: {}, body: new Uint8Array(0) }
      ])
      const ok = yield* run(server.client, { schedule: noWait })
      expect(ok.bytes).toEqual(body)
      expect(server.seen).toHaveLength(3)
      const gone = resourceServer(body, etagged, [
        { _tag: "Serve", cutAt: 10 },
        { _tag: "Raw", status: 404, headers: {}, body: new Uint8Array(0) }
      ])
      const failed = yield* run(gone.client, { schedule: noWait })
      expect(Either.isLeft(failed.exit) && failed.exit.left._tag).toBe("ClientError")
    }))

  it.effect("the first request's own failure is the caller's: not resumed", () =>
    Effect.gen(function*() {
      const server = resourceServer(bodyOf(30), etagged, [
        { _tag: "Raw", status: 503, headers: {}, body: new Uint8Array(0) }
      ])
      const { exit } = yield* run(server.client, { schedule: noWait })
      expect(Either.isLeft(exit) && exit.left._tag).toBe("ServerError")
      expect(server.seen).toHaveLength(1)
      const refused = resourceServer(bodyOf(30), etagged, [{ _tag: "Refuse" }])
      const unsent = yield* run(refused.client, { schedule: noWait })
      expect(Either.isLeft(unsent.exit) && unsent.exit.left._tag).toBe("ConnectionError")
      expect(refused.seen).toHaveLength(1)
    }))

  it.effect("a body that stalls past idleTimeout is cut and resumed", () =>
    Effect.gen(function*() {
      const body = bodyOf(30)
      const server = resourceServer(body, etagged, [{ _tag: "Serve", cutAt: 14, stall: true }])
      const fiber = yield* Effect.fork(run(server.client, { idleTimeout: "5 seconds", schedule: noWait }))
      yield* TestClock.adjust(Duration.seconds(5))
      const { bytes, exit } = yield* Fiber.join(fiber)
      expect(Either.isRight(exit)).toBe(true)
      expect(bytes).toEqual(body)
      expect(server.seen[1].headers["range"]).toBe("bytes=14-")
    }))

  // the idle bound is a race between the next chunk and a sleep: consumed inside a caller's mask, the read of the
  // next chunk inherited it and ignored the bound's interruption, so a stalled body held the caller for ever
  it.effect("a body that stalls past idleTimeout is cut and resumed when consumed inside an uninterruptible region", () =>
    Effect.gen(function*() {
      const body = bodyOf(30)
      const server = resourceServer(body, etagged, [{ _tag: "Serve", cutAt: 14, stall: true }])
      // a daemon: a fiber that ignored the bound is left behind rather than awaited by the test
      const fiber = yield* Effect.forkDaemon(
        Effect.uninterruptible(run(server.client, { idleTimeout: "5 seconds", schedule: noWait }))
      )
      yield* settle
      yield* TestClock.adjust("4999 millis")
      yield* settle
      expect(server.seen).toHaveLength(1)
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* TestClock.adjust("1 millis")
      yield* settle
      // polled, not joined: a fiber that ignored the bound would hang the test instead of failing it
      const done = Option.getOrThrowWith(yield* Fiber.poll(fiber), () => new Error("the idle timeout did not fire"))
      const { bytes, exit } = yield* done
      expect(Either.isRight(exit)).toBe(true)
      expect(bytes).toEqual(body)
      expect(server.seen[1].headers["range"]).toBe("bytes=14-")
    }))

  it.effect("maxBodyBytes counts every answer together", () =>
    Effect.gen(function*() {
      const body = bodyOf(30)
      const server = resourceServer(body, { etag: "\"v1\"" }, [{ _tag: "Serve", cutAt: 14 }])
      const { bytes, exit } = yield* run(server.client, { maxBodyBytes: 20, schedule: noWait })
      expect(Either.isLeft(exit) && exit.left._tag).toBe("BodyTooLarge")
      expect(bytes.byteLength).toBeLessThanOrEqual(20)
      const within = resourceServer(body, { etag: "\"v1\"" }, [{ _tag: "Serve", cutAt: 14 }])
      expect((yield* run(within.client, { maxBodyBytes: 30, schedule: noWait })).bytes).toEqual(body)
    }))

  it.effect("bytes: the whole body in one buffer, resumed when cut", () =>
    Effect.gen(function*() {
      const body = bodyOf(50)
      const server = resourceServer(body, etagged, [{ _tag: "Serve", cutAt: 20 }, { _tag: "Serve", cutAt: 33 }])
      const all = yield* Download.bytes(get, { schedule: noWait }).pipe(
        Effect.provideService(HttpClient.HttpClient, server.client)
      )
      expect(all).toEqual(body)
    }))

  it.effect("options out of range, a method other than GET, and a request's own Range are refused, unsent", () =>
    Effect.gen(function*() {
      const server = resourceServer(bodyOf(30), etagged, [])
      const bad = yield* run(server.client, {
        maxBodyBytes: -1,
        idleTimeout: "soon" as Duration.DurationInput,
        schedule: 3 as unknown as Schedule.Schedule<unknown>
      })
      const error = downloadError(bad.exit)
      expect(error.reason).toBe("InvalidOptions")
      expect(error.detail).toContain("maxBodyBytes")
      expect(error.detail).toContain("idleTimeout")
      expect(error.detail).toContain("schedule")
      const zero = yield* run(server.client, { idleTimeout: 0 })
      expect(downloadError(zero.exit).detail).toContain("idleTimeout must be a positive duration")
      const post = yield* run(server.client, undefined, HttpClientRequest.post(url))
      expect(downloadError(post.exit).detail).toContain("request.method")
      const ranged = yield* run(server.client, undefined, HttpClientRequest.setHeader(get, "Range", "bytes=5-"))
      expect(downloadError(ranged.exit).detail).toContain("Range")
      expect(server.seen).toHaveLength(0)
    }))

  it.effect("failures never show the URL's secrets", () =>
    Effect.gen(function*() {
      const server = resourceServer(bodyOf(30), { "accept-ranges": "none", ...etagged }, [{ _tag: "Serve", cutAt: 3 }])
      const { exit } = yield* run(
        server.client,
        { schedule: noWait },
        HttpClientRequest.get(`${url}?access_token=s3cr3t-t0ken`)
      )
      const error = downloadError(exit)
      expect(error.url).not.toContain("s3cr3t")
      expect(error.message).not.toContain("s3cr3t")
      expect(JSON.stringify(error.cause)).not.toContain("s3cr3t")
    }))

  it.effect("interrupting the stream ends the body's read", () =>
    Effect.gen(function*() {
      let cancelled = false
      const client = HttpClient.make((request) =>
        Effect.succeed(HttpClientResponse.fromWeb(
          request,
          new Response(
            new ReadableStream<Uint8Array>({
              start(controller) {
                controller.enqueue(new Uint8Array([1, 2, 3]))
              },
              cancel() {
                cancelled = true
              }
            }),
            { status: 200, headers: etagged }
          )
        ))
      )
      const fiber = yield* Effect.fork(
        Download.stream(get).pipe(Stream.runDrain, Effect.provideService(HttpClient.HttpClient, client))
      )
      yield* TestClock.adjust(Duration.seconds(1))
      yield* Fiber.interrupt(fiber)
      expect(cancelled).toBe(true)
    }))

  it.effect("property: for any body and any cuts (some delivering nothing), the bytes emitted are the body", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(
          fc.uint8Array({ minLength: 0, maxLength: 300 }),
          fc.array(fc.nat({ max: 320 }), { maxLength: 12 }),
          fc.integer({ min: 1, max: 64 }),
          async (body, cuts, piece) => {
            // cuts at or before what was already received deliver 0 bytes
            const server = resourceServer(body, etagged, cuts.map((cutAt) => ({ _tag: "Serve", cutAt })), piece)
            const { bytes, exit } = await Effect.runPromise(run(server.client, { schedule: Schedule.recurs(20) }))
            if (Either.isLeft(exit)) throw new Error(`failed: ${exit.left.message}`)
            expect(bytes).toEqual(body)
            const ranges = server.seen.map((s) => s.headers["range"]).filter((r) => r !== undefined)
            // every resume asks for exactly what was emitted before it, so offsets never go back
            const starts = ranges.map((r) => Number(/\d+/.exec(r)?.[0]))
            expect([...starts].sort((a, b) => a - b)).toEqual(starts)
          }
        ),
        { seed: 20261207, numRuns: 300 }
      )
    ))
})

// -----------------------------------------------------------------------------
// telemetry: one span for the download, its requests' redacted client spans under it, resumes counted by host
// -----------------------------------------------------------------------------

describe("Download telemetry", () => {
  const secretUrl = "https://telemetry-dl.example.test/big.bin?api_key=k3y-s3cret"
  const secretRequest = HttpClientRequest.get(secretUrl).pipe(
    HttpClientRequest.setHeaders({ authorization: "Bearer b34rer-s3cret", "x-api-key": "h3ader-s3cret" })
  )
  const host = "telemetry-dl.example.test:443"

  it.effect("one span for the download with an event per resume; each request's redacted span is its child", () =>
    Effect.gen(function*() {
      const { spans, tracer } = TestTracer.make()
      const body = bodyOf(30)
      const server = resourceServer(body, etagged, [
        { _tag: "Serve", cutAt: 10 },
        { _tag: "Refuse" },
        { _tag: "Serve", cutAt: 21 }
      ])
      const schedule = Schedule.spaced("250 millis").pipe(Schedule.intersect(Schedule.recurs(5)))
      const fiber = yield* Effect.fork(run(server.client, { schedule }, secretRequest).pipe(Effect.withTracer(tracer)))
      yield* TestClock.adjust(Duration.seconds(1))
      const { bytes, exit } = yield* Fiber.join(fiber)
      expect(Either.isRight(exit)).toBe(true)
      expect(bytes).toEqual(body)
      const [download] = spans.filter((span) => span.name === "http.client.download GET")
      expect(download.kind).toBe("internal")
      expect(Object.fromEntries(download.attributes)).toEqual({
        "http.request.method": "GET",
        "url.full": "https://telemetry-dl.example.test/big.bin?api_key=<redacted>",
        "server.address": "telemetry-dl.example.test",
        "server.port": 443,
        "sturdy.outcome": "success",
        "sturdy.bytes": 30,
        "sturdy.resumes": 3
      })
      expect(download.events).toEqual([
        {
          name: "resume",
          attributes: {
            "sturdy.reason": "BodyTruncated",
            "sturdy.delay_ms": 250,
            "sturdy.resumes": 1,
            "sturdy.offset": 10
          }
        },
        {
          name: "resume",
          attributes: {
            "sturdy.reason": "ConnectionError",
            "sturdy.delay_ms": 250,
            "sturdy.resumes": 2,
            "sturdy.offset": 10
          }
        },
        {
          name: "resume",
          attributes: {
            "sturdy.reason": "BodyTruncated",
            "sturdy.delay_ms": 250,
            "sturdy.resumes": 3,
            "sturdy.offset": 21
          }
        }
      ])
      const requests = spans.filter((span) => span !== download)
      expect(requests.map((span) => [span.name, span.kind])).toEqual(
        Array.from({ length: 4 }, () => ["http.client GET", "client"])
      )
      expect(requests.every((span) => Option.getOrUndefined(span.parent) === download)).toBe(true)
      expect(requests.map((span) => span.attributes.get("url.full"))).toEqual(
        Array.from({ length: 4 }, () => "https://telemetry-dl.example.test/big.bin?api_key=<redacted>")
      )
      expect(requests[3].attributes.get("http.request.header.range")).toBe("bytes=21-")
      expect(requests.map((span) => span.attributes.get("http.response.status_code"))).toEqual([
        200,
        undefined,
        206,
        206
      ])
      // the trace headers go out from each request span
      expect(server.seen.map((seen) => seen.headers["traceparent"]?.split("-")[2])).toEqual(
        requests.map((span) => span.spanId)
      )
      expect(yield* counterValue("sturdy_http_download_resumes_total", { host, reason: "BodyTruncated" })).toBe(2)
      expect(yield* counterValue("sturdy_http_download_resumes_total", { host, reason: "ConnectionError" })).toBe(1)
    }))

  it.effect("a failure ends the span with error.type and the DownloadError's reason", () =>
    Effect.gen(function*() {
      const { spans, tracer } = TestTracer.make()
      const server = resourceServer(bodyOf(30), { "accept-ranges": "none", ...etagged }, [{ _tag: "Serve", cutAt: 9 }])
      const { exit } = yield* run(server.client, { schedule: noWait }, HttpClientRequest.get(`${url}?n=1`)).pipe(
        Effect.withTracer(tracer)
      )
      expect(downloadError(exit).reason).toBe("NotResumable")
      const [download] = spans.filter((span) => span.name === "http.client.download GET")
      expect(Object.fromEntries(download.attributes)).toMatchObject({
        "error.type": "DownloadError",
        "sturdy.failure_tag": "DownloadError",
        "sturdy.failure_reason": "NotResumable",
        "sturdy.outcome": "failure",
        "sturdy.bytes": 9,
        "sturdy.resumes": 0
      })
      expect(download.status._tag === "Ended" && Exit.isFailure(download.status.exit)).toBe(true)
    }))

  it.effect("no secret of the URL or the headers in any span, event or metric label", () =>
    Effect.gen(function*() {
      const { spans, tracer } = TestTracer.make()
      const server = resourceServer(bodyOf(30), etagged, [
        { _tag: "Serve", cutAt: 4 },
        { _tag: "Raw", status: 503, headers: {}, body: new Uint8Array(0) }
      ])
      const { exit } = yield* run(server.client, { schedule: noWait }, secretRequest).pipe(Effect.withTracer(tracer))
      expect(Either.isRight(exit)).toBe(true)
      expect(spans.length).toBe(4)
      const text = renderedSpans(spans)
      expect(text).toContain("<redacted>")
      expect(text).not.toContain("s3cret")
      const labels = yield* Effect.map(
        Metric.snapshot,
        (pairs) => JSON.stringify(pairs.map((pair) => [pair.metricKey.name, pair.metricKey.tags]))
      )
      expect(labels).not.toContain("s3cret")
    }))

  it.effect("without a tracer no span is built (the platform's span has no parent), and resumes still count", () =>
    Effect.gen(function*() {
      const server = resourceServer(bodyOf(30), etagged, [{ _tag: "Serve", cutAt: 12 }])
      const parents: Array<string | undefined> = []
      const client = HttpClient.make((request) =>
        Effect.flatMap(Effect.orDie(Effect.currentSpan), (span) => {
          parents.push(Option.match(span.parent, { onNone: () => undefined, onSome: (p) => String(p.spanId) }))
          return server.client.execute(request)
        })
      )
      const { bytes } = yield* run(
        client,
        { schedule: noWait },
        HttpClientRequest.get("https://telemetry-dl-untraced.example.test/f")
      )
      expect(bytes).toEqual(bodyOf(30))
      expect(parents).toEqual([undefined, undefined])
      expect(
        yield* counterValue("sturdy_http_download_resumes_total", {
          host: "telemetry-dl-untraced.example.test:443",
          reason: "BodyTruncated"
        })
      ).toBe(1)
    }))
})

describe("Download and deadlines", () => {
  // a deadline-enforcing transport (`@sturdy/node`'s) then stops at the head: a policy's timeouts do not cut the body
  // (test/peer-download-resume.test.ts runs it over the wire)
  it.effect("the first request and a resume are each sent under Deadline.headOnly", () =>
    Effect.gen(function*() {
      const body = bodyOf(100)
      const server = resourceServer(body, etagged, [{ _tag: "Serve", cutAt: 40 }])
      const sent: Array<boolean> = []
      const client = HttpClient.make((request) =>
        Effect.zipRight(
          Effect.map(FiberRef.get(Deadline.currentHeadOnly), (headOnly) => sent.push(headOnly)),
          server.client.execute(request)
        )
      )
      const chunks = yield* Download.stream(get, { schedule: noWait }).pipe(
        Stream.runCollect,
        Effect.provideService(HttpClient.HttpClient, client)
      )
      expect(concat(chunks)).toEqual(body)
      expect(server.seen.map((seen) => seen.headers["range"])).toEqual([undefined, "bytes=40-"])
      expect(sent).toEqual([true, true])
      expect(yield* FiberRef.get(Deadline.currentHeadOnly)).toBe(false)
    }))
})
