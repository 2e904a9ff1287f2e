// Ported from grpc-java's core/src/test/java/io/grpc/internal/RetriableStreamTest.java (grpc/grpc-java, commit
// 5fda0c7c35a938b2b0be05cdbe168dcb0700d64a): its two server-pushback hedging cases, over a real loopback server
// (`utils/retryHarness.ts`) with `@sturdy/http`'s `Policy` hedging option. The transport-free hedging cases are in
// packages/policy/test/peer-grpc-Hedge.test.ts.
// Mapping: gRPC's server pushback (the `grpc-retry-pushback-ms` trailer) is HTTP's `Retry-After` on a 503; a
// negative pushback ("do not retry") is a `Retry-After` above `retry.maxRetryAfter` (the call fails at once); the
// non-fatal status is the 503. The hedging delay of 100 s is 1 s here, and the test's maxAttempts 6 is `maxHedges: 5`.
// Deliberate difference (documented at `Policy.HedgingOptions`): a copy answered with a server wait (a 429 or a 503
// with Retry-After) is the hedging stage's answer: the copies still out are aborted and the retry stage decides,
// waiting as the server asked. grpc-java only changes its hedging on a pushback: a negative one stops new hedges and
// the call waits for the copies still out, a positive one sends the next hedge (grpc-java now sends it at once).
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { abortedRequests, failureOf, send, setup, statusOf, textOf } from "./utils/retryHarness.js"

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
      // grpc-java: no more hedges, and the call answers with a copy still out. Sturdy: the 503 with its wait ends
      // the hedging stage (the other copies are aborted), and the retry stage fails at once on a wait past
      // maxRetryAfter
      expect(statusOf(failureOf(exit))).toBe(503)
      const start = h.seen[0]!.at
      expect(h.seen.map((s) => s.at - start)).toEqual([0, 1000, 2000])
      // the copies still out were cancelled
      expect(yield* abortedRequests(h, 2)).toEqual([1, 3])
    }))

  it.scoped("hedging_pushback_positive", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response, n, tools) => {
        // the primary is answered with a pushback of the hedging delay + 1 s; the first hedge is slow
        if (n === 1) return tools.later(1500, () => send(response, 503, { "retry-after": "2" }))
        if (n === 2) return tools.later(60_000, () => send(response, 200, {}, "hedge 1"))
        send(response, 200, {}, `copy ${n}`)
      }, { hedging, attemptTimeout: false, totalTimeout: "1 minute", retry: { maxRetryAfter: "30 seconds" } })
      const exit = yield* h.run(h.api.get("/"))
      // grpc-java: the next hedge is sent, and the first hedge goes on. Sturdy: the server's wait goes to the retry
      // stage, which waits it out (2 s plus at most 10 %) and sends the request again
      expect(textOf(exit)).toBe("copy 3")
      const start = h.seen[0]!.at
      const at = h.seen.map((s) => s.at - start)
      expect(at.slice(0, 2)).toEqual([0, 1000])
      expect(at).toHaveLength(3)
      expect(at[2]).toBeGreaterThanOrEqual(1500 + 2000)
      expect(at[2]).toBeLessThanOrEqual(1500 + 2200)
      expect(h.decisions.map((d) => d.retrying)).toEqual([true])
      // the first hedge was cancelled with the hedging stage's answer
      expect(yield* abortedRequests(h, 1)).toEqual([2])
    }))
})
