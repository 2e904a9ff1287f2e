import { describe, expect, it } from "@effect/vitest"
import { Coalesce, Deadline } from "@sturdy/policy"
import { TestTracer } from "@sturdy/testing"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { defectOf } from "./utils/hostile.js"

class Unavailable extends Data.TaggedError("Unavailable")<{ readonly status: number }> {}

/** An upstream whose calls are counted and take `latency` of virtual time, then answer with `answer`. */
const makeUpstream = <A, E>(answer: Effect.Effect<A, E>, latency: Duration.DurationInput = "1 second") => {
  let runs = 0
  let finalized = 0
  const call = Effect.suspend(() => {
    runs++
    return Effect.zipRight(Effect.sleep(latency), answer)
  }).pipe(Effect.ensuring(Effect.sync(() => finalized++)))
  return { call, runs: () => runs, finalized: () => finalized }
}

describe("Coalesce", () => {
  it.effect("runs the effect once for concurrent calls of one key, and every caller gets its value", () =>
    Effect.gen(function*() {
      const group = yield* Coalesce.make()
      const upstream = makeUpstream(Effect.succeed("user-1"))
      const fibers = yield* Effect.forEach(
        Array.from({ length: 100 }),
        () => Effect.fork(Coalesce.run(upstream.call, group, "GET /users/1")),
        { concurrency: "unbounded" }
      )
      yield* Effect.yieldNow()
      expect(yield* group.inFlight).toEqual(new Map([["GET /users/1", 100]]))
      yield* TestClock.adjust("1 second")
      const answers = yield* Fiber.joinAll(fibers)
      expect(answers).toEqual(Array.from({ length: 100 }, () => "user-1"))
      expect(upstream.runs()).toBe(1)
      expect((yield* group.inFlight).size).toBe(0)
    }))

  it.effect("runs different keys independently", () =>
    Effect.gen(function*() {
      const group = yield* Coalesce.make()
      const one = makeUpstream(Effect.succeed(1))
      const two = makeUpstream(Effect.succeed(2), "2 seconds")
      const a = yield* Effect.fork(one.call.pipe(Coalesce.run(group, "one")))
      const b = yield* Effect.fork(two.call.pipe(Coalesce.run(group, "two")))
      const c = yield* Effect.fork(one.call.pipe(Coalesce.run(group, "one")))
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(a)).toBe(1)
      expect(yield* Fiber.join(c)).toBe(1)
      expect(yield* group.inFlight).toEqual(new Map([["two", 1]]))
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(b)).toBe(2)
      expect([one.runs(), two.runs()]).toEqual([1, 1])
    }))

  it.effect("shares a typed failure and a defect with every waiter", () =>
    Effect.gen(function*() {
      const group = yield* Coalesce.make()
      const failing = makeUpstream(Effect.fail(new Unavailable({ status: 503 })))
      const failures = yield* Effect.forEach([1, 2, 3], () => Effect.fork(Coalesce.run(failing.call, group, "k")))
      yield* TestClock.adjust("1 second")
      for (const fiber of failures) {
        const exit = yield* Fiber.await(fiber)
        expect(exit).toEqual(Exit.fail(new Unavailable({ status: 503 })))
      }
      expect(failing.runs()).toBe(1)

      const boom = new Error("boom")
      const dying = makeUpstream(Effect.die(boom))
      const defects = yield* Effect.forEach([1, 2, 3], () => Effect.fork(Coalesce.run(dying.call, group, "k")))
      yield* TestClock.adjust("1 second")
      for (const fiber of defects) {
        const exit = yield* Fiber.await(fiber)
        expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toBe(boom)
      }
      expect(dying.runs()).toBe(1)
    }))

  it.effect("keeps nothing: once the run ended, the next call of the key runs again", () =>
    Effect.gen(function*() {
      const group = yield* Coalesce.make()
      const upstream = makeUpstream(Effect.succeed("fresh"))
      const first = yield* Effect.fork(Coalesce.run(upstream.call, group, "k"))
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(first)).toBe("fresh")
      const second = yield* Effect.fork(Coalesce.run(upstream.call, group, "k"))
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(second)).toBe("fresh")
      expect(upstream.runs()).toBe(2)
    }))

  it.effect("a caller that joins late gets the answer of the run in flight", () =>
    Effect.gen(function*() {
      const group = yield* Coalesce.make()
      const upstream = makeUpstream(Effect.succeed("v1"), "10 seconds")
      const first = yield* Effect.fork(Coalesce.run(upstream.call, group, "k"))
      yield* TestClock.adjust("9 seconds")
      const late = yield* Effect.fork(Coalesce.run(Effect.succeed("never run"), group, "k"))
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(late)).toBe("v1")
      expect(yield* Fiber.join(first)).toBe("v1")
      expect(upstream.runs()).toBe(1)
    }))

  it.effect("interrupting the first caller leaves the run and the other waiters alone", () =>
    Effect.gen(function*() {
      const group = yield* Coalesce.make()
      const upstream = makeUpstream(Effect.succeed("value"))
      const first = yield* Effect.fork(Coalesce.run(upstream.call, group, "k"))
      const others = yield* Effect.forEach([1, 2], () => Effect.fork(Coalesce.run(upstream.call, group, "k")))
      yield* TestClock.adjust("500 millis")
      yield* Fiber.interrupt(first)
      expect(yield* group.inFlight).toEqual(new Map([["k", 2]]))
      yield* TestClock.adjust("500 millis")
      expect(yield* Fiber.joinAll(others)).toEqual(["value", "value"])
      expect(upstream.runs()).toBe(1)
      expect(upstream.finalized()).toBe(1)
    }))

  it.effect("interrupting every waiter interrupts the run and frees the key", () =>
    Effect.gen(function*() {
      const group = yield* Coalesce.make()
      const interrupted = yield* Deferred.make<void>()
      const upstream = makeUpstream(Effect.succeed("value"))
      // the interrupted run takes a minute to stop
      const call = Effect.onInterrupt(
        upstream.call,
        () => Effect.zipRight(Deferred.succeed(interrupted, undefined), Effect.sleep("1 minute"))
      )
      const fibers = yield* Effect.forEach([1, 2, 3], () => Effect.fork(Coalesce.run(call, group, "k")))
      yield* TestClock.adjust("500 millis")
      yield* Fiber.interrupt(fibers[1]!)
      yield* Fiber.interrupt(fibers[0]!)
      expect(upstream.finalized()).toBe(0)
      yield* Fiber.interrupt(fibers[2]!)
      yield* Deferred.await(interrupted)
      expect(upstream.finalized()).toBe(1)
      // freed at once: a new call runs anew, not joining the run still stopping
      expect((yield* group.inFlight).size).toBe(0)
      const again = yield* Effect.fork(Coalesce.run(upstream.call, group, "k"))
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(again)).toBe("value")
      expect(upstream.runs()).toBe(2)
    }))

  it.effect("a waiter with its own timeout times out alone; the others still get the value", () =>
    Effect.gen(function*() {
      const group = yield* Coalesce.make()
      const upstream = makeUpstream(Effect.succeed("value"), "2 seconds")
      const patient = yield* Effect.fork(Coalesce.run(upstream.call, group, "k"))
      const hasty = yield* Effect.fork(Coalesce.run(upstream.call, group, "k").pipe(Effect.timeout("1 second")))
      const alsoPatient = yield* Effect.fork(Coalesce.run(upstream.call, group, "k"))
      yield* TestClock.adjust("1 second")
      const timedOut = yield* Fiber.await(hasty)
      expect(Exit.isFailure(timedOut) && Cause.squash(timedOut.cause)).toBeInstanceOf(Cause.TimeoutException)
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(patient)).toBe("value")
      expect(yield* Fiber.join(alsoPatient)).toBe("value")
      expect(upstream.runs()).toBe(1)
    }))

  it.effect("the run has no deadline of the first caller's: a later caller with more time gets the value", () =>
    Effect.gen(function*() {
      const group = yield* Coalesce.make()
      const upstream = makeUpstream(Deadline.remaining, "2 seconds")
      const first = yield* Effect.fork(Coalesce.run(upstream.call, group, "k").pipe(Deadline.withDeadline("1 second")))
      const later = yield* Effect.fork(Coalesce.run(upstream.call, group, "k").pipe(Deadline.withDeadline("5 seconds")))
      yield* TestClock.adjust("1 second")
      expect(yield* Effect.flip(Fiber.join(first))).toMatchObject({ _tag: "DeadlineExceeded", reason: "Deadline" })
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(later)).toEqual(Option.none())
      expect(upstream.runs()).toBe(1)
    }))

  // a fiber inherits its parent's interruptibility: the deadline's timer, forked in the call's mask, ignored the
  // interruption meant to stop it when the value came first, and ran to the deadline
  it.effect("under an established deadline, a wait that ends first leaves no timer behind", () =>
    Effect.gen(function*() {
      const group = yield* Coalesce.make()
      const upstream = makeUpstream(Effect.succeed("value"), "1 second")
      const before = (yield* Fiber.roots).length
      const calls = yield* Effect.forEach(
        [1, 2, 3],
        () => Effect.fork(Coalesce.run(upstream.call, group, "k").pipe(Deadline.establish("1 hour")))
      )
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.joinAll(calls).pipe(Effect.as("joined"))).toBe("joined")
      yield* Effect.yieldNow()
      expect((yield* Fiber.roots).length - before).toBe(0)
    }))

  it.effect("under an established deadline, the wait bounds itself and fails with DeadlineExceeded alone", () =>
    Effect.gen(function*() {
      const group = yield* Coalesce.make()
      const upstream = makeUpstream(Effect.succeed("value"), "2 seconds")
      const patient = yield* Effect.fork(Coalesce.run(upstream.call, group, "k"))
      const bounded = yield* Effect.fork(Coalesce.run(upstream.call, group, "k").pipe(Deadline.establish("1 second")))
      yield* TestClock.adjust("1 second")
      const error = yield* Effect.flip(Fiber.join(bounded))
      expect(error).toBeInstanceOf(Deadline.DeadlineExceeded)
      expect(error).toMatchObject({ reason: "Deadline" })
      expect(yield* group.inFlight).toEqual(new Map([["k", 1]]))
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(patient)).toBe("value")

      // entered with its established deadline passed: fails at once and starts nothing
      const passed = yield* Effect.flip(
        Coalesce.run(upstream.call, group, "k").pipe(Deadline.establish("0 millis"))
      )
      expect(passed).toMatchObject({ _tag: "DeadlineExceeded", reason: "Deadline" })
      expect(upstream.runs()).toBe(1)
      expect((yield* group.inFlight).size).toBe(0)
    }))

  it.effect("an uninterruptible caller's wait still ends at its established deadline", () =>
    Effect.gen(function*() {
      const group = yield* Coalesce.make()
      const upstream = makeUpstream(Effect.succeed("value"), "2 seconds")
      const patient = yield* Effect.fork(Coalesce.run(upstream.call, group, "k"))
      const bounded = yield* Effect.fork(
        Coalesce.run(upstream.call, group, "k").pipe(Deadline.establish("1 second"), Effect.uninterruptible)
      )
      yield* TestClock.adjust("1 second")
      expect(yield* Effect.flip(Fiber.join(bounded))).toMatchObject({ _tag: "DeadlineExceeded" })
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(patient)).toBe("value")
    }))

  it.effect("the last waiter gone by its established deadline takes the run down", () =>
    Effect.gen(function*() {
      const group = yield* Coalesce.make()
      const upstream = makeUpstream(Effect.succeed("value"), "2 seconds")
      const bounded = yield* Effect.fork(Coalesce.run(upstream.call, group, "k").pipe(Deadline.establish("1 second")))
      yield* TestClock.adjust("1 second")
      expect(yield* Effect.flip(Fiber.join(bounded))).toMatchObject({ _tag: "DeadlineExceeded" })
      expect((yield* group.inFlight).size).toBe(0)
      yield* Effect.yieldNow()
      expect(upstream.finalized()).toBe(1)
    }))

  it.effect("the run uses the first caller's services", () =>
    Effect.gen(function*() {
      class Tenant extends Context.Tag("Tenant")<Tenant, string>() {}
      const group = yield* Coalesce.make()
      const call = Effect.zipRight(Effect.sleep("1 second"), Tenant)
      const first = yield* Effect.fork(Coalesce.run(call, group, "k").pipe(Effect.provideService(Tenant, "acme")))
      const second = yield* Effect.fork(Coalesce.run(call, group, "k").pipe(Effect.provideService(Tenant, "globex")))
      yield* TestClock.adjust("1 second")
      expect([yield* Fiber.join(first), yield* Fiber.join(second)]).toEqual(["acme", "acme"])
    }))

  it.effect("marks each caller's span with sturdy.coalesced", () =>
    Effect.gen(function*() {
      const { byName, tracer } = TestTracer.make()
      const group = yield* Coalesce.make()
      const call = (name: string) =>
        Coalesce.run(Effect.sleep("1 second"), group, "k").pipe(Effect.withSpan(name), Effect.withTracer(tracer))
      const fibers = yield* Effect.forEach(["leader", "follower"], (name) => Effect.fork(call(name)))
      yield* TestClock.adjust("1 second")
      yield* Fiber.joinAll(fibers)
      const coalesced = (name: string) => byName(name).map((span) => span.attributes.get("sturdy.coalesced"))
      expect([coalesced("leader"), coalesced("follower")]).toEqual([[false], [true]])
    }))

  it.effect("refuses bad options and a key that is not a string", () =>
    Effect.gen(function*() {
      expect(yield* defectOf(() => Coalesce.make("users" as never))).toBeInstanceOf(RangeError)
      expect(yield* defectOf(() => Coalesce.make({ name: 42 as never }))).toBeInstanceOf(RangeError)
      expect(() => Coalesce.unsafeMake([] as never)).toThrow(/options \(an array\) must be an object/)
      expect(() => Coalesce.unsafeMake({ name: 42 as never })).toThrow(/name \(number\) must be a string/)
      // unset, as a setting read as none
      expect(Coalesce.unsafeMake({ name: undefined }).name).toBe("default")
      expect(Coalesce.unsafeMake({ name: null as never }).name).toBe("default")
      const group = Coalesce.unsafeMake({ name: "users" })
      const defect = yield* defectOf(() => Coalesce.run(Effect.void, group, 1 as never))
      expect(defect).toBeInstanceOf(RangeError)
      expect(String(defect)).toMatch(/Coalesce users: key \(number\) must be a string/)
      expect((yield* group.inFlight).size).toBe(0)
    }))
})
