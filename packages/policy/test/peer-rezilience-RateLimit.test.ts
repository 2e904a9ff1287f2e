// Ported from rezilience's rezilience/shared/src/test/scala/nl/vroste/rezilience/RateLimiterSpec.scala
// (svroonland/rezilience, commit caa1642e8e7be29bf7c54715202f3ceff43eb07a), one `it` per rezilience case, named after it.
// Mapping: `RateLimiter.make(max, interval)` (a token bucket of `max` tokens, refilled one every `interval / max`,
// that delays calls) is `RateLimit.make({ limit: max, window: interval })` (its defaults: "token-bucket", "delay") on
// `RateLimit.layerStoreMemory`; `rl(f)` is `RateLimit.withRateLimit(f, limiter, key)`; `Clock.instant` is
// `Clock.currentTimeMillis` (the TestClock starts at the epoch, so `Instant.ofEpochSecond(2)` is 2000); `Promise` is
// `Deferred`, `Ref` a local counter, `foreachPar` `Effect.forEach` with unbounded concurrency.
// Deliberate differences: none found. (rezilience passes a call to its task through a stream; Sturdy's limiter takes a
// token and then runs the call in the caller's fiber: the cases hold the same.)
// Not ported: the `nonFlaky`/`timeout`/`diagnose` aspects (each case runs once, deterministically, on the TestClock).
import { describe, expect, it } from "@effect/vitest"
import { RateLimit } from "@sturdy/policy"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"

const memory = Effect.provide(RateLimit.layerStoreMemory)

// rezilience's RateLimiter.make(max, interval = 1.second), and `rl(f)`
const make = (max: number) =>
  Effect.map(
    RateLimit.make({ limit: max, window: "1 second" }),
    (limiter) => <A, E, R>(self: Effect.Effect<A, E, R>) => RateLimit.withRateLimit(self, limiter, "rezilience")
  )

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1)

describe("peer rezilience RateLimiterSpec", () => {
  it.effect("execute up to max calls immediately", () =>
    Effect.gen(function*() {
      const rl = yield* make(10)
      const now = yield* Clock.currentTimeMillis
      const times = yield* Effect.forEach(range(10), () => rl(Clock.currentTimeMillis))
      expect(times).toEqual(range(10).map(() => now))
    }).pipe(memory))

  it.effect("is not affected by stream chunk size", () =>
    Effect.gen(function*() {
      const rl = yield* make(10)
      const now = yield* Clock.currentTimeMillis
      const times1 = yield* Effect.forEach(range(5), () => rl(Clock.currentTimeMillis), { concurrency: "unbounded" })
      const secondCallFib = yield* Effect.forEach(range(15), () => Effect.fork(rl(Clock.currentTimeMillis)), {
        concurrency: "unbounded"
      })
      yield* TestClock.adjust("1 second")
      const times2 = yield* Effect.forEach(secondCallFib, Fiber.join)
      const times = [...times1, ...times2]
      expect(times.filter((t) => t === now).length).toBe(10)
    }).pipe(memory))

  it.effect("succeed with the result of the call", () =>
    Effect.gen(function*() {
      const rl = yield* make(10)
      expect(yield* rl(Effect.succeed(3))).toBe(3)
    }).pipe(memory))

  it.effect("fail with the result of a failed call", () =>
    Effect.gen(function*() {
      const rl = yield* make(10)
      const result = yield* Effect.either(rl(Effect.fail(Option.none())))
      expect(result).toEqual(Either.left(Option.none()))
    }).pipe(memory))

  it.effect("continue after a failed call", () =>
    Effect.gen(function*() {
      const rl = yield* make(10)
      yield* Effect.either(rl(Effect.fail(Option.none())))
      expect(yield* rl(Effect.succeed(3))).toBe(3)
    }).pipe(memory))

  it.effect("holds back up calls after the max", () =>
    Effect.gen(function*() {
      const rl = yield* make(10)
      const now = yield* Clock.currentTimeMillis
      const fib = yield* Effect.fork(Effect.forEach(range(20), () => rl(Clock.currentTimeMillis)))
      yield* TestClock.adjust("1 second")
      const later = yield* Clock.currentTimeMillis
      const times = yield* Fiber.join(fib)
      expect(times.slice(0, 10).every((t) => t === now)).toBe(true)
      expect(times.slice(10).every((t) => t > now && t <= later)).toBe(true)
    }).pipe(memory))

  it.effect("will interrupt the effect when a call is interrupted", () =>
    Effect.gen(function*() {
      const rl = yield* make(10)
      const latch = yield* Deferred.make<void>()
      const interrupted = yield* Deferred.make<void>()
      const fib = yield* Effect.fork(
        rl(
          Effect.zipRight(Deferred.succeed(latch, undefined), Effect.never).pipe(
            Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined))
          )
        )
      )
      yield* Deferred.await(latch)
      yield* Fiber.interrupt(fib)
      yield* Deferred.await(interrupted)
      expect(yield* Deferred.isDone(interrupted)).toBe(true)
    }).pipe(memory))

  it.effect("will not start execution of an effect when it is interrupted before getting its turn to execute", () =>
    Effect.gen(function*() {
      const rl = yield* make(1)
      let count = 0
      yield* rl(Effect.void)
      const fib = yield* Effect.fork(rl(Effect.sync(() => (count = 1))))
      const interruption = yield* Effect.fork(Fiber.interrupt(fib))
      yield* Fiber.join(interruption)
      expect(count).toBe(0)
    }).pipe(memory))

  it.effect("will wait for interruption to complete of an effect that is already executing", () =>
    Effect.gen(function*() {
      const rl = yield* make(1)
      const latch = yield* Deferred.make<void>()
      let effectInterrupted = 0
      const fib = yield* Effect.fork(
        rl(
          Effect.zipRight(Deferred.succeed(latch, undefined), Effect.never).pipe(
            Effect.onInterrupt(() => Effect.sync(() => (effectInterrupted = 1)))
          )
        )
      )
      yield* Deferred.await(latch)
      yield* Fiber.interrupt(fib)
      expect(effectInterrupted).toBe(1)
    }).pipe(memory))

  it.effect("will make effects wait for interrupted effects to pass through the rate limiter", () =>
    Effect.gen(function*() {
      const rl = yield* make(1)
      yield* rl(Effect.void) // execute one
      const f1 = yield* Effect.fork(rl(Effect.void))
      yield* TestClock.adjust("1 second") // the second call has had its turn before we interrupt it
      yield* Fiber.interrupt(f1)

      // this one has to wait 1 second
      const fib = yield* Effect.fork(rl(Clock.currentTimeMillis))
      yield* TestClock.adjust("1 second")
      const lastExecutionTime = yield* Fiber.join(fib)
      expect(lastExecutionTime).toBe(2_000)
    }).pipe(memory))

  it.effect("will not include interrupted effects in the throttling", () =>
    Effect.gen(function*() {
      const rate = 10
      const rl = yield* make(rate)
      const latch = yield* Deferred.make<void>()
      const continue_ = yield* Deferred.make<void>()
      let latched = 0
      yield* Effect.replicateEffect(
        Effect.fork(rl(
          Effect.zipRight(
            Effect.suspend(() => ++latched === rate ? Deferred.succeed(latch, undefined) : Effect.void),
            Deferred.await(continue_)
          )
        )),
        rate
      )
      yield* Deferred.await(latch)
      // now we have 10 in progress; submit another bunch, and interrupt them
      const fibers = yield* Effect.replicateEffect(Effect.fork(rl(Effect.void)), 1000)
      yield* Fiber.interruptAll(fibers)
      const f1 = yield* Effect.fork(rl(Clock.currentTimeMillis))
      yield* TestClock.adjust("1 second") // new tokens become available from the bucket
      const ranAt = yield* Fiber.join(f1)
      // the interrupted callers gave their slots back: the call takes the next token, due 100 ms in
      expect(ranAt).toBe(100)
      yield* Deferred.succeed(continue_, undefined)
    }).pipe(memory))
})
