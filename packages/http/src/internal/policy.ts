import type * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import type * as HttpMethod from "@effect/platform/HttpMethod"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Bulkhead from "@sturdy/policy/Bulkhead"
import * as CircuitBreaker from "@sturdy/policy/CircuitBreaker"
import * as CircuitBreakerStore from "@sturdy/policy/CircuitBreakerStore"
import * as Deadline from "@sturdy/policy/Deadline"
import * as Hedge from "@sturdy/policy/Hedge"
import * as RateLimit from "@sturdy/policy/RateLimit"
import * as Retry from "@sturdy/policy/Retry"
import * as RetryBudget from "@sturdy/policy/RetryBudget"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as FiberStatus from "effect/FiberStatus"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as Tracer from "effect/Tracer"
import type * as Attempt from "../Attempt.js"
import * as HttpFailure from "../HttpFailure.js"
import type * as Idempotency from "../Idempotency.js"
import type * as P from "../Policy.js"
import * as RetryHeaders from "../RetryHeaders.js"
import type * as SturdyClient from "../SturdyClient.js"
import * as Telemetry from "../Telemetry.js"
import * as attempt from "./attempt.js"
import * as idempotency from "./idempotency.js"
import * as redaction from "./redaction.js"
import * as sturdyClient from "./sturdyClient.js"
import * as telemetryInternal from "./telemetry.js"

// -----------------------------------------------------------------------------
// errors and defaults
// -----------------------------------------------------------------------------

/** @internal One thing wrong with a policy's options: the field the user set, and what is wrong with it. */
export interface Problem {
  readonly field: string
  readonly detail: string
}

/** @internal */
export class InvalidPolicy extends Data.TaggedError("InvalidPolicy")<{
  /** The first problem's field. */
  readonly field: string
  /** The first problem's detail. */
  readonly detail: string
  /** Every problem found, the first included. */
  readonly problems: ReadonlyArray<Problem>
}> {
  override get message(): string {
    if (this.problems.length <= 1) return `invalid policy: ${this.field} ${this.detail}`
    return `invalid policy (${this.problems.length} problems): ${
      this.problems.map((problem) => `${problem.field} ${problem.detail}`).join("; ")
    }`
  }
}

const invalid = (problems: ReadonlyArray<Problem>): InvalidPolicy =>
  new InvalidPolicy({ field: problems[0]!.field, detail: problems[0]!.detail, problems })

/** @internal */
export const maxAttemptsCap = 10

/** @internal The longest duration a timer can hold (2^31 − 1 ms, about 24.8 days): a longer wait never fires. */
export const maxTimerMillis = 2 ** 31 - 1

/** @internal */
export const defaults = {
  totalTimeout: Duration.seconds(30),
  attemptTimeout: Duration.seconds(10),
  retry: {
    maxAttempts: 3,
    baseDelay: Duration.seconds(2),
    maxDelay: Duration.seconds(30),
    jitter: "full",
    maxRetryAfter: Duration.seconds(30),
    retryAfterJitter: 0.1,
    respectRetryAfter: true,
    retryAfterStatuses: [413, 429, 503],
    budget: true,
    idempotencyKey: false,
    retryUnsent: true
  },
  circuitBreaker: {
    failureRateThreshold: 0.1,
    minimumThroughput: 100,
    slidingWindow: Duration.seconds(30),
    breakDuration: Duration.seconds(5),
    consecutiveFailures: Number.POSITIVE_INFINITY,
    halfOpenMaxProbes: 1,
    successThreshold: 1,
    waitForProbe: false
  },
  bulkhead: { maxConcurrent: 1000, maxQueued: 0 }
} as const

// -----------------------------------------------------------------------------
// upstream keys and endpoint patterns
// -----------------------------------------------------------------------------

const originPattern = /^([a-z][a-z0-9+.-]*):\/\/(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)(?::(\d*))?([^?#]*)/i
const defaultPorts: Record<string, string> = { http: "80", https: "443", ws: "80", wss: "443" }

interface Target {
  /** scheme://host:port, the default upstream key */
  readonly origin: string
  readonly host: string
  readonly hostPort: string
  readonly path: string
}

// Most calls go to the URL of the call before: its parse is kept.
let lastParsedUrl: string | undefined
let lastTarget: Target | undefined

/** @internal */
export const parseTarget = (url: string): Target => {
  if (url === lastParsedUrl) return lastTarget!
  const target = parseTargetOnce(url)
  lastParsedUrl = url
  lastTarget = target
  return target
}

const parseTargetOnce = (url: string): Target => {
  const match = originPattern.exec(url)
  // not an absolute URL (it fails as `MalformedUrl`): its key, shown in events and breaker metrics, is redacted
  if (match === null) return { origin: redaction.redactUrl(url), host: "", hostPort: "", path: url }
  const scheme = match[1].toLowerCase()
  const host = match[2].toLowerCase()
  const port = match[3] === undefined || match[3] === "" ? (defaultPorts[scheme] ?? "") : match[3]
  const hostPort = `${host}:${port}`
  return { origin: `${scheme}://${hostPort}`, host, hostPort, path: match[4] === "" ? "/" : match[4] }
}

/** @internal */
export const upstreamKey = (request: HttpClientRequest.HttpClientRequest): string => parseTarget(request.url).origin

interface EndpointMatcher {
  readonly name: string
  readonly method: string | undefined
  readonly path: RegExp
  readonly options: P.EndpointOptions
}

const endpointKey = /^(?:([A-Za-z]+|\*)\s+)?(\/\S*)$/

const compileEndpoint = (name: string, options: P.EndpointOptions): EndpointMatcher | InvalidPolicy => {
  const match = endpointKey.exec(name.trim())
  if (match === null) {
    return invalid([{
      field: `endpoints[${JSON.stringify(name)}]`,
      detail: "must be \"METHOD /path\" or \"/path\" (segments may be * or :name, a last ** matches the rest)"
    }])
  }
  const method = match[1] === undefined || match[1] === "*" ? undefined : match[1].toUpperCase()
  const source = match[2]
    .split("/")
    .map((segment) =>
      segment === "**"
        ? "\u0000"
        : segment === "*" || segment.startsWith(":")
        ? "[^/]+"
        : segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
    )
    .join("/")
    .replace("/\u0000", "(?:/.*)?")
  return { name, method, path: new RegExp(`^${source}/?$`), options }
}

// -----------------------------------------------------------------------------
// resolution and validation
// -----------------------------------------------------------------------------

type RetryFailure = P.RetryFailure

interface ResolvedRetry {
  readonly maxAttempts: number
  readonly baseDelay: Duration.Duration
  readonly maxDelay: Duration.Duration
  readonly jitter: Backoff.Jitter
  readonly maxElapsed: Duration.Duration | undefined
  readonly schedule: Schedule.Schedule<unknown, RetryFailure> | undefined
  readonly delay: ((attempt: number, failure: RetryFailure) => Duration.DurationInput) | undefined
  readonly statuses: ReadonlySet<number> | undefined
  readonly methods: ReadonlySet<string> | undefined
  readonly respectRetryAfter: boolean
  readonly retryAfterStatuses: ReadonlySet<number>
  readonly maxRetryAfter: Duration.Duration
  readonly retryAfterJitter: number
  readonly budget: boolean
  readonly idempotencyKey: boolean
  readonly retryUnsent: boolean
  readonly retryOn: P.RetryOn | undefined
}

interface ResolvedBreaker {
  readonly failureRateThreshold: number
  readonly minimumThroughput: number
  readonly slidingWindow: Duration.Duration
  readonly breakDuration: Duration.Duration | Schedule.Schedule<unknown, unknown>
  readonly consecutiveFailures: number
  readonly halfOpenMaxProbes: number
  readonly successThreshold: number
  readonly countsAsFailure?: P.CountsAsFailure | undefined
  readonly waitForProbe: boolean
}

interface ResolvedBulkhead {
  readonly maxConcurrent: number
  readonly maxQueued: number
  readonly maxWait: Duration.Duration | undefined
}

interface ResolvedRateLimit {
  readonly limit: number
  readonly window: Duration.Duration
  readonly algorithm: "token-bucket" | "fixed-window"
  readonly onExceeded: "delay" | "fail"
}

/** @internal */
export interface Resolved {
  readonly totalTimeout: Duration.Duration | undefined
  readonly attemptTimeout: Duration.Duration | undefined
  readonly retry: ResolvedRetry | undefined
  readonly hedging: P.HedgingOptions | undefined
  readonly circuitBreaker: ResolvedBreaker | undefined
  readonly bulkhead: ResolvedBulkhead | undefined
  readonly rateLimit: ResolvedRateLimit | undefined
  readonly deadlineHeader: string | undefined
  /**
   * Where the user set the options validation compares with each other (`"retry.baseDelay"` →
   * `"hosts[\"a\"].retry.baseDelay"`); an option without an entry has its default (or a derived value).
   */
  readonly origins: Readonly<Record<string, string>>
}

// Problems found while compiling: every one is collected, so InvalidPolicy can list them all at once. Outside of a
// compilation (resolving a stack at run time, on options already validated) a problem is thrown.
let collecting: Array<Problem> | undefined

const problem = (field: string, detail: string): void => {
  if (collecting === undefined) throw invalid([{ field, detail }])
  if (!collecting.some((known) => known.field === field && known.detail === detail)) {
    collecting.push({ field, detail })
  }
}

const timerLimit = "2^31 − 1 ms, about 24.8 days, the longest a timer can hold: a longer wait would never fire"

/**
 * Decodes a duration option; a problem (and `fallback`) when it is not a duration, or when it is finite and longer
 * than a timer can hold (an infinite one is `none` where `allowInfinite`, a problem elsewhere).
 */
const decodeField = (
  field: string,
  input: Duration.DurationInput,
  fallback: Duration.Duration,
  allowInfinite: boolean
): Duration.Duration => {
  const decoded = Option.getOrUndefined(Duration.decodeUnknown(input))
  if (decoded === undefined) {
    problem(field, "is not a duration")
    return fallback
  }
  const millis = Duration.toMillis(decoded)
  if (millis === Infinity) {
    if (allowInfinite) return decoded
    problem(field, `must be finite (at most ${timerLimit})`)
    return fallback
  }
  if (millis > maxTimerMillis) {
    problem(field, `(${Duration.format(decoded)}) exceeds ${timerLimit}`)
    return fallback
  }
  return decoded
}

const finite = (duration: Duration.Duration): Duration.Duration | undefined =>
  Duration.isFinite(duration) ? duration : undefined

const statusSet = (field: string, input: ReadonlyArray<number>): ReadonlySet<number> => {
  if (!Array.isArray(input)) {
    problem(field, "must be a list of status codes")
    return new Set()
  }
  for (const status of input) {
    if (!(Number.isInteger(status) && status >= 100 && status <= 599)) {
      problem(field, `(${String(status)}) must list status codes, integers from 100 to 599`)
    }
  }
  return new Set(input)
}

const methodToken = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

const methodSet = (field: string, input: ReadonlyArray<string>): ReadonlySet<string> => {
  if (!Array.isArray(input)) {
    problem(field, "must be a list of methods")
    return new Set()
  }
  for (const method of input) {
    if (typeof method !== "string" || !methodToken.test(method)) {
      problem(field, `(${JSON.stringify(method)}) must list HTTP methods`)
    }
  }
  return new Set(input.map((method) => String(method).toUpperCase()))
}

const retryKeys = [
  "maxAttempts",
  "baseDelay",
  "maxDelay",
  "maxElapsed",
  "schedule",
  "delay"
] as const

const resolveRetry = (
  base: ResolvedRetry | undefined,
  input: P.RetryOptions | false | undefined,
  field: string,
  origins: Record<string, string>
): ResolvedRetry | undefined => {
  if (input === false) return undefined
  if (input === undefined) return base
  if (base === undefined) { for (const key of retryKeys) delete origins[`retry.${key}`] }
  const from: ResolvedRetry = base ?? packageDefaults.retry!
  for (const key of retryKeys) if (input[key] !== undefined) origins[`retry.${key}`] = `${field}.${key}`
  // a schedule or delay function replaces the exponential backoff, and the one set last wins over the other
  const replacesBackoff = input.schedule !== undefined || input.delay !== undefined
  if (input.schedule !== undefined && !Schedule.isSchedule(input.schedule)) {
    problem(`${field}.schedule`, "must be a Schedule")
  }
  if (input.delay !== undefined && typeof input.delay !== "function") {
    problem(`${field}.delay`, "must be a function from the attempt number (1-based) and the failure to a duration")
  }
  if (input.schedule !== undefined && input.delay !== undefined) {
    problem(`${field}.schedule`, `and ${field}.delay are alternatives: set one`)
  }
  return {
    maxAttempts: input.maxAttempts ?? from.maxAttempts,
    baseDelay: input.baseDelay === undefined
      ? from.baseDelay
      : decodeField(`${field}.baseDelay`, input.baseDelay, from.baseDelay, false),
    maxDelay: input.maxDelay === undefined
      ? from.maxDelay
      : decodeField(`${field}.maxDelay`, input.maxDelay, from.maxDelay, false),
    jitter: input.jitter ?? from.jitter,
    maxElapsed: input.maxElapsed === undefined
      ? from.maxElapsed
      : finite(decodeField(`${field}.maxElapsed`, input.maxElapsed, Duration.infinity, true)),
    schedule: replacesBackoff ? input.schedule : from.schedule,
    delay: replacesBackoff ? input.delay : from.delay,
    statuses: input.statuses === undefined ? from.statuses : statusSet(`${field}.statuses`, input.statuses),
    methods: input.methods === undefined ? from.methods : methodSet(`${field}.methods`, input.methods),
    respectRetryAfter: input.respectRetryAfter ?? from.respectRetryAfter,
    retryAfterStatuses: input.retryAfterStatuses === undefined
      ? from.retryAfterStatuses
      : statusSet(`${field}.retryAfterStatuses`, input.retryAfterStatuses),
    maxRetryAfter: input.maxRetryAfter === undefined
      ? from.maxRetryAfter
      : decodeField(`${field}.maxRetryAfter`, input.maxRetryAfter, from.maxRetryAfter, true),
    retryAfterJitter: input.retryAfterJitter ?? from.retryAfterJitter,
    budget: input.budget ?? from.budget,
    idempotencyKey: input.idempotencyKey ?? from.idempotencyKey,
    retryUnsent: input.retryUnsent ?? from.retryUnsent,
    retryOn: input.retryOn ?? from.retryOn
  }
}

const resolveBreaker = (
  base: ResolvedBreaker | undefined,
  input: P.CircuitBreakerOptions | false | undefined,
  field: string,
  origins: Record<string, string>
): ResolvedBreaker | undefined => {
  if (input === false) return undefined
  if (input === undefined) return base
  if (base === undefined) delete origins["circuitBreaker.slidingWindow"]
  const from: ResolvedBreaker = base ?? defaults.circuitBreaker
  if (input.slidingWindow !== undefined) origins["circuitBreaker.slidingWindow"] = `${field}.slidingWindow`
  const breakDuration = input.breakDuration
  return {
    failureRateThreshold: input.failureRateThreshold ?? from.failureRateThreshold,
    minimumThroughput: input.minimumThroughput ?? from.minimumThroughput,
    slidingWindow: input.slidingWindow === undefined
      ? from.slidingWindow
      : decodeField(`${field}.slidingWindow`, input.slidingWindow, from.slidingWindow, false),
    breakDuration: breakDuration === undefined
      ? from.breakDuration
      : Schedule.isSchedule(breakDuration)
      ? breakDuration
      : decodeField(`${field}.breakDuration`, breakDuration, defaults.circuitBreaker.breakDuration, false),
    consecutiveFailures: input.consecutiveFailures ?? from.consecutiveFailures,
    halfOpenMaxProbes: input.halfOpenMaxProbes ?? from.halfOpenMaxProbes,
    successThreshold: input.successThreshold ?? from.successThreshold,
    countsAsFailure: input.countsAsFailure ?? from.countsAsFailure,
    waitForProbe: input.waitForProbe ?? from.waitForProbe
  }
}

const resolveBulkhead = (
  base: ResolvedBulkhead | undefined,
  input: P.BulkheadOptions | false | undefined,
  field: string
): ResolvedBulkhead | undefined => {
  if (input === false) return undefined
  if (input === undefined) return base
  const from: ResolvedBulkhead = base ?? { ...defaults.bulkhead, maxWait: undefined }
  return {
    maxConcurrent: input.maxConcurrent ?? from.maxConcurrent,
    maxQueued: input.maxQueued ?? from.maxQueued,
    maxWait: input.maxWait === undefined
      ? from.maxWait
      : finite(decodeField(`${field}.maxWait`, input.maxWait, Duration.infinity, true))
  }
}

const resolveRateLimit = (
  base: ResolvedRateLimit | undefined,
  input: P.RateLimitOptions | false | undefined,
  field: string
): ResolvedRateLimit | undefined => {
  if (input === false) return undefined
  if (input === undefined) return base
  return {
    limit: input.limit,
    window: decodeField(`${field}.window`, input.window, Duration.seconds(1), false),
    algorithm: input.algorithm ?? base?.algorithm ?? "token-bucket",
    onExceeded: input.onExceeded ?? base?.onExceeded ?? "delay"
  }
}

const resolveHedging = (
  base: P.HedgingOptions | undefined,
  input: P.HedgingOptions | false | undefined,
  field: string
): P.HedgingOptions | undefined => {
  if (input === false) return undefined
  if (input === undefined) return base
  if (input.maxHedges !== undefined && !(Number.isInteger(input.maxHedges) && input.maxHedges >= 0)) {
    problem(`${field}.maxHedges`, `(${input.maxHedges}) must be an integer of at least 0`)
  }
  // a fixed delay must fit a timer (a percentile's bounds are checked by Hedge itself)
  const delay = input.delay
  if (!(typeof delay === "object" && delay !== null && "tracker" in delay)) {
    decodeField(`${field}.delay`, delay, Duration.zero, false)
  }
  return input
}

// RFC 9110 token: what a header name may be made of
const headerToken = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

const resolveDeadlineHeader = (
  base: string | undefined,
  input: string | boolean | undefined,
  field: string
): string | undefined => {
  if (input === undefined) return base
  if (input === false) return undefined
  if (input === true) return Deadline.defaultHeaderName
  if (typeof input !== "string" || !headerToken.test(input)) {
    problem(field, `(${JSON.stringify(input)}) is not a valid header name (an RFC 9110 token)`)
    return base
  }
  return input.toLowerCase()
}

/**
 * The attempt timeout when the user set none: the default (10 s), or, under a total deadline shorter than that, the
 * deadline shared by the attempts (`totalTimeout ÷ maxAttempts`), so that a hung attempt still leaves time to retry.
 */
const derivedAttemptTimeout = (
  total: Duration.Duration | undefined,
  retry: ResolvedRetry | undefined
): Duration.Duration => {
  if (total === undefined || Duration.greaterThanOrEqualTo(total, defaults.attemptTimeout)) {
    return defaults.attemptTimeout
  }
  const attempts = retry === undefined || !(retry.maxAttempts >= 1) ? 1 : Math.floor(retry.maxAttempts)
  return Duration.millis(Math.max(1, Math.floor(Duration.toMillis(total) / attempts)))
}

const resolveLayer = (base: Resolved, input: P.EndpointOptions & P.HostOptions, prefix: string): Resolved => {
  const origins: Record<string, string> = { ...base.origins }
  if (input.totalTimeout !== undefined) origins.totalTimeout = `${prefix}totalTimeout`
  if (input.attemptTimeout !== undefined) origins.attemptTimeout = `${prefix}attemptTimeout`
  const totalTimeout = input.totalTimeout === undefined
    ? base.totalTimeout
    : input.totalTimeout === false
    ? undefined
    : finite(decodeField(`${prefix}totalTimeout`, input.totalTimeout, defaults.totalTimeout, true))
  const retry = resolveRetry(base.retry, input.retry, `${prefix}retry`, origins)
  const attemptTimeout = origins.attemptTimeout === undefined
    ? derivedAttemptTimeout(totalTimeout, retry)
    : input.attemptTimeout === undefined
    ? base.attemptTimeout
    : input.attemptTimeout === false
    ? undefined
    : finite(decodeField(`${prefix}attemptTimeout`, input.attemptTimeout, defaults.attemptTimeout, true))
  return {
    totalTimeout,
    attemptTimeout,
    retry,
    hedging: resolveHedging(base.hedging, input.hedging, `${prefix}hedging`),
    circuitBreaker: resolveBreaker(base.circuitBreaker, input.circuitBreaker, `${prefix}circuitBreaker`, origins),
    bulkhead: resolveBulkhead(base.bulkhead, input.bulkhead, `${prefix}bulkhead`),
    rateLimit: resolveRateLimit(base.rateLimit, input.rateLimit, `${prefix}rateLimit`),
    deadlineHeader: resolveDeadlineHeader(base.deadlineHeader, input.deadlineHeader, `${prefix}deadlineHeader`),
    origins
  }
}

const packageDefaults: Resolved = {
  totalTimeout: defaults.totalTimeout,
  attemptTimeout: defaults.attemptTimeout,
  retry: {
    ...defaults.retry,
    maxElapsed: undefined,
    schedule: undefined,
    delay: undefined,
    statuses: undefined,
    methods: undefined,
    retryAfterStatuses: new Set(defaults.retry.retryAfterStatuses),
    retryOn: undefined
  },
  hedging: undefined,
  circuitBreaker: defaults.circuitBreaker,
  bulkhead: { ...defaults.bulkhead, maxWait: undefined },
  rateLimit: undefined,
  deadlineHeader: undefined,
  origins: {}
}

const check = (condition: boolean, field: string, detail: string): void => {
  if (!condition) problem(field, detail)
}

// "(2s, set at hosts["a"].retry.baseDelay)" or "(2s, the default)"
const valueOf = (resolved: Resolved, key: string, value: Duration.Duration, derived = false): string =>
  resolved.origins[key] === undefined
    ? `(${Duration.format(value)}, ${derived ? "derived" : "the default"})`
    : `(${Duration.format(value)}, set at ${resolved.origins[key]})`

// Of two options in conflict, the one to name: the one the user set (the first when both or neither were).
const blame = (resolved: Resolved, prefix: string, first: string, second: string): string =>
  `${prefix}${resolved.origins[first] === undefined && resolved.origins[second] !== undefined ? second : first}`

const validateResolved = (resolved: Resolved, prefix: string): void => {
  const total = resolved.totalTimeout
  const each = resolved.attemptTimeout
  const retry = resolved.retry
  if (total !== undefined) check(Duration.toMillis(total) > 0, `${prefix}totalTimeout`, "must be positive")
  if (each !== undefined) {
    check(Duration.toMillis(each) > 0, `${prefix}attemptTimeout`, "must be positive")
    if (total !== undefined && Duration.greaterThan(each, total)) {
      // only reachable when the user set attemptTimeout: unset, it is derived to fit
      problem(
        `${prefix}attemptTimeout`,
        `${valueOf(resolved, "attemptTimeout", each)} must not exceed totalTimeout ${
          valueOf(resolved, "totalTimeout", total)
        }; leave attemptTimeout unset to have it derived (totalTimeout ÷ maxAttempts when under 10s)`
      )
    }
  }
  if (retry !== undefined) {
    const bounded = total !== undefined || retry.maxElapsed !== undefined
    if (!(Number.isInteger(retry.maxAttempts) && retry.maxAttempts >= 1)) {
      problem(`${prefix}retry.maxAttempts`, `(${retry.maxAttempts}) must be an integer of at least 1`)
    } else if (retry.maxAttempts > maxAttemptsCap && !bounded) {
      problem(
        `${prefix}retry.maxAttempts`,
        `(${retry.maxAttempts}) above ${maxAttemptsCap} needs a bound on the call: set totalTimeout or retry.maxElapsed`
      )
    }
    if (
      retry.schedule === undefined && retry.delay === undefined && Duration.greaterThan(retry.baseDelay, retry.maxDelay)
    ) {
      const field = blame(resolved, prefix, "retry.baseDelay", "retry.maxDelay")
      problem(
        field,
        field.endsWith("maxDelay")
          ? `${valueOf(resolved, "retry.maxDelay", retry.maxDelay)} must be at least retry.baseDelay ${
            valueOf(resolved, "retry.baseDelay", retry.baseDelay)
          }`
          : `${valueOf(resolved, "retry.baseDelay", retry.baseDelay)} must not exceed retry.maxDelay ${
            valueOf(resolved, "retry.maxDelay", retry.maxDelay)
          }`
      )
    }
    check(
      retry.retryAfterJitter >= 0 && retry.retryAfterJitter <= 1,
      `${prefix}retry.retryAfterJitter`,
      "must be between 0 and 1"
    )
  }
  const breaker = resolved.circuitBreaker
  if (breaker !== undefined) {
    check(
      breaker.failureRateThreshold > 0 && breaker.failureRateThreshold <= 1,
      `${prefix}circuitBreaker.failureRateThreshold`,
      "must be in (0, 1]"
    )
    check(
      breaker.minimumThroughput >= 1,
      `${prefix}circuitBreaker.minimumThroughput`,
      "must be at least 1"
    )
    check(
      breaker.consecutiveFailures >= 1,
      `${prefix}circuitBreaker.consecutiveFailures`,
      "must be at least 1"
    )
    const counts: unknown = breaker.countsAsFailure
    check(
      counts === undefined || typeof counts === "function" ||
        (Array.isArray(counts) && counts.every((status) => Number.isInteger(status) && status >= 100 && status <= 599)),
      `${prefix}circuitBreaker.countsAsFailure`,
      "must be a list of HTTP statuses (integers from 100 to 599) or a predicate over the failure"
    )
    check(
      typeof breaker.waitForProbe === "boolean",
      `${prefix}circuitBreaker.waitForProbe`,
      "must be true or false"
    )
    check(
      Number.isInteger(breaker.halfOpenMaxProbes) && breaker.halfOpenMaxProbes >= 1,
      `${prefix}circuitBreaker.halfOpenMaxProbes`,
      `(${breaker.halfOpenMaxProbes}) must be an integer of at least 1`
    )
    check(
      Number.isInteger(breaker.successThreshold) && breaker.successThreshold >= 1,
      `${prefix}circuitBreaker.successThreshold`,
      `(${breaker.successThreshold}) must be an integer of at least 1`
    )
    if (each !== undefined && Duration.lessThan(breaker.slidingWindow, Duration.times(each, 2))) {
      const field = blame(resolved, prefix, "circuitBreaker.slidingWindow", "attemptTimeout")
      problem(
        field,
        field.endsWith("attemptTimeout")
          ? `${valueOf(resolved, "attemptTimeout", each)} must be at most half of circuitBreaker.slidingWindow ${
            valueOf(resolved, "circuitBreaker.slidingWindow", breaker.slidingWindow)
          }`
          : `${valueOf(resolved, "circuitBreaker.slidingWindow", breaker.slidingWindow)} must be at least twice ` +
            `attemptTimeout ${valueOf(resolved, "attemptTimeout", each, true)}`
      )
    }
  }
  const bulkhead = resolved.bulkhead
  if (bulkhead !== undefined) {
    check(
      Number.isInteger(bulkhead.maxConcurrent) && bulkhead.maxConcurrent >= 1,
      `${prefix}bulkhead.maxConcurrent`,
      "must be an integer of at least 1"
    )
    check(
      Number.isInteger(bulkhead.maxQueued) && bulkhead.maxQueued >= 0,
      `${prefix}bulkhead.maxQueued`,
      "must be a non-negative integer"
    )
  }
  const rateLimit = resolved.rateLimit
  if (rateLimit !== undefined) {
    check(rateLimit.limit >= 1, `${prefix}rateLimit.limit`, "must be at least 1")
    check(Duration.toMillis(rateLimit.window) > 0, `${prefix}rateLimit.window`, "must be positive")
  }
}

interface Compiled {
  readonly base: Resolved
  readonly hosts: ReadonlyMap<string, Resolved>
  readonly endpoints: ReadonlyArray<EndpointMatcher>
}

const compileAll = (options: P.Options): Compiled => {
  const base = resolveLayer(packageDefaults, options, "")
  validateResolved(base, "")
  const endpoints: Array<EndpointMatcher> = []
  for (const [name, endpoint] of Object.entries(options.endpoints ?? {})) {
    const matcher = compileEndpoint(name, endpoint)
    if (matcher instanceof InvalidPolicy) {
      problem(matcher.field, matcher.detail)
      continue
    }
    endpoints.push(matcher)
  }
  const hosts = new Map<string, Resolved>()
  for (const [name, host] of Object.entries(options.hosts ?? {})) {
    const prefix = `hosts[${JSON.stringify(name)}].`
    const resolved = resolveLayer(base, host, prefix)
    validateResolved(resolved, prefix)
    hosts.set(name.toLowerCase(), resolved)
  }
  // every endpoint is checked on every profile it can apply to
  for (const matcher of endpoints) {
    const prefix = `endpoints[${JSON.stringify(matcher.name)}].`
    validateResolved(resolveLayer(base, matcher.options, prefix), prefix)
    for (const [host, resolved] of hosts) {
      const hostPrefix = `hosts[${JSON.stringify(host)}].${prefix}`
      validateResolved(resolveLayer(resolved, matcher.options, hostPrefix), hostPrefix)
    }
  }
  return { base, hosts, endpoints }
}

// Compiles the options, collecting every problem; throws one InvalidPolicy listing them all.
const compile = (options: P.Options): Compiled => {
  const outer = collecting
  const problems: Array<Problem> = []
  collecting = problems
  try {
    const compiled = compileAll(options)
    if (problems.length > 0) throw invalid(problems)
    return compiled
  } finally {
    collecting = outer
  }
}

/** @internal */
export const validate = (options: P.Options): Either.Either<P.Options, InvalidPolicy> => {
  try {
    compile(options)
    return Either.right(options)
  } catch (error) {
    if (error instanceof InvalidPolicy) return Either.left(error)
    throw error
  }
}

// -----------------------------------------------------------------------------
// classification
// -----------------------------------------------------------------------------

type Guarded = HttpFailure.HttpFailure | CircuitBreaker.CircuitOpen | Bulkhead.BulkheadRejected

/**
 * The default of which failures count against the upstream's breaker: server failures only. A 429 says "slow down",
 * not "I am broken" (and pauses the key already); other 4xx and bad bodies are answers from a live upstream.
 * @internal
 */
export const countsAgainstUpstream = (error: unknown): boolean => {
  if (!HttpFailure.isHttpFailure(error)) return false
  switch (error._tag) {
    case "ServerError":
      return HttpFailure.isTransient(error)
    case "ClientError":
      return error.status === 408
    case "Timeout":
      // the caller running out of time says nothing about the upstream
      return error.phase !== "Deadline"
    case "ConnectionError":
      return error.reason === "Refused" || error.reason === "Reset" || error.reason === "ConnectTimeout" ||
        error.reason === "Unknown"
    case "BodyTruncated":
      return true
    default:
      return false
  }
}

/**
 * Failures that say nothing about the upstream, so they neither count nor prove it alive: the caller's deadline, a
 * request that never left (malformed, or whose host did not resolve), a TLS failure (a configuration matter).
 * @internal
 */
export const saysNothingAboutUpstream = (error: unknown): boolean => {
  if (!HttpFailure.isHttpFailure(error)) return true
  switch (error._tag) {
    case "Timeout":
      return error.phase === "Deadline"
    case "InvalidRequest":
      return true
    case "ConnectionError":
      return error.reason === "DnsLookup" || error.reason === "Tls"
    default:
      return false
  }
}

const statusOf = (failure: HttpFailure.HttpFailure): number | undefined =>
  "status" in failure && typeof failure.status === "number" ? failure.status : undefined

/** @internal The breaker's `isFailure` for a `circuitBreaker.countsAsFailure` setting. */
export const breakerCounts = (rule: P.CountsAsFailure | undefined): (error: unknown) => boolean => {
  if (rule === undefined) return countsAgainstUpstream
  if (typeof rule === "function") return (error) => HttpFailure.isHttpFailure(error) && rule(error)
  const statuses = new Set(rule)
  return (error) => {
    if (!HttpFailure.isHttpFailure(error)) return false
    const status = statusOf(error)
    // the listed statuses count and no other; failures without a status keep the default
    return status === undefined ? countsAgainstUpstream(error) : statuses.has(status)
  }
}

// A 4xx's Retry-After (413, or another status listed in `retryAfterStatuses`) lives only in its headers; it is read
// once, with the Clock, when the failure arrives.
const clientErrorHints = new WeakMap<HttpFailure.HttpFailure, Duration.Duration>()

/** @internal */
export const isRetryableByDefault = (failure: HttpFailure.HttpFailure): boolean => {
  switch (failure._tag) {
    case "ClientError":
      return failure.status === 408 || (failure.status === 413 && clientErrorHints.has(failure))
    case "RateLimited":
      return true
    default:
      return HttpFailure.isTransient(failure)
  }
}

// The default for a failure without a `retryOn` entry: the allow-list of statuses when there is one, else the rules.
const defaultRetryable = (statuses: ReadonlySet<number> | undefined) => (failure: HttpFailure.HttpFailure): boolean => {
  if (statuses === undefined) return isRetryableByDefault(failure)
  const status = statusOf(failure)
  return status === undefined ? isRetryableByDefault(failure) : statuses.has(status)
}

const retryOnWith = (
  retryOn: P.RetryOn | undefined,
  statuses: ReadonlySet<number> | undefined
): (failure: HttpFailure.HttpFailure, attempt: number) => boolean => {
  const fallback = defaultRetryable(statuses)
  if (retryOn === undefined) return fallback
  if (typeof retryOn === "function") return retryOn
  return (failure, attempt) => {
    const entry = retryOn[failure._tag]
    if (entry === undefined) return fallback(failure)
    if (typeof entry === "boolean") return entry
    return (entry as (failure: HttpFailure.HttpFailure, attempt: number) => boolean)(failure, attempt)
  }
}

// The server's wait counts only on the statuses it is tied to (413, 429, 503 by default), and only when respected;
// an open breaker's wait for its probe is the policy's own and always counts.
const delayHintWith = (retry: ResolvedRetry) => (failure: Guarded): Option.Option<Duration.Duration> => {
  if (failure._tag === "CircuitOpen") return Option.some(failure.retryAfter)
  if (failure._tag === "BulkheadRejected" || !retry.respectRetryAfter) return Option.none()
  const status = statusOf(failure)
  if (status === undefined || !retry.retryAfterStatuses.has(status)) return Option.none()
  const fromHeaders = clientErrorHints.get(failure)
  return fromHeaders === undefined ? HttpFailure.retryAfter(failure) : Option.some(fromHeaders)
}

/** @internal */
export const attemptsOf = (failure: P.Failure): number | undefined => {
  if (failure._tag === "RetryBudgetExhausted") return failure.attempts
  return HttpFailure.isHttpFailure(failure) ? failure.attempts : undefined
}

// Records the failure's attempts on the failure the call ends with (its message and JSON show them).
const withAttempts = (failure: Guarded, attempts: number): Guarded => {
  if (!HttpFailure.isHttpFailure(failure)) return failure
  const Failure = failure.constructor as new(fields: object) => HttpFailure.HttpFailure
  const copy = new Failure({ ...failure, attempts })
  const hint = clientErrorHints.get(failure)
  if (hint !== undefined) clientErrorHints.set(copy, hint)
  return copy
}

// -----------------------------------------------------------------------------
// the attempt under its time limit
// -----------------------------------------------------------------------------

const disconnectOnTimeout: Deadline.LimitOptions = { disconnect: true }

// The attempt's limit is its timeout, or the time left before the deadline when that is shorter. A `send` that honours
// the limit itself (an `Attempt`) is trusted with it; anything else races one timer.
const timedAttempt = <A, R>(
  request: HttpClientRequest.HttpClientRequest,
  send: (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<A, HttpFailure.HttpFailure, R>,
  resolved: Resolved,
  selfEnforcing: boolean
): Effect.Effect<A, HttpFailure.HttpFailure, R> => {
  const attemptTimeout = resolved.attemptTimeout ?? Duration.infinity
  // The deadline and the attempt timeout are established around the retries: an Attempt applies both itself
  const limited = selfEnforcing ? send : (ready: HttpClientRequest.HttpClientRequest) =>
    Effect.catchIf(
      // disconnected: Timeout on time whatever `send` does when interrupted; it is interrupted in the background
      Deadline.attemptTimeout(send(ready), attemptTimeout, disconnectOnTimeout),
      attempt.isDeadlineExceeded,
      (error) => Effect.fail(attempt.deadlineTimeout(error, request))
    )
  const headerName = resolved.deadlineHeader
  if (headerName === undefined) return limited(request)
  return Effect.flatMap(FiberRef.get(Deadline.currentLimit), (current) =>
    Effect.clockWith((clock) => {
      const limit = Math.min(current.at - clock.unsafeCurrentTimeMillis(), Duration.toMillis(attemptTimeout))
      return limited(
        Number.isFinite(limit) && limit > 0
          ? HttpClientRequest.setHeader(request, headerName, String(Math.floor(limit)))
          : request
      )
    }))
}

const isQueueTimeout = (failure: Guarded): failure is Bulkhead.BulkheadRejected =>
  failure._tag === "BulkheadRejected" && failure.reason === "timeout"

const queueTimedOut = (
  rejection: Bulkhead.BulkheadRejected,
  request: HttpClientRequest.HttpClientRequest
): Effect.Effect<never, Bulkhead.BulkheadRejected | HttpFailure.Timeout> =>
  Effect.withFiberRuntime((fiber) => {
    const limit = fiber.getFiberRef(Deadline.currentLimit)
    const now = Context.get(fiber.currentDefaultServices, Clock.Clock).unsafeCurrentTimeMillis()
    return now >= limit.at
      ? Effect.fail(
        attempt.deadlineTimeout(
          new Deadline.DeadlineExceeded({ reason: limit.reason, timeout: limit.timeout }),
          request
        )
      )
      : Effect.fail(rejection)
  })

// -----------------------------------------------------------------------------
// observation: the event hook and telemetry
// -----------------------------------------------------------------------------

type Hook = (event: P.Event) => Effect.Effect<void>

/** One observed call: where its hooks send events, and the retry stage's current attempt number. */
interface Observer {
  readonly key: string
  readonly emit: Hook
  attempt: number
}

const bothHooks = (first: Hook | undefined, second: Hook | undefined): Hook | undefined =>
  first === undefined ? second : second === undefined ? first : (event) => Effect.zipRight(first(event), second(event))

// The tracer every fiber has unless a real one is installed: its spans go nowhere, so telemetry is not worth it.
const nativeTracer: Tracer.Tracer = Effect.runSync(Effect.tracer)

const isTracing = (fiber: Fiber.RuntimeFiber<unknown, unknown>): boolean =>
  fiber.currentTracer !== nativeTracer && fiber.getFiberRef(FiberRef.currentTracerEnabled)

const isResponse = (u: unknown): u is HttpClientResponse.HttpClientResponse =>
  typeof u === "object" && u !== null && HttpClientResponse.TypeId in u

/** The status of a response or an `Attempt.Received`; never of a decoded body, whose `status` means something else. */
const successStatus = (value: unknown): number | undefined => {
  if (isResponse(value)) return value.status
  if (typeof value === "object" && value !== null && "response" in value && isResponse(value.response)) {
    return value.response.status
  }
  return undefined
}

const attemptEnded = (
  observer: Observer,
  attempt: number,
  hedge: number,
  exit: Exit.Exit<unknown, HttpFailure.HttpFailure>,
  millis: number
): P.AttemptEnded => {
  let outcome: P.AttemptEnded["outcome"] = "success"
  let status: number | undefined
  let failure: HttpFailure.HttpFailure | undefined
  if (exit._tag === "Success") {
    status = successStatus(exit.value)
  } else {
    const failed = Cause.failureOption(exit.cause)
    if (Option.isSome(failed)) {
      outcome = "failure"
      failure = failed.value
      status = "status" in failure && typeof failure.status === "number" ? failure.status : undefined
    } else {
      outcome = Cause.isInterruptedOnly(exit.cause) ? "interrupted" : "defect"
    }
  }
  return {
    _tag: "AttemptEnded",
    key: observer.key,
    attempt,
    hedge,
    outcome,
    status,
    failure,
    duration: Duration.millis(Math.max(0, millis)),
    exit
  }
}

// Reports an attempt that passed the breaker and the bulkhead: started, then ended (with its timeout).
const observeAttempt = <A, R>(
  self: Effect.Effect<A, HttpFailure.HttpFailure, R>,
  observer: Observer
): Effect.Effect<A, HttpFailure.HttpFailure, R> =>
  Effect.flatMap(FiberRef.get(Hedge.currentIndex), (hedge) =>
    Effect.clockWith((clock) => {
      const attempt = observer.attempt
      const startedAt = clock.unsafeCurrentTimeMillis()
      return Effect.zipRight(
        observer.emit({ _tag: "AttemptStarted", key: observer.key, attempt, hedge }),
        Effect.onExit(
          self,
          (exit) =>
            observer.emit(attemptEnded(observer, attempt, hedge, exit, clock.unsafeCurrentTimeMillis() - startedAt))
        )
      )
    }))

const isAttemptRejection = (failure: Guarded): failure is CircuitBreaker.CircuitOpen | Bulkhead.BulkheadRejected =>
  failure._tag === "CircuitOpen" || failure._tag === "BulkheadRejected"

// Forwards every transition of a registry's breakers to the hook, for as long as the scope lives.
const observeBreakers = (
  registry: CircuitBreaker.RegistryService,
  hook: Hook
): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function*() {
    const subscriber = yield* Effect.forkScoped(Stream.runForEach(
      registry.changes,
      (change) => hook({ _tag: "BreakerTransition", key: change.key, from: change.from, to: change.to, at: change.at })
    ))
    // `changes` only carries transitions from the moment of subscription: return once the subscriber waits on it
    for (let spins = 0; spins < 100; spins++) {
      yield* Effect.yieldNow()
      if (FiberStatus.isSuspended(yield* subscriber.status)) break
    }
  })

// -----------------------------------------------------------------------------
// the pipeline
// -----------------------------------------------------------------------------

/** @internal */
export const tag = Context.GenericTag<P.Policy>("@sturdy/http/Policy")

interface Profile {
  readonly resolved: Resolved
  readonly breakers: CircuitBreaker.RegistryService | undefined
  readonly limiter: RateLimit.RateLimiter | undefined
  readonly bulkheads: Map<string, Bulkhead.Bulkhead>
}

interface Stack {
  readonly resolved: Resolved
  readonly profile: Profile
  readonly schedule: Schedule.Schedule<unknown, RetryFailure> | undefined
  readonly retryOn: (failure: HttpFailure.HttpFailure, attempt: number) => boolean
  readonly delayHint: (failure: Guarded) => Option.Option<Duration.Duration>
}

// The retry delays: the exponential backoff, or the user's schedule or delay function under the same limits.
const scheduleFor = (retry: ResolvedRetry): Schedule.Schedule<unknown, RetryFailure> => {
  const limits = { cap: retry.maxDelay, maxAttempts: retry.maxAttempts, maxElapsed: retry.maxElapsed }
  if (retry.schedule !== undefined) return Backoff.bounded(retry.schedule, limits)
  if (retry.delay !== undefined) return Backoff.bounded(Backoff.fromDelay(retry.delay), limits)
  return Backoff.exponential({
    base: retry.baseDelay,
    cap: retry.maxDelay,
    jitter: retry.jitter,
    maxAttempts: retry.maxAttempts,
    maxElapsed: retry.maxElapsed
  })
}

const bulkheadCapacity = 10_000

const breakerOptions = (breaker: ResolvedBreaker): CircuitBreaker.Options => ({
  failureRateThreshold: breaker.failureRateThreshold,
  minimumThroughput: breaker.minimumThroughput,
  slidingWindow: breaker.slidingWindow,
  breakDuration: Schedule.isSchedule(breaker.breakDuration)
    ? breaker.breakDuration
    : Schedule.spaced(breaker.breakDuration),
  consecutiveFailures: breaker.consecutiveFailures,
  halfOpenMaxProbes: breaker.halfOpenMaxProbes,
  successThreshold: breaker.successThreshold,
  ...breakerClassification(breaker.countsAsFailure)
})

const breakerClassification = (
  rule: P.CountsAsFailure | undefined
): Pick<CircuitBreaker.Options, "isFailure" | "isIgnored"> => {
  const isFailure = breakerCounts(rule)
  // what the rule counts counts; of the rest, what says nothing about the upstream is ignored, and any other
  // failure is an answer from a live upstream (a success for the breaker, which closes a half-open one)
  return { isFailure, isIgnored: (error) => !isFailure(error) && saysNothingAboutUpstream(error) }
}

const makeProfile = (
  resolved: Resolved,
  store: Context.Context<RateLimit.RateLimiterStore>
): Effect.Effect<Profile, never, Scope.Scope> =>
  Effect.gen(function*() {
    // a CircuitBreakerStore in context shares the breakers' transitions with the fleet (see CircuitBreakerStore)
    const breakerStore = yield* Effect.serviceOption(CircuitBreakerStore.CircuitBreakerStore)
    const breakers = resolved.circuitBreaker === undefined
      ? undefined
      : Option.isSome(breakerStore)
      ? yield* CircuitBreakerStore.makeRegistry({ breaker: breakerOptions(resolved.circuitBreaker) }).pipe(
        Effect.provideService(CircuitBreakerStore.CircuitBreakerStore, breakerStore.value)
      )
      : yield* CircuitBreaker.makeRegistry({ breaker: breakerOptions(resolved.circuitBreaker) })
    const limiter = resolved.rateLimit === undefined
      ? undefined
      : yield* Effect.provide(RateLimit.make(resolved.rateLimit), store)
    return { resolved, breakers, limiter, bulkheads: new Map() }
  })

/** @internal */
export const make = (options: P.Options = {}): Effect.Effect<P.Policy, InvalidPolicy, Scope.Scope> =>
  Effect.gen(function*() {
    const compiled = yield* Effect.try({
      try: () => compile(options),
      catch: (error) => error instanceof InvalidPolicy ? error : invalid([{ field: "?", detail: String(error) }])
    })
    const budget = Option.getOrUndefined(yield* Effect.serviceOption(RetryBudget.RetryBudget)) ??
      (yield* RetryBudget.make())
    const store = Option.match(yield* Effect.serviceOption(RateLimit.RateLimiterStore), {
      onNone: () => undefined,
      onSome: (store) => Context.make(RateLimit.RateLimiterStore, store)
    }) ?? (yield* Layer.build(RateLimit.layerStoreMemory))
    // every caller of a key that was told to wait (429/503 with Retry-After) waits: RateLimit's pauses
    const pauses = yield* Effect.provide(RateLimit.make({ limit: 1, window: "1 second" }), store)
    let anyPause = false

    const baseProfile = yield* makeProfile(compiled.base, store)
    const hostProfiles = new Map<string, Profile>()
    for (const [host, resolved] of compiled.hosts) hostProfiles.set(host, yield* makeProfile(resolved, store))

    const onEvent: Hook | undefined = options.onEvent
    const telemetry = options.telemetry
    for (const profile of [baseProfile, ...hostProfiles.values()]) {
      if (profile.breakers === undefined) continue
      // Tracking logs every transition from a fiber of its own, whatever the calls' tracer: only when asked for
      if (telemetry === true) yield* Telemetry.trackBreaker(profile.breakers)
      if (onEvent !== undefined) yield* observeBreakers(profile.breakers, onEvent)
    }

    const stacks = new Map<string, Stack>()
    const onlyBase = hostProfiles.size === 0 && compiled.endpoints.length === 0
    let baseStack: Stack | undefined
    const stackFor = (target: Target, method: string): Stack => {
      // without host or endpoint overrides every call shares the base stack
      if (onlyBase && baseStack !== undefined) return baseStack
      const profileName = hostProfiles.has(target.hostPort)
        ? target.hostPort
        : hostProfiles.has(target.host)
        ? target.host
        : ""
      const profile = profileName === "" ? baseProfile : hostProfiles.get(profileName)!
      let endpoint = -1
      for (let i = 0; i < compiled.endpoints.length; i++) {
        const matcher = compiled.endpoints[i]
        if ((matcher.method === undefined || matcher.method === method) && matcher.path.test(target.path)) {
          endpoint = i
          break
        }
      }
      const cacheKey = `${profileName}\u0000${endpoint}`
      let stack = stacks.get(cacheKey)
      if (stack === undefined) {
        const resolved = endpoint === -1
          ? profile.resolved
          : resolveLayer(profile.resolved, compiled.endpoints[endpoint].options, "")
        const retry = resolved.retry
        stack = {
          resolved,
          profile,
          schedule: retry === undefined ? undefined : scheduleFor(retry),
          retryOn: retryOnWith(retry?.retryOn, retry?.statuses),
          delayHint: delayHintWith(retry ?? packageDefaults.retry!)
        }
        stacks.set(cacheKey, stack)
        if (onlyBase) baseStack = stack
      }
      return stack
    }

    const bulkheadFor = (profile: Profile, options: ResolvedBulkhead, key: string): Bulkhead.Bulkhead => {
      let bulkhead = profile.bulkheads.get(key)
      if (bulkhead === undefined) {
        bulkhead = Effect.runSync(Bulkhead.make({
          key,
          maxConcurrent: options.maxConcurrent,
          maxQueued: options.maxQueued,
          maxWait: options.maxWait
        }))
        profile.bulkheads.set(key, bulkhead)
        if (profile.bulkheads.size > bulkheadCapacity) {
          const oldest = profile.bulkheads.keys().next()
          if (oldest.done !== true) profile.bulkheads.delete(oldest.value)
        }
      }
      return bulkhead
    }

    const onAttemptFailure = (
      failure: HttpFailure.HttpFailure,
      key: string,
      retry: ResolvedRetry
    ): Effect.Effect<never, HttpFailure.HttpFailure> => {
      if (!retry.respectRetryAfter) return Effect.fail(failure)
      if (
        (failure._tag === "RateLimited" || (failure._tag === "ServerError" && failure.status === 503)) &&
        retry.retryAfterStatuses.has(failure.status)
      ) {
        const wait = failure.retryAfter
        if (Option.isSome(wait) && Duration.toMillis(wait.value) > 0) {
          anyPause = true
          return Effect.zipRight(pauses.pauseFor(key, wait.value), Effect.fail(failure))
        }
      }
      if (failure._tag === "ClientError" && retry.retryAfterStatuses.has(failure.status)) {
        const headers = failure.headers as unknown as Headers.Headers
        if (
          headers["retry-after"] === undefined && headers["ratelimit"] === undefined &&
          headers["ratelimit-remaining"] === undefined && headers["x-ratelimit-remaining"] === undefined
        ) return Effect.fail(failure)
        return Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const hint = RetryHeaders.retryAfter(headers, now)
          if (Option.isSome(hint)) clientErrorHints.set(failure, hint.value)
          return Effect.fail(failure)
        })
      }
      return Effect.fail(failure)
    }

    const run = <A, R>(
      input: HttpClientRequest.HttpClientRequest,
      send: (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<A, HttpFailure.HttpFailure, R>,
      runOptions?: P.RunOptions
    ): Effect.Effect<A, P.Failure, R> => {
      // a URL fragment is the client's alone: no attempt, span or failure of the call carries it
      const request = attempt.withoutFragment(input)
      const target = parseTarget(request.url)
      const key = options.upstreamKey === undefined ? target.origin : options.upstreamKey(request)
      const stack = stackFor(target, request.method)
      const resolved = stack.resolved
      const retry = resolved.retry
      const hook = runOptions?.onEvent === undefined ? onEvent : bothHooks(onEvent, runOptions.onEvent)
      const keyed = retry !== undefined && retry.idempotencyKey && !idempotency.isIdempotent(request)
      const selfEnforcing = runOptions?.sendHonoursDeadline === true
      const start = (ready: HttpClientRequest.HttpClientRequest, traced: boolean): Effect.Effect<A, P.Failure, R> => {
        const observer: Observer | undefined = hook === undefined ? undefined : { key, emit: hook, attempt: 1 }
        return keyed
          ? Effect.flatMap(
            idempotency.ensureKey(ready),
            (withKey) => pipeline(withKey, key, stack, send, observer, traced, selfEnforcing)
          )
          : pipeline(ready, key, stack, send, observer, traced, selfEnforcing)
      }
      if (telemetry === false) return start(request, false)
      if (telemetry === true) return start(request, true)
      return Effect.withFiberRuntime((fiber) => start(request, isTracing(fiber)))
    }

    const pipeline = <A, R>(
      request: HttpClientRequest.HttpClientRequest,
      key: string,
      stack: Stack,
      send: (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<A, HttpFailure.HttpFailure, R>,
      observer: Observer | undefined,
      traced: boolean,
      selfEnforcing: boolean
    ): Effect.Effect<A, P.Failure, R> => {
      const resolved = stack.resolved
      const profile = stack.profile

      // attempt timeout, innermost: it covers sending, reading the body and decoding. The attempt span wraps it, so
      // that an attempt that runs out of time ends as a `Timeout` failure rather than as interrupted.
      let timed: Effect.Effect<A, HttpFailure.HttpFailure, R> = traced
        ? Telemetry.attempt(request, (ready) => timedAttempt(ready, send, resolved, selfEnforcing))
        : timedAttempt(request, send, resolved, selfEnforcing)
      if (observer !== undefined) timed = observeAttempt(timed, observer)
      const hintRules = resolved.retry ?? packageDefaults.retry!
      let guarded: Effect.Effect<A, Guarded, R> = Effect.catchAll(
        timed,
        (failure) => onAttemptFailure(failure, key, hintRules)
      )

      if (resolved.bulkhead !== undefined) {
        guarded = bulkheadFor(profile, resolved.bulkhead, key).run(guarded)
        // a call still queued when the deadline passes timed out: the HTTP taxonomy says so, not the bulkhead
        if (resolved.bulkhead.maxQueued > 0) {
          guarded = Effect.catchIf(guarded, isQueueTimeout, (rejection) => queueTimedOut(rejection, request))
        }
      }
      if (profile.breakers !== undefined) {
        guarded = profile.breakers.withBreaker(key)(guarded)
      }
      if (observer !== undefined && (resolved.bulkhead !== undefined || profile.breakers !== undefined)) {
        guarded = Effect.tapError(guarded, (failure) =>
          isAttemptRejection(failure)
            ? observer.emit({ _tag: "Rejected", key, attempt: observer.attempt, rejection: failure })
            : Effect.void)
      }

      const retry = resolved.retry
      const idempotent = idempotency.isIdempotent(request)
      const hedging = resolved.hedging
      if (hedging !== undefined && idempotent) {
        // with a budget, every hedge is a retry to pay for; the retry stage already deposited the call
        const onHedge = observer === undefined ? undefined : (event: Hedge.HedgeEvent) =>
          observer.emit({
            _tag: "HedgeStarted",
            key,
            attempt: observer.attempt,
            index: event.index,
            trigger: event.trigger,
            elapsed: event.elapsed
          })
        guarded = retry !== undefined && retry.budget
          ? Effect.provideService(
            Hedge.hedge(guarded, { ...hedging, budget: key, deposit: false, onHedge }),
            RetryBudget.RetryBudget,
            budget
          )
          : Hedge.hedge(guarded, { ...hedging, onHedge })
      }
      let retried: Effect.Effect<A, P.Failure, R> = guarded
      if (retry !== undefined) {
        const waitForProbe = resolved.circuitBreaker?.waitForProbe === true
        // `methods` is an allow-list combined (AND) with the failure's kind; `retryUnsent: false` never repeats a
        // request that is not safe to repeat, even when the failure proves it was never sent
        const methodAllowed = retry.methods === undefined || retry.methods.has(request.method.toUpperCase())
        const retryUnsent = retry.retryUnsent
        const retryable = (failure: Guarded, attempt: number): boolean => {
          if (!methodAllowed) return false
          // an open breaker already knows the answer: the caller gets it at once, unless asked to wait for the probe
          if (failure._tag === "CircuitOpen") return waitForProbe
          if (failure._tag === "BulkheadRejected") return false
          return stack.retryOn(failure, attempt) &&
            (idempotent || (retryUnsent && !HttpFailure.mayHaveReachedServer(failure)))
        }
        const delayHint = stack.delayHint
        const onAttempt = observer === undefined
          ? traced ? Telemetry.onRetry : undefined
          : (decision: Retry.Attempt<Guarded>): Effect.Effect<void> => {
            if (decision.retrying) observer.attempt = decision.attempt
            const reported = observer.emit({
              _tag: "RetryDecision",
              key,
              attempt: decision.attempt,
              delay: decision.delay,
              reason: decision.reason,
              retrying: decision.retrying,
              failure: decision.failure
            })
            return traced ? Effect.zipRight(Telemetry.onRetry(decision), reported) : reported
          }
        // one literal of one shape per call: a spread here cost more than the rest of the pipeline's set-up
        retried = retry.budget
          ? Retry.retry(guarded, {
            schedule: stack.schedule!,
            while: retryable,
            delayHint,
            maxHintedDelay: retry.maxRetryAfter,
            hintJitter: retry.retryAfterJitter,
            finalFailure: withAttempts,
            onAttempt,
            budget: key,
            budgetService: budget
          })
          : Retry.retry(guarded, {
            schedule: stack.schedule!,
            while: retryable,
            delayHint,
            maxHintedDelay: retry.maxRetryAfter,
            hintJitter: retry.retryAfterJitter,
            finalFailure: withAttempts,
            onAttempt
          })
      }

      // No timer for the deadline: each wait inside bounds itself by it. Retry sleeps never pass it, a bulkhead queue
      // never waits past it, and each attempt ends by the attempt timeout or the deadline, whichever comes first:
      // enforced by the transport when it can, by one timer otherwise.
      const total = resolved.totalTimeout
      const bounded: Effect.Effect<A, P.Failure, R> = total === undefined && resolved.attemptTimeout === undefined
        ? retried
        : Deadline.establish(retried, total ?? Duration.infinity, { attemptTimeout: resolved.attemptTimeout })

      // outermost: the client-side rate limit, and the pause a server asked for on this key
      const limiter = profile.limiter
      const limited: Effect.Effect<A, P.Failure, R> = limiter === undefined ? bounded : limiter.run(key)(bounded)
      const paused = anyPause ? pausedThen(limited, key, resolved) : limited
      const observed = observer === undefined ? paused : Effect.tapError(paused, (failure) => {
        switch (failure._tag) {
          case "RateLimitExceeded":
          case "RateLimitStoreError":
            return observer.emit({ _tag: "Rejected", key, attempt: observer.attempt, rejection: failure })
          case "RetryBudgetExhausted":
            return observer.emit({ _tag: "Rejected", key, attempt: failure.attempts + 1, rejection: failure })
          default:
            return Effect.void
        }
      })
      return traced ? Telemetry.logicalCall(observed, request, { upstream: key }) : observed
    }

    // the pause a server asked for on this key: wait it out when it fits, fail at once otherwise
    const pausedThen = <A, R>(
      limited: Effect.Effect<A, P.Failure, R>,
      key: string,
      resolved: Resolved
    ): Effect.Effect<A, P.Failure, R> => {
      const retry = resolved.retry
      const total = resolved.totalTimeout
      return Effect.flatMap(pauses.pausedFor(key), (left) => {
        if (Duration.isZero(left)) return limited
        return Effect.flatMap(Deadline.remaining, (remaining) => {
          let patience: Duration.Duration = retry === undefined ? defaults.retry.maxRetryAfter : retry.maxRetryAfter
          if (total !== undefined) patience = Duration.min(patience, total)
          if (Option.isSome(remaining)) patience = Duration.min(patience, remaining.value)
          return Duration.greaterThan(left, patience)
            ? Effect.fail(new RateLimit.RateLimitExceeded({ key, reason: "paused", retryAfter: left }))
            : Effect.zipRight(Effect.sleep(left), limited)
        })
      })
    }

    const describe = (request: HttpClientRequest.HttpClientRequest): P.Describe => {
      const target = parseTarget(request.url)
      const resolved = stackFor(target, request.method).resolved
      return {
        key: options.upstreamKey === undefined ? target.origin : options.upstreamKey(request),
        totalTimeout: Option.fromNullable(resolved.totalTimeout),
        attemptTimeout: Option.fromNullable(resolved.attemptTimeout),
        maxAttempts: resolved.retry?.maxAttempts ?? 1,
        circuitBreaker: resolved.circuitBreaker !== undefined,
        bulkhead: resolved.bulkhead !== undefined,
        rateLimit: resolved.rateLimit !== undefined,
        deadlineHeader: Option.fromNullable(resolved.deadlineHeader)
      }
    }

    return {
      options,
      run,
      describe,
      budget,
      circuitBreaker: (request: HttpClientRequest.HttpClientRequest) =>
        Effect.suspend(() => {
          const target = parseTarget(request.url)
          const profile = stackFor(target, request.method).profile
          const key = options.upstreamKey === undefined ? target.origin : options.upstreamKey(request)
          return profile.breakers === undefined
            ? Effect.succeed(Option.none())
            : Effect.map(profile.breakers.get(key), Option.some)
        })
    } satisfies P.Policy
  })

/** @internal */
export const layer = (options: P.Options = {}): Layer.Layer<P.Policy, InvalidPolicy> => Layer.scoped(tag, make(options))

/** @internal */
export const layerConfig = (
  config: Config.Config<P.Options>
): Layer.Layer<P.Policy, InvalidPolicy | ConfigError.ConfigError> => Layer.scoped(tag, Effect.flatMap(config, make))

// -----------------------------------------------------------------------------
// Config
// -----------------------------------------------------------------------------

const optional = <A>(config: Config.Config<A>): Config.Config<A | undefined> =>
  Config.map(Config.option(config), Option.getOrUndefined)

// A section is inherited when nothing in it is set, turned off by `enabled: false`, and otherwise overrides.
const section = <A extends object>(enabled: boolean | undefined, fields: A): A | false | undefined =>
  enabled === false
    ? false
    : enabled === true || Object.values(fields).some((value) => value !== undefined)
    ? fields
    : undefined

const timeConfig = {
  totalTimeout: optional(Config.duration("totalTimeout")),
  attemptTimeout: optional(Config.duration("attemptTimeout")),
  deadlineHeader: optional(Config.string("deadlineHeader")),
  retry: Config.nested(
    Config.all({
      enabled: optional(Config.boolean("enabled")),
      maxAttempts: optional(Config.integer("maxAttempts")),
      baseDelay: optional(Config.duration("baseDelay")),
      maxDelay: optional(Config.duration("maxDelay")),
      maxElapsed: optional(Config.duration("maxElapsed")),
      maxRetryAfter: optional(Config.duration("maxRetryAfter")),
      respectRetryAfter: optional(Config.boolean("respectRetryAfter")),
      retryAfterStatuses: optional(Config.array(Config.integer(), "retryAfterStatuses")),
      statuses: optional(Config.array(Config.integer(), "statuses")),
      methods: optional(
        Config.array(Config.string(), "methods") as Config.Config<ReadonlyArray<Idempotency.Method>>
      ),
      budget: optional(Config.boolean("budget")),
      idempotencyKey: optional(Config.boolean("idempotencyKey")),
      retryUnsent: optional(Config.boolean("retryUnsent"))
    }),
    "retry"
  )
}

const endpointConfig: Config.Config<P.EndpointOptions> = Config.all(timeConfig).pipe(
  Config.map(({ retry: { enabled, ...retry }, ...rest }): P.EndpointOptions => ({
    ...rest,
    retry: section(enabled, retry)
  }))
)

const hostConfig: Config.Config<P.HostOptions> = Config.all({
  ...timeConfig,
  circuitBreaker: Config.nested(
    Config.all({
      enabled: optional(Config.boolean("enabled")),
      failureRateThreshold: optional(Config.number("failureRateThreshold")),
      minimumThroughput: optional(Config.integer("minimumThroughput")),
      consecutiveFailures: optional(Config.integer("consecutiveFailures")),
      slidingWindow: optional(Config.duration("slidingWindow")),
      breakDuration: optional(Config.duration("breakDuration")),
      countsAsFailure: optional(Config.array(Config.integer(), "countsAsFailure")),
      waitForProbe: optional(Config.boolean("waitForProbe"))
    }),
    "circuitBreaker"
  ),
  bulkhead: Config.nested(
    Config.all({
      enabled: optional(Config.boolean("enabled")),
      maxConcurrent: optional(Config.integer("maxConcurrent")),
      maxQueued: optional(Config.integer("maxQueued")),
      maxWait: optional(Config.duration("maxWait"))
    }),
    "bulkhead"
  ),
  rateLimit: Config.nested(
    Config.all({
      enabled: optional(Config.boolean("enabled")),
      limit: optional(Config.integer("limit")),
      window: optional(Config.duration("window"))
    }),
    "rateLimit"
  )
}).pipe(Config.map(({ bulkhead, circuitBreaker, rateLimit, retry, ...rest }): P.HostOptions => {
  const { enabled: retryOn, ...retryOptions } = retry
  const { enabled: breakerOn, ...breakerOptions } = circuitBreaker
  const { enabled: bulkheadOn, ...bulkheadOptions } = bulkhead
  return {
    ...rest,
    retry: section(retryOn, retryOptions),
    circuitBreaker: section(breakerOn, breakerOptions),
    bulkhead: section(bulkheadOn, bulkheadOptions),
    rateLimit: rateLimit.enabled === false
      ? false
      : rateLimit.limit === undefined || rateLimit.window === undefined
      ? undefined
      : { limit: rateLimit.limit, window: rateLimit.window }
  }
}))

const record = <A>(config: Config.Config<A>, name: string): Config.Config<Record<string, A>> =>
  Config.map(Config.hashMap(config, name), (map) => Object.fromEntries(HashMap.toEntries(map)))

/** @internal */
export const config: Config.Config<P.Options> = Config.all({
  defaults: hostConfig,
  hosts: record(hostConfig, "hosts"),
  endpoints: record(endpointConfig, "endpoints"),
  telemetry: optional(Config.boolean("telemetry"))
}).pipe(Config.map(({ defaults, endpoints, hosts, telemetry }): P.Options => ({
  ...defaults,
  hosts,
  endpoints,
  ...(telemetry === undefined ? {} : { telemetry })
})))

// -----------------------------------------------------------------------------
// attempts and the client
// -----------------------------------------------------------------------------

/** @internal */
export const run = <A, R>(
  request: HttpClientRequest.HttpClientRequest,
  send: (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<A, HttpFailure.HttpFailure, R>,
  options?: P.RunOptions
): Effect.Effect<A, P.Failure, R | P.Policy> => Effect.flatMap(tag, (policy) => policy.run(request, send, options))

// `send` runs an Attempt, which honours the limit the pipeline sets
const attemptRunOptions: P.RunOptions = { sendHonoursDeadline: true }

// A client that records each response's status for the call's spans, built once per client.
const statusRecording = new WeakMap<object, Attempt.Client<any>>()

// The client an attempt uses: the one that records statuses while the call is traced, so that a call whose result
// is a decoded body still reports the status it got.
const attemptClient = <R, A, E, RE>(
  client: Attempt.Client<R>,
  use: (client: Attempt.Client<R>) => Effect.Effect<A, E, RE>
): Effect.Effect<A, E, RE> =>
  Effect.withFiberRuntime((fiber) => {
    if (fiber.getFiberRef(telemetryInternal.currentCall) === undefined) return use(client)
    let recording: Attempt.Client<R> | undefined = statusRecording.get(client)
    if (recording === undefined) {
      recording = Telemetry.client(client)
      statusRecording.set(client, recording)
    }
    return use(recording)
  })

/** @internal */
export const send = <R = never>(
  client: Attempt.Client<R>,
  request: HttpClientRequest.HttpClientRequest,
  options?: Attempt.Options
): Effect.Effect<Attempt.Received, P.Failure, R | P.Policy> =>
  run(
    request,
    (ready) => attemptClient(client, (client) => attempt.send(client, ready, options)),
    attemptRunOptions
  )

/** @internal */
export const json = <A, I, R, RC = never>(
  client: Attempt.Client<RC>,
  request: HttpClientRequest.HttpClientRequest,
  schema: Schema.Schema<A, I, R>,
  options?: Attempt.Options
): Effect.Effect<A, P.Failure, R | RC | P.Policy> =>
  run(
    request,
    (ready) => attemptClient(client, (client) => attempt.json(client, ready, schema, options)),
    attemptRunOptions
  )

/** @internal */
export const clientTag = Context.GenericTag<P.Client>("@sturdy/http/Policy/Client")

/** @internal */
export const makeClientWith = (
  client: HttpClient.HttpClient,
  policy: P.Policy,
  options: SturdyClient.SturdyClient.Options = {}
): P.Client => {
  // records each response's status for the attempt and call spans, also when the body is decoded
  const api = sturdyClient.makeWith(Telemetry.client(client), options)
  const baseUrl = options.baseUrl === undefined ? undefined : String(options.baseUrl)
  const method = (verb: HttpMethod.HttpMethod | undefined): P.Method => {
    function call<A, I, R, B = unknown, BI = unknown, BR = never>(
      pathOrRequest: string | HttpClientRequest.HttpClientRequest,
      requestOptions: SturdyClient.SturdyClient.RequestOptions<B, BI, BR> & P.RunOptions & {
        readonly schema: Schema.Schema<A, I, R>
      }
    ): Effect.Effect<A, P.Failure, R | BR>
    function call<B = unknown, BI = unknown, BR = never>(
      pathOrRequest: string | HttpClientRequest.HttpClientRequest,
      requestOptions?: SturdyClient.SturdyClient.RequestOptions<B, BI, BR> & P.RunOptions
    ): Effect.Effect<Attempt.Received, P.Failure, BR>
    function call<A, I, R, B, BI, BR>(
      pathOrRequest: string | HttpClientRequest.HttpClientRequest,
      requestOptions: SturdyClient.SturdyClient.RequestOptions<B, BI, BR> & P.RunOptions & {
        readonly schema?: Schema.Schema<A, I, R> | undefined
      } = {}
    ): Effect.Effect<A | Attempt.Received, P.Failure, R | BR> {
      let request = sturdyClient.requestFor(verb, pathOrRequest)
      const url = sturdyClient.resolveUrl(baseUrl, request.url)
      if (url !== request.url) request = HttpClientRequest.setUrl(request, url)
      // the pipeline decides on the request as it will be sent: an Idempotency-Key in `headers` counts, and the
      // call's telemetry shows the query parameters (redacted) of `urlParams`
      if (requestOptions.headers !== undefined) request = HttpClientRequest.setHeaders(request, requestOptions.headers)
      if (requestOptions.urlParams !== undefined) {
        request = HttpClientRequest.appendUrlParams(request, requestOptions.urlParams)
      }
      const schema = requestOptions.schema
      const sendOptions = { ...requestOptions, headers: undefined, urlParams: undefined }
      return policy.run(
        request,
        (ready): Effect.Effect<A | Attempt.Received, HttpFailure.HttpFailure, R | BR> =>
          schema === undefined
            ? api.execute(ready, sendOptions)
            : api.execute(ready, { ...sendOptions, schema }),
        requestOptions.onEvent === undefined
          ? attemptRunOptions
          : { onEvent: requestOptions.onEvent, sendHonoursDeadline: true }
      )
    }
    return call
  }
  return {
    policy,
    ...sturdyClient.methodsOf(method)
  }
}

/** @internal */
export const makeClient = (
  options?: SturdyClient.SturdyClient.Options
): Effect.Effect<P.Client, never, HttpClient.HttpClient | P.Policy> =>
  Effect.zipWith(HttpClient.HttpClient, tag, (client, policy) => makeClientWith(client, policy, options))

/** @internal */
export const layerClient = (
  options?: SturdyClient.SturdyClient.Options
): Layer.Layer<P.Client, never, HttpClient.HttpClient | P.Policy> => Layer.effect(clientTag, makeClient(options))
