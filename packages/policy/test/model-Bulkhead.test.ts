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
 *   queue"; a released permit goes to the first waiter;
 * - "a queued call never waits past the current deadline either": under `Deadline.establish` (no timer) the wait
 *   ends with "Timeout" when the deadline passes (the sooner of it and `maxWait`); under `Deadline.withDeadline` its
 *   timer ends the call, queued or running, with `DeadlineExceeded`, and a running one gives its permit back.
 * The rule that a call turned away for "Full" is decided before "Timeout" (a full queue with `maxWait` 0 answers
 * "Full") is taken from the code (`run`), the docs being silent.
 *
 * The real bulkhead is driven by generated scripts (fast-check, fixed seeds): start a call (maybe under a deadline,
 * established or armed) that holds its permit until told, end a running call (success, failure or defect), interrupt
 * a running or a queued call, end a running call and interrupt the waiter it hands its permit to 0 to 4 scheduler
 * turns later (before the permit reaches it, after, or once its body runs), move the TestClock. After each command
 * every call's state (running, queued, or how and when it ended) and `snapshot` must equal the model's, and no more
 * than `maxConcurrent` bodies may run at once. At the end of a script every call left is interrupted, and the
 * bulkhead must be back to full capacity: `snapshot` zero, and `maxConcurrent` new calls run at once.
 *
 * Left out: `Infinity` limits, and interruption inside the uninterruptible `acquire` of `acquireRelease`. Steps,
 * `maxWait` and established deadlines are even and armed deadlines odd, so that no armed timer ends a call at the
 * instant a queued wait runs out (which came first would be the timers' order, not a rule).
 */
import { describe, expect, it } from "@effect/vitest"
import { Bulkhead, Deadline } from "@sturdy/policy"
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

/** A call's deadline: established (no timer: it bounds the queue wait) or armed (its timer ends the call). */
interface CallDeadline {
  readonly kind: "establish" | "arm"
  readonly millis: number
}

type Command =
  | { readonly _tag: "Call"; readonly deadline?: CallDeadline | undefined }
  | { readonly _tag: "End"; readonly pick: number; readonly how: "succeed" | "fail" | "die" }
  | { readonly _tag: "Interrupt"; readonly pick: number }
  | { readonly _tag: "Handover"; readonly pick: number; readonly turns: number }
  | { readonly _tag: "Advance"; readonly millis: number }

/** A call's state, as the model has it and as it is read from the real one. */
type State =
  | { readonly _tag: "Running" }
  | { readonly _tag: "Queued" }
  | { readonly _tag: "Rejected"; readonly reason: "Full" | "Timeout"; readonly at: number }
  | { readonly _tag: "Ended"; readonly how: "succeed" | "fail" | "die" | "interrupt" | "deadline" }
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
  /** calls under an armed deadline, by id: when their timer ends them */
  readonly armed = new Map<number, number>()
  constructor(readonly config: Config) {}

  call(deadline?: CallDeadline): void {
    const id = this.states.length
    if (deadline?.kind === "arm") this.armed.set(id, this.now + deadline.millis)
    // an established deadline bounds the wait as `maxWait` does; an armed one is left to its timer
    const bound = Math.min(
      this.config.maxWait ?? Number.POSITIVE_INFINITY,
      deadline?.kind === "establish" ? deadline.millis : Number.POSITIVE_INFINITY
    )
    if (this.queue.length === 0 && this.running.size < this.config.maxConcurrent) {
      this.running.add(id)
      this.states.push({ _tag: "Running" })
    } else if (this.queue.length >= this.config.maxQueued) {
      this.states.push({ _tag: "Rejected", reason: "Full", at: this.now })
    } else if (bound === 0) {
      this.states.push({ _tag: "Rejected", reason: "Timeout", at: this.now })
    } else {
      this.queue.push({ id, until: this.now + bound })
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

  end(id: number, how: "succeed" | "fail" | "die" | "interrupt" | "deadline"): void {
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

  /** Moves the clock: queued waits run out, and armed deadlines end their calls (a permit then changes hands). */
  advance(millis: number): void {
    const target = this.now + millis
    for (;;) {
      const live = (id: number) => this.states[id]!._tag === "Running" || this.states[id]!._tag === "Queued"
      const deadlines = [...this.armed].filter(([id, at]) => live(id) && at <= target)
      const waits = this.queue.filter((w) => w.until <= target)
      const next = Math.min(...deadlines.map(([, at]) => at), ...waits.map((w) => w.until))
      if (!Number.isFinite(next)) break
      this.now = next
      // (armed deadlines are odd, waits even: a deadline never ends a call at the instant a wait runs out)
      for (const w of waits) {
        if (w.until === next) {
          this.queue.splice(this.queue.indexOf(w), 1)
          this.states[w.id] = { _tag: "Rejected", reason: "Timeout", at: w.until }
        }
      }
      for (const [id, at] of deadlines) if (at === next) this.end(id, "deadline")
    }
    this.now = target
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
  readonly fiber: Fiber.RuntimeFiber<void, Bulkhead.BulkheadRejected | Boom | Deadline.DeadlineExceeded>
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

    const startCall = (deadline?: CallDeadline) =>
      Effect.gen(function*() {
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
        const guarded = deadline === undefined
          ? bulkhead.run(body)
          : deadline.kind === "establish"
          ? Deadline.establish(bulkhead.run(body), Duration.millis(deadline.millis))
          : Deadline.withDeadline(bulkhead.run(body), Duration.millis(deadline.millis))
        const fiber = yield* Effect.fork(
          guarded.pipe(
            Effect.onExit(() =>
              Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => (call.endedAt = now)))
            )
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
        if (Deadline.isDeadlineExceeded(error)) return { _tag: "Ended", how: "deadline" }
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
          model.call(command.deadline)
          yield* startCall(command.deadline)
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
    for (let i = 0; i < config.maxConcurrent; i++) yield* startCall()
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
  maxWait: FastCheck.option(
    FastCheck.oneof(FastCheck.constant(0), FastCheck.integer({ min: 1, max: 50 }).map((n) => 2 * n)),
    { nil: undefined }
  )
})

const command: FastCheck.Arbitrary<Command> = FastCheck.oneof(
  { arbitrary: FastCheck.constant({ _tag: "Call" } as const), weight: 3 },
  {
    arbitrary: FastCheck.record({
      _tag: FastCheck.constant("Call" as const),
      // an armed deadline is odd, where maxWait, established deadlines and every step are even: its timer never ends
      // a call at the instant a queued wait runs out (their order would be the timers')
      deadline: FastCheck.oneof(
        FastCheck.record({
          kind: FastCheck.constant("establish" as const),
          millis: FastCheck.integer({ min: 1, max: 60 }).map((n) => 2 * n)
        }),
        FastCheck.record({
          kind: FastCheck.constant("arm" as const),
          millis: FastCheck.integer({ min: 0, max: 60 }).map((n) => 2 * n + 1)
        })
      )
    }),
    weight: 1
  },
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
      millis: FastCheck.oneof(FastCheck.integer({ min: 0, max: 5 }), FastCheck.integer({ min: 0, max: 75 })).map((n) =>
        2 * n
      )
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
        maxWait: FastCheck.integer({ min: 1, max: 10 }).map((n) => 2 * n)
      }),
      FastCheck.array(command, { maxLength: 40, size: "max" })
    ],
    ([config, commands]) => runScript(config, commands),
    { fastCheck: { seed: 612, numRuns: 200 } }
  )
})
