import { HttpClient, HttpClientError, HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Attempt, HttpFailure } from "@sturdy/http"
import { Deadline } from "@sturdy/policy"
import {
  Arbitrary,
  Cause,
  Duration,
  Effect,
  Either,
  Exit,
  FastCheck,
  Fiber,
  FiberRef,
  Option,
  ParseResult,
  Schema,
  TestClock
} from "effect"
import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib"
import { interruptedWhileMasked } from "../../policy/test/utils/heldInterruption.js"
import * as plainDecoder from "../src/internal/plainDecoder.js"
import { fakeClient, jsonResponse, openResponse, stalledResponse, systemError } from "./utils/fakeTransport.js"

const User = Schema.Struct({ id: Schema.Number, name: Schema.String })
const request = HttpClientRequest.get("https://api.example.com/users/1")

const failureOf = <A, R>(effect: Effect.Effect<A, HttpFailure.HttpFailure, R>) =>
  Effect.map(Effect.either(effect), (either) => {
    if (Either.isRight(either)) throw new Error("expected a failure, got a success")
    return either.left
  })

const transportFailure = (cause: unknown) => fakeClient(() => Effect.fail({ cause })).client

describe("Attempt", () => {
  it.effect("decodes a JSON body with the schema", () =>
    Effect.gen(function*() {
      const { client } = fakeClient(() => Effect.succeed(jsonResponse(200, { id: 1, name: "Ada" })))
      expect(yield* Attempt.json(client, request, User)).toEqual({ id: 1, name: "Ada" })
    }))

  it.effect("json asks for JSON with Accept (as ky and got), names custom types, and keeps an Accept that was set", () =>
    Effect.gen(function*() {
      const { client, seen } = fakeClient(() =>
        Effect.succeed(jsonResponse(200, { id: 1, name: "Ada" }, { "content-type": "application/problem+json" }))
      )
      yield* Attempt.json(client, request, User)
      yield* Attempt.json(client, request, User, {
        expectedContentTypes: ["application/vnd.api+json", "application/*"]
      })
      yield* Attempt.json(client, request, User, { expectedContentTypes: ["+json"] })
      yield* Attempt.json(client, HttpClientRequest.setHeader(request, "accept", "application/hal+json"), User)
      yield* Attempt.send(client, request)
      expect(seen.map((s) => s.headers["accept"])).toEqual([
        "application/json",
        "application/vnd.api+json, application/*",
        undefined,
        "application/hal+json",
        undefined
      ])
    }))

  it.effect("send returns the status, headers and the whole body", () =>
    Effect.gen(function*() {
      const { client } = fakeClient(() => Effect.succeed(new Response("hello", { headers: { "x-a": "1" } })))
      const received = yield* Attempt.send(client, request)
      expect(received.status).toBe(200)
      expect(received.headers["x-a"]).toBe("1")
      expect(received.text).toBe("hello")
      expect(received.body.byteLength).toBe(5)
    }))

  it.effect("send's body is on a plain ArrayBuffer, for Web APIs, even when the transport's chunk is shared memory", () =>
    Effect.gen(function*() {
      const shared = new Uint8Array(new SharedArrayBuffer(5))
      shared.set(new TextEncoder().encode("hello"))
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(shared)
          controller.close()
        }
      })
      const { client } = fakeClient(() => Effect.succeed(new Response(body)))
      const received = yield* Attempt.send(client, request)
      expect(received.body.buffer).toBeInstanceOf(ArrayBuffer)
      expect(received.text).toBe("hello")
      // typed `Uint8Array<ArrayBuffer>`: a Blob takes it without a cast under TypeScript 5.7+
      expect(yield* Effect.promise(() => new Blob([received.body]).text())).toBe("hello")
      const plain = (yield* Attempt.send(fakeClient(() => Effect.succeed(new Response("hi"))).client, request)).body
      expect(new TextDecoder().decode(plain)).toBe("hi")
    }))

  it.effect("a body its transport cannot decompress is BodyUndecodable; one cut short while decompressing, BodyTruncated", () =>
    Effect.gen(function*() {
      // fetch fails the body read with `TypeError: terminated`, the decompressor's error as its cause
      const failingBody = (code: string) =>
        new Response(
          new ReadableStream<Uint8Array>({
            start(controller) {
              controller.error(new TypeError("terminated", { cause: systemError(code, "incorrect header check") }))
            }
          }),
          { headers: { "content-type": "application/json", "content-encoding": " GZip" } }
        )
      const read = (code: string) =>
        failureOf(Attempt.json(fakeClient(() => Effect.succeed(failingBody(code))).client, request, User))
      for (const code of ["Z_DATA_ERROR", "Z_NEED_DICT", "ERR__ERROR_FORMAT_PADDING_2"]) {
        const failure = yield* read(code)
        expect(failure).toMatchObject({ _tag: "BodyUndecodable", contentEncoding: "gzip", status: 200 })
        expect(failure._tag === "BodyUndecodable" && failure.cause?.code).toBe(code)
        expect(HttpFailure.isTransient(failure)).toBe(false)
      }
      for (const code of ["Z_BUF_ERROR", "UND_ERR_SOCKET"]) expect((yield* read(code))._tag).toBe("BodyTruncated")
    }))

  it.effect("the attempt timeout fires on virtual time while the headers are late", () =>
    Effect.gen(function*() {
      const { client } = fakeClient(() => Effect.as(Effect.sleep("10 seconds"), jsonResponse(200, { id: 1 })))
      const fiber = yield* Effect.fork(failureOf(Attempt.json(client, request, User, { timeout: "2 seconds" })))
      yield* TestClock.adjust("1999 millis")
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* TestClock.adjust("1 millis")
      const failure = yield* Fiber.join(fiber)
      if (failure._tag !== "Timeout") throw new Error(`unexpected ${failure._tag}`)
      expect(failure.phase).toBe("Attempt")
      expect(Duration.toMillis(failure.timeout)).toBe(2000)
    }))

  // the attempt is disconnected from the caller when it times out and interrupted in the background: forked under
  // the caller's mask it inherited it, ignored that interruption, and a request that never answers stayed for ever
  it.effect("an attempt that times out inside an uninterruptible region leaves no request running", () =>
    Effect.gen(function*() {
      const { client } = fakeClient(() => Effect.never)
      const before = (yield* Fiber.roots).length
      // an attempt, and a client classified with `Attempt.classify` (its own timeout)
      for (
        const attempt of [
          Effect.asVoid(Attempt.json(client, request, User, { timeout: "2 seconds" })),
          Effect.asVoid(Attempt.classify(client, { timeout: "2 seconds" }).execute(request))
        ]
      ) {
        const fiber = yield* Effect.fork(Effect.uninterruptible(failureOf(attempt)))
        yield* TestClock.adjust("2 seconds")
        expect(Option.map(yield* Fiber.poll(fiber), Exit.map((failure) => failure._tag === "Timeout" && failure.phase)))
          .toEqual(Option.some(Exit.succeed("Attempt")))
      }
      yield* Effect.repeatN(Effect.yieldNow(), 10)
      expect((yield* Fiber.roots).length - before).toBe(0)
    }))

  it.effect("a body that stalls fails inside the attempt with a BodyRead timeout", () =>
    Effect.gen(function*() {
      const { client } = fakeClient(() => Effect.succeed(stalledResponse("{\"id\":")))
      const fiber = yield* Effect.fork(
        failureOf(Attempt.json(client, request, User, { bodyTimeout: "500 millis", timeout: "5 seconds" }))
      )
      yield* TestClock.adjust("500 millis")
      const failure = yield* Fiber.join(fiber)
      expect(failure._tag === "Timeout" && failure.phase).toBe("BodyRead")
    }))

  // the read is interruptible even under the caller's mask (an attempt made in an `acquireRelease`'s `acquire`):
  // a read that inherited the mask ignored the timeout's interruption, and the attempt waited for the body for ever
  it.effect("a body that stalls fails with a BodyRead timeout inside an uninterruptible region too", () =>
    Effect.gen(function*() {
      const { client } = fakeClient(() => Effect.succeed(stalledResponse("{\"id\":")))
      const fiber = yield* Effect.fork(Effect.uninterruptible(
        failureOf(Attempt.json(client, request, User, { bodyTimeout: "500 millis" }))
      ))
      yield* TestClock.adjust("500 millis")
      const failure = yield* Fiber.poll(fiber)
      expect(Option.map(failure, Exit.map((failure) => failure._tag === "Timeout" && failure.phase)))
        .toEqual(Option.some(Exit.succeed("BodyRead")))
    }))

  // an uninterruptible fiber hands an interruption it holds off on to the fibers it started: the timeout's, where the
  // attempt (or the body's read), made interruptible so the timeout can stop it, took it and the caller's region
  // ended at once, interrupted
  it.effect("interrupted from outside inside an uninterruptible region, an attempt still waits for its timeout", () =>
    Effect.gen(function*() {
      const { client } = fakeClient(() => Effect.never)
      // an attempt (its timeout is Deadline's), and a client classified with `Attempt.classify` (its own timeout)
      for (
        const attempt of [
          Effect.asVoid(Attempt.json(client, request, User, { timeout: "5 seconds" })),
          Effect.asVoid(Attempt.classify(client, { timeout: "5 seconds" }).execute(request))
        ]
      ) {
        const failure = yield* interruptedWhileMasked(attempt, { interruptAfter: "1 second", endsAfter: "4 seconds" })
        expect(Option.map(failure, (failure) => failure._tag === "Timeout" && failure.phase)).toEqual(
          Option.some("Attempt")
        )
      }
    }))

  it.effect("interrupted from outside inside an uninterruptible region, a stalled body's read waits for its bound", () =>
    Effect.gen(function*() {
      const { client } = fakeClient(() => Effect.succeed(stalledResponse("{\"id\":")))
      const failure = yield* interruptedWhileMasked(
        Attempt.json(client, request, User, { bodyTimeout: "500 millis" }),
        { interruptAfter: "100 millis", endsAfter: "400 millis" }
      )
      expect(Option.map(failure, (failure) => failure._tag === "Timeout" && failure.phase)).toEqual(
        Option.some("BodyRead")
      )
    }))

  it.effect("an interruptible caller of an attempt with timeouts is interrupted at once", () =>
    Effect.gen(function*() {
      const { client } = fakeClient(() => Effect.succeed(stalledResponse("{\"id\":")))
      const silent = fakeClient(() => Effect.never).client
      const before = (yield* Fiber.roots).length
      for (
        const attempt of [
          Effect.asVoid(Attempt.json(client, request, User, { timeout: "5 seconds", bodyTimeout: "500 millis" })),
          Effect.asVoid(Attempt.classify(silent, { timeout: "5 seconds" }).execute(request))
        ]
      ) {
        const fiber = yield* Effect.fork(attempt)
        yield* TestClock.adjust("100 millis")
        expect(Exit.isInterrupted(yield* Fiber.interrupt(fiber))).toBe(true)
      }
      // nothing of the attempts is left running (they ran in the caller's fibers, not in ones of their own)
      yield* Effect.repeatN(Effect.yieldNow(), 10)
      expect((yield* Fiber.roots).length - before).toBe(0)
    }))

  // the body of a refused answer is read (one chunk) before the connection is let go; a body that sent nothing held
  // the attempt for ever when nothing else bounded it. It is cancelled after the discard cap (a second)
  it.effect("a refused answer whose body sends nothing fails after the discard cap, its body cancelled", () =>
    Effect.gen(function*() {
      let cancelled = 0
      const silent = () =>
        new Response(new ReadableStream({ cancel: () => void cancelled++ }), {
          status: 200,
          headers: { "content-type": "text/html" }
        })
      const { client } = fakeClient(() => Effect.succeed(silent()))
      for (const masked of [false, true]) {
        const attempt = failureOf(Attempt.json(client, request, User))
        const fiber = yield* Effect.fork(masked ? Effect.uninterruptible(attempt) : attempt)
        yield* TestClock.adjust("999 millis")
        expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
        yield* TestClock.adjust("1 millis")
        const failure = yield* Fiber.poll(fiber)
        expect(Option.map(failure, Exit.map((failure) => failure._tag))).toEqual(
          Option.some(Exit.succeed("UnexpectedContentType"))
        )
      }
      expect(cancelled).toBe(2)
    }))

  it.effect("maps transport causes to connection reasons", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [unknown, HttpFailure.ConnectionError["reason"]]> = [
        [systemError("ECONNREFUSED", "connect ECONNREFUSED 10.0.0.1:443"), "Refused"],
        // fetch wraps the system error: TypeError("fetch failed", { cause })
        [new TypeError("fetch failed", { cause: systemError("ECONNREFUSED") }), "Refused"],
        [new AggregateError([systemError("ECONNREFUSED"), systemError("ECONNREFUSED")]), "Refused"],
        [systemError("ENOTFOUND", "getaddrinfo ENOTFOUND api.example.com"), "DnsLookup"],
        [systemError("EAI_AGAIN"), "DnsLookup"],
        [systemError("ECONNRESET", "socket hang up"), "Reset"],
        [new TypeError("fetch failed", { cause: systemError("UND_ERR_SOCKET", "other side closed") }), "Reset"],
        [systemError("UND_ERR_SOCKET", "bad response"), "Unknown"],
        [systemError("ERR_TLS_CERT_ALTNAME_INVALID"), "Tls"],
        [systemError("DEPTH_ZERO_SELF_SIGNED_CERT"), "Tls"],
        [systemError("UND_ERR_CONNECT_TIMEOUT"), "ConnectTimeout"],
        // the same codes come from connecting and from a socket already open: only the first is known unsent
        [Object.assign(systemError("ETIMEDOUT"), { syscall: "connect" }), "ConnectTimeout"],
        [Object.assign(systemError("EHOSTUNREACH"), { syscall: "connect" }), "ConnectTimeout"],
        [
          Object.assign(new AggregateError([Object.assign(systemError("ETIMEDOUT"), { syscall: "connect" })]), {
            code: "ETIMEDOUT"
          }),
          "ConnectTimeout"
        ],
        // a local address or port that cannot be had: the socket never connected
        [
          Object.assign(systemError("EADDRNOTAVAIL", "connect EADDRNOTAVAIL 10.0.0.1:443"), { syscall: "connect" }),
          "ConnectTimeout"
        ],
        [
          Object.assign(systemError("EADDRNOTAVAIL", "bind EADDRNOTAVAIL 10.255.255.1"), { syscall: "bind" }),
          "ConnectTimeout"
        ],
        [Object.assign(systemError("EADDRINUSE"), { syscall: "bind" }), "ConnectTimeout"],
        [systemError("EADDRNOTAVAIL"), "Unknown"],
        [systemError("ETIMEDOUT"), "Unknown"],
        [Object.assign(systemError("ETIMEDOUT"), { syscall: "write" }), "Unknown"],
        [Object.assign(systemError("EHOSTUNREACH"), { syscall: "read" }), "Unknown"],
        [Object.assign(systemError("ENETUNREACH"), { syscall: "write" }), "Unknown"],
        [new Error("something odd"), "Unknown"],
        // a Unix socket path that does not exist: nothing listens there
        [Object.assign(systemError("ENOENT", "connect ENOENT /run/x.sock"), { syscall: "connect" }), "Refused"],
        [systemError("ENOENT"), "Unknown"],
        // undici's ProxyAgent, for a CONNECT the proxy did not answer with 200 (code UND_ERR_ABORTED)
        [systemError("UND_ERR_ABORTED", "Proxy response (407) !== 200 when HTTP Tunneling"), "Proxy"],
        [
          new TypeError("fetch failed", {
            cause: systemError("UND_ERR_ABORTED", "Proxy response (502) !== 200 when HTTP Tunneling")
          }),
          "Proxy"
        ]
      ]
      for (const [cause, reason] of cases) {
        const failure = yield* failureOf(Attempt.json(transportFailure(cause), request, User))
        if (failure._tag !== "ConnectionError") throw new Error(`unexpected ${failure._tag}`)
        expect(failure.reason).toBe(reason)
      }
    }))

  it.effect("a tunnel the proxy refused: ConnectionError Proxy with the proxy's status, never sent", () =>
    Effect.gen(function*() {
      for (const status of [407, 502]) {
        const cause = systemError("UND_ERR_ABORTED", `Proxy response (${status}) !== 200 when HTTP Tunneling`)
        const failure = yield* failureOf(Attempt.send(transportFailure(cause), request))
        expect(failure).toMatchObject({
          _tag: "ConnectionError",
          reason: "Proxy",
          proxyStatus: status,
          requestSent: false
        })
        expect(HttpFailure.mayHaveReachedServer(failure)).toBe(false)
      }
      // an abort that is not a proxy's: no proxyStatus field at all
      const aborted = yield* failureOf(
        Attempt.send(transportFailure(systemError("UND_ERR_ABORTED", "aborted")), request)
      )
      expect(aborted).toMatchObject({ _tag: "ConnectionError", reason: "Unknown" })
      expect("proxyStatus" in aborted).toBe(false)
    }))

  it.effect("a SOCKS5 proxy's failure (undici's UND_ERR_SOCKS5_* codes): ConnectionError Proxy, the reply as proxyReply", () =>
    Effect.gen(function*() {
      for (const reply of [1, 2, 5, 8]) {
        const cause = new TypeError("fetch failed", {
          cause: systemError(`UND_ERR_SOCKS5_REPLY_${reply}`, `SOCKS5 proxy answered CONNECT with ${reply}`)
        })
        const failure = yield* failureOf(Attempt.send(transportFailure(cause), request))
        expect(failure).toMatchObject({
          _tag: "ConnectionError",
          reason: "Proxy",
          proxyReply: reply,
          requestSent: false
        })
        expect("proxyStatus" in failure).toBe(false)
        expect(HttpFailure.isTransient(failure)).toBe(reply === 1 || reply === 5)
      }
      for (const code of ["UND_ERR_SOCKS5_AUTH_FAILED", "UND_ERR_SOCKS5_AUTH_REJECTED", "UND_ERR_SOCKS5_VERSION"]) {
        const failure = yield* failureOf(Attempt.send(transportFailure(systemError(code, "socks")), request))
        expect(failure, code).toMatchObject({ _tag: "ConnectionError", reason: "Proxy", requestSent: false })
        expect("proxyReply" in failure, code).toBe(false)
        expect(HttpFailure.isTransient(failure), code).toBe(false)
      }
      const auth = yield* failureOf(
        Attempt.send(transportFailure(systemError("UND_ERR_SOCKS5_AUTH_FAILED", "socks")), request)
      )
      expect(auth.message).toMatch(/^SOCKS proxy authentication failed \(UND_ERR_SOCKS5_AUTH_FAILED\): GET /)
      // a code that merely starts alike is not a SOCKS failure
      const other = yield* failureOf(Attempt.send(transportFailure(systemError("UND_ERR_SOCKS50", "x")), request))
      expect(other).toMatchObject({ _tag: "ConnectionError", reason: "Unknown" })
    }))

  it.effect("a request an http: proxy forwards without a tunnel and answers 407: ConnectionError Proxy 407, not InvalidHeader", () =>
    Effect.gen(function*() {
      // undici's Http1ProxyWrapper (`proxyTunnel: false`) says it with an InvalidArgumentError
      const cause = systemError("UND_ERR_INVALID_ARG", "Proxy Authentication Required (407)")
      const failure = yield* failureOf(Attempt.send(transportFailure(cause), request))
      expect(failure).toMatchObject({ _tag: "ConnectionError", reason: "Proxy", proxyStatus: 407, requestSent: false })
      expect(HttpFailure.isTransient(failure)).toBe(false)
    }))

  it.effect("a request the transport refuses to write says in its detail what was refused, secrets redacted", () =>
    Effect.gen(function*() {
      const detailOf = (cause: unknown, on = request) =>
        Effect.map(failureOf(Attempt.send(transportFailure(cause), on)), (failure) => {
          if (failure._tag !== "InvalidRequest") throw new Error(`unexpected ${failure._tag}`)
          expect(failure.reason).toBe("InvalidHeader")
          return failure.detail
        })
      // undici's words for a CONNECT, which it sends only as a tunnel
      expect(yield* detailOf(systemError("UND_ERR_INVALID_ARG", "invalid onUpgrade method"))).toBe(
        "invalid onUpgrade method (UND_ERR_INVALID_ARG)"
      )
      expect(
        yield* detailOf(
          new TypeError("fetch failed", {
            cause: systemError("ERR_INVALID_CHAR", "Invalid character in header content [\"x-note\"]")
          })
        )
      ).toBe(
        "Invalid character in header content [\"x-note\"] (ERR_INVALID_CHAR)"
      )
      const keyed = HttpClientRequest.get("https://api.example.com/users/1?api_key=k-77123")
      expect(
        yield* detailOf(
          systemError("UND_ERR_INVALID_ARG", "invalid url https://api.example.com/users/1?api_key=k-77123"),
          keyed
        )
      ).toBe(
        "invalid url https://api.example.com/users/1?api_key=<redacted> (UND_ERR_INVALID_ARG)"
      )
      // no words: the code alone
      expect(yield* detailOf(systemError("ERR_INVALID_HTTP_TOKEN", ""))).toBe("ERR_INVALID_HTTP_TOKEN")
    }))

  it.effect("a connect that failed otherwise than by a timer says 'connect failed', with the code", () =>
    Effect.gen(function*() {
      const messageOf = (cause: unknown) =>
        Effect.map(failureOf(Attempt.send(transportFailure(cause), request)), (failure) => failure.message)
      expect(yield* messageOf(Object.assign(systemError("EADDRNOTAVAIL"), { syscall: "connect" }))).toMatch(
        /^connect failed \(EADDRNOTAVAIL\): GET /
      )
      expect(yield* messageOf(Object.assign(systemError("EHOSTUNREACH"), { syscall: "connect" }))).toMatch(
        /^connect failed \(EHOSTUNREACH\): GET /
      )
      expect(yield* messageOf(Object.assign(systemError("ETIMEDOUT"), { syscall: "connect" }))).toMatch(
        /^connect timed out \(ETIMEDOUT\): GET /
      )
      expect(yield* messageOf(systemError("UND_ERR_CONNECT_TIMEOUT"))).toMatch(
        /^connect timed out \(UND_ERR_CONNECT_TIMEOUT\): GET /
      )
    }))

  it.effect("a transport's requestSent on its RequestError reaches the Timeout or ConnectionError (RequestSentMark)", () =>
    Effect.gen(function*() {
      // as @sturdy/node marks it: on the request's own error (not enumerable), not on the cause it may share
      const marked = (cause: unknown, requestSent: unknown) =>
        HttpClient.make((request) =>
          Effect.fail(
            Object.defineProperty(
              new HttpClientError.RequestError({ request, reason: "Transport", cause }),
              "requestSent",
              { value: requestSent }
            )
          )
        )
      const reset = systemError("ECONNRESET", "Client network socket disconnected before secure TLS connection")
      const connection = yield* failureOf(Attempt.send(marked(reset, false), request))
      expect(connection).toMatchObject({ _tag: "ConnectionError", reason: "Reset", requestSent: false })
      expect(HttpFailure.mayHaveReachedServer(connection)).toBe(false)
      expect(connection.message).toBe(
        "connection reset before the request was sent (ECONNRESET): GET https://api.example.com/users/1"
      )
      const limit = new Deadline.DeadlineExceeded({ reason: "Attempt", timeout: Duration.seconds(2) })
      const timeout = yield* failureOf(Attempt.send(marked(limit, false), request))
      expect(timeout).toMatchObject({ _tag: "Timeout", phase: "Attempt", requestSent: false })
      expect(HttpFailure.mayHaveReachedServer(timeout)).toBe(false)
      // a refused connection never left anyway: its failure is the same with the mark or without
      const refused = systemError("ECONNREFUSED", "connect ECONNREFUSED 10.0.0.1:443")
      expect(yield* failureOf(Attempt.send(marked(refused, false), request))).toStrictEqual(
        yield* failureOf(Attempt.send(transportFailure(refused), request))
      )
      // an error that does not say, or says something else, leaves the field out: it may have reached the server
      for (const client of [transportFailure(reset), marked(reset, "no"), marked(limit, 0)]) {
        const unsaid = yield* failureOf(Attempt.send(client, request))
        expect("requestSent" in unsaid).toBe(false)
        expect(HttpFailure.mayHaveReachedServer(unsaid)).toBe(true)
      }
    }))

  it.effect("a timer raced around the transport reads the transport's SendProgress: unsent is requestSent false", () =>
    Effect.gen(function*() {
      // a transport that reports its progress, then waits for ever: `sent` says what it reports on each call
      const reporting = (sent: ReadonlyArray<boolean | undefined>) => {
        let call = 0
        return HttpClient.make(() =>
          Effect.flatMap(FiberRef.get(Attempt.currentSendProgress), (progress) => {
            const report = sent[call++]
            if (progress !== undefined && report !== undefined) progress.requestSent = report
            return Effect.never
          })
        )
      }
      const timedOut = (client: HttpClient.HttpClient, options: Attempt.Options = { timeout: "1 second" }) =>
        Effect.gen(function*() {
          const fiber = yield* Effect.fork(Effect.flip(Attempt.send(client, request, options)))
          yield* TestClock.adjust("1 second")
          return yield* Fiber.join(fiber)
        })
      const unsent = yield* timedOut(reporting([false]))
      expect(unsent).toMatchObject({ _tag: "Timeout", phase: "Attempt", requestSent: false })
      expect(HttpFailure.mayHaveReachedServer(unsent)).toBe(false)
      for (const report of [true, undefined]) {
        const sent = yield* timedOut(reporting([report]))
        expect("requestSent" in sent).toBe(false)
        expect(HttpFailure.mayHaveReachedServer(sent)).toBe(true)
      }
      // each run of an attempt has a progress of its own: the first run's report does not reach the second
      const client = reporting([false, undefined])
      const attempt = Attempt.send(client, request, { timeout: "1 second" })
      for (const expected of [false, undefined]) {
        const fiber = yield* Effect.fork(Effect.flip(attempt))
        yield* TestClock.adjust("1 second")
        const failure = yield* Fiber.join(fiber)
        expect(failure._tag === "Timeout" && failure.requestSent).toBe(expected)
      }
      // outside an attempt's timer there is nothing to report to
      expect(yield* FiberRef.get(Attempt.currentSendProgress)).toBeUndefined()
    }))

  it.effect("keeps a sanitized copy of the cause, not the raw error", () =>
    Effect.gen(function*() {
      const cause = systemError("ECONNRESET", "reset while sending https://api.example.com/?token=t0p")
      const failure = yield* failureOf(Attempt.send(transportFailure(cause), request))
      if (failure._tag !== "ConnectionError") throw new Error(`unexpected ${failure._tag}`)
      expect(failure.cause).toEqual({
        name: "Error",
        code: "ECONNRESET",
        message: "reset while sending https://api.example.com/?token=<redacted>"
      })
      expect(failure.message).toBe(
        "connection reset before a response (ECONNRESET): GET https://api.example.com/users/1"
      )
    }))

  it.effect("keeps the words of a RequestError that has a description but no cause", () =>
    Effect.gen(function*() {
      // a middleware that fails before sending (req's OnBeforeRequest) writes why in `description`
      const secret = HttpClientRequest.setUrlParam(request, "token", "t0p")
      const transport = yield* failureOf(
        Attempt.fromClientError(
          new HttpClientError.RequestError({
            request: secret,
            reason: "Transport",
            description: "temporary before-request error for ?token=t0p"
          })
        )
      )
      if (transport._tag !== "ConnectionError") throw new Error(`unexpected ${transport._tag}`)
      expect(transport.cause).toEqual({
        name: "RequestError",
        code: undefined,
        message: "temporary before-request error for ?token=<redacted>"
      })
      expect(transport.message).toContain("(temporary before-request error for ?token=<redacted>)")
      const encode = yield* failureOf(
        Attempt.fromClientError(
          new HttpClientError.RequestError({ request, reason: "Encode", description: "the form has no boundary" })
        )
      )
      expect(encode).toMatchObject({ _tag: "InvalidRequest", reason: "BodyEncode", detail: "the form has no boundary" })
      // neither a cause nor words: as before
      const bare = yield* failureOf(
        Attempt.fromClientError(new HttpClientError.RequestError({ request, reason: "Transport" }))
      )
      expect(bare).toMatchObject({ _tag: "ConnectionError", reason: "Unknown", cause: undefined })
    }))

  it.effect("maps platform encode and URL errors to InvalidRequest", () =>
    Effect.gen(function*() {
      const { client } = fakeClient(() => Effect.never)
      const encode = yield* failureOf(
        Attempt.fromClientError(
          new HttpClientError.RequestError({ request, reason: "Encode", cause: new Error("stream broke") })
        )
      )
      expect(encode._tag === "InvalidRequest" && encode.reason).toBe("BodyEncode")
      const url = yield* failureOf(
        Attempt.send(client, HttpClientRequest.get("http://exa mple.com/"))
      )
      expect(url._tag === "InvalidRequest" && url.reason).toBe("MalformedUrl")
    }))

  it.effect("headers undici refuses (a Content-Length the body does not match, Expect) are InvalidRequest", () =>
    Effect.gen(function*() {
      const cases = [
        [
          systemError(
            "UND_ERR_REQ_CONTENT_LENGTH_MISMATCH",
            "Request body length does not match content-length header"
          ),
          "Content-Length does not match the body (UND_ERR_REQ_CONTENT_LENGTH_MISMATCH)"
        ],
        [
          systemError("UND_ERR_NOT_SUPPORTED", "expect header not supported"),
          "Expect header not supported by the transport (UND_ERR_NOT_SUPPORTED)"
        ]
      ] as const
      for (const [cause, detail] of cases) {
        const failure = yield* failureOf(Attempt.json(transportFailure(cause), request, User))
        expect(failure).toMatchObject({ _tag: "InvalidRequest", reason: "InvalidHeader", detail })
        // sending it again sends the same headers: not a connection failure to retry
        expect(HttpFailure.isTransient(failure)).toBe(false)
        expect(HttpFailure.mayHaveReachedServer(failure)).toBe(false)
      }
    }))

  it.effect("refuses header values with CR or LF before sending", () =>
    Effect.gen(function*() {
      const { client, seen } = fakeClient(() => Effect.succeed(jsonResponse(200, {})))
      const failure = yield* failureOf(
        Attempt.send(client, HttpClientRequest.setHeader(request, "x-trace", "a\nb"))
      )
      expect(failure._tag === "InvalidRequest" && failure.reason).toBe("InvalidHeader")
      expect(failure.message).toContain(`header "x-trace" contains CR, LF or NUL`)
      expect(seen).toHaveLength(0)
    }))

  it.effect("status failures carry the status, redacted headers, an excerpt and the typed payload", () =>
    Effect.gen(function*() {
      const ApiError = Schema.Struct({ code: Schema.String })
      const { client } = fakeClient(() =>
        Effect.succeed(jsonResponse(409, { code: "E_CONFLICT", detail: "x".repeat(5000) }, { "set-cookie": "s=1" }))
      )
      const failure = yield* failureOf(Attempt.json(client, request, User, { errorSchema: ApiError }))
      if (failure._tag !== "ClientError") throw new Error(`unexpected ${failure._tag}`)
      expect(failure.status).toBe(409)
      expect(failure.headers["set-cookie"]).toBe("<redacted>")
      expect(failure.bodyExcerpt.length).toBe(1024)
      expect(failure.payload).toEqual(Option.some({ code: "E_CONFLICT" }))

      const mismatch = yield* failureOf(Attempt.json(client, request, User, { errorSchema: Schema.Number }))
      expect(mismatch._tag === "ClientError" && mismatch.payload).toEqual(Option.none())
    }))

  it.effect("an error body's excerpt and payload carry no echoed secret, wherever the excerpt is cut", () =>
    Effect.gen(function*() {
      const token = "S-echoed-token-0123456789abcdefghij"
      const secretRequest = HttpClientRequest.get("https://api.example.com/users/1").pipe(
        HttpClientRequest.setHeader("authorization", `Bearer ${token}`)
      )
      const ApiError = Schema.Struct({ message: Schema.String, code: Schema.String })
      // the token straddles the excerpt's 1 KiB cut, and sits JSON-escaped in the payload's message
      const message = `${"x".repeat(1000)} ${token} expired`
      const { client } = fakeClient(() => Effect.succeed(jsonResponse(401, { message, code: "E_TOKEN" })))
      const failure = yield* failureOf(Attempt.json(client, secretRequest, User, { errorSchema: ApiError }))
      if (failure._tag !== "ClientError") throw new Error(`unexpected ${failure._tag}`)
      const rendered = [failure.bodyExcerpt, JSON.stringify(failure), JSON.stringify(failure.payload)].join("\n")
      for (const part of [token, token.slice(0, 8)]) expect(rendered).not.toContain(part)
      expect(Buffer.byteLength(failure.bodyExcerpt)).toBeLessThanOrEqual(1024)
      // the payload keeps what the caller reads: only the secret is gone
      expect(failure.payload).toEqual(
        Option.some({ message: `${"x".repeat(1000)} <redacted> expired`, code: "E_TOKEN" })
      )
    }))

  it.effect("invalid JSON's detail does not quote the body", () =>
    Effect.gen(function*() {
      const { client } = fakeClient(() =>
        Effect.succeed(new Response("S-quoted-secret-body", { headers: { "content-type": "application/json" } }))
      )
      const failure = yield* failureOf(Attempt.json(client, request, User))
      if (failure._tag !== "InvalidJson") throw new Error(`unexpected ${failure._tag}`)
      expect(failure.detail).not.toContain("S-quoted")
      expect(failure.detail).toContain("not valid JSON")
    }))

  it.effect("rate limits and server errors carry the server's requested wait", () =>
    Effect.gen(function*() {
      const limited = fakeClient(() => Effect.succeed(jsonResponse(429, {}, { "retry-after": "12" }))).client
      const failure = yield* failureOf(Attempt.send(limited, request))
      expect(failure._tag).toBe("RateLimited")
      expect(failure._tag === "RateLimited" && Option.map(failure.retryAfter, Duration.toSeconds)).toEqual(
        Option.some(12)
      )
      const unavailable = fakeClient(() => Effect.succeed(new Response("", { status: 503 }))).client
      const server = yield* failureOf(Attempt.send(unavailable, request))
      expect(server._tag === "ServerError" && server.retryAfter).toEqual(Option.none())
      const moved = fakeClient(() => Effect.succeed(new Response("", { status: 302 }))).client
      expect((yield* failureOf(Attempt.send(moved, request)))._tag).toBe("UnexpectedStatus")
    }))

  it.effect("content types: JSON suffixes pass, a missing type passes, others fail", () =>
    Effect.gen(function*() {
      const withType = (type: string | undefined) =>
        fakeClient(() =>
          Effect.succeed(
            new Response(`{"id":1,"name":"Ada"}`, type === undefined ? {} : { headers: { "content-type": type } })
          )
        ).client
      expect(yield* Attempt.json(withType("application/vnd.api+json; charset=utf-8"), request, User)).toEqual({
        id: 1,
        name: "Ada"
      })
      const untyped = fakeClient(() =>
        Effect.succeed(new Response(new TextEncoder().encode(`{"id":1,"name":"Ada"}`)))
      ).client
      expect((yield* Attempt.json(untyped, request, User)).id).toBe(1)
      const wrong = yield* failureOf(Attempt.json(withType("text/plain"), request, User))
      expect(wrong._tag).toBe("UnexpectedContentType")
      const accepted = yield* Attempt.send(withType("text/csv"), request, { expectedContentTypes: ["text/*"] })
      expect(accepted.status).toBe(200)
    }))

  it.effect("a Content-Type that only starts with an expected type is not that type, whichever entry names it", () =>
    Effect.gen(function*() {
      const withType = (type: string) =>
        fakeClient(() => Effect.succeed(new Response(`{"id":1,"name":"Ada"}`, { headers: { "content-type": type } })))
          .client
      for (const type of ["application/json foo", "application/json ,text/html", "application/json\tx"]) {
        for (const expected of [["application/json"], ["text/plain", "application/json"]]) {
          const failure = yield* failureOf(
            Attempt.json(withType(type), request, User, { expectedContentTypes: expected })
          )
          expect(failure).toMatchObject({ _tag: "UnexpectedContentType", contentType: type, expected })
        }
      }
      // a space or a tab before the parameters is still the type
      for (
        const type of ["application/json ;charset=utf-8", "application/json\t; charset=utf-8", "application/json "]
      ) {
        expect(yield* Attempt.json(withType(type), request, User)).toEqual({ id: 1, name: "Ada" })
      }
    }))

  it.effect("an expected type with parameters matches the same Content-Type wherever it is in the list", () =>
    Effect.gen(function*() {
      const typed = "application/json; charset=utf-8"
      const { client } = fakeClient(() =>
        Effect.succeed(new Response(`{"id":1,"name":"Ada"}`, { headers: { "content-type": typed } }))
      )
      for (const expected of [[typed], ["text/plain", typed], ["TEXT/PLAIN", "Application/JSON; Charset=UTF-8"]]) {
        expect(yield* Attempt.json(client, request, User, { expectedContentTypes: expected })).toEqual({
          id: 1,
          name: "Ada"
        })
      }
      // another charset is another type as written, wherever it is in the list
      for (
        const expected of [["application/json; charset=latin1"], ["text/plain", "application/json; charset=latin1"]]
      ) {
        expect(yield* failureOf(Attempt.json(client, request, User, { expectedContentTypes: expected }))).toMatchObject(
          { _tag: "UnexpectedContentType", contentType: typed }
        )
      }
    }))

  it.effect("decode failures: invalid JSON, empty body, schema mismatch with the issue path", () =>
    Effect.gen(function*() {
      const body = (text: string) =>
        fakeClient(() => Effect.succeed(new Response(text, { headers: { "content-type": "application/json" } })))
          .client
      const invalid = yield* failureOf(Attempt.json(body("{\"id\": 1,"), request, User))
      expect(invalid._tag).toBe("InvalidJson")
      const empty = yield* failureOf(Attempt.json(body(""), request, User))
      expect(empty._tag === "InvalidJson" && empty.detail).toBe("empty body")
      const mismatch = yield* failureOf(
        Attempt.json(
          body(`{"users":[{"id":1,"name":"a"},{"id":"2","name":"b"}]}`),
          request,
          Schema.Struct({
            users: Schema.Array(User)
          })
        )
      )
      if (mismatch._tag !== "SchemaMismatch") throw new Error(`unexpected ${mismatch._tag}`)
      expect(mismatch.path).toBe("$.users[1].id")
      expect(mismatch.issue).toBe("Expected number")
    }))

  it.effect("a JSON body that arrived still compressed says so, instead of quoting binary parse errors", () =>
    Effect.gen(function*() {
      const respond = (body: Uint8Array<ArrayBuffer> | string, encoding: string) =>
        fakeClient(() =>
          Effect.succeed(
            new Response(body, { headers: { "content-type": "application/json", "content-encoding": encoding } })
          )
        ).client
      const json = Buffer.from("{\"id\":1,\"name\":\"a\"}")
      const cases = [
        ["gzip", gzipSync(json)],
        ["GZIP", gzipSync(json)],
        ["x-gzip", gzipSync(json)],
        ["deflate", deflateSync(json)],
        ["br", brotliCompressSync(json)]
      ] as const
      for (const [encoding, compressed] of cases) {
        const failure = yield* failureOf(Attempt.json(respond(new Uint8Array(compressed), encoding), request, User))
        expect(failure).toMatchObject({
          _tag: "InvalidJson",
          detail:
            `body still compressed, Content-Encoding: ${encoding.toLowerCase()}; the transport did not decompress it`
        })
      }
      // a body the transport did decode keeps the parser's own words, whatever the header says
      const decoded = yield* failureOf(Attempt.json(respond("{\"id\": 1,", "gzip"), request, User))
      expect(decoded._tag === "InvalidJson" && decoded.detail).not.toContain("compressed")
      const identity = yield* failureOf(
        Attempt.json(respond(new Uint8Array(gzipSync(json)), "identity"), request, User)
      )
      expect(identity._tag === "InvalidJson" && identity.detail).not.toContain("compressed")
      // nor is an HTML error page the transport did decompress
      for (const encoding of ["gzip", "br", "deflate"]) {
        const html = yield* failureOf(Attempt.json(respond("<html>bad gateway</html>", encoding), request, User))
        expect(html._tag === "InvalidJson" && html.detail).not.toContain("compressed")
      }
    }))

  it.effect("a JSON body that is not UTF-8 fails with InvalidJson, whatever charset it declares", () =>
    Effect.gen(function*() {
      const respond = (bytes: Uint8Array, contentType: string, status = 200) =>
        fakeClient(() =>
          Effect.succeed(new Response(new Uint8Array(bytes), { status, headers: { "content-type": contentType } }))
        ).client
      const Name = Schema.Struct({ name: Schema.String })
      const latin1 = Buffer.from("{\"name\":\"caf\u00e9\"}", "latin1")
      // the charset named when one other than UTF-8 is declared, quoted or not
      for (
        const [contentType, detail] of [
          ["application/json; charset=iso-8859-1", "body is not valid UTF-8 (Content-Type declares iso-8859-1)"],
          ["application/json;Charset=\"Windows-1252\"", "body is not valid UTF-8 (Content-Type declares windows-1252)"],
          ["application/json", "body is not valid UTF-8"],
          ["application/json; charset=utf-8", "body is not valid UTF-8"]
        ] as const
      ) {
        const failure = yield* failureOf(Attempt.json(respond(latin1, contentType), request, Name))
        expect(failure).toMatchObject({ _tag: "InvalidJson", detail, bodyExcerpt: "{\"name\":\"caf\uFFFD\"}" })
      }
      // a U+FFFD the server sent as UTF-8 is its own text, and a leading byte order mark is dropped
      const own = Buffer.from("\uFEFF{\"name\":\"caf\uFFFD\"}", "utf8")
      expect(yield* Attempt.json(respond(own, "application/json"), request, Name)).toEqual({ name: "caf\uFFFD" })
      expect(
        yield* Attempt.json(
          respond(Buffer.from("{\"name\":\"caf\u00e9\"}"), "application/json; charset=iso-8859-1"),
          request,
          Name
        )
      )
        .toEqual({ name: "caf\u00e9" })
      // decodeJson reads the bytes the same way
      const received = yield* Attempt.send(respond(latin1, "application/json"), request)
      const decoded = yield* Effect.either(Attempt.decodeJson(received, Name))
      expect(Either.isLeft(decoded) && decoded.left._tag).toBe("InvalidJson")
      // an error body that is not UTF-8 has no payload
      const status = yield* failureOf(
        Attempt.json(respond(latin1, "application/json", 400), request, Name, { errorSchema: Name })
      )
      expect(status._tag === "ClientError" && Option.isNone(status.payload)).toBe(true)
      const valid = yield* failureOf(
        Attempt.json(respond(Buffer.from("{\"name\":\"x\"}"), "application/json", 400), request, Name, {
          errorSchema: Name
        })
      )
      expect(valid._tag === "ClientError" && valid.payload).toEqual(Option.some({ name: "x" }))
    }))

  it.effect("a body with many mismatches lists the first 100 issues; a body over 256 KiB only its first", () =>
    Effect.gen(function*() {
      const Items = Schema.Array(Schema.Struct({ id: Schema.Number }))
      const respond = (count: number) =>
        fakeClient(() =>
          Effect.succeed(
            new Response(JSON.stringify(Array.from({ length: count }, (_, i) => ({ id: `${i}` }))), {
              headers: { "content-type": "application/json" }
            })
          )
        ).client
      // about 200 KB, every item wrong: the issues are the parser's first 100, in its words
      const small = yield* failureOf(Attempt.json(respond(15_000), request, Items))
      if (small._tag !== "SchemaMismatch") throw new Error(`unexpected ${small._tag}`)
      expect(small.issues).toHaveLength(100)
      expect(small.issues[0]).toEqual({ path: "$[0].id", message: "Expected number" })
      expect(small.issues[99].path).toBe("$[99].id")
      expect(small.path).toBe("$[0].id")
      // about 4 MB, as an API answers a long list after changing a field's type: only the first problem is looked for
      const large = yield* failureOf(Attempt.json(respond(300_000), request, Items, { maxBodyBytes: 10_000_000 }))
      expect(large).toMatchObject({ _tag: "SchemaMismatch", path: "$[0].id", issue: "Expected number" })
      expect(large._tag === "SchemaMismatch" && large.issues).toHaveLength(1)
    }))

  it.effect("bounds the body: declared or streamed bodies over the limit fail with BodyTooLarge", () =>
    Effect.gen(function*() {
      const declared = fakeClient(() =>
        Effect.succeed(new Response("x".repeat(100), { headers: { "content-length": "100" } }))
      ).client
      const large = yield* failureOf(Attempt.send(declared, request, { maxBodyBytes: 50 }))
      expect(large._tag === "BodyTooLarge" && large.declaredBytes).toBe(100)
      const streamed = fakeClient(() =>
        Effect.succeed(
          new Response(
            new ReadableStream<Uint8Array>({
              start(controller) {
                for (let i = 0; i < 10; i++) controller.enqueue(new Uint8Array(10))
                controller.close()
              }
            })
          )
        )
      ).client
      const chunked = yield* failureOf(Attempt.send(streamed, request, { maxBodyBytes: 55 }))
      expect(chunked._tag === "BodyTooLarge" && chunked.limitBytes).toBe(55)
      expect((yield* Attempt.send(streamed, request, { maxBodyBytes: 100 })).body.byteLength).toBe(100)
    }))

  it.effect("a body that breaks off is BodyTruncated; undici's own body timeout is a BodyRead timeout", () =>
    Effect.gen(function*() {
      const breaking = (error: Error) =>
        fakeClient(() =>
          Effect.succeed(
            new Response(
              new ReadableStream<Uint8Array>({
                start(controller) {
                  controller.enqueue(new TextEncoder().encode("{\"id\":"))
                  controller.error(error)
                }
              }),
              { headers: { "content-type": "application/json" } }
            )
          )
        ).client
      const reset = yield* failureOf(
        Attempt.json(breaking(systemError("UND_ERR_SOCKET", "other side closed")), request, User)
      )
      if (reset._tag !== "BodyTruncated") throw new Error(`unexpected ${reset._tag}`)
      expect(reset.cause?.code).toBe("UND_ERR_SOCKET")
      const slow = yield* failureOf(Attempt.json(breaking(systemError("UND_ERR_BODY_TIMEOUT")), request, User))
      expect(slow._tag === "Timeout" && slow.phase).toBe("BodyRead")
    }))

  it.effect("an encoded body is counted as it streams: its Content-Length does not bound a decompressed body", () =>
    Effect.gen(function*() {
      // fetch inflates a gzip body whose Content-Length counts the compressed bytes: reading it whole before checking
      // the size would hold all of it (here it never ends, so a whole read would never return)
      const { client } = fakeClient(() =>
        Effect.succeed(
          openResponse(Array.from({ length: 10 }, () => new Uint8Array(10)), {
            headers: { "content-length": "10", "content-encoding": "gzip" }
          })
        )
      )
      const failure = yield* failureOf(Attempt.send(client, request, { maxBodyBytes: 50 }))
      expect(failure._tag === "BodyTooLarge" && failure.limitBytes).toBe(50)
    }))

  it.effect("a 204 or a HEAD answer decodes nothing with the schema: Schema.Void accepts it", () =>
    Effect.gen(function*() {
      const { client } = fakeClient(() => Effect.succeed(new Response(null, { status: 204 })))
      expect(yield* Attempt.json(client, request, Schema.Void)).toBeUndefined()
      const struct = yield* failureOf(Attempt.json(client, request, User))
      expect(struct._tag).toBe("SchemaMismatch")
      // Reset Content never has content either (RFC 9110 §15.3.6)
      const reset = fakeClient(() => Effect.succeed(new Response(null, { status: 205 }))).client
      expect(yield* Attempt.json(reset, request, Schema.Void)).toBeUndefined()
      // a content type a framework set on an answer without content describes no body: it is not checked
      for (const status of [204, 205]) {
        const typed = fakeClient(() =>
          Effect.succeed(new Response(null, { status, headers: { "content-type": "text/html; charset=utf-8" } }))
        ).client
        expect(yield* Attempt.json(typed, request, Schema.Void)).toBeUndefined()
      }
      // any other empty body is still not JSON
      const empty = fakeClient(() =>
        Effect.succeed(new Response("", { headers: { "content-type": "application/json" } }))
      ).client
      expect((yield* failureOf(Attempt.json(empty, request, Schema.Void)))._tag).toBe("InvalidJson")
    }))

  it.effect("a web response without a body (null) has an empty one, not one that broke off", () =>
    Effect.gen(function*() {
      for (const status of [200, 201, 205]) {
        const { client } = fakeClient(() => Effect.succeed(new Response(null, { status })))
        const received = yield* Attempt.send(client, request)
        expect([received.status, received.body.byteLength]).toEqual([status, 0])
      }
      const error = fakeClient(() => Effect.succeed(new Response(null, { status: 503 }))).client
      expect(yield* failureOf(Attempt.send(error, request))).toMatchObject({ _tag: "ServerError", bodyExcerpt: "" })
    }))

  it.effect("an error body cut by the body timeout keeps the status and its Retry-After", () =>
    Effect.gen(function*() {
      const { client } = fakeClient(() =>
        Effect.succeed(openResponse(["{\"error\":"], { status: 429, headers: { "retry-after": "7" } }))
      )
      const fiber = yield* Effect.fork(failureOf(Attempt.send(client, request, { bodyTimeout: "1 second" })))
      yield* TestClock.adjust("1 second")
      const failure = yield* Fiber.join(fiber)
      if (failure._tag !== "RateLimited") throw new Error(`unexpected ${failure._tag}`)
      expect(Option.map(failure.retryAfter, Duration.toSeconds)).toEqual(Option.some(7))
      expect(failure.bodyExcerpt).toBe("")
    }))

  it.effect("HEAD and 204 responses have an empty body", () =>
    Effect.gen(function*() {
      const { client } = fakeClient(() => Effect.succeed(new Response(null, { status: 204 })))
      expect((yield* Attempt.send(client, request)).body.byteLength).toBe(0)
      expect((yield* Attempt.send(client, HttpClientRequest.head("https://api.example.com/"))).status).toBe(204)
    }))

  it.effect("classify turns a platform client into one that fails with HttpFailure", () =>
    Effect.gen(function*() {
      const { client } = fakeClient(() => Effect.succeed(jsonResponse(500, { oops: true })))
      const failure = yield* failureOf(Attempt.classify(client).execute(request))
      expect(failure._tag).toBe("ServerError")
      const refused = yield* failureOf(Attempt.classify(transportFailure(systemError("ECONNREFUSED"))).execute(request))
      expect(refused._tag === "ConnectionError" && refused.reason).toBe("Refused")
    }))

  it.effect("encodeBody fails with InvalidRequest naming the path, not the value", () =>
    Effect.gen(function*() {
      const Login = Schema.Struct({ user: Schema.String, password: Schema.String.pipe(Schema.minLength(12)) })
      const failure = yield* failureOf(Attempt.encodeBody(request, Login, { user: "ada", password: "hunter2" }))
      expect(failure._tag === "InvalidRequest" && failure.reason).toBe("BodyEncode")
      expect(failure.message).toContain("$.password")
      expect(failure.message).not.toContain("hunter2")
    }))

  describe("hostile JSON", () => {
    const textResponse = (body: string) =>
      fakeClient(() => Effect.succeed(new Response(body, { headers: { "content-type": "application/json" } }))).client
    const Tree: Schema.Schema<Tree> = Schema.Struct({ children: Schema.Array(Schema.suspend(() => Tree)) })
    interface Tree {
      readonly children: ReadonlyArray<Tree>
    }

    it.effect("a body nested deeper than maxJsonDepth fails with InvalidJson, never a defect", () =>
      Effect.gen(function*() {
        for (const [open, close] of [["[", "]"], [`{"a":`, "}"], [`{"children":[`, "]}"]]) {
          const deep = `${open.repeat(3_000)}1${close.repeat(3_000)}`
          for (const schema of [User, Schema.Unknown, Tree] as ReadonlyArray<Schema.Schema<unknown>>) {
            const failure = yield* failureOf(Attempt.json(textResponse(deep), request, schema))
            expect(failure._tag).toBe("InvalidJson")
            if (failure._tag === "InvalidJson") expect(failure.detail).toContain("deeper than 512 levels")
          }
        }
      }))

    it.effect("the depth is configurable; the default lets 512 levels through", () =>
      Effect.gen(function*() {
        const nested = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`
        const at512 = yield* Attempt.json(textResponse(nested(512)), request, Schema.Unknown)
        expect(Array.isArray(at512)).toBe(true)
        const over = yield* failureOf(Attempt.json(textResponse(nested(513)), request, Schema.Unknown))
        expect(over._tag).toBe("InvalidJson")
        const strict = yield* failureOf(
          Attempt.json(textResponse(nested(11)), request, Schema.Unknown, { maxJsonDepth: 10 })
        )
        expect(strict._tag).toBe("InvalidJson")
        // brackets inside strings do not count
        const inString = JSON.stringify({ s: "[".repeat(5_000) })
        expect(yield* Attempt.json(textResponse(inString), request, Schema.Struct({ s: Schema.String }))).toEqual(
          JSON.parse(inString)
        )
      }))

    it.effect("a recursive schema over data deeper than the stack allows is a SchemaMismatch, not a RangeError", () =>
      Effect.gen(function*() {
        // within the depth bound, but a very deep recursion for the schema: a failure either way, never a defect
        const deep = `${`{"children":[`.repeat(20_000)}${"]}".repeat(20_000)}`
        const exit = yield* Effect.exit(
          Attempt.json(textResponse(deep), request, Tree, { maxJsonDepth: 100_000 })
        )
        if (exit._tag === "Failure") {
          const failure = yield* failureOf(Effect.failCause(exit.cause))
          expect(["SchemaMismatch", "InvalidJson"]).toContain(failure._tag)
        }
      }))

    it.effect("__proto__ keys never reach a prototype: nothing the attacker sent is inherited", () =>
      Effect.gen(function*() {
        const bodies = [
          `{"__proto__": {"polluted": "yes", "isAdmin": true}, "a": {"__proto__": {"polluted": "yes"}}}`,
          `{"\\u005f\\u005fproto__": {"polluted": "yes"}, "a": {"\\u005f_pro\\u0074o__": {"isAdmin": true}}}`,
          `{"constructor": {"prototype": {"polluted": "yes"}}, "a": {"prototype": {"isAdmin": true}}}`
        ]
        const Loose = Schema.Record({ key: Schema.String, value: Schema.Unknown })
        const Nested = Schema.Record({ key: Schema.String, value: Loose })
        for (const body of bodies) {
          for (const schema of [Loose, Nested, Schema.Unknown] as ReadonlyArray<Schema.Schema<any>>) {
            const decoded = yield* Attempt.json(textResponse(body), request, schema)
            for (const value of [decoded, decoded.a, {}]) {
              expect(Object.getPrototypeOf(value)).toBe(Object.prototype)
              expect((value as Record<string, unknown>).polluted).toBeUndefined()
              expect((value as Record<string, unknown>).isAdmin).toBeUndefined()
            }
            expect(Object.keys(decoded)).not.toContain("__proto__")
          }
        }
        expect(({} as Record<string, unknown>).polluted).toBeUndefined()
      }))
  })
})

// -----------------------------------------------------------------------------
// plain schemas: decoded without the parser's bookkeeping, to the same result
// -----------------------------------------------------------------------------

type AnySchema = Schema.Schema<any, any, never>

const receivedOf = (text: string): Attempt.Received => {
  const body = new TextEncoder().encode(text)
  const response = HttpClientResponse.fromWeb(request, new Response(body))
  return { request, response, status: 200, headers: response.headers, body, text }
}

const leafSchema = FastCheck.constantFrom<AnySchema>(
  Schema.String,
  Schema.Number,
  Schema.Boolean,
  Schema.Null,
  Schema.Unknown,
  Schema.Literal("a"),
  Schema.Literal(1, "b", true),
  Schema.Int,
  Schema.NonEmptyString,
  Schema.Number.pipe(Schema.between(0, 10)),
  Schema.Enums({ A: "a", One: 1 })
)

const fieldName = FastCheck.constantFrom("id", "name", "n", "toString", "constructor")

const { schema: plainSchema } = FastCheck.letrec<{ schema: AnySchema; composite: AnySchema }>((tie) => ({
  schema: FastCheck.oneof({ depthSize: "small" }, leafSchema, tie("composite")),
  composite: FastCheck.oneof(
    FastCheck.uniqueArray(
      FastCheck.tuple(fieldName, tie("schema"), FastCheck.constantFrom("required", "optional", "exact")),
      { selector: ([name]) => name, maxLength: 4 }
    ).map((fields) =>
      Schema.Struct(Object.fromEntries(fields.map(([name, type, kind]) => [
        name,
        kind === "required"
          ? type
          : kind === "optional"
          ? Schema.optional(type)
          : Schema.optionalWith(type, { exact: true })
      ])))
    ),
    tie("schema").map((type) => Schema.Array(type)),
    tie("schema").map((type) => Schema.NonEmptyArray(type)),
    FastCheck.tuple(tie("schema"), tie("schema")).map(([first, second]) => Schema.Tuple(first, second)),
    FastCheck.tuple(tie("schema"), tie("schema")).map(([first, second]) => Schema.Union(first, second)),
    tie("schema").map((type) => Schema.NullOr(type)),
    // not plain: decoded by the parser alone
    tie("schema").map((type) =>
      Schema.Struct({ id: type }).annotations({ parseOptions: { onExcessProperty: "preserve" } })
    ),
    FastCheck.constant(Schema.Struct({ n: Schema.NumberFromString }))
  )
}))

// one value in the document replaced by a value of another kind or dropped from its object, one object given a key
// the schema does not declare, or one array made longer
const mutated = (value: unknown, pick: number): unknown => {
  const copy = JSON.parse(JSON.stringify(value) ?? "null")
  const holders: Array<[Record<string, unknown>, string]> = []
  const objects: Array<Record<string, unknown>> = []
  const arrays: Array<Array<unknown>> = []
  const walk = (node: unknown) => {
    if (typeof node !== "object" || node === null) return
    if (Array.isArray(node)) arrays.push(node)
    else objects.push(node as Record<string, unknown>)
    for (const key of Object.keys(node)) {
      holders.push([node as Record<string, unknown>, key])
      walk((node as Record<string, unknown>)[key])
    }
  }
  walk(copy)
  if (pick % 4 === 1 && objects.length > 0) {
    objects[pick % objects.length]!.undeclared = true
    return copy
  }
  if (pick % 4 === 2 && arrays.length > 0) {
    const array = arrays[pick % arrays.length]!
    array.push(array[0] ?? 1)
    return copy
  }
  if (holders.length === 0) return typeof copy === "string" ? 7 : "x"
  const [holder, key] = holders[pick % holders.length]!
  if (pick % 3 === 0 && !Array.isArray(holder)) delete holder[key]
  else holder[key] = typeof holder[key] === "string" ? 7 : pick % 2 === 0 ? "x" : [holder[key]]
  return copy
}

// a value's own keys in order, their values and the kinds of its objects: what two decodes must agree on (an own
// `constructor` key defeats `toStrictEqual`)
const ownStructure = (value: unknown): unknown =>
  Array.isArray(value)
    ? ["array", value.map(ownStructure)]
    : typeof value === "object" && value !== null
    ? [
      "object",
      Object.getPrototypeOf(value) === Object.prototype,
      Reflect.ownKeys(value).map((key) => [
        String(key),
        ownStructure((value as Record<PropertyKey, unknown>)[key])
      ])
    ]
    : [typeof value, value]

const schemaAndDocument = plainSchema.chain((schema) =>
  FastCheck.tuple(
    FastCheck.constant(schema),
    FastCheck.oneof(
      Arbitrary.make(schema),
      FastCheck.tuple(Arbitrary.make(schema), FastCheck.nat()).map(([value, pick]) => mutated(value, pick)),
      FastCheck.jsonValue()
    ).map((value) => JSON.stringify(value)).filter((text): text is string => typeof text === "string")
  )
)

describe("Attempt options out of range", () => {
  // every kind of bad value for every option: none may be read as "no limit", none may be a defect
  const bad: ReadonlyArray<readonly [keyof Attempt.Options, unknown]> = [
    ["maxBodyBytes", Number.NaN],
    ["maxBodyBytes", -1],
    ["maxBodyBytes", 0.5],
    ["maxBodyBytes", Number.POSITIVE_INFINITY],
    ["maxBodyBytes", "1024"],
    ["maxJsonDepth", Number.NaN],
    ["maxJsonDepth", -3],
    ["maxJsonDepth", 1.5],
    ["maxJsonDepth", Number.POSITIVE_INFINITY],
    ["timeout", "soon"],
    ["timeout", Number.NaN],
    ["timeout", -1],
    ["timeout", 0],
    ["timeout", "-5 millis"],
    ["bodyTimeout", "soon"],
    ["bodyTimeout", Number.NaN],
    ["bodyTimeout", -1],
    ["bodyTimeout", "0 millis"],
    ["expectedContentTypes", "+json"],
    ["expectedContentTypes", ["application/json", 7]],
    ["errorSchema", "not a schema"]
  ]
  const options = (field: string, value: unknown) => ({ [field]: value }) as Attempt.Options

  const expectInvalidOptions = (failure: HttpFailure.HttpFailure, field: string) => {
    expect(failure._tag === "InvalidRequest" && failure.reason, field).toBe("InvalidOptions")
    expect(failure._tag === "InvalidRequest" && failure.detail).toContain(field)
    expect(failure.url).toBe("https://api.example.com/users/1")
  }

  it.effect("send and json fail with InvalidRequest (InvalidOptions) naming the option, before sending", () =>
    Effect.gen(function*() {
      for (const [field, value] of bad) {
        const { client, seen } = fakeClient(() => Effect.succeed(jsonResponse(200, { id: 1, name: "Ada" })))
        expectInvalidOptions(yield* failureOf(Attempt.send(client, request, options(field, value))), field)
        expectInvalidOptions(yield* failureOf(Attempt.json(client, request, User, options(field, value))), field)
        expect(seen, `${field}: ${String(value)}`).toHaveLength(0)
      }
    }))

  it.effect("a NaN limit does not turn the body limit or the depth guard off", () =>
    Effect.gen(function*() {
      const big = fakeClient(() => Effect.succeed(new Response(new Uint8Array(11 * 1024 * 1024)))).client
      const bigFailure = yield* failureOf(Attempt.send(big, request, { maxBodyBytes: Number.NaN }))
      expectInvalidOptions(bigFailure, "maxBodyBytes")
      const deep = `${"[".repeat(5_000)}${"]".repeat(5_000)}`
      const hostile = fakeClient(() =>
        Effect.succeed(new Response(deep, { headers: { "content-type": "application/json" } }))
      ).client
      const deepFailure = yield* failureOf(Attempt.json(hostile, request, Schema.Unknown, { maxJsonDepth: Number.NaN }))
      expectInvalidOptions(deepFailure, "maxJsonDepth")
    }))

  it.effect("every problem is named at once, numbers with their value, strings without theirs", () =>
    Effect.gen(function*() {
      const { client } = fakeClient(() => Effect.succeed(jsonResponse(200, {})))
      const failure = yield* failureOf(
        Attempt.send(client, request, {
          maxBodyBytes: -1,
          maxJsonDepth: 0.5,
          timeout: "nope" as Duration.DurationInput
        })
      )
      expect(failure._tag === "InvalidRequest" && failure.detail).toBe(
        "maxBodyBytes must be an integer ≥ 0 (got -1); maxJsonDepth must be an integer ≥ 0 (got 0.5); " +
          "timeout is not a duration"
      )
      const secret = yield* failureOf(Attempt.send(client, request, options("timeout", "s3cr3t-token")))
      expect(secret.message).not.toContain("s3cr3t")
    }))

  it.effect("classify checks its options once: each request of a client with a bad one fails", () =>
    Effect.gen(function*() {
      for (const [field, value] of bad) {
        const { client, seen } = fakeClient(() => Effect.succeed(jsonResponse(200, {})))
        const classified = Attempt.classify(client, options(field, value))
        expectInvalidOptions(yield* failureOf(classified.execute(request)), field)
        expectInvalidOptions(yield* failureOf(classified.execute(request)), field)
        expect(seen).toHaveLength(0)
      }
    }))

  it.effect("decodeJson dies with a RangeError naming a bad maxJsonDepth: the body is already here", () =>
    Effect.gen(function*() {
      const { client } = fakeClient(() => Effect.succeed(jsonResponse(200, [[1]])))
      const received = yield* Attempt.send(client, request)
      for (const depth of [Number.NaN, -1, 1.5, Number.POSITIVE_INFINITY]) {
        const exit = yield* Effect.exit(Attempt.decodeJson(received, Schema.Unknown, { maxJsonDepth: depth }))
        const defect = Exit.isFailure(exit) ? Cause.dieOption(exit.cause) : Option.none()
        expect(Option.isSome(defect) && defect.value instanceof RangeError, String(depth)).toBe(true)
        if (Option.isSome(defect)) expect(String(defect.value)).toContain("maxJsonDepth")
      }
      expect(yield* Attempt.decodeJson(received, Schema.Unknown, { maxJsonDepth: 2 })).toEqual([[1]])
    }))

  it.effect("the edges are valid: zero limits, an infinite timeout (none), an empty list of types (any)", () =>
    Effect.gen(function*() {
      const scalar = fakeClient(() => Effect.succeed(jsonResponse(200, 42))).client
      expect(yield* Attempt.json(scalar, request, Schema.Number, { maxJsonDepth: 0 })).toBe(42)
      const nested = fakeClient(() => Effect.succeed(jsonResponse(200, [42]))).client
      expect((yield* failureOf(Attempt.json(nested, request, Schema.Unknown, { maxJsonDepth: 0 })))._tag)
        .toBe("InvalidJson")
      const empty = fakeClient(() => Effect.succeed(new Response(null, { status: 204 }))).client
      expect((yield* Attempt.send(empty, request, { maxBodyBytes: 0 })).body.byteLength).toBe(0)
      const slow = fakeClient(() => Effect.as(Effect.sleep("1 hour"), new Response("ok"))).client
      const fiber = yield* Effect.fork(
        Attempt.send(slow, request, {
          timeout: Number.POSITIVE_INFINITY,
          bodyTimeout: Duration.infinity,
          expectedContentTypes: []
        })
      )
      yield* TestClock.adjust("1 hour")
      expect((yield* Fiber.join(fiber)).text).toBe("ok")
    }))
})

describe("Attempt.decodeJson with plain schemas", () => {
  it.prop(
    "decodes every document as Schema.decodeUnknown does: the same value, keys in the same order, or the same issues",
    [schemaAndDocument],
    ([[schema, text]]) => {
      const expected = Schema.decodeUnknownEither(schema)(JSON.parse(text))
      const actual = Effect.runSync(Effect.either(Attempt.decodeJson(receivedOf(text), schema)))
      if (Either.isRight(expected)) {
        expect(Either.isRight(actual)).toBe(true)
        expect(ownStructure(Either.getOrThrow(actual))).toEqual(ownStructure(expected.right))
      } else {
        expect(Either.isLeft(actual)).toBe(true)
        const failure = Either.flip(actual).pipe(Either.getOrThrow)
        expect(failure._tag).toBe("SchemaMismatch")
        const all = Schema.decodeUnknownEither(schema, { errors: "all" })(JSON.parse(text))
        const issues = ParseResult.ArrayFormatter.formatErrorSync(Either.flip(all).pipe(Either.getOrThrow))
        expect(failure._tag === "SchemaMismatch" && failure.issues.length).toBe(issues.length)
      }
    },
    { fastCheck: { seed: 42, numRuns: 600 } }
  )

  it("takes the plain path for structs, arrays, tuples, primitives, literals and refinements", () => {
    const User = Schema.Struct({
      id: Schema.Int,
      name: Schema.NonEmptyString,
      role: Schema.Literal("admin", "user"),
      tags: Schema.Array(Schema.String),
      manager: Schema.NullOr(Schema.Struct({ id: Schema.Number })),
      nickname: Schema.optional(Schema.String),
      point: Schema.Tuple(Schema.Number, Schema.Number)
    })
    const decode = plainDecoder.compile(User.ast)
    expect(decode).toBeDefined()
    const document = {
      extra: true,
      point: [1, 2],
      manager: { id: 2, undeclared: true },
      tags: ["a"],
      role: "user",
      name: "Ada",
      id: 1
    }
    const decoded = decode!(document)
    expect(Object.keys(decoded as object)).toEqual(["id", "name", "role", "tags", "manager", "point"])
    expect(decoded).toStrictEqual(Either.getOrThrow(Schema.decodeUnknownEither(User)(document)))
    expect((decoded as { tags: unknown }).tags).not.toBe(document.tags)
    expect((decoded as { manager: unknown }).manager).toStrictEqual({ id: 2 })
    expect(decode!({ ...document, manager: null })).toStrictEqual({ ...decoded as object, manager: null })
    expect(decode!({ ...document, id: 1.5 })).toBe(plainDecoder.unsure)
    expect(decode!({ ...document, role: "root" })).toBe(plainDecoder.unsure)
  })

  it("leaves to the parser what transforms, suspends, declares or carries parse options", () => {
    interface Tree {
      readonly children: ReadonlyArray<Tree>
    }
    const Tree: Schema.Schema<Tree> = Schema.Struct({ children: Schema.Array(Schema.suspend(() => Tree)) })
    for (
      const schema of [
        Schema.Struct({ at: Schema.Date }),
        Schema.Struct({ n: Schema.NumberFromString }),
        Tree,
        Schema.Struct({ id: Schema.Number }).annotations({ parseOptions: { exact: true } }),
        Schema.Record({ key: Schema.String, value: Schema.Number }),
        Schema.Option(Schema.String),
        Schema.Union(Schema.Struct({ a: Schema.String }), Schema.Struct({ b: Schema.String })),
        Schema.Struct({ a: Schema.optionalWith(Schema.String, { default: () => "" }) })
      ] as ReadonlyArray<AnySchema>
    ) {
      expect(plainDecoder.compile(schema.ast)).toBeUndefined()
    }
  })
})
