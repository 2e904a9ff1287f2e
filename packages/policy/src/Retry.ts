/**
 * Retries any failing Effect on a `Schedule` (by default `Backoff.exponential()`), honouring a server's requested
 * wait, the current `Deadline` and, when asked, a shared `RetryBudget`. Transport-agnostic: which failures
 * are retryable and what the server asked for are functions the caller supplies.
 *
 * For each failure, in order:
 *
 * 1. `while(failure, attempt)` false → the failure is returned (`"not-retryable"`); `attempt` is the number of the
 *    attempt that failed (1 for the first).
 * 2. The schedule is stepped with the failure; done → the failure is returned (`"exhausted"`).
 * 3. `delayHint(failure)` (a Retry-After, say) **is** the wait, replacing the schedule's delay (as ky, got, undici,
 *    urllib3 and Polly do): above `maxRetryAfter` the failure is returned at once without sleeping
 *    (`"retry-after-too-long"`). The hint is held to the limits the schedule's own delay was: a `Backoff` schedule's
 *    `maxElapsed` (a retry that would start later than that after the first failure ends retrying as the schedule
 *    would, `"exhausted"`; as in cenkalti/backoff) and the deadline (step 4). Only the wait used is held to
 *    `maxElapsed`: a delay of the schedule's own that would start past it does not end retrying when a hint that
 *    fits replaces it. Otherwise the wait is the hint plus a
 *    random jitter of at most `retryAfterJitter` of it and at most `maxRetryAfterJitter`, in whole milliseconds
 *    rounded down (so a hint under 10 ms gets none at the default 0.1), and never past
 *    `maxRetryAfter`, `maxElapsed` or the deadline (`"retry-after"`): the jitter shortens rather than turning a hint
 *    that fits into a give-up. A zero hint ("now", or a past date) retries at once, with no jitter; the attempt
 *    limit, the deadline and the budget still bound a server that keeps answering 0. Why not a floor under the
 *    backoff: `Retry-After: 2` would then wait up to the backoff's cap, and `Retry-After: 0` would change nothing.
 * 4. If the next attempt would start at or after the current deadline (for a hint: the hint itself, before any
 *    jitter), the ORIGINAL failure is returned at once (`"deadline"`): no sleep runs past a deadline, and the caller
 *    learns why the call failed rather than only that time ran out. (A deadline that fires during an attempt fails
 *    with `Deadline.DeadlineExceeded`.)
 * 5. With `budgetKey`, one retry is withdrawn from `RetryBudget` under that key; refused → the failure comes back
 *    wrapped in `RetryBudgetExhausted` (`"budget-refused"`), its `failure` field being the attempt's failure (as
 *    `finalFailure` rewrites it, when given).
 * 6. Otherwise it sleeps and runs the next attempt.
 *
 * When it gives up, `finalFailure(failure, attempts)` (if given) rewrites the failure returned, with the number of
 * attempts made (a way to record it on the failure, as `@sturdy/http`'s `Policy` does).
 *
 * With `budgetKey` every logical call also deposits one request into the budget. Each decision is reported as an
 * `Attempt`: a span event (`retry` or `retry.stop`, with `retry.attempt`, `retry.delay_ms`, `retry.reason`), a
 * `retry.attempts` span annotation, an `Effect.logDebug` line, and the optional `onAttempt` hook.
 *
 * The happy path is cheap: nothing is stepped, forked or slept before the first failure. A call that retries without a
 * limit holds the same memory at its thousandth retry as at its first.
 *
 * | option           | default                  |
 * | ---------------- | ------------------------ |
 * | `schedule`       | `Backoff.exponential()`  |
 * | `while`          | every typed failure      |
 * | `delayHint`      | none                     |
 * | `maxRetryAfter` | `30 seconds`             |
 * | `retryAfterJitter`     | `0.1` (up to +10 %)      |
 * | `maxRetryAfterJitter`  | `1 second`               |
 * | `budgetKey`      | none                     |
 *
 * Defects and interruptions are never retried. A `maxRetryAfter` or `maxRetryAfterJitter` longer than a timer can hold
 * (2^31 − 1 ms, about 24.8 days; `maxRetryAfter` may be infinite), either negative or `NaN` (Effect would read `-1` or `NaN` as zero),
 * a `retryAfterJitter` that is no number in [0, 1], or a `while`, `delayHint`, `finalFailure` or `onAttempt` that is no
 * function throws a `RangeError` naming the option when `retry` is applied.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Schedule from "effect/Schedule"
import * as internal from "./internal/retry.js"
import type { RetryBudget, RetryBudgetExhausted } from "./RetryBudget.js"

/**
 * Why a retry was or was not made: `"backoff"` and `"retry-after"` retry; the others give up.
 *
 * @example
 * ```ts
 * import { Retry } from "@sturdy/policy"
 *
 * const gaveUp = (reason: Retry.Reason) => reason !== "backoff" && reason !== "retry-after"
 * ```
 * @since 0.1.0
 * @category models
 */
export type Reason =
  | "backoff"
  | "retry-after"
  | "budget-refused"
  | "deadline"
  | "retry-after-too-long"
  | "exhausted"
  | "not-retryable"

/**
 * One retry decision: `attempt` is the number of the attempt it is about (2 for the first retry), `delay` the
 * wait before it (for a decision to give up, the wait that would have been; zero when none was computed), and
 * `failure` the failure that led to it.
 *
 * @example
 * ```ts
 * import { Duration } from "effect"
 * import { Retry } from "@sturdy/policy"
 *
 * const line = (a: Retry.Attempt<Error>) => `#${a.attempt} in ${Duration.format(a.delay)}: ${a.reason}`
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Attempt<E> {
  readonly attempt: number
  readonly delay: Duration.Duration
  readonly reason: Reason
  readonly retrying: boolean
  readonly failure: E
}

/**
 * Options of `retry` without a budget; see the module's table for defaults.
 *
 * @example
 * ```ts
 * import { Option } from "effect"
 * import { Retry } from "@sturdy/policy"
 *
 * const options: Retry.Options<{ readonly retryable: boolean }> = {
 *   while: (e) => e.retryable,
 *   delayHint: () => Option.none()
 * }
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Options<E, R = never> {
  readonly schedule?: Schedule.Schedule<unknown, NoInfer<E>, R> | undefined
  /**
   * Whether to retry after `failure`; `attempt` is the number of the attempt that failed (1 for the first). It answers
   * at once: one that returns a Promise (an `async` function) ends the call with a `TypeError` defect.
   */
  readonly while?: ((failure: E, attempt: number) => boolean) | undefined
  /**
   * The wait the failure asks for (a server's `Retry-After`, say): it replaces the schedule's delay, under the same
   * `maxElapsed` (of a `Backoff` schedule) and deadline.
   */
  readonly delayHint?: ((failure: E) => Option.Option<Duration.Duration>) | undefined
  readonly maxRetryAfter?: Duration.DurationInput | undefined
  /**
   * The largest fraction of a hint added to it at random (default 0.1); the addition never takes the wait past
   * `maxRetryAfter`, `maxElapsed` or the deadline.
   */
  readonly retryAfterJitter?: number | undefined
  /** The most ever added to a hint at random (default 1 second). */
  readonly maxRetryAfterJitter?: Duration.DurationInput | undefined
  /** Rewrites the failure returned when retrying stops, given the number of attempts made. */
  readonly finalFailure?: ((failure: E, attempts: number) => E) | undefined
  readonly budgetKey?: undefined
  /**
   * Told every decision, before its wait (as p-retry's `onFailedAttempt`, Polly's `OnRetry` and resilience4j's retry
   * events are). The wait starts once the hook returns, so a hook's own time adds to it: the limits were checked when
   * the decision was made, and a hook slower than the time left can start the next attempt past `maxElapsed`, or let
   * the deadline end the call with `DeadlineExceeded` instead of the failure. Keep it short, or fork what is slow.
   */
  readonly onAttempt?: ((attempt: Attempt<E>) => Effect.Effect<void, never, R>) | undefined
}

/**
 * Options of `retry` with a `RetryBudget` key (an upstream's host, say).
 *
 * @example
 * ```ts
 * import { Retry } from "@sturdy/policy"
 *
 * const options: Retry.BudgetedOptions<Error> = { budgetKey: "api.example.com" }
 * ```
 * @since 0.1.0
 * @category models
 */
export interface BudgetedOptions<E, R = never> extends Omit<Options<E, R>, "budgetKey"> {
  readonly budgetKey: string
  /** The budget to draw from; when absent, the `RetryBudget` service of the context. */
  readonly budgetService?: RetryBudget.Service | undefined
}

/**
 * Options of `retry` with a budget key and the budget itself, so that no `RetryBudget` is looked up per call (a
 * pipeline that owns its budget).
 *
 * @example
 * ```ts
 * import { Retry, RetryBudget } from "@sturdy/policy"
 *
 * const options: Retry.OwnBudgetOptions<Error> = {
 *   budgetKey: "api.example.com",
 *   budgetService: RetryBudget.unsafeMake()
 * }
 * ```
 * @since 0.1.0
 * @category models
 */
export interface OwnBudgetOptions<E, R = never> extends BudgetedOptions<E, R> {
  readonly budgetService: RetryBudget.Service
}

/**
 * The defaults of the hint options.
 *
 * @example
 * ```ts
 * import { Retry } from "@sturdy/policy"
 *
 * const patient = { maxRetryAfter: "2 minutes", retryAfterJitter: Retry.defaults.retryAfterJitter }
 * ```
 * @since 0.1.0
 * @category constants
 */
export const defaults: {
  readonly maxRetryAfter: Duration.Duration
  readonly retryAfterJitter: number
  readonly maxRetryAfterJitter: Duration.Duration
} = internal.defaults

/**
 * Retries `self` on its typed failures; see the module's documentation for the order of decisions.
 *
 * @example
 * ```ts
 * import { Data, Duration, Effect, Option } from "effect"
 * import { Backoff, Deadline, Retry, RetryBudget } from "@sturdy/policy"
 *
 * class Unavailable extends Data.TaggedError("Unavailable")<{ readonly retryAfter: Option.Option<Duration.Duration> }> {}
 * declare const call: Effect.Effect<string, Unavailable>
 *
 * const resilient = call.pipe(
 *   Deadline.attemptTimeout("2 seconds"),
 *   Retry.retry({
 *     schedule: Backoff.exponential({ maxAttempts: 4 }),
 *     while: (e) => e._tag === "Unavailable" || e.reason === "Attempt",
 *     delayHint: (e) => e._tag === "Unavailable" ? e.retryAfter : Option.none(),
 *     budgetKey: "api.example.com"
 *   }),
 *   Deadline.withDeadline("10 seconds"),
 *   Effect.provide(RetryBudget.layer())
 * )
 * ```
 * @since 0.1.0
 * @category combinators
 */
export const retry: {
  <E, R2 = never>(
    options: OwnBudgetOptions<E, R2>
  ): <A, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | RetryBudgetExhausted<E>, R | R2>
  <E, R2 = never>(
    options: BudgetedOptions<E, R2>
  ): <A, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | RetryBudgetExhausted<E>, R | R2 | RetryBudget>
  <E, R2 = never>(options?: Options<E, R2>): <A, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R | R2>
  <A, E, R, R2 = never>(
    self: Effect.Effect<A, E, R>,
    options: OwnBudgetOptions<E, R2>
  ): Effect.Effect<A, E | RetryBudgetExhausted<E>, R | R2>
  <A, E, R, R2 = never>(
    self: Effect.Effect<A, E, R>,
    options: BudgetedOptions<E, R2>
  ): Effect.Effect<A, E | RetryBudgetExhausted<E>, R | R2 | RetryBudget>
  <A, E, R, R2 = never>(self: Effect.Effect<A, E, R>, options?: Options<E, R2>): Effect.Effect<A, E, R | R2>
} = internal.retry
