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

/**
 * What a model test's upstream does with one call: the outcomes the classifiers of `AdaptiveThrottle` and
 * `ConcurrencyLimit` tell apart (an overload and a bad request, each also as a defect, a policy's rejection, an
 * interruption).
 */
export type ScriptedOutcome =
  | "ok"
  | "overloaded"
  | "badRequest"
  | "dieOverloaded"
  | "dieBug"
  | "circuitOpen"
  | "interrupt"

/** The effect of a scripted outcome: what the upstream answers, fails or dies with. */
export const scriptedOutcome = (outcome: ScriptedOutcome): Effect.Effect<string, unknown> => {
  switch (outcome) {
    case "ok":
      return Effect.succeed("ok")
    case "overloaded":
      return Effect.fail("overloaded")
    case "badRequest":
      return Effect.fail("bad request")
    case "dieOverloaded":
      return Effect.die("overloaded")
    case "dieBug":
      return Effect.die("bug")
    case "circuitOpen":
      return Effect.fail({ _tag: "CircuitOpen" })
    case "interrupt":
      return Effect.interrupt
  }
}
