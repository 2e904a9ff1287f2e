import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberRef from "effect/FiberRef"
import * as deadline from "./deadline.js"
import { checkOptions } from "./options.js"

// Mirrors the documented shapes in `Workflow.ts` (the public face checks that they agree).
/** @internal */
export type Calls = Readonly<Record<string, Effect.Effect<any, any, any>>>

/** @internal */
export interface Options {
  readonly deadline?: Duration.DurationInput | undefined
  readonly concurrency?: number | "unbounded" | undefined
}

/** @internal */
export type Successes<C extends Calls> = { -readonly [K in keyof C]: Effect.Effect.Success<C[K]> }

/** @internal */
export type Results<C extends Calls> = {
  -readonly [K in keyof C]: Either.Either<
    Effect.Effect.Success<C[K]>,
    Effect.Effect.Error<C[K]> | deadline.DeadlineExceeded
  >
}

/** @internal */
export type Failures<C extends Calls> = Effect.Effect.Error<C[keyof C]>

/** @internal */
export type Requirements<C extends Calls> = Effect.Effect.Context<C[keyof C]>

const spent = (current: deadline.Current) =>
  new deadline.DeadlineExceeded({ reason: current.reason, timeout: current.timeout }, true)

// Runs `call` until the shared deadline; a call entered after it fails at once with the deadline's failure.
const bounded = <A, E, R>(call: Effect.Effect<A, E, R>): Effect.Effect<A, E | deadline.DeadlineExceeded, R> =>
  Effect.flatMap(FiberRef.get(deadline.currentRef), (current) => {
    if (!Number.isFinite(current.at)) return call
    return Effect.flatMap(Clock.currentTimeMillis, (now) =>
      current.at <= now
        ? Effect.fail(spent(current))
        : Effect.timeoutFail(call, { duration: Duration.millis(current.at - now), onTimeout: () => spent(current) }))
  })

// A workflow entered after the shared deadline passed starts no call.
const whileTimeLeft = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  onSpent: (failure: deadline.DeadlineExceeded) => Effect.Effect<A, E>
): Effect.Effect<A, E, R> =>
  Effect.flatMap(FiberRef.get(deadline.currentRef), (current) =>
    Number.isFinite(current.at)
      ? Effect.flatMap(Clock.currentTimeMillis, (now) => (current.at <= now ? onSpent(spent(current)) : self))
      : self)

// The calls run as an array, in key order, and their results are put back under their names as own properties: a
// record built by assignment (Effect.all's over a record, too) would take a call named `__proto__` (an id from the
// outside, in `Object.fromEntries(ids.map(...))`) for the record's prototype, and lose it.
const recordOf = <B>(keys: ReadonlyArray<string>, values: ReadonlyArray<B>): Record<string, B> => {
  const out: Record<string, B> = {}
  keys.forEach((key, i) => {
    Object.defineProperty(out, key, { value: values[i], enumerable: true, writable: true, configurable: true })
  })
  return out
}

// A concurrency Effect would read in its own way (0, a negative number or NaN as one at a time, 1.5 as two) is a
// mistake of the caller, refused when the workflow is built.
const concurrencyOf = (owner: string, options: Options | undefined): number | "unbounded" => {
  checkOptions(owner, options)
  const concurrency = options?.concurrency
  if (concurrency === undefined || concurrency === "unbounded" || concurrency === Number.POSITIVE_INFINITY) {
    return "unbounded"
  }
  if (typeof concurrency !== "number" || !Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(
      `${owner}: concurrency (${
        typeof concurrency === "string" ? JSON.stringify(concurrency) : String(concurrency)
      }) must be an integer of at least 1, Infinity or "unbounded"`
    )
  }
  return concurrency
}

/** @internal */
export const allOrNothing = <const C extends Calls>(
  calls: C,
  options?: Options
): Effect.Effect<Successes<C>, Failures<C> | deadline.DeadlineExceeded, Requirements<C>> => {
  const concurrency = concurrencyOf("Workflow.allOrNothing", options)
  const keys = Object.keys(calls)
  // One bound for the whole: when the deadline passes, every call still running is interrupted anyway.
  const all = bounded(
    Effect.map(Effect.all(keys.map((key) => calls[key]!), { concurrency }), (values) => recordOf(keys, values))
  )
  // `Effect.all` over a record keeps each key's type; TypeScript cannot follow that through the generic `C`.
  return (options?.deadline === undefined ? all : deadline.establish(all, options.deadline)) as Effect.Effect<
    Successes<C>,
    Failures<C> | deadline.DeadlineExceeded,
    Requirements<C>
  >
}

/** @internal */
export const bestEffort = <const C extends Calls>(
  calls: C,
  options?: Options
): Effect.Effect<Results<C>, never, Requirements<C>> => {
  const concurrency = concurrencyOf("Workflow.bestEffort", options)
  const keys = Object.keys(calls)
  const all = whileTimeLeft(
    Effect.map(
      Effect.all(keys.map((key) => bounded(calls[key]!)), { concurrency, mode: "either" }),
      (values) => recordOf(keys, values)
    ),
    (failure) => Effect.succeed(recordOf(keys, keys.map(() => Either.left(failure))))
  )
  return (options?.deadline === undefined ? all : deadline.establish(all, options.deadline)) as Effect.Effect<
    Results<C>,
    never,
    Requirements<C>
  >
}

/** @internal */
export function all<const C extends Calls>(
  calls: C,
  options: Options & { readonly mode: "best-effort" }
): Effect.Effect<Results<C>, never, Requirements<C>>
/** @internal */
export function all<const C extends Calls>(
  calls: C,
  options?: Options & { readonly mode?: "all-or-nothing" | undefined }
): Effect.Effect<Successes<C>, Failures<C> | deadline.DeadlineExceeded, Requirements<C>>
/** @internal */
export function all<const C extends Calls>(
  calls: C,
  options?: Options & { readonly mode?: "all-or-nothing" | "best-effort" | undefined }
): Effect.Effect<Results<C> | Successes<C>, Failures<C> | deadline.DeadlineExceeded, Requirements<C>> {
  return options?.mode === "best-effort" ? bestEffort(calls, options) : allOrNothing(calls, options)
}
