/**
 * unjs/ofetch's retry and timeout cases of `test/index.test.ts` (commit dfbe3ca4ef8a22fc023fca5a5ef530e525f5e523),
 * ported to Sturdy's public API: `SturdyClient` over `@sturdy/node`'s undici transport against a real node:http server
 * on 127.0.0.1 (`test/utils/retryHarness.ts`) in place of its h3 app, every wait on the TestClock. One `it` per ofetch
 * case, named after it. A second `describe` checks ofetch's retry defaults as its `src/fetch.ts` states them
 * (`retryStatusCodes`, one retry, none for payload methods, a timeout retried): those are ofetch's source, not its
 * test cases, and are named as such.
 *
 * Mapping: `retry: n` is `retry.maxAttempts: n + 1` (`retry: false` is `retry: false`); `retryDelay` (a number or a
 * function) is `retry.delay`; `retryStatusCodes` is `retry.statuses`; `timeout` (a fresh `AbortSignal.timeout` for
 * each attempt) is `attemptTimeout`; `baseURL` is the client's `baseUrl`; an `AbortSignal` is fiber interruption; the
 * `FetchError`'s `request` is the failure's `url`. ofetch's "race two calls" cases compare the calls' waits on the
 * TestClock instead of a real race.
 *
 * Deliberate differences (each test says which): ofetch retries once by default (none for POST, PUT, PATCH and
 * DELETE, its payload methods); Sturdy makes 3 attempts, and repeats PUT and DELETE (idempotent) but not POST and
 * PATCH. ofetch's default statuses are 408, 409, 425, 429, 500, 502, 503, 504; Sturdy's are 408, 429, 5xx but 501,
 * 505 and 511 (and 413 with a wait): not 409 (a conflict comes back the same) nor 425; `retry.statuses` gives
 * ofetch's list exactly. ofetch's default retry has no delay; Sturdy's backoff starts at 2 s.
 *
 * Not ported: every other case of the file (response parsing, bodies, query, headers, hooks, `$fetch.create`
 * defaults): not retry behaviour.
 */
import { describe, expect, it } from "@effect/vitest"
import { Policy, SturdyClient } from "@sturdy/http"
import { Duration, Effect, Exit, Fiber, TestClock } from "effect"
import { failureOf, gaps, type Handler, send, setup, textOf } from "./utils/retryHarness.js"

/** ofetch's /408 */
const status408: Handler = (_, response) => send(response, 408)
/** ofetch's /timeout: answers 408 after 5 s */
const slow: Handler = (_, response, __, tools) => tools.later(5000, () => send(response, 408))

describe("ofetch test/index.test.ts", () => {
  it.scoped("baseURL with retry", () =>
    Effect.gen(function*() {
      // a 404 is not retried, and the failure names the URL built from the base
      const h = yield* setup((_, response) => send(response, 404), { retry: { maxAttempts: 4 } })
      const api = SturdyClient.makeWith(h.platform, { baseUrl: `${h.url}/404`, policy: h.policy })
      const failure = failureOf(yield* h.run(api.get("")))
      expect(failure).toMatchObject({ _tag: "ClientError", status: 404, url: `${h.url}/404` })
      expect(h.seen.map((s) => s.path)).toEqual(["/404"])
    }))

  it.scoped("retry with number delay", () =>
    Effect.gen(function*() {
      // retry 2 with a 100 ms delay against one with 1 ms: the second is done first (after 2 ms, not 200 ms)
      const slowCall = yield* setup(status408, { retry: { maxAttempts: 3, delay: () => 100 } })
      const fastCall = yield* setup(status408, { retry: { maxAttempts: 3, delay: () => 1 } })
      expect(failureOf(yield* slowCall.run(slowCall.api.get("/408")))).toMatchObject({ status: 408 })
      expect(failureOf(yield* fastCall.run(fastCall.api.get("/408")))).toMatchObject({ status: 408 })
      expect(gaps(slowCall)).toEqual([100, 100])
      expect(gaps(fastCall)).toEqual([1, 1])
    }))

  it.scoped("retry with callback delay", () =>
    Effect.gen(function*() {
      const asked: Array<number> = []
      const slowCall = yield* setup(status408, { retry: { maxAttempts: 3, delay: () => "100 millis" } })
      const fastCall = yield* setup(status408, {
        retry: {
          maxAttempts: 3,
          delay: (attempt, failure) => {
            asked.push(attempt)
            expect(failure).toMatchObject({ _tag: "ClientError", status: 408 })
            return Duration.millis(1)
          }
        }
      })
      expect(failureOf(yield* slowCall.run(slowCall.api.get("/408")))).toMatchObject({ status: 408 })
      expect(failureOf(yield* fastCall.run(fastCall.api.get("/408")))).toMatchObject({ status: 408 })
      expect(gaps(slowCall)).toEqual([100, 100])
      expect(gaps(fastCall)).toEqual([1, 1])
      expect(asked).toEqual([1, 2])
    }))

  it.scoped("abort with retry", () =>
    Effect.gen(function*() {
      // aborted before it starts: the call ends interrupted, nothing is sent, nothing retried
      const h = yield* setup((_, response) => send(response, 200, {}, "ok"), { retry: { maxAttempts: 4 } })
      const fiber = yield* Effect.fork(Effect.provideService(h.api.get("/ok"), Policy.Policy, h.policy))
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      yield* TestClock.adjust("1 minute")
      expect(h.seen.length).toBe(0)
      expect(h.decisions).toEqual([])
    }))

  it.scoped("aborting on timeout", () =>
    Effect.gen(function*() {
      // timeout 100 ms, retry 0, against a server that answers after 5 s: the call ends at 100 ms
      const h = yield* setup(slow, { attemptTimeout: "100 millis", retry: { maxAttempts: 1 } })
      const start = yield* TestClock.currentTimeMillis
      const failure = failureOf(yield* h.run(h.api.get("/timeout")))
      expect(failure).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect((yield* TestClock.currentTimeMillis) - start).toBe(100)
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("aborting on timeout reason", () =>
    Effect.gen(function*() {
      // the failure says why: an attempt timeout, of 100 ms
      const h = yield* setup(slow, { attemptTimeout: "100 millis", retry: { maxAttempts: 1 } })
      const failure = failureOf(yield* h.run(h.api.get("/timeout")))
      expect(failure._tag).toBe("Timeout")
      if (failure._tag !== "Timeout") return
      expect(failure.phase).toBe("Attempt")
      expect(Duration.toMillis(failure.timeout)).toBe(100)
      expect(failure.message).toMatch(/100ms|100 millis/)
    }))
})

describe("ofetch src/fetch.ts retry defaults (its source, not its test cases)", () => {
  const ofetchStatuses = [408, 409, 425, 429, 500, 502, 503, 504]
  const untilOk = (status: number): Handler => (_, response, n) =>
    n >= 2 ? send(response, 200, {}, "ok") : send(response, status)
  const noWait = { baseDelay: 0, maxDelay: 0 } as const

  it.scoped("retryStatusCodes: 408, 409, 425, 429, 500, 502, 503, 504", () =>
    Effect.gen(function*() {
      // with ofetch's list as `retry.statuses`, each is retried once, and a status outside it is not
      for (const status of ofetchStatuses) {
        const h = yield* setup(untilOk(status), { retry: { ...noWait, maxAttempts: 2, statuses: ofetchStatuses } })
        expect(textOf(yield* h.run(h.api.get("/")))).toBe("ok")
        expect(h.seen.length).toBe(2)
      }
      for (const status of [400, 404, 501, 505]) {
        const h = yield* setup(untilOk(status), { retry: { ...noWait, maxAttempts: 2, statuses: ofetchStatuses } })
        expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ status })
        expect(h.seen.length).toBe(1)
      }
      // Sturdy's own default rules: 408, 429 and the 5xx listed retry; 409 and 425 do not
      const retried: Array<number> = []
      for (const status of ofetchStatuses) {
        const h = yield* setup(untilOk(status), { retry: { ...noWait, maxAttempts: 2 } })
        if (Exit.isSuccess(yield* h.run(h.api.get("/")))) retried.push(status)
      }
      expect(retried).toEqual([408, 429, 500, 502, 503, 504])
    }))

  it.scoped("no retry for payload methods by default (POST, PUT, PATCH, DELETE)", () =>
    Effect.gen(function*() {
      // ofetch gives payload methods no retry; Sturdy repeats PUT and DELETE (idempotent), not POST nor PATCH
      const repeated: Array<string> = []
      for (const method of ["POST", "PUT", "PATCH", "DELETE"] as const) {
        const h = yield* setup(untilOk(503), { retry: { ...noWait, maxAttempts: 2 } })
        const call = method === "POST"
          ? h.api.post("/")
          : method === "PUT"
          ? h.api.put("/")
          : method === "PATCH"
          ? h.api.patch("/")
          : h.api.del("/")
        if (Exit.isSuccess(yield* h.run(call))) repeated.push(method)
        expect(h.seen.every((s) => s.method === method)).toBe(true)
      }
      expect(repeated).toEqual(["PUT", "DELETE"])
    }))

  it.scoped("a timeout is retried (retry: 1 by default for GET)", () =>
    Effect.gen(function*() {
      // each attempt has its own 100 ms; the first runs out, the second is answered in time
      const h = yield* setup(
        (_, response, n, tools) =>
          n >= 2 ? send(response, 200, {}, "ok") : tools.later(5000, () => send(response, 408)),
        { attemptTimeout: "100 millis", retry: { ...noWait, maxAttempts: 2 } }
      )
      expect(textOf(yield* h.run(h.api.get("/timeout")))).toBe("ok")
      expect(h.decisions.map((d) => d.failure)).toMatchObject([{ _tag: "Timeout", phase: "Attempt" }])
      expect(gaps(h)).toEqual([100])
    }))
})
