/**
 * Stops calling an upstream that keeps failing, and probes it again after a pause.
 *
 * A breaker has three states:
 *
 * - `Closed`: calls go through; outcomes are recorded.
 * - `Open`: calls fail at once with {@link CircuitOpen}, without reaching the upstream.
 * - `HalfOpen`: after the pause, calls go through as probes, at most `halfOpenMaxProbes` at once; once
 *   `successThreshold` probes have succeeded the breaker closes, and one failed probe opens it again with the next
 *   (longer) pause. A probe that ends frees its slot for the next call, so probes go on, a few at a time, until one of
 *   the two happens, whatever the two numbers are (a `successThreshold` above `halfOpenMaxProbes` is met by probes
 *   in turn, as in Failsafe). A probe still running after `maxProbeDuration` (by default, the pause before it) gives
 *   its slot to the next call, so a probe that never ends cannot hold the breaker half-open for ever; its answer
 *   still counts if it comes while the breaker is half-open.
 *
 * Every outcome of a call is one of three kinds, and so is every outcome of a probe:
 *
 * | outcome                                                   | Closed             | a probe (HalfOpen)              |
 * | --------------------------------------------------------- | ------------------ | ------------------------------- |
 * | success                                                   | a successful call  | towards `successThreshold`      |
 * | a failure `isFailure` selects, a defect, a too-slow call  | a failed call      | opens again, with the next pause |
 * | any other failure (the upstream answered, e.g. a 404)     | a successful call  | towards `successThreshold`      |
 * | `isIgnored`, a policy's rejection, interruption, the caller's deadline (below) | not recorded | frees the slot, state unchanged |
 *
 * A failure that does not count proves the upstream is alive and answering (a 404 is an answer): like resilience4j
 * and Polly, it counts as a successful call, and like cockatiel and undici's interceptor, it closes a half-open
 * breaker (the caller still gets the failure). What says nothing about the upstream changes nothing: an interrupted
 * probe (a hedge that lost, a caller that gave up) or one the caller's own deadline cut short frees its slot and the
 * next call may probe at once; the number of probes in flight never exceeds `halfOpenMaxProbes`, counting those within
 * `maxProbeDuration`. The caller's deadline cuts a call short by interrupting it (`Deadline.withDeadline`) or, under
 * `Deadline.establish`, by a `DeadlineExceeded` of reason "Deadline" from inside (an `attemptTimeout` that met it
 * first): such a failure, once the deadline in force around the breaker has passed, is not recorded whatever
 * `isFailure` says; one from a `withDeadline` inside the breaker, with the caller's still ahead, is a failure as usual.
 * A probe that times out is a counted failure when `isFailure` selects the timeout (HTTP's default does).
 *
 * There are no timers: every transition is decided from the `Clock` when a call arrives, so a breaker works
 * under `TestClock` and in serverless functions that are frozen between requests. A wall clock set back (an NTP
 * step) counts as no time passing: an open breaker's pause still ends at most its own length after the step, not when
 * the clock catches up with where it was, the sliding window ages from the new time, and a call running across the
 * step is timed without it (a call slower than `slowCallDuration` is still slow).
 *
 * Defaults:
 *
 * | option                  | default                 | meaning                                                   |
 * | ----------------------- | ----------------------- | --------------------------------------------------------- |
 * | `consecutiveFailures`   | `3`; off with a rate    | this many counted failures in a row open the breaker; off (`Infinity`) when `failureRateThreshold`, `failureCountThreshold` or `slowCallDuration` is set, so rates are judged only over `minimumThroughput` calls |
 * | `breakDuration`         | `Schedule.spaced("60 seconds")` | pause before the first probe (resilience4j's default): a duration or a `Schedule` |
 * | `failureRateThreshold`  | off                     | e.g. `0.5`: open when half the calls in the window failed |
 * | `failureCountThreshold` | off                     | e.g. `5`: open when the window holds 5 counted failures, whatever the successes between them (no `minimumThroughput`) |
 * | `slidingWindow`         | `"60 seconds"`          | the window the ratios are computed over: a duration, or `{ calls: n }` for the last n calls |
 * | `minimumThroughput`     | `10`                    | no ratio is judged on fewer calls than this (a count window: fewer than min(this, n)) |
 * | `slowCallDuration`      | off                     | calls at least this slow count as slow                    |
 * | `slowCallRateThreshold` | `1` once `slowCallDuration` is set | ratio of slow calls that opens the breaker     |
 * | `halfOpenMaxProbes`     | `1`                     | probes in flight at once while HalfOpen                   |
 * | `successThreshold`      | `1`                     | successful probes needed to close (they may run in turn)  |
 * | `maxProbeDuration`      | the last pause          | a probe running this long gives its slot to the next call; `Infinity`: never |
 * | `isFailure`             | every failure counts    | which failures count (HTTP: server failures, see `Policy`) |
 * | `isIgnored`             | none                    | failures that say nothing about the upstream              |
 *
 * The 60 s default is deliberately conservative: a breaker exists to give a struggling upstream room. For
 * interactive clients pass a growing schedule such as
 * `Schedule.exponential("5 seconds").pipe(Schedule.union(Schedule.spaced("60 seconds")))` (5 s, 10 s, 20 s, 40 s,
 * 60 s, 60 s …); the schedule restarts from its first step whenever the breaker closes.
 *
 * Interaction with retries: a retry must not hammer an open breaker. The breaker already knows the answer, so the
 * simplest is not to retry `CircuitOpen` at all and let the caller fall back (HTTP's `Policy` does so by default).
 * `CircuitOpen.retryAfter` is the time until a probe is allowed; a retry that waits for the probe ({@link delayHint})
 * should do so only if it still fits its deadline, and otherwise give up.
 * Rejections by a breaker, bulkhead, rate limiter or adaptive throttle are never counted as failures by a breaker.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import * as internal from "./internal/circuitBreaker.js"

/**
 * The failure of a call rejected by an open breaker; `retryAfter` is the time until a probe is allowed
 * (`Duration.infinity` while the breaker is isolated by hand). A call turned away while half-open, every probe slot
 * taken, is told the time until the oldest probe's slot goes to the next call (`maxProbeDuration`, by default the
 * last pause, from that probe's start: Polly's answer too), or less if a probe closes the breaker first. It says why the breaker opened: `reason`
 * (`"ConsecutiveFailures"`, `"FailureRate"`, `"FailureCount"`, `"SlowCalls"`, `"ProbeFailed"` or `"Isolated"`), `failures` (the
 * counted failures that tripped it), `lastFailure` (the last one's `_tag` and numeric `status`, nothing else of it, so
 * no URL, message or payload) and `sameKind` (all of them had that tag and status). Its message reads
 * `circuit open for api.example.com after 5 × ServerError 503; retry after 4s 200ms`.
 *
 * @example
 * ```ts
 * import { Duration, Effect } from "effect"
 * import { CircuitBreaker } from "@sturdy/policy"
 *
 * const fallback = (self: Effect.Effect<string, CircuitBreaker.CircuitOpen>) =>
 *   self.pipe(Effect.catchTag("CircuitOpen", (e) => Effect.succeed(`later: ${Duration.toMillis(e.retryAfter)}`)))
 * ```
 * @since 0.1.0
 * @category errors
 */
export const CircuitOpen: typeof internal.CircuitOpen = internal.CircuitOpen

/**
 * The instance type of {@link CircuitOpen}.
 *
 * @example
 * ```ts
 * import type { CircuitBreaker } from "@sturdy/policy"
 *
 * const keyOf = (e: CircuitBreaker.CircuitOpen) => e.key
 * ```
 * @since 0.1.0
 * @category errors
 */
export interface CircuitOpen extends internal.CircuitOpen {}

/**
 * Whether `u` is a {@link CircuitOpen} failure.
 *
 * @example
 * ```ts
 * import { CircuitBreaker } from "@sturdy/policy"
 *
 * const shouldFallBack = (failure: unknown) => CircuitBreaker.isCircuitOpen(failure)
 * ```
 * @since 0.1.0
 * @category refinements
 */
export const isCircuitOpen = (u: unknown): u is CircuitOpen => Predicate.isTagged(u, "CircuitOpen")

/**
 * The time until a probe is allowed, for `Retry.retry`'s `delayHint`: a retry then waits for the probe instead of
 * hammering the open breaker, and gives up at once when that wait exceeds its `maxRetryAfter` (an isolated
 * breaker hints `Duration.infinity`). Any other failure gives no hint.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CircuitBreaker, Retry } from "@sturdy/policy"
 *
 * declare const guarded: Effect.Effect<string, CircuitBreaker.CircuitOpen>
 * const patient = guarded.pipe(Retry.retry({ delayHint: CircuitBreaker.delayHint, maxRetryAfter: "30 seconds" }))
 * ```
 * @since 0.1.0
 * @category utils
 */
export const delayHint = (failure: unknown): Option.Option<Duration.Duration> =>
  isCircuitOpen(failure) ? Option.some(failure.retryAfter) : Option.none()

/**
 * The three states of a breaker.
 *
 * @example
 * ```ts
 * import type { CircuitBreaker } from "@sturdy/policy"
 *
 * const isHealthy = (state: CircuitBreaker.State) => state === "Closed"
 * ```
 * @since 0.1.0
 * @category models
 */
export type State = "Closed" | "Open" | "HalfOpen"

/**
 * A state transition, published on `changes`; `at` is the Clock time in milliseconds.
 *
 * @example
 * ```ts
 * import type { CircuitBreaker } from "@sturdy/policy"
 *
 * const describe = (change: CircuitBreaker.StateChange) => `${change.key}: ${change.from} -> ${change.to}`
 * ```
 * @since 0.1.0
 * @category models
 */
export interface StateChange {
  readonly key: string
  readonly from: State
  readonly to: State
  readonly at: number
}

/**
 * The current state and counts of a breaker (counts are over the sliding window).
 *
 * `retryAfter` is how long a call would be turned away from now: the rest of the pause while Open
 * (`Duration.infinity` while isolated); while HalfOpen with every probe slot taken, until the oldest probe's slot goes
 * to the next call (after `maxProbeDuration`, by default the last pause), as a `CircuitOpen` rejected then says;
 * zero otherwise.
 *
 * @example
 * ```ts
 * import type { CircuitBreaker } from "@sturdy/policy"
 *
 * const failureRatio = (s: CircuitBreaker.Snapshot) => (s.calls === 0 ? 0 : s.failures / s.calls)
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Snapshot {
  readonly key: string
  readonly state: State
  readonly isolated: boolean
  readonly consecutiveFailures: number
  readonly calls: number
  readonly failures: number
  readonly slowCalls: number
  readonly probesInFlight: number
  readonly retryAfter: Duration.Duration
}

/**
 * How a breaker decides to open and when it probes again; see the module docs for the defaults.
 *
 * @example
 * ```ts
 * import { Schedule } from "effect"
 * import type { CircuitBreaker } from "@sturdy/policy"
 *
 * const options: CircuitBreaker.Options = {
 *   failureRateThreshold: 0.5,
 *   minimumThroughput: 20,
 *   breakDuration: Schedule.exponential("5 seconds").pipe(Schedule.union(Schedule.spaced("60 seconds")))
 * }
 * ```
 * Invalid options throw a `RangeError` naming the option when the breaker (or the registry) is made, a defect of
 * `make` (as resilience4j's and Polly's builders refuse them, rather than clamp them into a breaker nobody asked
 * for): a `failureRateThreshold` or `slowCallRateThreshold` outside (0, 1] (0 would open on successes), a
 * `slowCallRateThreshold` without `slowCallDuration` (no call would ever be slow, so the ratio would never be judged), a
 * `consecutiveFailures` that is not an integer ≥ 1 or `Infinity`, a `failureCountThreshold`, `minimumThroughput`,
 * `halfOpenMaxProbes` or `successThreshold` that is not an integer ≥ 1, a count window whose `slidingWindow.calls` is not an integer ≥ 1
 * or is below `failureCountThreshold` (the window never holds that many failures, so the breaker would never open), a
 * `slidingWindow`, `slowCallDuration` or `maxProbeDuration` of zero, and a `slidingWindow`, `slowCallDuration`,
 * `maxProbeDuration` or `breakDuration` longer than a timer can hold (2^31 − 1 ms, about 24.8 days), and an `isFailure`
 * or `isIgnored` that is not a function.
 *
 * A time window is kept as 10 buckets; a bucket starts with its first call (as Polly's windows do), so a call counts
 * for at least nine tenths of `slidingWindow` after it, and the first of its bucket for all of it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly consecutiveFailures?: number | undefined
  readonly failureRateThreshold?: number | undefined
  /**
   * Opens the breaker once the sliding window holds this many counted failures, whatever the successes between them
   * (Semian's `error_threshold` within `error_threshold_timeout`, Sentinel's error-count rule): for an upstream whose
   * failures matter in number, not in share of the traffic. Judged on every counted failure, `minimumThroughput` aside;
   * with a count window, over its last `calls` calls, so it must be at most `calls` (a `RangeError` otherwise). Default:
   * off.
   *
   * @example
   * ```ts
   * import type { CircuitBreaker } from "@sturdy/policy"
   *
   * // 5 failures within 30 seconds open the breaker
   * const options: CircuitBreaker.Options = { failureCountThreshold: 5, slidingWindow: "30 seconds" }
   * ```
   * @since 0.2.0
   */
  readonly failureCountThreshold?: number | undefined
  /**
   * The window the failure and slow-call ratios are judged over: a duration (the calls of the last 60 s by default),
   * or `{ calls: n }`, the last `n` recorded calls whenever they were made (see {@link CallWindow}).
   */
  readonly slidingWindow?: Duration.DurationInput | CallWindow | undefined
  /**
   * No ratio is judged on fewer recorded calls than this (default 10); with a count window, on fewer than
   * `min(minimumThroughput, calls)`, so a full window is always judged (resilience4j's rule).
   */
  readonly minimumThroughput?: number | undefined
  readonly slowCallDuration?: Duration.DurationInput | undefined
  readonly slowCallRateThreshold?: number | undefined
  /**
   * How many probes may be in flight at once while half-open (default 1). It bounds concurrency, not the number of
   * probes: a probe that ends frees its slot for the next call.
   */
  readonly halfOpenMaxProbes?: number | undefined
  /**
   * How many probes must succeed before the breaker closes (default 1); with fewer slots than that they run in turn.
   * The count restarts whenever the breaker opens again.
   */
  readonly successThreshold?: number | undefined
  /**
   * How long a probe holds its slot (default: the pause that preceded this HalfOpen period, as Polly lets another
   * probe go once another break has passed; `Infinity`: for as long as it runs, as before 0.2.0). A probe still
   * running that long gives its slot back when the next call arrives or the state is read (no timer), and the next
   * call probes in its place. The probe is not given up: its outcome, when it comes while the breaker is still in
   * this HalfOpen period, counts like any probe's (a success towards `successThreshold`, a counted failure opens the
   * breaker again), so an upstream slower than the pause can still close the breaker; after a transition it changes
   * nothing. Without it a probe that never ends holds its slot, and the breaker half-open, for ever; in `Policy` the
   * attempt timeout ends probes too. After a pause of zero there is no default limit.
   *
   * @example
   * ```ts
   * import type { CircuitBreaker } from "@sturdy/policy"
   *
   * const options: CircuitBreaker.Options = { breakDuration: "30 seconds", maxProbeDuration: "5 seconds" }
   * ```
   * @since 0.2.0
   */
  readonly maxProbeDuration?: Duration.DurationInput | undefined
  /**
   * The pause before a probe: a duration (the same pause every time) or a `Schedule` stepped on every opening. The
   * schedule's input is the failure that opened the breaker (the counted typed failure of the call that tipped it, or
   * its defect; `undefined` when that call did not fail: slow calls, or a success that filled the window), so a
   * pause may follow what the upstream said (a 503's wait, say), as cockatiel's `halfOpenAfter` and resilience4j's
   * `waitIntervalFunctionInOpenState` see the failure. The step runs uninterruptibly, as part of the call that opens the breaker (an interrupted step would leave it open
   * with no end): keep a schedule's effects (`tapOutput`, say) short. A schedule that is done keeps its last pause
   * (60 s when it is done at its first step, as `Schedule.stop` is: never a pause of zero, and never open for ever,
   * which is `isolate`'s job). A step that dies pauses for the last pause again (60 s on the first opening), and the
   * call that opened the breaker gets the defect.
   */
  readonly breakDuration?: Duration.DurationInput | Schedule.Schedule<unknown, unknown> | undefined
  /**
   * Which failures count against the upstream (default: all); any other failure counts as a successful call. A
   * predicate (this one or `isIgnored`) that throws leaves the call unrecorded, as an ignored one (a probe gives its
   * slot back, as in resilience4j), and the caller gets the predicate's defect after its own failure. So does one
   * that returns a Promise (an `async` function), with a `TypeError`: the Promise would read as `true`.
   */
  readonly isFailure?: ((error: unknown) => boolean) | undefined
  /**
   * Failures that say nothing about the upstream (it was never reached, or the caller gave up): neither success nor
   * failure, as resilience4j's `ignoreExceptions`. Checked before `isFailure`. Policies' rejections always are.
   */
  readonly isIgnored?: ((error: unknown) => boolean) | undefined
}

/**
 * A count-based sliding window (`slidingWindow: { calls: 100 }`): the failure and slow-call ratios are judged over
 * the last `calls` recorded calls, however long ago they were made, as resilience4j's `COUNT_BASED` window of
 * `slidingWindowSize` calls and cockatiel's `CountBreaker({ size })`. It suits an upstream called at a very uneven
 * rate, where a time window holds 3 calls at night and 30,000 at noon. The ratios are judged once
 * `min(minimumThroughput, calls)` calls are recorded; ignored outcomes (`isIgnored`, a policy's rejection, an
 * interruption) and probes are not recorded; the window is emptied whenever the breaker opens or closes, as a
 * time window is. Each process counts its own calls (a `CircuitBreakerStore` shares transitions only). `calls` must
 * be an integer ≥ 1 (a `RangeError` naming `slidingWindow.calls` otherwise). A breaker keeps one small number per
 * call in the window; a registry counts a closed breaker with no call in 60 s as idle.
 *
 * @example
 * ```ts
 * import type { CircuitBreaker } from "@sturdy/policy"
 *
 * // open when half of the last 100 calls failed, judged from the 20th call on
 * const options: CircuitBreaker.Options = {
 *   failureRateThreshold: 0.5,
 *   slidingWindow: { calls: 100 },
 *   minimumThroughput: 20
 * }
 * ```
 * @since 0.2.0
 * @category models
 */
export interface CallWindow {
  readonly calls: number
}

/**
 * A circuit breaker for one upstream (one key).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CircuitBreaker } from "@sturdy/policy"
 *
 * const program = Effect.gen(function*() {
 *   const breaker = yield* CircuitBreaker.make("api.example.com")
 *   yield* breaker.isolate
 *   return yield* breaker.state
 * }).pipe(Effect.scoped)
 * ```
 * @since 0.1.0
 * @category models
 */
export interface CircuitBreaker {
  readonly key: string
  /** Runs `self` through the breaker (prefer {@link withBreaker}). */
  readonly run: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | CircuitOpen, R>
  readonly state: Effect.Effect<State>
  readonly snapshot: Effect.Effect<Snapshot>
  /**
   * Transitions, from the moment of subscription. With no timers, Open → HalfOpen is published when the first
   * call after the pause arrives (`state` already reports HalfOpen once the pause is over).
   */
  readonly changes: Stream.Stream<StateChange>
  /**
   * Subscribes now, for as long as the scope lives: the stream carries every transition from the moment this effect
   * returns, however late it is run (`changes` only sees those after the stream starts, in whatever fiber runs it).
   *
   * @since 0.1.0
   */
  readonly subscribe: Effect.Effect<Stream.Stream<StateChange>, never, Scope.Scope>
  /** Holds the breaker open until `reset`, whatever the upstream does. */
  readonly isolate: Effect.Effect<void>
  /** Closes the breaker and forgets its counts and its pause schedule. */
  readonly reset: Effect.Effect<void>
}

/**
 * Creates a breaker for `key`; its `changes` stream ends when the scope closes.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CircuitBreaker } from "@sturdy/policy"
 *
 * const breaker = CircuitBreaker.make("payments", { consecutiveFailures: 5 })
 * const program = Effect.scoped(Effect.flatMap(breaker, (b) => b.state))
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const make: (key: string, options?: Options) => Effect.Effect<CircuitBreaker, never, Scope.Scope> = internal.make

/**
 * Runs `self` through the breaker; fails fast with `CircuitOpen` while open.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CircuitBreaker } from "@sturdy/policy"
 *
 * const program = Effect.gen(function*() {
 *   const breaker = yield* CircuitBreaker.make("users")
 *   return yield* Effect.succeed("user").pipe(CircuitBreaker.withBreaker(breaker))
 * }).pipe(Effect.scoped)
 * ```
 * @since 0.1.0
 * @category combinators
 */
export const withBreaker: {
  (breaker: CircuitBreaker): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | CircuitOpen, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, breaker: CircuitBreaker): Effect.Effect<A, E | CircuitOpen, R>
} = internal.withBreaker

/**
 * Options of a {@link Registry}: the options every breaker gets, and how many breakers are kept.
 *
 * @example
 * ```ts
 * import type { CircuitBreaker } from "@sturdy/policy"
 *
 * const options: CircuitBreaker.RegistryOptions = { capacity: 1_000, breaker: { consecutiveFailures: 5 } }
 * ```
 * @since 0.1.0
 * @category models
 */
export interface RegistryOptions {
  /**
   * Breakers kept (default 10,000): beyond it the least recently used one that holds nothing a new breaker would not
   * know is dropped; an open breaker in its pause, probing or isolated is kept (see {@link RegistryService}). Not an
   * integer ≥ 1: a `RangeError` when the registry is made, as for invalid `breaker` options.
   */
  readonly capacity?: number | undefined
  readonly breaker?: Options | undefined
}

/**
 * One breaker per key (e.g. per host), created on first use and kept in an LRU map bounded by `capacity`, so 10⁵
 * distinct keys do not grow memory without limit. When a key is added, breakers idle for a sliding window (closed
 * with no call in it, or a pause over for a window) are dropped, and beyond `capacity` the least recently used
 * breaker that is closed, or whose pause is over with no probe in flight. A breaker dropped is forgotten (if its key
 * comes back it starts Closed); one that was not closed first publishes its transition to `Closed` on `changes`, so a
 * state gauge fed by them ends at the state the key starts in. A breaker open in its pause, probing or isolated is
 * never dropped: the registry grows past `capacity` rather than send calls to an upstream it knows is down (as
 * resilience4j and Polly never drop a breaker); such breakers are as many as the upstreams actually failing.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CircuitBreaker } from "@sturdy/policy"
 *
 * const program = Effect.gen(function*() {
 *   const registry = yield* CircuitBreaker.Registry
 *   const one = yield* Effect.succeed(1).pipe(registry.withBreaker("api.example.com"))
 *   return yield* registry.withBreaker(Effect.succeed(one + 1), "api.example.com")
 * }).pipe(Effect.provide(CircuitBreaker.layerRegistry({ capacity: 1_000 })))
 * ```
 * @since 0.1.0
 * @category models
 */
export interface RegistryService {
  readonly get: (key: string) => Effect.Effect<CircuitBreaker>
  /** Runs `self` behind the breaker of `key`: data-last (`pipe(registry.withBreaker(key))`) or data-first. */
  readonly withBreaker: {
    (key: string): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | CircuitOpen, R>
    <A, E, R>(self: Effect.Effect<A, E, R>, key: string): Effect.Effect<A, E | CircuitOpen, R>
  }
  readonly size: Effect.Effect<number>
  /** Transitions of every breaker in the registry, from the moment the stream starts running. */
  readonly changes: Stream.Stream<StateChange>
  /**
   * Subscribes now, for as long as the scope lives: the stream carries every transition from the moment this effect
   * returns, however late it is run (`changes` only sees those after the stream starts, in whatever fiber runs it).
   */
  readonly subscribe: Effect.Effect<Stream.Stream<StateChange>, never, Scope.Scope>
}

/**
 * The service tag of a breaker registry ({@link RegistryService}).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CircuitBreaker } from "@sturdy/policy"
 *
 * const size = Effect.flatMap(CircuitBreaker.Registry, (registry) => registry.size)
 * ```
 * @since 0.1.0
 * @category tags
 */
export class Registry extends Context.Tag("@sturdy/policy/CircuitBreaker/Registry")<Registry, RegistryService>() {}

/**
 * Creates a registry whose breakers live as long as the scope.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CircuitBreaker } from "@sturdy/policy"
 *
 * const program = Effect.scoped(Effect.flatMap(CircuitBreaker.makeRegistry({ capacity: 100 }), (r) => r.size))
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const makeRegistry: (options?: RegistryOptions) => Effect.Effect<RegistryService, never, Scope.Scope> =
  internal.makeRegistry

/**
 * A layer providing a {@link Registry}.
 *
 * @example
 * ```ts
 * import { CircuitBreaker } from "@sturdy/policy"
 *
 * const BreakersLive = CircuitBreaker.layerRegistry({ breaker: { failureRateThreshold: 0.5 } })
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layerRegistry = (options?: RegistryOptions): Layer.Layer<Registry> =>
  Layer.scoped(Registry, internal.makeRegistry(options))

/**
 * Runs `self` through the registry's breaker for `key`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CircuitBreaker } from "@sturdy/policy"
 *
 * const guarded = Effect.succeed("ok").pipe(CircuitBreaker.withBreakerFor("api.example.com"))
 * ```
 * @since 0.1.0
 * @category combinators
 */
export const withBreakerFor: {
  (key: string): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | CircuitOpen, R | Registry>
  <A, E, R>(self: Effect.Effect<A, E, R>, key: string): Effect.Effect<A, E | CircuitOpen, R | Registry>
} = dual(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, key: string): Effect.Effect<A, E | CircuitOpen, R | Registry> =>
    Effect.flatMap(Registry, (registry) => registry.withBreaker(key)(self))
)
