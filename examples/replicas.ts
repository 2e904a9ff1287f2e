/**
 * One logical upstream served by three replicas: `SturdyClient`'s `replicas` sends each attempt to one of them
 * (round-robin here), a retry to a replica the call has not tried, and sets aside a replica that keeps failing.
 *
 * Replica 2 answers every request with a 503. The first calls that land on it are retried on another replica and
 * still succeed; after its fifth failure in a row it is ejected, and the calls after that go to replicas 1 and 3
 * only. The breaker, the retry budget and the call's telemetry stay those of the logical upstream, `baseUrl`.
 *
 * Run: `pnpm example examples/replicas.ts`
 */
import { NodeRuntime } from "@effect/platform-node"
import { Policy, SturdyClient } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { FaultScript, FaultServer } from "@sturdy/testing"
import { Console, Effect, Option, Schema } from "effect"
import { pathToFileURL } from "node:url"

const Price = Schema.Struct({ sku: Schema.String, cents: Schema.Number })

const healthy = FaultScript.routes({ "GET /prices/A-1": FaultScript.json({ sku: "A-1", cents: 1999 }) })
const broken = FaultScript.routes({ "GET /prices/A-1": FaultScript.status(503) })

export const main = Effect.gen(function*() {
  const servers = [yield* FaultServer.make(healthy), yield* FaultServer.make(broken), yield* FaultServer.make(healthy)]
  const policy = yield* Policy.make({ retry: { maxAttempts: 2, baseDelay: "10 millis" }, circuitBreaker: false })
  const api = yield* SturdyClient.make({
    // the logical upstream: every request to its origin goes to a replica
    baseUrl: "http://prices.internal",
    policy,
    replicas: {
      urls: [servers[0].url, servers[1].url, servers[2].url],
      strategy: "round-robin",
      outlier: { consecutiveFailures: 5, baseEjectionTime: "30 seconds" }
    }
  })

  let ok = 0
  for (let i = 1; i <= 15; i++) {
    const price = yield* Effect.either(api.get("/prices/A-1", { schema: Price }))
    if (price._tag === "Right") ok++
  }
  for (const [i, server] of servers.entries()) {
    const requests = yield* server.requests
    yield* Console.log(`replica ${i + 1}: ${requests.length} requests`)
  }
  const balancer = Option.getOrThrow(api.replicas)
  for (const state of yield* balancer.snapshot) {
    yield* Console.log(`${state.key}: ${state.ejectedUntil === undefined ? "in service" : "ejected"}`)
  }
  yield* Console.log(`\n15 calls, ${ok} succeeded`)
}).pipe(Effect.scoped, Effect.provide(UndiciHttpClient.layer()))

// runs when executed, not when the smoke test imports `main`
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) NodeRuntime.runMain(main)
