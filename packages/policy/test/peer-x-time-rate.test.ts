// Ported from golang.org/x/time/rate's rate/rate_test.go (golang/time, commit
// 2b4e43900c03fd6b77109b7b2b6d77583f48bc1c), one `it` per Go test, named after it.
// Mapping: `NewLimiter(r, b)` (a bucket of `b` tokens refilled at `r` per second) is Sturdy's token bucket
// `{ limit: b, window: b / r seconds }` (a token every `1 / r` s; Sturdy's burst is always `limit`). Go's fake times
// t0..t9 (`d` = 100 ms apart) are the TestClock (t0 = 0). `AllowN(t, n)` is `consume(key, n)` of a limiter in mode
// `"fail"` at time t; `ReserveN(t, n)` is `consume(key, n)` of a limiter in mode `"delay"` forked at time t, whose
// time to act is when it returns (both limiters over one memory store share the key, as Go's one limiter serves both
// calls); `Reservation.CancelAt(t)` is interrupting the waiting caller at t (Sturdy gives the tokens back);
// `WaitN(ctx, n)` is mode `"delay"`, and a context with a timeout is `Deadline.withDeadline`.
// Deliberate differences (each test says which): `n` above the burst, `n` = 0 or negative is a `RangeError` defect in
// Sturdy (documented: a request for more than `limit` could never be granted), where Go answers false (0 tokens: true);
// a caller whose wait has ended has its slot, so interrupting it then gives nothing back (Go's `CancelAt(timeToAct)`
// still restores tokens); and Sturdy gives an interrupted caller's tokens back in full and moves the callers waiting
// behind it up into the time it freed, where Go keeps the tokens that later reservations were promised and moves no
// reservation (`TestCancel0Tokens`, `TestCancelMulti`, `TestReserveJumpBackCancel`).
// Not ported: TestLimit and TestEvery (Go's `Limit`/`Every` conversions), the `TokensAt` checks inside `run` (Sturdy
// does not expose the token count; the AllowN results are asserted), TestReserveSetLimit,
// TestReserveSetBurst, TestReserveSetLimitCancel and TestSetAfterZeroLimit (`SetLimit`/`SetBurst`: a Sturdy limiter's
// options are fixed), TestWaitInf (`Inf` limit: Sturdy has none; no limiter is the equivalent) and the benchmarks.
import { describe, expect, it } from "@effect/vitest"
import { Deadline, RateLimit } from "@sturdy/policy"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import { makeManualClock } from "./utils/manualClock.js"

const memory = Effect.provide(RateLimit.layerStoreMemory)
const d = 100
const KEY = "go"

/** `NewLimiter(r, b)`: the `AllowN` face (mode "fail") and the `ReserveN`/`WaitN` face (mode "delay") of one bucket. */
const newLimiter = (r: number, b: number) =>
  Effect.gen(function*() {
    const window = Duration.millis((b / r) * 1000)
    const allowing = yield* RateLimit.make({ limit: b, window, onExceeded: "fail" })
    const waiting = yield* RateLimit.make({ limit: b, window, onExceeded: "delay" })
    return { allowing, waiting }
  })
type Limiter = Effect.Effect.Success<ReturnType<typeof newLimiter>>

/** Sets the TestClock to `k` × d from t0 (backwards too, as Go's fake times may go). */
const at = (k: number) => TestClock.setTime(k * d)

const allowN = (lim: Limiter, n: number) =>
  Effect.map(Effect.either(lim.allowing.consume(KEY, n)), (e) => e._tag === "Right")

/** `run(t, lim, allows)`: each step moves to its time and asserts the `AllowN` answer. */
const run = (lim: Limiter, allows: ReadonlyArray<readonly [t: number, n: number, ok: boolean]>) =>
  Effect.forEach(allows, ([t, n, ok], step) =>
    Effect.gen(function*() {
      yield* at(t)
      expect([step, yield* allowN(lim, n)]).toEqual([step, ok])
    }), { discard: true })

/** `ReserveN(now, n)`: a caller that takes its tokens now and returns its time to act (in multiples of d). */
const reserve = (lim: Limiter, n: number) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(
      Effect.zipRight(lim.waiting.consume(KEY, n), Effect.map(Clock.currentTimeMillis, (ms) => ms / d))
    )
    yield* Effect.yieldNow()
    return fiber
  })

/** The time to act of a reservation (moves the clock far enough for every pending one). */
const actAt = (fiber: Fiber.RuntimeFiber<number, unknown>) =>
  Effect.gen(function*() {
    yield* TestClock.adjust("1 minute")
    return yield* Fiber.join(fiber)
  })

/** `runReserve(t, lim, {t, n, act, ok})` for a valid request: the caller's time to act. */
const runReserve = (lim: Limiter, t: number, n: number) => Effect.zipRight(at(t), reserve(lim, n))

describe("peer x/time/rate rate_test.go", () => {
  it.effect("TestLimiterBurst1", () =>
    Effect.gen(function*() {
      const lim = yield* newLimiter(10, 1)
      yield* run(lim, [[0, 1, true], [0, 1, false], [0, 1, false], [1, 1, true], [1, 1, false], [1, 1, false]])
      // {t2, 1, 2, false}: "burst size is 1, so n=2 always fails": a RangeError defect in Sturdy
      const exit = yield* Effect.exit(lim.allowing.consume(KEY, 2))
      expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
      yield* run(lim, [[2, 1, true], [2, 1, false]])
    }).pipe(memory))

  it.effect("TestLimiterBurst3", () =>
    Effect.gen(function*() {
      const lim = yield* newLimiter(10, 3)
      yield* run(lim, [[0, 2, true], [0, 2, false], [0, 1, true], [0, 1, false]])
      // {t1, 1, 4, false}: n above the burst is a RangeError defect in Sturdy
      yield* at(1)
      expect(Cause.isDie(yield* Effect.flip(Effect.sandbox(lim.allowing.consume(KEY, 4))))).toBe(true)
      yield* run(lim, [[2, 1, true], [3, 1, true], [4, 1, true], [4, 1, true], [4, 1, false], [4, 1, false], [
        9,
        3,
        true
      ]])
      // {t9, 0, 0, true}: Go allows 0 tokens; Sturdy takes at least 1 (a RangeError defect for 0)
      expect(Cause.isDie(yield* Effect.flip(Effect.sandbox(lim.allowing.consume(KEY, 0))))).toBe(true)
    }).pipe(memory))

  it.effect("TestLimiterJumpBackwards", () =>
    Effect.gen(function*() {
      const lim = yield* newLimiter(10, 3)
      yield* run(lim, [
        [1, 1, true], // start at t1
        [0, 1, true], // jump back to t0, two tokens remain
        [0, 1, true],
        [0, 1, false],
        [0, 1, false],
        [1, 1, true], // got a token
        [1, 1, false],
        [1, 1, false],
        [2, 1, true], // got another token
        [2, 1, false],
        [2, 1, false]
      ])
    }).pipe(memory))

  it.effect("TestLimiter_noTruncationErrors", () =>
    Effect.gen(function*() {
      const lim = yield* newLimiter(0.7692307692307693, 1)
      expect(yield* allowN(lim, 1)).toBe(true)
    }).pipe(memory))

  it.effect("TestSimultaneousRequests", () =>
    Effect.gen(function*() {
      const limit = 1
      const burst = 5
      const numRequests = 15
      const lim = yield* newLimiter(limit, burst)
      const oks = yield* Effect.all(Array.from({ length: numRequests }, () => allowN(lim, 1)), {
        concurrency: "unbounded"
      })
      expect(oks.filter(Boolean)).toHaveLength(burst)
    }).pipe(memory))

  // Go's testTime is a clock moved by hand here (2,500 steps of TestClock.adjust would take seconds)
  const tt = makeManualClock(0)
  it.effect("TestLongRunningQPS", () =>
    Effect.gen(function*() {
      const limit = 100
      const burst = 100
      const lim = yield* newLimiter(limit, burst)
      let numOK = 0
      const start = tt.now()
      const end = start + 5_000
      while (tt.now() < end) {
        if (yield* allowN(lim, 1)) numOK++
        // still offers ~500 requests per second
        tt.advance(2)
      }
      const elapsed = tt.now() - start
      const ideal = burst + limit * elapsed / 1000
      // never more requests than allowed, and very close to that number
      expect(numOK).toBeLessThanOrEqual(Math.trunc(ideal + 1))
      expect(numOK).toBeGreaterThanOrEqual(Math.trunc(0.999 * ideal))
    }).pipe(memory, Effect.withClock(tt.clock)))

  it.effect("TestSimpleReserve", () =>
    Effect.gen(function*() {
      const lim = yield* newLimiter(10, 2)
      const a = yield* runReserve(lim, 0, 2)
      const b = yield* runReserve(lim, 0, 2)
      const c = yield* runReserve(lim, 3, 2)
      expect(yield* actAt(a)).toBe(0)
      expect(yield* actAt(b)).toBe(2)
      expect(yield* actAt(c)).toBe(4)
    }).pipe(memory))

  it.effect("TestMix", () =>
    Effect.gen(function*() {
      const lim = yield* newLimiter(10, 2)
      // {t0, 3, t1, false}: "n > Burst": a RangeError defect in Sturdy, which takes nothing
      expect(Cause.isDie(yield* Effect.flip(Effect.sandbox(lim.waiting.consume(KEY, 3))))).toBe(true)
      const a = yield* runReserve(lim, 0, 2)
      yield* run(lim, [[1, 2, false]]) // not enough tokens - don't allow
      const b = yield* runReserve(lim, 1, 2)
      // {t1, -1, 1, false}: negative tokens: a RangeError defect in Sturdy
      expect(Cause.isDie(yield* Effect.flip(Effect.sandbox(lim.allowing.consume(KEY, -1))))).toBe(true)
      expect(yield* actAt(a)).toBe(0)
      expect(yield* actAt(b)).toBe(2)
      // {t3, 1, 1, true} (the clock is past t3 now: the bucket is full again)
      expect(yield* allowN(lim, 1)).toBe(true)
    }).pipe(memory))

  it.effect("TestCancelInvalid", () =>
    Effect.gen(function*() {
      const lim = yield* newLimiter(10, 2)
      const a = yield* runReserve(lim, 0, 2)
      // the invalid reservation (3 > burst) is a RangeError defect; there is nothing to cancel
      expect(Cause.isDie(yield* Effect.flip(Effect.sandbox(lim.waiting.consume(KEY, 3))))).toBe(true)
      const b = yield* runReserve(lim, 0, 2) // did not get extra tokens
      expect(yield* actAt(a)).toBe(0)
      expect(yield* actAt(b)).toBe(2)
    }).pipe(memory))

  it.effect("TestCancelLast", () =>
    Effect.gen(function*() {
      const lim = yield* newLimiter(10, 2)
      yield* runReserve(lim, 0, 2)
      const r = yield* runReserve(lim, 0, 2)
      yield* at(1)
      yield* Fiber.interrupt(r) // got 2 tokens back
      const next = yield* runReserve(lim, 1, 2)
      expect(yield* actAt(next)).toBe(2)
    }).pipe(memory))

  it.effect("TestCancelTooLate", () =>
    Effect.gen(function*() {
      const lim = yield* newLimiter(10, 2)
      yield* runReserve(lim, 0, 2)
      const r = yield* runReserve(lim, 0, 2)
      yield* at(3)
      yield* Fiber.interrupt(r) // too late to cancel - should have no effect
      expect(yield* Fiber.join(r)).toBe(2)
      const next = yield* runReserve(lim, 3, 2)
      expect(yield* actAt(next)).toBe(4)
    }).pipe(memory))

  it.effect("TestCancel0Tokens", () =>
    Effect.gen(function*() {
      const lim = yield* newLimiter(10, 2)
      yield* runReserve(lim, 0, 2)
      const r = yield* runReserve(lim, 0, 1)
      const later = yield* runReserve(lim, 0, 1)
      yield* Fiber.interrupt(r)
      const next = yield* runReserve(lim, 0, 1)
      // Go gives back 0 tokens (the later reservation was promised the token r gave up): `later` acts at t2 and the
      // next caller at t3, with t1 unused. Sturdy gives r's token back and `later` moves up into r's slot, t1: the
      // next caller takes t2
      expect(yield* actAt(later)).toBe(1)
      expect(yield* actAt(next)).toBe(2)
    }).pipe(memory))

  it.effect("TestCancel1Token", () =>
    Effect.gen(function*() {
      const lim = yield* newLimiter(10, 2)
      yield* runReserve(lim, 0, 2)
      const r = yield* runReserve(lim, 0, 2)
      const later = yield* runReserve(lim, 0, 1)
      yield* at(2)
      // Go's CancelAt(t2) still restores 1 token (r's time to act is t2, not before it); in Sturdy r's wait has ended
      // at t2 and it has its tokens: interrupting it gives nothing back, and the next caller acts at t5, not Go's t4
      yield* Fiber.interrupt(r)
      expect(yield* Fiber.join(r)).toBe(2)
      const next = yield* runReserve(lim, 2, 2)
      expect(yield* actAt(later)).toBe(3)
      expect(yield* actAt(next)).toBe(5)
    }).pipe(memory))

  it.effect("TestCancelMulti", () =>
    Effect.gen(function*() {
      const lim = yield* newLimiter(10, 4)
      yield* runReserve(lim, 0, 4)
      const rA = yield* runReserve(lim, 0, 3)
      const rB = yield* runReserve(lim, 0, 1)
      const rC = yield* runReserve(lim, 0, 1)
      yield* at(1)
      yield* Fiber.interrupt(rC) // get 1 token back
      yield* Fiber.interrupt(rA) // Go: 2 tokens back, as if C was never reserved; Sturdy: all 3
      const next = yield* runReserve(lim, 1, 3)
      // Go: B acts at t4 and the next caller at t5. Sturdy moves B up by A's 3 tokens, to t1 (now), and the next
      // caller takes the 3 tokens of t2..t4
      expect(yield* actAt(rB)).toBe(1)
      expect(yield* actAt(next)).toBe(4)
    }).pipe(memory))

  it.effect("TestReserveJumpBack", () =>
    Effect.gen(function*() {
      const lim = yield* newLimiter(10, 2)
      const a = yield* runReserve(lim, 1, 2) // start at t1
      const b = yield* runReserve(lim, 0, 1) // should violate Limit,Burst
      const c = yield* runReserve(lim, 2, 2)
      // burst size is 2, so n=3 always fails (a RangeError defect in Sturdy), and the state of lim is not changed
      yield* at(0)
      expect(Cause.isDie(yield* Effect.flip(Effect.sandbox(lim.waiting.consume(KEY, 3))))).toBe(true)
      const e = yield* runReserve(lim, 2, 1)
      // the maxReserve (`maxWait`) is not enough so it fails
      yield* at(0)
      const limited = yield* RateLimit.make({ limit: 2, window: Duration.millis(2 * d), maxWait: Duration.millis(d) })
      const rejected = yield* Effect.flip(limited.consume(KEY, 2))
      expect(rejected).toMatchObject({ _tag: "RateLimitExceeded", reason: "Limit" })
      const g = yield* runReserve(lim, 2, 1)
      expect([yield* actAt(a), yield* actAt(b), yield* actAt(c), yield* actAt(e)]).toEqual([1, 1, 3, 4])
      // Go: t5, since its failed reservation leaves the limiter as it was. Sturdy's store has already moved its refill
      // mark back to t0 when it sees the clock there (and gives back the tokens of the rejected call), so the tokens
      // of t0..t2 are counted again at t2: the last caller acts at t3. A clock set back can grant more than the limit
      // in both (Go's second case above says so too)
      expect(yield* actAt(g)).toBe(3)
    }).pipe(memory))

  it.effect("TestReserveJumpBackCancel", () =>
    Effect.gen(function*() {
      const lim = yield* newLimiter(10, 2)
      const a = yield* runReserve(lim, 1, 2) // start at t1
      const r = yield* runReserve(lim, 1, 2)
      const later = yield* runReserve(lim, 1, 1)
      yield* at(0)
      yield* Fiber.interrupt(r) // cancel at t0: Go gets 1 token back, Sturdy both, and `later` moves up to t2
      const next = yield* runReserve(lim, 1, 2) // should violate Limit,Burst
      // Go: `later` at t4
      expect([yield* actAt(a), yield* actAt(later)]).toEqual([1, 2])
      // Go answers t4; Sturdy t3 (both tokens back, and the refill counted from t0 where the clock was set back)
      expect(yield* actAt(next)).toBe(3)
    }).pipe(memory))

  it.effect("TestReserveMax", () =>
    Effect.gen(function*() {
      // `maxReserve` is `maxWait`
      const lim = yield* RateLimit.make({ limit: 2, window: Duration.millis(2 * d), maxWait: Duration.millis(d) })
      const reserveMax = (n: number) =>
        Effect.gen(function*() {
          const fiber = yield* Effect.fork(Effect.zipRight(lim.consume(KEY, n), Clock.currentTimeMillis))
          yield* Effect.yieldNow()
          return fiber
        })
      const a = yield* reserveMax(2)
      const b = yield* reserveMax(1) // reserve for close future
      const c = yield* reserveMax(1) // time to act too far in the future
      yield* TestClock.adjust("1 minute")
      expect(yield* Fiber.join(a)).toBe(0)
      expect(yield* Fiber.join(b)).toBe(d)
      const rejected = yield* Effect.flip(Fiber.join(c))
      expect(rejected).toMatchObject({ _tag: "RateLimitExceeded", reason: "Limit" })
      expect(rejected._tag === "RateLimitExceeded" && Duration.toMillis(rejected.retryAfter)).toBe(2 * d)
    }).pipe(memory))

  it.effect("TestWaitSimple", () =>
    Effect.gen(function*() {
      const lim = yield* newLimiter(10, 3)
      // "already-cancelled": a context already done is a deadline already passed: Sturdy's Deadline fails the call
      // at once, and the limiter is not asked
      const cancelled = yield* Effect.exit(
        Effect.zipRight(TestClock.adjust("1 millis"), lim.waiting.consume(KEY, 1)).pipe(Deadline.withDeadline(0))
      )
      expect(Exit.isFailure(cancelled)).toBe(true)
      // "exceed-burst-error": a RangeError defect in Sturdy
      expect(Cause.isDie(yield* Effect.flip(Effect.sandbox(lim.waiting.consume(KEY, 4))))).toBe(true)
      const start = yield* Clock.currentTimeMillis
      const actNow = yield* reserve(lim, 2)
      expect(yield* Fiber.join(actNow)).toBe(start / d) // act-now
      const actLater = yield* reserve(lim, 3)
      expect(yield* actAt(actLater)).toBe(start / d + 2) // act-later
    }).pipe(memory))

  it.effect("TestWaitCancel", () =>
    Effect.gen(function*() {
      const lim = yield* newLimiter(10, 3)
      const actNow = yield* reserve(lim, 2) // after this lim.tokens = 1
      expect(yield* Fiber.join(actNow)).toBe(0)
      const willCancel = yield* reserve(lim, 3)
      yield* at(1)
      yield* Fiber.interrupt(willCancel)
      // should get 3 tokens back, and have 2 tokens
      const afterCancel = yield* reserve(lim, 2)
      expect(Exit.isSuccess(yield* Fiber.await(afterCancel))).toBe(true)
      expect(yield* Fiber.join(afterCancel)).toBe(1) // act-now-after-cancel
    }).pipe(memory))

  it.effect("TestWaitTimeout", () =>
    Effect.gen(function*() {
      const lim = yield* newLimiter(10, 3)
      const timed = (n: number) =>
        Effect.exit(Effect.zipRight(lim.waiting.consume(KEY, n), Clock.currentTimeMillis)).pipe(
          Deadline.withDeadline(Duration.millis(d))
        )
      expect(yield* timed(2)).toEqual(Exit.succeed(0)) // act-now
      // "w-timeout-err": 3 tokens need 2 d, past the deadline: Go's WaitN fails at once without waiting, and so does
      // Sturdy, with RateLimitExceeded (retryAfter the wait) rather than the deadline's error
      const exit = yield* timed(3)
      expect(yield* Clock.currentTimeMillis).toBe(0)
      expect(Exit.isFailure(exit)).toBe(true)
      const error = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : undefined
      expect(error?._tag === "Some" && error.value).toMatchObject({ _tag: "RateLimitExceeded", reason: "Limit" })
      // the tokens were not taken: 2 tokens are due at 2 d... and the one left is still there
      expect(yield* allowN(lim, 1)).toBe(true)
    }).pipe(memory))

  it.effect("TestZeroLimit", () =>
    Effect.gen(function*() {
      // Go's rate 0 with burst 1 (one call, then none ever) has no window in Sturdy: a window must be finite, so an
      // infinite one (a rate of 0) is a RangeError when the limiter is made
      const zero = yield* Effect.exit(RateLimit.make({ limit: 1, window: Duration.infinity }))
      expect(Exit.isFailure(zero) && Cause.squash(zero.cause)).toBeInstanceOf(RangeError)
      // the nearest Sturdy limiter, one call per very long window, answers as Go's does
      const lim = yield* newLimiter(1e-10, 1)
      expect(yield* allowN(lim, 1)).toBe(true)
      expect(yield* allowN(lim, 1)).toBe(false)
    }).pipe(memory))

  it.effect("TestTinyLimit", () =>
    Effect.gen(function*() {
      const lim = yield* newLimiter(1e-10, 1)
      // the limiter starts with 1 burst token, so the first request should succeed
      expect(yield* allowN(lim, 1)).toBe(true)
      // the token bucket has not been replenished yet, so the second request should fail
      expect(yield* allowN(lim, 1)).toBe(false)
    }).pipe(memory))
})
