import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Deadline from "@sturdy/policy/Deadline"
import * as Clock from "effect/Clock"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as Auth from "../Auth.js"
import * as HttpFailure from "../HttpFailure.js"
import * as clientResponse from "./clientResponse.js"
import { isNaNInput, isNegative } from "./durationInput.js"
import * as idempotency from "./idempotency.js"
import * as Jwt from "./jwt.js"
import { processingOf } from "./processing.js"
import * as Redaction from "./redaction.js"
import { discardBody, shieldedFromCaller } from "./shielded.js"

// -----------------------------------------------------------------------------
// errors
// -----------------------------------------------------------------------------

/** @internal */
export const REDACTED: string = Redaction.placeholder

/**
 * What a token failure means for the request it was meant for, read by `asHttpClientErrors`: each token error class
 * says it with a getter under this key, so the layers need not know every source's errors.
 *
 * @internal
 */
export const credentialFailureReason: unique symbol = Symbol.for("@sturdy/http/Auth/credentialFailureReason")

/** @internal */
export class Unauthorized extends Schema.TaggedError<Unauthorized>("@sturdy/http/Auth/Unauthorized")("Unauthorized", {
  method: Schema.String,
  url: Schema.String,
  status: Schema.Number
}) {
  override get message() {
    return `the server answered ${this.status} again after the credentials were refreshed (${this.method} ${this.url})`
  }
  // the API refused the refreshed credentials: asking again gets the same answer
  get [credentialFailureReason](): CredentialFailureReason {
    return "Rejected"
  }
}

/** @internal */
export type CredentialFailureReason = HttpFailure.AuthenticationFailed["reason"]

/** @internal */
export class MalformedJwt extends Schema.TaggedError<MalformedJwt>("@sturdy/http/Auth/MalformedJwt")("MalformedJwt", {
  reason: Schema.Literal("Structure", "Encoding", "Payload", "Expiry")
}) {
  override get message() {
    switch (this.reason) {
      case "Structure":
        return "the bearer token is not a compact JWT (three dot-separated parts)"
      case "Encoding":
        return "the JWT payload is not valid base64url"
      case "Payload":
        return "the JWT payload is not a JSON object"
      case "Expiry":
        return "the JWT `exp` claim is not a number of seconds"
    }
  }
  get [credentialFailureReason](): CredentialFailureReason {
    return "Malformed"
  }
}

// -----------------------------------------------------------------------------
// credentials
// -----------------------------------------------------------------------------

/** @internal */
export const Credential = Data.taggedEnum<Auth.Credential>()

// -----------------------------------------------------------------------------
// the middleware core
// -----------------------------------------------------------------------------

interface Attached {
  readonly request: HttpClientRequest.HttpClientRequest
  // present when the credential can be refreshed: a 401 invalidates it and the request is replayed once
  readonly invalidate: Option.Option<Effect.Effect<void>>
}

interface Authenticator<E, R, U> {
  readonly attach: (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<Attached, E, R>
  readonly headers: ReadonlyArray<string>
  readonly params: ReadonlyArray<string>
  // what a 401 to the replayed request becomes
  readonly refusedAgain: (
    response: HttpClientResponse.HttpClientResponse
  ) => Effect.Effect<HttpClientResponse.HttpClientResponse, U>
  // when the refresh after a 401 fails: the 401 is the answer (the request was sent), rather than the token failure
  readonly answerWhenRefreshFails?: boolean
}

/** @internal */
export const isClient = (u: unknown): u is HttpClient.HttpClient.With<unknown, unknown> =>
  Predicate.hasProperty(u, HttpClient.TypeId)

const originOf = (url: string): Option.Option<string> => {
  try {
    return Option.some(new URL(url).origin)
  } catch {
    return Option.none()
  }
}

const normalizeOrigin = (origin: string): string => Option.getOrElse(originOf(origin), () => origin)

/** @internal */
export const redactRequest = (
  request: HttpClientRequest.HttpClientRequest,
  headers: ReadonlyArray<string>,
  params: ReadonlyArray<string>
): HttpClientRequest.HttpClientRequest => {
  let redacted = request
  for (const name of headers) {
    if (Headers.has(redacted.headers, name)) {
      redacted = HttpClientRequest.setHeader(redacted, name, REDACTED)
    }
  }
  for (const name of params) {
    if (Option.isSome(UrlParams.getFirst(redacted.urlParams, name))) {
      redacted = HttpClientRequest.setUrlParam(redacted, name, REDACTED)
    }
  }
  return redacted
}

const stripCredentials = (
  request: HttpClientRequest.HttpClientRequest,
  headers: ReadonlyArray<string>,
  params: ReadonlyArray<string>
): HttpClientRequest.HttpClientRequest => {
  const carries = headers.some((name) => Headers.has(request.headers, name)) ||
    request.urlParams.some(([key]) => params.includes(key))
  if (!carries) return request
  return HttpClientRequest.make(request.method)(request.url, {
    headers: Headers.remove(request.headers, headers),
    urlParams: request.urlParams.filter(([key]) => !params.includes(key)),
    body: request.body,
    ...(Option.isSome(request.hash) ? { hash: request.hash.value } : {})
  })
}

/** @internal */
export const redactError = <E>(
  error: E,
  headers: ReadonlyArray<string>,
  params: ReadonlyArray<string>
): E => {
  if (!HttpClientError.isHttpClientError(error)) {
    return error
  }
  const request = redactRequest(error.request, headers, params)
  if (request === error.request) {
    return error
  }
  // the rebuilt error is the same class with the same tag, so `E` is preserved
  const rebuilt: HttpClientError.HttpClientError = error._tag === "RequestError"
    ? new HttpClientError.RequestError({ ...copyOptional(error), request, reason: error.reason })
    : new HttpClientError.ResponseError({
      ...copyOptional(error),
      request,
      response: redactResponse(error.response, headers, params),
      reason: error.reason
    })
  return rebuilt as E
}

// A response whose `request` (and everything that renders it: `toJSON`, inspection, errors from reading the body)
// shows the credentials as `<redacted>`. The platform keeps the sent request on the response, and responses and
// `ResponseError`s are what applications log.
class RedactedResponse extends clientResponse.Class {
  readonly request: HttpClientRequest.HttpClientRequest
  constructor(
    readonly original: HttpClientResponse.HttpClientResponse,
    readonly redactedHeaders: ReadonlyArray<string>,
    readonly redactedParams: ReadonlyArray<string>
  ) {
    super()
    this.request = redactRequest(original.request, redactedHeaders, redactedParams)
  }
  get status() {
    return this.original.status
  }
  get headers() {
    return this.original.headers
  }
  override get cookies() {
    return this.original.cookies
  }
  override get remoteAddress() {
    return this.original.remoteAddress
  }
  override get receivedBodyBytes() {
    return this.original instanceof clientResponse.Class ? this.original.receivedBodyBytes : undefined
  }
  get bytes() {
    return Effect.mapError(
      Effect.map(this.original.arrayBuffer, (buffer) => new Uint8Array(buffer)),
      (error) => redactError(error, this.redactedHeaders, this.redactedParams)
    )
  }
  get stream() {
    return Stream.mapError(
      this.original.stream,
      (error) => redactError(error, this.redactedHeaders, this.redactedParams)
    )
  }
  override toJSON(): unknown {
    const json = this.original.toJSON()
    return Predicate.isRecord(json) ? { ...json, request: this.request.toJSON() } : json
  }
}

const redactResponse = (
  response: HttpClientResponse.HttpClientResponse,
  headers: ReadonlyArray<string>,
  params: ReadonlyArray<string>
): HttpClientResponse.HttpClientResponse => {
  const request = redactRequest(response.request, headers, params)
  return request === response.request ? response : new RedactedResponse(response, headers, params)
}

const copyOptional = (
  error: HttpClientError.HttpClientError
): { readonly cause?: unknown; readonly description?: string } => ({
  ...(error.cause !== undefined ? { cause: error.cause } : {}),
  ...(error.description !== undefined ? { description: error.description } : {})
})

const redactedUrl = (request: HttpClientRequest.HttpClientRequest, params: ReadonlyArray<string>): string => {
  const redacted = redactRequest(request, [], params)
  return Redaction.redactUrlWithParams(redacted.url, redacted.urlParams)
}

const withoutQuery = (url: string): string => {
  const index = url.search(/[?#]/)
  return index === -1 ? url : url.slice(0, index)
}

// the refused replay's body is read to its end too: the caller gets no response to release the connection with
const unauthorized = (response: HttpClientResponse.HttpClientResponse) =>
  Effect.zipRight(
    discardBody(response),
    Effect.fail(
      new Unauthorized({
        method: response.request.method,
        url: Redaction.redactUrl(withoutQuery(response.request.url)),
        status: response.status
      })
    )
  )

const authenticateWith = <E, R, E2, R2, U>(
  self: HttpClient.HttpClient.With<E, R>,
  authenticator: Authenticator<E2, R2, U>,
  options: Auth.Options | undefined
): HttpClient.HttpClient.With<E | E2 | U, R | R2> => {
  const inner = processingOf(self)
  const { headers, params } = authenticator
  const allowedOrigins = options?.origins !== undefined
    ? Option.some(new Set(options.origins.map(normalizeOrigin)))
    : Option.none()
  // The origin of the first hop of the current execution. `preprocess` runs once per execution and resets it;
  // `postprocess` runs once per hop when `HttpClient.followRedirects` is applied outside this middleware.
  const firstHopOrigin = FiberRef.unsafeMake<Option.Option<string>>(Option.none())

  const isAllowed = (request: HttpClientRequest.HttpClientRequest): Effect.Effect<boolean> => {
    const origin = originOf(request.url)
    if (Option.isNone(origin)) return Effect.succeed(false)
    if (Option.isSome(allowedOrigins)) return Effect.succeed(allowedOrigins.value.has(origin.value))
    return Effect.flatMap(FiberRef.get(firstHopOrigin), (first) =>
      Option.match(first, {
        onNone: () => Effect.as(FiberRef.set(firstHopOrigin, origin), true),
        onSome: (first) => Effect.succeed(first === origin.value)
      }))
  }

  const send = (request: HttpClientRequest.HttpClientRequest) => {
    let sent = inner.postprocess(Effect.succeed(request)).pipe(
      Effect.mapBoth({
        onFailure: (error) => redactError(error, headers, params),
        onSuccess: (response) => redactResponse(response, headers, params)
      }),
      Effect.locallyWith(
        Headers.currentRedactedNames,
        (names) => [...names, ...headers, ...Redaction.headerNamesToRedact]
      )
    )
    const carriesParam = params.some((name) => Option.isSome(UrlParams.getFirst(request.urlParams, name)))
    if (carriesParam) {
      // the platform span records `url.full` and `url.query` verbatim: replace it with a span that redacts them
      // (unless no platform span would be built: under an `Attempt` or a `Policy`, which record their own)
      const unspanned = sent
      const spanned = unspanned.pipe(
        Effect.locally(HttpClient.currentTracerDisabledWhen, () => true),
        Effect.withSpan(`http.client ${request.method}`, {
          kind: "client",
          captureStackTrace: false,
          attributes: {
            "http.request.method": request.method,
            "url.full": redactedUrl(request, params)
          }
        })
      )
      sent = Effect.withFiberRuntime((fiber) =>
        fiber.getFiberRef(HttpClient.currentTracerDisabledWhen)(request) ? unspanned : spanned
      )
    }
    return sent
  }

  const postprocess = (
    requestEffect: Effect.Effect<HttpClientRequest.HttpClientRequest, E, R>
  ): Effect.Effect<HttpClientResponse.HttpClientResponse, E | E2 | U, R | R2> =>
    Effect.flatMap(requestEffect, (request) =>
      Effect.flatMap(isAllowed(request), (allowed) => {
        if (!allowed) return send(stripCredentials(request, headers, params))
        return Effect.flatMap(authenticator.attach(request), (first) =>
          Effect.flatMap(send(first.request), (response) => {
            if (response.status !== 401 || Option.isNone(first.invalidate)) {
              return Effect.succeed(response)
            }
            // a one-shot body was read by the first send and a replay would go out empty: the next call gets a
            // fresh token, this one the 401
            if (!idempotency.isRepeatableBody(request.body)) {
              return Effect.as(first.invalidate.value, response)
            }
            const replay = (second: Attached) =>
              Effect.flatMap(send(second.request), (replayed) =>
                replayed.status === 401 ? authenticator.refusedAgain(replayed) : Effect.succeed(replayed))
            if (authenticator.answerWhenRefreshFails === true) {
              // the 401 stays unread until the refresh is known: if it fails, the caller gets the 401 whole
              return first.invalidate.value.pipe(
                Effect.zipRight(Effect.option(authenticator.attach(request))),
                Effect.flatMap(Option.match({
                  onNone: () =>
                    Effect.succeed(response),
                  onSome: (second) =>
                    Effect.zipRight(discardBody(response), replay(second))
                }))
              )
            }
            return discardBody(response).pipe(
              Effect.zipRight(first.invalidate.value),
              Effect.zipRight(authenticator.attach(request)),
              Effect.flatMap(replay)
            )
          }))
      }))

  return HttpClient.makeWith(
    postprocess,
    (request) => Effect.zipLeft(inner.preprocess(request), FiberRef.set(firstHopOrigin, Option.none()))
  )
}

// -----------------------------------------------------------------------------
// static credentials
// -----------------------------------------------------------------------------

const staticAuthenticator = (credential: Auth.Credential): Authenticator<never, never, never> => {
  // a server that echoes the credential (an error body, a header) has it redacted by value, for the life of the
  // process: a token that changes belongs in a token source (`bearerFrom`), whose old tokens are let go
  Redaction.unsafeRegisterSecret(credential._tag === "Bearer" ? credential.token : credential.key)
  switch (credential._tag) {
    case "Bearer":
      return {
        headers: ["authorization"],
        params: [],
        refusedAgain: Effect.succeed,
        attach: (request) =>
          Effect.succeed({
            request: HttpClientRequest.bearerToken(request, credential.token),
            invalidate: Option.none()
          })
      }
    case "ApiKeyHeader": {
      const header = credential.header.toLowerCase()
      return {
        headers: [header],
        params: [],
        refusedAgain: Effect.succeed,
        attach: (request) =>
          Effect.succeed({
            request: HttpClientRequest.setHeader(request, header, Redacted.value(credential.key)),
            invalidate: Option.none()
          })
      }
    }
    case "ApiKeyQuery":
      return {
        headers: [],
        params: [credential.param],
        refusedAgain: Effect.succeed,
        attach: (request) =>
          Effect.succeed({
            request: HttpClientRequest.setUrlParam(request, credential.param, Redacted.value(credential.key)),
            invalidate: Option.none()
          })
      }
  }
}

/** @internal */
export const authenticate: typeof Auth.authenticate = dual(
  (args) => isClient(args[0]),
  <E, R>(self: HttpClient.HttpClient.With<E, R>, credential: Auth.Credential, options?: Auth.Options) =>
    authenticateWith(self, staticAuthenticator(credential), options)
)

/** @internal */
export const bearer: typeof Auth.bearer = dual(
  (args) => isClient(args[0]),
  <E, R>(self: HttpClient.HttpClient.With<E, R>, token: Redacted.Redacted<string>, options?: Auth.Options) =>
    authenticate(self, Credential.Bearer({ token }), options)
)

/** @internal */
export const apiKeyHeader: typeof Auth.apiKeyHeader = dual(
  (args) => isClient(args[0]),
  <E, R>(
    self: HttpClient.HttpClient.With<E, R>,
    header: string,
    key: Redacted.Redacted<string>,
    options?: Auth.Options
  ) => authenticate(self, Credential.ApiKeyHeader({ header, key }), options)
)

/** @internal */
export const apiKeyQuery: typeof Auth.apiKeyQuery = dual(
  (args) => isClient(args[0]),
  <E, R>(
    self: HttpClient.HttpClient.With<E, R>,
    param: string,
    key: Redacted.Redacted<string>,
    options?: Auth.Options
  ) => authenticate(self, Credential.ApiKeyQuery({ param, key }), options)
)

/** @internal */
export const layer = (
  credential: Auth.Credential,
  options?: Auth.Options
): Layer.Layer<HttpClient.HttpClient, never, HttpClient.HttpClient> =>
  Layer.effect(HttpClient.HttpClient, Effect.map(HttpClient.HttpClient, authenticate(credential, options)))

/** @internal */
export const layerConfig = (
  config: Config.Config<Auth.Credential>,
  options?: Auth.Options
): Layer.Layer<HttpClient.HttpClient, ConfigError.ConfigError, HttpClient.HttpClient> =>
  Layer.unwrapEffect(Effect.map(config, (credential) => layer(credential, options)))

// -----------------------------------------------------------------------------
// refreshable tokens
// -----------------------------------------------------------------------------

interface CachedToken {
  readonly token: Auth.AccessToken
  readonly refreshAt: Option.Option<number>
  /** From when a caller starts a refresh in the background and is served this token (`refreshAhead`). */
  readonly backgroundAt: number
}

interface TokenState<E> {
  readonly cached: Option.Option<CachedToken>
  readonly inflight: Option.Option<Deferred.Deferred<Auth.AccessToken, E>>
}

type Lookup<E> =
  | { readonly _tag: "Fresh"; readonly token: Auth.AccessToken }
  | { readonly _tag: "Ahead"; readonly token: Auth.AccessToken }
  | { readonly _tag: "Await"; readonly deferred: Deferred.Deferred<Auth.AccessToken, E> }
  | { readonly _tag: "Lead" }

const isFresh = (cached: CachedToken, now: number): boolean =>
  Option.match(cached.refreshAt, { onNone: () => true, onSome: (refreshAt) => now < refreshAt })

const isUnexpired = (cached: CachedToken, now: number): boolean =>
  Option.match(cached.token.expiresAt, { onNone: () => true, onSome: (expiresAt) => now < expiresAt })

// Effect reads a negative or NaN skew as zero (refresh only once the token has expired) and throws a bare error on
// an input it cannot read: both are a RangeError naming the option, as OAuth2's `timeout` is
const durationOption = (
  field: "expirySkew" | "refreshAhead",
  input: Duration.DurationInput | undefined,
  fallback: Duration.Duration
): Duration.Duration => {
  if (input === undefined) return fallback
  const decoded = Option.getOrUndefined(Duration.decodeUnknown(input))
  if (decoded === undefined || isNaNInput(input) || isNegative(input)) {
    throw new RangeError(`Auth: ${field} (${String(input)}) must be a non-negative duration`)
  }
  return decoded
}

/** @internal */
export const makeTokenSource = <E, R>(
  acquire: Effect.Effect<Auth.AccessToken, E, R>,
  options?: Auth.TokenSourceOptions
): Effect.Effect<Auth.TokenSource<E>, never, Scope.Scope | R> => {
  // checked when the source is made, as the policies' options are
  const skewMillis = Duration.toMillis(durationOption("expirySkew", options?.expirySkew, Duration.seconds(30)))
  const aheadMillis = Duration.toMillis(durationOption("refreshAhead", options?.refreshAhead, Duration.zero))
  return Effect.gen(function*() {
    const scope = yield* Effect.scope
    const context = yield* Effect.context<R>()
    const state = yield* Ref.make<TokenState<E>>({ cached: Option.none(), inflight: Option.none() })
    // the cached token, mirrored for a read without an effect (`freshTokenOf`)
    let latest: CachedToken | undefined

    const cache = (token: Auth.AccessToken, now: number): CachedToken => {
      // a skew longer than the token's lifetime would refresh on every call: cap it at half the lifetime (and the
      // background refresh at half of what is left before the refresh is due). A token that arrives expired (a slow
      // token endpoint) has no lifetime left: due at its expiry, never after it, even if the clock steps back
      const refreshAt = Option.map(
        token.expiresAt,
        (expiresAt) => expiresAt - Math.min(skewMillis, Math.max(0, expiresAt - now) / 2)
      )
      const backgroundAt = Option.match(refreshAt, {
        onNone: () => Number.POSITIVE_INFINITY,
        onSome: (due) => due - Math.min(aheadMillis, Math.max(0, due - now) / 2)
      })
      return { token, refreshAt, backgroundAt }
    }

    const refresh = (deferred: Deferred.Deferred<Auth.AccessToken, E>) =>
      acquire.pipe(
        Effect.provide(context),
        // forked from a masked region, the refresh would inherit it: a timeout on the token client could not fire,
        // and closing the source's scope would wait for a token request that never answers
        Effect.interruptible,
        Effect.onExit((exit) =>
          Effect.flatMap(Clock.currentTimeMillis, (now) =>
            Ref.update(state, (current) => {
              const cached = Exit.isSuccess(exit)
                ? Option.some(cache(exit.value, now))
                // a failed refresh (a background one) is not tried again before the refresh is due
                : Option.map(current.cached, (kept) =>
                  Option.isSome(kept.refreshAt) ? { ...kept, backgroundAt: kept.refreshAt.value } : kept)
              latest = Option.getOrUndefined(cached)
              return { cached, inflight: Option.none() }
            }))
        ),
        Effect.intoDeferred(deferred),
        // the refresh runs in the source's scope: interrupting the caller that started it does not fail the others
        Effect.forkIn(scope)
      )

    const get: Effect.Effect<Auth.AccessToken, E> = Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const deferred = yield* Deferred.make<Auth.AccessToken, E>()
        const lookup = yield* Ref.modify(state, (current): readonly [Lookup<E>, TokenState<E>] => {
          if (Option.isSome(current.cached) && isFresh(current.cached.value, now)) {
            // ahead of the due refresh: one caller starts it in the background, and every caller keeps the token
            if (now < current.cached.value.backgroundAt || Option.isSome(current.inflight)) {
              return [{ _tag: "Fresh", token: current.cached.value.token }, current]
            }
            return [{ _tag: "Ahead", token: current.cached.value.token }, {
              ...current,
              inflight: Option.some(deferred)
            }]
          }
          if (Option.isSome(current.inflight)) {
            return [{ _tag: "Await", deferred: current.inflight.value }, current]
          }
          return [{ _tag: "Lead" }, { ...current, inflight: Option.some(deferred) }]
        })
        if (lookup._tag === "Fresh") return lookup.token
        if (lookup._tag === "Ahead") {
          yield* refresh(deferred)
          return lookup.token
        }
        const awaited = lookup._tag === "Await" ? lookup.deferred : deferred
        if (lookup._tag === "Lead") yield* refresh(deferred)
        return yield* restore(Deferred.await(awaited)).pipe(
          // a refresh ahead of expiry that fails still leaves a token that the server accepts, if it has not expired
          // while the refresh ran (a token request with retries and timeouts can outlast the token)
          Effect.catchAll((error) =>
            Effect.flatMap(Effect.zip(Ref.get(state), Clock.currentTimeMillis), ([current, failedAt]) =>
              Option.isSome(current.cached) && isUnexpired(current.cached.value, failedAt)
                ? Effect.succeed(current.cached.value.token)
                : Effect.fail(error))
          )
        )
      })
    )

    const invalidate = (stale: Auth.AccessToken): Effect.Effect<void> =>
      Ref.update(state, (current) => {
        if (Option.isNone(current.cached) || current.cached.value.token !== stale) return current
        latest = undefined
        return { ...current, cached: Option.none() }
      })

    const source: Auth.TokenSource<E> = { get, invalidate }
    // a token due for a background refresh goes through `get`, which starts it
    freshTokenOf.set(
      source,
      (now) => latest !== undefined && isFresh(latest, now) && now < latest.backgroundAt ? latest.token : undefined
    )
    return source
  })
}

/** @internal */
export const jwtSource = <E, R>(
  acquire: Effect.Effect<Redacted.Redacted<string>, E, R>,
  options?: Auth.TokenSourceOptions
): Effect.Effect<Auth.TokenSource<E | MalformedJwt>, never, Scope.Scope | R> =>
  makeTokenSource(
    Effect.flatMap(acquire, (token) =>
      Either.match(Jwt.readExpiry(token), {
        onLeft: (reason) => Effect.fail(new MalformedJwt({ reason })),
        onRight: (expiresAt) => Effect.succeed<Auth.AccessToken>({ token, expiresAt })
      })),
    options
  )

const sourceAuthenticator = <E>(source: Auth.TokenSource<E>): Authenticator<E, never, Unauthorized> => ({
  headers: ["authorization"],
  params: [],
  refusedAgain: unauthorized,
  attach: (request) =>
    Effect.map(source.get, (token) => {
      // held for this source while it is current or the one before: a refreshed-away token does not pile up
      Redaction.unsafeRegisterRotatingSecret(source, token.token)
      return {
        request: HttpClientRequest.bearerToken(request, token.token),
        invalidate: Option.some(source.invalidate(token))
      }
    })
})

/** @internal */
export const bearerFrom: typeof Auth.bearerFrom = dual(
  (args) => isClient(args[0]),
  <E, R, E2>(self: HttpClient.HttpClient.With<E, R>, source: Auth.TokenSource<E2>, options?: Auth.Options) =>
    authenticateWith(self, sourceAuthenticator(source), options)
)

const failOrDie = <E>(error: E): Effect.Effect<never, HttpClientError.HttpClientError> =>
  HttpClientError.isHttpClientError(error) ? Effect.fail(error) : Effect.die(error)

const malformedAnswers: ReadonlySet<string> = new Set([
  "InvalidJson",
  "SchemaMismatch",
  "UnexpectedContentType",
  "BodyTooLarge"
])

const reasonOf = (error: unknown): CredentialFailureReason => {
  if (Predicate.hasProperty(error, credentialFailureReason)) {
    const reason = error[credentialFailureReason]
    if (reason === "Rejected" || reason === "Unavailable" || reason === "Malformed") return reason
  }
  // A token source that calls its endpoint through Sturdy fails with the endpoint's own failure: a 4xx refused the
  // client, an unreadable answer is no token, and everything else (a connection, TLS, a deadline, a 5xx) means the
  // endpoint gave no answer.
  if (HttpFailure.isHttpFailure(error)) {
    if (error._tag === "AuthenticationFailed") return error.reason
    if (error._tag === "ClientError") return "Rejected"
    return malformedAnswers.has(error._tag) ? "Malformed" : "Unavailable"
  }
  // an error Sturdy cannot read: as a failed token request, which the source may succeed with later
  return "Unavailable"
}

const stringProperty = (error: unknown, name: string): string | undefined =>
  Predicate.hasProperty(error, name) && Predicate.isString(error[name]) ? error[name] : undefined

/**
 * The failure of a request whose credentials could not be had, from the token source's error.
 *
 * @internal
 */
export const authenticationFailed = (
  request: HttpClientRequest.HttpClientRequest,
  error: unknown
): HttpFailure.AuthenticationFailed => {
  const detail = Redaction.redactText(stringProperty(error, "message") ?? "the token source failed")
  return new HttpFailure.AuthenticationFailed({
    method: request.method,
    url: Redaction.redactRequestUrl(request),
    reason: reasonOf(error),
    detail,
    cause: {
      name: stringProperty(error, "_tag") ?? stringProperty(error, "name") ?? typeof error,
      code: stringProperty(error, "errorCode") ?? stringProperty(error, "code"),
      message: detail
    }
  })
}

/**
 * Folds failures that are not `HttpClientError` into one, so that the client still fits the `HttpClient` tag: a
 * `RequestError` whose `cause` is an `HttpFailure.AuthenticationFailed`, which an `Attempt` or a `Policy` unwraps.
 *
 * @internal
 */
export const asHttpClientErrors = <E, R>(
  self: HttpClient.HttpClient.With<E | HttpClientError.HttpClientError, R>
): HttpClient.HttpClient.With<HttpClientError.HttpClientError, R> => {
  const inner = processingOf(self)
  return HttpClient.makeWith(
    (requestEffect) =>
      Effect.flatMap(
        Effect.catchAll(requestEffect, failOrDie),
        (request) =>
          Effect.catchAll(inner.postprocess(Effect.succeed(request)), (error) => {
            if (HttpClientError.isHttpClientError(error)) return Effect.fail(error)
            const failure = authenticationFailed(request, error)
            return Effect.fail(
              new HttpClientError.RequestError({
                request: redactRequest(Redaction.requestForError(request), ["authorization"], []),
                reason: "Transport",
                cause: failure,
                description: failure.message
              })
            )
          })
      ),
    inner.preprocess
  )
}

// The fresh token a source made by `makeTokenSource` holds, read without waiting: the layers only bound a wait.
const freshTokenOf = new WeakMap<object, (now: number) => Auth.AccessToken | undefined>()

class TokenWaitTimedOut extends Data.TaggedError("TokenWaitTimedOut")<{ readonly timeout: Duration.Duration }> {
  override get message() {
    return `no token within the ${Duration.format(this.timeout)} the request had left`
  }
  get [credentialFailureReason](): CredentialFailureReason {
    return "Unavailable"
  }
}

/**
 * A source's token, waited for no longer than the request's deadline allows (`Deadline.remaining`), so that a token
 * endpoint that hangs fails the request as `AuthenticationFailed` `Unavailable` (never sent, not counted) rather than
 * as the attempt's `Timeout`; a transport that enforces the deadline itself arms no timer, so without this bound a
 * request would wait for the token past its deadline. The wait ends a millisecond before the deadline, so that it
 * fires before an attempt timer armed for the same instant.
 */
const tokenWithinDeadline = <E>(
  source: Auth.TokenSource<E>
): Effect.Effect<Auth.AccessToken, E | TokenWaitTimedOut> => {
  const fresh = freshTokenOf.get(source)
  return Effect.clockWith((clock) => {
    const token = fresh?.(clock.unsafeCurrentTimeMillis())
    if (token !== undefined) return Effect.succeed(token)
    return Effect.flatMap(Deadline.remaining, (left) => {
      if (Option.isNone(left)) return source.get
      const millis = Math.max(0, Duration.toMillis(left.value) - 1)
      // interruptible even under the caller's mask: inheriting the mask, the wait ignored the bound and lasted as long
      // as the token endpoint hung. Only the bound interrupts it: under a mask it runs in a fiber of its own
      // (`shieldedFromCaller`), or an interruption from outside, which the caller holds off, would reach it
      return shieldedFromCaller(Effect.timeoutFail(Effect.interruptible(source.get), {
        duration: Duration.millis(millis),
        onTimeout: () => new TokenWaitTimedOut({ timeout: left.value })
      }))
    })
  })
}

/** @internal */
export const layerBearerFrom = <E, R>(
  source: Effect.Effect<Auth.TokenSource<E>, never, Scope.Scope | R | HttpClient.HttpClient>,
  options?: Auth.Options
): Layer.Layer<HttpClient.HttpClient, never, HttpClient.HttpClient | Exclude<R, Scope.Scope>> =>
  Layer.scoped(
    HttpClient.HttpClient,
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const tokens = yield* source
      // a second 401 is the API's answer, handed on as it is (a `ClientError` 401 to an `Attempt`), as with a
      // static credential: folded into a `RequestError` it would read as a transport failure and be retried
      const bounded: Auth.TokenSource<E | TokenWaitTimedOut> = {
        get: tokenWithinDeadline(tokens),
        invalidate: tokens.invalidate
      }
      const authenticator: Authenticator<E | TokenWaitTimedOut, never, never> = {
        ...sourceAuthenticator(bounded),
        refusedAgain: Effect.succeed,
        answerWhenRefreshFails: true
      }
      return asHttpClientErrors(authenticateWith(client, authenticator, options))
    })
  )

/** @internal */
export const layerBearerConfig = (
  token: Config.Config<Redacted.Redacted<string>>,
  options?: Auth.Options
): Layer.Layer<HttpClient.HttpClient, ConfigError.ConfigError, HttpClient.HttpClient> =>
  Layer.unwrapEffect(Effect.map(token, (token) => layer(Credential.Bearer({ token }), options)))

/** @internal */
export const layerApiKeyHeaderConfig = (
  header: string,
  key: Config.Config<Redacted.Redacted<string>>,
  options?: Auth.Options
): Layer.Layer<HttpClient.HttpClient, ConfigError.ConfigError, HttpClient.HttpClient> =>
  Layer.unwrapEffect(Effect.map(key, (key) => layer(Credential.ApiKeyHeader({ header, key }), options)))

/** @internal */
export const layerApiKeyQueryConfig = (
  param: string,
  key: Config.Config<Redacted.Redacted<string>>,
  options?: Auth.Options
): Layer.Layer<HttpClient.HttpClient, ConfigError.ConfigError, HttpClient.HttpClient> =>
  Layer.unwrapEffect(Effect.map(key, (key) => layer(Credential.ApiKeyQuery({ param, key }), options)))
