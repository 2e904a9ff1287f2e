import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Retry from "@sturdy/policy/Retry"
import * as Clock from "effect/Clock"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Encoding from "effect/Encoding"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as Auth from "../Auth.js"
import type * as OAuth2 from "../OAuth2.js"
import * as auth from "./auth.js"
import * as Jwt from "./jwt.js"
import * as redactedSpan from "./redactedSpan.js"
import * as Redaction from "./redaction.js"
import * as retryHeaders from "./retryHeaders.js"
import { shieldedFromCaller } from "./shielded.js"

// -----------------------------------------------------------------------------
// errors
// -----------------------------------------------------------------------------

/** @internal */
export const errorCodes = [
  "invalid_request",
  "invalid_client",
  "invalid_grant",
  "unauthorized_client",
  "unsupported_grant_type",
  "invalid_scope"
] as const

/** @internal */
export type ErrorCode = typeof errorCodes[number]

/** @internal */
export class TokenRejected extends Schema.TaggedError<TokenRejected>("@sturdy/http/OAuth2/TokenRejected")(
  "TokenRejected",
  {
    reason: Schema.Literal(...errorCodes, "unknown"),
    errorCode: Schema.String,
    status: Schema.Number,
    description: Schema.optional(Schema.String)
  }
) {
  override get message() {
    const description = this.description !== undefined ? `: ${this.description}` : ""
    return `the token endpoint rejected the request with ${this.errorCode} (status ${this.status})${description}`
  }
  get [auth.credentialFailureReason](): auth.CredentialFailureReason {
    return "Rejected"
  }
}

/** @internal */
export class TokenRequestFailed extends Schema.TaggedError<TokenRequestFailed>(
  "@sturdy/http/OAuth2/TokenRequestFailed"
)("TokenRequestFailed", {
  reason: Schema.Literal("Transport", "Status", "MalformedResponse", "InvalidRequest"),
  status: Schema.optional(Schema.Number),
  detail: Schema.String
}) {
  override get message() {
    switch (this.reason) {
      case "Transport":
        return `the token endpoint could not be reached: ${this.detail}`
      case "Status":
        return `the token endpoint answered ${this.status}: ${this.detail}`
      case "MalformedResponse":
        return `the token endpoint answered with an unreadable token response: ${this.detail}`
      case "InvalidRequest":
        return `the token request could not be made (check tokenUrl): ${this.detail}`
    }
  }
  get [auth.credentialFailureReason](): auth.CredentialFailureReason {
    return isRetryable(this) ? "Unavailable" : this.reason === "MalformedResponse" ? "Malformed" : "Rejected"
  }
}

/** @internal */
export type TokenError = TokenRejected | TokenRequestFailed

/** @internal */
export const isRetryable = (error: TokenError): boolean =>
  error._tag === "TokenRequestFailed" && (
    error.reason === "Transport" ||
    (error.reason === "Status" && error.status !== undefined &&
      (error.status >= 500 || error.status === 429 || error.status === 408))
  )

// -----------------------------------------------------------------------------
// client credentials
// -----------------------------------------------------------------------------

/** @internal */
export const defaultRetry: Schedule.Schedule<unknown, TokenError> = Backoff.exponential({
  baseDelay: "200 millis",
  factor: 2,
  // as every backoff of the library, jitter only shortens a delay: 100–200 ms, 200–400 ms, 400–800 ms
  jitter: "equal",
  maxDelay: Duration.infinity,
  maxAttempts: 4
})

// a lifetime in seconds, finite and positive (oauth4webapi also accepts 0): a NaN, infinite, zero or negative one
// would never count as fresh, and every call would ask for a new token. Numeric strings are read (Azure AD v1 sends
// them).
const ExpiresIn = Schema.Union(Schema.Number, Schema.NumberFromString).pipe(Schema.finite(), Schema.positive())

// RFC 6750 §2.1 sends the token as one `b64token` after "Bearer ". Any visible ASCII is accepted, as servers accept
// it; a space, a control character (a CR/LF would split the header) or a non-ASCII character cannot be sent that
// way, so such a token is refused here, once, instead of being cached and failing every API call as InvalidRequest
const AccessToken = Schema.String.pipe(Schema.pattern(/^[\x21-\x7e]+$/))

const TokenResponse = Schema.Struct({
  access_token: AccessToken,
  token_type: Schema.optional(Schema.String),
  expires_in: Schema.optional(ExpiresIn),
  scope: Schema.optional(Schema.String)
})

// RFC 6749 §5.2: `error` is required and one or more characters; an ill-typed optional `error_description` is dropped
// rather than hiding the code the endpoint did send
const ErrorResponse = Schema.Struct({
  error: Schema.NonEmptyString,
  error_description: Schema.optional(Schema.Unknown)
})

const decodeTokenResponse = Schema.decodeUnknownEither(TokenResponse)
const decodeErrorResponse = Schema.decodeUnknownEither(ErrorResponse)

// RFC 6749 §2.3.1: client id and secret are form-urlencoded before they are joined for Basic authentication. A lone
// surrogate, which has no UTF-8 encoding, is sent as U+FFFD, as the form body (`URLSearchParams`) sends it: both
// client authentications send the same id and secret (`encodeURIComponent` alone throws on it)
const formEncode = (value: string): string => encodeURIComponent(Redaction.wellFormed(value)).replace(/%20/g, "+")

const isErrorCode = (code: string): code is ErrorCode => (errorCodes as ReadonlyArray<string>).includes(code)

// a token URL that does not parse, or a body that does not encode, fails the same way every time: not an outage
const transportFailure = (error: HttpClientError.HttpClientError): TokenRequestFailed =>
  new TokenRequestFailed({
    reason: error._tag === "RequestError" && error.reason !== "Transport" ? "InvalidRequest" : "Transport",
    detail: Redaction.redactText(error.description ?? error.reason)
  })

const readJson = (response: HttpClientResponse.HttpClientResponse) =>
  Effect.flatMap(
    Effect.mapError(response.text, transportFailure),
    (text) =>
      Effect.try({
        try: (): unknown => JSON.parse(text),
        catch: () =>
          new TokenRequestFailed({ reason: "MalformedResponse", status: response.status, detail: "body is not JSON" })
      })
  )

const tokenRequest = (options: OAuth2.ClientCredentialsOptions): HttpClientRequest.HttpClientRequest => {
  const params: Record<string, string> = { ...options.extraParams, grant_type: "client_credentials" }
  if (options.scope !== undefined) {
    params.scope = typeof options.scope === "string" ? options.scope : options.scope.join(" ")
  }
  if (options.audience !== undefined) params.audience = options.audience
  const request = HttpClientRequest.post(options.tokenUrl).pipe(HttpClientRequest.acceptJson)
  // a token endpoint that echoes the secret has it redacted by value (pinned: it lives as long as the client)
  Redaction.unsafeRegisterSecret(options.clientSecret)
  if (options.clientAuthentication === "body") {
    return HttpClientRequest.bodyUrlParams(request, {
      ...params,
      client_id: options.clientId,
      client_secret: Redacted.value(options.clientSecret)
    })
  }
  const basic = Encoding.encodeBase64(
    `${formEncode(options.clientId)}:${formEncode(Redacted.value(options.clientSecret))}`
  )
  return request.pipe(
    HttpClientRequest.setHeader("authorization", `Basic ${basic}`),
    HttpClientRequest.bodyUrlParams(params)
  )
}

const toAccessToken = (
  body: typeof TokenResponse.Type,
  status: number,
  requestedAt: number
): Effect.Effect<Auth.AccessToken, TokenRequestFailed> => {
  if (body.token_type !== undefined && body.token_type.toLowerCase() !== "bearer") {
    return Effect.fail(
      // redacted as an error's code and description are: an endpoint that echoes the request may put the secret here
      new TokenRequestFailed({
        reason: "MalformedResponse",
        status,
        detail: `unsupported token_type ${Redaction.redactText(body.token_type)}`
      })
    )
  }
  const token = Redacted.make(body.access_token)
  // without `expires_in`, a JWT access token still tells when it expires; an opaque one lives until a 401
  const expiresAt = body.expires_in !== undefined
    ? Option.some(requestedAt + body.expires_in * 1000)
    : Either.getOrElse(Jwt.readExpiry(token), () => Option.none<number>())
  return Effect.succeed({ token, expiresAt })
}

/** @internal */
export const defaultTimeout: Duration.Duration = Duration.seconds(30)

// checked when the request is built, as `Backoff` checks its options: a NaN or zero would fail every token request
// at once ("no answer within 0"), read as an outage
const timeoutOf = (options: OAuth2.ClientCredentialsOptions): Duration.Duration => {
  if (options.timeout === undefined) return defaultTimeout
  const decoded = Option.getOrUndefined(Duration.decodeUnknown(options.timeout))
  if (decoded === undefined || !(Duration.toMillis(decoded) > 0)) {
    const shown = typeof options.timeout === "number" ? ` (got ${options.timeout})` : ""
    throw new RangeError(`OAuth2: timeout must be a positive duration, Duration.infinity for none${shown}`)
  }
  return decoded
}

// a token endpoint that never answers would otherwise hold every caller waiting for the refresh
const noAnswer = (timeout: Duration.Duration): TokenRequestFailed =>
  new TokenRequestFailed({ reason: "Transport", detail: `no answer within ${Duration.format(timeout)}` })

// interruptible even under the caller's mask: inheriting the mask, the request ignored the timeout. Only the timeout
// interrupts it: under a mask it runs in a fiber of its own (`shieldedFromCaller`), or an interruption from outside,
// which the caller holds off, would reach it
const withTimeout = (timeout: Duration.Duration) => <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Duration.isFinite(timeout)
    ? shieldedFromCaller(
      Effect.timeoutFail(Effect.interruptible(self), { duration: timeout, onTimeout: () => noAnswer(timeout) })
    )
    : self

/** @internal */
export const requestToken = (
  options: OAuth2.ClientCredentialsOptions
): Effect.Effect<Auth.AccessToken, TokenError, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    // the expiry counts from when the request left, so a slow token endpoint cannot stretch the token's lifetime
    const requestedAt = yield* Clock.currentTimeMillis
    // under a redacted client span in place of the platform's, which would end with the raw transport error and so
    // with the request it names (its Basic credentials); the span ends with the redacted `TokenRequestFailed`
    const response = yield* redactedSpan.withRedactedSpan(tokenRequest(options), (sent, record) =>
      client.execute(sent).pipe(
        Effect.tap((response) =>
          record?.(response)
        ),
        Effect.mapError(transportFailure)
      ))
    if (response.status >= 200 && response.status < 300) {
      const json = yield* readJson(response)
      const body = decodeTokenResponse(json)
      if (Either.isLeft(body)) {
        return yield* new TokenRequestFailed({
          reason: "MalformedResponse",
          status: response.status,
          detail: "missing or invalid access_token, token_type or expires_in"
        })
      }
      return yield* toAccessToken(body.right, response.status, requestedAt)
    }
    const isClientError = response.status >= 400 && response.status < 500 && response.status !== 408 &&
      response.status !== 429
    const errorBody = yield* Effect.either(readJson(response))
    const oauthError = Either.flatMap(errorBody, (json) => Either.mapLeft(decodeErrorResponse(json), () => undefined))
    if (isClientError && Either.isRight(oauthError)) {
      const { error, error_description } = oauthError.right
      // the code is redacted as the description is: an endpoint that echoes the request may put the secret in either
      return yield* new TokenRejected({
        reason: isErrorCode(error) ? error : "unknown",
        errorCode: Redaction.redactText(error),
        status: response.status,
        ...(typeof error_description === "string" ? { description: Redaction.redactText(error_description) } : {})
      })
    }
    const failure = new TokenRequestFailed({
      reason: "Status",
      status: response.status,
      detail: isClientError ? "no OAuth2 error in the response" : "the token endpoint is unavailable"
    })
    // a 429's or 503's Retry-After is the wait before the next try, as `Policy` reads it
    if (response.status === 429 || response.status === 503) {
      const wait = retryHeaders.limitedRetryAfter(response.headers, yield* Clock.currentTimeMillis)
      if (Option.isSome(wait)) Object.defineProperty(failure, serverWait, { value: wait.value })
    }
    return yield* failure
  }).pipe(
    withTimeout(timeoutOf(options)),
    (attempt) =>
      Retry.retry(attempt, {
        schedule: options.retry ?? defaultRetry,
        while: isRetryable,
        delayHint: (error) => Option.fromNullable((error as { readonly [serverWait]?: Duration.Duration })[serverWait])
      }),
    Effect.withSpan("OAuth2.requestToken", { attributes: { "oauth2.client_id": options.clientId } })
  )

// The wait a failed token request's endpoint asked for, kept on the failure out of sight (not one of its public
// fields, not enumerable): it only steers the retry. A property rather than a WeakMap entry, since the failure reaches
// the retry as the proxy Effect wraps an error in to carry its span.
const serverWait: unique symbol = Symbol.for("@sturdy/http/OAuth2/serverWait")

/** @internal */
export const clientCredentials = (
  options: OAuth2.ClientCredentialsOptions
): Effect.Effect<Auth.TokenSource<TokenError>, never, Scope.Scope | HttpClient.HttpClient> =>
  auth.makeTokenSource(requestToken(options), { expirySkew: options.expirySkew, refreshAhead: options.refreshAhead })

/** @internal */
export const layerClientCredentials = (
  options: OAuth2.ClientCredentialsOptions
): Layer.Layer<HttpClient.HttpClient, never, HttpClient.HttpClient> =>
  auth.layerBearerFrom(clientCredentials(options), { origins: options.origins })

/** @internal */
export const layerClientCredentialsConfig = (
  config: Config.Config<OAuth2.ClientCredentialsOptions>
): Layer.Layer<HttpClient.HttpClient, ConfigError.ConfigError, HttpClient.HttpClient> =>
  Layer.unwrapEffect(Effect.map(config, layerClientCredentials))
