/**
 * Steps any `Schedule` under a seeded random generator and checks the laws a retry schedule should keep: the cap
 * holds, retries and total delay are bounded, the same seed gives the same delays, and the envelope grows until the
 * cap.
 *
 * @since 0.1.0
 */
import type * as Backoff from "@sturdy/policy/Backoff"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as FastCheck from "effect/FastCheck"
import type * as Schedule from "effect/Schedule"
import * as internal from "./internal/scheduleKit.js"

/**
 * Options for stepping a schedule: how many delays to take at most, the random seed, and the input given to each
 * step (for a retry schedule, the error).
 *
 * @since 0.1.0
 * @category models
 */
export interface DelaysOptions<In = unknown> {
  readonly attempts: number
  readonly seed: number
  readonly input?: In
}

/**
 * The delays (in milliseconds) a schedule asks for between attempts, stepped exactly as `Effect.retry` steps it
 * when attempts take no time, with `Random` seeded by `seed`. The sequence ends early when the schedule stops.
 * `attempts` must be an integer ≥ 0 and `seed` a finite number: anything else throws a `RangeError` when called (a
 * NaN count would answer `[]`, and `Infinity` never end on a schedule that never stops).
 *
 * @example
 * ```ts
 * import { Effect, Schedule } from "effect"
 * import { ScheduleKit } from "@sturdy/testing"
 *
 * const delays = Effect.runSync(ScheduleKit.delays(Schedule.exponential("100 millis"), { attempts: 3, seed: 1 }))
 * // [100, 200, 400]
 * ```
 * @since 0.1.0
 * @category stepping
 */
export const delays: {
  <Out, R>(schedule: Schedule.Schedule<Out, unknown, R>, options: DelaysOptions): Effect.Effect<Array<number>, never, R>
  <Out, In, R>(
    schedule: Schedule.Schedule<Out, In, R>,
    options: DelaysOptions<In> & { readonly input: In }
  ): Effect.Effect<Array<number>, never, R>
} = internal.delays

/**
 * The synchronous form of {@link delays} for schedules that need no services.
 *
 * @example
 * ```ts
 * import { Schedule } from "effect"
 * import { ScheduleKit } from "@sturdy/testing"
 *
 * ScheduleKit.delaysSync(Schedule.jittered(Schedule.spaced("1 second")), { attempts: 5, seed: 7 })
 * ```
 * @since 0.1.0
 * @category stepping
 */
export const delaysSync: {
  <Out>(schedule: Schedule.Schedule<Out, unknown>, options: DelaysOptions): Array<number>
  <Out, In>(schedule: Schedule.Schedule<Out, In>, options: DelaysOptions<In> & { readonly input: In }): Array<number>
} = internal.delaysSync

/**
 * The error a law throws: its message names the law, the seed and the offending delays, so a failing property
 * test reads as a counterexample.
 *
 * @since 0.1.0
 * @category errors
 */
export const LawViolation: new(
  law: string,
  detail: string,
  seed: number | undefined,
  delays: ReadonlyArray<number>
) => LawViolation = internal.LawViolation

/**
 * @since 0.1.0
 * @category errors
 */
export interface LawViolation extends Error {
  readonly law: string
  readonly seed: number | undefined
  readonly delays: ReadonlyArray<number>
}

/**
 * Options shared by the single-seed laws. `attempts` must be an integer ≥ 1 and `seed` a finite number; a law given
 * anything else throws a `RangeError` (a NaN count would make it pass any schedule).
 *
 * @since 0.1.0
 * @category models
 */
export interface LawOptions<In = unknown> {
  readonly seed: number
  /** How many delays to take (default 32). */
  readonly attempts?: number | undefined
  readonly input?: In
}

/**
 * Options of {@link laws.envelopeMonotone}: the seeds to take the maximum over (a count means `0..n-1`).
 *
 * @since 0.1.0
 * @category models
 */
export interface EnvelopeOptions<In = unknown> {
  readonly seeds: number | ReadonlyArray<number>
  readonly attempts?: number | undefined
  /**
   * Once the envelope reaches `maxDelay` (milliseconds) it may stay there, within `slack` below it, but never fall
   * below that again: an envelope that reaches the cap and then collapses (a 2ⁿ that overflows) fails the law.
   */
  readonly maxDelay?: number | undefined
  /**
   * The relative dip tolerated between neighbours, and below the cap (default `min(0.5, 12 / seeds)`): a maximum
   * over n seeds sits about 1/(n+1) below the true envelope, so a flat stretch (factor 1, or near the cap) can dip
   * by sampling error alone. Use many seeds to make the law sharp.
   */
  readonly slack?: number | undefined
  readonly input?: In
}

/**
 * The laws, each returning `true` or throwing a {@link LawViolation}; call them from `it.prop`. A delay that is not
 * a number (NaN) violates every law it reaches. Bounds must be numbers ≥ 0 (`Infinity` for none), `maxRetries` an
 * integer ≥ 0 and `seeds` a count ≥ 1 or a non-empty list; anything else throws a `RangeError`, since a NaN bound
 * would make the law pass vacuously.
 *
 * @example
 * ```ts
 * import { Schedule } from "effect"
 * import { ScheduleKit } from "@sturdy/testing"
 *
 * const schedule = Schedule.exponential("100 millis").pipe(
 *   Schedule.jittered,
 *   Schedule.intersect(Schedule.recurs(5))
 * )
 * ScheduleKit.laws.attemptsBounded(schedule, 5, { seed: 42 })
 * ScheduleKit.laws.deterministic(schedule, { seed: 42 })
 * ```
 * @since 0.1.0
 * @category laws
 */
export const laws: {
  /** Every delay is a number of at most `cap` milliseconds. */
  readonly capHolds: <Out, In>(schedule: Schedule.Schedule<Out, In>, cap: number, options: LawOptions<In>) => true
  /** The schedule stops after at most `maxRetries` delays. */
  readonly attemptsBounded: <Out, In>(
    schedule: Schedule.Schedule<Out, In>,
    maxRetries: number,
    options: LawOptions<In>
  ) => true
  /** The delays sum to at most `maxTotal` milliseconds. */
  readonly totalBounded: <Out, In>(
    schedule: Schedule.Schedule<Out, In>,
    maxTotal: number,
    options: LawOptions<In>
  ) => true
  /** Two runs with the same seed give the same delays. */
  readonly deterministic: <Out, In>(schedule: Schedule.Schedule<Out, In>, options: LawOptions<In>) => true
  /**
   * The maximum over seeds of delay n never decreases until it reaches the cap (`maxDelay`), and stays at the cap
   * once there.
   */
  readonly envelopeMonotone: <Out, In>(schedule: Schedule.Schedule<Out, In>, options: EnvelopeOptions<In>) => true
} = {
  capHolds: internal.capHolds,
  attemptsBounded: internal.attemptsBounded,
  totalBounded: internal.totalBounded,
  deterministic: internal.deterministic,
  envelopeMonotone: internal.envelopeMonotone
}

/**
 * The maximum over seeds of each delay: the upper edge of what a schedule can ask for. A `seeds` count that is not an
 * integer ≥ 0, or `attempts` that is not, throws a `RangeError` (a NaN count would answer `[]`, an envelope that
 * bounds nothing).
 *
 * @example
 * ```ts
 * import { Schedule } from "effect"
 * import { ScheduleKit } from "@sturdy/testing"
 *
 * ScheduleKit.envelope(Schedule.jittered(Schedule.exponential("1 second")), { seeds: 100, attempts: 6 })
 * ```
 * @since 0.1.0
 * @category stepping
 */
export const envelope: <Out, In>(schedule: Schedule.Schedule<Out, In>, options: EnvelopeOptions<In>) => Array<number> =
  internal.envelope

/**
 * How a backoff spreads its delays.
 *
 * @since 0.1.0
 * @category models
 */
export type Jitter = "none" | "full" | "equal" | "decorrelated"

/**
 * A plain backoff configuration (milliseconds), mirroring the options of `@sturdy/policy`'s `Backoff`.
 *
 * @since 0.1.0
 * @category models
 */
export interface BackoffConfig {
  readonly baseDelay: number
  readonly factor: number
  readonly maxDelay: number
  readonly jitter: Jitter
  /** Attempts in all, the first one included: at most `maxAttempts - 1` retries. */
  readonly maxAttempts: number
  readonly maxElapsed: number | undefined
}

/**
 * Random seeds for `Random.make`.
 *
 * @example
 * ```ts
 * import { ScheduleKit } from "@sturdy/testing"
 *
 * // it.prop("same seed, same delays", [ScheduleKit.seedArbitrary], ([seed]) => ...)
 * const arbitrary = ScheduleKit.seedArbitrary
 * ```
 * @since 0.1.0
 * @category arbitraries
 */
export const seedArbitrary: FastCheck.Arbitrary<number> = internal.seedArbitrary

/**
 * The four jitter modes.
 *
 * @example
 * ```ts
 * import { ScheduleKit } from "@sturdy/testing"
 *
 * const arbitrary = ScheduleKit.jitterArbitrary
 * ```
 * @since 0.1.0
 * @category arbitraries
 */
export const jitterArbitrary: FastCheck.Arbitrary<Jitter> = internal.jitterArbitrary

/**
 * Backoff configurations: base 1 ms to 2 s, factor 1 to 4, a cap from 1 to 200 times the base, any jitter (or
 * the ones given), 1 to 20 attempts, and an optional elapsed-time bound up to 10 minutes.
 *
 * @example
 * ```ts
 * import { ScheduleKit } from "@sturdy/testing"
 *
 * const unbounded = ScheduleKit.backoffConfigArbitrary({ jitter: ["full", "decorrelated"], maxElapsed: false })
 * ```
 * @since 0.1.0
 * @category arbitraries
 */
export const backoffConfigArbitrary: (constraints?: {
  readonly jitter?: ReadonlyArray<Jitter> | undefined
  /** `false` never sets `maxElapsed`. */
  readonly maxElapsed?: boolean | undefined
}) => FastCheck.Arbitrary<BackoffConfig> = internal.backoffConfigArbitrary

/**
 * The `Backoff.Options` a configuration stands for (`maxElapsed: undefined` means unbounded).
 *
 * @example
 * ```ts
 * import { ScheduleKit } from "@sturdy/testing"
 *
 * const options = ScheduleKit.backoffOptions({
 *   baseDelay: 100, factor: 2, maxDelay: 10_000, jitter: "full", maxAttempts: 5, maxElapsed: undefined
 * })
 * ```
 * @since 0.1.0
 * @category backoff
 */
export const backoffOptions: (config: BackoffConfig) => Backoff.Options = internal.backoffOptions

/**
 * The real `Backoff.exponential` schedule for a configuration.
 *
 * @example
 * ```ts
 * import { ScheduleKit } from "@sturdy/testing"
 *
 * const schedule = ScheduleKit.backoffSchedule({
 *   baseDelay: 100, factor: 2, maxDelay: 10_000, jitter: "equal", maxAttempts: 5, maxElapsed: 30_000
 * })
 * ```
 * @since 0.1.0
 * @category backoff
 */
export const backoffSchedule: (config: BackoffConfig) => Schedule.Schedule<Duration.Duration> = internal.backoffSchedule

/**
 * Every single-seed law for a configuration's Backoff schedule: the cap holds, at most `maxAttempts - 1` retries,
 * a total of at most `min(maxElapsed, maxDelay × retries)`, and the same seed gives the same delays.
 *
 * @example
 * ```ts
 * import { ScheduleKit } from "@sturdy/testing"
 *
 * // it.prop("Backoff keeps its laws", [ScheduleKit.backoffConfigArbitrary(), ScheduleKit.seedArbitrary],
 * //   ([config, seed]) => ScheduleKit.backoffLaws(config, { seed }))
 * ScheduleKit.backoffLaws(
 *   { baseDelay: 100, factor: 2, maxDelay: 1_000, jitter: "full", maxAttempts: 4, maxElapsed: undefined },
 *   { seed: 1 }
 * )
 * ```
 * @since 0.1.0
 * @category laws
 */
export const backoffLaws: (config: BackoffConfig, options: LawOptions) => true = internal.backoffLaws
