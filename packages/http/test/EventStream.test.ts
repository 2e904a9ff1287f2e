import { HttpClient, HttpClientError, HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { EventStream, HttpFailure, Policy } from "@sturdy/http"
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
  Schedule,
  Schema,
  Stream,
  TestClock
} from "effect"
import * as fc from "fast-check"
import * as internal from "../src/internal/eventStream.js"
import { systemError } from "./utils/fakeTransport.js"
import { counterValue, renderedLabels, renderedSpans } from "./utils/telemetryProbes.js"
import { runOnClock, settle } from "./utils/virtualTime.js"

// -----------------------------------------------------------------------------
// parser: the examples of HTML Living Standard §9.2.6 "Interpreting an event stream"
// -----------------------------------------------------------------------------

const parse = (text: string | ReadonlyArray<string>, lastEventId = "") =>
  EventStream.parse(typeof text === "string" ? [text] : text, lastEventId)
const msg = (data: string, lastEventId = "", type = "message") => ({ type, data, lastEventId })

describe("EventStream.parse", () => {
  it("joins data lines with LF (the spec's YHOO example)", () => {
    expect(parse("data: YHOO\ndata: +2\ndata: 10\n\n")).toEqual([msg("YHOO\n+2\n10")])
  })

  it("comments, ids that persist and an empty id that resets (the spec's second example)", () => {
    const text = ": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n"
    expect(parse(text)).toEqual([msg("first event", "1"), msg("second event", ""), msg(" third event", "")])
  })

  it("a field without a colon has an empty value; an incomplete last event is dropped (third example)", () => {
    expect(parse("data\n\ndata\ndata\n\ndata:")).toEqual([msg(""), msg("\n")])
  })

  it("one space after the colon is dropped (fourth example)", () => {
    expect(parse("data:test\n\ndata: test\n\n")).toEqual([msg("test"), msg("test")])
  })

  it("CR, LF and CRLF all end lines, also when a chunk splits a CRLF", () => {
    expect(parse("data: a\rdata: b\r\ndata: c\n\r\n")).toEqual([msg("a\nb\nc")])
    expect(parse(["data: a\r", "\n", "\r", "\ndata: b\r", "\r"])).toEqual([msg("a"), msg("b")])
  })

  it("drops one leading BOM only", () => {
    expect(parse("\uFEFFdata: a\n\n")).toEqual([msg("a")])
    expect(parse("\uFEFF\uFEFFdata: a\n\n")).toEqual([])
    expect(parse(["", "\uFEFFdata: a\n\n"])).toEqual([msg("a")])
  })

  it("event sets the type until the dispatch; unknown fields are ignored", () => {
    expect(parse("event: add\nfoo: bar\ndata: 1\n\ndata: 2\n\n")).toEqual([msg("1", "", "add"), msg("2")])
  })

  it("an id holding NULL is ignored; an id without data still sets the last event id", () => {
    expect(parse("id: 1\ndata: a\n\nid: 2\u00003\ndata: b\n\nid: 7\n\ndata: c\n\n")).toEqual([
      msg("a", "1"),
      msg("b", "1"),
      msg("c", "7")
    ])
  })

  it("retry takes ASCII digits only", () => {
    const parser = new internal.Parser("")
    parser.feed("retry: 12abc\n\nretry: -5\n\nretry: 1.5\n\n")
    expect(parser.reconnectionTime).toBeUndefined()
    parser.feed("retry: 250\n\n")
    expect(parser.reconnectionTime).toBe(250)
  })

  it("the last event id given persists into the events", () => {
    expect(parse("data: a\n\n", "42")).toEqual([msg("a", "42")])
  })

  it("decodes a multi-byte character split between byte chunks", () => {
    const bytes = new TextEncoder().encode("data: é€😀\n\n")
    const chunks = Array.from(bytes, (b) => Uint8Array.of(b))
    expect(internal.parseBytes(chunks)).toEqual([msg("é€😀")])
  })
})

// -----------------------------------------------------------------------------
// property: serialize, re-chunk at any byte boundary, parse back
// -----------------------------------------------------------------------------

const lineText = fc.string({ unit: "binary" }).map((s) => s.replace(/[\r\n]/g, ""))
// an id holding a control character (tab aside) is ignored, as one holding NULL
const idText = lineText.map((s) =>
  Array.from(s).filter((c) => {
    const code = c.charCodeAt(0)
    return !((code < 0x20 && code !== 0x09) || code === 0x7f)
  }).join("")
)
const eventArb = fc.record({
  type: fc.option(lineText.filter((s) => s !== ""), { nil: undefined }),
  id: fc.option(idText, { nil: undefined }),
  // data lines, at least one (an event without data is not dispatched)
  lines: fc.array(lineText, { minLength: 1, maxLength: 4 }),
  eol: fc.constantFrom("\n", "\r", "\r\n"),
  comment: fc.boolean()
})

const serialize = (event: fc.RecordValue<typeof eventArb extends fc.Arbitrary<infer T> ? T : never>) => {
  const { comment, eol, id, lines, type } = event
  let out = comment ? `: keep-alive${eol}` : ""
  if (type !== undefined) out += `event: ${type}${eol}`
  if (id !== undefined) out += `id: ${id}${eol}`
  for (const line of lines) out += `data: ${line}${eol}`
  return out + eol
}

describe("EventStream property", () => {
  it("any events, serialized and cut at arbitrary byte boundaries, parse back to the same events", () => {
    fc.assert(
      fc.property(
        fc.array(eventArb, { maxLength: 8 }),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 20 }),
        (events, bom, cuts) => {
          const text = (bom ? "\uFEFF" : "") + events.map(serialize).join("")
          const bytes = new TextEncoder().encode(text)
          const at = [...new Set(cuts.map((c) => bytes.length === 0 ? 0 : c % (bytes.length + 1)))].sort((a, b) =>
            a - b
          )
          const chunks: Array<Uint8Array> = []
          let from = 0
          for (const cut of [...at, bytes.length]) {
            chunks.push(bytes.subarray(from, cut))
            from = cut
          }
          let lastEventId = ""
          const expected = events.map((e) => {
            if (e.id !== undefined) lastEventId = e.id
            return { type: e.type ?? "message", data: e.lines.join("\n"), lastEventId }
          })
          expect(internal.parseBytes(chunks)).toEqual(expected)
        }
      ),
      { seed: 20261207, numRuns: 400 }
    )
  })
})

// -----------------------------------------------------------------------------
// reconnection, on a scripted HttpClient and the TestClock
// -----------------------------------------------------------------------------

type Body = ReadonlyArray<string | Uint8Array>
/** One connection: a status (200 by default) and its body, which then ends, hangs or breaks. */
interface Turn {
  readonly status?: number
  readonly headers?: Record<string, string>
  readonly body?: Body
  readonly then?: "end" | "hang" | "reset"
  readonly refuse?: boolean
}

interface SeenRequest {
  readonly at: number
  readonly method: string
  readonly headers: Readonly<Record<string, string>>
}

const scripted = (turns: ReadonlyArray<Turn>) => {
  const seen: Array<SeenRequest> = []
  let cancelled = 0
  const client = HttpClient.make((request) =>
    Effect.flatMap(Clock.currentTimeMillis, (at) => {
      const turn = turns[Math.min(seen.length, turns.length - 1)]!
      seen.push({ at, method: request.method, headers: request.headers })
      if (turn.refuse === true) {
        return Effect.fail(
          new HttpClientError.RequestError({ request, reason: "Transport", cause: systemError("ECONNREFUSED") })
        )
      }
      // chunks go out one a pull, so an error after them does not discard them (as `controller.error` drops a queue)
      const chunks = [...(turn.body ?? [])]
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          const chunk = chunks.shift()
          if (chunk !== undefined) {
            return controller.enqueue(typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk)
          }
          if ((turn.then ?? "end") === "end") controller.close()
          if (turn.then === "reset") controller.error(systemError("ECONNRESET"))
        },
        cancel() {
          cancelled++
        }
      }, { highWaterMark: 0 })
      const status = turn.status ?? 200
      return Effect.succeed(HttpClientResponse.fromWeb(
        request,
        new Response(status === 204 ? null : body, {
          status,
          headers: { "content-type": "text/event-stream", ...turn.headers }
        })
      ))
    })
  )
  return { client, seen, cancelled: () => cancelled }
}

const url = "https://sse.example.com/feed?token=s3cret"
// bounded, so a failure wrongly reconnected ends in EventStreamError instead of looping for ever
const quick = { reconnectionTime: 0, schedule: Schedule.recurs(20) }
const dataOf = (events: ReadonlyArray<EventStream.Event>) => events.map((e) => e.data)

describe("EventStream.make", () => {
  it.effect("sends Accept, Cache-Control and, on reconnects, the Last-Event-ID", () =>
    Effect.gen(function*() {
      const { client, seen } = scripted([
        { body: ["id: 1\ndata: a\n\n", "data: b\n"] },
        { body: ["data: c\n\n"], then: "reset" },
        { status: 204 }
      ])
      const exit = yield* runOnClock(EventStream.make(client, url, quick))
      expect(Exit.map(exit, dataOf)).toEqual(Exit.succeed(["a", "c"]))
      expect(seen.map((s) => s.headers["last-event-id"])).toEqual([undefined, "1", "1"])
      expect(seen[0]!.headers).toMatchObject({ accept: "text/event-stream", "cache-control": "no-store" })
      expect(seen.every((s) => s.method === "GET")).toBe(true)
    }))

  it.effect("an id without data, last before the connection ends, is the reconnect's Last-Event-ID", () =>
    Effect.gen(function*() {
      const { client, seen } = scripted([{ body: ["id: 1\ndata: a\n\nid: 5\n\n"] }, { status: 204 }])
      yield* runOnClock(EventStream.make(client, url, quick))
      expect(seen.map((s) => s.headers["last-event-id"])).toEqual([undefined, "5"])
    }))

  it.effect("a wait longer than a timer holds (2^31 - 1 ms) is slept in steps, so it ends on a live Clock", () =>
    Effect.gen(function*() {
      const month = 30 * 24 * 3600 * 1000
      const { client, seen } = scripted([{ refuse: true }, { status: 204 }])
      const options = { reconnectionTime: 0, schedule: Schedule.spaced(Duration.millis(month)) }
      const fiber = yield* Effect.fork(Stream.runDrain(EventStream.make(client, url, options)))
      yield* settle
      // the live Clock sets no timer for a longer sleep, and it would never wake
      expect(Chunk.toReadonlyArray(yield* TestClock.sleeps())).toEqual([2 ** 31 - 1])
      yield* TestClock.adjust(Duration.millis(month))
      yield* settle
      yield* Fiber.join(fiber)
      expect(seen.map((s) => s.at)).toEqual([0, month])
    }))

  it.effect("keeps a caller-built request's method and headers; lastEventId option resumes", () =>
    Effect.gen(function*() {
      const { client, seen } = scripted([{ status: 204 }])
      const request = HttpClientRequest.post(url).pipe(HttpClientRequest.setHeader("x-team", "blue"))
      yield* runOnClock(EventStream.make(client, request, { lastEventId: "9" }))
      expect(seen[0]).toMatchObject({ method: "POST", headers: { "x-team": "blue", "last-event-id": "9" } })
    }))

  it.effect("waits 3 s by default, then the server's retry:", () =>
    Effect.gen(function*() {
      const { client, seen } = scripted([
        { body: ["data: a\n\n"] },
        { body: ["retry: 500\ndata: b\n\n"] },
        { body: ["data: c\n\n"] },
        { status: 204 }
      ])
      const exit = yield* runOnClock(EventStream.make(client, url, { schedule: Schedule.forever }))
      expect(Exit.map(exit, dataOf)).toEqual(Exit.succeed(["a", "b", "c"]))
      expect(seen.map((s) => s.at)).toEqual([0, 3000, 3500, 4000])
    }))

  it.effect("backs off while connections deliver nothing, and resets once one delivers an event", () =>
    Effect.gen(function*() {
      const { client, seen } = scripted([
        { refuse: true },
        { refuse: true },
        { body: ["data: a\n\n"] },
        { body: [": only a comment\n"] },
        { status: 204 }
      ])
      const schedule = Schedule.exponential("100 millis")
      const exit = yield* runOnClock(EventStream.make(client, url, { reconnectionTime: 1000, schedule }))
      expect(Exit.map(exit, dataOf)).toEqual(Exit.succeed(["a"]))
      const gaps = seen.slice(1).map((s, i) => s.at - seen[i]!.at)
      expect(gaps).toEqual([1100, 1200, 1100, 1200])
    }))

  it.effect("the default schedule adds nothing to the first reconnect, then about 1 s, 2 s", () =>
    Effect.gen(function*() {
      const { client, seen } = scripted([{ refuse: true }, { refuse: true }, { refuse: true }, { status: 204 }])
      yield* runOnClock(EventStream.make(client, url, { reconnectionTime: 0 }))
      const gaps = seen.slice(1).map((s, i) => s.at - seen[i]!.at)
      expect(gaps[0]).toBe(0)
      expect(gaps[1]).toBeGreaterThanOrEqual(800)
      expect(gaps[1]).toBeLessThanOrEqual(1200)
      expect(gaps[2]).toBeGreaterThanOrEqual(1600)
      expect(gaps[2]).toBeLessThanOrEqual(2400)
    }))

  it.effect("204 ends the stream without a reconnect", () =>
    Effect.gen(function*() {
      const { client, seen } = scripted([{ status: 204 }, { body: ["data: never\n\n"] }])
      const exit = yield* runOnClock(EventStream.make(client, url, quick))
      expect(exit).toEqual(Exit.succeed([]))
      expect(seen).toHaveLength(1)
    }))

  it.effect("a 4xx is fatal; a 503 is reconnected after its Retry-After", () =>
    Effect.gen(function*() {
      const { client, seen } = scripted([
        { status: 503, headers: { "retry-after": "7" } },
        { status: 404, headers: { "content-type": "text/plain" }, body: ["gone"] }
      ])
      const exit = yield* runOnClock(EventStream.make(client, url, quick))
      expect(seen.map((s) => s.at)).toEqual([0, 7000])
      expect(Exit.isFailure(exit)).toBe(true)
      // bounded, so a 404 wrongly reconnected ends in EventStreamError rather than looping
      const bounded = { reconnectionTime: 0, schedule: Schedule.recurs(3) }
      const error = yield* Effect.flip(
        Stream.runDrain(EventStream.make(scripted([{ status: 404 }]).client, url, bounded))
      )
      expect(error).toMatchObject({ _tag: "ClientError", status: 404 })
      expect(error.message).not.toContain("s3cret")
    }))

  it.effect("a 429 waits at least its Retry-After", () =>
    Effect.gen(function*() {
      const { client, seen } = scripted([{ status: 429, headers: { "retry-after": "2" } }, { status: 204 }])
      yield* runOnClock(EventStream.make(client, url, { reconnectionTime: 100, schedule: Schedule.forever }))
      expect(seen.map((s) => s.at)).toEqual([0, 2000])
    }))

  it.effect("a Retry-After beyond maxRetryAfter (30 s, as Policy's) fails the stream at once with the server's failure", () =>
    Effect.gen(function*() {
      const forever = { reconnectionTime: 100, schedule: Schedule.forever }
      // 31 s: not waited out; nothing slept, one request, the 503 itself (not EventStreamError)
      const tooLong = scripted([{ status: 503, headers: { "retry-after": "31" } }, { body: ["data: a\n\n"] }])
      const fiber = yield* Effect.fork(Stream.runCollect(EventStream.make(tooLong.client, url, forever)))
      yield* settle
      // ended without the clock moving (a stream that sleeps instead is interrupted, not waited for)
      const done = yield* Fiber.poll(fiber)
      if (Option.isNone(done)) yield* Fiber.interrupt(fiber)
      expect(Option.isSome(done) && Exit.isFailure(done.value)).toBe(true)
      const failed = yield* Fiber.join(fiber).pipe(Effect.flip)
      expect(failed).toMatchObject({ _tag: "ServerError", status: 503 })
      expect(failed.message).not.toContain("s3cret")
      expect(tooLong.seen.map((s) => s.at)).toEqual([0])
      expect(yield* Clock.currentTimeMillis).toBe(0)
      // a 429 too; exactly 30 s fits and is waited
      const limited = scripted([{ status: 429, headers: { "retry-after": "120" } }, { status: 204 }])
      expect(failureOf(yield* runOnClock(EventStream.make(limited.client, url, forever)))).toMatchObject({
        _tag: "RateLimited",
        status: 429
      })
      expect(limited.seen).toHaveLength(1)
      const fits = scripted([{ status: 429, headers: { "retry-after": "30" } }, { status: 204 }])
      expect(yield* runOnClock(EventStream.make(fits.client, url, forever))).toEqual(Exit.succeed([]))
      expect(fits.seen.map((s) => s.at)).toEqual([0, 30_000])
      // the default is Policy's
      expect(internal.defaultMaxRetryAfter).toEqual(Policy.defaults.retry.maxRetryAfter)
    }))

  it.effect("maxRetryAfter: a longer one waits the server out, 0 only reconnects on 'now', infinite on anything", () =>
    Effect.gen(function*() {
      const wait = (retryAfter: string, maxRetryAfter: Duration.DurationInput) =>
        Effect.gen(function*() {
          const { client, seen } = scripted([{ status: 503, headers: { "retry-after": retryAfter } }, { status: 204 }])
          const options = { reconnectionTime: 0, schedule: Schedule.forever, maxRetryAfter }
          const exit = yield* runOnClock(EventStream.make(client, url, options))
          // since the first request (the TestClock runs on from one case to the next)
          return { failure: failureOf(exit), at: seen.map((s) => s.at - seen[0]!.at) }
        })
      expect(yield* wait("90", "2 minutes")).toEqual({ failure: undefined, at: [0, 90_000] })
      expect((yield* wait("121", "2 minutes")).at).toEqual([0])
      expect(yield* wait("0", 0)).toEqual({ failure: undefined, at: [0, 0] })
      expect(yield* wait("1", 0)).toMatchObject({ failure: { _tag: "ServerError", status: 503 }, at: [0] })
      expect(yield* wait("86400", Duration.infinity)).toEqual({ failure: undefined, at: [0, 86_400_000] })
      expect(yield* wait("86400", Infinity)).toEqual({ failure: undefined, at: [0, 86_400_000] })
      // an HTTP-date a day ahead is a day's wait too
      const date = new Date(Date.now() + 86_400_000).toUTCString()
      yield* TestClock.setTime(Date.now())
      const dated = yield* wait(date, "30 seconds")
      expect(dated.failure).toMatchObject({ _tag: "ServerError", status: 503 })
      expect(dated.at).toHaveLength(1)
    }))

  it.effect("a schedule that is done still ends in EventStreamError, whatever the server's wait", () =>
    Effect.gen(function*() {
      const { client, seen } = scripted([{ status: 503, headers: { "retry-after": "3600" } }])
      const exit = yield* runOnClock(EventStream.make(client, url, { reconnectionTime: 0, schedule: Schedule.stop }))
      expect(failureOf(exit)).toMatchObject({
        _tag: "EventStreamError",
        reason: "ReconnectsExhausted",
        lastFailure: { _tag: "ServerError", status: 503 }
      })
      expect(seen).toHaveLength(1)
    }))

  it.effect("a wrong content type fails with UnexpectedContentType; another 2xx with UnexpectedStatus", () =>
    Effect.gen(function*() {
      const wrong = scripted([{ headers: { "content-type": "application/json" }, body: ["{}"] }])
      const e1 = yield* Effect.flip(Stream.runDrain(EventStream.make(wrong.client, url, quick)))
      expect(e1).toMatchObject({ _tag: "UnexpectedContentType", contentType: "application/json" })
      const partial = scripted([{ status: 206, body: ["data: a\n\n"] }])
      const e2 = yield* Effect.flip(Stream.runDrain(EventStream.make(partial.client, url, quick)))
      expect(e2).toMatchObject({ _tag: "UnexpectedStatus", status: 206 })
      const withParams = scripted([{
        headers: { "content-type": "Text/Event-Stream; charset=utf-8" },
        body: ["data: a\n\n"]
      }])
      const events = yield* Stream.runCollect(Stream.take(EventStream.make(withParams.client, url, quick), 1))
      expect(dataOf(Chunk.toReadonlyArray(events))).toEqual(["a"])
    }))

  it.effect("a bounded schedule ends in EventStreamError carrying the last failure", () =>
    Effect.gen(function*() {
      const { client, seen } = scripted([{ refuse: true }])
      const exit = yield* runOnClock(
        EventStream.make(client, url, { reconnectionTime: 0, schedule: Schedule.recurs(2) })
      )
      expect(seen).toHaveLength(3)
      const error = yield* Effect.flip(
        Stream.runDrain(EventStream.make(client, url, { reconnectionTime: 0, schedule: Schedule.recurs(2) }))
      )
      expect(error).toMatchObject({ _tag: "EventStreamError", reason: "ReconnectsExhausted", reconnects: 2 })
      expect(error._tag === "EventStreamError" && error.lastFailure?._tag).toBe("ConnectionError")
      expect(error.message).not.toContain("s3cret")
      expect(Exit.isFailure(exit)).toBe(true)
    }))

  it.effect("the idle timeout reconnects a silent connection", () =>
    Effect.gen(function*() {
      const { client, seen } = scripted([
        { body: ["data: a\n\n"], then: "hang" },
        { status: 204 }
      ])
      const exit = yield* runOnClock(
        EventStream.make(client, url, { idleTimeout: "10 seconds", reconnectionTime: 0, schedule: Schedule.forever })
      )
      expect(Exit.map(exit, dataOf)).toEqual(Exit.succeed(["a"]))
      expect(seen.map((s) => s.at)).toEqual([0, 10000])
    }))

  // the idle bound is a race between the next chunk and a sleep: consumed inside a caller's mask, the read of the
  // next chunk inherited it and ignored the bound's interruption, so a silent connection held the caller for ever
  it.effect("the idle timeout reconnects a silent connection when consumed inside an uninterruptible region", () =>
    Effect.gen(function*() {
      const { cancelled, client, seen } = scripted([
        { body: ["data: a\n\n"], then: "hang" },
        { status: 204 }
      ])
      // a daemon: a fiber that ignored the bound is left behind rather than awaited by the test
      const fiber = yield* Effect.forkDaemon(Effect.uninterruptible(Stream.runCollect(
        EventStream.make(client, url, { idleTimeout: "10 seconds", reconnectionTime: 0, schedule: Schedule.forever })
      )))
      yield* settle
      yield* TestClock.adjust("9999 millis")
      yield* settle
      expect(seen).toHaveLength(1)
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* TestClock.adjust("1 millis")
      yield* settle
      // polled, not joined: a fiber that ignored the bound would hang the test instead of failing it
      const exit = Option.getOrThrowWith(yield* Fiber.poll(fiber), () => new Error("the idle timeout did not fire"))
      expect(Exit.map(exit, (events) => dataOf(Chunk.toReadonlyArray(events)))).toEqual(Exit.succeed(["a"]))
      expect(seen.map((s) => s.at)).toEqual([0, 10000])
      // the silent body was closed, as outside a mask
      expect(cancelled()).toBe(1)
    }))

  // outside a mask the idle bound's read is the consumer's: interrupting the consumer stops it at once
  it.effect("interrupting a consumer outside a mask closes a silent connection at once, leaving no fiber", () =>
    Effect.gen(function*() {
      const before = (yield* Fiber.roots).length
      const { cancelled, client } = scripted([{ body: ["data: a\n\n"], then: "hang" }])
      const fiber = yield* Effect.fork(Stream.runCollect(EventStream.make(client, url, { idleTimeout: "10 seconds" })))
      yield* settle
      yield* Fiber.interrupt(fiber)
      yield* settle
      expect(cancelled()).toBe(1)
      expect((yield* Fiber.roots).length - before).toBe(0)
    }))

  it.effect("heartbeats within the idle timeout keep the connection", () =>
    Effect.gen(function*() {
      let push: ((text: string) => void) | undefined
      const client = HttpClient.make((request) =>
        Effect.succeed(HttpClientResponse.fromWeb(
          request,
          new Response(
            new ReadableStream<Uint8Array>({
              start(controller) {
                push = (text) => controller.enqueue(new TextEncoder().encode(text))
              }
            }),
            { headers: { "content-type": "text/event-stream" } }
          )
        ))
      )
      const fiber = yield* Effect.fork(
        Stream.runCollect(Stream.take(EventStream.make(client, url, { idleTimeout: "10 seconds" }), 1))
      )
      yield* settle
      for (let i = 0; i < 5; i++) {
        yield* TestClock.adjust("9 seconds")
        push!(": ping\n")
        yield* settle
      }
      push!("data: late\n\n")
      const events = yield* Fiber.join(fiber)
      expect(dataOf(Chunk.toReadonlyArray(events))).toEqual(["late"])
    }))

  it.effect("a refused option is a typed InvalidRequest naming it", () =>
    Effect.gen(function*() {
      const { client, seen } = scripted([{ status: 204 }])
      const bad = [
        { reconnectionTime: -1 },
        { idleTimeout: 0 },
        { reconnectionTime: Duration.infinity },
        { lastEventId: "a\nb" },
        { schedule: 5 as unknown as Schedule.Schedule<unknown> }
      ]
      const names = ["reconnectionTime", "idleTimeout", "reconnectionTime", "lastEventId", "schedule"]
      for (const [i, options] of bad.entries()) {
        const error = yield* Effect.flip(Stream.runDrain(EventStream.make(client, url, options)))
        expect(error).toMatchObject({ _tag: "InvalidRequest", reason: "InvalidOptions" })
        expect(error._tag === "InvalidRequest" && error.detail).toContain(names[i])
      }
      expect(seen).toHaveLength(0)
    }))

  it.effect("interrupting the consumer cancels the body", () =>
    Effect.gen(function*() {
      const turns = scripted([{ body: ["data: a\n\n"], then: "hang" }])
      const events = yield* Stream.runCollect(Stream.take(EventStream.make(turns.client, url, quick), 1))
      expect(dataOf(Chunk.toReadonlyArray(events))).toEqual(["a"])
      yield* settle
      expect(turns.cancelled()).toBe(1)
    }))
})

describe("EventStream.json", () => {
  const Tick = Schema.Struct({ n: Schema.Number })

  it.effect("decodes each event's data", () =>
    Effect.gen(function*() {
      const { client } = scripted([{ body: ["id: 4\ndata: {\"n\":1}\n\ndata: {\"n\":\ndata: 2}\n\n"] }, {
        status: 204
      }])
      const exit = yield* runOnClock(EventStream.json(client, url, Tick, quick))
      expect(Exit.map(exit, (events) => events.map((e) => [e.data.n, e.lastEventId]))).toEqual(
        Exit.succeed([[1, "4"], [2, "4"]])
      )
    }))

  it.effect("data that is not JSON fails with InvalidJson, the wrong shape with SchemaMismatch", () =>
    Effect.gen(function*() {
      const notJson = scripted([{ body: ["data: {oops\n\n"] }])
      const e1 = yield* Effect.flip(Stream.runDrain(EventStream.json(notJson.client, url, Tick, quick)))
      expect(e1._tag).toBe("InvalidJson")
      const wrong = scripted([{ body: ["data: {\"n\":\"x\"}\n\n"] }])
      const e2 = yield* Effect.flip(Stream.runDrain(EventStream.json(wrong.client, url, Tick, quick)))
      expect(e2).toMatchObject({ _tag: "SchemaMismatch", path: "$.n" })
      expect(e2.message).not.toContain("s3cret")
      expect(HttpFailure.isHttpFailure(e2)).toBe(true)
    }))
})

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E | undefined =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined

describe("EventStream against a hostile server", () => {
  it("an id holding a control character other than tab is ignored like one holding NULL; a tab is kept", () => {
    expect(parse("id: 1\ndata: a\n\nid: 2\u00013\ndata: b\n\nid: 4\u007f\ndata: c\n\nid: 5\t6\ndata: d\n\n")).toEqual([
      msg("a", "1"),
      msg("b", "1"),
      msg("c", "1"),
      msg("d", "5\t6")
    ])
  })

  it("a retry: beyond the longest timer counts as 2^31 - 1 ms", () => {
    const parser = new internal.Parser("")
    parser.feed("retry: 99999999999999999999\n\n")
    expect(parser.reconnectionTime).toBe(2 ** 31 - 1)
    parser.feed("retry: 2147483647\n\n")
    expect(parser.reconnectionTime).toBe(2 ** 31 - 1)
    parser.feed("retry: 2147483646\n\n")
    expect(parser.reconnectionTime).toBe(2 ** 31 - 2)
  })

  it.effect("a last event ID beyond ASCII goes back as its UTF-8 bytes, from the server and from the caller", () =>
    Effect.gen(function*() {
      const { client, seen } = scripted([
        { body: ["id: caf\u00e9 \u20ac\ndata: a\n\n"] },
        { status: 204 }
      ])
      const exit = yield* runOnClock(EventStream.make(client, url, quick))
      expect(Exit.isSuccess(exit)).toBe(true)
      const utf8 = (text: string) => String.fromCharCode(...new TextEncoder().encode(text))
      expect(seen[1]!.headers["last-event-id"]).toBe(utf8("caf\u00e9 \u20ac"))

      const fromCaller = scripted([{ status: 204 }])
      yield* runOnClock(EventStream.make(fromCaller.client, url, { ...quick, lastEventId: "\u20ac1" }))
      expect(fromCaller.seen[0]!.headers["last-event-id"]).toBe(utf8("\u20ac1"))
      const ascii = scripted([{ status: 204 }])
      yield* runOnClock(EventStream.make(ascii.client, url, { ...quick, lastEventId: "a b\t1" }))
      expect(ascii.seen[0]!.headers["last-event-id"]).toBe("a b\t1")
    }))

  it.effect("a caller's lastEventId with a control character is refused before anything is sent", () =>
    Effect.gen(function*() {
      const { client, seen } = scripted([{ status: 204 }])
      const exit = yield* runOnClock(EventStream.make(client, url, { ...quick, lastEventId: "1\u00012" }))
      expect(failureOf(exit)).toMatchObject({
        _tag: "InvalidRequest",
        reason: "InvalidOptions"
      })
      expect(seen).toHaveLength(0)
    }))

  it.effect("more than maxEventBytes held for one event fails with BodyTooLarge, after the events before it", () =>
    Effect.gen(function*() {
      const long = "x".repeat(40)
      const { client, seen } = scripted([
        { body: ["data: a\n\ndata: ", long, long, "\n\n"] },
        { status: 204 }
      ])
      const events: Array<string> = []
      const exit = yield* runOnClock(
        EventStream.make(client, url, { ...quick, maxEventBytes: 64 }).pipe(
          Stream.tap((event) => Effect.sync(() => events.push(event.data)))
        )
      )
      expect(events).toEqual(["a"])
      const failure = failureOf(exit)
      expect(failure).toMatchObject({ _tag: "BodyTooLarge", limitBytes: 64 })
      expect(String(failure)).not.toContain("s3cret")
      expect(seen).toHaveLength(1) // not reconnected

      // data lines count as they add up, in UTF-8 bytes: 22 + 21 + 20 = 63 fit in 64 ("€" is 3 bytes, 1 code unit);
      // with one "€" more, 66 do not (though 52 code units would)
      const event = (euros: number) => [
        "data: " + "\u20ac".repeat(euros) + "abc\n",
        "data: 12345678901234567890\n",
        "data: 1234567890123456789\n",
        "\n"
      ]
      const fits = scripted([{ body: event(6) }, { status: 204 }])
      expect(Exit.isSuccess(yield* runOnClock(EventStream.make(fits.client, url, { ...quick, maxEventBytes: 64 }))))
        .toBe(true)
      const over = scripted([{ body: event(7) }, { status: 204 }])
      expect(failureOf(yield* runOnClock(EventStream.make(over.client, url, { ...quick, maxEventBytes: 64 }))))
        .toMatchObject({ _tag: "BodyTooLarge" })

      const bad = scripted([{ status: 204 }])
      for (const maxEventBytes of [0, -1, 1.5, Number.NaN, -Infinity]) {
        const refused = yield* runOnClock(EventStream.make(bad.client, url, { ...quick, maxEventBytes }))
        expect(String(failureOf(refused))).toContain(
          "maxEventBytes"
        )
      }
      expect(bad.seen).toHaveLength(0)
      const unbounded = scripted([{ body: ["data: " + long.repeat(10) + "\n\n"] }, { status: 204 }])
      const ok = yield* runOnClock(EventStream.make(unbounded.client, url, { ...quick, maxEventBytes: Infinity }))
      expect(Exit.isSuccess(ok)).toBe(true)
    }))

  it.effect("events completed in the same chunk as the bytes that go past maxEventBytes are delivered first", () =>
    Effect.gen(function*() {
      const { client, seen } = scripted([{ body: ["data: a\n\ndata: b\n\ndata: " + "x".repeat(80)] }, { status: 204 }])
      const events: Array<string> = []
      const exit = yield* runOnClock(
        EventStream.make(client, url, { ...quick, maxEventBytes: 64 }).pipe(
          Stream.tap((event) => Effect.sync(() => events.push(event.data)))
        )
      )
      expect(events).toEqual(["a", "b"])
      expect(failureOf(exit)).toMatchObject({ _tag: "BodyTooLarge", limitBytes: 64 })
      expect(seen).toHaveLength(1)
    }))
})

// -----------------------------------------------------------------------------
// telemetry: one span for the stream, the connections' redacted client spans under it, metrics by host
// -----------------------------------------------------------------------------

describe("EventStream telemetry", () => {
  const secretUrl = "https://telemetry-sse.example.test/feed?api_key=k3y-s3cret&room=7"
  const secretRequest = HttpClientRequest.get(secretUrl).pipe(
    HttpClientRequest.setHeaders({ authorization: "Bearer b34rer-s3cret", "x-api-key": "h3ader-s3cret" })
  )
  const host = "telemetry-sse.example.test:443"

  it.effect("one span for the stream with an event per reconnect; each connection's redacted span is its child", () =>
    Effect.gen(function*() {
      const { spans, tracer } = TestTracer.make()
      const { client } = scripted([
        { body: ["id: 7\ndata: a\n\n"] },
        { refuse: true },
        { status: 503, headers: { "retry-after": "2" } },
        { body: ["data: b\n\n"] },
        { status: 204 }
      ])
      const exit = yield* runOnClock(
        EventStream.make(client, secretRequest, { reconnectionTime: 100, schedule: Schedule.forever })
      ).pipe(Effect.withTracer(tracer))
      expect(Exit.map(exit, dataOf)).toEqual(Exit.succeed(["a", "b"]))
      const [stream] = spans.filter((span) => span.name === "http.client.event_stream GET")
      expect(stream.kind).toBe("internal")
      expect(Object.fromEntries(stream.attributes)).toEqual({
        "http.request.method": "GET",
        "url.full": "https://telemetry-sse.example.test/feed?api_key=<redacted>&room=7",
        "server.address": "telemetry-sse.example.test",
        "server.port": 443,
        "sturdy.outcome": "success",
        "sturdy.events": 2,
        "sturdy.reconnects": 4
      })
      expect(stream.events.map((event) => event.name)).toEqual(["reconnect", "reconnect", "reconnect", "reconnect"])
      expect(stream.events.map((event) => event.attributes)).toEqual([
        {
          "sturdy.reason": "stream_ended",
          "sturdy.delay_ms": 100,
          "sturdy.reconnects": 1,
          "sturdy.last_event_id_sent": true
        },
        {
          "sturdy.reason": "ConnectionError",
          "sturdy.delay_ms": 100,
          "sturdy.reconnects": 2,
          "sturdy.last_event_id_sent": true
        },
        {
          "sturdy.reason": "ServerError",
          "sturdy.delay_ms": 2000,
          "sturdy.reconnects": 3,
          "http.response.status_code": 503,
          "sturdy.last_event_id_sent": true
        },
        {
          "sturdy.reason": "stream_ended",
          "sturdy.delay_ms": 100,
          "sturdy.reconnects": 4,
          "sturdy.last_event_id_sent": true
        }
      ])
      expect(stream.status._tag).toBe("Ended")
      // each connection: the client span Attempt.classify gives, under the stream's
      const connections = spans.filter((span) => span !== stream)
      expect(connections.map((span) => [span.name, span.kind])).toEqual(
        Array.from({ length: 5 }, () => ["http.client GET", "client"])
      )
      expect(connections.every((span) => Option.getOrUndefined(span.parent) === stream)).toBe(true)
      expect(connections[0].attributes.get("url.full")).toBe(
        "https://telemetry-sse.example.test/feed?api_key=<redacted>&room=7"
      )
      expect(yield* counterValue("sturdy_http_event_stream_events_total", { host })).toBe(2)
      expect(yield* counterValue("sturdy_http_event_stream_reconnects_total", { host, reason: "stream_ended" })).toBe(2)
      expect(yield* counterValue("sturdy_http_event_stream_reconnects_total", { host, reason: "ConnectionError" }))
        .toBe(1)
      expect(yield* counterValue("sturdy_http_event_stream_reconnects_total", { host, reason: "ServerError" })).toBe(1)
    }))

  it.effect("a failure ends the span with error.type; giving up names ReconnectsExhausted", () =>
    Effect.gen(function*() {
      const { spans, tracer } = TestTracer.make()
      const gone = scripted([{ body: ["data: a\n\n"] }, { status: 404 }])
      yield* runOnClock(EventStream.make(gone.client, "https://telemetry-sse-404.example.test/", quick)).pipe(
        Effect.withTracer(tracer)
      )
      const refused = scripted([{ refuse: true }])
      const exhausted = { reconnectionTime: 0, schedule: Schedule.recurs(2) }
      yield* runOnClock(EventStream.make(refused.client, "https://telemetry-sse-down.example.test/", exhausted)).pipe(
        Effect.withTracer(tracer)
      )
      const [first, second] = spans.filter((span) => span.name === "http.client.event_stream GET")
      expect(Object.fromEntries(first.attributes)).toMatchObject({
        "error.type": "404",
        "http.response.status_code": 404,
        "sturdy.failure_tag": "ClientError",
        "sturdy.outcome": "failure",
        "sturdy.events": 1,
        "sturdy.reconnects": 1
      })
      expect(first.status._tag === "Ended" && Exit.isFailure(first.status.exit)).toBe(true)
      expect(Object.fromEntries(second.attributes)).toMatchObject({
        "error.type": "EventStreamError",
        "sturdy.failure_tag": "EventStreamError",
        "sturdy.failure_reason": "ReconnectsExhausted",
        "sturdy.events": 0,
        "sturdy.reconnects": 2
      })
    }))

  it.effect("a consumer that stops early ends the span", () =>
    Effect.gen(function*() {
      const { spans, tracer } = TestTracer.make()
      const { client } = scripted([{ body: ["data: a\n\ndata: b\n\n"], then: "hang" }])
      const taken = yield* Stream.runCollect(
        Stream.take(EventStream.make(client, "https://telemetry-sse-take.example.test/", quick), 1)
      ).pipe(Effect.withTracer(tracer))
      expect(Chunk.toReadonlyArray(taken).map((e) => e.data)).toEqual(["a"])
      const [stream] = spans.filter((span) => span.name === "http.client.event_stream GET")
      expect(stream.status._tag).toBe("Ended")
      expect(stream.attributes.get("sturdy.events")).toBe(1)
    }))

  it.effect("no secret of the URL or the headers in any span, event or metric label", () =>
    Effect.gen(function*() {
      const { spans, tracer } = TestTracer.make()
      const { client } = scripted([{ body: ["data: a\n\n"], then: "reset" }, { status: 500 }, { status: 401 }])
      yield* runOnClock(EventStream.make(client, secretRequest, quick)).pipe(Effect.withTracer(tracer))
      expect(spans.length).toBeGreaterThan(3)
      const text = renderedSpans(spans)
      expect(text).toContain("<redacted>")
      expect(text).not.toContain("s3cret")
      expect(yield* renderedLabels).not.toContain("s3cret")
    }))

  it.effect("the last event id is not recorded on the stream's span", () =>
    Effect.gen(function*() {
      const { spans, tracer } = TestTracer.make()
      const { client } = scripted([{ body: ["id: cursor-0a1b2c\ndata: a\n\n"] }, { status: 204 }])
      yield* runOnClock(EventStream.make(client, "https://telemetry-sse-id.example.test/", quick)).pipe(
        Effect.withTracer(tracer)
      )
      const [stream] = spans.filter((span) => span.name === "http.client.event_stream GET")
      expect(stream.events).toHaveLength(1)
      expect(renderedSpans([stream])).not.toContain("cursor-0a1b2c")
    }))

  it.effect("without a tracer no span is built (the platform's span has no parent), and metrics still count", () =>
    Effect.gen(function*() {
      const inner = scripted([{ body: ["data: a\n\n"] }, { status: 204 }])
      const parents: Array<string | undefined> = []
      const client = HttpClient.make((request) =>
        Effect.flatMap(Effect.orDie(Effect.currentSpan), (span) => {
          parents.push(Option.match(span.parent, { onNone: () => undefined, onSome: (p) => String(p.spanId) }))
          return inner.client.execute(request)
        })
      )
      const noTracer = "https://telemetry-sse-untraced.example.test/"
      const exit = yield* runOnClock(EventStream.make(client, noTracer, quick))
      expect(Exit.map(exit, dataOf)).toEqual(Exit.succeed(["a"]))
      expect(parents).toEqual([undefined, undefined])
      const labels = { host: "telemetry-sse-untraced.example.test:443" }
      expect(yield* counterValue("sturdy_http_event_stream_events_total", labels)).toBe(1)
      expect(yield* counterValue("sturdy_http_event_stream_reconnects_total", { ...labels, reason: "stream_ended" }))
        .toBe(1)
    }))
})

describe("EventStream and deadlines", () => {
  // a deadline-enforcing transport (`@sturdy/node`'s) then stops at the head: a policy's timeouts do not end the
  // events (test/peer-eventsource.test.ts runs it over the wire)
  it.effect("each connection's request is sent under Deadline.headOnly; the events are read outside it", () =>
    Effect.gen(function*() {
      const sent: Array<boolean> = []
      const client = HttpClient.make((request) =>
        Effect.map(FiberRef.get(Deadline.currentHeadOnly), (headOnly) => {
          sent.push(headOnly)
          return HttpClientResponse.fromWeb(
            request,
            new Response(`data: ${sent.length}\n\n`, { headers: { "content-type": "text/event-stream" } })
          )
        })
      )
      const read: Array<boolean> = []
      const events = yield* EventStream.make(client, url, quick).pipe(
        Stream.take(2),
        Stream.tap(() => Effect.map(FiberRef.get(Deadline.currentHeadOnly), (headOnly) => read.push(headOnly))),
        Stream.runCollect
      )
      expect(dataOf(Chunk.toReadonlyArray(events))).toEqual(["1", "2"])
      expect(sent).toEqual([true, true])
      expect(read).toEqual([false, false])
    }))
})
