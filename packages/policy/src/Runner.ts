/**
 * Runs Effects from Promise code (a route handler, a callback, a job queue's consumer) on a pool of long-lived
 * fibers, instead of a new root fiber per call as `Runtime.runPromise` makes.
 *
 * Each root fiber costs Effect more than the fiber: it is added to a global set of root fibers and gets a scheduler
 * runner of its own, and what it allocates lives until it ends. A `Runner` hands each call to a parked worker fiber
 * (or starts one when none is parked), and the worker settles the call's Promise as the end of a root fiber would:
 *
 * - the call starts at once, in the caller's stack, as `Runtime.runPromise` starts a root fiber: its first steps
 *   have run when `runPromise` returns;
 * - the call starts from the runtime's refs, and runs on the runtime's scheduler (a `FiberRef` a call sets does not
 *   reach the next call on that worker);
 * - the fibers a call forks (`Effect.fork`) are interrupted, and awaited, before its Promise settles; daemon fibers
 *   (`Effect.forkDaemon`) and fibers forked into a scope are left alone;
 * - the Promise resolves with the value, or rejects with the `FiberFailure` of the cause (`Runtime.isFiberFailure`),
 *   exactly what `Runtime.runPromise` gives;
 * - a call with an `AbortSignal` runs on a root fiber of its own, as `Runtime.runPromise` would run it, so that
 *   aborting interrupts that call alone.
 *
 * What differs: calls on one worker share its fiber id (logs and `Effect.fiberId` show the worker's), and a
 * `Supervisor` sees the workers rather than one fiber per call.
 *
 * | option    | default | meaning                                                                    |
 * | --------- | ------- | -------------------------------------------------------------------------- |
 * | `maxIdle` | `128`   | workers kept parked when idle; past it a worker ends after its call (0: none) |
 *
 * `make` runs on the runtime of the fiber that makes it and closes with its scope; `unsafeMake` takes a runtime
 * (a `ManagedRuntime`'s, say) and is closed with `close()`. Closing ends the parked workers; busy ones end after their
 * call, and calls made after closing run on root fibers (`Runtime.runPromise`), so nothing is lost.
 *
 * What it saves is measured in `bench/README.md` (`pnpm bench`, the rows "via Runner"): a call allocates less than
 * with a root fiber, and a Promise caller of `Attempt.json` ran faster through a `Runner` in every run there.
 *
 * @since 0.2.0
 */
import type * as Effect from "effect/Effect"
import type * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/runner.js"

/**
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** Workers kept parked when idle (an integer ≥ 0; default 128). */
  readonly maxIdle?: number | undefined
}

/**
 * Runs effects that need `R` from Promise code.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Runner } from "@sturdy/policy"
 *
 * const program = Effect.scoped(
 *   Effect.gen(function*() {
 *     const runner = yield* Runner.make()
 *     // a route handler would do this per request
 *     return yield* Effect.promise(() => runner.runPromise(Effect.succeed(42)))
 *   })
 * )
 * ```
 * @since 0.2.0
 * @category models
 */
export interface Runner<in R> {
  /**
   * Runs `effect` and settles the Promise with its outcome, as `Runtime.runPromise` does. With a `signal`, the
   * call runs on a root fiber of its own, which aborting interrupts.
   */
  readonly runPromise: <A, E>(
    effect: Effect.Effect<A, E, R>,
    options?: { readonly signal?: AbortSignal | undefined }
  ) => Promise<A>
  /** Ends the parked workers; later calls run on root fibers. Idempotent. */
  readonly close: () => void
  /** Workers parked now. */
  readonly idle: number
  /** Calls running on workers now. */
  readonly busy: number
}

/**
 * The default of `maxIdle`.
 *
 * @since 0.2.0
 * @category constants
 */
export const defaultMaxIdle: number = internal.defaultMaxIdle

/**
 * A runner on the runtime of the fiber that makes it (its context, refs and scheduler), closed with the scope.
 * Throws a `RangeError` (a defect) for a `maxIdle` that is not an integer ≥ 0.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Runner } from "@sturdy/policy"
 *
 * const runner = Runner.make({ maxIdle: 64 })
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const make: <R = never>(options?: Options) => Effect.Effect<Runner<R>, never, R | Scope.Scope> = internal.make

/**
 * A runner on `runtime`, for code outside Effect (with a `ManagedRuntime`, `await managed.runtime()`); call `close()`
 * when done. Throws a `RangeError` for a `maxIdle` that is not an integer ≥ 0.
 *
 * @example
 * ```ts
 * import { Effect, ManagedRuntime, Layer } from "effect"
 * import { Runner } from "@sturdy/policy"
 *
 * const managed = ManagedRuntime.make(Layer.empty)
 * const main = async () => {
 *   const runner = Runner.unsafeMake(await managed.runtime())
 *   const answer = await runner.runPromise(Effect.succeed(42))
 *   runner.close()
 *   await managed.dispose()
 *   return answer
 * }
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const unsafeMake: <R>(runtime: Runtime.Runtime<R>, options?: Options) => Runner<R> = internal.unsafeMake
