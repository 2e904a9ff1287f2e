/**
 * Retries that honour the server: a 503 is retried on exponential backoff, a 429 waits the `Retry-After`
 * the server sent, and a `Retry-After` longer than we are willing to wait gives up at once instead of sleeping.
 *
 * `Retry.retry` is transport-agnostic: the HTTP knowledge is two functions from `HttpFailure` (`isTransient`,
 * `retryAfter`). Every decision is reported to `onAttempt`; the FaultServer's request log shows when each attempt
 * actually arrived. (`Policy` from `@sturdy/http` wires exactly this up by default.)
 *
 * Run: `pnpm example examples/retry-after.ts`
 */
import { HttpClient } from "@effect/platform"
import { NodeRuntime } from "@effect/platform-node"
import { HttpFailure, SturdyClient } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { Backoff, Retry } from "@sturdy/policy"
import { FaultScript, FaultServer } from "@sturdy/testing"
import { Console, Duration, Effect, Random, Schema } from "effect"
import { pathToFileURL } from "node:url"

const Order = Schema.Struct({ id: Schema.String, total: Schema.Number })

const routes = FaultScript.routes({
  // a 503 without advice, then a 429 asking for one second, then the answer
  "GET /orders/42": FaultScript.sequence(
    FaultScript.status(503),
    FaultScript.status(429, { retryAfter: 1 }),
    FaultScript.json({ id: "42", total: 99.5 })
  ),
  // asks for two minutes: longer than `maxRetryAfter`, so we give up without waiting
  "GET /orders/43": FaultScript.status(429, { retryAfter: 120 })
})

const retryPolicy = {
  schedule: Backoff.exponential({ baseDelay: "100 millis", maxAttempts: 4 }),
  while: HttpFailure.isTransient,
  delayHint: HttpFailure.retryAfter,
  maxRetryAfter: "5 seconds",
  onAttempt: (attempt: Retry.Attempt<HttpFailure.HttpFailure>) =>
    Console.log(
      `  attempt ${attempt.attempt - 1} failed: ${attempt.failure._tag} -> ${
        attempt.retrying
          ? `retry #${attempt.attempt} in ${Duration.format(attempt.delay)} (${attempt.reason})`
          : `give up (${attempt.reason})`
      }`
    )
} as const

export const main = Effect.gen(function*() {
  const server = yield* FaultServer.make(routes)
  // no Policy: each call is one attempt, failing with HttpFailure only
  const http = yield* HttpClient.HttpClient
  const api = SturdyClient.makeWith(http, { baseUrl: server.url, timeout: "1 second" })

  yield* Console.log("GET /orders/42")
  const order = yield* api.get("/orders/42", { schema: Order }).pipe(Retry.retry(retryPolicy))
  yield* Console.log(`  -> order ${order.id}, total ${order.total}`)

  yield* Console.log("GET /orders/43")
  const refused = yield* api.get("/orders/43", { schema: Order }).pipe(Retry.retry(retryPolicy), Effect.flip)
  yield* Console.log(`  -> ${refused._tag}: ${refused.message}`)

  yield* Console.log("\nwhat the server saw:")
  const log = yield* server.requests
  const start = log[0]?.arrivedAt ?? 0
  for (const request of log) {
    const fault = request.fault
    const answer = fault._tag === "Respond"
      ? `${fault.status}${fault.retryAfter ? ` Retry-After: ${fault.retryAfter}` : ""}`
      : fault._tag
    yield* Console.log(
      `  +${String(request.arrivedAt - start).padStart(5)} ms  ${request.method} ${request.path}  -> ${answer}`
    )
  }
}).pipe(
  Effect.scoped,
  Effect.provide(UndiciHttpClient.layer()),
  // the backoff's jitter draws from Effect's Random: a fixed seed makes the delays reproducible
  Effect.withRandom(Random.make(7))
)

// runs when executed, not when the smoke test imports `main`
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) NodeRuntime.runMain(main)
