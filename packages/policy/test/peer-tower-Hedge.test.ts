// Ported from tower's tower/tests/hedge/main.rs (tower-rs/tower, commit 8358ee712c4050650737e361fba242aa8c798ce2),
// one `it` per case, named after it.
// Mapping: tower's `Hedge::new_with_mock_latencies(service, policy, min_data_points 10, latency_percentile 0.9,
// period 60 s, [1, 1, 1, 1, 1, 1, 1, 1, 10, 10])` is `Hedge.hedge` with `maxHedges: 1` (tower sends one hedge) and a
// `Hedge.percentile({ quantile: 0.9, minSamples: 10 })` delay over a `LatencyTracker` into which the ten latencies
// were recorded (p90 of them is 10 ms, the delay tower reads from its histogram). Below `min_data_points` tower sends
// no hedge at all: that is a `fallback` of `Duration.infinity`. The mock service is a copy answered by the test
// (`utils/hedgeCopies.ts`); `assert_request_eq!(handle, req)` is the request each copy was started with.
// `TestPolicy::can_retry` (asked when the delay has passed) and `clone_request` (asked when the call starts) are
// `enabled`: a request that is not retryable or cannot be cloned is run as it is, nothing forked. tokio's paused time
// is the TestClock (completes_before_hedge does not pause tokio's clock; the TestClock only moves when told).
// Deliberate differences (each test says which): the losing copy is interrupted (tower drops its future, which in
// Rust is the same); Sturdy records the call's latency from the first copy's start, not each copy's own (see
// `Hedge.percentile`'s docs).
// Not ported: none of main.rs's cases is left out. tower/src/hedge/*.rs (delay, latency, rotating_histogram,
// select) hold no unit tests at this commit. tower's rotating histogram forgets latencies older than two periods;
// Sturdy's tracker keeps the last `samples` latencies whatever their age: nothing in the suite tests either.
import { describe, expect, it } from "@effect/vitest"
import * as Hedge from "@sturdy/policy/Hedge"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { makeCopies, settle } from "./utils/hedgeCopies.js"

type Req = string
type Res = string

const NOT_RETRYABLE = "NOT_RETRYABLE"
const NOT_CLONABLE = "NOT_CLONABLE"

// tower's TestPolicy
const TestPolicy = {
  canRetry: (req: Req) => req !== NOT_RETRYABLE,
  cloneRequest: (req: Req): Req | undefined => (req === NOT_CLONABLE ? undefined : req)
}

const key = "svc"

// tower's new_service: the hedge over a mock whose copies the test answers, the tracker warmed with the mock latencies
const newService = (policy: typeof TestPolicy) =>
  Effect.gen(function*() {
    const tracker = Hedge.unsafeMakeLatencyTracker()
    const mockLatencies = [1, 1, 1, 1, 1, 1, 1, 1, 10, 10]
    for (const latency of mockLatencies) yield* tracker.record(key, Duration.millis(latency))
    const delay = Hedge.percentile({ tracker, key, quantile: 0.9, minSamples: 10, fallback: Duration.infinity })
    const handle = makeCopies<Res, never>()
    const requests: Array<Req> = []
    const call = (req: Req) =>
      Effect.zipRight(Effect.sync(() => requests.push(req)), handle.call).pipe(
        Hedge.hedge({
          delay,
          maxHedges: 1,
          enabled: policy.canRetry(req) && policy.cloneRequest(req) !== undefined
        })
      )
    return { tracker, handle, requests, call }
  })

const spawn = <A, E>(effect: Effect.Effect<A, E>) => Effect.tap(Effect.fork(effect), () => settle)
const advance = (millis: number) => Effect.zipRight(TestClock.adjust(millis), settle)

describe("peer tower hedge/main.rs", () => {
  it.effect("hedge_orig_completes_first", () =>
    Effect.gen(function*() {
      const { handle, requests, call, tracker } = yield* newService(TestPolicy)
      // tower reads p90 of the mock latencies as the hedge delay
      expect(yield* tracker.quantile(key, 0.9)).toEqual(Option.some(Duration.millis(10)))
      const fut = yield* spawn(call("orig"))
      // Check that orig request has been issued.
      expect(requests).toEqual(["orig"])
      // Check fut is not ready.
      expect(yield* Fiber.poll(fut)).toEqual(Option.none())
      // Check hedge has not been issued.
      expect(handle.copies).toHaveLength(1)
      yield* advance(11)
      // Check fut is not ready.
      expect(yield* Fiber.poll(fut)).toEqual(Option.none())
      // Check that the hedge has been issued (tower's timer fires at 10 ms).
      expect(requests).toEqual(["orig", "orig"])
      expect(handle.starts()).toEqual([[0, 0], [1, 10]])
      yield* handle.succeed(0, "orig-done")
      // Check that fut gets orig response.
      expect(yield* Fiber.join(fut)).toBe("orig-done")
      // the hedge lost: tower drops its future, Sturdy interrupts it
      expect(handle.ends()).toEqual([[0, "done"], [1, "interrupted"]])
      // the original's latency is recorded, as tower's Latency layer records it
      expect(yield* tracker.count(key)).toBe(11)
      expect(yield* tracker.quantile(key, 1)).toEqual(Option.some(Duration.millis(11)))
    }))

  it.effect("hedge_hedge_completes_first", () =>
    Effect.gen(function*() {
      const { call, handle, requests, tracker } = yield* newService(TestPolicy)
      const fut = yield* spawn(call("orig"))
      // Check that orig request has been issued.
      expect(requests).toEqual(["orig"])
      // Check fut is not ready.
      expect(yield* Fiber.poll(fut)).toEqual(Option.none())
      // Check hedge has not been issued.
      expect(handle.copies).toHaveLength(1)
      yield* advance(11)
      // Check fut is not ready.
      expect(yield* Fiber.poll(fut)).toEqual(Option.none())
      // Check that the hedge has been issued.
      expect(requests).toEqual(["orig", "orig"])
      yield* handle.succeed(1, "hedge-done")
      // Check that fut gets hedge response.
      expect(yield* Fiber.join(fut)).toBe("hedge-done")
      expect(handle.ends()).toEqual([[0, "interrupted"], [1, "done"]])
      // tower records the winning hedge's own latency; Sturdy the call's, from the original's start (11 ms)
      expect(yield* tracker.quantile(key, 1)).toEqual(Option.some(Duration.millis(11)))
    }))

  it.effect("completes_before_hedge", () =>
    Effect.gen(function*() {
      const { handle, requests, call } = yield* newService(TestPolicy)
      const fut = yield* spawn(call("orig"))
      // Check that orig request has been issued.
      expect(requests).toEqual(["orig"])
      // Check fut is not ready.
      expect(yield* Fiber.poll(fut)).toEqual(Option.none())
      yield* handle.succeed(0, "orig-done")
      // Check hedge has not been issued.
      expect(handle.copies).toHaveLength(1)
      // Check that fut gets orig response.
      expect(yield* Fiber.join(fut)).toBe("orig-done")
      // nor is one issued later
      yield* advance(60_000)
      expect(requests).toEqual(["orig"])
    }))

  it.effect("request_not_retyable", () =>
    Effect.gen(function*() {
      const { handle, requests, call } = yield* newService(TestPolicy)
      const fut = yield* spawn(call(NOT_RETRYABLE))
      // Check that orig request has been issued.
      expect(requests).toEqual([NOT_RETRYABLE])
      // Check fut is not ready.
      expect(yield* Fiber.poll(fut)).toEqual(Option.none())
      // Check hedge has not been issued.
      expect(handle.copies).toHaveLength(1)
      yield* advance(10)
      // Check fut is not ready.
      expect(yield* Fiber.poll(fut)).toEqual(Option.none())
      // Check hedge has not been issued.
      expect(handle.copies).toHaveLength(1)
      yield* handle.succeed(0, "orig-done")
      // Check that fut gets orig response.
      expect(yield* Fiber.join(fut)).toBe("orig-done")
      expect(requests).toEqual([NOT_RETRYABLE])
    }))

  it.effect("request_not_clonable", () =>
    Effect.gen(function*() {
      const { handle, requests, call } = yield* newService(TestPolicy)
      const fut = yield* spawn(call(NOT_CLONABLE))
      // Check that orig request has been issued.
      expect(requests).toEqual([NOT_CLONABLE])
      // Check fut is not ready.
      expect(yield* Fiber.poll(fut)).toEqual(Option.none())
      // Check hedge has not been issued.
      expect(handle.copies).toHaveLength(1)
      yield* advance(10)
      // Check fut is not ready.
      expect(yield* Fiber.poll(fut)).toEqual(Option.none())
      // Check hedge has not been issued.
      expect(handle.copies).toHaveLength(1)
      yield* handle.succeed(0, "orig-done")
      // Check that fut gets orig response.
      expect(yield* Fiber.join(fut)).toBe("orig-done")
      expect(requests).toEqual([NOT_CLONABLE])
    }))
})
