import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { describe, expect, it } from "@effect/vitest"
import { Auth, HttpFailure, OAuth2, Policy } from "@sturdy/http"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import type * as Http from "node:http"
import {
  clientLayer,
  driveUntilDone,
  listen,
  type Loopback,
  recordingLogger,
  recordingTracer,
  sendJson
} from "./auth-loopback.js"

const CLIENT_ID = "reports"
const CLIENT_SECRET = "cl1ent-s3cret-xyz"
const TOKEN_PREFIX = "at-s3cret-"

interface Authority {
  readonly server: Loopback
  /** How many tokens the token endpoint has issued. */
  readonly issued: () => number
  /** The Authorization headers the API saw, in order. */
  readonly apiAuthorizations: () => ReadonlyArray<string | undefined>
}

interface AuthorityOptions {
  readonly expiresIn?: number
  readonly tokenDelayMillis?: number
  /** Whether the API accepts the n-th issued token (default: every token). */
  readonly accepts?: (tokenNumber: number) => boolean
  readonly redirectTo?: string
  /** The token endpoint answers 503 to this many requests before it issues tokens. */
  readonly unavailableFor?: number
}

const expectedBasic = `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString("base64")}`

const authority = (options: AuthorityOptions = {}) =>
  Effect.gen(function*() {
    let issued = 0
    let unavailable = options.unavailableFor ?? 0
    const issue = (response: Http.ServerResponse) => {
      issued++
      sendJson(response, 200, {
        access_token: `${TOKEN_PREFIX}${issued}`,
        token_type: "Bearer",
        expires_in: options.expiresIn ?? 3600
      })
    }
    const server = yield* listen((request, response) => {
      if (request.path === "/token") {
        if (request.headers.authorization !== expectedBasic) {
          return sendJson(response, 401, { error: "invalid_client", error_description: "bad client credentials" })
        }
        if (unavailable > 0) {
          unavailable--
          return sendJson(response, 503, {})
        }
        if (options.tokenDelayMillis === undefined) return issue(response)
        setTimeout(() => issue(response), options.tokenDelayMillis)
        return
      }
      if (request.path === "/start" && options.redirectTo !== undefined) {
        response.writeHead(302, { location: options.redirectTo }).end()
        return
      }
      const token = request.headers.authorization?.replace("Bearer ", "") ?? ""
      const tokenNumber = token.startsWith(TOKEN_PREFIX) ? Number(token.slice(TOKEN_PREFIX.length)) : 0
      const accepted = tokenNumber > 0 && (options.accepts ?? (() => true))(tokenNumber)
      sendJson(response, accepted ? 200 : 401, accepted ? { ok: true } : { error: "invalid_token" })
    })
    return {
      server,
      issued: () => issued,
      apiAuthorizations: () =>
        server.received.filter((request) => request.path !== "/token").map((request) => request.headers.authorization)
    } satisfies Authority
  })

const credentials = (server: Loopback, overrides: Partial<OAuth2.ClientCredentialsOptions> = {}) => ({
  tokenUrl: `${server.origin}/token`,
  clientId: CLIENT_ID,
  clientSecret: Redacted.make(CLIENT_SECRET),
  ...overrides
})

/** A real undici client authenticated with client credentials against `server`. */
const authedClient = (server: Loopback, overrides: Partial<OAuth2.ClientCredentialsOptions> = {}) =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const tokens = yield* OAuth2.clientCredentials(credentials(server, overrides))
    return client.pipe(Auth.bearerFrom(tokens), HttpClient.followRedirects())
  })

describe("auth: OAuth2 client credentials against a loopback server", () => {
  it.scoped("refreshes the token expirySkew before expires_in, driven by TestClock", () =>
    Effect.gen(function*() {
      const { apiAuthorizations, issued, server } = yield* authority({ expiresIn: 60 })
      const client = yield* authedClient(server, { expirySkew: "10 seconds" })
      const call = Effect.flatMap(
        client.get(`${server.origin}/api/items`),
        (response) => Effect.succeed(response.status)
      )

      expect(yield* call).toBe(200)
      expect(issued()).toBe(1)
      yield* TestClock.adjust("49 seconds")
      expect(yield* call).toBe(200)
      expect(issued()).toBe(1)
      yield* TestClock.adjust("2 seconds") // 51 s: past 60 s - 10 s skew, the token has not expired yet
      expect(yield* call).toBe(200)
      expect(issued()).toBe(2)
      expect(apiAuthorizations()).toEqual([
        `Bearer ${TOKEN_PREFIX}1`,
        `Bearer ${TOKEN_PREFIX}1`,
        `Bearer ${TOKEN_PREFIX}2`
      ])
    }).pipe(Effect.provide(clientLayer)))

  it.scoped("1,000 concurrent calls that find no token cause exactly one token request", () =>
    Effect.gen(function*() {
      const { issued, server } = yield* authority({ tokenDelayMillis: 100 })
      const client = yield* authedClient(server)
      const statuses = yield* Effect.forEach(
        Array.from({ length: 1000 }, (_, index) => index),
        (index) => Effect.map(client.get(`${server.origin}/api/items/${index}`), (response) => response.status),
        { concurrency: "unbounded" }
      )
      expect(issued()).toBe(1)
      expect(server.count("/token")).toBe(1)
      expect(statuses.filter((status) => status === 200)).toHaveLength(1000)
    }).pipe(Effect.provide(clientLayer)))

  it.scoped("1,000 concurrent calls that find the token expired cause exactly one refresh", () =>
    Effect.gen(function*() {
      const { issued, server } = yield* authority({ expiresIn: 60, tokenDelayMillis: 100 })
      const client = yield* authedClient(server)
      yield* client.get(`${server.origin}/api/warm-up`)
      yield* TestClock.adjust("61 seconds")
      yield* Effect.forEach(Array.from({ length: 1000 }), () => client.get(`${server.origin}/api/items`), {
        concurrency: "unbounded"
      })
      expect(issued()).toBe(2)
    }).pipe(Effect.provide(clientLayer)))

  it.scoped("a token endpoint that answers 503 twice is retried with backoff, then the call succeeds", () =>
    Effect.gen(function*() {
      const { issued, server } = yield* authority({ unavailableFor: 2 })
      const client = yield* authedClient(server)
      const fiber = yield* Effect.fork(client.get(`${server.origin}/api/items`))
      const response = yield* driveUntilDone(fiber)
      expect(response.status).toBe(200)
      expect(server.count("/token")).toBe(3)
      expect(issued()).toBe(1)
    }).pipe(Effect.provide(clientLayer)))

  it.scoped("a 401 triggers one refresh and one replay", () =>
    Effect.gen(function*() {
      const { apiAuthorizations, issued, server } = yield* authority({ accepts: (n) => n >= 2 })
      const client = yield* authedClient(server)
      const response = yield* client.get(`${server.origin}/api/items`)
      expect(response.status).toBe(200)
      expect(issued()).toBe(2)
      expect(apiAuthorizations()).toEqual([`Bearer ${TOKEN_PREFIX}1`, `Bearer ${TOKEN_PREFIX}2`])
    }).pipe(Effect.provide(clientLayer)))

  it.scoped("a second 401 surfaces as Auth.Unauthorized after exactly two API requests", () =>
    Effect.gen(function*() {
      const { issued, server } = yield* authority({ accepts: () => false })
      const client = yield* authedClient(server)
      const error = yield* Effect.flip(client.get(`${server.origin}/api/items`))
      expect(error).toBeInstanceOf(Auth.Unauthorized)
      expect(error).toMatchObject({ _tag: "Unauthorized", status: 401, method: "GET" })
      expect(server.count("/api/items")).toBe(2)
      expect(issued()).toBe(2)
    }).pipe(Effect.provide(clientLayer)))

  it.scoped("a cross-origin redirect arrives at the other origin without the Authorization header", () =>
    Effect.gen(function*() {
      const elsewhere = yield* listen((_, response) => sendJson(response, 200, { landed: true }))
      const { server } = yield* authority({ redirectTo: `${elsewhere.origin}/landing` })
      const client = yield* authedClient(server)
      const response = yield* client.get(`${server.origin}/start`)
      expect(response.status).toBe(200)
      expect(server.received.find((request) => request.path === "/start")?.headers.authorization).toBe(
        `Bearer ${TOKEN_PREFIX}1`
      )
      expect(elsewhere.count("/landing")).toBe(1)
      expect(elsewhere.received[0]!.headers.authorization).toBeUndefined()
    }).pipe(Effect.provide(clientLayer)))

  it.scoped("a redirect to the same origin keeps the Authorization header", () =>
    Effect.gen(function*() {
      const { apiAuthorizations, server } = yield* authority({ redirectTo: "/api/landing" })
      const client = yield* authedClient(server)
      yield* client.get(`${server.origin}/start`)
      expect(apiAuthorizations()).toEqual([`Bearer ${TOKEN_PREFIX}1`, `Bearer ${TOKEN_PREFIX}1`])
    }).pipe(Effect.provide(clientLayer)))

  it.scoped("layerClientCredentials wraps the HttpClient service", () =>
    Effect.gen(function*() {
      const { issued, server } = yield* authority()
      const statuses = yield* Effect.gen(function*() {
        const client = yield* HttpClient.HttpClient
        const first = yield* client.get(`${server.origin}/api/a`)
        const second = yield* client.get(`${server.origin}/api/b`)
        return [first.status, second.status]
      }).pipe(
        Effect.provide(
          OAuth2.layerClientCredentials(credentials(server)).pipe(Layer.provide(clientLayer))
        )
      )
      expect(statuses).toEqual([200, 200])
      expect(issued()).toBe(1)
    }))

  it.scoped("under a Policy, a refused client is AuthenticationFailed and a refused token a ClientError 401, neither retried", () =>
    Effect.gen(function*() {
      const { server } = yield* authority({ accepts: () => false })
      const policy = yield* Policy.make({ retry: { baseDelay: "100 millis", budget: false } })
      const callWith = (overrides: Partial<OAuth2.ClientCredentialsOptions>) =>
        Effect.gen(function*() {
          const fiber = yield* Effect.flatMap(HttpClient.HttpClient, (client) =>
            Policy.send(client, HttpClientRequest.post(`${server.origin}/api/orders`))).pipe(
              Effect.provideService(Policy.Policy, policy),
              Effect.provide(
                OAuth2.layerClientCredentials(credentials(server, overrides)).pipe(Layer.provide(clientLayer))
              ),
              Effect.flip,
              Effect.fork
            )
          return yield* driveUntilDone(fiber)
        })

      const refused = yield* callWith({ clientSecret: Redacted.make(`${CLIENT_SECRET}-wrong`) })
      expect(refused).toBeInstanceOf(HttpFailure.AuthenticationFailed)
      expect(refused).toMatchObject({ reason: "Rejected", method: "POST", attempts: 1 })
      expect(refused.message).toContain("invalid_client")
      expect(refused.message).not.toContain(CLIENT_SECRET)
      expect(server.count("/token")).toBe(1)
      expect(server.count("/api/orders")).toBe(0)

      const unauthorized = yield* callWith({})
      expect(unauthorized).toBeInstanceOf(HttpFailure.ClientError)
      expect(unauthorized).toMatchObject({ status: 401, attempts: 1 })
      // the POST and its one replay with a fresh token
      expect(server.count("/api/orders")).toBe(2)
      expect(server.count("/token")).toBe(3)
    }))

  it.scoped("no secret appears in an error message, a log line or a span", () =>
    Effect.gen(function*() {
      const { server } = yield* authority({ accepts: () => false })
      const logs = recordingLogger()
      const traces = recordingTracer()
      const messages: Array<string> = []
      const run = <A, E>(effect: Effect.Effect<A, E, HttpClient.HttpClient>) =>
        effect.pipe(
          Effect.tapErrorCause((cause) => {
            messages.push(Cause.pretty(cause))
            return Effect.logError("request failed", cause)
          }),
          Effect.flip,
          Effect.withSpan("scenario")
        )

      yield* Effect.gen(function*() {
        // the API rejects every token: Unauthorized after a refresh
        const client = yield* authedClient(server)
        yield* Effect.logInfo("calling the API", yield* client.get(`${server.origin}/api/ping`).pipe(Effect.either))
        yield* run(client.get(`${server.origin}/api/items`))
        // a wrong client secret: TokenRejected invalid_client
        const wrong = yield* authedClient(server, { clientSecret: Redacted.make(`${CLIENT_SECRET}-wrong`) })
        yield* run(wrong.get(`${server.origin}/api/items`))
        // a token endpoint that is gone: TokenRequestFailed Transport, after retries
        const gone = yield* authedClient(server, { tokenUrl: "http://127.0.0.1:9/token" })
        const fiber = yield* Effect.fork(run(gone.get(`${server.origin}/api/items`)))
        yield* driveUntilDone(fiber)
      }).pipe(
        Effect.provide(logs.layer),
        Effect.withTracer(traces.tracer),
        Effect.provide(clientLayer)
      )

      expect(messages.length).toBe(3)
      expect(messages.join("\n")).toMatch(/Unauthorized/)
      expect(messages.join("\n")).toMatch(/invalid_client/)
      expect(messages.join("\n")).toMatch(/could not be reached/)
      expect(logs.lines.length).toBeGreaterThanOrEqual(4)
      expect(traces.spans.some((span) => span.attributes.has("http.request.header.authorization"))).toBe(true)
      const everything = [...messages, ...logs.lines, traces.dump()].join("\n")
      expect(everything).not.toContain(CLIENT_SECRET)
      expect(everything).not.toContain(TOKEN_PREFIX)
      expect(everything).not.toContain(Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString("base64"))
    }))
})
