import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Attempt from "@sturdy/http/Attempt"
import * as ClientResponse from "@sturdy/http/ClientResponse"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import * as Take from "effect/Take"
import * as OS from "node:os"
import * as FaultScript from "../FaultScript.js"
import type * as ScriptedClient from "../ScriptedClient.js"
import * as engine from "./faultScript.js"

/** @internal */
export const connectionReset = (): Error & { readonly code: "ECONNRESET" } =>
  Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" as const, errno: -104, syscall: "read" })

class SocketError extends Error {
  readonly code = "UND_ERR_SOCKET" as const
  constructor() {
    super("other side closed")
    this.name = "SocketError"
  }
}

/** @internal */
export const socketClosed = (): Error & { readonly code: "UND_ERR_SOCKET" } => new SocketError()

// undici's own class (lib/core/errors.js): its name, code and message are what a caller sees
class ConnectTimeoutError extends Error {
  readonly code = "UND_ERR_CONNECT_TIMEOUT" as const
  constructor(message: string) {
    super(message)
    this.name = "ConnectTimeoutError"
  }
}

// Node's system error numbers: the platform's for ECONNREFUSED (Linux -111, macOS -61), libuv's own for the
// resolver's (UV_EAI_NONAME -3008, reported as ENOTFOUND, and UV_EAI_AGAIN -3001, the same everywhere)
const econnrefused = -OS.constants.errno.ECONNREFUSED

/**
 * The error a transport reports when a connection to `url` could not be opened, built as Node 20 and undici build it
 * for a host with one address (a connect to an IP address, or a name that resolves to one).
 * @internal
 */
export const connectFailed = (
  fault: FaultScript.ConnectFailure,
  url: string | URL
): Error & { readonly code: string } => {
  const target = typeof url === "string" ? new URL(url) : url
  // Node reports an IPv6 address without its URL brackets
  const hostname = target.hostname.replace(/^\[(.*)\]$/, "$1")
  const port = target.port === "" ? (target.protocol === "https:" ? 443 : 80) : Number(target.port)
  switch (fault.reason) {
    case "Refused":
      return Object.assign(new Error(`connect ECONNREFUSED ${hostname}:${port}`), {
        errno: econnrefused,
        code: "ECONNREFUSED",
        syscall: "connect",
        address: hostname,
        port
      })
    case "DnsNotFound":
      return Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
        errno: -3008,
        code: "ENOTFOUND",
        syscall: "getaddrinfo",
        hostname
      })
    case "DnsTemporary":
      return Object.assign(new Error(`getaddrinfo EAI_AGAIN ${hostname}`), {
        errno: -3001,
        code: "EAI_AGAIN",
        syscall: "getaddrinfo",
        hostname
      })
    case "ConnectTimeout":
      return new ConnectTimeoutError(
        `Connect Timeout Error (attempted address: ${hostname}:${port}, timeout: ${fault.latencyMillis}ms)`
      )
    case "Tls":
      return Object.assign(new Error("self-signed certificate"), { code: "DEPTH_ZERO_SELF_SIGNED_CERT" })
  }
}

// Node's error for a stream the peer reset (`ERR_HTTP2_STREAM_ERROR`), which undici hands on
const nodeStreamError = (code: string): Error & { readonly code: "ERR_HTTP2_STREAM_ERROR" } =>
  Object.assign(new Error(`Stream closed with error code ${code}`), { code: "ERR_HTTP2_STREAM_ERROR" as const })

// undici's own class (lib/core/errors.js), for a stream that ended or closed before its response
class InformationalError extends Error {
  readonly code = "UND_ERR_INFO" as const
  constructor(message: string) {
    super(message)
    this.name = "InformationalError"
  }
}

// `@sturdy/node`'s error (internal/undiciHttpClient.ts) for a reset it reads the code of, Node's error its cause
class Http2StreamReset extends Error {
  constructor(readonly code: string, cause: Error) {
    super(
      code === "NGHTTP2_REFUSED_STREAM"
        ? `HTTP/2 stream refused by the server (RST_STREAM ${code}): the request was not processed`
        : `HTTP/2 stream reset by the server (RST_STREAM ${code})`,
      { cause }
    )
    this.name = "Http2StreamReset"
  }
}

/**
 * The cause `@sturdy/node`'s `UndiciHttpClient` (with `http2`, on undici 7) reports for a stream the server resets
 * with `fault.code` before the response: undici reports `NO_ERROR` as the stream's end and `CANCEL` as its close,
 * without the code; `@sturdy/node` names every other code it reads in Node's message.
 * @internal
 */
export const streamResetCause = (fault: FaultScript.StreamReset): Error & { readonly code: string } => {
  switch (fault.code) {
    case "NO_ERROR":
      return new InformationalError("HTTP/2: stream half-closed (remote)")
    case "CANCEL":
      return new InformationalError("HTTP/2: stream closed before the response was complete")
    default:
      return new Http2StreamReset(`NGHTTP2_${fault.code}`, nodeStreamError(`NGHTTP2_${fault.code}`))
  }
}

/**
 * The `RequestError` a transport fails with: for a refused stream, marked never processed (`requestSent: false`,
 * not enumerable) as `@sturdy/node` marks it; any other as it is.
 */
const requestError = (
  request: HttpClientRequest.HttpClientRequest,
  fault: FaultScript.Fault,
  cause: Error
): HttpClientError.RequestError => {
  const error = new HttpClientError.RequestError({ request, reason: "Transport", cause })
  return fault._tag === "StreamReset" && fault.code === "REFUSED_STREAM"
    ? Object.defineProperty(error, "requestSent", { value: false })
    : error
}

interface Head {
  readonly status: number
  readonly headers: Headers.Headers
}

type BodyQueue = Queue.Queue<Take.Take<Uint8Array, Error>>

/** Whether the plan sends every byte its `Content-Length` promises. */
const sentAll = (plan: engine.Plan): boolean =>
  plan.chunks.reduce((total, chunk) => total + chunk.bytes.length, 0) === Number(plan.headers["content-length"])

const sleepMillis = (millis: number) => millis > 0 ? Effect.sleep(millis) : Effect.void

/** Plays the server's side of one exchange: it runs on its own, whether or not the client reads the body. */
const respond = (
  method: string,
  requestHeaders: Readonly<Record<string, string>>,
  url: URL,
  fault: FaultScript.Fault,
  exchange: Exchange,
  head: Deferred.Deferred<Head, Error>,
  body: BodyQueue
): Effect.Effect<void> => {
  switch (fault._tag) {
    case "Hang":
      return Effect.never
    case "Reset":
      return Effect.zipRight(
        sleepMillis(fault.latencyMillis),
        Effect.suspend(() => {
          exchange.finish()
          return Deferred.fail(head, connectionReset())
        })
      )
    case "ConnectFailure":
      return Effect.zipRight(
        sleepMillis(fault.latencyMillis),
        Effect.suspend(() => {
          exchange.finish()
          return Deferred.fail(head, connectFailed(fault, url))
        })
      )
    case "StreamReset":
      return Effect.zipRight(
        sleepMillis(fault.latencyMillis),
        Effect.suspend(() => {
          exchange.finish()
          return Deferred.fail(head, streamResetCause(fault))
        })
      )
    case "Respond":
    case "EventStream":
    case "Resource":
      return Effect.gen(function*() {
        yield* sleepMillis(fault.latencyMillis)
        const plan = engine.planAnswer(fault, yield* Clock.currentTimeMillis, method, requestHeaders)
        yield* Deferred.succeed(head, { status: plan.status, headers: Headers.fromInput(plan.headers) })
        for (const chunk of plan.chunks) {
          yield* sleepMillis(chunk.delayMillis)
          yield* Queue.offer(body, Take.chunk(Chunk.of(chunk.bytes)))
        }
        if (plan.ending === "hang") {
          // open until the client goes away (which interrupts this fiber), beating when asked to
          const heartbeat = plan.heartbeat
          if (heartbeat === undefined) return yield* Effect.never
          return yield* Effect.forever(
            Effect.zipRight(
              sleepMillis(heartbeat.everyMillis),
              Queue.offer(body, Take.chunk(Chunk.of(heartbeat.bytes)))
            )
          )
        }
        exchange.finish()
        switch (plan.ending) {
          case "complete":
            return yield* Queue.offer(body, Take.end)
          // undici reports a reset that follows part of a body as "other side closed", the same as an early close;
          // a reset once all of `Content-Length` is sent comes after a complete response, which the client has read
          case "reset":
            return yield* Queue.offer(body, sentAll(plan) ? Take.end : Take.fail(socketClosed()))
          case "truncated":
            return yield* Queue.offer(body, Take.fail(socketClosed()))
        }
      })
  }
}

const concat = (chunks: Chunk.Chunk<Uint8Array>): Uint8Array => {
  let length = 0
  for (const chunk of chunks) length += chunk.length
  const out = new Uint8Array(length)
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.length
  }
  return out
}

class ScriptedResponse extends ClientResponse.Class {
  constructor(
    readonly request: HttpClientRequest.HttpClientRequest,
    private readonly head: Head,
    private readonly body: BodyQueue
  ) {
    super()
  }

  get status() {
    return this.head.status
  }

  get headers() {
    return this.head.headers
  }

  // The body queue can be drained once: a second reader of it would wait for ever. So the first reader that runs
  // takes it, a body read whole is kept for every later reader (a stream too), and a body being streamed fails any
  // other reader, as Sturdy's undici transport does.
  private taken: "stream" | "whole" | undefined = undefined
  private wholeBody?: Effect.Effect<Uint8Array, HttpClientError.ResponseError>

  private consumed(): HttpClientError.ResponseError {
    return this.decodeError(new Error("Body has already been consumed"))
  }

  private drain(): Stream.Stream<Uint8Array, HttpClientError.ResponseError> {
    return Stream.fromQueue(this.body).pipe(Stream.flattenTake, Stream.mapError((cause) => this.decodeError(cause)))
  }

  get stream(): Stream.Stream<Uint8Array, HttpClientError.ResponseError> {
    return Stream.suspend(() => {
      if (this.taken === "whole") return Stream.fromEffect(this.bytes)
      if (this.taken === "stream") return Stream.fail(this.consumed())
      this.taken = "stream"
      return this.drain()
    })
  }

  get bytes(): Effect.Effect<Uint8Array, HttpClientError.ResponseError> {
    return this.wholeBody ??= Effect.runSync(Effect.cached(Effect.suspend(() => {
      if (this.taken === "stream") return Effect.fail(this.consumed())
      this.taken = "whole"
      return Effect.map(Stream.runCollect(this.drain()), concat)
    })))
  }
}

/**
 * What the caller of {@link play} learns of the exchange: `finish` once the fault is played through (the whole body
 * sent, the reset or the connect failure delivered), `close` when the responder stops, played through or interrupted.
 * @internal
 */
export interface Exchange {
  readonly finish: () => void
  readonly close: () => void
}

const unobserved: Exchange = { finish: () => {}, close: () => {} }

/**
 * Plays `fault` for one request as a transport would (the right platform error and cause, the `requestSent` mark,
 * latencies as `Effect.sleep`s), for an `HttpClient.make` body: `ScriptedClient` and `Chaos` both answer with it.
 * `fork` runs the server's side, which outlives this effect while the client reads the body.
 * @internal
 */
export const play = (
  request: HttpClientRequest.HttpClientRequest,
  url: URL,
  signal: AbortSignal,
  fault: FaultScript.Fault,
  fork: (responder: Effect.Effect<void>) => Effect.Effect<Fiber.RuntimeFiber<void>>,
  exchange: Exchange = unobserved
): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.RequestError> =>
  Effect.gen(function*() {
    // a timer raced around this client (an attempt timeout) reads whether the request was written: never, for a
    // connection that fails to open; at once, for every fault played on an open connection. Once one request of
    // the attempt was written (a redirect's first hop), a later one does not make it unsent
    const progress = yield* FiberRef.get(Attempt.currentSendProgress)
    if (progress !== undefined) {
      if (fault._tag !== "ConnectFailure") progress.requestSent = true
      else if (progress.requestSent === undefined) progress.requestSent = false
    }
    const head = yield* Deferred.make<Head, Error>()
    const body: BodyQueue = yield* Queue.unbounded<Take.Take<Uint8Array, Error>>()
    // interruptible whatever the caller's mask (a fiber inherits it): the server's side must stop when the client
    // goes away, or a body left open would be played for ever
    const responder = yield* fork(
      respond(request.method, request.headers, url, fault, exchange, head, body).pipe(
        Effect.ensuring(Effect.sync(exchange.close)),
        Effect.interruptible
      )
    )
    // the platform aborts the signal when the request or a body read is interrupted: the server sees the client go
    signal.addEventListener("abort", () => responder.unsafeInterruptAsFork(FiberId.none), { once: true })
    const received = yield* Deferred.await(head).pipe(
      Effect.onInterrupt(() => Fiber.interrupt(responder)),
      Effect.mapError((cause) => requestError(request, fault, cause))
    )
    return new ScriptedResponse(request, received, body)
  })

/** @internal */
export const make = (routes: FaultScript.Routes) =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const state = new engine.Engine(routes, yield* Clock.currentTimeMillis)
    const client = HttpClient.make((request, url, signal) =>
      Effect.flatMap(Clock.currentTimeMillis, (nowMillis) => {
        const entry = state.arrive({
          method: request.method,
          path: url.pathname + url.search,
          headers: request.headers,
          nowMillis
        })
        return play(request, url, signal, entry.decision.fault, Effect.forkIn(scope), entry)
      })
    )
    const service: ScriptedClient.ScriptedClient = { ...state.service(), client }
    return service
  })

/** @internal */
export const layer = (routes: FaultScript.Routes): Layer.Layer<HttpClient.HttpClient | FaultScript.FaultLog> =>
  Layer.scopedContext(
    Effect.map(
      make(routes),
      (scripted) =>
        Context.make(HttpClient.HttpClient, scripted.client).pipe(Context.add(FaultScript.FaultLog, scripted))
    )
  )
