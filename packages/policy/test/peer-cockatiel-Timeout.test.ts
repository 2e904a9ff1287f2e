// Ported from cockatiel's src/TimeoutPolicy.test.ts (connor4312/cockatiel), one `it` per cockatiel case, named after
// it. Mapping: cockatiel's aggressive timeout (the call is abandoned, the caller gets TaskCancelledError) is
// `Deadline.withDeadline` (the call is interrupted, the caller gets `DeadlineExceeded`); its cooperative timeout (the
// signal is aborted, the call decides) is `Deadline.establish` (no timer: `Deadline.remaining` reaches zero and the
// call's own waits, Sturdy's included, bound themselves by it). cockatiel's signal is Effect's interruption.
// cockatiel's onSuccess/onFailure/onTimeout events have no Sturdy counterpart on `Deadline`: the outcome itself says
// which happened (a `DeadlineExceeded` failure is the timeout); the event cases assert that outcome.
// Not ported: "does not unref by default", "unrefs as requested" (Node timer refs; an Effect timer is the runtime's).
import { describe, expect, it } from "@effect/vitest"
import { Backoff, Deadline, Retry } from "@sturdy/policy"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"

const remainingMillis = Effect.map(Deadline.remaining, Option.map(Duration.toMillis))

// runs `effect` on the TestClock, advancing it by `millis`
const after = <A, E>(millis: number, effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* TestClock.adjust(millis)
    return yield* Fiber.await(fiber)
  })

const failureOf = <A, E>(exit: Exit.Exit<A, E>) =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined

describe("peer cockatiel TimeoutPolicy", () => {
  it.effect("works when no timeout happens", () =>
    Effect.gen(function*() {
      expect(yield* Effect.succeed(42).pipe(Deadline.establish(1000))).toBe(42)
      expect(yield* Effect.succeed(42).pipe(Deadline.withDeadline(1000))).toBe(42)
    }))

  it.effect("properly cooperatively cancels", () =>
    Effect.gen(function*() {
      const exit = yield* after(
        3,
        Effect.gen(function*() {
          expect(yield* remainingMillis).toEqual(Option.some(2))
          yield* Effect.sleep("3 millis")
          expect(yield* remainingMillis).toEqual(Option.some(0))
          return 42
        }).pipe(Deadline.establish(2))
      )
      expect(exit).toStrictEqual(Exit.succeed(42))
    }))

  it.effect("properly aggressively cancels", () =>
    Effect.gen(function*() {
      const verified = yield* Deferred.make<boolean>()
      const exit = yield* after(
        10,
        Effect.gen(function*() {
          expect(yield* remainingMillis).toEqual(Option.some(5))
          yield* Effect.sleep("6 millis")
          yield* Deferred.succeed(verified, false)
        }).pipe(
          Effect.onInterrupt(() => Deferred.succeed(verified, true)),
          Deadline.withDeadline(5)
        )
      )
      const error = failureOf(exit)
      expect(error).toBeInstanceOf(Deadline.DeadlineExceeded)
      expect((error as Deadline.DeadlineExceeded).reason).toBe("Deadline")
      expect(Duration.toMillis((error as Deadline.DeadlineExceeded).timeout)).toBe(5)
      // the call itself was interrupted (cockatiel: its signal aborted)
      expect(yield* Deferred.await(verified)).toBe(true)
    }))

  it.effect("links parent cancellation token", () =>
    Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      const interrupted = yield* Deferred.make<void>()
      const fiber = yield* Effect.fork(
        Effect.zipRight(Deferred.succeed(started, undefined), Effect.never).pipe(
          Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined)),
          Deadline.withDeadline(1000)
        )
      )
      yield* Deferred.await(started)
      expect(Exit.isInterrupted(yield* Fiber.interrupt(fiber))).toBe(true)
      expect(yield* Deferred.isDone(interrupted)).toBe(true)
    }))

  it.effect("still has own timeout if given parent", () =>
    Effect.gen(function*() {
      // cooperative: the inner, shorter deadline is the one the call sees
      const coop = yield* after(
        3,
        Effect.gen(function*() {
          expect(yield* remainingMillis).toEqual(Option.some(1))
          yield* Effect.sleep("3 millis")
          expect(yield* remainingMillis).toEqual(Option.some(0))
        }).pipe(Deadline.establish(1), Deadline.establish(1000))
      )
      expect(Exit.isSuccess(coop)).toBe(true)
      // aggressive: the inner one fires
      const agg = yield* after(3, Effect.sleep("3 millis").pipe(Deadline.withDeadline(1), Deadline.withDeadline(1000)))
      expect(Duration.toMillis((failureOf(agg) as Deadline.DeadlineExceeded).timeout)).toBe(1)
    }))

  // cockatiel aborts the call's signal once it returns, releasing its timer. Under Sturdy the deadline's timer is
  // interrupted once the call returned, and the deadline does not outlive the call.
  it.effect("aborts on return by default", () =>
    Effect.gen(function*() {
      expect(yield* Effect.succeed(1).pipe(Deadline.withDeadline(1000))).toBe(1)
      expect(yield* Deadline.remaining).toEqual(Option.none())
      // and a call that returned is not failed later by its timer
      const exit = yield* after(2000, Effect.succeed(2).pipe(Deadline.withDeadline(1000)))
      expect(exit).toStrictEqual(Exit.succeed(2))
    }))

  // cockatiel's `abortOnReturn: false` leaves the signal un-aborted; with Effect a daemon fiber outlives the call,
  // and the timer of a call that returned never fires.
  it.effect("does not aborts on return if requested", () =>
    Effect.gen(function*() {
      let child: Fiber.RuntimeFiber<void> | undefined
      yield* Effect.gen(function*() {
        child = yield* Effect.forkDaemon(Effect.sleep("10 millis"))
      }).pipe(Deadline.withDeadline(1))
      yield* TestClock.adjust(10)
      expect(child !== undefined && Exit.isSuccess(yield* Fiber.await(child))).toBe(true)
    }))

  describe("events", () => {
    it.effect("emits a success event (cooperative)", () =>
      Effect.gen(function*() {
        const exit = yield* after(3, Effect.succeed(42).pipe(Deadline.establish(2)))
        expect(exit).toStrictEqual(Exit.succeed(42))
      }))

    it.effect("emits a success event (aggressive)", () =>
      Effect.gen(function*() {
        const exit = yield* after(3, Effect.succeed(42).pipe(Deadline.withDeadline(2)))
        expect(exit).toStrictEqual(Exit.succeed(42))
      }))

    it.effect("emits a timeout event (cooperative)", () =>
      Effect.gen(function*() {
        // still returned a good value, and the deadline had passed
        const exit = yield* after(
          3,
          Effect.zipRight(Effect.sleep("3 millis"), remainingMillis).pipe(Deadline.establish(2))
        )
        expect(exit).toStrictEqual(Exit.succeed(Option.some(0)))
      }))

    it.effect("emits a timeout event (aggressive)", () =>
      Effect.gen(function*() {
        const exit = yield* after(3, Effect.sleep("3 millis").pipe(Deadline.withDeadline(2)))
        expect(failureOf(exit)).toBeInstanceOf(Deadline.DeadlineExceeded)
      }))

    it.effect("emits a failure event (cooperative)", () =>
      Effect.gen(function*() {
        const error = new Error("oh no!")
        const exit = yield* after(3, Effect.fail(error).pipe(Deadline.establish(2)))
        expect(exit).toStrictEqual(Exit.fail(error))
      }))

    it.effect("emits a failure event (aggressive)", () =>
      Effect.gen(function*() {
        const error = new Error("oh no!")
        const exit = yield* after(3, Effect.fail(error).pipe(Deadline.withDeadline(2)))
        expect(exit).toStrictEqual(Exit.fail(error))
      }))
  })

  // cockatiel #81: a retry around a timeout leaked one abort listener per attempt. Here: 15 attempts, each under its
  // own 1 ms timeout and a 1 ms backoff, succeed on the 16th, and leave no deadline and no timer behind.
  it.effect("does not leak abort listeners (#81)", () =>
    Effect.gen(function*() {
      let c = 15
      const func = Effect.suspend(() => c-- > 0 ? Effect.fail(new Error("fail")) : Effect.void)
      const exit = yield* after(
        100,
        func.pipe(
          Deadline.attemptTimeout(1),
          Retry.retry({
            schedule: Backoff.exponential({ baseDelay: 1, factor: 2, maxDelay: 1, maxAttempts: Infinity })
          })
        )
      )
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(c).toBe(-1)
      expect(yield* Deadline.remaining).toEqual(Option.none())
      expect(Chunk.toReadonlyArray(yield* TestClock.sleeps())).toEqual([])
    }))
})
