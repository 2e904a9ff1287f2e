import type * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as UrlParams from "@effect/platform/UrlParams"
import { describe, expect, it } from "@effect/vitest"
import { Auth, HttpFailure, Policy, Redaction } from "@sturdy/http"
import { Deadline } from "@sturdy/policy"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { interruptedWhileMasked } from "../../policy/test/utils/heldInterruption.js"
import * as internalRedaction from "../src/internal/redaction.js"

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
  it("makeTokenSource refuses an expirySkew that is negative, NaN or no duration, naming it", () => {
    const acquire = Effect.succeed({ token: Redacted.make("t"), expiresAt: Option.none<number>() })
    for (const bad of [-1, Number.NaN, "-5 seconds", "soon"] as const) {
      expect(() => Auth.makeTokenSource(acquire, { expirySkew: bad as Duration.DurationInput })).toThrow(
        /Auth: expirySkew .* must be a non-negative duration/
      )
    }
    expect(() => Auth.makeTokenSource(acquire, { expirySkew: 0 })).not.toThrow()
    expect(() => Auth.makeTokenSource(acquire, { expirySkew: "10 seconds" })).not.toThrow()
    for (const bad of [-1, Number.NaN, "-5 seconds", "soon"] as const) {
      expect(() => Auth.makeTokenSource(acquire, { refreshAhead: bad as Duration.DurationInput })).toThrow(
        /Auth: refreshAhead .* must be a non-negative duration/
      )
    }
  })

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

    describe("registered by value", () => {
      const rotating = Effect.gen(function*() {
        let minted = 0
        const source = yield* Auth.makeTokenSource(
          Effect.sync(() => ({
            token: Redacted.make(`rotating/token+${++minted}-${"x".repeat(16)}`),
            expiresAt: Option.none()
          }))
        )
        // as a 401 would: the next call takes a new token
        const refresh = Effect.flatMap(source.get, source.invalidate)
        return { source, refresh, token: (n: number) => `rotating/token+${n}-${"x".repeat(16)}` }
      })

      it.scoped(
        "a registered secret and a static key stay redacted through 5,000 token refreshes",
        () =>
          Effect.gen(function*() {
            const userSecret = "tenant-secret-7f3a9c2b"
            const staticKey = "static-api-key-4d1e8a0f"
            yield* Redaction.registerSecretValues(Redacted.make(userSecret))
            const { client, seen } = scripted(ok)
            yield* client.pipe(Auth.bearer(Redacted.make(staticKey))).get("http://partner.test/ping")
            const { refresh, source, token } = yield* rotating
            const api = client.pipe(Auth.bearerFrom(source))
            const registeredBefore = internalRedaction.registeredSecretCount()
            for (let i = 0; i < 5_000; i++) {
              yield* api.get("http://api.test/items")
              yield* refresh
            }
            expect(seen).toHaveLength(5_001)
            const echoed = `echo ${userSecret} ${staticKey} ${encodeURIComponent(staticKey)}`
            expect(Redaction.redactText(echoed)).toBe("echo <redacted> <redacted> <redacted>")
            // a header holding them is still dropped on a cross-origin hop
            expect(internalRedaction.holdsRegisteredSecret(`k=${staticKey}`)).toBe(true)
            expect(internalRedaction.holdsRegisteredSecret(`k=${userSecret}`)).toBe(true)
            // the source holds its last two tokens, not 5,000
            expect(internalRedaction.registeredSecretCount() - registeredBefore).toBe(2)
            expect(Redaction.redactText(`${token(4_999)} ${token(5_000)}`)).toBe("<redacted> <redacted>")
            expect(Redaction.redactText(token(4_998))).toBe(token(4_998))
          }),
        60_000
      )

      it.scoped("a refreshed-away token stays redacted, in every echoed form, while it is the previous one", () =>
        Effect.gen(function*() {
          const { client } = scripted(ok)
          const { refresh, source, token } = yield* rotating
          const api = client.pipe(Auth.bearerFrom(source))
          const formsOf = (n: number) => [
            token(n),
            encodeURIComponent(token(n)),
            encodeURIComponent(token(n)).replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase()),
            token(n).replaceAll("/", "\\/")
          ]
          yield* api.get("http://api.test/items")
          yield* refresh
          yield* api.get("http://api.test/items")
          // token 2 is current, token 1 the one before (a request sent before the refresh may still carry it)
          for (const n of [1, 2]) {
            for (const form of formsOf(n)) expect(Redaction.redactText(`got ${form}`)).toBe("got <redacted>")
            expect(internalRedaction.holdsRegisteredSecret(token(n))).toBe(true)
          }
          yield* refresh
          yield* api.get("http://api.test/items")
          // token 1 is two refreshes old: let go, in all its forms
          for (const form of formsOf(1)) expect(Redaction.redactText(`got ${form}`)).toBe(`got ${form}`)
          expect(internalRedaction.holdsRegisteredSecret(token(1))).toBe(false)
          for (const n of [2, 3]) expect(Redaction.redactText(`got ${token(n)}`)).toBe("got <redacted>")
        }))
    })
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

    // found by model-Auth: the skew's cap at half the lifetime went negative for a token that arrived expired (a slow
    // token endpoint), moving the refresh past the expiry, and a clock stepped back then served the expired token
    it.scoped("a token that arrives expired is refreshed, not served, after the clock steps back before its expiry", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(10_000)
        let acquired = 0
        const source = yield* Auth.makeTokenSource(
          Effect.sync(() => {
            acquired++
            return { token: Redacted.make(`token-${acquired}`), expiresAt: Option.some(6_000) }
          })
        )
        expect(Redacted.value((yield* source.get).token)).toBe("token-1") // cached at 10 s, expired at 6 s
        yield* TestClock.setTime(7_000)
        expect(Redacted.value((yield* source.get).token)).toBe("token-2")
        expect(acquired).toBe(2)
      }))

    // Azure's token cycler (refresh window) and MSAL's refresh_in: ahead of the due refresh, callers keep the cached
    // token and one refresh runs in the background
    it.scoped("refreshAhead refreshes in the background, serving the cached token at once, before the refresh is due", () =>
      Effect.gen(function*() {
        const { acquired, source } = yield* countingSource({ expirySkew: "10 seconds", refreshAhead: "20 seconds" })
        const first = yield* Effect.fork(source.get)
        yield* TestClock.adjust("1 second")
        yield* Fiber.join(first) // t = 1 s, expires at 61 s, due at 51 s, background from 31 s
        yield* TestClock.adjust("29 seconds")
        expect(Redacted.value((yield* source.get).token)).toBe("token-1") // t = 30 s
        expect(acquired()).toBe(1)
        yield* TestClock.adjust("1 second")
        // t = 31 s: 100 callers get the cached token without waiting, and start one refresh between them
        const served = yield* Effect.forEach(Array.from({ length: 100 }), () => source.get, {
          concurrency: "unbounded"
        })
        expect(new Set(served.map((token) => Redacted.value(token.token)))).toEqual(new Set(["token-1"]))
        yield* TestClock.adjust("1 second")
        expect(acquired()).toBe(2)
        expect(Redacted.value((yield* source.get).token)).toBe("token-2") // t = 32 s, no wait
        expect(acquired()).toBe(2)
      }))

    it.scoped("through bearerFrom and layerBearerFrom, a request ahead of the due refresh goes at once, token cached", () =>
      Effect.gen(function*() {
        for (const via of ["bearerFrom", "layerBearerFrom"] as const) {
          const { acquired, source } = yield* countingSource({ expirySkew: "10 seconds", refreshAhead: "20 seconds" })
          const { client, seen } = scripted(ok)
          const get = via === "bearerFrom"
            ? client.pipe(Auth.bearerFrom(source)).get("http://api.test/items")
            : Effect.flatMap(HttpClient.HttpClient, (api) => api.get("http://api.test/items")).pipe(
              Effect.provide(
                Auth.layerBearerFrom(Effect.succeed(source)).pipe(
                  Layer.provide(Layer.succeed(HttpClient.HttpClient, client))
                )
              )
            )
          const first = yield* Effect.fork(get)
          yield* TestClock.adjust("1 second")
          yield* Fiber.join(first)
          yield* TestClock.adjust("30 seconds") // 31 s after the source was made: the background refresh may start
          yield* get // sent with no wait: the TestClock has not moved
          expect([via, ...seen.map((request) => request.headers["authorization"])]).toEqual([
            via,
            "Bearer token-1",
            "Bearer token-1"
          ])
          yield* TestClock.adjust("1 second")
          expect([via, acquired()]).toEqual([via, 2])
          yield* get
          expect([via, seen[2]!.headers["authorization"]]).toEqual([via, "Bearer token-2"])
        }
      }))

    it.scoped("a background refresh that fails is tried again only when the refresh is due, and callers then wait", () =>
      Effect.gen(function*() {
        let calls = 0
        const source = yield* Auth.makeTokenSource(
          Effect.gen(function*() {
            calls++
            if (calls === 2) return yield* Effect.fail("endpoint down" as const)
            const now = yield* Clock.currentTimeMillis
            return { token: Redacted.make(`token-${calls}`), expiresAt: Option.some(now + 60_000) }
          }),
          { expirySkew: "10 seconds", refreshAhead: "20 seconds" }
        )
        yield* source.get // t = 0, due at 50 s, background from 30 s
        yield* TestClock.adjust("30 seconds")
        expect(Redacted.value((yield* source.get).token)).toBe("token-1")
        yield* TestClock.adjust("1 second")
        expect(calls).toBe(2) // the background refresh failed
        for (let i = 0; i < 5; i++) {
          expect(Redacted.value((yield* source.get).token)).toBe("token-1")
          yield* TestClock.adjust("1 second") // a refresh started would run (and succeed) meanwhile
          expect(calls).toBe(2)
        }
        yield* TestClock.adjust("14 seconds") // t = 50 s: due
        expect(Redacted.value((yield* source.get).token)).toBe("token-3")
        expect(calls).toBe(3)
      }))

    it.scoped("refreshAhead is capped at half the time before the refresh is due, so short tokens are still cached", () =>
      Effect.gen(function*() {
        const { acquired, source } = yield* countingSource(
          { expirySkew: "2 seconds", refreshAhead: "1 minute" },
          10_000
        )
        const first = yield* Effect.fork(source.get)
        yield* TestClock.adjust("1 second")
        yield* Fiber.join(first) // t = 1 s, expires at 11 s, due at 9 s, background from 5 s
        yield* TestClock.adjust("3 seconds")
        yield* source.get
        expect(acquired()).toBe(1)
        yield* TestClock.adjust("1 second")
        yield* source.get
        yield* TestClock.adjust("1 second")
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

    it.scoped("a refresh that fails after the old token expired, while it ran, fails rather than serve that token", () =>
      Effect.gen(function*() {
        let calls = 0
        const source = yield* Auth.makeTokenSource(
          Effect.gen(function*() {
            calls++
            if (calls > 1) {
              yield* Effect.sleep("20 seconds")
              return yield* Effect.fail("endpoint down" as const)
            }
            const now = yield* Clock.currentTimeMillis
            return { token: Redacted.make("first"), expiresAt: Option.some(now + 60_000) }
          }),
          { expirySkew: "10 seconds" }
        )
        yield* source.get
        yield* TestClock.adjust("55 seconds")
        // the refresh starts at 55 s, before the token expires (60 s), and fails at 75 s, after
        const leader = yield* Effect.fork(Effect.flip(source.get))
        yield* TestClock.adjust("2 seconds")
        const follower = yield* Effect.fork(Effect.flip(source.get))
        yield* TestClock.adjust("18 seconds")
        expect(yield* Fiber.join(leader)).toBe("endpoint down")
        expect(yield* Fiber.join(follower)).toBe("endpoint down")
        expect(calls).toBe(2)
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

    it.scoped("a 401 to a body read once is not replayed (it would go out empty): the 401, and a fresh token next", () =>
      Effect.gen(function*() {
        const { acquired, source } = yield* staticTokens
        const { client, seen } = scripted((request) =>
          new Response(null, { status: request.headers["authorization"] === "Bearer token-2" ? 200 : 401 })
        )
        const authed = client.pipe(Auth.bearerFrom(source))
        const upload = HttpClientRequest.put("http://api.test/files/1").pipe(
          HttpClientRequest.bodyStream(Stream.make(new TextEncoder().encode("abc")))
        )
        const refused = yield* authed.execute(upload)
        expect(refused.status).toBe(401)
        expect(seen).toHaveLength(1)
        // the token was invalidated: the next call asks for a new one
        expect((yield* authed.get("http://api.test/files/1")).status).toBe(200)
        expect(acquired()).toBe(2)
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

  describe("layerBearerFrom under an Attempt and a Policy", () => {
    // a quick Policy on the TestClock, with a breaker that would open after two counted failures
    const quick: Policy.Options = {
      totalTimeout: "30 seconds",
      attemptTimeout: "10 seconds",
      retry: { baseDelay: "100 millis", maxDelay: "1 second", budget: false },
      circuitBreaker: { consecutiveFailures: 2 }
    }

    const callThrough = <E>(
      source: Effect.Effect<Auth.TokenSource<E>, never, Scope.Scope | HttpClient.HttpClient>,
      api: HttpClient.HttpClient,
      options: Policy.Options = quick
    ) =>
      Effect.gen(function*() {
        const policy = yield* Policy.make(options)
        const context = yield* Layer.build(
          Auth.layerBearerFrom(source).pipe(Layer.provide(Layer.succeed(HttpClient.HttpClient, api)))
        )
        const client = Context.get(context, HttpClient.HttpClient)
        const call = Policy.send(client, HttpClientRequest.get("http://api.test/items")).pipe(
          Effect.provideService(Policy.Policy, policy)
        )
        // each call on the TestClock, with seeded jitter, until it is done
        return (count: number = 1) =>
          Effect.gen(function*() {
            const fiber = yield* Effect.fork(
              Effect.withRandom(Effect.replicateEffect(Effect.exit(call), count), Random.make(7))
            )
            yield* TestClock.adjust("1 hour")
            return yield* Fiber.join(fiber)
          })
      })

    const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
      if (Exit.isSuccess(exit)) throw new Error("expected a failure")
      return Option.getOrThrow(Cause.failureOption(exit.cause))
    }

    it.scoped("a second 401 is the API's answer: a ClientError 401 with its body, not retried", () =>
      Effect.gen(function*() {
        let acquired = 0
        const source = Auth.makeTokenSource(
          Effect.sync(() => ({ token: Redacted.make(`token-${++acquired}`), expiresAt: Option.none() }))
        )
        const { client, seen } = scripted(() =>
          new Response("{\"error\":\"invalid_token\"}", {
            status: 401,
            headers: { "content-type": "application/json" }
          })
        )
        const call = yield* callThrough(source, client)
        const [exit] = yield* call()
        const failure = failureOf(exit!)
        expect(failure).toBeInstanceOf(HttpFailure.ClientError)
        expect(failure).toMatchObject({ status: 401, bodyExcerpt: "{\"error\":\"invalid_token\"}", attempts: 1 })
        // the request and its one replay after a refresh; before, the folded failure was retried as a transport error
        expect(seen.map((hop) => hop.headers["authorization"])).toEqual(["Bearer token-1", "Bearer token-2"])
      }))

    // a client that gets a 401 whose body sends one byte and stalls, then 200 to the replay with a fresh token
    const stalled401Client = () =>
      Effect.gen(function*() {
        let acquired = 0
        const source = Auth.makeTokenSource(
          Effect.sync(() => ({ token: Redacted.make(`token-${++acquired}`), expiresAt: Option.none() }))
        )
        const stalled = () =>
          new Response(
            new ReadableStream({ start: (controller) => controller.enqueue(new TextEncoder().encode("{")) }),
            { status: 401 }
          )
        let sent = 0
        const { client, seen } = scripted(() => ++sent === 1 ? stalled() : ok())
        const context = yield* Layer.build(
          Auth.layerBearerFrom(source).pipe(Layer.provide(Layer.succeed(HttpClient.HttpClient, client)))
        )
        return { authed: Context.get(context, HttpClient.HttpClient), seen }
      })

    // the refused response's body is read (to reuse the connection) for at most a second: inheriting the caller's
    // mask, the read ignored that bound, and a 401 whose body stalled held the request until the server closed it
    it.scoped("a 401 whose body stalls is replayed after a second inside an uninterruptible region too", () =>
      Effect.gen(function*() {
        const { authed, seen } = yield* stalled401Client()
        const fiber = yield* Effect.fork(
          Effect.uninterruptible(authed.execute(HttpClientRequest.get("http://api.test/items")))
        )
        yield* TestClock.adjust("1 second")
        const response = yield* Fiber.poll(fiber)
        expect(Option.map(response, Exit.map((response) => response.status))).toEqual(Option.some(Exit.succeed(200)))
        expect(seen.map((hop) => hop.headers["authorization"])).toEqual(["Bearer token-1", "Bearer token-2"])
      }))

    // an uninterruptible fiber hands an interruption it holds off on to the fibers it started: the timeout's, where the
    // read, made interruptible so the bound can stop it, took it, and the replay went out at once
    it.scoped("interrupted from outside inside an uninterruptible region, a stalled 401 body still holds to its bound", () =>
      Effect.gen(function*() {
        const { authed, seen } = yield* stalled401Client()
        const failure = yield* interruptedWhileMasked(authed.execute(HttpClientRequest.get("http://api.test/items")), {
          interruptAfter: "200 millis",
          endsAfter: "800 millis",
          beforeEnd: Effect.sync(() => expect(seen).toHaveLength(1))
        })
        // the region ended with the replay's answer, lost to the interruption held until then
        expect(failure).toEqual(Option.none())
        expect(seen.map((hop) => hop.headers["authorization"])).toEqual(["Bearer token-1", "Bearer token-2"])
      }))

    it.scoped("a 401 whose refresh then fails is the API's answer: the request was sent (a ClientError 401)", () =>
      Effect.gen(function*() {
        let acquired = 0
        const source = Auth.makeTokenSource(
          Effect.suspend(() =>
            ++acquired === 1
              ? Effect.succeed({ token: Redacted.make("token-1"), expiresAt: Option.none() })
              : Effect.fail(statusFailure(503))
          )
        )
        const { client, seen } = scripted(() => new Response("revoked", { status: 401 }))
        const [exit] = yield* (yield* callThrough(source, client))()
        const failure = failureOf(exit!)
        expect(failure).toMatchObject({ _tag: "ClientError", status: 401, attempts: 1 })
        expect(HttpFailure.mayHaveReachedServer(failure as HttpFailure.HttpFailure)).toBe(true)
        expect(seen).toHaveLength(1)
        expect(acquired).toBe(2)
      }))

    it.scoped("without Sturdy, a second 401 is handed on as the response, as with a static credential", () =>
      Effect.gen(function*() {
        const source = Auth.makeTokenSource(Effect.succeed({ token: Redacted.make("t"), expiresAt: Option.none() }))
        const { client, seen } = scripted(() => new Response("no", { status: 401 }))
        const response = yield* Effect.flatMap(HttpClient.HttpClient, (authed) => authed.get("http://api.test/a")).pipe(
          Effect.provide(Auth.layerBearerFrom(source).pipe(Layer.provide(Layer.succeed(HttpClient.HttpClient, client))))
        )
        expect(response.status).toBe(401)
        expect(yield* response.text).toBe("no")
        expect(seen).toHaveLength(2)
      }))

    const statusFailure = (status: number) => {
      const fields = {
        method: "POST",
        url: "https://auth.test/token",
        status,
        headers: {},
        bodyExcerpt: "",
        payload: Option.none()
      }
      return status >= 500
        ? new HttpFailure.ServerError({ ...fields, retryAfter: Option.none() })
        : new HttpFailure.ClientError(fields)
    }

    const cases: ReadonlyArray<
      readonly [string, Effect.Effect<never, unknown> | "jwtSource", HttpFailure.AuthenticationFailed["reason"]]
    > = [
      ["a token that is not a JWT (jwtSource)", "jwtSource", "Malformed"],
      ["the token endpoint's 401 (a Sturdy call)", Effect.fail(statusFailure(401)), "Rejected"],
      ["the token endpoint's 503 (a Sturdy call)", Effect.fail(statusFailure(503)), "Unavailable"],
      [
        "the token endpoint's unreadable body (a Sturdy call)",
        Effect.fail(
          new HttpFailure.InvalidJson({
            method: "POST",
            url: "https://auth.test/token",
            status: 200,
            headers: {},
            detail: "Unexpected end",
            bodyExcerpt: "{"
          })
        ),
        "Malformed"
      ],
      ["an error Sturdy cannot read", Effect.fail(new Error(`vault sealed (${SECRET})`)), "Unavailable"],
      [
        "a TLS failure reaching the token endpoint (a Sturdy call)",
        Effect.fail(new HttpFailure.ConnectionError({ method: "POST", url: "https://auth.test/token", reason: "Tls" })),
        "Unavailable"
      ],
      [
        "a nested token source's own AuthenticationFailed",
        Effect.fail(
          new HttpFailure.AuthenticationFailed({
            method: "POST",
            url: "https://auth.test/token",
            reason: "Malformed",
            detail: "x"
          })
        ),
        "Malformed"
      ]
    ]

    for (const [name, failing, reason] of cases) {
      it.scoped(`${name}: AuthenticationFailed ${reason}, not sent, not retried, not counted by the breaker`, () =>
        Effect.gen(function*() {
          yield* Redaction.registerSecretValues(Redacted.make(SECRET))
          let acquired = 0
          const counted = <A, E>(effect: Effect.Effect<A, E>) => Effect.suspend(() => (acquired++, effect))
          const source = failing === "jwtSource"
            ? Auth.jwtSource(counted(Effect.succeed(Redacted.make(SECRET))))
            : Auth.makeTokenSource(counted(failing))
          const { client, seen } = scripted(ok)
          const call = yield* callThrough(source, client)
          // three calls: with a breaker that opens after two counted failures, the third would be CircuitOpen
          const exits = yield* call(3)
          for (const exit of exits) {
            const failure = failureOf(exit)
            expect(failure).toBeInstanceOf(HttpFailure.AuthenticationFailed)
            expect(failure).toMatchObject({ reason, method: "GET", url: "http://api.test/items", attempts: 1 })
            expect(HttpFailure.mayHaveReachedServer(failure as HttpFailure.HttpFailure)).toBe(false)
            expect(failure.message).not.toContain(SECRET)
          }
          // the source is asked again on every call: a failed refresh is not cached
          expect(acquired).toBe(3)
          expect(seen).toHaveLength(0)
        }))
    }

    it.scoped("a token endpoint that hangs: AuthenticationFailed Unavailable within the attempt's time, never counted", () =>
      Effect.gen(function*() {
        let acquired = 0
        const source = Auth.makeTokenSource(Effect.suspend(() => (acquired++, Effect.never)))
        const { client, seen } = scripted(ok)
        const call = yield* callThrough(source, client)
        const started = yield* Clock.currentTimeMillis
        const exits = yield* call(3)
        for (const exit of exits) {
          expect(failureOf(exit)).toMatchObject({ _tag: "AuthenticationFailed", reason: "Unavailable", attempts: 1 })
          expect(failureOf(exit).message).toContain("no token within the 10s the request had left")
        }
        // each call gave up at its attempt timeout (10 s), not the token request's own (30 s); the breaker, which
        // opens after two counted failures, never saw one
        expect((yield* Clock.currentTimeMillis) - started).toBe(3_600_000)
        expect(acquired).toBe(1)
        expect(seen).toHaveLength(0)
      }))

    // the wait for the token inherited the caller's mask: the deadline's bound on it was ignored, and the request
    // waited as long as the token endpoint hung
    it.scoped("a token endpoint that hangs: the wait ends at the deadline inside an uninterruptible region too", () =>
      Effect.gen(function*() {
        const source = Auth.makeTokenSource(Effect.never)
        const context = yield* Layer.build(
          Auth.layerBearerFrom(source).pipe(Layer.provide(Layer.succeed(HttpClient.HttpClient, scripted(ok).client)))
        )
        const client = Context.get(context, HttpClient.HttpClient)
        const fiber = yield* Effect.fork(Effect.uninterruptible(Effect.exit(
          client.execute(HttpClientRequest.get("http://api.test/items")).pipe(Deadline.establish("10 seconds"))
        )))
        yield* TestClock.adjust("10 seconds")
        const exit = yield* Fiber.poll(fiber)
        expect(Option.isSome(exit)).toBe(true)
        // (under an Attempt or a Policy, this is AuthenticationFailed Unavailable)
        const failure = failureOf(Option.getOrThrow(exit).pipe(Exit.flatten))
        expect(failure).toBeInstanceOf(HttpClientError.RequestError)
        expect(failure.message).toContain("no token within the 10s the request had left")
      }))

    it.scoped("interrupted from outside inside an uninterruptible region, the wait for a token holds to the deadline", () =>
      Effect.gen(function*() {
        const source = Auth.makeTokenSource(Effect.never)
        const context = yield* Layer.build(
          Auth.layerBearerFrom(source).pipe(Layer.provide(Layer.succeed(HttpClient.HttpClient, scripted(ok).client)))
        )
        const client = Context.get(context, HttpClient.HttpClient)
        const failure = yield* interruptedWhileMasked(
          client.execute(HttpClientRequest.get("http://api.test/items")).pipe(Deadline.establish("10 seconds")),
          // (the wait ends a millisecond before the deadline)
          { interruptAfter: "1 second", endsAfter: "8999 millis" }
        )
        expect(Option.map(failure, (failure) => failure.message)).toEqual(
          Option.some(expect.stringContaining("no token within the 10s the request had left"))
        )
      }))

    it.scoped("retryOn opts an unavailable token source into the Policy's retries", () =>
      Effect.gen(function*() {
        let acquired = 0
        const source = Auth.makeTokenSource(
          Effect.suspend(() =>
            ++acquired < 3
              ? Effect.fail(statusFailure(503))
              : Effect.succeed({ token: Redacted.make("t"), expiresAt: Option.none() })
          )
        )
        const { client, seen } = scripted(ok)
        const call = yield* callThrough(source, client, {
          ...quick,
          retry: { ...quick.retry, retryOn: { AuthenticationFailed: true } }
        })
        const [exit] = yield* call()
        expect(Exit.isSuccess(exit!)).toBe(true)
        expect(acquired).toBe(3)
        expect(seen).toHaveLength(1)
        // refused credentials come back the same: `true` retries outages only
        let refused = 0
        const rejecting = Auth.makeTokenSource(Effect.suspend(() => (refused++, Effect.fail(statusFailure(401)))))
        const optedIn: Policy.Options = { ...quick, retry: { ...quick.retry, retryOn: { AuthenticationFailed: true } } }
        const [rejected] = yield* (yield* callThrough(rejecting, client, optedIn))()
        expect(failureOf(rejected!)).toMatchObject({ _tag: "AuthenticationFailed", reason: "Rejected", attempts: 1 })
        expect(refused).toBe(1)
      }))

    it.scoped("without Sturdy, a token failure is a RequestError whose cause is the AuthenticationFailed", () =>
      Effect.gen(function*() {
        const source = Auth.makeTokenSource(Effect.fail(statusFailure(400)))
        const { client } = scripted(ok)
        const error = yield* Effect.flip(
          Effect.flatMap(HttpClient.HttpClient, (authed) => authed.get(`http://api.test/a?access_token=${SECRET}`))
            .pipe(
              Effect.provide(
                Auth.layerBearerFrom(source).pipe(Layer.provide(Layer.succeed(HttpClient.HttpClient, client)))
              )
            )
        )
        expect(error).toBeInstanceOf(HttpClientError.RequestError)
        expect(error.cause).toBeInstanceOf(HttpFailure.AuthenticationFailed)
        expect(error.cause).toMatchObject({ reason: "Rejected" })
        expect(error.message).toContain("credentials refused")
        // the platform prints the request's URL in the message and its JSON: a secret parameter is redacted there too
        expect(error.message).not.toContain(SECRET)
        expect(JSON.stringify(error.toJSON())).not.toContain(SECRET)
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
