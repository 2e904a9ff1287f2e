/**
 * axios-retry's `spec/index.spec.ts` (softonic/axios-retry), ported to Sturdy's public API: `SturdyClient` over
 * `@sturdy/node`'s undici transport against a real node:http server on 127.0.0.1 (`test/utils/retryHarness.ts`),
 * `RetryHeaders.parseRetryAfter` and `Backoff` for axios-retry's pure helpers, every wait on the TestClock. One `it`
 * per axios-retry case, named after it (its `describe` path shortened).
 *
 * Mapping: `retries: n` is `retry.maxAttempts: n + 1`; `retryCondition` is `retry.retryOn` (a predicate over the
 * failure); `retryDelay` is `retry.delay` (both 1-based: `retryDelay(1)` is the wait before the first retry); the
 * default `noDelay` is `baseDelay: 0`; `exponentialDelay` (2^n × 100 ms, n from 1) is `Backoff.exponential({
 * baseDelay: 200 millis, factor: 2 })`; `linearDelay(f)` is `retry.delay: (n) => n × f`; a request `timeout` with
 * `shouldResetTimeout: false` (the default: one limit for the whole call) is `totalTimeout`, and with
 * `shouldResetTimeout: true` it is `attemptTimeout`; `onRetry` is a `RetryDecision` event with `retrying: true`
 * (axios's `retryCount` is Sturdy's `attempt − 1`), `onMaxRetryTimesExceeded` the one with `retrying: false` and
 * reason `"exhausted"`; `validateResponse` is a response `schema` with `retryOn: { SchemaMismatch: true }`; an
 * `AbortSignal` is fiber interruption; the per-request `axios-retry` config is an `endpoints` override or the
 * per-call `onEvent`. A network error (`ECONNRESET`) is a server that cuts the connection.
 *
 * Deliberate differences (each test says which): axios-retry does not retry timeouts (`ECONNABORTED`), Sturdy retries
 * an attempt timeout of a request safe to repeat (as ky, got, urllib3 and Polly do: a slow attempt is the commonest
 * transient failure); `retryCondition: () => true` retries a POST in axios-retry, Sturdy never repeats a request that
 * is not safe to repeat after a failure that may have reached the server, whatever `retryOn` says, unless
 * `retry.methods` lists the method; `exponentialDelay` adds 0–20 % of jitter and takes the larger of its delay and
 * `Retry-After`, Sturdy's jitter only shortens a delay within its envelope and a server's wait replaces the backoff
 * (`Retry-After: 0` retries at once); axios-retry's default is 3 retries with no delay, Sturdy's 3 attempts with a
 * 2 s exponential backoff; axios-retry retries every 5xx, Sturdy not 501, 505 and 511.
 *
 * Not ported (axios mechanics): "should reject with errors without a `config` property without retrying", "should
 * work with a custom `agent` / `httpAgent` configuration", "axiosRetry interceptors" (interceptor ejection); the
 * Promise-returning `retryCondition` cases ("when retry condition is returning a promise", "given as promise":
 * `retryOn` is a synchronous predicate); "onRetry ... should reject with the error" and "onMaxRetryTimesExceeded
 * ... should reject with the custom error" (an `onEvent` hook cannot fail: its type is `Effect<void>`; a caller
 * replaces the failure with `Effect.mapError`); "isSafeRequestError/isIdempotentRequestError: should be false for
 * errors without a `config`" (every Sturdy request has a method).
 */
import { describe, expect, it } from "@effect/vitest"
import { Policy, RetryHeaders, SturdyClient } from "@sturdy/http"
import { Backoff } from "@sturdy/policy"
import { Chunk, Duration, Effect, Exit, Fiber, Option, Schedule, Schema, TestClock } from "effect"
import * as Http from "node:http"
import type * as Net from "node:net"
import { failureOf, fixture, type Handler, send, setup, textOf } from "./utils/retryHarness.js"

/** axios-retry's default `retryDelay`, `noDelay`: retries go at once */
const noDelay = { baseDelay: 0, maxDelay: 0, jitter: "none", retryAfterJitter: 0 } as const

/** a server that cuts the connection without an answer: axios-retry's NETWORK_ERROR (`ECONNRESET`) */
const cut = (response: Http.ServerResponse) => response.socket?.destroy()

/** cuts the connection until request `okAt`, then 200 `fixture` */
const cutUntil = (okAt: number): Handler => (_, response, n) =>
  n >= okAt ? send(response, 200, {}, fixture) : cut(response)

const realPause = Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 2)))

/** waits (in real time, a few ms at a time) until `done` holds */
const until = (done: () => boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 2000 && !done(); i++) yield* realPause
    expect(done()).toBe(true)
  })

/** the delays a schedule chooses, without sleeping */
const delaysOf = (schedule: Schedule.Schedule<Duration.Duration>, count: number) =>
  Effect.map(
    Schedule.run(schedule, 0, Array.from({ length: count }, () => undefined)),
    (out) => Chunk.toReadonlyArray(out).map(Duration.toMillis)
  )

/** a port on 127.0.0.1 nothing listens on: connections to it are refused */
const refusedPort = Effect.async<number>((resume) => {
  const server = Http.createServer()
  server.listen(0, "127.0.0.1", () => {
    const port = (server.address() as Net.AddressInfo).port
    server.close(() => resume(Effect.succeed(port)))
  })
})

describe("axios-retry spec/index.spec.ts axiosRetry(axios, { retries, retryCondition })", () => {
  it.scoped("when the response is successful: should resolve with it", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response) => send(response, 200, {}, "It worked!"), { retry: { maxAttempts: 1 } })
      const exit = yield* h.run(h.api.get("/test"))
      expect(Exit.isSuccess(exit) && exit.value.status).toBe(200)
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("when the response is an error: should check if it satisfies the `retryCondition`", () =>
    Effect.gen(function*() {
      const asked: Array<unknown> = []
      const h = yield* setup(cutUntil(2), {
        retry: {
          ...noDelay,
          maxAttempts: 2,
          retryOn: (failure) => {
            asked.push(failure)
            return false
          }
        }
      })
      const failure = failureOf(yield* h.run(h.api.get("/test")))
      expect(asked.length).toBe(1)
      expect(asked[0]).toMatchObject({ _tag: "ConnectionError", reason: "Reset" })
      expect(failure).toMatchObject({ _tag: "ConnectionError", reason: "Reset" })
    }))

  it.scoped("when it satisfies the retry condition: should resolve with a successful retry", () =>
    Effect.gen(function*() {
      const h = yield* setup(cutUntil(2), { retry: { ...noDelay, maxAttempts: 2, retryOn: () => true } })
      expect(textOf(yield* h.run(h.api.get("/test")))).toBe(fixture)
      // retries 1, retryCount 1: one retry was made
      expect(h.decisions.map((d) => [d.attempt, d.retrying])).toEqual([[2, true]])
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("when it satisfies the retry condition: should not run transformRequest twice", () =>
    Effect.gen(function*() {
      // the body is encoded once and sent the same on every attempt. axios-retry's `retryCondition: () => true`
      // retries the POST; in Sturdy a POST that may have reached the server is repeated only when `methods` lists it
      const h = yield* setup(cutUntil(2), {
        retry: { ...noDelay, maxAttempts: 2, methods: ["POST"], retryOn: () => true }
      })
      expect(textOf(yield* h.run(h.api.post("/test", { body: { a: "b" } })))).toBe(fixture)
      expect(h.seen.map((s) => JSON.parse(s.body))).toEqual([{ a: "b" }, { a: "b" }])
    }))

  it.scoped("when it satisfies the retry condition: should reject with a request error if retries <= 0", () =>
    Effect.gen(function*() {
      const h = yield* setup(cutUntil(2), { retry: { ...noDelay, maxAttempts: 1, retryOn: () => false } })
      expect(failureOf(yield* h.run(h.api.get("/test")))).toMatchObject({ _tag: "ConnectionError", reason: "Reset" })
      expect(h.seen.length).toBe(1)
    }))

  it.scoped(
    "when it satisfies the retry condition: should reject with a request error if there are more errors than retries",
    () =>
      Effect.gen(function*() {
        // the first failure differs from the second: the call fails with the LAST one
        const h = yield* setup((_, response, n) => n === 1 ? send(response, 503) : cut(response), {
          retry: { ...noDelay, maxAttempts: 2, retryOn: () => true }
        })
        const failure = failureOf(yield* h.run(h.api.get("/test")))
        expect(failure).toMatchObject({ _tag: "ConnectionError", reason: "Reset" })
        expect(Policy.attemptsOf(failure)).toBe(2)
        expect(h.seen.length).toBe(2)
      })
  )

  it.scoped("when it satisfies the retry condition: should honor the original `timeout` across retries", () =>
    Effect.gen(function*() {
      // timeout 100 ms over the whole call (shouldResetTimeout false): attempts cut after 75 ms each, retried at once;
      // the second is still out when the 100 ms are up
      const h = yield* setup(
        (_, response, n, tools) => n >= 3 ? send(response, 200) : tools.later(75, () => cut(response)),
        {
          totalTimeout: "100 millis",
          attemptTimeout: false,
          retry: { ...noDelay, maxAttempts: 4 }
        }
      )
      const failure = failureOf(yield* h.run(h.api.get("/test")))
      expect(failure).toMatchObject({ _tag: "Timeout", phase: "Deadline" })
      expect(h.seen.map((s) => s.at - h.seen[0]!.at)).toEqual([0, 75])
    }))

  it.scoped(
    "when it satisfies the retry condition: should not make a retry attempt if the whole request lifecycle takes more than `timeout`",
    () =>
      Effect.gen(function*() {
        // exponentialDelay without jitter: 200 ms, then 400 ms; the second retry would start at 600 ms, past the
        // 500 ms timeout, so the call fails at once (at 200 ms) with the network error, not a timeout
        const h = yield* setup(cutUntil(3), {
          totalTimeout: "500 millis",
          attemptTimeout: false,
          retry: { maxAttempts: 3, maxDelay: "10 seconds", delay: (n) => 2 ** n * 100 }
        })
        const exit = yield* h.run(h.api.get("/test"))
        const failure = failureOf(exit)
        expect(failure).toMatchObject({ _tag: "ConnectionError", reason: "Reset" })
        expect(Policy.attemptsOf(failure)).toBe(2)
        expect(h.seen.map((s) => s.at - h.seen[0]!.at)).toEqual([0, 200])
        expect(h.decisions.map((d) => [d.reason, Duration.toMillis(d.delay)])).toEqual([
          ["backoff", 200],
          ["deadline", 400]
        ])
      })
  )

  it.scoped("when it satisfies the retry condition: should reset the original `timeout` between requests", () =>
    Effect.gen(function*() {
      // shouldResetTimeout: each attempt has its own 100 ms
      const h = yield* setup(
        (_, response, n, tools) => n >= 3 ? send(response, 200, {}, fixture) : tools.later(75, () => cut(response)),
        {
          totalTimeout: false,
          attemptTimeout: "100 millis",
          retry: { ...noDelay, maxAttempts: 4 }
        }
      )
      expect(textOf(yield* h.run(h.api.get("/test")))).toBe(fixture)
      expect(h.seen.length).toBe(3)
    }))

  it.scoped("when request is aborted: should clear timeout if started", () =>
    Effect.gen(function*() {
      // a 10 s retry wait, interrupted 200 ms into it: the call ends at once and no retry is sent
      const h = yield* setup((_, response) => send(response, 429), {
        retry: { maxAttempts: 2, maxDelay: "10 seconds", delay: () => 10_000, retryOn: () => true }
      })
      const fiber = yield* Effect.fork(Effect.provideService(h.api.get("/test"), Policy.Policy, h.policy))
      yield* until(() => h.decisions.length === 1)
      yield* TestClock.adjust("200 millis")
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      yield* TestClock.adjust("10 seconds")
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("when request is aborted: should not start a timeout if not started yet", () =>
    Effect.gen(function*() {
      // interrupted while the retry hook (onRetry ≈ the RetryDecision event) still runs: no wait starts, no retry
      let hooked = 0
      const h = yield* setup((_, response) => send(response, 429), {
        retry: { maxAttempts: 2, maxDelay: "10 seconds", delay: () => 10_000, retryOn: () => true }
      })
      const fiber = yield* Effect.fork(Effect.provideService(
        h.api.get("/test", {
          onEvent: (event) =>
            event._tag === "RetryDecision"
              ? Effect.zipRight(Effect.sync(() => hooked++), Effect.sleep("100 millis"))
              : Effect.void
        }),
        Policy.Policy,
        h.policy
      ))
      yield* until(() => hooked === 1)
      yield* TestClock.adjust("50 millis")
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      yield* TestClock.adjust("20 seconds")
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("when request is aborted: should cancel old requests", () =>
    Effect.gen(function*() {
      // interrupted while the third attempt is out: that request is aborted (the server sees its connection close
      // before it answered), and nothing more is sent
      const closedEarly: Array<number> = []
      const h = yield* setup((_, response, n) => {
        response.on("close", () => {
          if (!response.writableEnded) closedEarly.push(n)
        })
        // the first two answer 429 at once, the third hangs (axios' 100 ms delays, shortened to what matters)
        if (n < 3) send(response, 429)
      }, { retry: { ...noDelay, maxAttempts: 3, retryOn: () => true } })
      const fiber = yield* Effect.fork(Effect.provideService(h.api.get("/test"), Policy.Policy, h.policy))
      yield* until(() => h.seen.length === 3)
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      yield* until(() => closedEarly.length === 1)
      expect(closedEarly).toEqual([3])
      expect(h.seen.length).toBe(3)
    }))

  it.scoped("when it does NOT satisfy the retry condition: should reject with the error", () =>
    Effect.gen(function*() {
      const h = yield* setup(cutUntil(2), { retry: { ...noDelay, maxAttempts: 2, retryOn: () => false } })
      expect(failureOf(yield* h.run(h.api.get("/test")))).toMatchObject({ _tag: "ConnectionError", reason: "Reset" })
      expect(h.seen.length).toBe(1)
      expect(h.decisions.map((d) => [d.reason, d.retrying])).toEqual([["not-retryable", false]])
    }))

  it.scoped("should use request-specific configuration", () =>
    Effect.gen(function*() {
      // retries 0 for the client, 2 for this request: an endpoint override
      const h = yield* setup(
        (s, response, n) => s.path === "/test" && n >= 3 ? send(response, 200, {}, fixture) : cut(response),
        {
          retry: { ...noDelay, maxAttempts: 1 },
          endpoints: { "GET /test": { retry: { ...noDelay, maxAttempts: 3 } } }
        }
      )
      expect(textOf(yield* h.run(h.api.get("/test")))).toBe(fixture)
      expect(h.seen.length).toBe(3)
      const other = yield* h.run(h.api.get("/other"))
      expect(failureOf(other)).toMatchObject({ _tag: "ConnectionError" })
      expect(h.seen.length).toBe(4)
    }))
})

describe("axios-retry spec/index.spec.ts axiosRetry(axios, { validateResponse })", () => {
  const Ok = Schema.Struct({ data: Schema.Literal("ok!") })
  const json = (response: Http.ServerResponse, data: string) =>
    send(response, 200, { "content-type": "application/json" }, JSON.stringify({ data }))

  it.scoped("should be able to produce an AxiosError with status code of 200", () =>
    Effect.gen(function*() {
      // a 200 the caller does not accept is a failure, which still says it was a 200
      const h = yield* setup((_, response) => json(response, "should retry!"), { retry: { maxAttempts: 1 } })
      const failure = failureOf(yield* h.run(h.api.get("/test", { schema: Ok })))
      expect(failure).toMatchObject({ _tag: "SchemaMismatch" })
      expect(failure).toMatchObject({ status: 200 })
    }))

  it.scoped("should retry based on supplied logic", () =>
    Effect.gen(function*() {
      let delays = 0
      const h = yield* setup(
        (_, response, n) => n === 2 ? cut(response) : json(response, n === 4 ? "ok!" : "should retry!"),
        {
          retry: {
            maxAttempts: 5,
            delay: () => {
              delays++
              return 0
            },
            retryOn: () => true
          }
        }
      )
      const exit = yield* h.run(h.api.get("/test", { schema: Ok }))
      expect(Exit.isSuccess(exit) && exit.value).toEqual({ data: "ok!" })
      expect(delays).toBe(3)
      expect(h.seen.length).toBe(4)
    }))

  it.scoped("should retry based on supplied logic (a schema failure retried by tag)", () =>
    Effect.gen(function*() {
      // the same, retrying schema failures only by name: `retryOn: { SchemaMismatch: true }`
      const h = yield* setup((_, response, n) => json(response, n === 3 ? "ok!" : "should retry!"), {
        retry: { ...noDelay, maxAttempts: 4, retryOn: { SchemaMismatch: true } }
      })
      const exit = yield* h.run(h.api.get("/test", { schema: Ok }))
      expect(Exit.isSuccess(exit) && exit.value).toEqual({ data: "ok!" })
      expect(h.seen.length).toBe(3)
    }))

  it.scoped("should be able to disable default validateResponse passed", () =>
    Effect.gen(function*() {
      // no schema for this call: the 200 is the answer, whatever its body
      const h = yield* setup((_, response) => json(response, "should not retry!"), {
        retry: { ...noDelay, maxAttempts: 3, retryOn: () => true }
      })
      const exit = yield* h.run(h.api.get("/test"))
      expect(JSON.parse(textOf(exit))).toEqual({ data: "should not retry!" })
      expect(h.seen.length).toBe(1)
    }))
})

describe("axios-retry spec/index.spec.ts axiosRetry(axios, { retries, retryDelay })", () => {
  it.scoped("when custom retryDelay function is supplied: should execute for each retry", () =>
    Effect.gen(function*() {
      const asked: Array<number> = []
      const h = yield* setup(cutUntil(4), {
        retry: {
          maxAttempts: 5,
          retryOn: () => true,
          delay: (attempt) => {
            asked.push(attempt)
            return 0
          }
        }
      })
      expect(textOf(yield* h.run(h.api.get("/test")))).toBe(fixture)
      expect(asked).toEqual([1, 2, 3])
    }))

  it.scoped("when linearDelay is supplied: should take more than 600 milliseconds with default delay and 4 retries", () =>
    Effect.gen(function*() {
      const h = yield* setup(cutUntil(4), { retry: { maxAttempts: 5, retryOn: () => true, delay: (n) => n * 100 } })
      expect(textOf(yield* h.run(h.api.get("/test")))).toBe(fixture)
      // 100 + 200 + 300 = 600
      expect(h.seen.map((s) => s.at - h.seen[0]!.at)).toEqual([0, 100, 300, 600])
    }))

  it.scoped("when linearDelay is supplied: should take more than 300 milliseconds with 50ms delay and 4 retries", () =>
    Effect.gen(function*() {
      const h = yield* setup(cutUntil(4), { retry: { maxAttempts: 5, retryOn: () => true, delay: (n) => n * 50 } })
      expect(textOf(yield* h.run(h.api.get("/test")))).toBe(fixture)
      expect(h.seen.map((s) => s.at - h.seen[0]!.at)).toEqual([0, 50, 150, 300])
    }))
})

describe("axios-retry spec/index.spec.ts axiosRetry(axios, { retries, onRetry })", () => {
  const onRetryCounter = () => {
    const seen: Array<{ readonly retryCount: number; readonly failure: unknown }> = []
    const onEvent = (event: Policy.Event) =>
      event._tag === "RetryDecision" && event.retrying
        ? Effect.sync(() => seen.push({ retryCount: event.attempt - 1, failure: event.failure }))
        : Effect.void
    return { seen, onEvent }
  }

  it.scoped("when the onRetry is handled: should resolve with correct number of retries", () =>
    Effect.gen(function*() {
      const counter = onRetryCounter()
      // (the policy-wide `onEvent` of these tests is the harness'; the same hook per call)
      const h = yield* setup((_, response) => send(response, 500, {}, "Failed!"), {
        retry: { ...noDelay, maxAttempts: 3 }
      })
      expect(failureOf(yield* h.run(h.api.get("/test", { onEvent: counter.onEvent })))).toMatchObject({
        _tag: "ServerError",
        status: 500
      })
      expect(counter.seen.map((s) => s.retryCount)).toEqual([1, 2])
      for (const s of counter.seen) expect(s.failure).toMatchObject({ _tag: "ServerError", status: 500 })
    }))

  it.scoped("when the onRetry is handled: should use onRetry set on request", () =>
    Effect.gen(function*() {
      const counter = onRetryCounter()
      const h = yield* setup((_, response) => send(response, 500, {}, "Failed!"), {
        retry: { ...noDelay, maxAttempts: 3 }
      })
      yield* h.run(h.api.get("/test", { onEvent: counter.onEvent }))
      expect(counter.seen.map((s) => s.retryCount)).toEqual([1, 2])
    }))

  it.scoped("when the onRetry is returning a promise: should resolve with correct number of retries", () =>
    Effect.gen(function*() {
      // a hook that takes 100 ms is waited for before the retry
      let calls = 0
      const h = yield* setup((_, response) => send(response, 500, {}, "Failed!"), {
        retry: { ...noDelay, maxAttempts: 3 }
      })
      const exit = yield* h.run(h.api.get("/test", {
        onEvent: (event) =>
          event._tag === "RetryDecision" && event.retrying
            ? Effect.zipRight(Effect.sleep("100 millis"), Effect.sync(() => calls++))
            : Effect.void
      }))
      expect(failureOf(exit)).toMatchObject({ status: 500 })
      expect(calls).toBe(2)
      expect(h.seen.map((s) => s.at - h.seen[0]!.at)).toEqual([0, 100, 200])
    }))

  it.scoped("when the onRetry is returning a promise: should use onRetry set on request", () =>
    Effect.gen(function*() {
      let calls = 0
      const h = yield* setup((_, response) => send(response, 500, {}, "Failed!"), {
        retry: { ...noDelay, maxAttempts: 3 }
      })
      yield* h.run(h.api.get("/test", {
        onEvent: (event) =>
          event._tag === "RetryDecision" && event.retrying
            ? Effect.zipRight(Effect.sleep("100 millis"), Effect.sync(() => calls++))
            : Effect.void
      }))
      expect(calls).toBe(2)
    }))
})

describe("axios-retry spec/index.spec.ts axiosRetry(axios, { onMaxRetryTimesExceeded })", () => {
  it.scoped("when the onMaxRetryTimesExceeded is handled: should use onMaxRetryTimesExceeded set on request", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response) => send(response, 500, {}, "Failed!"), {
        retry: { ...noDelay, maxAttempts: 3 }
      })
      const failure = failureOf(yield* h.run(h.api.get("/test")))
      const gaveUp = h.decisions.filter((d) => !d.retrying)
      // called once, after 2 retries (3 attempts), with the last failure
      expect(gaveUp.map((d) => d.reason)).toEqual(["exhausted"])
      expect(gaveUp[0]!.failure).toMatchObject({ _tag: "ServerError", status: 500 })
      expect(Policy.attemptsOf(failure)).toBe(3)
    }))

  it.scoped("when the onMaxRetryTimesExceeded is returning a promise: should use onMaxRetryTimesExceeded set on request", () =>
    Effect.gen(function*() {
      // a slow hook on giving up is waited for before the call fails
      let called = 0
      const h = yield* setup((_, response) => send(response, 500, {}, "Failed!"), {
        retry: { ...noDelay, maxAttempts: 3 }
      })
      const exit = yield* h.run(h.api.get("/test", {
        onEvent: (event) =>
          event._tag === "RetryDecision" && !event.retrying && event.reason === "exhausted"
            ? Effect.zipRight(Effect.sleep("100 millis"), Effect.sync(() => called++))
            : Effect.void
      }))
      expect(Policy.attemptsOf(failureOf(exit))).toBe(3)
      expect(called).toBe(1)
    }))
})

describe("axios-retry spec/index.spec.ts isNetworkError(error)", () => {
  it.scoped("should be true for network errors like connection refused", () =>
    Effect.gen(function*() {
      // retried, for a GET and (nothing was sent) for a POST too
      const h = yield* setup((_, response) => send(response, 200), { retry: { ...noDelay, maxAttempts: 2 } })
      const port = yield* refusedPort
      const refused = SturdyClient.makeWith(h.platform, { baseUrl: `http://127.0.0.1:${port}`, policy: h.policy })
      for (const call of [refused.get("/test"), refused.post("/test", { body: { a: 1 } })]) {
        const before = h.decisions.length
        const failure = failureOf(yield* h.run(call))
        expect(failure).toMatchObject({ _tag: "ConnectionError", reason: "Refused" })
        expect(Policy.attemptsOf(failure)).toBe(2)
        expect(h.decisions.slice(before).map((d) => d.retrying)).toEqual([true, false])
      }
    }))

  it.scoped("should be false for timeout errors", () =>
    Effect.gen(function*() {
      // axios-retry does not retry ECONNABORTED; Sturdy retries an attempt timeout of a GET (as ky, got, urllib3 and
      // Polly do), and never the call's own deadline
      const slowFirst: Handler = (_, response, n, tools) =>
        n === 1 ? tools.later(200, () => send(response, 200)) : send(response, 200, {}, fixture)
      const attempt = yield* setup(slowFirst, { attemptTimeout: "100 millis", retry: { ...noDelay, maxAttempts: 2 } })
      expect(textOf(yield* attempt.run(attempt.api.get("/test")))).toBe(fixture)
      expect(attempt.decisions[0]!.failure).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      const deadline = yield* setup(slowFirst, {
        totalTimeout: "100 millis",
        attemptTimeout: false,
        retry: { ...noDelay, maxAttempts: 2 }
      })
      expect(failureOf(yield* deadline.run(deadline.api.get("/test")))).toMatchObject({
        _tag: "Timeout",
        phase: "Deadline"
      })
      expect(deadline.seen.length).toBe(1)
    }))

  it.scoped("should be false for errors with a response", () =>
    Effect.gen(function*() {
      // a 500 is not a network error: a POST that got one is not repeated
      const h = yield* setup((_, response) => send(response, 500), { retry: { ...noDelay, maxAttempts: 2 } })
      expect(failureOf(yield* h.run(h.api.post("/test", { body: {} })))).toMatchObject({ status: 500 })
      expect(h.seen.length).toBe(1)
    }))
})

describe("axios-retry spec/index.spec.ts isSafeRequestError / isIdempotentRequestError", () => {
  const methods = ["get", "head", "options", "put", "del"] as const

  it.scoped("should be true for \"get\", \"head\", \"options\", \"put\", \"delete\" requests with a 5xx response", () =>
    Effect.gen(function*() {
      for (const method of methods) {
        const h = yield* setup((_, response, n) => send(response, n === 1 ? 500 : 200), {
          retry: { ...noDelay, maxAttempts: 2 }
        })
        expect(Exit.isSuccess(yield* h.run(h.api[method]("/test")))).toBe(true)
        expect(h.seen.length).toBe(2)
      }
    }))

  it.scoped("should be true for \"get\", \"head\", \"options\", \"put\", \"delete\" requests without a response", () =>
    Effect.gen(function*() {
      for (const method of methods) {
        const h = yield* setup((_, response, n) => n === 1 ? cut(response) : send(response, 200), {
          retry: { ...noDelay, maxAttempts: 2 }
        })
        expect(Exit.isSuccess(yield* h.run(h.api[method]("/test")))).toBe(true)
        expect(h.seen.length).toBe(2)
      }
    }))

  it.scoped("should be false for \"post\", \"patch\" requests with a 5xx response", () =>
    Effect.gen(function*() {
      for (const method of ["post", "patch"] as const) {
        const h = yield* setup((_, response, n) => send(response, n === 1 ? 500 : 200), {
          retry: { ...noDelay, maxAttempts: 2 }
        })
        expect(failureOf(yield* h.run(h.api[method]("/test", { body: {} })))).toMatchObject({ status: 500 })
        expect(h.seen.length).toBe(1)
      }
    }))

  it.scoped("should be false for \"post\", \"patch\" requests without a response", () =>
    Effect.gen(function*() {
      // the connection was cut after the request went out: it may have been applied
      for (const method of ["post", "patch"] as const) {
        const h = yield* setup((_, response, n) => n === 1 ? cut(response) : send(response, 200), {
          retry: { ...noDelay, maxAttempts: 2 }
        })
        expect(failureOf(yield* h.run(h.api[method]("/test", { body: {} })))).toMatchObject({
          _tag: "ConnectionError",
          reason: "Reset"
        })
        expect(h.seen.length).toBe(1)
      }
    }))

  it.scoped("should be false for non-5xx responses", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response) => send(response, 404), { retry: { ...noDelay, maxAttempts: 2 } })
      expect(failureOf(yield* h.run(h.api.get("/test")))).toMatchObject({ _tag: "ClientError", status: 404 })
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("should be false for aborted requests", () =>
    Effect.gen(function*() {
      // an interrupted call is not retried: interruption ends it
      const h = yield* setup((_, response, __, tools) => tools.later(1000, () => send(response, 200)), {
        retry: { ...noDelay, maxAttempts: 3 }
      })
      const fiber = yield* Effect.fork(Effect.provideService(h.api.get("/test"), Policy.Policy, h.policy))
      yield* until(() => h.seen.length === 1)
      expect(Exit.isInterrupted(yield* Fiber.interrupt(fiber))).toBe(true)
      expect(h.decisions).toEqual([])
      expect(h.seen.length).toBe(1)
    }))
})

describe("axios-retry spec/index.spec.ts isRetryableError(error)", () => {
  it.scoped("should be true for timeouts", () =>
    Effect.gen(function*() {
      // axios' test names ECONNRESET: a reset connection of a GET is retried
      const h = yield* setup(cutUntil(2), { retry: { ...noDelay, maxAttempts: 2 } })
      expect(textOf(yield* h.run(h.api.get("/test")))).toBe(fixture)
    }))

  it.scoped("should be true for a 5xx response", () =>
    Effect.gen(function*() {
      for (const status of [500, 502, 503, 504, 599]) {
        const h = yield* setup((_, response, n) => send(response, n === 1 ? status : 200), {
          retry: { ...noDelay, maxAttempts: 2 }
        })
        expect(Exit.isSuccess(yield* h.run(h.api.get("/test")))).toBe(true)
        expect(h.seen.length).toBe(2)
      }
      // axios-retry retries every 5xx; Sturdy not 501, 505 and 511 (not implemented, version not supported, network
      // authentication required: the same request gets the same answer)
      for (const status of [501, 505, 511]) {
        const h = yield* setup((_, response, n) => send(response, n === 1 ? status : 200), {
          retry: { ...noDelay, maxAttempts: 2 }
        })
        expect(failureOf(yield* h.run(h.api.get("/test")))).toMatchObject({ status })
        expect(h.seen.length).toBe(1)
      }
    }))

  it.scoped("should be true for a 429 response", () =>
    Effect.gen(function*() {
      // isRetryableError's `status === 429`
      const h = yield* setup((_, response, n) => send(response, n === 1 ? 429 : 200), {
        retry: { ...noDelay, maxAttempts: 2 }
      })
      expect(Exit.isSuccess(yield* h.run(h.api.get("/test")))).toBe(true)
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("should be false for a response !== 5xx", () =>
    Effect.gen(function*() {
      for (const status of [400, 401, 403, 404, 409, 422]) {
        const h = yield* setup((_, response) => send(response, status), { retry: { ...noDelay, maxAttempts: 2 } })
        expect(failureOf(yield* h.run(h.api.get("/test")))).toMatchObject({ status })
        expect(h.seen.length).toBe(1)
      }
    }))
})

describe("axios-retry spec/index.spec.ts exponentialDelay", () => {
  it.effect("should return exponential retry delay", () =>
    Effect.gen(function*() {
      // 2^n × 100 ms for retry n = 1..10: Backoff.exponential from 200 ms, doubling, uncapped
      const exact = yield* delaysOf(
        Backoff.exponential({
          baseDelay: "200 millis",
          factor: 2,
          maxDelay: Infinity,
          jitter: "none",
          maxAttempts: 11
        }),
        10
      )
      expect(exact).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => 2 ** n * 100))
      // axios-retry adds 0–20 % on top; Sturdy's jitter draws within the envelope, never above it
      const jittered = yield* delaysOf(
        Backoff.exponential({
          baseDelay: "200 millis",
          factor: 2,
          maxDelay: Infinity,
          jitter: "equal",
          maxAttempts: 11
        }),
        10
      )
      jittered.forEach((d, i) => {
        expect(d).toBeGreaterThanOrEqual(exact[i]! / 2)
        expect(d).toBeLessThanOrEqual(exact[i]!)
      })
    }))

  it.effect("should change delay time when specifying delay factor", () =>
    Effect.gen(function*() {
      const exact = yield* delaysOf(
        Backoff.exponential({ baseDelay: "2 seconds", factor: 2, maxDelay: Infinity, jitter: "none", maxAttempts: 11 }),
        10
      )
      expect(exact).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => 2 ** n * 1000))
    }))

  it.scoped("exponentialDelay with Retry-After (the larger of the two)", () =>
    Effect.gen(function*() {
      // axios-retry waits max(backoff, Retry-After); in Sturdy the server's wait replaces the backoff: a longer one
      // is waited exactly, and `Retry-After: 0` retries at once where axios-retry would still wait its 200 ms
      const longer = yield* setup((_, response, n) => send(response, n === 1 ? 429 : 200, { "retry-after": "1" }), {
        retry: { maxAttempts: 2, maxDelay: "10 seconds", delay: (n) => 2 ** n * 100, retryAfterJitter: 0 }
      })
      expect(Exit.isSuccess(yield* longer.run(longer.api.get("/test")))).toBe(true)
      expect(longer.seen[1]!.at - longer.seen[0]!.at).toBe(1000)
      const zero = yield* setup((_, response, n) => send(response, n === 1 ? 429 : 200, { "retry-after": "0" }), {
        retry: { maxAttempts: 2, maxDelay: "10 seconds", delay: (n) => 2 ** n * 100, retryAfterJitter: 0 }
      })
      expect(Exit.isSuccess(yield* zero.run(zero.api.get("/test")))).toBe(true)
      expect(zero.seen[1]!.at - zero.seen[0]!.at).toBe(0)
    }))
})

describe("axios-retry spec/index.spec.ts linearDelay", () => {
  it.effect("should return liner retry delay", () =>
    Effect.gen(function*() {
      const out = yield* delaysOf(
        Backoff.bounded(Backoff.fromDelay((n) => n * 100), { maxAttempts: 11 }),
        10
      )
      expect(out).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => n * 100))
    }))

  it.effect("should change delay time when specifying delay factor", () =>
    Effect.gen(function*() {
      const out = yield* delaysOf(
        Backoff.bounded(Backoff.fromDelay((n) => n * 300), { maxAttempts: 11 }),
        10
      )
      expect(out).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => n * 300))
    }))
})

describe("axios-retry spec/index.spec.ts retryAfter", () => {
  const now = Date.UTC(2024, 0, 1, 12)
  const millis = (o: Option.Option<Duration.Duration>) => Option.map(o, Duration.toMillis)

  it("should understand a numeric Retry-After header", () => {
    expect(millis(RetryHeaders.parseRetryAfter("10", now))).toEqual(Option.some(10_000))
  })

  it("should ignore a negative numeric Retry-After header", () => {
    // axios-retry reads it as 0 (no wait); Sturdy ignores the invalid value and the backoff applies
    expect(RetryHeaders.parseRetryAfter("-10", now)).toEqual(Option.none())
  })

  it("should understand a date Retry-After header", () => {
    const wait = millis(RetryHeaders.parseRetryAfter(new Date(now + 10_000).toUTCString(), now))
    expect(Option.isSome(wait) && wait.value >= 9000 && wait.value <= 10_000).toBe(true)
  })

  it("should ignore a past Retry-After header", () => {
    // a past date is "now": no wait
    expect(millis(RetryHeaders.parseRetryAfter(new Date(now - 10_000).toUTCString(), now))).toEqual(Option.some(0))
  })

  it("should ignore an invalid Retry-After header", () => {
    expect(RetryHeaders.parseRetryAfter("a couple minutes", now)).toEqual(Option.none())
  })

  it.scoped("should ignore an invalid Retry-After header (over HTTP: the backoff applies)", () =>
    Effect.gen(function*() {
      for (const value of ["-10", "a couple minutes"]) {
        const h = yield* setup((_, response, n) => send(response, n === 1 ? 429 : 200, { "retry-after": value }), {
          retry: { maxAttempts: 2, maxDelay: "10 seconds", delay: () => 300 }
        })
        expect(Exit.isSuccess(yield* h.run(h.api.get("/test")))).toBe(true)
        expect(h.seen[1]!.at - h.seen[0]!.at).toBe(300)
      }
    }))
})

describe("axios-retry spec/index.spec.ts when requests are made", () => {
  it.scoped("should be that lastRequestTime is accurate", () =>
    Effect.gen(function*() {
      const h = yield* setup(cutUntil(4), {
        totalTimeout: false,
        attemptTimeout: "1 second",
        retry: { maxAttempts: 4, maxDelay: "1 second", delay: () => 500 }
      })
      expect(textOf(yield* h.run(h.api.get("/test")))).toBe(fixture)
      expect(h.seen.slice(1).map((s, i) => s.at - h.seen[i]!.at)).toEqual([500, 500, 500])
    }))
})
