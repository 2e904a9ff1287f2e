// Ported from afex/hystrix-go at fa1af6a1f4f56e0e50d427fe901cd604d8c6fb8a: hystrix/hystrix_test.go,
// hystrix/circuit_test.go and hystrix/pool_test.go, one `it` per Go test (per Convey leaf where a test has several),
// named after it.
// Mapping: a hystrix command `GoC(ctx, name, run, fallback)` / `DoC` is `run` under `Deadline.attemptTimeout(Timeout)`,
// inside `Bulkhead.withBulkhead({ maxConcurrent: MaxConcurrentRequests, maxQueued: 0 })`, inside
// `CircuitBreaker.withBreaker({ failureRateThreshold: ErrorPercentThreshold / 100, minimumThroughput:
// RequestVolumeThreshold, slidingWindow: "10 seconds" (hystrix's rolling window), breakDuration: SleepWindow,
// halfOpenMaxProbes: 1, successThreshold: 1 })` (hystrix checks the circuit, then takes a ticket, then runs under its
// timer), then `Fallback.orElse(fallback)` when there is a fallback; the defaults are hystrix's (Timeout 1 s,
// MaxConcurrentRequests 10, RequestVolumeThreshold 20, SleepWindow 5 s, ErrorPercentThreshold 50). The `err` a Go
// fallback receives is the failure `orElse` falls back from (its `while` sees it); a fallback's success is the
// answer with `source: "fallback"`. `ErrTimeout` is `DeadlineExceeded` (reason "Attempt"), `ErrMaxConcurrency` is
// `BulkheadRejected` "Full", `ErrCircuitOpen` is `CircuitOpen`; `toggleForceOpen(true)` is `isolate`, `setOpen()` is
// tripping the breaker with RequestVolumeThreshold failed commands; the caller's `ctx` with a timeout is
// `Deadline.withDeadline` around the guarded call (hystrix hands the context's error to the fallback, so inside
// `orElse`), a cancelled `ctx` is the interruption of the caller's fiber. `GetCircuit(name)` is a breaker
// `Registry`'s `get`; the pool's tickets are the bulkhead's permits (`ActiveCount()` is `snapshot.active`).
// Metrics: hystrix's collector counts are the breaker's `snapshot`: `calls` are the commands that ran and ended
// (successes, failures and timeouts; short circuits and rejections are not recorded), `failures` the failures and
// timeouts together (both count against the upstream, as in hystrix's error percentage).
// Deliberate differences (each test says which): a timeout is a failed call in Sturdy's counts, where hystrix keeps a
// separate Timeouts counter (both count in its error percentage); a failed fallback fails with the fallback's own
// failure, where hystrix's error message names both; a cancelled caller gets no fallback (interruption is not a
// failure to fall back from, and a fiber that was interrupted runs nothing more), where hystrix calls it with
// `context.Canceled`; a caller's deadline or cancellation that cuts a command short is not recorded by the breaker
// (it says nothing about the upstream), where hystrix counts it as ContextDeadlineExceeded / ContextCanceled.
// Not ported: TestReportEventOpenThenClose and TestReportEventMultiThreaded (they inject metrics and call the
// private `ReportEvent`), pool_test.go's TestReturn and the MaxActiveRequests half of TestActiveCount (the pool's
// executed and max-active metrics; Sturdy's bulkhead has no metrics), the "metrics are recorded" lines that count
// fallback successes and failures (Sturdy counts no fallbacks: the answer's provenance says which source answered),
// settings_test.go, metrics_test.go, eventstream_test.go and rolling/ (hystrix's dashboard stream and metric
// collectors).
import { describe, expect, it } from "@effect/vitest"
import { Bulkhead, CircuitBreaker, Deadline, Fallback } from "@sturdy/policy"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"

interface CommandConfig {
  readonly Timeout?: number
  readonly MaxConcurrentRequests?: number
  readonly RequestVolumeThreshold?: number
  readonly SleepWindow?: number
  readonly ErrorPercentThreshold?: number
}

// ConfigureCommand("", config) then GetCircuit(""): the command's breaker and pool, and GoC/DoC
const configureCommand = (config: CommandConfig = {}) =>
  Effect.gen(function*() {
    const cb = yield* CircuitBreaker.make("", {
      failureRateThreshold: (config.ErrorPercentThreshold ?? 50) / 100,
      minimumThroughput: config.RequestVolumeThreshold ?? 20,
      slidingWindow: "10 seconds",
      breakDuration: config.SleepWindow ?? 5000,
      halfOpenMaxProbes: 1,
      successThreshold: 1
    })
    const pool = yield* Bulkhead.make({ key: "", maxConcurrent: config.MaxConcurrentRequests ?? 10, maxQueued: 0 })
    const timeout = config.Timeout ?? 1000
    const guard = <A, E>(run: Effect.Effect<A, E>) =>
      run.pipe(Deadline.attemptTimeout(timeout), Bulkhead.withBulkhead(pool), CircuitBreaker.withBreaker(cb))
    // DoC with a fallback: the fallback gets the error the command failed with
    const withFallback = <A, E, A2, E2>(
      self: Effect.Effect<A, E>,
      fallback: (err: E) => Effect.Effect<A2, E2>
    ) => {
      let err: E | undefined
      return Fallback.orElse(self, Effect.suspend(() => fallback(err as E)), {
        while: (e) => {
          err = e
          return true
        }
      })
    }
    return { cb, pool, guard, withFallback }
  })

// the collector counts hystrix's tests read, as the breaker keeps them
const metrics = (cb: CircuitBreaker.CircuitBreaker) =>
  Effect.map(cb.snapshot, (s) => ({ calls: s.calls, failures: s.failures }))

// setOpen(): RequestVolumeThreshold failed commands trip the error percentage
const setOpen = (command: Effect.Effect.Success<ReturnType<typeof configureCommand>>) =>
  Effect.gen(function*() {
    for (let i = 0; i < 20; i++) yield* Effect.exit(command.guard(Effect.fail(new Error("trip"))))
    expect(yield* command.cb.state).toBe("Open")
  })

const isTimeout = (e: unknown) => Deadline.isDeadlineExceeded(e) && e.reason === "Attempt"

const failureOf = <A, E>(exit: Exit.Exit<A, E>) =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined

describe("peer hystrix-go hystrix_test.go", () => {
  it.scoped("TestSuccess", () =>
    Effect.gen(function*() {
      const command = yield* configureCommand()
      // reading from that channel should provide the expected value; no errors should be returned
      expect(yield* Effect.exit(command.guard(Effect.succeed(1)))).toEqual(Exit.succeed(1))
      // metrics are recorded: one success
      expect(yield* metrics(command.cb)).toEqual({ calls: 1, failures: 0 })
    }))

  it.scoped("TestFallback", () =>
    Effect.gen(function*() {
      const command = yield* configureCommand()
      const error = new Error("error")
      const answer = yield* command.withFallback(
        command.guard(Effect.fail(error)),
        (err) => err.message === "error" ? Effect.succeed(1) : Effect.succeed(0)
      )
      expect(answer.value).toBe(1)
      expect(answer.source).toBe("fallback")
      expect(answer.failures).toEqual([{ source: "primary", error }])
      // metrics are recorded: no success, one failure
      expect(yield* metrics(command.cb)).toEqual({ calls: 1, failures: 1 })
    }))

  it.scoped("TestTimeout", () =>
    Effect.gen(function*() {
      const command = yield* configureCommand({ Timeout: 100 })
      const fiber = yield* Effect.fork(command.withFallback(
        command.guard(Effect.as(Effect.sleep("1 second"), 1)),
        (err) => Effect.succeed(isTimeout(err) ? 2 : 0)
      ))
      yield* TestClock.adjust("100 millis")
      const answer = yield* Fiber.join(fiber)
      // reading from that channel should provide the expected value; no errors should be returned
      expect(answer.value).toBe(2)
      expect(answer.source).toBe("fallback")
    }))

  it.scoped("TestTimeoutEmptyFallback", () =>
    Effect.gen(function*() {
      const command = yield* configureCommand({ Timeout: 100 })
      const fiber = yield* Effect.fork(command.guard(Effect.as(Effect.sleep("1 second"), 1)))
      yield* TestClock.adjust("100 millis")
      // a timeout error should be returned
      expect(isTimeout(failureOf(yield* Fiber.await(fiber)))).toBe(true)
      // metrics are recorded: no success, one timeout (Sturdy: a failed call)
      expect(yield* metrics(command.cb)).toEqual({ calls: 1, failures: 1 })
    }))

  it.scoped("TestMaxConcurrent", () =>
    Effect.gen(function*() {
      const command = yield* configureCommand({ MaxConcurrentRequests: 2 })
      const run = Effect.as(Effect.sleep("1 second"), 1)
      // 3 of those commands try to execute at the same time
      let good = 0
      let bad = 0
      for (let i = 0; i < 3; i++) {
        const fiber = yield* Effect.fork(command.guard(run))
        yield* TestClock.adjust("10 millis")
        const done = yield* Fiber.poll(fiber)
        if (Option.isNone(done)) good++
        else if (Bulkhead.isBulkheadRejected(failureOf(done.value))) bad++
      }
      // one will return a 'max concurrency' error
      expect(bad).toBe(1)
      expect(good).toBe(2)
    }))

  it.scoped("TestForceOpenCircuit", () =>
    Effect.gen(function*() {
      const command = yield* configureCommand()
      yield* command.cb.isolate
      let ran = false
      const exit = yield* Effect.exit(command.guard(Effect.sync(() => (ran = true))))
      // a 'circuit open' error is returned
      expect(CircuitBreaker.isCircuitOpen(failureOf(exit))).toBe(true)
      expect(ran).toBe(false)
      // metrics are recorded: no success (a short circuit is not a call)
      expect(yield* metrics(command.cb)).toEqual({ calls: 0, failures: 0 })
    }))

  it.scoped("TestNilFallbackRunError", () =>
    Effect.gen(function*() {
      const command = yield* configureCommand()
      const exit = yield* Effect.exit(command.guard(Effect.fail(new Error("run_error"))))
      // the returned error should be the run error
      expect((failureOf(exit) as Error).message).toBe("run_error")
    }))

  it.scoped("TestFailedFallback", () =>
    Effect.gen(function*() {
      const command = yield* configureCommand()
      const exit = yield* Effect.exit(command.withFallback(
        command.guard(Effect.fail(new Error("run_error"))),
        () => Effect.fail(new Error("fallback_error"))
      ))
      // hystrix: "fallback failed with 'fallback_error'. run error was 'run_error'"; Sturdy fails with the fallback's
      // own failure
      expect((failureOf(exit) as Error).message).toBe("fallback_error")
    }))

  it.scoped("TestCloseCircuitAfterSuccess: commands immediately following should short-circuit", () =>
    Effect.gen(function*() {
      const command = yield* configureCommand()
      yield* setOpen(command)
      const exit = yield* Effect.exit(command.guard(Effect.void))
      expect(CircuitBreaker.isCircuitOpen(failureOf(exit))).toBe(true)
    }))

  it.scoped("TestCloseCircuitAfterSuccess: and a successful command is run after the sleep window", () =>
    Effect.gen(function*() {
      const command = yield* configureCommand()
      yield* setOpen(command)
      yield* TestClock.adjust("6 seconds")
      let done = false
      expect(yield* Effect.exit(command.guard(Effect.sync(() => (done = true))))).toEqual(Exit.succeed(true))
      // the circuit should be closed
      expect(done).toBe(true)
      expect(yield* command.cb.state).toBe("Closed")
    }))

  it.scoped("TestFailAfterTimeout", () =>
    Effect.gen(function*() {
      const command = yield* configureCommand({ Timeout: 10 })
      let out = 0
      const fiber = yield* Effect.fork(command.withFallback(
        command.guard(Effect.zipRight(Effect.sleep("50 millis"), Effect.fail(new Error("foo")))),
        (err) =>
          Effect.suspend(() => {
            out++
            return Effect.fail(err)
          })
      ))
      yield* TestClock.adjust("10 millis")
      // we do not panic: the command fails with the timeout
      const err = failureOf(yield* Fiber.await(fiber))
      expect(isTimeout(err)).toBe(true)
      expect(String(err)).toContain("timed out")
      // wait for command to fail: we do not call the fallback twice
      yield* TestClock.adjust("100 millis")
      expect(out).toBe(1)
    }))

  it.scoped("TestSlowFallbackOpenCircuit", () =>
    Effect.gen(function*() {
      const command = yield* configureCommand({ Timeout: 10 })
      yield* setOpen(command)
      let out = 0
      // when the command short circuits, the fallback (100 ms) is not under the command's timeout
      const fiber = yield* Effect.fork(command.withFallback(
        command.guard(Effect.void),
        (err) => Effect.sleep("100 millis").pipe(Effect.zipRight(Effect.sync(() => out++)), Effect.as(String(err)))
      ))
      yield* TestClock.adjust("250 millis")
      const answer = yield* Fiber.join(fiber)
      // the fallback only fires for the short-circuit, not both
      expect(out).toBe(1)
      expect(CircuitBreaker.isCircuitOpen(answer.failures[0]?.error)).toBe(true)
      expect(answer.failures).toHaveLength(1)
      // and a timeout event is not recorded (nor the short circuit: the breaker's window was emptied when it opened)
      expect(yield* metrics(command.cb)).toEqual({ calls: 0, failures: 0 })
    }))

  it.scoped("TestFallbackAfterRejected", () =>
    Effect.gen(function*() {
      const command = yield* configureCommand({ MaxConcurrentRequests: 1 })
      // <-cb.executorPool.Tickets: the only ticket is taken
      const gate = yield* Deferred.make<void>()
      yield* Effect.fork(Bulkhead.withBulkhead(Deferred.await(gate), command.pool))
      yield* Effect.yieldNow()

      let ran = false
      let fellBack = false
      const answer = yield* command.withFallback(
        command.guard(Effect.sync(() => (ran = true))),
        () => Effect.sync(() => (fellBack = true))
      )
      // executing a successful fallback function due to rejection: the run function is not executed
      expect(fellBack).toBe(true)
      expect(ran).toBe(false)
      expect(answer.source).toBe("fallback")
      expect(Bulkhead.isBulkheadRejected(answer.failures[0]?.error)).toBe(true)
      yield* Deferred.succeed(gate, undefined)
    }))

  it.scoped("TestReturnTicket_QuickCheck", () =>
    Effect.gen(function*() {
      // quick.Check's 100 runs of compareTicket (it takes no input)
      for (let i = 0; i < 100; i++) {
        const command = yield* configureCommand({ Timeout: 2 })
        const fiber = yield* Effect.fork(command.guard(Effect.never))
        yield* TestClock.adjust("2 millis")
        expect(isTimeout(failureOf(yield* Fiber.await(fiber)))).toBe(true)
        expect((yield* command.pool.snapshot).active).toBe(0)
      }
    }))

  it.scoped("TestReturnTicket", () =>
    Effect.gen(function*() {
      const command = yield* configureCommand({ Timeout: 10 })
      const fiber = yield* Effect.fork(command.guard(Effect.never))
      yield* TestClock.adjust("10 millis")
      // the ticket returns to the pool after the timeout
      expect(isTimeout(failureOf(yield* Fiber.await(fiber)))).toBe(true)
      expect((yield* command.pool.snapshot).active).toBe(0)
    }))

  // TestContextHandling: Timeout 15 ms; run takes 20 ms
  const contextHandling = Effect.gen(function*() {
    const command = yield* configureCommand({ Timeout: 15 })
    const run = Effect.as(Effect.sleep("20 millis"), 1)
    return { command, run }
  })

  it.scoped("TestContextHandling: with a valid context", () =>
    Effect.gen(function*() {
      const { command, run } = yield* contextHandling
      const fiber = yield* Effect.fork(command.guard(run))
      yield* TestClock.adjust("25 millis")
      expect(isTimeout(failureOf(yield* Fiber.await(fiber)))).toBe(true)
      // hystrix: NumRequests 1, Failures 0, Timeouts 1 (Sturdy: one call, failed)
      expect(yield* metrics(command.cb)).toEqual({ calls: 1, failures: 1 })
    }))

  it.scoped("TestContextHandling: with a valid context and a fallback", () =>
    Effect.gen(function*() {
      const { command, run } = yield* contextHandling
      const fiber = yield* Effect.fork(command.withFallback(command.guard(run), () => Effect.succeed(0)))
      yield* TestClock.adjust("25 millis")
      const answer = yield* Fiber.join(fiber)
      expect(answer.source).toBe("fallback")
      expect(isTimeout(answer.failures[0]?.error)).toBe(true)
      expect(yield* metrics(command.cb)).toEqual({ calls: 1, failures: 1 })
    }))

  it.scoped("TestContextHandling: with a context timeout", () =>
    Effect.gen(function*() {
      const { command, run } = yield* contextHandling
      const fiber = yield* Effect.fork(Deadline.withDeadline(command.guard(run), "5 millis"))
      yield* TestClock.adjust("25 millis")
      // context.DeadlineExceeded: the caller's deadline, not the command's timeout
      const err = failureOf(yield* Fiber.await(fiber))
      expect(Deadline.isDeadlineExceeded(err) && err.reason).toBe("Deadline")
      // hystrix: NumRequests 1, Failures 0, Timeouts 0, ContextDeadlineExceeded 1; Sturdy does not record a call the
      // caller's deadline cut short
      expect(yield* metrics(command.cb)).toEqual({ calls: 0, failures: 0 })
    }))

  it.scoped("TestContextHandling: with a context timeout and a fallback", () =>
    Effect.gen(function*() {
      const { command, run } = yield* contextHandling
      const fiber = yield* Effect.fork(
        command.withFallback(Deadline.withDeadline(command.guard(run), "5 millis"), () => Effect.succeed(0))
      )
      yield* TestClock.adjust("25 millis")
      const answer = yield* Fiber.join(fiber)
      expect(answer.source).toBe("fallback")
      const err = answer.failures[0]?.error
      expect(Deadline.isDeadlineExceeded(err) && err.reason).toBe("Deadline")
      expect(yield* metrics(command.cb)).toEqual({ calls: 0, failures: 0 })
    }))

  it.scoped("TestContextHandling: with a canceled context", () =>
    Effect.gen(function*() {
      const { command, run } = yield* contextHandling
      const fiber = yield* Effect.fork(command.guard(run))
      yield* TestClock.adjust("5 millis")
      // cancel(): context.Canceled is the interruption of the caller
      const exit = yield* Fiber.interrupt(fiber)
      yield* TestClock.adjust("20 millis")
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(yield* metrics(command.cb)).toEqual({ calls: 0, failures: 0 })
      expect((yield* command.pool.snapshot).active).toBe(0)
    }))

  it.scoped("TestContextHandling: with a canceled context and a fallback", () =>
    Effect.gen(function*() {
      const { command, run } = yield* contextHandling
      let fellBack = false
      const fiber = yield* Effect.fork(
        command.withFallback(command.guard(run), () => Effect.sync(() => (fellBack = true)))
      )
      yield* TestClock.adjust("5 millis")
      const exit = yield* Fiber.interrupt(fiber)
      yield* TestClock.adjust("20 millis")
      // hystrix calls the fallback with context.Canceled; an interrupted Sturdy caller gets no fallback
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(fellBack).toBe(false)
      expect(yield* metrics(command.cb)).toEqual({ calls: 0, failures: 0 })
    }))

  it.scoped("TestDoC: with a command which succeeds", () =>
    Effect.gen(function*() {
      const command = yield* configureCommand()
      let out = false
      expect(yield* Effect.exit(command.guard(Effect.sync(() => (out = true))))).toEqual(Exit.succeed(true))
      expect(out).toBe(true)
    }))

  it.scoped("TestDoC: with a command which fails", () =>
    Effect.gen(function*() {
      const command = yield* configureCommand()
      const run = Effect.fail(new Error("i failed"))

      // with no fallback: the error is returned
      expect((failureOf(yield* Effect.exit(command.guard(run))) as Error).message).toBe("i failed")

      // with a succeeding fallback: the fallback is executed
      let out = false
      const answer = yield* command.withFallback(command.guard(run), () => Effect.sync(() => (out = true)))
      expect(out).toBe(true)
      expect(answer.source).toBe("fallback")

      // with a failing fallback: hystrix returns both errors in one message; Sturdy the fallback's
      const exit = yield* Effect.exit(
        command.withFallback(command.guard(run), () => Effect.fail(new Error("fallback failed")))
      )
      expect((failureOf(exit) as Error).message).toBe("fallback failed")
    }))

  it.scoped("TestDoC: with a command which times out", () =>
    Effect.gen(function*() {
      const command = yield* configureCommand({ Timeout: 10 })
      const fiber = yield* Effect.fork(command.guard(Effect.sleep("100 millis")))
      yield* TestClock.adjust("10 millis")
      // the timeout error is returned ("hystrix: timeout")
      const err = failureOf(yield* Fiber.await(fiber))
      expect(isTimeout(err)).toBe(true)
      expect((err as Error).message).toBe("attempt timed out after 10ms")
    }))
})

describe("peer hystrix-go circuit_test.go", () => {
  it.scoped("TestGetCircuit", () =>
    Effect.gen(function*() {
      const registry = yield* CircuitBreaker.makeRegistry()
      // once, the circuit should be created
      const first = yield* registry.get("foo")
      expect(yield* registry.size).toBe(1)
      // twice, the circuit should be reused
      const second = yield* registry.get("foo")
      expect(second).toBe(first)
      expect(yield* registry.size).toBe(1)
    }))

  it.scoped("TestMultithreadedGetCircuit", () =>
    Effect.gen(function*() {
      const registry = yield* CircuitBreaker.makeRegistry()
      const numThreads = 100
      const breakers = yield* Effect.all(Array.from({ length: numThreads }, () => registry.get("foo")), {
        concurrency: "unbounded"
      })
      // should be threadsafe: one breaker created
      expect(new Set(breakers).size).toBe(1)
      expect(yield* registry.size).toBe(1)
    }))
})

describe("peer hystrix-go pool_test.go", () => {
  it.scoped("TestActiveCount", () =>
    Effect.gen(function*() {
      const command = yield* configureCommand()
      // when 3 tickets are pulled
      const gates = [yield* Deferred.make<void>(), yield* Deferred.make<void>(), yield* Deferred.make<void>()]
      for (const gate of gates) yield* Effect.fork(Bulkhead.withBulkhead(Deferred.await(gate), command.pool))
      yield* Effect.yieldNow()
      // ActiveCount() should be 3
      expect((yield* command.pool.snapshot).active).toBe(3)
      // and one is returned (hystrix then reads its MaxActiveRequests metric, 3; Sturdy has no such metric)
      yield* Deferred.succeed(gates[2], undefined)
      yield* Effect.yieldNow()
      expect((yield* command.pool.snapshot).active).toBe(2)
      for (const gate of gates) yield* Deferred.succeed(gate, undefined)
    }))
})
