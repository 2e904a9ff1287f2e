import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"

/**
 * Runs `effect`, moving the TestClock a minute (or `step`) at a time until it completes (every sleep wakes at its own
 * time), as Polly's `ExecuteAndAdvance` does; after `steps` steps it is awaited as it is. A smaller `step` keeps the
 * clock from running far past the effect's end (a sliding window that must not pass between two calls).
 */
export const advance = <A, E>(effect: Effect.Effect<A, E>, steps = 10_000, step: Duration.DurationInput = "1 minute") =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    for (let i = 0; i < steps; i++) {
      const done = yield* Fiber.poll(fiber)
      if (Option.isSome(done)) return done.value
      yield* TestClock.adjust(step)
    }
    return yield* Fiber.await(fiber)
  })
