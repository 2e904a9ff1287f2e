import type * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import type * as FiberRef from "effect/FiberRef"
import type * as FiberRefs from "effect/FiberRefs"
import type * as Scheduler from "effect/Scheduler"

/**
 * What this package uses of Effect 3's running fiber beyond its public API, each to be called by the fiber itself
 * (from a step it runs). The optional members are checked before use: a later Effect may not have them, and then the
 * caller falls back to the public way.
 * @internal
 */
export interface FiberInternals {
  /** What `FiberRef.set` calls, one step later. */
  setFiberRef<X>(fiberRef: FiberRef.FiberRef<X>, value: X): void
  /** Replaces all of the fiber's refs (what `Effect.setFiberRefs` ends in). */
  setFiberRefs?(fiberRefs: FiberRefs.FiberRefs): void
  /**
   * The fiber's refs as they are; `getFiberRefs()` would write the runtime flags first, a copy of every ref. Assigned
   * directly only with refs that differ from the present ones in refs the fiber keeps no cache of, or with the cache
   * that differs set alongside (`setFiberRefs` refreshes its caches of the services, scheduler, supervisor and
   * context).
   */
  _fiberRefs?: FiberRefs.FiberRefs
  /** The fiber's cache of its scheduler ref, which `setFiberRefs` refreshes with the others. */
  currentScheduler?: Scheduler.Scheduler
  /** Interrupts the fiber's children, returning what awaits them (null for none), as a fiber does when it ends. */
  interruptAllChildren?(): Effect.Effect<unknown> | null
}

/** @internal */
export const internalsOf = (fiber: Fiber.RuntimeFiber<unknown, unknown>): FiberInternals =>
  fiber as unknown as FiberInternals
