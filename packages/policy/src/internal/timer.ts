import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"

// a reading this close under a whole millisecond is that millisecond (see monotonicMillis)
const slackMillis = 1e-3

/**
 * @internal Milliseconds on the clock's monotonic reading (`unsafeCurrentTimeNanos`), for windows of past events that
 * only this process reads: a wall-clock step (an NTP correction, a clock set back by an hour) then neither keeps old
 * history counting nor drops new outcomes into the past. Under the `TestClock` it is the test's time, as the
 * wall-clock reading is. Whole milliseconds, as the wall-clock reading: the durations made from it (an answer's age,
 * a hedge's elapsed time) are shown and compared in milliseconds.
 */
export const monotonicMillis = (clock: Clock.Clock): number =>
  // A clock may make its nanoseconds from milliseconds in floating point (Effect's TestClock: `millis * 1e6`), which
  // falls up to a few hundred nanoseconds short of the whole millisecond, and nanoseconds since the epoch (about
  // 1.8e18) read as a double are only good to 256 ns: a reading within 1 µs of the next millisecond is that
  // millisecond. (Floored without the slack, a TestClock set to `Date.now()` read one whole millisecond in eight as
  // the one before: a hedge's timer seemed to fire early and waited 1 ms more.) Doubles, not bigints: the retry
  // budget reads this on every call.
  Math.floor(Number(clock.unsafeCurrentTimeNanos()) / 1_000_000 + slackMillis)

/** @internal {@link monotonicMillis} of the fiber's clock. */
export const currentMonotonicMillis: Effect.Effect<number> = Effect.clockWith((clock) =>
  Effect.sync(() => monotonicMillis(clock))
)

/**
 * @internal Forks `self` (a timer, a loop) as a daemon that an interruption stops whatever the caller's mask: a fiber
 * inherits its parent's interruptibility, so one forked inside `uninterruptibleMask` or an `acquire` would ignore the
 * interruption meant to stop it and run to its end (a loop for ever).
 */
export const forkDaemonInterruptible = <A, E, R>(
  self: Effect.Effect<A, E, R>
): Effect.Effect<Fiber.RuntimeFiber<A, E>, never, R> => Effect.forkDaemon(Effect.interruptible(self))

/**
 * @internal Runs `timed` (a bound, a race, whose timed part is made interruptible so the bound can stop it under a
 * caller's mask) so that the caller's mask still holds against any interruption from outside. An uninterruptible
 * fiber that receives an interruption holds it off but passes it on to the fibers it started (the timeout's or the
 * race's), and the interruptible part would take it. Under a mask, `timed` therefore runs in a daemon fiber of its
 * own, joined: only the bound reaches it, and the caller gets the interruption when its region ends. An
 * interruptible caller runs `timed` as it is (no fiber more): an interruption ends it at once.
 */
export const shieldedFromCaller = <A, E, R>(timed: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.checkInterruptible((interruptible) =>
    interruptible ? timed : Effect.flatMap(Effect.forkDaemon(timed), Fiber.join)
  )

/** @internal The longest delay a timer can hold (2^31 − 1 ms); longer sleeps would never wake. */
export const maxTimerMillis = 2 ** 31 - 1

/**
 * @internal Sleeps `millis` on the fiber's Clock in steps a timer can hold: Effect's live Clock sets no timer at all
 * for a longer sleep (Node would fire it at once), so one such sleep would never wake. A wait that long comes from
 * outside (a server's `Retry-After`, a rate limit's long window), not from an option checked when it was set.
 */
export const sleepMillis = (millis: number): Effect.Effect<void> =>
  millis <= maxTimerMillis
    ? Effect.sleep(Duration.millis(millis))
    : Effect.zipRight(
      Effect.sleep(Duration.millis(maxTimerMillis)),
      Effect.suspend(() => sleepMillis(millis - maxTimerMillis))
    )

/** @internal A duration option a timer can hold, or a `RangeError` naming the field (a negative one too). */
export const timerDuration = (
  owner: string,
  field: string,
  input: Duration.DurationInput,
  allowInfinite = false
): Duration.Duration => {
  // the common case, on paths that run per call: a Duration already within bounds
  if (Duration.isDuration(input) && Duration.toMillis(input) <= maxTimerMillis) return input
  const decoded = Duration.decodeUnknown(input)
  if (Option.isNone(decoded)) throw new RangeError(`${owner}: ${field} is not a duration`)
  checkNonNegative(owner, field, input)
  const millis = Duration.toMillis(decoded.value)
  if (millis === Infinity && allowInfinite) return decoded.value
  if (!(millis <= maxTimerMillis)) {
    // `Duration.format` converts to nanoseconds, which overflows (a BigInt of Infinity) past about 1.8e302 ms
    const shown = Number.isFinite(millis * 1_000_000) ? Duration.format(decoded.value) : `${millis} ms`
    throw new RangeError(`${owner}: ${field} (${shown}) exceeds what a timer can hold (2^31 − 1 ms, about 24.8 days)`)
  }
  return decoded.value
}

/**
 * @internal The milliseconds of a duration option, or a `RangeError` naming the field when it is not a duration
 * (`"1e3 millis"` type-checks as a `DurationInput`, but Effect cannot read it and throws a bare `Error`).
 */
export const optionMillis = (owner: string, field: string, input: Duration.DurationInput): number =>
  Duration.toMillis(optionDuration(owner, field, input))

/** @internal A duration option decoded, or a `RangeError` naming the field when it is not a duration. */
export const optionDuration = (owner: string, field: string, input: Duration.DurationInput): Duration.Duration => {
  if (Duration.isDuration(input)) return input
  const decoded = Duration.decodeUnknown(input)
  if (Option.isNone(decoded)) throw new RangeError(`${owner}: ${field} (${String(input)}) is not a duration`)
  return decoded.value
}

/**
 * @internal Throws a `RangeError` naming the field when `input` is a finite duration longer than a timer can hold;
 * anything else (an infinite duration, or an input that is not a duration) is left to the caller.
 */
export const checkTimer = (owner: string, field: string, input: Duration.DurationInput): void => {
  if (typeof input === "number" && input <= maxTimerMillis) return
  if (Duration.isDuration(input) && Duration.toMillis(input) <= maxTimerMillis) return
  const decoded = Duration.decodeUnknown(input)
  if (Option.isSome(decoded) && Duration.isFinite(decoded.value)) timerDuration(owner, field, decoded.value)
}

const negativeUnits = /^\s*(-\d+(?:\.\d+)?)\s+[a-z]+\s*$/i

/**
 * @internal Throws a `RangeError` naming the field when `input` is a `NaN` number (or a pair holding one), which
 * Effect's `Duration` reads as zero: a number parsed from an unset setting (`Number(undefined)`) would mean "no time".
 */
export const checkNotNaN = (owner: string, field: string, input: Duration.DurationInput | undefined): void => {
  if (
    (typeof input === "number" && Number.isNaN(input)) ||
    (Array.isArray(input) && (Number.isNaN(input[0]) || Number.isNaN(input[1])))
  ) {
    throw new RangeError(`${owner}: ${field} (${String(input)}) is not a duration`)
  }
}

/**
 * @internal Throws a `RangeError` naming the field when `input` is not a duration at all: a `NaN` (see
 * {@link checkNotNaN}), or a string Effect cannot read (`"1e3 millis"`, `"200"`), which `Duration.decode` would only
 * refuse when the effect runs, with an `Error` that names nothing.
 */
export const checkIsDuration = (owner: string, field: string, input: Duration.DurationInput | undefined): void => {
  checkNotNaN(owner, field, input)
  if (input !== undefined && Option.isNone(Duration.decodeUnknown(input))) {
    throw new RangeError(`${owner}: ${field} (${String(input)}) is not a duration`)
  }
}

/**
 * @internal Throws a `RangeError` naming the field when `input` is a negative duration, or a `NaN` number: Effect's
 * `Duration` reads `-1`, `-1n`, `"-5 seconds"`, `[-1, 0]` and `NaN` as zero, which would silently turn a typo, or a
 * number parsed from an unset setting (`Number(undefined)`), into "no wait" (resilience4j's builders and p-retry refuse
 * them too).
 */
export const checkNonNegative = (owner: string, field: string, input: Duration.DurationInput | undefined): void => {
  if (input === undefined || Duration.isDuration(input)) return
  checkNotNaN(owner, field, input)
  const negative = typeof input === "number"
    ? input < 0
    : typeof input === "bigint"
    ? input < BigInt(0)
    : typeof input === "string"
    ? Number(negativeUnits.exec(input)?.[1] ?? 0) < 0
    : Array.isArray(input)
    ? input[0] < 0 || input[1] < 0
    : false
  if (negative) throw new RangeError(`${owner}: ${field} (${String(input)}) must not be negative`)
}
