/**
 * Model-based properties of `Fallback` (packages/policy/src/Fallback.ts), checked against a reference model written
 * from the module's docs, on the TestClock.
 *
 * `run`: a generated `Plan` of 1 to 4 sources, each a `Layer` of a service, with `attempts` (1 to 3) and sometimes a
 * `schedule` (`Schedule.spaced`) of retries. Every try of a source gets a generated outcome: the layer fails to build,
 * the service answers (fresh, or from a cache with `markStale(age)`), or it fails (after `markStale`, sometimes) with
 * a failure `while` lets fall through or one it refuses; the service takes a generated time. The model (documented rules): sources are tried in
 * order, each up to `attempts` times, its retries spaced by its `schedule`; a layer that fails to build counts as a
 * failure of that source; a failure `while` refuses is returned at once; the first answer is the result, with its
 * `source`, every failed try before it in order (one per try), and `age` `Some` only when the try that answered
 * marked it stale (a mark made by a try that failed does not carry over);
 * when every try failed, the last failure is returned as it is. Every layer built is released by the time the call
 * ends; a later source's first try is made at once (its schedule spaces its retries, as the first source's does).
 * Rule taken from the code (Effect's `ExecutionPlan`): a layer is built for each try, not once per source.
 *
 * `firstOf`: a record of 1 to 5 effects with generated outcomes; the model: key order, the first success with the
 * failures before it, a refused failure or the last failure returned as it is.
 *
 * `orElse`: two effects, named or not, with and without `while`; the model: `firstOf` over the two, except that the
 * fallback's own failure is returned as it is.
 *
 * Left out: defects and interruption.
 *
 * Mutants checked (each made the property named fail with a shrunk counterexample; the file was restored from a copy):
 * - internal/fallback.ts: a layer's build failure not recorded (all three `run` properties);
 * - internal/fallback.ts: `while` not passed to the plan (the refused-failure and schedule properties);
 * - internal/fallback.ts: the answer's `source` left at the first source (all three `run` properties);
 * - internal/fallback.ts: `firstOf` ignoring `while` ("firstOf");
 * - internal/fallback.ts: a later source's schedule stepped before its first try, as `ExecutionPlan` does (the
 *   defect this file found: "moving on to the next source does not", and `Fallback.test.ts`);
 * - internal/fallback.ts: the age not reset before each try of `run`, and before each source of `firstOf` (a failed
 *   try's mark carried over to a fresh answer; "the answer, its source...", "firstOf");
 * - internal/fallback.ts: `orElse` keeping the primary's stale mark, ignoring `while`, or leaving the primary's failure
 *   out of `failures` ("orElse");
 * - this file: one layer's release skipped (all three `run` properties: "every layer built is released").
 */
import { describe, expect, it } from "@effect/vitest"
import * as Fallback from "@sturdy/policy/Fallback"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import { advanceToDone } from "./utils/advance.js"

/** `staleFail`: the source marks its answer stale, then fails (the mark must not reach a later answer) */
type Outcome = "fresh" | "stale" | "fail" | "staleFail" | "fatal" | "layer"

interface Try {
  readonly outcome: Outcome
  readonly latency: number
  readonly age: number
}

interface StepScript {
  readonly attempts: number
  readonly spacing: number | undefined
  /** one per attempt */
  readonly tries: ReadonlyArray<Try>
}

interface Failure {
  readonly _tag: "Failed" | "LayerFailed"
  readonly source: string
  readonly attempt: number
  readonly fatal: boolean
}

interface Observed {
  /** the service's calls: source, attempt (0-based) and when */
  readonly calls: ReadonlyArray<readonly [string, number, number]>
  readonly answer:
    | {
      readonly _tag: "Success"
      readonly value: string
      readonly source: string
      readonly failures: ReadonlyArray<{ readonly source: string; readonly error: Failure }>
      readonly age: number | undefined
    }
    | { readonly _tag: "Failure"; readonly error: Failure }
  readonly answeredAt: number
  /** layers built and not released when the call ended */
  readonly open: number
}

const sourceOf = (index: number) => `s${index}`

const failureOf = (outcome: Outcome, source: string, attempt: number): Failure => ({
  _tag: outcome === "layer" ? "LayerFailed" : "Failed",
  source,
  attempt,
  fatal: outcome === "fatal"
})

// ---------------------------------------------------------------------------------------------------------------
// the model

const simulate = (steps: ReadonlyArray<StepScript>): Observed => {
  const calls: Array<readonly [string, number, number]> = []
  const failures: Array<{ readonly source: string; readonly error: Failure }> = []
  let now = 0
  let last: Failure | undefined
  for (const [index, step] of steps.entries()) {
    const source = sourceOf(index)
    for (let attempt = 0; attempt < step.attempts; attempt++) {
      // a retry of this source waits its schedule
      if (attempt > 0 && step.spacing !== undefined) now += step.spacing
      const { age, latency, outcome } = step.tries[attempt]!
      if (outcome !== "layer") {
        calls.push([source, attempt, now])
        now += latency
      }
      if (outcome === "fresh" || outcome === "stale") {
        return {
          calls,
          answer: {
            _tag: "Success",
            value: `${source}#${attempt}`,
            source,
            failures,
            age: outcome === "stale" ? age : undefined
          },
          answeredAt: now,
          open: 0
        }
      }
      last = failureOf(outcome, source, attempt)
      failures.push({ source, error: last })
      if (last.fatal) return { calls, answer: { _tag: "Failure", error: last }, answeredAt: now, open: 0 }
    }
  }
  return { calls, answer: { _tag: "Failure", error: last! }, answeredAt: now, open: 0 }
}

// ---------------------------------------------------------------------------------------------------------------
// the real plan on the TestClock

class Service extends Context.Tag("model-Fallback/Service")<Service, {
  readonly get: Effect.Effect<string, Failure>
}>() {}

const run = (steps: ReadonlyArray<StepScript>) =>
  Effect.gen(function*() {
    const calls: Array<readonly [string, number, number]> = []
    let open = 0
    // tries made of each source so far (a layer is built for each)
    const tries = steps.map(() => 0)
    const layerOf = (index: number): Layer.Layer<Service, Failure> =>
      Layer.scoped(
        Service,
        Effect.gen(function*() {
          const source = sourceOf(index)
          const attempt = tries[index]!++
          const { age, latency, outcome } = steps[index]!.tries[attempt]!
          if (outcome === "layer") return yield* Effect.fail(failureOf(outcome, source, attempt))
          yield* Effect.acquireRelease(Effect.sync(() => open++), () => Effect.sync(() => open--))
          return {
            get: Effect.gen(function*() {
              calls.push([source, attempt, yield* Clock.currentTimeMillis])
              yield* Effect.sleep(Duration.millis(latency))
              if (outcome === "fresh") return `${source}#${attempt}`
              if (outcome === "stale") {
                yield* Fallback.markStale(Duration.millis(age))
                return `${source}#${attempt}`
              }
              if (outcome === "staleFail") yield* Fallback.markStale(Duration.millis(age))
              return yield* Effect.fail(failureOf(outcome, source, attempt))
            })
          }
        })
      )
    const planSteps = steps.map((step, index) => ({
      source: sourceOf(index),
      layer: layerOf(index),
      attempts: step.attempts,
      schedule: step.spacing === undefined ? undefined : Schedule.spaced(Duration.millis(step.spacing))
    }))
    const plan = Fallback.make(planSteps[0]!, ...planSteps.slice(1))
    const call = Effect.flatMap(Service, (service) => service.get).pipe(
      Fallback.run(plan, { while: (error: Failure) => !error.fatal })
    )
    const exit = yield* advanceToDone(Effect.zip(Effect.exit(call), Clock.currentTimeMillis))
    if (Exit.isFailure(exit)) return yield* Effect.die("the exit is caught")
    const [result, answeredAt] = exit.value
    let answer: Observed["answer"]
    if (Exit.isSuccess(result)) {
      const { age, failures, source, value } = result.value
      answer = {
        _tag: "Success",
        value,
        source,
        failures: [...failures],
        age: Option.getOrUndefined(Option.map(age, Duration.toMillis))
      }
    } else {
      const failure = Cause.failureOption(result.cause)
      if (Option.isNone(failure)) return yield* Effect.die(`unexpected cause ${Cause.pretty(result.cause)}`)
      answer = { _tag: "Failure", error: failure.value }
    }
    return { calls, answer, answeredAt, open } satisfies Observed
  })

// ---------------------------------------------------------------------------------------------------------------
// scripts

const outcomeOf = (weights: Record<Outcome, number>): FastCheck.Arbitrary<Outcome> =>
  FastCheck.oneof(
    ...(Object.entries(weights) as Array<[Outcome, number]>).map(([outcome, weight]) => ({
      arbitrary: FastCheck.constant(outcome),
      weight
    }))
  )

const stepOf = (weights: Record<Outcome, number>, spacing: boolean): FastCheck.Arbitrary<StepScript> =>
  FastCheck.integer({ min: 1, max: 3 }).chain((attempts) =>
    FastCheck.record({
      attempts: FastCheck.constant(attempts),
      spacing: spacing
        ? FastCheck.option(FastCheck.integer({ min: 1, max: 200 }), { nil: undefined })
        : FastCheck.constant(undefined),
      tries: FastCheck.array(
        FastCheck.record({
          outcome: outcomeOf(weights),
          latency: FastCheck.integer({ min: 0, max: 100 }),
          age: FastCheck.integer({ min: 0, max: 60_000 })
        }),
        { minLength: attempts, maxLength: attempts }
      )
    })
  )

const planOf = (options: { readonly fatal: number; readonly spacing: boolean }) =>
  FastCheck.array(
    stepOf({ fresh: 2, stale: 1, fail: 4, staleFail: 1, fatal: options.fatal, layer: 2 }, options.spacing),
    { minLength: 1, maxLength: 4 }
  )

const check = (steps: ReadonlyArray<StepScript>) =>
  Effect.gen(function*() {
    const actual = yield* run(steps)
    expect(actual).toEqual(simulate(steps))
  })

describe("model Fallback.run: sources in order, with provenance", () => {
  it.effect.prop(
    "the answer, its source, the failures before it and its age are the model's; every layer built is released",
    [planOf({ fatal: 0, spacing: false })],
    ([steps]) => check(steps),
    { fastCheck: { seed: 9301, numRuns: 200 } }
  )

  it.effect.prop(
    "a failure `while` refuses is returned at once: no later try, no later source",
    [planOf({ fatal: 2, spacing: false })],
    ([steps]) => check(steps),
    { fastCheck: { seed: 9302, numRuns: 200 } }
  )

  it.effect.prop(
    "a source's retries wait its schedule; moving on to the next source does not",
    [planOf({ fatal: 1, spacing: true })],
    ([steps]) => check(steps),
    { fastCheck: { seed: 9303, numRuns: 200 } }
  )
})

// ---------------------------------------------------------------------------------------------------------------
// firstOf

interface SourceScript {
  readonly outcome: Exclude<Outcome, "layer">
  readonly age: number
}

const simulateFirstOf = (sources: ReadonlyArray<SourceScript>) => {
  const failures: Array<{ readonly source: string; readonly error: Failure }> = []
  for (const [index, script] of sources.entries()) {
    const source = sourceOf(index)
    if (script.outcome === "fresh" || script.outcome === "stale") {
      return {
        _tag: "Success" as const,
        value: source,
        source,
        failures,
        age: script.outcome === "stale" ? script.age : undefined,
        ran: index + 1
      }
    }
    const error = failureOf(script.outcome, source, 0)
    failures.push({ source, error })
    if (error.fatal || index === sources.length - 1) return { _tag: "Failure" as const, error, ran: index + 1 }
  }
  throw new Error("no source")
}

const runFirstOf = (sources: ReadonlyArray<SourceScript>) =>
  Effect.gen(function*() {
    let ran = 0
    const record: Record<string, Effect.Effect<string, Failure>> = {}
    sources.forEach((script, index) => {
      const source = sourceOf(index)
      record[source] = Effect.suspend(() => {
        ran++
        if (script.outcome === "fresh") return Effect.succeed(source)
        if (script.outcome === "stale") return Effect.as(Fallback.markStale(Duration.millis(script.age)), source)
        const failure = Effect.fail(failureOf(script.outcome, source, 0))
        return script.outcome === "staleFail"
          ? Effect.zipRight(Fallback.markStale(Duration.millis(script.age)), failure)
          : failure
      })
    })
    const result = yield* Effect.exit(Fallback.firstOf(record, { while: (error) => !error.fatal }))
    if (Exit.isSuccess(result)) {
      const { age, failures, source, value } = result.value
      return {
        _tag: "Success" as const,
        value,
        source,
        failures: [...failures],
        age: Option.getOrUndefined(Option.map(age, Duration.toMillis)),
        ran
      }
    }
    const failure = Cause.failureOption(result.cause)
    if (Option.isNone(failure)) return yield* Effect.die(`unexpected cause ${Cause.pretty(result.cause)}`)
    return { _tag: "Failure" as const, error: failure.value, ran }
  })

describe("model Fallback.firstOf: a record of effects in key order", () => {
  it.effect.prop(
    "the first success answers with the failures before it; a refused or the last failure is returned as it is",
    [
      FastCheck.array(
        FastCheck.record({
          outcome: outcomeOf({ fresh: 2, stale: 1, fail: 4, staleFail: 1, fatal: 1, layer: 0 }) as FastCheck.Arbitrary<
            SourceScript["outcome"]
          >,
          age: FastCheck.integer({ min: 0, max: 60_000 })
        }),
        { minLength: 1, maxLength: 5 }
      )
    ],
    ([sources]) =>
      Effect.gen(function*() {
        expect(yield* runFirstOf(sources)).toEqual(simulateFirstOf(sources))
      }),
    { fastCheck: { seed: 9304, numRuns: 300 } }
  )
})

describe("model Fallback.orElse: two sources", () => {
  it.effect.prop(
    "the primary's answer, else the fallback's with the primary's failure; a refused failure is returned as it is",
    [
      FastCheck.tuple(
        FastCheck.constantFrom<SourceScript["outcome"]>("fresh", "stale", "fail", "staleFail", "fatal"),
        FastCheck.constantFrom<SourceScript["outcome"]>("fresh", "stale", "fail", "staleFail"),
        FastCheck.integer({ min: 0, max: 60_000 }),
        FastCheck.boolean(),
        FastCheck.boolean()
      )
    ],
    ([[primary, fallback, age, named, guarded]]) =>
      Effect.gen(function*() {
        const effectOf = (outcome: SourceScript["outcome"], source: string): Effect.Effect<string, Failure> => {
          if (outcome === "fresh") return Effect.succeed(source)
          if (outcome === "stale") return Effect.as(Fallback.markStale(Duration.millis(age)), source)
          const failure = Effect.fail(failureOf(outcome, source, 0))
          return outcome === "staleFail" ? Effect.zipRight(Fallback.markStale(Duration.millis(age)), failure) : failure
        }
        const [first, second] = named ? ["api", "default"] : ["primary", "fallback"]
        const names = named ? { source: "api" as const, fallback: "default" as const } : {}
        const self = effectOf(primary, first)
        const that = effectOf(fallback, second)
        const exit = yield* Effect.exit(
          guarded
            ? Fallback.orElse(self, that, { ...names, while: (error) => !error.fatal })
            : Fallback.orElse(self, that, names)
        )
        // the model: without `while`, even a "fatal" failure falls through
        const refused = guarded && primary === "fatal"
        const sources: Array<SourceScript> = refused
          ? [{ outcome: primary, age }]
          : [{ outcome: primary === "fatal" ? "fail" : primary, age }, { outcome: fallback, age }]
        const expected = simulateFirstOf(sources)
        const rename = (source: string) => source === "s0" ? first : second
        const actual = Exit.isSuccess(exit)
          ? {
            _tag: "Success" as const,
            value: exit.value.value,
            source: exit.value.source,
            failures: exit.value.failures.map((failure) => failure.source),
            age: Option.getOrUndefined(Option.map(exit.value.age, Duration.toMillis))
          }
          : { _tag: "Failure" as const, error: Cause.failureOption(exit.cause) }
        if (expected._tag === "Success") {
          expect(actual).toEqual({
            _tag: "Success",
            value: rename(expected.source),
            source: rename(expected.source),
            failures: expected.failures.map((failure) => rename(failure.source)),
            age: expected.age
          })
        } else {
          const source = rename(expected.error.source)
          expect(actual).toEqual({
            _tag: "Failure",
            error: Option.some({ ...expected.error, source, fatal: source === first && primary === "fatal" })
          })
        }
      }),
    { fastCheck: { seed: 9305, numRuns: 200 } }
  )
})
