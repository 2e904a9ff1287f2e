/**
 * @since 0.1.0
 */
export {}
export * as RetryHeaders from "./RetryHeaders.js"
