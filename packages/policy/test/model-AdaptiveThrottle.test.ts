/**
 * Model-based properties of `AdaptiveThrottle` (packages/policy/src/AdaptiveThrottle.ts): a throttle is driven with
 * `fc.commands` (calls that succeed, fail with an error the backend's refusal or not, die with a defect that is one or
 * not, fail with another policy's rejection; calls started now and finished later, or interrupted; snapshots; moves
 * of the TestClock) under a seeded `Random` (`Effect.withRandom(Random.make(seed))`). The model draws from a twin
 * `Random.make(seed)` in the same order (one draw per call, when it starts), so the probability is checked exactly:
 * after every command the snapshot (requests, accepts, rejectProbability) must equal the model's, and each call is
 * rejected locally (`AdaptiveThrottleRejected` with the model's probability) exactly when the draw is below it.
 *
 * The model, from the module docs: each call is rejected with probability `max(0, (requests − k·accepts) /
 * (requests + 1))` over the window; a local rejection counts as a request (not an accept); a call let through counts
 * when it ends, as a request, and as an accept unless `isRejectedByBackend` takes its failure (successes are
 * accepts); an interruption, another policy's rejection (`CircuitOpen`, `BulkheadRejected`, …) and a defect
 * `isRejectedByBackend` does not take count nothing (a defect it takes is a refused request).
 * Rules from the code, documented since (the docs said only "a rolling window"): the window is ten buckets of
 * `ceil(window / 10)` ms (at least 1), the bucket of time `t` starts at `t − t mod bucket`, and a bucket counts
 * while its start is after `now − window`; the draw is `Random.next` and a call is rejected when `draw < probability`.
 *
 * Left out: a wall clock set back (the monotonic reading is the TestClock's here), invalid options (HostileOptions).
 */
import { describe, expect, it } from "@effect/vitest"
import * as AdaptiveThrottle from "@sturdy/policy/AdaptiveThrottle"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as TestClock from "effect/TestClock"
import * as TestContext from "effect/TestContext"
import { type ScriptedOutcome, scriptedOutcome } from "./utils/upstream.js"

interface Config {
  readonly k: number
  readonly windowMillis: number
  readonly epoch: number
  readonly seed: number
}

/** how a call let through ends */
type Outcome = ScriptedOutcome

const isRejectedByBackend = (e: unknown) => e === "overloaded"

// ---------------------------------------------------------------------------------------------------------------
// the reference model

class Model {
  now: number
  /** bucket start -> counts */
  readonly buckets = new Map<number, { requests: number; accepts: number }>()
  readonly random: Random.Random
  constructor(readonly config: Config) {
    this.now = config.epoch
    this.random = Random.make(config.seed)
  }
  get bucketMillis(): number {
    return Math.max(1, Math.ceil(this.config.windowMillis / 10))
  }
  totals(): { requests: number; accepts: number } {
    let requests = 0
    let accepts = 0
    for (const [start, counts] of this.buckets) {
      if (start > this.now - this.config.windowMillis) {
        requests += counts.requests
        accepts += counts.accepts
      }
    }
    return { requests, accepts }
  }
  probability(): number {
    const { accepts, requests } = this.totals()
    return Math.max(0, (requests - this.config.k * accepts) / (requests + 1))
  }
  record(accepted: boolean): void {
    const start = this.now - (this.now % this.bucketMillis)
    let counts = this.buckets.get(start)
    if (counts === undefined) {
      counts = { requests: 0, accepts: 0 }
      this.buckets.set(start, counts)
    }
    counts.requests++
    if (accepted) counts.accepts++
  }
  /** a call starts: the probability in force, and whether it is let through (a rejection is counted here) */
  start(): { probability: number; admitted: boolean } {
    const draw = Effect.runSync(this.random.next)
    const probability = this.probability()
    const admitted = !(draw < probability)
    if (!admitted) this.record(false)
    return { probability, admitted }
  }
  end(outcome: Outcome): void {
    switch (outcome) {
      case "ok":
      case "badRequest":
        return this.record(true)
      case "overloaded":
      case "dieOverloaded":
        return this.record(false)
      default:
        return
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// the system under test

interface Real {
  readonly run: <A, E>(effect: Effect.Effect<A, E>) => Promise<A>
  readonly runtime: ManagedRuntime.ManagedRuntime<never, never>
  readonly throttle: AdaptiveThrottle.AdaptiveThrottle
  readonly random: Random.Random
  readonly pending: Array<{
    readonly gate: Deferred.Deferred<Effect.Effect<string, unknown>>
    readonly fiber: Fiber.RuntimeFiber<string, unknown>
  }>
}

type Cmd = FastCheck.AsyncCommand<Model, Real>

const upstreamOf = scriptedOutcome

const throttled = (real: Real, self: Effect.Effect<string, unknown>) =>
  Effect.withRandom(AdaptiveThrottle.withAdaptiveThrottle(self, real.throttle), real.random)

const expectRejected = (exit: Exit.Exit<string, unknown>, probability: number, label: string) => {
  expect(Exit.isFailure(exit), `${label}: ${String(exit)}`).toBe(true)
  const failure = Cause.failureOption((exit as Exit.Failure<string, unknown>).cause)
  expect(Option.isSome(failure) && failure.value instanceof AdaptiveThrottle.AdaptiveThrottleRejected, label).toBe(
    true
  )
  expect((failure as Option.Some<AdaptiveThrottle.AdaptiveThrottleRejected>).value.probability, label).toBe(
    probability
  )
}

const expectLetThrough = (exit: Exit.Exit<string, unknown>, outcome: Outcome, label: string) => {
  const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
  expect(
    Option.isSome(failure) && failure.value instanceof AdaptiveThrottle.AdaptiveThrottleRejected,
    `${label}: let through, got ${String(exit)}`
  ).toBe(false)
  if (outcome === "ok") expect(Exit.isSuccess(exit), label).toBe(true)
}

class Call implements Cmd {
  constructor(readonly outcome: Outcome, readonly times: number) {}
  check = () => true
  async run(model: Model, real: Real) {
    for (let i = 0; i < this.times; i++) {
      const label = `${this} #${i} at ${model.now}`
      const { admitted, probability } = model.start()
      const exit = await real.runtime.runPromiseExit(throttled(real, upstreamOf(this.outcome)))
      if (admitted) {
        model.end(this.outcome)
        expectLetThrough(exit, this.outcome, label)
      } else {
        expectRejected(exit, probability, label)
      }
    }
  }
  toString = () => `call -> ${this.outcome} x${this.times}`
}

/** a call started now, ended by a later `Finish` (a rejected one ends at once) */
class Start implements Cmd {
  check = () => true
  async run(model: Model, real: Real) {
    const { admitted, probability } = model.start()
    const gate = await real.run(Deferred.make<Effect.Effect<string, unknown>>())
    const started = await real.run(Deferred.make<void>())
    const fiber = real.runtime.runFork(
      throttled(real, Effect.zipRight(Deferred.succeed(started, undefined), Effect.flatten(Deferred.await(gate))))
    )
    if (admitted) {
      // the upstream runs, or (a throttle that rejects it) the call ends at once
      const ended = await real.run(
        Effect.raceFirst(
          Effect.as(Deferred.await(started), Option.none()),
          Effect.map(Fiber.await(fiber), Option.some)
        )
      )
      if (Option.isSome(ended)) expectLetThrough(ended.value, "ok", `${this} at ${model.now}`)
      real.pending.push({ gate, fiber })
    } else {
      expectRejected(await real.run(Fiber.await(fiber)), probability, `${this} at ${model.now}`)
    }
  }
  toString = () => "start"
}

class Finish implements Cmd {
  constructor(readonly index: number, readonly outcome: Outcome) {}
  check = () => true
  async run(model: Model, real: Real) {
    if (real.pending.length === 0) return
    const [{ fiber, gate }] = real.pending.splice(this.index % real.pending.length, 1)
    model.end(this.outcome)
    if (this.outcome === "interrupt") {
      await real.run(Fiber.interrupt(fiber))
      return
    }
    // the gate opens, and the call ends as `outcome`
    await real.run(Deferred.succeed(gate, upstreamOf(this.outcome)))
    expectLetThrough(await real.run(Fiber.await(fiber)), this.outcome, `${this} at ${model.now}`)
  }
  toString = () => `finish[${this.index}] -> ${this.outcome}`
}

class Advance implements Cmd {
  constructor(readonly step: number | "bucket" | "window" | "window-1") {}
  check = () => true
  async run(model: Model, real: Real) {
    const millis = this.step === "bucket"
      ? model.bucketMillis - (model.now % model.bucketMillis)
      : this.step === "window"
      ? model.config.windowMillis
      : this.step === "window-1"
      ? model.config.windowMillis - 1
      : this.step
    model.now += millis
    await real.run(TestClock.adjust(Duration.millis(millis)))
  }
  toString = () => `advance(${this.step})`
}

const outcome = FastCheck.constantFrom<Outcome>(
  "ok",
  "overloaded",
  "overloaded",
  "badRequest",
  "dieOverloaded",
  "dieBug",
  "circuitOpen",
  "interrupt"
)
const commands = FastCheck.commands<Model, Real, false>([
  FastCheck.tuple(outcome, FastCheck.integer({ min: 1, max: 8 })).map(([o, n]) => new Call(o, n)),
  FastCheck.tuple(outcome, FastCheck.integer({ min: 1, max: 8 })).map(([o, n]) => new Call(o, n)),
  FastCheck.constant(new Start()),
  FastCheck.tuple(FastCheck.nat(4), outcome).map(([i, o]) => new Finish(i, o)),
  FastCheck.oneof(
    FastCheck.integer({ min: 0, max: 150 }),
    FastCheck.constantFrom("bucket" as const, "window" as const, "window-1" as const)
  ).map((s) => new Advance(s))
], { maxCommands: 50, size: "max" })

const config: FastCheck.Arbitrary<Config> = FastCheck.record({
  k: FastCheck.constantFrom(1, 1.1, 1.5, 2, 3),
  windowMillis: FastCheck.constantFrom(1, 7, 100, 1000, 1234),
  epoch: FastCheck.constantFrom(0, 1_764_000_000_123),
  seed: FastCheck.integer({ min: 0, max: 1_000_000 })
})

const runScript = async (config: Config, script: Iterable<Cmd>) => {
  const runtime = ManagedRuntime.make(TestContext.TestContext)
  try {
    await runtime.runPromise(TestClock.setTime(config.epoch))
    const throttle = await runtime.runPromise(
      AdaptiveThrottle.make({ k: config.k, window: Duration.millis(config.windowMillis), isRejectedByBackend })
    )
    const real: Real = {
      run: (effect) => runtime.runPromise(effect),
      runtime,
      throttle,
      random: Random.make(config.seed),
      pending: []
    }
    const model = new Model(config)
    const checked = Array.from(script, (command): Cmd => ({
      check: () => true,
      run: async (m, r) => {
        await command.run(m, r)
        const { accepts, requests } = m.totals()
        expect(await real.run(throttle.snapshot), `snapshot after ${command} at ${m.now}`).toEqual({
          requests,
          accepts,
          rejectProbability: m.probability()
        })
      },
      toString: () => command.toString()
    }))
    await FastCheck.asyncModelRun(() => ({ model, real }), checked)
    for (const p of real.pending) await real.run(Fiber.interrupt(p.fiber))
  } finally {
    await runtime.dispose()
  }
}

describe("model AdaptiveThrottle: the probability and every admission equal the model's", () => {
  it("calls of every outcome, overlapping calls, snapshots and the clock, under a seeded Random", async () => {
    await FastCheck.assert(
      FastCheck.asyncProperty(config, commands, (c, script) => runScript(c, script)),
      { seed: 4242, numRuns: 200 }
    )
  }, 40_000)
})
