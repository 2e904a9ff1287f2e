import type { Bulkhead } from "@sturdy/policy"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"

/**
 * A call through `bulkhead` (wrapped by `around`, e.g. a `Deadline`) that, once it has a permit, holds it until
 * `release`: the `Acquire`…`Release` pair of a semaphore. `fiber` is the call; `outcome` polls it: `"held"` while it
 * runs with its permit, `"waiting"` while it is queued, or its exit once it has ended.
 */
export const holdPermit = <E = never>(
  bulkhead: Bulkhead.Bulkhead,
  around: (
    self: Effect.Effect<void, Bulkhead.BulkheadRejected>
  ) => Effect.Effect<void, Bulkhead.BulkheadRejected | E> = (self) => self
) =>
  Effect.gen(function*() {
    const gate = yield* Deferred.make<void>()
    let holding = false
    let entered = false
    const call = bulkhead.run(Effect.zipRight(Effect.sync(() => (holding = true)), Deferred.await(gate)))
    const fiber = yield* Effect.fork(around(Effect.zipRight(Effect.sync(() => (entered = true)), call)))
    // let the call reach the bulkhead, and then run, queue or be turned away (a deadline around it forks fibers)
    for (let turn = 0; turn < 8 || (!entered && turn < 100); turn++) yield* Effect.yieldNow()
    const outcome = Effect.map(
      Fiber.poll(fiber),
      (done): "held" | "waiting" | Exit.Exit<void, Bulkhead.BulkheadRejected | E> =>
        Option.isSome(done) ? done.value : holding ? "held" : "waiting"
    )
    return {
      fiber,
      outcome,
      release: Effect.zipRight(Deferred.succeed(gate, undefined), Fiber.await(fiber))
    }
  })
