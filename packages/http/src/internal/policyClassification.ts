import type * as AdaptiveThrottle from "@sturdy/policy/AdaptiveThrottle"
import type * as Bulkhead from "@sturdy/policy/Bulkhead"
import type * as CircuitBreaker from "@sturdy/policy/CircuitBreaker"
import type * as ConcurrencyLimit from "@sturdy/policy/ConcurrencyLimit"
import type * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as HttpFailure from "../HttpFailure.js"
import type * as P from "../Policy.js"
import * as httpFailure from "./httpFailure.js"
import * as observe from "./observe.js"
import type * as policyOptions from "./policyOptions.js"

// -----------------------------------------------------------------------------
// classification
// -----------------------------------------------------------------------------

/** @internal */
export type Guarded =
  | HttpFailure.HttpFailure
  | CircuitBreaker.CircuitOpen
  | Bulkhead.BulkheadRejected
  | AdaptiveThrottle.AdaptiveThrottleRejected
  | ConcurrencyLimit.ConcurrencyLimitExceeded

/**
 * The default of which failures count against the upstream's breaker: server failures only (the `counts` column of
 * the classification table in internal/httpFailure.ts). A 429 says "slow down", not "I am broken" (and pauses the key
 * already); other 4xx and bad bodies are answers from a live upstream.
 * @internal
 */
export const countsAgainstUpstream = (error: unknown): boolean =>
  HttpFailure.isHttpFailure(error) && httpFailure.treatment(error).counts

/**
 * Failures that say nothing about the upstream, so they neither count nor prove it alive: the caller's deadline, a
 * request that never left (malformed, without credentials, or whose host did not resolve), a TLS failure (a
 * configuration matter).
 * @internal
 */
export const saysNothingAboutUpstream = (error: unknown): boolean => {
  if (!HttpFailure.isHttpFailure(error)) return true
  switch (error._tag) {
    case "Timeout":
      return error.phase === "Deadline"
    case "InvalidRequest":
    case "AuthenticationFailed":
      return true
    case "ConnectionError":
      return error.reason === "DnsLookup" || error.reason === "Tls" || error.reason === "Proxy"
    default:
      return false
  }
}

// The failures the status is the verdict of: an answer whose status is the failure. A body that was cut short, too
// large or that does not decode also carries its response's status (a 200, mostly), but the status is not what
// failed: an allow-list of statuses does not judge it.
const isStatusFailure = (
  failure: HttpFailure.HttpFailure
): failure is
  | HttpFailure.ClientError
  | HttpFailure.RateLimited
  | HttpFailure.ServerError
  | HttpFailure.UnexpectedStatus =>
  failure._tag === "ClientError" || failure._tag === "RateLimited" || failure._tag === "ServerError" ||
  failure._tag === "UnexpectedStatus"

/** @internal The breaker's `isFailure` for a `circuitBreaker.countsAsFailure` setting. */
export const breakerCounts = (rule: P.CountsAsFailure | undefined): (error: unknown) => boolean => {
  if (rule === undefined) return countsAgainstUpstream
  if (typeof rule === "function") {
    return (error) => HttpFailure.isHttpFailure(error) && answerOf(rule(error), "circuitBreaker.countsAsFailure")
  }
  const statuses = new Set(rule)
  return (error) => {
    if (!HttpFailure.isHttpFailure(error)) return false
    // the listed statuses count and no other; other failures (a timeout, a reset, a body cut short) keep the default
    return isStatusFailure(error) ? statuses.has(error.status) : countsAgainstUpstream(error)
  }
}

// The wait of a 4xx (413, or another status listed in `retryAfterStatuses`) lives only in its headers, and that of a
// 5xx other than 503 listed there is read as a limited response's (a bare reset counts); either is read once, with
// the Clock, when the failure arrives.
/** @internal */
export const clientErrorHints = new WeakMap<HttpFailure.HttpFailure, Duration.Duration>()

/**
 * `HttpFailure.isRetryableByDefault`, and a 413 whose wait the policy already read (with the Clock).
 * @internal
 */
export const isRetryableByDefault = (failure: HttpFailure.HttpFailure): boolean =>
  httpFailure.isRetryableByDefault(failure) ||
  (failure._tag === "ClientError" && failure.status === 413 && clientErrorHints.has(failure) &&
    httpFailure.serverSaysRetry(failure) === undefined)

// The default for a failure without a `retryOn` entry: the allow-list of statuses when there is one, else the rules.
// The rules read the server's own word first; under an allow-list, a server that says not to retry still is not.
const defaultRetryable = (statuses: ReadonlySet<number> | undefined) => (failure: HttpFailure.HttpFailure): boolean => {
  if (statuses === undefined || !isStatusFailure(failure)) return isRetryableByDefault(failure)
  if (httpFailure.serverSaysRetry(failure) === false) return false
  return statuses.has(failure.status)
}

/** @internal */
export const retryOnWith = (
  retryOn: P.RetryOn | undefined,
  statuses: ReadonlySet<number> | undefined
): (failure: HttpFailure.HttpFailure, attempt: number) => boolean => {
  const fallback = defaultRetryable(statuses)
  if (retryOn === undefined) return fallback
  if (typeof retryOn === "function") {
    return (failure, attempt) => answerOf(retryOn(failure, attempt), "retry.retryOn")
  }
  return (failure, attempt) => {
    const entry = retryOn[failure._tag]
    if (entry === undefined) return fallback(failure)
    // credentials refused or unreadable come back the same however often they are asked for: `true` means the
    // token endpoint's outages only
    if (entry === true && failure._tag === "AuthenticationFailed") return failure.reason === "Unavailable"
    if (typeof entry === "boolean") return entry
    return answerOf(
      (entry as (failure: HttpFailure.HttpFailure, attempt: number) => boolean)(failure, attempt),
      `retry.retryOn.${failure._tag}`
    )
  }
}

// A predicate decides at once. An `async` one answers a Promise, which would read as `true` and retry every failure
// whatever it resolves to: a defect that names the option, rather than retries nobody asked for.
const answerOf = (answer: unknown, field: string): boolean => {
  if (typeof answer === "boolean") return answer
  if (Predicate.isPromiseLike(answer)) {
    throw new TypeError(
      `Policy: ${field} returned a Promise; the predicate must answer true or false at once (it cannot be async)`
    )
  }
  return Boolean(answer)
}

// The server's wait counts only on the statuses it is tied to (413, 429, 503 by default), and only when respected;
// an open breaker's wait for its probe is the policy's own and always counts.
/** @internal */
export const delayHintWith =
  (retry: policyOptions.ResolvedRetry) => (failure: Guarded): Option.Option<Duration.Duration> => {
    if (failure._tag === "CircuitOpen") return Option.some(failure.retryAfter)
    if (
      failure._tag === "BulkheadRejected" || failure._tag === "AdaptiveThrottleRejected" ||
      failure._tag === "ConcurrencyLimitExceeded" || !retry.respectRetryAfter
    ) return Option.none()
    const status = observe.statusOf(failure)
    if (status === undefined || !retry.retryAfterStatuses.has(status)) return Option.none()
    const fromHeaders = clientErrorHints.get(failure)
    return fromHeaders === undefined ? HttpFailure.retryAfter(failure) : Option.some(fromHeaders)
  }

/** @internal */
export const attemptsOf = (failure: P.Failure): number | undefined => {
  if (failure._tag === "RetryBudgetExhausted") return failure.attempts
  return HttpFailure.isHttpFailure(failure) ? failure.attempts : undefined
}

// The failure an attempt failed with, for the copy `withAttempts` made of it.
const copiedFrom = new WeakMap<object, Guarded>()

/** @internal The failure as the attempt failed with it, before `withAttempts` recorded its attempts on a copy. */
export const originalOf = (failure: object): object => copiedFrom.get(failure) ?? failure

// Records the failure's attempts on the failure the call ends with (its message and JSON show them).
/** @internal */
export const withAttempts = (failure: Guarded, attempts: number): Guarded => {
  if (!HttpFailure.isHttpFailure(failure)) return failure
  const Failure = failure.constructor as new(fields: object) => HttpFailure.HttpFailure
  // Error's `cause` is an own property that is not enumerable, which a spread leaves behind: carry it over
  const cause = (failure as { readonly cause?: unknown }).cause
  const copy = new Failure(cause === undefined ? { ...failure, attempts } : { ...failure, cause, attempts })
  const hint = clientErrorHints.get(failure)
  if (hint !== undefined) clientErrorHints.set(copy, hint)
  copiedFrom.set(copy, copiedFrom.get(failure) ?? failure)
  return copy
}
