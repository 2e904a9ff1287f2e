import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import type * as FiberId from "effect/FiberId"
import { dual } from "effect/Function"
import type * as C from "../Coalesce.js"
import * as deadline from "./deadline.js"
import { checkOptions } from "./options.js"
import { forkDaemonInterruptible } from "./timer.js"

/** A caller waiting for a run: resumed by the run's end, or by its own established deadline passing. */
interface Waiter {
  resume: ((effect: Effect.Effect<any, any>) => void) | undefined
  /** the waiter's established deadline passed before its wait began */
  expired: boolean
}

/** The run of one key in flight. */
interface Flight {
  /** callers counted as waiting, from the moment they join until they leave (however they leave) */
  waiters: number
  /** the callers parked in `Effect.async`, to resume when the run ends */
  readonly parked: Set<Waiter>
  /** how the run ended */
  exit: Exit.Exit<any, any> | undefined
  /** the run's fiber, set by the first caller before it can leave */
  fiber: Fiber.RuntimeFiber<any, any> | undefined
}

/** @internal */
export const unsafeMake = (options?: C.Options): C.Coalesce => {
  checkOptions("Coalesce", options)
  const name = options?.name ?? "default"
  if (typeof name !== "string") {
    throw new RangeError(`Coalesce: name (${name === null ? "null" : typeof name}) must be a string`)
  }
  const flights = new Map<string, Flight>()

  // The run ended: its key is free (unless it was abandoned and a new run has the key), its waiters get its Exit.
  const settle = (key: string, flight: Flight, exit: Exit.Exit<any, any>): void => {
    if (flights.get(key) === flight) flights.delete(key)
    flight.exit = exit
    for (const waiter of flight.parked) {
      const resume = waiter.resume
      waiter.resume = undefined
      resume?.(exit)
    }
    flight.parked.clear()
  }

  // A caller stops waiting (answered, timed out or interrupted). The last one to go before the run ends takes the
  // run down: the key is freed at once and the run interrupted without waiting for it to stop.
  const leave = (key: string, flight: Flight, id: FiberId.FiberId): void => {
    if (--flight.waiters > 0 || flight.exit !== undefined) return
    if (flights.get(key) === flight) flights.delete(key)
    flight.fiber?.unsafeInterruptAsFork(id)
  }

  const wait = (flight: Flight, waiter: Waiter, late: () => deadline.DeadlineExceeded) =>
    Effect.async<any, any>((resume) => {
      if (flight.exit !== undefined) return resume(flight.exit)
      if (waiter.expired) return resume(Effect.fail(late()))
      waiter.resume = resume
      flight.parked.add(waiter)
      return Effect.sync(() => {
        waiter.resume = undefined
        flight.parked.delete(waiter)
      })
    })

  // The caller's established deadline passed while it waits: it alone stops waiting, with `DeadlineExceeded`.
  const expire = (flight: Flight, waiter: Waiter, late: () => deadline.DeadlineExceeded): void => {
    waiter.expired = true
    const resume = waiter.resume
    if (resume === undefined) return
    waiter.resume = undefined
    flight.parked.delete(waiter)
    resume(Effect.fail(late()))
  }

  const run = <A, E, R>(
    self: Effect.Effect<A, E, R>,
    key: string
  ): Effect.Effect<A, E | deadline.DeadlineExceeded, R> =>
    // Between joining (counted) and waiting nothing may interrupt the caller: it would never be uncounted. The wait
    // is the only interruptible step, and every way out of it leaves.
    Effect.uninterruptibleMask((restore) =>
      Effect.withFiberRuntime<A, E | deadline.DeadlineExceeded, R>((fiber) => {
        if (typeof key !== "string") {
          return Effect.die(
            new RangeError(`Coalesce ${name}: key (${key === null ? "null" : typeof key}) must be a string`)
          )
        }
        // A deadline only established (no timer interrupts the caller): the wait bounds itself by it.
        const limit = fiber.getFiberRef(deadline.currentRef)
        let left = Number.POSITIVE_INFINITY
        if (!limit.armed && Number.isFinite(limit.at)) {
          left = limit.at - Context.get(fiber.currentDefaultServices, Clock.Clock).unsafeCurrentTimeMillis()
        }
        const late = () => new deadline.DeadlineExceeded({ reason: limit.reason, timeout: limit.timeout }, true)
        if (left <= 0) return Effect.fail(late())
        let flight = flights.get(key)
        const joined = flight !== undefined
        if (flight === undefined) {
          flight = { waiters: 0, parked: new Set(), exit: undefined, fiber: undefined }
          flights.set(key, flight)
        }
        flight.waiters++
        const shared = flight
        const waiter: Waiter = { resume: undefined, expired: false }
        const id = fiber.id()
        const waiting = Effect.matchCauseEffect(restore(wait(shared, waiter, late)), {
          onFailure: (cause) => {
            leave(key, shared, id)
            return Effect.failCause(cause)
          },
          onSuccess: (value) => {
            leave(key, shared, id)
            return Effect.succeed(value)
          }
        })
        // the timer of an established deadline, stopped when the wait ends; a daemon, like the run, so that it
        // fires even when the caller's wait cannot be interrupted
        const bounded: Effect.Effect<A, E | deadline.DeadlineExceeded> = Number.isFinite(left)
          ? Effect.flatMap(
            forkDaemonInterruptible(
              Effect.zipRight(Effect.sleep(Duration.millis(left)), Effect.sync(() => expire(shared, waiter, late)))
            ),
            (timer) => Effect.ensuring(waiting, Effect.sync(() => timer.unsafeInterruptAsFork(id)))
          )
          : waiting
        const annotated = Effect.zipRight(Effect.annotateCurrentSpan("sturdy.coalesced", joined), bounded)
        if (joined) return annotated
        // The first caller starts the run in a daemon fiber: its context and refs, with no deadline of its own (each
        // waiter keeps its own), interruptible as the caller was.
        const start = Effect.forkDaemon(
          Effect.onExit(
            Effect.locally(restore(self), deadline.currentRef, deadline.none),
            (exit) => Effect.sync(() => settle(key, shared, exit))
          )
        )
        return Effect.flatMap(start, (runFiber) => {
          shared.fiber = runFiber
          return annotated
        })
      })
    )

  return {
    name,
    run,
    inFlight: Effect.sync(() => new Map(Array.from(flights, ([key, flight]) => [key, flight.waiters] as const)))
  }
}

/** @internal */
export const make = (options?: C.Options): Effect.Effect<C.Coalesce> => Effect.sync(() => unsafeMake(options))

/** @internal */
export const run: typeof C.run = dual(
  (args) => Effect.isEffect(args[0]),
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    group: C.Coalesce,
    key: string
  ): Effect.Effect<A, E | deadline.DeadlineExceeded, R> => group.run(self, key)
)
