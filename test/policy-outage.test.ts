import { HttpClient } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Policy, SturdyClient } from "@sturdy/http"
import * as RetryBudget from "@sturdy/policy/RetryBudget"
import { FaultScript, FaultServer } from "@sturdy/testing"
import { Effect, Exit } from "effect"

const calls = 100
const attempts = 3

// Every call fails (503 forever): what the server sees is the retry amplification of the outage.
const outage = (budget: boolean) =>
  Effect.gen(function*() {
    const server = yield* FaultServer.make(FaultScript.routes({ "GET /items": FaultScript.status(503) }))
    // timeouts far above what 300 loopback requests take, even on a loaded machine: every attempt must reach the
    // server for the count below to hold
    const policy = yield* Policy.make({
      totalTimeout: "60 seconds",
      attemptTimeout: "30 seconds",
      retry: { maxAttempts: attempts, baseDelay: "5 millis", maxDelay: "20 millis", budget },
      circuitBreaker: false
    })
    const api = SturdyClient.makeWith(yield* HttpClient.HttpClient, { baseUrl: server.url, policy })
    const exits = yield* Effect.all(Array.from({ length: calls }, () => Effect.exit(api.get("/items"))), {
      concurrency: "unbounded"
    })
    return { exits, seen: (yield* server.requests).length }
  })

describe("policy: a full outage against a loopback FaultServer (undici)", () => {
  it.scopedLive("with the retry budget the server sees at most calls + ratio × calls + floor requests", () =>
    Effect.gen(function*() {
      const { exits, seen } = yield* outage(true)
      expect(exits.every(Exit.isFailure)).toBe(true)
      const allowed = calls + RetryBudget.defaults.ratio * calls + RetryBudget.defaults.minRetries
      expect(seen).toBeGreaterThan(calls)
      expect(seen).toBeLessThanOrEqual(allowed)
      // the calls whose retry was refused say so, carrying the server's failure
      const refused = exits.filter((exit) =>
        Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error._tag === "RetryBudgetExhausted"
      )
      expect(refused.length).toBeGreaterThan(0)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("without the budget the server sees every attempt of every call", () =>
    Effect.gen(function*() {
      const { exits, seen } = yield* outage(false)
      expect(exits.every(Exit.isFailure)).toBe(true)
      expect(seen).toBe(attempts * calls)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})
