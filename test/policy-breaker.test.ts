import { HttpClient, HttpClientRequest } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Policy, SturdyClient } from "@sturdy/http"
import { FaultScript, FaultServer } from "@sturdy/testing"
import { Cause, Effect, Exit, Option, Schema } from "effect"

const User = Schema.Struct({ id: Schema.Number, name: Schema.String })
const ada = { id: 1, name: "Ada" }

const tagOf = <A, E extends { readonly _tag: string }>(exit: Exit.Exit<A, E>): string =>
  Exit.isSuccess(exit) ? "Success" : Option.match(Cause.failureOption(exit.cause), {
    onNone: () => "Defect",
    onSome: (error) => error._tag
  })

describe("policy: circuit breaker against a loopback FaultServer (undici)", () => {
  it.scopedLive("while the breaker is open the server sees nothing beyond the probes", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.make(FaultScript.routes({ "GET /users/1": FaultScript.status(503) }))
      const policy = yield* Policy.make({
        totalTimeout: "5 seconds",
        attemptTimeout: "1 second",
        retry: false,
        circuitBreaker: { consecutiveFailures: 3, breakDuration: "200 millis", slidingWindow: "10 seconds" }
      })
      const api = SturdyClient.makeWith(yield* HttpClient.HttpClient, { baseUrl: server.url, policy })
      const call = Effect.exit(api.get("/users/1", { schema: User }))
      const seen = Effect.map(server.requests, (requests) => requests.length)

      // three 503s open the breaker
      for (let i = 0; i < 3; i++) expect(tagOf(yield* call)).toBe("ServerError")
      expect(yield* seen).toBe(3)

      // open: 20 calls, none reaches the server
      const whileOpen = yield* Effect.all(Array.from({ length: 20 }, () => call), { concurrency: "unbounded" })
      expect(whileOpen.map(tagOf).every((tag) => tag === "CircuitOpen")).toBe(true)
      expect(yield* seen).toBe(3)

      // after the pause, of 10 concurrent calls exactly one is let through as the probe; it fails and reopens
      yield* Effect.sleep("250 millis")
      const halfOpen = yield* Effect.all(Array.from({ length: 10 }, () => call), { concurrency: "unbounded" })
      expect(halfOpen.map(tagOf).filter((tag) => tag === "ServerError").length).toBe(1)
      expect(halfOpen.map(tagOf).filter((tag) => tag === "CircuitOpen").length).toBe(9)
      expect(yield* seen).toBe(4)
      expect(tagOf(yield* call)).toBe("CircuitOpen")
      expect(yield* seen).toBe(4)

      // the upstream recovers: the next probe succeeds and closes the breaker
      yield* server.setScript("GET /users/1", FaultScript.json(ada))
      yield* Effect.sleep("250 millis")
      expect(yield* call).toEqual(Exit.succeed(ada))
      expect(yield* call).toEqual(Exit.succeed(ada))
      expect(yield* seen).toBe(6)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("with waitForProbe, a retry waits for the probe inside the deadline instead of failing", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.make(FaultScript.routes({
        "GET /users/1": FaultScript.sequence(FaultScript.status(503), FaultScript.json(ada))
      }))
      const policy = yield* Policy.make({
        totalTimeout: "3 seconds",
        attemptTimeout: "1 second",
        retry: { maxAttempts: 3, baseDelay: "5 millis", budget: false },
        circuitBreaker: {
          consecutiveFailures: 1,
          breakDuration: "200 millis",
          slidingWindow: "10 seconds",
          waitForProbe: true
        }
      })
      const api = SturdyClient.makeWith(yield* HttpClient.HttpClient, { baseUrl: server.url, policy })
      expect(yield* api.get("/users/1", { schema: User })).toEqual(ada)
      const [first, probe] = yield* server.requests
      expect((yield* server.requests).length).toBe(2)
      expect(probe.arrivedAt - first.arrivedAt).toBeGreaterThanOrEqual(190)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("4xx answers other than 408, 429 included, never open the breaker", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.make(FaultScript.routes({
        "GET /missing": FaultScript.status(404),
        "GET /busy": FaultScript.status(429)
      }))
      const policy = yield* Policy.make({
        retry: false,
        circuitBreaker: { consecutiveFailures: 2, breakDuration: "10 seconds" }
      })
      const api = SturdyClient.makeWith(yield* HttpClient.HttpClient, { baseUrl: server.url, policy })
      for (let i = 0; i < 5; i++) expect(tagOf(yield* Effect.exit(api.get("/missing")))).toBe("ClientError")
      for (let i = 0; i < 5; i++) expect(tagOf(yield* Effect.exit(api.get("/busy")))).toBe("RateLimited")
      expect((yield* server.requests).length).toBe(10)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("an open circuit fails fast: the retry that meets it gets CircuitOpen in milliseconds, saying why", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.make(FaultScript.routes({ "GET /users/1": FaultScript.status(503) }))
      const policy = yield* Policy.make({
        retry: { maxAttempts: 3, baseDelay: "5 millis", maxDelay: "5 millis", budget: false },
        circuitBreaker: { consecutiveFailures: 1, breakDuration: "5 seconds", slidingWindow: "30 seconds" }
      })
      const api = SturdyClient.makeWith(yield* HttpClient.HttpClient, { baseUrl: server.url, policy })
      const started = Date.now()
      const exit = yield* Effect.exit(api.get("/users/1", { schema: User }))
      const elapsed = Date.now() - started
      expect(tagOf(exit)).toBe("CircuitOpen")
      expect(elapsed).toBeLessThan(1_000)
      expect((yield* server.requests).length).toBe(1)
      const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
      expect(Option.getOrThrow(failure).message).toMatch(
        new RegExp(`^circuit open for http://127\\.0\\.0\\.1:${server.port} after 1 × ServerError 503; retry after`)
      )
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("half-open: a 404 to the probe closes the breaker; the caller gets its ClientError", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.make(FaultScript.routes({
        "GET /users/1": FaultScript.sequence(FaultScript.status(503), FaultScript.status(404), FaultScript.json(ada))
      }))
      const policy = yield* Policy.make({
        attemptTimeout: "1 second",
        retry: false,
        circuitBreaker: { consecutiveFailures: 1, breakDuration: "200 millis", slidingWindow: "10 seconds" }
      })
      const api = SturdyClient.makeWith(yield* HttpClient.HttpClient, { baseUrl: server.url, policy })
      const call = Effect.exit(api.get("/users/1", { schema: User }))
      expect(tagOf(yield* call)).toBe("ServerError")
      expect(tagOf(yield* call)).toBe("CircuitOpen")
      yield* Effect.sleep("250 millis")
      expect(tagOf(yield* call)).toBe("ClientError")
      const breaker = Option.getOrThrow(yield* policy.circuitBreaker(HttpClientRequest.get(`${server.url}/users/1`)))
      expect(yield* breaker.state).toBe("Closed")
      expect(yield* call).toEqual(Exit.succeed(ada))
      expect((yield* server.requests).length).toBe(3)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("half-open: a probe that hangs past the attempt timeout opens the breaker again", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.make(FaultScript.routes({
        "GET /users/1": FaultScript.sequence(FaultScript.status(503), FaultScript.hang)
      }))
      const policy = yield* Policy.make({
        attemptTimeout: "100 millis",
        retry: false,
        circuitBreaker: { consecutiveFailures: 1, breakDuration: "200 millis", slidingWindow: "10 seconds" }
      })
      const api = SturdyClient.makeWith(yield* HttpClient.HttpClient, { baseUrl: server.url, policy })
      const call = Effect.exit(api.get("/users/1"))
      expect(tagOf(yield* call)).toBe("ServerError")
      yield* Effect.sleep("250 millis")
      expect(tagOf(yield* call)).toBe("Timeout")
      const breaker = Option.getOrThrow(yield* policy.circuitBreaker(HttpClientRequest.get(`${server.url}/users/1`)))
      expect(yield* breaker.state).toBe("Open")
      expect(tagOf(yield* call)).toBe("CircuitOpen")
      expect((yield* server.requests).length).toBe(2)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})
