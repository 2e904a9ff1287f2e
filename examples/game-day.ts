/**
 * A game day: a healthy upstream, chaos injected between the client and it, and the proof that the policies hold.
 *
 * A FaultServer on 127.0.0.1 serves five price documents and never fails. Between it and the application sits
 * `Chaos.layer` (`@sturdy/testing`, Polly's Simmy for Sturdy): for 40 % of the requests it injects a 503, a reset
 * connection, a refused connection or 300 ms of latency, and those requests never reach the server (the latency ones
 * do, late). The application is what would run in production: `Policy.json` with a 150 ms attempt timeout and fast
 * retries, and `Coalesce` (`@sturdy/policy`) so that the four callers asking for one price at once share one call.
 *
 * The report says what chaos did (injections by kind, from `onInject`), what the callers got (every one of the 20
 * gets its price), and what the upstream saw: one request per price. Coalescing turned 20 callers into 5 calls, and
 * each attempt that chaos failed was retried by the policy without reaching the server (an attempt held by the
 * injected latency timed out before it was sent). Random draws are seeded, so the run repeats.
 *
 * Run: `pnpm example examples/game-day.ts`
 */
import { NodeRuntime } from "@effect/platform-node"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { Policy } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { Coalesce } from "@sturdy/policy"
import { Chaos, FaultScript, FaultServer } from "@sturdy/testing"
import { Console, Effect, Layer, Random, Schema } from "effect"
import { pathToFileURL } from "node:url"

const Price = Schema.Struct({ sku: Schema.String, cents: Schema.Int })

const skus = ["apple", "bread", "cheese", "dates", "eggs"] as const
const routes = FaultScript.routes(
  Object.fromEntries(skus.map((sku, i) => [`GET /prices/${sku}`, FaultScript.json({ sku, cents: 100 + i })]))
)

// what chaos injected, by kind, as `onInject` reports it
const injected = new Map<string, number>()
const count = (kind: string) => Effect.sync(() => injected.set(kind, (injected.get(kind) ?? 0) + 1))

const chaos = Chaos.layer({
  injectionRate: 0.4,
  faults: [FaultScript.status(503), FaultScript.reset("beforeHeaders"), FaultScript.refused()],
  latency: "300 millis",
  // only reads: a game day should not make the upstream see a write twice
  enabled: (request) => request.method === "GET",
  onInject: (injection) =>
    count(injection._tag === "Latency" ? "latency 300ms (attempt timed out)" : describe(injection.fault))
})

const describe = (fault: FaultScript.Fault): string =>
  fault._tag === "Respond" ? `status ${fault.status}` : fault._tag === "ConnectFailure" ? `refused` : "reset"

const policy = Policy.layer({
  attemptTimeout: "150 millis",
  totalTimeout: "5 seconds",
  retry: { maxAttempts: 6, baseDelay: "10 millis", maxDelay: "50 millis" }
})

export const main = Effect.gen(function*() {
  injected.clear()
  const server = yield* FaultServer.make(routes)
  // the transport with chaos in front of it, as `Chaos.layer` replaced it
  const client = yield* HttpClient.HttpClient
  const group = yield* Coalesce.make({ name: "prices" })
  // four callers per price, all at once: a page that renders the same product in four places
  const callers = skus.flatMap((sku) => Array.from({ length: 4 }, () => sku))
  const prices = yield* Effect.forEach(
    callers,
    (sku) =>
      Policy.json(client, HttpClientRequest.get(`${server.url}/prices/${sku}`), Price).pipe(
        Coalesce.run(group, `GET /prices/${sku}`)
      ),
    { concurrency: "unbounded" }
  )

  yield* Console.log("what chaos injected:")
  for (const [kind, n] of [...injected].sort()) yield* Console.log(`  ${kind.padEnd(34)} ${n}`)
  const got = prices.filter((price, i) => price.sku === callers[i]).length
  yield* Console.log(`callers that got their price: ${got} of ${callers.length}`)
  const reached = (yield* server.requests).length
  const failed = [...injected.values()].reduce((sum, n) => sum + n, 0)
  yield* Console.log(`attempts: ${failed + reached} (${failed} failed by chaos, ${reached} reached the upstream)`)
  yield* Console.log(`requests the upstream saw: ${reached} for ${skus.length} prices and ${callers.length} callers`)
}).pipe(
  Effect.scoped,
  Effect.provide(Layer.merge(policy, Layer.provide(chaos, UndiciHttpClient.layer()))),
  // chaos and the backoff's jitter draw from Effect's Random: a fixed seed repeats the run
  Effect.withRandom(Random.make(2026))
)

// runs when executed, not when the smoke test imports `main`
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) NodeRuntime.runMain(main)
