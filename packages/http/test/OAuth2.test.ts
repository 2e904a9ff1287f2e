import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import { Auth, HttpFailure, OAuth2, Policy } from "@sturdy/http"
import { TestTracer } from "@sturdy/testing"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import * as Util from "node:util"
import { interruptedWhileMasked } from "../../policy/test/utils/heldInterruption.js"
import { stepDelays } from "../../policy/test/utils/stepDelays.js"

const SECRET = "client-s3cr3t"

interface Seen {
  readonly url: URL
  readonly headers: Record<string, string>
  readonly body: string
}

const bodyText = (request: HttpClientRequest.HttpClientRequest): string =>
  request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : ""

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } })

const tokenEndpoint = (respond: (call: number, seen: Seen) => Response) => {
  const seen: Array<Seen> = []
  const client = HttpClient.make((request, url) =>
    Effect.sync(() => {
      const hop = { url, headers: request.headers, body: bodyText(request) }
      seen.push(hop)
      return HttpClientResponse.fromWeb(request, respond(seen.length, hop))
    })
  )
  return { seen, layer: Layer.succeed(HttpClient.HttpClient, client) }
}

const options: OAuth2.ClientCredentialsOptions = {
  tokenUrl: "http://auth.test/token",
  clientId: "reports app",
  clientSecret: Redacted.make(SECRET),
  scope: ["reports:read", "reports:write"],
  audience: "https://api.test"
}

const granted = (expiresIn: number | string = 3600, accessToken = "access-1") =>
  json(200, { access_token: accessToken, token_type: "Bearer", expires_in: expiresIn })

const noRetry = { ...options, retry: Schedule.stop }

describe("OAuth2", () => {
  describe("requestToken", () => {
    it.effect("a token request that fails in the transport leaves no span with its Basic credentials", () =>
      Effect.gen(function*() {
        const tracer = TestTracer.make()
        let basic = ""
        const refused = HttpClient.make((request) => {
          basic = request.headers["authorization"] ?? ""
          return Effect.fail(
            new HttpClientError.RequestError({ request, reason: "Transport", cause: new Error("reset") })
          )
        })
        const failure = yield* Effect.flip(
          OAuth2.requestToken(noRetry).pipe(
            Effect.provideService(HttpClient.HttpClient, refused),
            Effect.withTracer(tracer.tracer)
          )
        )
        expect(failure._tag).toBe("TokenRequestFailed")
        expect(basic.startsWith("Basic ")).toBe(true)
        const credentials = basic.slice("Basic ".length)
        // one client span, redacted, that ends with the typed failure rather than the platform's error and its request
        const spans = tracer.byName("http.client POST")
        expect(spans).toHaveLength(1)
        const [span] = spans
        expect(span.attributes.get("http.request.header.authorization")).toBe("<redacted>")
        expect(span.status._tag === "Ended" && Exit.isFailure(span.status.exit)).toBe(true)
        if (span.status._tag === "Ended" && Exit.isFailure(span.status.exit)) {
          expect(Cause.squash(span.status.exit.cause)).toBe(failure)
        }
        for (const s of tracer.spans) {
          if (s.status._tag === "Ended") expect(Util.inspect(s.status.exit, { depth: 20 })).not.toContain(credentials)
        }
      }))

    it.effect("sends the client credentials grant with HTTP Basic client authentication", () =>
      Effect.gen(function*() {
        const { layer, seen } = tokenEndpoint(() => granted())
        const token = yield* OAuth2.requestToken(options).pipe(Effect.provide(layer))
        expect(Redacted.value(token.token)).toBe("access-1")
        expect(token.expiresAt).toEqual(Option.some(3_600_000))
        const basic = Buffer.from(seen[0]!.headers["authorization"]!.replace("Basic ", ""), "base64").toString()
        expect(basic).toBe(`reports+app:${SECRET}`)
        const params = new URLSearchParams(seen[0]!.body)
        expect(Object.fromEntries(params)).toEqual({
          grant_type: "client_credentials",
          scope: "reports:read reports:write",
          audience: "https://api.test"
        })
        expect(seen[0]!.headers["content-type"]).toBe("application/x-www-form-urlencoded")
      }))

    it.effect("sends client_id and client_secret in the body when asked to", () =>
      Effect.gen(function*() {
        const { layer, seen } = tokenEndpoint(() => granted())
        yield* OAuth2.requestToken({ ...options, clientAuthentication: "body" }).pipe(Effect.provide(layer))
        const params = new URLSearchParams(seen[0]!.body)
        expect(params.get("client_id")).toBe("reports app")
        expect(params.get("client_secret")).toBe(SECRET)
        expect(seen[0]!.headers["authorization"]).toBeUndefined()
      }))

    it.effect("a client id or secret with a lone surrogate is sent as U+FFFD with Basic, as in the body", () =>
      Effect.gen(function*() {
        // encodeURIComponent throws on a lone surrogate: the token request died with a URIError instead of being sent
        const lone = { ...options, clientId: "id\uD800x", clientSecret: Redacted.make(`${SECRET}\uDC00`) }
        const basic = tokenEndpoint(() => granted())
        yield* OAuth2.requestToken(lone).pipe(Effect.provide(basic.layer))
        const header = basic.seen[0]!.headers["authorization"]!.replace("Basic ", "")
        const [id, secret] = Buffer.from(header, "base64").toString().split(":").map((part) =>
          decodeURIComponent(part.replace(/\+/g, " "))
        )
        expect([id, secret]).toEqual(["id\uFFFDx", `${SECRET}\uFFFD`])
        const body = tokenEndpoint(() => granted())
        yield* OAuth2.requestToken({ ...lone, clientAuthentication: "body" }).pipe(Effect.provide(body.layer))
        const params = new URLSearchParams(body.seen[0]!.body)
        expect([params.get("client_id"), params.get("client_secret")]).toEqual([id, secret])
      }))

    it.effect("accepts expires_in as a string and falls back to a JWT's exp", () =>
      Effect.gen(function*() {
        const asString = tokenEndpoint(() => granted("120"))
        const fromString = yield* OAuth2.requestToken(options).pipe(Effect.provide(asString.layer))
        expect(fromString.expiresAt).toEqual(Option.some(120_000))
        const payload = Buffer.from(JSON.stringify({ exp: 300 })).toString("base64url")
        const asJwt = tokenEndpoint(() => json(200, { access_token: `h.${payload}.s`, token_type: "bearer" }))
        const fromJwt = yield* OAuth2.requestToken(options).pipe(Effect.provide(asJwt.layer))
        expect(fromJwt.expiresAt).toEqual(Option.some(300_000))
      }))

    it.effect("maps every RFC 6749 error code to TokenRejected without retrying", () =>
      Effect.gen(function*() {
        for (const code of OAuth2.errorCodes) {
          const { layer, seen } = tokenEndpoint(() => json(400, { error: code, error_description: "no" }))
          const error = yield* Effect.flip(OAuth2.requestToken(options).pipe(Effect.provide(layer)))
          expect(error).toMatchObject({ _tag: "TokenRejected", reason: code, status: 400, description: "no" })
          expect(seen).toHaveLength(1)
        }
      }))

    it.effect("keeps an extension error code as reason unknown", () =>
      Effect.gen(function*() {
        const { layer } = tokenEndpoint(() => json(401, { error: "account_locked" }))
        const error = yield* Effect.flip(OAuth2.requestToken(options).pipe(Effect.provide(layer)))
        expect(error).toMatchObject({ _tag: "TokenRejected", reason: "unknown", errorCode: "account_locked" })
      }))

    it.effect("an empty error is no OAuth2 error, and an ill-typed error_description does not hide the code", () =>
      Effect.gen(function*() {
        // RFC 6749 §5.2: `error` is one or more characters; an empty one was a TokenRejected with no code, and a
        // numeric description turned `invalid_client` into "no OAuth2 error in the response"
        const empty = tokenEndpoint(() => json(400, { error: "", error_description: "no" }))
        const noCode = yield* Effect.flip(OAuth2.requestToken(noRetry).pipe(Effect.provide(empty.layer)))
        expect(noCode).toMatchObject({ _tag: "TokenRequestFailed", reason: "Status", status: 400 })
        for (const description of [5, null, { text: "no" }]) {
          const { layer } = tokenEndpoint(() => json(401, { error: "invalid_client", error_description: description }))
          const error = yield* Effect.flip(OAuth2.requestToken(noRetry).pipe(Effect.provide(layer)))
          expect(error).toMatchObject({ _tag: "TokenRejected", reason: "invalid_client", status: 401 })
          expect(error).not.toHaveProperty("description")
        }
      }))

    it.effect("a success without access_token is MalformedResponse", () =>
      Effect.gen(function*() {
        const { layer } = tokenEndpoint(() => json(200, { token_type: "Bearer" }))
        const error = yield* Effect.flip(OAuth2.requestToken(noRetry).pipe(Effect.provide(layer)))
        expect(error).toMatchObject({ _tag: "TokenRequestFailed", reason: "MalformedResponse" })
      }))

    it.effect("an expires_in that is not a finite, positive lifetime is MalformedResponse", () =>
      Effect.gen(function*() {
        // such a token would never count as fresh, and every call would ask for a new one
        for (const expiresIn of [0, -60, "NaN", "Infinity", "-1"]) {
          const { layer } = tokenEndpoint(() => granted(expiresIn))
          const error = yield* Effect.flip(OAuth2.requestToken(noRetry).pipe(Effect.provide(layer)))
          expect(error).toMatchObject({ _tag: "TokenRequestFailed", reason: "MalformedResponse" })
        }
        const { layer } = tokenEndpoint(() => granted("3600"))
        expect(Option.isSome((yield* OAuth2.requestToken(noRetry).pipe(Effect.provide(layer))).expiresAt)).toBe(true)
      }))

    it.effect("a success that is not JSON is MalformedResponse", () =>
      Effect.gen(function*() {
        const { layer } = tokenEndpoint(() => new Response("<html>", { status: 200 }))
        const error = yield* Effect.flip(OAuth2.requestToken(noRetry).pipe(Effect.provide(layer)))
        expect(error).toMatchObject({ _tag: "TokenRequestFailed", reason: "MalformedResponse" })
      }))

    it.effect("a non-bearer token type is MalformedResponse", () =>
      Effect.gen(function*() {
        const { layer } = tokenEndpoint(() => json(200, { access_token: "x", token_type: "mac" }))
        const error = yield* Effect.flip(OAuth2.requestToken(noRetry).pipe(Effect.provide(layer)))
        expect(error).toMatchObject({ _tag: "TokenRequestFailed", reason: "MalformedResponse" })
      }))

    it.effect("a token no Bearer header can carry is MalformedResponse, not cached to fail every call", () =>
      Effect.gen(function*() {
        // RFC 6750 §2.1: one b64token after "Bearer "; a CR/LF would split the header, a space make two credentials
        for (const accessToken of ["abc\r\nX-Injected: 1", "abc def", "abc\tdef", "tökén", "abc\u0000", " "]) {
          const { layer } = tokenEndpoint(() => json(200, { access_token: accessToken, token_type: "Bearer" }))
          const error = yield* Effect.flip(OAuth2.requestToken(noRetry).pipe(Effect.provide(layer)))
          expect(error).toMatchObject({ _tag: "TokenRequestFailed", reason: "MalformedResponse", status: 200 })
          if (accessToken.trim() !== "") expect(error.message).not.toContain(accessToken)
        }
        // any visible ASCII is sent as it is (servers accept more than b64token's letters)
        for (const accessToken of ["eyJh.eyJz.c2ln", "a-b_c~d+e/f==", "opaque:token!%$"]) {
          const { layer } = tokenEndpoint(() => json(200, { access_token: accessToken, token_type: "Bearer" }))
          const token = yield* OAuth2.requestToken(noRetry).pipe(Effect.provide(layer))
          expect(Redacted.value(token.token)).toBe(accessToken)
        }
      }))

    it.effect("a non-bearer token type's MalformedResponse carries the status", () =>
      Effect.gen(function*() {
        const { layer } = tokenEndpoint(() => json(201, { access_token: "x", token_type: "mac" }))
        const error = yield* Effect.flip(OAuth2.requestToken(noRetry).pipe(Effect.provide(layer)))
        expect(error).toMatchObject({ _tag: "TokenRequestFailed", reason: "MalformedResponse", status: 201 })
      }))

    it.effect("a token_type that echoes the client secret is redacted in the MalformedResponse", () =>
      Effect.gen(function*() {
        // the unsupported type went into `detail` and the message as the endpoint wrote it
        const { layer } = tokenEndpoint(() => json(200, { access_token: "x", token_type: `mac ${SECRET}` }))
        const error = yield* Effect.flip(OAuth2.requestToken(noRetry).pipe(Effect.provide(layer)))
        expect(error).toMatchObject({ _tag: "TokenRequestFailed", reason: "MalformedResponse" })
        expect(error.message).toContain("unsupported token_type mac")
        expect(error.message).not.toContain(SECRET)
        expect(JSON.stringify(error)).not.toContain(SECRET)
      }))

    it.effect("retries 503 with the jittered default backoff, then succeeds", () =>
      Effect.gen(function*() {
        const { layer, seen } = tokenEndpoint((call) => call <= 2 ? json(503, {}) : granted())
        const fiber = yield* OAuth2.requestToken(options).pipe(
          Effect.provide(layer),
          Effect.withRandom(Random.make(42)),
          Effect.fork
        )
        yield* TestClock.adjust("100 millis")
        expect(seen).toHaveLength(1) // the first retry waits at least 200 ms * 0.8
        yield* TestClock.adjust("10 seconds")
        const token = yield* Fiber.join(fiber)
        expect(Redacted.value(token.token)).toBe("access-1")
        expect(seen).toHaveLength(3)
      }))

    it.effect("a 429's or 503's Retry-After is the wait before the next try; one over 30 s is not waited, nor tried again", () =>
      Effect.gen(function*() {
        for (const status of [429, 503]) {
          const limited = (retryAfter: string) =>
            new Response("{}", { status, headers: { "content-type": "application/json", "retry-after": retryAfter } })
          const patient = tokenEndpoint((call) => call === 1 ? limited("5") : granted())
          const fiber = yield* OAuth2.requestToken(options).pipe(
            Effect.provide(patient.layer),
            Effect.withRandom(Random.make(7)),
            Effect.fork
          )
          yield* TestClock.adjust("4999 millis")
          expect(patient.seen).toHaveLength(1) // not the default backoff's 100-200 ms
          yield* TestClock.adjust("501 millis") // 5 s and at most 10 % more
          expect(patient.seen).toHaveLength(2)
          expect(Redacted.value((yield* Fiber.join(fiber)).token)).toBe("access-1")

          const refused = tokenEndpoint(() => limited("3600"))
          const error = yield* Effect.flip(OAuth2.requestToken(options).pipe(Effect.provide(refused.layer)))
          expect(error).toMatchObject({ _tag: "TokenRequestFailed", reason: "Status", status })
          expect(refused.seen).toHaveLength(1)
        }
      }))

    it("the default retry's jitter only shortens: each delay within half and all of 200, 400, 800 ms", () => {
      for (let seed = 0; seed < 200; seed++) {
        const delays = stepDelays(OAuth2.defaultRetry, Array.from({ length: 5 }, () => undefined as never), 0, seed)
        expect(delays).toHaveLength(3)
        delays.forEach((delay, i) => {
          expect(delay).toBeGreaterThanOrEqual(100 * 2 ** i)
          expect(delay).toBeLessThanOrEqual(200 * 2 ** i)
        })
      }
    })

    it.effect("gives up after the default 3 retries with the last Status failure", () =>
      Effect.gen(function*() {
        const { layer, seen } = tokenEndpoint(() => json(500, { error: "server_error" }))
        const fiber = yield* OAuth2.requestToken(options).pipe(
          Effect.provide(layer),
          Effect.withRandom(Random.make(42)),
          Effect.flip,
          Effect.fork
        )
        yield* TestClock.adjust("1 minute")
        const error = yield* Fiber.join(fiber)
        expect(error).toMatchObject({ _tag: "TokenRequestFailed", reason: "Status", status: 500 })
        expect(seen).toHaveLength(4)
      }))

    it.effect("a transport failure is TokenRequestFailed Transport", () =>
      Effect.gen(function*() {
        const failing = HttpClient.make((request) =>
          Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", description: "refused" }))
        )
        const error = yield* Effect.flip(
          OAuth2.requestToken(noRetry).pipe(Effect.provide(Layer.succeed(HttpClient.HttpClient, failing)))
        )
        expect(error).toMatchObject({ _tag: "TokenRequestFailed", reason: "Transport" })
        expect(OAuth2.isRetryable(error)).toBe(true)
      }))

    it.effect("a token endpoint that never answers fails after the 30 s default timeout, and is retried", () =>
      Effect.gen(function*() {
        let requests = 0
        const silent = HttpClient.make(() => Effect.sync(() => requests++).pipe(Effect.zipRight(Effect.never)))
        const fiber = yield* OAuth2.requestToken({ ...options, retry: Schedule.recurs(1) }).pipe(
          Effect.provide(Layer.succeed(HttpClient.HttpClient, silent)),
          Effect.flip,
          Effect.fork
        )
        yield* TestClock.adjust("29 seconds")
        expect(fiber.unsafePoll()).toBeNull()
        yield* TestClock.adjust("1 second")
        expect(requests).toBe(2)
        yield* TestClock.adjust("30 seconds")
        const error = yield* Fiber.join(fiber)
        expect(error).toMatchObject({ _tag: "TokenRequestFailed", reason: "Transport", detail: "no answer within 30s" })
        expect(OAuth2.isRetryable(error)).toBe(true)
      }))

    it.effect("the timeout covers the token response's body, and Duration.infinity turns it off", () =>
      Effect.gen(function*() {
        // headers at once, then a body that never ends
        const stalled = HttpClient.make((request) =>
          Effect.succeed(
            HttpClientResponse.fromWeb(
              request,
              new Response(new ReadableStream({ pull: () => new Promise<void>(() => {}) }), { status: 200 })
            )
          )
        )
        const layer = Layer.succeed(HttpClient.HttpClient, stalled)
        const limited = yield* OAuth2.requestToken({ ...noRetry, timeout: "5 seconds" }).pipe(
          Effect.provide(layer),
          Effect.flip,
          Effect.fork
        )
        const unlimited = yield* OAuth2.requestToken({ ...noRetry, timeout: Duration.infinity }).pipe(
          Effect.provide(layer),
          Effect.fork
        )
        yield* TestClock.adjust("1 day")
        expect(yield* Fiber.join(limited)).toMatchObject({ reason: "Transport", detail: "no answer within 5s" })
        expect(unlimited.unsafePoll()).toBeNull()
        yield* Fiber.interrupt(unlimited)
      }))

    // the request inherited the caller's mask (a token requested in an `acquireRelease`'s `acquire`): the timeout's
    // interruption was ignored, and an endpoint that never answered held the caller for ever
    it.effect("a token endpoint that never answers fails at the timeout inside an uninterruptible region too", () =>
      Effect.gen(function*() {
        const silent = HttpClient.make(() => Effect.never)
        const fiber = yield* OAuth2.requestToken({ ...noRetry, timeout: "5 seconds" }).pipe(
          Effect.provide(Layer.succeed(HttpClient.HttpClient, silent)),
          Effect.flip,
          Effect.uninterruptible,
          Effect.fork
        )
        yield* TestClock.adjust("5 seconds")
        const error = yield* Fiber.poll(fiber)
        expect(Option.map(error, Exit.map((error) => error.message))).toEqual(
          Option.some(Exit.succeed(expect.stringContaining("no answer within 5s")))
        )
      }))

    // an uninterruptible fiber hands an interruption it holds off on to the fibers it started: the timeout's, where the
    // request, made interruptible so the timeout can stop it, took it, and the caller's region ended at once
    it.effect("interrupted from outside inside an uninterruptible region, a token request still waits for its timeout", () =>
      Effect.gen(function*() {
        const silent = HttpClient.make(() => Effect.never)
        const failure = yield* interruptedWhileMasked(
          OAuth2.requestToken({ ...noRetry, timeout: "5 seconds" }).pipe(
            Effect.provide(Layer.succeed(HttpClient.HttpClient, silent))
          ),
          { interruptAfter: "1 second", endsAfter: "4 seconds" }
        )
        expect(Option.map(failure, (error) => error.message)).toEqual(
          Option.some(expect.stringContaining("no answer within 5s"))
        )
      }))

    it.effect("an interruptible caller of a token request is interrupted at once", () =>
      Effect.gen(function*() {
        const silent = HttpClient.make(() => Effect.never)
        const before = (yield* Fiber.roots).length
        const fiber = yield* OAuth2.requestToken({ ...noRetry, timeout: "5 seconds" }).pipe(
          Effect.provide(Layer.succeed(HttpClient.HttpClient, silent)),
          Effect.fork
        )
        yield* TestClock.adjust("1 second")
        expect(Exit.isInterrupted(yield* Fiber.interrupt(fiber))).toBe(true)
        // nothing of the request is left running (it ran in the caller's fibers, not in one of its own)
        yield* Effect.repeatN(Effect.yieldNow(), 10)
        expect((yield* Fiber.roots).length - before).toBe(0)
      }))

    it("a timeout that is not a positive duration is refused where the request is built", () => {
      for (const timeout of [Number.NaN, 0, -5, "soon"]) {
        expect(() => OAuth2.requestToken({ ...options, timeout: timeout as Duration.DurationInput })).toThrow(
          /OAuth2: timeout must be a positive duration/
        )
      }
    })

    it.effect("a token URL that does not parse is InvalidRequest, not retried, and Rejected for the layers", () =>
      Effect.gen(function*() {
        const { layer, seen } = tokenEndpoint(() => granted())
        const error = yield* Effect.flip(
          OAuth2.requestToken({ ...options, tokenUrl: "http//missing-colon/token" }).pipe(Effect.provide(layer))
        )
        expect(error).toMatchObject({ _tag: "TokenRequestFailed", reason: "InvalidRequest" })
        expect(error.message).toContain("check tokenUrl")
        expect(OAuth2.isRetryable(error)).toBe(false)
        expect(seen).toHaveLength(0)
      }))

    it.effect("no error message contains the client secret", () =>
      Effect.gen(function*() {
        const bodies = [json(400, { error: "invalid_client" }), json(200, {}), json(503, {}), new Response("x")]
        for (const body of bodies) {
          const { layer } = tokenEndpoint(() => body.clone())
          const error = yield* Effect.flip(OAuth2.requestToken(noRetry).pipe(Effect.provide(layer)))
          expect(error.message).not.toContain(SECRET)
          expect(JSON.stringify(error)).not.toContain(SECRET)
        }
      }))
    it.effect("an error code that echoes the client secret is redacted, as the description is", () =>
      Effect.gen(function*() {
        // the `error` field went into `errorCode` and the message as the endpoint wrote it
        for (const code of [SECRET, `bad_${SECRET}`]) {
          const { layer } = tokenEndpoint(() => json(401, { error: code, error_description: `got ${SECRET}` }))
          const error = yield* Effect.flip(OAuth2.requestToken(noRetry).pipe(Effect.provide(layer)))
          expect(error).toMatchObject({ _tag: "TokenRejected", reason: "unknown", status: 401 })
          expect(Util.inspect(error)).not.toContain(SECRET)
          expect(error.message).not.toContain(SECRET)
          expect(JSON.stringify(error)).not.toContain(SECRET)
        }
      }))
  })

  describe("clientCredentials with Auth.bearerFrom", () => {
    it.scoped("caches the token and sends it to the API", () =>
      Effect.gen(function*() {
        let tokenRequests = 0
        const apiSeen: Array<string | undefined> = []
        const client = HttpClient.make((request, url) =>
          Effect.sync(() => {
            if (url.pathname === "/token") {
              tokenRequests++
              return HttpClientResponse.fromWeb(request, granted(3600, `access-${tokenRequests}`))
            }
            apiSeen.push(request.headers["authorization"])
            return HttpClientResponse.fromWeb(request, new Response("ok"))
          })
        )
        const tokens = yield* OAuth2.clientCredentials(options).pipe(
          Effect.provideService(HttpClient.HttpClient, client)
        )
        const authed = client.pipe(Auth.bearerFrom(tokens))
        yield* authed.get("http://api.test/a")
        yield* authed.get("http://api.test/b")
        expect(tokenRequests).toBe(1)
        expect(apiSeen).toEqual(["Bearer access-1", "Bearer access-1"])
      }))

    it.effect("layerClientCredentials folds a token failure into a RequestError whose cause is AuthenticationFailed", () =>
      Effect.gen(function*() {
        const client = HttpClient.make((request) =>
          Effect.succeed(HttpClientResponse.fromWeb(request, json(400, { error: "invalid_scope" })))
        )
        const error = yield* Effect.flip(
          Effect.flatMap(HttpClient.HttpClient, (authed) => authed.get("http://api.test/a")).pipe(
            Effect.provide(
              OAuth2.layerClientCredentials(options).pipe(Layer.provide(Layer.succeed(HttpClient.HttpClient, client)))
            )
          )
        )
        expect(error._tag).toBe("RequestError")
        expect(error.cause).toBeInstanceOf(HttpFailure.AuthenticationFailed)
        expect(error.cause).toMatchObject({
          reason: "Rejected",
          method: "GET",
          url: "http://api.test/a",
          cause: { name: "TokenRejected", code: "invalid_scope" }
        })
        expect(error.message).not.toContain(SECRET)
      }))

    describe("layerClientCredentials under a Policy", () => {
      // the token endpoint answers `token`; the API answers 200 to every request
      const serve = (token: (call: number) => Response) => {
        let tokenRequests = 0
        let apiRequests = 0
        const client = HttpClient.make((request, url) =>
          Effect.sync(() => {
            if (url.pathname === "/token") return HttpClientResponse.fromWeb(request, token(++tokenRequests))
            apiRequests++
            return HttpClientResponse.fromWeb(request, json(200, { ok: true }))
          })
        )
        return { client, tokenRequests: () => tokenRequests, apiRequests: () => apiRequests }
      }

      const callOnce = (client: HttpClient.HttpClient, settings: OAuth2.ClientCredentialsOptions) =>
        Effect.gen(function*() {
          const policy = yield* Policy.make({
            retry: { baseDelay: "100 millis", maxDelay: "1 second", budget: false },
            circuitBreaker: false
          })
          const fiber = yield* Effect.flatMap(
            HttpClient.HttpClient,
            (authed) => Policy.send(authed, HttpClientRequest.post("http://api.test/orders"))
          ).pipe(
            Effect.provideService(Policy.Policy, policy),
            Effect.provide(
              OAuth2.layerClientCredentials(settings).pipe(Layer.provide(Layer.succeed(HttpClient.HttpClient, client)))
            ),
            Effect.withRandom(Random.make(42)),
            Effect.exit,
            Effect.fork
          )
          yield* TestClock.adjust("10 minutes")
          return yield* Fiber.join(fiber)
        }).pipe(Effect.scoped)

      const cases = [
        ["a wrong client secret (invalid_client)", () => json(401, { error: "invalid_client" }), "Rejected", 1],
        ["a token endpoint at a wrong URL (404)", () => new Response("not here", { status: 404 }), "Rejected", 1],
        ["an unusable token response", () => json(200, { token_type: "Bearer" }), "Malformed", 1],
        // the token source's own retry (one here), and no more
        ["a token endpoint that is down (503)", () => json(503, {}), "Unavailable", 2]
      ] as const

      for (const [name, token, reason, tokenRequests] of cases) {
        it.effect(`${name}: AuthenticationFailed ${reason}, the POST never sent, the call not retried`, () =>
          Effect.gen(function*() {
            const endpoint = serve(token)
            const exit = yield* callOnce(endpoint.client, { ...options, retry: Schedule.recurs(1) })
            expect(Exit.isFailure(exit)).toBe(true)
            const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
            expect(Option.getOrThrow(failure)).toMatchObject({
              _tag: "AuthenticationFailed",
              reason,
              method: "POST",
              attempts: 1
            })
            expect(endpoint.tokenRequests()).toBe(tokenRequests)
            expect(endpoint.apiRequests()).toBe(0)
          }))
      }
    })
  })
})
