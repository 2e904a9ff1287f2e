import * as Backoff from "@sturdy/policy/Backoff"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Random from "effect/Random"
import type * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as Intervals from "effect/ScheduleIntervals"
import type * as ScheduleKit from "../ScheduleKit.js"

/** @internal */
export const delays = <Out, R>(
  // `any` input: the schedule is stepped with the caller's input (or `undefined`) exactly as `Effect.retry` would
  // step it with an error; the public overloads keep the pairing of schedule and input typed.
  schedule: Schedule.Schedule<Out, any, R>,
  options: ScheduleKit.DelaysOptions
): Effect.Effect<Array<number>, never, R> => {
  // a NaN count would answer [], a fraction one delay more, and Infinity never end on a schedule that never stops:
  // each is the caller's bug, reported at once as the laws report theirs
  if (!Number.isSafeInteger(options.attempts) || options.attempts < 0) {
    throw new RangeError(`ScheduleKit.delays: attempts must be an integer ≥ 0, got ${options.attempts}`)
  }
  if (typeof options.seed !== "number" || !Number.isFinite(options.seed)) {
    throw new RangeError(`ScheduleKit.delays: seed must be a finite number, got ${options.seed}`)
  }
  return Effect.gen(function*() {
    const result: Array<number> = []
    let state = schedule.initial
    // Stepping from `now = 0` and advancing by each delay is what `Schedule.driver` does under a TestClock when the
    // attempts themselves take no time; `upTo`/elapsed-based schedules therefore see the same elapsed time.
    let now = 0
    while (result.length < options.attempts) {
      const [nextState, , decision] = yield* schedule.step(now, options.input, state)
      if (ScheduleDecision.isDone(decision)) break
      const delay = Math.max(0, Intervals.start(decision.intervals) - now)
      result.push(delay)
      now += delay
      state = nextState
    }
    return result
  }).pipe(Effect.withRandom(Random.make(options.seed)))
}

/** @internal */
export const delaysSync = <Out>(
  schedule: Schedule.Schedule<Out, any, never>,
  options: ScheduleKit.DelaysOptions
): Array<number> => Effect.runSync(delays(schedule, options))

/** @internal */
export class LawViolation extends Error {
  readonly law: string
  readonly seed: number | undefined
  readonly delays: ReadonlyArray<number>
  constructor(law: string, detail: string, seed: number | undefined, delays: ReadonlyArray<number>) {
    const seedText = seed === undefined ? "" : ` (seed ${seed})`
    super(`schedule law "${law}" violated${seedText}: ${detail}; delays (ms): [${formatDelays(delays)}]`)
    this.name = "LawViolation"
    this.law = law
    this.seed = seed
    this.delays = delays
  }
}

const formatDelays = (delays: ReadonlyArray<number>): string => {
  const shown = delays.slice(0, 24).map((delay) => String(Math.round(delay * 1000) / 1000))
  return delays.length > 24 ? `${shown.join(", ")}, ... (${delays.length} in all)` : shown.join(", ")
}

const defaultAttempts = 32

// Schedules express delays as absolute interval starts, so `start - now` carries floating-point noise of a few ulps;
// a law must not report 10.000000000000002ms against a 10ms cap.
const tolerance = 1e-6

// A NaN bound or count turns every comparison false, so a law given one could never fail: it would pass any
// schedule. Bad arguments are the caller's bug, reported at once rather than as a passing property.
const requireBound = (law: string, name: string, value: number): void => {
  if (Number.isNaN(value) || typeof value !== "number" || value < 0) {
    throw new RangeError(`ScheduleKit.laws.${law}: ${name} must be a number ≥ 0 (Infinity for none), got ${value}`)
  }
}

const requireCount = (law: string, name: string, value: number, min: number): void => {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`ScheduleKit.laws.${law}: ${name} must be an integer ≥ ${min}, got ${value}`)
  }
}

const requireSeed = (law: string, seed: number): void => {
  if (typeof seed !== "number" || !Number.isFinite(seed)) {
    throw new RangeError(`ScheduleKit.laws.${law}: seed must be a finite number, got ${seed}`)
  }
}

const lawAttempts = (law: string, options: ScheduleKit.LawOptions | ScheduleKit.EnvelopeOptions): number => {
  const attempts = options.attempts ?? defaultAttempts
  requireCount(law, "attempts", attempts, 1)
  return attempts
}

const run = <Out>(
  law: string,
  schedule: Schedule.Schedule<Out, any, never>,
  options: ScheduleKit.LawOptions,
  attempts?: number
) => {
  requireSeed(law, options.seed)
  return delaysSync(schedule, {
    attempts: attempts ?? lawAttempts(law, options),
    seed: options.seed,
    input: options.input
  })
}

// `!(delay <= bound)` rather than `delay > bound`: a NaN delay is not a delay at all, and must fail the law.
const exceeds = (value: number, bound: number): boolean => !(value <= bound + tolerance)

/** @internal */
export const capHolds = <Out>(
  schedule: Schedule.Schedule<Out, any, never>,
  cap: number,
  options: ScheduleKit.LawOptions
): true => {
  requireBound("capHolds", "cap", cap)
  const sequence = run("capHolds", schedule, options)
  const index = sequence.findIndex((delay) => exceeds(delay, cap))
  if (index >= 0) {
    throw new LawViolation(
      "capHolds",
      `delay #${index + 1} is ${sequence[index]}ms, above the cap of ${cap}ms`,
      options.seed,
      sequence
    )
  }
  return true
}

/** @internal */
export const attemptsBounded = <Out>(
  schedule: Schedule.Schedule<Out, any, never>,
  maxRetries: number,
  options: ScheduleKit.LawOptions
): true => {
  requireCount("attemptsBounded", "maxRetries", maxRetries, 0)
  // One step past the bound is enough to see whether the schedule stops.
  const sequence = run("attemptsBounded", schedule, options, maxRetries + 1)
  if (sequence.length > maxRetries) {
    throw new LawViolation(
      "attemptsBounded",
      `the schedule asked for retry #${sequence.length} but at most ${maxRetries} retries are allowed`,
      options.seed,
      sequence
    )
  }
  return true
}

/** @internal */
export const totalBounded = <Out>(
  schedule: Schedule.Schedule<Out, any, never>,
  maxTotal: number,
  options: ScheduleKit.LawOptions
): true => {
  requireBound("totalBounded", "maxTotal", maxTotal)
  const sequence = run("totalBounded", schedule, options)
  let total = 0
  for (let index = 0; index < sequence.length; index++) {
    total += sequence[index]
    if (exceeds(total, maxTotal)) {
      throw new LawViolation(
        "totalBounded",
        `the delays sum to ${total}ms after retry #${index + 1}, above the bound of ${maxTotal}ms`,
        options.seed,
        sequence
      )
    }
  }
  return true
}

/** @internal */
export const deterministic = <Out>(
  schedule: Schedule.Schedule<Out, any, never>,
  options: ScheduleKit.LawOptions
): true => {
  const first = run("deterministic", schedule, options)
  const second = run("deterministic", schedule, options)
  const index = firstDifference(first, second)
  if (index >= 0) {
    throw new LawViolation(
      "deterministic",
      `two runs with the same seed differ at delay #${index + 1}: ${first[index]}ms then ${second[index]}ms`,
      options.seed,
      first
    )
  }
  return true
}

const firstDifference = (left: ReadonlyArray<number>, right: ReadonlyArray<number>): number => {
  const length = Math.max(left.length, right.length)
  for (let index = 0; index < length; index++) {
    // Object.is: two NaN delays are the same outcome (another law rejects them), not a nondeterminism.
    if (!Object.is(left[index], right[index])) return index
  }
  return -1
}

/** @internal */
export const seedList = (seeds: number | ReadonlyArray<number>): ReadonlyArray<number> =>
  typeof seeds === "number" ? Array.from({ length: seeds }, (_, index) => index) : seeds

/** @internal */
export const envelope = <Out>(
  schedule: Schedule.Schedule<Out, any, never>,
  options: ScheduleKit.EnvelopeOptions
): Array<number> => {
  const upper: Array<number> = []
  const attempts = options.attempts ?? defaultAttempts
  if (!Number.isSafeInteger(attempts) || attempts < 0) {
    throw new RangeError(`ScheduleKit.envelope: attempts must be an integer ≥ 0, got ${attempts}`)
  }
  // a NaN count would answer [] (an envelope that bounds nothing passes any check on it), a fraction fewer seeds
  if (typeof options.seeds === "number" && !(Number.isSafeInteger(options.seeds) && options.seeds >= 0)) {
    throw new RangeError(`ScheduleKit.envelope: seeds must be an integer ≥ 0 or a list, got ${options.seeds}`)
  }
  // One `runSync` for all seeds: running an Effect has a fixed cost that dominates short schedules.
  const sequences = Effect.runSync(
    Effect.forEach(
      seedList(options.seeds),
      (seed) => delays(schedule, { attempts, seed, input: options.input })
    )
  )
  for (const sequence of sequences) {
    for (let index = 0; index < sequence.length; index++) {
      // Math.max keeps a NaN: the envelope of a schedule that yields NaN delays is NaN there, not a number.
      upper[index] = Math.max(upper[index] ?? 0, sequence[index])
    }
  }
  return upper
}

/** @internal */
export const envelopeMonotone = <Out>(
  schedule: Schedule.Schedule<Out, any, never>,
  options: ScheduleKit.EnvelopeOptions
): true => {
  const law = "envelopeMonotone"
  if (typeof options.seeds === "number") requireCount(law, "seeds", options.seeds, 1)
  const seeds = seedList(options.seeds)
  if (seeds.length === 0) throw new RangeError(`ScheduleKit.laws.${law}: seeds must not be an empty list`)
  for (const seed of seeds) requireSeed(law, seed)
  lawAttempts(law, options)
  const cap = options.maxDelay ?? Number.POSITIVE_INFINITY
  if (!(cap > 0)) throw new RangeError(`ScheduleKit.laws.${law}: maxDelay must be a number > 0, got ${cap}`)
  // The maximum of n uniform draws falls short of the true bound by about 1/(n+1) of it, so a flat stretch of a
  // sampled envelope (at the cap, or with factor 1) dips by that much; 12/n keeps such noise from failing the law.
  const slack = options.slack ?? Math.min(0.5, 12 / seeds.length)
  if (!(slack >= 0 && slack < 1)) {
    throw new RangeError(`ScheduleKit.laws.${law}: slack must be in [0, 1), got ${slack}`)
  }
  const upper = envelope(schedule, options)
  const floorAtCap = cap * (1 - slack) - tolerance
  let capReached = false
  for (let index = 0; index < upper.length; index++) {
    const delay = upper[index]
    if (Number.isNaN(delay)) {
      throw new LawViolation(law, `the largest delay #${index + 1} is NaN`, undefined, upper)
    }
    if (index === 0) continue
    const previous = upper[index - 1]
    capReached ||= previous >= floorAtCap
    // Once the envelope has reached the cap it may stay there (jitter just below the cap is not a decrease), but it
    // may not fall off it: a 2ⁿ that overflows after the cap collapses to ~0 and must be caught.
    if (capReached) {
      if (!(delay >= floorAtCap)) {
        throw new LawViolation(
          law,
          `the largest delay #${index + 1} over ${seeds.length} seeds is ${delay}ms, ` +
            `below the cap of ${cap}ms that an earlier delay reached`,
          undefined,
          upper
        )
      }
    } else if (!(delay >= previous * (1 - slack) - tolerance)) {
      throw new LawViolation(
        law,
        `the largest delay #${index + 1} over ${seeds.length} seeds is ${delay}ms, ` +
          `below the largest delay #${index} (${previous}ms)`,
        undefined,
        upper
      )
    }
  }
  return true
}

/** @internal */
export const seedArbitrary: FastCheck.Arbitrary<number> = FastCheck.integer({ min: 0, max: 0x7fffffff })

/** @internal */
export const jitterArbitrary: FastCheck.Arbitrary<ScheduleKit.Jitter> = FastCheck.constantFrom<ScheduleKit.Jitter>(
  "none",
  "full",
  "equal",
  "decorrelated"
)

/** @internal */
export const backoffConfigArbitrary = (constraints?: {
  readonly jitter?: ReadonlyArray<ScheduleKit.Jitter> | undefined
  readonly maxElapsed?: boolean | undefined
}): FastCheck.Arbitrary<ScheduleKit.BackoffConfig> =>
  FastCheck.record({
    base: FastCheck.integer({ min: 1, max: 2_000 }),
    factor: FastCheck.double({ min: 1, max: 4, noNaN: true, noDefaultInfinity: true }),
    capOverBase: FastCheck.integer({ min: 1, max: 200 }),
    jitter: constraints?.jitter === undefined ?
      jitterArbitrary :
      FastCheck.constantFrom(...constraints.jitter),
    maxAttempts: FastCheck.integer({ min: 1, max: 20 }),
    maxElapsed: constraints?.maxElapsed === false ?
      FastCheck.constant(undefined) :
      FastCheck.option(FastCheck.integer({ min: 1, max: 600_000 }), { nil: undefined })
  }).map(({ base, capOverBase, factor, jitter, maxAttempts, maxElapsed }) => ({
    baseDelay: base,
    factor,
    maxDelay: base * capOverBase,
    jitter,
    maxAttempts,
    maxElapsed
  }))

/** @internal */
export const backoffOptions = (config: ScheduleKit.BackoffConfig): Backoff.Options => ({
  baseDelay: Duration.millis(config.baseDelay),
  factor: config.factor,
  maxDelay: Duration.millis(config.maxDelay),
  jitter: config.jitter,
  maxAttempts: config.maxAttempts,
  maxElapsed: config.maxElapsed === undefined ? Duration.infinity : Duration.millis(config.maxElapsed)
})

/** @internal */
export const backoffSchedule = (config: ScheduleKit.BackoffConfig): Schedule.Schedule<Duration.Duration> =>
  Backoff.exponential(backoffOptions(config))

/** @internal */
export const backoffLaws = (config: ScheduleKit.BackoffConfig, options: ScheduleKit.LawOptions): true => {
  const schedule = backoffSchedule(config)
  const retries = config.maxAttempts - 1
  capHolds(schedule, config.maxDelay, options)
  attemptsBounded(schedule, retries, options)
  // no retry waits nothing, even under an infinite cap (Infinity × 0 would be NaN, refused as a bound)
  const capTotal = retries === 0 ? 0 : config.maxDelay * retries
  totalBounded(schedule, Math.min(config.maxElapsed ?? Number.POSITIVE_INFINITY, capTotal), options)
  return deterministic(schedule, options)
}
