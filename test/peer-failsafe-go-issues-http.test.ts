// Ported from failsafe-go's test/issues/issue65_test.go (failsafe-go/failsafe-go, commit
// 5759a5e6d557eace215f820f5b5e663d5c05c3ee), one `it` per Go case (`t.Run`), named after it, over a real loopback
// server (`utils/retryHarness.ts`) with `@sturdy/http`'s `Policy`. The transport-free failsafe-go ports are in
// packages/policy/test/peer-failsafe-go-*.test.ts.
// The issue: a hedged response whose headers come at once and whose body comes 100 ms later lost its body, because the
// policy cancelled the winning attempt's context when it returned. Mapping: `failsafehttp.NewRoundTripper` with
// `hedgepolicy.NewBuilderWithDelay(time.Nanosecond)` is a `Policy` with `hedging: { delay: "1 millis" }` (the
// smallest delay a timer holds); `failsafehttp.NewRetryPolicyBuilder()` is the policy's default retry stage, and
// "without retry policy" is `retry: false`. `MockDelayedResponseWithEarlyFlush(200, "foo", 100ms)` is a handler that
// writes and flushes the head at once and ends the body 100 ms of TestClock time later.
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import type * as Http from "node:http"
import { abortedRequests, setup, textOf } from "./utils/retryHarness.js"

// MockDelayedResponseWithEarlyFlush(200, "foo", 100ms)
const earlyFlush = (_: unknown, response: Http.ServerResponse, __: number, tools: {
  readonly later: (millis: number, answer: () => void) => void
}) => {
  response.writeHead(200, { "content-type": "text/plain" })
  response.flushHeaders()
  tools.later(100, () => response.end("foo"))
}

describe("peer failsafe-go TestIssue65", () => {
  it.scoped("without retry policy", () =>
    Effect.gen(function*() {
      const h = yield* setup(earlyFlush, { hedging: { delay: "1 millis" }, retry: false })
      const exit = yield* h.run(h.api.get("/"))
      expect(textOf(exit)).toBe("foo")
      // the hedge was sent (no body within its delay), and the copy that lost was cancelled, not the winner
      expect(h.seen.length).toBe(2)
      expect(yield* abortedRequests(h, 1)).toEqual([2])
    }))

  it.scoped("with retry policy", () =>
    Effect.gen(function*() {
      const h = yield* setup(earlyFlush, { hedging: { delay: "1 millis" } })
      const exit = yield* h.run(h.api.get("/"))
      expect(textOf(exit)).toBe("foo")
      // the hedge was sent (no body within its delay), and the copy that lost was cancelled, not the winner
      expect(h.seen.length).toBe(2)
      expect(yield* abortedRequests(h, 1)).toEqual([2])
    }))
})
