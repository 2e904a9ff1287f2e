import * as Hedge from "@sturdy/policy/Hedge"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"

/** One copy of a hedged call, answered by the test (as grpc-java's tests close a mock sub-stream's listener). */
export interface Copy<A, E> {
  readonly index: number
  readonly startedAt: number
  end: "done" | "interrupted" | undefined
  readonly reply: Deferred.Deferred<A, E>
}

/**
 * A hedged call whose copies wait until the test answers them: `call` is the attempt to hedge; `succeed(n, a)` and
 * `fail(n, e)` answer the n-th copy started (0-based, over every call made with `call`; within one call, its
 * `Hedge.currentIndex`) and let the hedge loop see it.
 */
export const makeCopies = <A, E>() => {
  const copies: Array<Copy<A, E>> = []
  const call: Effect.Effect<A, E> = Effect.gen(function*() {
    const copy: Copy<A, E> = {
      index: yield* FiberRef.get(Hedge.currentIndex),
      startedAt: yield* Clock.currentTimeMillis,
      end: undefined,
      reply: yield* Deferred.make<A, E>()
    }
    copies.push(copy)
    return yield* Deferred.await(copy.reply).pipe(Effect.onExit((exit) =>
      Effect.sync(() => {
        copy.end = Exit.isInterrupted(exit) ? "interrupted" : "done"
      })
    ))
  })
  const answer = (index: number, exit: Exit.Exit<A, E>) =>
    Effect.suspend(() => {
      const copy = copies[index]
      if (copy === undefined) throw new Error(`no copy ${index} was started`)
      return Effect.zipRight(Deferred.done(copy.reply, exit), settle)
    })
  return {
    call,
    copies,
    /** `[index, startedAt]` of every copy started so far */
    starts: () => copies.map((copy) => [copy.index, copy.startedAt] as const),
    /** `[index, end]` of every copy */
    ends: () => copies.map((copy) => [copy.index, copy.end] as const),
    succeed: (index: number, value: A) => answer(index, Exit.succeed(value)),
    fail: (index: number, error: E) => answer(index, Exit.fail(error))
  }
}

/** Lets the forked hedge loop and its copies run to their next wait. */
export const settle = Effect.repeatN(Effect.yieldNow(), 30)
