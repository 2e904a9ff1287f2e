/**
 * fetch-retry's `test/unit/index.js` and `test/integration/index.js` (jonbern/fetch-retry, commit
 * 8684ef4e688375f623bd76f13add76dbc1d67cfb), ported to Sturdy's public API: `SturdyClient` (and `Policy.withPolicy`
 * where fetch-retry resolves with the last response) over `@sturdy/node`'s undici transport against a real node:http
 * server on 127.0.0.1 (`test/utils/retryHarness.ts`), every wait on the TestClock. One `it` per fetch-retry case, named
 * after it (its `describe` path shortened); the integration cases run for each of fetch-retry's usage patterns.
 *
 * Mapping: `retries: n` is `retry.maxAttempts: n + 1`; `retryDelay: d` (a number, a constant wait) is `retry.delay: ()
 * => d`; `retryDelay(attempt, error, response)` is `retry.delay(attempt, failure)`, and `retryOn(attempt, error,
 * response)` is `retry.retryOn(failure, attempt)`, both 1-based where fetch-retry's `attempt` is 0-based, the failure
 * carrying the status where fetch-retry passes the response; `retryOn: [statuses]` is `retry.statuses`; the builder's
 * `defaults` are the `Policy` options and a call's `init` an `endpoints` override (`"GET /path"`); a network error is a
 * server that cuts the connection (`ConnectionError`, reason `Reset`); fetch-retry's `then` is a success and its
 * `catch` a typed failure; `fetch.callCount` is the requests the server saw. fetch-retry's defaults (3 retries, 1 s
 * apart, `retryOn: []`: only network errors retried) are `{ maxAttempts: 4, delay: () => 1000, statuses: [] }`.
 *
 * Deliberate differences (each test says which): fetch-retry resolves with a response whatever its status, and
 * `retryOn` sees every response; in Sturdy a non-2xx status is a typed failure (`Policy.withPolicy` hands back the
 * last response instead, as fetch-retry does) and `retryOn` is asked about failures only, so a 2xx is never retried.
 * Sturdy's defaults are 3 attempts, a 2 s exponential backoff with full jitter, and the transient statuses retried (a
 * 503 is; fetch-retry retries no status unless told). A `retryOn` that throws ends the call with that defect (fetch-
 * retry rejects with it).
 *
 * Not ported: "throws when fetch is not a function" (a `SturdyClient` is given an `HttpClient` by type); "when #init is
 * undefined or null: does not pass through init to fetch" (fetch's argument passing); the Promise-returning `retryOn`
 * cases ("returns Promise with true/false resolve", "returns a Promise that rejects": `retryOn` is a synchronous
 * predicate); "when #defaults.retryDelay is a function" (its body has no `it`); the `null` variant of "retries is not
 * a positive integer" (Sturdy reads a `null` option as unset, the default, where its types forbid `null`; left to the
 * lead, as it concerns every option).
 */
import { HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import type { Attempt, HttpFailure } from "@sturdy/http"
import { Policy } from "@sturdy/http"
import { Cause, Effect, Either, Exit } from "effect"
import type * as Http from "node:http"
import {
  failureOf,
  fixture,
  gaps,
  type Handler,
  type Harness,
  send,
  setup,
  statusOf,
  textOf
} from "./utils/retryHarness.js"

/** fetch-retry's defaults: 3 retries, 1 s apart, no status retried */
const fetchRetryDefaults = { maxAttempts: 4, delay: () => 1000, statuses: [] } as const

/** a server that cuts the connection without an answer: fetch's network error */
const cut = (response: Http.ServerResponse) => response.socket?.destroy()

/** cuts the connection until request `okAt`, then 200 `fixture` (fetch-retry's rejected deferreds, then a resolved one) */
const cutUntil = (okAt: number): Handler => (_, response, n) =>
  n >= okAt ? send(response, 200, {}, fixture) : cut(response)

/** answers the statuses in order (fetch-retry's mock API), then 501 */
const statuses = (...answers: Array<number>): Handler => (_, response, n) =>
  send(response, answers[n - 1] ?? 501, {}, n <= answers.length && answers[n - 1] === 200 ? fixture : "")

const isReset = (failure: unknown) =>
  typeof failure === "object" && failure !== null && "_tag" in failure && failure._tag === "ConnectionError"

const problemsOf = (options: Policy.Options) =>
  Either.match(Policy.validate(options), {
    onLeft: (e) => e.problems.map((p) => p.field),
    onRight: () => []
  })

describe("fetch-retry test/unit/index.js fetchBuilder", () => {
  it("throws when default is not an object", () => {
    expect(problemsOf("this is a string, not an object" as unknown as Policy.Options)).not.toEqual([])
  })

  it.scoped("returns fetchRetry when provided valid constructor arguments", () =>
    Effect.gen(function*() {
      const policy = yield* Policy.make({ retry: { maxAttempts: 2 } })
      expect(policy.describe(HttpClientRequest.get("http://127.0.0.1:1/")).maxAttempts).toBe(2)
    }))
})

describe("fetch-retry test/unit/index.js fetch-retry", () => {
  it.scoped("#input: passes #input to fetch", () =>
    Effect.gen(function*() {
      const h = yield* setup(statuses(200), { retry: fetchRetryDefaults })
      yield* h.run(h.api.get("/some-url"))
      expect(h.seen.map((s) => s.path)).toEqual(["/some-url"])
    }))

  it.scoped("#init: when #init is provided: passes init to fetch", () =>
    Effect.gen(function*() {
      const h = yield* setup(statuses(200), { retry: fetchRetryDefaults })
      yield* h.run(h.api.get("/someUrl", { headers: { whatever: "something" } }))
      expect(h.seen[0]!.headers.whatever).toBe("something")
    }))

  it("#init: when #init.retryOn is not an array or function: throws exception", () => {
    expect(problemsOf({ endpoints: { "GET /someUrl": { retry: { retryOn: 503 as unknown as Policy.RetryOn } } } }))
      .toEqual([`endpoints["GET /someUrl"].retry.retryOn`])
  })

  describe("#init.retries", () => {
    // the default retries=3: four attempts in all
    it.scoped("when #init.retries=3 (default): when first call is a success: invokes the then callback, calls fetch once", () =>
      Effect.gen(function*() {
        const h = yield* setup(cutUntil(1), { retry: fetchRetryDefaults })
        expect(textOf(yield* h.run(h.api.get("/someurl")))).toBe(fixture)
        expect(h.seen.length).toBe(1)
      }))

    it.scoped("when #init.retries=3 (default): when second call is a success: invokes the then callback, calls fetch twice", () =>
      Effect.gen(function*() {
        const h = yield* setup(cutUntil(2), { retry: fetchRetryDefaults })
        expect(textOf(yield* h.run(h.api.get("/someurl")))).toBe(fixture)
        expect(h.seen.length).toBe(2)
      }))

    it.scoped("when #init.retries=3 (default): when third call is a success: invokes the then callback, calls fetch three times", () =>
      Effect.gen(function*() {
        const h = yield* setup(cutUntil(3), { retry: fetchRetryDefaults })
        expect(textOf(yield* h.run(h.api.get("/someurl")))).toBe(fixture)
        expect(h.seen.length).toBe(3)
      }))

    it.scoped("when #init.retries=3 (default): when fourth call is a success: invokes the then callback, calls fetch four times", () =>
      Effect.gen(function*() {
        const h = yield* setup(cutUntil(4), { retry: fetchRetryDefaults })
        expect(textOf(yield* h.run(h.api.get("/someurl")))).toBe(fixture)
        expect(h.seen.length).toBe(4)
      }))

    it.scoped("when #init.retries=3 (default): when fourth call is a failure: invokes the catch callback, does not call fetch again", () =>
      Effect.gen(function*() {
        const h = yield* setup(cutUntil(5), { retry: fetchRetryDefaults })
        const failure = failureOf(yield* h.run(h.api.get("/someurl")))
        expect(isReset(failure)).toBe(true)
        expect(Policy.attemptsOf(failure)).toBe(4)
        expect(h.seen.length).toBe(4)
        // 1 s apart, as fetch-retry's `clock.tick(delay)`
        expect(gaps(h)).toEqual([1000, 1000, 1000])
      }))

    it("when #defaults.retries is not a a positive integer: throws error", () => {
      // '1', -1, 'not a number' as `retries`; `maxAttempts` is `retries + 1`
      for (const invalid of ["1", 0, "not a number"]) {
        expect(problemsOf({ retry: { maxAttempts: invalid as unknown as number } })).toEqual(["retry.maxAttempts"])
      }
    })

    it("when #defaults.retryDelay is not a a positive integer: throws error", () => {
      for (const invalid of ["1", -1, "not a number", null]) {
        expect(problemsOf({ retry: { delay: invalid as unknown as () => number } })).toEqual(["retry.delay"])
        expect(problemsOf({ retry: { baseDelay: invalid as unknown as number } })).toEqual(["retry.baseDelay"])
      }
    })

    it("when #defaults.retryOn is not an array or function: throws exception", () => {
      expect(problemsOf({ retry: { retryOn: 503 as unknown as Policy.RetryOn } })).toEqual(["retry.retryOn"])
    })

    it.scoped("when #defaults.retries=0: when first call is a failure: invokes the catch callback, does not call fetch again", () =>
      Effect.gen(function*() {
        const h = yield* setup(cutUntil(2), { retry: { ...fetchRetryDefaults, maxAttempts: 1 } })
        expect(isReset(failureOf(yield* h.run(h.api.get("/someurl"))))).toBe(true)
        expect(h.seen.length).toBe(1)
      }))

    /** `init: { retries }` on one call: an endpoint override of the builder's defaults */
    const initRetries = (retries: number): Policy.Options => ({
      retry: fetchRetryDefaults,
      endpoints: { "GET /someurl": { retry: { maxAttempts: retries + 1 } } }
    })

    it.scoped("when #init.retries=1: when first call is a success: invokes the then callback, calls fetch once", () =>
      Effect.gen(function*() {
        const h = yield* setup(cutUntil(1), initRetries(1))
        expect(textOf(yield* h.run(h.api.get("/someurl")))).toBe(fixture)
        expect(h.seen.length).toBe(1)
      }))

    it.scoped("when #init.retries=1: when second call is a success: invokes the then callback, calls fetch twice", () =>
      Effect.gen(function*() {
        const h = yield* setup(cutUntil(2), initRetries(1))
        expect(textOf(yield* h.run(h.api.get("/someurl")))).toBe(fixture)
        expect(h.seen.length).toBe(2)
      }))

    it.scoped("when #init.retries=1: when second call is a failure: invokes the catch callback, does not call fetch again", () =>
      Effect.gen(function*() {
        const h = yield* setup(cutUntil(3), initRetries(1))
        expect(isReset(failureOf(yield* h.run(h.api.get("/someurl"))))).toBe(true)
        expect(h.seen.length).toBe(2)
      }))

    it.scoped("when #init.retries=0: when first call is a success: invokes the then callback, calls fetch once", () =>
      Effect.gen(function*() {
        const h = yield* setup(cutUntil(1), initRetries(0))
        expect(textOf(yield* h.run(h.api.get("/someurl")))).toBe(fixture)
        expect(h.seen.length).toBe(1)
      }))

    it.scoped("when #init.retries=0: when first call is a failure: invokes the catch callback", () =>
      Effect.gen(function*() {
        const h = yield* setup(cutUntil(2), initRetries(0))
        expect(isReset(failureOf(yield* h.run(h.api.get("/someurl"))))).toBe(true)
        expect(h.seen.length).toBe(1)
      }))

    it("when #init.retries is not a a positive integer: throws error", () => {
      for (const invalid of ["1", 0, "not a number"]) {
        expect(problemsOf({ endpoints: { "GET /someurl": { retry: { maxAttempts: invalid as unknown as number } } } }))
          .toEqual([`endpoints["GET /someurl"].retry.maxAttempts`])
      }
    })
  })

  describe("#init.retryDelay", () => {
    it.scoped("when #init.retryDelay is a number: when first call is unsuccessful: invokes fetch again after specified time, not before", () =>
      Effect.gen(function*() {
        const h = yield* setup(cutUntil(2), { retry: { ...fetchRetryDefaults, delay: () => 5000 } })
        expect(textOf(yield* h.run(h.api.get("/someUrl")))).toBe(fixture)
        // the second request arrives 5000 ms after the first: not after 1000 ms
        expect(gaps(h)).toEqual([5000])
      }))

    it.scoped("when #init.retryDelay is 0: when first call is unsuccessful: invokes fetch again after one event loop tick", () =>
      Effect.gen(function*() {
        const h = yield* setup(cutUntil(2), { retry: { ...fetchRetryDefaults, delay: () => 0 } })
        expect(textOf(yield* h.run(h.api.get("/someUrl")))).toBe(fixture)
        expect(gaps(h)).toEqual([0])
      }))

    it("when #init.retryDelay is not a a positive integer: throws error", () => {
      for (const invalid of ["1", -1, "not a number", null]) {
        expect(problemsOf({ endpoints: { "GET /someurl": { retry: { delay: invalid as unknown as () => number } } } }))
          .toEqual([`endpoints["GET /someurl"].retry.delay`])
      }
    })

    it.scoped("when #init.retryDelay is a function: invokes the retryDelay function, then again", () =>
      Effect.gen(function*() {
        // fetch-retry's retryDelay(0, 'first error') then retryDelay(1, 'second error'); Sturdy's attempt is 1-based
        const asked: Array<[number, number | undefined]> = []
        const h = yield* setup(statuses(500, 502, 200), {
          retry: {
            ...fetchRetryDefaults,
            statuses: undefined,
            delay: (attempt, failure) => (asked.push([attempt, statusOf(failure)]), 5000)
          }
        })
        expect(textOf(yield* h.run(h.api.get("/someUrl")))).toBe(fixture)
        expect(asked).toEqual([[1, 500], [2, 502]])
        expect(gaps(h)).toEqual([5000, 5000])
      }))
  })

  describe("#init.retryOn", () => {
    it.scoped("when #init.retryOn is an array: when first fetch is resolved with status code specified in retryOn array: retries fetch, then resolves", () =>
      Effect.gen(function*() {
        const h = yield* setup(statuses(503, 200), { retry: { ...fetchRetryDefaults, statuses: [503, 404] } })
        expect(textOf(yield* h.run(h.api.get("/someUrl")))).toBe(fixture)
        expect(h.seen.length).toBe(2)
        expect(gaps(h)).toEqual([1000])
      }))

    /** records each call of `retryOn`: the attempt (1-based) and the failure's tag */
    const recording = (answer: () => boolean) => {
      const asked: Array<[number, string]> = []
      const retryOn = (
        failure: HttpFailure.HttpFailure,
        attempt: number
      ) => (asked.push([attempt, failure._tag]), answer())
      return { asked, retryOn }
    }

    it.scoped("when #init.retryOn is a function: network error, #retryOn() returns true: invokes #retryOn with an error, fetch again, then twice", () =>
      Effect.gen(function*() {
        const r = recording(() => true)
        const h = yield* setup(cutUntil(3), { retry: { ...fetchRetryDefaults, retryOn: r.retryOn } })
        expect(textOf(yield* h.run(h.api.get("/someUrl")))).toBe(fixture)
        expect(r.asked).toEqual([[1, "ConnectionError"], [2, "ConnectionError"]])
        expect(h.seen.length).toBe(3)
        expect(gaps(h)).toEqual([1000, 1000])
      }))

    it.scoped("when #init.retryOn is a function: network error, #retryOn() returns false: invokes the catch callback, does not call fetch again", () =>
      Effect.gen(function*() {
        const r = recording(() => false)
        const h = yield* setup(cutUntil(3), { retry: { ...fetchRetryDefaults, retryOn: r.retryOn } })
        expect(isReset(failureOf(yield* h.run(h.api.get("/someUrl"))))).toBe(true)
        expect(r.asked).toEqual([[1, "ConnectionError"]])
        expect(h.seen.length).toBe(1)
      }))

    it.scoped("when #init.retryOn is a function: first attempt resolved, #retryOn() returns true: calls fetch again", () =>
      Effect.gen(function*() {
        // fetch-retry asks retryOn about a 200 and retries it; Sturdy's retryOn decides about failures only: a 2xx is
        // the answer, never retried
        const r = recording(() => true)
        const h = yield* setup(statuses(200, 200), { retry: { ...fetchRetryDefaults, retryOn: r.retryOn } })
        expect(textOf(yield* h.run(h.api.get("/someUrl")))).toBe(fixture)
        expect(r.asked).toEqual([])
        expect(h.seen.length).toBe(1)
      }))

    it.scoped("when #init.retryOn is a function: first attempt resolved, #retryOn() returns false: invokes the then callback, calls fetch 1 time only", () =>
      Effect.gen(function*() {
        // a 502 is a typed failure in Sturdy (fetch-retry resolves with the response); retryOn refuses it: one request
        const r = recording(() => false)
        const h = yield* setup(statuses(502, 200), { retry: { ...fetchRetryDefaults, retryOn: r.retryOn } })
        expect(statusOf(failureOf(yield* h.run(h.api.get("/someUrl"))))).toBe(502)
        expect(r.asked).toEqual([[1, "ServerError"]])
        expect(h.seen.length).toBe(1)
        // through `Policy.withPolicy`, the response itself comes back, as fetch-retry's `then` gets it
        const raw = yield* setup(statuses(502, 200), { retry: { ...fetchRetryDefaults, retryOn: () => false } })
        const response = yield* raw.run(
          Policy.withPolicy(raw.platform, raw.policy).execute(HttpClientRequest.get(`${raw.url}/someUrl`))
        )
        expect(Exit.isSuccess(response) && response.value.status).toBe(502)
        expect(raw.seen.length).toBe(1)
      }))

    const throwing = () => {
      const s = {
        calls: 0,
        retryOn: (): boolean => {
          s.calls++
          throw new Error("retryOn failed")
        }
      }
      return s
    }

    it.scoped("when #retryOn() throws an error: when rejected: retryOn called only once, invokes the catch callback, called fetch", () =>
      Effect.gen(function*() {
        // the call ends with the thrown error, as a defect (fetch-retry rejects with it)
        const s = throwing()
        const h = yield* setup(cutUntil(3), { retry: { ...fetchRetryDefaults, retryOn: s.retryOn } })
        const exit = yield* h.run(h.api.get("/someUrl"))
        expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
        expect(s.calls).toBe(1)
        expect(h.seen.length).toBe(1)
      }))

    it.scoped("when #retryOn() throws an error: when resolved: retryOn called only once, invokes the catch callback, called fetch", () =>
      Effect.gen(function*() {
        // a 200 never reaches retryOn in Sturdy (fetch-retry asks it, and rejects with what it throws): a success
        const s = throwing()
        const h = yield* setup(statuses(200), { retry: { ...fetchRetryDefaults, retryOn: s.retryOn } })
        expect(textOf(yield* h.run(h.api.get("/someUrl")))).toBe(fixture)
        expect(s.calls).toBe(0)
        expect(h.seen.length).toBe(1)
      }))

    it("when #init.retryOn is not an array or function: throws exception", () => {
      // an array of statuses in `retryOn` (fetch-retry's spelling) is refused too: `retry.statuses` holds them
      expect(problemsOf({ retry: { retryOn: 503 as unknown as Policy.RetryOn } })).toEqual(["retry.retryOn"])
      expect(problemsOf({ retry: { retryOn: [503] as unknown as Policy.RetryOn } })).toEqual(["retry.retryOn"])
    })
  })
})

/** fetch-retry's usage patterns: a URL string, a `URL`, a `Request` */
const patterns: ReadonlyArray<
  [string, (h: Harness) => Effect.Effect<Attempt.Received, Policy.Failure>]
> = [
  ["with url string", (h) => h.api.get("/mock")],
  ["with URL type", (h) => h.api.get(new URL("/mock", h.url).toString())],
  ["with Request argument", (h) => h.api.execute(HttpClientRequest.get(`${h.url}/mock`))]
]

/** fetch-retry's `retries: 3, retryDelay: 100` */
const integration = (retryOn: ReadonlyArray<number>) =>
  ({ retry: { maxAttempts: 4, delay: () => 100, statuses: retryOn } }) as const

for (const [pattern, call] of patterns) {
  describe(`fetch-retry test/integration/index.js ${pattern}`, () => {
    it.scoped("when endpoint returns 200: does not retry request", () =>
      Effect.gen(function*() {
        const h = yield* setup(statuses(200), { retry: fetchRetryDefaults })
        expect(textOf(yield* h.run(call(h)))).toBe(fixture)
        expect(h.seen.length).toBe(1)
      }))

    it.scoped("when endpoint returns 503: does not retry request", () =>
      Effect.gen(function*() {
        // with fetch-retry's defaults (no status retried): one request
        const h = yield* setup(statuses(503, 200), { retry: fetchRetryDefaults })
        expect(statusOf(failureOf(yield* h.run(call(h))))).toBe(503)
        expect(h.seen.length).toBe(1)
        // Sturdy's own defaults retry a 503 (a transient status): the second attempt succeeds
        const d = yield* setup(statuses(503, 200), { retry: {} })
        expect(textOf(yield* d.run(call(d)))).toBe(fixture)
        expect(d.seen.length).toBe(2)
      }))

    it.scoped("when endpoint returns 404: does not retry request", () =>
      Effect.gen(function*() {
        const h = yield* setup(statuses(404, 200), { retry: fetchRetryDefaults })
        expect(statusOf(failureOf(yield* h.run(call(h))))).toBe(404)
        expect(h.seen.length).toBe(1)
        // nor do Sturdy's defaults: a 404 is an answer
        const d = yield* setup(statuses(404, 200), { retry: {} })
        expect(statusOf(failureOf(yield* d.run(call(d))))).toBe(404)
        expect(d.seen.length).toBe(1)
      }))

    it.scoped("when configured to retry on a specific HTTP code: and it never succeeds: retries the request #retries times", () =>
      Effect.gen(function*() {
        const h = yield* setup(statuses(503, 503, 503, 503), integration([503]))
        const failure = failureOf(yield* h.run(call(h)))
        expect(statusOf(failure)).toBe(503)
        expect(Policy.attemptsOf(failure)).toBe(4)
        expect(h.seen.length).toBe(4)
      }))

    it.scoped("when configured to retry on a specific HTTP code: and it never succeeds: eventually resolves the promise with the response of the last request", () =>
      Effect.gen(function*() {
        // `Policy.withPolicy` returns the last response when retries end, as fetch-retry resolves with it
        const h = yield* setup(statuses(503, 503, 503, 503), integration([503]))
        const exit = yield* h.run(
          Policy.withPolicy(h.platform, h.policy).execute(HttpClientRequest.get(`${h.url}/mock`))
        )
        expect(Exit.isSuccess(exit) && [exit.value.status, exit.value.status >= 200 && exit.value.status < 300])
          .toEqual([503, false])
        expect(h.seen.length).toBe(4)
      }))

    it.scoped("when configured to retry on a specific HTTP code: and it eventually succeeds: retries the request up to #retries times", () =>
      Effect.gen(function*() {
        const h = yield* setup(statuses(503, 503, 200), integration([503]))
        yield* h.run(call(h))
        expect(h.seen.length).toBe(3)
      }))

    it.scoped("when configured to retry on a specific HTTP code: and it eventually succeeds: eventually resolves the promise with the received response of the last request", () =>
      Effect.gen(function*() {
        const h = yield* setup(statuses(503, 503, 200), integration([503]))
        const exit = yield* h.run(call(h))
        expect(Exit.isSuccess(exit) && exit.value.status).toBe(200)
        expect(textOf(exit)).toBe(fixture)
      }))

    it.scoped("when configured to retry on a set of HTTP codes: and it never succeeds: retries the request #retries times", () =>
      Effect.gen(function*() {
        const h = yield* setup(statuses(503, 404, 404, 503), integration([503, 404]))
        const failure = failureOf(yield* h.run(call(h)))
        expect(statusOf(failure)).toBe(503)
        expect(h.seen.length).toBe(4)
      }))
  })
}
