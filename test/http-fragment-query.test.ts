import { HttpClient, HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Attempt, Policy, SturdyClient } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { FaultScript, FaultServer } from "@sturdy/testing"
import { Effect, Schema, type Scope } from "effect"
import * as Net from "node:net"
import { transports } from "./utils/transports.js"

/** A raw TCP server on 127.0.0.1 that records each request line as it came off the wire and answers `{}`. */
const rawServer: Effect.Effect<{ readonly url: string; readonly lines: ReadonlyArray<string> }, never, Scope.Scope> =
  Effect.acquireRelease(
    Effect.async<{ server: Net.Server; url: string; lines: Array<string> }>((resume) => {
      const lines: Array<string> = []
      const server = Net.createServer((socket) => {
        let received = ""
        socket.on("data", (chunk: Buffer) => {
          received += chunk.toString("latin1")
          const end = received.indexOf("\r\n\r\n")
          if (end === -1) return
          lines.push(received.slice(0, received.indexOf("\r\n")))
          received = ""
          socket.end(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}"
          )
        })
        socket.on("error", () => {})
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as Net.AddressInfo
        resume(Effect.succeed({ server, url: `http://127.0.0.1:${port}`, lines }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.close(() => resume(Effect.void))
      })
  )

const Empty = Schema.Struct({})

describe.each(transports)("a URL fragment is never sent, over %s", (_, transport) => {
  it.scopedLive("SturdyClient (with and without a policy) and Attempt send the request line without the fragment", () =>
    Effect.gen(function*() {
      const server = yield* rawServer
      const client = yield* HttpClient.HttpClient
      const sturdy = SturdyClient.makeWith(client, { baseUrl: server.url })
      yield* sturdy.get("/cb#access_token=s3cr3t", { schema: Empty })
      yield* sturdy.get("/cb?state=1#access_token=s3cr3t")
      const api = SturdyClient.makeWith(client, { baseUrl: server.url, policy: yield* Policy.make({ retry: false }) })
      yield* api.get("/policy#access_token=s3cr3t", { schema: Empty })
      yield* Attempt.json(client, HttpClientRequest.get(`${server.url}/attempt#s3cr3t`), Empty)
      yield* Attempt.send(client, HttpClientRequest.get(`${server.url}/hash`).pipe(HttpClientRequest.setHash("s3cr3t")))
      expect(server.lines).toEqual([
        "GET /cb HTTP/1.1",
        "GET /cb?state=1 HTTP/1.1",
        "GET /policy HTTP/1.1",
        "GET /attempt HTTP/1.1",
        "GET /hash HTTP/1.1"
      ])
    }).pipe(Effect.provide(transport)))
})

describe("@sturdy/node's UndiciHttpClient drops the fragment itself", () => {
  it.scopedLive("a request executed on the bare client goes out without its fragment", () =>
    Effect.gen(function*() {
      const server = yield* rawServer
      const client = yield* HttpClient.HttpClient
      yield* Effect.scoped(client.get(`${server.url}/bare?x=1#access_token=s3cr3t`))
      yield* Effect.scoped(
        client.execute(HttpClientRequest.get(`${server.url}/set`).pipe(HttpClientRequest.setHash("s3cr3t")))
      )
      expect(server.lines).toEqual(["GET /bare?x=1 HTTP/1.1", "GET /set HTTP/1.1"])
    }).pipe(Effect.provide(UndiciHttpClient.layer())))
})

describe("QUERY is safe and idempotent, like GET (undici transports)", () => {
  const Result = Schema.Struct({ hits: Schema.Number })
  for (const [name, transport] of transports.filter(([name]) => name.includes("ndici"))) {
    it.scopedLive(`a QUERY with a body is retried after a 503, on ${name}`, () =>
      Effect.gen(function*() {
        const server = yield* FaultServer.make(FaultScript.routes({
          "QUERY /search": FaultScript.sequence(FaultScript.status(503), FaultScript.json({ hits: 3 }))
        }))
        const policy = yield* Policy.make({ retry: { maxAttempts: 2, baseDelay: "5 millis", budget: false } })
        const api = SturdyClient.makeWith(yield* HttpClient.HttpClient, { baseUrl: server.url, policy })
        const request = HttpClientRequest.make("QUERY" as "GET")("/search")
        expect(yield* api.execute(request, { body: { q: "ada" }, schema: Result })).toEqual({ hits: 3 })
        expect((yield* server.requests).map((r) => [r.method, r.attempt])).toEqual([["QUERY", 0], ["QUERY", 1]])
      }).pipe(Effect.provide(transport)))
  }
})
