// FaultScript.eventStream and FaultScript.resource: played by ScriptedClient (virtual time) and FaultServer (undici
// on the wire) alike, so `EventStream` and `Download` consumers can be tested against the same script on both.
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { describe, expect, it } from "@effect/vitest"
import { Download, EventStream } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { Chaos, FaultScript, FaultServer, ScriptedClient } from "@sturdy/testing"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as fc from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as TestContext from "effect/TestContext"

const base = "http://api.test"

// -----------------------------------------------------------------------------
// helpers
// -----------------------------------------------------------------------------

interface Received {
  readonly events: ReadonlyArray<{ readonly type: string; readonly data: string; readonly lastEventId: string }>
  /** The `Last-Event-ID` of each request, in order (`undefined`: none sent). */
  readonly lastEventIds: ReadonlyArray<string | undefined>
}

const eventsOf = (client: HttpClient.HttpClient, url: string) =>
  EventStream.make(client, url, { reconnectionTime: 0, schedule: Schedule.recurs(50) }).pipe(
    Stream.map(({ data, lastEventId, type }) => ({ type, data, lastEventId })),
    Stream.runCollect,
    Effect.map(Chunk.toReadonlyArray)
  )

const idsOf = (log: ReadonlyArray<FaultScript.LoggedRequest>) => log.map((entry) => entry.headers["last-event-id"])

/** Runs `effect` on TestClock, advancing virtual time in steps until it completes. */
const virtually = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    for (let step = 0; step < 10_000; step++) {
      const done = yield* Fiber.poll(fiber)
      if (Option.isSome(done)) return yield* done.value
      yield* TestClock.adjust("100 millis")
    }
    return yield* Effect.die(new Error("the stream did not end within 1000 s of virtual time"))
  })

const scriptedEvents = (script: FaultScript.Script) =>
  Effect.gen(function*() {
    const scripted = yield* ScriptedClient.make(FaultScript.routes({ "GET /events": script }))
    const events = yield* virtually(eventsOf(scripted.client, `${base}/events`))
    return { events, lastEventIds: idsOf(yield* scripted.requests) } satisfies Received
  }).pipe(Effect.scoped)

const undici = Effect.map(Layer.build(UndiciHttpClient.layer({})), Context.get(HttpClient.HttpClient))

const wireEvents = (script: FaultScript.Script) =>
  Effect.gen(function*() {
    const server = yield* FaultServer.make(FaultScript.routes({ "GET /events": script }))
    const client = yield* undici
    const events = yield* eventsOf(client, `${server.url}/events`)
    yield* server.awaitIdle
    return { events, lastEventIds: idsOf(yield* server.requests) } satisfies Received
  }).pipe(Effect.scoped)

/** The events a client should see: each of `all`, once, in order. */
const expected = (all: ReadonlyArray<FaultScript.ServerEvent>) => {
  let last = ""
  return all.map((event) => {
    if (event.id !== undefined) last = event.id
    return { type: event.event ?? "message", data: event.data.replace(/\r\n|\r/g, "\n"), lastEventId: last }
  })
}

/** The `Last-Event-ID` of each request when the n-th connection drops after `drops[n]` events. */
const expectedLastEventIds = (all: ReadonlyArray<FaultScript.ServerEvent>, drops: ReadonlyArray<number>) => {
  let received = 0
  const ids: Array<string | undefined> = []
  const sent = () => received === 0 ? undefined : all[received - 1].id
  for (const dropAfter of drops) {
    ids.push(sent())
    received = Math.min(received + dropAfter, all.length)
  }
  ids.push(sent())
  received = all.length
  ids.push(sent())
  return ids
}

const eventArb = (index: number) =>
  fc.record({
    event: fc.option(fc.constantFrom("update", "delete", "ping"), { nil: undefined }),
    data: fc.string({ maxLength: 12 }).filter((data) => !data.includes("\r")),
    retry: fc.option(fc.integer({ min: 0, max: 300 }), { nil: undefined })
  }).map(({ data, event, retry }): FaultScript.ServerEvent => ({
    id: `e${index}`,
    data,
    ...(event !== undefined ? { event } : {}),
    ...(retry !== undefined ? { retry } : {})
  }))

const streamCaseArb = fc.integer({ min: 0, max: 8 }).chain((count) =>
  fc.tuple(
    fc.tuple(...Array.from({ length: count }, (_, index) => eventArb(index))),
    fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 })
  )
)

/** Drops after each of `drops` events, then serves the rest, then a 204 that ends the stream. */
const dropsThenRest = (all: ReadonlyArray<FaultScript.ServerEvent>, drops: ReadonlyArray<number>) => {
  const steps: Array<FaultScript.Fault> = [
    ...drops.map((dropAfter) => FaultScript.eventStream(all, { dropAfter })),
    FaultScript.eventStream(all),
    FaultScript.status(204)
  ]
  return FaultScript.sequence(steps[0], ...steps.slice(1))
}

const downloadOf = (url: string) => Download.bytes(HttpClientRequest.get(url), { schedule: Schedule.recurs(20) })

const rangesOf = (log: ReadonlyArray<FaultScript.LoggedRequest>) =>
  log.map((entry) => [entry.headers["range"], entry.headers["if-range"]] as const)

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)

const bodyArb = fc.string({ minLength: 1, maxLength: 200, unit: "binary" })

// -----------------------------------------------------------------------------
// EventStream
// -----------------------------------------------------------------------------

describe("FaultScript.eventStream", () => {
  it.effect("EventStream.make over ScriptedClient on TestClock gets every event exactly once across drops", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(streamCaseArb, async ([all, drops]) => {
          const received = await Effect.runPromise(
            scriptedEvents(dropsThenRest(all, drops)).pipe(Effect.provide(TestContext.TestContext))
          )
          expect(received.events).toEqual(expected(all))
          // one request per step (the drops, the rest, the 204), each resuming after the last event received
          expect(received.lastEventIds).toEqual(expectedLastEventIds(all, drops))
        }),
        { seed: 20261207, numRuns: 60 }
      )
    ))

  it.live("the same script over FaultServer and undici: the same events and Last-Event-ID sequence", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(streamCaseArb, async ([all, drops]) => {
          // a retry: is a real wait on the wire: keep it short
          const quick = all.map((event) => event.retry === undefined ? event : { ...event, retry: event.retry % 20 })
          const script = dropsThenRest(quick, drops)
          const scripted = await Effect.runPromise(
            scriptedEvents(script).pipe(Effect.provide(TestContext.TestContext))
          )
          const wire = await Effect.runPromise(wireEvents(script))
          expect(wire).toEqual(scripted)
          expect(wire.events).toEqual(expected(quick))
        }),
        { seed: 7, numRuns: 12 }
      )
    ))

  it.live("a drop fails the body read after the events on both players; a close ends it cleanly", () =>
    Effect.gen(function*() {
      const routes = FaultScript.routes({
        "/drop": FaultScript.eventStream([{ id: "1", data: "a" }, { id: "2", data: "b" }], { dropAfter: 1 }),
        "/close": FaultScript.eventStream([{ id: "1", data: "a" }])
      })
      const read = (client: HttpClient.HttpClient, url: string) =>
        client.execute(HttpClientRequest.get(url)).pipe(
          Effect.flatMap((response) =>
            response.stream.pipe(
              Stream.decodeText(),
              Stream.runFold("", (text, chunk) => text + chunk),
              Effect.either
            )
          ),
          Effect.map(Either.match({
            onLeft: (error) => ({ failed: error._tag, reason: error.reason }),
            onRight: (text) => ({ text })
          })),
          Effect.scoped
        )
      const scripted = yield* ScriptedClient.make(routes)
      const server = yield* FaultServer.make(routes)
      const client = yield* undici
      for (
        const [path, expected] of [
          ["/drop", { failed: "ResponseError", reason: "Decode" }],
          ["/close", { text: "id: 1\ndata: a\n\n" }]
        ] as const
      ) {
        expect(yield* read(scripted.client, `${base}${path}`)).toEqual(expected)
        expect(yield* read(client, `${server.url}${path}`)).toEqual(expected)
      }
    }).pipe(Effect.scoped))

  it.effect("resumes after the event named by Last-Event-ID, from the start for an unknown id", () =>
    Effect.gen(function*() {
      const all = [{ id: "1", data: "a" }, { id: "2", data: "b" }, { id: "3", data: "c" }]
      const scripted = yield* ScriptedClient.make(FaultScript.routes({ "GET /e": FaultScript.eventStream(all) }))
      const body = (lastEventId?: string) =>
        HttpClientRequest.get(`${base}/e`).pipe(
          lastEventId === undefined ? (r) => r : HttpClientRequest.setHeader("last-event-id", lastEventId),
          scripted.client.execute,
          Effect.flatMap((response) => response.text)
        )
      expect(yield* body()).toBe("id: 1\ndata: a\n\nid: 2\ndata: b\n\nid: 3\ndata: c\n\n")
      expect(yield* body("2")).toBe("id: 3\ndata: c\n\n")
      expect(yield* body("3")).toBe("")
      expect(yield* body("nope")).toBe("id: 1\ndata: a\n\nid: 2\ndata: b\n\nid: 3\ndata: c\n\n")
    }).pipe(Effect.scoped))

  it.effect("ScriptedClient: latency on the Clock, a multi-line event, retry:, and heartbeats while it hangs", () =>
    Effect.gen(function*() {
      const scripted = yield* ScriptedClient.make(FaultScript.routes({
        "GET /e": FaultScript.eventStream([{ id: "1", event: "u", data: "x\ny", retry: 5 }], {
          end: "hang",
          heartbeatEvery: "1 second",
          latency: "2 seconds"
        })
      }))
      const fiber = yield* HttpClientRequest.get(`${base}/e`).pipe(
        scripted.client.execute,
        Effect.flatMap((response) =>
          response.stream.pipe(Stream.decodeText(), Stream.take(3), Stream.runCollect, Effect.map(Chunk.join("")))
        ),
        Effect.fork
      )
      yield* TestClock.adjust("1999 millis")
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* TestClock.adjust("1 millis")
      yield* TestClock.adjust("1 second")
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(fiber)).toBe("id: 1\nevent: u\nretry: 5\ndata: x\ndata: y\n\n: heartbeat\n: heartbeat\n")
    }).pipe(Effect.scoped))

  it.effect("ScriptedClient: a stream that hangs without heartbeats stays open until the client goes away", () =>
    Effect.gen(function*() {
      const scripted = yield* ScriptedClient.make(FaultScript.routes({
        "GET /e": FaultScript.eventStream([{ id: "1", data: "a" }], { end: "hang" })
      }))
      const fiber = yield* HttpClientRequest.get(`${base}/e`).pipe(
        scripted.client.execute,
        Effect.flatMap((response) => response.text),
        Effect.scoped,
        Effect.fork
      )
      yield* TestClock.adjust("1 hour")
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* Fiber.interrupt(fiber)
      yield* scripted.awaitIdle
      expect((yield* scripted.requests).map((entry) => [entry.finished, entry.aborted])).toEqual([[false, true]])
    }).pipe(Effect.scoped))

  it.live("FaultServer: a hanging stream beats until the client goes away; a HEAD gets the headers only", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.make(FaultScript.routes({
        "/e": FaultScript.eventStream([{ id: "1", data: "a" }], { end: "hang", heartbeatEvery: "20 millis" })
      }))
      const client = yield* undici
      const got = yield* HttpClientRequest.get(`${server.url}/e`).pipe(
        client.execute,
        Effect.flatMap((response) =>
          response.stream.pipe(Stream.decodeText(), Stream.take(3), Stream.runCollect, Effect.map(Chunk.join("")))
        ),
        Effect.scoped
      )
      expect(got).toBe("id: 1\ndata: a\n\n: heartbeat\n: heartbeat\n")
      const head = yield* client.execute(HttpClientRequest.head(`${server.url}/e`)).pipe(Effect.scoped)
      expect(head.status).toBe(200)
      expect(head.headers["content-type"]).toBe("text/event-stream; charset=utf-8")
      yield* server.awaitIdle
      const log = yield* server.requests
      expect(log.map((entry) => [entry.method, entry.aborted])).toEqual([["GET", true], ["HEAD", false]])
    }).pipe(Effect.scoped))
})

// -----------------------------------------------------------------------------
// Download
// -----------------------------------------------------------------------------

describe("FaultScript.resource", () => {
  const cutsArb = bodyArb.chain((body) => {
    const total = new TextEncoder().encode(body).length
    return fc.tuple(fc.constant(body), fc.uniqueArray(fc.integer({ min: 0, max: total + 2 }), { maxLength: 5 }))
  })

  it.live("Download.bytes over both players returns the body exactly, with the same Range headers", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(cutsArb, async ([body, cutAt]) => {
          const script = FaultScript.always(FaultScript.resource(body, { etag: "\"v1\"", cutAt }))
          const scripted = await Effect.runPromise(
            Effect.gen(function*() {
              const responder = yield* ScriptedClient.make(FaultScript.routes({ "GET /file": script }))
              const bytes = yield* virtually(
                downloadOf(`${base}/file`).pipe(Effect.provideService(HttpClient.HttpClient, responder.client))
              )
              return { body: text(bytes), ranges: rangesOf(yield* responder.requests) }
            }).pipe(Effect.scoped, Effect.provide(TestContext.TestContext))
          )
          const wire = await Effect.runPromise(
            Effect.gen(function*() {
              const server = yield* FaultServer.make(FaultScript.routes({ "GET /file": script }))
              const bytes = yield* downloadOf(`${server.url}/file`).pipe(
                Effect.provideService(HttpClient.HttpClient, yield* undici)
              )
              return { body: text(bytes), ranges: rangesOf(yield* server.requests) }
            }).pipe(Effect.scoped)
          )
          expect(scripted.body).toBe(body)
          expect(wire).toEqual(scripted)
          // one request, and one resume per cut strictly inside the body
          const total = new TextEncoder().encode(body).length
          expect(scripted.ranges.length).toBe(1 + cutAt.filter((offset) => offset > 0 && offset < total).length)
        }),
        { seed: 424242, numRuns: 25 }
      )
    ))

  it.effect("206 with Content-Range when If-Range matches, 200 when it does not or ranges are off, 416 past the end", () =>
    Effect.gen(function*() {
      const scripted = yield* ScriptedClient.make(FaultScript.routes({
        "/f": FaultScript.resource("0123456789", { etag: "\"v1\"", contentType: "text/plain" }),
        "/dated": FaultScript.resource("0123456789", { lastModified: "Tue, 01 Dec 2026 00:00:00 GMT" }),
        "/weak": FaultScript.resource("0123456789", { etag: "W/\"v1\"" }),
        "/off": FaultScript.resource("0123456789", { acceptRanges: false })
      }))
      const get = (path: string, headers: Record<string, string>) =>
        scripted.client.execute(HttpClientRequest.get(`${base}${path}`, { headers })).pipe(
          Effect.flatMap((response) =>
            Effect.map(response.text, (body) => ({
              status: response.status,
              range: response.headers["content-range"],
              length: response.headers["content-length"],
              body
            }))
          )
        )
      expect(yield* get("/f", { range: "bytes=4-", "if-range": "\"v1\"" })).toEqual({
        status: 206,
        range: "bytes 4-9/10",
        length: "6",
        body: "456789"
      })
      expect(yield* get("/f", { range: "bytes=2-3" })).toMatchObject({ status: 206, range: "bytes 2-3/10", body: "23" })
      expect(yield* get("/f", { range: "bytes=4-", "if-range": "\"v2\"" })).toMatchObject({
        status: 200,
        body: "0123456789"
      })
      expect(yield* get("/f", { range: "bytes=4-", "if-range": "W/\"v1\"" })).toMatchObject({ status: 200 })
      expect(yield* get("/weak", { range: "bytes=4-", "if-range": "W/\"v1\"" })).toMatchObject({ status: 200 })
      expect(yield* get("/f", { range: "bytes=10-" })).toEqual({
        status: 416,
        range: "bytes */10",
        length: "0",
        body: ""
      })
      expect(yield* get("/f", { range: "bytes=0-1,4-5" })).toMatchObject({ status: 200 })
      expect(yield* get("/dated", { range: "bytes=8-", "if-range": "Tue, 01 Dec 2026 00:00:00 GMT" })).toMatchObject({
        status: 206,
        body: "89"
      })
      expect(yield* get("/dated", { range: "bytes=8-", "if-range": "\"v1\"" })).toMatchObject({ status: 200 })
      expect(yield* get("/off", { range: "bytes=8-" })).toMatchObject({ status: 200, body: "0123456789" })
    }).pipe(Effect.scoped))

  it.effect("a cut before the whole answer is a cut body; latency runs on the Clock", () =>
    Effect.gen(function*() {
      const scripted = yield* ScriptedClient.make(FaultScript.routes({
        "/f": FaultScript.resource("0123456789", { etag: "\"v1\"", cutAt: [6], latency: "1 second" })
      }))
      const fiber = yield* downloadOf(`${base}/f`).pipe(
        Effect.provideService(HttpClient.HttpClient, scripted.client),
        Effect.fork
      )
      yield* TestClock.adjust("999 millis")
      expect((yield* scripted.requests).length).toBe(1)
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* TestClock.adjust("1 millis")
      yield* TestClock.adjust("1 second")
      expect(text(yield* Fiber.join(fiber))).toBe("0123456789")
      expect(rangesOf(yield* scripted.requests)).toEqual([[undefined, undefined], ["bytes=6-", "\"v1\""]])
    }).pipe(Effect.scoped))

  it.effect("Chaos accepts and plays a resource from the request's own Range, as ScriptedClient does", () =>
    Effect.gen(function*() {
      const scripted = yield* ScriptedClient.make(FaultScript.routes({ "/f": FaultScript.status(500) }))
      const chaotic = scripted.client.pipe(Chaos.transform({
        injectionRate: 1,
        faults: [FaultScript.resource("0123456789", { etag: "\"v1\"", cutAt: [3, 7] })]
      }))
      const bytes = yield* downloadOf(`${base}/f`).pipe(Effect.provideService(HttpClient.HttpClient, chaotic))
      expect(text(bytes)).toBe("0123456789")
      // every answer was injected: the wrapped client saw nothing
      expect(yield* scripted.requests).toEqual([])
    }).pipe(Effect.scoped))

  it.effect("without a validator a cut is not resumable", () =>
    Effect.gen(function*() {
      const scripted = yield* ScriptedClient.make(FaultScript.routes({
        "/f": FaultScript.resource("0123456789", { cutAt: [3] })
      }))
      const exit = yield* downloadOf(`${base}/f`).pipe(
        Effect.provideService(HttpClient.HttpClient, scripted.client),
        Effect.exit
      )
      expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("NotResumable")
    }).pipe(Effect.scoped))
})

// -----------------------------------------------------------------------------
// schema and constructors
// -----------------------------------------------------------------------------

describe("schema and constructors", () => {
  it("the new faults round-trip through the Fault schema and decode inside routes from JSON", () => {
    const faults: ReadonlyArray<FaultScript.Fault> = [
      FaultScript.eventStream([{ id: "1", event: "u", data: "a\nb", retry: 10 }, { data: "c" }], {
        heartbeatEvery: "15 seconds",
        end: "hang",
        latency: "5 millis"
      }),
      FaultScript.eventStream([{ id: "1", data: "a" }], { dropAfter: 1 }),
      FaultScript.eventStream([]),
      FaultScript.resource("héllo", {
        etag: "\"v1\"",
        lastModified: new Date(Date.UTC(2026, 11, 1)),
        acceptRanges: false,
        cutAt: [0, 3],
        contentType: "text/plain"
      }),
      FaultScript.resource("")
    ]
    for (const fault of faults) {
      const encoded = Schema.encodeSync(FaultScript.Fault)(fault)
      expect(Schema.decodeUnknownSync(FaultScript.Fault)(JSON.parse(JSON.stringify(encoded)))).toEqual(fault)
    }
    const routes = FaultScript.routes({ "GET /e": FaultScript.sequence(faults[0], faults[1]), "GET /f": faults[3] })
    expect(Schema.decodeUnknownSync(FaultScript.Routes)(JSON.parse(JSON.stringify(routes)))).toEqual(routes)
    expect(faults[3]).toMatchObject({ lastModified: "Tue, 01 Dec 2026 00:00:00 GMT" })
  })

  it("the schema refuses what the constructors refuse", () => {
    const decode = Schema.decodeUnknownEither(FaultScript.Fault)
    const stream = { _tag: "EventStream", events: [], end: "close", latencyMillis: 0 }
    const file = { _tag: "Resource", body: "", contentType: "x/y", acceptRanges: true, cutAt: [], latencyMillis: 0 }
    expect(Either.isRight(decode(stream))).toBe(true)
    expect(Either.isRight(decode(file))).toBe(true)
    expect(Either.isLeft(decode({ ...stream, events: [{ id: "1", data: "" }, { id: "1", data: "" }] }))).toBe(true)
    expect(Either.isLeft(decode({ ...stream, events: [{ id: "a\nb", data: "" }] }))).toBe(true)
    expect(Either.isLeft(decode({ ...stream, dropAfter: -1 }))).toBe(true)
    expect(Either.isLeft(decode({ ...stream, end: "later" }))).toBe(true)
    expect(Either.isLeft(decode({ ...stream, heartbeatMillis: 1000 }))).toBe(true)
    expect(Either.isLeft(decode({ ...stream, heartbeatMillis: 1000, end: "hang", dropAfter: 1 }))).toBe(true)
    expect(Either.isRight(decode({ ...stream, heartbeatMillis: 1000, end: "hang" }))).toBe(true)
    expect(Either.isLeft(decode({ ...file, cutAt: [-1] }))).toBe(true)
    expect(Either.isLeft(decode({ ...file, etag: "\"a\r\n\"" }))).toBe(true)
  })

  it("bad constructor input is a RangeError naming the field", () => {
    const cases: ReadonlyArray<readonly [() => unknown, RegExp]> = [
      [
        () => FaultScript.resource("x", { cutAt: [-1] }),
        /^FaultScript\.resource: cutAt\[0\] must be an integer ≥ 0, got -1$/
      ],
      [() => FaultScript.resource("x", { cutAt: [1, 2.5] }), /cutAt\[1\] must be an integer/],
      [() => FaultScript.resource("x", { etag: "\"a\nb\"" }), /resource: header etag has a value HTTP cannot carry/],
      [() => FaultScript.resource("x", { lastModified: new Date(NaN) }), /resource: lastModified must be a valid date/],
      [() => FaultScript.resource("x", { latency: -1 }), /resource: latency must be a duration ≥ 0/],
      [
        () => FaultScript.eventStream([], { dropAfter: NaN }),
        /^FaultScript\.eventStream: dropAfter must be an integer ≥ 0, got NaN$/
      ],
      [() => FaultScript.eventStream([], { dropAfter: -1 }), /dropAfter must be an integer ≥ 0, got -1/],
      [
        () => FaultScript.eventStream([], { heartbeatEvery: 0 }),
        /eventStream: heartbeatEvery must be a finite duration > 0/
      ],
      [
        () => FaultScript.eventStream([], { heartbeatEvery: "-1 second" }),
        /eventStream: heartbeatEvery must be a duration ≥ 0/
      ],
      [() => FaultScript.eventStream([], { end: "later" as "hang" }), /eventStream: end must be "close" or "hang"/],
      [
        () => FaultScript.eventStream([], { heartbeatEvery: "1 second" }),
        /eventStream: heartbeatEvery needs end: "hang"/
      ],
      [
        () => FaultScript.eventStream([], { heartbeatEvery: "1 second", end: "hang", dropAfter: 2 }),
        /eventStream: heartbeatEvery and dropAfter exclude each other/
      ],
      [
        () => FaultScript.eventStream([{ id: "1", data: "" }, { id: "1", data: "" }]),
        /eventStream: events hold the id "1" twice/
      ],
      [
        () => FaultScript.eventStream([{ id: "a\0", data: "" }]),
        /eventStream: events\[0\]\.id: .* holds NULL, CR or LF/
      ],
      [() => FaultScript.eventStream([{ event: "a\rb", data: "" }]), /events\[0\]\.event: .* holds CR or LF/],
      [() => FaultScript.eventStream([{ data: "", retry: 1.5 }]), /events\[0\]\.retry must be an integer ≥ 0, got 1.5/]
    ]
    for (const [build, message] of cases) {
      expect(build).toThrow(RangeError)
      expect(build).toThrow(message)
    }
  })
})
