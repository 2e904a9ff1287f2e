/**
 * `HttpCacheRedis` on ioredis 5, the older major of the optional peer (`^5.0.0 || ^6.0.0`): the other suites run on
 * ioredis 6 (the devDependency); here `vi.mock` swaps the module for the workspace's `ioredis5` (an alias of
 * ioredis 5), so the store's own `import "ioredis"` loads ioredis 5. A smoke test of what the store asks of the
 * client: SET with PX, GET, DEL, SCAN (`size`) and the client's `keyPrefix`, and a call while the server is gone.
 * `test/ioredis5/tsconfig.json` type-checks the same module against ioredis 5's types.
 */
import { Headers } from "@effect/platform"
import { expect, it } from "@effect/vitest"
import type { HttpCache } from "@sturdy/http"
import * as HttpCacheRedis from "@sturdy/http/HttpCacheRedis"
import { Effect, Logger, LogLevel } from "effect"
import { Redis } from "ioredis"
import { vi } from "vitest"
import { describeWithRedis, freePort, redisServerOn, startRedisServer } from "../../policy/test/utils/redis.js"

vi.mock("ioredis", async () => await import("ioredis5"))

const URL_A = "http://origin.test/a"
const URL_B = "http://origin.test/b"

const entry = (url: string, body = "hello"): HttpCache.Entry => ({
  url,
  status: 200,
  headers: Headers.fromInput({ "content-length": String(body.length), "cache-control": "max-age=60" }),
  body: new TextEncoder().encode(body),
  vary: {},
  // received now (live clock): the store keeps it for what is left of its freshness
  requestTime: Date.now(),
  responseTime: Date.now()
})

// a client of the test's own (ioredis 5 too), to look under the store
const rawClient = (port: number) =>
  Effect.acquireRelease(
    Effect.sync(() => new Redis({ host: "127.0.0.1", port })),
    (client) => Effect.sync(() => client.disconnect())
  )

describeWithRedis("HttpCacheRedis on ioredis 5", () => {
  it.effect("the module the store loads is ioredis 5", () =>
    Effect.promise(async () => {
      expect(Redis).toBe((await import("ioredis5")).Redis)
    }))

  it.live("entries round-trip with a PTTL under ioredis' keyPrefix, size SCANs them, remove deletes; RESP2", () =>
    Effect.gen(function*() {
      const server = yield* startRedisServer
      const raw = yield* rawClient(server.port)
      const store = yield* HttpCacheRedis.make({ host: server.host, port: server.port, keyPrefix: "tenant:" })
      yield* store.set(URL_A, [entry(URL_A)])
      yield* store.set(URL_B, [entry(URL_B, "other body")])
      const [got] = yield* store.get(URL_A)
      expect(got?.url).toBe(URL_A)
      expect(new TextDecoder().decode(got?.body)).toBe("hello")
      const keys = yield* Effect.promise(() => raw.keys("tenant:sturdy:http-cache:*"))
      expect(keys).toHaveLength(2)
      const ttl = yield* Effect.promise(() => raw.pttl(keys[0]!))
      expect(ttl).toBeGreaterThan(0)
      expect(ttl).toBeLessThanOrEqual(60_000)
      expect(yield* store.size).toEqual({ entries: 2, bytes: expect.any(Number) })
      yield* store.remove(URL_A)
      expect(yield* store.get(URL_A)).toEqual([])
      expect((yield* store.size).entries).toBe(1)
      // the store's connection speaks RESP2, as ioredis 5 does (ioredis 6 says HELLO 3)
      const list = String(yield* Effect.promise(() => raw.client("LIST")))
      const resp = list.split("\n").filter((line) => line.includes("resp=")).map((line) =>
        /\bresp=(\d)/.exec(line)?.[1]
      )
      expect(resp.length).toBeGreaterThanOrEqual(2)
      expect(new Set(resp)).toEqual(new Set(["2"]))
    }).pipe(Effect.scoped))

  it.live("a store whose redis-server is gone answers a miss at once (no offline queue)", () =>
    Effect.gen(function*() {
      const port = yield* freePort
      const stop = yield* redisServerOn(port)
      const store = yield* HttpCacheRedis.make({ host: "127.0.0.1", port })
      yield* store.set(URL_A, [entry(URL_A)])
      expect(yield* store.get(URL_A)).toHaveLength(1)
      yield* stop
      expect(yield* store.get(URL_A).pipe(Effect.timeout("5 seconds"))).toEqual([])
    }).pipe(Effect.scoped, Logger.withMinimumLogLevel(LogLevel.None)))
})
