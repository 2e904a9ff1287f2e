/**
 * Black-box port of google-auth-library-nodejs's token refresh tests onto `OAuth2.clientCredentials` (a token source
 * made by `Auth.makeTokenSource`) and `Auth.bearerFrom`.
 *
 * Source: googleapis/google-auth-library-nodejs, `test/test.oauth2.ts` at a95b8272197f35453d1647eed85be475d51474c9
 * (`test/test.authclient.ts` at that commit has no case about tokens or refresh: its cases are about options,
 * interceptors, User-Agent and logging).
 *
 * Mapping: the nock'd token endpoint (`POST /token`, answering `access_token` and `expires_in`) is a fake token
 * endpoint behind `OAuth2.clientCredentials` (`retry: Schedule.stop` where Google does not retry either); the API is a
 * second fake transport behind `Auth.bearerFrom`. Google seeds `client.credentials` with an access token and an
 * `expiry_date`; here the token endpoint's first answer is that token, and the clock is moved to where the case's
 * `expiry_date` lies ahead. `eagerRefreshThresholdMillis` is `expirySkew`; Google's default threshold is 5 minutes,
 * Sturdy's skew 30 seconds. Dropping `credentials.access_token` is `source.invalidate`.
 *
 * Deliberate differences (Sturdy's documented behaviour is asserted):
 * - the skew is capped at half the token's lifetime when it is cached: Google's threshold applies as given, so its
 *   "expires in 3 s, threshold 5 s" token is here a token cached long before and now 3 s from expiry;
 * - only a 401 invalidates the token and replays the request; Google also refreshes on 403, which Sturdy hands back;
 * - Google's `forceRefreshOnFailure` (refresh only on a 401/403, not ahead of expiry) has no counterpart: a source
 *   always refreshes ahead of expiry and on a 401, so those two cases reduce to the 401/403 cases and are not ported.
 *
 * Not ported: the consent URL, PKCE, ID token and certificate cases, `refreshHandler`, revocation, `getToken` with an
 * authorization code and its client_id/redirect_uri/basic-auth options, token info, streaming bodies, API keys and
 * the callback-style errors (Google-specific flows, no token source behind them).
 */
import { HttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Auth, OAuth2 } from "@sturdy/http"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import { fakeClient, jsonResponse } from "./utils/fakeTransport.js"

const options: OAuth2.ClientCredentialsOptions = {
  tokenUrl: "https://oauth2.googleapis.com/token",
  clientId: "CLIENT_ID",
  clientSecret: Redacted.make("CLIENT_SECRET"),
  retry: Schedule.stop
}

/** A token endpoint answering each call with the next scripted response (the last one repeats). */
const tokenEndpoint = (answers: ReadonlyArray<() => Response>) => {
  const endpoint = fakeClient((_, url) =>
    Effect.sync(() => {
      expect(url.toString()).toBe("https://oauth2.googleapis.com/token")
      return answers[Math.min(endpoint.seen.length, answers.length) - 1]!()
    })
  )
  return endpoint
}

const tokens = (answers: ReadonlyArray<() => Response>, overrides: Partial<OAuth2.ClientCredentialsOptions> = {}) =>
  Effect.gen(function*() {
    const endpoint = tokenEndpoint(answers)
    const source = yield* OAuth2.clientCredentials({ ...options, ...overrides }).pipe(
      Effect.provideService(HttpClient.HttpClient, endpoint.client)
    )
    return { source, endpoint: endpoint.seen }
  })

const granted = (accessToken: string, expiresIn?: number) => () =>
  jsonResponse(200, { access_token: accessToken, ...(expiresIn === undefined ? {} : { expires_in: expiresIn }) })

const api = (status: (authorization: string | undefined) => number = () => 200) =>
  fakeClient((request) => Effect.succeed(new Response(null, { status: status(request.headers["authorization"]) })))

const authorizations = (seen: ReadonlyArray<{ readonly headers: Readonly<Record<string, string>> }>) =>
  seen.map((hop) => hop.headers["authorization"])

describe("google-auth-library oauth2", () => {
  it.scoped("should refresh token if missing access token", () =>
    Effect.gen(function*() {
      const { endpoint, source } = yield* tokens([granted("abc123", 1)])
      const { client, seen } = api()
      const response = yield* client.pipe(Auth.bearerFrom(source)).get("http://example.com")
      expect(response.status).toBe(200)
      expect(endpoint).toHaveLength(1)
      expect(endpoint[0]!.method).toBe("POST")
      expect(endpoint[0]!.headers["content-type"]).toBe("application/x-www-form-urlencoded")
      expect(authorizations(seen)).toEqual(["Bearer abc123"])
    }))

  it.scoped("should unify the promise when refreshing the token", () =>
    Effect.gen(function*() {
      const { endpoint, source } = yield* tokens([granted("abc123", 1)])
      const { client, seen } = api()
      const authed = client.pipe(Auth.bearerFrom(source))
      yield* Effect.all(Array.from({ length: 3 }, () => authed.get("http://example.com")), {
        concurrency: "unbounded"
      })
      expect(endpoint).toHaveLength(1)
      expect(authorizations(seen)).toEqual(Array(3).fill("Bearer abc123"))
    }))

  it.scoped("should clear the cached refresh token promise after completion", () =>
    Effect.gen(function*() {
      const { endpoint, source } = yield* tokens([granted("abc123", 100000)])
      const { client, seen } = api()
      const authed = client.pipe(Auth.bearerFrom(source))
      yield* authed.get("http://example.com")
      // Google sets `credentials.access_token = null`: the token is dropped
      yield* source.invalidate(yield* source.get)
      yield* authed.get("http://example.com")
      expect(endpoint).toHaveLength(2)
      expect(authorizations(seen)).toEqual(["Bearer abc123", "Bearer abc123"])
    }))

  it.scoped("should clear the cached refresh token promise after throw", () =>
    Effect.gen(function*() {
      const { endpoint, source } = yield* tokens([
        () => new Response(null, { status: 400 }),
        granted("abc123", 100000)
      ])
      const { client, seen } = api()
      const authed = client.pipe(Auth.bearerFrom(source))
      const first = yield* Effect.either(authed.get("http://example.com"))
      expect(Either.isLeft(first)).toBe(true)
      yield* authed.get("http://example.com")
      expect(endpoint).toHaveLength(2)
      expect(authorizations(seen)).toEqual(["Bearer abc123"])
    }))

  it.scoped("should have a custom ReAuth error message", () =>
    Effect.gen(function*() {
      const { endpoint, source } = yield* tokens([
        () => jsonResponse(400, { error: "invalid_grant", error_description: "a ReAuth error", custom: "property" })
      ])
      const { client, seen } = api()
      const error = yield* Effect.flip(client.pipe(Auth.bearerFrom(source)).get("http://example.com"))
      // Google hands back the token endpoint's body; Sturdy's typed error carries its RFC 6749 code and description
      expect(error._tag).toBe("TokenRejected")
      expect(error._tag === "TokenRejected" && error.reason).toBe("invalid_grant")
      expect(error.message).toContain("a ReAuth error")
      expect(endpoint).toHaveLength(1)
      expect(seen).toHaveLength(0)
    }))

  it.scoped("should refresh if access token is expired", () =>
    Effect.gen(function*() {
      const { endpoint, source } = yield* tokens([granted("initial-access-token", 60), granted("abc123", 1)])
      const { client, seen } = api()
      const authed = client.pipe(Auth.bearerFrom(source))
      yield* authed.get("http://example.com")
      // expiry_date: now - 1000
      yield* TestClock.adjust("61 seconds")
      yield* authed.get("http://example.com")
      expect(endpoint).toHaveLength(2)
      expect(authorizations(seen)).toEqual(["Bearer initial-access-token", "Bearer abc123"])
    }))

  it.scoped(
    "should refresh if access token will expired soon and time to refresh before expiration is set",
    () =>
      Effect.gen(function*() {
        const { endpoint, source } = yield* tokens([granted("initial-access-token", 60), granted("abc123", 1)], {
          expirySkew: "5 seconds" // eagerRefreshThresholdMillis: 5000
        })
        const { client, seen } = api()
        const authed = client.pipe(Auth.bearerFrom(source))
        yield* authed.get("http://example.com")
        // expiry_date: now + 3000
        yield* TestClock.adjust("57 seconds")
        yield* authed.get("http://example.com")
        expect(endpoint).toHaveLength(2)
        expect(authorizations(seen)).toEqual(["Bearer initial-access-token", "Bearer abc123"])
      })
  )

  it.scoped(
    "should not refresh if access token will not expire soon and time to refresh before expiration is set",
    () =>
      Effect.gen(function*() {
        const { endpoint, source } = yield* tokens([granted("initial-access-token", 60), granted("abc123", 1)], {
          expirySkew: "5 seconds" // eagerRefreshThresholdMillis: 5000
        })
        const { client, seen } = api()
        const authed = client.pipe(Auth.bearerFrom(source))
        yield* authed.get("http://example.com")
        // expiry_date: now + 10000
        yield* TestClock.adjust("50 seconds")
        yield* authed.get("http://example.com")
        expect(endpoint).toHaveLength(1)
        expect(authorizations(seen)).toEqual(["Bearer initial-access-token", "Bearer initial-access-token"])
      })
  )

  it.scoped("should not refresh if not expired", () =>
    Effect.gen(function*() {
      const { endpoint, source } = yield* tokens([granted("initial-access-token", 3600), granted("abc123", 1)])
      const { client, seen } = api()
      const authed = client.pipe(Auth.bearerFrom(source))
      yield* authed.get("http://example.com")
      // expiry_date: now + 500000, with the default skew
      yield* TestClock.adjust(3_600_000 - 500_000)
      yield* authed.get("http://example.com")
      expect(endpoint).toHaveLength(1)
      expect(authorizations(seen)).toEqual(["Bearer initial-access-token", "Bearer initial-access-token"])
    }))

  it.scoped("should assume access token is not expired", () =>
    Effect.gen(function*() {
      // no expiry_date (no expires_in, not a JWT): the token lives until a 401
      const { endpoint, source } = yield* tokens([granted("initial-access-token"), granted("abc123", 1)])
      expect((yield* source.get).expiresAt).toEqual(Option.none())
      const { client, seen } = api()
      yield* TestClock.adjust("3650 days")
      yield* client.pipe(Auth.bearerFrom(source)).get("http://example.com")
      expect(endpoint).toHaveLength(1)
      expect(authorizations(seen)).toEqual(["Bearer initial-access-token"])
    }))

  it.scoped("should refresh token if the server returns 401", () =>
    Effect.gen(function*() {
      const { endpoint, source } = yield* tokens([granted("initial-access-token"), granted("abc123", 1000)])
      const { client, seen } = api((authorization) => authorization === "Bearer abc123" ? 200 : 401)
      const response = yield* client.pipe(Auth.bearerFrom(source)).get("http://example.com/access")
      expect(response.status).toBe(200)
      expect(endpoint).toHaveLength(2)
      expect(authorizations(seen)).toEqual(["Bearer initial-access-token", "Bearer abc123"])
      expect(Redacted.value((yield* source.get).token)).toBe("abc123")
    }))

  it.scoped("should refresh token if the server returns 403", () =>
    Effect.gen(function*() {
      const { endpoint, source } = yield* tokens([granted("initial-access-token"), granted("abc123", 1000)])
      const { client, seen } = api((authorization) => authorization === "Bearer abc123" ? 200 : 403)
      // Google refreshes on a 403 too; Sturdy's bearerFrom refreshes only on a 401 and hands the 403 back
      const response = yield* client.pipe(Auth.bearerFrom(source)).get("http://example.com/access")
      expect(response.status).toBe(403)
      expect(endpoint).toHaveLength(1)
      expect(authorizations(seen)).toEqual(["Bearer initial-access-token"])
    }))

  it.scoped("should return expiry_date", () =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const endpoint = fakeClient(() => Effect.succeed(jsonResponse(200, { access_token: "abc", expires_in: 10 })))
      const token = yield* OAuth2.requestToken(options).pipe(
        Effect.provideService(HttpClient.HttpClient, endpoint.client)
      )
      expect(token.expiresAt).toEqual(Option.some(now + 10 * 1000))
    }))

  it.scoped("should accept and attempt to use an `access_token`", () =>
    Effect.gen(function*() {
      // Google's pre-set credentials: a source whose token is `my-access-token`, with no expiry
      const source = yield* Auth.makeTokenSource(
        Effect.succeed<Auth.AccessToken>({ token: Redacted.make("my-access-token"), expiresAt: Option.none() })
      )
      const { client, seen } = api()
      yield* client.pipe(Auth.bearerFrom(source)).get("http://example.com")
      expect(authorizations(seen)).toEqual(["Bearer my-access-token"])
      // the access token is still available after use
      expect(Redacted.value((yield* source.get).token)).toBe("my-access-token")
    }))
})
