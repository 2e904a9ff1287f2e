import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Fallback from "../Fallback.js"
import type * as StaleCache from "../StaleCache.js"
import * as fallback from "./fallback.js"
import { checkOptions } from "./options.js"
import { checkNonNegative, monotonicMillis } from "./timer.js"

/** @internal */
export class NoStaleAnswer extends Schema.TaggedError<NoStaleAnswer>("@sturdy/policy/StaleCache/NoStaleAnswer")(
  "NoStaleAnswer",
  {
    key: Schema.String,
    reason: Schema.Literal("Missing", "TooOld")
  }
) {
  override get message(): string {
    return this.reason === "Missing"
      ? `no earlier answer is cached for ${this.key}`
      : `the cached answer for ${this.key} is older than the allowed staleness`
  }
}

// Per cache, the calls of `serve` and `remember` running, by key, and the order number of the latest write of each
// such key: the call whose answer was stored, or a `set` or `invalidate` of the key. Two calls of one key may overlap:
// an older call that answers after a newer one must not replace the newer answer with older data (as SWR keeps the
// latest revalidation), nor may a call that started before a `set` or `invalidate` put back what it read before (as
// lru-cache's fetch does not). A key is only kept while calls of it run (a write of a key no call of which runs need
// not be remembered: every later call starts after it), so the table is bounded by the calls running, and never
// forgets the order of a running call.
interface Running {
  /** calls of the key running */
  calls: number
  /** the order number of the latest write of the key since the oldest of them started (-1: none) */
  latest: number
}

interface CallOrder {
  next: number
  readonly keys: Map<string, Running>
}

const callOrders = new WeakMap<object, CallOrder>()
// the store of a cache made here, which does not count as a write (`storing` has numbered its call already)
const rawStores = new WeakMap<object, (key: string, value: any) => Effect.Effect<void>>()

const newOrder = (): CallOrder => ({ next: 0, keys: new Map() })

const orderOf = (cache: StaleCache.StaleCache<any>): CallOrder => {
  let order = callOrders.get(cache)
  if (order === undefined) {
    order = newOrder()
    callOrders.set(cache, order)
  }
  return order
}

// A `set` or `invalidate`: a call of the key still running (started before it) does not store its answer.
const written = (order: CallOrder, key: string): void => {
  const running = order.keys.get(key)
  if (running !== undefined) running.latest = order.next++
}

// Runs `self`, numbered when it starts, and stores its success unless a later call of the key has stored its own
// already, or the key was set or invalidated since it started.
const storing = <A, E, R, B, E2, R2>(
  self: Effect.Effect<A, E, R>,
  cache: StaleCache.StaleCache<A>,
  key: string,
  onSuccess: (value: A) => Effect.Effect<B, E2, R2>,
  onFailure: (error: E) => Effect.Effect<B, E2, R2>
): Effect.Effect<B, E | E2, R | R2> =>
  Effect.suspend(() => {
    const order = orderOf(cache)
    const started = order.next++
    let running = order.keys.get(key)
    if (running === undefined) {
      running = { calls: 0, latest: -1 }
      order.keys.set(key, running)
    }
    running.calls++
    const calls = running
    const store = rawStores.get(cache) ?? cache.set
    return Effect.matchEffect(self, {
      onSuccess: (value) => {
        if (calls.latest > started) return onSuccess(value)
        calls.latest = started
        return Effect.zipRight(store(key, value), onSuccess(value))
      },
      onFailure
    }).pipe(Effect.ensuring(Effect.sync(() => {
      if (--calls.calls === 0 && order.keys.get(key) === calls) order.keys.delete(key)
    })))
  })

interface Stored<A> {
  readonly value: A
  /** wall-clock time, as the entry reports it */
  readonly storedAt: number
  /** the clock's monotonic time, which the age is measured on: a wall clock set back must not make old data young */
  readonly storedAtMonotonic: number
}

/** @internal */
export const unsafeMake = <A>(options: StaleCache.Options): StaleCache.StaleCache<A> => {
  checkOptions("StaleCache", options)
  const maxEntries = options.maxEntries
  if (!Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new RangeError("StaleCache: maxEntries must be a positive integer")
  }
  // an answer of any age may be served (Infinity), but a staleness that is no duration is a mistake, named here
  const decoded = Duration.decodeUnknown(options.maxStaleness)
  if (Option.isNone(decoded)) throw new RangeError("StaleCache: maxStaleness is not a duration")
  // Effect reads -1, "-1 millis" and NaN as zero: a typo would silently serve nothing older than an instant
  checkNonNegative("StaleCache", "maxStaleness", options.maxStaleness)
  const maxStaleness = decoded.value
  const maxStalenessMillis = Duration.toMillis(maxStaleness)
  // A Map keeps insertion order: re-inserting on use makes its first key the least recently used one.
  const entries = new Map<string, Stored<A>>()
  const lookup = (key: string): Effect.Effect<StaleCache.Entry<A>, NoStaleAnswer> =>
    Effect.clockWith((clock) => {
      const stored = entries.get(key)
      if (stored === undefined) return Effect.fail(new NoStaleAnswer({ key, reason: "Missing" }))
      entries.delete(key)
      const ageMillis = Math.max(0, monotonicMillis(clock) - stored.storedAtMonotonic)
      if (ageMillis > maxStalenessMillis) {
        return Effect.fail(new NoStaleAnswer({ key, reason: "TooOld" }))
      }
      entries.set(key, stored)
      return Effect.succeed({ value: stored.value, storedAt: stored.storedAt, age: Duration.millis(ageMillis) })
    })
  const store = (key: string, value: A): Effect.Effect<void> =>
    Effect.clockWith((clock) =>
      Effect.sync(() => {
        entries.delete(key)
        if (entries.size >= maxEntries) {
          entries.delete(entries.keys().next().value!)
        }
        entries.set(key, {
          value,
          storedAt: clock.unsafeCurrentTimeMillis(),
          storedAtMonotonic: monotonicMillis(clock)
        })
      })
    )
  const order = newOrder()
  const cache: StaleCache.StaleCache<A> = {
    maxEntries,
    maxStaleness,
    lookup,
    get: (key) => Effect.option(lookup(key)),
    set: (key, value) => Effect.zipRight(Effect.sync(() => written(order, key)), store(key, value)),
    invalidate: (key) =>
      Effect.sync(() => {
        written(order, key)
        entries.delete(key)
      }),
    size: Effect.sync(() => entries.size)
  }
  callOrders.set(cache, order)
  rawStores.set(cache, store)
  return cache
}

/** @internal */
export const make = <A>(options: StaleCache.Options): Effect.Effect<StaleCache.StaleCache<A>> =>
  Effect.sync(() => unsafeMake<A>(options))

/** @internal */
export const lookup: typeof StaleCache.lookup = dual(
  2,
  <A>(cache: StaleCache.StaleCache<A>, key: string): Effect.Effect<A, NoStaleAnswer> =>
    Effect.flatMap(cache.lookup(key), (entry) => Effect.as(fallback.markStale(entry.age), entry.value))
)

/** @internal */
export const remember: typeof StaleCache.remember = dual(
  3,
  <A, E, R>(self: Effect.Effect<A, E, R>, cache: StaleCache.StaleCache<A>, key: string): Effect.Effect<A, E, R> =>
    storing(self, cache, key, Effect.succeed, Effect.fail)
)

/** @internal */
export const serve: typeof StaleCache.serve = dual((args) => Effect.isEffect(args[0]), <A, E, R>(
  self: Effect.Effect<A, E, R>,
  cache: StaleCache.StaleCache<A>,
  key: string,
  options?: StaleCache.ServeOptions<E>
): Effect.Effect<Fallback.Provenanced<A, E, "upstream" | "stale">, E, R> => {
  const keepGoing = options?.while
  return storing(
    self,
    cache,
    key,
    (value) => Effect.succeed(fallback.fresh<A, "upstream" | "stale">(value, "upstream")),
    // Only a typed failure of the upstream falls back, and only one `while` accepts (a NotFound is an answer); a
    // stale entry too old (or none) leaves the failure as it is.
    (error) =>
      keepGoing !== undefined && !keepGoing(error) ? Effect.fail(error) : Effect.matchEffect(cache.lookup(key), {
        onFailure: () => Effect.fail(error),
        onSuccess: (entry) =>
          Effect.succeed<Fallback.Provenanced<A, E, "upstream" | "stale">>({
            value: entry.value,
            source: "stale",
            failures: [{ source: "upstream", error }],
            age: Option.some(entry.age)
          })
      })
  )
})
