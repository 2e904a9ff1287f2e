import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Deadline from "@sturdy/policy/Deadline"
import type * as Chunk from "effect/Chunk"
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import type * as Download from "../Download.js"
import * as HttpFailure from "../HttpFailure.js"
import * as attempt from "./attempt.js"
import { checkDuration, shown } from "./durationInput.js"
import { idleTimeoutFail } from "./idleTimeout.js"
import * as redactedSpan from "./redactedSpan.js"
import * as telemetry from "./telemetry.js"

/** @internal */
export type Reason = "InvalidOptions" | "NotResumable" | "Changed" | "RangeMismatch" | "TooLong" | "ResumesExhausted"

const describe: Record<Reason, string> = {
  InvalidOptions: "refused",
  NotResumable: "cut and cannot be resumed",
  Changed: "cannot resume: the resource changed",
  RangeMismatch: "cannot resume: the server answered another range",
  TooLong: "received more than the declared length",
  ResumesExhausted: "gave up resuming"
}

/** @internal */
export class DownloadError extends Data.TaggedError("DownloadError")<
  HttpFailure.RequestInfo & {
    readonly reason: Reason
    /** What was wrong, in words: the option, the header, the status. */
    readonly detail: string
    /** Bytes emitted so far (the stream's consumer has them): where a resume would have started. */
    readonly receivedBytes: number
    /** The representation's full length, when the server declared it. */
    readonly expectedBytes: number | undefined
    /** The failure that cut the body (`NotResumable`, `ResumesExhausted`), or of the last resume. */
    readonly cause?: HttpFailure.HttpFailure | undefined
  }
> {
  override get message(): string {
    const of = this.expectedBytes === undefined
      ? `${this.receivedBytes} bytes`
      : `${this.receivedBytes} of ${this.expectedBytes} bytes`
    return `download ${describe[this.reason]} (${of}; ${this.detail}): ${this.method} ${this.url}`
  }
}

/** @internal */
export const defaultSchedule: Schedule.Schedule<unknown, HttpFailure.HttpFailure> = Schedule.exponential("200 millis")
  .pipe(Schedule.jittered, Schedule.intersect(Schedule.recurs(5)))

interface Checked {
  readonly schedule: Schedule.Schedule<unknown, HttpFailure.HttpFailure>
  readonly maxBodyBytes: number
  readonly idleTimeout: Duration.Duration | undefined
}

/** The options as the download runs on them, or every problem found, each naming its option. */
const checkOptions = (input: unknown, defaultMax: number): Checked | ReadonlyArray<string> => {
  if (input !== undefined && input !== null && (typeof input !== "object" || Array.isArray(input))) {
    return [`options (${Array.isArray(input) ? "an array" : typeof input}) must be an object`]
  }
  const options = (input ?? {}) as Download.Options
  const problems: Array<string> = []
  const { idleTimeout, maxBodyBytes, schedule } = options
  if (schedule !== undefined && !Schedule.isSchedule(schedule)) problems.push("schedule is not a Schedule")
  if (
    maxBodyBytes !== undefined && maxBodyBytes !== Infinity &&
    !(typeof maxBodyBytes === "number" && Number.isSafeInteger(maxBodyBytes) && maxBodyBytes >= 0)
  ) problems.push(`maxBodyBytes must be an integer ≥ 0 or Infinity${shown(maxBodyBytes)}`)
  // infinite is none; longer than a timer holds is refused (Effect's live Clock would never fire it)
  const idle = idleTimeout === undefined
    ? undefined
    : checkDuration("idleTimeout", idleTimeout, { allowZero: false, infinite: "none" }, problems)
  if (problems.length > 0) return problems
  return { schedule: schedule ?? defaultSchedule, maxBodyBytes: maxBodyBytes ?? defaultMax, idleTimeout: idle }
}

// -----------------------------------------------------------------------------
// validators and ranges (RFC 9110 §8.8, §13.1.5, §14.4)
// -----------------------------------------------------------------------------

const strongEtag = /^"[\x21\x23-\x7e\x80-\xff]*"$/

/** The response's ETag when it is a strong one (`"abc"`, not `W/"abc"`), else undefined. */
const strongEtagOf = (headers: Readonly<Record<string, string>>): string | undefined => {
  const etag = headers["etag"]?.trim()
  return etag !== undefined && strongEtag.test(etag) ? etag : undefined
}

/**
 * What `If-Range` may carry (RFC 9110 §13.1.5): a strong ETag, else a `Last-Modified` that is a strong validator
 * (§8.8.2.2: the response's `Date` at least one second after it), else nothing. A weak ETag never.
 * @internal
 */
export const validatorOf = (headers: Readonly<Record<string, string>>): string | undefined => {
  const etag = strongEtagOf(headers)
  if (etag !== undefined) return etag
  const lastModified = headers["last-modified"]?.trim()
  const date = headers["date"]?.trim()
  if (lastModified === undefined || date === undefined) return undefined
  const modifiedAt = Date.parse(lastModified)
  const dateAt = Date.parse(date)
  return Number.isFinite(modifiedAt) && Number.isFinite(dateAt) && dateAt - modifiedAt >= 1000 &&
      !/[\r\n]/.test(lastModified)
    ? lastModified
    : undefined
}

interface ContentRange {
  readonly start: number
  readonly end: number
  readonly total: number | undefined
}

const contentRangeSyntax = /^bytes (\d{1,15})-(\d{1,15})\/(\d{1,15}|\*)$/i

/** @internal `Content-Range: bytes <start>-<end>/<total or *>`, or undefined when it is not that (or not coherent). */
export const parseContentRange = (value: string | undefined): ContentRange | undefined => {
  const match = value === undefined ? null : contentRangeSyntax.exec(value.trim())
  if (match === null) return undefined
  const start = Number(match[1])
  const end = Number(match[2])
  const total = match[3] === "*" ? undefined : Number(match[3])
  if (end < start || (total !== undefined && end >= total)) return undefined
  return { start, end, total }
}

const unsatisfiedSyntax = /^bytes \*\/(\d{1,15})$/i

/** The complete length in a 416's `Content-Range: bytes *\/<length>`, if it has one. */
const unsatisfiedLength = (value: string | undefined): number | undefined => {
  const match = value === undefined ? null : unsatisfiedSyntax.exec(value.trim())
  if (match === null) return undefined
  const length = Number(match[1])
  return Number.isSafeInteger(length) ? length : undefined
}

const lengthOf = (headers: Readonly<Record<string, string>>): number | undefined => {
  const value = headers["content-length"]
  if (value === undefined) return undefined
  const length = Number(value)
  return Number.isSafeInteger(length) && length >= 0 ? length : undefined
}

const encodingOf = (headers: Readonly<Record<string, string>>): string | undefined => {
  const encoding = headers["content-encoding"]?.trim().toLowerCase()
  return encoding === undefined || encoding === "" || encoding === "identity" ? undefined : encoding
}

// a header value in a failure's words: one line, bounded
const quoted = (value: string | undefined): string =>
  value === undefined ? "none" : `"${value.replace(/[\r\n]/g, " ").slice(0, 80)}"`

// -----------------------------------------------------------------------------
// the download
// -----------------------------------------------------------------------------

interface State {
  /** Whether the first request was sent: its own failures are the caller's. */
  started: boolean
  /** Bytes emitted so far. */
  received: number
  /** `received` when the current exchange began: more since then is progress. */
  mark: number
  /** The full length, when declared. */
  total: number | undefined
  /** What `If-Range` carries. */
  validator: string | undefined
  /** The strong ETag of the representation being downloaded. */
  etag: string | undefined
  /** Why a cut cannot be resumed, or undefined when it can. */
  notResumable: string | undefined
}

interface Context {
  readonly client: HttpClient.HttpClient
  readonly request: HttpClientRequest.HttpClientRequest
  readonly options: Checked
  readonly driver: Schedule.ScheduleDriver<unknown, HttpFailure.HttpFailure>
  readonly state: State
  readonly observer: telemetry.StreamObserver
}

type Failure = HttpFailure.HttpFailure | DownloadError

const failWith = (
  ctx: Context,
  reason: Reason,
  detail: string,
  cause?: HttpFailure.HttpFailure
): DownloadError =>
  new DownloadError({
    ...attempt.requestInfo(ctx.request),
    reason,
    detail,
    receivedBytes: ctx.state.received,
    expectedBytes: ctx.state.total,
    ...(cause === undefined ? {} : { cause })
  })

/** A failure that cut the body after its headers: the rest can be asked for. */
const isCut = (failure: Failure): failure is HttpFailure.HttpFailure =>
  failure._tag === "BodyTruncated" || (failure._tag === "Timeout" && failure.phase === "BodyRead") ||
  (failure._tag === "ConnectionError" && failure.reason === "Reset")

/** Learns the representation from a full (200) answer: its length, its validator, whether it can be resumed. */
const learn = (state: State, response: HttpClientResponse.HttpClientResponse): void => {
  const headers = response.headers
  const encoding = encodingOf(headers)
  // Content-Length counts encoded bytes, and a transport that decodes hands over others: no length to hold it to
  state.total = encoding === undefined ? lengthOf(headers) : undefined
  state.etag = strongEtagOf(headers)
  state.validator = validatorOf(headers)
  state.notResumable = encoding !== undefined
    ? `the body is compressed (Content-Encoding: ${encoding.replace(/[^\w ,.+-]/g, "").slice(0, 40)})`
    : headers["accept-ranges"]?.trim().toLowerCase() === "none"
    ? "the server sent Accept-Ranges: none"
    : state.validator === undefined
    ? "the response has no strong validator (a strong ETag, or a Last-Modified at least 1 s before Date)"
    : undefined
}

const send = (
  ctx: Context,
  request: HttpClientRequest.HttpClientRequest
): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpFailure.HttpFailure> =>
  // each request under the redacted client span `Attempt.classify` gives, in place of the platform's; a deadline in
  // force (a policy's attemptTimeout, totalTimeout) bounds getting the head, not the body
  redactedSpan.withRedactedSpan(request, (sent, record) =>
    Effect.catchAll(
      Deadline.headOnly(record === undefined ? ctx.client.execute(sent) : Effect.tap(ctx.client.execute(sent), record)),
      attempt.fromClientError
    ))

/** One exchange: the first request, or (with bytes already emitted) a range request for the rest. */
const exchange = (ctx: Context): Stream.Stream<Uint8Array, Failure> =>
  Stream.unwrap(Effect.suspend(() => {
    const state = ctx.state
    const resuming = state.received > 0
    const request = resuming && state.validator !== undefined
      ? HttpClientRequest.setHeaders(ctx.request, {
        range: `bytes=${state.received}-`,
        "if-range": state.validator
      })
      : ctx.request
    const first = !state.started
    state.started = true
    state.mark = state.received
    return Effect.matchEffect(send(ctx, request), {
      onFailure: (failure): Effect.Effect<Stream.Stream<Uint8Array, Failure>, Failure> =>
        // the first request's own failure is the caller's (a `Policy` retries it); a resume's may pass
        !first && HttpFailure.isTransient(failure) ? Effect.succeed(resume(ctx, failure)) : Effect.fail(failure),
      onSuccess: (response) => answer(ctx, request, response, resuming, first)
    })
  }))

/** Waits for the schedule's next resume (after a cut or a failed resume), then asks for the rest. */
const resume = (ctx: Context, cause: HttpFailure.HttpFailure): Stream.Stream<Uint8Array, Failure> =>
  Stream.unwrap(Effect.suspend(() => {
    const state = ctx.state
    if (state.received > 0 && state.notResumable !== undefined) {
      return Effect.fail(failWith(ctx, "NotResumable", state.notResumable, cause))
    }
    // a resume that made progress starts the schedule over
    const reset = state.received > state.mark ? ctx.driver.reset : Effect.void
    return reset.pipe(
      Effect.zipRight(
        ctx.observer.restartAfter(ctx.driver.next(cause), cause, () => ({ "sturdy.offset": state.received }))
      ),
      Effect.mapError(() => failWith(ctx, "ResumesExhausted", `the schedule ended; last: ${cause._tag}`, cause)),
      Effect.as(exchange(ctx))
    )
  }))

const answer = (
  ctx: Context,
  request: HttpClientRequest.HttpClientRequest,
  response: HttpClientResponse.HttpClientResponse,
  resuming: boolean,
  first: boolean
): Effect.Effect<Stream.Stream<Uint8Array, Failure>, Failure> => {
  const state = ctx.state
  const status = response.status
  const refuse = (reason: Reason, detail: string) =>
    Effect.zipRight(attempt.discard(response), Effect.fail(failWith(ctx, reason, detail)))
  if (resuming && status === 416) {
    // RFC 9110 §15.5.17: the 416 names the current length. When that is exactly what was received (a body of
    // unknown length cut after its last byte), the download is whole, as wget reads it ("already fully retrieved")
    const length = unsatisfiedLength(response.headers["content-range"])
    if (length === state.received && (state.total === undefined || state.total === length)) {
      return Effect.as(attempt.discard(response), Stream.empty)
    }
    return refuse("RangeMismatch", `416 Range Not Satisfiable to bytes=${state.received}-`)
  }
  if (status < 200 || status >= 300) {
    return Effect.flatMap(
      attempt.statusFailure(response, {}),
      (failure) =>
        !first && HttpFailure.isTransient(failure)
          ? Effect.succeed(resume(ctx, failure))
          : Effect.fail(failure)
    )
  }
  const headers = response.headers
  if (status !== 206) {
    // a full answer: the first, or (nothing emitted yet) a fresh start; with bytes emitted, the resource changed
    // (If-Range did not match) or ranges are not supported, and what was emitted cannot be taken back
    if (resuming) {
      return refuse("Changed", `the server answered ${status} with the whole representation to a range request`)
    }
    learn(state, response)
    return Effect.succeed(body(ctx, request, response, state.total))
  }
  if (!resuming) return refuse("RangeMismatch", "206 Partial Content to a request without Range")
  const type = headers["content-type"]?.trim().toLowerCase()
  if (type !== undefined && type.startsWith("multipart/byteranges")) {
    return refuse("RangeMismatch", "a multipart/byteranges answer to a single range")
  }
  const range = parseContentRange(headers["content-range"])
  if (range === undefined) {
    return refuse(
      "RangeMismatch",
      `Content-Range ${quoted(headers["content-range"])} is not bytes <start>-<end>/<total>`
    )
  }
  if (range.start !== state.received) {
    return refuse("RangeMismatch", `Content-Range starts at ${range.start}, not at ${state.received}`)
  }
  if (range.total !== undefined && state.total !== undefined && range.total !== state.total) {
    return refuse("RangeMismatch", `Content-Range total ${range.total} is not the length ${state.total}`)
  }
  const length = lengthOf(headers)
  if (length !== undefined && length !== range.end - range.start + 1) {
    return refuse("RangeMismatch", `Content-Length ${length} does not match Content-Range ${range.start}-${range.end}`)
  }
  if (encodingOf(headers) !== undefined) return refuse("RangeMismatch", "the part is compressed (Content-Encoding)")
  const etag = strongEtagOf(headers)
  if (etag !== undefined && state.etag !== undefined && etag !== state.etag) {
    return refuse("Changed", `the part's ETag ${quoted(etag)} is not ${quoted(state.etag)}`)
  }
  if (state.total === undefined) state.total = range.total
  return Effect.succeed(body(ctx, request, response, range.end + 1))
}

/**
 * The body of one answer, counted as it is emitted, up to `end` (the offset where this answer's bytes must stop). A
 * body that stops short of it, or breaks, is a cut: the rest is asked for as the schedule allows.
 */
const body = (
  ctx: Context,
  request: HttpClientRequest.HttpClientRequest,
  response: HttpClientResponse.HttpClientResponse,
  end: number | undefined
): Stream.Stream<Uint8Array, Failure> => {
  const state = ctx.state
  const { idleTimeout, maxBodyBytes } = ctx.options
  const raw = Stream.mapError(
    response.stream,
    (error): Failure =>
      attempt.bodyReadFailure(request, response, maxBodyBytes, error.cause, state.received, state.total)
  )
  const timed = idleTimeout === undefined ? raw : idleTimeoutFail(
    raw,
    () => new HttpFailure.Timeout({ ...attempt.requestInfo(request), phase: "BodyRead", timeout: idleTimeout }),
    idleTimeout
  )
  const counted = Stream.mapChunksEffect(timed, (chunk): Effect.Effect<Chunk.Chunk<Uint8Array>, Failure> => {
    let size = 0
    for (const bytes of chunk) size += bytes.byteLength
    const after = state.received + size
    if (after > maxBodyBytes) return Effect.fail(attempt.tooLarge(request, response, maxBodyBytes, state.total))
    // `end` is the declared length for a full answer, and the end of its `Content-Range` (never past the total) for
    // a part
    if (end !== undefined && after > end) {
      return Effect.fail(failWith(ctx, "TooLong", `more than the ${end} bytes declared`))
    }
    state.received = after
    ctx.observer.count = after
    return Effect.succeed(chunk)
  })
  // a body that ends before the declared length ended early: a cut like any other; so does a part that ends where
  // its Content-Range said, before the whole length (a server may answer less than asked, RFC 9110 §14.2)
  const ended = Effect.suspend(() => {
    const expected = state.total ?? end
    return expected !== undefined && state.received < expected
      ? Effect.fail(attempt.truncated(request, response, undefined, state.received, expected))
      : Effect.void
  })
  return Stream.concat(counted, Stream.drain(Stream.fromEffect(ended))).pipe(
    Stream.catchAll((failure: Failure) =>
      !isCut(failure)
        ? Stream.fail(failure)
        // the connection broke after the last byte of the declared length: nothing is missing
        : state.total !== undefined && state.received === state.total
        ? Stream.empty
        : resume(ctx, failure)
    )
  )
}

const prepare = (input: HttpClientRequest.HttpClientRequest): HttpClientRequest.HttpClientRequest => {
  const request = attempt.withoutFragment(input)
  // byte offsets count the representation as sent: ask for it unencoded, as a transport that decodes would count
  // other bytes than the server's ranges do
  return request.headers["accept-encoding"] === undefined
    ? HttpClientRequest.setHeader(request, "accept-encoding", "identity")
    : request
}

const refused = (request: HttpClientRequest.HttpClientRequest, detail: string): DownloadError =>
  new DownloadError({
    ...attempt.requestInfo(request),
    reason: "InvalidOptions",
    detail,
    receivedBytes: 0,
    expectedBytes: undefined
  })

const streamWith = (
  input: HttpClientRequest.HttpClientRequest,
  options: Download.Options | undefined,
  defaultMax: number
): Stream.Stream<Uint8Array, Failure, HttpClient.HttpClient> =>
  Stream.unwrap(Effect.gen(function*() {
    const request = prepare(input)
    const checked = checkOptions(options, defaultMax)
    if (Array.isArray(checked)) return yield* Effect.fail(refused(request, checked.join("; ")))
    const problems: Array<string> = []
    if (request.method !== "GET") problems.push(`request.method must be GET (got ${request.method})`)
    if (request.headers["range"] !== undefined || request.headers["if-range"] !== undefined) {
      problems.push("request.headers must not set Range or If-Range: the download sets them")
    }
    if (problems.length > 0) return yield* Effect.fail(refused(request, problems.join("; ")))
    const invalid = attempt.validateRequest(request)
    if (invalid !== undefined) return yield* Effect.fail(invalid)
    const client = yield* HttpClient.HttpClient
    const driver = yield* Schedule.driver((checked as Checked).schedule)
    const state: State = {
      started: false,
      received: 0,
      mark: 0,
      total: undefined,
      validator: undefined,
      etag: undefined,
      notResumable: undefined
    }
    return telemetry.observeStream(
      telemetry.downloadKind,
      request,
      (observer) => exchange({ client, request, options: checked as Checked, driver, state, observer })
    )
  }))

/** @internal */
export const stream = (
  request: HttpClientRequest.HttpClientRequest,
  options?: Download.Options
): Stream.Stream<Uint8Array, Failure, HttpClient.HttpClient> => streamWith(request, options, Infinity)

/** @internal */
export const bytes = (
  request: HttpClientRequest.HttpClientRequest,
  options?: Download.Options
): Effect.Effect<Uint8Array<ArrayBuffer>, Failure, HttpClient.HttpClient> =>
  Effect.map(Stream.runCollect(streamWith(request, options, attempt.defaultMaxBodyBytes)), (chunks) => {
    let total = 0
    for (const chunk of chunks) total += chunk.byteLength
    return attempt.concatBytes(chunks, total)
  })
