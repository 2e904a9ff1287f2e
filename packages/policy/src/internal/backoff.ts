import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as Interval from "effect/ScheduleInterval"
import * as Intervals from "effect/ScheduleIntervals"
import type * as Backoff from "../Backoff.js"
import { checkOptions } from "./options.js"
import { checkNonNegative, maxTimerMillis, optionMillis, timerDuration } from "./timer.js"

/** @internal */
export const defaults = {
  baseDelay: Duration.millis(100),
  factor: 2,
  maxDelay: Duration.seconds(10),
  jitter: "full",
  maxAttempts: 3,
  maxElapsed: Duration.infinity
} as const

interface Resolved {
  readonly baseMillis: number
  readonly factor: number
  readonly capMillis: number
  readonly jitter: Backoff.Jitter
  readonly maxAttempts: number
  readonly maxElapsedMillis: number
}

const resolve = (options: Backoff.Options | undefined): Resolved => {
  checkOptions("Backoff", options)
  checkNonNegative("Backoff", "baseDelay", options?.baseDelay)
  checkNonNegative("Backoff", "maxDelay", options?.maxDelay)
  checkNonNegative("Backoff", "maxElapsed", options?.maxElapsed)
  const resolved: Resolved = {
    baseMillis: optionMillis("Backoff", "baseDelay", options?.baseDelay ?? defaults.baseDelay),
    factor: options?.factor ?? defaults.factor,
    // an infinite cap means none, but no delay may exceed what a timer can hold
    capMillis: Math.min(maxTimerMillis, optionMillis("Backoff", "maxDelay", options?.maxDelay ?? defaults.maxDelay)),
    jitter: options?.jitter ?? defaults.jitter,
    maxAttempts: options?.maxAttempts ?? defaults.maxAttempts,
    maxElapsedMillis: optionMillis("Backoff", "maxElapsed", options?.maxElapsed ?? defaults.maxElapsed)
  }
  if (!(resolved.baseMillis >= 0) || !Number.isFinite(resolved.baseMillis)) {
    throw new RangeError("Backoff: baseDelay must be a finite, non-negative duration")
  }
  // numbers only: a symbol or a throwing `valueOf` would throw from inside the comparisons, naming nothing
  if (typeof resolved.factor !== "number" || !(resolved.factor >= 1) || !Number.isFinite(resolved.factor)) {
    throw new RangeError("Backoff: factor must be a finite number >= 1")
  }
  // a typo read from configuration ("Full") would otherwise make every delay NaN, which sleeps as zero
  if (!jitters.includes(resolved.jitter)) {
    throw new RangeError(`Backoff: jitter must be one of ${jitters.join(", ")} (got ${String(resolved.jitter)})`)
  }
  if (options?.baseDelay !== undefined) timerDuration("Backoff", "baseDelay", options.baseDelay)
  if (options?.maxDelay !== undefined) timerDuration("Backoff", "maxDelay", options.maxDelay, true)
  if (
    typeof resolved.maxAttempts !== "number" || !(resolved.maxAttempts >= 1) ||
    !(Number.isInteger(resolved.maxAttempts) || resolved.maxAttempts === Infinity)
  ) {
    throw new RangeError("Backoff: maxAttempts must be an integer >= 1 (or Infinity)")
  }
  return resolved
}

const jitters: ReadonlyArray<Backoff.Jitter> = ["none", "full", "equal", "decorrelated"]

// base × multiplier for a multiplier that may have overflowed to Infinity: a zero base stays zero (0 × ∞ is NaN)
const scaled = (baseMillis: number, multiplier: number): number => baseMillis === 0 ? 0 : baseMillis * multiplier

// base × factorⁿ in floating point can land a hair off the whole number it is (1000 × 1.2³ is 1727.9999999999998, 100 ×
// 1.15 is 114.99999999999999), and rounding the delay down would then lose a millisecond: a value within a relative
// 1e-12 of a whole millisecond (far below a timer's resolution at any delay a timer holds) is that millisecond.
const wholeIfClose = (millis: number): number => {
  const whole = Math.round(millis)
  return Math.abs(millis - whole) <= whole * 1e-12 ? whole : millis
}

const exponentialMillis = (resolved: Resolved, retry: number): number =>
  Math.min(resolved.capMillis, wholeIfClose(scaled(resolved.baseMillis, Math.pow(resolved.factor, retry))))

const between = (low: number, high: number, unit: number): number => low + (high - low) * unit

// `retry` counts from 0 (the delay before the second attempt); `previousMillis` is the delay chosen last time
// (the base before the first retry); `unit` is a uniform random number in [0, 1).
const nextDelayMillis = (resolved: Resolved, retry: number, previousMillis: number, unit: number): number => {
  let jittered: number
  switch (resolved.jitter) {
    case "none": {
      jittered = exponentialMillis(resolved, retry)
      break
    }
    case "full": {
      jittered = between(0, exponentialMillis(resolved, retry), unit)
      break
    }
    case "equal": {
      const envelope = exponentialMillis(resolved, retry)
      jittered = envelope / 2 + between(0, envelope / 2, unit)
      break
    }
    case "decorrelated": {
      jittered = between(resolved.baseMillis, Math.max(resolved.baseMillis, previousMillis * 3), unit)
      break
    }
  }
  // The cap is applied after jitter so that it bounds every mode, decorrelated included. Whole milliseconds keep
  // clock arithmetic exact; rounding down is monotonic, so every bound (as rounded by `envelope`) still holds.
  const millis = Math.floor(Math.min(resolved.capMillis, jittered))
  // Rounding down must not turn a jittered wait into none at all (1 in t(n) draws of full jitter would be below 1 ms),
  // nor may a draw of exactly 0 (`Random.next` is in [0, 1)): whenever the envelope reaches 1 ms the delay is at least
  // 1 ms, as Polly's jittered delays are always positive.
  return millis === 0 && (resolved.jitter === "full" || resolved.jitter === "equal") &&
      exponentialMillis(resolved, retry) >= 1
    ? 1
    : millis
}

/** @internal */
export const envelope = (
  options: Backoff.Options | undefined,
  retry: number
): { readonly lower: Duration.Duration; readonly upper: Duration.Duration } => {
  // A retry number that is negative, fractional or NaN names no retry: `base × factorⁿ` would answer a delay no
  // schedule ever chooses (half the base for -1, zero for NaN).
  if (!(Number.isInteger(retry) && retry >= 0)) {
    throw new RangeError(`Backoff.envelope: n must be an integer >= 0 (got ${String(retry)})`)
  }
  const resolved = resolve(options)
  const bound = (millis: number) => Duration.millis(Math.floor(Math.min(resolved.capMillis, millis)))
  const exponential = exponentialMillis(resolved, retry)
  switch (resolved.jitter) {
    case "none":
      return { lower: bound(exponential), upper: bound(exponential) }
    case "full":
      return { lower: Duration.zero, upper: bound(exponential) }
    case "equal":
      return { lower: bound(exponential / 2), upper: bound(exponential) }
    case "decorrelated":
      return {
        lower: bound(resolved.baseMillis),
        upper: bound(scaled(resolved.baseMillis, Math.pow(3, retry + 1)))
      }
  }
}

/**
 * What the states of the schedules made here share: when the first failure was seen (set by the first step).
 * @internal
 */
export interface ElapsedState {
  readonly startMillis: number | undefined
}

// The `maxElapsed` of each schedule made here that has one, for `Retry`: a server's wait replaces the delay the
// schedule checked against its limit, and must be held to the same limit. With it, the same schedule without the
// limit: a delay past the limit that a server's wait replaces must not end the retries, so `Retry` steps this one
// and holds whichever wait it uses to the limit itself.
const elapsedLimits = new WeakMap<
  Schedule.Schedule<unknown, never, unknown>,
  { readonly millis: number; readonly unlimited: Schedule.Schedule<any, any, any> }
>()

const withElapsedLimit = <S extends Schedule.Schedule<any, any, any>>(
  schedule: S,
  maxElapsedMillis: number,
  unlimited: () => S
): S => {
  if (maxElapsedMillis < Infinity) elapsedLimits.set(schedule, { millis: maxElapsedMillis, unlimited: unlimited() })
  return schedule
}

/**
 * The `maxElapsed` of a schedule made by `exponential` or `bounded` (its state then is an `ElapsedState`), or
 * `undefined` for any other schedule or none.
 * @internal
 */
export const maxElapsedMillisOf = (schedule: Schedule.Schedule<unknown, never, unknown>): number | undefined =>
  elapsedLimits.get(schedule)?.millis

/**
 * The schedule a schedule with a `maxElapsed` (see {@link maxElapsedMillisOf}) is without it: the same delays, the
 * same state (an `ElapsedState`) and attempt limit, but no end when a delay would start past `maxElapsed`.
 * @internal
 */
export const withoutElapsedLimit = <S extends Schedule.Schedule<any, any, any>>(schedule: S): S =>
  (elapsedLimits.get(schedule)?.unlimited as S | undefined) ?? schedule

interface State extends ElapsedState {
  readonly retries: number
  readonly previousMillis: number
}

/** @internal */
export const exponential = (options?: Backoff.Options): Schedule.Schedule<Duration.Duration> => {
  const resolved = resolve(options)
  return withElapsedLimit(
    makeExponential(resolved),
    resolved.maxElapsedMillis,
    () => makeExponential({ ...resolved, maxElapsedMillis: Infinity })
  )
}

const makeExponential = (resolved: Resolved): Schedule.Schedule<Duration.Duration> => {
  const initial: State = { retries: 0, previousMillis: resolved.baseMillis, startMillis: undefined }
  return Schedule.makeWithState(initial, (now, _input: unknown, state) => {
    if (state.retries + 1 >= resolved.maxAttempts) {
      return Effect.succeed([state, Duration.zero, ScheduleDecision.done] as const)
    }
    return Effect.map(
      resolved.jitter === "none" ? Effect.succeed(0) : Random.next,
      (unit) => {
        const startMillis = state.startMillis ?? now
        const delayMillis = nextDelayMillis(resolved, state.retries, state.previousMillis, unit)
        // A hard limit, unlike `Schedule.upTo`: no retry is scheduled to start after `maxElapsed`.
        if (now - startMillis + delayMillis > resolved.maxElapsedMillis) {
          return [state, Duration.zero, ScheduleDecision.done] as const
        }
        const next: State = { retries: state.retries + 1, previousMillis: delayMillis, startMillis }
        return [
          next,
          Duration.millis(delayMillis),
          ScheduleDecision.continueWith(Interval.after(now + delayMillis))
        ] as const
      }
    )
  })
}

/** @internal */
export const fromDelay = <In = unknown>(
  delay: (retry: number, input: In) => Duration.DurationInput
): Schedule.Schedule<Duration.Duration, In> =>
  Schedule.makeWithState(0, (now, input: In, retries) => {
    const answer = delay(retries + 1, input)
    // an `async` delay function answers a Promise, which no wait could come from: retries with none, back to back,
    // are the worst reading of it, so it is a defect that says why
    if (Predicate.isPromiseLike(answer)) {
      throw new TypeError(
        "Backoff.fromDelay: the delay function returned a Promise; it must answer a duration at once (it cannot be async)"
      )
    }
    const decoded = Duration.decodeUnknown(answer)
    const millis = decoded._tag === "Some" ? Duration.toMillis(decoded.value) : NaN
    // a delay that is not one (NaN, negative, not a duration) is no wait; an infinite one is as long as a timer holds
    const delayMillis = millis > 0 ? Math.ceil(Math.min(millis, maxTimerMillis)) : 0
    return Effect.succeed(
      [
        retries + 1,
        Duration.millis(delayMillis),
        ScheduleDecision.continueWith(Interval.after(now + delayMillis))
      ] as const
    )
  })

interface BoundedState extends ElapsedState {
  readonly inner: unknown
  readonly retries: number
}

/** @internal */
export const bounded = <Out, In, R>(
  schedule: Schedule.Schedule<Out, In, R>,
  options: Backoff.BoundedOptions
): Schedule.Schedule<Duration.Duration, In, R> => {
  checkOptions("Backoff.bounded", options)
  checkNonNegative("Backoff.bounded", "maxDelay", options.maxDelay)
  checkNonNegative("Backoff.bounded", "maxElapsed", options.maxElapsed)
  const capMillis = Math.min(
    maxTimerMillis,
    options.maxDelay === undefined
      ? Infinity
      : Duration.toMillis(timerDuration("Backoff.bounded", "maxDelay", options.maxDelay, true))
  )
  const maxAttempts = options.maxAttempts ?? Infinity
  if (
    typeof maxAttempts !== "number" || !(maxAttempts >= 1) ||
    !(Number.isInteger(maxAttempts) || maxAttempts === Infinity)
  ) {
    throw new RangeError("Backoff.bounded: maxAttempts must be an integer >= 1 (or Infinity)")
  }
  const maxElapsedMillis = options.maxElapsed === undefined
    ? Infinity
    : optionMillis("Backoff.bounded", "maxElapsed", options.maxElapsed)
  return withElapsedLimit(
    makeBounded(schedule, capMillis, maxAttempts, maxElapsedMillis),
    maxElapsedMillis,
    () => makeBounded(schedule, capMillis, maxAttempts, Infinity)
  )
}

const makeBounded = <Out, In, R>(
  schedule: Schedule.Schedule<Out, In, R>,
  capMillis: number,
  maxAttempts: number,
  maxElapsedMillis: number
): Schedule.Schedule<Duration.Duration, In, R> => {
  const initial: BoundedState = { inner: schedule.initial, retries: 0, startMillis: undefined }
  const done = (state: BoundedState) => Effect.succeed([state, Duration.zero, ScheduleDecision.done] as const)
  return Schedule.makeWithState(initial, (now, input: In, state) => {
    if (state.retries + 1 >= maxAttempts) return done(state)
    return Effect.flatMap(schedule.step(now, input, state.inner), ([inner, , decision]) => {
      if (ScheduleDecision.isDone(decision)) return done(state)
      const startMillis = state.startMillis ?? now
      const wanted = Math.max(0, Intervals.start(decision.intervals) - now)
      const capped = Math.min(capMillis, wanted)
      // whole milliseconds, rounded down as `exponential`'s are, but a positive wait never becomes none (a jittered
      // inner delay of 0.8 ms was no wait at all): under a millisecond it is one, unless the cap itself is below one
      const delayMillis = capped >= 1 ? Math.floor(capped) : capped > 0 && capMillis >= 1 ? 1 : 0
      if (now - startMillis + delayMillis > maxElapsedMillis) return done(state)
      return Effect.succeed(
        [
          { inner, retries: state.retries + 1, startMillis },
          Duration.millis(delayMillis),
          ScheduleDecision.continueWith(Interval.after(now + delayMillis))
        ] as const
      )
    })
  })
}
