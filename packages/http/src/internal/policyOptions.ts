import * as AdaptiveThrottle from "@sturdy/policy/AdaptiveThrottle"
import type * as Backoff from "@sturdy/policy/Backoff"
import * as ConcurrencyLimit from "@sturdy/policy/ConcurrencyLimit"
import * as Deadline from "@sturdy/policy/Deadline"
import * as Cause from "effect/Cause"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as HttpFailure from "../HttpFailure.js"
import type * as Idempotency from "../Idempotency.js"
import type * as P from "../Policy.js"
import { isNaNInput, isNegative } from "./durationInput.js"
import * as upstream from "./upstream.js"

// -----------------------------------------------------------------------------
// errors and defaults
// -----------------------------------------------------------------------------

/** @internal One thing wrong with a policy's options: the field the user set, and what is wrong with it. */
export interface Problem {
  readonly field: string
  readonly detail: string
}

/** @internal */
export class InvalidPolicy
  extends Schema.TaggedError<InvalidPolicy>("@sturdy/http/Policy/InvalidPolicy")("InvalidPolicy", {
    /** The first problem's field. */
    field: Schema.String,
    /** The first problem's detail. */
    detail: Schema.String,
    /** Every problem found, the first included. */
    problems: Schema.Array(Schema.Struct({ field: Schema.String, detail: Schema.String }))
  })
{
  override get message(): string {
    if (this.problems.length <= 1) return `invalid policy: ${this.field} ${this.detail}`
    return `invalid policy (${this.problems.length} problems): ${
      this.problems.map((problem) => `${problem.field} ${problem.detail}`).join("; ")
    }`
  }
}

/** @internal */
export const invalid = (problems: ReadonlyArray<Problem>): InvalidPolicy =>
  new InvalidPolicy({ field: problems[0]!.field, detail: problems[0]!.detail, problems })

/** @internal */
export const maxAttemptsCap = 10

/** @internal The longest duration a timer can hold (2^31 − 1 ms, about 24.8 days): a longer wait never fires. */
export const maxTimerMillis: number = Deadline.maxTimerMillis

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
    // half the attempts: a breaker is for an upstream that is down, not one whose errors the retries absorb (every
    // attempt counts, so at 0.1 a steady 20 % of 503s keeps it open and fails calls a retry would have rescued)
    failureRateThreshold: 0.5,
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
// resolution and validation
// -----------------------------------------------------------------------------

/** @internal */
export type RetryFailure = P.RetryFailure

/** @internal */
export interface ResolvedRetry {
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

/** @internal */
export interface ResolvedBreaker {
  readonly failureRateThreshold: number
  readonly minimumThroughput: number
  /** a duration, or a count window (the last `calls` calls) */
  readonly slidingWindow: Duration.Duration | { readonly calls: number }
  readonly breakDuration: Duration.Duration | Schedule.Schedule<unknown, unknown>
  readonly consecutiveFailures: number
  /** unset: off */
  readonly failureCountThreshold?: number | undefined
  readonly halfOpenMaxProbes: number
  readonly successThreshold: number
  /** unset: the breaker's default (the pause that preceded the HalfOpen period) */
  readonly maxProbeDuration?: Duration.Duration | undefined
  readonly countsAsFailure?: P.CountsAsFailure | undefined
  readonly waitForProbe: boolean
}

/** @internal */
export interface ResolvedBulkhead {
  readonly maxConcurrent: number
  readonly maxQueued: number
  readonly maxWait: Duration.Duration | undefined
}

/**
 * The options of a key's `ConcurrencyLimit` (its `key` and `isDrop` are the stage's); unset ones keep
 * `ConcurrencyLimit`'s defaults.
 * @internal
 */
export interface ResolvedConcurrencyLimit extends Omit<P.ConcurrencyLimitOptions, "timeout"> {
  readonly timeout?: Duration.Duration | undefined
}

/**
 * The options of a key's `AdaptiveThrottle` (its `key` and `isRejectedByBackend` are the stage's); unset ones keep
 * `AdaptiveThrottle`'s defaults.
 * @internal
 */
export interface ResolvedAdaptiveThrottle {
  readonly k?: number | undefined
  readonly window?: Duration.Duration | undefined
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
  /**
   * The rules for a server's waits and pauses (`respectRetryAfter`, `retryAfterStatuses`, `maxRetryAfter`), in force
   * with retries off too: those of `retry`, else of the level that `retry: false` turned off (the package's at the
   * top), so that a host's `respectRetryAfter: false` holds for its endpoints without retries.
   */
  readonly retryAfterRules: ResolvedRetry
  readonly hedging: P.HedgingOptions | undefined
  readonly circuitBreaker: ResolvedBreaker | undefined
  readonly bulkhead: ResolvedBulkhead | undefined
  readonly concurrencyLimit: ResolvedConcurrencyLimit | undefined
  readonly adaptiveThrottle: ResolvedAdaptiveThrottle | undefined
  readonly rateLimit: ResolvedRateLimit | undefined
  readonly deadlineHeader: string | undefined
  readonly retryCountHeader: string | undefined
  /**
   * Where the user set the options validation compares with each other (`"retry.baseDelay"` →
   * `"hosts[\"a\"].retry.baseDelay"`); an option without an entry has its default (or a derived value).
   */
  readonly origins: Readonly<Record<string, string>>
}

// Problems found while compiling: every one is collected, so InvalidPolicy can list them all at once. Outside of a
// compilation (resolving a stack at run time, on options already validated) a problem is thrown.
let collecting: Array<Problem> | undefined

// A value as a problem shows it: JSON for strings and plain data, and never a throw of its own (`JSON.stringify` throws
// on a bigint, a template on a symbol, either on an object whose getter or `valueOf` throws), which would escape
// `validate` as an untyped defect instead of an InvalidPolicy naming the option.
const show = (value: unknown): string => {
  if (typeof value === "number" || typeof value === "symbol") return String(value)
  if (typeof value === "bigint") return `${value}n`
  if (typeof value === "function") return "a function"
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return typeof value
  }
}

const problem = (field: string, detail: string): void => {
  if (collecting === undefined) throw invalid([{ field, detail }])
  if (!collecting.some((known) => known.field === field && known.detail === detail)) {
    collecting.push({ field, detail })
  }
}

const timerLimit = "2^31 − 1 ms, about 24.8 days, the longest a timer can hold: a longer wait would never fire"

/**
 * Decodes a duration option; a problem (and `fallback`) when it is not a duration (`NaN` included), when it is
 * negative (which Effect would read as zero), or when it is finite and longer than a timer can hold (an infinite one
 * is `none` where `allowInfinite`, a problem elsewhere).
 */
const decodeField = (
  field: string,
  input: Duration.DurationInput,
  fallback: Duration.Duration,
  allowInfinite: boolean
): Duration.Duration => {
  const decoded = Option.getOrUndefined(Duration.decodeUnknown(input))
  // Effect reads `NaN` (a number parsed from an unset setting) as zero: "no wait", "no retry after any pause"
  if (decoded === undefined || isNaNInput(input)) {
    problem(field, "is not a duration")
    return fallback
  }
  if (isNegative(input)) {
    problem(field, `(${String(input)}) must not be negative`)
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
      problem(field, `(${show(method)}) must list HTTP methods`)
    }
  }
  return new Set(input.map((method) => String(method).toUpperCase()))
}

/** An object of options: a section set to anything else (a string, a number, a list, `null`) is a mistake. */
const isOptionsObject = (input: unknown): boolean =>
  typeof input === "object" && input !== null && !Array.isArray(input)

/** A problem when `input` is set but is no object of options (`false`, where a section may be turned off, is fine). */
const isSection = (field: string, input: unknown, canBeOff: boolean): boolean => {
  if (isOptionsObject(input)) return true
  problem(field, canBeOff ? "must be an object of options, or false" : "must be an object of options")
  return false
}

// The options each section takes: a key that is none of them (a misspelling, an option of another section, one that
// `endpoints` do not take) is reported rather than ignored, as the `sturdy` command's policy files already are.
// Typed as records of the interfaces' keys, so that an option added to an interface must be added here too.
const endpointKeys: Readonly<Record<keyof P.EndpointOptions, true>> = {
  totalTimeout: true,
  attemptTimeout: true,
  retry: true,
  hedging: true,
  deadlineHeader: true,
  retryCountHeader: true
}
const hostKeys: Readonly<Record<keyof P.HostOptions, true>> = {
  ...endpointKeys,
  circuitBreaker: true,
  bulkhead: true,
  concurrencyLimit: true,
  adaptiveThrottle: true,
  rateLimit: true
}
const optionKeys: Readonly<Record<keyof P.Options, true>> = {
  ...hostKeys,
  upstreamKey: true,
  hosts: true,
  endpoints: true,
  onEvent: true,
  telemetry: true
}
const retryOptionKeys: Readonly<Record<keyof P.RetryOptions, true>> = {
  maxAttempts: true,
  baseDelay: true,
  maxDelay: true,
  jitter: true,
  maxElapsed: true,
  schedule: true,
  delay: true,
  statuses: true,
  methods: true,
  respectRetryAfter: true,
  retryAfterStatuses: true,
  maxRetryAfter: true,
  retryAfterJitter: true,
  budget: true,
  idempotencyKey: true,
  retryUnsent: true,
  retryOn: true
}
const breakerKeys: Readonly<Record<keyof P.CircuitBreakerOptions, true>> = {
  failureRateThreshold: true,
  minimumThroughput: true,
  slidingWindow: true,
  breakDuration: true,
  consecutiveFailures: true,
  failureCountThreshold: true,
  halfOpenMaxProbes: true,
  successThreshold: true,
  maxProbeDuration: true,
  countsAsFailure: true,
  waitForProbe: true
}
const bulkheadKeys: Readonly<Record<keyof P.BulkheadOptions, true>> = {
  maxConcurrent: true,
  maxQueued: true,
  maxWait: true
}
const concurrencyLimitKeys: Readonly<Record<keyof P.ConcurrencyLimitOptions, true>> = {
  algorithm: true,
  initialLimit: true,
  minLimit: true,
  maxLimit: true,
  backoffRatio: true,
  timeout: true,
  smoothing: true,
  queueSize: true,
  rttTolerance: true,
  longWindow: true
}
const adaptiveThrottleKeys: Readonly<Record<keyof P.AdaptiveThrottleOptions, true>> = { k: true, window: true }
const rateLimitKeys: Readonly<Record<keyof P.RateLimitOptions, true>> = {
  limit: true,
  window: true,
  algorithm: true,
  onExceeded: true
}
const hedgingKeys: Readonly<Record<keyof P.HedgingOptions, true>> = { delay: true, maxHedges: true, failure: true }

/** Reports every key of `input` set to a value that is not an option of its section, with the option meant if any. */
const checkKeys = (prefix: string, input: object, known: Readonly<Record<string, true>>): void => {
  for (const key of Object.keys(input)) {
    if (Object.hasOwn(known, key) || (input as Record<string, unknown>)[key] === undefined) continue
    const meant = closestKey(key, Object.keys(known))
    problem(`${prefix}${key}`, `is not an option here${meant === undefined ? "" : ` (did you mean ${meant}?)`}`)
  }
}

// The known key a mistyped one most likely meant: the same but for case, `-`/`_`, or at most two edits away.
const closestKey = (key: string, known: ReadonlyArray<string>): string | undefined => {
  const plain = (name: string) => name.toLowerCase().replace(/[-_]/g, "")
  let best: string | undefined
  let bestDistance = 3
  for (const candidate of known) {
    if (plain(candidate) === plain(key)) return candidate
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase(), bestDistance)
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return best
}

// Levenshtein distance, or `bound` once it is known to be at least that (the names are short).
const editDistance = (a: string, b: string, bound: number): number => {
  if (Math.abs(a.length - b.length) >= bound) return bound
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    let rowMin = i
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost)
      rowMin = Math.min(rowMin, current[j]!)
    }
    if (rowMin >= bound) return bound
    previous = current
  }
  return Math.min(previous[b.length]!, bound)
}

// Every `HttpFailure` tag, so that a `retryOn` entry under a misspelt tag is reported rather than never consulted.
const failureTags: Readonly<Record<HttpFailure.HttpFailure["_tag"], true>> = {
  ConnectionError: true,
  Timeout: true,
  ClientError: true,
  RateLimited: true,
  ServerError: true,
  UnexpectedStatus: true,
  BodyTruncated: true,
  BodyUndecodable: true,
  BodyTooLarge: true,
  UnexpectedContentType: true,
  InvalidJson: true,
  SchemaMismatch: true,
  InvalidRequest: true,
  RedirectFailed: true,
  AuthenticationFailed: true
}

/**
 * `retryOn` is a predicate, or an object from failure tags to `true`, `false` or a predicate: anything else (a list
 * of statuses, which `statuses` holds; a number; an unknown tag; an entry that is neither) would be ignored, or throw
 * when the first failure consults it.
 */
const checkRetryOn = (field: string, input: unknown): void => {
  if (typeof input === "function") return
  if (!isOptionsObject(input)) {
    problem(
      field,
      `must be a predicate over the failure or an object from failure tags to true, false or a predicate${
        Array.isArray(input) ? " (a list of statuses belongs in retry.statuses)" : ""
      }`
    )
    return
  }
  for (const [tag, entry] of Object.entries(input as object)) {
    if (!Object.hasOwn(failureTags, tag)) {
      problem(`${field}.${tag}`, "is not the tag of an HttpFailure")
    } else if (!(entry === undefined || typeof entry === "boolean" || typeof entry === "function")) {
      problem(`${field}.${tag}`, "must be true, false or a predicate over the failure")
    }
  }
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
  if (input === undefined || !isSection(field, input, true)) return base
  checkKeys(`${field}.`, input, retryOptionKeys)
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
  if (input.retryOn !== undefined) checkRetryOn(`${field}.retryOn`, input.retryOn)
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

// `slidingWindow: { calls }`: a count window (a duration is never a plain object)
const isCallWindow = (
  window: Duration.DurationInput | { readonly calls: number }
): window is { readonly calls: number } =>
  typeof window === "object" && window !== null && !Array.isArray(window) && !Duration.isDuration(window)

const resolveBreaker = (
  base: ResolvedBreaker | undefined,
  input: P.CircuitBreakerOptions | false | undefined,
  field: string,
  origins: Record<string, string>
): ResolvedBreaker | undefined => {
  if (input === false) return undefined
  if (input === undefined || !isSection(field, input, true)) return base
  checkKeys(`${field}.`, input, breakerKeys)
  if (base === undefined) delete origins["circuitBreaker.slidingWindow"]
  const from: ResolvedBreaker = base ?? defaults.circuitBreaker
  if (input.slidingWindow !== undefined) origins["circuitBreaker.slidingWindow"] = `${field}.slidingWindow`
  const breakDuration = input.breakDuration
  const window = input.slidingWindow
  return {
    failureRateThreshold: input.failureRateThreshold ?? from.failureRateThreshold,
    minimumThroughput: input.minimumThroughput ?? from.minimumThroughput,
    slidingWindow: window === undefined
      ? from.slidingWindow
      : isCallWindow(window)
      ? { calls: window.calls }
      : decodeField(`${field}.slidingWindow`, window, defaults.circuitBreaker.slidingWindow, false),
    breakDuration: breakDuration === undefined
      ? from.breakDuration
      : Schedule.isSchedule(breakDuration)
      ? breakDuration
      : decodeField(`${field}.breakDuration`, breakDuration, defaults.circuitBreaker.breakDuration, false),
    consecutiveFailures: input.consecutiveFailures ?? from.consecutiveFailures,
    failureCountThreshold: input.failureCountThreshold ?? from.failureCountThreshold,
    halfOpenMaxProbes: input.halfOpenMaxProbes ?? from.halfOpenMaxProbes,
    successThreshold: input.successThreshold ?? from.successThreshold,
    maxProbeDuration: input.maxProbeDuration === undefined
      ? from.maxProbeDuration
      : decodeField(`${field}.maxProbeDuration`, input.maxProbeDuration, Duration.infinity, true),
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
  if (input === undefined || !isSection(field, input, true)) return base
  checkKeys(`${field}.`, input, bulkheadKeys)
  const from: ResolvedBulkhead = base ?? { ...defaults.bulkhead, maxWait: undefined }
  return {
    maxConcurrent: input.maxConcurrent ?? from.maxConcurrent,
    maxQueued: input.maxQueued ?? from.maxQueued,
    maxWait: input.maxWait === undefined
      ? from.maxWait
      : finite(decodeField(`${field}.maxWait`, input.maxWait, Duration.infinity, true))
  }
}

// A host's section sets what it names and keeps the rest from the level below (as a bulkhead's does).
const resolveConcurrencyLimit = (
  base: ResolvedConcurrencyLimit | undefined,
  input: P.ConcurrencyLimitOptions | false | undefined,
  field: string
): ResolvedConcurrencyLimit | undefined => {
  if (input === false) return undefined
  if (input === undefined || !isSection(field, input, true)) return base
  checkKeys(`${field}.`, input, concurrencyLimitKeys)
  const from: ResolvedConcurrencyLimit = base ?? {}
  return {
    algorithm: input.algorithm ?? from.algorithm,
    initialLimit: input.initialLimit ?? from.initialLimit,
    minLimit: input.minLimit ?? from.minLimit,
    maxLimit: input.maxLimit ?? from.maxLimit,
    backoffRatio: input.backoffRatio ?? from.backoffRatio,
    timeout: input.timeout === undefined
      ? from.timeout
      : decodeField(`${field}.timeout`, input.timeout, Duration.seconds(5), true),
    smoothing: input.smoothing ?? from.smoothing,
    queueSize: input.queueSize ?? from.queueSize,
    rttTolerance: input.rttTolerance ?? from.rttTolerance,
    longWindow: input.longWindow ?? from.longWindow
  }
}

// A host's section sets what it names and keeps the rest from the level below (as a concurrency limit's does).
const resolveAdaptiveThrottle = (
  base: ResolvedAdaptiveThrottle | undefined,
  input: P.AdaptiveThrottleOptions | false | undefined,
  field: string
): ResolvedAdaptiveThrottle | undefined => {
  if (input === false) return undefined
  if (input === undefined || !isSection(field, input, true)) return base
  checkKeys(`${field}.`, input, adaptiveThrottleKeys)
  const from: ResolvedAdaptiveThrottle = base ?? {}
  return {
    k: input.k ?? from.k,
    window: input.window === undefined
      ? from.window
      : decodeField(`${field}.window`, input.window, Duration.minutes(2), false)
  }
}

const resolveRateLimit = (
  base: ResolvedRateLimit | undefined,
  input: P.RateLimitOptions | false | undefined,
  field: string
): ResolvedRateLimit | undefined => {
  if (input === false) return undefined
  if (input === undefined || !isSection(field, input, true)) return base
  checkKeys(`${field}.`, input, rateLimitKeys)
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
  if (input === undefined || !isSection(field, input, true)) return base
  checkKeys(`${field}.`, input, hedgingKeys)
  if (input.maxHedges !== undefined && !(Number.isInteger(input.maxHedges) && input.maxHedges >= 0)) {
    problem(`${field}.maxHedges`, `(${show(input.maxHedges)}) must be an integer of at least 0`)
  }
  if (input.failure !== undefined) oneOf(input.failure, ["first", "last"], `${field}.failure`)
  // a fixed delay must fit a timer (a percentile's bounds are checked by Hedge itself)
  const delay = input.delay
  if (!(typeof delay === "object" && delay !== null && "tracker" in delay)) {
    decodeField(`${field}.delay`, delay, Duration.zero, false)
  }
  return input
}

/** @internal */
export const defaultRetryCountHeader = "x-retry-count"

// RFC 9110 token: what a header name may be made of
const headerToken = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

const resolveHeaderName = (
  base: string | undefined,
  input: string | boolean | undefined,
  field: string,
  defaultName: string
): string | undefined => {
  if (input === undefined) return base
  if (input === false) return undefined
  if (input === true) return defaultName
  if (typeof input !== "string" || !headerToken.test(input)) {
    problem(field, `(${show(input)}) is not a valid header name (an RFC 9110 token)`)
    return base
  }
  return input.toLowerCase()
}

/**
 * The attempt timeout when the user set none: the default (10 s), or, under a total deadline shorter than that, the
 * deadline shared by the attempts (`totalTimeout ÷ maxAttempts`, ÷ 10 for `maxAttempts: Infinity`), so that a hung
 * attempt still leaves time to retry.
 */
const derivedAttemptTimeout = (
  total: Duration.Duration | undefined,
  retry: ResolvedRetry | undefined
): Duration.Duration => {
  if (total === undefined || Duration.greaterThanOrEqualTo(total, defaults.attemptTimeout)) {
    return defaults.attemptTimeout
  }
  // unlimited attempts (`Infinity`, bounded by this deadline) share it as the most attempts without a bound would
  const attempts = retry === undefined || !(retry.maxAttempts >= 1)
    ? 1
    : retry.maxAttempts === Infinity
    ? maxAttemptsCap
    : Math.floor(retry.maxAttempts)
  const shared = Duration.millis(Math.max(1, Math.floor(Duration.toMillis(total) / attempts)))
  // whole milliseconds, at least one, but never past the deadline (a deadline under 1 ms is the attempt's too); a
  // deadline that is not positive is its own problem, not one of the attempt timeout
  return Duration.toMillis(total) > 0 ? Duration.min(total, shared) : shared
}

/** @internal */
export const resolveLayer = (base: Resolved, input: P.EndpointOptions & P.HostOptions, prefix: string): Resolved => {
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
    retryAfterRules: retry ?? base.retry ?? base.retryAfterRules,
    hedging: resolveHedging(base.hedging, input.hedging, `${prefix}hedging`),
    circuitBreaker: resolveBreaker(base.circuitBreaker, input.circuitBreaker, `${prefix}circuitBreaker`, origins),
    bulkhead: resolveBulkhead(base.bulkhead, input.bulkhead, `${prefix}bulkhead`),
    concurrencyLimit: resolveConcurrencyLimit(
      base.concurrencyLimit,
      input.concurrencyLimit,
      `${prefix}concurrencyLimit`
    ),
    adaptiveThrottle: resolveAdaptiveThrottle(
      base.adaptiveThrottle,
      input.adaptiveThrottle,
      `${prefix}adaptiveThrottle`
    ),
    rateLimit: resolveRateLimit(base.rateLimit, input.rateLimit, `${prefix}rateLimit`),
    deadlineHeader: resolveHeaderName(
      base.deadlineHeader,
      input.deadlineHeader,
      `${prefix}deadlineHeader`,
      Deadline.defaultHeaderName
    ),
    retryCountHeader: resolveHeaderName(
      base.retryCountHeader,
      input.retryCountHeader,
      `${prefix}retryCountHeader`,
      defaultRetryCountHeader
    ),
    origins
  }
}

const defaultRetry: ResolvedRetry = {
  ...defaults.retry,
  maxElapsed: undefined,
  schedule: undefined,
  delay: undefined,
  statuses: undefined,
  methods: undefined,
  retryAfterStatuses: new Set(defaults.retry.retryAfterStatuses),
  retryOn: undefined
}

/** @internal */
export const packageDefaults: Resolved = {
  totalTimeout: defaults.totalTimeout,
  attemptTimeout: defaults.attemptTimeout,
  retry: defaultRetry,
  retryAfterRules: defaultRetry,
  hedging: undefined,
  circuitBreaker: defaults.circuitBreaker,
  bulkhead: { ...defaults.bulkhead, maxWait: undefined },
  concurrencyLimit: undefined,
  adaptiveThrottle: undefined,
  rateLimit: undefined,
  deadlineHeader: undefined,
  retryCountHeader: undefined,
  origins: {}
}

const check = (condition: boolean, field: string, detail: string): void => {
  if (!condition) problem(field, detail)
}

// An option that names one of a few behaviours: a typo (from JavaScript, or a cast) is a problem here, not a defect in
// every call (`Backoff` throws on an unknown jitter) nor a silent pick of another behaviour.
const oneOf = (value: unknown, allowed: ReadonlyArray<string>, field: string): void =>
  check(
    allowed.includes(value as string),
    field,
    `(${show(value)}) must be one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}`
  )

const jitters: ReadonlyArray<Backoff.Jitter> = ["none", "full", "equal", "decorrelated"]

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
    // a total that is not positive is its own problem: an attempt timeout derived from it is no second one
    if (total !== undefined && Duration.toMillis(total) > 0 && Duration.greaterThan(each, total)) {
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
    // `Infinity`: retry until the bound (p-retry's `retries: Infinity` with `maxRetryTime`), which the cap below requires
    if (!((Number.isInteger(retry.maxAttempts) || retry.maxAttempts === Infinity) && retry.maxAttempts >= 1)) {
      problem(
        `${prefix}retry.maxAttempts`,
        `(${show(retry.maxAttempts)}) must be an integer of at least 1, or Infinity`
      )
    } else if (retry.maxAttempts > maxAttemptsCap && !bounded) {
      problem(
        `${prefix}retry.maxAttempts`,
        `(${
          show(retry.maxAttempts)
        }) above ${maxAttemptsCap} needs a bound on the call: set totalTimeout or retry.maxElapsed`
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
    oneOf(retry.jitter, jitters, `${prefix}retry.jitter`)
    // a switch given as a string ("false" from a JSON file) would be truthy: the opposite of what it says
    for (const name of ["respectRetryAfter", "budget", "idempotencyKey", "retryUnsent"] as const) {
      check(typeof retry[name] === "boolean", `${prefix}retry.${name}`, "must be true or false")
    }
    // a number only: `true`, `""` or `[1]` would pass the comparisons by coercion
    check(
      typeof retry.retryAfterJitter === "number" && retry.retryAfterJitter >= 0 && retry.retryAfterJitter <= 1,
      `${prefix}retry.retryAfterJitter`,
      "must be between 0 and 1"
    )
  }
  const breaker = resolved.circuitBreaker
  if (breaker !== undefined) {
    check(
      typeof breaker.failureRateThreshold === "number" && breaker.failureRateThreshold > 0 &&
        breaker.failureRateThreshold <= 1,
      `${prefix}circuitBreaker.failureRateThreshold`,
      "must be in (0, 1]"
    )
    check(
      Number.isInteger(breaker.minimumThroughput) && breaker.minimumThroughput >= 1,
      `${prefix}circuitBreaker.minimumThroughput`,
      `(${show(breaker.minimumThroughput)}) must be an integer of at least 1`
    )
    check(
      breaker.consecutiveFailures === Number.POSITIVE_INFINITY ||
        (Number.isInteger(breaker.consecutiveFailures) && breaker.consecutiveFailures >= 1),
      `${prefix}circuitBreaker.consecutiveFailures`,
      `(${show(breaker.consecutiveFailures)}) must be an integer of at least 1 (or Infinity)`
    )
    const countThreshold = breaker.failureCountThreshold
    check(
      countThreshold === undefined || (Number.isInteger(countThreshold) && countThreshold >= 1),
      `${prefix}circuitBreaker.failureCountThreshold`,
      `(${show(countThreshold)}) must be an integer of at least 1`
    )
    const window = breaker.slidingWindow
    if (Duration.isDuration(window)) {
      check(
        Duration.greaterThan(window, Duration.zero),
        `${prefix}circuitBreaker.slidingWindow`,
        "must be longer than zero"
      )
    } else {
      check(
        typeof window.calls === "number" && Number.isSafeInteger(window.calls) && window.calls >= 1,
        `${prefix}circuitBreaker.slidingWindow.calls`,
        `(${String(window.calls)}) must be an integer of at least 1`
      )
      // a window of n calls never holds more than n failures: a larger count would never open the breaker
      check(
        countThreshold === undefined || !(countThreshold > window.calls),
        `${prefix}circuitBreaker.failureCountThreshold`,
        `(${show(countThreshold)}) must be at most circuitBreaker.slidingWindow.calls (${
          String(window.calls)
        }), the most failures the window holds`
      )
    }
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
      `(${show(breaker.halfOpenMaxProbes)}) must be an integer of at least 1`
    )
    check(
      Number.isInteger(breaker.successThreshold) && breaker.successThreshold >= 1,
      `${prefix}circuitBreaker.successThreshold`,
      `(${show(breaker.successThreshold)}) must be an integer of at least 1`
    )
    check(
      breaker.maxProbeDuration === undefined || Duration.greaterThan(breaker.maxProbeDuration, Duration.zero),
      `${prefix}circuitBreaker.maxProbeDuration`,
      "must be longer than zero"
    )
    // a time window must hold an attempt or two; a count window holds calls however long they take
    if (each !== undefined && Duration.isDuration(window) && Duration.lessThan(window, Duration.times(each, 2))) {
      const field = blame(resolved, prefix, "circuitBreaker.slidingWindow", "attemptTimeout")
      problem(
        field,
        field.endsWith("attemptTimeout")
          ? `${valueOf(resolved, "attemptTimeout", each)} must be at most half of circuitBreaker.slidingWindow ${
            valueOf(resolved, "circuitBreaker.slidingWindow", window)
          }`
          : `${valueOf(resolved, "circuitBreaker.slidingWindow", window)} must be at least twice ` +
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
  const concurrencyLimit = resolved.concurrencyLimit
  if (concurrencyLimit !== undefined) checkConcurrencyLimit(concurrencyLimit, `${prefix}concurrencyLimit`)
  const adaptiveThrottle = resolved.adaptiveThrottle
  if (adaptiveThrottle !== undefined) checkAdaptiveThrottle(adaptiveThrottle, `${prefix}adaptiveThrottle`)
  const rateLimit = resolved.rateLimit
  if (rateLimit !== undefined) {
    // `RateLimit.make` refuses an infinite or fractional limit too: caught here, it is an InvalidPolicy rather than a
    // defect
    check(
      Number.isSafeInteger(rateLimit.limit) && rateLimit.limit >= 1,
      `${prefix}rateLimit.limit`,
      `(${show(rateLimit.limit)}) must be an integer of at least 1`
    )
    check(Duration.toMillis(rateLimit.window) > 0, `${prefix}rateLimit.window`, "must be positive")
    oneOf(rateLimit.algorithm, ["token-bucket", "fixed-window"], `${prefix}rateLimit.algorithm`)
    oneOf(rateLimit.onExceeded, ["delay", "fail"], `${prefix}rateLimit.onExceeded`)
  }
}

/** @internal */
export interface Compiled {
  readonly base: Resolved
  readonly hosts: ReadonlyMap<string, Resolved>
  readonly endpoints: ReadonlyArray<upstream.EndpointMatcher>
}

/** The entries of a `hosts` or `endpoints` record, each an object of options (others are reported and left out). */
const sections = <A>(field: string, input: Readonly<Record<string, A>> | undefined): Array<[string, A]> => {
  if (input === undefined || !isSection(field, input, false)) return []
  return Object.entries(input).filter(([name, section]) =>
    isSection(`${field}[${JSON.stringify(name)}]`, section, false)
  )
}

/** The problems one profile's validation found, as `field\ndetail`, before those it inherits are left out. */
type Problems = ReadonlySet<string>

/** A layer's value at a problem's field (`retry.maxAttempts`), `undefined` when the layer does not set it. */
const valueAt = (input: unknown, path: string): unknown => {
  let value = input
  for (const key of path.split(".")) {
    if (!isOptionsObject(value)) return undefined
    value = (value as Record<string, unknown>)[key]
  }
  return value
}

/**
 * Resolves and validates the options `input` sets under `prefix` over a profile validated already (`below`, under its
 * own prefix; an endpoint's on a host is also checked against the endpoint on the base, `alone`). A problem the
 * profile below already has, of an option `input` does not set itself, is that profile's, reported once where the
 * user set it, not again under every host and endpoint that inherits it; so is a problem of the endpoint alone. Returns
 * every problem found, those left out included.
 */
// `ConcurrencyLimit` checks its own options (and says which one is wrong, in a `RangeError` "ConcurrencyLimit: <option>
// (<value>) must be ..."): the same rules here, as a problem naming the field, rather than a defect at the first call.
// It stops at the first option it refuses, so one problem a section at most.
const checkConcurrencyLimit = (options: ResolvedConcurrencyLimit, field: string): void => {
  try {
    ConcurrencyLimit.unsafeMake(options)
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    const named = /^ConcurrencyLimit: (\w+) ?(.*)$/.exec(message)
    if (named === null) problem(field, message)
    else problem(`${field}.${named[1]}`, named[2] === "" ? "is not valid" : named[2])
  }
}

// `AdaptiveThrottle.make` checks its own options too (a `RangeError` "AdaptiveThrottle: <option> (<value>) must be
// ...", thrown as a defect of the effect): run once here, it is a problem naming the field rather than a defect of
// the first call. One problem a section at most, as for the concurrency limit.
const checkAdaptiveThrottle = (options: ResolvedAdaptiveThrottle, field: string): void => {
  const exit = Effect.runSyncExit(AdaptiveThrottle.make(options))
  if (Exit.isSuccess(exit)) return
  const defect = Option.getOrUndefined(Cause.dieOption(exit.cause))
  const message = defect instanceof Error ? defect.message : String(defect)
  const named = /^AdaptiveThrottle: (\w+) ?(.*)$/.exec(message)
  if (named === null) problem(field, message)
  else problem(`${field}.${named[1]}`, named[2] === "" ? "is not valid" : named[2])
}

const validateLayer = (
  resolve: () => Resolved,
  prefix: string,
  input: object,
  below: { readonly prefix: string; readonly problems: Problems } | undefined,
  alone?: { readonly prefix: string; readonly problems: Problems }
): { readonly resolved: Resolved; readonly problems: Problems } => {
  const start = collecting?.length ?? 0
  const resolved = resolve()
  validateResolved(resolved, prefix)
  const found = collecting?.splice(start) ?? []
  const as = (known: Problem, other: string) =>
    `${known.field.replaceAll(prefix, other)}\n${known.detail.replaceAll(prefix, other)}`
  for (const known of found) {
    const inherited = below !== undefined && below.problems.has(as(known, below.prefix)) &&
      valueAt(input, known.field.slice(prefix.length)) === undefined
    if (!inherited && !(alone !== undefined && alone.problems.has(as(known, alone.prefix)))) collecting?.push(known)
  }
  return { resolved, problems: new Set(found.map((known) => `${known.field}\n${known.detail}`)) }
}

const compileAll = (input: P.Options): Compiled => {
  // options that are no object (a string, `null`) are reported, and read as none
  const options: P.Options = input === undefined || isSection("options", input, false) ? input ?? {} : {}
  checkKeys("", options, optionKeys)
  // a hook that is no function would be a TypeError of every call that reaches it; a switch given as a string
  // ("false" from a JSON file) would be truthy
  for (const name of ["upstreamKey", "onEvent"] as const) {
    const hook: unknown = options[name]
    if (hook !== undefined && typeof hook !== "function") problem(name, `(${show(hook)}) must be a function`)
  }
  if (options.telemetry !== undefined && typeof options.telemetry !== "boolean") {
    problem("telemetry", `(${show(options.telemetry)}) must be true or false`)
  }
  const { problems: baseProblems, resolved: base } = validateLayer(
    () => resolveLayer(packageDefaults, options, ""),
    "",
    options,
    undefined
  )
  const endpoints: Array<upstream.EndpointMatcher> = []
  for (const [name, endpoint] of sections("endpoints", options.endpoints)) {
    checkKeys(`endpoints[${JSON.stringify(name)}].`, endpoint, endpointKeys)
    const matcher = upstream.compileEndpoint(name, endpoint)
    if (!("path" in matcher)) {
      problem(matcher.field, matcher.detail)
      // its options are checked all the same, so that every problem is listed at once
      const prefix = `endpoints[${JSON.stringify(name)}].`
      validateLayer(() => resolveLayer(base, endpoint, prefix), prefix, endpoint, {
        prefix: "",
        problems: baseProblems
      })
      continue
    }
    endpoints.push(matcher)
  }
  const hosts = new Map<string, Resolved>()
  // each entry as the user spelt it, which the problems of its endpoints name
  const hostEntries: Array<{ readonly prefix: string; readonly resolved: Resolved; readonly problems: Problems }> = []
  const spelt = new Map<string, string>()
  for (const [name, host] of sections("hosts", options.hosts)) {
    const prefix = `hosts[${JSON.stringify(name)}].`
    checkKeys(prefix, host, hostKeys)
    const { problems, resolved } = validateLayer(() => resolveLayer(base, host, prefix), prefix, host, {
      prefix: "",
      problems: baseProblems
    })
    // an entry no request can match would be a profile silently never used
    const key = upstream.hostEntryKey(name)
    if (key === undefined) {
      problem(
        `hosts[${JSON.stringify(name)}]`,
        "is no host: write a host name or address, with a port if it is not the scheme's default " +
          "(\"api.example.com\", \"api.example.com:8443\", \"[::1]:8080\")"
      )
    } else if (spelt.has(key)) {
      problem(
        `hosts[${JSON.stringify(name)}]`,
        `names the same host as hosts[${JSON.stringify(spelt.get(key))}] (host names are matched without case)`
      )
    } else {
      spelt.set(key, name)
      hosts.set(key, resolved)
    }
    hostEntries.push({ prefix, resolved, problems })
  }
  // every endpoint is checked on every profile it can apply to
  for (const matcher of endpoints) {
    const prefix = `endpoints[${JSON.stringify(matcher.name)}].`
    const own = validateLayer(() => resolveLayer(base, matcher.options, prefix), prefix, matcher.options, {
      prefix: "",
      problems: baseProblems
    }).problems
    for (const host of hostEntries) {
      const hostPrefix = `${host.prefix}${prefix}`
      validateLayer(
        () => resolveLayer(host.resolved, matcher.options, hostPrefix),
        hostPrefix,
        matcher.options,
        { prefix: host.prefix, problems: host.problems },
        // a problem of the endpoint alone is reported once, where the user set it, not again under every host
        { prefix, problems: own }
      )
    }
  }
  return { base, hosts, endpoints }
}

/**
 * The options' plain objects and arrays copied and frozen, so that the policy and its `options` keep what it was made
 * with whatever the caller changes afterwards. Functions, `RegExp`s, durations and other values are kept as they are.
 *
 * @internal
 */
export const snapshot = <A>(value: A): A => copyPlain(value, new Map())

const copyPlain = <A>(value: A, copies: Map<object, unknown>): A => {
  if (value === null || typeof value !== "object") return value
  const done = copies.get(value)
  if (done !== undefined) return done as A
  if (Array.isArray(value)) {
    const copy: Array<unknown> = []
    copies.set(value, copy)
    for (const item of value) copy.push(copyPlain(item, copies))
    return Object.freeze(copy) as A
  }
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return value
  const copy: Record<string, unknown> = proto === null ? Object.create(null) : {}
  copies.set(value, copy)
  for (const key of Object.keys(value)) copy[key] = copyPlain((value as Record<string, unknown>)[key], copies)
  return Object.freeze(copy) as A
}

// Compiles the options, collecting every problem; throws one InvalidPolicy listing them all.
/** @internal */
export const compile = (options: P.Options): Compiled => {
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
// Config
// -----------------------------------------------------------------------------

const optional = <A>(config: Config.Config<A>): Config.Config<A | undefined> =>
  Config.map(Config.option(config), Option.getOrUndefined)

// `Config.duration`, but a negative duration fails as `Policy.make` refuses one: Effect reads "-5 seconds" as zero,
// which would turn a typo into no wait at all
const duration = (name: string): Config.Config<Duration.Duration> =>
  Config.mapOrFail(Config.string(name), (text) => {
    if (/^\s*-/.test(text)) {
      return Either.left(ConfigError.InvalidData([], `Expected a duration that is not negative but received ${text}`))
    }
    return Either.fromOption(
      Duration.decodeUnknown(text),
      () => ConfigError.InvalidData([], `Expected a duration but received ${text}`)
    )
  })

// A section is inherited when nothing in it is set, turned off by `enabled: false`, and otherwise overrides.
const section = <A extends object>(enabled: boolean | undefined, fields: A): A | false | undefined =>
  enabled === false
    ? false
    : enabled === true || Object.values(fields).some((value) => value !== undefined)
    ? fields
    : undefined

const timeConfig = {
  totalTimeout: optional(duration("totalTimeout")),
  attemptTimeout: optional(duration("attemptTimeout")),
  deadlineHeader: optional(Config.string("deadlineHeader")),
  retryCountHeader: optional(Config.string("retryCountHeader")),
  retry: Config.nested(
    Config.all({
      enabled: optional(Config.boolean("enabled")),
      maxAttempts: optional(Config.integer("maxAttempts")),
      baseDelay: optional(duration("baseDelay")),
      maxDelay: optional(duration("maxDelay")),
      maxElapsed: optional(duration("maxElapsed")),
      maxRetryAfter: optional(duration("maxRetryAfter")),
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
      failureCountThreshold: optional(Config.integer("failureCountThreshold")),
      slidingWindow: optional(duration("slidingWindow")),
      slidingWindowCalls: optional(Config.integer("slidingWindowCalls")),
      breakDuration: optional(duration("breakDuration")),
      maxProbeDuration: optional(duration("maxProbeDuration")),
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
      maxWait: optional(duration("maxWait"))
    }),
    "bulkhead"
  ),
  concurrencyLimit: Config.nested(
    Config.all({
      enabled: optional(Config.boolean("enabled")),
      algorithm: optional(Config.literal("aimd", "gradient2")("algorithm")),
      initialLimit: optional(Config.integer("initialLimit")),
      minLimit: optional(Config.integer("minLimit")),
      maxLimit: optional(Config.integer("maxLimit")),
      backoffRatio: optional(Config.number("backoffRatio")),
      timeout: optional(duration("timeout")),
      smoothing: optional(Config.number("smoothing")),
      queueSize: optional(Config.integer("queueSize")),
      rttTolerance: optional(Config.number("rttTolerance")),
      longWindow: optional(Config.integer("longWindow"))
    }),
    "concurrencyLimit"
  ),
  adaptiveThrottle: Config.nested(
    Config.all({
      enabled: optional(Config.boolean("enabled")),
      k: optional(Config.number("k")),
      window: optional(duration("window"))
    }),
    "adaptiveThrottle"
  ),
  rateLimit: Config.nested(
    Config.all({
      enabled: optional(Config.boolean("enabled")),
      limit: optional(Config.integer("limit")),
      window: optional(duration("window"))
    }),
    "rateLimit"
  )
}).pipe(Config.map(({ bulkhead, circuitBreaker, concurrencyLimit, rateLimit, retry, ...fields }): P.HostOptions => {
  const { adaptiveThrottle, ...rest } = fields
  const { enabled: retryOn, ...retryOptions } = retry
  const { enabled: breakerOn, slidingWindowCalls, ...breakerFields } = circuitBreaker
  // `slidingWindowCalls: 100` is `slidingWindow: { calls: 100 }` (a count window)
  const breakerOptions: P.CircuitBreakerOptions = slidingWindowCalls === undefined
    ? breakerFields
    : { ...breakerFields, slidingWindow: { calls: slidingWindowCalls } }
  const { enabled: bulkheadOn, ...bulkheadOptions } = bulkhead
  const { enabled: limitOn, ...limitOptions } = concurrencyLimit
  const { enabled: throttleOn, ...throttleOptions } = adaptiveThrottle
  return {
    ...rest,
    retry: section(retryOn, retryOptions),
    circuitBreaker: section(breakerOn, breakerOptions),
    bulkhead: section(bulkheadOn, bulkheadOptions),
    // off unless set: `enabled: true` turns it on with `ConcurrencyLimit`'s defaults
    concurrencyLimit: section(limitOn, limitOptions),
    // off unless set, as the concurrency limit: `enabled: true` turns it on with `AdaptiveThrottle`'s defaults
    adaptiveThrottle: section(throttleOn, throttleOptions),
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
