/**
 * Caps how many calls run at once against one upstream, with a bounded queue and a bounded wait.
 *
 * | option          | default    | meaning                                                        |
 * | --------------- | ---------- | -------------------------------------------------------------- |
 * | `maxConcurrent` | (required) | calls running at once                                          |
 * | `maxQueued`     | `0`        | calls waiting for a permit; beyond this, `BulkheadRejected` "Full" |
 * | `maxWait`       | unbounded  | longest wait in the queue; beyond it, `BulkheadRejected` "Timeout" |
 *
 * `make` throws a `RangeError` naming the option (a defect) for a `maxConcurrent` that is not an integer ≥ 1, a
 * `maxQueued` that is not an integer ≥ 0 (either may be `Infinity`), or a `maxWait` that is not a duration, is
 * negative (Effect would read `-1` as zero) or is longer than a timer can hold (2^31 − 1 ms, about 24.8 days).
 *
 * A queued call never waits past the current deadline either: under `Deadline.establish` (no timer) the wait ends
 * with `BulkheadRejected` "Timeout" when the deadline passes; under `Deadline.withDeadline` its timer interrupts it.
 * Both `maxWait` and an established deadline end the wait in an uninterruptible region too (the `acquire` of
 * `Effect.acquireRelease`), which stays uninterruptible: an interruption waits for the wait to end.
 *
 * A permit is released when the call succeeds, fails, dies or is interrupted, including while it waits in the
 * queue. Queued callers are served before newcomers, in the order they came; a caller that stops waiting (timed
 * out or interrupted) leaves the queue at once, so the queue holds at most `maxQueued` callers even while the
 * permit holders hang. A `BulkheadRejected` is never counted as a failure by a circuit breaker or an adaptive
 * throttle.
 *
 * The limit holds for one process. For a limit that holds for every process that calls the upstream ("at most 10
 * requests in flight per API key"), use `BulkheadStore.make` with `BulkheadRedis.layerStore`; `Policy` does so when
 * a `BulkheadStore` is in its context.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as internal from "./internal/bulkhead.js"

/**
 * The failure of a call the bulkhead turned away: `"Full"` when the queue was full, `"Timeout"` when no permit
 * came within `maxWait` (or before an established deadline).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { Bulkhead } from "@sturdy/policy"
 *
 * const shed = (self: Effect.Effect<string, Bulkhead.BulkheadRejected>) =>
 *   self.pipe(Effect.catchTag("BulkheadRejected", (e) => Effect.succeed(`busy (${e.reason})`)))
 * ```
 * @since 0.1.0
 * @category errors
 */
export const BulkheadRejected: typeof internal.BulkheadRejected = internal.BulkheadRejected

/**
 * The instance type of {@link BulkheadRejected}.
 *
 * @example
 * ```ts
 * import type { Bulkhead } from "@sturdy/policy"
 *
 * const wasFull = (e: Bulkhead.BulkheadRejected) => e.reason === "Full"
 * ```
 * @since 0.1.0
 * @category errors
 */
export interface BulkheadRejected extends internal.BulkheadRejected {}

/**
 * Whether `u` is a {@link BulkheadRejected} failure (for either reason).
 *
 * @example
 * ```ts
 * import { Bulkhead } from "@sturdy/policy"
 *
 * const shed = (failure: unknown) => Bulkhead.isBulkheadRejected(failure) && failure.reason === "Full"
 * ```
 * @since 0.2.0
 * @category refinements
 */
export const isBulkheadRejected = (u: unknown): u is BulkheadRejected => Predicate.isTagged(u, "BulkheadRejected")

/**
 * Options of a bulkhead; see the module docs for the defaults.
 *
 * @example
 * ```ts
 * import type { Bulkhead } from "@sturdy/policy"
 *
 * const options: Bulkhead.Options = { key: "search", maxConcurrent: 10, maxQueued: 50, maxWait: "2 seconds" }
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** A label carried by `BulkheadRejected` (default `"default"`). */
  readonly key?: string | undefined
  /** Calls running at once: an integer ≥ 1, or `Infinity`. */
  readonly maxConcurrent: number
  /** Calls waiting for a permit (default 0: none wait): an integer ≥ 0, or `Infinity`. */
  readonly maxQueued?: number | undefined
  /** The longest a call waits in the queue (default: no limit but the deadline). */
  readonly maxWait?: Duration.DurationInput | undefined
}

/**
 * A bulkhead: a concurrency limit with a bounded queue.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Bulkhead } from "@sturdy/policy"
 *
 * const load = Effect.flatMap(Bulkhead.make({ maxConcurrent: 2 }), (bulkhead) => bulkhead.snapshot)
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Bulkhead {
  readonly key: string
  /** Runs `self` holding a permit (prefer {@link withBulkhead}). */
  readonly run: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | BulkheadRejected, R>
  /** Calls running and calls waiting, now. */
  readonly snapshot: Effect.Effect<{ readonly active: number; readonly queued: number }>
}

/**
 * Creates a bulkhead. Throws a `RangeError` naming the option (a defect of `make`) for a `maxConcurrent` that is
 * not an integer ≥ 1, a `maxQueued` that is not an integer ≥ 0, or a negative `maxWait` or one a timer cannot hold.
 *
 * @example
 * ```ts
 * import { Bulkhead } from "@sturdy/policy"
 *
 * const bulkhead = Bulkhead.make({ maxConcurrent: 10, maxQueued: 100, maxWait: "1 second" })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const make: (options: Options) => Effect.Effect<Bulkhead> = internal.make

/**
 * Runs `self` once the bulkhead grants a permit; fails with `BulkheadRejected` when it cannot.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Bulkhead } from "@sturdy/policy"
 *
 * const program = Effect.gen(function*() {
 *   const bulkhead = yield* Bulkhead.make({ maxConcurrent: 1 })
 *   return yield* Effect.succeed("done").pipe(Bulkhead.withBulkhead(bulkhead))
 * })
 * ```
 * @since 0.1.0
 * @category combinators
 */
export const withBulkhead: {
  (bulkhead: Bulkhead): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | BulkheadRejected, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, bulkhead: Bulkhead): Effect.Effect<A, E | BulkheadRejected, R>
} = internal.withBulkhead
