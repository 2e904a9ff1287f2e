/**
 * A circuit breaker in front of a failing upstream: after three failures in a row it opens and calls fail at once
 * with `CircuitOpen` (the server is left alone); after a pause one probe goes through; a failed probe opens it again
 * for a longer pause, a successful one closes it.
 *
 * The prices API answers twice, then fails four times, then recovers. A call is made every 100 ms; each line shows
 * what the caller got, and the breaker's `changes` stream prints every transition.
 *
 * Run: `pnpm example examples/circuit-breaker.ts`
 */
import { NodeRuntime } from "@effect/platform-node"
import { SturdyClient } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { CircuitBreaker } from "@sturdy/policy"
import { FaultScript, FaultServer } from "@sturdy/testing"
import { Clock, Console, Duration, Effect, Schedule, Schema, Stream } from "effect"
import { pathToFileURL } from "node:url"

const Price = Schema.Struct({ sku: Schema.String, cents: Schema.Number })

const price = FaultScript.json({ sku: "A-1", cents: 1999 })
const down = FaultScript.status(503)
const routes = FaultScript.routes({
  "GET /prices/A-1": FaultScript.sequence(price, price, down, down, down, down, price)
})

export const main = Effect.gen(function*() {
  const server = yield* FaultServer.make(routes)
  const api = yield* SturdyClient.make({ baseUrl: server.url, timeout: "1 second" })

  const breaker = yield* CircuitBreaker.make("prices", {
    consecutiveFailures: 3,
    // 300 ms before the first probe, then 600 ms, 1.2 s, ... (restarts whenever the breaker closes)
    breakDuration: Schedule.exponential("300 millis")
  })
  const start = yield* Clock.currentTimeMillis
  const elapsed = Effect.map(Clock.currentTimeMillis, (now) => `+${String(now - start).padStart(4)} ms`)

  yield* breaker.changes.pipe(
    Stream.runForEach((change) =>
      Effect.flatMap(elapsed, (t) => Console.log(`${t}  breaker ${change.key}: ${change.from} -> ${change.to}`))
    ),
    Effect.forkScoped
  )
  // let the subscription start before the first call
  yield* Effect.yieldNow()

  const call = api.get("/prices/A-1", { schema: Price }).pipe(
    CircuitBreaker.withBreaker(breaker),
    Effect.map((p) => `ok ${p.cents} cents`),
    Effect.catchTags({
      CircuitOpen: (e) => Effect.succeed(`CircuitOpen (probe in ${Duration.format(e.retryAfter)})`),
      ServerError: (e) => Effect.succeed(`ServerError ${e.status}`)
    }),
    Effect.catchAll((e) => Effect.succeed(e._tag))
  )

  for (let i = 1; i <= 16; i++) {
    const outcome = yield* call
    yield* Console.log(`${yield* elapsed}  call ${String(i).padStart(2)}: ${outcome}`)
    yield* Effect.sleep("100 millis")
  }

  const snapshot = yield* breaker.snapshot
  const requests = yield* server.requests
  yield* Console.log(`\n16 calls, ${requests.length} reached the server; breaker is ${snapshot.state}`)
}).pipe(Effect.scoped, Effect.provide(UndiciHttpClient.layer()))

// runs when executed, not when the smoke test imports `main`
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) NodeRuntime.runMain(main)
