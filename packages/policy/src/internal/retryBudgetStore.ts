import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { RetryBudget } from "../RetryBudget.js"
import type * as RBS from "../RetryBudgetStore.js"
import { checkOptions } from "./options.js"
import * as budgetInternal from "./retryBudget.js"
import { makeHealth } from "./sharedState.js"
import { optionDuration, optionMillis } from "./timer.js"

/** @internal */
export class RetryBudgetStore extends Context.Tag("@sturdy/policy/RetryBudgetStore")<
  RetryBudgetStore,
  RBS.RetryBudgetStore.Service
>() {}

/** @internal */
export class RetryBudgetStoreError
  extends Schema.TaggedError<RetryBudgetStoreError>("@sturdy/policy/RetryBudgetStore/RetryBudgetStoreError")(
    "RetryBudgetStoreError",
    {
      key: Schema.String,
      cause: Schema.optional(Schema.Defect)
    }
  )
{
  // the cause (e.g. a Redis connection error) may name hosts or credentials: keep it out of the message
  override get message(): string {
    return `retry budget store failed for ${this.key}`
  }
}

/** @internal */
export const defaults = {
  syncInterval: Duration.millis(100),
  timeout: Duration.millis(100)
} as const

/** The window is cut into this many slots in every store, as in the in-memory `RetryBudget`. @internal */
export const slotCount = budgetInternal.slotCount

/** @internal */
export const makeMemory = (options?: RBS.MemoryOptions): RBS.RetryBudgetStore.Service => {
  checkOptions("RetryBudgetStore", options)
  const maxKeys = options?.maxKeys ?? budgetInternal.defaults.maxKeys
  budgetInternal.checkMaxKeys("RetryBudgetStore", maxKeys)
  const keys = new budgetInternal.Keys(maxKeys)
  return {
    update: (request) =>
      Effect.sync(() => {
        const slotMillis = request.windowMillis / slotCount
        const current = Math.floor(request.now / slotMillis)
        // a read of a key never counted into (or dropped since) adds nothing
        if (request.requests === 0 && !request.withdraw && !keys.byKey.has(request.key)) {
          return { granted: false, requests: 0, retries: 0 }
        }
        const counters = budgetInternal.countersAt(keys, request.key, current, slotMillis)
        counters.requests[current % slotCount]! += request.requests
        const sums = budgetInternal.windowSums(counters, current)
        const requests = sums.requests
        let retries = sums.retries
        let granted = false
        if (request.withdraw && budgetInternal.allows(request.ratio, request.minRetries, requests, retries)) {
          counters.retries[current % slotCount]! += 1
          retries += 1
          granted = true
        }
        return { granted, requests, retries }
      })
  }
}

/** @internal */
export const layerMemory: Layer.Layer<RetryBudgetStore> = Layer.sync(RetryBudgetStore, () => makeMemory())

/** @internal */
export const makeBudget = (
  options?: RBS.Options
): Effect.Effect<RetryBudget.Service, never, RetryBudgetStore | Scope.Scope> =>
  Effect.gen(function*() {
    const store = yield* RetryBudgetStore
    // the local budget validates the options, and decides alone while the store cannot answer
    const local = budgetInternal.unsafeMake(options)
    const ratio = options?.ratio ?? budgetInternal.defaults.ratio
    const minRetries = options?.minRetries ?? budgetInternal.defaults.minRetries
    const windowMillis = optionMillis("RetryBudgetStore", "window", options?.window ?? budgetInternal.defaults.window)
    const syncInterval = optionDuration(
      "RetryBudgetStore",
      "syncInterval",
      options?.syncInterval ?? defaults.syncInterval
    )
    const timeout = optionDuration("RetryBudgetStore", "timeout", options?.timeout ?? defaults.timeout)
    if (!Duration.greaterThan(syncInterval, Duration.zero) || !Duration.isFinite(syncInterval)) {
      throw new RangeError("RetryBudgetStore: syncInterval must be a finite positive duration")
    }
    if (!Duration.greaterThan(timeout, Duration.zero) || !Duration.isFinite(timeout)) {
      throw new RangeError("RetryBudgetStore: timeout must be a finite positive duration")
    }
    const health = makeHealth("retry_budget", timeout)
    const slotMillis = windowMillis / slotCount
    // Requests seen here and not yet added to the store, per key and per slot, oldest first: each batch is added with
    // a time in its own slot, so that a request leaves the fleet's window when it leaves this process's (added at the
    // time of a later flush, it would count up to `syncInterval` longer than it should).
    const pending = new Map<string, Array<{ readonly now: number; requests: number }>>()

    const update = (key: string, requests: number, withdraw: boolean, now: number) =>
      health.run(store.update({ key, requests, withdraw, now, windowMillis, ratio, minRetries }))

    // the batches of `key`, removed from `pending`; a batch already out of the window at `now` counts for nothing
    const take = (key: string, now: number): Array<{ readonly now: number; requests: number }> => {
      const batches = pending.get(key) ?? []
      pending.delete(key)
      const oldest = Math.floor(now / slotMillis) - slotCount
      return batches.filter((batch) => Math.floor(batch.now / slotMillis) > oldest)
    }

    // adds the batches of `key` from slots before the one of `now`, and returns the requests of that slot
    const addEarlier = (key: string, now: number): Effect.Effect<number> =>
      Effect.suspend(() => {
        const batches = take(key, now)
        const last = batches.at(-1)
        const current = last !== undefined && Math.floor(last.now / slotMillis) === Math.floor(now / slotMillis)
          ? batches.pop()!.requests
          : 0
        return batches.length === 0 ? Effect.succeed(current) : Effect.as(
          Effect.forEach(batches, (batch) => update(key, batch.requests, false, batch.now), { discard: true }),
          current
        )
      })

    // Deposits made while the store failed are dropped from the fleet's count (the local budget has them): the
    // fleet can only be stricter for it, never looser.
    const flush = Effect.clockWith((clock) =>
      Effect.suspend(() => {
        if (pending.size === 0) return Effect.void
        const now = clock.unsafeCurrentTimeMillis()
        const keys = Array.from(pending.keys())
        return Effect.forEach(keys, (key) =>
          Effect.forEach(take(key, now), (batch) => update(key, batch.requests, false, batch.now), {
            discard: true
          }), { discard: true })
      })
    )
    // interruptible whatever the caller's mask (a fiber inherits it): the scope's close stops the loop
    yield* Effect.forkScoped(Effect.interruptible(Effect.repeat(flush, Schedule.spaced(syncInterval))))
    yield* Effect.addFinalizer(() => flush)

    // `op(requests of the current slot, now)` on the store once the earlier batches are in, or `fallback` while the
    // store fails
    const withStore = <A>(
      key: string,
      fallback: Effect.Effect<A>,
      op: (requests: number, now: number) => Effect.Effect<A>
    ): Effect.Effect<A> =>
      Effect.clockWith((clock) =>
        Effect.suspend(() => {
          if (health.degraded()) return fallback
          const now = clock.unsafeCurrentTimeMillis()
          return Effect.flatMap(addEarlier(key, now), (requests) =>
            // a failed addition of an earlier batch has switched to the local budget
            health.degraded() ? fallback : op(requests, now))
        })
      )

    const withdraw = (key: string): Effect.Effect<boolean> =>
      withStore(key, local.withdraw(key), (requests, now) =>
        Effect.flatMap(update(key, requests, true, now), (result) => {
          if (Option.isNone(result)) {
            return local.withdraw(key)
          }
          // the fleet decided; the local budget counts the retry too, for the time the store may fail
          return result.value.granted ? Effect.as(local.withdraw(key), true) : Effect.succeed(false)
        }))

    return {
      deposit: (key) =>
        Effect.zipRight(
          local.deposit(key),
          Effect.clockWith((clock) =>
            Effect.sync(() => {
              const now = clock.unsafeCurrentTimeMillis()
              const batches = pending.get(key)
              const last = batches?.at(-1)
              if (last !== undefined && Math.floor(last.now / slotMillis) === Math.floor(now / slotMillis)) {
                last.requests += 1
              } else if (batches !== undefined) {
                batches.push({ now, requests: 1 })
              } else {
                pending.set(key, [{ now, requests: 1 }])
              }
            })
          )
        ),
      withdraw,
      stats: (key) =>
        withStore(key, local.stats(key), (requests, now) =>
          Effect.flatMap(update(key, requests, false, now), (result) =>
            Option.isNone(result)
              ? local.stats(key)
              : Effect.succeed({
                requests: result.value.requests,
                retries: result.value.retries,
                available: budgetInternal.available(ratio, minRetries, result.value.requests, result.value.retries)
              })))
    } satisfies RetryBudget.Service
  })

/** @internal */
export const layerBudget = (
  options?: RBS.Options
): Layer.Layer<RetryBudget, never, RetryBudgetStore> => Layer.scoped(RetryBudget, makeBudget(options))
