/**
 * Azure/azure-sdk-for-js `sdk/core/core-http` (the older pipeline): its retry policies' tests, ported to Sturdy's
 * public API: `SturdyClient` over `@sturdy/node`'s undici transport against a real node:http server on 127.0.0.1
 * (`test/utils/retryHarness.ts`), every wait on the TestClock. One `it` per core-http case, named after it. Read from
 * the stored versions of `test/policies/exponentialRetryPolicyTests.spec.ts` (commit
 * f639c64932f219c6b0bb2d632439253dadae19d2), `test/policies/systemErrorRetryPolicyTests.spec.ts` (commit
 * ad0fc3cbf1b7e9c6442da19feb4de3dfc2af149e), `test/policies/throttlingRetryPolicyTests.ts` (commit
 * a0ac77a6a1feaeaadd61686b571a37785a1a45ba) and `test/policies/throttlingRetryPolicy.node.ts` (commit
 * 061684383bcd07b60aacbf66a041ecd210ecb9d8). core-rest-pipeline's tests are in `test/peer-azure-core-retry.test.ts`.
 *
 * Mapping: `new ExponentialRetryPolicy(next, options, 3, 10, 20)` (retry count, retry interval, max interval) and
 * `new SystemErrorRetryPolicy(next, options, 3, 10, 10, 20)` are `retry.maxAttempts: 4`, `baseDelay: "10 millis"`,
 * `maxDelay: "20 millis"` (no jitter, to compare waits); the inner policy that answers a status is the server; a
 * `RetryError` with a system-error `code` is a connection that fails that way: `ECONNRESET` a server that drops the
 * connection, `ECONNREFUSED` a port nothing listens on yet, `ESOCKETTIMEDOUT` a server that stays silent past
 * `attemptTimeout`, and `ETIMEDOUT` (connect), `ENOENT` and unknown codes connections that fail with that Node system
 * error (`connectFailures`, while the connection opens; `sendFailures`, once the request is being written); `parseRetryAfterHeader` is `RetryHeaders.parseRetryAfter`; the abort signal is the
 * caller's timeout.
 *
 * Deliberate differences (each test says which):
 * - An error core-http does not recognise (a plain `Error`, code `NonRetriableError`) is thrown at once; Sturdy
 *   classifies a connection failure it cannot name as `ConnectionError` `Unknown`, transient: a GET is retried, a POST
 *   is not once its request was written (it may have reached the server), and is when the connection failed as it
 *   opened (`requestSent: false`: nothing was written).
 * - core-http's throttling handler waits any `Retry-After`; Sturdy fails at once when the server asks for longer than
 *   `retry.maxRetryAfter` (30 s by default), handing the caller the 429 with the wait it named.
 *
 * Not ported: the three "should clone the request" cases (object identity: core-http mutates `WebResource`s, Effect's
 * requests are immutable values, so there is nothing to clone).
 */
import { describe, expect, it } from "@effect/vitest"
import { HttpFailure, Policy, RetryHeaders } from "@sturdy/http"
import { Cause, Duration, Effect, Exit, Option } from "effect"
import {
  connectErrors,
  failureOf,
  fixture,
  gaps,
  type Handler,
  type Harness,
  send,
  setup,
  textOf,
  timeoutDuringRetryWait
} from "./utils/retryHarness.js"

/** `(3, 10, 20)`: three retries, from 10 ms up to 20 ms */
const coreHttp = {
  maxAttempts: 4,
  baseDelay: "10 millis",
  maxDelay: "20 millis",
  jitter: "none",
  retryAfterJitter: 0
} as const

const ok: Handler = (_, response) => send(response, 200, {}, fixture)

/** answers `status` until request `okAt`, then 200 `fixture` */
const untilOk = (okAt: number, status: number, headers: Record<string, string> = {}): Handler => (_, response, n) =>
  n >= okAt ? send(response, 200, {}, fixture) : send(response, status, headers)

const codeOf = (failure: unknown) => failure instanceof HttpFailure.ConnectionError ? failure.cause?.code : undefined

/**
 * "should not modify the request": a PATCH with a JSON body, a header and a query parameter reaches the server as it
 * was built (the policy adds nothing and drops nothing)
 */
const sentAsBuilt = (options: Policy.Options) =>
  Effect.gen(function*() {
    const h = yield* setup(ok, options)
    const exit = yield* h.run(
      h.api.patch("/url", {
        urlParams: { q: "param" },
        headers: { header: "abc" },
        body: { someProperty: "someValue" }
      })
    )
    expect(textOf(exit)).toBe(fixture)
    expect(h.seen).toHaveLength(1)
    expect(h.seen[0]).toMatchObject({
      method: "PATCH",
      path: "/url?q=param",
      headers: { header: "abc", "content-type": "application/json" },
      body: JSON.stringify({ someProperty: "someValue" })
    })
    expect(h.seen[0]!.headers["idempotency-key"]).toBeUndefined()
  })

/** how each system error of core-http's list is produced on a real connection, `count` times */
const systemErrorCases = ["ETIMEDOUT", "ESOCKETTIMEDOUT", "ECONNREFUSED", "ECONNRESET", "ENOENT"] as const
type SystemErrorCode = typeof systemErrorCases[number]

const failingWith = (code: SystemErrorCode, count: number) =>
  Effect.gen(function*() {
    switch (code) {
      case "ETIMEDOUT":
      case "ENOENT":
        return yield* setup(ok, { retry: coreHttp }, { connectFailures: connectErrors(count, code) })
      case "ESOCKETTIMEDOUT":
        // silent until request `count + 1`
        return yield* setup(
          (_, response, n) => n > count ? ok(_, response, n, undefined as never) : undefined,
          { attemptTimeout: "100 millis", retry: coreHttp }
        )
      case "ECONNRESET":
        return yield* setup(
          (request, response, n) =>
            n > count ? ok(request, response, n, undefined as never) : response.socket?.destroy(),
          { retry: coreHttp }
        )
      case "ECONNREFUSED":
        // nothing listens until the `count`th retry decision
        return yield* setup(ok, { retry: coreHttp }, { listen: "later" })
    }
  })

/** the call, with the server brought up at the `count`th retry decision when the case is ECONNREFUSED */
const call = (h: Harness, code: SystemErrorCode, count: number) =>
  h.api.get("/", {
    onEvent: (event) =>
      code === "ECONNREFUSED" && event._tag === "RetryDecision" && event.attempt === count + 1 ? h.listen : Effect.void
  })

const expectSystemError = (code: SystemErrorCode, failure: unknown) => {
  switch (code) {
    case "ETIMEDOUT":
      return expect(failure).toMatchObject({ _tag: "ConnectionError", reason: "ConnectTimeout" })
    case "ENOENT":
      return expect(codeOf(failure)).toBe("ENOENT")
    case "ESOCKETTIMEDOUT":
      return expect(failure).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
    case "ECONNRESET":
      return expect(failure).toMatchObject({ _tag: "ConnectionError", reason: "Reset" })
    case "ECONNREFUSED":
      return expect(failure).toMatchObject({ _tag: "ConnectionError", reason: "Refused" })
  }
}

describe("core-http test/policies/exponentialRetryPolicyTests.spec.ts", () => {
  it.scoped("should not modify the request", () => sentAsBuilt({ retry: coreHttp }))

  it.scoped.each([408, 502, 506])("should retry if the status code is %i", (code) =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(2, code), { retry: coreHttp })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.seen.length).toBe(2)
      expect(gaps(h)).toEqual([10])
    }))

  // core-http names the three cases alike; the status is added here
  it.scoped.each([404, 501, 505])(
    "should do nothing when status code is retriable (%i)",
    (code) =>
      Effect.gen(function*() {
        const h = yield* setup(untilOk(2, code), { retry: coreHttp })
        expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ status: code })
        expect(h.seen.length).toBe(1)
        expect(h.decisions.map((d) => d.reason)).toEqual(["not-retryable"])
      })
  )

  it.scoped.each([408, 502, 506])(
    "should return after max retry count for retriable status code %i",
    (code) =>
      Effect.gen(function*() {
        const h = yield* setup((_, response) => send(response, code), { retry: coreHttp })
        const failure = failureOf(yield* h.run(h.api.get("/")))
        expect(failure).toMatchObject({ status: code })
        expect(h.seen.length).toBe(4)
        expect(Policy.attemptsOf(failure)).toBe(4)
        expect(gaps(h)).toEqual([10, 20, 20])
      })
  )

  it.scoped("should not retry when error is thrown", () =>
    Effect.gen(function*() {
      // core-http throws a plain `Error("Unknown Error")` at once. Sturdy does so for a POST whose request was
      // written; a GET is retried, as an unclassified connection failure is transient
      const post = yield* setup(ok, { retry: coreHttp }, { sendFailures: [new Error("Unknown Error")] })
      const failure = failureOf(yield* post.run(post.api.post("/")))
      expect(failure).toMatchObject({ _tag: "ConnectionError", reason: "Unknown" })
      expect((failure as HttpFailure.ConnectionError).cause?.message).toContain("Unknown Error")
      expect(Policy.attemptsOf(failure)).toBe(1)
      const get = yield* setup(ok, { retry: coreHttp }, { sendFailures: [new Error("Unknown Error")] })
      expect(textOf(yield* get.run(get.api.get("/")))).toBe(fixture)
      expect(get.decisions.map((d) => [d.failure._tag, d.retrying])).toEqual([["ConnectionError", true]])
      // thrown while the connection opens, nothing was written: even the POST is repeated
      const unsent = yield* setup(ok, { retry: coreHttp }, { connectFailures: [new Error("Unknown Error")] })
      expect(textOf(yield* unsent.run(unsent.api.post("/")))).toBe(fixture)
      expect(unsent.decisions.map((d) => [d.failure._tag, d.retrying])).toEqual([["ConnectionError", true]])
    }))
})

describe("core-http test/policies/systemErrorRetryPolicyTests.spec.ts", () => {
  it.scoped("should not modify the request", () => sentAsBuilt({ retry: coreHttp }))

  it.scoped.each(systemErrorCases)("should retry if the error code is %s", (code) =>
    Effect.gen(function*() {
      const h = yield* failingWith(code, 1)
      expect(textOf(yield* h.run(call(h, code, 1)))).toBe(fixture)
      expect(h.decisions.map((d) => d.retrying)).toEqual([true])
      expectSystemError(code, h.decisions[0]!.failure)
    }))

  it.scoped("should do nothing when error code is not one of the retriable errors", () =>
    Effect.gen(function*() {
      // core-http throws `NonRetriableError` at once; Sturdy does so for a POST whose request was written, and
      // retries a GET (see the header)
      const sendFailures = connectErrors(1, "NonRetriableError", "write")
      const post = yield* setup(ok, { retry: coreHttp }, { sendFailures })
      const failure = failureOf(yield* post.run(post.api.post("/")))
      expect(codeOf(failure)).toBe("NonRetriableError")
      expect(failure.message).toContain("NonRetriableError")
      expect(post.seen.length).toBe(0)
      const get = yield* setup(ok, { retry: coreHttp }, {
        sendFailures: connectErrors(1, "NonRetriableError", "write")
      })
      expect(textOf(yield* get.run(get.api.get("/")))).toBe(fixture)
      // from `connect`, nothing was written: the POST is repeated too
      const unsent = yield* setup(ok, { retry: coreHttp }, { connectFailures: connectErrors(1, "NonRetriableError") })
      expect(textOf(yield* unsent.run(unsent.api.post("/")))).toBe(fixture)
    }))

  it.scoped.each(systemErrorCases)(
    "should fail after max retry count for error code %s",
    (code) =>
      Effect.gen(function*() {
        const h = yield* failingWith(code, 10)
        const failure = failureOf(yield* h.run(call(h, code, 10)))
        expectSystemError(code, failure)
        expect(Policy.attemptsOf(failure)).toBe(4)
        expect(h.decisions.map((d) => d.reason)).toEqual(["backoff", "backoff", "backoff", "exhausted"])
      })
  )
})

describe("core-http test/policies/throttlingRetryPolicyTests.ts", () => {
  describe("sendRequest", () => {
    it.scoped("should not modify the request", () => sentAsBuilt({}))

    it.scoped("should do nothing when status code is not 429", () =>
      Effect.gen(function*() {
        // a 400 with `Retry-After: 100`: the answer comes back as it is, at once
        const h = yield* setup(untilOk(2, 400, { "Retry-After": "100" }))
        const failure = failureOf(yield* h.run(h.api.get("/")))
        expect(failure).toMatchObject({ _tag: "ClientError", status: 400 })
        expect((failure as HttpFailure.ClientError).headers["retry-after"]).toBe("100")
        expect(h.seen.length).toBe(1)
        expect(h.decisions.map((d) => d.reason)).toEqual(["not-retryable"])
      }))

    it.scoped("should pass the response to the handler if the status code equals 429", () =>
      Effect.gen(function*() {
        // core-http hands the 429 to its handler, which waits 100 s; Sturdy hands it to the caller at once, as a
        // `RateLimited` carrying the wait, since 100 s is beyond `maxRetryAfter` (30 s)
        const h = yield* setup(untilOk(2, 429, { "Retry-After": "100" }))
        const failure = failureOf(yield* h.run(h.api.get("/")))
        expect(failure).toMatchObject({ _tag: "RateLimited", status: 429 })
        expect(Option.map((failure as HttpFailure.RateLimited).retryAfter, Duration.toSeconds)).toEqual(
          Option.some(100)
        )
        expect(h.decisions.map((d) => d.reason)).toEqual(["retry-after-too-long"])
        expect(h.seen.length).toBe(1)
      }))
  })

  describe("parseRetryAfterHeader", () => {
    const millis = (o: Option.Option<Duration.Duration>) => Option.map(o, Duration.toMillis)
    const newYearsEve = Date.parse("Fri, 31 Dec 1999 23:00:00 GMT")

    it("should return undefined for ill-formed header", () => {
      expect(RetryHeaders.parseRetryAfter("foobar", newYearsEve)).toEqual(Option.none())
    })

    it("should return sleep interval value in milliseconds if parameter is a number", () => {
      expect(millis(RetryHeaders.parseRetryAfter("1", newYearsEve))).toEqual(Option.some(1000))
    })

    it("should return sleep interval value in milliseconds for full date format", () => {
      expect(millis(RetryHeaders.parseRetryAfter("Fri, 31 Dec 1999 23:02:00 GMT", newYearsEve))).toEqual(
        Option.some(2 * 60 * 1000)
      )
    })

    it("should return sleep interval value in milliseconds for shorter date format", () => {
      // an RFC 5322 date without its day name
      expect(millis(RetryHeaders.parseRetryAfter("31 Dec 1999 23:03:00 GMT", newYearsEve))).toEqual(
        Option.some(3 * 60 * 1000)
      )
    })
  })
})

describe("core-http test/policies/throttlingRetryPolicy.node.ts", () => {
  const throttled: Handler = (_, response) =>
    send(
      response,
      429,
      { "Retry-After": "10000", "content-type": "application/json" },
      JSON.stringify({
        type: "https://fakeservice.io/errors/too-many-requests",
        title: "Resource utilization has surpassed the assigned quota",
        policy: "Total Requests",
        status: 429
      })
    )

  it.scoped("Should not retry forever (honors the abort signal passed)", () =>
    Effect.gen(function*() {
      // a PUT throttled for 10000 s, a caller that gives up after 100 ms. Sturdy's defaults do not wait that long:
      // the call ends at once with the 429
      const h = yield* setup(throttled)
      const failure = failureOf(yield* h.run(h.api.put("/ABCD")))
      expect(failure).toMatchObject({ _tag: "RateLimited", status: 429 })
      expect(h.seen.length).toBe(1)

      // a policy willing to wait 10000 s: the caller's timeout ends the wait, no second request is sent
      const patient = yield* setup(throttled, { totalTimeout: "4 hours", retry: { maxRetryAfter: "3 hours" } })
      const { decided, exit } = yield* timeoutDuringRetryWait(patient, patient.api.put("/ABCD"), 100)
      expect(decided.map((d) => d.reason)).toEqual(["retry-after"])
      expect(Exit.isFailure(exit) && Cause.isTimeoutException(failureOf(exit))).toBe(true)
      expect(patient.seen.length).toBe(1)
    }))
})
