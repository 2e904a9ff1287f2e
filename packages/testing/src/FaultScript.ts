/**
 * The fault-script language shared by `FaultServer` (a real loopback server) and `ScriptedClient` (an in-memory
 * `HttpClient`): routes carry scripts of faults, and the same script behaves the same on both.
 *
 * Scripts are plain data described by `Schema`, so they can be written in code with the constructors below or loaded
 * from JSON with `Schema.decodeUnknown(FaultScript.Routes)`.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as internal from "./internal/faultScript.js"

// -----------------------------------------------------------------------------
// models
// -----------------------------------------------------------------------------

// What HTTP can carry in a header field (RFC 9110 §5.1, §5.5): the schemas refuse the rest on decode, as the
// constructors do when a script is written.
const headerValue = (name: string) =>
  Schema.String.pipe(Schema.filter((value) => internal.headerValueProblem(name, value)))

const Headers = Schema.Record({ key: Schema.String, value: Schema.String }).pipe(
  Schema.filter((headers) => internal.headersProblem(headers))
)

const FinalStatus = Schema.Int.pipe(Schema.between(200, 599, {
  message: (issue) =>
    `status ${String(issue.actual)} is not an integer from 200 to 599 (a 1xx is informational, not a final response)`
}))

/**
 * A `Retry-After` value: a literal header value (`"1"` seconds, or an HTTP date; visible ASCII, spaces and tabs
 * only), or an HTTP date computed at response time as "now plus `seconds`" on the responder's clock.
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const literal: FaultScript.RetryAfter = "2"
 * const relative: FaultScript.RetryAfter = { _tag: "RelativeDate", seconds: 30 }
 * ```
 * @since 0.1.0
 * @category models
 */
export const RetryAfter = Schema.Union(
  headerValue("retry-after"),
  Schema.TaggedStruct("RelativeDate", { seconds: Schema.Finite })
)

/**
 * @since 0.1.0
 * @category models
 */
export type RetryAfter = typeof RetryAfter.Type

/**
 * The IETF `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (seconds) and optional `RateLimit-Policy`
 * header fields.
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const fault = FaultScript.status(429, { rateLimit: { limit: 100, remaining: 0, reset: 10 } })
 * ```
 * @since 0.1.0
 * @category models
 */
export const RateLimit = Schema.Struct({
  limit: Schema.Finite,
  remaining: Schema.Finite,
  reset: Schema.Finite,
  policy: Schema.optional(headerValue("ratelimit-policy"))
})

/**
 * @since 0.1.0
 * @category models
 */
export interface RateLimit extends Schema.Schema.Type<typeof RateLimit> {}

/**
 * What a response carries: nothing, a JSON value, text, JSON that does not parse, or a valid JSON document of exactly
 * `bytes` bytes, an integer ≥ 1 (to exercise size limits; below 11 bytes the document is a string or a digit).
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const body: FaultScript.Body = { _tag: "Json", value: { id: 1 } }
 * ```
 * @since 0.1.0
 * @category models
 */
export const Body = Schema.Union(
  Schema.TaggedStruct("Empty", {}),
  Schema.TaggedStruct("Json", { value: Schema.Unknown }),
  Schema.TaggedStruct("Text", { text: Schema.String, contentType: headerValue("content-type") }),
  Schema.TaggedStruct("MalformedJson", { text: Schema.String }),
  Schema.TaggedStruct("Oversized", { bytes: Schema.Int.pipe(Schema.greaterThanOrEqualTo(1)) })
)

/**
 * @since 0.1.0
 * @category models
 */
export type Body = typeof Body.Type

/**
 * How a response body ends: completely, with a connection reset after `afterBytes` bytes, or with the connection
 * closed while `Content-Length` still promises `missingBytes` more.
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const ending: FaultScript.Ending = { _tag: "ResetMidBody", afterBytes: 8 }
 * ```
 * @since 0.1.0
 * @category models
 */
export const Ending = Schema.Union(
  Schema.TaggedStruct("Complete", {}),
  Schema.TaggedStruct("ResetMidBody", { afterBytes: Schema.NonNegativeInt }),
  Schema.TaggedStruct("Truncated", { missingBytes: Schema.Int.pipe(Schema.greaterThanOrEqualTo(1)) })
)

/**
 * @since 0.1.0
 * @category models
 */
export type Ending = typeof Ending.Type

/**
 * A response: status, headers and body, sent after `latencyMillis`, the body paced at `bytesPerSecond` when set, and
 * ended as `ending` says. The status is a final one, an integer from 200 to 599 (a 1xx is informational: clients
 * consume it and wait for another). A header name is an HTTP token (RFC 9110: letters, digits and
 * ``!#$%&'*+-.^_`|~``, at least one), and a header value (including a literal `retryAfter`, `rateLimit.policy` and a
 * text body's `contentType`) holds visible ASCII, spaces and tabs only: no CR, LF, NUL or other control character, and
 * nothing beyond ASCII. The constructors throw a `RangeError` naming the bad value, and the schema refuses it on
 * decode. A literal `Respond` that gets past both and that HTTP cannot send (a status of 42 or 103, a header
 * `writeHead` refuses) is answered by both responders with a 500 whose text body says why. Spaces and tabs around a
 * header value are dropped, as every client drops them. A 204 or 304 (sent without `Content-Length`) and the answer to a `HEAD` carry no body:
 * nothing is paced, reset or truncated, the response ends complete. A reset after the whole body (`afterBytes` at
 * least its length) follows a complete response, which the client reads whole.
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const fault: FaultScript.Respond = FaultScript.status(503, { retryAfter: "1" })
 * ```
 * @since 0.1.0
 * @category models
 */
export const Respond = Schema.TaggedStruct("Respond", {
  status: FinalStatus,
  headers: Headers,
  retryAfter: Schema.optional(RetryAfter),
  rateLimit: Schema.optional(RateLimit),
  body: Body,
  latencyMillis: Schema.NonNegative,
  bytesPerSecond: Schema.optional(Schema.Positive),
  ending: Ending
})

/**
 * @since 0.1.0
 * @category models
 */
export interface Respond extends Schema.Schema.Type<typeof Respond> {}

/**
 * The connection is reset (TCP RST) after `latencyMillis`, before any response header is sent.
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const fault: FaultScript.Reset = FaultScript.reset("beforeHeaders")
 * ```
 * @since 0.1.0
 * @category models
 */
export const Reset = Schema.TaggedStruct("Reset", { latencyMillis: Schema.NonNegative })

/**
 * @since 0.1.0
 * @category models
 */
export interface Reset extends Schema.Schema.Type<typeof Reset> {}

/**
 * No response at all until the client gives up (the request log then shows `aborted: true`).
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const fault: FaultScript.Hang = FaultScript.hang
 * ```
 * @since 0.1.0
 * @category models
 */
export const Hang = Schema.TaggedStruct("Hang", {})

/**
 * @since 0.1.0
 * @category models
 */
export interface Hang extends Schema.Schema.Type<typeof Hang> {}

/**
 * Why a connection could not be opened, and the cause the transport reports (as Node 20 and undici report it, through
 * `NodeHttpClient.layerUndici` or `@sturdy/node`'s `UndiciHttpClient`), with `HttpFailure`'s classification:
 *
 * | reason           | cause                                                     | `ConnectionError` reason | transient |
 * | ---------------- | --------------------------------------------------------- | ------------------------ | --------- |
 * | `Refused`        | `connect ECONNREFUSED`: nothing listens on the port       | `Refused`                | yes       |
 * | `DnsNotFound`    | `getaddrinfo ENOTFOUND`: the host name does not exist     | `DnsLookup`              | yes       |
 * | `DnsTemporary`   | `getaddrinfo EAI_AGAIN`: the resolver failed for now      | `DnsLookup`              | yes       |
 * | `ConnectTimeout` | undici's `UND_ERR_CONNECT_TIMEOUT`: no answer to connect  | `ConnectTimeout`         | yes       |
 * | `Tls`            | `DEPTH_ZERO_SELF_SIGNED_CERT`: the certificate is refused | `Tls`                    | no        |
 *
 * None of them reached the server, so `HttpFailure.mayHaveReachedServer` is false and `Policy` retries even a POST
 * after the transient ones.
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const reasons: ReadonlyArray<FaultScript.ConnectFailureReason> = FaultScript.ConnectFailureReason.literals
 * ```
 * @since 0.2.0
 * @category models
 */
export const ConnectFailureReason = Schema.Literal(...internal.connectFailureReasons).annotations({
  // one line naming the value and the choices, rather than one "Expected" line per choice
  message: (issue) => ({ message: internal.reasonProblem(issue.actual), override: true })
})

/**
 * @since 0.2.0
 * @category models
 */
export type ConnectFailureReason = typeof ConnectFailureReason.Type

/**
 * A connection that never opened: after `latencyMillis` (how long the lookup, the connect or the handshake took to
 * fail; undici's own connect timeout is 10 seconds) the request fails with the cause `reason` names, before anything
 * was sent. The request log still records it, and the route's counter advances, as for any other fault.
 *
 * `ScriptedClient` plays it. `FaultServer` cannot: the client's connection to it is already open when the request
 * arrives, so it answers such a fault as it answers every fault it cannot play, with a 500 whose text body says why
 * (header `x-fault-script-error: cannot play`); for a real refused connection use `FaultServer.refusedUrl`.
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const fault: FaultScript.ConnectFailure = FaultScript.refused()
 * const decoded: FaultScript.ConnectFailure = { _tag: "ConnectFailure", reason: "DnsTemporary", latencyMillis: 5 }
 * ```
 * @since 0.2.0
 * @category models
 */
export const ConnectFailure = Schema.TaggedStruct("ConnectFailure", {
  reason: ConnectFailureReason,
  latencyMillis: Schema.NonNegative
})

/**
 * @since 0.2.0
 * @category models
 */
export interface ConnectFailure extends Schema.Schema.Type<typeof ConnectFailure> {}

/**
 * The error code of an HTTP/2 RST_STREAM, by its RFC 9113 §7 name (`"REFUSED_STREAM"`, `"INTERNAL_ERROR"`, ...; Node
 * and undici prefix it with `NGHTTP2_`).
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const resets = FaultScript.Http2ErrorCode.literals.map((code) => FaultScript.streamReset(code))
 * ```
 * @since 0.2.0
 * @category models
 */
export const Http2ErrorCode = Schema.Literal(...internal.http2ErrorCodes).annotations({
  message: (issue) => ({ message: internal.http2CodeProblem(issue.actual), override: true })
})

/**
 * @since 0.2.0
 * @category models
 */
export type Http2ErrorCode = typeof Http2ErrorCode.Type

/**
 * An HTTP/2 stream the server resets (RST_STREAM) with `code` after `latencyMillis`, before any response header, on a
 * connection that is open: the request was written. `ScriptedClient` fails it as `@sturdy/node`'s `UndiciHttpClient`
 * with `http2` fails it (undici 7 on Node 20 and later):
 *
 * | code                           | cause                                                                   | unsent |
 * | ------------------------------ | ----------------------------------------------------------------------- | ------ |
 * | `REFUSED_STREAM`               | `Http2StreamReset` `code: "NGHTTP2_REFUSED_STREAM"`                     | yes    |
 * | `NO_ERROR`                     | undici's `InformationalError` `UND_ERR_INFO` (stream half-closed)       | no     |
 * | `CANCEL`                       | undici's `InformationalError` `UND_ERR_INFO` (closed before a response) | no     |
 * | any other                      | `Http2StreamReset` `code: "NGHTTP2_<code>"`                             | no     |
 *
 * Each is a `RequestError` `Transport`, in `@sturdy/http` a `ConnectionError` `Unknown`. A refused stream was not
 * processed (RFC 9113 §8.7), so its `RequestError` carries `requestSent: false` and `Policy` retries it even for a
 * POST; after any other code the request may have been processed: a GET is retried, a POST is not.
 *
 * `FaultServer` speaks HTTP/1.1, which has no streams: it answers such a fault with a 500 whose text body says it
 * cannot play it (header `x-fault-script-error: cannot play`), as it answers a `ConnectFailure`.
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const refused: FaultScript.StreamReset = FaultScript.refusedStream()
 * const decoded: FaultScript.StreamReset = { _tag: "StreamReset", code: "INTERNAL_ERROR", latencyMillis: 5 }
 * ```
 * @since 0.2.0
 * @category models
 */
export const StreamReset = Schema.TaggedStruct("StreamReset", {
  code: Http2ErrorCode,
  latencyMillis: Schema.NonNegative
})

/**
 * @since 0.2.0
 * @category models
 */
export interface StreamReset extends Schema.Schema.Type<typeof StreamReset> {}

/**
 * One event of an {@link EventStream}: its `id` (no NULL, CR or LF; the id a reconnect names in `Last-Event-ID`),
 * its `event` type (no CR or LF), its `data` (sent as one `data:` line per line: a CR or CRLF inside arrives as LF)
 * and a `retry` reconnection time in milliseconds (an integer ≥ 0).
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const event: FaultScript.ServerEvent = { id: "7", event: "update", data: "{\"n\":7}", retry: 1000 }
 * ```
 * @since 0.2.0
 * @category models
 */
export const ServerEvent = Schema.Struct({
  id: Schema.optional(Schema.String.pipe(Schema.filter((id) => internal.eventFieldProblem("id", id)))),
  event: Schema.optional(Schema.String.pipe(Schema.filter((event) => internal.eventFieldProblem("event", event)))),
  data: Schema.String,
  retry: Schema.optional(Schema.NonNegativeInt)
})

/**
 * @since 0.2.0
 * @category models
 */
export interface ServerEvent extends Schema.Schema.Type<typeof ServerEvent> {}

/**
 * A `200` `text/event-stream` (with `Cache-Control: no-store`) whose events are `events`, sent after `latencyMillis`,
 * **starting after the event whose `id` equals the request's `Last-Event-ID`** (from the first event when the request
 * names none, or an id no event has): a reconnect resumes where the last one stopped, as an `EventSource` server
 * does. Ids are unique (the schema and the constructor refuse a duplicate). An event without an id resumes as SSE
 * says: after the last id before it, so it is sent again after a drop that follows it.
 *
 * With `dropAfter: n` the connection is reset after `n` events (or after all that remain, when fewer do): a
 * mid-stream drop. Otherwise the stream ends as `end` says: `"close"` ends the body cleanly (an `EventSource`
 * reconnects after its reconnection time), `"hang"` keeps it open, sending a comment line (`: heartbeat`) every
 * `heartbeatMillis` when set, until the client goes away. The events are sent at once, each in its own chunk.
 * Answering a `HEAD`, it sends the headers only. `FaultServer` and `ScriptedClient` play it alike; `Chaos` too.
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const fault: FaultScript.EventStream = FaultScript.eventStream([{ id: "1", data: "a" }], { end: "hang" })
 * ```
 * @since 0.2.0
 * @category models
 */
export const EventStream = Schema.TaggedStruct("EventStream", {
  events: Schema.Array(ServerEvent).pipe(Schema.filter((events) => internal.duplicateIdProblem(events))),
  dropAfter: Schema.optional(Schema.NonNegativeInt),
  heartbeatMillis: Schema.optional(Schema.Positive),
  end: Schema.Literal("close", "hang"),
  latencyMillis: Schema.NonNegative
}).pipe(
  Schema.filter((fault) =>
    fault.heartbeatMillis === undefined || (fault.end === "hang" && fault.dropAfter === undefined) ||
    "heartbeatMillis needs end \"hang\" and no dropAfter (heartbeats are sent while the stream hangs)"
  )
)

/**
 * @since 0.2.0
 * @category models
 */
export interface EventStream extends Schema.Schema.Type<typeof EventStream> {}

/**
 * A resource that honours byte ranges (RFC 9110 §14), as a static file server does: its representation is `body`
 * encoded as UTF-8, sent with `contentType`, `ETag: etag` and `Last-Modified: lastModified` when set, `Date` (the
 * responder's clock) and `Accept-Ranges: bytes` (`none` when `acceptRanges` is false, and `Range` is then ignored).
 * A request with `Range: bytes=N-` or `bytes=N-M` (one range; any other form is ignored) gets a `206` with
 * `Content-Range: bytes N-<end>/<total>` and that part, unless it carries an `If-Range` that does not match: an entity
 * tag matches a strong `etag` that is the same, a date matches a `lastModified` that is the same text; no match, or no
 * `Range`, gets the whole body with a `200`. A range that starts at or past the end gets a `416` whose
 * `Content-Range` gives the total length (`bytes *` then a slash and the total).
 *
 * `cutAt` holds offsets (integers ≥ 0) into the whole representation: a response whose part starts before an offset
 * and reaches past it is reset there, after `Content-Length` promised the whole part (the first such offset wins). A
 * resume from an offset is not cut by it, so `always(resource(body, { cutAt: [10, 30] }))` cuts the first answer at
 * byte 10, the resume from 10 at byte 30, and serves the rest whole. `FaultServer` and `ScriptedClient` play it alike;
 * `Chaos` too. `Date` is the responder's clock: under `TestClock` it starts at 1970, when a `lastModified` from later
 * is not a strong validator to `Download` (which needs `Date` a second past it), so resume against an `etag` there, or
 * set the clock (`TestClock.setTime`) first.
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const fault: FaultScript.Resource = FaultScript.resource("0123456789", { etag: "\"v1\"", cutAt: [4] })
 * ```
 * @since 0.2.0
 * @category models
 */
export const Resource = Schema.TaggedStruct("Resource", {
  body: Schema.String,
  contentType: headerValue("content-type"),
  etag: Schema.optional(headerValue("etag")),
  lastModified: Schema.optional(headerValue("last-modified")),
  acceptRanges: Schema.Boolean,
  cutAt: Schema.Array(Schema.NonNegativeInt),
  latencyMillis: Schema.NonNegative
})

/**
 * @since 0.2.0
 * @category models
 */
export interface Resource extends Schema.Schema.Type<typeof Resource> {}

/**
 * One answer to one request: a response, a reset, a hang, or (since 0.2.0) a connection that never opened, an
 * HTTP/2 stream the server resets, an event stream that resumes from `Last-Event-ID`, or a resource that honours
 * `Range`.
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const faults: ReadonlyArray<FaultScript.Fault> = [FaultScript.status(503), FaultScript.reset("beforeHeaders")]
 * ```
 * @since 0.1.0
 * @category models
 */
export const Fault = Schema.Union(Respond, Reset, Hang, ConnectFailure, StreamReset, EventStream, Resource)

/**
 * @since 0.1.0
 * @category models
 */
export type Fault = typeof Fault.Type

/**
 * The faults given to successive requests on a route (a per-route counter); after the last step it repeats the last
 * step (`"repeatLast"`) or starts over (`"cycle"`).
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const script: FaultScript.Sequence = FaultScript.sequence(FaultScript.status(503), FaultScript.json({ ok: true }))
 * ```
 * @since 0.1.0
 * @category models
 */
export const Sequence = Schema.TaggedStruct("Sequence", {
  steps: Schema.NonEmptyArray(Fault),
  afterLast: Schema.Literal("repeatLast", "cycle")
})

/**
 * @since 0.1.0
 * @category models
 */
export interface Sequence extends Schema.Schema.Type<typeof Sequence> {}

/**
 * Seeded probabilities: request number `n` on the route draws a number from `(seed, n)` alone, so a run repeats
 * exactly; the first choice whose cumulative probability exceeds the draw wins, else `otherwise`.
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const script: FaultScript.Random = FaultScript.random({
 *   seed: 42,
 *   choices: [[0.2, FaultScript.status(503)]],
 *   otherwise: FaultScript.json({ ok: true })
 * })
 * ```
 * @since 0.1.0
 * @category models
 */
export const Random = Schema.TaggedStruct("Random", {
  seed: Schema.Int,
  choices: Schema.Array(Schema.Struct({ probability: Schema.Number.pipe(Schema.between(0, 1)), fault: Fault })),
  otherwise: Fault
})

/**
 * @since 0.1.0
 * @category models
 */
export interface Random extends Schema.Schema.Type<typeof Random> {}

/**
 * A route's script.
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const script: FaultScript.Script = FaultScript.always(FaultScript.status(200))
 * ```
 * @since 0.1.0
 * @category models
 */
export const Script = Schema.Union(Sequence, Random)

/**
 * @since 0.1.0
 * @category models
 */
export type Script = typeof Script.Type

/**
 * A method (`"*"` for any) and a path (exact, or a prefix when it ends in `*`; the query string is ignored) with its
 * script.
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const route: FaultScript.Route = FaultScript.route("GET /items", FaultScript.status(200))
 * ```
 * @since 0.1.0
 * @category models
 */
export const Route = Schema.Struct({ method: Schema.String, path: Schema.String, script: Script })

/**
 * @since 0.1.0
 * @category models
 */
export interface Route extends Schema.Schema.Type<typeof Route> {}

/**
 * During `[fromMillis, toMillis)` after the responder started, every request gets `fault`; route counters do not
 * advance during an outage.
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const outage = FaultScript.outage({ from: "1 second", to: "3 seconds", fault: FaultScript.status(503) })
 * ```
 * @since 0.1.0
 * @category models
 */
export const Outage = Schema.Struct({ fromMillis: Schema.NonNegative, toMillis: Schema.NonNegative, fault: Fault })

/**
 * @since 0.1.0
 * @category models
 */
export interface Outage extends Schema.Schema.Type<typeof Outage> {}

/**
 * Everything a responder does: routes, outage windows, and the answer to a request no route matches.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { FaultScript } from "@sturdy/testing"
 *
 * const routes = Schema.decodeUnknownSync(FaultScript.Routes)({
 *   routes: [{ method: "GET", path: "/items", script: { _tag: "Random", seed: 1, choices: [], otherwise: {
 *     _tag: "Respond", status: 200, headers: {}, body: { _tag: "Empty" }, latencyMillis: 0, ending: { _tag: "Complete" }
 *   } } }],
 *   outages: [],
 *   notFound: { _tag: "Hang" }
 * })
 * ```
 * @since 0.1.0
 * @category models
 */
export const Routes = Schema.Struct({
  routes: Schema.Array(Route),
  outages: Schema.Array(Outage),
  notFound: Fault
})

/**
 * @since 0.1.0
 * @category models
 */
export interface Routes extends Schema.Schema.Type<typeof Routes> {}

// -----------------------------------------------------------------------------
// constructors
// -----------------------------------------------------------------------------

/**
 * Options shared by the response constructors. Like every constructor here, they build only what the schema accepts:
 * a status outside 200–599 (a 1xx, or not an integer), a header name that is not an HTTP token, a header value (or a
 * string `retryAfter`, a `rateLimit.policy`, a `contentType`) with anything but visible ASCII, spaces and tabs, a
 * number that is not finite (`retryAfter`, its `seconds`, a `rateLimit` count) or an invalid `Date`, or a negative
 * latency throws a `RangeError` naming the bad value at once, rather than failing when a request arrives.
 *
 * @since 0.1.0
 * @category models
 */
export interface ResponseOptions {
  readonly status?: number | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** A number is seconds; a `Date` becomes an HTTP date; a string is sent as is. */
  readonly retryAfter?: number | string | Date | RetryAfter | undefined
  readonly rateLimit?: RateLimit | undefined
  readonly latency?: Duration.DurationInput | undefined
}

/**
 * A response with `status` (an integer from 200 to 599: a 1xx throws a `RangeError`) and no body.
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const fault = FaultScript.status(503, { retryAfter: "1" })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const status: (status: number, options?: Omit<ResponseOptions, "status">) => Respond = internal.status

/**
 * A response with a JSON body (status 200 unless given).
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const fault = FaultScript.json({ items: [] })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const json: (body: unknown, options?: ResponseOptions) => Respond = internal.json

/**
 * A response with a text body (status 200, `text/plain; charset=utf-8` unless given).
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const fault = FaultScript.text("hello")
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const text: (body: string, options?: ResponseOptions & { readonly contentType?: string }) => Respond =
  internal.text

/**
 * A response labelled `application/json` whose body does not parse.
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const fault = FaultScript.malformedJson()
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const malformedJson: (options?: ResponseOptions & { readonly text?: string }) => Respond = internal.malformedJson

/**
 * A valid JSON response of exactly `bytes` bytes, for exercising response size limits; `bytes` must be an integer
 * ≥ 1 (else a `RangeError`).
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const fault = FaultScript.oversized(1024 * 1024)
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const oversized: (bytes: number, options?: ResponseOptions) => Respond = internal.oversized

/**
 * A connection reset: `"beforeHeaders"` resets before any header; `"midBody"` sends a 200 JSON response's headers and
 * the first `afterBytes` (default 8) bytes of its body, then resets.
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const beforeHeaders = FaultScript.reset("beforeHeaders")
 * const midBody = FaultScript.reset("midBody", { afterBytes: 4 })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const reset: {
  (when: "beforeHeaders", options?: { readonly latency?: Duration.DurationInput | undefined }): Reset
  (when: "midBody", options?: ResponseOptions & { readonly afterBytes?: number; readonly body?: unknown }): Respond
} = internal.reset

/**
 * A 200 JSON response whose `Content-Length` promises `missingBytes` (default 16) more bytes than are sent before the
 * connection closes.
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const fault = FaultScript.truncated({ body: { items: [1, 2, 3] } })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const truncated: (
  options?: ResponseOptions & { readonly missingBytes?: number; readonly body?: unknown }
) => Respond = internal.truncated

/**
 * Never answers; the request stays open until the client gives up.
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const script = FaultScript.sequence(FaultScript.hang, FaultScript.json({ ok: true }))
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const hang: Hang = internal.hang

/**
 * Options of the connection-failure constructors: how long the failure takes to arrive (default 0).
 *
 * @since 0.2.0
 * @category models
 */
export interface ConnectOptions {
  readonly latency?: Duration.DurationInput | undefined
}

/**
 * A connection that never opened, for the given reason (one of {@link ConnectFailureReason}'s; anything else throws a
 * `RangeError` naming it). Handy in generators; `refused`, `dnsFailure`, `connectTimeout` and `tlsFailure` name each.
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const faults = FaultScript.ConnectFailureReason.literals.map((reason) => FaultScript.connectFailure(reason))
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const connectFailure: (reason: ConnectFailureReason, options?: ConnectOptions) => ConnectFailure =
  internal.connectFailure

/**
 * The connection is refused (`ECONNREFUSED`: nothing listens on the port): never sent, transient, so `Policy`
 * retries it even for a POST.
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const script = FaultScript.sequence(FaultScript.refused(), FaultScript.json({ id: 1 }, { status: 201 }))
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const refused: (options?: ConnectOptions) => ConnectFailure = internal.refused

/**
 * The host name does not resolve: `"notFound"` (the default, `ENOTFOUND`: no such name) or `"temporary"`
 * (`EAI_AGAIN`: the resolver failed for now). Both are `HttpFailure` `ConnectionError` `DnsLookup`.
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const unknownHost = FaultScript.dnsFailure()
 * const resolverDown = FaultScript.dnsFailure("temporary", { latency: "5 millis" })
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const dnsFailure: (kind?: "notFound" | "temporary", options?: ConnectOptions) => ConnectFailure =
  internal.dnsFailure

/**
 * The connect times out (undici's `ConnectTimeoutError`, `UND_ERR_CONNECT_TIMEOUT`) after `latency`: undici's default
 * connect timeout is 10 seconds, `@sturdy/node`'s 5 seconds, the default `latency` here 0, as for every fault. An
 * attempt timeout shorter than `latency` fires first, with a `Timeout` that says `requestSent: false` (nothing was
 * written), as on the wire.
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const fault = FaultScript.connectTimeout({ latency: "2 seconds" })
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const connectTimeout: (options?: ConnectOptions) => ConnectFailure = internal.connectTimeout

/**
 * The TLS handshake fails on the server's certificate (a self-signed one, `DEPTH_ZERO_SELF_SIGNED_CERT`): a
 * configuration problem, not transient, so `Policy` does not retry it.
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const fault = FaultScript.tlsFailure()
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const tlsFailure: (options?: ConnectOptions) => ConnectFailure = internal.tlsFailure

/**
 * The server refuses the request's HTTP/2 stream (RST_STREAM `REFUSED_STREAM`) before any processing: the request
 * never reached the application, so `Policy` retries it even for a POST (`requestSent: false`, as with `refused()`).
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const script = FaultScript.sequence(FaultScript.refusedStream(), FaultScript.json({ id: 1 }, { status: 201 }))
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const refusedStream: (options?: { readonly latency?: Duration.DurationInput | undefined }) => StreamReset =
  internal.refusedStream

/**
 * The server resets the request's HTTP/2 stream with `code` (default `"INTERNAL_ERROR"`) after the request was sent
 * and before any response header: it may have been processed, so `Policy` retries a GET but not a POST (unless the
 * code is `"REFUSED_STREAM"`, which is {@link refusedStream}). A code that is not an RFC 9113 §7 name throws a
 * `RangeError` naming it.
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const internalError = FaultScript.streamReset()
 * const calm = FaultScript.streamReset("ENHANCE_YOUR_CALM", { latency: "20 millis" })
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const streamReset: (
  code?: Http2ErrorCode,
  options?: { readonly latency?: Duration.DurationInput | undefined }
) => StreamReset = internal.streamReset

/**
 * Options of {@link eventStream}: `dropAfter` (an integer ≥ 0: reset the connection after that many events),
 * `end` (`"close"`, the default, or `"hang"`), `heartbeatEvery` (a positive duration: a comment line that often while
 * it hangs; only with `end: "hang"` and without `dropAfter`) and `latency`. A value out of range, or a
 * `heartbeatEvery` that could never be sent, throws a `RangeError` naming it.
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const options: FaultScript.EventStreamOptions = { end: "hang", heartbeatEvery: "15 seconds" }
 * ```
 * @since 0.2.0
 * @category models
 */
export interface EventStreamOptions {
  readonly dropAfter?: number | undefined
  readonly end?: "close" | "hang" | undefined
  readonly heartbeatEvery?: Duration.DurationInput | undefined
  readonly latency?: Duration.DurationInput | undefined
}

/**
 * An event stream of `events` that resumes after the request's `Last-Event-ID` (see {@link EventStream}). A script
 * `sequence(eventStream(all, { dropAfter: 2 }), eventStream(all))` drops once after two events and then serves the
 * rest to the reconnect; end it with `status(204)` to tell the client to stop. An id with NULL, CR or LF, an event type
 * with CR or LF, a duplicate id, a `retry` that is not an integer ≥ 0 or an option out of range throws a `RangeError`
 * naming it.
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const all = [{ id: "1", data: "a" }, { id: "2", data: "b" }, { id: "3", data: "c" }]
 * const script = FaultScript.sequence(
 *   FaultScript.eventStream(all, { dropAfter: 2 }),
 *   FaultScript.eventStream(all),
 *   FaultScript.status(204)
 * )
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const eventStream: (events: ReadonlyArray<ServerEvent>, options?: EventStreamOptions) => EventStream =
  internal.eventStream

/**
 * Options of {@link resource}: `contentType` (default `application/octet-stream`), the validators `etag` (an entity
 * tag as sent, quotes included) and `lastModified` (an HTTP date), `acceptRanges` (default true), `cutAt` (byte
 * offsets, integers ≥ 0, where a response is reset) and `latency`. A value out of range throws a `RangeError` naming
 * it.
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const options: FaultScript.ResourceOptions = { etag: "\"v1\"", contentType: "application/zip", cutAt: [4096] }
 * ```
 * @since 0.2.0
 * @category models
 */
export interface ResourceOptions {
  readonly contentType?: string | undefined
  readonly etag?: string | undefined
  readonly lastModified?: string | Date | undefined
  readonly acceptRanges?: boolean | undefined
  readonly cutAt?: ReadonlyArray<number> | undefined
  readonly latency?: Duration.DurationInput | undefined
}

/**
 * A resource that answers `Range` with `206` (when `If-Range` matches), `200` or `416`, cut at the `cutAt` offsets
 * (see {@link Resource}): what `Download` resumes against.
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const file = FaultScript.always(FaultScript.resource("x".repeat(1000), { etag: "\"v1\"", cutAt: [100, 700] }))
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const resource: (body: string, options?: ResourceOptions) => Resource = internal.resource

// -----------------------------------------------------------------------------
// combinators
// -----------------------------------------------------------------------------

/**
 * Waits `latency` before sending headers (or before resetting, or failing to connect; before an event stream or a
 * resource answers); no effect on `Hang`.
 *
 * @example
 * ```ts
 * import { pipe } from "effect"
 * import { FaultScript } from "@sturdy/testing"
 *
 * const slow = FaultScript.withLatency(FaultScript.json({ ok: true }), "200 millis")
 * const slowToo = pipe(FaultScript.json({ ok: true }), FaultScript.withLatency("200 millis"))
 * ```
 * @since 0.1.0
 * @category combinators
 */
export const withLatency: {
  (latency: Duration.DurationInput): <F extends Fault>(self: F) => F
  <F extends Fault>(self: F, latency: Duration.DurationInput): F
} = internal.withLatency

/**
 * Paces the body at `bytesPerSecond` (in chunks of about 1/20 of a second each); a rate that is not > 0 throws a
 * `RangeError`.
 *
 * @example
 * ```ts
 * import { pipe } from "effect"
 * import { FaultScript } from "@sturdy/testing"
 *
 * const trickle = pipe(FaultScript.oversized(1000), FaultScript.withSlowBody(500))
 * ```
 * @since 0.1.0
 * @category combinators
 */
export const withSlowBody: {
  (bytesPerSecond: number): (self: Respond) => Respond
  (self: Respond, bytesPerSecond: number): Respond
} = internal.withSlowBody

/**
 * Adds header fields (names are lower-cased). A field HTTP cannot carry (a name that is not a token, a value with
 * anything but visible ASCII, spaces and tabs, as `Respond` says) throws a `RangeError` naming it.
 *
 * @example
 * ```ts
 * import { pipe } from "effect"
 * import { FaultScript } from "@sturdy/testing"
 *
 * const fault = pipe(FaultScript.status(503), FaultScript.withHeaders({ "x-request-id": "abc" }))
 * ```
 * @since 0.1.0
 * @category combinators
 */
export const withHeaders: {
  (headers: Readonly<Record<string, string>>): (self: Respond) => Respond
  (self: Respond, headers: Readonly<Record<string, string>>): Respond
} = internal.withHeaders

/**
 * Replaces how the body ends (complete, reset mid-body, truncated).
 *
 * @example
 * ```ts
 * import { pipe } from "effect"
 * import { FaultScript } from "@sturdy/testing"
 *
 * const fault = pipe(FaultScript.json({ a: 1 }), FaultScript.withEnding({ _tag: "ResetMidBody", afterBytes: 3 }))
 * ```
 * @since 0.1.0
 * @category combinators
 */
export const withEnding: {
  (ending: Ending): (self: Respond) => Respond
  (self: Respond, ending: Ending): Respond
} = internal.withEnding

// -----------------------------------------------------------------------------
// scripts and routes
// -----------------------------------------------------------------------------

/**
 * Successive requests on the route get successive faults; the last one repeats. At least one step is needed (an
 * empty spread throws a `RangeError`).
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const script = FaultScript.sequence(FaultScript.status(503), FaultScript.status(503), FaultScript.status(200))
 * ```
 * @since 0.1.0
 * @category scripts
 */
export const sequence: (...steps: readonly [Fault, ...Array<Fault>]) => Sequence = internal.sequence

/**
 * Successive requests on the route get successive faults, starting over after the last. At least one step is needed.
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const flapping = FaultScript.cycle(FaultScript.status(503), FaultScript.status(200))
 * ```
 * @since 0.1.0
 * @category scripts
 */
export const cycle: (...steps: readonly [Fault, ...Array<Fault>]) => Sequence = internal.cycle

/**
 * Every request gets the same fault.
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const down = FaultScript.always(FaultScript.status(503))
 * ```
 * @since 0.1.0
 * @category scripts
 */
export const always: (fault: Fault) => Sequence = internal.always

/**
 * Seeded probabilities; `choices` pairs a probability (0 to 1) with a fault; the seed must be an integer.
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const flaky = FaultScript.random({ seed: 7, choices: [[0.2, FaultScript.status(503)]], otherwise: FaultScript.status(200) })
 * ```
 * @since 0.1.0
 * @category scripts
 */
export const random: (options: {
  readonly seed: number
  readonly choices: ReadonlyArray<readonly [probability: number, fault: Fault]>
  readonly otherwise: Fault
}) => Random = internal.random

/**
 * The fault the script gives the request with 0-based number `attempt` on its route (pure; both responders use it).
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const third = FaultScript.faultAt(FaultScript.sequence(FaultScript.status(503), FaultScript.status(200)), 2)
 * ```
 * @since 0.1.0
 * @category scripts
 */
export const faultAt: (script: Script, attempt: number) => Fault = internal.faultAt

/**
 * A route from `"METHOD /path"` (or `"/path"` for any method) and a script or a single fault.
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const route = FaultScript.route("POST /orders", FaultScript.sequence(FaultScript.reset("beforeHeaders"), FaultScript.status(201)))
 * ```
 * @since 0.1.0
 * @category routes
 */
export const route: (key: string, script: Script | Fault) => Route = internal.route

/**
 * An outage window relative to the responder's start.
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const outage = FaultScript.outage({ from: 0, to: "2 seconds", fault: FaultScript.reset("beforeHeaders") })
 * ```
 * @since 0.1.0
 * @category routes
 */
export const outage: (options: {
  readonly from: Duration.DurationInput
  readonly to: Duration.DurationInput
  readonly fault: Fault
}) => Outage = internal.outage

/**
 * The routes a responder serves, from a record keyed by `"METHOD /path"` (or routes); unmatched requests get a 404
 * unless `notFound` says otherwise.
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const routes = FaultScript.routes({
 *   "GET /items": FaultScript.sequence(FaultScript.status(503, { retryAfter: "1" }), FaultScript.json({ items: [] })),
 *   "POST /orders": FaultScript.random({ seed: 1, choices: [[0.2, FaultScript.status(503)]], otherwise: FaultScript.status(201) })
 * })
 * ```
 * @since 0.1.0
 * @category routes
 */
export const routes: (
  routes: Readonly<Record<string, Script | Fault>> | ReadonlyArray<Route>,
  options?: { readonly outages?: ReadonlyArray<Outage> | undefined; readonly notFound?: Fault | undefined }
) => Routes = internal.routes

// -----------------------------------------------------------------------------
// request log
// -----------------------------------------------------------------------------

/**
 * One request as the responder saw it. Header names are lower-case. A request whose fault is a `ConnectFailure`
 * never reached a server, but it is logged all the same, with the headers it would have sent: it took its step of
 * the script (`attempt`), and it is `finished` once its failure is delivered (`aborted` if the client gave up first).
 * To count what a server would have received, leave out the entries whose `fault._tag` is `"ConnectFailure"`.
 *
 * @since 0.1.0
 * @category models
 */
export interface LoggedRequest {
  readonly method: string
  /** Path and query string. */
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  readonly idempotencyKey: string | undefined
  /** `Clock.currentTimeMillis` of the responder when the request arrived. */
  readonly arrivedAt: number
  /** Milliseconds since the responder started (what outage windows compare against). */
  readonly sinceStart: number
  /** The matched route as `"METHOD /path"`, or `undefined` when none matched. */
  readonly route: string | undefined
  /** 0-based number of this request on its route (the script counter); `-1` during an outage or with no route. */
  readonly attempt: number
  readonly outage: boolean
  readonly fault: Fault
  /** The client went away before the response was finished. */
  readonly aborted: boolean
  /** The responder finished (sent everything, or performed its reset/truncation). */
  readonly finished: boolean
}

/**
 * Requests currently open and the most seen open at once.
 *
 * @since 0.1.0
 * @category models
 */
export interface InFlight {
  readonly current: number
  readonly max: number
}

/**
 * The request log and controls that `FaultServer` and `ScriptedClient` both provide.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { FaultScript } from "@sturdy/testing"
 *
 * const seen = Effect.flatMap(FaultScript.FaultLog, (log) => log.requests)
 * ```
 * @since 0.1.0
 * @category tags
 */
export class FaultLog extends Context.Tag("@sturdy/testing/FaultScript/FaultLog")<FaultLog, FaultLog.Service>() {}

/**
 * @since 0.1.0
 * @category tags
 */
export declare namespace FaultLog {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    /** A snapshot of every request since start (or the last `reset`), in arrival order. */
    readonly requests: Effect.Effect<ReadonlyArray<LoggedRequest>>
    readonly inFlight: Effect.Effect<InFlight>
    /** Completes once no request is open (a real server notices client aborts a moment later). */
    readonly awaitIdle: Effect.Effect<void>
    /** Replaces (or adds) the script of a `"METHOD /path"` route and restarts its counter. */
    readonly setScript: (route: string, script: Script | Fault) => Effect.Effect<void>
    /** Clears the log, restarts every route counter and sets `max` in-flight to the current count. */
    readonly reset: Effect.Effect<void>
  }
}

/**
 * The request log of the `FaultLog` in context.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { FaultScript } from "@sturdy/testing"
 *
 * const count = Effect.map(FaultScript.requests, (requests) => requests.length)
 * ```
 * @since 0.1.0
 * @category accessors
 */
export const requests: Effect.Effect<ReadonlyArray<LoggedRequest>, never, FaultLog> = internal.requests(FaultLog)

/**
 * The in-flight counters of the `FaultLog` in context.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { FaultScript } from "@sturdy/testing"
 *
 * const max = Effect.map(FaultScript.inFlight, (inFlight) => inFlight.max)
 * ```
 * @since 0.1.0
 * @category accessors
 */
export const inFlight: Effect.Effect<InFlight, never, FaultLog> = internal.inFlight(FaultLog)

/**
 * Waits until no request is open on the `FaultLog` in context.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { FaultScript } from "@sturdy/testing"
 *
 * const settled = Effect.zipRight(FaultScript.awaitIdle, FaultScript.requests)
 * ```
 * @since 0.1.0
 * @category accessors
 */
export const awaitIdle: Effect.Effect<void, never, FaultLog> = internal.awaitIdle(FaultLog)

/**
 * Replaces a route's script on the `FaultLog` in context.
 *
 * @example
 * ```ts
 * import { FaultScript } from "@sturdy/testing"
 *
 * const recover = FaultScript.setScript("GET /items", FaultScript.json({ items: [] }))
 * ```
 * @since 0.1.0
 * @category accessors
 */
export const setScript: (route: string, script: Script | Fault) => Effect.Effect<void, never, FaultLog> = internal
  .setScript(FaultLog)

/**
 * Clears the log and counters of the `FaultLog` in context.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { FaultScript } from "@sturdy/testing"
 *
 * const fresh = Effect.zipRight(FaultScript.resetLog, FaultScript.requests)
 * ```
 * @since 0.1.0
 * @category accessors
 */
export const resetLog: Effect.Effect<void, never, FaultLog> = internal.resetLog(FaultLog)
