/**
 * got's timeout tests (sindresorhus/got `test/timeout.ts`, commit d00d845a0b435365ec73ea5a1fca6e17ee677184), ported
 * to Sturdy's public API under the live Clock, where `@sturdy/node`'s undici transport enforces the attempt timeout
 * and the deadline itself (`Attempt`'s module docs): no fiber, no Effect timer, one real timer in the transport. Real
 * node:http servers on 127.0.0.1 (`test/utils/loopbackServer.ts`). Ten of these cases also run on the TestClock, where
 * a timer of the attempt races the request instead, in `test/peer-got-ky-failures.test.ts`; got's `test/retry.ts`
 * timeout cases ("works on timeout", "setting to `0` disables retrying", "does not retry on POST") are in
 * `test/peer-retry-ky-got.test.ts`. One `it` per got case, named after it. Limits are tens to a few hundred
 * milliseconds of real time: the tests assert the typed outcome and the order of events, not elapsed times (but for
 * "timeouts are emitted ASAP", with a wide margin).
 *
 * Mapping of got's `timeout` phases (got's `TimeoutError`, `code: 'ETIMEDOUT'`, "Timeout awaiting '<phase>' for
 * <n>ms", is `HttpFailure.Timeout` with `phase` and `timeout`):
 * - `request` (the whole request, restarted by each retry) → `Attempt.send`'s `timeout`, a `Policy`'s
 *   `attemptTimeout` (phase `Attempt`); the whole call across retries is `totalTimeout` (phase `Deadline`);
 * - `response` (until the first response byte) → `Attempt.classify`'s `timeout` ("the time to the response headers
 *   only"), phase `Attempt`;
 * - `socket` (an idle socket) → undici's `headersTimeout` (`UndiciHttpClient.makeDispatcher`'s, or an `Agent` of the
 *   caller's own), phase `Attempt` with that limit; undici checks it on a coarse timer (late by up to a second);
 * - `read` (an idle body) → the dispatcher's `bodyTimeout`, phase `BodyRead` with that limit (an `Attempt`'s
 *   `bodyTimeout` bounds the whole body read instead);
 * - `send` (the upload) → the attempt's `timeout`, which covers sending too; Sturdy has no upload-only limit;
 * - `connect` → the attempt's `timeout` while the connection is being made (the dispatcher's `connectTimeout` fails
 *   with `ConnectionError` `ConnectTimeout`, which a loopback server cannot provoke);
 * - `lookup` and `secureConnect`: no Sturdy counterpart (no DNS-only or TLS-only limit: the dispatcher's
 *   `connectTimeout` spans TCP and TLS, and the attempt's `timeout` all of it).
 * - `retry.limit: 0` → `retry: false` (or `Attempt.send`, one attempt); `calculateDelay` → `retry.baseDelay`.
 *
 * Per case: "timeout option as object" is the `Policy` form (`attemptTimeout`); "timeouts are emitted ASAP" (got reads
 * the whole request's time) is `totalTimeout`; "response timeout unaffected by slow upload" sets no limit in got, and
 * undici's `headersTimeout` here (it starts once the request is sent, as got's `response` does; `classify`'s `timeout`
 * covers the upload too).
 *
 * Deliberate differences: got's `timeout.request: 0` times out at once; Sturdy refuses a zero limit before sending
 * (`InvalidRequest` `InvalidOptions`) or when the policy is built (`InvalidPolicy`), and an unset one is no limit.
 *
 * Not ported: "lookup timeout", "lookup timeout no error (ip address)", "lookup timeout no error (keepalive)",
 * "doesn't throw on early lookup" (no DNS phase, see above), "secureConnect timeout", "secureConnect timeout not
 * breached" (no TLS phase), "connect timeout (ip address)" (the same as "connect timeout" here: Sturdy's limit does not
 * depend on a lookup), "`read` timeout - stream" (got times out a stream its caller does not read; Sturdy's reader
 * pulls), "ensure there are no new timeouts after cancelation" and "double calling timedOut has no effect" (unit tests
 * of got's `timedOut` internals), "http2 timeout" and "no memory leak when using http2 with socket timeout and
 * connection reuse" (no HTTP/2 transport).
 */
import { HttpClientRequest, type HttpClientResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Attempt, HttpFailure, Policy, SturdyClient } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { Duration, Effect, Either, Exit, Fiber, Option, Stream } from "effect"
import { Agent, buildConnector } from "undici"
import { closedPort, type Handler, type LoopbackServer, start } from "./utils/loopbackServer.js"

// -----------------------------------------------------------------------------
// helpers
// -----------------------------------------------------------------------------

/** The platform client on a fresh undici `Agent` with `options`, destroyed with the test's scope. */
const transport = (options?: UndiciHttpClient.DispatcherOptions) =>
  Effect.map(UndiciHttpClient.makeDispatcher(options), UndiciHttpClient.make)

/** An undici `Agent` of the caller's own (not made by `UndiciHttpClient`), destroyed with the test's scope. */
const ownAgent = (options: Agent.Options) =>
  Effect.acquireRelease(Effect.sync(() => new Agent(options)), (agent) => Effect.promise(() => agent.destroy()))

/** Never answers (until the connection closes). */
const hold: Handler = () => {}

/** Answers `OK` at once (a keep-alive connection to prime the pool with). */
const ok: Handler = (_, res) => {
  res.writeHead(200, { "content-type": "text/plain", "content-length": 2 })
  res.end("OK")
}

/** Sends the headers and `first` at once, then nothing more. */
const stallBody = (first: string): Handler => (_, res) => {
  res.writeHead(200, { "content-type": "text/plain" })
  res.write(first)
}

/** Answers `OK` after `millis` of real time (unless the connection closes first). */
const okAfter = (millis: number): Handler => (req, res) => {
  const timer = setTimeout(() => ok(req, res, ""), millis)
  res.on("close", () => clearTimeout(timer))
}

/** A real pause. */
const sleep = (millis: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, millis)))

/** Waits (real time) until `f` holds; fails the test after 5 s. */
const until = (f: () => boolean, what = f.toString()): Effect.Effect<void> =>
  Effect.promise(() =>
    new Promise<void>((resolve, reject) => {
      const started = Date.now()
      const poll = () => {
        if (f()) resolve()
        else if (Date.now() - started > 5_000) reject(new Error(`not reached in 5s: ${what}`))
        else setTimeout(poll, 2)
      }
      poll()
    })
  )

/** The typed failure of `effect` (a success or a defect fails the test). */
const failureOf = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.map(Effect.either(effect), (either) => {
    if (Either.isRight(either)) throw new Error("expected a failure, got a success")
    return either.left
  })

/** The failure as a `Timeout`'s phase and limit in milliseconds (got's "Timeout awaiting '<phase>' for <n>ms"). */
const timeoutOf = (failure: unknown) => {
  if (!(failure instanceof HttpFailure.Timeout)) throw new Error(`expected a Timeout, got ${String(failure)}`)
  return { phase: failure.phase, millis: Duration.toMillis(failure.timeout) }
}

/** Every connection the server saw is closed: nothing of the request is left running. */
const allClosed = (server: LoopbackServer) =>
  until(() => server.connections() > 0 && server.closed() === server.connections())

/** A request body that sends `a` and then never ends. */
const endlessUpload = Stream.concat(Stream.make(new TextEncoder().encode("a")), Stream.never)

// -----------------------------------------------------------------------------
// got test/timeout.ts
// -----------------------------------------------------------------------------

describe("got test/timeout.ts, on @sturdy/node under the live Clock", () => {
  it.scopedLive("timeout option", () =>
    Effect.gen(function*() {
      const server = yield* start({ "/": hold })
      const failure = yield* failureOf(
        Attempt.send(yield* transport(), HttpClientRequest.get(`${server.url}/`), { timeout: "100 millis" })
      )
      expect(timeoutOf(failure)).toEqual({ phase: "Attempt", millis: 100 })
      expect(failure.message).toBe(`attempt timed out after 100ms: GET ${server.url}/`)
      expect(server.hits("/")).toBe(1)
      yield* allClosed(server)
    }))

  it.scopedLive("timeout option as object", () =>
    Effect.gen(function*() {
      // the Policy form: `attemptTimeout`, one attempt (`retry.limit: 0`)
      const server = yield* start({ "/": hold })
      const policy = yield* Policy.make({ retry: false, circuitBreaker: false, attemptTimeout: "100 millis" })
      const api = SturdyClient.makeWith(yield* transport(), { baseUrl: server.url, policy })
      const failure = yield* failureOf(api.get("/"))
      expect(timeoutOf(failure)).toEqual({ phase: "Attempt", millis: 100 })
      expect(server.hits("/")).toBe(1)
      yield* allClosed(server)
    }))

  it.scopedLive("socket timeout", () =>
    Effect.gen(function*() {
      // got's idle socket limit is undici's headersTimeout here (the socket is idle until the answer), on an Agent of
      // the caller's own, as got's case brings its own `request`: the Timeout reports the Agent's limit
      const server = yield* start({ "/": hold })
      const agent = yield* ownAgent({ headersTimeout: 100 })
      const failure = yield* failureOf(
        Attempt.send(UndiciHttpClient.make(agent), HttpClientRequest.get(`${server.url}/`))
      )
      expect(timeoutOf(failure)).toEqual({ phase: "Attempt", millis: 100 })
      expect(failure.message).toBe(`attempt timed out after 100ms: GET ${server.url}/`)
      yield* allClosed(server)
    }))

  it.scopedLive("send timeout", () =>
    Effect.gen(function*() {
      const server = yield* start({ "/": ok })
      const request = HttpClientRequest.post(`${server.url}/`).pipe(HttpClientRequest.bodyStream(endlessUpload))
      const failure = yield* failureOf(Attempt.send(yield* transport(), request, { timeout: "100 millis" }))
      expect(timeoutOf(failure)).toEqual({ phase: "Attempt", millis: 100 })
      // the upload never ended, so no handler ran; its connection is closed, not left half-written in the pool
      expect(server.hits("/")).toBe(0)
      yield* allClosed(server)
    }))

  it.scopedLive("send timeout (keepalive)", () =>
    Effect.gen(function*() {
      // got's keep-alive agent: one connection, kept (undici releases a socket on the next turn: without the limit
      // of one, a request right after another may get a new one)
      const server = yield* start({ "/": ok, "/prime": ok })
      const http = yield* transport({ connections: 1 })
      expect((yield* Attempt.send(http, HttpClientRequest.get(`${server.url}/prime`))).text).toBe("OK")
      const request = HttpClientRequest.post(`${server.url}/`).pipe(HttpClientRequest.bodyStream(endlessUpload))
      const failure = yield* failureOf(Attempt.send(http, request, { timeout: "100 millis" }))
      expect(timeoutOf(failure)).toEqual({ phase: "Attempt", millis: 100 })
      // the upload went on the primed connection (no new one was opened), which is then closed
      expect(server.connections()).toBe(1)
      yield* allClosed(server)
    }))

  it.scopedLive("response timeout", () =>
    Effect.gen(function*() {
      const server = yield* start({ "/": hold })
      const http = Attempt.classify(yield* transport(), { timeout: "100 millis" })
      const failure = yield* failureOf(Effect.scoped(http.get(`${server.url}/`)))
      expect(timeoutOf(failure)).toEqual({ phase: "Attempt", millis: 100 })
      expect(server.hits("/")).toBe(1)
      yield* allClosed(server)
    }))

  it.scopedLive("response timeout unaffected by slow upload", () =>
    Effect.gen(function*() {
      // got sets no limit here; undici's headersTimeout, the idle limit before the answer, starts once the request is
      // sent: an upload longer than it does not trip it
      const server = yield* start({ "/": (req, res, body) => ok(req, res, body) })
      const http = yield* transport({ headersTimeout: "150 millis" })
      const chunks = Stream.fromIterable(["a", "b", "c", "d", "e"]).pipe(
        Stream.tap(() => Effect.sleep("50 millis")),
        Stream.map((s) => new TextEncoder().encode(s))
      )
      const request = HttpClientRequest.post(`${server.url}/`).pipe(HttpClientRequest.bodyStream(chunks))
      const received = yield* Attempt.send(http, request)
      expect(received.text).toBe("OK")
      expect(server.requests[0]?.body).toBe("abcde")
    }))

  it.scopedLive("response timeout unaffected by slow download", () =>
    Effect.gen(function*() {
      // `classify`'s timeout ends with the headers: a body that takes longer to arrive is read in full
      const server = yield* start({
        "/": (_, res) => {
          res.writeHead(200, { "content-type": "text/plain" })
          res.write("a")
          let sent = 1
          const timer = setInterval(() => {
            res.write("a")
            if (++sent === 6) {
              clearInterval(timer)
              res.end()
            }
          }, 50)
          res.on("close", () => clearInterval(timer))
        }
      })
      const http = Attempt.classify(yield* transport(), { timeout: "150 millis" })
      const text = yield* Effect.scoped(
        Effect.flatMap(http.get(`${server.url}/`), (response: HttpClientResponse.HttpClientResponse) => response.text)
      )
      expect(text).toBe("aaaaaa")
    }))

  it.scopedLive("response timeout (keepalive)", () =>
    Effect.gen(function*() {
      const server = yield* start({ "/": hold, "/prime": ok })
      const platform = yield* transport({ connections: 1 })
      expect((yield* Attempt.send(platform, HttpClientRequest.get(`${server.url}/prime`))).text).toBe("OK")
      const http = Attempt.classify(platform, { timeout: "100 millis" })
      const failure = yield* failureOf(Effect.scoped(http.get(`${server.url}/`)))
      expect(timeoutOf(failure)).toEqual({ phase: "Attempt", millis: 100 })
      // sent on the primed connection
      expect(server.requests.map((r) => r.connection)).toEqual([1, 1])
      expect(server.connections()).toBe(1)
      yield* allClosed(server)
    }))

  it.scopedLive("connect timeout", () =>
    Effect.gen(function*() {
      // a connection that takes 300 ms to be made, under a 30 ms limit: the attempt fails while connecting, and once
      // the connection is made the request is not sent on it
      const server = yield* start({ "/": ok })
      const connect = buildConnector({})
      let connects = 0
      const agent = yield* ownAgent({
        connect: (options, callback) => {
          connects++
          setTimeout(() => connect(options, callback), 300)
        }
      })
      const failure = yield* failureOf(
        Attempt.send(UndiciHttpClient.make(agent), HttpClientRequest.get(`${server.url}/`), { timeout: "30 millis" })
      )
      expect(timeoutOf(failure)).toEqual({ phase: "Attempt", millis: 30 })
      expect(connects).toBe(1)
      expect(server.connections()).toBe(0)
      // the connection is made later: nothing is sent on it
      yield* until(() => server.connections() === 1)
      yield* sleep(30)
      expect(server.hits("/")).toBe(0)
    }))

  it.scopedLive("retries on timeout", () =>
    Effect.gen(function*() {
      const server = yield* start({ "/": hold })
      const policy = yield* Policy.make({
        circuitBreaker: false,
        attemptTimeout: "100 millis",
        retry: { maxAttempts: 2, baseDelay: "1 millis", jitter: "none", budget: false }
      })
      const api = SturdyClient.makeWith(yield* transport(), { baseUrl: server.url, policy })
      const failure = yield* failureOf(api.get("/"))
      expect(timeoutOf(failure)).toEqual({ phase: "Attempt", millis: 100 })
      expect(Policy.attemptsOf(failure)).toBe(2)
      expect(server.hits("/")).toBe(2)
      yield* allClosed(server)
    }))

  it.scopedLive("timeout with streams", () =>
    Effect.gen(function*() {
      // Differs from got, deliberately: `request: 0` times out at once in got; a zero limit is refused, unsent (an
      // attempt's or a client's `timeout`), or when the policy is built (`attemptTimeout`, `totalTimeout`)
      const server = yield* start({ "/": ok })
      const http = Attempt.classify(yield* transport(), { timeout: 0 })
      const failure = yield* failureOf(Effect.scoped(http.get(`${server.url}/`)))
      expect(failure._tag === "InvalidRequest" && failure.reason).toBe("InvalidOptions")
      expect(failure._tag === "InvalidRequest" && failure.detail).toContain("timeout")
      for (const field of ["attemptTimeout", "totalTimeout"] as const) {
        const invalid = yield* failureOf(Effect.scoped(Policy.make({ [field]: 0 })))
        expect([invalid._tag, invalid.field]).toEqual(["InvalidPolicy", field])
      }
      expect(server.connections()).toBe(0)
    }))

  it.scopedLive("no error emitted when timeout is not breached (stream)", () =>
    Effect.gen(function*() {
      const server = yield* start({ "/": okAfter(20) })
      const http = Attempt.classify(yield* transport(), { timeout: "300 millis" })
      const bytes = yield* Effect.scoped(
        Effect.flatMap(http.get(`${server.url}/`), (response) => Stream.runCollect(response.stream))
      )
      expect(new TextDecoder().decode(Buffer.concat([...bytes]))).toBe("OK")
      // past the limit, nothing fires into the finished exchange: its connection stays open for the next request
      yield* sleep(350)
      expect(server.closed()).toBe(0)
    }))

  it.scopedLive("no error emitted when timeout is not breached (promise)", () =>
    Effect.gen(function*() {
      const server = yield* start({ "/": okAfter(20) })
      const http = yield* transport()
      const received = yield* Attempt.send(http, HttpClientRequest.get(`${server.url}/`), {
        timeout: "300 millis",
        bodyTimeout: "300 millis"
      })
      expect(received.text).toBe("OK")
      yield* sleep(350)
      expect(server.closed()).toBe(0)
    }))

  it.scopedLive("no unhandled `socket hung up` errors", () =>
    Effect.gen(function*() {
      // the server answers after 200 ms, the attempt gives up after 100
      const server = yield* start({ "/": okAfter(200) })
      const http = yield* transport()
      const failure = yield* failureOf(
        Attempt.send(http, HttpClientRequest.get(`${server.url}/`), { timeout: "100 millis" })
      )
      expect(timeoutOf(failure)).toEqual({ phase: "Attempt", millis: 100 })
      yield* allClosed(server)
      yield* sleep(150)
      // the client is still usable
      expect((yield* Attempt.send(http, HttpClientRequest.get(`${server.url}/`), { timeout: "1 second" })).text)
        .toBe("OK")
    }))

  it.scopedLive("no unhandled timeout errors", () =>
    Effect.gen(function*() {
      // got destroys the request's socket: the failure is the reset, not the timeout, which never fires afterwards
      const server = yield* start({ "/": (req) => req.socket.destroy() })
      const failure = yield* failureOf(
        Attempt.send(yield* transport(), HttpClientRequest.get(`${server.url}/`), { timeout: "50 millis" })
      )
      expect(failure._tag === "ConnectionError" && failure.reason).toBe("Reset")
      yield* sleep(100)
    }))

  it.scopedLive("no unhandled timeout errors #2", () =>
    Effect.gen(function*() {
      // a body that never ends, under `request: 20` and one retry: the limit fires while the body is being read
      const server = yield* start({ "/": stallBody("Hello world!") })
      const policy = yield* Policy.make({
        circuitBreaker: false,
        attemptTimeout: "20 millis",
        retry: { maxAttempts: 2, baseDelay: "10 millis", jitter: "none", budget: false }
      })
      const api = SturdyClient.makeWith(yield* transport(), { baseUrl: server.url, policy })
      const failure = yield* failureOf(api.get("/"))
      expect(timeoutOf(failure)).toEqual({ phase: "Attempt", millis: 20 })
      expect(Policy.attemptsOf(failure)).toBe(2)
      yield* sleep(100)
      // whatever reached the server is closed
      expect(server.closed()).toBe(server.connections())
    }))

  it.scopedLive("no more timeouts after an error", () =>
    Effect.gen(function*() {
      // every limit set, and a request that fails at once (got: a host that does not resolve; here: refused)
      const port = yield* closedPort
      const events: Array<string> = []
      const policy = yield* Policy.make({
        circuitBreaker: false,
        totalTimeout: "200 millis",
        attemptTimeout: "30 millis",
        retry: { maxAttempts: 2, baseDelay: "1 millis", jitter: "none", budget: false },
        onEvent: (event) => Effect.sync(() => void events.push(event._tag))
      })
      const api = SturdyClient.makeWith(yield* transport({ headersTimeout: "30 millis", bodyTimeout: "30 millis" }), {
        baseUrl: `http://127.0.0.1:${port}`,
        policy,
        bodyTimeout: "30 millis"
      })
      const failure = yield* failureOf(api.get("/"))
      expect(failure._tag === "ConnectionError" && failure.reason).toBe("Refused")
      expect(Policy.attemptsOf(failure)).toBe(2)
      const seen = events.length
      // past every limit: nothing more happens
      yield* sleep(250)
      expect(events.length).toBe(seen)
    }))

  it.scopedLive("socket timeout is canceled on error", () =>
    Effect.gen(function*() {
      const server = yield* start({ "/": (req) => req.socket.destroy() })
      const http = yield* transport({ headersTimeout: "50 millis" })
      const failure = yield* failureOf(Attempt.send(http, HttpClientRequest.get(`${server.url}/`)))
      expect(failure._tag === "ConnectionError" && failure.reason).toBe("Reset")
      yield* sleep(100)
    }))

  it.scopedLive("no memory leak when using socket timeout and keepalive agent", () =>
    Effect.gen(function*() {
      // a finished exchange on a keep-alive connection leaves no limit behind: past it, the connection is still open
      // and the next request goes on it
      const server = yield* start({ "/": ok })
      const http = yield* transport({ connections: 1, headersTimeout: "200 millis", bodyTimeout: "200 millis" })
      const get = Attempt.send(http, HttpClientRequest.get(`${server.url}/`), { timeout: "200 millis" })
      expect((yield* get).text).toBe("OK")
      yield* sleep(250)
      expect(server.closed()).toBe(0)
      expect((yield* get).text).toBe("OK")
      expect(server.requests.map((r) => r.connection)).toEqual([1, 1])
    }))

  it.scopedLive("no unhandled `Premature close` error", () =>
    Effect.gen(function*() {
      const server = yield* start({ "/": stallBody("hello") })
      const failure = yield* failureOf(
        Attempt.send(yield* transport(), HttpClientRequest.get(`${server.url}/`), { timeout: "10 millis" })
      )
      expect(failure.message).toBe(`attempt timed out after 10ms: GET ${server.url}/`)
      yield* allClosed(server)
      yield* sleep(20)
    }))

  it.scopedLive("`read` timeout - promise", () =>
    Effect.gen(function*() {
      const server = yield* start({ "/": stallBody("o") })
      const http = yield* transport({ bodyTimeout: "50 millis" })
      const failure = yield* failureOf(Attempt.send(http, HttpClientRequest.get(`${server.url}/`)))
      expect(timeoutOf(failure)).toEqual({ phase: "BodyRead", millis: 50 })
      expect(failure.message).toBe(`body read timed out after 50ms: GET ${server.url}/`)
      yield* allClosed(server)
    }))

  it.scopedLive("cancelling the request removes timeouts", () =>
    Effect.gen(function*() {
      // the caller cancels once the body has begun: the call ends interrupted, and its limit never fires
      const server = yield* start({ "/": stallBody("hello") })
      const http = Attempt.classify(yield* transport(), { timeout: "200 millis" })
      let firstByte = false
      const fiber = yield* Effect.fork(Effect.scoped(
        Effect.flatMap(
          http.get(`${server.url}/`),
          (response) => Stream.runDrain(Stream.tap(response.stream, () => Effect.sync(() => (firstByte = true))))
        )
      ))
      yield* until(() => firstByte)
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      yield* allClosed(server)
      yield* sleep(250)
      expect(Option.isSome(yield* Fiber.poll(fiber))).toBe(true)
    }))

  it.scopedLive("timeouts are emitted ASAP", () =>
    Effect.gen(function*() {
      // got bounds the whole request (`timings.phases.total`); the whole call is `totalTimeout`, phase `Deadline`
      const server = yield* start({ "/test": hold })
      const policy = yield* Policy.make({ circuitBreaker: false, retry: false, totalTimeout: "50 millis" })
      const api = SturdyClient.makeWith(yield* transport(), { baseUrl: server.url, policy })
      const started = performance.now()
      const failure = yield* failureOf(api.get("/test"))
      const elapsed = performance.now() - started
      expect(timeoutOf(failure)).toEqual({ phase: "Deadline", millis: 50 })
      // not before the limit, and not long after it (got's margin: 100 ms; far wider here: a loaded machine delays timers)
      expect(elapsed).toBeGreaterThanOrEqual(45)
      expect(elapsed).toBeLessThan(1000)
      yield* allClosed(server)
    }))
})
