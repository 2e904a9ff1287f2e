import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import { hasProperty } from "effect/Predicate"

// Structural views of the failures, so this module does not import `HttpFailure.ts` (which imports it).
type Tagged =
  | { readonly _tag: "ConnectionError"; readonly reason: string }
  | { readonly _tag: "Timeout"; readonly phase: string }
  | { readonly _tag: "ClientError" | "UnexpectedStatus"; readonly status: number }
  | {
    readonly _tag: "RateLimited" | "ServerError"
    readonly status: number
    readonly retryAfter: Option.Option<Duration.Duration>
  }
  | {
    readonly _tag:
      | "BodyTruncated"
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

/** @internal */
export const isTransient = (failure: Tagged): boolean => {
  switch (failure._tag) {
    case "ConnectionError":
      return failure.reason !== "Tls"
    case "Timeout":
      return failure.phase !== "Deadline"
    case "ClientError":
    case "RateLimited":
    case "ServerError":
    case "UnexpectedStatus":
      return isTransientStatus(failure.status)
    case "BodyTruncated":
      return true
    case "BodyTooLarge":
    case "UnexpectedContentType":
    case "InvalidJson":
    case "SchemaMismatch":
    case "InvalidRequest":
    case "RedirectFailed":
      return false
  }
}

/** @internal */
export const mayHaveReachedServer = (failure: Tagged): boolean => {
  switch (failure._tag) {
    case "ConnectionError":
      return failure.reason === "Reset" || failure.reason === "Unknown"
    case "InvalidRequest":
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
