/**
 * Deadlines for a logical call: one absolute deadline, carried in the fiber's context, shared by every retry, sleep
 * and nested call inside it.
 *
 * The deadline lives in a `FiberRef` as an absolute `Clock` time in milliseconds. An inner `withDeadline` or
 * `attemptTimeout` can only shorten it; a looser inner limit is free (no timer is armed, the outer one already
 * interrupts). A call entered with no time left fails at once with `DeadlineExceeded`; a call that hangs is
 * interrupted when the deadline passes. Everything reads `Clock`, so it runs under `TestClock`.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import * as internal from "./internal/deadline.js"

/**
 * The failure of a call that ran out of time: `reason` is `"deadline"` when the logical call's total deadline
 * passed, `"attempt-timeout"` when a single attempt's timeout fired (a retry may follow). `timeout` is the limit
 * that fired.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Deadline } from "@sturdy/policy"
 *
 * const program = Effect.never.pipe(
 *   Deadline.withDeadline("1 second"),
 *   Effect.catchTag("DeadlineExceeded", (e) => Effect.succeed(e.reason))
 * )
 * ```
 * @since 0.1.0
 * @category errors
 */
export const DeadlineExceeded: typeof internal.DeadlineExceeded = internal.DeadlineExceeded

/**
 * The instance type of `DeadlineExceeded`.
 *
 * @example
 * ```ts
 * import { Deadline } from "@sturdy/policy"
 *
 * const describe = (e: Deadline.DeadlineExceeded) => e.message
 * ```
 * @since 0.1.0
 * @category errors
 */
export type DeadlineExceeded = internal.DeadlineExceeded

/**
 * Runs `self` under a total deadline of `timeout` from now, or the enclosing deadline if that is sooner. Fails at
 * once with `DeadlineExceeded` when no time is left, and interrupts `self` when the deadline passes.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Deadline } from "@sturdy/policy"
 *
 * const call = Effect.sleep("5 seconds").pipe(Deadline.withDeadline("2 seconds"))
 * ```
 * @since 0.1.0
 * @category combinators
 */
export const withDeadline: {
  (
    timeout: Duration.DurationInput
  ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | DeadlineExceeded, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, timeout: Duration.DurationInput): Effect.Effect<A, E | DeadlineExceeded, R>
} = internal.withDeadline

/**
 * Limits one attempt to `timeout` (or what is left of the enclosing deadline, if less). When this limit fires the
 * failure is `DeadlineExceeded` with reason `"attempt-timeout"`, which a retry predicate may choose to retry; when
 * the enclosing deadline fires first the reason is `"deadline"`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Deadline } from "@sturdy/policy"
 *
 * const attempt = Effect.sleep("5 seconds").pipe(Deadline.attemptTimeout("1 second"))
 * ```
 * @since 0.1.0
 * @category combinators
 */
export const attemptTimeout: {
  (
    timeout: Duration.DurationInput
  ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | DeadlineExceeded, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, timeout: Duration.DurationInput): Effect.Effect<A, E | DeadlineExceeded, R>
} = internal.attemptTimeout

/**
 * Sets the current deadline to `timeout` from now (or keeps the enclosing one, if sooner) WITHOUT arming a timer:
 * retries, `ensureRemaining`, `remaining` and nested calls see it, but nothing interrupts `self` when it passes. For
 * callers that bound every blocking step themselves (each attempt under its own timer of at most the time left),
 * so that the happy path arms one timer instead of two.
 *
 * @example
 * ```ts
 * import { Effect, Option } from "effect"
 * import { Deadline } from "@sturdy/policy"
 *
 * const attempt = Effect.flatMap(Deadline.remaining, (left) =>
 *   Effect.sleep("1 second").pipe(Effect.timeout(Option.getOrElse(left, () => "10 seconds")))
 * )
 * const call = attempt.pipe(Deadline.establish("3 seconds"))
 * ```
 * @since 0.1.0
 * @category combinators
 */
export const establish: {
  (timeout: Duration.DurationInput): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, timeout: Duration.DurationInput): Effect.Effect<A, E, R>
} = internal.establish

/**
 * The time left before the current deadline (zero once it has passed), or `None` when no deadline is set.
 *
 * @example
 * ```ts
 * import { Deadline } from "@sturdy/policy"
 *
 * const left = Deadline.remaining.pipe(Deadline.withDeadline("3 seconds"))
 * ```
 * @since 0.1.0
 * @category getters
 */
export const remaining: Effect.Effect<Option.Option<Duration.Duration>> = internal.remaining

/**
 * The current deadline as an absolute `Clock` time in milliseconds, or `None` when no deadline is set.
 *
 * @example
 * ```ts
 * import { Deadline } from "@sturdy/policy"
 *
 * const at = Deadline.current.pipe(Deadline.withDeadline("3 seconds"))
 * ```
 * @since 0.1.0
 * @category getters
 */
export const current: Effect.Effect<Option.Option<number>> = internal.current

/**
 * Fails at once with `DeadlineExceeded` unless at least `minimum` is left before the current deadline: a cheap
 * clock comparison for work that cannot usefully start late. Succeeds when no deadline is set.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Deadline } from "@sturdy/policy"
 *
 * const guarded = Deadline.ensureRemaining("200 millis").pipe(
 *   Effect.zipRight(Effect.succeed("enough time")),
 *   Deadline.withDeadline("1 second")
 * )
 * ```
 * @since 0.1.0
 * @category combinators
 */
export const ensureRemaining: (minimum: Duration.DurationInput) => Effect.Effect<void, DeadlineExceeded> =
  internal.ensureRemaining

/**
 * The header name `header` uses unless told otherwise: `x-request-timeout-ms`.
 *
 * @example
 * ```ts
 * import { Deadline } from "@sturdy/policy"
 *
 * console.log(Deadline.defaultHeaderName)
 * ```
 * @since 0.1.0
 * @category constants
 */
export const defaultHeaderName: string = internal.defaultHeaderName

/**
 * The remaining time as a header (`[name, whole milliseconds]`) for a transport to send downstream, or `None`
 * when no deadline is set.
 *
 * @example
 * ```ts
 * import { Deadline } from "@sturdy/policy"
 *
 * const header = Deadline.header({ name: "grpc-timeout-ms" }).pipe(Deadline.withDeadline("3 seconds"))
 * ```
 * @since 0.1.0
 * @category getters
 */
export const header: (options?: {
  readonly name?: string | undefined
}) => Effect.Effect<Option.Option<readonly [name: string, value: string]>> = internal.header
