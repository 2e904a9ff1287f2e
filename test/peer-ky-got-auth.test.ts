/**
 * The token refresh cases of ky's and got's hook tests, ported to `Auth.bearerFrom` over a real undici client against
 * a node:http server on 127.0.0.1 (`test/auth-loopback.ts`). Sources: ky `test/hooks.ts` (sindresorhus/ky, commit
 * 3419113b48e034fdcf8fa6bd3be3da7b3d0d758f), got `test/hooks.ts` (sindresorhus/got, commit
 * d00d845a0b435365ec73ea5a1fca6e17ee677184). One `it` per peer case, named after it.
 *
 * Mapping: ky's `afterResponse` hook that, on a 401 at `retryCount === 0`, POSTs to `/auth/refresh` and returns
 * `ky.retry({request})` with the new token is `Auth.bearerFrom` over `Auth.makeTokenSource`, whose `acquire` POSTs to
 * the same endpoint (the first token is the one ky's request starts with, `expired-token`); got's `afterResponse`
 * hook that calls `retryWithMergedOptions({headers: {token: "unicorn"}})` on a 401 is the same middleware with the
 * token in `Authorization: Bearer` instead of a `token` header. ky's `HTTPError` for a status is Sturdy's response
 * (or `ResponseError` under `HttpClient.filterStatusOk`); the 401 to the replay is `Auth.Unauthorized`; a refresh
 * that fails is the `acquire` effect's own error.
 *
 * Deliberate differences: Sturdy replays only after a 401 (ky's hook may force a retry on any response), and never
 * more than once, whatever `retry.limit` says (ky and got stop the loop with the hook's own `retryCount` check).
 *
 * Not ported: the ky cases whose hook rewrites other headers or URLs (`afterResponse hook can force retry with custom
 * request (modified headers)`, which takes a new `X-Auth-Token` from the 401's body, and the other `ky.retry`
 * cases), `beforeRequest hook receives retryCount parameter` (a token swapped on a 408 retry: Sturdy refreshes on a
 * 401 only), got's `afterResponse allows to retry - \`beforeRetry\` hook` (no hook to observe) and the `preserveHooks`
 * cases (hook bookkeeping).
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import { Auth } from "@sturdy/http"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Inspectable from "effect/Inspectable"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Http from "node:http"
import { clientLayer, listen, type Loopback, sendJson } from "./auth-loopback.js"

const RefreshBody = Schema.Struct({ token: Schema.String })

/**
 * ky's refresh: the first token is the one the request starts with, every later one is POSTed for to
 * `/auth/refresh` (through the plain client, so a refresh that fails is that request's error).
 */
const refreshingSource = (server: Loopback, firstToken: string) =>
  Effect.gen(function*() {
    const client = (yield* HttpClient.HttpClient).pipe(HttpClient.filterStatusOk)
    let acquired = 0
    return yield* Auth.makeTokenSource(
      Effect.suspend(() =>
        acquired++ === 0
          ? Effect.succeed(firstToken)
          : client.post(`${server.origin}/auth/refresh`).pipe(
            Effect.flatMap(HttpClientResponse.schemaBodyJson(RefreshBody)),
            Effect.map((body) => body.token)
          )
      ).pipe(Effect.map((token) => ({ token: Redacted.make(token), expiresAt: Option.none<number>() })))
    )
  })

const kyServer = (options: {
  readonly refresh: (response: Http.ServerResponse, refreshCount: number) => void
  readonly protectedAccepts: (authorization: string | undefined, validToken: string) => boolean
}) =>
  Effect.gen(function*() {
    let validToken = "valid-token"
    let refreshCount = 0
    const server = yield* listen((request, response) => {
      if (request.path === "/auth/refresh") {
        refreshCount++
        validToken = `fresh-token-${refreshCount}`
        return options.refresh(response, refreshCount)
      }
      if (options.protectedAccepts(request.headers.authorization, validToken)) {
        return sendJson(response, 200, { success: true })
      }
      sendJson(response, 401, { error: "Unauthorized" })
    })
    return { server, requestCount: () => server.count("/protected"), refreshCount: () => refreshCount }
  })

const kyApi = (server: Loopback) =>
  Effect.gen(function*() {
    const source = yield* refreshingSource(server, "expired-token")
    return (yield* HttpClient.HttpClient).pipe(Auth.bearerFrom(source))
  })

describe("ky test/hooks.ts", () => {
  it.scoped("afterResponse hook can retry on 401 status", () =>
    Effect.gen(function*() {
      // the server refuses the first request, whatever its token, and answers the next
      let requestCount = 0
      const server = yield* listen((_, response) => {
        requestCount++
        if (requestCount === 1) return sendJson(response, 401, { error: "Unauthorized" })
        sendJson(response, 200, { success: true })
      })
      const source = yield* Auth.makeTokenSource(
        Effect.succeed({ token: Redacted.make("any-token"), expiresAt: Option.none<number>() })
      )
      const api = (yield* HttpClient.HttpClient).pipe(Auth.bearerFrom(source))
      const result = yield* Effect.flatMap(api.get(server.origin), (response) => response.json)
      expect(result).toEqual({ success: true })
      expect(requestCount).toBe(2) // Initial 401 + 1 retry
    }).pipe(Effect.provide(clientLayer)))

  it.scoped("afterResponse hook can refresh token on 401 and retry once", () =>
    Effect.gen(function*() {
      const { refreshCount, requestCount, server } = yield* kyServer({
        refresh: (response, n) => sendJson(response, 200, { token: `fresh-token-${n}` }),
        protectedAccepts: (authorization, validToken) => authorization === `Bearer ${validToken}`
      })
      const api = yield* kyApi(server)
      const result = yield* Effect.flatMap(api.get(`${server.origin}/protected`), (response) => response.json)
      expect(requestCount()).toBe(2)
      expect(refreshCount()).toBe(1)
      expect(result).toEqual({ success: true })
      expect(server.received.filter((r) => r.path === "/protected").map((r) => r.headers.authorization)).toEqual([
        "Bearer expired-token",
        "Bearer fresh-token-1"
      ])
    }).pipe(Effect.provide(clientLayer)))

  it.scoped("afterResponse hook prevents infinite token refresh loop", () =>
    Effect.gen(function*() {
      // ky: HTTPError 401 after the retry; Sturdy: Auth.Unauthorized after its one replay
      const { refreshCount, requestCount, server } = yield* kyServer({
        refresh: (response, n) => sendJson(response, 200, { token: `invalid-${n}` }),
        protectedAccepts: () => false
      })
      const api = yield* kyApi(server)
      const error = yield* Effect.flip(api.get(`${server.origin}/protected`))
      expect(error).toBeInstanceOf(Auth.Unauthorized)
      expect(error.message).toMatch(/401/)
      expect(error.message).not.toContain("invalid-1")
      expect(requestCount()).toBe(2)
      expect(refreshCount()).toBe(1)
    }).pipe(Effect.provide(clientLayer)))

  it.scoped("afterResponse hook handles refresh endpoint failure", () =>
    Effect.gen(function*() {
      // the refresh request's own failure (a 500) fails the call, and the request is not replayed
      const { refreshCount, requestCount, server } = yield* kyServer({
        refresh: (response) => sendJson(response, 500, { error: "Internal server error" }),
        protectedAccepts: () => false
      })
      const api = yield* kyApi(server)
      const error = yield* Effect.flip(api.get(`${server.origin}/protected`))
      expect(error._tag).toBe("ResponseError")
      expect(error.message).toMatch(/500/)
      expect(error.message).not.toContain("expired-token")
      expect(requestCount()).toBe(1)
      expect(refreshCount()).toBe(1)
    }).pipe(Effect.provide(clientLayer)))

  it.scoped("afterResponse hook handles refresh endpoint returning 401", () =>
    Effect.gen(function*() {
      const { refreshCount, requestCount, server } = yield* kyServer({
        refresh: (response) => sendJson(response, 401, { error: "Refresh token expired" }),
        protectedAccepts: () => false
      })
      const api = yield* kyApi(server)
      const error = yield* Effect.flip(api.get(`${server.origin}/protected`))
      expect(error._tag).toBe("ResponseError")
      expect(error.message).toMatch(/401/)
      expect(requestCount()).toBe(1)
      expect(refreshCount()).toBe(1)
    }).pipe(Effect.provide(clientLayer)))
})

/** got's server: 401 unless the request carries the `unicorn` token */
const unicornServer = listen((request, response) => {
  response.statusCode = request.headers.authorization === "Bearer unicorn" ? 200 : 401
  response.end()
})

/** the first token is `stale`, every refresh gives `unicorn` (or `refreshed`), optionally held at a gate */
const gotSource = (options: { readonly refreshed?: string; readonly gate?: Deferred.Deferred<void> } = {}) =>
  Effect.gen(function*() {
    let acquired = 0
    const refreshStarted = yield* Deferred.make<void>()
    const source = yield* Auth.makeTokenSource(Effect.gen(function*() {
      const first = acquired++ === 0
      if (!first && options.gate !== undefined) {
        yield* Deferred.succeed(refreshStarted, undefined)
        yield* Deferred.await(options.gate)
      }
      return {
        token: Redacted.make(first ? "stale" : options.refreshed ?? "unicorn"),
        expiresAt: Option.none<number>()
      }
    }))
    return { source, refreshStarted, acquired: () => acquired }
  })

describe("got test/hooks.ts", () => {
  it.scoped("afterResponse allows to retry", () =>
    Effect.gen(function*() {
      const server = yield* unicornServer
      const { source } = yield* gotSource()
      const client = (yield* HttpClient.HttpClient).pipe(Auth.bearerFrom(source))
      const { status } = yield* client.get(server.origin)
      expect(status).toBe(200)
    }).pipe(Effect.provide(clientLayer)))

  it.scoped("afterResponse allows to retry without losing the port", () =>
    Effect.gen(function*() {
      // the replay goes to the same origin, port included
      const server = yield* unicornServer
      const { source } = yield* gotSource()
      const client = (yield* HttpClient.HttpClient).pipe(Auth.bearerFrom(source))
      const { status } = yield* client.get(`${server.origin}/`)
      expect(status).toBe(200)
      expect(server.received.map((request) => [request.path, request.headers.host])).toEqual([
        ["/", server.origin.replace("http://", "")],
        ["/", server.origin.replace("http://", "")]
      ])
    }).pipe(Effect.provide(clientLayer)))

  it.scoped("cancelling the request after retrying in a afterResponse hook", () =>
    Effect.gen(function*() {
      // the call is interrupted while the refresh for its replay runs: the replay is never sent
      const server = yield* unicornServer
      const gate = yield* Deferred.make<void>()
      const { refreshStarted, source } = yield* gotSource({ gate })
      const client = (yield* HttpClient.HttpClient).pipe(Auth.bearerFrom(source))
      const call = yield* Effect.fork(client.get(server.origin))
      yield* Deferred.await(refreshStarted)
      yield* Fiber.interrupt(call)
      yield* Deferred.succeed(gate, undefined)
      // the refresh, which belongs to the source, still completes for the next caller
      const token = yield* source.get
      expect(Redacted.value(token.token)).toBe("unicorn")
      expect(server.received).toHaveLength(1)
    }).pipe(Effect.provide(clientLayer)))

  it.scoped("no infinity loop when retrying on afterResponse", () =>
    Effect.gen(function*() {
      const server = yield* unicornServer
      const { acquired, source } = yield* gotSource({ refreshed: "invalid" })
      const client = (yield* HttpClient.HttpClient).pipe(Auth.bearerFrom(source))
      const error = yield* Effect.flip(client.get(`${server.origin}/`))
      expect(error).toBeInstanceOf(Auth.Unauthorized)
      // got: "Request failed with status code 401 (Unauthorized): GET http://localhost:<port>/"
      expect(error.message).toMatch(/answered 401 again .*\(GET http:\/\/127\.0\.0\.1:\d+\/\)$/)
      expect(server.received).toHaveLength(2)
      expect(acquired()).toBe(2)
    }).pipe(Effect.provide(clientLayer)))

  it.scoped("throws on afterResponse retry failure", () =>
    Effect.gen(function*() {
      // 401, then 500 to the replay: under filterStatusOk (got's throwHttpErrors) the 500 is the failure
      let visited = false
      const server = yield* listen((_, response) => {
        response.statusCode = visited ? 500 : 401
        visited = true
        response.end()
      })
      const { source } = yield* gotSource()
      const client = (yield* HttpClient.HttpClient).pipe(Auth.bearerFrom(source), HttpClient.filterStatusOk)
      const error = yield* Effect.flip(client.get(`${server.origin}/`))
      if (error._tag !== "ResponseError") return expect.fail(`expected a ResponseError, got ${error._tag}`)
      expect(error).toMatchObject({ reason: "StatusCode" })
      expect(error.message).toMatch(/500/)
      // the error carries the replayed request, its token shown as <redacted>
      const rendered = `${String(error)} ${JSON.stringify(error)} ${Inspectable.toStringUnknown(error.request)}`
      expect(rendered).toContain("<redacted>")
      expect(rendered).not.toContain("unicorn")
      expect(server.received).toHaveLength(2)
    }).pipe(Effect.provide(clientLayer)))

  it.scoped("does not throw on afterResponse retry HTTP failure if throwHttpErrors is false", () =>
    Effect.gen(function*() {
      let visited = false
      const server = yield* listen((_, response) => {
        response.statusCode = visited ? 500 : 401
        visited = true
        response.end()
      })
      const { source } = yield* gotSource()
      const client = (yield* HttpClient.HttpClient).pipe(Auth.bearerFrom(source))
      const { status } = yield* client.get(`${server.origin}/`)
      expect(status).toBe(500)
    }).pipe(Effect.provide(clientLayer)))
})
