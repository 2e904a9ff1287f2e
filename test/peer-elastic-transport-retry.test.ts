/**
 * elastic/elastic-transport-js's retry and timeout cases (commit 167cdd86c65755460ed16f304afc9ecb18bcbdda):
 * `test/unit/transport.test.ts` (the Transport's retry loop) and the 'Timeout support', 'Abort request' and
 * 'Connection error' cases of `test/unit/undici-connection.test.ts` (one attempt), ported to Sturdy's public API: `SturdyClient` over
 * `@sturdy/node`'s undici transport against a real node:http server on 127.0.0.1 (`test/utils/retryHarness.ts`),
 * every wait on the TestClock. The peer's mock connections become real answers: `MockConnectionTimeout` is a server
 * that never answers, `MockConnectionError` a port nothing listens on (refused) or a failing connect. One `it` per
 * peer case, named after it.
 *
 * Mapping: `maxRetries: n` (default 3) is `retry.maxAttempts: n + 1`; a per-request `maxRetries` (or
 * `requestTimeout`) is an `endpoints` entry; `maxRetries: 0` is `retry: false`; `retryBackoff: () => 0` is
 * `retry.delay: () => 0`; the connection's `timeout` (`requestTimeout`) is `attemptTimeout`, a request's `timeout`
 * the request's own `timeout` (the shorter applies, as in the peer); `retryOnTimeout: false` is
 * `retry.retryOn: { Timeout: false }`; `TimeoutError` is `HttpFailure.Timeout` (phase `Attempt`), `ConnectionError`
 * is `HttpFailure.ConnectionError`, `ResponseError` is `ClientError` / `ServerError` (with `status`); `meta.attempts`
 * (the retries made) is the failure's `attempts` minus one, or the retrying decisions; `markDead` is the breaker's
 * count (`Policy.countsAgainstUpstream`); aborting the `signal` is interrupting the call; `compression: true` is a
 * gzip `Uint8Array` body with `content-encoding: gzip`.
 *
 * Deliberate differences (each test says which): the Transport retries 502, 503 and 504 only; Sturdy's default rules
 * retry every 5xx but 501, 505 and 511, plus 408, 429 and attempt timeouts. The Transport does not retry a timeout
 * by default (`retryOnTimeout: false`); Sturdy does (a timed-out GET is safe to repeat). The Transport repeats any
 * method, POST included, after a 502/503/504; Sturdy repeats a POST only when `retry.methods` lists it (or it carries
 * an Idempotency-Key), so the POST cases list it. The Transport has no timeout by default; Sturdy's attempt timeout
 * is 10 s and its deadline 30 s (`false` lifts them). The Transport retries a 502/503/504 at once and backs off
 * (`retryBackoff(0, 4, attempt)`: 2^attempt / 2 s up to 2 s, plus as much jitter) only after connection errors
 * once every node was tried; Sturdy backs off on every retry, so the tests give `delay: () => 0` where the peer waits
 * nothing.
 *
 * Not ported: the connection-pool, sniffing, serialization, compression-format, header, context, product-check and
 * OpenTelemetry cases; 'Should not use retry backoff until retries exceeds node count' (backoff per node of a pool:
 * Sturdy has one upstream per key); 'Ignore status code' (the `ignore` option: Sturdy has no per-request status
 * allow-list); 'Request duration is tracked in meta' / '... on errors' (diagnostics); 'Timeout support / 1' and '/ 3'
 * (the same as '/ 2' and '/ 4' without the fake clock), and the other cases of `undici-connection.test.ts` (headers,
 * bodies, content length, agent options, TLS, socket addresses); `test/unit/http-connection.test.ts` (the same
 * timeout and abort cases on node:http's connection, which Sturdy does not have).
 */
import { HttpBody } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { type HttpFailure, Policy } from "@sturdy/http"
import { Duration, Effect, Exit, Fiber, Stream } from "effect"
import { gunzipSync, gzipSync } from "node:zlib"
import {
  abortedRequests,
  failureOf,
  type Handler,
  interruptInFlight,
  realPause,
  send,
  setup,
  systemError,
  textOf
} from "./utils/retryHarness.js"

const json = { "content-type": "application/json" }
const hello = JSON.stringify({ hello: "world" })

/** the peer's `count > 2 ? 200 : 502` */
const twice502: Handler = (_, response, n) =>
  n > 2 ? send(response, 200, json, hello) : send(response, 502, json, hello)

/** the peer waits nothing between retries here (`retryBackoff: () => 0`, or 502/503/504, which never back off) */
const noWait = { delay: () => 0, jitter: "none", retryAfterJitter: 0 } as const

const retrying = (decisions: ReadonlyArray<{ readonly retrying: boolean }>) => decisions.filter((d) => d.retrying)

describe("elastic-transport-js test/unit/transport.test.ts", () => {
  it.scoped("Basic error (TimeoutError)", () =>
    Effect.gen(function*() {
      // maxRetries: 0, retryOnTimeout: true: the one attempt times out
      const h = yield* setup(() => undefined, { attemptTimeout: "600 millis", retry: false })
      const failure = failureOf(yield* h.run(h.api.get("/hello")))
      expect(failure).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("TimeoutError marks connection dead even when retryOnTimeout is false", () =>
    Effect.gen(function*() {
      // markDead is the breaker's count: an attempt timeout counts against the upstream whether or not it retries
      const h = yield* setup(() => undefined, {
        attemptTimeout: "600 millis",
        retry: { ...noWait, maxAttempts: 1, retryOn: { Timeout: false } }
      })
      const failure = failureOf(yield* h.run(h.api.get("/hello")))
      expect(failure).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect(Policy.countsAgainstUpstream(failure)).toBe(true)
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("Basic error (ConnectionError)", () =>
    Effect.gen(function*() {
      // maxRetries: 0; nothing listens on the port: a refused connection, counted against the upstream (markDead)
      const h = yield* setup(() => undefined, { retry: false }, { listen: "later" })
      const failure = failureOf(yield* h.run(h.api.get("/hello")))
      expect(failure).toMatchObject({ _tag: "ConnectionError", reason: "Refused" })
      expect(Policy.countsAgainstUpstream(failure)).toBe(true)
    }))

  it.scoped("Basic error (ConnectionError) with empty message", () =>
    Effect.gen(function*() {
      // the peer's message falls back to 'connection failed (<url>)' when the cause has none; Sturdy's message always
      // says what failed and names the request, whatever the cause's message ('', 'null', 'undefined')
      for (const message of ["", null, undefined]) {
        const cause = Object.assign(new Error(message as unknown as string), { code: undefined })
        const h = yield* setup(() => undefined, { retry: false }, { connectFailures: [cause] })
        const failure = failureOf(yield* h.run(h.api.get("/hello")))
        expect(failure).toMatchObject({ _tag: "ConnectionError" })
        expect((failure as Error).message).toMatch(new RegExp(`^[a-z].*: GET ${h.url}/hello$`))
        expect(Policy.countsAgainstUpstream(failure)).toBe(true)
      }
    }))

  it.scoped("ResponseError (query failure)", () =>
    Effect.gen(function*() {
      // a 400 is an answer, not a transient failure: one attempt, a `ClientError` with the status (the peer's message
      // formatting of Elasticsearch's error body is not Sturdy's concern)
      const h = yield* setup((_, response) => send(response, 400, json, JSON.stringify({ status: 400 })), {
        retry: { ...noWait, methods: ["POST"] }
      })
      const body = HttpBody.stream(Stream.make(new TextEncoder().encode(hello)), "application/json")
      const failure = failureOf(yield* h.run(h.api.post("/hello", { body })))
      expect(failure).toMatchObject({ _tag: "ClientError", status: 400, attempts: 1 })
      expect(h.seen.length).toBe(1)
      expect(h.seen[0]!.body).toBe(hello)
    }))

  it.scoped("Retry mechanism", () =>
    Effect.gen(function*() {
      // 502, 502, 200: meta.attempts 2 (two retries, no wait between them in the peer)
      const h = yield* setup(twice502, { retry: { ...noWait, maxAttempts: 4 } })
      expect(textOf(yield* h.run(h.api.get("/hello")))).toBe(hello)
      expect(h.seen.length).toBe(3)
      expect(retrying(h.decisions).length).toBe(2)
      expect(h.decisions.map((d) => d.failure)).toMatchObject([
        { _tag: "ServerError", status: 502 },
        { _tag: "ServerError", status: 502 }
      ])
    }))

  it.scoped("Should not retry if the body is a stream", () =>
    Effect.gen(function*() {
      // `methods` lists POST (the peer repeats any method), so that only the stream body stops the retry
      const h = yield* setup(twice502, { retry: { ...noWait, maxAttempts: 4, methods: ["POST"] } })
      const body = HttpBody.stream(Stream.make(new TextEncoder().encode(hello)), "application/json")
      const failure = failureOf(yield* h.run(h.api.post("/hello", { body })))
      expect(failure).toMatchObject({ _tag: "ServerError", status: 502, attempts: 1 })
      expect(h.seen.length).toBe(1)
      expect(h.seen[0]!.body).toBe(hello)
    }))

  it.scoped("Should not retry if the bulkBody is a stream", () =>
    Effect.gen(function*() {
      // bulkBody: an ndjson stream
      const h = yield* setup(twice502, { retry: { ...noWait, maxAttempts: 4, methods: ["POST"] } })
      const ndjson = `${hello}\n${hello}\n`
      const body = HttpBody.stream(Stream.make(new TextEncoder().encode(ndjson)), "application/x-ndjson")
      const failure = failureOf(yield* h.run(h.api.post("/_bulk", { body })))
      expect(failure).toMatchObject({ _tag: "ServerError", status: 502, attempts: 1 })
      expect(h.seen.length).toBe(1)
      expect(h.seen[0]!.body).toBe(ndjson)
    }))

  it.scoped("Should not retry on timeout error by default (retryOnTimeout is false)", () =>
    Effect.gen(function*() {
      // the peer's default; in Sturdy it is `retryOn: { Timeout: false }`: one attempt
      const off = yield* setup(() => undefined, {
        attemptTimeout: "600 millis",
        retry: { ...noWait, maxAttempts: 4, retryOn: { Timeout: false } }
      })
      const failure = failureOf(yield* off.run(off.api.get("/hello")))
      expect(failure).toMatchObject({ _tag: "Timeout", phase: "Attempt", attempts: 1 })
      expect(off.seen.length).toBe(1)
      // deliberate difference: Sturdy's default retries an attempt timeout of a GET (safe to repeat)
      const byDefault = yield* setup((_, response, n) => n === 1 ? undefined : send(response, 200, json, hello), {
        attemptTimeout: "600 millis",
        retry: { ...noWait, maxAttempts: 4 }
      })
      expect(textOf(yield* byDefault.run(byDefault.api.get("/hello")))).toBe(hello)
      expect(byDefault.seen.length).toBe(2)
    }))

  it.scoped("Disable maxRetries locally", () =>
    Effect.gen(function*() {
      // the request's `maxRetries: 0` is an endpoint's `retry: false` over the default's 4 attempts
      const h = yield* setup(twice502, {
        retry: { ...noWait, maxAttempts: 4 },
        endpoints: { "GET /hello": { retry: false } }
      })
      const failure = failureOf(yield* h.run(h.api.get("/hello")))
      expect(failure).toMatchObject({ _tag: "ServerError", status: 502 })
      expect(h.seen.length).toBe(1)
      // another path keeps the policy's retries
      expect(textOf(yield* h.run(h.api.get("/other")))).toBe(hello)
      expect(h.seen.length).toBe(3)
    }))

  it.scoped("Override global maxRetries", () =>
    Effect.gen(function*() {
      // the transport's `maxRetries: 0`, the request's `maxRetries: 3`: 502, 502, 200 (meta.attempts 2)
      const h = yield* setup(twice502, {
        retry: false,
        endpoints: { "GET /hello": { retry: { ...noWait, maxAttempts: 4 } } }
      })
      expect(textOf(yield* h.run(h.api.get("/hello")))).toBe(hello)
      expect(h.seen.length).toBe(3)
      expect(retrying(h.decisions).length).toBe(2)
    }))

  it.scoped("Retry on connection error", () =>
    Effect.gen(function*() {
      // maxRetries 3 (the default), retryBackoff: () => 0: four refused attempts (meta.attempts 3)
      const h = yield* setup(() => undefined, { retry: { ...noWait, maxAttempts: 4 } }, { listen: "later" })
      const failure = failureOf(yield* h.run(h.api.get("/hello")))
      expect(failure).toMatchObject({ _tag: "ConnectionError", reason: "Refused", attempts: 4 })
      expect(Policy.attemptsOf(failure)).toBe(4)
      expect(h.decisions.map((d) => d.retrying)).toEqual([true, true, true, false])
    }))

  it.scoped("Retry on timeout error if retryOnTimeout is true", () =>
    Effect.gen(function*() {
      // maxRetries 3, retryBackoff: () => 0: four attempts, each timed out (meta.attempts 3)
      const h = yield* setup(() => undefined, { attemptTimeout: "1 second", retry: { ...noWait, maxAttempts: 4 } })
      const failure = failureOf(yield* h.run(h.api.get("/hello")))
      expect(failure).toMatchObject({ _tag: "Timeout", phase: "Attempt", attempts: 4 })
      expect(h.seen.length).toBe(4)
      expect(h.seen.slice(1).map((s, i) => s.at - h.seen[i]!.at)).toEqual([1000, 1000, 1000])
      // every timed-out attempt was aborted (the connection closed before an answer)
      expect(yield* abortedRequests(h, 4)).toEqual([1, 2, 3, 4])
    }))

  it.scoped("Abort a request", () =>
    Effect.gen(function*() {
      // the caller aborts while the attempt is in flight: the call ends interrupted, nothing is retried
      // (run without the harness's clock moves: nothing but the interruption ends the call)
      const h = yield* setup(() => undefined, { retry: { ...noWait, maxAttempts: 4 } })
      yield* interruptInFlight(h, "/hello")
      for (let i = 0; i < 10; i++) yield* realPause
      expect(h.seen.length).toBe(1)
      expect(h.decisions).toEqual([])
    }))

  it.scoped("Retry compressed request", () =>
    Effect.gen(function*() {
      // compression: true: every attempt sends the same gzip body and headers (the peer repeats the POST; Sturdy when
      // `methods` lists it)
      const gzipped = gzipSync(hello)
      const h = yield* setup(twice502, { retry: { ...noWait, maxAttempts: 4, methods: ["POST"] } })
      const body = HttpBody.uint8Array(new Uint8Array(gzipped), "application/json")
      const response = yield* h.run(h.api.post("/hello", {
        body,
        headers: { "content-encoding": "gzip", "accept-encoding": "gzip,deflate" }
      }))
      expect(textOf(response)).toBe(hello)
      expect(h.seen.length).toBe(3)
      expect(retrying(h.decisions).length).toBe(2)
      for (const seen of h.seen) {
        expect(seen.headers["content-encoding"]).toBe("gzip")
        expect(seen.headers["accept-encoding"]).toBe("gzip,deflate")
        expect(seen.bytes.equals(gzipped)).toBe(true)
        expect(gunzipSync(seen.bytes).toString("utf8")).toBe(hello)
      }
    }))

  it.scoped("Negative maxRetries is not valid", () =>
    Effect.gen(function*() {
      // maxRetries: -1 is `maxAttempts: 0`, refused when the policy is built
      const refused = yield* Effect.exit(Policy.make({ retry: { maxAttempts: 0 } }))
      expect(failureOf(refused)).toMatchObject({ _tag: "InvalidPolicy", field: "retry.maxAttempts" })
    }))
})

describe("elastic-transport-js test/unit/undici-connection.test.ts", () => {
  it.scoped("Timeout support / 2", () =>
    Effect.gen(function*() {
      // the status and headers come at once, the body 1 s later: the 600 ms attempt timeout covers the
      // body read too (an attempt reads the whole body)
      const h = yield* setup((_, response, __, tools) => {
        response.writeHead(200, { "content-type": "text/plain" })
        response.flushHeaders()
        tools.later(1000, () => response.end("ok"))
      }, { attemptTimeout: "600 millis", retry: false })
      const failure = failureOf(yield* h.run(h.api.get("/hello")))
      expect(failure).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("Timeout support / 4", () =>
    Effect.gen(function*() {
      // the connection's timeout 2000, the request's 50: the shorter ends the attempt, at 50 ms
      const h = yield* setup((_, response, __, tools) => tools.later(1000, () => send(response, 200, {}, "ok")), {
        attemptTimeout: "2 seconds",
        retry: false
      })
      const failure = failureOf(yield* h.run(h.api.get("/hello", { timeout: "50 millis" })))
      expect(failure).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect(Duration.toMillis((failure as HttpFailure.Timeout).timeout)).toBe(50)
    }))

  it.scoped("Timeout support / 5", () =>
    Effect.gen(function*() {
      // an answer well within the request's 50 ms timeout
      const h = yield* setup((_, response) => send(response, 200, {}, "ok"), { retry: false })
      expect(textOf(yield* h.run(h.api.get("/hello", { timeout: "50 millis" })))).toBe("ok")
    }))

  it.scoped("No default timeout", () =>
    Effect.gen(function*() {
      // the server answers after an hour. Deliberate difference: Sturdy's attempt timeout (10 s) and deadline (30 s)
      // are on by default; `false` lifts them, and then the hour-late answer is received
      const h = yield* setup((_, response, __, tools) => tools.later(3_600_000, () => send(response, 200, {}, "ok")), {
        attemptTimeout: false,
        totalTimeout: false,
        retry: false
      })
      expect(textOf(yield* h.run(h.api.get("/hello")))).toBe("ok")
      const byDefault = yield* setup(
        (_, response, __, tools) => tools.later(3_600_000, () => send(response, 200, {}, "ok")),
        { retry: false }
      )
      expect(failureOf(yield* byDefault.run(byDefault.api.get("/hello")))).toMatchObject({
        _tag: "Timeout",
        phase: "Attempt"
      })
    }))

  it.scoped("Abort a request syncronously", () =>
    Effect.gen(function*() {
      // aborted before the request goes out: the call ends interrupted and the server is never contacted
      const h = yield* setup(() => undefined, { retry: { ...noWait, maxAttempts: 4 } })
      const call = yield* Effect.fork(Effect.provideService(h.api.get("/hello"), Policy.Policy, h.policy))
      expect(Exit.isInterrupted(yield* Fiber.interrupt(call))).toBe(true)
      for (let i = 0; i < 20; i++) yield* realPause
      expect(h.seen).toEqual([])
      expect(h.decisions).toEqual([])
    }))

  it.scoped("Abort a request asyncronously", () =>
    Effect.gen(function*() {
      // the signal aborts after the request went out and before the answer: the call ends interrupted, the connection
      // is closed under the server
      const h = yield* setup((_, response, __, tools) => tools.later(1000, () => send(response, 200, {}, "ok")), {
        retry: false
      })
      yield* interruptInFlight(h, "/hello")
    }))
  it.scoped("Abort with a slow body", () =>
    Effect.gen(function*() {
      // the body's first chunk goes out, the rest never comes; the caller aborts meanwhile: the call ends interrupted
      // (it does not wait for the body) and the server never gets a whole request
      let sent = false
      const h = yield* setup(() => undefined, { retry: false })
      const slow = Stream.concat(
        Stream.make(new TextEncoder().encode("{")).pipe(Stream.tap(() => Effect.sync(() => (sent = true)))),
        Stream.never
      )
      const body = HttpBody.stream(slow, "application/json")
      const call = yield* Effect.fork(Effect.provideService(h.api.post("/", { body }), Policy.Policy, h.policy))
      for (let i = 0; i < 500 && !sent; i++) yield* realPause
      expect(sent).toBe(true)
      expect(Exit.isInterrupted(yield* Fiber.interrupt(call))).toBe(true)
      for (let i = 0; i < 10; i++) yield* realPause
      expect(h.seen).toEqual([])
    }))

  it.scoped("Connection error", () =>
    Effect.gen(function*() {
      // http://foo.bar does not resolve: a `ConnectionError`, reason `DnsLookup` (the lookup failure is simulated:
      // nothing but 127.0.0.1 is reachable here)
      const h = yield* setup(() => undefined, { retry: false }, {
        connectFailures: [systemError("ENOTFOUND", "getaddrinfo", "foo.bar")]
      })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(failure).toMatchObject({ _tag: "ConnectionError", reason: "DnsLookup" })
      expect(h.seen).toEqual([])
    }))
})
