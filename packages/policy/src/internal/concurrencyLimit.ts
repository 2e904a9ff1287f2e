import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { dual } from "effect/Function"
import * as PubSub from "effect/PubSub"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as CL from "../ConcurrencyLimit.js"
import { checkOptions } from "./options.js"
import { answerOf } from "./predicate.js"
import { isPolicyRejection } from "./rejection.js"
import { checkNonNegative, monotonicMillis, optionDuration } from "./timer.js"

/** @internal */
export class ConcurrencyLimitExceeded extends Schema.TaggedError<ConcurrencyLimitExceeded>(
  "@sturdy/policy/ConcurrencyLimit/ConcurrencyLimitExceeded"
)("ConcurrencyLimitExceeded", { key: Schema.String, limit: Schema.Number, inFlight: Schema.Number }) {
  override get message(): string {
    return `concurrency limit ${this.key} reached (${this.inFlight} calls in flight, limit ${this.limit})`
  }
}

const owner = "ConcurrencyLimit"

// gradient2: the first samples set the long-term RTT as their plain mean (Netflix's warm-up)
const WARMUP = 10

// a number is shown as it is; anything else by its type only (a hostile `toString` cannot throw from the message)
const shown = (value: unknown): string => typeof value === "number" ? String(value) : typeof value

const checkInteger = (field: string, value: unknown, min: number, max: number): number => {
  if (!(typeof value === "number" && Number.isSafeInteger(value) && value >= min && value <= max)) {
    throw new RangeError(`${owner}: ${field} (${shown(value)}) must be an integer in [${min}, ${max}]`)
  }
  return value
}

interface Config {
  readonly key: string
  readonly algorithm: "aimd" | "gradient2"
  readonly smoothing: number
  readonly queueSize: number
  readonly rttTolerance: number
  readonly longWindow: number
  readonly initialLimit: number
  readonly minLimit: number
  readonly maxLimit: number
  readonly backoffRatio: number
  readonly timeoutMillis: number
  readonly isDrop: (error: unknown) => boolean
  readonly isIgnored: ((error: unknown) => boolean) | undefined
}

const resolve = (input: CL.Options | null | undefined): Config => {
  // `null` (a setting read as none) is no options, as `undefined` is
  checkOptions(owner, input)
  const options: CL.Options = input ?? {}
  const key = options.key ?? "default"
  // the key names the limit in `ConcurrencyLimitExceeded`, whose schema wants a string
  if (typeof key !== "string") {
    throw new RangeError(`${owner}: key (${key === null ? "null" : typeof key}) must be a string`)
  }
  const algorithm = options.algorithm ?? "aimd"
  if (algorithm !== "aimd" && algorithm !== "gradient2") {
    throw new RangeError(`${owner}: algorithm (${shown(algorithm)}) must be "aimd" or "gradient2"`)
  }
  const minLimit = checkInteger("minLimit", options.minLimit ?? 1, 1, Number.MAX_SAFE_INTEGER)
  const maxLimit = checkInteger("maxLimit", options.maxLimit ?? 200, minLimit, Number.MAX_SAFE_INTEGER)
  // unset, Netflix's 20 moved into the range; given, it must be in the range (Netflix only warns)
  const initialLimit = options.initialLimit ?? Math.min(maxLimit, Math.max(minLimit, 20))
  checkInteger("initialLimit", initialLimit, minLimit, maxLimit)
  const backoffRatio = options.backoffRatio ?? 0.9
  // below 0.5 one drop would halve the limit or worse; 1 or more would never shrink it (Netflix's range)
  if (!(typeof backoffRatio === "number" && backoffRatio >= 0.5 && backoffRatio < 1)) {
    throw new RangeError(`${owner}: backoffRatio (${shown(backoffRatio)}) must be a number in [0.5, 1)`)
  }
  const timeoutInput = options.timeout ?? "5 seconds"
  checkNonNegative(owner, "timeout", timeoutInput)
  const timeoutMillis = Duration.toMillis(optionDuration(owner, "timeout", timeoutInput))
  // a zero timeout would make every call a drop
  if (!(timeoutMillis > 0)) {
    throw new RangeError(`${owner}: timeout (${timeoutMillis} ms) must be a positive duration`)
  }
  // a predicate that is no function would fail only at the first failure, as a defect of that call
  if (options.isDrop !== undefined && options.isDrop !== null && typeof options.isDrop !== "function") {
    throw new RangeError(`${owner}: isDrop must be a function from the failure to a boolean`)
  }
  const isDrop = options.isDrop ?? (() => true)
  if (options.isIgnored !== undefined && options.isIgnored !== null && typeof options.isIgnored !== "function") {
    throw new RangeError(`${owner}: isIgnored must be a function from the failure to a boolean`)
  }
  const isIgnored = options.isIgnored ?? undefined
  const smoothing = options.smoothing ?? 0.2
  // 0 would never move the limit; above 1 it would overshoot the estimate
  if (!(typeof smoothing === "number" && smoothing > 0 && smoothing <= 1)) {
    throw new RangeError(`${owner}: smoothing (${shown(smoothing)}) must be a number in (0, 1]`)
  }
  const queueSize = checkInteger("queueSize", options.queueSize ?? 4, 0, Number.MAX_SAFE_INTEGER)
  const rttTolerance = options.rttTolerance ?? 1.5
  if (!(typeof rttTolerance === "number" && rttTolerance >= 1 && Number.isFinite(rttTolerance))) {
    throw new RangeError(`${owner}: rttTolerance (${shown(rttTolerance)}) must be a finite number of at least 1`)
  }
  const longWindow = checkInteger("longWindow", options.longWindow ?? 600, 1, Number.MAX_SAFE_INTEGER)
  return {
    key,
    algorithm,
    initialLimit,
    minLimit,
    maxLimit,
    backoffRatio,
    timeoutMillis,
    isDrop,
    isIgnored,
    smoothing,
    queueSize,
    rttTolerance,
    longWindow
  }
}

/** @internal */
export const unsafeMake = (options?: CL.Options | null): CL.ConcurrencyLimit => {
  const config = resolve(options)
  const { backoffRatio, key, maxLimit, minLimit, timeoutMillis } = config
  const { longWindow, queueSize, rttTolerance, smoothing } = config
  const isDrop = (error: unknown): boolean => answerOf(config.isDrop(error), `${owner}: isDrop`)
  const isIgnored = config.isIgnored
  const ignores = (error: unknown): boolean =>
    isIgnored !== undefined && answerOf(isIgnored(error), `${owner}: isIgnored`)
  const hub = Effect.runSync(PubSub.unbounded<CL.LimitChange>())
  let limit = config.initialLimit
  let inFlight = 0
  // gradient2: the limit before it is floored, and the long-term RTT with its warm-up
  let estimated = config.initialLimit
  let longRtt = 0
  let warmupSum = 0
  let warmupCount = 0
  const longFactor = 2 / (longWindow + 1)

  const setLimit = (to: number): void => {
    if (to === limit) return
    const from = limit
    limit = to
    hub.unsafeOffer({ key, from, to })
  }

  // true: a drop; false: an answer; null: not counted (interruption, a policy's rejection, what `isIgnored` accepts, a
  // defect `isDrop` refuses)
  const isDropped = <A, E>(exit: Exit.Exit<A, E>): boolean | null => {
    if (Exit.isSuccess(exit)) return false
    const failure = Cause.failureOption(exit.cause)
    if (failure._tag === "Some") {
      return isPolicyRejection(failure.value) || ignores(failure.value) ? null : isDrop(failure.value)
    }
    const defect = Cause.dieOption(exit.cause)
    if (defect._tag === "Some") return !ignores(defect.value) && isDrop(defect.value) ? true : null
    return null
  }

  const aimd = (elapsed: number, dropped: boolean, sampledInFlight: number): void => {
    if (dropped || elapsed > timeoutMillis) {
      setLimit(Math.max(minLimit, Math.floor(limit * backoffRatio)))
    } else if (sampledInFlight * 2 >= limit) {
      setLimit(Math.min(maxLimit, limit + 1))
    }
  }

  const gradient2 = (elapsed: number, sampledInFlight: number): void => {
    const rtt = Math.max(1, elapsed)
    if (warmupCount < WARMUP) {
      warmupCount++
      warmupSum += rtt
      longRtt = warmupSum / warmupCount
    } else {
      longRtt = longRtt * (1 - longFactor) + rtt * longFactor
    }
    // back from a long overload: the long-term RTT comes down faster than its average would
    if (longRtt / rtt > 2) longRtt *= 0.95
    // the limit is not in use: the RTT says nothing about it
    if (sampledInFlight < estimated / 2) return
    const gradient = Math.max(0.5, Math.min(1, rttTolerance * longRtt / rtt))
    const next = estimated * (1 - smoothing) + (estimated * gradient + queueSize) * smoothing
    estimated = Math.max(minLimit, Math.min(maxLimit, next))
    setLimit(Math.floor(estimated))
  }

  // the place is given back first: an `isDrop` that throws still gives it back (and its error is the call's defect)
  const end = (clock: Clock.Clock, started: number, sampledInFlight: number, exit: Exit.Exit<unknown, unknown>) => {
    inFlight--
    const dropped = isDropped(exit)
    if (dropped === null) return
    const elapsed = monotonicMillis(clock) - started
    if (config.algorithm === "aimd") aimd(elapsed, dropped, sampledInFlight)
    else gradient2(elapsed, sampledInFlight)
  }

  const run = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | ConcurrencyLimitExceeded, R> =>
    Effect.clockWith((clock) =>
      // the mask's body runs each time the effect runs; the place is taken and given back inside it
      Effect.uninterruptibleMask((restore): Effect.Effect<A, E | ConcurrencyLimitExceeded, R> => {
        if (inFlight >= limit) return Effect.fail(new ConcurrencyLimitExceeded({ key, limit, inFlight }))
        inFlight++
        const sampledInFlight = inFlight
        const started = monotonicMillis(clock)
        return Effect.onExit(restore(self), (exit) => Effect.sync(() => end(clock, started, sampledInFlight, exit)))
      })
    )

  return {
    key,
    run,
    limit: Effect.sync(() => limit),
    inFlight: Effect.sync(() => inFlight),
    changes: Stream.fromPubSub(hub),
    subscribe: Stream.fromPubSub(hub, { scoped: true })
  }
}

/** @internal */
export const make = (options?: CL.Options | null): Effect.Effect<CL.ConcurrencyLimit> =>
  Effect.sync(() => unsafeMake(options))

/** @internal */
export const withLimit = dual<
  (
    limiter: CL.ConcurrencyLimit
  ) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | ConcurrencyLimitExceeded, R>,
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    limiter: CL.ConcurrencyLimit
  ) => Effect.Effect<A, E | ConcurrencyLimitExceeded, R>
>(2, (self, limiter) => limiter.run(self))
