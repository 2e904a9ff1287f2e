import * as Effect from "effect/Effect"

/**
 * Counts the calls made to a store and those finished, so that a test can wait (in real time) for a store that
 * answers over the network: wrap each of the store's operations with `count`.
 */
export const callCounter = () => {
  const state = { started: 0, done: 0 }
  const count = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.suspend(() => {
      state.started++
      return Effect.ensuring(self, Effect.sync(() => state.done++))
    })
  return { state, count }
}

interface Counted {
  readonly state: { readonly started: number; readonly done: number }
}

/** The calls started on the stores so far. */
export const startedCalls = (stores: ReadonlyArray<Counted>): number => stores.reduce((n, s) => n + s.state.started, 0)

/**
 * Turns of the scheduler (no timer) until `atLeast` store calls were made and every one has answered; bounded by 10 s
 * of real time, since the answers come over the network.
 */
export const settle = (stores: ReadonlyArray<Counted>, atLeast: number): Effect.Effect<void> =>
  Effect.gen(function*() {
    const giveUpAt = performance.now() + 10_000
    for (;;) {
      const started = startedCalls(stores)
      if (started >= atLeast && stores.every((s) => s.state.done === s.state.started)) return
      if (performance.now() > giveUpAt) throw new Error(`the store did not answer: ${started} of ${atLeast} calls`)
      yield* Effect.yieldNow()
    }
  })
