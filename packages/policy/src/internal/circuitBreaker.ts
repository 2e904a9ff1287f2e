import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import { dual } from "effect/Function"
import * as Predicate from "effect/Predicate"
import * as PubSub from "effect/PubSub"
import * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as Intervals from "effect/ScheduleIntervals"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as CB from "../CircuitBreaker.js"
import type { BreakerSync, SharedRecord } from "./breakerSync.js"
import * as deadline from "./deadline.js"
import { checkOptions } from "./options.js"
import * as predicate from "./predicate.js"
import { isPolicyRejection } from "./rejection.js"
import { timerDuration } from "./timer.js"

/** @internal */
export const FailureLabel = Schema.Struct({
  tag: Schema.String,
  status: Schema.optional(Schema.Number)
})

/** @internal */
export const TripReason = Schema.Literal(
  "ConsecutiveFailures",
  "FailureRate",
  "FailureCount",
  "SlowCalls",
  "ProbeFailed",
  "Isolated"
)

const labelText = (label: typeof FailureLabel.Type): string =>
  label.status === undefined ? label.tag : `${label.tag} ${label.status}`

/** @internal */
export class CircuitOpen
  extends Schema.TaggedError<CircuitOpen>("@sturdy/policy/CircuitBreaker/CircuitOpen")("CircuitOpen", {
    key: Schema.String,
    retryAfter: Schema.DurationFromMillis,
    reason: Schema.optional(TripReason),
    failures: Schema.optional(Schema.Number),
    lastFailure: Schema.optional(FailureLabel),
    sameKind: Schema.optional(Schema.Boolean)
  })
{
  override get message(): string {
    const wait = `retry after ${Duration.format(this.retryAfter)}`
    if (this.reason === "Isolated") return `circuit open for ${this.key}: isolated until reset`
    const last = this.lastFailure
    const n = this.failures
    if (this.reason === "SlowCalls") {
      return `circuit open for ${this.key} after ${n === 1 ? "a slow call" : `${n ?? "too many"} slow calls`}; ${wait}`
    }
    if (this.reason === "ProbeFailed" && last !== undefined) {
      return `circuit open for ${this.key} after a failed probe (${labelText(last)}); ${wait}`
    }
    if (last !== undefined && n !== undefined) {
      return this.sameKind === false
        ? `circuit open for ${this.key} after ${n} failures, the last ${labelText(last)}; ${wait}`
        : `circuit open for ${this.key} after ${n} × ${labelText(last)}; ${wait}`
    }
    return `circuit open for ${this.key}; ${wait}`
  }
}

/**
 * A `DeadlineExceeded` of reason "Deadline": the logical call's deadline passed (matched on the tag, as policies'
 * rejections are).
 */
const isDeadlineFailure = (error: unknown): boolean =>
  Predicate.hasProperty(error, "_tag") && error._tag === "DeadlineExceeded" && Predicate.hasProperty(error, "reason") &&
  error.reason === "Deadline"

const safeTag = /^[A-Za-z_$][\w$]{0,63}$/

/**
 * What a log line may say about a counted failure: its `_tag` (or an Error's `name`) when it looks like an
 * identifier, and a numeric `status`; nothing else of it, so no message, URL or payload (which may hold secrets).
 * @internal
 */
export const labelOf = (failure: unknown): typeof FailureLabel.Type => {
  if (typeof failure !== "object" || failure === null) return { tag: "failure" }
  const tag = "_tag" in failure && typeof failure._tag === "string"
    ? failure._tag
    : failure instanceof Error
    ? failure.name
    : "failure"
  const status = "status" in failure && Number.isInteger(failure.status) ? failure.status as number : undefined
  const safe = safeTag.test(tag) ? tag : "failure"
  return status === undefined ? { tag: safe } : { tag: safe, status }
}

/** @internal */
export const defaultBreakDuration: Schedule.Schedule<unknown> = Schedule.spaced("60 seconds")

/** The default's pause, for a schedule that has no last pause to keep (done at its first step, or dead) */
const defaultBreakMillis = 60_000

interface ResolvedOptions {
  readonly consecutiveFailures: number
  readonly failureRateThreshold: number | undefined
  /** counted failures in the sliding window that open the breaker, whatever the successes between them */
  readonly failureCountThreshold: number | undefined
  readonly slowCallRateThreshold: number | undefined
  readonly slowCallDuration: number
  /** a time window's length; with a count window, how long a closed breaker's calls keep it from being idle */
  readonly windowMillis: number
  /** a count window: the last this many recorded calls (`undefined`: a time window) */
  readonly windowCalls: number | undefined
  readonly bucketMillis: number
  readonly minimumThroughput: number
  readonly halfOpenMaxProbes: number
  readonly successThreshold: number
  /** `undefined`: the pause that preceded the HalfOpen period; `Infinity`: probes are never given up */
  readonly maxProbeDuration: number | undefined
  readonly breakDuration: Schedule.Schedule<unknown, unknown>
  readonly isFailure: (error: unknown) => boolean
  readonly isIgnored: ((error: unknown) => boolean) | undefined
}

const BUCKETS = 10

// A count option: an integer of at least 1 (or `Infinity` where that means "never").
const checkCount = (field: string, value: number | undefined, infinite: boolean): void => {
  if (value === undefined || (Number.isInteger(value) && value >= 1) || (infinite && value === Infinity)) return
  throw new RangeError(
    `CircuitBreaker: ${field} (${String(value)}) must be an integer of at least 1${infinite ? " (or Infinity)" : ""}`
  )
}

// A ratio option: above 0 (a threshold of 0 would open the breaker on successes) and at most 1. A number only: `true`
// or `[0.5]` would pass the comparisons by coercion, a symbol or a throwing `valueOf` would throw from inside them.
const checkRatio = (field: string, value: number | undefined): void => {
  if (value === undefined || (typeof value === "number" && value > 0 && value <= 1)) return
  throw new RangeError(`CircuitBreaker: ${field} (${String(value)}) must be a ratio above 0 and at most 1`)
}

// A duration option that must be above zero (a window of no time judges nothing); finite and longer than a timer
// can hold, or not a duration, is a `RangeError` too.
const positiveMillis = (field: string, input: Duration.DurationInput): number => {
  const millis = Duration.toMillis(timerDuration("CircuitBreaker", field, input, true))
  if (!(millis > 0)) throw new RangeError(`CircuitBreaker: ${field} (${millis} ms) must be longer than zero`)
  return millis
}

// A predicate option: a function when given (anything else would fail only at the first failure, as a defect of that
// call, and leave every failure unrecorded: a breaker that never opens).
const checkPredicate = (field: string, value: unknown): void => {
  if (value === undefined || typeof value === "function") return
  throw new RangeError(
    `CircuitBreaker: ${field} (${
      value === null ? "null" : typeof value
    }) must be a function from the failure to a boolean`
  )
}

// The key names the breaker in its events and in `CircuitOpen`, whose schema wants a string: another value would be
// a `ParseError` defect of the first call the open breaker turns away, far from the mistake.
const checkKey = (key: unknown): void => {
  if (typeof key === "string") return
  throw new RangeError(`CircuitBreaker: key (${key === null ? "null" : typeof key}) must be a string`)
}

/** Whether a `slidingWindow` is the count form, `{ calls }` (a duration is never a plain object with `calls`). */
const isCallWindow = (window: CB.Options["slidingWindow"]): window is CB.CallWindow =>
  typeof window === "object" && window !== null && !Array.isArray(window) && !Duration.isDuration(window)

const checkWindowCalls = (calls: unknown): number => {
  if (typeof calls === "number" && Number.isSafeInteger(calls) && calls >= 1) return calls
  throw new RangeError(`CircuitBreaker: slidingWindow.calls (${String(calls)}) must be an integer of at least 1`)
}

/**
 * The options with their defaults; invalid ones (as resilience4j's and Polly's builders refuse them) throw a
 * `RangeError` naming the option, rather than being clamped into a breaker the caller did not ask for.
 * @internal
 */
export const resolve = (input?: CB.Options | null): ResolvedOptions => {
  // `null` (a setting read as none) is no options, as `undefined` is: not a TypeError from reading a field of it
  checkOptions("CircuitBreaker", input)
  const options: CB.Options = input ?? {}
  checkCount("consecutiveFailures", options.consecutiveFailures, true)
  checkCount("failureCountThreshold", options.failureCountThreshold, false)
  checkCount("minimumThroughput", options.minimumThroughput, false)
  checkCount("halfOpenMaxProbes", options.halfOpenMaxProbes, false)
  checkCount("successThreshold", options.successThreshold, false)
  checkRatio("failureRateThreshold", options.failureRateThreshold)
  checkRatio("slowCallRateThreshold", options.slowCallRateThreshold)
  checkPredicate("isFailure", options.isFailure)
  checkPredicate("isIgnored", options.isIgnored)
  // without `slowCallDuration` no call is ever slow: the ratio asked for would never be judged (resilience4j and
  // mollitia judge it against their 60 s default)
  if (options.slowCallRateThreshold !== undefined && options.slowCallDuration === undefined) {
    throw new RangeError(
      `CircuitBreaker: slowCallRateThreshold (${
        String(options.slowCallRateThreshold)
      }) needs slowCallDuration, the duration from which a call is slow`
    )
  }
  const window = options.slidingWindow
  const windowCalls = isCallWindow(window) ? checkWindowCalls(window.calls) : undefined
  // a window of n calls never holds more than n failures: a larger count would never open the breaker
  if (
    windowCalls !== undefined && options.failureCountThreshold !== undefined &&
    options.failureCountThreshold > windowCalls
  ) {
    throw new RangeError(
      `CircuitBreaker: failureCountThreshold (${
        String(options.failureCountThreshold)
      }) must be at most slidingWindow.calls (${windowCalls}), the most failures the window holds`
    )
  }
  const windowMillis = window === undefined || windowCalls !== undefined
    ? 60_000
    : positiveMillis("slidingWindow", window as Duration.DurationInput)
  const minimumThroughput = options.minimumThroughput ?? 10
  return {
    // a breaker given a rate or a count in the window judges those only (as resilience4j and Polly do for rates):
    // a run of 3 would open it before `minimumThroughput` calls, or the count asked for, were seen
    consecutiveFailures: options.consecutiveFailures ??
      (options.failureRateThreshold !== undefined || options.slowCallDuration !== undefined ||
          options.failureCountThreshold !== undefined
        ? Infinity
        : 3),
    failureRateThreshold: options.failureRateThreshold,
    failureCountThreshold: options.failureCountThreshold,
    slowCallRateThreshold: options.slowCallRateThreshold ??
      (options.slowCallDuration !== undefined ? 1 : undefined),
    slowCallDuration: options.slowCallDuration !== undefined
      ? positiveMillis("slowCallDuration", options.slowCallDuration)
      : Number.POSITIVE_INFINITY,
    windowMillis,
    windowCalls,
    bucketMillis: Math.max(1, Math.ceil(windowMillis / BUCKETS)),
    // a count window judges once it holds `minimumThroughput` calls, or is full (resilience4j:
    // min(minimumNumberOfCalls, slidingWindowSize)): a smaller window could never reach a larger minimum
    minimumThroughput: windowCalls === undefined ? minimumThroughput : Math.min(minimumThroughput, windowCalls),
    halfOpenMaxProbes: options.halfOpenMaxProbes ?? 1,
    successThreshold: options.successThreshold ?? 1,
    maxProbeDuration: options.maxProbeDuration === undefined
      ? undefined
      : positiveMillis("maxProbeDuration", options.maxProbeDuration),
    breakDuration: options.breakDuration === undefined
      ? defaultBreakDuration
      : Schedule.isSchedule(options.breakDuration)
      ? options.breakDuration
      : Schedule.spaced(timerDuration("CircuitBreaker", "breakDuration", options.breakDuration)),
    isFailure: options.isFailure ?? (() => true),
    isIgnored: options.isIgnored
  }
}

interface Bucket {
  start: number
  calls: number
  failures: number
  slow: number
}

type Admission =
  | {
    readonly _tag: "Admitted"
    readonly generation: number
    readonly probe: boolean
    readonly startedAt: number
    /** the clock's steps back seen when it started (`BreakerState.steppedBack`), to time it across a later one */
    readonly steppedBack: number
    /** a probe's slot, while it holds one */
    readonly slot?: ProbeSlot | undefined
    /** fleet sharing: the probe's own slot in the store, given back when it ends */
    readonly token?: string | undefined
  }
  | { readonly _tag: "Rejected"; readonly retryAfter: Duration.Duration }

/** One of the `halfOpenMaxProbes` slots, held by the probe that started at `startedAt`. */
interface ProbeSlot {
  startedAt: number
  /** fleet sharing: the probe's slot in the store too */
  token: string | undefined
}

type Outcome = "success" | "failure" | "ignored"

interface Trip {
  readonly reason: typeof TripReason.Type
  readonly failures: number
  readonly lastFailure: typeof FailureLabel.Type | undefined
  readonly sameKind: boolean
}

const defectLabel: typeof FailureLabel.Type = { tag: "Defect" }

/**
 * All mutable state lives in one object that is read and written only in synchronous blocks, so every
 * admission and every transition is atomic with respect to other fibers without a lock.
 * @internal
 */
class BreakerState {
  state: CB.State = "Closed"
  generation = 0
  isolated = false
  consecutiveFailures = 0
  buckets: Array<Bucket> = []
  /** Sums over `buckets`: never below the window's totals (a bucket leaves only when the next one starts). */
  keptCalls = 0
  keptFailures = 0
  keptSlow = 0
  /**
   * A count window (`slidingWindow: { calls }`): each recorded call's outcome (1 failed, 2 slow, 3 both), in a ring
   * that grows to `calls` entries and is then overwritten from `ringNext` (the oldest); the kept sums are its totals.
   */
  ring: Array<number> = []
  ringNext = 0
  /** A count window: when the last call was recorded (a registry's idleness). */
  lastCallAt = Number.NEGATIVE_INFINITY
  openUntil = 0
  lastBreakMillis = 0
  scheduleState: unknown
  probesInFlight = 0
  /** The slots taken, one per probe in flight: a probe past `maxProbeDuration` gives its slot back. */
  probeSlots: Array<ProbeSlot> = []
  probeSuccesses = 0
  /** The last counted failure since the last transition, and how many counted failures in a row shared its label. */
  lastFailure: typeof FailureLabel.Type | undefined = undefined
  sameKindRun = 0
  /** Why the breaker last opened; kept through HalfOpen, cleared when it closes. */
  trip: Trip | undefined = undefined
  /**
   * Fleet sharing (`BreakerSync`): the last record this breaker applied or published. The store orders the records
   * (by their `seq`, not by the writers' clocks): another record in the cache is the store's newer one.
   */
  synced: SharedRecord | undefined = undefined
  /** The latest clock reading seen: a later reading below it is a wall clock set back. */
  seenAt = Number.NEGATIVE_INFINITY
  /** The sum of the wall clock's steps back seen (≤ 0): a call's duration leaves out those made while it ran. */
  steppedBack = 0
  constructor(readonly initialScheduleState: unknown, public changedAt: number) {
    this.scheduleState = initialScheduleState
  }
}

/** A breaker as this module makes it: `run` from a step that already has the fiber (a registry's lookup). */
interface Breaker extends CB.CircuitBreaker {
  readonly runIn: <A, E, R>(
    fiber: Fiber.RuntimeFiber<unknown, unknown>,
    self: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | CircuitOpen, R>
  /**
   * A registry's eviction. `"held"` while the breaker holds what a new one would not know (isolated, a pause not yet
   * over, a probe in flight), `"recent"` when `idle` is asked for and a closed breaker recorded calls in its sliding
   * window (or a pause ended less than a window ago); otherwise `"released"`, after closing the breaker if it was
   * not (the transition is published: whoever follows its state sees the state its key starts in if it comes back).
   */
  readonly release: (now: number, idle: boolean) => "released" | "recent" | "held"
}

/** @internal */
export const unsafeMake = (
  key: string,
  options: CB.Options | undefined,
  publish: (change: CB.StateChange) => void,
  changes: Stream.Stream<CB.StateChange>,
  subscribe: Effect.Effect<Stream.Stream<CB.StateChange>, never, Scope.Scope>,
  sync?: BreakerSync | undefined,
  /** when a registry made it: a breaker made in the last sliding window is not idle, whatever it recorded */
  createdAt = Number.NEGATIVE_INFINITY
): CB.CircuitBreaker => {
  checkKey(key)
  const config = resolve(options)
  const s = new BreakerState(config.breakDuration.initial, createdAt)

  // A wall clock set back (an NTP step) would hold an open breaker until the clock caught up with where it was (an
  // hour back: an hour of rejections), keep the window's calls counting as long, and keep a probe's slot taken. A
  // reading below the latest seen moves every time this breaker keeps by the step, so the step is no time passing:
  // the pause still ends at most its own length from the new time, as `RateLimit` refills from the new time.
  const observe = (now: number): void => {
    if (now >= s.seenAt) {
      s.seenAt = now
      return
    }
    const step = now - s.seenAt
    s.seenAt = now
    s.steppedBack += step
    s.changedAt += step
    if (s.state === "Open") s.openUntil += step
    s.lastCallAt += step
    for (const bucket of s.buckets) bucket.start += step
    for (const slot of s.probeSlots) slot.startedAt += step
  }

  const transition = (to: CB.State, now: number): void => {
    observe(now)
    const from = s.state
    s.state = to
    s.changedAt = now
    s.generation++
    s.probesInFlight = 0
    s.probeSlots.length = 0
    s.probeSuccesses = 0
    s.consecutiveFailures = 0
    s.buckets = []
    s.keptCalls = 0
    s.keptFailures = 0
    s.keptSlow = 0
    s.ring.length = 0
    s.ringNext = 0
    s.lastFailure = undefined
    s.sameKindRun = 0
    if (to === "Closed") {
      s.scheduleState = s.initialScheduleState
      s.lastBreakMillis = 0
      s.trip = undefined
    }
    if (from !== to) publish({ key, from, to, at: now })
  }

  // Opening holds the breaker with no end (`openUntil` +∞) until the (possibly effectful) schedule has stepped, so
  // the opening and the step are one uninterruptible region: a call interrupted in between (on the closed path,
  // which has no mask of its own) would otherwise leave the breaker open for ever. The region starts before the
  // breaker opens, so an interruption that arrives first (the fiber may yield before any step) only loses this
  // outcome, as for any interrupted call. Only a call that opens the breaker pays for it.
  // `input` (the schedule's input) is the counted failure of the call that opened the breaker, if that call failed.
  const open = (now: number, reason: Trip["reason"], failures: number, input?: unknown): Effect.Effect<void> => {
    const generation = s.generation
    return Effect.uninterruptible(Effect.suspend(() => {
      // another outcome changed the state first (it opened the breaker, say): this one is out of date
      if (s.generation !== generation) return Effect.void
      s.trip = {
        reason,
        failures,
        lastFailure: s.lastFailure,
        sameKind: s.sameKindRun >= failures
      }
      transition("Open", now)
      s.openUntil = Number.POSITIVE_INFINITY
      const opened = s.generation
      return Effect.matchCauseEffect(config.breakDuration.step(now, input, s.scheduleState), {
        onSuccess: ([next, _, decision]) => {
          if (s.generation !== opened) return Effect.void
          s.scheduleState = next
          if (ScheduleDecision.isContinue(decision)) {
            s.lastBreakMillis = Math.max(0, Intervals.start(decision.intervals) - now)
          } else if (s.lastBreakMillis === 0) {
            // done with no last pause (at its first step): the default's, as for a step that dies, not a pause of
            // zero that would let the next call probe at once
            s.lastBreakMillis = defaultBreakMillis
          }
          // a finished schedule keeps its last pause rather than probing immediately
          pauseUntil(now, now + s.lastBreakMillis)
          return Effect.void
        },
        // a schedule that died still ends the pause (its last one, or the default's), or the breaker would stay
        // open for ever; the caller gets the defect
        onFailure: (cause) => {
          if (s.generation === opened) {
            pauseUntil(now, now + (s.lastBreakMillis > 0 ? s.lastBreakMillis : defaultBreakMillis))
          }
          return Effect.failCause(cause)
        }
      })
    }))
  }

  const pauseUntil = (now: number, until: number): void => {
    s.openUntil = until
    // fleet sharing: tell the other processes until when this upstream is paused
    if (sync !== undefined && !s.isolated) s.synced = sync.publish(key, { state: "Open", at: now, until })
  }

  // Fleet sharing: apply the store's record when it is not the last one applied or published here (the store keeps
  // the newer record, so another one is newer, whatever the clocks say). An Open pauses this breaker until the same
  // time (an elapsed pause makes the next call a probe); a Closed closes it.
  const applyShared = (record: SharedRecord, now: number): void => {
    s.synced = record
    if (record.state === "Open") {
      if (s.state !== "Open") transition("Open", now)
      s.openUntil = record.until
      s.lastBreakMillis = Math.max(0, record.until - record.at)
    } else if (s.state !== "Closed") {
      transition("Closed", now)
    }
  }

  const windowTotals = (now: number) => {
    if (config.windowCalls !== undefined) return { calls: s.keptCalls, failures: s.keptFailures, slow: s.keptSlow }
    let calls = 0
    let failures = 0
    let slow = 0
    for (const bucket of s.buckets) {
      if (bucket.start > now - config.windowMillis) {
        calls += bucket.calls
        failures += bucket.failures
        slow += bucket.slow
      }
    }
    return { calls, failures, slow }
  }

  // A bucket starts with its first call, as Polly's windows do (not at a multiple of its length): that call counts
  // for a whole window, and none counts for less than `windowMillis − bucketMillis`.
  const currentBucket = (now: number): Bucket => {
    const last = s.buckets[s.buckets.length - 1]
    if (last !== undefined && now - last.start < config.bucketMillis) return last
    const bucket: Bucket = { start: now, calls: 0, failures: 0, slow: 0 }
    s.buckets = s.buckets.filter((b) => {
      if (b.start > now - config.windowMillis) return true
      s.keptCalls -= b.calls
      s.keptFailures -= b.failures
      s.keptSlow -= b.slow
      return false
    })
    s.buckets.push(bucket)
    return bucket
  }

  // A count window: the call takes the oldest's place once the ring is full (cockatiel's `CountBreaker`,
  // resilience4j's `FixedSizeSlidingWindowMetrics`).
  const recordCall = (failed: boolean, slow: boolean, now: number, size: number): void => {
    const entry = (failed ? 1 : 0) | (slow ? 2 : 0)
    s.lastCallAt = now
    if (s.ring.length < size) {
      s.ring.push(entry)
    } else {
      const oldest = s.ring[s.ringNext]!
      s.keptCalls--
      s.keptFailures -= oldest & 1
      s.keptSlow -= oldest >> 1
      s.ring[s.ringNext] = entry
      s.ringNext = s.ringNext + 1 === size ? 0 : s.ringNext + 1
    }
    s.keptCalls++
    s.keptFailures += entry & 1
    s.keptSlow += entry >> 1
  }

  const retryAfter = (now: number): Duration.Duration =>
    s.isolated
      ? Duration.infinity
      : s.state === "Open" && Number.isFinite(s.openUntil)
      ? Duration.millis(Math.max(0, s.openUntil - now))
      : s.state === "HalfOpen"
      ? Duration.millis(probeSlotFreeIn(now))
      // the pause is still being computed: as long as the last one
      : Duration.millis(s.lastBreakMillis)

  // How long a probe runs before its slot goes to the next call (see `letGoOfSlowProbes`).
  const letGoMillis = (): number =>
    config.maxProbeDuration ?? (s.lastBreakMillis > 0 ? s.lastBreakMillis : Number.POSITIVE_INFINITY)

  // Every probe slot taken: the oldest probe's slot is let go at the latest after `letGoMillis`, so a new probe can go
  // then (sooner when a probe succeeds and closes the breaker; a failed one reopens it, and the next rejection says
  // for how long). Polly's half-open circuit answers the same: blocked for one break from its probe's start. Without
  // a limit, or with no probe of this process in flight, the last pause.
  const probeSlotFreeIn = (now: number): number => {
    const limit = letGoMillis()
    let oldest = Number.POSITIVE_INFINITY
    for (const slot of s.probeSlots) if (slot.startedAt < oldest) oldest = slot.startedAt
    return limit === Number.POSITIVE_INFINITY || oldest === Number.POSITIVE_INFINITY
      ? s.lastBreakMillis
      : Math.max(0, oldest + limit - now)
  }

  // Whether a call now would be turned away for want of a probe slot (a probe past its limit counts as gone).
  const probeSlotsFull = (now: number): boolean => {
    const limit = letGoMillis()
    let busy = 0
    for (const slot of s.probeSlots) if (now - slot.startedAt < limit) busy++
    return busy >= config.halfOpenMaxProbes
  }

  const rejection = (retryAfter: Duration.Duration): CircuitOpen => {
    if (s.isolated) return new CircuitOpen({ key, retryAfter, reason: "Isolated" }, true)
    const trip = s.trip
    return trip === undefined
      ? new CircuitOpen({ key, retryAfter }, true)
      : new CircuitOpen({
        key,
        retryAfter,
        reason: trip.reason,
        failures: trip.failures,
        ...(trip.lastFailure === undefined ? {} : { lastFailure: trip.lastFailure }),
        sameKind: trip.sameKind
      }, true)
  }

  // A probe's slot given back when it ends; one it was let go of (below) was given back then.
  const freeProbe = (slot: ProbeSlot | undefined): void => {
    const i = slot === undefined ? -1 : s.probeSlots.indexOf(slot)
    if (i === -1) return
    s.probeSlots.splice(i, 1)
    s.probesInFlight--
  }

  // Probes still running after their limit give their slots back, for the next calls to probe in their place, as
  // Polly lets another probe go once another break has passed while half-open: a probe that never ends cannot hold
  // the breaker half-open for ever. The limit is `maxProbeDuration`, or by default the pause that preceded this
  // HalfOpen period (a pause of zero sets none). A probe let go is not given up: its outcome, when it comes in this
  // HalfOpen period, counts like any probe's, so an upstream slower than the pause can still close the breaker.
  const letGoOfSlowProbes = (now: number): void => {
    if (s.probesInFlight === 0) return
    const limit = letGoMillis()
    if (limit === Number.POSITIVE_INFINITY) return
    for (let i = s.probeSlots.length - 1; i >= 0; i--) {
      const slot = s.probeSlots[i]
      if (now - slot.startedAt < limit) continue
      s.probeSlots.splice(i, 1)
      s.probesInFlight--
      // fleet sharing: its slot in the store goes back as well, for the probe that takes its place
      if (slot.token !== undefined) letGoTokens.push(slot.token)
    }
  }

  // fleet sharing: the store's slots of the probes let go, given back with the next probe's request for a slot (so
  // that it finds them free), or at once when no probe asks
  const letGoTokens: Array<string> = []
  const giveBackLetGo = (): void => {
    if (sync === undefined) letGoTokens.length = 0
    else for (const token of letGoTokens.splice(0)) sync.releaseProbe(key, token)
  }

  const admit = (now: number): Admission => {
    if (s.isolated) return { _tag: "Rejected", retryAfter: Duration.infinity }
    observe(now)
    if (sync !== undefined) {
      const shared = sync.latest(key)
      if (shared !== undefined && shared !== s.synced) applyShared(shared, now)
    }
    if (s.state === "Open" && now >= s.openUntil) transition("HalfOpen", now)
    if (s.state === "Closed") {
      return { _tag: "Admitted", generation: s.generation, probe: false, startedAt: now, steppedBack: s.steppedBack }
    }
    // `halfOpenMaxProbes` bounds the probes in flight, not the probes in all: slots freed by successful probes are
    // taken by the next calls until `successThreshold` successes close the breaker (or a failure opens it), so no
    // pair of settings can leave it half-open for ever
    if (s.state === "HalfOpen") {
      letGoOfSlowProbes(now)
      if (s.probesInFlight < config.halfOpenMaxProbes) {
        const slot: ProbeSlot = { startedAt: now, token: undefined }
        s.probesInFlight++
        s.probeSlots.push(slot)
        return {
          _tag: "Admitted",
          generation: s.generation,
          probe: true,
          startedAt: now,
          steppedBack: s.steppedBack,
          slot
        }
      }
    }
    return { _tag: "Rejected", retryAfter: retryAfter(now) }
  }

  const record = (
    admission: Admission & { _tag: "Admitted" },
    outcome: Outcome,
    now: number,
    label: typeof FailureLabel.Type | undefined,
    failure?: unknown
  ): Effect.Effect<void> => {
    observe(now)
    // fleet sharing: a probe gives its own fleet-wide slot back whatever its outcome
    if (admission.token !== undefined && sync !== undefined) sync.releaseProbe(key, admission.token)
    // an outcome from before the last transition says nothing about the upstream now
    if (admission.generation !== s.generation || s.isolated) return Effect.void
    // a step back while the call ran is no time passing: it is not taken off the call's duration
    const isSlow = now - (admission.startedAt + s.steppedBack - admission.steppedBack) >= config.slowCallDuration
    if (outcome === "failure" && label !== undefined) {
      const last = s.lastFailure
      s.sameKindRun = last !== undefined && last.tag === label.tag && last.status === label.status
        ? s.sameKindRun + 1
        : 1
      s.lastFailure = label
    }
    if (admission.probe) {
      // A probe frees its slot whatever its outcome. An ignored one (interrupted, or a failure `isIgnored` says
      // tells nothing about the upstream) leaves the state as it was: the next call may probe at once.
      freeProbe(admission.slot)
      if (outcome === "ignored") return Effect.void
      if (outcome === "failure") return open(now, "ProbeFailed", 1, failure)
      if (isSlow && config.slowCallRateThreshold !== undefined) {
        s.lastFailure = undefined
        return open(now, "SlowCalls", 1)
      }
      // a success, or a failure that does not count (the upstream answered): the upstream is alive
      s.probeSuccesses++
      if (s.probeSuccesses >= config.successThreshold) {
        transition("Closed", now)
        if (sync !== undefined) s.synced = sync.publish(key, { state: "Closed", at: now, until: now })
      }
      return Effect.void
    }
    if (outcome === "ignored") return Effect.void
    if (config.windowCalls !== undefined) {
      recordCall(outcome === "failure", isSlow, now, config.windowCalls)
    } else {
      const bucket = currentBucket(now)
      bucket.calls++
      s.keptCalls++
      if (outcome === "failure") {
        bucket.failures++
        s.keptFailures++
      }
      if (isSlow) {
        bucket.slow++
        s.keptSlow++
      }
    }
    s.consecutiveFailures = outcome === "failure" ? s.consecutiveFailures + 1 : 0
    if (s.consecutiveFailures >= config.consecutiveFailures) {
      return open(now, "ConsecutiveFailures", s.consecutiveFailures, failure)
    }
    // Semian's `error_threshold` in its `error_threshold_timeout`, Sentinel's error count: failures in the window,
    // whatever the successes between them, judged on a counted failure (the kept sum bounds the window's from above)
    const countThreshold = config.failureCountThreshold
    if (countThreshold !== undefined && outcome === "failure" && s.keptFailures >= countThreshold) {
      const failures = config.windowCalls !== undefined ? s.keptFailures : windowTotals(now).failures
      if (failures >= countThreshold) return open(now, "FailureCount", failures, failure)
    }
    // The window's totals are summed only when a rate could trip: the kept sums bound them from above, so with
    // too few calls, or no failure (no slow call) kept at all, no threshold can be reached.
    const failureRate = config.failureRateThreshold
    const slowRate = config.slowCallRateThreshold
    if (s.keptCalls < config.minimumThroughput) return Effect.void
    const mayFail = failureRate !== undefined && (s.keptFailures > 0 || failureRate <= 0)
    const maySlow = slowRate !== undefined && (s.keptSlow > 0 || slowRate <= 0)
    if (!mayFail && !maySlow) return Effect.void
    const totals = windowTotals(now)
    if (totals.calls >= config.minimumThroughput) {
      if (config.failureRateThreshold !== undefined && totals.failures / totals.calls >= config.failureRateThreshold) {
        return open(now, "FailureRate", totals.failures, outcome === "failure" ? failure : undefined)
      }
      if (config.slowCallRateThreshold !== undefined && totals.slow / totals.calls >= config.slowCallRateThreshold) {
        return open(now, "SlowCalls", totals.slow)
      }
    }
    return Effect.void
  }

  // A failure counts (`isFailure`), says nothing about the upstream (a policy's rejection, `isIgnored`), or else
  // proves the upstream answered: it then counts as a successful call, as in resilience4j and Polly.
  const classify = (failure: unknown): Outcome =>
    isPolicyRejection(failure) ||
      (config.isIgnored !== undefined && predicate.answerOf(config.isIgnored(failure), "CircuitBreaker: isIgnored"))
      ? "ignored"
      : predicate.answerOf(config.isFailure(failure), "CircuitBreaker: isFailure")
      ? "failure"
      : "success"

  // A call to a closed breaker that times no slow calls holds nothing: admitting it changes no state, and an
  // interrupted one records nothing ("ignored"). So it needs no mask: one step finds the clock and admits it, and
  // its outcome is recorded by the handlers every such call shares. Other calls (probes, timed calls, a breaker
  // that shares its state with the fleet, or one that may change state now) are admitted under a mask, so that
  // what they hold (a probe's slot) is always given back.
  const runIn = <A, E, R>(
    fiber: Fiber.RuntimeFiber<unknown, unknown>,
    self: Effect.Effect<A, E, R>
  ): Effect.Effect<A, E | CircuitOpen, R> => {
    if (s.state !== "Closed" || s.isolated || sync !== undefined || config.slowCallDuration !== Infinity) {
      return masked(self)
    }
    const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
    return Effect.matchCauseEffect(self, closedHandlers(s.generation, clock)) as Effect.Effect<A, E | CircuitOpen, R>
  }

  const run = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | CircuitOpen, R> =>
    Effect.withFiberRuntime((fiber) => runIn(fiber, self))

  // One mask, one clock read and one `matchCauseEffect` a call.
  const masked = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | CircuitOpen, R> =>
    Effect.uninterruptibleMask((restore) =>
      Effect.clockWith((clock): Effect.Effect<A, E | CircuitOpen, R> => {
        const now = clock.unsafeCurrentTimeMillis()
        const admission = admit(now)
        const asksForSlot = admission._tag === "Admitted" && admission.probe && sync !== undefined
        if (letGoTokens.length > 0 && !asksForSlot) giveBackLetGo()
        if (admission._tag === "Rejected") return Effect.fail(rejection(admission.retryAfter))
        if (admission.probe && sync !== undefined) {
          // fleet sharing: a probe also needs one of the fleet's `halfOpenMaxProbes` slots
          return Effect.flatMap(sync.acquireProbe(key, config.halfOpenMaxProbes, letGoTokens.splice(0)), (token) => {
            if (admission.generation !== s.generation) {
              // the breaker moved on while the store answered (another probe failed, or closed it): this call is
              // no probe any more and is admitted afresh, so it never reaches an upstream the breaker holds open
              if (typeof token === "string") sync.releaseProbe(key, token)
              return restore(run(self))
            }
            if (token === undefined) return attempt(restore, self, admission, clock)
            if (token !== false) {
              if (admission.slot !== undefined) admission.slot.token = token
              return attempt(restore, self, { ...admission, token }, clock)
            }
            if (admission.generation === s.generation) freeProbe(admission.slot)
            return Effect.fail(rejection(Duration.millis(s.lastBreakMillis)))
          })
        }
        return attempt(restore, self, admission, clock)
      })
    )

  const attempt = <A, E, R>(
    restore: <AX, EX, RX>(effect: Effect.Effect<AX, EX, RX>) => Effect.Effect<AX, EX, RX>,
    self: Effect.Effect<A, E, R>,
    admission: Admission & { _tag: "Admitted" },
    clock: Clock.Clock
  ): Effect.Effect<A, E | CircuitOpen, R> =>
    Effect.matchCauseEffect(
      restore(self),
      // a call admitted while closed, with no slow calls to time: the handlers of its generation and clock serve it
      !admission.probe && config.slowCallDuration === Number.POSITIVE_INFINITY
        ? closedHandlers(admission.generation, clock)
        : recordingHandlers(admission, clock)
    ) as Effect.Effect<A, E | CircuitOpen, R>

  // What ends an admitted call: its outcome recorded, then its own result.
  const recordingHandlers = (admission: Admission & { _tag: "Admitted" }, clock: Clock.Clock) => ({
    onFailure: (cause: Cause.Cause<unknown>): Effect.Effect<never, unknown> => {
      const now = clock.unsafeCurrentTimeMillis()
      const failure = Cause.failureOption(cause)
      if (failure._tag === "Some") {
        const recordTyped = (error: unknown): Effect.Effect<never, unknown> => {
          let outcome: Outcome
          try {
            outcome = classify(error)
          } catch (defect) {
            // an `isFailure` or `isIgnored` that throws cannot say what the failure means: the call is not recorded
            // (a probe gives its slot back and the next call may probe, as in resilience4j), and the caller gets the
            // predicate's defect after its own failure
            return Effect.zipRight(
              record(admission, "ignored", now, undefined),
              Effect.failCause(Cause.sequential(cause, Cause.die(defect)))
            )
          }
          return Effect.zipRight(record(admission, outcome, now, labelOf(error), error), Effect.failCause(cause))
        }
        if (!isDeadlineFailure(failure.value)) return recordTyped(failure.value)
        // The caller's deadline cut the call short when the deadline in force around the breaker has passed (an
        // `attemptTimeout` inside met it first, or a transport enforced it under `Deadline.establish`): that says
        // nothing about the upstream, as the interruption an armed deadline sends does not. A deadline set inside
        // the breaker (`withDeadline` as a per-call limit) that passed with the caller's still ahead counts as usual.
        return Effect.flatMap(deadline.deadlineMillis, (at) =>
          now >= at
            ? Effect.zipRight(record(admission, "ignored", now, undefined), Effect.failCause(cause))
            : recordTyped(failure.value))
      }
      // interruption says nothing about the upstream; a defect does
      const recorded = Cause.isInterruptedOnly(cause)
        ? record(admission, "ignored", now, undefined)
        : record(admission, "failure", now, defectLabel, Cause.squash(cause))
      return Effect.zipRight(recorded, Effect.failCause(cause))
    },
    onSuccess: (value: unknown): Effect.Effect<unknown> => {
      const recorded = record(admission, "success", clock.unsafeCurrentTimeMillis(), undefined)
      return recorded === Effect.void ? Effect.succeed(value) : Effect.as(recorded, value)
    }
  })

  // Every call admitted while closed in one generation, under one Clock, and timing no slow calls, is recorded
  // alike: they share one set of handlers (and one admission), made again when the generation or the Clock changes.
  let closed: {
    readonly generation: number
    readonly clock: Clock.Clock
    readonly handlers: ReturnType<typeof recordingHandlers>
  } | undefined
  const closedHandlers = (generation: number, clock: Clock.Clock) => {
    if (closed === undefined || closed.generation !== generation || closed.clock !== clock) {
      const admission = { _tag: "Admitted", generation, probe: false, startedAt: 0, steppedBack: 0 } as const
      closed = { generation, clock, handlers: recordingHandlers(admission, clock) }
    }
    return closed.handlers
  }

  // reading the state lets go of the probes past their limit, as the next call would: `probesInFlight` counts the rest;
  // it also applies a transition of the fleet already read from the store, which the next call would apply: a process
  // whose calls would be rejected by another's opening must not report Closed
  const snapshot: Effect.Effect<CB.Snapshot> = Effect.clockWith((clock) =>
    Effect.sync(() => {
      const now = clock.unsafeCurrentTimeMillis()
      observe(now)
      if (sync !== undefined && !s.isolated) {
        const shared = sync.latest(key)
        if (shared !== undefined && shared !== s.synced) applyShared(shared, now)
      }
      if (s.state === "HalfOpen" && !s.isolated) {
        letGoOfSlowProbes(now)
        giveBackLetGo()
      }
      return read(now)
    })
  )

  const read = (now: number): CB.Snapshot => {
    const totals = windowTotals(now)
    // Open whose pause has elapsed is reported as HalfOpen: that is what the next call will see
    const state: CB.State = s.state === "Open" && !s.isolated && now >= s.openUntil ? "HalfOpen" : s.state
    return {
      key,
      state,
      isolated: s.isolated,
      consecutiveFailures: s.consecutiveFailures,
      calls: totals.calls,
      failures: totals.failures,
      slowCalls: totals.slow,
      probesInFlight: s.probesInFlight,
      retryAfter: state === "Open"
        ? retryAfter(now)
        : s.state === "HalfOpen" && !s.isolated && probeSlotsFull(now)
        ? Duration.millis(probeSlotFreeIn(now))
        : Duration.zero
    }
  }

  const release = (now: number, idle: boolean): "released" | "recent" | "held" => {
    if (s.isolated) return "held"
    observe(now)
    if (s.state === "Closed") {
      const last = s.buckets[s.buckets.length - 1]
      const lastCall = config.windowCalls !== undefined
        ? s.lastCallAt
        : last === undefined
        ? Number.NEGATIVE_INFINITY
        : last.start
      const quietSince = Math.max(s.changedAt, lastCall)
      return idle && quietSince > now - config.windowMillis ? "recent" : "released"
    }
    // a probe past its limit does not hold its breaker in the registry
    if (s.state === "HalfOpen") {
      letGoOfSlowProbes(now)
      giveBackLetGo()
    }
    if (s.probesInFlight > 0 || now < s.openUntil) return "held"
    if (idle && now < s.openUntil + config.windowMillis) return "recent"
    transition("Closed", now)
    return "released"
  }

  const breaker: Breaker = {
    key,
    run,
    runIn,
    release,
    snapshot,
    state: Effect.map(snapshot, (_) => _.state),
    changes,
    subscribe,
    isolate: Effect.clockWith((clock) =>
      Effect.sync(() => {
        s.isolated = true
        transition("Open", clock.unsafeCurrentTimeMillis())
      })
    ),
    reset: Effect.clockWith((clock) =>
      Effect.sync(() => {
        s.isolated = false
        transition("Closed", clock.unsafeCurrentTimeMillis())
      })
    )
  }
  return breaker
}

// a breaker used after its scope closed keeps working; only its events are dropped
const publishTo = (hub: PubSub.PubSub<CB.StateChange>) => (change: CB.StateChange): void => {
  hub.unsafeOffer(change)
}

/** @internal */
export const make = (
  key: string,
  options?: CB.Options,
  sync?: BreakerSync | undefined
): Effect.Effect<CB.CircuitBreaker, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(PubSub.unbounded<CB.StateChange>(), PubSub.shutdown),
    (hub) =>
      unsafeMake(key, options, publishTo(hub), Stream.fromPubSub(hub), Stream.fromPubSub(hub, { scoped: true }), sync)
  )

/** @internal */
export const withBreaker = dual<
  (breaker: CB.CircuitBreaker) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | CircuitOpen, R>,
  <A, E, R>(self: Effect.Effect<A, E, R>, breaker: CB.CircuitBreaker) => Effect.Effect<A, E | CircuitOpen, R>
>(2, (self, breaker) => breaker.run(self))

/**
 * Breakers a registry moves to the back for one new key: a breaker it must keep goes to the back, so the scan goes
 * round the registry and each new key costs O(1) (amortized: a breaker evicted was paid for when it was made). With
 * `k` breakers held open and more than `capacity` keys in use, the registry keeps about `k / scanLimit` Closed ones
 * besides them (the keys new in the last round).
 */
const scanLimit = 4

/** @internal */
export const makeRegistry = (
  options: CB.RegistryOptions = {},
  sync?: BreakerSync | undefined
): Effect.Effect<CB.RegistryService, never, Scope.Scope> =>
  Effect.gen(function*() {
    const capacity = options.capacity ?? 10_000
    if (!(Number.isInteger(capacity) && capacity >= 1)) {
      throw new RangeError(`CircuitBreaker: capacity (${String(capacity)}) must be an integer of at least 1`)
    }
    // every breaker of the registry is made with these options: refuse invalid ones now, not on the first call
    checkOptions("CircuitBreaker.makeRegistry", options)
    resolve(options.breaker)
    const hub = yield* Effect.acquireRelease(PubSub.unbounded<CB.StateChange>(), PubSub.shutdown)
    const changes = Stream.fromPubSub(hub)
    const subscribe = Stream.fromPubSub(hub, { scoped: true })
    const publish = publishTo(hub)
    // a Map iterates in insertion order; re-inserting on access makes its first key the least recently used
    const breakers = new Map<string, Breaker>()
    // the key used last is already the most recent: most calls go to the same upstream as the one before
    let lastKey: string | undefined
    // Runs when a key is added, from the least recently used breaker on. Idle breakers (nothing in their sliding
    // window, or a pause over for a window) hold nothing a new one would not: they go, however many there are. Over
    // capacity, any breaker a new one could replace goes too (closed, or paused no longer with no probe in flight:
    // see `release`). One that must stay (open in its pause, probing, isolated) moves to the back and the registry
    // may grow past its capacity: forgetting it would send the calls it holds back to an upstream that is down.
    // Such breakers are bounded by the upstreams actually failing.
    const evict = (created: string, now: number): void => {
      let moved = 0
      for (;;) {
        const oldest = breakers.entries().next()
        if (oldest.done === true) return
        const [key, breaker] = oldest.value
        if (key === created) return
        const released = breaker.release(now, breakers.size <= capacity)
        if (released === "released") {
          breakers.delete(key)
          continue
        }
        // a breaker in use: those after it were used later
        if (released === "recent" || moved === scanLimit) return
        moved++
        breakers.delete(key)
        breakers.set(key, breaker)
        lastKey = undefined
      }
    }
    const lookup = (key: string, fiber: Fiber.RuntimeFiber<unknown, unknown>): Breaker => {
      const existing = breakers.get(key)
      if (existing !== undefined) {
        if (key !== lastKey) {
          breakers.delete(key)
          breakers.set(key, existing)
          lastKey = key
        }
        return existing
      }
      const now = Context.get(fiber.currentDefaultServices, Clock.Clock).unsafeCurrentTimeMillis()
      const created = unsafeMake(
        key,
        options.breaker,
        publish,
        Stream.filter(changes, (change) => change.key === key),
        Effect.map(subscribe, Stream.filter((change: CB.StateChange) => change.key === key)),
        sync,
        now
      ) as Breaker
      breakers.set(key, created)
      lastKey = key
      evict(key, now)
      return created
    }
    const get = (key: string): Effect.Effect<CB.CircuitBreaker> =>
      Effect.withFiberRuntime((fiber) => Effect.succeed(lookup(key, fiber)))
    yield* Effect.addFinalizer(() => Effect.sync(() => breakers.clear()))
    return {
      get,
      size: Effect.sync(() => breakers.size),
      changes,
      subscribe,
      // the breaker is looked up (and made, on first use) in the step that admits the call
      withBreaker: dual(
        2,
        <A, E, R>(self: Effect.Effect<A, E, R>, key: string): Effect.Effect<A, E | CircuitOpen, R> =>
          Effect.withFiberRuntime((fiber) => lookup(key, fiber).runIn(fiber, self))
      )
    } satisfies CB.RegistryService
  })
