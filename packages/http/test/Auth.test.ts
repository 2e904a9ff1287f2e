import type * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as UrlParams from "@effect/platform/UrlParams"
import { describe, expect, it } from "@effect/vitest"
import { Auth } from "@sturdy/http"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"

const SECRET = "s3cr3t-value"

interface Seen {
  readonly url: URL
  readonly headers: Headers.Headers
}

const scripted = (respond: (request: HttpClientRequest.HttpClientRequest, url: URL) => Response) => {
  const seen: Array<Seen> = []
  const client = HttpClient.make((request, url) =>
    Effect.sync(() => {
      seen.push({ url, headers: request.headers })
      return HttpClientResponse.fromWeb(request, respond(request, url))
    })
  )
  return { client, seen }
}

const ok = () => new Response("ok", { status: 200 })

const base64Url = (value: string) => Buffer.from(value).toString("base64url")
const jwt = (payload: object) =>
  Redacted.make(`${base64Url(JSON.stringify({ alg: "HS256" }))}.${base64Url(JSON.stringify(payload))}.sig`)

describe("Auth", () => {
  describe("static credentials", () => {
    it.effect("bearer sends Authorization: Bearer", () =>
      Effect.gen(function*() {
        const { client, seen } = scripted(ok)
        yield* client.pipe(Auth.bearer(Redacted.make(SECRET))).get("http://api.test/items")
        expect(seen[0]!.headers["authorization"]).toBe(`Bearer ${SECRET}`)
      }))

    it.effect("apiKeyHeader sends the key in the named header, data-first too", () =>
      Effect.gen(function*() {
        const { client, seen } = scripted(ok)
        yield* Auth.apiKeyHeader(client, "X-Custom-Key", Redacted.make(SECRET)).get("http://api.test/items")
        expect(seen[0]!.headers["x-custom-key"]).toBe(SECRET)
      }))

    it.effect("apiKeyQuery sends the key as a query parameter", () =>
      Effect.gen(function*() {
        const { client, seen } = scripted(ok)
        yield* client.pipe(Auth.apiKeyQuery("api_key", Redacted.make(SECRET))).get("http://api.test/items?page=2")
        expect(seen[0]!.url.searchParams.get("api_key")).toBe(SECRET)
        expect(seen[0]!.url.searchParams.get("page")).toBe("2")
      }))

    it.effect("layerConfig reads the credential from Config.redacted", () =>
      Effect.gen(function*() {
        const { client, seen } = scripted(ok)
        const layer = Auth.layerApiKeyHeaderConfig("X-Api-Key", Config.redacted("API_KEY"))
        yield* Effect.flatMap(HttpClient.HttpClient, (authed) => authed.get("http://api.test/items")).pipe(
          Effect.provide(layer.pipe(Layer.provide(Layer.succeed(HttpClient.HttpClient, client)))),
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["API_KEY", SECRET]])))
        )
        expect(seen[0]!.headers["x-api-key"]).toBe(SECRET)
      }))

    it.effect("layerBearerConfig fails with a ConfigError when the secret is missing", () =>
      Effect.gen(function*() {
        const { client } = scripted(ok)
        const exit = yield* Effect.exit(
          Effect.flatMap(HttpClient.HttpClient, (authed) => authed.get("http://api.test/items")).pipe(
            Effect.provide(
              Auth.layerBearerConfig(Config.redacted("API_TOKEN")).pipe(
                Layer.provide(Layer.succeed(HttpClient.HttpClient, client))
              )
            ),
            Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
          )
        )
        expect(Exit.isFailure(exit)).toBe(true)
      }))
  })

  describe("redirects", () => {
    const redirecting = (location: string) =>
      scripted((_, url) =>
        url.pathname === "/start" ? new Response(null, { status: 302, headers: { location } }) : ok()
      )

    it.effect("a cross-origin hop arrives without the credential", () =>
      Effect.gen(function*() {
        const { client, seen } = redirecting("http://elsewhere.test/landing")
        const authed = client.pipe(Auth.bearer(Redacted.make(SECRET)), HttpClient.followRedirects())
        yield* authed.get("http://api.test/start")
        expect(seen.map((hop) => hop.url.origin)).toEqual(["http://api.test", "http://elsewhere.test"])
        expect(seen[0]!.headers["authorization"]).toBe(`Bearer ${SECRET}`)
        expect(seen[1]!.headers["authorization"]).toBeUndefined()
      }))

    it.effect("a cross-origin hop drops a query key and a custom header key", () =>
      Effect.gen(function*() {
        const { client, seen } = redirecting("http://elsewhere.test/landing")
        const authed = client.pipe(
          Auth.apiKeyQuery("api_key", Redacted.make(SECRET)),
          Auth.apiKeyHeader("X-Key", Redacted.make(SECRET)),
          HttpClient.followRedirects()
        )
        yield* authed.get("http://api.test/start")
        expect(seen[1]!.url.searchParams.has("api_key")).toBe(false)
        expect(seen[1]!.headers["x-key"]).toBeUndefined()
      }))

    it.effect.prop(
      "whatever the redirect target, the credential goes only to the first hop's origin",
      [FastCheck.webUrl({ withQueryParameters: true }), FastCheck.webUrl()],
      ([start, target]) =>
        Effect.gen(function*() {
          const startOrigin = new URL(start).origin
          const { client, seen } = scripted(() =>
            seen.length === 1 ? new Response(null, { status: 302, headers: { location: target } }) : ok()
          )
          yield* client.pipe(
            Auth.bearer(Redacted.make(SECRET)),
            Auth.apiKeyQuery("api_key", Redacted.make(SECRET)),
            HttpClient.followRedirects()
          ).get(start)
          expect(seen).toHaveLength(2)
          for (const hop of seen) {
            const credentialed = hop.url.origin === startOrigin
            expect(hop.headers["authorization"] === `Bearer ${SECRET}`).toBe(credentialed)
            expect(hop.url.searchParams.get("api_key") === SECRET).toBe(credentialed)
          }
        }),
      { fastCheck: { seed: 42, numRuns: 200 } }
    )

    it.effect("a same-origin hop keeps the credential", () =>
      Effect.gen(function*() {
        const { client, seen } = redirecting("/landing")
        yield* client.pipe(Auth.bearer(Redacted.make(SECRET)), HttpClient.followRedirects()).get(
          "http://api.test/start"
        )
        expect(seen[1]!.url.pathname).toBe("/landing")
        expect(seen[1]!.headers["authorization"]).toBe(`Bearer ${SECRET}`)
      }))

    it.effect("the first-hop origin is per request: the next request to another origin is authenticated", () =>
      Effect.gen(function*() {
        const { client, seen } = scripted(ok)
        const authed = client.pipe(Auth.bearer(Redacted.make(SECRET)), HttpClient.followRedirects())
        yield* authed.get("http://one.test/a")
        yield* authed.get("http://two.test/b")
        expect(seen.map((hop) => hop.headers["authorization"])).toEqual([`Bearer ${SECRET}`, `Bearer ${SECRET}`])
      }))

    it.effect("origins restricts where the credential goes", () =>
      Effect.gen(function*() {
        const { client, seen } = scripted(ok)
        const authed = client.pipe(Auth.bearer(Redacted.make(SECRET), { origins: ["http://api.test"] }))
        yield* authed.get("http://api.test/a")
        yield* authed.get("http://other.test/b")
        expect(seen[0]!.headers["authorization"]).toBe(`Bearer ${SECRET}`)
        expect(seen[1]!.headers["authorization"]).toBeUndefined()
      }))
  })

  describe("redaction", () => {
    const failing = HttpClient.make((request) =>
      Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", description: "refused" }))
    )

    it.effect("a transport error shows a query key as <redacted>", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(
          failing.pipe(Auth.apiKeyQuery("api_key", Redacted.make(SECRET))).get("http://api.test/items")
        )
        expect(error._tag).toBe("RequestError")
        expect(error.message).not.toContain(SECRET)
        expect(UrlParams.getFirst(error.request.urlParams, "api_key")).toEqual(Option.some("<redacted>"))
        expect(JSON.stringify(error.request)).not.toContain(SECRET)
      }))

    it.effect("a transport error shows a custom header key as <redacted>", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(
          failing.pipe(Auth.apiKeyHeader("X-Custom-Key", Redacted.make(SECRET))).get("http://api.test/items")
        )
        expect(error.request.headers["x-custom-key"]).toBe("<redacted>")
        expect(String(error)).not.toContain(SECRET)
      }))
  })

  describe("refreshable tokens", () => {
    const countingSource = (options?: Auth.TokenSourceOptions, lifetime = 60_000) =>
      Effect.gen(function*() {
        let acquired = 0
        const source = yield* Auth.makeTokenSource(
          Effect.gen(function*() {
            yield* Effect.sleep("1 second")
            acquired++
            const now = yield* Clock.currentTimeMillis
            return { token: Redacted.make(`token-${acquired}`), expiresAt: Option.some(now + lifetime) }
          }),
          options
        )
        return { source, acquired: () => acquired }
      })

    it.scoped("1,000 concurrent callers that find no token share one refresh", () =>
      Effect.gen(function*() {
        const { acquired, source } = yield* countingSource()
        const fiber = yield* Effect.fork(
          Effect.forEach(Array.from({ length: 1000 }), () => source.get, { concurrency: "unbounded" })
        )
        yield* TestClock.adjust("1 second")
        const tokens = yield* Fiber.join(fiber)
        expect(acquired()).toBe(1)
        expect(new Set(tokens.map((token) => Redacted.value(token.token)))).toEqual(new Set(["token-1"]))
      }))

    it.scoped("the token is reused until expirySkew before it expires, then refreshed", () =>
      Effect.gen(function*() {
        const { acquired, source } = yield* countingSource({ expirySkew: "10 seconds" })
        const get = Effect.gen(function*() {
          const fiber = yield* Effect.fork(source.get)
          yield* TestClock.adjust("1 second")
          return Redacted.value((yield* Fiber.join(fiber)).token)
        })
        expect(yield* get).toBe("token-1") // t = 1 s, expires at 61 s, refresh from 51 s
        yield* TestClock.adjust("48 seconds")
        expect(yield* get).toBe("token-1") // t = 50 s
        yield* TestClock.adjust("1 second")
        expect(yield* get).toBe("token-2") // t = 52 s
        expect(acquired()).toBe(2)
      }))

    it.scoped("the skew is capped at half the lifetime, so short tokens are still cached", () =>
      Effect.gen(function*() {
        const { acquired, source } = yield* countingSource({ expirySkew: "30 seconds" }, 10_000)
        const fiber = yield* Effect.fork(source.get)
        yield* TestClock.adjust("1 second")
        yield* Fiber.join(fiber)
        yield* TestClock.adjust("4 seconds")
        yield* source.get
        expect(acquired()).toBe(1)
      }))

    it.scoped("a refresh that fails before expiry serves the old token; after expiry it fails", () =>
      Effect.gen(function*() {
        let calls = 0
        const source = yield* Auth.makeTokenSource(
          Effect.gen(function*() {
            calls++
            if (calls > 1) return yield* Effect.fail("endpoint down" as const)
            const now = yield* Clock.currentTimeMillis
            return { token: Redacted.make("first"), expiresAt: Option.some(now + 60_000) }
          }),
          { expirySkew: "10 seconds" }
        )
        yield* source.get
        yield* TestClock.adjust("55 seconds")
        expect(Redacted.value((yield* source.get).token)).toBe("first")
        yield* TestClock.adjust("10 seconds")
        expect(yield* Effect.flip(source.get)).toBe("endpoint down")
        expect(calls).toBe(3)
      }))

    it.scoped("the refresh can be interrupted: its own timeout fires, and closing the source's scope ends it", () =>
      Effect.gen(function*() {
        // a token request with a timeout of its own (as a timeout on the token client would be)
        const timed = yield* Auth.makeTokenSource(
          Effect.never.pipe(Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => "token request timed out" }))
        )
        const waiting = yield* Effect.fork(Effect.flip(timed.get))
        yield* TestClock.adjust("5 seconds")
        expect(yield* Fiber.join(waiting)).toBe("token request timed out")

        let interrupted = false
        const scope = yield* Scope.make()
        const hung = yield* Auth.makeTokenSource(
          Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => interrupted = true)))
        ).pipe(Scope.extend(scope))
        yield* Effect.fork(hung.get)
        yield* TestClock.adjust("1 second")
        yield* Scope.close(scope, Exit.void)
        expect(interrupted).toBe(true)
      }))

    it.scoped("invalidate drops only the token it was given", () =>
      Effect.gen(function*() {
        const { acquired, source } = yield* countingSource()
        const fiber = yield* Effect.fork(source.get)
        yield* TestClock.adjust("1 second")
        const first = yield* Fiber.join(fiber)
        yield* source.invalidate({ token: Redacted.make("token-1"), expiresAt: Option.none() })
        yield* source.get
        expect(acquired()).toBe(1)
        yield* source.invalidate(first)
        const refresh = yield* Effect.fork(source.get)
        yield* TestClock.adjust("1 second")
        expect(Redacted.value((yield* Fiber.join(refresh)).token)).toBe("token-2")
      }))
  })

  describe("bearerFrom", () => {
    const staticTokens = Effect.gen(function*() {
      let acquired = 0
      const source = yield* Auth.makeTokenSource(
        Effect.sync(() => ({ token: Redacted.make(`token-${++acquired}`), expiresAt: Option.none() }))
      )
      return { source, acquired: () => acquired }
    })

    it.scoped("a 401 refreshes the token and replays the request once", () =>
      Effect.gen(function*() {
        const { acquired, source } = yield* staticTokens
        const { client, seen } = scripted((request) =>
          new Response(null, { status: request.headers["authorization"] === "Bearer token-2" ? 200 : 401 })
        )
        const response = yield* client.pipe(Auth.bearerFrom(source)).get("http://api.test/items")
        expect(response.status).toBe(200)
        expect(seen.map((hop) => hop.headers["authorization"])).toEqual(["Bearer token-1", "Bearer token-2"])
        expect(acquired()).toBe(2)
      }))

    it.scoped("a second 401 fails with Unauthorized, without a loop", () =>
      Effect.gen(function*() {
        const { source } = yield* staticTokens
        const { client, seen } = scripted(() => new Response(null, { status: 401 }))
        const error = yield* Effect.flip(client.pipe(Auth.bearerFrom(source)).get("http://api.test/items?x=1"))
        expect(error._tag).toBe("Unauthorized")
        expect(error).toMatchObject({ method: "GET", url: "http://api.test/items", status: 401 })
        expect(seen).toHaveLength(2)
      }))

    it.scoped("the refused replay's body is read to its end, so its connection can be reused", () =>
      Effect.gen(function*() {
        const { source } = yield* staticTokens
        let bodiesRead = 0
        const { client } = scripted(() =>
          new Response(
            new ReadableStream<Uint8Array>({
              pull(controller) {
                controller.enqueue(new TextEncoder().encode("{\"error\":\"invalid_token\"}"))
                controller.close()
                bodiesRead++
              }
            }),
            { status: 401 }
          )
        )
        const error = yield* Effect.flip(client.pipe(Auth.bearerFrom(source)).get("http://api.test/items"))
        expect(error._tag).toBe("Unauthorized")
        // the first 401's body and the replay's
        expect(bodiesRead).toBe(2)
      }))

    it.scoped("50 concurrent 401s with the same token cause one refresh", () =>
      Effect.gen(function*() {
        const { acquired, source } = yield* staticTokens
        const { client } = scripted((request) =>
          new Response(null, { status: request.headers["authorization"] === "Bearer token-1" ? 401 : 200 })
        )
        const authed = client.pipe(Auth.bearerFrom(source))
        yield* source.get
        const responses = yield* Effect.forEach(
          Array.from({ length: 50 }),
          () => authed.get("http://api.test/items"),
          { concurrency: "unbounded" }
        )
        expect(responses.every((response) => response.status === 200)).toBe(true)
        expect(acquired()).toBe(2)
      }))
  })

  describe("jwtSource", () => {
    it.scoped("refreshes a JWT expirySkew before its exp claim", () =>
      Effect.gen(function*() {
        let acquired = 0
        const source = yield* Auth.jwtSource(
          Effect.flatMap(Clock.currentTimeMillis, (now) =>
            Effect.sync(() => {
              acquired++
              return jwt({ sub: "svc", exp: Math.floor(now / 1000) + 120 })
            })),
          { expirySkew: "20 seconds" }
        )
        const first = yield* source.get
        expect(first.expiresAt).toEqual(Option.some(120_000))
        yield* TestClock.adjust("99 seconds")
        yield* source.get
        expect(acquired).toBe(1)
        yield* TestClock.adjust("1 second")
        yield* source.get
        expect(acquired).toBe(2)
      }))

    it.scoped.prop(
      "reads any numeric exp claim, whatever the other claims",
      [
        FastCheck.integer({ min: 0, max: 2 ** 40 }),
        FastCheck.dictionary(
          FastCheck.string().filter((key) => key !== "exp" && key !== "__proto__"),
          FastCheck.jsonValue()
        )
      ],
      ([exp, claims]) =>
        Effect.gen(function*() {
          const source = yield* Auth.jwtSource(Effect.succeed(jwt({ ...claims, exp })))
          expect((yield* source.get).expiresAt).toEqual(Option.some(exp * 1000))
        }),
      { fastCheck: { seed: 42, numRuns: 200 } }
    )

    it.scoped("a JWT without exp is cached until invalidated", () =>
      Effect.gen(function*() {
        const source = yield* Auth.jwtSource(Effect.succeed(jwt({ sub: "svc" })))
        expect((yield* source.get).expiresAt).toEqual(Option.none())
      }))

    it.scoped("a token that is not a JWT fails with MalformedJwt and never shows the token", () =>
      Effect.gen(function*() {
        const cases = [
          [SECRET, "Structure"],
          [`a.${SECRET}!.c`, "Encoding"],
          [`a.${base64Url("[1]")}.c`, "Payload"],
          [`a.${base64Url(JSON.stringify({ exp: "soon" }))}.c`, "Expiry"]
        ] as const
        for (const [token, reason] of cases) {
          const source = yield* Auth.jwtSource(Effect.succeed(Redacted.make(token)))
          const error = yield* Effect.flip(source.get)
          expect(error).toBeInstanceOf(Auth.MalformedJwt)
          expect(error.reason).toBe(reason)
          expect(error.message).not.toContain(SECRET)
        }
      }))
  })
})
