import { Headers, type HttpClient, HttpClientRequest, KeyValueStore } from "@effect/platform"
import { NodeFileSystem, NodePath } from "@effect/platform-node"
import * as PlatformError from "@effect/platform/Error"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { HttpCache } from "@sturdy/http"
import * as HttpCacheKeyValueStore from "@sturdy/http/HttpCacheKeyValueStore"
import { Clock, Effect, HashMap, Layer, Logger, Option, TestClock, TestContext } from "effect"
import * as fc from "fast-check"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fakeClient } from "./utils/fakeTransport.js"

const directories: Array<string> = []
const tempDir = () => {
  const directory = Fs.mkdtempSync(Path.join(Os.tmpdir(), "sturdy-http-cache-"))
  directories.push(directory)
  return directory
}
afterAll(() => {
  for (const directory of directories) Fs.rmSync(directory, { recursive: true, force: true })
})

const fileSystem = (directory: string) =>
  KeyValueStore.layerFileSystem(directory).pipe(Layer.provide([NodeFileSystem.layer, NodePath.layer]))

/** The store over `kv`, with the KeyValueStore itself to look under it. */
const storeOn = (
  kv: Layer.Layer<KeyValueStore.KeyValueStore, PlatformError.PlatformError>,
  options?: HttpCacheKeyValueStore.Options
) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(kv)
    const store = yield* HttpCacheKeyValueStore.make(options).pipe(Effect.provide(context))
    return { store, kv: yield* Effect.provide(KeyValueStore.KeyValueStore, context) }
  })

const sha256 = async (text: string) =>
  Array.from(
    new Uint8Array(await globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))),
    (b) => b.toString(16).padStart(2, "0")
  ).join("")

const PREFIX = "sturdy-http-cache:"
const recordKey = (url: string) => Effect.promise(() => sha256(url)).pipe(Effect.map((hash) => PREFIX + hash))

const entry = (url: string, body = "hello", extra: Partial<HttpCache.Entry> = {}): HttpCache.Entry => ({
  url,
  status: 200,
  headers: Headers.fromInput({ "cache-control": "max-age=60", "content-length": String(body.length) }),
  body: new TextEncoder().encode(body),
  vary: {},
  requestTime: 1000,
  responseTime: 1005,
  ...extra
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

// -----------------------------------------------------------------------------
// any entry round-trips exactly
// -----------------------------------------------------------------------------

const token = fc.stringMatching(/^[!#$%&'*+.^_`|~0-9a-zA-Z-]{1,20}$/)
const headerValue = fc.string({ unit: "binary", maxLength: 40 })
const urlArb = fc.oneof(
  fc.webUrl({ withQueryParameters: true }),
  // very long (over any file name), and unicode that URL parsing never saw
  fc.string({ unit: "binary", minLength: 300, maxLength: 3000 }).map((s) => `http://origin.test/${s}`),
  fc.string({ unit: "grapheme", maxLength: 50 }).map((s) => `https://例え.test/${s}?q=${s}`)
)
const entryArb = (url: string) =>
  fc.record({
    url: fc.constant(url),
    status: fc.integer({ min: 100, max: 599 }),
    // names as given (a store of its own may hold upper case): unsafeFromRecord keeps them
    headers: fc.dictionary(token, headerValue, { maxKeys: 8 }).map((h) => Headers.unsafeFromRecord(h)),
    body: fc.uint8Array({ maxLength: 2000 }),
    vary: fc.dictionary(token, fc.option(headerValue, { nil: null }), { maxKeys: 3 }),
    requestTime: fc.integer({ min: 0, max: 2 ** 45 }),
    responseTime: fc.integer({ min: 0, max: 2 ** 45 })
  })
const caseArb = urlArb.chain((url) =>
  fc.tuple(fc.constant(url), fc.array(entryArb(url), { minLength: 1, maxLength: 3 }))
)

const roundTrips = (kv: () => Layer.Layer<KeyValueStore.KeyValueStore, PlatformError.PlatformError>) =>
  fc.assert(
    fc.asyncProperty(caseArb, ([url, entries]) =>
      Effect.runPromise(Effect.scoped(Effect.gen(function*() {
        const { store } = yield* storeOn(kv())
        yield* store.set(url, entries)
        const read = yield* store.get(url)
        expect(read).toEqual(entries)
        // what Headers carry besides the names: still Headers
        for (const got of read) expect(Headers.isHeaders(got.headers)).toBe(true)
        expect(yield* store.size).toMatchObject({ entries: entries.length })
      })))),
    { seed: 9111, numRuns: 60 }
  )

describe("HttpCacheKeyValueStore.layer", () => {
  it.effect("property: any entry (any body, headers, vary with nulls, URL) round-trips on layerMemory", () =>
    Effect.promise(() => roundTrips(() => KeyValueStore.layerMemory)))

  it.effect("property: ... and on layerFileSystem", () => {
    const directory = tempDir()
    let run = 0
    // a directory a run, so `size` counts that run's records only
    return Effect.promise(() => roundTrips(() => fileSystem(Path.join(directory, String(++run)))))
  })

  it.scoped("an empty body, a __proto__ header, a zero-length vary value and an empty URL path round-trip", () =>
    Effect.gen(function*() {
      const { store } = yield* storeOn(fileSystem(tempDir()))
      const url = "http://origin.test/"
      const odd = entry(url, "", {
        headers: Headers.fromInput([["__proto__", "x"], ["vary", "accept, x-a"]]),
        vary: { accept: "", "x-a": null }
      })
      yield* store.set(url, [odd])
      const [read] = yield* store.get(url)
      expect(read).toEqual(odd)
      expect(Object.keys(read.headers)).toEqual(["__proto__", "vary"])
    }))

  it.scoped("keys are prefix + the SHA-256 of the URL; the value carries the URL and a version", () =>
    Effect.gen(function*() {
      const { kv, store } = yield* storeOn(KeyValueStore.layerMemory, { prefix: "app1/" })
      const url = `http://origin.test/${"x".repeat(5000)}`
      yield* store.set(url, [entry(url)])
      const hash = yield* Effect.promise(() => sha256(url))
      const value = yield* kv.get(`app1/${hash}`)
      expect(Option.isSome(value)).toBe(true)
      const parsed = JSON.parse(Option.getOrThrow(value))
      expect(parsed).toMatchObject({ v: 1, url })
      expect(yield* kv.has("app1/index")).toBe(true)
      // nothing else is written
      expect(yield* kv.size).toBe(2)
      // no responses left for a URL (the cache's last variant gone) removes its record
      yield* store.set(url, [])
      expect(yield* kv.has(`app1/${hash}`)).toBe(false)
      expect(yield* store.size).toEqual({ entries: 0, bytes: 0 })
      expect(JSON.parse(Option.getOrThrow(yield* kv.get("app1/index")))).toEqual({ v: 1, keys: [] })
    }))

  it.scoped("a corrupt, other-version or foreign value is a miss and is removed; reported once", () =>
    Effect.gen(function*() {
      const directory = tempDir()
      const { kv, store } = yield* storeOn(fileSystem(directory))
      const { layer, logs } = capture()
      const urls = ["http://origin.test/1", "http://origin.test/2", "http://origin.test/3"]
      for (const url of urls) yield* store.set(url, [entry(url)])
      expect(yield* store.size).toMatchObject({ entries: 3 })
      const [k1, k2, k3] = yield* Effect.forEach(urls, recordKey)
      // a truncated file, a record of a later version, a JSON value that is no record
      Fs.writeFileSync(Path.join(directory, encodeURIComponent(k1)), "{\"v\":1,\"url\":\"http://origin.te")
      yield* kv.modify(k2, (text) => text.replace("{\"v\":1", "{\"v\":2"))
      yield* kv.set(k3, "[1,2,3]")
      for (const url of urls) expect(yield* store.get(url).pipe(Effect.provide(layer))).toEqual([])
      for (const key of [k1, k2, k3]) expect(yield* kv.has(key)).toBe(false)
      expect(yield* store.size).toEqual({ entries: 0, bytes: 0 })
      const warnings = logs.filter((l) => l.level === "WARN")
      expect(warnings).toHaveLength(1)
      expect(warnings[0].message).toContain("could not be read as a cache record")
    }))

  it.scoped("another URL under the same hash (a collision) is a miss, and its record stays", () =>
    Effect.gen(function*() {
      const { kv, store } = yield* storeOn(KeyValueStore.layerMemory)
      const url = "http://origin.test/a"
      const other = "http://origin.test/b"
      yield* store.set(other, [entry(other)])
      // put b's record where a's hash points
      yield* kv.set(yield* recordKey(url), Option.getOrThrow(yield* kv.get(yield* recordKey(other))))
      expect(yield* store.get(url)).toEqual([])
      expect(yield* kv.has(yield* recordKey(url))).toBe(true)
    }))

  it.scoped("a failing KeyValueStore: a read is a miss, a write is skipped, the request succeeds; warned once", () =>
    Effect.gen(function*() {
      const failing = KeyValueStore.make({
        get: (key) =>
          Effect.fail(
            new PlatformError.SystemError({
              module: "KeyValueStore",
              method: "get",
              reason: "Unknown",
              pathOrDescriptor: key
            })
          ),
        getUint8Array: () => Effect.die("unused"),
        set: (key) =>
          Effect.fail(
            new PlatformError.SystemError({
              module: "KeyValueStore",
              method: "set",
              reason: "PermissionDenied",
              pathOrDescriptor: key
            })
          ),
        remove: (key) =>
          Effect.fail(
            new PlatformError.SystemError({
              module: "KeyValueStore",
              method: "remove",
              reason: "Unknown",
              pathOrDescriptor: key
            })
          ),
        clear: Effect.void,
        size: Effect.succeed(0)
      })
      const { layer, logs } = capture()
      const store = yield* HttpCacheKeyValueStore.make().pipe(
        Effect.provideService(KeyValueStore.KeyValueStore, failing),
        Effect.provide(layer)
      )
      const { client, seen } = fakeClient(() =>
        Effect.map(
          Clock.currentTimeMillis,
          (now) => new Response("ok", { headers: { date: new Date(now).toUTCString(), "cache-control": "max-age=60" } })
        )
      )
      const cache = yield* HttpCache.make().pipe(Effect.provideService(HttpCache.Store, store))
      const cached = client.pipe(HttpCache.withCache(cache))
      for (let i = 0; i < 3; i++) {
        const response = yield* cached.get("http://origin.test/a?token=secret").pipe(Effect.provide(layer))
        expect(yield* response.text).toBe("ok")
      }
      // an unsafe method's invalidation (a remove) fails too, and is swallowed
      const post = yield* cached.execute(HttpClientRequest.post("http://origin.test/a")).pipe(Effect.provide(layer))
      expect(post.status).toBe(200)
      expect(seen).toHaveLength(4)
      expect(yield* store.size).toEqual({ entries: 0, bytes: 0 })
      const warnings = logs.filter((l) => l.level === "WARN")
      expect(warnings).toHaveLength(1)
      expect(warnings[0].message).toContain("the KeyValueStore failed")
      expect(logs.map((l) => l.message).join("\n")).not.toContain("secret")
    }))

  it.scoped("a KeyValueStore that dies (a bug in a custom one) is a miss too, never a failed read", () =>
    Effect.gen(function*() {
      const dying = KeyValueStore.makeStringOnly({
        get: () => Effect.die(new Error("boom")),
        set: () => Effect.die(new Error("boom")),
        remove: () => Effect.die(new Error("boom")),
        clear: Effect.void,
        size: Effect.succeed(0)
      })
      const { layer, logs } = capture()
      const store = yield* HttpCacheKeyValueStore.make().pipe(
        Effect.provideService(KeyValueStore.KeyValueStore, dying),
        Effect.provide(layer)
      )
      const url = "http://origin.test/a"
      yield* store.set(url, [entry(url)]).pipe(Effect.provide(layer))
      expect(yield* store.get(url).pipe(Effect.provide(layer))).toEqual([])
      yield* store.remove(url).pipe(Effect.provide(layer))
      expect(logs.filter((l) => l.level === "WARN")).toHaveLength(1)
    }))

  it.scoped("removing a URL never stored is no failure (layerFileSystem's remove of a missing file)", () =>
    Effect.gen(function*() {
      const { store } = yield* storeOn(fileSystem(tempDir()))
      const { layer, logs } = capture()
      yield* store.remove("http://origin.test/never").pipe(Effect.provide(layer))
      expect(logs).toEqual([])
    }))

  it.scoped("maxEntries and maxBytes evict the least recently used; size counts the records' bytes", () =>
    Effect.gen(function*() {
      const { kv, store } = yield* storeOn(KeyValueStore.layerMemory, { maxEntries: 2 })
      // not ASCII: bytes are UTF-8 bytes, not string length
      const [a, b, c] = ["http://origin.test/é", "http://origin.test/ü", "http://origin.test/€"]
      yield* store.set(a, [entry(a)])
      yield* store.set(b, [entry(b)])
      yield* store.get(a) // a is now the most recently used
      yield* store.set(c, [entry(c)]) // evicts b
      expect(yield* store.get(b)).toEqual([])
      expect(yield* kv.has(yield* recordKey(b))).toBe(false)
      expect((yield* store.get(a)).length).toBe(1)
      const recordBytes = yield* Effect.forEach(
        [a, c],
        (url) =>
          Effect.map(
            Effect.flatMap(recordKey(url), kv.get),
            (v) => new TextEncoder().encode(Option.getOrThrow(v)).byteLength
          )
      )
      expect(yield* store.size).toEqual({ entries: 2, bytes: recordBytes[0] + recordBytes[1] })
      // one URL's responses over the bounds are not kept, and leave nothing of the URL behind
      yield* store.set(a, [entry(a, "1"), entry(a, "2"), entry(a, "3")])
      expect(yield* store.get(a)).toEqual([])
      expect(yield* store.size).toMatchObject({ entries: 1 })

      const small = yield* storeOn(KeyValueStore.layerMemory, { maxBytes: 1000 })
      for (const url of [a, b, c]) yield* small.store.set(url, [entry(url, "x".repeat(200))])
      const size = yield* small.store.size
      expect(size.bytes).toBeLessThanOrEqual(1000)
      expect(size.entries).toBe(2)
      expect(yield* small.store.get(a)).toEqual([])
    }))

  it.scoped("restart: the index survives; smaller bounds apply at once; a record without index entry is adopted", () =>
    Effect.gen(function*() {
      const directory = tempDir()
      const urls = ["http://origin.test/1", "http://origin.test/2", "http://origin.test/3/é"]
      const first = yield* storeOn(fileSystem(directory))
      for (const url of urls) yield* first.store.set(url, [entry(url)])
      const before = yield* first.store.size
      const second = yield* storeOn(fileSystem(directory))
      expect(yield* second.store.size).toEqual(before)
      // the least recently used (1) goes when the bounds shrink
      const third = yield* storeOn(fileSystem(directory), { maxEntries: 2 })
      expect((yield* third.store.size).entries).toBe(2)
      expect(yield* third.store.get(urls[0])).toEqual([])
      // an index lost (a crash between writes): records are still served, and counted once read
      yield* third.kv.remove(`${PREFIX}index`)
      const fourth = yield* storeOn(fileSystem(directory))
      expect(yield* fourth.store.size).toEqual({ entries: 0, bytes: 0 })
      expect(yield* fourth.store.get(urls[2])).toHaveLength(1)
      const file = Path.join(directory, encodeURIComponent(yield* recordKey(urls[2])))
      expect(yield* fourth.store.size).toEqual({ entries: 1, bytes: Fs.statSync(file).size })
      // an indexed record removed by hand is forgotten when read
      yield* fourth.kv.remove(yield* recordKey(urls[2]))
      expect(yield* fourth.store.get(urls[2])).toEqual([])
      expect(yield* fourth.store.size).toEqual({ entries: 0, bytes: 0 })
    }))

  it.scoped("concurrent writes: the index on disk ends as the store's own count", () =>
    Effect.gen(function*() {
      const directory = tempDir()
      const { store } = yield* storeOn(fileSystem(directory), { maxEntries: 40 })
      const urls = Array.from({ length: 60 }, (_, i) => `http://origin.test/${i}`)
      yield* Effect.forEach(urls, (url, i) => store.set(url, [entry(url, "x".repeat(i * 50))]), {
        concurrency: "unbounded"
      })
      const live = yield* store.size
      expect(live.entries).toBe(40)
      const restarted = yield* storeOn(fileSystem(directory), { maxEntries: 40 })
      expect(yield* restarted.store.size).toEqual(live)
      // exactly the indexed records (and the index) are on disk
      expect(Fs.readdirSync(directory)).toHaveLength(41)
    }))

  it.scoped("writes go one at a time: a slow index write is never overtaken by a later one", () =>
    Effect.gen(function*() {
      // a KeyValueStore whose writes of the index take 3, 1, 2, 3, 1, ... ms (TestClock)
      const map = new Map<string, string>()
      let writes = 0
      const slow = KeyValueStore.makeStringOnly({
        get: (key) => Effect.sync(() => Option.fromNullable(map.get(key))),
        set: (key, value) =>
          Effect.zipRight(
            key.endsWith("index") ? Effect.sleep([3, 1, 2][writes++ % 3]) : Effect.void,
            Effect.sync(() => void map.set(key, value))
          ),
        remove: (key) => Effect.sync(() => void map.delete(key)),
        clear: Effect.sync(() => map.clear()),
        size: Effect.sync(() => map.size)
      })
      const make = HttpCacheKeyValueStore.make({ maxEntries: 4 }).pipe(
        Effect.provideService(KeyValueStore.KeyValueStore, slow)
      )
      const store = yield* make
      const urls = Array.from({ length: 9 }, (_, i) => `http://origin.test/${i}`)
      const fiber = yield* Effect.fork(
        Effect.forEach(urls, (url) => store.set(url, [entry(url)]), { concurrency: "unbounded" })
      )
      yield* TestClock.adjust("1 second")
      yield* fiber.await
      const restarted = yield* make
      expect(yield* restarted.size).toEqual(yield* store.size)
      expect(map.size).toBe(5)
    }))

  it.scoped("a second layer build on the same directory serves a fresh response without a request", () =>
    Effect.gen(function*() {
      const directory = tempDir()
      const { client, seen } = fakeClient(() =>
        Effect.map(Clock.currentTimeMillis, (now) =>
          new Response("stored", {
            headers: { date: new Date(now).toUTCString(), "cache-control": "max-age=60", etag: "\"v1\"" }
          }))
      )
      const run = <A, E>(f: (client: HttpClient.HttpClient) => Effect.Effect<A, E>) =>
        Effect.scoped(Effect.gen(function*() {
          const cache = yield* HttpCache.make()
          return yield* f(client.pipe(HttpCache.withCache(cache)))
        })).pipe(Effect.provide(HttpCacheKeyValueStore.layer().pipe(Layer.provide(fileSystem(directory)))))
      const read = (c: HttpClient.HttpClient) =>
        Effect.flatMap(
          c.get("http://origin.test/a"),
          (r) => Effect.map(r.text, (body) => ({ body, provenance: Option.getOrUndefined(HttpCache.provenance(r)) }))
        )
      expect(yield* run(read)).toEqual({ body: "stored", provenance: "miss" })
      yield* TestClock.adjust("30 seconds")
      expect(yield* run(read)).toEqual({ body: "stored", provenance: "fresh" })
      expect(seen).toHaveLength(1)
      yield* TestClock.adjust("31 seconds")
      expect((yield* run(read)).provenance).not.toBe("fresh")
      expect(seen).toHaveLength(2)
      expect(seen[1].headers["if-none-match"]).toBe("\"v1\"")
    }).pipe(Effect.provide(TestContext.TestContext)))

  it.effect("bad options fail with InvalidOptions naming each", () =>
    Effect.gen(function*() {
      const failure = yield* Effect.flip(
        HttpCacheKeyValueStore.make({ maxEntries: 0, maxBytes: 1.5, prefix: "x".repeat(200) }).pipe(
          Effect.provide(KeyValueStore.layerMemory)
        )
      )
      expect(failure._tag).toBe("HttpCacheInvalidOptions")
      expect(failure.problems.map((p) => p.field)).toEqual(["maxEntries", "maxBytes", "prefix"])
      // a lone surrogate names no file
      const surrogate = yield* Effect.flip(
        Effect.scoped(Layer.build(HttpCacheKeyValueStore.layer({ prefix: "a\ud800" }))).pipe(
          Effect.provide(KeyValueStore.layerMemory)
        )
      )
      expect(surrogate.message).toContain("prefix must be a string")
    }))
})
