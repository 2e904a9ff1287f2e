// Ported from grpc-java's core/src/test/java/io/grpc/internal/RetriableStreamTest.java (grpc/grpc-java, commit
// 5fda0c7c35a938b2b0be05cdbe168dcb0700d64a): its two server-pushback hedging cases, over a real loopback server
// (`utils/retryHarness.ts`) with `@sturdy/http`'s `Policy` hedging option. The transport-free hedging cases are in
// packages/policy/test/peer-grpc-Hedge.test.ts.
// Mapping: gRPC's server pushback (the `grpc-retry-pushback-ms` trailer) is HTTP's `Retry-After` on a 503; a
// negative pushback ("do not retry") is a `Retry-After` above `retry.maxRetryAfter` (the call fails at once); the
// non-fatal status is the 503. The hedging delay of 100 s is 1 s here, and the test's maxAttempts 6 is `maxHedges: 5`.
// As in grpc-java, a copy answered with a server wait (a 429 or a 503 with Retry-After, gRPC's pushback) stops new
// hedges and the call waits for the copies still out; only when they fail too does the wait reach the retry stage.
// Deliberate difference: a positive pushback does not schedule one more hedge after its delay, as grpc-java does; the
// copies already out answer, and the retry stage waits out the server's delay if they fail.
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { abortedRequests, send, setup, statusOf, textOf } from "./utils/retryHarness.js"

const hedging = { delay: "1 second", maxHedges: 5 } as const

describe("peer grpc-java RetriableStreamTest (hedging with server pushback)", () => {
  it.scoped("hedging_pushback_negative", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response, n, tools) => {
        // the primary and the second hedge are slow; the first hedge is answered with a "do not retry" pushback
        if (n === 2) return tools.later(1500, () => send(response, 503, { "retry-after": "3600" }))
        tools.later(10_000, () => send(response, 200, {}, `copy ${n}`))
      }, { hedging, attemptTimeout: false, totalTimeout: "1 minute", retry: { maxRetryAfter: "30 seconds" } })
      const exit = yield* h.run(h.api.get("/"))
      // as grpc-java: no more hedges after the pushback, and the call answers with a copy still out
      expect(textOf(exit)).toBe("copy 1")
      const start = h.seen[0]!.at
      expect(h.seen.map((s) => s.at - start)).toEqual([0, 1000, 2000])
      // the copy that lost was cancelled
      expect(yield* abortedRequests(h, 1)).toEqual([3])
    }))

  it.scoped("hedging_pushback_positive", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response, n, tools) => {
        // the primary is answered with a pushback of the hedging delay + 1 s; the first hedge is slow
        if (n === 1) return tools.later(1500, () => send(response, 503, { "retry-after": "2" }))
        if (n === 2) return tools.later(60_000, () => send(response, 200, {}, "hedge 1"))
        send(response, 200, {}, `copy ${n}`)
      }, { hedging, attemptTimeout: false, totalTimeout: "2 minutes", retry: { maxRetryAfter: "30 seconds" } })
      const exit = yield* h.run(h.api.get("/"))
      // grpc-java: the next hedge is sent after the pushback's delay, and the first hedge goes on. Sturdy: the
      // pushback stops the hedging and the first hedge, still out, answers; no third request, no retry
      expect(textOf(exit)).toBe("hedge 1")
      const start = h.seen[0]!.at
      expect(h.seen.map((s) => s.at - start)).toEqual([0, 1000])
      expect(h.decisions).toEqual([])
      expect(h.aborted).toEqual([])
    }))

  it.scoped("(Sturdy) a pushback reaches the retry stage when the copies still out fail too", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response, n, tools) => {
        // the primary is answered with a pushback of 2 s; the first hedge then fails without one
        if (n === 1) return tools.later(1500, () => send(response, 503, { "retry-after": "2" }))
        if (n === 2) return tools.later(800, () => send(response, 502))
        send(response, 200, {}, `copy ${n}`)
      }, { hedging, attemptTimeout: false, totalTimeout: "1 minute", retry: { maxRetryAfter: "30 seconds" } })
      const exit = yield* h.run(h.api.get("/"))
      // the server's wait, not the hedge's 502, is what the retry stage sees: it waits 2 s (plus at most 10 %)
      expect(textOf(exit)).toBe("copy 3")
      const start = h.seen[0]!.at
      const at = h.seen.map((s) => s.at - start)
      expect(at.slice(0, 2)).toEqual([0, 1000])
      expect(at[2]).toBeGreaterThanOrEqual(1800 + 2000)
      expect(at[2]).toBeLessThanOrEqual(1800 + 2200)
      expect(h.decisions.map((d) => d.retrying)).toEqual([true])
      expect(statusOf(h.decisions[0]!.failure)).toBe(503)
    }))
})
