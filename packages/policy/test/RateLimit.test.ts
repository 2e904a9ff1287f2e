import * as ExperimentalRateLimiter from "@effect/experimental/RateLimiter"
import { describe, expect, it } from "@effect/vitest"
import { Deadline, RateLimit } from "@sturdy/policy"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Ref from "effect/Ref"
import * as TestClock from "effect/TestClock"
import { pauseStatsOf } from "../src/internal/rateLimit.js"
import { advanceToDone } from "./utils/advance.js"
import { interruptedWhileMasked } from "./utils/heldInterruption.js"
import { defectOf } from "./utils/hostile.js"
import { makeManualClock } from "./utils/manualClock.js"
import { noLeftoverFibers } from "./utils/noLeftoverFibers.js"

const memory = Effect.provide(RateLimit.layerStoreMemory)

// the heap in use after collecting garbage (the tests run with --expose-gc)
const heapMB = (): number => {
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  gc?.()
  return process.memoryUsage().heapUsed / 1024 / 1024
}

describe("RateLimit", () => {
  it.effect("a fixed window of k calls ends k × window / limit after its first call, then a fresh one starts", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimit.make({
        limit: 10,
        window: "1 second",
        algorithm: "fixed-window",
        onExceeded: "fail"
      })
      const take = Effect.exit(limiter.consume("k"))
      expect(yield* take).toEqual(Exit.void)
      yield* TestClock.adjust("99 millis")
      // one call's window lasts a tenth of the window: at 99 ms it is still running, with 9 slots left
      for (let i = 0; i < 9; i++) expect(yield* take).toEqual(Exit.void)
      const refused = yield* take
      expect(Exit.isFailure(refused)).toBe(true)
      // the full window ends 1 s after its start, whatever the calls' times in it
      yield* TestClock.adjust("900 millis")
      expect(Exit.isFailure(yield* take)).toBe(true)
      yield* TestClock.adjust("1 millis")
      // after one call, a fresh window at 100 ms: 1 + 10 calls within the first second (2 × limit − 1 at most)
      expect(yield* Effect.exit(limiter.consume("j"))).toEqual(Exit.void)
      yield* TestClock.adjust("100 millis")
      for (let i = 0; i < 10; i++) expect(yield* Effect.exit(limiter.consume("j"))).toEqual(Exit.void)
      expect(Exit.isFailure(yield* Effect.exit(limiter.consume("j")))).toBe(true)
    }).pipe(memory))

  it.effect("a wait longer than a timer holds (a monthly quota, a long server pause) is waited out", () =>
    Effect.gen(function*() {
      // Effect's live Clock sets no timer for a sleep over 2^31 − 1 ms (about 24.8 days): one such sleep never woke
      const limiter = yield* RateLimit.make({ limit: 1, window: "30 days" })
      const longestSleep = (effect: Effect.Effect<number, unknown>) =>
        Effect.gen(function*() {
          const ahead: Array<number> = []
          const exit = yield* advanceToDone(effect, 10_000, (sleeps) => ahead.push(...sleeps))
          return { exit, longest: Math.max(...ahead) }
        })
      yield* limiter.consume("monthly")
      const quota = yield* longestSleep(Effect.zipRight(limiter.consume("monthly"), Clock.currentTimeMillis))
      expect(quota.exit).toEqual(Exit.succeed(Duration.toMillis(Duration.days(30))))
      expect(quota.longest).toBeLessThanOrEqual(Deadline.maxTimerMillis)
      yield* limiter.pauseFor("paused", "40 days")
      const start = yield* Clock.currentTimeMillis
      const paused = yield* longestSleep(Effect.zipRight(limiter.consume("paused"), Clock.currentTimeMillis))
      expect(paused.exit).toEqual(Exit.succeed(start + Duration.toMillis(Duration.days(40))))
      expect(paused.longest).toBeLessThanOrEqual(Deadline.maxTimerMillis)
    }).pipe(memory))

  it.effect("fail mode: the call beyond the limit fails with retryAfter, and succeeds once a slot refills", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimit.make({ limit: 2, window: "1 second", onExceeded: "fail" })
      yield* limiter.consume("api")
      yield* limiter.consume("api")
      const error = yield* Effect.flip(limiter.consume("api"))
      expect(error).toBeInstanceOf(RateLimit.RateLimitExceeded)
      expect(error).toMatchObject({ key: "api", reason: "Limit" })
      expect(error._tag === "RateLimitExceeded" && Duration.toMillis(error.retryAfter)).toBe(500)
      // another key has its own slots
      yield* limiter.consume("other")
      yield* TestClock.adjust("500 millis")
      yield* limiter.consume("api")
    }).pipe(memory))

  // tower's rate tests (7 per second): a window's share of a refill interval that does not divide into whole
  // nanoseconds is rounded, sometimes up (1 s / 7 is 142,857,143 ns), and the calls of a full window then came back
  // 1 ms late: at exactly one window after a burst the store still read the window as running. At today's epoch the
  // float noise of a window's end also made a call within the limit wait 1 ms in mode "delay".
  it.effect("a whole window after a burst, a full window of calls is granted again, whatever the limit", () =>
    Effect.gen(function*() {
      const late: Array<string> = []
      // near 0 and near today's epoch milliseconds, where one ulp of a float millisecond is 2.4e-4 ms
      for (const epoch of [0, 1_764_892_800_000]) {
        yield* TestClock.setTime(epoch)
        for (const window of [100, 1_000, 60_000]) {
          for (let limit = 1; limit <= 40; limit++) {
            for (const algorithm of ["token-bucket", "fixed-window"] as const) {
              for (const onExceeded of ["fail", "delay"] as const) {
                const options = { limit, window: Duration.millis(window), algorithm }
                const limiter = yield* RateLimit.make({ ...options, onExceeded })
                const key = `${limit}/${window} ${algorithm} ${onExceeded} from ${epoch}`
                // a window's calls at once: in mode "delay" none may wait, in mode "fail" none may fail
                const burst = (label: string) =>
                  Effect.gen(function*() {
                    const fiber = yield* Effect.fork(
                      Effect.forEach(Array.from({ length: limit }), () => limiter.consume(key))
                    )
                    yield* TestClock.adjust(0)
                    const exit = yield* Fiber.poll(fiber)
                    if (Option.isNone(exit) || Exit.isFailure(exit.value)) {
                      late.push(`${key}: ${label}`)
                      yield* Fiber.interrupt(fiber)
                    }
                  })
                const start = yield* Clock.currentTimeMillis
                yield* burst("first window")
                // never more than the limit within the window
                const refusing = yield* RateLimit.make({ ...options, onExceeded: "fail" })
                expect([key, (yield* Effect.either(refusing.consume(key)))._tag]).toEqual([key, "Left"])
                yield* TestClock.adjust(Duration.millis(window))
                yield* burst("next window")
                expect((yield* Clock.currentTimeMillis) - start).toBe(window)
              }
            }
          }
        }
      }
      expect(late).toEqual([])
    }).pipe(memory))

  // Polly's token-bucket specs ("Given_any_bucket_capacity_ratelimiter_permits_another_execution_per_interval"): a
  // caller one millisecond short of the interval is told to wait one millisecond, not a whole interval.
  // x/time/rate's TestLimiterJumpBackwards: a wall clock set back (an NTP step) must not stall the refill until the
  // clock catches up with where it was
  it.effect("a clock set back does not stall the refill of a token bucket or a fixed window", () =>
    Effect.gen(function*() {
      for (const algorithm of ["token-bucket", "fixed-window"] as const) {
        const limiter = yield* RateLimit.make({ limit: 1, window: "1 second", algorithm, onExceeded: "fail" })
        yield* TestClock.setTime(3_600_000)
        yield* limiter.consume(algorithm)
        yield* TestClock.setTime(0) // an hour back
        const error = yield* Effect.flip(limiter.consume(algorithm))
        expect([algorithm, error._tag === "RateLimitExceeded" && Duration.toMillis(error.retryAfter)]).toEqual([
          algorithm,
          1_000
        ])
        yield* TestClock.adjust("1 second")
        yield* limiter.consume(algorithm)
      }
    }).pipe(memory))

  it.effect("a caller short of a token waits until the token is due, not a whole refill interval from now", () =>
    Effect.gen(function*() {
      const failing = yield* RateLimit.make({ limit: 1, window: "1 minute", onExceeded: "fail" })
      yield* failing.consume("api")
      yield* TestClock.adjust("59 seconds")
      const error = yield* Effect.flip(failing.consume("api"))
      expect(error._tag === "RateLimitExceeded" && Duration.toMillis(error.retryAfter)).toBe(1_000)
      yield* TestClock.adjust("999 millis")
      const late = yield* Effect.flip(failing.consume("api"))
      expect(late._tag === "RateLimitExceeded" && Duration.toMillis(late.retryAfter)).toBe(1)
      yield* TestClock.adjust("1 millis")
      yield* failing.consume("api")

      const waiting = yield* RateLimit.make({ limit: 2, window: "1 minute" })
      yield* waiting.consume("other")
      yield* waiting.consume("other")
      yield* TestClock.adjust("20 seconds")
      // the next token is due 10 s from now, the one after 40 s from now
      const first = yield* Effect.fork(waiting.consume("other"))
      const second = yield* Effect.fork(waiting.consume("other"))
      yield* TestClock.adjust("10 seconds")
      expect(Option.isSome(yield* Fiber.poll(first))).toBe(true)
      expect(Option.isNone(yield* Fiber.poll(second))).toBe(true)
      yield* TestClock.adjust("30 seconds")
      expect(Option.isSome(yield* Fiber.poll(second))).toBe(true)
    }).pipe(memory))

  // throttled's TestRateLimit, case 14: a bucket full again refills nothing, so the part of a next token that passed
  // while it was full does not bring the next token forward, whether or not another key made the store drop it
  it.effect("a bucket full again restarts its refill from its next call, whether it was dropped or not", () =>
    Effect.gen(function*() {
      for (const otherKey of [false, true]) {
        const limiter = yield* RateLimit.make({ limit: 5, window: "5 seconds", onExceeded: "fail" }).pipe(
          Effect.provideService(RateLimit.RateLimiterStore, RateLimit.makeStoreMemory())
        )
        yield* TestClock.setTime(0)
        yield* limiter.consume("api", 5)
        // full again at 5 s; at 5.5 s (half a refill interval on), another key may make the store drop it
        yield* TestClock.setTime(5_500)
        if (otherKey) yield* limiter.consume("other")
        yield* limiter.consume("api", 3)
        const error = yield* Effect.flip(limiter.consume("api", 5))
        // three tokens short, refilled from 5.5 s: due at 8.5 s, not at 8 s
        expect([otherKey, error._tag === "RateLimitExceeded" && Duration.toMillis(error.retryAfter)]).toEqual([
          otherKey,
          3_000
        ])
        yield* TestClock.setTime(8_000)
        expect([otherKey, (yield* Effect.flip(limiter.consume("api", 5)))._tag]).toEqual([
          otherKey,
          "RateLimitExceeded"
        ])
        yield* TestClock.setTime(8_500)
        yield* limiter.consume("api", 5)
      }
    }))

  it.effect("delay mode: the call beyond the limit waits for its slot", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimit.make({ limit: 2, window: "1 second" })
      const calls = yield* Ref.make(0)
      const call = Ref.update(calls, (n) => n + 1).pipe(RateLimit.withRateLimit(limiter, "api"))
      const fiber = yield* Effect.fork(Effect.all([call, call, call, call]))
      yield* Effect.yieldNow()
      expect(yield* Ref.get(calls)).toBe(2)
      yield* TestClock.adjust("500 millis")
      expect(yield* Ref.get(calls)).toBe(3)
      yield* TestClock.adjust("500 millis")
      yield* Fiber.join(fiber)
      expect(yield* Ref.get(calls)).toBe(4)
    }).pipe(memory))

  it.effect("a request for more tokens than the limit, or for a number that is not a count, is a defect", () =>
    Effect.gen(function*() {
      for (const onExceeded of ["delay", "fail"] as const) {
        const limiter = yield* RateLimit.make({ limit: 2, window: "1 second", onExceeded })
        let ran = 0
        for (const tokens of [3, 0, -1, 1.5, Number.NaN]) {
          const exit = yield* Effect.exit(Effect.sync(() => ran++).pipe(limiter.run(onExceeded, tokens)))
          expect(Exit.isFailure(exit) && Cause.isDie(exit.cause) && String(exit.cause)).toMatch(
            /RangeError: RateLimit: tokens .* must be an integer from 1 to the limit \(2\)/
          )
        }
        expect(ran).toBe(0)
        // nothing was taken: the whole limit is still there, at once
        yield* limiter.consume(onExceeded, 2)
      }
    }).pipe(memory))

  it.effect("make rejects a limit below 1 or a window of no length (a defect)", () =>
    Effect.gen(function*() {
      for (
        const options of [
          { limit: 0, window: "1 second" },
          { limit: Number.NaN, window: "1 second" },
          { limit: 1, window: 0 },
          { limit: 1, window: Duration.infinity },
          // 0 would forget every server pause at once, NaN never forget one
          { limit: 1, window: "1 second", maxPausedKeys: 0 },
          { limit: 1, window: "1 second", maxPausedKeys: Number.NaN },
          { limit: 1, window: "1 second", maxPausedKeys: 2.5 },
          // Effect reads a negative duration as zero ("never wait"): refused, as resilience4j refuses a negative
          // timeoutDuration
          { limit: 1, window: "1 second", maxWait: -1 },
          { limit: 1, window: "1 second", maxWait: "-2 seconds" }
        ] satisfies Array<RateLimit.Options>
      ) {
        const exit = yield* Effect.exit(RateLimit.make(options))
        expect(Exit.isFailure(exit) && String(exit.cause)).toMatch(
          /RangeError: RateLimit: (limit|window|maxPausedKeys|maxWait)/
        )
      }
    }).pipe(memory))

  it.effect("make rejects a fractional limit with a RangeError naming it, for either algorithm (a defect)", () =>
    Effect.gen(function*() {
      // 2.5 calls a second used to die inside Effect's Duration ("cannot be converted to a BigInt"), naming nothing
      for (const limit of [1.5, 2.5, 10.000001]) {
        for (const algorithm of ["token-bucket", "fixed-window"] as const) {
          const exit = yield* Effect.exit(RateLimit.make({ limit, window: "1 second", algorithm }))
          expect(Exit.isFailure(exit) && Cause.isDie(exit.cause) && String(exit.cause)).toMatch(
            new RegExp(`RangeError: RateLimit: limit \\(${limit}\\) must be an integer of at least 1`)
          )
        }
      }
      // a whole limit is still accepted, however it is written
      expect(Exit.isSuccess(yield* Effect.exit(RateLimit.make({ limit: 2.0, window: "1 second" })))).toBe(true)
    }).pipe(memory))

  it.effect("make rejects a limit above the window's nanoseconds, which would refill at once (a defect)", () =>
    Effect.gen(function*() {
      // 2e9 a second (or 3 a nanosecond) made a refill interval of zero nanoseconds: every call was granted
      for (const [limit, window] of [[2e9, "1 second"], [3, "1 nanos"], [11, "10 nanos"]] as const) {
        for (const algorithm of ["token-bucket", "fixed-window"] as const) {
          const exit = yield* Effect.exit(RateLimit.make({ limit, window, algorithm }))
          expect(Exit.isFailure(exit) && Cause.isDie(exit.cause) && String(exit.cause)).toMatch(
            /RangeError: RateLimit: limit \(\d+\) must not exceed the window's nanoseconds/
          )
        }
      }
      // one a nanosecond is still a limit
      const limiter = yield* RateLimit.make({ limit: 10, window: "10 nanos", onExceeded: "fail" })
      yield* limiter.consume("k", 10)
      expect((yield* Effect.flip(limiter.consume("k")))._tag).toBe("RateLimitExceeded")
    }).pipe(memory))

  it.effect("a limit of a token a microsecond or less is kept at one instant, by either algorithm", () =>
    Effect.gen(function*() {
      // A refill interval no longer than the store's microsecond of slack counted the next token as due now: 1,000
      // per millisecond (a million a second, as a limit of bytes) granted every call made at one instant.
      yield* TestClock.setTime(1_764_970_000_123)
      for (
        const [limit, window] of [[1000, "1 millis"], [10, "10 micros"], [10, "5 micros"], [10, "20 micros"]] as const
      ) {
        for (const algorithm of ["token-bucket", "fixed-window"] as const) {
          for (const onExceeded of ["fail", "delay"] as const) {
            const limiter = yield* RateLimit.make({ limit, window, algorithm, onExceeded, maxWait: 0 }).pipe(
              Effect.provideService(RateLimit.RateLimiterStore, RateLimit.makeStoreMemory())
            )
            let granted = 0
            for (let i = 0; i < limit * 2; i++) {
              if (Exit.isSuccess(yield* Effect.exit(limiter.consume("k")))) granted++
            }
            expect([limit, window, algorithm, onExceeded, granted]).toEqual([
              limit,
              window,
              algorithm,
              onExceeded,
              limit
            ])
          }
        }
      }
      // a million a second: the whole limit at once, then nothing until the next token is due
      const limiter = yield* RateLimit.make({ limit: 1_000_000, window: "1 second", onExceeded: "fail" })
      yield* limiter.consume("bytes", 1_000_000)
      const refused = yield* Effect.flip(limiter.consume("bytes"))
      expect(refused._tag === "RateLimitExceeded" && Duration.toMillis(refused.retryAfter)).toBe(1)
      yield* TestClock.adjust("1 millis")
      yield* limiter.consume("bytes", 1000)
      expect((yield* Effect.flip(limiter.consume("bytes")))._tag).toBe("RateLimitExceeded")
    }).pipe(memory))

  it.effect("a token counted as due within the slack is not counted again: no token comes early twice", () =>
    Effect.gen(function*() {
      // A million a second, a token a microsecond, asked every 0.1 µs once drained. A token counted due within the
      // slack (half a microsecond here) moves the refill mark ahead of now; the next call before the mark took it for
      // a clock set back and moved the mark to now, so the next token was counted from there, earlier again: 15 calls
      // were granted in 10 µs. Ten tokens are due in 10 µs.
      const limiter = yield* RateLimit.make({ limit: 1_000_000, window: "1 second", onExceeded: "fail" })
      yield* limiter.consume("k", 1_000_000)
      let granted = 0
      for (let i = 0; i < 100; i++) {
        yield* TestClock.adjust(Duration.nanos(100n))
        if (Exit.isSuccess(yield* Effect.exit(limiter.consume("k")))) granted++
      }
      expect(granted).toBe(10)
    }).pipe(memory))

  it.effect("a refused call is never told to retry after zero, even where a fractional refill lands on a whole ms", () =>
    Effect.gen(function*() {
      // 11 per second: a token every 90.90… ms. A caller that retries when told takes each token as it comes; the
      // refill due at 1000 ms is read by the store as due a hair later, so the caller is refused then
      const limiter = yield* RateLimit.make({ limit: 11, window: "1 second", onExceeded: "fail" })
      yield* limiter.consume("k", 11)
      const told: Array<number> = []
      let granted = 0
      for (let calls = 0; calls < 200 && granted < 33; calls++) {
        const exit = yield* Effect.exit(limiter.consume("k"))
        if (Exit.isSuccess(exit)) {
          granted++
          continue
        }
        const failure = Cause.failureOption(exit.cause)
        const retryAfter = Option.isSome(failure) && failure.value._tag === "RateLimitExceeded"
          ? Duration.toMillis(failure.value.retryAfter)
          : Number.NaN
        told.push(retryAfter)
        if (!(retryAfter > 0)) break
        yield* TestClock.adjust(Duration.millis(retryAfter))
      }
      expect(told.every((millis) => Number.isInteger(millis) && millis >= 1)).toBe(true)
      expect(granted).toBe(33)
    }).pipe(memory))

  it.effect("delay mode under an established deadline: a slot that comes too late fails at once and is given back", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimit.make({ limit: 1, window: "10 seconds" })
      yield* limiter.consume("api")
      let ran = false
      const late = yield* Effect.sync(() => {
        ran = true
      }).pipe(RateLimit.withRateLimit(limiter, "api"), Deadline.establish("1 second"), Effect.flip)
      expect(ran).toBe(false)
      expect(late).toMatchObject({ _tag: "RateLimitExceeded", reason: "Limit" })
      expect(late._tag === "RateLimitExceeded" && Duration.toMillis(late.retryAfter)).toBe(10_000)
      // the rejected caller took nothing: the next slot is still 10 s away, not 20
      const next = yield* Effect.fork(limiter.consume("api"))
      yield* TestClock.adjust("10 seconds")
      expect(Exit.isSuccess(yield* Fiber.await(next))).toBe(true)
    }).pipe(memory))

  it.effect("delay mode: a wait that fits the deadline and maxWait is waited", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimit.make({ limit: 1, window: "1 second", maxWait: "1 second" })
      yield* limiter.consume("api")
      const fiber = yield* Effect.fork(limiter.consume("api").pipe(Deadline.establish("2 seconds")))
      yield* TestClock.adjust("999 millis")
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      expect(Exit.isSuccess(yield* Fiber.await(fiber))).toBe(true)
    }).pipe(memory))

  it.effect("delay mode: a wait longer than maxWait fails at once, for a slot and for a server pause alike", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimit.make({ limit: 1, window: "2 seconds", maxWait: "1 second" })
      yield* limiter.consume("api")
      const slot = yield* Effect.flip(limiter.consume("api"))
      expect(slot).toMatchObject({ _tag: "RateLimitExceeded", reason: "Limit" })
      yield* limiter.pauseFor("other", "5 seconds")
      const paused = yield* Effect.flip(limiter.consume("other"))
      expect(paused).toMatchObject({ _tag: "RateLimitExceeded", reason: "Paused" })
      expect(paused._tag === "RateLimitExceeded" && Duration.toMillis(paused.retryAfter)).toBe(5_000)
      // the slot given back is there once the first one refills
      yield* TestClock.adjust("2 seconds")
      yield* limiter.consume("api")
    }).pipe(memory))

  it.effect("delay mode: a server pause that outlasts an armed deadline fails at once, not at the deadline", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimit.make({ limit: 10, window: "1 second" })
      yield* limiter.pauseFor("api", "30 seconds")
      const error = yield* Effect.flip(limiter.consume("api").pipe(Deadline.withDeadline("5 seconds")))
      expect(error).toMatchObject({ _tag: "RateLimitExceeded", reason: "Paused" })
      expect(yield* TestClock.currentTimeMillis).toBe(0)
    }).pipe(memory))

  it.effect("a caller held by a pause past its slot gives back no more than a full bucket (limit 1: never 2 at once)", () =>
    Effect.gen(function*() {
      // found by model-RateLimitRedis: the refund of a caller interrupted after its slot had passed went into a
      // bucket refilled since, which then held 2 tokens for a limit of 1 (the Redis store drops an over-full bucket)
      const waiting = yield* RateLimit.make({ limit: 1, window: "10 seconds" })
      const failing = yield* RateLimit.make({ limit: 1, window: "10 seconds", onExceeded: "fail" })
      yield* waiting.consume("k")
      const held = yield* Effect.fork(waiting.consume("k"))
      yield* TestClock.adjust("5 seconds")
      yield* waiting.pauseFor("k", "1 hour")
      yield* TestClock.adjust("20 seconds")
      yield* Fiber.interrupt(held)
      yield* failing.consume("k")
      const second = yield* Effect.flip(failing.consume("k"))
      expect(second).toMatchObject({
        _tag: "RateLimitExceeded",
        reason: "Limit",
        key: "k",
        retryAfter: Duration.seconds(10)
      })
    }).pipe(memory))

  it.effect("a server pause on a key holds every caller of that key, not only the one that saw it", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimit.make({ limit: 100, window: "1 second" })
      const failing = yield* RateLimit.make({ limit: 100, window: "1 second", onExceeded: "fail" })
      const reached = yield* Ref.make(0)
      const call = Ref.update(reached, (n) => n + 1).pipe(RateLimit.withRateLimit(limiter, "api"))

      // one fiber sees Retry-After: 5 and pauses the key
      yield* limiter.pauseFor("api", "5 seconds")
      // ... a hint for a shorter time never shortens the pause
      yield* limiter.pauseFor("api", "1 second")
      const others = yield* Effect.forEach([1, 2, 3], () => Effect.fork(call))
      const unrelated = yield* Effect.fork(
        Ref.update(reached, (n) => n + 100).pipe(
          RateLimit.withRateLimit(limiter, "elsewhere")
        )
      )
      yield* Fiber.join(unrelated)
      yield* TestClock.adjust("4 seconds")
      expect(yield* Ref.get(reached)).toBe(100)
      expect(Duration.toMillis(yield* limiter.pausedFor("api"))).toBe(1_000)

      yield* TestClock.adjust("1 second")
      yield* Fiber.joinAll(others)
      expect(yield* Ref.get(reached)).toBe(103)

      // the pause of one limiter is its own; in fail mode a pause fails with reason "Paused"
      yield* failing.pauseUntil("api", (yield* Clock.currentTimeMillis) + 2_000)
      const paused = yield* Effect.flip(failing.consume("api"))
      expect(paused).toMatchObject({ _tag: "RateLimitExceeded", reason: "Paused" })
      expect(paused._tag === "RateLimitExceeded" && Duration.toMillis(paused.retryAfter)).toBe(2_000)
    }).pipe(memory))

  it.effect("beyond maxPausedKeys the ended pauses go first, then the oldest; a new pause costs no pass over them all", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimit.make({ limit: 1, window: "1 second", maxPausedKeys: 3 })
      const left = (key: string) => Effect.map(limiter.pausedFor(key), Duration.toMillis)
      yield* limiter.pauseFor("a", "10 seconds")
      yield* limiter.pauseFor("b", "1 second")
      yield* limiter.pauseFor("c", "10 seconds")
      yield* TestClock.adjust("2 seconds")
      // a fourth: "b" has ended, and goes in place of the oldest ("a")
      yield* limiter.pauseFor("d", "10 seconds")
      expect([yield* left("a"), yield* left("c"), yield* left("d")]).toEqual([8_000, 8_000, 10_000])
      // a fifth: none has ended, the oldest goes; an extended pause keeps its place ("c", the oldest then)
      yield* limiter.pauseFor("c", "20 seconds")
      yield* limiter.pauseFor("e", "10 seconds")
      expect([yield* left("a"), yield* left("c"), yield* left("d"), yield* left("e")]).toEqual([
        0,
        20_000,
        10_000,
        10_000
      ])
      yield* limiter.pauseFor("f", "10 seconds")
      expect([yield* left("c"), yield* left("d"), yield* left("e"), yield* left("f")]).toEqual([
        0,
        10_000,
        10_000,
        10_000
      ])

      // a thousand pauses held (a thousand tenants told to wait an hour), and a thousand more: each new one used to go
      // over every pause held to find the ended ones (a million looks here)
      const wide = yield* RateLimit.make({ limit: 1, window: "1 second", maxPausedKeys: 1_000 })
      for (let i = 0; i < 2_000; i++) yield* wide.pauseFor(`tenant-${i}`, "1 hour")
      expect(pauseStatsOf(wide)!.visits).toBeLessThanOrEqual(3 * 1_000)
      expect(Duration.toMillis(yield* wide.pausedFor("tenant-999"))).toBe(0)
      expect(Duration.toMillis(yield* wide.pausedFor("tenant-1000"))).toBe(3_600_000)
      // an hour on they have all ended: the next pause over the bound drops them all, and the oldest live one
      yield* TestClock.adjust("1 hour")
      for (let i = 0; i < 1_001; i++) yield* wide.pauseFor(`later-${i}`, "1 minute")
      expect(Duration.toMillis(yield* wide.pausedFor("later-0"))).toBe(0)
      expect(Duration.toMillis(yield* wide.pausedFor("later-1"))).toBe(60_000)
      expect(pauseStatsOf(wide)!.visits).toBeLessThanOrEqual(3 * 1_000 + 3 * 1_000)
      // the ends of the pauses dropped go too: never more than twice the pauses held
      for (let i = 0; i < 2_000; i++) yield* wide.pauseFor(`again-${i}`, "1 minute")
      expect(pauseStatsOf(wide)!.ends).toBeLessThanOrEqual(2 * 1_000 + 16)
    }).pipe(memory))

  it.effect("beyond maxPausedKeys an extended pause goes at its new end, and one ending now has ended", () =>
    Effect.gen(function*() {
      // three pauses: "d" (5 s, extended to 10 s) between two of 100 s
      const limiterWith = Effect.gen(function*() {
        const limiter = yield* RateLimit.make({ limit: 1, window: "1 second", maxPausedKeys: 3 })
        yield* limiter.pauseFor("x", "100 seconds")
        yield* limiter.pauseFor("d", "5 seconds")
        yield* limiter.pauseFor("d", "10 seconds")
        yield* limiter.pauseFor("y", "100 seconds")
        const left = (key: string) => Effect.map(limiter.pausedFor(key), Duration.toMillis)
        return { limiter, left }
      })
      const early = yield* limiterWith
      const late = yield* limiterWith
      // at 7 s "d" still runs: a fourth pause drops the oldest ("x"), not "d"
      yield* TestClock.adjust("7 seconds")
      yield* early.limiter.pauseFor("z", "100 seconds")
      expect([yield* early.left("x"), yield* early.left("d"), yield* early.left("y")]).toEqual([0, 3_000, 93_000])
      // at 10 s "d" ends (now): a fourth pause drops it, and the oldest stays
      yield* TestClock.adjust("3 seconds")
      yield* late.limiter.pauseFor("z", "100 seconds")
      expect([yield* late.left("x"), yield* late.left("y"), yield* late.left("z")]).toEqual([90_000, 90_000, 100_000])
    }).pipe(memory))

  it.effect("delay mode: callers that waited out a server pause take their slots in the order they asked", () =>
    Effect.gen(function*() {
      // (found by model-RateLimit.test.ts) the callers held by a pause reserved their slots in the order their timers
      // fired when it ended: under the TestClock the last to ask went first, and with a real clock a caller whose
      // wait was extended by a later hint went after one that asked while the pause was already extended
      const limiter = yield* RateLimit.make({ limit: 1, window: "1 second" })
      const startOf = Effect.zipRight(limiter.consume("api"), Clock.currentTimeMillis)
      yield* limiter.pauseFor("api", "1 second")
      const first = yield* Effect.fork(startOf)
      yield* TestClock.adjust("500 millis")
      yield* limiter.pauseFor("api", "1 second")
      yield* TestClock.adjust("100 millis")
      const second = yield* Effect.fork(startOf)
      const third = yield* Effect.fork(startOf)
      yield* TestClock.adjust("900 millis")
      // a newcomer at the pause's end comes after the callers it held
      const newcomer = yield* Effect.fork(startOf)
      yield* TestClock.adjust("10 seconds")
      expect(yield* Fiber.join(first)).toBe(1_500)
      expect(yield* Fiber.join(second)).toBe(2_500)
      expect(yield* Fiber.join(third)).toBe(3_500)
      expect(yield* Fiber.join(newcomer)).toBe(4_500)
    }).pipe(memory))

  it.effect("delay mode: a caller held by a server pause that is interrupted lets the next go in its place", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimit.make({ limit: 1, window: "1 second" })
      const startOf = Effect.zipRight(limiter.consume("api"), Clock.currentTimeMillis)
      yield* limiter.pauseFor("api", "1 second")
      const first = yield* Effect.fork(startOf)
      const second = yield* Effect.fork(startOf)
      const third = yield* Effect.fork(startOf)
      yield* TestClock.adjust("500 millis")
      yield* Fiber.interrupt(first)
      yield* TestClock.adjust("10 seconds")
      expect(yield* Fiber.join(second)).toBe(1_000)
      expect(yield* Fiber.join(third)).toBe(2_000)
    }).pipe(memory))

  // the memory store, answering each call `latency` later (as a remote store would)
  const slowStore = (latency: Duration.DurationInput): RateLimit.RateLimiterStore["Type"] => {
    const inner = RateLimit.makeStoreMemory()
    return RateLimit.RateLimiterStore.of({
      fixedWindow: (options) => Effect.zipRight(Effect.sleep(latency), inner.fixedWindow(options)),
      tokenBucket: (options) => Effect.zipRight(Effect.sleep(latency), inner.tokenBucket(options))
    })
  }

  it.effect("delay mode: n callers held by one server pause go in order, each woken once (O(n), not O(n²))", () =>
    Effect.gen(function*() {
      // every caller waited for the head of the line and was woken each time a head left: 200 callers held by one
      // pause looked for their turn ~20,000 times when it ended (1,000 callers: ~500,000). Each now waits for the
      // caller ahead of it, and a caller that leaves wakes the one behind it. Interrupted ones leave from anywhere.
      const n = 200
      const limiter = yield* RateLimit.make({ limit: n, window: "1 second" })
      const order: Array<number> = []
      yield* limiter.pauseFor("api", "1 second")
      const fibers: Array<Fiber.RuntimeFiber<void, unknown>> = []
      for (let i = 0; i < n; i++) {
        fibers.push(yield* Effect.fork(limiter.run("api")(Effect.sync(() => void order.push(i)))))
      }
      yield* TestClock.adjust("500 millis")
      // a quarter of them stop waiting, from the middle and from the head
      const gone = new Set(Array.from({ length: n / 4 }, (_, k) => 4 * k + 1).concat([0]))
      for (const i of gone) yield* Fiber.interrupt(fibers[i]!)
      yield* TestClock.adjust("500 millis")
      yield* Effect.forEach(fibers.filter((_, i) => !gone.has(i)), Fiber.join)
      expect(order).toEqual(Array.from({ length: n }, (_, i) => i).filter((i) => !gone.has(i)))
      const { turns } = pauseStatsOf(limiter)!
      expect(turns).toBeGreaterThanOrEqual(n - gone.size)
      expect(turns).toBeLessThanOrEqual(2 * (n - gone.size))
    }).pipe(memory))

  it.effect("delay mode: callers waiting in line behind a slow reservation each go once the one ahead has", () =>
    Effect.gen(function*() {
      // the store answers in 100 ms: when the pause ends the head reserves until 1.1 s, the others wait in line
      // behind it; one interrupted in the middle of the line lets the caller behind it take its place
      const limiter = yield* RateLimit.make({ limit: 10, window: "1 second" })
      const startOf = Effect.zipRight(limiter.consume("api"), Clock.currentTimeMillis)
      yield* limiter.pauseFor("api", "1 second")
      const fibers = yield* Effect.forEach([0, 1, 2, 3, 4], () => Effect.fork(startOf))
      yield* TestClock.adjust("1050 millis")
      yield* Fiber.interrupt(fibers[2]!)
      yield* TestClock.adjust("1 second")
      expect(yield* Effect.forEach([0, 1, 3, 4], (i) => Fiber.join(fibers[i]!))).toEqual([1_100, 1_200, 1_300, 1_400])
      expect(pauseStatsOf(limiter)!.turns).toBeLessThanOrEqual(2 * 4)
    }).pipe(Effect.provide(Layer.succeed(RateLimit.RateLimiterStore, slowStore("100 millis")))))

  it.effect("delay mode: a pause extended while callers wait in line is checked by each when the head leaves", () =>
    Effect.gen(function*() {
      // The store answers in 100 ms. The pause ends at 1 s: the head reserves until 1.1 s and the others wait in line
      // behind it. At 1.05 s another response extends the pause to 3.05 s. When the head leaves the line (1.1 s, its slot
      // reserved), every caller in the line checks the pause again, as when they all waited for the head: the deepest
      // one, whose deadline (2.5 s) the new pause outlasts, fails then with reason "Paused" and the pause's remaining
      // 1.95 s, rather than once the callers ahead of it have gone (3.25 s, past its deadline); the others wait for the
      // new end and go in order.
      const limiter = yield* RateLimit.make({ limit: 10, window: "1 second" })
      const startOf = Effect.zipRight(limiter.consume("api"), Clock.currentTimeMillis)
      yield* limiter.pauseFor("api", "1 second")
      const head = yield* Effect.fork(startOf)
      const second = yield* Effect.fork(startOf)
      const third = yield* Effect.fork(startOf)
      const deep = yield* Effect.fork(
        limiter.consume("api").pipe(
          Deadline.establish("2500 millis"),
          Effect.flip,
          Effect.zip(Clock.currentTimeMillis)
        )
      )
      yield* TestClock.adjust("1050 millis")
      yield* limiter.pauseFor("api", "2 seconds")
      yield* TestClock.adjust("50 millis")
      const [error, failedAt] = yield* Fiber.join(deep)
      expect(failedAt).toBe(1_100)
      expect(error).toMatchObject({ _tag: "RateLimitExceeded", reason: "Paused", key: "api" })
      expect(error._tag === "RateLimitExceeded" && Duration.toMillis(error.retryAfter)).toBe(1_950)
      yield* TestClock.adjust("10 seconds")
      // (the head, whose slot was reserved at 1.1 s, is held by the new pause too)
      expect(yield* Fiber.join(head)).toBe(3_050)
      expect(yield* Fiber.join(second)).toBe(3_150)
      expect(yield* Fiber.join(third)).toBe(3_250)
    }).pipe(Effect.provide(Layer.succeed(RateLimit.RateLimiterStore, slowStore("100 millis")))))

  const manual = makeManualClock()
  it.effect(
    "no token is lost when waiting callers are interrupted at random points (10^4 runs)",
    () =>
      Effect.gen(function*() {
        const limit = 3
        const waiting = yield* RateLimit.make({ limit, window: "3 seconds" })
        const checking = yield* RateLimit.make({ limit, window: "3 seconds", onExceeded: "fail" })
        for (let run = 0; run < 10_000; run++) {
          const key = `run-${run}`
          const contenders = yield* Random.nextIntBetween(1, 8)
          const fibers = yield* Effect.forEach(
            Array.from({ length: contenders }),
            () => Effect.fork(waiting.consume(key)),
            { concurrency: "unbounded" }
          )
          const steps = yield* Random.nextIntBetween(0, 3)
          for (let i = 0; i < steps; i++) yield* Effect.yieldNow()
          yield* Fiber.interruptAll(fibers)
          // one full window later the bucket must be full again: no slot stays reserved by an interrupted caller
          manual.advance(3_000)
          for (let i = 0; i < limit; i++) yield* checking.consume(key)
          expect((yield* Effect.flip(checking.consume(key)))._tag).toBe("RateLimitExceeded")
        }
      }).pipe(Effect.withClock(manual.clock), Effect.withRandom(Random.make(42)), memory),
    120_000
  )

  it.effect("a caller that stops waiting moves up the callers behind it: no slot is used twice, none left unused", () =>
    Effect.gen(function*() {
      // the start times of callers taking `tokens` each, in turn; `interrupt` is the index of one that stops waiting
      const line = (options: RateLimit.Options, tokens: ReadonlyArray<number>, interrupt: number) =>
        Effect.gen(function*() {
          const limiter = yield* RateLimit.make(options)
          const start = yield* Clock.currentTimeMillis
          yield* limiter.consume("api", options.limit) // the bucket (or the window) is used up
          const fibers: Array<Fiber.RuntimeFiber<number, unknown>> = []
          for (const n of tokens) {
            fibers.push(yield* Effect.fork(limiter.run("api", n)(Clock.currentTimeMillis)))
            yield* Effect.yieldNow()
          }
          yield* Fiber.interrupt(fibers[interrupt]!)
          // a newcomer takes the slot freed at the end of the line, after those already waiting
          fibers.push(yield* Effect.fork(limiter.run("api")(Clock.currentTimeMillis)))
          yield* Effect.yieldNow()
          yield* TestClock.adjust("1 minute")
          const started = yield* Effect.forEach(fibers.filter((_, i) => i !== interrupt), Fiber.join)
          return started.map((at) => at - start)
        }).pipe(memory)

      // 1 a second: the first waiter (due at 1 s) stops, the second runs at 1 s instead of 2 s, the newcomer at 2 s
      // (it ran at 2 s together with the second, and nobody at 1 s)
      expect(yield* line({ limit: 1, window: "1 second" }, [1, 1], 0)).toEqual([1_000, 2_000])
      // 4 a second (a token every 250 ms): one of 2 tokens (due at 500 ms) stops; the ones behind move up by 500 ms
      expect(yield* line({ limit: 4, window: "1 second" }, [1, 2, 1, 1], 1)).toEqual([250, 500, 750, 1_000])
      // a fixed window of 2 a second: the first of the next window stops; the callers of the window after move up one
      // place each, so no window gets 3 calls (it was 1 call at 1 s and 3 at 2 s)
      expect(yield* line({ limit: 2, window: "1 second", algorithm: "fixed-window" }, [1, 1, 1, 1], 0)).toEqual([
        1_000,
        1_000,
        2_000,
        2_000
      ])
      // a waiter at the end of the line that stops moves nobody: the newcomer takes its place
      expect(yield* line({ limit: 1, window: "1 second" }, [1, 1], 1)).toEqual([1_000, 2_000])
    }))

  it.effect("callers that stop waiting at random points never let more calls through than the limit allows", () =>
    Effect.gen(function*() {
      // a token bucket of `limit` lets at most limit + ⌊span / refill⌋ calls start within any span; a fixed window at
      // most `limit` in each window (so 2 × limit within a span shorter than one)
      const overLimit: Array<unknown> = []
      for (let run = 0; run < 120; run++) {
        const limit = yield* Random.nextIntBetween(1, 4)
        const algorithm = (yield* Random.nextBoolean) ? "token-bucket" as const : "fixed-window" as const
        const limiter = yield* RateLimit.make({ limit, window: "1 second", algorithm })
        const start = yield* Clock.currentTimeMillis
        const fibers: Array<Fiber.RuntimeFiber<number, unknown>> = []
        for (let step = 0; step < 20; step++) {
          const op = yield* Random.nextIntBetween(0, 3)
          if (op === 0 && fibers.length > 0) {
            yield* Fiber.interrupt(fibers[yield* Random.nextIntBetween(0, fibers.length)]!)
          } else if (op === 1) {
            yield* TestClock.adjust(yield* Random.nextIntBetween(0, 700))
          } else {
            fibers.push(yield* Effect.fork(limiter.run(`run-${run}`)(Clock.currentTimeMillis)))
            yield* Effect.yieldNow()
          }
        }
        yield* TestClock.adjust("1 hour")
        const starts: Array<number> = []
        for (const fiber of fibers) {
          const exit = yield* Fiber.await(fiber)
          if (Exit.isSuccess(exit)) starts.push(exit.value - start)
        }
        starts.sort((a, b) => a - b)
        const refill = 1000 / limit
        for (let i = 0; i < starts.length; i++) {
          for (let j = i; j < starts.length; j++) {
            const span = starts[j]! - starts[i]!
            const allowed = algorithm === "token-bucket"
              ? limit + Math.floor((span + 1e-6) / refill)
              : limit * (Math.floor(span / 1000) + 2)
            if (j - i + 1 > allowed) overLimit.push({ algorithm, limit, starts })
          }
        }
      }
      expect(overLimit).toEqual([])
    }).pipe(Effect.withRandom(Random.make(7)), memory))

  describe("the memory store", () => {
    it.effect("answers as @effect/experimental's store does while it forgets nothing", () =>
      Effect.gen(function*() {
        const ours = RateLimit.makeStoreMemory()
        const theirs = yield* Effect.provide(RateLimit.RateLimiterStore, ExperimentalRateLimiter.layerStoreMemory)
        const keys = ["a", "b", "c"]
        const refillRate = Duration.millis(100)
        const ask = (store: typeof ours, i: number, key: string, tokens: number) =>
          i % 2 === 0
            ? store.tokenBucket({ key, tokens, limit: 5, refillRate, allowOverflow: tokens < 0 })
            : store.fixedWindow({ key, tokens, refillRate, limit: tokens < 0 ? undefined : 5 })
        // A bucket short of tokens answers its deficit less the part of the next token already refilled, so that a
        // caller waits until its token is due: its whole part is their answer.
        const whole = (answer: number | readonly [number, number]) =>
          typeof answer === "number" ? Math.floor(answer) : answer
        // every key of both kinds exists from the start, so none is new (and so dropped) later
        for (const key of keys) {
          for (const i of [0, 1]) expect(whole(yield* ask(ours, i, key, 1))).toEqual(yield* ask(theirs, i, key, 1))
        }
        // Their bucket keeps the part of a next token refilled while it was full; ours restarts its refill when it
        // is full again (as a bucket dropped once full does). A refund past full lifts theirs above the limit, and
        // ours stays full (a test above): the walk gives back no more than a bucket can hold. The two agree while the clock moves in whole refill
        // intervals: the buckets are compared so, then the fixed windows at any millisecond.
        for (const phase of ["whole intervals", "any millisecond"] as const) {
          for (let step = 0; step < 2_000; step++) {
            const i = phase === "any millisecond" ? 1 : yield* Random.nextIntBetween(0, 2)
            const key = keys[yield* Random.nextIntBetween(0, 3)]!
            let tokens = (yield* Random.nextBoolean) ? 1 : (yield* Random.nextIntBetween(-2, 4))
            if (i === 0 && tokens < 0) {
              // a refund past full is where the two part: theirs holds more than the limit, ours stays full
              const held = yield* ask(theirs, i, key, 0)
              expect(whole(yield* ask(ours, i, key, 0))).toEqual(held)
              if ((held as number) - tokens > 5) tokens = 0
            }
            expect(whole(yield* ask(ours, i, key, tokens))).toEqual(yield* ask(theirs, i, key, tokens))
            yield* TestClock.adjust(
              phase === "any millisecond"
                ? Duration.millis(yield* Random.nextIntBetween(0, 150))
                : Duration.millis(100 * (yield* Random.nextIntBetween(0, 2)))
            )
          }
        }
      }).pipe(Effect.withRandom(Random.make(7))))

    it.effect("beyond maxKeys the key used least recently starts again with a full bucket", () =>
      Effect.gen(function*() {
        const limiter = yield* RateLimit.make({ limit: 1, window: "1 hour", onExceeded: "fail" }).pipe(
          Effect.provideService(RateLimit.RateLimiterStore, RateLimit.makeStoreMemory({ maxKeys: 2 }))
        )
        yield* limiter.consume("a")
        expect((yield* Effect.flip(limiter.consume("a")))._tag).toBe("RateLimitExceeded")
        yield* limiter.consume("b")
        yield* limiter.consume("c")
        yield* limiter.consume("a")
      }))

    it.effect("50,000 hosts then a day idle: the buckets full again are dropped", () =>
      Effect.gen(function*() {
        const store = RateLimit.makeStoreMemory({ maxKeys: 100_000 })
        const limited = yield* RateLimit.make({ limit: 10, window: "1 second", onExceeded: "fail" }).pipe(
          Effect.provideService(RateLimit.RateLimiterStore, store)
        )
        const before = heapMB()
        for (let i = 0; i < 50_000; i++) yield* limited.consume(`host-${i}`)
        expect(heapMB() - before).toBeGreaterThan(5)
        yield* TestClock.adjust("1 day")
        yield* limited.consume("next")
        expect(heapMB() - before).toBeLessThan(2)
      }), 60_000)

    it("maxKeys must be an integer of at least 1", () => {
      expect(() => RateLimit.makeStoreMemory({ maxKeys: 0 })).toThrow(RangeError)
    })
  })
})

describe("RateLimit: options of the wrong type", () => {
  it.effect("an algorithm that is neither token-bucket nor fixed-window is a RangeError naming it", () =>
    Effect.gen(function*() {
      for (const algorithm of ["Token-Bucket", "sliding-window", 1]) {
        const defect = yield* defectOf(() =>
          RateLimit.make({ limit: 1, window: "1 second", algorithm: algorithm as "token-bucket" }).pipe(
            Effect.provide(RateLimit.layerStoreMemory)
          )
        )
        expect(defect, String(algorithm)).toBeInstanceOf(RangeError)
        expect((defect as Error).message).toContain("RateLimit: algorithm")
      }
    }))

  it.effect("a symbol limit is a RangeError naming it", () =>
    Effect.gen(function*() {
      const defect = yield* defectOf(() =>
        RateLimit.make({ limit: Symbol("n") as unknown as number, window: "1 second" }).pipe(
          Effect.provide(RateLimit.layerStoreMemory)
        )
      )
      expect(defect).toBeInstanceOf(RangeError)
      expect((defect as Error).message).toContain("RateLimit: limit")
    }))
})

describe("RateLimit: a caller inside a mask", () => {
  // A fiber inherits its parent's interruptibility: the wait for a slot races a timer against a "moved up" signal,
  // and under a caller's mask the losing side ignored the race's interruption, which waited for it
  it.effect("a caller waiting for its slot inside an uninterruptible region starts when the slot is due", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimit.make({ limit: 1, window: "1 second" })
      yield* limiter.consume("k")
      yield* noLeftoverFibers(Effect.gen(function*() {
        const masked = yield* Effect.fork(Effect.uninterruptible(limiter.consume("k")))
        yield* TestClock.adjust("999 millis")
        expect(Option.isNone(yield* Fiber.poll(masked))).toBe(true)
        yield* TestClock.adjust("1 millis")
        // without both sides interruptible: the timer won, and the race waited for ever on a signal nobody sends
        expect(yield* Fiber.poll(masked)).toEqual(Option.some(Exit.void))
      }))
    }).pipe(memory))

  it.effect("a masked caller moved up by one that left ahead of it starts at its new time", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimit.make({ limit: 1, window: "1 second" })
      yield* limiter.consume("k")
      const ahead = yield* Effect.fork(limiter.consume("k"))
      yield* TestClock.adjust("10 millis")
      const masked = yield* Effect.fork(Effect.uninterruptible(limiter.consume("k")))
      yield* TestClock.adjust("10 millis")
      yield* Fiber.interrupt(ahead)
      yield* TestClock.adjust("980 millis")
      // its slot moved from 2 s to 1 s: without the fix the timer it raced ran on to 2 s
      expect(yield* Fiber.poll(masked)).toEqual(Option.some(Exit.void))
    }).pipe(memory))

  // an uninterruptible fiber hands an interruption it holds off on to the fibers it started: the race's, whose sides,
  // interruptible, took it, and the masked caller left the line before its slot was due
  it.effect("interrupted from outside, a masked caller still waits for its slot, then ends interrupted", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimit.make({ limit: 1, window: "1 second" })
      yield* limiter.consume("k")
      yield* noLeftoverFibers(Effect.gen(function*() {
        const failure = yield* interruptedWhileMasked(limiter.consume("k"), {
          interruptAfter: "200 millis",
          endsAfter: "800 millis"
        })
        // the region took its slot (and succeeded): the value is lost to the held interruption, nothing else
        expect(failure).toEqual(Option.none())
      }))
    }).pipe(memory))

  it.effect("an interruptible caller waiting for its slot is interrupted at once", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimit.make({ limit: 1, window: "1 second" })
      yield* limiter.consume("k")
      const waiting = yield* Effect.fork(limiter.consume("k"))
      yield* TestClock.adjust("200 millis")
      expect(Exit.isInterrupted(yield* Fiber.interrupt(waiting))).toBe(true)
    }).pipe(memory))
})
