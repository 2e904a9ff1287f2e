import { hasProperty } from "effect/Predicate"

const rejectionTags: ReadonlySet<unknown> = new Set([
  "CircuitOpen",
  "BulkheadRejected",
  "RateLimitExceeded",
  "AdaptiveThrottleRejected",
  "ConcurrencyLimitExceeded"
])

/**
 * A policy's own rejection says nothing about the upstream, so no breaker or throttle may count it.
 * Matching on the tag (not the class) keeps the policy modules free of imports of each other.
 * @internal
 */
export const isPolicyRejection = (error: unknown): boolean =>
  hasProperty(error, "_tag") && rejectionTags.has(error._tag)
