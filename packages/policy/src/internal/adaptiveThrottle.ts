import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { dual } from "effect/Function"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"
import type * as AT from "../AdaptiveThrottle.js"
import { checkOptions } from "./options.js"
import { isPolicyRejection } from "./rejection.js"
import { monotonicMillis } from "./timer.js"

/** @internal */
export class AdaptiveThrottleRejected
  extends Schema.TaggedError<AdaptiveThrottleRejected>("@sturdy/policy/AdaptiveThrottle/AdaptiveThrottleRejected")(
    "AdaptiveThrottleRejected",
    { key: Schema.String, probability: Schema.Number }
  )
{
  override get message(): string {
    return `adaptive throttle ${this.key} rejected the call locally (p = ${this.probability.toFixed(3)})`
  }
}

const BUCKETS = 10

interface Bucket {
  start: number
  requests: number
  accepts: number
}

/** @internal */
export const rejectProbability = (requests: number, accepts: number, k: number): number =>
  Math.max(0, (requests - k * accepts) / (requests + 1))

/** @internal */
export const make = (input?: AT.Options | null): Effect.Effect<AT.AdaptiveThrottle> =>
  Effect.sync(() => {
    // `null` (a setting read as none) is no options, as `undefined` is
    checkOptions("AdaptiveThrottle", input)
    const options: AT.Options = input ?? {}
    const key = options.key ?? "default"
    // the key names the throttle in `AdaptiveThrottleRejected`, whose schema wants a string
    if (typeof key !== "string") {
      throw new RangeError(`AdaptiveThrottle: key (${key === null ? "null" : typeof key}) must be a string`)
    }
    const k = options.k ?? 2
    // below 1 a backend that accepts everything is still throttled; NaN would turn the throttle off; a number only (a
    // symbol or a throwing `valueOf` would throw from inside the comparison)
    if (!(typeof k === "number" && k >= 1 && Number.isFinite(k))) {
      throw new RangeError(
        `AdaptiveThrottle: k (${String(k)}) must be a finite number of at least 1 (the SRE book uses 2)`
      )
    }
    // a predicate that is no function would fail only at the first failure, as a defect of that call
    if (options.isRejectedByBackend !== undefined && typeof options.isRejectedByBackend !== "function") {
      throw new RangeError("AdaptiveThrottle: isRejectedByBackend must be a function from the failure to a boolean")
    }
    if (options.isIgnored !== undefined && typeof options.isIgnored !== "function") {
      throw new RangeError("AdaptiveThrottle: isIgnored must be a function from the failure to a boolean")
    }
    const window = Duration.decodeUnknown(options.window ?? "2 minutes")
    const windowMillis = Option.isSome(window) ? Duration.toMillis(window.value) : Number.NaN
    if (!(windowMillis >= 1 && Number.isFinite(windowMillis))) {
      throw new RangeError(`AdaptiveThrottle: window (${windowMillis} ms) must be a finite duration of at least 1 ms`)
    }
    const bucketMillis = Math.max(1, Math.ceil(windowMillis / BUCKETS))
    const isRejectedByBackend = options.isRejectedByBackend ?? (() => true)
    const isIgnored = options.isIgnored
    let buckets: Array<Bucket> = []

    const totals = (now: number) => {
      let requests = 0
      let accepts = 0
      for (const bucket of buckets) {
        if (bucket.start > now - windowMillis) {
          requests += bucket.requests
          accepts += bucket.accepts
        }
      }
      return { requests, accepts }
    }

    const record = (now: number, accepted: boolean) => {
      const start = now - (now % bucketMillis)
      let bucket = buckets[buckets.length - 1]
      if (bucket === undefined || bucket.start !== start) {
        bucket = { start, requests: 0, accepts: 0 }
        buckets = buckets.filter((b) => b.start > now - windowMillis)
        buckets.push(bucket)
      }
      bucket.requests++
      if (accepted) bucket.accepts++
    }

    // null: the outcome says nothing about the backend (interruption, another policy's rejection, what `isIgnored`
    // accepts, a defect of the caller's own code, which `isRejectedByBackend` is asked about like any failure)
    const accepted = <A, E>(exit: Exit.Exit<A, E>): boolean | null => {
      if (Exit.isSuccess(exit)) return true
      const failure = Cause.failureOption(exit.cause)
      if (failure._tag === "Some") {
        if (isPolicyRejection(failure.value) || (isIgnored !== undefined && isIgnored(failure.value))) return null
        return !isRejectedByBackend(failure.value)
      }
      const defect = Cause.dieOption(exit.cause)
      if (defect._tag === "Some") {
        return (isIgnored === undefined || !isIgnored(defect.value)) && isRejectedByBackend(defect.value) ? false : null
      }
      return null
    }

    const run = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | AdaptiveThrottleRejected, R> =>
      Effect.clockWith((clock) =>
        Effect.flatMap(Random.next, (draw): Effect.Effect<A, E | AdaptiveThrottleRejected, R> => {
          const now = monotonicMillis(clock)
          const { accepts, requests } = totals(now)
          const probability = rejectProbability(requests, accepts, k)
          if (draw < probability) {
            // a local rejection is still a request: that is what lets the probability reach 1 while the backend fails
            record(now, false)
            return Effect.fail(new AdaptiveThrottleRejected({ key, probability }, true))
          }
          return Effect.onExit(self, (exit) =>
            Effect.sync(() => {
              const outcome = accepted(exit)
              if (outcome !== null) record(monotonicMillis(clock), outcome)
            }))
        })
      )

    return {
      key,
      run,
      snapshot: Effect.clockWith((clock) =>
        Effect.sync(() => {
          const { accepts, requests } = totals(monotonicMillis(clock))
          return { requests, accepts, rejectProbability: rejectProbability(requests, accepts, k) }
        })
      )
    }
  })

/** @internal */
export const withAdaptiveThrottle = dual<
  (
    throttle: AT.AdaptiveThrottle
  ) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | AdaptiveThrottleRejected, R>,
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    throttle: AT.AdaptiveThrottle
  ) => Effect.Effect<A, E | AdaptiveThrottleRejected, R>
>(2, (self, throttle) => throttle.run(self))
