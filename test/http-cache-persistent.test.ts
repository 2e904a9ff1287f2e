/**
 * `HttpCacheKeyValueStore.layer` over `KeyValueStore.layerFileSystem` in a temporary directory, against a real
 * node:http server on 127.0.0.1 through `@sturdy/node`'s undici transport: a "restart" (a second layer build on the
 * same directory, a new cache and a new client) answers a fresh response without a request, with the same bytes, and
 * revalidates it with the stored `ETag` once stale.
 */
import { KeyValueStore } from "@effect/platform"
import { NodeFileSystem, NodePath } from "@effect/platform-node"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { HttpCache } from "@sturdy/http"
import * as HttpCacheKeyValueStore from "@sturdy/http/HttpCacheKeyValueStore"
import { UndiciHttpClient } from "@sturdy/node"
import { Effect, Layer, Option, TestClock } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Loopback from "./utils/loopbackServer.js"

const directory = Fs.mkdtempSync(Path.join(Os.tmpdir(), "sturdy-http-cache-restart-"))
afterAll(() => Fs.rmSync(directory, { recursive: true, force: true }))

// every byte value, more than once, so an encoding that is not byte-exact shows
const body = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31) % 256))

describe("HttpCache on the file system", () => {
  it.scoped("a restart (a second layer build on the same directory) serves a fresh response without a request", () =>
    Effect.gen(function*() {
      const server = yield* Loopback.start({
        "/data": (request, response) => {
          if (request.headers["if-none-match"] === "\"v1\"") {
            response.writeHead(304, { etag: "\"v1\"", "cache-control": "max-age=60" })
            return response.end()
          }
          response.writeHead(200, {
            "content-type": "application/octet-stream",
            "content-length": String(body.byteLength),
            "cache-control": "max-age=60",
            etag: "\"v1\""
          })
          response.end(body)
        }
      })
      const url = `${server.url}/data?q=${encodeURIComponent("é".repeat(200))}`
      /** One "process": its own store layer, cache and client over the same directory. */
      const run = Effect.scoped(Effect.gen(function*() {
        const dispatcher = yield* UndiciHttpClient.makeDispatcher()
        const cache = yield* HttpCache.make()
        const client = UndiciHttpClient.make(dispatcher).pipe(HttpCache.withCache(cache))
        const response = yield* client.get(url)
        const bytes = new Uint8Array(yield* response.arrayBuffer)
        return { bytes, provenance: Option.getOrUndefined(HttpCache.provenance(response)) }
      })).pipe(
        Effect.provide(
          HttpCacheKeyValueStore.layer().pipe(
            Layer.provide(KeyValueStore.layerFileSystem(directory)),
            Layer.provide([NodeFileSystem.layer, NodePath.layer])
          )
        )
      )
      const first = yield* run
      expect(first.provenance).toBe("miss")
      expect(Buffer.from(first.bytes).equals(body)).toBe(true)
      expect(server.hits("/data")).toBe(1)
      yield* TestClock.adjust("30 seconds")
      const second = yield* run
      expect(second.provenance).toBe("fresh")
      expect(Buffer.from(second.bytes).equals(body)).toBe(true)
      expect(server.hits("/data")).toBe(1)
      // the record and the index are all that is on disk
      expect(Fs.readdirSync(directory)).toHaveLength(2)
      yield* TestClock.adjust("31 seconds")
      const third = yield* run
      expect(third.provenance).toBe("revalidated")
      expect(Buffer.from(third.bytes).equals(body)).toBe(true)
      expect(server.hits("/data")).toBe(2)
      expect(server.requests.at(-1)?.headers["if-none-match"]).toBe("\"v1\"")
    }))
})
