// Ported from grpc-node's packages/grpc-js/test/test-retry-config.ts, its `retryThrottling` cases ("Retry configs" >
// "Throttling"; grpc/grpc-node, commit 2670b37a25dcd1e7b655609b0dc041060b1d8921), one `it` per case, named after it.
// The retry and hedging config cases, and test-retry.ts, are in test/peer-grpc-node-retry.test.ts (over `Policy`).
// Mapping: `retryThrottling { maxTokens, tokenRatio }` is a `RetryBudget` (`unsafeMake`, which throws a `RangeError`
// on a bad option) with `minRetries: maxTokens / 2 − 1` and `ratio: tokenRatio`, as in peer-grpc-RetryThrottling.
// Deliberate differences: `minRetries` has no ceiling (gRPC's maxTokens ≤ 1000), and `ratio: 0` (a fixed floor of
// retries per window) is valid where gRPC requires tokenRatio > 0; a negative floor or ratio is rejected.
// Not ported: "omitted maxTokens" and "omitted tokenRatio" (every `RetryBudget` option has a default).
import { describe, expect, it } from "@effect/vitest"
import * as RetryBudget from "@sturdy/policy/RetryBudget"

describe("peer grpc-node test-retry-config.ts: Throttling", () => {
  // retryThrottling { maxTokens, tokenRatio } is a RetryBudget { minRetries: maxTokens / 2 − 1, ratio: tokenRatio }
  it("Should accept a valid config", () => {
    expect(() => RetryBudget.unsafeMake({ minRetries: 49, ratio: 0.1 })).not.toThrow()
  })

  it("Should reject a large maxTokens", () => {
    // Sturdy (deliberate difference): no ceiling on minRetries
    expect(() => RetryBudget.unsafeMake({ minRetries: 1001 / 2 - 1, ratio: 0.1 })).not.toThrow()
  })

  it("Should reject zero maxTokens", () => {
    // "maxTokens / 2 − 1" for 0 tokens is a negative floor, rejected; a budget that never grants a retry is
    // `minRetries: 0, ratio: 0`, which is valid
    expect(() => RetryBudget.unsafeMake({ minRetries: 0, ratio: 0 })).not.toThrow()
    expect(() => RetryBudget.unsafeMake({ minRetries: -1, ratio: 0.1 })).toThrow(RangeError)
  })

  it("Should reject zero tokenRatio", () => {
    // Sturdy (deliberate difference): ratio 0 is a fixed floor of retries per window; a negative ratio is rejected
    expect(() => RetryBudget.unsafeMake({ minRetries: 49, ratio: 0 })).not.toThrow()
    expect(() => RetryBudget.unsafeMake({ minRetries: 49, ratio: -0.1 })).toThrow(RangeError)
  })
})
