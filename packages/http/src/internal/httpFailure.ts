import type * as Headers from "@effect/platform/Headers"
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import { hasProperty } from "effect/Predicate"
import * as retryHeaders from "./retryHeaders.js"

// Structural views of the failures, so this module does not import `HttpFailure.ts` (which imports it).
type Tagged =
  | {
    readonly _tag: "ConnectionError"
    readonly reason: string
    readonly requestSent?: boolean | undefined
    readonly proxyStatus?: number | undefined
    readonly proxyReply?: number | undefined
  }
  | { readonly _tag: "Timeout"; readonly phase: string; readonly requestSent?: boolean | undefined }
  | { readonly _tag: "AuthenticationFailed"; readonly reason: string }
  | { readonly _tag: "ClientError"; readonly status: number; readonly headers: Readonly<Record<string, string>> }
  | { readonly _tag: "UnexpectedStatus"; readonly status: number }
  | {
    readonly _tag: "RateLimited" | "ServerError"
    readonly status: number
    readonly retryAfter: Option.Option<Duration.Duration>
  }
  | {
    readonly _tag:
      | "BodyTruncated"
      | "BodyUndecodable"
      | "BodyTooLarge"
      | "UnexpectedContentType"
      | "InvalidJson"
      | "SchemaMismatch"
      | "InvalidRequest"
      | "RedirectFailed"
  }

/** @internal */
export const TypeId: unique symbol = Symbol.for("@sturdy/http/HttpFailure")

/** @internal */
export type TypeId = typeof TypeId

/** @internal */
export const isHttpFailure = <A>(u: unknown): u is A => hasProperty(u, TypeId)

/**
 * @internal Marks the failure classes, so `isHttpFailure` tells them from other errors with the same `_tag`, and
 * ends each message with the attempts made when the failure carries them (`attempts`, set by `Policy`).
 */
export const brand = (classes: ReadonlyArray<{ readonly prototype: object }>): void => {
  for (const failure of classes) {
    Object.defineProperty(failure.prototype, TypeId, { value: TypeId })
    const message = Object.getOwnPropertyDescriptor(failure.prototype, "message")?.get
    if (message !== undefined) {
      Object.defineProperty(failure.prototype, "message", {
        configurable: true,
        get(this: { readonly attempts?: number | undefined }) {
          return withAttempts(message.call(this), this.attempts)
        }
      })
    }
  }
}

/** @internal */
export const withAttempts = (message: string, attempts: number | undefined): string =>
  typeof attempts === "number" ? `${message} (after ${attempts} attempt${attempts === 1 ? "" : "s"})` : message

/** @internal */
export const isTransientStatus = (status: number): boolean =>
  status === 408 || status === 425 || status === 429 ||
  (status >= 500 && status <= 599 && status !== 501 && status !== 505 && status !== 511)

/**
 * How a failure is treated, from one table: whether repeating the request may succeed (`transient`, what
 * `HttpFailure.isTransient` says), whether `Policy` retries it by default (`retried`), and whether it counts against
 * the upstream's circuit breaker by default (`counts`).
 *
 * @internal
 */
export interface Treatment {
  readonly transient: boolean
  readonly retried: boolean
  readonly counts: boolean
}

// the upstream failed: a retry may succeed, and the breaker counts it
const upstreamFailed: Treatment = { transient: true, retried: true, counts: true }
// a retry may succeed, but the failure says nothing against the upstream
const retriedNotCounted: Treatment = { transient: true, retried: true, counts: false }
// transient, but not retried by default (425) or retried as its own kind (a 429 arrives as `RateLimited`)
const transientOnly: Treatment = { transient: true, retried: false, counts: false }
// a `RateLimited` without a transient status: the server still asked to slow down, so it is retried
const rateLimitedOnly: Treatment = { transient: false, retried: true, counts: false }
const permanent: Treatment = { transient: false, retried: false, counts: false }

/**
 * The one classification table. Where the three columns deliberately differ:
 * - a DNS failure may resolve on a retry, but never reached the upstream: not counted; TLS is configuration:
 *   permanent;
 * - 425 Too Early is transient (the server may accept the replay later), but replaying early data is the caller's
 *   decision: not retried by default (`retryOn`/`statuses` opt in), and not counted;
 * - 429 (`RateLimited`) says "slow down", not "I am broken": retried (after its Retry-After), never counted;
 * - a 413 is permanent, but `Policy` retries it when it came with a Retry-After (read by `Policy`, not here);
 * - the caller's own deadline (`Timeout` in phase `Deadline`) says nothing about the upstream: none of the three;
 * - a forward proxy that refused the tunnel (`ConnectionError` `Proxy`) answered for itself, not for the upstream:
 *   not counted; retried only on 502, 503 and 504;
 * - credentials that could not be had (`AuthenticationFailed`) never reached the upstream: not counted; an
 *   unavailable token endpoint is transient, but the token source retries its own request, so the call is not
 *   retried by default (that would multiply the token requests).
 *
 * @internal
 */
export const treatment = (failure: Tagged): Treatment => {
  switch (failure._tag) {
    case "ConnectionError":
      return failure.reason === "Tls"
        ? permanent
        : failure.reason === "Proxy"
        ? isTransientProxyStatus(failure.proxyStatus) || isTransientProxyReply(failure.proxyReply)
          ? retriedNotCounted
          : permanent
        : failure.reason === "DnsLookup"
        ? retriedNotCounted
        : failure.reason === "Refused" || failure.reason === "Reset" || failure.reason === "ConnectTimeout" ||
            failure.reason === "Unknown"
        ? upstreamFailed
        : retriedNotCounted
    case "Timeout":
      return failure.phase === "Deadline" ? permanent : upstreamFailed
    case "ClientError":
      return failure.status === 408 ? upstreamFailed : isTransientStatus(failure.status) ? transientOnly : permanent
    case "RateLimited":
      return isTransientStatus(failure.status) ? retriedNotCounted : rateLimitedOnly
    case "ServerError":
      return isTransientStatus(failure.status) ? upstreamFailed : permanent
    case "UnexpectedStatus":
      return isTransientStatus(failure.status) ? retriedNotCounted : permanent
    case "BodyTruncated":
      return upstreamFailed
    case "BodyUndecodable":
    case "BodyTooLarge":
    case "UnexpectedContentType":
    case "InvalidJson":
    case "SchemaMismatch":
    case "InvalidRequest":
    case "RedirectFailed":
      return permanent
    case "AuthenticationFailed":
      return failure.reason === "Unavailable" ? transientOnly : permanent
  }
}

/** @internal A forward proxy's answer to `CONNECT` that may differ next time: it could not reach the origin (502, 504) or is
 * overloaded (503). */
export const isTransientProxyStatus = (status: number | undefined): boolean =>
  status === 502 || status === 503 || status === 504

/**
 * The SOCKS5 replies (RFC 1928 §6) that may not come back next time, as an HTTP proxy's 502, 503 and 504: general
 * failure (1), network (3) or host (4) unreachable, connection refused by the origin (5), TTL expired (6). Not allowed
 * by the ruleset (2), command (7) or address type (8) not supported are the proxy's configuration.
 * @internal
 */
export const isTransientProxyReply = (reply: number | undefined): boolean =>
  reply === 1 || reply === 3 || reply === 4 || reply === 5 || reply === 6

/** @internal */
export const isTransient = (failure: Tagged): boolean => treatment(failure).transient

/**
 * The server's own word on retrying a response that failed by its status, `x-should-retry` (OpenAI, Anthropic; their
 * SDKs read it on such a response before the status) or else `stripe-should-retry`: `true`, `false`, or `undefined`
 * when it said nothing readable. A body that failed to read or decode keeps its own rule: those SDKs never read the
 * header of a response that succeeded by status.
 * @internal
 */
export const serverSaysRetry = (failure: Tagged): boolean | undefined => {
  if (!statusFailureTags.has(failure._tag) || !("headers" in failure)) return undefined
  const headers = failure.headers
  return wordOn(headers["x-should-retry"]) ?? wordOn(headers["stripe-should-retry"])
}

const statusFailureTags: ReadonlySet<string> = new Set([
  "ClientError",
  "RateLimited",
  "ServerError",
  "UnexpectedStatus"
])

const wordOn = (value: string | undefined): boolean | undefined => {
  if (value === undefined) return undefined
  const word = value.trim().toLowerCase()
  return word === "true" ? true : word === "false" ? false : undefined
}

/**
 * The server's own word (`x-should-retry`, `Stripe-Should-Retry`) when it gave one; else the `retried` column of the
 * classification table, and a 413 whose server named a wait (a `Retry-After`, or a reset with no requests left or no
 * remaining count), read as `Policy` reads it. Whether a value parses does not depend on the clock (a date in the
 * past is valid: it means now).
 * @internal
 */
export const isRetryableByDefault = (failure: Tagged): boolean => {
  const said = serverSaysRetry(failure)
  if (said !== undefined) return said
  return treatment(failure).retried ||
    (failure._tag === "ClientError" && failure.status === 413 &&
      Option.isSome(retryHeaders.limitedRetryAfter(failure.headers as unknown as Headers.Headers, 0)))
}

/** @internal */
export const mayHaveReachedServer = (failure: Tagged): boolean => {
  switch (failure._tag) {
    case "ConnectionError":
      return (failure.reason === "Reset" || failure.reason === "Unknown") && failure.requestSent !== false
    case "Timeout":
      return failure.requestSent !== false
    case "InvalidRequest":
    case "AuthenticationFailed":
      return false
    default:
      return true
  }
}

/** @internal */
export const retryAfter = (failure: Tagged): Option.Option<Duration.Duration> =>
  failure._tag === "RateLimited" || failure._tag === "ServerError" ? failure.retryAfter : Option.none()

/** @internal */
export const formatDuration = (duration: Duration.Duration): string => Duration.format(duration)

/** @internal */
export const statusMessage = (failure: {
  readonly status: number
  readonly method: string
  readonly url: string
  readonly bodyExcerpt: string
}): string => {
  const excerpt = failure.bodyExcerpt.length === 0 ? "" : `: ${oneLine(failure.bodyExcerpt, 200)}`
  return `${failure.status} ${statusText(failure.status)} ${failure.method} ${failure.url}${excerpt}`
}

const oneLine = (text: string, max: number): string => {
  const flat = text.replace(/\s+/g, " ").trim()
  return flat.length > max ? `${flat.slice(0, max)}…` : flat
}

const statusTexts: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  409: "Conflict",
  410: "Gone",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  425: "Too Early",
  429: "Too Many Requests",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
  511: "Network Authentication Required"
}

const statusText = (status: number): string => statusTexts[status] ?? "status"
