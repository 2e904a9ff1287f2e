// Model-based properties of `Redirect.follow`, with `Idempotency` and the classification of redirect outcomes by
// `Attempt` and `Policy`, over `@sturdy/testing`'s ScriptedClient (one wildcard route whose Sequence answers the n-th
// request with the n-th generated response, whatever its URL; a recorder under the redirect middleware sees every
// hop as the transport gets it).
//
// The model (`predict`) is written from the module docs of `Redirect` (the status table, "Another origin", "Dropping
// the body", the limits and failures, "a retry starts again from the first URL"), `Redaction` (which header names are
// secret: `authorization`, `proxy-authorization`, `cookie`, names containing `api-key`/`token`/`session`, names ending
// in `-key`, names added with `withSecretNames`, values given to `registerSecretValues`), `Idempotency` and
// `HttpFailure` (`RedirectFailed`'s fields; 3xx as `UnexpectedStatus`; `RedirectFailed` not transient). URLs are
// resolved with WHATWG `URL` (the fetch standard's parser), fragments inherited as fetch's "HTTP-redirect fetch"
// step 16 says (a Location without a fragment takes the current URL's).
//
// It predicts, hop by hop: each request's method, URL (query and user info), fragment, exact header set and whether
// it carries the original body; then the outcome: the 2xx, the returned 3xx or other status failure (tag, status,
// method and URL), or `RedirectFailed` with reason, status, redirects, redacted `location` and the first request's
// method and redacted URL; that no secret of the chain shows in the failure (fields, message, JSON).
//
// Rules taken from the code, not the docs: a read-once body blocks 301/302 hops that keep the method too (PUT, PATCH),
// not only 307/308; the checks of a hop run in the order read-once body → Location parse/scheme → limit → downgrade; a
// status failure names the last hop's request (method, URL), `RedirectFailed` the first request; the `location` of
// `TooMany`/`Downgrade` is the resolved target, that of `InvalidLocation` the raw header; an empty `Location` is
// followed (to the same URL).
//
// Left out: non-ASCII Locations (FaultScript refuses them), the body discard, `Auth` ordering, hedging.
//
// Mutants checked (each made a property fail with a shrunk counterexample, then restored from a copy):
//   source internal/redirect.ts: 303 keeps POST; 301/302 keep POST; body kept when the method changes;
//   `content-language` not a body header; `host` kept on another origin; the `Redaction.isSecretHeaderName` check
//   removed; the registered-value check removed; origin compared without the port; URL credentials kept across
//   origins; fragment never inherited; the empty-fragment fix reverted; `redirects > maxRedirects` (off by one);
//   `allowDowngrade` ignored; the read-once check removed; `javascript:` accepted; `RedirectFailed` naming the hop's
//   request instead of the first. (`cookie` left out of the cross-origin list survives: its name is secret for
//   `Redaction` too, so the list entry is redundant.)
//   model: 303 turns HEAD into GET; Idempotency-Key dropped on another origin; a POST without key repeated; a retry
//   continuing the chain instead of restarting it; the deadline's tie given to the attempt; the attempt's time
//   counting only the last hop.
//
// Found: a `Location` with an empty fragment (`/next#`) inherited the previous fragment (fetch gives it none): fixed,
// regression in Redirect.test.ts.
import { HttpBody, HttpClient, HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Attempt, HttpFailure, Idempotency, Policy, Redaction, Redirect } from "@sturdy/http"
import { FaultScript, ScriptedClient } from "@sturdy/testing"
import { Clock, Duration, Effect, FastCheck as fc, Fiber, Stream, TestClock, TestContext } from "effect"
import { Readable } from "node:stream"

// -----------------------------------------------------------------------------
// generated requests
// -----------------------------------------------------------------------------

type Method = "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS"
type BodyKind =
  | "none"
  | "bytes"
  | "text"
  | "json"
  | "form"
  | "formData"
  | "stream"
  | "readable"
  | "webStream"
  | "asyncIterable"
const readOnce: ReadonlySet<BodyKind> = new Set(["stream", "readable", "webStream", "asyncIterable"])

/** Headers a request may carry, with the value each has, and whether the docs call it secret (dropped cross-origin). */
const optionalHeaders = {
  authorization: ["Bearer tok-AUTH1", true],
  "proxy-authorization": ["Basic cHJveHktU0VDUjI=", true],
  cookie: ["sid=cookie-S3", true],
  "x-api-key": ["key-API4", true],
  "x-session-token": ["tok-SESS5", true],
  // added with Redaction.withSecretNames around the call
  "x-tenant-ref": ["ref-CUST6", true],
  // a plain name whose value is registered with Redaction.registerSecretValues
  "x-carrier": ["carried-V9", true],
  host: ["api.test", true],
  // `-key` at the end: a secret name for Redaction, but no credential: it goes on to another origin
  "idempotency-key": ["idem-K7", false],
  "content-language": ["en", false],
  "content-location": ["/doc", false],
  "content-encoding": ["identity", false],
  "x-trace": ["plain-8", false]
} as const satisfies Record<string, readonly [string, boolean]>
type HeaderName = keyof typeof optionalHeaders
const headerNames = Object.keys(optionalHeaders) as Array<HeaderName>
const bodyHeaders = ["content-type", "content-length", "content-encoding", "content-language", "content-location"]
const secretNames = new Set(headerNames.filter((name) => optionalHeaders[name][1]))

/** Values that must never show in a failure. */
const staticSecrets = ["tok-AUTH1", "cookie-S3", "key-API4", "tok-SESS5", "ref-CUST6", "carried-V9", "pw-U0"]

interface RequestSpec {
  readonly method: Method
  readonly body: BodyKind
  readonly headers: ReadonlyArray<HeaderName>
  readonly https: boolean
  readonly userInfo: boolean
  readonly params: boolean
  readonly fragment: boolean
}

const methods: ReadonlyArray<Method> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
const bodyKinds: ReadonlyArray<BodyKind> = [
  "none",
  "bytes",
  "text",
  "json",
  "form",
  "formData",
  "stream",
  "readable",
  "webStream",
  "asyncIterable"
]

const requestSpec: fc.Arbitrary<RequestSpec> = fc.record({
  method: fc.constantFrom(...methods),
  body: fc.constantFrom(...bodyKinds),
  headers: fc.subarray(headerNames),
  https: fc.boolean(),
  userInfo: fc.boolean(),
  params: fc.boolean(),
  fragment: fc.boolean()
}).map((s) => s.method === "GET" || s.method === "HEAD" ? { ...s, body: "none" as const } : s)

const firstUrl = (s: RequestSpec) =>
  `${s.https ? "https" : "http"}://${s.userInfo ? "alice:pw-U0@" : ""}api.test/p/h0${s.fragment ? "#frag-F0" : ""}`

const makeBody = (kind: BodyKind): HttpBody.HttpBody => {
  switch (kind) {
    case "none":
      return HttpBody.empty
    case "bytes":
      return HttpBody.uint8Array(new Uint8Array([1, 2, 3]), "application/octet-stream")
    case "text":
      return HttpBody.text("hello", "text/plain")
    case "json":
      return HttpBody.unsafeJson({ sku: "A-1" })
    case "form":
      return HttpBody.urlParams([["a", "1"]] as unknown as Parameters<typeof HttpBody.urlParams>[0])
    case "formData": {
      const data = new FormData()
      data.append("a", "1")
      return HttpBody.formData(data)
    }
    case "stream":
      return HttpBody.stream(Stream.make(new Uint8Array([1])), "application/octet-stream")
    case "readable":
      return HttpBody.raw(Readable.from([Buffer.from("abc")]))
    case "webStream":
      return HttpBody.raw(new ReadableStream({ start: (controller) => controller.close() }))
    case "asyncIterable":
      return HttpBody.raw({ async *[Symbol.asyncIterator]() {} })
  }
}

const buildRequest = (s: RequestSpec): HttpClientRequest.HttpClientRequest => {
  const extra: Record<string, string> = {}
  for (const name of s.headers) extra[name] = optionalHeaders[name][0]
  return HttpClientRequest.make(s.method)(firstUrl(s), s.params ? { urlParams: { page: "1" } } : {}).pipe(
    HttpClientRequest.setBody(makeBody(s.body)),
    HttpClientRequest.setHeaders(extra)
  )
}

// -----------------------------------------------------------------------------
// generated chains
// -----------------------------------------------------------------------------

type LocationForm =
  | { readonly _tag: "Relative" }
  | { readonly _tag: "DotDot" }
  | { readonly _tag: "AbsolutePath" }
  | { readonly _tag: "ProtocolRelative"; readonly host: string }
  | { readonly _tag: "Absolute"; readonly https: boolean; readonly host: string; readonly userInfo: boolean }
  | { readonly _tag: "Empty" }
  | { readonly _tag: "First" }
  | { readonly _tag: "Bad"; readonly value: string }

interface LocationSpec {
  readonly form: LocationForm
  readonly query: "none" | "plain" | "secret"
  readonly fragment: "none" | "value" | "empty"
}

const hosts = ["api.test", "API.test", "api.test:8443", "other.test", "api.test:80", "api.test:443"]
const badLocations = [
  "file:///etc/passwd",
  "data:,x",
  "javascript:alert(1)",
  "ftp://other.test/x",
  "mailto:a@b.test",
  "http://[zz]/",
  "http://exa mple.test/"
]

const locationSpec: fc.Arbitrary<LocationSpec> = fc.record({
  form: fc.oneof(
    { weight: 3, arbitrary: fc.constant<LocationForm>({ _tag: "Relative" }) },
    { weight: 1, arbitrary: fc.constant<LocationForm>({ _tag: "DotDot" }) },
    { weight: 2, arbitrary: fc.constant<LocationForm>({ _tag: "AbsolutePath" }) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(...hosts).map((host): LocationForm => ({ _tag: "ProtocolRelative", host }))
    },
    {
      weight: 4,
      arbitrary: fc.record({ https: fc.boolean(), host: fc.constantFrom(...hosts), userInfo: fc.boolean() }).map((
        r
      ): LocationForm => ({ _tag: "Absolute", ...r }))
    },
    { weight: 1, arbitrary: fc.constant<LocationForm>({ _tag: "Empty" }) },
    { weight: 1, arbitrary: fc.constant<LocationForm>({ _tag: "First" }) },
    { weight: 1, arbitrary: fc.constantFrom(...badLocations).map((value): LocationForm => ({ _tag: "Bad", value })) }
  ),
  query: fc.constantFrom("none", "plain", "secret"),
  fragment: fc.constantFrom("none", "value", "empty")
})

const renderLocation = (spec: LocationSpec, n: number): string => {
  const form = spec.form
  if (form._tag === "Bad") return form.value
  if (form._tag === "Empty") return ""
  const query = spec.query === "none" ? "" : spec.query === "plain" ? `?q=${n}` : `?access_token=tok-Q${n}`
  const fragment = spec.fragment === "none" ? "" : spec.fragment === "empty" ? "#" : `#frag-L${n}`
  const tail = `${query}${fragment}`
  switch (form._tag) {
    case "Relative":
      return `h${n}${tail}`
    case "DotDot":
      return `../p/h${n}${tail}`
    case "AbsolutePath":
      return `/p/h${n}${tail}`
    case "ProtocolRelative":
      return `//${form.host}/p/h${n}${tail}`
    case "Absolute":
      return `${form.https ? "https" : "http"}://${form.userInfo ? `bob:pw-L${n}@` : ""}${form.host}/p/h${n}${tail}`
    case "First":
      return `https://api.test/p/h0${tail}`
  }
}

type RedirectStatus = 301 | 302 | 303 | 307 | 308
const redirectStatuses: ReadonlyArray<RedirectStatus> = [301, 302, 303, 307, 308]

/** One response of the chain: a redirect with a Location, or the end of it (a status the middleware returns). */
type Step =
  | { readonly _tag: "Redirect"; readonly status: RedirectStatus; readonly location: string; readonly latency: number }
  | { readonly _tag: "Final"; readonly status: number; readonly location: string | undefined; readonly latency: number }

const finalStep: fc.Arbitrary<Step> = fc.record({
  status: fc.constantFrom(200, 200, 200, 300, 304, 305, 301, 302, 303, 307, 308, 404, 503),
  withLocation: fc.boolean(),
  latency: fc.constant(0)
}).map(({ latency, status, withLocation }): Step => ({
  _tag: "Final",
  status,
  // a 301..308 without Location ends the chain; 300, 304 and 305 end it with one too
  location: withLocation && !redirectStatuses.includes(status as RedirectStatus) ? "/p/elsewhere" : undefined,
  latency
}))

/**
 * Redirects, then the end of the chain; or (`endless`) redirects whose last one repeats for ever (the script repeats its
 * last step), a loop only the limit ends.
 */
const chain = (minHops: number, maxHops: number): fc.Arbitrary<ReadonlyArray<Step>> =>
  fc.tuple(
    fc.array(fc.tuple(fc.constantFrom(...redirectStatuses), locationSpec), { minLength: minHops, maxLength: maxHops }),
    finalStep,
    fc.boolean()
  ).map(([hops, last, endless]) => {
    const redirects = hops.map(([status, spec], i): Step => ({
      _tag: "Redirect",
      status,
      location: renderLocation(spec, i + 1),
      latency: 0
    }))
    return endless && redirects.length > 0 ? redirects : [...redirects, last]
  })

const faultOf = (step: Step): FaultScript.Fault => {
  const location = step._tag === "Redirect" ? step.location : step.location
  const base = step._tag === "Final" && step.status === 200
    ? FaultScript.json({ ok: true })
    : FaultScript.status(step.status, location === undefined ? {} : { headers: { location } })
  return step.latency > 0 ? FaultScript.withLatency(base, Duration.millis(step.latency)) : base
}

// -----------------------------------------------------------------------------
// running a chain
// -----------------------------------------------------------------------------

/** A request as the transport got it. */
interface Sent {
  readonly at: number
  readonly method: string
  /** Without the fragment. */
  readonly url: string
  readonly fragment: string | undefined
  readonly headers: Readonly<Record<string, string>>
  readonly body: HttpBody.HttpBody
}

const scriptedTransport = (steps: ReadonlyArray<Step>, afterLast: "repeatLast" | "cycle") =>
  Effect.gen(function*() {
    const scripted = yield* ScriptedClient.make(
      FaultScript.routes([{
        method: "*",
        path: "/*",
        script: { _tag: "Sequence", steps: steps.map(faultOf) as [FaultScript.Fault], afterLast }
      }])
    )
    const sent: Array<Sent> = []
    const client = HttpClient.make((request, url) =>
      Effect.gen(function*() {
        const at = yield* Clock.currentTimeMillis
        const withoutHash = new URL(url.href)
        withoutHash.hash = ""
        sent.push({
          at,
          method: request.method,
          url: withoutHash.href,
          fragment: url.hash === "" ? undefined : url.hash.slice(1),
          // the platform's trace propagation is not the middleware's
          headers: Object.fromEntries(
            Object.entries(request.headers).filter(([name]) => name !== "b3" && name !== "traceparent")
          ),
          body: request.body
        })
        return yield* scripted.client.execute(request)
      })
    )
    return { client, sent }
  })

const withSecrets = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.zipRight(Redaction.registerSecretValues("carried-V9"), Redaction.withSecretNames(self, ["x-tenant-ref"]))

// -----------------------------------------------------------------------------
// the model
// -----------------------------------------------------------------------------

interface ExpectedHop {
  readonly method: string
  readonly url: string
  readonly fragment: string | undefined
  readonly headers: Readonly<Record<string, string>>
  readonly originalBody: boolean
}

type Outcome =
  | { readonly _tag: "Ok" }
  | { readonly _tag: "Status"; readonly status: number; readonly hop: number }
  | {
    readonly _tag: "RedirectFailed"
    readonly reason: "TooMany" | "InvalidLocation" | "Downgrade"
    readonly status: number
    readonly redirects: number
    /** The unredacted target, for the cases without secrets. */
    readonly target: string
  }

interface Prediction {
  readonly hops: ReadonlyArray<ExpectedHop>
  readonly outcome: Outcome
}

const methodAfter = (method: string, status: number): string =>
  status === 303 ? (method === "HEAD" ? "HEAD" : "GET") : (status === 301 || status === 302) && method === "POST"
    ? "GET"
    : method

const predict = (
  spec: RequestSpec,
  request: HttpClientRequest.HttpClientRequest,
  steps: ReadonlyArray<Step>,
  options: { readonly maxRedirects: number; readonly allowDowngrade: boolean },
  viaAttempt: boolean
): Prediction => {
  const first = new URL(firstUrl(spec))
  first.hash = ""
  if (spec.params) first.searchParams.append("page", "1")
  let hop: ExpectedHop = {
    method: spec.method,
    url: first.href,
    // `Attempt` sends a request without its fragment (internal/attempt.ts `withoutFragment`)
    fragment: spec.fragment && !viaAttempt ? "frag-F0" : undefined,
    headers: { ...request.headers },
    originalBody: true
  }
  const hops: Array<ExpectedHop> = [hop]
  for (let i = 0;; i++) {
    const step = steps[Math.min(i, steps.length - 1)]
    if (step._tag === "Final") {
      return { hops, outcome: step.status === 200 ? { _tag: "Ok" } : { _tag: "Status", status: step.status, hop: i } }
    }
    const status = step.status
    const method = methodAfter(hop.method, status)
    const keepsBody = method === hop.method
    if (keepsBody && hop.originalBody && readOnce.has(spec.body)) {
      return { hops, outcome: { _tag: "Status", status, hop: i } }
    }
    const from = new URL(hop.url)
    let to: URL
    try {
      to = new URL(step.location, from)
    } catch {
      return {
        hops,
        outcome: { _tag: "RedirectFailed", reason: "InvalidLocation", status, redirects: i, target: step.location }
      }
    }
    if (to.protocol !== "http:" && to.protocol !== "https:") {
      return {
        hops,
        outcome: { _tag: "RedirectFailed", reason: "InvalidLocation", status, redirects: i, target: step.location }
      }
    }
    if (i >= options.maxRedirects) {
      return { hops, outcome: { _tag: "RedirectFailed", reason: "TooMany", status, redirects: i, target: to.href } }
    }
    if (!options.allowDowngrade && from.protocol === "https:" && to.protocol === "http:") {
      return { hops, outcome: { _tag: "RedirectFailed", reason: "Downgrade", status, redirects: i, target: to.href } }
    }
    const crossOrigin = from.origin !== to.origin
    const headers: Record<string, string> = {}
    for (const [name, value] of Object.entries(hop.headers)) {
      if (crossOrigin && secretNames.has(name as HeaderName)) continue
      if (!keepsBody && bodyHeaders.includes(name)) continue
      headers[name] = value
    }
    if (crossOrigin) {
      to.username = ""
      to.password = ""
    } else if (to.username === "" && to.password === "") {
      to.username = from.username
      to.password = from.password
    }
    // fetch: a Location whose fragment is null (no `#`) takes the current URL's
    const fragment = step.location.includes("#") ? (to.hash === "" ? undefined : to.hash.slice(1)) : hop.fragment
    to.hash = ""
    hop = { method, url: to.href, fragment, headers, originalBody: keepsBody && hop.originalBody }
    hops.push(hop)
  }
}

const secretsOfChain = (steps: ReadonlyArray<Step>): ReadonlyArray<string> => [
  ...staticSecrets,
  ...steps.flatMap((_, i) => [`pw-L${i + 1}`, `tok-Q${i + 1}`])
]

/** Whether a URL as written carries anything secret (user info, a secret parameter, a fragment). */
const hasSecretPart = (url: string) => url.includes("@") || url.includes("access_token") || url.includes("#")

const expectNoSecrets = (failure: unknown, secrets: ReadonlyArray<string>) => {
  const f = failure as { message: string; toJSON?: () => unknown }
  const shown = `${f.message} ${JSON.stringify(f)} ${JSON.stringify(f.toJSON?.())}`
  for (const secret of secrets) expect(shown, `leaks ${secret}`).not.toContain(secret)
}

const checkHops = (sent: ReadonlyArray<Sent>, expected: ReadonlyArray<ExpectedHop>, original: HttpBody.HttpBody) => {
  expect(sent.map((s) => `${s.method} ${s.url}`)).toEqual(expected.map((h) => `${h.method} ${h.url}`))
  expect(sent.map((s) => s.fragment)).toEqual(expected.map((h) => h.fragment))
  expect(sent.map((s) => ({ ...s.headers }))).toEqual(expected.map((h) => h.headers))
  expect(sent.map((s) => s.body === original || (s.body._tag === "Empty" && original._tag === "Empty"))).toEqual(
    expected.map((h) => h.originalBody || original._tag === "Empty")
  )
  for (let i = 0; i < sent.length; i++) {
    if (!expected[i].originalBody) expect(sent[i].body._tag).toBe("Empty")
  }
}

// -----------------------------------------------------------------------------
// properties
// -----------------------------------------------------------------------------

/** Checks a failure against the predicted outcome (not `Ok`); `hops` are the predicted requests. */
const checkFailure = (
  failure: HttpFailure.HttpFailure,
  outcome: Exclude<Outcome, { _tag: "Ok" }>,
  hops: ReadonlyArray<ExpectedHop>,
  secrets: ReadonlyArray<string>
) => {
  const firstHop = hops[0]
  expectNoSecrets(failure, secrets)
  if (outcome._tag === "Status") {
    const tag = outcome.status >= 500 ? "ServerError" : outcome.status >= 400 ? "ClientError" : "UnexpectedStatus"
    expect(failure).toMatchObject({ _tag: tag, status: outcome.status })
    // a status failure names the request that got it: the last hop
    const last = hops[hops.length - 1]
    expect(failure.method).toBe(last.method)
    if (!hasSecretPart(last.url) && last.fragment === undefined) expect(failure.url).toBe(last.url)
    return
  }
  expect(failure).toMatchObject({
    _tag: "RedirectFailed",
    reason: outcome.reason,
    status: outcome.status,
    redirects: outcome.redirects,
    method: firstHop.method
  })
  const redirectFailed = failure as HttpFailure.RedirectFailed
  if (!hasSecretPart(outcome.target)) expect(redirectFailed.location).toBe(outcome.target)
  if (!hasSecretPart(firstHop.url) && firstHop.fragment === undefined) expect(failure.url).toBe(firstHop.url)
  expect(HttpFailure.isTransient(failure)).toBe(false)
}

interface Scenario {
  readonly request: RequestSpec
  readonly steps: ReadonlyArray<Step>
  /** `undefined`: the default, 20. */
  readonly maxRedirects: number | undefined
  readonly allowDowngrade: boolean | undefined
  readonly viaAttempt: boolean
}

const runScenario = (s: Scenario) =>
  Effect.gen(function*() {
    const { client, sent } = yield* scriptedTransport(s.steps, "repeatLast")
    const request = buildRequest(s.request)
    const followed = client.pipe(Redirect.follow({ maxRedirects: s.maxRedirects, allowDowngrade: s.allowDowngrade }))
    const expected = predict(s.request, request, s.steps, {
      maxRedirects: s.maxRedirects ?? 20,
      allowDowngrade: s.allowDowngrade ?? true
    }, s.viaAttempt)
    const secrets = secretsOfChain(s.steps)
    if (s.viaAttempt) {
      const result = yield* withSecrets(Effect.either(Attempt.send(followed, request)))
      checkHops(sent, expected.hops, request.body)
      if (expected.outcome._tag === "Ok") {
        expect(result._tag === "Right" && result.right.status).toBe(200)
      } else {
        expect(result._tag).toBe("Left")
        if (result._tag === "Left") checkFailure(result.left, expected.outcome, expected.hops, secrets)
      }
    } else {
      // the middleware alone: a response that is not followed is returned as it is
      const result = yield* withSecrets(Effect.either(followed.execute(request)))
      checkHops(sent, expected.hops, request.body)
      const outcome = expected.outcome
      if (outcome._tag === "RedirectFailed") {
        expect(result._tag).toBe("Left")
        if (result._tag === "Left") {
          checkFailure(result.left as HttpFailure.HttpFailure, outcome, expected.hops, secrets)
        }
      } else {
        expect(result._tag === "Right" && result.right.status).toBe(outcome._tag === "Ok" ? 200 : outcome.status)
      }
    }
  }).pipe(Effect.scoped)

const scenario: fc.Arbitrary<Scenario> = fc.record({
  request: requestSpec,
  steps: chain(0, 7),
  maxRedirects: fc.integer({ min: 0, max: 6 }),
  allowDowngrade: fc.option(fc.boolean(), { nil: undefined }),
  viaAttempt: fc.boolean()
})

describe("Redirect: each hop's request and the outcome follow the model", () => {
  it.effect.prop(
    "method, body, headers, URL and fragment of every hop; the answer or the typed failure with its fields",
    [scenario],
    ([s]) => runScenario(s),
    { fastCheck: { seed: 4711, numRuns: 250 } }
  )

  it.effect.prop(
    "long chains and endless loops around the default limit of 20",
    [fc.record({
      request: requestSpec,
      steps: chain(17, 23),
      maxRedirects: fc.constantFrom(undefined, 20, 21),
      allowDowngrade: fc.constant(undefined),
      viaAttempt: fc.boolean()
    })],
    ([s]) => runScenario(s),
    { fastCheck: { seed: 2020, numRuns: 30 } }
  )
})

// -----------------------------------------------------------------------------
// under Policy: retries restart the chain; the limit and the deadline bound it
// -----------------------------------------------------------------------------

type PolicyMethod = "GET" | "PUT" | "POST" | "POST+key"

/** Locations that keep a chain going (no failure of their own), to origins the same or other. */
const followableLocation: fc.Arbitrary<LocationSpec> = locationSpec.filter((l) =>
  l.form._tag !== "Bad" && !(l.form._tag === "Absolute" && l.form.userInfo)
)

interface PolicyScenario {
  readonly method: PolicyMethod
  readonly autoKey: boolean
  readonly hops: ReadonlyArray<readonly [RedirectStatus, string, number]>
  readonly last: { readonly status: 200 | 404 | 503; readonly latency: number }
  readonly maxAttempts: number
  readonly maxRedirects: number
  readonly attemptTimeout: number | undefined
  readonly totalTimeout: number | undefined
}

const policyScenario = (timed: boolean): fc.Arbitrary<PolicyScenario> =>
  fc.record({
    method: fc.constantFrom<PolicyMethod>("GET", "PUT", "POST", "POST+key"),
    autoKey: fc.boolean(),
    hops: fc.array(
      fc.tuple(
        fc.constantFrom(...redirectStatuses),
        followableLocation,
        timed ? fc.integer({ min: 0, max: 5 }).map((n) => n * 10) : fc.constant(0)
      ),
      { maxLength: 5 }
    ).map((hops) => hops.map(([status, spec, latency], i) => [status, renderLocation(spec, i + 1), latency] as const)),
    last: fc.record({
      status: fc.constantFrom<Array<200 | 404 | 503>>(200, 404, 503),
      latency: timed ? fc.integer({ min: 0, max: 5 }).map((n) => n * 10) : fc.constant(0)
    }),
    maxAttempts: timed ? fc.constant(1) : fc.integer({ min: 1, max: 3 }),
    maxRedirects: fc.integer({ min: 2, max: 6 }),
    // limits end in 5, latencies in 0: no tie between a response and a limit
    attemptTimeout: timed
      ? fc.option(fc.integer({ min: 0, max: 25 }).map((n) => n * 10 + 5), { nil: undefined })
      : fc.constant(undefined),
    totalTimeout: timed
      ? fc.option(fc.integer({ min: 0, max: 25 }).map((n) => n * 10 + 5), { nil: undefined })
      : fc.constant(undefined)
  }).map((p) =>
    // Policy refuses an attempt timeout above the total one
    p.attemptTimeout !== undefined && p.totalTimeout !== undefined && p.attemptTimeout > p.totalTimeout
      ? { ...p, attemptTimeout: p.totalTimeout, totalTimeout: p.attemptTimeout }
      : p
  )

const stepsOf = (p: PolicyScenario): ReadonlyArray<Step> => [
  ...p.hops.map(([status, location, latency]): Step => ({ _tag: "Redirect", status, location, latency })),
  { _tag: "Final", status: p.last.status, location: undefined, latency: p.last.latency }
]

const playPolicy = (p: PolicyScenario) =>
  Effect.gen(function*() {
    const steps = stepsOf(p)
    // each attempt that runs the chain to its end leaves the script at its start again
    const { client, sent } = yield* scriptedTransport(steps, "cycle")
    const policy = yield* Policy.make({
      retry: {
        maxAttempts: p.maxAttempts,
        baseDelay: "100 millis",
        jitter: "none",
        budget: false,
        idempotencyKey: p.autoKey
      },
      ...(p.attemptTimeout === undefined ? {} : { attemptTimeout: Duration.millis(p.attemptTimeout) }),
      ...(p.totalTimeout === undefined ? { totalTimeout: false } : { totalTimeout: Duration.millis(p.totalTimeout) }),
      circuitBreaker: false
    }).pipe(Effect.orDie)
    const method = p.method === "POST+key" ? "POST" : p.method
    let request = HttpClientRequest.make(method)("https://api.test/p/h0", {
      headers: { authorization: "Bearer tok-AUTH1", ...(p.method === "POST+key" ? { "idempotency-key": "k-1" } : {}) }
    })
    if (method !== "GET") request = HttpClientRequest.bodyUnsafeJson(request, { sku: "A-1" })
    const followed = client.pipe(Redirect.follow({ maxRedirects: p.maxRedirects }))
    let endedAt = -1
    const fiber = yield* Effect.fork(
      Policy.send(followed, request).pipe(
        Effect.provideService(Policy.Policy, policy),
        Effect.ensuring(Effect.map(Clock.currentTimeMillis, (now) => {
          endedAt = now
        })),
        Effect.either
      )
    )
    yield* TestClock.adjust("10 minutes")
    const result = yield* Fiber.join(fiber)
    return { result, sent, endedAt, request, steps }
  }).pipe(Effect.scoped, Effect.provide(TestContext.TestContext))

/** Whether Policy may repeat the call after a 503, by `Idempotency`: the request it was given decides, not a hop. */
const repeatable = (p: PolicyScenario) => p.method !== "POST" || p.autoKey

/** The request a Policy scenario sends, as the model reads it. */
const policyRequestSpec = (p: PolicyScenario): RequestSpec => ({
  method: p.method === "POST+key" ? "POST" : p.method,
  body: p.method === "GET" ? "none" : "json",
  headers: [],
  https: true,
  userInfo: false,
  params: false,
  fragment: false
})

describe("Redirect under Policy: the chain is one attempt", () => {
  it.effect.prop(
    "a retry starts the chain again from the first URL, with the same Idempotency-Key; the limit is not retried",
    [policyScenario(false)],
    ([p]) =>
      Effect.gen(function*() {
        const { endedAt, request, result, sent, steps } = yield* playPolicy(p)
        const spec = policyRequestSpec(p)
        const chainOnce = predict(spec, request, steps, { maxRedirects: p.maxRedirects, allowDowngrade: true }, true)
        const outcome = chainOnce.outcome
        const attempts = outcome._tag === "Status" && outcome.status === 503 && repeatable(p) ? p.maxAttempts : 1
        expect(sent.length).toBe(attempts * chainOnce.hops.length)
        // the key Policy added (if any) is one for the whole call, on every hop (another origin's too)
        const key = sent[0].headers["idempotency-key"]
        if (p.method === "POST+key") expect(key).toBe("k-1")
        else if (p.method === "POST" && p.autoKey) expect(key).toMatch(/^[0-9a-f-]{36}$/)
        else expect(key).toBeUndefined()
        const withKey = (h: ExpectedHop): ExpectedHop =>
          key !== undefined
            ? { ...h, headers: { ...h.headers, "idempotency-key": key } }
            : h
        const expectedHops = Array.from({ length: attempts }, () => chainOnce.hops.map(withKey)).flat()
        checkHops(sent, expectedHops, request.body)
        // no timeouts here: every attempt after the first waits the backoff (100 ms, then 200 ms)
        expect(endedAt).toBe([0, 100, 300][attempts - 1])
        if (outcome._tag === "Ok") {
          expect(result._tag === "Right" && result.right.status).toBe(200)
        } else {
          expect(result._tag).toBe("Left")
          if (result._tag === "Left") {
            checkFailure(result.left as HttpFailure.HttpFailure, outcome, chainOnce.hops, staticSecrets)
            expect((result.left as HttpFailure.HttpFailure).attempts).toBe(attempts)
          }
        }
        expect(Idempotency.isIdempotent(request)).toBe(p.method !== "POST")
      }),
    { fastCheck: { seed: 909, numRuns: 80 } }
  )

  it.effect.prop(
    "the attempt's timeout and the deadline cover every hop of the chain",
    [policyScenario(true)],
    ([p]) =>
      Effect.gen(function*() {
        const { endedAt, request, result, sent, steps } = yield* playPolicy(p)
        const spec = policyRequestSpec(p)
        const chainOnce = predict(spec, request, steps, { maxRedirects: p.maxRedirects, allowDowngrade: true }, true)
        // hop j is sent when the responses before it have come; the limit is the sooner of the two (a tie: deadline)
        const limits = [p.attemptTimeout, p.totalTimeout].filter((l): l is number => l !== undefined)
        const limit = limits.length === 0 ? Infinity : Math.min(...limits)
        const phase = p.totalTimeout !== undefined && p.totalTimeout <= (p.attemptTimeout ?? Infinity)
          ? "Deadline"
          : "Attempt"
        let at = 0
        let hopsSent = 0
        for (let j = 0; j < chainOnce.hops.length && at < limit; j++) {
          hopsSent++
          at += steps[j].latency
        }
        const timedOut = at > limit
        expect(sent.length).toBe(hopsSent)
        expect(sent.map((s) => s.url)).toEqual(chainOnce.hops.slice(0, hopsSent).map((h) => h.url))
        expect(endedAt).toBe(timedOut ? limit : at)
        if (timedOut) {
          expect(result._tag === "Left" && result.left).toMatchObject({ _tag: "Timeout", phase, method: spec.method })
        } else if (chainOnce.outcome._tag === "Ok") {
          expect(result._tag === "Right" && result.right.status).toBe(200)
        } else {
          expect(result._tag === "Left" && result.left._tag).toBe(
            chainOnce.outcome._tag === "RedirectFailed" ? "RedirectFailed" : chainOnce.outcome.status === 503
              ? "ServerError"
              : "ClientError"
          )
        }
      }),
    { fastCheck: { seed: 1234, numRuns: 60 } }
  )
})
