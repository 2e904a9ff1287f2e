/**
 * axios-auth-refresh's `src/__tests__/index.spec.ts` (Flyrell/axios-auth-refresh, commit
 * 985a91a79c3b51cc08c948ee38283115a64a4d3e) and two of its runnable examples (`examples/pause-instance.ts`,
 * `examples/skip-auth-refresh.ts`, same commit), ported to `Auth.bearerFrom` over a real undici client against a
 * node:http server on 127.0.0.1 (`test/auth-loopback.ts`). One `it` per peer case, named after it.
 *
 * Mapping: axios-auth-refresh's `refreshAuthLogic` is the `acquire` effect of `Auth.makeTokenSource`; its
 * interceptor is `Auth.bearerFrom(source)`; the interceptor's retry of the failed request (with `skipAuthRefresh`,
 * so it is never refreshed twice) is Sturdy's one replay after a 401, and a 401 to the replay fails with
 * `Auth.Unauthorized`; `deduplicateRefresh` and `pauseInstanceWhileRefreshing` are always on in Sturdy: a 401
 * invalidates the token, so every request that needs one while the refresh runs waits for that same refresh
 * (single-flight); `createRefreshCall`'s rejection is the source's own error in the error channel.
 *
 * Deliberate differences (each test says which): Sturdy refreshes on 401 only (`statusCodes` defaults to `[401]` in
 * the peer and is configurable; a 403 is an answer about permissions, which a new token of the same client does not
 * change); the refresh is shared even where the peer's case sets `deduplicateRefresh: false`.
 *
 * Not ported: the `mergeOptions`, `getRetryInstance`, `unsetCache` and interceptor-id cases, "throws error when no
 * function provided", "returns interceptor id", "does not change the interceptors queue"'s handler identity and "is
 * created"/"is created only once" (axios interceptor bookkeeping, with no counterpart in a middleware); "warns if
 * refreshTokenCall does not return a promise" (the type of `acquire` rules it out); "no status in error.response
 * object" and "error has response status specified as a string" (an `HttpClientResponse` always has a numeric
 * status); `skipAuthRefresh` ("when skipAuthRefresh flag is set ot true/false", "doesn't intercept skipped request",
 * `examples/skip-auth-refresh.ts`), `shouldRefresh`, `statusCodes` other than 401 and `onRetry`'s callback
 * itself (Sturdy has no per-request opt-out, no refresh predicate, no configurable status list and no retry hook:
 * a request that must not be refreshed goes through the client without `bearerFrom`); `interceptNetworkError`
 * (Sturdy never refreshes on a transport failure, which the "no response inside error object" case checks).
 */
import * as HttpClient from "@effect/platform/HttpClient"
import { describe, expect, it } from "@effect/vitest"
import { Auth } from "@sturdy/http"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Http from "node:http"
import { clientLayer, listen, type Loopback, recordingLogger, recordingTracer, sendJson } from "./auth-loopback.js"

const TOKEN_PREFIX = "refreshed-s3cret-"

class RefreshFailed extends Data.TaggedError("RefreshFailed")<{ readonly attempt: number }> {}

interface Refresher {
  /** How many times the refresh logic (`acquire`) ran. */
  readonly refreshes: () => number
  readonly source: Auth.TokenSource<RefreshFailed>
  /** Resolved when a refresh (any after the first token) has started and is waiting at the gate. */
  readonly refreshStarted: Deferred.Deferred<void>
  /** Opens the gate held by refreshes after the first token, when `gated` is set. */
  readonly release: Effect.Effect<void>
}

interface RefresherOptions {
  /** Refreshes after the first token wait until `release`. */
  readonly gated?: boolean
  /** The n-th run of the refresh logic fails. */
  readonly failsAt?: (attempt: number) => boolean
}

const refresher = (options: RefresherOptions = {}) =>
  Effect.gen(function*() {
    let refreshes = 0
    const gate = yield* Deferred.make<void>()
    const refreshStarted = yield* Deferred.make<void>()
    const source = yield* Auth.makeTokenSource(
      Effect.gen(function*() {
        const attempt = ++refreshes
        if (attempt > 1 && options.gated === true) {
          yield* Deferred.succeed(refreshStarted, undefined)
          yield* Deferred.await(gate)
        }
        if (options.failsAt?.(attempt) === true) return yield* new RefreshFailed({ attempt })
        return { token: Redacted.make(`${TOKEN_PREFIX}${attempt}`), expiresAt: Option.none() }
      })
    )
    return {
      refreshes: () => refreshes,
      source,
      refreshStarted,
      release: Deferred.succeed(gate, undefined)
    } satisfies Refresher
  })

interface ApiOptions {
  /** Whether the API accepts the n-th token (default: from the second on, as the peer's mock adapter does). */
  readonly accepts?: (tokenNumber: number) => boolean
  /** The status for a refused token (default 401). */
  readonly refusedWith?: number
  /** Hold the answers to the first `n` requests until `n` have arrived. */
  readonly barrier?: number
}

const tokenNumberOf = (authorization: string | undefined): number => {
  const token = authorization?.replace("Bearer ", "") ?? ""
  return token.startsWith(TOKEN_PREFIX) ? Number(token.slice(TOKEN_PREFIX.length)) : 0
}

const api = (options: ApiOptions = {}) => {
  const held: Array<() => void> = []
  return listen((request, response: Http.ServerResponse) => {
    const number = tokenNumberOf(request.headers.authorization)
    const accepted = number > 0 && (options.accepts ?? ((n) => n >= 2))(number)
    const answer = () =>
      sendJson(response, accepted ? 200 : options.refusedWith ?? 401, accepted ? { path: request.path } : {})
    if (options.barrier !== undefined && held.length < options.barrier) {
      held.push(answer)
      if (held.length === options.barrier) held.forEach((release) => release())
      return
    }
    answer()
  })
}

const tokensSeen = (server: Loopback, path?: string) =>
  server.received.filter((request) => path === undefined || request.path === path).map((request) =>
    tokenNumberOf(request.headers.authorization)
  )

const authed = (source: Auth.TokenSource<RefreshFailed>) =>
  Effect.map(HttpClient.HttpClient, (client) => client.pipe(Auth.bearerFrom(source)))

describe("axios-auth-refresh src/__tests__/index.spec.ts", () => {
  describe("Determines if the response should be intercepted", () => {
    it.scoped("no response inside error object", () =>
      Effect.gen(function*() {
        // a transport failure has no response: it is handed on as it is, and nothing is refreshed
        const { refreshes, source } = yield* refresher()
        const client = yield* authed(source)
        const error = yield* Effect.flip(client.get("http://127.0.0.1:9/protected"))
        expect(error._tag).toBe("RequestError")
        expect(refreshes()).toBe(1)
      }).pipe(Effect.provide(clientLayer)))

    it.scoped("error does not include the response status", () =>
      Effect.gen(function*() {
        // the peer's case: statusCodes [401] and a 403. Sturdy refreshes on 401 only, and has no statusCodes option
        const server = yield* api({ refusedWith: 403 })
        const { refreshes, source } = yield* refresher()
        const client = yield* authed(source)
        const response = yield* client.get(`${server.origin}/protected`)
        expect(response.status).toBe(403)
        expect(refreshes()).toBe(1)
        expect(server.count("/protected")).toBe(1)
      }).pipe(Effect.provide(clientLayer)))

    it.scoped("error includes the response status", () =>
      Effect.gen(function*() {
        const server = yield* api()
        const { refreshes, source } = yield* refresher()
        const client = yield* authed(source)
        const response = yield* client.get(`${server.origin}/protected`)
        expect(response.status).toBe(200)
        expect(refreshes()).toBe(2)
      }).pipe(Effect.provide(clientLayer)))
  })

  describe("Creates refresh call", () => {
    it.scoped("creates refreshTokenCall and correctly resolves", () =>
      Effect.gen(function*() {
        const { source } = yield* refresher()
        const token = yield* source.get
        expect(Redacted.value(token.token)).toBe(`${TOKEN_PREFIX}1`)
      }))

    it.scoped("creates refreshTokenCall and correctly rejects", () =>
      Effect.gen(function*() {
        // the refresh after the 401 fails: the request fails with the refresh logic's own error, and is not replayed
        const server = yield* api()
        const { refreshes, source } = yield* refresher({ failsAt: (attempt) => attempt === 2 })
        const client = yield* authed(source)
        const error = yield* Effect.flip(client.get(`${server.origin}/protected`))
        expect(error).toBeInstanceOf(RefreshFailed)
        expect(error).toMatchObject({ attempt: 2 })
        expect(refreshes()).toBe(2)
        expect(server.count("/protected")).toBe(1)
      }).pipe(Effect.provide(clientLayer)))

    it.scoped("creates only one instance of refreshing call", () =>
      Effect.gen(function*() {
        const { refreshes, release, source } = yield* refresher({ gated: true })
        const first = yield* source.get
        yield* source.invalidate(first)
        const fibers = yield* Effect.forEach(Array.from({ length: 10 }), () => Effect.fork(source.get))
        yield* release
        const tokens = yield* Fiber.joinAll(fibers)
        expect(refreshes()).toBe(2)
        expect(new Set(tokens).size).toBe(1)
        expect(Redacted.value(tokens[0]!.token)).toBe(`${TOKEN_PREFIX}2`)
      }))
  })

  describe("Requests interceptor", () => {
    it.scoped("intercepts the requests", () =>
      Effect.gen(function*() {
        // with examples/pause-instance.ts: a 401 starts a (held) refresh; the requests made meanwhile wait for it,
        // then go out once, with the new token; the refresh runs once
        const server = yield* api()
        const { refreshStarted, refreshes, release, source } = yield* refresher({ gated: true })
        const client = yield* authed(source)
        const first = yield* Effect.fork(client.get(`${server.origin}/protected`))
        yield* Deferred.await(refreshStarted)
        const stalled = yield* Effect.forEach(
          Array.from({ length: 4 }),
          () => Effect.fork(client.get(`${server.origin}/protected`))
        )
        yield* release
        const responses = yield* Fiber.joinAll([first, ...stalled])
        expect(responses.map((response) => response.status)).toEqual([200, 200, 200, 200, 200])
        expect(refreshes()).toBe(2)
        // only the first request went out with the old token; the stalled ones were never refused
        expect(tokensSeen(server)).toEqual([1, 2, 2, 2, 2, 2])
      }).pipe(Effect.provide(clientLayer)))

    it.scoped("cancels all requests when refreshing call failed", () =>
      Effect.gen(function*() {
        const server = yield* api()
        const { refreshStarted, release, source } = yield* refresher({
          gated: true,
          failsAt: (attempt) => attempt === 2
        })
        const client = yield* authed(source)
        const first = yield* Effect.fork(Effect.either(client.get(`${server.origin}/protected`)))
        yield* Deferred.await(refreshStarted)
        const second = yield* Effect.fork(Effect.either(client.get(`${server.origin}/protected`)))
        yield* release
        const results = yield* Fiber.joinAll([first, second])
        const passed = results.filter((result) => result._tag === "Right").length
        const caught = results.filter((result) => result._tag === "Left" && result.left instanceof RefreshFailed)
        expect(passed).toBe(0)
        expect(caught).toHaveLength(2)
        expect(server.count("/protected")).toBe(1)
      }).pipe(Effect.provide(clientLayer)))

    it.scoped("calls the onRetry callback before retrying the request", () =>
      Effect.gen(function*() {
        // Sturdy has no onRetry hook: what is observed is the request queued behind the refresh going out after it,
        // once, with the refreshed token
        const server = yield* api()
        const { refreshStarted, release, source } = yield* refresher({ gated: true })
        const first = yield* source.get
        yield* source.invalidate(first)
        const client = yield* authed(source)
        const queued = yield* Effect.fork(client.get(`${server.origin}/protected`))
        yield* Deferred.await(refreshStarted)
        expect(server.count("/protected")).toBe(0)
        yield* release
        const response = yield* Fiber.join(queued)
        expect(response.status).toBe(200)
        expect(tokensSeen(server, "/protected")).toEqual([2])
      }).pipe(Effect.provide(clientLayer)))
  })

  describe("Response interceptor", () => {
    it.scoped("uses the request interceptor to call the onRetry callback before retrying the request", () =>
      Effect.gen(function*() {
        // the first call answers 401, the next 200: the caller gets the replay's 200 and its body
        const server = yield* api()
        const { refreshes, source } = yield* refresher()
        const client = yield* authed(source)
        const body = yield* Effect.flatMap(client.get(`${server.origin}/protected`), (response) => response.json)
        expect(body).toEqual({ path: "/protected" })
        expect(server.count("/protected")).toBe(2)
        expect(refreshes()).toBe(2)
      }).pipe(Effect.provide(clientLayer)))

    it.scoped("uses the request interceptor to call the onRetry callback before retrying all the requests", () =>
      Effect.gen(function*() {
        // four requests are refused together: each is replayed once with the new token. The peer's case sets
        // deduplicateRefresh: false; Sturdy always shares one refresh among them
        const server = yield* api({ barrier: 4 })
        const { refreshes, source } = yield* refresher()
        const client = yield* authed(source)
        yield* source.get // the first token, before the requests go out together
        const statuses = yield* Effect.forEach(
          [1, 2, 3, 4],
          (n) => Effect.map(client.get(`${server.origin}/${n}`), (response) => response.status),
          { concurrency: "unbounded" }
        )
        expect(statuses).toEqual([200, 200, 200, 200])
        expect(refreshes()).toBe(2)
        for (const n of [1, 2, 3, 4]) {
          expect(tokensSeen(server, `/${n}`)).toEqual([1, 2])
        }
      }).pipe(Effect.provide(clientLayer)))
  })

  describe("Creates the overall interceptor correctly", () => {
    it.scoped("does not change the interceptors queue", () =>
      Effect.gen(function*() {
        // an API that answers 401 to everything: one refresh, one replay, then Unauthorized, never a loop
        const server = yield* api({ accepts: () => false })
        const { refreshes, source } = yield* refresher()
        const client = yield* authed(source)
        const logs = recordingLogger()
        const traces = recordingTracer()
        const error = yield* client.get(`${server.origin}/protected`).pipe(
          Effect.tapError((error) => Effect.logError("request failed", error)),
          Effect.flip,
          Effect.withSpan("scenario"),
          Effect.provide(logs.layer),
          Effect.withTracer(traces.tracer)
        )
        expect(error).toBeInstanceOf(Auth.Unauthorized)
        expect(error).toMatchObject({ status: 401, method: "GET" })
        // neither token shows in the error, the log line or the spans (which record the header as <redacted>)
        const dump = traces.dump()
        expect(dump).toContain("http.request.header.authorization=<redacted>")
        expect(logs.lines).toHaveLength(1)
        expect([String(error), JSON.stringify(error), ...logs.lines, dump].join("\n")).not.toContain(TOKEN_PREFIX)
        expect(server.count("/protected")).toBe(2)
        expect(refreshes()).toBe(2)
      }).pipe(Effect.provide(clientLayer)))
  })
})
