/**
 * Vert.x's circuit breaker over HTTP, ported to Sturdy's `Policy` breaker over a real node:http server on 127.0.0.1
 * (`test/utils/retryHarness.ts`, every pause on the TestClock). Source: vert-x3/vertx-circuit-breaker,
 * `src/test/java/io/vertx/circuitbreaker/tests/impl/CircuitBreakerWithHTTPTest.java` at
 * 67f0f3fc2cdad4a751ed3148c5315272c3c943b3; one `it` per Java test, named after it.
 *
 * Mapping: `CircuitBreakerOptions` (maxFailures 5, resetTimeout 30 s, timeout 10 s by default) is `circuitBreaker: {
 * consecutiveFailures: maxFailures, breakDuration: resetTimeout }` and `attemptTimeout: timeout`; the operation's
 * `future.fail("http error")` on a status other than 200 is Sturdy's `ServerError` for the 500 (a counted failure by
 * default); Vert.x's `TimeoutException` is HTTP's `Timeout` of phase "Attempt", counted too; `OpenCircuitException`
 * is `CircuitOpen`. `executeAndReportWithFallback(..., v -> "fallback")` is `Fallback.orElse` restricted to
 * `CircuitOpen` (fallbackOnFailure is off). The calls make one attempt (`retry: false`) except in
 * testUseRetryAfterHeaderValue, whose `maxRetries(1)` with a retry policy that waits the 503's Retry-After is
 * `retry: { maxAttempts: 2 }` with Sturdy's default `respectRetryAfter`. `breaker.state()` is the policy's breaker for
 * the URL. The server's `/long` blocks its thread for 2 s before answering; here it answers 2 s later.
 *
 * Deliberate differences: in Vert.x the retries of one `execute` are inside the breaker (one outcome recorded); in
 * `Policy` each attempt passes the breaker, so the 503 of testUseRetryAfterHeaderValue is recorded as a failure and the
 * 200 after it as a success (the breaker stays closed in both). Sturdy adds jitter of at most 10 % (and 1 s) to a
 * Retry-After wait, so the retry comes 2 to 2.2 s after the first request (Vert.x: at least 2 s).
 *
 * Not ported: nothing.
 */
import { HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import type { Policy } from "@sturdy/http"
import { CircuitBreaker, Fallback } from "@sturdy/policy"
import { Effect, Exit, Option } from "effect"
import { failureOf, gaps, type Handler, type Harness, send, setup, textOf } from "./utils/retryHarness.js"

/** setUp's server: `/` hello, `/error` 500, `/long` hello after 2 s, `/flaky` a 503 with Retry-After 2 once, then 200 */
const server = (): Handler => {
  let invoked = false
  return (request, response, _count, tools) => {
    switch (request.path) {
      case "/":
        return send(response, 200, {}, "hello")
      case "/error":
        return send(response, 500, {}, "failed !")
      case "/long":
        return tools.later(2000, () => send(response, 200, {}, "hello"))
      case "/flaky":
        if (!invoked) {
          invoked = true
          return send(response, 503, { "retry-after": "2" })
        }
        return send(response, 200)
    }
  }
}

const vertxPolicy = (
  options: { readonly maxFailures?: number; readonly timeout?: number; readonly maxRetries?: number } = {}
): Policy.Options => ({
  circuitBreaker: { consecutiveFailures: options.maxFailures ?? 5, breakDuration: "30 seconds" },
  attemptTimeout: `${options.timeout ?? 10_000} millis`,
  retry: (options.maxRetries ?? 0) === 0 ? false : { maxAttempts: (options.maxRetries ?? 0) + 1 }
})

const stateOf = (h: Harness) =>
  Effect.flatMap(
    Effect.map(h.policy.circuitBreaker(HttpClientRequest.get(`${h.url}/`)), Option.getOrThrow),
    (b) => b.state
  )

const withFallback = <A, E, R>(call: Effect.Effect<A, E, R>) =>
  Effect.map(
    Fallback.orElse(call, Effect.succeed("fallback"), { while: CircuitBreaker.isCircuitOpen }),
    (answer) => answer.value
  )

describe("vert-x3/vertx-circuit-breaker CircuitBreakerWithHTTPTest", () => {
  it.scoped("testOk", () =>
    Effect.gen(function*() {
      const h = yield* setup(server(), vertxPolicy())
      expect(yield* stateOf(h)).toBe("Closed")
      expect(textOf(yield* h.run(h.api.get("/")))).toBe("hello")
      expect(yield* stateOf(h)).toBe("Closed")
    }))

  it.scoped("testFailure", () =>
    Effect.gen(function*() {
      const h = yield* setup(server(), vertxPolicy())
      expect(yield* stateOf(h)).toBe("Closed")
      for (let i = 0; i < 5; i++) {
        expect(failureOf(yield* h.run(h.api.get("/error")))).toMatchObject({ _tag: "ServerError", status: 500 })
      }
      expect(h.seen.length).toBe(5)
      expect(yield* stateOf(h)).toBe("Open")

      const result = yield* h.run(withFallback(h.api.get("/error")))
      expect(result).toEqual(Exit.succeed("fallback"))
      expect(h.seen.length).toBe(5)
      expect(yield* stateOf(h)).toBe("Open")
    }))

  it.scoped("testTimeout", () =>
    Effect.gen(function*() {
      const h = yield* setup(server(), vertxPolicy({ timeout: 100, maxFailures: 2 }))
      expect(yield* stateOf(h)).toBe("Closed")
      for (let i = 0; i < 2; i++) {
        expect(failureOf(yield* h.run(h.api.get("/long")))).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      }
      expect(yield* stateOf(h)).toBe("Open")

      const result = yield* h.run(withFallback(h.api.get("/long")))
      expect(result).toEqual(Exit.succeed("fallback"))
      expect(h.seen.length).toBe(2)
      expect(yield* stateOf(h)).toBe("Open")
    }))

  it.scoped("testUseRetryAfterHeaderValue", () =>
    Effect.gen(function*() {
      const h = yield* setup(server(), vertxPolicy({ maxRetries: 1 }))
      expect(yield* stateOf(h)).toBe("Closed")
      const exit = yield* h.run(h.api.get("/flaky"))
      expect(Exit.isSuccess(exit) && exit.value.status).toBe(200)
      expect(yield* stateOf(h)).toBe("Closed")
      expect(h.seen.length).toBe(2)
      const [gap] = gaps(h)
      expect(gap).toBeGreaterThanOrEqual(2000)
      expect(gap).toBeLessThanOrEqual(2200)
    }))
})
