/**
 * Model-based properties of `Retry.retry` (packages/policy/src/Retry.ts) with `Backoff` schedules
 * (packages/policy/src/Backoff.ts), checked against a reference model written from the two modules' docs. Each attempt
 * gets a generated latency and outcome (a value; a typed failure, retryable or not, with or without a server's wait;
 * a defect; an interruption), and the options are generated too: an `exponential` schedule (every jitter mode, base,
 * factor, cap, attempts, `maxElapsed`) or a linear `bounded(fromDelay(...))` one, a `delayHint` with `maxRetryAfter`
 * and its jitter, `finalFailure`, a per-attempt `Deadline.attemptTimeout` whose `"Attempt"` failures `while` may
 * retry, and a total deadline, armed (`withDeadline`) or only established (`establish`). The call runs on the TestClock
 * and the start time of every attempt, every `onAttempt` event (attempt, delay, reason, retrying, failure, and when
 * it came), the answer and when it came must all equal the model's.
 *
 * The model (documented rules, in whole milliseconds): for each typed failure, in order, `while` false →
 * `"not-retryable"`; the schedule is stepped, done → `"exhausted"` (delay 0); the delay is `t(n) = min(maxDelay,
 * base × factorⁿ)` jittered as Backoff's table says (`Random` fixed at one generated unit, so the model draws what the
 * policy draws whatever the order), capped after jitter, rounded down, a `full`/`equal` delay at least 1 ms while t(n)
 * is; `maxElapsed` ends retrying when the retry would start later than that after the FIRST failure; a hint above
 * `maxRetryAfter` → `"retry-after-too-long"` (delay: the hint); a hint past `maxElapsed` → `"exhausted"`; a wait (a
 * hint before its jitter) that would reach the deadline → `"deadline"` with the ORIGINAL failure; otherwise the hint
 * plus `floor(min(hint × retryAfterJitter, maxRetryAfterJitter) × unit)`, never past `maxRetryAfter`, `maxElapsed`
 * or the deadline. `finalFailure(failure, attempts made)` rewrites what is returned; defects and interruptions end
 * the call as they are, with no event. An attempt timeout fires `"Attempt"` after its own timeout, or `"Deadline"`
 * (with the total deadline's `timeout`) when the total deadline is sooner; an armed total deadline interrupts the
 * whole call with `"Deadline"`, an established one only stops retries (an attempt then runs past it).
 * Rules taken from the code: the decorrelated "previous" delay is the schedule's own previous delay (also when a
 * hint replaced it); under `establish`, an attempt timeout looser than what is left of the deadline arms a timer for
 * the deadline, whose `DeadlineExceeded` is a typed failure of the attempt (so `Retry` decides on it, here
 * "not-retryable"), while under `withDeadline` it is the outer timer that fires and no decision is made.
 *
 * Scripts where two events fall on the same millisecond (an attempt ending when a timer fires, an attempt timeout
 * ending on the deadline) are discarded: the docs do not order them.
 *
 * With a `budgetKey` (and its own fresh `RetryBudget`, `prior` requests deposited first, a window far longer than a
 * call): the call deposits one request; each retry that passed every check above withdraws one, refused when
 * `retries < minRetries + ratio × requests` fails (model-RetryBudget's rule), and a refusal ends the call with
 * `RetryBudgetExhausted` (`"budget-refused"`, delay: the wait that would have been). Rule taken from the code: its
 * `attempts` are the attempts made and its `failure` is the failure `finalFailure` rewrote (the docs say "the
 * original": not rewritten into another kind).
 *
 * Left out: the default schedule, `onAttempt` hooks that take time, schedules combined further than `bounded`.
 *
 * Mutants checked (each made the property named fail with a shrunk counterexample; the file was restored from a copy):
 * - internal/retry.ts: the deadline check on the schedule's delay `>=` made `>` ("exactly at the deadline");
 * - internal/retry.ts: the deadline check on a hint `>=` made `>` ("exactly at the deadline");
 * - internal/retry.ts: the hint's jitter not cut at `deadlineAt - now - 1` ("exactly at the deadline");
 * - internal/retry.ts: `finalFailure` told `attempt` instead of `attempt - 1` ("over virtual time");
 * - internal/retry.ts: a hint held to `maxElapsed` from `now` rather than the first failure ("maxElapsed counts");
 * - internal/backoff.ts: `maxElapsed` counted from each step rather than the first failure ("over virtual time", laws);
 * - internal/backoff.ts: decorrelated's previous delay kept at the base ("over virtual time");
 * - internal/backoff.ts: decorrelated delays not capped (laws, "over virtual time");
 * - internal/backoff.ts: full jitter drawn up to 2 × t(n) (laws);
 * - internal/deadline.ts: an attempt timeout under `establish` arming no timer for the deadline ("total deadline");
 * - the model: the 1 ms minimum of a full/equal delay dropped ("over virtual time");
 * - internal/retry.ts: `RetryBudgetExhausted.attempts` one too many; the call's deposit skipped; the refusal wrapping
 *   the failure before `finalFailure` ("a RetryBudget").
 * Equivalent (survives, rightly): the `Math.max(hint, ...)` floor under a hint's jitter, since every bound it is cut
 * to is already at least the hint when the retry is made.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Deadline from "@sturdy/policy/Deadline"
import * as Retry from "@sturdy/policy/Retry"
import * as RetryBudget from "@sturdy/policy/RetryBudget"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import type * as Schedule from "effect/Schedule"
import { advanceToDone } from "./utils/advance.js"

class Boom extends Data.TaggedError("Boom")<{
  readonly attempt: number
  readonly retryable: boolean
  readonly hint: number | undefined
  /** set by `finalFailure`: the attempts made */
  readonly made?: number | undefined
}> {}

type Failure = Boom | Deadline.DeadlineExceeded

type Outcome =
  | { readonly kind: "ok" }
  | { readonly kind: "fail"; readonly retryable: boolean; readonly hint: number | undefined }
  | { readonly kind: "defect" }
  | { readonly kind: "interrupt" }

interface AttemptScript {
  readonly latency: number
  readonly outcome: Outcome
}

type ScheduleScript =
  | {
    readonly kind: "exponential"
    readonly baseDelay: number
    readonly factor: number
    readonly maxDelay: number
    readonly jitter: Backoff.Jitter
    readonly maxAttempts: number
    readonly maxElapsed: number | undefined
  }
  | {
    readonly kind: "linear"
    readonly step: number
    readonly maxDelay: number | undefined
    readonly maxAttempts: number
    readonly maxElapsed: number | undefined
  }

interface Script {
  readonly attempts: ReadonlyArray<AttemptScript>
  readonly schedule: ScheduleScript
  /** the one value `Random` answers */
  readonly unit: number
  readonly hints: boolean
  readonly maxRetryAfter: number
  readonly retryAfterJitter: number
  readonly maxRetryAfterJitter: number
  readonly finalFailure: boolean
  readonly attemptTimeout: number | undefined
  readonly retryTimeouts: boolean
  readonly deadline: { readonly timeout: number; readonly armed: boolean } | undefined
  /** a fresh `RetryBudget` (window far longer than a call) with `prior` requests deposited before the call */
  readonly budget?: { readonly ratio: number; readonly minRetries: number; readonly prior: number } | undefined
}

/** A failure as compared: its class and the fields that matter. */
type FailureView =
  | { readonly _tag: "Boom"; readonly attempt: number; readonly made: number | undefined }
  | { readonly _tag: "DeadlineExceeded"; readonly reason: "Deadline" | "Attempt"; readonly timeout: number }
  | {
    readonly _tag: "RetryBudgetExhausted"
    readonly key: string
    readonly attempts: number
    readonly failure: unknown
  }

interface EventView {
  readonly at: number
  readonly attempt: number
  readonly delay: number
  readonly reason: Retry.Reason
  readonly retrying: boolean
  readonly failure: FailureView
}

type Answer =
  | { readonly _tag: "Success"; readonly value: number }
  | { readonly _tag: "Failure"; readonly error: FailureView }
  | { readonly _tag: "Die" }
  | { readonly _tag: "Interrupt" }

interface Observed {
  readonly starts: ReadonlyArray<number>
  readonly events: ReadonlyArray<EventView>
  readonly answer: Answer
  readonly answeredAt: number
  /** the budget's counts after the call */
  readonly budget?: { readonly requests: number; readonly retries: number } | undefined
}

const viewOf = (failure: Failure | RetryBudget.RetryBudgetExhausted<Failure>): FailureView =>
  failure._tag === "Boom"
    ? { _tag: "Boom", attempt: failure.attempt, made: failure.made }
    : failure._tag === "DeadlineExceeded"
    ? { _tag: "DeadlineExceeded", reason: failure.reason, timeout: Duration.toMillis(failure.timeout) }
    : {
      _tag: "RetryBudgetExhausted",
      key: failure.key,
      attempts: failure.attempts,
      failure: viewOf(failure.failure as Failure)
    }

// ---------------------------------------------------------------------------------------------------------------
// the model

interface ScheduleState {
  readonly retries: number
  readonly previous: number
  readonly start: number | undefined
}

/** The schedule's own delay before retry `retries` (0-based), from Backoff's table; `undefined` when it is done. */
const ownDelay = (schedule: ScheduleScript, state: ScheduleState, unit: number): number | undefined => {
  if (state.retries + 1 >= schedule.maxAttempts) return undefined
  if (schedule.kind === "linear") {
    const wanted = (state.retries + 1) * schedule.step
    return Math.floor(Math.min(schedule.maxDelay ?? Infinity, wanted))
  }
  const t = Math.min(schedule.maxDelay, schedule.baseDelay * Math.pow(schedule.factor, state.retries))
  let jittered: number
  switch (schedule.jitter) {
    case "none":
      jittered = t
      break
    case "full":
      jittered = t * unit
      break
    case "equal":
      jittered = t / 2 + (t / 2) * unit
      break
    case "decorrelated": {
      const high = Math.max(schedule.baseDelay, state.previous * 3)
      jittered = schedule.baseDelay + (high - schedule.baseDelay) * unit
      break
    }
  }
  const delay = Math.floor(Math.min(schedule.maxDelay, jittered))
  // a jittered wait is never rounded down to none while its envelope is at least 1 ms
  return delay === 0 && (schedule.jitter === "full" || schedule.jitter === "equal") && t >= 1 ? 1 : delay
}

const simulate = (script: Script): Observed | undefined => {
  const starts: Array<number> = []
  const events: Array<EventView> = []
  const deadlineAt = script.deadline?.timeout ?? Infinity
  const totalFailure: FailureView = { _tag: "DeadlineExceeded", reason: "Deadline", timeout: deadlineAt }
  const schedule = script.schedule
  let state: ScheduleState = {
    retries: 0,
    previous: schedule.kind === "exponential" ? schedule.baseDelay : 0,
    start: undefined
  }
  let now = 0
  let made = 0
  // one request deposited per call, one retry withdrawn per retry
  const requests = (script.budget?.prior ?? 0) + (script.budget === undefined ? 0 : 1)
  let retries = 0
  const budgetOf = () => script.budget === undefined ? undefined : { requests, retries }
  const final = (failure: FailureView): FailureView =>
    script.finalFailure && failure._tag === "Boom" ? { ...failure, made } : failure
  for (;;) {
    made++
    starts.push(now)
    const attempt = script.attempts[made - 1]!
    const end = now + attempt.latency
    // the timer over this attempt, if any: its own timeout, or the total deadline
    let timer: { readonly at: number; readonly failure: FailureView; readonly typed: boolean } | undefined
    if (script.attemptTimeout !== undefined) {
      const own = now + script.attemptTimeout
      if (own === deadlineAt) return undefined
      if (own < deadlineAt) {
        timer = {
          at: own,
          failure: { _tag: "DeadlineExceeded", reason: "Attempt", timeout: script.attemptTimeout },
          typed: true
        }
      } else {
        // armed: the outer timer interrupts the whole call; established: the attempt timeout arms it (typed)
        timer = { at: deadlineAt, failure: totalFailure, typed: script.deadline?.armed !== true }
      }
    } else if (script.deadline?.armed === true) {
      timer = { at: deadlineAt, failure: totalFailure, typed: false }
    }
    if (timer !== undefined && timer.at === end) return undefined
    let failure: FailureView & { readonly retryable: boolean; readonly hint: number | undefined }
    if (timer !== undefined && timer.at < end) {
      now = timer.at
      if (!timer.typed) {
        return {
          starts,
          events,
          answer: { _tag: "Failure", error: timer.failure },
          answeredAt: now,
          budget: budgetOf()
        }
      }
      failure = {
        ...timer.failure,
        retryable: script.retryTimeouts && timer.failure._tag === "DeadlineExceeded" &&
          timer.failure.reason === "Attempt",
        hint: undefined
      }
    } else {
      now = end
      const outcome = attempt.outcome
      switch (outcome.kind) {
        case "ok":
          return { starts, events, answer: { _tag: "Success", value: made }, answeredAt: now, budget: budgetOf() }
        case "defect":
          return { starts, events, answer: { _tag: "Die" }, answeredAt: now, budget: budgetOf() }
        case "interrupt":
          return { starts, events, answer: { _tag: "Interrupt" }, answeredAt: now, budget: budgetOf() }
        case "fail":
          failure = {
            _tag: "Boom",
            attempt: made,
            made: undefined,
            retryable: outcome.retryable,
            hint: script.hints ? outcome.hint : undefined
          }
      }
    }
    const { hint, retryable, ...view } = failure
    const giveUp = (reason: Retry.Reason, delay: number): Observed => {
      events.push({ at: now, attempt: made + 1, delay, reason, retrying: false, failure: view })
      const error: FailureView = reason === "budget-refused"
        ? { _tag: "RetryBudgetExhausted", key: "api", attempts: made, failure: final(view) }
        : final(view)
      return { starts, events, answer: { _tag: "Failure", error }, answeredAt: now, budget: budgetOf() }
    }
    // 1. while
    if (!retryable) return giveUp("not-retryable", 0)
    // 2. the schedule
    const own = ownDelay(schedule, state, script.unit)
    if (own === undefined) return giveUp("exhausted", 0)
    const start = state.start ?? now
    state = { retries: state.retries + 1, previous: own, start }
    const latest = schedule.maxElapsed === undefined ? Infinity : start + schedule.maxElapsed - now
    let delay = own
    let reason: Retry.Reason = "backoff"
    if (hint !== undefined) {
      // 3. the server's wait replaces the delay
      if (hint > script.maxRetryAfter) return giveUp("retry-after-too-long", hint)
      if (hint > latest) return giveUp("exhausted", 0)
      if (now + hint >= deadlineAt) return giveUp("deadline", hint)
      delay = hint
      if (hint > 0 && script.retryAfterJitter > 0) {
        const spread = Math.min(hint * script.retryAfterJitter, script.maxRetryAfterJitter)
        delay = Math.max(
          hint,
          Math.min(script.maxRetryAfter, latest, deadlineAt - now - 1, Math.floor(hint + spread * script.unit))
        )
      }
      reason = "retry-after"
    } else {
      if (own > latest) return giveUp("exhausted", 0)
      // 4. the deadline
      if (now + own >= deadlineAt) return giveUp("deadline", own)
    }
    // 5. the budget
    if (script.budget !== undefined) {
      if (!(retries < script.budget.minRetries + script.budget.ratio * requests)) return giveUp("budget-refused", delay)
      retries++
    }
    events.push({ at: now, attempt: made + 1, delay, reason, retrying: true, failure: view })
    now += delay
  }
}

// ---------------------------------------------------------------------------------------------------------------
// the real retry on the TestClock

const scheduleOf = (script: ScheduleScript): Schedule.Schedule<unknown, unknown> =>
  script.kind === "exponential"
    ? Backoff.exponential({
      baseDelay: Duration.millis(script.baseDelay),
      factor: script.factor,
      maxDelay: Duration.millis(script.maxDelay),
      jitter: script.jitter,
      maxAttempts: script.maxAttempts,
      maxElapsed: script.maxElapsed === undefined ? undefined : Duration.millis(script.maxElapsed)
    })
    : Backoff.bounded(Backoff.fromDelay((retry) => Duration.millis(retry * script.step)), {
      maxDelay: script.maxDelay === undefined ? undefined : Duration.millis(script.maxDelay),
      maxAttempts: script.maxAttempts,
      maxElapsed: script.maxElapsed === undefined ? undefined : Duration.millis(script.maxElapsed)
    })

const run = (script: Script, random: Random.Random) =>
  Effect.gen(function*() {
    const starts: Array<number> = []
    const events: Array<EventView> = []
    let count = 0
    const attempt: Effect.Effect<number, Failure> = Effect.gen(function*() {
      const n = ++count
      starts.push(yield* Clock.currentTimeMillis)
      const { latency, outcome } = script.attempts[n - 1]!
      yield* Effect.sleep(Duration.millis(latency))
      switch (outcome.kind) {
        case "ok":
          return n
        case "defect":
          return yield* Effect.die(new Error(`defect of attempt ${n}`))
        case "interrupt":
          return yield* Effect.interrupt
        case "fail":
          return yield* Effect.fail(new Boom({ attempt: n, retryable: outcome.retryable, hint: outcome.hint }))
      }
    })
    const timed = script.attemptTimeout === undefined
      ? attempt
      : attempt.pipe(Deadline.attemptTimeout(Duration.millis(script.attemptTimeout)))
    const options: Retry.Options<Failure> = {
      schedule: scheduleOf(script.schedule),
      while: (failure, made) => {
        // `attempt` is the number of the attempt that failed
        expect(made).toBe(count)
        return failure._tag === "Boom"
          ? failure.retryable
          : script.retryTimeouts && failure.reason === "Attempt"
      },
      delayHint: script.hints
        ? (failure) =>
          failure._tag === "Boom" && failure.hint !== undefined
            ? Option.some(Duration.millis(failure.hint))
            : Option.none()
        : undefined,
      maxRetryAfter: Duration.millis(script.maxRetryAfter),
      retryAfterJitter: script.retryAfterJitter,
      maxRetryAfterJitter: Duration.millis(script.maxRetryAfterJitter),
      finalFailure: script.finalFailure
        ? (failure, made) => failure._tag === "Boom" ? new Boom({ ...failure, made }) : failure
        : undefined,
      onAttempt: (event) =>
        Effect.map(Clock.currentTimeMillis, (at) => {
          events.push({
            at,
            attempt: event.attempt,
            delay: Duration.toMillis(event.delay),
            reason: event.reason,
            retrying: event.retrying,
            failure: viewOf(event.failure)
          })
        })
    }
    const budget = RetryBudget.unsafeMake({
      ratio: script.budget?.ratio ?? 0,
      minRetries: script.budget?.minRetries ?? 0,
      window: "1 hour"
    })
    for (let i = 0; i < (script.budget?.prior ?? 0); i++) yield* budget.deposit("api")
    const retried: Effect.Effect<number, Failure | RetryBudget.RetryBudgetExhausted<Failure>> =
      script.budget === undefined
        ? Retry.retry(timed, options)
        : Retry.retry(timed, { ...options, budgetKey: "api", budgetService: budget })
    const bounded = script.deadline === undefined
      ? retried
      : script.deadline.armed
      ? retried.pipe(Deadline.withDeadline(Duration.millis(script.deadline.timeout)))
      : retried.pipe(Deadline.establish(Duration.millis(script.deadline.timeout)))
    const exit = yield* advanceToDone(
      Effect.zip(Effect.exit(bounded.pipe(Effect.withRandom(random))), Clock.currentTimeMillis)
    )
    if (Exit.isFailure(exit)) return yield* Effect.die("the exit is caught")
    const [result, answeredAt] = exit.value
    let answer: Answer
    if (Exit.isSuccess(result)) answer = { _tag: "Success", value: result.value }
    else if (Cause.isInterruptedOnly(result.cause)) answer = { _tag: "Interrupt" }
    else if (Cause.isDie(result.cause)) answer = { _tag: "Die" }
    else {
      const failure = Cause.failureOption(result.cause)
      answer = Option.isSome(failure)
        ? { _tag: "Failure", error: viewOf(failure.value) }
        : yield* Effect.die(`unexpected cause ${Cause.pretty(result.cause)}`)
    }
    const stats = yield* budget.stats("api")
    const observed: Observed = {
      starts,
      events,
      answer,
      answeredAt,
      budget: script.budget === undefined ? undefined : { requests: stats.requests, retries: stats.retries }
    }
    return observed
  })

// ---------------------------------------------------------------------------------------------------------------
// scripts

const maxAttempts = 6

const outcomeOf = (weights: { readonly defects: number }): FastCheck.Arbitrary<Outcome> =>
  FastCheck.oneof(
    { arbitrary: FastCheck.constant({ kind: "ok" as const }), weight: 2 },
    {
      arbitrary: FastCheck.record({
        kind: FastCheck.constant("fail" as const),
        retryable: FastCheck.oneof({ arbitrary: FastCheck.constant(true), weight: 4 }, {
          arbitrary: FastCheck.constant(false),
          weight: 1
        }),
        hint: FastCheck.oneof(
          { arbitrary: FastCheck.constant(undefined), weight: 3 },
          { arbitrary: FastCheck.integer({ min: 0, max: 1500 }), weight: 2 }
        )
      }),
      weight: 8
    },
    { arbitrary: FastCheck.constant({ kind: "defect" as const }), weight: weights.defects },
    { arbitrary: FastCheck.constant({ kind: "interrupt" as const }), weight: weights.defects }
  )

const scheduleScript: FastCheck.Arbitrary<ScheduleScript> = FastCheck.oneof(
  {
    arbitrary: FastCheck.record({
      kind: FastCheck.constant("exponential" as const),
      baseDelay: FastCheck.oneof(FastCheck.integer({ min: 0, max: 300 }), FastCheck.constantFrom(0, 1, 3)),
      factor: FastCheck.constantFrom(1, 1.5, 2, 3),
      // a cap the delays reach now and then
      maxDelay: FastCheck.oneof(FastCheck.integer({ min: 1, max: 1500 }), FastCheck.integer({ min: 1, max: 120 })),
      jitter: FastCheck.constantFrom<Backoff.Jitter>("none", "full", "equal", "decorrelated"),
      maxAttempts: FastCheck.integer({ min: 1, max: maxAttempts }),
      maxElapsed: FastCheck.option(FastCheck.integer({ min: 0, max: 3000 }), { nil: undefined })
    }),
    weight: 3
  },
  {
    arbitrary: FastCheck.record({
      kind: FastCheck.constant("linear" as const),
      step: FastCheck.integer({ min: 0, max: 400 }),
      maxDelay: FastCheck.option(FastCheck.integer({ min: 1, max: 1000 }), { nil: undefined }),
      maxAttempts: FastCheck.integer({ min: 1, max: maxAttempts }),
      maxElapsed: FastCheck.option(FastCheck.integer({ min: 0, max: 3000 }), { nil: undefined })
    }),
    weight: 1
  }
)

const scriptOf = (
  options: { readonly defects: number; readonly deadlines: boolean }
): FastCheck.Arbitrary<Script> =>
  FastCheck.record({
    attempts: FastCheck.array(
      FastCheck.record({ latency: FastCheck.integer({ min: 0, max: 400 }), outcome: outcomeOf(options) }),
      { minLength: maxAttempts, maxLength: maxAttempts }
    ),
    schedule: scheduleScript,
    unit: FastCheck.oneof(
      FastCheck.constantFrom(0, 0.5, 0.999999),
      FastCheck.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })
    ),
    hints: FastCheck.boolean(),
    maxRetryAfter: FastCheck.constantFrom(200, 1000, 30_000),
    retryAfterJitter: FastCheck.constantFrom(0, 0.1, 0.5, 1),
    maxRetryAfterJitter: FastCheck.constantFrom(5, 1000),
    finalFailure: FastCheck.boolean(),
    attemptTimeout: options.deadlines
      ? FastCheck.option(FastCheck.integer({ min: 1, max: 700 }), { nil: undefined })
      : FastCheck.constant(undefined),
    retryTimeouts: FastCheck.boolean(),
    deadline: options.deadlines
      ? FastCheck.option(
        FastCheck.record({ timeout: FastCheck.integer({ min: 1, max: 1500 }), armed: FastCheck.boolean() }),
        { nil: undefined }
      )
      : FastCheck.constant(undefined)
  })

// Deadlines placed on the edges: where an attempt would start without a deadline (or a server's wait would end), a
// millisecond either side.
const edgeScriptOf = (options: { readonly defects: number }): FastCheck.Arbitrary<Script> =>
  scriptOf({ ...options, deadlines: true }).map((script) => ({ ...script, hints: true })).chain((script) => {
    const free = simulate({ ...script, deadline: undefined })
    // a server's wait is held to the deadline before its jitter: its edge is the decision plus the hint
    const hinted = (free?.events ?? []).flatMap((event) => {
      const outcome = script.attempts[event.attempt - 2]!.outcome
      return event.reason === "retry-after" && outcome.kind === "fail" ? [event.at + outcome.hint!] : []
    })
    const starts = (free?.starts ?? []).filter((start) => start > 1)
    const edges = [...starts, ...hinted.filter((end) => end > 1)]
    return edges.length === 0 ? FastCheck.constant(script) : FastCheck.record({
      // half the time a server's wait, when there is one
      edge: hinted.length > 0 && starts.length > 0
        ? FastCheck.oneof(FastCheck.constantFrom(...starts), FastCheck.constantFrom(...hinted))
        : FastCheck.constantFrom(...edges),
      shift: FastCheck.constantFrom(-1, 0, 0, 1),
      armed: FastCheck.boolean()
    }).map(({ armed, edge, shift }) => ({ ...script, deadline: { timeout: edge + shift, armed } }))
  })

// Every attempt but the last fails with a retryable failure, and all the schedule's attempts may be made.
const persistent = (scripts: FastCheck.Arbitrary<Script>): FastCheck.Arbitrary<Script> =>
  scripts.map((script) => ({
    ...script,
    attemptTimeout: undefined,
    schedule: { ...script.schedule, maxAttempts },
    attempts: script.attempts.map((attempt, i) => ({
      latency: attempt.latency,
      outcome: i === maxAttempts - 1 || attempt.outcome.kind !== "fail"
        ? attempt.outcome
        : { ...attempt.outcome, retryable: true }
    }))
  }))

// Long retry chains under `maxElapsed` with servers' waits: where the limit counts from matters.
const elapsedScriptOf: FastCheck.Arbitrary<Script> = FastCheck.tuple(
  scriptOf({ defects: 0, deadlines: false }),
  FastCheck.integer({ min: 100, max: 2500 }),
  FastCheck.array(FastCheck.option(FastCheck.integer({ min: 0, max: 1200 }), { nil: undefined }), {
    minLength: maxAttempts,
    maxLength: maxAttempts
  })
).map(([script, maxElapsed, hints]) => ({
  ...script,
  hints: true,
  maxRetryAfter: 30_000,
  schedule: { ...script.schedule, maxAttempts, maxElapsed },
  attempts: script.attempts.map((attempt, i) => ({
    latency: attempt.latency,
    outcome: i === maxAttempts - 1 ? attempt.outcome : { kind: "fail" as const, retryable: true, hint: hints[i] }
  }))
}))

const check = (script: Script) =>
  Effect.gen(function*() {
    const expected = simulate(script)
    FastCheck.pre(expected !== undefined)
    const actual = yield* run(script, Random.fixed([script.unit]))
    expect(actual).toEqual(expected)
  })

describe("model Retry: attempts, waits, events and the answer over virtual time", () => {
  it.effect.prop(
    "attempts start at the model's times, every decision is the model's, and the answer is the model's",
    [scriptOf({ defects: 0, deadlines: false })],
    ([script]) => check(script),
    { fastCheck: { seed: 9101, numRuns: 120 } }
  )

  it.effect.prop(
    "a defect or an interruption ends the call as it is, with no further attempt and no event for it",
    [scriptOf({ defects: 2, deadlines: false })],
    ([script]) => check(script),
    { fastCheck: { seed: 9102, numRuns: 80 } }
  )
})

describe("model Retry: maxElapsed counts from the first failure, a server's wait included", () => {
  it.effect.prop(
    "no retry is made that would start later than maxElapsed after the first failure; the rest is the model's",
    [elapsedScriptOf],
    ([script]) => check(script),
    { fastCheck: { seed: 9106, numRuns: 80 } }
  )
})

describe("model Retry: under a total deadline and per-attempt timeouts", () => {
  it.effect.prop(
    "no retry waits into the deadline, attempt timeouts fail as documented, and the answer is the model's",
    [scriptOf({ defects: 1, deadlines: true })],
    ([script]) => check(script),
    { fastCheck: { seed: 9103, numRuns: 120 } }
  )

  it.effect.prop(
    "a retry due exactly at the deadline is not made: the original failure comes back with reason \"deadline\"",
    [edgeScriptOf({ defects: 0 })],
    ([script]) => check(script),
    { fastCheck: { seed: 9105, numRuns: 150 } }
  )
})

// Laws that hold whatever `Random` draws: checked on runs under a seeded `Random.make`, with no exact model.
const checkLaws = (script: Script, seed: number) =>
  Effect.gen(function*() {
    const observed = yield* run(script, Random.make(seed))
    const schedule = script.schedule
    const deadlineAt = script.deadline?.timeout ?? Infinity
    const retries = observed.events.filter((event) => event.retrying)
    const firstFailure = observed.events[0]?.at
    retries.forEach((event, n) => {
      // the wait reported is the wait taken: the next attempt starts `delay` after the decision
      expect(observed.starts[event.attempt - 1]).toBe(event.at + event.delay)
      // no retry starts at or after an established or armed deadline
      expect(event.at + event.delay).toBeLessThan(deadlineAt)
      // `maxElapsed` counts from the first failure
      if (schedule.maxElapsed !== undefined) {
        expect(event.at + event.delay - firstFailure!).toBeLessThanOrEqual(schedule.maxElapsed)
      }
      if (event.reason === "backoff" && schedule.kind === "exponential") {
        const t = Math.min(schedule.maxDelay, schedule.baseDelay * Math.pow(schedule.factor, n))
        // the cap holds in every mode; jitter only shortens the envelope (decorrelated has its own)
        expect(event.delay).toBeLessThanOrEqual(schedule.maxDelay)
        if (schedule.jitter !== "decorrelated") expect(event.delay).toBeLessThanOrEqual(Math.floor(t))
        if (schedule.jitter === "equal") expect(event.delay).toBeGreaterThanOrEqual(Math.floor(t / 2))
        if (schedule.jitter === "decorrelated") {
          expect(event.delay).toBeGreaterThanOrEqual(Math.min(schedule.maxDelay, schedule.baseDelay))
        }
        if ((schedule.jitter === "full" || schedule.jitter === "equal") && t >= 1) {
          expect(event.delay).toBeGreaterThanOrEqual(1)
        }
      }
      if (event.reason === "retry-after") {
        // the server's wait is a floor; the jitter added never passes its own bounds
        const hint = script.attempts[event.attempt - 2]!.outcome
        expect(hint.kind).toBe("fail")
        const millis = (hint as { readonly hint: number }).hint
        expect(event.delay).toBeGreaterThanOrEqual(millis)
        expect(event.delay).toBeLessThanOrEqual(
          Math.max(
            millis,
            Math.min(
              script.maxRetryAfter,
              Math.floor(millis + Math.min(millis * script.retryAfterJitter, script.maxRetryAfterJitter))
            )
          )
        )
      }
    })
    // at most `maxAttempts` attempts, and a give-up is the last event
    expect(observed.starts.length).toBeLessThanOrEqual(schedule.maxAttempts)
    expect(observed.events.slice(0, -1).every((event) => event.retrying)).toBe(true)
  })

describe("model Retry: a RetryBudget", () => {
  it.effect.prop(
    "one request deposited per call, one retry withdrawn per retry made; a refusal wraps the original failure",
    [
      FastCheck.tuple(
        persistent(scriptOf({ defects: 0, deadlines: false })),
        FastCheck.record({
          ratio: FastCheck.constantFrom(0, 0.5, 1, 2),
          minRetries: FastCheck.constantFrom(0, 1, 2, 3),
          prior: FastCheck.integer({ min: 0, max: 4 })
        })
      ).map(([script, budget]) => ({ ...script, budget }))
    ],
    ([script]) => check(script),
    { fastCheck: { seed: 9107, numRuns: 120 } }
  )
})

describe("model Retry: laws under a seeded Random", () => {
  it.effect.prop(
    "waits never exceed the cap, jitter only shortens, hints are floors, maxElapsed and the deadline bound every retry",
    [persistent(scriptOf({ defects: 0, deadlines: true })), FastCheck.integer()],
    ([script, seed]) => checkLaws(script, seed),
    { fastCheck: { seed: 9104, numRuns: 120 } }
  )
})
