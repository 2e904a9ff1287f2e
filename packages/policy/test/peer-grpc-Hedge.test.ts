// Ported from grpc-java's core/src/test/java/io/grpc/internal/RetriableStreamTest.java (grpc/grpc-java, commit
// 5fda0c7c35a938b2b0be05cdbe168dcb0700d64a), its `hedging_*` cases (gRFC A6 hedging), one `it` per case, named after it.
// grpc-go does not implement hedging (grpc/grpc-go 4793ad04, stream.go: "TODO(hedging)"), so grpc-java is the peer.
// Mapping: the test's HedgingPolicy(maxAttempts 6, hedgingDelay 100 s, nonFatalStatusCodes {UNAVAILABLE, DATA_LOSS})
// is `{ delay: "100 seconds", maxHedges: 5, while: nonFatal }`; a sub-stream is a copy of the hedged effect, and the
// test answers each copy as grpc-java's test closes a sub-stream's listener (`utils/hedgeCopies.ts`); a status is a
// typed failure `GrpcStatus`. "Commit" on headers is a copy's success (a Sturdy attempt answers as a whole); a
// sub-stream cancelled because another committed is a copy interrupted before the call returns. The test's tearDown
// (`fakeClock.numPendingTasks() == 0`) is each case's last check: no copy is sent later.
// gRPC's Throttle(maxTokens 4, tokenRatio 0.8) lets one non-fatal failure through and throttles at the second; its
// stand-in is a `RetryBudget` with one retry in its window (`minRetries: 1, ratio: 0`) under `budgetKey`: each hedge
// withdraws one, a refusal stops hedging.
// Deliberate differences:
// - A non-fatal status sends the next hedge at once, as gRFC A6 says ("the next hedged request in line is sent
//   immediately"); grpc-java does so only when the status carries a positive pushback, and otherwise waits for the
//   hedge timer (its "hedging_everythingDrained_..." and "hedging_maxAttempts" send the next copy 100 s later).
// - The budget is asked when a hedge is about to start; grpc-java checks its throttle when it schedules the next
//   hedge timer, so a hedge already scheduled when another call throttles is still sent
//   ("hedging_throttledByOtherCall").
// Not ported: "hedging_pushback_negative" and "hedging_pushback_positive" (server pushback is an HTTP Retry-After in
// Sturdy: see test/peer-grpc-hedging-http.test.ts), "hedging_perRpcBufferLimitExceeded" and
// "hedging_channelBufferLimitExceeded" (gRPC buffers a stream's outbound messages to replay them to later hedges;
// a Sturdy attempt is one effect with nothing to buffer), "hedging_transparentRetry" and
// "hedging_transparentRetryNotAllowed" (gRPC's transport-level retry of a stream the server never saw, REFUSED or
// MISCARRIED, sits below the attempt Sturdy hedges), the appendTimeoutInsight checks (gRPC's deadline message).
import { describe, expect, it } from "@effect/vitest"
import * as Hedge from "@sturdy/policy/Hedge"
import * as RetryBudget from "@sturdy/policy/RetryBudget"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { makeCopies, settle } from "./utils/hedgeCopies.js"

type Code = "UNAVAILABLE" | "DATA_LOSS" | "INTERNAL"

class GrpcStatus extends Data.TaggedError("GrpcStatus")<{ readonly code: Code }> {}

const NON_FATAL_STATUS_CODE_1 = new GrpcStatus({ code: "UNAVAILABLE" })
const NON_FATAL_STATUS_CODE_2 = new GrpcStatus({ code: "DATA_LOSS" })
const FATAL_STATUS_CODE = new GrpcStatus({ code: "INTERNAL" })
const nonFatalStatusCodes: ReadonlySet<Code> = new Set(["UNAVAILABLE", "DATA_LOSS"])

const MAX_ATTEMPTS = 6
const HEDGING_DELAY = 100_000

const HEDGING_POLICY: Hedge.Options = {
  delay: HEDGING_DELAY,
  maxHedges: MAX_ATTEMPTS - 1,
  while: (failure) => failure instanceof GrpcStatus && nonFatalStatusCodes.has(failure.code)
}

const forward = (millis: number) => Effect.zipRight(TestClock.adjust(millis), settle)

// grpc-java's tearDown (no task left on its fake clock): no timer of the call sends a copy later. (The TestClock keeps
// the entry of an interrupted sleep, so `TestClock.sleeps()` cannot say it.)
const noPendingTasks = (copies: ReadonlyArray<unknown>) =>
  Effect.gen(function*() {
    const started = copies.length
    yield* forward(10 * HEDGING_DELAY)
    expect(copies).toHaveLength(started)
  })

// forks the hedged call and lets its first copy start
const startHedging = <A, E>(hedged: Effect.Effect<A, E>) => Effect.tap(Effect.fork(hedged), () => settle)

describe("peer grpc-java RetriableStreamTest (hedging)", () => {
  it.effect("hedging_everythingDrained_oneHedgeReceivesNonFatal_oneHedgeReceivesFatalStatus", () =>
    Effect.gen(function*() {
      const c = makeCopies<string, GrpcStatus>()
      const fiber = yield* startHedging(Hedge.hedge(c.call, HEDGING_POLICY))
      expect(c.starts()).toEqual([[0, 0]])

      yield* forward(HEDGING_DELAY - 1000)
      expect(c.copies).toHaveLength(1)
      // hedge2 starts
      yield* forward(1000)
      expect(c.starts()).toEqual([[0, 0], [1, 100_000]])
      // hedge3 starts
      yield* forward(HEDGING_DELAY)
      expect(c.starts()).toEqual([[0, 0], [1, 100_000], [2, 200_000]])

      // hedge3 receives nonFatalStatus: the next hedge is sent at once (gRFC A6; grpc-java waits for its timer, 300 s)
      yield* c.fail(2, NON_FATAL_STATUS_CODE_1)
      expect(c.starts()).toEqual([[0, 0], [1, 100_000], [2, 200_000], [3, 200_000]])
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)

      // commit: hedge2 receives a fatal status, and the copies still open are cancelled
      yield* c.fail(1, FATAL_STATUS_CODE)
      expect(yield* Fiber.await(fiber)).toEqual(Exit.fail(FATAL_STATUS_CODE))
      expect(c.ends()).toEqual([[0, "interrupted"], [1, "done"], [2, "done"], [3, "interrupted"]])
      yield* noPendingTasks(c.copies)
    }))

  it.effect("hedging_maxAttempts", () =>
    Effect.gen(function*() {
      const c = makeCopies<string, GrpcStatus>()
      const fiber = yield* startHedging(Hedge.hedge(c.call, HEDGING_POLICY))
      yield* forward(HEDGING_DELAY)
      yield* forward(HEDGING_DELAY)
      yield* forward(HEDGING_DELAY)
      expect(c.starts()).toEqual([[0, 0], [1, 100_000], [2, 200_000], [3, 300_000]])

      // a random one of the hedges fails: the fifth copy starts at once (grpc-java: at 400 s), the sixth a delay later
      yield* c.fail(1, NON_FATAL_STATUS_CODE_1)
      expect(c.starts()[4]).toEqual([4, 300_000])
      yield* forward(HEDGING_DELAY)
      expect(c.starts()[5]).toEqual([5, 400_000])
      // maxAttempts reached: no timer is left, and no seventh copy is ever sent
      yield* noPendingTasks(c.copies)
      expect(c.copies).toHaveLength(MAX_ATTEMPTS)

      // all but one of the hedges fail: the call waits for the last one
      yield* c.fail(0, NON_FATAL_STATUS_CODE_2)
      yield* c.fail(3, NON_FATAL_STATUS_CODE_2)
      yield* c.fail(4, NON_FATAL_STATUS_CODE_2)
      yield* c.fail(5, NON_FATAL_STATUS_CODE_1)
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)

      yield* c.succeed(2, "headers of hedge 3")
      expect(yield* Fiber.join(fiber)).toBe("headers of hedge 3")
      expect(c.ends().map(([, end]) => end)).toEqual(["done", "done", "done", "done", "done", "done"])
    }))

  it.effect("hedging_receiveHeaders", () =>
    Effect.gen(function*() {
      const c = makeCopies<string, GrpcStatus>()
      const fiber = yield* startHedging(Hedge.hedge(c.call, HEDGING_POLICY))
      yield* forward(HEDGING_DELAY)
      yield* forward(HEDGING_DELAY)
      expect(c.copies).toHaveLength(3)

      // a random one of the hedges receives headers: all but that one get cancelled
      yield* c.succeed(1, "headers")
      expect(yield* Fiber.join(fiber)).toBe("headers")
      expect(c.ends()).toEqual([[0, "interrupted"], [1, "done"], [2, "interrupted"]])
      yield* noPendingTasks(c.copies)
    }))

  // grpc-java: one sub-stream commits (headersRead) on one thread while another closes (REFUSED, which starts a
  // transparent retry) on another, each holding its transport's lock; the call must end without a deadlock. Here:
  // one copy answers and another fails non-fatally in the same step; the call answers, and every other copy (a hedge
  // the failure sent included) is cancelled, with no timer left.
  it.effect("hedging_deadlock", () =>
    Effect.gen(function*() {
      const c = makeCopies<string, GrpcStatus>()
      const fiber = yield* startHedging(Hedge.hedge(c.call, HEDGING_POLICY))
      yield* forward(HEDGING_DELAY)
      yield* forward(HEDGING_DELAY)
      expect(c.copies).toHaveLength(3)

      yield* Effect.all([c.succeed(0, "headers of stream 1"), c.fail(1, NON_FATAL_STATUS_CODE_1)], {
        concurrency: "unbounded"
      })
      expect(yield* Fiber.join(fiber)).toBe("headers of stream 1")
      expect(c.copies.every((copy) => copy.end !== undefined)).toBe(true)
      expect(c.ends().filter(([index]) => index >= 2).every(([, end]) => end === "interrupted")).toBe(true)
      yield* noPendingTasks(c.copies)
    }))

  it.effect("hedging_cancelled", () =>
    Effect.gen(function*() {
      const c = makeCopies<string, GrpcStatus>()
      const fiber = yield* startHedging(Hedge.hedge(c.call, HEDGING_POLICY))
      yield* forward(HEDGING_DELAY)
      expect(c.copies).toHaveLength(2)

      // the caller cancels the call: both sub-streams are cancelled
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(c.ends()).toEqual([[0, "interrupted"], [1, "interrupted"]])
      yield* noPendingTasks(c.copies)
    }))

  it.effect("hedging_throttledByOtherCall", () =>
    Effect.gen(function*() {
      const c = makeCopies<string, GrpcStatus>()
      const budget = yield* RetryBudget.make({ minRetries: 2, ratio: 0 })
      const fiber = yield* startHedging(
        Effect.provideService(
          Hedge.hedge(c.call, { ...HEDGING_POLICY, budgetKey: "channel" }),
          RetryBudget.RetryBudget,
          budget
        )
      )
      yield* forward(HEDGING_DELAY)
      expect(c.copies).toHaveLength(2)

      // some other call in the channel takes what is left of the budget
      expect(yield* budget.withdraw("channel")).toBe(true)
      expect(yield* budget.withdraw("channel")).toBe(false)
      // the primary's non-fatal failure would send the next hedge at once: the budget refuses it
      yield* c.fail(0, NON_FATAL_STATUS_CODE_1)
      // grpc-java still sends the hedge it had scheduled (stream 3, at 200 s); Sturdy asks the budget when the hedge
      // is due, so none is sent, now or later, and no timer is left
      yield* noPendingTasks(c.copies)
      expect(c.copies).toHaveLength(2)

      yield* c.succeed(1, "hedge 2")
      expect(yield* Fiber.join(fiber)).toBe("hedge 2")
    }))

  it.effect("hedging_throttledByHedgingStreams", () =>
    Effect.gen(function*() {
      const c = makeCopies<string, GrpcStatus>()
      // gRPC's Throttle(4, 0.8) lets one failure through; this budget, one hedge in its window
      const fiber = yield* startHedging(
        Hedge.hedge(c.call, { ...HEDGING_POLICY, budgetKey: "channel" }).pipe(
          Effect.provide(RetryBudget.layer({ minRetries: 1, ratio: 0 }))
        )
      )
      yield* forward(HEDGING_DELAY)
      expect(c.copies).toHaveLength(2)

      // the first non-fatal failure finds the budget spent (the hedge took it): no third copy
      yield* c.fail(0, NON_FATAL_STATUS_CODE_1)
      expect(c.copies).toHaveLength(2)
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      // the second closes the call, with its status
      yield* c.fail(1, NON_FATAL_STATUS_CODE_1)
      expect(yield* Fiber.await(fiber)).toEqual(Exit.fail(NON_FATAL_STATUS_CODE_1))
      expect(c.copies).toHaveLength(2)
      yield* noPendingTasks(c.copies)
    }))
})
