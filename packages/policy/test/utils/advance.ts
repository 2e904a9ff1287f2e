import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
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

/**
 * Runs `effect`, moving the TestClock to each pending sleep in turn until it completes (Go's fake timer's
 * `advanceToTimer`), so the clock stops when the effect ends, not a minute later; after `steps` moves it is awaited as
 * it is. `onSleeps`, when given, is told before each move how far ahead of now each pending sleep ends (milliseconds).
 * `turns` is how many turns of the scheduler the effect gets to end before the clock moves (an effect that ends
 * through several fibers, as a call over a `ScriptedClient` does, may need more than the default 8).
 */
export const advanceToDone = <A, E>(
  effect: Effect.Effect<A, E>,
  steps = 10_000,
  onSleeps?: (ahead: ReadonlyArray<number>) => void,
  turns = 8
) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* Effect.yieldNow()
    for (let i = 0; i < steps; i++) {
      // what a wake-up set off may take a few turns of the scheduler to end the effect: let it, before moving on
      for (let turn = 0; turn < turns; turn++) {
        const done = yield* Fiber.poll(fiber)
        if (Option.isSome(done)) return done.value
        yield* Effect.yieldNow()
      }
      const sleeps = yield* TestClock.sleeps()
      const now = yield* Clock.currentTimeMillis
      onSleeps?.(Chunk.toReadonlyArray(sleeps).map((at) => at - now))
      if (Chunk.isEmpty(sleeps)) yield* Effect.yieldNow()
      else yield* TestClock.adjust(Duration.millis(Math.max(0, Math.min(...sleeps) - now)))
    }
    return yield* Fiber.await(fiber)
  })

/**
 * Moves the TestClock to each pending sleep in turn (as `advanceToDone`) until `condition` holds, and fails the test
 * if it never does: a `queue.onEmpty()` / `onSizeLessThan()` style wait on state read from outside the fibers.
 */
export const advanceUntil = (condition: Effect.Effect<boolean>, steps = 10_000) =>
  Effect.gen(function*() {
    for (let i = 0; i < steps; i++) {
      for (let turn = 0; turn < 8; turn++) {
        if (yield* condition) return
        yield* Effect.yieldNow()
      }
      const sleeps = yield* TestClock.sleeps()
      if (Chunk.isEmpty(sleeps)) continue
      const now = yield* Clock.currentTimeMillis
      yield* TestClock.adjust(Duration.millis(Math.max(0, Math.min(...sleeps) - now)))
    }
    return yield* Effect.dieMessage("advanceUntil: the condition never held")
  })
