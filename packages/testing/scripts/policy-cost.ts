/**
 * Per-call cost of each policy's happy path around `Effect.void`, in nanoseconds, net of running `Effect.void`
 * itself the same way. Not a test: run it with `pnpm example packages/testing/scripts/policy-cost.ts [calls]`.
 *
 * Every case is an Effect built once and run `calls` times in a loop inside one fiber, the way a client runs its
 * guarded call; the best of five rounds is reported, after a warm-up round. Time is the process's CPU time (not wall
 * time), so that other processes on a busy machine disturb the figures less.
 */
import { Bulkhead, CircuitBreaker, Deadline, Retry, RetryBudget } from "@sturdy/policy"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"

const calls = Number(process.argv[2] ?? 20_000)
const rounds = 5

const loop = <R>(effect: Effect.Effect<unknown, unknown, R>): Effect.Effect<void, unknown, R> =>
  Effect.suspend(() => {
    let index = 0
    return Effect.whileLoop({
      while: () => index++ < calls,
      body: () => effect,
      step: () => {}
    })
  })

// The default scheduler, as in an application: `runSync` would run forked fibers (a timeout's timer) differently.
const time = async (
  effect: Effect.Effect<unknown, unknown, RetryBudget.RetryBudget>,
  budget: RetryBudget.RetryBudget.Service
): Promise<number> => {
  // the budget is provided around the loop, as an application provides it once
  const program = Effect.provideService(loop(effect), RetryBudget.RetryBudget, budget)
  await Effect.runPromise(program)
  let best = Number.POSITIVE_INFINITY
  for (let round = 0; round < rounds; round++) {
    const started = process.cpuUsage()
    await Effect.runPromise(program)
    const used = process.cpuUsage(started)
    best = Math.min(best, (used.user + used.system) * 1_000 / calls)
  }
  return best
}

const main = Effect.gen(function*() {
  const scope = yield* Scope.make()
  const breaker = yield* Scope.extend(CircuitBreaker.make("bench"), scope)
  const bulkhead = yield* Bulkhead.make({ maxConcurrent: 10 })
  const budget = RetryBudget.unsafeMake()
  const cases: ReadonlyArray<readonly [string, Effect.Effect<unknown, unknown, RetryBudget.RetryBudget>]> = [
    ["Retry.retry (success)", Retry.retry(Effect.void)],
    ["Retry.retry with budget (success)", Retry.retry(Effect.void, { budgetKey: "bench" })],
    ["RetryBudget deposit", budget.deposit("bench")],
    ["Deadline.withDeadline (success)", Deadline.withDeadline(Effect.void, "10 seconds")],
    ["Deadline.attemptTimeout (success)", Deadline.attemptTimeout(Effect.void, "1 second")],
    [
      "attemptTimeout inside withDeadline",
      Deadline.withDeadline(Deadline.attemptTimeout(Effect.void, "1 second"), "10 seconds")
    ],
    ["CircuitBreaker.withBreaker (closed)", CircuitBreaker.withBreaker(Effect.void, breaker)],
    ["Bulkhead.withBulkhead (uncontended)", Bulkhead.withBulkhead(Effect.void, bulkhead)]
  ]
  const baseline = yield* Effect.promise(() => time(Effect.void, budget))
  console.log(`Effect.void itself: ${baseline.toFixed(0)} ns/call of CPU (${calls} calls, best of ${rounds})`)
  for (const [name, effect] of cases) {
    const total = yield* Effect.promise(() => time(effect, budget))
    console.log(`${name.padEnd(40)} ${(total - baseline).toFixed(0).padStart(6)} ns/call`)
  }
  yield* Scope.close(scope, Exit.void)
})

Effect.runPromise(main).catch((error) => {
  console.error(error)
  process.exitCode = 1
})
