import * as FileSystem from "@effect/platform/FileSystem"
import * as Backoff from "@sturdy/policy/Backoff"
import * as SchedulePlot from "@sturdy/testing/SchedulePlot"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Schedule from "effect/Schedule"
import * as durations from "./duration.js"
import { CommandFailed } from "./errors.js"
import * as exitCode from "./exitCode.js"
import * as table from "./table.js"

/** The parsed command line of `sturdy schedule`. */
export interface Input {
  readonly baseDelay: Duration.Duration
  readonly factor: number
  readonly maxDelay: Duration.Duration
  readonly jitter: Backoff.Jitter
  readonly attempts: number
  readonly seed: Option.Option<number>
  readonly seeds: Option.Option<number>
  readonly plot: Option.Option<string>
}

const usage = (detail: string) => new CommandFailed({ code: exitCode.codes.Usage, detail })

/** The delay table of a backoff: min, median and max over seeds per retry, a sparkline, and an optional SVG. */
export const run = (input: Input): Effect.Effect<void, CommandFailed, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    if (input.attempts < 2 || input.attempts > 100) {
      return yield* usage(`--attempts must be between 2 and 100 (attempts include the first), got ${input.attempts}`)
    }
    // named by the flag the user gave (Backoff's own messages name its options: `baseDelay`, `factor`)
    if (!Duration.isFinite(input.baseDelay)) return yield* usage(`--base-delay must be finite, got none`)
    if (!(Number.isFinite(input.factor) && input.factor >= 1)) {
      return yield* usage(`--factor must be a finite number of at least 1, got ${input.factor}`)
    }
    const seedCount = Option.getOrElse(input.seeds, () => Option.isSome(input.seed) ? 1 : 1000)
    if (seedCount < 1 || seedCount > 100_000) {
      return yield* usage(`--seeds must be between 1 and 100000, got ${seedCount}`)
    }
    const firstSeed = Option.getOrElse(input.seed, () => 0)
    const seeds = Array.from({ length: seedCount }, (_, i) => firstSeed + i)
    const options: Backoff.Options = {
      baseDelay: input.baseDelay,
      factor: input.factor,
      maxDelay: input.maxDelay,
      jitter: input.jitter,
      maxAttempts: input.attempts
    }
    const schedule = yield* Effect.try({
      try: (): Schedule.Schedule<Duration.Duration> => Backoff.exponential(options),
      catch: (error) => usage(error instanceof Error ? error.message : String(error))
    })
    const rows = SchedulePlot.summary(schedule, { attempts: input.attempts - 1, seeds })
    const ms = (millis: number) => durations.format(millis)
    let cumulative = 0
    const lines = rows.map((row) => {
      const envelope = Backoff.envelope(options, row.attempt - 1)
      cumulative += row.median
      return [
        String(row.attempt),
        `#${row.attempt + 1}`,
        `${ms(Duration.toMillis(envelope.lower))}–${ms(Duration.toMillis(envelope.upper))}`,
        ms(row.min),
        ms(row.median),
        ms(row.max),
        ms(cumulative)
      ]
    })
    const title = `exponential backoff: baseDelay ${
      ms(Duration.toMillis(input.baseDelay))
    }, factor ${input.factor}, maxDelay ${
      ms(Duration.toMillis(input.maxDelay))
    }, jitter ${input.jitter}, ${input.attempts} attempts`
    yield* Console.log(`${title} (${seedCount === 1 ? `seed ${firstSeed}` : `${seedCount} seeds from ${firstSeed}`})`)
    yield* Console.log("")
    yield* Console.log(table.render(
      ["retry", "before", "envelope", "min", "median", "max", "elapsed (median)"],
      lines,
      new Set([0, 3, 4, 5, 6])
    ))
    yield* Console.log("")
    yield* Console.log(SchedulePlot.toSparklines(rows))
    if (Option.isSome(input.plot)) {
      const fs = yield* FileSystem.FileSystem
      const file = input.plot.value
      yield* fs.writeFileString(file, SchedulePlot.toSvg(rows, { title })).pipe(
        Effect.mapError((error) => usage(`--plot ${file}: cannot write the file (${error.message})`))
      )
      yield* Console.error(`wrote ${file}`)
    }
  })
