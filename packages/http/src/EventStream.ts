/**
 * Server-Sent Events (`text/event-stream`) as a `Stream` of events that survives disconnects, as the WHATWG HTML
 * standard's `EventSource` does (§9.2 "Server-sent events"), with Sturdy's typed failures.
 *
 * Each connection sends a GET (or the caller's own request) with `Accept: text/event-stream`,
 * `Cache-Control: no-store` and, on a reconnect, `Last-Event-ID` when an event set one. A `200` with a
 * `text/event-stream` content type (parameters allowed) opens the stream; the body is decoded as UTF-8 (a chunk may
 * split a character or a CRLF; one leading BOM is dropped) and parsed as the standard's "event stream
 * interpretation" says: `data`, `event`, `id` (ignored when it holds NULL; it persists across events and
 * reconnects, and an empty one resets it) and `retry` (ASCII digits only) fields, comments, and a blank line that
 * dispatches. An event left incomplete when a connection ends is dropped.
 *
 * Where the standard is silent about a hostile server, three bounds apply: an `id` holding any control character
 * other than tab is ignored like one holding NULL (no header value can carry it back, and a reconnect that cannot be
 * sent would end the stream); a `retry:` above 2^31 − 1 ms (about 24.8 days, the longest timer) counts as that; and
 * the bytes held for one event are at most `maxEventBytes`. A last event ID beyond ASCII is sent as its UTF-8 bytes.
 *
 * ## When it reconnects
 *
 * | The connection…                                   | Outcome                                                    |
 * | ------------------------------------------------- | ---------------------------------------------------------- |
 * | ends cleanly after a 200                          | reconnects (as `EventSource` does)                         |
 * | answers 204 No Content                            | the stream ends, without a failure (the server says stop)  |
 * | fails with a transient `HttpFailure`: `ConnectionError` (not `Tls`), `Timeout` (`Attempt`, `BodyRead`: also the idle timeout), `BodyTruncated` (dropped mid-stream), `ServerError` (5xx except 501, 505, 511), `RateLimited` (429), `ClientError` 408 / 425 | reconnects; a `Retry-After` (429, 503) is the shortest wait |
 * | fails so with a `Retry-After` longer than `maxRetryAfter` (30 s by default) | the stream fails at once with that failure (`RateLimited`, `ServerError`), without waiting |
 * | fails otherwise (`HttpFailure.isTransient` is false): other 4xx, 501/505/511, `Tls`, a `Deadline` timeout, `UnexpectedContentType`, another 2xx (`UnexpectedStatus`), `InvalidRequest`, a `json` event that does not decode | the stream fails with that failure |
 * | would reconnect but `schedule` is done            | the stream fails with `EventStreamError` (`ReconnectsExhausted`, carrying the last failure) |
 *
 * The wait before a reconnect is the reconnection time (3 s as the `eventsource` npm package, or the server's last
 * `retry:`), plus the delay of `schedule`, and never shorter than the server's `Retry-After`. A `Retry-After` longer
 * than `maxRetryAfter` is not waited out, as `Policy` does not wait one longer than its `retry.maxRetryAfter` (same
 * name, same 30 s default): the stream fails at once with the server's failure, so that one `Retry-After: 86400` does
 * not hold the consumer for a day without a word; whether that wait fits is decided on the server's own value, after
 * `schedule` (a schedule that is done is still `ReconnectsExhausted`). A `retry:` is not held to it: it is the
 * server's reconnection time, not a failure's wait, and is bounded by the longest timer only. The default schedule
 * adds nothing to the first reconnect, then 1 s, 2 s, 4 s … capped at 30 s, each jittered (× 0.8 to 1.2), without
 * limit: a stream is meant to stay open, and a server that is down for long is retried at most every ~36 s plus the
 * reconnection time. A connection that delivered an event (decoded, with `json`) resets the schedule.
 * `Schedule.recurs(n)` (no delay, at most `n` reconnects in a row) bounds it. Every wait runs on Effect's `Clock`, so
 * `TestClock` drives it; one longer than a timer holds (2^31 − 1 ms) is slept in steps, so it ends.
 *
 * Interrupting the consumer closes the connection. Failures carry the method and the redacted URL, never a secret.
 *
 * Through `Policy.withPolicy(policy)`, each connection's request is sent under `Deadline.headOnly`: the policy's
 * `attemptTimeout` (10 s by default) and `totalTimeout` (30 s) bound getting the response head, retries included, and
 * not the events, which flow on one connection for as long as the server sends them, also on a transport that enforces
 * deadlines itself (`@sturdy/node`'s `UndiciHttpClient`, which stops at the head). `idleTimeout` bounds the silence,
 * also for a consumer inside an uninterruptible region.
 *
 * ## Telemetry
 *
 * With a real tracer installed, the whole stream is one `http.client.event_stream {METHOD}` span (kind `internal`,
 * the request's attributes with `url.full` redacted), with a `reconnect` event per reconnect (`sturdy.reason`: the
 * failure's tag or `stream_ended`, `sturdy.delay_ms`, `sturdy.reconnects`) and, at its end, `sturdy.events`,
 * `sturdy.reconnects` and `error.type` when it failed; each connection's request is the redacted client span of
 * `Attempt.classify`, its child. The last event ID is never recorded on it (an id can be a resume token).
 * `sturdy_http_event_stream_reconnects_total{host, reason}` and `sturdy_http_event_stream_events_total{host}` count
 * with or without a tracer (see `Telemetry`). Without a tracer no span is built. Options refused before anything is
 * sent make no span.
 *
 * Reused: `Attempt.classify` / `Attempt.decodeJson` for statuses, timeouts, redaction and JSON, and a `TextDecoder`
 * in streaming mode (which keeps a character split between chunks). Not `Stream.decodeText`: its decoder drops the
 * BOM of every connection's body itself, so `parse` on decoded text would need a second rule; here the parser drops
 * exactly one, whatever feeds it. Not `Stream.splitLines`: a line's end decides a dispatch, and a parser that keeps
 * a CR pending across chunks is shorter than pairing it with one. Not `@effect/experimental`'s `Sse` parser (0.61),
 * which looks for the BOM as three code units after decoding (it is one, U+FEFF), reads a CR at the end of a chunk
 * and the LF starting the next as two line ends (a spurious dispatch), accepts `retry: 12abc`, pauses the stream on
 * `retry:` instead of keeping it as the reconnection time, and gives an event only its own block's `id`, not the last
 * event ID that persists across events; nor does it reconnect.
 *
 * @since 0.2.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as Duration from "effect/Duration"
import type * as Schedule from "effect/Schedule"
import type * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import type * as HttpFailure from "./HttpFailure.js"
import * as internal from "./internal/eventStream.js"

/**
 * One dispatched event. `lastEventId` is the last event ID when it was dispatched (set by this or an earlier
 * event's `id:`, `""` when none); `origin` is the origin of the URL it came from.
 *
 * @example
 * ```ts
 * import type { EventStream } from "@sturdy/http"
 *
 * const show = (event: EventStream.Event) => `${event.type} #${event.lastEventId}: ${event.data}`
 * ```
 * @since 0.2.0
 * @category models
 */
export interface Event<A = string> {
  /** The `event:` field, `"message"` when none. */
  readonly type: string
  /** The `data:` lines joined by LF (decoded by the schema with {@link json}). */
  readonly data: A
  readonly lastEventId: string
  readonly origin: string
}

/**
 * What a `schedule` is stepped with before a reconnect: the failure that ended the connection, or
 * {@link StreamEnded} when the body ended cleanly.
 *
 * @example
 * ```ts
 * import type { EventStream } from "@sturdy/http"
 * import { Schedule } from "effect"
 *
 * // at most 5 reconnects in a row, and none after a 503
 * const schedule = Schedule.recurs(5).pipe(
 *   Schedule.whileInput((input: EventStream.ReconnectInput) => !(input._tag === "ServerError" && input.status === 503))
 * )
 * ```
 * @since 0.2.0
 * @category models
 */
export type ReconnectInput = HttpFailure.HttpFailure | StreamEnded

/**
 * A connection's body ended without a failure.
 *
 * @example
 * ```ts
 * import type { EventStream } from "@sturdy/http"
 *
 * const ended: EventStream.StreamEnded = { _tag: "StreamEnded" }
 * ```
 * @since 0.2.0
 * @category models
 */
export interface StreamEnded {
  readonly _tag: "StreamEnded"
}

/**
 * Options of {@link make} and {@link json}. Values out of range fail the stream with `HttpFailure.InvalidRequest`
 * (reason `InvalidOptions`, naming each option) before anything is sent.
 *
 * | Option             | Default                                   | Valid values                                  |
 * | ------------------ | ----------------------------------------- | --------------------------------------------- |
 * | `reconnectionTime` | 3 seconds (the server's `retry:` replaces it) | a finite duration ≥ 0, at most 2^31 − 1 ms |
 * | `schedule`         | + 0, 1 s, 2 s, 4 s … ≤ 30 s, jittered, unlimited | any `Schedule` of {@link ReconnectInput} |
 * | `idleTimeout`      | none                                      | a positive duration (infinite: none)          |
 * | `lastEventId`      | `""`                                      | a string without control characters (tab aside) |
 * | `maxEventBytes`    | 10 MiB (as `Attempt`'s `maxBodyBytes`)    | an integer ≥ 1, or `Infinity`                 |
 * | `maxRetryAfter`    | 30 seconds (as `Policy`'s `retry.maxRetryAfter`) | a duration ≥ 0, at most 2^31 − 1 ms, or infinite (no limit) |
 *
 * @example
 * ```ts
 * import type { EventStream } from "@sturdy/http"
 * import { Schedule } from "effect"
 *
 * const options: EventStream.Options = { idleTimeout: "45 seconds", schedule: Schedule.recurs(10) }
 * ```
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** The wait before a reconnect until the server sends `retry:`. */
  readonly reconnectionTime?: Duration.DurationInput | undefined
  /** Backoff added to the reconnection time; when it is done, the stream fails with `EventStreamError`. */
  readonly schedule?: Schedule.Schedule<unknown, ReconnectInput> | undefined
  /**
   * No bytes (comments count, so heartbeats keep it alive) for this long, or no response headers for this long: the
   * connection is dead (`Timeout`, `BodyRead` or `Attempt`) and is reconnected. Also when the stream is consumed
   * inside an uninterruptible region (an `Effect.uninterruptible`, the `acquire` of an `acquireRelease`): the read of
   * the next chunk is interruptible by this bound only, so a silent connection cannot hold the consumer, and the
   * consumer's mask still holds against any other interruption.
   */
  readonly idleTimeout?: Duration.DurationInput | undefined
  /**
   * The `Last-Event-ID` to resume from on the first connection. Sent, as every last event ID, as its UTF-8 bytes (as
   * browsers send it).
   */
  readonly lastEventId?: string | undefined
  /**
   * The most UTF-8 bytes held for one event not yet dispatched (its `data` lines and the line not yet ended): a server
   * that sends more (a line without end) fails the stream with `HttpFailure.BodyTooLarge`, which is not reconnected.
   * Events completed before it are delivered first.
   */
  readonly maxEventBytes?: number | undefined
  /**
   * The longest `Retry-After` (of a 429, a 503 or another reconnected failure that carries one) waited out before a
   * reconnect. A server that asks for longer fails the stream at once with its failure (`RateLimited`,
   * `ServerError`), as `Policy` gives up on a wait beyond its `retry.maxRetryAfter`. `0` reconnects only on a
   * `Retry-After: 0` (or a date past); an infinite duration waits whatever the server asks.
   *
   * @since 0.2.0
   */
  readonly maxRetryAfter?: Duration.DurationInput | undefined
}

/**
 * The stream gave up: `schedule` was done when a connection ended. `lastFailure` is the failure that ended the last
 * connection (`undefined` when its body ended cleanly); `reconnects` counts the reconnects since the last event.
 *
 * @example
 * ```ts
 * import { EventStream, type HttpFailure } from "@sturdy/http"
 * import { Effect, Stream } from "effect"
 *
 * declare const events: Stream.Stream<EventStream.Event, HttpFailure.HttpFailure | EventStream.EventStreamError>
 * const program = Stream.runDrain(events).pipe(
 *   Effect.catchTag("EventStreamError", (e) => Effect.log(`gave up after ${e.reconnects}: ${e.lastFailure?._tag}`))
 * )
 * ```
 * @since 0.2.0
 * @category errors
 */
export const EventStreamError: typeof internal.EventStreamError = internal.EventStreamError

/**
 * @since 0.2.0
 * @category errors
 */
export type EventStreamError = internal.EventStreamError

/**
 * The events of a `text/event-stream` resource, reconnecting as `EventSource` does. `request` is a URL (sent as a
 * GET) or a request the caller built (its method, headers and body are kept; the stream's headers are set on it).
 * Statuses and transport errors are classified as `Attempt.classify` does.
 *
 * @example
 * ```ts
 * import { HttpClient } from "@effect/platform"
 * import { EventStream } from "@sturdy/http"
 * import { Effect, Schedule, Stream } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const client = yield* HttpClient.HttpClient
 *   return yield* EventStream.make(client, "https://api.example.com/changes", { schedule: Schedule.recurs(5) }).pipe(
 *     Stream.take(10),
 *     Stream.runCollect
 *   )
 * })
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const make: <E extends HttpClientError.HttpClientError | HttpFailure.HttpFailure, R>(
  client: HttpClient.HttpClient.With<E, R>,
  request: string | URL | HttpClientRequest.HttpClientRequest,
  options?: Options
) => Stream.Stream<Event, HttpFailure.HttpFailure | EventStreamError, R> = internal.make

/**
 * As {@link make}, with each event's `data` parsed as JSON and decoded by `schema`. Data that is not JSON fails the
 * stream with `InvalidJson`, data of the wrong shape with `SchemaMismatch` (neither is reconnected).
 *
 * @example
 * ```ts
 * import { HttpClient } from "@effect/platform"
 * import { EventStream } from "@sturdy/http"
 * import { Effect, Schema, Stream } from "effect"
 *
 * const Change = Schema.Struct({ id: Schema.Number, op: Schema.Literal("insert", "delete") })
 * const program = Effect.gen(function*() {
 *   const client = yield* HttpClient.HttpClient
 *   yield* EventStream.json(client, "https://api.example.com/changes", Change).pipe(
 *     Stream.runForEach((event) => Effect.log(event.data.op, event.data.id))
 *   )
 * })
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const json: <A, I, RS, E extends HttpClientError.HttpClientError | HttpFailure.HttpFailure, R>(
  client: HttpClient.HttpClient.With<E, R>,
  request: string | URL | HttpClientRequest.HttpClientRequest,
  schema: Schema.Schema<A, I, RS>,
  options?: Options
) => Stream.Stream<Event<A>, HttpFailure.HttpFailure | EventStreamError, R | RS> = internal.json

/**
 * Parses a whole `text/event-stream` body given as decoded text chunks, as one connection would: the events it
 * dispatches (an incomplete last one is dropped). For tests and for bodies read by other means.
 *
 * @example
 * ```ts
 * import { EventStream } from "@sturdy/http"
 *
 * EventStream.parse(["data: a\r", "\ndata: b\n\n"]) // [{ type: "message", data: "a\nb", lastEventId: "" }]
 * ```
 * @since 0.2.0
 * @category parsing
 */
export const parse: (
  chunks: Iterable<string>,
  lastEventId?: string
) => Array<{ readonly type: string; readonly data: string; readonly lastEventId: string }> = internal.parseAll
