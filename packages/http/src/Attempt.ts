/**
 * One attempt at a request: send, check the status, read the body into one bounded buffer and decode it, as a
 * single Effect whose only failures are {@link HttpFailure.HttpFailure}s.
 *
 * Retry, deadline and breaker policies wrap this unit, so everything that can go wrong with one exchange, including
 * a body that stalls or stops halfway, fails inside it.
 *
 * | Option                 | Default                          | Valid values                       | Effect                                                  |
 * | ---------------------- | -------------------------------- | ---------------------------------- | ------------------------------------------------------- |
 * | `maxBodyBytes`         | 10 MiB                           | an integer ≥ 0                     | larger bodies fail with `BodyTooLarge`                  |
 * | `timeout`              | none                             | a positive duration; infinite or over 2^31 − 1 ms: none | the whole attempt; fails with `Timeout` (`Attempt`) (`Deadline` when the enclosing deadline comes first) |
 * | `bodyTimeout`          | none                             | as `timeout`                       | reading the body; fails with `Timeout` (`BodyRead`)     |
 * | `expectedContentTypes` | `json`: `application/json`, `+json`; `send`: any | an array of non-empty media types (empty: any) | other types fail with `UnexpectedContentType`; a missing `Content-Type` is accepted, and none is checked on an answer without content (204, 205, to a HEAD). `json` sends them as `Accept` (the full types; a suffix names none), unless the request sets its own |
 * | `errorSchema`          | none                             | a Schema                           | decodes 4xx/5xx bodies into the failure's `payload`     |
 * | `maxJsonDepth`         | 512                              | an integer ≥ 0 (0: no array or object) | a body nested deeper fails with `InvalidJson` before it is parsed |
 *
 * Options outside these ranges are refused, never read as "no limit": `send` and `json` fail with
 * `HttpFailure.InvalidRequest` (reason `InvalidOptions`, its `detail` naming every option that is wrong and why)
 * before anything is sent, and a client made by `classify` fails each request so; `decodeJson` dies with a
 * `RangeError` for a `maxJsonDepth` out of range (the body is already there: no request failure fits). A `NaN` limit
 * is such a value, and so are a negative one, a fraction and a duration that does not parse (`"soon"`). Options are
 * checked only when given (an attempt without options checks nothing), once per call, and durations are decoded
 * there once.
 *
 * Decoding a hostile body never crashes: a body nested deeper than `maxJsonDepth` (arrays or objects) fails with
 * `InvalidJson` before the Schema sees it (Schema's issue formatting recurses once per level; 512 is deeper than any
 * real API and far from the stack's limit), and `__proto__` keys are dropped while parsing, so no decoded value (a
 * `Schema.Record` included) inherits keys an attacker chose. `constructor` and `prototype` keys stay own properties.
 *
 * An attempt also honours the enclosing `Deadline` (a `Policy`'s total timeout, `Deadline.establish`), with or
 * without a `timeout` of its own. On a transport that enforces deadlines itself (`@sturdy/node`'s
 * `UndiciHttpClient`, see `@sturdy/policy`'s `Deadline.declareEnforcement`) the limit is left to the transport under the live Clock: no
 * fiber is forked and no timer armed by the attempt. Elsewhere, and under `TestClock`, a timer races the attempt.
 *
 * `timeout` and `bodyTimeout` fire on time inside a caller's uninterruptible region too (an `acquireRelease`'s
 * `acquire`, an `uninterruptibleMask`): only they interrupt the attempt there, so the caller's mask still holds
 * against an interruption from outside, which the caller gets when its region ends. A body read only to let it go
 * (that of an answer refused for its `Content-Type` or its declared size) is read one chunk at most, for a second at
 * most: a body that sends nothing is then cancelled (its connection is not reused) and the failure comes.
 *
 * @since 0.1.0
 */
import type * as Headers from "@effect/platform/Headers"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as FiberRef from "effect/FiberRef"
import type * as Schema from "effect/Schema"
import type * as HttpFailure from "./HttpFailure.js"
import * as internal from "./internal/attempt.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * Largest body read, in bytes: an integer ≥ 0 (default 10 MiB). It counts the bytes the transport hands over: the
   * bytes on the wire for one that does not decompress (`@sturdy/node`'s `UndiciHttpClient`, `NodeHttpClient`), the
   * decoded bytes for one that does (fetch), so a small compressed body that inflates past it (a zip bomb) fails with
   * `BodyTooLarge` there, and on the others is handed over compressed.
   */
  readonly maxBodyBytes?: number | undefined
  /**
   * Limit for the whole attempt, from sending to the decoded body: a positive duration. An infinite one, or one
   * longer than a timer can hold (2^31 − 1 ms, about 24.8 days), is none.
   */
  readonly timeout?: Duration.DurationInput | undefined
  /** Limit for reading the body once the headers arrived; the same range as `timeout`. */
  readonly bodyTimeout?: Duration.DurationInput | undefined
  /**
   * Accepted media types: exact (`application/json`), suffix (`+json`) or range (`text/*`); empty accepts any. The
   * order does not matter. An entry with parameters (`application/json; charset=utf-8`) accepts that `Content-Type`
   * as written (case aside).
   */
  readonly expectedContentTypes?: ReadonlyArray<string> | undefined
  /** Schema of the API's error body; decoded into `payload` of status failures when it matches. */
  readonly errorSchema?: Schema.Schema.AnyNoContext | undefined
  /**
   * Deepest nesting of arrays and objects a JSON body may have: an integer ≥ 0 (default 512); deeper fails with
   * `InvalidJson`.
   */
  readonly maxJsonDepth?: number | undefined
}

/**
 * A successful (2xx) response whose body has been read completely.
 *
 * @since 0.1.0
 * @category models
 */
export interface Received {
  readonly request: HttpClientRequest.HttpClientRequest
  /** The platform response; its body has already been consumed into `body`. */
  readonly response: HttpClientResponse.HttpClientResponse
  readonly status: number
  readonly headers: Headers.Headers
  /** On a plain `ArrayBuffer`, so it goes to `new Blob([body])` or `crypto.subtle.digest` as it is. */
  readonly body: Uint8Array<ArrayBuffer>
  /** `body` decoded as UTF-8 (computed once, on first access). */
  readonly text: string
}

/**
 * A client whose failures this module can classify: a plain `HttpClient` or one already classified.
 *
 * @since 0.1.0
 * @category models
 */
export type Client<R = never> = HttpClient.HttpClient.With<HttpClientError.HttpClientError | HttpFailure.HttpFailure, R>

/**
 * The default largest body read: 10 MiB.
 *
 * @example
 * ```ts
 * import { Attempt } from "@sturdy/http"
 *
 * console.log(Attempt.defaultMaxBodyBytes) // 10485760
 * ```
 * @since 0.1.0
 * @category constants
 */
export const defaultMaxBodyBytes: number = internal.defaultMaxBodyBytes

/**
 * Sends the request and reads a 2xx body into one buffer; any other status fails with its status failure. Options
 * out of range fail it with `InvalidRequest` (`InvalidOptions`) before anything is sent.
 *
 * @example
 * ```ts
 * import { HttpClient, HttpClientRequest } from "@effect/platform"
 * import { Attempt } from "@sturdy/http"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const client = yield* HttpClient.HttpClient
 *   const received = yield* Attempt.send(client, HttpClientRequest.get("https://api.example.com/health"), {
 *     timeout: "2 seconds"
 *   })
 *   return received.text
 * })
 * ```
 * @since 0.1.0
 * @category attempts
 */
export const send: <R = never>(
  client: Client<R>,
  request: HttpClientRequest.HttpClientRequest,
  options?: Options
) => Effect.Effect<Received, HttpFailure.HttpFailure, R> = internal.send

/**
 * Sends the request, checks status and content type, reads the body and decodes its JSON with `schema`. Options
 * out of range fail it with `InvalidRequest` (`InvalidOptions`) before anything is sent. A success that has no content
 * by definition (to a HEAD, or 204, 205) gives the schema `undefined` (`Schema.Void` accepts it; a 304, like every
 * status outside 2xx, is a status failure, `UnexpectedStatus`, before any body is read); any other empty
 * body fails with `InvalidJson`. The body is read as UTF-8 whatever charset the `Content-Type` declares (JSON is UTF-8,
 * RFC 8259 §8.1; a leading byte order mark is dropped): one that is not valid UTF-8 (an ISO-8859-1 `é`) fails with
 * `InvalidJson` instead of decoding with replacement characters.
 *
 * @example
 * ```ts
 * import { HttpClient, HttpClientRequest } from "@effect/platform"
 * import { Attempt } from "@sturdy/http"
 * import { Effect, Schema } from "effect"
 *
 * const User = Schema.Struct({ id: Schema.Number, name: Schema.String })
 *
 * const program = Effect.gen(function*() {
 *   const client = yield* HttpClient.HttpClient
 *   return yield* Attempt.json(client, HttpClientRequest.get("https://api.example.com/users/1"), User, {
 *     timeout: "2 seconds",
 *     maxBodyBytes: 64 * 1024
 *   })
 * })
 * ```
 * @since 0.1.0
 * @category attempts
 */
export const json: <A, I, R, RC = never>(
  client: Client<RC>,
  request: HttpClientRequest.HttpClientRequest,
  schema: Schema.Schema<A, I, R>,
  options?: Options
) => Effect.Effect<A, HttpFailure.HttpFailure, R | RC> = internal.json

/**
 * Decodes an already received body as JSON with `schema`, reading it as UTF-8 as {@link json} does (a body that is
 * not valid UTF-8 fails with `InvalidJson`). A `maxJsonDepth` that is not an integer ≥ 0 is a defect (a `RangeError`
 * naming it).
 *
 * A plain schema (structs, arrays, tuples, strings, numbers, booleans, literals, enums, unions of these and their
 * refinements) is decoded by a decoder compiled once per schema, which returns exactly what `Schema.decodeUnknown`
 * returns and leaves to it every document it is unsure of, so a `SchemaMismatch` lists the parser's own issues. Any
 * other schema is decoded by `Schema.decodeUnknown`.
 *
 * @example
 * ```ts
 * import { Attempt } from "@sturdy/http"
 * import { Schema } from "effect"
 *
 * declare const received: Attempt.Received
 * const count = Attempt.decodeJson(received, Schema.Struct({ count: Schema.Number }))
 * ```
 * @since 0.1.0
 * @category decoding
 */
export const decodeJson: <A, I, R>(
  received: Received,
  schema: Schema.Schema<A, I, R>,
  options?: Pick<Options, "maxJsonDepth">
) => Effect.Effect<A, HttpFailure.InvalidJson | HttpFailure.SchemaMismatch, R> = internal.decodeJson

/**
 * Client middleware with the same classification: transport errors and non-2xx statuses become
 * {@link HttpFailure.HttpFailure}s; header values with CR/LF are refused before sending. Bodies stay unread, so
 * `timeout` here covers the time to the response headers only. The options are checked once, here: options out of
 * range fail every request with `InvalidRequest` (`InvalidOptions`).
 *
 * @example
 * ```ts
 * import { HttpClient } from "@effect/platform"
 * import { Attempt } from "@sturdy/http"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const client = Attempt.classify(yield* HttpClient.HttpClient, { timeout: "5 seconds" })
 *   return yield* client.get("https://api.example.com/health").pipe(
 *     Effect.catchTags({ ServerError: () => Effect.succeed(null), ConnectionError: () => Effect.succeed(null) })
 *   )
 * })
 * ```
 * @since 0.1.0
 * @category middleware
 */
export const classify: <E extends HttpClientError.HttpClientError | HttpFailure.HttpFailure, R>(
  client: HttpClient.HttpClient.With<E, R>,
  options?: Pick<Options, "timeout" | "bodyTimeout" | "errorSchema" | "maxBodyBytes">
) => HttpClient.HttpClient.With<HttpFailure.HttpFailure, R> = internal.classify

/**
 * Maps a platform `HttpClientError` (or an `HttpFailure`, unchanged) to its {@link HttpFailure.HttpFailure}.
 *
 * @example
 * ```ts
 * import { HttpClient } from "@effect/platform"
 * import { Attempt } from "@sturdy/http"
 * import { Effect } from "effect"
 *
 * const program = Effect.flatMap(HttpClient.HttpClient, (client) =>
 *   client.get("https://api.example.com/").pipe(Effect.catchAll(Attempt.fromClientError))
 * )
 * ```
 * @since 0.1.0
 * @category mapping
 */
export const fromClientError: (
  error: HttpClientError.HttpClientError | HttpFailure.HttpFailure
) => Effect.Effect<never, HttpFailure.HttpFailure> = internal.fromClientError

/**
 * What a transport reports about the request of the attempt under way, for a time limit enforced by a timer raced
 * around the transport rather than by the transport itself (under a `TestClock`, or around a transport that does not
 * enforce limits): `requestSent: false` while the request waits before it is written (for a connection to open, or a
 * free one), `true` once it is written. When the timer fires while it is `false`, the `Timeout` carries
 * `requestSent: false`: the request never reached the server, and `Policy` retries it even for a POST. One attempt
 * can make several requests (a redirect's hops, a token fetched first): a transport sets `false` only while nothing
 * was written (`requestSent` still `undefined`), so a later request never makes an attempt that reached a server
 * unsent. An `Attempt` inside another attempt's timer (in the `send` of `Policy.run`) shares its progress. A transport
 * that enforces the limit itself says the same on its error instead (`HttpFailure.RequestSentMark`).
 *
 * @example
 * ```ts
 * import { Attempt } from "@sturdy/http"
 * import { Effect, FiberRef } from "effect"
 *
 * // a custom transport's connection step: the request is not written until it ends
 * declare const connect: Effect.Effect<void>
 * const connected = Effect.flatMap(FiberRef.get(Attempt.currentSendProgress), (progress) => {
 *   if (progress !== undefined && progress.requestSent === undefined) progress.requestSent = false
 *   return Effect.tap(connect, () => {
 *     if (progress !== undefined) progress.requestSent = true
 *   })
 * })
 * ```
 * @since 0.2.0
 * @category transports
 */
export interface SendProgress {
  requestSent: boolean | undefined
}

/**
 * Where a transport finds the {@link SendProgress} of the attempt under way: set while a timer raced around the
 * transport bounds the attempt (`Attempt.send`, `Attempt.json` and `Policy`'s attempt timeout), `undefined` otherwise.
 *
 * @example
 * ```ts
 * import { Attempt } from "@sturdy/http"
 * import { Effect, FiberRef } from "effect"
 *
 * const reportWritten = Effect.map(FiberRef.get(Attempt.currentSendProgress), (progress) => {
 *   if (progress !== undefined) progress.requestSent = true
 * })
 * ```
 * @since 0.2.0
 * @category transports
 */
export const currentSendProgress: FiberRef.FiberRef<SendProgress | undefined> = internal.currentSendProgress

/**
 * Encodes a request body with `schema`; a value the schema rejects fails with `InvalidRequest` (`BodyEncode`).
 *
 * @example
 * ```ts
 * import { HttpClientRequest } from "@effect/platform"
 * import { Attempt } from "@sturdy/http"
 * import { Schema } from "effect"
 *
 * const request = HttpClientRequest.post("https://api.example.com/users")
 * const encoded = Attempt.encodeBody(request, Schema.Struct({ name: Schema.NonEmptyString }), { name: "Ada" })
 * ```
 * @since 0.1.0
 * @category encoding
 */
export const encodeBody: <A, I, R>(
  request: HttpClientRequest.HttpClientRequest,
  schema: Schema.Schema<A, I, R>,
  value: A
) => Effect.Effect<I, HttpFailure.InvalidRequest, R> = internal.encodeBody
