import * as Deadline from "@sturdy/policy/Deadline"
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"

const negativeUnits = /^\s*(-\d+(?:\.\d+)?)\s+[a-z]+\s*$/i

/**
 * Whether a duration input is negative: Effect's `Duration` reads `-1`, `-1n`, `"-5 seconds"` or `[-1, 0]` as zero,
 * so a typo would silently mean "no wait".
 * @internal
 */
export const isNegative = (input: Duration.DurationInput): boolean =>
  typeof input === "number"
    ? input < 0
    : typeof input === "bigint"
    ? input < BigInt(0)
    : typeof input === "string"
    ? Number(negativeUnits.exec(input)?.[1] ?? 0) < 0
    : Array.isArray(input)
    ? input[0] < 0 || input[1] < 0
    : false

/**
 * Whether a duration input is `NaN` (a number parsed from an unset setting), which Effect reads as zero.
 * @internal
 */
export const isNaNInput = (input: Duration.DurationInput): boolean =>
  typeof input === "number"
    ? Number.isNaN(input)
    : Array.isArray(input) && (Number.isNaN(input[0]) || Number.isNaN(input[1]))

/**
 * How an option's bad value is shown in its problem: a number as it is, anything else by its type only (a string may
 * be whatever an environment variable held, a secret too).
 * @internal
 */
export const shown = (value: unknown): string =>
  typeof value === "number"
    ? ` (got ${String(value)})`
    : ` (got a value of type ${value === null ? "null" : typeof value})`

/**
 * A duration option of a streaming or polling module, checked: a duration (not negative, not `NaN`), positive unless
 * `allowZero`, at most 2^31 − 1 ms (a timer holds no more), and when infinite: returned (`"accept"`: no limit),
 * `undefined` (`"none"`: the option's "no limit" is its absence) or refused (`"refuse"`). A problem names the field;
 * `undefined` is returned with it.
 * @internal
 */
export const checkDuration = (
  field: string,
  value: unknown,
  options: { readonly allowZero: boolean; readonly infinite: "accept" | "none" | "refuse" },
  problems: Array<string>
): Duration.Duration | undefined => {
  const decoded = Option.getOrUndefined(Duration.decodeUnknown(value))
  if (
    decoded === undefined || isNegative(value as Duration.DurationInput) || isNaNInput(value as Duration.DurationInput)
  ) {
    problems.push(`${field} is not a ${options.allowZero ? "non-negative" : "positive"} duration${shown(value)}`)
    return undefined
  }
  if (!Duration.isFinite(decoded)) {
    if (options.infinite === "refuse") problems.push(`${field} must be finite${shown(value)}`)
    return options.infinite === "accept" ? decoded : undefined
  }
  const millis = Duration.toMillis(decoded)
  if (!options.allowZero && !(millis > 0)) {
    problems.push(`${field} must be a positive duration${shown(value)}`)
    return undefined
  }
  if (millis > Deadline.maxTimerMillis) {
    problems.push(`${field} must be at most 2^31 - 1 ms (about 24.8 days)${shown(value)}`)
    return undefined
  }
  return decoded
}
