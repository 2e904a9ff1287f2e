import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type { LazyArg } from "effect/Function"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { shieldedFromCaller } from "./shielded.js"

/**
 * @internal The idle bound of a streamed body (`EventStream`, `JsonLines`, `Download`): `self` fails with
 * `onTimeout()` when its next chunk does not come within `duration`, as `Stream.timeoutFail` does, also when the
 * stream is consumed inside a caller's uninterruptible region (an `Effect.uninterruptible`, the `acquire` of an
 * `acquireRelease`, an `uninterruptibleMask`).
 *
 * `Stream.timeoutFail` races each pull against a sleep in fibers of its own, which inherit the consumer's
 * interruptibility: under a mask, the pull that lost ignored the bound's interruption, the timeout waited for it, and a
 * silent server held the consumer for ever. Here, under a mask, the pull is interruptible inside the race, so the
 * bound stops it. Only the bound: the race runs in a fiber of its own, joined, because an uninterruptible fiber hands
 * an interruption it holds off on to the fibers it started (the race's, when the consumer pulls in its own fiber with
 * `Stream.toPull`), and the now interruptible pull would take it; the consumer's mask still holds against any
 * interruption from outside. The pull is not disconnected: the timeout waits until it has stopped, as
 * `Stream.timeoutFail` does unmasked. An interruptible consumer takes `Stream.timeoutFail`'s path (no fiber more).
 */
export const idleTimeoutFail = <A, E, R, E2>(
  self: Stream.Stream<A, E, R>,
  onTimeout: LazyArg<E2>,
  duration: Duration.DurationInput
): Stream.Stream<A, E | E2, R> =>
  Stream.fromPull(
    Effect.map(Stream.toPull(self), (pull) => {
      const timed = Effect.timeoutFail(Effect.interruptible(pull), {
        duration,
        onTimeout: (): Option.Option<E | E2> => Option.some(onTimeout())
      })
      return shieldedFromCaller(timed)
    })
  )
