// Ported from tower's tower/tests/retry/main.rs (tower-rs/tower, commit 8358ee712c4050650737e361fba242aa8c798ce2), one
// `it` per case, named after it.
// Mapping: `RetryLayer::new(policy)` over tower-test's mock (`utils/towerMock.ts`: a request waits until the test
// answers it) is `Retry.retry(options)` around the call. tower's policies retry at once (`future::ready(())`): the
// schedule is `Schedule.forever` (no wait, no limit), or `Schedule.recurs(n)` for `Limit(n)`. `Policy::retry`'s
// look at the result is `while(failure)` (`UnlessErr("reject")`: every failure but "reject"). `clone_request`
// returning `None` (`CannotClone`: the request cannot be sent again) is a call the caller does not let `Retry` repeat:
// `while` answers false, and `Retry` gives up with reason "not-retryable" (tower asks no policy at all). A policy
// that changes the request for the retries (`MutatingPolicy`: `*req = "retrying"`) is an `onAttempt` hook that sets
// the request the next attempt sends, and its rewrite of the result once out of retries is `finalFailure`.
// Deliberate differences: Sturdy's `Retry` repeats only failures; `MutatingPolicy` retries a response too, so in
// `retry_mutating_policy` the mock's response is made a typed failure before `Retry` sees it (a caller that repeats
// on a response, as a poll does, would do the same).
// Not ported: none of main.rs's cases is left out. tower's retry budget (tower/src/retry/budget) is ported in
// peer-tower-finagle-RetryBudget.test.ts.
import { describe, expect, it } from "@effect/vitest"
import * as Retry from "@sturdy/policy/Retry"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import { mockPair, settle } from "./utils/towerMock.js"

type Req = string
type Res = string
type Error = string

// tower's `new_service(policy)`: the mock and the retried call; `decisions` are the `Attempt`s `Retry` reported
const newService = (options: Retry.Options<Error>, request: () => Req = () => "hello") => {
  const handle = mockPair<Req, Res, Error>()
  const decisions: Array<Retry.Attempt<Error>> = []
  const onAttempt = options.onAttempt
  const call = Effect.suspend(() => handle.call(request())).pipe(
    Retry.retry({
      ...options,
      onAttempt: (attempt) =>
        Effect.zipRight(
          Effect.sync(() => decisions.push(attempt)),
          onAttempt === undefined ? Effect.void : onAttempt(attempt)
        )
    })
  )
  const spawn = Effect.tap(Effect.fork(call), () => settle)
  return { handle, decisions, spawn }
}

const pending = <A, E>(fiber: Fiber.Fiber<A, E>) => Effect.map(Fiber.poll(fiber), Option.isNone)

// RetryErrors: retry every error, at once
const RetryErrors: Retry.Options<Error> = { schedule: Schedule.forever }
// Limit(n): retry an error n times at most
const Limit = (n: number): Retry.Options<Error> => ({ schedule: Schedule.recurs(n) })
// UnlessErr(e): retry every error but `e`
const UnlessErr = (e: Error): Retry.Options<Error> => ({ schedule: Schedule.forever, while: (err) => err !== e })

describe("peer tower retry/main.rs", () => {
  it.effect("retry_errors", () =>
    Effect.gen(function*() {
      const { handle, spawn } = newService(RetryErrors)
      const fut = yield* spawn

      yield* handle.assertRequestEq("hello").sendError("retry me")

      expect(yield* pending(fut)).toBe(true)

      yield* handle.assertRequestEq("hello").sendResponse("world")

      expect(yield* Fiber.join(fut)).toBe("world")
    }))

  it.effect("retry_limit", () =>
    Effect.gen(function*() {
      const { decisions, handle, spawn } = newService(Limit(2))
      const fut = yield* spawn

      yield* handle.assertRequestEq("hello").sendError("retry 1")
      expect(yield* pending(fut)).toBe(true)

      yield* handle.assertRequestEq("hello").sendError("retry 2")
      expect(yield* pending(fut)).toBe(true)

      yield* handle.assertRequestEq("hello").sendError("retry 3")
      expect(yield* Fiber.await(fut)).toEqual(Exit.fail("retry 3"))
      expect(decisions.map((d) => [d.attempt, d.reason])).toEqual([[2, "backoff"], [3, "backoff"], [4, "exhausted"]])
    }))

  it.effect("retry_error_inspection", () =>
    Effect.gen(function*() {
      const { handle, spawn } = newService(UnlessErr("reject"))
      const fut = yield* spawn

      yield* handle.assertRequestEq("hello").sendError("retry 1")
      expect(yield* pending(fut)).toBe(true)

      yield* handle.assertRequestEq("hello").sendError("reject")
      expect(yield* Fiber.await(fut)).toEqual(Exit.fail("reject"))
      expect(handle.requests).toHaveLength(2)
    }))

  it.effect("retry_cannot_clone_request", () =>
    Effect.gen(function*() {
      const { decisions, handle, spawn } = newService({ schedule: Schedule.forever, while: () => false })
      const fut = yield* spawn

      yield* handle.assertRequestEq("hello").sendError("retry 1")
      expect(yield* Fiber.await(fut)).toEqual(Exit.fail("retry 1"))
      // no second request, and the decision says why
      expect(handle.requests).toEqual(["hello"])
      expect(decisions.map((d) => [d.attempt, d.reason, d.retrying])).toEqual([[2, "not-retryable", false]])
    }))

  // "Even though the request couldn't be cloned, if the first request succeeds, it should succeed overall."
  it.effect("success_with_cannot_clone", () =>
    Effect.gen(function*() {
      // tower's CannotClone::retry is `unreachable!`: here `while` is not asked either
      let asked = 0
      const { decisions, handle, spawn } = newService({
        schedule: Schedule.forever,
        while: () => {
          asked++
          return false
        }
      })
      const fut = yield* spawn

      yield* handle.assertRequestEq("hello").sendResponse("world")
      expect(yield* Fiber.join(fut)).toBe("world")
      expect(asked).toBe(0)
      expect(decisions).toEqual([])
    }))

  it.effect("retry_mutating_policy", () =>
    Effect.gen(function*() {
      // MutatingPolicy { remaining: 2 }: every result is retried, with the request changed to "retrying"; once out
      // of retries the result becomes the error "out of retries"
      let req: Req = "hello"
      const handle = mockPair<Req, Res, Error>()
      const call = Effect.suspend(() => handle.call(req)).pipe(
        // Sturdy retries failures only: the response is made a failure for `Retry` to see (see the header)
        Effect.flatMap((res) => Effect.fail(res)),
        Retry.retry({
          schedule: Schedule.recurs(2),
          onAttempt: (attempt) =>
            Effect.sync(() => {
              if (attempt.retrying) req = "retrying"
            }),
          finalFailure: () => "out of retries"
        })
      )
      const fut = yield* Effect.tap(Effect.fork(call), () => settle)

      yield* handle.assertRequestEq("hello").sendResponse("world")
      expect(yield* pending(fut)).toBe(true)
      // the policy alters the request. in real life, this might be setting a header
      yield* handle.assertRequestEq("retrying").sendResponse("world")

      expect(yield* pending(fut)).toBe(true)

      yield* handle.assertRequestEq("retrying").sendResponse("world")

      expect(yield* Fiber.await(fut)).toEqual(Exit.fail("out of retries"))
      expect(handle.requests).toEqual(["hello", "retrying", "retrying"])
    }))
})
