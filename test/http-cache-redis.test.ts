/**
 * `HttpCacheRedis.layer` against a real redis-server and a real node:http server on 127.0.0.1, through `@sturdy/node`'s
 * undici transport: two "processes" (two store layers, caches and clients at once) share what either stored; once
 * stale, either revalidates it with the stored `ETag`; with Redis stopped, requests still succeed, uncached.
 */
import { expect, it } from "@effect/vitest"
import { HttpCache } from "@sturdy/http"
import * as HttpCacheRedis from "@sturdy/http/HttpCacheRedis"
import { UndiciHttpClient } from "@sturdy/node"
import { Effect, Layer, Option, TestClock } from "effect"
import { describeWithRedis, freePort, redisServerOn } from "../packages/policy/test/utils/redis.js"
import * as Loopback from "./utils/loopbackServer.js"

// every byte value, more than once, so an encoding that is not byte-exact shows
const body = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31) % 256))

describeWithRedis("HttpCache on Redis, shared by two processes", () => {
  it.scoped("one stores, the other serves it fresh; either revalidates; Redis stopped: uncached, never failed", () =>
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
      const port = yield* freePort
      const stopRedis = yield* redisServerOn(port)
      yield* Effect.addFinalizer(() => stopRedis)
      const url = `${server.url}/data?q=${encodeURIComponent("é".repeat(200))}`

      /** One "process": its own Redis connection, cache and client, alive until the test ends. */
      const processOf = Effect.gen(function*() {
        const context = yield* Layer.build(HttpCacheRedis.layer({ port }))
        const dispatcher = yield* UndiciHttpClient.makeDispatcher()
        const cache = yield* HttpCache.make().pipe(Effect.provide(context))
        const client = UndiciHttpClient.make(dispatcher).pipe(HttpCache.withCache(cache))
        return Effect.gen(function*() {
          const response = yield* client.get(url)
          const bytes = new Uint8Array(yield* response.arrayBuffer)
          expect(Buffer.from(bytes).equals(body)).toBe(true)
          return Option.getOrUndefined(HttpCache.provenance(response))
        })
      })
      const a = yield* processOf
      const b = yield* processOf

      expect(yield* a).toBe("miss")
      expect(yield* b).toBe("fresh")
      expect(server.hits("/data")).toBe(1)
      yield* TestClock.adjust("61 seconds")
      expect(yield* b).toBe("revalidated")
      expect(server.requests.at(-1)?.headers["if-none-match"]).toBe("\"v1\"")
      expect(yield* a).toBe("fresh")
      expect(server.hits("/data")).toBe(2)

      yield* stopRedis
      expect(yield* a).toBe("miss")
      expect(yield* b).toBe("miss")
      expect(server.hits("/data")).toBe(4)
    }))
})
