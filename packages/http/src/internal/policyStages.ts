import type * as Headers from "@effect/platform/Headers"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as AdaptiveThrottle from "@sturdy/policy/AdaptiveThrottle"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Bulkhead from "@sturdy/policy/Bulkhead"
import * as BulkheadStore from "@sturdy/policy/BulkheadStore"
import * as CircuitBreaker from "@sturdy/policy/CircuitBreaker"
import * as CircuitBreakerStore from "@sturdy/policy/CircuitBreakerStore"
import * as ConcurrencyLimit from "@sturdy/policy/ConcurrencyLimit"
import * as Deadline from "@sturdy/policy/Deadline"
import * as Hedge from "@sturdy/policy/Hedge"
import * as RateLimit from "@sturdy/policy/RateLimit"
import * as Retry from "@sturdy/policy/Retry"
import * as RetryBudget from "@sturdy/policy/RetryBudget"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as HttpFailure from "../HttpFailure.js"
import type * as P from "../Policy.js"
import * as Telemetry from "../Telemetry.js"
import * as attempt from "./attempt.js"
import * as observe from "./observe.js"
import * as classification from "./policyClassification.js"
import * as events from "./policyEvents.js"
import type * as policyOptions from "./policyOptions.js"
import * as retryHeaders from "./retryHeaders.js"

// -----------------------------------------------------------------------------
// the pipeline: an ordered list of stages
// -----------------------------------------------------------------------------

/** @internal How a call sends one attempt. */
export type Send<A, R> = (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<A, HttpFailure.HttpFailure, R>

/** @internal One call through the stages: what every stage reads, made once per call. */
export interface Call<A, R> {
  readonly request: HttpClientRequest.HttpClientRequest
  readonly key: string
  readonly idempotent: boolean
  /** The body can be sent again: not a one-shot stream, which neither a retry nor a hedge may resend. */
  readonly repeatable: boolean
  readonly send: Send<A, R>
  readonly observer: events.Observer | undefined
  readonly traced: boolean
  /** `send` applies the attempt timeout and the deadline itself (an `Attempt`): no timer is raced around it. */
  readonly selfEnforcing: boolean
}

/**
 * The stages from one point inward, as one function of the call. The failure is the pipeline's: the inner stages only
 * fail with the narrower `Guarded` (an attempt's `HttpFailure`, or a breaker's or bulkhead's rejection).
 * @internal
 */
export interface Step {
  <A, R>(call: Call<A, R>): Effect.Effect<A, P.Failure, R>
}

/** @internal A stage wraps the step inside it. */
export type Stage = (next: Step) => Step

/** @internal What the stages of one policy share: the pauses servers asked for, per key, and the retry budget. */
export interface Shared {
  readonly pauses: RateLimit.RateLimiter
  readonly budget: RetryBudget.RetryBudget["Type"]
  /** Set once a server asked for a pause: until then the pause stage costs nothing. */
  anyPause: boolean
  /** The waits asked for that were longer than the pause kept for them, per key; made by the first such wait. */
  longWaits?: Map<string, LongWait> | undefined
  /** The `probeAt` of each of `longWaits`, earliest first (a binary heap; see `rememberLongWait`). */
  longWaitEnds?: Array<LongWaitEnd> | undefined
}

/** A long wait in the heap of `Shared.longWaitEnds`: current while `longWaits` holds this very `wait` for `key`. */
interface LongWaitEnd {
  readonly key: string
  readonly wait: LongWait
}

/**
 * A server's wait longer than the pause kept (the `maxRetryAfter` of the call told): until `probeAt`, the end of that
 * pause, a call is held to the server's own wait (`until`), as the call told was; after it, a call probes.
 * @internal
 */
export interface LongWait {
  readonly until: number
  readonly probeAt: number
}

/** As many as a `RateLimit` keeps pauses by default. @internal */
export const maxLongWaits = 10_000

// the long waits each policy has looked at to keep at most `maxLongWaits`, for the tests (`longWaitVisitsOf`)
const longWaitVisits = new WeakMap<Shared, number>()

/**
 * How many long waits `rememberLongWait` has looked at for `shared` to keep at most `maxLongWaits` of them: for the
 * tests.
 * @internal
 */
export const longWaitVisitsOf = (shared: Shared): number => longWaitVisits.get(shared) ?? 0

const pushLongWait = (heap: Array<LongWaitEnd>, end: LongWaitEnd): void => {
  let i = heap.push(end) - 1
  while (i > 0) {
    const parent = (i - 1) >> 1
    if (heap[parent]!.wait.probeAt <= end.wait.probeAt) break
    heap[i] = heap[parent]!
    i = parent
  }
  heap[i] = end
}

const popLongWait = (heap: Array<LongWaitEnd>): LongWaitEnd => {
  const top = heap[0]!
  const last = heap.pop()!
  if (heap.length === 0) return top
  let i = 0
  for (;;) {
    const left = 2 * i + 1
    if (left >= heap.length) break
    const right = left + 1
    const child = right < heap.length && heap[right]!.wait.probeAt < heap[left]!.wait.probeAt ? right : left
    if (heap[child]!.wait.probeAt >= last.wait.probeAt) break
    heap[i] = heap[child]!
    i = child
  }
  heap[i] = last
  return top
}

/** @internal The pipeline of one upstream profile and endpoint, built the first time a call needs it. */
export interface Stack {
  readonly resolved: policyOptions.Resolved
  readonly profile: Profile
  readonly run: Step
}

/**
 * The stages, outermost first. A stage the options turn off is left out, so a call pays only for what is on:
 *
 *   call span and rejection events
 *   → server pause → deadline → rate limit → retry (+ budget) → hedging → breaker → bulkhead
 *   → the server pause again, for each attempt → adaptive throttle → concurrency limit → Retry-After hints and the
 *   attempt's events → attempt timeout
 *   → the attempt (`send`)
 *
 * @internal
 */
export const makeStack = (resolved: policyOptions.Resolved, profile: Profile, shared: Shared): Stack => {
  const retry = resolved.retry
  const guarded = profile.breakers !== undefined || resolved.bulkhead !== undefined ||
    resolved.adaptiveThrottle !== undefined || resolved.concurrencyLimit !== undefined
  // `respectRetryAfter: false` ignores server waits and pauses entirely: a call of this stack neither sets a pause nor
  // is held by one another call of its key set (a stack without retries keeps the rules of the level it turned off)
  const rules = resolved.retryAfterRules
  const paused = rules.respectRetryAfter
  const stages: ReadonlyArray<Stage | undefined> = [
    observeCall,
    paused ? serverPause(resolved, shared) : undefined,
    resolved.totalTimeout === undefined && resolved.attemptTimeout === undefined ? undefined : deadline(resolved),
    // inside the deadline: a wait for the limiter is part of the call, and one that cannot end in time fails at once
    profile.limiter === undefined ? undefined : rateLimit(profile.limiter),
    retry === undefined ? undefined : retrying(resolved, retry, shared.budget),
    resolved.hedging === undefined ? undefined : hedging(resolved.hedging, retry, rules, shared.budget),
    guarded ? rejectionEvents : undefined,
    profile.breakers === undefined ? undefined : breaker(profile.breakers),
    resolved.bulkhead === undefined ? undefined : bulkhead(profile, resolved.bulkhead),
    paused ? attemptPause(resolved, shared) : undefined,
    resolved.adaptiveThrottle === undefined ? undefined : adaptiveThrottle(profile, resolved.adaptiveThrottle),
    resolved.concurrencyLimit === undefined ? undefined : concurrencyLimit(profile, resolved.concurrencyLimit),
    retryAfterHints(rules, shared),
    observeAttempt
  ]
  let run: Step = attemptTimeout(resolved)
  for (let i = stages.length - 1; i >= 0; i--) {
    const stage = stages[i]
    if (stage !== undefined) run = stage(run)
  }
  return { resolved, profile, run }
}

// The inner stages fail only with an attempt's failure or a breaker's or bulkhead's rejection.
const guardedOf = <A, R>(effect: Effect.Effect<A, P.Failure, R>) =>
  effect as Effect.Effect<A, classification.Guarded, R>

// outermost: the call's span, and the events of the rejections that end a call
const observeCall: Stage = (next) => (call) => {
  const observer = call.observer
  const inner = next(call)
  const observed = observer === undefined ? inner : Effect.tapError(inner, (failure) => {
    // a rejection of the whole call (an attempt's is reported where it happens), or a retry the budget refused
    if (failure._tag === "RetryBudgetExhausted") {
      return observer.emit({ _tag: "Rejected", key: call.key, attempt: failure.attempts + 1, rejection: failure })
    }
    return observe.rejections[failure._tag]?.rejects === "call"
      ? observer.emit({ _tag: "Rejected", key: call.key, attempt: observer.attempt, rejection: failure as P.Rejection })
      : Effect.void
  })
  return call.traced ? Telemetry.logicalCall(observed, call.request, { upstream: call.key }) : observed
}

// The pause a server asked for on this key (429/503 with Retry-After): wait it out when it fits, fail at once
// otherwise. The wait is part of the call, so a call that waits has its total deadline established before it: the
// deadline stage inside keeps that sooner one rather than starting a fresh `totalTimeout` once the pause is over.
// A call that meets no pause pays none of this.
const serverPause = (resolved: policyOptions.Resolved, shared: Shared): Stage => {
  const patienceMillis = Duration.toMillis(resolved.retryAfterRules.maxRetryAfter)
  const total = resolved.totalTimeout
  const totalMillis = total === undefined ? Infinity : Duration.toMillis(total)
  return (next) => (call) => {
    if (!shared.anyPause) return next(call)
    const limited = next(call)
    const key = call.key
    return Effect.flatMap(shared.pauses.pausedFor(key), (left) => {
      if (Duration.isZero(left)) return limited
      return Effect.clockWith((clock) =>
        Effect.flatMap(FiberRef.get(Deadline.currentLimit), (limit) => {
          const now = clock.unsafeCurrentTimeMillis()
          const leftMillis = Duration.toMillis(left)
          const long = shared.longWaits?.get(key)
          const askedMillis = long !== undefined && long.probeAt > now
            ? Math.max(leftMillis, long.until - now)
            : leftMillis
          // a pause that would use up the deadline leaves no time to send: refused like one past the patience
          const fits = askedMillis <= patienceMillis && leftMillis < totalMillis && now + leftMillis < limit.at
          if (!fits) return Effect.fail(new RateLimit.RateLimitExceeded({ key, reason: "Paused", retryAfter: left }))
          const paused = Effect.zipRight(Effect.sleep(left), limited)
          return total === undefined ? paused : Deadline.establish(paused, total)
        })
      )
    })
  }
}

// The pause a server asked for, for each attempt: one asked for after the call started (by another call's 429) holds
// the call's retries, and a call that waited in the bulkhead's queue, until it ends, when the wait fits the call's
// patience and deadline; otherwise the attempt goes as it would have, and the server's answer decides. Read when the
// attempt starts, not when the call does: until a server first asks for a pause it costs one check.
const attemptPause = (resolved: policyOptions.Resolved, shared: Shared): Stage => {
  const patienceMillis = Duration.toMillis(resolved.retryAfterRules.maxRetryAfter)
  return (next) => (call) => {
    const attempt = next(call)
    const key = call.key
    // built when first needed: a call that meets no pause allocates none of it
    let held: typeof attempt | undefined
    const heldOf = (): typeof attempt =>
      held ??= Effect.flatMap(shared.pauses.pausedFor(key), (left) => {
        if (Duration.isZero(left)) return attempt
        return Effect.clockWith((clock) =>
          Effect.flatMap(FiberRef.get(Deadline.currentLimit), (limit) => {
            const leftMillis = Duration.toMillis(left)
            const fits = leftMillis <= patienceMillis && clock.unsafeCurrentTimeMillis() + leftMillis < limit.at
            return fits ? Effect.zipRight(Effect.sleep(left), attempt) : attempt
          })
        )
      })
    return Effect.suspend(() => shared.anyPause ? heldOf() : attempt)
  }
}

// the client-side rate limit of the key
const rateLimit = (limiter: RateLimit.RateLimiter): Stage => (next) => (call) => limiter.run(call.key)(next(call))

// No timer for the deadline: each wait inside bounds itself by it. Retry sleeps never pass it, a bulkhead queue never
// waits past it, and each attempt ends by the attempt timeout or the deadline, whichever comes first: enforced by the
// transport when it can, by one timer otherwise.
const deadline = (resolved: policyOptions.Resolved): Stage => {
  // made once with the stage: the durations are decoded once, not per call
  const establish = Deadline.establish(resolved.totalTimeout ?? Duration.infinity, {
    attemptTimeout: resolved.attemptTimeout
  })
  return (next) => (call) => establish(next(call))
}

const retrying = (
  resolved: policyOptions.Resolved,
  retry: policyOptions.ResolvedRetry,
  budget: Shared["budget"]
): Stage => {
  const schedule = scheduleFor(retry)
  const retryOn = classification.retryOnWith(retry.retryOn, retry.statuses)
  const delayHint = classification.delayHintWith(retry)
  const waitForProbe = resolved.circuitBreaker?.waitForProbe === true
  const retryUnsent = retry.retryUnsent
  // `methods` is an allow-list combined (AND) with the failure's kind, whose methods count as safe to repeat;
  // `retryUnsent: false` never repeats a request that is not safe to repeat, even when the failure proves it was never
  // sent. One rule for calls safe to repeat and one for the others, built with the stage rather than per call.
  const retryableWhen = (idempotent: boolean) => (failure: classification.Guarded, attempt: number): boolean => {
    // an open breaker already knows the answer: the caller gets it at once, unless asked to wait for the probe
    if (failure._tag === "CircuitOpen") return waitForProbe
    // a full bulkhead, a limit reached or the throttle turn the attempt away unsent; the call gets the rejection at
    // once, as the caller of a full bulkhead does (a retry now would meet the same load, or the same probability)
    if (
      failure._tag === "BulkheadRejected" || failure._tag === "ConcurrencyLimitExceeded" ||
      failure._tag === "AdaptiveThrottleRejected"
    ) return false
    return retryOn(failure, attempt) &&
      (idempotent || (retryUnsent && !HttpFailure.mayHaveReachedServer(failure)))
  }
  const retryableIdempotent = retryableWhen(true)
  const retryableOther = retryableWhen(false)
  const never = (): boolean => false
  return (next) => (call) => {
    const guarded = guardedOf(next(call))
    const observer = call.observer
    const traced = call.traced
    // A method listed in `methods` is one the caller declared safe to repeat (as ky, got and urllib3 read the list): a
    // listed POST retries like a PUT.
    const listed = retry.methods === undefined ? undefined : retry.methods.has(call.request.method.toUpperCase())
    const retryable = listed === false || !call.repeatable
      ? never
      : call.idempotent || listed === true
      ? retryableIdempotent
      : retryableOther
    const onAttempt = observer === undefined
      ? traced ? Telemetry.onRetry : undefined
      : (decision: Retry.Attempt<classification.Guarded>): Effect.Effect<void> => {
        if (decision.retrying) observer.attempt = decision.attempt
        const reported = observer.emit({
          _tag: "RetryDecision",
          key: call.key,
          attempt: decision.attempt,
          delay: decision.delay,
          reason: decision.reason,
          retrying: decision.retrying,
          failure: decision.failure
        })
        return traced ? Effect.zipRight(Telemetry.onRetry(decision), reported) : reported
      }
    // one literal of one shape per call: a spread here cost more than the rest of the pipeline's set-up
    return retry.budget
      ? Retry.retry(guarded, {
        schedule,
        while: retryable,
        delayHint,
        maxRetryAfter: retry.maxRetryAfter,
        retryAfterJitter: retry.retryAfterJitter,
        finalFailure: classification.withAttempts,
        onAttempt,
        budgetKey: call.key,
        budgetService: budget
      })
      : Retry.retry(guarded, {
        schedule,
        while: retryable,
        delayHint,
        maxRetryAfter: retry.maxRetryAfter,
        retryAfterJitter: retry.retryAfterJitter,
        finalFailure: classification.withAttempts,
        onAttempt
      })
  }
}

// hedges of an idempotent request; with a budget, every hedge is a retry to pay for (the retry stage already
// deposited the call)
const hedging = (
  options: P.HedgingOptions,
  retry: policyOptions.ResolvedRetry | undefined,
  retryAfterRules: policyOptions.ResolvedRetry,
  budget: Shared["budget"]
): Stage => {
  const budgeted = retry !== undefined && retry.budget
  const retryOn = classification.retryOnWith(retry?.retryOn, retry?.statuses)
  // The server's wait as the retry stage reads it (on `retryAfterStatuses`, when respected; a listed 4xx's or 5xx's
  // wait read from its headers), so that hedging and retrying agree on whether the server asked for one; with no
  // retry stage, by the rules of the level that turned retries off
  const delayHint = classification.delayHintWith(retryAfterRules)
  const asksForWait = (failure: HttpFailure.HttpFailure): boolean => Option.isSome(delayHint(failure))
  // A failed attempt starts the next copy at once only when a retry would repeat it and the server asked for no wait:
  // a 404 or a bad body ends the call, a 429 or a 503 with Retry-After goes to the retry stage, which waits as
  // asked, and a policy's own rejection (open breaker, full bulkhead) would only turn the copy away too.
  const hedgeOn = (failure: unknown): boolean =>
    HttpFailure.isHttpFailure(failure) && retryOn(failure, 1) && !asksForWait(failure)
  // A server's wait stops hedging, as gRPC's pushback does, but the copies already out may still answer: a 503 from
  // one replica says nothing of the answer another is about to send. Only when they fail too does the wait reach the
  // retry stage.
  const serverWait = (failure: unknown): boolean =>
    HttpFailure.isHttpFailure(failure) && retryOn(failure, 1) && asksForWait(failure)
  return (next) => (call) => {
    const guarded = guardedOf(next(call))
    if (!call.idempotent || !call.repeatable) return guarded
    const observer = call.observer
    const onHedge = observer === undefined ? undefined : (event: Hedge.HedgeEvent) =>
      observer.emit({
        _tag: "HedgeStarted",
        key: call.key,
        attempt: observer.attempt,
        index: event.index,
        trigger: event.trigger,
        elapsed: event.elapsed
      })
    return budgeted
      ? Effect.provideService(
        Hedge.hedge(guarded, {
          ...options,
          budgetKey: call.key,
          deposit: false,
          onHedge,
          while: hedgeOn,
          pushback: serverWait
        }),
        RetryBudget.RetryBudget,
        budget
      )
      : Hedge.hedge(guarded, { ...options, onHedge, while: hedgeOn, pushback: serverWait })
  }
}

// the events of an attempt the breaker or the bulkhead turned away
const rejectionEvents: Stage = (next) => (call) => {
  const observer = call.observer
  if (observer === undefined) return next(call)
  return Effect.tapError(guardedOf(next(call)), (failure) =>
    events.isAttemptRejection(failure)
      ? observer.emit({ _tag: "Rejected", key: call.key, attempt: observer.attempt, rejection: failure })
      : Effect.void)
}

const breaker = (breakers: CircuitBreaker.RegistryService): Stage => (next) => (call) =>
  breakers.withBreaker(guardedOf(next(call)), call.key)

const bulkhead = (profile: Profile, options: policyOptions.ResolvedBulkhead): Stage => {
  const bulkheads = profile.bulkheads
  const bulkheadOf = bulkheadFor(bulkheads, options, profile.bulkheadStore)
  const queues = options.maxQueued > 0
  return (next) => (call) => {
    const inner = guardedOf(next(call))
    const key = call.key
    // Looked up by each attempt as it starts, not once per call: a call waiting for a retry, a pause or a rate limit
    // holds no permit, so its key's bulkhead may be dropped meanwhile, and an attempt that then ran on the dropped
    // one would run beside the calls of the key's new bulkhead.
    const limited = Effect.suspend(() => {
      const known = usedBulkhead(bulkheads, key)
      return known === undefined
        ? Effect.flatMap(bulkheadOf(key), (created) => created.run(inner))
        : known.run(inner)
    })
    // a call still queued when the deadline passes timed out: the HTTP taxonomy says so, not the bulkhead
    return queues
      ? Effect.catchIf(limited, isQueueTimeout, (rejection) => queueTimedOut(rejection, call.request))
      : limited
  }
}

// The adaptive concurrency limit of the key, for each attempt (inside the bulkhead, so that a call waiting in the
// bulkhead's queue is not in flight; inside the per-attempt server pause, so that a wait the server asked for is no part
// of a round-trip time): its samples are the attempts, and an attempt over the limit fails at once with
// `ConcurrencyLimitExceeded`, unsent. Looked up by each attempt, as the bulkhead is.
const concurrencyLimit = (profile: Profile, options: policyOptions.ResolvedConcurrencyLimit): Stage => {
  const limits = profile.limits
  const limitOf = limitFor(limits, options)
  return (next) => (call) => {
    const inner = guardedOf(next(call))
    const key = call.key
    return Effect.suspend(() => {
      const known = usedSlot(limits, key)
      return known === undefined
        ? Effect.flatMap(limitOf(key), (created) => created.run(inner))
        : known.run(inner)
    })
  }
}

// The adaptive throttle of the key (the SRE book's client-side throttling), for each attempt: the book counts the
// requests sent to the backend, so the samples are attempts, never a whole call with its retries. Inside the breaker's
// admission (a throttled attempt is a policy's rejection, which the breaker counts neither way), the bulkhead and the
// per-attempt server pause (the draw is made when the attempt would go; a bulkhead queue's deadline `Timeout`, which
// sent nothing, never reaches it), outside the concurrency limit (a throttled attempt takes none of its slots; its
// `ConcurrencyLimitExceeded` is a policy's rejection the throttle does not count). Looked up by each attempt, as the
// bulkhead is.
const adaptiveThrottle = (profile: Profile, options: policyOptions.ResolvedAdaptiveThrottle): Stage => {
  const throttles = profile.throttles
  const throttleOf = throttleFor(throttles, options)
  return (next) => (call) => {
    const inner = guardedOf(next(call))
    const key = call.key
    return Effect.suspend(() => {
      const known = usedSlot(throttles, key)
      return known === undefined
        ? Effect.flatMap(throttleOf(key), (created) => created.run(inner))
        : known.run(inner)
    })
  }
}

/**
 * What the concurrency limit counts as a drop, and the adaptive throttle as the backend's rejection (the upstream is
 * overloaded): a timeout, a 429, a 503, and a connection that could not be opened in time (a server whose accept queue
 * is full). Any other failure is an answer: a 4xx, a 500 (a bug, not a load), a refused connection (an upstream that
 * is down is the breaker's business).
 * @internal
 */
export const isOverloaded = (failure: unknown): boolean => {
  if (!HttpFailure.isHttpFailure(failure)) return false
  switch (failure._tag) {
    case "Timeout":
    case "RateLimited":
      return true
    case "ServerError":
      return failure.status === 503
    case "ConnectionError":
      return failure.reason === "ConnectTimeout"
    default:
      return false
  }
}

/**
 * What the concurrency limit and the adaptive throttle do not count at all: a failure that tells nothing of the
 * upstream's load because the request never reached it or the upstream never judged it (a refused connection, a DNS
 * or TLS failure, a request that could not be built, credentials that could not be had). A refused connection
 * is no answer of a live upstream (no round-trip time, no accept); an upstream that is down is the breaker's business.
 * @internal
 */
export const isNoLoadSignal = (failure: unknown): boolean =>
  !isOverloaded(failure) &&
  (classification.saysNothingAboutUpstream(failure) ||
    (HttpFailure.isHttpFailure(failure) && failure._tag === "ConnectionError" && failure.reason === "Refused"))

/**
 * A key's entry in a profile's table (its bulkhead, its concurrency limit), and whether a call used it since the sweep
 * last passed it.
 * @internal
 */
export interface Slot<T> {
  readonly value: T
  used: boolean
}

/** @internal A key's bulkhead in a profile's table. */
export type BulkheadSlot = Slot<Bulkhead.Bulkhead>

/** @internal A key's adaptive concurrency limit in a profile's table. */
export type LimitSlot = Slot<ConcurrencyLimit.ConcurrencyLimit>

/** @internal A key's adaptive throttle in a profile's table. */
export type ThrottleSlot = Slot<AdaptiveThrottle.AdaptiveThrottle>

/**
 * The keys a profile's table keeps (of bulkheads, and of concurrency limits); it holds more only while more of its
 * entries are busy.
 * @internal
 */
export const bulkheadCapacity = 10_000

// the entries one new key's sweep looks at, at most: a table of busy entries costs a bounded step per new key
const sweepStep = 32

/**
 * The key's entry when the table has one, marked used: one lookup and one write, on the path of every call.
 * @internal
 */
export const usedSlot = <T>(table: Map<string, Slot<T>>, key: string): T | undefined => {
  const slot = table.get(key)
  if (slot === undefined) return undefined
  slot.used = true
  return slot.value
}

/** @internal The key's bulkhead when the table has one, marked used (see {@link usedSlot}). */
export const usedBulkhead: (bulkheads: Map<string, BulkheadSlot>, key: string) => Bulkhead.Bulkhead | undefined =
  usedSlot

/**
 * The key's entry, made the first time the key is seen. Over `bulkheadCapacity` keys, a sweep (the "clock"
 * approximation of least-recently-used) goes over the table from its oldest entry: an entry used since the sweep last
 * passed it goes to the back, its mark cleared; so does a busy one (a bulkhead with calls running or queued, a limit
 * with calls in flight: dropping it would let a new one of the key admit calls beside them); an idle, unused one is
 * dropped. When every entry it looks at is busy the table grows past the cap rather than break a limit: busy entries
 * are bounded by the calls in flight.
 * @internal
 */
export const keyedFor = <T>(
  table: Map<string, Slot<T>>,
  make: (key: string) => Effect.Effect<T>,
  busy: (value: T) => Effect.Effect<boolean>
) =>
(key: string): Effect.Effect<T> =>
  Effect.flatMap(make(key), (created) => {
    // another call of the key may have made one first: every call of a key shares one
    const known = usedSlot(table, key)
    if (known !== undefined) return Effect.succeed(known)
    table.set(key, { value: created, used: false })
    return table.size > bulkheadCapacity
      ? Effect.as(sweep(table, busy, sweepStep), created)
      : Effect.succeed(created)
  })

/**
 * The key's bulkhead, made the first time the key is seen (see {@link keyedFor}): with a `BulkheadStore` (looked up
 * once, when the policy is made), one whose `maxConcurrent` holds for the whole fleet.
 * @internal
 */
export const bulkheadFor = (
  bulkheads: Map<string, BulkheadSlot>,
  options: policyOptions.ResolvedBulkhead,
  store?: BulkheadStore.BulkheadStore.Service | undefined
) => {
  const bulkheadOptions = {
    maxConcurrent: options.maxConcurrent,
    maxQueued: options.maxQueued,
    maxWait: options.maxWait
  }
  return keyedFor(
    bulkheads,
    store === undefined
      ? (key) => Bulkhead.make({ key, ...bulkheadOptions })
      : (key) =>
        BulkheadStore.make({ key, ...bulkheadOptions }).pipe(
          Effect.provideService(BulkheadStore.BulkheadStore, store)
        ),
    (bulkhead) => Effect.map(bulkhead.snapshot, (load) => load.active > 0 || load.queued > 0)
  )
}

/** @internal The key's concurrency limit, made the first time the key is seen (see {@link keyedFor}). */
export const limitFor = (limits: Map<string, LimitSlot>, options: policyOptions.ResolvedConcurrencyLimit) =>
  keyedFor(
    limits,
    (key) =>
      Effect.sync(() =>
        ConcurrencyLimit.unsafeMake({ ...options, key, isDrop: isOverloaded, isIgnored: isNoLoadSignal })
      ),
    (limit) => Effect.map(limit.inFlight, (inFlight) => inFlight > 0)
  )

/**
 * The key's adaptive throttle, made the first time the key is seen (see {@link keyedFor}). A throttle holds no calls:
 * none is busy, so an idle one may be dropped, and its key starts again with no history.
 * @internal
 */
export const throttleFor = (throttles: Map<string, ThrottleSlot>, options: policyOptions.ResolvedAdaptiveThrottle) =>
  keyedFor(
    throttles,
    (key) => AdaptiveThrottle.make({ ...options, key, isRejectedByBackend: isOverloaded, isIgnored: isNoLoadSignal }),
    () => Effect.succeed(false)
  )

const sweep = <T>(
  table: Map<string, Slot<T>>,
  busy: (value: T) => Effect.Effect<boolean>,
  step: number
): Effect.Effect<void> => {
  if (table.size <= bulkheadCapacity || step === 0) return Effect.void
  const oldest = table.entries().next()
  if (oldest.done === true) return Effect.void
  const [key, slot] = oldest.value
  if (slot.used) {
    slot.used = false
    table.delete(key)
    table.set(key, slot)
    return sweep(table, busy, step - 1)
  }
  return Effect.flatMap(busy(slot.value), (isBusy) => {
    // the table may have changed while the load was read: only this slot of this key is moved or dropped
    if (table.get(key) === slot) {
      table.delete(key)
      if (isBusy) table.set(key, slot)
    }
    return sweep(table, busy, step - 1)
  })
}

// what a failed attempt tells the policy: a server's pause for the key (429/503 with Retry-After), or a 4xx's
// Retry-After read once with the Clock
const retryAfterHints = (retry: policyOptions.ResolvedRetry, shared: Shared): Stage => (next) => (call) =>
  catchFailure(
    next(call),
    (failure) => onAttemptFailure(failure as HttpFailure.HttpFailure, call.key, retry, shared)
  )

// `Effect.catchAll` in one frame that a success passes over. `catchAll` is a `matchCauseEffect` whose success handler
// is one more step, and around a real request every step the response goes back through costs: its frame has gone
// cold while the request was out. The same causes reach `f` as with `catchAll`.
const catchFailure = <A, E, R, E2, R2>(
  self: Effect.Effect<A, E, R>,
  f: (failure: E) => Effect.Effect<never, E2, R2>
): Effect.Effect<A, E2, R | R2> =>
  Effect.catchAllCause(self, (cause) => {
    if (Chunk.isNonEmpty(Cause.defects(cause))) return Effect.failCause(electFailures(cause))
    const failure = Cause.failureOption(cause)
    return Option.isSome(failure) ? f(failure.value) : Effect.failCause(cause as Cause.Cause<never>)
  })

// what `catchAll` fails with when the cause holds a defect: its failures as defects too
const electFailures = <E>(cause: Cause.Cause<E>): Cause.Cause<never> =>
  Cause.match(cause, {
    onEmpty: Cause.empty,
    onFail: (error) => Cause.die(error),
    onDie: (defect) => Cause.die(defect),
    onInterrupt: (fiberId) => Cause.interrupt(fiberId),
    onSequential: (left, right) => Cause.sequential(left, right),
    onParallel: (left, right) => Cause.parallel(left, right)
  })

const onAttemptFailure = (
  failure: HttpFailure.HttpFailure,
  key: string,
  retry: policyOptions.ResolvedRetry,
  shared: Shared
): Effect.Effect<never, HttpFailure.HttpFailure> => {
  if (!retry.respectRetryAfter) return Effect.fail(failure)
  if (
    (failure._tag === "RateLimited" || (failure._tag === "ServerError" && failure.status === 503)) &&
    retry.retryAfterStatuses.has(failure.status)
  ) {
    const wait = failure.retryAfter
    if (Option.isSome(wait) && Duration.toMillis(wait.value) > 0) {
      shared.anyPause = true
      const waitMillis = Duration.toMillis(wait.value)
      const keptMillis = Duration.toMillis(retry.maxRetryAfter)
      if (waitMillis <= keptMillis) {
        return Effect.zipRight(shared.pauses.pauseFor(key, wait.value), Effect.fail(failure))
      }
      // The pause kept is no longer than this call would have waited: a server's day-long `Retry-After` must not
      // make every call of the key fail at once for a day. Until then, calls are held to the server's own wait (and
      // so fail at once, as this one did); after it a call probes, and a server still asking for long pauses again.
      return Effect.clockWith((clock) => {
        const now = clock.unsafeCurrentTimeMillis()
        rememberLongWait(shared, key, now, now + waitMillis, now + keptMillis)
        return Effect.zipRight(shared.pauses.pauseUntil(key, now + keptMillis), Effect.fail(failure))
      })
    }
  }
  // A 4xx, or a 5xx other than 503, listed in `retryAfterStatuses` says "limited" too: its wait is read as a 429's
  // (a reset sent without a remaining count counts), once, with the Clock, when the failure arrives.
  if (
    (failure._tag === "ClientError" || (failure._tag === "ServerError" && failure.status !== 503)) &&
    retry.retryAfterStatuses.has(failure.status)
  ) {
    const headers = failure.headers as unknown as Headers.Headers
    if (!retryHeaders.mayNameWait(headers)) return Effect.fail(failure)
    return Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const hint = retryHeaders.limitedRetryAfter(headers, now)
      if (Option.isSome(hint)) classification.clientErrorHints.set(failure, hint.value)
      return Effect.fail(failure)
    })
  }
  return Effect.fail(failure)
}

// A later wait extends the one known while its pause lasts, as the pause itself is extended; once that pause is over the
// old wait says nothing any more. Over `maxLongWaits`, the waits whose pause is over go first, found in a heap of
// their `probeAt` (a pass over every wait held cost each new one 10,000 looks once the bound was full of waits still
// running), then the oldest. An entry of the heap whose wait has been replaced since is skipped when it comes up;
// there are never more of those than twice the waits held (then the heap is rebuilt).
/** @internal */
export const rememberLongWait = (shared: Shared, key: string, now: number, until: number, probeAt: number): void => {
  const waits = shared.longWaits ??= new Map()
  const ends = shared.longWaitEnds ??= []
  const known = waits.get(key)
  const wait = known !== undefined && known.probeAt > now
    ? { until: Math.max(until, known.until), probeAt: Math.max(probeAt, known.probeAt) }
    : { until, probeAt }
  waits.set(key, wait)
  // (a wait with no end, NaN, never ends: only the bound drops it)
  if (!Number.isNaN(wait.probeAt)) pushLongWait(ends, { key, wait })
  if (waits.size > maxLongWaits) {
    let visits = longWaitVisits.get(shared) ?? 0
    while (ends.length > 0 && ends[0]!.wait.probeAt <= now) {
      visits++
      const end = popLongWait(ends)
      if (waits.get(end.key) === end.wait) waits.delete(end.key)
    }
    // still too many: the oldest go, and their calls probe at the end of the pause (kept by the limiter)
    for (const k of waits.keys()) {
      visits++
      if (waits.size <= maxLongWaits) break
      waits.delete(k)
    }
    longWaitVisits.set(shared, visits)
  }
  if (ends.length > 2 * waits.size + 16) {
    ends.length = 0
    for (const [k, held] of waits) if (!Number.isNaN(held.probeAt)) pushLongWait(ends, { key: k, wait: held })
  }
}

// an attempt that passed the breaker and the bulkhead: started, then ended (with its timeout)
const observeAttempt: Stage = (next) => (call) =>
  call.observer === undefined
    ? next(call)
    : events.observeAttempt(next(call) as Effect.Effect<any, HttpFailure.HttpFailure, any>, call.observer)

// innermost: the attempt under its timeout, which covers sending, reading the body and decoding. The attempt span
// wraps it, so that an attempt that runs out of time ends as a `Timeout` failure rather than as interrupted.
const attemptTimeout = (resolved: policyOptions.Resolved): Step => {
  const countHeader = resolved.retryCountHeader
  if (countHeader === undefined) {
    return (call) =>
      call.traced
        ? Telemetry.attempt(call.request, (ready) => timedAttempt(ready, call.send, resolved, call.selfEnforcing))
        : timedAttempt(call.request, call.send, resolved, call.selfEnforcing)
  }
  return (call) => {
    // one count per call, which its retries and its hedged copies share: each attempt takes the next number when it
    // is sent, not when it is built
    let earlier = 0
    const counted = (ready: HttpClientRequest.HttpClientRequest) =>
      Effect.suspend(() => {
        const count = String(earlier++)
        const request = ready.headers[countHeader] === undefined
          ? HttpClientRequest.setHeader(ready, countHeader, count)
          : ready
        return timedAttempt(request, call.send, resolved, call.selfEnforcing)
      })
    return call.traced ? Telemetry.attempt(call.request, counted) : counted(call.request)
  }
}

// -----------------------------------------------------------------------------
// the attempt under its time limit
// -----------------------------------------------------------------------------

const disconnectOnTimeout: Deadline.LimitOptions = { disconnect: true }

// The attempt's limit is its timeout, or the time left before the deadline when that is shorter. A `send` that honours
// the limit itself (an `Attempt`) is trusted with it; anything else races one timer.
const timedAttempt = <A, R>(
  request: HttpClientRequest.HttpClientRequest,
  send: (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<A, HttpFailure.HttpFailure, R>,
  resolved: policyOptions.Resolved,
  selfEnforcing: boolean
): Effect.Effect<A, HttpFailure.HttpFailure, R> => {
  const attemptTimeout = resolved.attemptTimeout ?? Duration.infinity
  // The deadline and the attempt timeout are established around the retries: an Attempt applies both itself
  const limited = selfEnforcing ?
    send :
    (ready: HttpClientRequest.HttpClientRequest) =>
      attempt.withSendProgress((tracked, unsent) =>
        Effect.catchIf(
          // disconnected: Timeout on time whatever `send` does when interrupted; it is interrupted in the background
          Deadline.attemptTimeout(tracked(send(ready)), attemptTimeout, disconnectOnTimeout),
          attempt.isDeadlineExceeded,
          (error) => Effect.fail(attempt.deadlineTimeout(error, request, unsent()))
        )
      )
  const headerName = resolved.deadlineHeader
  if (headerName === undefined) return limited(request)
  return Effect.flatMap(FiberRef.get(Deadline.currentLimit), (current) =>
    Effect.clockWith((clock) => {
      const limit = Math.min(current.at - clock.unsafeCurrentTimeMillis(), Duration.toMillis(attemptTimeout))
      return limited(
        Number.isFinite(limit) && limit > 0
          ? HttpClientRequest.setHeader(request, headerName, String(Math.floor(limit)))
          : request
      )
    }))
}

const isQueueTimeout = (failure: classification.Guarded): failure is Bulkhead.BulkheadRejected =>
  failure._tag === "BulkheadRejected" && failure.reason === "Timeout"

const queueTimedOut = (
  rejection: Bulkhead.BulkheadRejected,
  request: HttpClientRequest.HttpClientRequest
): Effect.Effect<never, Bulkhead.BulkheadRejected | HttpFailure.Timeout> =>
  Effect.withFiberRuntime((fiber) => {
    const limit = fiber.getFiberRef(Deadline.currentLimit)
    const now = Context.get(fiber.currentDefaultServices, Clock.Clock).unsafeCurrentTimeMillis()
    // still queued for the bulkhead: the request was never sent
    return now >= limit.at
      ? Effect.fail(
        attempt.deadlineTimeout(
          new Deadline.DeadlineExceeded({ reason: limit.reason, timeout: limit.timeout }),
          request,
          false
        )
      )
      : Effect.fail(rejection)
  })

// -----------------------------------------------------------------------------
// the state of a profile
// -----------------------------------------------------------------------------

/** @internal */
export interface Profile {
  readonly resolved: policyOptions.Resolved
  readonly breakers: CircuitBreaker.RegistryService | undefined
  readonly limiter: RateLimit.RateLimiter | undefined
  /** Per key, oldest first (see {@link keyedFor}). */
  readonly bulkheads: Map<string, BulkheadSlot>
  /** The `BulkheadStore` in context when the policy was made: its bulkheads' limits hold for the fleet. */
  readonly bulkheadStore: BulkheadStore.BulkheadStore.Service | undefined
  /** Per key, oldest first (see {@link keyedFor}); empty unless `concurrencyLimit` is on. */
  readonly limits: Map<string, LimitSlot>
  /** Per key, oldest first (see {@link keyedFor}); empty unless `adaptiveThrottle` is on. */
  readonly throttles: Map<string, ThrottleSlot>
}

// The retry delays: the exponential backoff, or the user's schedule or delay function under the same limits.
const scheduleFor = (retry: policyOptions.ResolvedRetry): Schedule.Schedule<unknown, policyOptions.RetryFailure> => {
  const limits = { maxDelay: retry.maxDelay, maxAttempts: retry.maxAttempts, maxElapsed: retry.maxElapsed }
  if (retry.schedule !== undefined) return Backoff.bounded(retry.schedule, limits)
  if (retry.delay !== undefined) return Backoff.bounded(Backoff.fromDelay(retry.delay), limits)
  return Backoff.exponential({
    baseDelay: retry.baseDelay,
    maxDelay: retry.maxDelay,
    jitter: retry.jitter,
    maxAttempts: retry.maxAttempts,
    maxElapsed: retry.maxElapsed
  })
}

const breakerOptions = (breaker: policyOptions.ResolvedBreaker): CircuitBreaker.Options => ({
  failureRateThreshold: breaker.failureRateThreshold,
  minimumThroughput: breaker.minimumThroughput,
  slidingWindow: breaker.slidingWindow,
  breakDuration: breaker.breakDuration,
  consecutiveFailures: breaker.consecutiveFailures,
  failureCountThreshold: breaker.failureCountThreshold,
  halfOpenMaxProbes: breaker.halfOpenMaxProbes,
  successThreshold: breaker.successThreshold,
  maxProbeDuration: breaker.maxProbeDuration,
  ...breakerClassification(breaker.countsAsFailure)
})

const breakerClassification = (
  rule: P.CountsAsFailure | undefined
): Pick<CircuitBreaker.Options, "isFailure" | "isIgnored"> => {
  const isFailure = classification.breakerCounts(rule)
  // what the rule counts counts; of the rest, what says nothing about the upstream is ignored, and any other
  // failure is an answer from a live upstream (a success for the breaker, which closes a half-open one)
  return { isFailure, isIgnored: (error) => !isFailure(error) && classification.saysNothingAboutUpstream(error) }
}

/** @internal */
export const makeProfile = (
  resolved: policyOptions.Resolved,
  store: Context.Context<RateLimit.RateLimiterStore>
): Effect.Effect<Profile, never, Scope.Scope> =>
  Effect.gen(function*() {
    // a CircuitBreakerStore in context shares the breakers' transitions with the fleet (see CircuitBreakerStore)
    const breakerStore = yield* Effect.serviceOption(CircuitBreakerStore.CircuitBreakerStore)
    const breakers = resolved.circuitBreaker === undefined
      ? undefined
      : Option.isSome(breakerStore)
      ? yield* CircuitBreakerStore.makeRegistry({ breaker: breakerOptions(resolved.circuitBreaker) }).pipe(
        Effect.provideService(CircuitBreakerStore.CircuitBreakerStore, breakerStore.value)
      )
      : yield* CircuitBreaker.makeRegistry({ breaker: breakerOptions(resolved.circuitBreaker) })
    const limiter = resolved.rateLimit === undefined
      ? undefined
      : yield* Effect.provide(RateLimit.make(resolved.rateLimit), store)
    // a BulkheadStore in context shares the bulkheads' permits with the fleet (see BulkheadStore)
    const bulkheadStore = resolved.bulkhead === undefined
      ? undefined
      : Option.getOrUndefined(yield* Effect.serviceOption(BulkheadStore.BulkheadStore))
    return {
      resolved,
      breakers,
      limiter,
      bulkheads: new Map(),
      bulkheadStore,
      limits: new Map(),
      throttles: new Map()
    }
  })
