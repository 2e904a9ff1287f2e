import { Chunk, Effect, Exit, Fiber, Option, Stream, TestClock } from "effect"

/** Lets promise-based body reads and forked fibers run. */
export const settle = Effect.gen(function*() {
  for (let i = 0; i < 20; i++) {
    yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
    yield* Effect.yieldNow()
  }
})

/** Runs `stream` to its end, moving the TestClock to each sleep in turn. */
export const runOnClock = <A, E>(stream: Stream.Stream<A, E>, maxSteps = 100) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(Stream.runCollect(stream))
    for (let step = 0; step < maxSteps; step++) {
      yield* settle
      const done = yield* Fiber.poll(fiber)
      if (Option.isSome(done)) return Exit.map(done.value, Chunk.toReadonlyArray)
      const sleeps = Chunk.toReadonlyArray(yield* TestClock.sleeps())
      if (sleeps.length === 0) continue
      yield* TestClock.setTime(Math.min(...sleeps))
    }
    yield* Fiber.interrupt(fiber)
    throw new Error("the stream did not end")
  })
