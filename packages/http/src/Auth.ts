/**
 * Authentication middleware for `HttpClient`: API keys, static bearer tokens and refreshable bearer tokens (JWTs,
 * OAuth2 access tokens) that stay `Redacted` end to end.
 *
 * Credentials are attached per request hop, only to the origin of the first hop (or to `options.origins`): apply
 * `Redirect.follow` after the middleware, `client.pipe(Auth.bearer(token), Redirect.follow())`, and a redirect to
 * another origin arrives without them (`Redirect.follow` also drops the secret headers set on the request itself;
 * `HttpClient.followRedirects` works with `Auth` but keeps those). Redirects followed below the middleware are out
 * of its reach: do not apply a redirect middleware before it, and with `FetchHttpClient` set `RequestInit` to
 * `{ redirect: "manual" }` (fetch drops only `Authorization` on a cross-origin redirect, not an API key header).
 *
 * Errors, responses (`response.request`), spans and `Headers` inspection show the credential as `<redacted>`, and the
 * credential's value is redacted wherever a server echoes it (`Redaction`'s value rule).
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import type * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/auth.js"

/**
 * A static credential: a bearer token, an API key sent in a header, or an API key sent as a query parameter.
 *
 * @example
 * ```ts
 * import { Auth } from "@sturdy/http"
 * import { Redacted } from "effect"
 *
 * const credential: Auth.Credential = Auth.Credential.ApiKeyHeader({ header: "X-Api-Key", key: Redacted.make("k") })
 * ```
 * @since 0.1.0
 * @category models
 */
export type Credential = Data.TaggedEnum<{
  Bearer: { readonly token: Redacted.Redacted<string> }
  ApiKeyHeader: { readonly header: string; readonly key: Redacted.Redacted<string> }
  ApiKeyQuery: { readonly param: string; readonly key: Redacted.Redacted<string> }
}>

/**
 * Constructors and matchers for `Credential`.
 *
 * @example
 * ```ts
 * import { Auth } from "@sturdy/http"
 * import { Redacted } from "effect"
 *
 * const credential = Auth.Credential.Bearer({ token: Redacted.make("t") })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const Credential: Data.TaggedEnum.Constructor<Credential> = internal.Credential

/**
 * Where a credential may be sent. Without `origins`, a credential goes only to the origin of the first hop of each
 * request; with it, only to the listed origins (for example `"https://api.example.com"`).
 *
 * @example
 * ```ts
 * import type { Auth } from "@sturdy/http"
 *
 * const options: Auth.Options = { origins: ["https://api.example.com"] }
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly origins?: ReadonlyArray<string> | undefined
}

/**
 * An access token and, when known, the time (epoch milliseconds) at which it expires.
 *
 * @example
 * ```ts
 * import type { Auth } from "@sturdy/http"
 * import { Option, Redacted } from "effect"
 *
 * const token: Auth.AccessToken = { token: Redacted.make("t"), expiresAt: Option.some(Date.now() + 60_000) }
 * ```
 * @since 0.1.0
 * @category models
 */
export interface AccessToken {
  readonly token: Redacted.Redacted<string>
  readonly expiresAt: Option.Option<number>
}

/**
 * A cached, single-flight supply of access tokens: `get` returns the cached token until shortly before it expires,
 * and concurrent callers that find it stale share one refresh; `invalidate` drops a token the server refused.
 *
 * @example
 * ```ts
 * import type { Auth } from "@sturdy/http"
 * import { Effect } from "effect"
 *
 * const tokenOf = <E>(source: Auth.TokenSource<E>) => Effect.map(source.get, (token) => token.expiresAt)
 * ```
 * @since 0.1.0
 * @category models
 */
export interface TokenSource<E> {
  readonly get: Effect.Effect<AccessToken, E>
  readonly invalidate: (stale: AccessToken) => Effect.Effect<void>
}

/**
 * How early a token is refreshed: `expirySkew` before it expires (default 30 seconds, capped at half the token's
 * lifetime), callers waiting for the new one.
 *
 * With `refreshAhead` (default none), the refresh starts earlier and in the background, as Azure's token cycler and
 * MSAL's `refresh_in` do: from `refreshAhead` before the refresh is due (capped at half the time from caching to then)
 * the first caller starts one refresh and every caller still gets the cached token at once, so no request waits for a
 * token request while the cached one is good. Once the refresh is due (`expirySkew` before expiry) callers wait for it
 * as without the option. A background refresh that fails is not tried again early: the due refresh is the next try.
 *
 * A negative or `NaN` skew or `refreshAhead`, or one that is no duration, is a `RangeError` naming it when the source
 * is made.
 *
 * @example
 * ```ts
 * import type { Auth } from "@sturdy/http"
 *
 * const options: Auth.TokenSourceOptions = { expirySkew: "10 seconds", refreshAhead: "2 minutes" }
 * ```
 * @since 0.1.0
 * @category models
 */
export interface TokenSourceOptions {
  readonly expirySkew?: Duration.DurationInput | undefined
  /**
   * Refresh in the background this long before the refresh is due, serving the cached token meanwhile (default none).
   * @since 0.2.0
   */
  readonly refreshAhead?: Duration.DurationInput | undefined
}

/**
 * The server answered 401 to a request that was replayed with a freshly refreshed token.
 *
 * @example
 * ```ts
 * import { Auth } from "@sturdy/http"
 * import { Effect } from "effect"
 *
 * const handle = <A, R>(self: Effect.Effect<A, Auth.Unauthorized, R>) =>
 *   Effect.catchTag(self, "Unauthorized", (error) => Effect.logWarning(error.message))
 * ```
 * @since 0.1.0
 * @category errors
 */
export const Unauthorized: typeof internal.Unauthorized = internal.Unauthorized

/**
 * @since 0.1.0
 * @category errors
 */
export type Unauthorized = internal.Unauthorized

/**
 * A bearer token that should be a JWT is not one; `reason` tells which part is wrong. The token is never shown.
 *
 * @example
 * ```ts
 * import { Auth } from "@sturdy/http"
 *
 * const error = new Auth.MalformedJwt({ reason: "Structure" })
 * ```
 * @since 0.1.0
 * @category errors
 */
export const MalformedJwt: typeof internal.MalformedJwt = internal.MalformedJwt

/**
 * @since 0.1.0
 * @category errors
 */
export type MalformedJwt = internal.MalformedJwt

/**
 * Attaches a static credential to every request hop sent to the allowed origin.
 *
 * @example
 * ```ts
 * import { HttpClient } from "@effect/platform"
 * import { Auth } from "@sturdy/http"
 * import { Effect, Redacted } from "effect"
 *
 * const program = Effect.map(
 *   HttpClient.HttpClient,
 *   Auth.authenticate(Auth.Credential.Bearer({ token: Redacted.make("t") }))
 * )
 * ```
 * @since 0.1.0
 * @category middleware
 */
export const authenticate: {
  (
    credential: Credential,
    options?: Options
  ): <E, R>(self: HttpClient.HttpClient.With<E, R>) => HttpClient.HttpClient.With<E, R>
  <E, R>(self: HttpClient.HttpClient.With<E, R>, credential: Credential, options?: Options): HttpClient.HttpClient.With<
    E,
    R
  >
} = internal.authenticate

/**
 * Sends `Authorization: Bearer <token>`.
 *
 * @example
 * ```ts
 * import { HttpClient } from "@effect/platform"
 * import { Auth } from "@sturdy/http"
 * import { Config, Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const token = yield* Config.redacted("API_TOKEN")
 *   const client = (yield* HttpClient.HttpClient).pipe(Auth.bearer(token), HttpClient.followRedirects())
 *   return yield* client.get("https://api.example.com/items")
 * })
 * ```
 * @since 0.1.0
 * @category middleware
 */
export const bearer: {
  (
    token: Redacted.Redacted<string>,
    options?: Options
  ): <E, R>(self: HttpClient.HttpClient.With<E, R>) => HttpClient.HttpClient.With<E, R>
  <E, R>(
    self: HttpClient.HttpClient.With<E, R>,
    token: Redacted.Redacted<string>,
    options?: Options
  ): HttpClient.HttpClient.With<E, R>
} = internal.bearer

/**
 * Sends an API key in the named header (for example `X-Api-Key`).
 *
 * @example
 * ```ts
 * import { HttpClient } from "@effect/platform"
 * import { Auth } from "@sturdy/http"
 * import { Effect, Redacted } from "effect"
 *
 * const program = Effect.map(HttpClient.HttpClient, Auth.apiKeyHeader("X-Api-Key", Redacted.make("k")))
 * ```
 * @since 0.1.0
 * @category middleware
 */
export const apiKeyHeader: {
  (
    header: string,
    key: Redacted.Redacted<string>,
    options?: Options
  ): <E, R>(self: HttpClient.HttpClient.With<E, R>) => HttpClient.HttpClient.With<E, R>
  <E, R>(
    self: HttpClient.HttpClient.With<E, R>,
    header: string,
    key: Redacted.Redacted<string>,
    options?: Options
  ): HttpClient.HttpClient.With<E, R>
} = internal.apiKeyHeader

/**
 * Sends an API key as a query parameter (for example `?api_key=`). The platform's span would record the full URL,
 * so requests that carry the key get a span whose `url.full` shows it as `<redacted>` instead.
 *
 * @example
 * ```ts
 * import { HttpClient } from "@effect/platform"
 * import { Auth } from "@sturdy/http"
 * import { Effect, Redacted } from "effect"
 *
 * const program = Effect.map(HttpClient.HttpClient, Auth.apiKeyQuery("api_key", Redacted.make("k")))
 * ```
 * @since 0.1.0
 * @category middleware
 */
export const apiKeyQuery: {
  (
    param: string,
    key: Redacted.Redacted<string>,
    options?: Options
  ): <E, R>(self: HttpClient.HttpClient.With<E, R>) => HttpClient.HttpClient.With<E, R>
  <E, R>(
    self: HttpClient.HttpClient.With<E, R>,
    param: string,
    key: Redacted.Redacted<string>,
    options?: Options
  ): HttpClient.HttpClient.With<E, R>
} = internal.apiKeyQuery

/**
 * Sends `Authorization: Bearer <token>` with a token from `source`; a 401 invalidates that token, fetches a new one
 * and replays the request once, and a second 401 fails with `Unauthorized`.
 *
 * @example
 * ```ts
 * import { HttpClient } from "@effect/platform"
 * import { Auth } from "@sturdy/http"
 * import { Config, Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const source = yield* Auth.jwtSource(Config.redacted("SERVICE_JWT"))
 *   return (yield* HttpClient.HttpClient).pipe(Auth.bearerFrom(source))
 * })
 * ```
 * @since 0.1.0
 * @category middleware
 */
export const bearerFrom: {
  <E2>(
    source: TokenSource<E2>,
    options?: Options
  ): <E, R>(self: HttpClient.HttpClient.With<E, R>) => HttpClient.HttpClient.With<E | E2 | Unauthorized, R>
  <E, R, E2>(
    self: HttpClient.HttpClient.With<E, R>,
    source: TokenSource<E2>,
    options?: Options
  ): HttpClient.HttpClient.With<E | E2 | Unauthorized, R>
} = internal.bearerFrom

/**
 * Builds a `TokenSource` from an effect that fetches a token: the token is cached until `expirySkew` before its
 * `expiresAt`, concurrent refreshes are single-flight, and a failed refresh still serves the old token while it has
 * not expired. The refresh runs in the given scope, so interrupting one caller does not fail the others; the refresh
 * itself stays interruptible, so a timeout on the token request fires and closing the scope ends a request in flight.
 *
 * @example
 * ```ts
 * import { Auth } from "@sturdy/http"
 * import { Effect, Option, Redacted } from "effect"
 *
 * const source = Auth.makeTokenSource(
 *   Effect.succeed({ token: Redacted.make("t"), expiresAt: Option.none() }),
 *   { expirySkew: "30 seconds" }
 * )
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const makeTokenSource: <E, R>(
  acquire: Effect.Effect<AccessToken, E, R>,
  options?: TokenSourceOptions
) => Effect.Effect<TokenSource<E>, never, Scope.Scope | R> = internal.makeTokenSource

/**
 * Builds a `TokenSource` of JWT bearer tokens: each token's `exp` claim (read, not verified: the client does not hold
 * the key) sets when it is refreshed; a token that is not a JWT fails with `MalformedJwt`.
 *
 * @example
 * ```ts
 * import { Auth } from "@sturdy/http"
 * import { Config } from "effect"
 *
 * const source = Auth.jwtSource(Config.redacted("SERVICE_JWT"), { expirySkew: "1 minute" })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const jwtSource: <E, R>(
  acquire: Effect.Effect<Redacted.Redacted<string>, E, R>,
  options?: TokenSourceOptions
) => Effect.Effect<TokenSource<E | MalformedJwt>, never, Scope.Scope | R> = internal.jwtSource

/**
 * Wraps the `HttpClient` in context with a static credential.
 *
 * @example
 * ```ts
 * import { FetchHttpClient } from "@effect/platform"
 * import { Auth } from "@sturdy/http"
 * import { Layer, Redacted } from "effect"
 *
 * const ClientLive = Auth.layer(Auth.Credential.Bearer({ token: Redacted.make("t") })).pipe(
 *   Layer.provide(FetchHttpClient.layer)
 * )
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layer: (
  credential: Credential,
  options?: Options
) => Layer.Layer<HttpClient.HttpClient, never, HttpClient.HttpClient> = internal.layer

/**
 * Wraps the `HttpClient` in context with a credential read from configuration (use `Config.redacted` for the secret).
 *
 * @example
 * ```ts
 * import { Auth } from "@sturdy/http"
 * import { Config } from "effect"
 *
 * const AuthLive = Auth.layerConfig(
 *   Config.map(Config.redacted("API_KEY"), (key) => Auth.Credential.ApiKeyHeader({ header: "X-Api-Key", key }))
 * )
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: (
  config: Config.Config<Credential>,
  options?: Options
) => Layer.Layer<HttpClient.HttpClient, ConfigError.ConfigError, HttpClient.HttpClient> = internal.layerConfig

/**
 * Wraps the `HttpClient` in context with a refreshable bearer token. The `HttpClient` tag only carries
 * `HttpClientError`, so a token failure arrives as a `RequestError` whose `cause` is an
 * `HttpFailure.AuthenticationFailed` (`Rejected`, `Unavailable` or `Malformed`, the request not sent), which an
 * `Attempt` or a `Policy` fails with as it is. A second 401 after a refresh is handed on as the response, as with a
 * static credential (an `Attempt` makes it a `ClientError` 401). Use `bearerFrom` on a client value to keep the token
 * source's own errors and `Unauthorized` in the error channel instead.
 *
 * @example
 * ```ts
 * import { Auth } from "@sturdy/http"
 * import { Config } from "effect"
 *
 * const AuthLive = Auth.layerBearerFrom(Auth.jwtSource(Config.redacted("SERVICE_JWT")))
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layerBearerFrom: <E, R>(
  source: Effect.Effect<TokenSource<E>, never, Scope.Scope | R | HttpClient.HttpClient>,
  options?: Options
) => Layer.Layer<HttpClient.HttpClient, never, HttpClient.HttpClient | Exclude<R, Scope.Scope>> =
  internal.layerBearerFrom

/**
 * Wraps the `HttpClient` in context with a bearer token read from configuration.
 *
 * @example
 * ```ts
 * import { Auth } from "@sturdy/http"
 * import { Config } from "effect"
 *
 * const AuthLive = Auth.layerBearerConfig(Config.redacted("API_TOKEN"))
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layerBearerConfig: (
  token: Config.Config<Redacted.Redacted<string>>,
  options?: Options
) => Layer.Layer<HttpClient.HttpClient, ConfigError.ConfigError, HttpClient.HttpClient> = internal.layerBearerConfig

/**
 * Wraps the `HttpClient` in context with an API key header read from configuration.
 *
 * @example
 * ```ts
 * import { Auth } from "@sturdy/http"
 * import { Config } from "effect"
 *
 * const AuthLive = Auth.layerApiKeyHeaderConfig("X-Api-Key", Config.redacted("API_KEY"))
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layerApiKeyHeaderConfig: (
  header: string,
  key: Config.Config<Redacted.Redacted<string>>,
  options?: Options
) => Layer.Layer<HttpClient.HttpClient, ConfigError.ConfigError, HttpClient.HttpClient> =
  internal.layerApiKeyHeaderConfig

/**
 * Wraps the `HttpClient` in context with an API key query parameter read from configuration.
 *
 * @example
 * ```ts
 * import { Auth } from "@sturdy/http"
 * import { Config } from "effect"
 *
 * const AuthLive = Auth.layerApiKeyQueryConfig("api_key", Config.redacted("API_KEY"))
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layerApiKeyQueryConfig: (
  param: string,
  key: Config.Config<Redacted.Redacted<string>>,
  options?: Options
) => Layer.Layer<HttpClient.HttpClient, ConfigError.ConfigError, HttpClient.HttpClient> =
  internal.layerApiKeyQueryConfig
