import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"

/**
 * A clock moved by hand whose sleeps never end: waiting callers stay put until they are interrupted. Moving it costs
 * nothing, where each `TestClock.adjust` yields to the scheduler (for loops of thousands of steps without sleeps).
 */
export const makeManualClock = (start = 1_000_000) => {
  let now = start
  const clock: Clock.Clock = {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => now,
    unsafeCurrentTimeNanos: () => BigInt(now) * 1_000_000n,
    currentTimeMillis: Effect.sync(() => now),
    currentTimeNanos: Effect.sync(() => BigInt(now) * 1_000_000n),
    sleep: () => Effect.never
  }
  return { clock, advance: (millis: number) => (now += millis), now: () => now }
}
