/**
 * guzzle/guzzle's `tests/RetryMiddlewareTest.php` (github.com/guzzle/guzzle at
 * 2779e868a00289e1b1fd854af030c43a06f4bcb4), ported to `SturdyClient` with a `Policy` over `@sturdy/node`'s undici
 * transport against a real node:http server on 127.0.0.1 (`test/utils/retryHarness.ts`), every wait on the TestClock,
 * and to `Backoff` for `RetryMiddleware::exponentialDelay`. The peer's `MockHandler` queue is the server's answer to its
 * n-th request; a thrown `\Exception` is the server destroying the socket before it answers. One `it` per peer case.
 *
 * Mapping: `Middleware::retry($decider, $delay)` is `retry.retryOn` (the decider, given the failure and the number of
 * the attempt that failed) and `retry.delay` (given that number, 1 for the first retry's wait as Guzzle's `$retries`,
 * and the failure); the decider's `$retries`, `$response` and `$exception` are the attempt number and the failure
 * (a status failure carries the response's status and headers, a connection failure its reason); Guzzle's delay in
 * milliseconds is a `retry.delay` in milliseconds; `exponentialDelay` is `Backoff.exponential({ baseDelay: "1 second",
 * factor: 2, jitter: "none" })`. `retry.maxAttempts` is set high enough that the decider alone decides, as in Guzzle.
 *
 * Deliberate differences (each test says which): Guzzle's decider sees every response, a 2xx included, and may retry
 * it; Sturdy retries failures only, so `retryOn` is asked about failures and a 2xx ends the call (the peer's
 * 200, 201 answers become 500, 502 here, for the decider to be asked about them); `exponentialDelay(0)` (no wait) has no
 * counterpart: retries count from 1, and the first retry waits `baseDelay`.
 *
 * Every case of the file is ported.
 */
import { describe, expect, it } from "@effect/vitest"
import type { Policy } from "@sturdy/http"
import { Backoff } from "@sturdy/policy"
import { Chunk, Duration, Effect, Exit, Schedule } from "effect"
import { delays, gaps, type Handler, send, setup } from "./utils/retryHarness.js"

/** the peer's MockHandler: request n gets `answers[n - 1]`, a status or a destroyed socket ("exception") */
const queue = (...answers: ReadonlyArray<number | "exception">): Handler => (_, response, n) => {
  const answer = answers[n - 1] ?? 200
  if (answer === "exception") return response.socket?.destroy()
  send(response, answer)
}

/** the decider decides alone: enough attempts, no budget (the harness's), a timer-free default */
const decides = (retry: Policy.RetryOptions): Policy.Options => ({
  retry: { maxAttempts: 10, maxDelay: "1 hour", jitter: "none", ...retry }
})

const statusOf = (exit: Exit.Exit<{ readonly status: number }, unknown>) => Exit.isSuccess(exit) && exit.value.status

describe("guzzle tests/RetryMiddlewareTest.php", () => {
  it.scoped("testRetriesWhenDeciderReturnsTrue", () =>
    Effect.gen(function*() {
      // Difference: the peer's 200 and 201 (retried by its decider) are 500 and 502 here: a 2xx is never retried
      const calls: Array<readonly [number, Policy.RetryFailure]> = []
      let delayCalls = 0
      const retried: Array<number> = []
      const h = yield* setup(
        queue(500, 502, 202),
        decides({
          retryOn: (failure, attempt) => {
            calls.push([attempt, failure])
            return calls.length < 3
          },
          delay: (retries) => {
            delayCalls++
            retried.push(retries)
            return 1
          }
        })
      )
      const exit = yield* h.run(h.api.get("/"))
      expect(statusOf(exit)).toBe(202)
      // asked about the two failures only (the peer asks about the 202 as well: 3 calls)
      expect(calls.map(([attempt, failure]) => [attempt, "status" in failure && failure.status])).toEqual([
        [1, 500],
        [2, 502]
      ])
      expect(delayCalls).toBe(2)
      // $retries === $delayCalls on each call
      expect(retried).toEqual([1, 2])
      expect(delays(h)).toEqual([1, 1])
      expect(gaps(h)).toEqual([1, 1])
    }))

  it.scoped("testDoesNotRetryWhenDeciderReturnsFalse", () =>
    Effect.gen(function*() {
      const h = yield* setup(queue(200), decides({ retryOn: () => false }))
      expect(statusOf(yield* h.run(h.api.get("/")))).toBe(200)
      expect(h.seen.length).toBe(1)
      // and a failure the decider refuses is returned as it is, not retried
      const failing = yield* setup(queue(503), decides({ retryOn: () => false }))
      const exit = yield* failing.run(failing.api.get("/"))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(failing.seen.length).toBe(1)
      expect(failing.decisions.map((d) => [d.reason, d.retrying])).toEqual([["not-retryable", false]])
    }))

  it.scoped("testCanRetryExceptions", () =>
    Effect.gen(function*() {
      const calls: Array<readonly [number, Policy.RetryFailure]> = []
      const h = yield* setup(
        queue("exception", 201),
        decides({
          retryOn: (failure, attempt) => {
            calls.push([attempt, failure])
            // `$exception instanceof \Exception`: a failure without a response
            return failure._tag === "ConnectionError"
          }
        })
      )
      expect(statusOf(yield* h.run(h.api.get("/")))).toBe(201)
      // Difference: the decider is not asked about the 201 (the peer's second call, with the response)
      expect(calls.length).toBe(1)
      expect(calls[0]![0]).toBe(1)
      expect(calls[0]![1]).toMatchObject({ _tag: "ConnectionError", reason: "Reset" })
      expect("status" in calls[0]![1]).toBe(false)
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("testBackoffCalculateDelay", () =>
    Effect.gen(function*() {
      // exponentialDelay(1..4) = 1000, 2000, 4000, 8000 ms (Difference: exponentialDelay(0) = 0 has no counterpart)
      const schedule = Backoff.exponential({
        baseDelay: "1 second",
        factor: 2,
        jitter: "none",
        maxDelay: "1 hour",
        maxAttempts: 5
      })
      const out = yield* Schedule.run(schedule, 0, [0, 0, 0, 0])
      expect(Chunk.toReadonlyArray(out).map(Duration.toMillis)).toEqual([1000, 2000, 4000, 8000])
      // the same backoff as a policy's, between the requests to a failing server
      const h = yield* setup(queue(503, 503, 503, 503), {
        totalTimeout: "1 minute",
        retry: { maxAttempts: 5, baseDelay: "1 second", maxDelay: "1 hour", jitter: "none" }
      })
      expect(statusOf(yield* h.run(h.api.get("/")))).toBe(200)
      expect(gaps(h)).toEqual([1000, 2000, 4000, 8000])
    }))
})
