import type * as Duration from "effect/Duration"

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
