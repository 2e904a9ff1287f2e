import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type { RetryBudget } from "../RetryBudget.js"
import { checkOptions } from "./options.js"
import { monotonicMillis, optionMillis } from "./timer.js"

/** @internal */
export const defaults = {
  ratio: 0.2,
  minRetries: 10,
  window: Duration.seconds(10),
  maxKeys: 10_000
} as const

// The window is cut into slots so that it slides with Clock time and no timer is needed to expire old counts.
/** @internal */
export const slotCount = 10

/** Requests and retries of one key, per slot of the sliding window. @internal */
export interface Counters {
  readonly slot: Array<number>
  readonly requests: Array<number>
  readonly retries: Array<number>
  /** the last slot counted into, and the epoch millis from which the window holds none of it */
  last: number
  expiresAt: number
}

/**
 * The counters of every key, least recently counted into first (a key moves to the back once per slot, not per
 * call). A key whose window has passed holds nothing (its counts are zero), so it can go: when a key is added the
 * keys expired at the front are dropped, and past `maxKeys` the least recently counted into. Reading a key's counts
 * never adds it.
 * @internal
 */
export class Keys {
  readonly byKey = new Map<string, Counters>()
  constructor(readonly maxKeys: number) {}
}

/** @internal */
export const checkMaxKeys = (module: string, maxKeys: number): void => {
  if (!(Number.isInteger(maxKeys) && maxKeys >= 1)) {
    throw new RangeError(`${module}: maxKeys (${String(maxKeys)}) must be an integer of at least 1`)
  }
}

const add = (keys: Keys, key: string, counters: Counters, now: number): void => {
  const byKey = keys.byKey
  byKey.set(key, counters)
  // amortized: a key dropped here was paid for when it was added
  for (const [oldest, old] of byKey) {
    if (oldest === key || (old.expiresAt > now && byKey.size <= keys.maxKeys)) return
    byKey.delete(oldest)
  }
}

/**
 * The key's counters, the slot `current` (a slot number since the epoch, `slotMillis` long) cleared when it starts.
 * @internal
 */
export const countersAt = (keys: Keys, key: string, current: number, slotMillis: number): Counters => {
  let counters = keys.byKey.get(key)
  if (counters === undefined) {
    counters = {
      slot: new Array<number>(slotCount).fill(-1),
      requests: new Array<number>(slotCount).fill(0),
      retries: new Array<number>(slotCount).fill(0),
      last: current,
      expiresAt: (current + slotCount) * slotMillis
    }
    add(keys, key, counters, current * slotMillis)
  } else if (current > counters.last) {
    counters.last = current
    counters.expiresAt = (current + slotCount) * slotMillis
    keys.byKey.delete(key)
    keys.byKey.set(key, counters)
  }
  const position = current % slotCount
  if (counters.slot[position] !== current) {
    counters.slot[position] = current
    counters.requests[position] = 0
    counters.retries[position] = 0
  }
  return counters
}

/**
 * Requests and retries over the window that ends in slot `current`. A slot past `current` (counted by a process whose
 * clock is ahead, or before a clock stepped back) is not in it, as Redis's script sums the window. @internal
 */
export const windowSums = (counters: Counters, current: number): { requests: number; retries: number } => {
  let requests = 0
  let retries = 0
  for (let i = 0; i < slotCount; i++) {
    const slot = counters.slot[i]!
    if (slot > current - slotCount && slot <= current) {
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
  retries < allowance(ratio, minRetries, requests)

/**
 * `minRetries + ratio × requests`, less the noise of floating point: a result within a billionth (relative) of a
 * whole number is that number. 0.07 × 100 is 7.000000000000001, which would allow an 8th retry where 7 are due (and
 * report 8 available). Redis's script rounds the same way. An infinite floor stays infinite.
 * @internal
 */
export const allowance = (ratio: number, minRetries: number, requests: number): number => {
  const exact = minRetries + ratio * requests
  const whole = Math.round(exact)
  return Math.abs(exact - whole) <= 1e-9 * Math.max(1, whole) ? whole : exact
}

/**
 * How many retries `allows` would grant one after the other from here: the `n` with `retries + k` allowed for every
 * `k < n`.
 * @internal
 */
export const available = (ratio: number, minRetries: number, requests: number, retries: number): number =>
  Math.max(0, Math.ceil(allowance(ratio, minRetries, requests) - retries))

const granted = Effect.succeed(true)
const refused = Effect.succeed(false)

/** @internal */
export const unsafeMake = (options?: RetryBudget.Options): RetryBudget.Service => {
  checkOptions("RetryBudget", options)
  const ratio = options?.ratio ?? defaults.ratio
  const minRetries = options?.minRetries ?? defaults.minRetries
  const windowMillis = optionMillis("RetryBudget", "window", options?.window ?? defaults.window)
  // an infinite ratio would make `ratio × requests` NaN before the first request (0 × ∞): every retry refused, and
  // `available` NaN. An infinite floor is fine: it allows every retry. Numbers only: a floor of "5" (from a
  // configuration file) would pass `>= 0` and then be concatenated (`"5" + 0.2 × requests` is "50.2…"), not added, and
  // a symbol or a throwing `valueOf` would throw from inside the comparisons.
  if (
    typeof ratio !== "number" || typeof minRetries !== "number" ||
    !(ratio >= 0) || !Number.isFinite(ratio) || !(minRetries >= 0) || !(windowMillis > 0) ||
    !Number.isFinite(windowMillis)
  ) {
    throw new RangeError(
      "RetryBudget: ratio must be finite and >= 0, minRetries >= 0, and window a finite positive duration"
    )
  }
  const maxKeys = options?.maxKeys ?? defaults.maxKeys
  checkMaxKeys("RetryBudget", maxKeys)
  const slotMillis = windowMillis / slotCount
  const keys = new Keys(maxKeys)

  const countersFor = (key: string, current: number): Counters => countersAt(keys, key, current, slotMillis)

  // a key never counted into (or dropped since) has nothing in its window
  const totals = (counters: Counters | undefined, current: number): RetryBudget.Stats => {
    const { requests, retries } = counters === undefined ? { requests: 0, retries: 0 } : windowSums(counters, current)
    return { requests, retries, available: available(ratio, minRetries, requests, retries) }
  }

  // A deposit runs on every call: it reads the clock and bumps a counter, and allocates nothing.
  const depositAt = (key: string, clock: Clock.Clock): void => {
    const current = Math.floor(monotonicMillis(clock) / slotMillis)
    countersFor(key, current).requests[current % slotCount]! += 1
  }
  const service: RetryBudget.Service = {
    deposit: (key) =>
      Effect.clockWith((clock) => {
        depositAt(key, clock)
        return Effect.void
      }),
    withdraw: (key) =>
      Effect.clockWith((clock) => {
        const current = Math.floor(monotonicMillis(clock) / slotMillis)
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
          const current = Math.floor(monotonicMillis(clock) / slotMillis)
          return totals(keys.byKey.get(key), current)
        })
      )
  }
  synchronousDeposits.set(service, depositAt)
  return service
}

// The in-memory budget's deposit as a plain function, for a caller that already read the clock in a step of its own
// (`Retry`): a budget from elsewhere (Redis, a test double) has none and is asked through `deposit`.
const synchronousDeposits = new WeakMap<RetryBudget.Service, (key: string, clock: Clock.Clock) => void>()

/** @internal */
export const synchronousDeposit = (
  service: RetryBudget.Service
): ((key: string, clock: Clock.Clock) => void) | undefined => synchronousDeposits.get(service)

/** @internal */
export const make = (options?: RetryBudget.Options): Effect.Effect<RetryBudget.Service> =>
  Effect.sync(() => unsafeMake(options))
