import { Headers, type HttpClient } from "@effect/platform"
import { expect, it } from "@effect/vitest"
import { HttpCache } from "@sturdy/http"
import * as HttpCacheRedis from "@sturdy/http/HttpCacheRedis"
import { Clock, Effect, Exit, HashMap, Logger, Option, TestClock } from "effect"
import * as fc from "fast-check"
import { Redis } from "ioredis"
import { describeWithRedis, freePort, redisServerOn, startRedisServer } from "../../policy/test/utils/redis.js"
import { fakeClient } from "./utils/fakeTransport.js"

const PREFIX = "sturdy:http-cache:"
const URL_A = "http://origin.test/a"
const URL_B = "http://origin.test/b"

const sha256 = async (text: string) =>
  Array.from(
    new Uint8Array(await globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))),
    (b) => b.toString(16).padStart(2, "0")
  ).join("")
const keyOf = (url: string, prefix = PREFIX) => Effect.promise(() => sha256(url)).pipe(Effect.map((h) => prefix + h))

/** A plain client on the test's server, to look under the store. */
const rawClient = (port: number) =>
  Effect.acquireRelease(
    Effect.sync(() => new Redis({ host: "127.0.0.1", port, lazyConnect: false })),
    (client) => Effect.promise(() => client.quit().catch(() => "")).pipe(Effect.asVoid)
  )

const entry = (url: string, headers: Record<string, string>, body = "hello"): HttpCache.Entry => ({
  url,
  status: 200,
  headers: Headers.fromInput({ "content-length": String(body.length), ...headers }),
  body: new TextEncoder().encode(body),
  vary: {},
  requestTime: 0,
  responseTime: 0
})

const capture = () => {
  const logs: Array<{ readonly level: string; readonly message: string }> = []
  const logger = Logger.make(({ annotations, logLevel, message }) => {
    logs.push({
      level: logLevel.label,
      message: `${String(message)} ${JSON.stringify(Object.fromEntries(HashMap.toEntries(annotations)))}`
    })
  })
  return { logs, layer: Logger.replace(Logger.defaultLogger, logger) }
}

/** A cache over `store` in front of an origin that answers `stored` with `max-age=60` (counting its requests). */
const cachedClient = (store: HttpCache.Store.Service, seen?: ReturnType<typeof fakeClient>) =>
  Effect.gen(function*() {
    const origin = seen ?? fakeClient(() =>
      Effect.map(
        Clock.currentTimeMillis,
        (now) =>
          new Response("stored", { headers: { date: new Date(now).toUTCString(), "cache-control": "max-age=60" } })
      )
    )
    const cache = yield* HttpCache.make().pipe(Effect.provideService(HttpCache.Store, store))
    return { client: origin.client.pipe(HttpCache.withCache(cache)), seen: origin.seen, origin }
  })

const read = (client: HttpClient.HttpClient, url = URL_A) =>
  Effect.flatMap(
    client.get(url),
    (r) =>
      Effect.map(r.text, (body) => ({
        status: r.status,
        body,
        provenance: Option.getOrUndefined(HttpCache.provenance(r))
      }))
  )

// -----------------------------------------------------------------------------
// any entry round-trips exactly (the generators of the KeyValueStore store's property, smaller)
// -----------------------------------------------------------------------------

const token = fc.stringMatching(/^[!#$%&'*+.^_`|~0-9a-zA-Z-]{1,20}$/)
const headerValue = fc.string({ unit: "binary", maxLength: 40 })
const urlArb = fc.oneof(
  fc.webUrl({ withQueryParameters: true }),
  fc.string({ unit: "binary", minLength: 300, maxLength: 3000 }).map((s) => `http://origin.test/${s}`),
  fc.string({ unit: "grapheme", maxLength: 50 }).map((s) => `https://例え.test/${s}?q=${s}`)
)
const entryArb = (url: string) =>
  fc.record({
    url: fc.constant(url),
    status: fc.integer({ min: 100, max: 599 }),
    // a validator in every entry: the record is kept `maxTtl` whatever else the headers say
    headers: fc.dictionary(token, headerValue, { maxKeys: 8 }).map((h) =>
      Headers.unsafeFromRecord({ ...h, etag: "\"p\"" })
    ),
    body: fc.uint8Array({ maxLength: 2000 }),
    vary: fc.dictionary(token, fc.option(headerValue, { nil: null }), { maxKeys: 3 }),
    requestTime: fc.integer({ min: 0, max: 2 ** 45 }),
    responseTime: fc.integer({ min: 0, max: 2 ** 45 })
  })
const caseArb = urlArb.chain((url) =>
  fc.tuple(fc.constant(url), fc.array(entryArb(url), { minLength: 1, maxLength: 3 }))
)

describeWithRedis("HttpCacheRedis", () => {
  it.scoped(
    "property: any entry (any body, headers, vary with nulls, URL) round-trips through Redis",
    () =>
      Effect.gen(function*() {
        const server = yield* startRedisServer
        const store = yield* HttpCacheRedis.make({ port: server.port, host: server.host })
        yield* Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(caseArb, ([url, entries]) =>
              Effect.runPromise(Effect.gen(function*() {
                yield* store.set(url, entries)
                const got = yield* store.get(url)
                expect(got).toEqual(entries)
                for (const e of got) expect(Headers.isHeaders(e.headers)).toBe(true)
                yield* store.remove(url)
                expect(yield* store.get(url)).toEqual([])
              }))),
            { seed: 9111, numRuns: 60 }
          )
        )
      }),
    60_000
  )

  it.scoped("keys are prefix + SHA-256; every write sets a PTTL within the documented bound", () =>
    Effect.gen(function*() {
      const server = yield* startRedisServer
      const raw = yield* rawClient(server.port)
      const store = yield* HttpCacheRedis.make({ port: server.port, maxTtl: "10 minutes" })
      const pttl = (url: string) => Effect.flatMap(keyOf(url), (key) => Effect.promise(() => raw.pttl(key)))

      // explicit freshness, no validator: what is left of it
      yield* store.set("http://o.test/fresh", [entry("http://o.test/fresh", { "cache-control": "max-age=60" })])
      const fresh = yield* pttl("http://o.test/fresh")
      expect(fresh).toBeGreaterThan(55_000)
      expect(fresh).toBeLessThanOrEqual(60_000)
      // ... plus the longest stale window the response allows
      yield* store.set("http://o.test/swr", [
        entry("http://o.test/swr", { "cache-control": "max-age=60, stale-while-revalidate=30, stale-if-error=20" })
      ])
      const swr = yield* pttl("http://o.test/swr")
      expect(swr).toBeGreaterThan(85_000)
      expect(swr).toBeLessThanOrEqual(90_000)
      // a validator (a 304 can renew it) or no explicit freshness (the heuristic): maxTtl
      for (
        const [url, headers] of [
          ["http://o.test/etag", { "cache-control": "max-age=5", etag: "\"v\"" }],
          ["http://o.test/lm", { "last-modified": new Date(0).toUTCString() }],
          ["http://o.test/none", { "cache-control": "public" }]
        ] as const
      ) {
        yield* store.set(url, [entry(url, headers)])
        const ttl = yield* pttl(url)
        expect(ttl).toBeGreaterThan(595_000)
        expect(ttl).toBeLessThanOrEqual(600_000)
      }
      // capped by maxTtl
      yield* store.set("http://o.test/long", [entry("http://o.test/long", { "cache-control": "max-age=86400" })])
      expect(yield* pttl("http://o.test/long")).toBeLessThanOrEqual(600_000)
      // the longest of a URL's variants
      yield* store.set("http://o.test/two", [
        entry("http://o.test/two", { "cache-control": "max-age=10" }),
        entry("http://o.test/two", { "cache-control": "max-age=100" })
      ])
      expect(yield* pttl("http://o.test/two")).toBeGreaterThan(95_000)
      // nothing usable left: the key goes (what was stored under it too)
      yield* store.set("http://o.test/fresh", [entry("http://o.test/fresh", { "cache-control": "max-age=0" })])
      expect(yield* pttl("http://o.test/fresh")).toBe(-2)
      // the value is the KeyValueStore store's record
      const text = yield* Effect.flatMap(keyOf("http://o.test/etag"), (key) => Effect.promise(() => raw.get(key)))
      expect(JSON.parse(text ?? "{}")).toMatchObject({ v: 1, url: "http://o.test/etag" })
      expect(yield* store.size).toEqual({ entries: 6, bytes: expect.any(Number) })
      // the freshness left is counted from the response's age (received at 0, written 40 s later: 20 s left)
      yield* TestClock.adjust("40 seconds")
      yield* store.set("http://o.test/aged", [entry("http://o.test/aged", { "cache-control": "max-age=60" })])
      const aged = yield* pttl("http://o.test/aged")
      expect(aged).toBeGreaterThan(15_000)
      expect(aged).toBeLessThanOrEqual(20_000)
    }))

  it.scoped("staleTtl keeps a response past its headers' windows; prefix names the keys", () =>
    Effect.gen(function*() {
      const server = yield* startRedisServer
      const raw = yield* rawClient(server.port)
      const store = yield* HttpCacheRedis.make({ port: server.port, prefix: "app*1:", staleTtl: "1 minute" })
      yield* store.set(URL_A, [entry(URL_A, { "cache-control": "max-age=0" })])
      const ttl = yield* Effect.flatMap(keyOf(URL_A, "app*1:"), (key) => Effect.promise(() => raw.pttl(key)))
      expect(ttl).toBeGreaterThan(55_000)
      expect(ttl).toBeLessThanOrEqual(60_000)
      // size counts this prefix only (its glob character taken literally)
      yield* Effect.promise(() => raw.set("app*1:other", "x"))
      yield* Effect.promise(() => raw.set(`appX1:${"0".repeat(64)}`, "x"))
      expect((yield* store.size).entries).toBe(1)
    }))

  // ioredis 6 refuses `replyMapping: "resp3"` without RESP3 (it throws in its constructor, a defect in `make`) and
  // with RESP3 it would change reply shapes: the store's connection keeps "legacy" (ioredis 5's shapes) whatever the
  // caller passes, and takes the caller's `protocol`. (Spread, not written out: ioredis 5's types have neither.)
  it.scoped("ioredis 6's replyMapping \"resp3\" with protocol 2: the store is made and answers, on RESP2", () =>
    Effect.gen(function*() {
      const server = yield* startRedisServer
      const raw = yield* rawClient(server.port)
      const ioredis6Options = { protocol: 2, replyMapping: "resp3" } as const
      const store = yield* HttpCacheRedis.make({ port: server.port, ...ioredis6Options })
      yield* store.set(URL_A, [entry(URL_A, { "cache-control": "max-age=60" })])
      expect((yield* store.get(URL_A)).length).toBe(1)
      expect((yield* store.size).entries).toBe(1)
      const list = String(yield* Effect.promise(() => raw.client("LIST")))
      const resp = list.split("\n").filter((line) => line.includes("resp=") && !line.includes("cmd=client|list"))
        .map((line) => /\bresp=(\d)/.exec(line)?.[1])
      expect(resp).toEqual(["2"])
    }))

  it.scoped("ioredis' own keyPrefix: entries are read back and size counts them", () =>
    Effect.gen(function*() {
      const server = yield* startRedisServer
      const raw = yield* rawClient(server.port)
      const store = yield* HttpCacheRedis.make({ port: server.port, keyPrefix: "tenant[1]:" })
      yield* store.set(URL_A, [entry(URL_A, { "cache-control": "max-age=60" })])
      yield* store.set(URL_B, [entry(URL_B, { "cache-control": "max-age=60" })])
      expect((yield* store.get(URL_A)).length).toBe(1)
      const key = yield* keyOf(URL_A)
      expect(yield* Effect.promise(() => raw.exists(`tenant[1]:${key}`))).toBe(1)
      const size = yield* store.size
      expect(size.entries).toBe(2)
      expect(size.bytes).toBeGreaterThan(0)
    }))

  it.scoped("a corrupt or other-version value is a miss and is deleted; reported once", () =>
    Effect.gen(function*() {
      const server = yield* startRedisServer
      const raw = yield* rawClient(server.port)
      const { layer, logs } = capture()
      const store = yield* HttpCacheRedis.make({ port: server.port })
      for (const [url, value] of [[URL_A, "garbage"], ["http://o.test/b", "{\"v\":2,\"url\":\"x\",\"entries\":[]}"]]) {
        const key = yield* keyOf(url)
        yield* Effect.promise(() => raw.set(key, value))
        expect(yield* store.get(url).pipe(Effect.provide(layer))).toEqual([])
        expect(yield* Effect.promise(() => raw.exists(key))).toBe(0)
      }
      expect(logs.filter((l) => l.level === "WARN")).toHaveLength(1)
    }))

  it.scoped("another URL's record under this URL's key (a collision) is a miss, and stays", () =>
    Effect.gen(function*() {
      const server = yield* startRedisServer
      const raw = yield* rawClient(server.port)
      const store = yield* HttpCacheRedis.make({ port: server.port })
      const other = "http://o.test/other"
      yield* store.set(other, [entry(other, { etag: "\"v\"" })])
      const value = yield* Effect.flatMap(keyOf(other), (key) => Effect.promise(() => raw.get(key)))
      const key = yield* keyOf(URL_A)
      yield* Effect.promise(() => raw.set(key, value ?? ""))
      expect(yield* store.get(URL_A)).toEqual([])
      expect(yield* Effect.promise(() => raw.exists(key))).toBe(1)
      expect(yield* store.get(other)).toHaveLength(1)
    }))

  it.scoped("two layers (two processes) share entries: one stores, the other serves it fresh without a request", () =>
    Effect.gen(function*() {
      const server = yield* startRedisServer
      const options = { host: server.host, port: server.port }
      const origin = fakeClient(() =>
        Effect.map(Clock.currentTimeMillis, (now) =>
          new Response("stored", {
            headers: { date: new Date(now).toUTCString(), "cache-control": "max-age=60", etag: "\"v1\"" }
          }))
      )
      const run = <A, E>(f: (client: HttpClient.HttpClient) => Effect.Effect<A, E>) =>
        Effect.scoped(Effect.gen(function*() {
          const cache = yield* HttpCache.make()
          return yield* f(origin.client.pipe(HttpCache.withCache(cache)))
        })).pipe(Effect.provide(HttpCacheRedis.layer(options)))
      expect(yield* run(read)).toMatchObject({ body: "stored", provenance: "miss" })
      expect(yield* run(read)).toMatchObject({ body: "stored", provenance: "fresh" })
      expect(origin.seen).toHaveLength(1)
    }))

  it.scoped("Redis down at start (a closed port): requests succeed uncached; warned once", () =>
    Effect.gen(function*() {
      const port = yield* freePort
      const { layer, logs } = capture()
      const store = yield* HttpCacheRedis.make({ port, connectTimeout: 200 })
      const { client, seen } = yield* cachedClient(store)
      for (let i = 0; i < 3; i++) {
        expect(yield* read(client).pipe(Effect.provide(layer))).toMatchObject({
          status: 200,
          body: "stored",
          provenance: "miss"
        })
      }
      expect(seen).toHaveLength(3)
      expect(yield* store.size).toEqual({ entries: 0, bytes: 0 })
      expect(logs.filter((l) => l.level === "WARN")).toHaveLength(1)
      expect(logs.filter((l) => l.level === "WARN")[0].message).toContain("HttpCacheRedis")
    }))

  it.scoped("Redis stopped mid-way: requests still succeed uncached; warned once for the outage", () =>
    Effect.gen(function*() {
      const port = yield* freePort
      const stop = yield* redisServerOn(port)
      const { layer, logs } = capture()
      const store = yield* HttpCacheRedis.make({ port })
      const { client, seen } = yield* cachedClient(store)
      expect(yield* read(client)).toMatchObject({ provenance: "miss" })
      expect(yield* read(client)).toMatchObject({ provenance: "fresh" })
      yield* stop
      for (let i = 0; i < 3; i++) {
        expect(yield* read(client).pipe(Effect.provide(layer))).toMatchObject({ status: 200, provenance: "miss" })
      }
      expect(seen).toHaveLength(4)
      expect(logs.filter((l) => l.level === "WARN")).toHaveLength(1)
    }))

  it.live(
    "an outage is warned once, its end logged once at info; the next outage is warned again",
    () =>
      Effect.gen(function*() {
        const port = yield* freePort
        const { layer, logs } = capture()
        const store = yield* HttpCacheRedis.make({ port, connectTimeout: 200 })
        const stored = [entry(URL_A, { etag: "\"v\"" })]
        const levels = () => logs.filter((l) => l.level !== "DEBUG").map((l) => l.level)
        const outage = Effect.gen(function*() {
          for (let i = 0; i < 3; i++) {
            expect(yield* store.get(URL_A).pipe(Effect.provide(layer))).toEqual([])
            yield* store.set(URL_A, stored).pipe(Effect.provide(layer))
            yield* store.set(URL_B, [entry(URL_B, { etag: "\"v\"" })]).pipe(Effect.provide(layer))
          }
        })
        yield* outage
        expect(levels()).toEqual(["WARN"])
        // a server on the port: ioredis reconnects in the background; wait (real time, bounded) until it answers
        const stop = yield* redisServerOn(port)
        const giveUpAt = performance.now() + 15_000
        let answered = false
        while (!answered && performance.now() < giveUpAt) {
          yield* store.set(URL_A, stored).pipe(Effect.provide(layer))
          answered = (yield* store.get(URL_A).pipe(Effect.provide(layer))).length === 1
          if (!answered) yield* Effect.sleep("50 millis")
        }
        expect(answered).toBe(true)
        expect(levels()).toEqual(["WARN", "INFO"])
        // the writes skipped during the outage stay skipped: nothing was queued to be replayed on reconnect
        expect(yield* store.get(URL_B)).toEqual([])
        yield* stop
        yield* outage
        expect(levels()).toEqual(["WARN", "INFO", "WARN"])
      }).pipe(Effect.scoped),
    30_000
  )

  it.scoped("Redis slower than `timeout`: a read is a miss, a write is skipped, the request succeeds", () =>
    Effect.gen(function*() {
      const server = yield* startRedisServer
      const raw = yield* rawClient(server.port)
      const store = yield* HttpCacheRedis.make({ port: server.port, timeout: "50 millis" })
      const { client, seen } = yield* cachedClient(store)
      expect(yield* read(client)).toMatchObject({ provenance: "miss" })
      // every other client's commands wait 2 s (real time): the store gives up after 50 ms
      yield* Effect.promise(() => raw.call("CLIENT", "PAUSE", "2000", "ALL"))
      // the response stored by the first read is fresh: a store that waited out the pause would serve it
      expect(yield* read(client)).toMatchObject({ status: 200, provenance: "miss" })
      expect(seen).toHaveLength(2)
      yield* Effect.promise(() => raw.call("CLIENT", "UNPAUSE"))
    }))

  it.scoped("bad options fail with InvalidOptions naming each", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        HttpCacheRedis.make({ prefix: 5 as never, timeout: 0, maxTtl: "-1 seconds", staleTtl: "soon" as never })
      )
      expect(Exit.isFailure(exit)).toBe(true)
      const error = Exit.isFailure(exit) ? exit.cause : undefined
      expect(String(error)).toContain("prefix")
      expect(String(error)).toContain("timeout")
      expect(String(error)).toContain("maxTtl")
      expect(String(error)).toContain("staleTtl")
    }))
})
