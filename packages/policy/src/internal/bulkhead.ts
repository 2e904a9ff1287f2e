import type * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import { dual } from "effect/Function"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as B from "../Bulkhead.js"
import * as deadline from "./deadline.js"

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

interface Waiter {
  resume: ((effect: Effect.Effect<void>) => void) | undefined
  /** A permit was handed to this waiter (and `active` already counts it). */
  granted: boolean
  /** The waiter left the queue without a permit. */
  cancelled: boolean
  /** A granted permit was given back because the waiter never ran. */
  returned: boolean
}

/** @internal */
export const make = (options: B.Options): Effect.Effect<B.Bulkhead> =>
  Effect.sync(() => {
    const key = options.key ?? "default"
    const maxConcurrent = Math.max(1, options.maxConcurrent)
    const maxQueued = Math.max(0, options.maxQueued ?? 0)
    const maxWait = options.maxWait === undefined ? Duration.infinity : Duration.decode(options.maxWait)
    // Permits are counted here rather than in a Semaphore: an uncontended call then costs one counter increment,
    // and a released permit goes straight to the first waiter, so queued callers go first.
    let active = 0
    let queued = 0
    let waiters: Array<Waiter> = []
    let head = 0

    const full = new BulkheadRejected({ key, reason: "Full" })
    const timedOut = new BulkheadRejected({ key, reason: "Timeout" })

    const release = (): void => {
      while (head < waiters.length) {
        const next = waiters[head]!
        waiters[head++] = undefined as never
        if (next.cancelled) continue
        // the permit changes hands: `active` stays as it is
        next.granted = true
        queued--
        if (head > 1_024 && head * 2 > waiters.length) {
          waiters = waiters.slice(head)
          head = 0
        }
        const resume = next.resume
        next.resume = undefined
        resume?.(Effect.void)
        return
      }
      waiters = []
      head = 0
      active--
    }

    const giveBack = (waiter: Waiter): void => {
      if (waiter.granted && !waiter.returned) {
        waiter.returned = true
        release()
      }
    }

    const waitFor = (waiter: Waiter): Effect.Effect<void> =>
      Effect.onInterrupt(
        Effect.async<void>((resume) => {
          if (waiter.granted) return resume(Effect.void)
          waiter.resume = resume
          return Effect.sync(() => {
            waiter.resume = undefined
            if (!waiter.granted && !waiter.cancelled) {
              waiter.cancelled = true
              queued--
            }
          })
        }),
        // interrupted after the permit was handed over, before it could be used
        () => Effect.sync(() => giveBack(waiter))
      )

    const maxWaitMillis = Duration.toMillis(maxWait)
    // A queued call waits at most `maxWait`, and never past a deadline that no timer enforces (`Deadline.establish`):
    // an armed one interrupts the wait anyway.
    const waitForPermit = (waiter: Waiter): Effect.Effect<void, BulkheadRejected> =>
      Effect.flatMap(FiberRef.get(deadline.currentRef), (current) =>
        Effect.clockWith((clock) => {
          const left = current.armed ? Number.POSITIVE_INFINITY : current.at - clock.unsafeCurrentTimeMillis()
          const wait = Math.min(maxWaitMillis, left)
          if (!Number.isFinite(wait)) return waitFor(waiter)
          return Effect.flatMap(
            Effect.timeoutOption(waitFor(waiter), Duration.millis(Math.max(0, wait))),
            (taken) =>
              Option.isSome(taken) ? Effect.void : Effect.suspend(() => {
                // the permit may have arrived as the wait timed out
                giveBack(waiter)
                return Effect.fail(timedOut)
              })
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
        const waiter: Waiter = { resume: undefined, granted: false, cancelled: false, returned: false }
        waiters.push(waiter)
        return Effect.zipRight(
          Effect.onInterrupt(restore(waitForPermit(waiter)), () => Effect.sync(() => giveBack(waiter))),
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
