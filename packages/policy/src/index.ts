/**
 * @since 0.1.0
 */
export * as AdaptiveThrottle from "./AdaptiveThrottle.js"
export * as Backoff from "./Backoff.js"
export * as Bulkhead from "./Bulkhead.js"
export * as CircuitBreaker from "./CircuitBreaker.js"
export * as CircuitBreakerStore from "./CircuitBreakerStore.js"
export * as Deadline from "./Deadline.js"
export * as Fallback from "./Fallback.js"
export * as Hedge from "./Hedge.js"
export * as RateLimit from "./RateLimit.js"
export * as Retry from "./Retry.js"
export * as RetryBudget from "./RetryBudget.js"
export * as RetryBudgetStore from "./RetryBudgetStore.js"

/**
 * @since 0.2.0
 */
export * as Balancer from "./Balancer.js"

/**
 * @since 0.2.0
 */
export * as BulkheadStore from "./BulkheadStore.js"

/**
 * @since 0.2.0
 */
export * as Coalesce from "./Coalesce.js"

/**
 * @since 0.2.0
 */
export * as ConcurrencyLimit from "./ConcurrencyLimit.js"

/**
 * @since 0.2.0
 */
export * as Runner from "./Runner.js"
export * as StaleCache from "./StaleCache.js"
export * as Workflow from "./Workflow.js"
