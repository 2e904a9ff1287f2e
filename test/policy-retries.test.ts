import { HttpClient } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Policy, SturdyClient } from "@sturdy/http"
import { FaultScript } from "@sturdy/testing"
import { Clock, Effect, Schema } from "effect"
import * as Loopback from "./utils/loopbackServer.js"
import { failureOf, serve as serveWith } from "./utils/policyServer.js"
import { transports } from "./utils/transports.js"

const User = Schema.Struct({ id: Schema.Number, name: Schema.String })
const ada = { id: 1, name: "Ada" }

// fast backoff: real time is spent only where a test is about the server's wait
const fast: Policy.Options = {
  totalTimeout: "5 seconds",
  attemptTimeout: "2 seconds",
  retry: { baseDelay: "10 millis", maxDelay: "50 millis", budget: false },
  circuitBreaker: false
}

const serve = (routes: Parameters<typeof FaultScript.routes>[0], options: Policy.Options = fast) =>
  serveWith(routes, options)

describe.each(transports)("policy: safe retries against a loopback FaultServer over %s", (_, transport) => {
  it.scopedLive("503, 503, 200: the server sees 3 requests and the call succeeds", () =>
    Effect.gen(function*() {
      const { api, server } = yield* serve({
        "GET /users/1": FaultScript.sequence(FaultScript.status(503), FaultScript.status(503), FaultScript.json(ada))
      })
      expect(yield* api.get("/users/1", { schema: User })).toEqual(ada)
      expect((yield* server.requests).length).toBe(3)
    }).pipe(Effect.provide(transport)))

  it.scopedLive("POST answered 503: 1 request and the ServerError", () =>
    Effect.gen(function*() {
      const { api, server } = yield* serve({ "POST /orders": FaultScript.status(503) })
      const failure = failureOf(yield* Effect.exit(api.post("/orders", { body: { sku: "A-1" } })))
      expect(failure._tag === "ServerError" && failure.status).toBe(503)
      expect((yield* server.requests).length).toBe(1)
    }).pipe(Effect.provide(transport)))

  it.scopedLive("POST with an Idempotency-Key is retried with the same key each time", () =>
    Effect.gen(function*() {
      const { api, server } = yield* serve({
        "POST /orders": FaultScript.sequence(FaultScript.status(503), FaultScript.status(502), FaultScript.json(ada)),
        "POST /payments": FaultScript.sequence(FaultScript.status(503), FaultScript.json(ada))
      }, { ...fast, retry: { baseDelay: "10 millis", budget: false, idempotencyKey: true } })
      // the caller's own key
      yield* api.post("/orders", { body: { sku: "A-1" }, headers: { "Idempotency-Key": "order-42" }, schema: User })
      // a generated one
      yield* api.post("/payments", { body: { amount: 10 }, schema: User })
      const requests = yield* server.requests
      const keysOf = (route: string) => requests.filter((r) => r.route === route).map((r) => r.idempotencyKey)
      expect(keysOf("POST /orders")).toEqual(["order-42", "order-42", "order-42"])
      const generated = keysOf("POST /payments")
      expect(generated.length).toBe(2)
      expect(generated[0]).toMatch(/^[0-9a-f-]{36}$/)
      expect(generated[1]).toBe(generated[0])
    }).pipe(Effect.provide(transport)))

  it.scopedLive("Retry-After: 3600 with a 5 s deadline fails at once after 1 request", () =>
    Effect.gen(function*() {
      const { api, server } = yield* serve({ "GET /limited": FaultScript.status(429, { retryAfter: "3600" }) }, {
        ...fast,
        totalTimeout: "5 seconds",
        retry: { baseDelay: "10 millis", budget: false, maxRetryAfter: "2 hours" }
      })
      const started = yield* Clock.currentTimeMillis
      const failure = failureOf(yield* Effect.exit(api.get("/limited")))
      const elapsed = (yield* Clock.currentTimeMillis) - started
      expect(failure._tag).toBe("RateLimited")
      expect((yield* server.requests).length).toBe(1)
      expect(elapsed).toBeLessThan(1000)
    }).pipe(Effect.provide(transport)))

  it.scopedLive("a refused connection is retried even for POST", () =>
    Effect.gen(function*() {
      const port = yield* Loopback.closedPort
      let sent = 0
      const counting = HttpClient.tapRequest(yield* HttpClient.HttpClient, () =>
        Effect.sync(() => {
          sent++
        }))
      const api = SturdyClient.makeWith(counting, {
        baseUrl: `http://127.0.0.1:${port}`,
        policy: yield* Policy.make(fast)
      })
      const failure = failureOf(yield* Effect.exit(api.post("/orders", { body: { sku: "A-1" } })))
      expect(failure._tag === "ConnectionError" && failure.reason).toBe("Refused")
      expect(sent).toBe(3)
    }).pipe(Effect.provide(transport)))

  it.scopedLive("a hung attempt times out as Timeout(Attempt) and the retry succeeds", () =>
    Effect.gen(function*() {
      // a second of live time per attempt: a loaded machine must not time out the answered retry too
      const { api, server } = yield* serve({
        "GET /slow": FaultScript.sequence(FaultScript.hang, FaultScript.json(ada))
      }, { ...fast, attemptTimeout: "1 second", totalTimeout: "5 seconds" })
      expect(yield* api.get("/slow", { schema: User })).toEqual(ada)
      // (a second request the deadline aborts while it connects may never be logged by the server)
      expect((yield* server.requests).length).toBeLessThanOrEqual(2)
    }).pipe(Effect.provide(transport)))

  it.scopedLive("the total deadline ends a call that keeps hanging with Timeout(Deadline)", () =>
    Effect.gen(function*() {
      const { api, server } = yield* serve({ "GET /hang": FaultScript.hang }, {
        ...fast,
        attemptTimeout: "200 millis",
        totalTimeout: "300 millis",
        retry: { maxAttempts: 10, baseDelay: "5 millis", maxDelay: "10 millis", budget: false }
      })
      // the first attempt times out at 200 ms; the second gets the ~90 ms left and is cut off by the deadline
      const started = yield* Clock.currentTimeMillis
      const failure = failureOf(yield* Effect.exit(api.get("/hang")))
      const elapsed = (yield* Clock.currentTimeMillis) - started
      expect(failure._tag === "Timeout" && failure.phase).toBe("Deadline")
      expect(elapsed).toBeGreaterThanOrEqual(290)
      expect(elapsed).toBeLessThan(1000)
      // (a second request the deadline aborts while it connects may never be logged by the server)
      expect((yield* server.requests).length).toBeLessThanOrEqual(2)
    }).pipe(Effect.provide(transport)))
})

describe("policy: the server's Retry-After in real time (undici)", () => {
  // the one test that waits for real: the server's Retry-After is 1 s
  it.scopedLive("429 with Retry-After: 1 puts at least 1 s between the first two requests", () =>
    Effect.gen(function*() {
      const { api, server } = yield* serve({
        "GET /limited": FaultScript.sequence(FaultScript.status(429, { retryAfter: "1" }), FaultScript.json(ada))
      })
      expect(yield* api.get("/limited", { schema: User })).toEqual(ada)
      const [first, second] = yield* server.requests
      expect(second.arrivedAt - first.arrivedAt).toBeGreaterThanOrEqual(1000)
      expect(second.arrivedAt - first.arrivedAt).toBeLessThan(1500)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})

describe.each(transports)("policy: retry rules against a loopback FaultServer over %s", (_, transport) => {
  it.scopedLive("Retry-After: 0 retries at once, and the final failure says how many attempts were made", () =>
    Effect.gen(function*() {
      const { api, server } = yield* serve({ "GET /now": FaultScript.status(503, { retryAfter: "0" }) }, {
        ...fast,
        retry: { baseDelay: "2 seconds", maxDelay: "2 seconds", jitter: "none", budget: false }
      })
      const started = yield* Clock.currentTimeMillis
      const failure = failureOf(yield* Effect.exit(api.get("/now")))
      expect((yield* Clock.currentTimeMillis) - started).toBeLessThan(1000)
      expect(failure._tag === "ServerError" && failure.attempts).toBe(3)
      expect(failure.message).toContain("(after 3 attempts)")
      expect((yield* server.requests).length).toBe(3)
    }).pipe(Effect.provide(transport)))

  it.scopedLive("an invalid Retry-After (1.5) and a 500's Retry-After fall back to the quick backoff", () =>
    Effect.gen(function*() {
      const { api, server } = yield* serve({
        "GET /fraction": FaultScript.sequence(FaultScript.status(503, { retryAfter: "1.5" }), FaultScript.json(ada)),
        "GET /500": FaultScript.sequence(FaultScript.status(500, { retryAfter: "3" }), FaultScript.json(ada))
      })
      const started = yield* Clock.currentTimeMillis
      expect(yield* api.get("/fraction", { schema: User })).toEqual(ada)
      expect(yield* api.get("/500", { schema: User })).toEqual(ada)
      expect((yield* Clock.currentTimeMillis) - started).toBeLessThan(1000)
      expect((yield* server.requests).length).toBe(4)
    }).pipe(Effect.provide(transport)))

  it.scopedLive("retry.methods and retryUnsent: a PUT outside the list and a refused POST are sent once", () =>
    Effect.gen(function*() {
      const { api, server } = yield* serve({ "PUT /a": FaultScript.status(503), "GET /a": FaultScript.status(503) }, {
        ...fast,
        retry: { baseDelay: "10 millis", budget: false, methods: ["get"] }
      })
      expect(failureOf(yield* Effect.exit(api.put("/a")))._tag).toBe("ServerError")
      expect(failureOf(yield* Effect.exit(api.get("/a")))._tag).toBe("ServerError")
      expect((yield* server.requests).map((r) => r.method)).toEqual(["PUT", "GET", "GET", "GET"])

      const port = yield* Loopback.closedPort
      let sent = 0
      const counting = HttpClient.tapRequest(yield* HttpClient.HttpClient, () =>
        Effect.sync(() => {
          sent++
        }))
      const strict = yield* Policy.make({
        ...fast,
        retry: { baseDelay: "10 millis", budget: false, retryUnsent: false }
      })
      const refused = SturdyClient.makeWith(counting, { baseUrl: `http://127.0.0.1:${port}`, policy: strict })
      const failure = failureOf(yield* Effect.exit(refused.post("/orders", { body: { sku: "A-1" } })))
      expect(failure._tag === "ConnectionError" && failure.reason).toBe("Refused")
      expect(sent).toBe(1)
    }).pipe(Effect.provide(transport)))
})
