/**
 * Model-based properties of `Hedge.hedge` (packages/policy/src/Hedge.ts), checked against a reference model written
 * from the module docs: each copy of the hedged effect gets a generated latency and outcome (a value, a failure
 * `while` lets the next copy start, or one it refuses), the call runs on the TestClock, and the launch time of every
 * copy, how many were launched, the answer and when it came, which copies were interrupted (and that none is left
 * running), `onHedge`'s events and the `RetryBudget` counts must all equal the model's.
 *
 * The model, an event simulation in whole milliseconds (documented rules): copy 0 starts at 0; while fewer than
 * `maxHedges` hedges were sent, the next one starts `delay` after the previous copy started; a copy failing with a
 * failure `while` accepts starts the next hedge at once (trigger "failure"), and the following one is due `delay`
 * after it; the first success is the answer, and every copy still running is interrupted (and awaited) before it is
 * returned; a failure `while` refuses is the answer at once, the copies running interrupted, except a `pushback`
 * failure or a policy's rejection (here a `BulkheadRejected`) while another copy runs, which only stops hedging; when
 * every copy failed, the answer is the latest pushback if any, else the last failure (`failure: "last"`, the
 * default) or the first (`failure: "first"`); a refused failure with no other copy running is the answer. With a
 * `budgetKey`, the call deposits one request at its start (unless `deposit: false`) and each hedge withdraws one
 * retry before it starts; a refusal sends no more hedges in this call (the copies running still answer). `onHedge`
 * is told, before each hedge starts, its index (1 for the first), its trigger and the time since the call started.
 * Rules taken from the code (the docs are silent): after a failure, the next hedge's `delay` counts from that
 * failure even when the budget refused it; `maxHedges: 0` runs the effect as it is (it still deposits the call, as
 * the docs say "one request per call").
 *
 * Scripts where two events fall on the same millisecond (two copies settling, or one settling when a hedge is due)
 * are discarded: the docs do not order them. The budget is fresh per run (prior requests deposited up front, a
 * window far longer than a call).
 *
 * Rules taken from the code: a copy's failure `while` accepts that came before a rejection still counts as the
 * `first` failure.
 *
 * With `Deadline.establish` around the call, no hedge starts at or after the deadline, and none is sent after that
 * (the copies, which do not bound themselves here, run on).
 *
 * Left out: `percentile` delays, armed deadlines (`withDeadline`), defects, `enabled`, the default `while`.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Deadline from "@sturdy/policy/Deadline"
import * as Hedge from "@sturdy/policy/Hedge"
import * as RetryBudget from "@sturdy/policy/RetryBudget"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as FiberRef from "effect/FiberRef"
import { advanceToDone } from "./utils/advance.js"

type Outcome = "ok" | "fail" | "fatal" | "pushback" | "reject"

interface CopyScript {
  readonly latency: number
  readonly outcome: Outcome
}

interface BudgetScript {
  readonly ratio: number
  readonly minRetries: number
  readonly prior: number
  readonly deposit: boolean
}

interface Script {
  readonly delay: number
  readonly maxHedges: number
  readonly failure: "first" | "last" | undefined
  /** one per copy that may start (maxHedges + 1) */
  readonly copies: ReadonlyArray<CopyScript>
  readonly budget: BudgetScript | undefined
  /** `Deadline.establish` around the call, in milliseconds from its start */
  readonly deadline?: number | undefined
}

interface Failure {
  readonly kind: Exclude<Outcome, "ok">
  readonly copy: number
  /** a policy's rejection ("reject"): a bulkhead turned the copy away */
  readonly _tag?: "BulkheadRejected"
}

const failureOf = (kind: Failure["kind"], copy: number): Failure =>
  kind === "reject" ? { kind, copy, _tag: "BulkheadRejected" } : { kind, copy }

type Answer = { readonly _tag: "Success"; readonly value: number } | {
  readonly _tag: "Failure"
  readonly error: Failure
}

interface Observed {
  /** [copy, start ms] in launch order */
  readonly starts: Array<readonly [number, number]>
  /** [copy, how it ended, when] by copy */
  readonly ends: Array<readonly [number, "settled" | "interrupted" | "running", number]>
  readonly answer: Answer
  readonly answeredAt: number
  readonly hedges: Array<{ readonly index: number; readonly trigger: "delay" | "failure"; readonly elapsed: number }>
  readonly budget: { readonly requests: number; readonly retries: number } | undefined
}

// ---------------------------------------------------------------------------------------------------------------
// the reference model

/** What the docs say happens, or `undefined` when two events fall on one millisecond (the script is discarded). */
const simulate = (script: Script): Observed | undefined => {
  const { copies, delay, maxHedges } = script
  const starts: Array<readonly [number, number]> = []
  const hedges: Observed["hedges"] = []
  const settledAt = new Map<number, number>()
  let requests = script.budget?.prior ?? 0
  let retries = 0
  const budgetOn = script.budget !== undefined
  if (budgetOn && script.budget!.deposit) requests++

  const running = new Set<number>()
  const start = (now: number) => {
    const index = starts.length
    starts.push([index, now])
    running.add(index)
  }
  let hedging = true
  const canHedge = () => hedging && starts.length - 1 < maxHedges
  const tryHedge = (now: number, trigger: "delay" | "failure") => {
    if (script.deadline !== undefined && now >= script.deadline) {
      hedging = false
      return
    }
    if (budgetOn) {
      const { minRetries, ratio } = script.budget!
      if (!(retries < minRetries + ratio * requests)) {
        hedging = false
        return
      }
      retries++
    }
    hedges.push({ index: starts.length, trigger, elapsed: now })
    start(now)
  }
  const finish = (answer: Answer, now: number): Observed => ({
    starts,
    ends: starts.map(([copy]) =>
      settledAt.has(copy)
        ? [copy, "settled", settledAt.get(copy)!] as const
        : [copy, "interrupted", now] as const
    ),
    answer,
    answeredAt: now,
    hedges,
    budget: script.budget === undefined ? undefined : { requests, retries }
  })

  start(0)
  if (maxHedges === 0) {
    const only = copies[0]!
    settledAt.set(0, only.latency)
    return finish(
      only.outcome === "ok"
        ? { _tag: "Success", value: 0 }
        : { _tag: "Failure", error: failureOf(only.outcome, 0) },
      only.latency
    )
  }
  let nextHedgeAt = delay
  let first: Failure | undefined
  let pushedBack: Failure | undefined
  for (;;) {
    // the next copy to settle, and whether another settles on the same millisecond
    let next = -1
    let nextAt = Infinity
    let tie = false
    for (const copy of running) {
      const at = starts[copy]![1] + copies[copy]!.latency
      if (at < nextAt) {
        next = copy
        nextAt = at
        tie = false
      } else if (at === nextAt) {
        tie = true
      }
    }
    const timerAt = canHedge() ? nextHedgeAt : Infinity
    if (timerAt < nextAt) {
      tryHedge(timerAt, "delay")
      nextHedgeAt = timerAt + delay
      continue
    }
    if (tie || timerAt === nextAt) return undefined
    running.delete(next)
    settledAt.set(next, nextAt)
    const outcome = copies[next]!.outcome
    if (outcome === "ok") return finish({ _tag: "Success", value: next }, nextAt)
    const error = failureOf(outcome, next)
    if (outcome !== "fail") {
      // refused by `while`: with no other copy running it (or an earlier pushback) is the answer; a pushback or a
      // policy's rejection while others run only stops hedging; any other failure is the answer at once
      if (outcome === "pushback") pushedBack = error
      if (running.size === 0) return finish({ _tag: "Failure", error: pushedBack ?? error }, nextAt)
      if (outcome === "fatal") return finish({ _tag: "Failure", error }, nextAt)
      hedging = false
      continue
    }
    first ??= error
    if (canHedge()) {
      tryHedge(nextAt, "failure")
      nextHedgeAt = nextAt + delay
    }
    if (running.size === 0) {
      return finish({ _tag: "Failure", error: pushedBack ?? (script.failure === "first" ? first : error) }, nextAt)
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// the real hedge on the TestClock

const run = (script: Script) =>
  Effect.gen(function*() {
    const starts: Array<readonly [number, number]> = []
    const ends = new Map<number, readonly ["settled" | "interrupted", number]>()
    const hedges: Array<Observed["hedges"][number]> = []
    const attempt: Effect.Effect<number, Failure> = Effect.gen(function*() {
      const index = yield* FiberRef.get(Hedge.currentIndex)
      starts.push([index, yield* Clock.currentTimeMillis])
      const copy = script.copies[index]!
      yield* Effect.sleep(Duration.millis(copy.latency))
      if (copy.outcome === "ok") return index
      return yield* Effect.fail(failureOf(copy.outcome, index))
    }).pipe(
      Effect.onExit((exit) =>
        Effect.gen(function*() {
          const index = yield* FiberRef.get(Hedge.currentIndex)
          ends.set(index, [Exit.isInterrupted(exit) ? "interrupted" : "settled", yield* Clock.currentTimeMillis])
        })
      )
    )
    const options = {
      delay: Duration.millis(script.delay),
      maxHedges: script.maxHedges,
      failure: script.failure,
      while: (failure: unknown) => (failure as Failure).kind === "fail",
      pushback: (failure: unknown) => (failure as Failure).kind === "pushback",
      onHedge: (event: Hedge.HedgeEvent) =>
        Effect.sync(() => {
          hedges.push({ index: event.index, trigger: event.trigger, elapsed: Duration.toMillis(event.elapsed) })
        })
    }
    const budget = RetryBudget.unsafeMake({
      ratio: script.budget?.ratio ?? 0,
      minRetries: script.budget?.minRetries ?? 0,
      window: "1 hour"
    })
    for (let i = 0; i < (script.budget?.prior ?? 0); i++) yield* budget.deposit("api")
    const plain = script.budget === undefined
      ? Hedge.hedge(attempt, options)
      : Hedge.hedge(attempt, { ...options, budgetKey: "api", deposit: script.budget.deposit }).pipe(
        Effect.provideService(RetryBudget.RetryBudget, budget)
      )
    const hedged = script.deadline === undefined
      ? plain
      : plain.pipe(Deadline.establish(Duration.millis(script.deadline)))
    const exit = yield* advanceToDone(Effect.zip(Effect.exit(hedged), Clock.currentTimeMillis))
    if (Exit.isFailure(exit)) return yield* Effect.die("the exit is caught")
    const [result, answeredAt] = exit.value
    const answer: Answer = Exit.isSuccess(result)
      ? { _tag: "Success", value: result.value }
      : { _tag: "Failure", error: result.cause._tag === "Fail" ? result.cause.error : (String(result.cause) as never) }
    const stats = yield* budget.stats("api")
    const observed: Observed = {
      starts,
      ends: starts.map(([copy]) => [copy, ...(ends.get(copy) ?? ["running", -1] as const)] as const),
      answer,
      answeredAt,
      hedges,
      budget: script.budget === undefined ? undefined : { requests: stats.requests, retries: stats.retries }
    }
    return observed
  })

// ---------------------------------------------------------------------------------------------------------------
// scripts

const outcome = (weights: Record<Outcome, number>) =>
  FastCheck.oneof(
    ...(Object.entries(weights) as Array<[Outcome, number]>).map(([outcome, weight]) => ({
      arbitrary: FastCheck.constant(outcome),
      weight
    }))
  )

const scriptOf = (
  options: { readonly budget: boolean; readonly fatal: number; readonly stops?: number; readonly deadline?: boolean }
): FastCheck.Arbitrary<Script> =>
  FastCheck.integer({ min: 0, max: 4 }).chain((maxHedges) =>
    FastCheck.record({
      delay: FastCheck.oneof(
        { arbitrary: FastCheck.integer({ min: 1, max: 300 }), weight: 8 },
        { arbitrary: FastCheck.constant(0), weight: 1 }
      ),
      maxHedges: FastCheck.constant(maxHedges),
      failure: FastCheck.constantFrom("first" as const, "last" as const, undefined),
      copies: FastCheck.array(
        FastCheck.record({
          latency: FastCheck.integer({ min: 1, max: 1000 }),
          outcome: outcome({
            ok: 3,
            fail: 3,
            fatal: options.fatal,
            pushback: options.stops ?? 0,
            reject: options.stops ?? 0
          })
        }),
        { minLength: maxHedges + 1, maxLength: maxHedges + 1 }
      ),
      budget: options.budget
        ? FastCheck.record({
          ratio: FastCheck.constantFrom(0, 0.5, 1),
          minRetries: FastCheck.constantFrom(0, 1, 2, 3),
          prior: FastCheck.integer({ min: 0, max: 4 }),
          deposit: FastCheck.boolean()
        })
        : FastCheck.constant(undefined),
      deadline: options.deadline === true ? FastCheck.integer({ min: 1, max: 1200 }) : FastCheck.constant(undefined)
    })
  )

const check = (script: Script) =>
  Effect.gen(function*() {
    const expected = simulate(script)
    FastCheck.pre(expected !== undefined)
    const actual = yield* run(script)
    // no copy is left running once the call has answered
    expect(actual.ends.filter(([, end]) => end === "running")).toEqual([])
    expect(actual).toEqual(expected)
  })

describe("model Hedge: launches, answer and interruption over virtual time", () => {
  it.effect.prop(
    "copies start at the model's times, the answer is the model's, and the losers are interrupted when it comes",
    [scriptOf({ budget: false, fatal: 1 })],
    ([script]) => check(script),
    { fastCheck: { seed: 8101, numRuns: 300 } }
  )
})

describe("model Hedge: RetryBudget accounting", () => {
  it.effect.prop(
    "one deposit per call (unless deposit: false), one withdrawal per hedge, and a refusal sends no more hedges",
    [scriptOf({ budget: true, fatal: 1 })],
    ([script]) => check(script),
    { fastCheck: { seed: 8102, numRuns: 300 } }
  )
})

describe("model Hedge: pushback and policy rejections only stop hedging", () => {
  it.effect.prop(
    "a pushback or a rejection with copies running sends no more copies; the call answers as the model says",
    [scriptOf({ budget: false, fatal: 1, stops: 2 })],
    ([script]) => check(script),
    { fastCheck: { seed: 8103, numRuns: 300 } }
  )
})

describe("model Hedge: no hedge starts at or after the caller's deadline", () => {
  it.effect.prop(
    "under Deadline.establish, hedges due at or after the deadline are not sent, and the answer is the model's",
    [scriptOf({ budget: true, fatal: 1, stops: 1, deadline: true })],
    ([script]) => check(script),
    { fastCheck: { seed: 8104, numRuns: 250 } }
  )
})
