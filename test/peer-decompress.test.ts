/**
 * Decompression cases of peer clients, ported to `@sturdy/node`'s transport with `decompress: true`, through
 * `Attempt.send` / `Attempt.json`, against real `node:http` and raw `net` servers on 127.0.0.1. Each case cites its
 * source suite:
 *
 * - got `test/gzip.ts` (sindresorhus/got), whose `decompress: true` default this option matches; the same suite with
 *   decompression off is `peer-got-gzip.test.ts`.
 * - undici `test/fetch/encoding.js` and `test/fetch/issue-3616.js` (nodejs/undici): fetch's own decoding.
 * - axios `test/unit/adapters/http.js`, `describe('compression')` and its `algorithms` cases (axios/axios).
 *
 * Deliberate differences, each said where it applies: the decoded response has no `Content-Encoding` and no
 * `Content-Length` (got keeps `headers` as sent and undici's fetch keeps them too; axios removes `Content-Encoding`),
 * since `Attempt` reads both; `compress` (LZW), which axios decodes as gzip, is not decoded.
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Attempt, HttpFailure } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { Context, Effect, Layer, Schema } from "effect"
import * as Zlib from "node:zlib"
import * as Loop from "./utils/loopbackServer.js"
import * as Raw from "./utils/rawServer.js"
import { failureIn as failureOf, getFrom as get } from "./utils/undiciClient.js"

const decoding = Effect.map(
  Layer.build(UndiciHttpClient.layer({ decompress: true })),
  Context.get(HttpClient.HttpClient)
)

const testContent = "Compressible response content.\n"
const gzipData = Zlib.gzipSync(testContent)

const encoded = (header: string, body: Uint8Array | string, status = 200): Loop.Handler => (_, res) => {
  res.statusCode = status
  res.setHeader("Content-Encoding", header)
  res.end(body)
}

describe("got test/gzip.ts, with decompression on", () => {
  it.scoped("decompress content", () =>
    Effect.gen(function*() {
      // got: the body is `testContent`; and got sends `accept-encoding: gzip, deflate, br`
      const server = yield* Loop.start({ "/": encoded("gzip", gzipData) })
      const received = yield* Attempt.send(yield* decoding, get(server))
      expect(received.text).toBe(testContent)
      expect(server.requests[0].headers["accept-encoding"]).toMatch(/^gzip, deflate, br/)
    }))

  it.scoped("decompress content on error", () =>
    Effect.gen(function*() {
      // got: the error's body is the decoded `testContent`; here the 404's excerpt is
      const server = yield* Loop.start({ "/": encoded("gzip", gzipData, 404) })
      const failure = yield* failureOf(Attempt.send(yield* decoding, get(server)))
      expect(failure._tag).toBe("ClientError")
      expect(failure._tag === "ClientError" && failure.bodyExcerpt).toContain("Compressible")
    }))

  it.scoped("handles gzip error", () =>
    Effect.gen(function*() {
      // got: ReadError "incorrect header check"; here BodyUndecodable, not transient
      const server = yield* Loop.start({ "/": encoded("gzip", "Not gzipped content") })
      const failure = yield* failureOf(Attempt.send(yield* decoding, get(server)))
      expect(failure._tag).toBe("BodyUndecodable")
      expect(failure._tag === "BodyUndecodable" && failure.cause?.message).toContain("incorrect header check")
      expect(HttpFailure.isTransient(failure)).toBe(false)
    }))

  it.scoped("preserves `headers` property", () =>
    Effect.gen(function*() {
      // Differs from got (headers as sent): Content-Encoding and Content-Length describe the wire, not the body
      const server = yield* Loop.start({
        "/": (_, res) => res.writeHead(200, { "content-encoding": "gzip", "x-kept": "yes" }).end(gzipData)
      })
      const received = yield* Attempt.send(yield* decoding, get(server))
      expect(received.headers["x-kept"]).toBe("yes")
      expect(received.headers["content-encoding"]).toBeUndefined()
      expect(received.headers["content-length"]).toBeUndefined()
    }))

  it.scoped("does not break HEAD responses", () =>
    Effect.gen(function*() {
      const server = yield* Loop.start({ "/": (_, res) => res.writeHead(200, { "content-encoding": "gzip" }).end() })
      const received = yield* Attempt.send(yield* decoding, HttpClientRequest.head(`${server.url}/`))
      expect(received.body.byteLength).toBe(0)
    }))

  it.scoped("does not ignore missing data", () =>
    Effect.gen(function*() {
      // got: ReadError "unexpected end of file"; the message is whole but the gzip stream is not: BodyTruncated
      const server = yield* Loop.start({ "/": encoded("gzip", gzipData.subarray(0, -1)) })
      const failure = yield* failureOf(Attempt.send(yield* decoding, get(server)))
      expect(failure._tag).toBe("BodyTruncated")
    }))

  it.scoped("does not ignore aborted compressed responses", () =>
    Effect.gen(function*() {
      const raw = yield* Raw.start({
        "/": (socket) => {
          socket.write(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Encoding: gzip\r\n" +
              `Content-Length: ${gzipData.length}\r\nConnection: close\r\n\r\n`
          )
          socket.write(gzipData.subarray(0, -1), () => socket.destroy())
        }
      })
      const failure = yield* failureOf(Attempt.send(yield* decoding, get(raw)))
      expect(failure._tag).toBe("BodyTruncated")
      expect(HttpFailure.isTransient(failure)).toBe(true)
    }))

  it.scoped("does not throw on compressed close-delimited response without content-length", () =>
    Effect.gen(function*() {
      const raw = yield* Raw.start({
        "/": (socket) => {
          socket.write(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Encoding: gzip\r\nConnection: close\r\n\r\n"
          )
          socket.end(gzipData)
        }
      })
      expect((yield* Attempt.send(yield* decoding, get(raw))).text).toBe(testContent)
    }))
})

describe("undici test/fetch/encoding.js and issue-3616.js", () => {
  it.scoped("content-encoding header is case-iNsENsITIve", () =>
    Effect.gen(function*() {
      const body = Zlib.brotliCompressSync(Zlib.gzipSync("Hello, World!"))
      const server = yield* Loop.start({ "/": encoded("GZiP, bR", body) })
      expect((yield* Attempt.send(yield* decoding, get(server))).text).toBe("Hello, World!")
    }))

  it.scoped("response decompression according to content-encoding should be handled in a correct order", () =>
    Effect.gen(function*() {
      const body = Zlib.gzipSync(Zlib.deflateSync("Hello, World!"))
      const server = yield* Loop.start({ "/": encoded("deflate, gzip", body) })
      expect((yield* Attempt.send(yield* decoding, get(server))).text).toBe("Hello, World!")
    }))

  it.scoped("issue 3616: an empty body with Content-Length 0 and any coding does not fail", () =>
    Effect.gen(function*() {
      for (const coding of ["x-gzip", "gzip", "deflate", "br"]) {
        const server = yield* Loop.start({
          "/": (_, res) => res.writeHead(200, { "content-length": "0", "content-encoding": coding }).end()
        })
        expect((yield* Attempt.send(yield* decoding, get(server))).body.byteLength, coding).toBe(0)
      }
    }))
})

describe("axios test/unit/adapters/http.js: compression", () => {
  it.scoped("should support transparent gunzip", () =>
    Effect.gen(function*() {
      const data = { firstName: "Fred", lastName: "Flintstone", emailAddr: "fred@example.com" }
      const server = yield* Loop.start({
        "/": (_, res) =>
          res.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" })
            .end(Zlib.gzipSync(JSON.stringify(data)))
      })
      const Person = Schema.Struct({ firstName: Schema.String, lastName: Schema.String, emailAddr: Schema.String })
      expect(yield* Attempt.json(yield* decoding, get(server), Person)).toEqual(data)
    }))

  it.scoped("should support gunzip error handling", () =>
    Effect.gen(function*() {
      const server = yield* Loop.start({
        "/": (_, res) =>
          res.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" }).end("invalid response")
      })
      const failure = yield* failureOf(Attempt.json(yield* decoding, get(server), Schema.Unknown))
      expect(failure._tag).toBe("BodyUndecodable")
    }))

  // axios's algorithms: `deflate-raw` is raw deflate sent as `deflate`; `compress` is left out (see the header)
  const responseBody = "str"
  const algorithms: ReadonlyArray<readonly [string, string, Buffer]> = [
    ["gzip", "gzip", Zlib.gzipSync(responseBody)],
    ["deflate", "deflate", Zlib.deflateSync(responseBody)],
    ["deflate-raw", "deflate", Zlib.deflateRawSync(responseBody)],
    ["br", "br", Zlib.brotliCompressSync(responseBody)]
  ]
  for (const [name, type, zipped] of algorithms) {
    it.scoped(`${name} decompression: should support decompression`, () =>
      Effect.gen(function*() {
        const server = yield* Loop.start({ "/": encoded(type, zipped) })
        expect((yield* Attempt.send(yield* decoding, get(server))).text).toBe(responseBody)
      }))

    it.scoped(`${name} decompression: should not fail with chunked responses (without Content-Length header)`, () =>
      Effect.gen(function*() {
        const server = yield* Loop.start({
          "/": (_, res) => {
            res.setHeader("Content-Encoding", type)
            res.setHeader("Transfer-Encoding", "chunked")
            res.write(zipped)
            res.end()
          }
        })
        expect((yield* Attempt.send(yield* decoding, get(server))).text).toBe(responseBody)
      }))

    it.scoped(`${name} decompression: should not fail with an empty response (Z_BUF_ERROR), with and without Content-Length`, () =>
      Effect.gen(function*() {
        const server = yield* Loop.start({
          "/with": (_, res) => res.writeHead(200, { "content-encoding": type }).end(),
          "/without": (_, res) => {
            res.setHeader("Content-Encoding", type)
            res.setHeader("Transfer-Encoding", "chunked")
            res.end()
          }
        })
        const http = yield* decoding
        expect((yield* Attempt.send(http, get(server, "/with"))).text).toBe("")
        expect((yield* Attempt.send(http, get(server, "/without"))).text).toBe("")
      }))
  }

  it.scoped("compress (LZW): not decoded, handed over as sent (axios decodes it as gzip)", () =>
    Effect.gen(function*() {
      const server = yield* Loop.start({ "/": encoded("compress", gzipData) })
      const received = yield* Attempt.send(yield* decoding, get(server))
      expect(Buffer.compare(Buffer.from(received.body), gzipData)).toBe(0)
      expect(received.headers["content-encoding"]).toBe("compress")
    }))
})
