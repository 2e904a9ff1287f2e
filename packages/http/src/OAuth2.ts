/**
 * OAuth2 client credentials (RFC 6749 §4.4): fetches an access token, caches it until shortly before it expires,
 * refreshes it single-flight, retries the token request on transient failures, and turns token endpoint failures
 * into typed errors named after RFC 6749 §5.2 error codes.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type * as Auth from "./Auth.js"
import * as internal from "./internal/oauth2.js"

/**
 * The error codes of RFC 6749 §5.2.
 *
 * @example
 * ```ts
 * import { OAuth2 } from "@sturdy/http"
 *
 * OAuth2.errorCodes.includes("invalid_client") // true
 * ```
 * @since 0.1.0
 * @category models
 */
export const errorCodes: ReadonlyArray<ErrorCode> = internal.errorCodes

/**
 * @since 0.1.0
 * @category models
 */
export type ErrorCode = internal.ErrorCode

/**
 * The token endpoint refused the request with an RFC 6749 error (`reason`; `"unknown"` for an extension code, which
 * stays in `errorCode`). Retrying does not help: the client id, secret, scope or grant must change. A secret the
 * endpoint echoes in `errorCode` or `description` is redacted there.
 *
 * @example
 * ```ts
 * import { OAuth2 } from "@sturdy/http"
 * import { Effect } from "effect"
 *
 * const explain = <A, R>(self: Effect.Effect<A, OAuth2.TokenError, R>) =>
 *   Effect.catchTag(self, "TokenRejected", (error) =>
 *     error.reason === "invalid_client" ? Effect.die("check the client secret") : Effect.fail(error))
 * ```
 * @since 0.1.0
 * @category errors
 */
export const TokenRejected: typeof internal.TokenRejected = internal.TokenRejected

/**
 * @since 0.1.0
 * @category errors
 */
export type TokenRejected = internal.TokenRejected

/**
 * The token request failed without an OAuth2 answer: the endpoint could not be reached (`Transport`), answered an
 * unexpected status (`Status`: 5xx, 429 and 408 are retried), or sent a success body without a usable token
 * (`MalformedResponse`, with the status: no `access_token`, one that an `Authorization: Bearer` header cannot carry
 * (anything but visible ASCII: a space, a control character, a non-ASCII character), a token type other than Bearer,
 * or an `expires_in` that is not a finite, positive number of seconds; a numeric string is read), or could not be made at all (`InvalidRequest`: a `tokenUrl`
 * that does not parse; not retried).
 *
 * @example
 * ```ts
 * import { OAuth2 } from "@sturdy/http"
 *
 * const error = new OAuth2.TokenRequestFailed({ reason: "Status", status: 503, detail: "unavailable" })
 * ```
 * @since 0.1.0
 * @category errors
 */
export const TokenRequestFailed: typeof internal.TokenRequestFailed = internal.TokenRequestFailed

/**
 * @since 0.1.0
 * @category errors
 */
export type TokenRequestFailed = internal.TokenRequestFailed

/**
 * Every way a token request can fail.
 *
 * @example
 * ```ts
 * import type { OAuth2 } from "@sturdy/http"
 *
 * const describe = (error: OAuth2.TokenError): string => `${error._tag}: ${error.reason}`
 * ```
 * @since 0.1.0
 * @category errors
 */
export type TokenError = TokenRejected | TokenRequestFailed

/**
 * Whether a token error is worth retrying (transport failures, 5xx, 429, 408).
 *
 * @example
 * ```ts
 * import { OAuth2 } from "@sturdy/http"
 *
 * OAuth2.isRetryable(new OAuth2.TokenRequestFailed({ reason: "Transport", detail: "Transport" })) // true
 * ```
 * @since 0.1.0
 * @category predicates
 */
export const isRetryable: (error: TokenError) => boolean = internal.isRetryable

/**
 * Settings of the client credentials grant.
 *
 * | option                 | default                                                                     |
 * | ---------------------- | --------------------------------------------------------------------------- |
 * | `clientAuthentication` | `"basic"` (HTTP Basic, RFC 6749 §2.3.1)                                     |
 * | `scope`, `audience`    | not sent                                                                    |
 * | `expirySkew`           | 30 seconds, capped at half the lifetime                                     |
 * | `refreshAhead`         | none: a background refresh this long before the due one (`Auth.TokenSourceOptions`) |
 * | `retry`                | `defaultRetry`, only for retryable errors; a 429's or 503's `Retry-After` replaces its delay (one over 30 s ends the retries, as `Retry`'s `maxRetryAfter`) |
 * | `timeout`              | 30 seconds per token request, its body included (`Duration.infinity`: none) |
 * | `origins`              | the origin of each request's first hop                                      |
 *
 * @example
 * ```ts
 * import type { OAuth2 } from "@sturdy/http"
 * import { Redacted } from "effect"
 *
 * const options: OAuth2.ClientCredentialsOptions = {
 *   tokenUrl: "https://auth.example.com/oauth/token",
 *   clientId: "reports",
 *   clientSecret: Redacted.make("s"),
 *   scope: ["reports:read"]
 * }
 * ```
 * @since 0.1.0
 * @category models
 */
export interface ClientCredentialsOptions {
  readonly tokenUrl: string | URL
  readonly clientId: string
  readonly clientSecret: Redacted.Redacted<string>
  readonly clientAuthentication?: "basic" | "body" | undefined
  readonly scope?: string | ReadonlyArray<string> | undefined
  readonly audience?: string | undefined
  readonly extraParams?: Readonly<Record<string, string>> | undefined
  readonly expirySkew?: Duration.DurationInput | undefined
  /**
   * Refresh in the background this long before the refresh is due, serving the cached token meanwhile (default none);
   * see `Auth.TokenSourceOptions`.
   *
   * @since 0.2.0
   */
  readonly refreshAhead?: Duration.DurationInput | undefined
  readonly retry?: Schedule.Schedule<unknown, TokenError> | undefined
  /**
   * How long one token request may take, its body included; when it runs out the request fails with
   * `TokenRequestFailed` `Transport` (retried by `retry`). Without it, an endpoint that never answers would hold
   * every caller waiting for the token. A positive duration; anything else (`NaN`, `0`, `"soon"`) throws a
   * `RangeError` where the request is built (`requestToken`, `clientCredentials`, `layerClientCredentials`).
   *
   * @since 0.2.0
   */
  readonly timeout?: Duration.DurationInput | undefined
  readonly origins?: ReadonlyArray<string> | undefined
}

/**
 * The token request's default retry: exponential from 200 ms, doubling, with equal jitter (each delay between half
 * and all of 200 ms, 400 ms, 800 ms: jitter only shortens, as in `Backoff`), at most 3 retries.
 *
 * @example
 * ```ts
 * import { OAuth2 } from "@sturdy/http"
 * import { Schedule } from "effect"
 *
 * const patient = OAuth2.defaultRetry.pipe(Schedule.upTo("10 seconds"))
 * ```
 * @since 0.1.0
 * @category constants
 */
export const defaultRetry: Schedule.Schedule<unknown, TokenError> = internal.defaultRetry

/**
 * Makes one token request (with retries) through the `HttpClient` in context, without caching.
 *
 * @example
 * ```ts
 * import { OAuth2 } from "@sturdy/http"
 * import { Redacted } from "effect"
 *
 * const token = OAuth2.requestToken({
 *   tokenUrl: "https://auth.example.com/oauth/token",
 *   clientId: "reports",
 *   clientSecret: Redacted.make("s")
 * })
 * ```
 * @since 0.1.0
 * @category token requests
 */
export const requestToken: (
  options: ClientCredentialsOptions
) => Effect.Effect<Auth.AccessToken, TokenError, HttpClient.HttpClient> = internal.requestToken

/**
 * A cached, single-flight `Auth.TokenSource` for the client credentials grant; token requests go through the
 * `HttpClient` in context. Use it with `Auth.bearerFrom`.
 *
 * @example
 * ```ts
 * import { HttpClient } from "@effect/platform"
 * import { Auth, OAuth2 } from "@sturdy/http"
 * import { Config, Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const tokens = yield* OAuth2.clientCredentials({
 *     tokenUrl: "https://auth.example.com/oauth/token",
 *     clientId: "reports",
 *     clientSecret: yield* Config.redacted("OAUTH_CLIENT_SECRET")
 *   })
 *   const client = (yield* HttpClient.HttpClient).pipe(Auth.bearerFrom(tokens), HttpClient.followRedirects())
 *   return yield* client.get("https://api.example.com/reports")
 * })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const clientCredentials: (
  options: ClientCredentialsOptions
) => Effect.Effect<Auth.TokenSource<TokenError>, never, Scope.Scope | HttpClient.HttpClient> =
  internal.clientCredentials

/**
 * Wraps the `HttpClient` in context with client credentials; the token requests use the wrapped client. The
 * `HttpClient` tag only carries `HttpClientError`, so a token failure arrives as a `RequestError` whose `cause` is an
 * `HttpFailure.AuthenticationFailed`: `Rejected` for `TokenRejected` and other 4xx, `Unavailable` for what
 * {@link isRetryable} accepts (after `retry`), `Malformed` for an unusable token response. An `Attempt` or a
 * `Policy` fails with it as it is. A second 401 after a refresh is handed on as the API's response (a `ClientError`
 * 401 to an `Attempt`).
 *
 * @example
 * ```ts
 * import { NodeHttpClient } from "@effect/platform-node"
 * import { OAuth2 } from "@sturdy/http"
 * import { Layer, Redacted } from "effect"
 *
 * const ClientLive = OAuth2.layerClientCredentials({
 *   tokenUrl: "https://auth.example.com/oauth/token",
 *   clientId: "reports",
 *   clientSecret: Redacted.make("s")
 * }).pipe(Layer.provide(NodeHttpClient.layerUndici))
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layerClientCredentials: (
  options: ClientCredentialsOptions
) => Layer.Layer<HttpClient.HttpClient, never, HttpClient.HttpClient> = internal.layerClientCredentials

/**
 * `layerClientCredentials` with its settings read from configuration.
 *
 * @example
 * ```ts
 * import { OAuth2 } from "@sturdy/http"
 * import { Config } from "effect"
 *
 * const AuthLive = OAuth2.layerClientCredentialsConfig(Config.all({
 *   tokenUrl: Config.string("OAUTH_TOKEN_URL"),
 *   clientId: Config.string("OAUTH_CLIENT_ID"),
 *   clientSecret: Config.redacted("OAUTH_CLIENT_SECRET")
 * }))
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layerClientCredentialsConfig: (
  config: Config.Config<ClientCredentialsOptions>
) => Layer.Layer<HttpClient.HttpClient, ConfigError.ConfigError, HttpClient.HttpClient> =
  internal.layerClientCredentialsConfig
