// Model-based tests of `Auth`'s refreshable bearer tokens over `OAuth2.clientCredentials`, in virtual time (TestClock
// only), with a fake token endpoint and a fake API that both hold every request until a command answers it. Three
// families: `Auth.bearerFrom` (the source's own errors and `Unauthorized`), the same with `refreshAhead`, and
// `Auth.layerBearerFrom` (a token failure folded into a `RequestError` caused by `AuthenticationFailed`).
//
// The model is written from the module docs: `Auth.makeTokenSource` ("cached until `expirySkew` before its `expiresAt`,
// concurrent refreshes are single-flight, and a failed refresh still serves the old token while it has not expired"),
// `Auth.TokenSourceOptions` (skew "capped at half the token's lifetime"; `refreshAhead`: the first caller from
// `refreshAhead` before the due refresh, capped at half the time from caching to then, starts one refresh in the
// background and every caller keeps the cached token; "a background refresh that fails is not tried again early"),
// `Auth.bearerFrom` ("a 401 invalidates that token, fetches a new one and replays the request once, and a second 401
// fails with `Unauthorized`"), `Auth.TokenSource.invalidate`, `Auth.layerBearerFrom` and
// `OAuth2.layerClientCredentials` (`Rejected` / `Unavailable` / `Malformed`; a second 401 handed on as the response),
// `OAuth2` (typed `TokenRejected` / `TokenRequestFailed` reasons; 5xx, 429 and transport failures retried by `retry`,
// 400, 401 and malformed answers not; `timeout` per token request ending as `Transport`; `expires_in` counted from when
// the request left, a JWT's `exp` without it, an opaque token without it kept until a 401).
//
// The model keeps the clock, the cached token (name, expiry, refresh and background instants), the refresh in flight
// (its waiters, the current attempt's start and timeout, the retry timer), the count of token requests, and per API
// call the tokens its requests carried and its outcome. Commands: N concurrent calls start; the token endpoint answers
// (a token with `expires_in`, a JWT with `exp`, an opaque token, 400 invalid_grant, 401 invalid_client, 400 without an
// OAuth2 body, 429 and 503 (retried), a body without `access_token`; "hang" is not answering while the clock runs into
// the timeout); the API answers one pending request 200 / 401 / 403; the clock advances to the background or refresh
// instant, the expiry, the attempt's timeout or the retry's wake-up (each -1 / 0 / +1 ms) or by a fixed step; the clock
// steps back; a token (the cached one or the first ever issued) is invalidated. After each command: the token requests
// made (never two at once), the tokens every API request carried, every call's outcome (a typed failure's tag and
// reason), whether a token request waits for an answer, the cached token (read by a `get` that must answer at once,
// with no token request, whenever the model says it is fresh and no background refresh is due), and no failure's
// rendering shows an issued token.
//
// Rules taken from the code (internal/auth.ts, internal/oauth2.ts), the docs being silent: the refresh instant is
// `expiresAt - min(skew, max(0, expiresAt - cachedAt) / 2)` with `cachedAt` when the answer arrived (a token that
// arrives already expired is handed to its waiters, is stale at once and stays stale if the clock steps back: the
// `max(0, …)` is the fix of the defect this file found); fresh while `now < refreshAt`, unexpired
// while `now < expiresAt`; the fallback to the old token is decided per waiter when the refresh fails, and it applies
// to a replay after a 401 only when a different, unexpired token is cached; `invalidate` drops the cached token only
// when it is the one given (a 401 to an older token leaves a newer one cached); a 401 to the replay does not
// invalidate; the token timeout and the retry delay are absolute TestClock instants, so stepping the clock back
// postpones them; `TokenRequestFailed` `Status` 400 is `Rejected` under the layer.
//
// Left out: deadlines (`Deadline.remaining` bounding the layer's wait), non-repeatable bodies, redirects and
// `origins`, the default jittered retry (a fixed 1 s, one retry, here), interrupted callers, closing the scope with a
// refresh in flight. Scope/audience: a source has one set of options, so there is no per-key cache to model.
//
// Mutants checked (each failed a property with a shrunk counterexample; sources restored from a copy):
//   M1  auth `get`: a refresh in flight ignored, every stale caller leads its own (2 token requests at once)
//   M2  auth `cache`: the skew not capped at half the lifetime (a 1 s token never fresh)
//   M3  auth `get`: no fallback to the unexpired old token when the refresh fails
//   M4  auth `invalidate`: drops the cached token whatever token is given
//   M5  auth `authenticateWith`: a 401 to the replay answered as a response instead of `Unauthorized`
//   M6  oauth2 `requestToken`: `expires_in` counted from when the answer arrived
//   M7  oauth2 `isRetryable`: 5xx not retried
//   M8  model: fresh while `now <= refreshAt` (one ms late)
//   M9  model: the retry timer moved back with the clock
//   M10 auth refresh `onExit`: a failed background refresh tried again early (backgroundAt kept)
//   M11 auth `get`: no background refresh (every fresh token served until due)
//   M12 auth `layerBearerFrom`: a failed refresh after a 401 fails the call instead of handing on the 401
//   M13 auth `freshTokenOf`: the layer's fast path serves a token whose background refresh is due
//   M14 auth `cache`: the fix reverted (`Math.max(0, expiresAt - now)` -> `expiresAt - now`): the fixed case fails
//       (the generated runs do not reach this 1 s window on their own)
//   M15 oauth2 `isRetryable`: 429 not retried
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import { Auth, HttpFailure, OAuth2 } from "@sturdy/http"
import {
  Cause,
  Context,
  Deferred,
  Effect,
  Exit,
  FastCheck as fc,
  Fiber,
  Layer,
  Option,
  Redacted,
  Runtime,
  Schedule,
  Scope,
  TestClock,
  TestContext
} from "effect"

const SKEW = 30_000
const TIMEOUT = 5_000
const RETRY_DELAY = 1_000
const RETRIES = 1

// -----------------------------------------------------------------------------
// the model
// -----------------------------------------------------------------------------

interface Cached {
  readonly name: string
  readonly expiresAt: number | undefined
  readonly refreshAt: number | undefined
  // from when a caller starts a background refresh and is served this token (`refreshAhead`)
  readonly backgroundAt: number
}

// `bearerFrom` keeps the token source's errors and `Unauthorized`; `layer` is `Auth.layerBearerFrom`, which folds a
// token failure into a `RequestError` caused by `AuthenticationFailed` and hands a 401 on when the refresh after it
// fails or the replay is refused again
type Mode = "bearerFrom" | "layer"

interface Refresh {
  readonly waiters: Array<number>
  retriesLeft: number
  attempt: { readonly requestedAt: number; readonly timeoutAt: number } | undefined
  retryAt: number | undefined
}

interface CallModel {
  readonly tokens: Array<string>
  replayed: boolean
  awaitingApi: boolean
  outcome: string | undefined
}

interface Model {
  readonly mode: Mode
  readonly ahead: number
  now: number
  cached: Cached | undefined
  refresh: Refresh | undefined
  tokenRequests: number
  readonly issued: Array<string>
  readonly calls: Array<CallModel>
}

const isFresh = (cached: Cached, now: number) => cached.refreshAt === undefined || now < cached.refreshAt
const isUnexpired = (cached: Cached, now: number) => cached.expiresAt === undefined || now < cached.expiresAt

const send = (m: Model, id: number, name: string) => {
  const call = m.calls[id]!
  call.tokens.push(name)
  call.awaitingApi = true
}

const startAttempt = (m: Model, refresh: Refresh) => {
  m.tokenRequests++
  refresh.attempt = { requestedAt: m.now, timeoutAt: m.now + TIMEOUT }
  refresh.retryAt = undefined
}

const startRefresh = (m: Model): Refresh => {
  const refresh: Refresh = { waiters: [], retriesLeft: RETRIES, attempt: undefined, retryAt: undefined }
  m.refresh = refresh
  startAttempt(m, refresh)
  return refresh
}

const get = (m: Model, id: number) => {
  if (m.cached !== undefined && isFresh(m.cached, m.now)) {
    // ahead of the due refresh, the first caller starts one in the background; every caller keeps the token
    if (m.now >= m.cached.backgroundAt && m.refresh === undefined) startRefresh(m)
    return send(m, id, m.cached.name)
  }
  ;(m.refresh ?? startRefresh(m)).waiters.push(id)
}

const granted = (m: Model, name: string, expiresAt: number | undefined) => {
  const waiters = m.refresh!.waiters
  m.refresh = undefined
  m.issued.push(name)
  const refreshAt = expiresAt === undefined ? undefined : expiresAt - Math.min(SKEW, Math.max(0, expiresAt - m.now) / 2)
  const backgroundAt = refreshAt === undefined
    ? Number.POSITIVE_INFINITY
    : refreshAt - Math.min(m.ahead, Math.max(0, refreshAt - m.now) / 2)
  m.cached = { name, expiresAt, refreshAt, backgroundAt }
  for (const id of waiters) send(m, id, name)
}

const refused = (m: Model, outcome: string) => {
  const waiters = m.refresh!.waiters
  m.refresh = undefined
  // a failed background refresh is not tried again before the refresh is due
  if (m.cached?.refreshAt !== undefined) m.cached = { ...m.cached, backgroundAt: m.cached.refreshAt }
  for (const id of waiters) {
    if (m.cached !== undefined && isUnexpired(m.cached, m.now)) {
      send(m, id, m.cached.name)
    } else {
      const call = m.calls[id]!
      call.outcome = m.mode === "layer"
        ? (call.replayed ? "ok:401" : asLayerFailure(outcome))
        : outcome.replace("StatusRetryable", "Status")
    }
  }
}

// `AuthenticationFailed`'s reason for each token failure (OAuth2.layerClientCredentials' doc)
const asLayerFailure = (outcome: string): string =>
  outcome === "TokenRequestFailed:MalformedResponse"
    ? "RequestError:Malformed"
    : outcome === "TokenRequestFailed:Transport" || outcome === "TokenRequestFailed:StatusRetryable"
    ? "RequestError:Unavailable"
    : "RequestError:Rejected"

const failedRetryable = (m: Model, outcome: string) => {
  const refresh = m.refresh!
  if (refresh.retriesLeft === 0) return refused(m, outcome)
  refresh.retriesLeft--
  refresh.attempt = undefined
  refresh.retryAt = m.now + RETRY_DELAY
}

const advanceTo = (m: Model, end: number) => {
  for (;;) {
    const refresh = m.refresh
    const next = refresh?.attempt?.timeoutAt ?? refresh?.retryAt
    if (refresh === undefined || next === undefined || next > end) break
    m.now = next
    if (refresh.attempt !== undefined) failedRetryable(m, "TokenRequestFailed:Transport")
    else startAttempt(m, refresh)
  }
  m.now = end
}

const apiAnswered = (m: Model, id: number, status: number) => {
  const call = m.calls[id]!
  call.awaitingApi = false
  if (status !== 401) {
    call.outcome = `ok:${status}`
  } else if (call.replayed) {
    call.outcome = m.mode === "layer" ? "ok:401" : "Unauthorized"
  } else {
    call.replayed = true
    if (m.cached?.name === call.tokens.at(-1)) m.cached = undefined
    get(m, id)
  }
}

const pendingApi = (m: Model) => m.calls.flatMap((call, id) => call.awaitingApi ? [id] : [])

// -----------------------------------------------------------------------------
// the system: a fake token endpoint and a fake API, each request held until answered
// -----------------------------------------------------------------------------

interface Real {
  readonly rt: Runtime.Runtime<never>
  readonly scope: Scope.CloseableScope
  readonly source: Auth.TokenSource<OAuth2.TokenError>
  readonly call: (id: number) => Effect.Effect<HttpClientResponse.HttpClientResponse, unknown>
  pendingToken: Deferred.Deferred<Response> | undefined
  tokenRequests: number
  inflightTokens: number
  maxInflightTokens: number
  readonly api: Map<number, Deferred.Deferred<number>>
  readonly sent: Map<number, Array<string>>
  readonly exits: Map<number, Exit.Exit<HttpClientResponse.HttpClientResponse, unknown>>
  readonly tokens: Map<string, Auth.AccessToken>
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } })

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url")
const jwt = (exp: number, n: number) => `${base64url({ alg: "none" })}.${base64url({ exp, jti: n })}.sig`

const makeReal = async (mode: Mode, ahead: number): Promise<Real> => {
  const { rt, scope } = await Effect.runPromise(
    Effect.gen(function*() {
      return { rt: yield* Effect.runtime<never>(), scope: yield* Scope.make() }
    }).pipe(Effect.provide(TestContext.TestContext))
  )
  const real = {
    rt,
    scope,
    pendingToken: undefined,
    tokenRequests: 0,
    inflightTokens: 0,
    maxInflightTokens: 0,
    api: new Map(),
    sent: new Map(),
    exits: new Map(),
    tokens: new Map()
  } as unknown as { -readonly [K in keyof Real]: Real[K] }
  const tokenEndpoint = HttpClient.make((request) =>
    Effect.gen(function*() {
      real.tokenRequests++
      real.inflightTokens++
      real.maxInflightTokens = Math.max(real.maxInflightTokens, real.inflightTokens)
      const answer = yield* Deferred.make<Response>()
      real.pendingToken = answer
      const response = yield* Deferred.await(answer).pipe(
        Effect.ensuring(Effect.sync(() => {
          real.inflightTokens--
          if (real.pendingToken === answer) real.pendingToken = undefined
        }))
      )
      return HttpClientResponse.fromWeb(request, response)
    })
  )
  const api = HttpClient.make((request, url) =>
    Effect.gen(function*() {
      const id = Number(url.pathname.slice(2))
      real.sent.get(id)!.push((request.headers["authorization"] ?? "none").replace(/^Bearer /, ""))
      const answer = yield* Deferred.make<number>()
      real.api.set(id, answer)
      const status = yield* Deferred.await(answer)
      return HttpClientResponse.fromWeb(request, new Response(status === 200 ? "ok" : "refused", { status }))
    })
  )
  // under the layer, token requests go through the client the layer wraps
  const router = HttpClient.make((request, url) =>
    url.host === "auth.test" ? tokenEndpoint.execute(request) : api.execute(request)
  )
  const source = await Runtime.runPromise(rt)(
    OAuth2.clientCredentials({
      tokenUrl: "http://auth.test/token",
      clientId: "model",
      clientSecret: Redacted.make("client-secret"),
      expirySkew: SKEW,
      refreshAhead: ahead,
      timeout: TIMEOUT,
      retry: Schedule.intersect(Schedule.spaced(RETRY_DELAY), Schedule.recurs(RETRIES))
    }).pipe(
      Effect.provideService(HttpClient.HttpClient, mode === "layer" ? router : tokenEndpoint),
      Scope.extend(scope)
    )
  )
  // the tokens handed out, by value, so that `invalidate` can be given the very token the source returned
  const tracked: Auth.TokenSource<OAuth2.TokenError> = {
    get: Effect.tap(source.get, (token) => Effect.sync(() => real.tokens.set(Redacted.value(token.token), token))),
    invalidate: source.invalidate
  }
  const client: HttpClient.HttpClient.With<unknown> = mode === "bearerFrom"
    ? api.pipe(Auth.bearerFrom(tracked))
    : Context.get(
      await Runtime.runPromise(rt)(
        Layer.buildWithScope(
          // the source itself (not the tracking wrapper), so that the layer's read of a fresh token is exercised
          Auth.layerBearerFrom(Effect.succeed(source)).pipe(
            Layer.provide(Layer.succeed(HttpClient.HttpClient, router))
          ),
          scope
        )
      ),
      HttpClient.HttpClient
    )
  real.source = tracked
  real.call = (id) => client.get(`http://api.test/c${id}`)
  return real
}

// lets the forked fibers run until nothing moves: at least 12 scheduler rounds (6 suffice today), then until what
// the harness sees stays the same for 8 more
const settle = async (real: Real) => {
  const seen = () =>
    JSON.stringify([
      real.tokenRequests,
      real.inflightTokens,
      real.pendingToken !== undefined,
      [...real.api.keys()],
      [...real.sent.values()],
      real.exits.size,
      real.tokens.size
    ])
  let last = seen()
  for (let i = 0, still = 0; i < 400 && (i < 12 || still < 8); i++) {
    await Runtime.runPromise(real.rt)(Effect.yieldNow())
    const now = seen()
    still = now === last ? still + 1 : 0
    last = now
  }
}

const outcomeOf = (exit: Exit.Exit<HttpClientResponse.HttpClientResponse, unknown>): string =>
  Exit.match(exit, {
    onSuccess: (response) => `ok:${response.status}`,
    onFailure: (cause) =>
      Option.match(Cause.failureOption(cause), {
        onNone: () => `defect:${Cause.pretty(cause)}`,
        onSome: (error) => {
          const e = error as { readonly _tag: string; readonly reason?: string; readonly cause?: unknown }
          if (e._tag === "Unauthorized") return "Unauthorized"
          if (e._tag === "RequestError" && HttpFailure.isHttpFailure(e.cause)) {
            return `RequestError:${(e.cause as { readonly reason?: string }).reason}`
          }
          return `${e._tag}:${e.reason}`
        }
      })
  })

const compare = async (m: Model, real: Real) => {
  expect(real.maxInflightTokens).toBeLessThanOrEqual(1)
  expect(real.tokenRequests).toBe(m.tokenRequests)
  expect(real.pendingToken !== undefined).toBe(m.refresh?.attempt !== undefined)
  expect(m.calls.map((_, id) => real.sent.get(id))).toStrictEqual(m.calls.map((call) => call.tokens))
  expect(m.calls.map((_, id) => Option.getOrUndefined(Option.map(Option.fromNullable(real.exits.get(id)), outcomeOf))))
    .toStrictEqual(m.calls.map((call) => call.outcome))
  // no failure shows an issued token
  for (const exit of real.exits.values()) {
    if (Exit.isFailure(exit)) {
      const shown = Cause.pretty(exit.cause)
      for (const name of m.issued) expect(shown).not.toContain(name)
    }
  }
  // the cached token: a fresh one is handed out at once, without a token request
  if (
    m.cached !== undefined && isFresh(m.cached, m.now) && (m.now < m.cached.backgroundAt || m.refresh !== undefined)
  ) {
    const fiber = Runtime.runFork(real.rt)(real.source.get)
    await settle(real)
    const exit = fiber.unsafePoll()
    if (exit === null) await Runtime.runPromise(real.rt)(Fiber.interrupt(fiber))
    expect(exit !== null && Exit.isSuccess(exit) ? Redacted.value(exit.value.token) : "not at once").toBe(
      m.cached.name
    )
    expect(real.tokenRequests).toBe(m.tokenRequests)
  }
}

// -----------------------------------------------------------------------------
// commands
// -----------------------------------------------------------------------------

type Cmd = fc.AsyncCommand<Model, Real, false>

class StartCalls implements Cmd {
  constructor(readonly n: number) {}
  check = () => true
  async run(m: Model, real: Real) {
    for (let i = 0; i < this.n; i++) {
      const id = m.calls.length
      m.calls.push({ tokens: [], replayed: false, awaitingApi: false, outcome: undefined })
      get(m, id)
      real.sent.set(id, [])
      Runtime.runFork(real.rt)(
        Effect.exit(real.call(id)).pipe(Effect.tap((exit) => Effect.sync(() => real.exits.set(id, exit))))
      )
    }
    await settle(real)
    await compare(m, real)
  }
  toString = () => `start ${this.n}`
}

type TokenAnswer =
  | { readonly _tag: "Grant"; readonly expiresIn: number }
  | { readonly _tag: "Jwt"; readonly exp: number }
  | { readonly _tag: "Opaque" }
  | { readonly _tag: "InvalidGrant" }
  | { readonly _tag: "InvalidClient" }
  | { readonly _tag: "Status"; readonly status: 400 | 429 | 503 }
  | { readonly _tag: "Malformed" }

class TokenAnswers implements Cmd {
  constructor(readonly answer: TokenAnswer) {}
  check = (m: Readonly<Model>) => m.refresh?.attempt !== undefined
  async run(m: Model, real: Real) {
    const requestedAt = m.refresh!.attempt!.requestedAt
    const n = m.issued.length + 1
    let response: Response
    switch (this.answer._tag) {
      case "Grant": {
        const name = `at-${n}-s3cret`
        response = json(200, { access_token: name, token_type: "Bearer", expires_in: this.answer.expiresIn })
        granted(m, name, requestedAt + this.answer.expiresIn * 1000)
        break
      }
      case "Jwt": {
        const exp = Math.floor(m.now / 1000) + this.answer.exp
        const name = jwt(exp, n)
        response = json(200, { access_token: name, token_type: "bearer" })
        granted(m, name, exp * 1000)
        break
      }
      case "Opaque": {
        const name = `opaque-${n}-s3cret`
        response = json(200, { access_token: name })
        granted(m, name, undefined)
        break
      }
      case "InvalidGrant":
        response = json(400, { error: "invalid_grant", error_description: "grant revoked" })
        refused(m, "TokenRejected:invalid_grant")
        break
      case "InvalidClient":
        response = json(401, { error: "invalid_client" })
        refused(m, "TokenRejected:invalid_client")
        break
      case "Status":
        response = new Response("down", { status: this.answer.status })
        if (this.answer.status === 400) refused(m, "TokenRequestFailed:Status")
        else failedRetryable(m, "TokenRequestFailed:StatusRetryable")
        break
      case "Malformed":
        response = json(200, { token_type: "Bearer", expires_in: 60 })
        refused(m, "TokenRequestFailed:MalformedResponse")
        break
    }
    const pending = real.pendingToken
    if (pending === undefined) throw new Error("no token request waits for an answer")
    real.pendingToken = undefined
    await Runtime.runPromise(real.rt)(Deferred.succeed(pending, response))
    await settle(real)
    await compare(m, real)
  }
  toString = () => `token answers ${JSON.stringify(this.answer)}`
}

class ApiAnswers implements Cmd {
  constructor(readonly pick: number, readonly status: 200 | 401 | 403) {}
  check = (m: Readonly<Model>) => pendingApi(m as Model).length > 0
  async run(m: Model, real: Real) {
    const pending = pendingApi(m)
    const id = pending[this.pick % pending.length]!
    apiAnswered(m, id, this.status)
    const answer = real.api.get(id)
    if (answer === undefined) throw new Error(`call ${id} has no request waiting`)
    real.api.delete(id)
    await Runtime.runPromise(real.rt)(Deferred.succeed(answer, this.status))
    await settle(real)
    await compare(m, real)
  }
  toString = () => `api answers #${this.pick} ${this.status}`
}

type Target = "backgroundAt" | "refreshAt" | "expiresAt" | "timeout" | "retry" | "by"

class Advance implements Cmd {
  constructor(readonly target: Target, readonly delta: -1 | 0 | 1, readonly by: number) {}
  check = () => true
  async run(m: Model, real: Real) {
    const background = m.cached?.backgroundAt
    const at = this.target === "backgroundAt"
      ? (background !== undefined && Number.isFinite(background) ? background : undefined)
      : this.target === "refreshAt"
      ? m.cached?.refreshAt
      : this.target === "expiresAt"
      ? m.cached?.expiresAt
      : this.target === "timeout"
      ? m.refresh?.attempt?.timeoutAt
      : this.target === "retry"
      ? m.refresh?.retryAt
      : undefined
    const amount = at === undefined ? this.by : Math.max(0, Math.ceil(at) + this.delta - m.now)
    advanceTo(m, m.now + amount)
    await Runtime.runPromise(real.rt)(TestClock.adjust(amount))
    await settle(real)
    await compare(m, real)
  }
  toString = () => `advance ${this.target}${this.delta >= 0 ? "+" : ""}${this.delta} (or ${this.by})`
}

class StepBack implements Cmd {
  constructor(readonly by: number) {}
  check = () => true
  async run(m: Model, real: Real) {
    const amount = Math.min(this.by, m.now)
    m.now -= amount
    await Runtime.runPromise(real.rt)(TestClock.setTime(m.now))
    await settle(real)
    await compare(m, real)
  }
  toString = () => `step back ${this.by}`
}

class Invalidate implements Cmd {
  constructor(readonly which: "cached" | "first") {}
  check = (m: Readonly<Model>) => (this.which === "cached" ? m.cached !== undefined : m.issued.length > 0)
  async run(m: Model, real: Real) {
    const name = this.which === "cached" ? m.cached!.name : m.issued[0]!
    // under the layer, only the tokens read by the checks' `get` are known here
    const token = real.tokens.get(name)
    if (token === undefined && m.mode === "bearerFrom") throw new Error(`token ${name} was never handed out`)
    if (token === undefined) return compare(m, real)
    if (m.cached?.name === name) m.cached = undefined
    await Runtime.runPromise(real.rt)(real.source.invalidate(token))
    await settle(real)
    await compare(m, real)
  }
  toString = () => `invalidate ${this.which}`
}

const tokenAnswerArb: fc.Arbitrary<TokenAnswer> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom(1, 20, 60, 60, 3_600).map((expiresIn) => ({ _tag: "Grant", expiresIn }) as const)
  },
  { weight: 1, arbitrary: fc.constantFrom(20, 90).map((exp) => ({ _tag: "Jwt", exp }) as const) },
  { weight: 1, arbitrary: fc.constant({ _tag: "Opaque" } as const) },
  { weight: 1, arbitrary: fc.constantFrom({ _tag: "InvalidGrant" } as const, { _tag: "InvalidClient" } as const) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(400 as const, 429 as const, 503 as const).map((status) =>
      ({ _tag: "Status", status }) as const
    )
  },
  { weight: 1, arbitrary: fc.constant({ _tag: "Malformed" } as const) }
)

const startArb = fc.integer({ min: 1, max: 3 }).map((n) => new StartCalls(n))
const tokenArb = tokenAnswerArb.map((answer) => new TokenAnswers(answer))
const apiArb = fc.tuple(fc.nat(5), fc.constantFrom(200 as const, 401 as const, 401 as const, 403 as const)).map((
  [pick, status]
) => new ApiAnswers(pick, status))
const advanceArb = fc.tuple(
  fc.constantFrom<Target>("backgroundAt", "refreshAt", "refreshAt", "expiresAt", "timeout", "retry", "by"),
  fc.constantFrom<-1 | 0 | 1>(-1, 0, 1),
  fc.constantFrom(1, 999, 10_000, 40_000)
).map(([target, delta, by]) => new Advance(target, delta, by))

// `fc.commands` picks among its arbitraries evenly: the repeats weight the commands that drive a token's life
const commandsArb = fc.commands<Model, Real, false>(
  [
    startArb,
    startArb,
    tokenArb,
    tokenArb,
    apiArb,
    apiArb,
    advanceArb,
    advanceArb,
    fc.constantFrom(1, 1_000, 30_000).map((by) => new StepBack(by)),
    fc.constantFrom<"cached" | "first">("cached", "first").map((which) => new Invalidate(which))
  ],
  { maxCommands: 40, size: "+1" }
)

// the background refresh's life only: calls, token answers and the clock around the instants that matter
const aheadCommandsArb = fc.commands<Model, Real, false>(
  [
    startArb,
    fc.oneof(
      fc.constantFrom(20, 60, 3_600).map((expiresIn) => ({ _tag: "Grant", expiresIn }) as const),
      fc.constantFrom<TokenAnswer>({ _tag: "InvalidGrant" }, { _tag: "Status", status: 503 }, { _tag: "Malformed" })
    ).map((answer) => new TokenAnswers(answer)),
    fc.tuple(
      fc.constantFrom<Target>("backgroundAt", "backgroundAt", "refreshAt", "expiresAt", "timeout"),
      fc.constantFrom<-1 | 0 | 1>(-1, 0, 1),
      fc.constant(1)
    ).map(([target, delta, by]) => new Advance(target, delta, by))
  ],
  { maxCommands: 25, size: "+1" }
)

const play = (mode: Mode, ahead: number, commands: Iterable<Cmd>) => async () => {
  const real = await makeReal(mode, ahead)
  const model: Model = {
    mode,
    ahead,
    now: 0,
    cached: undefined,
    refresh: undefined,
    tokenRequests: 0,
    issued: [],
    calls: []
  }
  try {
    await fc.asyncModelRun(() => ({ model, real }), commands)
  } finally {
    await Effect.runPromise(Scope.close(real.scope, Exit.void))
  }
}

describe("Auth.bearerFrom over OAuth2.clientCredentials", () => {
  it(
    "token requests, the tokens sent, the outcomes and the cached token follow the model",
    () =>
      fc.assert(
        fc.asyncProperty(commandsArb, (commands) => play("bearerFrom", 0, commands)()),
        { seed: 20_261_206, numRuns: 100 }
      ),
    60_000
  )

  it(
    "with refreshAhead, a caller ahead of the due refresh starts it in the background and keeps the token",
    () =>
      fc.assert(
        fc.asyncProperty(fc.constantFrom(10_000, 40_000), aheadCommandsArb, (ahead, commands) =>
          play("bearerFrom", ahead, commands)()),
        { seed: 7_061_226, numRuns: 60 }
      ),
    60_000
  )

  // the shrunk case of a defect the model found (fixed: see Auth.test.ts "a token that arrives expired ..."): a token
  // answered after its expiry, then the clock stepped back between its expiry and the refresh instant computed from a
  // negative lifetime, served the expired token as fresh
  it("a token that arrived expired is not fresh after the clock steps back", () =>
    play("bearerFrom", 0, [
      new StartCalls(1),
      new Advance("by", 0, 999),
      new Advance("by", 0, 999),
      new Advance("by", 0, 999),
      new Advance("by", 0, 1),
      new TokenAnswers({ _tag: "Grant", expiresIn: 1 }),
      new StepBack(1_000),
      new StartCalls(1)
    ])())
})

describe("Auth.layerBearerFrom over OAuth2.clientCredentials", () => {
  it(
    "token failures arrive as AuthenticationFailed reasons, and a 401 is handed on when the refresh fails",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.constantFrom(0, 10_000),
          commandsArb,
          (ahead, commands) => play("layer", ahead, commands)()
        ),
        { seed: 12_062_026, numRuns: 60 }
      ),
    60_000
  )
})
