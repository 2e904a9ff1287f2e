// Ported from Envoy's test/common/router/router_test.cc (envoyproxy/envoy, stored version at commit
// cdd027dbcf251b74d1c35fc85ceda10330523868): its five cases with `enableHedgeOnPerTryTimeout()` (route
// `hedge_policy: {hedge_on_per_try_timeout: true}`), one `it` per case, named after it, over a real loopback server
// (`utils/retryHarness.ts`) with `@sturdy/http`'s `Policy` hedging option.
// Mapping: Envoy's per-try timeout with hedging on is a soft timeout: it sends another request and does not reset the
// first; that is the hedging `delay` (here 1 s for the test's 5 ms), with `attemptTimeout: false` (nothing cuts a
// copy). Envoy's global (route) timeout is `totalTimeout`. Envoy's retries and hedges share `num_retries`; the
// copies a call may add are `maxHedges`. Envoy's "retriable 5xx" is Sturdy's retry rule (a 500 lets the next copy
// start at once); "reset" is a copy aborted.
// Deliberate differences:
// - A 5xx with a copy still out sends the next copy at once while copies are left (as gRFC A6), without Envoy's
//   retry backoff in between ("HedgedPerTryTimeoutThirdRequestSucceeds"); Envoy retries it after its backoff.
// - There is no window between deciding on a hedge and sending it (Envoy schedules the hedge as a retry), so
//   "BadHeadersDroppedIfPreviousRetryScheduled" has the 5xx arrive just after the hedge is sent.
// Not ported: `initial_requests` and `additional_request_chance` (Envoy's docs mark both not implemented; Sturdy's
// nearest is a `delay` of 0, every copy at once), Envoy's outlier-detection and stats expectations.
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { abortedRequests, failureOf, send, setup, textOf } from "./utils/retryHarness.js"

const perTryTimeout = 1000
const options = (numRetries: number) => ({
  hedging: { delay: perTryTimeout, maxHedges: numRetries },
  attemptTimeout: false,
  totalTimeout: "1 minute",
  retry: false
} as const)

const arrivals = (h: { readonly seen: ReadonlyArray<{ readonly at: number }> }) =>
  h.seen.map((s) => s.at - h.seen[0]!.at)

describe("peer Envoy router_test (hedge_on_per_try_timeout)", () => {
  // the first request hits the per-try timeout: a second is sent, the first is not reset; the first's 200 is used
  // and the second is reset
  it.scoped("HedgedPerTryTimeoutFirstRequestSucceeds", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response, n, tools) => {
        if (n === 1) return tools.later(1500, () => send(response, 200, {}, "first"))
        tools.later(60_000, () => send(response, 200, {}, "second"))
      }, options(1))
      expect(textOf(yield* h.run(h.api.get("/")))).toBe("first")
      expect(arrivals(h)).toEqual([0, perTryTimeout])
      expect(yield* abortedRequests(h, 1)).toEqual([2])
    }))

  // the second request gets a 500 with no retries left while the first is still out: the 500 is not the answer,
  // the first's 200 is
  it.scoped("HedgedPerTryTimeoutResetsOnBadHeaders", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response, n, tools) => {
        if (n === 1) return tools.later(3000, () => send(response, 200, {}, "first"))
        tools.later(500, () => send(response, 500))
      }, options(1))
      expect(textOf(yield* h.run(h.api.get("/")))).toBe("first")
      expect(arrivals(h)).toEqual([0, perTryTimeout])
      expect(h.aborted).toEqual([])
    }))

  // 1) a 5xx, retried; 2) a per-try timeout, hedged; 3) good headers: the third's 200 is used and the second reset
  it.scoped("HedgedPerTryTimeoutThirdRequestSucceeds", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response, n, tools) => {
        if (n === 1) return send(response, 500)
        if (n === 2) return tools.later(60_000, () => send(response, 200, {}, "second"))
        send(response, 200, {}, "third")
      }, options(2))
      expect(textOf(yield* h.run(h.api.get("/")))).toBe("third")
      // the 5xx sends the second at once (Envoy: after its retry backoff), the third goes a per-try timeout later
      expect(arrivals(h)).toEqual([0, 0, perTryTimeout])
      expect(yield* abortedRequests(h, 1)).toEqual([2])
    }))

  // the first request times out and is hedged, then answers a 5xx: it is not retried again (its retry was the
  // hedge), and the global timeout ends the call
  it.scoped("RetryOnlyOnceForSameUpstreamRequest", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response, n, tools) => {
        if (n === 1) return tools.later(1500, () => send(response, 500))
        tools.later(120_000, () => send(response, 200, {}, "second"))
      }, options(1))
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(failure).toMatchObject({ _tag: "Timeout", phase: "Deadline" })
      expect(h.seen).toHaveLength(2)
      expect(arrivals(h)).toEqual([0, perTryTimeout])
      expect(yield* abortedRequests(h, 1)).toEqual([2])
    }))

  // the first request hits the per-try timeout and is hedged; its 5xx then comes back while the hedge is out: the
  // 5xx is not sent downstream, the hedge's 200 is
  it.scoped("BadHeadersDroppedIfPreviousRetryScheduled", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response, n, tools) => {
        if (n === 1) return tools.later(perTryTimeout + 1, () => send(response, 500))
        tools.later(500, () => send(response, 200, {}, "second"))
      }, options(1))
      expect(textOf(yield* h.run(h.api.get("/")))).toBe("second")
      expect(arrivals(h)).toEqual([0, perTryTimeout])
      expect(h.aborted).toEqual([])
    }))
})
