import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ExecutionPlan from "effect/ExecutionPlan"
import * as FiberRef from "effect/FiberRef"
import { dual } from "effect/Function"
import { globalValue } from "effect/GlobalValue"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schedule from "effect/Schedule"
import type * as Fallback from "../Fallback.js"

/** @internal */
export const PlanTypeId: unique symbol = Symbol.for("@sturdy/policy/Fallback/Plan")

/** @internal */
export interface Plan<S extends string, I, LE, LR> {
  readonly [PlanTypeId]: typeof PlanTypeId
  readonly steps: readonly [Fallback.Step<S, I, LE, LR>, ...Array<Fallback.Step<S, I, LE, LR>>]
}

// What the provenance of the answer being built collects: one per call, so concurrent calls never mix.
interface Collector {
  age: Option.Option<Duration.Duration>
}

const collectorRef: FiberRef.FiberRef<Collector | undefined> = globalValue(
  Symbol.for("@sturdy/policy/Fallback/collectorRef"),
  () => FiberRef.unsafeMake<Collector | undefined>(undefined)
)

/** @internal */
export const markStale = (age: Duration.Duration): Effect.Effect<void> =>
  Effect.map(FiberRef.get(collectorRef), (collector) => {
    if (collector !== undefined) collector.age = Option.some(age)
  })

/** @internal */
export const isDegraded = <A, E, S extends string>(self: Fallback.Provenanced<A, E, S>): boolean =>
  self.failures.length > 0 || Option.isSome(self.age)

/** @internal */
export const fresh = <A, S extends string>(value: A, source: S): Fallback.Provenanced<A, never, S> => ({
  value,
  source,
  failures: [],
  age: Option.none()
})

/** @internal */
export const make = <const Steps extends readonly [Fallback.Step.Any, ...Array<Fallback.Step.Any>]>(
  ...steps: Steps
): Plan<
  Fallback.Step.Source<Steps[number]>,
  Fallback.Step.Provides<Steps[number]>,
  Fallback.Step.Error<Steps[number]>,
  Fallback.Step.Context<Steps[number]>
> => {
  steps.forEach((step, i) => {
    if (step.attempts !== undefined && !(Number.isInteger(step.attempts) && step.attempts >= 1)) {
      throw new RangeError(`Fallback.make: step[${i}] (${step.source}) attempts must be an integer of at least 1`)
    }
  })
  // `Steps` and the plan's step type describe the same values; TypeScript cannot see through the mapped unions.
  const typed = steps as unknown as Plan<
    Fallback.Step.Source<Steps[number]>,
    Fallback.Step.Provides<Steps[number]>,
    Fallback.Step.Error<Steps[number]>,
    Fallback.Step.Context<Steps[number]>
  >["steps"]
  return { [PlanTypeId]: PlanTypeId, steps: typed }
}

/** @internal */
export const isPlan = (u: unknown): u is Plan<string, unknown, unknown, unknown> => Predicate.hasProperty(u, PlanTypeId)

/** @internal */
export const run: typeof Fallback.run = dual(
  (args) => Effect.isEffect(args[0]),
  <A, E, R, S extends string, I, LE, LR>(
    self: Effect.Effect<A, E, R>,
    plan: Plan<S, I, LE, LR>,
    options?: Fallback.RunOptions<E | LE>
  ): Effect.Effect<Fallback.Provenanced<A, E | LE, S>, E | LE, Exclude<R, I> | LR> =>
    Effect.suspend(() => {
      const collector: Collector = { age: Option.none() }
      const failures: Array<Fallback.Failure<E | LE, S>> = []
      // The source whose layer was built last: the one the next run of `self` talks to.
      let current: S = plan.steps[0].source
      const record = (source: S, error: E | LE) =>
        Effect.sync(() => {
          failures.push({ source, error })
        })
      const keepGoing = options?.while
      const toExecutionStep = (step: Fallback.Step<S, I, LE, LR>, index: number) => ({
        // A step whose layer cannot be built (no cache configured, say) counts as a failure of that source.
        provide: step.layer.pipe(
          Layer.tapError((error) => record(step.source, error)),
          Layer.tap(() =>
            Effect.sync(() => {
              current = step.source
            })
          )
        ),
        attempts: step.attempts,
        // `ExecutionPlan` steps a later step's schedule once with the failure of the step before, before its first
        // try: that try would wait the schedule's first delay, and the schedule would give it one retry fewer than the
        // same schedule gives the first step. A recurrence with no delay in front keeps the schedule for retries.
        schedule: index === 0 || step.schedule === undefined
          ? step.schedule
          : Schedule.andThen(Schedule.once, step.schedule),
        while: keepGoing === undefined ? undefined : (error: E | LE) => keepGoing(error)
      })
      const [first, ...rest] = plan.steps
      const executionPlan = ExecutionPlan.make(
        toExecutionStep(first, 0),
        ...rest.map((step, index) => toExecutionStep(step, index + 1))
      )
      const attempt = Effect.suspend(() => {
        const source = current
        collector.age = Option.none()
        return self.pipe(
          Effect.tapError((error) => record(source, error)),
          Effect.map((value): Fallback.Provenanced<A, E | LE, S> => ({
            value,
            source,
            failures: failures.slice(),
            age: collector.age
          }))
        )
      })
      return Effect.locally(Effect.withExecutionPlan(attempt, executionPlan), collectorRef, collector)
    })
)

/** @internal */
export type Sources = Readonly<Record<string, Effect.Effect<any, any, any>>>

/** @internal */
export const firstOf = <const Srcs extends Sources>(
  sources: Srcs,
  options?: Fallback.RunOptions<Effect.Effect.Error<Srcs[keyof Srcs]>>
): Effect.Effect<
  Fallback.Provenanced<
    Effect.Effect.Success<Srcs[keyof Srcs]>,
    Effect.Effect.Error<Srcs[keyof Srcs]>,
    Extract<keyof Srcs, string>
  >,
  Effect.Effect.Error<Srcs[keyof Srcs]>,
  Effect.Effect.Context<Srcs[keyof Srcs]>
> => {
  type A = Effect.Effect.Success<Srcs[keyof Srcs]>
  type E = Effect.Effect.Error<Srcs[keyof Srcs]>
  type R = Effect.Effect.Context<Srcs[keyof Srcs]>
  type S = Extract<keyof Srcs, string>
  // Object keys keep insertion order (for keys that are not integers), which is the order the sources are tried in.
  const keys: Array<S> = []
  for (const key in sources) keys.push(key)
  if (keys.length === 0) {
    throw new RangeError("Fallback.firstOf: at least one source is required")
  }
  const keepGoing = options?.while
  return Effect.suspend(() => {
    const collector: Collector = { age: Option.none() }
    const failures: Array<Fallback.Failure<E, S>> = []
    const from = (i: number): Effect.Effect<Fallback.Provenanced<A, E, S>, E, R> => {
      const source = keys[i]!
      const effect: Effect.Effect<A, E, R> = sources[source]
      collector.age = Option.none()
      return Effect.matchEffect(effect, {
        onSuccess: (value) => Effect.succeed({ value, source, failures: failures.slice(), age: collector.age }),
        onFailure: (error) => {
          failures.push({ source, error })
          return i + 1 < keys.length && (keepGoing === undefined || keepGoing(error))
            ? Effect.suspend(() => from(i + 1))
            : Effect.fail(error)
        }
      })
    }
    return Effect.locally(from(0), collectorRef, collector)
  })
}

/** @internal */
export const orElse: typeof Fallback.orElse = dual(
  (args) => Effect.isEffect(args[0]) && Effect.isEffect(args[1]),
  <A, E, R, A2, E2, R2, S1 extends string, S2 extends string>(
    self: Effect.Effect<A, E, R>,
    that: Effect.Effect<A2, E2, R2>,
    options?: Fallback.OrElseOptions<E, S1, S2>
  ): Effect.Effect<Fallback.Provenanced<A | A2, E | E2, S1 | S2>, E | E2, R | R2> => {
    const primary = (options?.source ?? "primary") as S1
    const fallback = (options?.fallback ?? "fallback") as S2
    const keepGoing = options?.while
    return Effect.suspend(() => {
      const collector: Collector = { age: Option.none() }
      return Effect.matchEffect(self, {
        onSuccess: (value) =>
          Effect.succeed<Fallback.Provenanced<A | A2, E | E2, S1 | S2>>({
            value,
            source: primary,
            failures: [],
            age: collector.age
          }),
        onFailure: (error): Effect.Effect<Fallback.Provenanced<A | A2, E | E2, S1 | S2>, E | E2, R2> => {
          // a failure `while` rejects is the answer (a NotFound need not go to the default)
          if (keepGoing !== undefined && !keepGoing(error)) return Effect.fail(error)
          collector.age = Option.none()
          return Effect.map(that, (value): Fallback.Provenanced<A | A2, E | E2, S1 | S2> => ({
            value,
            source: fallback,
            failures: [{ source: primary, error }],
            age: collector.age
          }))
        }
      }).pipe(Effect.locally(collectorRef, collector))
    })
  }
)
