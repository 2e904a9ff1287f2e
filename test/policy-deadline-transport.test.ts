import { HttpClient, HttpClientError, HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { HttpFailure, Policy, SturdyClient } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { Deadline } from "@sturdy/policy"
import { FaultScript, FaultServer } from "@sturdy/testing"
import { Duration, Effect, Exit, Fiber, Schema } from "effect"
import * as Http from "node:http"
import { failureOf, serve } from "./utils/policyServer.js"
import { transports } from "./utils/transports.js"

const User = Schema.Struct({ id: Schema.Number, name: Schema.String })
const ada = { id: 1, name: "Ada" }

// real time is spent only on the timeouts under test
const options: Policy.Options = {
  totalTimeout: "5 seconds",
  attemptTimeout: "100 millis",
  retry: { maxAttempts: 2, baseDelay: "10 millis", maxDelay: "20 millis", budget: false },
  circuitBreaker: false
}

/** Runs `effect` and measures it in real time (`Date.now`, whatever the Clock). */
const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const started = Date.now()
    const exit = yield* Effect.exit(effect)
    return { exit, elapsed: Date.now() - started }
  })

describe.each(transports)("policy: deadlines and attempt timeouts over %s", (_, transport) => {
  it.scopedLive("a hung first attempt is cut at the 100 ms attempt timeout and the retry succeeds", () =>
    Effect.gen(function*() {
      const { client, policy, server } = yield* serve({
        "GET /users/1": FaultScript.sequence(FaultScript.hang, FaultScript.json(ada))
      }, options)
      const started = Date.now()
      const { elapsed, exit } = yield* timed(
        Policy.json(client, HttpClientRequest.get(`${server.url}/users/1`), User).pipe(
          Effect.provideService(Policy.Policy, policy)
        )
      )
      expect(exit).toStrictEqual(Exit.succeed(ada))
      expect(elapsed).toBeGreaterThanOrEqual(90)
      expect(elapsed).toBeLessThan(1500)
      // the server notices the aborted first request a moment after the client gave up on it
      yield* server.awaitIdle.pipe(Effect.timeout("2 seconds"))
      const requests = yield* server.requests
      expect(requests.map((r) => [r.attempt, r.fault._tag, r.aborted])).toEqual([
        [0, "Hang", true],
        [1, "Respond", false]
      ])
      // the retry reaches the server only after the attempt timeout (counted from the call's start: the first
      // request may reach the server some ms after its attempt began, and the retry no longer waits for its close)
      expect(requests[1].arrivedAt - started).toBeGreaterThanOrEqual(90)
    }).pipe(Effect.provide(transport)))

  it.scopedLive("a server that always hangs ends with Timeout(Deadline) at the 150 ms total timeout", () =>
    Effect.gen(function*() {
      const { client, policy, server } = yield* serve({ "GET /hang": FaultScript.hang }, {
        ...options,
        totalTimeout: "150 millis",
        attemptTimeout: false
      })
      const { elapsed, exit } = yield* timed(
        Policy.send(client, HttpClientRequest.get(`${server.url}/hang`)).pipe(
          Effect.provideService(Policy.Policy, policy)
        )
      )
      const failure = failureOf(exit)
      expect(failure).toBeInstanceOf(HttpFailure.Timeout)
      expect(failure._tag === "Timeout" && failure.phase).toBe("Deadline")
      expect(failure._tag === "Timeout" && Duration.toMillis(failure.timeout)).toBe(150)
      expect(elapsed).toBeGreaterThanOrEqual(140)
      expect(elapsed).toBeLessThan(1500)
      yield* server.awaitIdle.pipe(Effect.timeout("2 seconds"))
      // a deadline is not retried: one request, aborted
      expect((yield* server.requests).map((r) => r.aborted)).toEqual([true])
    }).pipe(Effect.provide(transport)))

  it.scopedLive("a call still queued in the bulkhead when the deadline passes ends with Timeout(Deadline)", () =>
    Effect.gen(function*() {
      const { client, policy, server } = yield* serve({
        "GET /slow": FaultScript.hang,
        "GET /fast": FaultScript.json(ada)
      }, {
        totalTimeout: "150 millis",
        attemptTimeout: false,
        retry: false,
        circuitBreaker: false,
        bulkhead: { maxConcurrent: 1, maxQueued: 1 },
        endpoints: { "GET /slow": { totalTimeout: "2 seconds" } }
      })
      const send = (path: string) =>
        Policy.send(client, HttpClientRequest.get(`${server.url}${path}`)).pipe(
          Effect.provideService(Policy.Policy, policy)
        )
      const slow = yield* Effect.fork(send("/slow"))
      // the slow call holds the only permit once the server has it
      while ((yield* server.requests).length === 0) yield* Effect.sleep("5 millis")
      const { elapsed, exit } = yield* timed(send("/fast"))
      const failure = failureOf(exit)
      expect(failure).toBeInstanceOf(HttpFailure.Timeout)
      // it never left the queue, so it never reached the server
      expect(failure).toMatchObject({ phase: "Deadline", requestSent: false })
      expect(Duration.toMillis((failure as HttpFailure.Timeout).timeout)).toBe(150)
      expect(elapsed).toBeGreaterThanOrEqual(140)
      expect(elapsed).toBeLessThan(1500)
      yield* Fiber.interrupt(slow)
    }).pipe(Effect.provide(transport)))

  it.scopedLive("each attempt gets the full attempt timeout; the deadline cuts the last one short", () =>
    Effect.gen(function*() {
      const { client, policy, server } = yield* serve({ "GET /hang": FaultScript.hang }, {
        ...options,
        totalTimeout: "300 millis",
        retry: { maxAttempts: 5, baseDelay: "10 millis", maxDelay: "10 millis", jitter: "none", budget: false }
      })
      const { elapsed, exit } = yield* timed(
        Policy.json(client, HttpClientRequest.get(`${server.url}/hang`), User).pipe(
          Effect.provideService(Policy.Policy, policy)
        )
      )
      // 100 ms, 10 ms pause, 100 ms, 10 ms pause, then the ~80 ms left before the deadline
      const failure = failureOf(exit)
      expect(failure._tag === "Timeout" && failure.phase).toBe("Deadline")
      expect(failure._tag === "Timeout" && Duration.toMillis(failure.timeout)).toBe(300)
      expect(elapsed).toBeGreaterThanOrEqual(290)
      expect(elapsed).toBeLessThan(1500)
      yield* server.awaitIdle.pipe(Effect.timeout("2 seconds"))
      const requests = yield* server.requests
      // (a last request the deadline aborts while it connects may never be logged by the server)
      expect(requests.length).toBeGreaterThanOrEqual(2)
      expect(requests.length).toBeLessThanOrEqual(3)
      expect(requests.every((r) => r.aborted)).toBe(true)
    }).pipe(Effect.provide(transport)))
})

describe("policy over @sturdy/node's UndiciHttpClient: the transport enforces the limits", () => {
  const sturdy = UndiciHttpClient.layer()

  it.scopedLive("the client declares it, so Policy.json sets no timer: an uninterruptible call still times out", () =>
    Effect.gen(function*() {
      const { client, policy, server } = yield* serve({
        "GET /users/1": FaultScript.sequence(FaultScript.hang, FaultScript.json(ada))
      }, options)
      expect(Deadline.isEnforcedBy(client)).toBe(true)
      const { exit } = yield* timed(
        Policy.json(client, HttpClientRequest.get(`${server.url}/users/1`), User).pipe(
          Effect.provideService(Policy.Policy, policy),
          Effect.uninterruptible,
          // a safety net: a call relying on a racing timer could not be interrupted and would hang here
          Effect.disconnect,
          Effect.timeoutFail({ duration: "2 seconds", onTimeout: () => "hung" as const })
        )
      )
      expect(exit).toStrictEqual(Exit.succeed(ada))
      yield* server.awaitIdle.pipe(Effect.timeout("2 seconds"))
      expect((yield* server.requests).map((r) => r.aborted)).toEqual([true, false])
    }).pipe(Effect.provide(sturdy)))

  it.scopedLive("SturdyClient with a policy: the total deadline aborts the request, Timeout(Deadline)", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.make(FaultScript.routes({ "GET /hang": FaultScript.hang }))
      const policy = yield* Policy.make({ ...options, totalTimeout: "150 millis", attemptTimeout: false })
      const api = SturdyClient.makeWith(yield* HttpClient.HttpClient, { baseUrl: server.url, policy })
      const { elapsed, exit } = yield* timed(
        api.get("/hang").pipe(
          Effect.uninterruptible,
          Effect.disconnect,
          Effect.timeoutFail({ duration: "2 seconds", onTimeout: () => "hung" as const })
        )
      )
      const failure = failureOf(exit)
      expect(failure).toBeInstanceOf(HttpFailure.Timeout)
      expect(failure instanceof HttpFailure.Timeout && failure.phase).toBe("Deadline")
      expect(elapsed).toBeGreaterThanOrEqual(140)
      expect(elapsed).toBeLessThan(1500)
      yield* server.awaitIdle.pipe(Effect.timeout("2 seconds"))
      expect((yield* server.requests).map((r) => r.aborted)).toEqual([true])
    }).pipe(Effect.provide(sturdy)))
})

describe("policy over a transport that ignores interruption (its canceler waits for the response)", () => {
  // A node:http client that ignores the abort signal: on interruption it waits for the whole response to arrive.
  const stubborn = (log: Array<string>) =>
    HttpClient.make((request, url) =>
      Effect.async<HttpClientResponse.HttpClientResponse, HttpClientError.RequestError>((resume) => {
        const sent = Http.get(url, (res) => {
          const chunks: Array<Buffer> = []
          res.on("data", (chunk: Buffer) => chunks.push(chunk))
          res.on("end", () => {
            log.push("response ended")
            const headers = new Headers()
            for (const [name, value] of Object.entries(res.headers)) {
              if (typeof value === "string") headers.set(name, value)
            }
            resume(Effect.succeed(HttpClientResponse.fromWeb(
              request,
              new Response(Buffer.concat(chunks), { status: res.statusCode ?? 500, headers })
            )))
          })
        })
        sent.on(
          "error",
          (cause) => resume(Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause })))
        )
        return Effect.async<void>((done) => {
          log.push("interrupted")
          sent.on("close", () => done(Effect.void))
        })
      })
    )

  it.scopedLive("the caller gets Timeout at the 100 ms attempt timeout, not when the 1 s answer arrives; counted once", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const server = yield* FaultServer.make(FaultScript.routes({
        "GET /users/1": FaultScript.withLatency(FaultScript.json(ada), "1 second")
      }))
      const policy = yield* Policy.make({ ...options, retry: false })
      const api = SturdyClient.makeWith(stubborn(log), { baseUrl: server.url, policy })
      const events: Array<string> = []
      const { elapsed, exit } = yield* timed(api.get("/users/1", {
        schema: User,
        onEvent: (event) => Effect.sync(() => events.push(event._tag))
      }))
      const failure = failureOf(exit)
      expect(failure instanceof HttpFailure.Timeout && failure.phase).toBe("Attempt")
      expect(elapsed).toBeGreaterThanOrEqual(90)
      expect(elapsed).toBeLessThan(700)
      expect(log).toEqual(["interrupted"])
      // the abandoned request goes on in the background until the server answers; nothing more is reported
      yield* server.awaitIdle.pipe(Effect.timeout("3 seconds"))
      yield* Effect.sleep("50 millis")
      expect(log).toEqual(["interrupted", "response ended"])
      expect(events).toEqual(["AttemptStarted", "AttemptEnded"])
      expect((yield* server.requests).length).toBe(1)
    }))
})
