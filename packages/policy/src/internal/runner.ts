import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import * as FiberRefs from "effect/FiberRefs"
import * as Runtime from "effect/Runtime"
import type * as Scheduler from "effect/Scheduler"
import type * as Scope from "effect/Scope"
import type * as RunnerModule from "../Runner.js"
import { internalsOf } from "./fiberInternals.js"
import { checkOptions } from "./options.js"

/** @internal */
export const defaultMaxIdle = 128

/** One Promise caller's effect, and how to settle its Promise. */
interface Job {
  readonly effect: Effect.Effect<unknown, unknown>
  readonly resolve: (value: unknown) => void
  readonly reject: (error: unknown) => void
}

/** A parked worker: its fiber, and how to hand it its next job. */
interface Parked {
  readonly fiber: Fiber.RuntimeFiber<unknown, unknown>
  readonly hand: (job: Job) => void
}

// A worker puts back the refs it started with between jobs and ends the fibers a job forked, as the end of a root
// fiber does: both through fiber internals of Effect 3. Without them every call runs on a root fiber.
const canServe = (fiber: Fiber.RuntimeFiber<unknown, unknown>): boolean => {
  const worker = internalsOf(fiber)
  return worker._fiberRefs !== undefined && typeof worker.setFiberRefs === "function" &&
    typeof worker.interruptAllChildren === "function"
}

// A parked worker's scheduler: a job handed to it starts at once, in the caller's stack, as a root fiber of
// `Runtime.runPromise` does, rather than a task later. Only the hand-off runs on it: the job puts the runtime's refs
// (and so its scheduler) back before its first step.
const immediately: Scheduler.Scheduler = {
  shouldYield: () => false,
  scheduleTask: (task) => task()
}

const checkMaxIdle = (maxIdle: number): number => {
  if (!(Number.isInteger(maxIdle) && maxIdle >= 0)) {
    throw new RangeError(`Runner: maxIdle (${String(maxIdle)}) must be an integer of at least 0`)
  }
  return maxIdle
}

/** @internal */
export const unsafeMake = <R>(runtime: Runtime.Runtime<R>, options?: RunnerModule.Options): RunnerModule.Runner<R> => {
  checkOptions("Runner", options)
  const maxIdle = checkMaxIdle(options?.maxIdle ?? defaultMaxIdle)
  const runPromiseOnRoot = Runtime.runPromise(runtime)
  const fork = Runtime.runFork(runtime)
  const parked: Array<Parked> = []
  let closed = false
  let busy = 0
  // whether this Effect's fibers let a worker serve more than one job (else a root fiber per call, as before)
  const served = Runtime.runSync(runtime)(Effect.withFiberRuntime((fiber) => Effect.succeed(canServe(fiber))))

  // A worker runs jobs one after the other on one fiber. Between jobs it puts back the refs it started with (what a
  // job set does not reach the next one) and interrupts, and awaits, the fibers the job forked; then it settles the
  // job's Promise, as the end of a root fiber would. With nothing to do it parks, or ends when enough others are
  // parked or the runner is closed.
  const work = (first: Job): Effect.Effect<void> =>
    Effect.withFiberRuntime((fiber) => {
      const worker = internalsOf(fiber)
      const initialRefs = worker._fiberRefs!
      const parkedRefs = FiberRefs.updateAs(initialRefs, {
        fiberId: fiber.id(),
        fiberRef: FiberRef.currentScheduler,
        value: immediately
      })
      const initialScheduler = worker.currentScheduler
      // The worker moves between its two sets of refs, which differ in the scheduler alone. When the job left the
      // fiber's refs as it found them, the fiber's caches of its refs are those of the other set but for the
      // scheduler: the refs are swapped and that one cache set, without `setFiberRefs` reading six refs again.
      const switchRefs = (from: FiberRefs.FiberRefs, to: FiberRefs.FiberRefs, scheduler: Scheduler.Scheduler) => {
        if (worker._fiberRefs === from && initialScheduler !== undefined) {
          worker._fiberRefs = to
          worker.currentScheduler = scheduler
        } else worker.setFiberRefs!(to)
      }
      let job: Job | undefined = first
      let wake: ((effect: Effect.Effect<void>) => void) | undefined
      const entry: Parked = {
        fiber,
        hand: (handed) => {
          job = handed
          busy++
          const resume = wake!
          wake = undefined
          resume(run)
        }
      }
      // However the fiber ends, a parked worker leaves the pool, and a job it was running is settled: a worker is
      // interrupted from outside when the runner closes, or when a job interrupts the fiber it runs on, and then
      // skips the steps below.
      fiber.addObserver((exit: Exit.Exit<unknown, unknown>) => {
        const at = parked.indexOf(entry)
        if (at !== -1) parked.splice(at, 1)
        if (job === undefined) return
        const interrupted = job
        job = undefined
        busy--
        interrupted.reject(
          Runtime.makeFiberFailure(exit._tag === "Failure" ? exit.cause : Cause.interrupt(fiber.id()))
        )
      })
      // the handlers run on the worker's fiber, which alone may touch its children and refs
      const settle = (succeeded: boolean, outcome: unknown): Effect.Effect<void> => {
        const children = worker.interruptAllChildren!()
        return children === null
          ? finish(succeeded, outcome)
          : Effect.flatMap(children, () => finish(succeeded, outcome))
      }
      const finish = (succeeded: boolean, outcome: unknown): Effect.Effect<void> => {
        const done = job!
        job = undefined
        busy--
        if (succeeded) done.resolve(outcome)
        else done.reject(Runtime.makeFiberFailure(outcome as Cause.Cause<unknown>))
        return next
      }
      const handlers = {
        onFailure: (cause: Cause.Cause<unknown>) => settle(false, cause),
        onSuccess: (value: unknown) => settle(true, value)
      }
      // each job starts from the refs the worker started with: what the last one set does not reach it
      const run: Effect.Effect<void> = Effect.suspend(() => {
        switchRefs(parkedRefs, initialRefs, initialScheduler!)
        return Effect.matchCauseEffect(job!.effect, handlers)
      })
      // no canceler (it would cost a region per park): `close` takes a parked worker out of the pool before it
      // interrupts it, and the observer above takes out one interrupted otherwise
      const park: Effect.Effect<void> = Effect.async<void>((resume) => {
        wake = resume
        parked.push(entry)
      })
      const next: Effect.Effect<void> = Effect.suspend(() => {
        if (closed || parked.length >= maxIdle) return Effect.void
        switchRefs(initialRefs, parkedRefs, immediately)
        return park
      })
      busy++
      return run
    })

  const runPromise = <A, E>(
    effect: Effect.Effect<A, E, R>,
    options?: { readonly signal?: AbortSignal | undefined }
  ): Promise<A> => {
    // A caller that may abort needs a fiber of its own to interrupt: a root fiber, as `Runtime.runPromise` makes.
    if (closed || !served || options?.signal !== undefined) {
      return runPromiseOnRoot(effect, options?.signal === undefined ? undefined : { signal: options.signal })
    }
    return new Promise<A>((resolve, reject) => {
      // the runtime provides `R` to every fiber it forks, the worker's included
      const job: Job = {
        effect: effect as Effect.Effect<unknown, unknown>,
        resolve: resolve as (value: unknown) => void,
        reject
      }
      const worker = parked.pop()
      if (worker !== undefined) worker.hand(job)
      else fork(work(job))
    })
  }

  const close = (): void => {
    if (closed) return
    closed = true
    for (const worker of parked.splice(0)) worker.fiber.unsafeInterruptAsFork(FiberId.none)
  }

  return {
    runPromise,
    close,
    get idle() {
      return parked.length
    },
    get busy() {
      return busy
    }
  }
}

/** @internal */
export const make = <R = never>(
  options?: RunnerModule.Options
): Effect.Effect<RunnerModule.Runner<R>, never, R | Scope.Scope> =>
  Effect.acquireRelease(
    Effect.flatMap(Effect.runtime<R>(), (runtime) => Effect.sync(() => unsafeMake(runtime, options))),
    (runner) => Effect.sync(() => runner.close())
  )
