/**
 * Resumable downloads: a GET's body as a `Stream` that, when the connection is cut mid-body, asks for the rest only
 * (`Range: bytes=<received>-` with `If-Range`, RFC 9110 §14 and §13.1.5), as `curl -C -`, `wget -c` and browsers'
 * download managers do. Every byte is emitted exactly once, in order; a download that cannot continue without
 * emitting a byte twice, or losing one, fails instead, with a typed {@link DownloadError}.
 *
 * A cut is a `BodyTruncated` (the connection closed or reset mid-body, or the body ended before its declared length),
 * a `Timeout` of phase `BodyRead` (the transport's body timeout, or `idleTimeout` here), or a `ConnectionError`
 * `Reset`. The first request's own failures (a refused connection, a 503 before any byte) are returned as they are:
 * wrap the client in a `Policy` to retry them. A cut before any byte was emitted sends the GET again as it was.
 * Through `Policy.withPolicy(policy)`, each request is sent under `Deadline.headOnly`: the policy's `attemptTimeout`
 * (10 s by default) and `totalTimeout` (30 s) bound getting its response head, retries included, and not the body,
 * so a download slower than them arrives whole, also on a transport that enforces deadlines itself (`@sturdy/node`'s
 * `UndiciHttpClient`, which stops at the head). `idleTimeout` bounds the silence, also for a consumer inside an
 * uninterruptible region.
 *
 * Resuming needs a validator, so that the rest is of the same representation: a strong `ETag`, else a
 * `Last-Modified` that is strong (the response's `Date` at least one second later, RFC 9110 §8.8.2.2). A weak ETag
 * (`W/"…"`) is never sent in `If-Range`. The request asks for `Accept-Encoding: identity` (unless it sets its own):
 * ranges count the bytes of the representation as sent, and a transport that decompresses (fetch) hands over others,
 * so a compressed answer is never resumed.
 *
 * | The answer                                                      | What happens                                          |
 * | --------------------------------------------------------------- | ----------------------------------------------------- |
 * | first: 2xx                                                      | its body is streamed; length and validator noted      |
 * | first: 4xx/5xx, or no response                                  | fails with its `HttpFailure` (nothing is resumed)     |
 * | cut, no strong validator, `Accept-Ranges: none`, or compressed  | `DownloadError` `NotResumable` (its `cause`: the cut) |
 * | cut, resumable                                                  | waits for the `schedule`, then `Range` + `If-Range`    |
 * | resume: 206, `Content-Range: bytes <received>-<end>/<total>`    | the rest is streamed                                  |
 * | resume: 206 whose part ends before `<total>`                    | streamed, then the rest asked for as after a cut      |
 * | resume: 206 with another start, total or length; not parseable | `DownloadError` `RangeMismatch`                       |
 * | resume: 206 `multipart/byteranges`, or compressed               | `DownloadError` `RangeMismatch`                       |
 * | resume: 206 with another strong ETag                            | `DownloadError` `Changed`                             |
 * | resume: 200 (If-Range did not match, or no range support)       | `DownloadError` `Changed` (the prefix is emitted)     |
 * | resume: 416 whose `Content-Range` length is the bytes received   | done: the body was whole (as wget reads it)           |
 * | resume: any other 416                                           | `DownloadError` `RangeMismatch`                       |
 * | resume: a transient failure (503, reset, refused)               | counts as a cut: the schedule decides                 |
 * | resume: another failure (404, 401)                              | fails with its `HttpFailure`                          |
 * | more bytes than the declared length or `Content-Range`          | `DownloadError` `TooLong`                             |
 * | more bytes than `maxBodyBytes` (all answers together)           | `HttpFailure.BodyTooLarge`                            |
 * | the schedule ends                                               | `DownloadError` `ResumesExhausted` (its `cause`)      |
 *
 * A 200 to a resume cannot be streamed from the start again: the prefix was emitted and cannot be taken back, so it
 * is a failure and the caller starts over (discarding what it kept). A resume that makes progress (at least one byte)
 * starts the schedule over. Waits go through the `Clock` (a `TestClock` drives them). Interrupting the stream closes
 * the connection. Failures carry the URL redacted as every `HttpFailure` does.
 *
 * | Option         | Default                                                     | Valid values                    |
 * | -------------- | ----------------------------------------------------------- | ------------------------------- |
 * | `schedule`     | exponential from 200 ms, jittered, at most 5 resumes in a row without progress | a `Schedule` |
 * | `maxBodyBytes` | none for `stream`; `Attempt.defaultMaxBodyBytes` for `bytes` | an integer ≥ 0, or `Infinity`  |
 * | `idleTimeout`  | none                                                        | a positive duration, at most 2^31 − 1 ms (infinite: none) |
 *
 * Options outside these ranges, a method other than GET, and a request that sets `Range` or `If-Range` itself fail
 * the stream with `DownloadError` `InvalidOptions` (its `detail` naming each) before anything is sent.
 *
 * ## Telemetry
 *
 * With a real tracer installed, the download is one `http.client.download GET` span (kind `internal`, the request's
 * attributes with `url.full` redacted), with a `resume` event per resume, at its request (`sturdy.reason`: the tag of
 * the failure that cut the body, `sturdy.offset`, `sturdy.delay_ms`: the wait, `sturdy.resumes`) and, at its end,
 * `sturdy.bytes` (emitted), `sturdy.resumes`, `error.type` and `sturdy.failure_reason` when it failed; each request is
 * a redacted `http.client GET` client span (as `Attempt.classify` gives, in place of the platform's), its child.
 * `sturdy_http_download_resumes_total{host, reason}` counts with or without a tracer (see `Telemetry`). Without a
 * tracer no span is built; a download refused before anything is sent makes none.
 *
 * @since 0.2.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Schedule from "effect/Schedule"
import type * as Stream from "effect/Stream"
import type * as HttpFailure from "./HttpFailure.js"
import * as internal from "./internal/download.js"

/**
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /**
   * When to resume after a cut, given the failure that cut the body: default exponential from 200 ms, jittered, at
   * most 5 resumes. A resume that makes progress starts it over.
   */
  readonly schedule?: Schedule.Schedule<unknown, HttpFailure.HttpFailure> | undefined
  /** Most bytes emitted in all, across resumes: an integer ≥ 0 or `Infinity`; more fails with `BodyTooLarge`. */
  readonly maxBodyBytes?: number | undefined
  /**
   * Longest wait for the next chunk of a body; longer is a cut (`Timeout` `BodyRead`), resumed as any other. Also when
   * the stream is consumed inside an uninterruptible region (an `Effect.uninterruptible`, the `acquire` of an
   * `acquireRelease`): the read of the next chunk is interruptible by this bound only, so a stalled body cannot hold
   * the consumer, and the consumer's mask still holds against any other interruption.
   */
  readonly idleTimeout?: Duration.DurationInput | undefined
}

/**
 * Why a download failed where resuming would have lost or repeated bytes, or was not possible: `NotResumable`,
 * `Changed`, `RangeMismatch` (a 206 for another range, a 416, a multipart or compressed part), `TooLong`,
 * `ResumesExhausted`, `InvalidOptions`. `receivedBytes` is how much the stream emitted; `cause` the cut or the last
 * failure, when there was one.
 *
 * @example
 * ```ts
 * import { Download } from "@sturdy/http"
 * import { Effect } from "effect"
 *
 * declare const run: Effect.Effect<void, Download.DownloadError>
 * const program = run.pipe(
 *   Effect.catchTag("DownloadError", (e) =>
 *     e.reason === "Changed" ? Effect.logWarning("changed on the server; start over") : Effect.fail(e))
 * )
 * ```
 * @since 0.2.0
 * @category errors
 */
export const DownloadError: typeof internal.DownloadError = internal.DownloadError

/**
 * @since 0.2.0
 * @category errors
 */
export type DownloadError = internal.DownloadError

/**
 * The default resume schedule: exponential from 200 ms, jittered, at most 5 resumes without progress.
 *
 * @example
 * ```ts
 * import { Download } from "@sturdy/http"
 * import { Schedule } from "effect"
 *
 * const patient = Schedule.union(Download.defaultSchedule, Schedule.spaced("10 seconds"))
 * ```
 * @since 0.2.0
 * @category constants
 */
export const defaultSchedule: Schedule.Schedule<unknown, HttpFailure.HttpFailure> = internal.defaultSchedule

/**
 * The body of a GET as a stream of bytes, each emitted once and in order, resumed with `Range` and `If-Range` when
 * the connection is cut mid-body (see the module's table).
 *
 * @example
 * ```ts
 * import { HttpClientRequest } from "@effect/platform"
 * import { Download } from "@sturdy/http"
 * import { Schedule, Stream } from "effect"
 *
 * const size = Download.stream(HttpClientRequest.get("https://downloads.example.com/big.iso"), {
 *   schedule: Schedule.exponential("500 millis").pipe(Schedule.intersect(Schedule.recurs(10))),
 *   idleTimeout: "30 seconds"
 * }).pipe(Stream.runFold(0, (n, bytes) => n + bytes.byteLength))
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const stream: (
  request: HttpClientRequest.HttpClientRequest,
  options?: Options
) => Stream.Stream<Uint8Array, HttpFailure.HttpFailure | DownloadError, HttpClient.HttpClient> = internal.stream

/**
 * The whole body of a GET in one buffer, read as {@link stream} reads it (resumed when cut); `maxBodyBytes` defaults
 * to `Attempt.defaultMaxBodyBytes` (10 MiB).
 *
 * @example
 * ```ts
 * import { HttpClientRequest } from "@effect/platform"
 * import { Download } from "@sturdy/http"
 *
 * const body = Download.bytes(HttpClientRequest.get("https://downloads.example.com/data.bin"), {
 *   maxBodyBytes: 64 * 1024 * 1024
 * })
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const bytes: (
  request: HttpClientRequest.HttpClientRequest,
  options?: Options
) => Effect.Effect<Uint8Array<ArrayBuffer>, HttpFailure.HttpFailure | DownloadError, HttpClient.HttpClient> =
  internal.bytes
