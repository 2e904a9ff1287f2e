/**
 * A program on the older major of the optional peer, ioredis 5, compiled by `packaging.test.ts` in a project of its
 * own (the packed tarballs, effect, and `ioredis` ^5; NodeNext, `skipLibCheck: false`) and run with plain `node`
 * against the test's redis-server on 127.0.0.1 (its port is the first argument): two processes' worth of
 * `RateLimitRedis` connections share one limit, and `HttpCacheRedis` stores and counts a response. It prints one JSON
 * line, with the major of the ioredis it loaded.
 */
// a deep import: the root index of @effect/platform pulls in d.ts files that need the DOM lib under skipLibCheck false
import * as Headers from "@effect/platform/Headers"
import type { HttpCache } from "@sturdy/http"
import * as HttpCacheRedis from "@sturdy/http/HttpCacheRedis"
import { RateLimit } from "@sturdy/policy"
import * as RateLimitRedis from "@sturdy/policy/RateLimitRedis"
import { Effect, Layer } from "effect"
import { createRequire } from "node:module"

const port = Number(process.argv[2])
const ioredis = createRequire(import.meta.url)("ioredis/package.json") as { readonly version: string }

const program = Effect.gen(function*() {
  const options: RateLimitRedis.StoreOptions = { host: "127.0.0.1", port, prefix: "v5:" }
  const limit = { limit: 1, window: "10 seconds", onExceeded: "fail", algorithm: "fixed-window" } as const
  const a = yield* Effect.provide(RateLimit.make(limit), yield* Layer.build(RateLimitRedis.layerStore(options)))
  const b = yield* Effect.provide(RateLimit.make(limit), yield* Layer.build(RateLimitRedis.layerStore(options)))
  yield* a.consume("api")
  const limited = yield* Effect.flip(b.consume("api"))
  const cacheOptions: HttpCacheRedis.Options = { host: "127.0.0.1", port }
  const store: HttpCache.Store.Service = yield* HttpCacheRedis.make(cacheOptions)
  const now = Date.now()
  yield* store.set("http://origin.test/a", [{
    url: "http://origin.test/a",
    status: 200,
    headers: Headers.fromInput({ "cache-control": "max-age=60" }),
    body: new TextEncoder().encode("hello"),
    vary: {},
    requestTime: now,
    responseTime: now
  }])
  const [entry] = yield* store.get("http://origin.test/a")
  return {
    ioredis: Number(ioredis.version.split(".")[0]),
    limited: limited._tag,
    cached: entry === undefined ? null : new TextDecoder().decode(entry.body),
    entries: (yield* store.size).entries
  }
}).pipe(Effect.scoped)

Effect.runPromise(program).then(
  (result) => console.log(JSON.stringify(result)),
  (error) => {
    console.error(error)
    process.exitCode = 1
  }
)
