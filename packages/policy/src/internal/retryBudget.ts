import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type { RetryBudget } from "../RetryBudget.js"

/** @internal */
export const defaults = {
  ratio: 0.2,
  minRetries: 10,
  window: Duration.seconds(10)
} as const

// The window is cut into slots so that it slides with Clock time and no timer is needed to expire old counts.
/** @internal */
export const slotCount = 10

/** Requests and retries of one key, per slot of the sliding window. @internal */
export interface Counters {
  readonly slot: Array<number>
  readonly requests: Array<number>
  readonly retries: Array<number>
}

/** The key's counters, the slot `current` (a slot number since the epoch) cleared when it starts. @internal */
export const countersAt = (byKey: Map<string, Counters>, key: string, current: number): Counters => {
  let counters = byKey.get(key)
  if (counters === undefined) {
    counters = {
      slot: new Array<number>(slotCount).fill(-1),
      requests: new Array<number>(slotCount).fill(0),
      retries: new Array<number>(slotCount).fill(0)
    }
    byKey.set(key, counters)
  }
  const position = current % slotCount
  if (counters.slot[position] !== current) {
    counters.slot[position] = current
    counters.requests[position] = 0
    counters.retries[position] = 0
  }
  return counters
}

/** Requests and retries over the window that ends in slot `current`. @internal */
export const windowSums = (counters: Counters, current: number): { requests: number; retries: number } => {
  let requests = 0
  let retries = 0
  for (let i = 0; i < slotCount; i++) {
    if (counters.slot[i]! > current - slotCount) {
      requests += counters.requests[i]!
      retries += counters.retries[i]!
    }
  }
  return { requests, retries }
}

/**
 * The budget rule, the same in memory, in a `RetryBudgetStore` and in Redis's script, so that moving a budget to a
 * shared store changes no decision: a fraction of a retry allowed is a retry (ratio 0.5 and one request allow one).
 * @internal
 */
export const allows = (ratio: number, minRetries: number, requests: number, retries: number): boolean =>
  retries < minRetries + ratio * requests

/**
 * How many retries `allows` would grant one after the other from here: the `n` with `retries + k` allowed for every
 * `k < n`.
 * @internal
 */
export const available = (ratio: number, minRetries: number, requests: number, retries: number): number =>
  Math.max(0, Math.ceil(minRetries + ratio * requests - retries))

const granted = Effect.succeed(true)
const refused = Effect.succeed(false)

/** @internal */
export const unsafeMake = (options?: RetryBudget.Options): RetryBudget.Service => {
  const ratio = options?.ratio ?? defaults.ratio
  const minRetries = options?.minRetries ?? defaults.minRetries
  const windowMillis = Duration.toMillis(options?.window ?? defaults.window)
  if (!(ratio >= 0) || !(minRetries >= 0) || !(windowMillis > 0) || !Number.isFinite(windowMillis)) {
    throw new RangeError("RetryBudget: ratio and minRetries must be >= 0 and window a finite positive duration")
  }
  const slotMillis = windowMillis / slotCount
  const byKey = new Map<string, Counters>()

  const countersFor = (key: string, current: number): Counters => countersAt(byKey, key, current)

  const totals = (counters: Counters, current: number): RetryBudget.Stats => {
    const { requests, retries } = windowSums(counters, current)
    return { requests, retries, available: available(ratio, minRetries, requests, retries) }
  }

  // A deposit runs on every call: it reads the clock and bumps a counter, and allocates nothing.
  const depositAt = (key: string, nowMillis: number): void => {
    const current = Math.floor(nowMillis / slotMillis)
    countersFor(key, current).requests[current % slotCount]! += 1
  }
  const service: RetryBudget.Service = {
    deposit: (key) =>
      Effect.clockWith((clock) => {
        depositAt(key, clock.unsafeCurrentTimeMillis())
        return Effect.void
      }),
    withdraw: (key) =>
      Effect.clockWith((clock) => {
        const current = Math.floor(clock.unsafeCurrentTimeMillis() / slotMillis)
        const counters = countersFor(key, current)
        const { requests, retries } = windowSums(counters, current)
        if (!allows(ratio, minRetries, requests, retries)) {
          return refused
        }
        counters.retries[current % slotCount]! += 1
        return granted
      }),
    stats: (key) =>
      Effect.clockWith((clock) =>
        Effect.sync(() => {
          const current = Math.floor(clock.unsafeCurrentTimeMillis() / slotMillis)
          return totals(countersFor(key, current), current)
        })
      )
  }
  synchronousDeposits.set(service, depositAt)
  return service
}

// The in-memory budget's deposit as a plain function, for a caller that already read the clock in a step of its own
// (`Retry`): a budget from elsewhere (Redis, a test double) has none and is asked through `deposit`.
const synchronousDeposits = new WeakMap<RetryBudget.Service, (key: string, nowMillis: number) => void>()

/** @internal */
export const synchronousDeposit = (
  service: RetryBudget.Service
): ((key: string, nowMillis: number) => void) | undefined => synchronousDeposits.get(service)

/** @internal */
export const make = (options?: RetryBudget.Options): Effect.Effect<RetryBudget.Service> =>
  Effect.sync(() => unsafeMake(options))
