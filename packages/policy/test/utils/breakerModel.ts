/**
 * A reference model of `CircuitBreaker`'s state machine, written from the module docs of
 * `packages/policy/src/CircuitBreaker.ts` (and, where they are silent, from `internal/circuitBreaker.ts`: see the
 * header of `model-CircuitBreaker.test.ts` for which rules), and a driver that runs the same commands on a real
 * breaker and checks every decision and every reading against the model. Shared by `model-CircuitBreaker.test.ts`
 * and `model-CircuitBreakerRedis.test.ts`.
 */
import { expect } from "@effect/vitest"
import { CircuitBreaker } from "@sturdy/policy"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"

// ---------------------------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------------------------

/** How the pause before a probe is given: one duration, a finite list of pauses, or a capped exponential. */
export type Pauses =
  | { readonly _tag: "Fixed"; readonly millis: number }
  | { readonly _tag: "Delays"; readonly millis: ReadonlyArray<number> }
  | { readonly _tag: "Exponential"; readonly base: number; readonly cap: number }

export interface Config {
  readonly window: { readonly _tag: "Time"; readonly millis: number } | {
    readonly _tag: "Count"
    readonly calls: number
  }
  readonly consecutiveFailures: number | undefined
  readonly failureRateThreshold: number | undefined
  readonly failureCountThreshold: number | undefined
  readonly slowCallDuration: number | undefined
  readonly slowCallRateThreshold: number | undefined
  readonly minimumThroughput: number | undefined
  readonly halfOpenMaxProbes: number | undefined
  readonly successThreshold: number | undefined
  /** `Infinity`: probes are never let go of */
  readonly maxProbeDuration: number | undefined
  readonly pauses: Pauses
}

const optional = <A>(arb: FastCheck.Arbitrary<A>) => FastCheck.option(arb, { nil: undefined, freq: 2 })

const pausesArb: FastCheck.Arbitrary<Pauses> = FastCheck.oneof(
  FastCheck.record({
    _tag: FastCheck.constant("Fixed" as const),
    millis: FastCheck.oneof({ weight: 1, arbitrary: FastCheck.constant(0) }, {
      weight: 6,
      arbitrary: FastCheck.integer({ min: 50, max: 1_000 })
    })
  }),
  FastCheck.record({
    _tag: FastCheck.constant("Delays" as const),
    millis: FastCheck.array(FastCheck.integer({ min: 0, max: 800 }), { minLength: 1, maxLength: 3 })
  }),
  FastCheck.record({
    _tag: FastCheck.constant("Exponential" as const),
    base: FastCheck.integer({ min: 20, max: 300 }),
    cap: FastCheck.integer({ min: 100, max: 1_500 })
  })
)

/** Valid options only (the invalid ones are `RangeError`s, tested elsewhere). */
export const configArb: FastCheck.Arbitrary<Config> = FastCheck.record({
  window: FastCheck.oneof(
    FastCheck.record({
      _tag: FastCheck.constant("Time" as const),
      millis: FastCheck.integer({ min: 100, max: 3_000 })
    }),
    FastCheck.record({ _tag: FastCheck.constant("Count" as const), calls: FastCheck.integer({ min: 1, max: 8 }) })
  ),
  consecutiveFailures: optional(FastCheck.oneof(FastCheck.integer({ min: 1, max: 4 }), FastCheck.constant(Infinity))),
  failureRateThreshold: optional(FastCheck.constantFrom(0.2, 0.25, 0.5, 2 / 3, 0.75, 1)),
  failureCountThreshold: optional(FastCheck.integer({ min: 1, max: 4 })),
  slowCallDuration: optional(FastCheck.integer({ min: 20, max: 400 })),
  slowCallRateThreshold: optional(FastCheck.constantFrom(0.25, 0.5, 1)),
  minimumThroughput: optional(FastCheck.integer({ min: 1, max: 6 })),
  halfOpenMaxProbes: optional(FastCheck.integer({ min: 1, max: 3 })),
  successThreshold: optional(FastCheck.integer({ min: 1, max: 4 })),
  maxProbeDuration: optional(FastCheck.oneof(FastCheck.integer({ min: 30, max: 1_500 }), FastCheck.constant(Infinity))),
  pauses: pausesArb
}).map((c) => ({
  ...c,
  // the documented constraints on valid options
  slowCallRateThreshold: c.slowCallDuration === undefined ? undefined : c.slowCallRateThreshold,
  failureCountThreshold: c.window._tag === "Count" && c.failureCountThreshold !== undefined
    ? Math.min(c.failureCountThreshold, c.window.calls)
    : c.failureCountThreshold
}))

export const scheduleOf = (pauses: Pauses): Duration.DurationInput | Schedule.Schedule<unknown, unknown> => {
  switch (pauses._tag) {
    case "Fixed":
      return Duration.millis(pauses.millis)
    case "Delays": {
      const [first, ...rest] = pauses.millis.map(Duration.millis)
      return Schedule.fromDelays(first!, ...rest)
    }
    case "Exponential":
      return Schedule.exponential(Duration.millis(pauses.base)).pipe(
        Schedule.union(Schedule.spaced(Duration.millis(pauses.cap)))
      )
  }
}

// which failures count: a 404 is an answer, `Cancelled` says nothing, `Poison` makes the predicate throw
const isFailure = (error: unknown): boolean => {
  const tag = (error as { _tag?: string })._tag
  if (tag === "Poison") throw new Error("isFailure cannot classify Poison")
  return tag !== "NotFound"
}
const isIgnored = (error: unknown): boolean => (error as { _tag?: string })._tag === "Cancelled"

export const optionsOf = (c: Config): CircuitBreaker.Options => ({
  slidingWindow: c.window._tag === "Time" ? Duration.millis(c.window.millis) : { calls: c.window.calls },
  consecutiveFailures: c.consecutiveFailures,
  failureRateThreshold: c.failureRateThreshold,
  failureCountThreshold: c.failureCountThreshold,
  slowCallDuration: c.slowCallDuration === undefined ? undefined : Duration.millis(c.slowCallDuration),
  slowCallRateThreshold: c.slowCallRateThreshold,
  minimumThroughput: c.minimumThroughput,
  halfOpenMaxProbes: c.halfOpenMaxProbes,
  successThreshold: c.successThreshold,
  maxProbeDuration: c.maxProbeDuration === undefined
    ? undefined
    : c.maxProbeDuration === Infinity
    ? Duration.infinity
    : Duration.millis(c.maxProbeDuration),
  breakDuration: scheduleOf(c.pauses),
  isFailure,
  isIgnored
})

// ---------------------------------------------------------------------------------------------------------------
// Outcomes of a call
// ---------------------------------------------------------------------------------------------------------------

/**
 * What the upstream does: succeeds; fails with a counted 503 or 500; answers 404 (a failure `isFailure` rejects:
 * a successful call); fails with a failure `isIgnored` selects; fails with another policy's rejection; dies; fails
 * with a failure `isFailure` throws on.
 */
export type Kind = "success" | "fail503" | "fail500" | "notFound" | "ignored" | "rejection" | "defect" | "poison"
export const kinds: ReadonlyArray<Kind> = [
  "success",
  "fail503",
  "fail500",
  "notFound",
  "ignored",
  "rejection",
  "defect",
  "poison"
]
export const kindArb = FastCheck.oneof(
  { weight: 5, arbitrary: FastCheck.constant<Kind>("success") },
  { weight: 5, arbitrary: FastCheck.constant<Kind>("fail503") },
  { weight: 2, arbitrary: FastCheck.constant<Kind>("fail500") },
  { weight: 1, arbitrary: FastCheck.constantFrom<Kind>("notFound", "ignored", "rejection", "defect", "poison") }
)

const errorOf = (kind: Kind): unknown => {
  switch (kind) {
    case "fail503":
      return { _tag: "ServerError", status: 503 }
    case "fail500":
      return { _tag: "ServerError", status: 500 }
    case "notFound":
      return { _tag: "NotFound", status: 404 }
    case "ignored":
      return { _tag: "Cancelled" }
    case "rejection":
      return { _tag: "BulkheadRejected" }
    case "poison":
      return { _tag: "Poison" }
    default:
      return undefined
  }
}

export const outcomeEffect = (kind: Kind): Effect.Effect<string, unknown> =>
  kind === "success"
    ? Effect.succeed("ok")
    : kind === "defect"
    ? Effect.die(new Error("boom"))
    : Effect.fail(errorOf(kind))

type Outcome = "success" | "failure" | "ignored"
interface Label {
  readonly tag: string
  readonly status?: number | undefined
}

/** The documented table: which kind of outcome each call is. */
const classify = (kind: Kind): { readonly outcome: Outcome; readonly label?: Label } => {
  switch (kind) {
    case "success":
    case "notFound":
      return { outcome: "success" }
    case "fail503":
      return { outcome: "failure", label: { tag: "ServerError", status: 503 } }
    case "fail500":
      return { outcome: "failure", label: { tag: "ServerError", status: 500 } }
    case "defect":
      return { outcome: "failure", label: { tag: "Defect" } }
    case "ignored":
    case "rejection":
    case "poison":
      return { outcome: "ignored" }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------------------------------------------

interface Trip {
  readonly reason: string
  readonly failures: number
  readonly lastFailure: Label | undefined
  readonly sameKind: boolean
}

export interface ModelAdmission {
  readonly generation: number
  readonly probe: boolean
  /** a held call's start, moved with the clock's steps back (a step back is no time passing) */
  startedAt: number
  readonly slot: { startedAt: number } | undefined
}

export type Decision =
  | { readonly _tag: "Admitted"; readonly admission: ModelAdmission }
  | {
    readonly _tag: "Rejected"
    readonly retryAfter: number
    readonly reason: string | undefined
    readonly failures: number | undefined
    readonly lastFailure: Label | undefined
    readonly sameKind: boolean | undefined
  }

export interface ModelSnapshot {
  readonly state: CircuitBreaker.State
  readonly isolated: boolean
  readonly consecutiveFailures: number
  readonly calls: number
  readonly failures: number
  readonly slowCalls: number
  readonly probesInFlight: number
  readonly retryAfter: number
}

interface Bucket {
  start: number
  calls: number
  failures: number
  slow: number
}

export class Model {
  // resolved options (the documented defaults)
  readonly consecutiveLimit: number
  readonly windowMillis: number
  readonly bucketMillis: number
  readonly windowCalls: number | undefined
  readonly minimumThroughput: number
  readonly slowCallDuration: number
  readonly slowRate: number | undefined
  readonly maxProbes: number
  readonly successThreshold: number

  state: CircuitBreaker.State = "Closed"
  isolated = false
  generation = 0
  openUntil = 0
  lastBreak = 0
  /** openings since the breaker last closed: the schedule's step */
  step = 0
  consecutive = 0
  buckets: Array<Bucket> = []
  ring: Array<{ failed: boolean; slow: boolean }> = []
  slots: Array<{ startedAt: number }> = []
  successes = 0
  lastFailure: Label | undefined = undefined
  sameKindRun = 0
  trip: Trip | undefined = undefined
  seenAt: number
  readonly transitions: Array<readonly [CircuitBreaker.State, CircuitBreaker.State, number]> = []
  /** held calls' admissions, moved by the clock's steps back */
  readonly inFlight = new Set<ModelAdmission>()

  constructor(readonly config: Config, public now: number) {
    this.seenAt = now
    const c = config
    this.consecutiveLimit = c.consecutiveFailures ??
      (c.failureRateThreshold !== undefined || c.slowCallDuration !== undefined || c.failureCountThreshold !== undefined
        ? Infinity
        : 3)
    this.windowCalls = c.window._tag === "Count" ? c.window.calls : undefined
    this.windowMillis = c.window._tag === "Time" ? c.window.millis : 60_000
    this.bucketMillis = Math.max(1, Math.ceil(this.windowMillis / 10))
    const minimum = c.minimumThroughput ?? 10
    this.minimumThroughput = this.windowCalls === undefined ? minimum : Math.min(minimum, this.windowCalls)
    this.slowCallDuration = c.slowCallDuration ?? Infinity
    this.slowRate = c.slowCallRateThreshold ?? (c.slowCallDuration !== undefined ? 1 : undefined)
    this.maxProbes = c.halfOpenMaxProbes ?? 1
    this.successThreshold = c.successThreshold ?? 1
  }

  /** A clock reading below the latest seen: the step is no time passing for every time the breaker keeps. */
  observe(): void {
    if (this.now >= this.seenAt) {
      this.seenAt = this.now
      return
    }
    const step = this.now - this.seenAt
    this.seenAt = this.now
    if (this.state === "Open") this.openUntil += step
    for (const bucket of this.buckets) bucket.start += step
    for (const slot of this.slots) slot.startedAt += step
    for (const admission of this.inFlight) admission.startedAt += step
  }

  /** The pause of the next opening: the schedule's step, a done schedule keeping its last pause (60 s if none). */
  nextPause(): number {
    const p = this.config.pauses
    const n = this.step++
    switch (p._tag) {
      case "Fixed":
        return p.millis
      case "Exponential":
        return Math.min(p.base * 2 ** n, p.cap)
      case "Delays":
        return n < p.millis.length ? p.millis[n]! : this.lastBreak > 0 ? this.lastBreak : 60_000
    }
  }

  transition(to: CircuitBreaker.State): void {
    this.observe()
    const from = this.state
    this.state = to
    this.generation++
    this.slots = []
    this.successes = 0
    this.consecutive = 0
    this.buckets = []
    this.ring = []
    this.lastFailure = undefined
    this.sameKindRun = 0
    if (to === "Closed") {
      this.step = 0
      this.lastBreak = 0
      this.trip = undefined
    }
    if (from !== to) this.transitions.push([from, to, this.now])
  }

  open(reason: string, failures: number): void {
    this.trip = { reason, failures, lastFailure: this.lastFailure, sameKind: this.sameKindRun >= failures }
    this.transition("Open")
    const pause = this.nextPause()
    this.lastBreak = pause
    this.openUntil = this.now + pause
  }

  totals(): { calls: number; failures: number; slow: number } {
    if (this.windowCalls !== undefined) {
      return {
        calls: this.ring.length,
        failures: this.ring.filter((e) => e.failed).length,
        slow: this.ring.filter((e) => e.slow).length
      }
    }
    let calls = 0
    let failures = 0
    let slow = 0
    for (const b of this.buckets) {
      if (b.start > this.now - this.windowMillis) {
        calls += b.calls
        failures += b.failures
        slow += b.slow
      }
    }
    return { calls, failures, slow }
  }

  letGoMillis(): number {
    return this.config.maxProbeDuration ?? (this.lastBreak > 0 ? this.lastBreak : Infinity)
  }

  letGoOfSlowProbes(): void {
    const limit = this.letGoMillis()
    this.slots = this.slots.filter((slot) => this.now - slot.startedAt < limit)
  }

  probeSlotFreeIn(): number {
    const limit = this.letGoMillis()
    if (limit === Infinity || this.slots.length === 0) return this.lastBreak
    const oldest = Math.min(...this.slots.map((s) => s.startedAt))
    return Math.max(0, oldest + limit - this.now)
  }

  retryAfter(): number {
    return this.isolated
      ? Infinity
      : this.state === "Open"
      ? Math.max(0, this.openUntil - this.now)
      : this.state === "HalfOpen"
      ? this.probeSlotFreeIn()
      : this.lastBreak
  }

  admit(): Decision {
    if (this.isolated) {
      return {
        _tag: "Rejected",
        retryAfter: Infinity,
        reason: "Isolated",
        failures: undefined,
        lastFailure: undefined,
        sameKind: undefined
      }
    }
    // a call to a closed breaker that times no slow calls is admitted without reading the clock (the code's fast
    // path): a step back is seen when the call's outcome is recorded
    if (this.state !== "Closed" || this.slowCallDuration !== Infinity) this.observe()
    if (this.state === "Open" && this.now >= this.openUntil) this.transition("HalfOpen")
    if (this.state === "Closed") {
      return {
        _tag: "Admitted",
        admission: { generation: this.generation, probe: false, startedAt: this.now, slot: undefined }
      }
    }
    if (this.state === "HalfOpen") {
      this.letGoOfSlowProbes()
      if (this.slots.length < this.maxProbes) {
        const slot = { startedAt: this.now }
        this.slots.push(slot)
        return { _tag: "Admitted", admission: { generation: this.generation, probe: true, startedAt: this.now, slot } }
      }
    }
    const trip = this.trip
    return {
      _tag: "Rejected",
      retryAfter: this.retryAfter(),
      reason: trip?.reason,
      failures: trip?.failures,
      lastFailure: trip?.lastFailure,
      sameKind: trip?.sameKind
    }
  }

  record(admission: ModelAdmission, kind: Kind | "interrupted"): void {
    this.inFlight.delete(admission)
    this.observe()
    if (admission.generation !== this.generation || this.isolated) return
    const { label, outcome } = kind === "interrupted"
      ? { outcome: "ignored" as const, label: undefined }
      : classify(kind)
    const isSlow = this.now - admission.startedAt >= this.slowCallDuration
    if (outcome === "failure" && label !== undefined) {
      const last = this.lastFailure
      this.sameKindRun = last !== undefined && last.tag === label.tag && last.status === label.status
        ? this.sameKindRun + 1
        : 1
      this.lastFailure = label
    }
    if (admission.probe) {
      const i = admission.slot === undefined ? -1 : this.slots.indexOf(admission.slot)
      if (i !== -1) this.slots.splice(i, 1)
      if (outcome === "ignored") return
      if (outcome === "failure") return this.open("ProbeFailed", 1)
      if (isSlow && this.slowRate !== undefined) {
        this.lastFailure = undefined
        return this.open("SlowCalls", 1)
      }
      this.successes++
      if (this.successes >= this.successThreshold) this.transition("Closed")
      return
    }
    if (outcome === "ignored") return
    const failed = outcome === "failure"
    if (this.windowCalls !== undefined) {
      this.ring.push({ failed, slow: isSlow })
      if (this.ring.length > this.windowCalls) this.ring.shift()
    } else {
      const last = this.buckets[this.buckets.length - 1]
      let bucket = last
      if (last === undefined || this.now - last.start >= this.bucketMillis) {
        bucket = { start: this.now, calls: 0, failures: 0, slow: 0 }
        this.buckets.push(bucket)
      }
      bucket!.calls++
      if (failed) bucket!.failures++
      if (isSlow) bucket!.slow++
    }
    this.consecutive = failed ? this.consecutive + 1 : 0
    if (this.consecutive >= this.consecutiveLimit) return this.open("ConsecutiveFailures", this.consecutive)
    const totals = this.totals()
    const count = this.config.failureCountThreshold
    if (count !== undefined && failed && totals.failures >= count) return this.open("FailureCount", totals.failures)
    if (totals.calls >= this.minimumThroughput) {
      const rate = this.config.failureRateThreshold
      if (rate !== undefined && totals.failures / totals.calls >= rate) return this.open("FailureRate", totals.failures)
      if (this.slowRate !== undefined && totals.slow / totals.calls >= this.slowRate) {
        return this.open("SlowCalls", totals.slow)
      }
    }
  }

  snapshot(): ModelSnapshot {
    this.observe()
    if (this.state === "HalfOpen" && !this.isolated) this.letGoOfSlowProbes()
    const totals = this.totals()
    const state = this.state === "Open" && !this.isolated && this.now >= this.openUntil ? "HalfOpen" : this.state
    const full = this.slots.filter((slot) => this.now - slot.startedAt < this.letGoMillis()).length >= this.maxProbes
    return {
      state,
      isolated: this.isolated,
      consecutiveFailures: this.consecutive,
      calls: totals.calls,
      failures: totals.failures,
      slowCalls: totals.slow,
      probesInFlight: this.slots.length,
      retryAfter: state === "Open"
        ? this.retryAfter()
        : this.state === "HalfOpen" && !this.isolated && full
        ? this.probeSlotFreeIn()
        : 0
    }
  }

  isolate(): void {
    this.isolated = true
    this.transition("Open")
  }

  reset(): void {
    this.isolated = false
    this.transition("Closed")
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The real breaker, driven
// ---------------------------------------------------------------------------------------------------------------

interface Held {
  readonly kind: Kind
  readonly gate: Deferred.Deferred<void>
  readonly fiber: Fiber.RuntimeFiber<string, unknown>
  readonly admission: ModelAdmission
}

/** A system under test: a breaker and the transitions it published. */
export interface Real {
  readonly name: string
  readonly breaker: CircuitBreaker.CircuitBreaker
  readonly published: Array<CircuitBreaker.StateChange>
}

export interface World {
  readonly model: Model
  readonly reals: ReadonlyArray<Real>
  /** held calls, one list per real, in the same order */
  readonly held: Array<Array<Held>>
  /** where the calls' fibers run: they outlive the command that started them */
  readonly scope: Scope.Scope
}

/** A few turns of the scheduler, for the recording fibers to take in what was published. */
const settle = Effect.repeatN(Effect.yieldNow(), 10)

export const recordInto = (breaker: CircuitBreaker.CircuitBreaker) =>
  Effect.gen(function*() {
    const published: Array<CircuitBreaker.StateChange> = []
    yield* Effect.forkScoped(Stream.runForEach(yield* breaker.subscribe, (c) => Effect.sync(() => published.push(c))))
    return published
  })

const millisOf = (duration: Duration.Duration): number => Duration.toMillis(duration)

/** Checks a call's exit against the model's decision (and, admitted, against the call's own outcome). */
const checkExit = (
  name: string,
  exit: Exit.Exit<string, unknown>,
  decision: Decision,
  kind: Kind | "interrupted"
): void => {
  const where = `${name}: ${kind}`
  if (decision._tag === "Rejected") {
    expect(Exit.isFailure(exit), where).toBe(true)
    const error = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : undefined
    expect(error?._tag, where).toBe("Some")
    const open = (error as { value: CircuitBreaker.CircuitOpen }).value
    expect(CircuitBreaker.isCircuitOpen(open), where).toBe(true)
    expect({
      retryAfter: millisOf(open.retryAfter),
      reason: open.reason,
      failures: open.failures,
      ...(decision.reason === "SlowCalls" || decision.reason === "Isolated" ? {} : {
        lastFailure: open.lastFailure,
        sameKind: open.sameKind
      })
    }, where).toEqual({
      retryAfter: decision.retryAfter,
      reason: decision.reason,
      failures: decision.failures,
      ...(decision.reason === "SlowCalls" || decision.reason === "Isolated" ? {} : {
        lastFailure: decision.lastFailure,
        sameKind: decision.sameKind
      })
    })
    return
  }
  if (kind === "interrupted") {
    expect(Exit.isInterrupted(exit), where).toBe(true)
    return
  }
  if (kind === "success") {
    expect(exit, where).toEqual(Exit.succeed("ok"))
    return
  }
  expect(Exit.isFailure(exit), where).toBe(true)
  if (!Exit.isFailure(exit)) return
  if (kind === "defect") {
    expect(Cause.isDie(exit.cause) && !Cause.isFailType(exit.cause), where).toBe(true)
    return
  }
  // the call's own failure, untouched; a predicate that throws adds its defect after it
  expect(Option.getOrUndefined(Cause.failureOption(exit.cause)), where).toEqual(errorOf(kind))
  expect(Cause.isDie(exit.cause), where).toBe(kind === "poison")
}

/** Starts a call whose body waits on `gate` (or sleeps `millis`), and waits until the breaker decided on it. */
const start = (
  scope: Scope.Scope,
  breaker: CircuitBreaker.CircuitBreaker,
  kind: Kind,
  wait: Deferred.Deferred<void> | number
) =>
  Effect.gen(function*() {
    const started = yield* Deferred.make<void>()
    const body = Effect.zipRight(
      Deferred.succeed(started, undefined),
      Effect.zipRight(
        typeof wait === "number"
          ? (wait > 0 ? Effect.sleep(Duration.millis(wait)) : Effect.void)
          : Deferred.await(wait),
        outcomeEffect(kind)
      )
    )
    const fiber = yield* Effect.forkIn(CircuitBreaker.withBreaker(body, breaker), scope)
    yield* Effect.raceFirst(Deferred.await(started), Effect.asVoid(Fiber.await(fiber)))
    return { fiber, admitted: yield* Deferred.isDone(started) }
  })

// ---------------------------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------------------------

export type Command =
  | { readonly _tag: "Call"; readonly kind: Kind; readonly millis: number }
  | { readonly _tag: "Start"; readonly kind: Kind }
  | { readonly _tag: "Finish"; readonly index: number }
  | { readonly _tag: "Interrupt"; readonly index: number }
  | { readonly _tag: "Advance"; readonly millis: number }
  | { readonly _tag: "StepBack"; readonly millis: number }
  | { readonly _tag: "Read" }
  | { readonly _tag: "Isolate" }
  | { readonly _tag: "Reset" }

const show = (c: Command): string => {
  switch (c._tag) {
    case "Call":
      return `Call(${c.kind}, ${c.millis})`
    case "Start":
      return `Start(${c.kind})`
    case "Finish":
    case "Interrupt":
      return `${c._tag}(${c.index})`
    case "Advance":
    case "StepBack":
      return `${c._tag}(${c.millis})`
    default:
      return c._tag
  }
}

/** How often each kind of command comes, besides plain calls (12), advances (8) and reads (3). */
export interface CommandWeights {
  /** `Start` and `Finish` (`Interrupt` a quarter of it) */
  readonly held: number
  readonly stepBack: number
  /** `Isolate` and `Reset` each */
  readonly isolate: number
}

export const defaultWeights: CommandWeights = { held: 4, stepBack: 1, isolate: 1 }

export const commandArb = (weights: CommandWeights = defaultWeights): FastCheck.Arbitrary<Command> =>
  FastCheck.oneof(
    ...([
      {
        weight: 12,
        arbitrary: FastCheck.record({
          _tag: FastCheck.constant("Call" as const),
          kind: kindArb,
          millis: FastCheck.oneof(FastCheck.constant(0), FastCheck.integer({ min: 1, max: 500 }))
        })
      },
      {
        weight: weights.held,
        arbitrary: FastCheck.record({ _tag: FastCheck.constant("Start" as const), kind: kindArb })
      },
      {
        weight: weights.held,
        arbitrary: FastCheck.record({ _tag: FastCheck.constant("Finish" as const), index: FastCheck.nat(7) })
      },
      {
        weight: Math.ceil(weights.held / 4),
        arbitrary: FastCheck.record({ _tag: FastCheck.constant("Interrupt" as const), index: FastCheck.nat(7) })
      },
      {
        weight: 8,
        arbitrary: FastCheck.record({
          _tag: FastCheck.constant("Advance" as const),
          millis: FastCheck.oneof(FastCheck.integer({ min: 1, max: 400 }), FastCheck.integer({ min: 400, max: 4_000 }))
        })
      },
      {
        weight: weights.stepBack,
        arbitrary: FastCheck.record({
          _tag: FastCheck.constant("StepBack" as const),
          millis: FastCheck.integer({ min: 1, max: 3_000 })
        })
      },
      { weight: 3, arbitrary: FastCheck.constant({ _tag: "Read" as const }) },
      { weight: weights.isolate, arbitrary: FastCheck.constant({ _tag: "Isolate" as const }) },
      { weight: weights.isolate, arbitrary: FastCheck.constant({ _tag: "Reset" as const }) }
    ] satisfies Array<FastCheck.WeightedArbitrary<Command>>).filter((entry) => entry.weight > 0)
  )

/** Runs one command on every real breaker and on the model, and checks them against each other. */
export const runCommand = (world: World, command: Command): Effect.Effect<void> =>
  Effect.gen(function*() {
    const { model, reals } = world
    switch (command._tag) {
      case "Call": {
        const decision = model.admit()
        const outcomes = yield* Effect.forEach(reals, (real) =>
          start(world.scope, real.breaker, command.kind, command.millis))
        outcomes.forEach((o, i) =>
          expect(o.admitted, `${reals[i]!.name}: admitted ${show(command)}`).toBe(decision._tag === "Admitted")
        )
        if (decision._tag === "Admitted" && command.millis > 0) {
          yield* TestClock.adjust(Duration.millis(command.millis))
          model.now += command.millis
        }
        for (const [i, o] of outcomes.entries()) {
          checkExit(reals[i]!.name, yield* Fiber.await(o.fiber), decision, command.kind)
        }
        if (decision._tag === "Admitted") {
          model.record(decision.admission, command.kind)
        }
        break
      }
      case "Start": {
        const decision = model.admit()
        for (const [i, real] of reals.entries()) {
          const gate = yield* Deferred.make<void>()
          const o = yield* start(world.scope, real.breaker, command.kind, gate)
          expect(o.admitted, `${real.name}: admitted ${show(command)}`).toBe(decision._tag === "Admitted")
          if (decision._tag === "Admitted") {
            world.held[i]!.push({ kind: command.kind, gate, fiber: o.fiber, admission: decision.admission })
          } else {
            checkExit(real.name, yield* Fiber.await(o.fiber), decision, command.kind)
          }
        }
        if (decision._tag === "Admitted") {
          model.inFlight.add(decision.admission)
        }
        break
      }
      case "Finish":
      case "Interrupt": {
        if (world.held[0]!.length === 0) {
          break
        }
        const index = command.index % world.held[0]!.length
        let admission: ModelAdmission | undefined
        let kind: Kind | "interrupted" = "interrupted"
        for (const [i, real] of reals.entries()) {
          const [held] = world.held[i]!.splice(index, 1)
          admission = held!.admission
          kind = command._tag === "Finish" ? held!.kind : "interrupted"
          if (command._tag === "Finish") {
            yield* Deferred.succeed(held!.gate, undefined)
          } else yield* Fiber.interrupt(held!.fiber)
          checkExit(real.name, yield* Fiber.await(held!.fiber), { _tag: "Admitted", admission: admission }, kind)
        }
        model.record(admission!, kind)
        break
      }
      case "Advance":
        yield* TestClock.adjust(Duration.millis(command.millis))
        model.now += command.millis
        break
      case "StepBack": {
        const now = yield* Clock.currentTimeMillis
        yield* TestClock.setTime(now - command.millis)
        model.now -= command.millis
        break
      }
      case "Read": {
        const expected = model.snapshot()
        for (const real of reals) {
          const snapshot = yield* real.breaker.snapshot
          expect({ ...snapshot, key: undefined, retryAfter: millisOf(snapshot.retryAfter) }, `${real.name}: snapshot`)
            .toEqual({ ...expected, key: undefined })
          expect(yield* real.breaker.state, `${real.name}: state`).toBe(expected.state)
        }
        break
      }
      case "Isolate":
        model.isolate()
        for (const real of reals) {
          yield* real.breaker.isolate
        }
        break
      case "Reset":
        model.reset()
        for (const real of reals) {
          yield* real.breaker.reset
        }
        break
    }
    yield* settle
    for (const real of reals) {
      expect(
        real.published.map((c) =>
          [c.from, c.to, c.at] as const
        ),
        `${real.name}: transitions`
      ).toEqual(
        model.transitions
      )
    }
  })

/** An fc command of a script, run on the runtime of the test (its TestClock). */
class ModelCommand implements FastCheck.AsyncCommand<World, Runtime.Runtime<never>> {
  constructor(readonly command: Command) {}
  check() {
    return true
  }
  run(world: World, runtime: Runtime.Runtime<never>): Promise<void> {
    return Runtime.runPromise(runtime)(runCommand(world, this.command))
  }
  toString() {
    return show(this.command)
  }
}

/**
 * Checks that a script of commands gives the model's decisions and readings on every real breaker `build` makes
 * (in a fresh scope, closed afterwards), with fc.commands and fc.asyncModelRun; the model is the "model", the
 * test's runtime the "real".
 */
export const modelRun = <E>(
  runtime: Runtime.Runtime<never>,
  config: Config,
  commands: Iterable<FastCheck.AsyncCommand<World, Runtime.Runtime<never>>>,
  build: (config: Config) => Effect.Effect<ReadonlyArray<Real>, E, Scope.Scope>
): Promise<void> =>
  Runtime.runPromise(runtime)(
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const reals = yield* Scope.extend(build(config), scope)
      const now = yield* Clock.currentTimeMillis
      const world: World = { model: new Model(config, now), reals, held: reals.map(() => []), scope }
      yield* Effect.promise(() =>
        FastCheck.asyncModelRun(() => ({ model: world, real: runtime }), commands as never).finally(() =>
          Runtime.runPromise(runtime)(Scope.close(scope, Exit.void))
        )
      )
    }).pipe(Effect.orDie)
  )

/** The fc.commands arbitrary of scripts over {@link commandArb}. */
export const commandsArb = (weights?: CommandWeights, maxCommands = 60) =>
  FastCheck.commands(
    [commandArb(weights).map((command) => new ModelCommand(command))],
    { maxCommands, size: "max" }
  )

/**
 * Fibers racing half-open breakers: fiber `i` yields `turns[i]` turns of the scheduler (the interleaving), then calls
 * through `breakers[i % breakers.length]` with a body that holds until released. Answers once every fiber has decided
 * (its body started: a probe; or it ended: turned away): the most bodies running at once, how many were admitted, the
 * failures of those turned away, and `release`, which lets the probes end (failing when `outcome` is "failure") and
 * waits for every fiber.
 */
export const raceHalfOpen = (
  breakers: ReadonlyArray<CircuitBreaker.CircuitBreaker>,
  turns: ReadonlyArray<number>,
  outcome: "success" | "failure"
) =>
  Effect.gen(function*() {
    const gate = yield* Deferred.make<void>()
    let running = 0
    let most = 0
    const calls = yield* Effect.forEach(turns, (yields, i) =>
      Effect.gen(function*() {
        const started = yield* Deferred.make<void>()
        const body = Effect.gen(function*() {
          running++
          most = Math.max(most, running)
          yield* Deferred.succeed(started, undefined)
          yield* Deferred.await(gate)
          running--
          if (outcome === "failure") return yield* Effect.fail("still down")
          return "ok"
        })
        const fiber = yield* Effect.fork(
          Effect.zipRight(
            Effect.repeatN(Effect.yieldNow(), yields),
            CircuitBreaker.withBreaker(body, breakers[i % breakers.length]!)
          )
        )
        return { started, fiber }
      }))
    yield* Effect.forEach(
      calls,
      ({ fiber, started }) => Effect.raceFirst(Deferred.await(started), Effect.asVoid(Fiber.await(fiber))),
      { concurrency: "unbounded", discard: true }
    )
    const turnedAway: Array<unknown> = []
    for (const { fiber } of calls) {
      const exit = fiber.unsafePoll()
      if (exit !== null) turnedAway.push(Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : exit)
    }
    const release = Effect.zipRight(
      Deferred.succeed(gate, undefined),
      Effect.forEach(calls, ({ fiber }) => Fiber.await(fiber), { discard: true })
    )
    return { most, admitted: calls.length - turnedAway.length, turnedAway, release }
  })

// ---------------------------------------------------------------------------------------------------------------
// For drivers of their own (`model-CircuitBreakerFleet.test.ts` drives several breakers, one model each)
// ---------------------------------------------------------------------------------------------------------------

/** {@link start}: starts a call through `breaker` and waits until the breaker decided on it. */
export const startCall = start

/** {@link checkExit}: checks a call's exit against the model's decision. */
export const checkCallExit = checkExit
