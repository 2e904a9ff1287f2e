import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberRef from "effect/FiberRef"
import * as deadline from "./deadline.js"

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

const mapRecord = <B>(calls: Calls, f: (call: Effect.Effect<any, any, any>) => B): Record<string, B> => {
  const out: Record<string, B> = {}
  for (const key of Object.keys(calls)) out[key] = f(calls[key]!)
  return out
}

/** @internal */
export const allOrNothing = <const C extends Calls>(
  calls: C,
  options?: Options
): Effect.Effect<Successes<C>, Failures<C> | deadline.DeadlineExceeded, Requirements<C>> => {
  // One bound for the whole: when the deadline passes, every call still running is interrupted anyway.
  const all = bounded(
    Effect.all(calls as Record<string, Effect.Effect<any, any, any>>, {
      concurrency: options?.concurrency ?? "unbounded"
    })
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
  const all = whileTimeLeft(
    Effect.all(mapRecord(calls, bounded), { concurrency: options?.concurrency ?? "unbounded", mode: "either" }),
    (failure) => Effect.succeed(mapRecord(calls, () => Either.left(failure)))
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
