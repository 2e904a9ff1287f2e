// Ported from cep21/circuit at 076289099fe63d129cfa553c0d1d8c32b3ed8516: circuit_test.go, one `it` per Go test (per
// subtest where a test has several), named after it.
// Mapping: `NewCircuitFromConfig(name, Config{...})` is utils/cep21.ts's `makeCircuit` (the breaker, a bulkhead of
// `Execution.MaxConcurrentRequests`, `Deadline.attemptTimeout(Execution.Timeout)`, and the fallback in a bulkhead of
// `Fallback.MaxConcurrentRequests`), with cep21's defaults (Timeout 1 s, 10 and 10, a circuit that never opens:
// `consecutiveFailures: Infinity`); `Execute` / `Run` / `Go` are its `execute` / `run` / `go`. `OpenCircuit` is
// `isolate`, `CloseCircuit` is `reset`, `IsOpen()` a state other than Closed. `SimpleBadRequest` is `BadRequest`
// (`isIgnored`, and never sent to the fallback); `errCircuitOpen` is `CircuitOpen`, `errThrottledConcurrentCommands`
// is `BulkheadRejected` "Full", a timeout is `DeadlineExceeded` "Attempt". A panic is a defect (`Effect.die`). The
// caller's `context.WithTimeout` is `Deadline.withDeadline` around the call, its `cancel()` the interruption of the
// caller's fiber; `ExecutionConfig.IsErrInterrupt` is `isIgnored`. The circuit's `Opened` / `Closed` metrics are the
// transitions on `subscribe`. `time.Sleep` is virtual (TestClock); a goroutine is a fiber, `testhelp.SleepsForX(d)` is
// `Effect.sleep(d)` (it ends early when its context does: the fiber is interrupted), a Go function that ignores its
// context is an uninterruptible one.
// Deliberate differences (each test says which): a run that outlives its timeout is interrupted and, once it has
// stopped, fails with `DeadlineExceeded` (cep21's `Execute` returns what the run returned, and counts a timeout);
// the caller's own deadline or cancellation is never recorded by the breaker (cep21 counts it with
// `IgnoreInterrupts: true`; Sturdy has no such option: it says nothing about the upstream).
// Not ported: TestNilCircuit and TestEmptyCircuit (a nil or zero-value `*Circuit` runs the function unguarded: no
// counterpart), TestSetConfigThreadSafe (`General.Disabled`: no such option), TestVariousRaceConditions (a `-race`
// smoke test of every public method at once), TestNilReceivers (nil receivers), TestForcedClosedNeverOpens
// (`ForcedClosed`: Sturdy has `isolate` to hold a breaker open, nothing to hold it closed).
import { describe, expect, it } from "@effect/vitest"
import { Bulkhead, CircuitBreaker, Deadline } from "@sturdy/policy"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import {
  AlwaysFails,
  alwaysFailsFallback,
  alwaysPassesFallback,
  BadRequest,
  type CircuitConfig,
  makeCircuit
} from "./utils/cep21.js"

const alwaysFails = Effect.fail(new AlwaysFails())
const neverCalled = () => Effect.dieMessage("should never be called")

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E | undefined =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined

// testhelp.BehaviorCheck: how many runs are in flight at once, at most
const behaviorCheck = <A, E>(run: Effect.Effect<A, E>) => {
  const check = { current: 0, mostConcurrent: 0, totalRuns: 0 }
  return {
    check,
    run: Effect.acquireUseRelease(
      Effect.sync(() => {
        check.totalRuns++
        check.current++
        check.mostConcurrent = Math.max(check.mostConcurrent, check.current)
      }),
      () => run,
      () => Effect.sync(() => void check.current--)
    )
  }
}

// circuitFactory: opens on the first counted error, Timeout 1 h
const circuitFactory = (name: string, config: CircuitConfig = {}) =>
  makeCircuit(name, { Timeout: 3_600_000, ...config, breaker: { consecutiveFailures: 1, ...config.breaker } })

const transitions = (breaker: CircuitBreaker.CircuitBreaker) =>
  Effect.gen(function*() {
    const seen: Array<CircuitBreaker.StateChange> = []
    yield* Effect.forkScoped(Stream.runForEach(yield* breaker.subscribe, (c) => Effect.sync(() => seen.push(c))))
    return seen
  })

describe("cep21/circuit circuit_test.go", () => {
  it.effect("TestHappyCircuit", () =>
    Effect.gen(function*() {
      const c = yield* makeCircuit("TestHappyCircuit")
      // should work 100 times in a row, never calling the fallback
      for (let i = 0; i < 100; i++) expect(yield* Effect.exit(c.execute(Effect.void, neverCalled))).toEqual(Exit.void)
      expect(yield* c.isOpen).toBe(false)
    }).pipe(Effect.scoped))

  it.effect("TestBadRequest", () =>
    Effect.gen(function*() {
      const c = yield* makeCircuit("TestBadRequest")
      for (let i = 0; i < 100; i++) {
        // fallbacks don't get called on bad requests
        const exit = yield* Effect.exit(
          c.execute(Effect.fail(new BadRequest({ message: "this request is bad" })), neverCalled)
        )
        expect(failureOf(exit)).toBeInstanceOf(BadRequest)
      }
      // bad requests should never break: they are not even recorded
      expect(yield* c.isOpen).toBe(false)
      expect((yield* c.breaker.snapshot).calls).toBe(0)
    }).pipe(Effect.scoped))

  it.effect("TestManyConcurrent", () =>
    Effect.gen(function*() {
      const concurrency = 20
      const c = yield* makeCircuit("TestManyConcurrent", { MaxConcurrentRequests: concurrency })
      const latch = yield* Deferred.make<void>()
      const { check, run } = behaviorCheck(Deferred.await(latch))
      const fibers = yield* Effect.forEach(Array.from({ length: concurrency }), () => Effect.fork(c.execute(run)))
      yield* Effect.repeatN(Effect.yieldNow(), 5)
      yield* Deferred.succeed(latch, undefined)
      for (const fiber of fibers) expect(yield* Fiber.await(fiber)).toEqual(Exit.void)
      expect(check.mostConcurrent).toBe(concurrency)
    }).pipe(Effect.scoped))

  it.effect("TestExecuteBlocks", () =>
    Effect.gen(function*() {
      const c = yield* makeCircuit("TestGoFunction", { Timeout: 0.000001 })
      let startTime = -1
      // a function that ignores its context and finishes after 25 ms
      const run = Effect.uninterruptible(Effect.gen(function*() {
        startTime = yield* Clock.currentTimeMillis
        yield* Effect.sleep("25 millis")
        return "finished"
      }))
      const fiber = yield* Effect.fork(c.execute(run))
      yield* TestClock.adjust("24 millis")
      // Execute blocks until the function returns
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* TestClock.adjust("1 millis")
      const exit = yield* Fiber.await(fiber)
      expect((yield* Clock.currentTimeMillis) - startTime).toBeGreaterThanOrEqual(24)
      // Sturdy: the timeout fired while it ran, so the call fails with it once the function has stopped (cep21's
      // Execute returns the function's nil)
      const err = failureOf(exit)
      expect(Deadline.isDeadlineExceeded(err) && err.reason === "Attempt").toBe(true)
    }).pipe(Effect.scoped))

  it.effect("TestDoForwardsPanics", () =>
    Effect.gen(function*() {
      const c = yield* makeCircuit("TestGoFunction", { Timeout: 1 })
      const exit = yield* Effect.exit(c.execute(Effect.sync(() => {
        throw 1
      })))
      expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
      expect(Exit.isFailure(exit) && Option.getOrUndefined(Cause.dieOption(exit.cause))).toBe(1)
    }).pipe(Effect.scoped))

  it.effect("TestCircuit_Go_ForwardsPanic", () =>
    Effect.gen(function*() {
      // make this test not time out
      const c = yield* makeCircuit("TestGoFunction", { Timeout: 60_000 })
      const x: Array<number> = []
      const exit = yield* Effect.exit(c.go(Effect.sync(() => {
        ;(x as unknown as { readonly missing: Array<number> }).missing[0] = 0 // will throw
      })))
      expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
      expect(Exit.isFailure(exit) && Option.getOrUndefined(Cause.dieOption(exit.cause))).toBeInstanceOf(TypeError)
    }).pipe(Effect.scoped))

  it.effect("TestCircuit_Go_CanEnd", () =>
    Effect.gen(function*() {
      const c = yield* makeCircuit("TestGoFunction", { Timeout: 2 })
      // the function ignores its context and sleeps for an hour: Go returns at the timeout all the same
      const fiber = yield* Effect.fork(c.go(Effect.uninterruptible(Effect.sleep("1 hour"))))
      yield* TestClock.adjust("2 millis")
      const exit = yield* Fiber.await(fiber)
      expect(Deadline.isDeadlineExceeded(failureOf(exit))).toBe(true)
    }).pipe(Effect.scoped))

  it.effect("TestThrottled", () =>
    Effect.gen(function*() {
      const c = yield* makeCircuit("TestThrottled", { MaxConcurrentRequests: 2 })
      const release = yield* Deferred.make<void>()
      const { check, run } = behaviorCheck(Deferred.await(release))
      const fibers = yield* Effect.forEach(Array.from({ length: 3 }), () => Effect.fork(Effect.exit(c.execute(run))))
      yield* Effect.repeatN(Effect.yieldNow(), 5)
      yield* Deferred.succeed(release, undefined)
      const exits = yield* Effect.forEach(fibers, Fiber.join)
      expect(check.mostConcurrent).toBe(2)
      const errors = exits.filter(Exit.isFailure)
      expect(errors.length).toBe(1)
      const err = failureOf(errors[0]!)
      expect(Bulkhead.isBulkheadRejected(err) && err.reason === "Full").toBe(true)
    }).pipe(Effect.scoped))

  it.effect("TestCircuitCloses", () =>
    Effect.gen(function*() {
      const c = yield* makeCircuit("TestCircuitCloses")
      yield* c.breaker.isolate
      const open = yield* Effect.exit(c.run(Effect.dieMessage("I should be open")))
      expect(CircuitBreaker.isCircuitOpen(failureOf(open))).toBe(true)
      yield* c.breaker.reset
      const exit = yield* Effect.exit(c.run(Effect.fail(new Error("some string"))))
      expect((failureOf(exit) as Error).message).toBe("some string")
    }).pipe(Effect.scoped))

  it.effect("TestTimeout", () =>
    Effect.gen(function*() {
      const c = yield* makeCircuit("TestThrottled", { Timeout: 1 })
      let longestRun = 0
      const run = Effect.gen(function*() {
        const start = yield* Clock.currentTimeMillis
        yield* Effect.onInterrupt(
          Effect.sleep("35 millis"),
          () => Effect.map(Clock.currentTimeMillis, (now) => void (longestRun = now - start))
        )
      })
      const fiber = yield* Effect.fork(c.execute(run))
      yield* TestClock.adjust("35 millis")
      expect(Exit.isFailure(yield* Fiber.await(fiber))).toBe(true)
      // the cancel happened fast enough
      expect(longestRun).toBeLessThan(20)
    }).pipe(Effect.scoped))

  it.effect("TestFailingCircuit", () =>
    Effect.gen(function*() {
      const c = yield* makeCircuit("TestFailingCircuit")
      const err = failureOf(yield* Effect.exit(c.execute(alwaysFails)))
      expect((err as AlwaysFails).message).toBe("alwaysFails failure")
    }).pipe(Effect.scoped))

  it.effect("TestFallbackCircuit", () =>
    Effect.gen(function*() {
      const c = yield* makeCircuit("TestFallbackCircuit")
      // the fallback circuit should consistently succeed
      for (let i = 0; i < 100; i++) {
        expect(yield* Effect.exit(c.execute(alwaysFails, alwaysPassesFallback))).toEqual(Exit.void)
      }
      // by default, the circuit never opens
      expect(yield* c.isOpen).toBe(false)
    }).pipe(Effect.scoped))

  describe("TestCircuitIgnoreContextFailures", () => {
    // cep21 loops 100 times on real time; 20 loops on the TestClock show the same
    const loops = 20

    const withTimeout = (c: Effect.Effect.Success<ReturnType<typeof circuitFactory>>) =>
      Effect.gen(function*() {
        const fiber = yield* Effect.fork(Deadline.withDeadline(c.execute(Effect.sleep("1 second")), "3 millis"))
        yield* TestClock.adjust("3 millis")
        const err = failureOf(yield* Fiber.await(fiber))
        return Deadline.isDeadlineExceeded(err) && err.reason === "Deadline"
      })

    const withCancel = (c: Effect.Effect.Success<ReturnType<typeof circuitFactory>>) =>
      Effect.gen(function*() {
        const fiber = yield* Effect.fork(c.execute(Effect.sleep("1 second")))
        yield* TestClock.adjust("3 millis")
        const exit = yield* Fiber.interrupt(fiber)
        return Exit.isInterrupted(exit)
      })

    it.effect("ignore context.DeadlineExceeded by default", () =>
      Effect.gen(function*() {
        const c = yield* circuitFactory("ignore-deadline")
        for (let i = 0; i < loops; i++) expect(yield* withTimeout(c)).toBe(true)
        // parent context deadlines do not open the circuit
        expect(yield* c.isOpen).toBe(false)
      }).pipe(Effect.scoped))

    it.effect("ignore context.Canceled by default", () =>
      Effect.gen(function*() {
        const c = yield* circuitFactory("ignore-canceled")
        for (let i = 0; i < loops; i++) expect(yield* withCancel(c)).toBe(true)
        expect(yield* c.isOpen).toBe(false)
      }).pipe(Effect.scoped))

    it.effect("open circuit on context.DeadlineExceeded with IgnoreInterrupts", () =>
      Effect.gen(function*() {
        const c = yield* circuitFactory("deadline-counts")
        for (let i = 0; i < loops; i++) expect(yield* withTimeout(c)).toBe(true)
        // Sturdy: the caller's own deadline is never recorded (no IgnoreInterrupts): cep21 opens here
        expect(yield* c.isOpen).toBe(false)
        expect((yield* c.breaker.snapshot).calls).toBe(0)
      }).pipe(Effect.scoped))

    it.effect("open circuit on context.Canceled with IgnoreInterrupts", () =>
      Effect.gen(function*() {
        const c = yield* circuitFactory("canceled-counts")
        for (let i = 0; i < loops; i++) expect(yield* withCancel(c)).toBe(true)
        // Sturdy: an interrupted call is never recorded: cep21 opens here
        expect(yield* c.isOpen).toBe(false)
        expect((yield* c.breaker.snapshot).calls).toBe(0)
      }).pipe(Effect.scoped))

    it.effect("open circuit on context.DeadlineExceeded with IgnoreInterrupts and IsErrInterrupt", () =>
      Effect.gen(function*() {
        const canceled = new Error("context canceled")
        const c = yield* circuitFactory("deadline-counts-not-canceled", {
          breaker: { isIgnored: (e) => e === canceled }
        })
        for (let i = 0; i < loops; i++) expect(yield* withTimeout(c)).toBe(true)
        // Sturdy: the caller's deadline is not recorded whatever isIgnored says: cep21 opens here
        expect(yield* c.isOpen).toBe(false)
      }).pipe(Effect.scoped))

    it.effect("ignore context.Canceled with IgnoreInterrupts and IsErrInterrupt", () =>
      Effect.gen(function*() {
        const canceled = new Error("context canceled")
        const c = yield* circuitFactory("canceled-ignored", { breaker: { isIgnored: (e) => e === canceled } })
        for (let i = 0; i < loops; i++) {
          // the run cancels its own context and returns the context's error
          const exit = yield* Effect.exit(c.execute(Effect.fail(canceled)))
          expect(failureOf(exit)).toBe(canceled)
          expect(yield* c.isOpen).toBe(false)
        }
      }).pipe(Effect.scoped))
  })

  it.effect("TestFallbackCircuitConcurrency", () =>
    Effect.gen(function*() {
      const c = yield* makeCircuit("TestFallbackCircuitConcurrency", { FallbackMaxConcurrentRequests: 2 })
      const release = yield* Deferred.make<void>()
      let fallbackExecuted = 0
      const fallback = () => Effect.zipRight(Effect.sync(() => fallbackExecuted++), Deferred.await(release))
      const fibers = yield* Effect.forEach(
        Array.from({ length: 3 }),
        () => Effect.fork(Effect.exit(c.execute(alwaysFails, fallback)))
      )
      yield* Effect.repeatN(Effect.yieldNow(), 5)
      yield* Deferred.succeed(release, undefined)
      const exits = yield* Effect.forEach(fibers, Fiber.join)
      // at least one fallback call never happens due to concurrency
      expect(fallbackExecuted).toBe(2)
      expect(exits.filter(Exit.isSuccess).length).toBe(2)
      const rejected = exits.find(Exit.isFailure)
      expect(Bulkhead.isBulkheadRejected(rejected && failureOf(rejected))).toBe(true)
    }).pipe(Effect.scoped))

  it.effect("TestFailingFallbackCircuit", () =>
    Effect.gen(function*() {
      const c = yield* makeCircuit("TestFailingCircuit")
      const err = failureOf(yield* Effect.exit(c.execute(alwaysFails, alwaysFailsFallback)))
      expect((err as Error).message).toBe("failed: alwaysFails failure")
    }).pipe(Effect.scoped))

  it.effect("TestFallbackAfterTimeout", () =>
    Effect.gen(function*() {
      const c = yield* makeCircuit("TestThrottled", { Timeout: 1 })
      let longestRun = 0
      const run = Effect.gen(function*() {
        const start = yield* Clock.currentTimeMillis
        yield* Effect.onInterrupt(
          Effect.sleep("35 millis"),
          () => Effect.map(Clock.currentTimeMillis, (now) => void (longestRun = now - start))
        )
      })
      // the fallback's context is not finished: no deadline is left over from the run's timeout
      const fallback = () =>
        Effect.flatMap(
          Deadline.remaining,
          (left) =>
            Option.isNone(left) ? Effect.void : Effect.fail(new Error("the passed in context should not be finished"))
        )
      const fiber = yield* Effect.fork(c.execute(run, fallback))
      yield* TestClock.adjust("35 millis")
      expect(yield* Fiber.await(fiber)).toEqual(Exit.void)
      expect(longestRun).toBeLessThan(20)
    }).pipe(Effect.scoped))

  it.effect("TestOpenCircuitUsesMockTime", () =>
    Effect.gen(function*() {
      const mockTime = Date.UTC(2020, 0, 1)
      yield* TestClock.setTime(mockTime)
      const c = yield* makeCircuit("TestOpenCircuitMockTime")
      const seen = yield* transitions(c.breaker)
      yield* c.breaker.isolate
      yield* Effect.repeatN(Effect.yieldNow(), 10)
      expect(seen.map((t) => [t.to, t.at])).toEqual([["Open", mockTime]])
    }).pipe(Effect.scoped))

  it.effect("TestNoSpuriousTimeout", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2020, 0, 1))
      // the clock never moves: the function completes "instantly", so it is never timed out
      const c = yield* makeCircuit("TestNoSpuriousTimeout", { Timeout: 10 })
      expect(yield* Effect.exit(c.execute(Effect.void))).toEqual(Exit.void)
      const snapshot = yield* c.breaker.snapshot
      expect([snapshot.calls, snapshot.failures]).toEqual([1, 0])
    }).pipe(Effect.scoped))

  it.effect("TestOpenCircuit_EmitsOpenedExactlyOnce", () =>
    Effect.gen(function*() {
      const c = yield* makeCircuit("TestOpenOnce")
      const seen = yield* transitions(c.breaker)
      yield* Effect.all(Array.from({ length: 100 }, () => c.breaker.isolate), { concurrency: "unbounded" })
      yield* Effect.repeatN(Effect.yieldNow(), 10)
      expect(seen.filter((t) => t.to === "Open").length).toBe(1)
    }).pipe(Effect.scoped))

  it.effect("TestCloseCircuit_EmitsClosedExactlyOnce", () =>
    Effect.gen(function*() {
      const c = yield* makeCircuit("TestCloseOnce")
      yield* c.breaker.isolate
      const seen = yield* transitions(c.breaker)
      yield* Effect.all(Array.from({ length: 100 }, () => c.breaker.reset), { concurrency: "unbounded" })
      yield* Effect.repeatN(Effect.yieldNow(), 10)
      expect(seen.filter((t) => t.to === "Closed").length).toBe(1)
    }).pipe(Effect.scoped))
})
