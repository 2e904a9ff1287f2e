// Ported from slok/goresilience at 3163dfcb956c6ada224984dbf6a237137c1010ba: timeout/timeout_test.go, one `it` per
// table case of TestTimeout, named after it.
// Mapping: `timeout.New(Config{Timeout})` is `Deadline.withDeadline(Timeout, { disconnect: true })`: goresilience
// runs the function in a goroutine and answers `errors.ErrTimeout` as soon as the timeout passes, without waiting for
// it, as `disconnect` does (the function is interrupted in the background); `ErrTimeout` is `DeadlineExceeded`.
// `Cancel: true` (the function's context is cancelled at the timeout) is the interruption itself: every Sturdy
// deadline interrupts what it bounds. A Go `Timeout` of 1 is a nanosecond. `time.Sleep` is virtual.
// Deliberate difference: without `Cancel` goresilience leaves the function running to its end; Sturdy interrupts it
// in either case (a call that outlived its deadline has no one to answer).
import { describe, expect, it } from "@effect/vitest"
import { Deadline } from "@sturdy/policy"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"

const err = new Error("wanted error")

const timeout = (d: Duration.DurationInput) => <A, E>(f: Effect.Effect<A, E>) =>
  Deadline.withDeadline(f, d, { disconnect: true })

const failureOf = <A, E>(
  exit: Exit.Exit<A, E>
) => (Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined)

describe("slok/goresilience timeout_test.go TestTimeout", () => {
  it.effect("A command that has been run without timeout shouldn't return and error.", () =>
    Effect.gen(function*() {
      expect(yield* Effect.exit(timeout("1 second")(Effect.void))).toEqual(Exit.void)
    }))

  it.effect("A command that has been run without timeout should return aerror result).", () =>
    Effect.gen(function*() {
      expect(failureOf(yield* Effect.exit(timeout("1 second")(Effect.fail(err))))).toBe(err)
    }))

  it.effect(
    "A command that has been run with timeout should return a fallback and don't let the function finish and return the err result.",
    () =>
      Effect.gen(function*() {
        let finished = false
        const f = Effect.sleep("1 millis").pipe(
          Effect.zipRight(Effect.sync(() => (finished = true))),
          Effect.zipRight(Effect.fail(new Error("wanted error")))
        )
        const fiber = yield* Effect.fork(timeout(Duration.nanos(1n))(f))
        yield* TestClock.adjust(Duration.nanos(1n))
        // the timeout answers before the function's millisecond is up
        const exit = yield* Fiber.await(fiber)
        const e = failureOf(exit)
        expect(Deadline.isDeadlineExceeded(e)).toBe(true)
        yield* TestClock.adjust("1 millis")
        expect(finished).toBe(false)
      })
  )

  it.effect("A command that has been cancelled should not continue and don't let the function panic.", () =>
    Effect.gen(function*() {
      let panicked = false
      const f = Effect.sleep("1 millis").pipe(
        Effect.zipRight(Effect.sync(() => (panicked = true))),
        Effect.zipRight(Effect.dieMessage("this should not happen"))
      )
      const fiber = yield* Effect.fork(timeout(Duration.nanos(1n))(f))
      yield* TestClock.adjust(Duration.nanos(1n))
      expect(Deadline.isDeadlineExceeded(failureOf(yield* Fiber.await(fiber)))).toBe(true)
      yield* TestClock.adjust("10 millis")
      expect(panicked).toBe(false)
    }))
})
