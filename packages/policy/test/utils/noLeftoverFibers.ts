import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"

/**
 * Runs `self` and checks that it leaves no root fiber behind (a daemon timer, a loop, a disconnected request): the
 * count of `Fiber.roots` after it, once the fibers it stopped have had a few steps to end, is the count before it. A
 * fiber forked inside a caller's mask inherits it and ignores the interruption meant to stop it; this is how such a
 * leak shows under a TestClock.
 */
export const noLeftoverFibers = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.gen(function*() {
    const before = (yield* Fiber.roots).length
    const result = yield* self
    yield* Effect.repeatN(Effect.yieldNow(), 30)
    const left = (yield* Fiber.roots).length - before
    if (left !== 0) return yield* Effect.dieMessage(`${left} fiber(s) left behind`)
    return result
  })
