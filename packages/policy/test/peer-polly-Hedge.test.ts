// Ported from Polly v8's test/Polly.Core.Tests/Hedging/HedgingResilienceStrategyTests.cs (App-vNext/Polly), one `it`
// per Polly case (a [Theory] as one `it` over its rows), named after it.
// Mapping: Polly's `MaxHedgedAttempts` is `maxHedges`, `Delay` is `delay` (Polly's negative delay, "fallback mode":
// hedge only when an attempt fails, is `Duration.infinity`; zero, "parallel mode", is zero), `ShouldHandle` is
// `while` (a handled outcome lets the next copy start; an unhandled one is the answer), `OnHedging` is `onHedge` (its
// `index` 1, 2, .. is Polly's `AttemptNumber` 0, 1, .. of the attempt that is hedged). Polly's action generator gives
// each attempt its own callback; Sturdy runs the same effect for each copy, which reads `Hedge.currentIndex` (0 for the
// primary) to act as Polly's n-th action. Polly's handled "results" are typed failures; a thrown exception that
// Polly's predicate handles is a typed failure too (Sturdy never hedges on a defect). A .NET CancellationToken is
// fiber interruption.
// Deliberate difference: when every attempt fails, Polly returns the outcome of the earliest LAUNCHED attempt (the
// primary); Sturdy returns the last failure by default and the earliest failure with `failure: "first"` (see
// "ExecuteAsync_ExceptionsHandled_ShouldThrowLastException" and "..._EnsureOriginalCallsResultReturned").
// Not ported (.NET mechanics): "Execute_CancellationRequested_Throws" and
// "ExecuteCore_CallerCancellation_EnsureExceptionCarriesCallerToken" (token identity), "EnsureAttemptReported" and
// "EnsureOnHedgingTelemetry" (telemetry event types), "EnsurePrimaryContextFlows", "EnsureOriginalCancellationTokenRestored",
// "EnsurePropertiesConsistency", "Primary_/Secondary_CustomPropertiesAvailable" (ResilienceContext properties: an
// Effect copy shares its fiber refs and services by inheritance), "EnsureDiscardedResultDisposed" (IDisposable),
// "EnsureBackgroundWorkInSuccessfulCallNotCancelled" (a Task outliving its call), "EnsureExceptionStackTracePreserved"
// (ported as: the primary's defect is returned as the same object), "GetHedgingDelayAsync_GeneratorSet_..." (a
// per-attempt delay generator; Sturdy's delay is a duration or a latency percentile).
import { describe, expect, it } from "@effect/vitest"
import * as Hedge from "@sturdy/policy/Hedge"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as TestClock from "effect/TestClock"

class Handled extends Data.TaggedError("Handled")<{ readonly name: string }> {}
class Unhandled extends Data.TaggedError("Unhandled")<{ readonly name: string }> {}

const LongDelay = Duration.days(1)
const settle = Effect.repeatN(Effect.yieldNow(), 20)

// Each attempt runs `actions[index]` (the last repeats), logging when it starts and how it ends.
const makeActions = <A, E>(actions: ReadonlyArray<Effect.Effect<A, E>>) => {
  const log: Array<{ index: number; startedAt: number; end?: "done" | "interrupted" }> = []
  let running = 0
  let maxConcurrent = 0
  const call = Effect.gen(function*() {
    const index = yield* FiberRef.get(Hedge.currentIndex)
    const entry: (typeof log)[number] = { index, startedAt: yield* TestClock.currentTimeMillis }
    log.push(entry)
    running++
    maxConcurrent = Math.max(maxConcurrent, running)
    return yield* actions[Math.min(index, actions.length - 1)]!.pipe(
      Effect.onExit((exit) =>
        Effect.sync(() => {
          running--
          entry.end = Exit.isInterrupted(exit) ? "interrupted" : "done"
        })
      )
    )
  })
  return { call, log, maxConcurrent: () => maxConcurrent }
}

const after = <A>(delay: Duration.DurationInput, value: A) => Effect.as(Effect.sleep(delay), value)
const failAfter = <E>(delay: Duration.DurationInput, error: E) =>
  Effect.zipRight(Effect.sleep(delay), Effect.fail(error))

describe("peer Polly HedgingResilienceStrategyTests", () => {
  // Polly's defaults: MaxHedgedAttempts 1 (Delay 2 s; Sturdy's delay has no default: it is the one required option)
  it("Ctor_EnsureDefaults", () => {
    expect(Hedge.defaults.maxHedges).toBe(1)
  })

  // Polly: the primary's outcome is handled, so the secondary runs and its result is returned
  it.effect("ExecutePrimary_Cancelled_SecondaryShouldBeExecuted", () =>
    Effect.gen(function*() {
      const a = makeActions<string, Handled>([
        Effect.fail(new Handled({ name: "primary" })),
        Effect.succeed("secondary")
      ])
      const result = yield* a.call.pipe(Hedge.hedge({ delay: "1 second", maxHedges: 2 }))
      expect(result).toBe("secondary")
      expect(a.log.map((x) => [x.index, x.startedAt])).toEqual([[0, 0], [1, 0]])
    }))

  it.effect("GetHedgingDelayAsync_NoGeneratorSet_EnsureCorrectValue", () =>
    Effect.gen(function*() {
      const a = makeActions([after(LongDelay, "primary"), after("1 millis", "secondary")])
      const fiber = yield* Effect.fork(a.call.pipe(Hedge.hedge({ delay: "123 millis" })))
      yield* TestClock.adjust("122 millis")
      expect(a.log).toHaveLength(1)
      yield* TestClock.adjust("1 millis")
      expect(a.log.map((x) => x.startedAt)).toEqual([0, 123])
      yield* TestClock.adjust("1 millis")
      expect(yield* Fiber.join(fiber)).toBe("secondary")
    }))

  // Polly's HedgingActions: the primary is slow; the hedges answer "Oranges" (fastest), "Apples", "Pears" at
  // different speeds; the fastest answer wins, whichever attempt gave it.
  it.effect("ExecuteAsync_ShouldReturnAnyPossibleResult", () =>
    Effect.gen(function*() {
      const a = makeActions([
        after(LongDelay, "Primary"),
        after("5 seconds", "Apples"),
        after("100 millis", "Oranges"),
        after("10 seconds", "Pears")
      ])
      const fiber = yield* Effect.fork(a.call.pipe(Hedge.hedge({ delay: "1 second", maxHedges: 3 })))
      yield* TestClock.adjust("2100 millis")
      expect(yield* Fiber.join(fiber)).toBe("Oranges")
      expect(a.log.map((x) => x.end)).toEqual(["interrupted", "interrupted", "done"])
    }))

  it.effect("ExecuteAsync_EnsureHedgedTasksCancelled_Ok", () =>
    Effect.gen(function*() {
      const a = makeActions([after("1 hour", "Success"), failAfter(LongDelay, new Handled({ name: "hedge" }))])
      const fiber = yield* Effect.fork(a.call.pipe(Hedge.hedge({ delay: "1 second", maxHedges: 2 })))
      yield* TestClock.adjust("1 second")
      yield* TestClock.adjust("1 second")
      yield* TestClock.adjust("1 hour")
      expect(yield* Fiber.join(fiber)).toBe("Success")
      // both hedges were cancelled, and were so before the result came back
      expect(a.log.map((x) => [x.index, x.end])).toEqual([[0, "done"], [1, "interrupted"], [2, "interrupted"]])
    }))

  it.effect("ExecuteAsync_EnsurePrimaryTaskCancelled_Ok", () =>
    Effect.gen(function*() {
      const a = makeActions([after("24 hours", "Primary"), after("1 hour", "Success")])
      const fiber = yield* Effect.fork(a.call.pipe(Hedge.hedge({ delay: "1 second" })))
      yield* TestClock.adjust("2 hours")
      expect(yield* Fiber.join(fiber)).toBe("Success")
      expect(a.log.map((x) => [x.index, x.end])).toEqual([[0, "interrupted"], [1, "done"]])
    }))

  // Polly gives each attempt its own ResilienceContext (and cancellation token); Sturdy gives each its own index and
  // fiber, so cancelling one does not cancel the others.
  it.effect("ExecuteAsync_EveryHedgedTaskShouldHaveDifferentContexts", () =>
    Effect.gen(function*() {
      const a = makeActions([after(LongDelay, "primary"), Effect.as(Effect.yieldNow(), "secondary")])
      const fiber = yield* Effect.fork(a.call.pipe(Hedge.hedge({ delay: "1 second" })))
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(fiber)).toBe("secondary")
      expect(a.log.map((x) => x.index)).toEqual([0, 1])
      expect(a.log.map((x) => x.end)).toEqual(["interrupted", "done"])
    }))

  // Polly: an OnHedging callback that throws makes the call throw it. Sturdy: an `onHedge` that dies ends the call
  // with that defect.
  it.effect("ExecuteAsync_OnHedgingEventThrows_EnsureExceptionRethrown", () =>
    Effect.gen(function*() {
      const error = new Error("my-exception")
      const a = makeActions<string, Handled>([Effect.fail(new Handled({ name: "Failure" })), Effect.succeed("Success")])
      const exit = yield* Effect.exit(a.call.pipe(Hedge.hedge({ delay: "1 second", onHedge: () => Effect.die(error) })))
      expect(Exit.isFailure(exit) && exit.cause._tag === "Die" && exit.cause.defect).toBe(error)
    }))

  // Polly: every attempt's result is handled and the primary is the slowest: its result ("1st") is returned, in
  // fallback (-1), parallel (0) and latency (1 s) modes. Sturdy returns the last failure: the primary's in parallel
  // and latency modes. In fallback mode the hedges start only after the primary failed, so the primary is not the
  // slowest: Polly still returns its outcome (the first launched), Sturdy the last failure ("3"), or the primary's
  // with `failure: "first"`.
  it.effect("ExecuteAsync_AllAttemptsFailAndTheOriginalCallIsTheSlowest_EnsureOriginalCallsResultReturned", () =>
    Effect.gen(function*() {
      for (const delay of [Duration.infinity, Duration.zero, Duration.seconds(1)]) {
        // Polly's primary takes 200 ms of real time while its fake clock runs the 1 s hedging delay at once: here the
        // primary takes longer than the delay
        const a = makeActions<never, Handled>([
          failAfter("5 seconds", new Handled({ name: "1st" })),
          Effect.fail(new Handled({ name: "2" })),
          Effect.fail(new Handled({ name: "3" }))
        ])
        const fiber = yield* Effect.fork(Effect.flip(a.call.pipe(Hedge.hedge({ delay, maxHedges: 2 }))))
        yield* TestClock.adjust("1 hour")
        expect((yield* Fiber.join(fiber)).name).toBe(Duration.isFinite(delay) ? "1st" : "3")
        expect(a.log).toHaveLength(3)
      }
      const fallback = makeActions<never, Handled>([
        failAfter("200 millis", new Handled({ name: "1st" })),
        Effect.fail(new Handled({ name: "2" }))
      ])
      const fiber = yield* Effect.fork(
        Effect.flip(fallback.call.pipe(Hedge.hedge({ delay: Duration.infinity, maxHedges: 2, failure: "first" })))
      )
      yield* TestClock.adjust("1 hour")
      expect((yield* Fiber.join(fiber)).name).toBe("1st")
    }))

  // Polly: cancelling the caller's token cancels the primary and the hedge, and the call throws.
  it.effect("ExecuteAsync_CancellationLinking_Ok", () =>
    Effect.gen(function*() {
      const a = makeActions([after(LongDelay, "Success"), after("12 hours", "Success")])
      const fiber = yield* Effect.fork(a.call.pipe(Hedge.hedge({ delay: "1 second", maxHedges: 2 })))
      yield* TestClock.adjust("4 hours")
      yield* Fiber.interrupt(fiber)
      yield* TestClock.adjust("1 hour")
      expect(Exit.isInterrupted(yield* Fiber.await(fiber))).toBe(true)
      expect(a.log.map((x) => x.end)).toEqual(["interrupted", "interrupted", "interrupted"])
    }))

  // Also: a negative delay is no wait (Effect's durations, as `Effect.sleep`), so it is parallel mode too. Polly reads a
  // negative delay as fallback mode; in Sturdy that is `Duration.infinity` (see the next case).
  it.effect("ExecuteAsync_ZeroHedgingDelay_EnsureAllTasksSpawnedAtOnce", () =>
    Effect.gen(function*() {
      // Polly's case sets a zero delay only; a negative one is a RangeError in Sturdy (Hedge.ts), not read as zero
      expect(() => Hedge.hedge(Effect.void, { delay: -1 })).toThrow(RangeError)
      for (const delay of [Duration.zero]) {
        const a = makeActions([after(LongDelay, "Success")])
        const fiber = yield* Effect.fork(a.call.pipe(Hedge.hedge({ delay, maxHedges: 2 })))
        yield* settle
        expect(a.log.map((x) => [x.index, x.startedAt - a.log[0]!.startedAt])).toEqual([[0, 0], [1, 0], [2, 0]])
        yield* TestClock.adjust(LongDelay)
        expect(yield* Fiber.join(fiber)).toBe("Success")
      }
    }))

  // Polly's fallback mode: with no hedging delay, an attempt starts only when the previous one failed, never two at
  // once. Sturdy: an infinite delay.
  it.effect("ExecuteAsync_InfiniteHedgingDelay_EnsureNoConcurrentExecutions", () =>
    Effect.gen(function*() {
      const a = makeActions<string, Handled>([failAfter(LongDelay, new Handled({ name: "dummy" }))])
      const fiber = yield* Effect.fork(
        Effect.flip(a.call.pipe(Hedge.hedge({ delay: Duration.infinity, maxHedges: 2 })))
      )
      for (let i = 0; i < 3; i++) yield* TestClock.adjust(LongDelay)
      expect((yield* Fiber.join(fiber))._tag).toBe("Handled")
      expect(a.log.map((x) => x.startedAt)).toEqual([0, 1, 2].map((n) => n * Duration.toMillis(LongDelay)))
      expect(a.maxConcurrent()).toBe(1)
    }))

  // The primary fails (handled), the hedges fail with Argument (handled), InvalidOperation (handled) and then
  // BadImageFormat (not handled): that one is the answer, and no fourth hedge is made.
  it.effect("ExecuteAsync_ExceptionsHandled_ShouldThrowAnyException", () =>
    Effect.gen(function*() {
      const a = makeActions<never, Handled | Unhandled>([
        Effect.fail(new Handled({ name: "InvalidCast" })),
        Effect.fail(new Handled({ name: "Argument" })),
        Effect.fail(new Handled({ name: "InvalidOperation" })),
        Effect.fail(new Unhandled({ name: "BadImageFormat" })),
        Effect.fail(new Unhandled({ name: "NotSupported" }))
      ])
      const error = yield* Effect.flip(
        a.call.pipe(Hedge.hedge({ delay: "1 second", maxHedges: 5, while: (e) => e instanceof Handled }))
      )
      expect(error).toEqual(new Unhandled({ name: "BadImageFormat" }))
      expect(a.log).toHaveLength(4) // the primary and 3 hedges
    }))

  // Polly: every attempt fails with a handled exception: it throws the primary's (InvalidCast). Sturdy returns the
  // last failure by default, and the earliest (here the primary's, as in Polly) with `failure: "first"`.
  it.effect("ExecuteAsync_ExceptionsHandled_ShouldThrowLastException", () =>
    Effect.gen(function*() {
      const actions = [
        Effect.fail(new Handled({ name: "InvalidCast" })),
        Effect.fail(new Handled({ name: "Argument" })),
        Effect.fail(new Handled({ name: "InvalidOperation" })),
        Effect.fail(new Handled({ name: "BadImageFormat" }))
      ]
      const last = makeActions<never, Handled>(actions)
      expect((yield* Effect.flip(last.call.pipe(Hedge.hedge({ delay: "1 second", maxHedges: 3 })))).name).toBe(
        "BadImageFormat"
      )
      expect(last.log).toHaveLength(4)
      const first = makeActions<never, Handled>(actions)
      expect(
        (yield* Effect.flip(first.call.pipe(Hedge.hedge({ delay: "1 second", maxHedges: 3, failure: "first" })))).name
      ).toBe("InvalidCast")
      expect(first.log).toHaveLength(4)
    }))

  it.effect("ExecuteAsync_PrimaryExceptionNotHandled_Rethrow", () =>
    Effect.gen(function*() {
      const a = makeActions<never, Handled | Unhandled>([Effect.fail(new Unhandled({ name: "InvalidCast" }))])
      const error = yield* Effect.flip(
        a.call.pipe(Hedge.hedge({ delay: "1 second", while: (e) => e instanceof Handled }))
      )
      expect(error).toEqual(new Unhandled({ name: "InvalidCast" }))
      expect(a.log).toHaveLength(1)
    }))

  it.effect("ExecuteAsync_ExceptionsHandled_ShouldReturnLastResult", () =>
    Effect.gen(function*() {
      const a = makeActions<string, Handled>([
        Effect.fail(new Handled({ name: "InvalidCast" })),
        Effect.fail(new Handled({ name: "Argument" })),
        Effect.fail(new Handled({ name: "InvalidOperation" })),
        Effect.succeed("Success")
      ])
      expect(yield* a.call.pipe(Hedge.hedge({ delay: "1 second", maxHedges: 3 }))).toBe("Success")
    }))

  it.effect("ExecuteAsync_EnsureHedgingDelayGeneratorRespected", () =>
    Effect.gen(function*() {
      const a = makeActions([failAfter(LongDelay, new Unhandled({ name: "InvalidCast" })), Effect.succeed("Success")])
      const fiber = yield* Effect.fork(a.call.pipe(Hedge.hedge({ delay: "12345 millis" })))
      yield* TestClock.adjust("5 hours")
      expect(yield* Fiber.join(fiber)).toBe("Success")
      expect(a.log.map((x) => x.startedAt)).toEqual([0, 12_345])
    }))

  // Polly: the primary's exception is rethrown with its own stack trace. Sturdy: the defect is the same object.
  it.effect("ExecuteAsync_EnsureExceptionStackTracePreserved", () =>
    Effect.gen(function*() {
      const error = new Error("Forced Error")
      const exit = yield* Effect.exit(Effect.die(error).pipe(Hedge.hedge({ delay: "1 second" })))
      expect(Exit.isFailure(exit) && exit.cause._tag === "Die" && exit.cause.defect).toBe(error)
    }))

  it.effect("ExecuteAsync_EnsureOnHedgingCalled", () =>
    Effect.gen(function*() {
      const events: Array<Hedge.HedgeEvent> = []
      const a = makeActions<never, Handled>([Effect.fail(new Handled({ name: "Failure" }))])
      yield* Effect.flip(
        a.call.pipe(
          Hedge.hedge({ delay: "1 second", maxHedges: 3, onHedge: (e) => Effect.sync(() => events.push(e)) })
        )
      )
      expect(events.map((e) => e.index)).toEqual([1, 2, 3])
      expect(events.map((e) => e.trigger)).toEqual(["failure", "failure", "failure"])
    }))
})
