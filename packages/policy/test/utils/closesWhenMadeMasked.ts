import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"

/**
 * Whether a scope that `make` was built into inside an uninterruptible region (as in the `acquire` of
 * `acquireRelease`) still closes: a loop `make` forks inherits the region, and a loop that ignores its interruption
 * holds the close for ever. Runs on the TestClock: a minute of virtual time lets any finalizer's timer fire.
 */
export const closesWhenMadeMasked = <A, E, R>(make: Effect.Effect<A, E, R | Scope.Scope>) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    yield* Effect.uninterruptible(Scope.extend(make, scope))
    const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
    yield* TestClock.adjust("1 minute")
    const closed = Option.isSome(yield* Fiber.poll(closing))
    if (!closed) yield* Fiber.interrupt(closing).pipe(Effect.fork)
    return closed
  })
