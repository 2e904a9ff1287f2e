/**
 * Stale-if-error: the last good answer per key, served only when the upstream fails, and only while it is no older
 * than `maxStaleness` (an answer exactly that old is still served). At most `maxEntries` keys are kept (the least
 * recently used goes first). Ages are read from `Clock`, so it runs under `TestClock`.
 *
 * `serve(self, cache, key)` is the whole policy for one call: a success is stored and returned as `"upstream"`; a
 * typed failure returns the stored answer as `"stale"` with its `age` and the failure in `failures`, or the failure
 * itself when nothing young enough is stored. Defects and interruptions are never masked. By default any typed
 * failure is answered from the cache; `while(error)` false returns that failure as it is (a `NotFound` says the
 * answer is gone, not that the upstream is down: RFC 5861's stale-if-error is for server errors).
 *
 * Inside a `Fallback` chain, `remember` stores what the primary returns and `lookup` is the cache source (its answer
 * is marked with its age; it fails with `NoStaleAnswer` when there is none).
 *
 * Calls of one key may overlap. The answer kept is that of the call that started last among those that succeeded
 * (as SWR keeps the latest revalidation): a slow call that answers after a later one still gets its own answer, but
 * does not replace the later one's newer data in the cache. A `set` or `invalidate` of the key counts as such a later
 * call: a call that started before it does not store its answer (as lru-cache's fetch does not), so what a call read
 * before a write is not put back after it. This ordering needs the cache's writes to be seen: for a cache from
 * `make` it covers every `set` and `invalidate`; a `StaleCache` you implement yourself gets the ordering of the calls
 * of `serve` and `remember` among themselves, but its own `set` and `invalidate` are not seen, so a call that started
 * before one of them may still store its answer after it.
 *
 * | option         | meaning                                                 |
 * | -------------- | ------------------------------------------------------- |
 * | `maxEntries`   | keys kept at most (LRU)                                 |
 * | `maxStaleness` | oldest answer that may be served; older ones are dropped |
 *
 * | `serve` option | default             | meaning                                            |
 * | -------------- | ------------------- | -------------------------------------------------- |
 * | `while`        | every typed failure | which failures of the upstream the cache may answer |
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type { Provenanced } from "./Fallback.js"
import * as internal from "./internal/staleCache.js"

/**
 * A stored answer, with when it was stored (`Clock` millis) and its age now. The age is measured on the `Clock`'s
 * monotonic time, so a wall clock set back does not make an old answer look younger than `maxStaleness`.
 *
 * @example
 * ```ts
 * import { Duration } from "effect"
 * import type { StaleCache } from "@sturdy/policy"
 *
 * const label = (entry: StaleCache.Entry<string>) => `${entry.value} (${Duration.format(entry.age)} old)`
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Entry<A> {
  readonly value: A
  readonly storedAt: number
  readonly age: Duration.Duration
}

/**
 * Options of `make`: both are required, so every cache states how much it keeps and for how long.
 *
 * @example
 * ```ts
 * import { StaleCache } from "@sturdy/policy"
 *
 * const options: StaleCache.Options = { maxEntries: 1000, maxStaleness: "10 minutes" }
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly maxEntries: number
  readonly maxStaleness: Duration.DurationInput
}

/**
 * A stale-if-error cache of answers of type `A`, keyed by string. `get` and `lookup` only return an entry no older
 * than `maxStaleness` (and count as a use for the LRU order).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { StaleCache } from "@sturdy/policy"
 *
 * const program = Effect.gen(function*() {
 *   const cache = yield* StaleCache.make<number>({ maxEntries: 100, maxStaleness: "1 minute" })
 *   yield* cache.set("sku-1", 42)
 *   return yield* cache.get("sku-1")
 * })
 * ```
 * @since 0.1.0
 * @category models
 */
export interface StaleCache<A> {
  readonly maxEntries: number
  readonly maxStaleness: Duration.Duration
  readonly get: (key: string) => Effect.Effect<Option.Option<Entry<A>>>
  readonly lookup: (key: string) => Effect.Effect<Entry<A>, NoStaleAnswer>
  readonly set: (key: string, value: A) => Effect.Effect<void>
  readonly invalidate: (key: string) => Effect.Effect<void>
  readonly size: Effect.Effect<number>
}

/**
 * The failure of `lookup` when there is nothing to serve: `reason` is `"Missing"` (never stored, or evicted) or
 * `"TooOld"` (older than `maxStaleness`; it is then dropped).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { StaleCache } from "@sturdy/policy"
 *
 * declare const cache: StaleCache.StaleCache<number>
 * const orZero = StaleCache.lookup(cache, "sku-1").pipe(Effect.catchTag("NoStaleAnswer", () => Effect.succeed(0)))
 * ```
 * @since 0.1.0
 * @category errors
 */
export const NoStaleAnswer: typeof internal.NoStaleAnswer = internal.NoStaleAnswer

/**
 * The instance type of `NoStaleAnswer`.
 *
 * @example
 * ```ts
 * import { StaleCache } from "@sturdy/policy"
 *
 * const describe = (e: StaleCache.NoStaleAnswer) => `${e.key}: ${e.reason}`
 * ```
 * @since 0.1.0
 * @category errors
 */
export type NoStaleAnswer = internal.NoStaleAnswer

/**
 * Builds a cache outside of Effect. Throws a `RangeError` unless `maxEntries` is a positive integer and
 * `maxStaleness` a non-negative duration (`Duration.infinity` serves an answer of any age; a negative or `NaN` one,
 * which Effect would read as zero, is refused).
 *
 * @example
 * ```ts
 * import { StaleCache } from "@sturdy/policy"
 *
 * const cache = StaleCache.unsafeMake<string>({ maxEntries: 500, maxStaleness: "5 minutes" })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const unsafeMake: <A>(options: Options) => StaleCache<A> = internal.unsafeMake

/**
 * Builds a cache. Options `unsafeMake` refuses make the effect die with the same `RangeError`.
 *
 * @example
 * ```ts
 * import { StaleCache } from "@sturdy/policy"
 *
 * const cache = StaleCache.make<string>({ maxEntries: 500, maxStaleness: "5 minutes" })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const make: <A>(options: Options) => Effect.Effect<StaleCache<A>> = internal.make

/**
 * Options of `serve`: `while(error)` false returns that failure of the upstream as it is instead of answering it
 * from the cache (default: every typed failure is answered from the cache).
 *
 * @example
 * ```ts
 * import type { StaleCache } from "@sturdy/policy"
 *
 * const options: StaleCache.ServeOptions<{ readonly _tag: string }> = { while: (e) => e._tag !== "NotFound" }
 * ```
 * @since 0.2.0
 * @category models
 */
export interface ServeOptions<E> {
  readonly while?: ((error: E) => boolean) | undefined
}

/**
 * Runs `self`; stores its success under `key`, and on a typed failure (one `while` accepts, if given) serves the
 * stored answer if one is young enough (see the module's documentation).
 *
 * @example
 * ```ts
 * import { Data, Effect } from "effect"
 * import { StaleCache } from "@sturdy/policy"
 *
 * class NotFound extends Data.TaggedError("NotFound")<{}> {}
 * class Unavailable extends Data.TaggedError("Unavailable")<{}> {}
 * declare const price: Effect.Effect<number, NotFound | Unavailable>
 * const cache = StaleCache.unsafeMake<number>({ maxEntries: 100, maxStaleness: "10 minutes" })
 * const answer = price.pipe(StaleCache.serve(cache, "sku-1"))
 * // a deleted product is not served from the cache
 * const unlessGone = price.pipe(StaleCache.serve(cache, "sku-1", { while: (e) => e._tag !== "NotFound" }))
 * ```
 * @since 0.1.0
 * @category combinators
 */
export const serve: {
  <A>(
    cache: StaleCache<A>,
    key: string
  ): <E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<Provenanced<A, E, "upstream" | "stale">, E, R>
  <A, E>(
    cache: StaleCache<A>,
    key: string,
    options: ServeOptions<E>
  ): <R>(self: Effect.Effect<A, E, R>) => Effect.Effect<Provenanced<A, E, "upstream" | "stale">, E, R>
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    cache: StaleCache<A>,
    key: string,
    options?: ServeOptions<NoInfer<E>>
  ): Effect.Effect<Provenanced<A, E, "upstream" | "stale">, E, R>
} = internal.serve

/**
 * Stores each success of `self` under `key` (for a `Fallback` chain whose cache source is `lookup`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { StaleCache } from "@sturdy/policy"
 *
 * declare const price: Effect.Effect<number, Error>
 * const cache = StaleCache.unsafeMake<number>({ maxEntries: 100, maxStaleness: "10 minutes" })
 * const remembered = price.pipe(StaleCache.remember(cache, "sku-1"))
 * ```
 * @since 0.1.0
 * @category combinators
 */
export const remember: {
  <A>(cache: StaleCache<A>, key: string): <E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, cache: StaleCache<A>, key: string): Effect.Effect<A, E, R>
} = internal.remember

/**
 * The stored answer for `key` if it is young enough, as a fallback source: inside `Fallback.run`, `firstOf` or
 * `orElse` the answer's provenance carries its age.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Fallback, StaleCache } from "@sturdy/policy"
 *
 * declare const price: Effect.Effect<number, Error>
 * const cache = StaleCache.unsafeMake<number>({ maxEntries: 100, maxStaleness: "10 minutes" })
 * const answer = Fallback.firstOf({
 *   primary: StaleCache.remember(price, cache, "sku-1"),
 *   stale: StaleCache.lookup(cache, "sku-1")
 * })
 * ```
 * @since 0.1.0
 * @category combinators
 */
export const lookup: {
  (key: string): <A>(cache: StaleCache<A>) => Effect.Effect<A, NoStaleAnswer>
  <A>(cache: StaleCache<A>, key: string): Effect.Effect<A, NoStaleAnswer>
} = internal.lookup
