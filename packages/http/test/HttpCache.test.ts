import type { HttpClient } from "@effect/platform"
import { HttpClientRequest, KeyValueStore } from "@effect/platform"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { HttpCache, Policy } from "@sturdy/http"
import * as HttpCacheKeyValueStore from "@sturdy/http/HttpCacheKeyValueStore"
import * as HttpCacheRedis from "@sturdy/http/HttpCacheRedis"
import { TestTracer } from "@sturdy/testing"
import { Clock, Effect, Exit, Fiber, HashMap, Logger, Option, Scope, TestClock, TestContext } from "effect"
import * as fc from "fast-check"
import { describeWithRedis, startRedisServer } from "../../policy/test/utils/redis.js"
import { fakeClient, systemError } from "./utils/fakeTransport.js"

const URL_A = "http://origin.test/a"

type Respond = (
  request: HttpClientRequest.HttpClientRequest,
  now: number
) => Response | { readonly cause: unknown }

type MakeStore = (bounds?: HttpCache.MemoryOptions) => Effect.Effect<HttpCache.Store.Service, HttpCache.InvalidOptions>

/**
 * The stores the behavioural cases run on: the in-memory LRU, and the `KeyValueStore` one (over
 * `KeyValueStore.layerMemory`: every response goes through its encoding and back).
 */
const stores: ReadonlyArray<readonly [string, MakeStore]> = [
  ["layerMemory", (bounds) => HttpCache.makeMemory(bounds)],
  [
    "layerKeyValueStore",
    (bounds) => HttpCacheKeyValueStore.make(bounds).pipe(Effect.provide(KeyValueStore.layerMemory))
  ]
]

/** A fake origin (counting calls) behind a cache over a fresh store made by `makeStore`. */
const setupOn =
  (makeStore: MakeStore) => (respond: Respond, options?: HttpCache.Options, memory?: HttpCache.MemoryOptions) =>
    Effect.gen(function*() {
      const store = yield* makeStore(memory)
      const { client, seen } = fakeClient((request) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const answer = respond(request, now)
          return answer instanceof Response ? Effect.succeed(answer) : Effect.fail(answer)
        })
      )
      const cache = yield* HttpCache.make(options).pipe(Effect.provideService(HttpCache.Store, store))
      return { client: client.pipe(HttpCache.withCache(cache)), seen, cache, store }
    })

const get = (client: HttpClient.HttpClient, url = URL_A, headers: Record<string, string> = {}) =>
  Effect.flatMap(
    client.execute(HttpClientRequest.setHeaders(HttpClientRequest.get(url), headers)),
    (response) =>
      Effect.map(response.text, (body) => ({
        status: response.status,
        body,
        headers: response.headers,
        provenance: Option.getOrUndefined(HttpCache.provenance(response))
      }))
  )

const date = (millis: number) => new Date(millis).toUTCString()

/** An origin that answers `body-<n>` (n counts calls) with `headers` (a function of the clock) */
const counting = (headers: (now: number, request: HttpClientRequest.HttpClientRequest) => Record<string, string>) => {
  let n = 0
  return (request: HttpClientRequest.HttpClientRequest, now: number) =>
    new Response(`body-${++n}`, { status: 200, headers: { date: date(now), ...headers(now, request) } })
}

/** The behavioural cases over the stores `makeStore` makes; `bounded`: it keeps `maxEntries` and `maxBytes`. */
const behaviours = (makeStore: MakeStore, bounded: boolean) => {
  const setup = setupOn(makeStore)

  it.scoped("a fresh hit makes no call, and carries Age and provenance", () =>
    Effect.gen(function*() {
      const { client, seen } = yield* setup(counting(() => ({ "cache-control": "max-age=60" })))
      const first = yield* get(client)
      expect(first.provenance).toBe("miss")
      yield* TestClock.adjust("10 seconds")
      const second = yield* get(client)
      expect(second).toMatchObject({ body: "body-1", provenance: "fresh" })
      expect(second.headers["age"]).toBe("10")
      expect(seen).toHaveLength(1)
    }))

  it.scoped("a body of known length is stored at once, even unread", () =>
    Effect.gen(function*() {
      const { client, seen } = yield* setup((_, now) =>
        new Response("abc", { headers: { date: date(now), "cache-control": "max-age=60", "content-length": "3" } })
      )
      yield* client.get(URL_A)
      expect((yield* get(client)).body).toBe("abc")
      expect(seen).toHaveLength(1)
    }))

  it.scoped("max-age expiry: a call after the lifetime goes to the origin", () =>
    Effect.gen(function*() {
      const { client, seen } = yield* setup(counting(() => ({ "cache-control": "max-age=60" })))
      yield* get(client)
      yield* TestClock.adjust("59 seconds")
      expect((yield* get(client)).body).toBe("body-1")
      yield* TestClock.adjust("2 seconds")
      expect(yield* get(client)).toMatchObject({ body: "body-2", provenance: "miss" })
      expect(seen).toHaveLength(2)
    }))

  it.scoped("Expires − Date gives the lifetime when there is no max-age", () =>
    Effect.gen(function*() {
      const { client, seen } = yield* setup(counting((now) => ({ expires: date(now + 30_000) })))
      yield* get(client)
      yield* TestClock.adjust("29 seconds")
      expect((yield* get(client)).provenance).toBe("fresh")
      yield* TestClock.adjust("2 seconds")
      expect((yield* get(client)).provenance).toBe("miss")
      expect(seen).toHaveLength(2)
    }))

  it.scoped("an invalid Expires is already expired", () =>
    Effect.gen(function*() {
      const { client, seen } = yield* setup(counting(() => ({ expires: "0" })))
      yield* get(client)
      yield* get(client)
      expect(seen).toHaveLength(2)
    }))

  it.scoped("heuristic freshness: 10 % of Date − Last-Modified, capped by heuristicCap", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(1_000_000_000)
      const { client, seen } = yield* setup(counting((now) => ({ "last-modified": date(now - 100_000) })))
      yield* get(client)
      yield* TestClock.adjust("9 seconds")
      expect((yield* get(client)).provenance).toBe("fresh")
      yield* TestClock.adjust("2 seconds")
      // stale: revalidated with If-Modified-Since, answered 200 here
      yield* get(client)
      expect(seen).toHaveLength(2)
      expect(seen[1].headers["if-modified-since"]).toBe(date(1_000_000_000 - 100_000))
      const capped = yield* setup(counting((now) => ({ "last-modified": date(now - 100_000_000) })), {
        heuristicCap: "5 seconds"
      })
      yield* get(capped.client)
      yield* TestClock.adjust("6 seconds")
      yield* get(capped.client)
      expect(capped.seen).toHaveLength(2)
    }))

  it.scoped("the Age header counts in the current age", () =>
    Effect.gen(function*() {
      const { client, seen } = yield* setup(counting(() => ({ "cache-control": "max-age=60", age: "50" })))
      yield* get(client)
      yield* TestClock.adjust("5 seconds")
      const hit = yield* get(client)
      expect(hit.headers["age"]).toBe("55")
      yield* TestClock.adjust("6 seconds")
      yield* get(client)
      expect(seen).toHaveLength(2)
    }))

  it.scoped("ETag revalidation: a 304 serves the stored body with merged headers", () =>
    Effect.gen(function*() {
      let calls = 0
      const { client, seen } = yield* setup((request, now) => {
        calls++
        if (request.headers["if-none-match"] === "\"v1\"") {
          return new Response(null, {
            status: 304,
            headers: { date: date(now), "cache-control": "max-age=30", "x-version": "2", "content-length": "99" }
          })
        }
        return new Response("payload", {
          headers: { date: date(now), etag: "\"v1\"", "cache-control": "max-age=10", "x-version": "1" }
        })
      })
      yield* get(client)
      yield* TestClock.adjust("11 seconds")
      const revalidated = yield* get(client)
      expect(revalidated).toMatchObject({ status: 200, body: "payload", provenance: "revalidated" })
      expect(revalidated.headers["x-version"]).toBe("2")
      expect(revalidated.headers["content-length"]).toBe("7")
      expect(seen[1].headers["if-none-match"]).toBe("\"v1\"")
      // the 304's max-age=30 now applies
      yield* TestClock.adjust("29 seconds")
      expect((yield* get(client)).provenance).toBe("fresh")
      expect(calls).toBe(2)
    }))

  it.scoped("Last-Modified revalidation, and a 200 replaces the stored response", () =>
    Effect.gen(function*() {
      const { client, seen } = yield* setup(counting(() => ({ "cache-control": "no-cache", "last-modified": date(0) })))
      yield* get(client)
      const second = yield* get(client)
      expect(seen[1].headers["if-modified-since"]).toBe(date(0))
      expect(second).toMatchObject({ body: "body-2", provenance: "miss" })
    }))

  it.scoped("a response no-cache is revalidated before every use, even with max-age", () =>
    Effect.gen(function*() {
      const { client, seen } = yield* setup(
        counting(() => ({ "cache-control": "no-cache, max-age=3600", etag: "\"e\"" }))
      )
      yield* get(client)
      yield* get(client)
      expect(seen).toHaveLength(2)
      expect(seen[1].headers["if-none-match"]).toBe("\"e\"")
    }))

  it.scoped("request no-cache and max-age=0 revalidate; only-if-cached answers 504 when nothing is stored", () =>
    Effect.gen(function*() {
      const { client, seen } = yield* setup(counting(() => ({ "cache-control": "max-age=60", etag: "\"e\"" })))
      const missing = yield* get(client, URL_A, { "cache-control": "only-if-cached" })
      expect(missing).toMatchObject({ status: 504, provenance: "unavailable" })
      expect(seen).toHaveLength(0)
      yield* get(client)
      yield* get(client, URL_A, { "cache-control": "no-cache" })
      yield* get(client, URL_A, { "cache-control": "max-age=0" })
      expect(seen).toHaveLength(3)
      expect(seen[2].headers["if-none-match"]).toBe("\"e\"")
      expect((yield* get(client, URL_A, { "cache-control": "only-if-cached" })).status).toBe(200)
    }))

  it.scoped("only-if-cached with a stale response answers 504 without a request, unless max-stale allows it", () =>
    Effect.gen(function*() {
      const { client, seen } = yield* setup(counting(() => ({ "cache-control": "max-age=1" })))
      yield* get(client)
      yield* TestClock.adjust("10 seconds")
      expect((yield* get(client, URL_A, { "cache-control": "only-if-cached" })).status).toBe(504)
      const stale = yield* get(client, URL_A, { "cache-control": "only-if-cached, max-stale" })
      expect(stale).toMatchObject({ status: 200, provenance: "stale" })
      expect(seen).toHaveLength(1)
    }))

  it.scoped("a body of known length over maxBodyBytes streams through and is not stored", () =>
    Effect.gen(function*() {
      const { client, seen } = yield* setup((_, now) =>
        new Response("abcdef", {
          headers: { date: date(now), "cache-control": "max-age=60", "content-length": "6" }
        }), { maxBodyBytes: 5 })
      expect((yield* get(client)).body).toBe("abcdef")
      yield* get(client)
      expect(seen).toHaveLength(2)
    }))

  it.scoped("max-stale and min-fresh", () =>
    Effect.gen(function*() {
      const { client, seen } = yield* setup(counting(() => ({ "cache-control": "max-age=10" })))
      yield* get(client)
      yield* TestClock.adjust("15 seconds")
      expect((yield* get(client, URL_A, { "cache-control": "max-stale=10" })).provenance).toBe("stale")
      expect(seen).toHaveLength(1)
      yield* get(client, URL_A, { "cache-control": "max-stale=2" })
      expect(seen).toHaveLength(2)
      yield* TestClock.adjust("5 seconds")
      yield* get(client, URL_A, { "cache-control": "min-fresh=6" })
      expect(seen).toHaveLength(3)
    }))

  it.scoped("Vary: a stored response answers only the same header values; Vary: * is not stored", () =>
    Effect.gen(function*() {
      const { client, seen } = yield* setup(counting((_, request) => ({
        "cache-control": "max-age=60",
        vary: request.url.endsWith("star") ? "*" : "Accept-Language"
      })))
      const en = yield* get(client, URL_A, { "accept-language": "en" })
      const fr = yield* get(client, URL_A, { "accept-language": "fr" })
      expect((yield* get(client, URL_A, { "accept-language": "en" })).body).toBe(en.body)
      expect((yield* get(client, URL_A, { "accept-language": "fr" })).body).toBe(fr.body)
      expect(seen).toHaveLength(2)
      yield* get(client, URL_A)
      expect(seen).toHaveLength(3)
      yield* get(client, `${URL_A}star`)
      yield* get(client, `${URL_A}star`)
      expect(seen).toHaveLength(5)
    }))

  it.scoped("no-store in the response or the request is never stored", () =>
    Effect.gen(function*() {
      const { client, seen } = yield* setup(counting(() => ({ "cache-control": "no-store, max-age=60" })))
      yield* get(client)
      yield* get(client)
      expect(seen).toHaveLength(2)
      const other = yield* setup(counting(() => ({ "cache-control": "max-age=60" })))
      yield* get(other.client, URL_A, { "cache-control": "no-store" })
      yield* get(other.client)
      expect(other.seen).toHaveLength(2)
    }))

  it.scoped("Authorization: stored only with public, s-maxage or must-revalidate", () =>
    Effect.gen(function*() {
      const auth = { authorization: "Bearer secret" }
      const plain = yield* setup(counting(() => ({ "cache-control": "max-age=60" })))
      yield* get(plain.client, URL_A, auth)
      yield* get(plain.client, URL_A, auth)
      expect(plain.seen).toHaveLength(2)
      for (const directive of ["public, max-age=60", "s-maxage=60, max-age=60", "must-revalidate, max-age=60"]) {
        const allowed = yield* setup(counting(() => ({ "cache-control": directive })))
        yield* get(allowed.client, URL_A, auth)
        yield* get(allowed.client, URL_A, auth)
        expect(allowed.seen).toHaveLength(1)
      }
    }))

  it.scoped("must-revalidate is never served stale, even with stale-if-error", () =>
    Effect.gen(function*() {
      let fail = false
      const { client } = yield* setup((_, now) =>
        fail
          ? new Response("down", { status: 503 })
          : new Response("ok", {
            headers: { date: date(now), "cache-control": "max-age=1, must-revalidate, stale-if-error=600" }
          }), { staleIfError: "1 hour" })
      yield* get(client)
      fail = true
      yield* TestClock.adjust("5 seconds")
      expect((yield* get(client)).status).toBe(503)
    }))

  it.scoped("a no-cache response is never served stale on an error, even with stale-if-error", () =>
    Effect.gen(function*() {
      let down = false
      const { client } = yield* setup((_, now) =>
        down
          ? new Response("down", { status: 503 })
          : new Response("ok", { headers: { date: date(now), "cache-control": "no-cache, stale-if-error=600" } })
      )
      yield* get(client)
      down = true
      expect((yield* get(client)).status).toBe(503)
    }))

  it.scoped("stale-if-error: a 5xx or a connection failure within the window serves the stale response", () =>
    Effect.gen(function*() {
      let mode: "ok" | "503" | "refused" = "ok"
      const { client } = yield* setup((_, now) =>
        mode === "503"
          ? new Response("down", { status: 503 })
          : mode === "refused"
          ? { cause: systemError("ECONNREFUSED") }
          : new Response("ok", { headers: { date: date(now), "cache-control": "max-age=1, stale-if-error=60" } })
      )
      yield* get(client)
      mode = "503"
      yield* TestClock.adjust("30 seconds")
      expect(yield* get(client)).toMatchObject({ status: 200, body: "ok", provenance: "stale" })
      mode = "refused"
      expect((yield* get(client)).body).toBe("ok")
      yield* TestClock.adjust("40 seconds")
      expect(Exit.isFailure(yield* Effect.exit(get(client)))).toBe(true)
      mode = "503"
      expect((yield* get(client)).status).toBe(503)
    }))

  it.scoped("staleIfError option: beyond the header; default only what the header allows", () =>
    Effect.gen(function*() {
      let down = false
      const respond: Respond = (_, now) =>
        down
          ? new Response("down", { status: 502 })
          : new Response("ok", { headers: { date: date(now), "cache-control": "max-age=1" } })
      const strict = yield* setup(respond)
      const lenient = yield* setup(respond, { staleIfError: "1 minute" })
      yield* get(strict.client)
      yield* get(lenient.client)
      down = true
      yield* TestClock.adjust("30 seconds")
      expect((yield* get(strict.client)).status).toBe(502)
      expect((yield* get(lenient.client)).status).toBe(200)
    }))

  it.scoped("stale-while-revalidate: stale at once, refreshed in the background, the next call sees the new body", () =>
    Effect.gen(function*() {
      const { cache, client, seen } = yield* setup(
        counting(() => ({ "cache-control": "max-age=1, stale-while-revalidate=60" }))
      )
      yield* get(client)
      yield* TestClock.adjust("10 seconds")
      expect(yield* get(client)).toMatchObject({ body: "body-1", provenance: "stale" })
      yield* HttpCache.awaitRevalidations(cache)
      expect(seen).toHaveLength(2)
      expect(yield* get(client)).toMatchObject({ body: "body-2", provenance: "fresh" })
      yield* TestClock.adjust("100 seconds")
      expect((yield* get(client)).provenance).toBe("miss")
    }))

  it.scoped("a failed background revalidation keeps the stored response", () =>
    Effect.gen(function*() {
      let down = false
      const { cache, client } = yield* setup((_, now) =>
        down
          ? { cause: systemError("ECONNRESET") }
          : new Response("ok", {
            headers: { date: date(now), "cache-control": "max-age=1, stale-while-revalidate=60" }
          })
      )
      yield* get(client)
      down = true
      yield* TestClock.adjust("5 seconds")
      expect((yield* get(client)).provenance).toBe("stale")
      yield* HttpCache.awaitRevalidations(cache)
      expect((yield* get(client)).body).toBe("ok")
    }))

  it.scoped("an unsafe method invalidates the URL and same-origin Location / Content-Location", () =>
    Effect.gen(function*() {
      const { client, seen } = yield* setup((request, now) =>
        request.method === "POST"
          ? new Response(null, {
            status: 201,
            headers: { location: "/b", "content-location": "http://other.test/c" }
          })
          : new Response("x", { headers: { date: date(now), "cache-control": "max-age=600" } })
      )
      for (const url of [URL_A, "http://origin.test/b", "http://other.test/c"]) yield* get(client, url)
      yield* client.execute(HttpClientRequest.post(URL_A))
      for (const url of [URL_A, "http://origin.test/b", "http://other.test/c"]) yield* get(client, url)
      expect(seen.filter((s) => s.method === "GET").map((s) => s.url)).toEqual([
        URL_A,
        "http://origin.test/b",
        "http://other.test/c",
        URL_A,
        "http://origin.test/b"
      ])
    }))

  it.scoped("QUERY is safe: it goes to the origin, is not stored and invalidates nothing", () =>
    Effect.gen(function*() {
      const { client, seen } = yield* setup(counting(() => ({ "cache-control": "max-age=600" })))
      yield* get(client)
      // Effect's HttpMethod lacks QUERY; a request carries it as a string, as SturdyClient's `query` sends it
      const query = HttpClientRequest.make("QUERY" as HttpClientRequest.HttpClientRequest["method"])(URL_A).pipe(
        HttpClientRequest.bodyText("{\"q\":1}", "application/json")
      )
      const answered = yield* Effect.flatMap(client.execute(query), (response) => response.text)
      yield* client.execute(query)
      expect(answered).toBe("body-2")
      expect(yield* get(client)).toMatchObject({ body: "body-1", provenance: "fresh" })
      expect(seen.map((s) => s.method)).toEqual(["GET", "QUERY", "QUERY"])
    }))

  it.scoped("an unsafe method answered with an error invalidates nothing", () =>
    Effect.gen(function*() {
      const { client, seen } = yield* setup((request, now) =>
        request.method === "DELETE"
          ? new Response(null, { status: 500 })
          : new Response("x", { headers: { date: date(now), "cache-control": "max-age=600" } })
      )
      yield* get(client)
      yield* client.execute(HttpClientRequest.del(URL_A))
      yield* get(client)
      expect(seen).toHaveLength(2)
    }))

  // Redis keeps its own bounds (maxmemory): that store takes none, so the case is not registered for it
  if (bounded) {
    it.scoped("LRU: maxEntries and maxBytes evict the least recently used", () =>
      Effect.gen(function*() {
        const { client, seen, store } = yield* setup(
          counting(() => ({ "cache-control": "max-age=600" })),
          {},
          { maxEntries: 2 }
        )
        yield* get(client, "http://origin.test/1")
        yield* get(client, "http://origin.test/2")
        yield* get(client, "http://origin.test/1") // 1 is now the most recently used
        yield* get(client, "http://origin.test/3") // evicts 2
        expect((yield* store.size).entries).toBe(2)
        yield* get(client, "http://origin.test/1")
        expect(seen).toHaveLength(3)
        yield* get(client, "http://origin.test/2")
        expect(seen).toHaveLength(4)
        const small = yield* setup(counting(() => ({ "cache-control": "max-age=600" })), {}, { maxBytes: 200 })
        yield* get(small.client, "http://origin.test/1")
        yield* get(small.client, "http://origin.test/2")
        expect((yield* small.store.size).bytes).toBeLessThanOrEqual(200)
      }))
  }

  it.scoped("a body over maxBodyBytes streams through and is not stored", () =>
    Effect.gen(function*() {
      const { client, seen } = yield* setup(counting(() => ({ "cache-control": "max-age=600" })), { maxBodyBytes: 3 })
      expect((yield* get(client)).body).toBe("body-1")
      yield* get(client)
      expect(seen).toHaveLength(2)
    }))

  it.effect("bad options fail with InvalidOptions naming each", () =>
    Effect.gen(function*() {
      const memory = yield* Effect.flip(HttpCache.makeMemory({ maxEntries: 0, maxBytes: 1.5 }))
      expect(memory.message).toContain("maxEntries")
      expect(memory.message).toContain("maxBytes")
      const options = yield* Effect.flip(
        Effect.scoped(HttpCache.make({ maxBodyBytes: -1, staleIfError: -5 })).pipe(
          Effect.provide(HttpCache.layerMemory())
        )
      )
      expect(options._tag).toBe("HttpCacheInvalidOptions")
      expect(options.problems.map((p) => p.field)).toEqual(["maxBodyBytes", "staleIfError"])
    }))

  it.effect("a negative or NaN duration in any form is refused, not read as zero", () =>
    Effect.gen(function*() {
      for (const value of ["-5 seconds", "-1 day", BigInt(-1), [-1, 0], [0, NaN], -Infinity]) {
        const options = yield* Effect.flip(
          Effect.scoped(
            HttpCache.make({ heuristicCap: value, staleIfError: value } as HttpCache.Options)
          ).pipe(Effect.provide(HttpCache.layerMemory()))
        )
        expect(options.problems.map((p) => p.field), String(value)).toEqual(["heuristicCap", "staleIfError"])
        expect(options.message).toContain("heuristicCap must be a duration ≥ 0")
      }
    }))

  it.scoped("the current span gets sturdy.cache; a failed background refresh logs the redacted URL", () =>
    Effect.gen(function*() {
      const collected = TestTracer.make()
      const logs: Array<string> = []
      const logger = Logger.make(({ annotations, message }) => {
        logs.push(`${String(message)} ${JSON.stringify(Object.fromEntries(HashMap.toEntries(annotations)))}`)
      })
      let down = false
      const { cache, client } = yield* setup((_, now) =>
        down
          ? { cause: systemError("ECONNRESET") }
          : new Response("ok", {
            headers: { date: date(now), "cache-control": "max-age=1, stale-while-revalidate=60" }
          })
      )
      const url = `${URL_A}?api_key=hunter2`
      const call = get(client, url).pipe(Effect.withSpan("call"), Effect.withTracer(collected.tracer))
      yield* call
      down = true
      yield* TestClock.adjust("5 seconds")
      yield* call.pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
      yield* HttpCache.awaitRevalidations(cache)
      expect(collected.byName("call").map((span) => span.attributes.get("sturdy.cache"))).toEqual(["miss", "stale"])
      expect(logs.join("\n")).toContain("background revalidation failed")
      expect(logs.join("\n")).not.toContain("hunter2")
    }))

  it.scoped("HEAD passes through", () =>
    Effect.gen(function*() {
      const { client, seen } = yield* setup(counting(() => ({ "cache-control": "max-age=600" })))
      yield* client.execute(HttpClientRequest.head(URL_A))
      yield* client.execute(HttpClientRequest.head(URL_A))
      expect(seen).toHaveLength(2)
    }))

  // For any interleaving of time steps and requests against a model origin (random max-age, ETag, no-store,
  // must-revalidate), a response is never served from the cache when the model says it is stale or unstorable, and a
  // fresh hit never calls the origin.
  it.effect("property: never serves what the model forbids; a fresh hit never calls the origin", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(
          fc.record({ maxAge: fc.integer({ min: 0, max: 20 }), etag: fc.boolean(), noStore: fc.boolean() }),
          fc.array(fc.oneof(fc.integer({ min: 0, max: 15 }).map((s) => ({ step: s })), fc.constant("get" as const)), {
            maxLength: 25
          }),
          (origin, script) =>
            Effect.runPromise(
              Effect.scoped(Effect.gen(function*() {
                let version = 0
                const { client, seen } = yield* setup((request, now) => {
                  if (origin.etag && request.headers["if-none-match"] === `"v${version}"`) {
                    return new Response(null, { status: 304, headers: { date: date(now) } })
                  }
                  version++
                  return new Response(`v${version}`, {
                    headers: {
                      date: date(now),
                      "cache-control": `max-age=${origin.maxAge}${origin.noStore ? ", no-store" : ""}`,
                      ...(origin.etag ? { etag: `"v${version}"` } : {})
                    }
                  })
                })
                let storedAt: number | undefined
                for (const op of script) {
                  if (op !== "get") {
                    yield* TestClock.adjust(op.step * 1000)
                    continue
                  }
                  const now = yield* Clock.currentTimeMillis
                  const before = seen.length
                  const got = yield* get(client)
                  const modelFresh = !origin.noStore && storedAt !== undefined && now - storedAt < origin.maxAge * 1000
                  if (modelFresh) {
                    expect(seen.length).toBe(before)
                    expect(got.provenance).toBe("fresh")
                  } else {
                    expect(seen.length).toBe(before + 1)
                    expect(got.provenance).not.toBe("fresh")
                    expect(got.provenance).not.toBe("stale")
                    if (!origin.noStore) storedAt = now
                  }
                  expect(got.body).toBe(`v${version}`)
                }
              })).pipe(Effect.provide(TestContext.TestContext))
            )
        ),
        { seed: 4242, numRuns: 150 }
      )
    ))
}

describe.each(stores)("HttpCache on %s", (_, makeStore) => behaviours(makeStore, true))

// the same cases over Redis: one server for the suite, a prefix of its own for every store
describeWithRedis("HttpCache on HttpCacheRedis", () => {
  let port = 0
  let scope: Scope.CloseableScope | undefined
  let made = 0
  beforeAll(async () => {
    scope = await Effect.runPromise(Scope.make())
    port = (await Effect.runPromise(Scope.extend(startRedisServer, scope))).port
  })
  afterAll(async () => {
    if (scope !== undefined) await Effect.runPromise(Scope.close(scope, Exit.void))
  })
  behaviours(
    () =>
      Effect.suspend(() =>
        scope === undefined
          ? Effect.die("no redis-server")
          : Scope.extend(HttpCacheRedis.make({ port, prefix: `suite-${made++}:` }), scope)
      ),
    false
  )
})

// The cache outside `Policy.withPolicy`: a fresh hit never enters the policy (no attempt, nothing for the breaker to
// count); a revalidation that the policy gives up on (its retries spent, or its breaker open) is answered stale.
describe("HttpCache outside Policy.withPolicy", () => {
  const policyOptions: Policy.Options = {
    retry: { maxAttempts: 3, baseDelay: "10 millis", jitter: "none" },
    circuitBreaker: { consecutiveFailures: 6, breakDuration: "1 minute" }
  }

  const setupWithPolicy = (respond: Respond) =>
    Effect.gen(function*() {
      const store = yield* HttpCache.makeMemory()
      const { client, seen } = fakeClient((request) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const answer = respond(request, now)
          return answer instanceof Response ? Effect.succeed(answer) : Effect.fail(answer)
        })
      )
      const policy = yield* Policy.make(policyOptions)
      const cache = yield* HttpCache.make().pipe(Effect.provideService(HttpCache.Store, store))
      return { client: client.pipe(Policy.withPolicy(policy), HttpCache.withCache(cache)), seen }
    })

  it.scoped("a 503 the policy retried in vain, a refused connection and an open breaker are answered stale", () =>
    Effect.gen(function*() {
      let mode: "ok" | "503" | "refused" = "ok"
      const { client, seen } = yield* setupWithPolicy((_, now) =>
        mode === "503"
          ? new Response("down", { status: 503 })
          : mode === "refused"
          ? { cause: Object.assign(systemError("ECONNREFUSED"), { syscall: "connect" }) }
          : new Response("ok", { headers: { date: date(now), "cache-control": "max-age=1, stale-if-error=600" } })
      )
      yield* get(client)
      yield* TestClock.adjust("10 seconds")
      expect(yield* get(client)).toMatchObject({ body: "ok", provenance: "miss" }) // no validator: a full refetch
      expect(seen).toHaveLength(2)

      mode = "503"
      yield* TestClock.adjust("10 seconds")
      const afterRetries = yield* Effect.fork(get(client))
      yield* TestClock.adjust("1 second")
      expect(yield* afterRetries.await.pipe(Effect.flatten)).toMatchObject({
        status: 200,
        body: "ok",
        provenance: "stale"
      })
      expect(seen).toHaveLength(5) // three attempts

      mode = "refused"
      const refused = yield* Effect.fork(get(client))
      yield* TestClock.adjust("1 second")
      expect(yield* refused.await.pipe(Effect.flatten)).toMatchObject({ body: "ok", provenance: "stale" })

      // six failed attempts: the breaker is open, the policy rejects without a request, and the cache still answers
      const before = seen.length
      const open = yield* Effect.fork(get(client))
      yield* TestClock.adjust("1 second")
      expect(yield* open.await.pipe(Effect.flatten)).toMatchObject({ body: "ok", provenance: "stale" })
      expect(seen).toHaveLength(before)
    }))
})

// The write path: the entries a write keeps (the other `Vary` variants) come from the lookup that preceded the
// request, so a write costs the store one `set` and no extra `get` (a disk read on layerFileSystem, a round trip on
// Redis).
describe("HttpCache: bodies read only to let them go", () => {
  // the body of an error answered stale (and of a 304) is read (one chunk) before the connection is let go: a body
  // that sent nothing held the request for ever when nothing else bounded it. It is cancelled after the discard cap
  it.scoped("a 5xx answered stale whose body sends nothing is cancelled after a second, and the stale one served", () =>
    Effect.gen(function*() {
      let cancelled = 0
      let down = false
      const { client } = yield* setupOn(stores[0][1])((_, now) =>
        down
          ? new Response(new ReadableStream({ cancel: () => void cancelled++ }), { status: 503 })
          : new Response("ok", { headers: { date: date(now), "cache-control": "max-age=1, stale-if-error=60" } })
      )
      yield* get(client)
      down = true
      yield* TestClock.adjust("30 seconds")
      for (const masked of [false, true]) {
        const fiber = yield* Effect.fork(masked ? Effect.uninterruptible(get(client)) : get(client))
        yield* TestClock.adjust("999 millis")
        expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
        yield* TestClock.adjust("1 millis")
        const answer = yield* Fiber.poll(fiber)
        expect(Option.map(answer, Exit.map((answer) => [answer.body, answer.provenance]))).toEqual(
          Option.some(Exit.succeed(["ok", "stale"]))
        )
      }
      expect(cancelled).toBe(2)
    }))
})

describe("HttpCache store operations", () => {
  /** The store made by `make`, with every call it gets logged by name. */
  const counted = (inner: HttpCache.Store.Service) => {
    const calls: Array<string> = []
    const store: HttpCache.Store.Service = {
      get: (key) => Effect.zipRight(Effect.sync(() => calls.push("get")), inner.get(key)),
      set: (key, entries) =>
        Effect.zipRight(Effect.sync(() => calls.push(`set:${entries.length}`)), inner.set(key, entries)),
      remove: (key) => Effect.zipRight(Effect.sync(() => calls.push("remove")), inner.remove(key)),
      size: inner.size
    }
    return { store, calls }
  }

  const setupCounted = (respond: Respond) =>
    Effect.gen(function*() {
      const { calls, store } = counted(yield* HttpCache.makeMemory())
      const { client, seen } = fakeClient((request) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const answer = respond(request, now)
          return answer instanceof Response ? Effect.succeed(answer) : Effect.fail(answer)
        })
      )
      const cache = yield* HttpCache.make().pipe(Effect.provideService(HttpCache.Store, store))
      return { client: client.pipe(HttpCache.withCache(cache)), seen, calls, store }
    })

  it.scoped("a miss, a 304 revalidation and a replacement each read once and write once", () =>
    Effect.gen(function*() {
      let etag = "\"v1\""
      const { calls, client } = yield* setupCounted((request, now) =>
        request.headers["if-none-match"] === etag
          ? new Response(null, { status: 304, headers: { date: date(now), etag } })
          : new Response("body", { headers: { date: date(now), "cache-control": "max-age=1", etag } })
      )
      expect(yield* get(client)).toMatchObject({ provenance: "miss" })
      expect(calls).toEqual(["get", "set:1"])
      yield* TestClock.adjust("2 seconds")
      expect(yield* get(client)).toMatchObject({ provenance: "revalidated" })
      expect(calls).toEqual(["get", "set:1", "get", "set:1"])
      etag = "\"v2\""
      yield* TestClock.adjust("2 seconds")
      expect(yield* get(client)).toMatchObject({ provenance: "miss", body: "body" })
      expect(calls).toEqual(["get", "set:1", "get", "set:1", "get", "set:1"])
    }))

  it.scoped("a body of unknown length, stored once read, writes without a read too", () =>
    Effect.gen(function*() {
      const { calls, client } = yield* setupCounted((_, now) =>
        new Response(
          new ReadableStream({
            start(controller) {
              controller.enqueue(new TextEncoder().encode("streamed"))
              controller.close()
            }
          }),
          { headers: { date: date(now), "cache-control": "max-age=60" } }
        )
      )
      expect(yield* get(client)).toMatchObject({ provenance: "miss", body: "streamed" })
      expect(yield* get(client)).toMatchObject({ provenance: "fresh", body: "streamed" })
      expect(calls).toEqual(["get", "set:1", "get"])
    }))

  it.scoped("Vary: a write keeps the other variants the lookup found; a non-storable answer drops only its own", () =>
    Effect.gen(function*() {
      let noStore = false
      const { calls, client, seen, store } = yield* setupCounted((request, now) =>
        new Response(`for ${request.headers["accept"]}`, {
          headers: {
            date: date(now),
            vary: "accept",
            "cache-control": noStore ? "no-store" : "max-age=1"
          }
        })
      )
      yield* get(client, URL_A, { accept: "a" })
      yield* get(client, URL_A, { accept: "b" })
      yield* get(client, URL_A, { accept: "c" })
      expect(calls).toEqual(["get", "set:1", "get", "set:2", "get", "set:3"])
      expect((yield* store.size).entries).toBe(3)
      expect(yield* get(client, URL_A, { accept: "b" })).toMatchObject({ provenance: "fresh", body: "for b" })
      yield* TestClock.adjust("2 seconds")
      noStore = true
      expect(yield* get(client, URL_A, { accept: "b" })).toMatchObject({ provenance: "miss", body: "for b" })
      expect(calls.slice(6)).toEqual(["get", "get", "set:2"])
      noStore = false
      expect(yield* get(client, URL_A, { accept: "a" })).toMatchObject({ provenance: "miss" })
      expect(yield* get(client, URL_A, { accept: "c" })).toMatchObject({ provenance: "miss" })
      expect(seen).toHaveLength(6)
      expect(calls.slice(9)).toEqual(["get", "set:2", "get", "set:2"])
    }))
})
