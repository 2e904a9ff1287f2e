import type * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpMethod from "@effect/platform/HttpMethod"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Bulkhead from "@sturdy/policy/Bulkhead"
import * as CircuitBreaker from "@sturdy/policy/CircuitBreaker"
import * as CircuitBreakerStore from "@sturdy/policy/CircuitBreakerStore"
import * as Deadline from "@sturdy/policy/Deadline"
import * as Hedge from "@sturdy/policy/Hedge"
import * as RateLimit from "@sturdy/policy/RateLimit"
import * as Retry from "@sturdy/policy/Retry"
import * as RetryBudget from "@sturdy/policy/RetryBudget"
import * as Clock from "effect/Clock"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as Attempt from "../Attempt.js"
import * as HttpFailure from "../HttpFailure.js"
import type * as P from "../Policy.js"
import * as RetryHeaders from "../RetryHeaders.js"
import type * as SturdyClient from "../SturdyClient.js"
import * as Telemetry from "../Telemetry.js"
import * as attempt from "./attempt.js"
import * as idempotency from "./idempotency.js"
import * as classification from "./policyClassification.js"
import * as events from "./policyEvents.js"
import * as policyOptions from "./policyOptions.js"
import * as sturdyClient from "./sturdyClient.js"
import * as telemetryInternal from "./telemetry.js"
import * as upstream from "./upstream.js"

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
  const limited = selfEnforcing ? send : (ready: HttpClientRequest.HttpClientRequest) =>
    Effect.catchIf(
      // disconnected: Timeout on time whatever `send` does when interrupted; it is interrupted in the background
      Deadline.attemptTimeout(send(ready), attemptTimeout, disconnectOnTimeout),
      attempt.isDeadlineExceeded,
      (error) => Effect.fail(attempt.deadlineTimeout(error, request))
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
  failure._tag === "BulkheadRejected" && failure.reason === "timeout"

const queueTimedOut = (
  rejection: Bulkhead.BulkheadRejected,
  request: HttpClientRequest.HttpClientRequest
): Effect.Effect<never, Bulkhead.BulkheadRejected | HttpFailure.Timeout> =>
  Effect.withFiberRuntime((fiber) => {
    const limit = fiber.getFiberRef(Deadline.currentLimit)
    const now = Context.get(fiber.currentDefaultServices, Clock.Clock).unsafeCurrentTimeMillis()
    return now >= limit.at
      ? Effect.fail(
        attempt.deadlineTimeout(
          new Deadline.DeadlineExceeded({ reason: limit.reason, timeout: limit.timeout }),
          request
        )
      )
      : Effect.fail(rejection)
  })

// -----------------------------------------------------------------------------
// the pipeline
// -----------------------------------------------------------------------------

/** @internal */
export const tag = Context.GenericTag<P.Policy>("@sturdy/http/Policy")

interface Profile {
  readonly resolved: policyOptions.Resolved
  readonly breakers: CircuitBreaker.RegistryService | undefined
  readonly limiter: RateLimit.RateLimiter | undefined
  readonly bulkheads: Map<string, Bulkhead.Bulkhead>
}

interface Stack {
  readonly resolved: policyOptions.Resolved
  readonly profile: Profile
  readonly schedule: Schedule.Schedule<unknown, policyOptions.RetryFailure> | undefined
  readonly retryOn: (failure: HttpFailure.HttpFailure, attempt: number) => boolean
  readonly delayHint: (failure: classification.Guarded) => Option.Option<Duration.Duration>
}

// The retry delays: the exponential backoff, or the user's schedule or delay function under the same limits.
const scheduleFor = (retry: policyOptions.ResolvedRetry): Schedule.Schedule<unknown, policyOptions.RetryFailure> => {
  const limits = { cap: retry.maxDelay, maxAttempts: retry.maxAttempts, maxElapsed: retry.maxElapsed }
  if (retry.schedule !== undefined) return Backoff.bounded(retry.schedule, limits)
  if (retry.delay !== undefined) return Backoff.bounded(Backoff.fromDelay(retry.delay), limits)
  return Backoff.exponential({
    base: retry.baseDelay,
    cap: retry.maxDelay,
    jitter: retry.jitter,
    maxAttempts: retry.maxAttempts,
    maxElapsed: retry.maxElapsed
  })
}

const bulkheadCapacity = 10_000

const breakerOptions = (breaker: policyOptions.ResolvedBreaker): CircuitBreaker.Options => ({
  failureRateThreshold: breaker.failureRateThreshold,
  minimumThroughput: breaker.minimumThroughput,
  slidingWindow: breaker.slidingWindow,
  breakDuration: Schedule.isSchedule(breaker.breakDuration)
    ? breaker.breakDuration
    : Schedule.spaced(breaker.breakDuration),
  consecutiveFailures: breaker.consecutiveFailures,
  halfOpenMaxProbes: breaker.halfOpenMaxProbes,
  successThreshold: breaker.successThreshold,
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

const makeProfile = (
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
    return { resolved, breakers, limiter, bulkheads: new Map() }
  })

/** @internal */
export const make = (options: P.Options = {}): Effect.Effect<P.Policy, policyOptions.InvalidPolicy, Scope.Scope> =>
  Effect.gen(function*() {
    const compiled = yield* Effect.try({
      try: () => policyOptions.compile(options),
      catch: (error) =>
        error instanceof policyOptions.InvalidPolicy
          ? error
          : policyOptions.invalid([{ field: "?", detail: String(error) }])
    })
    const budget = Option.getOrUndefined(yield* Effect.serviceOption(RetryBudget.RetryBudget)) ??
      (yield* RetryBudget.make())
    const store = Option.match(yield* Effect.serviceOption(RateLimit.RateLimiterStore), {
      onNone: () => undefined,
      onSome: (store) => Context.make(RateLimit.RateLimiterStore, store)
    }) ?? (yield* Layer.build(RateLimit.layerStoreMemory))
    // every caller of a key that was told to wait (429/503 with Retry-After) waits: RateLimit's pauses
    const pauses = yield* Effect.provide(RateLimit.make({ limit: 1, window: "1 second" }), store)
    let anyPause = false

    const baseProfile = yield* makeProfile(compiled.base, store)
    const hostProfiles = new Map<string, Profile>()
    for (const [host, resolved] of compiled.hosts) hostProfiles.set(host, yield* makeProfile(resolved, store))

    const onEvent: events.Hook | undefined = options.onEvent
    const telemetry = options.telemetry
    for (const profile of [baseProfile, ...hostProfiles.values()]) {
      if (profile.breakers === undefined) continue
      // Tracking logs every transition from a fiber of its own, whatever the calls' tracer: only when asked for
      if (telemetry === true) yield* Telemetry.trackBreaker(profile.breakers)
      if (onEvent !== undefined) yield* events.observeBreakers(profile.breakers, onEvent)
    }

    const stacks = new Map<string, Stack>()
    const onlyBase = hostProfiles.size === 0 && compiled.endpoints.length === 0
    let baseStack: Stack | undefined
    const stackFor = (target: upstream.Target, method: string): Stack => {
      // without host or endpoint overrides every call shares the base stack
      if (onlyBase && baseStack !== undefined) return baseStack
      const profileName = hostProfiles.has(target.hostPort)
        ? target.hostPort
        : hostProfiles.has(target.host)
        ? target.host
        : ""
      const profile = profileName === "" ? baseProfile : hostProfiles.get(profileName)!
      let endpoint = -1
      for (let i = 0; i < compiled.endpoints.length; i++) {
        const matcher = compiled.endpoints[i]
        if ((matcher.method === undefined || matcher.method === method) && matcher.path.test(target.path)) {
          endpoint = i
          break
        }
      }
      const cacheKey = `${profileName}\u0000${endpoint}`
      let stack = stacks.get(cacheKey)
      if (stack === undefined) {
        const resolved = endpoint === -1
          ? profile.resolved
          : policyOptions.resolveLayer(profile.resolved, compiled.endpoints[endpoint].options, "")
        const retry = resolved.retry
        stack = {
          resolved,
          profile,
          schedule: retry === undefined ? undefined : scheduleFor(retry),
          retryOn: classification.retryOnWith(retry?.retryOn, retry?.statuses),
          delayHint: classification.delayHintWith(retry ?? policyOptions.packageDefaults.retry!)
        }
        stacks.set(cacheKey, stack)
        if (onlyBase) baseStack = stack
      }
      return stack
    }

    const bulkheadFor = (profile: Profile, options: policyOptions.ResolvedBulkhead, key: string): Bulkhead.Bulkhead => {
      let bulkhead = profile.bulkheads.get(key)
      if (bulkhead === undefined) {
        bulkhead = Effect.runSync(Bulkhead.make({
          key,
          maxConcurrent: options.maxConcurrent,
          maxQueued: options.maxQueued,
          maxWait: options.maxWait
        }))
        profile.bulkheads.set(key, bulkhead)
        if (profile.bulkheads.size > bulkheadCapacity) {
          const oldest = profile.bulkheads.keys().next()
          if (oldest.done !== true) profile.bulkheads.delete(oldest.value)
        }
      }
      return bulkhead
    }

    const onAttemptFailure = (
      failure: HttpFailure.HttpFailure,
      key: string,
      retry: policyOptions.ResolvedRetry
    ): Effect.Effect<never, HttpFailure.HttpFailure> => {
      if (!retry.respectRetryAfter) return Effect.fail(failure)
      if (
        (failure._tag === "RateLimited" || (failure._tag === "ServerError" && failure.status === 503)) &&
        retry.retryAfterStatuses.has(failure.status)
      ) {
        const wait = failure.retryAfter
        if (Option.isSome(wait) && Duration.toMillis(wait.value) > 0) {
          anyPause = true
          return Effect.zipRight(pauses.pauseFor(key, wait.value), Effect.fail(failure))
        }
      }
      if (failure._tag === "ClientError" && retry.retryAfterStatuses.has(failure.status)) {
        const headers = failure.headers as unknown as Headers.Headers
        if (
          headers["retry-after"] === undefined && headers["ratelimit"] === undefined &&
          headers["ratelimit-remaining"] === undefined && headers["x-ratelimit-remaining"] === undefined
        ) return Effect.fail(failure)
        return Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const hint = RetryHeaders.retryAfter(headers, now)
          if (Option.isSome(hint)) classification.clientErrorHints.set(failure, hint.value)
          return Effect.fail(failure)
        })
      }
      return Effect.fail(failure)
    }

    const run = <A, R>(
      input: HttpClientRequest.HttpClientRequest,
      send: (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<A, HttpFailure.HttpFailure, R>,
      runOptions?: P.RunOptions
    ): Effect.Effect<A, P.Failure, R> => {
      // a URL fragment is the client's alone: no attempt, span or failure of the call carries it
      const request = attempt.withoutFragment(input)
      const target = upstream.parseTarget(request.url)
      const key = options.upstreamKey === undefined ? target.origin : options.upstreamKey(request)
      const stack = stackFor(target, request.method)
      const resolved = stack.resolved
      const retry = resolved.retry
      const hook = runOptions?.onEvent === undefined ? onEvent : events.bothHooks(onEvent, runOptions.onEvent)
      const keyed = retry !== undefined && retry.idempotencyKey && !idempotency.isIdempotent(request)
      const selfEnforcing = runOptions?.sendHonoursDeadline === true
      const start = (ready: HttpClientRequest.HttpClientRequest, traced: boolean): Effect.Effect<A, P.Failure, R> => {
        const observer: events.Observer | undefined = hook === undefined ? undefined : { key, emit: hook, attempt: 1 }
        return keyed
          ? Effect.flatMap(
            idempotency.ensureKey(ready),
            (withKey) => pipeline(withKey, key, stack, send, observer, traced, selfEnforcing)
          )
          : pipeline(ready, key, stack, send, observer, traced, selfEnforcing)
      }
      if (telemetry === false) return start(request, false)
      if (telemetry === true) return start(request, true)
      return Effect.withFiberRuntime((fiber) => start(request, events.isTracing(fiber)))
    }

    const pipeline = <A, R>(
      request: HttpClientRequest.HttpClientRequest,
      key: string,
      stack: Stack,
      send: (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<A, HttpFailure.HttpFailure, R>,
      observer: events.Observer | undefined,
      traced: boolean,
      selfEnforcing: boolean
    ): Effect.Effect<A, P.Failure, R> => {
      const resolved = stack.resolved
      const profile = stack.profile

      // attempt timeout, innermost: it covers sending, reading the body and decoding. The attempt span wraps it, so
      // that an attempt that runs out of time ends as a `Timeout` failure rather than as interrupted.
      let timed: Effect.Effect<A, HttpFailure.HttpFailure, R> = traced
        ? Telemetry.attempt(request, (ready) => timedAttempt(ready, send, resolved, selfEnforcing))
        : timedAttempt(request, send, resolved, selfEnforcing)
      if (observer !== undefined) timed = events.observeAttempt(timed, observer)
      const hintRules = resolved.retry ?? policyOptions.packageDefaults.retry!
      let guarded: Effect.Effect<A, classification.Guarded, R> = Effect.catchAll(
        timed,
        (failure) => onAttemptFailure(failure, key, hintRules)
      )

      if (resolved.bulkhead !== undefined) {
        guarded = bulkheadFor(profile, resolved.bulkhead, key).run(guarded)
        // a call still queued when the deadline passes timed out: the HTTP taxonomy says so, not the bulkhead
        if (resolved.bulkhead.maxQueued > 0) {
          guarded = Effect.catchIf(guarded, isQueueTimeout, (rejection) => queueTimedOut(rejection, request))
        }
      }
      if (profile.breakers !== undefined) {
        guarded = profile.breakers.withBreaker(key)(guarded)
      }
      if (observer !== undefined && (resolved.bulkhead !== undefined || profile.breakers !== undefined)) {
        guarded = Effect.tapError(guarded, (failure) =>
          events.isAttemptRejection(failure)
            ? observer.emit({ _tag: "Rejected", key, attempt: observer.attempt, rejection: failure })
            : Effect.void)
      }

      const retry = resolved.retry
      const idempotent = idempotency.isIdempotent(request)
      const hedging = resolved.hedging
      if (hedging !== undefined && idempotent) {
        // with a budget, every hedge is a retry to pay for; the retry stage already deposited the call
        const onHedge = observer === undefined ? undefined : (event: Hedge.HedgeEvent) =>
          observer.emit({
            _tag: "HedgeStarted",
            key,
            attempt: observer.attempt,
            index: event.index,
            trigger: event.trigger,
            elapsed: event.elapsed
          })
        guarded = retry !== undefined && retry.budget
          ? Effect.provideService(
            Hedge.hedge(guarded, { ...hedging, budget: key, deposit: false, onHedge }),
            RetryBudget.RetryBudget,
            budget
          )
          : Hedge.hedge(guarded, { ...hedging, onHedge })
      }
      let retried: Effect.Effect<A, P.Failure, R> = guarded
      if (retry !== undefined) {
        const waitForProbe = resolved.circuitBreaker?.waitForProbe === true
        // `methods` is an allow-list combined (AND) with the failure's kind; `retryUnsent: false` never repeats a
        // request that is not safe to repeat, even when the failure proves it was never sent
        const methodAllowed = retry.methods === undefined || retry.methods.has(request.method.toUpperCase())
        const retryUnsent = retry.retryUnsent
        const retryable = (failure: classification.Guarded, attempt: number): boolean => {
          if (!methodAllowed) return false
          // an open breaker already knows the answer: the caller gets it at once, unless asked to wait for the probe
          if (failure._tag === "CircuitOpen") return waitForProbe
          if (failure._tag === "BulkheadRejected") return false
          return stack.retryOn(failure, attempt) &&
            (idempotent || (retryUnsent && !HttpFailure.mayHaveReachedServer(failure)))
        }
        const delayHint = stack.delayHint
        const onAttempt = observer === undefined
          ? traced ? Telemetry.onRetry : undefined
          : (decision: Retry.Attempt<classification.Guarded>): Effect.Effect<void> => {
            if (decision.retrying) observer.attempt = decision.attempt
            const reported = observer.emit({
              _tag: "RetryDecision",
              key,
              attempt: decision.attempt,
              delay: decision.delay,
              reason: decision.reason,
              retrying: decision.retrying,
              failure: decision.failure
            })
            return traced ? Effect.zipRight(Telemetry.onRetry(decision), reported) : reported
          }
        // one literal of one shape per call: a spread here cost more than the rest of the pipeline's set-up
        retried = retry.budget
          ? Retry.retry(guarded, {
            schedule: stack.schedule!,
            while: retryable,
            delayHint,
            maxHintedDelay: retry.maxRetryAfter,
            hintJitter: retry.retryAfterJitter,
            finalFailure: classification.withAttempts,
            onAttempt,
            budget: key,
            budgetService: budget
          })
          : Retry.retry(guarded, {
            schedule: stack.schedule!,
            while: retryable,
            delayHint,
            maxHintedDelay: retry.maxRetryAfter,
            hintJitter: retry.retryAfterJitter,
            finalFailure: classification.withAttempts,
            onAttempt
          })
      }

      // No timer for the deadline: each wait inside bounds itself by it. Retry sleeps never pass it, a bulkhead queue
      // never waits past it, and each attempt ends by the attempt timeout or the deadline, whichever comes first:
      // enforced by the transport when it can, by one timer otherwise.
      const total = resolved.totalTimeout
      const bounded: Effect.Effect<A, P.Failure, R> = total === undefined && resolved.attemptTimeout === undefined
        ? retried
        : Deadline.establish(retried, total ?? Duration.infinity, { attemptTimeout: resolved.attemptTimeout })

      // outermost: the client-side rate limit, and the pause a server asked for on this key
      const limiter = profile.limiter
      const limited: Effect.Effect<A, P.Failure, R> = limiter === undefined ? bounded : limiter.run(key)(bounded)
      const paused = anyPause ? pausedThen(limited, key, resolved) : limited
      const observed = observer === undefined ? paused : Effect.tapError(paused, (failure) => {
        switch (failure._tag) {
          case "RateLimitExceeded":
          case "RateLimitStoreError":
            return observer.emit({ _tag: "Rejected", key, attempt: observer.attempt, rejection: failure })
          case "RetryBudgetExhausted":
            return observer.emit({ _tag: "Rejected", key, attempt: failure.attempts + 1, rejection: failure })
          default:
            return Effect.void
        }
      })
      return traced ? Telemetry.logicalCall(observed, request, { upstream: key }) : observed
    }

    // the pause a server asked for on this key: wait it out when it fits, fail at once otherwise
    const pausedThen = <A, R>(
      limited: Effect.Effect<A, P.Failure, R>,
      key: string,
      resolved: policyOptions.Resolved
    ): Effect.Effect<A, P.Failure, R> => {
      const retry = resolved.retry
      const total = resolved.totalTimeout
      return Effect.flatMap(pauses.pausedFor(key), (left) => {
        if (Duration.isZero(left)) return limited
        return Effect.flatMap(Deadline.remaining, (remaining) => {
          let patience: Duration.Duration = retry === undefined
            ? policyOptions.defaults.retry.maxRetryAfter
            : retry.maxRetryAfter
          if (total !== undefined) patience = Duration.min(patience, total)
          if (Option.isSome(remaining)) patience = Duration.min(patience, remaining.value)
          return Duration.greaterThan(left, patience)
            ? Effect.fail(new RateLimit.RateLimitExceeded({ key, reason: "paused", retryAfter: left }))
            : Effect.zipRight(Effect.sleep(left), limited)
        })
      })
    }

    const describe = (request: HttpClientRequest.HttpClientRequest): P.Describe => {
      const target = upstream.parseTarget(request.url)
      const resolved = stackFor(target, request.method).resolved
      return {
        key: options.upstreamKey === undefined ? target.origin : options.upstreamKey(request),
        totalTimeout: Option.fromNullable(resolved.totalTimeout),
        attemptTimeout: Option.fromNullable(resolved.attemptTimeout),
        maxAttempts: resolved.retry?.maxAttempts ?? 1,
        circuitBreaker: resolved.circuitBreaker !== undefined,
        bulkhead: resolved.bulkhead !== undefined,
        rateLimit: resolved.rateLimit !== undefined,
        deadlineHeader: Option.fromNullable(resolved.deadlineHeader)
      }
    }

    return {
      options,
      run,
      describe,
      budget,
      circuitBreaker: (request: HttpClientRequest.HttpClientRequest) =>
        Effect.suspend(() => {
          const target = upstream.parseTarget(request.url)
          const profile = stackFor(target, request.method).profile
          const key = options.upstreamKey === undefined ? target.origin : options.upstreamKey(request)
          return profile.breakers === undefined
            ? Effect.succeed(Option.none())
            : Effect.map(profile.breakers.get(key), Option.some)
        })
    } satisfies P.Policy
  })

/** @internal */
export const layer = (options: P.Options = {}): Layer.Layer<P.Policy, policyOptions.InvalidPolicy> =>
  Layer.scoped(tag, make(options))

/** @internal */
export const layerConfig = (
  config: Config.Config<P.Options>
): Layer.Layer<P.Policy, policyOptions.InvalidPolicy | ConfigError.ConfigError> =>
  Layer.scoped(tag, Effect.flatMap(config, make))

// -----------------------------------------------------------------------------
// attempts and the client
// -----------------------------------------------------------------------------

/** @internal */
export const run = <A, R>(
  request: HttpClientRequest.HttpClientRequest,
  send: (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<A, HttpFailure.HttpFailure, R>,
  options?: P.RunOptions
): Effect.Effect<A, P.Failure, R | P.Policy> => Effect.flatMap(tag, (policy) => policy.run(request, send, options))

// `send` runs an Attempt, which honours the limit the pipeline sets
const attemptRunOptions: P.RunOptions = { sendHonoursDeadline: true }

// A client that records each response's status for the call's spans, built once per client.
const statusRecording = new WeakMap<object, Attempt.Client<any>>()

// The client an attempt uses: the one that records statuses while the call is traced, so that a call whose result
// is a decoded body still reports the status it got.
const attemptClient = <R, A, E, RE>(
  client: Attempt.Client<R>,
  use: (client: Attempt.Client<R>) => Effect.Effect<A, E, RE>
): Effect.Effect<A, E, RE> =>
  Effect.withFiberRuntime((fiber) => {
    if (fiber.getFiberRef(telemetryInternal.currentCall) === undefined) return use(client)
    let recording: Attempt.Client<R> | undefined = statusRecording.get(client)
    if (recording === undefined) {
      recording = Telemetry.client(client)
      statusRecording.set(client, recording)
    }
    return use(recording)
  })

/** @internal */
export const send = <R = never>(
  client: Attempt.Client<R>,
  request: HttpClientRequest.HttpClientRequest,
  options?: Attempt.Options
): Effect.Effect<Attempt.Received, P.Failure, R | P.Policy> =>
  run(
    request,
    (ready) => attemptClient(client, (client) => attempt.send(client, ready, options)),
    attemptRunOptions
  )

/** @internal */
export const json = <A, I, R, RC = never>(
  client: Attempt.Client<RC>,
  request: HttpClientRequest.HttpClientRequest,
  schema: Schema.Schema<A, I, R>,
  options?: Attempt.Options
): Effect.Effect<A, P.Failure, R | RC | P.Policy> =>
  run(
    request,
    (ready) => attemptClient(client, (client) => attempt.json(client, ready, schema, options)),
    attemptRunOptions
  )

/** @internal */
export const clientTag = Context.GenericTag<P.Client>("@sturdy/http/Policy/Client")

/** @internal */
export const makeClientWith = (
  client: HttpClient.HttpClient,
  policy: P.Policy,
  options: SturdyClient.SturdyClient.Options = {}
): P.Client => {
  // records each response's status for the attempt and call spans, also when the body is decoded
  const api = sturdyClient.makeWith(Telemetry.client(client), options)
  const baseUrl = options.baseUrl === undefined ? undefined : String(options.baseUrl)
  const method = (verb: HttpMethod.HttpMethod | undefined): P.Method => {
    function call<A, I, R, B = unknown, BI = unknown, BR = never>(
      pathOrRequest: string | HttpClientRequest.HttpClientRequest,
      requestOptions: SturdyClient.SturdyClient.RequestOptions<B, BI, BR> & P.RunOptions & {
        readonly schema: Schema.Schema<A, I, R>
      }
    ): Effect.Effect<A, P.Failure, R | BR>
    function call<B = unknown, BI = unknown, BR = never>(
      pathOrRequest: string | HttpClientRequest.HttpClientRequest,
      requestOptions?: SturdyClient.SturdyClient.RequestOptions<B, BI, BR> & P.RunOptions
    ): Effect.Effect<Attempt.Received, P.Failure, BR>
    function call<A, I, R, B, BI, BR>(
      pathOrRequest: string | HttpClientRequest.HttpClientRequest,
      requestOptions: SturdyClient.SturdyClient.RequestOptions<B, BI, BR> & P.RunOptions & {
        readonly schema?: Schema.Schema<A, I, R> | undefined
      } = {}
    ): Effect.Effect<A | Attempt.Received, P.Failure, R | BR> {
      let request = sturdyClient.requestFor(verb, pathOrRequest)
      const url = sturdyClient.resolveUrl(baseUrl, request.url)
      if (url !== request.url) request = HttpClientRequest.setUrl(request, url)
      // the pipeline decides on the request as it will be sent: an Idempotency-Key in `headers` counts, and the
      // call's telemetry shows the query parameters (redacted) of `urlParams`
      if (requestOptions.headers !== undefined) request = HttpClientRequest.setHeaders(request, requestOptions.headers)
      if (requestOptions.urlParams !== undefined) {
        request = HttpClientRequest.appendUrlParams(request, requestOptions.urlParams)
      }
      const schema = requestOptions.schema
      const sendOptions = { ...requestOptions, headers: undefined, urlParams: undefined }
      return policy.run(
        request,
        (ready): Effect.Effect<A | Attempt.Received, HttpFailure.HttpFailure, R | BR> =>
          schema === undefined
            ? api.execute(ready, sendOptions)
            : api.execute(ready, { ...sendOptions, schema }),
        requestOptions.onEvent === undefined
          ? attemptRunOptions
          : { onEvent: requestOptions.onEvent, sendHonoursDeadline: true }
      )
    }
    return call
  }
  return {
    policy,
    ...sturdyClient.methodsOf(method)
  }
}

/** @internal */
export const makeClient = (
  options?: SturdyClient.SturdyClient.Options
): Effect.Effect<P.Client, never, HttpClient.HttpClient | P.Policy> =>
  Effect.zipWith(HttpClient.HttpClient, tag, (client, policy) => makeClientWith(client, policy, options))

/** @internal */
export const layerClient = (
  options?: SturdyClient.SturdyClient.Options
): Layer.Layer<P.Client, never, HttpClient.HttpClient | P.Policy> => Layer.effect(clientTag, makeClient(options))

// -----------------------------------------------------------------------------
// re-exports for the public module
// -----------------------------------------------------------------------------

/** @internal */
export {
  config,
  defaults,
  InvalidPolicy,
  maxAttemptsCap,
  maxTimerMillis,
  type Problem,
  validate
} from "./policyOptions.js"

/** @internal */
export { attemptsOf, countsAgainstUpstream, isRetryableByDefault } from "./policyClassification.js"

/** @internal */
export { upstreamKey } from "./upstream.js"
