import { describe, expect, it } from "@effect/vitest"
import * as Runner from "@sturdy/policy/Runner"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Runtime from "effect/Runtime"
import * as Supervisor from "effect/Supervisor"

class Greeting extends Context.Tag("test/Runner/Greeting")<Greeting, string>() {}

const counter = FiberRef.unsafeMake(0)

// What a Promise settled with, for comparing a runner's outcome with `Runtime.runPromise`'s.
const settled = <A>(promise: Promise<A>): Promise<Exit.Exit<A, unknown>> =>
  promise.then(
    (value) => Exit.succeed(value),
    (error) =>
      Runtime.isFiberFailure(error)
        ? Exit.failCause(error[Runtime.FiberFailureCauseId] as Cause.Cause<unknown>)
        : Exit.die(error)
  )

// The runner's runtime: a layer with a service, so that calls show they run with its context.
const withRunner = async <A>(
  use: (runner: Runner.Runner<Greeting>, runtime: Runtime.Runtime<Greeting>) => Promise<A>,
  options?: Runner.Options
): Promise<A> => {
  const managed = ManagedRuntime.make(Layer.succeed(Greeting, "hello"))
  const runtime = await managed.runtime()
  const runner = Runner.unsafeMake(runtime, options)
  try {
    return await use(runner, runtime)
  } finally {
    runner.close()
    await managed.dispose()
  }
}

// A call's program, drawn at random: steps that yield, set a ref or fork a fiber that never ends, then an outcome.
type Step = { readonly _tag: "yield" } | { readonly _tag: "set"; readonly value: number } | { readonly _tag: "fork" }
type End =
  | { readonly _tag: "succeed"; readonly value: number }
  | { readonly _tag: "fail"; readonly error: number }
  | { readonly _tag: "die" }
  | { readonly _tag: "interrupt" }
interface Drawn {
  readonly steps: ReadonlyArray<Step>
  readonly end: End
}
const drawn: FastCheck.Arbitrary<Drawn> = FastCheck.record({
  steps: FastCheck.array(
    FastCheck.oneof(
      FastCheck.constant<Step>({ _tag: "yield" }),
      FastCheck.integer({ min: 1, max: 9 }).map((value): Step => ({ _tag: "set", value })),
      FastCheck.constant<Step>({ _tag: "fork" })
    ),
    { maxLength: 5 }
  ),
  end: FastCheck.oneof(
    FastCheck.integer({ min: 0, max: 99 }).map((value): End => ({ _tag: "succeed", value })),
    FastCheck.integer({ min: 0, max: 99 }).map((error): End => ({ _tag: "fail", error })),
    FastCheck.constant<End>({ _tag: "die" }),
    FastCheck.constant<End>({ _tag: "interrupt" })
  )
})

// The program of `call`; the ref's value at its start is part of its outcome, and the fibers it forks are kept.
const programOf = (call: Drawn, forks: Array<Fiber.RuntimeFiber<never>>): Effect.Effect<string, string> =>
  Effect.gen(function*() {
    const start = yield* FiberRef.get(counter)
    for (const step of call.steps) {
      if (step._tag === "yield") yield* Effect.yieldNow()
      else if (step._tag === "set") yield* FiberRef.set(counter, step.value)
      else forks.push(yield* Effect.fork(Effect.never))
    }
    const end = call.end
    if (end._tag === "succeed") return `${start}:${end.value}`
    if (end._tag === "fail") return yield* Effect.fail(`${start}:${end.error}`)
    if (end._tag === "die") return yield* Effect.die(`${start}:defect`)
    return yield* Effect.interrupt
  })

// What a Promise settled with, without the fiber ids an interruption names.
const outcomeOf = async (promise: Promise<string>) => {
  const exit = await settled(promise)
  return Exit.isSuccess(exit)
    ? { value: exit.value }
    : {
      failures: [...Cause.failures(exit.cause)],
      defects: [...Cause.defects(exit.cause)],
      interrupted: Cause.isInterrupted(exit.cause)
    }
}

describe("Runner", () => {
  it("settles any mix of calls as Runtime.runPromise does, each from the runtime's refs, its forks ended first", async () => {
    const runtime = Runtime.defaultRuntime
    const drew = { forks: 0, ends: new Set<string>() }
    await FastCheck.assert(
      FastCheck.asyncProperty(
        FastCheck.array(drawn, { minLength: 1, maxLength: 24 }),
        FastCheck.integer({ min: 0, max: 4 }),
        async (calls, maxIdle) => {
          for (const call of calls) drew.ends.add(call.end._tag)
          const expected = await Promise.all(
            calls.map((call) => outcomeOf(Runtime.runPromise(runtime)(programOf(call, []))))
          )
          const runner = Runner.unsafeMake(runtime, { maxIdle })
          try {
            // twice over, so that later calls run on workers earlier calls left parked
            for (let round = 0; round < 2; round++) {
              const forks = calls.map((): Array<Fiber.RuntimeFiber<never>> => [])
              // whether, when the call settled, every fiber it forked had ended
              const endedFirst: Array<boolean> = []
              const actual = await Promise.all(calls.map((call, i) => {
                const promise = runner.runPromise(programOf(call, forks[i]!))
                const ended = () => {
                  endedFirst[i] = forks[i]!.every((fiber) => fiber.unsafePoll() !== null)
                }
                promise.then(ended, ended)
                return outcomeOf(promise)
              }))
              expect(actual).toEqual(expected)
              expect(endedFirst).toEqual(calls.map(() => true))
              drew.forks += forks.flat().length
              expect(runner.busy).toBe(0)
              expect(runner.idle).toBeLessThanOrEqual(maxIdle)
            }
          } finally {
            runner.close()
          }
        }
      ),
      { seed: 7, numRuns: 60 }
    )
    // the draws reached every outcome, and calls that forked
    expect([...drew.ends].sort()).toEqual(["die", "fail", "interrupt", "succeed"])
    expect(drew.forks).toBeGreaterThan(0)
  })

  it("resolves with the value, using the runtime's context", () =>
    withRunner(async (runner) => {
      expect(await runner.runPromise(Effect.map(Greeting, (greeting) => `${greeting}, world`))).toBe("hello, world")
    }))

  it("rejects with the FiberFailure Runtime.runPromise gives, for failures, defects and interruptions", () =>
    withRunner(async (runner, runtime) => {
      const cases: ReadonlyArray<Effect.Effect<number, string>> = [
        Effect.fail("boom"),
        Effect.die(new Error("defect")),
        Effect.interrupt,
        Effect.zipRight(Effect.yieldNow(), Effect.fail("after a yield"))
      ]
      for (const effect of cases) {
        const viaRunner = await settled(runner.runPromise(effect))
        const viaRoot = await settled(Runtime.runPromise(runtime)(effect))
        expect(Exit.isFailure(viaRunner)).toBe(true)
        if (Exit.isFailure(viaRunner) && Exit.isFailure(viaRoot)) {
          // the same failures and defects; interruptions name the fiber that ran the call
          expect(Cause.failures(viaRunner.cause)).toEqual(Cause.failures(viaRoot.cause))
          expect(Cause.defects(viaRunner.cause)).toEqual(Cause.defects(viaRoot.cause))
          expect(Cause.isInterruptedOnly(viaRunner.cause)).toBe(Cause.isInterruptedOnly(viaRoot.cause))
        }
        const error = await runner.runPromise(effect).catch((error: unknown) => error)
        expect(Runtime.isFiberFailure(error)).toBe(true)
      }
    }))

  it("serves calls one after the other on one worker, each from the runtime's refs", () =>
    withRunner(async (runner) => {
      const first = await runner.runPromise(
        Effect.zipRight(FiberRef.set(counter, 7), Effect.map(Effect.fiberId, FiberId.threadName))
      )
      const second = await runner.runPromise(
        Effect.zip(FiberRef.get(counter), Effect.map(Effect.fiberId, FiberId.threadName))
      )
      // the same worker served both (the call is the proof that refs were put back, not a fresh fiber)
      expect(second).toEqual([0, first])
      expect(runner.idle).toBe(1)
      expect(runner.busy).toBe(0)
    }))

  it("starts each call at once, as Runtime.runPromise does, and runs it on the runtime's scheduler", () =>
    withRunner(async (runner, runtime) => {
      const log: Array<string> = []
      const first = runner.runPromise(Effect.sync(() => log.push("first")))
      // a new worker and a parked one alike: the call's first steps have run when runPromise returns
      expect(log).toEqual(["first"])
      await first
      expect(runner.idle).toBe(1)
      const second = runner.runPromise(Effect.sync(() => log.push("second")))
      expect(log).toEqual(["first", "second"])
      await second
      // on the parked worker the call yields to the runtime's scheduler: nothing after the yield has run yet
      const third = runner.runPromise(Effect.zipRight(Effect.yieldNow(), Effect.sync(() => log.push("after yield"))))
      expect(log).toEqual(["first", "second"])
      await third
      expect(log).toEqual(["first", "second", "after yield"])
      const scheduler = FiberRef.get(FiberRef.currentScheduler)
      expect(await runner.runPromise(scheduler)).toBe(await Runtime.runPromise(runtime)(scheduler))
      expect(await runner.runPromise(Effect.flatMap(Effect.fork(scheduler), Fiber.join))).toBe(
        await Runtime.runPromise(runtime)(scheduler)
      )
    }))

  it("interrupts and awaits the fibers a call forked before settling it; daemon fibers are left running", () =>
    withRunner(async (runner) => {
      const log: Array<string> = []
      const daemon = Effect.runSync(Deferred.make<void>())
      const value = await runner.runPromise(Effect.gen(function*() {
        yield* Effect.fork(Effect.onInterrupt(Effect.never, () => Effect.sync(() => log.push("child interrupted"))))
        yield* Effect.forkDaemon(
          Effect.onInterrupt(Deferred.await(daemon), () => Effect.sync(() => log.push("daemon interrupted")))
        )
        yield* Effect.yieldNow()
        return "done"
      }))
      log.push(`settled ${value}`)
      expect(log).toEqual(["child interrupted", "settled done"])
      Effect.runSync(Deferred.succeed(daemon, undefined))
    }))

  it("runs a call with a signal on a fiber of its own, which aborting interrupts", () =>
    withRunner(async (runner) => {
      const controller = new AbortController()
      const started = Effect.runSync(Deferred.make<void>())
      const pending = settled(
        runner.runPromise(Effect.zipRight(Deferred.succeed(started, undefined), Effect.never), {
          signal: controller.signal
        })
      )
      await Effect.runPromise(Deferred.await(started))
      controller.abort()
      const exit = await pending
      expect(Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)).toBe(true)
      // the runner's workers were not involved
      expect(runner.busy).toBe(0)
      expect(await runner.runPromise(Effect.succeed(1))).toBe(1)
    }))

  it("settles the call whose worker is interrupted from within, and keeps serving", () =>
    withRunner(async (runner) => {
      const exit = await settled(
        runner.runPromise(
          Effect.withFiberRuntime((fiber) => Effect.zipRight(fiber.interruptAsFork(fiber.id()), Effect.never))
        )
      )
      expect(Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)).toBe(true)
      expect(runner.busy).toBe(0)
      expect(await runner.runPromise(Effect.succeed("still serving"))).toBe("still serving")
    }))

  it("never hands a call to a parked worker whose fiber was interrupted from outside", async () => {
    const supervisor = Effect.runSync(Supervisor.track)
    const managed = ManagedRuntime.make(Supervisor.addSupervisor(supervisor))
    const runner = Runner.unsafeMake(await managed.runtime())
    try {
      await runner.runPromise(Effect.void)
      expect(runner.idle).toBe(1)
      const workers = await Effect.runPromise(supervisor.value)
      await Effect.runPromise(Fiber.interruptAll(workers))
      expect(runner.idle).toBe(0)
      expect(await runner.runPromise(Effect.succeed("served"))).toBe("served")
    } finally {
      runner.close()
      await managed.dispose()
    }
  })

  it("runs concurrent calls on as many workers and keeps at most maxIdle of them parked", () =>
    withRunner(async (runner) => {
      const gate = Effect.runSync(Deferred.make<void>())
      const calls = Array.from({ length: 20 }, (_, i) => runner.runPromise(Effect.as(Deferred.await(gate), i)))
      // every call started at once, each on a worker of its own
      expect(runner.busy).toBe(20)
      Effect.runSync(Deferred.succeed(gate, undefined))
      expect(await Promise.all(calls)).toEqual(Array.from({ length: 20 }, (_, i) => i))
      expect(runner.idle).toBe(3)
      expect(runner.busy).toBe(0)
    }, { maxIdle: 3 }))

  it("with maxIdle 0 keeps no worker", () =>
    withRunner(async (runner) => {
      expect(await runner.runPromise(Effect.succeed(1))).toBe(1)
      expect(runner.idle).toBe(0)
    }, { maxIdle: 0 }))

  it("once closed, ends its parked workers and runs later calls on root fibers", () =>
    withRunner(async (runner) => {
      await runner.runPromise(Effect.void)
      expect(runner.idle).toBe(1)
      runner.close()
      runner.close()
      expect(runner.idle).toBe(0)
      expect(await runner.runPromise(Effect.map(Greeting, (greeting) => greeting.length))).toBe(5)
      expect(runner.idle).toBe(0)
    }))

  it("rejects a maxIdle that is not an integer of at least 0", async () => {
    const runtime = await Effect.runPromise(Effect.runtime<never>())
    for (const maxIdle of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => Runner.unsafeMake(runtime, { maxIdle })).toThrow(RangeError)
    }
  })

  it.effect("make runs on the making fiber's runtime and closes with its scope", () =>
    Effect.gen(function*() {
      const runner = yield* Effect.scoped(Effect.gen(function*() {
        const runner = yield* Runner.make<Greeting>()
        expect(yield* Effect.promise(() => runner.runPromise(Greeting))).toBe("hi")
        expect(runner.idle).toBe(1)
        return runner
      }))
      expect(runner.idle).toBe(0)
    }).pipe(Effect.provideService(Greeting, "hi")))

  it("settles many concurrent calls with their own values", () =>
    withRunner(async (runner) => {
      const calls = Array.from({ length: 500 }, (_, i) =>
        runner.runPromise(i % 3 === 0 ? Effect.as(Effect.yieldNow(), i) : Effect.succeed(i)))
      expect(await Promise.all(calls)).toEqual(Array.from({ length: 500 }, (_, i) =>
        i))
      expect(runner.idle).toBeLessThanOrEqual(Runner.defaultMaxIdle)
    }))

  it("a fiber a call forks does not survive into the worker's next call", () =>
    withRunner(async (runner) => {
      const forked = await runner.runPromise(Effect.fork(Effect.never))
      expect(Exit.isInterrupted(await Effect.runPromise(Fiber.await(forked)))).toBe(true)
    }))
})
