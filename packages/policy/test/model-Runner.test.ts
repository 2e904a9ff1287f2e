/**
 * Model-based properties of `Runner` (packages/policy/src/Runner.ts): generated sequences of commands (start a call
 * held on a gate, with or without an `AbortSignal`; open a call's gate with a value, a failure or a defect; abort a
 * call; close the runner) run against `Runner.unsafeMake(Runtime.defaultRuntime, { maxIdle })` and against a model of
 * its pool written from the module's docs, with `fc.commands` and `fc.asyncModelRun`.
 *
 * The model (documented rules): a call starts at once (it is counted `busy` when `runPromise` returns), on a parked
 * worker if one is idle (one fewer `idle`), else on a new worker; when it ends its worker parks if fewer than
 * `maxIdle` are parked and the runner is open, else ends; a call with a `signal` runs on a root fiber of its own (never
 * `busy`) and aborting it rejects it as an interruption; `close()` ends the parked workers (`idle` 0), lets the busy
 * ones finish their call and end, and calls made after it run on root fibers (never `busy`). Every call settles as
 * `Runtime.runPromise` would: the value, or a `FiberFailure` whose cause is the failure, the defect or the
 * interruption. (Runner.test.ts already checks, over generated programs, that outcomes equal `Runtime.runPromise`'s
 * and that a call's forks end first; this file checks the pool's accounting under interleavings.)
 * Rule taken from the code: `busy` and `idle` are up to date by the time the call's Promise has settled and the
 * event loop has turned once.
 *
 * Left out: `make` (scoped), runtimes whose fibers cannot serve (every call on a root fiber), interruption of a worker
 * from within a call.
 *
 * Mutants checked (each made the property fail with a shrunk counterexample; the file was restored from a copy):
 * - internal/runner.ts: a worker parking while `maxIdle` are already parked (`>=` made `>`);
 * - internal/runner.ts: `close()` leaving the parked workers parked;
 * - internal/runner.ts: a call with a `signal` run on a worker;
 * - internal/runner.ts: calls after `close()` run on workers;
 * - internal/runner.ts: a worker parking after `close()`;
 * - internal/runner.ts: a failure settled as a defect of its cause.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Runner from "@sturdy/policy/Runner"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Runtime from "effect/Runtime"

type Ending = "succeed" | "fail" | "die"

interface Model {
  readonly maxIdle: number
  closed: boolean
  idle: number
  busy: number
  /** calls not yet settled, in start order */
  readonly running: Array<{ readonly id: number; readonly onWorker: boolean; readonly signal: boolean }>
  next: number
}

type Outcome =
  | { readonly value: number }
  | {
    readonly failures: ReadonlyArray<unknown>
    readonly defects: ReadonlyArray<unknown>
    readonly interrupted: boolean
  }

interface Real {
  readonly runner: Runner.Runner<never>
  readonly calls: Map<number, {
    readonly gate: Deferred.Deferred<Ending>
    readonly outcome: Promise<Outcome>
    readonly controller: AbortController | undefined
  }>
}

// one turn of the event loop: what a call's end set off (its worker parking) is done
const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

const outcomeOf = (promise: Promise<number>): Promise<Outcome> =>
  promise.then(
    (value) => ({ value }),
    (error) => {
      if (!Runtime.isFiberFailure(error)) return { failures: [], defects: [error], interrupted: false }
      const cause = error[Runtime.FiberFailureCauseId] as Cause.Cause<unknown>
      return {
        failures: [...Cause.failures(cause)],
        defects: [...Cause.defects(cause)],
        interrupted: Cause.isInterrupted(cause)
      }
    }
  )

const expectCounts = (model: Model, real: Real) => {
  expect({ idle: real.runner.idle, busy: real.runner.busy }).toEqual({ idle: model.idle, busy: model.busy })
}

class Start implements FastCheck.AsyncCommand<Model, Real> {
  constructor(readonly signal: boolean) {}
  check = () => true
  async run(model: Model, real: Real) {
    const id = model.next++
    const gate = Effect.runSync(Deferred.make<Ending>())
    const controller = this.signal ? new AbortController() : undefined
    const program = Effect.flatMap(
      Deferred.await(gate),
      (ending) => ending === "succeed" ? Effect.succeed(id) : ending === "fail" ? Effect.fail(id) : Effect.die(id)
    )
    const promise = real.runner.runPromise(
      program,
      controller === undefined ? undefined : { signal: controller.signal }
    )
    real.calls.set(id, { gate, outcome: outcomeOf(promise), controller })
    const onWorker = !this.signal && !model.closed
    if (onWorker) {
      if (model.idle > 0) model.idle--
      model.busy++
    }
    model.running.push({ id, onWorker, signal: this.signal })
    // counted at once: the call has started when `runPromise` returns
    expectCounts(model, real)
  }
  toString = () => `Start(${this.signal ? "signal" : ""})`
}

const ended = (model: Model, index: number) => {
  const [call] = model.running.splice(index, 1)
  if (call!.onWorker) {
    model.busy--
    if (!model.closed && model.idle < model.maxIdle) model.idle++
  }
  return call!
}

class Open implements FastCheck.AsyncCommand<Model, Real> {
  constructor(readonly pick: number, readonly ending: Ending) {}
  check = (model: Readonly<Model>) => model.running.length > 0
  async run(model: Model, real: Real) {
    const call = ended(model, this.pick % model.running.length)
    const { gate, outcome } = real.calls.get(call.id)!
    Effect.runSync(Deferred.succeed(gate, this.ending))
    const settled = await outcome
    await turn()
    expect(settled).toEqual(
      this.ending === "succeed"
        ? { value: call.id }
        : this.ending === "fail"
        ? { failures: [call.id], defects: [], interrupted: false }
        : { failures: [], defects: [call.id], interrupted: false }
    )
    expectCounts(model, real)
  }
  toString = () => `Open(${this.pick}, ${this.ending})`
}

class Abort implements FastCheck.AsyncCommand<Model, Real> {
  constructor(readonly pick: number) {}
  check = (model: Readonly<Model>) => model.running.some((call) => call.signal)
  async run(model: Model, real: Real) {
    const signalled = model.running.filter((call) => call.signal)
    const target = signalled[this.pick % signalled.length]!
    ended(model, model.running.indexOf(target))
    real.calls.get(target.id)!.controller!.abort()
    const settled = await real.calls.get(target.id)!.outcome
    await turn()
    expect(settled).toMatchObject({ failures: [], defects: [], interrupted: true })
    expectCounts(model, real)
  }
  toString = () => `Abort(${this.pick})`
}

class Close implements FastCheck.AsyncCommand<Model, Real> {
  check = () => true
  async run(model: Model, real: Real) {
    real.runner.close()
    model.closed = true
    model.idle = 0
    await turn()
    expectCounts(model, real)
  }
  toString = () => "Close"
}

const open = FastCheck.tuple(FastCheck.nat(), FastCheck.constantFrom<Ending>("succeed", "fail", "die")).map(
  ([pick, ending]) => new Open(pick, ending)
)

// (each arbitrary is drawn as often: starts and ends three times as often as an abort or a close)
const commands = FastCheck.commands(
  [
    FastCheck.constant(new Start(false)),
    FastCheck.constant(new Start(false)),
    FastCheck.constant(new Start(false)),
    FastCheck.constant(new Start(true)),
    open,
    open,
    open,
    FastCheck.nat().map((pick) => new Abort(pick)),
    FastCheck.constant(new Close())
  ],
  { maxCommands: 40 }
)

describe("model Runner: the worker pool under interleaved calls", () => {
  it("busy and idle follow the model through starts, ends, aborts and close; every call settles as documented", async () => {
    await FastCheck.assert(
      FastCheck.asyncProperty(FastCheck.integer({ min: 0, max: 3 }), commands, async (maxIdle, cmds) => {
        const runner = Runner.unsafeMake(Runtime.defaultRuntime, { maxIdle })
        const real: Real = { runner, calls: new Map() }
        try {
          await FastCheck.asyncModelRun(
            () => ({ model: { maxIdle, closed: false, idle: 0, busy: 0, running: [], next: 0 }, real }),
            cmds
          )
        } finally {
          // open every gate left, so that no fiber is left waiting
          for (const { gate } of real.calls.values()) Effect.runSync(Deferred.succeed(gate, "succeed"))
          runner.close()
          await Promise.all([...real.calls.values()].map((call) => call.outcome))
        }
      }),
      { seed: 9401, numRuns: 500 }
    )
  })
})
