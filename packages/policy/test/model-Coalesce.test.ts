/**
 * Model-based properties of `Coalesce` (packages/policy/src/Coalesce.ts), checked against a reference model written
 * from its module docs.
 *
 * The model: per key, the run in flight (if any) and the set of calls waiting for it; per call, its state (waiting,
 * or how it ended); per run, its leader (the call that started it) and whether it ended or was interrupted. Rules it
 * encodes, numbered as in the module docs:
 * 1. a call of a key with no run in flight starts a run (its own effect runs); a call of a key in flight joins it and
 *    its effect never runs; every waiter ends with the run's Exit (success, typed failure, defect);
 * 2. once the run ended the key is free: the next call starts a new run;
 * 3. interrupting a waiter (leader or not) ends that call alone (interrupted);
 * 4. when the last waiter of a run leaves before it ends, the run is interrupted and the key freed at once;
 * 6. the run has no deadline of its own (it sees `Deadline.current` none, whatever the leader's deadline); a call
 *    under an established deadline (`Deadline.establish`) fails with `DeadlineExceeded` when it passes, and one
 *    under an armed deadline (`Deadline.withDeadline`) is ended by its timer with `DeadlineExceeded` too; a call that
 *    enters with no time left fails at once and neither starts nor joins a run.
 * And `inFlight` lists each key in flight with its number of waiters.
 *
 * Scripts (fast-check, fixed seeds) on three keys: start a call of a key (maybe under an established or armed
 * deadline, 0 to 60 ms), complete the run of a key (succeed, fail or die), interrupt a live call, move the TestClock.
 * After each command, and with a few scheduler turns between, every call's state, the runs started (their keys and
 * leaders), which runs were interrupted, and `inFlight` must equal the model's. At the end every call left is
 * interrupted: every run must have ended or been interrupted, and `inFlight` be empty. An interrupted run takes a
 * (virtual) minute to stop, longer than any script: the key must be free while it stops (rule 4, "at once").
 *
 * Rules taken from the code: none. Left out: a run that ends by interrupting itself (its waiters get that Exit, the
 * docs say only "the same Exit"), rule 5 (the first caller's services; `Coalesce.test.ts` checks it), spans, and two
 * deadlines at the instant a command completes a run (commands are sequential: a completion never ties with a timer).
 *
 * Mutants (each made a property fail with a shrunk counterexample):
 * - the last waiter leaving does not interrupt the run (`leave` returns before `unsafeInterruptAsFork`);
 * - the last waiter leaving interrupts the run but keeps the key (a new call joins the dying run);
 * - `settle` keeps the key (a later call gets the old Exit instead of a new run);
 * - the run forked as a child of the first caller (`Effect.fork`, not `forkDaemon`): interrupting it ends the run;
 * - the run abandoned when one waiter is left (`--flight.waiters > 1`);
 * - a joining call not counted (`waiters++` only for the leader): the run is interrupted under its waiters;
 * - the run keeps the first caller's deadline (no `Effect.locally` of the limit);
 * - an established deadline not bounding the wait (no timer forked).
 *
 * Found and fixed: nothing.
 */
import { describe, expect, it } from "@effect/vitest"
import { Coalesce, Deadline } from "@sturdy/policy"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"

const keys = ["a", "b", "c"] as const
type Key = typeof keys[number]
type How = "succeed" | "fail" | "die"

interface CallDeadline {
  readonly kind: "establish" | "arm"
  readonly millis: number
}

type Command =
  | { readonly _tag: "Start"; readonly key: Key; readonly deadline?: CallDeadline | undefined }
  | { readonly _tag: "Complete"; readonly key: Key; readonly how: How }
  | { readonly _tag: "Interrupt"; readonly pick: number }
  | { readonly _tag: "Advance"; readonly millis: number }

/** A call's state, as the model has it and as it is read from the real one; `run` is the run whose Exit it got. */
type State =
  | { readonly _tag: "Waiting" }
  | { readonly _tag: "Ended"; readonly how: How; readonly run: number }
  | { readonly _tag: "Interrupted" }
  | { readonly _tag: "Deadline" }
  | { readonly _tag: "Unexpected"; readonly cause: string }

interface Run {
  readonly key: Key
  readonly leader: number
  status: "running" | "ended" | "interrupted"
}

// ---------------------------------------------------------------------------------------------------------------
// the reference model

class Model {
  now = 0
  readonly states: Array<State> = []
  readonly runs: Array<Run> = []
  /** per key in flight: its run and the calls waiting for it */
  readonly flights = new Map<Key, { readonly run: number; readonly waiters: Set<number> }>()
  /** calls waiting, with when their deadline ends them */
  readonly deadlines = new Map<number, number>()

  start(key: Key, deadline?: CallDeadline): void {
    const id = this.states.length
    if (deadline !== undefined && deadline.millis === 0) {
      this.states.push({ _tag: "Deadline" })
      return
    }
    this.states.push({ _tag: "Waiting" })
    if (deadline !== undefined) this.deadlines.set(id, this.now + deadline.millis)
    const flight = this.flights.get(key)
    if (flight !== undefined) {
      flight.waiters.add(id)
      return
    }
    this.runs.push({ key, leader: id, status: "running" })
    this.flights.set(key, { run: this.runs.length - 1, waiters: new Set([id]) })
  }

  complete(key: Key, how: How): void {
    const flight = this.flights.get(key)
    if (flight === undefined) return
    this.flights.delete(key)
    this.runs[flight.run]!.status = "ended"
    for (const id of flight.waiters) this.end(id, { _tag: "Ended", how, run: flight.run })
  }

  /** A waiter leaves: the last one takes the run down. */
  leave(id: number, state: State): void {
    this.end(id, state)
    for (const [key, flight] of this.flights) {
      if (flight.waiters.delete(id) && flight.waiters.size === 0) {
        this.flights.delete(key)
        this.runs[flight.run]!.status = "interrupted"
      }
    }
  }

  private end(id: number, state: State): void {
    this.states[id] = state
    this.deadlines.delete(id)
  }

  advance(millis: number): void {
    this.now += millis
    for (const [id, at] of [...this.deadlines]) if (at <= this.now) this.leave(id, { _tag: "Deadline" })
  }

  live(): Array<number> {
    return this.states.flatMap((s, id) => (s._tag === "Waiting" ? [id] : []))
  }

  inFlight(): Map<string, number> {
    return new Map([...this.flights].map(([key, flight]) => [key, flight.waiters.size]))
  }
}

// ---------------------------------------------------------------------------------------------------------------
// the real group, driven alongside

class Boom extends Error {
  constructor(readonly run: number) {
    super(`boom ${run}`)
  }
}

interface RealRun {
  readonly key: Key
  readonly leader: number
  readonly gate: Deferred.Deferred<How>
  status: "running" | "ended" | "interrupted"
}

const settle = Effect.gen(function*() {
  for (let i = 0; i < 10; i++) yield* Effect.yieldNow()
})

const runScript = (commands: ReadonlyArray<Command>) =>
  Effect.gen(function*() {
    const group = yield* Coalesce.make({ name: "model" })
    const model = new Model()
    const fibers: Array<Fiber.RuntimeFiber<number, unknown>> = []
    const runs: Array<RealRun> = []

    // the effect of call `id`: it runs only if the call leads a run; it may not see a deadline
    const body = (key: Key, id: number) =>
      Effect.gen(function*() {
        const gate = yield* Deferred.make<How>()
        const run: RealRun = { key, leader: id, gate, status: "running" }
        const index = runs.push(run) - 1
        if (Option.isSome(yield* Deadline.current)) return yield* Effect.die("the run inherited a deadline")
        // an interrupted run takes a minute to stop: the key must be free meanwhile
        const how = yield* Effect.onInterrupt(
          Deferred.await(gate),
          () => Effect.zipRight(Effect.sync(() => run.status = "interrupted"), Effect.sleep("1 minute"))
        )
        run.status = "ended"
        if (how === "fail") return yield* Effect.fail(new Boom(index))
        if (how === "die") return yield* Effect.die(new Boom(index))
        return index
      })

    const stateOf = (fiber: Fiber.RuntimeFiber<number, unknown>): Effect.Effect<State> =>
      Effect.map(Fiber.poll(fiber), (done): State => {
        if (Option.isNone(done)) return { _tag: "Waiting" }
        const exit = done.value
        if (Exit.isSuccess(exit)) return { _tag: "Ended", how: "succeed", run: exit.value }
        if (Exit.isInterrupted(exit)) return { _tag: "Interrupted" }
        const error = Option.getOrUndefined(Cause.failureOption(exit.cause))
        if (error instanceof Boom) return { _tag: "Ended", how: "fail", run: error.run }
        if (Deadline.isDeadlineExceeded(error)) return { _tag: "Deadline" }
        const defect = Option.getOrUndefined(Cause.dieOption(exit.cause))
        return defect instanceof Boom
          ? { _tag: "Ended", how: "die", run: defect.run }
          : { _tag: "Unexpected", cause: String(exit.cause) }
      })

    const check = (step: number) =>
      Effect.gen(function*() {
        expect(yield* Effect.forEach(fibers, stateOf), `calls after command ${step}`).toEqual(model.states)
        expect(runs.map(({ key, leader, status }) => ({ key, leader, status })), `runs after command ${step}`)
          .toEqual(model.runs)
        expect(yield* group.inFlight, `inFlight after command ${step}`).toEqual(model.inFlight())
      })

    for (const [step, command] of commands.entries()) {
      switch (command._tag) {
        case "Start": {
          const id = fibers.length
          model.start(command.key, command.deadline)
          const call = Coalesce.run(body(command.key, id), group, command.key)
          const { deadline } = command
          const limited = deadline === undefined
            ? call
            : deadline.kind === "establish"
            ? Deadline.establish(call, Duration.millis(deadline.millis))
            : Deadline.withDeadline(call, Duration.millis(deadline.millis))
          // daemons: the property's fiber never waits for a call it has stopped watching
          fibers.push(yield* Effect.forkDaemon(limited))
          break
        }
        case "Complete": {
          const flight = model.flights.get(command.key)
          model.complete(command.key, command.how)
          if (flight !== undefined) yield* Deferred.succeed(runs[flight.run]!.gate, command.how)
          break
        }
        case "Interrupt": {
          const live = model.live()
          if (live.length === 0) continue
          const id = live[command.pick % live.length]!
          model.leave(id, { _tag: "Interrupted" })
          // not awaited: a caller must stop at once, whatever the run does
          yield* Fiber.interruptFork(fibers[id]!)
          break
        }
        case "Advance": {
          model.advance(command.millis)
          yield* TestClock.adjust(Duration.millis(command.millis))
          break
        }
      }
      yield* settle
      yield* check(step)
    }

    // every call left is interrupted: no run is left running, and no key in flight
    for (const id of model.live()) model.leave(id, { _tag: "Interrupted" })
    yield* Effect.forEach(fibers, Fiber.interruptFork, { discard: true })
    yield* settle
    yield* check(commands.length)
    expect(runs.every((run) => run.status !== "running")).toBe(true)
    expect((yield* group.inFlight).size).toBe(0)
  })

const key = FastCheck.constantFrom(...keys)

const command: FastCheck.Arbitrary<Command> = FastCheck.oneof(
  { arbitrary: FastCheck.record({ _tag: FastCheck.constant("Start" as const), key }), weight: 4 },
  {
    arbitrary: FastCheck.record({
      _tag: FastCheck.constant("Start" as const),
      key,
      deadline: FastCheck.record({
        kind: FastCheck.constantFrom("establish" as const, "arm" as const),
        millis: FastCheck.oneof(FastCheck.constant(0), FastCheck.integer({ min: 1, max: 60 }))
      })
    }),
    weight: 2
  },
  {
    arbitrary: FastCheck.record({
      _tag: FastCheck.constant("Complete" as const),
      key,
      how: FastCheck.constantFrom("succeed" as const, "fail" as const, "die" as const)
    }),
    weight: 3
  },
  {
    arbitrary: FastCheck.record({ _tag: FastCheck.constant("Interrupt" as const), pick: FastCheck.nat(7) }),
    weight: 2
  },
  {
    arbitrary: FastCheck.record({
      _tag: FastCheck.constant("Advance" as const),
      millis: FastCheck.integer({ min: 0, max: 40 })
    }),
    weight: 2
  }
)

describe("model Coalesce: shared runs, shared exits, waiters that leave, deadlines", () => {
  it.effect.prop(
    "every call, run and key in flight is as the model says, and nothing runs once every caller has gone",
    [FastCheck.array(command, { maxLength: 40, size: "max" })],
    ([commands]) => runScript(commands),
    { fastCheck: { seed: 20261207, numRuns: 300 } }
  )

  it.effect.prop(
    "on one key, with many waiters leaving: the run lasts exactly as long as someone waits",
    [
      FastCheck.array(
        command.map((c): Command => c._tag === "Start" || c._tag === "Complete" ? { ...c, key: "a" } : c),
        { maxLength: 40, size: "max" }
      )
    ],
    ([commands]) => runScript(commands),
    { fastCheck: { seed: 1207, numRuns: 200 } }
  )
})
