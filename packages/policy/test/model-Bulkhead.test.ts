/**
 * Model-based properties of `Bulkhead` (packages/policy/src/Bulkhead.ts), checked against a reference model written
 * from its module docs.
 *
 * The model: a count of calls running (at most `maxConcurrent`), a FIFO queue of waiting calls (at most `maxQueued`),
 * each with the TestClock time its wait ends (`maxWait` after it queued). Documented rules it encodes:
 * - a call runs at once when nobody waits and a permit is free; "queued callers are served before newcomers, in the
 *   order they came";
 * - beyond `maxQueued` waiting, a call fails at once with `BulkheadRejected` "Full";
 * - a queued call that gets no permit within `maxWait` fails with "Timeout" exactly `maxWait` after it queued (a
 *   `maxWait` of zero: at once), and leaves the queue;
 * - "a permit is released when the call succeeds, fails, dies or is interrupted, including while it waits in the
 *   queue"; a released permit goes to the first waiter.
 * The rule that a call turned away for "Full" is decided before "Timeout" (a full queue with `maxWait` 0 answers
 * "Full") is taken from the code (`run`), the docs being silent.
 *
 * The real bulkhead is driven by generated scripts (fast-check, fixed seeds): start a call that holds its permit
 * until told, end a running call (success, failure or defect), interrupt a running or a queued call, end a running
 * call and interrupt the waiter it hands its permit to 0 to 4 scheduler turns later (before the permit reaches it,
 * after, or once its body runs), move the TestClock. After each command every call's state (running, queued, or how and when it ended) and `snapshot` must
 * equal the model's, and no more than `maxConcurrent` bodies may run at once. At the end of a script every call left
 * is interrupted, and the bulkhead must be back to full capacity: `snapshot` zero, and `maxConcurrent` new calls run
 * at once.
 *
 * Left out: deadlines (`Deadline.establish` / `withDeadline` bound a wait as `maxWait` does; covered in
 * Bulkhead.test.ts), `Infinity` limits, and interruption inside the uninterruptible `acquire` of `acquireRelease`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Bulkhead } from "@sturdy/policy"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"

interface Config {
  readonly maxConcurrent: number
  readonly maxQueued: number
  /** milliseconds; undefined: no bound */
  readonly maxWait: number | undefined
}

type Command =
  | { readonly _tag: "Call" }
  | { readonly _tag: "End"; readonly pick: number; readonly how: "succeed" | "fail" | "die" }
  | { readonly _tag: "Interrupt"; readonly pick: number }
  | { readonly _tag: "Handover"; readonly pick: number; readonly turns: number }
  | { readonly _tag: "Advance"; readonly millis: number }

/** A call's state, as the model has it and as it is read from the real one. */
type State =
  | { readonly _tag: "Running" }
  | { readonly _tag: "Queued" }
  | { readonly _tag: "Rejected"; readonly reason: "Full" | "Timeout"; readonly at: number }
  | { readonly _tag: "Ended"; readonly how: "succeed" | "fail" | "die" | "interrupt" }
  | { readonly _tag: "Unexpected"; readonly cause: string }

// ---------------------------------------------------------------------------------------------------------------
// the reference model

class Model {
  now = 0
  readonly states: Array<State> = []
  /** running calls, by id */
  readonly running = new Set<number>()
  /** waiting calls, first in first out, with the time their wait ends */
  readonly queue: Array<{ readonly id: number; readonly until: number }> = []
  constructor(readonly config: Config) {}

  call(): void {
    const id = this.states.length
    if (this.queue.length === 0 && this.running.size < this.config.maxConcurrent) {
      this.running.add(id)
      this.states.push({ _tag: "Running" })
    } else if (this.queue.length >= this.config.maxQueued) {
      this.states.push({ _tag: "Rejected", reason: "Full", at: this.now })
    } else if (this.config.maxWait === 0) {
      this.states.push({ _tag: "Rejected", reason: "Timeout", at: this.now })
    } else {
      this.queue.push({ id, until: this.now + (this.config.maxWait ?? Number.POSITIVE_INFINITY) })
      this.states.push({ _tag: "Queued" })
    }
  }

  /** A running call gives its permit back: the first waiter takes it. */
  private release(id: number): void {
    this.running.delete(id)
    const next = this.queue.shift()
    if (next !== undefined) {
      this.running.add(next.id)
      this.states[next.id] = { _tag: "Running" }
    }
  }

  end(id: number, how: "succeed" | "fail" | "die" | "interrupt"): void {
    if (this.running.has(id)) {
      this.states[id] = { _tag: "Ended", how }
      this.release(id)
    } else {
      const at = this.queue.findIndex((w) => w.id === id)
      if (at >= 0) {
        this.queue.splice(at, 1)
        this.states[id] = { _tag: "Ended", how }
      }
    }
  }

  advance(millis: number): void {
    this.now += millis
    // no permit is released while the clock moves (only commands end calls): the waits that end, end
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const w = this.queue[i]!
      if (w.until <= this.now) {
        this.queue.splice(i, 1)
        this.states[w.id] = { _tag: "Rejected", reason: "Timeout", at: w.until }
      }
    }
  }

  /** The calls that have not ended, in the order they came. */
  live(): Array<number> {
    return this.states.flatMap((s, id) => (s._tag === "Running" || s._tag === "Queued" ? [id] : []))
  }
}

// ---------------------------------------------------------------------------------------------------------------
// the real bulkhead, driven alongside

class Boom extends Error {}

interface RealCall {
  readonly fiber: Fiber.RuntimeFiber<void, Bulkhead.BulkheadRejected | Boom>
  readonly gate: Deferred.Deferred<"succeed" | "fail" | "die">
  /** the body has started (the call holds a permit) */
  started: boolean
  /** when the call ended, on the TestClock */
  endedAt: number | undefined
}

const settle = Effect.gen(function*() {
  for (let i = 0; i < 10; i++) yield* Effect.yieldNow()
})

const runScript = (config: Config, commands: ReadonlyArray<Command>) =>
  Effect.gen(function*() {
    const bulkhead = yield* Bulkhead.make({ key: "model", ...config })
    const model = new Model(config)
    const calls: Array<RealCall> = []
    let inBody = 0
    let peak = 0

    const startCall = Effect.gen(function*() {
      const gate = yield* Deferred.make<"succeed" | "fail" | "die">()
      const call: RealCall = { fiber: undefined as never, gate, started: false, endedAt: undefined }
      const body = Effect.gen(function*() {
        call.started = true
        inBody++
        peak = Math.max(peak, inBody)
        const how = yield* Effect.ensuring(Deferred.await(gate), Effect.sync(() => inBody--))
        if (how === "fail") return yield* Effect.fail(new Boom())
        if (how === "die") return yield* Effect.die(new Boom())
      })
      const fiber = yield* Effect.fork(
        bulkhead.run(body).pipe(
          Effect.onExit(() => Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => (call.endedAt = now))))
        )
      )
      ;(call as { fiber: RealCall["fiber"] }).fiber = fiber
      calls.push(call)
    })

    const stateOf = (call: RealCall): Effect.Effect<State> =>
      Effect.map(Fiber.poll(call.fiber), (done): State => {
        if (Option.isNone(done)) return call.started ? { _tag: "Running" } : { _tag: "Queued" }
        const exit = done.value
        if (Exit.isSuccess(exit)) return { _tag: "Ended", how: "succeed" }
        if (Exit.isInterrupted(exit)) return { _tag: "Ended", how: "interrupt" }
        const error = Option.getOrUndefined(Cause.failureOption(exit.cause) as Option.Option<unknown>)
        if (Bulkhead.isBulkheadRejected(error)) {
          return { _tag: "Rejected", reason: error.reason, at: call.endedAt ?? Number.NaN }
        }
        if (error instanceof Boom) return { _tag: "Ended", how: "fail" }
        const defect = Option.getOrUndefined(Cause.dieOption(exit.cause))
        return defect instanceof Boom
          ? { _tag: "Ended", how: "die" }
          : { _tag: "Unexpected", cause: String(exit.cause) }
      })

    const check = (step: number) =>
      Effect.gen(function*() {
        const states = yield* Effect.forEach(calls, stateOf)
        expect(states, `after command ${step}`).toEqual(model.states)
        expect(yield* bulkhead.snapshot, `snapshot after command ${step}`).toEqual({
          active: model.running.size,
          queued: model.queue.length
        })
        expect(peak).toBeLessThanOrEqual(config.maxConcurrent)
      })

    for (const [step, command] of commands.entries()) {
      switch (command._tag) {
        case "Call": {
          model.call()
          yield* startCall
          break
        }
        case "End": {
          const running = [...model.running].sort((a, b) => a - b)
          if (running.length === 0) continue
          const id = running[command.pick % running.length]!
          model.end(id, command.how)
          yield* Deferred.succeed(calls[id]!.gate, command.how)
          break
        }
        case "Interrupt": {
          const live = model.live()
          if (live.length === 0) continue
          const id = live[command.pick % live.length]!
          model.end(id, "interrupt")
          yield* Fiber.interrupt(calls[id]!.fiber)
          break
        }
        case "Handover": {
          // a running call ends and the first waiter, handed its permit, is interrupted `turns` scheduler turns later:
          // before the permit reaches it, after, or once its body runs
          const running = [...model.running].sort((a, b) => a - b)
          if (running.length === 0) continue
          const id = running[command.pick % running.length]!
          const head = model.queue[0]?.id
          model.end(id, "succeed")
          if (head !== undefined) model.end(head, "interrupt")
          yield* Deferred.succeed(calls[id]!.gate, "succeed")
          for (let turn = 0; turn < command.turns; turn++) yield* Effect.yieldNow()
          if (head !== undefined) yield* Fiber.interrupt(calls[head]!.fiber)
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

    // every call left is interrupted, holder or waiter: the bulkhead is back to full capacity
    yield* Effect.forEach(calls, (call) => Fiber.interrupt(call.fiber), { discard: true })
    yield* settle
    expect(yield* bulkhead.snapshot).toEqual({ active: 0, queued: 0 })
    expect(inBody).toBe(0)
    const fresh = calls.length
    for (let i = 0; i < config.maxConcurrent; i++) yield* startCall
    yield* settle
    expect(calls.slice(fresh).every((call) => call.started)).toBe(true)
    expect(yield* bulkhead.snapshot).toEqual({ active: config.maxConcurrent, queued: 0 })
    yield* Effect.forEach(calls.slice(fresh), (call) => Deferred.succeed(call.gate, "succeed"), { discard: true })
    yield* Effect.forEach(calls.slice(fresh), (call) => Fiber.await(call.fiber), { discard: true })
    expect(yield* bulkhead.snapshot).toEqual({ active: 0, queued: 0 })
  })

const config: FastCheck.Arbitrary<Config> = FastCheck.record({
  maxConcurrent: FastCheck.integer({ min: 1, max: 3 }),
  maxQueued: FastCheck.integer({ min: 0, max: 3 }),
  maxWait: FastCheck.option(FastCheck.oneof(FastCheck.constant(0), FastCheck.integer({ min: 1, max: 100 })), {
    nil: undefined
  })
})

const command: FastCheck.Arbitrary<Command> = FastCheck.oneof(
  { arbitrary: FastCheck.constant({ _tag: "Call" } as const), weight: 4 },
  {
    arbitrary: FastCheck.record({
      _tag: FastCheck.constant("End" as const),
      pick: FastCheck.nat(7),
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
      _tag: FastCheck.constant("Handover" as const),
      pick: FastCheck.nat(7),
      turns: FastCheck.nat(4)
    }),
    weight: 1
  },
  {
    arbitrary: FastCheck.record({
      _tag: FastCheck.constant("Advance" as const),
      millis: FastCheck.oneof(FastCheck.integer({ min: 0, max: 10 }), FastCheck.integer({ min: 0, max: 150 }))
    }),
    weight: 2
  }
)

describe("model Bulkhead: admission, FIFO queue, maxWait and release", () => {
  it.effect.prop(
    "every call runs, queues, is turned away or ends as the model says, and the bulkhead ends at full capacity",
    [config, FastCheck.array(command, { maxLength: 40, size: "max" })],
    ([config, commands]) => runScript(config, commands),
    { fastCheck: { seed: 20261206, numRuns: 300 } }
  )

  it.effect.prop(
    "with a long queue and short waits: timeouts come exactly maxWait after queueing, in queue order",
    [
      FastCheck.record({
        maxConcurrent: FastCheck.constant(1),
        maxQueued: FastCheck.integer({ min: 2, max: 6 }),
        maxWait: FastCheck.integer({ min: 1, max: 20 })
      }),
      FastCheck.array(command, { maxLength: 40, size: "max" })
    ],
    ([config, commands]) => runScript(config, commands),
    { fastCheck: { seed: 612, numRuns: 200 } }
  )
})
