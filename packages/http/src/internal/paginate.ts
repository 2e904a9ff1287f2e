import * as Headers from "@effect/platform/Headers"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as Tracer from "effect/Tracer"
import type * as HttpFailure from "../HttpFailure.js"
import type * as Paginate from "../Paginate.js"
import * as attempt from "./attempt.js"
import { shown } from "./durationInput.js"
import * as observe from "./observe.js"
import * as redaction from "./redaction.js"
import * as redirect from "./redirect.js"
import * as sturdyClient from "./sturdyClient.js"
import * as telemetry from "./telemetry.js"

// -----------------------------------------------------------------------------
// errors
// -----------------------------------------------------------------------------

/** @internal */
export type Reason = "Loop" | "CrossOrigin" | "Downgrade" | "InvalidLink" | "TooManyPages" | "InvalidOptions"

const describe: Readonly<Record<Reason, string>> = {
  Loop: "came back to a page already fetched",
  CrossOrigin: "refused a next page on another origin",
  Downgrade: "refused a next page over http after https",
  InvalidLink: "refused a next link",
  TooManyPages: "reached maxPages",
  InvalidOptions: "refused its options"
}

/** @internal */
export class PaginationError extends Data.TaggedError("PaginationError")<
  HttpFailure.RequestInfo & {
    readonly reason: Reason
    /** What was wrong, in words (URLs in it redacted). */
    readonly detail: string
    /** Pages fetched (and emitted) before the failure. */
    readonly pages: number
  }
> {
  override get message(): string {
    return `pagination ${describe[this.reason]} after ${this.pages} page${
      this.pages === 1 ? "" : "s"
    } (${this.detail}): ${this.method} ${this.url}`
  }
}

// -----------------------------------------------------------------------------
// Link header (RFC 8288 §3)
// -----------------------------------------------------------------------------

/** RFC 9110 §5.6.2 tchar */
const isTchar = (code: number): boolean =>
  (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) || (code >= 0x30 && code <= 0x39) ||
  code === 0x21 || (code >= 0x23 && code <= 0x27) || code === 0x2a || code === 0x2b || code === 0x2d ||
  code === 0x2e || code === 0x5e || code === 0x5f || code === 0x60 || code === 0x7c || code === 0x7e

const isOws = (code: number): boolean => code === 0x20 || code === 0x09

/**
 * Parses one field value. Every character is looked at a bounded number of times (each loop only moves forward), so
 * the work is linear in the value's length whatever it holds.
 */
const parseInto = (value: string, out: Array<Paginate.Link>): void => {
  const n = value.length
  let i = 0
  /** Moves past the rest of a malformed link-value: to the next comma outside a quoted-string. */
  const skipEntry = () => {
    while (i < n) {
      const c = value.charCodeAt(i)
      if (c === 0x2c) return
      if (c === 0x22) {
        i++
        while (i < n && value.charCodeAt(i) !== 0x22) i += value.charCodeAt(i) === 0x5c ? 2 : 1
      }
      i++
    }
  }
  const skipOws = () => {
    while (i < n && isOws(value.charCodeAt(i))) i++
  }
  while (i < n) {
    const c = value.charCodeAt(i)
    if (c === 0x2c || isOws(c)) {
      i++
      continue
    }
    if (c !== 0x3c) {
      skipEntry()
      continue
    }
    const close = value.indexOf(">", i + 1)
    // no `>` anywhere after: nothing after this can be a link either
    if (close === -1) return
    // a non-ASCII target, handed over by the transport as Latin-1, read as the UTF-8 the server wrote (as Redirect
    // reads a `Location`)
    const uri = redirect.decodeLocation(value.slice(i + 1, close).trim())
    i = close + 1
    const params: Record<string, string> = Object.create(null)
    let ok = true
    for (;;) {
      skipOws()
      if (i >= n || value.charCodeAt(i) === 0x2c) break
      if (value.charCodeAt(i) !== 0x3b) {
        ok = false
        break
      }
      i++
      skipOws()
      const nameStart = i
      while (i < n && isTchar(value.charCodeAt(i))) i++
      if (i === nameStart) {
        // `;` with nothing after it (`<a>;` or `<a>; , <b>`) is tolerated; anything else is malformed
        if (i >= n || value.charCodeAt(i) === 0x2c || value.charCodeAt(i) === 0x3b) continue
        ok = false
        break
      }
      const name = value.slice(nameStart, i).toLowerCase()
      skipOws()
      let paramValue = ""
      if (i < n && value.charCodeAt(i) === 0x3d) {
        i++
        skipOws()
        if (i < n && value.charCodeAt(i) === 0x22) {
          i++
          let text = ""
          let start = i
          let closed = false
          while (i < n) {
            const q = value.charCodeAt(i)
            if (q === 0x22) {
              text += value.slice(start, i)
              closed = true
              i++
              break
            }
            if (q === 0x5c && i + 1 < n) {
              text += value.slice(start, i)
              start = i + 1
              i += 2
              continue
            }
            i++
          }
          if (!closed) {
            ok = false
            break
          }
          paramValue = text
        } else {
          // a token, leniently: up to the next `;`, `,`, space or quote, so that `type=text/html` or an unquoted
          // extension relation type (`rel=http://example.net/foo`), which servers send, does not lose the link
          const valueStart = i
          while (i < n) {
            const t = value.charCodeAt(i)
            if (t === 0x3b || t === 0x2c || t === 0x22 || isOws(t)) break
            i++
          }
          paramValue = value.slice(valueStart, i)
        }
      }
      // §3.4.1 for rel, and as parsers do for the others: the first occurrence wins
      if (!(name in params)) params[name] = paramValue
    }
    if (!ok) {
      skipEntry()
      continue
    }
    const rel = params["rel"]
    const rels = rel === undefined ? [] : rel.split(/[ \t]+/).filter((r) => r !== "").map((r) => r.toLowerCase())
    out.push({ uri, rels, params })
  }
}

/** @internal */
export const parseLinkHeader = (value: string | ReadonlyArray<string> | null | undefined): Array<Paginate.Link> => {
  const out: Array<Paginate.Link> = []
  if (typeof value === "string") parseInto(value, out)
  else if (Array.isArray(value)) { for (const line of value) if (typeof line === "string") parseInto(line, out) }
  return out
}

type HeaderSource =
  | Paginate.HeaderSource
  | Headers.Headers

const linkValueOf = (source: HeaderSource): string | ReadonlyArray<string> | undefined => {
  const record: Readonly<Record<string, unknown>> = !Headers.isHeaders(source) && "headers" in source &&
      typeof source.headers === "object" && source.headers !== null
    ? source.headers as Readonly<Record<string, unknown>>
    : source as Readonly<Record<string, unknown>>
  for (const name in record) {
    if (name.toLowerCase() !== "link") continue
    const value = record[name]
    if (typeof value === "string" || Array.isArray(value)) return value as string | ReadonlyArray<string>
  }
  return undefined
}

/** The first `rel="next"` link's URI as written, one without an `anchor` (whose context is another resource). */
const nextUri = (source: HeaderSource): string | undefined => {
  for (const link of parseLinkHeader(linkValueOf(source))) {
    if (link.rels.includes("next") && !("anchor" in link.params)) return link.uri
  }
  return undefined
}

/** @internal */
export const resolve = (uri: string, base: string | URL | undefined): URL | undefined => {
  try {
    return new URL(uri, base)
  } catch {
    return undefined
  }
}

/** @internal */
export const nextLink = (source: HeaderSource, base: string | URL): Option.Option<URL> => {
  const uri = nextUri(source)
  return Option.fromNullable(uri === undefined ? undefined : resolve(uri, base))
}

// -----------------------------------------------------------------------------
// options
// -----------------------------------------------------------------------------

const isCount = (value: unknown, min: number): value is number =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= min

/** @internal */
export const defaultMaxPages = 1000

/** @internal */
export const checkObject = (input: unknown): ReadonlyArray<string> =>
  input !== undefined && input !== null && (typeof input !== "object" || Array.isArray(input))
    ? [`options (${Array.isArray(input) ? "an array" : typeof input}) must be an object`]
    : []

const checkMaxPages = (value: unknown, problems: Array<string>): number => {
  if (value === undefined) return defaultMaxPages
  if (value === Infinity || isCount(value, 1)) return value as number
  problems.push(`maxPages must be an integer ≥ 1 or Infinity${shown(value)}`)
  return defaultMaxPages
}

const checkParam = (name: string, value: unknown, fallback: string, problems: Array<string>): string => {
  if (value === undefined) return fallback
  if (typeof value === "string" && value !== "") return value
  problems.push(`${name} must be a non-empty string${shown(value)}`)
  return fallback
}

const checkFunction = (name: string, value: unknown, required: boolean, problems: Array<string>): void => {
  if (value === undefined ? required : typeof value !== "function") {
    problems.push(`${name} must be a function${value === undefined ? " (it is required)" : shown(value)}`)
  }
}

/** @internal */
export const originOf = (url: URL): string => `${url.protocol}//${url.host}`

/** The base URL as written, when it is an absolute http(s) URL (shown redacted otherwise: it could hold a secret). */
const checkBaseUrl = (value: unknown, problems: Array<string>): string | undefined => {
  if (value === undefined) return undefined
  const text = value instanceof URL ? value.href : typeof value === "string" ? value : undefined
  const url = text === undefined ? undefined : resolve(text, undefined)
  if (url !== undefined && (url.protocol === "http:" || url.protocol === "https:")) return text
  problems.push(
    `baseUrl must be an absolute http(s) URL${
      text === undefined ? shown(value) : ` (got "${redaction.redactUrl(text)}")`
    }`
  )
  return undefined
}

/** Each allowed origin as `scheme://host[:port]`, or a problem (values shown redacted: one could hold a secret). */
/** @internal */
export const checkOrigins = (value: unknown, problems: Array<string>): ReadonlySet<string> => {
  const origins = new Set<string>()
  if (value === undefined) return origins
  if (!Array.isArray(value)) {
    problems.push(`allowedOrigins must be an array of origins${shown(value)}`)
    return origins
  }
  for (const entry of value) {
    const url = typeof entry === "string" ? resolve(entry, undefined) : undefined
    if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
      problems.push(
        `allowedOrigins holds ${
          typeof entry === "string" ? `"${redaction.redactUrl(entry)}"` : `a value of type ${typeof entry}`
        }, not an http(s) origin`
      )
    } else origins.add(originOf(url))
  }
  return origins
}

// -----------------------------------------------------------------------------
// requests
// -----------------------------------------------------------------------------

/** The URL a request is sent to: its `url` with its `urlParams`, without fragment; undefined when not absolute. */
/** @internal */
export const targetOf = (request: HttpClientRequest.HttpClientRequest): URL | undefined => {
  const url = resolve(request.url, undefined)
  if (url === undefined) return undefined
  for (const [name, value] of request.urlParams) url.searchParams.append(name, value)
  url.hash = ""
  return url
}

/**
 * The request with the query written in its `url` moved into its `urlParams`, so that setting a parameter replaces
 * one the caller wrote in the URL instead of sending it twice.
 */
const withQueryAsParams = (request: HttpClientRequest.HttpClientRequest): HttpClientRequest.HttpClientRequest => {
  const hashAt = request.url.indexOf("#")
  const main = hashAt === -1 ? request.url : request.url.slice(0, hashAt)
  const queryAt = main.indexOf("?")
  if (queryAt === -1) return request
  const params = [...new URLSearchParams(main.slice(queryAt + 1))]
  return HttpClientRequest.setUrlParams(
    HttpClientRequest.setUrl(request, main.slice(0, queryAt) + (hashAt === -1 ? "" : request.url.slice(hashAt))),
    [...params, ...request.urlParams]
  )
}

const failure = (
  request: HttpClientRequest.HttpClientRequest,
  reason: Reason,
  detail: string,
  pages: number
): PaginationError => new PaginationError({ ...attempt.requestInfo(request), reason, detail, pages })

// -----------------------------------------------------------------------------
// the stream
// -----------------------------------------------------------------------------

/** The request with its relative URL resolved against `baseUrl` as `SturdyClient` resolves one; as it is without. */
const withBaseUrl = (
  request: HttpClientRequest.HttpClientRequest,
  baseUrl: string | undefined
): HttpClientRequest.HttpClientRequest => {
  const url = sturdyClient.resolveUrl(baseUrl, request.url)
  return url === request.url ? request : HttpClientRequest.setUrl(request, url)
}

/** What to do after a page: stop, fetch this request, or fail (after emitting the page). */
type Next =
  | { readonly _tag: "Done" }
  | { readonly _tag: "Fetch"; readonly request: HttpClientRequest.HttpClientRequest }
  | { readonly _tag: "Fail"; readonly error: PaginationError }

const done: Next = { _tag: "Done" }

type State = Next & { readonly pages: number }

/** What to do after `page`, the `pages`-th, fetched with `request`. */
type NextOf<P> = (
  page: P,
  request: HttpClientRequest.HttpClientRequest,
  pages: number,
  observer: telemetry.StreamObserver
) => Next

/** The `sturdy.strategy` of a listing's span. */
type Strategy = "links" | "cursor" | "page_numbers" | "offsets"

/**
 * Fetches pages one a pull: the first with `first`, each next one as `next` decides from the page just fetched.
 * Nothing is fetched before the consumer pulls, and a failure `next` decides is raised only when the page after is
 * pulled, so `Stream.take` never sees it. Each page is one call of `fetch`: its retries are the caller's. The whole
 * listing is one `http.client.paginate` span (with a real tracer) whose children are the pages' calls, ended with
 * the pages so far however the stream ends (a failure, an interruption, `Stream.take`).
 */
const unfold = <P, E, R>(
  strategy: Strategy,
  first: HttpClientRequest.HttpClientRequest,
  fetch: (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<P, E, R>,
  maxPages: number,
  next: NextOf<P>
): Stream.Stream<P, E | PaginationError, R> =>
  telemetry.observeStream(telemetry.paginateKind, first, (observer) => {
    const span = observer.span
    if (span !== undefined) {
      span.attribute("sturdy.strategy", strategy)
      // `links` and `cursor` know no page's items: a `Paginate.items` around the listing counts them for its span
      // (the numbered strategies count their own, with their `items` option)
      if (strategy === "links" || strategy === "cursor") {
        const counter = Context.get(observer.fiber.currentContext, ItemsCounter)
        if (counter !== undefined && counter.span === undefined) counter.span = span
      }
    }
    return pagesOf(first, fetch, maxPages, next, observer)
  })

const pagesOf = <P, E, R>(
  first: HttpClientRequest.HttpClientRequest,
  fetch: (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<P, E, R>,
  maxPages: number,
  next: NextOf<P>,
  observer: telemetry.StreamObserver
): Stream.Stream<P, E | PaginationError, R> =>
  Stream.unfoldEffect<State, P, E | PaginationError, R>(
    { _tag: "Fetch", request: first, pages: 0 },
    (state) => {
      switch (state._tag) {
        case "Done":
          return Effect.succeed(Option.none())
        case "Fail":
          return Effect.fail(state.error)
        case "Fetch": {
          if (state.pages >= maxPages) {
            return Effect.fail(
              failure(state.request, "TooManyPages", `maxPages is ${maxPages} and there is a next page`, state.pages)
            )
          }
          return Effect.map(fetch(state.request), (page) => {
            const pages = state.pages + 1
            observer.delivered()
            return Option.some([page, { ...next(page, state.request, pages, observer), pages }] as const)
          })
        }
      }
    }
  )

const refused = <P>(
  request: HttpClientRequest.HttpClientRequest,
  problems: ReadonlyArray<string>
): Stream.Stream<P, PaginationError> => Stream.fail(failure(request, "InvalidOptions", problems.join("; "), 0))

/** The options of every strategy, read once (a getter runs once), with the problems found. */
const readCommon = (input: unknown, problems: Array<string>): { maxPages: number; baseUrl: string | undefined } => {
  const options = (input ?? {}) as Paginate.Options
  return { maxPages: checkMaxPages(options.maxPages, problems), baseUrl: checkBaseUrl(options.baseUrl, problems) }
}

/** @internal */
export const links = <P extends Paginate.HeaderSource, E, R>(
  request: HttpClientRequest.HttpClientRequest,
  fetch: (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<P, E, R>,
  options?: Paginate.LinkOptions
): Stream.Stream<P, E | PaginationError, R> =>
  Stream.suspend(() => {
    const problems: Array<string> = [...checkObject(options)]
    if (problems.length > 0) return refused(request, problems)
    const { baseUrl, maxPages } = readCommon(options, problems)
    const allowed = checkOrigins(options?.allowedOrigins, problems)
    const first = withBaseUrl(request, baseUrl)
    const start = targetOf(first)
    if (start === undefined || (start.protocol !== "http:" && start.protocol !== "https:")) {
      problems.push(
        baseUrl === undefined
          ? "the first request's URL must be an absolute http(s) URL (next links are resolved against it), " +
            "or relative with a baseUrl"
          : "the first request's URL, resolved against baseUrl, must be an absolute http(s) URL"
      )
    }
    if (problems.length > 0 || start === undefined) return refused(request, problems)
    const startOrigin = originOf(start)
    // the first URL without its credentials, as next links are resolved (and refused when they carry some): a link
    // back to it, which goes on with them, is a loop at once, not a page fetched twice
    const startKey = new URL(start)
    startKey.username = ""
    startKey.password = ""
    const visited = new Set<string>([startKey.href])
    return unfold("links", first, fetch, maxPages, (page, sent, pages): Next => {
      const uri = nextUri(page)
      if (uri === undefined) return done
      // resolved against the page's URL without its credentials: a link that carries some is told apart from a
      // relative one (which goes on with the first request's, on its origin, as got does)
      const base = targetOf(sent) ?? new URL(start)
      base.username = ""
      base.password = ""
      const fail = (reason: Reason, detail: string): Next => ({
        _tag: "Fail",
        error: failure(sent, reason, detail, pages)
      })
      const to = resolve(uri, base)
      if (to === undefined) return fail("InvalidLink", `the next link does not parse: ${redaction.redactUrl(uri)}`)
      to.hash = ""
      const shownTo = redaction.redactUrl(to)
      if (to.protocol !== "http:" && to.protocol !== "https:") {
        return fail("InvalidLink", `the next link's scheme ${to.protocol} is not http(s): ${shownTo}`)
      }
      if (to.username !== "" || to.password !== "") {
        return fail("InvalidLink", `the next link carries credentials: ${shownTo}`)
      }
      if (start.protocol === "https:" && to.protocol === "http:") {
        return fail("Downgrade", `the next link is http after https: ${shownTo}`)
      }
      const origin = originOf(to)
      if (origin !== startOrigin && !allowed.has(origin)) {
        return fail("CrossOrigin", `the next link is on ${origin}, not in allowedOrigins: ${shownTo}`)
      }
      if (visited.has(to.href)) return fail("Loop", `the next link was fetched before: ${shownTo}`)
      visited.add(to.href)
      // built from the first request, so a page back on the first origin has its credentials again; on another
      // origin (allowed) every credential is dropped, as a redirect drops them (303: a GET without body)
      return { _tag: "Fetch", request: redirect.nextRequest(first, 303, new URL(start), to) }
    })
  })

/** The cursor as sent: a string, or a number written out; `null`, `undefined` and `""` end; anything else is wrong. */
const cursorValue = (value: unknown): string | undefined | { readonly wrong: string } => {
  if (value === undefined || value === null || value === "") return undefined
  if (typeof value === "string") return value
  if ((typeof value === "number" && Number.isFinite(value)) || typeof value === "bigint") return String(value)
  // a cursor read from a body that is not what its schema said: stopping here would truncate the listing silently
  return { wrong: typeof value === "number" ? String(value) : `a value of type ${typeof value}` }
}

/** @internal */
export const cursor = <P, E, R>(
  request: HttpClientRequest.HttpClientRequest,
  fetch: (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<P, E, R>,
  options: Paginate.CursorOptions<P>
): Stream.Stream<P, E | PaginationError, R> =>
  Stream.suspend(() => {
    const problems: Array<string> = [...checkObject(options)]
    if (problems.length > 0 || options === undefined || options === null) {
      return refused(request, problems.length > 0 ? problems : ["options are required (cursor)"])
    }
    const { baseUrl, maxPages } = readCommon(options, problems)
    const cursorOf = options.cursor
    const build = options.request
    checkFunction("cursor", cursorOf, true, problems)
    checkFunction("request", build, false, problems)
    const param = checkParam("param", options.param, "cursor", problems)
    if (problems.length > 0) return refused(request, problems)
    const first = withBaseUrl(request, baseUrl)
    const base = withQueryAsParams(first)
    // the cursor the first request already carries was followed too: a page that answers it again is a loop at once
    const seen = new Set<string>(
      build === undefined ? Option.toArray(UrlParams.getFirst(base.urlParams, param)) : []
    )
    return unfold("cursor", first, fetch, maxPages, (page, sent, pages): Next => {
      const value = cursorValue(cursorOf(page))
      if (value === undefined) return done
      if (typeof value !== "string") {
        return {
          _tag: "Fail",
          error: failure(sent, "InvalidLink", `the next cursor (${value.wrong}) is not a string or a number`, pages)
        }
      }
      if (seen.has(value)) {
        return { _tag: "Fail", error: failure(sent, "Loop", "the next cursor was followed before", pages) }
      }
      seen.add(value)
      return {
        _tag: "Fetch",
        request: build === undefined ? HttpClientRequest.setUrlParam(base, param, value) : build(value, first)
      }
    })
  })

const numbered = <P, E, R>(
  kind: "page" | "offset",
  request: HttpClientRequest.HttpClientRequest,
  fetch: (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<P, E, R>,
  options: Paginate.NumberedOptions<P>
): Stream.Stream<P, E | PaginationError, R> =>
  Stream.suspend(() => {
    const problems: Array<string> = [...checkObject(options)]
    if (problems.length > 0 || options === undefined || options === null) {
      return refused(request, problems.length > 0 ? problems : ["options are required (items)"])
    }
    const { baseUrl, maxPages } = readCommon(options, problems)
    const itemsOf = options.items
    checkFunction("items", itemsOf, true, problems)
    const param = checkParam("param", options.param, kind, problems)
    const sizeParam = options.sizeParam === undefined
      ? undefined
      : checkParam("sizeParam", options.sizeParam, "", problems)
    const startValue = options.start
    const start = startValue === undefined ? (kind === "page" ? 1 : 0) : startValue
    if (!isCount(start, 0)) problems.push(`start must be an integer ≥ 0${shown(startValue)}`)
    const pageSize = options.pageSize
    if (pageSize !== undefined && !isCount(pageSize, 1)) {
      problems.push(`pageSize must be an integer ≥ 1${shown(pageSize)}`)
    }
    if (pageSize === undefined && sizeParam !== undefined) problems.push("sizeParam needs a pageSize to send")
    if (problems.length > 0) return refused(request, problems)
    let base = withQueryAsParams(withBaseUrl(request, baseUrl))
    if (sizeParam !== undefined && pageSize !== undefined) {
      base = HttpClientRequest.setUrlParam(base, sizeParam, String(pageSize))
    }
    const at = (n: number) => HttpClientRequest.setUrlParam(base, param, String(n))
    let position = start
    let received = 0
    const strategy = kind === "page" ? "page_numbers" : "offsets"
    return unfold(strategy, at(start), fetch, maxPages, (page, sent, pages, observer): Next => {
      const items = itemsOf(page)
      const count = Array.isArray(items) ? items.length : 0
      // the items counted so far, on the listing's span (its `items` is what tells a last page)
      received += count
      observer.span?.attribute("sturdy.items", received)
      if (count === 0 || (pageSize !== undefined && count < pageSize)) return done
      position += kind === "page" ? 1 : count
      if (!Number.isSafeInteger(position)) {
        return {
          _tag: "Fail",
          error: failure(sent, "InvalidOptions", `the next ${param} is beyond 2^53 - 1`, pages)
        }
      }
      return { _tag: "Fetch", request: at(position) }
    })
  })

/** @internal */
export const pageNumbers = <P, E, R>(
  request: HttpClientRequest.HttpClientRequest,
  fetch: (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<P, E, R>,
  options: Paginate.NumberedOptions<P>
): Stream.Stream<P, E | PaginationError, R> => numbered("page", request, fetch, options)

/** @internal */
export const offsets = <P, E, R>(
  request: HttpClientRequest.HttpClientRequest,
  fetch: (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<P, E, R>,
  options: Paginate.NumberedOptions<P>
): Stream.Stream<P, E | PaginationError, R> => numbered("offset", request, fetch, options)

/**
 * The items `Paginate.items` flattened, for the span of the `links` or `cursor` listing it flattens (the first such
 * listing in its stream to start): `sturdy.items`, updated with each page.
 */
class ItemsCount {
  count = 0
  span: Tracer.Span | undefined = undefined
  add(items: number): void {
    this.count += items
    this.span?.attribute("sturdy.items", this.count)
  }
}

/** Where a listing finds the `Paginate.items` around it: provided only when a real tracer is installed. */
class ItemsCounter extends Context.Reference<ItemsCounter>()("@sturdy/http/Paginate/ItemsCounter", {
  defaultValue: (): ItemsCount | undefined => undefined
}) {}

/** @internal */
export const items = dual<
  <P, A>(f: (page: P) => Iterable<A>) => <E, R>(self: Stream.Stream<P, E, R>) => Stream.Stream<A, E, R>,
  <P, E, R, A>(self: Stream.Stream<P, E, R>, f: (page: P) => Iterable<A>) => Stream.Stream<A, E, R>
>(
  2,
  <P, E, R, A>(self: Stream.Stream<P, E, R>, f: (page: P) => Iterable<A>) =>
    Stream.unwrap(Effect.withFiberRuntime<Stream.Stream<A, E, R>>((fiber) => {
      // without a tracer there is no span to tell: the pages are flattened as they are
      if (!observe.isTracing(fiber)) return Effect.succeed(Stream.mapConcat(self, f))
      const counter = new ItemsCount()
      return Effect.succeed(
        Stream.mapConcat(self, (page) => {
          const pageItems = f(page)
          const array = Array.isArray(pageItems) ? pageItems as ReadonlyArray<A> : Array.from(pageItems)
          counter.add(array.length)
          return array
        }).pipe(Stream.provideSomeContext(Context.make(ItemsCounter, counter)))
      )
    }))
)
