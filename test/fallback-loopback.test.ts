import { HttpClient, HttpClientRequest } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Attempt, type HttpFailure } from "@sturdy/http"
import { Fallback, StaleCache } from "@sturdy/policy"
import { FaultScript, FaultServer } from "@sturdy/testing"
import { Context, Effect, Layer, Option, Schema } from "effect"

const Price = Schema.Struct({ sku: Schema.String, cents: Schema.Number })
type Price = typeof Price.Type

class Prices extends Context.Tag("test/Prices")<Prices, {
  readonly price: (sku: string) => Effect.Effect<Price, HttpFailure.HttpFailure | StaleCache.NoStaleAnswer>
}>() {}

// One HTTP implementation of the service per upstream base path; answers are remembered for the stale cache.
const httpPrices = (base: string, cache: StaleCache.StaleCache<Price>) =>
  Layer.effect(
    Prices,
    Effect.map(HttpClient.HttpClient, (client) => ({
      price: (sku: string) =>
        Attempt.json(client, HttpClientRequest.get(`${base}/prices/${sku}`), Price, { timeout: "1 second" }).pipe(
          StaleCache.remember(cache, sku)
        )
    }))
  )

const priceOf = (sku: string) => Effect.flatMap(Prices, (prices) => prices.price(sku))

describe("Fallback layers against a loopback FaultServer (undici)", () => {
  it.scopedLive("primary, alternative, stale cache and default, each answer with its provenance", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.make(FaultScript.routes({
        "GET /primary/prices/sku-1": FaultScript.json({ sku: "sku-1", cents: 100 }),
        "GET /replica/prices/sku-1": FaultScript.json({ sku: "sku-1", cents: 99 })
      }))
      const cache = yield* StaleCache.make<Price>({ maxEntries: 100, maxStaleness: "1 minute" })
      const plan = Fallback.make(
        { source: "primary", layer: httpPrices(`${server.url}/primary`, cache) },
        { source: "replica", layer: httpPrices(`${server.url}/replica`, cache) },
        { source: "cache", layer: Layer.succeed(Prices, { price: (sku) => StaleCache.lookup(cache, sku) }) },
        {
          source: "default",
          layer: Layer.succeed(Prices, { price: (sku) => Effect.succeed({ sku, cents: 0 }) })
        }
      )
      const call = priceOf("sku-1").pipe(Fallback.run(plan))
      const routes = Effect.map(server.requests, (requests) => requests.map((request) => request.route))

      const fresh = yield* call
      expect(fresh).toEqual({
        value: { sku: "sku-1", cents: 100 },
        source: "primary",
        failures: [],
        age: Option.none()
      })
      expect(yield* routes).toEqual(["GET /primary/prices/sku-1"])

      yield* server.setScript("GET /primary/prices/sku-1", FaultScript.status(503))
      const alternative = yield* call
      expect(alternative.source).toBe("replica")
      expect(alternative.value.cents).toBe(99)
      expect(alternative.failures.map(({ error, source }) => [source, error._tag])).toEqual([[
        "primary",
        "ServerError"
      ]])
      expect(Fallback.isDegraded(alternative)).toBe(true)

      yield* server.setScript("GET /replica/prices/sku-1", FaultScript.reset("beforeHeaders"))
      const stale = yield* call
      expect(stale.source).toBe("cache")
      expect(stale.value.cents).toBe(99)
      expect(Option.isSome(stale.age)).toBe(true)
      expect(stale.failures.map(({ error, source }) => [source, error._tag])).toEqual([
        ["primary", "ServerError"],
        ["replica", "ConnectionError"]
      ])

      yield* cache.invalidate("sku-1")
      const fallbackDefault = yield* call
      expect(fallbackDefault.source).toBe("default")
      expect(fallbackDefault.value.cents).toBe(0)
      expect(fallbackDefault.failures.map(({ error, source }) => [source, error._tag])).toEqual([
        ["primary", "ServerError"],
        ["replica", "ConnectionError"],
        ["cache", "NoStaleAnswer"]
      ])
      expect(yield* routes).toEqual([
        "GET /primary/prices/sku-1",
        "GET /primary/prices/sku-1",
        "GET /replica/prices/sku-1",
        "GET /primary/prices/sku-1",
        "GET /replica/prices/sku-1",
        "GET /primary/prices/sku-1",
        "GET /replica/prices/sku-1"
      ])
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("StaleCache.serve answers from the server while it is up and from the cache only once it fails", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.make(FaultScript.routes({
        "GET /prices/sku-1": FaultScript.sequence(
          FaultScript.json({ sku: "sku-1", cents: 100 }),
          FaultScript.json({ sku: "sku-1", cents: 101 }),
          FaultScript.status(503)
        )
      }))
      const cache = yield* StaleCache.make<Price>({ maxEntries: 10, maxStaleness: "1 minute" })
      const client = yield* HttpClient.HttpClient
      const call = Attempt.json(client, HttpClientRequest.get(`${server.url}/prices/sku-1`), Price).pipe(
        StaleCache.serve(cache, "sku-1")
      )
      expect(yield* call).toEqual(Fallback.fresh({ sku: "sku-1", cents: 100 }, "upstream"))
      expect(yield* call).toEqual(Fallback.fresh({ sku: "sku-1", cents: 101 }, "upstream"))
      const stale = yield* call
      expect(stale.source).toBe("stale")
      expect(stale.value.cents).toBe(101)
      expect(stale.failures.map(({ error }) => error._tag)).toEqual(["ServerError"])
      expect((yield* server.requests).length).toBe(3)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})
