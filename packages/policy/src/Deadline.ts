/**
 * Deadlines for a logical call: one absolute deadline, carried in the fiber's context, shared by every retry, sleep
 * and nested call inside it.
 *
 * The deadline lives in a `FiberRef` as an absolute `Clock` time in milliseconds. An inner `withDeadline` or
 * `attemptTimeout` can only shorten it; a looser inner limit is free (no timer is armed, the outer one already
 * interrupts). A call entered with no time left fails at once with `DeadlineExceeded`; a call that hangs is
 * interrupted when the deadline passes. Everything reads `Clock`, so it runs under `TestClock`.
 *
 * A zero or negative timeout is a deadline already passed (as Go's `context.WithTimeout`); a `NaN` one (a number
 * parsed from an unset setting) is a `RangeError` naming it when the effect is made, where Effect would read it as zero,
 * and so is a string that is not a duration (`"1e3 millis"`, `"200"`), which Effect would refuse only when it runs.
 *
 * A request whose body is a long stream (server-sent events, a download, JSON Lines) is bounded by the deadline only
 * until its response head arrives when it is sent under `headOnly`: a transport that enforces deadlines itself
 * (`declareEnforcement`, as `@sturdy/node`'s does) then stops enforcing the limit once the status and headers are in,
 * and the body is the caller's to bound (an idle timeout, an interruption). On any other transport, a limit is a timer
 * around the effect that returns the response (a `Policy`'s `Effect.timeout` around `execute`), which ends at the head
 * anyway. A timer the caller arms around the whole stream (`withDeadline` around consuming it) still ends it.
 *
 * @since 0.1.0
 */
import type * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as FiberRef from "effect/FiberRef"
import type * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as internal from "./internal/deadline.js"
import * as timer from "./internal/timer.js"

/**
 * The failure of a call that ran out of time: `reason` is `"Deadline"` when the logical call's total deadline
 * passed, `"Attempt"` when a single attempt's timeout fired (a retry may follow). `timeout` is the limit
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
 * Whether `u` is a {@link DeadlineExceeded} failure, whether the total deadline or an attempt's timeout fired.
 *
 * @example
 * ```ts
 * import { Deadline } from "@sturdy/policy"
 *
 * const attemptTimedOut = (failure: unknown) => Deadline.isDeadlineExceeded(failure) && failure.reason === "Attempt"
 * ```
 * @since 0.2.0
 * @category refinements
 */
export const isDeadlineExceeded = (u: unknown): u is DeadlineExceeded => Predicate.isTagged(u, "DeadlineExceeded")

/**
 * How `withDeadline` and `attemptTimeout` enforce their limit.
 *
 * - `selfEnforcing` (default `false`): `self` aborts its own waits when `currentLimit` passes, failing with
 *   `DeadlineExceeded` in its own error channel (as `@sturdy/node`'s transport does with its requests). Then only
 *   the limit is set: no fiber is forked and no timer armed. Such an effect's timers run on real time, so under any
 *   Clock but the live one (TestClock, a simulator's) the usual timer is armed anyway. Set it only when every wait
 *   inside `self` honours the limit; a wait that does not is not bounded.
 * - `disconnect` (default `false`): when the timer fires, fail at once and interrupt `self` in the background
 *   (`Effect.disconnect`), instead of waiting until `self` has stopped. For an effect that may not stop promptly when
 *   interrupted, such as a request on a transport that ignores interruption: the caller gets `DeadlineExceeded` on
 *   time, and `self`'s finalizers run when it does stop. Costs one more fiber while a timer is armed. Inside a
 *   caller's uninterruptible region too: `self` is run interruptible, where it would otherwise inherit the mask and
 *   the limit would never fail; only the limit interrupts it (there it runs in a fiber of its own), so the caller's
 *   mask still holds against any interruption from outside, which the caller gets when its region ends.
 *
 * @example
 * ```ts
 * import type { Deadline } from "@sturdy/policy"
 *
 * const options: Deadline.LimitOptions = { selfEnforcing: true, disconnect: true }
 * ```
 * @since 0.1.0
 * @category models
 */
export interface LimitOptions extends internal.LimitOptions {}

/**
 * The limit in force: `at` is an absolute `Clock` time in milliseconds (`Infinity` when none is set), `timeout` and
 * `reason` describe it for the `DeadlineExceeded` it fails with, and `armed` says whether a timer interrupts the
 * fiber when it passes (`false` after `establish` or under a self-enforcing limit: each wait must then bound itself).
 * `attemptTimeout` (`attemptMillis` in milliseconds, `Infinity` when none) caps every attempt inside, from the
 * attempt's own start; a self-enforcing transport applies it with `reason` `"Attempt"`.
 *
 * @example
 * ```ts
 * import type { Deadline } from "@sturdy/policy"
 *
 * const describe = (limit: Deadline.Limit) => `${limit.reason} at ${limit.at}`
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Limit extends internal.Current {}

/**
 * The current limit, for code that bounds its own waits: a transport reads it when it sends and, if the fiber's
 * Clock is the live one (`isLiveClock`, since its timers run on real time), aborts the request at the sooner of
 * `at` (unless `armed`) and its own start plus `attemptMillis`, failing with `new DeadlineExceeded({ reason,
 * timeout })` of whichever limit that was.
 *
 * @example
 * ```ts
 * import { Effect, FiberRef } from "effect"
 * import { Deadline } from "@sturdy/policy"
 *
 * const at = FiberRef.get(Deadline.currentLimit).pipe(Effect.map((limit) => limit.at), Deadline.withDeadline("1 second"))
 * ```
 * @since 0.1.0
 * @category fiber refs
 */
export const currentLimit: FiberRef.FiberRef<Limit> = internal.currentRef

/**
 * Whether `clock` is the default, real-time Clock: only then do real timers (a transport's `setTimeout`) agree
 * with deadlines read from it.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Deadline } from "@sturdy/policy"
 *
 * const live = Effect.map(Effect.clock, Deadline.isLiveClock)
 * ```
 * @since 0.1.0
 * @category predicates
 */
export const isLiveClock: (clock: Clock.Clock) => boolean = internal.isLiveClock

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
 *
 * A `timeout` longer than a timer can hold (2^31 − 1 ms, about 24.8 days) is no limit, as an infinite one is: no
 * timer fires for it (neither Effect's nor `@sturdy/node`'s, which would otherwise fire at once), the same for
 * `attemptTimeout` and `establish`. `Policy` rejects such options when built instead, since there a user asked for
 * a limit.
 * @since 0.1.0
 * @category combinators
 */
export const withDeadline: {
  (
    timeout: Duration.DurationInput,
    options?: LimitOptions
  ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | DeadlineExceeded, R>
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    timeout: Duration.DurationInput,
    options?: LimitOptions
  ): Effect.Effect<A, E | DeadlineExceeded, R>
} = internal.withDeadline

/**
 * Limits one attempt to `timeout` (or what is left of the enclosing deadline, if less). When this limit fires the
 * failure is `DeadlineExceeded` with reason `"Attempt"`, which a retry predicate may choose to retry; when
 * the enclosing deadline fires first the reason is `"Deadline"`.
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
    timeout: Duration.DurationInput,
    options?: LimitOptions
  ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | DeadlineExceeded, R>
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    timeout: Duration.DurationInput,
    options?: LimitOptions
  ): Effect.Effect<A, E | DeadlineExceeded, R>
} = internal.attemptTimeout

/**
 * Sets the current deadline to `timeout` from now (or keeps the enclosing one, if sooner) WITHOUT arming a timer:
 * retries, `ensureRemaining`, `remaining` and nested calls see it, but nothing interrupts `self` when it passes. Every
 * wait inside must bound itself, as Sturdy's own do: `Retry` never sleeps past it, a `Bulkhead` queue never waits
 * past it, `attemptTimeout` arms a timer for it, and an `Attempt` on a transport that enforces deadlines (or under
 * its own timer) fails when it passes. With `attemptTimeout` it also caps each attempt inside (see
 * `EstablishOptions`), so that a pipeline of Sturdy's policies arms no timer and forks no fiber on the happy path.
 * Applied data-last, the function it returns can be kept and applied to every call: it decodes its durations once.
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
  (
    timeout: Duration.DurationInput,
    options?: EstablishOptions
  ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, timeout: Duration.DurationInput, options?: EstablishOptions): Effect.Effect<
    A,
    E,
    R
  >
} = internal.establish

/**
 * Options of `establish`.
 *
 * - `attemptTimeout`: the longest any attempt inside may run, from its own start: every `attemptTimeout` inside is
 *   capped by it, and a self-enforcing transport applies it to each request from the moment it sends, with no
 *   limit set per attempt. Never loosens an enclosing one.
 *
 * @example
 * ```ts
 * import { Deadline } from "@sturdy/policy"
 *
 * const options: Deadline.EstablishOptions = { attemptTimeout: "2 seconds" }
 * ```
 * @since 0.1.0
 * @category models
 */
export interface EstablishOptions extends internal.EstablishOptions {}

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
 * A `NaN` minimum (a number parsed from an unset setting) is a `RangeError` naming it when the effect is made, where
 * Effect would read it as zero.
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

/**
 * Declares that `transport` enforces `currentLimit` itself: under the live Clock, when a limit that no timer
 * enforces (`limit.armed === false`) passes, it aborts the request, in whatever phase, and fails with an error whose
 * `cause` is the `DeadlineExceeded` built from the limit (`@sturdy/http`'s `Attempt` turns a platform `RequestError`
 * or `ResponseError` with that cause into its `Timeout`). Code that would otherwise race a timer against the
 * transport (`@sturdy/http`'s attempts) then arms none. Returns `transport` itself.
 *
 * For an `@effect/platform` `HttpClient` the declaration is attached to its request pipeline's last step
 * (`postprocess`), so clients derived with `HttpClient.mapRequest` and `mapRequestEffect` keep it; any other object
 * is declared by identity. `@sturdy/node`'s `UndiciHttpClient` declares itself; a custom transport opts in the same
 * way. Declaring a transport that does not enforce the limit lets a call outlive its deadline.
 *
 * @example
 * ```ts
 * import type { HttpClient } from "@effect/platform"
 * import { Deadline } from "@sturdy/policy"
 *
 * // a custom transport that honours Deadline.currentLimit
 * declare const transport: HttpClient.HttpClient
 * const declared = Deadline.declareEnforcement(transport)
 * ```
 * @since 0.1.0
 * @category transports
 */
export const declareEnforcement: <C extends object>(transport: C) => C = internal.declareEnforcement

/**
 * Whether `transport` (or the client it was derived from with `HttpClient.mapRequest`) was declared with
 * `declareEnforcement`.
 *
 * @example
 * ```ts
 * import { HttpClient } from "@effect/platform"
 * import { Deadline } from "@sturdy/policy"
 * import { Effect } from "effect"
 *
 * const selfEnforcing = Effect.map(HttpClient.HttpClient, Deadline.isEnforcedBy)
 * ```
 * @since 0.1.0
 * @category transports
 */
export const isEnforcedBy: (transport: object) => boolean = internal.isEnforcedBy

/**
 * Whether the limit in force bounds only the response head of the requests sent under it (`false` unless set with
 * {@link headOnly}). A transport that enforces deadlines itself reads it when it arms a limit for a request, and
 * if it is set stops enforcing that limit once a final (not 1xx) response head has arrived; a limit that passes
 * before the head fails the request as it always does.
 *
 * @example
 * ```ts
 * import { Effect, FiberRef } from "effect"
 * import { Deadline } from "@sturdy/policy"
 *
 * const bodyUnbounded = FiberRef.get(Deadline.currentHeadOnly).pipe(Deadline.headOnly)
 * ```
 * @since 0.2.0
 * @category fiber refs
 */
export const currentHeadOnly: FiberRef.FiberRef<boolean> = internal.currentHeadOnlyRef

/**
 * Runs `self` so that the deadline in force (and the attempt timeout established around it) bounds the requests it
 * sends only until their response head arrives: the body, however long it flows, is the caller's to bound. For a
 * request whose body is a stream meant to outlive a policy's `attemptTimeout`: `@sturdy/http`'s `EventStream`,
 * `Download` and `JsonLines` send each request so. Sets {@link currentHeadOnly} for `self`; a transport that enforces
 * deadlines itself honours it, and on any other the limit is a timer around getting the response, which the head
 * ends anyway. A head that does not arrive in time still fails with the limit's `DeadlineExceeded`.
 *
 * @example
 * ```ts
 * import { HttpClient } from "@effect/platform"
 * import { Effect, Stream } from "effect"
 * import { Deadline } from "@sturdy/policy"
 *
 * // the head within 2 seconds; the events for as long as they come
 * const events = Effect.flatMap(HttpClient.HttpClient, (client) => client.get("https://example.com/events")).pipe(
 *   Deadline.headOnly,
 *   Deadline.establish("2 seconds"),
 *   Effect.map((response) => response.stream),
 *   Stream.unwrapScoped
 * )
 * ```
 * @since 0.2.0
 * @category combinators
 */
export const headOnly: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R> = internal.headOnly

/**
 * The longest duration a timer can hold: 2^31 − 1 ms, about 24.8 days. Node fires a longer `setTimeout` at once,
 * and Effect's Clock never fires it; a limit longer than this is no limit here (see {@link withDeadline}).
 *
 * @example
 * ```ts
 * import { Deadline } from "@sturdy/policy"
 * import { Duration } from "effect"
 *
 * const holdable = (timeout: Duration.Duration) => Duration.toMillis(timeout) <= Deadline.maxTimerMillis
 * ```
 * @since 0.2.0
 * @category constants
 */
export const maxTimerMillis: number = timer.maxTimerMillis
