/**
 * A retry budget per upstream, in the style of Finagle's `RetryBudget` and tower's `TpsBudget`: retries are allowed
 * up to a ratio of the logical requests seen in a sliding window, plus a small floor. During a full outage the traffic
 * an upstream sees stays near the number of logical calls instead of multiplying by the attempt count.
 *
 * It differs from gRPC's retry throttling and the AWS SDKs' retry quota, which keep a bucket of tokens that failed
 * attempts spend and successes refill: here every call adds to the budget whether it succeeded or not, only the
 * retries granted spend it, and what was spent ages out of the window instead of being refunded.
 *
 * | option       | default      | meaning                                                        |
 * | ------------ | ------------ | -------------------------------------------------------------- |
 * | `ratio`      | `0.2`        | retries allowed per logical request in the window              |
 * | `minRetries` | `10`         | retries always allowed per window, so low traffic can retry    |
 * | `window`     | `10 seconds` | sliding window (ten slots, driven by `Clock`, no timers)       |
 * | `maxKeys`    | `10,000`     | keys counted at once (see below)                               |
 *
 * A `minRetries` of `Infinity` allows every retry: a budget that only counts. The in-memory budget slides its window
 * on the `Clock`'s monotonic time (`currentTimeNanos`; the test's time under the `TestClock`), so a wall clock set
 * back neither keeps old counts nor refuses retries until it catches up. A budget on a shared store slides on
 * wall-clock time, which every process of the fleet reads alike.
 *
 * In a window a retry is allowed while `retries < minRetries + ratio × requests`, so a fraction of a retry allows one
 * (ratio 0.5 with one request and no floor: one retry). The product is taken as the whole number it is meant to be
 * when floating point misses it by a hair (0.07 × 100 allows 7 retries, not 8 for 7.000000000000001). A budget on a
 * shared store (`RetryBudgetStore`, `RetryBudgetRedis`) applies the same rule to the fleet's counts, so moving to one
 * changes no decision. The service is shared by every fiber through its layer; keys (an upstream's host, say) are
 * counted separately.
 *
 * Memory stays bounded however many keys come and go: a key whose window has passed holds nothing (its counts are
 * zero, exactly as for a key never seen), so it is dropped when a new key is added, and beyond `maxKeys` keys the one
 * counted into least recently is dropped (it then starts again from the `minRetries` floor). `stats` of a key never
 * adds it.
 *
 * @since 0.1.0
 */
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as internal from "./internal/retryBudget.js"

/**
 * The shared retry budget service.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RetryBudget } from "@sturdy/policy"
 *
 * const canRetry = Effect.flatMap(RetryBudget.RetryBudget, (budget) => budget.withdraw("api.example.com"))
 * ```
 * @since 0.1.0
 * @category tags
 */
export class RetryBudget extends Context.Tag("@sturdy/policy/RetryBudget")<RetryBudget, RetryBudget.Service>() {}

/**
 * @since 0.1.0
 */
export declare namespace RetryBudget {
  /**
   * How many retries a window allows; see the module's table for defaults.
   *
   * @since 0.1.0
   * @category models
   */
  export interface Options {
    readonly ratio?: number | undefined
    readonly minRetries?: number | undefined
    readonly window?: Duration.DurationInput | undefined
    /** Keys counted at once (an integer of at least 1); the key counted into least recently is dropped beyond it. */
    readonly maxKeys?: number | undefined
  }

  /**
   * Counts for one key over the current window; `available` is how many retries would be allowed now, one after the
   * other (`minRetries + ratio × requests − retries` rounded up, never below 0).
   *
   * @since 0.1.0
   * @category models
   */
  export interface Stats {
    readonly requests: number
    readonly retries: number
    readonly available: number
  }

  /**
   * `deposit` records one logical request, `withdraw` asks for one retry (true when allowed, and then counted).
   *
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    readonly deposit: (key: string) => Effect.Effect<void>
    readonly withdraw: (key: string) => Effect.Effect<boolean>
    readonly stats: (key: string) => Effect.Effect<Stats>
  }
}

/**
 * The failure `Retry.retry` returns when the budget refused a retry: `failure` is the original failure, unchanged,
 * and `attempts` how many attempts ran.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RetryBudget } from "@sturdy/policy"
 *
 * const unwrap = <E>(e: RetryBudget.RetryBudgetExhausted<E>) => Effect.fail(e.failure)
 * ```
 * @since 0.1.0
 * @category errors
 */
export class RetryBudgetExhausted<E = unknown>
  extends Schema.TaggedError<RetryBudgetExhausted<any>>("@sturdy/policy/RetryBudget/RetryBudgetExhausted")(
    "RetryBudgetExhausted",
    { key: Schema.String, attempts: Schema.Number, failure: Schema.Unknown }
  )
{
  /**
   * The last failure, which was not retried.
   *
   * @since 0.1.0
   */
  declare readonly failure: E
  constructor(props: { readonly key: string; readonly attempts: number; readonly failure: E }) {
    super(props)
  }
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `retry budget for ${this.key} exhausted after ${this.attempts} attempt(s); the last failure was not retried`
  }
}

/**
 * The default options: ratio 0.2, 10 retries per window, a 10 second window, 10,000 keys.
 *
 * @example
 * ```ts
 * import { RetryBudget } from "@sturdy/policy"
 *
 * const stricter = { ...RetryBudget.defaults, ratio: 0.1 }
 * ```
 * @since 0.1.0
 * @category constants
 */
export const defaults: {
  readonly ratio: number
  readonly minRetries: number
  readonly window: Duration.Duration
  readonly maxKeys: number
} = internal.defaults

/**
 * Builds a budget outside of Effect (the state is in memory and shared by whoever holds it). Throws a
 * `RangeError` for a negative or infinite ratio, a negative floor (an infinite one allows every retry), a window that
 * is not a finite positive duration, or a `maxKeys` that is not an integer of at least 1.
 *
 * @example
 * ```ts
 * import { RetryBudget } from "@sturdy/policy"
 *
 * const budget = RetryBudget.unsafeMake({ ratio: 0.1 })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const unsafeMake: (options?: RetryBudget.Options) => RetryBudget.Service = internal.unsafeMake

/**
 * Builds a budget.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RetryBudget } from "@sturdy/policy"
 *
 * const program = Effect.gen(function*() {
 *   const budget = yield* RetryBudget.make({ ratio: 0.1, minRetries: 5, window: "30 seconds" })
 *   yield* budget.deposit("api")
 *   return yield* budget.withdraw("api")
 * })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const make: (options?: RetryBudget.Options) => Effect.Effect<RetryBudget.Service> = internal.make

/**
 * A layer with one budget shared by every fiber that uses it.
 *
 * @example
 * ```ts
 * import { RetryBudget } from "@sturdy/policy"
 *
 * const BudgetLive = RetryBudget.layer({ ratio: 0.2 })
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: RetryBudget.Options): Layer.Layer<RetryBudget> =>
  Layer.effect(RetryBudget, internal.make(options))

/**
 * A layer reading its options from `Config`.
 *
 * @example
 * ```ts
 * import { Config } from "effect"
 * import { RetryBudget } from "@sturdy/policy"
 *
 * const BudgetLive = RetryBudget.layerConfig(Config.all({ ratio: Config.number("RETRY_RATIO") }))
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  config: Config.Config<RetryBudget.Options>
): Layer.Layer<RetryBudget, ConfigError.ConfigError> => Layer.effect(RetryBudget, Effect.flatMap(config, internal.make))
