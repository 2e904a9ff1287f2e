import { describe, expect, it } from "@effect/vitest"
import * as Deadline from "@sturdy/policy/Deadline"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"

const remainingMillis = Effect.map(Deadline.remaining, Option.map(Duration.toMillis))

describe("Deadline", () => {
  it.effect("interrupts a hanging effect when the deadline passes", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(Effect.never.pipe(Deadline.withDeadline("1 second")))
      yield* TestClock.adjust("999 millis")
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* TestClock.adjust("1 millis")
      const error = yield* Effect.flip(Fiber.join(fiber))
      expect(error._tag).toBe("DeadlineExceeded")
      expect(error.reason).toBe("deadline")
      expect(Duration.toMillis(error.timeout)).toBe(1000)
      expect(error.message).toBe("deadline of 1s exceeded")
    }))

  it.effect("lets an effect that finishes in time succeed", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(
        Effect.sleep("300 millis").pipe(Effect.as("done"), Deadline.withDeadline("1 second"))
      )
      yield* TestClock.adjust("300 millis")
      expect(yield* Fiber.join(fiber)).toBe("done")
    }))

  it.effect("fails at once, without running the effect, when no time is left", () =>
    Effect.gen(function*() {
      let ran = false
      const exit = yield* Effect.sync(() => {
        ran = true
      }).pipe(Deadline.withDeadline(Duration.zero), Effect.exit)
      expect(ran).toBe(false)
      expect(exit).toStrictEqual(
        Exit.fail(new Deadline.DeadlineExceeded({ reason: "deadline", timeout: Duration.zero }))
      )
    }))

  it.effect("nested deadlines share one deadline: an inner one can only shorten it", () =>
    Effect.gen(function*() {
      const observed = yield* Effect.gen(function*() {
        yield* TestClock.adjust("1 second")
        const outer = yield* remainingMillis
        const looser = yield* remainingMillis.pipe(Deadline.withDeadline("10 seconds"))
        const tighter = yield* remainingMillis.pipe(Deadline.withDeadline("2 seconds"))
        const after = yield* remainingMillis
        return { outer, looser, tighter, after }
      }).pipe(Deadline.withDeadline("5 seconds"))
      expect(observed).toEqual({
        outer: Option.some(4000),
        looser: Option.some(4000),
        tighter: Option.some(2000),
        after: Option.some(4000)
      })
      expect(yield* Deadline.remaining).toEqual(Option.none())
    }))

  it.effect("a looser inner deadline still ends when the outer one does", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(
        Effect.never.pipe(Deadline.withDeadline("1 minute"), Deadline.withDeadline("2 seconds"))
      )
      yield* TestClock.adjust("2 seconds")
      const error = yield* Effect.flip(Fiber.join(fiber))
      expect(error.reason).toBe("deadline")
      expect(Duration.toMillis(error.timeout)).toBe(2000)
    }))

  it.effect("an inner call entered after the shared deadline passed fails at once", () =>
    Effect.gen(function*() {
      let inner: Exit.Exit<string, Deadline.DeadlineExceeded> | undefined
      // Uninterruptible, so the outer timer cannot end the body: the inner call must notice by itself.
      const outer = yield* Effect.gen(function*() {
        yield* TestClock.adjust("3 seconds")
        inner = yield* Effect.succeed("late").pipe(Deadline.withDeadline("10 seconds"), Effect.exit)
      }).pipe(Effect.uninterruptible, Deadline.withDeadline("2 seconds"), Effect.exit)
      expect(inner).toStrictEqual(
        Exit.fail(new Deadline.DeadlineExceeded({ reason: "deadline", timeout: Duration.seconds(2) }))
      )
      expect(Exit.isFailure(outer)).toBe(true)
    }))

  it.effect("attemptTimeout fails with reason attempt-timeout; the total deadline wins when sooner", () =>
    Effect.gen(function*() {
      const attempt = yield* Effect.fork(Effect.never.pipe(Deadline.attemptTimeout("500 millis")))
      yield* TestClock.adjust("500 millis")
      const timedOut = yield* Effect.flip(Fiber.join(attempt))
      expect(timedOut.reason).toBe("attempt-timeout")
      expect(timedOut.message).toBe("attempt timed out after 500ms")

      const bounded = yield* Effect.fork(
        Effect.never.pipe(Deadline.attemptTimeout("5 seconds"), Deadline.withDeadline("1 second"))
      )
      yield* TestClock.adjust("1 second")
      const expired = yield* Effect.flip(Fiber.join(bounded))
      expect(expired.reason).toBe("deadline")
    }))

  it.effect("establish sets the deadline without arming a timer; an inner one can only shorten it", () =>
    Effect.gen(function*() {
      const seen = yield* Deadline.current.pipe(Deadline.establish("2 seconds"))
      expect(seen).toEqual(Option.some(2000))
      const nested = yield* Deadline.current.pipe(Deadline.establish("5 seconds"), Deadline.establish("1 second"))
      expect(nested).toEqual(Option.some(1000))
      // nothing interrupts: the effect outlives the deadline it set
      const fiber = yield* Effect.fork(
        Effect.sleep("3 seconds").pipe(Effect.as("done"), Deadline.establish("1 second"))
      )
      yield* TestClock.adjust("3 seconds")
      expect(yield* Fiber.join(fiber)).toBe("done")
      const late = yield* Effect.exit(
        Effect.sleep("2 seconds").pipe(
          Effect.zipRight(Deadline.ensureRemaining("1 millis")),
          Deadline.establish("1 second"),
          Effect.fork,
          Effect.tap(() => TestClock.adjust("2 seconds")),
          Effect.flatMap(Fiber.join)
        )
      )
      expect(Exit.isFailure(late)).toBe(true)
    }))

  it.effect("ensureRemaining fails at once unless enough time is left", () =>
    Effect.gen(function*() {
      expect(yield* Effect.exit(Deadline.ensureRemaining("1 hour"))).toStrictEqual(Exit.void)
      const result = yield* Effect.gen(function*() {
        const enough = yield* Effect.exit(Deadline.ensureRemaining("500 millis"))
        const tooMuch = yield* Effect.exit(Deadline.ensureRemaining("2 seconds"))
        return { enough, tooMuch }
      }).pipe(Deadline.withDeadline("1 second"))
      expect(result.enough).toStrictEqual(Exit.void)
      expect(Exit.isFailure(result.tooMuch)).toBe(true)
    }))

  it.effect("current is the absolute deadline in Clock millis", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(10_000)
      expect(yield* Deadline.current.pipe(Deadline.withDeadline("1500 millis"))).toEqual(Option.some(11_500))
      expect(yield* Deadline.current).toEqual(Option.none())
    }))

  it.effect("renders the remaining time as a header for downstream", () =>
    Effect.gen(function*() {
      expect(yield* Deadline.header()).toEqual(Option.none())
      const headers = yield* Effect.gen(function*() {
        yield* TestClock.adjust("250 millis")
        return [yield* Deadline.header(), yield* Deadline.header({ name: "x-deadline-ms" })] as const
      }).pipe(Deadline.withDeadline("3 seconds"))
      expect(headers).toEqual([
        Option.some([Deadline.defaultHeaderName, "2750"]),
        Option.some(["x-deadline-ms", "2750"])
      ])
    }))
})
