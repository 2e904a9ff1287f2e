import { describe, expect, it } from "@effect/vitest"
import * as Deadline from "@sturdy/policy/Deadline"
import * as Workflow from "@sturdy/policy/Workflow"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"

class UserError extends Data.TaggedError("UserError")<{}> {}
class AdsError extends Data.TaggedError("AdsError")<{ readonly status: number }> {}

const deadlineOf = (millis: number) =>
  new Deadline.DeadlineExceeded({ reason: "Deadline", timeout: Duration.millis(millis) })

// A call that takes `latency`, then answers (or fails), and records how it ended.
const makeCall = <A, E = never>(latency: Duration.DurationInput, answer: Exit.Exit<A, E>) => {
  const state: { end: "done" | "interrupted" | "not started" } = { end: "not started" }
  const call = Effect.sleep(latency).pipe(
    Effect.onInterrupt(() =>
      Effect.sync(() => {
        state.end = "interrupted"
      })
    ),
    Effect.zipRight(Effect.sync(() => {
      state.end = "done"
    })),
    Effect.zipRight(answer)
  )
  return { call, state }
}

describe("Workflow", () => {
  it.effect("all-or-nothing: the first failure interrupts the other calls", () =>
    Effect.gen(function*() {
      const user = makeCall(100, Exit.fail(new UserError()))
      const orders = makeCall(1000, Exit.succeed(["o1"]))
      const fiber = yield* Effect.fork(Workflow.allOrNothing({ user: user.call, orders: orders.call }))
      yield* TestClock.adjust("100 millis")
      expect(yield* Effect.flip(Fiber.join(fiber))).toEqual(new UserError())
      expect(orders.state.end).toBe("interrupted")
    }))

  it.effect("all-or-nothing: every success under its name", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(
        Workflow.all({ user: makeCall(100, Exit.succeed("ada")).call, count: makeCall(200, Exit.succeed(3)).call })
      )
      yield* TestClock.adjust("200 millis")
      const page: { user: string; count: number } = yield* Fiber.join(fiber)
      expect(page).toEqual({ user: "ada", count: 3 })
    }))

  it.effect("all-or-nothing: the shared deadline ends the workflow with DeadlineExceeded", () =>
    Effect.gen(function*() {
      const slow = makeCall(5000, Exit.succeed(1))
      const fiber = yield* Effect.fork(
        Workflow.allOrNothing({ fast: makeCall(100, Exit.succeed(0)).call, slow: slow.call }, { deadline: "1 second" })
      )
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.await(fiber)).toStrictEqual(Exit.fail(deadlineOf(1000)))
      expect(slow.state.end).toBe("interrupted")
    }))

  it.effect("best-effort: a typed result per call, each with its own error type", () =>
    Effect.gen(function*() {
      const ads = makeCall(50, Exit.fail(new AdsError({ status: 503 })))
      const slow = makeCall(5000, Exit.succeed("late"))
      const fiber = yield* Effect.fork(
        Workflow.bestEffort(
          { user: makeCall(100, Exit.succeed("ada")).call, ads: ads.call, slow: slow.call },
          { deadline: "1 second" }
        )
      )
      yield* TestClock.adjust("1 second")
      const results = yield* Fiber.join(fiber)
      expect(results.user).toEqual(Either.right("ada"))
      const adsResult: Either.Either<never, AdsError | Deadline.DeadlineExceeded> = results.ads
      expect(adsResult).toEqual(Either.left(new AdsError({ status: 503 })))
      expect(results.slow).toEqual(Either.left(deadlineOf(1000)))
      expect(slow.state.end).toBe("interrupted")
    }))

  it.effect("a nested workflow shares the outer deadline: a looser inner one does not extend it", () =>
    Effect.gen(function*() {
      const inner = Effect.gen(function*() {
        yield* Effect.sleep("400 millis")
        return yield* Workflow.bestEffort({
          left: Effect.map(Deadline.remaining, Option.map(Duration.toMillis)),
          medium: makeCall(300, Exit.succeed("in time")).call
        }, { deadline: "10 seconds" })
      })
      const fiber = yield* Effect.fork(
        Workflow.bestEffort({ inner, other: makeCall(100, Exit.succeed(1)).call }, { deadline: "1 second" })
      )
      yield* TestClock.adjust("700 millis")
      const results = yield* Fiber.join(fiber)
      expect(results.other).toEqual(Either.right(1))
      expect(results.inner).toEqual(
        Either.right({ left: Either.right(Option.some(600)), medium: Either.right("in time") })
      )
    }))

  it.effect("inner calls see the remaining shared time and fail at once with the deadline failure when it is spent", () =>
    Effect.gen(function*() {
      let innerResults: unknown
      let remainingInside: Option.Option<number> = Option.none()
      const inner = Effect.gen(function*() {
        yield* Effect.sleep("300 millis")
        remainingInside = yield* Effect.map(Deadline.remaining, Option.map(Duration.toMillis))
        // Uninterruptible, so the outer bound cannot end the call: the inner workflow must notice by itself.
        yield* Effect.sleep("1 second")
        innerResults = yield* Workflow.bestEffort({ a: Effect.succeed(1), b: Effect.succeed(2) })
        return yield* Workflow.allOrNothing({ c: Effect.succeed(3) }).pipe(Effect.exit)
      }).pipe(Effect.uninterruptible)
      const fiber = yield* Effect.fork(Workflow.allOrNothing({ inner }, { deadline: "1 second" }))
      yield* TestClock.adjust("1300 millis")
      yield* Fiber.await(fiber)
      expect(remainingInside).toEqual(Option.some(700))
      expect(innerResults).toEqual({ a: Either.left(deadlineOf(1000)), b: Either.left(deadlineOf(1000)) })
    }))

  it.effect("a workflow entered with its deadline already spent starts no call", () =>
    Effect.gen(function*() {
      let started = 0
      const call = Effect.sync(() => ++started)
      const exit = yield* Effect.exit(Workflow.allOrNothing({ a: call, b: call }, { deadline: Duration.zero }))
      expect(exit).toStrictEqual(Exit.fail(deadlineOf(0)))
      const results = yield* Workflow.bestEffort({ a: call, b: call }, { deadline: Duration.zero })
      expect(results).toEqual({ a: Either.left(deadlineOf(0)), b: Either.left(deadlineOf(0)) })
      expect(started).toBe(0)
    }))

  it.effect("concurrency bounds how many calls run at once", () =>
    Effect.gen(function*() {
      let running = 0
      let most = 0
      const call = Effect.acquireUseRelease(
        Effect.sync(() => {
          running++
          most = Math.max(most, running)
        }),
        () => Effect.sleep("100 millis"),
        () => Effect.sync(() => running--)
      )
      const fiber = yield* Effect.fork(
        Workflow.allOrNothing({ a: call, b: call, c: call, d: call }, { concurrency: 2, deadline: "1 second" })
      )
      yield* TestClock.adjust("200 millis")
      yield* Fiber.join(fiber)
      expect(most).toBe(2)
    }))

  it.effect("without a deadline anywhere, calls run to their end", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(
        Workflow.all({ a: makeCall("1 hour", Exit.succeed("a")).call }, { mode: "best-effort" })
      )
      yield* TestClock.adjust("1 hour")
      expect(yield* Fiber.join(fiber)).toEqual({ a: Either.right("a") })
    }))

  it.effect("a call named __proto__ keeps its name in either mode", () =>
    Effect.gen(function*() {
      // an id from the outside, as a fan-out over ids builds the record
      const calls = Object.fromEntries(["__proto__", "a"].map((id) => [id, Effect.succeed(`user ${id}`)]))
      const all = yield* Workflow.allOrNothing(calls)
      expect(Object.keys(all)).toEqual(["__proto__", "a"])
      expect(Object.getOwnPropertyDescriptor(all, "__proto__")?.value).toBe("user __proto__")
      expect(Object.getPrototypeOf(all)).toBe(Object.prototype)
      const each = yield* Workflow.bestEffort(calls)
      expect(Object.keys(each)).toEqual(["__proto__", "a"])
      expect(Object.getOwnPropertyDescriptor(each, "__proto__")?.value).toEqual(Either.right("user __proto__"))
    }))

  it("a concurrency Effect would misread is refused", () => {
    for (const concurrency of [0, -1, 1.5, Number.NaN, "2"]) {
      const options = { concurrency } as unknown as Workflow.Options
      expect(() => Workflow.allOrNothing({ a: Effect.void }, options)).toThrow(
        /Workflow.allOrNothing: concurrency .* must be an integer of at least 1/
      )
      expect(() => Workflow.bestEffort({ a: Effect.void }, options)).toThrow(RangeError)
    }
    expect(() => Workflow.all({ a: Effect.void }, "fast" as unknown as Workflow.Options)).toThrow(RangeError)
    for (const concurrency of [1, 4, Number.POSITIVE_INFINITY, "unbounded" as const, undefined]) {
      expect(Effect.runSync(Workflow.allOrNothing({ a: Effect.succeed(1) }, { concurrency }))).toEqual({ a: 1 })
    }
  })
})
