// Property tests of `OAuth2`'s client credentials grant against RFC 6749 and the module docs, with fixed seeds.
//
// The model is a pair of pure functions written from `OAuth2.ts`'s doc comments and RFC 6749:
// - `expectedParams` / the Basic decoding: the request a token endpoint receives (§4.4.2: a POST with an
//   `application/x-www-form-urlencoded` body holding `grant_type=client_credentials`, `scope` space-joined (§3.3),
//   `audience`, `extraParams`; §2.3.1: the client id and secret either form-urlencoded, joined by `:` and base64'd in
//   a Basic header (the default) or as `client_id` / `client_secret` body parameters (`clientAuthentication: "body"`),
//   never both), read back as a token endpoint reads it (base64, split at the one `:`, form-decode each half).
// - `expectedOutcome`: the typed outcome of every token endpoint answer (§5.1 success: `access_token` required,
//   `token_type` Bearer compared case-insensitively, `expires_in` optional, `scope`; §5.2 error: `error`,
//   `error_description`, `error_uri`, status 400/401), as `TokenRequestFailed` documents it (`Status` for an unexpected
//   status, 5xx/429/408 retryable; `MalformedResponse` for no `access_token`, a non-Bearer type, an `expires_in` that
//   is not a finite, positive number of seconds, a numeric string read); `TokenRejected` (`reason` an RFC code or
//   `"unknown"`, the code kept in `errorCode`); `isRetryable`; `expiresAt` counted from when the request left (on the
//   TestClock), a JWT's `exp` without `expires_in`; `layerClientCredentials`' mapping to `AuthenticationFailed`
//   (`Rejected` / `Unavailable` / `Malformed`); `timeout` per token request, its body included, ending as `Transport`.
//
// Generated: client ids and secrets over characters the form encoding changes (space, `+`, `:`, `%`, `&`, `=`, `/`,
// `'()!*~`, non-ASCII, an astral character, NUL, a lone surrogate), scopes as a string or a list, audiences, extra
// parameters (some named like the grant's own), the three client authentications (default, "basic", "body"); token
// answers of every status class (2xx, 3xx, 4xx incl. 408/429, 5xx) with JSON bodies valid or with missing and
// ill-typed fields, `expires_in` as a number (zero, negative, fractional, huge), a numeric or non-numeric string,
// `true` or `null`, JWT access tokens, RFC error bodies with known, extension, empty and ill-typed codes and
// descriptions, bodies that echo the client secret, non-JSON, JSON behind a BOM, and any content type.
//
// Rules taken from the code (internal/oauth2.ts), the docs being silent: extra parameters are sent first and the
// grant's own (`grant_type`, `scope`, `audience`, in body mode `client_id` / `client_secret`) override them; Basic
// form-encodes with `encodeURIComponent` (space as `+`); a lone surrogate is sent as U+FFFD (the fix of the defect this
// file found: `encodeURIComponent` threw); a secret echoed in `error`, `error_description` or an unsupported
// `token_type` is redacted (the first and last the fixes of defects this file found); the response's content type is
// not read, and a leading BOM is dropped (the platform decodes the body with `TextDecoder`); a success body must be a
// JSON object whose `access_token` is a non-empty string and whose `token_type` and `scope`, when present, are strings
// (`null` is ill-typed); a numeric string `expires_in` is read with `Number()` after a blank check (`" 60 "` and
// `"0x10"` are read); the expiry is `requestedAt + expires_in * 1000` unrounded (1e308 s is `Infinity`); a 4xx other
// than 408/429 is `TokenRejected` only when its body is a JSON object with a non-empty string `error` (an ill-typed
// `error_description` is dropped: both the fix of a defect this file found), else `Status`; `error_uri` is not read;
// the `MalformedResponse` for a non-Bearer type carries the status (it had none); an `access_token` of anything but
// visible ASCII is `MalformedResponse` (RFC 6750 §2.1: no header can carry it; it was cached and failed every
// call as `InvalidRequest`); a 3xx is `Status` and not retried (the client in
// context follows no redirect here); a 429's or 503's Retry-After is the wait before the next try, as `Retry`'s
// `delayHint` reads it (one above its 30 s `maxRetryAfter` ends the retries at once).
//
// Left out (covered elsewhere): caching, single-flight, refresh timing and `refreshAhead` (`model-Auth.test.ts`), the
// default retry's jitter bounds (`OAuth2.test.ts`), transport errors from undici. RFC 6749 §6 (refresh tokens) does
// not apply: the module implements the client credentials grant only, and a `refresh_token` in an answer is ignored.
//
// Mutants checked (each failed a property with a shrunk counterexample; the source restored from a copy):
//   M1  formEncode writes a space `%20`, not `+`: fails "the request" (clientId " a")
//   M2  tokenRequest joins a scope list with ",": fails "the request"
//   M3  toAccessToken compares token_type case-sensitively: fails "the outcome" and "the layer" ("bearer")
//   M4  ExpiresIn `nonNegative` for `positive`: fails "the outcome" and "the layer" (expires_in 0 accepted)
//   M5  requestToken counts 408 as a client error: fails "the outcome" and "the retries"
//   M6  the errorCode fix reverted: fails "the outcome" and "the layer" (`error` echoing the secret)
//   M7  model: expiry counted in seconds: fails "the outcome"
//   M8  the lone surrogate fix reverted in formEncode: fails "the request", "the outcome" and "the layer" (a defect)
//   M9  the timeout 1 ms late: fails "timeout"
//   M10 model: the BOM not dropped: fails "the outcome", "over a real undici client" and "the layer"
//   M11 the description not redacted: fails "no secret"
//   M12 requestedAt read after the answer: fails "an answer that arrives before the timeout"
//   M13 the token_type redaction fix reverted: fails "no secret" (`token_type` echoing the secret)
//   M14 the error response fix reverted (`error` any string, `error_description` a string or the answer is no
//       OAuth2 error): fails "the outcome" and "over a real undici client" (`error_description: null`)
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import { Attempt, HttpFailure, OAuth2 } from "@sturdy/http"
import { TestTracer } from "@sturdy/testing"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import * as Runtime from "effect/Runtime"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import * as Util from "node:util"
import { clientLayer, listen } from "../../../test/auth-loopback.js"
import { renderings } from "../../../test/utils/renderings.js"

const fc = FastCheck

// -----------------------------------------------------------------------------
// generators
// -----------------------------------------------------------------------------

// characters the form encoding changes or that a Basic header must carry encoded, and a lone surrogate
const credentialChar = fc.constantFrom(
  "a",
  "Z",
  "7",
  "-",
  "_",
  ".",
  "~",
  " ",
  "+",
  ":",
  "%",
  "&",
  "=",
  "/",
  "?",
  "#",
  "'",
  "(",
  ")",
  "!",
  "*",
  "é",
  "ß",
  "中",
  "😀",
  "\u0000",
  "\uD800",
  "\uDC00"
)
const clientId = fc.string({ unit: credentialChar, minLength: 1, maxLength: 10 })
// 4 characters or more, so that the redaction registry takes it; the fixed letters keep it unlike any other text
const clientSecret = fc.string({ unit: credentialChar, maxLength: 10 }).map((s) => `Qx${s}9Kv`)
// RFC 6749 §3.3 scope tokens: %x21 / %x23-5B / %x5D-7E
const scopeToken = fc.string({ unit: fc.constantFrom("r", "w", ":", "/", "+", "%", ".", "!", "~"), minLength: 1 })
const scope = fc.option(fc.oneof(scopeToken, fc.array(scopeToken, { maxLength: 3 })), { nil: undefined })
const audience = fc.option(fc.string({ unit: credentialChar, maxLength: 8 }).map((s) => `https://api.test/${s}`), {
  nil: undefined
})
const extraParams = fc.option(
  fc.dictionary(
    fc.constantFrom("resource", "tenant", "x y", "grant_type", "scope", "audience", "client_id"),
    fc.string({ unit: credentialChar, maxLength: 6 }),
    { maxKeys: 4 }
  ),
  { nil: undefined }
)
const authentication = fc.constantFrom(undefined, "basic" as const, "body" as const)

const settings = fc.record({
  clientId,
  secret: clientSecret,
  scope,
  audience,
  extraParams,
  clientAuthentication: authentication
})
type Settings = typeof settings extends FastCheck.Arbitrary<infer A> ? A : never

const optionsOf = (tokenUrl: string, s: Settings): OAuth2.ClientCredentialsOptions => ({
  tokenUrl,
  clientId: s.clientId,
  clientSecret: Redacted.make(s.secret),
  scope: s.scope,
  audience: s.audience,
  extraParams: s.extraParams,
  clientAuthentication: s.clientAuthentication,
  retry: Schedule.stop
})

const jwt = (exp: number) => `eyJhbGciOiJub25lIn0.${Buffer.from(JSON.stringify({ exp })).toString("base64url")}.sig`

const absent = Symbol("absent")
const field = <A>(arb: FastCheck.Arbitrary<A>) => fc.oneof({ weight: 1, arbitrary: fc.constant(absent) }, arb)

const expiresIn = fc.oneof(
  fc.integer({ min: 1, max: 10 ** 9 }),
  fc.constantFrom(0, -0, -1, -3600, 0.5, 1.25, 59.999, 1e-4, 1e20, 1e308, Number.MAX_SAFE_INTEGER),
  fc.double({ min: -1e6, max: 1e6, noNaN: true }),
  fc.integer({ min: -100, max: 10 ** 6 }).map(String),
  fc.constantFrom("", " ", " 60 ", "0x10", "1e3", "3600s", "NaN", "Infinity", "-Infinity", "1e400", "-5", "0"),
  fc.constantFrom(true, null, [60], { s: 60 })
)

const tokenBody = fc.record({
  access_token: fc.oneof(
    { weight: 1, arbitrary: fc.constant(absent) },
    { weight: 4, arbitrary: fc.stringMatching(/^[A-Za-z0-9._~+/-]{1,12}=*$/) },
    { weight: 2, arbitrary: fc.integer({ min: 1_000_000, max: 3_000_000 }).map(jwt) },
    { weight: 1, arbitrary: fc.constantFrom("", 42, null) },
    // visible ASCII beyond b64token is sent as it is; whitespace, controls and non-ASCII cannot be
    { weight: 1, arbitrary: fc.constantFrom("tok:en!", "a%20b", "a b", "a\r\nb", "\ta", "tök", "a\u007f") }
  ),
  token_type: fc.oneof(
    { weight: 1, arbitrary: fc.constant(absent) },
    { weight: 4, arbitrary: fc.constantFrom("Bearer", "bearer", "BEARER", "bEaReR") },
    { weight: 1, arbitrary: fc.constantFrom("mac", "DPoP", "N_A", "", 1, null) },
    // an endpoint that echoes the secret in the type
    { weight: 1, arbitrary: fc.constantFrom("SECRET", "mac SECRET") }
  ),
  expires_in: fc.oneof(
    { weight: 1, arbitrary: fc.constant(absent) },
    { weight: 2, arbitrary: expiresIn },
    // the edges: zero, negative, fractional, huge, as numbers and as strings
    { weight: 2, arbitrary: fc.constantFrom(0, -1, 0.5, 1e308, "0", "-1", "0.5", "", "NaN", "Infinity") }
  ),
  scope: field(fc.constantFrom("read write", "", 7, null, ["read"])),
  refresh_token: field(fc.constantFrom("rt-1", null))
})

const errorBody = fc.record({
  error: field(
    fc.oneof(
      fc.constantFrom(...OAuth2.errorCodes),
      fc.constantFrom("server_error", "temporarily_unavailable", "account_locked", "", 400, null),
      // an endpoint that echoes the secret in the code
      fc.constantFrom("SECRET", "bad_SECRET")
    )
  ),
  error_description: field(fc.constantFrom("no", "bad client SECRET here", "Ünïcode", 5, null)),
  error_uri: field(fc.constantFrom("https://auth.test/errors/1", 3))
})

// "SECRET" in a generated body stands for the client secret: the endpoint echoes it
const withSecret = (value: unknown, secret: string): unknown =>
  JSON.parse(JSON.stringify(value, (_, v) => typeof v === "string" ? v.replaceAll("SECRET", secret) : v))

const stripAbsent = (record: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(record).filter(([, v]) => v !== absent))

type BodySpec =
  | { readonly _tag: "json"; readonly value: unknown }
  | { readonly _tag: "text"; readonly text: string }
  | { readonly _tag: "empty" }

const bodySpec: FastCheck.Arbitrary<BodySpec> = fc.oneof(
  { weight: 4, arbitrary: tokenBody.map((b): BodySpec => ({ _tag: "json", value: stripAbsent(b) })) },
  { weight: 3, arbitrary: errorBody.map((b): BodySpec => ({ _tag: "json", value: stripAbsent(b) })) },
  {
    weight: 1,
    arbitrary: fc.constantFrom<BodySpec>(
      { _tag: "json", value: [{ access_token: "a" }] },
      { _tag: "json", value: "access_token" },
      { _tag: "json", value: null },
      { _tag: "json", value: { access_token: "a", token_type: "SECRET" } },
      { _tag: "text", text: "<html>busy</html>" },
      { _tag: "text", text: "{\"access_token\":" },
      { _tag: "text", text: "access_token=a&token_type=bearer" },
      { _tag: "text", text: "client_secret=SECRET rejected" },
      { _tag: "empty" }
    )
  }
)

const answer = fc.record({
  status: fc.constantFrom(200, 200, 200, 201, 204, 302, 400, 400, 401, 403, 404, 408, 409, 429, 500, 502, 503),
  contentType: fc.constantFrom(
    "application/json",
    "application/json; charset=utf-8",
    "text/plain",
    "text/html",
    undefined
  ),
  bom: fc.boolean(),
  body: bodySpec,
  retryAfter: fc.option(fc.integer({ min: 1, max: 3600 }), { nil: undefined })
})
type Answer = typeof answer extends FastCheck.Arbitrary<infer A> ? A : never

const bodyText = (a: Answer, secret: string): string | null => {
  if (a.status === 204 || a.body._tag === "empty") return a.status === 204 ? null : ""
  const text = a.body._tag === "json"
    ? JSON.stringify(withSecret(a.body.value, secret))
    : a.body.text.replaceAll("SECRET", secret)
  return a.bom ? `\uFEFF${text}` : text
}

const webResponse = (a: Answer, secret: string): Response => {
  const headers: Record<string, string> = {}
  if (a.contentType !== undefined) headers["content-type"] = a.contentType
  if (a.retryAfter !== undefined) headers["retry-after"] = String(a.retryAfter)
  if (a.status === 302) headers.location = "/elsewhere"
  return new Response(bodyText(a, secret), { status: a.status, headers })
}

// -----------------------------------------------------------------------------
// the model
// -----------------------------------------------------------------------------

const wellFormed = (text: string): string =>
  text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD")

const expectedParams = (s: Settings): Record<string, string> => {
  const params: Record<string, string> = { ...s.extraParams, grant_type: "client_credentials" }
  if (s.scope !== undefined) params.scope = typeof s.scope === "string" ? s.scope : s.scope.join(" ")
  if (s.audience !== undefined) params.audience = s.audience
  if (s.clientAuthentication === "body") {
    params.client_id = s.clientId
    params.client_secret = s.secret
  }
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, wellFormed(v)]))
}

// as a token endpoint reads RFC 6749 §2.3.1 Basic credentials
const formDecode = (value: string): string => decodeURIComponent(value.replace(/\+/g, " "))
const readBasic = (authorization: string) => {
  expect(authorization.startsWith("Basic ")).toBe(true)
  const raw = Buffer.from(authorization.slice("Basic ".length), "base64").toString("utf8")
  const halves = raw.split(":")
  expect(halves).toHaveLength(2) // the id's own colons are encoded
  return { halves, id: formDecode(halves[0]!), secret: formDecode(halves[1]!) }
}

type Outcome =
  | { readonly _tag: "Token"; readonly token: string; readonly expiresAt: Option.Option<number> }
  | { readonly _tag: "TokenRequestFailed"; readonly reason: string; readonly status: number | undefined }
  | {
    readonly _tag: "TokenRejected"
    readonly reason: string
    readonly errorCode: string
    readonly status: number
    readonly description: string | undefined
  }

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const parseJson = (text: string | null): { readonly ok: boolean; readonly value?: unknown } => {
  try {
    // a leading BOM is dropped by the body's UTF-8 decoding
    return { ok: true, value: JSON.parse((text ?? "").replace(/^\uFEFF/, "")) }
  } catch {
    return { ok: false }
  }
}

const lifetime = (value: unknown): number | undefined => {
  const n = typeof value === "number"
    ? value
    : typeof value === "string" && value.trim() !== ""
    ? value === "NaN" ? Number.NaN : Number(value)
    : Number.NaN
  return Number.isFinite(n) && n > 0 ? n : undefined
}

const jwtExpiry = (token: string): Option.Option<number> => {
  const parts = token.split(".")
  if (parts.length !== 3) return Option.none()
  try {
    const payload = JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8")) as { exp?: unknown }
    return typeof payload.exp === "number" ? Option.some(payload.exp * 1000) : Option.none()
  } catch {
    return Option.none()
  }
}

const expectedOutcome = (a: Answer, secret: string, requestedAt: number): Outcome => {
  const parsed = parseJson(bodyText(a, secret))
  if (a.status >= 200 && a.status < 300) {
    if (!parsed.ok) return { _tag: "TokenRequestFailed", reason: "MalformedResponse", status: a.status }
    const body = parsed.value
    const malformed = { _tag: "TokenRequestFailed", reason: "MalformedResponse", status: a.status } as const
    if (!isRecord(body)) return malformed
    if (typeof body.access_token !== "string" || !/^[\x21-\x7e]+$/.test(body.access_token)) return malformed
    if ("token_type" in body && typeof body.token_type !== "string") return malformed
    if ("scope" in body && typeof body.scope !== "string") return malformed
    if ("expires_in" in body && lifetime(body.expires_in) === undefined) return malformed
    if (typeof body.token_type === "string" && body.token_type.toLowerCase() !== "bearer") {
      return malformed
    }
    const expiresAt = "expires_in" in body
      ? Option.some(requestedAt + lifetime(body.expires_in)! * 1000)
      : jwtExpiry(body.access_token)
    return { _tag: "Token", token: body.access_token, expiresAt }
  }
  const clientError = a.status >= 400 && a.status < 500 && a.status !== 408 && a.status !== 429
  const body = parsed.ok ? parsed.value : undefined
  if (clientError && isRecord(body) && typeof body.error === "string" && body.error !== "") {
    return {
      _tag: "TokenRejected",
      reason: (OAuth2.errorCodes as ReadonlyArray<string>).includes(body.error) ? body.error : "unknown",
      errorCode: body.error,
      status: a.status,
      description: typeof body.error_description === "string" ? body.error_description : undefined
    }
  }
  return { _tag: "TokenRequestFailed", reason: "Status", status: a.status }
}

const retryable = (o: Outcome): boolean =>
  o._tag === "TokenRequestFailed" && o.reason === "Status" &&
  (o.status! >= 500 || o.status === 429 || o.status === 408)

const layerReason = (o: Outcome): "Rejected" | "Unavailable" | "Malformed" =>
  retryable(o) ? "Unavailable" : o._tag === "TokenRequestFailed" && o.reason === "MalformedResponse"
    ? "Malformed"
    : "Rejected"

// -----------------------------------------------------------------------------
// harness
// -----------------------------------------------------------------------------

/** A token endpoint that answers `a` to every request (the client secret for "SECRET"), and counts them. */
const scripted = (a: Answer, secret: string) => {
  let requests = 0
  const client = HttpClient.make((request, url) =>
    Effect.sync(() => {
      if (url.pathname !== "/token") return HttpClientResponse.fromWeb(request, new Response("{}", { status: 200 }))
      requests++
      return HttpClientResponse.fromWeb(request, webResponse(a, secret))
    })
  )
  return { client, requests: () => requests }
}

const TOKEN_URL = "http://auth.test/token"

const noSecretIn = (texts: ReadonlyArray<string>, secret: string, what: string) => {
  const encoded = [secret, encodeURIComponent(wellFormed(secret)), wellFormed(secret)]
  for (const text of texts) {
    for (const form of encoded) {
      if (text.includes(form)) throw new Error(`${what} shows the client secret ${JSON.stringify(form)}:\n${text}`)
    }
  }
}

const check = <A, E, R>(
  arb: FastCheck.Arbitrary<A>,
  seed: number,
  numRuns: number,
  property: (a: A) => Effect.Effect<void, E, R>
) =>
  Effect.gen(function*() {
    const runtime = yield* Effect.runtime<R>()
    yield* Effect.promise(() =>
      fc.assert(fc.asyncProperty(arb, (a) => Runtime.runPromise(runtime)(property(a))), { seed, numRuns })
    )
  })

// -----------------------------------------------------------------------------
// properties
// -----------------------------------------------------------------------------

describe("OAuth2 properties", () => {
  describe("the request: what a loopback token endpoint receives (RFC 6749 §2.3.1, §4.4.2)", () => {
    it.scoped("method, content type, body parameters, and credentials that decode back to the id and secret", () =>
      Effect.gen(function*() {
        let grant = { expires_in: 60 as unknown, access_token: "at-1" }
        const server = yield* listen((request, response) => {
          response.writeHead(200, { "content-type": "application/json" }).end(
            JSON.stringify({ ...grant, token_type: "Bearer" })
          )
        })
        yield* check(
          fc.tuple(settings, fc.integer({ min: 1, max: 10 ** 6 }), fc.integer({ min: 0, max: 2 * 10 ** 12 })),
          6749,
          120,
          ([s, expires, now]) =>
            Effect.gen(function*() {
              grant = { expires_in: expires, access_token: `at-${expires}` }
              yield* TestClock.setTime(now)
              const before = server.received.length
              const token = yield* OAuth2.requestToken(optionsOf(`${server.origin}/token`, s))
              expect(server.received.length).toBe(before + 1)
              const received = server.received[before]!
              expect(received.method).toBe("POST")
              expect(received.path).toBe("/token")
              expect(received.headers["content-type"]).toBe("application/x-www-form-urlencoded")
              expect(received.headers.accept).toBe("application/json")
              const entries = [...new URLSearchParams(received.body)]
              expect(new Set(entries.map(([k]) => k)).size).toBe(entries.length) // no parameter twice
              expect(Object.fromEntries(entries)).toEqual(expectedParams(s))
              if (s.clientAuthentication === "body") {
                expect(received.headers.authorization).toBeUndefined()
              } else {
                const basic = readBasic(received.headers.authorization ?? "")
                expect({ id: basic.id, secret: basic.secret }).toEqual({
                  id: wellFormed(s.clientId),
                  secret: wellFormed(s.secret)
                })
                // each half is as encodeURIComponent writes it, a space as `+`
                expect(basic.halves).toEqual(
                  [s.clientId, s.secret].map((v) => encodeURIComponent(wellFormed(v)).replace(/%20/g, "+"))
                )
              }
              expect(Redacted.value(token.token)).toBe(`at-${expires}`)
              expect(token.expiresAt).toEqual(Option.some(now + expires * 1000))
            })
        )
      }).pipe(Effect.provide(clientLayer)))
  })

  describe("the outcome of every token answer (RFC 6749 §5.1, §5.2; TokenRequestFailed, TokenRejected)", () => {
    it.effect("matches the model, its expiry counted on the TestClock from when the request left", () =>
      check(
        fc.tuple(answer, clientSecret, fc.integer({ min: 0, max: 2 * 10 ** 12 })),
        5_1,
        600,
        ([a, secret, now]) =>
          Effect.gen(function*() {
            yield* TestClock.setTime(now)
            const endpoint = scripted(a, secret)
            const options = { ...optionsOf(TOKEN_URL, { ...emptySettings, secret }) }
            const exit = yield* OAuth2.requestToken(options).pipe(
              Effect.provideService(HttpClient.HttpClient, endpoint.client),
              Effect.exit
            )
            const expected = expectedOutcome(a, secret, now)
            expect(endpoint.requests()).toBe(1)
            if (expected._tag === "Token") {
              expect(Exit.isSuccess(exit)).toBe(true)
              if (Exit.isSuccess(exit)) {
                expect(Redacted.value(exit.value.token)).toBe(expected.token)
                expect(exit.value.expiresAt).toEqual(expected.expiresAt)
              }
              return
            }
            // a typed failure, never a defect
            const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
            expect(Option.isSome(failure), Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "succeeded").toBe(true)
            const error = Option.getOrThrow(failure)
            if (expected._tag === "TokenRejected") {
              expect(error).toBeInstanceOf(OAuth2.TokenRejected)
              expect(error).toMatchObject({
                reason: expected.reason,
                errorCode: expected.errorCode.replaceAll(secret, "<redacted>"),
                status: expected.status
              })
              const description = (error as OAuth2.TokenRejected).description
              expect(description === undefined).toBe(expected.description === undefined)
              if (expected.description !== undefined && !expected.description.includes(secret)) {
                expect(description).toBe(expected.description)
              }
            } else {
              expect(error).toBeInstanceOf(OAuth2.TokenRequestFailed)
              expect({ reason: error.reason, status: (error as OAuth2.TokenRequestFailed).status }).toEqual({
                reason: expected.reason,
                status: expected.status
              })
            }
            expect(OAuth2.isRetryable(error)).toBe(retryable(expected))
          })
      ))

    it.scoped("matches the model over a real undici client and a loopback token endpoint", () =>
      Effect.gen(function*() {
        let current: { readonly answer: Answer; readonly secret: string } | undefined
        const server = yield* listen((_, response) => {
          const { answer: a, secret } = current!
          const headers: Record<string, string> = {}
          if (a.contentType !== undefined) headers["content-type"] = a.contentType
          if (a.retryAfter !== undefined) headers["retry-after"] = String(a.retryAfter)
          if (a.status === 302) headers.location = "/elsewhere"
          response.writeHead(a.status, headers).end(bodyText(a, secret) ?? undefined)
        })
        yield* check(fc.tuple(answer, clientSecret), 6749_5, 150, ([a, secret]) =>
          Effect.gen(function*() {
            current = { answer: a, secret }
            const exit = yield* OAuth2.requestToken(
              optionsOf(`${server.origin}/token`, { ...emptySettings, secret })
            ).pipe(Effect.exit)
            const expected = expectedOutcome(a, secret, 0)
            if (expected._tag === "Token") {
              expect(Exit.isSuccess(exit) && Redacted.value(exit.value.token)).toBe(expected.token)
              return
            }
            const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
            expect(Option.isSome(failure), Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "succeeded").toBe(true)
            expect(Option.getOrThrow(failure)).toMatchObject({ _tag: expected._tag, reason: expected.reason })
          }))
      }).pipe(Effect.provide(clientLayer)))

    it.effect("a retryable answer is asked again as often as `retry` allows, any other answer once", () =>
      check(fc.tuple(answer, fc.integer({ min: 1, max: 3 })), 408, 200, ([a, retries]) =>
        Effect.gen(function*() {
          const endpoint = scripted(a, "Qx-secret-9Kv")
          const fiber = yield* OAuth2.requestToken({
            ...optionsOf(TOKEN_URL, emptySettings),
            retry: Schedule.recurs(retries)
          }).pipe(
            Effect.provideService(HttpClient.HttpClient, endpoint.client),
            Effect.exit,
            Effect.fork
          )
          // a Retry-After is waited (at most 30 s and 10 % more per retry)
          yield* TestClock.adjust("10 minutes")
          yield* Fiber.join(fiber)
          const expected = expectedOutcome(a, "Qx-secret-9Kv", 0)
          const waitTooLong = (a.status === 429 || a.status === 503) && a.retryAfter !== undefined && a.retryAfter > 30
          expect(endpoint.requests()).toBe(retryable(expected) && !waitTooLong ? retries + 1 : 1)
        })))

    it.effect("a 429's or 503's Retry-After is the wait before the next try; one over 30 s ends the retries at once", () =>
      check(
        fc.tuple(fc.constantFrom(429, 503), fc.integer({ min: 1, max: 3600 }), fc.integer()),
        429,
        40,
        ([status, retryAfter, seed]) =>
          Effect.gen(function*() {
            const endpoint = scripted({
              status,
              contentType: "application/json",
              bom: false,
              body: { _tag: "json", value: { error: "slow_down" } },
              retryAfter
            }, "Qx-secret-9Kv")
            const fiber = yield* OAuth2.requestToken({ ...optionsOf(TOKEN_URL, emptySettings), retry: undefined }).pipe(
              Effect.provideService(HttpClient.HttpClient, endpoint.client),
              Effect.withRandom(Random.make(seed)),
              Effect.exit,
              Effect.fork
            )
            if (retryAfter <= 30) {
              // the wait, and up to 10 % more (at most a second): never the 100-200 ms of the default backoff
              yield* TestClock.adjust(retryAfter * 1000 - 1)
              expect(endpoint.requests()).toBe(1)
              yield* TestClock.adjust(Math.min(1000, retryAfter * 100) + 1)
              expect(endpoint.requests()).toBe(2)
            }
            yield* TestClock.adjust("10 minutes")
            const exit = yield* Fiber.join(fiber)
            expect(endpoint.requests()).toBe(retryAfter <= 30 ? 4 : 1)
            expect(Exit.isFailure(exit) && Cause.failureOption(exit.cause)).toEqual(
              Option.some(expect.objectContaining({ reason: "Status", status }))
            )
          })
      ))
  })

  describe("layerClientCredentials: every token failure reaches the API call as AuthenticationFailed", () => {
    it.scoped("with the documented reason, the API never called", () =>
      check(fc.tuple(answer, clientSecret), 401, 200, ([a, secret]) =>
        Effect.gen(function*() {
          const endpoint = scripted(a, secret)
          const expected = expectedOutcome(a, secret, 0)
          const exit = yield* Effect.flatMap(
            HttpClient.HttpClient,
            (client) => Attempt.send(client, HttpClientRequest.get("http://api.test/v1/items"))
          ).pipe(
            Effect.provide(
              OAuth2.layerClientCredentials(optionsOf(TOKEN_URL, { ...emptySettings, secret })).pipe(
                Layer.provide(Layer.succeed(HttpClient.HttpClient, endpoint.client))
              )
            ),
            Effect.exit
          )
          if (expected._tag === "Token") {
            expect(Exit.isSuccess(exit)).toBe(true)
            return
          }
          const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
          const error = Option.getOrThrow(failure)
          expect(error).toBeInstanceOf(HttpFailure.AuthenticationFailed)
          expect((error as HttpFailure.AuthenticationFailed).reason).toBe(layerReason(expected))
          noSecretIn(renderings(error), secret, "the AuthenticationFailed")
        })).pipe(Effect.scoped))
  })

  describe("no secret in any failure rendering, span or log", () => {
    it.effect("for every answer and client authentication, echoes of the secret included", () =>
      check(fc.tuple(answer, settings), 6750, 600, ([a, s]) =>
        Effect.gen(function*() {
          const tracer = TestTracer.make()
          const lines: Array<string> = []
          const logger = Logger.map(Logger.logfmtLogger, (line) => {
            lines.push(line)
          })
          const endpoint = scripted(a, s.secret)
          let sentAuthorization = ""
          const client = HttpClient.make((request) => {
            sentAuthorization = request.headers.authorization ?? ""
            return endpoint.client.execute(request)
          })
          const exit = yield* OAuth2.requestToken(optionsOf(TOKEN_URL, s)).pipe(
            Effect.provideService(HttpClient.HttpClient, client),
            Effect.tapErrorCause((cause) => Effect.logError("token request failed", cause)),
            Effect.withTracer(tracer.tracer),
            Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
            Effect.exit
          )
          const texts: Array<string> = [...lines]
          if (Exit.isFailure(exit)) {
            texts.push(Cause.pretty(exit.cause))
            for (const error of Cause.failures(exit.cause)) texts.push(...renderings(error))
          }
          for (const span of tracer.spans) {
            texts.push(Util.inspect(span.attributes, { depth: 10 }), Util.inspect(span.events, { depth: 10 }))
            // what an exporter reads: attributes, events and a failure (a success ends with the response, as the
            // platform's client span does: its request holds the headers sent, which no exporter renders)
            if (span.status._tag === "Ended" && Exit.isFailure(span.status.exit)) {
              texts.push(Util.inspect(span.status.exit, { depth: 20 }), Cause.pretty(span.status.exit.cause))
            }
          }
          noSecretIn(texts, s.secret, "a failure, span or log line")
          const basic = sentAuthorization.replace(/^Basic /, "")
          if (basic !== "") { for (const text of texts) expect(text).not.toContain(basic) }
        })))
  })

  describe("timeout and slow answers on the TestClock", () => {
    it.effect("a token endpoint that hangs, before or after the headers, fails with Transport at exactly the timeout", () =>
      check(
        fc.tuple(fc.integer({ min: 1, max: 120_000 }), fc.constantFrom("headers", "body")),
        30,
        60,
        ([timeoutMillis, stage]) =>
          Effect.gen(function*() {
            let requests = 0
            const hanging = HttpClient.make((request) => {
              requests++
              return stage === "headers"
                ? Effect.never
                : Effect.succeed(
                  HttpClientResponse.fromWeb(
                    request,
                    new Response(new ReadableStream({ pull: () => new Promise<void>(() => {}) }), { status: 200 })
                  )
                )
            })
            const timeout = Duration.millis(timeoutMillis)
            const fiber = yield* OAuth2.requestToken({ ...optionsOf(TOKEN_URL, emptySettings), timeout }).pipe(
              Effect.provideService(HttpClient.HttpClient, hanging),
              Effect.flip,
              Effect.fork
            )
            yield* TestClock.adjust(timeoutMillis - 1)
            expect(fiber.unsafePoll()).toBeNull()
            yield* TestClock.adjust(1)
            yield* Effect.yieldNow()
            expect(fiber.unsafePoll()).not.toBeNull() // done at the timeout, not later
            const error = yield* Fiber.join(fiber)
            expect(error).toMatchObject({
              _tag: "TokenRequestFailed",
              reason: "Transport",
              detail: `no answer within ${Duration.format(timeout)}`
            })
            expect(OAuth2.isRetryable(error)).toBe(true)
            expect(requests).toBe(1)
          })
      ))

    it.effect("an answer that arrives before the timeout counts its expiry from when the request left", () =>
      check(
        fc.tuple(
          fc.integer({ min: 0, max: 29_999 }),
          fc.integer({ min: 1, max: 10 ** 6 }),
          fc.integer({ min: 0, max: 2 * 10 ** 12 })
        ),
        5,
        60,
        ([delayMillis, expires, now]) =>
          Effect.gen(function*() {
            yield* TestClock.setTime(now)
            const slow = HttpClient.make((request) =>
              Effect.as(
                Effect.sleep(delayMillis),
                HttpClientResponse.fromWeb(
                  request,
                  new Response(JSON.stringify({ access_token: "slow", token_type: "Bearer", expires_in: expires }))
                )
              )
            )
            const fiber = yield* OAuth2.requestToken(optionsOf(TOKEN_URL, emptySettings)).pipe(
              Effect.provideService(HttpClient.HttpClient, slow),
              Effect.fork
            )
            yield* TestClock.adjust(delayMillis)
            const token = yield* Fiber.join(fiber)
            expect(token.expiresAt).toEqual(Option.some(now + expires * 1000))
          })
      ))
  })
})

const emptySettings: Settings = {
  clientId: "reports",
  secret: "Qx-secret-9Kv",
  scope: undefined,
  audience: undefined,
  extraParams: undefined,
  clientAuthentication: undefined
}
