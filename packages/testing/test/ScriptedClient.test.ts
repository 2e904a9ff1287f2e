import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { describe, expect, it } from "@effect/vitest"
import { FaultScript, ScriptedClient } from "@sturdy/testing"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"

const base = "http://api.test"

const causeOf = (error: { readonly cause?: unknown }) =>
  error.cause as { readonly code?: string; readonly name: string }

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
