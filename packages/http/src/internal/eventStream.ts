import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Deadline from "@sturdy/policy/Deadline"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as Intervals from "effect/ScheduleIntervals"
import type * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as EventStream from "../EventStream.js"
import * as HttpFailure from "../HttpFailure.js"
import * as attempt from "./attempt.js"
import { checkDuration } from "./durationInput.js"
import { idleTimeoutFail } from "./idleTimeout.js"
import * as telemetry from "./telemetry.js"

// -----------------------------------------------------------------------------
// parsing (HTML Living Standard §9.2.6 "Interpreting an event stream")
// -----------------------------------------------------------------------------

/** @internal */
export interface ParsedEvent {
  readonly type: string
  readonly data: string
  readonly lastEventId: string
}

/**
 * @internal The line and field state of one connection's stream, fed decoded text. The last event ID buffer starts
 * at the last event ID string so far, which persists across connections.
 */
export class Parser {
  private line = ""
  private afterCR = false
  private first = true
  private data = ""
  /** The UTF-8 bytes of `data`. */
  private dataBytes = 0
  private type = ""
  /** The last event ID buffer. */
  private idBuffer: string
  /** The last event ID string: set on dispatch. */
  lastEventId: string
  /** Set by `retry:`, in milliseconds. */
  reconnectionTime: number | undefined = undefined

  constructor(lastEventId: string) {
    this.idBuffer = lastEventId
    this.lastEventId = lastEventId
  }

  /** Feeds decoded text; returns the events it completes. */
  feed(text: string): Array<ParsedEvent> {
    const out: Array<ParsedEvent> = []
    let start = 0
    if (this.first && text.length > 0) {
      this.first = false
      // one leading U+FEFF BYTE ORDER MARK is dropped; a second one is part of the first line
      if (text.charCodeAt(0) === 0xfeff) start = 1
    }
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i)
      if (c === 10 /* LF */) {
        if (this.afterCR) {
          // the LF of a CRLF whose CR ended the line already
          this.afterCR = false
          start = i + 1
          continue
        }
        this.endLine(this.line + text.slice(start, i), out)
        this.line = ""
        start = i + 1
      } else if (c === 13 /* CR */) {
        this.afterCR = true
        this.endLine(this.line + text.slice(start, i), out)
        this.line = ""
        start = i + 1
      } else {
        this.afterCR = false
      }
    }
    // `afterCR` stays set when the text ended on a CR, so a LF at the start of the next chunk is its pair
    if (start < text.length) this.line += text.slice(start)
    return out
  }

  private endLine(line: string, out: Array<ParsedEvent>): void {
    if (line === "") return this.dispatch(out)
    if (line.charCodeAt(0) === 58 /* : */) return
    const colon = line.indexOf(":")
    let field: string
    let value: string
    if (colon === -1) {
      field = line
      value = ""
    } else {
      field = line.slice(0, colon)
      value = line.charCodeAt(colon + 1) === 32 /* space */ ? line.slice(colon + 2) : line.slice(colon + 1)
    }
    switch (field) {
      case "data":
        this.data += value + "\n"
        this.dataBytes += utf8Length(value) + 1
        return
      case "event":
        this.type = value
        return
      case "id":
        // the standard ignores an id holding NULL; one holding another control character (tab aside) could never be
        // sent back (a header value has none), and failing every reconnect on it would end the stream
        if (!hasControl(value)) this.idBuffer = value
        return
      case "retry":
        // at most what a timer holds: `retry: 99999999999999999999` would otherwise never reconnect
        if (/^[0-9]+$/.test(value)) this.reconnectionTime = Math.min(Number(value), maxTimerMillis)
        return
    }
  }

  private dispatch(out: Array<ParsedEvent>): void {
    this.lastEventId = this.idBuffer
    if (this.data === "") {
      this.type = ""
      return
    }
    out.push({
      type: this.type === "" ? "message" : this.type,
      data: this.data.slice(0, -1),
      lastEventId: this.lastEventId
    })
    this.data = ""
    this.dataBytes = 0
    this.type = ""
  }

  /** The UTF-8 bytes held for the event not yet dispatched: its data and the line not yet ended. */
  pendingBytes(): number {
    return this.dataBytes + utf8Length(this.line)
  }
}

/** Whether `text` holds a control character other than tab (which no header value may hold). */
const hasControl = (text: string): boolean => {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return true
  }
  return false
}

/** The length of `text` in UTF-8, without encoding it. */
const utf8Length = (text: string): number => {
  let bytes = text.length
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x80) continue
    if (c < 0x800) bytes += 1
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      // a surrogate pair: 2 code units, 4 bytes
      bytes += 2
      i++
    } else bytes += 2
  }
  return bytes
}

/**
 * @internal Parses a whole stream given as text chunks (already decoded), as one connection does: the events it
 * dispatches, in order; a final incomplete event is discarded.
 */
export const parseAll = (chunks: Iterable<string>, lastEventId = ""): Array<ParsedEvent> => {
  const parser = new Parser(lastEventId)
  const out: Array<ParsedEvent> = []
  for (const chunk of chunks) out.push(...parser.feed(chunk))
  return out
}

/**
 * @internal A UTF-8 decoder for one connection's body that keeps the BOM (the parser drops one) and carries a
 * character split between chunks over to the next.
 */
export const makeDecoder = (): (bytes: Uint8Array) => string => {
  const decoder = new TextDecoder("utf-8", { ignoreBOM: true })
  return (bytes) => decoder.decode(bytes, { stream: true })
}

/** @internal Parses a whole body given as byte chunks, as one connection does. */
export const parseBytes = (chunks: Iterable<Uint8Array>, lastEventId = ""): Array<ParsedEvent> => {
  const decode = makeDecoder()
  const parser = new Parser(lastEventId)
  const out: Array<ParsedEvent> = []
  for (const chunk of chunks) out.push(...parser.feed(decode(chunk)))
  return out
}

// -----------------------------------------------------------------------------
// errors
// -----------------------------------------------------------------------------

/** @internal */
export class EventStreamError extends Data.TaggedError("EventStreamError")<
  HttpFailure.RequestInfo & {
    readonly reason: "ReconnectsExhausted"
    readonly reconnects: number
    readonly lastFailure: HttpFailure.HttpFailure | undefined
  }
> {
  override get message(): string {
    const last = this.lastFailure === undefined ? "the stream ended" : this.lastFailure.message
    return `event stream gave up after ${this.reconnects} reconnect${
      this.reconnects === 1 ? "" : "s"
    } (${last}): ${this.method} ${this.url}`
  }
}

// -----------------------------------------------------------------------------
// options
// -----------------------------------------------------------------------------

/** @internal */
export const defaultReconnectionTime: Duration.Duration = Duration.seconds(3)

/** @internal */
export const defaultSchedule: Schedule.Schedule<unknown, unknown> = Schedule.exponential("1 second").pipe(
  Schedule.union(Schedule.spaced("30 seconds")),
  Schedule.jittered,
  // nothing added to the reconnection time on the first reconnect
  (backoff) => Schedule.andThen(Schedule.once, backoff)
)

/** @internal */
export const defaultMaxEventBytes = 10 * 1024 * 1024

/** @internal The longest server wait (`Retry-After`) waited out: `Policy`'s `retry.maxRetryAfter` default. */
export const defaultMaxRetryAfter: Duration.Duration = Duration.seconds(30)

interface Checked {
  readonly maxEventBytes: number
  readonly reconnectionMillis: number
  readonly idleTimeout: Duration.Duration | undefined
  readonly lastEventId: string
  readonly schedule: Schedule.Schedule<unknown, EventStream.ReconnectInput, never>
  /** `Infinity`: no limit. */
  readonly maxRetryAfterMillis: number
}

const maxTimerMillis = 2 ** 31 - 1

const checkOptions = (options: EventStream.Options | undefined): Checked | string => {
  if (options === undefined) {
    return {
      maxEventBytes: defaultMaxEventBytes,
      reconnectionMillis: 3000,
      idleTimeout: undefined,
      lastEventId: "",
      schedule: defaultSchedule,
      maxRetryAfterMillis: Duration.toMillis(defaultMaxRetryAfter)
    }
  }
  if (typeof options !== "object" || options === null) return "options must be an object"
  const problems: Array<string> = []
  let reconnectionMillis = 3000
  if (options.reconnectionTime !== undefined) {
    const d = checkDuration(
      "reconnectionTime",
      options.reconnectionTime,
      { allowZero: true, infinite: "refuse" },
      problems
    )
    if (d !== undefined) reconnectionMillis = Duration.toMillis(d)
  }
  let idleTimeout: Duration.Duration | undefined
  if (options.idleTimeout !== undefined) {
    idleTimeout = checkDuration("idleTimeout", options.idleTimeout, { allowZero: false, infinite: "none" }, problems)
  }
  let maxRetryAfterMillis = Duration.toMillis(defaultMaxRetryAfter)
  if (options.maxRetryAfter !== undefined) {
    // as `Policy`'s `retry.maxRetryAfter`: zero and an infinite duration (no limit) are accepted
    const d = checkDuration("maxRetryAfter", options.maxRetryAfter, { allowZero: true, infinite: "accept" }, problems)
    if (d !== undefined) maxRetryAfterMillis = Duration.toMillis(d)
  }
  const lastEventId = options.lastEventId ?? ""
  if (typeof lastEventId !== "string" || hasControl(lastEventId)) {
    problems.push("lastEventId must be a string without control characters (NULL, CR, LF...)")
  }
  const maxEventBytes = options.maxEventBytes ?? defaultMaxEventBytes
  if (
    typeof maxEventBytes !== "number" ||
    !(maxEventBytes === Infinity || (Number.isSafeInteger(maxEventBytes) && maxEventBytes >= 1))
  ) {
    problems.push(
      `maxEventBytes must be an integer ≥ 1 or Infinity (got ${
        typeof maxEventBytes === "number" ? String(maxEventBytes) : `a value of type ${typeof maxEventBytes}`
      })`
    )
  }
  const schedule = options.schedule ?? defaultSchedule
  if (!Schedule.isSchedule(schedule)) {
    problems.push(`schedule is not a Schedule (got a value of type ${typeof schedule})`)
  }
  if (problems.length > 0) return problems.join("; ")
  return { maxEventBytes, reconnectionMillis, idleTimeout, lastEventId, schedule, maxRetryAfterMillis }
}

// -----------------------------------------------------------------------------
// the connection loop
// -----------------------------------------------------------------------------

const streamContentType = "text/event-stream"

/**
 * A last event ID as a header value: its UTF-8 bytes, one character each, as browsers send it (a header value is
 * bytes; undici refuses a character beyond Latin-1).
 */
const headerValueOf = (id: string): string => {
  let ascii = true
  for (let i = 0; i < id.length && ascii; i++) ascii = id.charCodeAt(i) < 0x80
  if (ascii) return id
  let value = ""
  for (const byte of new TextEncoder().encode(id)) value += String.fromCharCode(byte)
  return value
}

const isEventStreamType = (contentType: string | undefined): boolean =>
  contentType !== undefined && contentType.split(";")[0]!.trim().toLowerCase() === streamContentType

/** How a connection ended. */
type Outcome =
  | { readonly _tag: "Ended" }
  | { readonly _tag: "Stop" }
  | { readonly _tag: "Failed"; readonly failure: HttpFailure.HttpFailure }

/** @internal Whether a failure is reconnected: what `HttpFailure.isTransient` says. */
export const isReconnected = (failure: HttpFailure.HttpFailure): boolean => HttpFailure.isTransient(failure)

const toRequest = (input: string | URL | HttpClientRequest.HttpClientRequest): HttpClientRequest.HttpClientRequest =>
  typeof input === "string" || input instanceof URL ? HttpClientRequest.get(input) : input

type Decode<A, R> = (
  data: string,
  request: HttpClientRequest.HttpClientRequest,
  response: HttpClientResponse.HttpClientResponse
) => Effect.Effect<A, HttpFailure.HttpFailure, R>

const run = <A, E extends HttpClientError.HttpClientError | HttpFailure.HttpFailure, R, RD>(
  client: HttpClient.HttpClient.With<E, R>,
  input: string | URL | HttpClientRequest.HttpClientRequest,
  options: EventStream.Options | undefined,
  decode: Decode<A, RD>
): Stream.Stream<EventStream.Event<A>, HttpFailure.HttpFailure | EventStream.EventStreamError, R | RD> =>
  Stream.suspend(() => {
    const base = toRequest(input)
    const checked = checkOptions(options)
    if (typeof checked === "string") {
      return Stream.fail(
        new HttpFailure.InvalidRequest({ ...attempt.requestInfo(base), reason: "InvalidOptions", detail: checked })
      )
    }
    const classified = attempt.classify(
      client,
      checked.idleTimeout === undefined ? undefined : { timeout: checked.idleTimeout }
    )
    let lastEventId = checked.lastEventId
    let reconnectionMillis = checked.reconnectionMillis
    let scheduleState: unknown = checked.schedule.initial
    let outcome: Outcome | undefined
    let reconnects = 0
    // set as the stream starts, before any connection (`telemetry.observeStream` below)
    let observer: telemetry.StreamObserver | undefined

    const requestFor = (): HttpClientRequest.HttpClientRequest => {
      const headers: Record<string, string> = { accept: streamContentType, "cache-control": "no-store" }
      if (lastEventId !== "") headers["last-event-id"] = headerValueOf(lastEventId)
      return HttpClientRequest.setHeaders(base, headers)
    }

    const connection: Stream.Stream<EventStream.Event<A>, never, R | RD> = Stream.unwrapScoped(
      Effect.gen(function*() {
        const request = requestFor()
        // a deadline in force (a policy's attemptTimeout, totalTimeout) bounds getting the head, not the events
        const response = yield* Deadline.headOnly(classified.execute(request))
        if (response.status === 204) return Stream.fail<Outcome>({ _tag: "Stop" })
        const contentType = response.headers["content-type"]
        if (response.status !== 200) {
          return Stream.fail<Outcome>({
            _tag: "Failed",
            failure: new HttpFailure.UnexpectedStatus({
              ...attempt.responseInfo(request, response),
              bodyExcerpt: "",
              payload: Option.none()
            })
          })
        }
        if (!isEventStreamType(contentType)) {
          return Stream.fail<Outcome>({
            _tag: "Failed",
            failure: new HttpFailure.UnexpectedContentType({
              ...attempt.responseInfo(request, response),
              contentType: (contentType ?? "").replace(/[\r\n]/g, " "),
              expected: [streamContentType]
            })
          })
        }
        const parser = new Parser(lastEventId)
        let receivedBytes = 0
        const origin = originOf(request)
        const bytes = response.stream.pipe(
          Stream.tap((chunk) => Effect.sync(() => (receivedBytes += chunk.byteLength))),
          Stream.mapError((error): Outcome => ({
            _tag: "Failed",
            failure: attempt.bodyReadFailure(request, response, Infinity, error, receivedBytes, undefined)
          }))
        )
        const idle = checked.idleTimeout
        const watched = idle === undefined ? bytes : idleTimeoutFail(bytes, (): Outcome => ({
          _tag: "Failed",
          failure: new HttpFailure.Timeout({ ...attempt.requestInfo(request), phase: "BodyRead", timeout: idle })
        }), idle)
        const decodeText = makeDecoder()
        const maxEventBytes = checked.maxEventBytes
        return watched.pipe(
          Stream.mapConcat((bytes): Array<ParsedEvent | typeof overflow> => {
            const events: Array<ParsedEvent | typeof overflow> = parser.feed(decodeText(bytes))
            lastEventId = parser.lastEventId
            if (parser.reconnectionTime !== undefined) reconnectionMillis = parser.reconnectionTime
            // the events this chunk completed are delivered first, then the failure: what is held for the next one
            // is bounded
            if (parser.pendingBytes() > maxEventBytes) events.push(overflow)
            return events
          }),
          Stream.mapEffect((event) =>
            event === overflow
              ? Effect.fail<Outcome>({
                _tag: "Failed",
                failure: attempt.tooLarge(request, response, maxEventBytes, undefined)
              })
              : Effect.map(
                Effect.mapError(
                  decode(event.data, request, response),
                  (failure): Outcome => ({ _tag: "Failed", failure })
                ),
                (data): EventStream.Event<A> => {
                  // a connection that delivered an event (decoded) resets the backoff
                  scheduleState = checked.schedule.initial
                  reconnects = 0
                  observer?.delivered()
                  return { type: event.type, data, lastEventId: event.lastEventId, origin }
                }
              )
          ),
          Stream.concat(Stream.fail<Outcome>({ _tag: "Ended" }))
        )
      }).pipe(
        Effect.catchAll((failure: HttpFailure.HttpFailure) =>
          Effect.succeed(Stream.fail<Outcome>({ _tag: "Failed", failure }))
        )
      )
    ).pipe(
      Stream.catchAll((ended: Outcome) => {
        outcome = ended
        return Stream.empty
      })
    )

    // the next connection, after the wait: `None` ends the whole stream
    const next: Effect.Effect<
      Stream.Stream<EventStream.Event<A>, never, R | RD>,
      Option.Option<HttpFailure.HttpFailure | EventStream.EventStreamError>
    > = Effect.suspend(() => {
      const ended = outcome
      if (ended === undefined) return Effect.succeed(connection)
      outcome = undefined
      if (ended._tag === "Stop") return Effect.fail(Option.none())
      const failure = ended._tag === "Failed" ? ended.failure : undefined
      if (failure !== undefined && !isReconnected(failure)) return Effect.fail(Option.some(failure))
      const input: EventStream.ReconnectInput = failure ?? endedInput
      return Effect.flatMap(
        Clock.currentTimeMillis,
        (now) =>
          Effect.flatMap(checked.schedule.step(now, input, scheduleState), ([state, _out, decision]) => {
            if (ScheduleDecision.isDone(decision)) {
              return Effect.fail(Option.some(exhausted(base, reconnects, failure)))
            }
            const retryAfter = failure === undefined
              ? 0
              : Option.match(HttpFailure.retryAfter(failure), {
                onNone: () => 0,
                onSome: (wait) => Math.ceil(Math.max(0, Duration.toMillis(wait)))
              })
            // a server's wait beyond `maxRetryAfter` is not waited out: the stream fails at once with the server's
            // failure, as `Policy` returns it (after the schedule, whose being done is `ReconnectsExhausted` first)
            // (a wait with no end is too long even without a limit, as in `Policy`)
            if (failure !== undefined && (retryAfter > checked.maxRetryAfterMillis || retryAfter === Infinity)) {
              return Effect.fail(Option.some<HttpFailure.HttpFailure | EventStream.EventStreamError>(failure))
            }
            scheduleState = state
            reconnects++
            const backoff = Math.max(0, Intervals.start(decision.intervals) - now)
            const wait = Math.max(reconnectionMillis + backoff, retryAfter)
            // the Last-Event-ID itself is not recorded: a server's ids can be resume tokens
            observer?.restarted(failure, wait, () => ({ "sturdy.last_event_id_sent": lastEventId !== "" }))
            return Effect.as(sleepMillis(wait), connection)
          })
      )
    })

    return telemetry.observeStream(telemetry.eventStreamKind, base, (started) => {
      observer = started
      return Stream.flatten(Stream.repeatEffectOption(next))
    })
  })

/**
 * Effect's live Clock sets no timer for a sleep longer than 2^31 − 1 ms and never wakes (a `Retry-After` of a month),
 * so a long wait is slept in steps a timer holds.
 */
const sleepMillis = (millis: number): Effect.Effect<void> =>
  millis > maxTimerMillis
    ? Effect.zipRight(
      Effect.sleep(Duration.millis(maxTimerMillis)),
      Effect.suspend(() => sleepMillis(millis - maxTimerMillis))
    )
    : Effect.sleep(Duration.millis(millis))

const endedInput: EventStream.ReconnectInput = { _tag: "StreamEnded" }

const exhausted = (
  request: HttpClientRequest.HttpClientRequest,
  reconnects: number,
  lastFailure: HttpFailure.HttpFailure | undefined
) =>
  new EventStreamError({
    ...attempt.requestInfo(request),
    reason: "ReconnectsExhausted",
    reconnects,
    lastFailure
  })

const originOf = (request: HttpClientRequest.HttpClientRequest): string => {
  try {
    return new URL(request.url).origin
  } catch {
    return ""
  }
}

/** Marks, after a chunk's events, that the bytes held for the next event are over `maxEventBytes`. */
const overflow: unique symbol = Symbol("maxEventBytes")

const plain: Decode<string, never> = (data) => Effect.succeed(data)

/** @internal */
export const make = <E extends HttpClientError.HttpClientError | HttpFailure.HttpFailure, R>(
  client: HttpClient.HttpClient.With<E, R>,
  request: string | URL | HttpClientRequest.HttpClientRequest,
  options?: EventStream.Options
): Stream.Stream<EventStream.Event, HttpFailure.HttpFailure | EventStream.EventStreamError, R> =>
  run(client, request, options, plain)

const utf8 = new TextEncoder()

/** @internal */
export const json = <A, I, RS, E extends HttpClientError.HttpClientError | HttpFailure.HttpFailure, R>(
  client: HttpClient.HttpClient.With<E, R>,
  request: string | URL | HttpClientRequest.HttpClientRequest,
  schema: Schema.Schema<A, I, RS>,
  options?: EventStream.Options
): Stream.Stream<EventStream.Event<A>, HttpFailure.HttpFailure | EventStream.EventStreamError, R | RS> =>
  run(client, request, options, (data, sent, response) => {
    const body = utf8.encode(data)
    const received = {
      request: sent,
      response,
      status: response.status,
      headers: response.headers,
      body,
      text: data
    }
    return attempt.decodeJson(received, schema)
  })
