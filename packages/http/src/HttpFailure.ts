/**
 * One tagged error per way an HTTP request can fail, so a caller handles each with `Effect.catchTags`.
 *
 * Every failure names the method and the redacted URL in its message; none carries a request header, a secret
 * query parameter or a raw transport error (causes are copied into a {@link SanitizedCause}).
 *
 * ## Classification
 *
 * | Tag                     | Variant (`reason` / `phase` / `status`) | `isTransient` | `mayHaveReachedServer` | `retryAfter` |
 * | ----------------------- | --------------------------------------- | ------------- | ---------------------- | ------------ |
 * | `ConnectionError`       | `Refused`                               | yes           | no                     | none         |
 * | `ConnectionError`       | `DnsLookup`                             | yes           | no                     | none         |
 * | `ConnectionError`       | `ConnectTimeout`                        | yes           | no                     | none         |
 * | `ConnectionError`       | `Tls`                                   | no            | no                     | none         |
 * | `ConnectionError`       | `Proxy`, `proxyStatus` 502, 503, 504    | yes           | no                     | none         |
 * | `ConnectionError`       | `Proxy`, other `proxyStatus` (407, 403) | no            | no                     | none         |
 * | `ConnectionError`       | `Proxy`, `proxyReply` 1, 3, 4, 5, 6     | yes           | no                     | none         |
 * | `ConnectionError`       | `Proxy`, other `proxyReply`; SOCKS auth | no            | no                     | none         |
 * | `ConnectionError`       | `Reset` (before a response)             | yes           | yes¹                   | none         |
 * | `ConnectionError`       | `Unknown`                               | yes           | yes¹                   | none         |
 * | `Timeout`               | `Attempt`                               | yes           | yes¹                   | none         |
 * | `Timeout`               | `BodyRead`                              | yes           | yes                    | none         |
 * | `Timeout`               | `Deadline`                              | no            | yes¹                   | none         |
 * | `ClientError`           | 408, 425                                | yes           | yes                    | none         |
 * | `ClientError`           | other 4xx                               | no            | yes                    | none         |
 * | `RateLimited`           | 429                                     | yes           | yes                    | `Retry-After` / `RateLimit` |
 * | `ServerError`           | 5xx except 501, 505, 511                | yes           | yes                    | `Retry-After` (e.g. 503) |
 * | `ServerError`           | 501, 505, 511                           | no            | yes                    | `Retry-After` |
 * | `UnexpectedStatus`      | 1xx, 3xx; a 2xx but 200 (`EventStream`) | no            | yes                    | none         |
 * | `BodyTruncated`         | connection lost mid-body                | yes           | yes                    | none         |
 * | `BodyUndecodable`       | corrupt data for its `Content-Encoding` | no            | yes                    | none         |
 * | `BodyTooLarge`          | over `maxBodyBytes`                     | no            | yes                    | none         |
 * | `UnexpectedContentType` |                                         | no            | yes                    | none         |
 * | `InvalidJson`           |                                         | no            | yes                    | none         |
 * | `SchemaMismatch`        |                                         | no            | yes                    | none         |
 * | `InvalidRequest`        | `MalformedUrl`, `InvalidHeader`, `BodyEncode` | no      | no                     | none         |
 * | `InvalidRequest`        | `InvalidOptions` (an attempt option's value) | no       | no                     | none         |
 * | `RedirectFailed`        | `TooMany`, `InvalidLocation`, `Downgrade` | no          | yes                    | none         |
 * | `AuthenticationFailed`  | `Unavailable`                           | yes           | no                     | none         |
 * | `AuthenticationFailed`  | `Rejected`, `Malformed`                 | no            | no                     | none         |
 *
 * ¹ no when the failure carries `requestSent: false`: the transport knows the request was never written (it was still
 * waiting for a connection, or its connection was still opening). `@sturdy/node`'s transport and `@sturdy/testing`'s
 * `ScriptedClient` say so (see {@link RequestSentMark} and `Attempt.SendProgress`); a transport that cannot tell
 * leaves `requestSent` unset, and the failure may have reached the server.
 *
 * A failure returned by `Policy` after its retry stage carries `attempts`, the number of attempts the call made
 * (see {@link RequestInfo}), so a caller can log "gave up after 3 attempts" without an event hook.
 *
 * Why: a refused connection or a failed DNS lookup never left the client, so even a POST is safe to repeat. Node
 * reports `ETIMEDOUT`, `EHOSTUNREACH` and `ENETUNREACH` both for a connect that failed and for a socket that was
 * already open (a send that timed out): only with the `connect` syscall are they `ConnectTimeout`, otherwise
 * `Unknown`, which may have reached the server. A local address that cannot be had while connecting
 * (`EADDRNOTAVAIL`, as when the ephemeral ports are used up, or `EADDRINUSE`, with the `connect` or `bind` syscall)
 * is `ConnectTimeout` too: the connection never opened. Its message says "connect failed" with the code. A TLS
 * failure is almost always a certificate or protocol mismatch that repeating does not fix. A `Deadline` timeout means
 * the caller's whole budget is spent. A body that does not parse or match the schema comes back the same next time;
 * a truncated body does not, and neither does compressed data that does not decompress. 501, 505 and 511 describe the server's configuration, not its load.
 *
 * A forward proxy that does not open the tunnel (it answers the `CONNECT` with anything but 200) is a
 * `ConnectionError` with reason `Proxy` and the proxy's status as `proxyStatus`: the origin never saw the request, so
 * it is never a `ClientError` or `ServerError` (a 407 from the proxy is not the origin's 401 or 407). A 502, 503 or
 * 504 (the proxy could not reach the origin, or is overloaded) is transient and retried, even for a POST; a 407
 * (proxy authentication required: the proxy's credentials are missing or wrong) or a 403 (the proxy's policy) comes
 * back the same next time and is not. Neither counts against the origin's breaker: the proxy answered, not the origin.
 * Failures of the proxy's TCP connection read as the origin's would (`Refused`, `ConnectTimeout`, `Reset`).
 *
 * A SOCKS5 proxy that does not open the connection is a `ConnectionError` with reason `Proxy` too, its reply code
 * (RFC 1928 §6) as `proxyReply`: general failure (1), network unreachable (3), host unreachable (4), connection
 * refused (5) and TTL expired (6) are transient and retried, as an HTTP proxy's 502 to 504; not allowed by the ruleset
 * (2), command (7) or address type (8) not supported are not, nor is a failed username/password authentication or a
 * peer that does not speak SOCKS5 (no `proxyReply`; the cause's code says which: `UND_ERR_SOCKS5_AUTH_FAILED`, ...).
 * The codes are undici's (`UND_ERR_SOCKS5_REPLY_<n>`), read from the cause, so undici's own `Socks5ProxyAgent` is
 * classified the same.
 *
 * Transient is not the same as retried by default: `Policy` leaves out 425 Too Early (replaying early data is the
 * caller's decision) and `AuthenticationFailed` (its token source retries itself). See {@link isRetryableByDefault}.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import type * as Option from "effect/Option"
import * as internal from "./internal/httpFailure.js"

/**
 * A copy of a low-level error (name, code, redacted message) that is safe to log and serialize. A platform
 * `RequestError` with no cause but a `description` (a middleware that failed before sending) gives one named
 * `RequestError` whose message is that description.
 *
 * @since 0.1.0
 * @category models
 */
export interface SanitizedCause {
  readonly name: string
  readonly code: string | undefined
  readonly message: string
}

/**
 * How a transport says whether it wrote the request: a `requestSent` field on the platform `RequestError` it fails
 * with. `Attempt` copies it onto the `Timeout` it makes of a limit the transport enforced (a `Deadline.DeadlineExceeded`
 * cause), or onto a `Reset` or `Unknown` `ConnectionError`, where `requestSent: false` makes `mayHaveReachedServer`
 * `false`. Only a transport that knows may say `false`: the request still waited for a connection, or its connection
 * was still opening. The field goes on the request's own error rather than its cause, which a transport may share
 * between requests. `@sturdy/node`'s `UndiciHttpClient` sets it (not enumerable); an error without it leaves the
 * failure's `requestSent` unset. `Redirect.follow` drops it from a later hop's error: the first hop reached a server.
 *
 * @example
 * ```ts
 * import { HttpClientError, HttpClientRequest } from "@effect/platform"
 * import type { HttpFailure } from "@sturdy/http"
 * import { Deadline } from "@sturdy/policy"
 * import { Duration } from "effect"
 *
 * // a custom transport whose attempt timer fired while the request still waited for a connection
 * const request = HttpClientRequest.post("https://api.example.com/orders")
 * const cause = new Deadline.DeadlineExceeded({ reason: "Attempt", timeout: Duration.seconds(2) })
 * const unsent: HttpFailure.RequestSentMark = { requestSent: false }
 * const error = Object.assign(new HttpClientError.RequestError({ request, reason: "Transport", cause }), unsent)
 * ```
 * @since 0.2.0
 * @category models
 */
export interface RequestSentMark {
  readonly requestSent: boolean
}

/**
 * @since 0.1.0
 * @category models
 */
export interface RequestInfo {
  /** The request method, e.g. `GET`. */
  readonly method: string
  /** The URL with secrets replaced by `<redacted>`. */
  readonly url: string
  /**
   * How many attempts the call made before it ended with this failure: set by `Policy` on the failure it returns
   * when it stops retrying (for any reason: not retryable, attempts exhausted, deadline, server wait too long;
   * hedges are not counted), and then shown at the end of `message` (`… (after 3 attempts)`) and in `toJSON`.
   * Unset on a failure of a single attempt outside a retrying `Policy`.
   *
   * @since 0.2.0
   */
  readonly attempts?: number | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ResponseInfo extends RequestInfo {
  readonly status: number
  /** Response headers with lower-case names and secret values redacted. */
  readonly headers: Readonly<Record<string, string>>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface StatusInfo extends ResponseInfo {
  /**
   * The first bytes of the body as text (at most 1 KiB, secrets redacted). Of an error body only the first 64 KiB
   * (or `maxBodyBytes`, if smaller) are read, so a larger one still shows how it starts.
   */
  readonly bodyExcerpt: string
  /** The error body decoded with the caller's `errorSchema`, when one was given and it matched. */
  readonly payload: Option.Option<unknown>
}

/**
 * The connection failed before a response arrived.
 *
 * @example
 * ```ts
 * import { HttpFailure } from "@sturdy/http"
 * import { Effect } from "effect"
 *
 * declare const call: Effect.Effect<string, HttpFailure.HttpFailure>
 * const program = call.pipe(Effect.catchTag("ConnectionError", (e) => Effect.succeed(`down: ${e.reason}`)))
 * ```
 * @since 0.1.0
 * @category errors
 */
export class ConnectionError extends Data.TaggedError("ConnectionError")<
  RequestInfo & {
    readonly reason: "Refused" | "Reset" | "DnsLookup" | "Tls" | "ConnectTimeout" | "Proxy" | "Unknown"
    readonly cause?: SanitizedCause | undefined
    /**
     * With reason `Proxy`: the status the forward proxy answered the `CONNECT` with (407, 502, ...), when known.
     *
     * @since 0.2.0
     */
    readonly proxyStatus?: number | undefined
    /**
     * With reason `Proxy`: the reply code a SOCKS5 proxy answered `CONNECT` with (RFC 1928 §6: 1 general failure,
     * 2 not allowed by ruleset, 3 network unreachable, 4 host unreachable, 5 connection refused, 6 TTL expired,
     * 7 command not supported, 8 address type not supported), when known.
     *
     * @since 0.2.0
     */
    readonly proxyReply?: number | undefined
    /**
     * `false` when the transport knows the request was never written: a `Reset` or `Unknown` failure of a connection
     * that was still opening (a TLS handshake the peer cut off), which then never reached the server. Unset when
     * the transport cannot tell (see {@link RequestSentMark}).
     *
     * @since 0.2.0
     */
    readonly requestSent?: boolean | undefined
  }
> {
  /**
   * Refused, DNS, TLS and proxy failures and connect timeouts happen before the request is written, and so does any
   * failure with `requestSent: false`.
   */
  get reachedServer(): boolean {
    return internal.mayHaveReachedServer(this)
  }
  override get message(): string {
    const code = this.cause?.code
    const detail = code ?? this.cause?.message
    // a connect that ended otherwise than by a timer (an unreachable host, no local port) is not a timeout
    const what = this.reason === "ConnectTimeout" && code !== undefined && !connectTimeoutCodes.has(code)
      ? "connect failed"
      : this.reason === "Reset" && this.requestSent === false
      ? "connection reset before the request was sent"
      : this.reason === "Proxy" && this.proxyStatus === 407
      ? "proxy authentication required (CONNECT answered 407)"
      : this.reason === "Proxy" && this.proxyStatus !== undefined
      ? `proxy refused the tunnel (CONNECT answered ${this.proxyStatus})`
      : this.reason === "Proxy" && this.proxyReply !== undefined
      ? `SOCKS proxy refused the connection (reply ${this.proxyReply}: ${
        socksReplies[this.proxyReply] ?? "unassigned"
      })`
      : this.reason === "Proxy" && code === "UND_ERR_SOCKS5_AUTH_FAILED"
      ? "SOCKS proxy authentication failed"
      : describeConnection[this.reason]
    return `${what}${detail ? ` (${detail})` : ""}: ${this.method} ${this.url}`
  }
}

// RFC 1928 §6
const socksReplies: Readonly<Record<number, string>> = {
  1: "general failure",
  2: "not allowed by ruleset",
  3: "network unreachable",
  4: "host unreachable",
  5: "connection refused",
  6: "TTL expired",
  7: "command not supported",
  8: "address type not supported"
}

const connectTimeoutCodes: ReadonlySet<string> = new Set(["ETIMEDOUT", "UND_ERR_CONNECT_TIMEOUT"])

const describeConnection: Record<ConnectionError["reason"], string> = {
  Refused: "connection refused",
  Reset: "connection reset before a response",
  DnsLookup: "DNS lookup failed",
  Tls: "TLS failure",
  ConnectTimeout: "connect timed out",
  Proxy: "proxy refused the tunnel",
  Unknown: "transport failure"
}

/**
 * A time limit fired: the attempt's (`Attempt`), the whole operation's (`Deadline`) or the body read's (`BodyRead`).
 * `timeout` is the limit that fired; it is zero when the transport's own limit fired (undici's `headersTimeout` or
 * `bodyTimeout`) and the transport could not say how long it was, as with a custom undici factory or a composed
 * dispatcher, and the message then says so instead of a length.
 *
 * @example
 * ```ts
 * import { HttpFailure } from "@sturdy/http"
 * import { Duration } from "effect"
 *
 * const e = new HttpFailure.Timeout({ method: "GET", url: "https://x.test/", phase: "Attempt", timeout: Duration.seconds(2) })
 * console.log(e.message) // "attempt timed out after 2s: GET https://x.test/"
 * ```
 * @since 0.1.0
 * @category errors
 */
export class Timeout extends Data.TaggedError("Timeout")<
  RequestInfo & {
    readonly phase: "Attempt" | "Deadline" | "BodyRead"
    readonly timeout: Duration.Duration
    /**
     * `false` when the request is known never to have been written: the limit fired while it waited for a
     * connection (every connection to the origin busy), while its connection was still opening, or while the call
     * still waited in `Policy`'s bulkhead queue. Such a timeout
     * never reached the server (`mayHaveReachedServer` is `false`), so `Policy` retries it even for a POST. A
     * transport that enforces the limit itself says so on its error ({@link RequestSentMark}); around any other, the
     * timer reads what the transport reported (`Attempt.SendProgress`), as `@sturdy/node`'s transport and
     * `@sturdy/testing`'s `ScriptedClient` do. Unset when the transport did not say.
     *
     * @since 0.2.0
     */
    readonly requestSent?: boolean | undefined
  }
> {
  override get message(): string {
    const which = this.phase === "Attempt" ? "attempt" : this.phase === "Deadline" ? "deadline" : "body read"
    // a zero limit never fires by itself: it stands for a transport's limit of unknown length
    const after = this.phase !== "Deadline" && Duration.isZero(this.timeout)
      ? "on the transport's own limit"
      : `after ${internal.formatDuration(this.timeout)}`
    const unsent = this.requestSent === false ? " before the request was sent" : ""
    return `${which} timed out ${after}${unsent}: ${this.method} ${this.url}`
  }
}

/**
 * The server answered 4xx (other than 429).
 *
 * @example
 * ```ts
 * import { HttpFailure } from "@sturdy/http"
 * import { Effect } from "effect"
 *
 * declare const call: Effect.Effect<string, HttpFailure.HttpFailure>
 * const orNotFound = call.pipe(
 *   Effect.catchTag("ClientError", (e) => e.status === 404 ? Effect.succeed("missing") : Effect.fail(e))
 * )
 * ```
 * @since 0.1.0
 * @category errors
 */
export class ClientError extends Data.TaggedError("ClientError")<StatusInfo> {
  override get message(): string {
    return internal.statusMessage(this)
  }
}

/**
 * The server answered 429; `retryAfter` is the wait it asked for (`Retry-After` or `RateLimit` headers).
 *
 * @example
 * ```ts
 * import { HttpFailure } from "@sturdy/http"
 * import { Effect, Option } from "effect"
 *
 * declare const call: Effect.Effect<string, HttpFailure.HttpFailure>
 * const patient = call.pipe(
 *   Effect.catchTag("RateLimited", (e) => Effect.sleep(Option.getOrElse(e.retryAfter, () => "1 second")).pipe(Effect.zipRight(call)))
 * )
 * ```
 * @since 0.1.0
 * @category errors
 */
export class RateLimited extends Data.TaggedError("RateLimited")<
  StatusInfo & { readonly retryAfter: Option.Option<Duration.Duration> }
> {
  override get message(): string {
    return internal.statusMessage(this)
  }
}

/**
 * The server answered 5xx; `retryAfter` is set when it sent `Retry-After` (typically with 503).
 *
 * @example
 * ```ts
 * import { HttpFailure } from "@sturdy/http"
 *
 * declare const e: HttpFailure.ServerError
 * HttpFailure.isTransient(e) // true unless the status is 501, 505 or 511
 * ```
 * @since 0.1.0
 * @category errors
 */
export class ServerError extends Data.TaggedError("ServerError")<
  StatusInfo & { readonly retryAfter: Option.Option<Duration.Duration> }
> {
  override get message(): string {
    return internal.statusMessage(this)
  }
}

/**
 * The server answered with a status that is neither success nor error (1xx, or a 3xx that was not followed).
 *
 * @example
 * ```ts
 * import { HttpFailure } from "@sturdy/http"
 *
 * declare const e: HttpFailure.UnexpectedStatus
 * console.log(e.headers["location"])
 * ```
 * @since 0.1.0
 * @category errors
 */
export class UnexpectedStatus extends Data.TaggedError("UnexpectedStatus")<StatusInfo> {
  override get message(): string {
    return internal.statusMessage(this)
  }
}

/**
 * The connection broke while the body was being read (fewer bytes than `Content-Length`, or a reset mid-body).
 * `receivedBytes` is how much of the body arrived, when known: always for a body without `Content-Length` (it is
 * counted as it streams), and for one with it on `@sturdy/node`'s transport, which says so; `expectedBytes` is the
 * declared `Content-Length`.
 *
 * @example
 * ```ts
 * import { HttpFailure } from "@sturdy/http"
 *
 * declare const e: HttpFailure.BodyTruncated
 * console.log(`${e.receivedBytes} of ${e.expectedBytes ?? "?"} bytes`)
 * ```
 * @since 0.1.0
 * @category errors
 */
export class BodyTruncated extends Data.TaggedError("BodyTruncated")<
  ResponseInfo & {
    readonly receivedBytes: number | undefined
    readonly expectedBytes: number | undefined
    readonly cause?: SanitizedCause | undefined
  }
> {
  override get message(): string {
    const of = this.expectedBytes === undefined ? "" : ` (${this.receivedBytes ?? "?"} of ${this.expectedBytes} bytes)`
    return `response body truncated${of}: ${this.status} ${this.method} ${this.url}`
  }
}

/**
 * The transport decompresses bodies (fetch: `FetchHttpClient`; `@sturdy/node`'s with `decompress`) and this one's
 * data is corrupt for its `Content-Encoding`: gzip, deflate or br data that does not decompress (`Z_DATA_ERROR`, a
 * Brotli format error). Not transient: the server sends the same bytes again (a misconfigured proxy or compressor), so
 * `Policy` does not retry it, as got, urllib3 (`DecodeError`) and requests (`ContentDecodingError`) do not. A body cut
 * short while it was being decompressed is a `BodyTruncated`. `@sturdy/node`'s transport without `decompress` hands
 * bodies over as sent, so it never fails so.
 *
 * @example
 * ```ts
 * import { HttpFailure } from "@sturdy/http"
 *
 * declare const e: HttpFailure.BodyUndecodable
 * console.log(`${e.contentEncoding}: ${e.cause?.message}`)
 * ```
 * @since 0.2.0
 * @category errors
 */
export class BodyUndecodable extends Data.TaggedError("BodyUndecodable")<
  ResponseInfo & {
    /**
     * The response's `Content-Encoding`, lower-cased (`"gzip"`); for a transport that removes the header once it
     * decodes (`@sturdy/node`'s), the coding whose data did not decode (`"br"` of `gzip, br`); `""` when neither is
     * known.
     */
    readonly contentEncoding: string
    readonly cause?: SanitizedCause | undefined
  }
> {
  override get message(): string {
    const encoding = this.contentEncoding === "" ? "its Content-Encoding" : `Content-Encoding ${this.contentEncoding}`
    return `response body does not decode as ${encoding}: ${this.status} ${this.method} ${this.url}`
  }
}

/**
 * The body is larger than the attempt's `maxBodyBytes`; reading stopped at the limit.
 *
 * @example
 * ```ts
 * import { HttpFailure } from "@sturdy/http"
 *
 * declare const e: HttpFailure.BodyTooLarge
 * console.log(e.limitBytes)
 * ```
 * @since 0.1.0
 * @category errors
 */
export class BodyTooLarge extends Data.TaggedError("BodyTooLarge")<
  ResponseInfo & {
    readonly limitBytes: number
    readonly declaredBytes: number | undefined
  }
> {
  override get message(): string {
    const declared = this.declaredBytes === undefined ? "" : ` (Content-Length ${this.declaredBytes})`
    return `response body exceeds ${this.limitBytes} bytes${declared}: ${this.status} ${this.method} ${this.url}`
  }
}

/**
 * The response's `Content-Type` is not one the caller expects (e.g. an HTML error page from a proxy).
 *
 * @example
 * ```ts
 * import { HttpFailure } from "@sturdy/http"
 *
 * declare const e: HttpFailure.UnexpectedContentType
 * console.log(e.contentType, e.expected)
 * ```
 * @since 0.1.0
 * @category errors
 */
export class UnexpectedContentType extends Data.TaggedError("UnexpectedContentType")<
  ResponseInfo & {
    readonly contentType: string
    readonly expected: ReadonlyArray<string>
  }
> {
  override get message(): string {
    return `unexpected content type "${this.contentType}" (expected ${
      this.expected.join(" or ")
    }): ${this.status} ${this.method} ${this.url}`
  }
}

/**
 * The body is not valid JSON: it does not parse, is empty, nests deeper than `maxJsonDepth`, arrived still compressed,
 * or is not UTF-8 (which JSON is, whatever charset the `Content-Type` declares). Of a `JsonLines` stream, one line
 * (or record) is: `line` says which, and `detail` still starts with it (`line 3: ...`).
 *
 * @example
 * ```ts
 * import { HttpFailure } from "@sturdy/http"
 *
 * declare const e: HttpFailure.InvalidJson
 * console.log(e.detail, e.bodyExcerpt, e.line ?? "whole body")
 * ```
 * @since 0.1.0
 * @category errors
 */
export class InvalidJson extends Data.TaggedError("InvalidJson")<
  ResponseInfo & {
    readonly detail: string
    readonly bodyExcerpt: string
    /**
     * Set by `JsonLines` on the failure of one record: its number, the one `detail` starts with. JSON Lines count from
     * 1, every line (blank ones too: the line an editor shows, `line 3: `); a JSON text sequence (RFC 7464) counts its
     * records by their RS from 1 (`record 3: `), data before the first RS being record 0. Unset when the whole body
     * was decoded (`Attempt`, `SturdyClient`, `EventStream.json`).
     *
     * @since 0.2.0
     */
    readonly line?: number | undefined
  }
> {
  override get message(): string {
    return `invalid JSON (${this.detail}): ${this.status} ${this.method} ${this.url}`
  }
}

/**
 * One problem found by the Schema: where (`$.items[0].id`) and what.
 *
 * @since 0.1.0
 * @category models
 */
export interface SchemaIssue {
  readonly path: string
  readonly message: string
}

/**
 * The body is JSON but does not match the Schema; `path` and `issue` describe the first problem. Of a `JsonLines`
 * stream, one line (or record) does not: `line` says which, and `issue` still starts with it (`line 3: ...`).
 *
 * @example
 * ```ts
 * import { HttpFailure } from "@sturdy/http"
 *
 * declare const e: HttpFailure.SchemaMismatch
 * console.log(`${e.path}: ${e.issue}`, e.line ?? "whole body")
 * ```
 * @since 0.1.0
 * @category errors
 */
export class SchemaMismatch extends Data.TaggedError("SchemaMismatch")<
  ResponseInfo & {
    readonly path: string
    readonly issue: string
    /**
     * Set by `JsonLines` on the failure of one record: its number, the one `issue` starts with, counted as
     * {@link InvalidJson}'s `line` is. Unset when the whole body was decoded.
     *
     * @since 0.2.0
     */
    readonly line?: number | undefined
    /**
     * The problems found, in the parser's order: at most the first 100. A body over 256 KiB is checked only up to
     * its first problem (listing every problem of a long list whose items all changed costs seconds and hundreds
     * of MB), so `issues` then holds that one.
     */
    readonly issues: ReadonlyArray<SchemaIssue>
  }
> {
  override get message(): string {
    return `response does not match the schema at ${this.path}: ${this.issue} (${this.status} ${this.method} ${this.url})`
  }
}

/**
 * The request could not be sent: a malformed URL (one that does not parse, or whose scheme is not http or https:
 * `ftp:`, `file:`, `ws:`), a header value with CR/LF, a header the transport refuses (a
 * `Content-Length` the body does not match, an `Expect` it does not support: `InvalidHeader`), a body the Schema could
 * not encode, or attempt options that are not valid (`InvalidOptions`: `detail` names every option and what is wrong
 * with it).
 *
 * @example
 * ```ts
 * import { HttpFailure } from "@sturdy/http"
 * import { Effect } from "effect"
 *
 * declare const call: Effect.Effect<string, HttpFailure.HttpFailure>
 * const program = call.pipe(Effect.catchTag("InvalidRequest", (e) => Effect.die(e)))
 * ```
 * @since 0.1.0
 * @category errors
 */
export class InvalidRequest extends Data.TaggedError("InvalidRequest")<
  RequestInfo & {
    readonly reason: "MalformedUrl" | "InvalidHeader" | "BodyEncode" | "InvalidOptions"
    readonly detail: string
  }
> {
  override get message(): string {
    const what = this.reason === "MalformedUrl"
      ? "malformed URL"
      : this.reason === "InvalidHeader"
      ? "invalid header"
      : this.reason === "InvalidOptions"
      ? "invalid options"
      : "request body failed to encode"
    return `${what} (${this.detail}): ${this.method} ${this.url}`
  }
}

/**
 * `Redirect.follow` gave up: more redirects than `maxRedirects` (`TooMany`), a `Location` that is not an http(s)
 * URL (`InvalidLocation`), or an https → http hop while downgrades are refused (`Downgrade`). `location` is the
 * redacted target it refused, `redirects` how many hops were followed.
 *
 * @example
 * ```ts
 * import { HttpFailure } from "@sturdy/http"
 * import { Effect } from "effect"
 *
 * declare const call: Effect.Effect<string, HttpFailure.HttpFailure>
 * const program = call.pipe(Effect.catchTag("RedirectFailed", (e) => Effect.succeed(`stuck after ${e.redirects} hops`)))
 * ```
 * @since 0.2.0
 * @category errors
 */
export class RedirectFailed extends Data.TaggedError("RedirectFailed")<
  RequestInfo & {
    readonly reason: "TooMany" | "InvalidLocation" | "Downgrade"
    readonly status: number
    readonly redirects: number
    readonly location: string
  }
> {
  override get message(): string {
    const what = this.reason === "TooMany"
      ? `more than ${this.redirects} redirects`
      : this.reason === "InvalidLocation"
      ? `redirect to an invalid location "${this.location}"`
      : `redirect from https to http refused (${this.location})`
    return `${what} (${this.status}): ${this.method} ${this.url}`
  }
}

/**
 * The request was never sent because its credentials could not be had: an `Auth` or `OAuth2` layer's token source
 * failed. `reason` says how: the token endpoint refused the client (`Rejected`: `invalid_client`, a wrong secret, a
 * 4xx), could not be reached or answered 5xx, 429 or 408 (`Unavailable`), or its answer was not a usable token
 * (`Malformed`). `detail` is the token failure's message, redacted; `cause` a sanitized copy of it.
 *
 * `Unavailable` is transient, but `Policy` does not retry it by default: the token source retries its own request
 * (`OAuth2`'s `retry` option), and retrying the call as well would multiply the token requests (add
 * `retryOn: { AuthenticationFailed: true }` to opt in). None of the three counts against the API's breaker, whose
 * upstream was never asked. A second 401 after a refresh is not this failure: it is the API's answer, a
 * `ClientError` 401.
 *
 * @example
 * ```ts
 * import { HttpFailure } from "@sturdy/http"
 * import { Effect } from "effect"
 *
 * declare const call: Effect.Effect<string, HttpFailure.HttpFailure>
 * const program = call.pipe(
 *   Effect.catchTag("AuthenticationFailed", (e) =>
 *     e.reason === "Rejected" ? Effect.die(e) : Effect.succeed("auth server down, try later"))
 * )
 * ```
 * @since 0.2.0
 * @category errors
 */
export class AuthenticationFailed extends Data.TaggedError("AuthenticationFailed")<
  RequestInfo & {
    readonly reason: "Rejected" | "Unavailable" | "Malformed"
    readonly detail: string
    readonly cause?: SanitizedCause | undefined
  }
> {
  override get message(): string {
    const what = this.reason === "Rejected"
      ? "credentials refused"
      : this.reason === "Unavailable"
      ? "credentials unavailable"
      : "credentials unreadable"
    return `${what}, request not sent (${this.detail}): ${this.method} ${this.url}`
  }
}

/**
 * Every way an HTTP request can fail.
 *
 * @since 0.1.0
 * @category models
 */
export type HttpFailure =
  | ConnectionError
  | Timeout
  | ClientError
  | RateLimited
  | ServerError
  | UnexpectedStatus
  | BodyTruncated
  | BodyUndecodable
  | BodyTooLarge
  | UnexpectedContentType
  | InvalidJson
  | SchemaMismatch
  | InvalidRequest
  | RedirectFailed
  | AuthenticationFailed

/**
 * The failures that carry an HTTP status.
 *
 * @since 0.1.0
 * @category models
 */
export type StatusFailure = ClientError | RateLimited | ServerError | UnexpectedStatus

internal.brand([
  ConnectionError,
  Timeout,
  ClientError,
  RateLimited,
  ServerError,
  UnexpectedStatus,
  BodyTruncated,
  BodyUndecodable,
  BodyTooLarge,
  UnexpectedContentType,
  InvalidJson,
  SchemaMismatch,
  InvalidRequest,
  RedirectFailed,
  AuthenticationFailed
])

/**
 * Whether a value is one of the {@link HttpFailure} errors.
 *
 * @example
 * ```ts
 * import { HttpFailure } from "@sturdy/http"
 *
 * HttpFailure.isHttpFailure(new Error("x")) // false
 * ```
 * @since 0.1.0
 * @category guards
 */
export const isHttpFailure: (u: unknown) => u is HttpFailure = internal.isHttpFailure

/**
 * Whether repeating the request may succeed (see the table in the module docs).
 *
 * @example
 * ```ts
 * import { HttpFailure } from "@sturdy/http"
 * import { Effect, Schedule } from "effect"
 *
 * declare const call: Effect.Effect<string, HttpFailure.HttpFailure>
 * const retried = call.pipe(Effect.retry({ schedule: Schedule.exponential("100 millis"), while: HttpFailure.isTransient, times: 3 }))
 * ```
 * @since 0.1.0
 * @category classification
 */
export const isTransient: (failure: HttpFailure) => boolean = internal.isTransient

/**
 * Whether `Policy` retries this failure by default (its `retry.retryOn` default, before the idempotency rules: a
 * failure that may have reached the server is repeated only for a request that is safe to repeat). The transient
 * failures except 425 and `AuthenticationFailed` (its token source retries its own request), and a 413 only when the
 * server named a wait (`Retry-After` or `X-RateLimit-Retry-After`, or a `RateLimit-Reset` / `X-RateLimit-Reset` with
 * no requests left or no remaining count). A response that failed by its status (`ClientError`, `RateLimited`,
 * `ServerError`, `UnexpectedStatus`) whose server said itself, with `x-should-retry` (OpenAI, Anthropic) or else
 * `Stripe-Should-Retry`, is retried as it said (`true` or `false`), whatever its status; a body that fails to read or
 * decode keeps its own rule, as those SDKs read the header only on a response that failed by status. The same
 * predicate as `Policy.isRetryableByDefault`.
 *
 * @example
 * ```ts
 * import { HttpFailure } from "@sturdy/http"
 *
 * declare const e: HttpFailure.HttpFailure
 * const worthRepeating = HttpFailure.isRetryableByDefault(e)
 * ```
 * @since 0.2.0
 * @category classification
 */
export const isRetryableByDefault: (failure: HttpFailure) => boolean = internal.isRetryableByDefault

/**
 * Whether the server can have received the request; `false` means it is safe to repeat even a non-idempotent one.
 *
 * @example
 * ```ts
 * import { HttpFailure } from "@sturdy/http"
 *
 * declare const e: HttpFailure.HttpFailure
 * const safeToRepeatPost = HttpFailure.isTransient(e) && !HttpFailure.mayHaveReachedServer(e)
 * ```
 * @since 0.1.0
 * @category classification
 */
export const mayHaveReachedServer: (failure: HttpFailure) => boolean = internal.mayHaveReachedServer

/**
 * The wait the server asked for, when it asked (429, and 5xx with `Retry-After`): see `RetryHeaders.retryAfter`; on a
 * 429 or 503, a `RateLimit-Reset` or `X-RateLimit-Reset` sent without a remaining count is the wait too (as in ky).
 * `Policy` honours it on 413, 429 and 503 by default (`retry.retryAfterStatuses`), as the wait itself rather than a
 * minimum.
 *
 * @example
 * ```ts
 * import { HttpFailure } from "@sturdy/http"
 * import { Duration, Option } from "effect"
 *
 * declare const e: HttpFailure.HttpFailure
 * const wait = Option.getOrElse(HttpFailure.retryAfter(e), () => Duration.seconds(1))
 * ```
 * @since 0.1.0
 * @category classification
 */
export const retryAfter: (failure: HttpFailure) => Option.Option<Duration.Duration> = internal.retryAfter
