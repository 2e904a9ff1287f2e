/**
 * Model-based properties of `Deadline` (packages/policy/src/Deadline.ts) and `Workflow`
 * (packages/policy/src/Workflow.ts), checked against reference models written from the two modules' docs, on the
 * TestClock.
 *
 * Nested limits: a generated stack of `withDeadline`, `attemptTimeout` and `establish` (with or without its own
 * `attemptTimeout` cap) layers, each with a generated timeout (0 included: a deadline already passed) and a generated
 * time spent inside it before the next layer is entered; the innermost layer works a generated time and succeeds. In
 * every layer a probe reads `Deadline.current`, `Deadline.remaining` and `Deadline.ensureRemaining(minimum)`. The
 * model (documented rules): the deadline in force is the soonest of those entered (an inner limit only shortens it;
 * an equal one is not sooner, so the outer one stays); `remaining` is what is left of it, zero once passed, `None`
 * with none set; `ensureRemaining(m)` fails when less than `m` is left (or none), with the `reason` and `timeout` of
 * the limit in force; an `attemptTimeout` inside an `establish` with a cap is no longer than the cap (and reports the
 * cap as its `timeout`); a `withDeadline`/`attemptTimeout` entered with no time left fails at once with the limit in
 * force (its own, when it is itself the one that has none left); an armed limit interrupts what runs when it passes
 * (`"Deadline"` for `withDeadline`, `"Attempt"` for `attemptTimeout`, with its `timeout`); an `establish`ed one arms
 * nothing, but a `withDeadline`/`attemptTimeout` inside it that is looser arms a timer for it, which fails with the
 * established limit's `reason` and `timeout`.
 * Rules taken from the code: the `timeout` of an `establish`ed limit is the `establish`'s own timeout.
 *
 * Workflow: a record of 1 to 4 calls (each a latency and a value or a failure), run with a generated `concurrency`,
 * an optional `deadline`, inside an optional enclosing `establish`, entered after a generated delay. The model:
 * the shared deadline is the workflow's own or the enclosing one, whichever is sooner (the enclosing one on a tie);
 * the calls start in key order as `concurrency` allows; all-or-nothing answers the record when every call succeeded,
 * the first failure (interrupting the calls still running, starting no more) or, when the deadline passes first,
 * `DeadlineExceeded` of the limit in force; best-effort answers every call's `Either`, a call still running when the
 * deadline passes being interrupted and answering `DeadlineExceeded`; a workflow entered after its deadline starts no
 * call. Rule taken from the code: under a `concurrency` limit, a best-effort call whose turn comes at or after the
 * deadline is not started and answers `DeadlineExceeded`.
 *
 * Scripts where two events fall on the same millisecond (a sleep ending when a timer fires, two calls ending together)
 * are discarded: the docs do not order them.
 *
 * Left out: `selfEnforcing` and `disconnect` (live-clock transports), `header`, negative timeouts, an enclosing
 * `withDeadline` around a workflow (its timer and the workflow's fire on the same millisecond).
 *
 * Mutants checked (each made the property named fail with a shrunk counterexample; the file was restored from a copy):
 * - internal/deadline.ts: a limit entered after the one in force passed not failing at once ("soonest entered");
 * - internal/deadline.ts: `attemptTimeout` not capped by `establish`'s `attemptTimeout` ("soonest entered");
 * - internal/deadline.ts: an `establish` ending with the limit in force replacing it (`<` made `<=`; "same millisecond");
 * - internal/deadline.ts: a limit ending with the one in force arming its own timer (`>=` made `>`; "same millisecond");
 * - internal/deadline.ts: a looser limit under `establish` arming no timer for it ("soonest entered");
 * - internal/deadline.ts: `ensureRemaining` refusing exactly the minimum left (`<` made `<=`; "soonest entered", "only
 *   established");
 * - internal/deadline.ts: `remaining` not floored at zero ("soonest entered", "only established");
 * - internal/workflow.ts: a call entered exactly at the deadline started (`<=` made `<`; both Workflow properties);
 * - internal/workflow.ts: all-or-nothing ignoring `concurrency` ("all-or-nothing");
 * - internal/workflow.ts: the shared deadline's failure carrying the wrong `timeout` (both Workflow properties);
 * - internal/workflow.ts: best-effort arming its deadline (`withDeadline` for `establish`; "best-effort");
 * - internal/workflow.ts: all-or-nothing not bounded by the deadline ("all-or-nothing").
 */
import { describe, expect, it } from "@effect/vitest"
import * as Deadline from "@sturdy/policy/Deadline"
import * as Workflow from "@sturdy/policy/Workflow"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Option from "effect/Option"
import { advanceToDone } from "./utils/advance.js"

interface Exceeded {
  readonly _tag: "DeadlineExceeded"
  readonly reason: "Deadline" | "Attempt"
  readonly timeout: number
}

const exceededOf = (failure: Deadline.DeadlineExceeded): Exceeded => ({
  _tag: "DeadlineExceeded",
  reason: failure.reason,
  timeout: Duration.toMillis(failure.timeout)
})

// ---------------------------------------------------------------------------------------------------------------
// nested limits

type Kind = "withDeadline" | "attemptTimeout" | "establish"

interface Layer {
  readonly kind: Kind
  readonly timeout: number
  /** `establish`'s `attemptTimeout` option */
  readonly cap: number | undefined
  /** time spent in this layer before the next one is entered (the innermost layer's work) */
  readonly spend: number
  /** the probe's `ensureRemaining` minimum */
  readonly minimum: number
}

interface Probe {
  readonly layer: number
  readonly now: number
  readonly current: number | undefined
  readonly remaining: number | undefined
  readonly ensured: "ok" | Exceeded
}

interface Nested {
  readonly probes: ReadonlyArray<Probe>
  readonly answer: { readonly _tag: "Success" } | { readonly _tag: "Failure"; readonly error: Exceeded }
  readonly answeredAt: number
}

interface Limit {
  readonly at: number
  readonly failure: Exceeded
  readonly armed: boolean
  readonly cap: number
}

const simulateNested = (layers: ReadonlyArray<Layer>): Nested | undefined => {
  const probes: Array<Probe> = []
  let limit: Limit = {
    at: Infinity,
    failure: { _tag: "DeadlineExceeded", reason: "Deadline", timeout: Infinity },
    armed: true,
    cap: Infinity
  }
  // the timers armed by the layers entered so far
  const timers: Array<{ readonly at: number; readonly failure: Exceeded }> = []
  let now = 0
  const fail = (error: Exceeded, at: number): Nested => ({ probes, answer: { _tag: "Failure", error }, answeredAt: at })
  for (const [index, layer] of layers.entries()) {
    if (layer.kind === "establish") {
      const at = now + layer.timeout
      const cap = layer.cap !== undefined && layer.cap < limit.cap ? layer.cap : limit.cap
      limit = at < limit.at
        ? { at, failure: { _tag: "DeadlineExceeded", reason: "Deadline", timeout: layer.timeout }, armed: false, cap }
        : { ...limit, cap }
    } else {
      const reason = layer.kind === "withDeadline" ? "Deadline" : "Attempt"
      const own = layer.kind === "attemptTimeout" && limit.cap < layer.timeout ? limit.cap : layer.timeout
      const at = now + own
      // entered with no time left
      if (limit.at <= now) return fail(limit.failure, now)
      if (at <= now) return fail({ _tag: "DeadlineExceeded", reason, timeout: own }, now)
      if (at >= limit.at) {
        // looser: the limit in force stays; an established one is armed here
        if (!limit.armed) {
          limit = { ...limit, armed: true }
          timers.push({ at: limit.at, failure: limit.failure })
        }
      } else {
        limit = { at, failure: { _tag: "DeadlineExceeded", reason, timeout: own }, armed: true, cap: limit.cap }
        timers.push({ at, failure: limit.failure })
      }
    }
    const left = limit.at - now
    probes.push({
      layer: index,
      now,
      current: Number.isFinite(limit.at) ? limit.at : undefined,
      remaining: Number.isFinite(limit.at) ? Math.max(0, left) : undefined,
      ensured: Number.isFinite(limit.at) && (left < layer.minimum || left <= 0) ? limit.failure : "ok"
    })
    const end = now + layer.spend
    const fires = Math.min(...timers.map((timer) => timer.at))
    if (fires === end) return undefined
    if (fires < end) return fail(timers.find((timer) => timer.at === fires)!.failure, fires)
    now = end
  }
  return { probes, answer: { _tag: "Success" }, answeredAt: now }
}

const runNested = (layers: ReadonlyArray<Layer>) =>
  Effect.gen(function*() {
    const probes: Array<Probe> = []
    const probe = (index: number, minimum: number) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const current = yield* Deadline.current
        const remaining = yield* Deadline.remaining
        const ensured = yield* Effect.either(Deadline.ensureRemaining(Duration.millis(minimum)))
        probes.push({
          layer: index,
          now,
          current: Option.getOrUndefined(current),
          remaining: Option.getOrUndefined(Option.map(remaining, Duration.toMillis)),
          ensured: Either.isRight(ensured) ? "ok" : exceededOf(ensured.left)
        })
      })
    let program: Effect.Effect<void, Deadline.DeadlineExceeded> = Effect.void
    for (let index = layers.length - 1; index >= 0; index--) {
      const layer = layers[index]!
      const inner = program
      const body = probe(index, layer.minimum).pipe(
        Effect.zipRight(Effect.sleep(Duration.millis(layer.spend))),
        Effect.zipRight(inner)
      )
      const timeout = Duration.millis(layer.timeout)
      program = layer.kind === "withDeadline"
        ? Deadline.withDeadline(body, timeout)
        : layer.kind === "attemptTimeout"
        ? Deadline.attemptTimeout(body, timeout)
        : Deadline.establish(body, timeout, {
          attemptTimeout: layer.cap === undefined ? undefined : Duration.millis(layer.cap)
        })
    }
    const exit = yield* advanceToDone(Effect.zip(Effect.exit(program), Clock.currentTimeMillis))
    if (Exit.isFailure(exit)) return yield* Effect.die("the exit is caught")
    const [result, answeredAt] = exit.value
    if (Exit.isSuccess(result)) return { probes, answer: { _tag: "Success" }, answeredAt } satisfies Nested
    const failure = Cause.failureOption(result.cause)
    if (Option.isNone(failure)) return yield* Effect.die(`unexpected cause ${Cause.pretty(result.cause)}`)
    return { probes, answer: { _tag: "Failure", error: exceededOf(failure.value) }, answeredAt } satisfies Nested
  })

const layerOf: FastCheck.Arbitrary<Layer> = FastCheck.record({
  kind: FastCheck.constantFrom<Kind>("withDeadline", "attemptTimeout", "establish"),
  timeout: FastCheck.oneof(
    { arbitrary: FastCheck.integer({ min: 1, max: 800 }), weight: 8 },
    { arbitrary: FastCheck.constant(0), weight: 1 }
  ),
  cap: FastCheck.option(FastCheck.integer({ min: 0, max: 500 }), { nil: undefined, freq: 2 }),
  spend: FastCheck.integer({ min: 0, max: 300 }),
  minimum: FastCheck.integer({ min: 0, max: 500 })
})

const layersOf = FastCheck.array(layerOf, { minLength: 1, maxLength: 5 })

// On a grid of 100 ms, limits entered at different times often end on the same millisecond (an equal limit is not
// sooner) and a timer often fires as a sleep ends (discarded); the minimum keeps off the grid.
const gridLayersOf = FastCheck.array(
  FastCheck.record({
    kind: FastCheck.constantFrom<Kind>("withDeadline", "attemptTimeout", "establish"),
    timeout: FastCheck.integer({ min: 0, max: 6 }).map((n) => n * 100),
    cap: FastCheck.option(FastCheck.integer({ min: 0, max: 4 }).map((n) => n * 100), { nil: undefined, freq: 2 }),
    spend: FastCheck.integer({ min: 0, max: 3 }).map((n) => n * 100),
    minimum: FastCheck.integer({ min: 0, max: 500 })
  }),
  { minLength: 2, maxLength: 5 }
)

const checkNested = (layers: ReadonlyArray<Layer>) =>
  Effect.gen(function*() {
    const expected = simulateNested(layers)
    FastCheck.pre(expected !== undefined)
    const actual = yield* runNested(layers)
    expect(actual).toEqual(expected)
  })

describe("model Deadline: nested limits", () => {
  it.effect.prop(
    "the deadline in force is the soonest entered; remaining, ensureRemaining and the failure that ends the call are the model's",
    [layersOf],
    ([layers]) => checkNested(layers),
    { fastCheck: { seed: 9201, numRuns: 180 } }
  )

  it.effect.prop(
    "a limit ending on the same millisecond as the one in force is not sooner: the outer one stays, reason and timeout",
    [gridLayersOf],
    ([layers]) => checkNested(layers),
    { fastCheck: { seed: 9205, numRuns: 150 } }
  )

  it.effect.prop(
    "with only established limits nothing is interrupted: the work runs to its end and remaining reaches zero",
    [FastCheck.array(layerOf.map((layer) => ({ ...layer, kind: "establish" as const })), {
      minLength: 1,
      maxLength: 5
    })],
    ([layers]) => checkNested(layers),
    { fastCheck: { seed: 9202, numRuns: 100 } }
  )
})

// ---------------------------------------------------------------------------------------------------------------
// Workflow

class CallFailed extends Data.TaggedError("CallFailed")<{ readonly call: string }> {}

interface CallScript {
  readonly latency: number
  readonly ok: boolean
}

interface WorkflowScript {
  readonly calls: ReadonlyArray<CallScript>
  readonly mode: "all-or-nothing" | "best-effort"
  readonly concurrency: number | "unbounded"
  readonly deadline: number | undefined
  readonly enclosing: number | undefined
  /** time spent inside the enclosing deadline before the workflow is entered */
  readonly enter: number
}

type CallResult =
  | { readonly _tag: "Right"; readonly value: string }
  | { readonly _tag: "Left"; readonly error: Exceeded | { readonly _tag: "CallFailed"; readonly call: string } }

interface WorkflowObserved {
  /** when each call started, or `undefined` for one never started */
  readonly starts: Record<string, number | undefined>
  /** the calls interrupted */
  readonly interrupted: ReadonlyArray<string>
  readonly answer:
    | { readonly _tag: "Success"; readonly value: Record<string, string | CallResult> }
    | { readonly _tag: "Failure"; readonly error: CallResult & { readonly _tag: "Left" } extends infer L ? L : never }
  readonly answeredAt: number
}

const keyOf = (index: number) => `c${index}`

const simulateWorkflow = (script: WorkflowScript): WorkflowObserved | undefined => {
  const t0 = script.enter
  const outerAt = script.enclosing ?? Infinity
  const ownAt = script.deadline === undefined ? Infinity : t0 + script.deadline
  const at = ownAt < outerAt ? ownAt : outerAt
  const spent: Exceeded = {
    _tag: "DeadlineExceeded",
    reason: "Deadline",
    timeout: ownAt < outerAt ? script.deadline! : script.enclosing!
  }
  const keys = script.calls.map((_, index) => keyOf(index))
  const starts: Record<string, number | undefined> = Object.fromEntries(keys.map((key) => [key, undefined]))
  const interrupted: Array<string> = []
  const results: Record<string, CallResult> = {}
  if (at <= t0) {
    return script.mode === "all-or-nothing"
      ? { starts, interrupted, answer: { _tag: "Failure", error: { _tag: "Left", error: spent } }, answeredAt: t0 }
      : {
        starts,
        interrupted,
        answer: {
          _tag: "Success",
          value: Object.fromEntries(keys.map((key) => [key, { _tag: "Left", error: spent }]))
        },
        answeredAt: t0
      }
  }
  const limit = script.concurrency === "unbounded" ? Infinity : script.concurrency
  const running = new Map<number, number>() // call index -> end time
  let next = 0
  let now = t0
  const startWhatFits = () => {
    while (next < script.calls.length && running.size < limit) {
      const index = next++
      if (script.mode === "best-effort" && at <= now) {
        // its turn came at or after the deadline: not started
        results[keyOf(index)] = { _tag: "Left", error: spent }
        continue
      }
      starts[keyOf(index)] = now
      running.set(index, now + script.calls[index]!.latency)
    }
  }
  startWhatFits()
  while (running.size > 0) {
    const ends = [...running.values()]
    const soonest = Math.min(...ends)
    if (ends.filter((end) => end === soonest).length > 1 || soonest === at) return undefined
    if (at < soonest) {
      now = at
      for (const index of running.keys()) {
        interrupted.push(keyOf(index))
        results[keyOf(index)] = { _tag: "Left", error: spent }
      }
      running.clear()
      if (script.mode === "all-or-nothing") {
        return {
          starts,
          interrupted,
          answer: { _tag: "Failure", error: { _tag: "Left", error: spent } },
          answeredAt: at
        }
      }
      startWhatFits()
      continue
    }
    now = soonest
    const index = [...running.entries()].find(([, end]) => end === soonest)![0]
    running.delete(index)
    const key = keyOf(index)
    if (script.calls[index]!.ok) {
      results[key] = { _tag: "Right", value: key }
    } else {
      const failure = { _tag: "CallFailed" as const, call: key }
      results[key] = { _tag: "Left", error: failure }
      if (script.mode === "all-or-nothing") {
        for (const other of running.keys()) interrupted.push(keyOf(other))
        return {
          starts,
          interrupted,
          answer: { _tag: "Failure", error: { _tag: "Left", error: failure } },
          answeredAt: now
        }
      }
    }
    startWhatFits()
  }
  const value = script.mode === "all-or-nothing"
    ? Object.fromEntries(keys.map((key) => [key, key]))
    : Object.fromEntries(keys.map((key) => [key, results[key]!]))
  return { starts, interrupted, answer: { _tag: "Success", value }, answeredAt: now }
}

const runWorkflow = (script: WorkflowScript) =>
  Effect.gen(function*() {
    const keys = script.calls.map((_, index) => keyOf(index))
    const starts: Record<string, number | undefined> = Object.fromEntries(keys.map((key) => [key, undefined]))
    const interrupted: Array<string> = []
    const calls: Record<string, Effect.Effect<string, CallFailed>> = {}
    script.calls.forEach((call, index) => {
      const key = keyOf(index)
      calls[key] = Effect.gen(function*() {
        starts[key] = yield* Clock.currentTimeMillis
        yield* Effect.sleep(Duration.millis(call.latency))
        if (!call.ok) return yield* Effect.fail(new CallFailed({ call: key }))
        return key
      }).pipe(Effect.onInterrupt(() => Effect.sync(() => interrupted.push(key))))
    })
    const options = {
      deadline: script.deadline === undefined ? undefined : Duration.millis(script.deadline),
      concurrency: script.concurrency
    }
    const workflow: Effect.Effect<Record<string, string | Either.Either<string, unknown>>, unknown> =
      script.mode === "all-or-nothing"
        ? Workflow.allOrNothing(calls, options)
        : Workflow.bestEffort(calls, options)
    const entered = Effect.zipRight(Effect.sleep(Duration.millis(script.enter)), workflow)
    const program = script.enclosing === undefined
      ? entered
      : Deadline.establish(entered, Duration.millis(script.enclosing))
    const exit = yield* advanceToDone(Effect.zip(Effect.exit(program), Clock.currentTimeMillis))
    if (Exit.isFailure(exit)) return yield* Effect.die("the exit is caught")
    const [result, answeredAt] = exit.value
    const errorView = (error: unknown) =>
      Deadline.isDeadlineExceeded(error)
        ? exceededOf(error)
        : { _tag: "CallFailed" as const, call: (error as CallFailed).call }
    let answer: WorkflowObserved["answer"]
    if (Exit.isSuccess(result)) {
      const value: Record<string, string | CallResult> = {}
      for (const [key, entry] of Object.entries(result.value)) {
        value[key] = typeof entry === "string"
          ? entry
          : Either.isRight(entry)
          ? { _tag: "Right", value: entry.right }
          : { _tag: "Left", error: errorView(entry.left) }
      }
      answer = { _tag: "Success", value }
    } else {
      const failure = Cause.failureOption(result.cause)
      if (Option.isNone(failure)) return yield* Effect.die(`unexpected cause ${Cause.pretty(result.cause)}`)
      answer = { _tag: "Failure", error: { _tag: "Left", error: errorView(failure.value) } }
    }
    return { starts, interrupted: interrupted.sort(), answer, answeredAt } satisfies WorkflowObserved
  })

const workflowOf = (mode: WorkflowScript["mode"]): FastCheck.Arbitrary<WorkflowScript> =>
  FastCheck.record({
    calls: FastCheck.array(
      FastCheck.record({
        latency: FastCheck.integer({ min: 1, max: 400 }),
        ok: FastCheck.oneof({ arbitrary: FastCheck.constant(true), weight: 3 }, {
          arbitrary: FastCheck.constant(false),
          weight: 1
        })
      }),
      { minLength: 1, maxLength: 4 }
    ),
    mode: FastCheck.constant(mode),
    concurrency: FastCheck.constantFrom<WorkflowScript["concurrency"]>("unbounded", 1, 2),
    deadline: FastCheck.option(FastCheck.integer({ min: 0, max: 600 }), { nil: undefined, freq: 4 }),
    enclosing: FastCheck.option(FastCheck.integer({ min: 1, max: 800 }), { nil: undefined, freq: 3 }),
    enter: FastCheck.oneof(FastCheck.constant(0), FastCheck.integer({ min: 0, max: 300 }))
  })

const checkWorkflow = (script: WorkflowScript) =>
  Effect.gen(function*() {
    const expected = simulateWorkflow(script)
    FastCheck.pre(expected !== undefined)
    const actual = yield* runWorkflow(script)
    expect(actual).toEqual({ ...expected, interrupted: [...expected!.interrupted].sort() })
  })

describe("model Workflow: calls under one shared deadline", () => {
  it.effect.prop(
    "all-or-nothing: the calls start as concurrency allows; the record, the first failure or the deadline is the model's",
    [workflowOf("all-or-nothing")],
    ([script]) => checkWorkflow(script),
    { fastCheck: { seed: 9203, numRuns: 200 } }
  )

  it.effect.prop(
    "best-effort: every call answers its own Either, a late one DeadlineExceeded, and the workflow never fails",
    [workflowOf("best-effort")],
    ([script]) => checkWorkflow(script),
    { fastCheck: { seed: 9204, numRuns: 200 } }
  )
})
