/**
 * oauth4webapi's token endpoint response processing tests (panva/oauth4webapi, commit
 * 11c0206f15aff6af0c8831aa176a92f46ff8ca49: `test/refresh_token.test.ts`, `test/authorization_code.test.ts`,
 * `test/token_exchange.test.ts`, `test/issue-15.test.ts`, `test/issue-191.test.ts`), ported to `OAuth2` over a real
 * undici client against a node:http token endpoint and API on 127.0.0.1 (`test/auth-loopback.ts`). Each peer
 * `getResponse(body, { status, headers })` is what the loopback token endpoint answers (`content-type:
 * application/json`, as the peer's `getResponse` sets). One `it` per peer case, named after it.
 *
 * The client credentials grant's own cases (`test/client_credentials.test.ts`, `test/client_auth.test.ts`) are
 * ported in `test/peer-simple-oauth2.test.ts` against `OAuth2.requestToken`; the shared response assertions are run
 * here through `OAuth2.layerClientCredentials` instead, where a token failure reaches an `Attempt` as
 * `HttpFailure.AuthenticationFailed`: the mapping of each peer failure to its reason is what these tests pin.
 *
 * Mapping: every `process*Response` of oauth4webapi runs the same token response checks
 * (`processGenericAccessTokenResponse`); Sturdy runs them on the client credentials grant's answer. A
 * `RESPONSE_IS_NOT_CONFORM` (unexpected status) is `TokenRequestFailed` `Status`, `Rejected` for a 4xx; a
 * `ResponseBodyError` is `TokenRejected` (`errorCode`, `status`), `Rejected`; a `PARSE_ERROR` or `INVALID_RESPONSE`
 * (not JSON, not an object, a missing or mistyped `access_token`, `expires_in` or `scope`, an unsupported
 * `token_type`) is `TokenRequestFailed` `MalformedResponse`, `Malformed`; a `WWWAuthenticateChallengeError` on a
 * non-200 answer is the answer's own status failure. None of them is retried: the endpoint sees one request.
 *
 * Deliberate differences (each test says which): a response without `token_type` is taken as a bearer token, where
 * oauth4webapi requires it; `refresh_token` and `id_token` are not read (Sturdy implements neither the refresh token
 * grant nor OpenID Connect: an expired token is replaced by a new client credentials grant), so a `null` one or an ID
 * token that does not parse is ignored where oauth4webapi rejects the response; Sturdy parses no `WWW-Authenticate`
 * challenge from the token endpoint, so a 400 with one fails as a `Status` 400 rather than a challenge error.
 *
 * Not ported: the request halves (`refreshTokenGrantRequest()` and its extra parameters, custom headers and DPoP
 * cases, the authorization code, device, CIBA and token exchange requests: Sturdy sends the client credentials grant
 * only; its request is ported in `peer-simple-oauth2.test.ts`); the ID token cases of `refresh_token.test.ts` and
 * `authorization_code.test.ts` (signatures, `alg` checks, `getValidatedIdTokenClaims`: no OpenID Connect);
 * `recognizedTokenTypes` in `processGenericTokenEndpointResponse()` (Sturdy accepts Bearer only, with no option to
 * add types); the `null as any` argument checks and `response.bodyUsed` (types and the transport rule them out);
 * `test/www_authenticate.test.ts` (its vectors parse challenges on a UserInfo response: Sturdy's `OAuth2` has no
 * UserInfo call and parses no challenge).
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { describe, expect, it } from "@effect/vitest"
import { Attempt, HttpFailure, OAuth2 } from "@sturdy/http"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import { clientLayer, listen, type Loopback, sendJson } from "./auth-loopback.js"

// oauth4webapi's client id (test/_setup.ts) and the client secret of its client_credentials.test.ts
const CLIENT_ID = "urn:example:client_id"
const CLIENT_SECRET = "foo"

interface Answer {
  readonly status?: number | undefined
  readonly body: string
  readonly headers?: Record<string, string>
}

/** The token endpoint answers `answer` (the peer's `getResponse`); the API answers 200 with the token it saw. */
const authority = (answer: Answer) =>
  listen((request, response) => {
    if (request.path === "/token") {
      response.writeHead(answer.status ?? 200, { "content-type": "application/json", ...answer.headers })
        .end(answer.body)
      return
    }
    sendJson(response, 200, { authorization: request.headers.authorization ?? null })
  })

const settings = (server: Loopback): OAuth2.ClientCredentialsOptions => ({
  tokenUrl: `${server.origin}/token`,
  clientId: CLIENT_ID,
  clientSecret: Redacted.make(CLIENT_SECRET)
})

/** One API call through `layerClientCredentials`, read by an `Attempt`. */
const callApi = (server: Loopback) =>
  Effect.flatMap(
    HttpClient.HttpClient,
    (client) => Attempt.send(client, HttpClientRequest.get(`${server.origin}/api`))
  ).pipe(Effect.provide(OAuth2.layerClientCredentials(settings(server)).pipe(Layer.provide(clientLayer))))

/** The token endpoint answers `answer`; the API call fails with AuthenticationFailed, after one token request. */
const refusedWith = (answer: Answer) =>
  Effect.gen(function*() {
    const server = yield* authority(answer)
    const error = yield* Effect.flip(callApi(server))
    expect(error).toBeInstanceOf(HttpFailure.AuthenticationFailed)
    expect(server.count("/token")).toBe(1)
    expect(server.count("/api")).toBe(0)
    return error as HttpFailure.AuthenticationFailed
  })

/** The token endpoint answers `answer`; the API call goes out with `Bearer <access_token>`. */
const acceptedWith = (answer: Answer) =>
  Effect.gen(function*() {
    const server = yield* authority(answer)
    const received = yield* callApi(server)
    expect(received.status).toBe(200)
    expect(server.count("/token")).toBe(1)
    return server.received.find((request) => request.path === "/api")!.headers.authorization
  })

const json = (body: unknown, status?: number): Answer => ({ body: JSON.stringify(body), status })

describe("oauth4webapi test/refresh_token.test.ts", () => {
  it.scoped("processRefreshTokenResponse() without ID Tokens", () =>
    Effect.gen(function*() {
      // "unexpected HTTP status code": a 404 with no OAuth2 error is the client's problem, not an outage
      const notFound = yield* refusedWith({ status: 404, body: "" })
      expect(notFound).toMatchObject({ reason: "Rejected", cause: { name: "TokenRequestFailed" } })
      expect(notFound.detail).toContain("404")

      // failed to parse "response" body as JSON; body must be a top level object
      for (const body of ["{\"", "null", "[]"]) {
        expect(yield* refusedWith({ body })).toMatchObject({
          reason: "Malformed",
          cause: { name: "TokenRequestFailed" }
        })
      }
      // "access_token" property must be a string
      expect(yield* refusedWith(json({ token_type: "Bearer" }))).toMatchObject({ reason: "Malformed" })
      // "expires_in" property must be a number
      expect(
        yield* refusedWith(json({ access_token: "token", token_type: "Bearer", expires_in: new Date(0).toUTCString() }))
      ).toMatchObject({ reason: "Malformed" })
      // "scope" property must be a string
      expect(yield* refusedWith(json({ access_token: "token", token_type: "Bearer", scope: null }))).toMatchObject({
        reason: "Malformed"
      })

      // "token_type" property must be a string: Sturdy takes a token without token_type as a bearer token
      expect(yield* acceptedWith(json({ access_token: "token" }))).toBe("Bearer token")
      // "refresh_token" / "id_token" property must be a string: Sturdy reads neither, and uses the access token
      expect(yield* acceptedWith(json({ access_token: "token", token_type: "Bearer", refresh_token: null }))).toBe(
        "Bearer token"
      )
      expect(yield* acceptedWith(json({ access_token: "token", token_type: "Bearer", id_token: null }))).toBe(
        "Bearer token"
      )

      // the full success: expires_in 60 sets the expiry; the refresh_token is not used to refresh, the next token
      // comes from a new client credentials grant
      const server = yield* authority(json({
        access_token: "token",
        token_type: "Bearer",
        expires_in: 60,
        scope: "api:read",
        refresh_token: "refresh_token"
      }))
      const now = yield* TestClock.currentTimeMillis
      const token = yield* OAuth2.requestToken(settings(server))
      expect(Redacted.value(token.token)).toBe("token")
      expect(token.expiresAt).toEqual(Option.some(now + 60_000))
      const tokens = yield* OAuth2.clientCredentials(settings(server))
      yield* tokens.get
      yield* TestClock.adjust("61 seconds")
      yield* tokens.get
      const grants = server.received.map((request) => Object.fromEntries(new URLSearchParams(request.body)))
      expect(grants).toHaveLength(3)
      for (const grant of grants) expect(grant).toEqual({ grant_type: "client_credentials" })

      // ResponseBodyError invalid_grant, status 400
      const rejected = yield* refusedWith(json({ error: "invalid_grant" }, 400))
      expect(rejected).toMatchObject({
        reason: "Rejected",
        cause: { name: "TokenRejected", code: "invalid_grant" }
      })
      expect(rejected.detail).toContain("status 400")

      expect(yield* acceptedWith(json({ access_token: "token", token_type: "Bearer" }))).toBe("Bearer token")
    }).pipe(Effect.provide(clientLayer)))
})

describe("oauth4webapi test/authorization_code.test.ts", () => {
  // only the assertions of this case that refresh_token.test.ts's does not make; the rest are the same checks
  it.scoped("processAuthorizationCodeResponse()", () =>
    Effect.gen(function*() {
      // unsupported `token_type` value
      const unsupported = yield* refusedWith(json({ access_token: "token", token_type: "unrecognized" }))
      expect(unsupported).toMatchObject({ reason: "Malformed", cause: { name: "TokenRequestFailed" } })
      // the peer's access token "token" was used in an earlier case: Sturdy redacts it by value wherever it appears
      // (as the word "token" in this detail), so only the token type is looked for
      expect(unsupported.detail).toMatch(/unsupported .*_type unrecognized/)

      // OAUTH_PARSE_ERROR for an id_token that is not a JWT: Sturdy does not read id_token
      expect(
        yield* acceptedWith(
          json({ access_token: "token", token_type: "Bearer", id_token: "something.resembling.anid_token" })
        )
      ).toBe("Bearer token")

      // the success, with the peer's token_type normalised to lower case: any case of "Bearer" is a bearer token
      const server = yield* authority(json({
        access_token: "token",
        token_type: "Bearer",
        expires_in: 60,
        scope: "api:read",
        refresh_token: "refresh_token"
      }))
      const now = yield* TestClock.currentTimeMillis
      expect((yield* OAuth2.requestToken(settings(server))).expiresAt).toEqual(Option.some(now + 60_000))
      expect(yield* acceptedWith(json({ access_token: "token", token_type: "bearer" }))).toBe("Bearer token")

      // ResponseBodyError invalid_grant
      const rejected = yield* Effect.flip(
        OAuth2.requestToken(settings(yield* authority(json({ error: "invalid_grant" }, 400))))
      )
      expect(rejected).toBeInstanceOf(OAuth2.TokenRejected)
      expect(rejected).toMatchObject({ reason: "invalid_grant", errorCode: "invalid_grant", status: 400 })
    }).pipe(Effect.provide(clientLayer)))
})

describe("oauth4webapi test/token_exchange.test.ts", () => {
  // only the token_type assertions; the others repeat refresh_token.test.ts's
  it.scoped("processGenericTokenEndpointResponse()", () =>
    Effect.gen(function*() {
      // unsupported `token_type` value N_A (token exchange's "not applicable"); oauth4webapi then accepts it with
      // `recognizedTokenTypes: { n_a }`, which Sturdy has no equivalent of: N_A stays Malformed
      const server = yield* authority(json({ access_token: "token", token_type: "N_A" }))
      const error = yield* Effect.flip(OAuth2.requestToken(settings(server)))
      expect(error).toBeInstanceOf(OAuth2.TokenRequestFailed)
      expect(error).toMatchObject({ reason: "MalformedResponse" })
      expect(OAuth2.isRetryable(error)).toBe(false)
      expect(server.count("/token")).toBe(1)
      expect(yield* refusedWith(json({ access_token: "token", token_type: "N_A" }))).toMatchObject({
        reason: "Malformed"
      })
    }).pipe(Effect.provide(clientLayer)))
})

describe("oauth4webapi test/issue-15.test.ts", () => {
  it.scoped("handles empty scope from the Token Endpoint", () =>
    Effect.gen(function*() {
      expect(yield* acceptedWith(json({ access_token: "foo", token_type: "bearer", scope: "" }))).toBe("Bearer foo")
    }).pipe(Effect.provide(clientLayer)))
})

describe("oauth4webapi test/issue-191.test.ts", () => {
  it.scoped("only checks www-authenticate when the status code is invalid", () =>
    Effect.gen(function*() {
      const body = JSON.stringify({ access_token: "foo", token_type: "bearer", scope: "" })
      const headers = { "WWW-Authenticate": "Key realm=\"kong\"" }

      // a 200 with a challenge is a token
      expect(yield* acceptedWith({ body, headers })).toBe("Bearer foo")

      // a 400 with a challenge fails: oauth4webapi with OAUTH_WWW_AUTHENTICATE_CHALLENGE, Sturdy (which parses no
      // challenge at the token endpoint) with the answer's status, not retried, and Rejected for the layer
      const server = yield* authority({ status: 400, body, headers })
      const error = yield* Effect.flip(OAuth2.requestToken(settings(server)))
      expect(error).toBeInstanceOf(OAuth2.TokenRequestFailed)
      expect(error).toMatchObject({ reason: "Status", status: 400 })
      expect(OAuth2.isRetryable(error)).toBe(false)
      expect(server.count("/token")).toBe(1)
      expect(yield* refusedWith({ status: 400, body, headers })).toMatchObject({
        reason: "Rejected",
        cause: { name: "TokenRequestFailed" }
      })
    }).pipe(Effect.provide(clientLayer)))
})
