import * as Backoff from "@sturdy/policy/Backoff"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as Interval from "effect/ScheduleInterval"
import { stepDelays } from "./stepDelays.js"

/**
 * The built-in policies of cats-retry's `RetryPolicies` and Haskell retry's `Control.Retry`, as Sturdy schedules
 * (milliseconds). Their "retry n" (`retriesSoFar`, `rsIterNumber`, 0-based) is the schedule's (n + 1)-th step.
 */

/** The longest delay a Sturdy schedule asks for: what a timer can hold (2^31 − 1 ms). */
export const maxTimerMillis = 2 ** 31 - 1

const unbounded = { maxAttempts: Infinity, maxDelay: Infinity } as const

/** `constantDelay(d)`: every retry waits `d`, without end. */
export const constantDelay = (delay: Duration.DurationInput) =>
  Backoff.exponential({ ...unbounded, baseDelay: delay, factor: 1, jitter: "none" })

/** `exponentialBackoff(base)`: base × 2ⁿ, without end. */
export const exponentialBackoff = (base: Duration.DurationInput) =>
  Backoff.exponential({ ...unbounded, baseDelay: base, jitter: "none" })

/** `fullJitter(base)` / `fullJitterBackoff base`: random(0, base × 2ⁿ), without end. */
export const fullJitter = (base: Duration.DurationInput) =>
  Backoff.exponential({ ...unbounded, baseDelay: base, jitter: "full" })

/** `fibonacciBackoff(base)`: Effect's `Schedule.fibonacci` under Sturdy's `Backoff.bounded` (the documented way). */
export const fibonacciBackoff = (base: Duration.DurationInput) => Backoff.bounded(Schedule.fibonacci(base), {})

/** `limitRetries(n)`: n retries without delay, then give up (Sturdy counts the first attempt: n + 1 attempts). */
export const limitRetries = (retries: number) =>
  Backoff.bounded(Backoff.fromDelay(() => 0), { maxAttempts: retries + 1 })

/** `alwaysGiveUp`: no retry at all. */
export const alwaysGiveUp = limitRetries(0)

/**
 * A policy given as a table of decisions, cats-retry's arbitrary `(Res, RetryStatus) => PolicyDecision`: step n
 * answers `table[n]` milliseconds, or gives up for `null` (and past the table's end). It counts every step, a give-up
 * included, so that under `Schedule.union` it is consulted afresh at each retry, as cats-retry's policies are.
 */
export const decisions = (table: ReadonlyArray<number | null>): Schedule.Schedule<number, unknown> =>
  Schedule.makeWithState(0, (now, _input: unknown, step) => {
    const delay = table[step] ?? null
    return Effect.succeed(
      delay === null
        ? [step + 1, 0, ScheduleDecision.done] as const
        : [step + 1, delay, ScheduleDecision.continueWith(Interval.after(now + delay))] as const
    )
  })

/** The delays of the first `steps` retries (fewer if the schedule gives up first), attempts taking no time. */
export const delaysOf = (schedule: Schedule.Schedule<unknown, unknown>, steps: number, seed = 0): Array<number> =>
  stepDelays(schedule, new Array<undefined>(steps).fill(undefined), 0, seed)

/** The decision for retry `n` (0-based): its delay, or `"GiveUp"` if the schedule gave up at or before it. */
export const decisionAt = (schedule: Schedule.Schedule<unknown, unknown>, n: number, seed = 0): number | "GiveUp" => {
  const delays = delaysOf(schedule, n + 1, seed)
  return delays.length > n ? delays[n]! : "GiveUp"
}
