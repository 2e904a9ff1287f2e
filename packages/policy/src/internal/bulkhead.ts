import type * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import { dual } from "effect/Function"
import * as Schema from "effect/Schema"
import type * as B from "../Bulkhead.js"
import * as deadline from "./deadline.js"
import { type Linked, LinkedQueue } from "./linkedQueue.js"
import { checkOptions } from "./options.js"
import { forkDaemonInterruptible, timerDuration } from "./timer.js"

/** @internal */
export class BulkheadRejected
  extends Schema.TaggedError<BulkheadRejected>("@sturdy/policy/Bulkhead/BulkheadRejected")("BulkheadRejected", {
    key: Schema.String,
    reason: Schema.Literal("Full", "Timeout")
  })
{
  override get message(): string {
    return this.reason === "Full"
      ? `bulkhead ${this.key} is full`
      : `bulkhead ${this.key}: no permit in time (its maximum wait, or the deadline, passed)`
  }
}

/**
 * A queued call: a node of a doubly linked list, so a waiter that leaves the queue (timed out, interrupted) is
 * unlinked at once; with the permit holders stuck, waiters that gave up would otherwise pile up without bound.
 */
interface Waiter extends Linked<Waiter> {
  resume: ((effect: Effect.Effect<void, BulkheadRejected>) => void) | undefined
  /** A permit was handed to this waiter (and `active` already counts it). */
  granted: boolean
  /** The waiter left the queue without a permit (interrupted, or its wait expired). */
  cancelled: boolean
  /** A granted permit was given back because the waiter never ran. */
  returned: boolean
}

// A count option: an integer of at least `min`, or `Infinity` (no limit).
const checkCount = (field: string, value: number, min: number): void => {
  if (!(value === Number.POSITIVE_INFINITY || (Number.isInteger(value) && value >= min))) {
    throw new RangeError(`Bulkhead: ${field} (${String(value)}) must be an integer of at least ${min} (or Infinity)`)
  }
}

/** @internal */
export const make = (options: B.Options): Effect.Effect<B.Bulkhead> =>
  Effect.sync(() => {
    checkOptions("Bulkhead", options)
    const key = options.key ?? "default"
    // the key names the bulkhead in `BulkheadRejected`, whose schema wants a string: another value would be a
    // `ParseError` defect of the first call turned away
    if (typeof key !== "string") {
      throw new RangeError(`Bulkhead: key (${key === null ? "null" : typeof key}) must be a string`)
    }
    const maxConcurrent = options.maxConcurrent
    const maxQueued = options.maxQueued ?? 0
    // NaN would turn every call away, and 0 used to become 1 unseen: a bad limit is a defect of `make`
    checkCount("maxConcurrent", maxConcurrent, 1)
    checkCount("maxQueued", maxQueued, 0)
    const maxWait = options.maxWait === undefined
      ? Duration.infinity
      : timerDuration("Bulkhead", "maxWait", options.maxWait, true)
    // Permits are counted here rather than in a Semaphore: an uncontended call then costs one counter increment,
    // and a released permit goes straight to the first waiter, so queued callers go first.
    let active = 0
    let queued = 0
    // the queue, first in first out; every waiter in it is neither granted nor cancelled
    const waiting = new LinkedQueue<Waiter>()

    const full = new BulkheadRejected({ key, reason: "Full" })
    const timedOut = new BulkheadRejected({ key, reason: "Timeout" })

    const release = (): void => {
      const next = waiting.first
      if (next === undefined) {
        active--
        return
      }
      waiting.unlink(next)
      // the permit changes hands: `active` stays as it is
      next.granted = true
      queued--
      const resume = next.resume
      next.resume = undefined
      resume?.(Effect.void)
    }

    // A waiter that gives up without running leaves the queue, or gives back the permit it was handed meanwhile.
    // Called on every way out (interrupted, timed out, even before its wait began), so it may run more than once.
    const leave = (waiter: Waiter): void => {
      waiter.resume = undefined
      if (waiter.granted) {
        if (!waiter.returned) {
          waiter.returned = true
          release()
        }
      } else if (!waiter.cancelled) {
        waiter.cancelled = true
        queued--
        waiting.unlink(waiter)
      }
    }

    const waitFor = (waiter: Waiter): Effect.Effect<void, BulkheadRejected> =>
      Effect.onInterrupt(
        Effect.async<void, BulkheadRejected>((resume) => {
          if (waiter.granted) return resume(Effect.void)
          // the wait expired before it began
          if (waiter.cancelled) return resume(Effect.fail(timedOut))
          waiter.resume = resume
          return Effect.sync(() => leave(waiter))
        }),
        // interrupted after the permit was handed over, before it could be used
        () => Effect.sync(() => leave(waiter))
      )

    // The wait outlasted `maxWait` or the deadline: the waiter leaves the queue and fails, unless a permit came first.
    const expire = (waiter: Waiter): void => {
      if (waiter.granted || waiter.cancelled) return
      const resume = waiter.resume
      leave(waiter)
      resume?.(Effect.fail(timedOut))
    }

    const maxWaitMillis = Duration.toMillis(maxWait)
    // A queued call waits at most `maxWait`, and never past a deadline that no timer enforces (`Deadline.establish`):
    // an armed one interrupts the wait anyway. The timer ends the wait by failing it, not by interrupting it: the
    // caller may be uninterruptible (the `acquire` of `acquireRelease`), and then an interruption would wait for the
    // permit. A daemon, so that an interruption the uninterruptible caller defers does not stop the timer either.
    const waitForPermit = (waiter: Waiter): Effect.Effect<void, BulkheadRejected> =>
      Effect.flatMap(FiberRef.get(deadline.currentRef), (current) =>
        Effect.clockWith((clock) => {
          const left = current.armed ? Number.POSITIVE_INFINITY : current.at - clock.unsafeCurrentTimeMillis()
          const wait = Math.min(maxWaitMillis, left)
          if (!Number.isFinite(wait)) return waitFor(waiter)
          if (wait <= 0) {
            expire(waiter)
            return waitFor(waiter)
          }
          // the timer is stopped on every way out, even an interruption right after it started
          return Effect.acquireUseRelease(
            forkDaemonInterruptible(
              Effect.zipRight(Effect.sleep(Duration.millis(wait)), Effect.sync(() => expire(waiter)))
            ),
            () => waitFor(waiter),
            (timer) => Effect.fiberIdWith((id) => Fiber.interruptAsFork(timer, id))
          )
        }))

    // Already inside `run`'s mask: the permit is given back on every exit without `ensuring`'s own mask. The
    // handlers hold nothing of the call: one pair serves every call of the bulkhead.
    const releasing = {
      onFailure: (cause: Cause.Cause<unknown>): Effect.Effect<never, unknown> => {
        release()
        return Effect.failCause(cause)
      },
      onSuccess: (value: unknown): Effect.Effect<unknown> => {
        release()
        return Effect.succeed(value)
      }
    }
    const runHolding = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
      Effect.matchCauseEffect(self, releasing) as Effect.Effect<A, E, R>

    const run = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | BulkheadRejected, R> =>
      // the mask's body runs each time the effect runs: no `suspend` of its own
      Effect.uninterruptibleMask((restore) => {
        // queued callers go first: a newcomer may take a free permit only when nobody waits
        if (queued === 0 && active < maxConcurrent) {
          active++
          return runHolding(restore(self))
        }
        if (queued >= maxQueued) return Effect.fail(full)
        queued++
        const waiter: Waiter = {
          resume: undefined,
          granted: false,
          cancelled: false,
          returned: false,
          prev: undefined,
          next: undefined
        }
        waiting.push(waiter)
        return Effect.zipRight(
          Effect.onInterrupt(restore(waitForPermit(waiter)), () => Effect.sync(() => leave(waiter))),
          runHolding(restore(self))
        )
      })

    return {
      key,
      run,
      snapshot: Effect.sync(() => ({ active, queued }))
    }
  })

/** @internal */
export const withBulkhead = dual<
  (bulkhead: B.Bulkhead) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | BulkheadRejected, R>,
  <A, E, R>(self: Effect.Effect<A, E, R>, bulkhead: B.Bulkhead) => Effect.Effect<A, E | BulkheadRejected, R>
>(2, (self, bulkhead) => bulkhead.run(self))
