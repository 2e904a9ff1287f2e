/**
 * googleapis/gax-nodejs (commit acfbe801d92219693b7ea5487ef701a77657dec8): the request-level cases of
 * `gax/test/unit/apiCallable.ts` (describes "createApiCall" and "retryable") and of `gax/test/unit/gax.ts` ("gax
 * construct settings"), ported to Sturdy's `Policy` over `@sturdy/node`'s undici transport against a node:http server
 * on 127.0.0.1 (`test/utils/retryHarness.ts`), every wait on the TestClock. One `it` per gax case, named after it
 * (prefixed with its describe). The transport-free cases of the "retryable" and "Promise" describes are in
 * `packages/policy/test/peer-gax-Retry.test.ts`, with the mapping of gax's `BackoffSettings` to `Backoff`/`Deadline`.
 *
 * Mapping: gax's `options.deadline` (the deadline each RPC is sent with) is the `deadlineHeader` (the time the attempt
 * has left, in milliseconds); a method's `timeout` (`timeout_millis`) is the `attemptTimeout`, and gax's
 * `totalTimeoutMillis` the `totalTimeout`; `retryCodes` (gRPC codes) is `retry.statuses` (here gax's code_a, code_b,
 * code_c are 502, 503, 504); a method's settings and a call's `CallOptions` overriding the client's are an
 * `endpoints` entry overriding the base options field by field (`"GET /<Method>"`), and gax's named, shared
 * `retry_params` / `retry_codes` tables are written out in each entry that uses them (Sturdy has no named settings);
 * `retry_params`' delays are `retry.delay` or `retry.schedule: Backoff.exponential(...)`; `apiName` is the upstream key
 * (`upstreamKey`); a method configured with `retry: null` is `retry: false`; gax's all-zero backoff is
 * `retry.delay: () => 0`.
 *
 * Deliberate differences (each test says which): a call's `timeout` in gax replaces the method's; in Sturdy an
 * endpoint's `attemptTimeout` does, but a request's own `timeout` only ever shortens the attempt (the shorter wins).
 * gax gives a retrying call without `initialRpcTimeoutMillis` its `timeout` (30 s by default) for the first attempt,
 * even past its 4.5 s total; Sturdy never gives an attempt more than the call has left, and derives an unset
 * `attemptTimeout` under a `totalTimeout` below 10 s as `totalTimeout ÷ maxAttempts`. Sturdy's per-attempt timeout does
 * not grow (gax's `rpcTimeoutMultiplier`): the growth is ported in the policy file, by hand. With `retryCodes` empty gax
 * does not retry at all; `retry.statuses: []` retries no status, and failures without a status keep the default rules.
 *
 * Not ported: createApiCall's "errors when you override custom retry.shouldRetryFn with a function on a non streaming
 * call" and "errors when a resumption strategy is passed for a non streaming call" (gax API restrictions Sturdy has no
 * counterpart of: `retryOn` takes predicates for every call); the streaming retries of `test/unit/streaming.ts` (resumption of server streams) and the
 * Operation API of `test/unit/longrunning.ts` (its "times out when polling" is in the policy file).
 */
import { HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import type { Policy } from "@sturdy/http"
import { Backoff } from "@sturdy/policy"
import { Duration, Effect, Option } from "effect"
import { delays, failureOf, fixture, type Handler, send, setup, statusOf, textOf } from "./utils/retryHarness.js"

const deadlineHeader = "x-request-timeout-ms"

/** answers each path with its own list of statuses, in order (200 with `fixture`; past the list, 200) */
const byPath = (answers: Record<string, ReadonlyArray<number>>): Handler => {
  const counts = new Map<string, number>()
  return (request, response) => {
    const n = (counts.get(request.path) ?? 0) + 1
    counts.set(request.path, n)
    const status = answers[request.path]?.[n - 1] ?? 200
    send(response, status, {}, status === 200 ? fixture : "")
  }
}

const deadlinesSent = (h: { readonly seen: ReadonlyArray<{ readonly headers: Record<string, unknown> }> }) =>
  h.seen.map((s) => s.headers[deadlineHeader])

describe("gax-nodejs test/unit/apiCallable.ts", () => {
  it.scoped("createApiCall calls api call", () =>
    Effect.gen(function*() {
      const h = yield* setup(byPath({}), { deadlineHeader: true })
      expect(textOf(yield* h.run(h.api.get("/method")))).toBe(fixture)
      // the attempt is sent with its deadline: the default attempt timeout, 10 s, within the 30 s total
      expect(deadlinesSent(h)).toEqual(["10000"])
    }))

  it.scoped("createApiCall is customized by call options", () =>
    Effect.gen(function*() {
      // settings {timeout: 100}, call {timeout: 200}: the call's deadline is 200 ms, not 100 ms
      const h = yield* setup(byPath({}), {
        attemptTimeout: "100 millis",
        deadlineHeader: true,
        endpoints: { "GET /custom": { attemptTimeout: "200 millis" } }
      })
      expect(textOf(yield* h.run(h.api.get("/custom")))).toBe(fixture)
      expect(textOf(yield* h.run(h.api.get("/other")))).toBe(fixture)
      expect(deadlinesSent(h)).toEqual(["200", "100"])
      // Sturdy: a request's own `timeout` never loosens the attempt timeout in force (the shorter wins)
      expect(textOf(yield* h.run(h.api.get("/other", { timeout: "200 millis" })))).toBe(fixture)
      expect(deadlinesSent(h)[2]).toBe("100")
    }))

  // gax issue #136: with no retry codes, the call's `timeout` (30 s) applies, not the backoff's initial rpc timeout
  // (2 s) nor its total (45 s)
  it.scoped("createApiCall chooses the proper timeout", () =>
    Effect.gen(function*() {
      const h = yield* setup(byPath({}), {
        attemptTimeout: "30 seconds",
        totalTimeout: "45 seconds",
        retry: false,
        deadlineHeader: true
      })
      expect(textOf(yield* h.run(h.api.get("/method")))).toBe(fixture)
      const sent = Number(deadlinesSent(h)[0])
      expect(sent).toBeGreaterThan(2100)
      expect(sent).toBeLessThanOrEqual(30100)
      expect(sent).toBe(30_000)
    }))

  // gax: the first attempt of a retrying call without `initialRpcTimeoutMillis` gets the `timeout` (30 s by default),
  // more than its own total of 4.5 s (the case asserts a deadline in (2.1 s, 30.1 s]). Sturdy: an attempt never gets
  // more than the call has left, and an unset attempt timeout under a total below 10 s is total ÷ maxAttempts (1.5 s).
  it.scoped("createApiCall default to `timeout` for idempotent API calls", () =>
    Effect.gen(function*() {
      const options: Policy.Options = { totalTimeout: "4500 millis", retry: { maxAttempts: 3 }, deadlineHeader: true }
      const h = yield* setup(byPath({}), options)
      expect(textOf(yield* h.run(h.api.get("/method")))).toBe(fixture)
      expect(deadlinesSent(h)).toEqual(["1500"])
      const described = h.policy.describe(HttpClientRequest.get(`${h.url}/method`))
      expect(Option.map(described.attemptTimeout, Duration.toMillis)).toEqual(Option.some(1500))
      expect(Option.map(described.totalTimeout, Duration.toMillis)).toEqual(Option.some(4500))
    }))

  // gax stubs its internal `retryable` to see the merged options; here the merge is seen in what is retried and when
  it.scoped("createApiCall override just custom retry.retryCodes with retry codes", () =>
    Effect.gen(function*() {
      const h = yield* setup(byPath({ "/override": [502, 502], "/initial": [502] }), {
        retry: { statuses: [500], maxAttempts: 3, baseDelay: "100 millis", maxDelay: "1 second", jitter: "none" },
        endpoints: { "GET /override": { retry: { statuses: [500, 502, 503] } } }
      })
      // the overriding codes retry 502, with the backoff of the settings (100 ms, 200 ms)
      expect(textOf(yield* h.run(h.api.get("/override")))).toBe(fixture)
      expect(h.seen.map((s) => s.path)).toEqual(["/override", "/override", "/override"])
      expect(delays(h)).toEqual([100, 200])
      // the initial codes still apply to the other calls
      expect(statusOf(failureOf(yield* h.run(h.api.get("/initial"))))).toBe(502)
      expect(h.seen.length).toBe(4)
    }))

  // initial: `createDefaultBackoffSettings()` (delay 100 ms ×1.3 up to 60 s); override: `createBackoffSettings(100, 1.2,
  // 1000, ...)`; both without jitter here (gax's is `Math.random() × delay`)
  it.scoped("createApiCall override just custom retry.backoffSettings", () =>
    Effect.gen(function*() {
      const gaxDelay = (initial: number, multiplier: number, max: number) => (attempt: number) =>
        Math.min(initial * multiplier ** (attempt - 1), max)
      const h = yield* setup(byPath({ "/override": [503, 503], "/other-status": [500], "/initial": [503, 503, 503] }), {
        retry: { statuses: [503], maxAttempts: 4, delay: gaxDelay(100, 1.3, 60_000) },
        endpoints: {
          "GET /override": { retry: { delay: gaxDelay(100, 1.2, 1000) } },
          "GET /other-status": { retry: { delay: gaxDelay(100, 1.2, 1000) } }
        }
      })
      // the overriding backoff (100 ms, 120 ms) with the codes of the settings
      expect(textOf(yield* h.run(h.api.get("/override")))).toBe(fixture)
      expect(h.seen.length).toBe(3)
      expect(delays(h)).toEqual([100, 120])
      // a status not in the settings' codes is still not retried
      expect(statusOf(failureOf(yield* h.run(h.api.get("/other-status"))))).toBe(500)
      expect(h.seen.length).toBe(4)
      // the initial backoff still applies to the other calls: 100, 130, 169 ms (100 × 1.3² is 169.00000000000003 in
      // floating point, which is no fraction of a millisecond to wait for)
      expect(textOf(yield* h.run(h.api.get("/initial")))).toBe(fixture)
      expect(h.seen.length).toBe(8)
      expect(delays(h).slice(2)).toEqual([100, 130, 169])
    }))

  it.scoped("retryable retries the API call with promise", () =>
    Effect.gen(function*() {
      const h = yield* setup(byPath({ "/method": [503, 503] }), {
        retry: { statuses: [503], delay: () => 0 },
        deadlineHeader: true
      })
      expect(textOf(yield* h.run(h.api.get("/method")))).toBe(fixture)
      expect(h.seen.length).toBe(3)
      // every attempt carried a deadline
      expect(deadlinesSent(h).every((d) => typeof d === "string" && Number(d) > 0)).toBe(true)
    }))

  it.scoped("retryable doesn't retry if no codes", () =>
    Effect.gen(function*() {
      const h = yield* setup(byPath({ "/method": [503, 503] }), { retry: { statuses: [], delay: () => 0 } })
      const failure = failureOf(yield* h.run(h.api.get("/method")))
      expect(statusOf(failure)).toBe(503)
      expect(h.seen.length).toBe(1)
      expect(h.decisions.map((d) => d.reason)).toEqual(["not-retryable"])
    }))
})

// gax's A_CONFIG: retry_codes foo_retry [code_a, code_b], bar_retry [code_c]; retry_params default (delay 100 ms ×1.2
// up to 1 s, rpc timeout 300 ms ×1.3 up to 3 s, total 30 s); BundlingMethod: timeout_millis 40000 (gax then makes its
// rpc and total timeouts 40 s too), foo_retry; PageStreamingMethod: bar_retry. Sturdy's attempt timeout does not
// grow: the method gets the 3 s maximum.
const SERVICE_NAME = "test.interface.v1.api"
const defaultRetry = {
  delay: (attempt: number) => Math.min(100 * 1.2 ** (attempt - 1), 1000),
  maxAttempts: Infinity
}
const A_CONFIG: Policy.Options = {
  upstreamKey: () => SERVICE_NAME,
  totalTimeout: "30 seconds",
  attemptTimeout: "3 seconds",
  retry: defaultRetry,
  endpoints: {
    "GET /BundlingMethod": {
      totalTimeout: "40 seconds",
      attemptTimeout: "40 seconds",
      retry: { statuses: [502, 503] }
    },
    "GET /PageStreamingMethod": { retry: { statuses: [504] } }
  }
}

describe("gax-nodejs test/unit/gax.ts", () => {
  it.scoped("gax construct settings creates settings", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        byPath({ "/BundlingMethod": [502, 503], "/PageStreamingMethod": [504, 503] }),
        { ...A_CONFIG, deadlineHeader: true }
      )
      const bundling = h.policy.describe(HttpClientRequest.get(`${h.url}/BundlingMethod`))
      expect(bundling.key).toBe(SERVICE_NAME)
      expect(Option.map(bundling.attemptTimeout, Duration.toMillis)).toEqual(Option.some(40_000))
      expect(Option.map(bundling.totalTimeout, Duration.toMillis)).toEqual(Option.some(40_000))
      const paging = h.policy.describe(HttpClientRequest.get(`${h.url}/PageStreamingMethod`))
      expect(paging.key).toBe(SERVICE_NAME)
      expect(Option.map(paging.totalTimeout, Duration.toMillis)).toEqual(Option.some(30_000))
      expect(Option.map(paging.attemptTimeout, Duration.toMillis)).toEqual(Option.some(3000))
      // retry codes [code_a, code_b]: both retried, after 100 ms then 120 ms
      expect(textOf(yield* h.run(h.api.get("/BundlingMethod")))).toBe(fixture)
      expect(h.seen.length).toBe(3)
      expect(delays(h)).toEqual([100, 120])
      expect(deadlinesSent(h)[0]).toBe("40000")
      // retry codes [code_c]: 504 retried, 503 not
      expect(statusOf(failureOf(yield* h.run(h.api.get("/PageStreamingMethod"))))).toBe(503)
      expect(h.seen.map((s) => s.path).slice(3)).toEqual(["/PageStreamingMethod", "/PageStreamingMethod"])
    }))

  // overrides: PageStreamingMethod: null (its retry off), BundlingMethod: {bundling: null} (nothing about retries)
  it.scoped("gax construct settings overrides settings", () =>
    Effect.gen(function*() {
      const overridden: Policy.Options = {
        ...A_CONFIG,
        endpoints: {
          "GET /BundlingMethod": A_CONFIG.endpoints!["GET /BundlingMethod"]!,
          "GET /PageStreamingMethod": { retry: false }
        }
      }
      const h = yield* setup(byPath({ "/PageStreamingMethod": [504] }), overridden)
      const bundling = h.policy.describe(HttpClientRequest.get(`${h.url}/BundlingMethod`))
      expect(Option.map(bundling.attemptTimeout, Duration.toMillis)).toEqual(Option.some(40_000))
      const paging = h.policy.describe(HttpClientRequest.get(`${h.url}/PageStreamingMethod`))
      expect(Option.map(paging.totalTimeout, Duration.toMillis)).toEqual(Option.some(30_000))
      expect(paging.maxAttempts).toBe(1)
      expect(statusOf(failureOf(yield* h.run(h.api.get("/PageStreamingMethod"))))).toBe(504)
      expect(h.seen.length).toBe(1)
    }))

  // overrides: retry_params default redefined (delay 1000 ms ×1.2 up to 10 s, rpc 3 s ×1.3 up to 30 s, total 300 s),
  // bar_retry [], baz_retry [code_a]; BundlingMethod: default params, baz_retry, timeout_millis 50000. The methods not
  // in the overrides keep the original definitions, PageStreamingMethod's 100 ms ×1.2 delays and bar_retry [code_c].
  it.scoped("gax construct settings overrides settings more precisely", () =>
    Effect.gen(function*() {
      const overridden: Policy.Options = {
        ...A_CONFIG,
        endpoints: {
          "GET /BundlingMethod": {
            totalTimeout: "50 seconds",
            attemptTimeout: "50 seconds",
            retry: {
              statuses: [502],
              schedule: Backoff.exponential({
                baseDelay: "1 second",
                factor: 1.2,
                maxDelay: "10 seconds",
                jitter: "none",
                maxAttempts: Infinity
              }),
              maxDelay: "10 seconds"
            }
          },
          "GET /PageStreamingMethod": A_CONFIG.endpoints!["GET /PageStreamingMethod"]!
        }
      }
      const h = yield* setup(
        byPath({ "/BundlingMethod": [502, 502, 502, 502, 503], "/PageStreamingMethod": [504, 504, 504] }),
        overridden
      )
      const bundling = h.policy.describe(HttpClientRequest.get(`${h.url}/BundlingMethod`))
      expect(Option.map(bundling.attemptTimeout, Duration.toMillis)).toEqual(Option.some(50_000))
      // baz_retry [code_a]: 502 retried, 503 not; the redefined delays, 1000 × 1.2ⁿ ms
      expect(statusOf(failureOf(yield* h.run(h.api.get("/BundlingMethod"))))).toBe(503)
      expect(h.seen.length).toBe(5)
      expect(delays(h)).toEqual([1000, 1200, 1440, 1728])
      // PageStreamingMethod is unaffected: the original 100 ms × 1.2ⁿ delays, bar_retry [code_c]
      expect(textOf(yield* h.run(h.api.get("/PageStreamingMethod")))).toBe(fixture)
      expect(h.seen.length).toBe(9)
      expect(delays(h).slice(4)).toEqual([100, 120, 144])
    }))
})
