// Ported from mercari/go-circuitbreaker at 723c8216e90589c0f83c26d680a1ddc0e9d000b8: breaker_test.go and
// state_test.go, one `it` per Go test (or `t.Run` subtest), named after it, under a `describe` named after the Go test.
// Mapping: `circuitbreaker.New(opts...)` is `CircuitBreaker.make` with: the default trip function
// (`NewTripFuncThreshold(10)`: 10 failures) and `NewTripFuncThreshold(n)` as `failureCountThreshold: n`, with the
// counter reset `Interval` (default 1 s) as `slidingWindow`; `NewTripFuncConsecutiveFailures(n)` as
// `consecutiveFailures: n`; `NewTripFuncFailureRate(min, rate)` as `{ failureRateThreshold: rate, minimumThroughput:
// min }`; `WithOpenTimeout(d)` as `breakDuration: d` and `WithOpenTimeoutBackOff(ExponentialBackOff{...})` (no
// randomization) as `breakDuration: Backoff.exponential({ baseDelay: InitialInterval, factor: Multiplier, maxDelay:
// MaxInterval, jitter: "none", maxAttempts: Infinity })`, whose schedule restarts when the breaker closes as
// `OpenBackOff.Reset()` does; `WithHalfOpenMaxSuccesses(n)` (default 4) as `successThreshold: n` with
// `halfOpenMaxProbes: Number.MAX_SAFE_INTEGER` (go-circuitbreaker's half-open state admits every call).
// `cb.Success()` / `cb.Fail()` (outcomes reported to the breaker) are calls through it that succeed / fail
// (`utils/goBreaker.ts`); `cb.Do` is `withBreaker`, `ErrOpen` is `CircuitOpen`; `Ignore(err)` is a failure the
// breaker's `isIgnored` selects, `MarkAsSuccess(err)` one its `isFailure` does not (a successful call). `Counters()` is
// `snapshot`: `Failures` is `failures`, `Successes` is `calls - failures`, `ConsecutiveFailures` is
// `consecutiveFailures` (Sturdy keeps no count of consecutive successes). A context cancelled before the call ends is
// the call's fiber interrupted; a context whose deadline passes is `Deadline.withDeadline` around the breaker (or,
// already passed, `Deadline.establish` of zero around it). The mock clock is the TestClock, `OnStateChange` the
// transitions on `subscribe`. Go's nanosecond `after - 1` is a millisecond here.
// Deliberate differences (each test says which):
// - `Interval` resets every counter all at once every interval; Sturdy's window slides (a call counts for a window
//   after its bucket started), and `consecutiveFailures` is a run of failures that only a success or a transition ends.
// - go-circuitbreaker keeps its failure counts through Open and HalfOpen (it clears successes on entering HalfOpen and
//   failures on entering Closed); Sturdy empties its window whenever the breaker opens, and probes are not recorded in
//   it (the reason and count that tripped it are on the `CircuitOpen` a call then gets).
// - `FailOnContextCancel` / `FailOnContextDeadline` (off by default) count a call whose context ended as a failure;
//   Sturdy never records an interrupted call, nor one the caller's own deadline cut short, so both options' `true`
//   cases assert no failure.
// - An outcome reported while Open (`cb.Fail()` after `SetState(StateOpen)`) still reaches go-circuitbreaker's
//   counters; here it is a call the breaker rejects, recorded nowhere.
// - There is no `SetState`: a breaker gets to Open by failing and to HalfOpen by its pause passing.
// Not ported: ExampleCircuitBreaker (no assertion); TestIgnore and TestMarkAsSuccess (Go's error wrappers, their
// `nil` case and their `Error()` text: Sturdy selects such failures with `isIgnored` / `isFailure` and hands the
// failure back as it is); the `Counters{Failures: 6}` line of TripFuncThreshold and TripFuncConsecutiveFailures (a
// breaker that opened at 5 records no sixth failure).
import { describe, expect, it } from "@effect/vitest"
import { Backoff, CircuitBreaker, Deadline } from "@sturdy/policy"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import { fail, rejectionOf, succeed } from "./utils/goBreaker.js"
import { recordTransitions, settle } from "./utils/transitions.js"

/** `Ignore(err)` */
class IgnorableError extends Error {
  constructor(readonly err: Error) {
    super(`circuitbreaker does not mark this error as a failure: ${err.message}`)
  }
}
/** `MarkAsSuccess(err)` */
class SuccessMarkableError extends Error {
  constructor(readonly err: Error) {
    super(`circuitbreaker mark this error as a success: ${err.message}`)
  }
}

const DefaultHalfOpenMaxSuccesses = 4

/** `circuitbreaker.New(...)`: the default trip function and interval, and Ignore / MarkAsSuccess understood */
const New = (options: CircuitBreaker.Options = {}) =>
  CircuitBreaker.make("cb", {
    failureCountThreshold: 10,
    slidingWindow: "1 second",
    successThreshold: DefaultHalfOpenMaxSuccesses,
    halfOpenMaxProbes: Number.MAX_SAFE_INTEGER,
    isIgnored: (e) => e instanceof IgnorableError,
    isFailure: (e) => !(e instanceof SuccessMarkableError),
    ...options
  })

/** `Counters()` as Sturdy keeps them */
const counters = (breaker: CircuitBreaker.CircuitBreaker) =>
  Effect.map(breaker.snapshot, (s) => ({
    Successes: s.calls - s.failures,
    Failures: s.failures,
    ConsecutiveFailures: s.consecutiveFailures
  }))

/** `cb.Do(ctx, o)`: the result, or the error (the breaker's own or the operation's) */
const Do = <A>(breaker: CircuitBreaker.CircuitBreaker, o: Effect.Effect<A, Error>) =>
  Effect.either(CircuitBreaker.withBreaker(o, breaker))

/** assertChangeStateToHalfOpenAfter: still open a millisecond before `after`, half-open at `after` */
const assertChangeStateToHalfOpenAfter = (breaker: CircuitBreaker.CircuitBreaker, after: number) =>
  Effect.gen(function*() {
    yield* TestClock.adjust(after - 1)
    expect(yield* breaker.state).toBe("Open")
    yield* TestClock.adjust(1)
    expect(yield* breaker.state).toBe("HalfOpen")
  })

const wantErr = new Error("something happens")

describe("peer mercari TestDo", () => {
  it.scoped("success", () =>
    Effect.gen(function*() {
      const cb = yield* New()
      const got = yield* Do(cb, Effect.succeed("data"))
      expect(got._tag === "Right" && got.right).toBe("data")
      expect((yield* counters(cb)).Failures).toBe(0)
    }))

  it.scoped("error", () =>
    Effect.gen(function*() {
      const cb = yield* New()
      const got = yield* Do(cb, Effect.fail(wantErr))
      expect(got._tag === "Left" && got.left).toBe(wantErr)
      expect((yield* counters(cb)).Failures).toBe(1)
    }))

  it.scoped("ignore", () =>
    Effect.gen(function*() {
      // go-circuitbreaker unwraps the error it ignores; Sturdy hands it back as it is
      const cb = yield* New()
      const got = yield* Do(cb, Effect.fail(new IgnorableError(wantErr)))
      expect(got._tag === "Left" && got.left instanceof IgnorableError && got.left.err).toBe(wantErr)
      expect(yield* counters(cb)).toEqual({ Successes: 0, Failures: 0, ConsecutiveFailures: 0 })
    }))

  it.scoped("markassuccess", () =>
    Effect.gen(function*() {
      const cb = yield* New()
      const got = yield* Do(cb, Effect.fail(new SuccessMarkableError(wantErr)))
      expect(got._tag === "Left" && got.left instanceof SuccessMarkableError && got.left.err).toBe(wantErr)
      expect(yield* counters(cb)).toEqual({ Successes: 1, Failures: 0, ConsecutiveFailures: 0 })
    }))

  // context-canceled: the context is cancelled while the operation waits on it
  for (const FailOnContextCancel of [true, false]) {
    it.scoped(`context-canceled FailOnContextCanceled=${FailOnContextCancel}`, () =>
      Effect.gen(function*() {
        // FailOnContextCancel true expects 1 failure; Sturdy never records an interrupted call
        const cb = yield* New()
        const fiber = yield* Effect.fork(Do(cb, Effect.never))
        yield* settle
        yield* Fiber.interrupt(fiber)
        expect(Exit.isInterrupted(yield* Fiber.await(fiber))).toBe(true)
        expect((yield* counters(cb)).Failures).toBe(0)
      }))
  }

  // context-timeout: the context's deadline (1 ms) passes while the operation waits on it
  for (const FailOnContextDeadline of [true, false]) {
    it.scoped(`context-timeout FailOnContextDeadline=${FailOnContextDeadline}`, () =>
      Effect.gen(function*() {
        // FailOnContextDeadline true expects 1 failure; Sturdy never records a call the caller's deadline cut short
        const cb = yield* New()
        const fiber = yield* Effect.fork(
          Effect.either(Deadline.withDeadline(CircuitBreaker.withBreaker(Effect.never, cb), "1 millis"))
        )
        yield* settle
        yield* TestClock.adjust("1 millis")
        const got = yield* Fiber.join(fiber)
        expect(got._tag === "Left" && Deadline.isDeadlineExceeded(got.left)).toBe(true)
        expect((yield* counters(cb)).Failures).toBe(0)
      }))
  }

  it.scoped("cyclic-state-transition", () =>
    Effect.gen(function*() {
      const cb = yield* New({ failureCountThreshold: 3, breakDuration: "1000 millis", successThreshold: 4 })
      // ( Closed => Open => HalfOpen => Open => HalfOpen => Closed ) x 10 iterations
      for (let i = 0; i < 10; i++) {
        for (let j = 0; j < 3; j++) {
          expect(yield* cb.state).toBe("Closed")
          const got = yield* Do(cb, Effect.fail(wantErr))
          expect(got._tag === "Left" && got.left).toBe(wantErr)
        }
        // Closed => Open: ErrOpen, the operation not run
        expect(yield* cb.state).toBe("Open")
        let ran = false
        const rejected = yield* Do(cb, Effect.sync(() => (ran = true)))
        expect(rejected._tag === "Left" && CircuitBreaker.isCircuitOpen(rejected.left)).toBe(true)
        expect(ran).toBe(false)

        // Open => HalfOpen
        yield* TestClock.adjust("1000 millis")
        expect(yield* cb.state).toBe("HalfOpen")
        // HalfOpen => Open
        const probe = yield* Do(cb, Effect.fail(wantErr))
        expect(probe._tag === "Left" && probe.left).toBe(wantErr)
        expect(yield* cb.state).toBe("Open")
        // Open => HalfOpen
        yield* TestClock.adjust("1000 millis")
        // HalfOpen => Closed
        for (let j = 0; j < 4; j++) {
          expect(yield* cb.state).toBe("HalfOpen")
          const got = yield* Do(cb, Effect.succeed("data"))
          expect(got._tag === "Right" && got.right).toBe("data")
        }
        expect(yield* cb.state).toBe("Closed")
      }
    }))
})

describe("peer mercari TestCircuitBreakerTripFuncs", () => {
  // a trip function judged on a breaker fed these outcomes, successes first; answers whether it opened
  const trips = (options: CircuitBreaker.Options, successes: number, failures: number) =>
    Effect.scoped(Effect.gen(function*() {
      const cb = yield* New({ slidingWindow: "1 minute", ...options })
      for (let i = 0; i < successes; i++) yield* succeed(cb)
      for (let i = 0; i < failures; i++) yield* fail(cb)
      return (yield* cb.state) === "Open"
    }))

  it.effect("TripFuncThreshold", () =>
    Effect.gen(function*() {
      const threshold = { failureCountThreshold: 5 }
      expect(yield* trips(threshold, 0, 4)).toBe(false)
      expect(yield* trips(threshold, 0, 5)).toBe(true)
    }))

  it.effect("TripFuncConsecutiveFailures", () =>
    Effect.gen(function*() {
      const consecutive = { failureCountThreshold: undefined, consecutiveFailures: 5 }
      expect(yield* trips(consecutive, 0, 4)).toBe(false)
      expect(yield* trips(consecutive, 0, 5)).toBe(true)
    }))

  it.effect("TripFuncFailureRate", () =>
    Effect.gen(function*() {
      // NewTripFuncFailureRate(10, 0.4)
      const rate = { failureCountThreshold: undefined, failureRateThreshold: 0.4, minimumThroughput: 10 }
      expect(yield* trips(rate, 1, 8)).toBe(false)
      expect(yield* trips(rate, 1, 9)).toBe(true)
      expect(yield* trips(rate, 60, 39)).toBe(false)
      expect(yield* trips(rate, 60, 40)).toBe(true)
      expect(yield* trips(rate, 60, 41)).toBe(true)
    }))
})

describe("peer mercari counters", () => {
  it.scoped("TestSuccess", () =>
    Effect.gen(function*() {
      const cb = yield* New()
      yield* succeed(cb)
      expect(yield* counters(cb)).toEqual({ Successes: 1, Failures: 0, ConsecutiveFailures: 0 })
      // Success resets ConsecutiveFailures
      yield* fail(cb)
      yield* succeed(cb)
      expect(yield* counters(cb)).toEqual({ Successes: 2, Failures: 1, ConsecutiveFailures: 0 })
    }))

  it.scoped("TestFail", () =>
    Effect.gen(function*() {
      const cb = yield* New()
      yield* fail(cb)
      expect(yield* counters(cb)).toEqual({ Successes: 0, Failures: 1, ConsecutiveFailures: 1 })
      yield* succeed(cb)
      yield* fail(cb)
      expect(yield* counters(cb)).toEqual({ Successes: 1, Failures: 2, ConsecutiveFailures: 1 })
    }))

  it.scoped("TestReset", () =>
    Effect.gen(function*() {
      const cb = yield* New()
      const zero = { Successes: 0, Failures: 0, ConsecutiveFailures: 0 }
      yield* succeed(cb)
      yield* cb.reset
      expect(yield* counters(cb)).toEqual(zero)
      yield* fail(cb)
      yield* cb.reset
      expect(yield* counters(cb)).toEqual(zero)
    }))
})

describe("peer mercari TestReportFunctions", () => {
  it.scoped("Failed if ctx.Err() == nil", () =>
    Effect.gen(function*() {
      const cb = yield* New()
      yield* fail(cb)
      expect((yield* counters(cb)).Failures).toBe(1)
    }))

  it.scoped("ctx.Err() == context.Canceled", () =>
    Effect.gen(function*() {
      // with WithFailOnContextCancel(true) too: Sturdy never records an interrupted call
      const cb = yield* New()
      const fiber = yield* Effect.fork(fail(cb).pipe(Effect.zipRight(Effect.never)))
      const cancelled = yield* Effect.fork(CircuitBreaker.withBreaker(Effect.never, cb))
      yield* settle
      yield* Fiber.interrupt(cancelled)
      yield* Fiber.interrupt(fiber)
      // the failure reported before counts, the cancelled call does not
      expect((yield* counters(cb)).Failures).toBe(1)
    }))

  it.scoped("ctx.Err() == context.DeadlineExceeded", () =>
    Effect.gen(function*() {
      // a context whose deadline has passed (time.Time{}): the call fails with the deadline's DeadlineExceeded, which
      // the breaker does not count (WithFailOnContextDeadline(true) would)
      const cb = yield* New()
      const got = yield* Effect.either(
        CircuitBreaker.withBreaker(Deadline.attemptTimeout(Effect.never, "1 second"), cb).pipe(Deadline.establish(0))
      )
      expect(got._tag === "Left" && Deadline.isDeadlineExceeded(got.left) && got.left.reason).toBe("Deadline")
      expect((yield* counters(cb)).Failures).toBe(0)
    }))
})

describe("peer mercari state_test", () => {
  it.scoped("TestCircuitBreakerStateTransitions", () =>
    Effect.gen(function*() {
      const cb = yield* New({ failureCountThreshold: 3, breakDuration: "1000 millis", successThreshold: 4 })
      for (let i = 0; i < 10; i++) {
        // 3 Fails: Open
        yield* fail(cb)
        expect(yield* cb.state).toBe("Closed")
        yield* fail(cb)
        expect(yield* cb.state).toBe("Closed")
        yield* fail(cb)
        expect(yield* cb.state).toBe("Open")
        // after OpenTimeout: HalfOpen
        yield* assertChangeStateToHalfOpenAfter(cb, 1000)
        // a Fail: back to Open
        yield* fail(cb)
        expect(yield* cb.state).toBe("Open")
        yield* assertChangeStateToHalfOpenAfter(cb, 1000)
        // 4 Successes: Closed
        for (let j = 0; j < 3; j++) {
          yield* succeed(cb)
          expect(yield* cb.state).toBe("HalfOpen")
        }
        yield* succeed(cb)
        expect(yield* cb.state).toBe("Closed")
      }
    }))

  it.scoped("TestCircuitBreakerOnStateChange", () =>
    Effect.gen(function*() {
      const cb = yield* New({ failureCountThreshold: 3, breakDuration: "1000 millis", successThreshold: 4 })
      const changes = yield* recordTransitions(cb)
      yield* fail(cb)
      yield* fail(cb)
      yield* fail(cb)
      yield* assertChangeStateToHalfOpenAfter(cb, 1000)
      yield* fail(cb)
      yield* assertChangeStateToHalfOpenAfter(cb, 1000)
      for (let j = 0; j < 4; j++) yield* succeed(cb)
      yield* settle
      expect(changes.map((c) => [c.from, c.to])).toEqual([
        ["Closed", "Open"],
        ["Open", "HalfOpen"],
        ["HalfOpen", "Open"],
        ["Open", "HalfOpen"],
        ["HalfOpen", "Closed"]
      ])
    }))

  describe("TestStateClosed", () => {
    const setUp = New({ failureCountThreshold: 3, slidingWindow: "1000 millis" })

    it.scoped("Ready", () =>
      Effect.gen(function*() {
        const cb = yield* setUp
        expect(yield* rejectionOf(cb, Effect.void)).toBeUndefined()
      }))

    it.scoped("open-if-shouldtrip-reached", () =>
      Effect.gen(function*() {
        const cb = yield* setUp
        yield* cb.reset
        yield* fail(cb)
        yield* fail(cb)
        expect(yield* cb.state).toBe("Closed")
        yield* fail(cb)
        expect(yield* cb.state).toBe("Open")
      }))

    it.scoped("ticker-reset-the-counter", () =>
      Effect.gen(function*() {
        const cb = yield* setUp
        yield* cb.reset
        yield* succeed(cb)
        yield* fail(cb)
        yield* TestClock.adjust("999 millis")
        expect(yield* counters(cb)).toEqual({ Successes: 1, Failures: 1, ConsecutiveFailures: 1 })
        yield* TestClock.adjust("1 millis")
        // the window has passed over both calls (go-circuitbreaker: Counters{}); the run of failures is not a count of
        // the window, and only a success or a transition ends it
        expect(yield* counters(cb)).toEqual({ Successes: 0, Failures: 0, ConsecutiveFailures: 1 })
      }))
  })

  describe("TestStateOpen", () => {
    // mercari's exponential open backoff without randomization: 1 s, 2 s, 4 s, 5 s (MaxInterval), reset on Closed
    const exponentialOpenBackOff = () =>
      New({
        failureCountThreshold: 1,
        successThreshold: 1,
        breakDuration: Backoff.exponential({
          baseDelay: "1000 millis",
          factor: 2,
          maxDelay: "5 seconds",
          jitter: "none",
          maxAttempts: Infinity
        })
      })
    const backOffTests = (cb: CircuitBreaker.CircuitBreaker) => [
      { f: fail(cb), after: 1000 },
      { f: fail(cb), after: 2000 },
      { f: fail(cb), after: 4000 },
      { f: fail(cb), after: 5000 },
      { f: Effect.zipRight(succeed(cb), fail(cb)), after: 1000 }
    ]

    it.scoped("Ready", () =>
      Effect.gen(function*() {
        const cb = yield* New({ failureCountThreshold: 3, breakDuration: "500 millis" })
        for (let i = 0; i < 3; i++) yield* fail(cb)
        expect(CircuitBreaker.isCircuitOpen(yield* rejectionOf(cb, Effect.void))).toBe(true)
      }))

    it.scoped("HalfOpen-when-timer-triggered", () =>
      Effect.gen(function*() {
        const cb = yield* New({ failureCountThreshold: 3, breakDuration: "500 millis" })
        for (let i = 0; i < 3; i++) yield* fail(cb)
        // a Fail and a Success while Open: rejected, so they reach no counter
        expect(CircuitBreaker.isCircuitOpen(yield* fail(cb))).toBe(true)
        expect(CircuitBreaker.isCircuitOpen(yield* succeed(cb))).toBe(true)
        yield* TestClock.adjust("499 millis")
        expect(yield* cb.state).toBe("Open")
        yield* TestClock.adjust("1 millis")
        expect(yield* cb.state).toBe("HalfOpen")
        // go-circuitbreaker counted the Fail reported while Open (Counters{Failures: 1}; the Success was cleared on
        // entering HalfOpen); here both calls were rejected, and the window was emptied on opening
        expect(yield* counters(cb)).toEqual({ Successes: 0, Failures: 0, ConsecutiveFailures: 0 })
      }))

    it.scoped("HalfOpen-with-ExponentialOpenBackOff", () =>
      Effect.gen(function*() {
        const cb = yield* exponentialOpenBackOff()
        for (const test of backOffTests(cb)) {
          yield* test.f
          expect(yield* cb.state).toBe("Open")
          yield* TestClock.adjust(test.after - 1)
          expect(yield* cb.state).toBe("Open")
          yield* TestClock.adjust(1)
          expect(yield* cb.state).toBe("HalfOpen")
        }
      }))

    it.scoped("OpenBackOff", () =>
      Effect.gen(function*() {
        const cb = yield* exponentialOpenBackOff()
        for (const test of backOffTests(cb)) {
          yield* test.f
          yield* assertChangeStateToHalfOpenAfter(cb, test.after)
        }
      }))
  })

  describe("TestHalfOpen", () => {
    // threshold 3, HalfOpenMaxSuccesses 4; SetState(StateHalfOpen) is three failures and the pause passing
    const halfOpen = Effect.gen(function*() {
      const cb = yield* New({ failureCountThreshold: 3, breakDuration: "500 millis" })
      for (let i = 0; i < 3; i++) yield* fail(cb)
      yield* TestClock.adjust("500 millis")
      expect(yield* cb.state).toBe("HalfOpen")
      return cb
    })

    it.scoped("Ready", () =>
      Effect.gen(function*() {
        const cb = yield* halfOpen
        expect(yield* rejectionOf(cb, Effect.void)).toBeUndefined()
      }))

    it.scoped("Open-if-got-a-fail", () =>
      Effect.gen(function*() {
        const cb = yield* halfOpen
        yield* fail(cb)
        expect(yield* cb.state).toBe("Open")
        // go-circuitbreaker: Counters{Failures: 1, ConsecutiveFailures: 1} (no reset); Sturdy records no probe in its
        // window, and the rejection names the failed probe
        const rejection = yield* rejectionOf(cb, Effect.void)
        expect(rejection?.reason).toBe("ProbeFailed")
        expect(yield* counters(cb)).toEqual({ Successes: 0, Failures: 0, ConsecutiveFailures: 0 })
      }))

    it.scoped("Close-if-success-reaches-HalfOpenMaxSuccesses", () =>
      Effect.gen(function*() {
        const cb = yield* halfOpen
        yield* succeed(cb)
        yield* succeed(cb)
        yield* succeed(cb)
        expect(yield* cb.state).toBe("HalfOpen")
        yield* succeed(cb)
        expect(yield* cb.state).toBe("Closed")
        // go-circuitbreaker: Counters{Successes: 4} (the probes); Sturdy starts Closed with an empty window
        expect(yield* counters(cb)).toEqual({ Successes: 0, Failures: 0, ConsecutiveFailures: 0 })
      }))
  })

  it.scoped("TestRace", () =>
    Effect.gen(function*() {
      // every entry point at once, on a breaker that trips on anything; Go's race detector has nothing to find in a
      // single-threaded runtime, so what is checked is that every one of them ends and the counts agree
      const cb = yield* New({ failureCountThreshold: 1, slidingWindow: "1000 millis" })
      const all = [
        cb.reset,
        cb.reset,
        fail(cb),
        succeed(cb),
        cb.state,
        fail(cb),
        cb.snapshot,
        rejectionOf(cb, Effect.void),
        succeed(cb),
        fail(cb)
      ]
      const exits = yield* Effect.all(all.map((e) => Effect.exit(e)), { concurrency: "unbounded" })
      expect(exits.every(Exit.isSuccess)).toBe(true)
      const s = yield* cb.snapshot
      expect(s.failures).toBeLessThanOrEqual(s.calls)
      expect(["Closed", "Open"]).toContain(s.state)
    }))
})
