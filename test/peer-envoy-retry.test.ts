/**
 * Envoy's `test/common/router/retry_state_impl_test.cc` (envoyproxy/envoy, the stored version at commit
 * 00961253e1300295f91e0a77453dd2c2d72635ad), ported to `@sturdy/http`'s `Policy` over a real node:http server on
 * 127.0.0.1 (`test/utils/retryHarness.ts`), every wait on the TestClock; the back-off cases step `Backoff.exponential`
 * with chosen random draws. One `it` per Envoy case, named after it. (Envoy's hedging cases are in
 * `test/peer-envoy-Hedge.test.ts`.)
 *
 * Mapping: Envoy's `num_retries` (default 1) / `x-envoy-max-retries: n` is `retry.maxAttempts: n + 1`; a retry the
 * state allows (`RetryStatus::Yes`) is a second request the server sees, `NoRetryLimitExceeded` the failure coming
 * back with `attempts` (`Policy.attemptsOf`) equal to `maxAttempts`, `No` the failure coming back after one attempt.
 * Envoy's `retry_on` conditions are Sturdy's retry rules:
 * - `5xx` (any 5xx, a reset, a connect failure) is Sturdy's default rule (`isRetryableByDefault`);
 * - `gateway-error` (502, 503, 504, a reset, a connect failure) is `retry.statuses: [502, 503, 504]`, failures without
 *   a status keeping the default;
 * - `reset`, `connect-failure`, `retriable-4xx` (409) and `retriable-status-codes` (the listed statuses only, never a
 *   reset) are `retry.retryOn` predicates (a predicate replaces the whole rule, so nothing else retries);
 * - `retriable_request_headers` on `:method` is `retry.methods`;
 * - a remote reset is the server destroying the socket before answering; a connect failure is a port nothing
 *   listens on (`ConnectionError` `Refused`).
 * Envoy's jittered back-off: the delay before retry n (1-based) is `random() % min(base × 2^(n−1), max_interval)`;
 * Sturdy's full jitter is `floor(unit × min(baseDelay × 2^(n−1), maxDelay))` with `unit` in [0, 1): the same
 * envelope, so a draw of `(d + ½) / envelope` gives Envoy's delay d.
 *
 * Deliberate differences: Envoy's default `max_interval` is 10 × `base_interval`; Sturdy's `maxDelay` defaults to
 * 30 s (`Policy`), so "CustomBackOffIntervalDefaultMax" gives it explicitly. Envoy's retry budget counts concurrent
 * retries against concurrent requests; Sturdy's `RetryBudget` counts retries against requests over a window (Finagle's
 * budget), so the budget cases port as "a budget that allows none refuses the retry" and "the floor allows one".
 * `x-envoy-overloaded: true` has no meaning to Sturdy: "Policy5xxRemote503Overloaded" is ported as a `retryOn`
 * predicate reading that response header (the way to honour such a header).
 *
 * Not ported: the rate-limited retry back-off (`RateLimitedRetryBackOff`, `Retry-After` / `X-RateLimit-Reset` reset
 * headers with `max_interval`) is not in the stored version of this file, so no such case is ported (Sturdy's reading
 * of those headers is covered by the urllib3, ky/got and IETF ports); the gRPC conditions (PolicyGrpc*,
 * PolicyResourceExhaustedRemoteRateLimited, ParseRetryGrpcOn), PolicyRefusedStream (an HTTP/2 REFUSED_STREAM; the
 * loopback server speaks HTTP/1.1), Policy5xxResetOverflow and PolicyGatewayErrorResetOverflow (Envoy's own connection
 * pool overflowing), RuntimeGuard (Envoy's runtime flag), the request-header parsing cases (RetriableStatusCodesHeader,
 * ParseRetryOn, the header removal of MaxRetriesHeader), the `retriable-headers` cases (they retry a 200 by its
 * headers; Sturdy retries failures, and reads a server's `x-should-retry` instead), HostSelectionAttempts (Envoy's
 * host selection), BudgetVerifyMinimumConcurrency and BudgetRuntimeSetOnly (concurrency and runtime mechanics of
 * Envoy's budget), and the stats counters.
 */
import { describe, expect, it } from "@effect/vitest"
import { type HttpFailure, Policy } from "@sturdy/http"
import { Backoff, RetryBudget } from "@sturdy/policy"
import { Effect, Random } from "effect"
import type * as Http from "node:http"
import { stepDelays } from "../packages/policy/test/utils/stepDelays.js"
import { failureOf, fixture, gaps, type Handler, send, setup, statusOf, textOf } from "./utils/retryHarness.js"

const reset = (response: Http.ServerResponse) => response.socket?.destroy()

/** answers `status` to every request */
const always = (status: number, headers: Record<string, string> = {}): Handler => (_, response) =>
  send(response, status, headers)
const alwaysReset: Handler = (_, response) => reset(response)

// Envoy's default: one retry, without waiting long
const oneRetry = { maxAttempts: 2, baseDelay: "25 millis", maxDelay: "250 millis", jitter: "none" } as const

// Envoy's retry_on conditions that Sturdy writes as `retryOn` predicates
const onReset = (f: HttpFailure.HttpFailure) => f._tag === "ConnectionError" && f.reason === "Reset"
const onConnectFailure = (f: HttpFailure.HttpFailure) => f._tag === "ConnectionError" && f.reason === "Refused"
const onRetriable4xx = (f: HttpFailure.HttpFailure) => f._tag === "ClientError" && f.status === 409
const onStatusCodes = (codes: ReadonlyArray<number>) => (f: HttpFailure.HttpFailure) =>
  codes.includes(statusOf(f) ?? -1)

/** the outcome as Envoy's RetryStatus: the requests sent, and the attempts the failure carries (if it failed) */
const outcome = (h: { readonly seen: ReadonlyArray<unknown> }, exit: Parameters<typeof failureOf>[0]) => ({
  requests: h.seen.length,
  attempts: exit._tag === "Failure" ? Policy.attemptsOf(failureOf(exit) as Policy.Failure) : undefined
})

describe("peer Envoy retry_state_impl_test", () => {
  it.scoped("PolicyNoneRemoteReset", () =>
    Effect.gen(function*() {
      // no retry policy: nothing is retried
      const h = yield* setup(alwaysReset, { retry: false })
      const exit = yield* h.run(h.api.get("/"))
      expect(failureOf(exit)).toMatchObject({ _tag: "ConnectionError", reason: "Reset" })
      expect(h.seen).toHaveLength(1)
    }))

  it.scoped("Policy5xxRemoteReset", () =>
    Effect.gen(function*() {
      const h = yield* setup(alwaysReset, { retry: oneRetry })
      const exit = yield* h.run(h.api.get("/"))
      expect(failureOf(exit)).toMatchObject({ _tag: "ConnectionError", reason: "Reset" })
      expect(outcome(h, exit)).toEqual({ requests: 2, attempts: 2 })
    }))

  it.scoped("Policy5xxRemote503", () =>
    Effect.gen(function*() {
      const h = yield* setup(always(503), { retry: oneRetry })
      const exit = yield* h.run(h.api.get("/"))
      expect(statusOf(failureOf(exit))).toBe(503)
      expect(outcome(h, exit)).toEqual({ requests: 2, attempts: 2 })
    }))

  it.scoped("Policy5xxRemote503Overloaded", () =>
    Effect.gen(function*() {
      // Envoy never retries a 503 marked `x-envoy-overloaded: true`; Sturdy does so when a predicate says so
      const h = yield* setup(always(503, { "x-envoy-overloaded": "true" }), {
        retry: {
          ...oneRetry,
          retryOn: { ServerError: (e) => e.headers["x-envoy-overloaded"] !== "true" }
        }
      })
      const exit = yield* h.run(h.api.get("/"))
      expect(statusOf(failureOf(exit))).toBe(503)
      expect(h.seen).toHaveLength(1)
    }))

  for (const status of [502, 503, 504]) {
    it.scoped(`PolicyGatewayErrorRemote${status}`, () =>
      Effect.gen(function*() {
        const h = yield* setup(always(status), { retry: { ...oneRetry, statuses: [502, 503, 504] } })
        const exit = yield* h.run(h.api.get("/"))
        expect(statusOf(failureOf(exit))).toBe(status)
        expect(outcome(h, exit)).toEqual({ requests: 2, attempts: 2 })
      }))
  }

  it.scoped("PolicyGatewayErrorRemoteReset", () =>
    Effect.gen(function*() {
      const h = yield* setup(alwaysReset, { retry: { ...oneRetry, statuses: [502, 503, 504] } })
      const exit = yield* h.run(h.api.get("/"))
      expect(failureOf(exit)).toMatchObject({ _tag: "ConnectionError", reason: "Reset" })
      expect(outcome(h, exit)).toEqual({ requests: 2, attempts: 2 })
    }))

  it.scoped("Policy5xxRemote200RemoteReset", () =>
    Effect.gen(function*() {
      // a 200 is not retried; a reset is (Envoy: the state answers No to the 200's headers, Yes to a later reset)
      const ok = yield* setup(always(200), { retry: oneRetry })
      expect((yield* ok.run(ok.api.get("/")))._tag).toBe("Success")
      expect(ok.seen).toHaveLength(1)
      const h = yield* setup((_, response, n) => n === 1 ? reset(response) : send(response, 200, {}, fixture), {
        retry: oneRetry
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.seen).toHaveLength(2)
      // the reset after the 200's headers (the body cut short): retried too
      const cut = yield* setup((_, response, n) => {
        if (n > 1) return send(response, 200, {}, fixture)
        response.writeHead(200, { "content-length": "10" })
        response.write("abc", () => reset(response))
      }, { retry: oneRetry })
      expect(textOf(yield* cut.run(cut.api.get("/")))).toBe(fixture)
      expect(cut.seen).toHaveLength(2)
    }))

  it.scoped("PolicyConnectFailureOtherReset", () =>
    Effect.gen(function*() {
      const h = yield* setup(alwaysReset, { retry: { ...oneRetry, retryOn: onConnectFailure } })
      const exit = yield* h.run(h.api.get("/"))
      expect(failureOf(exit)).toMatchObject({ _tag: "ConnectionError", reason: "Reset" })
      expect(h.seen).toHaveLength(1)
    }))

  it.scoped("PolicyConnectFailureResetConnectFailure", () =>
    Effect.gen(function*() {
      const h = yield* setup(always(200), { retry: { ...oneRetry, retryOn: onConnectFailure } }, { listen: "later" })
      const exit = yield* h.run(h.api.get("/"))
      expect(failureOf(exit)).toMatchObject({ _tag: "ConnectionError", reason: "Refused" })
      expect(h.decisions.filter((d) => d.retrying)).toHaveLength(1)
      expect(Policy.attemptsOf(failureOf(exit))).toBe(2)
    }))

  it.scoped("PolicyRetriable4xxRetry", () =>
    Effect.gen(function*() {
      const h = yield* setup(always(409), { retry: { ...oneRetry, retryOn: onRetriable4xx } })
      const exit = yield* h.run(h.api.get("/"))
      expect(statusOf(failureOf(exit))).toBe(409)
      expect(outcome(h, exit)).toEqual({ requests: 2, attempts: 2 })
    }))

  it.scoped("PolicyRetriable4xxNoRetry", () =>
    Effect.gen(function*() {
      const h = yield* setup(always(400), { retry: { ...oneRetry, retryOn: onRetriable4xx } })
      const exit = yield* h.run(h.api.get("/"))
      expect(statusOf(failureOf(exit))).toBe(400)
      expect(h.seen).toHaveLength(1)
    }))

  it.scoped("PolicyRetriable4xxReset", () =>
    Effect.gen(function*() {
      const h = yield* setup(alwaysReset, { retry: { ...oneRetry, retryOn: onRetriable4xx } })
      const exit = yield* h.run(h.api.get("/"))
      expect(failureOf(exit)).toMatchObject({ _tag: "ConnectionError", reason: "Reset" })
      expect(h.seen).toHaveLength(1)
    }))

  it.scoped("RetriableStatusCodes", () =>
    Effect.gen(function*() {
      const h = yield* setup(always(409), { retry: { ...oneRetry, retryOn: onStatusCodes([409]) } })
      const exit = yield* h.run(h.api.get("/"))
      expect(statusOf(failureOf(exit))).toBe(409)
      expect(h.seen).toHaveLength(2)
    }))

  it.scoped("RetriableStatusCodesUpstreamReset", () =>
    Effect.gen(function*() {
      const h = yield* setup(alwaysReset, { retry: { ...oneRetry, retryOn: onStatusCodes([409]) } })
      const exit = yield* h.run(h.api.get("/"))
      expect(failureOf(exit)).toMatchObject({ _tag: "ConnectionError", reason: "Reset" })
      expect(h.seen).toHaveLength(1)
    }))

  it.scoped("PolicyResetRemoteReset", () =>
    Effect.gen(function*() {
      const h = yield* setup(alwaysReset, { retry: { ...oneRetry, retryOn: onReset } })
      const exit = yield* h.run(h.api.get("/"))
      expect(failureOf(exit)).toMatchObject({ _tag: "ConnectionError", reason: "Reset" })
      expect(outcome(h, exit)).toEqual({ requests: 2, attempts: 2 })
    }))

  it.scoped("PolicyLimitedByRequestHeaders", () =>
    Effect.gen(function*() {
      const methods = ["GET", "HEAD"] as const
      // GET with retriable-4xx: a 409 is retried
      const get409 = yield* setup(always(409), { retry: { ...oneRetry, methods, retryOn: onRetriable4xx } })
      yield* get409.run(get409.api.get("/"))
      expect(get409.seen).toHaveLength(2)
      // GET and HEAD with 5xx: a 500 is retried
      const get500 = yield* setup(always(500), { retry: { ...oneRetry, methods } })
      yield* get500.run(get500.api.get("/"))
      expect(get500.seen).toHaveLength(2)
      const head500 = yield* setup(always(500), { retry: { ...oneRetry, methods } })
      yield* head500.run(head500.api.head("/"))
      expect(head500.seen).toHaveLength(2)
      // HEAD with retriable-4xx: a 500 is not retried (only the configured condition retries)
      const head4xx = yield* setup(always(500), { retry: { ...oneRetry, methods, retryOn: onRetriable4xx } })
      yield* head4xx.run(head4xx.api.head("/"))
      expect(head4xx.seen).toHaveLength(1)
      // POST is not among the methods: no retry at all
      const post = yield* setup(always(500), { retry: { ...oneRetry, methods } })
      yield* post.run(post.api.post("/"))
      expect(post.seen).toHaveLength(1)
    }))

  it.scoped("RouteConfigNoRetriesAllowed", () =>
    Effect.gen(function*() {
      const h = yield* setup(always(200), { retry: { ...oneRetry, maxAttempts: 1, retryOn: onConnectFailure } }, {
        listen: "later"
      })
      const exit = yield* h.run(h.api.get("/"))
      expect(failureOf(exit)).toMatchObject({ _tag: "ConnectionError", reason: "Refused" })
      expect(h.decisions.filter((d) => d.retrying)).toHaveLength(0)
    }))

  it.scoped("RouteConfigNoHeaderConfig", () =>
    Effect.gen(function*() {
      // num_retries 1 and connect-failure set by the route (no request header): the refused connection is retried
      const h = yield* setup(always(200), { retry: { ...oneRetry, retryOn: onConnectFailure } }, { listen: "later" })
      const exit = yield* h.run(h.api.get("/"))
      expect(failureOf(exit)).toMatchObject({ _tag: "ConnectionError", reason: "Refused" })
      expect(h.decisions.filter((d) => d.retrying)).toHaveLength(1)
    }))

  it.scoped("NoAvailableRetries", () =>
    Effect.gen(function*() {
      // Envoy's max_retries circuit breaker at 0: the retry overflows. Sturdy: a retry budget that allows none
      const h = yield* setup(always(200), { retry: { ...oneRetry, retryOn: onConnectFailure, budget: true } }, {
        listen: "later"
      }).pipe(Effect.provideService(RetryBudget.RetryBudget, RetryBudget.unsafeMake({ ratio: 0, minRetries: 0 })))
      const exit = yield* h.run(h.api.get("/"))
      expect(failureOf(exit)).toMatchObject({ _tag: "RetryBudgetExhausted" })
      expect(h.decisions.filter((d) => d.retrying)).toHaveLength(0)
    }))

  it.scoped("MaxRetriesHeader", () =>
    Effect.gen(function*() {
      // three retries, then the limit
      const h = yield* setup(always(200), { retry: { ...oneRetry, maxAttempts: 4, retryOn: onConnectFailure } }, {
        listen: "later"
      })
      const exit = yield* h.run(h.api.get("/"))
      expect(failureOf(exit)).toMatchObject({ _tag: "ConnectionError", reason: "Refused" })
      expect(h.decisions.filter((d) => d.retrying)).toHaveLength(3)
      expect(Policy.attemptsOf(failureOf(exit))).toBe(4)
    }))

  // Envoy's default base interval 25 ms: random() 190 gives 190 % 25 = 15, 190 % 50 = 40, 190 % 100 = 90 ms
  it.scoped("Backoff", () =>
    Effect.gen(function*() {
      const schedule = Backoff.exponential({
        baseDelay: "25 millis",
        maxDelay: "250 millis",
        factor: 2,
        jitter: "full",
        maxAttempts: 4
      })
      const draws = Random.fixed([15.5 / 25, 40.5 / 50, 90.5 / 100])
      expect(stepDelays(schedule, [undefined, undefined, undefined], 0, draws)).toEqual([15, 40, 90])
      // over the wire: three retries, each wait within Envoy's envelope, then the 200
      const h = yield* setup((_, response, n) => n <= 3 ? reset(response) : send(response, 200, {}, fixture), {
        retry: { maxAttempts: 4, baseDelay: "25 millis", maxDelay: "250 millis", jitter: "full" }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.seen).toHaveLength(4)
      gaps(h).forEach((gap, i) => expect(gap).toBeLessThan(25 * 2 ** i))
    }))

  // base 100 ms, max 1.2 s: 149 % 100 = 49, 350 % 200 = 150, 751 % 400 = 351, 2399 % 800 = 799, 2399 % 1200 = 1199
  it.scoped("CustomBackOffInterval", () =>
    Effect.gen(function*() {
      const options = { baseDelay: "100 millis", maxDelay: "1200 millis", jitter: "full" } as const
      const schedule = Backoff.exponential({ ...options, factor: 2, maxAttempts: 11 })
      const envelopes = [100, 200, 400, 800, 1200]
      const wanted = [49, 150, 351, 799, 1199]
      const draws = Random.fixed(wanted.map((d, i) => (d + 0.5) / envelopes[i]!) as [number, ...Array<number>])
      expect(stepDelays(schedule, wanted.map(() => undefined), 0, draws)).toEqual(wanted)
      const h = yield* setup((_, response, n) => n <= 5 ? reset(response) : send(response, 200, {}, fixture), {
        retry: { ...options, maxAttempts: 11 }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      gaps(h).forEach((gap, i) => expect(gap).toBeLessThan(envelopes[i]!))
    }))

  // Envoy's default max is 10 × base (1 s): ... 2999 % 800 = 599, 2999 % 1000 = 999. Sturdy's maxDelay is given.
  it("CustomBackOffIntervalDefaultMax", () => {
    const schedule = Backoff.exponential({
      baseDelay: "100 millis",
      maxDelay: "1 second",
      factor: 2,
      jitter: "full",
      maxAttempts: 11
    })
    const envelopes = [100, 200, 400, 800, 1000]
    const wanted = [49, 150, 351, 599, 999]
    const draws = Random.fixed(wanted.map((d, i) => (d + 0.5) / envelopes[i]!) as [number, ...Array<number>])
    expect(stepDelays(schedule, wanted.map(() => undefined), 0, draws)).toEqual(wanted)
  })

  it.scoped("ZeroMaxRetriesHeader", () =>
    Effect.gen(function*() {
      const h = yield* setup(always(200), { retry: { ...oneRetry, maxAttempts: 1, retryOn: onConnectFailure } }, {
        listen: "later"
      })
      const exit = yield* h.run(h.api.get("/"))
      expect(failureOf(exit)).toMatchObject({ _tag: "ConnectionError", reason: "Refused" })
      expect(h.decisions.filter((d) => d.retrying)).toHaveLength(0)
    }))

  it.scoped("NoPreferredOverLimitExceeded", () =>
    Effect.gen(function*() {
      // one retry: the 503 is retried, and the 200 that answers it is the result
      const h = yield* setup((_, response, n) => n === 1 ? send(response, 503) : send(response, 200, {}, fixture), {
        retry: oneRetry
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.seen).toHaveLength(2)
    }))

  it.scoped("BudgetAvailableRetries", () =>
    Effect.gen(function*() {
      // Envoy: min_retry_concurrency 3 allows the retry although max_retries is 0. Sturdy: the budget's floor
      // (`minRetries`) allows it although the ratio allows none
      const h = yield* setup(always(500), { retry: { ...oneRetry, budget: true } }).pipe(
        Effect.provideService(RetryBudget.RetryBudget, RetryBudget.unsafeMake({ ratio: 0, minRetries: 3 }))
      )
      const exit = yield* h.run(h.api.get("/"))
      expect(statusOf(failureOf(exit))).toBe(500)
      expect(h.seen).toHaveLength(2)
    }))

  it.scoped("BudgetNoAvailableRetries", () =>
    Effect.gen(function*() {
      // a budget of 0 % with no floor: the retry is refused (Envoy: NoOverflow)
      const h = yield* setup(always(500), { retry: { ...oneRetry, budget: true } }).pipe(
        Effect.provideService(RetryBudget.RetryBudget, RetryBudget.unsafeMake({ ratio: 0, minRetries: 0 }))
      )
      const exit = yield* h.run(h.api.get("/"))
      expect(failureOf(exit)).toMatchObject({ _tag: "RetryBudgetExhausted" })
      expect(h.seen).toHaveLength(1)
    }))
})
