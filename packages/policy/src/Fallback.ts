/**
 * Fallbacks with provenance: an API is a service (`Context.Tag`); its primary implementation, an alternative
 * source, a cache and a default are `Layer`s, and a `Plan` tries them in order for each call. Every answer says
 * which source gave it and which failures led there, so a caller can tell a degraded answer from a fresh one.
 *
 * `run` is built on Effect's `ExecutionPlan`: each step provides its layer (built for each try of its source,
 * released after that try), optionally retried `attempts` times or on a `schedule` before the next step. A layer that fails to build counts as
 * a failure of that source. With `while`, a failure for which it returns false is returned at once (a `NotFound`
 * need not go to the default). When every step fails, the last failure is returned, its type unchanged.
 *
 * For one-off calls without layers, `firstOf` tries a record of effects in key order and `orElse` pairs two; both
 * take the same `while` (default: every typed failure moves on).
 *
 * A source that answers from a cache calls `markStale(age)` (as `StaleCache.lookup` does), and the answer's `age` is
 * then `Some(age)`.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Schedule from "effect/Schedule"
import * as internal from "./internal/fallback.js"

/**
 * One failure on the way to an answer: the source that failed and its error.
 *
 * @example
 * ```ts
 * import { Fallback } from "@sturdy/policy"
 *
 * const line = (f: Fallback.Failure<Error, "primary">) => `${f.source}: ${f.error.message}`
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Failure<E, S extends string = string> {
  readonly source: S
  readonly error: E
}

/**
 * An answer with its provenance: `source` answered; `failures` are the failed tries before it, in order (one entry
 * per failed attempt, so a step retried three times appears three times; empty for an answer from the first try);
 * `age` is `Some` for an answer served from a cache.
 *
 * @example
 * ```ts
 * import { Fallback } from "@sturdy/policy"
 *
 * const banner = (answer: Fallback.Provenanced<string, Error, "primary" | "default">) =>
 *   answer.source === "primary" ? answer.value : `${answer.value} (degraded)`
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Provenanced<A, E, S extends string = string> {
  readonly value: A
  readonly source: S
  readonly failures: ReadonlyArray<Failure<E, S>>
  readonly age: Option.Option<Duration.Duration>
}

/**
 * One source of a `Plan`: its name, the layer that implements the service, and how many tries it gets before the
 * next source (`attempts`, default 1, or a `schedule` of retries). A source's first try is made as soon as the
 * source before it gives up; its `schedule` spaces only its retries.
 *
 * @example
 * ```ts
 * import { Context, Effect, Layer } from "effect"
 * import { Fallback } from "@sturdy/policy"
 *
 * class Quotes extends Context.Tag("Quotes")<Quotes, { readonly get: Effect.Effect<number> }>() {}
 * const step: Fallback.Step<"default", Quotes> = {
 *   source: "default",
 *   layer: Layer.succeed(Quotes, { get: Effect.succeed(0) })
 * }
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Step<S extends string, I, LE = never, LR = never> {
  readonly source: S
  readonly layer: Layer.Layer<I, LE, LR>
  readonly attempts?: number | undefined
  readonly schedule?: Schedule.Schedule<unknown, unknown> | undefined
}

/**
 * Type helpers over steps, used by `make`.
 *
 * @since 0.1.0
 */
export declare namespace Step {
  /**
   * Any step.
   *
   * @since 0.1.0
   * @category models
   */
  export interface Any {
    readonly source: string
    readonly layer: Layer.Layer.Any
    readonly attempts?: number | undefined
    readonly schedule?: Schedule.Schedule<unknown, unknown> | undefined
  }
  /**
   * The source name of a step (distributes over a union of steps).
   *
   * @since 0.1.0
   * @category models
   */
  export type Source<T> = T extends Step<infer S, infer _I, infer _LE, infer _LR> ? S : never
  /**
   * The services a step's layer provides.
   *
   * @since 0.1.0
   * @category models
   */
  export type Provides<T> = T extends Step<infer _S, infer I, infer _LE, infer _LR> ? I : never
  /**
   * The failure of a step's layer.
   *
   * @since 0.1.0
   * @category models
   */
  export type Error<T> = T extends Step<infer _S, infer _I, infer LE, infer _LR> ? LE : never
  /**
   * The requirements of a step's layer.
   *
   * @since 0.1.0
   * @category models
   */
  export type Context<T> = T extends Step<infer _S, infer _I, infer _LE, infer LR> ? LR : never
}

/**
 * An ordered list of sources for a service `I`; `S` is the union of their names, `LE`/`LR` what their layers may
 * fail with and need.
 *
 * @example
 * ```ts
 * import { Context, Effect, Layer } from "effect"
 * import { Fallback } from "@sturdy/policy"
 *
 * class Quotes extends Context.Tag("Quotes")<Quotes, { readonly get: Effect.Effect<number> }>() {}
 * declare const plan: Fallback.Plan<"primary" | "default", Quotes, never, never>
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Plan<S extends string, I, LE = never, LR = never> extends internal.Plan<S, I, LE, LR> {}

/**
 * Options of `run` and `firstOf`: `while(error)` false returns that failure at once instead of trying the next
 * source.
 *
 * @example
 * ```ts
 * import { Fallback } from "@sturdy/policy"
 *
 * const options: Fallback.RunOptions<{ readonly _tag: string }> = { while: (e) => e._tag !== "NotFound" }
 * ```
 * @since 0.1.0
 * @category models
 */
export interface RunOptions<E> {
  readonly while?: ((error: E) => boolean) | undefined
}

/**
 * True when the answer did not come fresh from the first source: some source failed first, or it is from a cache.
 *
 * @example
 * ```ts
 * import { Fallback } from "@sturdy/policy"
 *
 * declare const answer: Fallback.Provenanced<number, Error>
 * const header = Fallback.isDegraded(answer) ? "stale-or-fallback" : "fresh"
 * ```
 * @since 0.1.0
 * @category predicates
 */
export const isDegraded: <A, E, S extends string>(self: Provenanced<A, E, S>) => boolean = internal.isDegraded

/**
 * A fresh answer from `source`, with no failures and no age.
 *
 * @example
 * ```ts
 * import { Fallback } from "@sturdy/policy"
 *
 * const answer = Fallback.fresh(42, "primary")
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const fresh: <A, S extends string>(value: A, source: S) => Provenanced<A, never, S> = internal.fresh

/**
 * Builds a `Plan` from its steps, tried in the order given. Throws a `RangeError` for `attempts` that are not an
 * integer of at least 1.
 *
 * @example
 * ```ts
 * import { Context, Data, Effect, Layer, Schedule } from "effect"
 * import { Fallback } from "@sturdy/policy"
 *
 * class Unavailable extends Data.TaggedError("Unavailable")<{}> {}
 * class Prices extends Context.Tag("Prices")<Prices, {
 *   readonly price: (sku: string) => Effect.Effect<number, Unavailable>
 * }>() {}
 * declare const primary: Layer.Layer<Prices>
 * declare const replica: Layer.Layer<Prices>
 *
 * const plan = Fallback.make(
 *   { source: "primary", layer: primary, attempts: 2, schedule: Schedule.spaced("100 millis") },
 *   { source: "replica", layer: replica },
 *   { source: "default", layer: Layer.succeed(Prices, { price: () => Effect.succeed(0) }) }
 * )
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const make: <const Steps extends readonly [Step.Any, ...Array<Step.Any>]>(
  ...steps: Steps
) => Plan<
  Step.Source<Steps[number]>,
  Step.Provides<Steps[number]>,
  Step.Error<Steps[number]>,
  Step.Context<Steps[number]>
> = internal.make

/**
 * Runs `self` against each source of `plan` in turn until one answers; the answer carries its provenance.
 *
 * @example
 * ```ts
 * import { Context, Data, Effect, Layer } from "effect"
 * import { Fallback } from "@sturdy/policy"
 *
 * class Unavailable extends Data.TaggedError("Unavailable")<{}> {}
 * class Prices extends Context.Tag("Prices")<Prices, {
 *   readonly price: (sku: string) => Effect.Effect<number, Unavailable>
 * }>() {}
 * declare const primary: Layer.Layer<Prices>
 *
 * const plan = Fallback.make(
 *   { source: "primary", layer: primary },
 *   { source: "default", layer: Layer.succeed(Prices, { price: () => Effect.succeed(0) }) }
 * )
 * const price = Effect.flatMap(Prices, (prices) => prices.price("sku-1")).pipe(Fallback.run(plan))
 * ```
 * @since 0.1.0
 * @category combinators
 */
export const run: {
  <S extends string, I, LE, LR, E>(
    plan: Plan<S, I, LE, LR>,
    options?: RunOptions<NoInfer<E> | LE>
  ): <A, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<Provenanced<A, E | LE, S>, E | LE, Exclude<R, I> | LR>
  <A, E, R, S extends string, I, LE, LR>(
    self: Effect.Effect<A, E, R>,
    plan: Plan<S, I, LE, LR>,
    options?: RunOptions<NoInfer<E> | LE>
  ): Effect.Effect<Provenanced<A, E | LE, S>, E | LE, Exclude<R, I> | LR>
} = internal.run

/**
 * Tries the effects of `sources` in key order until one succeeds; the answer's `source` is its key. Fails with the
 * last failure (or the first one `while` rejects). Throws a `RangeError` for an empty record.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Fallback } from "@sturdy/policy"
 *
 * declare const fromApi: Effect.Effect<number, Error>
 * declare const fromMirror: Effect.Effect<number, Error>
 * const answer = Fallback.firstOf({ primary: fromApi, mirror: fromMirror, default: Effect.succeed(0) })
 * ```
 * @since 0.1.0
 * @category combinators
 */
export const firstOf: <const Sources extends Readonly<Record<string, Effect.Effect<any, any, any>>>>(
  sources: Sources,
  options?: RunOptions<Effect.Effect.Error<Sources[keyof Sources]>>
) => Effect.Effect<
  Provenanced<
    Effect.Effect.Success<Sources[keyof Sources]>,
    Effect.Effect.Error<Sources[keyof Sources]>,
    Extract<keyof Sources, string>
  >,
  Effect.Effect.Error<Sources[keyof Sources]>,
  Effect.Effect.Context<Sources[keyof Sources]>
> = internal.firstOf

/**
 * Options of `orElse`: the names of the two sources in the answer's provenance (default `"primary"` and
 * `"fallback"`), and `while(error)`: false returns that failure of `self` at once instead of running `that`
 * (default: every typed failure falls back). With `while`, the failure type keeps `self`'s failures.
 *
 * @example
 * ```ts
 * import { Fallback } from "@sturdy/policy"
 *
 * const options: Fallback.OrElseOptions<{ readonly _tag: string }, "api", "default"> = {
 *   source: "api",
 *   fallback: "default",
 *   while: (e) => e._tag !== "NotFound"
 * }
 * ```
 * @since 0.2.0
 * @category models
 */
export interface OrElseOptions<E, S1 extends string = "primary", S2 extends string = "fallback"> {
  readonly source?: S1 | undefined
  readonly fallback?: S2 | undefined
  readonly while?: ((error: E) => boolean) | undefined
}

/**
 * Runs `that` when `self` fails (with a failure `while` accepts, if given); the answer says which one gave it
 * (`"primary"` and `"fallback"` unless named). A failure `while` rejects is returned as it is, so with `while` the
 * failure type is `self`'s and `that`'s; without it, only `that`'s.
 *
 * @example
 * ```ts
 * import { Data, Effect } from "effect"
 * import { Fallback } from "@sturdy/policy"
 *
 * class NotFound extends Data.TaggedError("NotFound")<{}> {}
 * declare const fromApi: Effect.Effect<number, NotFound | Error>
 * const answer = fromApi.pipe(Fallback.orElse(Effect.succeed(0), { fallback: "default" }))
 * // a NotFound is an answer, not a reason for the default
 * const unlessNotFound = fromApi.pipe(Fallback.orElse(Effect.succeed(0), { while: (e) => !(e instanceof NotFound) }))
 * ```
 * @since 0.1.0
 * @category combinators
 */
export const orElse: {
  <A2, E2, R2, E, S1 extends string = "primary", S2 extends string = "fallback">(
    that: Effect.Effect<A2, E2, R2>,
    options: OrElseOptions<E, S1, S2> & { readonly while: (error: E) => boolean }
  ): <A, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<Provenanced<A | A2, E | E2, S1 | S2>, E | E2, R | R2>
  <A2, E2, R2, S1 extends string = "primary", S2 extends string = "fallback">(
    that: Effect.Effect<A2, E2, R2>,
    options?: OrElseOptions<never, S1, S2> & { readonly while?: undefined }
  ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<Provenanced<A | A2, E | E2, S1 | S2>, E2, R | R2>
  <A, E, R, A2, E2, R2, S1 extends string = "primary", S2 extends string = "fallback">(
    self: Effect.Effect<A, E, R>,
    that: Effect.Effect<A2, E2, R2>,
    options: OrElseOptions<NoInfer<E>, S1, S2> & { readonly while: (error: NoInfer<E>) => boolean }
  ): Effect.Effect<Provenanced<A | A2, E | E2, S1 | S2>, E | E2, R | R2>
  <A, E, R, A2, E2, R2, S1 extends string = "primary", S2 extends string = "fallback">(
    self: Effect.Effect<A, E, R>,
    that: Effect.Effect<A2, E2, R2>,
    options?: OrElseOptions<never, S1, S2> & { readonly while?: undefined }
  ): Effect.Effect<Provenanced<A | A2, E | E2, S1 | S2>, E2, R | R2>
} = internal.orElse

/**
 * Marks the answer being produced (inside `run`, `firstOf` or `orElse`) as served from a cache, `age` old.
 *
 * @example
 * ```ts
 * import { Duration, Effect } from "effect"
 * import { Fallback } from "@sturdy/policy"
 *
 * const cached = Effect.as(Fallback.markStale(Duration.seconds(30)), 42)
 * ```
 * @since 0.1.0
 * @category combinators
 */
export const markStale: (age: Duration.Duration) => Effect.Effect<void> = internal.markStale
