import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { hasProperty } from "effect/Predicate"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as HttpCache from "../HttpCache.js"
import * as HttpFailure from "../HttpFailure.js"
import * as attempt from "./attempt.js"
import { isNaNInput, isNegative } from "./durationInput.js"
import * as observe from "./observe.js"
import { processingOf } from "./processing.js"
import * as redaction from "./redaction.js"
import { discardChunk } from "./shielded.js"

// -----------------------------------------------------------------------------
// options
// -----------------------------------------------------------------------------

/** @internal */
export const defaults = {
  maxEntries: 1000,
  maxBytes: 50 * 1024 * 1024,
  maxBodyBytes: 1024 * 1024,
  heuristicCap: Duration.days(1),
  staleIfError: Duration.zero
} as const

/** @internal */
export class InvalidOptions extends Data.TaggedError("HttpCacheInvalidOptions")<{
  readonly problems: ReadonlyArray<{ readonly field: string; readonly detail: string }>
}> {
  override get message(): string {
    return `invalid HttpCache options: ${this.problems.map((p) => `${p.field} ${p.detail}`).join("; ")}`
  }
}

/** @internal */
export type Problems = Array<{ readonly field: string; readonly detail: string }>

// The value is shown only when it is a number: a string may be whatever an environment variable held.
/** @internal */
export const shown = (value: unknown): string =>
  typeof value === "number" ? ` (got ${String(value)})` : ` (got a value of type ${typeof value})`

/** @internal */
export const checkCount = (field: string, value: unknown, fallback: number, problems: Problems, min = 0): number => {
  if (value === undefined) return fallback
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= min) return value
  problems.push({ field, detail: `must be an integer ≥ ${min}${shown(value)}` })
  return fallback
}

/** @internal */
export const checkDuration = (field: string, value: unknown, fallback: Duration.Duration, problems: Problems) => {
  if (value === undefined) return fallback
  const decoded = Option.getOrUndefined(Duration.decodeUnknown(value))
  // Duration decodes a negative or NaN input (`-5`, `"-5 seconds"`, `-5n`, `[-5, 0]`, `NaN`) to zero: refuse those
  // rather than read them as zero
  const input = value as Duration.DurationInput
  if (decoded === undefined || isNegative(input) || isNaNInput(input)) {
    problems.push({ field, detail: `must be a duration ≥ 0${typeof value === "number" ? shown(value) : ""}` })
    return fallback
  }
  return decoded
}

/** @internal */
export const checkObject = (input: unknown): InvalidOptions | undefined =>
  input !== undefined && input !== null && !attempt.isOptionsObject(input)
    ? new InvalidOptions({ problems: [{ field: "options", detail: "must be an object" }] })
    : undefined

/** @internal */
export interface Checked {
  readonly maxBodyBytes: number
  readonly heuristicCapMillis: number
  readonly staleIfErrorMillis: number
}

/** @internal */
export const checkOptions = (input: HttpCache.Options | undefined): Checked | InvalidOptions => {
  const notObject = checkObject(input)
  if (notObject !== undefined) return notObject
  const options = input ?? {}
  const problems: Problems = []
  const checked: Checked = {
    maxBodyBytes: checkCount("maxBodyBytes", options.maxBodyBytes, defaults.maxBodyBytes, problems),
    heuristicCapMillis: Duration.toMillis(
      checkDuration("heuristicCap", options.heuristicCap, defaults.heuristicCap, problems)
    ),
    staleIfErrorMillis: Duration.toMillis(
      checkDuration("staleIfError", options.staleIfError, defaults.staleIfError, problems)
    )
  }
  return problems.length > 0 ? new InvalidOptions({ problems }) : checked
}

// -----------------------------------------------------------------------------
// store
// -----------------------------------------------------------------------------

/** @internal */
export class Store extends Context.Tag("@sturdy/http/HttpCache/Store")<Store, HttpCache.Store.Service>() {}

/** @internal */
export const entryBytes = (entry: HttpCache.Entry): number => {
  let size = entry.body.byteLength + entry.url.length
  for (const name in entry.headers) size += name.length + entry.headers[name].length
  return size
}

/** @internal */
export const makeMemory = (
  input?: HttpCache.MemoryOptions
): Effect.Effect<HttpCache.Store.Service, InvalidOptions> =>
  Effect.suspend(() => {
    const notObject = checkObject(input)
    if (notObject !== undefined) return Effect.fail(notObject)
    const options = input ?? {}
    const problems: Problems = []
    const maxEntries = checkCount("maxEntries", options.maxEntries, defaults.maxEntries, problems, 1)
    const maxBytes = checkCount("maxBytes", options.maxBytes, defaults.maxBytes, problems, 1)
    if (problems.length > 0) return Effect.fail(new InvalidOptions({ problems }))
    // a Map keeps insertion order: re-inserting a key on use makes its first key the least recently used
    const map = new Map<string, { readonly entries: ReadonlyArray<HttpCache.Entry>; readonly bytes: number }>()
    let entries = 0
    let bytes = 0
    const drop = (key: string) => {
      const held = map.get(key)
      if (held === undefined) return
      map.delete(key)
      entries -= held.entries.length
      bytes -= held.bytes
    }
    const service: HttpCache.Store.Service = {
      get: (key) =>
        Effect.sync(() => {
          const held = map.get(key)
          if (held === undefined) return []
          map.delete(key)
          map.set(key, held)
          return held.entries
        }),
      set: (key, stored) =>
        Effect.sync(() => {
          drop(key)
          const size = stored.reduce((sum, entry) => sum + entryBytes(entry), 0)
          // one URL's responses larger than the whole store, or more of them than it holds, are not kept
          if (stored.length === 0 || size > maxBytes || stored.length > maxEntries) return
          map.set(key, { entries: stored, bytes: size })
          entries += stored.length
          bytes += size
          for (const oldest of map.keys()) {
            if (entries <= maxEntries && bytes <= maxBytes) break
            drop(oldest)
          }
        }),
      remove: (key) => Effect.sync(() => drop(key)),
      size: Effect.sync(() => ({ entries, bytes }))
    }
    return Effect.succeed(service)
  })

/** @internal */
export const layerMemory = (options?: HttpCache.MemoryOptions): Layer.Layer<Store, InvalidOptions> =>
  Layer.effect(Store, makeMemory(options))

// -----------------------------------------------------------------------------
// header parsing
// -----------------------------------------------------------------------------

/** @internal Directive names (lower case) to their value, `true` for none; the first of a name wins. */
export const parseCacheControl = (value: string | undefined): ReadonlyMap<string, string | true> => {
  const directives = new Map<string, string | true>()
  if (value === undefined) return directives
  // a directive is `name` or `name=token` or `name="quoted, string"`: commas inside quotes do not split
  const pattern = /\s*([^\s=,]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^,]*))?\s*(?:,|$)/gy
  let match: RegExpExecArray | null
  while (pattern.lastIndex < value.length && (match = pattern.exec(value)) !== null) {
    if (match[0] === "") break
    const name = match[1].toLowerCase()
    const raw = match[2]?.trim()
    const parsed = raw === undefined ? true : raw.startsWith("\"") ? raw.slice(1, -1).replace(/\\(.)/g, "$1") : raw
    if (!directives.has(name)) directives.set(name, parsed)
  }
  return directives
}

/**
 * A delta-seconds value (RFC 9111 §1.2.2) in seconds: digits only. A directive present with a value that is not one
 * (`max-age='10'`, `max-age=-1`) is read as 0, so the response is stale, as the RFC asks; absent is `undefined`.
 * @internal
 */
export const deltaSeconds = (directives: ReadonlyMap<string, string | true>, name: string): number | undefined => {
  const value = directives.get(name)
  if (value === undefined) return undefined
  if (value === true || !/^\d+$/.test(value)) return 0
  return Math.min(Number(value), 2 ** 31)
}

const httpDate =
  /^(?:[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT|[A-Za-z]{6,9}, \d{2}-[A-Za-z]{3}-\d{2} \d{2}:\d{2}:\d{2} GMT|[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d{2}:\d{2}:\d{2} \d{4})$/

/** @internal An HTTP-date in milliseconds since the epoch, or `undefined`. */
export const parseDate = (value: string | undefined): number | undefined => {
  // Date.parse reads "0" or "-1" as dates: only the three HTTP-date forms (RFC 9110 §5.6.7) are taken
  if (value === undefined || !httpDate.test(value.trim())) return undefined
  const millis = Date.parse(value)
  return Number.isNaN(millis) ? undefined : millis
}

// -----------------------------------------------------------------------------
// storability and freshness (RFC 9111 §3, §4.2)
// -----------------------------------------------------------------------------

/** RFC 9110 §15.1: heuristically cacheable statuses (206 left out: ranges are not stored). */
const cacheableStatuses: ReadonlySet<number> = new Set([200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501])

const errorRevalidationStatuses: ReadonlySet<number> = new Set([500, 502, 503, 504])

/** @internal Whether `response`, answering `request`, may be stored (RFC 9111 §3, §3.5). */
export const isStorable = (
  request: HttpClientRequest.HttpClientRequest,
  status: number,
  headers: Headers.Headers
): boolean => {
  if (request.method !== "GET" || !cacheableStatuses.has(status)) return false
  const requestDirectives = parseCacheControl(request.headers["cache-control"])
  const directives = parseCacheControl(headers["cache-control"])
  if (requestDirectives.has("no-store") || directives.has("no-store")) return false
  if (
    request.headers["authorization"] !== undefined && !directives.has("public") && !directives.has("s-maxage") &&
    !directives.has("must-revalidate")
  ) return false
  if (varyNames(headers).includes("*")) return false
  // something must make the stored response useful: explicit freshness, a validator, a heuristic or an error window
  return directives.has("max-age") || headers["expires"] !== undefined || headers["etag"] !== undefined ||
    headers["last-modified"] !== undefined || directives.has("stale-if-error") || directives.has("public")
}

/** @internal The header names `Vary` lists, lower case (`*` included). */
export const varyNames = (headers: Headers.Headers): ReadonlyArray<string> =>
  (headers["vary"] ?? "").split(",").map((name) => name.trim().toLowerCase()).filter((name) => name !== "")

const normalizeValue = (value: string | undefined): string | undefined =>
  value === undefined ? undefined : value.trim().replace(/\s+/g, " ")

/** @internal The request header values a stored response's `Vary` names, as a secondary key. */
export const varyValues = (
  request: HttpClientRequest.HttpClientRequest,
  headers: Headers.Headers
): Readonly<Record<string, string | null>> => {
  const values: Record<string, string | null> = {}
  for (const name of varyNames(headers)) values[name] = normalizeValue(request.headers[name]) ?? null
  return values
}

/** @internal Whether `entry` may answer `request` by its `Vary` (RFC 9111 §4.1); `Vary: *` never matches. */
export const varyMatches = (entry: HttpCache.Entry, request: HttpClientRequest.HttpClientRequest): boolean => {
  for (const name of varyNames(entry.headers)) {
    if (name === "*") return false
    if ((normalizeValue(request.headers[name]) ?? null) !== (entry.vary[name] ?? null)) return false
  }
  return true
}

/** @internal Whether two stored responses answer the same requests (the same `Vary` names and values). */
export const sameVariant = (a: HttpCache.Entry, b: HttpCache.Entry): boolean =>
  varyNames(a.headers).join(",") === varyNames(b.headers).join(",") && JSON.stringify(a.vary) === JSON.stringify(b.vary)

/** @internal The freshness lifetime in milliseconds (RFC 9111 §4.2.1, §4.2.2 for the heuristic). */
export const freshnessLifetime = (entry: HttpCache.Entry, heuristicCapMillis: number): number => {
  const directives = parseCacheControl(entry.headers["cache-control"])
  const maxAge = deltaSeconds(directives, "max-age")
  if (maxAge !== undefined) return maxAge * 1000
  const date = parseDate(entry.headers["date"]) ?? entry.responseTime
  const expiresHeader = entry.headers["expires"]
  if (expiresHeader !== undefined) {
    // an Expires that does not parse ("0") means already expired
    const expires = parseDate(expiresHeader)
    return expires === undefined ? 0 : Math.max(0, expires - date)
  }
  if (!cacheableStatuses.has(entry.status) && !directives.has("public")) return 0
  const lastModified = parseDate(entry.headers["last-modified"])
  if (lastModified === undefined || lastModified > date) return 0
  return Math.min((date - lastModified) / 10, heuristicCapMillis)
}

/** @internal The current age in milliseconds (RFC 9111 §4.2.3). */
export const currentAge = (entry: HttpCache.Entry, now: number): number => {
  const date = parseDate(entry.headers["date"]) ?? entry.responseTime
  const ageHeader = entry.headers["age"]
  const ageValue = ageHeader !== undefined && /^\d+$/.test(ageHeader.trim()) ? Number(ageHeader.trim()) * 1000 : 0
  const apparentAge = Math.max(0, entry.responseTime - date)
  const responseDelay = Math.max(0, entry.responseTime - entry.requestTime)
  const correctedAgeValue = ageValue + responseDelay
  const correctedInitialAge = Math.max(apparentAge, correctedAgeValue)
  return correctedInitialAge + Math.max(0, now - entry.responseTime)
}

/** The headers a 304 does not replace (RFC 9111 §3.2: Content-Length, and what describes the bytes on the wire). */
const keptOnUpdate: ReadonlySet<string> = new Set([
  "content-length",
  "content-encoding",
  "content-range",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "te",
  "trailer",
  "upgrade"
])

/** @internal The stored headers updated from a 304's (RFC 9111 §4.3.4). */
export const mergeHeaders = (stored: Headers.Headers, fresh: Headers.Headers): Headers.Headers => {
  const merged: Record<string, string> = { ...stored }
  for (const name in fresh) if (!keptOnUpdate.has(name)) merged[name] = fresh[name]
  return Headers.fromInput(merged)
}

// -----------------------------------------------------------------------------
// provenance
// -----------------------------------------------------------------------------

const provenances = new WeakMap<HttpClientResponse.HttpClientResponse, HttpCache.Provenance>()

/** @internal */
export const provenance = (response: HttpClientResponse.HttpClientResponse): Option.Option<HttpCache.Provenance> =>
  Option.fromNullable(provenances.get(response))

const mark = (response: HttpClientResponse.HttpClientResponse, provenance: HttpCache.Provenance) =>
  Effect.as(
    Effect.sync(() => provenances.set(response, provenance)).pipe(
      Effect.zipRight(Effect.annotateCurrentSpan("sturdy.cache", provenance))
    ),
    response
  )

// -----------------------------------------------------------------------------
// the cache
// -----------------------------------------------------------------------------

/** @internal */
export interface HttpCacheImpl {
  readonly _tag: "HttpCache"
  readonly store: HttpCache.Store.Service
  readonly checked: Checked
  readonly background: FiberSet.FiberSet<unknown, unknown>
  readonly revalidating: Set<string>
}

/** @internal */
export const make = (
  options?: HttpCache.Options
): Effect.Effect<HttpCache.HttpCache, InvalidOptions, Store | Scope.Scope> =>
  Effect.gen(function*() {
    const checked = checkOptions(options)
    if (checked instanceof InvalidOptions) return yield* Effect.fail(checked)
    const store = yield* Store
    const background = yield* FiberSet.make()
    const cache: HttpCacheImpl = { _tag: "HttpCache", store, checked, background, revalidating: new Set() }
    made.add(cache)
    return cache
  })

// the caches `make` made: what `isHttpCache` accepts (a look-alike `{ _tag: "HttpCache" }` has no store)
const made = new WeakSet<object>()

/** @internal Whether `u` is a cache `make` made. */
export const isHttpCache = (u: unknown): u is HttpCache.HttpCache => typeof u === "object" && u !== null && made.has(u)

const implOf = (cache: HttpCache.HttpCache): HttpCacheImpl => cache as HttpCacheImpl

/** @internal */
export const awaitRevalidations = (cache: HttpCache.HttpCache): Effect.Effect<void> =>
  FiberSet.awaitEmpty(implOf(cache).background)

/** @internal The cache key: the absolute URL with the request's parameters, without its fragment. */
export const keyOf = (request: HttpClientRequest.HttpClientRequest): string | undefined => {
  try {
    const url = new URL(request.url)
    for (const [name, value] of request.urlParams) url.searchParams.append(name, value)
    url.hash = ""
    return url.href
  } catch {
    return undefined
  }
}

// RFC 9110 §9.2.1's safe methods, and QUERY (draft-ietf-httpbis-safe-method-w-body): safe, so it invalidates nothing
// (its own responses are not stored: their key would need the request's body)
const safeMethods: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "QUERY"])

const conditionalHeaders = [
  "if-none-match",
  "if-modified-since",
  "if-match",
  "if-unmodified-since",
  "if-range",
  "range"
]

const bodylessStatus = (status: number) => status === 204 || status === 205 || status === 304

const fromEntry = (
  request: HttpClientRequest.HttpClientRequest,
  entry: HttpCache.Entry,
  ageMillis: number
): HttpClientResponse.HttpClientResponse => {
  const headers = new globalThis.Headers()
  for (const name in entry.headers) headers.set(name, entry.headers[name])
  headers.set("age", String(Math.floor(ageMillis / 1000)))
  return HttpClientResponse.fromWeb(
    request,
    new Response(bodylessStatus(entry.status) || request.method === "HEAD" ? null : entry.body.slice(), {
      status: entry.status,
      headers
    })
  )
}

// reads one chunk of a body at most, within the discard cap, then lets the stream's finalizer close it
const discard = discardChunk

/**
 * Whether a failed revalidation may be answered with the stale response: a connection failure or a timeout (as
 * `HttpFailure` classifies them), whether the client below failed with an `HttpFailure` or a platform `RequestError`.
 */
const isOutage = (error: unknown): boolean => {
  let failure: unknown = error
  if (!HttpFailure.isHttpFailure(error)) {
    if (!hasProperty(error, "_tag") || error._tag !== "RequestError") return false
    failure = attempt.fromRequestError(error as HttpClientError.RequestError)
  }
  return hasProperty(failure, "_tag") &&
    (failure._tag === "ConnectionError" || failure._tag === "Timeout" || failure._tag === "ServerError")
}

/**
 * Whether a failure of a client that runs a `Policy` (a `SturdyClient`'s) may be answered with the stale response, as
 * `withPolicy` under the cache would have it: the policy gave up on a connection failure, a timeout or a 500, 502,
 * 503 or 504 (the statuses RFC 5861 names), or rejected the call itself (its breaker open, a bulkhead or limit full,
 * its budget spent: `withPolicy` turns each into a transport `RequestError`). A 4xx, a 429, an unexpected status and a
 * body that failed to read or decode are answers, never outages.
 * @internal
 */
export const isPolicyOutage = (error: unknown): boolean => {
  if (!hasProperty(error, "_tag") || typeof error._tag !== "string") return false
  switch (error._tag) {
    case "ConnectionError":
    case "Timeout":
      return true
    case "ServerError":
      return hasProperty(error, "status") && typeof error.status === "number" &&
        errorRevalidationStatuses.has(error.status)
    case "RetryBudgetExhausted":
      return true
    default:
      return observe.rejections[error._tag] !== undefined
  }
}

/** @internal */
export const withCache = dual<
  (cache: HttpCache.HttpCache) => <E, R>(self: HttpClient.HttpClient.With<E, R>) => HttpClient.HttpClient.With<E, R>,
  <E, R>(self: HttpClient.HttpClient.With<E, R>, cache: HttpCache.HttpCache) => HttpClient.HttpClient.With<E, R>
>(
  (args) => hasProperty(args[0], HttpClient.TypeId),
  <E, R>(self: HttpClient.HttpClient.With<E, R>, cache: HttpCache.HttpCache) => withCacheOn(self, cache, isOutage)
)

/**
 * `withCache`, with the failures of `self` that may be answered stale (`stale-if-error`) decided by `outage`.
 * @internal
 */
export const withCacheOn = <E, R>(
  self: HttpClient.HttpClient.With<E, R>,
  cacheInput: HttpCache.HttpCache,
  outage: (error: unknown) => boolean
): HttpClient.HttpClient.With<E, R> => {
  const inner = processingOf(self)
  const cache = implOf(cacheInput)
  const { store } = cache
  const { heuristicCapMillis, maxBodyBytes, staleIfErrorMillis } = cache.checked
  const send = (request: HttpClientRequest.HttpClientRequest) => inner.postprocess(Effect.succeed(request))

  const entryOf = (
    request: HttpClientRequest.HttpClientRequest,
    response: HttpClientResponse.HttpClientResponse,
    body: Uint8Array,
    requestTime: number,
    responseTime: number,
    url: string
  ): HttpCache.Entry => {
    const headers: Record<string, string> = { ...response.headers }
    // the stored body is what the transport handed over: its length is the body's
    headers["content-length"] = String(body.byteLength)
    return {
      url,
      status: response.status,
      headers: Headers.fromInput(headers),
      body,
      vary: varyValues(request, response.headers),
      requestTime,
      responseTime
    }
  }

  /**
   * Stores `entry` in place of the responses it replaces (the same `Vary` values): compared by value, not identity,
   * so a store that hands out copies (a serialized one) does not pile up duplicates. `held` is what the lookup that
   * preceded the request read for `key`: the other variants are kept from it, without reading the store again (a
   * disk read, a round trip). A variant another request stored for `key` in between is overwritten: the last writer
   * wins (as it did with a read before each write, only in a shorter window; the stores' `set` replaces a key whole).
   */
  const put = (key: string, held: ReadonlyArray<HttpCache.Entry>, entry: HttpCache.Entry) =>
    store.set(key, [entry, ...held.filter((old) => !sameVariant(old, entry))])

  const removeVariant = (key: string, held: ReadonlyArray<HttpCache.Entry>, entry: HttpCache.Entry) =>
    store.set(key, held.filter((old) => !sameVariant(old, entry)))

  /**
   * Hands `response` to the caller and stores it when it is storable: a body of a known length within `maxBodyBytes`
   * is read at once; one of unknown length is stored once the caller has read it to its end, if it stayed within
   * `maxBodyBytes`; anything else streams through untouched.
   */
  const admit = (
    request: HttpClientRequest.HttpClientRequest,
    response: HttpClientResponse.HttpClientResponse,
    key: string,
    requestTime: number,
    held: ReadonlyArray<HttpCache.Entry>,
    replaced: HttpCache.Entry | undefined
  ): Effect.Effect<HttpClientResponse.HttpClientResponse> =>
    Effect.gen(function*() {
      const responseTime = yield* Clock.currentTimeMillis
      if (!isStorable(request, response.status, response.headers)) {
        // a newer response that may not be stored leaves the older one unusable (RFC 9111 §4.3.3 "replace")
        if (replaced !== undefined && response.status < 500) yield* removeVariant(key, held, replaced)
        return response
      }
      const lengthHeader = response.headers["content-length"]
      const length = lengthHeader !== undefined && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : undefined
      if (bodylessStatus(response.status) || length === 0) {
        yield* put(key, held, entryOf(request, response, new Uint8Array(0), requestTime, responseTime, key))
        return response
      }
      if (length !== undefined) {
        if (length > maxBodyBytes) return response
        const read = yield* Effect.either(response.arrayBuffer)
        if (read._tag === "Left") return response
        const entry = entryOf(request, response, new Uint8Array(read.right), requestTime, responseTime, key)
        yield* put(key, held, entry)
        return fromEntry(request, entry, 0)
      }
      const runtime = yield* Effect.runtime<never>()
      const chunks: Array<Uint8Array> = []
      let size = 0
      let over = false
      const stream = response.stream.pipe(
        Stream.tap((chunk) =>
          Effect.sync(() => {
            if (over) return
            size += chunk.byteLength
            if (size > maxBodyBytes) {
              over = true
              chunks.length = 0
            } else chunks.push(chunk)
          })
        ),
        Stream.concat(Stream.execute(Effect.suspend(() =>
          over
            ? Effect.void
            : put(
              key,
              held,
              entryOf(request, response, attempt.concatBytes(chunks, size), requestTime, responseTime, key)
            )
        )))
      )
      return HttpClientResponse.fromWeb(
        request,
        new Response(Stream.toReadableStreamRuntime(stream, runtime), {
          status: response.status,
          headers: new globalThis.Headers(Object.entries(response.headers))
        })
      )
    })

  /** Sends `request` made conditional on `entry`'s validators. */
  const conditional = (request: HttpClientRequest.HttpClientRequest, entry: HttpCache.Entry) => {
    let conditioned = request
    const etag = entry.headers["etag"]
    const lastModified = entry.headers["last-modified"]
    if (etag !== undefined) conditioned = HttpClientRequest.setHeader(conditioned, "if-none-match", etag)
    if (lastModified !== undefined) {
      conditioned = HttpClientRequest.setHeader(conditioned, "if-modified-since", lastModified)
    }
    return conditioned
  }

  type Outcome =
    | { readonly _tag: "Updated"; readonly entry: HttpCache.Entry }
    | { readonly _tag: "Response"; readonly response: HttpClientResponse.HttpClientResponse }

  /** Revalidates `entry` (or fetches anew when it has no validator): a 304 updates it, anything else is admitted. */
  const revalidate = (
    request: HttpClientRequest.HttpClientRequest,
    key: string,
    held: ReadonlyArray<HttpCache.Entry>,
    entry: HttpCache.Entry
  ): Effect.Effect<Outcome, E, R> =>
    Effect.gen(function*() {
      const requestTime = yield* Clock.currentTimeMillis
      const response = yield* send(conditional(request, entry))
      if (response.status === 304) {
        const responseTime = yield* Clock.currentTimeMillis
        yield* discard(response)
        const updated: HttpCache.Entry = {
          ...entry,
          headers: mergeHeaders(entry.headers, response.headers),
          requestTime,
          responseTime
        }
        yield* put(key, held, updated)
        return { _tag: "Updated", entry: updated } as const
      }
      return { _tag: "Response", response } as const
    })

  const staleWithin = (
    entry: HttpCache.Entry,
    requestDirectives: ReadonlyMap<string, string | true>,
    staleness: number
  ): boolean => {
    const directives = parseCacheControl(entry.headers["cache-control"])
    // no-cache: never used without a successful validation, so not on an error either (RFC 9111 §5.2.2.4)
    if (directives.has("must-revalidate") || directives.has("proxy-revalidate") || directives.has("no-cache")) {
      return false
    }
    const window = Math.max(
      (deltaSeconds(directives, "stale-if-error") ?? 0) * 1000,
      (deltaSeconds(requestDirectives, "stale-if-error") ?? 0) * 1000,
      staleIfErrorMillis
    )
    return staleness <= window && (directives.has("stale-if-error") || requestDirectives.has("stale-if-error") ||
      staleIfErrorMillis > 0)
  }

  const handleGet = (
    request: HttpClientRequest.HttpClientRequest,
    key: string
  ): Effect.Effect<HttpClientResponse.HttpClientResponse, E, R> =>
    Effect.gen(function*() {
      const requestDirectives = parseCacheControl(request.headers["cache-control"])
      const held = yield* store.get(key)
      const entry = held.find((candidate) => varyMatches(candidate, request))
      const now = yield* Clock.currentTimeMillis
      if (entry === undefined) {
        if (requestDirectives.has("only-if-cached")) {
          return yield* mark(
            HttpClientResponse.fromWeb(request, new Response(null, { status: 504 })),
            "unavailable"
          )
        }
        return yield* Effect.flatMap(
          Effect.flatMap(send(request), (r) => admit(request, r, key, now, held, undefined)),
          (r) => mark(r, "miss")
        )
      }
      const directives = parseCacheControl(entry.headers["cache-control"])
      const age = currentAge(entry, now)
      const lifetime = freshnessLifetime(entry, heuristicCapMillis)
      const staleness = age - lifetime
      const noCache = directives.has("no-cache") || requestDirectives.has("no-cache") ||
        (request.headers["cache-control"] === undefined && /no-cache/i.test(request.headers["pragma"] ?? ""))
      const requestMaxAge = deltaSeconds(requestDirectives, "max-age")
      const minFresh = (deltaSeconds(requestDirectives, "min-fresh") ?? 0) * 1000
      const mustRevalidate = directives.has("must-revalidate") || directives.has("proxy-revalidate")
      const maxStale = requestDirectives.get("max-stale")
      const staleAllowed = !mustRevalidate && maxStale !== undefined &&
        (maxStale === true || staleness <= (deltaSeconds(requestDirectives, "max-stale") ?? 0) * 1000)
      // max-age=0 asks for revalidation, whatever the age
      const usable = !noCache && (requestMaxAge === undefined || (requestMaxAge > 0 && age <= requestMaxAge * 1000)) &&
        (lifetime - age > minFresh || (staleness > 0 && staleAllowed))
      if (usable) return yield* mark(fromEntry(request, entry, age), lifetime > age ? "fresh" : "stale")
      if (requestDirectives.has("only-if-cached")) {
        return yield* mark(HttpClientResponse.fromWeb(request, new Response(null, { status: 504 })), "unavailable")
      }
      const swr = deltaSeconds(directives, "stale-while-revalidate")
      if (
        !noCache && !mustRevalidate && requestMaxAge === undefined && swr !== undefined && staleness > 0 &&
        staleness <= swr * 1000
      ) {
        if (!cache.revalidating.has(key)) {
          cache.revalidating.add(key)
          const refresh = revalidate(request, key, held, entry).pipe(
            Effect.flatMap((outcome) =>
              outcome._tag === "Updated"
                ? Effect.void
                : Effect.flatMap(
                  admit(request, outcome.response, key, now, held, entry),
                  // a body of unknown length is stored once read to its end
                  (response) => Effect.ignore(response.arrayBuffer)
                )
            ),
            Effect.catchAllCause((cause) =>
              Effect.logWarning("HttpCache: background revalidation failed", cause).pipe(
                Effect.annotateLogs("url", redaction.redactRequestUrl(request))
              )
            ),
            Effect.ensuring(Effect.sync(() => cache.revalidating.delete(key))),
            Effect.withSpan("HttpCache.revalidate", { attributes: { "url.full": redaction.redactRequestUrl(request) } })
          )
          yield* FiberSet.run(cache.background, refresh)
        }
        return yield* mark(fromEntry(request, entry, age), "stale")
      }
      const outcome = yield* Effect.either(revalidate(request, key, held, entry))
      if (outcome._tag === "Left") {
        if (outage(outcome.left) && staleWithin(entry, requestDirectives, staleness)) {
          return yield* mark(fromEntry(request, entry, currentAge(entry, yield* Clock.currentTimeMillis)), "stale")
        }
        return yield* Effect.fail(outcome.left)
      }
      if (outcome.right._tag === "Updated") {
        const updated = outcome.right.entry
        return yield* mark(
          fromEntry(request, updated, currentAge(updated, yield* Clock.currentTimeMillis)),
          "revalidated"
        )
      }
      const response = outcome.right.response
      if (errorRevalidationStatuses.has(response.status) && staleWithin(entry, requestDirectives, staleness)) {
        yield* discard(response)
        return yield* mark(fromEntry(request, entry, currentAge(entry, yield* Clock.currentTimeMillis)), "stale")
      }
      return yield* Effect.flatMap(admit(request, response, key, now, held, entry), (r) => mark(r, "miss"))
    })

  /** RFC 9111 §4.4: a non-error response to an unsafe method invalidates the URL and same-origin Location ones. */
  const invalidate = (
    request: HttpClientRequest.HttpClientRequest,
    key: string,
    response: HttpClientResponse.HttpClientResponse
  ) => {
    if (response.status < 200 || response.status >= 400) return Effect.void
    const origin = new URL(key).origin
    const keys = [key]
    for (const name of ["location", "content-location"]) {
      const value = response.headers[name]
      if (value === undefined) continue
      try {
        const target = new URL(value, key)
        target.hash = ""
        if (target.origin === origin) keys.push(target.href)
      } catch {
        // a value that does not parse names nothing to invalidate
      }
    }
    return Effect.forEach(keys, (k) => store.remove(k), { discard: true })
  }

  const handle = (
    request: HttpClientRequest.HttpClientRequest
  ): Effect.Effect<HttpClientResponse.HttpClientResponse, E, R> => {
    const key = keyOf(request)
    if (key === undefined) return send(request)
    if (!safeMethods.has(request.method)) {
      return Effect.tap(send(request), (response) => invalidate(request, key, response))
    }
    if (request.method !== "GET") return send(request)
    // a request the caller made conditional or partial is the caller's to answer; no-store keeps the cache out
    if (
      conditionalHeaders.some((name) => request.headers[name] !== undefined) ||
      parseCacheControl(request.headers["cache-control"]).has("no-store")
    ) return send(request)
    return handleGet(request, key)
  }

  return HttpClient.makeWith(
    (requestEffect) => Effect.flatMap(requestEffect, handle),
    inner.preprocess
  )
}
