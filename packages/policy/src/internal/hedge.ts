import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import { dual } from "effect/Function"
import { globalValue } from "effect/GlobalValue"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Scope from "effect/Scope"
import type * as Hedge from "../Hedge.js"
import { RetryBudget } from "../RetryBudget.js"
import * as deadline from "./deadline.js"
import { checkOptions } from "./options.js"
import { isPolicyRejection } from "./rejection.js"
import {
  checkNonNegative,
  checkTimer,
  currentMonotonicMillis,
  forkDaemonInterruptible,
  optionDuration
} from "./timer.js"

/** @internal */
export const PercentileTypeId: unique symbol = Symbol.for("@sturdy/policy/Hedge/Percentile")

/** @internal */
export interface Percentile {
  readonly [PercentileTypeId]: typeof PercentileTypeId
  readonly tracker: Hedge.LatencyTracker
  readonly key: string
  readonly quantile: number
  readonly fallback: Duration.Duration
  readonly minSamples: number
  readonly min: Duration.Duration
  readonly max: Duration.Duration
}

// What the implementation accepts: either options shape of `Hedge.hedge`.
type AnyOptions<R> = Hedge.Options<R> | Hedge.BudgetedOptions<R>

/** @internal */
export const defaults = {
  maxHedges: 1,
  samples: 128,
  maxKeys: 1024,
  quantile: 0.95,
  minSamples: 20
} as const

/** @internal */
export const currentIndex: FiberRef.FiberRef<number> = globalValue(
  Symbol.for("@sturdy/policy/Hedge/currentIndex"),
  () => FiberRef.unsafeMake(0)
)

// -----------------------------------------------------------------------------
// latency tracker
// -----------------------------------------------------------------------------

interface Ring {
  /** the latest latencies, in the order they came (a ring: `next` is where the next one goes) */
  readonly samples: Array<number>
  next: number
  /** the same latencies in ascending order, kept so as each comes and goes */
  readonly sorted: Array<number>
}

// the samples a tracker has compared to keep its latencies in order, for the tests (no public API:
// `sampleVisitsOfTracker`)
const trackerVisits = new WeakMap<Hedge.LatencyTracker, () => number>()

/**
 * How many samples a tracker of {@link unsafeMakeLatencyTracker} has compared to keep its latencies in order
 * (`undefined` for any other tracker): for the tests.
 * @internal
 */
export const sampleVisitsOfTracker = (tracker: Hedge.LatencyTracker): number | undefined =>
  trackerVisits.get(tracker)?.()

/** @internal */
export const unsafeMakeLatencyTracker: typeof Hedge.unsafeMakeLatencyTracker = (options) => {
  checkOptions("Hedge.makeLatencyTracker", options)
  const capacity = options?.samples ?? defaults.samples
  const maxKeys = options?.maxKeys ?? defaults.maxKeys
  // `Number.isInteger` first: it is false for any other type, where `>=` would throw on a symbol or a `valueOf` that throws
  if (!Number.isInteger(capacity) || !Number.isInteger(maxKeys) || !(capacity >= 1) || !(maxKeys >= 1)) {
    throw new RangeError("Hedge.LatencyTracker: samples and maxKeys must be positive integers")
  }
  // A Map keeps insertion order: re-inserting on use makes its first key the least recently used one.
  const rings = new Map<string, Ring>()
  const touch = (key: string): Ring | undefined => {
    const ring = rings.get(key)
    if (ring !== undefined) {
      rings.delete(key)
      rings.set(key, ring)
    }
    return ring
  }
  let visits = 0
  // the index of the first of `sorted` at least `millis` (its length when none is)
  const firstAtLeast = (sorted: Array<number>, millis: number): number => {
    let low = 0
    let high = sorted.length
    while (low < high) {
      const middle = (low + high) >>> 1
      visits++
      if (sorted[middle]! < millis) low = middle + 1
      else high = middle
    }
    return low
  }
  const tracker: Hedge.LatencyTracker = {
    record: (key, latency) =>
      Effect.sync(() => {
        // (-0 is 0: a reading never depends on which of two equal samples came first)
        const millis = Duration.toMillis(latency) + 0
        if (!Number.isFinite(millis) || millis < 0) return
        let ring = touch(key)
        if (ring === undefined) {
          if (rings.size >= maxKeys) {
            rings.delete(rings.keys().next().value!)
          }
          ring = { samples: [], next: 0, sorted: [] }
          rings.set(key, ring)
        }
        // The sorted copy changes by one sample out and one in, each found by a binary search: sorting every
        // sample again at the next reading cost a hedged call (which reads its delay, then records its latency)
        // about n log n comparisons, some 9,000 for 1,024 samples.
        if (ring.samples.length < capacity) {
          ring.samples.push(millis)
        } else {
          const oldest = ring.samples[ring.next]!
          ring.samples[ring.next] = millis
          ring.sorted.splice(firstAtLeast(ring.sorted, oldest), 1)
        }
        ring.sorted.splice(firstAtLeast(ring.sorted, millis), 0, millis)
        ring.next = (ring.next + 1) % capacity
      }),
    quantile: (key, quantile) =>
      Effect.sync(() => {
        const ring = touch(key)
        if (ring === undefined || ring.samples.length === 0) return Option.none()
        const q = Math.min(1, Math.max(0, quantile))
        // nearest rank: the ceiling of q × n, less the floating-point noise of the product (0.07 × 100 is
        // 7.000000000000001, whose ceiling would read the 8th latency for p7)
        const rank = Math.max(0, Math.ceil(q * ring.sorted.length - 1e-9) - 1)
        return Option.some(Duration.millis(ring.sorted[rank]!))
      }),
    count: (key) => Effect.sync(() => rings.get(key)?.samples.length ?? 0)
  }
  trackerVisits.set(tracker, () => visits)
  return tracker
}

/** @internal */
export const makeLatencyTracker: typeof Hedge.makeLatencyTracker = (options) =>
  Effect.sync(() => unsafeMakeLatencyTracker(options))

// Latencies are read from `Clock` in whole milliseconds, so calls faster than 1 ms record 0: a quantile read as 0 ms
// would send a hedge with every call, at once. As Finagle's backup requests, the delay is at least 1 ms by default.
const defaultMin = Duration.millis(1)

/** @internal */
export const percentile: typeof Hedge.percentile = (options) => {
  checkOptions("Hedge.percentile", options)
  const quantile = options.quantile ?? defaults.quantile
  // a quantile outside [0, 1] (NaN too) is a mistake (a share of extra load, 5 for 5 %), not a request for p100
  if (!(typeof quantile === "number" && quantile >= 0 && quantile <= 1)) {
    throw new RangeError(`Hedge.percentile: quantile (${String(quantile)}) must be a number from 0 to 1`)
  }
  // a count of latencies: another value ("5", true) would be compared by coercion, NaN would never be reached
  const minSamples: unknown = options.minSamples
  if (minSamples !== undefined && !(Number.isInteger(minSamples) && (minSamples as number) >= 0)) {
    throw new RangeError(`Hedge.percentile: minSamples (${String(minSamples)}) must be an integer of at least 0`)
  }
  // Effect reads a negative or NaN duration as zero: a hedge with every call, at once
  checkNonNegative("Hedge.percentile", "fallback", options.fallback)
  checkNonNegative("Hedge.percentile", "min", options.min)
  checkNonNegative("Hedge.percentile", "max", options.max)
  return {
    [PercentileTypeId]: PercentileTypeId,
    tracker: options.tracker,
    key: options.key,
    quantile,
    fallback: optionDuration("Hedge.percentile", "fallback", options.fallback),
    minSamples: options.minSamples ?? defaults.minSamples,
    min: optionDuration("Hedge.percentile", "min", options.min ?? defaultMin),
    max: optionDuration("Hedge.percentile", "max", options.max ?? Duration.infinity)
  }
}

const isPercentile = (delay: Hedge.Delay): delay is Percentile => Predicate.hasProperty(delay, PercentileTypeId)

const resolveDelay = (delay: Hedge.Delay): Effect.Effect<number> => {
  if (!isPercentile(delay)) {
    return Effect.succeed(Duration.toMillis(delay))
  }
  return Effect.flatMap(delay.tracker.count(delay.key), (count) =>
    count < delay.minSamples
      ? Effect.succeed(Duration.toMillis(delay.fallback))
      : Effect.map(delay.tracker.quantile(delay.key, delay.quantile), (observed) => {
        const millis = Option.match(observed, {
          onNone: () => Duration.toMillis(delay.fallback),
          onSome: Duration.toMillis
        })
        return Math.min(Duration.toMillis(delay.max), Math.max(Duration.toMillis(delay.min), millis))
      }))
}

// -----------------------------------------------------------------------------
// hedge
// -----------------------------------------------------------------------------

interface Settled<A, E> {
  readonly index: number
  readonly exit: Exit.Exit<A, E>
}

/** @internal */
export const hedge: typeof Hedge.hedge = dual(
  (args) => Effect.isEffect(args[0]),
  (self: Effect.Effect<any, any, any>, options: AnyOptions<any>): Effect.Effect<any, any, any> => {
    validate(options)
    const enabled = options.enabled ?? true
    const budgetKey = options.budgetKey
    // A call that sends no hedge is still a request to the upstream: it deposits as the docs say ("one request per
    // call"), so the hedges of the calls that may hedge keep their ratio to all the traffic under the key.
    const unhedged = budgetKey === undefined || options.deposit === false
      ? self
      : Effect.flatMap(RetryBudget, (service) => Effect.zipRight(service.deposit(budgetKey), self))
    if (enabled === false) return unhedged
    const run = (options.maxHedges ?? defaults.maxHedges) < 1
      ? unhedged
      : budgetKey === undefined
      ? hedgeImpl(self, options, undefined)
      : Effect.flatMap(RetryBudget, (service) => hedgeImpl(self, options, service))
    return enabled === true ? run : Effect.flatMap(enabled, (on) => (on ? run : unhedged))
  }
)

const kindOf = (value: unknown): string => value === null ? "null" : typeof value

// A delay a timer cannot hold would never fire; a negative or fractional number of hedges means nothing. The other
// options are checked here too, once, rather than failing in a call: an `enabled` that is neither a boolean nor an
// Effect would be a defect of every call ("Not a valid effect"), a `failure` or `deposit` of another type (a typo, a
// "false" read from a file) would silently pick the other behaviour, and a predicate that is no function would be a
// defect of the first failure.
const validate = (options: AnyOptions<any>): void => {
  checkOptions("Hedge", options)
  const maxHedges = options.maxHedges
  if (maxHedges !== undefined && !(Number.isInteger(maxHedges) && maxHedges >= 0)) {
    throw new RangeError(`Hedge: maxHedges (${String(maxHedges)}) must be an integer of at least 0`)
  }
  const enabled: unknown = options.enabled
  if (enabled !== undefined && typeof enabled !== "boolean" && !Effect.isEffect(enabled)) {
    throw new RangeError(`Hedge: enabled (${kindOf(enabled)}) must be a boolean or an Effect of one`)
  }
  const failure: unknown = options.failure
  if (failure !== undefined && failure !== "first" && failure !== "last") {
    throw new RangeError(
      `Hedge: failure (${
        typeof failure === "string" ? JSON.stringify(failure) : kindOf(failure)
      }) must be "first" or "last"`
    )
  }
  const deposit: unknown = (options as { readonly deposit?: unknown }).deposit
  if (deposit !== undefined && typeof deposit !== "boolean") {
    throw new RangeError(`Hedge: deposit (${kindOf(deposit)}) must be true or false`)
  }
  for (const field of ["while", "pushback", "onHedge"] as const) {
    const value: unknown = options[field]
    if (value !== undefined && typeof value !== "function") {
      throw new RangeError(`Hedge: ${field} (${kindOf(value)}) must be a function`)
    }
  }
  const delay = options.delay
  if (isPercentile(delay)) {
    checkTimer("Hedge", "delay.fallback", delay.fallback)
    checkTimer("Hedge", "delay.min", delay.min)
    checkTimer("Hedge", "delay.max", delay.max)
  } else {
    if (typeof delay !== "number" && !Duration.isDuration(delay) && Option.isNone(Duration.decodeUnknown(delay))) {
      throw new RangeError("Hedge: delay is not a duration")
    }
    // Effect reads a negative or NaN delay as zero, which would send every copy at once (failsafe-go's negative delay
    // means the opposite: no more hedges)
    checkNonNegative("Hedge", "delay", delay)
    checkTimer("Hedge", "delay", delay)
  }
}

// A policy's rejection inside the hedged effect (an open breaker, a full bulkhead, a rate limit) would turn a copy
// away just as fast: it is not a reason to send one.
const defaultWhile = (failure: unknown): boolean => !isPolicyRejection(failure)

const hedgeImpl = <A, E, R, R2>(
  self: Effect.Effect<A, E, R>,
  options: AnyOptions<R2>,
  budget: RetryBudget["Type"] | undefined
): Effect.Effect<A, E, R | R2> => {
  const maxHedges = options.maxHedges ?? defaults.maxHedges
  const budgetKey = options.budgetKey
  const keepFirst = options.failure === "first"
  const keepGoing = options.while ?? defaultWhile
  const pushback = options.pushback

  return Effect.suspend(() => {
    // The hedge timer is a daemon fiber that only wakes the loop. It is interrupted without waiting for it, so the happy
    // path pays for one timer rather than for a race; a generation number silences a timer that fires after being
    // replaced.
    let timer: Fiber.RuntimeFiber<void> | undefined
    let timerGeneration = 0
    let timerFired = false
    const disarmTimer: Effect.Effect<void> = Effect.suspend(() => {
      const running = timer
      timer = undefined
      timerGeneration++
      timerFired = false
      return running === undefined ? Effect.void : Fiber.interruptFork(running)
    })

    return Effect.acquireUseRelease(
      Scope.make(),
      (scope) =>
        Effect.gen(function*() {
          if (budget !== undefined && budgetKey !== undefined && options.deposit !== false) {
            yield* budget.deposit(budgetKey)
          }
          const delayMillis = yield* resolveDelay(options.delay)
          const startedAt = yield* currentMonotonicMillis
          // Settled attempts wait in a plain array and `signal` only wakes the loop: a wake-up lost to the hedge timer
          // loses no attempt's outcome (a queue taker interrupted at the wrong moment could).
          const settledAttempts: Array<Settled<A, E>> = []
          let signal = Deferred.unsafeMake<void>(FiberId.none)
          let started = 0
          let settled = 0
          let hedging = true
          let firstFailure: Option.Option<E> = Option.none()
          // the latest failure that stopped hedging as a pushback: the call's failure if the copies running fail too
          let pushedBack: Option.Option<E> = Option.none()

          const start = (index: number): Effect.Effect<void, never, R> =>
            Effect.suspend(() => {
              started++
              const attempt = index === 0
                ? self
                : Effect.withSpan(self, "sturdy.hedge", { attributes: { "hedge.index": index } })
              return attempt.pipe(
                Effect.locally(currentIndex, index),
                Effect.exit,
                Effect.flatMap((exit) =>
                  Effect.sync(() => {
                    settledAttempts.push({ index, exit })
                    Deferred.unsafeDone(signal, Exit.void)
                  })
                ),
                Effect.forkIn(scope),
                Effect.asVoid
              )
            })

          const armTimer = (wait: number): Effect.Effect<void> =>
            Effect.flatMap(disarmTimer, () => {
              const generation = timerGeneration
              return Effect.sleep(Duration.millis(wait)).pipe(
                Effect.zipRight(Effect.sync(() => {
                  if (generation !== timerGeneration) return
                  timerFired = true
                  Deferred.unsafeDone(signal, Exit.void)
                })),
                forkDaemonInterruptible,
                Effect.map((fiber) => {
                  timer = fiber
                })
              )
            })

          // Returns once an attempt has settled or the timer has fired.
          const awaitSignal: Effect.Effect<void> = Effect.suspend(() => {
            if (settledAttempts.length > 0 || timerFired) return Effect.void
            // Made in the same synchronous step as the check above, so no wake-up can slip in between.
            signal = Deferred.unsafeMake<void>(FiberId.none)
            return Deferred.await(signal)
          })

          // Starts the next hedge if any is left and the budget allows it; a refusal ends hedging for this call.
          const tryHedge = (trigger: Hedge.HedgeEvent["trigger"]): Effect.Effect<void, never, R | R2> =>
            Effect.gen(function*() {
              // A hedge started at or after the deadline could only fail: stop hedging instead.
              if ((yield* deadline.deadlineMillis) <= (yield* Clock.currentTimeMillis)) {
                hedging = false
                return
              }
              if (budget !== undefined && budgetKey !== undefined && !(yield* budget.withdraw(budgetKey))) {
                hedging = false
                yield* Effect.annotateCurrentSpan("hedge.budget_refused", true)
                return
              }
              const index = started
              const now = yield* currentMonotonicMillis
              if (options.onHedge !== undefined) {
                yield* options.onHedge({ index, trigger, elapsed: Duration.millis(now - startedAt) })
              }
              yield* start(index)
            })

          const canHedge = () => hedging && started - 1 < maxHedges

          yield* start(0)
          let nextHedgeAt = startedAt + delayMillis
          yield* armTimer(delayMillis)
          while (true) {
            const next = settledAttempts.shift()
            if (next === undefined) {
              if (canHedge()) {
                const now = yield* currentMonotonicMillis
                if (now >= nextHedgeAt) {
                  yield* tryHedge("delay")
                  nextHedgeAt = (yield* currentMonotonicMillis) + delayMillis
                  yield* (canHedge() ? armTimer(delayMillis) : disarmTimer)
                  continue
                }
                if (timerFired) {
                  // Woken early (a clock that moved back, say): wait for the rest. `now` is read in whole milliseconds,
                  // so a rest under one (a delay of microseconds, or the fraction left of a fractional one, on a clock
                  // that keeps fractions, as the TestClock does) would wake within the same millisecond again and
                  // again, once per rest, without `now` moving: wait one millisecond at least.
                  yield* armTimer(Math.max(1, nextHedgeAt - now))
                }
              }
              yield* awaitSignal
              continue
            }
            settled++
            const { exit, index } = next
            if (Exit.isSuccess(exit)) {
              if (started > 1) {
                yield* Effect.annotateCurrentSpan({ "hedge.attempts": started, "hedge.winner": index })
              }
              if (isPercentile(options.delay)) {
                // The call's latency, from its first copy: when a hedge wins, the first copy would have taken at
                // least that long. A winning hedge's own time would teach the tracker latencies shorter than any
                // first attempt saw, and so earlier and earlier hedges (more load on a slow upstream).
                const now = yield* currentMonotonicMillis
                yield* options.delay.tracker.record(options.delay.key, Duration.millis(now - startedAt))
              }
              return exit.value
            }
            const typed = Cause.failureOption(exit.cause)
            if (Option.isNone(typed)) {
              // A defect (or an interruption from elsewhere) is not a reason to hedge: it ends the call as it is.
              return yield* Effect.failCause(exit.cause)
            }
            if (!keepGoing(typed.value)) {
              const pushing = pushback !== undefined && pushback(typed.value)
              if (pushing) pushedBack = typed
              if (settled === started) {
                // nothing else is running: this failure, or the server's pushback an earlier copy got, is the answer
                return yield* Effect.fail(Option.getOrElse(pushedBack, () => typed.value))
              }
              if (!pushing && !isPolicyRejection(typed.value)) {
                // As gRPC does for a status that is not a `nonFatalStatusCode`: the failure is the answer, and closing
                // the scope interrupts the copies still running.
                return yield* Effect.fail(typed.value)
              }
              // A policy turned this copy away (a full bulkhead, an open breaker), or the server pushed back: that
              // says nothing of the copies already sent, which may still answer. No more copies are sent (as gRPC
              // stops hedging when throttled or pushed back), and the call waits for the ones running, whose failure,
              // if they fail, is the call's (`first` too), unless the server pushed back.
              hedging = false
              yield* disarmTimer
              continue
            }
            if (Option.isNone(firstFailure)) {
              firstFailure = typed
            }
            if (canHedge()) {
              // As in gRPC hedging, a failed attempt sends the next hedge at once instead of waiting for the timer.
              yield* tryHedge("failure")
              nextHedgeAt = (yield* currentMonotonicMillis) + delayMillis
              yield* (canHedge() ? armTimer(delayMillis) : disarmTimer)
            }
            if (settled === started) {
              if (Option.isSome(pushedBack)) return yield* Effect.fail(pushedBack.value)
              return yield* Effect.fail(keepFirst ? Option.getOrElse(firstFailure, () => typed.value) : typed.value)
            }
          }
        }),
      // Closing the scope interrupts the attempts still running and waits for them, so a loser's request is
      // aborted before the winner's value is returned.
      (scope, exit) => Effect.zipRight(disarmTimer, Scope.close(scope, exit))
    )
  })
}
