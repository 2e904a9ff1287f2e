import * as Runner from "@sturdy/policy/Runner"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Runtime from "effect/Runtime"
import * as Scope from "effect/Scope"
import type { Client, Sample, Stop } from "./harness.js"
import { keepGoing, LoadRecorder } from "./harness.js"

/**
 * A load run inside Effect, as a workflow written in Effect makes its requests: `concurrency` fibers of one program,
 * each running `request` one after the other until the stop condition, with no Promise between requests. Each
 * request's latency is taken from the loop's own check and step (`Effect.whileLoop`), so the loop adds no Effect
 * step and no closure per request. The first failure fails the load (and interrupts the other fibers).
 */
export const nativeLoad = <E, R>(
  request: Effect.Effect<unknown, E, R>,
  concurrency: number,
  stop: Stop
): Effect.Effect<Sample, E, R> =>
  Effect.suspend(() => {
    let started = 0
    const recorder = new LoadRecorder()
    const more = keepGoing(stop, () => started, recorder.start)
    const worker = () => {
      let sent = 0
      return Effect.whileLoop({
        while: () => {
          if (!more()) return false
          started++
          sent = performance.now()
          return true
        },
        body: () => request,
        step: () => recorder.record(performance.now() - sent)
      })
    }
    return Effect.zipRight(
      Effect.forEach(Array.from({ length: concurrency }), worker, { concurrency: "unbounded", discard: true }),
      Effect.sync(() => recorder.sample())
    )
  })

/**
 * How a Promise caller runs each request: its own root fiber (`Runtime.runPromise`), or `@sturdy/policy`'s `Runner`
 * (a pool of long-lived fibers).
 */
export type PromiseCaller = "runPromise" | "Runner"

/**
 * Adapts an Effect-based contender to the harness: `layer` is built once, `setup` runs once on it (in a scope closed
 * with the client) and returns the per-request effect, and each `request` runs that effect as a Promise-based caller
 * (a route handler, say) would: as its own fiber on the runtime (`Runtime.runPromise`), or through a `Runner` made
 * on the runtime when `caller` says so. `native` runs a whole load as one Effect program on the same runtime
 * (`nativeLoad`), as an Effect-native caller would.
 */
export const effectClient = async <R, LE, SE>(
  layer: Layer.Layer<R, LE>,
  setup: Effect.Effect<Effect.Effect<unknown, unknown, NoInfer<R>>, SE, NoInfer<R> | Scope.Scope>,
  caller: PromiseCaller = "runPromise"
): Promise<Client> => {
  const managed = ManagedRuntime.make(layer)
  const runtime = await managed.runtime()
  const run = Runtime.runPromise(runtime)
  const scope = await run(Scope.make())
  const request = await run(Effect.provideService(setup, Scope.Scope, scope))
  const runner = caller === "Runner" ? Runner.unsafeMake(runtime) : undefined
  return {
    request: runner === undefined
      ? () => run(request).then(() => undefined)
      : () => runner.runPromise(request).then(() => undefined),
    native: (concurrency, stop) => run(nativeLoad(request, concurrency, stop)),
    close: async () => {
      runner?.close()
      await run(Scope.close(scope, Exit.void))
      await managed.dispose()
    }
  }
}
