import { describe, expect, it } from "@effect/vitest"
import * as Bulkhead from "@sturdy/policy/Bulkhead"
import * as CircuitBreaker from "@sturdy/policy/CircuitBreaker"
import * as Deadline from "@sturdy/policy/Deadline"
import * as Hedge from "@sturdy/policy/Hedge"
import * as RetryBudget from "@sturdy/policy/RetryBudget"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as TestClock from "effect/TestClock"
import * as Tracer from "effect/Tracer"
import { sampleVisitsOfTracker } from "../src/internal/hedge.js"
import { defectOf } from "./utils/hostile.js"
import { wallClockStep } from "./utils/wallClockStep.js"

class Unavailable extends Data.TaggedError("Unavailable")<{ readonly attempt: number }> {}

interface Outcome {
  readonly latency: Duration.DurationInput
  readonly fail?: boolean
}

// An upstream whose n-th attempt takes `outcomes[n].latency` and then answers (or fails); records what happened.
const makeUpstream = (outcomes: ReadonlyArray<Outcome>) => {
  const log: Array<{ attempt: number; index: number; startedAt: number; end?: "done" | "interrupted" }> = []
  const call = Effect.gen(function*() {
    const attempt = log.length
    const index = yield* FiberRef.get(Hedge.currentIndex)
    const entry: (typeof log)[number] = { attempt, index, startedAt: yield* TestClock.currentTimeMillis }
    log.push(entry)
    const outcome = outcomes[Math.min(attempt, outcomes.length - 1)]!
    yield* Effect.sleep(outcome.latency).pipe(Effect.onInterrupt(() =>
      Effect.sync(() => {
        entry.end = "interrupted"
      })
    ))
    entry.end = "done"
    if (outcome.fail === true) return yield* Effect.fail(new Unavailable({ attempt }))
    return `answer ${attempt}`
  })
  return { call, log }
}

describe("Hedge", () => {
  it("rejects a negative or fractional maxHedges and a delay a timer cannot hold, naming them", () => {
    expect(() => Hedge.hedge(Effect.void, { delay: "1 second", maxHedges: -1 })).toThrow(/maxHedges/)
    expect(() => Hedge.hedge(Effect.void, { delay: "1 second", maxHedges: 1.5 })).toThrow(/maxHedges/)
    expect(() => Hedge.hedge(Effect.void, { delay: "30 days" })).toThrow(/Hedge: delay .* exceeds what a timer/)
    expect(() => Hedge.hedge(Effect.void, { delay: "soon" as Duration.DurationInput })).toThrow(
      /Hedge: delay is not a duration/
    )
    expect(() => Hedge.hedge(Effect.void, { delay: "1 second", maxHedges: 0 })).not.toThrow()
  })

  it.effect("a slow primary and a fast hedge: the hedge wins and the primary is interrupted", () =>
    Effect.gen(function*() {
      const upstream = makeUpstream([{ latency: "10 seconds" }, { latency: "50 millis" }])
      const events: Array<Hedge.HedgeEvent> = []
      const fiber = yield* Effect.fork(
        upstream.call.pipe(
          Hedge.hedge({ delay: "100 millis", onHedge: (event) => Effect.sync(() => events.push(event)) })
        )
      )
      yield* TestClock.adjust("99 millis")
      expect(upstream.log).toHaveLength(1)
      yield* TestClock.adjust("1 millis")
      expect(upstream.log).toHaveLength(2)
      expect(upstream.log[1]).toMatchObject({ index: 1, startedAt: 100 })
      yield* TestClock.adjust("50 millis")
      expect(yield* Fiber.join(fiber)).toBe("answer 1")
      expect(upstream.log.map((entry) => entry.end)).toEqual(["interrupted", "done"])
      expect(upstream.log[0]!.index).toBe(0)
      expect(events).toEqual([{ index: 1, trigger: "delay", elapsed: Duration.millis(100) }])
    }))

  it.effect("a wall clock set back while a hedge is due neither holds the hedge back nor teaches a bogus latency", () =>
    Effect.gen(function*() {
      const { clock, step } = yield* wallClockStep
      const testClock = yield* TestClock.testClock() // `TestClock.adjust` would find the stepped clock
      const tracker = yield* Hedge.makeLatencyTracker()
      const upstream = makeUpstream([{ latency: "10 seconds" }, { latency: "50 millis" }])
      const delay = Hedge.percentile({ tracker, key: "api", quantile: 0.5, fallback: "100 millis", minSamples: 1 })
      const fiber = yield* Effect.fork(Effect.withClock(upstream.call.pipe(Hedge.hedge({ delay })), clock))
      yield* testClock.adjust("50 millis")
      step(-3_600_000) // an hour back, while the hedge is due in 50 ms
      yield* testClock.adjust("50 millis")
      expect(upstream.log).toHaveLength(2)
      yield* testClock.adjust("50 millis")
      expect(yield* Fiber.join(fiber)).toBe("answer 1")
      // the call took 150 ms, whatever the wall clock said
      expect(yield* tracker.quantile("api", 0.5)).toEqual(Option.some(Duration.millis(150)))
    }))

  it.effect("a TestClock set to an epoch time starts each hedge exactly its delay after the previous one", () =>
    Effect.gen(function*() {
      // 2026-01-01T00:00:00Z: 10 ms later the TestClock's nanoseconds (millis × 1e6 in floating point) fall 128 ns short
      // of the millisecond, which read as the one before (the hedge's timer seemed to fire early and waited 1 ms more)
      const epoch = 1_767_225_600_000
      yield* TestClock.setTime(epoch)
      const upstream = makeUpstream([{ latency: "10 seconds" }, { latency: "10 seconds" }, { latency: "50 millis" }])
      const events: Array<Hedge.HedgeEvent> = []
      const fiber = yield* Effect.fork(upstream.call.pipe(
        Hedge.hedge({ delay: "10 millis", maxHedges: 2, onHedge: (event) => Effect.sync(() => events.push(event)) })
      ))
      yield* TestClock.adjust("10 millis")
      expect(upstream.log.map((entry) => entry.startedAt - epoch)).toEqual([0, 10])
      yield* TestClock.adjust("10 millis")
      expect(upstream.log.map((entry) => entry.startedAt - epoch)).toEqual([0, 10, 20])
      yield* TestClock.adjust("50 millis")
      expect(yield* Fiber.join(fiber)).toBe("answer 2")
      expect(events.map((event) => Duration.toMillis(event.elapsed))).toEqual([10, 20])
    }))

  it.effect("a primary that answers before the delay sends no hedge", () =>
    Effect.gen(function*() {
      const upstream = makeUpstream([{ latency: "30 millis" }])
      const fiber = yield* Effect.fork(upstream.call.pipe(Hedge.hedge({ delay: "100 millis" })))
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(fiber)).toBe("answer 0")
      expect(upstream.log).toHaveLength(1)
    }))

  // the hedge timer is stopped when the primary answers first, even inside a caller's mask (a fiber inherits its
  // parent's interruptibility, and an uninterruptible timer ignores the interruption meant to stop it)
  it.effect("a primary that answers before the delay leaves no timer behind, masked or not", () =>
    Effect.gen(function*() {
      const before = (yield* Fiber.roots).length
      for (const masked of [false, true]) {
        const upstream = makeUpstream([{ latency: "30 millis" }])
        const hedged = upstream.call.pipe(Hedge.hedge({ delay: "1 hour" }))
        const fiber = yield* Effect.fork(masked ? Effect.uninterruptible(hedged) : hedged)
        yield* TestClock.adjust("30 millis")
        expect(yield* Fiber.join(fiber)).toBe("answer 0")
      }
      yield* Effect.yieldNow()
      expect((yield* Fiber.roots).length - before).toBe(0)
    }))

  it.effect("the primary still wins when it answers before the hedge", () =>
    Effect.gen(function*() {
      const upstream = makeUpstream([{ latency: "150 millis" }, { latency: "1 second" }])
      const fiber = yield* Effect.fork(upstream.call.pipe(Hedge.hedge({ delay: "100 millis" })))
      yield* TestClock.adjust("150 millis")
      expect(yield* Fiber.join(fiber)).toBe("answer 0")
      expect(upstream.log.map((entry) => entry.end)).toEqual(["done", "interrupted"])
    }))

  it.effect("maxHedges bounds the extra attempts, spaced by the delay", () =>
    Effect.gen(function*() {
      const upstream = makeUpstream([{ latency: "10 seconds" }])
      const fiber = yield* Effect.fork(upstream.call.pipe(Hedge.hedge({ delay: "100 millis", maxHedges: 2 })))
      yield* TestClock.adjust("1 second")
      expect(upstream.log.map((entry) => entry.startedAt)).toEqual([0, 100, 200])
      yield* TestClock.adjust("10 seconds")
      expect(yield* Fiber.join(fiber)).toBe("answer 0")
      expect(upstream.log.map((entry) => entry.end)).toEqual(["done", "interrupted", "interrupted"])
    }))

  it.effect("a failed attempt sends the next hedge at once; all failing returns the last failure by default", () =>
    Effect.gen(function*() {
      const upstream = makeUpstream([{ latency: "10 millis", fail: true }, { latency: "20 millis", fail: true }])
      const fiber = yield* Effect.fork(upstream.call.pipe(Hedge.hedge({ delay: "100 millis" }), Effect.flip))
      yield* TestClock.adjust("30 millis")
      expect(upstream.log.map((entry) => entry.startedAt)).toEqual([0, 10])
      expect(yield* Fiber.join(fiber)).toEqual(new Unavailable({ attempt: 1 }))
    }))

  it.effect("failure: \"first\" returns the earliest failure", () =>
    Effect.gen(function*() {
      const upstream = makeUpstream([{ latency: "10 millis", fail: true }, { latency: "20 millis", fail: true }])
      const fiber = yield* Effect.fork(
        upstream.call.pipe(Hedge.hedge({ delay: "100 millis", failure: "first" }), Effect.flip)
      )
      yield* TestClock.adjust("30 millis")
      expect(yield* Fiber.join(fiber)).toEqual(new Unavailable({ attempt: 0 }))
    }))

  it.effect("a failure while a hedge is still running waits for the hedge", () =>
    Effect.gen(function*() {
      const upstream = makeUpstream([{ latency: "300 millis", fail: true }, { latency: "300 millis" }])
      const fiber = yield* Effect.fork(upstream.call.pipe(Hedge.hedge({ delay: "100 millis" })))
      yield* TestClock.adjust("400 millis")
      expect(yield* Fiber.join(fiber)).toBe("answer 1")
      expect(upstream.log).toHaveLength(2)
    }))

  it.effect("enabled: false runs the attempt alone (a non-idempotent request)", () =>
    Effect.gen(function*() {
      const upstream = makeUpstream([{ latency: "10 seconds" }])
      const fiber = yield* Effect.fork(upstream.call.pipe(Hedge.hedge({ delay: "100 millis", enabled: false })))
      yield* TestClock.adjust("10 seconds")
      expect(yield* Fiber.join(fiber)).toBe("answer 0")
      expect(upstream.log).toHaveLength(1)
      const effectful = makeUpstream([{ latency: "10 seconds" }])
      const fiber2 = yield* Effect.fork(
        effectful.call.pipe(Hedge.hedge({ delay: "100 millis", enabled: Effect.succeed(false) }))
      )
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(fiber2)
      expect(effectful.log).toHaveLength(1)
    }))

  it.effect("each hedge draws on the retry budget; a refusal means no hedge", () =>
    Effect.gen(function*() {
      const budget = yield* RetryBudget.make({ ratio: 0, minRetries: 1 })
      const run = Effect.gen(function*() {
        const upstream = makeUpstream([{ latency: "1 second" }, { latency: "10 millis" }])
        const fiber = yield* Effect.fork(
          upstream.call.pipe(
            Hedge.hedge({ delay: "100 millis", budgetKey: "api" }),
            Effect.provideService(RetryBudget.RetryBudget, budget)
          )
        )
        yield* TestClock.adjust("1 second")
        return { answer: yield* Fiber.join(fiber), attempts: upstream.log.length }
      })
      expect(yield* run).toEqual({ answer: "answer 1", attempts: 2 })
      expect(yield* run).toEqual({ answer: "answer 0", attempts: 1 })
      expect(yield* budget.stats("api")).toEqual({ requests: 2, retries: 1, available: 0 })
    }))

  it.effect("a call that sends no hedge (enabled false, maxHedges 0) still deposits one request under its budgetKey", () =>
    Effect.gen(function*() {
      const budget = yield* RetryBudget.make({ ratio: 0.5, minRetries: 0 })
      const off = [
        { enabled: false },
        { enabled: Effect.succeed(false) },
        { maxHedges: 0 },
        { enabled: false, deposit: false },
        { maxHedges: 0, deposit: false }
      ] as const
      for (const [index, options] of off.entries()) {
        const key = `off-${index}`
        const answer = yield* Effect.succeed("answer").pipe(
          Hedge.hedge({ delay: "100 millis", budgetKey: key, ...options }),
          Effect.provideService(RetryBudget.RetryBudget, budget)
        )
        expect(answer).toBe("answer")
        const deposited = "deposit" in options ? 0 : 1
        expect(yield* budget.stats(key)).toMatchObject({ requests: deposited, retries: 0 })
      }
    }))

  it.effect("a defect in an attempt ends the call and interrupts the others", () =>
    Effect.gen(function*() {
      const upstream = makeUpstream([{ latency: "10 seconds" }])
      let calls = 0
      const call = Effect.suspend(() => ++calls === 2 ? Effect.die("boom") : upstream.call)
      const fiber = yield* Effect.fork(call.pipe(Hedge.hedge({ delay: "100 millis" })))
      yield* TestClock.adjust("100 millis")
      const exit = yield* Fiber.await(fiber)
      expect(exit).toStrictEqual(Exit.die("boom"))
      expect(upstream.log[0]!.end).toBe("interrupted")
    }))

  describe("while: which failures let the next copy start", () => {
    class NotFound extends Data.TaggedError("NotFound")<{}> {}

    it.effect("a failure it rejects is the answer: no copy starts for it", () =>
      Effect.gen(function*() {
        let sent = 0
        const call = Effect.sync(() => sent++).pipe(
          Effect.zipRight(Effect.sleep("10 millis")),
          Effect.zipRight(Effect.fail(new NotFound()))
        )
        const fiber = yield* Effect.fork(
          call.pipe(
            Hedge.hedge({
              delay: "1 second",
              maxHedges: 2,
              while: (failure) => !Predicate.isTagged(failure, "NotFound")
            }),
            Effect.flip
          )
        )
        yield* TestClock.adjust("5 seconds")
        expect(yield* Fiber.join(fiber)).toEqual(new NotFound())
        expect(sent).toBe(1)
      }))

    it.effect("a failure it rejects ends the call and interrupts the copies still running", () =>
      Effect.gen(function*() {
        const upstream = makeUpstream([{ latency: "10 seconds" }, { latency: "50 millis", fail: true }])
        const fiber = yield* Effect.fork(
          upstream.call.pipe(Hedge.hedge({ delay: "100 millis", maxHedges: 2, while: () => false }), Effect.flip)
        )
        yield* TestClock.adjust("150 millis")
        expect(yield* Fiber.join(fiber)).toEqual(new Unavailable({ attempt: 1 }))
        expect(upstream.log.map((entry) => entry.end)).toEqual(["interrupted", "done"])
      }))

    it.effect("a failure it accepts sends the next copy at once, as without it", () =>
      Effect.gen(function*() {
        const upstream = makeUpstream([{ latency: "10 millis", fail: true }, { latency: "20 millis" }])
        const fiber = yield* Effect.fork(
          upstream.call.pipe(Hedge.hedge({ delay: "1 second", while: (failure) => failure instanceof Unavailable }))
        )
        yield* TestClock.adjust("30 millis")
        expect(yield* Fiber.join(fiber)).toBe("answer 1")
        expect(upstream.log.map((entry) => entry.startedAt)).toEqual([0, 10])
      }))

    it.effect("by default a policy's rejection inside the hedged effect starts no copy", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make("api", { consecutiveFailures: 1 })
        yield* Effect.either(Effect.fail("boom").pipe(CircuitBreaker.withBreaker(breaker)))
        const bulkhead = yield* Bulkhead.make({ maxConcurrent: 1 })
        const holder = yield* Effect.fork(Effect.never.pipe(Bulkhead.withBulkhead(bulkhead)))
        yield* Effect.yieldNow()
        const hedges: Array<Hedge.HedgeEvent> = []
        const hedged = Hedge.hedge({
          delay: "1 second",
          maxHedges: 3,
          onHedge: (e) => Effect.sync(() => hedges.push(e))
        })
        const open = yield* Effect.flip(Effect.succeed(1).pipe(CircuitBreaker.withBreaker(breaker), hedged))
        expect(open._tag).toBe("CircuitOpen")
        const full = yield* Effect.flip(Effect.succeed(1).pipe(Bulkhead.withBulkhead(bulkhead), hedged))
        expect(full._tag).toBe("BulkheadRejected")
        expect(hedges).toEqual([])
        yield* Fiber.interrupt(holder)
      }).pipe(Effect.scoped))

    it.effect("a copy turned away by a policy stops hedging but never ends the call while another copy runs", () =>
      Effect.gen(function*() {
        // the primary holds the bulkhead's only permit: every hedge is rejected as full
        const bulkhead = yield* Bulkhead.make({ maxConcurrent: 1 })
        const upstream = makeUpstream([{ latency: "500 millis" }])
        const hedges: Array<Hedge.HedgeEvent> = []
        const fiber = yield* Effect.fork(
          upstream.call.pipe(
            Bulkhead.withBulkhead(bulkhead),
            Hedge.hedge({ delay: "100 millis", maxHedges: 3, onHedge: (e) => Effect.sync(() => hedges.push(e)) })
          )
        )
        yield* TestClock.adjust("500 millis")
        expect(yield* Fiber.join(fiber)).toBe("answer 0")
        expect(upstream.log.map((entry) => entry.end)).toEqual(["done"])
        // one copy was tried and turned away; none after it
        expect(hedges.map((e) => e.index)).toEqual([1])
        expect(yield* bulkhead.snapshot).toEqual({ active: 0, queued: 0 })

        // the same for a breaker another call opens while the primary is out
        const breaker = yield* CircuitBreaker.make("api", { consecutiveFailures: 1 })
        const slow = makeUpstream([{ latency: "500 millis" }])
        const guarded = yield* Effect.fork(
          slow.call.pipe(CircuitBreaker.withBreaker(breaker), Hedge.hedge({ delay: "100 millis", maxHedges: 2 }))
        )
        yield* TestClock.adjust("50 millis")
        yield* Effect.either(Effect.fail("boom").pipe(CircuitBreaker.withBreaker(breaker)))
        expect(yield* breaker.state).toBe("Open")
        yield* TestClock.adjust("450 millis")
        expect(yield* Fiber.join(guarded)).toBe("answer 0")
        expect(slow.log.length).toBe(1)
      }).pipe(Effect.scoped))

    it.effect("when the copies still running then fail, theirs is the call's failure, first or last", () =>
      Effect.gen(function*() {
        for (const failure of ["first", "last"] as const) {
          const bulkhead = yield* Bulkhead.make({ maxConcurrent: 1 })
          const upstream = makeUpstream([{ latency: "500 millis", fail: true }])
          const fiber = yield* Effect.fork(
            upstream.call.pipe(
              Bulkhead.withBulkhead(bulkhead),
              Hedge.hedge({ delay: "100 millis", maxHedges: 2, failure }),
              Effect.flip
            )
          )
          yield* TestClock.adjust("500 millis")
          expect(yield* Fiber.join(fiber)).toEqual(new Unavailable({ attempt: 0 }))
        }
      }))

    it.effect("a pushback stops hedging, and a copy still running may answer (gRPC's pushback)", () =>
      Effect.gen(function*() {
        // the primary is slow; the first hedge fails at once with a pushback; no copy is sent after it
        const upstream = makeUpstream([{ latency: "500 millis" }, { latency: "10 millis", fail: true }])
        const pushedBack = (failure: unknown) => Predicate.isTagged(failure, "Unavailable")
        const fiber = yield* Effect.fork(
          upstream.call.pipe(
            Hedge.hedge({ delay: "100 millis", maxHedges: 3, while: (f) => !pushedBack(f), pushback: pushedBack })
          )
        )
        yield* TestClock.adjust("500 millis")
        expect(yield* Fiber.join(fiber)).toBe("answer 0")
        expect(upstream.log.map((entry) => [entry.index, entry.end])).toEqual([[0, "done"], [1, "done"]])
      }))

    it.effect("when the copies still running then fail, the pushback is the call's failure, first or last", () =>
      Effect.gen(function*() {
        for (const failure of ["first", "last"] as const) {
          // the hedge gets the pushback (attempt 1) before the primary fails without one (attempt 0)
          const upstream = makeUpstream([{ latency: "500 millis", fail: true }, { latency: "10 millis", fail: true }])
          const isPushback = (f: unknown) => f instanceof Unavailable && f.attempt === 1
          const fiber = yield* Effect.fork(
            upstream.call.pipe(
              Hedge.hedge({
                delay: "100 millis",
                maxHedges: 3,
                failure,
                while: (f) => !isPushback(f),
                pushback: isPushback
              }),
              Effect.flip
            )
          )
          yield* TestClock.adjust("500 millis")
          expect(yield* Fiber.join(fiber)).toEqual(new Unavailable({ attempt: 1 }))
          // the primary was let run to its own failure, which came last
          expect(upstream.log.map((entry) => entry.end)).toEqual(["done", "done"])
        }
      }))

    it.effect("a pushback with no other copy running is the answer at once; without `pushback` it ends the call", () =>
      Effect.gen(function*() {
        const upstream = makeUpstream([{ latency: "10 millis", fail: true }])
        const refuse = () => false
        const alone = yield* Effect.fork(
          Effect.flip(upstream.call.pipe(Hedge.hedge({ delay: "100 millis", while: refuse, pushback: () => true })))
        )
        yield* TestClock.adjust("10 millis")
        expect(yield* Fiber.join(alone)).toEqual(new Unavailable({ attempt: 0 }))

        // a refused failure that is not a pushback still ends the call and interrupts the primary
        const ended = makeUpstream([{ latency: "500 millis" }, { latency: "10 millis", fail: true }])
        const fiber = yield* Effect.fork(
          Effect.flip(ended.call.pipe(Hedge.hedge({ delay: "100 millis", maxHedges: 3, while: refuse })))
        )
        yield* TestClock.adjust("110 millis")
        expect(yield* Fiber.join(fiber)).toEqual(new Unavailable({ attempt: 1 }))
        expect(ended.log.map((entry) => entry.end)).toEqual(["interrupted", "done"])
      }))

    it.effect("a policy's rejection is still the answer when no other copy runs", () =>
      Effect.gen(function*() {
        const bulkhead = yield* Bulkhead.make({ maxConcurrent: 1 })
        const holder = yield* Effect.fork(Effect.never.pipe(Bulkhead.withBulkhead(bulkhead)))
        yield* Effect.yieldNow()
        // the primary fails over to a copy at once; the copy is turned away with nothing left running
        let sent = 0
        const call = Effect.suspend((): Effect.Effect<number, Unavailable | Bulkhead.BulkheadRejected> =>
          sent++ === 0
            ? Effect.fail(new Unavailable({ attempt: 0 }))
            : Bulkhead.withBulkhead(Effect.succeed(1), bulkhead)
        )
        const failure = yield* Effect.flip(call.pipe(Hedge.hedge({ delay: "1 second", maxHedges: 3 })))
        expect(failure._tag).toBe("BulkheadRejected")
        expect(sent).toBe(2)
        yield* Fiber.interrupt(holder)
      }))
  })

  describe("the delay's two extremes (as Polly's hedging tests them)", () => {
    it.effect("a zero delay starts every copy at once; the first answer wins and the others are interrupted", () =>
      Effect.gen(function*() {
        const upstream = makeUpstream([{ latency: "300 millis" }, { latency: "100 millis" }, { latency: "200 millis" }])
        const fiber = yield* Effect.fork(upstream.call.pipe(Hedge.hedge({ delay: 0, maxHedges: 2 })))
        yield* TestClock.adjust("100 millis")
        expect(yield* Fiber.join(fiber)).toBe("answer 1")
        expect(upstream.log.map((entry) => [entry.startedAt, entry.end])).toEqual([
          [0, "interrupted"],
          [0, "done"],
          [0, "interrupted"]
        ])
      }))

    it.effect("an infinite delay hedges only on failure: the copies never run at the same time", () =>
      Effect.gen(function*() {
        const upstream = makeUpstream([
          { latency: "1 second", fail: true },
          { latency: "1 second", fail: true },
          { latency: "1 second" }
        ])
        const fiber = yield* Effect.fork(upstream.call.pipe(Hedge.hedge({ delay: Duration.infinity, maxHedges: 2 })))
        yield* TestClock.adjust("3 seconds")
        expect(yield* Fiber.join(fiber)).toBe("answer 2")
        expect(upstream.log.map((entry) => [entry.startedAt, entry.end])).toEqual([
          [0, "done"],
          [1000, "done"],
          [2000, "done"]
        ])
      }))
  })

  it.effect("interrupting the hedged call interrupts every attempt", () =>
    Effect.gen(function*() {
      const upstream = makeUpstream([{ latency: "10 seconds" }])
      const fiber = yield* Effect.fork(upstream.call.pipe(Hedge.hedge({ delay: "100 millis" })))
      yield* TestClock.adjust("150 millis")
      yield* Fiber.interrupt(fiber)
      expect(upstream.log.map((entry) => entry.end)).toEqual(["interrupted", "interrupted"])
    }))

  it.effect("an attempt that settles at the very instant the hedge is due is not lost", () =>
    Effect.gen(function*() {
      for (const fail of [false, true]) {
        const upstream = makeUpstream([{ latency: "100 millis", fail }, { latency: "50 millis" }])
        const fiber = yield* Effect.fork(upstream.call.pipe(Hedge.hedge({ delay: "100 millis" }), Effect.either))
        yield* TestClock.adjust("200 millis")
        expect(yield* Fiber.join(fiber)).toEqual(Either.right(fail ? "answer 1" : "answer 0"))
        if (fail) expect(upstream.log.length).toBe(2)
        expect(upstream.log.every((entry) => entry.end !== undefined)).toBe(true)
      }
    }))

  it.effect("runs under the caller's deadline: when it passes every attempt is interrupted", () =>
    Effect.gen(function*() {
      const upstream = makeUpstream([{ latency: "10 seconds" }])
      const fiber = yield* Effect.fork(
        upstream.call.pipe(Hedge.hedge({ delay: "100 millis", maxHedges: 3 }), Deadline.withDeadline("250 millis"))
      )
      yield* TestClock.adjust("250 millis")
      const error = yield* Effect.flip(Fiber.join(fiber))
      expect(error._tag).toBe("DeadlineExceeded")
      expect(upstream.log.map((entry) => [entry.startedAt, entry.end])).toEqual([
        [0, "interrupted"],
        [100, "interrupted"],
        [200, "interrupted"]
      ])
    }))

  it.effect("sends no hedge once the deadline has passed (a deadline established without a timer)", () =>
    Effect.gen(function*() {
      const upstream = makeUpstream([{ latency: "1 second" }])
      const fiber = yield* Effect.fork(
        upstream.call.pipe(Hedge.hedge({ delay: "100 millis", maxHedges: 3 }), Deadline.establish("250 millis"))
      )
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(fiber)).toBe("answer 0")
      expect(upstream.log.map((entry) => entry.startedAt)).toEqual([0, 100, 200])
    }))

  it.effect("telemetry: hedges run in a sturdy.hedge span with hedge.index; the caller's span names the winner", () =>
    Effect.gen(function*() {
      const spans: Array<{ name: string; attributes: Map<string, unknown> }> = []
      const tracer = Tracer.make({
        span: (name, parent, context, links, startTime, kind) => {
          const attributes = new Map<string, unknown>()
          spans.push({ name, attributes })
          return {
            _tag: "Span",
            name,
            spanId: `span-${spans.length}`,
            traceId: "trace",
            parent,
            context,
            status: { _tag: "Started", startTime },
            attributes,
            links,
            sampled: true,
            kind,
            end: () => {},
            attribute: (key, value) => attributes.set(key, value),
            event: () => {},
            addLinks: () => {}
          }
        },
        context: (f) => f()
      })
      const upstream = makeUpstream([{ latency: "10 seconds" }, { latency: "10 seconds" }, { latency: "10 millis" }])
      const fiber = yield* Effect.fork(
        upstream.call.pipe(
          Hedge.hedge({ delay: "100 millis", maxHedges: 2 }),
          Effect.withSpan("call"),
          Effect.withTracer(tracer)
        )
      )
      yield* TestClock.adjust("300 millis")
      expect(yield* Fiber.join(fiber)).toBe("answer 2")
      expect(spans.map((span) => [span.name, span.attributes.get("hedge.index")])).toEqual([
        ["call", undefined],
        ["sturdy.hedge", 1],
        ["sturdy.hedge", 2]
      ])
      expect(spans[0]!.attributes.get("hedge.attempts")).toBe(3)
      expect(spans[0]!.attributes.get("hedge.winner")).toBe(2)
    }))

  it.effect("matches a reference model: start times, winner and failure (seeded)", () =>
    Effect.gen(function*() {
      const arbitrary = FastCheck.record({
        delay: FastCheck.integer({ min: 1, max: 500 }),
        maxHedges: FastCheck.integer({ min: 0, max: 3 }),
        failure: FastCheck.constantFrom("first" as const, "last" as const),
        outcomes: FastCheck.array(
          FastCheck.record({ latency: FastCheck.integer({ min: 1, max: 1000 }), fail: FastCheck.boolean() }),
          { minLength: 4, maxLength: 4 }
        )
      })
      let checked = 0
      for (const sample of FastCheck.sample(arbitrary, { seed: 42, numRuns: 300 })) {
        const expected = model(sample)
        if (expected === undefined) continue
        checked++
        const upstream = makeUpstream(sample.outcomes)
        const base = yield* TestClock.currentTimeMillis
        const fiber = yield* Effect.fork(
          upstream.call.pipe(
            Hedge.hedge({ delay: sample.delay, maxHedges: sample.maxHedges, failure: sample.failure }),
            Effect.either
          )
        )
        yield* TestClock.adjust("1 hour")
        const result = yield* Fiber.join(fiber)
        expect({ starts: upstream.log.map((entry) => entry.startedAt - base), result }).toEqual({
          starts: expected.starts,
          result: expected.result
        })
      }
      expect(checked).toBeGreaterThan(250)
    }))

  it.effect("a percentile delay uses the fallback until enough samples, then the observed quantile", () =>
    Effect.gen(function*() {
      const tracker = yield* Hedge.makeLatencyTracker({ samples: 10 })
      const delay = Hedge.percentile({ tracker, key: "GET /x", quantile: 0.5, fallback: "1 second", minSamples: 3 })
      const hedgeStart = Effect.gen(function*() {
        const upstream = makeUpstream([{ latency: "40 millis" }])
        const fiber = yield* Effect.fork(upstream.call.pipe(Hedge.hedge({ delay })))
        yield* TestClock.adjust("40 millis")
        yield* Fiber.join(fiber)
      })
      for (let i = 0; i < 3; i++) yield* hedgeStart
      expect(yield* tracker.count("GET /x")).toBe(3)
      expect(yield* tracker.quantile("GET /x", 0.5)).toEqual(Option.some(Duration.millis(40)))
      const slow = makeUpstream([{ latency: "10 seconds" }, { latency: "10 millis" }])
      const fiber = yield* Effect.fork(slow.call.pipe(Hedge.hedge({ delay })))
      yield* TestClock.adjust("40 millis")
      expect(slow.log.map((entry) => entry.startedAt)).toEqual([120, 160])
      yield* TestClock.adjust("10 millis")
      expect(yield* Fiber.join(fiber)).toBe("answer 1")
    }))

  it.effect("a percentile delay learns the call's latency from its first attempt, also when a hedge wins", () =>
    Effect.gen(function*() {
      const tracker = yield* Hedge.makeLatencyTracker({ samples: 10 })
      const delay = Hedge.percentile({ tracker, key: "GET /x", quantile: 0.5, fallback: "100 millis", minSamples: 5 })
      // the first attempt hangs for 10 s, the hedge sent at 100 ms answers 10 ms later
      const slow = makeUpstream([{ latency: "10 seconds" }, { latency: "10 millis" }])
      const fiber = yield* Effect.fork(slow.call.pipe(Hedge.hedge({ delay })))
      yield* TestClock.adjust("110 millis")
      expect(yield* Fiber.join(fiber)).toBe("answer 1")
      // 110 ms: the first attempt took at least that long; the hedge's own 10 ms would pull later delays down
      expect(yield* tracker.quantile("GET /x", 0.5)).toEqual(Option.some(Duration.millis(110)))
    }))

  it.effect("a percentile delay of calls faster than the clock's millisecond still waits 1 ms before a hedge", () =>
    Effect.gen(function*() {
      const tracker = Hedge.unsafeMakeLatencyTracker()
      for (let i = 0; i < 20; i++) yield* tracker.record("GET /x", Duration.zero)
      const delay = Hedge.percentile({ tracker, key: "GET /x", fallback: "1 second" })
      // an answer within the same millisecond: no hedge, not even one sent before the first attempt could answer
      const fast = makeUpstream([{ latency: Duration.zero }])
      expect(yield* fast.call.pipe(Hedge.hedge({ delay }))).toBe("answer 0")
      expect(fast.log).toHaveLength(1)
      // a slow one is hedged after 1 ms; an explicit `min: 0` keeps the quantile's 0 ms
      const slow = makeUpstream([{ latency: "10 seconds" }, { latency: Duration.zero }])
      const fiber = yield* Effect.fork(slow.call.pipe(Hedge.hedge({ delay })))
      yield* TestClock.adjust("1 millis")
      expect(yield* Fiber.join(fiber)).toBe("answer 1")
      expect(slow.log.map((entry) => entry.startedAt)).toEqual([0, 1])
      const eager = makeUpstream([{ latency: Duration.zero }])
      yield* eager.call.pipe(Hedge.hedge({ delay: Hedge.percentile({ tracker, key: "GET /x", fallback: 1, min: 0 }) }))
      expect(eager.log).toHaveLength(2)
    }))

  // tower's hedge port: a nearest rank computed in floating point read one rank too high (0.07 × 100 is
  // 7.000000000000001, so p7 of 1..100 ms answered 8 ms)
  it.effect("the tracker's quantile is the nearest rank, every percentile of 100 latencies exact", () =>
    Effect.gen(function*() {
      const tracker = Hedge.unsafeMakeLatencyTracker({ samples: 100 })
      for (let millis = 100; millis >= 1; millis--) yield* tracker.record("a", Duration.millis(millis))
      for (let percent = 1; percent <= 100; percent++) {
        const read = yield* tracker.quantile("a", percent / 100)
        expect([percent, Option.map(read, Duration.toMillis)]).toEqual([percent, Option.some(percent)])
      }
      // between ranks, the next one up
      expect(yield* tracker.quantile("a", 0.071)).toEqual(Option.some(Duration.millis(8)))
    }))

  it.effect("the tracker keeps its latencies in order as they come, not sorting them all again at each reading", () =>
    Effect.gen(function*() {
      const tracker = Hedge.unsafeMakeLatencyTracker({ samples: 1_024 })
      // a hedged call reads the quantile (its delay) and then records its latency: each reading used to sort a copy
      // of every sample of the key (some 9,000 comparisons for 1,024 samples, at every call)
      const latency = (i: number) => (i * 7_919) % 1_000
      for (let i = 0; i < 3_000; i++) {
        yield* tracker.quantile("api", 0.95)
        yield* tracker.record("api", Duration.millis(latency(i)))
      }
      // a binary search to take the oldest sample out and one to put the new one in: at most 11 + 11 comparisons
      expect(sampleVisitsOfTracker(tracker)).toBeLessThanOrEqual(3_000 * 2 * 11)
      // the readings are those of a sort of the last 1,024 latencies
      const last = Array.from({ length: 1_024 }, (_, i) => latency(3_000 - 1_024 + i)).sort((a, b) => a - b)
      for (const q of [0, 0.001, 0.25, 0.5, 0.95, 0.999, 1]) {
        const rank = Math.max(0, Math.ceil(q * 1_024 - 1e-9) - 1)
        expect(yield* tracker.quantile("api", q)).toEqual(Option.some(Duration.millis(last[rank]!)))
      }
    }))

  it.effect("the latency tracker is bounded: a ring of samples, least recently used keys evicted", () =>
    Effect.gen(function*() {
      const tracker = Hedge.unsafeMakeLatencyTracker({ samples: 3, maxKeys: 2 })
      for (const millis of [1, 2, 3, 100, 200]) yield* tracker.record("a", Duration.millis(millis))
      expect(yield* tracker.count("a")).toBe(3)
      expect(yield* tracker.quantile("a", 0)).toEqual(Option.some(Duration.millis(3)))
      expect(yield* tracker.quantile("a", 1)).toEqual(Option.some(Duration.millis(200)))
      yield* tracker.record("b", Duration.millis(5))
      yield* tracker.quantile("a", 0.5)
      yield* tracker.record("c", Duration.millis(5))
      expect(yield* tracker.count("b")).toBe(0)
      expect(yield* tracker.count("a")).toBe(3)
      expect(() => Hedge.unsafeMakeLatencyTracker({ samples: 0 })).toThrow(RangeError)
    }))

  it("percentile: a fallback, min or max Effect cannot read as a duration is a RangeError naming it", () => {
    const tracker = Hedge.unsafeMakeLatencyTracker()
    const unreadable = "1e3 millis" as Duration.DurationInput
    expect(() => Hedge.percentile({ tracker, key: "k", fallback: unreadable })).toThrow(
      new RangeError("Hedge.percentile: fallback (1e3 millis) is not a duration")
    )
    expect(() => Hedge.percentile({ tracker, key: "k", fallback: "1 second", min: unreadable })).toThrow(/min/)
    expect(() => Hedge.percentile({ tracker, key: "k", fallback: "1 second", max: unreadable })).toThrow(/max/)
  })

  // Effect reads a negative or NaN duration as zero: a hedge with every call, at once (the opposite of failsafe-go's
  // negative delay, which stops hedging); Policy's `hedging.delay` refuses it already
  it("a negative or NaN delay is a RangeError naming it, not read as zero", () => {
    for (const delay of [-1, "-5 millis", Number.NaN, -Infinity, [-1, 0] as const]) {
      expect(() => Hedge.hedge(Effect.void, { delay: delay as Duration.DurationInput })).toThrow(
        /^Hedge: delay \(.*\) (must not be negative|is not a duration)$/
      )
    }
    const tracker = Hedge.unsafeMakeLatencyTracker()
    expect(() => Hedge.percentile({ tracker, key: "k", fallback: -1 })).toThrow(
      new RangeError("Hedge.percentile: fallback (-1) must not be negative")
    )
    expect(() => Hedge.percentile({ tracker, key: "k", fallback: "1 second", min: "-1 millis" })).toThrow(/min/)
    expect(() => Hedge.percentile({ tracker, key: "k", fallback: "1 second", max: Number.NaN })).toThrow(/max/)
    // zero is a delay: backup requests sent at once
    expect(() => Hedge.hedge(Effect.void, { delay: 0 })).not.toThrow()
    expect(() => Hedge.percentile({ tracker, key: "k", fallback: 0, min: 0 })).not.toThrow()
  })

  it("percentile: a quantile outside [0, 1] or NaN is a RangeError naming it, not a silent p0 or p100", () => {
    const tracker = Hedge.unsafeMakeLatencyTracker()
    for (const quantile of [-0.5, 1.01, 95, Number.NaN]) {
      expect(() => Hedge.percentile({ tracker, key: "k", fallback: "1 second", quantile })).toThrow(
        new RangeError(`Hedge.percentile: quantile (${quantile}) must be a number from 0 to 1`)
      )
    }
    for (const quantile of [0, 0.5, 1]) {
      expect(Hedge.percentile({ tracker, key: "k", fallback: "1 second", quantile }).quantile).toBe(quantile)
    }
  })
})

interface ModelInput {
  readonly delay: number
  readonly maxHedges: number
  readonly failure: "first" | "last"
  readonly outcomes: ReadonlyArray<{ readonly latency: number; readonly fail: boolean }>
}

// The documented behaviour, simulated event by event; `undefined` when two events coincide (their order is free).
const model = (input: ModelInput) => {
  const starts: Array<number> = []
  const ends: Array<number | undefined> = []
  const failures: Array<number> = []
  let nextHedgeAt = input.delay
  const start = (at: number) => {
    const outcome = input.outcomes[Math.min(starts.length, input.outcomes.length - 1)]!
    ends.push(at + outcome.latency)
    starts.push(at)
  }
  const canHedge = () => starts.length - 1 < input.maxHedges
  start(0)
  while (true) {
    const running = ends.flatMap((end, i) => (end === undefined ? [] : [[end, i] as const]))
    const times = [...running.map(([end]) => end), ...(canHedge() ? [nextHedgeAt] : [])]
    if (new Set(times).size !== times.length) return undefined
    const earliest = running.reduce((a, b) => (b[0] < a[0] ? b : a), [Infinity, -1] as const)
    if (canHedge() && nextHedgeAt < earliest[0]) {
      start(nextHedgeAt)
      nextHedgeAt += input.delay
      continue
    }
    const [at, i] = earliest
    ends[i] = undefined
    const outcome = input.outcomes[Math.min(i, input.outcomes.length - 1)]!
    if (!outcome.fail) return { starts, result: Either.right(`answer ${i}`) }
    failures.push(i)
    if (canHedge()) {
      start(at)
      nextHedgeAt = at + input.delay
    }
    if (ends.every((end) => end === undefined)) {
      const failed = input.failure === "first" ? failures[0]! : failures[failures.length - 1]!
      return { starts, result: Either.left(new Unavailable({ attempt: failed })) }
    }
  }
}

describe("Hedge: options of the wrong type", () => {
  it.effect("an enabled, failure, deposit or hook of another type is a RangeError naming it when applied", () =>
    Effect.gen(function*() {
      const bad: ReadonlyArray<readonly [string, unknown]> = [
        ["enabled", "yes"],
        ["failure", "First"],
        ["deposit", "false"],
        ["while", "always"],
        ["pushback", 1],
        ["onHedge", {}]
      ]
      for (const [field, value] of bad) {
        const defect = yield* defectOf(() =>
          Hedge.hedge(Effect.succeed(1), { delay: "100 millis", [field]: value } as unknown as Hedge.Options)
        )
        expect(defect, field).toBeInstanceOf(RangeError)
        expect((defect as Error).message, field).toContain(`Hedge: ${field}`)
      }
    }))

  it("percentile refuses a minSamples that is not an integer of at least 0", () => {
    const tracker = Hedge.unsafeMakeLatencyTracker()
    for (const minSamples of ["5", Number.NaN, -1, 1.5, true]) {
      expect(() => Hedge.percentile({ tracker, key: "k", fallback: "1 second", minSamples: minSamples as number }))
        .toThrow(/Hedge\.percentile: minSamples/)
    }
  })

  it.effect(
    "a delay of a microsecond hedges within a millisecond, not one wake-up per microsecond",
    () =>
      Effect.gen(function*() {
        const elapsed: Array<number> = []
        const fiber = yield* Effect.fork(
          Hedge.hedge(Effect.zipRight(Effect.sleep("50 millis"), Effect.succeed(1)), {
            delay: Duration.micros(1n),
            maxHedges: 1,
            onHedge: (event) => Effect.sync(() => elapsed.push(Duration.toMillis(event.elapsed)))
          })
        )
        yield* TestClock.adjust("1 second")
        expect(yield* Fiber.join(fiber)).toBe(1)
        expect(elapsed).toEqual([1])
      }),
    3_000
  )
})
