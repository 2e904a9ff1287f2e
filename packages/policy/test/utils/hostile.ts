import { expect } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Option from "effect/Option"
import { advance } from "./advance.js"

/**
 * Hostile option values and a judge of what a constructor made of one (the `HostileOptions` suites of each package).
 * A constructor given a value must either refuse it with a `RangeError` or `TypeError` whose message names the option,
 * or accept it and answer a call on the TestClock with a documented outcome: no hang, no other defect, and no value
 * outside the option's documented domain accepted.
 */

/** The error a throwing getter throws: passed through unchanged, it is the caller's own, not a defect of ours. */
export class GetterError extends Error {
  constructor() {
    super("getter threw")
  }
}

const throwingValueOf = {
  valueOf: () => {
    throw new GetterError()
  }
}

/** Values every option is tried with, whatever its type. */
export const named: ReadonlyArray<unknown> = [
  "5",
  "",
  "5 parsecs",
  "1000000 days",
  "-5 seconds",
  "1 second",
  {},
  [1],
  [1, 2],
  () => 1,
  Symbol("hostile"),
  5n,
  -5n,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  -0,
  0,
  -1,
  2.5,
  1e-9,
  Number.MAX_SAFE_INTEGER + 2,
  null,
  true,
  false,
  throwingValueOf,
  Object.freeze({}),
  JSON.parse("{\"__proto__\": {\"polluted\": 1}, \"constructor\": {\"prototype\": {\"polluted\": 1}}}")
]

/** A hostile value: a named one, or any double, small integer, short string or bigint. */
export const hostileValue: FastCheck.Arbitrary<unknown> = FastCheck.oneof(
  { weight: 4, arbitrary: FastCheck.constantFrom(...named) },
  { weight: 1, arbitrary: FastCheck.double() },
  { weight: 1, arbitrary: FastCheck.integer({ min: -3, max: 12 }) },
  { weight: 1, arbitrary: FastCheck.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: FastCheck.bigInt({ min: -5n, max: 5n }) }
)

/** How the options object itself is given: plain, frozen, with prototype-polluting keys, or with a throwing getter. */
export type Wrapper = "plain" | "frozen" | "polluting" | "getter"
export const wrapper: FastCheck.Arbitrary<Wrapper> = FastCheck.constantFrom("plain", "frozen", "polluting", "getter")

/** `{ ...base, [field]: value }` in the given wrapper. */
export const optionsWith = (
  wrap: Wrapper,
  base: Readonly<Record<string, unknown>>,
  field: string,
  value: unknown
): any => {
  switch (wrap) {
    case "plain":
      return { ...base, [field]: value }
    case "frozen":
      return Object.freeze({ ...base, [field]: value })
    case "polluting": {
      const options = JSON.parse(
        "{\"__proto__\": {\"polluted\": 1}, \"constructor\": {\"prototype\": {\"polluted\": 1}}}"
      )
      Object.assign(options, base)
      options[field] = value
      return options
    }
    case "getter":
      return Object.defineProperty({ ...base }, field, {
        enumerable: true,
        get: () => {
          throw new GetterError()
        }
      })
  }
}

/** A duration input Effect reads as what it says: decodable, not NaN, not negative. */
export const isDurationLike = (value: unknown): boolean => {
  if (typeof value === "number") return value >= 0
  if (typeof value === "bigint") return value >= 0n
  if (typeof value === "string") return !value.trim().startsWith("-") && Option.isSome(Duration.decodeUnknown(value))
  if (Array.isArray(value)) {
    return value.length === 2 && value.every((part) => typeof part === "number" && part >= 0) &&
      Option.isSome(Duration.decodeUnknown(value))
  }
  return Duration.isDuration(value)
}

export const isCount = (min: number, infinite = false) => (value: unknown): boolean =>
  typeof value === "number" && ((Number.isInteger(value) && value >= min) || (infinite && value === Infinity))

export interface Case {
  /** the option's name, as the refusal must name it */
  readonly option: string
  /** the values the option's doc allows: any other that is accepted was read as something it does not say */
  readonly allows: (value: unknown) => boolean
  /** an option without a default: `null` is not read as unset */
  readonly required?: boolean
  /** tags of the typed failures the call may end with */
  readonly failures?: ReadonlyArray<string>
}

const tagOf = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "_tag" in error ? String(error._tag) : undefined

/**
 * Runs `call` (the constructor applied to `value`, then a call through what it made) on the TestClock, 15 virtual
 * minutes a step for at most 2 virtual days, and checks the outcome against `c`.
 */
export const judge = <A, E>(c: Case, value: unknown, call: () => Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    // `advance` answers the fiber's Exit: of an Option (None when the call was still running after 2 days) of the call's
    const timed = yield* advance(
      Effect.exit(Effect.suspend(call)).pipe(Effect.timeoutOption("2 days")),
      200,
      "15 minutes"
    )
    const label = `${c.option} <- ${describeValue(value)}`
    expect(Exit.isSuccess(timed), label).toBe(true)
    if (!Exit.isSuccess(timed)) return
    const outcome = timed.value
    expect(Option.isSome(outcome), `${label}: the call never completed`).toBe(true)
    if (Option.isNone(outcome)) return
    const exit = outcome.value
    expect(({} as Record<string, unknown>).polluted, `${label}: Object.prototype was polluted`).toBeUndefined()
    // `null` where `undefined` is allowed is read as unset, as `??` reads it, in every module
    const allowed = c.allows(value) || (value === null && c.required !== true)
    if (Exit.isSuccess(exit)) {
      expect(allowed, `${label}: accepted a value outside the option's domain`).toBe(true)
      return
    }
    const defects = Cause.defects(exit.cause)
    const failures = Cause.failures(exit.cause)
    if (defects.length > 0) {
      const defect = defects.pipe((chunk) => [...chunk][0])
      if (defect instanceof GetterError) return
      expect(defect instanceof RangeError || defect instanceof TypeError, `${label}: untyped defect ${String(defect)}`)
        .toBe(true)
      const message = (defect as Error).message
      expect(message, label).toContain(c.option)
      // a message of the engine's that happens to hold the option's name ("resolved.while is not a function") is no
      // refusal: it comes from deep inside, at the first use
      expect(message, label).not.toMatch(/is not a function|Cannot read prop|Cannot convert|is not iterable|call stack/)
      return
    }
    if (failures.length > 0) {
      const failure = [...failures][0]
      expect(allowed, `${label}: accepted a value outside the option's domain`).toBe(true)
      expect(["Boom", ...(c.failures ?? [])], `${label}: undocumented failure ${String(failure)}`).toContain(
        tagOf(failure)
      )
      return
    }
    // interrupted only
    expect(Cause.isInterruptedOnly(exit.cause), `${label}: ${Cause.pretty(exit.cause)}`).toBe(false)
  })

/** The failure of the effects the suites call through a policy. */
export class Boom extends Error {
  readonly _tag = "Boom"
}

export const describeValue = (value: unknown): string => {
  if (typeof value === "symbol" || typeof value === "bigint") {
    return `${String(value)}${typeof value === "bigint" ? "n" : ""}`
  }
  if (typeof value === "function") return "a function"
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return "an object that cannot be shown"
  }
}

/** What `effect` died with (or threw while being built), for the named regression tests of refused options. */
export const defectOf = <A, E, R>(effect: () => Effect.Effect<A, E, R>): Effect.Effect<unknown, never, R> =>
  Effect.map(Effect.exit(Effect.suspend(effect)), (exit) => Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined)
