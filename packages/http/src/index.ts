/**
 * @since 0.1.0
 */
export * as Attempt from "./Attempt.js"

/**
 * @since 0.2.0
 */
export * as ClientResponse from "./ClientResponse.js"

/**
 * @since 0.2.0
 */
export * as HttpCache from "./HttpCache.js"

/**
 * @since 0.1.0
 */
export * as HttpFailure from "./HttpFailure.js"

/**
 * @since 0.1.0
 */
export * as Idempotency from "./Idempotency.js"

/**
 * @since 0.1.0
 */
export * as Policy from "./Policy.js"

/**
 * @since 0.1.0
 */
export * as Redaction from "./Redaction.js"

/**
 * @since 0.2.0
 */
export * as Redirect from "./Redirect.js"

/**
 * @since 0.1.0
 */
export * as RetryHeaders from "./RetryHeaders.js"

/**
 * @since 0.1.0
 */
export * as SturdyClient from "./SturdyClient.js"

/**
 * @since 0.1.0
 */
export * as Telemetry from "./Telemetry.js"

/**
 * @since 0.1.0
 */
export * as Auth from "./Auth.js"

/**
 * @since 0.1.0
 */
export * as OAuth2 from "./OAuth2.js"

/**
 * @since 0.2.0
 */
export * as Download from "./Download.js"

/**
 * @since 0.2.0
 */
export * as EventStream from "./EventStream.js"

/**
 * @since 0.2.0
 */
export * as Paginate from "./Paginate.js"

/**
 * @since 0.2.0
 */
export * as Poll from "./Poll.js"

/**
 * @since 0.2.0
 */
export * as JsonLines from "./JsonLines.js"
