import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { describe, expect, it } from "@effect/vitest"
import { Attempt, HttpFailure, Policy } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { FaultScript, FaultServer, ScriptedClient } from "@sturdy/testing"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as TestContext from "effect/TestContext"
import * as Fs from "node:fs"
import * as Http2 from "node:http2"
import * as Https from "node:https"
import type * as Net from "node:net"
import * as Path from "node:path"
import { Agent } from "undici"
import { silentListener } from "../../../test/utils/loopbackServer.js"

const base = "http://api.test"

const causeOf = (error: { readonly cause?: unknown }) =>
  error.cause as { readonly code?: string; readonly name: string }

// A POST or GET sent through `policy` on the scripted client, its status or failure, after a minute of virtual time
const sendVirtual = (
  scripted: ScriptedClient.ScriptedClient,
  policy: Policy.Policy,
  request: HttpClientRequest.HttpClientRequest
) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(
      Policy.send(scripted.client, request).pipe(
        Effect.map((received) => received.response.status),
        Effect.either,
        Effect.provideService(Policy.Policy, policy),
        Effect.withRandom(Random.make(7))
      )
    )
    yield* TestClock.adjust("1 minute")
    return yield* Fiber.join(fiber)
  })

// How many requests of `route` the scripted client saw
const attemptsOnRoute = (scripted: ScriptedClient.ScriptedClient, route: string) =>
  Effect.map(scripted.requests, (log) => log.filter((entry) => entry.route === route).length)

describe("ScriptedClient", () => {
  it.effect("plays a sequence per route and logs the Idempotency-Key", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const statuses: Array<number> = []
      for (let i = 0; i < 4; i++) {
        const response = yield* client.execute(
          HttpClientRequest.post(`${base}/orders`).pipe(HttpClientRequest.setHeader("Idempotency-Key", "key-1"))
        )
        statuses.push(response.status)
      }
      expect(statuses).toEqual([503, 503, 201, 201])
      const log = yield* FaultScript.requests
      expect(log.map((entry) => [entry.method, entry.path, entry.route, entry.attempt, entry.idempotencyKey])).toEqual([
        ["POST", "/orders", "POST /orders", 0, "key-1"],
        ["POST", "/orders", "POST /orders", 1, "key-1"],
        ["POST", "/orders", "POST /orders", 2, "key-1"],
        ["POST", "/orders", "POST /orders", 3, "key-1"]
      ])
      expect(log.every((entry) => entry.finished && !entry.aborted && entry.arrivedAt === 0)).toBe(true)
    }).pipe(Effect.provide(ScriptedClient.layer(FaultScript.routes({
      "POST /orders": FaultScript.sequence(
        FaultScript.status(503, { retryAfter: "1" }),
        FaultScript.status(503),
        FaultScript.json({ id: 7 }, { status: 201 })
      )
    })))))

  it.effect("returns headers, JSON and a Retry-After date computed on the TestClock", () =>
    Effect.gen(function*() {
      yield* TestClock.adjust("10 seconds")
      const client = yield* HttpClient.HttpClient
      const limited = yield* client.get(`${base}/limited`)
      expect(limited.status).toBe(429)
      expect(limited.headers["retry-after"]).toBe(new Date(40_000).toUTCString())
      expect(limited.headers["ratelimit-remaining"]).toBe("0")
      const items = yield* client.get(`${base}/items?page=2`)
      expect(items.headers["content-type"]).toBe("application/json")
      expect(yield* items.json).toEqual({ items: [1, 2] })
      const log = yield* FaultScript.requests
      expect(log.map((entry) => [entry.path, entry.arrivedAt, entry.sinceStart])).toEqual([
        ["/limited", 10_000, 10_000],
        ["/items?page=2", 10_000, 10_000]
      ])
    }).pipe(Effect.provide(ScriptedClient.layer(FaultScript.routes({
      "GET /limited": FaultScript.status(429, {
        retryAfter: { _tag: "RelativeDate", seconds: 30 },
        rateLimit: { limit: 10, remaining: 0, reset: 30 }
      }),
      "GET /items": FaultScript.json({ items: [1, 2] })
    })))))

  it.effect("waits the latency on the Clock before headers", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const fiber = yield* Effect.fork(client.get(`${base}/late`))
      yield* TestClock.adjust("249 millis")
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      expect((yield* FaultScript.inFlight).current).toBe(1)
      yield* TestClock.adjust("1 millis")
      const response = yield* Fiber.join(fiber)
      expect(response.status).toBe(200)
      expect(yield* FaultScript.inFlight).toEqual({ current: 0, max: 1 })
    }).pipe(Effect.provide(ScriptedClient.layer(FaultScript.routes({
      "GET /late": FaultScript.status(200, { latency: "250 millis" })
    })))))

  it.effect("paces a slow body at the given bytes per second", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const response = yield* client.get(`${base}/slow`)
      const fiber = yield* Effect.fork(response.text)
      yield* TestClock.adjust("990 millis")
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* TestClock.adjust("10 millis")
      expect(yield* Fiber.join(fiber)).toBe("x".repeat(1000))
    }).pipe(Effect.provide(ScriptedClient.layer(FaultScript.routes({
      "GET /slow": FaultScript.withSlowBody(FaultScript.text("x".repeat(1000)), 1000)
    })))))

  it.effect("a reset before headers is a RequestError Transport with an ECONNRESET cause", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const error = yield* Effect.flip(client.get(`${base}/r`))
      expect(error._tag).toBe("RequestError")
      expect(error.reason).toBe("Transport")
      expect(causeOf(error).code).toBe("ECONNRESET")
      const [entry] = yield* FaultScript.requests
      expect([entry.finished, entry.aborted]).toEqual([true, false])
    }).pipe(Effect.provide(ScriptedClient.layer(FaultScript.routes({ "GET /r": FaultScript.reset("beforeHeaders") })))))

  it.effect("a reset mid-body delivers headers, then fails the body read with undici's SocketError", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const response = yield* client.get(`${base}/r`)
      expect(response.status).toBe(200)
      const error = yield* Effect.flip(response.text)
      expect([error._tag, error.reason]).toEqual(["ResponseError", "Decode"])
      expect(causeOf(error)).toMatchObject({ name: "SocketError", code: "UND_ERR_SOCKET" })
    }).pipe(Effect.provide(ScriptedClient.layer(FaultScript.routes({ "GET /r": FaultScript.reset("midBody") })))))

  it.effect("a reset after the whole body (afterBytes at least its length) reads as complete, as over a socket", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const empty = yield* client.get(`${base}/empty`)
      expect([empty.status, yield* empty.text]).toEqual([503, ""])
      const whole = yield* client.get(`${base}/whole`)
      expect(yield* whole.json).toEqual({ a: 1 })
    }).pipe(Effect.provide(ScriptedClient.layer(FaultScript.routes({
      "GET /empty": FaultScript.withEnding(FaultScript.status(503), { _tag: "ResetMidBody", afterBytes: 0 }),
      "GET /whole": FaultScript.reset("midBody", { body: { a: 1 }, afterBytes: 100 })
    })))))

  it.effect("a truncated body fails the read with undici's SocketError", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const response = yield* client.get(`${base}/t`)
      expect(response.headers["content-length"]).toBe("17")
      const error = yield* Effect.flip(response.json)
      expect([error._tag, error.reason]).toEqual(["ResponseError", "Decode"])
      expect(causeOf(error)).toMatchObject({ name: "SocketError", code: "UND_ERR_SOCKET" })
    }).pipe(Effect.provide(ScriptedClient.layer(FaultScript.routes({
      "GET /t": FaultScript.truncated({ body: { a: 1 }, missingBytes: 10 })
    })))))

  it.effect("a body is read once: read whole it is kept for every later reader, streamed it fails any other", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const whole = yield* client.get(`${base}/r`)
      const unrun = whole.json // built, never run: takes nothing
      expect(unrun).toBeDefined()
      expect(yield* whole.text).toBe("hello")
      // a body read whole streams the same bytes again (the queue it came from is drained: this used to wait for ever)
      expect(yield* Stream.mkString(Stream.decodeText(whole.stream))).toBe("hello")
      expect(yield* whole.text).toBe("hello")
      const streamed = yield* client.get(`${base}/r`)
      expect(yield* Stream.mkString(Stream.decodeText(streamed.stream))).toBe("hello")
      for (const again of [streamed.text, Stream.runDrain(streamed.stream)]) {
        const error = yield* Effect.flip(again)
        expect([error._tag, error.reason, (error.cause as Error).message])
          .toEqual(["ResponseError", "Decode", "Body has already been consumed"])
      }
    }).pipe(Effect.provide(ScriptedClient.layer(FaultScript.routes({ "GET /r": FaultScript.text("hello") })))))

  it.effect("malformed JSON fails json with Decode; an oversized body has exactly the bytes asked for", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const bad = yield* client.get(`${base}/bad`)
      const error = yield* Effect.flip(bad.json)
      expect([error._tag, error.reason, causeOf(error).name]).toEqual(["ResponseError", "Decode", "SyntaxError"])
      const big = yield* client.get(`${base}/big`)
      expect((yield* big.arrayBuffer).byteLength).toBe(50_000)
      expect(big.headers["content-length"]).toBe("50000")
    }).pipe(Effect.provide(ScriptedClient.layer(FaultScript.routes({
      "GET /bad": FaultScript.malformedJson(),
      "GET /big": FaultScript.oversized(50_000)
    })))))

  it.effect("a hang never completes; the client's timeout shows as an abort in the log", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const fiber = yield* Effect.fork(Effect.either(Effect.timeout(client.get(`${base}/hang`), "5 seconds")))
      yield* TestClock.adjust("1 hour")
      const result = yield* Fiber.join(fiber)
      expect(Either.isLeft(result) && result.left._tag).toBe("TimeoutException")
      yield* FaultScript.awaitIdle
      const [entry] = yield* FaultScript.requests
      expect([entry.aborted, entry.finished]).toEqual([true, false])
      expect(yield* FaultScript.inFlight).toEqual({ current: 0, max: 1 })
    }).pipe(Effect.provide(ScriptedClient.layer(FaultScript.routes({ "GET /hang": FaultScript.hang })))))

  it.effect("abandoning a slow body mid-way is logged as an abort", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const response = yield* client.get(`${base}/slow`)
      const fiber = yield* Effect.fork(response.text)
      yield* TestClock.adjust("100 millis")
      yield* Fiber.interrupt(fiber)
      yield* FaultScript.awaitIdle
      const [entry] = yield* FaultScript.requests
      expect(entry.aborted).toBe(true)
    }).pipe(Effect.provide(ScriptedClient.layer(FaultScript.routes({
      "GET /slow": FaultScript.withSlowBody(FaultScript.text("x".repeat(1000)), 1000)
    })))))

  it.effect("counts concurrent requests and resets the log", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const fiber = yield* Effect.fork(Effect.all([1, 2, 3].map(() => client.get(`${base}/slow`)), {
        concurrency: "unbounded"
      }))
      yield* TestClock.adjust("50 millis")
      expect(yield* FaultScript.inFlight).toEqual({ current: 3, max: 3 })
      yield* TestClock.adjust("50 millis")
      expect((yield* Fiber.join(fiber)).map((response) => response.status)).toEqual([200, 200, 200])
      expect(yield* FaultScript.inFlight).toEqual({ current: 0, max: 3 })
      yield* FaultScript.resetLog
      expect(yield* FaultScript.inFlight).toEqual({ current: 0, max: 0 })
      expect(yield* FaultScript.requests).toEqual([])
    }).pipe(Effect.provide(ScriptedClient.layer(FaultScript.routes({
      "GET /slow": FaultScript.status(200, { latency: "100 millis" })
    })))))

  it.effect("outage windows follow the TestClock and leave the route counter alone", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const statusAt = (path: string) => Effect.map(client.get(`${base}${path}`), (response) => response.status)
      const before = yield* statusAt("/items")
      yield* TestClock.adjust("1 second")
      const during = yield* statusAt("/items")
      const other = yield* statusAt("/other")
      yield* TestClock.adjust("2 seconds")
      const after = yield* statusAt("/items")
      expect([before, during, other, after]).toEqual([200, 503, 503, 201])
      const log = yield* FaultScript.requests
      expect(log.map((entry) => [entry.outage, entry.attempt])).toEqual([[false, 0], [true, -1], [true, -1], [
        false,
        1
      ]])
    }).pipe(Effect.provide(ScriptedClient.layer(FaultScript.routes(
      { "GET /items": FaultScript.sequence(FaultScript.status(200), FaultScript.status(201)) },
      { outages: [FaultScript.outage({ from: "1 second", to: "3 seconds", fault: FaultScript.status(503) })] }
    )))))

  it.effect("replaces a route's script at runtime", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const first = yield* client.get(`${base}/items`)
      yield* FaultScript.setScript("GET /items", FaultScript.json({ ok: true }))
      const second = yield* client.get(`${base}/items`)
      expect([first.status, second.status]).toEqual([503, 200])
      expect(yield* second.json).toEqual({ ok: true })
    }).pipe(Effect.provide(ScriptedClient.layer(FaultScript.routes({ "GET /items": FaultScript.status(503) })))))

  it.effect("a seeded random script gives the same statuses as FaultScript.faultAt, run after run", () =>
    Effect.gen(function*() {
      const script = FaultScript.random({
        seed: 42,
        choices: [[0.2, FaultScript.status(503)], [0.1, FaultScript.reset("beforeHeaders")]],
        otherwise: FaultScript.status(200)
      })
      const run = Effect.scoped(Effect.gen(function*() {
        const scripted = yield* ScriptedClient.make(FaultScript.routes({ "GET /flaky": script }))
        const outcomes: Array<string> = []
        for (let i = 0; i < 200; i++) {
          outcomes.push(
            yield* scripted.client.get(`${base}/flaky`).pipe(
              Effect.map((response) => String(response.status)),
              Effect.catchAll((error) => Effect.succeed(error._tag))
            )
          )
        }
        return outcomes
      }))
      const first = yield* run
      expect(yield* run).toEqual(first)
      const expected = Array.from({ length: 200 }, (_, attempt) => {
        const fault = FaultScript.faultAt(script, attempt)
        return fault._tag === "Respond" ? String(fault.status) : "RequestError"
      })
      expect(first).toEqual(expected)
      const failures = first.filter((outcome) => outcome !== "200").length
      expect(failures).toBeGreaterThan(40)
      expect(failures).toBeLessThan(80)
    }))

  it.effect("unmatched requests get the notFound fault", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const response = yield* client.get(`${base}/missing`)
      expect(response.status).toBe(418)
    }).pipe(Effect.provide(ScriptedClient.layer(FaultScript.routes({}, { notFound: FaultScript.status(418) })))))

  it.effect("an oversized body of any size from 1 byte is a JSON document of exactly that many bytes", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      for (let bytes = 1; bytes <= 40; bytes++) {
        yield* FaultScript.setScript("GET /big", FaultScript.oversized(bytes))
        const body = yield* (yield* client.get(`${base}/big`)).arrayBuffer
        expect(body.byteLength).toBe(bytes)
        expect(() => JSON.parse(new TextDecoder().decode(body))).not.toThrow()
      }
    }).pipe(Effect.provide(ScriptedClient.layer(FaultScript.routes({})))))

  it.effect("a hand-written fault with a status HTTP cannot send is answered 500 with the reason", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const response = yield* client.get(`${base}/bad`)
      expect(response.status).toBe(500)
      expect(yield* response.text).toBe("invalid fault script: status 42 is not an integer from 100 to 599")
      const slow = yield* client.get(`${base}/stalled`)
      expect(slow.status).toBe(500)
      expect(yield* slow.text).toContain("bytesPerSecond 0 is not > 0")
    }).pipe(Effect.provide(ScriptedClient.layer(FaultScript.routes({
      "GET /bad": { ...FaultScript.status(200), status: 42 },
      "GET /stalled": { ...FaultScript.json({ a: 1 }), bytesPerSecond: 0 }
    })))))

  it.effect("a 204 or 304 has no body and no Content-Length, whatever the fault says; a HEAD gets a GET's headers only", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      for (const path of ["/no-content", "/not-modified"]) {
        const response = yield* client.get(`${base}${path}`)
        expect(response.headers["content-length"]).toBeUndefined()
        expect(yield* response.text).toBe("")
      }
      const head = yield* client.execute(HttpClientRequest.head(`${base}/cut`))
      expect([head.status, head.headers["content-length"], yield* head.text]).toEqual([200, "27", ""])
    }).pipe(Effect.provide(ScriptedClient.layer(FaultScript.routes({
      "GET /no-content": FaultScript.json({ a: 1 }, { status: 204 }),
      "GET /not-modified": FaultScript.truncated({ status: 304 }),
      "HEAD /cut": FaultScript.reset("midBody", { afterBytes: 3 })
    })))))

  it.effect("a hand-written header HTTP cannot carry, or 1xx status, is answered 500 with the reason; spaces go", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const answers = []
      for (const path of ["/name", "/newline", "/latin1", "/informational"]) {
        const response = yield* client.get(`${base}${path}`)
        answers.push([response.status, yield* response.text])
      }
      expect(answers).toEqual([
        [500, "invalid fault script: header name \"x bad\" is not an HTTP token"],
        [500, "invalid fault script: header x-a has a value HTTP cannot carry: \"a\\nb\""],
        [500, "invalid fault script: header x-a has a value HTTP cannot carry: \"café\""],
        [500, "invalid fault script: status 103 is informational (1xx), not a final response"]
      ])
      const padded = yield* client.get(`${base}/padded`)
      expect(padded.headers["x-a"]).toBe("a  b")
    }).pipe(Effect.provide(ScriptedClient.layer(FaultScript.routes({
      // hand-written literals: the constructors and the schema refuse these
      "GET /name": { ...FaultScript.status(200), headers: { "x bad": "1" } },
      "GET /newline": { ...FaultScript.status(200), headers: { "x-a": "a\nb" } },
      "GET /latin1": { ...FaultScript.status(200), headers: { "x-a": "café" } },
      "GET /informational": { ...FaultScript.status(200), status: 103 },
      "GET /padded": FaultScript.status(200, { headers: { "x-a": " \ta  b " } })
    })))))
})

describe("ScriptedClient: connections that never open", () => {
  const connectCases = [
    [FaultScript.refused(), "Error", "ECONNREFUSED", "connect ECONNREFUSED api.test:80"],
    [FaultScript.dnsFailure(), "Error", "ENOTFOUND", "getaddrinfo ENOTFOUND api.test"],
    [FaultScript.dnsFailure("temporary"), "Error", "EAI_AGAIN", "getaddrinfo EAI_AGAIN api.test"],
    [
      FaultScript.connectTimeout({ latency: "2 seconds" }),
      "ConnectTimeoutError",
      "UND_ERR_CONNECT_TIMEOUT",
      "Connect Timeout Error (attempted address: api.test:80, timeout: 2000ms)"
    ],
    [FaultScript.tlsFailure(), "Error", "DEPTH_ZERO_SELF_SIGNED_CERT", "self-signed certificate"]
  ] as const

  it.effect("each fails the request after its latency with a Transport RequestError and Node's or undici's cause", () =>
    Effect.gen(function*() {
      for (const [fault, name, code, message] of connectCases) {
        const scripted = yield* ScriptedClient.make(
          FaultScript.routes({ "GET /items": FaultScript.withLatency(fault, Math.max(fault.latencyMillis, 250)) })
        )
        const fiber = yield* Effect.fork(Effect.flip(scripted.client.get(`${base}/items`)))
        yield* TestClock.adjust(Math.max(fault.latencyMillis, 250) - 1)
        expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
        expect((yield* scripted.inFlight).current).toBe(1)
        yield* TestClock.adjust(1)
        const error = yield* Fiber.join(fiber)
        expect([error._tag, error.reason]).toEqual(["RequestError", "Transport"])
        const cause = error.cause as Error & { readonly code?: string }
        expect(cause).toBeInstanceOf(Error)
        // the connect timeout's message names the latency it was scripted with, as undici names its timeout
        expect([cause.name, cause.code, cause.message]).toEqual([name, code, message])
        const [entry] = yield* scripted.requests
        expect([entry.attempt, entry.fault._tag, entry.finished, entry.aborted]).toEqual([
          0,
          "ConnectFailure",
          true,
          false
        ])
      }
    }).pipe(Effect.scoped))

  it.effect("the cause names the URL's host and port as Node names the address it tried", () =>
    Effect.gen(function*() {
      const refused = FaultScript.refused()
      const cause = (url: string) =>
        ScriptedClient.connectFailed(refused, url) as Error & { readonly address?: string; readonly port?: number }
      expect([cause("http://127.0.0.1:8080/a").message, cause("http://127.0.0.1:8080/a").port]).toEqual([
        "connect ECONNREFUSED 127.0.0.1:8080",
        8080
      ])
      expect(cause("https://api.test/").message).toBe("connect ECONNREFUSED api.test:443")
      expect([cause("http://[::1]:9/").message, cause("http://[::1]:9/").address]).toEqual([
        "connect ECONNREFUSED ::1:9",
        "::1"
      ])
      expect(ScriptedClient.connectFailed(FaultScript.dnsFailure(), new URL("http://x.test:81/"))).toMatchObject({
        code: "ENOTFOUND",
        syscall: "getaddrinfo",
        hostname: "x.test"
      })
    }))

  it.effect("a connect failure takes its step of the script: the counter advances and the log records it", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const outcomes: Array<string> = []
      for (let i = 0; i < 4; i++) {
        // the fourth request falls in the outage window
        if (i === 3) yield* TestClock.adjust("1 second")
        outcomes.push(
          yield* client.execute(HttpClientRequest.post(`${base}/orders`)).pipe(
            Effect.map((response) => String(response.status)),
            Effect.catchAll((error) => Effect.succeed(String((error.cause as { readonly code?: string }).code)))
          )
        )
      }
      expect(outcomes).toEqual(["ECONNREFUSED", "ENOTFOUND", "201", "UND_ERR_CONNECT_TIMEOUT"])
      const log = yield* FaultScript.requests
      expect(log.map((entry) => [entry.attempt, entry.outage, entry.fault._tag, entry.finished])).toEqual([
        [0, false, "ConnectFailure", true],
        [1, false, "ConnectFailure", true],
        [2, false, "Respond", true],
        [-1, true, "ConnectFailure", true]
      ])
    }).pipe(Effect.provide(ScriptedClient.layer(FaultScript.routes(
      {
        "POST /orders": FaultScript.sequence(
          FaultScript.refused(),
          FaultScript.dnsFailure(),
          FaultScript.status(201),
          FaultScript.status(202)
        )
      },
      { outages: [FaultScript.outage({ from: "1 second", to: "2 seconds", fault: FaultScript.connectTimeout() })] }
    )))))

  it.effect("a client that gives up before the failure arrives is logged as an abort", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const result = yield* Effect.fork(Effect.either(Effect.timeout(client.get(`${base}/slow`), "1 second")))
      yield* TestClock.adjust("1 second")
      const outcome = yield* Fiber.join(result)
      expect(Either.isLeft(outcome) && outcome.left._tag).toBe("TimeoutException")
      yield* FaultScript.awaitIdle
      const [entry] = yield* FaultScript.requests
      expect([entry.aborted, entry.finished]).toEqual([true, false])
    }).pipe(Effect.provide(ScriptedClient.layer(FaultScript.routes({
      "GET /slow": FaultScript.connectTimeout({ latency: "10 seconds" })
    })))))
})

// -----------------------------------------------------------------------------
// the same failures on the real transports, provoked on 127.0.0.1
// -----------------------------------------------------------------------------

// The repository's self-signed certificate for 127.0.0.1 (test/fixtures/README.md): a client that does not trust it
// fails the handshake.
const fixtures = Path.join(import.meta.dirname, "..", "..", "..", "test", "fixtures")

/** What a transport's error is made of: the cause's own fields, and how `HttpFailure` classifies the error. */
const anatomy = (error: HttpClientError.HttpClientError) =>
  Effect.gen(function*() {
    const cause = error.cause as Error & Record<string, unknown>
    const failure = yield* Effect.flip(Attempt.fromClientError(error))
    return {
      error: [error._tag, error.reason],
      cause: {
        isError: cause instanceof Error,
        name: cause.name,
        message: cause.message,
        fields: Object.fromEntries(
          Object.keys(cause).filter((key) => key !== "name" && key !== "message").map((key) => [key, cause[key]])
        )
      },
      classified: {
        tag: failure._tag,
        reason: failure._tag === "ConnectionError" ? failure.reason : undefined,
        isTransient: HttpFailure.isTransient(failure),
        mayHaveReachedServer: HttpFailure.mayHaveReachedServer(failure),
        isRetryableByDefault: HttpFailure.isRetryableByDefault(failure),
        cause: failure._tag === "ConnectionError" ? failure.cause : undefined,
        message: failure.message
      }
    }
  })

/** The error `client` fails a GET of `url` with. */
const failureOf = (client: HttpClient.HttpClient, url: string) => Effect.flip(Effect.scoped(client.get(url)))

/** The error a ScriptedClient playing `fault` fails the same GET with. */
const scriptedFailureOf = (fault: FaultScript.ConnectFailure, url: string) =>
  Effect.gen(function*() {
    const scripted = yield* ScriptedClient.make(FaultScript.routes({}, { notFound: fault }))
    const fiber = yield* Effect.fork(failureOf(scripted.client, url))
    yield* TestClock.adjust(fault.latencyMillis)
    return yield* Fiber.join(fiber)
  }).pipe(Effect.scoped, Effect.provide(TestContext.TestContext))

const agent = (options: ConstructorParameters<typeof Agent>[0]) =>
  Effect.acquireRelease(Effect.sync(() => new Agent(options)), (dispatcher) => Effect.promise(() => dispatcher.close()))

/** `@effect/platform-node`'s `layerUndici` and `@sturdy/node`'s `UndiciHttpClient`, each on its own dispatcher. */
const realClients = Effect.gen(function*() {
  const platform = Context.get(yield* Layer.build(NodeHttpClient.layerUndici), HttpClient.HttpClient)
  const sturdy = Context.get(yield* Layer.build(UndiciHttpClient.layer({})), HttpClient.HttpClient)
  return [["layerUndici", platform], ["UndiciHttpClient", sturdy]] as const
})

/** Both real transports fail `url` exactly as the ScriptedClient playing `fault` does. */
const expectSameAsReal = (
  fault: FaultScript.ConnectFailure,
  url: string,
  clients: ReadonlyArray<readonly [string, HttpClient.HttpClient]>
) =>
  Effect.gen(function*() {
    const scripted = yield* anatomy(yield* scriptedFailureOf(fault, url))
    const real = yield* Effect.forEach(
      clients,
      ([name, client]) => Effect.map(Effect.flatMap(failureOf(client, url), anatomy), (seen) => [name, seen] as const),
      { concurrency: "unbounded" }
    )
    for (const [name, seen] of real) expect({ transport: name, ...scripted }).toEqual({ transport: name, ...seen })
    return scripted.classified
  })

const listen = (server: Net.Server) =>
  Effect.acquireRelease(
    Effect.async<number>((resume) => {
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed((server.address() as Net.AddressInfo).port)))
    }),
    () => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
  )

describe("ScriptedClient's connect failures are the real transports' (Node 20, undici, 127.0.0.1 only)", () => {
  it.scopedLive("refused: a port nothing listens on", () =>
    Effect.gen(function*() {
      const url = `${yield* FaultServer.refusedUrl}/items`
      const classified = yield* expectSameAsReal(FaultScript.refused(), url, yield* realClients)
      expect(classified).toMatchObject({ tag: "ConnectionError", reason: "Refused", isTransient: true })
      expect(classified.mayHaveReachedServer).toBe(false)
    }))

  it.scopedLive("TLS: a server whose self-signed certificate the client does not trust", () =>
    Effect.gen(function*() {
      const server = Https.createServer({
        cert: Fs.readFileSync(Path.join(fixtures, "loopback-cert.pem")),
        key: Fs.readFileSync(Path.join(fixtures, "loopback-key.pem"))
      }, (_, response) => response.end("never reached"))
      server.on("tlsClientError", () => undefined)
      const port = yield* listen(server)
      const classified = yield* expectSameAsReal(
        FaultScript.tlsFailure(),
        `https://127.0.0.1:${port}/items`,
        yield* realClients
      )
      expect(classified).toMatchObject({ tag: "ConnectionError", reason: "Tls", isTransient: false })
      expect(classified.mayHaveReachedServer).toBe(false)
    }))

  it.scopedLive("connect timeout: undici's own timer, on a TLS handshake a 127.0.0.1 listener never answers", () =>
    Effect.gen(function*() {
      // TCP connects, but nothing answers the ClientHello: undici's connect timeout (TCP and TLS) fires
      const port = yield* silentListener()
      const dispatcher = yield* agent({ connect: { timeout: 40 } })
      const classified = yield* expectSameAsReal(
        FaultScript.connectTimeout({ latency: 40 }),
        `https://127.0.0.1:${port}/items`,
        [["layerUndici", NodeHttpClient.makeUndici(dispatcher)], [
          "UndiciHttpClient",
          UndiciHttpClient.make(dispatcher)
        ]]
      )
      expect(classified).toMatchObject({ tag: "ConnectionError", reason: "ConnectTimeout", isTransient: true })
      expect(classified.mayHaveReachedServer).toBe(false)
    }))

  it.scopedLive("DNS: a lookup that fails as getaddrinfo reports ENOTFOUND and EAI_AGAIN (no resolver asked)", () =>
    Effect.gen(function*() {
      // Node's documented getaddrinfo error (errno UV_EAI_NONAME / UV_EAI_AGAIN, code, syscall, hostname), handed to
      // undici's connector by the lookup it calls; nothing leaves the process
      for (
        const [fault, code, errno] of [
          [FaultScript.dnsFailure(), "ENOTFOUND", -3008],
          [FaultScript.dnsFailure("temporary"), "EAI_AGAIN", -3001]
        ] as const
      ) {
        const dispatcher = yield* agent({
          connect: {
            lookup: ((hostname: string, _: unknown, callback: (error: Error) => void) =>
              process.nextTick(() =>
                callback(Object.assign(new Error(`getaddrinfo ${code} ${hostname}`), {
                  errno,
                  code,
                  syscall: "getaddrinfo",
                  hostname
                }))
              )) as never
          }
        })
        const classified = yield* expectSameAsReal(fault, "http://nowhere.test/items", [
          ["layerUndici", NodeHttpClient.makeUndici(dispatcher)],
          ["UndiciHttpClient", UndiciHttpClient.make(dispatcher)]
        ])
        expect(classified).toMatchObject({ tag: "ConnectionError", reason: "DnsLookup", isTransient: true })
        expect(classified.mayHaveReachedServer).toBe(false)
      }
    }))
})

// -----------------------------------------------------------------------------
// through Policy, in virtual time
// -----------------------------------------------------------------------------

describe("ScriptedClient connect failures through Policy (TestClock)", () => {
  it.scoped("a POST is retried after Refused and ConnectTimeout, not after a Reset; TLS is not; what the breaker counts", () =>
    Effect.gen(function*() {
      const scripted = yield* ScriptedClient.make(FaultScript.routes({
        "POST /recovers": FaultScript.sequence(
          FaultScript.refused(),
          FaultScript.connectTimeout({ latency: "3 seconds" }),
          FaultScript.json({ id: 1 }, { status: 201 })
        ),
        "POST /down": FaultScript.refused({ latency: "5 millis" }),
        "POST /timeouts": FaultScript.connectTimeout({ latency: "3 seconds" }),
        "POST /unknown-host": FaultScript.dnsFailure("temporary"),
        "POST /reset": FaultScript.sequence(FaultScript.reset("beforeHeaders"), FaultScript.status(201)),
        "POST /tls": FaultScript.sequence(FaultScript.tlsFailure(), FaultScript.status(201))
      }))
      const policy = yield* Policy.make()
      const post = (path: string) =>
        Policy.send(scripted.client, HttpClientRequest.post(`${base}${path}`)).pipe(
          Effect.map((received) => received.response.status),
          Effect.either,
          Effect.provideService(Policy.Policy, policy),
          Effect.withRandom(Random.make(7))
        )
      const attemptsOn = (route: string) =>
        Effect.map(scripted.requests, (log) => log.filter((entry) => entry.route === route).length)
      const run = (path: string) =>
        Effect.gen(function*() {
          const fiber = yield* Effect.fork(post(path))
          yield* TestClock.adjust("1 minute")
          return yield* Fiber.join(fiber)
        })

      // unsent: retried, even a POST, until the third attempt succeeds
      expect(yield* run("/recovers")).toEqual(Either.right(201))
      expect(yield* attemptsOn("POST /recovers")).toBe(3)

      const failed = (outcome: Either.Either<number, Policy.Failure>) => {
        if (Either.isRight(outcome)) throw new Error(`expected a failure, got ${outcome.right}`)
        const failure = outcome.left
        return {
          tag: failure._tag,
          reason: failure._tag === "ConnectionError" ? failure.reason : undefined,
          attempts: Policy.attemptsOf(failure),
          // what the breaker makes of it by default: a failing upstream, or nothing against it
          counts: Policy.countsAgainstUpstream(failure)
        }
      }
      const connection = (reason: string, attempts: number, counts: boolean) => ({
        tag: "ConnectionError",
        reason,
        attempts,
        counts
      })
      // unsent every time: all the policy's attempts (3 by default), then the last failure
      expect(failed(yield* run("/down"))).toEqual(connection("Refused", 3, true))
      expect(failed(yield* run("/timeouts"))).toEqual(connection("ConnectTimeout", 3, true))
      // a lookup that failed never reached the upstream: retried, but not held against it
      expect(failed(yield* run("/unknown-host"))).toEqual(connection("DnsLookup", 3, false))
      // a reset may have reached the server: a POST without an Idempotency-Key is not repeated
      expect(failed(yield* run("/reset"))).toEqual(connection("Reset", 1, true))
      // a certificate the client refuses is configuration: not retried, whatever the method, nor counted
      expect(failed(yield* run("/tls"))).toEqual(connection("Tls", 1, false))
      expect([
        yield* attemptsOn("POST /down"),
        yield* attemptsOn("POST /timeouts"),
        yield* attemptsOn("POST /unknown-host"),
        yield* attemptsOn("POST /reset"),
        yield* attemptsOn("POST /tls")
      ]).toEqual([3, 3, 3, 1, 1])
    }))

  it.scoped("a connection that opens slower than the attempt timeout: Timeout, never sent, so a POST is retried", () =>
    Effect.gen(function*() {
      const scripted = yield* ScriptedClient.make(FaultScript.routes({
        // the connect timeout (15 s) is longer than the attempt's (1 s): the attempt times out while connecting
        "POST /slow-connect": FaultScript.sequence(
          FaultScript.connectTimeout({ latency: "15 seconds" }),
          FaultScript.json({ id: 1 }, { status: 201 })
        ),
        "POST /down": FaultScript.connectTimeout({ latency: "15 seconds" }),
        // an open connection whose server never answers: the request was written
        "POST /hang": FaultScript.hang
      }))
      const policy = yield* Policy.make({ attemptTimeout: "1 second", circuitBreaker: false })
      const run = (path: string) => sendVirtual(scripted, policy, HttpClientRequest.post(`${base}${path}`))
      const attemptsOn = (route: string) => attemptsOnRoute(scripted, route)

      expect(yield* run("/slow-connect")).toEqual(Either.right(201))
      expect(yield* attemptsOn("POST /slow-connect")).toBe(2)
      const down = yield* run("/down")
      expect(Either.isLeft(down) && down.left).toMatchObject({
        _tag: "Timeout",
        phase: "Attempt",
        requestSent: false,
        attempts: 3
      })
      const hang = yield* run("/hang")
      expect(Either.isLeft(hang) && hang.left).toMatchObject({ _tag: "Timeout", phase: "Attempt", attempts: 1 })
      expect(Either.isLeft(hang) && "requestSent" in hang.left).toBe(false)
      expect(yield* attemptsOn("POST /hang")).toBe(1)
    }))

  it.scoped("an attempt whose first request was written is not unsent because a later one never connects", () =>
    Effect.gen(function*() {
      const scripted = yield* ScriptedClient.make(FaultScript.routes({
        "GET /token": FaultScript.json({ token: "t" }),
        "POST /orders": FaultScript.connectTimeout({ latency: "15 seconds" })
      }))
      const policy = yield* Policy.make({ retry: false, attemptTimeout: "1 second", circuitBreaker: false })
      const run = (send: Effect.Effect<unknown, HttpFailure.HttpFailure>) =>
        Effect.gen(function*() {
          const fiber = yield* Effect.fork(
            Effect.flip(policy.run(HttpClientRequest.post(`${base}/orders`), () => send))
          )
          yield* TestClock.adjust("1 minute")
          return yield* Fiber.join(fiber)
        })
      const orders = Attempt.send(scripted.client, HttpClientRequest.post(`${base}/orders`))
      // alone, the POST never left
      expect(yield* run(orders)).toMatchObject({ _tag: "Timeout", requestSent: false })
      // after a request that was written, in the same attempt, it may have reached a server
      const afterToken = yield* run(
        Effect.zipRight(Attempt.send(scripted.client, HttpClientRequest.get(`${base}/token`)), orders)
      )
      expect(afterToken).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect("requestSent" in afterToken).toBe(false)
    }))
})

// -----------------------------------------------------------------------------
// HTTP/2 streams the server resets (StreamReset)
// -----------------------------------------------------------------------------

/** The cause code each RFC 9113 code gives through `@sturdy/node`'s transport (see `FaultScript.StreamReset`). */
const streamCauseCode = (code: FaultScript.Http2ErrorCode): string =>
  code === "NO_ERROR" || code === "CANCEL"
    ? "UND_ERR_INFO"
    : `NGHTTP2_${code}`

/** The `requestSent` mark on a `RequestError`, as `Object.getOwnPropertyDescriptor` gives it (`undefined`: none). */
const unsentMark = (error: object) => Object.getOwnPropertyDescriptor(error, "requestSent")

describe("ScriptedClient: HTTP/2 streams the server resets", () => {
  it.effect("each code fails after its latency with a Transport RequestError; only REFUSED_STREAM is marked unsent", () =>
    Effect.gen(function*() {
      for (const code of FaultScript.Http2ErrorCode.literals) {
        const scripted = yield* ScriptedClient.make(
          FaultScript.routes({ "POST /orders": FaultScript.streamReset(code, { latency: "30 millis" }) })
        )
        const fiber = yield* Effect.fork(Effect.flip(scripted.client.post(`${base}/orders`)))
        yield* TestClock.adjust(29)
        expect(Option.isNone(yield* Fiber.poll(fiber)), code).toBe(true)
        yield* TestClock.adjust(1)
        const error = yield* Fiber.join(fiber)
        expect([error._tag, error.reason], code).toEqual(["RequestError", "Transport"])
        const cause = error.cause as Error & { readonly code?: string; readonly cause?: unknown }
        expect(cause, code).toBeInstanceOf(Error)
        expect(cause.code, code).toBe(streamCauseCode(code))
        expect(unsentMark(error), code).toEqual(
          code === "REFUSED_STREAM"
            ? { value: false, writable: false, enumerable: false, configurable: false }
            : undefined
        )
        const [entry] = yield* scripted.requests
        expect([entry.fault._tag, entry.finished, entry.aborted], code).toEqual(["StreamReset", true, false])
      }
      const refused = yield* Effect.flip(
        Effect.flatMap(
          ScriptedClient.make(FaultScript.routes({}, { notFound: FaultScript.refusedStream() })),
          (scripted) => scripted.client.get(`${base}/x`)
        )
      )
      const cause = refused.cause as Error & { readonly code?: string; readonly cause?: Error & { code?: string } }
      expect([cause.name, cause.code, cause.message]).toEqual([
        "Http2StreamReset",
        "NGHTTP2_REFUSED_STREAM",
        "HTTP/2 stream refused by the server (RST_STREAM NGHTTP2_REFUSED_STREAM): the request was not processed"
      ])
      expect([cause.cause?.name, cause.cause?.code, cause.cause?.message]).toEqual([
        "Error",
        "ERR_HTTP2_STREAM_ERROR",
        "Stream closed with error code NGHTTP2_REFUSED_STREAM"
      ])
    }).pipe(Effect.scoped))

  it.effect("an attempt timeout before the reset arrives: a Timeout that may have reached the server (it was written)", () =>
    Effect.gen(function*() {
      const scripted = yield* ScriptedClient.make(
        FaultScript.routes({ "POST /slow": FaultScript.refusedStream({ latency: "2 seconds" }) })
      )
      const fiber = yield* Effect.fork(
        Effect.flip(Attempt.send(scripted.client, HttpClientRequest.post(`${base}/slow`), { timeout: "1 second" }))
      )
      yield* TestClock.adjust("1 second")
      const failure = yield* Fiber.join(fiber)
      expect(failure._tag).toBe("Timeout")
      expect("requestSent" in failure).toBe(false)
      expect(HttpFailure.mayHaveReachedServer(failure)).toBe(true)
    }).pipe(Effect.scoped))

  it.scoped("through Policy: a POST is retried after refusedStream, not after streamReset; a GET after both", () =>
    Effect.gen(function*() {
      const scripted = yield* ScriptedClient.make(FaultScript.routes({
        "POST /refused": FaultScript.sequence(
          FaultScript.refusedStream(),
          FaultScript.refusedStream({ latency: "5 millis" }),
          FaultScript.json({ id: 1 }, { status: 201 })
        ),
        "POST /reset": FaultScript.sequence(FaultScript.streamReset(), FaultScript.status(201)),
        "GET /reset": FaultScript.sequence(FaultScript.streamReset("PROTOCOL_ERROR"), FaultScript.status(200)),
        "GET /refused": FaultScript.sequence(FaultScript.refusedStream(), FaultScript.status(200))
      }))
      const policy = yield* Policy.make()
      const run = (request: HttpClientRequest.HttpClientRequest) => sendVirtual(scripted, policy, request)
      const attemptsOn = (route: string) => attemptsOnRoute(scripted, route)

      expect(yield* run(HttpClientRequest.post(`${base}/refused`))).toEqual(Either.right(201))
      expect(yield* attemptsOn("POST /refused")).toBe(3)

      const reset = yield* run(HttpClientRequest.post(`${base}/reset`))
      expect(yield* attemptsOn("POST /reset")).toBe(1)
      if (Either.isRight(reset)) throw new Error("expected a failure")
      expect(reset.left).toMatchObject({ _tag: "ConnectionError", reason: "Unknown" })
      expect(Policy.attemptsOf(reset.left)).toBe(1)
      expect(HttpFailure.mayHaveReachedServer(reset.left as HttpFailure.HttpFailure)).toBe(true)

      expect(yield* run(HttpClientRequest.get(`${base}/reset`))).toEqual(Either.right(200))
      expect(yield* attemptsOn("GET /reset")).toBe(2)
      expect(yield* run(HttpClientRequest.get(`${base}/refused`))).toEqual(Either.right(200))
      expect(yield* attemptsOn("GET /refused")).toBe(2)
    }))
})

// -----------------------------------------------------------------------------
// the same stream resets from @sturdy/node's transport (http2: "h2c") and a node:http2 server on 127.0.0.1
// -----------------------------------------------------------------------------

/** A node:http2 h2c server that resets each request's stream with the code `?code=` names (its numeric value). */
const resettingServer = Effect.gen(function*() {
  const seen = new Map<string, number>()
  const server = Http2.createServer((request, response) => {
    const url = new URL(request.url, "http://127.0.0.1")
    const tag = url.searchParams.get("tag") ?? url.pathname
    const count = (seen.get(tag) ?? 0) + 1
    seen.set(tag, count)
    request.resume()
    request.on("end", () => {
      // the first `fail` requests of the tag are reset (all when `fail` is absent), later ones get a 201
      if (count <= Number(url.searchParams.get("fail") ?? Infinity)) {
        request.stream.close(Number(url.searchParams.get("code")))
      } else {
        response.writeHead(201, { "content-type": "application/json" })
        response.end(JSON.stringify({ attempt: count }))
      }
    })
  })
  server.on("session", (session) => session.on("error", () => {}))
  server.on("stream", (stream) => stream.on("error", () => {}))
  const port = yield* listen(server)
  return { base: `http://127.0.0.1:${port}`, seen }
})

/** What a failure is made of after `Attempt.send`: the `RequestError`, its causes, the `HttpFailure` it becomes. */
const streamAnatomy = (error: HttpClientError.HttpClientError) =>
  Effect.gen(function*() {
    const causeOf = (cause: unknown) => {
      if (!(cause instanceof Error)) return undefined
      const fields = cause as Error & Record<string, unknown>
      return {
        name: cause.name,
        message: cause.message,
        fields: Object.fromEntries(Object.keys(fields).map((key) => [key, fields[key]]))
      }
    }
    const failure = yield* Effect.flip(Attempt.fromClientError(error))
    return {
      error: [error._tag, error.reason, error.message],
      requestSent: unsentMark(error),
      cause: causeOf(error.cause),
      causeOfCause: causeOf((error.cause as { readonly cause?: unknown }).cause),
      failure: { ...failure, message: failure.message },
      mayHaveReachedServer: HttpFailure.mayHaveReachedServer(failure),
      isTransient: HttpFailure.isTransient(failure)
    }
  })

describe("ScriptedClient's stream resets are @sturdy/node's over h2c (node:http2 on 127.0.0.1)", () => {
  it.scopedLive("every RFC 9113 code: the same RequestError, mark, causes and HttpFailure for a POST", () =>
    Effect.gen(function*() {
      const server = yield* resettingServer
      const real = Context.get(yield* Layer.build(UndiciHttpClient.layer({ http2: "h2c" })), HttpClient.HttpClient)
      for (const [value, code] of FaultScript.Http2ErrorCode.literals.entries()) {
        // the scripted client is sent to the real server's URL: the messages, which name it, must then be equal
        const url = `${server.base}/orders?code=${value}`
        const seen = yield* streamAnatomy(yield* Effect.flip(Effect.scoped(real.post(url))))
        const scripted = yield* streamAnatomy(
          yield* Effect.flip(Effect.scoped(Effect.flatMap(
            ScriptedClient.make(FaultScript.routes({}, { notFound: FaultScript.streamReset(code) })),
            (client) => client.client.post(url)
          )))
        )
        expect({ code, ...scripted }).toEqual({ code, ...seen })
      }
    }))

  it.scopedLive("through Policy: the same retry decisions (a POST after REFUSED_STREAM, not after INTERNAL_ERROR)", () =>
    Effect.gen(function*() {
      const server = yield* resettingServer
      const real = Context.get(yield* Layer.build(UndiciHttpClient.layer({ http2: "h2c" })), HttpClient.HttpClient)
      const policy = yield* Policy.make({ retry: { baseDelay: "1 millis" } })
      // the outcome of a Policy.json and the number of requests the responder saw
      const outcome = (client: HttpClient.HttpClient, url: string, attempts: Effect.Effect<number>) =>
        Effect.gen(function*() {
          const exit = yield* Effect.either(
            Policy.json(client, HttpClientRequest.post(url), Schema.Unknown).pipe(
              Effect.provideService(Policy.Policy, policy)
            )
          )
          return {
            result: Either.isRight(exit)
              ? { ok: exit.right }
              : {
                failure: exit.left._tag,
                message: exit.left.message,
                attempts: Policy.attemptsOf(exit.left),
                requestSent: "requestSent" in exit.left ? exit.left.requestSent : undefined
              },
            requests: yield* attempts
          }
        })
      const cases = [
        ["REFUSED_STREAM", 7, 2, { ok: { attempt: 3 } }, 3],
        ["INTERNAL_ERROR", 2, 1, undefined, 1],
        ["ENHANCE_YOUR_CALM", 11, 1, undefined, 1]
      ] as const
      for (const [code, value, fail, expected, requests] of cases) {
        const tag = `policy-${code}`
        const url = `${server.base}/orders?code=${value}&fail=${fail}&tag=${tag}`
        const seen = yield* outcome(real, url, Effect.sync(() => server.seen.get(tag) ?? 0))
        const scripted = yield* Effect.gen(function*() {
          const script = FaultScript.sequence(
            FaultScript.streamReset(code),
            ...Array.from({ length: fail - 1 }, () => FaultScript.streamReset(code)),
            FaultScript.json({ attempt: fail + 1 }, { status: 201 })
          )
          const client = yield* ScriptedClient.make(FaultScript.routes({ "POST /orders": script }))
          const fiber = yield* Effect.fork(
            outcome(client.client, url, Effect.map(client.requests, (log) => log.length))
          )
          yield* TestClock.adjust("1 minute")
          return yield* Fiber.join(fiber)
        }).pipe(Effect.scoped, Effect.provide(TestContext.TestContext))
        expect({ code, ...scripted }).toEqual({ code, ...seen })
        expect(seen.requests, code).toBe(requests)
        if (expected !== undefined) expect(seen.result, code).toEqual(expected)
        else expect(seen.result, code).toMatchObject({ failure: "ConnectionError", attempts: 1 })
      }
    }))
})

describe("ScriptedClient: a client inside a caller's mask", () => {
  // the scripted server's fiber was forked by the request and inherited its mask: the client going away (its body
  // read timed out) interrupted it in vain, and a body left open stayed open for ever (and the scope that holds it
  // could not close)
  it.scoped("a body left open ends when the client goes away, even if the request was made under a mask", () =>
    Effect.gen(function*() {
      const scripted = yield* ScriptedClient.make(FaultScript.routes({
        "GET /events": FaultScript.eventStream([{ data: "one" }], { end: "hang" })
      }))
      const fiber = yield* Effect.fork(Effect.uninterruptible(Effect.flip(
        Attempt.send(scripted.client, HttpClientRequest.get(`${base}/events`), { bodyTimeout: "1 second" })
      )))
      yield* TestClock.adjust("1 second")
      const failure = yield* Fiber.join(fiber)
      expect(failure._tag === "Timeout" && failure.phase).toBe("BodyRead")
      yield* Effect.repeatN(Effect.yieldNow(), 30)
      expect((yield* scripted.inFlight).current).toBe(0)
    }))
})
