// Ported from failsafe-rs' src/windowed_adder.rs `mod tests` (dmexe/failsafe-rs, commit
// 5bf89775ea320f288f11935f3b5526e63a865d2a), one `it` per case, named after it.
// Mapping: a `WindowedAdder` is failsafe-rs' request counter of its success-rate policy (the calls its
// `min_request_threshold` is judged on); Sturdy's is the breaker's time-based sliding window, read as `snapshot.calls`.
// `WindowedAdder::new(window, slices)` is a breaker with `slidingWindow: window` (Sturdy always keeps 10 buckets) and
// a failure rate that never opens it (`minimumThroughput` out of reach); `add(n)` is n successful calls, `sum()` is
// `snapshot.calls`; `clock::freeze` is the TestClock.
// Deliberate differences (each test says which): failsafe-rs' slices are laid end to end from the adder's start,
// Sturdy's buckets start with their first call (so a call counts for at least nine tenths of the window after it, the
// first of its bucket for all of it), so a sum can differ by the calls of one slice when a window ends between them.
// Not ported: negative_sums (a count of calls is never negative; Sturdy's window only adds calls), and ema.rs' cases
// (Sturdy keeps no moving average; the success-rate behaviour is in peer-failsafe-rs-FailurePolicy.test.ts).
import { describe, expect, it } from "@effect/vitest"
import { CircuitBreaker } from "@sturdy/policy"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"

const windowedAdder = (window: Duration.DurationInput) =>
  CircuitBreaker.make("windowed-adder", {
    failureRateThreshold: 1,
    minimumThroughput: 1_000_000,
    slidingWindow: window
  })
// the tests' `new_windowed_adder()`: WindowedAdder::new(3.seconds(), 3)
const newWindowedAdder = () => windowedAdder("3 seconds")

const add = (adder: CircuitBreaker.CircuitBreaker, n: number) =>
  Effect.repeatN(CircuitBreaker.withBreaker(Effect.void, adder), Math.max(0, n - 1)).pipe(Effect.when(() => n > 0))
const sum = (adder: CircuitBreaker.CircuitBreaker) => Effect.map(adder.snapshot, (s) => s.calls)
const advance = (seconds: number) => TestClock.adjust(`${seconds} seconds`)

describe("peer failsafe-rs windowed_adder.rs", () => {
  it.scoped("sum_when_time_stands_still", () =>
    Effect.gen(function*() {
      const adder = yield* newWindowedAdder()
      yield* add(adder, 1)
      expect(yield* sum(adder)).toBe(1)
      yield* add(adder, 1)
      expect(yield* sum(adder)).toBe(2)
      yield* add(adder, 3)
      expect(yield* sum(adder)).toBe(5)
    }))

  it.scoped("sliding_over_small_window", () =>
    Effect.gen(function*() {
      const adder = yield* newWindowedAdder()
      yield* add(adder, 1)
      expect(yield* sum(adder)).toBe(1)
      yield* advance(1)
      expect(yield* sum(adder)).toBe(1)
      yield* add(adder, 2)
      expect(yield* sum(adder)).toBe(3)
      yield* advance(1)
      expect(yield* sum(adder)).toBe(3)
      yield* advance(1)
      expect(yield* sum(adder)).toBe(2)
      yield* advance(1)
      expect(yield* sum(adder)).toBe(0)
    }))

  it.scoped("sliding_over_large_window", () =>
    Effect.gen(function*() {
      const adder = yield* windowedAdder("20 seconds")
      for (let i = 0; i < 21; i++) {
        yield* add(adder, i % 3)
        yield* advance(1)
      }
      // failsafe-rs: 20, the call of t = 1 s gone; Sturdy's bucket opened by that call (2 s long) also holds the two
      // of t = 2 s, and ends 20 s after its first call: 18
      expect(yield* sum(adder)).toBe(18)
      yield* advance(1)
      expect(yield* sum(adder)).toBe(18)
      yield* advance(1)
      expect(yield* sum(adder)).toBe(18)
      yield* advance(5)
      expect(yield* sum(adder)).toBe(12)
      yield* add(adder, 1)
      // failsafe-rs: 3; Sturdy's bucket of t = 19 and 20 s (3 calls) ends at t = 39 s: with the call of t = 28 s, 4
      yield* advance(10)
      expect(yield* sum(adder)).toBe(4)
    }))

  it.scoped("sliding_window_when_slices_are_skipped", () =>
    Effect.gen(function*() {
      const adder = yield* newWindowedAdder()
      yield* add(adder, 1)
      expect(yield* sum(adder)).toBe(1)
      yield* advance(1)
      yield* add(adder, 2)
      expect(yield* sum(adder)).toBe(3)
      yield* advance(1)
      yield* add(adder, 1)
      expect(yield* sum(adder)).toBe(4)
      yield* advance(2)
      expect(yield* sum(adder)).toBe(1)
      yield* advance(100)
      expect(yield* sum(adder)).toBe(0)
      yield* add(adder, 100)
      yield* advance(1)
      expect(yield* sum(adder)).toBe(100)
      yield* add(adder, 100)
      yield* advance(1)
      yield* add(adder, 100)
      expect(yield* sum(adder)).toBe(300)
      yield* advance(100)
      expect(yield* sum(adder)).toBe(0)
    }))
})
