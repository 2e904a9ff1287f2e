// Model-based properties of `SturdyClient`: what request a call puts on the wire and what its caller gets back,
// checked against a reference model (`predict`) written from the module docs of `SturdyClient` (the module header:
// the request built once, base URL, default headers, `headers`, `urlParams`, the body encoded once, the fragment
// dropped, timeouts, options checked once and a bad one failing every call with `InvalidRequest` `InvalidOptions`;
// `Options`, `RequestOptions`, `Method`, `Service` and its `client`, `make`, `makeWith`, `layer`, `layerConfig`),
// `Attempt` (the option table: `timeout`, `expectedContentTypes` sent as `Accept` by `json` "unless the request sets its
// own"; `send`, `json`, `Received`), `ClientResponse` (`text`, `json` with an empty body `null`, `arrayBuffer`) and the
// transports' "a body read whole is kept for every later reader", `HttpFailure` (tags, `reason`, `status`, `payload`,
// `phase` and `timeout`, `attempts`, `method` and `url`) and `Policy` (the retry rules: what is retried, which methods
// are safe to repeat, `attemptTimeout`'s 10 s default; `RunOptions.onEvent`).
//
// Generated: how the client is built (`makeWith`, `make` or `layer`, with or without a `Policy` that retries once,
// given in the options or found in context), its `baseUrl` (none, with or without a path and a trailing slash, a
// `URL` object), its default headers (one in sixteen with a line break), its `timeout` and an attempt option out of
// range (one in twelve); per call: the verb (each of the ten methods), a path or an `HttpClientRequest` with its own
// method, headers and url params; paths that are empty, relative, absolute, protocol-relative, with a query, a
// fragment or both, with a scheme other than http; `headers` (sometimes a value with a line break), `urlParams` (a
// record or pairs, repeated keys, characters to escape), a body (none, `null`, a plain JSON value, a value through a
// `bodySchema` that encodes or refuses it, a value `JSON.stringify` throws on, an `HttpBody`), `schema` or none,
// `expectedContentTypes`, `errorSchema`, `timeout` (finite, longer than the Policy's, infinite), an attempt option out
// of range, an `Idempotency-Key`; and the server's answer to the first and second attempt: JSON that matches the
// response schema or not (non-ASCII text too), an error body that matches `errorSchema` or not, 2xx/3xx/4xx/5xx
// statuses including 204, 408, 429, 501, a `text/html` answer, an empty one, a reset before the headers, a hang.
//
// Observed and compared with the model: the caller's exit (a value: the decoded body, or what `Received` and the
// response it hands back read; or a failure: tag, `reason`, `status`, `payload`, `phase`, `timeout`, `attempts`,
// `method`, `url`, and `detail` naming the bad option), the virtual time the call took, every request the server saw
// (method, path and query, the generated headers, `accept`, `content-type`, `content-length`, `idempotency-key`), the
// request at the transport (full URL, body bytes and content type), that a retry sent the same request, and the
// `AttemptStarted` events `onEvent` saw. The service's `client` has its own property (base URL, default headers, the
// client's `timeout` and classification, no policy), and so has `layerConfig` (values read from a `ConfigProvider`
// build a working client or fail the layer with a `ConfigError` naming the key or the option).
//
// Drivers: `ScriptedClient` (TestClock) and, in a smaller property, `@sturdy/node`'s `UndiciHttpClient.layer()`
// against a `FaultServer` on 127.0.0.1 (no hangs there; GET, HEAD, OPTIONS and TRACE without a body), where the
// server's own log is the wire. The request at the transport is recorded by an `HttpClient.tapRequest` on the
// transport given to the client.
//
// Rules taken from the code, the docs being silent ("Prefix for relative request URLs"): a base URL and a path are
// joined as strings, with one "/" between them (a trailing "/" of the base dropped; none added before a path that
// starts with "/", "?" or "#"), an empty path is the base itself; a path that starts with a scheme is left alone. A
// request is refused for a scheme other than http(s) first, then for a header value with a line break, then for a
// URL that does not parse (relative with no base URL: `MalformedUrl`); under a Policy these are one attempt that
// fails before sending (`attempts` 1). Headers: the request's own (those of a given `HttpClientRequest`, then
// `headers`) win over the client's defaults, and an `Accept` among the defaults counts as "the request sets its own"
// for `json`. Options out of range are checked before the body is encoded, and failures before the pipeline (bad
// options, a body that does not encode) carry no `attempts`. A retry waits the Policy's first delay (`baseDelay`,
// jitter off). `Content-Length: 0` is the transport's to send or not (undici sends one for POST, PUT, PATCH). The
// failure's `url` is a display form: compared by origin, path and decoded query (it writes a space `%20`, the wire
// `+`).
//
// Left out: the body read and decode path in depth (model-Attempt.test.ts), secrets in URLs and headers
// (prop-Redaction.test.ts), `Retry-After` (prop-RetryHeaders.test.ts), streams as bodies, hedging, the breaker and
// the rest of the pipeline (prop-Policy*.test.ts), timeouts on the real transport (Attempt.test.ts).
//
// Mutants (each made a property fail with a shrunk counterexample, then restored from a copy):
// - internal/sturdyClient.ts: the join always inserting "/"; the base's trailing "/" kept; an empty path not the
//   base; the defaults winning over the request's headers; `bodySchema` ignored; the schema's encoded value dropped
//   (the type checked, the value sent as given); a `JSON.stringify` that throws a defect; a verb not overriding a
//   given request's method; `headers` dropped when `urlParams` are set; `urlParams` replacing the request's own
//   instead of appending; a request's own options not checked; a request's options checked over nothing (the
//   client's dropped); `options.policy` ignored; `make` ignoring the `Policy` in context; `layerConfig` not checking
//   the values read; each of the two fixes below reverted -> the ScriptedClient property (and the undici one, the
//   `client` one or the `layerConfig` one where they apply);
// - internal/clientResponse.ts: an empty body parsed as JSON; text decoded as latin1; an arrived body decoded short
//   by a byte -> the ScriptedClient and undici properties.
// Equivalent mutants (no observable change): the fragment kept in `prepare` (the attempt drops it again, and the
// failure's URL is shown without it); `ClientResponse`'s `arrayBuffer` handing over the underlying buffer (these
// transports' bodies own their buffer).
//
// Found and fixed:
// - A client built with an option out of range failed each call naming the URL without the call's `urlParams` (a
//   request's own bad option named the full URL). Regression in SturdyClient.test.ts: "the failure of a client's bad
//   option names the call's URL with its urlParams, as a request's own does".
// - The service's `client` applied the base URL and the default headers after `transformClient`'s middleware, which
//   so saw a relative URL and no default headers (the methods show it the request as sent), and its classification
//   did not check the default headers. Regression in SturdyClient.test.ts: "client: transformClient's middleware sees
//   the request with base URL and default headers, as a call's".
// - A base URL with a fragment sent every path into the fragment (so to the base's path), one with a query appended
//   the path to the query, and a path like `images:annotate` was read as a URL of scheme `images:` (ky and got join
//   it). The model joins by the documented rule; bases with a query and a fragment, and such paths, are generated.
//   Regression in SturdyClient.test.ts: "a base URL's query comes first, its fragment is dropped, and
//   `images:annotate` is a path".
import { HttpBody, HttpClient, HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { type Attempt, HttpFailure, Policy, SturdyClient } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { FaultScript, FaultServer, ScriptedClient } from "@sturdy/testing"
import {
  Cause,
  Config,
  ConfigError,
  ConfigProvider,
  Duration,
  Effect,
  Either,
  Exit,
  FastCheck as fc,
  Fiber,
  Layer,
  Option,
  Schema,
  TestClock
} from "effect"

// -----------------------------------------------------------------------------
// cases
// -----------------------------------------------------------------------------

type Verb = "execute" | "get" | "post" | "put" | "patch" | "del" | "head" | "options" | "trace" | "query"

const verbMethod: Record<Exclude<Verb, "execute">, string> = {
  get: "GET",
  post: "POST",
  put: "PUT",
  patch: "PATCH",
  del: "DELETE",
  head: "HEAD",
  options: "OPTIONS",
  trace: "TRACE",
  query: "QUERY"
}

type BodyCase =
  | { readonly k: "none" }
  | { readonly k: "null" }
  | { readonly k: "json"; readonly value: unknown }
  | { readonly k: "schema"; readonly qty: number; readonly at: number }
  | { readonly k: "bigint" }
  | { readonly k: "text"; readonly text: string }

type Answer =
  | { readonly k: "json"; readonly status: number; readonly body: unknown }
  | { readonly k: "html"; readonly status: number }
  | { readonly k: "empty"; readonly status: number }
  | { readonly k: "reset" }
  | { readonly k: "hang" }

type BadOption = { readonly field: keyof Attempt.Options; readonly value: unknown }

type Build = "makeWith" | "make" | "layer"

interface Case {
  readonly build: Build
  /** A Policy that retries once (at most two attempts), given in the options or found in context. */
  readonly policy: "none" | "options" | "context"
  readonly base: string | undefined
  readonly baseAsUrl: boolean
  readonly clientHeaders: Readonly<Record<string, string>>
  readonly clientBad: BadOption | undefined
  readonly clientErrorSchema: boolean
  readonly verb: Verb
  /** Pass an `HttpClientRequest` (with this method and these headers) instead of the path. */
  readonly asRequest:
    | {
      readonly method: string
      readonly headers: Readonly<Record<string, string>>
      readonly urlParams: ReadonlyArray<readonly [string, string]>
    }
    | undefined
  readonly path: string
  readonly headers: Readonly<Record<string, string>> | undefined
  readonly urlParams: ReadonlyArray<readonly [string, string]> | Readonly<Record<string, string>> | undefined
  readonly body: BodyCase
  readonly json: boolean
  readonly expected: ReadonlyArray<string> | undefined
  readonly errorSchema: boolean
  readonly requestBad: BadOption | undefined
  readonly answers: readonly [Answer, Answer]
  /** The client's `timeout` and the call's (`Infinity`: none, lifting the client's). */
  readonly clientTimeout: Duration.DurationInput | undefined
  readonly requestTimeout: Duration.DurationInput | undefined
}

const Reply = Schema.Struct({ id: Schema.Number, name: Schema.String })
const ErrorBody = Schema.Struct({ error: Schema.String, errno: Schema.Number })
const Order = Schema.Struct({ qty: Schema.Int, at: Schema.NumberFromString })

const badOptionArb: fc.Arbitrary<BadOption> = fc.constantFrom<BadOption>(
  { field: "maxBodyBytes", value: -1 },
  { field: "maxBodyBytes", value: Number.NaN },
  { field: "maxJsonDepth", value: 1.5 },
  { field: "timeout", value: "soon" },
  { field: "timeout", value: 0 },
  { field: "bodyTimeout", value: -5 },
  { field: "expectedContentTypes", value: [""] }
)

const headerValueArb = fc.constantFrom("v", "a b", "x-1", "é")

const headersArb = (names: ReadonlyArray<string>) =>
  fc.dictionary(fc.constantFrom(...names), headerValueArb, { maxKeys: 3 })

const pathArb = (absolute: string) =>
  fc.constantFrom(
    "",
    "users",
    "/users",
    "users/1",
    "/users/1?x=1",
    "?q=a",
    "#top",
    "/a#frag?not=query",
    "/a?b=1#frag",
    "/sp%20ace",
    "//other.test/x",
    `${absolute}/abs?z=9#f`,
    "ftp://api.test/x",
    "images:annotate",
    "v1/images:annotate?x=1"
  )

const jsonValueArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant({ name: "Ada" }),
  fc.constant([1, "two", null]),
  fc.constant("é😀"),
  fc.integer({ min: -5, max: 5 }),
  fc.constant({ nested: { deep: [true, false] } })
)

const bodyArb: fc.Arbitrary<BodyCase> = fc.oneof(
  { arbitrary: fc.constant<BodyCase>({ k: "none" }), weight: 3 },
  fc.constant<BodyCase>({ k: "null" }),
  jsonValueArb.map((value): BodyCase => ({ k: "json", value })),
  fc.record({
    k: fc.constant("schema" as const),
    qty: fc.constantFrom(0, 2, 7, 1.5),
    at: fc.constantFrom(0, 1.25, -3)
  }),
  fc.constant<BodyCase>({ k: "bigint" }),
  fc.constantFrom("", "plain é", "a\nb").map((text): BodyCase => ({ k: "text", text }))
)

const statusArb = fc.constantFrom(200, 200, 201, 204, 302, 400, 404, 408, 429, 500, 501, 503)

const answerArb: fc.Arbitrary<Answer> = fc.oneof(
  {
    arbitrary: fc.record({
      k: fc.constant("json" as const),
      status: statusArb,
      body: fc.constantFrom<unknown>(
        { id: 1, name: "Ada" },
        { id: 2, name: "Adé 😀" },
        { id: "1", name: "Ada" },
        { error: "nope", errno: 7 },
        { error: "nope" },
        [1, 2]
      )
    }),
    weight: 6
  },
  fc.record({ k: fc.constant("html" as const), status: fc.constantFrom(200, 503) }),
  fc.record({ k: fc.constant("empty" as const), status: fc.constantFrom(200, 204, 500) }),
  fc.constant<Answer>({ k: "reset" }),
  fc.constant<Answer>({ k: "hang" })
)

/** `arb` one time in `oneIn`, else `undefined`. */
const rarely = <A>(arb: fc.Arbitrary<A>, oneIn: number): fc.Arbitrary<A | undefined> =>
  fc.oneof({ arbitrary: fc.constant(undefined), weight: oneIn - 1 }, { arbitrary: arb, weight: 1 })

const caseArb = (host: string): fc.Arbitrary<Case> =>
  fc.record({
    build: fc.constantFrom<Build>("makeWith", "make", "layer"),
    policy: fc.constantFrom<Case["policy"]>("none", "none", "options", "context"),
    base: fc.constantFrom<string | undefined>(
      undefined,
      host,
      `${host}/`,
      `${host}/v1`,
      `${host}/v1/`,
      `${host}/v1/api`,
      `${host}/v1?api-version=1`,
      `${host}/v1/?api-version=1&b=2`,
      `${host}/v1#frag`,
      `${host}/v1?api-version=1#frag`
    ),
    baseAsUrl: fc.boolean(),
    clientHeaders: fc.oneof(
      { arbitrary: headersArb(["x-default", "x-both", "accept", "idempotency-key"]), weight: 15 },
      fc.constant({ "x-default": "line\nbreak" })
    ),
    clientBad: rarely(badOptionArb, 12),
    clientErrorSchema: fc.boolean(),
    verb: fc.constantFrom<Verb>(
      "execute",
      "get",
      "post",
      "put",
      "patch",
      "del",
      "head",
      "options",
      "trace",
      "query"
    ),
    asRequest: fc.option(
      fc.record({
        method: fc.constantFrom("GET", "POST", "DELETE", "PATCH"),
        headers: headersArb(["x-own", "x-both", "Accept"]),
        urlParams: fc.constantFrom<ReadonlyArray<readonly [string, string]>>([], [["own", "1"]], [["b", "0"]])
      }),
      { nil: undefined }
    ),
    path: pathArb(host),
    headers: fc.option(
      fc.oneof(
        { arbitrary: headersArb(["x-req", "x-both", "X-Case", "accept", "Idempotency-Key"]), weight: 8 },
        fc.constant({ "x-bad": "line\r\nbreak" })
      ),
      { nil: undefined }
    ),
    urlParams: fc.option(
      fc.oneof(
        fc.constant<Case["urlParams"]>([]),
        fc.constant<Case["urlParams"]>({ a: "1" }),
        fc.constant<Case["urlParams"]>([["b", "x y"], ["b", "2"]]),
        fc.constant<Case["urlParams"]>({ "é": "&=?#" })
      ),
      { nil: undefined }
    ),
    body: bodyArb,
    json: fc.boolean(),
    expected: fc.constantFrom<ReadonlyArray<string> | undefined>(
      undefined,
      undefined,
      [],
      ["application/json"],
      ["application/problem+json", "+json"],
      ["+json"],
      ["text/*", "application/json"]
    ),
    errorSchema: fc.boolean(),
    requestBad: rarely(badOptionArb, 12),
    answers: fc.tuple(answerArb, answerArb),
    clientTimeout: fc.constantFrom<Duration.DurationInput | undefined>(undefined, undefined, "2 seconds", 3000),
    requestTimeout: fc.constantFrom<Duration.DurationInput | undefined>(
      undefined,
      undefined,
      "1 second",
      "5 seconds",
      "30 seconds",
      Number.POSITIVE_INFINITY
    )
  }).map((c) =>
    // a hang with no limit at all would never end: a reset instead
    attemptLimit(c) === undefined
      ? { ...c, answers: [unhung(c.answers[0]), unhung(c.answers[1])] as const }
      : c
  )

const unhung = (answer: Answer): Answer => answer.k === "hang" ? { k: "reset" } : answer

const toMillis = (input: Duration.DurationInput): number => Duration.toMillis(Duration.decode(input))

/**
 * The limit of each attempt in millis: the call's `timeout`, else the client's (an infinite one is none); under the
 * Policy, the sooner of it and the Policy's `attemptTimeout` (10 s by default).
 */
const attemptLimit = (c: Pick<Case, "clientTimeout" | "requestTimeout" | "policy" | "build">): number | undefined => {
  const own = c.requestTimeout !== undefined ? toMillis(c.requestTimeout) : c.clientTimeout !== undefined
    ? toMillis(c.clientTimeout)
    : Number.POSITIVE_INFINITY
  const policy = c.policy === "none" || (c.build === "makeWith" && c.policy === "context")
    ? Number.POSITIVE_INFINITY
    : 10_000
  const limit = Math.min(own, policy)
  return Number.isFinite(limit) ? limit : undefined
}

// -----------------------------------------------------------------------------
// the model
// -----------------------------------------------------------------------------

/** What the server sees. `headers` holds the names the cases generate (lower-case) and the ones the model sets. */
interface Wire {
  readonly method: string
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string | undefined
  readonly contentType: string | undefined
}

type Outcome =
  | { readonly _tag: "Success"; readonly value: unknown }
  | {
    readonly _tag: "Failure"
    readonly tag: string
    readonly reason?: string | undefined
    readonly status?: number | undefined
    readonly payload?: unknown
    readonly attempts?: number | undefined
    readonly details?: ReadonlyArray<string> | undefined
    readonly phase?: string | undefined
    readonly timeoutMillis?: number | undefined
    /** `RequestInfo`: the method, and the URL as sent (fragment dropped, url params in) when it parses. */
    readonly method?: string | undefined
    readonly url?: string | undefined
  }

interface Prediction {
  /** The requests sent, in order (the same request each time). */
  readonly sent: ReadonlyArray<Wire>
  /** Attempts the pipeline started (with a policy: `AttemptStarted` events); an attempt may fail before sending. */
  readonly started: number
  readonly outcome: Outcome
  /** Virtual time the call took: each hung attempt its limit, each retry the Policy's first delay (10 ms). */
  readonly elapsed: number
}

// "A URL with a scheme and `//` (`https://…`) is absolute and left alone; `images:annotate` is a path"
const absoluteUrl = /^[a-z][a-z0-9+.-]*:\/\//i

// a URL reference as path, query (undefined without a "?") and fragment
const referenceOf = (url: string) => {
  const match = /^([^?#]*)(?:\?([^#]*))?(#.*)?$/.exec(url)!
  return { path: match[1]!, query: match[2], fragment: match[3] ?? "" }
}

// "a path joins the base's path with one `/` between, a query of the base comes first in the request's ...; `?page=2`
// alone keeps the base's path as written, and a fragment of the base is dropped"
const join = (base: string | undefined, path: string): string => {
  if (base === undefined || absoluteUrl.test(path)) return path
  const b = referenceOf(base)
  const r = referenceOf(path)
  const joinedPath = r.path === "" ? b.path : `${b.path.replace(/\/$/, "")}/${r.path.replace(/^\//, "")}`
  const queries = [b.query, r.query].filter((q): q is string => q !== undefined && q !== "")
  const query = queries.length > 0 ? `?${queries.join("&")}` : r.query !== undefined ? "?" : ""
  return `${joinedPath}${query}${r.fragment}`
}

const lower = (headers: Readonly<Record<string, string>> | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]))

const pairsOf = (params: Case["urlParams"]): ReadonlyArray<readonly [string, string]> =>
  params === undefined ? [] : Array.isArray(params) ? params : Object.entries(params)

const methodOf = (c: Case): string => c.verb === "execute" ? (c.asRequest?.method ?? "GET") : verbMethod[c.verb]

const safeToRepeat = (method: string, headers: Readonly<Record<string, string>>): boolean =>
  ["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE", "QUERY"].includes(method) ||
  headers["idempotency-key"] !== undefined

const noContent = (method: string, status: number): boolean => method === "HEAD" || status === 204

const jsonTypes = ["application/json", "+json"]

const typeAccepted = (contentType: string, expected: ReadonlyArray<string>): boolean => {
  if (expected.length === 0) return true
  const type = contentType.split(";")[0].trim().toLowerCase()
  return expected.some((entry) => {
    const e = entry.toLowerCase()
    if (e.startsWith("+")) return type.endsWith(e)
    if (e.endsWith("/*")) return type.startsWith(e.slice(0, -1))
    return type === e
  })
}

const matchesReply = (u: unknown): boolean =>
  typeof u === "object" && u !== null && !Array.isArray(u) &&
  typeof (u as Record<string, unknown>).id === "number" && typeof (u as Record<string, unknown>).name === "string"

const matchesError = (u: unknown): boolean =>
  typeof u === "object" && u !== null && !Array.isArray(u) &&
  typeof (u as Record<string, unknown>).error === "string" && typeof (u as Record<string, unknown>).errno === "number"

const statusTag = (status: number): string =>
  status === 429
    ? "RateLimited"
    : status >= 500
    ? "ServerError"
    : status >= 400
    ? "ClientError"
    : "UnexpectedStatus"

/** What `readBack` reads of a `Received` whose body is `text`. */
const received = (status: number, text: string) => {
  let json: string
  try {
    json = JSON.stringify(text === "" ? null : JSON.parse(text))
  } catch {
    json = "<Decode>"
  }
  return {
    status,
    text,
    plainBuffer: true,
    bytesAreText: true,
    sameResponse: true,
    again: text,
    json,
    buffer: text,
    // `urlParamsBody`: the text read as `application/x-www-form-urlencoded`
    params: JSON.stringify([...new URLSearchParams(text)])
  }
}

/** The outcome of one attempt, from the answer; `retryable` by `Policy`'s default rule (before idempotency). */
const attemptOutcome = (
  c: Case,
  method: string,
  answer: Answer
): { readonly outcome: Outcome; readonly retryable: boolean } => {
  if (answer.k === "hang") {
    return {
      outcome: { _tag: "Failure", tag: "Timeout", phase: "Attempt", timeoutMillis: attemptLimit(c) },
      retryable: true
    }
  }
  if (answer.k === "reset") {
    return { outcome: { _tag: "Failure", tag: "ConnectionError", reason: "Reset" }, retryable: true }
  }
  const status = answer.status
  const bodyText = answer.k === "json" ? JSON.stringify(answer.body) : answer.k === "html" ? "<p>hi</p>" : ""
  const contentType = answer.k === "json" ? "application/json" : answer.k === "html" ? "text/html" : undefined
  const expected = c.expected
  if (status < 200 || status >= 300) {
    const errorSchema = c.errorSchema || c.clientErrorSchema
    const payload = errorSchema && answer.k === "json" && method !== "HEAD" && matchesError(answer.body)
      ? Option.some(answer.body)
      : Option.none()
    return {
      outcome: { _tag: "Failure", tag: statusTag(status), status, payload },
      // transient: 408, 429, 5xx but 501, 505, 511
      retryable: status === 408 || status === 429 || (status >= 500 && status !== 501)
    }
  }
  const body = noContent(method, status) ? "" : bodyText
  if (!c.json) {
    // `send` accepts any type unless told; a missing type, or an answer without content, is not checked
    if (
      expected !== undefined && contentType !== undefined && !noContent(method, status) &&
      !typeAccepted(contentType, expected)
    ) return { outcome: { _tag: "Failure", tag: "UnexpectedContentType" }, retryable: false }
    return { outcome: { _tag: "Success", value: received(status, body) }, retryable: false }
  }
  if (noContent(method, status)) {
    // the schema gets `undefined`, which `Reply` refuses
    return { outcome: { _tag: "Failure", tag: "SchemaMismatch" }, retryable: false }
  }
  if (contentType !== undefined && !typeAccepted(contentType, expected ?? jsonTypes)) {
    return { outcome: { _tag: "Failure", tag: "UnexpectedContentType" }, retryable: false }
  }
  if (answer.k !== "json") return { outcome: { _tag: "Failure", tag: "InvalidJson" }, retryable: false }
  return matchesReply(answer.body)
    ? { outcome: { _tag: "Success", value: answer.body }, retryable: false }
    : { outcome: { _tag: "Failure", tag: "SchemaMismatch" }, retryable: false }
}

const predict = (c: Case): Prediction => {
  const method = methodOf(c)
  // the URL: joined, the fragment dropped, then the url params appended as the platform's `URLSearchParams` does
  const joined = join(c.base, c.path)
  const cut = joined.indexOf("#")
  const unfragmented = cut === -1 ? joined : joined.slice(0, cut)
  let url: URL | undefined
  try {
    url = new URL(unfragmented)
    // the request's own url params, then the call's `urlParams` appended
    for (const [key, value] of [...(c.asRequest?.urlParams ?? []), ...pairsOf(c.urlParams)]) {
      url.searchParams.append(key, value)
    }
  } catch {
    url = undefined
  }
  // every failure names the method and the URL of the request as it is sent (none here carries a secret)
  const failure = (tag: string, fields: Omit<Extract<Outcome, { _tag: "Failure" }>, "_tag" | "tag">): Outcome => ({
    _tag: "Failure",
    tag,
    method,
    url: url?.toString(),
    ...fields
  })
  // before the pipeline: nothing started
  const invalidRequest = (reason: string, details?: ReadonlyArray<string>): Prediction => ({
    sent: [],
    started: 0,
    elapsed: 0,
    outcome: failure("InvalidRequest", { reason, details })
  })
  // in the attempt, before sending: the pipeline started one attempt, which is not retried (not transient)
  const unsent = (reason: string): Prediction => ({
    sent: [],
    started: c.policy === "none" ? 0 : 1,
    elapsed: 0,
    outcome: failure("InvalidRequest", { reason, attempts: c.policy === "none" ? undefined : 1 })
  })
  // the client's bad option fails every call; the request's fails its call (the client's checked first)
  if (c.clientBad !== undefined) return invalidRequest("InvalidOptions", [c.clientBad.field])
  if (c.requestBad !== undefined) return invalidRequest("InvalidOptions", [c.requestBad.field])
  // the body, encoded once
  let body: string | undefined
  let contentType: string | undefined
  switch (c.body.k) {
    case "none":
      break
    case "null":
      body = "null"
      contentType = "application/json"
      break
    case "json":
      body = JSON.stringify(c.body.value)
      contentType = "application/json"
      break
    case "schema":
      if (!Number.isInteger(c.body.qty)) return invalidRequest("BodyEncode")
      body = JSON.stringify({ qty: c.body.qty, at: String(c.body.at) })
      contentType = "application/json"
      break
    case "bigint":
      return invalidRequest("BodyEncode")
    case "text":
      body = c.body.text
      contentType = "text/plain"
      break
  }
  // headers: the client's defaults, under the request's own, under `headers`
  const headers: Record<string, string> = {
    ...lower(c.clientHeaders),
    ...lower(c.asRequest?.headers),
    ...lower(c.headers)
  }
  // a scheme other than http or https is refused, then a header value with a line break, then a URL that does not
  // parse (relative with no base URL): the order taken from the code
  if (url !== undefined && url.protocol !== "http:" && url.protocol !== "https:") return unsent("MalformedUrl")
  if (Object.values(headers).some((value) => /[\r\n]/.test(value))) return unsent("InvalidHeader")
  if (url === undefined) return unsent("MalformedUrl")
  if (c.json && headers["accept"] === undefined) {
    const named = (c.expected ?? ["application/json"]).filter((type) => type.includes("/"))
    if (named.length > 0) headers["accept"] = named.join(", ")
  }
  const wire: Wire = { method, url: url.toString(), headers, body, contentType }
  const outcomeOf = (answer: Answer, attempts: number | undefined) => {
    const { outcome, retryable } = attemptOutcome(c, method, answer)
    return {
      outcome: outcome._tag === "Failure" ? failure(outcome.tag, { ...outcome, attempts }) : outcome,
      retryable
    }
  }
  const took = (answer: Answer): number => answer.k === "hang" ? (attemptLimit(c) ?? 0) : 0
  if (c.policy === "none") {
    return {
      sent: [wire],
      started: 0,
      elapsed: took(c.answers[0]),
      outcome: outcomeOf(c.answers[0], undefined).outcome
    }
  }
  // a Policy retrying once: a failure it retries by default, on a request that is safe to repeat
  const first = outcomeOf(c.answers[0], 1)
  if (first.outcome._tag === "Failure" && first.retryable && safeToRepeat(method, headers)) {
    return {
      sent: [wire, wire],
      started: 2,
      elapsed: took(c.answers[0]) + 10 + took(c.answers[1]),
      outcome: outcomeOf(c.answers[1], 2).outcome
    }
  }
  return { sent: [wire], started: 1, elapsed: took(c.answers[0]), outcome: first.outcome }
}

// -----------------------------------------------------------------------------
// running a case
// -----------------------------------------------------------------------------

const faultOf = (answer: Answer): FaultScript.Fault => {
  switch (answer.k) {
    case "reset":
      return FaultScript.reset("beforeHeaders")
    case "hang":
      return FaultScript.hang
    case "empty":
      return FaultScript.status(answer.status)
    case "html":
      return FaultScript.text("<p>hi</p>", { status: answer.status, contentType: "text/html" })
    case "json":
      return answer.status === 204
        ? FaultScript.status(204)
        : FaultScript.json(answer.body, { status: answer.status })
  }
}

const routesOf = (c: Case) =>
  FaultScript.routes({ "/*": FaultScript.sequence(faultOf(c.answers[0]), faultOf(c.answers[1])) })

// quick, jitter-free retries; no breaker, no budget, no deadline to speak of
const policyOptions: Policy.Options = {
  totalTimeout: "1 hour",
  retry: { maxAttempts: 2, baseDelay: "10 millis", maxDelay: "100 millis", jitter: "none", budget: false },
  circuitBreaker: false
}

const bodyOf = (c: Case): unknown => {
  switch (c.body.k) {
    case "none":
      return undefined
    case "null":
      return null
    case "json":
      return c.body.value
    case "schema":
      return { qty: c.body.qty, at: c.body.at }
    case "bigint":
      return { n: BigInt(1) }
    case "text":
      return HttpBody.text(c.body.text, "text/plain")
  }
}

const requestOptionsOf = (c: Case, onEvent: (event: Policy.Event) => Effect.Effect<void>) => {
  const options: Record<string, unknown> = { onEvent }
  if (c.headers !== undefined) options.headers = c.headers
  if (c.urlParams !== undefined) options.urlParams = c.urlParams
  if (c.body.k !== "none") options.body = bodyOf(c)
  if (c.body.k === "schema") options.bodySchema = Order
  if (c.json) options.schema = Reply
  if (c.expected !== undefined) options.expectedContentTypes = c.expected
  if (c.errorSchema) options.errorSchema = ErrorBody
  if (c.requestTimeout !== undefined) options.timeout = c.requestTimeout
  if (c.requestBad !== undefined) options[c.requestBad.field] = c.requestBad.value
  return options as SturdyClient.SturdyClient.RequestOptions & { readonly schema?: typeof Reply }
}

const clientOptionsOf = (c: Case): SturdyClient.SturdyClient.Options => {
  const options: Record<string, unknown> = {}
  if (c.base !== undefined) options.baseUrl = c.baseAsUrl ? new URL(c.base) : c.base
  if (Object.keys(c.clientHeaders).length > 0) options.headers = c.clientHeaders
  if (c.clientErrorSchema) options.errorSchema = ErrorBody
  if (c.clientTimeout !== undefined) options.timeout = c.clientTimeout
  if (c.clientBad !== undefined) options[c.clientBad.field] = c.clientBad.value
  return options as SturdyClient.SturdyClient.Options
}

// a `URL` object as the base: `String(url)` adds a "/" to a bare origin, which the join drops again
const baseOf = (c: Case): string | undefined =>
  c.base === undefined ? undefined : c.baseAsUrl ? new URL(c.base).toString() : c.base

/** The service as the case builds it, on `transport`, with the policy where the case puts it. */
const serviceOf = (c: Case, transport: HttpClient.HttpClient) =>
  Effect.gen(function*() {
    const policy = c.policy === "none" ? undefined : yield* Policy.make(policyOptions)
    const options = c.policy === "options" ? { ...clientOptionsOf(c), policy } : clientOptionsOf(c)
    const inContext = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      c.policy === "context" && policy !== undefined ? Effect.provideService(effect, Policy.Policy, policy) : effect
    switch (c.build) {
      case "makeWith":
        // `makeWith` reads nothing from the context: the policy only from the options
        return SturdyClient.makeWith(transport, c.policy === "context" ? clientOptionsOf(c) : options)
      case "make":
        return yield* inContext(SturdyClient.make(options)).pipe(
          Effect.provideService(HttpClient.HttpClient, transport)
        )
      case "layer":
        return yield* inContext(
          Effect.provide(
            SturdyClient.SturdyClient,
            SturdyClient.layer(options).pipe(Layer.provide(Layer.succeed(HttpClient.HttpClient, transport)))
          )
        )
    }
  })

/** What the model expects of the policy where it is: `makeWith` with the policy in context has none. */
const effective = (c: Case): Case => ({
  ...c,
  base: baseOf(c),
  policy: c.build === "makeWith" && c.policy === "context" ? "none" : c.policy
})

const call = (
  api: SturdyClient.SturdyClient,
  c: Case,
  onEvent: (event: Policy.Event) => Effect.Effect<void>
): Effect.Effect<unknown, Policy.Failure> => {
  const target = c.asRequest === undefined
    ? c.path
    : HttpClientRequest.make(c.asRequest.method as "GET")(c.path, {
      headers: c.asRequest.headers,
      urlParams: c.asRequest.urlParams
    })
  const options = requestOptionsOf(c, onEvent)
  const method = api[c.verb] as SturdyClient.SturdyClient.Method
  return c.json
    ? method(target, { ...options, schema: Reply })
    : Effect.flatMap(method(target, options), readBack)
}

/**
 * What a caller can read of `Received` and of the response it hands back: `body` on a plain `ArrayBuffer`, `text` its
 * UTF-8, the platform response with the same status and headers, whose body (read whole) every later reader gets
 * again: `text`, `json` (an empty body is `null`; one that does not parse a `ResponseError` `Decode`), `arrayBuffer`
 * and `urlParamsBody` (`ClientResponse`'s docs, `ScriptedClient`'s and `UndiciHttpClient`'s: "a body read whole is
 * kept").
 */
const readBack = (received: Attempt.Received) =>
  Effect.gen(function*() {
    const response = received.response
    const again = yield* Effect.either(response.text)
    const json = yield* Effect.either(response.json)
    const buffer = yield* Effect.either(response.arrayBuffer)
    const params = yield* Effect.either(response.urlParamsBody)
    return {
      status: received.status,
      text: received.text,
      plainBuffer: received.body.buffer instanceof ArrayBuffer &&
        received.body.byteLength === received.body.buffer.byteLength,
      bytesAreText: new TextDecoder().decode(received.body) === received.text,
      sameResponse: response.status === received.status &&
        response.headers["content-type"] === received.headers["content-type"] &&
        received.request.method === received.response.request.method,
      again: Either.getOrElse(again, (e) => `<${e.reason}>`),
      json: Either.getOrElse(Either.map(json, (j) => JSON.stringify(j)), (e) => `<${e.reason}>`),
      buffer: Either.getOrElse(Either.map(buffer, (b) => new TextDecoder().decode(b)), (e) => `<${e.reason}>`),
      params: Either.getOrElse(Either.map(params, (p) => JSON.stringify(p)), (e) => `<${e.reason}>`)
    }
  })

const observe = (exit: Exit.Exit<unknown, unknown>): Outcome => {
  if (Exit.isSuccess(exit)) return { _tag: "Success", value: exit.value }
  const failure = Cause.failureOption(exit.cause)
  if (Option.isNone(failure)) throw new Error(`expected a typed failure, got ${Cause.pretty(exit.cause)}`)
  const error = failure.value
  if (!HttpFailure.isHttpFailure(error)) throw new Error(`expected an HttpFailure, got ${String(error)}`)
  return {
    _tag: "Failure",
    tag: error._tag,
    reason: "reason" in error ? error.reason : undefined,
    phase: error._tag === "Timeout" ? error.phase : undefined,
    timeoutMillis: error._tag === "Timeout" ? Duration.toMillis(error.timeout) : undefined,
    status: "status" in error && error._tag !== "BodyTruncated" ? error.status : undefined,
    payload: "payload" in error ? error.payload : undefined,
    attempts: error.attempts,
    details: "detail" in error ? [error.detail] : undefined,
    method: error.method,
    url: error.url
  }
}

/**
 * The failure's URL is a display form (`Redaction` re-encodes the query: a space as `%20` where the wire has `+`):
 * the same URL when origin, path and the decoded query pairs agree.
 */
const sameUrl = (observed: string | undefined, expected: string): boolean => {
  if (observed === undefined) return false
  if (observed === expected) return true
  try {
    const a = new URL(observed)
    const b = new URL(expected)
    return a.origin === b.origin && a.pathname === b.pathname && a.hash === b.hash &&
      JSON.stringify([...a.searchParams]) === JSON.stringify([...b.searchParams])
  } catch {
    return false
  }
}

const agrees = (observed: Outcome, expected: Outcome, c: Case): void => {
  const context = `case ${JSON.stringify(c, (_, v) => typeof v === "bigint" ? `${v}n` : v)}`
  if (expected._tag === "Success" || observed._tag === "Success") {
    expect(observed, context).toEqual(expected)
    return
  }
  expect(observed.tag, context).toBe(expected.tag)
  if (expected.reason !== undefined) expect(observed.reason, context).toBe(expected.reason)
  if (expected.status !== undefined) expect(observed.status, context).toBe(expected.status)
  expect(observed.phase, context).toBe(expected.phase)
  expect(observed.timeoutMillis, context).toBe(expected.timeoutMillis)
  if (expected.payload !== undefined) expect(observed.payload, context).toEqual(expected.payload)
  expect(observed.attempts, context).toBe(expected.attempts)
  expect(observed.method, context).toBe(expected.method)
  if (expected.url !== undefined) expect(sameUrl(observed.url, expected.url), `${context}: ${observed.url}`).toBe(true)
  if (expected.details !== undefined) {
    for (const field of expected.details) expect(observed.details?.[0], context).toContain(`${field} `)
  }
}

const generatedNames = [
  "x-default",
  "x-both",
  "x-own",
  "x-req",
  "x-case",
  "accept",
  "idempotency-key",
  "content-type",
  "content-length"
]

/**
 * The generated headers, those the model sets and the body's, as a request has them. A `Content-Length: 0` is the
 * transport's to send or not (undici sends one for a method that expects a body, RFC 9110 §8.6; the platform's
 * `HttpClient.make` leaves out a zero length): left out of the comparison.
 */
const pick = (headers: Readonly<Record<string, string>>) => {
  const picked: Record<string, string> = {}
  for (const name of generatedNames) if (headers[name] !== undefined) picked[name] = headers[name]
  if (picked["content-length"] === "0") delete picked["content-length"]
  return picked
}

const bytesOf = (request: HttpClientRequest.HttpClientRequest): string | undefined =>
  request.body._tag === "Uint8Array"
    ? new TextDecoder().decode(request.body.body)
    : request.body._tag === "Empty"
    ? undefined
    : `<${request.body._tag}>`

interface AtTransport {
  readonly method: string
  readonly url: string
  readonly body: string | undefined
  readonly contentType: string | undefined
}

/** The transport wrapped to record each request it is handed, as it is handed (after every middleware). */
const recording = (transport: HttpClient.HttpClient, seen: Array<AtTransport>) =>
  HttpClient.tapRequest(transport, (request) =>
    Effect.sync(() => {
      let url: string
      try {
        const parsed = new URL(request.url)
        for (const [key, value] of request.urlParams) parsed.searchParams.append(key, value)
        if (request.hash._tag === "Some") parsed.hash = request.hash.value
        url = parsed.toString()
      } catch {
        // the platform refuses a URL that does not parse before anything is sent
        return
      }
      seen.push({
        method: request.method,
        url,
        body: bytesOf(request),
        contentType: request.body._tag === "Empty" ? undefined : request.body.contentType
      })
    }))

const checkTransport = (seen: ReadonlyArray<AtTransport>, expected: Prediction, c: Case) => {
  const context = `case ${JSON.stringify(c, (_, v) => typeof v === "bigint" ? `${v}n` : v)}`
  expect(seen, context).toEqual(
    expected.sent.map((wire) => ({
      method: wire.method,
      url: wire.url,
      body: wire.body,
      contentType: wire.contentType
    }))
  )
}

const checkServerLog = (
  log: ReadonlyArray<FaultScript.LoggedRequest>,
  expected: Prediction,
  c: Case
) => {
  const context = `case ${JSON.stringify(c, (_, v) => typeof v === "bigint" ? `${v}n` : v)}`
  expect(
    log.map((seen) => ({
      method: seen.method,
      path: seen.path,
      headers: pick(seen.headers)
    })),
    context
  ).toEqual(
    expected.sent.map((wire) => {
      const url = new URL(wire.url)
      return {
        method: wire.method,
        path: url.pathname + url.search,
        headers: {
          ...pick(wire.headers),
          ...(wire.body === undefined ? {} : { "content-type": wire.contentType }),
          ...(wire.body === undefined || wire.body === "" ? {} : {
            "content-length": String(new TextEncoder().encode(wire.body).length)
          })
        }
      }
    })
  )
}

const startedAttempts = (events: ReadonlyArray<Policy.Event>): number =>
  events.filter((event) => event._tag === "AttemptStarted").length

// -----------------------------------------------------------------------------
// properties
// -----------------------------------------------------------------------------

describe("SturdyClient sends the request and answers as the docs say", () => {
  it.effect.prop(
    "ScriptedClient: the request at the transport and on the server, and the caller's answer, agree with the model",
    [caseArb("http://api.test")],
    ([c]) =>
      Effect.gen(function*() {
        const model = effective(c)
        const expected = predict(model)
        const scripted = yield* ScriptedClient.make(routesOf(c))
        const seen: Array<AtTransport> = []
        const events: Array<Policy.Event> = []
        const api = yield* serviceOf(c, recording(scripted.client, seen))
        expect(Option.isSome(api.policy)).toBe(model.policy !== "none")
        const fiber = yield* Effect.fork(
          Effect.timed(Effect.exit(call(api, c, (event) => Effect.sync(() => events.push(event)))))
        )
        yield* TestClock.adjust("1 minute")
        const [elapsed, exit] = yield* Fiber.join(fiber)
        agrees(observe(exit), expected.outcome, c)
        expect(Duration.toMillis(elapsed), "virtual time taken").toBe(expected.elapsed)
        checkTransport(seen, expected, c)
        checkServerLog(yield* scripted.requests, expected, c)
        // `onEvent` sees this call's pipeline: one AttemptStarted an attempt (with a policy only)
        expect(startedAttempts(events)).toBe(expected.started)
        if (model.policy === "none") expect(events).toEqual([])
        yield* scripted.awaitIdle
      }).pipe(Effect.scoped),
    { fastCheck: { seed: 20261207, numRuns: 600 } }
  )

  it.live(
    "UndiciHttpClient against a FaultServer on 127.0.0.1: the server sees what the model predicts",
    () =>
      Effect.gen(function*() {
        const server = yield* FaultServer.make(FaultScript.routes({ "/*": FaultScript.status(200) }))
        const transport = yield* HttpClient.HttpClient
        yield* Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(
              // a body on GET, HEAD, OPTIONS and TRACE is left to the scripted property: node:http's parser and
              // undici treat those their own way
              caseArb(server.url).filter((c) =>
                !(["GET", "HEAD", "OPTIONS", "TRACE"].includes(methodOf(c)) && c.body.k !== "none")
              ).map((c) => ({ ...c, answers: [unhung(c.answers[0]), unhung(c.answers[1])] as const })),
              (c) =>
                Effect.runPromise(Effect.scoped(Effect.gen(function*() {
                  yield* server.setScript("* /*", FaultScript.sequence(faultOf(c.answers[0]), faultOf(c.answers[1])))
                  yield* server.reset
                  const model = effective(c)
                  const expected = predict(model)
                  const seen: Array<AtTransport> = []
                  const events: Array<Policy.Event> = []
                  const api = yield* serviceOf(c, recording(transport, seen))
                  const exit = yield* Effect.exit(
                    call(api, c, (event) => Effect.sync(() => events.push(event))).pipe(
                      // an I/O guard against a hang, not a timing assertion
                      Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => new Error("the call hung") })
                    )
                  )
                  agrees(observe(exit), expected.outcome, c)
                  checkTransport(seen, expected, c)
                  yield* server.awaitIdle.pipe(
                    Effect.timeoutFail({
                      duration: "5 seconds",
                      onTimeout: () => new Error("a request was left open")
                    }),
                    Effect.orDie
                  )
                  checkServerLog(yield* server.requests, expected, c)
                  expect(startedAttempts(events)).toBe(expected.started)
                })))
            ),
            { seed: 1207, numRuns: 80 }
          )
        )
      }).pipe(Effect.scoped, Effect.provide(UndiciHttpClient.layer())),
    60_000
  )
})

// -----------------------------------------------------------------------------
// the service's `client`
// -----------------------------------------------------------------------------

/**
 * `client` as the docs say it: base URL, default headers, the client's `timeout` and classification applied, bodies
 * unread, no policy. So: the request as the model builds it without the call's options (no `Accept` of its own), one
 * attempt whatever the policy, a 2xx handed over (its status), any other answer its status failure; a hang fails with
 * the client's `timeout` (none: a reset instead).
 */
const predictClient = (c: Case): Prediction => {
  const plain: Case = {
    ...c,
    policy: "none",
    verb: "execute",
    headers: undefined,
    urlParams: undefined,
    body: { k: "none" },
    json: false,
    expected: undefined,
    errorSchema: false,
    requestBad: undefined,
    requestTimeout: undefined
  }
  const prediction = predict(plain)
  const { outcome } = prediction
  return {
    ...prediction,
    outcome: outcome._tag === "Success"
      ? { _tag: "Success", value: (outcome.value as { readonly status: number }).status }
      : outcome
  }
}

describe("SturdyClient's client", () => {
  it.effect.prop(
    "applies base URL, default headers, timeout and classification, and does not run through the policy",
    [
      caseArb("http://api.test").map((c) =>
        c.clientTimeout === undefined
          ? { ...c, answers: [unhung(c.answers[0]), unhung(c.answers[1])] as const }
          : c
      )
    ],
    ([c]) =>
      Effect.gen(function*() {
        const model = effective(c)
        const expected = predictClient(model)
        const scripted = yield* ScriptedClient.make(routesOf(c))
        const seen: Array<AtTransport> = []
        const api = yield* serviceOf(c, recording(scripted.client, seen))
        const request = HttpClientRequest.make((c.asRequest?.method ?? "GET") as "GET")(c.path, {
          headers: c.asRequest?.headers ?? {},
          urlParams: c.asRequest?.urlParams ?? []
        })
        const fiber = yield* Effect.fork(
          Effect.timed(Effect.exit(Effect.map(api.client.execute(request), (response) => response.status)))
        )
        yield* TestClock.adjust("1 minute")
        const [elapsed, exit] = yield* Fiber.join(fiber)
        agrees(observe(exit), expected.outcome, c)
        expect(Duration.toMillis(elapsed), "virtual time taken").toBe(expected.elapsed)
        checkTransport(seen, expected, c)
        checkServerLog(yield* scripted.requests, expected, c)
        yield* scripted.awaitIdle
      }).pipe(Effect.scoped),
    { fastCheck: { seed: 71207, numRuns: 200 } }
  )
})

// -----------------------------------------------------------------------------
// layerConfig
// -----------------------------------------------------------------------------

interface ConfigCase {
  readonly url: string | undefined
  readonly maxBody: string | undefined
  readonly timeout: string | undefined
  /** An API key read from config, sent as a default header. */
  readonly key: string | undefined
  /** A `Policy` layer below the client's. */
  readonly policy: boolean
}

const configCaseArb: fc.Arbitrary<ConfigCase> = fc.record({
  url: fc.constantFrom<string | undefined>("http://api.test", "http://api.test/v1/", undefined),
  maxBody: fc.constantFrom<string | undefined>("1048576", "0", "-1", "1.5", "many", undefined),
  timeout: fc.constantFrom<string | undefined>("5 seconds", "0 millis", "soon", undefined),
  key: fc.constantFrom<string | undefined>("k-1", undefined),
  policy: fc.boolean()
})

describe("SturdyClient.layerConfig", () => {
  it.effect.prop(
    "values read from config build the client the docs describe, or fail the layer with a ConfigError naming them",
    [configCaseArb],
    ([c]) =>
      Effect.gen(function*() {
        const scripted = yield* ScriptedClient.make(
          FaultScript.routes({ "/*": FaultScript.json({ id: 1, name: "a" }) })
        )
        const entries: Array<[string, string]> = []
        if (c.url !== undefined) entries.push(["API_URL", c.url])
        if (c.maxBody !== undefined) entries.push(["API_MAX_BODY", c.maxBody])
        if (c.timeout !== undefined) entries.push(["API_TIMEOUT", c.timeout])
        if (c.key !== undefined) entries.push(["API_KEY", c.key])
        const events: Array<Policy.Event> = []
        const onEvent = (event: Policy.Event) => Effect.sync(() => events.push(event))
        const below = Layer.succeed(HttpClient.HttpClient, scripted.client)
        const exit = yield* Effect.exit(
          Effect.flatMap(SturdyClient.SturdyClient, (api) => api.get("users", { schema: Reply, onEvent })).pipe(
            Effect.provide(
              SturdyClient.layerConfig({
                baseUrl: Config.string("API_URL"),
                headers: Config.option(Config.string("API_KEY")).pipe(
                  Config.map(Option.match({ onNone: () => undefined, onSome: (key) => ({ "x-api-key": key }) }))
                ),
                maxBodyBytes: Config.option(Config.number("API_MAX_BODY")).pipe(Config.map(Option.getOrUndefined)),
                timeout: Config.option(Config.duration("API_TIMEOUT")).pipe(Config.map(Option.getOrUndefined))
              }).pipe(
                Layer.provide(c.policy ? Layer.merge(below, Policy.layer(policyOptions)) : below)
              )
            ),
            Effect.withConfigProvider(ConfigProvider.fromMap(new Map(entries)))
          )
        )
        // the model: a missing or unparsable value is Config's own error naming its key; one out of range (a negative
        // or fractional limit, a zero duration) is the layer's, naming the option
        const problems: Array<string> = []
        if (c.url === undefined) problems.push("API_URL")
        if (c.maxBody === "many") problems.push("API_MAX_BODY")
        if (c.timeout === "soon") problems.push("API_TIMEOUT")
        const outOfRange: Array<string> = []
        if (c.maxBody === "-1" || c.maxBody === "1.5") outOfRange.push("maxBodyBytes")
        if (c.timeout === "0 millis") outOfRange.push("timeout")
        const requests = yield* scripted.requests
        if (problems.length === 0 && outOfRange.length === 0) {
          // a body limit of 0 refuses the body of {"id":1,"name":"a"}
          if (c.maxBody === "0") {
            expect(Exit.isFailure(exit) && observe(exit)).toMatchObject({ tag: "BodyTooLarge" })
          } else expect(exit).toEqual(Exit.succeed({ id: 1, name: "a" }))
          expect(requests.map((r) => r.path)).toEqual([c.url === "http://api.test" ? "/users" : "/v1/users"])
          expect(requests.map((r) => r.headers["x-api-key"])).toEqual([c.key])
          // through the Policy below it when there is one
          expect(startedAttempts(events)).toBe(c.policy ? 1 : 0)
          return
        }
        expect(Exit.isFailure(exit)).toBe(true)
        const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
        expect(ConfigError.isConfigError(error), String(error)).toBe(true)
        const text = String(error)
        if (problems.length > 0) expect(problems.some((key) => text.includes(key)), text).toBe(true)
        else for (const field of outOfRange) expect(text).toContain(field)
        expect(requests).toEqual([])
      }).pipe(Effect.scoped),
    { fastCheck: { seed: 61207, numRuns: 60 } }
  )
})
