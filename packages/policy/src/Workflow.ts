/**
 * Several upstream calls under one shared deadline, with a chosen partial-failure mode.
 *
 * The calls are a record (`{ user: getUser, orders: getOrders }`) run concurrently (`concurrency`, default
 * unbounded), started in the record's key order; the result has each call's answer under the call's own name (any
 * name, `__proto__` included, as `Object.fromEntries(ids.map(...))` builds it). `deadline` sets the shared `Deadline`
 * for all of them (an enclosing deadline that is sooner wins, whether set with `Deadline.withDeadline` or
 * `Deadline.establish`); without it they share the enclosing one. The
 * calls are bounded by that deadline: what still runs when it passes is interrupted and fails with
 * `Deadline.DeadlineExceeded` (all-or-nothing: the workflow; best-effort: each late call), and a workflow entered
 * after it passed starts no call. Nested workflows, retries and hedges inside a call see the same deadline.
 *
 * | mode             | result                                                                                   |
 * | ---------------- | ---------------------------------------------------------------------------------------- |
 * | `all-or-nothing` | the record of successes; the first failure interrupts the other calls and is returned      |
 * | `best-effort`    | a record of `Either` per call, each keeping its own error type (plus `DeadlineExceeded`)  |
 *
 * Modes are about typed failures. A defect in any call (a bug, not an answer) ends the workflow in either mode, with
 * that defect, and interrupts the calls still running, as `Effect.all` does; so does an interruption from outside.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Either from "effect/Either"
import type { DeadlineExceeded } from "./Deadline.js"
import * as internal from "./internal/workflow.js"

/**
 * The calls of a workflow, by name.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Workflow } from "@sturdy/policy"
 *
 * const calls = { user: Effect.succeed({ id: 1 }), quota: Effect.succeed(10) } satisfies Workflow.Calls
 * ```
 * @since 0.1.0
 * @category models
 */
export type Calls = Readonly<Record<string, Effect.Effect<any, any, any>>>

/**
 * Options of a workflow: the shared `deadline` and how many calls run at once. `concurrency` is an integer of at least
 * 1, `Infinity` or `"unbounded"` (the default); another value (0, a negative number, `NaN`, 1.5), or options that are
 * no object, throws a `RangeError` naming it when the workflow is built.
 *
 * @example
 * ```ts
 * import { Workflow } from "@sturdy/policy"
 *
 * const options: Workflow.Options = { deadline: "2 seconds", concurrency: 4 }
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly deadline?: Duration.DurationInput | undefined
  readonly concurrency?: number | "unbounded" | undefined
}

/**
 * What an all-or-nothing workflow returns: each call's success under its name.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { Workflow } from "@sturdy/policy"
 *
 * type Page = Workflow.Successes<{ user: Effect.Effect<string>; count: Effect.Effect<number> }>
 * ```
 * @since 0.1.0
 * @category models
 */
export type Successes<C extends Calls> = internal.Successes<C>

/**
 * What a best-effort workflow returns: each call's `Either` under its name, with that call's own error type.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { Workflow } from "@sturdy/policy"
 *
 * type Page = Workflow.Results<{ user: Effect.Effect<string, Error>; count: Effect.Effect<number> }>
 * ```
 * @since 0.1.0
 * @category models
 */
export type Results<C extends Calls> = {
  -readonly [K in keyof C]: Either.Either<Effect.Effect.Success<C[K]>, Effect.Effect.Error<C[K]> | DeadlineExceeded>
}

/**
 * Runs every call; the first failure (or the shared deadline) interrupts the others and is returned.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Workflow } from "@sturdy/policy"
 *
 * declare const getUser: Effect.Effect<{ readonly name: string }, Error>
 * declare const getOrders: Effect.Effect<ReadonlyArray<string>, Error>
 * const page = Workflow.allOrNothing({ user: getUser, orders: getOrders }, { deadline: "2 seconds" })
 * ```
 * @since 0.1.0
 * @category combinators
 */
export const allOrNothing: <const C extends Calls>(
  calls: C,
  options?: Options
) => Effect.Effect<
  Successes<C>,
  Effect.Effect.Error<C[keyof C]> | DeadlineExceeded,
  Effect.Effect.Context<C[keyof C]>
> = internal.allOrNothing

/**
 * Runs every call to its end (or to the shared deadline) and returns each one's result; never fails with a typed
 * error (a call's defect still ends it, as the module docs say).
 *
 * @example
 * ```ts
 * import { Effect, Either } from "effect"
 * import { Workflow } from "@sturdy/policy"
 *
 * declare const getUser: Effect.Effect<{ readonly name: string }, Error>
 * declare const getAds: Effect.Effect<ReadonlyArray<string>, Error>
 * const page = Effect.map(
 *   Workflow.bestEffort({ user: getUser, ads: getAds }, { deadline: "500 millis" }),
 *   ({ ads, user }) => ({ user, ads: Either.getOrElse(ads, () => []) })
 * )
 * ```
 * @since 0.1.0
 * @category combinators
 */
export const bestEffort: <const C extends Calls>(
  calls: C,
  options?: Options
) => Effect.Effect<Results<C>, never, Effect.Effect.Context<C[keyof C]>> = internal.bestEffort

/**
 * `allOrNothing` or `bestEffort`, chosen by `mode` (default `"all-or-nothing"`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Workflow } from "@sturdy/policy"
 *
 * declare const getUser: Effect.Effect<string, Error>
 * const results = Workflow.all({ user: getUser }, { mode: "best-effort", deadline: "1 second" })
 * ```
 * @since 0.1.0
 * @category combinators
 */
export const all: {
  <const C extends Calls>(
    calls: C,
    options: Options & { readonly mode: "best-effort" }
  ): Effect.Effect<Results<C>, never, Effect.Effect.Context<C[keyof C]>>
  <const C extends Calls>(
    calls: C,
    options?: Options & { readonly mode?: "all-or-nothing" | undefined }
  ): Effect.Effect<Successes<C>, Effect.Effect.Error<C[keyof C]> | DeadlineExceeded, Effect.Effect.Context<C[keyof C]>>
} = internal.all
