import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Runtime from "effect/Runtime"
import * as Scope from "effect/Scope"
import type { Client } from "./harness.js"

/**
 * Adapts an Effect-based contender to the harness: `layer` is built once, `setup` runs once on it (in a scope closed
 * with the client) and returns the per-request effect, and each `request` runs that effect as its own fiber on the
 * runtime, as a Promise-based caller (a route handler, say) would.
 */
export const effectClient = async <R, LE, SE>(
  layer: Layer.Layer<R, LE>,
  setup: Effect.Effect<Effect.Effect<unknown, unknown, NoInfer<R>>, SE, NoInfer<R> | Scope.Scope>
): Promise<Client> => {
  const managed = ManagedRuntime.make(layer)
  const runtime = await managed.runtime()
  const run = Runtime.runPromise(runtime)
  const scope = await run(Scope.make())
  const request = await run(Effect.provideService(setup, Scope.Scope, scope))
  return {
    request: () => run(request).then(() => undefined),
    close: async () => {
      await run(Scope.close(scope, Exit.void))
      await managed.dispose()
    }
  }
}
