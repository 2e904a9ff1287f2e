// Ported from failsafe-go (failsafe-go/failsafe-go, commit 5759a5e6d557eace215f820f5b5e663d5c05c3ee): the case of
// test/timeout_test.go that Failsafe's TimeoutTest does not have ("Timeout -> HedgePolicy with blocked execution"),
// and test/nested_timeout_test.go, one `it` per Go case (`t.Run`), named after it. (The package timeout/ has no test
// file; the other cases of timeout_test.go are Failsafe's, in peer-failsafe-Timeout.test.ts.)
// Mapping: a `timeout.New(d)` inside a RetryPolicy (one per attempt) is `Deadline.attemptTimeout(d)`, elsewhere
// `Deadline.withDeadline(d)`; `timeout.ErrExceeded` is `DeadlineExceeded`, whose `timeout` says which limit fired (the
// stats' `Executions()` of a timeout count the times it fired). `failsafe.With(outer, inner)` is
// `call.pipe(inner, outer)`; `retrypolicy.NewWithDefaults()` is `Schedule.recurs(2)`, `WithMaxRetries(n)`
// `Schedule.recurs(n)`; `hedgepolicy.NewBuilderWithDelay(d).WithMaxHedges(n)` is `Hedge.hedge({ delay: d, maxHedges:
// n })`; `fallback.NewWithResult(v)` is `Fallback.orElse(Effect.succeed(v))`. `WaitAndAssertCanceled(exec)` is an
// attempt that never ends on its own and records its interruption; `time.Sleep` is TestClock time.
// Sturdy's limits nest as Go's do: an inner limit looser than the one around it never fires (it arms no timer).
import { describe, expect, it } from "@effect/vitest"
import { Deadline, Fallback, Hedge, Retry } from "@sturdy/policy"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schedule from "effect/Schedule"
import { advanceToDone } from "./utils/advance.js"

class ErrInvalidArgument extends Error {}

// an attempt that waits until cancelled, counting the attempts and the interruptions
const blocked = () => {
  const s: { attempts: number; interrupted: number; readonly call: Effect.Effect<never> } = {
    attempts: 0,
    interrupted: 0,
    call: Effect.suspend(() => {
      s.attempts++
      return Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => void s.interrupted++)))
    })
  }
  return s
}

const failure = <A, E>(exit: Exit.Exit<A, E>) =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined

// the limit that fired, in milliseconds
const firedAt = (e: unknown) => Deadline.isDeadlineExceeded(e) ? Duration.toMillis(e.timeout) : undefined

describe("peer failsafe-go TestTimeout", () => {
  // Tests that an outer timeout will cancel inner hedge when the inner func is blocked. The flow should be:
  //   - Execution a hedge
  //   - Timeout
  it.effect("Timeout -> HedgePolicy with blocked execution", () =>
    Effect.gen(function*() {
      let hedges = 0
      const s = stub1s()
      const exit = yield* advanceToDone(
        s.call.pipe(
          Hedge.hedge({ delay: "10 millis", maxHedges: 2, onHedge: () => Effect.sync(() => void hedges++) }),
          Deadline.withDeadline("100 millis")
        )
      )
      expect(failure(exit)).toBeInstanceOf(Deadline.DeadlineExceeded)
      expect(firedAt(failure(exit))).toBe(100)
      expect(s.attempts).toBe(3)
      expect(hedges).toBe(2)
      expect(s.interrupted).toBe(3)
    }))
})

// time.Sleep(time.Second), then ErrInvalidArgument
const stub1s = () => {
  const s: { attempts: number; interrupted: number; readonly call: Effect.Effect<never, ErrInvalidArgument> } = {
    attempts: 0,
    interrupted: 0,
    call: Effect.suspend(() => {
      s.attempts++
      return Effect.zipRight(Effect.sleep("1 second"), Effect.fail(new ErrInvalidArgument())).pipe(
        Effect.onInterrupt(() => Effect.sync(() => void s.interrupted++))
      )
    })
  }
  return s
}

describe("peer failsafe-go TestTimeout_Nested", () => {
  it.effect("Timeout -> Timeout", () =>
    Effect.gen(function*() {
      const s = blocked()
      const exit = yield* advanceToDone(
        s.call.pipe(Deadline.withDeadline("100 millis"), Deadline.withDeadline("500 millis"))
      )
      expect(failure(exit)).toBeInstanceOf(Deadline.DeadlineExceeded)
      expect(firedAt(failure(exit))).toBe(100) // the inner timeout fired
      expect(s.attempts).toBe(1)
      expect(s.interrupted).toBe(1)
    }))

  // Tests a scenario where an inner timeout is exceeded, triggering retries, then eventually the outer timeout is
  // exceeded.
  it.effect("RetryPolicy -> Timeout", () =>
    Effect.gen(function*() {
      const s = blocked()
      let innerTimeouts = 0
      let retries = 0
      const exit = yield* advanceToDone(
        s.call.pipe(
          Deadline.attemptTimeout("100 millis"),
          Effect.tapError((e) => Effect.sync(() => void (e.reason === "Attempt" && innerTimeouts++))),
          Retry.retry({
            schedule: Schedule.recurs(10),
            onAttempt: (a) => Effect.sync(() => void (a.retrying && retries++))
          }),
          Deadline.withDeadline("500 millis")
        )
      )
      expect(failure(exit)).toMatchObject({ _tag: "DeadlineExceeded", reason: "Deadline" })
      expect(innerTimeouts).toBeGreaterThanOrEqual(3)
      expect(retries).toBeGreaterThanOrEqual(3)
      expect(s.attempts).toBe(s.interrupted)
    }))

  // Tests a scenario with a fallback, retry policy, and two timeouts, where the outer timeout triggers first.
  it.effect("Fallback -> RetryPolicy -> Timeout -> Timeout", () =>
    Effect.gen(function*() {
      const s = blocked()
      const fired: Array<number | undefined> = []
      const exit = yield* advanceToDone(
        s.call.pipe(
          Deadline.attemptTimeout("100 millis"),
          Deadline.attemptTimeout("50 millis"),
          Effect.tapError((e) => Effect.sync(() => void fired.push(firedAt(e)))),
          Retry.retry({ schedule: Schedule.recurs(2) }),
          Fallback.orElse(Effect.succeed(true))
        )
      )
      expect(Exit.isSuccess(exit) && exit.value.value).toBe(true)
      expect(s.attempts).toBe(3)
      // the outer (50 ms) timeout fired 3 times, the inner (100 ms) one never
      expect(fired).toEqual([50, 50, 50])
    }))

  // RetryPolicy -> Timeout -> Timeout
  //
  // Tests a scenario where three consecutive timeouts should cause the execution to be canceled for all policies.
  it.effect("cancel nested timeouts", () =>
    Effect.gen(function*() {
      const s = blocked()
      const fired: Array<number | undefined> = []
      let retries = 0
      const exit = yield* advanceToDone(
        s.call.pipe(
          Deadline.attemptTimeout("1 second"),
          Deadline.attemptTimeout("200 millis"),
          Effect.tapError((e) => Effect.sync(() => void fired.push(firedAt(e)))),
          Retry.retry({
            schedule: Schedule.recurs(2),
            onAttempt: (a) => Effect.sync(() => void (a.retrying && retries++))
          })
        )
      )
      expect(failure(exit)).toBeInstanceOf(Deadline.DeadlineExceeded)
      expect(s.attempts).toBe(3)
      expect(s.interrupted).toBe(3)
      expect(retries).toBe(2)
      expect(fired).toEqual([200, 200, 200])
    }))
})
