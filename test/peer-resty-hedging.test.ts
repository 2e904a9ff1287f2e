/**
 * go-resty/resty's `hedging_test.go` (v3, the `NewHedging()` / `Client.SetHedging` version; read through the code
 * index, stored text id 51832454690, with `hedging.go` at commit 08479099cd568df0cf3515d1858a452e1bab9ed0), ported to
 * Sturdy's public API: `Policy`'s `hedging` option over `@sturdy/node`'s undici transport against a real node:http
 * server on 127.0.0.1 (`test/utils/retryHarness.ts`), every delay on the TestClock. One `it` per resty case, named
 * after it. resty's server sleeps are `tools.later`, so each test checks exact virtual times and winners where
 * resty's, on a real clock, only logs.
 *
 * Mapping: `SetDelay(d)` is `hedging.delay`; `SetMaxRequest(n)` (copies in all, the first included) is
 * `hedging.maxHedges: n − 1`; `SetHedging(nil)` is `hedging: false`; resty's hedging replaces its retries, so the
 * ports run with `retry: false` (Sturdy composes the retry stage around hedging instead: see the pipeline in
 * `Policy`); the request's context deadline is `totalTimeout` (`attemptTimeout: false`). resty's
 * `createHedgingTestServer` answers attempt n after 800, 400, 10, 5, 1 ms.
 *
 * Deliberate differences (each test says which):
 * - `SetMaxRequestPerSecond(r)` (a pause of 1 s ÷ r before every hedge) has no counterpart: Sturdy paces hedges only
 *   by `delay`, and bounds their volume per upstream with the retry budget (`retry.budget`: every hedge withdraws a
 *   retry), not with a rate (TestHedgingRateLimit, TestHedgingRateDelayBetweenRequests).
 * - resty hedges only read-only methods (GET, HEAD, OPTIONS, TRACE, QUERY); Sturdy hedges every request that is safe
 *   to repeat (`Idempotency.isSafeToRepeat`), so PUT and DELETE are hedged too (TestHedgingReadOnlyMethodsOnly).
 * - resty's `SetNonReadOnlyAllowed(true)` hedges every POST; Sturdy hedges a POST that carries an `Idempotency-Key`
 *   (TestHedgingAllowNonReadOnly).
 *
 * Not ported: TestHedgingWithRetryFallback (resty's setters turning its retry count off and on; a Sturdy policy is
 * an immutable value, and retry and hedging compose), TestHedgingConfiguration, TestHedgingConfigurationViaClient,
 * TestHedgingEnableMultipleTimes, TestHedgingWrapWithDisabledHedging and TestHedgingNoDoubleWrap (getters, setters and
 * Go `RoundTripper` wrapping), TestHedgingWithCustomTransport and TestHedgingWithNilTransport (Go transport
 * plumbing), TestHedgingRoundTripDeadlineExpired (a `context.Context` whose deadline passed before the call: Sturdy has
 * no caller context, and a `totalTimeout` is never already past when the call starts).
 */
import { describe, expect, it } from "@effect/vitest"
import type { Policy } from "@sturdy/http"
import { Effect } from "effect"
import { abortedRequests, failureOf, type Handler, send, setup, textOf } from "./utils/retryHarness.js"

/** resty's createHedgingTestServer: attempt n answers "Attempt n" after 800, 400, 10, 5, 1 ms */
const timeouts = [800, 400, 10, 5, 1]
const hedgingServer: Handler = (_, response, n, tools) =>
  tools.later(timeouts[n - 1] ?? 1, () => send(response, 200, { "x-attempt": String(n) }, `Attempt ${n}`))

/** resty's `NewHedging().SetDelay(delay).SetMaxRequest(maxRequest).SetMaxRequestPerSecond(0)` */
const resty = (delay: number, maxRequest: number): Policy.Options => ({
  hedging: { delay: `${delay} millis`, maxHedges: maxRequest - 1 },
  retry: false,
  attemptTimeout: false
})

/** the virtual times (ms after the first) at which the server saw each request */
const arrivals = (seen: ReadonlyArray<{ readonly at: number }>) => seen.map((s) => s.at - seen[0]!.at)

/**
 * Checks that the server saw the requests at `expected` (ms after the first); a request may be recorded up to 1 ms
 * late, when the harness moved the TestClock past an unrelated timer while it was on its way over loopback.
 */
const expectArrivals = (seen: ReadonlyArray<{ readonly at: number }>, expected: ReadonlyArray<number>) => {
  const at = arrivals(seen)
  expect(at).toHaveLength(expected.length)
  at.forEach((ms, i) => {
    expect(ms).toBeGreaterThanOrEqual(expected[i]!)
    expect(ms).toBeLessThanOrEqual(expected[i]! + 1)
  })
}

describe("peer resty hedging_test.go", () => {
  it.scoped("TestHedgingBasic", () =>
    Effect.gen(function*() {
      const h = yield* setup(hedgingServer, resty(10, 3))
      const exit = yield* h.run(h.api.get("/"))
      // "total attempts should match max requests": 3 copies, 10 ms apart; the third answers first (at 30 ms)
      expect(textOf(exit)).toBe("Attempt 3")
      expect(h.seen).toHaveLength(3)
      expectArrivals(h.seen, [0, 10, 20])
      // the two slow copies that lost are cancelled
      expect(yield* abortedRequests(h, 2)).toEqual([1, 2])
    }))

  it.scoped("TestHedgingSecondWins", () =>
    Effect.gen(function*() {
      const slow = [400, 20]
      const h = yield* setup(
        (_, response, n, tools) => tools.later(slow[n - 1]!, () => send(response, 200, {}, `Attempt ${n}`)),
        resty(10, 2)
      )
      const exit = yield* h.run(h.api.get("/"))
      expect(textOf(exit)).toBe("Attempt 2")
      expect(h.seen).toHaveLength(2)
      expect(yield* abortedRequests(h, 1)).toEqual([1])
    }))

  it.scoped("TestHedgingTimeout", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response, n, tools) => {
        if (n === 1) return tools.later(300, () => send(response, 200, {}, "Attempt 1"))
        send(response, 200, {}, `Attempt ${n}`)
      }, resty(50, 3))
      const exit = yield* h.run(h.api.get("/"))
      // resty logs when the gap is not ~50 ms on its real clock; on the TestClock it is exactly the delay, and the
      // hedge's answer ends the call before a third copy is due
      expect(textOf(exit)).toBe("Attempt 2")
      expectArrivals(h.seen, [0, 50])
    }))

  it.scoped("TestHedgingReadOnlyMethodsOnly", () =>
    Effect.gen(function*() {
      // resty: GET, HEAD, OPTIONS hedged; POST, PUT, PATCH, DELETE sent once. Sturdy (deliberate difference): PUT and
      // DELETE are safe to repeat, so they are hedged too; POST and PATCH without an Idempotency-Key are not
      const cases = [
        ["GET", true],
        ["HEAD", true],
        ["OPTIONS", true],
        ["POST", false],
        ["PUT", true],
        ["PATCH", false],
        ["DELETE", true]
      ] as const
      for (const [method, hedged] of cases) {
        const h = yield* setup(hedgingServer, resty(10, 3))
        const call = method === "GET"
          ? h.api.get("/")
          : method === "HEAD"
          ? h.api.head("/")
          : method === "OPTIONS"
          ? h.api.options("/")
          : method === "POST"
          ? h.api.post("/")
          : method === "PUT"
          ? h.api.put("/")
          : method === "PATCH"
          ? h.api.patch("/")
          : h.api.del("/")
        const exit = yield* h.run(call)
        expect(exit._tag, method).toBe("Success")
        expect(h.seen.every((s) => s.method === method), method).toBe(true)
        // hedged: three copies (the third answers first, at 30 ms); not hedged: the one request, answered at 800 ms
        expect(h.seen.length, method).toBe(hedged ? 3 : 1)
      }
    }))

  it.scoped("TestHedgingRateLimit", () =>
    Effect.gen(function*() {
      // resty: SetDelay(10ms), SetMaxRequest(10), SetMaxRequestPerSecond(5) spaces hedges by 10 + 200 ms and only logs
      // the duration. Sturdy has no per-second rate of hedges (deliberate difference): copies go out every 10 ms, and
      // the third (answering after 10 ms) wins at 30 ms, the instant a fourth copy is due (sent or not), so the call
      // ends after 30 ms where resty's takes at least 430 ms
      const h = yield* setup(hedgingServer, resty(10, 10))
      const exit = yield* h.run(h.api.get("/"))
      expect(textOf(exit)).toBe("Attempt 3")
      expect(h.seen.length).toBeLessThanOrEqual(4)
      expectArrivals(h.seen.slice(0, 3), [0, 10, 20])
    }))

  it.scoped("TestHedgingDisable", () =>
    Effect.gen(function*() {
      // SetHedging(h) then SetHedging(nil): hedging off, one request however slow it is
      const h = yield* setup(hedgingServer, { ...resty(10, 3), hedging: false })
      const exit = yield* h.run(h.api.get("/"))
      expect(textOf(exit)).toBe("Attempt 1")
      expect(h.seen).toHaveLength(1)
    }))

  it.scoped("TestHedgingContextCancellation", () =>
    Effect.gen(function*() {
      // every attempt takes 200 ms; the caller's deadline is 20 ms
      const h = yield* setup(
        (_, response, _n, tools) => tools.later(200, () => send(response, 200)),
        { ...resty(10, 3), totalTimeout: "20 millis" }
      )
      const exit = yield* h.run(h.api.get("/"))
      // resty: context.DeadlineExceeded, more than one copy started, none completed. Sturdy: `Timeout` (phase
      // `Deadline`); the copies at 0 and 10 ms started, none at or after the deadline, and both were cancelled
      const failure = failureOf(exit)
      expect(failure._tag).toBe("Timeout")
      expect(failure._tag === "Timeout" && failure.phase).toBe("Deadline")
      expectArrivals(h.seen, [0, 10])
      expect(yield* abortedRequests(h, 2)).toEqual([1, 2])
    }))

  it.scoped("TestHedgingSingleRequest", () =>
    Effect.gen(function*() {
      // SetMaxRequest(1): no hedge (maxHedges 0)
      const h = yield* setup(hedgingServer, resty(10, 1))
      const exit = yield* h.run(h.api.get("/"))
      expect(textOf(exit)).toBe("Attempt 1")
      expect(h.seen).toHaveLength(1)
    }))

  it.scoped("TestHedgingAllowNonReadOnly", () =>
    Effect.gen(function*() {
      // by default a POST is not hedged
      const plain = yield* setup(hedgingServer, resty(10, 3))
      expect(textOf(yield* plain.run(plain.api.post("/")))).toBe("Attempt 1")
      expect(plain.seen).toHaveLength(1)
      // resty's SetNonReadOnlyAllowed(true) hedges every POST; Sturdy's counterpart (deliberate difference) is a POST
      // that carries an Idempotency-Key: hedged like a GET, the same key on every copy
      const keyed = yield* setup(hedgingServer, resty(10, 3))
      const exit = yield* keyed.run(keyed.api.post("/", { headers: { "idempotency-key": "k-1" } }))
      expect(textOf(exit)).toBe("Attempt 3")
      expect(keyed.seen).toHaveLength(3)
      expect(keyed.seen.map((s) => s.headers["idempotency-key"])).toEqual(["k-1", "k-1", "k-1"])
    }))

  it.scoped("TestHedgingRateDelayBetweenRequests", () =>
    Effect.gen(function*() {
      // every attempt takes 500 ms. resty: delay 10 ms, 3 copies, 5 per second: the gaps are at least 200 ms (10 +
      // 200). Sturdy (deliberate difference, no rate): the gaps are the delay, and the first copy wins at 500 ms
      const h = yield* setup(
        (_, response, n, tools) => tools.later(500, () => send(response, 200, {}, `Attempt ${n}`)),
        resty(10, 3)
      )
      const exit = yield* h.run(h.api.get("/"))
      expect(textOf(exit)).toBe("Attempt 1")
      expectArrivals(h.seen, [0, 10, 20])
    }))
})
