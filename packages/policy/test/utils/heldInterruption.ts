import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as HashSet from "effect/HashSet"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { expect } from "vitest"

/**
 * Checks the exit of a fiber that ran an uninterruptible region and was interrupted from outside (by `interrupter`)
 * while in it. Effect holds the interruption off until the region ends, and then the fiber ends with it: a region
 * that failed ends as `Sequential(Fail(error), Interrupt(interrupter))` (its failure, then the interruption); one
 * that succeeded loses its value and ends as `Interrupt(interrupter)` alone. Returns the region's failure, if any.
 */
export const heldInterruption = <A, E>(
  exit: Exit.Exit<A, E>,
  interrupter: Fiber.Fiber<unknown, unknown>
): Option.Option<E> => {
  if (Exit.isSuccess(exit)) throw new Error("expected the held interruption, the fiber succeeded")
  expect(HashSet.toValues(Cause.interruptors(exit.cause))).toEqual([interrupter.id()])
  expect(Cause.isDie(exit.cause)).toBe(false)
  return Cause.failureOption(exit.cause)
}

/**
 * Runs `self` inside `Effect.uninterruptible` on the `TestClock`, interrupts it from outside `interruptAfter` in, and
 * checks that the region still runs to `endsAfter` (counted from the interruption): not done a millisecond before,
 * done then, with the interruption held until then (`heldInterruption`). `beforeEnd` runs a millisecond before the
 * end, for the test's own checks. Returns the region's failure, if any.
 */
export const interruptedWhileMasked = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  options: {
    readonly interruptAfter: Duration.DurationInput
    readonly endsAfter: Duration.DurationInput
    readonly beforeEnd?: Effect.Effect<void> | undefined
  }
): Effect.Effect<Option.Option<E>, never, R> =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(Effect.uninterruptible(self))
    yield* TestClock.adjust(options.interruptAfter)
    const interrupter = yield* Effect.fork(Fiber.interrupt(fiber))
    yield* TestClock.adjust(Duration.subtract(options.endsAfter, Duration.millis(1)))
    expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
    if (options.beforeEnd !== undefined) yield* options.beforeEnd
    yield* TestClock.adjust("1 millis")
    const exit = yield* Fiber.poll(fiber)
    expect(Option.isSome(exit)).toBe(true)
    const failure = heldInterruption(Option.getOrThrow(exit), interrupter)
    yield* Fiber.join(interrupter)
    return failure
  })
