/**
 * dio_smart_retry's `test/` (rodion-m/dio_smart_retry, commit 01d7d2f6d548fda48e51aafe814e1f9e295008d7; defaults read
 * from `lib/src/retry_interceptor.dart`, `default_retry_evaluator.dart` and `http_status_codes.dart`, same commit):
 * `disable_retry_test.dart`, `multipart_retry_tests.dart`, `override_retryable_statuses_test.dart` and
 * `test_issue_2.dart`, ported to Sturdy's public API: `SturdyClient` through a `Policy` over `@sturdy/node`'s undici
 * transport against a real node:http server on 127.0.0.1 (`test/utils/retryHarness.ts`, which stands for the public
 * mock servers `mock.codes` and `rodion-m.ru/mock` the Dart suite calls), every wait on the TestClock. One `it` per
 * Dart `test`, named after it.
 *
 * Mapping: `RetryInterceptor(retries: n)` is `retry.maxAttempts: n + 1`; `retryDelays: [d1, d2, ...]` is
 * `retry.delay: (attempt) => delays[attempt - 1]`, the last delay repeating past the list's end and an empty list
 * waiting nothing (`dioDelays` below); `retryEvaluator(error, attempt)` is `retry.retryOn(failure, attempt)` (both
 * count from 1 for the first failure); `DefaultRetryEvaluator(statuses)` is `retry.statuses`, its `currentAttempt` the
 * last attempt retried (the `RetryDecision` events); `disableRetry` on a request (`RequestOptions` or `Options`) is an
 * `endpoints` entry with `retry: false` (Sturdy has no per-request retry switch: a route's profile is the place);
 * `FormData` with a `MultipartFile` is `HttpBody.formData` of a web `FormData` holding a `Blob` of the same file; a
 * `DioException` of type `badResponse` is the typed failure carrying the status; a `FormatException` for a bad URL is
 * `InvalidRequest` (reason `MalformedUrl`).
 *
 * Deliberate differences (each test says which): dio_smart_retry repeats a POST, where Sturdy repeats one only when
 * `retry.methods` lists it (or it carries an Idempotency-Key), so the multipart case lists POST; Sturdy asks
 * `retryOn` about the failure of the last attempt too (and then stops on `maxAttempts`), where the interceptor checks
 * `attempt <= retries` first and never calls the evaluator for it. Not exercised by a case but differing:
 * dio_smart_retry's default statuses include 440, 460, 499 and Cloudflare's 52x, which Sturdy's defaults retry only as
 * 5xx (no 4xx but 408, 429 and 413 with a wait), and its default delays are 1, 3, 5 s without jitter where Sturdy's
 * are an exponential backoff from 2 s with full jitter.
 *
 * Not ported: none (the suite has five cases; `Retry-After` and stream bodies have no case in it).
 */
import { HttpBody, HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { type HttpFailure, Policy, SturdyClient } from "@sturdy/http"
import { Effect } from "effect"
import * as Fs from "node:fs"
import { failureOf, gaps, type Handler, send, setup, statusOf } from "./utils/retryHarness.js"

/** `retryDelays` (milliseconds): delay `attempt` (1-based), the last repeating, none for an empty list */
const dioDelays = (delays: ReadonlyArray<number>) => (attempt: number) =>
  delays.length === 0 ? 0 : delays[Math.min(attempt, delays.length) - 1]!

/** Dart's `RetryInterceptor(retries: n, retryDelays: delays)`, with a recording evaluator */
const interceptor = (
  retries: number,
  delays: ReadonlyArray<number>,
  retryEvaluator?: (failure: HttpFailure.HttpFailure, attempt: number) => boolean
): Policy.RetryOptions => ({
  maxAttempts: retries + 1,
  delay: dioDelays(delays),
  ...(retryEvaluator === undefined ? {} : { retryOn: retryEvaluator })
})

/** mock.codes/<status>: every request answers its path's status */
const mockCodes: Handler = (request, response) => send(response, Number(request.path.slice(1)))

describe("rodion-m/dio_smart_retry test/disable_retry_test.dart", () => {
  it.scoped("Request with disabledRetry option in RequestOptions is not retried", () =>
    Effect.gen(function*() {
      let retryEvaluatorCalled = false
      const h = yield* setup(mockCodes, {
        retry: interceptor(3, [1000, 3000, 5000], () => (retryEvaluatorCalled = true)),
        endpoints: { "GET /500": { retry: false } }
      })
      // a whole request (Dart's `RequestOptions`), sent with `execute`
      const exit = yield* h.run(h.api.execute(HttpClientRequest.get("/500")))
      expect(statusOf(failureOf(exit))).toBe(500)
      expect(retryEvaluatorCalled).toBe(false)
      expect(h.seen.length).toBe(1)
      expect(h.decisions.filter((d) => d.retrying)).toEqual([])
    }))

  it.scoped("Request with disableRetry option in Options is not retried", () =>
    Effect.gen(function*() {
      let retryEvaluatorCalled = false
      const h = yield* setup(mockCodes, {
        retry: interceptor(3, [1000, 3000, 5000], () => (retryEvaluatorCalled = true)),
        endpoints: { "GET /500": { retry: false } }
      })
      const exit = yield* h.run(h.api.get("/500"))
      expect(statusOf(failureOf(exit))).toBe(500)
      expect(retryEvaluatorCalled).toBe(false)
      expect(h.seen.length).toBe(1)
      // the same policy still retries a route without the override
      const other = yield* h.run(h.api.get("/503"))
      expect(statusOf(failureOf(other))).toBe(503)
      expect(retryEvaluatorCalled).toBe(true)
      expect(h.seen.length).toBe(1 + 4)
    }))
})

describe("rodion-m/dio_smart_retry test/multipart_retry_tests.dart", () => {
  it.scoped("Retry for MultipartFile is retrying", () =>
    Effect.gen(function*() {
      const retries = 2
      // DefaultRetryEvaluator(defaultRetryableStatuses): 500 is one of them, as it is one of Sturdy's defaults
      let currentAttempt = 0
      const evaluator = (failure: HttpFailure.HttpFailure, attempt: number) => {
        currentAttempt = attempt
        return Policy.isRetryableByDefault(failure)
      }
      const h = yield* setup((_, response) => send(response, 500), {
        // dio_smart_retry repeats a POST; Sturdy only when `retry.methods` lists it
        retry: { ...interceptor(retries, [1000, 1000], evaluator), methods: ["POST"] }
      })
      const readme = Fs.readFileSync(new URL("../README.md", import.meta.url))
      const formData = new FormData()
      formData.append("file", new Blob([readme]), "README.md")
      const exit = yield* h.run(h.api.post("/mock/post500.php", { body: HttpBody.formData(formData) }))
      expect(statusOf(failureOf(exit))).toBe(500)
      // two retries, each sending the whole form again, a second apart
      expect(h.seen.length).toBe(retries + 1)
      expect(gaps(h)).toEqual([1000, 1000])
      for (const seen of h.seen) {
        expect(seen.headers["content-type"]).toMatch(/^multipart\/form-data; boundary=/)
        expect(seen.bytes.includes(readme)).toBe(true)
      }
      expect(h.decisions.filter((d) => d.retrying).map((d) => d.attempt)).toEqual([2, 3])
      // Dart's evaluator last sees attempt 2 (the interceptor stops on `attempt <= retries` first); Sturdy asks
      // `retryOn` about the third failure too, then stops on `maxAttempts`
      expect(currentAttempt).toBe(retries + 1)
    }))
})

describe("rodion-m/dio_smart_retry test/override_retryable_statuses_test.dart", () => {
  it.scoped("Retryable statuses overridden", () =>
    Effect.gen(function*() {
      const retries = 2
      const h = yield* setup(mockCodes, {
        retry: { ...interceptor(retries, [1000, 1000]), statuses: [400] }
      })
      const exit = yield* h.run(h.api.get("/400"))
      const failure = failureOf(exit)
      expect(failure._tag).toBe("ClientError")
      expect(statusOf(failure)).toBe(400)
      // `evaluator.currentAttempt == retries`: two retries were made, after 1 s each
      const retried = h.decisions.filter((d) => d.retrying)
      expect(retried.length).toBe(retries)
      expect(h.seen.length).toBe(retries + 1)
      expect(gaps(h)).toEqual([1000, 1000])
    }))
})

describe("rodion-m/dio_smart_retry test/test_issue_2.dart", () => {
  it.scoped("#issue2", () =>
    Effect.gen(function*() {
      const h = yield* setup(mockCodes, { retry: interceptor(3, [1000, 3000, 5000]) })
      // `Dio()` without a base URL, as in the Dart case: the URL is taken as written
      const dio = SturdyClient.makeWith(h.platform, { policy: h.policy })
      const exit = yield* h.run(dio.get("http ://github.com"))
      const failure = failureOf(exit)
      expect(failure._tag).toBe("InvalidRequest")
      expect((failure as HttpFailure.InvalidRequest).reason).toBe("MalformedUrl")
      // not retried, and nothing sent
      expect(h.decisions.filter((d) => d.retrying)).toEqual([])
      expect(h.seen.length).toBe(0)
    }))
})
