/**
 * The exit codes of the `sturdy` command: one per kind of failure, so a script can tell a refused connection from
 * a 404 or a schema mismatch without parsing stderr.
 *
 * | code | kind               | meaning                                                                          |
 * | ---: | ------------------ | -------------------------------------------------------------------------------- |
 * | 0    | `Ok`               | the request succeeded (2xx), or the command finished                             |
 * | 1    | `Internal`         | unexpected internal error (a bug)                                                |
 * | 2    | `Usage`            | unknown option, bad value, unreadable `--policy`/`--schema` file, invalid policy, a `--cacert`/`--cert`/`--key` file that cannot be read or does not hold PEM of its kind |
 * | 3    | `InvalidRequest`   | malformed or non-http(s) URL, header with CR/LF, body that failed to encode      |
 * | 4    | `ClientError`      | 4xx other than 429                                                               |
 * | 5    | `ServerError`      | 5xx                                                                              |
 * | 6    | `RateLimited`      | 429, or a client-side rate limit / server pause refused the call                 |
 * | 7    | `Connection`       | refused, DNS lookup, TLS, proxy refused the tunnel or the SOCKS5 connection, reset before a response |
 * | 8    | `Timeout`          | an attempt timed out, or the call ran past its deadline                          |
 * | 9    | `UnexpectedStatus` | 1xx or an unfollowed 3xx, or a redirect that could not be followed               |
 * | 10   | `InvalidResponse`  | invalid JSON, a body that does not decompress, or an unexpected `Content-Type`   |
 * | 11   | `SchemaMismatch`   | the JSON body does not match `--schema`                                          |
 * | 12   | `BodyIncomplete`   | the body was cut off, or is larger than the size limit                           |
 * | 13   | `CircuitOpen`      | the circuit breaker for the upstream is open                                     |
 * | 14   | `Rejected`         | another policy rejected the call (bulkhead full, adaptive throttle, concurrency limit reached, rate limiter store down) |
 * | 130  | `Interrupted`      | interrupted by Ctrl-C (SIGINT, 128 + 2); a SIGTERM exits 143 (128 + 15)          |
 *
 * When the retry budget stops the retries, the code is the one of the last attempt's failure.
 *
 * @since 0.1.0
 */
import type * as HttpFailure from "@sturdy/http/HttpFailure"
import type * as AdaptiveThrottle from "@sturdy/policy/AdaptiveThrottle"
import type * as Bulkhead from "@sturdy/policy/Bulkhead"
import type * as CircuitBreaker from "@sturdy/policy/CircuitBreaker"
import type * as ConcurrencyLimit from "@sturdy/policy/ConcurrencyLimit"
import type * as RateLimit from "@sturdy/policy/RateLimit"
import type * as RetryBudget from "@sturdy/policy/RetryBudget"
import * as internal from "./internal/exitCode.js"

/**
 * The kinds of outcome, each with its own exit code.
 *
 * @since 0.1.0
 * @category models
 */
export type Kind =
  | "Ok"
  | "Internal"
  | "Usage"
  | "InvalidRequest"
  | "ClientError"
  | "ServerError"
  | "RateLimited"
  | "Connection"
  | "Timeout"
  | "UnexpectedStatus"
  | "InvalidResponse"
  | "SchemaMismatch"
  | "BodyIncomplete"
  | "CircuitOpen"
  | "Rejected"
  | "Interrupted"

/**
 * A failed call through the policy pipeline: an HTTP failure or a policy's own rejection (the same union as
 * `@sturdy/http`'s `Policy.Failure`).
 *
 * @since 0.1.0
 * @category models
 */
export type Failure =
  | HttpFailure.HttpFailure
  | CircuitBreaker.CircuitOpen
  | Bulkhead.BulkheadRejected
  | AdaptiveThrottle.AdaptiveThrottleRejected
  | ConcurrencyLimit.ConcurrencyLimitExceeded
  | RateLimit.RateLimitExceeded
  | RateLimit.RateLimitStoreError
  | RetryBudget.RetryBudgetExhausted<Failure>

/**
 * The exit code of each kind (see the module's table).
 *
 * @example
 * ```ts
 * import { ExitCode } from "@sturdy/cli"
 *
 * console.log(ExitCode.codes.SchemaMismatch) // 11
 * ```
 * @since 0.1.0
 * @category constants
 */
export const codes: { readonly [K in Kind]: number } = internal.codes

/**
 * One line per kind, for help texts and docs.
 *
 * @example
 * ```ts
 * import { ExitCode } from "@sturdy/cli"
 *
 * console.log(ExitCode.descriptions.Timeout)
 * ```
 * @since 0.1.0
 * @category constants
 */
export const descriptions: { readonly [K in Kind]: string } = internal.descriptions

/**
 * The kind of a failed call through the policy pipeline.
 *
 * @example
 * ```ts
 * import { ExitCode } from "@sturdy/cli"
 *
 * const describe = (failure: ExitCode.Failure) => ExitCode.descriptions[ExitCode.kindOf(failure)]
 * ```
 * @since 0.1.0
 * @category classification
 */
export const kindOf: (failure: Failure) => Kind = internal.kindOf

/**
 * The exit code of a failed call through the policy pipeline.
 *
 * @example
 * ```ts
 * import { ExitCode } from "@sturdy/cli"
 * import { HttpFailure } from "@sturdy/http"
 * import { Option } from "effect"
 *
 * const notFound = new HttpFailure.ClientError({
 *   method: "GET", url: "https://x.test/", status: 404, headers: {}, bodyExcerpt: "", payload: Option.none()
 * })
 * ExitCode.fromFailure(notFound) // 4
 * ```
 * @since 0.1.0
 * @category classification
 */
export const fromFailure: (failure: Failure) => number = internal.fromFailure

/**
 * The table as Markdown (code, kind, meaning), as the README shows it.
 *
 * @example
 * ```ts
 * import { ExitCode } from "@sturdy/cli"
 *
 * console.log(ExitCode.markdownTable())
 * ```
 * @since 0.1.0
 * @category rendering
 */
export const markdownTable: () => string = internal.markdownTable
