/**
 * discordjs/discord.js `packages/rest/__tests__/RequestHandler.test.ts`, `BurstHandler.test.ts` and `utils.test.ts`
 * (commit 219ad7ba07cccc256aa0a169d551a43686c14e23), ported to Sturdy's public API: `SturdyClient` over
 * `@sturdy/node`'s undici transport against a real node:http server on 127.0.0.1 (`test/utils/retryHarness.ts`), every
 * wait on the TestClock. One `it` per peer case, named after it; the mocked Discord of each case (undici `MockAgent`
 * interceptors, real-time `Date.now()` windows) is a handler that keeps the same state on the virtual clock.
 * `packages/http/test/peer-discord-RetryHeaders.test.ts` compares how each library reads these answers' headers.
 *
 * Mapping (`discordDefaults`): `retries: 3` is `retry.maxAttempts: 4`; `retryBackoff: 0` (a number n waits
 * `n · 2^retry`) is `retry.delay` answering 0 (a number n > 0 is `baseDelay: n`, `jitter: "none"`; a function is
 * `retry.delay`, its `null` "stop" is the attempt limit); `timeout` is `attemptTimeout` (the test client's 2 s);
 * `offset` (ms added to every rate-limit wait) has no counterpart: Sturdy adds `retry.retryAfterJitter` (up to 10 %, at
 * most 1 s) to a server's wait. A `DiscordAPIError` (4xx) is `ClientError`, an `HTTPError` (5xx) is `ServerError`, a
 * 429 is `RateLimited`, "aborted" is `Timeout` phase `Attempt`; `rejectOnRateLimit` (a 429 fails instead of waiting) is
 * what Sturdy does for a request that is not safe to repeat.
 *
 * Discord's per-route buckets (`X-RateLimit-Bucket`, one queue per route and major parameter, the sublimit queue) have
 * no Sturdy equivalent: Sturdy keeps no client-side bucket from a success's `X-RateLimit-Remaining`, and its only
 * partition of rate-limit state is the upstream key (`upstreamKey`, default `scheme://host:port`) with per-route
 * options in `endpoints`. Every 429 with a readable wait pauses the whole key, as discord.js does only for a 429 with
 * `X-RateLimit-Global`.
 *
 * Deliberate differences (each test says which):
 * - No per-route queue: concurrent calls are sent concurrently; only calls started after a 429 wait out its pause.
 * - A 2xx with `X-RateLimit-Remaining: 0` holds back no later call (discord.js waits `X-RateLimit-Reset-After`, which
 *   Sturdy does not read); the next call is sent and the server's 429 is what Sturdy honours.
 * - `Retry-After` is RFC 9110 delay-seconds: a fractional `0.998` is no hint (the backoff applies, and no pause).
 * - A server wait above `retry.maxRetryAfter` (30 s) fails the call at once and pauses the key for 30 s; discord.js
 *   sleeps any wait.
 * - POST and PATCH repeat only when `retry.methods` lists them (or with an `Idempotency-Key`); discord.js repeats every
 *   method on a 429, a 5xx and a timeout.
 * - A negative `timeout` is an `InvalidPolicy` where discord.js clamps it to 0.
 *
 * Not ported: "Significant Invalid Requests"' `invalidRequestWarning` event and "Unauthorized"'s token reset (no such
 * event or token store in the client; the failures themselves are ported), "abort" (`test.skip` upstream), BurstHandler
 * "Interaction callback creates burst handler" (the handler table), `utils.test.ts`' `makeURLSearchParams`, offset
 * and "timeout as function" cases (no offset; a per-body timeout is a request's own `timeout` option), and
 * `REST.test.ts`, `RequestManager.test.ts`, `CDN.test.ts`, `DiscordAPIError.test.ts`, `UndiciRequest.test.ts` (request
 * building, tokens, CDN URLs and error formatting: no rate limits, retries or timeouts).
 */
import { describe, expect, it } from "@effect/vitest"
import { type HttpFailure, Policy } from "@sturdy/http"
import { Clock, Duration, Effect, type Exit, Option, TestClock } from "effect"
import type * as Http from "node:http"
import {
  connectErrors,
  delays,
  failureOf,
  type Handler,
  type Harness,
  send,
  setup,
  textOf
} from "./utils/retryHarness.js"

const json = { "content-type": "application/json" }
const ok = JSON.stringify({ test: true })

/** the test client of RequestHandler.test.ts: `new REST({ timeout: 2_000, offset: 5 })`, with `retries: 3` and
 * `retryBackoff: 0` by default */
const discordDefaults = {
  attemptTimeout: "2 seconds",
  retry: { maxAttempts: 4, delay: () => 0 }
} as const satisfies Policy.Options

/** `call`'s exit and the virtual time it ended, relative to `start` */
const endedAt = <A, E, R>(call: Effect.Effect<A, E, R>, start: number) =>
  Effect.flatMap(
    Effect.exit(call),
    (exit) => Effect.map(Clock.currentTimeMillis, (at) => ({ exit, at: at - start }))
  )

const all = <A, E>(h: Harness, calls: ReadonlyArray<Effect.Effect<A, E, Policy.Policy>>) =>
  Effect.flatMap(
    Clock.currentTimeMillis,
    (start) => h.run(Effect.all(calls.map((call) => endedAt(call, start)), { concurrency: "unbounded" }))
  ).pipe(Effect.map((exit) => {
    if (exit._tag === "Failure") throw new Error("unreachable: every call's exit is kept")
    return exit.value
  }))

const tagOf = <A, E>(exit: Exit.Exit<A, E>): string =>
  exit._tag === "Success" ? "Success" : (failureOf(exit) as { readonly _tag: string })._tag

const missingPermissions = JSON.stringify({ message: "Missing Permissions", code: 50_013 })

describe("discord.js RequestHandler.test.ts", () => {
  it.scoped("Significant Invalid Requests", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response) => send(response, 403, json, missingPermissions), discordDefaults)
      // two bursts of five, as the peer; each a DiscordAPIError "Missing Permissions" there, a ClientError here
      for (let burst = 0; burst < 2; burst++) {
        const ended = yield* all(h, Array.from({ length: 5 }, () => h.api.get("/badRequest")))
        for (const { exit } of ended) {
          const failure = failureOf(exit) as HttpFailure.ClientError
          expect(failure).toMatchObject({ _tag: "ClientError", status: 403 })
          expect(failure.bodyExcerpt).toContain("Missing Permissions")
        }
      }
      // a 403 is not retried: ten calls, ten requests (the peer's `times(10)`)
      expect(h.seen.length).toBe(10)
    }))

  it.scoped("Handle standard rate limits", () =>
    Effect.gen(function*() {
      let resetAfter = 0
      const bucket = "80c17d2f203122d936070c88c8d10f33"
      const handler: Handler = (request, response) => {
        const status = request.at >= resetAfter ? 204 : 429
        resetAfter = request.at + 250
        const headers: Http.OutgoingHttpHeaders = {
          "x-ratelimit-limit": "1",
          "x-ratelimit-remaining": "0",
          "x-ratelimit-reset-after": "0.25",
          "x-ratelimit-bucket": bucket,
          via: "1.1 google"
        }
        // the mock's `retry-after` is `resetAfter - Date.now()`: 250, milliseconds where seconds go
        send(response, status, status === 204 ? headers : { ...headers, "retry-after": "250" })
      }
      const h = yield* setup(handler, discordDefaults)
      const ended = yield* all(h, [h.api.get("/standard"), h.api.get("/standard"), h.api.get("/standard")])
      // discord.js queues b and c behind a's spent bucket (Reset-After 0.25 s): three 204s 250 ms apart. Sturdy keeps
      // no bucket from a 2xx, so the three are sent at once; the two 429s ask for 250 s, above `maxRetryAfter` (30 s):
      // they fail at once, unretried
      expect(ended.map(({ exit }) => tagOf(exit)).sort()).toEqual(["RateLimited", "RateLimited", "Success"])
      for (const { at, exit } of ended) {
        expect(at).toBe(0)
        if (exit._tag === "Failure") {
          const failure = failureOf(exit) as HttpFailure.RateLimited
          expect(Option.map(failure.retryAfter, Duration.toMillis)).toEqual(Option.some(250_000))
        }
      }
      expect(h.seen.length).toBe(3)
      expect(h.decisions.map((d) => [d.reason, d.retrying])).toEqual([
        ["retry-after-too-long", false],
        ["retry-after-too-long", false]
      ])
      // and the key is paused for `maxRetryAfter`: a fourth call cannot wait 250 s and is not sent
      const fourth = failureOf(yield* h.run(h.api.get("/standard")))
      expect(fourth).toMatchObject({ _tag: "RateLimitExceeded", reason: "Paused" })
      expect(h.seen.length).toBe(3)
    }))

  it.scoped("Handle sublimits", () =>
    Effect.gen(function*() {
      // the mock: 10 requests per 250 ms on the route, of which 2 per second may change a channel's name or topic;
      // a 429 names its wait with a fractional Retry-After and keeps requests left in the bucket
      let requests = 0
      let hits = 0
      let window = 0
      let sublimitWindow = 0
      const handler: Handler = (request, response) => {
        if (request.at >= window + 250) {
          requests = 0
          window = request.at
        }
        if (request.at >= sublimitWindow + 1000) {
          hits = 0
          sublimitWindow = request.at
        }
        const body = JSON.parse(request.body) as Record<string, unknown>
        const sublimited = "name" in body || "topic" in body
        if (sublimited) hits++
        requests++
        const allowed = (!sublimited || 2 - hits >= 0) && 10 - requests >= 0
        const headers = {
          "x-ratelimit-limit": "10",
          "x-ratelimit-remaining": `${10 - requests}`,
          "x-ratelimit-reset-after": `${(window + 250 - request.at) / 1000}`,
          via: "1.1 google"
        }
        if (allowed) return send(response, 200, headers)
        const retryAfter = sublimited ? sublimitWindow + 1000 - request.at : window + 250 - request.at
        send(response, 429, { ...headers, ...json, "retry-after": `${retryAfter / 1000}` }, "{}")
      }
      const h = yield* setup(handler, discordDefaults)
      const sublimit: { readonly body: unknown } = { body: { name: "newname" } }
      const noSublimit: { readonly body: unknown } = { body: { bitrate: 40_000 } }
      // discord.js queues the route's requests one after another; here they are sent in the same order, one at a time,
      // a millisecond apart (real time passes between the peer's requests, so its windows' waits are fractions:
      // the third name change is told `retry-after: 0.998`)
      const outcomes: Array<string> = []
      for (const body of [sublimit, sublimit, sublimit, noSublimit, sublimit, sublimit, noSublimit]) {
        yield* TestClock.adjust(1)
        outcomes.push(tagOf(yield* h.run(h.api.patch("/channels/1", body))))
      }
      expect(h.seen[2]!.at - h.seen[0]!.at).toBe(2)
      // discord.js waits the third, fifth and sixth requests out in its sublimit queue (c, e, f end after d and
      // g). Sturdy does not repeat a PATCH (not safe to repeat without `retry.methods`), and the fractional
      // Retry-After is no hint: those three fail with RateLimited, without a wait, and pause nothing, so the bitrate
      // changes (d, g) still go through
      expect(outcomes).toEqual([
        "Success",
        "Success",
        "RateLimited",
        "Success",
        "RateLimited",
        "RateLimited",
        "Success"
      ])
      expect(h.seen.length).toBe(7)
      expect(h.decisions.every((d) => !d.retrying)).toBe(true)

      // "Reject on RateLimit" (`rejectOnRateLimit: ['/channels']`): the second and third name changes reject with a
      // RateLimitError (the peer's `await expect(aP2).resolves` asserts nothing of the first)
      yield* TestClock.adjust(1)
      const rejected = yield* all(h, [h.api.patch("/channels/1", sublimit), h.api.patch("/channels/1", sublimit)])
      for (const { exit } of rejected) {
        const failure = failureOf(exit) as HttpFailure.RateLimited
        expect(failure._tag).toBe("RateLimited")
        expect(failure.retryAfter).toEqual(Option.none())
      }
    }))

  it.scoped("Handle unexpected 429", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        (_, response, n) =>
          n === 1
            ? send(response, 429, { "retry-after": "1", via: "1.1 google" })
            : send(response, 200, json, ok),
        discordDefaults
      )
      const ended = yield* all(h, [h.api.get("/unexpected"), h.api.get("/unexpected")])
      for (const { exit } of ended) expect(textOf(exit)).toBe(ok)
      // discord.js queues the second behind the first, so it ends after the first's 1 s wait. Sturdy sends both at
      // once: one is answered at once; the one that met the 429 ends after the server's 1 s, plus at most 10 %
      const [sooner, later] = ended.map(({ at }) => at).sort((a, b) => a - b)
      expect(sooner).toBe(0)
      expect(later).toBeGreaterThanOrEqual(1_000)
      expect(later).toBeLessThanOrEqual(1_100)
      expect(h.seen.length).toBe(3)
    }))

  it.scoped("Handle unexpected 429 cloudflare", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        (_, response, n) => n === 1 ? send(response, 429, { "retry-after": "1" }) : send(response, 200, json, ok),
        discordDefaults
      )
      const [{ at, exit }] = yield* all(h, [h.api.get("/unexpected-cf")])
      expect(textOf(exit)).toBe(ok)
      expect(at).toBeGreaterThanOrEqual(1_000)
      // "twice because it re-runs the request after first 429"
      expect(h.seen.length).toBe(2)
      expect(h.seen[1]!.at - h.seen[0]!.at).toBeGreaterThanOrEqual(1_000)
    }))

  it.scoped("Handle global rate limits", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        (request, response) =>
          send(response, 200, json, request.path === "/triggerGlobal" ? JSON.stringify({ global: true }) : ok),
        discordDefaults
      )
      expect(textOf(yield* h.run(h.api.get("/triggerGlobal")))).toBe(JSON.stringify({ global: true }))
      expect(textOf(yield* h.run(h.api.get("/regularRequest")))).toBe(ok)
    }))

  // Not a peer test: SequentialHandler's `X-RateLimit-Global` branch, which the peer's "Handle global rate limits"
  // (a 200) does not reach. discord.js holds every route for a global 429 and only the one request for another 429.
  it.scoped("X-RateLimit-Global (SequentialHandler.runRequest; no peer test)", () =>
    Effect.gen(function*() {
      const limited = (global: boolean): Handler => (request, response) =>
        request.path === "/a"
          ? send(response, 429, { "retry-after": "2", ...(global ? { "x-ratelimit-global": "true" } : {}) })
          : send(response, 200, json, ok)
      for (const global of [true, false]) {
        const h = yield* setup(limited(global), { ...discordDefaults, retry: { maxAttempts: 1 } })
        expect(failureOf(yield* h.run(h.api.get("/a")))).toMatchObject({ _tag: "RateLimited" })
        const start = h.seen[0]!.at
        // Sturdy pauses the key on any 429 with a wait: /b waits the 2 s out, global or not (discord.js sends /b at
        // once after a 429 without X-RateLimit-Global)
        expect(textOf(yield* h.run(h.api.get("/b")))).toBe(ok)
        expect(h.seen[1]!.at - start).toBeGreaterThanOrEqual(2_000)
      }
      // the per-route partition Sturdy has: an `upstreamKey` per path keeps /a's pause off /b
      const perPath = yield* setup(limited(false), {
        ...discordDefaults,
        retry: { maxAttempts: 1 },
        upstreamKey: (request) => request.url
      })
      yield* perPath.run(perPath.api.get("/a"))
      expect(textOf(yield* perPath.run(perPath.api.get("/b")))).toBe(ok)
      expect(perPath.seen[1]!.at - perPath.seen[0]!.at).toBe(0)
    }))

  it.scoped("Handle temp server outage", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        (_, response, n) => n === 1 ? send(response, 500) : send(response, 200, json, ok),
        discordDefaults
      )
      expect(textOf(yield* h.run(h.api.get("/temp")))).toBe(ok)
      expect(h.seen.length).toBe(2)
      // `retryBackoff: 0`: the retry goes out at once
      expect(delays(h)).toEqual([0])
    }))

  it.scoped("perm server outage", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response) => send(response, 500, json), discordDefaults)
      const failure = failureOf(yield* h.run(h.api.get("/outage")))
      // an HTTPError after `retries: 3`: four requests (the peer's `times(4)`)
      expect(failure).toMatchObject({ _tag: "ServerError", status: 500, attempts: 4 })
      expect(h.seen.length).toBe(4)
    }))

  it.scoped("server responding too slow", () =>
    Effect.gen(function*() {
      // `new REST({ timeout: 1 })`, the server answering after 100 ms; discord.js retries the AbortError 3 times
      const h = yield* setup(
        (_, response, __, tools) => tools.later(100, () => send(response, 200)),
        { attemptTimeout: "1 millis", retry: { maxAttempts: 4, delay: () => 0 } }
      )
      const failure = failureOf(yield* h.run(h.api.get("/slow")))
      expect(failure).toMatchObject({ _tag: "Timeout", phase: "Attempt", attempts: 4 })
      expect(h.seen.length).toBe(4)
    }))

  it.scoped("Unauthorized", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        (_, response) => send(response, 401, json, JSON.stringify({ message: "401: Unauthorized", code: 0 })),
        discordDefaults
      )
      // with and without auth, as the peer (which also resets the token on the second: not ported)
      for (let call = 0; call < 2; call++) {
        const failure = failureOf(yield* h.run(h.api.get("/unauthorized"))) as HttpFailure.ClientError
        expect(failure).toMatchObject({ _tag: "ClientError", status: 401 })
        expect(failure.bodyExcerpt).toContain("401: Unauthorized")
      }
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("Bad Request", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response) => send(response, 403, json, missingPermissions), discordDefaults)
      const failure = failureOf(yield* h.run(h.api.get("/badRequest"))) as HttpFailure.ClientError
      expect(failure).toMatchObject({ _tag: "ClientError", status: 403 })
      expect(failure.bodyExcerpt).toContain("Missing Permissions")
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("malformedRequest", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response) => send(response, 405), discordDefaults)
      expect(failureOf(yield* h.run(h.api.get("/malformedRequest")))).toMatchObject({
        _tag: "ClientError",
        status: 405
      })
      expect(h.seen.length).toBe(1)
    }))
})

describe("discord.js BurstHandler.test.ts", () => {
  const callback = (id: string, token: string, content: string) =>
    [`/interactions/${id}/${token}/callback`, { body: { type: 4, data: { content } } }] as const

  it.scoped("Requests are handled in bursts", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response, __, tools) => tools.later(100, () => send(response, 200)), discordDefaults)
      const ended = yield* all(h, [
        h.api.post(...callback("1234567890123456789", "totallyarealtoken", "Reply1")),
        h.api.post(...callback("2345678901234567890", "anotherveryrealtoken", "Reply2")),
        h.api.post(...callback("3456789012345678901", "nowaytheresanotherone", "Reply3"))
      ])
      // not queued: the three reach the server together and end together, 100 ms later
      expect(h.seen.map((s) => s.at - h.seen[0]!.at)).toEqual([0, 0, 0])
      for (const { at, exit } of ended) {
        expect(exit._tag).toBe("Success")
        expect(at).toBe(100)
      }
    }))

  it.scoped("Handle 404", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        (_, response) => send(response, 404, json, JSON.stringify({ message: "Unknown interaction", code: 10_062 })),
        discordDefaults
      )
      const failure = failureOf(
        yield* h.run(h.api.post(...callback("1234567890123456788", "definitelynotarealinteraction", "Malicious")))
      ) as HttpFailure.ClientError
      expect(failure).toMatchObject({ _tag: "ClientError", status: 404 })
      expect(failure.bodyExcerpt).toContain("Unknown interaction")
    }))

  const once = (status: number, headers: Http.OutgoingHttpHeaders = {}): Handler => (_, response, n) =>
    n === 1 ? send(response, status, headers) : send(response, 200, json, ok)

  it.scoped("Handle unexpected 429", () =>
    Effect.gen(function*() {
      const reply = callback("1234567890123456789", "totallyarealtoken", "Reply")
      // discord.js repeats the POST after the 1 s. Sturdy does not repeat a POST that reached the server
      const h = yield* setup(once(429, { "retry-after": "1", via: "1.1 google" }), discordDefaults)
      const failure = failureOf(yield* h.run(h.api.post(...reply))) as HttpFailure.RateLimited
      expect(failure._tag).toBe("RateLimited")
      expect(Option.map(failure.retryAfter, Duration.toMillis)).toEqual(Option.some(1_000))
      expect(h.seen.length).toBe(1)
      // ... unless the caller declares it safe to repeat: then as discord.js, after at least the 1 s
      const declared = yield* setup(once(429, { "retry-after": "1", via: "1.1 google" }), {
        ...discordDefaults,
        retry: { ...discordDefaults.retry, methods: ["POST"] }
      })
      const [{ at, exit }] = yield* all(declared, [declared.api.post(...reply)])
      expect(textOf(exit)).toBe(ok)
      expect(at).toBeGreaterThanOrEqual(1_000)
      expect(declared.seen.length).toBe(2)
    }))

  it.scoped("server responding too slow", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        (_, response, __, tools) => tools.later(100, () => send(response, 200)),
        { attemptTimeout: "1 millis", retry: { maxAttempts: 4, delay: () => 0 } }
      )
      const failure = failureOf(yield* h.run(h.api.post(...callback("1234567890123456789", "totallyarealtoken", "x"))))
      // "aborted" in both; discord.js has repeated the POST 3 times first, Sturdy does not repeat a POST that may have
      // reached the server
      expect(failure).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("Handle temp server outage", () =>
    Effect.gen(function*() {
      const reply = callback("1234567890123456789", "totallyarealtoken", "Reply")
      const h = yield* setup(once(500), discordDefaults)
      // a POST is not repeated after a 500 (discord.js repeats it)
      expect(failureOf(yield* h.run(h.api.post(...reply)))).toMatchObject({ _tag: "ServerError", status: 500 })
      expect(h.seen.length).toBe(1)
      const declared = yield* setup(once(500), {
        ...discordDefaults,
        retry: { ...discordDefaults.retry, methods: ["POST"] }
      })
      expect(textOf(yield* declared.run(declared.api.post(...reply)))).toBe(ok)
      expect(declared.seen.length).toBe(2)
    }))
})

describe("discord.js utils.test.ts: option normalization functions", () => {
  const outage: Handler = (_, response) => send(response, 500)

  it.scoped("retry backoff as number", () =>
    Effect.gen(function*() {
      // normalizeRetryBackoff(n, ..., retryCount) is n · 2^retryCount: 0, 0, 0 for 0 and 50, 100, 200 for 50
      const none = yield* setup(outage, { retry: { maxAttempts: 4, delay: () => 0 } })
      yield* none.run(none.api.get("/test"))
      expect(delays(none)).toEqual([0, 0, 0])
      const fifty = yield* setup(outage, { retry: { maxAttempts: 4, baseDelay: "50 millis", jitter: "none" } })
      yield* fifty.run(fifty.api.get("/test"))
      expect(delays(fifty)).toEqual([50, 100, 200])
    }))

  it.scoped("retry backoff as function", () =>
    Effect.gen(function*() {
      // the peer's function: 0 for a network error, 50 after a 502, else 0, 150, 500 by retry count, then `null` (stop)
      const backoff = (attempt: number, failure: Policy.RetryFailure) =>
        !("status" in failure) ? 0 : failure.status === 502 ? 50 : [0, 150, 500][attempt - 1] ?? 0
      const stopAfterThree = { maxAttempts: 4, delay: backoff }
      const h = yield* setup(outage, { retry: stopAfterThree })
      expect(failureOf(yield* h.run(h.api.get("/test")))).toMatchObject({ _tag: "ServerError", attempts: 4 })
      expect(delays(h)).toEqual([0, 150, 500])
      const badGateway = yield* setup(
        (_, response, n) => n === 1 ? send(response, 502) : send(response, 200, json, ok),
        { retry: stopAfterThree }
      )
      expect(textOf(yield* badGateway.run(badGateway.api.get("/test")))).toBe(ok)
      expect(delays(badGateway)).toEqual([50])
      // statusCode null: a network error (the ECONNRESET discord.js's `shouldRetry` retries) waits 0
      const reset = yield* setup((_, response) => send(response, 200, json, ok), { retry: stopAfterThree }, {
        connectFailures: connectErrors(1, "ECONNRESET")
      })
      expect(textOf(yield* reset.run(reset.api.get("/test")))).toBe(ok)
      expect(reset.decisions.map((d) => [Duration.toMillis(d.delay), d.retrying])).toEqual([[0, true]])
      expect(reset.seen.length).toBe(1)
    }))

  it.scoped("timeout as number", () =>
    Effect.gen(function*() {
      // normalizeTimeout(-150) is 0 in discord.js; Sturdy refuses a negative timeout when the policy is built
      const refused = yield* Effect.exit(Policy.make({ attemptTimeout: -150 }))
      expect(failureOf(refused)).toMatchObject({ _tag: "InvalidPolicy" })
      for (const millis of [150, 50]) {
        const exit = yield* Effect.exit(Policy.make({ attemptTimeout: Duration.millis(millis) }))
        expect(exit._tag).toBe("Success")
      }
    }))
})
