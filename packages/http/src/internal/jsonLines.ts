import type * as Headers from "@effect/platform/Headers"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Deadline from "@sturdy/policy/Deadline"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as Attempt from "../Attempt.js"
import * as HttpFailure from "../HttpFailure.js"
import type * as JsonLines from "../JsonLines.js"
import * as attempt from "./attempt.js"
import { checkDuration, shown } from "./durationInput.js"
import { idleTimeoutFail } from "./idleTimeout.js"
import * as telemetry from "./telemetry.js"

// -----------------------------------------------------------------------------
// framing: bytes into records, split on LF (JSON Lines) or RS (RFC 7464)
// -----------------------------------------------------------------------------

const LF = 0x0a
const CR = 0x0d
const RS = 0x1e

/** @internal What the framer hands on: a record (its bytes, its 1-based number) or the limit it went past. */
export type Framed =
  | { readonly _tag: "Record"; readonly number: number; readonly bytes: Uint8Array; readonly last: boolean }
  | { readonly _tag: "TooLarge" }

const emptyBytes = new Uint8Array(0)

/**
 * @internal Splits a body, fed as byte chunks, into records. LF and RS are ASCII, so they never occur inside a
 * multi-byte UTF-8 sequence: splitting the bytes (not decoded text) keeps a character split between chunks whole.
 * A record is numbered as it starts: JSON Lines count every line (blank ones too, as an editor does); a JSON text
 * sequence counts every RS, so bytes before the first RS are record 0.
 */
export class Framer {
  private parts: Array<Uint8Array> = []
  private held = 0
  private lastHeld = -1
  private number: number
  private first = true
  private failed = false

  constructor(readonly format: JsonLines.Format, readonly maxBytes: number) {
    this.number = format === "ndjson" ? 1 : 0
  }

  /** The records `chunk` completes, then a `TooLarge` when what is held for the next one is over the limit. */
  feed(chunk: Uint8Array): Array<Framed> {
    const out: Array<Framed> = []
    if (this.failed) return out
    const separator = this.format === "ndjson" ? LF : RS
    let start = 0
    for (;;) {
      const at = chunk.indexOf(separator, start)
      if (at === -1) break
      if (!this.push(out, this.take(chunk.subarray(start, at)), false)) return out
      start = at + 1
    }
    if (start < chunk.byteLength) {
      const rest = chunk.subarray(start)
      this.parts.push(rest)
      this.held += rest.byteLength
      this.lastHeld = rest[rest.byteLength - 1]
      // a CR held last may be the first half of a CRLF: not counted until the line goes on
      if (this.held - (this.format === "ndjson" && this.lastHeld === CR ? 1 : 0) > this.maxBytes) {
        this.failed = true
        out.push({ _tag: "TooLarge" })
      }
    }
    return out
  }

  /** The body ended cleanly: a last line without LF is a record; the last record of a sequence is too. */
  end(): Array<Framed> {
    const out: Array<Framed> = []
    if (this.failed) return out
    if (this.held > 0 || (this.format === "json-seq" && this.number > 0)) {
      this.push(out, this.take(emptyBytes), true)
    }
    return out
  }

  /** The held parts and `tail`, as one record's bytes; nothing is held after. */
  private take(tail: Uint8Array): Uint8Array {
    if (this.parts.length === 0) return tail
    const bytes = new Uint8Array(this.held + tail.byteLength)
    let offset = 0
    for (const part of this.parts) {
      bytes.set(part, offset)
      offset += part.byteLength
    }
    bytes.set(tail, offset)
    this.parts = []
    this.held = 0
    this.lastHeld = -1
    return bytes
  }

  private push(out: Array<Framed>, record: Uint8Array, last: boolean): boolean {
    let bytes = record
    if (this.first) {
      this.first = false
      // one UTF-8 byte order mark at the start of the body is dropped
      if (bytes.byteLength >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
        bytes = bytes.subarray(3)
      }
    }
    if (this.format === "ndjson" && bytes.byteLength > 0 && bytes[bytes.byteLength - 1] === CR) {
      bytes = bytes.subarray(0, bytes.byteLength - 1)
    }
    const number = this.number++
    if (bytes.byteLength > this.maxBytes) {
      this.failed = true
      out.push({ _tag: "TooLarge" })
      return false
    }
    if (!isBlank(bytes)) out.push({ _tag: "Record", number, bytes, last })
    return true
  }
}

/** Whether the bytes are JSON whitespace only (space, tab, CR, LF): a blank line, an empty record. */
const isBlank = (bytes: Uint8Array): boolean => {
  for (let i = 0; i < bytes.byteLength; i++) {
    const b = bytes[i]
    if (b !== 0x20 && b !== 0x09 && b !== CR && b !== LF) return false
  }
  return true
}

/**
 * RFC 7464 §2.3: a text that is a top-level number, `true`, `false` or `null` may have been cut short (`123` of
 * `12345`) unless whitespace follows it. Said of a record whose last byte is not whitespace.
 */
const maybeTruncated = (bytes: Uint8Array): boolean => {
  const lastByte = bytes[bytes.byteLength - 1]
  if (lastByte === 0x20 || lastByte === 0x09 || lastByte === CR || lastByte === LF) return false
  let i = 0
  while (i < bytes.byteLength && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === CR || bytes[i] === LF)) i++
  const first = bytes[i]
  // a number (`-` or a digit), or the first letter of true, false or null
  return first === 0x2d || (first >= 0x30 && first <= 0x39) || first === 0x74 || first === 0x66 || first === 0x6e
}

/** @internal The records of a whole body given as chunks (strings are encoded as UTF-8), as the stream frames it. */
export const split = (
  chunks: Iterable<Uint8Array | string>,
  format: JsonLines.Format = "ndjson"
): Array<string> => {
  const framer = new Framer(format, Infinity)
  const encoder = new TextEncoder()
  const decoder = new TextDecoder("utf-8", { ignoreBOM: true })
  const out: Array<string> = []
  const collect = (framed: Array<Framed>) => {
    for (const f of framed) if (f._tag === "Record") out.push(decoder.decode(f.bytes))
  }
  for (const chunk of chunks) collect(framer.feed(typeof chunk === "string" ? encoder.encode(chunk) : chunk))
  collect(framer.end())
  return out
}

// -----------------------------------------------------------------------------
// options
// -----------------------------------------------------------------------------

/** @internal */
export const defaultMaxLineBytes = attempt.defaultMaxBodyBytes

/** @internal The media types of JSON Lines, as APIs send them. */
export const lineTypes: ReadonlyArray<string> = [
  "application/x-ndjson",
  "application/ndjson",
  "application/jsonl",
  "application/x-jsonl",
  "application/jsonlines",
  "application/x-jsonlines",
  "application/jsonlines+json",
  "application/x-json-stream",
  "application/stream+json"
]

/** @internal The media types of RFC 7464 JSON text sequences (the suffix is RFC 8091's). */
export const sequenceTypes: ReadonlyArray<string> = ["application/json-seq", "+json-seq"]

/**
 * @internal Accepted when the caller names none: both formats, and `application/json` and `+json` (Docker's events
 * and Kubernetes' watch answer newline-delimited JSON as `application/json`).
 */
export const defaultContentTypes: ReadonlyArray<string> = [
  ...lineTypes,
  ...sequenceTypes,
  "application/json",
  "+json"
]

interface Checked {
  readonly format: JsonLines.Format | undefined
  readonly maxLineBytes: number
  readonly maxJsonDepth: number
  readonly timeout: Duration.Duration | undefined
  readonly idleTimeout: Duration.Duration | undefined
  readonly onInvalid: "fail" | "skip"
  readonly expectedContentTypes: ReadonlyArray<string>
}

const defaults: Checked = {
  format: undefined,
  maxLineBytes: defaultMaxLineBytes,
  maxJsonDepth: attempt.defaultMaxJsonDepth,
  timeout: undefined,
  idleTimeout: undefined,
  onInvalid: "fail",
  expectedContentTypes: defaultContentTypes
}

// an infinite timeout is none
const positiveOrNone = { allowZero: false, infinite: "none" } as const

/** @internal Every problem of the options, or the options checked. */
export const checkOptions = (options: JsonLines.Options | undefined): Checked | string => {
  if (options === undefined || options === null) return defaults
  if (typeof options !== "object" || Array.isArray(options)) return "options must be an object"
  const problems: Array<string> = []
  const format = options.format
  if (format !== undefined && format !== "ndjson" && format !== "json-seq") {
    problems.push(`format must be "ndjson" or "json-seq"${typeof format === "string" ? "" : shown(format)}`)
  }
  // `null` is refused as Attempt refuses it (a setting read as none is no limit only when left out)
  const maxLineBytes = options.maxLineBytes === undefined ? defaultMaxLineBytes : options.maxLineBytes
  if (
    typeof maxLineBytes !== "number" ||
    !(maxLineBytes === Infinity || (Number.isSafeInteger(maxLineBytes) && maxLineBytes >= 1))
  ) problems.push(`maxLineBytes must be an integer ≥ 1 or Infinity${shown(maxLineBytes)}`)
  const maxJsonDepth = options.maxJsonDepth === undefined ? attempt.defaultMaxJsonDepth : options.maxJsonDepth
  if (typeof maxJsonDepth !== "number" || !(Number.isSafeInteger(maxJsonDepth) && maxJsonDepth >= 0)) {
    problems.push(`maxJsonDepth must be an integer ≥ 0${shown(maxJsonDepth)}`)
  }
  const timeout = options.timeout === undefined
    ? undefined
    : checkDuration("timeout", options.timeout, positiveOrNone, problems)
  const idleTimeout = options.idleTimeout === undefined
    ? undefined
    : checkDuration("idleTimeout", options.idleTimeout, positiveOrNone, problems)
  const onInvalid = options.onInvalid === undefined ? "fail" : options.onInvalid
  if (onInvalid !== "fail" && onInvalid !== "skip") {
    problems.push(`onInvalid must be "fail" or "skip"${typeof onInvalid === "string" ? "" : shown(onInvalid)}`)
  }
  const expected = options.expectedContentTypes === undefined ? defaultContentTypes : options.expectedContentTypes
  if (!(Array.isArray(expected) && expected.every((type) => typeof type === "string" && type.length > 0))) {
    problems.push("expectedContentTypes must be an array of non-empty media types")
  }
  if (problems.length > 0) return problems.join("; ")
  return { format, maxLineBytes, maxJsonDepth, timeout, idleTimeout, onInvalid, expectedContentTypes: expected }
}

// -----------------------------------------------------------------------------
// the stream
// -----------------------------------------------------------------------------

const toRequest = (input: string | URL | HttpClientRequest.HttpClientRequest): HttpClientRequest.HttpClientRequest =>
  typeof input === "string" || input instanceof URL ? HttpClientRequest.get(input) : input

/** The format a response's Content-Type names: a JSON text sequence, or else JSON Lines. */
const formatOf = (contentType: string | undefined): JsonLines.Format =>
  contentType !== undefined && attempt.contentTypeMatches(contentType, sequenceTypes) ? "json-seq" : "ndjson"

/** The `Accept` sent when the request has none: the formats read, or the full types of `expectedContentTypes`. */
const acceptFor = (checked: Checked): string | undefined => {
  if (checked.expectedContentTypes !== defaultContentTypes) {
    const named = checked.expectedContentTypes.filter((type) => type.includes("/"))
    // no type named (empty: any; suffixes only): no Accept, rather than an empty one
    return named.length === 0 ? undefined : named.join(", ")
  }
  if (checked.format === "json-seq") return "application/json-seq"
  const lines = "application/x-ndjson, application/jsonl"
  return checked.format === "ndjson"
    ? `${lines}, application/json;q=0.9`
    : `${lines}, application/json-seq, application/json;q=0.9`
}

/** One record, as the body `Attempt.decodeJson` decodes (its failures, excerpt and redaction included). */
class RecordReceived implements Attempt.Received {
  readonly body: Uint8Array<ArrayBuffer>
  constructor(
    readonly request: HttpClientRequest.HttpClientRequest,
    readonly response: HttpClientResponse.HttpClientResponse,
    bytes: Uint8Array
  ) {
    this.body = bytes.buffer instanceof ArrayBuffer ? bytes as Uint8Array<ArrayBuffer> : new Uint8Array(bytes)
  }
  get status(): number {
    return this.response.status
  }
  get headers(): Headers.Headers {
    return this.response.headers
  }
  private decoded: string | undefined
  get text(): string {
    return this.decoded ??= utf8.decode(this.body)
  }
}

const utf8 = new TextDecoder()

const recordName = (format: JsonLines.Format, number: number): string =>
  format === "ndjson" ? `line ${number}` : `record ${number}`

/**
 * The failure of a record, naming it: `InvalidJson`'s detail and `SchemaMismatch`'s issue start with "line N: " (or
 * "record N: "), and `line` is N.
 */
const named = (
  failure: HttpFailure.InvalidJson | HttpFailure.SchemaMismatch,
  format: JsonLines.Format,
  line: number
): HttpFailure.InvalidJson | HttpFailure.SchemaMismatch => {
  const name = recordName(format, line)
  return failure._tag === "InvalidJson"
    ? new HttpFailure.InvalidJson({
      method: failure.method,
      url: failure.url,
      status: failure.status,
      headers: failure.headers,
      detail: `${name}: ${failure.detail}`,
      bodyExcerpt: failure.bodyExcerpt,
      line
    })
    : new HttpFailure.SchemaMismatch({
      method: failure.method,
      url: failure.url,
      status: failure.status,
      headers: failure.headers,
      path: failure.path,
      issue: `${name}: ${failure.issue}`,
      issues: failure.issues,
      line
    })
}

const run = <A, I, RS, E extends HttpClientError.HttpClientError | HttpFailure.HttpFailure, R>(
  client: HttpClient.HttpClient.With<E, R>,
  input: string | URL | HttpClientRequest.HttpClientRequest,
  schema: Schema.Schema<A, I, RS>,
  options: JsonLines.Options | undefined
): Stream.Stream<A, HttpFailure.HttpFailure, R | RS> =>
  Stream.suspend(() => {
    const base = attempt.withoutFragment(toRequest(input))
    const checked = checkOptions(options)
    if (typeof checked === "string") {
      return Stream.fail(
        new HttpFailure.InvalidRequest({ ...attempt.requestInfo(base), reason: "InvalidOptions", detail: checked })
      )
    }
    const accept = base.headers["accept"] === undefined ? acceptFor(checked) : undefined
    const request = accept === undefined ? base : HttpClientRequest.setHeader(base, "accept", accept)
    const classified = attempt.classify(
      client,
      checked.timeout === undefined ? undefined : { timeout: checked.timeout }
    )
    // a deadline in force (a policy's attemptTimeout, totalTimeout) bounds getting the head, not the items
    const head = Deadline.headOnly(classified.execute(request))
    return telemetry.observeStream(telemetry.jsonLinesKind, request, (observer) => {
      let skipped = 0
      const items: Stream.Stream<A, HttpFailure.HttpFailure, R | RS> = Stream.unwrapScoped(
        Effect.map(head, (response): Stream.Stream<A, HttpFailure.HttpFailure, RS> => {
          if (attempt.hasNoBody(request, response.status) || response.status === 205) return Stream.empty
          const contentType = response.headers["content-type"]
          const expected = checked.expectedContentTypes
          if (
            contentType !== undefined && expected.length > 0 && !attempt.contentTypeMatches(contentType, expected)
          ) {
            return Stream.fromEffect(Effect.zipRight(
              attempt.discard(response),
              Effect.fail(
                new HttpFailure.UnexpectedContentType({
                  ...attempt.responseInfo(request, response),
                  contentType: contentType.replace(/[\r\n]/g, " "),
                  expected
                })
              )
            ))
          }
          const format = checked.format ?? formatOf(contentType)
          observer.span?.attribute("sturdy.format", format)
          let receivedBytes = 0
          let emptyBody = false
          const bytes: Stream.Stream<Uint8Array, HttpFailure.HttpFailure> = response.stream.pipe(
            Stream.tap((chunk) => Effect.sync(() => (receivedBytes += chunk.byteLength))),
            Stream.catchAll((error) => {
              // a web response without a body (`new Response(null)`) has an empty one, not one that broke off
              if (error._tag === "ResponseError" && error.reason === "EmptyBody" && receivedBytes === 0) {
                emptyBody = true
                return Stream.empty
              }
              return Stream.fail(
                attempt.bodyReadFailure(request, response, Infinity, error.cause ?? error, receivedBytes, undefined)
              )
            })
          )
          const idle = checked.idleTimeout
          const watched = idle === undefined ? bytes : idleTimeoutFail(
            bytes,
            () => new HttpFailure.Timeout({ ...attempt.requestInfo(request), phase: "BodyRead", timeout: idle }),
            idle
          )
          const framer = new Framer(format, checked.maxLineBytes)
          /** A record's decoding, with its failure named; an `Exit` when nothing waits (a plain schema). */
          const decodeRecord = (framed: Framed): Effect.Effect<A, HttpFailure.HttpFailure, RS> => {
            if (framed._tag === "TooLarge") {
              return Effect.fail(attempt.tooLarge(request, response, checked.maxLineBytes, undefined))
            }
            const received = new RecordReceived(request, response, framed.bytes)
            const decoded = format === "json-seq" && (framed.number === 0 || maybeTruncated(framed.bytes))
              ? Effect.fail(refused(received, framed.number === 0 ? "data before the first RS" : truncatedDetail))
              : attempt.decodeJson(received, schema, { maxJsonDepth: checked.maxJsonDepth })
            // a plain schema's success is an `Exit`, which the caller takes without a step of its own
            return Exit.isExit(decoded) && decoded._tag === "Success"
              ? decoded
              : Effect.mapError(decoded, (failure) => named(failure, format, framed.number))
          }
          /** A record's outcome: its item, none when `onInvalid: "skip"` skips it, or the failure. */
          const settle = (
            decoded: Effect.Effect<A, HttpFailure.HttpFailure, RS>
          ): Effect.Effect<Option.Option<A>, HttpFailure.HttpFailure, RS> =>
            Effect.matchEffect(decoded, {
              onFailure: (failure) => {
                // a limit is never skipped: only a line that is not JSON or of the wrong shape
                if (
                  checked.onInvalid !== "skip" || (failure._tag !== "InvalidJson" && failure._tag !== "SchemaMismatch")
                ) return Effect.fail(failure)
                skipped++
                return Effect.succeed(Option.none<A>())
              },
              onSuccess: (value) => Effect.succeed(Option.some(value))
            })
          // The records one chunk completed, decoded in one go while each is a success decided at once (a plain
          // schema); from the first that is not (a failure, a schema that waits) on, one at a time. The items before
          // a failure are handed on first.
          const decodeAll = (records: ReadonlyArray<Framed>): Stream.Stream<A, HttpFailure.HttpFailure, RS> => {
            const items: Array<A> = []
            for (let i = 0; i < records.length; i++) {
              const decoded = decodeRecord(records[i])
              if (Exit.isExit(decoded) && decoded._tag === "Success") {
                items.push((decoded as Exit.Success<A, never>).value)
                continue
              }
              const rest = Stream.fromIterable(records.slice(i + 1)).pipe(
                Stream.mapEffect((framed) => settle(decodeRecord(framed)))
              )
              return Stream.concat(
                Stream.fromIterable(items),
                Stream.filterMap(Stream.concat(Stream.fromEffect(settle(decoded)), rest), (item) => item)
              )
            }
            return Stream.fromIterable(items)
          }
          return watched.pipe(
            Stream.map((chunk) => framer.feed(chunk)),
            Stream.concat(Stream.suspend(() => Stream.succeed(emptyBody ? [] : framer.end()))),
            Stream.flatMap(decodeAll),
            // counted as they are handed on, a chunk at a time (a tap per item would cost as much as the decoding)
            Stream.mapChunks((chunk) => {
              for (let i = 0; i < chunk.length; i++) observer.delivered()
              return chunk
            })
          )
        })
      )
      return Stream.ensuring(
        items,
        Effect.sync(() => {
          if (skipped > 0 || checked.onInvalid === "skip") observer.span?.attribute("sturdy.skipped", skipped)
        })
      )
    })
  })

const truncatedDetail =
  "a top-level number, true, false or null without whitespace after it may be cut short (RFC 7464 §2.3)"

/** A record refused before it is parsed, with the excerpt a parse failure would have. */
const refused = (received: RecordReceived, detail: string): HttpFailure.InvalidJson =>
  new HttpFailure.InvalidJson({
    ...attempt.responseInfo(received.request, received.response),
    detail,
    bodyExcerpt: attempt.bodyExcerpt(received.request, received.response, received.body)
  })

/** @internal */
export const stream = <A, I, RS, E extends HttpClientError.HttpClientError | HttpFailure.HttpFailure, R>(
  client: HttpClient.HttpClient.With<E, R>,
  request: string | URL | HttpClientRequest.HttpClientRequest,
  schema: Schema.Schema<A, I, RS>,
  options?: JsonLines.Options
): Stream.Stream<A, HttpFailure.HttpFailure, R | RS> => run(client, request, schema, options)

/** @internal */
export const streamUnknown = <E extends HttpClientError.HttpClientError | HttpFailure.HttpFailure, R>(
  client: HttpClient.HttpClient.With<E, R>,
  request: string | URL | HttpClientRequest.HttpClientRequest,
  options?: JsonLines.Options
): Stream.Stream<unknown, HttpFailure.HttpFailure, R> => run(client, request, Schema.Unknown, options)
