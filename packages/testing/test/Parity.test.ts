import { describe, expect, it } from "@effect/vitest"
import { FaultScript } from "@sturdy/testing"
import * as Effect from "effect/Effect"
import { both } from "./utils/parity.js"

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

  it.scopedLive("bodiless answers (204, 304, HEAD), headers HTTP cannot carry and 1xx statuses", () =>
    Effect.gen(function*() {
      const { outcomes } = yield* both(
        FaultScript.routes({
          "GET /no-content": FaultScript.json({ a: 1 }, { status: 204 }),
          "GET /not-modified": FaultScript.truncated({ status: 304 }),
          "/cut": FaultScript.reset("midBody", { afterBytes: 3 }),
          "GET /whole": FaultScript.reset("midBody", { body: { a: 1 }, afterBytes: 100 }),
          // hand-written literals: the constructors and the schema refuse these, the responders answer them 500
          "GET /name": { ...FaultScript.status(200), headers: { "x bad": "1" } },
          "GET /latin1": { ...FaultScript.status(200), headers: { "x-a": "café" } },
          "GET /padded": FaultScript.status(200, { headers: { "x-a": " a " } }),
          "GET /informational": { ...FaultScript.status(200), status: 100 }
        }),
        [
          { path: "/no-content" },
          { path: "/not-modified" },
          { method: "HEAD", path: "/cut" },
          { path: "/whole", read: "json" },
          { path: "/name" },
          { path: "/latin1" },
          { path: "/padded" },
          { path: "/informational", timeout: 5_000 }
        ]
      )
      expect(outcomes.map((outcome) => outcome._tag === "Response" && outcome.status)).toEqual([
        204,
        304,
        200,
        200,
        500,
        500,
        200,
        500
      ])
    }))
})
