import { HttpClient, HttpClientError, HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import type { HttpFailure } from "@sturdy/http"
import { JsonLines, Policy } from "@sturdy/http"
import { Deadline } from "@sturdy/policy"
import { TestTracer } from "@sturdy/testing"
import {
  Cause,
  Chunk,
  Clock,
  Duration,
  Effect,
  Exit,
  Fiber,
  FiberRef,
  Option,
  ParseResult,
  Schema,
  Stream,
  TestClock
} from "effect"
import * as fc from "fast-check"
import * as attempt from "../src/internal/attempt.js"
import { systemError } from "./utils/fakeTransport.js"
import { renderedSpans } from "./utils/telemetryProbes.js"
import { runOnClock, settle } from "./utils/virtualTime.js"

// -----------------------------------------------------------------------------
// a scripted HttpClient: each request gets the next turn; a body's chunks go out one a pull
// -----------------------------------------------------------------------------

interface Turn {
  readonly status?: number
  readonly headers?: Record<string, string>
  readonly body?: ReadonlyArray<string | Uint8Array>
  /** what the body does after its chunks: end, hang (no more chunks, never ends) or break (ECONNRESET) */
  readonly then?: "end" | "hang" | "reset"
  readonly refuse?: boolean
  /** the response head comes after this many ms (TestClock) */
  readonly delayMillis?: number
}

interface SeenRequest {
  readonly at: number
  readonly method: string
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
}

const scripted = (turns: ReadonlyArray<Turn>, contentType = "application/x-ndjson") => {
  const seen: Array<SeenRequest> = []
  const client = HttpClient.make((request, url) =>
    Effect.flatMap(Clock.currentTimeMillis, (at) => {
      const turn = turns[Math.min(seen.length, turns.length - 1)]!
      seen.push({ at, method: request.method, url: url.toString(), headers: request.headers })
      if (turn.refuse === true) {
        return Effect.fail(
          new HttpClientError.RequestError({ request, reason: "Transport", cause: systemError("ECONNREFUSED") })
        )
      }
      const chunks = [...(turn.body ?? [])]
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          const chunk = chunks.shift()
          if (chunk !== undefined) {
            return controller.enqueue(typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk)
          }
          if ((turn.then ?? "end") === "end") controller.close()
          if (turn.then === "reset") controller.error(systemError("ECONNRESET"))
        }
      }, { highWaterMark: 0 })
      const status = turn.status ?? 200
      const response = HttpClientResponse.fromWeb(
        request,
        new Response(status === 204 ? null : body, {
          status,
          headers: { "content-type": contentType, ...turn.headers }
        })
      )
      return turn.delayMillis === undefined
        ? Effect.succeed(response)
        : Effect.as(Effect.sleep(turn.delayMillis), response)
    })
  )
  return { client, seen }
}

/** What a stream delivered before it ended, and how it ended. */
const collect = <A, E>(stream: Stream.Stream<A, E>) =>
  Effect.gen(function*() {
    const items: Array<A> = []
    const exit = yield* runOnClock(Stream.tap(stream, (item) => Effect.sync(() => items.push(item))))
    return { items, exit: Exit.map(exit, () => undefined) }
  })

const failureOf = <E>(exit: Exit.Exit<unknown, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("the stream succeeded")
  const failure = Cause.failureOption(exit.cause)
  if (Option.isNone(failure)) throw new Error(`not a failure: ${Cause.pretty(exit.cause)}`)
  return failure.value
}

const url = "https://stream.example.com/items?token=s3cret"
const Item = Schema.Struct({ id: Schema.Number })

// -----------------------------------------------------------------------------
// framing
// -----------------------------------------------------------------------------

describe("JsonLines.split", () => {
  it("LF and CRLF end lines; blank and whitespace-only lines are skipped; a last line without LF is kept", () => {
    expect(JsonLines.split(["1\n\n2\r\n \t\r\n3"])).toEqual(["1", "2", "3"])
  })

  it("a CRLF, a line and a multi-byte character split between chunks", () => {
    const bytes = new TextEncoder().encode("\"é€😀\"\r\n[1]\r\n")
    expect(JsonLines.split(Array.from(bytes, (b) => Uint8Array.of(b)))).toEqual(["\"é€😀\"", "[1]"])
  })

  it("drops one BOM at the start of the body only", () => {
    expect(JsonLines.split(["\uFEFF1\n2\n"])).toEqual(["1", "2"])
    expect(JsonLines.split([Uint8Array.of(0xef), Uint8Array.of(0xbb, 0xbf, 0x31)])).toEqual(["1"])
    expect(JsonLines.split(["1\n\uFEFF2\n"])).toEqual(["1", "\uFEFF2"])
  })

  it("a lone CR is no line end", () => {
    expect(JsonLines.split(["1\r2\n"])).toEqual(["1\r2"])
  })

  it("json-seq: records start with RS; empty records and a blank prefix are skipped; the trailing LF stays", () => {
    expect(JsonLines.split(["\x1e1\n\x1e\x1e{\"a\"", ":2}\n\x1e\n"], "json-seq")).toEqual(["1\n", "{\"a\":2}\n"])
    expect(JsonLines.split(["\uFEFF \n\x1e[]\n"], "json-seq")).toEqual(["[]\n"])
  })
})

// fixed values of fc.jsonValue, as the stream parses them (`__proto__` keys dropped, -0 as 0)
const roundTrip = (value: unknown) => attempt.parseJson(JSON.stringify(value))

/** The byte offsets `cuts` names, as chunks of `bytes`. */
const cutInto = (bytes: Uint8Array, cuts: ReadonlyArray<number>): Array<Uint8Array> => {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
  const chunks: Array<Uint8Array> = []
  let from = 0
  for (const cut of [...at, bytes.length]) {
    chunks.push(bytes.slice(from, cut))
    from = cut
  }
  return chunks
}

const runItems = (chunks: ReadonlyArray<Uint8Array>, contentType: string) =>
  Effect.runPromise(Effect.map(
    Stream.runCollect(JsonLines.streamUnknown(scripted([{ body: chunks }], contentType).client, url)),
    Chunk.toReadonlyArray
  ))

describe("JsonLines property", () => {
  it("any JSON values, lines ended by any mix of LF and CRLF, cut at any byte offsets, parse back the same", () =>
    fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            value: fc.jsonValue(),
            eol: fc.constantFrom("\n", "\r\n"),
            blank: fc.constantFrom("", "\n", " \r\n")
          }),
          { maxLength: 8 }
        ),
        fc.boolean(),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 24 }),
        async (lines, bom, finalEol, cuts) => {
          let text = bom ? "\uFEFF" : ""
          lines.forEach(({ blank, eol, value }, i) => {
            text += blank + JSON.stringify(value) + (i < lines.length - 1 || finalEol ? eol : "")
          })
          const bytes = new TextEncoder().encode(text)
          const items = await runItems(cutInto(bytes, cuts), "application/x-ndjson")
          expect(items).toEqual(lines.map(({ value }) => roundTrip(value)))
        }
      ),
      { seed: 20261207, numRuns: 300 }
    ))

  it("the same for JSON text sequences (RS, the text, LF), with empty records between", () =>
    fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ value: fc.jsonValue(), empty: fc.boolean() }), { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 24 }),
        async (records, cuts) => {
          const text = records.map(({ empty, value }) => (empty ? "\x1e" : "") + `\x1e${JSON.stringify(value)}\n`)
            .join("")
          const bytes = new TextEncoder().encode(text)
          const items = await runItems(cutInto(bytes, cuts), "application/json-seq")
          expect(items).toEqual(records.map(({ value }) => roundTrip(value)))
        }
      ),
      { seed: 7464, numRuns: 300 }
    ))

  it("a bad line's failure carries the editor's line number as line, the number its detail or issue starts with", () =>
    fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ blanks: fc.nat({ max: 2 }), eol: fc.constantFrom("\n", "\r\n") }), { maxLength: 6 }),
        fc.constantFrom("nope", "{\"id\":\"x\"}"),
        fc.array(fc.nat(), { maxLength: 16 }),
        async (before, bad, cuts) => {
          let text = ""
          let line = 1
          before.forEach(({ blanks, eol }, i) => {
            text += eol.repeat(blanks) + `{"id":${i}}` + eol
            line += blanks + 1
          })
          text += `${bad}\n{"id":99}\n`
          const { client } = scripted([{ body: cutInto(new TextEncoder().encode(text), cuts) }])
          const failure = await Effect.runPromise(Effect.flip(Stream.runDrain(JsonLines.stream(client, url, Item))))
          expect(failure).toMatchObject({ _tag: bad === "nope" ? "InvalidJson" : "SchemaMismatch", line })
          const said = failure._tag === "InvalidJson"
            ? failure.detail
            : failure._tag === "SchemaMismatch"
            ? failure.issue
            : ""
          expect(said.startsWith(`line ${line}: `), said).toBe(true)
          expect(JSON.parse(JSON.stringify(failure)).line).toBe(line)
        }
      ),
      { seed: 20261209, numRuns: 200 }
    ))
})

// -----------------------------------------------------------------------------
// the stream
// -----------------------------------------------------------------------------

describe("JsonLines.stream", () => {
  it.effect("decodes each line with the schema; sends a GET with an Accept naming the formats", () =>
    Effect.gen(function*() {
      const { client, seen } = scripted([{ body: ["{\"id\":1}\n{\"id\"", ":2}\r\n\n{\"id\":3}"] }])
      const { exit, items } = yield* collect(JsonLines.stream(client, url, Item))
      expect(exit).toEqual(Exit.void)
      expect(items).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }])
      expect(seen).toHaveLength(1)
      expect(seen[0]!.method).toBe("GET")
      expect(seen[0]!.headers["accept"]).toBe(
        "application/x-ndjson, application/jsonl, application/json-seq, application/json;q=0.9"
      )
    }))

  it.effect("keeps a caller-built request's method, headers and Accept", () =>
    Effect.gen(function*() {
      const { client, seen } = scripted([{ body: ["1\n"] }])
      const request = HttpClientRequest.post(url).pipe(HttpClientRequest.setHeaders({ accept: "x/y", "x-a": "b" }))
      yield* collect(JsonLines.streamUnknown(client, request))
      expect(seen[0]).toMatchObject({ method: "POST", headers: { accept: "x/y", "x-a": "b" } })
    }))

  it.effect("a non-2xx status fails before any item, as Attempt's status failure (excerpt, Retry-After)", () =>
    Effect.gen(function*() {
      const down = scripted([{
        status: 503,
        headers: { "retry-after": "7", "content-type": "text/plain" },
        body: ["down, token=s3cret"]
      }])
      const { exit, items } = yield* collect(JsonLines.stream(down.client, url, Item))
      expect(items).toEqual([])
      const failure = failureOf(exit)
      expect(failure._tag).toBe("ServerError")
      if (failure._tag !== "ServerError") return
      expect(failure.status).toBe(503)
      expect(Option.map(failure.retryAfter, (d) => d.toJSON())).toEqual(
        Option.some({ _id: "Duration", _tag: "Millis", millis: 7000 })
      )
      expect(failure.bodyExcerpt).toContain("down")
      expect(failure.bodyExcerpt).not.toContain("s3cret")
      const missing = scripted([{ status: 404, body: ["{\"id\":1}\n"] }])
      expect(failureOf((yield* collect(JsonLines.stream(missing.client, url, Item))).exit)._tag).toBe("ClientError")
    }))

  it.effect("204 and a HEAD answer end without an item", () =>
    Effect.gen(function*() {
      const { client } = scripted([{ status: 204 }])
      expect(yield* collect(JsonLines.stream(client, url, Item))).toEqual({ items: [], exit: Exit.void })
      const empty = scripted([{ body: [] }])
      expect(yield* collect(JsonLines.stream(empty.client, HttpClientRequest.head(url), Item))).toEqual({
        items: [],
        exit: Exit.void
      })
    }))

  it.effect("an unexpected Content-Type fails as Attempt's expectedContentTypes; a missing one is accepted", () =>
    Effect.gen(function*() {
      const html = scripted([{ body: ["<html>"] }], "text/html; charset=utf-8")
      const failure = failureOf((yield* collect(JsonLines.stream(html.client, url, Item))).exit)
      expect(failure).toMatchObject({ _tag: "UnexpectedContentType", contentType: "text/html; charset=utf-8" })
      // Docker's events and Kubernetes' watch send newline-delimited JSON as application/json
      const docker = scripted([{ body: ["{\"id\":1}\n{\"id\":2}\n"] }], "application/json")
      expect((yield* collect(JsonLines.stream(docker.client, url, Item))).items).toEqual([{ id: 1 }, { id: 2 }])
      const any = scripted([{ body: ["{\"id\":1}\n"] }], "text/plain")
      expect((yield* collect(JsonLines.stream(any.client, url, Item, { expectedContentTypes: [] }))).items).toEqual([
        { id: 1 }
      ])
      // no type named: no Accept (never an empty one); named types: those
      expect(any.seen[0]!.headers["accept"]).toBeUndefined()
      const named = scripted([{ body: ["{\"id\":1}\n"] }], "application/vnd.api+ndjson")
      const only = yield* collect(
        JsonLines.stream(named.client, url, Item, { expectedContentTypes: ["application/vnd.api+ndjson", "+json"] })
      )
      expect(only.items).toEqual([{ id: 1 }])
      expect(named.seen[0]!.headers["accept"]).toBe("application/vnd.api+ndjson")
    }))

  it.effect("a missing Content-Type is accepted and read as JSON Lines", () =>
    Effect.gen(function*() {
      const client = HttpClient.make((request) =>
        Effect.succeed(HttpClientResponse.fromWeb(request, new Response(new TextEncoder().encode("1\n2\n"))))
      )
      const { items } = yield* collect(JsonLines.streamUnknown(client, url))
      expect(items).toEqual([1, 2])
    }))

  it.effect("the Content-Type chooses the format unless format is given", () =>
    Effect.gen(function*() {
      const seq = scripted([{ body: ["\x1e{\"id\":1}\n\x1e{\"id\":2}\n"] }], "application/json-seq")
      expect((yield* collect(JsonLines.stream(seq.client, url, Item))).items).toEqual([{ id: 1 }, { id: 2 }])
      const forced = scripted([{ body: ["\x1e{\"id\":1}\n\x1e{\"id\":2}\n"] }], "application/octet-stream")
      const { items } = yield* collect(
        JsonLines.stream(forced.client, url, Item, { format: "json-seq", expectedContentTypes: [] })
      )
      expect(items).toEqual([{ id: 1 }, { id: 2 }])
      const lines = scripted([{ body: ["{\"id\":1}\n"] }], "application/json-seq")
      const asLines = yield* collect(JsonLines.stream(lines.client, url, Item, { format: "ndjson" }))
      expect(asLines.items).toEqual([{ id: 1 }])
    }))

  it.effect("a line that is not JSON fails with InvalidJson naming its line number, after the items before it", () =>
    Effect.gen(function*() {
      const { client } = scripted([{ body: ["{\"id\":1}\n\n{\"id\":2}\n{\"token\":\"s3cret\"\n{\"id\":4}\n"] }])
      const { exit, items } = yield* collect(JsonLines.stream(client, url, Item))
      expect(items).toEqual([{ id: 1 }, { id: 2 }])
      const failure = failureOf(exit)
      expect(failure._tag).toBe("InvalidJson")
      if (failure._tag !== "InvalidJson") return
      expect(failure.detail).toMatch(/^line 4: /)
      // the excerpt is the line's, redacted as Attempt redacts a body: the URL's secret never shows
      expect(failure.bodyExcerpt).toContain("token")
      expect(failure.bodyExcerpt).not.toContain("s3cret")
      expect(failure.message).not.toContain("s3cret")
      expect(failure.url).not.toContain("s3cret")
    }))

  it.effect("a line of the wrong shape fails with SchemaMismatch naming its line number", () =>
    Effect.gen(function*() {
      const { client } = scripted([{ body: ["{\"id\":1}\r\n{\"id\":\"two\"}\r\n{\"id\":3}\r\n"] }])
      const { exit, items } = yield* collect(JsonLines.stream(client, url, Item))
      expect(items).toEqual([{ id: 1 }])
      expect(failureOf(exit)).toMatchObject({ _tag: "SchemaMismatch", path: "$.id" })
      const failure = failureOf(exit)
      if (failure._tag === "SchemaMismatch") expect(failure.issue).toMatch(/^line 2: Expected number/)
    }))

  it.effect("onInvalid: skip skips lines that are not JSON or of the wrong shape, and counts them on the span", () =>
    Effect.gen(function*() {
      const { spans, tracer } = TestTracer.make()
      const { client } = scripted([{ body: ["{\"id\":1}\nnope\n{\"id\":\"x\"}\n{\"id\":4}\n"] }])
      const { exit, items } = yield* collect(JsonLines.stream(client, url, Item, { onInvalid: "skip" })).pipe(
        Effect.withTracer(tracer)
      )
      expect(exit).toEqual(Exit.void)
      expect(items).toEqual([{ id: 1 }, { id: 4 }])
      const [span] = spans.filter((s) => s.name === "http.client.json_lines GET")
      expect(span.attributes.get("sturdy.skipped")).toBe(2)
      expect(span.attributes.get("sturdy.items")).toBe(2)
    }))

  it.effect("a schema that waits (an effectful transformation): items in order, its failures named and skippable", () =>
    Effect.gen(function*() {
      const Slow = Schema.transformOrFail(Schema.Number, Schema.Number, {
        strict: true,
        decode: (n, _, ast) =>
          n < 0 ? ParseResult.fail(new ParseResult.Type(ast, n, "negative")) : Effect.as(Effect.sleep("1 second"), n),
        encode: ParseResult.succeed
      })
      const body = ["1\n2\n-3\n4\n"]
      const failing = scripted([{ body }])
      const first = yield* collect(JsonLines.stream(failing.client, url, Slow))
      expect(first.items).toEqual([1, 2])
      const failure = failureOf(first.exit)
      expect(failure._tag === "SchemaMismatch" && failure.issue).toMatch(/^line 3: /)
      expect(failure).toMatchObject({ _tag: "SchemaMismatch", line: 3 })
      const skipping = scripted([{ body }])
      const second = yield* collect(JsonLines.stream(skipping.client, url, Slow, { onInvalid: "skip" }))
      expect(second).toEqual({ items: [1, 2, 4], exit: Exit.void })
    }))

  it.effect("a line longer than maxLineBytes fails with BodyTooLarge after the items before it, same chunk too", () =>
    Effect.gen(function*() {
      const { client } = scripted([{ body: ["1\n22\n" + "3".repeat(20)], then: "hang" }])
      const { exit, items } = yield* collect(JsonLines.streamUnknown(client, url, { maxLineBytes: 10 }))
      expect(items).toEqual([1, 22])
      expect(failureOf(exit)).toMatchObject({ _tag: "BodyTooLarge", limitBytes: 10 })
      // a complete line over the limit, too; a line of exactly the limit (its CRLF not counted) passes
      const complete = scripted([{ body: ["1\n" + "4".repeat(11) + "\n5\n"] }])
      const second = yield* collect(JsonLines.streamUnknown(complete.client, url, { maxLineBytes: 10 }))
      expect(second.items).toEqual([1])
      expect(failureOf(second.exit)._tag).toBe("BodyTooLarge")
      // onInvalid: skip skips bad lines, never a limit
      const skipping = scripted([{ body: ["1\n" + "4".repeat(11) + "\n5\n"] }])
      const third = yield* collect(
        JsonLines.streamUnknown(skipping.client, url, { maxLineBytes: 10, onInvalid: "skip" })
      )
      expect(third.items).toEqual([1])
      expect(failureOf(third.exit)._tag).toBe("BodyTooLarge")
      const exact = scripted([{ body: ["4".repeat(10) + "\r", "\n" + "5".repeat(10) + "\r\n"] }])
      expect((yield* collect(JsonLines.streamUnknown(exact.client, url, { maxLineBytes: 10 }))).items).toEqual([
        4444444444,
        5555555555
      ])
    }))

  it.effect("maxJsonDepth bounds a line's nesting (InvalidJson)", () =>
    Effect.gen(function*() {
      const { client } = scripted([{ body: ["[[1]]\n[[[[[[1]]]]]]\n"] }])
      const { exit, items } = yield* collect(JsonLines.streamUnknown(client, url, { maxJsonDepth: 2 }))
      expect(items).toEqual([[[1]]])
      const failure = failureOf(exit)
      expect(failure._tag === "InvalidJson" && failure.detail).toMatch(/^line 2: nested deeper than 2/)
    }))

  it.effect("a body cut mid-stream fails with BodyTruncated after every complete item; the partial line is dropped", () =>
    Effect.gen(function*() {
      const { client } = scripted([{ body: ["{\"id\":1}\n{\"id\":2}\n{\"id\":3"], then: "reset" }])
      const { exit, items } = yield* collect(JsonLines.stream(client, url, Item))
      expect(items).toEqual([{ id: 1 }, { id: 2 }])
      expect(failureOf(exit)).toMatchObject({ _tag: "BodyTruncated", status: 200 })
    }))

  it.effect("idleTimeout: no chunk within it fails with Timeout (BodyRead); timeout bounds the head (Attempt)", () =>
    Effect.gen(function*() {
      const { client } = scripted([{ body: ["1\n2\n"], then: "hang" }])
      const { exit, items } = yield* collect(JsonLines.streamUnknown(client, url, { idleTimeout: "5 seconds" }))
      expect(items).toEqual([1, 2])
      expect(failureOf(exit)).toMatchObject({ _tag: "Timeout", phase: "BodyRead" })
      const slow = scripted([{ body: ["1\n"], delayMillis: 10_000 }])
      const head = yield* collect(JsonLines.streamUnknown(slow.client, url, { timeout: "2 seconds" }))
      expect(head.items).toEqual([])
      expect(failureOf(head.exit)).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
    }))

  // the idle bound is a race between the next chunk and a sleep: consumed inside a caller's mask, the read of the
  // next chunk inherited it and ignored the bound's interruption, so a stalled body held the caller for ever
  it.effect("idleTimeout fires on time when the stream is consumed inside an uninterruptible region", () =>
    Effect.gen(function*() {
      const { client } = scripted([{ body: ["1\n"], then: "hang" }])
      const items: Array<unknown> = []
      // a daemon: a fiber that ignored the bound is left behind rather than awaited by the test
      const fiber = yield* Effect.forkDaemon(Effect.uninterruptible(Effect.exit(Stream.runForEach(
        JsonLines.streamUnknown(client, url, { idleTimeout: "5 seconds" }),
        (item) => Effect.sync(() => items.push(item))
      ))))
      yield* settle
      yield* TestClock.adjust("4999 millis")
      yield* settle
      expect(items).toEqual([1])
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* TestClock.adjust("1 millis")
      yield* settle
      // polled, not joined: a fiber that ignored the bound would hang the test instead of failing it
      const exit = Option.getOrThrowWith(yield* Fiber.poll(fiber), () => new Error("the idle timeout did not fire"))
      const failure = failureOf(Exit.flatten(exit))
      expect(failure).toMatchObject({ _tag: "Timeout", phase: "BodyRead" })
      expect(Duration.toMillis((failure as HttpFailure.Timeout).timeout)).toBe(5000)
    }))

  // the head's bound is `Attempt`'s timeout (its own fix): a stream consumed inside a mask gets it on time too
  it.effect("timeout bounds the head when the stream is consumed inside an uninterruptible region", () =>
    Effect.gen(function*() {
      const { client } = scripted([{ body: ["1\n"], delayMillis: 10_000 }])
      const fiber = yield* Effect.forkDaemon(Effect.uninterruptible(Effect.exit(Stream.runDrain(
        JsonLines.streamUnknown(client, url, { timeout: "2 seconds", idleTimeout: "5 seconds" })
      ))))
      yield* settle
      yield* TestClock.adjust("1999 millis")
      yield* settle
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* TestClock.adjust("1 millis")
      yield* settle
      const exit = Option.getOrThrowWith(yield* Fiber.poll(fiber), () => new Error("the head timeout did not fire"))
      expect(failureOf(Exit.flatten(exit))).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
    }))

  // only the bound's own interruption reaches the read: the caller's mask still holds against one from outside, also
  // for a caller that pulls the stream itself (`Stream.toPull`: the bound's race then runs in the caller's fiber,
  // which hands an interruption it holds off on to the fibers it started)
  for (const how of ["Stream.runForEach", "Stream.toPull"] as const) {
    it.effect(`inside an uninterruptible region, an interruption from outside waits for the idle timeout (${how})`, () =>
      Effect.gen(function*() {
        const { client } = scripted([{ body: ["1\n"], then: "hang" }])
        const items: Array<unknown> = []
        const stream = JsonLines.streamUnknown(client, url, { idleTimeout: "5 seconds" })
        const consume: Effect.Effect<void, unknown> = how === "Stream.runForEach"
          ? Stream.runForEach(stream, (item) => Effect.sync(() => items.push(item)))
          : Effect.scoped(Effect.gen(function*() {
            const pull = yield* Stream.toPull(stream)
            for (;;) items.push(...Chunk.toReadonlyArray(yield* pull))
          }))
        const fiber = yield* Effect.forkDaemon(Effect.uninterruptible(Effect.exit(consume)))
        yield* settle
        yield* TestClock.adjust("1 second")
        const interrupting = yield* Effect.forkDaemon(Fiber.interrupt(fiber))
        yield* settle
        expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
        yield* TestClock.adjust("3999 millis")
        yield* settle
        expect(items).toEqual([1])
        expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
        expect(Option.isNone(yield* Fiber.poll(interrupting))).toBe(true)
        yield* TestClock.adjust("1 millis")
        yield* settle
        const result = Option.getOrThrowWith(yield* Fiber.poll(fiber), () => new Error("the idle timeout did not fire"))
        // the region ran to its end (the bound's failure inside), then the caller's interruption took effect
        expect(Exit.isInterrupted(result)).toBe(true)
        expect(Option.isSome(yield* Fiber.poll(interrupting))).toBe(true)
      }))
  }

  it.effect("options out of range fail with InvalidRequest before anything is sent, naming each", () =>
    Effect.gen(function*() {
      const { client, seen } = scripted([{ body: ["1\n"] }])
      const options = {
        maxLineBytes: 0,
        maxJsonDepth: -1,
        idleTimeout: 2 ** 31,
        timeout: Number.NaN,
        onInvalid: "ignore",
        format: "csv"
      } as unknown as JsonLines.Options
      const failure = failureOf((yield* collect(JsonLines.streamUnknown(client, url, options))).exit)
      expect(failure._tag).toBe("InvalidRequest")
      if (failure._tag !== "InvalidRequest") return
      expect(failure.reason).toBe("InvalidOptions")
      for (const name of ["maxLineBytes", "maxJsonDepth", "idleTimeout", "timeout", "onInvalid", "format"]) {
        expect(failure.detail).toContain(name)
      }
      expect(seen).toHaveLength(0)
    }))

  it.effect("json-seq: a record that does not parse fails, or is skipped (RFC 7464 §2.4); a bare number without LF may be cut (§2.3)", () =>
    Effect.gen(function*() {
      const body = ["\x1e{\"id\":1}\n\x1e{\"id\":\n\x1e{\"id\":3}\n\x1e12"]
      const failing = scripted([{ body }], "application/json-seq")
      const first = yield* collect(JsonLines.streamUnknown(failing.client, url))
      expect(first.items).toEqual([{ id: 1 }])
      const failure = failureOf(first.exit)
      expect(failure._tag === "InvalidJson" && failure.detail).toMatch(/^record 2: /)
      const skipping = scripted([{ body }], "application/json-seq")
      const second = yield* collect(JsonLines.streamUnknown(skipping.client, url, { onInvalid: "skip" }))
      expect(second).toEqual({ items: [{ id: 1 }, { id: 3 }], exit: Exit.void })
      const truncated = scripted([{ body: ["\x1e1\n\x1e12"] }], "application/json-seq")
      const third = yield* collect(JsonLines.streamUnknown(truncated.client, url))
      expect(third.items).toEqual([1])
      const cut = failureOf(third.exit)
      expect(cut._tag === "InvalidJson" && cut.detail).toMatch(/^record 2: .*RFC 7464 §2.3/)
    }))

  it.effect("the failing line's number is the failure's line field, in toJSON too; the message keeps the prefix", () =>
    Effect.gen(function*() {
      const lineOf = (body: ReadonlyArray<string>, contentType?: string, options?: JsonLines.Options) =>
        Effect.map(
          collect(JsonLines.stream(scripted([{ body }], contentType).client, url, Item, options)),
          ({ exit }) => failureOf(exit)
        )
      const notJson = yield* lineOf(["{\"id\":1}\n\n{\"id\":2}\n{\"token\":\"s3cret\"\n{\"id\":4}\n"])
      expect(notJson).toMatchObject({ _tag: "InvalidJson", line: 4 })
      expect(notJson.message).toMatch(/^invalid JSON \(line 4: /)
      expect(JSON.parse(JSON.stringify(notJson))).toMatchObject({ _tag: "InvalidJson", line: 4 })
      expect(JSON.stringify(notJson)).not.toContain("s3cret")
      const wrongShape = yield* lineOf(["{\"id\":1}\r\n{\"id\":\"two\"}\r\n"])
      expect(wrongShape).toMatchObject({ _tag: "SchemaMismatch", line: 2, path: "$.id" })
      expect(wrongShape.toJSON()).toMatchObject({ line: 2 })
      const tooDeep = yield* lineOf(["{\"id\":1}\n{\"id\":[[[1]]]}\n"], undefined, { maxJsonDepth: 2 })
      expect(tooDeep).toMatchObject({ _tag: "InvalidJson", line: 2 })
      // a sequence's records: by their RS, data before the first being record 0; a cut number is its record too
      const seq = "application/json-seq"
      expect(yield* lineOf(["\x1e{\"id\":1}\n\x1e{\"id\":\n"], seq)).toMatchObject({ _tag: "InvalidJson", line: 2 })
      expect(yield* lineOf(["{\"id\":0}\n\x1e{\"id\":1}\n"], seq)).toMatchObject({ _tag: "InvalidJson", line: 0 })
      expect(yield* lineOf(["\x1e{\"id\":1}\n\x1e12"], seq)).toMatchObject({ _tag: "InvalidJson", line: 2 })
      // a limit is about the stream, not a line's content: no line field
      const tooLong = yield* lineOf(["{\"id\":1}\n" + "1".repeat(20) + "\n"], undefined, { maxLineBytes: 10 })
      expect(tooLong._tag).toBe("BodyTooLarge")
      expect("line" in tooLong).toBe(false)
    }))

  it.effect("json-seq: data before the first RS is invalid (record 0)", () =>
    Effect.gen(function*() {
      const { client } = scripted([{ body: ["{\"id\":0}\n\x1e{\"id\":1}\n"] }], "application/json-seq")
      const { exit, items } = yield* collect(JsonLines.streamUnknown(client, url))
      expect(items).toEqual([])
      const failure = failureOf(exit)
      expect(failure._tag === "InvalidJson" && failure.detail).toBe("record 0: data before the first RS")
    }))
})

// -----------------------------------------------------------------------------
// with a Policy on the client: the head is retried, the items never
// -----------------------------------------------------------------------------

describe("JsonLines with Policy.withPolicy", () => {
  const options: Policy.Options = {
    totalTimeout: "30 seconds",
    attemptTimeout: "10 seconds",
    retry: { maxAttempts: 3, baseDelay: "100 millis", maxDelay: "1 second", jitter: "none", budget: false },
    circuitBreaker: false
  }

  it.scoped("a 503 then a 200: the policy retries the head, and each item is delivered once", () =>
    Effect.gen(function*() {
      const { client, seen } = scripted([
        { status: 503, headers: { "retry-after": "1" } },
        { refuse: true },
        { body: ["{\"id\":1}\n", "{\"id\":2}\n"] }
      ])
      const policy = yield* Policy.make(options)
      const { exit, items } = yield* collect(JsonLines.stream(Policy.withPolicy(client, policy), url, Item))
      expect(exit).toEqual(Exit.void)
      expect(items).toEqual([{ id: 1 }, { id: 2 }])
      // three requests: the 503's Retry-After (1 s, and the policy's spread) is waited before the second
      expect(seen).toHaveLength(3)
      expect(seen[1]!.at).toBeGreaterThanOrEqual(1000)
    }))

  it.scoped("a body cut mid-stream is not retried: it fails with BodyTruncated after the items", () =>
    Effect.gen(function*() {
      const { client, seen } = scripted([{ body: ["{\"id\":1}\n{\"id\":2"], then: "reset" }, {
        body: ["{\"id\":9}\n"]
      }])
      const policy = yield* Policy.make(options)
      const { exit, items } = yield* collect(JsonLines.stream(Policy.withPolicy(client, policy), url, Item))
      expect(items).toEqual([{ id: 1 }])
      expect(failureOf(exit)._tag).toBe("BodyTruncated")
      expect(seen).toHaveLength(1)
    }))

  it.scoped("the policy gives up on the head: the stream fails with the last status failure", () =>
    Effect.gen(function*() {
      const { client, seen } = scripted([{ status: 503, body: ["busy"], headers: { "content-type": "text/plain" } }])
      const policy = yield* Policy.make(options)
      const { exit, items } = yield* collect(JsonLines.stream(Policy.withPolicy(client, policy), url, Item))
      expect(items).toEqual([])
      expect(failureOf(exit)).toMatchObject({ _tag: "ServerError", status: 503, bodyExcerpt: "busy" })
      expect(seen).toHaveLength(3)
    }))
})

// -----------------------------------------------------------------------------
// telemetry
// -----------------------------------------------------------------------------

describe("JsonLines telemetry", () => {
  it.effect("one span for the stream with sturdy.items; the request's redacted client span is its child", () =>
    Effect.gen(function*() {
      const { spans, tracer } = TestTracer.make()
      const { client } = scripted([{ body: ["{\"id\":1}\n{\"id\":2}\n{\"secret\":\"s3cret\"}\n"] }])
      const { exit } = yield* collect(JsonLines.stream(client, url, Item)).pipe(Effect.withTracer(tracer))
      expect(failureOf(exit)._tag).toBe("SchemaMismatch")
      const [stream] = spans.filter((span) => span.name === "http.client.json_lines GET")
      expect(stream.kind).toBe("internal")
      expect(Object.fromEntries(stream.attributes)).toMatchObject({
        "url.full": "https://stream.example.com/items?token=<redacted>",
        "sturdy.items": 2,
        "sturdy.format": "ndjson",
        "sturdy.outcome": "failure",
        "error.type": "SchemaMismatch"
      })
      expect(stream.attributes.has("sturdy.reconnects")).toBe(false)
      const requests = spans.filter((span) => span !== stream)
      expect(requests.map((span) => [span.name, span.kind])).toEqual([["http.client GET", "client"]])
      expect(Option.getOrUndefined(requests[0]!.parent)).toBe(stream)
      expect(renderedSpans(spans)).not.toContain("s3cret")
    }))

  it.effect("a consumer that stops early cancels the body and ends the span", () =>
    Effect.gen(function*() {
      const { spans, tracer } = TestTracer.make()
      let cancelled = 0
      const client = HttpClient.make((request) =>
        Effect.succeed(HttpClientResponse.fromWeb(
          request,
          new Response(
            new ReadableStream<Uint8Array>({
              start(controller) {
                controller.enqueue(new TextEncoder().encode("1\n2\n3\n"))
              },
              cancel() {
                cancelled++
              }
            }),
            { headers: { "content-type": "application/x-ndjson" } }
          )
        ))
      )
      const taken = yield* Stream.runCollect(Stream.take(JsonLines.streamUnknown(client, url), 2)).pipe(
        Effect.withTracer(tracer)
      )
      expect(Chunk.toReadonlyArray(taken)).toEqual([1, 2])
      yield* settle
      expect(cancelled).toBe(1)
      const [stream] = spans.filter((span) => span.name === "http.client.json_lines GET")
      expect(stream.status._tag).toBe("Ended")
      // counted as handed on, a chunk at a time: the three lines of the one chunk
      expect(stream.attributes.get("sturdy.items")).toBe(3)
    }))

  it.effect("without a tracer no span is built (the platform's span has no parent)", () =>
    Effect.gen(function*() {
      const inner = scripted([{ body: ["1\n"] }])
      const parents: Array<string | undefined> = []
      const client = HttpClient.make((request) =>
        Effect.flatMap(Effect.orDie(Effect.currentSpan), (span) => {
          parents.push(Option.match(span.parent, { onNone: () => undefined, onSome: (p) => String(p.spanId) }))
          return inner.client.execute(request)
        })
      )
      const items = yield* Stream.runCollect(JsonLines.streamUnknown(client, url))
      expect(Chunk.toReadonlyArray(items)).toEqual([1])
      expect(parents).toEqual([undefined])
    }))
})

describe("JsonLines and deadlines", () => {
  // a deadline-enforcing transport (`@sturdy/node`'s) then stops at the head: a policy's timeouts do not end the items
  // (test/peer-jsonlines.test.ts runs it over the wire)
  it.effect("the request is sent under Deadline.headOnly; the items are read outside it", () =>
    Effect.gen(function*() {
      const sent: Array<boolean> = []
      const client = HttpClient.make((request) =>
        Effect.map(FiberRef.get(Deadline.currentHeadOnly), (headOnly) => {
          sent.push(headOnly)
          return HttpClientResponse.fromWeb(request, new Response(new TextEncoder().encode("1\n2\n")))
        })
      )
      const read: Array<boolean> = []
      const items = yield* JsonLines.streamUnknown(client, url).pipe(
        Stream.tap(() => Effect.map(FiberRef.get(Deadline.currentHeadOnly), (headOnly) => read.push(headOnly))),
        Stream.runCollect
      )
      expect(Chunk.toReadonlyArray(items)).toEqual([1, 2])
      expect(sent).toEqual([true])
      expect(read).toEqual([false, false])
    }))
})
