import type * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Deadline from "@sturdy/policy/Deadline"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import { globalValue } from "effect/GlobalValue"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as Tracer from "effect/Tracer"
import type * as Attempt from "../Attempt.js"
import * as HttpFailure from "../HttpFailure.js"
import * as RetryHeaders from "../RetryHeaders.js"
import * as clientResponse from "./clientResponse.js"
import * as observe from "./observe.js"
import * as plainDecoder from "./plainDecoder.js"
import { hasProcessing } from "./processing.js"
import * as redactedSpan from "./redactedSpan.js"
import * as redaction from "./redaction.js"
import * as retryHeaders from "./retryHeaders.js"
import { discardChunk, shieldedFromCaller } from "./shielded.js"

/** @internal */
export const defaultMaxBodyBytes = 10 * 1024 * 1024

/** @internal */
export const defaultJsonContentTypes: ReadonlyArray<string> = ["application/json", "+json"]

const excerptBytes = 1024
const errorBodyLimit = 64 * 1024
const utf8 = new TextDecoder()
const strictUtf8 = new TextDecoder("utf-8", { fatal: true })

// -----------------------------------------------------------------------------
// request description (only computed on failure paths)
// -----------------------------------------------------------------------------

/** @internal */
export const requestInfo = (request: HttpClientRequest.HttpClientRequest): HttpFailure.RequestInfo => ({
  method: request.method,
  url: redaction.redactRequestUrl(request)
})

/** The secrets of the request as the caller built it and as it was sent (after middleware): searched by value. */
const secretsOf = (
  request: HttpClientRequest.HttpClientRequest,
  response?: HttpClientResponse.HttpClientResponse
): ReadonlyArray<string> => {
  const own = redaction.secretsOf(request)
  if (response === undefined || response.request === request) return own
  const sent = redaction.secretsOf(response.request)
  return sent.length === 0 ? own : own.length === 0 ? sent : [...own, ...sent]
}

/** @internal */
export const responseInfo = (
  request: HttpClientRequest.HttpClientRequest,
  response: HttpClientResponse.HttpClientResponse
): HttpFailure.ResponseInfo => ({
  ...requestInfo(request),
  status: response.status,
  headers: redaction.redactHeaders(response.headers, secretsOf(request, response))
})

// -----------------------------------------------------------------------------
// causes
// -----------------------------------------------------------------------------

/** @internal */
export const sanitizeCause = (
  cause: unknown,
  secrets?: ReadonlyArray<string>
): HttpFailure.SanitizedCause | undefined => {
  if (cause === undefined || cause === null) return undefined
  const root = rootCause(cause)
  const code = findCode(cause)
  if (root instanceof Error) {
    return { name: root.name, code, message: redaction.redactText(root.message, secrets) }
  }
  return { name: typeof root, code, message: redaction.redactText(String(root), secrets) }
}

const nested = (u: unknown): ReadonlyArray<unknown> => {
  if (typeof u !== "object" || u === null) return []
  const out: Array<unknown> = []
  if ("cause" in u && u.cause !== undefined) out.push(u.cause)
  if ("errors" in u && Array.isArray(u.errors)) out.push(...u.errors)
  return out
}

const rootCause = (cause: unknown): unknown => {
  let current = cause
  for (let depth = 0; depth < 6; depth++) {
    const next = nested(current)
    // fetch wraps the system error in `TypeError: fetch failed`; the useful part is inside
    if (next.length === 0 || findOwnCode(current) !== undefined) return current
    current = next[0]
  }
  return current
}

const findOwnCode = (u: unknown): string | undefined =>
  typeof u === "object" && u !== null && "code" in u && typeof u.code === "string" ? u.code : undefined

/** Every error in a cause's chain (`cause`, `AggregateError`'s `errors`), breadth first, at most 16. */
const causeChain = (cause: unknown): ReadonlyArray<unknown> => {
  const queue: Array<unknown> = [cause]
  for (let i = 0; i < queue.length && queue.length < 16; i++) queue.push(...nested(queue[i]))
  return queue.slice(0, 16)
}

const findCode = (cause: unknown): string | undefined => {
  for (const u of causeChain(cause)) {
    const code = findOwnCode(u)
    if (code !== undefined) return code
  }
  return undefined
}

// The first error in the chain with `code`.
const withCode = (cause: unknown, code: string): unknown => causeChain(cause).find((u) => findOwnCode(u) === code)

// The limit of undici's own headers or body timeout, when the transport says it (`@sturdy/node` adds
// `timeoutMillis` to the error); zero when it is not known.
const transportLimit = (cause: unknown, code: string): Duration.Duration => {
  const millis = (withCode(cause, code) as { readonly timeoutMillis?: unknown } | undefined)?.timeoutMillis
  return typeof millis === "number" && millis > 0 ? Duration.millis(millis) : Duration.zero
}

// How much of a body arrived before its read failed, when the transport says it (`@sturdy/node` adds
// `receivedBytes` to the error of a body read whole).
const receivedBytesOf = (cause: unknown): number | undefined => {
  for (const u of causeChain(cause)) {
    const bytes = (u as { readonly receivedBytes?: unknown } | null)?.receivedBytes
    if (typeof bytes === "number" && Number.isSafeInteger(bytes) && bytes >= 0) return bytes
  }
  return undefined
}

// Whether an error with `code` in the chain says it came from `connect` (Node's system errors name their syscall;
// with `autoSelectFamily` each address's error sits in an `AggregateError`).
const failedWhileConnecting = (cause: unknown, code: string): boolean =>
  causeChain(cause).some((u) => {
    if (findOwnCode(u) !== code) return false
    const syscall = (u as { readonly syscall?: unknown }).syscall
    // `bind` is the socket taking its local address (a `localAddress` option), before it connects
    return syscall === "connect" || syscall === "bind"
  })

const collectMessages = (cause: unknown): string =>
  causeChain(cause)
    .flatMap((u) => u instanceof Error ? [u.message] : [])
    .join(" | ")
    .toLowerCase()

const dnsCodes = new Set(["ENOTFOUND", "EAI_AGAIN", "EAI_FAIL", "EAI_NONAME", "EAI_NODATA"])
const resetCodes = new Set(["ECONNRESET", "EPIPE", "UND_ERR_SOCKET", "UND_ERR_CLOSED", "ECONNABORTED", "EHOSTDOWN"])
// Node gives these codes to a connect that failed, and also to a socket that was already open (a send that timed out,
// an unreachable host reported on a live connection): only the first proves the request was never written.
// A local address or port that cannot be had (`EADDRNOTAVAIL`: ephemeral ports used up, or a `localAddress` the host
// lacks; `EADDRINUSE`) comes from the same two calls.
const unsentWhileConnectingCodes = new Set(["ETIMEDOUT", "ENETUNREACH", "EHOSTUNREACH", "EADDRNOTAVAIL", "EADDRINUSE"])
const tlsCodes = new Set([
  "EPROTO",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "CERT_HAS_EXPIRED",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY"
])
const invalidHeaderCodes = new Set(["ERR_INVALID_CHAR", "ERR_INVALID_HTTP_TOKEN", "UND_ERR_INVALID_ARG"])
// Headers undici refuses before the request is complete: a Content-Length the body does not match (checked before
// anything is written, or once a streamed body ends short or long: no server acts on a request cut that way) and an
// `Expect` it does not support. Sending again sends the same headers, so neither is a connection failure.
const refusedHeaderCodes: ReadonlyMap<string, string> = new Map([
  ["UND_ERR_REQ_CONTENT_LENGTH_MISMATCH", "Content-Length does not match the body"],
  ["UND_ERR_NOT_SUPPORTED", "Expect header not supported by the transport"]
])

const isBadResponse = (cause: unknown): boolean => collectMessages(cause).includes("bad response")

// undici's `ProxyAgent` fails a tunnel the proxy did not open with these words (a `RequestAbortedError`, whose code
// `UND_ERR_ABORTED` says nothing more): the only place the proxy's status is given. A request it forwards without a
// tunnel (`proxyTunnel: false`) that the proxy answers 407 fails with the second (an `InvalidArgumentError`).
const proxyRefusal =
  /\bProxy response \((\d{3})\) !== 200 when HTTP Tunneling\b|^Proxy Authentication Required \((407)\)$/

/** The status a forward proxy answered `CONNECT` with, when the cause says the tunnel was refused. @internal */
export const proxyStatusOf = (cause: unknown): number | undefined => {
  for (const u of causeChain(cause)) {
    const found = u instanceof Error ? proxyRefusal.exec(u.message) : null
    if (found !== null) return Number(found[1] ?? found[2])
  }
  return undefined
}

// a SOCKS5 proxy's failure, by undici's codes (`Socks5ProxyError`), which `@sturdy/node`'s SOCKS5 client gives too:
// `UND_ERR_SOCKS5_REPLY_<n>` for a CONNECT the proxy answered with reply code n (RFC 1928 §6), others for the
// negotiation (`UND_ERR_SOCKS5_AUTH_FAILED`, ...)
const socksFailure = /^UND_ERR_SOCKS5(?:_REPLY_(\d+)|_[A-Z_]+)?$/

const socksCodeOf = (cause: unknown): RegExpExecArray | undefined => {
  for (const u of causeChain(cause)) {
    const code = findOwnCode(u)
    const found = code === undefined ? null : socksFailure.exec(code)
    if (found !== null) return found
  }
  return undefined
}

/** The reply code a SOCKS5 proxy answered `CONNECT` with (RFC 1928 §6), when the cause says it. @internal */
export const proxyReplyOf = (cause: unknown): number | undefined => {
  const reply = socksCodeOf(cause)?.[1]
  return reply === undefined ? undefined : Number(reply)
}

const proxyDetail = (
  cause: unknown
): { readonly proxyStatus?: number | undefined; readonly proxyReply?: number | undefined } => {
  const proxyReply = proxyReplyOf(cause)
  return proxyReply !== undefined ? { proxyReply } : { proxyStatus: proxyStatusOf(cause) }
}

/** @internal */
export const connectionReason = (cause: unknown): HttpFailure.ConnectionError["reason"] => {
  if (proxyStatusOf(cause) !== undefined || socksCodeOf(cause) !== undefined) return "Proxy"
  const code = findCode(cause)
  if (code !== undefined) {
    if (code === "ECONNREFUSED") return "Refused"
    // a Unix domain socket (`socketPath`) that does not exist: nothing listens, as for a refused port
    if (code === "ENOENT" && failedWhileConnecting(cause, code)) return "Refused"
    if (dnsCodes.has(code)) return "DnsLookup"
    // undici's "bad response" is a protocol violation on the socket (an unsolicited 1xx, say), not a reset
    if (resetCodes.has(code)) return code === "UND_ERR_SOCKET" && isBadResponse(cause) ? "Unknown" : "Reset"
    if (code === "UND_ERR_CONNECT_TIMEOUT") return "ConnectTimeout"
    if (unsentWhileConnectingCodes.has(code)) return failedWhileConnecting(cause, code) ? "ConnectTimeout" : "Unknown"
    if (tlsCodes.has(code) || code.startsWith("ERR_TLS_") || code.startsWith("ERR_SSL_") || code.includes("CERT")) {
      return "Tls"
    }
  }
  const messages = collectMessages(cause)
  if (messages.includes("other side closed") || messages.includes("socket hang up")) return "Reset"
  if (messages.includes("certificate") || messages.includes("ssl")) return "Tls"
  return "Unknown"
}

/** @internal */
export const isDeadlineExceeded = (cause: unknown): cause is Deadline.DeadlineExceeded =>
  cause instanceof Deadline.DeadlineExceeded

/** Whether the transport says it wrote the request (`HttpFailure.RequestSentMark`): undefined when it does not say. */
const requestSentOf = (error: HttpClientError.RequestError): boolean | undefined => {
  const sent = (error as Partial<Record<"requestSent", unknown>>).requestSent
  return typeof sent === "boolean" ? sent : undefined
}

/**
 * `error` as the failure of a request after an earlier one of the same call was written (a redirect's later hop): a
 * `RequestError` that says it was never written is made again without that word; anything else is kept as it is.
 * @internal
 */
export const sentBefore = <E>(error: E): E =>
  HttpClientError.isHttpClientError(error) && error._tag === "RequestError" && requestSentOf(error) === false
    ? withoutMark(error) as E
    : error

const withoutMark = (error: HttpClientError.RequestError): HttpClientError.RequestError =>
  new HttpClientError.RequestError(
    error.description === undefined
      ? { request: error.request, reason: error.reason, cause: error.cause }
      : { request: error.request, reason: error.reason, cause: error.cause, description: error.description }
  )

/** @internal */
export const currentSendProgress: FiberRef.FiberRef<Attempt.SendProgress | undefined> = globalValue(
  Symbol.for("@sturdy/http/Attempt/currentSendProgress"),
  () => FiberRef.unsafeMake<Attempt.SendProgress | undefined>(undefined)
)

/**
 * Runs `timed` (an attempt under a timer raced around its transport) with a progress for the transport to report in:
 * the timer's `Timeout` then says `requestSent: false` when the transport said it had not written the request. The
 * progress is fresh each time `timed` runs, unless it runs inside another attempt's timer (an `Attempt` in the `send`
 * of `Policy.run`): then both are one attempt, and share that one, so the outer timer learns what the transport did.
 * @internal
 */
export const withSendProgress = <A, E, R>(
  timed: (tracked: Tracked, unsent: () => false | undefined) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.withFiberRuntime((fiber) => {
    const outer = fiber.getFiberRef(currentSendProgress)
    if (outer !== undefined) return timed(untracked, () => outer.requestSent === false ? false : undefined)
    const progress: Attempt.SendProgress = { requestSent: undefined }
    return timed(
      (effect) => Effect.locally(effect, currentSendProgress, progress),
      () => progress.requestSent === false ? false : undefined
    )
  })

// `requestSent` is set only when it is `false`: a failure that may have reached the server stays the object it was.
const timeoutOf = (
  request: HttpClientRequest.HttpClientRequest,
  phase: HttpFailure.Timeout["phase"],
  timeout: Duration.Duration,
  requestSent: boolean | undefined
): HttpFailure.Timeout => {
  const fields = { ...requestInfo(request), phase, timeout }
  return new HttpFailure.Timeout(requestSent === false ? { ...fields, requestSent } : fields)
}

/** @internal */
export const deadlineTimeout = (
  error: Deadline.DeadlineExceeded,
  request: HttpClientRequest.HttpClientRequest,
  requestSent?: boolean | undefined
): HttpFailure.Timeout => timeoutOf(request, error.reason, error.timeout, requestSent)

/**
 * A `RequestError` with no cause but its own words (`description`, as a middleware that fails before sending writes
 * it): those words, redacted, stand in for the cause, so that the failure still says why.
 */
const describedCause = (error: HttpClientError.RequestError): HttpFailure.SanitizedCause | undefined =>
  error.description === undefined || error.description === ""
    ? undefined
    : {
      name: "RequestError",
      code: undefined,
      message: redaction.redactText(error.description, redaction.secretsOf(error.request))
    }

/** @internal */
export const fromRequestError = (error: HttpClientError.RequestError): HttpFailure.HttpFailure => {
  // a middleware that must fit the `HttpClient` tag (an `Auth` layer) carries its typed failure as the cause
  if (HttpFailure.isHttpFailure(error.cause)) return error.cause
  const info = requestInfo(error.request)
  switch (error.reason) {
    case "InvalidUrl":
      return new HttpFailure.InvalidRequest({
        ...info,
        reason: "MalformedUrl",
        // a transport's own words (the origin an undici Pool serves), redacted as every detail is
        detail: error.description === undefined
          ? "the URL does not parse"
          : redaction.redactText(error.description, redaction.secretsOf(error.request))
      })
    case "Encode":
      return new HttpFailure.InvalidRequest({
        ...info,
        reason: "BodyEncode",
        detail: (sanitizeCause(error.cause, redaction.secretsOf(error.request)) ?? describedCause(error))?.message ??
          "the body could not be written"
      })
    case "Transport": {
      if (isDeadlineExceeded(error.cause)) return deadlineTimeout(error.cause, error.request, requestSentOf(error))
      const code = findCode(error.cause)
      // (not a 407 of a proxy that forwards without a tunnel: undici says it with an invalid-argument error)
      if (code !== undefined && invalidHeaderCodes.has(code) && proxyStatusOf(error.cause) === undefined) {
        // the transport's own words say what it refused (a header's name, a method such as CONNECT), redacted
        const words = (withCode(error.cause, code) as { readonly message?: unknown } | undefined)?.message
        const detail = typeof words === "string" && words.length > 0
          ? `${redaction.redactText(words, redaction.secretsOf(error.request))} (${code})`
          : code
        return new HttpFailure.InvalidRequest({ ...info, reason: "InvalidHeader", detail })
      }
      const refused = code === undefined ? undefined : refusedHeaderCodes.get(code)
      if (refused !== undefined) {
        return new HttpFailure.InvalidRequest({ ...info, reason: "InvalidHeader", detail: `${refused} (${code})` })
      }
      if (code === "UND_ERR_HEADERS_TIMEOUT") {
        return new HttpFailure.Timeout({ ...info, phase: "Attempt", timeout: transportLimit(error.cause, code) })
      }
      const reason = connectionReason(error.cause)
      const connection = {
        ...info,
        reason,
        cause: sanitizeCause(error.cause, redaction.secretsOf(error.request)) ?? describedCause(error),
        ...(reason === "Proxy" ? proxyDetail(error.cause) : {})
      }
      // only where it decides something: a refused connection, DNS, TLS or connect timeout never left anyway; a
      // tunnel the proxy refused never reached the origin, and says so
      const unsent = ((reason === "Reset" || reason === "Unknown") && requestSentOf(error) === false) ||
        reason === "Proxy"
      return new HttpFailure.ConnectionError(unsent ? { ...connection, requestSent: false } : connection)
    }
  }
}

/** @internal */
export const fromClientError = (error: HttpClientError.HttpClientError | HttpFailure.HttpFailure) => {
  if (HttpFailure.isHttpFailure(error)) return Effect.fail(error)
  if (error._tag === "RequestError") return Effect.fail(fromRequestError(error))
  // A ResponseError reaching `execute` comes from middleware such as `filterStatusOk`.
  return error.reason === "StatusCode"
    ? Effect.flatMap(statusFailure(error.response, {}), Effect.fail)
    : Effect.fail(
      new HttpFailure.BodyTruncated({
        ...responseInfo(error.request, error.response),
        receivedBytes: undefined,
        expectedBytes: undefined,
        cause: sanitizeCause(error.cause, secretsOf(error.request, error.response))
      })
    )
}

// -----------------------------------------------------------------------------
// options
// -----------------------------------------------------------------------------

/** @internal One option that is not valid: its name and what is wrong with it. */
export interface OptionProblem {
  readonly field: string
  readonly detail: string
}

/** @internal Every problem `checkOptions` found, the first included. */
export class InvalidOptions {
  constructor(readonly problems: ReadonlyArray<OptionProblem>) {}
  get detail(): string {
    return this.problems.map((problem) => `${problem.field} ${problem.detail}`).join("; ")
  }
}

/**
 * Options as `checkOptions` leaves them: numbers in range, durations decoded, an infinite one as none. The attempt
 * runs on these without checking them again.
 *
 * @internal
 */
export interface Checked extends Attempt.Options {
  readonly timeout?: Duration.Duration | undefined
  readonly bodyTimeout?: Duration.Duration | undefined
}

const unchecked: Checked = {}

// The value is shown only when it is a number: a string may be whatever an environment variable held, a secret too.
const shown = (value: unknown): string =>
  typeof value === "number" ? ` (got ${String(value)})` : ` (got a value of type ${typeof value})`

const checkCount = (field: string, value: unknown, problems: Array<OptionProblem>): number | undefined => {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return value
  problems.push({ field, detail: `must be an integer ≥ 0${shown(value)}` })
  return undefined
}

// Duration's own decoding makes zero of a negative or NaN number and of "-5 millis", so zero is refused too: a zero
// limit would fail every attempt before it is sent.
const checkDuration = (
  field: string,
  value: unknown,
  problems: Array<OptionProblem>
): Duration.Duration | undefined => {
  const decoded = Option.getOrUndefined(Duration.decodeUnknown(value))
  if (decoded === undefined) {
    problems.push({ field, detail: `is not a duration${typeof value === "number" ? shown(value) : ""}` })
    return undefined
  }
  const millis = Duration.toMillis(decoded)
  // longer than a timer can hold is no limit, as an infinite one (as `Deadline` reads it)
  if (millis > Deadline.maxTimerMillis) return undefined
  if (!(millis > 0)) {
    problems.push({ field, detail: `must be a positive duration${typeof value === "number" ? shown(value) : ""}` })
  }
  return decoded
}

/**
 * Checks the attempt options `options` sets, over `base` (already checked) for those it leaves unset, and collects
 * every problem. Only the six attempt options are read: a request's other options (`body`, `headers`) are not copied.
 *
 * @internal
 */
export const isOptionsObject = (input: unknown): input is object =>
  typeof input === "object" && input !== null && !Array.isArray(input)

/** @internal */
export const checkOptions = (input: Attempt.Options, base: Checked = unchecked): Checked | InvalidOptions => {
  // a value that is no object (a string read from a file, an array) has none of the fields read below: it would be
  // taken for no options, the mistake unseen; `null` (a setting read as none) is no options
  if (input !== undefined && input !== null && !isOptionsObject(input)) {
    return new InvalidOptions([{
      field: "options",
      detail: `(${Array.isArray(input) ? "an array" : typeof input}) must be an object`
    }])
  }
  const options: Attempt.Options = input ?? {}
  const problems: Array<OptionProblem> = []
  const { bodyTimeout, errorSchema, expectedContentTypes, maxBodyBytes, maxJsonDepth, timeout } = options
  const checked: Checked = {
    maxBodyBytes: maxBodyBytes === undefined ? base.maxBodyBytes : checkCount("maxBodyBytes", maxBodyBytes, problems),
    maxJsonDepth: maxJsonDepth === undefined ? base.maxJsonDepth : checkCount("maxJsonDepth", maxJsonDepth, problems),
    // an infinite limit is none, and replaces the base's
    timeout: timeout === undefined ? base.timeout : checkDuration("timeout", timeout, problems),
    bodyTimeout: bodyTimeout === undefined ? base.bodyTimeout : checkDuration("bodyTimeout", bodyTimeout, problems),
    expectedContentTypes: expectedContentTypes ?? base.expectedContentTypes,
    errorSchema: errorSchema ?? base.errorSchema
  }
  if (
    expectedContentTypes !== undefined &&
    !(Array.isArray(expectedContentTypes) &&
      expectedContentTypes.every((type) => typeof type === "string" && type.length > 0))
  ) problems.push({ field: "expectedContentTypes", detail: "must be an array of non-empty media types" })
  if (errorSchema !== undefined && !Schema.isSchema(errorSchema)) {
    problems.push({ field: "errorSchema", detail: "is not a Schema" })
  }
  return problems.length === 0 ? checked : new InvalidOptions(problems)
}

/** @internal Whether `options` sets any attempt option: a request that sets none runs on its client's, as checked. */
export const setsAttemptOptions = (options: Attempt.Options): boolean =>
  options.maxBodyBytes !== undefined || options.timeout !== undefined || options.bodyTimeout !== undefined ||
  options.expectedContentTypes !== undefined || options.errorSchema !== undefined ||
  options.maxJsonDepth !== undefined

/** @internal The failure of a call whose options are not valid: nothing was sent. */
export const invalidOptions = (
  request: HttpClientRequest.HttpClientRequest,
  invalid: InvalidOptions
): HttpFailure.InvalidRequest =>
  new HttpFailure.InvalidRequest({ ...requestInfo(request), reason: "InvalidOptions", detail: invalid.detail })

// -----------------------------------------------------------------------------
// request validation
// -----------------------------------------------------------------------------

/**
 * The request as it may go on the wire: without its URL fragment, which identifies a part of the resource for the
 * client alone (RFC 3986 §3.5) and often holds what only the client may see (`#access_token=…`).
 * @internal
 */
export const withoutFragment = (request: HttpClientRequest.HttpClientRequest): HttpClientRequest.HttpClientRequest => {
  const at = request.url.indexOf("#")
  let sent = at === -1 ? request : HttpClientRequest.setUrl(request, request.url.slice(0, at))
  if (sent.hash._tag === "Some") sent = HttpClientRequest.removeHash(sent)
  return sent
}

const headerName = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
const forbiddenInValue = /[\r\n\0]/

const urlScheme = /^([A-Za-z][A-Za-z0-9+.-]*):/

/**
 * A URL with a scheme other than http or https (`ftp:`, `file:`, `ws:`, `localhost:8080/…` read as the scheme
 * `localhost:`) cannot be sent as an HTTP request: transports fail it in their own ways, some as a connection failure
 * that would be retried, `NodeHttpClient` with a defect. A relative URL passes: a client middleware may prefix it.
 */
const unsupportedScheme = (url: string): string | undefined => {
  if (url.startsWith("https://") || url.startsWith("http://")) return undefined
  const scheme = urlScheme.exec(url)?.[1].toLowerCase()
  return scheme === undefined || scheme === "http" || scheme === "https" ? undefined : scheme
}

/** @internal */
export const validateRequest = (
  request: HttpClientRequest.HttpClientRequest
): HttpFailure.InvalidRequest | undefined => {
  const scheme = unsupportedScheme(request.url)
  if (scheme !== undefined) {
    return new HttpFailure.InvalidRequest({
      ...requestInfo(request),
      reason: "MalformedUrl",
      detail: `the scheme "${scheme.slice(0, 32)}:" is not http or https`
    })
  }
  const headers = request.headers
  for (const name in headers) {
    if (!headerName.test(name)) {
      return new HttpFailure.InvalidRequest({
        ...requestInfo(request),
        reason: "InvalidHeader",
        detail: `header name "${name.replace(/[\r\n]/g, " ")}" is not a token`
      })
    }
    if (forbiddenInValue.test(headers[name])) {
      return new HttpFailure.InvalidRequest({
        ...requestInfo(request),
        reason: "InvalidHeader",
        detail: `header "${name}" contains CR, LF or NUL`
      })
    }
  }
  return undefined
}

// -----------------------------------------------------------------------------
// body
// -----------------------------------------------------------------------------

// One header of the response: a ClientResponse (Sturdy's transport) finds it without building every header.
const headerOf = (response: HttpClientResponse.HttpClientResponse, name: string): string | undefined =>
  response instanceof clientResponse.Class ? response.header(name) : response.headers[name]

const declaredLength = (response: HttpClientResponse.HttpClientResponse): number | undefined => {
  const value = headerOf(response, "content-length")
  if (value === undefined) return undefined
  const length = Number(value)
  return Number.isSafeInteger(length) && length >= 0 ? length : undefined
}

/** @internal */
export const hasNoBody = (request: HttpClientRequest.HttpClientRequest, status: number): boolean =>
  request.method === "HEAD" || status === 204 || status === 304 || (status >= 100 && status < 200)

const emptyBody = new Uint8Array(0)

/**
 * @internal Reads one chunk at most and then lets the stream's finalizer close the body, freeing the connection; a
 * body that sends nothing within the discard cap is closed then (see `discardChunk`).
 */
export const discard: (response: HttpClientResponse.HttpClientResponse) => Effect.Effect<void> = discardChunk

/** @internal */
export const truncated = (
  request: HttpClientRequest.HttpClientRequest,
  response: HttpClientResponse.HttpClientResponse,
  cause: unknown,
  receivedBytes: number | undefined,
  expectedBytes: number | undefined
) =>
  new HttpFailure.BodyTruncated({
    ...responseInfo(request, response),
    receivedBytes,
    expectedBytes,
    cause: sanitizeCause(cause, secretsOf(request, response))
  })

/** @internal A body read failed: undici names its own body timeout and size cap; anything else cut the body short. */
export const bodyReadFailure = (
  request: HttpClientRequest.HttpClientRequest,
  response: HttpClientResponse.HttpClientResponse,
  limit: number,
  cause: unknown,
  receivedBytes: number | undefined,
  expectedBytes: number | undefined
): BodyReadFailure => {
  // the transport enforced the attempt's deadline while the body was on its way
  if (isDeadlineExceeded(cause)) return deadlineTimeout(cause, request)
  const code = findCode(cause)
  if (code === "UND_ERR_BODY_TIMEOUT") {
    return new HttpFailure.Timeout({ ...requestInfo(request), phase: "BodyRead", timeout: transportLimit(cause, code) })
  }
  if (code === "UND_ERR_RES_EXCEEDED_MAX_SIZE") return tooLarge(request, response, limit, expectedBytes)
  if (code !== undefined && isCorruptEncoding(code)) {
    return new HttpFailure.BodyUndecodable({
      ...responseInfo(request, response),
      contentEncoding: headerOf(response, "content-encoding")?.trim().toLowerCase() ?? failedCoding(cause, code),
      cause: sanitizeCause(cause, secretsOf(request, response))
    })
  }
  return truncated(request, response, cause, receivedBytes, expectedBytes)
}

// A transport that decodes and then removes `Content-Encoding` (`@sturdy/node`'s) names the coding that failed on its
// error as `contentEncoding`.
const failedCoding = (cause: unknown, code: string): string => {
  const coding = (withCode(cause, code) as { readonly contentEncoding?: unknown } | undefined)?.contentEncoding
  return typeof coding === "string" ? coding : ""
}

// A decompressor's word that the data itself is wrong, not cut short: zlib's `Z_DATA_ERROR` (and a deflate stream
// that asks for a dictionary), Brotli's format errors, zstd's corruption. Cut-short data (`Z_BUF_ERROR`, "unexpected
// end of file") is a truncation, which a retry may mend.
const isCorruptEncoding = (code: string): boolean =>
  code === "Z_DATA_ERROR" || code === "Z_NEED_DICT" || code.startsWith("ERR__ERROR_FORMAT_") ||
  code === "ZSTD_error_corruption_detected" || code === "ZSTD_error_prefix_unknown" ||
  code === "ZSTD_error_checksum_wrong"

/** @internal */
export const tooLarge = (
  request: HttpClientRequest.HttpClientRequest,
  response: HttpClientResponse.HttpClientResponse,
  limitBytes: number,
  declaredBytes: number | undefined
) => new HttpFailure.BodyTooLarge({ ...responseInfo(request, response), limitBytes, declaredBytes })

/** @internal */
export type BodyReadFailure =
  | HttpFailure.BodyTruncated
  | HttpFailure.BodyUndecodable
  | HttpFailure.BodyTooLarge
  | HttpFailure.Timeout

/** @internal */
export const readBounded = (
  request: HttpClientRequest.HttpClientRequest,
  response: HttpClientResponse.HttpClientResponse,
  limit: number
): Effect.Effect<Uint8Array, BodyReadFailure> => {
  if (hasNoBody(request, response.status)) return Effect.succeed(emptyBody)
  const declared = declaredLength(response)
  if (declared !== undefined && declared > limit) {
    return Effect.zipRight(discard(response), Effect.fail(tooLarge(request, response, limit, declared)))
  }
  // Content-Length counts the bytes sent. A transport that decompresses (fetch) hands over more than that, so an
  // encoded body is read as a counted stream: a small compressed body can inflate past any limit. Sturdy's own
  // transport never decompresses.
  if (
    declared !== undefined &&
    (response instanceof clientResponse.Class || headerOf(response, "content-encoding") === undefined)
  ) {
    // Content-Length bounds the read: one buffer, no stream.
    const checked = (bytes: Uint8Array): Exit.Exit<Uint8Array, BodyReadFailure> => {
      if (bytes.byteLength > limit) return Exit.fail(tooLarge(request, response, limit, declared))
      // A decoded (decompressed) body legitimately differs from the declared length.
      if (bytes.byteLength < declared && headerOf(response, "content-encoding") === undefined) {
        return Exit.fail(truncated(request, response, undefined, bytes.byteLength, declared))
      }
      return Exit.succeed(bytes)
    }
    // a ClientResponse (Sturdy's transport) hands over its own buffer: no copy, and no Effect step once it arrived
    const whole = response instanceof clientResponse.Class
      ? response.bytes
      : Effect.map(response.arrayBuffer, (buffer) => new Uint8Array(buffer))
    if (Exit.isExit(whole) && whole._tag === "Success") return checked(whole.value as Uint8Array)
    return Effect.flatMap(
      Effect.mapError(
        whole,
        (error) => bodyReadFailure(request, response, limit, error.cause, receivedBytesOf(error.cause), declared)
      ),
      checked
    )
  }
  return readStreamed(request, response, limit, undefined, false)
}

/**
 * A body read chunk by chunk. Past `limit` bytes it fails with `BodyTooLarge`, or, with `keepStart` (an error body,
 * for its excerpt), stops reading and keeps the first `limit` bytes. `declared` is the length a cut body is measured
 * against (none for a body the transport decompresses).
 */
const readStreamed = (
  request: HttpClientRequest.HttpClientRequest,
  response: HttpClientResponse.HttpClientResponse,
  limit: number,
  declared: number | undefined,
  keepStart: boolean
): Effect.Effect<Uint8Array, BodyReadFailure> =>
  Effect.suspend(() => {
    const chunks: Array<Uint8Array> = []
    let total = 0
    return response.stream.pipe(
      Stream.runForEachWhile((bytes): Effect.Effect<boolean, BodyReadFailure> => {
        total += bytes.byteLength
        if (total > limit && !keepStart) return Effect.fail(tooLarge(request, response, limit, undefined))
        chunks.push(bytes)
        return Exit.succeed(!keepStart || total < limit)
      }),
      Effect.matchEffect({
        // a web response without a body (a null-body status such as 205, or a test's `new Response(null)`) has an
        // empty one, not one that broke off
        onFailure: (error) =>
          error._tag === "ResponseError" && error.reason === "EmptyBody" && total === 0
            ? Exit.succeed(emptyBody)
            : Effect.fail(
              error._tag === "ResponseError"
                ? bodyReadFailure(request, response, limit, error.cause, total, declared)
                : error
            ),
        onSuccess: () => {
          const body = concat(chunks, total)
          return Exit.succeed(body.byteLength > limit ? body.subarray(0, limit) : body)
        }
      })
    )
  })

/**
 * An error body, for its excerpt and payload: read whole when it fits the limit, and otherwise its first `limit`
 * bytes (reading then stops and the connection is freed), so a large error page still shows how it starts.
 */
const readErrorBody = (
  request: HttpClientRequest.HttpClientRequest,
  response: HttpClientResponse.HttpClientResponse,
  limit: number
): Effect.Effect<Uint8Array, BodyReadFailure> => {
  if (hasNoBody(request, response.status)) return Effect.succeed(emptyBody)
  const declared = declaredLength(response)
  if (limit === 0 || (declared !== undefined && declared <= limit)) return readBounded(request, response, limit)
  return readStreamed(request, response, limit, declared, true)
}

/**
 * The chunks joined into one new array of `total` bytes, a copy even of a single chunk: a cache entry or a download
 * must not hold a view into a transport's buffer, which may be pooled or reused.
 * @internal
 */
export const concatBytes = (chunks: Iterable<Uint8Array>, total: number): Uint8Array<ArrayBuffer> => {
  const out = new Uint8Array(total)
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.byteLength
  }
  return out
}

// A body read in one chunk is handed over as it is: the response owns it and nothing else reads it.
const concat = (chunks: ReadonlyArray<Uint8Array>, total: number): Uint8Array =>
  chunks.length === 1 ? chunks[0] : concatBytes(chunks, total)

const withBodyTimeout = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  request: HttpClientRequest.HttpClientRequest,
  bodyTimeout: Duration.DurationInput | undefined
): Effect.Effect<A, E | HttpFailure.Timeout, R> =>
  // a body that has already arrived (an `Exit`) has nothing left to time. The read is interruptible even under the
  // caller's mask: inheriting the mask, it would ignore the timeout and the attempt would wait on a stalled body for
  // ever. Only the timeout interrupts it: under a mask it runs in a fiber of its own (`shieldedFromCaller`), or an
  // interruption from outside, which the caller holds off, would reach it through the timeout's fiber
  bodyTimeout === undefined || Exit.isExit(effect) ? effect : shieldedFromCaller(
    Effect.timeoutFail(Effect.interruptible(effect), {
      duration: bodyTimeout,
      onTimeout: () =>
        new HttpFailure.Timeout({ ...requestInfo(request), phase: "BodyRead", timeout: Duration.decode(bodyTimeout) })
    })
  )

// -----------------------------------------------------------------------------
// status
// -----------------------------------------------------------------------------

// Redaction runs before the cut: a secret the cut split would no longer match whole, and its first part would stay.
// The text redacted is bounded, so a large body costs no more than this.
const excerptWindowBytes = excerptBytes + 16 * 1024

const excerpt = (body: Uint8Array, secrets: ReadonlyArray<string>): string =>
  cutToExcerpt(
    redaction.redactText(
      utf8.decode(body.byteLength > excerptWindowBytes ? body.subarray(0, excerptWindowBytes) : body),
      secrets
    )
  )

/** @internal The excerpt of a body, redacted of the request's secrets, as a failure carries it. */
export const bodyExcerpt = (
  request: HttpClientRequest.HttpClientRequest,
  response: HttpClientResponse.HttpClientResponse,
  body: Uint8Array
): string => excerpt(body, secretsOf(request, response))

const utf8Encoder = new TextEncoder()

/** The text's first `excerptBytes` bytes, without a character or a `<redacted>` the cut would split. */
const cutToExcerpt = (text: string): string => {
  // a UTF-16 unit is at most three bytes of UTF-8
  if (text.length * 3 <= excerptBytes) return text
  const bytes = utf8Encoder.encode(text)
  if (bytes.byteLength <= excerptBytes) return text
  let cut = utf8.decode(bytes.subarray(0, excerptBytes))
  if (cut.endsWith("\uFFFD")) cut = cut.slice(0, -1)
  const open = cut.lastIndexOf("<")
  if (
    open !== -1 && cut.length - open < redaction.placeholder.length && redaction.placeholder.startsWith(cut.slice(open))
  ) {
    cut = cut.slice(0, open)
  }
  return cut
}

/**
 * The body as JSON text: UTF-8 (RFC 8259 §8.1: JSON exchanged between systems is UTF-8, and `application/json`
 * defines no charset), whatever charset the Content-Type declares; a leading BOM is dropped. `text` is the body
 * decoded with replacement characters: a U+FFFD in it is either the body's own (sent as valid UTF-8) or a byte that
 * is not UTF-8, and only then are the bytes checked, so a body in another charset (an ISO-8859-1 "café") fails with
 * `InvalidJson` instead of decoding into text it never said.
 */
const jsonText = (
  body: Uint8Array,
  text: string,
  response: HttpClientResponse.HttpClientResponse | undefined
): string => {
  if (!text.includes("\uFFFD")) return text
  try {
    strictUtf8.decode(body)
    return text
  } catch {
    const charset = response === undefined ? undefined : declaredCharset(response)
    throw new SyntaxError(
      `body is not valid UTF-8${
        charset === undefined || charset === "utf-8" || charset === "utf8" ? "" : ` (Content-Type declares ${charset})`
      }`
    )
  }
}

/** The `charset` parameter of the Content-Type, lower-cased and reduced to the characters a charset name has. */
const declaredCharset = (response: HttpClientResponse.HttpClientResponse): string | undefined => {
  const match = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(headerOf(response, "content-type") ?? "")
  const name = match?.[1].toLowerCase().replace(/[^\w.:+-]/g, "").slice(0, 40)
  return name === undefined || name === "" ? undefined : name
}

// The payload is redacted as the excerpt is: a server that echoes the token it was sent must not put it in a failure
// that gets logged. Redacting the parsed value, not the text, finds a secret however the JSON escaped it.
const decodePayload = (
  body: Uint8Array,
  errorSchema: Schema.Schema.AnyNoContext | undefined,
  maxDepth: number,
  secrets: ReadonlyArray<string>
): Option.Option<unknown> => {
  if (errorSchema === undefined || body.byteLength === 0 || jsonDepthExceeds(body, maxDepth)) return Option.none()
  try {
    const json = parseJson(jsonText(body, utf8.decode(body), undefined))
    return Schema.decodeUnknownOption(errorSchema)(redaction.redactJson(json, secrets))
  } catch {
    return Option.none()
  }
}

// -----------------------------------------------------------------------------
// hostile JSON
// -----------------------------------------------------------------------------

/** @internal */
export const defaultMaxJsonDepth = 512

/**
 * Whether the JSON text nests arrays and objects deeper than `max`: one pass over the bytes, skipping strings. A
 * body shorter than twice the limit cannot be that deep and parse, so it is not scanned.
 *
 * @internal
 */
export const jsonDepthExceeds = (bytes: Uint8Array, max: number): boolean => {
  if (bytes.byteLength <= 2 * max) return false
  let depth = 0
  let inString = false
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]
    if (inString) {
      if (byte === 0x5c) i++
      else if (byte === 0x22) inString = false
    } else if (byte === 0x22) {
      inString = true
    } else if (byte === 0x5b || byte === 0x7b) {
      if (++depth > max) return true
    } else if (byte === 0x5d || byte === 0x7d) {
      depth--
    }
  }
  return false
}

// `__proto__` written as is or with escaped letters (`\u005f\u005fproto__`)
const escapedProtoLetter = /\\u00(?:5f|6f|7[024])/i

const dropProto = (key: string, value: unknown): unknown => key === "__proto__" ? undefined : value

/**
 * `JSON.parse`, except that `__proto__` keys are dropped: `JSON.parse` makes them own properties, but code that
 * copies them with assignment (`Schema.Record`, spreads into `{}`) would set the copy's prototype.
 *
 * @internal
 */
export const parseJson = (text: string): unknown =>
  text.includes("__proto__") || (text.includes("\\u00") && escapedProtoLetter.test(text))
    ? JSON.parse(text, dropProto)
    : JSON.parse(text)

/** @internal */
export const statusFailure = (
  response: HttpClientResponse.HttpClientResponse,
  options: Attempt.Options,
  sizeSpan?: Tracer.Span | undefined
): Effect.Effect<HttpFailure.StatusFailure, HttpFailure.Timeout> => {
  const request = response.request
  const limit = Math.min(errorBodyLimit, options.maxBodyBytes ?? errorBodyLimit)
  const read = readErrorBody(request, response, limit)
  // The status already says what happened: an error body that cannot be read, or that stalls past the body timeout
  // (the transport's or `bodyTimeout`), leaves the excerpt empty but keeps the status and its Retry-After. The
  // attempt's timeout and the deadline end it as a `Timeout`, as they end any attempt: a transport that does not
  // enforce them has the whole exchange interrupted, and the outcome must not depend on the transport.
  return Effect.catchAll(
    withBodyTimeout(
      // its size, when it was read to its end: shorter than the limit (a longer one is cut at it)
      sizeSpan === undefined ? read : Effect.tap(read, (body) => {
        if (body.byteLength < limit) recordBodySize(sizeSpan, request, response, body)
      }),
      request,
      options.bodyTimeout
    ),
    (failure) =>
      failure._tag === "Timeout" && failure.phase !== "BodyRead" ? Effect.fail(failure) : Effect.succeed(emptyBody)
  ).pipe(
    Effect.zipWith(Clock.currentTimeMillis, (body, now): HttpFailure.StatusFailure => {
      const status = response.status
      const secrets = secretsOf(request, response)
      const fields = {
        ...responseInfo(request, response),
        bodyExcerpt: excerpt(body, secrets),
        payload: decodePayload(body, options.errorSchema, options.maxJsonDepth ?? defaultMaxJsonDepth, secrets)
      }
      if (status === 429) {
        return new HttpFailure.RateLimited({
          ...fields,
          retryAfter: retryHeaders.limitedRetryAfter(response.headers, now)
        })
      }
      if (status >= 500 && status <= 599) {
        const retryAfter = status === 503
          ? retryHeaders.limitedRetryAfter(response.headers, now)
          : RetryHeaders.retryAfter(response.headers, now)
        return new HttpFailure.ServerError({ ...fields, retryAfter })
      }
      if (status >= 400 && status <= 499) return new HttpFailure.ClientError(fields)
      return new HttpFailure.UnexpectedStatus(fields)
    })
  )
}

// -----------------------------------------------------------------------------
// the attempt
// -----------------------------------------------------------------------------

class ReceivedImpl implements Attempt.Received {
  readonly body: Uint8Array<ArrayBuffer>
  constructor(
    readonly request: HttpClientRequest.HttpClientRequest,
    readonly response: HttpClientResponse.HttpClientResponse,
    body: Uint8Array
  ) {
    this.body = ownBuffer(body)
  }
  get status(): number {
    return this.response.status
  }
  get headers(): Headers.Headers {
    return this.response.headers
  }
  private decodedText: string | undefined
  get text(): string {
    return this.decodedText ??= utf8.decode(this.body)
  }
  toJSON() {
    return {
      _id: "@sturdy/http/Attempt/Received",
      method: this.request.method,
      url: redaction.redactRequestUrl(this.request),
      status: this.status,
      headers: redaction.redactHeaders(this.headers, secretsOf(this.request, this.response)),
      bodyBytes: this.body.byteLength
    }
  }
}

// A body on a plain `ArrayBuffer`, as Web APIs under TypeScript 5.7+ ask for (`new Blob([body])`,
// `crypto.subtle.digest`): every transport hands one over; a view of shared memory would be copied.
const ownBuffer = (bytes: Uint8Array): Uint8Array<ArrayBuffer> =>
  bytes.buffer instanceof ArrayBuffer ? bytes as Uint8Array<ArrayBuffer> : new Uint8Array(bytes)

/** @internal */
export const contentTypeMatches = (contentType: string, expected: ReadonlyArray<string>): boolean => {
  const first = expected[0]
  // the usual answer, `application/json; charset=utf-8`, is matched without building the lower-cased media type; a
  // space or a tab after the type is read below, where only parameters may follow it (`application/json foo` is no
  // JSON type, whichever entry of the list names `application/json`). The shortcut decides only what the full reading
  // below would, so the order of the list never matters: an entry with parameters is left to it.
  if (!first.includes(";")) {
    if (contentType === first) return true
    if (
      contentType.length > first.length && contentType.charCodeAt(first.length) === 0x3b &&
      contentType.startsWith(first)
    ) return true
  }
  const media = contentType.split(";", 1)[0].trim().toLowerCase()
  const whole = contentType.trim().toLowerCase()
  for (const entry of expected) {
    const wanted = entry.toLowerCase()
    // an entry with parameters (`application/json; charset=utf-8`) matches that Content-Type as written
    if (wanted === media || wanted === "*/*" || wanted === whole) return true
    if (wanted.startsWith("+") && media.endsWith(wanted)) return true
    if (wanted.endsWith("/*") && media.startsWith(wanted.slice(0, -1))) return true
  }
  return false
}

const withAttemptTimeout = <A, R>(
  effect: Effect.Effect<A, HttpFailure.HttpFailure, R>,
  request: HttpClientRequest.HttpClientRequest,
  timeout: Duration.DurationInput | undefined
): Effect.Effect<A, HttpFailure.HttpFailure, R> =>
  timeout === undefined ?
    effect :
    withSendProgress((tracked, unsent) =>
      // interruptible even under the caller's mask: inheriting the mask, the attempt ignored the timeout and waited
      // for the response for ever. Only the timeout interrupts it: under a mask it runs in a fiber of its own
      // (`shieldedFromCaller`), or an interruption from outside, which the caller holds off, would reach it
      shieldedFromCaller(Effect.timeoutFail(Effect.interruptible(Effect.disconnect(tracked(effect))), {
        duration: timeout,
        onTimeout: () => timeoutOf(request, "Attempt", Duration.decode(timeout), unsent())
      }))
    )

/** @internal */
export const inheritDeadlineEnforcement = <C extends HttpClient.HttpClient.With<any, any>>(
  from: HttpClient.HttpClient.With<any, any>,
  to: C
): C => Deadline.isEnforcedBy(from) ? Deadline.declareEnforcement(to) : to

/** What an attempt does with the response once sent: `selfEnforcing` says the transport enforces the limit itself. */
type Exchange<A, R, RX> = (
  response: Effect.Effect<
    HttpClientResponse.HttpClientResponse,
    HttpClientError.HttpClientError | HttpFailure.HttpFailure,
    R
  >,
  selfEnforcing: boolean,
  /** the span a body read to its end reports its size to (`http.response.body.size`); none without a tracer */
  sizeSpan: Tracer.Span | undefined
) => Effect.Effect<A, HttpFailure.HttpFailure, R | RX>

/**
 * Runs one exchange under the attempt's limit: `timeout`, or what is left of the current deadline if sooner, and
 * a deadline that no timer enforces yet (`Deadline.establish`, a `Policy`) even without a `timeout`. A transport
 * that enforces deadlines itself, given a request ready at once, is left to do so: no fiber, no timer of ours.
 */
const timed = <A, R, RX>(
  client: Attempt.Client<R>,
  request: HttpClientRequest.HttpClientRequest,
  timeout: Duration.DurationInput | undefined,
  exchange: Exchange<A, R, RX>
): Effect.Effect<A, HttpFailure.HttpFailure, R | RX> => {
  const invalid = validateRequest(request)
  if (invalid !== undefined) return Effect.fail(invalid)
  return Effect.withFiberRuntime((fiber) => {
    if (!redactedSpan.isSpanned(fiber, request)) {
      // under `Telemetry.attempt` its span (a client span) is the one the body's size goes on
      return timedExchange(fiber, client, request, timeout, exchange, observe.bodySizeSpan(fiber))
    }
    // under a tracer, the platform's client span (raw URL, raw transport error) is replaced by a redacted one
    return redactedSpan.withRedactedSpanIn(fiber, request, (sent, record, span) =>
      timedExchange(
        fiber,
        client,
        sent,
        timeout,
        record === undefined ? exchange : (response, selfEnforcing, sizeSpan) =>
          exchange(
            Effect.tap(response, (response) => {
              record(response)
            }),
            selfEnforcing,
            sizeSpan
          ),
        span
      ))
  })
}

const timedExchange = <A, R, RX>(
  fiber: Fiber.RuntimeFiber<unknown, unknown>,
  client: Attempt.Client<R>,
  request: HttpClientRequest.HttpClientRequest,
  timeout: Duration.DurationInput | undefined,
  exchange: Exchange<A, R, RX>,
  sizeSpan: Tracer.Span | undefined
): Effect.Effect<A, HttpFailure.HttpFailure, R | RX> => {
  let selfEnforcing = false
  let response: Effect.Effect<
    HttpClientResponse.HttpClientResponse,
    HttpClientError.HttpClientError | HttpFailure.HttpFailure,
    R
  >
  if (hasProcessing(client) && Deadline.isEnforcedBy(client)) {
    const prepared = client.preprocess(request)
    // a request step that may wait (`mapRequestEffect`) is not the transport's to bound
    selfEnforcing = Exit.isExit(prepared)
    response = client.postprocess(prepared)
  } else {
    response = client.execute(request)
  }
  // With no timeout of its own, an attempt on a transport that enforces the limit in force has nothing to add while
  // that limit has not passed yet (the transport fails it with the limit's own error); otherwise the limit is applied
  // here, by the transport or by a timer.
  if (timeout === undefined && selfEnforcing) {
    const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
    if (
      Deadline.isLiveClock(clock) &&
      fiber.getFiberRef(Deadline.currentLimit).at > clock.unsafeCurrentTimeMillis()
    ) return exchange(response, true, sizeSpan)
  }
  const limited = (tracked: Tracked, unsent: () => false | undefined) =>
    Effect.catchIf(
      // disconnected: the caller gets Timeout on time even from a transport that ignores interruption, whose request
      // is then interrupted in the background
      Deadline.attemptTimeout(tracked(exchange(response, selfEnforcing, sizeSpan)), timeout ?? Duration.infinity, {
        selfEnforcing,
        disconnect: true
      }),
      isDeadlineExceeded,
      (error) => Effect.fail(deadlineTimeout(error, request, unsent()))
    )
  // a transport that enforces the limit under the live Clock says itself whether it wrote the request; around any
  // other, a timer fires, and the transport reports its progress for the timer's failure
  return selfEnforcing && Deadline.isLiveClock(Context.get(fiber.currentDefaultServices, Clock.Clock))
    ? limited(untracked, unknownProgress)
    : withSendProgress(limited)
}

/** @internal Runs an effect with the progress its transport reports in. */
export type Tracked = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>

const untracked: Tracked = (effect) => effect
const unknownProgress = (): undefined => undefined

const receive = <A, R, RX>(
  response: Effect.Effect<
    HttpClientResponse.HttpClientResponse,
    HttpClientError.HttpClientError | HttpFailure.HttpFailure,
    R
  >,
  request: HttpClientRequest.HttpClientRequest,
  options: Attempt.Options,
  expectedContentTypes: ReadonlyArray<string> | undefined,
  then: (received: Attempt.Received) => Effect.Effect<A, HttpFailure.HttpFailure, RX>,
  sizeSpan?: Tracer.Span | undefined
): Effect.Effect<A, HttpFailure.HttpFailure, R | RX> =>
  // one step for both outcomes: `fromClientError` always fails, so this is `catchAll` then `flatMap`
  Effect.matchEffect(response, {
    onFailure: fromClientError,
    onSuccess: (response): Effect.Effect<A, HttpFailure.HttpFailure, RX> => {
      const status = response.status
      if (status < 200 || status >= 300) {
        return Effect.flatMap(statusFailure(response, options, sizeSpan), Effect.fail)
      }
      if (expectedContentTypes !== undefined && expectedContentTypes.length > 0) {
        const contentType = headerOf(response, "content-type")
        // an answer without content by definition (204, 205, to a HEAD) has no body its type could describe
        if (
          contentType !== undefined && !contentTypeMatches(contentType, expectedContentTypes) &&
          !hasNoBody(request, status) && status !== 205
        ) {
          return Effect.zipRight(
            discard(response),
            Effect.fail(
              new HttpFailure.UnexpectedContentType({
                ...responseInfo(request, response),
                contentType: contentType.replace(/[\r\n]/g, " "),
                expected: expectedContentTypes
              })
            )
          )
        }
      }
      const body = withBodyTimeout(
        readBounded(request, response, options.maxBodyBytes ?? defaultMaxBodyBytes),
        request,
        options.bodyTimeout
      )
      // a body that has already arrived goes on at once, without a step of its own
      if (Exit.isExit(body)) {
        const read = body as Exit.Exit<Uint8Array, HttpFailure.HttpFailure>
        if (read._tag === "Failure") return Exit.failCause(read.cause)
        if (sizeSpan !== undefined) recordBodySize(sizeSpan, request, response, read.value)
        return then(new ReceivedImpl(request, response, read.value))
      }
      return Effect.flatMap(body, (bytes) => {
        if (sizeSpan !== undefined) recordBodySize(sizeSpan, request, response, bytes)
        return then(new ReceivedImpl(request, response, bytes))
      })
    }
  })

const received = (received: Attempt.Received): Effect.Effect<Attempt.Received> => Exit.succeed(received)

/**
 * `http.response.body.size` of a body read to its end: none is sent for a HEAD, a 204, a 304 (whatever their
 * `Content-Length` says of the representation), so 0; otherwise the bytes on the wire (`observe.responseBodySize`).
 */
const recordBodySize = (
  span: Tracer.Span,
  request: HttpClientRequest.HttpClientRequest,
  response: HttpClientResponse.HttpClientResponse,
  body: Uint8Array
): void => {
  if (hasNoBody(request, response.status)) span.attribute("http.response.body.size", 0)
  else observe.recordResponseBodySize(span, response, body.byteLength)
}

/** @internal */
export const send = <R>(
  client: Attempt.Client<R>,
  input: HttpClientRequest.HttpClientRequest,
  options?: Attempt.Options
): Effect.Effect<Attempt.Received, HttpFailure.HttpFailure, R> => {
  if (options === undefined) return sendChecked(client, input, unchecked)
  const checked = checkOptions(options)
  return checked instanceof InvalidOptions
    ? Effect.fail(invalidOptions(withoutFragment(input), checked))
    : sendChecked(client, input, checked)
}

/** @internal `send` on options `checkOptions` has checked. */
export const sendChecked = <R>(
  client: Attempt.Client<R>,
  input: HttpClientRequest.HttpClientRequest,
  options: Checked
): Effect.Effect<Attempt.Received, HttpFailure.HttpFailure, R> => {
  const request = withoutFragment(input)
  return timed(
    client,
    request,
    options.timeout,
    (response, _, sizeSpan) => receive(response, request, options, options.expectedContentTypes, received, sizeSpan)
  )
}

// Statuses whose response may not carry a body (the Fetch standard's null body statuses).
const nullBodyStatuses: ReadonlySet<number> = new Set([101, 103, 204, 205, 304])

/**
 * One attempt of a call that an `HttpCache` answers (a `SturdyClient` with `cache`): a 2xx or a 304 (the answer to
 * the cache's revalidation, a success of the upstream) comes back over its body, read as `send` reads it (bounded by
 * `maxBodyBytes`, under `bodyTimeout` and the attempt's limit: a body cut short fails the attempt, to be retried), with
 * the length read as its `Content-Length`, so that the cache stores it at once. Any other status fails as `send`'s
 * does. The type, the JSON and the schema are checked on the cache's answer (`receiveAnswer`), stored or not.
 * @internal
 */
export const sendBuffered = <R>(
  client: Attempt.Client<R>,
  input: HttpClientRequest.HttpClientRequest,
  options: Checked
): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpFailure.HttpFailure, R> => {
  const request = withoutFragment(input)
  return timed(client, request, options.timeout, (response, _, sizeSpan) =>
    Effect.matchEffect(response, {
      onFailure: fromClientError,
      onSuccess: (response): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpFailure.HttpFailure> => {
        const status = response.status
        if (status !== 304 && (status < 200 || status >= 300)) {
          return Effect.flatMap(statusFailure(response, options, sizeSpan), Effect.fail)
        }
        return Effect.map(
          withBodyTimeout(
            readBounded(request, response, options.maxBodyBytes ?? defaultMaxBodyBytes),
            request,
            options.bodyTimeout
          ),
          (body) => {
            if (sizeSpan !== undefined) recordBodySize(sizeSpan, request, response, body)
            const headers = new globalThis.Headers(Object.entries(response.headers))
            // a HEAD's Content-Length is the representation's, not the (absent) body's
            if (!hasNoBody(request, status)) headers.set("content-length", String(body.byteLength))
            return HttpClientResponse.fromWeb(
              response.request,
              new Response(nullBodyStatuses.has(status) || body.byteLength === 0 ? null : ownBuffer(body), {
                status,
                headers
              })
            )
          }
        )
      }
    }))
}

/**
 * What `sendChecked` (no `schema`) or `jsonChecked` make of a response they did not send (an `HttpCache`'s answer,
 * fresh, stale, revalidated or new): its status classified, its type checked, its body read and decoded.
 * @internal
 */
export const receiveAnswer = <A, I, R>(
  request: HttpClientRequest.HttpClientRequest,
  response: HttpClientResponse.HttpClientResponse,
  options: Checked,
  schema: Schema.Schema<A, I, R> | undefined
): Effect.Effect<A | Attempt.Received, HttpFailure.HttpFailure, R> =>
  schema === undefined
    ? receive(Exit.succeed(response), request, options, options.expectedContentTypes, received)
    : receive(
      Exit.succeed(response),
      request,
      options,
      options.expectedContentTypes ?? defaultJsonContentTypes,
      (received) => decodeChecked(received, schema, options.maxJsonDepth ?? defaultMaxJsonDepth)
    )

/** @internal The most issues a `SchemaMismatch` lists: the first ones, in the parser's order. */
export const maxSchemaIssues = 100

/**
 * A body larger than this is checked against the schema only up to its first problem. Every issue of a large body
 * would cost seconds and hundreds of MB for what a caller reads the first few of: an API that changed one field's
 * type answers a 2 MB list with as many problems as items.
 *
 * @internal
 */
export const allIssuesBodyLimit = 256 * 1024

interface IssueBudget {
  left: number
}

/** The issue tree with at most `budget.left` leaves, the first ones; `undefined` when none are left. */
const pruneIssue = (issue: ParseResult.ParseIssue, budget: IssueBudget): ParseResult.ParseIssue | undefined => {
  if (budget.left <= 0) return undefined
  switch (issue._tag) {
    case "Composite": {
      if (!Array.isArray(issue.issues)) {
        const only = pruneIssue(issue.issues as ParseResult.ParseIssue, budget)
        return only === undefined ? undefined : only === issue.issues ? issue : new ParseResult.Composite(
          issue.ast,
          issue.actual,
          only,
          issue.output
        )
      }
      const children = issue.issues as ReadonlyArray<ParseResult.ParseIssue>
      const kept: Array<ParseResult.ParseIssue> = []
      for (const child of children) {
        const pruned = pruneIssue(child, budget)
        if (pruned === undefined) break
        kept.push(pruned)
      }
      if (kept.length === 0) return undefined
      return kept.length === children.length && kept.every((child, i) => child === children[i])
        ? issue
        : new ParseResult.Composite(issue.ast, issue.actual, kept as [ParseResult.ParseIssue], issue.output)
    }
    case "Pointer": {
      const inner = pruneIssue(issue.issue, budget)
      return inner === undefined ? undefined : inner === issue.issue
        ? issue
        : new ParseResult.Pointer(issue.path, issue.actual, inner)
    }
    case "Refinement": {
      const inner = pruneIssue(issue.issue, budget)
      return inner === undefined ? undefined : inner === issue.issue
        ? issue
        : new ParseResult.Refinement(issue.ast, issue.actual, issue.kind, inner)
    }
    case "Transformation": {
      const inner = pruneIssue(issue.issue, budget)
      return inner === undefined ? undefined : inner === issue.issue
        ? issue
        : new ParseResult.Transformation(issue.ast, issue.actual, issue.kind, inner)
    }
    default:
      budget.left--
      return issue
  }
}

/** @internal The error's first `maxSchemaIssues` issues, formatted; the rest are not looked at. */
export const schemaIssues = (
  error: ParseResult.ParseError,
  secrets?: ReadonlyArray<string>
): ReadonlyArray<HttpFailure.SchemaIssue> =>
  ParseResult.ArrayFormatter.formatIssueSync(
    pruneIssue(error.issue, { left: maxSchemaIssues }) ?? error.issue
  ).slice(0, maxSchemaIssues).map((issue) => ({
    path: formatPath(issue.path),
    // "Expected X, actual <value>": the value may be a secret the caller sent or the server echoed
    message: redaction.redactText(issue.message.replace(/, actual [\s\S]*$/, ""), secrets)
  }))

const identifier = /^[A-Za-z_$][A-Za-z0-9_$]*$/

const formatPath = (path: ReadonlyArray<PropertyKey>): string => {
  let out = "$"
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`
    else if (typeof key === "string" && identifier.test(key)) out += `.${key}`
    else out += `[${JSON.stringify(String(key))}]`
  }
  return out
}

// V8 quotes the start of the text it could not parse (`Unexpected token 'S', "S-3cr3t-to"... is not valid JSON`):
// a secret cut short there no longer matches whole, so the quote goes; the excerpt shows the body, redacted.
const quotedText = /"[\s\S]*"(?:\.\.\.)?\s*(?=is not valid JSON)/

const parseErrorDetail = (error: unknown): string => {
  const message = error instanceof Error ? error.message : String(error)
  return message.replace(quotedText, "the body ")
}

/** @internal */
export const decodeJson = <A, I, R>(
  received: Attempt.Received,
  schema: Schema.Schema<A, I, R>,
  options?: Pick<Attempt.Options, "maxJsonDepth">
): Effect.Effect<A, HttpFailure.InvalidJson | HttpFailure.SchemaMismatch, R> => {
  const maxDepth = options?.maxJsonDepth
  if (maxDepth === undefined) return decodeChecked(received, schema, defaultMaxJsonDepth)
  // the body is already here, so no request failure fits: a bad limit is the caller's defect, named as such
  const problems: Array<OptionProblem> = []
  checkCount("maxJsonDepth", maxDepth, problems)
  return problems.length === 0
    ? decodeChecked(received, schema, maxDepth)
    : Effect.die(new RangeError(`Attempt.decodeJson: ${new InvalidOptions(problems).detail}`))
}

const decodeChecked = <A, I, R>(
  received: Attempt.Received,
  schema: Schema.Schema<A, I, R>,
  maxDepth: number
): Effect.Effect<A, HttpFailure.InvalidJson | HttpFailure.SchemaMismatch, R> => {
  let json: unknown
  try {
    if (received.body.byteLength === 0) {
      // No Content, Reset Content (RFC 9110 §15.3.6: never any content) and a HEAD answer have no body by definition:
      // the schema decides (`Schema.Void` accepts it), as got and ky hand over an empty value; any other empty body
      // is not JSON.
      if (!hasNoBody(received.request, received.status) && received.status !== 205) {
        throw new SyntaxError("empty body")
      }
      json = undefined
    } else {
      if (jsonDepthExceeds(received.body, maxDepth)) {
        throw new SyntaxError(`nested deeper than ${maxDepth} levels (maxJsonDepth)`)
      }
      json = parseJson(jsonText(received.body, received.text, received.response))
    }
  } catch (error) {
    const secrets = secretsOf(received.request, received.response)
    return Effect.fail(
      new HttpFailure.InvalidJson({
        ...responseInfo(received.request, received.response),
        detail: stillEncoded(received) ?? redaction.redactText(parseErrorDetail(error), secrets),
        bodyExcerpt: excerpt(received.body, secrets)
      })
    )
  }
  let decoded: Effect.Effect<A, ParseResult.ParseError, R>
  try {
    decoded = decoderOf(schema)(json)
  } catch (error) {
    // a recursive schema over deep data can still exhaust the stack: a failure, never a defect
    return Effect.fail(tooDeepToDecode(received, error))
  }
  // a synchronous schema answers with an Either: its success stays an Exit, so callers can tell nothing waits
  if (Either.isEither(decoded) && Either.isRight(decoded)) return Exit.succeed(decoded.right as A)
  return Effect.catchAll(decoded, (firstError) =>
    // the first issue stops a decode; every issue is wanted only for the failure, so the failure decodes again (a
    // small body: the issues of a large one would cost more than they tell)
    received.body.byteLength > allIssuesBodyLimit
      ? Effect.fail(schemaMismatch(received, firstError))
      : Effect.matchEffect(Schema.decodeUnknown(schema, { errors: "all" })(json), {
        onFailure: (all) => Effect.fail(schemaMismatch(received, all)),
        onSuccess: () => Effect.fail(schemaMismatch(received, firstError))
      })).pipe(
      Effect.catchSomeDefect((defect) =>
        defect instanceof RangeError ? Option.some(Effect.fail(tooDeepToDecode(received, defect))) : Option.none()
      )
    )
}

/** Whether the bytes are compressed data rather than text: the format's magic bytes, or a first byte no text has. */
const looksCompressed = (body: Uint8Array, encoding: string): boolean => {
  if (body.byteLength < 2) return false
  if (encoding.includes("gzip")) return body[0] === 0x1f && body[1] === 0x8b
  if (encoding.includes("zstd")) return body[0] === 0x28 && body[1] === 0xb5
  const first = body[0]
  // a zlib stream's header: 0x78 and a check making the first two bytes a multiple of 31
  if (encoding.includes("deflate") && first === 0x78 && (first * 256 + body[1]) % 31 === 0) return true
  // br and raw deflate have no magic bytes: text never starts with a control character or a byte that does not
  // begin UTF-8 (0x80 to 0xC1, 0xF5 and above)
  return (first < 0x20 && first !== 0x09 && first !== 0x0a && first !== 0x0d) || (first >= 0x80 && first < 0xc2) ||
    first >= 0xf5
}

/**
 * Why the body is not JSON when it arrived still compressed: a transport that does not decompress (undici's
 * dispatcher, `NodeHttpClient`, `@sturdy/node`'s `UndiciHttpClient`) hands over the bytes as sent, and a server may
 * compress without being asked. Said only when the header names an encoding and the bytes look compressed: a body
 * the transport did decompress (fetch) and that is not JSON (an HTML error page) keeps the parser's words.
 */
const stillEncoded = (received: Attempt.Received): string | undefined => {
  const encoding = headerOf(received.response, "content-encoding")?.trim().toLowerCase()
  if (encoding === undefined || encoding === "" || encoding === "identity") return undefined
  if (!looksCompressed(received.body, encoding)) return undefined
  return `body still compressed, Content-Encoding: ${
    encoding.replace(/[^\w ,.+-]/g, "").slice(0, 64)
  }; the transport did not decompress it`
}

const tooDeepToDecode = (received: Attempt.Received, error: unknown): HttpFailure.SchemaMismatch => {
  if (!(error instanceof RangeError)) throw error
  const issue = "too deeply nested to decode"
  return new HttpFailure.SchemaMismatch({
    ...responseInfo(received.request, received.response),
    path: "$",
    issue,
    issues: [{ path: "$", message: issue }]
  })
}

// Built once per schema: a decoder is a closure over the schema's compiled parser. A plain schema (structs, arrays,
// primitives, literals) is tried first with a plain decoder, which returns what the parser would; the parser decides
// whatever the plain decoder is unsure of, and so reports every issue in its own words.
const decoders = new WeakMap<Schema.Schema.Any, (u: unknown) => Effect.Effect<any, ParseResult.ParseError, any>>()

const decoderOf = <A, I, R>(
  schema: Schema.Schema<A, I, R>
): (u: unknown) => Effect.Effect<A, ParseResult.ParseError, R> => {
  let decoder = decoders.get(schema)
  if (decoder === undefined) {
    const parse = Schema.decodeUnknown(schema)
    const plain = plainDecoder.compile(schema.ast)
    decoder = plain === undefined ? parse : (u) => {
      const decoded = plain(u)
      return decoded === plainDecoder.unsure ? parse(u) : Either.right(decoded as A)
    }
    decoders.set(schema, decoder)
  }
  return decoder
}

const schemaMismatch = (received: Attempt.Received, error: ParseResult.ParseError): HttpFailure.SchemaMismatch => {
  let issues: ReadonlyArray<HttpFailure.SchemaIssue>
  try {
    issues = schemaIssues(error, secretsOf(received.request, received.response))
  } catch (defect) {
    return tooDeepToDecode(received, defect)
  }
  const first = issues[0] ?? { path: "$", message: "does not match" }
  return new HttpFailure.SchemaMismatch({
    ...responseInfo(received.request, received.response),
    path: first.path,
    issue: first.message,
    issues
  })
}

/** @internal */
export const json = <A, I, R, RC>(
  client: Attempt.Client<RC>,
  input: HttpClientRequest.HttpClientRequest,
  schema: Schema.Schema<A, I, R>,
  options?: Attempt.Options
): Effect.Effect<A, HttpFailure.HttpFailure, R | RC> => {
  if (options === undefined) return jsonChecked(client, input, schema, unchecked)
  const checked = checkOptions(options)
  return checked instanceof InvalidOptions
    ? Effect.fail(invalidOptions(withoutFragment(input), checked))
    : jsonChecked(client, input, schema, checked)
}

const jsonAccept = "application/json"

/**
 * The request with `Accept` naming what `json` takes (as ky and got send it for JSON): `application/json`, or the
 * full media types of `expectedContentTypes` (a suffix such as `+json` names none). A server that negotiates answers
 * JSON rather than its default (HTML, XML). An `Accept` the caller set is kept.
 */
/** @internal */
export const acceptingJson = (
  request: HttpClientRequest.HttpClientRequest,
  expected: ReadonlyArray<string> | undefined
): HttpClientRequest.HttpClientRequest => {
  if (request.headers["accept"] !== undefined) return request
  if (expected === undefined) return HttpClientRequest.setHeader(request, "accept", jsonAccept)
  const named = expected.filter((type) => type.includes("/"))
  return named.length === 0 ? request : HttpClientRequest.setHeader(request, "accept", named.join(", "))
}

/** @internal `json` on options `checkOptions` has checked. */
export const jsonChecked = <A, I, R, RC>(
  client: Attempt.Client<RC>,
  input: HttpClientRequest.HttpClientRequest,
  schema: Schema.Schema<A, I, R>,
  options: Checked
): Effect.Effect<A, HttpFailure.HttpFailure, R | RC> => {
  const request = acceptingJson(withoutFragment(input), options.expectedContentTypes)
  return timed(client, request, options.timeout, (response, selfEnforcing, sizeSpan) =>
    receive(
      response,
      request,
      options,
      options.expectedContentTypes ?? defaultJsonContentTypes,
      (received) => {
        const decoded = decodeChecked(received, schema, options.maxJsonDepth ?? defaultMaxJsonDepth)
        // The transport's timer ends with the body: a schema that waits (an effectful transformation) runs under
        // a timer of what is left of the attempt's limit (for an attempt timeout established around the attempt,
        // counted from the decode's start), as it would under the attempt's own timer on another transport.
        return selfEnforcing && !Exit.isExit(decoded)
          ? Effect.catchIf(
            Deadline.attemptTimeout(decoded, options.timeout ?? Duration.infinity),
            isDeadlineExceeded,
            (error) => Effect.fail(deadlineTimeout(error, request))
          )
          : decoded
      },
      sizeSpan
    ))
}

/** @internal */
export const encodeBody = <A, I, R>(
  request: HttpClientRequest.HttpClientRequest,
  schema: Schema.Schema<A, I, R>,
  value: A
): Effect.Effect<I, HttpFailure.InvalidRequest, R> =>
  Effect.mapError(Schema.encode(schema, { errors: "all" })(value), (error) => {
    const issue = schemaIssues(error)[0]
    return new HttpFailure.InvalidRequest({
      ...requestInfo(request),
      reason: "BodyEncode",
      detail: issue === undefined ? "does not match the schema" : `${issue.path}: ${issue.message}`
    })
  })

/** @internal */
export const classify = <E extends HttpClientError.HttpClientError | HttpFailure.HttpFailure, R>(
  client: HttpClient.HttpClient.With<E, R>,
  options?: Attempt.Options
): HttpClient.HttpClient.With<HttpFailure.HttpFailure, R> =>
  classifyChecked(client, options === undefined ? unchecked : checkOptions(options))

/** @internal `classify` on options `checkOptions` has checked; options that are not valid fail every request. */
export const classifyChecked = <E extends HttpClientError.HttpClientError | HttpFailure.HttpFailure, R>(
  client: HttpClient.HttpClient.With<E, R>,
  options: Checked | InvalidOptions
): HttpClient.HttpClient.With<HttpFailure.HttpFailure, R> =>
  HttpClient.makeWith<never, never, HttpFailure.HttpFailure, R>(
    (requestEffect) =>
      Effect.flatMap(requestEffect, (ready) => {
        const request = withoutFragment(ready)
        if (options instanceof InvalidOptions) return Effect.fail(invalidOptions(request, options))
        const invalid = validateRequest(request)
        if (invalid !== undefined) return Effect.fail(invalid)
        return redactedSpan.withRedactedSpan(request, (sent, record) =>
          client.execute(sent).pipe(
            Effect.catchAll((error: E) => fromClientError(error)),
            Effect.flatMap((response) => {
              record?.(response)
              return response.status >= 200 && response.status < 300
                ? Effect.succeed(response)
                : Effect.flatMap(statusFailure(response, options), Effect.fail)
            }),
            (effect) => withAttemptTimeout(effect, request, options.timeout)
          ))
      }),
    Effect.succeed
  )
