import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as RateLimit from "@sturdy/policy/RateLimit"
import * as RetryBudget from "@sturdy/policy/RetryBudget"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as Attempt from "../Attempt.js"
import type * as HttpFailure from "../HttpFailure.js"
import type * as P from "../Policy.js"
import * as Telemetry from "../Telemetry.js"
import * as attempt from "./attempt.js"
import * as idempotency from "./idempotency.js"
import * as observe from "./observe.js"
import * as events from "./policyEvents.js"
import * as policyOptions from "./policyOptions.js"
import * as stages from "./policyStages.js"
import * as telemetryInternal from "./telemetry.js"
import * as upstream from "./upstream.js"

/** @internal */
export const tag = Context.GenericTag<P.Policy>("@sturdy/http/Policy")

/**
 * Marks a call whose `send` bounds every wait of its own by `Deadline.currentLimit`, as `Attempt.send` and
 * `Attempt.json` do (they leave it to a transport that enforces deadlines, or arm a timer): the pipeline then only
 * sets each attempt's limit and races no timer. `Policy.send`, `Policy.json` and `SturdyClient` set it; it is not
 * part of the public `RunOptions` (a symbol of this module's own: only @sturdy/http's sends can be marked).
 * @internal
 */
export const honoursDeadline: unique symbol = Symbol("@sturdy/http/Policy/sendHonoursDeadline")

/** @internal */
export interface InternalRunOptions extends P.RunOptions {
  readonly [honoursDeadline]?: boolean | undefined
}

/** How a call sends its attempts, given whether they record their statuses for the call's span. */
type SendFor<A, R> = (recording: boolean) => stages.Send<A, R>

/** A call started from a step that already has the fiber (`Policy.send`, `Policy.json`, `SturdyClient`). */
interface RunIn {
  <A, R>(
    fiber: Fiber.RuntimeFiber<unknown, unknown>,
    request: HttpClientRequest.HttpClientRequest,
    sendFor: SendFor<A, R>,
    options: InternalRunOptions
  ): Effect.Effect<A, P.Failure, R>
}

// Keyed by a policy's `run`: a policy that is ours, or a copy that keeps our `run`, starts its calls in one step; a
// policy whose `run` is someone else's (a decorator, a test double) is asked through its `run`.
const runsInFiber = new WeakMap<P.Policy["run"], RunIn>()

// Runs one call through its stack (with an Idempotency-Key first, when the policy adds one).
const start = <A, R>(
  stack: stages.Stack,
  request: HttpClientRequest.HttpClientRequest,
  key: string,
  send: stages.Send<A, R>,
  hook: events.Hook | undefined,
  traced: boolean,
  selfEnforcing: boolean,
  keyed: boolean
): Effect.Effect<A, P.Failure, R> => {
  const observer: events.Observer | undefined = hook === undefined ? undefined : { key, emit: hook, attempt: 1 }
  const repeatable = idempotency.isRepeatableBody(request.body)
  if (!keyed) {
    const idempotent = idempotency.isIdempotent(request)
    return stack.run({ request, key, idempotent, repeatable, send, observer, traced, selfEnforcing })
  }
  return Effect.flatMap(idempotency.ensureKey(request), (withKey) =>
    stack.run({
      request: withKey,
      key,
      idempotent: idempotency.isIdempotent(withKey),
      repeatable,
      send,
      observer,
      traced,
      selfEnforcing
    }))
}

/** @internal */
export const make = (input: P.Options = {}): Effect.Effect<P.Policy, policyOptions.InvalidPolicy, Scope.Scope> =>
  Effect.gen(function*() {
    const [options, compiled] = yield* Effect.try({
      try: () => {
        const options = policyOptions.snapshot(input)
        return [options, policyOptions.compile(options)] as const
      },
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
    const shared: stages.Shared = { pauses, budget, anyPause: false }

    const baseProfile = yield* stages.makeProfile(compiled.base, store)
    const hostProfiles = new Map<string, stages.Profile>()
    for (const [host, resolved] of compiled.hosts) hostProfiles.set(host, yield* stages.makeProfile(resolved, store))

    const onEvent: events.Hook | undefined = options.onEvent
    const telemetry = options.telemetry
    for (const profile of [baseProfile, ...hostProfiles.values()]) {
      if (profile.breakers === undefined) continue
      // Tracking logs every transition from a fiber of its own, whatever the calls' tracer: only when asked for
      if (telemetry === true) yield* Telemetry.trackBreaker(profile.breakers)
      if (onEvent !== undefined) yield* events.observeBreakers(profile.breakers, onEvent)
    }

    const stacks = new Map<string, stages.Stack>()
    const onlyBase = hostProfiles.size === 0 && compiled.endpoints.length === 0
    let baseStack: stages.Stack | undefined
    // the stack of a call: its profile (host) and endpoint, its stages built the first time they are needed
    const stackFor = (target: upstream.Target, method: string): stages.Stack => {
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
        stack = stages.makeStack(resolved, profile, shared)
        stacks.set(cacheKey, stack)
        if (onlyBase) baseStack = stack
      }
      return stack
    }

    // One call: everything that depends only on the request is read here, in the step that starts it.
    const begin = <A, R>(
      input: HttpClientRequest.HttpClientRequest,
      send: stages.Send<A, R> | SendFor<A, R>,
      runOptions: P.RunOptions | undefined,
      fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined
    ): Effect.Effect<A, P.Failure, R> => {
      // a URL fragment is the client's alone: no attempt, span or failure of the call carries it
      const request = attempt.withoutFragment(input)
      const target = upstream.parseTarget(request.url)
      const key = options.upstreamKey === undefined ? target.origin : options.upstreamKey(request)
      const stack = stackFor(target, request.method)
      const retry = stack.resolved.retry
      const hook = runOptions?.onEvent === undefined ? onEvent : events.bothHooks(onEvent, runOptions.onEvent)
      const keyed = retry !== undefined && retry.idempotencyKey && !idempotency.isIdempotent(request)
      const selfEnforcing = runOptions !== undefined && (runOptions as InternalRunOptions)[honoursDeadline] === true
      const traced = telemetry === undefined ? observe.isTracing(fiber!) : telemetry
      // an attempt of a traced call (or of a call inside one) records its status for the call's span
      const ready = fiber === undefined
        ? send as stages.Send<A, R>
        : (send as SendFor<A, R>)(traced || fiber.getFiberRef(telemetryInternal.currentCall) !== undefined)
      return start(stack, request, key, ready, hook, traced, selfEnforcing, keyed)
    }

    const run = <A, R>(
      input: HttpClientRequest.HttpClientRequest,
      send: stages.Send<A, R>,
      runOptions?: P.RunOptions
    ): Effect.Effect<A, P.Failure, R> =>
      telemetry === undefined
        ? Effect.withFiberRuntime((fiber) => begin(input, (_recording: boolean) => send, runOptions, fiber))
        : begin(input, send, runOptions, undefined)

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
        concurrencyLimit: resolved.concurrencyLimit !== undefined,
        adaptiveThrottle: resolved.adaptiveThrottle !== undefined,
        rateLimit: resolved.rateLimit !== undefined,
        // as the hedging stage decides: a request safe to repeat (with the key the retry stage would add) and a body
        // that can be sent twice
        hedging: resolved.hedging !== undefined &&
          (idempotency.isIdempotent(request) || (resolved.retry?.idempotencyKey ?? false)) &&
          idempotency.isRepeatableBody(request.body),
        deadlineHeader: Option.fromNullable(resolved.deadlineHeader),
        retryCountHeader: Option.fromNullable(resolved.retryCountHeader)
      }
    }

    runsInFiber.set(run, (fiber, input, sendFor, runOptions) => begin(input, sendFor, runOptions, fiber))
    const policy: P.Policy = {
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
        }),
      concurrencyLimit: (request: HttpClientRequest.HttpClientRequest) =>
        Effect.suspend(() => {
          const target = upstream.parseTarget(request.url)
          const { profile, resolved } = stackFor(target, request.method)
          const key = options.upstreamKey === undefined ? target.origin : options.upstreamKey(request)
          if (resolved.concurrencyLimit === undefined) return Effect.succeed(Option.none())
          const known = stages.usedSlot(profile.limits, key)
          return known === undefined
            ? Effect.map(stages.limitFor(profile.limits, resolved.concurrencyLimit)(key), Option.some)
            : Effect.succeed(Option.some(known))
        }),
      adaptiveThrottle: (request: HttpClientRequest.HttpClientRequest) =>
        Effect.suspend(() => {
          const target = upstream.parseTarget(request.url)
          const { profile, resolved } = stackFor(target, request.method)
          const key = options.upstreamKey === undefined ? target.origin : options.upstreamKey(request)
          if (resolved.adaptiveThrottle === undefined) return Effect.succeed(Option.none())
          const known = stages.usedSlot(profile.throttles, key)
          return known === undefined
            ? Effect.map(stages.throttleFor(profile.throttles, resolved.adaptiveThrottle)(key), Option.some)
            : Effect.succeed(Option.some(known))
        })
    }
    return policy
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
const attemptRunOptions: InternalRunOptions = { [honoursDeadline]: true }

// A client that records each response's status for the call's spans, built once per client.
const statusRecording = new WeakMap<object, Attempt.Client<any>>()

// The client an attempt uses: the one that records statuses while the call is traced, so that a call whose result
// is a decoded body still reports the status it got.
const attemptClient = <R>(client: Attempt.Client<R>, recording: boolean): Attempt.Client<R> => {
  if (!recording) return client
  let recorder: Attempt.Client<R> | undefined = statusRecording.get(client)
  if (recorder === undefined) {
    recorder = Telemetry.client(client)
    statusRecording.set(client, recorder)
  }
  return recorder
}

/** What one attempt of a call does with the client it is given (an `Attempt`). */
type UseClient<A, R, RC> = (
  client: Attempt.Client<RC>,
  request: HttpClientRequest.HttpClientRequest
) => Effect.Effect<A, HttpFailure.HttpFailure, R>

// One step starts the call: it finds the policy, and whether the call is traced, in the fiber it runs in.
const runAttemptsIn = <A, R, RC, RP>(
  policy: P.Policy | undefined,
  client: Attempt.Client<RC>,
  request: HttpClientRequest.HttpClientRequest,
  use: UseClient<A, R, RC>,
  runOptions: InternalRunOptions
): Effect.Effect<A, P.Failure, R | RP> =>
  Effect.withFiberRuntime((fiber) => {
    const found = policy ?? Context.unsafeGet(fiber.currentContext, tag)
    const sendFor: SendFor<A, R> = (recording) => {
      const chosen = attemptClient(client, recording)
      return (ready) => use(chosen, ready)
    }
    const inFiber = runsInFiber.get(found.run)
    if (inFiber !== undefined) return inFiber(fiber, request, sendFor, runOptions)
    // a Policy whose `run` is not ours: its own `run`, the status recorded as ours would
    return found.run(
      request,
      (ready) =>
        Effect.withFiberRuntime((attemptFiber) =>
          sendFor(attemptFiber.getFiberRef(telemetryInternal.currentCall) !== undefined)(ready)
        ),
      runOptions
    )
  })

/** @internal */
export const send = <R = never>(
  client: Attempt.Client<R>,
  request: HttpClientRequest.HttpClientRequest,
  options?: Attempt.Options
): Effect.Effect<Attempt.Received, P.Failure, R | P.Policy> =>
  runAttemptsIn(undefined, client, request, (client, ready) => attempt.send(client, ready, options), attemptRunOptions)

/** @internal */
export const json = <A, I, R, RC = never>(
  client: Attempt.Client<RC>,
  request: HttpClientRequest.HttpClientRequest,
  schema: Schema.Schema<A, I, R>,
  options?: Attempt.Options
): Effect.Effect<A, P.Failure, R | RC | P.Policy> =>
  runAttemptsIn(
    undefined,
    client,
    request,
    (client, ready) => attempt.json(client, ready, schema, options),
    attemptRunOptions
  )

/**
 * One call of a client through `policy`: each attempt runs `use` on `client` (the status-recording one while
 * traced), which must be an `Attempt` (it honours the attempt's limit itself).
 * @internal
 */
export const runAttempts = <A, R, RC>(
  policy: P.Policy,
  client: Attempt.Client<RC>,
  request: HttpClientRequest.HttpClientRequest,
  use: UseClient<A, R, RC>,
  onEvent: P.RunOptions["onEvent"]
): Effect.Effect<A, P.Failure, R> =>
  runAttemptsIn(
    policy,
    client,
    request,
    use,
    onEvent === undefined ? attemptRunOptions : { onEvent, [honoursDeadline]: true }
  )

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
