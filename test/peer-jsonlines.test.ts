/**
 * Black-box cases from peer parsers' own suites and from the formats' documents, run against `JsonLines` over
 * `@sturdy/node`'s undici transport and real `node:http` servers on 127.0.0.1 (`test/utils/loopbackServer.ts`):
 *
 * - the `ndjson` npm package (ndjson/ndjson.js, `test/index.js`, the "challenge cases" included);
 * - `split2` (mcollina/split2, `test.js`): its line-splitting cases, with JSON texts for lines;
 * - `can-ndjson-stream` (canjs/can-ndjson-stream, `can-ndjson-stream-test.js`), which serves its body one character
 *   a chunk;
 * - `ndjson-readablestream` (pamelafox/ndjson-readablestream, `index.test.js`): full-width characters;
 * - the jsonlines.org examples (its "Examples" page) and RFC 7464 (§2 and §2.3).
 *
 * Deliberate differences: `ndjson` with `strict: true` (its default) and `can-ndjson-stream` report a bad line and
 * `ndjson` goes on with the next; `JsonLines` ends the stream with the typed failure (`onInvalid: "fail"`, the default)
 * or skips it silently (`"skip"`, as `ndjson`'s `strict: false`). Both are checked below. Skipped: `split2`'s custom
 * matchers (`~`, a RegExp), mapper functions, `highWaterMark` and `destroy` cases, and `ndjson`'s `.stringify` cases:
 * they test options and a serializer `JsonLines` does not have. `split2`'s "accumulate multiple writes" with text
 * (`helloworld`) is run as JSON (a string split across writes).
 */
import { describe, expect, it } from "@effect/vitest"
import { HttpFailure, JsonLines, Policy } from "@sturdy/http"
import { Chunk, Effect, Either, Schema, Stream } from "effect"
import type * as Http from "node:http"
import * as Loopback from "./utils/loopbackServer.js"
import { undiciClient } from "./utils/undiciClient.js"

/** Writes `chunks` one after the other (each its own write, flushed), then ends, or breaks the connection. */
const serve = (
  response: Http.ServerResponse,
  chunks: ReadonlyArray<string | Buffer>,
  contentType = "application/x-ndjson",
  then: "end" | "destroy" = "end"
) => {
  response.writeHead(200, { "content-type": contentType })
  const write = (i: number) => {
    if (i === chunks.length) {
      if (then === "end") response.end()
      else response.socket?.destroy()
      return
    }
    response.write(chunks[i], () => setImmediate(() => write(i + 1)))
  }
  write(0)
}

/** A server whose `/` answers `chunks`, and what the stream gave before it ended (with its failure, if any). */
const run = (
  chunks: ReadonlyArray<string | Buffer>,
  options: JsonLines.Options = {},
  contentType?: string,
  then: "end" | "destroy" = "end"
) =>
  Effect.gen(function*() {
    const server = yield* Loopback.start({ "/": (_, response) => serve(response, chunks, contentType, then) })
    const client = yield* undiciClient
    const items: Array<unknown> = []
    const result = yield* Effect.either(
      Stream.runForEach(
        JsonLines.streamUnknown(client, `${server.url}/`, options),
        (item) => Effect.sync(() => items.push(item))
      )
    )
    return { items, failure: Either.isLeft(result) ? result.left : undefined }
  })

/** The failing line's `line` field, which must be the number its detail starts with (`line N: `, `record N: `). */
const lineOf = (failure: HttpFailure.HttpFailure | undefined) => {
  if (failure?._tag !== "InvalidJson") return undefined
  expect(failure.line).toBe(Number(/^(?:line|record) (\d+):/.exec(failure.detail)?.[1]))
  return failure.line
}

describe("ndjson (ndjson/ndjson.js test/index.js)", () => {
  // .parse
  it.scopedLive(".parse", () =>
    Effect.gen(function*() {
      expect((yield* run(["{\"hello\": \"world\"}\n"])).items).toEqual([{ hello: "world" }])
    }))

  // .parse twice
  it.scopedLive(".parse twice", () =>
    Effect.gen(function*() {
      const { items } = yield* run(["{\"hello\": \"world\"}\n{\"hola\": \"mundo\"}\n"])
      expect(items).toEqual([{ hello: "world" }, { hola: "mundo" }])
    }))

  // .parse - strict:true error: the line is reported (`error.line` 1)
  it.scopedLive(".parse - strict:true error", () =>
    Effect.gen(function*() {
      const { failure, items } = yield* run(["{\"no\":\"json\"\n"])
      expect(items).toEqual([])
      expect(failure?._tag).toBe("InvalidJson")
      expect(lineOf(failure)).toBe(1)
    }))

  // .parse - strict:false error: the bad line is skipped, the next parsed
  it.scopedLive(".parse - strict:false error", () =>
    Effect.gen(function*() {
      const { failure, items } = yield* run(["{\"json\":false\n{\"json\":true}\n"], { onInvalid: "skip" })
      expect(failure).toBeUndefined()
      expect(items).toEqual([{ json: true }])
    }))

  // challenge cases - valid, blank, and whitespace-only lines
  it.scopedLive("challenge cases - valid, blank, and whitespace-only lines", () =>
    Effect.gen(function*() {
      expect(yield* run(["{\"id\":1}\n\n  \t\n{\"id\":2}\n"])).toEqual({
        items: [{ id: 1 }, { id: 2 }],
        failure: undefined
      })
    }))

  // challenge cases - malformed lines and trailing commas: ndjson reports lines 2 and 3 and keeps going; here the
  // first one (line 2) ends the stream, and with skip the records before and after are kept
  it.scopedLive("challenge cases - malformed lines and trailing commas", () =>
    Effect.gen(function*() {
      const body = ["{\"id\":1}\nINVALID JSON\n{\"name\":\"Alice\",}\n{\"id\":2}\n"]
      const failing = yield* run(body)
      expect(failing.items).toEqual([{ id: 1 }])
      expect(lineOf(failing.failure)).toBe(2)
      expect((yield* run(body, { onInvalid: "skip" })).items).toEqual([{ id: 1 }, { id: 2 }])
    }))

  // challenge cases - multiple malformed lines: physical line numbers
  it.scopedLive("challenge cases - multiple malformed lines", () =>
    Effect.gen(function*() {
      const body = ["bad one\n{\"id\":1}\nbad two\n{\"id\":2}\n"]
      expect(lineOf((yield* run(body)).failure)).toBe(1)
      expect((yield* run(body, { onInvalid: "skip" })).items).toEqual([{ id: 1 }, { id: 2 }])
    }))

  // challenge cases - empty input
  it.scopedLive("challenge cases - empty input", () =>
    Effect.gen(function*() {
      expect(yield* run([])).toEqual({ items: [], failure: undefined })
    }))

  // challenge cases - CRLF input: the malformed line is line 3
  it.scopedLive("challenge cases - CRLF input", () =>
    Effect.gen(function*() {
      const body = ["{\"id\":1}\r\n\r\ninvalid\r\n{\"id\":2}\r\n"]
      const failing = yield* run(body)
      expect(failing.items).toEqual([{ id: 1 }])
      expect(lineOf(failing.failure)).toBe(3)
      expect((yield* run(body, { onInvalid: "skip" })).items).toEqual([{ id: 1 }, { id: 2 }])
    }))
})

describe("split2 (mcollina/split2 test.js), lines as JSON texts", () => {
  // split two lines on end
  it.scopedLive("split two lines on end", () =>
    Effect.gen(function*() {
      expect((yield* run(["\"hello\"\n\"world\""])).items).toEqual(["hello", "world"])
    }))

  // split two lines on two writes
  it.scopedLive("split two lines on two writes", () =>
    Effect.gen(function*() {
      expect((yield* run(["\"hello\"", "\n\"world\""])).items).toEqual(["hello", "world"])
    }))

  // accumulate multiple writes
  it.scopedLive("accumulate multiple writes", () =>
    Effect.gen(function*() {
      expect((yield* run(["\"hello", "world\""])).items).toEqual(["helloworld"])
    }))

  // split lines windows-style
  it.scopedLive("split lines windows-style", () =>
    Effect.gen(function*() {
      expect((yield* run(["\"hello\"\r\n\"world\""])).items).toEqual(["hello", "world"])
    }))

  // splits a buffer; support a mapper function (JSON.parse of each line, the last one written without LF)
  it.scopedLive("splits a buffer; a mapper function (JSON.parse)", () =>
    Effect.gen(function*() {
      expect((yield* run([Buffer.from("{\"a\":\"42\"}\n{\"b\":\"24\"}")])).items).toEqual([{ a: "42" }, { b: "24" }])
    }))
})

describe("can-ndjson-stream (can-ndjson-stream-test.js): one character a chunk", () => {
  const objects = [
    {
      date: "2017-02-24 03:07:45",
      user: "21109850",
      fuel: "37",
      ammo: "2",
      steel: "13",
      baux: "5",
      seaweed: "0",
      type: "LOOT",
      product: "134"
    },
    {
      date: "2017-02-22 04:40:13",
      user: "21109850",
      fuel: "37",
      ammo: "2",
      steel: "13",
      baux: "5",
      seaweed: "0",
      type: "LOOT",
      product: "75"
    }
  ]

  // simple_test_from_stream (chunks of one character; joined by LF, no LF at the end)
  it.scopedLive("simple_test_from_stream", () =>
    Effect.gen(function*() {
      const text = objects.map((o) => JSON.stringify(o)).join("\n")
      expect(yield* run(Array.from(text))).toEqual({ items: objects, failure: undefined })
    }))

  // maleformed json: an error after the good record
  it.scopedLive("maleformed json", () =>
    Effect.gen(function*() {
      const { failure, items } = yield* run(Array.from("{\"1\":2}\n{sss: 2}"))
      expect(items).toEqual([{ "1": 2 }])
      expect(failure?._tag).toBe("InvalidJson")
      expect(lineOf(failure)).toBe(2)
    }))
})

describe("ndjson-readablestream (index.test.js)", () => {
  // parses an NDJSON stream correctly (full-width characters, three bytes each in UTF-8)
  it.scopedLive("parses an NDJSON stream correctly", () =>
    Effect.gen(function*() {
      const bytes = Buffer.from("{\"foo\":\"bar\"}\n{\"ｆｏｏ\":\"ｂａｒ\"}\n")
      // cut inside a full-width character, too
      const { items } = yield* run([bytes.subarray(0, 17), bytes.subarray(17)])
      expect(JSON.stringify(items)).toBe("[{\"foo\":\"bar\"},{\"ｆｏｏ\":\"ｂａｒ\"}]")
    }))
})

describe("jsonlines.org examples", () => {
  // "Better than CSV"
  it.scopedLive("better than CSV", () =>
    Effect.gen(function*() {
      const body = "[\"Name\", \"Session\", \"Score\", \"Completed\"]\n[\"Gilbert\", \"2013\", 24, true]\n" +
        "[\"Alexa\", \"2013\", 29, true]\n[\"May\", \"2012B\", 14, false]\n[\"Deloise\", \"2012A\", 19, true]\n"
      const Row = Schema.Tuple(
        Schema.String,
        Schema.String,
        Schema.Union(Schema.Number, Schema.String),
        Schema.Union(Schema.Boolean, Schema.String)
      )
      const server = yield* Loopback.start({ "/": (_, response) => serve(response, [body], "application/jsonl") })
      const rows = yield* Stream.runCollect(JsonLines.stream(yield* undiciClient, `${server.url}/`, Row))
      expect(Chunk.toReadonlyArray(rows)).toHaveLength(5)
      expect(Chunk.toReadonlyArray(rows)[1]).toEqual(["Gilbert", "2013", 24, true])
    }))

  // "Easy Nested Data"
  it.scopedLive("easy nested data", () =>
    Effect.gen(function*() {
      const body = "{\"name\": \"Gilbert\", \"wins\": [[\"straight\", \"7♣\"], [\"one pair\", \"10♥\"]]}\n" +
        "{\"name\": \"Alexa\", \"wins\": [[\"two pair\", \"4♠\"], [\"two pair\", \"9♠\"]]}\n" +
        "{\"name\": \"May\", \"wins\": []}\n" +
        "{\"name\": \"Deloise\", \"wins\": [[\"three of a kind\", \"5♣\"]]}\n"
      const Player = Schema.Struct({
        name: Schema.String,
        wins: Schema.Array(Schema.Tuple(Schema.String, Schema.String))
      })
      const server = yield* Loopback.start({ "/": (_, response) => serve(response, [body], "application/jsonl") })
      const players = Chunk.toReadonlyArray(
        yield* Stream.runCollect(JsonLines.stream(yield* undiciClient, `${server.url}/`, Player))
      )
      expect(players.map((p) => p.name)).toEqual(["Gilbert", "Alexa", "May", "Deloise"])
      expect(players[0].wins[0]).toEqual(["straight", "7♣"])
    }))
})

describe("RFC 7464 JSON text sequences", () => {
  // §2: each text prefixed by RS and ending with LF
  it.scopedLive("§2: RS, a JSON text, LF", () =>
    Effect.gen(function*() {
      const { items } = yield* run(["\x1e{\"a\":1}\n\x1e[2]\n\x1e\"three\"\n\x1e4\n"], {}, "application/json-seq")
      expect(items).toEqual([{ a: 1 }, [2], "three", 4])
    }))

  // §2.1: a text that does not parse; the parser may go on with the next (onInvalid: skip) or report it
  it.scopedLive("§2.1/§2.4: a text that does not parse", () =>
    Effect.gen(function*() {
      const body = ["\x1e{\"a\":1}\n\x1e{\"a\":\n\x1e{\"a\":3}\n"]
      expect((yield* run(body, { onInvalid: "skip" }, "application/json-seq")).items).toEqual([{ a: 1 }, { a: 3 }])
      const failing = yield* run(body, {}, "application/json-seq")
      expect(failing.items).toEqual([{ a: 1 }])
      expect(lineOf(failing.failure)).toBe(2)
    }))

  // §2.3: a top-level number not followed by whitespace may be truncated (`123` of `12345`)
  it.scopedLive("§2.3: a number without whitespace after it", () =>
    Effect.gen(function*() {
      const body = ["\x1e123", "\x1e456\n"]
      expect((yield* run(body, { onInvalid: "skip" }, "application/json-seq")).items).toEqual([456])
    }))
})

describe("over the wire", () => {
  it.scopedLive("a connection broken mid-line: BodyTruncated after the complete lines", () =>
    Effect.gen(function*() {
      const { failure, items } = yield* run(["{\"id\":1}\n{\"id\":2}\n{\"id\""], {}, undefined, "destroy")
      expect(items).toEqual([{ id: 1 }, { id: 2 }])
      expect(failure?._tag).toBe("BodyTruncated")
    }))

  it.scopedLive("a 503 then a 200 through Policy.withPolicy: the items once, two requests", () =>
    Effect.gen(function*() {
      let hits = 0
      const server = yield* Loopback.start({
        "/": (_, response) => {
          if (hits++ === 0) {
            response.writeHead(503, { "retry-after": "0", "content-type": "text/plain" })
            response.end("busy")
            return
          }
          serve(response, ["{\"id\":1}\n", "{\"id\":2}\n"])
        }
      })
      const policy = yield* Policy.make({
        retry: { maxAttempts: 3, baseDelay: "1 millis", maxDelay: "10 millis", jitter: "none", budget: false },
        circuitBreaker: false
      })
      const client = Policy.withPolicy(yield* undiciClient, policy)
      const items = yield* Stream.runCollect(JsonLines.streamUnknown(client, `${server.url}/`))
      expect(Chunk.toReadonlyArray(items)).toEqual([{ id: 1 }, { id: 2 }])
      expect(server.hits("/")).toBe(2)
    }))

  // `@sturdy/node`'s transport enforces the deadline in force when the request is sent, but JsonLines sends it under
  // `Deadline.headOnly`: a policy's attemptTimeout (10 s by default) and totalTimeout bound getting the head (retries,
  // hedges included), and the items flow for as long as the server sends them. The stream below lasts ~400 ms.
  const ticking = (response: Http.ServerResponse) => {
    response.writeHead(200, { "content-type": "application/x-ndjson" })
    let i = 0
    const tick = () => {
      if (i === 8) return void response.end()
      response.write(`{"i":${i++}}\n`)
      setTimeout(tick, 50)
    }
    tick()
  }
  const expected = Array.from({ length: 8 }, (_, i) => ({ i }))

  it.scopedLive("through Policy.withPolicy on the node transport, the stream outlives attemptTimeout and totalTimeout", () =>
    Effect.gen(function*() {
      const server = yield* Loopback.start({ "/": (_, response) => ticking(response) })
      const policy = yield* Policy.make({
        attemptTimeout: "150 millis",
        totalTimeout: "200 millis",
        retry: false,
        circuitBreaker: false
      })
      const client = Policy.withPolicy(yield* undiciClient, policy)
      const items = yield* Stream.runCollect(JsonLines.streamUnknown(client, `${server.url}/`))
      expect(Chunk.toReadonlyArray(items)).toEqual(expected)
      expect(server.hits("/")).toBe(1)
    }))

  it.scopedLive("through Policy.withPolicy on the node transport, attemptTimeout still bounds getting the head", () =>
    Effect.gen(function*() {
      // the head never comes
      const server = yield* Loopback.start({ "/": () => {} })
      const policy = yield* Policy.make({ attemptTimeout: "150 millis", retry: false, circuitBreaker: false })
      const client = Policy.withPolicy(yield* undiciClient, policy)
      const result = yield* Effect.either(Stream.runCollect(JsonLines.streamUnknown(client, `${server.url}/`)))
      expect(Either.isLeft(result) && result.left).toMatchObject({ _tag: "Timeout" })
    }))

  it.scopedLive("a hedged copy that wins the head streams past attemptTimeout too (the flag reaches the hedge's fiber)", () =>
    Effect.gen(function*() {
      let hits = 0
      // the first request gets no head; the hedge sent 30 ms later gets the stream
      const server = yield* Loopback.start({ "/": (_, response) => hits++ === 0 ? undefined : ticking(response) })
      const policy = yield* Policy.make({
        attemptTimeout: "150 millis",
        retry: false,
        circuitBreaker: false,
        hedging: { delay: "30 millis", maxHedges: 1 }
      })
      const client = Policy.withPolicy(yield* undiciClient, policy)
      const items = yield* Stream.runCollect(JsonLines.streamUnknown(client, `${server.url}/`))
      expect(Chunk.toReadonlyArray(items)).toEqual(expected)
      expect(server.hits("/")).toBe(2)
    }))

  // the workaround documented before `Deadline.headOnly` still works
  it.scopedLive("with attemptTimeout and totalTimeout false for the streaming endpoint, the whole stream arrives", () =>
    Effect.gen(function*() {
      const server = yield* Loopback.start({ "/stream": (_, response) => ticking(response) })
      const policy = yield* Policy.make({
        attemptTimeout: "150 millis",
        circuitBreaker: false,
        endpoints: { "GET /stream": { attemptTimeout: false, totalTimeout: false } }
      })
      const client = Policy.withPolicy(yield* undiciClient, policy)
      const items = yield* Stream.runCollect(JsonLines.streamUnknown(client, `${server.url}/stream`))
      expect(Chunk.toReadonlyArray(items)).toEqual(expected)
    }))

  it.scopedLive("a non-2xx status fails before any item with Attempt's status failure", () =>
    Effect.gen(function*() {
      const server = yield* Loopback.start({
        "/": (_, response) => {
          response.writeHead(404, { "content-type": "application/json" })
          response.end("{\"error\":\"no such index\"}")
        }
      })
      const result = yield* Effect.either(
        Stream.runCollect(JsonLines.streamUnknown(yield* undiciClient, `${server.url}/`))
      )
      expect(Either.isLeft(result) && result.left).toMatchObject({
        _tag: "ClientError",
        status: 404,
        bodyExcerpt: "{\"error\":\"no such index\"}"
      })
      expect(HttpFailure.isHttpFailure(Either.isLeft(result) ? result.left : undefined)).toBe(true)
    }))
})
