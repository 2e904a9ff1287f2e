// Ported from tower's tower/tests/limit/rate.rs (tower-rs/tower, commit 8358ee712c4050650737e361fba242aa8c798ce2), one
// `it` per case, named after it.
// Mapping: `RateLimitLayer::new(num, per)` is `RateLimit.make({ limit: num, window: per })` and a service behind it is
// `withRateLimit(limiter, key)` around a mock upstream that answers each request as the test's `send_response` does.
// tower's limiter is a fixed window opened by the first call after the previous one ended; every case runs on both of
// Sturdy's algorithms ("fixed-window" and the default "token-bucket"), and in both modes: `poll_ready()` returning
// `Pending` is, in mode "delay", a call that waits without reaching the upstream (it is sent when tower's sleep ends),
// and in mode "fail", a `consume` that fails with `RateLimitExceeded` whose `retryAfter` is that sleep; `Ready` is a
// call that reaches the upstream at once. tokio's paused time is the TestClock.
// Deliberate differences: none seen. (tower's `call` without a `poll_ready` first panics; Sturdy has no separate
// readiness step.)
// Not ported: none of rate.rs's cases is left out. tower/src/limit/rate/*.rs hold no unit tests at this commit.
import { describe, expect, it } from "@effect/vitest"
import * as RateLimit from "@sturdy/policy/RateLimit"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"

const key = "svc"
const settle = Effect.repeatN(Effect.yieldNow(), 20)
const advance = (millis: number) => Effect.zipRight(TestClock.adjust(Duration.millis(millis)), settle)

type Algorithm = "fixed-window" | "token-bucket"
type Mode = "delay" | "fail"

// tower's `mock::spawn_layer(RateLimitLayer::new(num, per))`: `handle` is what reached the upstream, and when
const spawnLayer = (num: number, perMillis: number, algorithm: Algorithm, onExceeded: Mode) =>
  Effect.gen(function*() {
    const limiter = yield* RateLimit.make({ limit: num, window: Duration.millis(perMillis), algorithm, onExceeded })
    const handle: Array<readonly [string, number]> = []
    const responses: Record<string, string> = { hello: "world", two: "done" }
    const call = (req: string) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.sync(() => {
          handle.push([req, now])
          return responses[req]!
        })).pipe(RateLimit.withRateLimit(limiter, key))
    // `assert_pending!(service.poll_ready())`: how the limiter turns the next call away, with `call(next)` for mode
    // "delay" (the waiting call, `undefined` in mode "fail")
    const pollPending = (next: string, retryAfterMillis: number) =>
      Effect.gen(function*() {
        if (onExceeded === "fail") {
          const exit = yield* Effect.exit(limiter.consume(key))
          expect(exit).toEqual(
            Exit.fail(
              new RateLimit.RateLimitExceeded({ key, reason: "Limit", retryAfter: Duration.millis(retryAfterMillis) })
            )
          )
          return undefined
        }
        const before = handle.length
        const fiber = yield* Effect.fork(call(next))
        yield* settle
        expect(yield* Fiber.poll(fiber)).toEqual(Option.none())
        expect(handle).toHaveLength(before)
        return fiber
      })
    // `assert_ready_ok!(service.poll_ready())` then `service.call(req)`: the call reaches the upstream at once (mode
    // "delay": the one that waited, now sent)
    const readyCall = (req: string, waiting: Fiber.RuntimeFiber<string, unknown> | undefined) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        if (waiting === undefined) {
          const fiber = yield* Effect.fork(call(req))
          yield* settle
          const done = yield* Fiber.poll(fiber)
          expect(Option.isSome(done)).toBe(true)
          expect(handle.at(-1)).toEqual([req, now])
          return yield* Fiber.join(fiber)
        }
        return yield* Fiber.join(waiting)
      })
    return { handle, call, pollPending, readyCall }
  })

const cases: Array<[Algorithm, Mode]> = [
  ["fixed-window", "delay"],
  ["fixed-window", "fail"],
  ["token-bucket", "delay"],
  ["token-bucket", "fail"]
]

describe.each(cases)("peer tower limit/rate.rs (%s, mode %s)", (algorithm, mode) => {
  it.effect("reaching_capacity", () =>
    Effect.gen(function*() {
      const service = yield* spawnLayer(1, 100, algorithm, mode)

      expect(yield* service.readyCall("hello", undefined)).toBe("world")

      const waiting = yield* service.pollPending("two", 100)
      expect(service.handle.map(([req]) => req)).toEqual(["hello"])

      yield* advance(101)

      expect(yield* service.readyCall("two", waiting)).toBe("done")
      // tower's sleep ends 100 ms after the first call: a waiting call is sent then
      expect(service.handle).toEqual([["hello", 0], ["two", mode === "delay" ? 100 : 101]])
    }).pipe(Effect.provide(RateLimit.layerStoreMemory)))

  // "This test checks for the case where the `until` state gets reset but the `rem` does not."
  it.effect("remaining_gets_reset", () =>
    Effect.gen(function*() {
      const service = yield* spawnLayer(3, 100, algorithm, mode)

      expect(yield* service.readyCall("hello", undefined)).toBe("world")

      yield* advance(100)

      expect(yield* service.readyCall("hello", undefined)).toBe("world")
      expect(yield* service.readyCall("hello", undefined)).toBe("world")

      // `assert_ready_ok!(service.poll_ready())`: a third call of this window goes at once
      expect(yield* service.readyCall("hello", undefined)).toBe("world")
      expect(service.handle).toEqual([["hello", 0], ["hello", 100], ["hello", 100], ["hello", 100]])
    }).pipe(Effect.provide(RateLimit.layerStoreMemory)))
})
