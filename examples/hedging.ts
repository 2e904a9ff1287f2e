/**
 * Hedged requests cut the tail latency of a safe-to-repeat call: when no answer has come within 100 ms a second
 * copy is sent (and a third at 200 ms); whichever answers first wins and the others are aborted.
 *
 * The search API answers in ~20 ms, but one request in four takes 600 ms (seeded, so every run is the same). The
 * same twelve searches run plain, then hedged; the summary compares their latencies and shows that the losing
 * copies were cancelled on the server's side too.
 *
 * Run: `pnpm example examples/hedging.ts`
 */
import { NodeRuntime } from "@effect/platform-node"
import { SturdyClient } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { Hedge } from "@sturdy/policy"
import { FaultScript, FaultServer } from "@sturdy/testing"
import { Array as Arr, Console, Duration, Effect, FiberRef, Schema } from "effect"
import { pathToFileURL } from "node:url"

const Results = Schema.Struct({ hits: Schema.Array(Schema.String) })

const answer = { hits: ["sturdy", "effect"] }
const routes = FaultScript.routes({
  "GET /search": FaultScript.random({
    seed: 2024,
    choices: [[0.25, FaultScript.json(answer, { latency: "600 millis" })]],
    otherwise: FaultScript.json(answer, { latency: "20 millis" })
  })
})

const summary = (label: string, millis: ReadonlyArray<number>) => {
  const sorted = Arr.sort(millis, (a: number, b: number) => (a < b ? -1 : a > b ? 1 : 0))
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0
  return `${label.padEnd(7)} p50 ${String(at(0.5)).padStart(4)} ms   max ${String(at(1)).padStart(4)} ms   total ${
    String(millis.reduce((a, b) => a + b, 0)).padStart(5)
  } ms`
}

export const main = Effect.gen(function*() {
  const server = yield* FaultServer.make(routes)
  const api = yield* SturdyClient.make({ baseUrl: server.url, timeout: "2 seconds" })

  // which copy answered: Hedge sets `currentIndex` (0 for the original, 1.. for hedges) in each attempt
  const attempt = api.get("/search", { schema: Results }).pipe(Effect.zipRight(FiberRef.get(Hedge.currentIndex)))
  const timed = <E>(self: Effect.Effect<number, E>) =>
    Effect.map(Effect.timed(self), ([elapsed, winner]) => ({ millis: Math.round(Duration.toMillis(elapsed)), winner }))

  const search = timed(attempt)
  const hedged = timed(attempt.pipe(
    Hedge.hedge({
      delay: "100 millis",
      maxHedges: 2,
      onHedge: (event) =>
        Console.log(`    hedge #${event.index} sent after ${Duration.format(event.elapsed)} (${event.trigger})`)
    })
  ))

  yield* Console.log("plain:")
  const plain: Array<number> = []
  for (let i = 1; i <= 12; i++) {
    const { millis } = yield* search
    plain.push(millis)
    yield* Console.log(`  search ${String(i).padStart(2)}: ${String(millis).padStart(4)} ms`)
  }

  const plainRequests = (yield* server.requests).length
  // restart the script so the hedged run meets the same sequence of slow and fast answers
  yield* server.reset

  yield* Console.log("hedged after 100 ms:")
  const fast: Array<number> = []
  for (let i = 1; i <= 12; i++) {
    const { millis, winner } = yield* hedged
    fast.push(millis)
    yield* Console.log(
      `  search ${String(i).padStart(2)}: ${String(millis).padStart(4)} ms${
        winner > 0 ? `  (won by hedge #${winner})` : ""
      }`
    )
  }

  yield* server.awaitIdle
  const requests = yield* server.requests
  const aborted = requests.filter((r) => r.aborted).length
  yield* Console.log("")
  yield* Console.log(summary("plain", plain))
  yield* Console.log(summary("hedged", fast))
  yield* Console.log(
    `plain: ${plainRequests} requests; hedged: ${requests.length} requests, ${aborted} slow copies aborted`
  )
}).pipe(Effect.scoped, Effect.provide(UndiciHttpClient.layer()))

// runs when executed, not when the smoke test imports `main`
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) NodeRuntime.runMain(main)
