import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { describe, expect, it } from "@effect/vitest"
import { FaultScript, FaultServer, ScriptedClient } from "@sturdy/testing"
import * as Effect from "effect/Effect"

/** What a plain @effect/platform client observes, minus what only a real socket adds (date, connection). */
type Outcome =
  | {
    readonly _tag: "Response"
    readonly status: number
    readonly headers: Record<string, string>
    readonly body: string | unknown
  }
  | {
    readonly _tag: "HttpClientError"
    readonly error: string
    readonly reason: string
    readonly causeName: string | undefined
    readonly causeCode: string | undefined
  }
  | { readonly _tag: "TimeoutException" }

interface Call {
  readonly method?: "GET" | "POST"
  readonly path: string
  readonly read?: "text" | "json"
  readonly timeout?: number
  readonly idempotencyKey?: string
  readonly sleepBefore?: number
}

const socketOnlyHeaders = new Set(["date", "connection", "keep-alive", "transfer-encoding"])

const describeCause = (cause: unknown) =>
  cause instanceof Error ?
    {
      causeName: cause.name,
      causeCode: "code" in cause && typeof cause.code === "string" ? cause.code : undefined
    } :
    { causeName: undefined, causeCode: undefined }

const fromError = (error: HttpClientError.HttpClientError): Outcome => ({
  _tag: "HttpClientError",
  error: error._tag,
  reason: error.reason,
  ...describeCause(error.cause)
})

const perform = (baseUrl: string, call: Call) =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    if (call.sleepBefore !== undefined) yield* Effect.sleep(call.sleepBefore)
    let request = HttpClientRequest.make(call.method ?? "GET")(`${baseUrl}${call.path}`)
    if (call.idempotencyKey !== undefined) {
      request = HttpClientRequest.setHeader(request, "Idempotency-Key", call.idempotencyKey)
    }
    const exchange = Effect.gen(function*() {
      const response = yield* client.execute(request)
      const headers: Record<string, string> = {}
      for (const [name, value] of Object.entries(response.headers)) {
        if (!socketOnlyHeaders.has(name)) headers[name] = value
      }
      const body = call.read === "json" ? yield* response.json : yield* response.text
      return { _tag: "Response", status: response.status, headers, body } satisfies Outcome as Outcome
    }).pipe(Effect.scoped, Effect.catchAll((error) => Effect.succeed(fromError(error))))
    return yield* call.timeout === undefined ? exchange : exchange.pipe(
      Effect.timeout(call.timeout),
      Effect.catchTag("TimeoutException", () => Effect.succeed<Outcome>({ _tag: "TimeoutException" }))
    )
  })

const projectLog = (log: ReadonlyArray<FaultScript.LoggedRequest>) =>
  log.map((entry) => ({
    method: entry.method,
    path: entry.path,
    route: entry.route,
    attempt: entry.attempt,
    outage: entry.outage,
    fault: entry.fault._tag,
    idempotencyKey: entry.idempotencyKey,
    aborted: entry.aborted,
    finished: entry.finished
  }))

/** Runs the calls against a FaultServer through undici, and against a ScriptedClient, with the same routes. */
const both = (routes: FaultScript.Routes, calls: ReadonlyArray<Call>) =>
  Effect.gen(function*() {
    const runAll = (baseUrl: string) => Effect.forEach(calls, (call) => perform(baseUrl, call))

    const server = yield* FaultServer.make(routes)
    const overSocket = yield* runAll(server.url).pipe(Effect.provide(NodeHttpClient.layerUndici))
    yield* server.awaitIdle
    const serverLog = projectLog(yield* server.requests)

    const scripted = yield* ScriptedClient.make(routes)
    const inMemory = yield* runAll("http://scripted.test").pipe(
      Effect.provideService(HttpClient.HttpClient, scripted.client)
    )
    yield* scripted.awaitIdle
    const scriptedLog = projectLog(yield* scripted.requests)

    expect(inMemory).toEqual(overSocket)
    expect(scriptedLog).toEqual(serverLog)
    return { outcomes: overSocket, log: serverLog }
  })

describe("Parity: ScriptedClient and FaultServer (undici) observe the same outcomes", () => {
  it.scopedLive("status, headers, JSON body and the per-route sequence", () =>
    Effect.gen(function*() {
      const { log, outcomes } = yield* both(
        FaultScript.routes({
          "POST /orders": FaultScript.sequence(
            FaultScript.status(503, { retryAfter: "1", headers: { "x-trace": "t" } }),
            FaultScript.status(429, { rateLimit: { limit: 10, remaining: 0, reset: 3, policy: "10;w=1" } }),
            FaultScript.json({ id: 7 }, { status: 201 })
          )
        }),
        [1, 2, 3].map(() => ({ method: "POST", path: "/orders", read: "json", idempotencyKey: "k-1" }))
      )
      expect(outcomes.map((outcome) => outcome._tag === "Response" && outcome.status)).toEqual([503, 429, 201])
      expect(log.map((entry) => entry.attempt)).toEqual([0, 1, 2])
      expect(log.every((entry) => entry.idempotencyKey === "k-1")).toBe(true)
    }))

  it.scopedLive("latency, slow body, text, oversized body and an unknown route", () =>
    Effect.gen(function*() {
      const { outcomes } = yield* both(
        FaultScript.routes({
          "GET /late": FaultScript.json({ late: true }, { latency: "30 millis" }),
          "GET /slow": FaultScript.withSlowBody(FaultScript.text("y".repeat(60)), 1000),
          "GET /big": FaultScript.oversized(20_000)
        }),
        [{ path: "/late", read: "json" }, { path: "/slow" }, { path: "/big" }, { path: "/missing" }]
      )
      expect(outcomes.map((outcome) => outcome._tag === "Response" && outcome.status)).toEqual([200, 200, 200, 404])
    }))

  it.scopedLive("a reset before headers is a Transport RequestError with ECONNRESET", () =>
    Effect.gen(function*() {
      const { outcomes } = yield* both(
        FaultScript.routes({
          "GET /r": FaultScript.sequence(FaultScript.reset("beforeHeaders"), FaultScript.status(200))
        }),
        [{ path: "/r" }, { path: "/r" }]
      )
      expect(outcomes[0]).toEqual({
        _tag: "HttpClientError",
        error: "RequestError",
        reason: "Transport",
        causeName: "Error",
        causeCode: "ECONNRESET"
      })
    }))

  it.scopedLive("a reset mid-body, a truncated body and malformed JSON fail the body read with Decode (undici: SocketError)", () =>
    Effect.gen(function*() {
      const { outcomes } = yield* both(
        FaultScript.routes({
          "GET /mid": FaultScript.reset("midBody", { afterBytes: 4 }),
          "GET /short": FaultScript.truncated({ missingBytes: 8 }),
          "GET /bad": FaultScript.malformedJson()
        }),
        [{ path: "/mid" }, { path: "/short" }, { path: "/bad", read: "json" }]
      )
      expect(outcomes).toEqual([
        {
          _tag: "HttpClientError",
          error: "ResponseError",
          reason: "Decode",
          causeName: "SocketError",
          causeCode: "UND_ERR_SOCKET"
        },
        {
          _tag: "HttpClientError",
          error: "ResponseError",
          reason: "Decode",
          causeName: "SocketError",
          causeCode: "UND_ERR_SOCKET"
        },
        {
          _tag: "HttpClientError",
          error: "ResponseError",
          reason: "Decode",
          causeName: "SyntaxError",
          causeCode: undefined
        }
      ])
    }))

  it.scopedLive("a hang times out on the client and is logged as aborted", () =>
    Effect.gen(function*() {
      const { log, outcomes } = yield* both(
        FaultScript.routes({ "GET /hang": FaultScript.sequence(FaultScript.hang, FaultScript.status(200)) }),
        [{ path: "/hang", timeout: 80 }, { path: "/hang" }]
      )
      expect(outcomes[0]).toEqual({ _tag: "TimeoutException" })
      expect(log.map((entry) => [entry.aborted, entry.finished])).toEqual([[true, false], [false, true]])
    }))

  it.scopedLive("seeded random scripts and outage windows", () =>
    Effect.gen(function*() {
      const { log } = yield* both(
        FaultScript.routes(
          {
            "GET /flaky": FaultScript.random({
              seed: 9,
              choices: [[0.3, FaultScript.status(503)], [0.1, FaultScript.reset("beforeHeaders")]],
              otherwise: FaultScript.status(200)
            })
          },
          { outages: [FaultScript.outage({ from: 0, to: "400 millis", fault: FaultScript.status(502) })] }
        ),
        [
          { path: "/flaky" },
          ...Array.from({ length: 15 }, (_, i) => ({ path: "/flaky", sleepBefore: i === 0 ? 450 : 0 }))
        ]
      )
      expect(log.map((entry) => entry.outage)).toEqual([true, ...Array.from({ length: 15 }, () => false)])
    }))
})
