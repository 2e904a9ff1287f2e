// Ported from cockatiel's src/RetryPolicy.test.ts (connor4312/cockatiel), one `it` per cockatiel case, named after it.
// Option mapping: cockatiel's `maxAttempts` counts retries after the first call, Sturdy's `maxAttempts` counts every
// attempt (so cockatiel's N is Sturdy's N + 1); `handleType(T)` is `while: (e) => e instanceof T`; `IterableBackoff`
// is `Backoff.fromDelay` bounded by `Backoff.bounded`; `onRetry`/`onGiveUp` are the `onAttempt` hook (`retrying`).
// Not ported: "does not unref by default" and "unrefs as requested" (Node timer refs: an Effect fiber keeps its own
// runtime alive while it sleeps, and there is no unref option to port).
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Retry from "@sturdy/policy/Retry"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"

class MyErrorA extends Error {
  constructor() {
    super("Error A")
  }
}
class MyErrorB extends Error {
  constructor() {
    super("Error B")
  }
}

// A stub: answers each call with the next outcome of `outcomes` (the last one repeats), counting the calls.
const stub = <A, E>(...outcomes: ReadonlyArray<Effect.Effect<A, E>>) => {
  const s: { calls: number; readonly call: Effect.Effect<A, E> } = {
    calls: 0,
    call: Effect.suspend(() => outcomes[Math.min(s.calls++, outcomes.length - 1)]!)
  }
  return s
}

// Runs `effect` to completion on the TestClock, advancing virtual time as far as needed (no real sleep).
const runVirtual = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* TestClock.adjust("1 hour")
    return yield* Fiber.await(fiber)
  })

// cockatiel's IterableBackoff: the given delays, the last one repeated.
const iterable = (durations: ReadonlyArray<number>) =>
  Backoff.fromDelay((retry) => durations[Math.min(retry, durations.length) - 1])

describe("peer cockatiel RetryPolicy", () => {
  it.effect("types return data correctly in all cases", () =>
    Effect.gen(function*() {
      const multiply = (n: number) => n * 2
      const policy = Retry.retry({ schedule: Backoff.exponential({ maxAttempts: 2 }) })
      expect(multiply(yield* policy(Effect.succeed(42)))).toBe(84)
      expect(multiply(yield* policy(Effect.promise(async () => 42)))).toBe(84)
    }))

  describe("setting backoffs", () => {
    const makePolicy = (durations: ReadonlyArray<number>, delays: Array<number>) =>
      Retry.retry<Error>({
        schedule: Backoff.bounded(iterable(durations), { maxAttempts: durations.length + 1 }),
        onAttempt: (a) => Effect.sync(() => a.retrying && delays.push(Duration.toMillis(a.delay)))
      })

    it.effect("sets the retry delay", () =>
      Effect.gen(function*() {
        const delays: Array<number> = []
        const s = stub(Effect.fail(new MyErrorA()))
        const fiber = yield* Effect.fork(makePolicy([50], delays)(s.call))
        yield* TestClock.adjust(49)
        expect(s.calls).toBe(1)
        yield* TestClock.adjust(1)
        const exit = yield* Fiber.await(fiber)
        expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error).toBeInstanceOf(MyErrorA)
        expect(delays).toEqual([50])
        expect(s.calls).toBe(2)
      }))

    it.effect("sets the retry sequence", () =>
      Effect.gen(function*() {
        const delays: Array<number> = []
        const s = stub(Effect.fail(new MyErrorA()))
        const exit = yield* runVirtual(makePolicy([10, 20, 20], delays)(s.call))
        expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error).toBeInstanceOf(MyErrorA)
        expect(delays).toEqual([10, 20, 20])
        expect(s.calls).toBe(4)
      }))
  })

  it.effect("retries all errors", () =>
    Effect.gen(function*() {
      const s = stub<string, MyErrorA>(Effect.fail(new MyErrorA()), Effect.succeed("ok"))
      const exit = yield* runVirtual(Retry.retry(s.call))
      expect(exit).toStrictEqual(Exit.succeed("ok"))
      expect(s.calls).toBe(2)
    }))

  it.effect("filters error types", () =>
    Effect.gen(function*() {
      const s = stub<never, Error>(Effect.fail(new MyErrorA()), Effect.fail(new MyErrorB()))
      const exit = yield* runVirtual(
        Retry.retry(s.call, {
          schedule: Backoff.exponential({ maxAttempts: 6 }),
          while: (e) => e instanceof MyErrorA
        })
      )
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error).toBeInstanceOf(MyErrorB)
      expect(s.calls).toBe(2)
    }))

  // cockatiel retries on a result (`handleWhenResult`); Sturdy's `Retry` retries failures only. A result is retried
  // with Effect's `repeat` (`while` on the value) over a `Backoff` schedule, which returns the last value.
  it.effect("filters returns", () =>
    Effect.gen(function*() {
      const s = stub(Effect.succeed(1), Effect.succeed(2))
      const exit = yield* runVirtual(
        Effect.repeat(s.call, {
          schedule: Backoff.exponential({ maxAttempts: 6 }),
          while: (r) => r < 2
        })
      )
      expect(s.calls).toBe(2)
      expect(Exit.isSuccess(exit)).toBe(true)
    }))

  it.effect("permits specifying exponential backoffs", () =>
    Effect.gen(function*() {
      // every failure is handled; cockatiel's maxAttempts 2 = 3 attempts
      const s = stub<never, number>(Effect.fail(1))
      const delays: Array<number> = []
      const exit = yield* runVirtual(
        Retry.retry(s.call, {
          schedule: Backoff.exponential({ jitter: "none", maxAttempts: 3 }),
          onAttempt: (a) => Effect.sync(() => a.retrying && delays.push(Duration.toMillis(a.delay)))
        })
      )
      expect(exit).toStrictEqual(Exit.fail(1))
      expect(s.calls).toBe(3)
      expect(delays).toEqual([100, 200])
    }))

  // As "filters returns": a result is repeated with Effect's `repeat`, which gives back the last one when the
  // schedule is exhausted.
  it.effect("bubbles returns when retry attempts exceeded", () =>
    Effect.gen(function*() {
      const s = stub(Effect.succeed(1))
      let last = 0
      yield* runVirtual(
        Effect.repeat(Effect.tap(s.call, (r) => (last = r)), {
          schedule: Backoff.exponential({ maxAttempts: 6 }),
          while: (r) => r < 2
        })
      )
      expect(last).toBe(1)
      expect(s.calls).toBe(6)
    }))

  it.effect("bubbles errors when retry attempts exceeded", () =>
    Effect.gen(function*() {
      const err = new MyErrorB()
      const s = stub<never, MyErrorB>(Effect.fail(err))
      const exit = yield* runVirtual(Retry.retry(s.call, { schedule: Backoff.exponential({ maxAttempts: 6 }) }))
      expect(exit).toStrictEqual(Exit.fail(err))
      expect(s.calls).toBe(6)
    }))

  // cockatiel's AbortSignal is Effect's interruption: interrupting the caller during an attempt ends the call, and
  // no retry follows (Sturdy never retries an interruption).
  it.effect("stops retries if cancellation is requested", () =>
    Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      let calls = 0
      const attempt = Effect.suspend(() => {
        calls++
        return Effect.zipRight(Deferred.succeed(started, undefined), Effect.sleep("10 millis"))
      }).pipe(Effect.zipRight(Effect.fail(new Error())))
      const fiber = yield* Effect.fork(Retry.retry(attempt, { schedule: Backoff.exponential({ maxAttempts: 4 }) }))
      yield* Deferred.await(started)
      const exit = yield* Fiber.interrupt(fiber)
      yield* TestClock.adjust("1 hour")
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(calls).toBe(1)
    }))

  it.effect("fires onGiveUp", () =>
    Effect.gen(function*() {
      const err = new MyErrorA()
      const s = stub<never, MyErrorA>(Effect.fail(err))
      const gaveUp: Array<Retry.Attempt<MyErrorA>> = []
      const exit = yield* runVirtual(
        Retry.retry(s.call, {
          schedule: Backoff.exponential({ maxAttempts: 6 }),
          while: (e) => e instanceof MyErrorA,
          onAttempt: (a) => Effect.sync(() => !a.retrying && gaveUp.push(a))
        })
      )
      expect(exit).toStrictEqual(Exit.fail(err))
      expect(gaveUp.length).toBe(1)
      expect(gaveUp[0].failure).toBe(err)
      expect(gaveUp[0].reason).toBe("exhausted")
    }))

  // Deliberate difference: cockatiel's `onRetry` numbers the retries (1, 2, 3); Sturdy's `Attempt.attempt` is the
  // number of the attempt the decision is about (2 for the first retry), as the attempt count in `finalFailure`,
  // span events and logs, so that the first attempt is 1 everywhere. `attempt - 1` is cockatiel's number.
  it.effect("provides the attempt to the onRetry callback", () =>
    Effect.gen(function*() {
      const s = stub<never, MyErrorA>(Effect.fail(new MyErrorA()))
      const attempts: Array<number> = []
      yield* runVirtual(
        Retry.retry(s.call, {
          schedule: Backoff.exponential({ maxAttempts: 4 }),
          onAttempt: (a) => Effect.sync(() => a.retrying && attempts.push(a.attempt))
        })
      )
      expect(attempts).toEqual([2, 3, 4])
      expect(attempts.map((a) => a - 1)).toEqual([1, 2, 3])
    }))

  // Not a cockatiel case: any Effect schedule serves as a cockatiel backoff (here, its IterableBackoff without repeat).
  it.effect("sets the retry sequence with a plain Effect schedule", () =>
    Effect.gen(function*() {
      const s = stub<never, MyErrorA>(Effect.fail(new MyErrorA()))
      const delays: Array<number> = []
      yield* runVirtual(
        Retry.retry(s.call, {
          schedule: Schedule.fromDelays("10 millis", "20 millis", "20 millis"),
          onAttempt: (a) => Effect.sync(() => a.retrying && delays.push(Duration.toMillis(a.delay)))
        })
      )
      expect(delays).toEqual([10, 20, 20])
      expect(s.calls).toBe(4)
    }))
})
