/**
 * smithy-lang/smithy-typescript (commit 6815d3e96f3abc32e238bf6d806523aab81c6a8e), directory
 * packages/core/src/submodules/retry/ (formerly packages/util-retry, packages/service-error-classification and
 * packages/middleware-retry): the end-to-end cases of util-retry/retries.integ.spec.ts, the HTTP-status and Node
 * network-error cases of service-error-classification/service-error-classification.spec.ts, the Retry-After cases of
 * middleware-retry/retryMiddleware.spec.ts, middleware-retry/parseRetryAfterHeader.spec.ts and (the older API)
 * middleware-retry/retry-pre-sra-deprecated/StandardRetryStrategy.spec.ts, ported to `SturdyClient`
 * over `@sturdy/node`'s undici transport against a real node:http server on 127.0.0.1 (`test/utils/retryHarness.ts`),
 * and `RetryHeaders.retryAfter` for the header parser; every wait on the TestClock. One `it` per smithy case.
 *
 * Mapping: smithy's error types map on `@sturdy/http`'s failure tags: THROTTLING (429) is `RateLimited`, TRANSIENT
 * (500, 502, 503, 504; ECONNREFUSED, ECONNRESET, TimeoutError) is a transient `ServerError`, `ConnectionError` or
 * `Timeout`, SERVER_ERROR (501, 505, 511, which smithy does not retry) is a `ServerError` that
 * `HttpFailure.isRetryableByDefault` leaves out, CLIENT_ERROR is `ClientError`. `StandardRetryStrategy({ maxAttempts:
 * 3, backoff: DeterministicRetryBackoffStrategy })` with the 2026 delays (50 ms doubling, 1000 ms after a throttling
 * error, at most 20 s, no jitter) is `retry: { maxAttempts: 3, delay }`, `delay` choosing the base by the failure's
 * tag; `$metadata.attempts` is `Policy.attemptsOf` on a failure and the requests the server saw on a success;
 * `$metadata.totalRetryDelay` is the sum of the gaps between requests on the TestClock. smithy's millisecond header
 * `x-amz-retry-after` is AWS's; the one millisecond header Sturdy reads is `Retry-After-Ms` (OpenAI, Anthropic), used
 * in its place, and smithy honours a retry hint on every retryable status where `Policy` honours it on
 * `retry.retryAfterStatuses` (413, 429, 503 by default: the 500 cases list 500).
 *
 * Deliberate differences (each test says which): smithy holds a hint between the backoff delay and that delay + 5 s,
 * `Policy` waits the hint itself (as ky, got, undici); an ISO 8601 `Retry-After` (smithy's backwards-compatible last
 * resort) and smithy's `"<date>, <seconds>"` form are not HTTP-dates and are ignored (RetryHeaders' table: not an
 * HTTP-date, and copies that disagree); smithy's `isTransientError(429)` is false (429 is THROTTLING, a kind of its
 * own), Sturdy's `isTransient` is true for a 429, and both retry it; `Retry-After-Ms` is read before `Retry-After`
 * (RetryHeaders' order), where smithy reads `retry-after` before `x-amz-retry-after`.
 *
 * Not ported: the modeled-error cases ("should retry when a retryable trait is modeled", "should retry retryable trait
 * with throttling", isRetryableByTrait, the `$retryable.throttling` cases, the THROTTLING_ERROR_CODES and
 * TRANSIENT_ERROR_CODES names but TimeoutError, the error-`cause` chain and its recursion limit: Smithy models and AWS
 * error codes, which an HTTP client does not have); isClockSkewError (request signing); ETIMEDOUT, EPIPE,
 * EHOSTUNREACH, ENETUNREACH, ENOTFOUND, EAI_AGAIN (not producible on loopback; `HttpFailure`'s own tests classify
 * them); isNodeJsHttp2TransientError (4 cases: the transport is HTTP/1.1); the `amz-sdk-invocation-id` and
 * `amz-sdk-request: attempt=N; max=M` headers (retryMiddleware "retry headers", 4 cases, and
 * omitRetryHeadersMiddleware: Sturdy sends no retry header), longPollMiddleware, configurations.spec.ts (AWS config
 * resolution: env variables, INI files, retry modes, strategy memoization) and retryMiddleware's remaining cases
 * (getRetryPlugin, the RetryStrategy/V2 token calls and the error types passed to a mocked strategy: the
 * classification they check is ported below); parseRetryAfterHeader's "returns undefined for non-HttpResponse input"
 * (types); "x-amz-retry-after ... returns undefined for non-numeric value" checks a trace log Sturdy does not write
 * (the fallback is "Invalid x-amz-retry-after falls back to exponential backoff"); the deprecated StandardRetryStrategy's
 * other cases (decider and quota calls on mocks, the amz-sdk-* headers).
 */
import { Headers } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { HttpFailure, Policy, RetryHeaders } from "@sturdy/http"
import { Duration, Effect, Option } from "effect"
import { delays, failureOf, fixture, gaps, type Handler, send, setup, textOf } from "./utils/retryHarness.js"

/** answers each status in turn (with its headers), then 200 `fixture` */
const answers =
  (...steps: ReadonlyArray<number | readonly [number, Record<string, string>]>): Handler => (_, response, n) => {
    const step = steps[n - 1]
    if (step === undefined) return send(response, 200, {}, fixture)
    const [status, headers] = typeof step === "number" ? [step, {}] : step
    send(response, status, headers)
  }

// StandardRetryStrategy({ maxAttempts: 3, backoff: DeterministicRetryBackoffStrategy }) with the 2026 delays
const standard2026 = {
  maxAttempts: 3,
  delay: (attempt: number, failure: Policy.RetryFailure) =>
    Math.min((failure._tag === "RateLimited" ? 1000 : 50) * 2 ** (attempt - 1), 20_000),
  retryAfterJitter: 0
} as const

const sum = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0)

describe("smithy util-retry retries.integ.spec.ts", () => {
  describe("retries", () => {
    it.scoped("should retry throttling and transient-error status codes", () =>
      Effect.gen(function*() {
        const h = yield* setup(answers(429, 500), { retry: { baseDelay: "10 millis", jitter: "none" } })
        expect(textOf(yield* h.run(h.api.get("/numbers")))).toBe(fixture)
        // $metadata.attempts: 3
        expect(h.seen).toHaveLength(3)
      }))

    it.scoped("should not retry if the error is not modeled with retryable trait and is not otherwise retryable", () =>
      Effect.gen(function*() {
        const h = yield* setup(answers(429, 400), { retry: { baseDelay: "10 millis", jitter: "none" } })
        const failure = failureOf(yield* h.run(h.api.get("/numbers")))
        // stopped at the second error
        expect(failure).toMatchObject({ _tag: "ClientError", status: 400 })
        expect(Policy.attemptsOf(failure)).toBe(2)
        expect(h.seen).toHaveLength(2)
      }))
  })

  describe("end-to-end with requireRequestsFrom", () => {
    it.scoped("Retry eventually succeeds (3 attempts)", () =>
      Effect.gen(function*() {
        const h = yield* setup(answers(500, 500), { retry: standard2026 })
        expect(textOf(yield* h.run(h.api.get("/numbers")))).toBe(fixture)
        expect(h.seen).toHaveLength(3)
        // 2 transient retries: 50ms + 100ms = 150ms
        expect(gaps(h)).toEqual([50, 100])
        expect(sum(gaps(h))).toBe(150)
      }))

    it.scoped("Fail due to max attempts reached (3 attempts, all 502)", () =>
      Effect.gen(function*() {
        const h = yield* setup(answers(502, 502, 502), { retry: standard2026 })
        const failure = failureOf(yield* h.run(h.api.get("/numbers")))
        expect(failure).toMatchObject({ _tag: "ServerError", status: 502 })
        expect(Policy.attemptsOf(failure)).toBe(3)
        expect(sum(gaps(h))).toBe(150)
      }))

    it.scoped("Throttling error retries and succeeds", () =>
      Effect.gen(function*() {
        const h = yield* setup(answers(429), { retry: standard2026 })
        expect(textOf(yield* h.run(h.api.get("/numbers")))).toBe(fixture)
        expect(h.seen).toHaveLength(2)
        // 1 throttling retry: 1000ms
        expect(gaps(h)).toEqual([1000])
      }))

    it.scoped("x-amz-retry-after header is honored", () =>
      Effect.gen(function*() {
        // x-amz-retry-after: 1500 (ms) is Retry-After-Ms here; smithy clamps it to max(50, min(1500, 50 + 5000))
        const h = yield* setup(answers([500, { "retry-after-ms": "1500" }]), {
          retry: { ...standard2026, retryAfterStatuses: [500] }
        })
        expect(textOf(yield* h.run(h.api.get("/numbers")))).toBe(fixture)
        expect(h.seen).toHaveLength(2)
        expect(gaps(h)).toEqual([1500])
        expect(h.decisions[0]?.reason).toBe("retry-after")
      }))

    it.scoped("Invalid x-amz-retry-after falls back to exponential backoff", () =>
      Effect.gen(function*() {
        const h = yield* setup(answers([500, { "retry-after-ms": "invalid" }]), {
          retry: { ...standard2026, retryAfterStatuses: [500] }
        })
        expect(textOf(yield* h.run(h.api.get("/numbers")))).toBe(fixture)
        // invalid header ignored, falls back to transient backoff: 50ms
        expect(gaps(h)).toEqual([50])
        expect(h.decisions[0]?.reason).toBe("backoff")
      }))
  })
})

describe("smithy service-error-classification.spec.ts", () => {
  // one failing answer, then 200: whether the policy retried it, and the failure it was
  const classify = (status: number) =>
    Effect.gen(function*() {
      const probe = yield* setup(answers(status), { retry: false })
      const failure = failureOf(yield* probe.run(probe.api.get("/")))
      const h = yield* setup(answers(status), { retry: { baseDelay: "10 millis", jitter: "none" } })
      const exit = yield* h.run(h.api.get("/"))
      return { failure, retried: h.seen.length === 2 && exit._tag === "Success" }
    })

  describe("isThrottlingError", () => {
    it.scoped(`should declare error with the HTTP Status Code "429" to be a Throttling error`, () =>
      Effect.gen(function*() {
        const { failure, retried } = yield* classify(429)
        // smithy's throttling kind is Sturdy's RateLimited. (smithy's isTransientError(429) is false; Sturdy's
        // isTransient is true for a 429: both retry it.)
        expect(failure).toMatchObject({ _tag: "RateLimited", status: 429 })
        expect(HttpFailure.isRetryableByDefault(failure as HttpFailure.HttpFailure)).toBe(true)
        expect(retried).toBe(true)
      }))
  })

  describe("isTransientError", () => {
    for (const httpStatusCode of [500, 502, 503, 504]) {
      it.scoped(`should declare error with the HTTP Status Code "${httpStatusCode}" to be a Transient error`, () =>
        Effect.gen(function*() {
          const { failure, retried } = yield* classify(httpStatusCode)
          expect(failure).toMatchObject({ _tag: "ServerError", status: httpStatusCode })
          expect(HttpFailure.isTransient(failure as HttpFailure.HttpFailure)).toBe(true)
          expect(retried).toBe(true)
        }))
    }

    // smithy draws a status in 1..1000 outside 500, 502, 503, 504; a fixed one here. Sturdy's transient set is wider
    // (408, 425, 429 and every 5xx but 501, 505, 511), so the status is one both leave out.
    it.scoped(`should declare error with the HTTP Status Code "404" to be a Transient error`, () =>
      Effect.gen(function*() {
        const { failure, retried } = yield* classify(404)
        expect(failure).toMatchObject({ _tag: "ClientError", status: 404 })
        expect(HttpFailure.isTransient(failure as HttpFailure.HttpFailure)).toBe(false)
        expect(retried).toBe(false)
      }))

    it.scoped(`should declare error with the name "TimeoutError" to be a Transient error`, () =>
      Effect.gen(function*() {
        // an attempt that times out (Sturdy's Timeout, phase Attempt) is retried
        const h = yield* setup(
          (_, response, n, tools) =>
            n === 1 ? tools.later(5000, () => send(response, 200, {}, "late")) : send(response, 200, {}, fixture),
          { attemptTimeout: "1 second", retry: { baseDelay: "10 millis", jitter: "none" } }
        )
        expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
        expect(h.decisions[0]?.failure).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
        expect(h.seen).toHaveLength(2)
      }))

    it.scoped(`should declare error with cause with the code "ECONNRESET" to be a Transient error`, () =>
      Effect.gen(function*() {
        // the server drops the first connection without answering
        const h = yield* setup(
          (_, response, n) => n === 1 ? response.socket?.destroy() : send(response, 200, {}, fixture),
          { retry: { baseDelay: "10 millis", jitter: "none" } }
        )
        expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
        const first = h.decisions[0]?.failure as HttpFailure.HttpFailure
        expect(first).toMatchObject({ _tag: "ConnectionError" })
        expect(HttpFailure.isTransient(first)).toBe(true)
        expect(h.seen).toHaveLength(2)
      }))

    it.scoped(`should declare error with cause with the code "ECONNREFUSED" to be a Transient error`, () =>
      Effect.gen(function*() {
        // nothing listens on the port: refused, and retried until the attempts end
        const h = yield* setup(() => undefined, { retry: { baseDelay: "10 millis", jitter: "none" } }, {
          listen: "later"
        })
        const failure = failureOf(yield* h.run(h.api.get("/")))
        expect(failure).toMatchObject({ _tag: "ConnectionError", reason: "Refused" })
        expect(HttpFailure.isTransient(failure as HttpFailure.HttpFailure)).toBe(true)
        expect(Policy.attemptsOf(failure)).toBe(3)
      }))
  })

  describe("isServerError", () => {
    for (const httpStatusCode of [501, 505, 511]) {
      it.scoped(`should declare error with the HTTP Status Code "${httpStatusCode}" to be a Server error`, () =>
        Effect.gen(function*() {
          // smithy's SERVER_ERROR type, which StandardRetryStrategy does not retry: nor does Policy
          const { failure, retried } = yield* classify(httpStatusCode)
          expect(failure).toMatchObject({ _tag: "ServerError", status: httpStatusCode })
          expect(HttpFailure.isRetryableByDefault(failure as HttpFailure.HttpFailure)).toBe(false)
          expect(retried).toBe(false)
        }))
    }
    for (const httpStatusCode of [500, 502, 503, 504]) {
      it.scoped(`should declare error with the HTTP Status Code "${httpStatusCode}" to not be be a Server error`, () =>
        Effect.gen(function*() {
          const { failure, retried } = yield* classify(httpStatusCode)
          expect(HttpFailure.isRetryableByDefault(failure as HttpFailure.HttpFailure)).toBe(true)
          expect(retried).toBe(true)
        }))
    }
  })
})

describe("smithy middleware-retry retryMiddleware.spec.ts", () => {
  it.scoped("throw last request error", () =>
    Effect.gen(function*() {
      // when retrying stops, the caller gets the last request's error, with the attempts made
      const h = yield* setup(answers(503, 500, 502), { retry: { baseDelay: "10 millis", jitter: "none" } })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(failure).toMatchObject({ _tag: "ServerError", status: 502 })
      expect(Policy.attemptsOf(failure)).toBe(3)
    }))

  it.scoped("parses retry-after from seconds", () =>
    Effect.gen(function*() {
      const h = yield* setup(answers([503, { "retry-after": "3" }]), {
        retry: { baseDelay: "10 millis", jitter: "none", retryAfterJitter: 0 }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.seen).toHaveLength(2)
      expect(gaps(h)).toEqual([3000])
    }))

  it.scoped("parses retry-after from date string", () =>
    Effect.gen(function*() {
      // smithy sends an ISO 8601 date (3 s ahead) and reads it; it is not an HTTP-date, so Sturdy ignores it and
      // waits its backoff. An IMF-fixdate 3 s ahead is read.
      const iso = yield* setup(
        (_, response, n) =>
          n === 1
            ? send(response, 503, { "retry-after": new Date(Date.now() + 3000).toISOString() })
            : send(response, 200, {}, fixture),
        { retry: { baseDelay: "10 millis", jitter: "none", retryAfterJitter: 0 } }
      )
      expect(textOf(yield* iso.run(iso.api.get("/")))).toBe(fixture)
      expect(delays(iso)).toEqual([10])
      const imf = yield* setup(
        (request, response, n) =>
          n === 1
            ? send(response, 503, { "retry-after": new Date(request.at + 3000).toUTCString() })
            : send(response, 200, {}, fixture),
        { retry: { baseDelay: "10 millis", jitter: "none", retryAfterJitter: 0 } }
      )
      expect(textOf(yield* imf.run(imf.api.get("/")))).toBe(fixture)
      // an HTTP-date has whole seconds: the wait is at most 3 s
      expect(delays(imf)[0]).toBeGreaterThan(2000)
      expect(delays(imf)[0]).toBeLessThanOrEqual(3000)
      expect(imf.decisions[0]?.reason).toBe("retry-after")
    }))
})

describe("smithy middleware-retry parseRetryAfterHeader.spec.ts", () => {
  const NOW = 1_773_769_074_339
  const hint = (headers: Record<string, string>) =>
    Option.map(RetryHeaders.retryAfter(Headers.fromInput(headers), NOW), Duration.toMillis)

  it("returns undefined when no retry headers are present", () => {
    expect(hint({ "content-type": "application/json" })).toEqual(Option.none())
  })

  describe("retry-after header", () => {
    it("parses plain numeric seconds", () => {
      expect(hint({ "retry-after": "120" })).toEqual(Option.some(120_000))
    })

    it("parses RFC 7231 date string ending in GMT", () => {
      const wait = hint({ "retry-after": new Date(NOW + 60_000).toUTCString() })
      expect(Option.isSome(wait)).toBe(true)
      expect(Option.getOrThrow(wait)).toBeGreaterThanOrEqual(59_000)
      expect(Option.getOrThrow(wait)).toBeLessThanOrEqual(61_000)
    })

    it("parses 'GMT, <seconds>' suffix format", () => {
      // smithy reads the seconds after the date (45 s). Deliberate difference: a joined header whose copies
      // disagree (a date 30 s ahead, and 45) is no wait at all in Sturdy
      expect(hint({ "retry-after": `${new Date(NOW + 30_000).toUTCString()}, 45` })).toEqual(Option.none())
    })

    it("returns undefined for non-numeric, non-date string", () => {
      expect(hint({ "retry-after": "not-a-number" })).toEqual(Option.none())
    })

    it("returns undefined when RFC 7231 parsing fails", () => {
      expect(hint({ "retry-after": "Invalid Date GMT" })).toEqual(Option.none())
    })

    it("as a last resort (backwards compatibility), ISO format headers are also parsed", () => {
      // deliberate difference: ISO 8601 is not an HTTP-date; Sturdy reads none
      expect(hint({ "retry-after": new Date(NOW + 30_000).toISOString() })).toEqual(Option.none())
    })
  })

  describe("x-amz-retry-after header", () => {
    it("parses milliseconds value", () => {
      // x-amz-retry-after is Retry-After-Ms here; Sturdy does not read x-amz-retry-after
      expect(hint({ "retry-after-ms": "5000" })).toEqual(Option.some(5000))
      expect(hint({ "x-amz-retry-after": "5000" })).toEqual(Option.none())
    })
  })

  it("prefers retry-after over x-amz-retry-after when retry-after comes first", () => {
    // smithy: retry-after (10 s) wins. Deliberate difference: Retry-After-Ms, the finer one, is read first
    expect(hint({ "retry-after": "10" })).toEqual(Option.some(10_000))
    expect(hint({ "retry-after": "10", "retry-after-ms": "9999" })).toEqual(Option.some(9999))
  })
})

// retry-pre-sra-deprecated/StandardRetryStrategy.spec.ts, "totalRetryDelay when retry-after is set": maxAttempts 2,
// a delayDecider that answers 2000 ms (3000 ms in the last case) is `baseDelay` with no jitter
describe("smithy retry-pre-sra-deprecated StandardRetryStrategy.spec.ts", () => {
  const twoAttempts = (baseDelay: Duration.DurationInput) =>
    ({ maxAttempts: 2, baseDelay, jitter: "none", retryAfterJitter: 0 }) as const

  describe("uses retry-after value if it's greater than that from delayDecider", () => {
    describe("when value is in seconds", () => {
      for (
        const [name, header] of [["with header in small case", "retry-after"], [
          "with header with first letter capital",
          "Retry-After"
        ]] as const
      ) {
        it.scoped(name, () =>
          Effect.gen(function*() {
            const h = yield* setup(answers([503, { [header]: "3" }], 503), { retry: twoAttempts("2 seconds") })
            const failure = failureOf(yield* h.run(h.api.get("/")))
            expect(Policy.attemptsOf(failure)).toBe(2)
            // totalRetryDelay: 3000
            expect(gaps(h)).toEqual([3000])
          }))
      }
    })

    it.scoped("when value is a Date", () =>
      Effect.gen(function*() {
        // smithy's date is ISO 8601 (3 s ahead), which it reads; Sturdy reads HTTP-dates only (RetryHeaders' table),
        // so the ISO date is ignored and the backoff (2 s) is the wait. Deliberate difference.
        const h = yield* setup(
          (request, response, n) =>
            n === 1
              ? send(response, 503, { "retry-after": new Date(request.at + 3000).toISOString() })
              : send(response, 503),
          { retry: twoAttempts("2 seconds") }
        )
        failureOf(yield* h.run(h.api.get("/")))
        expect(gaps(h)).toEqual([2000])
        expect(h.decisions[0]?.reason).toBe("backoff")
      }))
  })

  it.scoped("ignores retry-after value if it's smaller than that from delayDecider", () =>
    Effect.gen(function*() {
      // smithy waits the larger, the backoff's 3000 ms. Deliberate difference: the server's wait replaces the
      // backoff (as ky, got, undici, urllib3 and Polly), so Sturdy waits the 2 s asked for
      const h = yield* setup(answers([503, { "retry-after": "2" }], 503), { retry: twoAttempts("3 seconds") })
      failureOf(yield* h.run(h.api.get("/")))
      expect(gaps(h)).toEqual([2000])
      expect(h.decisions[0]?.reason).toBe("retry-after")
    }))
})
