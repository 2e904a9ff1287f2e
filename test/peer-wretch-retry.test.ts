/**
 * elbywan/wretch's retry middleware cases, `test/node/middlewares/retry.spec.ts` (commit
 * 32d5f68badf7e8f103b734febe680968c6e0f97f), ported to Sturdy's public API: `SturdyClient` over `@sturdy/node`'s undici
 * transport against a real node:http server on 127.0.0.1 (`test/utils/retryHarness.ts`) in place of wretch's
 * `fetchPolyfill` mock, every wait on the TestClock. One `it` per wretch case, named after it. wretch's mock answers
 * `ok: false` (no status: a failure its default `until` retries) until its `max`-th call; here the server answers 500
 * until then.
 *
 * Mapping: `maxAttempts: n` (retries, default 10) is `retry.maxAttempts: n + 1` (11 attempts: allowed because the
 * default `totalTimeout` bounds the call); `delayTimer` with the default `delayRamp` (`delay * nbOfAttempts`) is
 * `retry.delay: (attempt) => delayTimer * attempt`; `until` (done when true) is `retry.retryOn` (retry when true);
 * `onRetry` is a `RetryDecision` event (the call's own `onEvent`); `retryOnNetworkError: false` is
 * `retryOn: { ConnectionError: false }`; `skip` (per request) is an endpoint override `retry: false`; "Number of
 * attempts exceeded." is the last attempt's typed failure.
 *
 * Deliberate differences (each test says which): wretch retries nothing on a network error unless
 * `retryOnNetworkError`; Sturdy retries a reset GET by default. wretch's `until` may turn a failed response into a
 * success (it sets `ok`); Sturdy's `retryOn` only decides whether to retry, so the call ends with the last failure
 * (a Fallback would answer it). wretch's `onRetry` may change the URL and options of the next attempt; Sturdy sends
 * the same request on every attempt (SturdyClient's module doc). With `resolveWithLatestResponse`, wretch's call
 * rejects with the latest response attached; Sturdy's failure always carries the latest response's status and body.
 *
 * Not ported: none of the file's cases is left out. wretch's dedupe and throttlingCache middlewares have no Sturdy
 * counterpart (Sturdy has no request coalescing nor response cache; `StaleCache` is a fallback store, not a
 * throttling cache) and are not ported.
 */
import { describe, expect, it } from "@effect/vitest"
import type { Policy } from "@sturdy/http"
import { Duration, Effect, Exit } from "effect"
import { delays, failureOf, gaps, type Handler, send, setup, textOf } from "./utils/retryHarness.js"

/** wretch's `mock(max)`: fails (500) until the `max`-th call, which succeeds; the body says which call it was */
const mock = (max = Infinity): Handler => (_, response, n) =>
  n >= max ? send(response, 200, {}, `ok ${n}`) : send(response, 500, {}, `counter ${n}`)

/** wretch's `base()`: the default retry middleware with `delayTimer: 1` */
const base = (extra: Policy.RetryOptions = {}): Policy.Options => ({
  retry: { maxAttempts: 11, delay: (attempt) => 1 * attempt, ...extra }
})

describe("wretch test/node/middlewares/retry.spec.ts", () => {
  it.scoped("should retry requests", () =>
    Effect.gen(function*() {
      const h = yield* setup(mock(), base())
      expect(failureOf(yield* h.run(h.api.get("/retry")))).toMatchObject({ _tag: "ServerError", status: 500 })
      expect(h.seen.length).toBe(11)
      // the default delayRamp: delayTimer * attempts
      expect(gaps(h)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])

      const five = yield* setup(mock(5), base())
      expect(textOf(yield* five.run(five.api.get("/retry")))).toBe("ok 5")
      expect(five.seen.length).toBe(5)
    }))

  it.scoped("should retry up to 'maxAttempts'", () =>
    Effect.gen(function*() {
      // wretch's maxAttempts: 3 (retries) is 4 attempts
      const h = yield* setup(mock(), base({ maxAttempts: 3 + 1 }))
      expect(failureOf(yield* h.run(h.api.get("/retry")))).toMatchObject({ status: 500 })
      expect(h.seen.length).toBe(4)
    }))

  it.scoped("should be possible to specify a retry condition using 'until'", () =>
    Effect.gen(function*() {
      // wretch: done once its mock's counter reads 4, i.e. at the 3rd response. Sturdy: retryOn stops retrying there;
      // wretch marks that response ok, Sturdy's call ends with it as the failure (a deliberate difference)
      const asked: Array<number> = []
      const h = yield* setup(
        mock(),
        base({
          retryOn: (failure, attempt) => {
            asked.push(attempt)
            return !(failure._tag === "ServerError" && failure.bodyExcerpt === "counter 3")
          }
        })
      )
      const failure = failureOf(yield* h.run(h.api.get("/retry")))
      expect(failure).toMatchObject({ status: 500, bodyExcerpt: "counter 3" })
      expect(h.seen.length).toBe(3)
      expect(asked).toEqual([1, 2, 3])
    }))

  it.scoped("should execute 'onRetry'", () =>
    Effect.gen(function*() {
      const retries: Array<Policy.RetryDecision> = []
      const h = yield* setup(mock(), base())
      const onEvent = (event: Policy.Event) =>
        Effect.sync(() => {
          if (event._tag === "RetryDecision" && event.retrying) retries.push(event)
        })
      const exit = yield* h.run(h.api.get("/retry", { headers: { a: "1" }, onEvent }))
      expect(failureOf(exit)).toMatchObject({ status: 500 })
      expect(retries.length).toBe(10)
      // the url and options of the call, and no error (wretch's `error` is a network error; here a status failure)
      for (const retry of retries) {
        expect(retry.failure).toMatchObject({ _tag: "ServerError", status: 500, url: `${h.url}/retry` })
      }
      expect(h.seen.every((s) => s.headers.a === "1" && s.path === "/retry")).toBe(true)
      expect(h.seen.length).toBe(11)
    }))

  it.scoped("should allow 'onRetry' to modify url and options", () =>
    Effect.gen(function*() {
      // deliberate difference: wretch's onRetry may rewrite the next attempt's url and method; Sturdy sends the same
      // request on every attempt (a hook observes, it does not rewrite)
      let counter = 0
      const h = yield* setup(mock(), base())
      const onEvent = (event: Policy.Event) =>
        Effect.sync(() => {
          if (event._tag === "RetryDecision" && event.retrying) counter++
        })
      expect(failureOf(yield* h.run(h.api.get("/0", { onEvent })))).toMatchObject({ status: 500 })
      expect(counter).toBe(10)
      expect(h.seen.map((s) => `${s.method} ${s.path}`)).toEqual(Array.from({ length: 11 }, () => "GET /0"))
    }))

  it.scoped("should retry on network error", () =>
    Effect.gen(function*() {
      // the server drops every connection: a reset
      const reset: Handler = (_, response) => response.socket?.destroy()
      let counter = 0
      const wThrow = yield* setup(reset, base({ retryOn: { ConnectionError: false } }))
      const wRetry = yield* setup(reset, base())
      const onEvent = (event: Policy.Event) =>
        Effect.sync(() => {
          if (event._tag !== "RetryDecision" || !event.retrying) return
          expect(event.failure).toMatchObject({ _tag: "ConnectionError", reason: "Reset" })
          counter++
        })
      expect(failureOf(yield* wThrow.run(wThrow.api.get("/retry", { onEvent })))).toMatchObject({
        _tag: "ConnectionError",
        reason: "Reset"
      })
      expect(counter).toBe(0)
      expect(wThrow.seen.length).toBe(1)
      expect(failureOf(yield* wRetry.run(wRetry.api.get("/retry", { onEvent })))).toMatchObject({
        _tag: "ConnectionError",
        reason: "Reset"
      })
      expect(counter).toBe(10)
      expect(wRetry.seen.length).toBe(11)
    }))

  it.scoped("should pass the latest response instead of throwing an error if resolveWithLatestResponse is true", () =>
    Effect.gen(function*() {
      // wretch's mock counter reads 12 on the 11th response; the failure is the latest (11th) response
      const h = yield* setup(mock(), base())
      const failure = failureOf(yield* h.run(h.api.get("/retry")))
      expect(failure).toMatchObject({ _tag: "ServerError", status: 500, bodyExcerpt: "counter 11" })
    }))

  it.scoped("should skip flagged requests", () =>
    Effect.gen(function*() {
      const h = yield* setup(mock(), { ...base(), endpoints: { "/skip-retry": { retry: false } } })
      expect(failureOf(yield* h.run(h.api.get("/retry")))).toMatchObject({ status: 500 })
      expect(h.seen.length).toBe(11)
      expect(failureOf(yield* h.run(h.api.get("/skip-retry")))).toMatchObject({ status: 500 })
      expect(h.seen.length).toBe(12)
      expect(delays(h).length).toBe(10)
    }))

  it.scoped("should not retry on 4xx errors by default", () =>
    Effect.gen(function*() {
      const w = yield* setup((_, response) => send(response, 400), { retry: { maxAttempts: 11, delay: () => 1 } })
      expect(failureOf(yield* w.run(w.api.get("/retry")))).toMatchObject({ _tag: "ClientError", status: 400 })
      expect(w.seen.length).toBe(1)

      const w2 = yield* setup((_, response) => send(response, 500), { retry: { maxAttempts: 11, delay: () => 1 } })
      const exit = yield* w2.run(w2.api.get("/retry"))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(failureOf(exit)).toMatchObject({ _tag: "ServerError", status: 500 })
      expect(w2.seen.length).toBe(11)
      expect(w2.decisions.filter((d) => d.retrying).every((d) => Duration.toMillis(d.delay) === 1)).toBe(true)
    }))
})
