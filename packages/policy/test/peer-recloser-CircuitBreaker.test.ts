// Ported from lerouxrgd/recloser at 435513a4c42f1b0ed3413a9abe53ff9d7ab9a034: the tests of src/recloser.rs and
// src/async.rs, one `it` per Rust test, named after it.
// Mapping: `Recloser::custom().error_rate(r).closed_len(n).half_open_len(h).open_wait(d).build()` (defaults 0.5, 100,
// 10, 30 s) is `CircuitBreaker.make` with `{ failureRateThreshold: r, slidingWindow: { calls: n }, minimumThroughput:
// n, successThreshold: h, halfOpenMaxProbes: Number.MAX_SAFE_INTEGER, breakDuration: d }`: a ring of the last n calls
// judged once full, and a half-open state that admits every call. `open_wait_strategy(f)` is a `breakDuration`
// schedule (`|_, open_wait| open_wait` is `Schedule.spaced(open_wait)`). `recl.call(f)` / `AsyncRecloser::call` is
// `withBreaker`, `call_with(predicate, f)` a breaker whose `isFailure` is the predicate; `Error::Inner(e)` is the
// failure `e`, `Error::Rejected` is `CircuitOpen`; `call_permitted()` is a state other than Open (it moves an Open
// breaker whose wait is over to HalfOpen, which Sturdy's `state` reports without a call). The state's flap count
// (`Open(_, fc)`, `HalfOpen(_, fc)`) is the number of Open transitions published on `subscribe`. `FakeClock` is the
// TestClock; async-std's `timeout(d, f)` is `Deadline.attemptTimeout(d)` inside the breaker (its `TimeoutError` is a
// `DeadlineExceeded` of reason "Attempt", a counted failure).
// Deliberate differences (each test says which):
// - recloser's ring judges its failure rate from the call after the one that filled it (`set_current` answers -1
//   while filling, the filling call included); Sturdy judges a count window as soon as it is full (resilience4j's
//   rule, `CallWindow`), so a breaker opens one call earlier, on the call that fills the window.
// - In HalfOpen recloser fills a second ring of `half_open_len` calls and judges its rate (at or below the threshold
//   closes, at or above opens); Sturdy opens again on one failed probe and closes after `successThreshold`
//   successful ones (so, with the same filling rule, one call earlier too).
// - A pause ends at its last millisecond in Sturdy (`now >= openUntil`), an instant after it in recloser; the tests
//   wait 1.5 s for a pause of 1 s, where both agree.
// Not ported: tracing_name_present_only_when_set (recloser's tracing events and its optional name: Sturdy's
// transitions always carry the breaker's key, and nothing is published when a breaker is made) and
// ring_buffer_correctness (the private ring buffer's fields under threads). recloser_concurrent is scaled down: 8
// fibers × 50 rounds instead of 8 threads × 1000 (each move of the TestClock costs real milliseconds).
import { describe, expect, it } from "@effect/vitest"
import { Backoff, CircuitBreaker, Deadline } from "@sturdy/policy"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import { stepDelays } from "./utils/stepDelays.js"
import { recordTransitions, settle } from "./utils/transitions.js"

interface RecloserOptions {
  readonly errorRate?: number
  readonly closedLen?: number
  readonly halfOpenLen?: number
  readonly openWait?: Duration.DurationInput
  readonly openWaitStrategy?: Schedule.Schedule<unknown, unknown>
  readonly predicate?: (error: unknown) => boolean
}

const custom = (options: RecloserOptions = {}) => {
  const closedLen = options.closedLen ?? 100
  return CircuitBreaker.make("recloser", {
    failureRateThreshold: options.errorRate ?? 0.5,
    slidingWindow: { calls: closedLen },
    minimumThroughput: closedLen,
    successThreshold: options.halfOpenLen ?? 10,
    halfOpenMaxProbes: Number.MAX_SAFE_INTEGER,
    breakDuration: options.openWaitStrategy ?? options.openWait ?? "30 seconds",
    isFailure: options.predicate
  })
}

/** `recl.call(f)`: `Right` with the value, or `Left` with the failure (`CircuitOpen` for `Error::Rejected`) */
const call = <A, E>(recl: CircuitBreaker.CircuitBreaker, f: Effect.Effect<A, E>) =>
  Effect.either(CircuitBreaker.withBreaker(f, recl))

const ok = Effect.void
const err = <E = undefined>(e?: E) => Effect.fail(e)

const isInner = <E>(result: Either.Either<unknown, unknown>, e?: E) =>
  Either.isLeft(result) && !CircuitBreaker.isCircuitOpen(result.left) && result.left === e
const isRejected = (result: Either.Either<unknown, unknown>) =>
  Either.isLeft(result) && CircuitBreaker.isCircuitOpen(result.left)
const callPermitted = (recl: CircuitBreaker.CircuitBreaker) => Effect.map(recl.state, (state) => state !== "Open")

const sleep = (millis: number) => TestClock.adjust(Duration.millis(millis))

describe("peer recloser recloser.rs", () => {
  it.scoped("multi_errors", () =>
    Effect.gen(function*() {
      const recl = yield* custom({ closedLen: 1 })
      expect(isInner(yield* call(recl, err()))).toBe(true)
      // recloser: still permitted (its ring of one call is full, judged from the next call on); Sturdy judges the
      // full window at once, 1 failure of 1
      expect(yield* callPermitted(recl)).toBe(false)
      // recloser: Err(Inner(12)), then not permitted; here the second call is rejected
      expect(isRejected(yield* call(recl, err(12)))).toBe(true)
      expect(yield* callPermitted(recl)).toBe(false)
    }))

  it.scoped("error_predicate", () =>
    Effect.gen(function*() {
      // a predicate that calls no error a failure: the failures count as successful calls
      const recl = yield* custom({ closedLen: 1, predicate: () => false })
      expect(isInner(yield* call(recl, err()))).toBe(true)
      expect(yield* callPermitted(recl)).toBe(true)
      expect(isInner(yield* call(recl, err()))).toBe(true)
      expect(yield* callPermitted(recl)).toBe(true)
    }))

  // assert_state_transitions, recloser's timeline and Sturdy's:
  //   result:  e e e x ____ ✓ e e x  ____ ✓ ✓ ✓
  // recloser:  c c o o      h h o o       h h c      (flap 1 from the first Open, 2 from the second)
  //   Sturdy:  c o o o      h o o o       h c c      (the window of 2 is judged when full; one failed probe
  //                                                   reopens; 2 successful probes close)
  const assertStateTransitions = (recl: CircuitBreaker.CircuitBreaker) =>
    Effect.gen(function*() {
      const changes = yield* recordTransitions(recl)
      const opened = Effect.map(settle, () => changes.filter((c) => c.to === "Open").length)

      // fill the Closed window: the second failure fills it at 2 of 2, and Sturdy opens (recloser: Closed)
      expect(isInner(yield* call(recl, err()))).toBe(true)
      expect(yield* recl.state).toBe("Closed")
      expect(isInner(yield* call(recl, err()))).toBe(true)
      expect(yield* recl.state).toBe("Open")
      expect(yield* opened).toBe(1)
      // recloser: this call fails (Inner) and opens it (flap 1); here it is rejected
      expect(isRejected(yield* call(recl, err()))).toBe(true)
      expect(isRejected(yield* call(recl, err()))).toBe(true)

      // HalfOpen on the first call after the 1 s wait
      yield* sleep(1500)
      expect(Either.isRight(yield* call(recl, ok))).toBe(true)
      expect(yield* recl.state).toBe("HalfOpen")
      // recloser: fills its half-open ring (still HalfOpen); a failed probe reopens at once (flap 2)
      expect(isInner(yield* call(recl, err()))).toBe(true)
      expect(yield* recl.state).toBe("Open")
      expect(yield* opened).toBe(2)
      // recloser: this failure reopens it (Inner); here it is rejected
      expect(isRejected(yield* call(recl, err()))).toBe(true)
      expect(isRejected(yield* call(recl, err()))).toBe(true)

      // HalfOpen again after the wait, then Closed: recloser after the third success, Sturdy after the second
      yield* sleep(1500)
      expect(Either.isRight(yield* call(recl, ok))).toBe(true)
      expect(yield* recl.state).toBe("HalfOpen")
      expect(Either.isRight(yield* call(recl, ok))).toBe(true)
      expect(yield* recl.state).toBe("Closed")
      expect(Either.isRight(yield* call(recl, ok))).toBe(true)
      expect(yield* recl.state).toBe("Closed")
      expect(yield* opened).toBe(2)
    })

  it.scoped("recloser_correctness", () =>
    Effect.gen(function*() {
      const recl = yield* custom({ errorRate: 0.5, closedLen: 2, halfOpenLen: 2, openWait: "1 second" })
      yield* assertStateTransitions(recl)
    }))

  it.scoped("recloser_correctness_with_strategy", () =>
    Effect.gen(function*() {
      const recl = yield* custom({
        errorRate: 0.5,
        closedLen: 2,
        halfOpenLen: 2,
        openWait: "1 second",
        openWaitStrategy: Schedule.spaced("1 second")
      })
      yield* assertStateTransitions(recl)
    }))

  it.scoped("recloser_concurrent", () =>
    Effect.gen(function*() {
      // recloser only checks that nothing panics; here: every call ends with its value, its own failure or a
      // rejection, and the transitions published chain up (each starts where the one before ended)
      const recl = yield* custom({ errorRate: 0.5, closedLen: 10, halfOpenLen: 5, openWait: "1 second" })
      const changes = yield* recordTransitions(recl)
      const outcomes = { ok: 0, inner: 0, rejected: 0, other: 0 }
      const tally = (result: Either.Either<unknown, unknown>) => {
        if (Either.isRight(result)) outcomes.ok++
        else if (isRejected(result)) outcomes.rejected++
        else if (result.left === "e") outcomes.inner++
        else outcomes.other++
      }
      const thread = (seed: number) =>
        Effect.withRandom(
          Effect.gen(function*() {
            tally(yield* call(recl, ok))
            tally(yield* call(recl, err("e")))
            tally(yield* call(recl, (yield* Random.next) < 0.5 ? err("e") : ok))
          }),
          Random.make(seed)
        )
      for (let round = 0; round < 50; round++) {
        yield* Effect.all(Array.from({ length: 8 }, (_, i) => thread(round * 8 + i)), { concurrency: "unbounded" })
        yield* sleep(1500)
      }
      yield* settle
      expect(outcomes.ok + outcomes.inner + outcomes.rejected).toBe(8 * 50 * 3)
      expect(outcomes.other).toBe(0)
      expect(outcomes.rejected).toBeGreaterThan(0)
      expect(changes.length).toBeGreaterThan(0)
      expect(changes[0].from).toBe("Closed")
      for (let i = 1; i < changes.length; i++) expect(changes[i].from).toBe(changes[i - 1].to)
    }))

  it.scoped("test_ring_buffer_filling_on_success", () =>
    Effect.gen(function*() {
      const recl = yield* custom({ errorRate: 0.5, closedLen: 10, halfOpenLen: 5, openWait: "1 second" })
      for (let i = 0; i < 10; i++) yield* call(recl, err())
      // recloser: the ring is full at a rate of 1.0, and whatever the next call does the breaker trips; Sturdy
      // tripped on the call that filled the window, so the next call is rejected already
      expect(isRejected(yield* call(recl, ok))).toBe(true)
      // tripped
      expect(isRejected(yield* call(recl, err()))).toBe(true)
    }))

  it.scoped("test_ring_buffer_filling_on_error", () =>
    Effect.gen(function*() {
      const recl = yield* custom({ errorRate: 0.5, closedLen: 10, halfOpenLen: 5, openWait: "1 second" })
      for (let i = 0; i < 10; i++) yield* call(recl, i < 5 ? ok : err())
      // recloser: the ring is full at a rate of 0.5, and it takes another failure to trip; Sturdy judges the full
      // window at once, and 0.5 is the threshold (>=): tripped already
      expect(isRejected(yield* call(recl, err()))).toBe(true)
      expect(isRejected(yield* call(recl, err()))).toBe(true)
    }))

  it("test_custom_wait", () => {
    // the strategy `min(2^fc × open_wait, 5 s)` with open_wait 1 s: the n-th pause of a breaker (n from 0) is
    // the n-th step of its breakDuration schedule
    const strategy = Backoff.exponential({
      baseDelay: "1 second",
      factor: 2,
      maxDelay: "5 seconds",
      jitter: "none",
      maxAttempts: Infinity
    })
    const pauses = stepDelays(strategy, Array.from({ length: 11 }, () => undefined))
    expect(pauses[0]).toBe(1000)
    expect(pauses[1]).toBe(2000)
    expect(pauses[2]).toBe(4000)
    expect(pauses[4]).toBe(5000)
    expect(pauses[10]).toBe(5000)
  })
})

describe("peer recloser async.rs", () => {
  it.scoped("multi_futures", () =>
    Effect.gen(function*() {
      const recl = yield* custom({ closedLen: 1 })
      const future = Effect.suspend(() => Effect.fail(undefined))
      expect(isInner(yield* call(recl, future))).toBe(true)
      // recloser: permitted, then Err(Inner(12)) and not permitted; Sturdy judges the full window of one at once
      expect(yield* callPermitted(recl)).toBe(false)
      expect(isRejected(yield* call(recl, Effect.suspend(() => Effect.fail(12))))).toBe(true)
      expect(yield* callPermitted(recl)).toBe(false)
    }))

  it.scoped("custom_timeout", () =>
    Effect.gen(function*() {
      const recl = yield* custom({ closedLen: 1 })
      const timedOut = (result: Either.Either<unknown, unknown>) =>
        Either.isLeft(result) && Deadline.isDeadlineExceeded(result.left) && result.left.reason === "Attempt"
      const future = call(recl, Deadline.attemptTimeout(Effect.never, "5 millis"))

      const fiber = yield* Effect.fork(future)
      yield* sleep(5)
      expect(timedOut(yield* Fiber.join(fiber))).toBe(true)
      // recloser: still permitted, the second timeout trips it; Sturdy judges the full window of one at once
      expect(yield* callPermitted(recl)).toBe(false)
      // recloser's third call: Rejected
      expect(isRejected(yield* future)).toBe(true)
    }))
})
