import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import { hasProperty } from "effect/Predicate"
import type * as Tracer from "effect/Tracer"
import * as httpFailure from "./httpFailure.js"

// What the observation of calls reads, once for the package: whether a fiber's spans go anywhere, the status of a
// result or a failure, and which failures are a policy's own rejections.

// The tracer every fiber has unless a real one (OpenTelemetry, ...) is installed: its spans go nowhere.
const nativeTracer: Tracer.Tracer = Effect.runSync(Effect.tracer)

/** @internal Whether the fiber's spans go anywhere: a real tracer is installed and tracing is on. */
export const isTracing = (fiber: Fiber.RuntimeFiber<unknown, unknown>): boolean =>
  fiber.currentTracer !== nativeTracer && fiber.getFiberRef(FiberRef.currentTracerEnabled)

const isResponse = (u: unknown): u is HttpClientResponse.HttpClientResponse =>
  typeof u === "object" && u !== null && HttpClientResponse.TypeId in u

const numericStatus = (u: unknown): number | undefined =>
  hasProperty(u, "status") && typeof u.status === "number" ? u.status : undefined

/**
 * The status of a response, an `Attempt.Received` (its response's) or a failure with a status; never of a decoded
 * body, whose `status` means something else.
 * @internal
 */
export const statusOf = (u: unknown): number | undefined => {
  if (isResponse(u)) return u.status
  if (hasProperty(u, "response") && isResponse(u.response)) return u.response.status
  return httpFailure.isHttpFailure(u) ? numericStatus(u) : undefined
}

/**
 * The policies' own rejections, by tag: the policy that turned the call or the attempt away (as telemetry names it),
 * and whether it turns away one attempt (the breaker, the bulkhead, the adaptive throttle and the concurrency limit,
 * inside the retries) or the whole call.
 * @internal
 */
export const rejections: Readonly<
  Record<string, { readonly policy: string; readonly rejects: "attempt" | "call" } | undefined>
> = {
  CircuitOpen: { policy: "circuit_breaker", rejects: "attempt" },
  BulkheadRejected: { policy: "bulkhead", rejects: "attempt" },
  ConcurrencyLimitExceeded: { policy: "concurrency_limit", rejects: "attempt" },
  RateLimitExceeded: { policy: "rate_limit", rejects: "call" },
  RateLimitStoreError: { policy: "rate_limit", rejects: "call" },
  AdaptiveThrottleRejected: { policy: "adaptive_throttle", rejects: "attempt" }
}
