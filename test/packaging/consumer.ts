/**
 * A program as a user of the published packages writes it, compiled by `packaging.test.ts` in a project outside
 * the workspace (NodeNext, `skipLibCheck: false`) against the packed tarballs and run with plain `node`: a call
 * through the standard policy on the undici transport to a loopback server that answers 503 once, then 200; a 404;
 * a rate limiter; a call from Promise code through a `Runner`; two callers of one key sharing a run through
 * `Coalesce`; three calls spread over two replicas by a round-robin `Balancer`; Server-Sent Events that reconnect
 * with `Last-Event-ID`, a download resumed with `Range` after a cut, a response answered by `HttpCache`, two pages
 * followed by their `Link` header and a gzipped JSON Lines body decompressed by the transport and decoded with a
 * schema; a 418 that `Chaos` injects in front of the transport without reaching the server; and a value from each
 * of the other packages. It prints one JSON line.
 */
// deep imports: the root index of @effect/platform pulls in d.ts files that need the DOM lib under skipLibCheck false
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { Cli, ExitCode } from "@sturdy/cli"
import {
  Attempt,
  Download,
  EventStream,
  HttpCache,
  HttpFailure,
  JsonLines,
  Paginate,
  Policy,
  SturdyClient
} from "@sturdy/http"
import type * as HttpCacheRedis from "@sturdy/http/HttpCacheRedis"
import { UndiciHttpClient } from "@sturdy/node"
import { Backoff, Balancer, Coalesce, RateLimit, Runner } from "@sturdy/policy"
import type * as RateLimitRedis from "@sturdy/policy/RateLimitRedis"
import { Chaos, FaultScript, ScheduleKit } from "@sturdy/testing"
import { Chunk, Deferred, Effect, Layer, ManagedRuntime, Option, Schedule, Schema, Stream } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Zlib from "node:zlib"

const User = Schema.Struct({ id: Schema.Number, name: Schema.String })

const hits: Record<string, number> = {}
const server = Http.createServer((request, response) => {
  const path = request.url ?? "/"
  hits[path] = (hits[path] ?? 0) + 1
  if (path === "/users/1" && hits[path] === 1) {
    response.writeHead(503, { "content-type": "text/plain" }).end("busy")
  } else if (path === "/users/1") {
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ id: 1, name: "Ada" }))
  } else if (path === "/events" && request.headers["last-event-id"] === undefined) {
    response.writeHead(200, { "content-type": "text/event-stream" }).end("id: 1\ndata: a\n\nid: 2\ndata: b\n\n")
  } else if (path === "/events") {
    // the reconnect carries the last id; 204 tells the stream to stop
    response.writeHead(204).end()
  } else if (path === "/file" && request.headers.range === "bytes=4-" && request.headers["if-range"] === "\"f1\"") {
    response.writeHead(206, { etag: "\"f1\"", "content-length": "6", "content-range": "bytes 4-9/10" }).end("efghij")
  } else if (path === "/file") {
    // the first answer loses its connection after 4 of its 10 bytes
    response.writeHead(200, { etag: "\"f1\"", "content-length": "10" })
    response.write("abcd", () => setTimeout(() => response.destroy(), 20))
  } else if (path === "/pages" || path === "/pages?page=2") {
    const next = path === "/pages" ? { link: "</pages?page=2>; rel=\"next\"" } : {}
    response.writeHead(200, { "content-type": "application/json", ...next }).end(path === "/pages" ? "[1,2]" : "[3]")
  } else if (path === "/lines") {
    // gzipped when asked for: the transport that reads it decompresses
    const gzip = request.headers["accept-encoding"]?.includes("gzip") === true
    if (gzip) hits.gzip = (hits.gzip ?? 0) + 1
    const body = "{\"id\":1,\"name\":\"Ada\"}\r\n\n{\"id\":2,\"name\":\"Grace\"}"
    response.writeHead(200, { "content-type": "application/x-ndjson", ...(gzip ? { "content-encoding": "gzip" } : {}) })
    response.end(gzip ? Zlib.gzipSync(body) : body)
  } else if (path === "/cached") {
    response.writeHead(200, { "content-type": "text/plain", "cache-control": "max-age=60" }).end("cached")
  } else {
    response.writeHead(404, { "content-type": "text/plain" }).end("no such thing")
  }
})
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
const { port } = server.address() as AddressInfo

const ApiLive = SturdyClient.layer({ baseUrl: `http://127.0.0.1:${port}` }).pipe(
  Layer.provide(Policy.layer({ totalTimeout: "10 seconds", retry: { maxAttempts: 3, baseDelay: "10 millis" } })),
  Layer.provide(UndiciHttpClient.layer({ connections: 4 }))
)

// only the type: the Redis store's entry point type-checks, and nothing here loads ioredis
const redisOptions: RateLimitRedis.StoreOptions = { host: "127.0.0.1", port: 6379 }
const cacheRedisOptions: HttpCacheRedis.Options = { host: "127.0.0.1", port: 6379, maxTtl: "1 hour" }

const program = Effect.gen(function*() {
  const api = yield* SturdyClient.SturdyClient
  const user = yield* api.get("/users/1", { schema: User })
  const missing = yield* Effect.flip(api.get("/nowhere", { schema: User }))
  const limiter = yield* RateLimit.make({ limit: 1, window: "1 minute", onExceeded: "fail" })
  yield* limiter.consume("key")
  const limited = yield* Effect.flip(limiter.consume("key"))
  // two callers of one key while its run is held open: the second waits for the first's run
  const group = yield* Coalesce.make()
  const release = yield* Deferred.make<void>()
  let coalescedRuns = 0
  const shared = Effect.zipRight(Effect.sync(() => coalescedRuns++), Deferred.await(release))
  const callers = yield* Effect.fork(
    Effect.all([Coalesce.run(shared, group, "k"), Coalesce.run(shared, group, "k")], { concurrency: 2 })
  )
  for (let i = 0; i < 1000 && (yield* group.inFlight).get("k") !== 2; i++) yield* Effect.yieldNow()
  yield* Deferred.succeed(release, undefined)
  yield* callers.await
  const replicas = yield* Balancer.make({ endpoints: ["a", "b"], strategy: "round-robin" })
  const balanced: Array<string> = []
  for (let i = 0; i < 3; i++) {
    balanced.push(yield* Balancer.withEndpoint(replicas, (endpoint) => Effect.succeed(endpoint)))
  }
  // Server-Sent Events, a download resumed after a cut, and a response answered from an HTTP cache, all on undici
  const streams = yield* Effect.scoped(
    Effect.gen(function*() {
      const transport = UndiciHttpClient.make(yield* UndiciHttpClient.makeDispatcher())
      const events = yield* Stream.runCollect(
        EventStream.make(transport, `http://127.0.0.1:${port}/events`, { reconnectionTime: "1 millis" })
      )
      const file = yield* Download.bytes(HttpClientRequest.get(`http://127.0.0.1:${port}/file`), {
        schedule: Schedule.recurs(3)
      }).pipe(Effect.provideService(HttpClient.HttpClient, transport))
      const cache = yield* HttpCache.make()
      const cached = transport.pipe(HttpCache.withCache(cache))
      const provenances: Array<string | undefined> = []
      for (let i = 0; i < 2; i++) {
        const response = yield* cached.get(`http://127.0.0.1:${port}/cached`)
        yield* response.text
        provenances.push(Option.getOrUndefined(HttpCache.provenance(response)))
      }
      const pages = yield* Paginate.links(
        HttpClientRequest.get(`http://127.0.0.1:${port}/pages`),
        (request) => Attempt.send(transport, request)
      ).pipe(
        Stream.mapEffect((page) => Attempt.decodeJson(page, Schema.Array(Schema.Number))),
        Paginate.items((items) => items),
        Stream.runCollect
      )
      const decompressing = UndiciHttpClient.make(yield* UndiciHttpClient.makeDispatcher({ decompress: true }))
      const lines = yield* Stream.runCollect(JsonLines.stream(decompressing, `http://127.0.0.1:${port}/lines`, User))
      return {
        events: Chunk.toReadonlyArray(events).map((event) => `${event.lastEventId}:${event.data}`),
        file: new TextDecoder().decode(file),
        provenances,
        pages: Chunk.toReadonlyArray(pages),
        lines: Chunk.toReadonlyArray(lines).map((user) => user.name)
      }
    }).pipe(Effect.provide(HttpCache.layerMemory()))
  )
  // `hits` above shows it never reached the server
  const chaosStatus = yield* Effect.scoped(Effect.gen(function*() {
    const transport = UndiciHttpClient.make(yield* UndiciHttpClient.makeDispatcher())
    const chaotic = Chaos.transform(transport, { injectionRate: 1, faults: [FaultScript.status(418)] })
    return (yield* chaotic.get(`http://127.0.0.1:${port}/users/1`)).status
  }))
  return {
    coalescedRuns,
    balanced,
    streams,
    chaosStatus,
    user,
    hits,
    missing: missing._tag === "ClientError" ? `${missing._tag} ${missing.status}` : missing._tag,
    missingIsTransient: missing._tag === "ClientError" && HttpFailure.isTransient(missing),
    limited: limited._tag,
    delays: ScheduleKit.delaysSync(Backoff.exponential({ baseDelay: "100 millis", jitter: "none" }), {
      attempts: 3,
      seed: 1
    }),
    exitCodeConnection: ExitCode.codes.Connection,
    cliVersion: Cli.version,
    redisPrefix: redisOptions.prefix ?? "ratelimiter:",
    cacheRedisPrefix: cacheRedisOptions.prefix ?? "sturdy:http-cache:"
  }
})

// Promise code calling through a Runner, as a route handler would: the runner needs the fibers of the installed
// `effect`, so this checks that the peer copy is the one it runs on
const viaRunner = async () => {
  const managed = ManagedRuntime.make(ApiLive)
  const runner = Runner.unsafeMake(await managed.runtime())
  try {
    const user = await runner.runPromise(
      Effect.flatMap(SturdyClient.SturdyClient, (api) => api.get("/users/1", { schema: User }))
    )
    return { user, parked: runner.idle }
  } finally {
    runner.close()
    await managed.dispose()
  }
}

try {
  const result = await Effect.runPromise(program.pipe(Effect.provide(Layer.merge(ApiLive, RateLimit.layerStoreMemory))))
  const runner = await viaRunner()
  console.log(JSON.stringify({ ...result, runner }))
} finally {
  server.close()
}
