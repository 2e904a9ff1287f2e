import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as HashSet from "effect/HashSet"
import type * as Option from "effect/Option"
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
