import * as Duration from "effect/Duration"
import * as Either from "effect/Either"

const units: Record<string, number> = {
  ms: 1,
  millis: 1,
  milli: 1,
  millisecond: 1,
  milliseconds: 1,
  s: 1_000,
  sec: 1_000,
  secs: 1_000,
  second: 1_000,
  seconds: 1_000,
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000
}

const pattern = /^(\d+(?:\.\d+)?)\s*([a-z]+)$/

/** @internal */
export const parse = (input: string): Either.Either<Duration.Duration, string> => {
  const text = input.trim().toLowerCase()
  if (text === "infinity" || text === "none") return Either.right(Duration.infinity)
  const match = pattern.exec(text)
  if (match === null) {
    return Either.left(`invalid duration "${input}" (expected e.g. 500ms, 2s, 1.5m, 1h)`)
  }
  const factor = units[match[2]]
  if (factor === undefined) {
    return Either.left(`invalid duration unit in "${input}" (use ms, s, m or h)`)
  }
  const millis = Math.round(Number(match[1]) * factor)
  // digits past what a double holds read as Infinity: a finite-looking duration must not mean "no limit"
  if (!Number.isFinite(millis)) {
    return Either.left(`invalid duration "${input}" (too large; "none" for no limit)`)
  }
  return Either.right(Duration.millis(millis))
}

/** @internal */
export const format = (millis: number): string => {
  if (!Number.isFinite(millis)) return "∞"
  // the unit is chosen after rounding: 999.6 ms shows as "1s" and 59,950 ms as "1m", not "1000ms" and "60s"
  if (Math.round(millis) < 1_000) return `${Math.round(millis)}ms`
  const seconds = trim(millis / 1_000)
  if (Number(seconds) < 60) return `${seconds}s`
  return `${trim(millis / 60_000)}m`
}

const trim = (value: number): string => {
  const fixed = value.toFixed(value < 10 ? 2 : 1)
  return fixed.replace(/\.?0+$/, "")
}
