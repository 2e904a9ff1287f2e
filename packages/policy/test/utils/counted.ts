import * as Effect from "effect/Effect"

/**
 * A call that counts how often it ran (failsafe-go's execution counters): `body` gets the number of this execution,
 * 1-based, and `executions` is how many have started.
 */
export const counted = <A, E>(body: (execution: number) => Effect.Effect<A, E>) => {
  const s: { executions: number; readonly call: Effect.Effect<A, E> } = {
    executions: 0,
    call: Effect.suspend(() => body(++s.executions))
  }
  return s
}
