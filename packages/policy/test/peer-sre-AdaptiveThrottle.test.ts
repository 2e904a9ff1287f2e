// Ported from two implementations of the Google SRE book's client-side adaptive throttling: grpc-go's RLS throttler,
// balancer/rls/internal/adaptive/adaptive_test.go (grpc/grpc-go, commit 4793ad0474669eafbd5346c8a3d098fdfa542498),
// and go-kratos/aegis's circuitbreaker/sre/sre_test.go (go-kratos/aegis, commit
// e0742c6a630721538fc0ae417abee9e0cbe2414b), one `it` per case (or subtest), named after it.
// Mapping: grpc-go's `newWithArgs(duration, bins, ratioForAccepts, requestsPadding)` and aegis's `Breaker{k, stat:
// RollingCounter(10 × 100 ms)}` are `AdaptiveThrottle.make({ k, window })`: grpc-go's nanosecond ticks are TestClock
// milliseconds (a window of `bins` ms; Sturdy's buckets are a tenth of the window, at least 1 ms), aegis's window is
// 1 second. `RegisterBackendResponse(throttled)` / `MarkSuccess` / `MarkFailed` is a call run through the throttle that
// succeeds or fails with a backend rejection; `ShouldThrottle()` / `Allow()` is a probe call: rejected locally
// (`AdaptiveThrottleRejected`, counted as a request, as grpc-go counts a throttle), or else interrupted at once, which
// the throttle does not count. `stats()` / `summary()` is `snapshot` (throttled = requests − accepts). grpc-go's fixed
// `randFunc` (0.5) is `Random.fixed`: every probe draws 0.5, and a call that registers a response draws 0.999999 so
// that it reaches the backend (the probability never gets that high in these cases).
// Deliberate differences (each test says which): Sturdy's formula is the book's, `(requests − k·accepts) /
// (requests + 1)`: grpc-go pads the denominator with `requestsPadding` (8 by default) and aegis lets every call through
// below 100 requests in the window; Sturdy has neither, so it throttles sooner after the first rejections. A clock
// that goes back does not rewind the window: a response is counted at the time read, and history stamped later still
// counts until the window passes it (grpc-go drops a response more than the window behind the newest time seen).
// Not ported: grpc-go's ChangePadding (no padding option), aegis's TestTrueOnProba (a private helper; Sturdy rejects
// when `Random.next < p`) and BenchmarkSreBreakerAllow. Scaled down: aegis's 10,000,000 marked failures or successes
// are 10,000 here (the probability is then above 0.98), TestSRESelfProtection's random size is fixed at
// 1,000, and grpc-go's TestParallel runs 10 fibers of 1,000 responses each instead of 10 goroutines for 2 seconds.
import { describe, expect, it } from "@effect/vitest"
import * as AdaptiveThrottle from "@sturdy/policy/AdaptiveThrottle"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Random from "effect/Random"
import * as TestClock from "effect/TestClock"

class Throttled extends Data.TaggedError("Throttled") {}

// A: accepted by the backend, T: throttled by the backend, E: no response
type Response = "A" | "T" | "E"

const respond = (throttle: AdaptiveThrottle.AdaptiveThrottle, response: Exclude<Response, "E">) =>
  Effect.exit(throttle.run(response === "A" ? Effect.void : Effect.fail(new Throttled())))

const rejectedLocally = (exit: Exit.Exit<unknown, { readonly _tag: string }>): boolean =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error._tag === "AdaptiveThrottleRejected"

// ShouldThrottle / Allow: true when the probe is rejected locally (and then counted); otherwise nothing is counted
const shouldThrottle = (throttle: AdaptiveThrottle.AdaptiveThrottle) =>
  Effect.map(Effect.exit(throttle.run(Effect.interrupt)), rejectedLocally)

const stats = (throttle: AdaptiveThrottle.AdaptiveThrottle) =>
  Effect.map(throttle.snapshot, (s) => [s.accepts, s.requests - s.accepts] as const)

describe("grpc-go adaptive_test.go", () => {
  // [bins, ticks, responses, Sturdy's [accepts, throttled] after each, grpc-go's when different]
  const cases: Array<
    [string, number, Array<number>, Array<Response>, Array<readonly [number, number]>, Array<[number, number]>?]
  > = [
    ["Accumulate", 3, [0, 1, 2], ["A", "T", "E"], [[1, 0], [1, 1], [1, 1]]],
    ["LightTimeTravel", 3, [1, 0, 2], ["A", "T", "E"], [[1, 0], [1, 1], [1, 1]]],
    // grpc-go drops the response at tick 0, 8 bins behind its newest time ([1, 0], [1, 0], [2, 0]). Sturdy counts it,
    // with the response of tick 8, until tick 9 puts tick 0 out of the window.
    ["HeavyTimeTravel", 3, [8, 0, 9], ["A", "A", "A"], [[1, 0], [2, 0], [2, 0]], [[1, 0], [1, 0], [2, 0]]],
    ["Rollover", 1, [0, 1, 2], ["A", "T", "E"], [[1, 0], [0, 1], [0, 0]]]
  ]
  for (const [desc, bins, ticks, responses, want] of cases) {
    it.effect(`TestRegisterBackendResponse ${desc}`, () =>
      Effect.gen(function*() {
        const th = yield* AdaptiveThrottle.make({ window: `${bins} millis`, k: 2 })
        const got: Array<readonly [number, number]> = []
        for (const [i, tick] of ticks.entries()) {
          yield* TestClock.setTime(tick)
          const response = responses[i]!
          if (response !== "E") yield* respond(th, response)
          got.push(yield* stats(th))
        }
        expect(got).toEqual(want)
      }).pipe(Effect.withRandom(Random.fixed([0.999999]))))
  }

  // ShouldThrottle is true iff (requests − k × accepts) / (requests + padding) > 0.5 (the fixed draw)
  const responses: Array<Response> = [..."TTTTTTTTTAAAAAATTTT"] as Array<Response>
  const throttleCases: Array<[string, number, string, string]> = [
    // [desc, ratioForAccepts, Sturdy's answers (padding 1), grpc-go's (padding 8)]
    ["Baseline", 1.1, "nyyyyyyyyyyyyyyyyyy", "nnnnnnnnyyyyynnnyyy"],
    ["ChangeRatioForAccepts", 1.4, "nyyyyyyyyyyyyyyyyyy", "nnnnnnnnyynnnnnnnnn"]
  ]
  for (const [desc, ratioForAccepts, want] of throttleCases) {
    it.effect(`TestShouldThrottleOptions ${desc}`, () =>
      Effect.gen(function*() {
        const th = yield* AdaptiveThrottle.make({ window: "1 millis", k: ratioForAccepts })
        let got = ""
        for (const response of responses) {
          if (response !== "E") {
            const exit = yield* respond(th, response)
            // every response reached the backend
            expect(rejectedLocally(exit)).toBe(false)
          }
          got += (yield* shouldThrottle(th)) ? "y" : "n"
        }
        // padding 1 instead of 8: the second throttled response already puts the probability above one half
        // (2 / 3), and the locally throttled probes, counted as requests, keep it there through the six accepts
        expect(got).toBe(want)
        expect(yield* th.snapshot).toMatchObject({ requests: 37, accepts: 6 })
      }).pipe(Effect.withRandom(Random.fixed([0.999999, 0.5]))))
  }

  it.effect("TestParallel", () =>
    Effect.gen(function*() {
      // the defaults: a 2-minute window (grpc-go: 30 seconds), k 2
      const th = yield* AdaptiveThrottle.make()
      const perFiber = yield* Effect.forEach(
        Array.from({ length: 10 }, (_, n) => n),
        () =>
          Effect.gen(function*() {
            let accept = 0
            let throttle = 0
            for (let i = 0; i < 1000; i++) {
              if (i % 2 === 0) {
                yield* respond(th, "T")
                throttle++
              } else {
                yield* respond(th, "A")
                accept++
              }
              yield* Effect.yieldNow()
            }
            return [accept, throttle] as const
          }),
        { concurrency: "unbounded" }
      )
      const wantAccepts = perFiber.reduce((sum, [a]) => sum + a, 0)
      const wantThrottles = perFiber.reduce((sum, [, t]) => sum + t, 0)
      expect(yield* stats(th)).toEqual([wantAccepts, wantThrottles])
      expect(wantAccepts + wantThrottles).toBe(10_000)
    }).pipe(Effect.withRandom(Random.fixed([0.999999]))))
})

describe("aegis sre_test.go", () => {
  // getSREBreaker: k 2, a rolling counter of 10 buckets of 100 ms
  const getSREBreaker = () => AdaptiveThrottle.make({ k: 2, window: "1 second" })
  const mark = (b: AdaptiveThrottle.AdaptiveThrottle, response: "A" | "T", count: number) =>
    Effect.repeatN(respond(b, response), count - 1)
  const markWithDuration = (b: AdaptiveThrottle.AdaptiveThrottle, response: "A" | "T", count: number) =>
    Effect.repeatN(Effect.zipRight(respond(b, response), TestClock.adjust("50 millis")), count - 1)
  // Allow() == nil: the probe was let through; the draws are seeded
  const allow = (b: AdaptiveThrottle.AdaptiveThrottle) => Effect.map(shouldThrottle(b), (throttled) => !throttled)
  const seeded = Effect.withRandom(Random.make(42))

  it.effect("TestSRE testSREClose", () =>
    Effect.gen(function*() {
      const b = yield* getSREBreaker()
      yield* mark(b, "A", 80)
      expect(yield* allow(b)).toBe(true)
      yield* mark(b, "A", 120)
      expect(yield* allow(b)).toBe(true)
    }).pipe(seeded))

  it.effect("TestSRE testSREOpen", () =>
    Effect.gen(function*() {
      const b = yield* getSREBreaker()
      yield* mark(b, "A", 100)
      expect(yield* allow(b)).toBe(true)
      yield* mark(b, "T", 10_000)
      expect((yield* b.snapshot).rejectProbability).toBeGreaterThan(0.98)
      expect(yield* allow(b)).toBe(false)
    }).pipe(seeded))

  it.effect("TestSRE testSREHalfOpen", () =>
    Effect.gen(function*() {
      const b = yield* getSREBreaker()
      // failback
      expect(yield* allow(b)).toBe(true)
      // allow single failed
      yield* mark(b, "T", 10_000)
      expect(yield* allow(b)).toBe(false)
      yield* TestClock.adjust("2 seconds")
      // allow single succeed
      expect(yield* allow(b)).toBe(true)
      yield* mark(b, "A", 10_000)
      expect(yield* allow(b)).toBe(true)
    }).pipe(seeded))

  it.effect("TestSRESelfProtection total request < 100", () =>
    Effect.gen(function*() {
      const b = yield* getSREBreaker()
      yield* mark(b, "T", 99)
      // aegis lets every call through below 100 requests; Sturdy applies the formula from the first: 99 / 100
      const { rejectProbability } = yield* b.snapshot
      expect(rejectProbability).toBeCloseTo(0.99, 10)
      expect(yield* allow(b).pipe(Effect.withRandom(Random.fixed([0.5])))).toBe(false)
    }).pipe(seeded))

  it.effect("TestSRESelfProtection total request > 100, total < 2 * success", () =>
    Effect.gen(function*() {
      const b = yield* getSREBreaker()
      const size = 1000
      const succ = size + 1
      yield* mark(b, "A", succ)
      // markFailed(size − succ) marks nothing (a negative count)
      expect(yield* allow(b)).toBe(true)
      expect((yield* b.snapshot).rejectProbability).toBe(0)
    }).pipe(seeded))

  it.effect("TestSRESummary succ == total", () =>
    Effect.gen(function*() {
      const b = yield* getSREBreaker()
      yield* markWithDuration(b, "A", 10)
      expect(yield* b.snapshot).toMatchObject({ accepts: 10, requests: 10 })
    }).pipe(seeded))

  it.effect("TestSRESummary fail == total", () =>
    Effect.gen(function*() {
      const b = yield* getSREBreaker()
      yield* markWithDuration(b, "T", 10)
      expect(yield* b.snapshot).toMatchObject({ accepts: 0, requests: 10 })
    }).pipe(seeded))

  it.effect("TestSRESummary succ = 1/2 * total, fail = 1/2 * total, then auto reset rolling counter", () =>
    Effect.gen(function*() {
      const b = yield* getSREBreaker()
      yield* markWithDuration(b, "T", 5)
      // the failures put the probability above 0 (aegis would not throttle below 100 requests): the draws are
      // such that each success still reaches the backend
      yield* markWithDuration(b, "A", 5).pipe(Effect.withRandom(Random.fixed([0.999999])))
      expect(yield* b.snapshot).toMatchObject({ accepts: 5, requests: 10 })
      // auto reset rolling counter
      yield* TestClock.adjust("1 second")
      expect(yield* b.snapshot).toEqual({ accepts: 0, requests: 0, rejectProbability: 0 })
    }).pipe(seeded))
})
