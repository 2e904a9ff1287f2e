/**
 * Fallback layers with provenance: the prices API is a service (`Context.Tag`) with four implementations, its
 * primary HTTP API, a read replica, a stale-if-error cache and a default, and a `Fallback` plan tries them in that
 * order. Every answer says which source gave it, which failures led there, and how old it is if it came from the
 * cache, so the caller can show "price as of 2 s ago" instead of pretending the answer is fresh.
 *
 * The primary answers A-1 once, then goes down (503). The replica knows B-2 only. A 404 from the primary is an
 * answer, not an outage: `while` stops the plan there instead of serving a default price for an unknown product.
 *
 * Run: `pnpm example examples/fallback-layers.ts`
 */
import { HttpClient } from "@effect/platform"
import { NodeRuntime } from "@effect/platform-node"
import type { HttpFailure } from "@sturdy/http"
import { SturdyClient } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { Fallback, StaleCache } from "@sturdy/policy"
import { FaultScript, FaultServer } from "@sturdy/testing"
import { Console, Context, Duration, Effect, Layer, Option, Schema } from "effect"
import { pathToFileURL } from "node:url"

const Price = Schema.Struct({ sku: Schema.String, cents: Schema.Number })
type Price = typeof Price.Type

type PriceError = HttpFailure.HttpFailure | StaleCache.NoStaleAnswer

/** The service every source implements. */
class Prices extends Context.Tag("examples/Prices")<Prices, {
  readonly price: (sku: string) => Effect.Effect<Price, PriceError>
}>() {}

const routes = FaultScript.routes({
  "GET /prices/A-1": FaultScript.sequence(FaultScript.json({ sku: "A-1", cents: 1999 }), FaultScript.status(503)),
  "GET /prices/B-2": FaultScript.status(503),
  "GET /prices/C-3": FaultScript.status(503),
  "GET /prices/Z-9": FaultScript.json({ error: "unknown sku" }, { status: 404 }),
  "GET /replica/prices/B-2": FaultScript.json({ sku: "B-2", cents: 450 }),
  "GET /replica/prices/*": FaultScript.status(503)
})

export const main = Effect.gen(function*() {
  const server = yield* FaultServer.make(routes)
  // no Policy: each call is one attempt, failing with HttpFailure only
  const http = yield* HttpClient.HttpClient
  const api = SturdyClient.makeWith(http, { baseUrl: server.url, timeout: "500 millis" })
  const cache = yield* StaleCache.make<Price>({ maxEntries: 1_000, maxStaleness: "1 minute" })

  const plan = Fallback.make(
    {
      // every fresh primary answer is remembered for the cache source
      source: "primary",
      layer: Layer.succeed(Prices, {
        price: (sku) => api.get(`/prices/${sku}`, { schema: Price }).pipe(StaleCache.remember(cache, sku))
      }),
      attempts: 2
    },
    {
      source: "replica",
      layer: Layer.succeed(Prices, { price: (sku) => api.get(`/replica/prices/${sku}`, { schema: Price }) })
    },
    {
      source: "cache",
      layer: Layer.succeed(Prices, { price: (sku) => StaleCache.lookup(cache, sku) })
    },
    {
      source: "default",
      layer: Layer.succeed(Prices, { price: (sku) => Effect.succeed({ sku, cents: 0 }) })
    }
  )

  const priceOf = (sku: string) =>
    Effect.flatMap(Prices, (prices) => prices.price(sku)).pipe(
      Fallback.run(plan, {
        // a 404 is the upstream's answer: do not fall back to a made-up price
        while: (error) => !(error._tag === "ClientError" && error.status === 404)
      })
    )

  const show = (sku: string) =>
    priceOf(sku).pipe(
      Effect.flatMap((answer) => {
        const path = answer.failures.map((f) => `${f.source} ${f.error._tag}`).join(", ")
        const age = Option.match(answer.age, { onNone: () => "", onSome: (age) => `, ${Duration.format(age)} old` })
        return Console.log(
          `${sku}: ${answer.value.cents} cents from ${answer.source}${age}${
            Fallback.isDegraded(answer) ? `  (degraded; tried ${path || "-"})` : "  (fresh)"
          }`
        )
      }),
      Effect.catchAll((error) => Console.log(`${sku}: failed with ${error._tag} (${error.message})`))
    )

  yield* show("A-1")
  yield* Effect.sleep("300 millis")
  yield* show("A-1")
  yield* show("B-2")
  yield* show("C-3")
  yield* show("Z-9")

  const requests = yield* server.requests
  yield* Console.log(`\nserver saw ${requests.length} requests: ${requests.map((r) => `${r.path}`).join(" ")}`)
}).pipe(Effect.scoped, Effect.provide(UndiciHttpClient.layer()))

// runs when executed, not when the smoke test imports `main`
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) NodeRuntime.runMain(main)
