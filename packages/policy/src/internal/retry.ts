import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import { constTrue, dual } from "effect/Function"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import type * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as Intervals from "effect/ScheduleIntervals"
import type * as Retry from "../Retry.js"
import { RetryBudget, RetryBudgetExhausted } from "../RetryBudget.js"
import * as backoff from "./backoff.js"
import * as deadline from "./deadline.js"
import { checkOptions } from "./options.js"
import * as predicate from "./predicate.js"
import * as retryBudget from "./retryBudget.js"
import { sleepMillis, timerDuration } from "./timer.js"

/** @internal */
export const defaults = {
  maxRetryAfter: Duration.seconds(30),
  retryAfterJitter: 0.1,
  maxRetryAfterJitter: Duration.seconds(1)
} as const

interface Budget {
  readonly key: string
  readonly service: RetryBudget["Type"]
}

const describe = <E>(event: Retry.Attempt<E>): Effect.Effect<void> => {
  const delayMillis = Duration.toMillis(event.delay)
  const attributes = {
    "retry.attempt": event.attempt,
    "retry.delay_ms": delayMillis,
    "retry.reason": event.reason,
    "retry.retrying": event.retrying
  }
  const message = event.retrying
    ? `retrying: attempt ${event.attempt} after ${Duration.format(event.delay)} (${event.reason})`
    : `not retrying: attempt ${event.attempt} not made (${event.reason})`
  return Effect.zipRight(
    Effect.flatMap(Effect.option(Effect.currentSpan), (span) =>
      Option.isSome(span)
        ? Effect.flatMap(Clock.currentTimeNanos, (nanos) =>
          Effect.sync(() => span.value.event(event.retrying ? "retry" : "retry.stop", nanos, attributes)))
        : Effect.void),
    Effect.zipRight(
      Effect.annotateCurrentSpan({ "retry.attempts": event.retrying ? event.attempt : event.attempt - 1 }),
      Effect.annotateLogs(Effect.logDebug(message), attributes)
    )
  )
}

// Telemetry is built only for someone who reads it: a span to annotate, or a minimum log level that lets Debug through.
// Under load every failed attempt passes here, and building a message, attributes and a log entry nobody reads
// would cost more than the attempt.
const observe = <E>(event: Retry.Attempt<E>): Effect.Effect<void> =>
  Effect.withFiberRuntime((fiber) => {
    const span = fiber.currentSpan
    const traced = span !== undefined && span._tag === "Span"
    const logged = !LogLevel.greaterThan(fiber.getFiberRef(FiberRef.currentMinimumLogLevel), LogLevel.Debug)
    return traced || logged ? describe(event) : Effect.void
  })

/** @internal */
export const retry: typeof Retry.retry = dual(
  (args) => Effect.isEffect(args[0]),
  (
    self: Effect.Effect<any, any, any>,
    options?: Retry.Options<any, any> | Retry.BudgetedOptions<any, any>
  ): Effect.Effect<any, any, any> => retryImpl(self, options ?? {})
)

// What stays the same from attempt to attempt, resolved (and validated) once per `retry` call. The steps of a retry are
// functions of the module, handed this and the call's state, so that a call allocates no closure it never runs.
interface Resolved<E, R2> {
  readonly schedule: Schedule.Schedule<unknown, E, R2>
  /** The schedule's `maxElapsed` when it is a `Backoff` schedule that has one: a hint is held to it too. */
  readonly maxElapsedMillis: number | undefined
  /**
   * Whether `schedule` is that schedule without its `maxElapsed` (with a `delayHint`): a delay of its own that would
   * start past the limit must not end the retries when a server's wait replaces it, so the limit is held here, to
   * whichever wait is used.
   */
  readonly holdsElapsed: boolean
  readonly delayHint: ((failure: E) => Option.Option<Duration.Duration>) | undefined
  readonly maxHintedMillis: number
  readonly retryAfterJitter: number
  readonly maxRetryAfterJitterMillis: number
  readonly finalFailure: ((failure: E, attempts: number) => E) | undefined
}

// What one call brings: the effect to repeat, which failures to retry, who hears of each decision, its budget.
interface CallState<A, E, R, R2> {
  readonly self: Effect.Effect<A, E, R>
  readonly retryable: (failure: E, attempt: number) => boolean
  readonly onAttempt: ((attempt: Retry.Attempt<E>) => Effect.Effect<void, never, R2>) | undefined
}

// A hook that is no function would be a `TypeError` of the first failure ("call.retryable is not a function"), far
// from the mistake and naming no option: it is refused when `retry` is applied, as the other options are.
const checkFunction = (field: string, value: unknown): void => {
  if (value !== undefined && typeof value !== "function") {
    throw new RangeError(`Retry: ${field} (${value === null ? "null" : typeof value}) must be a function`)
  }
}

const resolve = <E, R2>(options: Retry.Options<E, R2> | Retry.BudgetedOptions<E, R2>): Resolved<E, R2> => {
  const retryAfterJitter = options.retryAfterJitter ?? defaults.retryAfterJitter
  const maxHintedMillis = Duration.toMillis(
    options.maxRetryAfter === undefined
      ? defaults.maxRetryAfter
      : timerDuration("Retry", "maxRetryAfter", options.maxRetryAfter, true)
  )
  // a number only: `true`, `""` or `[1]` would pass the comparisons by coercion (and `"0.5"` would be concatenated, not
  // multiplied, later), a symbol or a throwing `valueOf` would throw from inside them
  if (!(typeof retryAfterJitter === "number" && retryAfterJitter >= 0 && retryAfterJitter <= 1)) {
    throw new RangeError("Retry: retryAfterJitter must be between 0 and 1")
  }
  checkFunction("delayHint", options.delayHint)
  checkFunction("finalFailure", options.finalFailure)
  const schedule = options.schedule ?? backoff.exponential()
  const maxElapsedMillis = backoff.maxElapsedMillisOf(schedule)
  const holdsElapsed = maxElapsedMillis !== undefined && options.delayHint !== undefined
  return {
    schedule: holdsElapsed ? backoff.withoutElapsedLimit(schedule) : schedule,
    maxElapsedMillis,
    holdsElapsed,
    delayHint: options.delayHint,
    maxHintedMillis,
    retryAfterJitter,
    maxRetryAfterJitterMillis: Duration.toMillis(
      options.maxRetryAfterJitter === undefined
        ? defaults.maxRetryAfterJitter
        : timerDuration("Retry", "maxRetryAfterJitter", options.maxRetryAfterJitter)
    ),
    finalFailure: options.finalFailure
  }
}

const report = <A, E, R, R2>(
  call: CallState<A, E, R, R2>,
  event: Retry.Attempt<E>
): Effect.Effect<void, never, R2> =>
  call.onAttempt === undefined ? observe(event) : Effect.zipRight(observe(event), call.onAttempt(event))

const giveUp = <A, E, R, R2>(
  resolved: Resolved<E, R2>,
  call: CallState<A, E, R, R2>,
  failure: E,
  attempt: number,
  delayMillis: number,
  reason: Retry.Reason,
  budget: Budget | undefined
): Effect.Effect<never, E | RetryBudgetExhausted<E>, R2> => {
  // `attempt` is the attempt that will not be made: `attempt - 1` were made
  const final = resolved.finalFailure === undefined ? failure : resolved.finalFailure(failure, attempt - 1)
  const failWith: Effect.Effect<never, E | RetryBudgetExhausted<E>> =
    reason === "budget-refused" && budget !== undefined
      ? Effect.fail(new RetryBudgetExhausted({ key: budget.key, attempts: attempt - 1, failure: final }))
      : Effect.fail(final)
  return Effect.zipRight(
    report(call, { attempt, delay: Duration.millis(delayMillis), reason, retrying: false, failure }),
    failWith
  )
}

// `made` attempts have run; the last one failed with `failure`. Nothing here runs on the happy path.
const onFailure = <A, E, R, R2>(
  resolved: Resolved<E, R2>,
  call: CallState<A, E, R, R2>,
  failure: E,
  made: number,
  state: unknown,
  budget: Budget | undefined
): Effect.Effect<A, E | RetryBudgetExhausted<E>, R | R2> => {
  const next = made + 1
  if (!predicate.answerOf(call.retryable(failure, made), "Retry: while")) {
    return giveUp(resolved, call, failure, next, 0, "not-retryable", budget)
  }
  // The decision is made in a generator that returns the effect to run next, and `flatten` runs it once the generator
  // is done: were the next attempt `yield*`ed inside it, each retry would keep the generator of the one before alive
  // until the call ends (memory that grows with every retry of a call that retries without a limit).
  return Effect.flatten(Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const [nextState, , decision] = yield* resolved.schedule.step(now, failure, state)
    if (ScheduleDecision.isDone(decision)) {
      return giveUp(resolved, call, failure, next, 0, "exhausted", budget)
    }
    let delayMillis = Math.max(0, Intervals.start(decision.intervals) - now)
    let reason: Retry.Reason = "backoff"
    const deadlineAt = (yield* FiberRef.get(deadline.currentRef)).at
    const hint = resolved.delayHint === undefined ? Option.none() : resolved.delayHint(failure)
    if (Option.isSome(hint)) {
      // The server's wait replaces the backoff (a floor under it would make `Retry-After: 0` change nothing and
      // `Retry-After: 2` wait up to the backoff's cap). The schedule was still stepped: its attempt limit holds.
      const hintMillis = Math.ceil(Math.max(0, Duration.toMillis(hint.value)))
      // (a wait with no end is too long even for an unlimited `maxRetryAfter`: no deadline is what refuses it)
      if (hintMillis > resolved.maxHintedMillis || hintMillis === Infinity) {
        return giveUp(resolved, call, failure, next, hintMillis, "retry-after-too-long", budget)
      }
      // The schedule held its own delay to its `maxElapsed`; the wait that replaces it is held to it too, and a
      // schedule's limit ends retrying the same way whichever wait went past it.
      let latestMillis = Infinity
      if (resolved.maxElapsedMillis !== undefined) {
        const startMillis = (nextState as backoff.ElapsedState).startMillis ?? now
        latestMillis = startMillis + resolved.maxElapsedMillis - now
        if (hintMillis > latestMillis) {
          return giveUp(resolved, call, failure, next, 0, "exhausted", budget)
        }
      }
      // The server's own wait decides whether the retry fits the deadline, not the jitter added to it below.
      if (now + hintMillis >= deadlineAt) {
        return giveUp(resolved, call, failure, next, hintMillis, "deadline", budget)
      }
      delayMillis = hintMillis
      if (hintMillis > 0 && resolved.retryAfterJitter > 0) {
        // Clients told the same instant must not all wake together: add a little, never less than the hint and
        // never more than `retryAfterJitter` of it or `maxRetryAfterJitter`; a 0 ("now") stays 0. The jitter is
        // also cut short of whatever the hint fitted: `maxRetryAfter`, `maxElapsed`, the deadline.
        const unit = yield* Random.next
        const spread = Math.min(hintMillis * resolved.retryAfterJitter, resolved.maxRetryAfterJitterMillis)
        delayMillis = Math.max(
          hintMillis,
          Math.min(
            resolved.maxHintedMillis,
            latestMillis,
            deadlineAt - now - 1,
            Math.floor(hintMillis + spread * unit)
          )
        )
      }
      reason = "retry-after"
    } else if (
      resolved.holdsElapsed &&
      now - ((nextState as backoff.ElapsedState).startMillis ?? now) + delayMillis > resolved.maxElapsedMillis!
    ) {
      // the schedule's own delay, held to its `maxElapsed` here as the schedule would have held it
      return giveUp(resolved, call, failure, next, 0, "exhausted", budget)
    } else if (now + delayMillis >= deadlineAt) {
      return giveUp(resolved, call, failure, next, delayMillis, "deadline", budget)
    }
    if (budget !== undefined && !(yield* budget.service.withdraw(budget.key))) {
      return giveUp(resolved, call, failure, next, delayMillis, "budget-refused", budget)
    }
    yield* report(call, { attempt: next, delay: Duration.millis(delayMillis), reason, retrying: true, failure })
    if (delayMillis > 0) {
      // (a server's wait, under an unlimited `maxRetryAfter`, may be longer than one timer holds)
      yield* sleepMillis(delayMillis)
    }
    return attemptFrom(resolved, call, next, nextState, budget)
  }))
}

// `Effect.catchAll`, whose handler also runs on success (to pass the value on: one more step per call); a handler
// of causes is skipped on success. A cause with a defect is not caught, as `catchAll` does not catch it.
const attemptFrom = <A, E, R, R2>(
  resolved: Resolved<E, R2>,
  call: CallState<A, E, R, R2>,
  made: number,
  state: unknown,
  budget: Budget | undefined
): Effect.Effect<A, E | RetryBudgetExhausted<E>, R | R2> =>
  Effect.catchAllCause(call.self, (cause) => {
    if (Chunk.isNonEmpty(Cause.defects(cause))) return Effect.failCause(Cause.stripFailures(cause))
    const failures = Cause.failures(cause)
    return Chunk.isNonEmpty(failures)
      ? onFailure(resolved, call, Chunk.headNonEmpty(failures), made, state, budget)
      : Effect.failCause(cause)
  })

// A caller that retries with the same settings call after call (a `Policy` stage builds one options literal per call
// from values fixed when the stage was made) gets the same resolution back: six comparisons instead of decoding
// durations and allocating per call. Only the settings are kept, not the call's own options (its hooks). The last
// resolution is kept per schedule too, so that callers with settings of their own (a `Policy` per upstream, or
// upstreams with settings of their own) calling in turn each find theirs.
const settingNames = [
  "schedule",
  "delayHint",
  "maxRetryAfter",
  "retryAfterJitter",
  "maxRetryAfterJitter",
  "finalFailure"
] as const
type Settings = Record<(typeof settingNames)[number], unknown>
interface Resolution {
  readonly settings: Settings
  readonly resolved: Resolved<any, any>
}
let last: Resolution | undefined
const bySchedule = new WeakMap<object, Resolution>()
let resolutions = 0
const sameSettings = (
  settings: Settings,
  options: Retry.Options<any, any> | Retry.BudgetedOptions<any, any>
): boolean => {
  for (const name of settingNames) {
    if (settings[name] !== options[name]) return false
  }
  return true
}
const resolveReused = <E, R2>(options: Retry.Options<E, R2> | Retry.BudgetedOptions<E, R2>): Resolved<E, R2> => {
  const schedule = options.schedule
  if (schedule === undefined) return resolve(options)
  if (last !== undefined && sameSettings(last.settings, options)) return last.resolved
  const kept = bySchedule.get(schedule)
  if (kept !== undefined && sameSettings(kept.settings, options)) {
    last = kept
    return kept.resolved
  }
  resolutions++
  const settings = {} as Settings
  for (const name of settingNames) settings[name] = options[name]
  last = { settings, resolved: resolve(options) }
  bySchedule.set(schedule, last)
  return last.resolved
}

/**
 * How many times `retry` has resolved settings it had no resolution of: for the tests.
 * @internal
 */
export const resolutionsMade = (): number => resolutions

const retryImpl = <A, E, R, R2>(
  self: Effect.Effect<A, E, R>,
  options: Retry.Options<E, R2> | Retry.BudgetedOptions<E, R2>
): Effect.Effect<A, E | RetryBudgetExhausted<E>, R | R2 | RetryBudget> => {
  checkOptions("Retry", options)
  const resolved = resolveReused(options)
  checkFunction("while", options.while)
  checkFunction("onAttempt", options.onAttempt)
  const call: CallState<A, E, R, R2> = { self, retryable: options.while ?? constTrue, onAttempt: options.onAttempt }
  // The first attempt is the same Effect for every call: building it once keeps the happy path free of allocations.
  const budgetKey = options.budgetKey
  if (budgetKey === undefined) {
    return attemptFrom(resolved, call, 1, resolved.schedule.initial, undefined)
  }
  const ownService = "budgetService" in options ? options.budgetService : undefined
  if (ownService !== undefined) return depositThen(ownService, budgetKey, resolved, call)
  // One service is usually provided for the whole life of the policy: remember its first attempt.
  let lastService: RetryBudget["Type"] | undefined
  let lastFirstAttempt: Effect.Effect<A, E | RetryBudgetExhausted<E>, R | R2> = Effect.never
  return Effect.flatMap(RetryBudget, (service) => {
    if (service !== lastService) {
      lastService = service
      lastFirstAttempt = depositThen(service, budgetKey, resolved, call)
    }
    return lastFirstAttempt
  })
}

// The call is deposited, then its first attempt runs: the in-memory budget's deposit in the same step.
const depositThen = <A, E, R, R2>(
  service: RetryBudget["Type"],
  key: string,
  resolved: Resolved<E, R2>,
  call: CallState<A, E, R, R2>
): Effect.Effect<A, E | RetryBudgetExhausted<E>, R | R2> => {
  const first = attemptFrom(resolved, call, 1, resolved.schedule.initial, { key, service })
  const depositAt = retryBudget.synchronousDeposit(service)
  if (depositAt === undefined) return Effect.zipRight(service.deposit(key), first)
  return Effect.withFiberRuntime((fiber) => {
    depositAt(key, Context.get(fiber.currentDefaultServices, Clock.Clock))
    return first
  })
}
