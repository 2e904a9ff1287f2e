import { describe, expect, it } from "@effect/vitest"
import { FaultScript, FaultServer } from "@sturdy/testing"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Http from "node:http"

interface Observed {
  readonly status?: number
  readonly headers?: Http.IncomingHttpHeaders
  readonly body: string
  readonly complete: boolean
  readonly error?: string
  readonly elapsedMillis: number
}

/** A plain node:http client: what a user of any HTTP stack would see on the wire. */
const send = (
  url: string,
  options: { readonly method?: string; readonly headers?: Record<string, string> } = {}
) =>
  Effect.async<Observed>((resume) => {
    const started = Date.now()
    let status: number | undefined
    let headers: Http.IncomingHttpHeaders | undefined
    const chunks: Array<Buffer> = []
    let settled = false
    const done = (complete: boolean, error?: string) => {
      if (settled) return
      settled = true
      resume(Effect.succeed({
        ...(status !== undefined ? { status } : {}),
        ...(headers !== undefined ? { headers } : {}),
        body: Buffer.concat(chunks).toString("utf8"),
        complete,
        ...(error !== undefined ? { error } : {}),
        elapsedMillis: Date.now() - started
      }))
    }
    const request = Http.request(
      url,
      { method: options.method ?? "GET", headers: options.headers, agent: false },
      (res) => {
        status = res.statusCode
        headers = res.headers
        res.on("data", (chunk: Buffer) => chunks.push(chunk))
        res.on("end", () => done(true))
        res.on("error", (error: NodeJS.ErrnoException) => done(false, error.code ?? error.message))
        res.on("aborted", () => done(false, "aborted"))
      }
    )
    request.on("error", (error: NodeJS.ErrnoException) => done(false, error.code ?? error.message))
    request.end()
    return Effect.sync(() => request.destroy())
  })

describe("FaultServer", () => {
  it.scopedLive("plays a sequence per route and logs each request with its Idempotency-Key", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.make(FaultScript.routes({
        "POST /orders": FaultScript.sequence(
          FaultScript.status(503, { retryAfter: "1" }),
          FaultScript.status(503, { retryAfter: "2" }),
          FaultScript.json({ id: 7 }, { status: 201 })
        ),
        "GET /health": FaultScript.status(204)
      }))
      const results: Array<Observed> = []
      for (let i = 0; i < 4; i++) {
        results.push(
          yield* send(`${server.url}/orders?n=${i}`, { method: "POST", headers: { "Idempotency-Key": "key-1" } })
        )
      }
      const health = yield* send(`${server.url}/health`)
      expect(results.map((result) => result.status)).toEqual([503, 503, 201, 201])
      expect(results[0].headers?.["retry-after"]).toBe("1")
      expect(results[1].headers?.["retry-after"]).toBe("2")
      expect(JSON.parse(results[2].body)).toEqual({ id: 7 })
      expect(results[2].headers?.["content-type"]).toBe("application/json")
      expect(health.status).toBe(204)

      const log = yield* server.requests
      expect(log.map((entry) => [entry.method, entry.path, entry.route, entry.attempt])).toEqual([
        ["POST", "/orders?n=0", "POST /orders", 0],
        ["POST", "/orders?n=1", "POST /orders", 1],
        ["POST", "/orders?n=2", "POST /orders", 2],
        ["POST", "/orders?n=3", "POST /orders", 3],
        ["GET", "/health", "GET /health", 0]
      ])
      expect(log.every((entry) => entry.idempotencyKey === "key-1" || entry.path === "/health")).toBe(true)
      expect(log.every((entry) => entry.finished && !entry.aborted)).toBe(true)
      const arrivals = log.map((entry) => entry.arrivedAt)
      expect(arrivals).toEqual([...arrivals].sort((a, b) => a - b))
    }))

  it.scopedLive("answers an unknown route with 404 and logs it without a route", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.make(FaultScript.routes({ "GET /items": FaultScript.status(200) }))
      const result = yield* send(`${server.url}/nope`)
      expect(result.status).toBe(404)
      const [entry] = yield* server.requests
      expect(entry.route).toBeUndefined()
      expect(entry.attempt).toBe(-1)
    }))

  it.scopedLive("sends Retry-After as an HTTP date and the RateLimit fields", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.make(FaultScript.routes({
        "GET /limited": FaultScript.status(429, {
          retryAfter: { _tag: "RelativeDate", seconds: 30 },
          rateLimit: { limit: 100, remaining: 0, reset: 30, policy: "100;w=60" },
          headers: { "X-Trace": "t1" }
        })
      }))
      const before = Date.now()
      const result = yield* send(`${server.url}/limited`)
      expect(result.status).toBe(429)
      const retryAt = Date.parse(String(result.headers?.["retry-after"]))
      expect(retryAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 29_000)
      expect(retryAt).toBeLessThanOrEqual(Date.now() + 31_000)
      expect(result.headers?.["ratelimit-limit"]).toBe("100")
      expect(result.headers?.["ratelimit-remaining"]).toBe("0")
      expect(result.headers?.["ratelimit-reset"]).toBe("30")
      expect(result.headers?.["ratelimit-policy"]).toBe("100;w=60")
      expect(result.headers?.["x-trace"]).toBe("t1")
    }))

  it.scopedLive("waits the latency before headers and paces a slow body", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.make(FaultScript.routes({
        "GET /late": FaultScript.status(200, { latency: "80 millis" }),
        "GET /slow": FaultScript.withSlowBody(FaultScript.text("x".repeat(100)), 1000)
      }))
      const late = yield* send(`${server.url}/late`)
      expect(late.status).toBe(200)
      expect(late.elapsedMillis).toBeGreaterThanOrEqual(75)
      const slow = yield* send(`${server.url}/slow`)
      expect(slow.body).toBe("x".repeat(100))
      expect(slow.complete).toBe(true)
      expect(slow.elapsedMillis).toBeGreaterThanOrEqual(90)
    }))

  it.scopedLive("resets the connection before headers", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.make(FaultScript.routes({ "GET /r": FaultScript.reset("beforeHeaders") }))
      const result = yield* send(`${server.url}/r`)
      expect(result.status).toBeUndefined()
      expect(result.error).toBe("ECONNRESET")
      yield* server.awaitIdle
      const [entry] = yield* server.requests
      expect(entry.fault._tag).toBe("Reset")
      expect(entry.aborted).toBe(false)
    }))

  it.scopedLive("resets the connection mid-body after the given bytes", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.make(FaultScript.routes({
        "GET /r": FaultScript.reset("midBody", { body: { items: [1, 2, 3] }, afterBytes: 5 })
      }))
      const result = yield* send(`${server.url}/r`)
      expect(result.status).toBe(200)
      expect(result.headers?.["content-length"]).toBe(String(JSON.stringify({ items: [1, 2, 3] }).length))
      expect(result.body).toBe("{\"ite")
      expect(result.complete).toBe(false)
      expect(result.error).toBeDefined()
    }))

  it.scopedLive("truncates a body whose Content-Length promises more", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.make(FaultScript.routes({
        "GET /t": FaultScript.truncated({ body: { a: 1 }, missingBytes: 10 })
      }))
      const result = yield* send(`${server.url}/t`)
      expect(result.status).toBe(200)
      expect(result.headers?.["content-length"]).toBe("17")
      expect(result.body).toBe("{\"a\":1}")
      expect(result.complete).toBe(false)
    }))

  it.scopedLive("sends malformed JSON and oversized bodies", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.make(FaultScript.routes({
        "GET /bad": FaultScript.malformedJson(),
        "GET /big": FaultScript.oversized(100_000)
      }))
      const bad = yield* send(`${server.url}/bad`)
      expect(bad.headers?.["content-type"]).toBe("application/json")
      expect(() => JSON.parse(bad.body)).toThrow(SyntaxError)
      const big = yield* send(`${server.url}/big`)
      expect(Buffer.byteLength(big.body)).toBe(100_000)
      expect(big.headers?.["content-length"]).toBe("100000")
      expect(() => JSON.parse(big.body)).not.toThrow()
    }))

  it.scopedLive("hangs until the client gives up and logs the abort", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.make(FaultScript.routes({ "GET /hang": FaultScript.hang }))
      const client = yield* Effect.fork(send(`${server.url}/hang`))
      yield* server.requests.pipe(
        Effect.repeat({ until: (log) => log.length === 1, schedule: Schedule.spaced("5 millis") }),
        Effect.timeout("1 second")
      )
      yield* Effect.sleep("30 millis")
      expect(Option.isNone(yield* Fiber.poll(client))).toBe(true)
      // interrupting the client destroys its request: the client gives up
      yield* Fiber.interrupt(client)
      yield* server.awaitIdle
      const [entry] = yield* server.requests
      expect(entry.aborted).toBe(true)
      expect(entry.finished).toBe(false)
      expect(yield* server.inFlight).toEqual({ current: 0, max: 1 })
    }))

  it.scopedLive("counts requests in flight and the maximum", () =>
    Effect.gen(function*() {
      // a hang holds each request open for as long as we like, so the count does not depend on timing
      const server = yield* FaultServer.make(FaultScript.routes({
        "GET /held": FaultScript.hang,
        "GET /quick": FaultScript.status(200)
      }))
      const clients = yield* Effect.forEach([1, 2, 3], () => Effect.fork(send(`${server.url}/held`)))
      yield* server.requests.pipe(
        Effect.repeat({ until: (log) => log.length === 3, schedule: Schedule.spaced("5 millis") }),
        Effect.timeout("2 seconds")
      )
      expect(yield* server.inFlight).toEqual({ current: 3, max: 3 })
      yield* Fiber.interruptAll(clients)
      yield* server.awaitIdle
      expect((yield* send(`${server.url}/quick`)).status).toBe(200)
      yield* server.awaitIdle
      expect(yield* server.inFlight).toEqual({ current: 0, max: 3 })
      expect((yield* server.requests).map((entry) => entry.aborted)).toEqual([true, true, true, false])
      yield* server.reset
      expect(yield* server.inFlight).toEqual({ current: 0, max: 0 })
      expect(yield* server.requests).toEqual([])
    }))

  it.scopedLive("gives every request the outage fault inside the window, without advancing route counters", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.make(FaultScript.routes(
        { "GET /items": FaultScript.sequence(FaultScript.status(200), FaultScript.status(201)) },
        { outages: [FaultScript.outage({ from: 0, to: "400 millis", fault: FaultScript.status(503) })] }
      ))
      const during = yield* send(`${server.url}/items`)
      yield* Effect.sleep("450 millis")
      const after = yield* send(`${server.url}/items`)
      expect([during.status, after.status]).toEqual([503, 200])
      const log = yield* server.requests
      expect(log.map((entry) => [entry.outage, entry.attempt])).toEqual([[true, -1], [false, 0]])
      expect(log[1].sinceStart).toBeGreaterThanOrEqual(400)
    }))

  it.scopedLive("replaces a route's script at runtime and restarts its counter", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.make(FaultScript.routes({ "GET /items": FaultScript.status(503) }))
      const first = yield* send(`${server.url}/items`)
      yield* server.setScript("GET /items", FaultScript.sequence(FaultScript.status(202), FaultScript.status(200)))
      const second = yield* send(`${server.url}/items`)
      const third = yield* send(`${server.url}/items`)
      expect([first.status, second.status, third.status]).toEqual([503, 202, 200])
      expect((yield* server.requests).map((entry) => entry.attempt)).toEqual([0, 0, 1])
    }))

  it.scopedLive("follows a seeded random script exactly as FaultScript.faultAt says", () =>
    Effect.gen(function*() {
      const script = FaultScript.random({
        seed: 42,
        choices: [[0.3, FaultScript.status(503)]],
        otherwise: FaultScript.status(200)
      })
      const server = yield* FaultServer.make(FaultScript.routes({ "GET /flaky": script }))
      const statuses: Array<number | undefined> = []
      for (let i = 0; i < 20; i++) statuses.push((yield* send(`${server.url}/flaky`)).status)
      const expected = Array.from({ length: 20 }, (_, attempt) => {
        const fault = FaultScript.faultAt(script, attempt)
        return fault._tag === "Respond" ? fault.status : undefined
      })
      expect(statuses).toEqual(expected)
      expect(new Set(statuses)).toEqual(new Set([200, 503]))
    }))

  it.scopedLive("layer provides the server and its FaultLog", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.FaultServer
      yield* send(`${server.url}/health`)
      const log = yield* FaultScript.requests
      expect(log.map((entry) => entry.route)).toEqual(["GET /health"])
    }).pipe(Effect.provide(FaultServer.layer(FaultScript.routes({ "GET /health": FaultScript.status(200) })))))

  it.scopedLive("a hand-written fault HTTP cannot send is answered 500 with the reason, never an uncaught throw", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.make(FaultScript.routes({
        "GET /status": { ...FaultScript.status(200), status: 42 },
        "GET /stalled": { ...FaultScript.json({ a: 1 }), bytesPerSecond: 0 },
        // Node's writeHead refuses a header value with a line break: the server must not throw it from a timer
        "GET /header": { ...FaultScript.status(200), headers: { "x-bad": "a\r\nb" } },
        "GET /small": FaultScript.oversized(5)
      }))
      const status = yield* send(`${server.url}/status`)
      expect(status.status).toBe(500)
      expect(status.body).toBe("invalid fault script: status 42 is not an integer from 100 to 599")
      const stalled = yield* send(`${server.url}/stalled`)
      expect(stalled.status).toBe(500)
      expect(stalled.body).toContain("bytesPerSecond 0 is not > 0")
      const header = yield* send(`${server.url}/header`)
      expect(header.status).toBe(500)
      expect(header.body).toMatch(/^invalid fault script: .*x-bad/)
      const small = yield* send(`${server.url}/small`)
      expect(small.body).toHaveLength(5)
      expect(() => JSON.parse(small.body)).not.toThrow()
      yield* server.awaitIdle
      expect((yield* server.requests).every((entry) => entry.finished)).toBe(true)
    }))

  it.scopedLive("a 204 or 304 goes without body or Content-Length; a HEAD gets a GET's headers and a clean end", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.make(FaultScript.routes({
        "GET /no-content": FaultScript.json({ a: 1 }, { status: 204 }),
        "GET /not-modified": FaultScript.truncated({ status: 304 }),
        "HEAD /cut": FaultScript.reset("midBody", { afterBytes: 3 }),
        // a hand-written literal: the constructors and the schema refuse it
        "GET /latin1": { ...FaultScript.status(200), headers: { "x-a": "café" } },
        "GET /padded": FaultScript.status(200, { headers: { "x-a": " a " } })
      }))
      for (const path of ["/no-content", "/not-modified"]) {
        const observed = yield* send(`${server.url}${path}`)
        expect([observed.complete, observed.headers?.["content-length"], observed.body]).toEqual([true, undefined, ""])
      }
      const head = yield* send(`${server.url}/cut`, { method: "HEAD" })
      expect([head.status, head.complete, head.headers?.["content-length"]]).toEqual([200, true, "27"])
      const latin1 = yield* send(`${server.url}/latin1`)
      expect([latin1.status, latin1.body]).toEqual([
        500,
        "invalid fault script: header x-a has a value HTTP cannot carry: \"café\""
      ])
      expect((yield* send(`${server.url}/padded`)).headers?.["x-a"]).toBe("a")
      yield* server.awaitIdle
      expect((yield* server.requests).map((entry) => [entry.finished, entry.aborted])).toEqual(
        Array.from({ length: 5 }, () => [true, false])
      )
    }))

  it.scopedLive("a connection that never opened cannot be played on an open one: a 500 that says so, after the latency", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.make(FaultScript.routes({
        "GET /a": FaultScript.sequence(
          FaultScript.refused({ latency: "30 millis" }),
          FaultScript.tlsFailure(),
          FaultScript.status(200)
        )
      }))
      const refused = yield* send(`${server.url}/a`)
      expect([refused.status, refused.headers?.["x-fault-script-error"], refused.body]).toEqual([
        500,
        "cannot play",
        "FaultServer cannot play ConnectFailure (Refused): the connection is already open. " +
        "Use ScriptedClient, or FaultServer.refusedUrl for a connection that is refused."
      ])
      expect(refused.elapsedMillis).toBeGreaterThanOrEqual(25)
      const tls = yield* send(`${server.url}/a`)
      expect([tls.status, tls.body]).toEqual([500, expect.stringContaining("ConnectFailure (Tls)")])
      expect((yield* send(`${server.url}/a`)).status).toBe(200)
      yield* server.awaitIdle
      const log = yield* server.requests
      expect(log.map((entry) => [entry.attempt, entry.fault._tag, entry.finished])).toEqual([
        [0, "ConnectFailure", true],
        [1, "ConnectFailure", true],
        [2, "Respond", true]
      ])
    }))

  it.scopedLive("an HTTP/2 stream reset cannot be played over HTTP/1.1: a 500 that says so, after the latency", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.make(FaultScript.routes({
        "POST /a": FaultScript.sequence(
          FaultScript.refusedStream({ latency: "30 millis" }),
          FaultScript.streamReset(),
          FaultScript.status(201)
        )
      }))
      const refused = yield* send(`${server.url}/a`, { method: "POST" })
      expect([refused.status, refused.headers?.["x-fault-script-error"], refused.body]).toEqual([
        500,
        "cannot play",
        "FaultServer cannot play StreamReset (REFUSED_STREAM): it speaks HTTP/1.1, which has no streams. " +
        "Use ScriptedClient, or Chaos around an HTTP/2 client."
      ])
      expect(refused.elapsedMillis).toBeGreaterThanOrEqual(25)
      const reset = yield* send(`${server.url}/a`, { method: "POST" })
      expect([reset.status, reset.body]).toEqual([500, expect.stringContaining("StreamReset (INTERNAL_ERROR)")])
      expect((yield* send(`${server.url}/a`, { method: "POST" })).status).toBe(201)
      yield* server.awaitIdle
      const log = yield* server.requests
      expect(log.map((entry) => [entry.attempt, entry.fault._tag, entry.finished])).toEqual([
        [0, "StreamReset", true],
        [1, "StreamReset", true],
        [2, "Respond", true]
      ])
    }))

  it.scopedLive("refusedUrl is a 127.0.0.1 URL whose port refuses connections", () =>
    Effect.gen(function*() {
      const url = yield* FaultServer.refusedUrl
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      const observed = yield* send(`${url}/items`)
      expect([observed.status, observed.error]).toEqual([undefined, "ECONNREFUSED"])
    }))
})
