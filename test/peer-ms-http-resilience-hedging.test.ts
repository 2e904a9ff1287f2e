/**
 * Microsoft.Extensions.Http.Resilience's tests of the standard hedging handler's behaviour (dotnet/extensions, commit
 * 5862342c9a100ca33f5d1f2bd58c511bde1e8f40, test/Libraries/Microsoft.Extensions.Http.Resilience.Tests:
 * Hedging/HedgingTests.cs, run by Hedging/StandardHedgingTests.cs, and StandardHedgingTests.cs's own request cases),
 * ported to `SturdyClient` with `@sturdy/http`'s `Policy` (`hedging`) over `@sturdy/node`'s undici transport against a
 * real node:http server on 127.0.0.1, every wait on the TestClock (test/utils/retryHarness.ts). One `it` per peer case,
 * named after it. Its validation, configuration and pipeline cases are in test/peer-ms-http-resilience-options.test.ts;
 * HttpClientHedgingResiliencePredicatesTests.cs is ported in test/peer-polly-http.test.ts.
 *
 * Mapping: the peer's fixture (`MaxHedgedAttempts` 2, `Delay` 5 ms) is `hedging: { delay: "5 millis", maxHedges: 2 }`,
 * with retries off (`retry: false`) so that every request the server sees is a hedge; the queue of canned responses is
 * the server's answer to the n-th request; `OnHedging` is the `HedgeStarted` event; each attempt's own resilience
 * context is the attempt's `AttemptStarted` event (its hedge index); `HttpRequestException("Something went wrong!")`
 * is a connection cut after the server read the request (`ConnectionError`).
 *
 * Deliberate differences (asserted as Sturdy documents them, the peer's named): when every copy fails, Sturdy answers
 * the last failure (`hedging.failure: "first"` keeps the earliest, as the peer returns the primary's 503); Sturdy has no
 * routing: every copy goes to the request's own URL (the peer's `NoRouting_Ok`), and the number of copies is
 * `maxHedges` + 1 rather than the number of routes; an infinite hedging delay (the peer's `Timeout.InfiniteTimeSpan`)
 * is refused, an hour stands for it.
 *
 * Not ported: the routing cases (`Send_NoRoutes_Throws`, `Send_NoRoutesLeft_EnsureLessThanMaxHedgedAttempts`: no
 * routing strategy in Sturdy), `Send_EnsureContextReplacedInRequestMessage` (Polly's `ResilienceContext` on the
 * `HttpRequestMessage`: Sturdy's requests are immutable values, the caller's is never replaced).
 */
import { describe, expect, it } from "@effect/vitest"
import type { Policy } from "@sturdy/http"
import { Effect } from "effect"
import type * as Http from "node:http"
import { failureOf, fixture, type Handler, send, setup, textOf } from "./utils/retryHarness.js"

const hedging = { delay: "5 millis", maxHedges: 2 } as const
const path = "/some-path?query"

/** the server answers the n-th request with `statuses[n - 1]` (200 `fixture` past the end) */
const answers = (...statuses: ReadonlyArray<number>): Handler => (_, response, n) => {
  const status = statuses[n - 1] ?? 200
  return status === 200 ? send(response, 200, {}, fixture) : send(response, status)
}
const cut = (response: Http.ServerResponse) => response.socket?.destroy()

/** a per-call event log */
const events = () => {
  const seen: Array<Policy.Event> = []
  const onEvent = (event: Policy.Event) => Effect.sync(() => void seen.push(event))
  return { seen, onEvent }
}

describe("peer dotnet HedgingTests", () => {
  // 3 × 500: OnHedging is called twice
  it.scoped("Send_EnsureContextFlows", () =>
    Effect.gen(function*() {
      const h = yield* setup(answers(500, 500, 500), { retry: false, hedging })
      const log = events()
      expect(failureOf(yield* h.run(h.api.get(path, { onEvent: log.onEvent })))).toMatchObject({ status: 500 })
      expect(log.seen.filter((e) => e._tag === "HedgeStarted")).toHaveLength(2)
      expect(h.seen.length).toBe(3)
    }))

  it.scoped("Send_NoErrors_ShouldReturnSingleResponse", () =>
    Effect.gen(function*() {
      const h = yield* setup(answers(200), { retry: false, hedging })
      expect(textOf(yield* h.run(h.api.get(path)))).toBe(fixture)
      expect(h.seen.map((s) => s.path)).toEqual([path])
    }))

  // every copy fails with an exception (two routes): the exception is thrown, after two requests
  it.scoped("Send_NoRoutesLeftAndNoResult_ShouldThrow", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response) => cut(response), { retry: false, hedging: { ...hedging, maxHedges: 1 } })
      expect(failureOf(yield* h.run(h.api.get(path)))).toMatchObject({ _tag: "ConnectionError" })
      expect(h.seen.length).toBe(2)
    }))

  // 503, 500, 500: three requests, and the peer answers the primary's 503. Sturdy answers the last failure by default;
  // `failure: "first"` answers the earliest, as the peer does.
  it.scoped("Send_NoRoutesLeftAndSomeResultPresent_ShouldReturn", () =>
    Effect.gen(function*() {
      const last = yield* setup(answers(503, 500, 500), { retry: false, hedging })
      expect(failureOf(yield* last.run(last.api.get(path)))).toMatchObject({ _tag: "ServerError", status: 500 })
      expect(last.seen.length).toBe(3)
      const first = yield* setup(answers(503, 500, 500), { retry: false, hedging: { ...hedging, failure: "first" } })
      expect(failureOf(yield* first.run(first.api.get(path)))).toMatchObject({ _tag: "ServerError", status: 503 })
      expect(first.seen.length).toBe(3)
    }))

  // each of the three attempts has its own context: here, its own hedge index
  it.scoped("Send_EnsureDistinctContextForEachAttempt", () =>
    Effect.gen(function*() {
      const h = yield* setup(answers(500, 500, 500), { retry: false, hedging })
      const log = events()
      yield* h.run(h.api.get(path, { onEvent: log.onEvent }))
      const started = log.seen.filter((e): e is Policy.AttemptStarted => e._tag === "AttemptStarted")
      expect(new Set(started.map((e) => e.hedge))).toEqual(new Set([0, 1, 2]))
    }))

  // 500, 503, 200: three requests, the 200 is the answer
  it.scoped("Send_FailedExecution_ShouldReturnResponseFromHedging", () =>
    Effect.gen(function*() {
      const h = yield* setup(answers(500, 503, 200), { retry: false, hedging })
      expect(textOf(yield* h.run(h.api.get(path)))).toBe(fixture)
      expect(h.seen.map((s) => s.path)).toEqual([path, path, path])
    }))
})

describe("peer dotnet StandardHedgingTests", () => {
  // Delay infinite (hedge only when a copy fails), MaxHedgedAttempts 2 then 6: 3 × 500 then 7 × 500. Sturdy builds a
  // new policy for the new options (no reload), and an hour stands for the infinite delay.
  it.scoped("DynamicReloads_Ok", () =>
    Effect.gen(function*() {
      for (const maxHedges of [2, 6]) {
        const h = yield* setup((_, response) => send(response, 500), {
          retry: false,
          hedging: { delay: "1 hour", maxHedges }
        })
        const log = events()
        expect(failureOf(yield* h.run(h.api.get(path, { onEvent: log.onEvent })))).toMatchObject({ status: 500 })
        expect([maxHedges, h.seen.length]).toEqual([maxHedges, maxHedges + 1])
        const triggers = log.seen.flatMap((e) => e._tag === "HedgeStarted" ? [e.trigger] : [])
        expect(triggers).toEqual(Array.from({ length: maxHedges }, () => "failure"))
      }
    }))

  // no routing: every copy goes to the request's URL
  it.scoped("NoRouting_Ok", () =>
    Effect.gen(function*() {
      const h = yield* setup(answers(500, 500, 500), { retry: false, hedging })
      yield* h.run(h.api.get(path))
      expect(h.seen.map((s) => s.path)).toEqual([path, path, path])
    }))

  // The first endpoint fails after 100 ms (a connection timeout), the second answers after 1 s: the call succeeds.
  // MaxHedgedAttempts 10, Delay 11 s, FailureRatio 0.99 over 900 s, total and attempt timeouts 200 s.
  it.scoped("Send_FailedConnect_ShouldReturnResponseFromHedging", () =>
    Effect.gen(function*() {
      const h = yield* setup(
        (_, response, n, tools) =>
          n === 1
            ? tools.later(100, () => cut(response))
            : tools.later(1000, () => send(response, 200, {}, fixture)),
        {
          retry: false,
          hedging: { delay: "11 seconds", maxHedges: 10 },
          circuitBreaker: { failureRateThreshold: 0.99, slidingWindow: "900 seconds" },
          totalTimeout: "200 seconds",
          attemptTimeout: "200 seconds"
        }
      )
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.seen.length).toBe(2)
      expect(h.seen[1]!.at - h.seen[0]!.at).toBe(100)
    }))
})
