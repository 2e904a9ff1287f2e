import {
  HttpApi,
  HttpApiClient,
  HttpApiEndpoint,
  HttpApiGroup,
  HttpBody,
  HttpClient,
  HttpClientError,
  HttpClientRequest,
  HttpClientResponse
} from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Auth, HttpFailure, Idempotency, Policy, SturdyClient, Telemetry } from "@sturdy/http"
import type * as Bulkhead from "@sturdy/policy/Bulkhead"
import * as BulkheadStore from "@sturdy/policy/BulkheadStore"
import * as Deadline from "@sturdy/policy/Deadline"
import * as RetryBudget from "@sturdy/policy/RetryBudget"
import { FaultScript, ScriptedClient, TestTracer } from "@sturdy/testing"
import {
  Cause,
  Chunk,
  Clock,
  ConfigProvider,
  Data,
  Deferred,
  Duration,
  Effect,
  Either,
  Exit,
  FastCheck,
  Fiber,
  Layer,
  Logger,
  LogLevel,
  Metric,
  Option,
  Random,
  Redacted,
  Schedule,
  Schema,
  type Scope,
  Stream,
  Supervisor,
  TestClock
} from "effect"
import { Readable } from "node:stream"
import * as stages from "../src/internal/policyStages.js"
import { fakeClient, jsonResponse, systemError } from "./utils/fakeTransport.js"

const User = Schema.Struct({ id: Schema.Number, name: Schema.String })
const ada = { id: 1, name: "Ada" }
const base = "http://api.test"

// small delays so that virtual time stays readable; every test below sets what it relies on
const quick: Policy.Options = {
  totalTimeout: "30 seconds",
  attemptTimeout: "10 seconds",
  retry: { baseDelay: "100 millis", maxDelay: "1 second", budget: false },
  circuitBreaker: false
}

interface Harness {
  readonly api: SturdyClient.SturdyClient
  readonly policy: Policy.Policy
  readonly scripted: ScriptedClient.ScriptedClient
}

const harness = (
  routes: Parameters<typeof FaultScript.routes>[0],
  options: Policy.Options = quick
): Effect.Effect<Harness, Policy.InvalidPolicy, Scope.Scope> =>
  Effect.gen(function*() {
    const scripted = yield* ScriptedClient.make(FaultScript.routes(routes))
    const policy = yield* Policy.make(options)
    const api = SturdyClient.makeWith(scripted.client, { baseUrl: base, policy })
    return { api, policy, scripted }
  })

// Runs `effect` on the TestClock with seeded randomness, advancing virtual time until it is done.
/**
 * A POST through `quick` on a client whose first call fails with a transport `RequestError` caused by `cause` (marked
 * with `mark`, as a transport marks a request it never wrote) and whose next calls answer `ada`: the exit, and the
 * number of calls the client saw.
 */
const postAfterOneFailure = (cause: unknown, mark: HttpFailure.RequestSentMark | {} = {}) =>
  Effect.gen(function*() {
    let calls = 0
    const client = HttpClient.make((request) => {
      calls++
      return calls === 1
        ? Effect.fail(Object.assign(new HttpClientError.RequestError({ request, reason: "Transport", cause }), mark))
        : Effect.succeed(HttpClientResponse.fromWeb(request, Response.json(ada)))
    })
    const exit = yield* Effect.scoped(Effect.gen(function*() {
      const api = SturdyClient.makeWith(client, { baseUrl: base, policy: yield* Policy.make(quick) })
      return yield* runVirtual(api.post("/orders", { schema: User }))
    }))
    return { exit, calls }
  })

const runVirtual = <A, E, R>(effect: Effect.Effect<A, E, R>, advance: Duration.DurationInput = "1 hour") =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(Effect.withRandom(effect, Random.make(42)))
    yield* TestClock.adjust(advance)
    return yield* Fiber.await(fiber)
  })

/** A 413 built by hand, with the given headers. */
const tooLarge = (headers: Record<string, string>) =>
  new HttpFailure.ClientError({
    method: "PUT",
    url: "https://x.test/",
    status: 413,
    headers,
    bodyExcerpt: "",
    payload: Option.none()
  })

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure, got a success")
  const failure = Cause.failureOption(exit.cause)
  if (Option.isNone(failure)) throw new Error(`expected a typed failure, got ${Cause.pretty(exit.cause)}`)
  return failure.value
}

const arrivals = (scripted: ScriptedClient.ScriptedClient) =>
  Effect.map(scripted.requests, (requests) => requests.map((r) => r.arrivedAt))

describe("Policy", () => {
  describe("which failures retry", () => {
    it.scoped("503, 503, 200: three requests and the decoded body", () =>
      Effect.gen(function*() {
        const { api, scripted } = yield* harness({
          "GET /users/1": FaultScript.sequence(FaultScript.status(503), FaultScript.status(503), FaultScript.json(ada))
        })
        const exit = yield* runVirtual(api.get("/users/1", { schema: User }))
        expect(exit).toEqual(Exit.succeed(ada))
        expect((yield* scripted.requests).length).toBe(3)
      }))

    it.scoped("a body read once (Stream, Readable, ReadableStream, async iterable) is never retried nor hedged", () =>
      Effect.gen(function*() {
        const oneShot: ReadonlyArray<() => HttpBody.HttpBody> = [
          () => HttpBody.stream(Stream.make(new TextEncoder().encode("abcdef"))),
          () => HttpBody.raw(Readable.from([Buffer.from("abcdef")])),
          () => HttpBody.raw(new ReadableStream({ start: (controller) => controller.close() })),
          () => HttpBody.raw({ async *[Symbol.asyncIterator]() {} }),
          () =>
            HttpBody.raw((function*() {
              yield new TextEncoder().encode("abcdef")
            })())
        ]
        const hedged: Policy.Options = { ...quick, hedging: { delay: "100 millis", maxHedges: 2 } }
        for (const options of [quick, hedged]) {
          for (const body of oneShot) {
            const { policy, scripted } = yield* harness({ "PUT /files/1": FaultScript.status(503) }, options)
            const request = HttpClientRequest.put(`${base}/files/1`).pipe(HttpClientRequest.setBody(body()))
            const exit = yield* runVirtual(
              Policy.send(scripted.client, request).pipe(Effect.provideService(Policy.Policy, policy))
            )
            expect(failureOf(exit)).toMatchObject({ _tag: "ServerError", status: 503, attempts: 1 })
            expect((yield* scripted.requests).length).toBe(1)
          }
        }
        // the same PUT with its bytes in memory is retried
        const { policy, scripted } = yield* harness({ "PUT /files/1": FaultScript.status(503) })
        const request = HttpClientRequest.put(`${base}/files/1`).pipe(HttpClientRequest.bodyText("abcdef"))
        yield* runVirtual(Policy.send(scripted.client, request).pipe(Effect.provideService(Policy.Policy, policy)))
        expect((yield* scripted.requests).length).toBeGreaterThan(1)
      }))

    it("attemptsOf answers a RetryBudgetExhausted's attempts", () => {
      const failure = new RetryBudget.RetryBudgetExhausted({ key: "api", attempts: 2, failure: tooLarge({}) })
      expect(Policy.attemptsOf(failure)).toBe(2)
    })

    it("isRetryableByDefault: a 413 only with a Retry-After that parses, also on a failure built by hand", () => {
      expect(Policy.isRetryableByDefault(tooLarge({ "retry-after": "5" }))).toBe(true)
      expect(Policy.isRetryableByDefault(tooLarge({ "retry-after": "Wed, 21 Oct 2015 07:28:00 GMT" }))).toBe(true)
      expect(Policy.isRetryableByDefault(tooLarge({ "retry-after": "soon" }))).toBe(false)
      expect(Policy.isRetryableByDefault(tooLarge({}))).toBe(false)
    })

    it.scoped("POST answered 503 is not repeated: one request, the ServerError", () =>
      Effect.gen(function*() {
        const { api, scripted } = yield* harness({ "POST /orders": FaultScript.status(503) })
        const failure = failureOf(yield* runVirtual(api.post("/orders", { body: { sku: "A" } })))
        expect(failure._tag).toBe("ServerError")
        expect((yield* scripted.requests).length).toBe(1)
      }))

    it.scoped("POST with a generated Idempotency-Key is retried with the same key every time", () =>
      Effect.gen(function*() {
        const { api, scripted } = yield* harness(
          {
            "POST /orders": FaultScript.sequence(
              FaultScript.status(503),
              FaultScript.status(503),
              FaultScript.json(ada)
            )
          },
          { ...quick, retry: { baseDelay: "100 millis", budget: false, idempotencyKey: true } }
        )
        expect(yield* runVirtual(api.post("/orders", { body: { sku: "A" }, schema: User }))).toEqual(Exit.succeed(ada))
        const keys = (yield* scripted.requests).map((r) => r.idempotencyKey)
        expect(keys.length).toBe(3)
        expect(keys[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
        expect(new Set(keys).size).toBe(1)
      }))

    it.scoped("each logical POST gets its own key; a key the caller sent is kept", () =>
      Effect.gen(function*() {
        const { api, scripted } = yield* harness(
          { "POST /orders": FaultScript.json(ada) },
          { ...quick, retry: { idempotencyKey: true, budget: false } }
        )
        yield* runVirtual(api.post("/orders"))
        yield* runVirtual(api.post("/orders"))
        yield* runVirtual(api.post("/orders", { headers: { "Idempotency-Key": "mine" } }))
        const keys = (yield* scripted.requests).map((r) => r.idempotencyKey)
        expect(keys[0]).not.toBe(keys[1])
        expect(keys[2]).toBe("mine")
      }))

    it.scoped("PATCH with a caller's Idempotency-Key is retried", () =>
      Effect.gen(function*() {
        const { api, scripted } = yield* harness({
          "PATCH /users/1": FaultScript.sequence(FaultScript.status(502), FaultScript.json(ada))
        })
        const exit = yield* runVirtual(api.patch("/users/1", { headers: { "idempotency-key": "k-1" }, schema: User }))
        expect(exit).toEqual(Exit.succeed(ada))
        expect((yield* scripted.requests).map((r) => r.idempotencyKey)).toEqual(["k-1", "k-1"])
      }))

    it.scoped("PUT and DELETE retry; a reset before the headers is retried for GET but not for POST", () =>
      Effect.gen(function*() {
        const { api, scripted } = yield* harness({
          "PUT /a": FaultScript.sequence(FaultScript.status(500), FaultScript.status(204)),
          "DELETE /a": FaultScript.sequence(FaultScript.status(504), FaultScript.status(204)),
          "GET /b": FaultScript.sequence(FaultScript.reset("beforeHeaders"), FaultScript.json(ada)),
          "POST /b": FaultScript.sequence(FaultScript.reset("beforeHeaders"), FaultScript.json(ada))
        })
        expect(Exit.isSuccess(yield* runVirtual(api.put("/a")))).toBe(true)
        expect(Exit.isSuccess(yield* runVirtual(api.del("/a")))).toBe(true)
        expect(Exit.isSuccess(yield* runVirtual(api.get("/b")))).toBe(true)
        const failure = failureOf(yield* runVirtual(api.post("/b")))
        expect(failure._tag === "ConnectionError" && failure.reason).toBe("Reset")
        const routes = (yield* scripted.requests).map((r) => r.route)
        expect(routes).toEqual(["PUT /a", "PUT /a", "DELETE /a", "DELETE /a", "GET /b", "GET /b", "POST /b"])
      }))

    it.effect("a refused connection is retried even for POST", () =>
      Effect.gen(function*() {
        const { calls, exit } = yield* postAfterOneFailure(
          Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" })
        )
        expect(exit).toEqual(Exit.succeed(ada))
        expect(calls).toBe(2)
      }))

    it.effect("a timeout or reset the transport says was never written (requestSent: false) is retried even for POST", () =>
      Effect.gen(function*() {
        // a transport that enforces the limit itself, as @sturdy/node's does, marks the request's error
        const causes: ReadonlyArray<unknown> = [
          new Deadline.DeadlineExceeded({ reason: "Attempt", timeout: Duration.seconds(1) }),
          Object.assign(new Error("Client network socket disconnected before secure TLS connection was established"), {
            code: "ECONNRESET"
          })
        ]
        for (const cause of causes) {
          const { calls, exit } = yield* postAfterOneFailure(cause, { requestSent: false })
          expect(exit).toEqual(Exit.succeed(ada))
          expect(calls).toBe(2)
        }
        // unmarked, the same failures may have reached the server: a POST is not repeated
        for (const cause of causes) {
          const { calls, exit } = yield* postAfterOneFailure(cause)
          const failure = failureOf(exit)
          expect(HttpFailure.isHttpFailure(failure) && HttpFailure.mayHaveReachedServer(failure)).toBe(true)
          expect(calls).toBe(1)
        }
      }))

    it.scoped("never retries 4xx (but 408, 429), decode or schema failures", () =>
      Effect.gen(function*() {
        const { api, scripted } = yield* harness({
          "GET /404": FaultScript.status(404),
          "GET /409": FaultScript.status(409),
          "GET /413": FaultScript.status(413),
          "GET /bad-json": FaultScript.malformedJson(),
          "GET /mismatch": FaultScript.json({ id: "one" }),
          "GET /408": FaultScript.sequence(FaultScript.status(408), FaultScript.json(ada)),
          "GET /429": FaultScript.sequence(FaultScript.status(429), FaultScript.json(ada))
        })
        const tags: Array<string> = []
        for (const path of ["/404", "/409", "/413", "/bad-json", "/mismatch"]) {
          tags.push(failureOf(yield* runVirtual(api.get(path, { schema: User })))._tag)
        }
        expect(tags).toEqual(["ClientError", "ClientError", "ClientError", "InvalidJson", "SchemaMismatch"])
        expect(yield* runVirtual(api.get("/408", { schema: User }))).toEqual(Exit.succeed(ada))
        expect(yield* runVirtual(api.get("/429", { schema: User }))).toEqual(Exit.succeed(ada))
        expect((yield* scripted.requests).length).toBe(5 + 2 + 2)
      }))

    it.scoped("413 is retried only when the server sent Retry-After, after that wait", () =>
      Effect.gen(function*() {
        const { api, scripted } = yield* harness({
          "PUT /upload": FaultScript.sequence(FaultScript.status(413, { retryAfter: 3 }), FaultScript.status(201))
        })
        expect(Exit.isSuccess(yield* runVirtual(api.put("/upload")))).toBe(true)
        const [first, second] = yield* arrivals(scripted)
        expect(second - first).toBeGreaterThanOrEqual(3000)
      }))

    it.scoped("413 with Retry-After is retried after that wait inside a caller's span too (with telemetry on or off)", () =>
      Effect.gen(function*() {
        for (const telemetry of [false, true]) {
          const scripted = yield* ScriptedClient.make(FaultScript.routes({
            "PUT /upload": FaultScript.sequence(FaultScript.status(413, { retryAfter: 3 }), FaultScript.status(201))
          }))
          const api = SturdyClient.makeWith(scripted.client, {
            baseUrl: base,
            policy: yield* Policy.make({ ...quick, telemetry })
          })
          // Effect hands a failure raised under a span on as a proxy of it: the wait read from the headers must
          // still reach the retry
          const exit = yield* runVirtual(Effect.withSpan(api.put("/upload"), "caller"))
          expect(Exit.isSuccess(exit)).toBe(true)
          const [first, second] = yield* arrivals(scripted)
          expect(second - first).toBeGreaterThanOrEqual(3000)
        }
      }))

    it.scoped("a 413 whose server sent Retry-After but x-should-retry: false is not retried: the server's word wins", () =>
      Effect.gen(function*() {
        const { api, scripted } = yield* harness({
          "PUT /upload": FaultScript.sequence(
            FaultScript.status(413, { retryAfter: 3, headers: { "x-should-retry": "false" } }),
            FaultScript.status(201)
          )
        })
        const failure = failureOf(yield* runVirtual(api.put("/upload")))
        expect(failure._tag === "ClientError" && failure.status).toBe(413)
        expect((yield* scripted.requests).length).toBe(1)
      }))

    it.scoped("a predicate by tag overrides the default", () =>
      Effect.gen(function*() {
        const { api, scripted } = yield* harness({
          "GET /conflict": FaultScript.sequence(FaultScript.status(409), FaultScript.json(ada)),
          "GET /down": FaultScript.sequence(FaultScript.status(503), FaultScript.json(ada))
        }, {
          ...quick,
          retry: {
            baseDelay: "100 millis",
            budget: false,
            retryOn: { ClientError: (e) => e.status === 409, ServerError: false }
          }
        })
        expect(yield* runVirtual(api.get("/conflict", { schema: User }))).toEqual(Exit.succeed(ada))
        expect(failureOf(yield* runVirtual(api.get("/down")))._tag).toBe("ServerError")
        expect((yield* scripted.requests).length).toBe(3)
      }))

    it.scoped("a plain predicate replaces the default, but never makes an unsafe request repeat", () =>
      Effect.gen(function*() {
        const { api, scripted } = yield* harness({
          "GET /x": FaultScript.sequence(FaultScript.status(404), FaultScript.json(ada)),
          "POST /x": FaultScript.sequence(FaultScript.status(404), FaultScript.json(ada))
        }, { ...quick, retry: { baseDelay: "100 millis", budget: false, retryOn: () => true } })
        expect(Exit.isSuccess(yield* runVirtual(api.get("/x")))).toBe(true)
        expect(failureOf(yield* runVirtual(api.post("/x")))._tag).toBe("ClientError")
        expect((yield* scripted.requests).length).toBe(3)
      }))

    it.scoped("gives up after maxAttempts with the last failure", () =>
      Effect.gen(function*() {
        const { api, scripted } = yield* harness({ "GET /down": FaultScript.status(503) }, {
          ...quick,
          retry: { maxAttempts: 5, baseDelay: "10 millis", budget: false }
        })
        const failure = failureOf(yield* runVirtual(api.get("/down")))
        expect(failure._tag === "ServerError" && failure.status).toBe(503)
        expect((yield* scripted.requests).length).toBe(5)
      }))
  })

  describe("the happy path", () => {
    class Forks extends Supervisor.AbstractSupervisor<number> {
      started = 0
      get value() {
        return Effect.sync(() => this.started)
      }
      override onStart() {
        this.started++
      }
    }
    const forksOf = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      Effect.suspend(() => {
        const forks = new Forks()
        return Effect.zipRight(Effect.supervised(effect, forks), forks.value)
      })

    it.scoped("forks only what one timeout forks, and nothing when no time limit is set", () =>
      Effect.gen(function*() {
        const request = HttpClientRequest.get(`${base}/x`)
        const ok = () => Effect.succeed(ada)
        const oneTimer = yield* forksOf(Effect.timeout(Effect.succeed(ada), "10 seconds"))
        const standard = yield* Policy.make()
        const forks = yield* forksOf(standard.run(request, ok))
        expect(forks).toBeGreaterThan(0)
        expect(forks).toBeLessThanOrEqual(oneTimer)
        const untimed = yield* Policy.make({ totalTimeout: false, attemptTimeout: false })
        expect(yield* forksOf(untimed.run(request, ok))).toBe(0)
        // the retry budget saw the call, the breaker its success; no retry was withdrawn
        expect(yield* standard.budget.stats(Policy.upstreamKey(request))).toMatchObject({ requests: 1, retries: 0 })
      }))
  })

  describe("observability", () => {
    it.scoped("each retry decision is a debug log line and a span annotation", () =>
      Effect.gen(function*() {
        const { api } = yield* harness({
          "GET /x": FaultScript.sequence(FaultScript.status(503), FaultScript.status(500), FaultScript.json(ada))
        })
        const lines: Array<string> = []
        const logger = Logger.make(({ message }) => {
          lines.push(Array.isArray(message) ? message.join(" ") : String(message))
        })
        const exit = yield* runVirtual(
          api.get("/x").pipe(
            Effect.zipRight(Effect.currentSpan),
            Effect.withSpan("checkout"),
            Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
            Logger.withMinimumLogLevel(LogLevel.Debug)
          )
        )
        expect(lines.filter((line) => line.startsWith("retrying: attempt"))).toEqual([
          expect.stringMatching(/^retrying: attempt 2 after .* \(backoff\)$/),
          expect.stringMatching(/^retrying: attempt 3 after .* \(backoff\)$/)
        ])
        expect(Exit.isSuccess(exit) && exit.value.attributes.get("retry.attempts")).toBe(3)
      }))
  })

  describe("server waits", () => {
    it.scoped("Retry-After is the minimum wait, plus at most 10 % jitter", () =>
      Effect.gen(function*() {
        const { api, scripted } = yield* harness({
          "GET /limited": FaultScript.sequence(FaultScript.status(429, { retryAfter: 2 }), FaultScript.json(ada))
        })
        expect(yield* runVirtual(api.get("/limited", { schema: User }))).toEqual(Exit.succeed(ada))
        const [first, second] = yield* arrivals(scripted)
        expect(second - first).toBeGreaterThanOrEqual(2000)
        expect(second - first).toBeLessThanOrEqual(2200)
      }))

    it.scoped("the RateLimit headers are honoured like Retry-After", () =>
      Effect.gen(function*() {
        const { api, scripted } = yield* harness({
          "GET /limited": FaultScript.sequence(
            FaultScript.status(429, { rateLimit: { limit: 10, remaining: 0, reset: 4 } }),
            FaultScript.json(ada)
          )
        })
        expect(yield* runVirtual(api.get("/limited", { schema: User }))).toEqual(Exit.succeed(ada))
        const [first, second] = yield* arrivals(scripted)
        expect(second - first).toBeGreaterThanOrEqual(4000)
      }))

    it.scoped("a wait beyond maxRetryAfter fails at once with the RateLimited failure", () =>
      Effect.gen(function*() {
        const { api, scripted } = yield* harness({ "GET /limited": FaultScript.status(429, { retryAfter: 3600 }) })
        const started = yield* TestClock.currentTimeMillis
        const fiber = yield* Effect.fork(api.get("/limited"))
        yield* TestClock.adjust("1 millis")
        const failure = failureOf(yield* Fiber.await(fiber))
        expect(failure._tag).toBe("RateLimited")
        expect(failure._tag === "RateLimited" && Option.map(failure.retryAfter, Duration.toSeconds)).toEqual(
          Option.some(3600)
        )
        expect((yield* scripted.requests).length).toBe(1)
        expect((yield* TestClock.currentTimeMillis) - started).toBeLessThanOrEqual(1)
      }))

    it.scoped("a wait beyond the deadline fails at once with the RateLimited failure", () =>
      Effect.gen(function*() {
        const { api, scripted } = yield* harness({ "GET /limited": FaultScript.status(503, { retryAfter: 20 }) }, {
          ...quick,
          totalTimeout: "5 seconds",
          attemptTimeout: "1 second"
        })
        const fiber = yield* Effect.fork(api.get("/limited"))
        yield* TestClock.adjust("1 millis")
        const failure = failureOf(yield* Fiber.await(fiber))
        expect(failure._tag === "ServerError" && failure.status).toBe(503)
        expect((yield* scripted.requests).length).toBe(1)
      }))

    it.scoped("a 429 with Retry-After pauses every caller of that upstream until then", () =>
      Effect.gen(function*() {
        const { api, policy, scripted } = yield* harness({
          "GET /a": FaultScript.status(429, { retryAfter: 2 }),
          "GET /b": FaultScript.json(ada)
        }, { ...quick, retry: false })
        expect(failureOf(yield* runVirtual(api.get("/a"), "1 millis"))._tag).toBe("RateLimited")
        const pausedAt = yield* TestClock.currentTimeMillis
        // another upstream is not paused
        const other = SturdyClient.makeWith(scripted.client, { baseUrl: "http://other.test", policy })
        expect(yield* runVirtual(other.get("/b", { schema: User }), "1 millis")).toEqual(Exit.succeed(ada))
        expect(yield* runVirtual(api.get("/b", { schema: User }))).toEqual(Exit.succeed(ada))
        const requests = yield* scripted.requests
        expect(requests.map((r) => r.route)).toEqual(["GET /a", "GET /b", "GET /b"])
        expect(requests[1].arrivedAt - pausedAt).toBeLessThan(10)
        expect(requests[2].arrivedAt - pausedAt).toBeGreaterThanOrEqual(1999)
      }))

    it.scoped("a pause asked for after a call started holds its retries and a call queued in the bulkhead", () =>
      Effect.gen(function*() {
        const retry = {
          maxAttempts: 2,
          baseDelay: "100 millis",
          maxDelay: "100 millis",
          jitter: "none",
          budget: false
        } as const
        const arrivals = (scripted: ScriptedClient.ScriptedClient, route: string) =>
          Effect.map(scripted.requests, (requests) => requests.filter((r) => r.route === route).map((r) => r.arrivedAt))
        // a retry: /flaky fails at once and would retry 100 ms later, but /limited's 429 (2 s) comes in between
        const first = yield* harness({
          "GET /limited": FaultScript.status(429, { retryAfter: 2 }),
          "GET /flaky": FaultScript.sequence(FaultScript.status(500), FaultScript.json(ada))
        }, { ...quick, retry })
        const flaky = yield* Effect.fork(first.api.get("/flaky", { schema: User }))
        yield* TestClock.adjust("1 millis")
        const limited = yield* Effect.fork(Effect.exit(first.api.get("/limited")))
        yield* TestClock.adjust("3 seconds")
        expect(yield* Fiber.join(flaky)).toEqual(ada)
        yield* Fiber.join(limited)
        const [limitedAt] = yield* arrivals(first.scripted, "GET /limited")
        const flakyAt = yield* arrivals(first.scripted, "GET /flaky")
        expect(flakyAt).toHaveLength(2)
        expect(flakyAt[1]! - limitedAt!).toBeGreaterThanOrEqual(2000)
        // a call queued in the bulkhead: /limited gets the permit before it, and its 429 comes while /queued waits
        const second = yield* harness({
          "GET /slow": FaultScript.withLatency(FaultScript.json(ada), "500 millis"),
          "GET /limited": FaultScript.status(429, { retryAfter: 2 }),
          "GET /queued": FaultScript.json(ada)
        }, { ...quick, retry: false, bulkhead: { maxConcurrent: 1, maxQueued: 5 } })
        const slow = yield* Effect.fork(second.api.get("/slow", { schema: User }))
        yield* TestClock.adjust("1 millis")
        const limitedAgain = yield* Effect.fork(Effect.exit(second.api.get("/limited")))
        yield* TestClock.adjust("1 millis")
        const queued = yield* Effect.fork(second.api.get("/queued", { schema: User }))
        yield* TestClock.adjust("3 seconds")
        expect(yield* Fiber.join(slow)).toEqual(ada)
        expect(yield* Fiber.join(queued)).toEqual(ada)
        yield* Fiber.join(limitedAgain)
        const [pausedAt] = yield* arrivals(second.scripted, "GET /limited")
        const [queuedAt] = yield* arrivals(second.scripted, "GET /queued")
        expect(pausedAt).toBeGreaterThanOrEqual(500)
        expect(queuedAt! - pausedAt!).toBeGreaterThanOrEqual(2000)
      }))

    it.scoped("a pause longer than the caller could wait fails at once with RateLimitExceeded", () =>
      Effect.gen(function*() {
        const { api, scripted } = yield* harness({
          "GET /a": FaultScript.status(503, { retryAfter: 600 }),
          "GET /b": FaultScript.json(ada)
        }, { ...quick, retry: false })
        yield* runVirtual(api.get("/a"), "1 millis")
        const failure = failureOf(yield* runVirtual(api.get("/b"), "1 millis"))
        expect(failure._tag).toBe("RateLimitExceeded")
        expect(failure._tag === "RateLimitExceeded" && failure.reason).toBe("Paused")
        expect((yield* scripted.requests).length).toBe(1)
      }))

    it.scoped("a pause lasts at most maxRetryAfter, however long the server asked: then a call probes, and pauses again", () =>
      Effect.gen(function*() {
        const { api, scripted } = yield* harness({
          "GET /search": FaultScript.status(429, { retryAfter: 86_400 }),
          "GET /users/1": FaultScript.json(ada)
        }, { ...quick, retry: { ...(quick.retry as Policy.RetryOptions), maxRetryAfter: "10 seconds" } })
        for (let round = 0; round < 2; round++) {
          // told to wait a day, the call gives up at once, and so do the calls of the key for the next 10 s
          expect(failureOf(yield* runVirtual(api.get("/search"), "1 millis"))._tag).toBe("RateLimited")
          const paused = failureOf(yield* runVirtual(api.get("/users/1"), "1 millis"))
          expect(paused._tag === "RateLimitExceeded" && paused.reason).toBe("Paused")
          expect(paused._tag === "RateLimitExceeded" && Duration.toMillis(paused.retryAfter)).toBe(9999)
          yield* TestClock.adjust("9998 millis")
          // not a day: the first call after the pause kept goes out
          expect(yield* runVirtual(api.get("/users/1", { schema: User }), "1 millis")).toEqual(Exit.succeed(ada))
        }
        const requests = yield* scripted.requests
        expect(requests.map((r) => r.route)).toEqual(["GET /search", "GET /users/1", "GET /search", "GET /users/1"])
        expect(requests[1].arrivedAt - requests[0].arrivedAt).toBe(10_000)
        expect(requests[3].arrivedAt - requests[2].arrivedAt).toBe(10_000)
      }))

    it.scoped("a server's wait that fits is waited out by the calls after it, up to maxRetryAfter", () =>
      Effect.gen(function*() {
        const { api, scripted } = yield* harness({
          "GET /a": FaultScript.status(429, { retryAfter: 8 }),
          "GET /b": FaultScript.json(ada)
        }, {
          ...quick,
          retry: { ...(quick.retry as Policy.RetryOptions), maxAttempts: 1, maxRetryAfter: "10 seconds" }
        })
        expect(failureOf(yield* runVirtual(api.get("/a"), "1 millis"))._tag).toBe("RateLimited")
        expect(yield* runVirtual(api.get("/b", { schema: User }))).toEqual(Exit.succeed(ada))
        const [first, second] = yield* arrivals(scripted)
        expect(second - first).toBe(8000)
      }))

    it.scoped("a call that waits out a pause still ends by its totalTimeout: the pause counts against it", () =>
      Effect.gen(function*() {
        const { api, scripted } = yield* harness({
          "GET /a": FaultScript.status(503, { retryAfter: 20 }),
          "GET /slow": FaultScript.hang
        }, { ...quick, totalTimeout: "30 seconds", attemptTimeout: "30 seconds", retry: false })
        yield* runVirtual(api.get("/a"), "1 millis")
        const started = yield* TestClock.currentTimeMillis
        const fiber = yield* Effect.fork(api.get("/slow"))
        yield* TestClock.adjust("29999 millis")
        expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
        yield* TestClock.adjust("1 millis")
        const failure = failureOf(yield* Fiber.await(fiber))
        expect(failure._tag === "Timeout" && failure.phase).toBe("Deadline")
        expect(failure._tag === "Timeout" && Duration.toMillis(failure.timeout)).toBe(30_000)
        // sent once the pause was over, 19.999 s in
        expect((yield* arrivals(scripted))[1] - started).toBe(19_999)
      }))

    it.scoped("a pause that would use up the deadline fails at once with RateLimitExceeded", () =>
      Effect.gen(function*() {
        const { api, scripted } = yield* harness({
          "GET /a": FaultScript.status(503, { retryAfter: 20 }),
          "GET /b": FaultScript.json(ada)
        }, { ...quick, totalTimeout: "20 seconds", attemptTimeout: "5 seconds", retry: false })
        expect(failureOf(yield* Effect.exit(api.get("/a")))._tag).toBe("ServerError")
        const failure = failureOf(yield* Effect.exit(api.get("/b")))
        expect(failure._tag === "RateLimitExceeded" && failure.reason).toBe("Paused")
        expect((yield* scripted.requests).length).toBe(1)
        expect(yield* TestClock.currentTimeMillis).toBe(0)
      }))
  })

  describe("deadlines", () => {
    it.scoped("the attempt timeout covers the whole attempt and is retried as Timeout(Attempt)", () =>
      Effect.gen(function*() {
        const { api, scripted } = yield* harness({
          "GET /slow": FaultScript.sequence(
            FaultScript.withSlowBody(FaultScript.json({ ...ada, padding: "x".repeat(40) }), 10),
            FaultScript.json(ada)
          )
        }, { ...quick, attemptTimeout: "1 second", totalTimeout: "10 seconds" })
        const exit = yield* runVirtual(api.get("/slow", { schema: User }))
        expect(exit).toEqual(Exit.succeed(ada))
        expect((yield* scripted.requests).length).toBe(2)
      }))

    it.scoped("an attempt that times out fails with Timeout(Attempt) when no retry is left", () =>
      Effect.gen(function*() {
        const { api } = yield* harness({ "GET /hang": FaultScript.hang }, {
          ...quick,
          attemptTimeout: "1 second",
          retry: false
        })
        const failure = failureOf(yield* runVirtual(api.get("/hang")))
        expect(failure._tag === "Timeout" && failure.phase).toBe("Attempt")
        expect(failure._tag === "Timeout" && Duration.toMillis(failure.timeout)).toBe(1000)
      }))

    it.scoped("the total deadline ends the logical call with Timeout(Deadline)", () =>
      Effect.gen(function*() {
        const { api, scripted } = yield* harness({ "GET /hang": FaultScript.hang }, {
          ...quick,
          totalTimeout: "3 seconds",
          attemptTimeout: "2 seconds",
          retry: { maxAttempts: 5, baseDelay: "10 millis", budget: false }
        })
        const started = yield* TestClock.currentTimeMillis
        const failure = failureOf(yield* runVirtual(api.get("/hang")))
        expect(failure._tag === "Timeout" && failure.phase).toBe("Deadline")
        expect(failure.message).toContain("GET http://api.test/hang")
        expect((yield* scripted.requests).length).toBe(2)
        expect((yield* TestClock.currentTimeMillis) - started).toBeGreaterThanOrEqual(3000)
      }))

    it.scoped("sends the time left in the deadline header", () =>
      Effect.gen(function*() {
        const { api, scripted } = yield* harness({ "GET /x": FaultScript.json(ada) }, {
          ...quick,
          totalTimeout: "5 seconds",
          attemptTimeout: "2 seconds",
          deadlineHeader: true
        })
        yield* runVirtual(api.get("/x"))
        const [request] = yield* scripted.requests
        expect(request.headers["x-request-timeout-ms"]).toBe("2000")
      }))

    it.scoped("retryCountHeader numbers each attempt by the attempts of the call sent before it", () =>
      Effect.gen(function*() {
        const { api, scripted } = yield* harness({
          "GET /x": FaultScript.sequence(
            FaultScript.status(503),
            FaultScript.reset("beforeHeaders"),
            FaultScript.json(ada)
          ),
          "GET /y": FaultScript.json(ada)
        }, { ...quick, retryCountHeader: true })
        expect(yield* runVirtual(api.get("/x", { schema: User }))).toEqual(Exit.succeed(ada))
        // a second call starts again from 0
        expect(yield* runVirtual(api.get("/y", { schema: User }))).toEqual(Exit.succeed(ada))
        const counts = (yield* scripted.requests).map((request) => request.headers["x-retry-count"])
        expect(counts).toEqual(["0", "1", "2", "0"])
      }))

    it.scoped("retryCountHeader: a name of one's own, a caller's own value kept, and hedged copies counted", () =>
      Effect.gen(function*() {
        const named = yield* harness(
          { "GET /x": FaultScript.sequence(FaultScript.status(503), FaultScript.json(ada)) },
          {
            ...quick,
            retryCountHeader: "X-Stainless-Retry-Count"
          }
        )
        yield* runVirtual(named.api.get("/x"))
        yield* runVirtual(named.api.get("/x", { headers: { "x-stainless-retry-count": "42" } }))
        expect((yield* named.scripted.requests).map((request) => request.headers["x-stainless-retry-count"]))
          .toEqual(["0", "1", "42"])

        const hedged = yield* harness({
          "GET /x": FaultScript.sequence(
            FaultScript.withLatency(FaultScript.json(ada), "5 seconds"),
            FaultScript.json(ada)
          )
        }, { ...quick, retryCountHeader: true, hedging: { delay: "100 millis" } })
        expect(yield* runVirtual(hedged.api.get("/x", { schema: User }))).toEqual(Exit.succeed(ada))
        expect((yield* hedged.scripted.requests).map((request) => request.headers["x-retry-count"]))
          .toEqual(["0", "1"])
      }))
  })

  describe("budget", () => {
    it.scoped("a refused withdrawal surfaces as RetryBudgetExhausted carrying the failure", () =>
      Effect.gen(function*() {
        const { api, scripted } = yield* harness({ "GET /down": FaultScript.status(503) }, {
          ...quick,
          retry: { baseDelay: "10 millis", budget: true }
        }).pipe(Effect.provide(RetryBudget.layer({ ratio: 0, minRetries: 0 })))
        const failure = failureOf(yield* runVirtual(api.get("/down")))
        expect(failure._tag).toBe("RetryBudgetExhausted")
        expect(failure._tag === "RetryBudgetExhausted" && failure.failure._tag).toBe("ServerError")
        expect((yield* scripted.requests).length).toBe(1)
      }))

    it.scoped("the budget is kept per upstream key (scheme, host, port)", () =>
      Effect.gen(function*() {
        const { policy, scripted } = yield* harness({ "GET /down": FaultScript.status(503) }, {
          ...quick,
          retry: { baseDelay: "10 millis", budget: true }
        })
        const api = SturdyClient.makeWith(scripted.client, { baseUrl: "https://API.test", policy })
        yield* runVirtual(api.get("/down"), "1 second")
        const stats = yield* policy.budget.stats("https://api.test:443")
        expect(stats).toMatchObject({ requests: 1, retries: 2 })
        expect(yield* policy.budget.stats("http://api.test:80")).toMatchObject({ requests: 0, retries: 0 })
      }))
  })

  describe("breaker and bulkhead", () => {
    const breaking: Policy.Options = {
      ...quick,
      retry: false,
      circuitBreaker: { consecutiveFailures: 2, breakDuration: "10 seconds" }
    }

    it.scoped("opens after counted failures; while open nothing reaches the server", () =>
      Effect.gen(function*() {
        const { api, policy, scripted } = yield* harness({ "GET /down": FaultScript.status(503) }, breaking)
        for (let i = 0; i < 2; i++) yield* runVirtual(api.get("/down"), "1 millis")
        const failure = failureOf(yield* runVirtual(api.get("/down"), "1 millis"))
        expect(failure._tag).toBe("CircuitOpen")
        expect((yield* scripted.requests).length).toBe(2)
        const breaker = Option.getOrThrow(yield* policy.circuitBreaker(HttpClientRequest.get(`${base}/down`)))
        expect(yield* breaker.state).toBe("Open")
      }))

    it.scoped("failureCountThreshold opens on that many counted failures in the window, successes between them", () =>
      Effect.gen(function*() {
        const { api, policy } = yield* harness({
          "GET /flaky": FaultScript.sequence(
            FaultScript.status(503),
            FaultScript.json(ada),
            FaultScript.status(500),
            FaultScript.json(ada),
            FaultScript.status(502),
            FaultScript.json(ada)
          )
        }, { ...quick, retry: false, circuitBreaker: { failureCountThreshold: 3, slidingWindow: "30 seconds" } })
        for (let i = 0; i < 4; i++) yield* runVirtual(api.get("/flaky"), "1 millis")
        const breaker = Option.getOrThrow(yield* policy.circuitBreaker(HttpClientRequest.get(`${base}/flaky`)))
        expect(yield* breaker.state).toBe("Closed")
        yield* runVirtual(api.get("/flaky"), "1 millis")
        expect(yield* breaker.state).toBe("Open")
        expect(failureOf(yield* runVirtual(api.get("/flaky"), "1 millis"))).toMatchObject({
          _tag: "CircuitOpen",
          reason: "FailureCount",
          failures: 3
        })
      }))

    it.scoped("4xx other than 408/429 and schema failures do not count", () =>
      Effect.gen(function*() {
        const { api, policy, scripted } = yield* harness({
          "GET /missing": FaultScript.status(404),
          "GET /mismatch": FaultScript.json({ id: "x" })
        }, breaking)
        for (let i = 0; i < 3; i++) {
          yield* runVirtual(api.get("/missing"), "1 millis")
          yield* runVirtual(api.get("/mismatch", { schema: User }), "1 millis")
        }
        expect((yield* scripted.requests).length).toBe(6)
        const breaker = Option.getOrThrow(yield* policy.circuitBreaker(HttpClientRequest.get(`${base}/x`)))
        expect(yield* breaker.state).toBe("Closed")
      }))

    it.scoped("with waitForProbe, a retry waits for the probe when it fits the deadline", () =>
      Effect.gen(function*() {
        const { api, scripted } = yield* harness({
          "GET /flaky": FaultScript.sequence(FaultScript.status(503), FaultScript.json(ada))
        }, {
          ...quick,
          retry: { maxAttempts: 3, baseDelay: "10 millis", budget: false },
          circuitBreaker: { consecutiveFailures: 1, breakDuration: "2 seconds", waitForProbe: true }
        })
        expect(yield* runVirtual(api.get("/flaky", { schema: User }))).toEqual(Exit.succeed(ada))
        const [first, second] = yield* arrivals(scripted)
        // the second request is the probe, sent once the breaker allowed it
        expect(second - first).toBeGreaterThanOrEqual(2000)
        expect((yield* scripted.requests).length).toBe(2)
      }))

    it.scoped("with waitForProbe, a retry gives up at once when the probe would come after the deadline", () =>
      Effect.gen(function*() {
        const { api, scripted } = yield* harness({ "GET /flaky": FaultScript.status(503) }, {
          ...quick,
          totalTimeout: "5 seconds",
          attemptTimeout: "1 second",
          retry: { maxAttempts: 3, baseDelay: "10 millis", budget: false },
          circuitBreaker: {
            consecutiveFailures: 1,
            breakDuration: "1 minute",
            slidingWindow: "10 seconds",
            waitForProbe: true
          }
        })
        const failure = failureOf(yield* runVirtual(api.get("/flaky"), "1 second"))
        expect(failure._tag).toBe("CircuitOpen")
        expect((yield* scripted.requests).length).toBe(1)
      }))

    it.scoped("a full bulkhead rejects at once; the rejection is neither retried nor counted", () =>
      Effect.gen(function*() {
        const { api, policy, scripted } = yield* harness({
          "GET /slow": FaultScript.withLatency(FaultScript.json(ada), "1 second")
        }, {
          ...quick,
          bulkhead: { maxConcurrent: 1 },
          circuitBreaker: { consecutiveFailures: 1, breakDuration: "10 seconds" }
        })
        const slow = yield* Effect.fork(api.get("/slow"))
        yield* TestClock.adjust("1 millis")
        const rejected = failureOf(yield* runVirtual(api.get("/slow"), "1 millis"))
        expect(rejected._tag).toBe("BulkheadRejected")
        yield* TestClock.adjust("2 seconds")
        expect(Exit.isSuccess(yield* Fiber.await(slow))).toBe(true)
        expect((yield* scripted.requests).length).toBe(1)
        const breaker = Option.getOrThrow(yield* policy.circuitBreaker(HttpClientRequest.get(`${base}/slow`)))
        expect(yield* breaker.state).toBe("Closed")
      }))
  })

  describe("client-side rate limit and hedging", () => {
    it.scoped("the rate limiter spaces calls to one upstream", () =>
      Effect.gen(function*() {
        const { api, scripted } = yield* harness({ "GET /x": FaultScript.json(ada) }, {
          ...quick,
          rateLimit: { limit: 1, window: "1 second", algorithm: "fixed-window" }
        })
        yield* runVirtual(Effect.all([api.get("/x"), api.get("/x"), api.get("/x")], { concurrency: "unbounded" }))
        const times = (yield* arrivals(scripted)).sort((a, b) => a - b)
        expect(times[2] - times[0]).toBeGreaterThanOrEqual(2000)
      }))

    it.scoped("a wait for the rate limiter counts against totalTimeout: one that cannot end in time fails at once", () =>
      Effect.gen(function*() {
        const options = (window: Duration.DurationInput): Policy.Options => ({
          ...quick,
          totalTimeout: "5 seconds",
          attemptTimeout: "1 second",
          rateLimit: { limit: 1, window, algorithm: "fixed-window" }
        })
        const long = yield* harness({ "GET /x": FaultScript.json(ada) }, options("1 minute"))
        expect(Exit.isSuccess(yield* runVirtual(long.api.get("/x"), "1 millis"))).toBe(true)
        const started = yield* TestClock.currentTimeMillis
        const refused = failureOf(yield* runVirtual(long.api.get("/x"), "1 millis"))
        expect(refused).toMatchObject({ _tag: "RateLimitExceeded", reason: "Limit" })
        expect((yield* TestClock.currentTimeMillis) - started).toBeLessThan(1000)
        expect((yield* long.scripted.requests).length).toBe(1)

        const short = yield* harness({ "GET /x": FaultScript.json(ada) }, options("2 seconds"))
        const calls = yield* runVirtual(
          Effect.all([short.api.get("/x"), short.api.get("/x")], { concurrency: "unbounded", mode: "either" })
        )
        expect(Exit.isSuccess(calls) && calls.value.every(Either.isRight)).toBe(true)
        const times = (yield* arrivals(short.scripted)).sort((a, b) => a - b)
        expect(times[1] - times[0]).toBeGreaterThanOrEqual(2000)
      }))

    it.scoped("a slow attempt is hedged and the first answer wins", () =>
      Effect.gen(function*() {
        const { api, scripted } = yield* harness({
          "GET /x": FaultScript.sequence(
            FaultScript.withLatency(FaultScript.json(ada), "5 seconds"),
            FaultScript.json(ada)
          )
        }, { ...quick, hedging: { delay: "100 millis" } })
        const started = yield* TestClock.currentTimeMillis
        const fiber = yield* Effect.fork(api.get("/x", { schema: User }))
        yield* TestClock.adjust("200 millis")
        expect(yield* Fiber.await(fiber)).toEqual(Exit.succeed(ada))
        expect((yield* TestClock.currentTimeMillis) - started).toBeLessThan(1000)
        expect((yield* scripted.requests).length).toBe(2)
      }))

    it.scoped("a failed attempt starts the next copy only when it is worth repeating without a wait", () =>
      Effect.gen(function*() {
        // the delay is long: every copy below is started by a failure, never by the timer
        const hedging = { delay: "20 seconds", maxHedges: 2 } as const
        const gone = yield* harness({ "GET /x": FaultScript.always(FaultScript.status(404)) }, { ...quick, hedging })
        const notFound = yield* runVirtual(gone.api.get("/x"))
        expect(Exit.isFailure(notFound)).toBe(true)
        expect((yield* gone.scripted.requests).length).toBe(1)

        const flaky = yield* harness({
          "GET /x": FaultScript.sequence(FaultScript.status(503), FaultScript.json(ada))
        }, { ...quick, hedging })
        const started = yield* TestClock.currentTimeMillis
        expect(yield* runVirtual(flaky.api.get("/x", { schema: User }))).toEqual(Exit.succeed(ada))
        expect((yield* arrivals(flaky.scripted)).map((at) => at - started)).toEqual([0, 0])

        // a server's wait goes to the retry stage, which waits as asked, rather than to an instant copy
        const limited = yield* harness({
          "GET /x": FaultScript.sequence(FaultScript.status(429, { retryAfter: 2 }), FaultScript.json(ada))
        }, { ...quick, hedging })
        const before = yield* TestClock.currentTimeMillis
        expect(yield* runVirtual(limited.api.get("/x", { schema: User }))).toEqual(Exit.succeed(ada))
        const [first, second] = (yield* arrivals(limited.scripted)).map((at) => at - before)
        expect(first).toBe(0)
        expect(second).toBeGreaterThanOrEqual(2000)
      }))

    // the hedging stage reads a server's wait as the retry stage does (`retry.retryAfterStatuses`): a wait the retry
    // stage would not honour does not hold the next copy back either, and one it honours does
    it.scoped("hedging takes a server's wait only where the retry stage honours it", () =>
      Effect.gen(function*() {
        const hedging = { delay: "20 seconds", maxHedges: 2 } as const
        // a 500 is not in retryAfterStatuses: its Retry-After is not a wait, so the next copy starts at once
        const unlisted = yield* harness({
          "GET /x": FaultScript.sequence(FaultScript.status(500, { retryAfter: 2 }), FaultScript.json(ada))
        }, { ...quick, hedging })
        const started = yield* TestClock.currentTimeMillis
        expect(yield* runVirtual(unlisted.api.get("/x", { schema: User }))).toEqual(Exit.succeed(ada))
        expect((yield* arrivals(unlisted.scripted)).map((at) => at - started)).toEqual([0, 0])

        // a listed 504 with a reset sent without a remaining count: the retry stage's wait, not an instant copy
        const listed = yield* harness({
          "GET /x": FaultScript.sequence(
            FaultScript.status(504, { headers: { "x-ratelimit-reset": "2" } }),
            FaultScript.json(ada)
          )
        }, { ...quick, hedging, retry: { ...quick.retry, retryAfterStatuses: [429, 503, 504] } })
        const before = yield* TestClock.currentTimeMillis
        expect(yield* runVirtual(listed.api.get("/x", { schema: User }))).toEqual(Exit.succeed(ada))
        const [first, second] = (yield* arrivals(listed.scripted)).map((at) => at - before)
        expect(first).toBe(0)
        expect(second).toBeGreaterThanOrEqual(2000)
      }))

    it.scoped("a POST without a key is never hedged", () =>
      Effect.gen(function*() {
        const { api, scripted } = yield* harness({
          "POST /x": FaultScript.withLatency(FaultScript.json(ada), "1 second")
        }, { ...quick, hedging: { delay: "100 millis" } })
        expect(Exit.isSuccess(yield* runVirtual(api.post("/x")))).toBe(true)
        expect((yield* scripted.requests).length).toBe(1)
      }))
  })

  describe("its options", () => {
    it.scoped("are a frozen copy: changing the object given to make afterwards changes neither the policy nor them", () =>
      Effect.gen(function*() {
        const statuses = [503]
        const keys: Array<string> = []
        const retry = {
          maxAttempts: 3,
          baseDelay: "100 millis" as const,
          maxDelay: "1 second" as const,
          budget: false,
          statuses
        }
        const options = {
          ...quick,
          retry,
          upstreamKey: (request: HttpClientRequest.HttpClientRequest) => {
            keys.push(request.url)
            return "one"
          }
        }
        const { api, policy, scripted } = yield* harness({ "GET /down": FaultScript.status(503) }, options)
        retry.maxAttempts = 1
        statuses.push(500)
        options.upstreamKey = () => "other"
        expect(policy.options.retry).toEqual({ ...retry, maxAttempts: 3, statuses: [503] })
        expect(Object.isFrozen(policy.options) && Object.isFrozen(policy.options.retry)).toBe(true)
        expect(Object.isFrozen((policy.options.retry as { statuses: Array<number> }).statuses)).toBe(true)
        // functions and durations are kept as given
        expect(policy.options.totalTimeout).toBe(quick.totalTimeout)
        yield* runVirtual(Effect.exit(api.get("/down")))
        expect(yield* scripted.requests).toHaveLength(3)
        expect(keys).toEqual([`${base}/down`])
        expect(policy.describe(HttpClientRequest.get(`${base}/down`)).maxAttempts).toBe(3)
      }))

    it.scoped("a cycle in the options is copied, not followed forever", () =>
      Effect.gen(function*() {
        const retry: Record<string, unknown> = { maxAttempts: 2, budget: false }
        retry.self = retry
        // copied without a hang, then refused for its key that is no option
        const failure = yield* Effect.flip(Policy.make({ ...quick, retry: retry as Policy.Options["retry"] }))
        expect(failure.problems.map((problem) => problem.field)).toEqual(["retry.self"])
      }))
  })

  describe("validation", () => {
    const fieldOf = (options: Policy.Options) => {
      const result = Policy.validate(options)
      return Either.isLeft(result) ? result.left.field : undefined
    }

    it("attempt timeout must not exceed the total deadline", () => {
      expect(fieldOf({ totalTimeout: "5 seconds", attemptTimeout: "6 seconds" })).toBe("attemptTimeout")
      const result = Policy.validate({ totalTimeout: "5 seconds", attemptTimeout: "6 seconds" })
      expect(Either.isLeft(result) && result.left._tag).toBe("InvalidPolicy")
      expect(Either.isLeft(result) && result.left.message).toContain("must not exceed totalTimeout")
    })

    it("an endpoint's own problem is reported once, where it was set; one that only a host's settings cause, there", () => {
      const fields = (options: Policy.Options) => {
        const result = Policy.validate(options)
        return Either.isLeft(result) ? result.left.problems.map((problem) => problem.field) : []
      }
      // wrong on its own: not repeated under a host that changes nothing about it
      expect(fields({
        hosts: { "h.test": { retry: { maxAttempts: 5 } } },
        endpoints: { "GET /r": { attemptTimeout: "20 seconds" } }
      })).toEqual(["endpoints[\"GET /r\"].attemptTimeout"])
      // wrong only with the host's shorter window: named under that host
      const combined = fields({
        hosts: { "h.test": { circuitBreaker: { slidingWindow: "25 seconds" } } },
        endpoints: { "GET /r": { attemptTimeout: "14 seconds" } }
      })
      expect(combined).toHaveLength(1)
      expect(combined[0]).toMatch(/^hosts\["h\.test"\]\.endpoints\["GET \/r"\]\./)
    })

    // resilience4j's builders refuse a negative duration (IntervalFunctionTest, BulkheadConfig, RateLimiterConfig):
    // Effect reads `-1` or `"-5 seconds"` as zero, which would silently mean "no wait" (or "no pause")
    it("a key that is no option of its section is refused, naming it and the option it most likely meant", () => {
      const problems = (options: unknown) => {
        const result = Policy.validate(options as Policy.Options)
        return Either.isLeft(result) ? result.left.problems.map((p) => `${p.field}: ${p.detail}`) : []
      }
      expect(problems({ retry: { maxAttemps: 5 } })).toEqual([
        "retry.maxAttemps: is not an option here (did you mean maxAttempts?)"
      ])
      expect(problems({ totaltimeout: "5 seconds", circuitBreaker: { failure_rate_threshold: 0.5 } })).toEqual([
        "totaltimeout: is not an option here (did you mean totalTimeout?)",
        "circuitBreaker.failure_rate_threshold: is not an option here (did you mean failureRateThreshold?)"
      ])
      // an option of another section, or one that endpoints do not take
      expect(problems({ bulkhead: { limit: 3 }, endpoints: { "GET /x": { circuitBreaker: false } } })).toEqual([
        "bulkhead.limit: is not an option here",
        "endpoints[\"GET /x\"].circuitBreaker: is not an option here"
      ])
      expect(problems({ hosts: { "a.test": { hosts: {} } }, hedging: { delay: "1 second", maxHedge: 1 } })).toEqual([
        "hedging.maxHedge: is not an option here (did you mean maxHedges?)",
        "hosts[\"a.test\"].hosts: is not an option here"
      ])
      expect(problems({ rateLimit: { limit: 5, window: "1 second", onExceed: "fail" } })).toEqual([
        "rateLimit.onExceed: is not an option here (did you mean onExceeded?)"
      ])
      // a key set to undefined changes nothing and is let be (a wider object spread in)
      expect(problems({ retry: { maxAttempts: 2, extra: undefined }, other: undefined })).toEqual([])
      // every documented option is taken
      expect(problems({
        totalTimeout: "5 seconds",
        attemptTimeout: "1 second",
        retry: { maxAttempts: 3, retryOn: { ServerError: true }, methods: ["GET"], statuses: [503], retryUnsent: true },
        hedging: false,
        deadlineHeader: true,
        retryCountHeader: false,
        circuitBreaker: { slidingWindow: { calls: 20 }, waitForProbe: true, countsAsFailure: [503] },
        bulkhead: { maxConcurrent: 4, maxQueued: 2, maxWait: "1 second" },
        rateLimit: { limit: 5, window: "1 second", algorithm: "fixed-window", onExceeded: "fail" },
        hosts: { "a.test": { bulkhead: false } },
        endpoints: { "GET /x": { retry: false } },
        telemetry: false,
        upstreamKey: () => "k",
        onEvent: () => Effect.void
      })).toEqual([])
    })

    it("a negative duration is refused, naming the field, not read as zero", () => {
      for (
        const [options, field] of [
          [{ retry: { baseDelay: -1 } }, "retry.baseDelay"],
          [{ retry: { maxRetryAfter: "-5 seconds" } }, "retry.maxRetryAfter"],
          [{ retry: { maxElapsed: -1 } }, "retry.maxElapsed"],
          [{ circuitBreaker: { breakDuration: -1 } }, "circuitBreaker.breakDuration"],
          [{ bulkhead: { maxConcurrent: 1, maxWait: -1 } }, "bulkhead.maxWait"],
          [{ rateLimit: { limit: 1, window: "-1 seconds" } }, "rateLimit.window"],
          [{ hedging: { delay: -1 } }, "hedging.delay"],
          [{ attemptTimeout: -1 }, "attemptTimeout"]
        ] as const
      ) {
        const result = Policy.validate(options as Policy.Options)
        expect(Either.isLeft(result) && result.left.problems.map((p) => p.field)).toEqual([field])
        expect(Either.isLeft(result) && result.left.message).toMatch(/must not be negative/)
      }
      expect(fieldOf({ retry: { baseDelay: 0, maxDelay: 0 }, bulkhead: { maxConcurrent: 1, maxWait: 0 } })).toBe(
        undefined
      )
    })

    // p-retry's "invalid numeric options throw" (NaN): Effect reads `NaN` as zero, so a number parsed from an unset
    // setting meant "no backoff" (baseDelay), "no retry" (maxElapsed) or "fail at any Retry-After" (maxRetryAfter)
    it("a NaN duration is refused, naming the field, not read as zero", () => {
      for (
        const field of [
          "retry.baseDelay",
          "retry.maxDelay",
          "retry.maxElapsed",
          "retry.maxRetryAfter",
          "bulkhead.maxWait",
          "hedging.delay",
          "attemptTimeout",
          "totalTimeout"
        ]
      ) {
        const [stage, name] = field.includes(".") ? field.split(".") : [undefined, field]
        const extra = stage === "bulkhead" ? { maxConcurrent: 1 } : {}
        const options = stage === undefined ? { [name!]: NaN } : { [stage]: { ...extra, [name!]: NaN } }
        const result = Policy.validate(options as Policy.Options)
        expect(Either.isLeft(result) && result.left.problems.map((p) => p.field)).toContain(field)
      }
    })

    // An option naming one of a few behaviours, mistyped (from JavaScript, or through a cast): `retry.jitter` was
    // accepted, and then every call died with Backoff's RangeError before its first request; the others silently
    // picked another behaviour (any `failure` but "first" kept the last, any `algorithm` but "token-bucket" was a fixed
    // window, any `onExceeded` but "fail" waited)
    it("a mistyped jitter, hedging failure, rate limit algorithm or onExceeded is an InvalidPolicy naming it", () => {
      for (
        const [options, field] of [
          [{ retry: { jitter: "Full" } }, "retry.jitter"],
          [{ hedging: { delay: "1 second", failure: "earliest" } }, "hedging.failure"],
          [{ rateLimit: { limit: 5, window: "1 second", algorithm: "sliding-window" } }, "rateLimit.algorithm"],
          [{ rateLimit: { limit: 5, window: "1 second", onExceeded: "reject" } }, "rateLimit.onExceeded"],
          [{ hosts: { "a.test": { retry: { jitter: "bogus" } } } }, "hosts[\"a.test\"].retry.jitter"],
          [
            { endpoints: { "GET /x": { hedging: { delay: 5, failure: "all" } } } },
            "endpoints[\"GET /x\"].hedging.failure"
          ]
        ] as const
      ) {
        const result = Policy.validate(options as unknown as Policy.Options)
        expect(Either.isLeft(result) && result.left.problems.map((p) => p.field)).toEqual([field])
        expect(Either.isLeft(result) && result.left.message).toMatch(/must be one of/)
      }
      for (const jitter of ["none", "full", "equal", "decorrelated"] as const) {
        expect(fieldOf({ retry: { jitter }, hedging: { delay: 5, failure: "first" } })).toBe(undefined)
      }
      expect(fieldOf({ rateLimit: { limit: 5, window: 1000, algorithm: "fixed-window", onExceeded: "fail" } })).toBe(
        undefined
      )
    })

    // `budget: "false"` (a string, from a JSON file or through a cast) was truthy, and kept the budget on; a `retryOn`
    // that is neither a predicate nor an object of entries was ignored
    it("a retry switch that is not a boolean, or a retryOn that is neither a predicate nor entries, is an InvalidPolicy", () => {
      for (const name of ["respectRetryAfter", "budget", "idempotencyKey", "retryUnsent"]) {
        const result = Policy.validate({ retry: { [name]: "false" } } as unknown as Policy.Options)
        expect(Either.isLeft(result) && result.left.problems.map((p) => p.field)).toEqual([`retry.${name}`])
        expect(fieldOf({ retry: { [name]: false } })).toBe(undefined)
      }
      for (const retryOn of [5, "ServerError", [() => true]]) {
        const result = Policy.validate({ retry: { retryOn } } as unknown as Policy.Options)
        expect(Either.isLeft(result) && result.left.field).toBe("retry.retryOn")
      }
      expect(fieldOf({ retry: { retryOn: () => true } })).toBe(undefined)
      expect(fieldOf({ retry: { retryOn: { ServerError: false } } })).toBe(undefined)
      expect(fieldOf({ hosts: { "a.test": { retry: { budget: "no" as unknown as boolean } } } })).toBe(
        "hosts[\"a.test\"].retry.budget"
      )
    })

    it.scoped("a mistyped jitter fails Policy.make, not every call with a defect", () =>
      Effect.gen(function*() {
        const options = { retry: { jitter: "bogus" } } as unknown as Policy.Options
        const exit = yield* Effect.exit(Policy.make(options))
        expect(Exit.isFailure(exit) && Cause.failureOption(exit.cause)).toMatchObject(
          Option.some({ _tag: "InvalidPolicy", field: "retry.jitter" })
        )
      }))

    it("the breaker window must be at least twice the attempt timeout", () => {
      expect(fieldOf({ attemptTimeout: "10 seconds", circuitBreaker: { slidingWindow: "19 seconds" } })).toBe(
        "circuitBreaker.slidingWindow"
      )
      expect(fieldOf({ attemptTimeout: "10 seconds", circuitBreaker: { slidingWindow: "20 seconds" } })).toBe(
        undefined
      )
    })

    it("attempts above 10 need a bound on the call: totalTimeout (on by default) or retry.maxElapsed", () => {
      expect(fieldOf({ totalTimeout: false, retry: { maxAttempts: Policy.maxAttemptsCap + 1 } })).toBe(
        "retry.maxAttempts"
      )
      expect(fieldOf({ retry: { maxAttempts: 15 } })).toBe(undefined)
      expect(fieldOf({ totalTimeout: false, retry: { maxAttempts: 15, maxElapsed: "1 minute" } })).toBe(undefined)
      expect(fieldOf({ retry: { maxAttempts: 0 } })).toBe("retry.maxAttempts")
      expect(fieldOf({ retry: { maxAttempts: 2.5 } })).toBe("retry.maxAttempts")
      expect(fieldOf({ totalTimeout: false, retry: { maxAttempts: Policy.maxAttemptsCap } })).toBe(undefined)
      const unbounded = Policy.validate({ totalTimeout: false, retry: { maxAttempts: 15 } })
      expect(Either.isLeft(unbounded) && unbounded.left.message).toContain("set totalTimeout or retry.maxElapsed")
    })

    // p-retry's "retries forever when specified" (`retries: Infinity`, bounded by `maxRetryTime`): unlimited attempts
    // are the extreme of "above 10", allowed under the same bound (Backoff.exponential takes `Infinity` too)
    it("maxAttempts: Infinity retries until the bound: allowed with totalTimeout or retry.maxElapsed, not without", () => {
      expect(fieldOf({ retry: { maxAttempts: Infinity } })).toBe(undefined)
      expect(fieldOf({ totalTimeout: false, retry: { maxAttempts: Infinity, maxElapsed: "1 minute" } })).toBe(
        undefined
      )
      const unbounded = Policy.validate({ totalTimeout: false, retry: { maxAttempts: Infinity } })
      expect(Either.isLeft(unbounded) && unbounded.left.message).toContain("set totalTimeout or retry.maxElapsed")
      expect(fieldOf({ retry: { maxAttempts: -Infinity } })).toBe("retry.maxAttempts")
      expect(fieldOf({ retry: { maxAttempts: NaN } })).toBe("retry.maxAttempts")
    })

    it("overrides are validated on top of what they override, and name their place", () => {
      expect(fieldOf({ hosts: { "api.test": { attemptTimeout: "1 minute" } } })).toBe(
        "hosts[\"api.test\"].attemptTimeout"
      )
      expect(fieldOf({ endpoints: { "GET /reports/**": { totalTimeout: false, retry: { maxAttempts: 20 } } } })).toBe(
        "endpoints[\"GET /reports/**\"].retry.maxAttempts"
      )
      expect(fieldOf({ endpoints: { "reports": {} } })).toBe("endpoints[\"reports\"]")
      expect(fieldOf({
        hosts: { "api.test": { attemptTimeout: "20 seconds", circuitBreaker: { slidingWindow: "1 minute" } } },
        endpoints: { "/x": { totalTimeout: "10 seconds" } }
      })).toBe("hosts[\"api.test\"].endpoints[\"/x\"].attemptTimeout")
      expect(fieldOf({ totalTimeout: "soon" as Duration.DurationInput })).toBe("totalTimeout")
    })

    it.effect("make and layer fail with the typed error", () =>
      Effect.gen(function*() {
        const made = yield* Effect.flip(Effect.scoped(Policy.make({ retry: { maxAttempts: 0 } })))
        expect(made.field).toBe("retry.maxAttempts")
        const layered = yield* Effect.flip(
          Layer.build(Policy.layer({ bulkhead: { maxConcurrent: 0 } })).pipe(
            Effect.scoped
          )
        )
        expect(layered._tag === "InvalidPolicy" && layered.field).toBe("bulkhead.maxConcurrent")
      }))
  })

  describe("configuration", () => {
    it.scoped("the defaults follow the standard resilience handler", () =>
      Effect.gen(function*() {
        const policy = yield* Policy.make()
        expect(policy.describe(HttpClientRequest.get("https://api.test/x"))).toEqual({
          key: "https://api.test:443",
          totalTimeout: Option.some(Duration.seconds(30)),
          attemptTimeout: Option.some(Duration.seconds(10)),
          maxAttempts: 3,
          circuitBreaker: true,
          bulkhead: true,
          concurrencyLimit: false,
          adaptiveThrottle: false,
          rateLimit: false,
          hedging: false,
          deadlineHeader: Option.none(),
          retryCountHeader: Option.none()
        })
      }))

    it.scoped("describe says which requests are hedged: those safe to repeat, with a body that can be sent again", () =>
      Effect.gen(function*() {
        const hedged = yield* Policy.make({
          hedging: { delay: "100 millis" },
          endpoints: { "/keyed/**": { retry: { idempotencyKey: true } }, "/plain/**": { hedging: false } }
        })
        const hedges = (request: HttpClientRequest.HttpClientRequest) => hedged.describe(request).hedging
        expect(hedges(HttpClientRequest.get("https://api.test/x"))).toBe(true)
        expect(hedges(HttpClientRequest.put("https://api.test/x"))).toBe(true)
        expect(hedges(HttpClientRequest.post("https://api.test/x"))).toBe(false)
        expect(
          hedges(HttpClientRequest.setHeader(HttpClientRequest.post("https://api.test/x"), "Idempotency-Key", "k"))
        )
          .toBe(true)
        expect(hedges(HttpClientRequest.post("https://api.test/keyed/1"))).toBe(true)
        expect(hedges(HttpClientRequest.get("https://api.test/plain/1"))).toBe(false)
        expect(
          hedges(
            HttpClientRequest.put("https://api.test/x").pipe(
              HttpClientRequest.bodyStream(Stream.make(new Uint8Array(1)))
            )
          )
        ).toBe(false)
        const none = yield* Policy.make()
        expect(none.describe(HttpClientRequest.get("https://api.test/x")).hedging).toBe(false)
      }))

    it.scoped("hosts and endpoints override the defaults; the first matching endpoint wins", () =>
      Effect.gen(function*() {
        const policy = yield* Policy.make({
          hosts: { "slow.test": { attemptTimeout: "20 seconds", circuitBreaker: { slidingWindow: "1 minute" } } },
          endpoints: {
            "POST /orders": { retry: false },
            "GET /reports/**": { totalTimeout: "2 minutes", attemptTimeout: "15 seconds" },
            "/users/:id": { retry: { maxAttempts: 5 } }
          }
        })
        const describe = (method: "GET" | "POST", url: string) => policy.describe(HttpClientRequest.make(method)(url))
        expect(describe("GET", "http://slow.test/x").attemptTimeout).toEqual(Option.some(Duration.seconds(20)))
        expect(describe("GET", "http://fast.test/x").attemptTimeout).toEqual(Option.some(Duration.seconds(10)))
        expect(describe("POST", "http://fast.test/orders").maxAttempts).toBe(1)
        expect(describe("GET", "http://fast.test/orders").maxAttempts).toBe(3)
        expect(describe("GET", "http://fast.test/reports/2026/11").totalTimeout).toEqual(
          Option.some(Duration.minutes(2))
        )
        expect(describe("GET", "http://slow.test/users/7?x=1").maxAttempts).toBe(5)
        expect(describe("GET", "http://slow.test/users/7").attemptTimeout).toEqual(Option.some(Duration.seconds(20)))
        expect(describe("GET", "http://slow.test/users/7/teams").maxAttempts).toBe(3)
      }))

    it.scoped("an endpoint matches the path as sent: dot segments resolved, as the URL standard does", () =>
      Effect.gen(function*() {
        const policy = yield* Policy.make({ endpoints: { "/b": { retry: { maxAttempts: 5 } } } })
        const attempts = (path: string) => policy.describe(HttpClientRequest.get(`http://api.test${path}`)).maxAttempts
        // `/a/../b` is sent as `/b` (and `%2e` is a dot): the override applies
        expect(["/a/../b", "/a/%2e%2E/b", "/./b", "/a/.%2e/b?x=1", "/a\\..\\b", "/../b"].map(attempts)).toEqual([
          5,
          5,
          5,
          5,
          5,
          5
        ])
        // not dot segments, or resolved elsewhere: it does not
        expect(["/b/..", "/a/...", "/a/..%2fb", "/b/x/..b", "//b"].map(attempts)).toEqual([3, 3, 3, 3, 3])
        // any path: the override applies exactly when the URL standard resolves it to `/b` or `/b/`
        const segment = FastCheck.constantFrom("a", "b", "", ".", "..", "%2e", "%2E%2e", ".%2e", "...")
        FastCheck.assert(
          FastCheck.property(FastCheck.array(segment, { maxLength: 6 }), (segments) => {
            const path = `/${segments.join("/")}`
            const sent = new URL(`http://api.test${path}`).pathname
            expect(attempts(path)).toBe(sent === "/b" || sent === "/b/" ? 5 : 3)
          }),
          { seed: 7, numRuns: 500 }
        )
      }))

    it.scoped("an endpoint matches the path as sent: spaces and non-ASCII percent-encoded, a key written either way", () =>
      Effect.gen(function*() {
        const policy = yield* Policy.make({
          endpoints: {
            "GET /a b": { retry: { maxAttempts: 5 } },
            "/caf%C3%A9/:id": { retry: { maxAttempts: 6 } },
            "/files/{7}/**": { retry: { maxAttempts: 7 } }
          }
        })
        const attempts = (path: string) => policy.describe(HttpClientRequest.get(`http://api.test${path}`)).maxAttempts
        // `/a b` is sent as `/a%20b`, `/café` as `/caf%C3%A9`, `{` as `%7B`: written either way, the override applies
        expect(["/a b", "/a%20b", "/café/1", "/caf%C3%A9/2", "/files/{7}/x", "/files/%7B7%7D/x/y"].map(attempts))
          .toEqual([
            5,
            5,
            6,
            6,
            7,
            7
          ])
        // a tab or a line feed in a URL is dropped by the URL standard, so `/a\tb` is sent as `/ab`
        expect(["/a\tb", "/a+b", "/ab", "/cafe/1", "/files/7/x"].map(attempts)).toEqual([3, 3, 3, 3, 3])
        // any path of such characters: the override applies exactly when the URL standard sends `/a%20b`
        const character = FastCheck.constantFrom("a", " ", "b", "%20", "\t", "é", "\u{1F600}", "\uD800", "\"", "`")
        FastCheck.assert(
          FastCheck.property(FastCheck.array(character, { maxLength: 5 }), (characters) => {
            const path = `/${characters.join("")}`
            const sent = new URL(`http://api.test${path}`).pathname
            expect(attempts(path)).toBe(sent === "/a%20b" || sent === "/a%20b/" ? 5 : 3)
          }),
          { seed: 11, numRuns: 500 }
        )
      }))

    it.effect("layerConfig reads the standard fields", () =>
      Effect.gen(function*() {
        const provider = ConfigProvider.fromJson({
          totalTimeout: "10 seconds",
          attemptTimeout: "2 seconds",
          deadlineHeader: "x-deadline",
          retryCountHeader: "x-attempt",
          retry: { maxAttempts: 4 },
          circuitBreaker: { enabled: false },
          rateLimit: { limit: 10, window: "1 second" }
        })
        const described = yield* Effect.map(Policy.Policy, (policy) =>
          policy.describe(HttpClientRequest.get("https://api.test/"))).pipe(
            Effect.provide(
              Layer.setConfigProvider(provider).pipe(Layer.provideMerge(Policy.layerConfig(Policy.config)))
            ),
            Effect.provide(Layer.setConfigProvider(provider))
          )
        expect(described).toMatchObject({
          totalTimeout: Option.some(Duration.seconds(10)),
          attemptTimeout: Option.some(Duration.seconds(2)),
          maxAttempts: 4,
          circuitBreaker: false,
          rateLimit: true,
          deadlineHeader: Option.some("x-deadline"),
          retryCountHeader: Option.some("x-attempt")
        })
        const overrides = yield* Effect.map(Policy.Policy, (policy) => [
          policy.describe(HttpClientRequest.get("https://slow.test/x")),
          policy.describe(HttpClientRequest.post("https://api.test/orders")),
          policy.describe(HttpClientRequest.get("https://api.test/x"))
        ]).pipe(
          Effect.provide(Policy.layerConfig(Policy.config)),
          Effect.withConfigProvider(ConfigProvider.fromJson({
            circuitBreaker: { enabled: false },
            hosts: { "slow.test": { attemptTimeout: "20 seconds", circuitBreaker: { slidingWindow: "1 minute" } } },
            endpoints: { "POST /orders": { retry: { enabled: false } } }
          }))
        )
        expect(
          overrides.map((d) => [Option.map(d.attemptTimeout, Duration.toSeconds), d.maxAttempts, d.circuitBreaker])
        )
          .toEqual([[Option.some(20), 3, true], [Option.some(10), 1, false], [Option.some(10), 3, false]])
        const invalid = yield* Effect.flip(
          Layer.build(Policy.layerConfig(Policy.config)).pipe(
            Effect.scoped,
            Effect.withConfigProvider(ConfigProvider.fromJson({ retry: { maxAttempts: 0 } }))
          )
        )
        expect(invalid._tag === "InvalidPolicy" && invalid.field).toBe("retry.maxAttempts")
      }))
    it.effect("config reads the retry lists and switches, and layerConfig rejects a bad entry naming its field", () =>
      Effect.gen(function*() {
        const options = yield* Effect.withConfigProvider(
          Policy.config,
          ConfigProvider.fromJson({
            retry: {
              statuses: [502, 503],
              methods: ["GET", "put"],
              retryAfterStatuses: [429],
              maxElapsed: "30 seconds",
              respectRetryAfter: false,
              retryUnsent: false
            },
            hosts: { "a.test": { retry: { statuses: [500] } } },
            endpoints: { "GET /slow": { retry: { methods: ["GET"], maxElapsed: "1 minute" } } }
          })
        )
        expect(options.retry).toMatchObject({
          statuses: [502, 503],
          methods: ["GET", "put"],
          retryAfterStatuses: [429],
          respectRetryAfter: false,
          retryUnsent: false
        })
        const retry = options.retry as Policy.RetryOptions
        expect(Duration.toSeconds(retry.maxElapsed!)).toBe(30)
        expect(options.hosts?.["a.test"]?.retry).toMatchObject({ statuses: [500] })
        expect(options.endpoints?.["GET /slow"]?.retry).toMatchObject({ methods: ["GET"] })
        const fieldOfConfig = (json: object) =>
          Layer.build(Policy.layerConfig(Policy.config)).pipe(
            Effect.scoped,
            Effect.withConfigProvider(ConfigProvider.fromJson(json)),
            Effect.flip,
            Effect.map((error) => error._tag === "InvalidPolicy" ? error.field : error._tag)
          )
        expect(yield* fieldOfConfig({ retry: { statuses: [99] } })).toBe("retry.statuses")
        expect(yield* fieldOfConfig({ retry: { retryAfterStatuses: [600] } })).toBe("retry.retryAfterStatuses")
        expect(yield* fieldOfConfig({ retry: { methods: ["GET", "GE T"] } })).toBe("retry.methods")
        // not a list of numbers: the config itself fails, before any policy is made
        expect(yield* fieldOfConfig({ retry: { statuses: ["many"] } })).toBe("ConfigError")
        // a negative duration is refused, not read as zero (Effect's Duration has no negative values)
        for (
          const json of [{ retry: { baseDelay: "-5 seconds" } }, {
            hosts: { "a.test": { bulkhead: { maxWait: "-1 millis" } } }
          }]
        ) {
          const refused = yield* Layer.build(Policy.layerConfig(Policy.config)).pipe(
            Effect.scoped,
            Effect.withConfigProvider(ConfigProvider.fromJson(json)),
            Effect.flip
          )
          expect(refused._tag).toBe("ConfigError")
          expect(String(refused)).toContain("not negative")
        }
        const positive = yield* Effect.withConfigProvider(
          Policy.config,
          ConfigProvider.fromJson({ retry: { baseDelay: "250 millis" } })
        )
        expect((positive.retry as Policy.RetryOptions).baseDelay).toEqual(Duration.millis(250))
      }))
  })

  describe("Policy.run, send and json", () => {
    it.scoped("run the Policy in context around any attempt", () =>
      Effect.gen(function*() {
        const scripted = yield* ScriptedClient.make(FaultScript.routes({
          "GET /x": FaultScript.sequence(FaultScript.status(500), FaultScript.json(ada))
        }))
        const request = HttpClientRequest.get(`${base}/x`)
        const user = yield* runVirtual(
          Policy.json(scripted.client, request, User).pipe(
            Effect.provide(Policy.layer(quick))
          )
        )
        expect(user).toEqual(Exit.succeed(ada))
        const received = yield* runVirtual(
          Policy.send(scripted.client, request).pipe(Effect.provide(Policy.layer(quick)))
        )
        expect(Exit.isSuccess(received)).toBe(true)
        expect((yield* scripted.requests).length).toBe(3)
      }))

    it.scoped("Policy.json and Policy.send run through a Policy made by hand (its own run), traced or not", () =>
      Effect.gen(function*() {
        const scripted = yield* ScriptedClient.make(FaultScript.routes({ "GET /x": FaultScript.json(ada) }))
        const real = yield* Policy.make(quick)
        const runs: Array<string> = []
        // a hand-made Policy: the interface, delegating to a real one and recording what it was asked to run
        const byHand: Policy.Policy = {
          ...real,
          run: (request, send, options) => {
            runs.push(request.url)
            return real.run(request, send, options)
          }
        }
        const request = HttpClientRequest.get(`${base}/x`)
        const { spans, tracer } = TestTracer.make()
        const provided = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
          Effect.provideService(effect, Policy.Policy, byHand)
        expect(yield* provided(Policy.json(scripted.client, request, User))).toEqual(ada)
        expect((yield* provided(Policy.send(scripted.client, request))).status).toBe(200)
        expect(yield* provided(Policy.json(scripted.client, request, User)).pipe(Effect.withTracer(tracer)))
          .toEqual(ada)
        expect(runs).toEqual([`${base}/x`, `${base}/x`, `${base}/x`])
        // traced, the call's span still gets the status of the response its decoded body came from
        const call = spans.find((span) => span.name === "http.client.request GET")
        expect(call?.attributes.get("http.response.status_code")).toBe(200)
        expect((yield* scripted.requests).length).toBe(3)
      }))

    it.scoped("the client layer runs every request through the Policy layer", () =>
      Effect.gen(function*() {
        const scripted = yield* ScriptedClient.make(FaultScript.routes({
          "GET /x": FaultScript.sequence(FaultScript.status(502), FaultScript.json(ada))
        }))
        const program = Effect.flatMap(SturdyClient.SturdyClient, (api) => api.get("/x", { schema: User }))
        const exit = yield* runVirtual(program.pipe(
          Effect.provide(
            SturdyClient.layer({ baseUrl: base }).pipe(
              Layer.provide(Policy.layer(quick)),
              Layer.provide(Layer.succeed(HttpClient.HttpClient, scripted.client))
            )
          )
        ))
        expect(exit).toEqual(Exit.succeed(ada))
        expect((yield* scripted.requests).length).toBe(2)
      }))
  })

  it.scoped("the generated key travels in Idempotency.headerName, where a caller's own key is also read", () =>
    Effect.gen(function*() {
      const { api, scripted } = yield* harness(
        { "POST /orders": FaultScript.sequence(FaultScript.status(503), FaultScript.json(ada)) },
        { ...quick, retry: { baseDelay: "100 millis", budget: false, idempotencyKey: true } }
      )
      expect(yield* runVirtual(api.post("/orders", { schema: User }))).toEqual(Exit.succeed(ada))
      yield* runVirtual(api.post("/orders", { headers: { [Idempotency.headerName]: "caller-key" } }))
      const sent = (yield* scripted.requests).map((r) => r.headers[Idempotency.headerName.toLowerCase()])
      expect(sent).toHaveLength(3)
      expect(sent[0]).toMatch(/^[0-9a-f-]{36}$/)
      expect(sent[1]).toBe(sent[0])
      expect(sent[2]).toBe("caller-key")
    }))
})

// a type-level check: the union is closed
export const handled = (call: Effect.Effect<string, Policy.Failure>): Effect.Effect<string> =>
  call.pipe(
    Effect.catchTags({
      CircuitOpen: () => Effect.succeed("open"),
      BulkheadRejected: () => Effect.succeed("busy"),
      ConcurrencyLimitExceeded: () => Effect.succeed("over the limit"),
      AdaptiveThrottleRejected: () => Effect.succeed("throttled"),
      RateLimitExceeded: () => Effect.succeed("limited"),
      RateLimitStoreError: () => Effect.succeed("store"),
      RetryBudgetExhausted: () => Effect.succeed("budget"),
      ConnectionError: () => Effect.succeed("c"),
      Timeout: () => Effect.succeed("t"),
      ClientError: () => Effect.succeed("4xx"),
      RateLimited: () => Effect.succeed("429"),
      ServerError: () => Effect.succeed("5xx"),
      UnexpectedStatus: () => Effect.succeed("3xx"),
      BodyTruncated: () => Effect.succeed("b"),
      BodyUndecodable: () => Effect.succeed("b"),
      BodyTooLarge: () => Effect.succeed("b"),
      UnexpectedContentType: () => Effect.succeed("ct"),
      InvalidJson: () => Effect.succeed("j"),
      SchemaMismatch: () => Effect.succeed("s"),
      InvalidRequest: () => Effect.succeed("r"),
      RedirectFailed: () => Effect.succeed("3xx"),
      AuthenticationFailed: () => Effect.succeed("auth")
    })
  )

export type _Failure = HttpFailure.HttpFailure

// -----------------------------------------------------------------------------
// observation: the event hook and telemetry
// -----------------------------------------------------------------------------

// An event as the tests compare it: the fields a user would look at.
const brief = (event: Policy.Event): string => {
  switch (event._tag) {
    case "AttemptStarted":
      return `started #${event.attempt}/${event.hedge}`
    case "AttemptEnded":
      return `ended #${event.attempt}/${event.hedge} ${event.outcome} ${event.status ?? "-"} ${
        event.failure?._tag ?? "-"
      } ${Duration.toMillis(event.duration)}ms`
    case "RetryDecision":
      return `decided #${event.attempt} ${event.retrying ? "retry" : "stop"} ${event.reason} ${
        Duration.toMillis(event.delay)
      }ms`
    case "HedgeStarted":
      return `hedge #${event.attempt}.${event.index} ${event.trigger}`
    case "BreakerTransition":
      return `breaker ${event.key} ${event.from}->${event.to}`
    case "Rejected":
      return `rejected #${event.attempt} ${event.rejection._tag}`
  }
}

describe("Policy observation", () => {
  it.scoped("the hook sees 503, 503, 200 as attempts, retry decisions and their delays", () =>
    Effect.gen(function*() {
      const seen: Array<Policy.Event> = []
      const { api, scripted } = yield* harness({
        "GET /users/1": FaultScript.sequence(
          FaultScript.withLatency(FaultScript.status(503), "40 millis"),
          FaultScript.status(503),
          FaultScript.json(ada)
        )
      }, { ...quick, retry: { baseDelay: "100 millis", maxDelay: "1 second", budget: false, jitter: "none" } })
      const exit = yield* runVirtual(api.get("/users/1", { onEvent: (event) => Effect.sync(() => seen.push(event)) }))
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(seen.map(brief)).toEqual([
        "started #1/0",
        "ended #1/0 failure 503 ServerError 40ms",
        "decided #2 retry backoff 100ms",
        "started #2/0",
        "ended #2/0 failure 503 ServerError 0ms",
        "decided #3 retry backoff 200ms",
        "started #3/0",
        "ended #3/0 success 200 - 0ms"
      ])
      expect(new Set(seen.map((event) => event.key))).toEqual(new Set(["http://api.test:80"]))
      // the decisions are the waits the server saw between requests
      expect(yield* arrivals(scripted)).toEqual([0, 140, 340])
    }))

  it.scoped("a policy-wide hook and a per-call hook both see the call; a decoded success has no status", () =>
    Effect.gen(function*() {
      const wide: Array<string> = []
      const call: Array<string> = []
      const scripted = yield* ScriptedClient.make(FaultScript.routes({
        "GET /users/1": FaultScript.sequence(FaultScript.status(500), FaultScript.json(ada))
      }))
      const policy = yield* Policy.make({ ...quick, onEvent: (event) => Effect.sync(() => wide.push(brief(event))) })
      const api = SturdyClient.makeWith(scripted.client, { baseUrl: base, policy })
      const exit = yield* runVirtual(
        api.get("/users/1", { schema: User, onEvent: (event) => Effect.sync(() => call.push(brief(event))) })
      )
      expect(exit).toEqual(Exit.succeed(ada))
      expect(call).toEqual(wide)
      expect(call.at(-1)).toBe("ended #2/0 success - - 0ms")
      expect(call.filter((line) => line.startsWith("decided"))).toHaveLength(1)
    }))

  it.scoped("a request that is not retried ends with a decision to stop", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      const { api } = yield* harness({ "GET /missing": FaultScript.status(404) })
      const exit = yield* runVirtual(
        api.get("/missing", { onEvent: (event) => Effect.sync(() => seen.push(brief(event))) })
      )
      expect(failureOf(exit)._tag).toBe("ClientError")
      expect(seen).toEqual([
        "started #1/0",
        "ended #1/0 failure 404 ClientError 0ms",
        "decided #2 stop not-retryable 0ms"
      ])
    }))

  it.scoped("breaker transitions reach the policy's hook; calls it refuses are Rejected, never started", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      const scripted = yield* ScriptedClient.make(FaultScript.routes({ "GET /flaky": FaultScript.status(503) }))
      const policy = yield* Policy.make({
        ...quick,
        retry: false,
        circuitBreaker: { consecutiveFailures: 2, breakDuration: "5 seconds" },
        onEvent: (event) => Effect.sync(() => seen.push(brief(event)))
      })
      const api = SturdyClient.makeWith(scripted.client, { baseUrl: base, policy })
      for (let i = 0; i < 3; i++) yield* Effect.exit(api.get("/flaky"))
      // transitions arrive on the breakers' `changes` stream: let its subscriber run
      for (let i = 0; i < 10; i++) yield* Effect.yieldNow()
      expect(seen.filter((line) => line.startsWith("started") || line.startsWith("rejected"))).toEqual([
        "started #1/0",
        "started #1/0",
        "rejected #1 CircuitOpen"
      ])
      expect(seen.filter((line) => line.startsWith("breaker"))).toEqual(["breaker http://api.test:80 Closed->Open"])
      expect((yield* scripted.requests).length).toBe(2)
    }))

  it.scoped("hedges are reported with their index, and each copy is an attempt", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      const { api } = yield* harness({
        "GET /slow": FaultScript.sequence(
          FaultScript.withLatency(FaultScript.json(ada), "500 millis"),
          FaultScript.json(ada)
        )
      }, { ...quick, hedging: { delay: "100 millis", maxHedges: 1 } })
      const exit = yield* runVirtual(
        api.get("/slow", { onEvent: (event) => Effect.sync(() => seen.push(brief(event))) })
      )
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(seen).toEqual([
        "started #1/0",
        "hedge #1.1 delay",
        "started #1/1",
        "ended #1/1 success 200 - 0ms",
        "ended #1/0 interrupted - - 100ms"
      ])
    }))

  it.scoped("with telemetry on, a tracer sees one logical span and one attempt span per attempt, without secrets", () =>
    Effect.gen(function*() {
      const { spans, tracer } = TestTracer.make()
      const { api } = yield* harness({
        "GET /users/1": FaultScript.sequence(FaultScript.status(503), FaultScript.status(503), FaultScript.json(ada))
      }, { ...quick, telemetry: true })
      const host = Metric.tagged(Metric.tagged(Telemetry.metrics.requests, "method", "GET"), "host", "api.test:80")
      const succeeded = host.pipe(Metric.tagged("outcome", "success"), Metric.tagged("failure_tag", "none"))
      const before = (yield* Metric.value(succeeded)).count
      const exit = yield* runVirtual(
        api.get("/users/1?api_key=SECRET-KEY-1", { schema: User }).pipe(Effect.withTracer(tracer))
      )
      expect(exit).toEqual(Exit.succeed(ada))

      const logical = spans.filter((span) => span.name === "http.client.request GET")
      const attempts = spans.filter((span) => span.name === "http.client.attempt GET")
      expect(logical).toHaveLength(1)
      expect(attempts).toHaveLength(3)
      for (const span of attempts) {
        expect(Option.map(span.parent, (parent) => parent.spanId)).toEqual(Option.some(logical[0].spanId))
      }
      expect(attempts.map((span) => span.attributes.get("sturdy.attempt"))).toEqual([1, 2, 3])
      expect(attempts.map((span) => span.attributes.get("sturdy.delay_reason"))).toEqual([
        undefined,
        "backoff",
        "backoff"
      ])
      expect(attempts.map((span) => span.attributes.get("sturdy.failure_tag"))).toEqual([
        "ServerError",
        "ServerError",
        undefined
      ])
      expect(logical[0].attributes.get("sturdy.attempts")).toBe(3)
      expect(logical[0].attributes.get("url.full")).toBe("http://api.test/users/1?api_key=<redacted>")
      // no span attribute carries the key
      for (const span of spans) {
        for (const value of span.attributes.values()) expect(String(value)).not.toContain("SECRET-KEY-1")
      }
      expect((yield* Metric.value(succeeded)).count).toBe(before + 1)
    }))

  it.scoped("urlParams given to a SturdyClient call with a policy are on the request the pipeline and its spans see, once", () =>
    Effect.gen(function*() {
      const { spans, tracer } = TestTracer.make()
      const { api, scripted } = yield* harness({ "GET /users/1": FaultScript.json(ada) }, { ...quick, telemetry: true })
      const exit = yield* runVirtual(
        api.get("/users/1", { schema: User, urlParams: { page: "2", api_key: "SECRET-KEY-2" } }).pipe(
          Effect.withTracer(tracer)
        )
      )
      expect(exit).toEqual(Exit.succeed(ada))
      const logical = spans.filter((span) => span.name === "http.client.request GET")
      expect(logical[0].attributes.get("url.full")).toBe("http://api.test/users/1?page=2&api_key=<redacted>")
      const sent = yield* scripted.requests
      expect(sent).toHaveLength(1)
      // appended once, not once by the pipeline and again by the client
      expect(sent[0].path).toBe("/users/1?page=2&api_key=SECRET-KEY-2")
    }))

  it.scoped("by default, an untraced call records nothing; telemetry: false records nothing even when traced", () =>
    Effect.gen(function*() {
      const { spans, tracer } = TestTracer.make()
      const requests = Metric.tagged(Telemetry.metrics.requests, "method", "GET").pipe(
        Metric.tagged("host", "quiet.test:80"),
        Metric.tagged("outcome", "success"),
        Metric.tagged("failure_tag", "none")
      )
      const scripted = yield* ScriptedClient.make(FaultScript.routes({ "GET /ok": FaultScript.json(ada) }))
      const byDefault = yield* Policy.make(quick)
      const off = yield* Policy.make({ ...quick, telemetry: false })
      yield* SturdyClient.makeWith(scripted.client, { baseUrl: "http://quiet.test", policy: byDefault }).get("/ok")
      yield* SturdyClient.makeWith(scripted.client, { baseUrl: "http://quiet.test", policy: off }).get("/ok").pipe(
        Effect.withTracer(tracer)
      )
      expect((yield* Metric.value(requests)).count).toBe(0)
      // only the platform's own client span
      expect(spans.map((span) => span.name)).toEqual(["http.client GET"])
      // the default turns on as soon as a tracer is there (and the platform's unredacted span is not built)
      yield* SturdyClient.makeWith(scripted.client, { baseUrl: "http://quiet.test", policy: byDefault }).get("/ok")
        .pipe(
          Effect.withTracer(tracer)
        )
      expect(spans.slice(1).map((span) => span.name)).toEqual(["http.client.request GET", "http.client.attempt GET"])
      expect((yield* Metric.value(requests)).count).toBe(1)
    }))

  it.effect("telemetry is read from Config", () =>
    Effect.gen(function*() {
      const on = yield* Effect.withConfigProvider(Policy.config, ConfigProvider.fromJson({ telemetry: true }))
      const unset = yield* Effect.withConfigProvider(Policy.config, ConfigProvider.fromJson({}))
      expect(on.telemetry).toBe(true)
      expect(unset.telemetry).toBeUndefined()
    }))

  it.scoped("with telemetry: true, retries and breaker transitions are counted", () =>
    Effect.gen(function*() {
      const retries = Metric.tagged(Telemetry.metrics.retries, "method", "GET").pipe(
        Metric.tagged("host", "counted.test:80"),
        Metric.tagged("reason", "backoff")
      )
      const opened = Metric.tagged(Telemetry.metrics.breakerTransitions, "upstream", "http://counted.test:80").pipe(
        Metric.tagged("from", "closed"),
        Metric.tagged("to", "open")
      )
      const retriesBefore = (yield* Metric.value(retries)).count
      const openedBefore = (yield* Metric.value(opened)).count
      const scripted = yield* ScriptedClient.make(FaultScript.routes({ "GET /down": FaultScript.status(503) }))
      const policy = yield* Policy.make({
        ...quick,
        retry: { baseDelay: "100 millis", maxDelay: "1 second", budget: false, maxAttempts: 2 },
        circuitBreaker: { consecutiveFailures: 2 },
        telemetry: true
      })
      const api = SturdyClient.makeWith(scripted.client, { baseUrl: "http://counted.test", policy })
      yield* runVirtual(api.get("/down"))
      for (let i = 0; i < 10; i++) yield* Effect.yieldNow()
      expect((yield* Metric.value(retries)).count).toBe(retriesBefore + 1)
      expect((yield* Metric.value(opened)).count).toBe(openedBefore + 1)
    }))
})

describe("Policy retry rules (server waits, allow-lists, custom delays, attempts)", () => {
  // no jitter anywhere, so that every delay below is exact
  const exact: Policy.Options = {
    totalTimeout: "2 minutes",
    attemptTimeout: "10 seconds",
    retry: { baseDelay: "100 millis", maxDelay: "10 seconds", jitter: "none", retryAfterJitter: 0, budget: false },
    circuitBreaker: false
  }
  const retryWith = (retry: Policy.RetryOptions, options: Policy.Options = exact): Policy.Options => ({
    ...options,
    retry: { ...(options.retry as Policy.RetryOptions), ...retry }
  })

  it.scoped("a server's Retry-After replaces the backoff, even a longer backoff: Retry-After: 2 waits 2 s", () =>
    Effect.gen(function*() {
      const { api, scripted } = yield* harness({
        "GET /a": FaultScript.sequence(
          FaultScript.status(503, { retryAfter: 2 }),
          FaultScript.status(503, { retryAfter: 2 }),
          FaultScript.json(ada)
        )
      }, retryWith({ baseDelay: "5 seconds" }))
      expect(yield* runVirtual(api.get("/a", { schema: User }))).toEqual(Exit.succeed(ada))
      expect(yield* arrivals(scripted)).toEqual([0, 2000, 4000])
    }))

  it.scoped("the failure a call gives up with keeps its cause when it records the attempts (Armeria port)", () =>
    Effect.gen(function*() {
      // `attempts` is recorded on a copy of the failure; Error's `cause` is not enumerable, and a copy made by spreading
      // the failure lost it (and with it the code in the message: "connection refused (ECONNREFUSED)")
      const policy = yield* Policy.make(retryWith({ maxAttempts: 2, delay: () => 0 }))
      const cause = { name: "Error", code: "ECONNREFUSED", message: "connect ECONNREFUSED 127.0.0.1:1" }
      const refused = new HttpFailure.ConnectionError({
        method: "GET",
        url: "http://127.0.0.1:1/",
        reason: "Refused",
        cause
      })
      const failure = failureOf(
        yield* runVirtual(policy.run(HttpClientRequest.get("http://127.0.0.1:1/"), () => Effect.fail(refused)))
      )
      expect(failure).toMatchObject({ _tag: "ConnectionError", reason: "Refused", attempts: 2 })
      expect((failure as HttpFailure.ConnectionError).cause).toEqual(cause)
      expect(failure.message).toContain("(ECONNREFUSED)")
      // a failure without a cause gets none
      const reset = new HttpFailure.ConnectionError({ method: "GET", url: "http://127.0.0.1:1/", reason: "Reset" })
      const plain = failureOf(
        yield* runVirtual(policy.run(HttpClientRequest.get("http://127.0.0.1:1/"), () => Effect.fail(reset)))
      )
      expect(plain).toMatchObject({ _tag: "ConnectionError", attempts: 2 })
      expect("cause" in plain).toBe(false)
    }))

  it.scoped("Retry-After: 0 and a past date retry at once; maxAttempts still ends it, with the attempts made", () =>
    Effect.gen(function*() {
      const { api, scripted } = yield* harness({
        "GET /zero": FaultScript.status(429, { retryAfter: 0 }),
        "GET /past": FaultScript.sequence(
          FaultScript.status(503, { retryAfter: new Date(Date.UTC(2015, 9, 21, 7, 28)) }),
          FaultScript.json(ada)
        )
      }, retryWith({ baseDelay: "1 second", retryAfterJitter: 0.1 }))
      // a clock in 2026, so that a 2015 date is in the past
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const failure = failureOf(yield* runVirtual(api.get("/zero")))
      expect(failure._tag).toBe("RateLimited")
      expect(Policy.attemptsOf(failure)).toBe(3)
      const zero = yield* arrivals(scripted)
      expect(zero.map((t) => t - zero[0])).toEqual([0, 0, 0])
      expect(yield* runVirtual(api.get("/past", { schema: User }))).toEqual(Exit.succeed(ada))
      const past = (yield* arrivals(scripted)).slice(3)
      expect(past.map((t) => t - past[0])).toEqual([0, 0])
    }))

  it.scoped("the jitter on a server wait is at most 10 % and at most 1 s", () =>
    Effect.gen(function*() {
      const { api, scripted } = yield* harness({
        "GET /a": FaultScript.sequence(FaultScript.status(429, { retryAfter: 25 }), FaultScript.json(ada))
      }, retryWith({ retryAfterJitter: 0.1, maxRetryAfter: "1 minute" }))
      expect(yield* runVirtual(api.get("/a", { schema: User }))).toEqual(Exit.succeed(ada))
      const [first, second] = yield* arrivals(scripted)
      expect(second - first).toBeGreaterThanOrEqual(25_000)
      expect(second - first).toBeLessThanOrEqual(26_000)
    }))

  it.scoped("a server's wait that fits the deadline is retried whatever the jitter adds, never past the deadline", () =>
    Effect.gen(function*() {
      for (let seed = 0; seed < 10; seed++) {
        const { api, scripted } = yield* harness(
          {
            "GET /a": FaultScript.sequence(FaultScript.status(503, { retryAfter: 10 }), FaultScript.json(ada))
          },
          retryWith({ retryAfterJitter: 0.1 }, { ...exact, totalTimeout: "10500 millis", attemptTimeout: "5 seconds" })
        )
        const exit = yield* runVirtual(Effect.withRandom(api.get("/a", { schema: User }), Random.make(seed)))
        expect(exit).toEqual(Exit.succeed(ada))
        const [first, second] = yield* arrivals(scripted)
        expect(second - first).toBeGreaterThanOrEqual(10_000)
        expect(second - first).toBeLessThan(10_500)
      }
    }))

  it.scoped("maxElapsed holds a server's wait too: no retry starts later than it after the first failure", () =>
    Effect.gen(function*() {
      const options = retryWith({ maxElapsed: "5 seconds", maxAttempts: 5 })
      const longer = yield* harness({ "GET /a": FaultScript.status(503, { retryAfter: 10 }) }, options)
      const failure = failureOf(yield* runVirtual(longer.api.get("/a")))
      expect(failure._tag).toBe("ServerError")
      expect(Policy.attemptsOf(failure)).toBe(1)
      expect(yield* arrivals(longer.scripted)).toEqual([0])
      // shorter waits are made while they fit: at 2 s and 4 s, not at 6 s
      const shorter = yield* harness({ "GET /a": FaultScript.status(503, { retryAfter: 2 }) }, options)
      const started = yield* TestClock.currentTimeMillis
      expect(Policy.attemptsOf(failureOf(yield* runVirtual(shorter.api.get("/a"))))).toBe(3)
      expect((yield* arrivals(shorter.scripted)).map((t) => t - started)).toEqual([0, 2000, 4000])
    }))

  it.scoped("an invalid delay-seconds (1.5, +1, 1e3) is no hint: the backoff applies", () =>
    Effect.gen(function*() {
      const { api, scripted } = yield* harness({
        "GET /a": FaultScript.sequence(
          FaultScript.status(503, { retryAfter: "1.5" }),
          FaultScript.status(503, { retryAfter: "+1" }),
          FaultScript.status(503, { retryAfter: "1e3" }),
          FaultScript.json(ada)
        )
      }, retryWith({ maxAttempts: 4 }))
      expect(yield* runVirtual(api.get("/a", { schema: User }))).toEqual(Exit.succeed(ada))
      expect(yield* arrivals(scripted)).toEqual([0, 100, 300, 700])
    }))

  it.scoped("by default only 413, 429 and 503 hints count: a 500 with Retry-After retries on the backoff", () =>
    Effect.gen(function*() {
      const routes = {
        "GET /a": FaultScript.sequence(FaultScript.status(500, { retryAfter: 5 }), FaultScript.json(ada))
      }
      const byDefault = yield* harness(routes, retryWith({}))
      yield* runVirtual(byDefault.api.get("/a"))
      expect(yield* arrivals(byDefault.scripted)).toEqual([0, 100])
      const configured = yield* harness(routes, retryWith({ retryAfterStatuses: [500] }))
      yield* runVirtual(configured.api.get("/a"))
      const [first, second] = yield* arrivals(configured.scripted)
      expect(second - first).toBe(5000)
    }))

  it.scoped("a 5xx listed in retryAfterStatuses takes a reset sent without a remaining count as the wait, as a 503 does", () =>
    Effect.gen(function*() {
      // found by the faraday-retry port (a 504 with `RateLimit-Reset` and `retry_statuses: 504`)
      for (const header of ["ratelimit-reset", "x-ratelimit-reset"]) {
        for (const status of [503, 504, 500]) {
          const { api, scripted } = yield* harness({
            "GET /a": FaultScript.sequence(
              FaultScript.status(status, { headers: { [header]: "5" } }),
              FaultScript.json(ada)
            )
          }, retryWith({ statuses: [500, 503, 504], retryAfterStatuses: [500, 503, 504] }))
          expect(yield* runVirtual(api.get("/a", { schema: User }))).toEqual(Exit.succeed(ada))
          const [first, second] = yield* arrivals(scripted)
          expect(second - first).toBe(5000)
        }
      }
    }))

  it.scoped("respectRetryAfter: false ignores the server's wait, even one beyond maxRetryAfter", () =>
    Effect.gen(function*() {
      const { api, scripted } = yield* harness({
        "GET /a": FaultScript.sequence(FaultScript.status(429, { retryAfter: 3600 }), FaultScript.json(ada))
      }, retryWith({ respectRetryAfter: false }))
      expect(yield* runVirtual(api.get("/a", { schema: User }))).toEqual(Exit.succeed(ada))
      expect(yield* arrivals(scripted)).toEqual([0, 100])
    }))

  it.scoped("respectRetryAfter: false does not pause the upstream either", () =>
    Effect.gen(function*() {
      const { api, scripted } = yield* harness({
        "GET /a": FaultScript.status(503, { retryAfter: 600 }),
        "GET /b": FaultScript.json(ada)
      }, retryWith({ respectRetryAfter: false, maxAttempts: 1 }))
      expect(failureOf(yield* runVirtual(api.get("/a"), "1 millis"))._tag).toBe("ServerError")
      expect(yield* runVirtual(api.get("/b", { schema: User }), "1 millis")).toEqual(Exit.succeed(ada))
      expect((yield* arrivals(scripted)).length).toBe(2)
    }))

  it.scoped("respectRetryAfter: false on an endpoint ignores the pause another endpoint's 429 set on the key", () =>
    Effect.gen(function*() {
      // found by prop-PolicyGrouping: the option "ignores server waits (and pauses) entirely", but a call of such an
      // endpoint was held by (or refused for) a pause of its key that a call of another endpoint had set
      const { api, scripted } = yield* harness({
        "GET /a": FaultScript.status(429, { retryAfter: 10 }),
        "GET /health": FaultScript.json(ada),
        "GET /b": FaultScript.json(ada)
      }, {
        ...retryWith({ maxAttempts: 1 }),
        endpoints: { "GET /health": { retry: { maxAttempts: 1, respectRetryAfter: false } } }
      })
      expect(failureOf(yield* runVirtual(api.get("/a"), "1 millis"))._tag).toBe("RateLimited")
      // sent at once, through the pause
      const health = yield* Effect.fork(api.get("/health", { schema: User }))
      yield* TestClock.adjust("1 millis")
      expect(yield* Fiber.poll(health)).toEqual(Option.some(Exit.succeed(ada)))
      // a call that respects the server's wait still waits the pause out
      yield* runVirtual(api.get("/b", { schema: User }), "1 minute")
      expect((yield* scripted.requests).map((r) => [r.route, r.arrivedAt])).toEqual([
        ["GET /a", 0],
        ["GET /health", 1],
        ["GET /b", 10_000]
      ])
    }))

  it.scoped("retry: false keeps the Retry-After rules of the level it turns off (a host's respectRetryAfter: false)", () =>
    Effect.gen(function*() {
      // `retry: false` on an endpoint fell back to the package's rules, so under a level that ignores server waits
      // its 429 paused the key, and its own next call was held by that pause
      const { api, scripted } = yield* harness({
        "GET /a": FaultScript.sequence(FaultScript.status(429, { retryAfter: 10 }), FaultScript.json(ada)),
        "GET /b": FaultScript.json(ada)
      }, {
        ...retryWith({ maxAttempts: 3, respectRetryAfter: false }),
        endpoints: {
          "GET /a": { retry: false },
          "GET /b": { retry: { maxAttempts: 1, respectRetryAfter: true } }
        }
      })
      expect(failureOf(yield* runVirtual(api.get("/a"), "1 millis"))._tag).toBe("RateLimited")
      expect(yield* runVirtual(api.get("/a", { schema: User }), "1 millis")).toEqual(Exit.succeed(ada))
      // no pause was set: a call that respects pauses goes at once too
      expect(yield* runVirtual(api.get("/b", { schema: User }), "1 millis")).toEqual(Exit.succeed(ada))
      expect((yield* scripted.requests).map((r) => [r.route, r.arrivedAt])).toEqual([
        ["GET /a", 0],
        ["GET /a", 1],
        ["GET /b", 2]
      ])
    }))

  it.scoped("statuses is an allow-list for failures with a status; connection failures keep the default", () =>
    Effect.gen(function*() {
      const { api, scripted } = yield* harness({
        "GET /409": FaultScript.sequence(FaultScript.status(409), FaultScript.json(ada)),
        "GET /503": FaultScript.sequence(FaultScript.status(503), FaultScript.json(ada)),
        "GET /reset": FaultScript.sequence(FaultScript.reset("beforeHeaders"), FaultScript.json(ada))
      }, retryWith({ statuses: [409] }))
      expect(yield* runVirtual(api.get("/409", { schema: User }))).toEqual(Exit.succeed(ada))
      expect(failureOf(yield* runVirtual(api.get("/503")))._tag).toBe("ServerError")
      expect(yield* runVirtual(api.get("/reset", { schema: User }))).toEqual(Exit.succeed(ada))
      const requests = yield* scripted.requests
      expect(requests.map((r) => r.route)).toEqual(["GET /409", "GET /409", "GET /503", "GET /reset", "GET /reset"])
    }))

  it.scoped("statuses judges status failures only: a 200 whose body is cut short keeps the default (retried)", () =>
    Effect.gen(function*() {
      // found by the httpx-retries port (a body read that fails, under a `status_forcelist`): the truncated body carries
      // its response's 200, which no allow-list of failing statuses lists, and was not retried
      const { api, scripted } = yield* harness({
        "GET /cut": FaultScript.sequence(FaultScript.truncated({ body: ada }), FaultScript.json(ada))
      }, retryWith({ statuses: [429, 503] }))
      expect(yield* runVirtual(api.get("/cut", { schema: User }))).toEqual(Exit.succeed(ada))
      // a body that does not decode keeps its default too: not retried, even with 200 listed
      const listed = yield* harness({
        "GET /bad": FaultScript.sequence(FaultScript.json({ id: "x" }), FaultScript.json(ada))
      }, retryWith({ statuses: [200, 503] }))
      expect(failureOf(yield* runVirtual(listed.api.get("/bad", { schema: User })))._tag).toBe("SchemaMismatch")
      expect((yield* scripted.requests).map((r) => r.route)).toEqual(["GET /cut", "GET /cut"])
      expect((yield* listed.scripted.requests).length).toBe(1)
    }))

  it.scoped("methods is a case-insensitive allow-list ANDed with the failure; an empty list disables retries", () =>
    Effect.gen(function*() {
      const routes = {
        "GET /a": FaultScript.sequence(FaultScript.status(503), FaultScript.json(ada)),
        "PUT /a": FaultScript.sequence(FaultScript.status(503), FaultScript.json(ada)),
        "GET /404": FaultScript.status(404),
        "TRACE /a": FaultScript.sequence(FaultScript.status(503), FaultScript.status(200))
      }
      const onlyGet = yield* harness(routes, retryWith({ methods: ["get", "TRACE"] }))
      expect(yield* runVirtual(onlyGet.api.get("/a", { schema: User }))).toEqual(Exit.succeed(ada))
      expect(failureOf(yield* runVirtual(onlyGet.api.put("/a")))._tag).toBe("ServerError")
      expect(failureOf(yield* runVirtual(onlyGet.api.get("/404")))._tag).toBe("ClientError")
      const trace = HttpClientRequest.make("TRACE" as "GET")(`${base}/a`)
      expect(Exit.isSuccess(yield* runVirtual(onlyGet.api.execute(trace)))).toBe(true)
      expect((yield* onlyGet.scripted.requests).map((r) => r.route)).toEqual([
        "GET /a",
        "GET /a",
        "PUT /a",
        "GET /404",
        "TRACE /a",
        "TRACE /a"
      ])
      const none = yield* harness(routes, retryWith({ methods: [] }))
      expect(failureOf(yield* runVirtual(none.api.get("/a")))._tag).toBe("ServerError")
      expect((yield* none.scripted.requests).length).toBe(1)
    }))

  it.scoped("a method listed in methods is declared safe to repeat: a listed POST retries a 503, as ky, got and urllib3", () =>
    Effect.gen(function*() {
      const routes = {
        "POST /a": FaultScript.sequence(FaultScript.status(503), FaultScript.status(500), FaultScript.json(ada)),
        "PATCH /a": FaultScript.sequence(FaultScript.status(503), FaultScript.json(ada))
      }
      // urllib3's `Retry(allowed_methods=["POST"], status_forcelist=[500, 503])`
      const listed = yield* harness(routes, retryWith({ methods: ["post"], statuses: [500, 503] }))
      expect(yield* runVirtual(listed.api.post("/a", { schema: User }))).toEqual(Exit.succeed(ada))
      expect(failureOf(yield* runVirtual(listed.api.patch("/a")))._tag).toBe("ServerError")
      expect((yield* listed.scripted.requests).map((r) => r.route)).toEqual([
        "POST /a",
        "POST /a",
        "POST /a",
        "PATCH /a"
      ])
      // unlisted, a POST that reached the server is not repeated
      const unlisted = yield* harness(routes, retryWith({ statuses: [500, 503] }))
      expect(failureOf(yield* runVirtual(unlisted.api.post("/a")))._tag).toBe("ServerError")
      expect((yield* unlisted.scripted.requests).length).toBe(1)
    }))

  it.scoped("a delay function (1-based) replaces the backoff, capped by maxDelay", () =>
    Effect.gen(function*() {
      const seen: Array<[number, string]> = []
      const { api, scripted } = yield* harness(
        {
          "GET /a": FaultScript.status(503)
        },
        retryWith({
          maxAttempts: 4,
          maxDelay: "600 millis",
          delay: (attempt, failure) => {
            seen.push([attempt, failure._tag])
            return Duration.millis(attempt * 250)
          }
        })
      )
      const failure = failureOf(yield* runVirtual(api.get("/a")))
      expect(failure._tag === "ServerError" && failure.attempts).toBe(4)
      expect(yield* arrivals(scripted)).toEqual([0, 250, 750, 1350])
      expect(seen).toEqual([[1, "ServerError"], [2, "ServerError"], [3, "ServerError"]])
    }))

  it.scoped("a custom Schedule replaces the backoff but not the idempotency rules, the hints or the deadline", () =>
    Effect.gen(function*() {
      const { api, scripted } = yield* harness(
        {
          "GET /a": FaultScript.sequence(
            FaultScript.status(503),
            FaultScript.status(503, { retryAfter: 1 }),
            FaultScript.json(ada)
          ),
          "POST /orders": FaultScript.status(503),
          "GET /slow": FaultScript.status(503)
        },
        retryWith({ schedule: Schedule.spaced("700 millis"), maxAttempts: 5 }, {
          ...exact,
          totalTimeout: "2 seconds",
          attemptTimeout: "1 second"
        })
      )
      expect(yield* runVirtual(api.get("/a", { schema: User }))).toEqual(Exit.succeed(ada))
      expect(yield* arrivals(scripted)).toEqual([0, 700, 1700])
      expect(failureOf(yield* runVirtual(api.post("/orders")))._tag).toBe("ServerError")
      const slow = failureOf(yield* runVirtual(api.get("/slow")))
      // 0, 700, 1400: a fourth at 2100 would start after the 2 s deadline
      expect(slow._tag === "ServerError" && slow.attempts).toBe(3)
      expect((yield* scripted.requests).map((r) => r.route)).toEqual([
        "GET /a",
        "GET /a",
        "GET /a",
        "POST /orders",
        "GET /slow",
        "GET /slow",
        "GET /slow"
      ])
    }))

  it.scoped("retryOn is told the number of the attempt that failed", () =>
    Effect.gen(function*() {
      const seen: Array<number> = []
      const { scripted, api } = yield* harness(
        { "GET /a": FaultScript.status(503) },
        retryWith({
          maxAttempts: 5,
          retryOn: { ServerError: (_, attempt) => (seen.push(attempt), attempt < 2) }
        })
      )
      const failure = failureOf(yield* runVirtual(api.get("/a")))
      expect(failure._tag === "ServerError" && failure.attempts).toBe(2)
      expect(seen).toEqual([1, 2])
      expect((yield* scripted.requests).length).toBe(2)
    }))

  it.scoped("an async retryOn is a defect naming the option, not a retry of every failure", () =>
    Effect.gen(function*() {
      // a Promise is truthy: read as an answer, `async () => false` would retry every failure
      const never = async () => false
      for (const retryOn of [never, { ServerError: never }] as Array<Policy.RetryOn>) {
        const { api, scripted } = yield* harness({ "GET /a": FaultScript.status(503) }, retryWith({ retryOn }))
        const exit = yield* runVirtual(api.get("/a"))
        const defect = Exit.isFailure(exit) ? Cause.dieOption(exit.cause) : Option.none()
        expect(Option.getOrUndefined(defect)).toBeInstanceOf(TypeError)
        expect(String(Option.getOrUndefined(defect))).toMatch(/retry\.retryOn(\.ServerError)? returned a Promise/)
        expect((yield* scripted.requests).length).toBe(1)
      }
      // so is an async countsAsFailure: the call's own failure comes back, the defect after it, and nothing is counted
      const counted = yield* harness({ "GET /a": FaultScript.status(503) }, {
        ...quick,
        retry: false,
        circuitBreaker: { consecutiveFailures: 1, countsAsFailure: never as never }
      })
      const exit = yield* runVirtual(counted.api.get("/a"))
      expect(Exit.isFailure(exit) && Chunk.toReadonlyArray(Cause.failures(exit.cause))).toMatchObject([
        { _tag: "ServerError", status: 503 }
      ])
      expect(Exit.isFailure(exit) && Chunk.toReadonlyArray(Cause.defects(exit.cause)).map(String)).toEqual([
        "TypeError: Policy: circuitBreaker.countsAsFailure returned a Promise; the predicate must answer true or false at once (it cannot be async)"
      ])
      const breaker = Option.getOrThrow(yield* counted.policy.circuitBreaker(HttpClientRequest.get(`${base}/a`)))
      expect(yield* breaker.snapshot).toMatchObject({ state: "Closed", calls: 0 })
      // a predicate that answers a plain truthy or falsy value is read as it always was
      const loose = yield* harness(
        { "GET /a": FaultScript.status(503) },
        retryWith({
          maxAttempts: 2,
          retryOn: ((failure: HttpFailure.HttpFailure) => "status" in failure && failure.status) as never
        })
      )
      expect(failureOf(yield* runVirtual(loose.api.get("/a")))).toMatchObject({ _tag: "ServerError", attempts: 2 })
    }))

  it.scoped("15 quick attempts are allowed under a deadline", () =>
    Effect.gen(function*() {
      const { api, scripted } = yield* harness({ "GET /a": FaultScript.status(503) }, {
        ...exact,
        totalTimeout: "10 seconds",
        retry: { maxAttempts: 15, delay: () => "10 millis", budget: false }
      })
      const failure = failureOf(yield* runVirtual(api.get("/a")))
      expect(failure._tag === "ServerError" && failure.attempts).toBe(15)
      expect(yield* arrivals(scripted)).toEqual(Array.from({ length: 15 }, (_, i) => i * 10))
    }))

  it.effect("retryUnsent: false never repeats a POST, even after a refused connection", () =>
    Effect.gen(function*() {
      let calls = 0
      const client = HttpClient.make((request) => {
        calls++
        return Effect.fail(
          new HttpClientError.RequestError({
            request,
            reason: "Transport",
            cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" })
          })
        )
      })
      const failure = yield* Effect.scoped(Effect.gen(function*() {
        const api = SturdyClient.makeWith(client, {
          baseUrl: base,
          policy: yield* Policy.make(retryWith({ retryUnsent: false }))
        })
        return failureOf(yield* runVirtual(api.post("/orders")))
      }))
      expect(failure._tag === "ConnectionError" && failure.reason).toBe("Refused")
      expect(Policy.attemptsOf(failure)).toBe(1)
      expect(calls).toBe(1)
    }))

  it.scoped("the final failure says how many attempts were made, in its message and JSON, and catchTag still works", () =>
    Effect.gen(function*() {
      const { api } = yield* harness({ "GET /a": FaultScript.status(503), "GET /404": FaultScript.status(404) })
      const exhausted = failureOf(yield* runVirtual(api.get("/a")))
      expect(exhausted._tag === "ServerError" && exhausted.attempts).toBe(3)
      expect(Policy.attemptsOf(exhausted)).toBe(3)
      expect(exhausted.message).toMatch(/^503 Service Unavailable GET http:\/\/api\.test\/a.* \(after 3 attempts\)$/)
      expect(JSON.parse(JSON.stringify(exhausted))).toMatchObject({ _tag: "ServerError", status: 503, attempts: 3 })
      const notFound = failureOf(yield* runVirtual(api.get("/404")))
      expect(notFound.message).toContain("(after 1 attempt)")
      const caught = yield* runVirtual(
        api.get("/a").pipe(Effect.catchTag("ServerError", (e) => Effect.succeed(`gave up after ${e.attempts}`)))
      )
      expect(caught).toEqual(Exit.succeed("gave up after 3"))
    }))

  it.scoped("maxAttempts: Infinity retries until retry.maxElapsed; under a short deadline, attempts get a tenth of it", () =>
    Effect.gen(function*() {
      const { api, scripted } = yield* harness({ "GET /a": FaultScript.status(503) }, {
        ...quick,
        totalTimeout: false,
        retry: {
          baseDelay: "1 second",
          maxDelay: "1 second",
          jitter: "none",
          budget: false,
          maxAttempts: Infinity,
          maxElapsed: "20 seconds"
        }
      })
      const failure = failureOf(yield* runVirtual(api.get("/a")))
      // a retry every second after the first failure, the last one starting 20 s after it
      expect(failure).toMatchObject({ _tag: "ServerError", status: 503 })
      expect((yield* scripted.requests).length).toBe(21)
      expect(Policy.attemptsOf(failure)).toBe(21)
      const short = yield* Policy.make({ totalTimeout: "5 seconds", retry: { maxAttempts: Infinity } })
      expect(short.describe(HttpClientRequest.get("https://api.test/")).attemptTimeout).toEqual(
        Option.some(Duration.millis(500))
      )
      expect(short.describe(HttpClientRequest.get("https://api.test/")).maxAttempts).toBe(Infinity)
    }))

  it.scoped("a totalTimeout under 10 s without an attemptTimeout derives totalTimeout ÷ maxAttempts", () =>
    Effect.gen(function*() {
      const policy = yield* Policy.make({ totalTimeout: "6 seconds", retry: { maxAttempts: 4 } })
      expect(policy.describe(HttpClientRequest.get("https://api.test/")).attemptTimeout).toEqual(
        Option.some(Duration.millis(1500))
      )
      const host = yield* Policy.make({
        totalTimeout: "3 seconds",
        hosts: { "slow.test": { totalTimeout: "1 minute" } }
      })
      expect(host.describe(HttpClientRequest.get("https://api.test/")).attemptTimeout).toEqual(
        Option.some(Duration.seconds(1))
      )
      expect(host.describe(HttpClientRequest.get("https://slow.test/")).attemptTimeout).toEqual(
        Option.some(Duration.seconds(10))
      )
    }))

  it.scoped("a totalTimeout under 1 ms without an attemptTimeout is accepted, the attempt derived within it", () =>
    Effect.gen(function*() {
      // the derived attempt timeout is whole milliseconds, at least 1, but never longer than the deadline: unset, the
      // attemptTimeout never fails the check that it must not exceed totalTimeout
      for (const [total, maxAttempts] of [[0.5, 1], [0.25, 3], [0.999, 10]] as const) {
        const policy = yield* Policy.make({ totalTimeout: Duration.millis(total), retry: { maxAttempts } })
        expect(policy.describe(HttpClientRequest.get("https://api.test/")).attemptTimeout).toEqual(
          Option.some(Duration.millis(total))
        )
      }
      const few = yield* Policy.make({ totalTimeout: "2 millis", retry: { maxAttempts: 3 } })
      expect(few.describe(HttpClientRequest.get("https://api.test/")).attemptTimeout).toEqual(
        Option.some(Duration.millis(1))
      )
    }))
})

describe("Policy validation: every problem at once", () => {
  const problemsOf = (options: Policy.Options) => {
    const result = Policy.validate(options)
    return Either.isLeft(result) ? result.left.problems.map((p) => `${p.field} ${p.detail}`) : []
  }

  it("lists every problem, each naming the field the user set", () => {
    const problems = problemsOf({
      retry: { maxDelay: "1 second", retryAfterJitter: 2 },
      circuitBreaker: { halfOpenMaxProbes: 0, successThreshold: 0 },
      hedging: { delay: "100 millis", maxHedges: -1 },
      deadlineHeader: "x bad header",
      retryCountHeader: "x:count"
    })
    expect(problems).toEqual([
      "retry.maxDelay (1s, set at retry.maxDelay) must be at least retry.baseDelay (2s, the default)",
      "retry.retryAfterJitter must be between 0 and 1",
      "hedging.maxHedges (-1) must be an integer of at least 0",
      "deadlineHeader (\"x bad header\") is not a valid header name (an RFC 9110 token)",
      "retryCountHeader (\"x:count\") is not a valid header name (an RFC 9110 token)",
      "circuitBreaker.halfOpenMaxProbes (0) must be an integer of at least 1",
      "circuitBreaker.successThreshold (0) must be an integer of at least 1"
    ].sort((a, b) => problems.indexOf(a) - problems.indexOf(b)))
    expect(problems.length).toBe(7)
    const result = Policy.validate({ retry: { maxDelay: "1 second" }, circuitBreaker: { successThreshold: 0 } })
    expect(Either.isLeft(result) && result.left.message).toBe(
      "invalid policy (2 problems): retry.maxDelay (1s, set at retry.maxDelay) must be at least retry.baseDelay " +
        "(2s, the default); circuitBreaker.successThreshold (0) must be an integer of at least 1"
    )
  })

  it("circuitBreaker.maxProbeDuration: zero, negative or past a timer is an InvalidPolicy naming it; Infinity is off", () => {
    expect(problemsOf({ circuitBreaker: { maxProbeDuration: 0 } })).toEqual([
      "circuitBreaker.maxProbeDuration must be longer than zero"
    ])
    // a negative one is refused as negative (Policy's rule for every duration, which Effect would read as zero)
    expect(problemsOf({ hosts: { "api.test": { circuitBreaker: { maxProbeDuration: -5 } } } })).toEqual([
      "hosts[\"api.test\"].circuitBreaker.maxProbeDuration (-5) must not be negative"
    ])
    expect(problemsOf({ circuitBreaker: { maxProbeDuration: "30 days" } })[0]).toMatch(
      /^circuitBreaker\.maxProbeDuration \(30d\) exceeds/
    )
    expect(problemsOf({ circuitBreaker: { maxProbeDuration: "nonsense" as Duration.DurationInput } })).toEqual([
      "circuitBreaker.maxProbeDuration is not a duration"
    ])
    expect(problemsOf({ circuitBreaker: { maxProbeDuration: Infinity } })).toEqual([])
    expect(problemsOf({ circuitBreaker: { maxProbeDuration: "2 seconds" } })).toEqual([])
  })

  it("circuitBreaker.slidingWindow { calls }: an integer of at least 1, and no conflict with attemptTimeout", () => {
    expect(problemsOf({ circuitBreaker: { slidingWindow: { calls: 0 } } })).toEqual([
      "circuitBreaker.slidingWindow.calls (0) must be an integer of at least 1"
    ])
    expect(problemsOf({ hosts: { "api.test": { circuitBreaker: { slidingWindow: { calls: 2.5 } } } } })).toEqual([
      "hosts[\"api.test\"].circuitBreaker.slidingWindow.calls (2.5) must be an integer of at least 1"
    ])
    // a 30 s time window must be at least twice a 20 s attempt; a window of calls holds calls however long they take
    expect(problemsOf({ attemptTimeout: "20 seconds" })).toHaveLength(1)
    expect(problemsOf({ attemptTimeout: "20 seconds", circuitBreaker: { slidingWindow: { calls: 100 } } })).toEqual([])
    const options = Effect.runSync(Effect.withConfigProvider(
      Policy.config,
      ConfigProvider.fromJson({
        circuitBreaker: { slidingWindowCalls: 100, maxProbeDuration: "3 seconds", failureCountThreshold: 7 }
      })
    ))
    expect(options.circuitBreaker).toEqual({
      slidingWindow: { calls: 100 },
      maxProbeDuration: Duration.seconds(3),
      failureCountThreshold: 7
    })
  })

  it("names which default an option conflicted with, and where the other was set", () => {
    expect(problemsOf({ retry: { baseDelay: "1 minute" } })).toEqual([
      "retry.baseDelay (1m, set at retry.baseDelay) must not exceed retry.maxDelay (30s, the default)"
    ])
    expect(problemsOf({ attemptTimeout: "20 seconds" })).toEqual([
      "attemptTimeout (20s, set at attemptTimeout) must be at most half of circuitBreaker.slidingWindow (30s, the default)"
    ])
    expect(problemsOf({ totalTimeout: "5 seconds", attemptTimeout: "6 seconds" })[0]).toContain(
      "leave attemptTimeout unset to have it derived"
    )
  })

  it("rejects durations a timer cannot hold (above 2^31 − 1 ms), naming the field", () => {
    const problems = problemsOf({
      totalTimeout: "25 days",
      attemptTimeout: Duration.millis(2 ** 31),
      retry: { baseDelay: "30 days", maxDelay: "40 days", maxRetryAfter: "30 days" },
      circuitBreaker: { slidingWindow: "60 days", breakDuration: "30 days" },
      bulkhead: { maxWait: "30 days" },
      hedging: { delay: "30 days" }
    })
    expect(problems.map((p) => p.split(" ")[0])).toEqual([
      "totalTimeout",
      "retry.baseDelay",
      "retry.maxDelay",
      "retry.maxRetryAfter",
      "attemptTimeout",
      "hedging.delay",
      "circuitBreaker.slidingWindow",
      "circuitBreaker.breakDuration",
      "bulkhead.maxWait"
    ])
    for (const problem of problems) expect(problem).toContain("2^31 − 1 ms")
    expect(problemsOf({ totalTimeout: Duration.millis(2 ** 31 - 1), attemptTimeout: "10 seconds" })).toEqual([])
    expect(problemsOf({ totalTimeout: Duration.infinity, attemptTimeout: Duration.infinity })).toEqual([])
  })

  it("rejects a schedule and a delay function together, and status lists with non-statuses", () => {
    expect(problemsOf({ retry: { schedule: Schedule.spaced("1 second"), delay: () => 1 } })[0]).toContain(
      "retry.schedule and retry.delay are alternatives"
    )
    expect(problemsOf({ retry: { statuses: [503, 1000], retryAfterStatuses: [42] } })).toEqual([
      "retry.statuses (1000) must list status codes, integers from 100 to 599",
      "retry.retryAfterStatuses (42) must list status codes, integers from 100 to 599"
    ])
  })

  it("rejects a retryOn that is neither a predicate nor an object of failure tags (fetch-retry's `retryOn: [503]`)", () => {
    const bad = (retryOn: unknown) => problemsOf({ retry: { retryOn: retryOn as Policy.RetryOn } })
    // a list of statuses, a number or null was read as "no entry", so the default rules silently applied
    expect(bad([503, 404])).toEqual([
      "retry.retryOn must be a predicate over the failure or an object from failure tags to true, false or a predicate" +
      " (a list of statuses belongs in retry.statuses)"
    ])
    expect(bad(503)).toHaveLength(1)
    expect(bad(null)).toHaveLength(1)
    // an entry under a misspelt tag was never consulted; a non-boolean, non-function entry threw at the first failure
    expect(bad({ ServerErorr: true, ServerError: 503 })).toEqual([
      "retry.retryOn.ServerErorr is not the tag of an HttpFailure",
      "retry.retryOn.ServerError must be true, false or a predicate over the failure"
    ])
    expect(problemsOf({ endpoints: { "GET /x": { retry: { retryOn: [503] as unknown as Policy.RetryOn } } } })[0])
      .toMatch(/^endpoints\["GET \/x"\]\.retry\.retryOn must be/)
    // what the type allows is accepted
    expect(bad(() => true)).toEqual([])
    expect(bad({ ServerError: false, ClientError: (e: { status: number }) => e.status === 409, Timeout: undefined }))
      .toEqual([])
  })

  it("rejects options, sections and overrides that are no object of options, instead of reading them as unset", () => {
    // a string as the options, or as a section, was read as "nothing set"; `null` as a section threw a TypeError
    // from `validate`
    expect(problemsOf("fast" as unknown as Policy.Options)).toEqual(["options must be an object of options"])
    expect(problemsOf({
      retry: "fast",
      circuitBreaker: 5,
      bulkhead: null,
      rateLimit: [],
      hedging: true
    } as unknown as Policy.Options)).toEqual([
      "retry must be an object of options, or false",
      "hedging must be an object of options, or false",
      "circuitBreaker must be an object of options, or false",
      "bulkhead must be an object of options, or false",
      "rateLimit must be an object of options, or false"
    ])
    expect(problemsOf({ hosts: { "api.test": null }, endpoints: "GET /x" } as unknown as Policy.Options)).toEqual([
      "endpoints must be an object of options",
      "hosts[\"api.test\"] must be an object of options"
    ])
    expect(problemsOf({ hosts: { "api.test": { retry: null } } } as unknown as Policy.Options)).toEqual([
      "hosts[\"api.test\"].retry must be an object of options, or false"
    ])
    // `false` turns a section off, and unset inherits: both still fine
    expect(problemsOf({ retry: false, circuitBreaker: false, bulkhead: false, hedging: false, rateLimit: false }))
      .toEqual([])
    expect(problemsOf({ hosts: { "api.test": { retry: false } }, endpoints: { "GET /x": {} } })).toEqual([])
  })

  it("a problem the base or a host sets is named once, where it was set, not again under each host and endpoint", () => {
    const fields = (options: Policy.Options) => problemsOf(options).map((problem) => problem.split(" ")[0])
    expect(fields({ retry: { maxAttempts: 0 }, hosts: { "a.test": {} }, endpoints: { "/x": {} } }))
      .toEqual(["retry.maxAttempts"])
    expect(
      fields({
        totalTimeout: "1 second",
        attemptTimeout: "2 seconds",
        hosts: { "a.test": {} },
        endpoints: { "/x": {} }
      })
    )
      .toEqual(["attemptTimeout"])
    expect(fields({ hosts: { "a.test": { bulkhead: { maxConcurrent: 0 } } }, endpoints: { "/x": {} } }))
      .toEqual(["hosts[\"a.test\"].bulkhead.maxConcurrent"])
    // set again where it is inherited, it is named there too
    expect(fields({ retry: { maxAttempts: 0 }, hosts: { "a.test": { retry: { maxAttempts: 0 } } } }))
      .toEqual(["retry.maxAttempts", "hosts[\"a.test\"].retry.maxAttempts"])
    // a conflict a host makes with the base's value is the host's
    expect(fields({ attemptTimeout: "2 seconds", hosts: { "a.test": { totalTimeout: "1 second" } } }))
      .toEqual(["hosts[\"a.test\"].attemptTimeout"])
  })

  it("a problem of an endpoint under a host names the host as the user spelt it", () => {
    expect(problemsOf({
      hosts: { "API.example.com": { totalTimeout: "1 second" } },
      endpoints: { "/x": { attemptTimeout: "2 seconds" } }
    })).toEqual([
      "hosts[\"API.example.com\"].endpoints[\"/x\"].attemptTimeout (2s, set at hosts[\"API.example.com\"].endpoints[\"/x\"]." +
      "attemptTimeout) must not exceed totalTimeout (1s, set at hosts[\"API.example.com\"].totalTimeout); leave " +
      "attemptTimeout unset to have it derived (totalTimeout ÷ maxAttempts when under 10s)"
    ])
  })

  it("a hosts entry no request can match is named, and so is a second entry for the same host in other case", () => {
    const noHost = "is no host: write a host name or address, with a port if it is not the scheme's default " +
      `("api.example.com", "api.example.com:8443", "[::1]:8080")`
    const problems = problemsOf({
      hosts: {
        "https://a.test": {},
        "a.test/": {},
        "": {},
        "a.test:https": {},
        "user@a.test": {},
        "A.test": {},
        "a.test": {},
        "[::1]:8080": {},
        "b.test:8443": {}
      }
    })
    expect(problems).toEqual([
      `hosts["https://a.test"] ${noHost}`,
      `hosts["a.test/"] ${noHost}`,
      `hosts[""] ${noHost}`,
      `hosts["a.test:https"] ${noHost}`,
      `hosts["user@a.test"] ${noHost}`,
      `hosts["a.test"] names the same host as hosts["A.test"] (host names are matched without case)`
    ])
  })

  it.scoped("an endpoint pattern's ** matches any number of segments wherever it stands, a second one too", () =>
    Effect.gen(function*() {
      const policy = yield* Policy.make({
        endpoints: {
          "GET /a/**/b/**": { retry: { maxAttempts: 5 } },
          "GET /c/**/d": { retry: { maxAttempts: 2 } }
        }
      })
      const attempts = (path: string) => policy.describe(HttpClientRequest.get(`https://api.test${path}`)).maxAttempts
      expect([attempts("/a/b"), attempts("/a/x/y/b/z"), attempts("/a/x/b"), attempts("/a/x/c")]).toEqual([5, 5, 5, 3])
      expect([attempts("/c/d"), attempts("/c/x/y/d"), attempts("/c/x/d/e")]).toEqual([2, 2, 3])
    }))

  it.scoped("a hosts entry and a request URL name one host whether written in Unicode or in ASCII (IDN)", () =>
    Effect.gen(function*() {
      const policy = yield* Policy.make({
        hosts: {
          "bücher.example": { retry: { maxAttempts: 5 } },
          "xn--caf-dma.example:8443": { retry: { maxAttempts: 2 } }
        }
      })
      const attempts = (url: string) => policy.describe(HttpClientRequest.get(url)).maxAttempts
      expect(attempts("https://bücher.example/x")).toBe(5)
      expect(attempts("https://xn--bcher-kva.example/x")).toBe(5)
      expect(attempts("https://BÜCHER.example/x")).toBe(5)
      expect(attempts("https://café.example:8443/x")).toBe(2)
      expect(attempts("https://café.example/x")).toBe(3)
      // one upstream: its breaker, bulkhead, budget and pauses are shared
      expect(Policy.upstreamKey(HttpClientRequest.get("https://bücher.example/x"))).toBe(
        "https://xn--bcher-kva.example:443"
      )
      expect(Policy.upstreamKey(HttpClientRequest.get("https://xn--bcher-kva.example/y"))).toBe(
        "https://xn--bcher-kva.example:443"
      )
    }))

  it("an endpoint whose key is no pattern still has its options checked, every problem at once", () => {
    expect(
      problemsOf({ endpoints: { "users/x": { retry: { maxAttempts: 0 }, deadlineHeader: "a b" } } }).map((p) =>
        p.split(" ")[0]
      )
    ).toEqual([
      "endpoints[\"users/x\"]",
      "endpoints[\"users/x\"].deadlineHeader",
      "endpoints[\"users/x\"].retry.maxAttempts"
    ])
  })

  it("TRACE is a method Sturdy names without a cast", () => {
    const methods: ReadonlyArray<Idempotency.Method> = ["TRACE", "GET"]
    expect(problemsOf({ retry: { methods } })).toEqual([])
    expect(Idempotency.isIdempotentMethod("TRACE")).toBe(true)
    expect(Idempotency.isIdempotentMethod("trace")).toBe(true)
    expect(Idempotency.isIdempotentMethod("POST")).toBe(false)
  })
})

describe("Policy: what the breaker counts, half-open probes, failing fast, attempt timeouts", () => {
  const breakerAt = (policy: Policy.Policy, path = "/x") =>
    Effect.map(policy.circuitBreaker(HttpClientRequest.get(`${base}${path}`)), Option.getOrThrow)
  const once = <A, E, R>(effect: Effect.Effect<A, E, R>) => runVirtual(effect, "1 millis")
  const tagOf = (exit: Exit.Exit<unknown, { readonly _tag: string }>) =>
    Exit.isSuccess(exit) ? "Success" : failureOf(exit)._tag

  describe("which failures count", () => {
    const counting = (circuitBreaker: Policy.CircuitBreakerOptions = {}): Policy.Options => ({
      ...quick,
      retry: false,
      circuitBreaker: { consecutiveFailures: 2, breakDuration: "10 seconds", ...circuitBreaker }
    })

    it.scoped("by default 429 and other 4xx never open the breaker; 503, 408, attempt timeouts and resets do", () =>
      Effect.gen(function*() {
        const cases: ReadonlyArray<readonly [FaultScript.Script | FaultScript.Fault, boolean]> = [
          [FaultScript.status(429), false],
          [FaultScript.status(404), false],
          [FaultScript.status(501), false],
          [FaultScript.json({ id: "x" }), false],
          [FaultScript.status(503), true],
          [FaultScript.status(408), true],
          [FaultScript.hang, true],
          [FaultScript.reset("beforeHeaders"), true]
        ]
        for (const [script, opens] of cases) {
          const { api, policy, scripted } = yield* harness({ "GET /x": script }, {
            ...counting(),
            attemptTimeout: "1 second"
          })
          for (let i = 0; i < 4; i++) yield* runVirtual(api.get("/x", { schema: User }), "2 seconds")
          expect([yield* (yield* breakerAt(policy)).state, (yield* scripted.requests).length]).toEqual(
            opens ? ["Open", 2] : ["Closed", 4]
          )
        }
      }))

    it.scoped("countsAsFailure: the listed statuses count and no others; failures without a status keep the default", () =>
      Effect.gen(function*() {
        const listed = yield* harness({ "GET /x": FaultScript.status(429), "GET /y": FaultScript.status(503) }, {
          ...counting({ countsAsFailure: [429] }),
          attemptTimeout: "1 second"
        })
        for (let i = 0; i < 3; i++) yield* once(listed.api.get("/y"))
        expect(yield* (yield* breakerAt(listed.policy)).state).toBe("Closed")
        for (let i = 0; i < 2; i++) yield* once(listed.api.get("/x"))
        expect(yield* (yield* breakerAt(listed.policy)).state).toBe("Open")

        const timeouts = yield* harness({ "GET /x": FaultScript.hang }, {
          ...counting({ countsAsFailure: [] }),
          attemptTimeout: "1 second"
        })
        for (let i = 0; i < 2; i++) yield* runVirtual(timeouts.api.get("/x"), "2 seconds")
        expect(yield* (yield* breakerAt(timeouts.policy)).state).toBe("Open")
      }))

    it.scoped("countsAsFailure as statuses judges status failures only: bodies cut short keep the default (count)", () =>
      Effect.gen(function*() {
        // as `retry.statuses` does (found by the httpx-retries port): a truncated 200 is no 200 the list could name
        const cut = yield* harness(
          { "GET /x": FaultScript.truncated({ body: ada }) },
          counting({ countsAsFailure: [503] })
        )
        for (let i = 0; i < 2; i++) expect(tagOf(yield* once(cut.api.get("/x")))).toBe("BodyTruncated")
        expect(yield* (yield* breakerAt(cut.policy)).state).toBe("Open")
        // and a body that does not decode counts no more for 200 being listed
        const bad = yield* harness({ "GET /x": FaultScript.json({ id: "x" }) }, counting({ countsAsFailure: [200] }))
        for (let i = 0; i < 2; i++) {
          expect(tagOf(yield* once(bad.api.get("/x", { schema: User })))).toBe("SchemaMismatch")
        }
        expect(yield* (yield* breakerAt(bad.policy)).state).toBe("Closed")
      }))

    it.scoped("countsAsFailure as a predicate over the failure decides alone", () =>
      Effect.gen(function*() {
        const { api, policy } = yield* harness(
          { "GET /x": FaultScript.status(503), "GET /y": FaultScript.status(409) },
          counting({
            countsAsFailure: (failure) => failure._tag === "ClientError" && failure.status === 409
          })
        )
        for (let i = 0; i < 3; i++) yield* once(api.get("/x"))
        expect(yield* (yield* breakerAt(policy)).state).toBe("Closed")
        for (let i = 0; i < 2; i++) yield* once(api.get("/y"))
        expect(yield* (yield* breakerAt(policy)).state).toBe("Open")
      }))

    it("countsAsFailure and waitForProbe are validated and read from Config", () => {
      const fieldOf = (options: Policy.Options) => {
        const result = Policy.validate(options)
        return Either.isLeft(result) ? result.left.field : undefined
      }
      expect(fieldOf({ circuitBreaker: { countsAsFailure: [503, 99] } })).toBe("circuitBreaker.countsAsFailure")
      expect(fieldOf({ circuitBreaker: { countsAsFailure: [503.5] } })).toBe("circuitBreaker.countsAsFailure")
      expect(fieldOf({ circuitBreaker: { countsAsFailure: "503" as unknown as Policy.CountsAsFailure } })).toBe(
        "circuitBreaker.countsAsFailure"
      )
      expect(fieldOf({ hosts: { "a.test": { circuitBreaker: { waitForProbe: "yes" as unknown as boolean } } } })).toBe(
        "hosts[\"a.test\"].circuitBreaker.waitForProbe"
      )
      expect(fieldOf({ circuitBreaker: { countsAsFailure: [429, 503], waitForProbe: true } })).toBe(undefined)
      expect(fieldOf({ circuitBreaker: { countsAsFailure: () => true } })).toBe(undefined)
      const options = Effect.runSync(Effect.withConfigProvider(
        Policy.config,
        ConfigProvider.fromJson({ circuitBreaker: { countsAsFailure: [429, 503], waitForProbe: true } })
      ))
      expect(options.circuitBreaker).toMatchObject({ countsAsFailure: [429, 503], waitForProbe: true })
    })
  })

  describe("half-open probes over HTTP", () => {
    // one 503 opens the breaker for 2 s; the probe gets whatever /x answers next
    const probing = (...then: ReadonlyArray<FaultScript.Fault>) =>
      harness({ "GET /x": FaultScript.sequence(FaultScript.status(503), ...then) }, {
        ...quick,
        attemptTimeout: "1 second",
        retry: false,
        circuitBreaker: { consecutiveFailures: 1, breakDuration: "2 seconds", slidingWindow: "10 seconds" }
      })
    const halfOpen = (harnessed: Harness) =>
      Effect.gen(function*() {
        expect(tagOf(yield* once(harnessed.api.get("/x")))).toBe("ServerError")
        expect(tagOf(yield* once(harnessed.api.get("/x")))).toBe("CircuitOpen")
        yield* TestClock.adjust("2 seconds")
        const breaker = yield* breakerAt(harnessed.policy)
        expect(yield* breaker.state).toBe("HalfOpen")
        return breaker
      })

    it.scoped("a 2xx probe closes the breaker", () =>
      Effect.gen(function*() {
        const harnessed = yield* probing(FaultScript.json(ada))
        const breaker = yield* halfOpen(harnessed)
        expect(yield* once(harnessed.api.get("/x", { schema: User }))).toEqual(Exit.succeed(ada))
        expect(yield* breaker.state).toBe("Closed")
      }))

    it.scoped("a 404 probe proves the upstream alive: the breaker closes and the caller gets its ClientError", () =>
      Effect.gen(function*() {
        const harnessed = yield* probing(FaultScript.status(404), FaultScript.json(ada))
        const breaker = yield* halfOpen(harnessed)
        const failure = failureOf(yield* once(harnessed.api.get("/x")))
        expect(failure._tag === "ClientError" && failure.status).toBe(404)
        expect(yield* breaker.state).toBe("Closed")
        expect(yield* once(harnessed.api.get("/x", { schema: User }))).toEqual(Exit.succeed(ada))
      }))

    it.scoped("a 429 probe closes it too (the upstream answered), and still pauses the key as asked", () =>
      Effect.gen(function*() {
        const harnessed = yield* probing(FaultScript.status(429))
        const breaker = yield* halfOpen(harnessed)
        expect(tagOf(yield* once(harnessed.api.get("/x")))).toBe("RateLimited")
        expect(yield* breaker.state).toBe("Closed")
      }))

    it.scoped("a 503 probe opens it again", () =>
      Effect.gen(function*() {
        const harnessed = yield* probing(FaultScript.status(503))
        const breaker = yield* halfOpen(harnessed)
        expect(tagOf(yield* once(harnessed.api.get("/x")))).toBe("ServerError")
        expect(yield* breaker.state).toBe("Open")
      }))

    it.scoped("a probe that times out at the attempt timeout opens it again", () =>
      Effect.gen(function*() {
        const harnessed = yield* probing(FaultScript.hang)
        const breaker = yield* halfOpen(harnessed)
        const failure = failureOf(yield* runVirtual(harnessed.api.get("/x"), "1 second"))
        expect(failure._tag === "Timeout" && failure.phase).toBe("Attempt")
        expect(yield* breaker.state).toBe("Open")
        expect((yield* harnessed.scripted.requests).length).toBe(2)
      }))

    it.scoped("circuitBreaker.slidingWindow { calls: 4 }: three 503s among the last four calls open it, after ten 200s", () =>
      Effect.gen(function*() {
        const { api, policy, scripted } = yield* harness({
          "GET /x": FaultScript.sequence(
            FaultScript.json(ada),
            ...Array.from({ length: 9 }, () => FaultScript.json(ada)),
            FaultScript.status(503),
            FaultScript.status(503),
            FaultScript.status(503),
            FaultScript.json(ada)
          )
        }, {
          ...quick,
          retry: false,
          circuitBreaker: { failureRateThreshold: 0.75, minimumThroughput: 4, slidingWindow: { calls: 4 } }
        })
        for (let i = 0; i < 12; i++) yield* once(api.get("/x"))
        const breaker = yield* breakerAt(policy)
        expect(yield* breaker.snapshot).toMatchObject({ state: "Closed", calls: 4, failures: 2 })
        expect(tagOf(yield* once(api.get("/x")))).toBe("ServerError")
        expect(yield* breaker.state).toBe("Open")
        expect(tagOf(yield* once(api.get("/x")))).toBe("CircuitOpen")
        expect((yield* scripted.requests).length).toBe(13)
      }))

    it.scoped("circuitBreaker.maxProbeDuration lets the next call probe in place of one the attempt timeout has not ended yet", () =>
      Effect.gen(function*() {
        const harnessed = yield* harness({
          "GET /x": FaultScript.sequence(FaultScript.status(503), FaultScript.hang, FaultScript.json(ada))
        }, {
          ...quick,
          attemptTimeout: "10 seconds",
          retry: false,
          circuitBreaker: {
            consecutiveFailures: 1,
            breakDuration: "2 seconds",
            slidingWindow: "30 seconds",
            maxProbeDuration: "500 millis"
          }
        })
        const breaker = yield* halfOpen(harnessed)
        const probe = yield* Effect.fork(harnessed.api.get("/x"))
        // (`once` runs a call and then moves the clock on by 1 ms)
        yield* TestClock.adjust("498 millis")
        expect(tagOf(yield* once(harnessed.api.get("/x")))).toBe("CircuitOpen")
        expect(yield* breaker.snapshot).toMatchObject({ state: "HalfOpen", probesInFlight: 1 })
        expect((yield* harnessed.scripted.requests).length).toBe(2)
        // the hung probe has run 500 ms: the next call probes in its place, and its answer closes the breaker
        yield* TestClock.adjust("1 millis")
        expect(yield* once(harnessed.api.get("/x", { schema: User }))).toEqual(Exit.succeed(ada))
        expect(yield* breaker.state).toBe("Closed")
        expect((yield* harnessed.scripted.requests).length).toBe(3)
        yield* Fiber.interrupt(probe)
        expect(yield* breaker.state).toBe("Closed")
      }))

    it.scoped("a probe cut short by the caller's deadline, or interrupted, frees its slot and changes nothing", () =>
      Effect.gen(function*() {
        const harnessed = yield* probing(FaultScript.hang, FaultScript.hang, FaultScript.json(ada))
        const breaker = yield* halfOpen(harnessed)
        // the caller's own deadline passes while the probe waits: Timeout(Deadline), which says nothing of the upstream
        const cut = failureOf(
          yield* runVirtual(harnessed.api.get("/x").pipe(Deadline.establish("500 millis")), "500 millis")
        )
        expect(cut._tag === "Timeout" && cut.phase).toBe("Deadline")
        expect(yield* breaker.snapshot).toMatchObject({ state: "HalfOpen", probesInFlight: 0 })
        const probe = yield* Effect.fork(harnessed.api.get("/x"))
        yield* TestClock.adjust("100 millis")
        expect((yield* breaker.snapshot).probesInFlight).toBe(1)
        expect(tagOf(yield* once(harnessed.api.get("/x")))).toBe("CircuitOpen")
        yield* Fiber.interrupt(probe)
        expect(yield* breaker.snapshot).toMatchObject({ state: "HalfOpen", probesInFlight: 0 })
      }))
  })

  describe("transport failures and the breaker (a transport of scripted errors)", () => {
    // each request takes the next answer: a 503, or a transport error with this code
    const scripted = (answers: ReadonlyArray<number | string>) => {
      let next = 0
      return fakeClient(() => {
        const answer = answers[Math.min(next++, answers.length - 1)]!
        return typeof answer === "number"
          ? Effect.succeed(jsonResponse(answer, {}))
          : Effect.fail({ cause: systemError(answer) })
      }).client
    }
    const breakerOptions: Policy.Options = {
      ...quick,
      retry: false,
      attemptTimeout: "1 second",
      circuitBreaker: { consecutiveFailures: 2, breakDuration: "2 seconds", slidingWindow: "10 seconds" }
    }

    it.scoped("a socket error of no known kind (ConnectionError Unknown) counts against the upstream", () =>
      Effect.gen(function*() {
        const policy = yield* Policy.make(breakerOptions)
        const api = SturdyClient.makeWith(scripted(["ENOBUFS", "ENOBUFS"]), { baseUrl: base, policy })
        const first = failureOf(yield* once(api.get("/x")))
        expect(first._tag === "ConnectionError" && first.reason).toBe("Unknown")
        expect(tagOf(yield* once(api.get("/x")))).toBe("ConnectionError")
        expect(tagOf(yield* once(api.get("/x")))).toBe("CircuitOpen")
      }))

    it.scoped("a probe that fails at DNS or TLS says nothing of the upstream: the breaker stays half-open", () =>
      Effect.gen(function*() {
        for (const code of ["ENOTFOUND", "ERR_TLS_CERT_ALTNAME_INVALID"]) {
          const policy = yield* Policy.make(breakerOptions)
          const api = SturdyClient.makeWith(scripted([503, 503, code, 200]), { baseUrl: base, policy })
          expect(tagOf(yield* once(api.get("/x")))).toBe("ServerError")
          expect(tagOf(yield* once(api.get("/x")))).toBe("ServerError")
          yield* TestClock.adjust("2 seconds")
          const breaker = yield* breakerAt(policy)
          expect(yield* breaker.state).toBe("HalfOpen")
          const probe = failureOf(yield* once(api.get("/x")))
          expect(probe._tag === "ConnectionError" && probe.reason).toBe(code === "ENOTFOUND" ? "DnsLookup" : "Tls")
          expect(yield* breaker.snapshot).toMatchObject({ state: "HalfOpen", probesInFlight: 0 })
          expect(Exit.isSuccess(yield* once(api.get("/x")))).toBe(true)
          expect(yield* breaker.state).toBe("Closed")
        }
      }))
  })

  describe("an open circuit fails fast and says why", () => {
    it.scoped("a retry that meets the open breaker gets CircuitOpen at once, not after the 5 s break", () =>
      Effect.gen(function*() {
        const { api, scripted } = yield* harness({ "GET /x": FaultScript.status(503) }, {
          ...quick,
          retry: { maxAttempts: 3, baseDelay: "10 millis", maxDelay: "10 millis", jitter: "none", budget: false },
          circuitBreaker: { consecutiveFailures: 1, breakDuration: "5 seconds" }
        })
        const started = yield* Clock.currentTimeMillis
        const fiber = yield* Effect.fork(api.get("/x"))
        yield* TestClock.adjust("10 millis")
        const exit = yield* Fiber.await(fiber)
        const failure = failureOf(exit)
        expect(failure._tag).toBe("CircuitOpen")
        expect((yield* Clock.currentTimeMillis) - started).toBe(10)
        expect((yield* scripted.requests).length).toBe(1)
        expect(failure.message).toBe(
          "circuit open for http://api.test:80 after 1 × ServerError 503; retry after 4s 990ms"
        )
      }))

    it.scoped("a call made while the breaker is open is rejected without waiting, whatever the retry options", () =>
      Effect.gen(function*() {
        const { api } = yield* harness({ "GET /x": FaultScript.status(503) }, {
          ...quick,
          retry: { maxAttempts: 5, baseDelay: "10 millis", budget: false },
          circuitBreaker: { consecutiveFailures: 5, breakDuration: "5 seconds" }
        })
        // five attempts of one call, all 503: the fifth opens the breaker
        expect(tagOf(yield* runVirtual(api.get("/x"), "1 second"))).toBe("ServerError")
        const exit = yield* Effect.exit(api.get("/x"))
        const failure = failureOf(exit)
        expect(failure).toMatchObject({ _tag: "CircuitOpen", reason: "ConsecutiveFailures", failures: 5 })
        expect(failure.message).toMatch(
          /^circuit open for http:\/\/api\.test:80 after 5 × ServerError 503; retry after /
        )
      }))
  })

  describe("an attempt timeout on a transport that ignores interruption", () => {
    // a transport whose request goes on for 5 s whatever happens, and then notices it was interrupted
    const stubborn = () => {
      const log: Array<string> = []
      const { client, seen } = fakeClient(() =>
        Effect.uninterruptible(Effect.sleep("5 seconds")).pipe(
          Effect.as(jsonResponse(200, ada)),
          Effect.onInterrupt(() => Effect.sync(() => log.push("interrupted"))),
          Effect.tap(() => Effect.sync(() => log.push("answered")))
        )
      )
      return { client, seen, log }
    }

    it.scoped("the caller gets Timeout at the attempt timeout; the request is interrupted in the background", () =>
      Effect.gen(function*() {
        const { client, log, seen } = stubborn()
        const policy = yield* Policy.make({ ...quick, attemptTimeout: "1 second", retry: false, telemetry: true })
        const api = SturdyClient.makeWith(client, { baseUrl: base, policy })
        const events: Array<string> = []
        const attempts = Metric.tagged(Telemetry.metrics.attempts, "method", "GET").pipe(
          Metric.tagged("host", "api.test:80"),
          Metric.tagged("outcome", "failure"),
          Metric.tagged("failure_tag", "Timeout")
        )
        const before = (yield* Metric.value(attempts)).count
        const fiber = yield* Effect.fork(api.get("/users/1", {
          schema: User,
          onEvent: (event) => Effect.sync(() => events.push(event._tag))
        }))
        yield* TestClock.adjust("1 second")
        const failure = failureOf(yield* Fiber.await(fiber))
        expect(failure._tag === "Timeout" && failure.phase).toBe("Attempt")
        expect(log).toEqual([])
        yield* TestClock.adjust("5 seconds")
        for (let i = 0; i < 10; i++) yield* Effect.yieldNow()
        expect(log).toEqual(["interrupted"])
        expect(seen.length).toBe(1)
        expect(events).toEqual(["AttemptStarted", "AttemptEnded"])
        expect((yield* Metric.value(attempts)).count).toBe(before + 1)
      }))

    it.scoped("the same through Policy.run with a send of its own, and through Attempt's own timeout", () =>
      Effect.gen(function*() {
        const { client, log } = stubborn()
        const policy = yield* Policy.make({ ...quick, attemptTimeout: "1 second", retry: false })
        const viaRun = yield* Effect.fork(
          policy.run(HttpClientRequest.get(`${base}/x`), () => Effect.uninterruptible(Effect.sleep("5 seconds")))
        )
        const viaSturdy = yield* Effect.fork(
          Effect.scoped(
            Effect.flatMap(
              Policy.make({ ...quick, attemptTimeout: false, totalTimeout: false, retry: false }),
              (p) => SturdyClient.makeWith(client, { baseUrl: base, timeout: "1 second", policy: p }).get("/x")
            )
          )
        )
        yield* TestClock.adjust("1 second")
        expect(tagOf(yield* Fiber.await(viaRun))).toBe("Timeout")
        expect(tagOf(yield* Fiber.await(viaSturdy))).toBe("Timeout")
        yield* TestClock.adjust("5 seconds")
        for (let i = 0; i < 10; i++) yield* Effect.yieldNow()
        expect(log).toEqual(["interrupted"])
      }))
  })

  describe("the edges", () => {
    it.scoped("QUERY is treated like GET: retried after a 503 that may have reached the server", () =>
      Effect.gen(function*() {
        const { api, scripted } = yield* harness({
          "QUERY /search": FaultScript.sequence(FaultScript.status(503), FaultScript.json(ada))
        })
        const request = HttpClientRequest.make("QUERY" as "GET")(`${base}/search`)
        const exit = yield* runVirtual(api.execute(request, { body: { q: "ada" }, schema: User }))
        expect(exit).toEqual(Exit.succeed(ada))
        expect((yield* scripted.requests).map((r) => r.method)).toEqual(["QUERY", "QUERY"])
        expect(Idempotency.isIdempotent(request)).toBe(true)
      }))

    it.scoped("the client's query and trace need no cast, send their method and retry like GET", () =>
      Effect.gen(function*() {
        const { api, scripted } = yield* harness({
          "QUERY /search": FaultScript.sequence(FaultScript.status(503), FaultScript.json(ada)),
          "TRACE /echo": FaultScript.sequence(FaultScript.status(503), FaultScript.json(ada))
        })
        expect(yield* runVirtual(api.query("/search", { body: { q: "ada" }, schema: User }))).toEqual(Exit.succeed(ada))
        expect(yield* runVirtual(api.trace("/echo", { schema: User }))).toEqual(Exit.succeed(ada))
        expect((yield* scripted.requests).map((r) => r.method)).toEqual(["QUERY", "QUERY", "TRACE", "TRACE"])
        const methods: ReadonlyArray<Idempotency.Method> = ["QUERY", "TRACE"]
        expect(Either.isRight(Policy.validate({ retry: { methods } }))).toBe(true)
      }))

    it.scoped("a URL fragment never reaches the transport, nor any failure's rendering", () =>
      Effect.gen(function*() {
        const { client, seen } = fakeClient(() => Effect.succeed(jsonResponse(503, {})))
        const policy = yield* Policy.make({ ...quick, retry: false })
        const api = SturdyClient.makeWith(client, { baseUrl: base, policy })
        const failure = failureOf(yield* once(api.get("/cb#access_token=s3cr3t")))
        const raw = failureOf(
          yield* once(
            Policy.send(client, HttpClientRequest.get(`${base}/raw?x=1#frag-s3cr3t`)).pipe(
              Effect.provideService(Policy.Policy, policy)
            )
          )
        )
        expect(seen.map((s) => s.url)).toEqual([`${base}/cb`, `${base}/raw?x=1`])
        for (const rendering of [failure.message, JSON.stringify(failure), raw.message, JSON.stringify(raw)]) {
          expect(rendering).not.toContain("s3cr3t")
        }
      }))
  })
})

describe("Policy.withPolicy (client → client)", () => {
  const fast: Policy.Options = {
    ...quick,
    retry: { maxAttempts: 3, baseDelay: "100 millis", maxDelay: "1 second", jitter: "none", budget: false }
  }
  const scriptedWith = (routes: Parameters<typeof FaultScript.routes>[0]) =>
    ScriptedClient.make(FaultScript.routes(routes))

  it.scoped("retries a 503 and returns the 200; gives up with the last response, body readable", () =>
    Effect.gen(function*() {
      const scripted = yield* scriptedWith({
        "GET /flaky": FaultScript.sequence(FaultScript.status(503), FaultScript.json(ada)),
        "GET /down": FaultScript.text("down for maintenance", { status: 503 }),
        "GET /missing": FaultScript.status(404)
      })
      const client = Policy.withPolicy(scripted.client, yield* Policy.make(fast))
      const ok = yield* runVirtual(Effect.flatMap(client.get(`${base}/flaky`), (response) => response.json))
      expect(ok).toEqual(Exit.succeed(ada))
      const down = yield* runVirtual(
        Effect.flatMap(
          client.get(`${base}/down`),
          (response) => Effect.map(response.text, (text) => [response.status, text])
        )
      )
      expect(down).toEqual(Exit.succeed([503, "down for maintenance"]))
      const missing = yield* runVirtual(Effect.map(client.get(`${base}/missing`), (response) => response.status))
      expect(missing).toEqual(Exit.succeed(404))
      expect((yield* scripted.requests).map((r) => r.path)).toEqual([
        "/flaky",
        "/flaky",
        "/down",
        "/down",
        "/down",
        "/missing"
      ])
    }))

  it.scoped("policies do not merge: a client wrapped twice runs both, and the attempts multiply", () =>
    Effect.gen(function*() {
      const scripted = yield* scriptedWith({ "GET /down": FaultScript.status(503) })
      const twice = scripted.client.pipe(
        Policy.withPolicy(yield* Policy.make(fast)),
        Policy.withPolicy(yield* Policy.make(fast))
      )
      const down = yield* runVirtual(Effect.map(twice.get(`${base}/down`), (response) => response.status))
      expect(down).toEqual(Exit.succeed(503))
      expect(yield* scripted.requests).toHaveLength(9)
    }))

  it.scoped("traced, each attempt span and the call's span carry the status received, as a SturdyClient's do", () =>
    Effect.gen(function*() {
      const { spans, tracer } = TestTracer.make()
      const scripted = yield* scriptedWith({
        "GET /flaky": FaultScript.sequence(FaultScript.status(503), FaultScript.json(ada)),
        "GET /missing": FaultScript.status(404)
      })
      const client = Policy.withPolicy(scripted.client, yield* Policy.make({ ...fast, telemetry: true }))
      expect(yield* runVirtual(client.get(`${base}/flaky`).pipe(Effect.asVoid, Effect.withTracer(tracer)))).toEqual(
        Exit.void
      )
      const statusOf = (span: (typeof spans)[number]) => span.attributes.get("http.response.status_code")
      const attempts = spans.filter((span) => span.name === "http.client.attempt GET")
      expect(attempts.map(statusOf)).toEqual([503, 200])
      const logical = spans.filter((span) => span.name === "http.client.request GET")
      expect(logical.map(statusOf)).toEqual([200])
      // a status the policy gave up on is the call's status too
      yield* runVirtual(
        client.get(`${base}/missing?api_key=SECRET-KEY-3`).pipe(Effect.asVoid, Effect.withTracer(tracer))
      )
      expect(spans.filter((span) => span.name === "http.client.request GET").map(statusOf)).toEqual([200, 404])
      // no span carries the key: the platform's own client span (raw URL) is replaced by a redacted one
      for (const span of spans) {
        for (const value of span.attributes.values()) expect(String(value)).not.toContain("SECRET-KEY-3")
      }
    }))

  it.scoped("transport failures and the policy's rejections are RequestErrors whose cause is the Sturdy failure", () =>
    Effect.gen(function*() {
      const scripted = yield* scriptedWith({
        "GET /reset": FaultScript.reset("beforeHeaders"),
        "GET /down": FaultScript.status(503)
      })
      const reset = yield* runVirtual(
        Policy.withPolicy(scripted.client, yield* Policy.make(fast)).get(`${base}/reset?api_key=k-secret-42`)
      )
      const resetError = failureOf(reset)
      expect(resetError._tag === "RequestError" && resetError.reason).toBe("Transport")
      // the platform prints the request's URL in the message and the JSON: its secret parameter is redacted
      expect(resetError.message).not.toContain("k-secret-42")
      expect(JSON.stringify(resetError.toJSON())).not.toContain("k-secret-42")
      expect((resetError.cause as HttpFailure.HttpFailure)._tag).toBe("ConnectionError")
      expect(Policy.attemptsOf(resetError.cause as HttpFailure.HttpFailure)).toBe(3)

      const breaking = yield* Policy.make({ ...fast, retry: false, circuitBreaker: { consecutiveFailures: 1 } })
      const client = scripted.client.pipe(Policy.withPolicy(breaking))
      // no retry, no wait: run at once, so that the break (5 s of the TestClock) is still on for the second call
      expect(yield* Effect.exit(Effect.map(client.get(`${base}/down`), (r) => r.status))).toEqual(Exit.succeed(503))
      const open = failureOf(yield* Effect.exit(client.get(`${base}/down`)))
      expect(open._tag === "RequestError" && (open.cause as Policy.Failure)._tag).toBe("CircuitOpen")
      expect((yield* scripted.requests).filter((r) => r.path === "/down")).toHaveLength(1)
    }))

  it.scoped("a client with errors of its own (Auth.bearerFrom): a second 401 is Unauthorized, unretried, uncounted", () =>
    Effect.gen(function*() {
      const scripted = yield* scriptedWith({ "GET /me": FaultScript.status(401) })
      let issued = 0
      const source = yield* Auth.makeTokenSource(
        Effect.sync(() => ({ token: Redacted.make(`token-${++issued}`), expiresAt: Option.none() }))
      )
      const policy = yield* Policy.make({ ...fast, circuitBreaker: { consecutiveFailures: 1 } })
      const client = scripted.client.pipe(Auth.bearerFrom(source), Policy.withPolicy(policy))
      const exit = yield* runVirtual(client.get(`${base}/me`))
      const error = failureOf(exit)
      // the caller gets the client's own error, with its tag, to `catchTag` it
      expect(error._tag).toBe("Unauthorized")
      expect(error).toBeInstanceOf(Auth.Unauthorized)
      // one call of the client (bearerFrom's own replay with a fresh token): the policy repeats no refused credential
      expect((yield* scripted.requests).map((r) => r.headers.authorization)).toEqual([
        "Bearer token-1",
        "Bearer token-2"
      ])
      // nor does the breaker count it: the next call goes through
      yield* runVirtual(client.get(`${base}/me`))
      expect(yield* scripted.requests).toHaveLength(4)
      const handled = yield* runVirtual(
        client.get(`${base}/me`).pipe(Effect.as("ok"), Effect.catchTag("Unauthorized", () => Effect.succeed("login")))
      )
      expect(handled).toEqual(Exit.succeed("login"))
    }))

  it.scoped("a token source's own error is AuthenticationFailed Unavailable to the policy and reaches the caller as it was", () =>
    Effect.gen(function*() {
      class TokenDown extends Data.TaggedError("TokenDown")<{ readonly attempt: number }> {}
      const scripted = yield* scriptedWith({ "GET /me": FaultScript.json(ada) })
      let tries = 0
      const source = yield* Auth.makeTokenSource(Effect.suspend(() => Effect.fail(new TokenDown({ attempt: ++tries }))))
      // not retried by default: the token source retries its own request
      const client = scripted.client.pipe(Auth.bearerFrom(source), Policy.withPolicy(yield* Policy.make(fast)))
      const error = failureOf(yield* runVirtual(client.get(`${base}/me`)))
      expect(error).toEqual(new TokenDown({ attempt: 1 }))
      expect(error).toBeInstanceOf(TokenDown)
      // retried where asked, as an unavailable token endpoint: the caller gets the last attempt's own error
      const retrying = scripted.client.pipe(
        Auth.bearerFrom(source),
        Policy.withPolicy(
          yield* Policy.make({ ...fast, retry: { ...fast.retry, retryOn: { AuthenticationFailed: true } } })
        )
      )
      expect(failureOf(yield* runVirtual(retrying.get(`${base}/me`)))).toEqual(new TokenDown({ attempt: 4 }))
      expect(yield* scripted.requests).toHaveLength(0)
      // an HttpClientError of the same client is still folded as before
      const { client: bare } = yield* scriptedWith({ "GET /reset": FaultScript.reset("beforeHeaders") })
      const viaSource = bare.pipe(
        Auth.bearerFrom(
          yield* Auth.makeTokenSource(Effect.succeed({ token: Redacted.make("t-1"), expiresAt: Option.none() }))
        ),
        Policy.withPolicy(yield* Policy.make(fast))
      )
      const reset = failureOf(yield* runVirtual(viaSource.get(`${base}/reset`)))
      expect(reset._tag === "RequestError" && (reset.cause as HttpFailure.HttpFailure)._tag).toBe("ConnectionError")
    }))

  it.scoped("HttpApiClient through the policy: success after retries, and its error schemas still decode", () =>
    Effect.gen(function*() {
      class NotFound extends Schema.TaggedError<NotFound>()("NotFound", { id: Schema.Number }) {}
      const Api = HttpApi.make("api").add(
        HttpApiGroup.make("users").add(
          HttpApiEndpoint.get("get", "/users/:id")
            .setPath(Schema.Struct({ id: Schema.NumberFromString }))
            .addSuccess(User)
            .addError(NotFound, { status: 404 })
        )
      )
      const scripted = yield* scriptedWith({
        "GET /users/1": FaultScript.sequence(FaultScript.status(503), FaultScript.status(502), FaultScript.json(ada)),
        "GET /users/2": FaultScript.json({ _tag: "NotFound", id: 2 }, { status: 404 })
      })
      const policy = yield* Policy.make(fast)
      const api = yield* HttpApiClient.make(Api, { baseUrl: base, transformClient: Policy.withPolicy(policy) }).pipe(
        Effect.provideService(HttpClient.HttpClient, scripted.client)
      )
      expect(yield* runVirtual(api.users.get({ path: { id: 1 } }))).toEqual(Exit.succeed(ada))
      const notFound = failureOf(yield* runVirtual(api.users.get({ path: { id: 2 } })))
      expect(notFound).toEqual(new NotFound({ id: 2 }))
      expect((yield* scripted.requests).map((r) => r.path)).toEqual(["/users/1", "/users/1", "/users/1", "/users/2"])
    }))
})

describe("Policy: per-key bulkheads under many upstreams", () => {
  const hosts = (from: number, to: number) => {
    const requests: Array<HttpClientRequest.HttpClientRequest> = []
    for (let i = from; i < to; i++) requests.push(HttpClientRequest.get(`http://h${i}.test/x`))
    return requests
  }
  const sendOk = () => Effect.succeed("ok")
  const hot = HttpClientRequest.get("http://hot.test/x")
  const lone: Policy.Options = {
    totalTimeout: false,
    attemptTimeout: false,
    retry: false,
    circuitBreaker: false,
    bulkhead: { maxConcurrent: 1 }
  }

  // a send that holds its attempt until `gate` opens, counting the attempts running at once
  const gated = Effect.gen(function*() {
    const gate = yield* Deferred.make<void>()
    const counts = { running: 0, most: 0 }
    const send = () =>
      Effect.acquireUseRelease(
        Effect.sync(() => {
          counts.running++
          counts.most = Math.max(counts.most, counts.running)
        }),
        () => Deferred.await(gate),
        () => Effect.sync(() => counts.running--)
      ).pipe(Effect.as("ok"))
    return { gate, counts, send }
  })

  it.scoped(
    "maxConcurrent and maxQueued hold for a busy key after 21,000 calls to other hosts",
    () =>
      Effect.gen(function*() {
        const policy = yield* Policy.make({ ...lone, bulkhead: { maxConcurrent: 1, maxQueued: 1 } })
        const { counts, gate, send } = yield* gated
        const running = yield* Effect.fork(policy.run(hot, send))
        const queued = yield* Effect.fork(policy.run(hot, send))
        yield* Effect.yieldNow()
        for (const request of hosts(0, 21_000)) yield* policy.run(request, sendOk)
        const third = yield* Effect.either(policy.run(hot, sendOk))
        expect(Either.isLeft(third) && third.left._tag).toBe("BulkheadRejected")
        yield* Deferred.succeed(gate, undefined)
        expect(yield* Fiber.join(running)).toBe("ok")
        expect(yield* Fiber.join(queued)).toBe("ok")
        expect(counts.most).toBe(1)
      }),
    60_000
  )

  it.scoped("an attempt after a retry wait runs under the key's current bulkhead", () =>
    Effect.gen(function*() {
      const policy = yield* Policy.make({
        ...lone,
        retry: { maxAttempts: 2, baseDelay: "1 second", maxDelay: "1 second", jitter: "none", budget: false }
      })
      const { counts, gate, send } = yield* gated
      let attempts = 0
      const failsFirst = (request: HttpClientRequest.HttpClientRequest) =>
        Effect.suspend(() =>
          ++attempts === 1
            ? Effect.fail(
              new HttpFailure.ServerError({
                method: "GET",
                url: request.url,
                status: 503,
                headers: {},
                bodyExcerpt: "",
                payload: Option.none(),
                retryAfter: Option.none()
              })
            )
            : send()
        )
      expect(yield* policy.run(hot, sendOk)).toBe("ok")
      // the next call fails and waits a second before its retry, holding no permit meanwhile
      const waiting = yield* Effect.fork(policy.run(hot, failsFirst))
      yield* Effect.yieldNow()
      expect(attempts).toBe(1)
      // the key's idle bulkhead is dropped among 21,000 other hosts, and the next call of the key gets a new one
      for (const request of hosts(0, 21_000)) yield* policy.run(request, sendOk)
      const other = yield* Effect.fork(policy.run(hot, send))
      yield* Effect.yieldNow()
      yield* TestClock.adjust("1 second")
      yield* Effect.yieldNow()
      expect(counts.most).toBe(1)
      yield* Deferred.succeed(gate, undefined)
      const retried = yield* Fiber.await(waiting)
      expect(Exit.isFailure(retried) && failureOf(retried)._tag).toBe("BulkheadRejected")
      expect(attempts).toBe(1)
      expect(yield* Fiber.join(other)).toBe("ok")
    }), 60_000)

  it("over its bound, the long waits whose pause is over go first, then the oldest, with no pass over them all", () => {
    const shared = { anyPause: true } as unknown as stages.Shared
    const max = stages.maxLongWaits
    const far = 1e12
    stages.rememberLongWait(shared, "old", 0, far, far)
    stages.rememberLongWait(shared, "older", 0, far, far)
    stages.rememberLongWait(shared, "ext", 0, 3_000, 3_000)
    for (let i = 0; shared.longWaits!.size < max; i++) stages.rememberLongWait(shared, `k${i}`, 0, far, far)
    // "ext" extended while its pause lasts: it keeps its place, and ends later
    stages.rememberLongWait(shared, "ext", 2_000, 4_000, 4_000)
    // at 3.5 s none has ended: the oldest goes
    stages.rememberLongWait(shared, "n1", 3_500, far, far)
    expect([shared.longWaits!.has("old"), shared.longWaits!.has("ext")]).toEqual([false, true])
    // at 4 s "ext" ends (now): it goes, and the oldest ("older") stays
    stages.rememberLongWait(shared, "n2", 4_000, far, far)
    expect([shared.longWaits!.has("ext"), shared.longWaits!.has("older")]).toEqual([false, true])
    // twenty thousand more while all of them run: each used to look at every wait held (ten thousand looks each)
    const before = stages.longWaitVisitsOf(shared)
    for (let i = 0; i < 2 * max; i++) stages.rememberLongWait(shared, `more${i}`, 4_000, far, far)
    expect(stages.longWaitVisitsOf(shared) - before).toBeLessThanOrEqual(3 * 2 * max)
    expect(shared.longWaits!.size).toBe(max)
    expect([shared.longWaits!.has("n2"), shared.longWaits!.has(`more${2 * max - 1}`)]).toEqual([false, true])
    expect(shared.longWaitEnds!.length).toBeLessThanOrEqual(2 * max + 16)
  })

  describe("the table of one profile", () => {
    const options = { maxConcurrent: 1, maxQueued: 0, maxWait: undefined }
    const table = () => {
      const bulkheads = new Map<string, stages.BulkheadSlot>()
      return { bulkheads, bulkheadOf: stages.bulkheadFor(bulkheads, options) }
    }

    it.effect(
      "a key used now and then keeps its bulkhead; idle keys go, least recently used first",
      () =>
        Effect.gen(function*() {
          const { bulkheadOf, bulkheads } = table()
          const kept = yield* bulkheadOf("hot")
          yield* bulkheadOf("cold")
          for (let i = 0; i < 30_000; i++) {
            yield* bulkheadOf(`h${i}`)
            if (i % 1_000 === 0) expect(stages.usedBulkhead(bulkheads, "hot")).toBe(kept)
          }
          expect(stages.usedBulkhead(bulkheads, "hot")).toBe(kept)
          expect(bulkheads.has("cold")).toBe(false)
          expect(bulkheads.size).toBe(stages.bulkheadCapacity)
          // the newest keys are kept, the oldest idle ones went
          expect(bulkheads.has("h29999")).toBe(true)
          expect(bulkheads.has("h0")).toBe(false)
        }),
      60_000
    )

    it.effect(
      "busy bulkheads are never dropped: the table grows past the cap, and shrinks once they are idle",
      () =>
        Effect.gen(function*() {
          const { bulkheadOf, bulkheads } = table()
          const gate = yield* Deferred.make<void>()
          const busy = stages.bulkheadCapacity + 50
          const made: Array<Bulkhead.Bulkhead> = []
          const fibers: Array<Fiber.RuntimeFiber<void, Bulkhead.BulkheadRejected>> = []
          for (let i = 0; i < busy; i++) {
            const bulkhead = yield* bulkheadOf(`h${i}`)
            made.push(bulkhead)
            fibers.push(yield* Effect.fork(bulkhead.run(Deferred.await(gate))))
          }
          yield* Effect.yieldNow()
          expect(bulkheads.size).toBe(busy)
          for (let i = 0; i < busy; i += 997) expect(stages.usedBulkhead(bulkheads, `h${i}`)).toBe(made[i])
          yield* Deferred.succeed(gate, undefined)
          yield* Fiber.joinAll(fibers)
          for (let i = 0; i < 10; i++) yield* bulkheadOf(`new${i}`)
          expect(bulkheads.size).toBe(stages.bulkheadCapacity)
        }),
      60_000
    )
  })
})

describe("Policy: breaker options and the open breaker's remaining time (second review)", () => {
  it("refuses counts that are not integers and a sliding window of zero, naming the field", () => {
    const fieldOf = (options: Policy.Options) => {
      const result = Policy.validate(options)
      return Either.isLeft(result) ? result.left.field : undefined
    }
    expect(fieldOf({ circuitBreaker: { minimumThroughput: 2.5 } })).toBe("circuitBreaker.minimumThroughput")
    expect(fieldOf({ circuitBreaker: { consecutiveFailures: 1.5 } })).toBe("circuitBreaker.consecutiveFailures")
    for (const bad of [0, 2.5, Number.NaN, Infinity]) {
      expect(fieldOf({ circuitBreaker: { failureCountThreshold: bad } })).toBe("circuitBreaker.failureCountThreshold")
    }
    expect(fieldOf({ circuitBreaker: { failureCountThreshold: 5 } })).toBe(undefined)
    // a window of 5 calls never holds 10 failures: such a breaker would never open
    expect(fieldOf({ circuitBreaker: { failureCountThreshold: 10, slidingWindow: { calls: 5 } } })).toBe(
      "circuitBreaker.failureCountThreshold"
    )
    expect(
      fieldOf({
        circuitBreaker: { failureCountThreshold: 10 },
        hosts: { "api.test": { circuitBreaker: { slidingWindow: { calls: 5 } } } }
      })
    ).toBe("hosts[\"api.test\"].circuitBreaker.failureCountThreshold")
    expect(fieldOf({ circuitBreaker: { failureCountThreshold: 5, slidingWindow: { calls: 5 } } })).toBe(undefined)
    expect(fieldOf({ attemptTimeout: false, totalTimeout: false, circuitBreaker: { slidingWindow: 0 } })).toBe(
      "circuitBreaker.slidingWindow"
    )
    expect(fieldOf({ circuitBreaker: { consecutiveFailures: Infinity, minimumThroughput: 1 } })).toBe(undefined)
  })

  it.scoped("a rate equal to failureRateThreshold opens; CircuitOpen.retryAfter counts down the pause", () =>
    Effect.gen(function*() {
      const { api, scripted } = yield* harness(
        { "GET /ok": FaultScript.json(ada), "GET /down": FaultScript.status(503) },
        {
          ...quick,
          retry: false,
          circuitBreaker: { failureRateThreshold: 0.5, minimumThroughput: 4, breakDuration: "10 seconds" }
        }
      )
      for (const path of ["/ok", "/down", "/ok"]) yield* runVirtual(api.get(path), "1 millis")
      // 1 of 3 failed, under the minimum; the fourth call makes it 2 of 4: the threshold itself
      yield* runVirtual(api.get("/down"), "1 millis")
      yield* TestClock.adjust("4 seconds")
      const failure = failureOf(yield* runVirtual(api.get("/ok"), "1 millis"))
      expect(failure).toMatchObject({ _tag: "CircuitOpen", reason: "FailureRate", failures: 2 })
      expect(failure._tag === "CircuitOpen" && Duration.toMillis(failure.retryAfter)).toBe(10_000 - 4_000 - 1)
      expect((yield* scripted.requests).length).toBe(4)
    }))
})

describe("Policy: server waits in every form (second review)", () => {
  const exact: Policy.Options = {
    totalTimeout: "2 minutes",
    attemptTimeout: "10 seconds",
    retry: { baseDelay: "10 millis", maxDelay: "20 millis", jitter: "none", retryAfterJitter: 0, budget: false },
    circuitBreaker: false
  }
  const gapsOf = (scripted: ScriptedClient.ScriptedClient) =>
    Effect.map(arrivals(scripted), (times) => times.map((t) => t - times[0]))

  // ky's "RateLimit-Reset is treated the same as Retry-After": a 429 that names its reset is waited out
  it.scoped("a 429 or 503 that sends a reset without a remaining count waits the reset (RateLimit-Reset, X-RateLimit-Reset)", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const { api, scripted } = yield* harness({
        "GET /ietf": FaultScript.sequence(
          FaultScript.status(429, { headers: { "ratelimit-reset": "1" } }),
          FaultScript.status(429, { headers: { "retry-after": "1" } }),
          FaultScript.json(ada)
        ),
        "GET /vendor": FaultScript.sequence(
          FaultScript.status(503, { headers: { "x-ratelimit-limit": "100", "x-ratelimit-reset": "3" } }),
          FaultScript.json(ada)
        ),
        "GET /epoch": FaultScript.sequence(
          // Twitter's spelling, an epoch-seconds reset 2 s ahead
          FaultScript.status(429, { headers: { "x-rate-limit-reset": `${Date.UTC(2026, 0, 1) / 1000 + 2}` } }),
          FaultScript.json(ada)
        )
      }, exact)
      expect(yield* runVirtual(api.get("/epoch", { schema: User }))).toEqual(Exit.succeed(ada))
      expect(yield* gapsOf(scripted)).toEqual([0, 2000])
      yield* scripted.reset
      expect(yield* runVirtual(api.get("/ietf", { schema: User }))).toEqual(Exit.succeed(ada))
      expect(yield* gapsOf(scripted)).toEqual([0, 1000, 2000])
      yield* scripted.reset
      expect(yield* runVirtual(api.get("/vendor", { schema: User }))).toEqual(Exit.succeed(ada))
      expect(yield* gapsOf(scripted)).toEqual([0, 3000])
    }))

  it.scoped("the failure reports that reset as its retryAfter; a quota with requests left is no wait", () =>
    Effect.gen(function*() {
      const { api } = yield* harness({
        "GET /alone": FaultScript.status(429, { headers: { "ratelimit-reset": "7" } }),
        "GET /left": FaultScript.status(429, { headers: { "ratelimit-remaining": "5", "ratelimit-reset": "7" } })
      }, { ...exact, retry: { ...exact.retry, maxAttempts: 1 } })
      const alone = failureOf(yield* runVirtual(api.get("/alone")))
      expect(alone._tag === "RateLimited" && HttpFailure.retryAfter(alone)).toEqual(Option.some(Duration.seconds(7)))
      const left = failureOf(yield* runVirtual(api.get("/left")))
      expect(left._tag === "RateLimited" && HttpFailure.retryAfter(left)).toEqual(Option.none())
    }))

  it.scoped("so does a reset (t=) in the newer RateLimit field sent without a remaining count", () =>
    Effect.gen(function*() {
      const { api } = yield* harness({
        "GET /alone": FaultScript.status(429, { headers: { "ratelimit": "\"default\";t=7" } }),
        "GET /left": FaultScript.status(429, { headers: { "ratelimit": "\"default\";r=5;t=7" } })
      }, { ...exact, retry: { ...exact.retry, maxAttempts: 1 } })
      const alone = failureOf(yield* runVirtual(api.get("/alone")))
      expect(alone._tag === "RateLimited" && HttpFailure.retryAfter(alone)).toEqual(Option.some(Duration.seconds(7)))
      const left = failureOf(yield* runVirtual(api.get("/left")))
      expect(left._tag === "RateLimited" && HttpFailure.retryAfter(left)).toEqual(Option.none())
    }))

  it.scoped("a Retry-After sent twice and joined is read when the copies agree; an RFC 5322 zone is read too", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1, 12, 0, 0))
      const { api, scripted } = yield* harness({
        "GET /twice": FaultScript.sequence(
          FaultScript.status(503, { headers: { "retry-after": "2, 2" } }),
          FaultScript.json(ada)
        ),
        "GET /utc": FaultScript.sequence(
          FaultScript.status(429, { headers: { "retry-after": "Thu, 01 Jan 2026 14:00:05 UTC" } }),
          FaultScript.json(ada)
        )
      }, exact)
      expect(yield* runVirtual(api.get("/twice", { schema: User }))).toEqual(Exit.succeed(ada))
      expect(yield* gapsOf(scripted)).toEqual([0, 2000])
      yield* scripted.reset
      yield* TestClock.setTime(Date.UTC(2026, 0, 1, 14, 0, 0))
      expect(yield* runVirtual(api.get("/utc", { schema: User }))).toEqual(Exit.succeed(ada))
      expect(yield* gapsOf(scripted)).toEqual([0, 5000])
    }))

  it.scoped("a 413 that names its reset, by hand or over the wire, is retried after it; one with requests left is not", () =>
    Effect.gen(function*() {
      expect(Policy.isRetryableByDefault(tooLarge({ "ratelimit-reset": "4" }))).toBe(true)
      expect(Policy.isRetryableByDefault(tooLarge({ "x-ratelimit-remaining": "0", "x-ratelimit-reset": "4" }))).toBe(
        true
      )
      expect(Policy.isRetryableByDefault(tooLarge({ "ratelimit-remaining": "3", "ratelimit-reset": "4" }))).toBe(false)
      const { api, scripted } = yield* harness({
        "PUT /a": FaultScript.sequence(
          FaultScript.status(413, { headers: { "ratelimit-reset": "4" } }),
          FaultScript.json(ada)
        ),
        "PUT /b": FaultScript.status(413, { headers: { "ratelimit-remaining": "3", "ratelimit-reset": "4" } })
      }, exact)
      expect(yield* runVirtual(api.put("/a", { schema: User }))).toEqual(Exit.succeed(ada))
      expect(yield* gapsOf(scripted)).toEqual([0, 4000])
      yield* scripted.reset
      expect(failureOf(yield* runVirtual(api.put("/b")))._tag).toBe("ClientError")
      expect((yield* scripted.requests).length).toBe(1)
    }))

  it.scoped("the server's x-should-retry (or Stripe-Should-Retry) decides over the default status rules", () =>
    Effect.gen(function*() {
      const twice = (status: number, headers: Record<string, string>) =>
        FaultScript.sequence(FaultScript.status(status, { headers }), FaultScript.json(ada))
      const routes = {
        "GET /no": twice(503, { "x-should-retry": "false" }),
        "GET /stripe-no": twice(500, { "stripe-should-retry": "FALSE" }),
        "GET /yes": twice(400, { "x-should-retry": "true" }),
        "GET /garbage": twice(400, { "x-should-retry": "maybe" })
      }
      const fast: Policy.Options = {
        ...exact,
        retry: { baseDelay: "10 millis", jitter: "none", budget: false }
      }
      const { api, scripted } = yield* harness(routes, fast)
      const statusOfExit = (exit: Exit.Exit<unknown, unknown>) => (failureOf(exit) as { status?: number }).status
      expect(statusOfExit(yield* runVirtual(api.get("/no", { schema: User })))).toBe(503)
      expect(statusOfExit(yield* runVirtual(api.get("/stripe-no", { schema: User })))).toBe(500)
      expect(yield* runVirtual(api.get("/yes", { schema: User }))).toEqual(Exit.succeed(ada))
      expect(statusOfExit(yield* runVirtual(api.get("/garbage", { schema: User })))).toBe(400)
      expect((yield* scripted.requests).map((r) => r.path)).toEqual([
        "/no",
        "/stripe-no",
        "/yes",
        "/yes",
        "/garbage"
      ])

      // an allow-list decides which statuses retry (a `true` adds none), but a `false` still holds; `retryOn` wins
      const listed = yield* harness(routes, {
        ...fast,
        retry: { ...fast.retry as Policy.RetryOptions, statuses: [503] }
      })
      expect(statusOfExit(yield* runVirtual(listed.api.get("/no", { schema: User })))).toBe(503)
      expect(statusOfExit(yield* runVirtual(listed.api.get("/yes", { schema: User })))).toBe(400)
      const overruled = yield* harness(routes, {
        ...fast,
        retry: { ...fast.retry as Policy.RetryOptions, retryOn: { ServerError: true } }
      })
      expect(yield* runVirtual(overruled.api.get("/no", { schema: User }))).toEqual(Exit.succeed(ada))
      // the public predicate says the same, a 413 with a wait included
      expect(Policy.isRetryableByDefault(tooLarge({ "retry-after": "3", "x-should-retry": "false" }))).toBe(false)
      expect(Policy.isRetryableByDefault(tooLarge({ "x-should-retry": "true" }))).toBe(true)
      expect(HttpFailure.isRetryableByDefault(tooLarge({ "stripe-should-retry": "false" }))).toBe(false)
    }))

  it.scoped("a 4xx whose only wait is X-RateLimit-Retry-After is retried after that wait, not the backoff", () =>
    Effect.gen(function*() {
      expect(Policy.isRetryableByDefault(tooLarge({ "x-ratelimit-retry-after": "3" }))).toBe(true)
      const { api, scripted } = yield* harness({
        "PUT /large": FaultScript.sequence(
          FaultScript.status(413, { headers: { "x-ratelimit-retry-after": "3" } }),
          FaultScript.json(ada)
        ),
        "GET /forbidden": FaultScript.sequence(
          FaultScript.status(403, { headers: { "x-ratelimit-retry-after": "5" } }),
          FaultScript.json(ada)
        )
      }, {
        ...exact,
        retry: {
          baseDelay: "10 millis",
          maxDelay: "20 millis",
          jitter: "none",
          retryAfterJitter: 0,
          budget: false,
          retryAfterStatuses: [403, 413, 429, 503],
          retryOn: { ClientError: (e) => e.status === 403 || e.status === 413 }
        }
      })
      expect(yield* runVirtual(api.put("/large", { schema: User }))).toEqual(Exit.succeed(ada))
      expect(yield* gapsOf(scripted)).toEqual([0, 3000])
      yield* scripted.reset
      expect(yield* runVirtual(api.get("/forbidden", { schema: User }))).toEqual(Exit.succeed(ada))
      expect(yield* gapsOf(scripted)).toEqual([0, 5000])
    }))

  const waitArb = FastCheck.integer({ min: 0, max: 120 })
  const faultArb: FastCheck.Arbitrary<FaultScript.Fault> = FastCheck.oneof(
    FastCheck.constant(FaultScript.status(503)),
    FastCheck.constant(FaultScript.status(500)),
    FastCheck.constant(FaultScript.reset("beforeHeaders")),
    waitArb.map((s) => FaultScript.status(503, { headers: { "retry-after": `${s}` } })),
    waitArb.map((s) => FaultScript.status(429, { headers: { "retry-after": ` ${s}, ${s}` } })),
    waitArb.map((s) => FaultScript.status(429, { headers: { "ratelimit-reset": `${s}` } })),
    waitArb.map((s) =>
      FaultScript.status(503, { headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": `${s}.5` } })
    )
  )

  it.effect.prop(
    "no retry waits longer than maxDelay or maxRetryAfter (jitter included), starts past the deadline or exceeds maxAttempts",
    [
      FastCheck.array(faultArb, { minLength: 1, maxLength: 8 }),
      FastCheck.integer({ min: 1, max: 8 }),
      FastCheck.integer({ min: 1, max: 60 }),
      FastCheck.integer({ min: 1, max: 40 }),
      FastCheck.integer({ min: 1, max: 20 }),
      FastCheck.constantFrom("none" as const, "full" as const, "equal" as const, "decorrelated" as const),
      FastCheck.integer()
    ],
    ([faults, maxAttempts, totalSeconds, maxRetryAfterSeconds, maxDelaySeconds, jitter, seed]) =>
      Effect.scoped(Effect.gen(function*() {
        const start = yield* TestClock.currentTimeMillis
        const { api, scripted } = yield* harness({
          "GET /x": FaultScript.sequence(faults[0]!, ...faults.slice(1), FaultScript.json(ada))
        }, {
          totalTimeout: `${totalSeconds} seconds`,
          circuitBreaker: false,
          retry: {
            maxAttempts,
            baseDelay: "500 millis",
            maxDelay: `${maxDelaySeconds} seconds`,
            jitter,
            maxRetryAfter: `${maxRetryAfterSeconds} seconds`,
            budget: false
          }
        })
        const fiber = yield* Effect.fork(Effect.withRandom(api.get("/x", { schema: User }), Random.make(seed)))
        yield* TestClock.adjust("10 hours")
        const exit = yield* Fiber.await(fiber)
        const times = (yield* scripted.requests).map((r) => r.arrivedAt - start)
        expect(times.length).toBeLessThanOrEqual(maxAttempts)
        if (Exit.isFailure(exit)) {
          const failure = failureOf(exit)
          if (HttpFailure.isHttpFailure(failure)) expect(Policy.attemptsOf(failure)).toBe(times.length)
        } else {
          expect(times.length).toBe(faults.length + 1)
        }
        const longestWait = Math.max(maxDelaySeconds, maxRetryAfterSeconds) * 1000
        for (let i = 1; i < times.length; i++) {
          expect(times[i]! - times[i - 1]!).toBeLessThanOrEqual(longestWait)
          expect(times[i]!).toBeLessThan(totalSeconds * 1000)
        }
      })),
    { fastCheck: { seed: 7, numRuns: 60 } }
  )
})

describe("Policy: hedging, bulkhead, rate limit and time limits together", () => {
  it.scoped("a hedge the bulkhead turns away does not abort the attempt still out: its answer is the call's", () =>
    Effect.gen(function*() {
      const { api, scripted } = yield* harness({
        "GET /x": FaultScript.withLatency(FaultScript.json(ada), "1 second")
      }, { ...quick, bulkhead: { maxConcurrent: 1 }, hedging: { delay: "100 millis", maxHedges: 2 } })
      const started = yield* TestClock.currentTimeMillis
      expect(yield* runVirtual(api.get("/x", { schema: User }), "5 seconds")).toEqual(Exit.succeed(ada))
      // the primary alone reached the server, and answered after its full latency
      expect((yield* arrivals(scripted)).map((at) => at - started)).toEqual([0])
    }))

  it.scoped("the winner is returned on time even when the loser's transport ignores interruption", () =>
    Effect.gen(function*() {
      // the first request answers after 1 s and cannot be cut short; the hedge answers 10 ms after it is sent
      let sent = 0
      const stubborn = HttpClient.make((request) =>
        Effect.suspend(() => {
          const latency = sent++ === 0 ? "1 second" : "10 millis"
          return Effect.uninterruptible(Effect.sleep(latency)).pipe(
            Effect.as(
              HttpClientResponse.fromWeb(
                request,
                new Response(JSON.stringify(ada), { status: 200, headers: { "content-type": "application/json" } })
              )
            )
          )
        })
      )
      const policy = yield* Policy.make({ ...quick, hedging: { delay: "100 millis" } })
      const api = SturdyClient.makeWith(stubborn, { baseUrl: base, policy })
      const started = yield* TestClock.currentTimeMillis
      const fiber = yield* Effect.fork(
        Effect.zip(
          api.get("/x", { schema: User }),
          Effect.flatMap(TestClock.currentTimeMillis, (at) => Effect.succeed(at))
        )
      )
      yield* TestClock.adjust("110 millis")
      const [user, at] = yield* Fiber.join(fiber)
      expect(user).toEqual(ada)
      expect(at - started).toBe(110)
      expect(sent).toBe(2)
      yield* TestClock.adjust("1 second")
    }))

  it("an infinite or fractional rate limit is an InvalidPolicy naming rateLimit.limit, not a defect when built", () => {
    for (const limit of [Infinity, 2.5, NaN, 0]) {
      const result = Policy.validate({ rateLimit: { limit, window: "1 second" } })
      expect(Either.isLeft(result) && result.left.problems.map((problem) => `${problem.field} ${problem.detail}`))
        .toEqual([`rateLimit.limit (${limit}) must be an integer of at least 1`])
    }
    const hosts = Policy.validate({ hosts: { "a.test": { rateLimit: { limit: Infinity, window: "1 second" } } } })
    expect(Either.isLeft(hosts) && hosts.left.field).toBe("hosts[\"a.test\"].rateLimit.limit")
  })

  it("a totalTimeout that is not positive is one problem, not a second one about the attemptTimeout derived from it", () => {
    for (const totalTimeout of [0, -1, "0 millis"] as const) {
      const result = Policy.validate({ totalTimeout })
      expect(Either.isLeft(result) && result.left.problems.map((problem) => problem.field)).toEqual(["totalTimeout"])
    }
    // set by the user, a too long attemptTimeout is still named
    const both = Policy.validate({ totalTimeout: "1 second", attemptTimeout: "2 seconds" })
    expect(Either.isLeft(both) && both.left.problems.map((problem) => problem.field)).toEqual(["attemptTimeout"])
  })
})

describe("Policy validation: values of the wrong type", () => {
  const problemsOf = (options: unknown): string => {
    const answer = Policy.validate(options as Policy.Options)
    return Either.isLeft(answer) ? answer.left.message : "accepted"
  }

  it("a bigint, a symbol or an object whose valueOf throws is an InvalidPolicy naming the field, not a throw", () => {
    const throwing = {
      valueOf: () => {
        throw new Error("valueOf")
      }
    }
    const cases: ReadonlyArray<readonly [string, unknown]> = [
      ["deadlineHeader", { deadlineHeader: 5n }],
      ["retry.jitter", { retry: { jitter: 5n } }],
      ["retry.methods", { retry: { methods: ["GET", 5n] } }],
      ["rateLimit.algorithm", { rateLimit: { limit: 1, window: "1 second", algorithm: 5n } }],
      ["retry.maxAttempts", { retry: { maxAttempts: Symbol("n") } }],
      ["circuitBreaker.minimumThroughput", { circuitBreaker: { minimumThroughput: Symbol("n") } }],
      ["hedging.maxHedges", { hedging: { delay: "1 second", maxHedges: Symbol("n") } }],
      ["rateLimit.limit", { rateLimit: { limit: Symbol("n"), window: "1 second" } }],
      ["retry.retryAfterJitter", { retry: { retryAfterJitter: throwing } }],
      ["circuitBreaker.failureRateThreshold", { circuitBreaker: { failureRateThreshold: Symbol("r") } }]
    ]
    for (const [field, options] of cases) expect(problemsOf(options), field).toContain(field)
  })

  it("a retryAfterJitter or failureRateThreshold that is no number is refused, not coerced", () => {
    for (const value of [true, "", [1], "0.5"]) {
      expect(problemsOf({ retry: { retryAfterJitter: value } })).toContain("retry.retryAfterJitter")
      expect(problemsOf({ circuitBreaker: { failureRateThreshold: value } })).toContain(
        "circuitBreaker.failureRateThreshold"
      )
    }
  })

  it("an upstreamKey or onEvent that is no function, or a telemetry that is no boolean, is refused", () => {
    expect(problemsOf({ upstreamKey: "origin" })).toContain("upstreamKey")
    expect(problemsOf({ onEvent: {} })).toContain("onEvent")
    expect(problemsOf({ telemetry: "false" })).toContain("telemetry")
  })
})

// an answer's failure with `status`, as the attempt gives it: a 429, another 4xx, a 5xx
const statusFailure = (url: string, status: number) =>
  status === 429
    ? new HttpFailure.RateLimited({
      method: "GET",
      url,
      status,
      headers: {},
      bodyExcerpt: "",
      payload: Option.none(),
      retryAfter: Option.none()
    })
    : status >= 500
    ? new HttpFailure.ServerError({
      method: "GET",
      url,
      status,
      headers: {},
      bodyExcerpt: "",
      payload: Option.none(),
      retryAfter: Option.none()
    })
    : new HttpFailure.ClientError({
      method: "GET",
      url,
      status,
      headers: {},
      bodyExcerpt: "",
      payload: Option.none()
    })

describe("Policy: the adaptive concurrency limit stage", () => {
  // retries off unless a test turns them on: each call is one attempt, one sample
  const limited = (concurrencyLimit: Policy.ConcurrencyLimitOptions, options: Policy.Options = {}): Policy.Options => ({
    ...quick,
    retry: false,
    concurrencyLimit,
    ...options
  })
  const request = (host: string) => HttpClientRequest.get(`http://${host}/x`)
  const limitOf = (policy: Policy.Policy, host: string) =>
    Effect.flatMap(policy.concurrencyLimit(request(host)), (limiter) => Option.getOrThrow(limiter).limit)
  // a call whose attempt is held until `gate` opens: once this returns, it is in flight
  const held = (policy: Policy.Policy, host: string, gate: Deferred.Deferred<void>, sent: { n: number }) =>
    Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      const fiber = yield* Effect.fork(policy.run(request(host), () =>
        Effect.suspend(() => {
          sent.n++
          return Effect.zipRight(Deferred.succeed(started, undefined), Effect.as(Deferred.await(gate), "slow"))
        })))
      yield* Deferred.await(started)
      return fiber
    })

  it.scoped("is off by default: no limit is kept, and describe says so", () =>
    Effect.gen(function*() {
      const policy = yield* Policy.make()
      expect(policy.describe(request("a.test")).concurrencyLimit).toBe(false)
      yield* policy.run(request("a.test"), () => Effect.succeed("ok"))
      expect(Option.isNone(yield* policy.concurrencyLimit(request("a.test")))).toBe(true)
      const on = yield* Policy.make({ concurrencyLimit: {} })
      expect(on.describe(request("a.test")).concurrencyLimit).toBe(true)
    }))

  it.scoped("a 503 storm shrinks the limit; calls over it fail with ConcurrencyLimitExceeded, unsent", () =>
    Effect.gen(function*() {
      const policy = yield* Policy.make(limited({ initialLimit: 10 }))
      const overloaded = (r: HttpClientRequest.HttpClientRequest) => Effect.fail(statusFailure(r.url, 503))
      for (let i = 0; i < 20; i++) yield* Effect.exit(policy.run(request("a.test"), overloaded))
      expect(yield* limitOf(policy, "a.test")).toBe(1)
      const gate = yield* Deferred.make<void>()
      const sent = { n: 0 }
      const first = yield* held(policy, "a.test", gate, sent)
      yield* Effect.yieldNow()
      const second = yield* Effect.exit(policy.run(request("a.test"), () => Effect.sync(() => sent.n++)))
      expect(failureOf(second)).toMatchObject({ _tag: "ConcurrencyLimitExceeded", limit: 1, inFlight: 1 })
      expect(sent.n).toBe(1)
      yield* Deferred.succeed(gate, undefined)
      expect(yield* Fiber.join(first)).toBe("slow")
    }))

  it.scoped("successes with the limit in use grow it", () =>
    Effect.gen(function*() {
      const policy = yield* Policy.make(limited({ initialLimit: 1, maxLimit: 50 }))
      // one call at a time uses a limit of 1 or 2 (inFlight × 2 ≥ limit): 1 → 2 → 3, then 3 is not in use
      for (let i = 0; i < 5; i++) yield* policy.run(request("a.test"), () => Effect.succeed("ok"))
      expect(yield* limitOf(policy, "a.test")).toBe(3)
    }))

  it.scoped("a 404 is an answer and does not shrink the limit; a timeout and a 429 do", () =>
    Effect.gen(function*() {
      const policy = yield* Policy.make(limited({ initialLimit: 10 }))
      const missing = (r: HttpClientRequest.HttpClientRequest) => Effect.fail(statusFailure(r.url, 404))
      const broken = (r: HttpClientRequest.HttpClientRequest) => Effect.fail(statusFailure(r.url, 500))
      for (let i = 0; i < 5; i++) {
        yield* Effect.exit(policy.run(request("a.test"), missing))
        yield* Effect.exit(policy.run(request("a.test"), broken))
      }
      expect(yield* limitOf(policy, "a.test")).toBe(10)
      const limitedByServer = new HttpFailure.RateLimited({
        method: "GET",
        url: "http://a.test/x",
        status: 429,
        headers: {},
        bodyExcerpt: "",
        payload: Option.none(),
        retryAfter: Option.none()
      })
      yield* Effect.exit(policy.run(request("a.test"), () => Effect.fail(limitedByServer)))
      expect(yield* limitOf(policy, "a.test")).toBe(9)
      // an attempt that runs out of its attempt timeout (10 s in `quick`)
      const slow = yield* Effect.fork(policy.run(request("a.test"), () => Effect.never))
      yield* TestClock.adjust("11 seconds")
      expect(failureOf(yield* Fiber.await(slow))._tag).toBe("Timeout")
      expect(yield* limitOf(policy, "a.test")).toBe(8)
    }))

  it.scoped("a refused connection is no sample: it neither grows nor shrinks the limit", () =>
    Effect.gen(function*() {
      const policy = yield* Policy.make(limited({ initialLimit: 1, maxLimit: 50 }))
      const refused = (r: HttpClientRequest.HttpClientRequest) =>
        Effect.fail(
          new HttpFailure.ConnectionError({
            method: "GET",
            url: r.url,
            reason: "Refused",
            requestSent: false
          })
        )
      // as answers, five refused attempts with the limit in use would grow it 1 → 3 (see the test above)
      for (let i = 0; i < 5; i++) yield* Effect.exit(policy.run(request("a.test"), refused))
      expect(yield* limitOf(policy, "a.test")).toBe(1)
      for (let i = 0; i < 5; i++) yield* policy.run(request("a.test"), () => Effect.succeed("ok"))
      expect(yield* limitOf(policy, "a.test")).toBe(3)
    }))

  it.scoped("its samples are the attempts, not the call: each failed attempt of a retried call is a drop", () =>
    Effect.gen(function*() {
      const policy = yield* Policy.make(limited({ initialLimit: 10 }, {
        retry: { maxAttempts: 3, baseDelay: "100 millis", maxDelay: "1 second", budget: false }
      }))
      let attempts = 0
      const call = yield* Effect.fork(
        policy.run(
          request("a.test"),
          (r) => Effect.suspend(() => ++attempts < 3 ? Effect.fail(statusFailure(r.url, 503)) : Effect.succeed("ok"))
        )
      )
      yield* TestClock.adjust("5 seconds")
      expect(yield* Fiber.join(call)).toBe("ok")
      expect(attempts).toBe(3)
      // two drops (10 → 9 → 8) and one answer with the limit not in use (1 × 2 < 8)
      expect(yield* limitOf(policy, "a.test")).toBe(8)
    }))

  it.scoped("it sits inside the bulkhead: a call queued in the bulkhead is not in flight, and waits", () =>
    Effect.gen(function*() {
      const policy = yield* Policy.make(limited({ initialLimit: 1, maxLimit: 1 }, {
        bulkhead: { maxConcurrent: 1, maxQueued: 1 }
      }))
      const gate = yield* Deferred.make<void>()
      const sent = { n: 0 }
      const first = yield* held(policy, "a.test", gate, sent)
      const queued = yield* Effect.fork(policy.run(request("a.test"), () => Effect.sync(() => ++sent.n)))
      yield* Effect.yieldNow()
      const limiter = Option.getOrThrow(yield* policy.concurrencyLimit(request("a.test")))
      expect(yield* limiter.inFlight).toBe(1)
      expect(sent.n).toBe(1)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(first)
      expect(yield* Fiber.join(queued)).toBe(2)
    }))

  it.scoped("the retry stage does not retry the rejection, as with a full bulkhead, and reports it", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      const policy = yield* Policy.make(limited({ initialLimit: 1, maxLimit: 1 }, {
        retry: { maxAttempts: 3, baseDelay: "100 millis", maxDelay: "1 second", budget: false },
        onEvent: (event) =>
          Effect.sync(() => {
            if (event._tag === "Rejected") seen.push(`rejected ${event.rejection._tag}`)
            if (event._tag === "RetryDecision") seen.push(`retry ${event.retrying} ${event.failure._tag}`)
          })
      }))
      const gate = yield* Deferred.make<void>()
      const sent = { n: 0 }
      const first = yield* held(policy, "a.test", gate, sent)
      yield* Effect.yieldNow()
      const fiber = yield* Effect.fork(policy.run(request("a.test"), () => Effect.sync(() => sent.n++)))
      yield* TestClock.adjust("5 seconds")
      const exit = yield* Fiber.await(fiber)
      expect(failureOf(exit)._tag).toBe("ConcurrencyLimitExceeded")
      expect(Policy.attemptsOf(failureOf(exit))).toBeUndefined()
      expect(sent.n).toBe(1)
      expect(seen).toEqual(["rejected ConcurrencyLimitExceeded", "retry false ConcurrencyLimitExceeded"])
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(first)
    }))

  it.scoped("each upstream key has its own limit", () =>
    Effect.gen(function*() {
      const policy = yield* Policy.make(limited({ initialLimit: 4 }))
      const overloaded = (r: HttpClientRequest.HttpClientRequest) => Effect.fail(statusFailure(r.url, 503))
      for (let i = 0; i < 10; i++) yield* Effect.exit(policy.run(request("a.test"), overloaded))
      expect(yield* limitOf(policy, "a.test")).toBe(1)
      const gate = yield* Deferred.make<void>()
      const sent = { n: 0 }
      const onA = yield* held(policy, "a.test", gate, sent)
      yield* Effect.yieldNow()
      // a.test is full; b.test, never overloaded, still takes calls beside one in flight
      const onB = yield* held(policy, "b.test", gate, sent)
      yield* Effect.yieldNow()
      expect(yield* policy.run(request("b.test"), () => Effect.succeed("ok"))).toBe("ok")
      expect(failureOf(yield* Effect.exit(policy.run(request("a.test"), () => Effect.succeed("ok"))))._tag).toBe(
        "ConcurrencyLimitExceeded"
      )
      // b.test's success had its limit in use (2 in flight × 2 ≥ 4): it grew, where a.test's shrank
      expect(yield* limitOf(policy, "b.test")).toBe(5)
      expect(sent.n).toBe(2)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(onA)
      yield* Fiber.join(onB)
    }))

  it.scoped("a host's entry overrides the limit's options and turns it on or off for that host", () =>
    Effect.gen(function*() {
      const policy = yield* Policy.make(limited({ initialLimit: 5 }, {
        hosts: { "b.test": { concurrencyLimit: { initialLimit: 7 } }, "c.test": { concurrencyLimit: false } }
      }))
      expect(yield* limitOf(policy, "a.test")).toBe(5)
      expect(yield* limitOf(policy, "b.test")).toBe(7)
      expect(Option.isNone(yield* policy.concurrencyLimit(request("c.test")))).toBe(true)
      // b.test's calls go through its own limit (7 × 0.9 → 6 on a 503), c.test's through none
      const overloaded = (r: HttpClientRequest.HttpClientRequest) => Effect.fail(statusFailure(r.url, 503))
      yield* Effect.exit(policy.run(request("b.test"), overloaded))
      yield* Effect.exit(policy.run(request("c.test"), overloaded))
      expect(yield* limitOf(policy, "b.test")).toBe(6)
      expect(yield* limitOf(policy, "a.test")).toBe(5)
      expect(Option.isNone(yield* policy.concurrencyLimit(request("c.test")))).toBe(true)
    }))

  it.effect(
    "the table of a profile keeps a limit with attempts in flight; idle ones go past the cap",
    () =>
      Effect.gen(function*() {
        const limits = new Map<string, stages.LimitSlot>()
        const limitOf = stages.limitFor(limits, {})
        const busy = yield* limitOf("busy")
        yield* limitOf("idle")
        const gate = yield* Deferred.make<void>()
        const fiber = yield* Effect.fork(busy.run(Deferred.await(gate)))
        yield* Effect.yieldNow()
        for (let i = 0; i < stages.bulkheadCapacity + 100; i++) yield* limitOf(`h${i}`)
        expect(stages.usedSlot(limits, "busy")).toBe(busy)
        expect(limits.has("idle")).toBe(false)
        expect(limits.size).toBe(stages.bulkheadCapacity)
        yield* Deferred.succeed(gate, undefined)
        yield* Fiber.join(fiber)
      }),
    60_000
  )

  it("bad options are an InvalidPolicy naming the field", () => {
    const problemsOf = (options: Policy.Options) => {
      const result = Policy.validate(options)
      return Either.isLeft(result) ? result.left.problems.map((p) => p.field) : []
    }
    expect(problemsOf({ concurrencyLimit: { maxLimit: 0 } })).toEqual(["concurrencyLimit.maxLimit"])
    expect(problemsOf({ concurrencyLimit: { initialLimit: 300 } })).toEqual(["concurrencyLimit.initialLimit"])
    expect(problemsOf({ concurrencyLimit: { backoffRatio: 1 } })).toEqual(["concurrencyLimit.backoffRatio"])
    expect(problemsOf({ concurrencyLimit: { timeout: "-1 seconds" } })).toEqual(["concurrencyLimit.timeout"])
    expect(problemsOf({ concurrencyLimit: { algorithm: "vegas" as "aimd" } })).toEqual(["concurrencyLimit.algorithm"])
    expect(problemsOf({ concurrencyLimit: { maxLimt: 5 } as Policy.ConcurrencyLimitOptions })).toEqual([
      "concurrencyLimit.maxLimt"
    ])
    expect(problemsOf({ hosts: { "a.test": { concurrencyLimit: { smoothing: 0 } } } })).toEqual([
      "hosts[\"a.test\"].concurrencyLimit.smoothing"
    ])
    expect(problemsOf({ concurrencyLimit: { algorithm: "gradient2", rttTolerance: 2, queueSize: 2 } })).toEqual([])
  })

  it.effect("Policy.config reads it: off unless set, and a host's section overrides", () =>
    Effect.gen(function*() {
      const options = yield* Policy.config.pipe(Effect.withConfigProvider(ConfigProvider.fromJson({
        concurrencyLimit: { initialLimit: 8, algorithm: "gradient2", timeout: "2 seconds" },
        hosts: { "b.test": { concurrencyLimit: { enabled: false } } }
      })))
      expect(options.concurrencyLimit).toMatchObject({
        initialLimit: 8,
        algorithm: "gradient2",
        timeout: Duration.seconds(2)
      })
      expect(options.hosts?.["b.test"]?.concurrencyLimit).toBe(false)
      const none = yield* Policy.config.pipe(Effect.withConfigProvider(ConfigProvider.fromJson({})))
      expect(none.concurrencyLimit).toBeUndefined()
      const policy = yield* Effect.scoped(Effect.gen(function*() {
        const made = yield* Policy.make(options)
        // an attempt in flight on a.test is in flight under the limit read from the config
        const gate = yield* Deferred.make<void>()
        const fiber = yield* held(made, "a.test", gate, { n: 0 })
        const limiter = Option.getOrThrow(yield* made.concurrencyLimit(request("a.test")))
        const inFlight = yield* limiter.inFlight
        yield* Deferred.succeed(gate, undefined)
        yield* Fiber.join(fiber)
        return [yield* limiter.limit, inFlight, made.describe(request("b.test")).concurrencyLimit] as const
      }))
      expect(policy).toEqual([8, 1, false])
    }))
})

describe("Policy: the adaptive throttle stage", () => {
  // retries off unless a test turns them on: each call is one attempt, one request of the SRE book's formula
  const throttled = (
    adaptiveThrottle: Policy.AdaptiveThrottleOptions,
    options: Policy.Options = {}
  ): Policy.Options => ({
    ...quick,
    retry: false,
    adaptiveThrottle,
    ...options
  })
  const request = (host: string) => HttpClientRequest.get(`http://${host}/x`)
  const snapshotOf = (policy: Policy.Policy, host: string) =>
    Effect.flatMap(policy.adaptiveThrottle(request(host)), (throttle) => Option.getOrThrow(throttle).snapshot)
  // `n` calls of `host` whose attempts fail with `status` (those the throttle lets through): how many were sent, and the
  // tags of the calls' failures
  const storm = (policy: Policy.Policy, host: string, status: number, n: number) =>
    Effect.gen(function*() {
      const sent = { n: 0 }
      const tags: Array<string> = []
      for (let i = 0; i < n; i++) {
        const exit = yield* Effect.exit(policy.run(request(host), (r) =>
          Effect.suspend(() => {
            sent.n++
            return Effect.fail(statusFailure(r.url, status))
          })))
        tags.push(failureOf(exit)._tag)
      }
      return { sent: sent.n, tags }
    })
  // `n` calls of `host` that succeed when sent: how many were sent, and how many were throttled
  const healthy = (policy: Policy.Policy, host: string, n: number) =>
    Effect.gen(function*() {
      let sent = 0
      let rejected = 0
      for (let i = 0; i < n; i++) {
        const exit = yield* Effect.exit(policy.run(request(host), () => Effect.sync(() => ++sent)))
        if (Exit.isFailure(exit)) {
          expect(failureOf(exit)._tag).toBe("AdaptiveThrottleRejected")
          rejected++
        }
      }
      return { sent, rejected }
    })
  const seeded = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.withRandom(effect, Random.make(7))

  it.scoped("is off by default: no throttle is kept, and describe says so", () =>
    Effect.gen(function*() {
      expect((yield* Policy.make()).describe(request("a.test")).adaptiveThrottle).toBe(false)
      const policy = yield* Policy.make({ ...quick, retry: false })
      expect(policy.describe(request("a.test")).adaptiveThrottle).toBe(false)
      // a storm throttles nothing
      const { sent } = yield* storm(policy, "a.test", 503, 30)
      expect(sent).toBe(30)
      expect(Option.isNone(yield* policy.adaptiveThrottle(request("a.test")))).toBe(true)
      const on = yield* Policy.make({ adaptiveThrottle: {} })
      expect(on.describe(request("a.test")).adaptiveThrottle).toBe(true)
    }))

  it.scoped("a 503 storm throttles later attempts: they fail with AdaptiveThrottleRejected, unsent", () =>
    seeded(Effect.gen(function*() {
      const policy = yield* Policy.make(throttled({}))
      const { sent, tags } = yield* storm(policy, "a.test", 503, 30)
      // the first is always sent (no history); every request counts, throttled or not, and none is an accept
      expect(tags[0]).toBe("ServerError")
      const rejected = tags.filter((tag) => tag === "AdaptiveThrottleRejected").length
      expect(rejected).toBeGreaterThan(10)
      expect(sent + rejected).toBe(30)
      expect(tags.every((tag) => tag === "ServerError" || tag === "AdaptiveThrottleRejected")).toBe(true)
      const snapshot = yield* snapshotOf(policy, "a.test")
      expect(snapshot).toMatchObject({ requests: 30, accepts: 0 })
      expect(snapshot.rejectProbability).toBeCloseTo(30 / 31)
      // a call now is most likely throttled, and then never reaches the transport
      const after = yield* healthy(policy, "a.test", 10)
      expect(after.rejected).toBeGreaterThan(5)
      expect(after.sent + after.rejected).toBe(10)
    })))

  it.scoped("429s and attempt timeouts are the upstream's rejections too", () =>
    seeded(Effect.gen(function*() {
      const policy = yield* Policy.make(throttled({}))
      yield* storm(policy, "a.test", 429, 3)
      expect(yield* snapshotOf(policy, "a.test")).toMatchObject({ requests: 3, accepts: 0 })
      const b = yield* snapshotOf(policy, "b.test")
      expect(b.requests).toBe(0)
      // an attempt that runs out of its attempt timeout (10 s in `quick`) on b.test, where nothing is throttled yet
      const slow = yield* Effect.fork(policy.run(request("b.test"), () => Effect.never))
      yield* TestClock.adjust("11 seconds")
      expect(failureOf(yield* Fiber.await(slow))._tag).toBe("Timeout")
      expect(yield* snapshotOf(policy, "b.test")).toMatchObject({ requests: 1, accepts: 0, rejectProbability: 0.5 })
    })))

  it.scoped("accepts keep it open through a burst of 503s, and once the storm leaves the window calls go again", () =>
    seeded(Effect.gen(function*() {
      const policy = yield* Policy.make(throttled({}))
      // twenty accepts: ten 503s after them leave requests ≤ 2 × accepts, so none is throttled
      expect(yield* healthy(policy, "a.test", 20)).toEqual({ sent: 20, rejected: 0 })
      expect((yield* storm(policy, "a.test", 503, 10)).sent).toBe(10)
      expect(yield* snapshotOf(policy, "a.test")).toEqual({ requests: 30, accepts: 20, rejectProbability: 0 })
      // the same burst with no accepts before it is throttled
      const bare = yield* storm(policy, "b.test", 503, 10)
      expect(bare.sent).toBeLessThan(10)
      yield* storm(policy, "b.test", 503, 20)
      expect((yield* snapshotOf(policy, "b.test")).rejectProbability).toBeGreaterThan(0.9)
      // the default window is 2 minutes: past it the storm no longer counts, and the accepts since keep it at 0
      yield* TestClock.adjust("121 seconds")
      expect(yield* healthy(policy, "b.test", 20)).toEqual({ sent: 20, rejected: 0 })
      expect(yield* snapshotOf(policy, "b.test")).toEqual({ requests: 20, accepts: 20, rejectProbability: 0 })
      expect((yield* storm(policy, "b.test", 503, 10)).sent).toBe(10)
    })))

  it.scoped("a 404 and a 500 are answers: they do not raise the probability", () =>
    seeded(Effect.gen(function*() {
      const policy = yield* Policy.make(throttled({}))
      const missing = yield* storm(policy, "a.test", 404, 20)
      const broken = yield* storm(policy, "a.test", 500, 20)
      expect(missing.sent + broken.sent).toBe(40)
      expect(yield* snapshotOf(policy, "a.test")).toEqual({ requests: 40, accepts: 40, rejectProbability: 0 })
    })))

  it.scoped("what the upstream never judged counts neither way: a refused connection, a DNS failure", () =>
    seeded(Effect.gen(function*() {
      const policy = yield* Policy.make(throttled({}))
      const unreached = (reason: "Refused" | "DnsLookup") => (r: HttpClientRequest.HttpClientRequest) =>
        Effect.fail(
          new HttpFailure.ConnectionError({ method: "GET", url: r.url, reason, requestSent: false })
        )
      for (let i = 0; i < 10; i++) {
        expect(failureOf(yield* Effect.exit(policy.run(request("a.test"), unreached("Refused"))))._tag).toBe(
          "ConnectionError"
        )
        yield* Effect.exit(policy.run(request("a.test"), unreached("DnsLookup")))
      }
      // neither requests nor accepts: an upstream that was never reached neither accepted nor refused anything
      expect(yield* snapshotOf(policy, "a.test")).toEqual({ requests: 0, accepts: 0, rejectProbability: 0 })
      yield* storm(policy, "a.test", 503, 2)
      expect(yield* snapshotOf(policy, "a.test")).toMatchObject({ requests: 2, accepts: 0 })
    })))

  it.scoped("its requests are the attempts, not the call: each attempt of a retried call is counted", () =>
    seeded(Effect.gen(function*() {
      const policy = yield* Policy.make(throttled({}, {
        retry: { maxAttempts: 3, baseDelay: "100 millis", maxDelay: "1 second", budget: false }
      }))
      // ten accepts first: the two 503s below leave the probability at 0, so all three attempts are sent
      yield* healthy(policy, "a.test", 10)
      let attempts = 0
      const call = yield* Effect.fork(
        policy.run(
          request("a.test"),
          (r) => Effect.suspend(() => ++attempts < 3 ? Effect.fail(statusFailure(r.url, 503)) : Effect.succeed("ok"))
        )
      )
      yield* TestClock.adjust("5 seconds")
      expect(yield* Fiber.join(call)).toBe("ok")
      expect(attempts).toBe(3)
      expect(yield* snapshotOf(policy, "a.test")).toMatchObject({ requests: 13, accepts: 11 })
    })))

  it.scoped("the retry stage does not retry a throttled attempt, and reports it as a rejection of that attempt", () =>
    seeded(Effect.gen(function*() {
      const seen: Array<string> = []
      const policy = yield* Policy.make(throttled({}, {
        retry: { maxAttempts: 3, baseDelay: "100 millis", maxDelay: "1 second", budget: false },
        onEvent: (event) =>
          Effect.sync(() => {
            if (event._tag === "Rejected") seen.push(`rejected ${event.attempt} ${event.rejection._tag}`)
            if (event._tag === "RetryDecision") seen.push(`retry ${event.retrying} ${event.failure._tag}`)
            if (event._tag === "AttemptStarted") seen.push(`sent ${event.attempt}`)
          })
      }))
      // a storm of calls whose attempts all fail with 503 (retried, each attempt is a request)
      for (let i = 0; i < 20; i++) {
        const call = yield* Effect.fork(policy.run(request("a.test"), (r) => Effect.fail(statusFailure(r.url, 503))))
        yield* TestClock.adjust("5 seconds")
        yield* Fiber.await(call)
      }
      expect((yield* snapshotOf(policy, "a.test")).rejectProbability).toBeGreaterThan(0.95)
      seen.length = 0
      // a call whose attempt is throttled at the first draw (p ≈ 0.98; the seed makes it so)
      let sent = 0
      const fiber = yield* Effect.fork(policy.run(request("a.test"), () => Effect.sync(() => ++sent)))
      yield* TestClock.adjust("5 seconds")
      const exit = yield* Fiber.await(fiber)
      expect(failureOf(exit)).toMatchObject({ _tag: "AdaptiveThrottleRejected", key: "http://a.test:80" })
      expect(Policy.attemptsOf(failureOf(exit))).toBeUndefined()
      expect(sent).toBe(0)
      expect(seen).toEqual(["rejected 1 AdaptiveThrottleRejected", "retry false AdaptiveThrottleRejected"])
    })))

  it.scoped("each upstream key has its own throttle", () =>
    seeded(Effect.gen(function*() {
      const policy = yield* Policy.make(throttled({}))
      yield* storm(policy, "a.test", 503, 30)
      expect((yield* snapshotOf(policy, "a.test")).rejectProbability).toBeGreaterThan(0.9)
      expect(yield* healthy(policy, "b.test", 20)).toEqual({ sent: 20, rejected: 0 })
      expect(yield* snapshotOf(policy, "b.test")).toEqual({ requests: 20, accepts: 20, rejectProbability: 0 })
    })))

  it.scoped("a host's entry overrides the throttle's options and turns it on or off for that host", () =>
    seeded(Effect.gen(function*() {
      const policy = yield* Policy.make(throttled({}, {
        hosts: { "b.test": { adaptiveThrottle: { k: 5 } }, "c.test": { adaptiveThrottle: false } }
      }))
      expect(Option.isNone(yield* policy.adaptiveThrottle(request("c.test")))).toBe(true)
      expect(policy.describe(request("c.test")).adaptiveThrottle).toBe(false)
      // two accepts, then six rejections (sent or throttled, each is a request): (8 − k·2) / 9
      for (const host of ["a.test", "b.test", "c.test"]) {
        yield* healthy(policy, host, 2)
        yield* storm(policy, host, 503, 6)
      }
      expect((yield* snapshotOf(policy, "a.test")).rejectProbability).toBeCloseTo(4 / 9)
      expect(yield* snapshotOf(policy, "b.test")).toEqual({ requests: 8, accepts: 2, rejectProbability: 0 })
      // c.test has no throttle: every call was sent
      expect(Option.isNone(yield* policy.adaptiveThrottle(request("c.test")))).toBe(true)
      expect((yield* storm(policy, "c.test", 503, 20)).sent).toBe(20)
      // and a host may turn it on where the base options leave it off
      const onForOne = yield* Policy.make({ ...quick, retry: false, hosts: { "b.test": { adaptiveThrottle: {} } } })
      expect(Option.isNone(yield* onForOne.adaptiveThrottle(request("a.test")))).toBe(true)
      yield* storm(onForOne, "b.test", 503, 1)
      expect(yield* snapshotOf(onForOne, "b.test")).toMatchObject({ requests: 1, accepts: 0 })
    })))

  it.scoped("the breaker counts a throttled attempt neither way: only the 503s sent are its calls and failures", () =>
    seeded(Effect.gen(function*() {
      const policy = yield* Policy.make(throttled({}, {
        circuitBreaker: { consecutiveFailures: 100, minimumThroughput: 1_000 }
      }))
      const { sent, tags } = yield* storm(policy, "a.test", 503, 30)
      expect(sent).toBeLessThan(30)
      expect(tags.filter((tag) => tag === "AdaptiveThrottleRejected")).toHaveLength(30 - sent)
      const breaker = Option.getOrThrow(yield* policy.circuitBreaker(request("a.test")))
      // a throttled attempt counted as a success would have reset the run of failures; as a failure, added to it
      expect(yield* breaker.snapshot).toMatchObject({ state: "Closed", consecutiveFailures: sent, calls: sent })
    })))

  it.scoped("it sits inside the bulkhead: a call that timed out in the bulkhead's queue was not sent, nor counted", () =>
    Effect.gen(function*() {
      const policy = yield* Policy.make(throttled({}, { bulkhead: { maxConcurrent: 1, maxQueued: 1 } }))
      const gate = yield* Deferred.make<void>()
      const started = yield* Deferred.make<void>()
      const first = yield* Effect.fork(
        policy.run(
          request("a.test"),
          () => Effect.zipRight(Deferred.succeed(started, undefined), Effect.as(Deferred.await(gate), "slow"))
        )
      )
      yield* Deferred.await(started)
      // a caller's deadline of 1 second, which passes while the call waits in the bulkhead's queue
      let sent = 0
      const queued = yield* Effect.fork(
        policy.run(request("a.test"), () => Effect.sync(() => ++sent)).pipe(Deadline.establish("1 second"))
      )
      yield* TestClock.adjust("2 seconds")
      expect(failureOf(yield* Fiber.await(queued))).toMatchObject({ _tag: "Timeout", phase: "Deadline" })
      expect(sent).toBe(0)
      yield* Deferred.succeed(gate, undefined)
      expect(yield* Fiber.join(first)).toBe("slow")
      // the timeout in the queue is no answer of the upstream: only the sent attempt counts, as an accept
      expect(yield* snapshotOf(policy, "a.test")).toEqual({ requests: 1, accepts: 1, rejectProbability: 0 })
    }))

  it.scoped("its rejections are counted in sturdy_policy_rejections_total as adaptive_throttle", () =>
    seeded(Effect.gen(function*() {
      const policy = yield* Policy.make(throttled({}, { telemetry: true }))
      const counter = Telemetry.metrics.rejections.pipe(
        Metric.tagged("host", "metered.test:80"),
        Metric.tagged("policy", "adaptive_throttle")
      )
      const before = (yield* Metric.value(counter)).count
      const { tags } = yield* storm(policy, "metered.test", 503, 30)
      const rejected = tags.filter((tag) => tag === "AdaptiveThrottleRejected").length
      expect(rejected).toBeGreaterThan(0)
      expect((yield* Metric.value(counter)).count).toBe(before + rejected)
    })))

  it.effect(
    "the table of a profile keeps throttles for the keys in use; idle ones go past the cap",
    () =>
      Effect.gen(function*() {
        const throttles = new Map<string, stages.ThrottleSlot>()
        const throttleOf = stages.throttleFor(throttles, {})
        yield* throttleOf("idle")
        const kept = yield* throttleOf("kept")
        expect(kept.key).toBe("kept")
        // used again: the sweep passes it over once
        expect(yield* throttleOf("kept")).toBe(kept)
        for (let i = 0; i < stages.bulkheadCapacity + 100; i++) yield* throttleOf(`h${i}`)
        expect(stages.usedSlot(throttles, "kept")).toBe(kept)
        expect(throttles.has("idle")).toBe(false)
        expect(throttles.size).toBe(stages.bulkheadCapacity)
      }),
    60_000
  )

  it("bad options are an InvalidPolicy naming the field", () => {
    const problemsOf = (options: Policy.Options) => {
      const result = Policy.validate(options)
      return Either.isLeft(result) ? result.left.problems.map((p) => p.field) : []
    }
    expect(problemsOf({ adaptiveThrottle: { k: 0.5 } })).toEqual(["adaptiveThrottle.k"])
    expect(problemsOf({ adaptiveThrottle: { k: Number.NaN } })).toEqual(["adaptiveThrottle.k"])
    expect(problemsOf({ adaptiveThrottle: { k: Infinity } })).toEqual(["adaptiveThrottle.k"])
    expect(problemsOf({ adaptiveThrottle: { k: "2" as unknown as number } })).toEqual(["adaptiveThrottle.k"])
    expect(problemsOf({ adaptiveThrottle: { window: "0 millis" } })).toEqual(["adaptiveThrottle.window"])
    expect(problemsOf({ adaptiveThrottle: { window: "-1 seconds" } })).toEqual(["adaptiveThrottle.window"])
    expect(problemsOf({ adaptiveThrottle: { window: Infinity } })).toEqual(["adaptiveThrottle.window"])
    expect(problemsOf({ adaptiveThrottle: { kk: 2 } as Policy.AdaptiveThrottleOptions })).toEqual([
      "adaptiveThrottle.kk"
    ])
    expect(problemsOf({ adaptiveThrottle: 1 as unknown as Policy.AdaptiveThrottleOptions })).toEqual([
      "adaptiveThrottle"
    ])
    expect(problemsOf({ hosts: { "a.test": { adaptiveThrottle: { k: 0 } } } })).toEqual([
      "hosts[\"a.test\"].adaptiveThrottle.k"
    ])
    expect(problemsOf({ adaptiveThrottle: { k: 1.1, window: "1 minute" } })).toEqual([])
    expect(problemsOf({ adaptiveThrottle: {}, hosts: { "a.test": { adaptiveThrottle: false } } })).toEqual([])
  })

  it.effect("Policy.config reads it: off unless set, and a host's section overrides", () =>
    Effect.gen(function*() {
      const options = yield* Policy.config.pipe(Effect.withConfigProvider(ConfigProvider.fromJson({
        adaptiveThrottle: { k: 1.5, window: "1 minute" },
        hosts: { "b.test": { adaptiveThrottle: { enabled: false } }, "c.test": { adaptiveThrottle: { k: 3 } } }
      })))
      expect(options.adaptiveThrottle).toMatchObject({ k: 1.5, window: Duration.minutes(1) })
      expect(options.hosts?.["b.test"]?.adaptiveThrottle).toBe(false)
      const none = yield* Policy.config.pipe(Effect.withConfigProvider(ConfigProvider.fromJson({})))
      expect(none.adaptiveThrottle).toBeUndefined()
      const enabled = yield* Policy.config.pipe(Effect.withConfigProvider(ConfigProvider.fromJson({
        adaptiveThrottle: { enabled: true }
      })))
      expect(enabled.adaptiveThrottle).toEqual({ k: undefined, window: undefined })
      const probabilities = yield* Effect.scoped(Effect.gen(function*() {
        const made = yield* Policy.make({ ...quick, ...options, retry: false })
        expect(made.describe(request("b.test")).adaptiveThrottle).toBe(false)
        // one accept, two rejections: (3 − k·1) / 4, with k read from the config (1.5), and a host's own (3)
        const p = (host: string) =>
          Effect.gen(function*() {
            yield* healthy(made, host, 1)
            yield* seeded(storm(made, host, 503, 2))
            return (yield* snapshotOf(made, host)).rejectProbability
          })
        return [yield* p("a.test"), yield* p("c.test")]
      }))
      expect(probabilities[0]).toBeCloseTo(1.5 / 4)
      expect(probabilities[1]).toBe(0)
    }))
})

describe("Policy with a BulkheadStore in context", () => {
  it.scoped("its bulkhead's limit holds for every policy on the store (two processes)", () =>
    Effect.gen(function*() {
      const store = BulkheadStore.makeMemory()
      const gate = yield* Deferred.make<void>()
      const client = HttpClient.make((request) =>
        Effect.as(Deferred.await(gate), HttpClientResponse.fromWeb(request, Response.json(ada)))
      )
      const options: Policy.Options = { ...quick, bulkhead: { maxConcurrent: 1 } }
      // two "processes": two policies, each made with the store in its context
      const processOf = Effect.map(
        Policy.make(options).pipe(Effect.provideService(BulkheadStore.BulkheadStore, store)),
        (policy) => SturdyClient.makeWith(client, { baseUrl: base, policy })
      )
      const a = yield* processOf
      const b = yield* processOf
      const first = yield* Effect.fork(a.get("/slow", { schema: User }))
      yield* Effect.repeatN(Effect.yieldNow(), 30)
      const exit = yield* Effect.exit(b.get("/slow", { schema: User }))
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error._tag).toBe("BulkheadRejected")
      yield* Deferred.succeed(gate, undefined)
      expect(yield* Fiber.join(first)).toEqual(ada)
      // the permit is back in the store
      expect(yield* b.get("/slow", { schema: User })).toEqual(ada)
    }))
})
