/**
 * Model-based properties of `Workflow` (packages/policy/src/Workflow.ts) on the TestClock, against a reference model
 * written from its docs: a record of calls "run concurrently (`concurrency`, default unbounded)"; all-or-nothing
 * answers "the record of successes; the first failure interrupts the other calls and is returned"; best-effort answers
 * "a record of `Either` per call, each keeping its own error type" and never fails; `all` is the one `mode` names
 * (all-or-nothing by default); `Successes` / `Results` are records under the calls' own names.
 *
 * A script is a record of 0 to 5 calls under generated names (integer-like names, `constructor`, `__proto__`...), each
 * with a latency (ties allowed) and an end (a value, a typed failure, a defect), a mode, a `concurrency`, and maybe an
 * interruption of the whole workflow from outside at a generated instant. Each call acquires a resource whose
 * finalizer counts its runs. The model starts the calls in key order (`Object.keys`) as `concurrency` allows, a queued
 * call when a slot frees; it predicts each call's start time (or none), which calls are interrupted, the answer and
 * when it comes, the most calls ever in flight, and that every started call's finalizer ran exactly once (and a call
 * never started has none) by the time the workflow answers.
 *
 * Rules taken from the code (documented since): a defect in a call ends either mode with that defect, interrupting
 * the calls still running and starting no more (best-effort's `Either`s hold typed failures only); an interruption
 * from outside interrupts every call running and starts none.
 *
 * Scripts where two calls end on the same millisecond and the order decides the answer (all-or-nothing with a failure
 * or a defect among them; best-effort with a defect) are discarded: the docs do not order them.
 *
 * Left out: the shared deadline (model-Deadline.test.ts covers it: starts, interruption, `DeadlineExceeded` of the
 * limit in force, nested and entered-late workflows).
 *
 * Found and fixed (regressions in Workflow.test.ts):
 * - "a call named __proto__ keeps its name in either mode": a call whose name is `__proto__` (an id given to
 *   `Object.fromEntries`) was lost from an all-or-nothing record and made a best-effort workflow die with
 *   "Not a valid effect";
 * - "a concurrency Effect would misread is refused": `concurrency` 0, a negative number, NaN or 1.5 was accepted
 *   silently (one call at a time, or 1.5 read as 2).
 *
 * Mutants checked (each made the property named fail with a shrunk counterexample; the file was restored from a copy),
 * in internal/workflow.ts:
 * - `concurrency` ignored (always unbounded) → "all-or-nothing ..." and "best-effort ...";
 * - best-effort's calls run with `mode: "default"` (a failure ends the workflow) → "best-effort ...";
 * - the results put back by assignment (`out[key] = value`) → "all-or-nothing ..." and "best-effort ...";
 * - `all` always all-or-nothing → "all ...".
 */
import { describe, expect, it } from "@effect/vitest"
import * as Workflow from "@sturdy/policy/Workflow"
import { Cause, Clock, Data, Duration, Effect, Either, Exit, FastCheck as fc, Fiber, Option } from "effect"
import { advanceToDone } from "./utils/advance.js"

class CallFailed extends Data.TaggedError("CallFailed")<{ readonly call: string }> {}

type End = "ok" | "fail" | "die"

interface CallScript {
  readonly name: string
  readonly latency: number
  readonly end: End
}

type Mode = "all-or-nothing" | "best-effort" | "all" | "all best-effort"

interface Script {
  readonly calls: ReadonlyArray<CallScript>
  readonly mode: Mode
  readonly concurrency: number | "unbounded" | undefined
  /** the caller interrupts the workflow at this instant (odd: never on a scripted one) */
  readonly interruptAt: number | undefined
}

const names = ["a", "b", "user", "0", "10", "2", "constructor", "__proto__", "toString", "x y"]

const scriptArb = (modes: ReadonlyArray<Mode>): fc.Arbitrary<Script> =>
  fc.record({
    calls: fc.uniqueArray(
      fc.record({
        name: fc.constantFrom(...names),
        latency: fc.integer({ min: 0, max: 6 }).map((n) => n * 10),
        end: fc.constantFrom<End>("ok", "ok", "ok", "fail", "die")
      }),
      { selector: (call) => call.name, maxLength: 5 }
    ),
    mode: fc.constantFrom(...modes),
    concurrency: fc.constantFrom<Script["concurrency"]>(undefined, "unbounded", 1, 2, 3),
    interruptAt: fc.option(fc.integer({ min: 0, max: 12 }).map((n) => n * 10 + 5), { nil: undefined, freq: 3 })
  })

// -----------------------------------------------------------------------------
// the model
// -----------------------------------------------------------------------------

type Answer =
  | { readonly _tag: "Record"; readonly value: Record<string, unknown> }
  | { readonly _tag: "Fail"; readonly call: string }
  | { readonly _tag: "Die"; readonly call: string }
  | { readonly _tag: "Interrupted" }

interface Observed {
  readonly starts: Record<string, number>
  readonly interrupted: ReadonlyArray<string>
  readonly finalized: Record<string, number>
  readonly answer: Answer
  readonly answeredAt: number
  readonly maxInFlight: number
}

const valueOf = (name: string) => `value of ${name}`

/** Sets an own property, even one named `__proto__`. */
const put = (record: Record<string, unknown>, key: string, value: unknown) =>
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true })

const model = (s: Script): Observed | undefined => {
  const bestEffort = s.mode === "best-effort" || s.mode === "all best-effort"
  // the record's own key order, as the calls are started
  const record: Record<string, CallScript> = {}
  for (const call of s.calls) {
    Object.defineProperty(record, call.name, { value: call, enumerable: true, writable: true, configurable: true })
  }
  const order = Object.keys(record).map((key) => record[key]!)
  const limit = s.concurrency === undefined || s.concurrency === "unbounded" ? Infinity : s.concurrency
  const stopAt = s.interruptAt ?? Infinity
  const starts: Record<string, number> = {}
  const running = new Map<string, number>()
  const results: Record<string, unknown> = {}
  let next = 0
  let now = 0
  let maxInFlight = 0
  const startWhatFits = () => {
    while (next < order.length && running.size < limit) {
      const call = order[next++]!
      put(starts, call.name, now)
      running.set(call.name, now + call.latency)
    }
    maxInFlight = Math.max(maxInFlight, running.size)
  }
  const finish = (answer: Answer): Observed => {
    const interrupted = [...running.keys()].sort()
    const finalized = Object.fromEntries(Object.keys(starts).map((name) => [name, 1]))
    return { starts, interrupted, finalized, answer, answeredAt: now, maxInFlight }
  }
  startWhatFits()
  while (running.size > 0) {
    const soonest = Math.min(...running.values())
    if (stopAt < soonest) {
      now = stopAt
      return finish({ _tag: "Interrupted" })
    }
    now = soonest
    const ending = [...running.entries()].filter(([, end]) => end === soonest).map(([name]) => record[name]!)
    const decisive = ending.filter((call) => call.end === "die" || (!bestEffort && call.end === "fail"))
    if (ending.length > 1 && decisive.length > 0) return undefined
    for (const call of ending) {
      running.delete(call.name)
      if (call.end === "die") return finish({ _tag: "Die", call: call.name })
      if (call.end === "fail") {
        if (!bestEffort) return finish({ _tag: "Fail", call: call.name })
        put(results, call.name, Either.left(new CallFailed({ call: call.name })))
      } else {
        put(results, call.name, bestEffort ? Either.right(valueOf(call.name)) : valueOf(call.name))
      }
    }
    startWhatFits()
  }
  const value: Record<string, unknown> = {}
  for (const call of order) {
    Object.defineProperty(value, call.name, {
      value: results[call.name],
      enumerable: true,
      writable: true,
      configurable: true
    })
  }
  return finish({ _tag: "Record", value })
}

// -----------------------------------------------------------------------------
// the run
// -----------------------------------------------------------------------------

const run = (s: Script) =>
  Effect.gen(function*() {
    const starts: Record<string, number> = {}
    const interrupted: Array<string> = []
    const finalized: Record<string, number> = {}
    let inFlight = 0
    let maxInFlight = 0
    const calls: Record<string, Effect.Effect<string, CallFailed>> = {}
    for (const call of s.calls) {
      const effect = Effect.scoped(
        Effect.gen(function*() {
          yield* Effect.acquireRelease(
            Effect.map(Clock.currentTimeMillis, (now) => {
              put(starts, call.name, now)
              inFlight++
              maxInFlight = Math.max(maxInFlight, inFlight)
            }),
            () =>
              Effect.sync(() => {
                inFlight--
                put(finalized, call.name, (Object.hasOwn(finalized, call.name) ? finalized[call.name]! : 0) + 1)
              })
          )
          yield* Effect.sleep(Duration.millis(call.latency)).pipe(
            Effect.onInterrupt(() => Effect.sync(() => interrupted.push(call.name)))
          )
          if (call.end === "fail") return yield* Effect.fail(new CallFailed({ call: call.name }))
          if (call.end === "die") return yield* Effect.die(`defect of ${call.name}`)
          return valueOf(call.name)
        })
      )
      Object.defineProperty(calls, call.name, { value: effect, enumerable: true, writable: true, configurable: true })
    }
    const options = s.concurrency === undefined ? {} : { concurrency: s.concurrency }
    const workflow: Effect.Effect<Record<string, unknown>, unknown> = s.mode === "all-or-nothing"
      ? Workflow.allOrNothing(calls, options)
      : s.mode === "best-effort"
      ? Workflow.bestEffort(calls, options)
      : s.mode === "all"
      ? Workflow.all(calls, options)
      : Workflow.all(calls, { ...options, mode: "best-effort" })
    let answeredAt = -1
    // the finalizers counted when the workflow answers, not later
    let finalizedAtAnswer: Record<string, number> = {}
    const timed = workflow.pipe(
      Effect.onExit(() =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          answeredAt = now
          finalizedAtAnswer = Object.fromEntries(Object.entries(finalized))
        })
      )
    )
    const program = Effect.gen(function*() {
      const fiber = yield* Effect.fork(timed)
      if (s.interruptAt === undefined) return yield* Fiber.await(fiber)
      return yield* Effect.raceFirst(
        Fiber.await(fiber),
        Effect.zipRight(Effect.sleep(Duration.millis(s.interruptAt)), Fiber.interrupt(fiber))
      )
    })
    const exit = yield* advanceToDone(program)
    if (Exit.isFailure(exit)) return yield* Effect.die("the workflow's exit is caught")
    const result = exit.value
    let answer: Answer
    // as a caller reads the exit: the typed failure, else the defect, else an interruption (the calls the workflow
    // interrupted may show in the cause next to the failure that ended it)
    if (Exit.isSuccess(result)) {
      answer = { _tag: "Record", value: result.value }
    } else {
      const failure = Cause.failureOption(result.cause)
      const defect = Cause.dieOption(result.cause)
      answer = Option.isSome(failure)
        ? { _tag: "Fail", call: (failure.value as CallFailed).call }
        : Option.isSome(defect)
        ? { _tag: "Die", call: String(defect.value).replace("defect of ", "") }
        : Cause.isInterruptedOnly(result.cause)
        ? { _tag: "Interrupted" }
        : { _tag: "Die", call: `unexpected ${Cause.pretty(result.cause)}` }
    }
    return {
      starts,
      interrupted: interrupted.sort(),
      finalized: finalizedAtAnswer,
      answer,
      answeredAt,
      maxInFlight
    } satisfies Observed
  })

const check = (s: Script) =>
  Effect.gen(function*() {
    const expected = model(s)
    fc.pre(expected !== undefined)
    const { maxInFlight, ...actual } = yield* run(s)
    const { maxInFlight: modelMax, ...rest } = expected!
    expect(actual, `actual ${JSON.stringify(actual)}\nexpected ${JSON.stringify(rest)}`).toEqual(rest)
    // calls in flight at once: never more than the limit, nor than the model's (calls of no latency may end before
    // the next one starts, on the same instant)
    expect(maxInFlight).toBeLessThanOrEqual(modelMax)
    // the record's own keys, in the calls' order, every name kept
    if (actual.answer._tag === "Record") {
      expect(Object.keys(actual.answer.value)).toEqual(Object.keys((expected!.answer as typeof actual.answer).value))
      expect(Object.getPrototypeOf(actual.answer.value)).toBe(Object.prototype)
    }
    if (typeof s.concurrency === "number") expect(maxInFlight).toBeLessThanOrEqual(s.concurrency)
    if (s.calls.every((call) => call.latency > 0) && expected!.answeredAt > 0) expect(maxInFlight).toBe(modelMax)
  })

describe("model Workflow: concurrency, failures, defects, interruption and finalizers", () => {
  it.effect.prop(
    "all-or-nothing: starts as concurrency allows; the record, the first failure or defect; every finalizer once",
    [scriptArb(["all-or-nothing"])],
    ([s]) => check(s),
    { fastCheck: { seed: 4101, numRuns: 120 } }
  )

  it.effect.prop(
    "best-effort: an Either per call under its own name; a defect or the caller's interruption ends it; finalizers once",
    [scriptArb(["best-effort"])],
    ([s]) => check(s),
    { fastCheck: { seed: 4102, numRuns: 120 } }
  )

  it.effect.prop(
    "all: the mode it names (all-or-nothing by default), with the same answers",
    [scriptArb(["all", "all best-effort"])],
    ([s]) => check(s),
    { fastCheck: { seed: 4103, numRuns: 80 } }
  )
})

describe("model Workflow: options", () => {
  it.prop(
    "a concurrency that is no integer of at least 1, Infinity or \"unbounded\" is refused, naming the option",
    [fc.oneof(
      fc.constantFrom<unknown>(0, -1, 1.5, Number.NaN, Number.NEGATIVE_INFINITY, "2", "all", null, true),
      fc.double({ noNaN: true }).filter((x) => !(Number.isInteger(x) && x >= 1) && x !== Number.POSITIVE_INFINITY),
      fc.integer({ min: 1, max: 1_000 }),
      fc.constantFrom<unknown>("unbounded", Number.POSITIVE_INFINITY, undefined)
    )],
    ([concurrency]) => {
      const valid = concurrency === undefined || concurrency === "unbounded" ||
        concurrency === Number.POSITIVE_INFINITY || (Number.isInteger(concurrency) && (concurrency as number) >= 1)
      const options = { concurrency } as unknown as Workflow.Options
      for (
        const build of [
          () => Workflow.allOrNothing({ a: Effect.succeed(1) }, options),
          () => Workflow.bestEffort({ a: Effect.succeed(1) }, options),
          () => Workflow.all({ a: Effect.succeed(1) }, { ...options, mode: "best-effort" })
        ]
      ) {
        if (valid) {
          expect(Effect.runSync(build() as Effect.Effect<unknown, unknown>)).toBeDefined()
        } else {
          expect(build).toThrow(RangeError)
          expect(build).toThrow(/concurrency/)
        }
      }
    },
    { fastCheck: { seed: 4104, numRuns: 200 } }
  )
})
