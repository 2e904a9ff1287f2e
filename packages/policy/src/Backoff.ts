/**
 * Exponential backoff as a `Schedule`, with the jitter modes of AWS's "Exponential Backoff and Jitter".
 *
 * With `t(n) = min(maxDelay, baseDelay × factorⁿ)` for the n-th retry (n = 0 before the second attempt):
 *
 * | jitter                   | delay before retry n                              |
 * | ------------------------ | ------------------------------------------------- |
 * | `"none"`                 | `t(n)`                                            |
 * | `"full"` (default)       | `random(0, t(n))`                                 |
 * | `"equal"`                | `t(n) / 2 + random(0, t(n) / 2)`                  |
 * | `"decorrelated"`         | `min(maxDelay, random(baseDelay, previous × 3))`, `factor` unused |
 *
 * `maxDelay` is applied after jitter, so every delay is ≤ `maxDelay` in every mode; delays are whole milliseconds, rounded
 * down (so `envelope` rounds its bounds down too; a t(n) that floating point puts a hair below a whole millisecond,
 * as 1000 × 1.2³ = 1727.9999999999998, is that millisecond), except that a `"full"` or `"equal"` delay is never rounded down to no
 * wait: while t(n) is at least 1 ms the delay is at least 1 ms (as Polly's jittered delays are always positive). Full
 * jitter is the default because it
 * spreads a crowd of clients best for the least total wait (AWS's measurements); `"none"` is for tests and plots.
 *
 * Defaults:
 *
 * | option        | default      | meaning                                                            |
 * | ------------- | ------------ | ------------------------------------------------------------------ |
 * | `baseDelay`   | `100 millis` | envelope of the first retry's delay                                |
 * | `factor`      | `2`          | growth of the envelope per retry (≥ 1)                             |
 * | `maxDelay`    | `10 seconds` | upper bound of any single delay, applied after jitter              |
 * | `jitter`      | `"full"`     | see above                                                          |
 * | `maxAttempts` | `3`          | attempts in total, the first included (so 2 retries)               |
 * | `maxElapsed`  | unbounded    | hard limit: no retry starts later than this after the first failure |
 *
 * Randomness comes from Effect's `Random` service, so `Effect.withRandom(Random.make(seed))` reproduces a
 * sequence. Unlike `Schedule.upTo` (which only checks before sleeping, so the last sleep can run past it),
 * `maxElapsed` is checked against the end of the next delay. `Retry.retry` holds a server's wait (`delayHint`), which
 * replaces the delay, to the same limit: a retry after that wait that would start later ends retrying, as the
 * schedule's own delay would; a delay of the schedule's own past the limit does not, when the server's wait that
 * replaces it fits. It can do so for the schedule `exponential` or `bounded` returned, not for one combined
 * further (`Schedule.intersect`, ...): bound that with `bounded` last. For a total time limit across attempts, prefer
 * `Deadline.withDeadline`.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Schedule from "effect/Schedule"
import * as internal from "./internal/backoff.js"

/**
 * How the delay is randomised within its envelope.
 *
 * @example
 * ```ts
 * import { Backoff } from "@sturdy/policy"
 *
 * const jitter: Backoff.Jitter = "equal"
 * ```
 * @since 0.1.0
 * @category models
 */
export type Jitter = "none" | "full" | "equal" | "decorrelated"

/**
 * Options of `exponential`; every field is optional (see the module's defaults table).
 *
 * @example
 * ```ts
 * import { Backoff } from "@sturdy/policy"
 *
 * const options: Backoff.Options = { baseDelay: "200 millis", maxDelay: "5 seconds", maxAttempts: 5 }
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly baseDelay?: Duration.DurationInput | undefined
  readonly factor?: number | undefined
  readonly maxDelay?: Duration.DurationInput | undefined
  readonly jitter?: Jitter | undefined
  readonly maxAttempts?: number | undefined
  readonly maxElapsed?: Duration.DurationInput | undefined
}

/**
 * The default options.
 *
 * @example
 * ```ts
 * import { Backoff } from "@sturdy/policy"
 *
 * const patient = Backoff.exponential({ ...Backoff.defaults, maxAttempts: 6 })
 * ```
 * @since 0.1.0
 * @category constants
 */
export const defaults: {
  readonly baseDelay: Duration.Duration
  readonly factor: number
  readonly maxDelay: Duration.Duration
  readonly jitter: Jitter
  readonly maxAttempts: number
  readonly maxElapsed: Duration.Duration
} = internal.defaults

/**
 * A backoff schedule whose output is the delay it chose. Throws a `RangeError` at construction for a negative or
 * infinite baseDelay, a factor below 1 or not finite, an unknown jitter mode, a negative or `NaN` maxDelay or maxElapsed
 * (written `-1`, `"-5 seconds"`, `NaN`...: Effect's `Duration` would read it as zero, a wait of nothing), a `NaN` baseDelay, a
 * baseDelay, maxDelay or maxElapsed Effect cannot read as a duration (`"1e3 millis"`, which type-checks), `maxAttempts` below
 * 1 or a fraction (`2.5`), or a baseDelay or finite maxDelay longer than a timer can hold (2^31 − 1 ms, about 24.8 days: such a sleep would never wake). An infinite maxDelay means none, but no
 * delay ever exceeds 2^31 − 1 ms.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Backoff } from "@sturdy/policy"
 *
 * declare const flaky: Effect.Effect<string, Error>
 * const resilient = Effect.retry(flaky, Backoff.exponential({ jitter: "equal", maxAttempts: 4 }))
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const exponential: (options?: Options) => Schedule.Schedule<Duration.Duration> = internal.exponential

/**
 * The range the delay before retry `n` (0 = before the second attempt) falls in, for tests and plots. For
 * `"decorrelated"` the upper bound is `min(maxDelay, baseDelay × 3ⁿ⁺¹)`. Bounds are rounded down to whole milliseconds, as
 * the delays are. Throws a `RangeError` for an `n` that is not an integer ≥ 0, and for the options `exponential` refuses.
 *
 * @example
 * ```ts
 * import { Backoff } from "@sturdy/policy"
 *
 * const { lower, upper } = Backoff.envelope({ jitter: "equal" }, 2)
 * ```
 * @since 0.1.0
 * @category utils
 */
export const envelope: (
  options: Options | undefined,
  n: number
) => { readonly lower: Duration.Duration; readonly upper: Duration.Duration } = internal.envelope

/**
 * The limits {@link bounded} puts on any schedule.
 *
 * @example
 * ```ts
 * import { Backoff } from "@sturdy/policy"
 *
 * const limits: Backoff.BoundedOptions = { maxDelay: "5 seconds", maxAttempts: 15, maxElapsed: "1 minute" }
 * ```
 * @since 0.2.0
 * @category models
 */
export interface BoundedOptions {
  /** No delay exceeds it (default: none, but never more than a timer holds, 2^31 − 1 ms). */
  readonly maxDelay?: Duration.DurationInput | undefined
  /** Attempts in total, the first included (default unbounded). */
  readonly maxAttempts?: number | undefined
  /**
   * No retry is scheduled to start later than this after the first failure (default unbounded), a server's wait
   * that replaces the delay under `Retry.retry` included.
   */
  readonly maxElapsed?: Duration.DurationInput | undefined
}

/**
 * A schedule from a delay function: `delay(retry, input)` is the wait before retry `retry`, **1-based** (1 is the
 * wait after the first attempt failed), given the failure. It never stops by itself: bound it with {@link bounded}.
 * A delay that is not positive (or not a duration) is no wait. A fraction of a millisecond is rounded up (1.7 ms waits
 * 2 ms, 0.4 ms waits 1 ms), as a timer cannot wait less than a millisecond and a positive delay must not become none.
 * A delay function that answers a Promise (an `async` one) is a defect, a `TypeError` that says so, rather than no
 * wait: retries back to back are not what it meant.
 *
 * @example
 * ```ts
 * import { Backoff } from "@sturdy/policy"
 *
 * // 100 ms, 200 ms, 300 ms, ...: linear
 * const linear = Backoff.bounded(Backoff.fromDelay((retry) => retry * 100), { maxAttempts: 5 })
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const fromDelay: <In = unknown>(
  delay: (retry: number, input: In) => Duration.DurationInput
) => Schedule.Schedule<Duration.Duration, In> = internal.fromDelay

/**
 * Bounds any schedule: each delay is capped (after whatever jitter the schedule applies), the attempts are limited,
 * and no retry starts later than `maxElapsed`; the output is the delay chosen. Delays are whole milliseconds, rounded
 * down, except that a positive delay under a millisecond waits one (0.4 ms waits 1 ms, as a timer cannot wait less and
 * a positive delay must not become none; `maxDelay` below 1 ms keeps it at none). Throws a `RangeError` for a finite
 * maxDelay longer than a timer can hold, a negative or `NaN` maxDelay or maxElapsed, one Effect cannot read as a duration
 * (`"1e3 millis"`), or `maxAttempts` below 1 or a fraction (`2.5`). Each message names the option.
 *
 * @example
 * ```ts
 * import { Backoff } from "@sturdy/policy"
 * import { Schedule } from "effect"
 *
 * const fibonacci = Backoff.bounded(Schedule.fibonacci("100 millis"), { maxDelay: "2 seconds", maxAttempts: 8 })
 * ```
 * @since 0.2.0
 * @category combinators
 */
export const bounded: <Out, In, R>(
  schedule: Schedule.Schedule<Out, In, R>,
  options: BoundedOptions
) => Schedule.Schedule<Duration.Duration, In, R> = internal.bounded
