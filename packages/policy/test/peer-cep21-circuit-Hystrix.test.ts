// Ported from cep21/circuit at 076289099fe63d129cfa553c0d1d8c32b3ed8516: closers/hystrix/opener_test.go,
// closer_test.go, circuit_test.go and regression_test.go, one `it` per Go test (per subtest where a test has several),
// named after it.
// Mapping: a circuit is utils/cep21.ts's `makeCircuit` (breaker, bulkhead, attempt timeout, fallback); the hystrix
// `OpenerFactory(ConfigureOpener{RequestVolumeThreshold, ErrorThresholdPercentage, RollingDuration})` and
// `CloserFactory(ConfigureCloser{SleepWindow, HalfOpenAttempts, RequiredConcurrentSuccessful})` are the breaker options
// `{ minimumThroughput, failureRateThreshold: pct / 100, slidingWindow, breakDuration, halfOpenMaxProbes,
// successThreshold }` (`hystrix()` there, with cep21's defaults 20, 50 %, 10 s, 5 s, 1, 1). The opener's counts
// (`ErrFailure`, `ErrTimeout`, `Success`) are calls through the breaker that fail, time out (`Deadline.attemptTimeout`,
// a counted failure) or succeed; the events it ignores are a bad request (`isIgnored`), an interrupted call
// (`ErrInterrupt`) and a bulkhead rejection (`ErrConcurrencyLimitReject`); its JSON (`MarshalJSON`) is `snapshot`.
// The closer's `ShouldClose` after successes is the breaker's state after probes; `ForceOpen` is `isolate`. The
// MockClock is the TestClock; `time.Sleep` in the real-time tests is `TestClock.adjust`, and their goroutines are fibers.
// Deliberate differences: a failed probe reopens the breaker for the next pause at once, where cep21's closer keeps the
// circuit open and resets its success streak (the next probe is allowed one sleep window later in both).
// TestCloser_ConcurrentAttempts is split in two (the timeout that resets the streak has its own `it`); its ignored
// events are sent between the probes (cep21 sends them once the closer would close, where a Sturdy breaker is already
// closed), and its stale-failure line is TestRegression_StaleFailureDoesNotPoisonProbe's case.
// Not ported: TestOpener_SetConfigNotThreadSafe_NilNow, TestOpenerFactory_ConcurrentCreation,
// TestCloserFactory_ConcurrentCreation, TestCloser_MarshalJSON, TestCloser_AfterFunc, config_test.go (configuration
// plumbing of the Go structs: no counterpart), TestCloser_NoPanics (events on a zero-value closer),
// TestRegression_CloserSelfArmsWhenNeverOpened, TestRegression_AllowRacingCloseDoesNotArm,
// TestRegression_OpenedWipesSuccessCountedUnderSelfArmedOpenedAt and TestRegression_SharedCloserDoesNotWedge (they
// drive the closer's `Allow`/`Opened`/`Closed` directly, or share one closer between two circuits: Sturdy's breaker
// has one state machine and no such parts), TestRegression_RequestStartedBeforeOpenFlipIsNotAProbe (it starts a call
// from a metrics hook between the failure's recording and the flip to open; Sturdy records and transitions in one
// step: TestRegression_InFlightSuccessDoesNotCloseFreshlyOpenedCircuit covers the outcome),
// TestRegression_CloserSetConfigThreadSafeRace and TestRegression_SetConfigNotThreadSafeOnOpenCircuitRecovers
// (reconfiguring a live circuit: Sturdy's options are fixed when it is made).
import { describe, expect, it } from "@effect/vitest"
import { Bulkhead, CircuitBreaker, Deadline } from "@sturdy/policy"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { advance } from "./utils/advance.js"
import { AlwaysFails, alwaysPassesFallback, BadRequest, hystrix, isBadRequest, makeCircuit } from "./utils/cep21.js"

const alwaysFails = Effect.fail(new AlwaysFails())
const alwaysPasses = Effect.void

// an opener / closer alone: a breaker with only the hystrix options (no timeout, no bulkhead in the way)
const opener = (config: Parameters<typeof hystrix>[0]) =>
  CircuitBreaker.make("opener", { ...hystrix(config), isIgnored: isBadRequest })

const call = <A, E>(breaker: CircuitBreaker.CircuitBreaker, body: Effect.Effect<A, E>) =>
  Effect.exit(CircuitBreaker.withBreaker(body, breaker))

// ErrTimeout: a call that its attempt timeout ends (a counted failure)
const timeoutCall = (breaker: CircuitBreaker.CircuitBreaker) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(call(breaker, Deadline.attemptTimeout(Effect.never, "1 second")))
    yield* TestClock.adjust("1 second")
    return yield* Fiber.join(fiber)
  })

// ErrInterrupt: a call interrupted by its caller
const interruptedCall = (breaker: CircuitBreaker.CircuitBreaker) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(call(breaker, Effect.never))
    yield* Effect.yieldNow()
    yield* Fiber.interrupt(fiber)
  })

// ErrConcurrencyLimitReject: a call the bulkhead inside the breaker turns away
const rejectedCall = (breaker: CircuitBreaker.CircuitBreaker) =>
  Effect.gen(function*() {
    const bulkhead = yield* Bulkhead.make({ maxConcurrent: 1 })
    const gate = yield* Deferred.make<void>()
    const holder = yield* Effect.fork(Bulkhead.withBulkhead(Deferred.await(gate), bulkhead))
    yield* Effect.yieldNow()
    const exit = yield* call(breaker, Bulkhead.withBulkhead(Effect.void, bulkhead))
    expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && Bulkhead.isBulkheadRejected(exit.cause.error)).toBe(
      true
    )
    yield* Deferred.succeed(gate, undefined)
    yield* Fiber.join(holder)
    return exit
  })

const isOpenFailure = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" && CircuitBreaker.isCircuitOpen(exit.cause.error)

describe("cep21/circuit closers/hystrix opener_test.go", () => {
  it.effect("TestOpener_MarshalJSON", () =>
    Effect.gen(function*() {
      const o = yield* opener({})
      // 3 failures should exist in the output
      for (let i = 0; i < 3; i++) yield* call(o, alwaysFails)
      const snapshot = yield* o.snapshot
      expect(snapshot.failures).toBe(3)
      expect(snapshot.calls).toBe(3)
      expect(snapshot.state).toBe("Closed")
    }).pipe(Effect.scoped))

  it.effect("TestOpener", () =>
    Effect.gen(function*() {
      const o = yield* opener({ RequestVolumeThreshold: 3 })
      expect(yield* o.state).toBe("Closed")
      yield* timeoutCall(o)
      yield* call(o, alwaysFails)
      // Not enough requests to open
      expect(yield* o.state).toBe("Closed")
      // These should be ignored
      yield* call(o, Effect.fail(new BadRequest({ message: "bad" })))
      yield* interruptedCall(o)
      yield* rejectedCall(o)
      expect(yield* o.state).toBe("Closed")
      expect((yield* o.snapshot).calls).toBe(2)
      yield* call(o, alwaysFails)
      // should now open
      expect(yield* o.state).toBe("Open")
    }).pipe(Effect.scoped))

  it.effect("TestOpener_MarshalJSON_ErrPercentage", () =>
    Effect.gen(function*() {
      const o = yield* opener({})
      for (let i = 0; i < 3; i++) yield* call(o, Effect.void)
      yield* call(o, alwaysFails)
      const snapshot = yield* o.snapshot
      expect(snapshot.failures / snapshot.calls).toBe(0.25)
    }).pipe(Effect.scoped))
})

describe("cep21/circuit closers/hystrix closer_test.go", () => {
  it.effect("TestCloser_ConcurrentAttempts", () =>
    Effect.gen(function*() {
      const b = yield* opener({ RequestVolumeThreshold: 1, RequiredConcurrentSuccessful: 3, SleepWindow: 60_000 })
      yield* call(b, alwaysFails)
      expect(yield* b.state).toBe("Open")
      // results are for requests that started after the circuit opened
      yield* TestClock.adjust("1 minute")
      expect(yield* b.state).toBe("HalfOpen")
      yield* call(b, Effect.void)
      expect(yield* b.state).toBe("HalfOpen")
      yield* call(b, Effect.void)
      // none of these should matter (a bad request, an interrupt, a concurrency-limit rejection)
      yield* call(b, Effect.fail(new BadRequest({ message: "bad" })))
      yield* interruptedCall(b)
      yield* rejectedCall(b)
      expect(yield* b.state).toBe("HalfOpen")
      yield* call(b, Effect.void)
      // the circuit now closes
      expect(yield* b.state).toBe("Closed")
    }).pipe(Effect.scoped))

  it.effect("TestCloser_ConcurrentAttempts: a timeout resets the closer", () =>
    Effect.gen(function*() {
      const b = yield* opener({ RequestVolumeThreshold: 1, RequiredConcurrentSuccessful: 3, SleepWindow: 60_000 })
      yield* call(b, alwaysFails)
      yield* TestClock.adjust("1 minute")
      yield* call(b, Effect.void)
      yield* call(b, Effect.void)
      yield* timeoutCall(b)
      // Sturdy: the timed-out probe opens the breaker again for the next pause (cep21 resets the streak while open)
      expect(yield* b.state).toBe("Open")
      yield* TestClock.adjust("1 minute")
      for (let i = 0; i < 2; i++) yield* call(b, Effect.void)
      // the two successes before the timeout are forgotten: three more are needed
      expect(yield* b.state).toBe("HalfOpen")
      yield* call(b, Effect.void)
      expect(yield* b.state).toBe("Closed")
    }).pipe(Effect.scoped))
})

describe("cep21/circuit closers/hystrix circuit_test.go", () => {
  it.effect("TestCloser_closes", () =>
    Effect.gen(function*() {
      const c = yield* makeCircuit("TestCircuitCloses", { breaker: hystrix({ RequestVolumeThreshold: 1 }) })
      expect(yield* c.isOpen).toBe(false)
      expect(Exit.isFailure(yield* Effect.exit(c.execute(alwaysFails)))).toBe(true)
      expect(yield* c.isOpen).toBe(true)
      expect(isOpenFailure(yield* Effect.exit(c.execute(alwaysPasses)))).toBe(true)
    }).pipe(Effect.scoped))

  it.effect("TestCircuitAttemptsToReopen", () =>
    Effect.gen(function*() {
      const c = yield* makeCircuit("TestCircuitAttemptsToReopen", {
        breaker: hystrix({ SleepWindow: 10, RequestVolumeThreshold: 1 })
      })
      expect(yield* c.isOpen).toBe(false)
      expect(Exit.isFailure(yield* Effect.exit(c.execute(alwaysFails)))).toBe(true)
      expect(yield* c.isOpen).toBe(true)
      expect(isOpenFailure(yield* Effect.exit(c.execute(alwaysPasses)))).toBe(true)
      // wait slightly longer than the sleep window
      yield* TestClock.adjust("20 millis")
      expect(yield* Effect.exit(c.execute(alwaysPasses))).toEqual(Exit.void)
      expect(yield* c.isOpen).toBe(false)
    }).pipe(Effect.scoped))

  it.effect("TestCircuitAttemptsToReopenOnlyOnce", () =>
    Effect.gen(function*() {
      const c = yield* makeCircuit("TestCircuitAttemptsToReopenOnlyOnce", {
        breaker: hystrix({ SleepWindow: 1000, RequestVolumeThreshold: 1 })
      })
      expect(yield* c.isOpen).toBe(false)
      expect(Exit.isFailure(yield* Effect.exit(c.execute(alwaysFails)))).toBe(true)
      expect(yield* c.isOpen).toBe(true)
      // no time has advanced: the sleep window is still active
      expect(isOpenFailure(yield* Effect.exit(c.execute(alwaysPasses)))).toBe(true)
      yield* TestClock.adjust("1001 millis")
      // the half-open probe is allowed once, and fails
      const probe = yield* Effect.exit(c.execute(alwaysFails))
      expect(Exit.isFailure(probe) && !isOpenFailure(probe)).toBe(true)
      // a second attempt in the same (new) sleep window is rejected
      expect(isOpenFailure(yield* Effect.exit(c.execute(alwaysPasses)))).toBe(true)
    }).pipe(Effect.scoped))

  it.effect("TestLargeSleepWindow", () =>
    Effect.gen(function*() {
      const c = yield* makeCircuit("TestLargeSleepWindow", {
        breaker: hystrix({ SleepWindow: 3_600_000, RequestVolumeThreshold: 1, ErrorThresholdPercentage: 1 })
      })
      expect(yield* Effect.exit(c.execute(alwaysFails, alwaysPassesFallback))).toEqual(Exit.void)
      expect(yield* c.isOpen).toBe(true)
      let ran = 0
      const body = Effect.sync(() => ran++).pipe(Effect.zipRight(Effect.sleep("100 micros")))
      // 10 fibers, 40 calls each, none may get through (cep21's 0.1 ms pauses between calls only pace real time: the
      // calls are short-circuited at once, with the clock where the failure left it)
      const worker = Effect.forEach(
        Array.from({ length: 40 }),
        () =>
          Effect.flatMap(Effect.exit(c.execute(body)), (exit) =>
            Effect.sync(() => expect(isOpenFailure(exit)).toBe(true)))
      )
      yield* Effect.all(
        Array.from({ length: 10 }, () =>
          worker),
        { concurrency: "unbounded" }
      )
      expect(ran).toBe(0)
      expect(yield* c.isOpen).toBe(true)
    }).pipe(Effect.scoped))

  it.effect("TestSleepDurationWorks", () =>
    Effect.gen(function*() {
      const sleepWindow = 25
      const c = yield* makeCircuit("TestSleepDurationWorks", {
        Timeout: -1,
        MaxConcurrentRequests: 10,
        FallbackMaxConcurrentRequests: 10,
        breaker: hystrix({ SleepWindow: sleepWindow * 2, RequestVolumeThreshold: 1, ErrorThresholdPercentage: 1 })
      })
      const doNotPassTime = (yield* Clock.currentTimeMillis) + sleepWindow * 4
      expect(yield* Effect.exit(c.execute(alwaysFails, alwaysPassesFallback))).toEqual(Exit.void)
      yield* c.breaker.isolate
      yield* c.breaker.reset
      yield* call(c.breaker, alwaysFails)
      expect(yield* c.isOpen).toBe(true)
      // once failing, the upstream sees no more than one request every sleep window
      const requests: Array<number> = []
      const body = Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const last = requests.at(-1)
        if (last !== undefined) expect(now - last).toBeGreaterThanOrEqual(sleepWindow)
        requests.push(now)
        // this circuit should never close itself
        expect(yield* c.isOpen).toBe(true)
        return yield* Effect.fail(new Error("failure"))
      })
      const worker = Effect.gen(function*() {
        while ((yield* Clock.currentTimeMillis) < doNotPassTime) {
          // the fallback is fine: no call fails
          expect(yield* Effect.exit(c.execute(body, alwaysPassesFallback))).toEqual(Exit.void)
          yield* Effect.sleep("5 millis")
        }
      })
      yield* advance(
        Effect.all(Array.from({ length: 10 }, () => worker), { concurrency: "unbounded" }),
        1000,
        "5 millis"
      )
      // the sleep window is 50 ms: probes at 50 and 100 ms at most
      expect(requests.length).toBeGreaterThanOrEqual(1)
      expect(requests.length).toBeLessThanOrEqual(2)
    }).pipe(Effect.scoped))

  it.effect("TestCircuitRecovers", () =>
    Effect.gen(function*() {
      const sleepWindow = 5
      // no Timeout: the run is instant, and 25 fibers arming a timer per call slow the TestClock down
      const c = yield* makeCircuit("TestCircuitRecovers", {
        Timeout: -1,
        MaxConcurrentRequests: 25,
        FallbackMaxConcurrentRequests: 25,
        breaker: hystrix({ SleepWindow: sleepWindow, RequestVolumeThreshold: 1, ErrorThresholdPercentage: 1 })
      })
      const start = yield* Clock.currentTimeMillis
      // this is when the upstream starts working again
      const startWorkingTime = start + sleepWindow * 2
      // the latest that the circuit should keep failing requests
      const circuitOkTime = startWorkingTime + sleepWindow + 200
      const doNotPassTime = start + 250
      expect(yield* Effect.exit(c.execute(alwaysFails, alwaysPassesFallback))).toEqual(Exit.void)
      expect(yield* c.isOpen).toBe(true)
      const body = Effect.flatMap(
        Clock.currentTimeMillis,
        (now) => now > startWorkingTime ? Effect.void : Effect.fail(new Error("a failure"))
      )
      let errorsAfterOk = 0
      let successesTooEarly = 0
      let successes = 0
      // cep21's goroutines spin until the deadline; each fiber here calls every 5 ms (a TestClock step is costly)
      const worker = Effect.gen(function*() {
        while ((yield* Clock.currentTimeMillis) < doNotPassTime) {
          const before = yield* Clock.currentTimeMillis
          const exit = yield* Effect.exit(c.execute(body))
          if (Exit.isFailure(exit) && before > circuitOkTime) errorsAfterOk++
          if (Exit.isSuccess(exit)) {
            successes++
            if ((yield* Clock.currentTimeMillis) <= startWorkingTime) successesTooEarly++
          }
          yield* Effect.sleep("5 millis")
        }
      })
      yield* advance(
        Effect.all(Array.from({ length: 25 }, () => worker), { concurrency: "unbounded" }),
        1000,
        "5 millis"
      )
      expect(errorsAfterOk).toBe(0)
      expect(successesTooEarly).toBe(0)
      expect(successes).toBeGreaterThan(0)
      expect(yield* c.isOpen).toBe(false)
    }).pipe(Effect.scoped))
})

describe("cep21/circuit closers/hystrix regression_test.go", () => {
  // newMockClockCircuit: RequestVolumeThreshold 1, no timeout, no concurrency limit
  const mockClockCircuit = (name: string, SleepWindow: number) =>
    makeCircuit(name, {
      Timeout: -1,
      MaxConcurrentRequests: -1,
      breaker: hystrix({ SleepWindow, RequestVolumeThreshold: 1 })
    })

  it.effect("TestRegression_ForceOpenWithHystrixCloser", () =>
    Effect.gen(function*() {
      const c = yield* makeCircuit("fo", { breaker: hystrix({ SleepWindow: 1 }) })
      yield* c.breaker.isolate
      let ran = 0
      for (let i = 0; i < 50; i++) {
        yield* TestClock.adjust("1 millis")
        yield* Effect.exit(c.execute(Effect.sync(() => ran++)))
      }
      expect(ran).toBe(0)
    }).pipe(Effect.scoped))

  it.effect("TestRegression_InFlightSuccessDoesNotCloseFreshlyOpenedCircuit", () =>
    Effect.gen(function*() {
      const c = yield* mockClockCircuit("inflight", 3_600_000)
      const releaseA = yield* Deferred.make<void>()
      const a = yield* Effect.fork(c.execute(Deferred.await(releaseA)))
      yield* Effect.yieldNow()
      yield* TestClock.adjust("1 millis")
      yield* Effect.exit(c.execute(Effect.fail(new Error("boom"))))
      expect(yield* c.isOpen).toBe(true)
      yield* TestClock.adjust("1 millis")
      yield* Deferred.succeed(releaseA, undefined)
      // the in-flight request still succeeds
      expect(yield* Fiber.await(a)).toEqual(Exit.void)
      // and the circuit stays open: the 1 h sleep window is honoured
      expect(yield* c.isOpen).toBe(true)
      // the normal recovery path still works
      yield* TestClock.adjust("3600001 millis")
      expect(yield* Effect.exit(c.execute(Effect.void))).toEqual(Exit.void)
      expect(yield* c.isOpen).toBe(false)
    }).pipe(Effect.scoped))

  it.effect("TestRegression_StaleFailureDoesNotPoisonProbe", () =>
    Effect.gen(function*() {
      const c = yield* mockClockCircuit("stale", 60_000)
      // A: a slow request started while closed, that will fail
      const releaseA = yield* Deferred.make<void>()
      const a = yield* Effect.fork(c.execute(Effect.zipRight(Deferred.await(releaseA), Effect.fail(new Error("late")))))
      yield* Effect.yieldNow()
      yield* TestClock.adjust("1 millis")
      // B fails and opens the circuit
      yield* Effect.exit(c.execute(Effect.fail(new Error("boom"))))
      expect(yield* c.isOpen).toBe(true)
      yield* TestClock.adjust("60001 millis")
      // probe C succeeds; while it runs, A's stale failure lands
      const probe = c.execute(Effect.gen(function*() {
        yield* Deferred.succeed(releaseA, undefined)
        yield* Fiber.await(a)
      }))
      expect(yield* Effect.exit(probe)).toEqual(Exit.void)
      expect(Exit.isFailure(yield* Fiber.await(a))).toBe(true)
      // the healthy probe closed the circuit
      expect(yield* c.isOpen).toBe(false)
    }).pipe(Effect.scoped))

  it.effect("TestRegression_NoProbeLeakOnOpenTransition", () =>
    Effect.gen(function*() {
      let leaks = 0
      // cep21 runs 50 rounds of a real-concurrency race; fibers interleave deterministically, so 5 rounds suffice
      for (let iter = 0; iter < 5; iter++) {
        const c = yield* makeCircuit("leak", {
          Timeout: -1,
          MaxConcurrentRequests: -1,
          breaker: hystrix({ SleepWindow: 3_600_000, RequestVolumeThreshold: 1 })
        })
        const transitions: Array<CircuitBreaker.StateChange> = []
        yield* Effect.forkScoped(
          Stream.runForEach(yield* c.breaker.subscribe, (change) => Effect.sync(() => transitions.push(change)))
        )
        const worker = Effect.forEach(
          Array.from({ length: 200 }),
          () => Effect.exit(c.execute(Effect.fail(new Error("fail")))),
          { discard: true }
        )
        yield* Effect.all(Array.from({ length: 8 }, () => worker), { concurrency: "unbounded", discard: true })
        yield* Effect.repeatN(Effect.yieldNow(), 10)
        // a probe within the 1 h sleep window would show as Open -> HalfOpen
        leaks += transitions.filter((t) => t.to === "HalfOpen").length
        expect(transitions.map((t) => t.to)).toEqual(["Open"])
      }
      expect(leaks).toBe(0)
    }).pipe(Effect.scoped))

  it.effect("TestRegression_NoProbeBeforeCloserArmedOnOpen", () =>
    Effect.gen(function*() {
      const c = yield* mockClockCircuit("reenter-on-open", 3_600_000)
      let innerRan = 0
      const inner = yield* Deferred.make<Exit.Exit<void, unknown>>()
      // re-enter the circuit with one request from the open transition itself
      yield* Effect.forkScoped(
        Stream.runForEach(
          Stream.filter(yield* c.breaker.subscribe, (change) => change.to === "Open"),
          () =>
            Effect.flatMap(
              Effect.exit(c.execute(Effect.sync(() => void innerRan++))),
              (exit) => Deferred.succeed(inner, exit)
            )
        )
      )
      expect(Exit.isFailure(yield* Effect.exit(c.execute(Effect.fail(new Error("boom")))))).toBe(true)
      const innerExit = yield* Deferred.await(inner)
      // the re-entering request is short-circuited, not handed a probe
      expect(innerRan).toBe(0)
      expect(isOpenFailure(innerExit)).toBe(true)
      expect(yield* c.isOpen).toBe(true)
      // normal recovery afterwards
      yield* TestClock.adjust("3600001 millis")
      expect(yield* Effect.exit(c.execute(Effect.void))).toEqual(Exit.void)
      expect(yield* c.isOpen).toBe(false)
    }).pipe(Effect.scoped))

  it.effect("TestRegression_OpenerExactThreshold", () =>
    Effect.gen(function*() {
      const bad: Array<number> = []
      for (let pct = 1; pct <= 100; pct++) {
        const o = yield* opener({ ErrorThresholdPercentage: pct, RequestVolumeThreshold: 100 })
        for (let i = 0; i < 100 - pct; i++) yield* call(o, Effect.void)
        for (let i = 0; i < pct; i++) yield* call(o, alwaysFails)
        if ((yield* o.state) !== "Open") bad.push(pct)
        // and one fewer error must NOT open
        const o2 = yield* opener({ ErrorThresholdPercentage: pct, RequestVolumeThreshold: 100 })
        for (let i = 0; i < 100 - pct + 1; i++) yield* call(o2, Effect.void)
        for (let i = 0; i < pct - 1; i++) yield* call(o2, alwaysFails)
        expect(yield* o2.state).toBe("Closed")
      }
      expect(bad).toEqual([])
    }).pipe(Effect.scoped))

  it.effect("TestRegression_OpenerSetConfigNotThreadSafePartialConfig", () =>
    Effect.gen(function*() {
      const o = yield* opener({ RequestVolumeThreshold: 3 })
      for (let i = 0; i < 3; i++) yield* call(o, alwaysFails)
      // opens with the default window
      expect(yield* o.state).toBe("Open")
      // cep21 falls back to its defaults for NumBuckets -1 / RollingDuration -1; Sturdy refuses the window when the
      // breaker is made (a RangeError naming the option)
      const exit = yield* Effect.exit(opener({ RollingDuration: -1 }))
      expect(Exit.isFailure(exit) && exit.cause._tag === "Die" && exit.cause.defect instanceof RangeError).toBe(true)
    }).pipe(Effect.scoped))
})
