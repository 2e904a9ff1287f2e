import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"

/** The failure a scripted upstream answers with while told to fail. */
export class UpstreamFailure extends Data.TaggedError("UpstreamFailure")<{ readonly call: number }> {}

/** A scripted upstream that counts the calls reaching it and fails while told to. */
export interface Upstream {
  /** Succeeds with the number of this call (1-based) or fails with `UpstreamFailure`. */
  readonly call: Effect.Effect<number, UpstreamFailure>
  readonly count: Effect.Effect<number>
  readonly failNext: (fail: boolean) => Effect.Effect<void>
}

export const makeUpstream: Effect.Effect<Upstream> = Effect.gen(function*() {
  const calls = yield* Ref.make(0)
  const failing = yield* Ref.make(false)
  return {
    call: Effect.flatMap(Ref.updateAndGet(calls, (n) => n + 1), (n) =>
      Effect.flatMap(
        Ref.get(failing),
        (fail) => (fail ? Effect.fail(new UpstreamFailure({ call: n })) : Effect.succeed(n))
      )),
    count: Ref.get(calls),
    failNext: (fail) => Ref.set(failing, fail)
  }
})
