/**
 * Streamed JSON: newline-delimited JSON (JSON Lines, NDJSON: `application/x-ndjson`, `application/jsonl`,
 * `application/stream+json`…) and RFC 7464 JSON text sequences (`application/json-seq`), as a `Stream` of values
 * decoded by a Schema, with Sturdy's typed failures. Ollama, Docker's events, Elasticsearch and Kubernetes' watch
 * answer so.
 *
 * One request is sent (a GET for a URL; a request the caller built keeps its method, headers and body). A non-2xx
 * status fails the stream, before any item, with the status failure `Attempt` gives (`ServerError`, `ClientError`,
 * `RateLimited`, `UnexpectedStatus`, with its redacted body excerpt and its `Retry-After`). A 2xx is streamed (204,
 * 205 and a HEAD answer: no item). An `Accept` naming the formats is sent unless the request sets one.
 *
 * ## Framing
 *
 * The format is `format` when given, else the `Content-Type`'s: `application/json-seq` (or a `+json-seq` type) is a
 * JSON text sequence, anything else JSON Lines.
 *
 * - **JSON Lines**: a line ends with LF or CRLF; a blank (whitespace-only) line is skipped; a last line without LF is
 *   an item when the body ended cleanly. A lone CR is not a line end (JSON texts hold no raw CR but as whitespace).
 * - **JSON text sequence**: a record starts with RS (0x1E) and runs to the next RS or the end; its trailing LF is
 *   whitespace. Empty records (`RS RS`) are skipped. A record that is a top-level number, `true`, `false` or `null`
 *   without whitespace after it may have been cut short (RFC 7464 §2.3) and is invalid, as is data before the first
 *   RS. A record that does not parse is invalid: `onInvalid` decides, as RFC 7464 §2.4 leaves to the parser
 *   (`"skip"` is the RFC's "continue with the next record"; the default, `"fail"`, reports it typed, as for a line).
 *
 * Bodies are split as bytes (LF and RS never occur inside a multi-byte UTF-8 character), so a chunk may cut a line,
 * a CRLF or a character anywhere. One UTF-8 byte order mark at the start of the body is dropped. Each record is
 * decoded as `Attempt.decodeJson` decodes a body: UTF-8 only, `__proto__` keys dropped, `maxJsonDepth`, and so one
 * BOM starting a later line is dropped too, as `Attempt` drops one starting a body.
 *
 * ## Failures
 *
 * | What                                   | Failure                                                                  |
 * | -------------------------------------- | ------------------------------------------------------------------------ |
 * | a status outside 2xx                   | as `Attempt`: `ServerError`, `ClientError`, `RateLimited`, `UnexpectedStatus` |
 * | a `Content-Type` not in `expectedContentTypes` | `UnexpectedContentType` (a missing one is accepted, as `Attempt` does) |
 * | a line that is not JSON (or not UTF-8, too deep) | `InvalidJson` with `line` N, `detail` starting `line N: ` (`record N: ` for a sequence) |
 * | a line the Schema refuses              | `SchemaMismatch` with `line` N, `issue` starting `line N: ` (`record N: `) |
 * | a line longer than `maxLineBytes`      | `BodyTooLarge` (`limitBytes` is `maxLineBytes`)                          |
 * | the body cut off (reset, truncated)    | `BodyTruncated`                                                          |
 * | no response head within `timeout`      | `Timeout` (`Attempt`)                                                    |
 * | no chunk within `idleTimeout`          | `Timeout` (`BodyRead`)                                                   |
 * | options out of range                   | `InvalidRequest` (`InvalidOptions`), before anything is sent             |
 *
 * Lines are numbered from 1, blank ones counted (the line an editor shows); records of a sequence from 1, by their
 * RS (data before the first RS is record 0). The number is the failure's `line` field (in `toJSON` too), so a caller
 * need not parse it out of the message. Every failure comes after the items before it; the line being read when
 * the body failed is never an item. A failure's excerpt is the line's first KiB redacted of the request's secrets, as
 * `Attempt`'s body excerpt. With `onInvalid: "skip"`, lines that are not JSON or that the Schema refuses are skipped
 * (counted on the span as `sturdy.skipped`); limits, cuts and timeouts still fail.
 *
 * ## With a Policy
 *
 * Give the stream a client wrapped with `Policy.withPolicy(policy)`: the policy retries getting the response head
 * (a 503 with its `Retry-After`, a refused connection, as for any call), and returns the 2xx response with its body
 * unread. Once the body flows nothing is retried: a retry would send the items already delivered again, so a body
 * cut mid-stream fails the stream with `BodyTruncated`. A caller that can resume (an offset, a resource version)
 * repeats the stream from there.
 *
 * The request is sent under `Deadline.headOnly`, so the policy's `attemptTimeout` (10 s by default) and `totalTimeout`
 * (30 s) bound getting the response head, retries included, and not the items: the stream lasts as long as the server
 * sends, also on a transport that enforces deadlines itself (`@sturdy/node`'s `UndiciHttpClient`, which stops at the
 * head). Bound the body with this module's `idleTimeout` (silence; it fires also for a consumer inside an
 * uninterruptible region), or by interrupting the consumer.
 *
 * ## Telemetry
 *
 * With a real tracer installed, the stream is one `http.client.json_lines {METHOD}` span (kind `internal`, the
 * request's attributes with `url.full` redacted) whose child is the request's redacted client span; at its end it
 * has `sturdy.items` (items handed on, a chunk of the body's at a time: a consumer that stops early may not have taken
 * the last ones), `sturdy.format`, `sturdy.skipped` with `onInvalid: "skip"`, and `error.type` when it failed. No
 * line's content is recorded. Without a tracer no span is built.
 *
 * Not `Stream.splitLines` over `Stream.decodeText`: they split decoded text, so a byte that is not UTF-8 becomes a
 * replacement character instead of failing as `Attempt` fails it, a line is held whatever its size, and RS is no
 * separator; splitting the bytes keeps each line's bytes for `Attempt.decodeJson` (its UTF-8 check, its excerpt). Nor
 * the `ndjson` npm packages, which report a bad line untyped, or drop it.
 *
 * @since 0.2.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as Duration from "effect/Duration"
import type * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import type * as HttpFailure from "./HttpFailure.js"
import * as internal from "./internal/jsonLines.js"

/**
 * How a body is split: `"ndjson"` (JSON Lines: one JSON text a line) or `"json-seq"` (RFC 7464: each text after an
 * RS).
 *
 * @example
 * ```ts
 * import type { JsonLines } from "@sturdy/http"
 *
 * const format: JsonLines.Format = "json-seq"
 * ```
 * @since 0.2.0
 * @category models
 */
export type Format = "ndjson" | "json-seq"

/**
 * Options of {@link stream} and {@link streamUnknown}. Values out of range fail the stream with
 * `HttpFailure.InvalidRequest` (reason `InvalidOptions`, naming each option) before anything is sent.
 *
 * | Option                 | Default                                  | Valid values                                     |
 * | ---------------------- | ---------------------------------------- | ------------------------------------------------ |
 * | `format`               | from the `Content-Type`                  | `"ndjson"`, `"json-seq"`                         |
 * | `maxLineBytes`         | 10 MiB (as `Attempt`'s `maxBodyBytes`)   | an integer ≥ 1, or `Infinity`                    |
 * | `maxJsonDepth`         | 512 (as `Attempt`)                       | an integer ≥ 0                                   |
 * | `timeout`              | none                                     | a positive duration ≤ 2^31 − 1 ms (infinite: none) |
 * | `idleTimeout`          | none                                     | as `timeout`                                     |
 * | `onInvalid`            | `"fail"`                                 | `"fail"`, `"skip"`                               |
 * | `expectedContentTypes` | the JSON Lines types, `application/json-seq`, `+json-seq`, `application/json`, `+json` | an array of non-empty media types (empty: any) |
 *
 * @example
 * ```ts
 * import type { JsonLines } from "@sturdy/http"
 *
 * const options: JsonLines.Options = { idleTimeout: "30 seconds", maxLineBytes: 1024 * 1024 }
 * ```
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** The framing; when unset, the `Content-Type` decides (`application/json-seq`: a sequence, else lines). */
  readonly format?: Format | undefined
  /**
   * The most bytes of one line (its LF or CRLF not counted) or record (its RS not counted, its trailing LF counted):
   * longer fails with `BodyTooLarge`, after the items before it. Reading stops there: the bytes held are bounded.
   */
  readonly maxLineBytes?: number | undefined
  /** Deepest nesting of arrays and objects in one line; deeper fails with `InvalidJson`. */
  readonly maxJsonDepth?: number | undefined
  /**
   * Limit to the response head (the status and headers), a policy's retries included when the client has one; fails
   * with `Timeout` (`Attempt`).
   */
  readonly timeout?: Duration.DurationInput | undefined
  /**
   * No chunk of the body for this long (from the head on): fails with `Timeout` (`BodyRead`). Also when the stream is
   * consumed inside an uninterruptible region (an `Effect.uninterruptible`, the `acquire` of an `acquireRelease`):
   * the read of the next chunk is interruptible by this bound only, so a silent server cannot hold the consumer, and
   * the consumer's mask still holds against any other interruption.
   */
  readonly idleTimeout?: Duration.DurationInput | undefined
  /** What a line that is not JSON, or that the Schema refuses, does: fail the stream, or be skipped. */
  readonly onInvalid?: "fail" | "skip" | undefined
  /** Accepted media types, matched as `Attempt`'s `expectedContentTypes`; empty accepts any. */
  readonly expectedContentTypes?: ReadonlyArray<string> | undefined
}

/**
 * The default largest line: 10 MiB.
 *
 * @example
 * ```ts
 * import { JsonLines } from "@sturdy/http"
 *
 * console.log(JsonLines.defaultMaxLineBytes) // 10485760
 * ```
 * @since 0.2.0
 * @category constants
 */
export const defaultMaxLineBytes: number = internal.defaultMaxLineBytes

/**
 * The items of a JSON Lines or JSON text sequence response, each decoded by `schema`. `request` is a URL (sent as a
 * GET) or a request the caller built.
 *
 * @example
 * ```ts
 * import { HttpClient } from "@effect/platform"
 * import { JsonLines } from "@sturdy/http"
 * import { Effect, Schema, Stream } from "effect"
 *
 * const Chunk = Schema.Struct({ response: Schema.String, done: Schema.Boolean })
 * const program = Effect.gen(function*() {
 *   const client = yield* HttpClient.HttpClient
 *   yield* JsonLines.stream(client, "https://api.example.com/generate", Chunk, { idleTimeout: "30 seconds" }).pipe(
 *     Stream.runForEach((chunk) => Effect.log(chunk.response))
 *   )
 * })
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const stream: <A, I, RS, E extends HttpClientError.HttpClientError | HttpFailure.HttpFailure, R>(
  client: HttpClient.HttpClient.With<E, R>,
  request: string | URL | HttpClientRequest.HttpClientRequest,
  schema: Schema.Schema<A, I, RS>,
  options?: Options
) => Stream.Stream<A, HttpFailure.HttpFailure, R | RS> = internal.stream

/**
 * As {@link stream}, each item the parsed JSON value, not decoded (`SchemaMismatch` never happens).
 *
 * @example
 * ```ts
 * import { HttpClient } from "@effect/platform"
 * import { JsonLines } from "@sturdy/http"
 * import { Effect, Stream } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const client = yield* HttpClient.HttpClient
 *   return yield* JsonLines.streamUnknown(client, "https://api.example.com/export").pipe(Stream.runCollect)
 * })
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const streamUnknown: <E extends HttpClientError.HttpClientError | HttpFailure.HttpFailure, R>(
  client: HttpClient.HttpClient.With<E, R>,
  request: string | URL | HttpClientRequest.HttpClientRequest,
  options?: Options
) => Stream.Stream<unknown, HttpFailure.HttpFailure, R> = internal.streamUnknown

/**
 * Splits a whole body given as chunks (strings are encoded as UTF-8) into the texts of its records, as the stream
 * frames them: blank lines and empty records skipped, one leading BOM dropped, a last line without LF kept. For tests
 * and for bodies read by other means; nothing is parsed.
 *
 * @example
 * ```ts
 * import { JsonLines } from "@sturdy/http"
 *
 * JsonLines.split(['{"a":1}\r\n{"a"', ":2}\n\n"]) // ['{"a":1}', '{"a":2}']
 * JsonLines.split(["\x1e1\n\x1e[2]\n"], "json-seq") // ["1\n", "[2]\n"]
 * ```
 * @since 0.2.0
 * @category parsing
 */
export const split: (chunks: Iterable<Uint8Array | string>, format?: Format) => Array<string> = internal.split
