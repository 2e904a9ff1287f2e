import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"

/**
 * @internal Runs `timed` (a bound whose timed part is made interruptible so the bound can stop it under a caller's
 * mask: an attempt's or a body's timeout, a token wait, the idle bound of a stream) so that the caller's mask still
 * holds against any interruption from outside. An uninterruptible fiber that receives an interruption holds it off but
 * passes it on to the fibers it started (the timeout's), and the interruptible part would take it: a masked caller
 * interrupted from outside ended at once with an interruption. Under a mask, `timed` therefore runs in a daemon fiber
 * of its own, joined: only the bound reaches it, and the caller gets the interruption when its region ends. An
 * interruptible caller runs `timed` as it is (no fiber more): an interruption ends it at once.
 */
export const shieldedFromCaller = <A, E, R>(timed: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.checkInterruptible((interruptible) =>
    interruptible ? timed : Effect.flatMap(Effect.forkDaemon(timed), Fiber.join)
  )

/** @internal How long a body read only to drain it (before a replay, a redirect, a reuse) may take. */
export const discardCap: Duration.Duration = Duration.seconds(1)

/**
 * @internal Runs `read` (a read of a body only to drain it) within {@link discardCap}: a body that stalls is
 * cancelled instead (its stream's finalizer closes it, and the connection is not reused) and the flow goes on as if
 * it had been drained. A failure to read is ignored too. The read is interruptible even under the caller's mask, but
 * only the cap stops it there (see {@link shieldedFromCaller}).
 */
const drainWithinCap = <A, E>(read: Effect.Effect<A, E>): Effect.Effect<void> =>
  shieldedFromCaller(Effect.ignore(Effect.timeout(Effect.interruptible(read), discardCap)))

/**
 * @internal Reads a refused response's whole body and drops it, so the connection can be reused for a replay, within
 * {@link discardCap}.
 */
export const discardBody = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<void> =>
  drainWithinCap(response.arrayBuffer)

/**
 * @internal Reads one chunk of a body at most and then lets the stream's finalizer close it, freeing the connection,
 * within {@link discardCap} (a body that sends nothing is closed then).
 */
export const discardChunk = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<void> =>
  drainWithinCap(Stream.runDrain(Stream.take(response.stream, 1)))
