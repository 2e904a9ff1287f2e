// Ported from gRPC's retry throttling tests (gRFC A6): grpc-go's test/retry_test.go TestRetryThrottling (grpc/grpc-go,
// commit 4793ad0474669eafbd5346c8a3d098fdfa542498) and grpc-java's core/src/test/java/io/grpc/internal/
// RetriableStreamTest.java `throttle`, `throttledStream_*` and `throttleStream_Succeed` (grpc/grpc-java, commit
// 5fda0c7c35a938b2b0be05cdbe168dcb0700d64a), one `it` per gRPC case, named after it.
// Mapping: gRPC keeps `maxTokens` tokens per channel; every failed attempt with a retryable status (a "qualified
// failure") takes one token, even when it is not retried, every successful call gives back `tokenRatio`, and a retry
// is allowed while the tokens left after the failure exceed `maxTokens / 2`. Sturdy's `RetryBudget` counts logical
// calls and granted retries over a sliding window instead: a retry is allowed while `retries < minRetries + ratio ×
// requests`. A bucket of `maxTokens` is `minRetries: maxTokens / 2 − 1` (the retries a full bucket allows when no call
// succeeds: 4 for 10 tokens, 1 for 4) and `tokenRatio` is `ratio`. A channel's retry policy (MaxAttempts 4, a 10 ms
// backoff, RetryableStatusCodes UNAVAILABLE) is `Retry.retry` with `Backoff.exponential({ baseDelay: "10 millis",
// factor: 1, maxAttempts: 4 })`, `while` on the status and `budgetKey`; a retry pushback (`grpc-retry-pushback-ms`) is
// `delayHint`; a pushback that says not to retry is the caller's `while`. `onQualifiedFailureThenCheckIsAboveThreshold`
// (another call's failure asking to retry) is `withdraw`, `onSuccess` (another call) is `deposit`, and
// `isAboveThreshold` is `stats().available > 0`. "Another call in the channel" is a call on the same budget key.
// Deliberate differences (each step says which, with gRPC's value): Sturdy's budget is spent only by the retries it
// grants (a refused retry, a first attempt and a failure that is not retried cost nothing), and every logical call
// adds `ratio` whether it succeeds or fails, when it starts; gRPC's tokens are spent by every qualified failure and
// refilled only by successes, so gRPC throttles sooner after a burst of failures and recovers more slowly. A pushback
// never overrides `while` (gRPC retries a non-retryable status that carries a pushback).
// Not ported: grpc-java's hedging_throttledByOtherCall and hedging_throttledByHedgingStreams (gRPC's hedging scheduler;
// `Hedge` is not this file's subject), RetryPolicyTest.getThrottle and the service-config parsing of retryThrottling
// (no service config), and the channel-level plumbing cases (ManagedChannelImplTest).
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Retry from "@sturdy/policy/Retry"
import * as RetryBudget from "@sturdy/policy/RetryBudget"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { advance } from "./utils/advance.js"
import { statsAfter } from "./utils/retryBudget.js"

class Status extends Data.TaggedError("Status")<{
  readonly code: "UNAVAILABLE" | "NON_RETRIABLE"
  // grpc-retry-pushback-ms: a wait, or "" (do not retry)
  readonly pushback?: number | "" | undefined
}> {}

const KEY = "grpc.testing.TestService"

// Throttle(maxTokens 4, tokenRatio 0.8)
const throttle4 = () => RetryBudget.make({ minRetries: 4 / 2 - 1, ratio: 0.8 })

// the channel's retry policy: the status must be retryable and no pushback may say "do not retry"
const retryPolicy = (budget: RetryBudget.RetryBudget.Service) => ({
  schedule: Backoff.exponential({ baseDelay: "10 millis", maxDelay: "10 millis", factor: 1, maxAttempts: 4 }),
  while: (e: Status) => e.code === "UNAVAILABLE" && e.pushback !== "",
  delayHint: (e: Status) => typeof e.pushback === "number" ? Option.some(Duration.millis(e.pushback)) : Option.none(),
  budgetKey: KEY,
  budgetService: budget
})

const aboveThreshold = (budget: RetryBudget.RetryBudget.Service) =>
  Effect.map(budget.stats(KEY), (s) => s.available > 0)

// this call: its first attempt runs `meanwhile` (what other calls on the channel do while it is in flight), then
// fails with `status`; a second attempt succeeds. `attempts` counts the attempts made.
const thisCall = (status: Status, meanwhile: Effect.Effect<unknown> = Effect.void) => {
  const state = { attempts: 0 }
  const call = Effect.suspend(() =>
    ++state.attempts === 1 ? Effect.zipRight(meanwhile, Effect.fail(status)) : Effect.succeed("ok")
  )
  return { call, state }
}

describe("grpc-go test/retry_test.go", () => {
  it.effect("TestRetryThrottling", () =>
    Effect.gen(function*() {
      // maxTokens 10, tokenRatio 0.5
      const budget = yield* RetryBudget.make({ minRetries: 10 / 2 - 1, ratio: 0.5 })
      let i = -1
      const server = Effect.suspend(() => {
        i++
        return [0, 3, 6, 10, 11, 12, 13, 14, 16, 18].includes(i)
          ? Effect.succeed("ok")
          : Effect.fail(new Status({ code: "UNAVAILABLE" }))
      })
      const call = Retry.retry(server, retryPolicy(budget))
      // [Sturdy's code, the server's count i after the call] with gRPC's in the comment. The first three calls agree.
      // In call 4 gRPC's tokens, spent by every failure so far, reach the threshold at its second failure, which is
      // not retried; Sturdy has granted 4 retries of 4 + 0.5 × 4 = 6, grants two more and refuses the third. From
      // there the server's script falls one index later for Sturdy, so the later calls differ.
      const cases: Array<[string, number]> = [
        ["OK", 0], //                        gRPC OK, 0 (tokens 10)
        ["OK", 3], //                        gRPC OK, 3 (8.5)
        ["OK", 6], //                        gRPC OK, 6 (6)
        ["RetryBudgetExhausted", 9], //      gRPC UNAVAILABLE, 8 (5): first attempt retried, second aborted
        ["OK", 10], //                       gRPC UNAVAILABLE, 9 (4)
        ["OK", 11], //                       gRPC OK, 10 (4.5)
        ["OK", 12], //                       gRPC OK, 11 (5)
        ["OK", 13], //                       gRPC OK, 12 (5.5)
        ["OK", 14], //                       gRPC OK, 13 (6)
        ["OK", 16], //                       gRPC OK, 14 (6.5)
        ["OK", 18], //                       gRPC OK, 16 (5.5)
        ["RetryBudgetExhausted", 21] //      gRPC UNAVAILABLE, 17 (4.5)
      ]
      const got: Array<[string, number]> = []
      for (let n = 0; n < cases.length; n++) {
        // the clock moves a millisecond at a time: the whole script runs well inside the budget's window
        const exit = yield* advance(call, 10_000, "1 millis")
        got.push([
          Exit.isSuccess(exit) ? "OK" : Exit.match(exit, {
            onFailure: (cause) => String(cause._tag === "Fail" ? cause.error._tag : cause._tag),
            onSuccess: () => "OK"
          }),
          i
        ])
      }
      expect(got).toEqual(cases)
      // the rule behind the two refusals: 12 calls and 10 granted retries in the window, 4 + 0.5 × 12 = 10
      expect(yield* budget.stats(KEY)).toEqual({ requests: 12, retries: 10, available: 0 })
    }))
})

describe("grpc-java RetriableStreamTest", () => {
  it.effect("throttle", () =>
    Effect.gen(function*() {
      const budget = yield* throttle4()
      const failure = budget.withdraw(KEY)
      const success = budget.deposit(KEY)
      const check = aboveThreshold(budget)
      // [step, Sturdy's answer, gRPC's answer (tokens after)]
      const trace: Array<[Effect.Effect<unknown>, boolean | undefined, boolean | undefined]> = [
        [check, true, true], //       4
        [failure, true, true], //     3
        [check, false, true], //      3: gRPC is above the threshold, but its next failure is throttled
        [failure, false, false], //   2
        [check, false, false],
        [failure, false, false], //   1: a throttled failure still takes a token in gRPC, not in Sturdy
        [failure, false, false], //   0
        [failure, false, false], //   0
        [failure, false, false], //   0
        [check, false, false],
        [success, undefined, undefined], // 0.8: Sturdy 1 + 0.8 − 1 retry, so one retry is allowed again
        [check, true, false],
        [success, undefined, undefined], // 1.6
        [check, true, false],
        [success, undefined, undefined], // 2.4
        [check, true, true],
        [success, undefined, undefined], // 3.2
        [check, true, true],
        [success, undefined, undefined], // 4
        [check, true, true],
        [success, undefined, undefined], // 4
        [check, true, true],
        [check, true, true],
        [failure, true, true], //     3
        [check, true, true],
        [failure, true, false], //    2: Sturdy has 1 + 0.8 × 6 = 5.8 retries for 2 granted
        [check, true, false]
      ]
      const got: Array<boolean | undefined> = []
      for (const [step, sturdy] of trace) {
        const answer = yield* step
        got.push(sturdy === undefined ? undefined : answer as boolean)
      }
      expect(got).toEqual(trace.map(([, sturdy]) => sturdy))
      expect(yield* budget.stats(KEY)).toEqual({ requests: 6, retries: 3, available: 3 })
    }))

  it.effect("throttledStream_FailWithRetriableStatusCode_WithoutPushback", () =>
    Effect.gen(function*() {
      const budget = yield* throttle4()
      // some other call in the channel fails and retries (gRPC: tokens 3)
      const { call, state } = thisCall(
        new Status({ code: "UNAVAILABLE" }),
        Effect.tap(budget.withdraw(KEY), (granted) => expect(granted).toBe(true))
      )
      const [exit, stats] = yield* statsAfter(Retry.retry(call, retryPolicy(budget)), budget, KEY)
      // gRPC throttles this call's retry (tokens 2) and commits. Sturdy counted this call (1 + 0.8 allowed) and the
      // other call's retry (1): this call's retry is granted.
      expect(exit).toEqual(Exit.succeed("ok"))
      expect(state.attempts).toBe(2)
      // as in gRPC, no retry is left after it
      expect(stats).toEqual({ requests: 1, retries: 2, available: 0 })
    }))

  it.effect("throttledStream_FailWithNonRetriableStatusCode_WithoutPushback", () =>
    Effect.gen(function*() {
      const budget = yield* throttle4()
      const failure = new Status({ code: "NON_RETRIABLE" })
      const { call, state } = thisCall(failure, budget.withdraw(KEY))
      const [exit, stats] = yield* statsAfter(Retry.retry(call, retryPolicy(budget)), budget, KEY)
      // not retried, and not counted (gRPC: tokens stay 3, above the threshold)
      expect(exit).toEqual(Exit.fail(failure))
      expect(state.attempts).toBe(1)
      expect(stats).toEqual({ requests: 1, retries: 1, available: 1 })
      // gRPC: the next qualified failure is throttled (tokens 2). Sturdy still has 1 + 0.8 × 1 for 1 granted.
      expect(yield* budget.withdraw(KEY)).toBe(true)
    }))

  it.effect("throttledStream_FailWithRetriableStatusCode_WithRetriablePushback", () =>
    Effect.gen(function*() {
      const budget = yield* throttle4()
      const { call, state } = thisCall(new Status({ code: "UNAVAILABLE", pushback: 123 }), budget.withdraw(KEY))
      const started = yield* Clock.currentTimeMillis
      const [exit, stats] = yield* statsAfter(
        Effect.zipLeft(
          Retry.retry(call, retryPolicy(budget)),
          Effect.flatMap(Clock.currentTimeMillis, (end) =>
            // the retry waited the pushback (plus at most 10 % of jitter)
            Effect.sync(() => expect(end - started).toBeGreaterThanOrEqual(123)))
        ),
        budget,
        KEY
      )
      // gRPC: a pushback does not bypass the throttle, the retry is throttled (tokens 2). Neither does it in Sturdy,
      // but Sturdy's budget allows this retry (as in the case without a pushback).
      expect(exit).toEqual(Exit.succeed("ok"))
      expect(state.attempts).toBe(2)
      expect(stats).toEqual({ requests: 1, retries: 2, available: 0 })
    }))

  it.effect("throttledStream_FailWithNonRetriableStatusCode_WithRetriablePushback", () =>
    Effect.gen(function*() {
      const budget = yield* throttle4()
      const failure = new Status({ code: "NON_RETRIABLE", pushback: 123 })
      const { call, state } = thisCall(failure, budget.withdraw(KEY))
      const [exit, stats] = yield* statsAfter(Retry.retry(call, retryPolicy(budget)), budget, KEY)
      // gRPC retries after the pushback without taking a token. Sturdy asks `while` first: the status is not
      // retryable, so the pushback is not looked at and nothing is counted.
      expect(exit).toEqual(Exit.fail(failure))
      expect(state.attempts).toBe(1)
      // above the threshold, as in gRPC (tokens 3)
      expect(stats).toEqual({ requests: 1, retries: 1, available: 1 })
      // gRPC: the next qualified failure is throttled (tokens 2); Sturdy grants it
      expect(yield* budget.withdraw(KEY)).toBe(true)
    }))

  it.effect("throttledStream_FailWithRetriableStatusCode_WithNonRetriablePushback", () =>
    Effect.gen(function*() {
      const budget = yield* throttle4()
      const failure = new Status({ code: "UNAVAILABLE", pushback: "" })
      const { call, state } = thisCall(failure, budget.withdraw(KEY))
      const [exit, stats] = yield* statsAfter(Retry.retry(call, retryPolicy(budget)), budget, KEY)
      // not retried, as in gRPC; gRPC counts the failure (tokens 2, below the threshold), Sturdy does not
      expect(exit).toEqual(Exit.fail(failure))
      expect(state.attempts).toBe(1)
      expect(stats).toEqual({ requests: 1, retries: 1, available: 1 })
    }))

  it.effect("throttledStream_FailWithNonRetriableStatusCode_WithNonRetriablePushback", () =>
    Effect.gen(function*() {
      const budget = yield* throttle4()
      const failure = new Status({ code: "NON_RETRIABLE", pushback: "" })
      const { call, state } = thisCall(failure, budget.withdraw(KEY))
      const [exit, stats] = yield* statsAfter(Retry.retry(call, retryPolicy(budget)), budget, KEY)
      // not retried, as in gRPC; gRPC counts the failure (tokens 2), Sturdy does not
      expect(exit).toEqual(Exit.fail(failure))
      expect(state.attempts).toBe(1)
      expect(stats).toEqual({ requests: 1, retries: 1, available: 1 })
    }))

  it.effect("throttleStream_Succeed", () =>
    Effect.gen(function*() {
      const budget = yield* throttle4()
      const others: Array<boolean> = []
      // this call is in flight while three other calls fail and ask to retry; then it succeeds
      const call = Effect.zipRight(
        Effect.forEach([1, 2, 3], () => Effect.tap(budget.withdraw(KEY), (granted) => others.push(granted))),
        Effect.succeed("ok")
      )
      const [exit, stats] = yield* statsAfter(Retry.retry(call, retryPolicy(budget)), budget, KEY)
      expect(exit).toEqual(Exit.succeed("ok"))
      // gRPC: true, false, false (tokens 3, 2, 1). Sturdy counted this call first: 1 + 0.8 allows two.
      expect(others).toEqual([true, true, false])
      // below the threshold after this call's success, as in gRPC (tokens 1.8)
      expect(stats.available).toBe(0)
      // another call in the channel succeeds: above the threshold again, as in gRPC (tokens 2.6)
      yield* budget.deposit(KEY)
      expect(yield* aboveThreshold(budget)).toBe(true)
    }))
})
