/**
 * Black-box port of Azure's token cycler and bearer token policy tests onto `Auth.makeTokenSource` and
 * `Auth.bearerFrom`.
 *
 * Sources (Azure/azure-sdk-for-js, sdk/core/core-rest-pipeline):
 * - `test/internal/tokenCycler.spec.ts` at 000df6058baf78ea6636914fb29317ba6d765a1b
 * - `test/internal/bearerTokenAuthenticationPolicy.spec.ts` at 0e9d1665ba5d1f01be1eaa2a86b40b2fcdb15314
 *
 * Mapping: a `TokenCredential.getToken` is the source's `acquire` effect (a counter for `authCount`, `Effect.sleep`
 * on the TestClock for `getTokenDelay`); `expiresOnTimestamp` is `expiresAt`; the policy's `next` is a fake
 * transport (`fakeClient`). Azure's forced refresh window (`forcedRefreshWindowInMs`, default 1 s: callers wait) is
 * `expirySkew`; its refresh window (`refreshWindowInMs`, default 2 minutes before expiry: one caller starts a refresh,
 * every caller gets the cached token) is `refreshAhead`, which Sturdy counts from the due refresh, so
 * `refreshAhead = refreshWindow - forcedWindow` starts it at the same point.
 *
 * Deliberate differences (Sturdy's documented behaviour is asserted):
 * - the skew is capped at half the token's lifetime and `refreshAhead` at half the time from caching to the due
 *   refresh (Azure applies its windows as given), so a case whose token lives shorter than the windows moves its clock
 *   to where Sturdy's capped window starts;
 * - a due refresh that fails while the cached token has not expired serves the cached token, and the next call tries
 *   again; Azure's cycler instead retries every `retryIntervalInMs` inside the call until the token expires;
 * - `bearerFrom` replays every 401 once with a refreshed token and fails with `Unauthorized` on a second 401; Azure
 *   replays only a parsable CAE challenge (or one a custom `authorizeRequestOnChallenge` accepts) and hands the 401
 *   back otherwise.
 *
 * Not ported: "throws if the target URI doesn't start with 'https'" (Sturdy scopes credentials by origin and does
 * not require TLS); "correctly refreshes the accessToken when refreshAfterTimestamp" (`AccessToken` has no
 * refresh-after time); "should throw for 401 RestError that we can't handle" (a transport here cannot fail with a
 * 401); the CAE claims-parsing matrix, the non-CAE custom-handler matrix, the challenge-order cases other than two
 * challenges in a row, "ChallengeCallbacks are able to access class fields", "should handle RestError with ..." and the
 * edge cases on custom handlers (Sturdy has no challenge callbacks, claims or `enableCae`).
 */
import { describe, expect, it } from "@effect/vitest"
import { Auth } from "@sturdy/http"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import { fakeClient } from "./utils/fakeTransport.js"

// Azure's DEFAULT_CYCLER_OPTIONS
const refreshWindow = Duration.toMillis("2 minutes")
const forcedRefreshWindow = Duration.toMillis("1 second")
const azureDefaults: Auth.TokenSourceOptions = {
  expirySkew: Duration.millis(forcedRefreshWindow),
  refreshAhead: Duration.millis(refreshWindow - forcedRefreshWindow)
}

class CredentialError extends Data.TaggedError("CredentialError")<{ readonly message: string }> {}

interface Issued {
  readonly token: string
  readonly expiresAt: number
}

/** A scripted `TokenCredential`: each call takes the next answer (the last one repeats), counted in `authCount`. */
const credential = (
  answers: ReadonlyArray<(now: number) => Issued | string>,
  options: { readonly getTokenDelay?: Duration.DurationInput } = {}
) => {
  const state = { authCount: 0 }
  const acquire = Effect.gen(function*() {
    state.authCount++
    const answer = answers[Math.min(state.authCount, answers.length) - 1]!(yield* Clock.currentTimeMillis)
    if (options.getTokenDelay !== undefined) yield* Effect.sleep(options.getTokenDelay)
    if (typeof answer === "string") return yield* new CredentialError({ message: answer })
    return { token: Redacted.make(answer.token), expiresAt: Option.some(answer.expiresAt) } satisfies Auth.AccessToken
  })
  return { state, acquire }
}

const ok = () => Effect.succeed(new Response("ok", { status: 200 }))
const authorizationOf = (headers: Readonly<Record<string, string>>) => headers["authorization"]

describe("Azure tokenCycler - additional coverage", () => {
  it.scoped("throws when getToken always returns null and no existing token (timeout immediate)", () =>
    Effect.gen(function*() {
      const { acquire, state } = credential([() => "Failed to refresh access token."])
      const source = yield* Auth.makeTokenSource(acquire, azureDefaults)
      const result = yield* Effect.either(source.get)
      expect(result).toEqual(Either.left(new CredentialError({ message: "Failed to refresh access token." })))
      expect(state.authCount).toBe(1)
    }))

  it.scoped("retries in the while loop when getToken throws before timeout, then succeeds", () =>
    Effect.gen(function*() {
      const { acquire, state } = credential([
        (now) => ({ token: "initial-token", expiresAt: now + 5_000 }),
        () => "transient failure",
        (now) => ({ token: "refreshed-token", expiresAt: now + 3_600_000 })
      ])
      // forcedRefreshWindowInMs 10 s on a 5 s token: Sturdy caps the skew at half the lifetime (refresh due at 2.5 s)
      const source = yield* Auth.makeTokenSource(acquire, { expirySkew: "10 seconds", refreshAhead: "1 hour" })
      expect(Redacted.value((yield* source.get).token)).toBe("initial-token")
      yield* TestClock.adjust("3 seconds")
      // Azure retries inside this call until it succeeds; Sturdy serves the unexpired token after the failed refresh
      expect(Redacted.value((yield* source.get).token)).toBe("initial-token")
      expect(state.authCount).toBe(2)
      // and the next call tries again
      expect(Redacted.value((yield* source.get).token)).toBe("refreshed-token")
      expect(state.authCount).toBe(3)
    }))
})

describe("Azure BearerTokenAuthenticationPolicy", () => {
  it.scoped("correctly adds an Authentication header with the Bearer token", () =>
    Effect.gen(function*() {
      const { acquire, state } = credential([(now) => ({ token: "token", expiresAt: now })])
      const source = yield* Auth.makeTokenSource(acquire, azureDefaults)
      const { client, seen } = fakeClient(ok)
      const response = yield* client.pipe(Auth.bearerFrom(source)).get("https://example.com")
      expect(response.status).toBe(200)
      expect(authorizationOf(seen[0]!.headers)).toBe("Bearer token")
      expect(state.authCount).toBe(1)
    }))

  it.scoped("refreshes the token on initial request", () =>
    Effect.gen(function*() {
      const { acquire, state } = credential([(now) => ({ token: "mock-token", expiresAt: now + 60_000 })])
      const source = yield* Auth.makeTokenSource(acquire, azureDefaults)
      const { client } = fakeClient(ok)
      expect(state.authCount).toBe(0)
      yield* client.pipe(Auth.bearerFrom(source)).get("https://example.com")
      expect(state.authCount).toBe(1)
    }))

  it.scoped("refreshes the token during the refresh window", () =>
    Effect.gen(function*() {
      const expireDelayMs = refreshWindow + 5_000
      const { acquire, state } = credential([(now) => ({ token: "mock-token", expiresAt: now + expireDelayMs })])
      const source = yield* Auth.makeTokenSource(acquire, azureDefaults)
      const { client } = fakeClient(ok)
      const api = client.pipe(Auth.bearerFrom(source))
      // the token is cached and remains cached for a bit
      yield* api.get("https://example.com")
      yield* api.get("https://example.com")
      expect(state.authCount).toBe(1)
      yield* TestClock.adjust(expireDelayMs - refreshWindow - 1_000)
      yield* api.get("https://example.com")
      expect(state.authCount).toBe(1)
      // now we wait until it expires: the next request refreshes
      yield* TestClock.adjust(expireDelayMs + 1_000)
      yield* api.get("https://example.com")
      expect(state.authCount).toBe(2)
    }))

  it.scoped("access token refresher should prevent multiple initial getToken requests to break", () =>
    Effect.gen(function*() {
      const { acquire, state } = credential([(now) => ({ token: "mock-token", expiresAt: now + 5_000 })], {
        getTokenDelay: "100 millis"
      })
      const source = yield* Auth.makeTokenSource(acquire, azureDefaults)
      const { client, seen } = fakeClient(ok)
      const api = client.pipe(Auth.bearerFrom(source))
      const fiber = yield* Effect.fork(
        Effect.all(Array.from({ length: 3 }, () => api.get("https://example.com")), { concurrency: "unbounded" })
      )
      yield* TestClock.adjust("100 millis")
      const responses = yield* Fiber.join(fiber)
      expect(responses.map((response) => response.status)).toEqual([200, 200, 200])
      expect(seen.map((hop) => authorizationOf(hop.headers))).toEqual(Array(3).fill("Bearer mock-token"))
      expect(state.authCount).toBe(1)
    }))

  it.scoped("credential errors should bubble up", () =>
    Effect.gen(function*() {
      const { acquire, state } = credential([() => "Failed to retrieve the token"], { getTokenDelay: "100 millis" })
      const source = yield* Auth.makeTokenSource(acquire, azureDefaults)
      const { client, seen } = fakeClient(ok)
      const fiber = yield* Effect.fork(Effect.either(client.pipe(Auth.bearerFrom(source)).get("https://example.com")))
      yield* TestClock.adjust("100 millis")
      const result = yield* Fiber.join(fiber)
      expect(result).toEqual(Either.left(new CredentialError({ message: "Failed to retrieve the token" })))
      expect(state.authCount).toBe(1)
      expect(seen).toHaveLength(0)
    }))

  it.scoped(
    "access token refresher should prevent refreshers to happen too fast while the token is about to expire",
    () =>
      Effect.gen(function*() {
        const expireDelayMs = 5_000
        const getTokenDelay = 100
        const { acquire, state } = credential([
          (now) => ({ token: "mock-token-1", expiresAt: now + refreshWindow + expireDelayMs }),
          (now) => ({ token: "mock-token-2", expiresAt: now + refreshWindow + expireDelayMs })
        ], { getTokenDelay: Duration.millis(getTokenDelay) })
        const source = yield* Auth.makeTokenSource(acquire, azureDefaults)
        const { client, seen } = fakeClient(ok)
        const api = client.pipe(Auth.bearerFrom(source))
        const first = yield* Effect.fork(api.get("https://example.com"))
        yield* TestClock.adjust(getTokenDelay)
        yield* Fiber.join(first)
        expect(state.authCount).toBe(1)
        // Azure's window opens at expiry - 2 minutes (5 s after caching); Sturdy caps `refreshAhead` at half the time
        // from caching to the due refresh, so its background window opens halfway to expiry - 1 s
        const due = refreshWindow + expireDelayMs - forcedRefreshWindow
        const cachedAt = getTokenDelay
        yield* TestClock.adjust(cachedAt + (due - cachedAt) / 2 - getTokenDelay - 1)
        yield* api.get("https://example.com")
        expect(state.authCount).toBe(1)
        yield* TestClock.adjust(1)
        const startedAt = yield* Clock.currentTimeMillis
        // three requests in the window go at once with the cached token; one refresh starts in the background
        yield* Effect.all(Array.from({ length: 3 }, () => api.get("https://example.com")), { concurrency: "unbounded" })
        expect(yield* Clock.currentTimeMillis).toBe(startedAt)
        expect(seen.slice(-3).map((hop) => authorizationOf(hop.headers))).toEqual(Array(3).fill("Bearer mock-token-1"))
        expect(state.authCount).toBe(2)
        yield* TestClock.adjust(getTokenDelay)
        yield* api.get("https://example.com")
        expect(authorizationOf(seen.at(-1)!.headers)).toBe("Bearer mock-token-2")
        expect(state.authCount).toBe(2)
      })
  )

  it.scoped("does not wait for token expiry after receiving an authentication challenge", () =>
    Effect.gen(function*() {
      const oneDayInMs = 24 * 60 * 60 * 1000
      const { acquire, state } = credential([
        (now) => ({ token: "mock-token", expiresAt: now + oneDayInMs }),
        () => "Failed to refresh access token."
      ])
      const source = yield* Auth.makeTokenSource(acquire, azureDefaults)
      const { client, seen } = fakeClient(() =>
        Effect.succeed(
          new Response(null, {
            status: 401,
            headers: {
              "www-authenticate":
                `Bearer authorization_uri="https://login.windows-ppe.net/", error="invalid_token", error_description="User session has been revoked"`
            }
          })
        )
      )
      // the refused token is dropped: the failed refresh fails the request at once instead of serving it for a day
      const result = yield* Effect.either(client.pipe(Auth.bearerFrom(source)).get("https://example.com"))
      expect(result).toEqual(Either.left(new CredentialError({ message: "Failed to refresh access token." })))
      expect(state.authCount).toBe(2)
      expect(seen).toHaveLength(1)
    }))

  it.scoped("should throw regular error we can't handle", () =>
    Effect.gen(function*() {
      const { acquire, state } = credential([(now) => ({ token: "token", expiresAt: now + 60_000 })])
      const source = yield* Auth.makeTokenSource(acquire, azureDefaults)
      const failure = new Error("Arbitray error")
      const { client } = fakeClient(() => Effect.fail({ cause: failure }))
      const result = yield* Effect.flip(client.pipe(Auth.bearerFrom(source)).get("https://example.com"))
      expect(result._tag).toBe("RequestError")
      expect(result._tag === "RequestError" && result.cause).toBe(failure)
      expect(state.authCount).toBe(1)
    }))

  it.scoped("Single CAE Challenge: standard CAE challenge", () =>
    Effect.gen(function*() {
      const { acquire, state } = credential([
        (now) => ({ token: "bad-token", expiresAt: now + 60_000 }),
        (now) => ({ token: "good-token", expiresAt: now + 60_000 })
      ])
      const source = yield* Auth.makeTokenSource(acquire, azureDefaults)
      const { client, seen } = fakeClient((request) =>
        Effect.succeed(
          request.headers["authorization"] === "Bearer good-token"
            ? new Response("ok", { status: 200 })
            : new Response(null, {
              status: 401,
              headers: {
                "www-authenticate":
                  `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZSwidmFsdWUiOiIxNzI2MDc3NTk1In0sInhtc19jYWVlcnJvciI6eyJ2YWx1ZSI6IjEwMDEyIn19fQ=="`
              }
            })
        )
      )
      const response = yield* client.pipe(Auth.bearerFrom(source)).get("https://example.com")
      expect(response.status).toBe(200)
      expect(seen.map((hop) => authorizationOf(hop.headers))).toEqual(["Bearer bad-token", "Bearer good-token"])
      expect(state.authCount).toBe(2)
    }))

  it.scoped("Multiple challenges returned: should not handle 2 CAE challenges", () =>
    Effect.gen(function*() {
      const { acquire, state } = credential([(now) => ({ token: "token", expiresAt: now + 60_000 })])
      const source = yield* Auth.makeTokenSource(acquire, azureDefaults)
      const challenge =
        `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZSwidmFsdWUiOiIxNzI2MDc3NTk1In0sInhtc19jYWVlcnJvciI6eyJ2YWx1ZSI6IjEwMDEyIn19fQ=="`
      const { client, seen } = fakeClient(() =>
        Effect.succeed(new Response(null, { status: 401, headers: { "www-authenticate": challenge } }))
      )
      // Azure hands the second 401 back as the response; Sturdy's bearerFrom fails with Unauthorized
      const error = yield* Effect.flip(client.pipe(Auth.bearerFrom(source)).get("https://example.com"))
      expect(error._tag).toBe("Unauthorized")
      expect(state.authCount).toBe(2)
      expect(seen).toHaveLength(2)
    }))

  it.scoped("should not throw when 401 response has no WWW-Authenticate header", () =>
    Effect.gen(function*() {
      const { acquire, state } = credential([(now) => ({ token: "token", expiresAt: now + 60_000 })])
      const source = yield* Auth.makeTokenSource(acquire, azureDefaults)
      const { client, seen } = fakeClient(() => Effect.succeed(new Response(null, { status: 401 })))
      // Azure returns this 401 without a replay (no challenge); Sturdy replays any 401 once, then Unauthorized
      const error = yield* Effect.flip(client.pipe(Auth.bearerFrom(source)).get("https://example.com"))
      expect(error._tag).toBe("Unauthorized")
      expect(seen).toHaveLength(2)
      expect(state.authCount).toBe(2)
    }))
})
