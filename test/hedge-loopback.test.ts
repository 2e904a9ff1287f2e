import { HttpClient, HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Attempt } from "@sturdy/http"
import { Hedge, RetryBudget } from "@sturdy/policy"
import { FaultScript, FaultServer } from "@sturdy/testing"
import { Duration, Effect, FiberRef, Schema } from "effect"
import { transports } from "./utils/transports.js"

const Hit = Schema.Struct({ from: Schema.String })

const search = (server: FaultServer.FaultServer) =>
  Effect.flatMap(
    HttpClient.HttpClient,
    (client) =>
      Attempt.json(client, HttpClientRequest.get(`${server.url}/search?q=effect`), Hit, { timeout: "5 seconds" })
  )

describe.each(transports)("Hedge against a loopback FaultServer over %s", (_, transport) => {
  it.scopedLive("a slow first request loses to the hedge, and the server sees its connection aborted", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.make(FaultScript.routes({
        "GET /search": FaultScript.sequence(
          FaultScript.json({ from: "primary" }, { latency: "3 seconds" }),
          FaultScript.json({ from: "hedge" })
        )
      }))
      const indexes: Array<number> = []
      const attempt = Effect.zipRight(
        Effect.flatMap(FiberRef.get(Hedge.currentIndex), (index) => Effect.sync(() => indexes.push(index))),
        search(server)
      )
      const started = Date.now()
      const hedges: Array<Hedge.HedgeEvent> = []
      const hit = yield* attempt.pipe(
        Hedge.hedge({ delay: "100 millis", onHedge: (event) => Effect.sync(() => hedges.push(event)) })
      )
      const elapsed = Date.now() - started

      expect(hit).toEqual({ from: "hedge" })
      expect(indexes).toEqual([0, 1])
      expect(elapsed).toBeLessThan(2000)
      // The loser was interrupted before `hedge` returned; the server notices the closed connection a moment later.
      yield* server.awaitIdle.pipe(Effect.timeout("2 seconds"))
      const requests = yield* server.requests
      expect(requests.map((request) => request.attempt)).toEqual([0, 1])
      expect(requests[0]!.aborted).toBe(true)
      expect(requests[0]!.finished).toBe(false)
      expect(requests[1]!.aborted).toBe(false)
      expect(requests[1]!.finished).toBe(true)
      expect(hedges.map((event) => [event.index, event.trigger])).toEqual([[1, "delay"]])
      expect(Duration.toMillis(hedges[0]!.elapsed)).toBeGreaterThanOrEqual(100)
    }).pipe(Effect.provide(transport)))

  it.scopedLive("a fast first answer sends no hedge", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.make(
        FaultScript.routes({ "GET /search": FaultScript.json({ from: "primary" }) })
      )
      expect(yield* search(server).pipe(Hedge.hedge({ delay: "500 millis" }))).toEqual({ from: "primary" })
      expect((yield* server.requests).length).toBe(1)
    }).pipe(Effect.provide(transport)))

  it.scopedLive("a budget that refuses means no hedge: the slow request is waited for", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.make(FaultScript.routes({
        "GET /search": FaultScript.json({ from: "primary" }, { latency: "300 millis" })
      }))
      const hit = yield* search(server).pipe(
        Hedge.hedge({ delay: "50 millis", budgetKey: "search" }),
        Effect.provide(RetryBudget.layer({ ratio: 0, minRetries: 0 }))
      )
      expect(hit).toEqual({ from: "primary" })
      const requests = yield* server.requests
      expect(requests.length).toBe(1)
      expect(requests[0]!.aborted).toBe(false)
    }).pipe(Effect.provide(transport)))
})
