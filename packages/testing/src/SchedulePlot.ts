/**
 * Pictures of a schedule: the min, median and max delay per retry over many seeds, as an SVG chart or as terminal
 * sparklines.
 *
 * @since 0.1.0
 */
import type * as Schedule from "effect/Schedule"
import * as internal from "./internal/schedulePlot.js"

/**
 * The spread of one retry's delay over the seeds that reached it (a schedule bounded by elapsed time may stop
 * earlier for some seeds; `count` says how many reached it). Delays are in milliseconds.
 *
 * @since 0.1.0
 * @category models
 */
export interface AttemptSummary {
  readonly attempt: number
  readonly count: number
  readonly min: number
  readonly median: number
  readonly max: number
}

/**
 * Options of {@link summary}: `seeds` is a count (seeds `0..n-1`) or the seeds themselves.
 *
 * @since 0.1.0
 * @category models
 */
export interface SummaryOptions<In = unknown> {
  readonly attempts: number
  readonly seeds: number | ReadonlyArray<number>
  readonly input?: In
}

/**
 * Steps the schedule once per seed and summarises each retry's delay. `attempts`, and `seeds` when a count, must be
 * integers ≥ 0 (and each seed a finite number): anything else throws a `RangeError`.
 *
 * @example
 * ```ts
 * import { Schedule } from "effect"
 * import { SchedulePlot } from "@sturdy/testing"
 *
 * const rows = SchedulePlot.summary(Schedule.jittered(Schedule.exponential("100 millis")), {
 *   attempts: 6,
 *   seeds: 500
 * })
 * ```
 * @since 0.1.0
 * @category summaries
 */
export const summary: <Out, In>(
  schedule: Schedule.Schedule<Out, In>,
  options: SummaryOptions<In>
) => Array<AttemptSummary> = internal.summary

/**
 * Options of {@link toSvg}.
 *
 * @since 0.1.0
 * @category models
 */
export interface SvgOptions {
  readonly width?: number | undefined
  readonly height?: number | undefined
  readonly title?: string | undefined
}

/**
 * Renders a summary as a standalone SVG: retry on x, delay on y, a min–max band and the min, median and max lines.
 * The title is escaped (a character XML cannot hold becomes U+FFFD). Rows must read as a summary does (attempts 1, 2,
 * …; finite delays ≥ 0 with min ≤ median ≤ max), and `width` and `height` must leave room inside the margins (more
 * than 170 and 90): anything else throws a `RangeError`.
 *
 * @example
 * ```ts
 * import { Schedule } from "effect"
 * import { SchedulePlot } from "@sturdy/testing"
 *
 * const svg = SchedulePlot.toSvg(
 *   SchedulePlot.summary(Schedule.jittered(Schedule.exponential("100 millis")), { attempts: 8, seeds: 200 }),
 *   { title: "exponential, jittered" }
 * )
 * ```
 * @since 0.1.0
 * @category rendering
 */
export const toSvg: (rows: ReadonlyArray<AttemptSummary>, options?: SvgOptions) => string = internal.toSvg

/**
 * One line of block characters (▁▂▃▄▅▆▇█), one per value, scaled to `max` (default: the largest value); a value
 * at or below 0 is ▁ and one at or above `max` is █. A value that is not finite, or a `max` that is not a finite number
 * ≥ 0, throws a `RangeError`.
 *
 * @example
 * ```ts
 * import { SchedulePlot } from "@sturdy/testing"
 *
 * SchedulePlot.sparkline([1, 2, 4, 8]) // "▂▃▅█"
 * ```
 * @since 0.1.0
 * @category rendering
 */
export const sparkline: (values: ReadonlyArray<number>, options?: { readonly max?: number | undefined }) => string =
  internal.sparkline

/**
 * Three sparklines (max, median, min) on a shared scale, each followed by its last value. Rows are checked as
 * {@link toSvg} checks them.
 *
 * @example
 * ```ts
 * import { Schedule } from "effect"
 * import { SchedulePlot } from "@sturdy/testing"
 *
 * console.log(SchedulePlot.toSparklines(SchedulePlot.summary(Schedule.exponential("1 second"), {
 *   attempts: 5,
 *   seeds: 1
 * })))
 * ```
 * @since 0.1.0
 * @category rendering
 */
export const toSparklines: (rows: ReadonlyArray<AttemptSummary>) => string = internal.toSparklines
