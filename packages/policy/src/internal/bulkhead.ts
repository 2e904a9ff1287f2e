import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as B from "../Bulkhead.js"

/** @internal */
export class BulkheadRejected extends Schema.TaggedError<BulkheadRejected>()("BulkheadRejected", {
  key: Schema.String,
  reason: Schema.Literal("full", "timeout")
}) {
  override get message(): string {
    return this.reason === "full"
      ? `bulkhead ${this.key} is full`
      : `bulkhead ${this.key}: no permit within the maximum wait`
  }
}

/** @internal */
export const make = (options: B.Options): Effect.Effect<B.Bulkhead> =>
  Effect.sync(() => {
    const key = options.key ?? "default"
    const maxConcurrent = Math.max(1, options.maxConcurrent)
    const maxQueued = Math.max(0, options.maxQueued ?? 0)
    const maxWait = options.maxWait === undefined ? Duration.infinity : Duration.decode(options.maxWait)
    const semaphore = Effect.unsafeMakeSemaphore(maxConcurrent)
    let active = 0
    let queued = 0

    const full = new BulkheadRejected({ key, reason: "full" })
    const timedOut = new BulkheadRejected({ key, reason: "timeout" })

    const waitForPermit: Effect.Effect<void, BulkheadRejected> = Duration.isFinite(maxWait)
      ? Effect.flatMap(
        Effect.timeoutOption(semaphore.take(1), maxWait),
        (taken) => Option.isSome(taken) ? Effect.void : Effect.fail(timedOut)
      )
      : Effect.asVoid(semaphore.take(1))

    const run = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | BulkheadRejected, R> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.suspend(() => {
          const runHoldingPermit = Effect.suspend(() => {
            active++
            return Effect.ensuring(
              restore(self),
              Effect.suspend(() => {
                active--
                return semaphore.release(1)
              })
            )
          })
          // queued callers go first: a newcomer may take a free permit only when nobody waits
          if (queued === 0 && active < maxConcurrent) {
            return Effect.zipRight(restore(semaphore.take(1)), runHoldingPermit)
          }
          if (queued >= maxQueued) return Effect.fail(full)
          queued++
          return Effect.zipRight(
            Effect.ensuring(
              restore(waitForPermit),
              Effect.sync(() => {
                queued--
              })
            ),
            runHoldingPermit
          )
        })
      )

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
