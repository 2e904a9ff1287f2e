import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import { dual } from "effect/Function"
import { globalValue } from "effect/GlobalValue"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

/** @internal */
export class DeadlineExceeded extends Schema.TaggedError<DeadlineExceeded>("@sturdy/policy/DeadlineExceeded")(
  "DeadlineExceeded",
  {
    reason: Schema.Literal("deadline", "attempt-timeout"),
    timeout: Schema.DurationFromMillis
  }
) {
  override get message(): string {
    return this.reason === "deadline"
      ? `deadline of ${Duration.format(this.timeout)} exceeded`
      : `attempt timed out after ${Duration.format(this.timeout)}`
  }
}

/** @internal */
export interface Current {
  readonly at: number
  readonly timeout: Duration.Duration
  readonly reason: "deadline" | "attempt-timeout"
}

const none: Current = { at: Number.POSITIVE_INFINITY, timeout: Duration.infinity, reason: "deadline" }

/** @internal */
export const currentRef: FiberRef.FiberRef<Current> = globalValue(
  Symbol.for("@sturdy/policy/Deadline/currentRef"),
  () => FiberRef.unsafeMake(none)
)

/** @internal */
export const deadlineMillis: Effect.Effect<number> = Effect.map(FiberRef.get(currentRef), (current) => current.at)

/** @internal */
export const current: Effect.Effect<Option.Option<number>> = Effect.map(
  deadlineMillis,
  (at) => Number.isFinite(at) ? Option.some(at) : Option.none()
)

/** @internal */
export const remaining: Effect.Effect<Option.Option<Duration.Duration>> = Effect.flatMap(
  FiberRef.get(currentRef),
  (current) =>
    Number.isFinite(current.at)
      ? Effect.map(Clock.currentTimeMillis, (now) => Option.some(Duration.millis(Math.max(0, current.at - now))))
      : Effect.succeed(Option.none())
)

const limit = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  timeout: Duration.DurationInput,
  reason: "deadline" | "attempt-timeout"
): Effect.Effect<A, E | DeadlineExceeded, R> => {
  // decoded on first use (an invalid input still fails where it used to), then reused by every call
  let duration: Duration.Duration | undefined
  return Effect.flatMap(FiberRef.get(currentRef), (outer) =>
    Effect.clockWith((clock) => {
      const now = clock.unsafeCurrentTimeMillis()
      if (duration === undefined) duration = Duration.decode(timeout)
      const limitDuration = duration
      const own = now + Duration.toMillis(limitDuration)
      if (own >= outer.at) {
        if (outer.at <= now) {
          return Effect.fail(new DeadlineExceeded({ reason: outer.reason, timeout: outer.timeout }, true))
        }
        // The outer limit already arms a timer that interrupts `self`: a looser inner limit adds nothing but cost.
        return self
      }
      if (own <= now) {
        return Effect.fail(new DeadlineExceeded({ reason, timeout: limitDuration }, true))
      }
      // A hanging `self` must be interrupted, so a timer is unavoidable here. Measured per call (policy-cost.ts):
      // `Effect.timeoutFail` and `Effect.raceFirst` against a sleep cost about the same, and two self-managed daemon
      // fibers (child + alarm, no awaiting the loser) cost more: Effect's forks dominate either way.
      return Effect.locally(
        Effect.timeoutFail(self, {
          duration: Duration.millis(own - now),
          onTimeout: () => new DeadlineExceeded({ reason, timeout: limitDuration }, true)
        }),
        currentRef,
        { at: own, timeout: limitDuration, reason }
      )
    }))
}

/** @internal */
export const withDeadline = dual<
  (
    timeout: Duration.DurationInput
  ) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | DeadlineExceeded, R>,
  <A, E, R>(self: Effect.Effect<A, E, R>, timeout: Duration.DurationInput) => Effect.Effect<A, E | DeadlineExceeded, R>
>(2, (self, timeout) => limit(self, timeout, "deadline"))

/** @internal */
export const attemptTimeout = dual<
  (
    timeout: Duration.DurationInput
  ) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | DeadlineExceeded, R>,
  <A, E, R>(self: Effect.Effect<A, E, R>, timeout: Duration.DurationInput) => Effect.Effect<A, E | DeadlineExceeded, R>
>(2, (self, timeout) => limit(self, timeout, "attempt-timeout"))

/** @internal */
export const establish = dual<
  (timeout: Duration.DurationInput) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>,
  <A, E, R>(self: Effect.Effect<A, E, R>, timeout: Duration.DurationInput) => Effect.Effect<A, E, R>
>(
  2,
  (self, timeout) =>
    Effect.flatMap(FiberRef.get(currentRef), (outer) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const duration = Duration.decode(timeout)
        const at = now + Duration.toMillis(duration)
        const established: Current = { at, timeout: duration, reason: "deadline" }
        return at < outer.at ? Effect.locally(self, currentRef, established) : self
      }))
)

/** @internal */
export const ensureRemaining = (minimum: Duration.DurationInput): Effect.Effect<void, DeadlineExceeded> =>
  Effect.flatMap(FiberRef.get(currentRef), (current) =>
    Number.isFinite(current.at)
      ? Effect.flatMap(Clock.currentTimeMillis, (now) =>
        current.at - now < Duration.toMillis(minimum) || current.at <= now
          ? Effect.fail(new DeadlineExceeded({ reason: current.reason, timeout: current.timeout }, true))
          : Effect.void)
      : Effect.void)

/** @internal */
export const defaultHeaderName = "x-request-timeout-ms"

/** @internal */
export const header = (options?: {
  readonly name?: string | undefined
}): Effect.Effect<Option.Option<readonly [name: string, value: string]>> =>
  Effect.map(
    remaining,
    Option.map((left) => [options?.name ?? defaultHeaderName, String(Math.floor(Duration.toMillis(left)))] as const)
  )
