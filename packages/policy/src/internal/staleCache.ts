import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as fallback from "./fallback.js"

// Mirrors the documented shapes in `StaleCache.ts` (the public face checks that they agree).
/** @internal */
export interface Entry<A> {
  readonly value: A
  readonly storedAt: number
  readonly age: Duration.Duration
}

/** @internal */
export interface Options {
  readonly maxEntries: number
  readonly maxStaleness: Duration.DurationInput
}

/** @internal */
export interface StaleCache<A> {
  readonly maxEntries: number
  readonly maxStaleness: Duration.Duration
  readonly get: (key: string) => Effect.Effect<Option.Option<Entry<A>>>
  readonly lookup: (key: string) => Effect.Effect<Entry<A>, NoStaleAnswer>
  readonly set: (key: string, value: A) => Effect.Effect<void>
  readonly invalidate: (key: string) => Effect.Effect<void>
  readonly size: Effect.Effect<number>
}

/** @internal */
export class NoStaleAnswer extends Schema.TaggedError<NoStaleAnswer>("@sturdy/policy/NoStaleAnswer")(
  "NoStaleAnswer",
  {
    key: Schema.String,
    reason: Schema.Literal("missing", "too-old")
  }
) {
  override get message(): string {
    return this.reason === "missing"
      ? `no earlier answer is cached for ${this.key}`
      : `the cached answer for ${this.key} is older than the allowed staleness`
  }
}

interface Stored<A> {
  readonly value: A
  readonly storedAt: number
}

/** @internal */
export const unsafeMake = <A>(options: Options): StaleCache<A> => {
  const maxEntries = options.maxEntries
  const maxStaleness = Duration.decode(options.maxStaleness)
  const maxStalenessMillis = Duration.toMillis(maxStaleness)
  if (!Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new RangeError("StaleCache: maxEntries must be a positive integer")
  }
  // A Map keeps insertion order: re-inserting on use makes its first key the least recently used one.
  const entries = new Map<string, Stored<A>>()
  const lookup = (key: string): Effect.Effect<Entry<A>, NoStaleAnswer> =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const stored = entries.get(key)
      if (stored === undefined) return Effect.fail(new NoStaleAnswer({ key, reason: "missing" }))
      entries.delete(key)
      const ageMillis = Math.max(0, now - stored.storedAt)
      if (ageMillis > maxStalenessMillis) {
        return Effect.fail(new NoStaleAnswer({ key, reason: "too-old" }))
      }
      entries.set(key, stored)
      return Effect.succeed({ value: stored.value, storedAt: stored.storedAt, age: Duration.millis(ageMillis) })
    })
  return {
    maxEntries,
    maxStaleness,
    lookup,
    get: (key) => Effect.option(lookup(key)),
    set: (key, value) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        entries.delete(key)
        if (entries.size >= maxEntries) {
          entries.delete(entries.keys().next().value!)
        }
        entries.set(key, { value, storedAt: now })
      }),
    invalidate: (key) =>
      Effect.sync(() => {
        entries.delete(key)
      }),
    size: Effect.sync(() => entries.size)
  }
}

/** @internal */
export const make = <A>(options: Options): Effect.Effect<StaleCache<A>> => Effect.sync(() => unsafeMake<A>(options))

/** @internal */
export const lookup: {
  (key: string): <A>(cache: StaleCache<A>) => Effect.Effect<A, NoStaleAnswer>
  <A>(cache: StaleCache<A>, key: string): Effect.Effect<A, NoStaleAnswer>
} = dual(
  2,
  <A>(cache: StaleCache<A>, key: string): Effect.Effect<A, NoStaleAnswer> =>
    Effect.flatMap(cache.lookup(key), (entry) => Effect.as(fallback.markStale(entry.age), entry.value))
)

/** @internal */
export const remember: {
  <A>(cache: StaleCache<A>, key: string): <E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, cache: StaleCache<A>, key: string): Effect.Effect<A, E, R>
} = dual(
  3,
  <A, E, R>(self: Effect.Effect<A, E, R>, cache: StaleCache<A>, key: string): Effect.Effect<A, E, R> =>
    Effect.tap(self, (value) => cache.set(key, value))
)

/** @internal */
export const serve: {
  <A>(
    cache: StaleCache<A>,
    key: string
  ): <E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<fallback.Provenanced<A, E, "upstream" | "stale">, E, R>
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    cache: StaleCache<A>,
    key: string
  ): Effect.Effect<fallback.Provenanced<A, E, "upstream" | "stale">, E, R>
} = dual(3, <A, E, R>(
  self: Effect.Effect<A, E, R>,
  cache: StaleCache<A>,
  key: string
): Effect.Effect<fallback.Provenanced<A, E, "upstream" | "stale">, E, R> =>
  Effect.matchEffect(self, {
    onSuccess: (value) => Effect.as(cache.set(key, value), fallback.fresh<A, "upstream" | "stale">(value, "upstream")),
    // Only a typed failure of the upstream falls back; a stale entry too old (or none) leaves the failure as it is.
    onFailure: (error) =>
      Effect.matchEffect(cache.lookup(key), {
        onFailure: () => Effect.fail(error),
        onSuccess: (entry) =>
          Effect.succeed<fallback.Provenanced<A, E, "upstream" | "stale">>({
            value: entry.value,
            source: "stale",
            failures: [{ source: "upstream", error }],
            age: Option.some(entry.age)
          })
      })
  }))
