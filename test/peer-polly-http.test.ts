/**
 * Microsoft.Extensions.Http.Resilience's tests of Polly's standard HTTP handler (dotnet/extensions:
 * test/Libraries/Microsoft.Extensions.Http.Resilience.Tests: Polly/HttpClientResiliencePredicatesTests.cs,
 * Polly/HttpRetryStrategyOptionsTests.cs, Internal/RetryAfterHelperTests.cs, Resilience/HttpStandardResilienceOptionsTests.cs,
 * Hedging/HttpClientHedgingResiliencePredicatesTests.cs), ported to Sturdy's public API: `SturdyClient` over
 * `@sturdy/node`'s `UndiciHttpClient` with `@sturdy/http`'s `Policy` (Sturdy's standard pipeline), against a real
 * node:http server on 127.0.0.1, every wait on the TestClock (the harness of test/peer-retry-ky-got.test.ts). One `it`
 * per peer case ([Theory] rows as one `it`), named after it.
 *
 * Mapping: `HttpClientResiliencePredicates.IsTransient` / `HttpRetryStrategyOptions.ShouldHandle` are what `Policy`
 * retries by default (`Policy.isRetryableByDefault`, observed as the number of requests the server saw);
 * `HttpRequestException` is a connection failure, `TimeoutRejectedException` (and an OperationCanceledException whose
 * inner exception is a TimeoutException) an attempt timeout (`Timeout`, phase `Attempt`), a caller's cancellation the
 * interruption of the caller's fiber, `InvalidCastException` (a bug, not the upstream) a body that does not decode;
 * `ShouldRetryAfterHeader` is `retry.respectRetryAfter`; `RetryAfterHelper.TryParse` is the wait `Policy` takes from
 * `Retry-After`; `HttpStandardResilienceOptions` are `Policy.defaults` and `Policy.describe`.
 *
 * Where Sturdy differs on purpose (`Policy`'s module docs), the test asserts Sturdy's documented behaviour and says what
 * the standard handler does: a 505 is not retried (a server that does not speak the request's HTTP version will not
 * on the next attempt either; the breaker does not count it); a `Retry-After` longer than `retry.maxRetryAfter` (30 s)
 * fails at once where the standard handler sleeps it out (a day, in `TryParse_Date_Ok`); `retry.maxAttempts` counts the
 * first attempt (3) where `MaxRetryAttempts` counts retries (3, so 4 attempts); the breaker opens at a 50 % failure
 * rate where the standard handler's `FailureRatio` is 10 %; `Retry-After` is honoured on `retry.retryAfterStatuses`
 * (413, 429, 503) where the standard handler reads it on any response it retries.
 * Not ported: null-argument cases ("..._NullException_ShouldThrow", "..._NullResponse_ShouldThrow": TypeScript's types),
 * option names ("Standard-Retry", ...: .NET options binding), and DI registration. The validators' cases, the method
 * filter (`DisableFor`), the breaker's predicates and the hedging handler's cases are ported in
 * test/peer-ms-http-resilience-{options,predicates,hedging}.test.ts.
 */
import { HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { HttpFailure, Policy } from "@sturdy/http"
import {} from "@sturdy/node"
import { Duration, Effect, Exit, Fiber, Option, Schema } from "effect"
import type * as Http from "node:http"
import { failureOf, fixture, type Handler, type Harness, realPause, send, setup, textOf } from "./utils/retryHarness.js"

/** answers `status` (with `headers`) until request `okAt`, then 200 `fixture` */
const untilOk = (okAt: number, status: number, headers: Http.OutgoingHttpHeaders = {}): Handler => (_, response, n) =>
  n >= okAt ? send(response, 200, {}, fixture) : send(response, status, headers)

const cut = (response: Http.ServerResponse) => response.socket?.destroy()
// a server's wait exactly (Sturdy adds up to 10 % by default so that clients told the same instant spread out)
const exactWait = { retryAfterJitter: 0 } as const
// a quick backoff, so that a test's retries take 10 ms each
const fast = { baseDelay: "10 millis", maxDelay: "10 millis", jitter: "none" } as const

const requests = (h: Harness) => h.seen.length
const retryDelays = (h: Harness) => h.decisions.filter((d) => d.retrying).map((d) => Duration.toMillis(d.delay))

// -----------------------------------------------------------------------------
// Polly/HttpClientResiliencePredicatesTests.cs and Polly/HttpRetryStrategyOptionsTests.cs
// -----------------------------------------------------------------------------

describe("peer Polly HttpClientResiliencePredicatesTests", () => {
  // [status, the standard handler retries it, Sturdy retries it]
  const rows: ReadonlyArray<readonly [number, boolean, boolean]> = [
    [200, false, false],
    [400, false, false],
    [413, false, false],
    [500, true, true],
    // deliberate: HTTP Version Not Supported will not change on a second attempt (Sturdy: not transient, not counted
    // by the breaker); the standard handler retries every 5xx
    [505, true, false],
    [408, true, true],
    [429, true, true]
  ]

  it.scoped("IsTransientFailure_ShouldClassify", () =>
    Effect.gen(function*() {
      for (const [status, , retried] of rows) {
        const h = yield* setup((_, response) => send(response, status), { retry: { maxAttempts: 2, ...fast } })
        const exit = yield* h.run(h.api.get("/"))
        expect([status, requests(h)]).toEqual([status, retried ? 2 : 1])
        if (Exit.isFailure(exit)) {
          const failure = failureOf(exit)
          expect([status, HttpFailure.isHttpFailure(failure) && Policy.isRetryableByDefault(failure)]).toEqual([
            status,
            retried
          ])
        } else {
          expect(status).toBe(200)
        }
      }
    }))

  // HttpRequestException → transient; TimeoutRejectedException (an attempt's timeout) → transient;
  // InvalidCastException (a bug, not the upstream) → not: here a body that does not decode.
  it.scoped("IsTransientHttpException_Exception_ShouldClassify", () =>
    Effect.gen(function*() {
      const network = yield* setup((_, response) => cut(response), { retry: { maxAttempts: 2, ...fast } })
      const networkFailure = failureOf(yield* network.run(network.api.get("/")))
      expect(networkFailure).toMatchObject({ _tag: "ConnectionError" })
      expect(requests(network)).toBe(2)

      const timeout = yield* setup(() => {}, { attemptTimeout: "1 second", retry: { maxAttempts: 2, ...fast } })
      const timeoutFailure = failureOf(yield* timeout.run(timeout.api.get("/")))
      expect(timeoutFailure).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect(requests(timeout)).toBe(2)

      const bug = yield* setup(
        (_, response) => send(response, 200, { "content-type": "application/json" }, "{\"foo\":\"not a boolean\"}"),
        { retry: { maxAttempts: 2, ...fast } }
      )
      const bugExit = yield* bug.run(bug.api.get("/", { schema: Schema.Struct({ foo: Schema.Boolean }) }))
      expect(Exit.isFailure(bugExit)).toBe(true)
      expect(requests(bug)).toBe(1)
    }))
})

describe("peer Polly HttpRetryStrategyOptionsTests", () => {
  // The standard handler: exponential, jitter, 3 retries (4 attempts), 2 s, Retry-After honoured. Sturdy: exponential
  // with full jitter, 2 s base, 30 s cap, Retry-After honoured; `maxAttempts` 3 counts the first attempt (2 retries).
  it("Ctor_Defaults", () => {
    expect(Policy.defaults.retry.maxAttempts).toBe(3)
    expect(Duration.toMillis(Policy.defaults.retry.baseDelay)).toBe(2_000)
    expect(Policy.defaults.retry.jitter).toBe("full")
    expect(Policy.defaults.retry.respectRetryAfter).toBe(true)
  })

  it.scoped("ShouldHandleResultAsError_DefaultValue_ShouldClassify", () =>
    Effect.gen(function*() {
      const rows = [[200, 1], [400, 1], [413, 1], [500, 3], [505, 1], [408, 3]] as const
      for (const [status, expected] of rows) {
        // Sturdy's defaults, but a quick backoff
        const h = yield* setup((_, response) => send(response, status), { retry: { ...fast } })
        yield* h.run(h.api.get("/"))
        expect([status, requests(h)]).toEqual([status, expected])
      }
    }))

  // [OperationCanceledException(TimeoutException) with no caller cancellation → handled; with the caller's token
  // cancelled → not]: an attempt that timed out is retried; a caller that gives up (interrupts) ends the call at once.
  it.scoped("ShouldHandleException_DefaultValue_ShouldClassify", () =>
    Effect.gen(function*() {
      const timedOut = yield* setup(() => {}, { attemptTimeout: "1 second", retry: { maxAttempts: 3, ...fast } })
      expect(failureOf(yield* timedOut.run(timedOut.api.get("/")))).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect(requests(timedOut)).toBe(3)

      const cancelled = yield* setup(() => {}, { attemptTimeout: "1 second", retry: { maxAttempts: 3, ...fast } })
      const fiber = yield* Effect.fork(cancelled.run(cancelled.api.get("/")))
      for (let i = 0; i < 200 && requests(cancelled) === 0; i++) yield* realPause
      expect(Exit.isInterrupted(yield* Fiber.interrupt(fiber))).toBe(true)
      expect(requests(cancelled)).toBe(1)
      expect(cancelled.decisions).toEqual([])
    }))

  it.scoped("ShouldRetryAfterHeader_InvalidOutcomes_ShouldReturnNull", () =>
    Effect.gen(function*() {
      // no Retry-After: the backoff's delay
      const none = yield* setup(untilOk(2, 429), { retry: { maxAttempts: 2, ...fast } })
      expect(textOf(yield* none.run(none.api.get("/")))).toBe(fixture)
      expect(none.decisions.map((d) => d.reason)).toEqual(["backoff"])
      expect(retryDelays(none)).toEqual([10])
      // an exception (a cut connection): the backoff's delay
      const network = yield* setup((_, response, n) => n === 2 ? send(response, 200, {}, fixture) : cut(response), {
        retry: { maxAttempts: 2, ...fast }
      })
      expect(textOf(yield* network.run(network.api.get("/")))).toBe(fixture)
      expect(network.decisions.map((d) => d.reason)).toEqual(["backoff"])
    }))

  it.scoped("ShouldRetryAfterHeader_WhenResponseContainsRetryAfterHeader_ShouldReturnTimeSpan", () =>
    Effect.gen(function*() {
      for (const status of [429, 503]) {
        const h = yield* setup(untilOk(2, status, { "Retry-After": "10" }), {
          retry: { maxAttempts: 2, ...fast, ...exactWait }
        })
        expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
        expect(h.decisions.map((d) => [d.reason, Duration.toMillis(d.delay)])).toEqual([["retry-after", 10_000]])
        expect(h.seen[1]!.at - h.seen[0]!.at).toBe(10_000)
      }
    }))

  // The standard handler reads Retry-After on any response it retries (a 500 too). Sturdy honours it on
  // `retry.retryAfterStatuses` (413, 429, 503 by default: the statuses that mean "come back later"); on another status
  // the backoff applies, and listing the status honours it.
  it.scoped("ShouldRetryAfterHeader_OnOtherStatuses_RetryAfterStatuses", () =>
    Effect.gen(function*() {
      const byDefault = yield* setup(untilOk(2, 500, { "Retry-After": "10" }), {
        retry: { maxAttempts: 2, ...fast, ...exactWait }
      })
      expect(textOf(yield* byDefault.run(byDefault.api.get("/")))).toBe(fixture)
      expect(byDefault.decisions.map((d) => [d.reason, Duration.toMillis(d.delay)])).toEqual([["backoff", 10]])
      const listed = yield* setup(untilOk(2, 500, { "Retry-After": "10" }), {
        retry: { maxAttempts: 2, ...fast, ...exactWait, retryAfterStatuses: [500, 503] }
      })
      expect(textOf(yield* listed.run(listed.api.get("/")))).toBe(fixture)
      expect(listed.decisions.map((d) => [d.reason, Duration.toMillis(d.delay)])).toEqual([["retry-after", 10_000]])
    }))

  it.scoped("GetDelayGenerator_ShouldGetBasedOnShouldRetryAfterHeader", () =>
    Effect.gen(function*() {
      for (const respectRetryAfter of [true, false]) {
        const h = yield* setup(untilOk(2, 429, { "Retry-After": "10" }), {
          retry: { maxAttempts: 2, ...fast, ...exactWait, respectRetryAfter }
        })
        expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
        expect(retryDelays(h)).toEqual([respectRetryAfter ? 10_000 : 10])
      }
    }))
})

// -----------------------------------------------------------------------------
// Internal/RetryAfterHelperTests.cs
// -----------------------------------------------------------------------------

describe("peer Polly RetryAfterHelperTests", () => {
  it.scoped("TryParse_Delta_Ok", () =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(2, 503, { "Retry-After": "10" }), { retry: { maxAttempts: 2, ...exactWait } })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(retryDelays(h)).toEqual([10_000])
    }))

  it.scoped("TryParse_Null_Ok", () =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(2, 503), { retry: { maxAttempts: 2, ...fast } })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.decisions.map((d) => d.reason)).toEqual(["backoff"])
    }))

  // An HTTP-date a day ahead: the standard handler waits a day. Sturdy: beyond `retry.maxRetryAfter` (30 s) the call
  // fails at once with the server's failure (documented); a date within it is the wait.
  it.scoped("TryParse_Date_Ok", () =>
    Effect.gen(function*() {
      const dayAhead = yield* setup(
        (_, response) => send(response, 503, { "Retry-After": new Date(Date.now() + 24 * 3600_000).toUTCString() }),
        { retry: { maxAttempts: 2, ...exactWait } }
      )
      expect(failureOf(yield* dayAhead.run(dayAhead.api.get("/")))).toMatchObject({ status: 503 })
      expect(dayAhead.decisions.map((d) => d.reason)).toEqual(["retry-after-too-long"])
      expect(requests(dayAhead)).toBe(1)

      let date = 0
      const soon = yield* setup((request, response, n) => {
        if (n === 1) date = (Math.floor(request.at / 1000) + 20) * 1000
        return n === 2
          ? send(response, 200, {}, fixture)
          : send(response, 503, { "Retry-After": new Date(date).toUTCString() })
      }, { retry: { maxAttempts: 2, ...exactWait } })
      expect(textOf(yield* soon.run(soon.api.get("/")))).toBe(fixture)
      expect(soon.decisions.map((d) => d.reason)).toEqual(["retry-after"])
      expect(soon.seen[1]!.at).toBe(date)
    }))

  it.scoped("TryParse_DateInPast_Ok", () =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(2, 503, { "Retry-After": new Date(Date.now() - 24 * 3600_000).toUTCString() }), {
        retry: { maxAttempts: 2 }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(retryDelays(h)).toEqual([0])
      expect(h.seen[1]!.at - h.seen[0]!.at).toBe(0)
    }))
})

// -----------------------------------------------------------------------------
// Resilience/HttpStandardResilienceOptionsTests.cs and the standard pipeline's order
// -----------------------------------------------------------------------------

describe("peer Polly HttpStandardResilienceOptionsTests", () => {
  it.scoped("Ctor_EnsureDefaults", () =>
    Effect.gen(function*() {
      expect(Duration.toMillis(Policy.defaults.attemptTimeout)).toBe(10_000)
      expect(Duration.toMillis(Policy.defaults.totalTimeout)).toBe(30_000)
      const policy = yield* Policy.make()
      const described = policy.describe(HttpClientRequest.get("http://127.0.0.1/"))
      expect(Option.map(described.attemptTimeout, Duration.toMillis)).toEqual(Option.some(10_000))
      expect(Option.map(described.totalTimeout, Duration.toMillis)).toEqual(Option.some(30_000))
      expect(described.circuitBreaker).toBe(true)
      // the standard handler's breaker: BreakDuration 5 s, SamplingDuration 30 s, MinimumThroughput 100 (Sturdy's
      // FailureRatio is 0.5 where the standard handler's is 0.1)
      expect(Duration.toMillis(Policy.defaults.circuitBreaker.breakDuration)).toBe(5_000)
      expect(Duration.toMillis(Policy.defaults.circuitBreaker.slidingWindow)).toBe(30_000)
      expect(Policy.defaults.circuitBreaker.minimumThroughput).toBe(100)
    }))

  // The standard pipeline: rate limiter → total timeout → retry → circuit breaker → attempt timeout. The total
  // timeout bounds every attempt and wait; each attempt times out on its own.
  it.scoped("StandardPipeline_TotalTimeoutOutsideRetry_AttemptTimeoutInside", () =>
    Effect.gen(function*() {
      const h = yield* setup(() => {}, { retry: { maxAttempts: 5, ...fast } })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(failure).toMatchObject({ _tag: "Timeout", phase: "Deadline" })
      // attempts at 0, 10.01 s and 20.02 s, each cut at 10 s; the third by the 30 s deadline
      expect(h.seen.map((s) => s.at - h.seen[0]!.at)).toEqual([0, 10_010, 20_020])
    }))

  // The breaker sits inside the retry: it sees every attempt, and a retry that meets it open fails fast.
  it.scoped("StandardPipeline_CircuitBreakerInsideRetry", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response) => send(response, 500), {
        circuitBreaker: { consecutiveFailures: 2 },
        retry: { maxAttempts: 5, ...fast }
      })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(failure).toMatchObject({ _tag: "CircuitOpen" })
      expect(requests(h)).toBe(2)
    }))
})

// -----------------------------------------------------------------------------
// Hedging/HttpClientHedgingResiliencePredicatesTests.cs
// -----------------------------------------------------------------------------

describe("peer Polly HttpClientHedgingResiliencePredicatesTests", () => {
  // A 500 or 503 lets the next hedge start at once; a 200 is the answer. (The standard hedging handler also hedges
  // on BrokenCircuitException, its breakers being per endpoint; Sturdy's hedges share the request's breaker, so an
  // open breaker ends hedging: `Hedge`'s module docs.)
  it.scoped("IsTransientOutcome_Response_Ok", () =>
    Effect.gen(function*() {
      for (const [status, hedged] of [[500, true], [503, true], [200, false]] as const) {
        const h = yield* setup(
          (_, response, n) => n === 1 ? send(response, status) : send(response, 200, {}, fixture),
          {
            retry: false,
            hedging: { delay: "1 hour", maxHedges: 1 }
          }
        )
        expect(textOf(yield* h.run(h.api.get("/")))).toBe(status === 200 ? "" : fixture)
        expect([status, requests(h)]).toEqual([status, hedged ? 2 : 1])
      }
    }))

  it.scoped("IsTransientException_Ok", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response, n) => n === 1 ? cut(response) : send(response, 200, {}, fixture), {
        retry: false,
        hedging: { delay: "1 hour", maxHedges: 1 }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(requests(h)).toBe(2)
    }))
})
