/**
 * octokit/plugin-retry.js `test/retry.test.ts` (commit d6e06bd8c68b34abcf1e4d24b647f74027788352), ported to Sturdy's
 * public API: `SturdyClient` over `@sturdy/node`'s undici transport against a real node:http server on 127.0.0.1
 * (`test/utils/retryHarness.ts`), every wait on the TestClock. One `it` per peer case, named after it.
 *
 * Mapping: `retry: { enabled: false }` is `retry: false`; `retries: n` is `retry.maxAttempts: n + 1`; `doNotRetry` (the
 * statuses never retried: 400, 401, 403, 404, 410, 422, 451; every other status from 400 is) is `retry.retryOn`;
 * the plugin's wait, (retry number)² × `retryAfterBaseValue` (1 s; the tests shrink it to 25 or 50 ms), is
 * `retry.delay: (attempt) => attempt² seconds`; a per-request `request.retryAfter` is a fixed `retry.delay`. A
 * per-request `request.retries` makes the plugin retry whatever the status (its `doNotRetry` check is skipped: the
 * caller asked), which is `retry.retryOn: () => true`; each test builds the policy its request asked for.
 *
 * Deliberate differences: Sturdy's default backoff is exponential from 2 s with full jitter (the plugin's is 1, 4,
 * 9 s); its default rules retry no 4xx but 408, 429 (and 413 with a wait), where the plugin retries every 4xx outside
 * `doNotRetry` (a 409 or a 418, say); the plugin's `retryCount` after four failed requests is 4, and so is Sturdy's
 * `attempts` (`Policy.attemptsOf`), the attempts made.
 *
 * The plugin does not read `Retry-After` (its wait is its own schedule; octokit/plugin-throttling reads it: see
 * `test/peer-octokit-throttling.test.ts`), so no case here is about the server's wait.
 *
 * Not ported: the GraphQL cases ('Should retry "Something went wrong" GraphQL error', 'Should not retry non-"Something
 * went wrong" GraphQL errors': the plugin turns a 200 whose body holds that message into a 500; Sturdy classifies by
 * status), and `describe("errorRequest")` (unit tests of the plugin's internal hook function).
 */
import { describe, expect, it } from "@effect/vitest"
import { type HttpFailure, Policy } from "@sturdy/http"
import { Duration, Effect } from "effect"
import type * as Http from "node:http"
import { failureOf, gaps, type Handler, send, setup, statusOf, textOf } from "./utils/retryHarness.js"

const json = { "content-type": "application/json" }

/** the plugin's mocked `responses`: request n gets answer n (the last one again after that) */
const responses = (
  ...answers: ReadonlyArray<{ status: number; headers?: Http.OutgoingHttpHeaders; message?: string }>
): Handler =>
(_, response, n) => {
  const answer = answers[Math.min(n, answers.length) - 1]!
  send(
    response,
    answer.status,
    { ...json, ...answer.headers },
    answer.message === undefined ? "{}" : JSON.stringify({ message: answer.message })
  )
}

const messageOf = (failure: unknown) => JSON.parse((failure as HttpFailure.ClientError).bodyExcerpt).message

/** the plugin with a per-request `retries: n` (any status retried) and `retryAfter` (seconds) */
const requested = (retries: number, retryAfterSeconds = 0): Policy.Options => ({
  retry: { maxAttempts: retries + 1, retryOn: () => true, delay: () => retryAfterSeconds * 1000 }
})

// the plugin's default: every status from 400 but these
const doNotRetry = [400, 401, 403, 404, 410, 422, 451]
const outside = (list: ReadonlyArray<number>) => (failure: HttpFailure.HttpFailure) => {
  const status = statusOf(failure)
  return status === undefined ? Policy.isRetryableByDefault(failure) : status >= 400 && !list.includes(status)
}

describe("octokit/plugin-retry test/retry.test.ts", () => {
  it.scoped("Should be possible to disable the plugin", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        responses({ status: 403, message: "Did not retry" }, { status: 200, message: "Success!" }),
        { retry: false }
      )
      const failure = failureOf(yield* h.run(h.api.get("/route")))
      expect(failure).toMatchObject({ _tag: "ClientError", status: 403 })
      expect(messageOf(failure)).toBe("Did not retry")
      expect(h.seen.map((s) => `${s.method} ${s.path}`)).toEqual(["GET /route"])
    }))

  it.scoped("Should retry once and pass", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        responses({ status: 403, message: "Did not retry" }, { status: 200, message: "Success!" }),
        requested(1)
      )
      expect(JSON.parse(textOf(yield* h.run(h.api.get("/route"))))).toEqual({ message: "Success!" })
      expect(h.seen.length).toBe(2)
      expect(gaps(h)).toEqual([0])
    }))

  it.scoped("Should retry twice and fail", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        responses({ status: 403, message: "ONE" }, { status: 403, message: "TWO" }, { status: 401, message: "THREE" }),
        requested(2)
      )
      const failure = failureOf(yield* h.run(h.api.get("/route")))
      expect(failure).toMatchObject({ _tag: "ClientError", status: 401 })
      expect(messageOf(failure)).toBe("THREE")
      expect(h.seen.length).toBe(3)
      expect(gaps(h)).toEqual([0, 0])
    }))

  it.scoped("Should retry after 2000ms", () =>
    Effect.gen(function*() {
      const h = yield* setup(responses({ status: 403 }, { status: 202, message: "Yay!" }), requested(1, 2))
      const received = yield* h.run(h.api.get("/route"))
      expect(JSON.parse(textOf(received))).toEqual({ message: "Yay!" })
      expect(h.seen.length).toBe(2)
      expect(gaps(h)).toEqual([2000])
    }))

  it.scoped("Should allow end users to see the number of retries after a failure", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        responses(
          { status: 403, message: "Failed, one" },
          { status: 403, message: "Failed, two" },
          { status: 403, message: "Failed, three" },
          { status: 403, message: "Failed, four" }
        ),
        requested(3)
      )
      const failure = failureOf(yield* h.run(h.api.get("/route")))
      expect(messageOf(failure)).toBe("Failed, four")
      expect(Policy.attemptsOf(failure)).toBe(4)
      expect(gaps(h)).toEqual([0, 0, 0])
    }))

  it.scoped("Should allow end users to request retries", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        responses({ status: 403, message: "Did not retry" }, { status: 202, message: "Yay!" }),
        requested(1, 1)
      )
      expect(JSON.parse(textOf(yield* h.run(h.api.get("/route"))))).toEqual({ message: "Yay!" })
      expect(h.seen.length).toBe(2)
      expect(gaps(h)).toEqual([1000])
    }))

  it.scoped("Should trigger exponential retries on HTTP 500 errors", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        responses(
          { status: 500, message: "Did not retry, one" },
          { status: 500, message: "Did not retry, two" },
          { status: 500, message: "Did not retry, three" },
          { status: 200, message: "Success!" }
        ),
        // the plugin's defaults: 3 retries, (retry number)² seconds apart
        { totalTimeout: "1 minute", retry: { maxAttempts: 4, delay: (attempt) => attempt ** 2 * 1000 } }
      )
      expect(JSON.parse(textOf(yield* h.run(h.api.get("/route"))))).toEqual({ message: "Success!" })
      expect(h.seen.length).toBe(4)
      expect(gaps(h)).toEqual([1000, 4000, 9000])
      expect(h.decisions.map((d) => [d.attempt, Duration.toMillis(d.delay)])).toEqual([[2, 1000], [3, 4000], [
        4,
        9000
      ]])
    }))

  // Sturdy's default rules (no doNotRetry list needed): none of these is retried, with or without the plugin's list.
  it.scoped("Should not retry 3xx/400/401/403/410/422/451 errors", () =>
    Effect.gen(function*() {
      const testStatuses = [304, 400, 401, 403, 404, 410, 422, 451]
      for (const options of [{}, { retry: { retryOn: outside(doNotRetry) } }] satisfies Array<Policy.Options>) {
        for (const status of testStatuses) {
          const h = yield* setup(responses({ status, message: `Error ${status}` }, { status: 500 }), options)
          const failure = failureOf(yield* h.run(h.api.get("/route")))
          expect(statusOf(failure)).toBe(status)
          expect(h.seen.length).toBe(1)
        }
      }
    }))

  it.scoped("Should allow to override the doNotRetry list", () =>
    Effect.gen(function*() {
      const testStatuses = [304, 400, 401, 403, 404, 422, 451]
      for (const status of testStatuses) {
        const h = yield* setup(
          responses({ status, message: `Error ${status}` }, { status: 500, message: "Error 500" }),
          { retry: { maxAttempts: 2, delay: () => 50, retryOn: outside([400]) } }
        )
        const failure = failureOf(yield* h.run(h.api.get("/route")))
        if (status === 400 || status < 400) {
          expect(statusOf(failure)).toBe(status)
          expect(h.seen.length).toBe(1)
        } else {
          expect(statusOf(failure)).toBe(500)
          expect(messageOf(failure)).toBe("Error 500")
          expect(h.seen.length).toBe(2)
        }
      }
    }))

  it.scoped("Should not throw for empty responses", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response) => send(response, 200), requested(1))
      expect(textOf(yield* h.run(h.api.get("/test")))).toBe("")
      expect(h.seen.length).toBe(1)
    }))
})
