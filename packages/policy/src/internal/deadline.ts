import type * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Equal from "effect/Equal"
import type * as Fiber from "effect/Fiber"
import type * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import * as FiberRefs from "effect/FiberRefs"
import { dual } from "effect/Function"
import { globalValue } from "effect/GlobalValue"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { internalsOf } from "./fiberInternals.js"
import { checkOptions } from "./options.js"
import { checkIsDuration, maxTimerMillis, shieldedFromCaller } from "./timer.js"

/** @internal */
export class DeadlineExceeded extends Schema.TaggedError<DeadlineExceeded>("@sturdy/policy/Deadline/DeadlineExceeded")(
  "DeadlineExceeded",
  {
    reason: Schema.Literal("Deadline", "Attempt"),
    timeout: Schema.DurationFromMillis
  }
) {
  override get message(): string {
    return this.reason === "Deadline"
      ? `deadline of ${Duration.format(this.timeout)} exceeded`
      : `attempt timed out after ${Duration.format(this.timeout)}`
  }
}

/** @internal */
export interface Current {
  readonly at: number
  readonly timeout: Duration.Duration
  readonly reason: "Deadline" | "Attempt"
  readonly armed: boolean
  readonly attemptTimeout: Duration.Duration
  readonly attemptMillis: number
}

/** @internal No limit: what a fiber has before any is set. */
export const none: Current = {
  at: Number.POSITIVE_INFINITY,
  timeout: Duration.infinity,
  reason: "Deadline",
  armed: true,
  attemptTimeout: Duration.infinity,
  attemptMillis: Number.POSITIVE_INFINITY
}

/** @internal */
export interface LimitOptions {
  readonly selfEnforcing?: boolean | undefined
  readonly disconnect?: boolean | undefined
}

// The default services' Clock: only under it do transports' real timers agree with the deadline's clock.
const liveClock: Clock.Clock = Effect.runSync(Effect.clock)

/** @internal */
export const isLiveClock = (clock: Clock.Clock): boolean => clock === liveClock

/** @internal */
export const currentRef: FiberRef.FiberRef<Current> = globalValue(
  Symbol.for("@sturdy/policy/Deadline/currentRef"),
  () => FiberRef.unsafeMake(none)
)

/** @internal */
export const currentHeadOnlyRef: FiberRef.FiberRef<boolean> = globalValue(
  Symbol.for("@sturdy/policy/Deadline/currentHeadOnlyRef"),
  () => FiberRef.unsafeMake(false)
)

/** @internal */
export const headOnly = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.locally(self, currentHeadOnlyRef, true)

/** @internal */
export const deadlineMillis: Effect.Effect<number> = Effect.map(FiberRef.get(currentRef), (current) => current.at)

/** @internal */
export const current: Effect.Effect<Option.Option<number>> = Effect.map(
  deadlineMillis,
  (at) => Number.isFinite(at) ? Option.some(at) : Option.none()
)

/** @internal */
export const remaining: Effect.Effect<Option.Option<Duration.Duration>> = Effect.flatMap(
  FiberRef.get(currentRef),
  (current) =>
    Number.isFinite(current.at)
      ? Effect.map(Clock.currentTimeMillis, (now) => Option.some(Duration.millis(Math.max(0, current.at - now))))
      : Effect.succeed(Option.none())
)

/**
 * The fiber's refs with `limit` in place of the limit in force, as `FiberRef.set` would make them (the fiber's own entry
 * replaced, or pushed over its parent's), without comparing values: a limit set here is always a new one.
 */
const refsWithLimit = (refs: FiberRefs.FiberRefs, fiberId: FiberId.Runtime, limit: Current): FiberRefs.FiberRefs => {
  const locals = new Map(refs.locals)
  const stack = locals.get(currentRef)
  const entry = [fiberId, limit] as const
  if (stack === undefined) locals.set(currentRef, [entry])
  else if (stack[0][0] === fiberId || Equal.equals(stack[0][0], fiberId)) {
    locals.set(currentRef, [entry, ...stack.slice(1)])
  } else locals.set(currentRef, [entry, ...stack])
  return FiberRefs.unsafeMake(locals)
}

/**
 * Sets `limit` and returns what puts `outer` back, both in the step that decides the limit rather than in steps of
 * their own. `FiberRef.set` would copy all of the fiber's refs and then read six of them again into the fiber's
 * caches; around a real request those reads land on memory gone cold while the request was out, and cost more than
 * the copy. Only the limit changes here, so the caches stay valid: the refs are swapped without them, and putting the
 * limit back is taking the refs from before, when nothing else was set in between. (A fiber that does not show its
 * refs, as a later Effect might not, has the limit set and set back like any ref.)
 */
const setLimitUntil = (
  fiber: Fiber.RuntimeFiber<unknown, unknown>,
  outer: Current,
  limit: Current
): () => void => {
  const internals = internalsOf(fiber)
  const before = internals._fiberRefs
  if (before !== undefined) {
    const during = refsWithLimit(before, fiber.id(), limit)
    internals._fiberRefs = during
    // the fiber reads its refs where they were swapped: checked, not assumed
    if (fiber.getFiberRef(currentRef) === limit) {
      return () => {
        if (internals._fiberRefs === during) internals._fiberRefs = before
        else internals.setFiberRef(currentRef, outer)
      }
    }
    internals._fiberRefs = before
  }
  internals.setFiberRef(currentRef, limit)
  return () => internals.setFiberRef(currentRef, outer)
}

/**
 * `Effect.locally` for the limit, in one step of its own: called from the `withFiberRuntime` step that read `outer`,
 * it sets `limit` at once and restores `outer` when `self` succeeds or fails. An interrupted `self` skips the restore,
 * which only finalizers could observe, and none reads the limit; a fiber joined after success hands no limit back to
 * its parent either.
 */
const withLimit = <A, E, R>(
  fiber: Fiber.RuntimeFiber<unknown, unknown>,
  outer: Current,
  self: Effect.Effect<A, E, R>,
  limit: Current
): Effect.Effect<A, E, R> => {
  const restore = setLimitUntil(fiber, outer, limit)
  return Effect.matchCauseEffect(
    self,
    handlers(
      (cause: Cause.Cause<E>) => {
        restore()
        return Effect.failCause(cause)
      },
      (value: A) => {
        restore()
        return Effect.succeed(value)
      }
    )
  )
}

// The handlers of `matchCauseEffect` from arrows passed as arguments: a function written as a property or a `const`
// is given its name at run time by transpilers that keep names (tsx, esbuild's `keepNames`), a cost on every call.
const handlers = <F, S>(onFailure: F, onSuccess: S) => ({ onFailure, onSuccess })

// A limit longer than a timer can hold is none, as documented: no timer fires for it on the live clock (Effect's and
// `@sturdy/node`'s would fire at once), so it must not fire under a TestClock or show in `remaining` either.
const noLongerThanATimer = (duration: Duration.Duration): Duration.Duration =>
  Duration.toMillis(duration) > maxTimerMillis ? Duration.infinity : duration

const limit = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  timeout: Duration.DurationInput,
  reason: "Deadline" | "Attempt",
  options: LimitOptions | undefined
): Effect.Effect<A, E | DeadlineExceeded, R> => {
  // a NaN (a number parsed from an unset setting) or an unreadable string is a mistake, not a deadline already passed
  // as a negative one is
  checkIsDuration(reason === "Deadline" ? "Deadline.withDeadline" : "Deadline.attemptTimeout", "timeout", timeout)
  checkOptions(reason === "Deadline" ? "Deadline.withDeadline" : "Deadline.attemptTimeout", options)
  // decoded on first use (the input is known to decode), then reused by every call
  let duration: Duration.Duration | undefined
  const selfEnforcing = options?.selfEnforcing === true
  const disconnect = options?.disconnect === true
  return Effect.withFiberRuntime((fiber) => {
    const outer = fiber.getFiberRef(currentRef)
    const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
    const now = clock.unsafeCurrentTimeMillis()
    if (duration === undefined) duration = noLongerThanATimer(Duration.decode(timeout))
    // an attempt never runs longer than the attempt timeout established around it
    const own = reason === "Attempt" && outer.attemptMillis < Duration.toMillis(duration)
      ? outer.attemptTimeout
      : duration
    const at = now + Duration.toMillis(own)
    if (at >= outer.at && outer.at <= now) {
      return Effect.fail(new DeadlineExceeded({ reason: outer.reason, timeout: outer.timeout }, true))
    }
    if (at <= now) return Effect.fail(new DeadlineExceeded({ reason, timeout: own }, true))
    // `self` aborts its own waits when the limit passes (a transport reading `currentRef`): no fiber, no timer.
    // Its timers run on real time, so under any other Clock (TestClock, a simulator's) the timer below is armed.
    if (selfEnforcing && clock === liveClock) {
      // Looser than the limit in force, or the attempt timeout that `self` applies from its own start anyway
      if (at >= outer.at || (reason === "Attempt" && own === outer.attemptTimeout)) return self
      return withLimit(fiber, outer, self, { ...outer, at, timeout: own, reason, armed: false })
    }
    let limit: Current
    if (at >= outer.at) {
      // The outer limit already arms a timer that interrupts `self`, or there is none: a looser inner limit adds
      // nothing but cost.
      if (outer.armed || outer.at === Infinity) return self
      // The outer limit was only established: this one enforces it.
      limit = { ...outer, armed: true }
    } else {
      limit = { ...outer, at, timeout: own, reason, armed: true }
    }
    // A hanging `self` must be interrupted, so a timer is unavoidable here. Measured per call (policy-cost.ts):
    // `Effect.timeoutFail` and `Effect.raceFirst` against a sleep cost about the same, and two self-managed daemon
    // fibers (child + alarm, no awaiting the loser) cost more: Effect's forks dominate either way.
    const fired = limit
    return withLimit(
      fiber,
      outer,
      // Disconnected, `self` is interrupted in the background: the limit fails on time even when `self` does not
      // stop promptly when interrupted (an uninterruptible region, a canceler that waits for the request to end).
      // Interruptible even under the caller's mask: inheriting the mask, the disconnected `self` and the wait for it
      // ignored the limit, which never failed. Only the limit interrupts it: under a mask it runs in a fiber of its own
      // (`shieldedFromCaller`), or an interruption from outside, which the caller holds off, would reach it.
      disconnect
        ? shieldedFromCaller(Effect.timeoutFail(Effect.interruptible(Effect.disconnect(self)), {
          duration: Duration.millis(fired.at - now),
          onTimeout: () => new DeadlineExceeded({ reason: fired.reason, timeout: fired.timeout }, true)
        }))
        : Effect.timeoutFail(self, {
          duration: Duration.millis(fired.at - now),
          onTimeout: () => new DeadlineExceeded({ reason: fired.reason, timeout: fired.timeout }, true)
        }),
      fired
    )
  })
}

const isEffectFirst = (args: IArguments): boolean => Effect.isEffect(args[0])

/** @internal */
export const withDeadline = dual<
  (
    timeout: Duration.DurationInput,
    options?: LimitOptions
  ) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | DeadlineExceeded, R>,
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    timeout: Duration.DurationInput,
    options?: LimitOptions
  ) => Effect.Effect<A, E | DeadlineExceeded, R>
>(isEffectFirst, (self, timeout, options) => limit(self, timeout, "Deadline", options))

/** @internal */
export const attemptTimeout = dual<
  (
    timeout: Duration.DurationInput,
    options?: LimitOptions
  ) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | DeadlineExceeded, R>,
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    timeout: Duration.DurationInput,
    options?: LimitOptions
  ) => Effect.Effect<A, E | DeadlineExceeded, R>
>(isEffectFirst, (self, timeout, options) => limit(self, timeout, "Attempt", options))

/** @internal */
export interface EstablishOptions {
  readonly attemptTimeout?: Duration.DurationInput | undefined
}

// The input (known to decode) decoded on first use, then reused by every run of the returned function: `Policy` makes
// one per stage, not one per call.
const decodedOnce = (input: Duration.DurationInput): () => Duration.Duration => {
  let duration: Duration.Duration | undefined
  return () => duration ??= noLongerThanATimer(Duration.decode(input))
}

/** @internal */
export const establishWith = (
  timeout: Duration.DurationInput,
  options?: EstablishOptions
): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R> => {
  checkIsDuration("Deadline.establish", "timeout", timeout)
  checkOptions("Deadline.establish", options)
  checkIsDuration("Deadline.establish", "attemptTimeout", options?.attemptTimeout)
  const duration = decodedOnce(timeout)
  const asked = options?.attemptTimeout === undefined ? undefined : decodedOnce(options.attemptTimeout)
  let durationMillis = 0
  let askedMillis = Infinity
  let decoded = false
  return (self) =>
    Effect.withFiberRuntime((fiber) => {
      const outer = fiber.getFiberRef(currentRef)
      const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
      if (!decoded) {
        durationMillis = Duration.toMillis(duration())
        if (asked !== undefined) askedMillis = Duration.toMillis(asked())
        decoded = true
      }
      const at = clock.unsafeCurrentTimeMillis() + durationMillis
      const shorter = askedMillis < outer.attemptMillis
      const sooner = at < outer.at
      if (!sooner && !shorter) return self
      const attemptTimeout = shorter ? asked!() : outer.attemptTimeout
      const attemptMillis = shorter ? askedMillis : outer.attemptMillis
      return withLimit(
        fiber,
        outer,
        self,
        sooner
          ? { at, timeout: duration(), reason: "Deadline", armed: false, attemptTimeout, attemptMillis }
          : { ...outer, attemptTimeout, attemptMillis }
      )
    })
}

/** @internal */
export const establish: {
  (
    timeout: Duration.DurationInput,
    options?: EstablishOptions
  ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, timeout: Duration.DurationInput, options?: EstablishOptions): Effect.Effect<
    A,
    E,
    R
  >
} = (...args: ReadonlyArray<any>): any =>
  // data-last, the function decodes once for all the effects it is applied to
  Effect.isEffect(args[0]) ? establishWith(args[1], args[2])(args[0]) : establishWith(args[0], args[1])

/** @internal */
export const ensureRemaining = (minimum: Duration.DurationInput): Effect.Effect<void, DeadlineExceeded> => {
  // Effect reads NaN as zero: a minimum parsed from an unset setting would pass whenever any time is left
  checkIsDuration("Deadline.ensureRemaining", "minimum", minimum)
  return Effect.flatMap(FiberRef.get(currentRef), (current) =>
    Number.isFinite(current.at)
      ? Effect.flatMap(Clock.currentTimeMillis, (now) =>
        current.at - now < Duration.toMillis(minimum) || current.at <= now
          ? Effect.fail(new DeadlineExceeded({ reason: current.reason, timeout: current.timeout }, true))
          : Effect.void)
      : Effect.void)
}

/** @internal */
export const defaultHeaderName = "x-request-timeout-ms"

/** @internal */
export const header = (options?: {
  readonly name?: string | undefined
}): Effect.Effect<Option.Option<readonly [name: string, value: string]>> =>
  Effect.map(
    remaining,
    Option.map((left) => [options?.name ?? defaultHeaderName, String(Math.floor(Duration.toMillis(left)))] as const)
  )

// -----------------------------------------------------------------------------
// transports that enforce the limit themselves
// -----------------------------------------------------------------------------

// Keyed by the client's `postprocess` step when it has one (every @effect/platform HttpClient does): `mapRequest`
// and `mapRequestEffect` keep that step, so the clients derived from a declared one stay known.
const enforcingTransports = globalValue(
  Symbol.for("@sturdy/policy/Deadline/enforcingTransports"),
  () => new WeakSet<object>()
)

const enforcementKey = (transport: object): object => {
  const postprocess = (transport as { readonly postprocess?: unknown }).postprocess
  return typeof postprocess === "function" ? postprocess : transport
}

/** @internal */
export const declareEnforcement = <C extends object>(transport: C): C => {
  enforcingTransports.add(enforcementKey(transport))
  return transport
}

/** @internal */
export const isEnforcedBy = (transport: object): boolean => enforcingTransports.has(enforcementKey(transport))
