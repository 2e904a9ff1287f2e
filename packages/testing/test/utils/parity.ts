// Shared by Parity.test.ts and prop-Parity.test.ts: perform calls with a plain @effect/platform client against a
// FaultServer (through undici) and a ScriptedClient, and project what each observes onto comparable data.
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { expect } from "@effect/vitest"
import type { FaultScript } from "@sturdy/testing"
import { FaultServer, ScriptedClient } from "@sturdy/testing"
import * as Effect from "effect/Effect"

/** What a plain @effect/platform client observes, minus what only a real socket adds (date, connection). */
export type Outcome =
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

export interface Call {
  readonly method?: "GET" | "POST" | "PUT" | "DELETE" | "HEAD"
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

export const perform = (baseUrl: string, call: Call) =>
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

export const projectLog = (log: ReadonlyArray<FaultScript.LoggedRequest>) =>
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

/** Runs the calls against a FaultServer through undici, then against a ScriptedClient, with the same routes. */
export const runBoth = (routes: FaultScript.Routes, calls: ReadonlyArray<Call>) =>
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
    return { overSocket, inMemory, serverLog, scriptedLog }
  })

/** `runBoth`, asserting that both observe the same outcomes and log the same requests. */
export const both = (routes: FaultScript.Routes, calls: ReadonlyArray<Call>) =>
  Effect.map(runBoth(routes, calls), ({ inMemory, overSocket, scriptedLog, serverLog }) => {
    expect(inMemory).toEqual(overSocket)
    expect(scriptedLog).toEqual(serverLog)
    return { outcomes: overSocket, log: serverLog }
  })
