import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import { dual } from "effect/Function"
import { globalValue } from "effect/GlobalValue"
import * as PubSub from "effect/PubSub"
import * as Random from "effect/Random"
import * as Stream from "effect/Stream"
import type * as B from "../Balancer.js"
import { checkOptions } from "./options.js"
import { answerOf } from "./predicate.js"
import { isPolicyRejection } from "./rejection.js"
import { checkNonNegative, monotonicMillis, optionDuration } from "./timer.js"

const owner = "Balancer"

/** @internal Finagle's `p2cPeakEwma` `decayTime` and Linkerd's `EWMA_DECAY`. */
export const defaultDecayMillis = 10_000
/** @internal Linkerd's `EWMA_DEFAULT_RTT`: the estimate of an endpoint not yet measured. */
export const defaultLatencyMillis = 30

// a number is shown as it is; anything else by its type only (a hostile `toString` cannot throw from the message)
const shown = (value: unknown): string =>
  typeof value === "number" ? String(value) : value === null ? "null" : typeof value

const checkPercent = (field: string, value: unknown): number => {
  if (!(typeof value === "number" && value >= 0 && value <= 100)) {
    throw new RangeError(`${owner}: ${field} (${shown(value)}) must be a number in [0, 100]`)
  }
  return value
}

const checkBoolean = (field: string, value: unknown): boolean => {
  if (typeof value !== "boolean") throw new RangeError(`${owner}: ${field} (${shown(value)}) must be a boolean`)
  return value
}

// a duration option in milliseconds: not negative, finite, and positive unless `zero` is allowed
const checkMillis = (field: string, input: unknown, zero: boolean): number => {
  checkNonNegative(owner, field, input as Duration.DurationInput)
  const millis = Duration.toMillis(optionDuration(owner, field, input as Duration.DurationInput))
  if (!(Number.isFinite(millis) && (zero ? millis >= 0 : millis > 0))) {
    throw new RangeError(
      `${owner}: ${field} (${millis} ms) must be a finite ${zero ? "non-negative" : "positive"} duration`
    )
  }
  return millis
}

interface Config<A> {
  readonly endpoints: ReadonlyArray<A>
  readonly keys: ReadonlyArray<string>
  readonly strategy: "p2c" | "round-robin"
  readonly decayMillis: number
  readonly defaultLatencyMillis: number
  readonly consecutiveFailures: number
  readonly isFailure: (error: unknown) => boolean
  readonly baseMillis: number
  readonly maxMillis: number
  readonly maxEjectionPercent: number
  readonly alwaysEjectOne: boolean
  readonly intervalMillis: number
  readonly panicThreshold: number
}

const resolve = <A>(input: B.Options<A>): Config<A> => {
  if (input === undefined || input === null) {
    throw new RangeError(`${owner}: options (${shown(input)}) must be an object with endpoints`)
  }
  checkOptions(owner, input)
  const endpointsInput: unknown = input.endpoints
  if (!Array.isArray(endpointsInput) || endpointsInput.length === 0) {
    throw new RangeError(`${owner}: endpoints must be a non-empty array`)
  }
  const endpoints: ReadonlyArray<A> = Array.from(endpointsInput as ReadonlyArray<A>)
  const keyOf: unknown = input.key ?? String
  if (typeof keyOf !== "function") {
    throw new RangeError(`${owner}: key must be a function from an endpoint to a string`)
  }
  const keys = endpoints.map((endpoint, index) => {
    const key: unknown = (keyOf as (a: A) => unknown)(endpoint)
    if (typeof key !== "string") {
      throw new RangeError(`${owner}: key of endpoint ${index} (${shown(key)}) must be a string`)
    }
    return key
  })
  const seen = new Set<string>()
  for (const key of keys) {
    if (seen.has(key)) throw new RangeError(`${owner}: endpoints has the key ${JSON.stringify(key)} twice`)
    seen.add(key)
  }
  const strategy = input.strategy ?? "p2c"
  if (strategy !== "p2c" && strategy !== "round-robin") {
    throw new RangeError(`${owner}: strategy (${shown(strategy)}) must be "p2c" or "round-robin"`)
  }
  const decayMillis = checkMillis("ewmaDecay", input.ewmaDecay ?? defaultDecayMillis, false)
  const latencyMillis = checkMillis("defaultLatency", input.defaultLatency ?? defaultLatencyMillis, true)
  const outlierInput: unknown = input.outlier ?? {}
  if (typeof outlierInput !== "object" || outlierInput === null || Array.isArray(outlierInput)) {
    throw new RangeError(`${owner}: outlier (${shown(outlierInput)}) must be an object`)
  }
  const outlier = outlierInput as B.OutlierOptions
  const consecutiveFailures = outlier.consecutiveFailures ?? 5
  if (
    !(typeof consecutiveFailures === "number" &&
      ((Number.isSafeInteger(consecutiveFailures) && consecutiveFailures >= 1) || consecutiveFailures === Infinity))
  ) {
    throw new RangeError(
      `${owner}: consecutiveFailures (${shown(consecutiveFailures)}) must be an integer of at least 1 (or Infinity)`
    )
  }
  // a predicate that is no function would fail only at the first failure, as a defect of that call
  if (outlier.isFailure !== undefined && outlier.isFailure !== null && typeof outlier.isFailure !== "function") {
    throw new RangeError(`${owner}: isFailure must be a function from the failure to a boolean`)
  }
  const isFailure = outlier.isFailure ?? (() => true)
  const baseMillis = checkMillis("baseEjectionTime", outlier.baseEjectionTime ?? 30_000, false)
  // Envoy: unset, the larger of 300 s and the base; given, it may not be below the base
  const maxMillis = checkMillis("maxEjectionTime", outlier.maxEjectionTime ?? Math.max(300_000, baseMillis), false)
  if (maxMillis < baseMillis) {
    throw new RangeError(
      `${owner}: maxEjectionTime (${maxMillis} ms) must not be below baseEjectionTime (${baseMillis} ms)`
    )
  }
  const maxEjectionPercent = checkPercent("maxEjectionPercent", outlier.maxEjectionPercent ?? 10)
  const alwaysEjectOne = checkBoolean("alwaysEjectOne", outlier.alwaysEjectOne ?? true)
  const intervalMillis = checkMillis("interval", outlier.interval ?? 10_000, false)
  const panicThreshold = checkPercent("panicThreshold", outlier.panicThreshold ?? 50)
  return {
    endpoints,
    keys,
    strategy,
    decayMillis,
    defaultLatencyMillis: latencyMillis,
    consecutiveFailures,
    isFailure,
    baseMillis,
    maxMillis,
    maxEjectionPercent,
    alwaysEjectOne,
    intervalMillis,
    panicThreshold
  }
}

/** The bookkeeping of one endpoint. */
interface Slot {
  readonly index: number
  readonly key: string
  inFlight: number
  /** the peak-EWMA estimate in ms, as of `stamp` */
  cost: number
  stamp: number
  measured: boolean
  consecutiveFailures: number
  /** ejected until this monotonic time (ms); undefined: in service */
  ejectedUntil: number | undefined
  /** Envoy's `ejectTimeBackoff`, as of `returnedAt` while in service */
  multiplier: number
  /** when it last came back (undefined: never ejected) */
  returnedAt: number | undefined
}

/**
 * @internal The endpoints already tried by the calls under `avoidRepeats`, per balancer (one map per `avoidRepeats`,
 * shared by the fibers it forks).
 */
export const triedRef: FiberRef.FiberRef<Map<object, Set<string>> | undefined> = globalValue(
  Symbol.for("@sturdy/policy/Balancer/triedRef"),
  () => FiberRef.unsafeMake<Map<object, Set<string>> | undefined>(undefined)
)

/** @internal */
export const unsafeMake = <A>(options: B.Options<A>): B.Balancer<A> => {
  const config = resolve(options)
  const isFailure = (error: unknown): boolean => answerOf(config.isFailure(error), `${owner}: isFailure`)
  const hub = Effect.runSync(PubSub.unbounded<B.EjectionEvent>())
  const tried = {}
  const n = config.endpoints.length
  let created: number | undefined
  let cursor = 0
  const slots: Array<Slot> = config.keys.map((key, index) => ({
    index,
    key,
    inFlight: 0,
    cost: config.defaultLatencyMillis,
    stamp: 0,
    measured: false,
    consecutiveFailures: 0,
    ejectedUntil: undefined,
    multiplier: 0,
    returnedAt: undefined
  }))

  // The estimate of an endpoint not yet measured starts at `defaultLatency` when the balancer is first used.
  const start = (now: number): void => {
    if (created !== undefined) return
    created = now
    for (const slot of slots) slot.stamp = now
  }

  // The ejections whose time is up end (lazily: whenever the balancer looks at its endpoints).
  const settle = (now: number): void => {
    start(now)
    for (const slot of slots) {
      if (slot.ejectedUntil !== undefined && now >= slot.ejectedUntil) {
        const at = slot.ejectedUntil
        slot.ejectedUntil = undefined
        slot.returnedAt = at
        slot.consecutiveFailures = 0
        hub.unsafeOffer({ _tag: "Returned", key: slot.key, at })
      }
    }
  }

  // Envoy's ejection multiplier, less one for every whole `interval` spent back in service.
  const multiplierAt = (slot: Slot, now: number): number =>
    slot.returnedAt === undefined || slot.ejectedUntil !== undefined
      ? slot.multiplier
      : Math.max(0, slot.multiplier - Math.floor((now - slot.returnedAt) / config.intervalMillis))

  const decayed = (slot: Slot, now: number): number =>
    slot.cost * Math.exp(-Math.max(0, now - slot.stamp) / config.decayMillis)

  // Linkerd's and Finagle's peak EWMA: a sample above the estimate replaces it; otherwise the estimate moves toward
  // the sample by how long it has been since the last one.
  const observe = (slot: Slot, now: number, rtt: number): void => {
    if (rtt > slot.cost) {
      slot.cost = rtt
    } else {
      const w = Math.exp(-Math.max(0, now - slot.stamp) / config.decayMillis)
      slot.cost = slot.cost * w + rtt * (1 - w)
    }
    slot.stamp = now
    slot.measured = true
  }

  const score = (slot: Slot, now: number): number => decayed(slot, now) * (slot.inFlight + 1)

  const eject = (slot: Slot, now: number): void => {
    let active = 0
    for (const other of slots) if (other.ejectedUntil !== undefined) active++
    const allowed = (100 * (active + 1)) / n <= config.maxEjectionPercent || (config.alwaysEjectOne && active === 0)
    if (!allowed) return
    let multiplier = multiplierAt(slot, now)
    if (multiplier * config.baseMillis < config.maxMillis + config.baseMillis) multiplier++
    slot.multiplier = multiplier
    const until = now + Math.min(config.baseMillis * multiplier, config.maxMillis)
    slot.ejectedUntil = until
    hub.unsafeOffer({ _tag: "Ejected", key: slot.key, at: now, until, multiplier })
  }

  // true: a failure; false: a success; null: not counted (interruption, a policy's rejection, a defect `isFailure`
  // refuses)
  const failed = <X, E>(exit: Exit.Exit<X, E>): boolean | null => {
    if (Exit.isSuccess(exit)) return false
    const failure = Cause.failureOption(exit.cause)
    if (failure._tag === "Some") return isPolicyRejection(failure.value) ? null : isFailure(failure.value)
    const defect = Cause.dieOption(exit.cause)
    if (defect._tag === "Some") return isFailure(defect.value) ? true : null
    return null
  }

  // the place is given back first: an `isFailure` that throws still gives it back (its error is the call's defect)
  const end = (clock: Clock.Clock, slot: Slot, started: number, exit: Exit.Exit<unknown, unknown>): void => {
    slot.inFlight--
    const outcome = failed(exit)
    if (outcome === null) return
    const now = monotonicMillis(clock)
    settle(now)
    observe(slot, now, Math.max(0, now - started))
    // an outcome of an endpoint ejected (a call started before, or sent in panic) changes none of its counts
    if (slot.ejectedUntil !== undefined) return
    if (!outcome) {
      slot.consecutiveFailures = 0
      return
    }
    slot.consecutiveFailures++
    if (slot.consecutiveFailures >= config.consecutiveFailures) {
      // Envoy resets the count whether or not the ejection was allowed
      slot.consecutiveFailures = 0
      eject(slot, now)
    }
  }

  const pick = (now: number, avoid: Set<string> | undefined, u1: number, u2: number): Slot => {
    settle(now)
    let candidates = slots.filter((slot) => slot.ejectedUntil === undefined)
    // panic: too few endpoints in service (or none): every endpoint is a candidate (Envoy's panic threshold)
    if (candidates.length === 0 || (100 * candidates.length) / n < config.panicThreshold) candidates = slots
    if (avoid !== undefined && avoid.size > 0) {
      const fresh = candidates.filter((slot) => !avoid.has(slot.key))
      if (fresh.length > 0) candidates = fresh
    }
    if (config.strategy === "round-robin") {
      // the first candidate at or after the cursor, in the order of `endpoints`
      let chosen = candidates[0]!
      for (const slot of candidates) {
        if (slot.index >= cursor) {
          chosen = slot
          break
        }
      }
      cursor = (chosen.index + 1) % n
      return chosen
    }
    if (candidates.length === 1) return candidates[0]!
    const i = Math.min(candidates.length - 1, Math.floor(u1 * candidates.length))
    let j = Math.min(candidates.length - 2, Math.floor(u2 * (candidates.length - 1)))
    if (j >= i) j++
    const a = candidates[i]!
    const b = candidates[j]!
    return score(a, now) <= score(b, now) ? a : b
  }

  const draws: Effect.Effect<readonly [number, number]> = config.strategy === "p2c"
    ? Effect.zip(Random.next, Random.next)
    : Effect.succeed([0, 0] as const)

  const withEndpoint = <X, E, R>(f: (endpoint: A) => Effect.Effect<X, E, R>): Effect.Effect<X, E, R> =>
    Effect.flatMap(draws, ([u1, u2]) =>
      Effect.clockWith((clock) =>
        // the mask's body runs each time the effect runs; the place is taken and given back inside it
        Effect.uninterruptibleMask((restore) =>
          Effect.withFiberRuntime<X, E, R>((fiber) => {
            const triedMap = fiber.getFiberRef(triedRef)
            let avoid: Set<string> | undefined
            if (triedMap !== undefined) {
              avoid = triedMap.get(tried)
              if (avoid === undefined) {
                avoid = new Set()
                triedMap.set(tried, avoid)
              }
            }
            const started = monotonicMillis(clock)
            const slot = pick(started, avoid, u1, u2)
            avoid?.add(slot.key)
            slot.inFlight++
            const endpoint = config.endpoints[slot.index]!
            return Effect.onExit(
              restore(
                Effect.zipRight(
                  Effect.annotateCurrentSpan("sturdy.balancer.endpoint", slot.key),
                  Effect.suspend(() => f(endpoint))
                )
              ),
              (exit) => Effect.sync(() => end(clock, slot, started, exit))
            )
          })
        )
      ))

  const snapshot: Effect.Effect<ReadonlyArray<B.EndpointState<A>>> = Effect.clockWith((clock) =>
    Effect.sync(() => {
      const now = monotonicMillis(clock)
      settle(now)
      return slots.map((slot) => ({
        endpoint: config.endpoints[slot.index]!,
        key: slot.key,
        inFlight: slot.inFlight,
        latency: decayed(slot, now),
        measured: slot.measured,
        score: score(slot, now),
        consecutiveFailures: slot.consecutiveFailures,
        ejectedUntil: slot.ejectedUntil,
        multiplier: multiplierAt(slot, now)
      }))
    })
  )

  return {
    endpoints: config.endpoints,
    keys: config.keys,
    strategy: config.strategy,
    withEndpoint,
    snapshot,
    changes: Stream.fromPubSub(hub),
    subscribe: Stream.fromPubSub(hub, { scoped: true })
  }
}

/** @internal */
export const make = <A>(options: B.Options<A>): Effect.Effect<B.Balancer<A>> => Effect.sync(() => unsafeMake(options))

/** @internal */
export const withEndpoint: typeof B.withEndpoint = dual(
  2,
  <A, X, E, R>(self: B.Balancer<A>, f: (endpoint: A) => Effect.Effect<X, E, R>): Effect.Effect<X, E, R> =>
    self.withEndpoint(f)
)

/** @internal */
export const avoidRepeats = <X, E, R>(self: Effect.Effect<X, E, R>): Effect.Effect<X, E, R> =>
  Effect.suspend(() => Effect.locally(self, triedRef, new Map()))
