/**
 * @since 0.1.0
 */
export * as CircuitBreaker from "./CircuitBreaker.js"
export * as Bulkhead from "./Bulkhead.js"
export * as RateLimit from "./RateLimit.js"
