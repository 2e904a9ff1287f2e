import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"

/**
 * A clock whose wall-clock reading (`currentTimeMillis`) can be stepped, as an NTP correction steps a machine's clock,
 * while its monotonic reading (`currentTimeNanos`) and sleeps stay those of the clock it wraps (the
 * `TestClock` in a test). `step` moves the wall reading by the given milliseconds, for every later reading.
 */
export const wallClockStep: Effect.Effect<{
  readonly clock: Clock.Clock
  readonly step: (millis: number) => void
}> = Effect.map(Effect.clock, (base) => {
  let offset = 0
  const unsafeCurrentTimeMillis = () => base.unsafeCurrentTimeMillis() + offset
  const clock: Clock.Clock = {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis,
    unsafeCurrentTimeNanos: () => base.unsafeCurrentTimeNanos(),
    currentTimeMillis: Effect.sync(unsafeCurrentTimeMillis),
    currentTimeNanos: base.currentTimeNanos,
    sleep: (duration) => base.sleep(duration)
  }
  return {
    clock,
    step: (millis) => {
      offset += millis
    }
  }
})
