import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Option from "effect/Option"
import { hasProperty } from "effect/Predicate"
import * as HttpFailure from "../HttpFailure.js"
import type * as Redirect from "../Redirect.js"
import * as attempt from "./attempt.js"
import * as idempotency from "./idempotency.js"
import { processingOf } from "./processing.js"
import * as redaction from "./redaction.js"
import { discardChunk } from "./shielded.js"

/** @internal */
export const defaultMaxRedirects = 20

const redirectStatuses: ReadonlySet<number> = new Set([301, 302, 303, 307, 308])

/** Headers that describe the body: dropped with it when a redirect turns the request into a GET (fetch). */
const bodyHeaders = ["content-type", "content-length", "content-encoding", "content-language", "content-location"]

/**
 * Dropped on every hop to another origin (curl, fetch), with every header `Redaction` calls secret and every header
 * that holds a registered secret value.
 */
const crossOriginHeaders = ["authorization", "proxy-authorization", "cookie", "host"]

/** @internal */
export const isRedirect = (response: HttpClientResponse.HttpClientResponse): boolean =>
  redirectStatuses.has(response.status) && response.headers["location"] !== undefined

/** Reads at most one chunk of the redirect's body, within the discard cap, then lets the stream's finalizer close it. */
const discard = discardChunk

const strictUtf8 = new TextDecoder("utf-8", { fatal: true })

/**
 * The `Location` as the server wrote it. Transports hand header values over as Latin-1 (one character a byte), but
 * servers write a non-ASCII `Location` in UTF-8, as browsers, undici's fetch and got read it: its bytes are decoded as
 * UTF-8 when they are valid UTF-8, and left as they are otherwise (a Latin-1 value, or one already decoded). Shared
 * with `Paginate`, which reads a `Link` header's URI reference the same way.
 * @internal
 */
export const decodeLocation = (location: string): string => {
  let nonAscii = false
  for (let i = 0; i < location.length; i++) {
    const code = location.charCodeAt(i)
    if (code > 0xff) return location
    if (code > 0x7f) nonAscii = true
  }
  if (!nonAscii) return location
  try {
    return strictUtf8.decode(Uint8Array.from(location, (char) => char.charCodeAt(0)))
  } catch {
    return location
  }
}

const originOf = (url: URL): string => `${url.protocol}//${url.host}`

/** The URL a request is sent to: its `url` with its `urlParams`. */
const targetOf = (request: HttpClientRequest.HttpClientRequest): URL | undefined => {
  try {
    const url = new URL(request.url)
    for (const [name, value] of request.urlParams) url.searchParams.append(name, value)
    return url
  } catch {
    return undefined
  }
}

/** 303 turns any method but HEAD into GET; 301 and 302 turn POST into GET (fetch); 307 and 308 keep both. */
const methodAfter = (method: HttpClientRequest.HttpClientRequest["method"], status: number) =>
  (status === 303 && method !== "HEAD") || ((status === 301 || status === 302) && method === "POST") ? "GET" : method

const writtenFragment = (url: string): string | undefined => {
  const index = url.indexOf("#")
  return index === -1 || index === url.length - 1 ? undefined : url.slice(index + 1)
}

/** @internal */
export const nextRequest = (
  request: HttpClientRequest.HttpClientRequest,
  status: number,
  from: URL,
  to: URL
): HttpClientRequest.HttpClientRequest => {
  let headers = request.headers
  if (originOf(from) !== originOf(to)) {
    // credentials in the URL are credentials too (a transport sends them as Basic authentication): neither the
    // request's nor ones a `Location` to another origin carries go there (got)
    if (to.username !== "" || to.password !== "") {
      to.username = ""
      to.password = ""
    }
    headers = Headers.remove(headers, crossOriginHeaders)
    const secret: Array<string> = []
    // a header carrying a registered credential goes too, whatever its name: Auth applied outside this middleware
    // (against its advice) must not hand its key to another origin
    for (const name in headers) {
      if (redaction.holdsRegisteredSecret(headers[name])) secret.push(name)
      // the Idempotency-Key is no credential (its name only looks like one): the next origin needs it to apply a
      // repeat of the request once
      else if (name !== idempotency.headerName && redaction.isSecretHeaderName(name)) secret.push(name)
    }
    if (secret.length > 0) headers = Headers.remove(headers, secret)
  } else if (to.username === "" && to.password === "" && (from.username !== "" || from.password !== "")) {
    // a same-origin hop keeps the request's credentials, as it keeps its `Authorization` (got, curl)
    to.username = from.username
    to.password = from.password
  }
  const method = methodAfter(request.method, status)
  const dropBody = method !== request.method
  if (dropBody) headers = Headers.remove(headers, bodyHeaders)
  // fetch: a Location without a fragment inherits the request's, whether it was set as `hash` or written in the URL;
  // one with an empty fragment (`/next#`, where `hash` is "" but `href` keeps the "#") has one and inherits nothing
  const hash = to.hash !== "" || to.href.endsWith("#")
    ? to.hash.slice(1)
    : Option.getOrUndefined(request.hash) ?? writtenFragment(request.url)
  to.hash = ""
  return HttpClientRequest.make(method)(to.toString(), {
    headers,
    ...(dropBody ? {} : { body: request.body }),
    ...(hash === undefined ? {} : { hash })
  })
}

const refuse = (
  request: HttpClientRequest.HttpClientRequest,
  response: HttpClientResponse.HttpClientResponse,
  reason: HttpFailure.RedirectFailed["reason"],
  redirects: number,
  location: string
) =>
  Effect.zipRight(
    discard(response),
    Effect.fail(
      new HttpFailure.RedirectFailed({
        ...attempt.requestInfo(request),
        reason,
        status: response.status,
        redirects,
        location: redaction.redactUrl(location, redaction.secretsOf(response.request))
      })
    )
  )

/** @internal */
export const follow = dual<
  (
    options?: Redirect.Options
  ) => <E, R>(self: HttpClient.HttpClient.With<E, R>) => HttpClient.HttpClient.With<E | HttpFailure.RedirectFailed, R>,
  <E, R>(
    self: HttpClient.HttpClient.With<E, R>,
    options?: Redirect.Options
  ) => HttpClient.HttpClient.With<E | HttpFailure.RedirectFailed, R>
>((args) => hasProperty(args[0], HttpClient.TypeId), <E, R>(
  self: HttpClient.HttpClient.With<E, R>,
  options?: Redirect.Options
): HttpClient.HttpClient.With<E | HttpFailure.RedirectFailed, R> => {
  const inner = processingOf(self)
  const maxRedirects = options?.maxRedirects ?? defaultMaxRedirects
  // NaN would never be reached: an endless loop of redirects
  if (!(Number.isInteger(maxRedirects) && maxRedirects >= 0)) {
    throw new RangeError(`Redirect.follow: maxRedirects (${maxRedirects}) must be an integer of at least 0`)
  }
  const allowDowngrade = options?.allowDowngrade ?? true
  const loop = (
    first: HttpClientRequest.HttpClientRequest,
    request: HttpClientRequest.HttpClientRequest,
    redirects: number
  ): Effect.Effect<HttpClientResponse.HttpClientResponse, E | HttpFailure.RedirectFailed, R> =>
    Effect.flatMap(inner.postprocess(Effect.succeed(request)), (response) => {
      if (!isRedirect(response)) return Effect.succeed(response)
      // a body that is a stream was consumed by the first hop and cannot be sent again: the 3xx is the answer
      if (
        !idempotency.isRepeatableBody(request.body) && methodAfter(request.method, response.status) === request.method
      ) {
        return Effect.succeed(response)
      }
      const location = decodeLocation(response.headers["location"]!)
      const from = targetOf(response.request) ?? targetOf(request)
      let to: URL
      try {
        to = new URL(location, from)
      } catch {
        return refuse(first, response, "InvalidLocation", redirects, location)
      }
      if (from === undefined || (to.protocol !== "http:" && to.protocol !== "https:")) {
        return refuse(first, response, "InvalidLocation", redirects, location)
      }
      if (redirects >= maxRedirects) return refuse(first, response, "TooMany", redirects, to.href)
      if (!allowDowngrade && from.protocol === "https:" && to.protocol === "http:") {
        return refuse(first, response, "Downgrade", redirects, to.href)
      }
      const next = nextRequest(request, response.status, from, to)
      // the first hop reached a server: a later hop that was never written does not make the request unsent
      return Effect.zipRight(discard(response), Effect.mapError(loop(first, next, redirects + 1), attempt.sentBefore))
    })
  return HttpClient.makeWith(
    (requestEffect) => Effect.flatMap(requestEffect, (request) => loop(request, request, 0)),
    inner.preprocess
  )
})
