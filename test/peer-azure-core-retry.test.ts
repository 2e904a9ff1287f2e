/**
 * Azure/azure-sdk-for-js `sdk/core/core-rest-pipeline`: the retry policies' tests, ported to Sturdy's public API:
 * `SturdyClient` over `@sturdy/node`'s undici transport against a real node:http server on 127.0.0.1
 * (`test/utils/retryHarness.ts`), every wait on the TestClock. One `it` per Azure case, named after it. Read from the
 * stored versions of `test/throttlingRetryPolicy.spec.ts` (commit 1517131cdbd16cb24f85966378f8549e5016dbc0),
 * `test/exponentialRetryPolicy.spec.ts`, `test/systemErrorRetryPolicy.spec.ts` and `test/defaultRetryPolicy.spec.ts`
 * (commit 1b11942c5d53d5232ccb51304cffb74e982ce420), and `test/retryPolicy.spec.ts` (the stored vitest version, whose
 * commit the index does not record; its cases and expectations are those of commit
 * d19a44ae3ea7ce93e08667cf0044955eb88e3331); the strategies' sources (`src/retryStrategies/*.ts`, commits 24b97158 and
 * 07ea93a2) for what the defaults are. core-http's older policies are in `test/peer-azure-core-http-retry.test.ts`.
 *
 * Mapping: `DEFAULT_RETRY_POLICY_COUNT` (3 retries) or `maxRetries: n` is `retry.maxAttempts: n + 1`; the exponential
 * strategy's `retryDelayInMs` (1 s) and `maxRetryDelayInMs` (64 s) are `baseDelay` / `maxDelay`, and its jitter
 * ("within 50 % of the delay": `d/2 + random(0, d/2)`) is `jitter: "equal"`; the throttling strategy's exact wait is
 * `retryAfterJitter: 0` (Sturdy adds up to 10 % by default); a custom `RetryStrategy` is `retry.retryOn` (its
 * `skipStrategy`) plus `retry.delay` (its `retryAfterInMs`), and its `errorToThrow` a `retryOn` that says no plus the
 * caller's `Effect.mapError`; the policy's and the strategy's loggers are the call's
 * `onEvent` (`RetryDecision` per decision); a `RestError` with a system-error `code` is a connection that fails the
 * same way: `ECONNREFUSED` a port nothing listens on, `ESOCKETTIMEDOUT` (a socket that stays silent) an attempt that
 * runs out of `attemptTimeout`, and `ETIMEDOUT` (connect), `ENOENT`, `ENOTFOUND` and unknown codes connections that
 * fail with that Node system error (`connectFailures`, while the connection opens; `sendFailures`, once the request
 * is being written); an `AbortSignal` is the caller's timeout or interruption.
 *
 * Deliberate differences (each test says which):
 * - A server wait above `retry.maxRetryAfter` (30 s by default) fails the call at once; Azure waits any length (the
 *   HTTP-date cases ask for 8 minutes: they run with `maxRetryAfter` and `totalTimeout` of 10 minutes).
 * - A connection failure Sturdy cannot classify (Azure's `UNEXPECTED`) is transient: a GET is retried; a POST is
 *   not once its request was written (it may have reached the server), and is when the connection failed as it
 *   opened (nothing was written). Azure throws any error whose code is not one of its system errors.
 * - "It should log when the abort controller aborts" aborts before the call, and Azure's mock is still called once;
 *   a Sturdy call interrupted before it starts sends nothing, so the port interrupts it during its first attempt.
 *
 * Not ported: "It should allow redirecting on the next retry" and "It should log when the retry strategy redirects to
 * another URL" (`redirectTo`: Sturdy's retry stage never changes the request's URL; failing over to another host is
 * `Fallback`); the wording of Azure's log lines (the events carry the same facts: attempt, delay, reason).
 */
import { describe, expect, it } from "@effect/vitest"
import { HttpFailure, Policy } from "@sturdy/http"
import { Cause, Clock, Duration, Effect, Exit, Fiber, TestClock } from "effect"
import {
  abortedRequests,
  connectErrors,
  delays,
  failureOf,
  fixture,
  gaps,
  type Handler,
  type Harness,
  realPause,
  send,
  setup,
  textOf,
  timeoutDuringRetryWait
} from "./utils/retryHarness.js"

/** core-rest-pipeline's defaults: 3 retries, exponential from 1 s up to 64 s with "equal" jitter, exact server waits */
const azure = {
  maxAttempts: 4,
  baseDelay: "1 second",
  maxDelay: "64 seconds",
  jitter: "equal",
  retryAfterJitter: 0
} as const

/** answers `status` (with `headers`) until request `okAt`, then 200 `fixture` */
const untilOk = (okAt: number, status: number, headers: Record<string, string> = {}): Handler => (_, response, n) =>
  n >= okAt ? send(response, 200, {}, fixture) : send(response, status, headers)

const always = (status: number, headers: Record<string, string> = {}): Handler => (_, response) =>
  send(response, status, headers)

const ok: Handler = (_, response) => send(response, 200, {}, fixture)

const codeOf = (failure: unknown) => failure instanceof HttpFailure.ConnectionError ? failure.cause?.code : undefined

/** a RetryStrategy that retries `ENOENT` after 100 ms and skips everything else (Azure's testRetryStrategy) */
const enoentAfter100ms = {
  maxAttempts: 4,
  retryOn: (failure: HttpFailure.HttpFailure) => codeOf(failure) === "ENOENT",
  delay: () => 100
} as const

describe("core-rest-pipeline test/throttlingRetryPolicy.spec.ts", () => {
  const headerCases = [0, 10 * 1000].flatMap((duration) =>
    [
      ["Retry-After", duration, { "Retry-After": String(duration / 1000) }],
      ["retry-after-ms", duration, { "retry-after-ms": String(duration) }],
      ["x-ms-retry-after-ms", duration, { "x-ms-retry-after-ms": String(duration) }]
    ] as const
  )

  it.scoped.each(headerCases)(
    "(%s) - should retry after a given number of seconds/milliseconds on a response with status code 429 [%i ms]",
    ([_header, duration, headers]) =>
      Effect.gen(function*() {
        const h = yield* setup(untilOk(2, 429, headers), { retry: azure })
        expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
        expect(h.seen.length).toBe(2)
        expect(h.decisions.map((d) => d.reason)).toEqual(["retry-after"])
        expect(gaps(h)).toEqual([duration])
      })
  )

  it.scoped("It should retry after a given date occurs on a response with status code 429", () =>
    Effect.gen(function*() {
      // 8 minutes: beyond Sturdy's default maxRetryAfter and totalTimeout (30 s), so both are raised
      const h = yield* setup(untilOk(2, 429, { "Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT" }), {
        totalTimeout: "10 minutes",
        retry: { ...azure, maxRetryAfter: "10 minutes" }
      })
      yield* TestClock.setTime(Date.parse("Wed, 21 Oct 2015 07:20:00 GMT"))
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.seen.length).toBe(2)
      // "It should now be the time from the header."
      expect(h.seen[1]!.at).toBe(Date.parse("Wed, 21 Oct 2015 07:28:00 GMT"))
    }))

  it.scoped("It should retry after a given number of seconds on a response with status code 503", () =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(2, 503, { "Retry-After": "10" }), { retry: azure })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(gaps(h)).toEqual([10_000])
    }))

  it.scoped("It should retry after a given date occurs on a response with status code 503", () =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(2, 503, { "Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT" }), {
        totalTimeout: "10 minutes",
        retry: { ...azure, maxRetryAfter: "10 minutes" }
      })
      yield* TestClock.setTime(Date.parse("Wed, 21 Oct 2015 07:20:00 GMT"))
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.seen[1]!.at).toBe(Date.parse("Wed, 21 Oct 2015 07:28:00 GMT"))
    }))

  it.scoped("It should retry after 0 seconds with status code 503 for a past date", () =>
    Effect.gen(function*() {
      // the TestClock starts at today's date: 2015 is past, so the retry goes at once
      const h = yield* setup(untilOk(2, 503, { "Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT" }), { retry: azure })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.decisions.map((d) => [d.reason, Duration.toMillis(d.delay)])).toEqual([["retry-after", 0]])
      expect(gaps(h)).toEqual([0])
    }))

  it.scoped("It should retry up to the default max retries", () =>
    Effect.gen(function*() {
      // 3 × 503 `Retry-After: 1`, then a fourth 503 marked final: that one is what the caller gets
      const h = yield* setup((_, response, n) =>
        send(
          response,
          503,
          n === 4 ? { "Retry-After": "1", "final-response": "final-response" } : { "Retry-After": "1" }
        ), { retry: azure })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(failure).toMatchObject({ _tag: "ServerError", status: 503 })
      expect((failure as HttpFailure.ServerError).headers["final-response"]).toBe("final-response")
      expect(Policy.attemptsOf(failure)).toBe(4)
      expect(gaps(h)).toEqual([1000, 1000, 1000])
    }))

  it.scoped("throttlingRetryPolicy should honor abort signal", () =>
    Effect.gen(function*() {
      // `Retry-After: 10000` (seconds) and a caller that gives up after 100 ms. With Sturdy's defaults the wait is
      // beyond maxRetryAfter: the call ends at once with the 429, having sent one request
      const impatient = yield* setup(untilOk(2, 429, { "Retry-After": "10000" }), { retry: azure })
      const start = yield* Clock.currentTimeMillis
      const failure = failureOf(yield* impatient.run(impatient.api.get("/")))
      expect(failure).toMatchObject({ _tag: "RateLimited", status: 429 })
      expect(impatient.decisions.map((d) => d.reason)).toEqual(["retry-after-too-long"])
      expect((yield* Clock.currentTimeMillis) - start).toBeLessThan(100)
      expect(impatient.seen.length).toBe(1)

      // a policy patient enough to wait 10000 s: the caller's timeout ends the wait, and the retry is never sent
      const patient = yield* setup(untilOk(2, 429, { "Retry-After": "10000" }), {
        totalTimeout: "4 hours",
        retry: { ...azure, maxRetryAfter: "3 hours" }
      })
      const { decided, exit } = yield* timeoutDuringRetryWait(patient, patient.api.get("/"), 100)
      expect(decided.map((d) => [d.reason, Duration.toMillis(d.delay)])).toEqual([["retry-after", 10_000_000]])
      expect(Exit.isFailure(exit) && Cause.isTimeoutException(failureOf(exit))).toBe(true)
      expect(patient.seen.length).toBe(1)
    }))
})

describe("core-rest-pipeline test/exponentialRetryPolicy.spec.ts", () => {
  it.scoped("It should throw immediately if we get a 416 response", () =>
    Effect.gen(function*() {
      const h = yield* setup(always(416), { retry: azure })
      expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ _tag: "ClientError", status: 416 })
      expect(h.seen.length).toBe(1)
      expect(h.decisions.map((d) => d.reason)).toEqual(["not-retryable"])
    }))

  it.scoped("It should retry with a 503 response", () =>
    Effect.gen(function*() {
      const h = yield* setup(always(503), { retry: azure })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(failure).toMatchObject({ _tag: "ServerError", status: 503 })
      expect(h.seen.length).toBe(4)
      expect(Policy.attemptsOf(failure)).toBe(4)
      // exponential, each delay within the upper half of 1 s, 2 s, 4 s
      const waited = gaps(h)
      expect(waited).toEqual(delays(h))
      for (const [i, wait] of waited.entries()) {
        expect(wait).toBeGreaterThanOrEqual(1000 * 2 ** i / 2)
        expect(wait).toBeLessThanOrEqual(1000 * 2 ** i)
      }
    }))
})

describe("core-rest-pipeline test/systemErrorRetryPolicy.spec.ts", () => {
  it.scoped("It should retry after a system error", () =>
    Effect.gen(function*() {
      const h = yield* setup(ok, { retry: azure }, { connectFailures: connectErrors(1, "ENOENT") })
      const start = yield* Clock.currentTimeMillis
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.decisions.map((d) => codeOf(d.failure))).toEqual(["ENOENT"])
      // should be at least the standard delay (half of 1 s, the equal jitter's floor)
      expect(h.seen[0]!.at - start).toBeGreaterThanOrEqual(500)
      expect(h.seen[0]!.at - start).toBeLessThanOrEqual(1000)
    }))

  it.scoped("It should give up after the limit is reached", () =>
    Effect.gen(function*() {
      const h = yield* setup(ok, { retry: azure }, { connectFailures: connectErrors(10, "ENOENT") })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      // the last system error, after one more attempt than the default retry count
      expect(failure).toMatchObject({ _tag: "ConnectionError" })
      expect(codeOf(failure)).toBe("ENOENT")
      expect(Policy.attemptsOf(failure)).toBe(4)
      expect(h.seen.length).toBe(0)
    }))
})

describe("core-rest-pipeline test/defaultRetryPolicy.spec.ts", () => {
  it.scoped("It should throw immediately if the response or error doesn't match anything we were expecting", () =>
    Effect.gen(function*() {
      // Azure throws an unknown code at once. Sturdy does so for a request that may have reached the server (it was
      // written) and is not safe to repeat (a POST)...
      const post = yield* setup(ok, { retry: azure }, { sendFailures: connectErrors(10, "UNEXPECTED", "write") })
      const failure = failureOf(yield* post.run(post.api.post("/")))
      expect(failure).toMatchObject({ _tag: "ConnectionError", reason: "Unknown" })
      expect(codeOf(failure)).toBe("UNEXPECTED")
      expect(post.decisions.map((d) => d.reason)).toEqual(["not-retryable"])
      // ...but retries a GET: an unclassified connection failure is transient (HttpFailure's table)
      const get = yield* setup(ok, { retry: azure }, { sendFailures: connectErrors(10, "UNEXPECTED", "write") })
      expect(Policy.attemptsOf(failureOf(yield* get.run(get.api.get("/"))))).toBe(4)
      // ...and a POST whose connection failed as it opened, so that nothing was written
      const unsent = yield* setup(ok, { retry: azure }, { connectFailures: connectErrors(10, "UNEXPECTED") })
      const gaveUpUnsent = failureOf(yield* unsent.run(unsent.api.post("/")))
      expect(gaveUpUnsent).toMatchObject({ _tag: "ConnectionError", reason: "Unknown", requestSent: false })
      expect(Policy.attemptsOf(gaveUpUnsent)).toBe(4)
    }))

  const gaveUp = (h: Harness, failure: Policy.Failure) => {
    expect(Policy.attemptsOf(failure)).toBe(4)
    expect(h.decisions.map((d) => d.retrying)).toEqual([true, true, true, false])
    expect(h.decisions.at(-1)!.reason).toBe("exhausted")
  }

  it.scoped("It should give up after the default maxRetries is reached for ETIMEDOUT error", () =>
    Effect.gen(function*() {
      // a connect that times out (Node's `connect ETIMEDOUT`)
      const h = yield* setup(ok, { retry: azure }, { connectFailures: connectErrors(10, "ETIMEDOUT") })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(failure).toMatchObject({ _tag: "ConnectionError", reason: "ConnectTimeout" })
      gaveUp(h, failure)
      expect(h.seen.length).toBe(0)
    }))

  it.scoped("It should give up after the default maxRetries is reached for ESOCKETTIMEDOUT error", () =>
    Effect.gen(function*() {
      // a socket that stays silent: each attempt runs out of its attempt timeout
      const h = yield* setup(() => undefined, { attemptTimeout: "100 millis", retry: azure })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(failure).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      gaveUp(h, failure)
      expect(h.seen.length).toBe(4)
    }))

  it.scoped("It should give up after the default maxRetries is reached for ECONNREFUSED error", () =>
    Effect.gen(function*() {
      // a port nothing listens on
      const h = yield* setup(ok, { retry: azure }, { listen: "later" })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(failure).toMatchObject({ _tag: "ConnectionError", reason: "Refused" })
      gaveUp(h, failure)
    }))

  it.scoped("It should give up after the default maxRetries is reached for ENOENT error", () =>
    Effect.gen(function*() {
      const h = yield* setup(ok, { retry: azure }, { connectFailures: connectErrors(10, "ENOENT") })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(codeOf(failure)).toBe("ENOENT")
      gaveUp(h, failure)
    }))

  it.scoped("It should give up after the default maxRetries is reached for ENOTFOUND error", () =>
    Effect.gen(function*() {
      const h = yield* setup(ok, { retry: azure }, { connectFailures: connectErrors(10, "ENOTFOUND", "getaddrinfo") })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(failure).toMatchObject({ _tag: "ConnectionError", reason: "DnsLookup" })
      gaveUp(h, failure)
    }))

  it.scoped("It should not retry on RestError with status 416", () =>
    Effect.gen(function*() {
      const h = yield* setup(always(416), { retry: azure })
      expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ _tag: "ClientError", status: 416 })
      expect(h.seen.length).toBe(1)
    }))
})

describe("core-rest-pipeline test/retryPolicy.spec.ts", () => {
  /** a call's events, as the policy's and the strategy's loggers would report them */
  const logged = (events: ReadonlyArray<Policy.Event>) =>
    events.map((e) => {
      switch (e._tag) {
        case "AttemptStarted":
          return `attempt ${e.attempt}`
        case "AttemptEnded":
          return `ended ${e.outcome} ${codeOf(e.failure) ?? e.failure?._tag ?? ""}`.trim()
        case "RetryDecision":
          return `${e.retrying ? "retry" : "stop"} ${e.reason} ${Duration.toMillis(e.delay)}`
        default:
          return e._tag
      }
    })

  it.scoped("It should allow passing custom retry strategies", () =>
    Effect.gen(function*() {
      const h = yield* setup(ok, { retry: enoentAfter100ms }, { connectFailures: connectErrors(1, "ENOENT") })
      const start = yield* Clock.currentTimeMillis
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      // should be at least the strategy's delay
      expect(h.seen[0]!.at - start).toBe(100)
    }))

  it.scoped("It should give up after the default maxRetries is reached", () =>
    Effect.gen(function*() {
      const h = yield* setup(ok, { retry: enoentAfter100ms }, { connectFailures: connectErrors(20, "ENOENT") })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(codeOf(failure)).toBe("ENOENT")
      expect(Policy.attemptsOf(failure)).toBe(4)
    }))

  it.scoped("It should give up after maxRetries is changed", () =>
    Effect.gen(function*() {
      // maxRetries: 10 (above 10 attempts needs a bound: the default totalTimeout of 30 s is one)
      const h = yield* setup(ok, { retry: { ...enoentAfter100ms, maxAttempts: 11 } }, {
        connectFailures: connectErrors(20, "ENOENT")
      })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(codeOf(failure)).toBe("ENOENT")
      expect(Policy.attemptsOf(failure)).toBe(11)
    }))

  it.scoped("It should allow throwing new errors", () =>
    Effect.gen(function*() {
      // `errorToThrow`: the strategy stops (retryOn says no) and the caller replaces the failure with its own
      const h = yield* setup(ok, { retry: { ...enoentAfter100ms, retryOn: () => false } }, {
        connectFailures: connectErrors(20, "ENOENT")
      })
      const exit = yield* h.run(h.api.get("/").pipe(Effect.mapError(() => new Error("Test Retry Error!"))))
      expect(failureOf(exit).message).toBe("Test Retry Error!")
      expect(h.decisions.map((d) => [d.attempt, d.retrying])).toEqual([[2, false]])
    }))

  it.scoped("It should log consistent messages", () =>
    Effect.gen(function*() {
      const h = yield* setup(ok, { retry: enoentAfter100ms }, { connectFailures: connectErrors(20, "ENOENT") })
      const events: Array<Policy.Event> = []
      const failure = failureOf(
        yield* h.run(h.api.get("/", { onEvent: (e) => Effect.sync(() => events.push(e)) }))
      )
      expect(codeOf(failure)).toBe("ENOENT")
      expect(logged(events)).toEqual([
        "attempt 1",
        "ended failure ENOENT",
        "retry backoff 100",
        "attempt 2",
        "ended failure ENOENT",
        "retry backoff 100",
        "attempt 3",
        "ended failure ENOENT",
        "retry backoff 100",
        "attempt 4",
        "ended failure ENOENT",
        // "Maximum retries reached. Returning the last received response, or throwing the last received error."
        "stop exhausted 0"
      ])
    }))

  it.scoped("It should log when the policy requirements are unmet", () =>
    Effect.gen(function*() {
      // NOT-ENOENT: the strategy skips, so the error is thrown after one attempt
      const h = yield* setup(ok, { retry: enoentAfter100ms }, { connectFailures: connectErrors(20, "NOT-ENOENT") })
      const events: Array<Policy.Event> = []
      const failure = failureOf(
        yield* h.run(h.api.get("/", { onEvent: (e) => Effect.sync(() => events.push(e)) }))
      )
      expect(codeOf(failure)).toBe("NOT-ENOENT")
      expect(logged(events)).toEqual(["attempt 1", "ended failure NOT-ENOENT", "stop not-retryable 0"])
    }))

  it.scoped("It should log when the abort controller aborts", () =>
    Effect.gen(function*() {
      // the caller aborts while the first attempt is on the wire: the request is cut, the strategy is never asked
      const h = yield* setup(() => undefined, { retry: { ...enoentAfter100ms, retryOn: () => true } })
      const events: Array<Policy.Event> = []
      const call = yield* Effect.fork(
        Effect.provideService(
          h.api.get("/", { onEvent: (e) => Effect.sync(() => events.push(e)) }),
          Policy.Policy,
          h.policy
        )
      )
      for (let i = 0; i < 500 && h.seen.length < 1; i++) yield* realPause
      expect(Exit.isInterrupted(yield* Fiber.interrupt(call))).toBe(true)
      expect(yield* abortedRequests(h, 1)).toEqual([1])
      expect(logged(events)).toEqual(["attempt 1", "ended interrupted"])
      expect(h.decisions).toEqual([])
    }))

  it.scoped("It should log when the retry strategy throws with an error", () =>
    Effect.gen(function*() {
      const h = yield* setup(ok, { retry: { ...enoentAfter100ms, retryOn: () => false } }, {
        connectFailures: connectErrors(20, "ENOENT")
      })
      const events: Array<Policy.Event> = []
      const exit = yield* h.run(
        h.api.get("/", { onEvent: (e) => Effect.sync(() => events.push(e)) }).pipe(
          Effect.mapError(() => new Error("Test Retry Error!"))
        )
      )
      expect(failureOf(exit).message).toBe("Test Retry Error!")
      expect(logged(events)).toEqual(["attempt 1", "ended failure ENOENT", "stop not-retryable 0"])
    }))
})
