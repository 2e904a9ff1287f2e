// Ported from eapache/go-resiliency at 39c0aa4a7ec871cc8e2f7be2c44db1362e0667b7: deadline/deadline_test.go, one `it`
// per Go test, named after it.
// Mapping: `deadline.New(d).Run(work)` is `work.pipe(Deadline.withDeadline(d))`; `ErrTimedOut` is
// `DeadlineExceeded`; the `stopper` channel a work function watches is the interruption Sturdy sends to `work` when
// the deadline passes (its `onInterrupt` runs); `time.Sleep` in the work is `Effect.sleep` on the TestClock.
// Deliberate differences: none. go-resiliency returns `ErrTimedOut` at once and leaves the work running until it
// looks at its stopper; Sturdy interrupts the work and returns once it has stopped (`disconnect: true` returns at once
// instead), so the work has always seen the stop by the time the caller has the failure.
// Not ported: ExampleDeadline (no assertion).
import { describe, expect, it } from "@effect/vitest"
import { Deadline } from "@sturdy/policy"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"

// the outcome of `work` under a 10 ms deadline, with the TestClock moved until it ends
const run = <A, E>(work: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(Deadline.withDeadline(work, "10 millis"))
    yield* TestClock.adjust("30 millis")
    return yield* Fiber.await(fiber)
  })

const isTimedOut = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" && Deadline.isDeadlineExceeded(exit.cause.error)

describe("peer go-resiliency deadline_test.go", () => {
  it.effect("TestDeadline", () =>
    Effect.gen(function*() {
      // takesFiveMillis
      expect(yield* run(Effect.sleep("5 millis"))).toEqual(Exit.void)

      // takesTwentyMillis
      expect(isTimedOut(yield* run(Effect.sleep("20 millis")))).toBe(true)

      // returnsError
      const foo = new Error("foo")
      expect(yield* run(Effect.fail(foo))).toEqual(Exit.fail(foo))

      // a work function that waits for its stopper, then returns nil: the caller gets ErrTimedOut and the work was
      // told to stop (`done` closed)
      let done = false
      const exit = yield* run(Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => (done = true)))))
      expect(isTimedOut(exit)).toBe(true)
      expect(done).toBe(true)
    }))
})
