// Ported from cep21/circuit at 076289099fe63d129cfa553c0d1d8c32b3ed8516: faststats/rolling_counter_test.go,
// faststats/regression_test.go and faststats/timedcheck_test.go, one `it` per Go test (per subtest where a test has
// several), named after it. faststats holds the parts the hystrix opener and closer are built of; Sturdy's are inside
// the breaker, so they are tested through it.
// Mapping: a `RollingCounter` of `numBuckets` buckets of `bucketWidth` is the breaker's time window, `slidingWindow:
// numBuckets × bucketWidth` (Sturdy keeps 10 buckets whatever its length); `Inc(now)` is a call through the breaker
// at the TestClock's now (successful, and with no threshold that could open it), `RollingSumAt(now)` /
// `RollingSum()` is `snapshot.calls` at now, `TotalSum()` the calls made, `Reset` is `reset`. A `TimedCheck` with
// `SetSleepDuration(d)` started by `SleepStart(now)` is the pause of a breaker opened at now with `breakDuration: d`;
// `Check(now)` true is a probe admitted at now (held in flight, so that the next check finds the slot taken).
// Differences: a Sturdy bucket starts with its first call, not on a grid (as Polly's windows do), so a call counts
// for at least nine tenths of the window and the first of its bucket for all of it; every sum below is still cep21's.
// Times are scaled where cep21's buckets are 1 ms wide (1 ms there is 1 s here), since Sturdy's buckets are a tenth of
// the window.
// Not ported: the JSON cases (TestRollingCounter_UnmarshalJSON_*, TestRegression_UnmarshalRejectsNegativeBucketState,
// TestRegression_RollingCounterJSONShape, TestTimedCheck_MarshalJSON, fuzz_test.go: the Go structs' encoding);
// TestRollingCounter_IncPast, TestRollingCounter_MovingBackwards and the `Inc(now - 1s)` line of
// TestRollingCounter_Inc (they record and read at explicit past times; a breaker records at the Clock's now, and a
// clock set back counts as no time passing); the -race smoke tests (TestRollingCounter_Race, TestTimedCheckRaces,
// rolling_stress_test.go) and the lock-ordering regressions (TestRegression_AdvanceBehindAfterLockWait,
// TestRegression_AdvanceUnlocksOnPanic, TestRegression_AdvanceClearsBeforePublishing, rolling_bucket_test.go: the
// Go bucket ring's internals); rolling_percentile_test.go and TestRegression_NoStaleDurationsInSnapshot,
// TestRegression_ZeroAndNegativeDurationsStored, TestEncodeDecodeDuration (latency percentiles: Sturdy's breaker keeps
// no call durations); atomic_test.go (Go atomics); TestTimedCheck_Empty (a zero-value TimedCheck passes at once: a
// breaker is never open without a pause).
import { describe, expect, it } from "@effect/vitest"
import { CircuitBreaker } from "@sturdy/policy"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"

// a breaker that only counts: no threshold can open it
const rollingCounter = (window: Duration.DurationInput) =>
  CircuitBreaker.make("counter", { consecutiveFailures: Infinity, slidingWindow: window })

const inc = (counter: CircuitBreaker.CircuitBreaker) => CircuitBreaker.withBreaker(Effect.void, counter)

const rollingSum = (counter: CircuitBreaker.CircuitBreaker) => Effect.map(counter.snapshot, (s) => s.calls)

const at = (millis: number) => TestClock.setTime(millis)

describe("cep21/circuit faststats rolling_counter_test.go", () => {
  it.effect("TestRollingCounter_Empty", () =>
    Effect.gen(function*() {
      const x = yield* rollingCounter("10 seconds")
      expect(yield* rollingSum(x)).toBe(0)
      yield* inc(x)
      expect(yield* rollingSum(x)).toBe(1)
    }).pipe(Effect.scoped))

  it.effect("TestRollingCounter_NormalConsistency", () =>
    Effect.gen(function*() {
      // 11 buckets of 100 ms; 100 rounds of 10 fibers × 100 calls, the clock moving 10 ms a round (cep21 moves it a
      // hundredth of a millisecond a call)
      const x = yield* rollingCounter("1100 millis")
      const bucketSize = 100
      const numBuckets = 10
      const concurrent = 100
      for (let k = 0; k < bucketSize; k++) {
        yield* TestClock.adjust("10 millis")
        yield* Effect.all(
          Array.from({ length: numBuckets }, () => Effect.repeatN(inc(x), concurrent - 1)),
          { concurrency: "unbounded", discard: true }
        )
      }
      expect(yield* rollingSum(x)).toBe(bucketSize * numBuckets * concurrent)
    }).pipe(Effect.scoped))

  it.effect("TestRollingCounter_Inc", () =>
    Effect.gen(function*() {
      const x = yield* rollingCounter("10 millis")
      expect(yield* rollingSum(x)).toBe(0)
      yield* inc(x)
      expect(yield* rollingSum(x)).toBe(1)
      yield* inc(x)
      expect(yield* rollingSum(x)).toBe(2)
      yield* x.reset
      expect(yield* rollingSum(x)).toBe(0)
    }).pipe(Effect.scoped))

  it.effect("TestRollingCounter_MoveForward", () =>
    Effect.gen(function*() {
      // 4 buckets of 1 ms, scaled: a 4 s window
      const x = yield* rollingCounter("4 seconds")
      expect(yield* rollingSum(x)).toBe(0)
      yield* inc(x)
      yield* inc(x)
      expect(yield* rollingSum(x)).toBe(2)
      yield* at(1000)
      yield* inc(x)
      expect(yield* rollingSum(x)).toBe(3)
      // move close to the end
      yield* at(3000)
      yield* inc(x)
      expect(yield* rollingSum(x)).toBe(4)
      // move past one bucket: the two calls at 0 are out
      yield* at(4000)
      yield* inc(x)
      expect(yield* rollingSum(x)).toBe(3)
      // move past all but one bucket: the calls at 4 s and 7 s are in
      yield* at(7000)
      yield* inc(x)
      expect(yield* rollingSum(x)).toBe(2)
      // move past all buckets
      yield* at(11_000)
      yield* inc(x)
      expect(yield* rollingSum(x)).toBe(1)
    }).pipe(Effect.scoped))

  it.effect("TestRollingCounter_RollingSum", () =>
    Effect.gen(function*() {
      const r = yield* rollingCounter("10 hours")
      yield* inc(r)
      yield* inc(r)
      expect(yield* rollingSum(r)).toBe(2)
    }).pipe(Effect.scoped))
})

describe("cep21/circuit faststats regression_test.go TestRegression_NoLostEventsAfterIdleGap", () => {
  // burstAfterIdle: every round, after a gap far longer than the window, `workers` fibers record one call each at the
  // same instant; the window then holds exactly `workers` calls (cep21 runs 3000 rounds of a real-concurrency race;
  // fibers interleave deterministically, so 30 rounds suffice)
  const burstAfterIdle = (window: Duration.DurationInput, workers: number, gap: Duration.DurationInput) =>
    Effect.gen(function*() {
      const x = yield* rollingCounter(window)
      let wrong = 0
      for (let round = 0; round < 30; round++) {
        yield* TestClock.adjust(gap)
        yield* Effect.all(Array.from({ length: workers }, () => inc(x)), { concurrency: "unbounded", discard: true })
        if ((yield* rollingSum(x)) !== workers) wrong++
      }
      return wrong
    }).pipe(Effect.scoped)

  it.effect("counter/small", () =>
    Effect.gen(function*() {
      expect(yield* burstAfterIdle("4 millis", 8, "1 second")).toBe(0)
    }))

  it.effect("defaults", () =>
    Effect.gen(function*() {
      expect(yield* burstAfterIdle("10 seconds", 4, "2 minutes")).toBe(0)
    }))
})

describe("cep21/circuit faststats timedcheck_test.go", () => {
  // a breaker opened now with a pause of `sleep`, and its `Check`: a probe admitted now is held in flight
  const timedCheck = (sleep: Duration.DurationInput) =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make("timed", { consecutiveFailures: 1, breakDuration: sleep })
      yield* Effect.exit(CircuitBreaker.withBreaker(Effect.fail("open"), breaker))
      expect(yield* breaker.state).toBe("Open")
      const check = Effect.gen(function*() {
        const fiber = yield* Effect.fork(CircuitBreaker.withBreaker(Effect.never, breaker))
        yield* Effect.yieldNow()
        const rejected = yield* Fiber.poll(fiber)
        return Option.isNone(rejected)
      })
      return check
    })

  it.effect("TestTimedCheck_Check", () =>
    Effect.gen(function*() {
      const check = yield* timedCheck("1 second")
      // not at first
      expect(yield* check).toBe(false)
      // not close to the end
      yield* at(999)
      expect(yield* check).toBe(false)
      // at the barrier
      yield* at(1000)
      expect(yield* check).toBe(true)
      // only once
      expect(yield* check).toBe(false)
      yield* at(1001)
      expect(yield* check).toBe(false)
      // again at 2 s: the probe admitted at 1 s has held its slot for a pause (`maxProbeDuration`'s default)
      yield* at(2000)
      expect(yield* check).toBe(true)
    }).pipe(Effect.scoped))

  it.effect("TestTimedCheck", () =>
    Effect.gen(function*() {
      const sleepDuration = 100
      const check = yield* timedCheck(Duration.millis(sleepDuration))
      let finishedAt: number | undefined
      // cep21 spins on the real clock for up to a second after the sleep; here, each millisecond
      for (let now = 0; now <= sleepDuration + 1000 && finishedAt === undefined; now++) {
        yield* at(now)
        if (yield* check) finishedAt = now
      }
      // it never finishes before the sleep, and it has finished by this late
      expect(finishedAt).toBe(sleepDuration)
    }).pipe(Effect.scoped))
})
