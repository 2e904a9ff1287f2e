import { describe, expect, it } from "@effect/vitest"
import * as Deadline from "@sturdy/policy/Deadline"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { interruptedWhileMasked } from "./utils/heldInterruption.js"
import { noLeftoverFibers } from "./utils/noLeftoverFibers.js"

const remainingMillis = Effect.map(Deadline.remaining, Option.map(Duration.toMillis))

describe("Deadline", () => {
  it("a NaN timeout is a RangeError naming it, not a deadline already passed; a negative one has passed", () => {
    for (const bad of [Number.NaN, [Number.NaN, 0] as const]) {
      expect(() => Deadline.withDeadline(Effect.void, bad)).toThrow(
        /Deadline.withDeadline: timeout .* is not a duration/
      )
      expect(() => Deadline.attemptTimeout(Effect.void, bad)).toThrow(/Deadline.attemptTimeout: timeout/)
      expect(() => Deadline.establish(Effect.void, bad)).toThrow(/Deadline.establish: timeout/)
      expect(() => Deadline.establish("1 second", { attemptTimeout: bad })).toThrow(
        /Deadline.establish: attemptTimeout/
      )
    }
    const passed = Effect.runSync(Effect.flip(Deadline.withDeadline(Effect.never, -1)))
    expect(passed._tag).toBe("DeadlineExceeded")
  })

  it("a string that is no duration is a RangeError naming it when made, not Effect's bare Error when run", () => {
    for (const bad of ["1e3 millis", "200", "NaN millis", "soon"] as Array<Duration.DurationInput>) {
      expect(() => Deadline.withDeadline(Effect.void, bad)).toThrow(
        new RangeError(`Deadline.withDeadline: timeout (${String(bad)}) is not a duration`)
      )
      expect(() => Deadline.attemptTimeout(bad)(Effect.void)).toThrow(
        /Deadline.attemptTimeout: timeout .* is not a duration/
      )
      expect(() => Deadline.establish(bad)).toThrow(/Deadline.establish: timeout .* is not a duration/)
      expect(() => Deadline.establish(Effect.void, "1 second", { attemptTimeout: bad })).toThrow(
        /Deadline.establish: attemptTimeout/
      )
      expect(() => Deadline.ensureRemaining(bad)).toThrow(/Deadline.ensureRemaining: minimum/)
    }
    // every form Effect reads is still accepted
    const good: Array<Duration.DurationInput> = ["1 second", "1.5 seconds", 100, BigInt(5), [1, 0], Duration.infinity]
    for (const input of good) {
      expect(() => Deadline.withDeadline(Effect.void, input)).not.toThrow()
      expect(() => Deadline.establish(Effect.void, input, { attemptTimeout: input })).not.toThrow()
    }
  })

  it.effect("interrupts a hanging effect when the deadline passes", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(Effect.never.pipe(Deadline.withDeadline("1 second")))
      yield* TestClock.adjust("999 millis")
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* TestClock.adjust("1 millis")
      const error = yield* Effect.flip(Fiber.join(fiber))
      expect(error._tag).toBe("DeadlineExceeded")
      expect(error.reason).toBe("Deadline")
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
        Exit.fail(new Deadline.DeadlineExceeded({ reason: "Deadline", timeout: Duration.zero }))
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
      expect(error.reason).toBe("Deadline")
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
        Exit.fail(new Deadline.DeadlineExceeded({ reason: "Deadline", timeout: Duration.seconds(2) }))
      )
      expect(Exit.isFailure(outer)).toBe(true)
    }))

  it.effect("attemptTimeout fails with reason Attempt; the total deadline wins when sooner", () =>
    Effect.gen(function*() {
      const attempt = yield* Effect.fork(Effect.never.pipe(Deadline.attemptTimeout("500 millis")))
      yield* TestClock.adjust("500 millis")
      const timedOut = yield* Effect.flip(Fiber.join(attempt))
      expect(timedOut.reason).toBe("Attempt")
      expect(timedOut.message).toBe("attempt timed out after 500ms")

      const bounded = yield* Effect.fork(
        Effect.never.pipe(Deadline.attemptTimeout("5 seconds"), Deadline.withDeadline("1 second"))
      )
      yield* TestClock.adjust("1 second")
      const expired = yield* Effect.flip(Fiber.join(bounded))
      expect(expired.reason).toBe("Deadline")
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

  it.effect("a limit longer than a timer can hold is none, as an infinite one: nothing fires, remaining is None", () =>
    Effect.gen(function*() {
      const tooLong = Duration.millis(2 ** 31)
      const limits = [
        Deadline.withDeadline(tooLong),
        Deadline.attemptTimeout(tooLong),
        Deadline.establish(tooLong),
        // an established attempt timeout a timer cannot hold caps nothing
        <A, E, R>(self: Effect.Effect<A, E, R>) =>
          self.pipe(Deadline.attemptTimeout(tooLong), Deadline.establish(tooLong, { attemptTimeout: tooLong }))
      ]
      for (const limited of limits) {
        expect(yield* limited(Deadline.remaining)).toEqual(Option.none())
        const fiber = yield* Effect.fork(limited(Effect.never))
        yield* TestClock.adjust("400 days")
        expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
        yield* Fiber.interrupt(fiber)
      }
      // one millisecond less is a limit
      const fiber = yield* Effect.fork(Effect.exit(Deadline.withDeadline(Effect.never, Duration.millis(2 ** 31 - 1))))
      yield* TestClock.adjust("25 days")
      expect(Exit.isFailure(yield* Fiber.join(fiber))).toBe(true)
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

  it("ensureRemaining refuses a NaN minimum when made, which Effect would read as zero", () => {
    // found porting p-timeout's "throws when milliseconds is NaN": a minimum parsed from an unset setting
    // (`Number(undefined)`) passed under any deadline with time left
    expect(() => Deadline.ensureRemaining(Number.NaN)).toThrow(/Deadline\.ensureRemaining: minimum \(NaN\)/)
    expect(() => Deadline.ensureRemaining([Number.NaN, 0])).toThrow(RangeError)
  })

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

const limitNow = FiberRef.get(Deadline.currentLimit)

describe("Deadline: self-enforcing limits and established attempt timeouts (TestClock)", () => {
  it.effect("selfEnforcing still arms a timer under TestClock: a hanging effect fails when the limit passes", () =>
    Effect.gen(function*() {
      const deadline = yield* Effect.fork(Effect.never.pipe(Deadline.withDeadline("1 second", { selfEnforcing: true })))
      const attempt = yield* Effect.fork(Deadline.attemptTimeout(Effect.never, "500 millis", { selfEnforcing: true }))
      yield* TestClock.adjust("499 millis")
      expect(Option.isNone(yield* Fiber.poll(attempt))).toBe(true)
      yield* TestClock.adjust("1 millis")
      expect(yield* Effect.flip(Fiber.join(attempt))).toStrictEqual(
        new Deadline.DeadlineExceeded({ reason: "Attempt", timeout: Duration.millis(500) })
      )
      yield* TestClock.adjust("499 millis")
      expect(Option.isNone(yield* Fiber.poll(deadline))).toBe(true)
      yield* TestClock.adjust("1 millis")
      expect(yield* Effect.flip(Fiber.join(deadline))).toStrictEqual(
        new Deadline.DeadlineExceeded({ reason: "Deadline", timeout: Duration.seconds(1) })
      )
    }))

  it.effect("the limit seen under TestClock with selfEnforcing is armed (a timer enforces it)", () =>
    Effect.gen(function*() {
      expect(Deadline.isLiveClock(yield* Effect.clock)).toBe(false)
      const limit = yield* limitNow.pipe(Deadline.attemptTimeout("500 millis", { selfEnforcing: true }))
      expect(limit).toMatchObject({ at: 500, reason: "Attempt", armed: true })
      expect(Duration.toMillis(limit.timeout)).toBe(500)
    }))

  it.effect("establish's attemptTimeout caps a looser inner attemptTimeout: 10 s inside a 1 s cap fails at 1 s", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(
        Effect.never.pipe(
          Deadline.attemptTimeout("10 seconds"),
          Deadline.establish("1 minute", { attemptTimeout: "1 second" })
        )
      )
      yield* TestClock.adjust("999 millis")
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* TestClock.adjust("1 millis")
      const error = yield* Effect.flip(Fiber.join(fiber))
      expect(error).toStrictEqual(
        new Deadline.DeadlineExceeded({ reason: "Attempt", timeout: Duration.seconds(1) })
      )
      expect(error.message).toBe("attempt timed out after 1s")
    }))

  it.effect("establish's attemptTimeout does not loosen a tighter inner attemptTimeout", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(
        Effect.never.pipe(
          Deadline.attemptTimeout("200 millis"),
          Deadline.establish("1 minute", { attemptTimeout: "1 second" })
        )
      )
      yield* TestClock.adjust("200 millis")
      expect(yield* Effect.flip(Fiber.join(fiber))).toStrictEqual(
        new Deadline.DeadlineExceeded({ reason: "Attempt", timeout: Duration.millis(200) })
      )
    }))

  it.effect("each attempt gets the established cap from its own start", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(
        Effect.gen(function*() {
          yield* Effect.sleep("700 millis")
          return yield* Effect.never.pipe(Deadline.attemptTimeout("10 seconds"), Effect.flip)
        }).pipe(Deadline.establish("1 minute", { attemptTimeout: "1 second" }))
      )
      yield* TestClock.adjust("1699 millis")
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* TestClock.adjust("1 millis")
      expect((yield* Fiber.join(fiber)).reason).toBe("Attempt")
    }))

  it.effect("an attemptTimeout looser than an established deadline fails at that deadline, reason deadline", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(
        Effect.never.pipe(Deadline.attemptTimeout("10 seconds"), Deadline.establish("2 seconds"))
      )
      yield* TestClock.adjust("1999 millis")
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* TestClock.adjust("1 millis")
      const error = yield* Effect.flip(Fiber.join(fiber))
      expect(error).toStrictEqual(new Deadline.DeadlineExceeded({ reason: "Deadline", timeout: Duration.seconds(2) }))
      expect(error.message).toBe("deadline of 2s exceeded")
    }))

  it.effect("a looser withDeadline inside an established deadline also ends at the established one", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(
        Effect.never.pipe(Deadline.withDeadline("1 minute"), Deadline.establish("3 seconds"))
      )
      yield* TestClock.adjust("3 seconds")
      expect(yield* Effect.flip(Fiber.join(fiber))).toStrictEqual(
        new Deadline.DeadlineExceeded({ reason: "Deadline", timeout: Duration.seconds(3) })
      )
    }))

  it.effect("currentLimit: nothing by default, armed under withDeadline, unarmed with attemptMillis under establish", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(10_000)
      const none = yield* limitNow
      expect(none).toMatchObject({ at: Number.POSITIVE_INFINITY, attemptMillis: Number.POSITIVE_INFINITY })
      expect(Duration.isFinite(none.attemptTimeout)).toBe(false)

      const armed = yield* limitNow.pipe(Deadline.withDeadline("3 seconds"))
      expect(armed).toMatchObject({ at: 13_000, reason: "Deadline", armed: true })
      expect(Duration.toMillis(armed.timeout)).toBe(3000)

      const established = yield* limitNow.pipe(Deadline.establish("2 seconds", { attemptTimeout: "500 millis" }))
      expect(established).toMatchObject({ at: 12_000, reason: "Deadline", armed: false, attemptMillis: 500 })
      expect(Duration.toMillis(established.timeout)).toBe(2000)
      expect(Duration.toMillis(established.attemptTimeout)).toBe(500)

      // an attempt cap alone sets no deadline
      const capOnly = yield* limitNow.pipe(Deadline.establish(Duration.infinity, { attemptTimeout: "1 second" }))
      expect(capOnly).toMatchObject({ at: Number.POSITIVE_INFINITY, attemptMillis: 1000 })

      // a looser establish keeps the enclosing deadline and attempt cap
      const nested = yield* limitNow.pipe(
        Deadline.establish("1 minute", { attemptTimeout: "5 seconds" }),
        Deadline.establish("2 seconds", { attemptTimeout: "500 millis" })
      )
      expect(nested).toMatchObject({ at: 12_000, armed: false, attemptMillis: 500 })
    }))

  it.effect("the outer limit is restored after the inner effect succeeds and after it fails", () =>
    Effect.gen(function*() {
      const seen = yield* Effect.gen(function*() {
        const outer = yield* limitNow
        const inside = yield* limitNow.pipe(Deadline.withDeadline("1 second"))
        const afterSuccess = yield* limitNow
        const failed = yield* Effect.fail("boom").pipe(Deadline.attemptTimeout("500 millis"), Effect.exit)
        const afterFailure = yield* limitNow
        const establishedFailure = yield* Effect.fail("boom").pipe(
          Deadline.establish("1 second", { attemptTimeout: "100 millis" }),
          Effect.exit
        )
        const afterEstablished = yield* limitNow
        return { outer, inside, afterSuccess, failed, afterFailure, establishedFailure, afterEstablished }
      }).pipe(Deadline.withDeadline("5 seconds"))
      expect(seen.inside.at).toBe(1000)
      expect(seen.outer.at).toBe(5000)
      expect(seen.afterSuccess).toStrictEqual(seen.outer)
      expect(seen.failed).toStrictEqual(Exit.fail("boom"))
      expect(seen.afterFailure).toStrictEqual(seen.outer)
      expect(seen.establishedFailure).toStrictEqual(Exit.fail("boom"))
      expect(seen.afterEstablished).toStrictEqual(seen.outer)
      expect((yield* limitNow).at).toBe(Number.POSITIVE_INFINITY)
    }))

  it.effect("what the effect sets under a limit stays set after it: only the limit is put back", () =>
    Effect.gen(function*() {
      const note = FiberRef.unsafeMake("none")
      const seen = yield* Effect.gen(function*() {
        const outer = yield* limitNow
        yield* FiberRef.set(note, "established").pipe(Deadline.establish("1 second"))
        const afterEstablished = { limit: yield* limitNow, note: yield* FiberRef.get(note) }
        yield* Effect.fail("boom").pipe(
          Effect.ensuring(FiberRef.set(note, "failed")),
          Deadline.establish("2 seconds"),
          Effect.exit
        )
        const afterFailure = { limit: yield* limitNow, note: yield* FiberRef.get(note) }
        yield* Effect.void.pipe(Deadline.withDeadline("3 seconds"))
        const afterNothing = { limit: yield* limitNow, note: yield* FiberRef.get(note) }
        return { outer, afterEstablished, afterFailure, afterNothing }
      }).pipe(Deadline.withDeadline("5 seconds"))
      expect(seen.afterEstablished).toStrictEqual({ limit: seen.outer, note: "established" })
      expect(seen.afterFailure).toStrictEqual({ limit: seen.outer, note: "failed" })
      expect(seen.afterNothing).toStrictEqual({ limit: seen.outer, note: "failed" })
      expect(yield* FiberRef.get(note)).toBe("failed")
    }))

  it.effect("under a limit the fiber keeps its services and Clock, and fibers it forks see the limit", () =>
    Effect.gen(function*() {
      class Greeting extends Context.Tag("Greeting")<Greeting, string>() {}
      yield* TestClock.adjust("7 seconds")
      const seen = yield* Effect.gen(function*() {
        const limit = yield* limitNow
        const forked = yield* Effect.fork(limitNow).pipe(Effect.flatMap(Fiber.join))
        const greeting = yield* Greeting
        const inner = yield* Effect.provideService(Greeting, "inner")(Greeting)
        const afterInner = yield* Greeting
        const now = yield* Clock.currentTimeMillis
        return { limit, forked, greeting, inner, afterInner, now }
      }).pipe(
        Deadline.establish("1 second", { attemptTimeout: "100 millis" }),
        Effect.provideService(Greeting, "outer")
      )
      expect(seen.limit.at).toBe(8000)
      expect(seen.forked).toStrictEqual(seen.limit)
      expect([seen.greeting, seen.inner, seen.afterInner, seen.now]).toStrictEqual(["outer", "inner", "outer", 7000])
      expect((yield* limitNow).at).toBe(Number.POSITIVE_INFINITY)
      const forkedAfter = yield* Effect.fork(limitNow).pipe(Effect.flatMap(Fiber.join))
      expect(forkedAfter.at).toBe(Number.POSITIVE_INFINITY)
    }))

  it.effect("the outer limit is restored after an inner limit fires", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(
        Effect.gen(function*() {
          const outer = yield* limitNow
          const inner = yield* Effect.never.pipe(Deadline.attemptTimeout("1 second"), Effect.flip)
          const after = yield* limitNow
          return { outer, inner, after }
        }).pipe(Deadline.establish("10 seconds"))
      )
      yield* TestClock.adjust("1 second")
      const { after, inner, outer } = yield* Fiber.join(fiber)
      expect(inner.reason).toBe("Attempt")
      expect(outer).toMatchObject({ at: 10_000, armed: false })
      expect(after).toStrictEqual(outer)
    }))
})

describe("Deadline: self-enforcing limits under the live clock", () => {
  it.live("isLiveClock is true for the default clock", () =>
    Effect.gen(function*() {
      expect(Deadline.isLiveClock(yield* Effect.clock)).toBe(true)
    }))

  it.live("a self-enforcing attemptTimeout arms no timer: Effect.never outlives its 50 ms limit", () =>
    Effect.gen(function*() {
      const winner = yield* Effect.race(
        Deadline.attemptTimeout(Effect.never, "50 millis", { selfEnforcing: true }).pipe(Effect.as("never")),
        Effect.sleep("150 millis").pipe(Effect.as("sleep"))
      )
      // the contract: `self` must abort its own waits; nothing else does
      expect(winner).toBe("sleep")
    }))

  it.live("inside a self-enforcing limit the current limit is unarmed, with the limit's time and reason", () =>
    Effect.gen(function*() {
      const before = Date.now()
      const attempt = yield* limitNow.pipe(Deadline.attemptTimeout("50 millis", { selfEnforcing: true }))
      const after = Date.now()
      expect(attempt).toMatchObject({ reason: "Attempt", armed: false })
      expect(Duration.toMillis(attempt.timeout)).toBe(50)
      expect(attempt.at).toBeGreaterThanOrEqual(before + 50)
      expect(attempt.at).toBeLessThanOrEqual(after + 50)

      const deadline = yield* limitNow.pipe(Deadline.withDeadline("1 second", { selfEnforcing: true }))
      expect(deadline).toMatchObject({ reason: "Deadline", armed: false })
      // no limit is left behind
      expect((yield* limitNow).at).toBe(Number.POSITIVE_INFINITY)
    }))

  it.live("a self-enforcing limit looser than an armed one leaves the armed one in force", () =>
    Effect.gen(function*() {
      const seen = yield* Effect.gen(function*() {
        const outer = yield* limitNow
        const inner = yield* limitNow.pipe(Deadline.attemptTimeout("1 minute", { selfEnforcing: true }))
        return { outer, inner }
      }).pipe(Deadline.withDeadline("10 seconds"))
      expect(seen.outer.armed).toBe(true)
      expect(seen.inner).toStrictEqual(seen.outer)
    }))

  it.live("an attempt inside an established cap is left to `self`: the limit stays the established one", () =>
    Effect.gen(function*() {
      const seen = yield* Effect.gen(function*() {
        const outer = yield* limitNow
        const inner = yield* limitNow.pipe(Deadline.attemptTimeout("10 seconds", { selfEnforcing: true }))
        return { outer, inner }
      }).pipe(Deadline.establish("1 minute", { attemptTimeout: "100 millis" }))
      expect(seen.outer).toMatchObject({ armed: false, attemptMillis: 100 })
      expect(seen.inner).toStrictEqual(seen.outer)
    }))

  it.live("a self-enforcing limit with no time left fails at once", () =>
    Effect.gen(function*() {
      let ran = false
      const error = yield* Effect.sync(() => {
        ran = true
      }).pipe(Deadline.attemptTimeout(Duration.zero, { selfEnforcing: true }), Effect.flip)
      expect(ran).toBe(false)
      expect(error).toStrictEqual(new Deadline.DeadlineExceeded({ reason: "Attempt", timeout: Duration.zero }))
    }))

  it.effect("disconnect: the limit fails on time even when self ignores interruption, which ends in the background", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const stubborn = Effect.uninterruptible(Effect.sleep("5 seconds")).pipe(
        Effect.onInterrupt(() => Effect.sync(() => log.push("interrupted")))
      )
      const disconnected = yield* Effect.fork(
        Effect.flip(stubborn.pipe(Deadline.attemptTimeout("1 second", { disconnect: true })))
      )
      const attached = yield* Effect.fork(Effect.flip(stubborn.pipe(Deadline.attemptTimeout("1 second"))))
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(disconnected)).toStrictEqual(
        new Deadline.DeadlineExceeded({ reason: "Attempt", timeout: Duration.seconds(1) })
      )
      // without it, the caller waits for self to stop
      expect(Option.isNone(yield* Fiber.poll(attached))).toBe(true)
      yield* TestClock.adjust("4 seconds")
      expect((yield* Fiber.join(attached))._tag).toBe("DeadlineExceeded")
      expect(log).toEqual(["interrupted", "interrupted"])
    }))
})

describe("Deadline.declareEnforcement", () => {
  it("declares a transport by its postprocess step, so transports sharing that step are declared too", () => {
    const postprocess = () => undefined
    const transport = { postprocess, execute: () => undefined }
    const derived = { postprocess, execute: () => "another request step" }
    const other = { postprocess: () => undefined }
    expect(Deadline.isEnforcedBy(transport)).toBe(false)
    expect(Deadline.declareEnforcement(transport)).toBe(transport)
    expect(Deadline.isEnforcedBy(transport)).toBe(true)
    expect(Deadline.isEnforcedBy(derived)).toBe(true)
    expect(Deadline.isEnforcedBy(other)).toBe(false)
  })

  it("declares any other object by identity", () => {
    const transport = { send: () => undefined }
    Deadline.declareEnforcement(transport)
    expect(Deadline.isEnforcedBy(transport)).toBe(true)
    expect(Deadline.isEnforcedBy({ send: transport.send })).toBe(false)
  })
})

describe("Deadline: nesting against a model", () => {
  it.effect("nested withDeadline, attemptTimeout and establish agree with a model (seeded)", () =>
    Effect.gen(function*() {
      type Kind = "withDeadline" | "attemptTimeout" | "establish"
      const layer = FastCheck.record({
        kind: FastCheck.constantFrom<Kind>("withDeadline", "attemptTimeout", "establish"),
        tens: FastCheck.integer({ min: 1, max: 50 })
      })
      const runs = FastCheck.sample(
        FastCheck.record({
          layers: FastCheck.array(layer, { maxLength: 5 }),
          sleep: FastCheck.integer({ min: 1, max: 60 })
        }),
        { seed: 7, numRuns: 200 }
      )
      for (const { layers, sleep } of runs) {
        // distinct limits, and a sleep that ties with none of them: no outcome depends on a race
        const limits = layers.map((l, i) => ({ kind: l.kind, millis: l.tens * 10 + i + 1 }))
        const sleepMillis = sleep * 10 + 7
        let seen: Option.Option<Duration.Duration> = Option.none()
        let call: Effect.Effect<string, Deadline.DeadlineExceeded> = Effect.flatMap(Deadline.remaining, (left) => {
          seen = left
          return Effect.as(Effect.sleep(sleepMillis), "done")
        })
        for (const { kind, millis } of limits.slice().reverse()) {
          call = kind === "withDeadline"
            ? Deadline.withDeadline(call, millis)
            : kind === "attemptTimeout"
            ? Deadline.attemptTimeout(call, millis)
            : Deadline.establish(call, millis)
        }
        const fiber = yield* Effect.fork(call)
        yield* TestClock.adjust("10 seconds")
        const exit = yield* Fiber.await(fiber)

        // the model: `remaining` is the soonest limit, established ones included; what fires is the soonest limit
        // that a timer enforces: an armed one, or an established one with an armed one inside it
        const context = JSON.stringify({ limits, sleepMillis })
        const soonest = Math.min(...limits.map((l) => l.millis))
        expect(seen, context).toStrictEqual(limits.length === 0 ? Option.none() : Option.some(Duration.millis(soonest)))
        const enforced = limits.filter((l, i) => limits.slice(i).some((inner) => inner.kind !== "establish"))
        const fired = enforced.reduce<(typeof limits)[number] | undefined>(
          (first, l) => (first === undefined || l.millis < first.millis ? l : first),
          undefined
        )
        if (fired === undefined || sleepMillis < fired.millis) {
          expect(exit, context).toStrictEqual(Exit.succeed("done"))
        } else {
          expect(exit, context).toStrictEqual(
            Exit.fail(
              new Deadline.DeadlineExceeded({
                reason: fired.kind === "attemptTimeout" ? "Attempt" : "Deadline",
                timeout: Duration.millis(fired.millis)
              })
            )
          )
        }
      }
    }))
})

describe("Deadline.headOnly", () => {
  it.effect("sets currentHeadOnly for the effect only, its forks and the limits set inside it included", () =>
    Effect.gen(function*() {
      expect(yield* FiberRef.get(Deadline.currentHeadOnly)).toBe(false)
      const inside = yield* Effect.all([
        FiberRef.get(Deadline.currentHeadOnly),
        Effect.flatMap(Effect.fork(FiberRef.get(Deadline.currentHeadOnly)), Fiber.join),
        // `establish` swaps the fiber's refs to set its limit: the flag survives it, and the limit is the one set
        FiberRef.get(Deadline.currentHeadOnly).pipe(Deadline.establish("1 second", { attemptTimeout: "100 millis" })),
        FiberRef.get(Deadline.currentHeadOnly).pipe(Deadline.attemptTimeout("100 millis"))
      ]).pipe(Deadline.headOnly)
      expect(inside).toEqual([true, true, true, true])
      expect(yield* FiberRef.get(Deadline.currentHeadOnly)).toBe(false)
      // the limit in force is not changed by it
      const limit = yield* FiberRef.get(Deadline.currentLimit).pipe(Deadline.headOnly, Deadline.establish("1 second"))
      expect(limit.at).toBe((yield* Clock.currentTimeMillis) + 1000)
      // set back after a failure too
      yield* Effect.flip(Deadline.headOnly(Effect.fail("no")))
      expect(yield* FiberRef.get(Deadline.currentHeadOnly)).toBe(false)
    }))
})

describe("Deadline: disconnected inside a caller's mask", () => {
  // the disconnected `self` and the wait for it inherited the caller's mask: the limit's interruption was ignored, so
  // the limit never failed and `self` ran on for ever
  it.effect("a disconnected attempt timeout fails on time inside an uninterruptible region, and leaves nothing", () =>
    noLeftoverFibers(Effect.gen(function*() {
      const fiber = yield* Effect.fork(
        Effect.uninterruptible(
          Effect.flip(Effect.never.pipe(Deadline.attemptTimeout("1 second", { disconnect: true })))
        )
      )
      yield* TestClock.adjust("1 second")
      const failure = yield* Fiber.poll(fiber)
      expect(Option.map(failure, Exit.map((e) => e._tag))).toEqual(Option.some(Exit.succeed("DeadlineExceeded")))
    })))

  // an uninterruptible fiber hands an interruption it holds off on to the fibers it started: the timeout's, where the
  // disconnected `self`, now interruptible, took it, and the caller's region ended at once, interrupted
  it.effect("interrupted from outside, the masked caller still waits for the limit, then ends interrupted", () =>
    noLeftoverFibers(Effect.gen(function*() {
      const failure = yield* interruptedWhileMasked(
        Effect.never.pipe(Deadline.attemptTimeout("5 seconds", { disconnect: true })),
        { interruptAfter: "1 second", endsAfter: "4 seconds" }
      )
      expect(Option.map(failure, (e) => e._tag)).toEqual(Option.some("DeadlineExceeded"))
    })))

  it.effect("an interruptible caller of a disconnected limit is interrupted at once", () =>
    noLeftoverFibers(Effect.gen(function*() {
      const fiber = yield* Effect.fork(Effect.never.pipe(Deadline.attemptTimeout("5 seconds", { disconnect: true })))
      yield* TestClock.adjust("1 second")
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
    })))
})
