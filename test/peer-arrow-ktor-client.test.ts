/**
 * Arrow's arrow-libs/integrations/arrow-resilience-ktor-client/src/jvmTest/kotlin/arrow/resilience/ktor/client/
 * HttpRequestScheduleTest.kt (arrow-kt/arrow, commit 0aa9227a8dcc51fc207b219f328c62cf85195a2e): Arrow's resilience
 * `Schedule` and `CircuitBreaker` installed in a ktor client (`HttpRequestSchedule`, `HttpCircuitBreaker`), ported to
 * Sturdy's `SturdyClient` over `@sturdy/node`'s undici transport against a real node:http server on 127.0.0.1
 * (`test/utils/retryHarness.ts`), every wait on the TestClock. One `it` per Arrow case, named after it.
 *
 * Mapping: ktor's `MockEngine` handler is the server's answer; its counter is the requests the server saw plus the
 * connections that failed before reaching it; `throw ConnectException()` is a refused connection (`connectFailures`,
 * Sturdy's `ConnectionError` of reason "Refused"); `respond(status = NotFound)` is a 404. `repeat(Schedule.doWhile {
 * request, _ -> !request.status.isSuccess() })` (request again while the answer is not a success) is
 * `retry.statuses: [404]` (Sturdy retries failures, and a 404 is one); `retry(Schedule.doWhile { throwable, _ ->
 * throwable is ConnectException })` is `retry.retryOn` selecting the `ConnectionError`s; both with no wait between
 * attempts (Arrow's `doWhile` has none) and no limit of their own: `maxAttempts: Infinity` (Sturdy takes more than 10
 * attempts only under a bound, so `totalTimeout: "1 minute"`, which no case reaches); `retry(Schedule.recurs(0))` is
 * `retry.maxAttempts: 1`. A per-request `schedule { }` is an `endpoints` override of another path. `HttpCircuitBreaker`'s
 * `circuitBreaker(resetTimeout, maxFailures)` is `circuitBreaker: { breakDuration: resetTimeout, consecutiveFailures:
 * maxFailures + 1 }` (Arrow's `maxFailures` failures are tolerated, the next opens; see
 * packages/policy/test/peer-arrow-CircuitBreaker.test.ts); `ServerResponseException` is a `ServerError` and
 * `ExecutionRejected` a `CircuitOpen`. Arrow's `checkAll(Arb.long(0, 19))` runs here over every value of its range.
 *
 * Deliberate differences (each test says which): ktor's `expectSuccess = false` makes a 500 an ordinary response
 * that the breaker never sees; Sturdy always ends a call on a 500 with `ServerError`, and what the breaker counts is
 * `circuitBreaker.countsAsFailure`: that case passes one that counts no status.
 *
 * Not ported: `recurs` (`repeat(Schedule.recurs(l))` sends a request that SUCCEEDED l more times: Sturdy only repeats
 * failed attempts, and has no repetition of successes).
 */
import { describe, expect, it } from "@effect/vitest"
import { CircuitBreaker } from "@sturdy/policy"
import { Effect } from "effect"
import {
  connectErrors,
  failureOf,
  fixture,
  type Handler,
  type Harness,
  send,
  setup,
  statusOf,
  textOf
} from "./utils/retryHarness.js"

const MAX_CHECKS = 19

/** ktor's MockEngine counter: every request the engine was asked to make, those that failed to connect included */
const counter = (h: Harness, failedConnects: number) => failedConnects + h.seen.length

const ok: Handler = (_, response) => send(response, 200, {}, fixture)

/** Arrow's unbounded `doWhile` schedules: no wait, no limit of their own (a bound no case reaches) */
const doWhile = { maxAttempts: Infinity, delay: () => 0 } as const
const bound = { totalTimeout: "1 minute" } as const

const EXPECT_SUCCESS_MAX_FAILURES = 4

const expectSuccessSetup = (countsAsFailure?: () => boolean) =>
  setup((_, response) => send(response, 500), {
    retry: false,
    circuitBreaker: {
      breakDuration: "15 seconds",
      consecutiveFailures: EXPECT_SUCCESS_MAX_FAILURES + 1,
      ...(countsAsFailure === undefined ? {} : { countsAsFailure })
    }
  })

describe("peer Arrow HttpRequestScheduleTest", () => {
  it.scoped("doWhile", () =>
    Effect.gen(function*() {
      for (let l = 0; l <= MAX_CHECKS; l++) {
        yield* Effect.scoped(Effect.gen(function*() {
          // the first l answers are 404s, then 200
          const h = yield* setup(
            (_, response, count) =>
              count <= l ? send(response, 404, {}, "Not Found") : send(response, 200, {}, fixture),
            { ...bound, retry: { ...doWhile, statuses: [404] } }
          )
          const response = yield* h.run(h.api.get("/do"))
          expect(counter(h, 0)).toBe(l + 1)
          expect(textOf(response)).toBe(fixture)
        }))
      }
    }))

  it.scoped("retry", () =>
    Effect.gen(function*() {
      for (let l = 0; l <= MAX_CHECKS; l++) {
        yield* Effect.scoped(Effect.gen(function*() {
          // the first l connections are refused, then the server answers 200
          const h = yield* setup(ok, {
            ...bound,
            retry: { ...doWhile, retryOn: (failure) => failure._tag === "ConnectionError" }
          }, { connectFailures: connectErrors(l, "ECONNREFUSED") })
          const response = yield* h.run(h.api.get("/do"))
          expect(counter(h, l)).toBe(l + 1)
          expect(h.seen).toHaveLength(1)
          expect(textOf(response)).toBe(fixture)
          expect(h.decisions.filter((d) => d.retrying).map((d) => d.failure._tag)).toEqual(
            Array.from({ length: l }, () => "ConnectionError")
          )
        }))
      }
    }))

  it.scoped("schedule", () =>
    Effect.gen(function*() {
      for (let l = 1; l <= MAX_CHECKS; l++) {
        yield* Effect.scoped(Effect.gen(function*() {
          const h = yield* setup(ok, {
            ...bound,
            // the client's schedule: `retry(Schedule.recurs(0))`, no retry at all
            retry: { maxAttempts: 1 },
            // the request's own: `schedule { retry(Schedule.doWhile { throwable is ConnectException }) }`
            endpoints: {
              "GET /scheduled": {
                retry: { ...doWhile, retryOn: (failure) => failure._tag === "ConnectionError" }
              }
            }
          }, { connectFailures: connectErrors(l, "ECONNREFUSED") })

          const first = failureOf(yield* h.run(h.api.get("/do")))
          expect(first).toMatchObject({ _tag: "ConnectionError", reason: "Refused" })
          expect(h.decisions.map((d) => d.reason)).toEqual(["exhausted"])

          const response = yield* h.run(h.api.get("/scheduled"))
          expect(counter(h, l)).toBe(l + 1)
          expect(h.seen.map((s) => s.path)).toEqual(["/scheduled"])
          expect(textOf(response)).toBe(fixture)
        }))
      }
    }))

  it.scoped("HTTP server errors trip the Circuit Breaker if expectSuccess is true", () =>
    Effect.gen(function*() {
      const h = yield* expectSuccessSetup()
      for (let i = 0; i <= EXPECT_SUCCESS_MAX_FAILURES; i++) {
        const failure = failureOf(yield* h.run(h.api.get("/test")))
        expect(failure).toMatchObject({ _tag: "ServerError" })
        expect(statusOf(failure)).toBe(500)
      }
      const rejected = failureOf(yield* h.run(h.api.get("/test")))
      expect(CircuitBreaker.isCircuitOpen(rejected)).toBe(true)
      expect(h.seen).toHaveLength(EXPECT_SUCCESS_MAX_FAILURES + 1)
    }))

  it.scoped("HTTP server errors do not trip the Circuit Breaker if expectSuccess is false", () =>
    Effect.gen(function*() {
      // Sturdy: the 500 still ends the call with ServerError; the breaker is told it is no failure of the upstream
      const h = yield* expectSuccessSetup(() => false)
      const failure = failureOf(yield* h.run(h.api.get("/test")))
      expect(statusOf(failure)).toBe(500)
      expect(h.seen).toHaveLength(1)
      // what the name says: past the threshold, every call still reaches the server
      for (let i = 0; i <= EXPECT_SUCCESS_MAX_FAILURES; i++) {
        expect(statusOf(failureOf(yield* h.run(h.api.get("/test"))))).toBe(500)
      }
      expect(h.seen).toHaveLength(EXPECT_SUCCESS_MAX_FAILURES + 2)
    }))
})
