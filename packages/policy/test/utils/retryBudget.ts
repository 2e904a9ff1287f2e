import type * as RetryBudget from "@sturdy/policy/RetryBudget"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { advance } from "./advance.js"

/**
 * Runs `effect` on the TestClock (as `advance`) and reads the budget's stats of `key` the moment it ends, before
 * the window that counted it passes: its exit and the stats.
 */
export const statsAfter = <A, E>(effect: Effect.Effect<A, E>, budget: RetryBudget.RetryBudget.Service, key: string) =>
  Effect.map(
    advance(Effect.zip(Effect.exit(effect), budget.stats(key))),
    Exit.getOrElse((): never => {
      throw new Error("unreachable: the exit is caught")
    })
  )

/** A budget that records the keys it was asked to withdraw from (a mocked quota's `called`). */
export const recording = (budget: RetryBudget.RetryBudget.Service) => {
  const withdrawn: Array<string> = []
  const service: RetryBudget.RetryBudget.Service = {
    ...budget,
    withdraw: (key) => Effect.zipRight(Effect.sync(() => withdrawn.push(key)), budget.withdraw(key))
  }
  return { service, withdrawn }
}
