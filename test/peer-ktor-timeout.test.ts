/**
 * ktor's `ktor-client/ktor-client-tests/common/test/io/ktor/client/tests/HttpTimeoutTest.kt` (class HttpTimeoutTest),
 * ktorio/ktor at commit ef92e5537d7465961f1b3f2b21e217fc35bcfa1f, against the routes of its test server
 * (`ktor-test-server/src/main/kotlin/test/server/tests/Timeout.kt`: `/timeout/with-delay`, `with-stream` (one byte,
 * then `delay` before the next), `with-redirect`), ported to Sturdy's public API: `SturdyClient` over `@sturdy/node`'s
 * undici transport against a real node:http server on 127.0.0.1 (`test/utils/retryHarness.ts`), the server's delays
 * and every timeout on the TestClock. One `it` per ktor case, named after it.
 *
 * Mapping: ktor's client without `HttpRequestRetry` is `retry: false`; `HttpTimeout { requestTimeoutMillis }` (the
 * whole call, body read included) is `totalTimeout`, and a bare `install(HttpTimeout)` is `totalTimeout: false,
 * attemptTimeout: false`; the per-request `timeout { requestTimeoutMillis }` is the request's `timeout` (one attempt,
 * here the whole call); `socketTimeoutMillis` on a read is `bodyTimeout`; `HttpRequestTimeoutException` is
 * `HttpFailure.Timeout`; the engine's redirects are `Redirect.follow()`; `withTimeout` around the call is
 * `Effect.timeout`; cancelling is interrupting the call.
 *
 * Deliberate differences: ktor's `socketTimeoutMillis` is an idle limit between packets; Sturdy's `bodyTimeout` bounds
 * the whole body read (`@sturdy/node`'s dispatcher `bodyTimeout` is the idle one, on undici's coarse timer);
 * ktor's connect timeout is `HttpTimeout { connectTimeoutMillis }`, Sturdy's the dispatcher's `connectTimeout`;
 * ktor refuses a zero connect timeout; `@sturdy/node`'s `connectTimeout: 0` is undici's "none" (negative is refused).
 *
 * Not ported: testSocketTimeoutWriteFailOnWrite and its PerRequestAttributes twin (Sturdy has no write-idle timeout:
 * the attempt's `timeout` bounds a slow upload, and the harness reads request bodies eagerly).
 */
import { describe, expect, it } from "@effect/vitest"
import { HttpFailure, Policy, Redirect, SturdyClient } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { Cause, Clock, Effect, Either, Exit, Fiber, Option } from "effect"
import {
  abortedRequests,
  failureOf,
  type Handler,
  type Harness,
  type HarnessOptions,
  realPause,
  send,
  setup,
  textOf
} from "./utils/retryHarness.js"

/** ktor's test server, `/timeout/*` */
const timeoutServer: Handler = (request, response, _, { later }) => {
  const url = new URL(request.path, "http://x")
  const delay = Number(url.searchParams.get("delay") ?? "0")
  switch (url.pathname) {
    case "/timeout/with-delay":
      return later(delay, () => send(response, 200, {}, request.method === "HEAD" ? "" : "Text"))
    case "/timeout/with-stream": {
      response.writeHead(200, { "content-type": "application/octet-stream" })
      const bytes = [..."Text"]
      const write = (i: number): void => {
        if (response.destroyed) return
        if (i === bytes.length) return void response.end()
        response.write(bytes[i])
        later(delay, () => write(i + 1))
      }
      return write(0)
    }
    case "/timeout/with-redirect": {
      const count = Number(url.searchParams.get("count"))
      const location = count === 0
        ? `/timeout/with-delay?delay=${delay}`
        : `/timeout/with-redirect?delay=${delay}&count=${count - 1}`
      return later(delay, () => send(response, 302, { location }))
    }
    default:
      return send(response, 404)
  }
}

/** `install(HttpTimeout)` with no limit, and no retry plugin */
const noLimits = { retry: false, totalTimeout: false, attemptTimeout: false } as const
/** `HttpTimeout { requestTimeoutMillis = millis }` */
const requestTimeout = (millis: number) => ({ retry: false, totalTimeout: `${millis} millis` }) as const
const redirects: HarnessOptions = { client: { transformClient: Redirect.follow() } }

/** runs the call on the harness, with the virtual time it took */
const timed = <A, E>(h: Harness, effect: Effect.Effect<A, E, Policy.Policy>) =>
  Effect.gen(function*() {
    const start = yield* Clock.currentTimeMillis
    const exit = yield* h.run(effect)
    return { exit, elapsed: (yield* Clock.currentTimeMillis) - start }
  })

describe("ktor HttpTimeoutTest", () => {
  it.scoped("testGet", () =>
    Effect.gen(function*() {
      const h = yield* setup(timeoutServer, requestTimeout(1000))
      expect(textOf(yield* h.run(h.api.get("/timeout/with-delay?delay=20")))).toBe("Text")
    }))

  it.scoped("testGetWithExceptionAndTryAgain", () =>
    Effect.gen(function*() {
      // a failed call leaves the client usable: the next call of the same client succeeds
      const h = yield* setup(timeoutServer, noLimits)
      expect(failureOf(yield* h.run(h.api.get("/timeout/404?delay=20")))).toMatchObject({
        _tag: "ClientError",
        status: 404
      })
      expect(textOf(yield* h.run(h.api.get("/timeout/with-delay?delay=20")))).toBe("Text")
    }))

  it.scoped("testWithExternalTimeout", () =>
    Effect.gen(function*() {
      // the caller's own timeout around the call ends it, and the request is aborted (no child left running)
      const h = yield* setup(timeoutServer, noLimits)
      const exit = yield* h.run(h.api.get("/timeout/with-delay?delay=60000").pipe(Effect.timeout("500 millis")))
      expect(Exit.isFailure(exit) && Cause.isTimeoutException(failureOf(exit))).toBe(true)
      expect(yield* abortedRequests(h, 1)).toEqual([1])
    }))

  it.scoped("testHead", () =>
    Effect.gen(function*() {
      const h = yield* setup(timeoutServer, noLimits)
      const exit = yield* h.run(h.api.head("/timeout/with-delay?delay=10"))
      expect(Exit.isSuccess(exit) && exit.value.status).toBe(200)
    }))

  it.scoped("testHeadWithTimeout", () =>
    Effect.gen(function*() {
      const h = yield* setup(timeoutServer, requestTimeout(500))
      const { elapsed, exit } = yield* timed(h, h.api.head("/timeout/with-delay?delay=2000"))
      expect(failureOf(exit)).toBeInstanceOf(HttpFailure.Timeout)
      expect(elapsed).toBe(500)
    }))

  it.scoped("testGetWithCancellation", () =>
    Effect.gen(function*() {
      // the caller cancels while the body streams in: the connection is closed, nothing is left running
      const h = yield* setup(timeoutServer, requestTimeout(1000))
      const fiber = yield* Effect.fork(
        Effect.provideService(h.api.get("/timeout/with-stream?delay=2000"), Policy.Policy, h.policy)
      )
      for (let i = 0; i < 500 && h.seen.length === 0; i++) yield* realPause
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(yield* abortedRequests(h, 1)).toEqual([1])
    }))

  it.scoped("testGetRequestTimeout", () =>
    Effect.gen(function*() {
      const h = yield* setup(timeoutServer, requestTimeout(10))
      const { elapsed, exit } = yield* timed(h, h.api.get("/timeout/with-delay?delay=5000"))
      expect(failureOf(exit)).toBeInstanceOf(HttpFailure.Timeout)
      expect(elapsed).toBe(10)
    }))

  it.scoped("testGetRequestTimeoutPerRequestAttributes", () =>
    Effect.gen(function*() {
      const h = yield* setup(timeoutServer, noLimits)
      const { elapsed, exit } = yield* timed(h, h.api.get("/timeout/with-delay?delay=5000", { timeout: "10 millis" }))
      expect(failureOf(exit)).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect(elapsed).toBe(10)
    }))

  it.scoped("testGetWithSeparateReceive", () =>
    Effect.gen(function*() {
      const h = yield* setup(timeoutServer, requestTimeout(1000))
      expect(textOf(yield* h.run(h.api.execute("/timeout/with-delay?delay=10")))).toBe("Text")
    }))

  it.scoped("testGetWithSeparateReceivePerRequestAttributes", () =>
    Effect.gen(function*() {
      const h = yield* setup(timeoutServer, noLimits)
      expect(textOf(yield* h.run(h.api.execute("/timeout/with-delay?delay=10", { timeout: "1 second" })))).toBe("Text")
    }))

  it.scoped("testGetRequestTimeoutWithSeparateReceive", () =>
    Effect.gen(function*() {
      // the headers come at once, the body a byte every 1.5 s: the call's limit covers reading the body
      const h = yield* setup(timeoutServer, requestTimeout(3000))
      const { elapsed, exit } = yield* timed(h, h.api.get("/timeout/with-stream?delay=1500"))
      expect(failureOf(exit)).toBeInstanceOf(HttpFailure.Timeout)
      expect(elapsed).toBe(3000)
    }))

  it.scoped("testGetRequestTimeoutWithSeparateReceivePerRequestAttributes", () =>
    Effect.gen(function*() {
      const h = yield* setup(timeoutServer, noLimits)
      const { elapsed, exit } = yield* timed(h, h.api.get("/timeout/with-stream?delay=10000", { timeout: "1 second" }))
      expect(failureOf(exit)).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect(elapsed).toBe(1000)
    }))

  it.scoped("testGetAfterTimeout", () =>
    Effect.gen(function*() {
      const h = yield* setup(timeoutServer, noLimits)
      expect(failureOf(yield* h.run(h.api.get("/timeout/with-stream?delay=10000", { timeout: "1 second" }))))
        .toBeInstanceOf(HttpFailure.Timeout)
      expect(textOf(yield* h.run(h.api.get("/timeout/with-delay?delay=1", { timeout: "1 second" })))).toBe("Text")
    }))

  it.scoped("testGetStream", () =>
    Effect.gen(function*() {
      const h = yield* setup(timeoutServer, requestTimeout(1000))
      expect(textOf(yield* h.run(h.api.get("/timeout/with-stream?delay=10")))).toBe("Text")
    }))

  it.scoped("testGetStreamRequestTimeout", () =>
    Effect.gen(function*() {
      const h = yield* setup(timeoutServer, requestTimeout(1000))
      const { elapsed, exit } = yield* timed(h, h.api.get("/timeout/with-stream?delay=4000"))
      expect(failureOf(exit)).toBeInstanceOf(HttpFailure.Timeout)
      expect(elapsed).toBe(1000)
    }))

  it.scoped("testGetStreamRequestTimeoutPerRequestAttributes", () =>
    Effect.gen(function*() {
      // four bytes 400 ms apart end at 1.6 s, past the 1 s limit
      const h = yield* setup(timeoutServer, noLimits)
      const { elapsed, exit } = yield* timed(h, h.api.get("/timeout/with-stream?delay=400", { timeout: "1 second" }))
      expect(failureOf(exit)).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect(elapsed).toBe(1000)
    }))

  it.scoped("testRedirect", () =>
    Effect.gen(function*() {
      const h = yield* setup(timeoutServer, requestTimeout(1000), redirects)
      expect(textOf(yield* h.run(h.api.get("/timeout/with-redirect?delay=20&count=2")))).toBe("Text")
      expect(h.seen).toHaveLength(4)
    }))

  it.scoped("testRedirectPerRequestAttributes", () =>
    Effect.gen(function*() {
      const h = yield* setup(timeoutServer, noLimits, redirects)
      const call = h.api.get("/timeout/with-redirect?delay=20&count=2", { timeout: "10 seconds" })
      expect(textOf(yield* h.run(call))).toBe("Text")
      expect(h.seen).toHaveLength(4)
    }))

  it.scoped("testRedirectRequestTimeoutOnFirstStep", () =>
    Effect.gen(function*() {
      const h = yield* setup(timeoutServer, requestTimeout(20), redirects)
      const { elapsed, exit } = yield* timed(h, h.api.get("/timeout/with-redirect?delay=2000&count=5"))
      expect(failureOf(exit)).toBeInstanceOf(HttpFailure.Timeout)
      expect(elapsed).toBe(20)
      expect(h.seen).toHaveLength(1)
    }))

  it.scoped("testRedirectRequestTimeoutOnFirstStepPerRequestAttributes", () =>
    Effect.gen(function*() {
      const h = yield* setup(timeoutServer, noLimits, redirects)
      const call = h.api.get("/timeout/with-redirect?delay=2000&count=5", { timeout: "20 millis" })
      const { elapsed, exit } = yield* timed(h, call)
      expect(failureOf(exit)).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect(elapsed).toBe(20)
      expect(h.seen).toHaveLength(1)
    }))

  it.scoped("testRedirectRequestTimeoutOnSecondStep", () =>
    Effect.gen(function*() {
      // every step takes 500 ms: the 400 ms limit covers the whole chain of redirects, not each step
      const h = yield* setup(timeoutServer, requestTimeout(400), redirects)
      const { elapsed, exit } = yield* timed(h, h.api.get("/timeout/with-redirect?delay=500&count=5"))
      expect(failureOf(exit)).toBeInstanceOf(HttpFailure.Timeout)
      expect(elapsed).toBe(400)
    }))

  it.scoped("testRedirectRequestTimeoutOnSecondStepPerRequestAttributes", () =>
    Effect.gen(function*() {
      const h = yield* setup(timeoutServer, noLimits, redirects)
      const call = h.api.get("/timeout/with-redirect?delay=500&count=5", { timeout: "400 millis" })
      const { elapsed, exit } = yield* timed(h, call)
      expect(failureOf(exit)).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect(elapsed).toBe(400)
    }))

  it.scoped("testConnectionRefusedException", () =>
    Effect.gen(function*() {
      // nothing listens on the port: a refused connection, not a connect timeout
      const h = yield* setup(timeoutServer, noLimits, { listen: "later" })
      expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ _tag: "ConnectionError", reason: "Refused" })
      expect(h.seen).toHaveLength(0)
    }))

  it.scoped("testSocketTimeoutRead", () =>
    Effect.gen(function*() {
      // socketTimeoutMillis = 1000 on a body whose bytes come 5 s apart: `bodyTimeout` (the whole read, in Sturdy)
      const h = yield* setup(timeoutServer, noLimits, { client: { bodyTimeout: "1 second" } })
      const { elapsed, exit } = yield* timed(h, h.api.get("/timeout/with-stream?delay=5000"))
      expect(failureOf(exit)).toMatchObject({ _tag: "Timeout", phase: "BodyRead" })
      expect(elapsed).toBe(1000)
    }))

  it.scoped("testSocketTimeoutReadPerRequestAttributes", () =>
    Effect.gen(function*() {
      const h = yield* setup(timeoutServer, noLimits)
      const call = h.api.get("/timeout/with-stream?delay=5000", { bodyTimeout: "1 second" })
      const { elapsed, exit } = yield* timed(h, call)
      expect(failureOf(exit)).toMatchObject({ _tag: "Timeout", phase: "BodyRead" })
      expect(elapsed).toBe(1000)
    }))

  it.effect("testNonPositiveTimeout", () =>
    Effect.gen(function*() {
      // requestTimeoutMillis: the policy's timeouts, rejected when built
      for (const field of ["totalTimeout", "attemptTimeout"] as const) {
        for (const value of [-1, 0]) {
          const checked = Policy.validate({ [field]: value })
          expect(Either.isLeft(checked) && checked.left.field).toBe(field)
        }
      }
      // the request's and the body read's limits: every call of the client fails before sending
      const client = UndiciHttpClient.make(yield* UndiciHttpClient.makeDispatcher())
      for (const option of ["timeout", "bodyTimeout"] as const) {
        for (const value of [-1, 0]) {
          const api = SturdyClient.makeWith(client, { baseUrl: "http://127.0.0.1:9", [option]: value })
          const failure = yield* Effect.flip(api.get("/"))
          expect(failure).toMatchObject({ _tag: "InvalidRequest", reason: "InvalidOptions" })
          expect(failure._tag === "InvalidRequest" && failure.detail).toContain(option)
        }
      }
      // connectTimeoutMillis: the dispatcher's `connectTimeout`; a negative one is refused (a defect: makeDispatcher
      // cannot fail). Zero differs from ktor: it is undici's "no connect timeout", as documented
      const negative = yield* Effect.exit(Effect.scoped(UndiciHttpClient.makeDispatcher({ connectTimeout: -1 })))
      expect(Exit.isFailure(negative) && Option.getOrUndefined(Cause.dieOption(negative.cause))).toBeInstanceOf(
        RangeError
      )
      const zero = yield* Effect.exit(Effect.scoped(UndiciHttpClient.makeDispatcher({ connectTimeout: 0 })))
      expect(Exit.isSuccess(zero)).toBe(true)
    }).pipe(Effect.scoped))
})
