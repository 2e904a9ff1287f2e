/**
 * The loopback harness of the retry ports (`test/peer-retry-ky-got.test.ts`, `test/peer-urllib3-retry.test.ts`,
 * `test/peer-undici-retry.test.ts`, `test/peer-axios-retry.test.ts`, `test/peer-polly-http.test.ts`,
 * `test/peer-go-retryablehttp.test.ts`, ...): a node:http (or, with `tls`, node:https) server on 127.0.0.1 whose handler sees every request, a `Policy` (breaker off, retry budget off unless given) and a
 * `SturdyClient` on `@sturdy/node`'s undici transport, and `run`, which runs a call on the TestClock, moving it exactly
 * to each retry's wait and each late server answer (no real sleep).
 */
import type { HttpClient } from "@effect/platform"
import { expect } from "@effect/vitest"
import { Policy, SturdyClient } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { Cause, Chunk, Clock, Duration, Effect, Exit, Fiber, Option, Random, type Scope, TestClock } from "effect"
import * as Http from "node:http"
import * as Https from "node:https"
import type * as Net from "node:net"
import { Agent, buildConnector } from "undici"

export interface Seen {
  readonly method: string
  readonly path: string
  readonly headers: Http.IncomingHttpHeaders
  readonly body: string
  /** the body as received, byte for byte (for binary bodies, which `body` decodes lossily) */
  readonly bytes: Buffer
  /** virtual time of arrival (ms since the epoch on the TestClock) */
  readonly at: number
}

export interface ServerTools {
  /** answers after `millis` of virtual time (the harness moves the TestClock to it when nothing else happens) */
  readonly later: (millis: number, answer: () => void) => void
}

export type Handler = (request: Seen, response: Http.ServerResponse, count: number, tools: ServerTools) => void

export const send = (
  response: Http.ServerResponse,
  status: number,
  headers: Http.OutgoingHttpHeaders = {},
  body = ""
) => {
  response.writeHead(status, headers)
  response.end(body)
}

export const fixture = "fixture"

export interface Harness {
  readonly url: string
  readonly seen: Array<Seen>
  readonly api: SturdyClient.SturdyClient
  readonly policy: Policy.Policy
  readonly client: SturdyClient.SturdyClient["client"]
  /** the platform client under `api` (undici) */
  readonly platform: HttpClient.HttpClient
  /** the requests (1-based, in arrival order) whose connection the client closed before the server answered */
  readonly aborted: Array<number>
  /** the retry decisions of every call, in order (ky's beforeRetry, got's calculateDelay) */
  readonly decisions: Array<Extract<Policy.Event, { readonly _tag: "RetryDecision" }>>
  /** runs `effect` on the TestClock, moving it exactly to each retry's wait and server answer */
  readonly run: <A, E>(effect: Effect.Effect<A, E, Policy.Policy>) => Effect.Effect<Exit.Exit<A, E>>
  /** starts the server listening on `url`'s port (with `listen: "later"`: until then, connections are refused) */
  readonly listen: Effect.Effect<void>
}

export interface HarnessOptions {
  /** move the TestClock to the next timer when nothing happens for a while (default `true`) */
  readonly advanceWhenIdle?: boolean | undefined
  /** serve HTTPS with this certificate (one the client does not trust unless told) */
  readonly tls?: { readonly cert: Buffer | string; readonly key: Buffer | string } | undefined
  /** the client's options besides `baseUrl` and `policy` (e.g. `transformClient: Redirect.follow()`) */
  readonly client?: Omit<SturdyClient.SturdyClient.Options, "baseUrl" | "policy"> | undefined
  /** `"later"`: the port is reserved but nothing listens until `listen` runs (a server that is not up yet) */
  readonly listen?: "now" | "later" | undefined
  /**
   * The first connections the client opens fail with these errors, in order, before anything is sent (build them
   * with `systemError`, shaped as Node reports them); the connections after them reach the server. For the failures a
   * loopback server cannot cause: a failed DNS lookup, a connect that times out, a missing socket path.
   */
  readonly connectFailures?: ReadonlyArray<Error> | undefined
  /**
   * The first connections (after any `connectFailures`) open, and fail with these errors, in order, as the client
   * writes its request: nothing arrives, but the client cannot know that, so the request may have reached the server.
   * For an unclassified error of a request that was sent, which a loopback server cannot cause.
   */
  readonly sendFailures?: ReadonlyArray<Error> | undefined
}

/** an error shaped as Node's system errors (`connect ETIMEDOUT 127.0.0.1:80`): `code`, `syscall`, and the message */
export const systemError = (
  code: string,
  syscall: string,
  detail = "127.0.0.1:80"
): Error & { readonly code: string } =>
  Object.assign(new Error(`${syscall} ${code} ${detail}`), { code, syscall, errno: -1 })

/** `count` copies of Node's system error `code` from `syscall`, for `connectFailures` */
export const connectErrors = (count: number, code: string, syscall = "connect"): ReadonlyArray<Error> =>
  Array.from({ length: count }, () => systemError(code, syscall))

/**
 * An undici `Agent` whose first connections fail with `connectFailures`, in order, and whose next ones fail with
 * `sendFailures` on their first write; later ones connect as usual.
 */
const failingConnects = (connectFailures: ReadonlyArray<Error>, sendFailures: ReadonlyArray<Error>) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const connect = buildConnector({})
      let nextConnect = 0
      let nextSend = 0
      return new Agent({
        connect: (options, callback) => {
          const failure = connectFailures[nextConnect++]
          if (failure !== undefined) return process.nextTick(() => callback(failure, null))
          const sendFailure = sendFailures[nextSend++]
          if (sendFailure === undefined) return connect(options, callback)
          connect(options, (error, socket) => {
            if (error !== null) return callback(error, null)
            // the request's bytes go nowhere: the socket fails with `sendFailure` once the client starts writing
            socket.write = () => {
              process.nextTick(() => socket.destroy(sendFailure))
              return true
            }
            callback(null, socket)
          })
        }
      })
    }),
    (agent) => Effect.promise(() => agent.destroy())
  )

/** a real 2 ms pause, for loopback I/O to arrive before the TestClock moves */
export const realPause = Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 2)))

/**
 * A call interrupted before it could run (a cancelled context, an aborted signal): interrupted at once, nothing sent
 * and no retry decided, however long the clock runs after it.
 */
export const expectInterruptedUnsent = (h: Harness): Effect.Effect<void> =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(Effect.provideService(h.api.get("/"), Policy.Policy, h.policy))
    const exit = yield* Fiber.interrupt(fiber)
    expect(Exit.isInterrupted(exit)).toBe(true)
    yield* TestClock.adjust("1 minute")
    expect(h.seen.length).toBe(0)
    expect(h.decisions.length).toBe(0)
  })

export const setup = (
  handler: Handler,
  options: Policy.Options = {},
  harnessOptions: HarnessOptions = {}
): Effect.Effect<Harness, Policy.InvalidPolicy, Scope.Scope> =>
  Effect.gen(function*() {
    // HTTP-dates are absolute: virtual time starts at the real time
    yield* TestClock.setTime(Date.now())
    const clock = yield* Effect.clockWith(Effect.succeed)
    const seen: Array<Seen> = []
    const aborted: Array<number> = []
    const timers: Array<{ at: number; answer: () => void }> = []
    const tools: ServerTools = {
      later: (millis, answer) => timers.push({ at: clock.unsafeCurrentTimeMillis() + millis, answer })
    }
    const onRequest = (request: Http.IncomingMessage, response: Http.ServerResponse) => {
      // no Date header on real time: the TestClock is the clock of these tests
      response.sendDate = false
      const chunks: Array<Buffer> = []
      request.on("data", (chunk: Buffer) => chunks.push(chunk))
      request.on("end", () => {
        const bytes = Buffer.concat(chunks)
        const received: Seen = {
          method: request.method ?? "",
          path: request.url ?? "",
          headers: request.headers,
          body: bytes.toString("utf8"),
          bytes,
          at: clock.unsafeCurrentTimeMillis()
        }
        seen.push(received)
        const count = seen.length
        response.on("close", () => {
          if (!response.writableFinished) aborted.push(count)
        })
        handler(received, response, count, tools)
      })
    }
    const tls = harnessOptions.tls
    const server: Http.Server = tls === undefined
      ? Http.createServer(onRequest)
      : Https.createServer({ cert: tls.cert, key: tls.key }, onRequest)
    const listenOn = (port: number) =>
      Effect.async<void>((resume) => {
        server.listen(port, "127.0.0.1", () => resume(Effect.void))
      })
    yield* Effect.addFinalizer(() =>
      server.listening
        ? Effect.async<void>((resume) => {
          server.closeAllConnections()
          server.close(() => resume(Effect.void))
        })
        : Effect.void
    )
    let port: number
    if (harnessOptions.listen === "later") {
      // a free port, released: connections to it are refused until `listen`
      yield* listenOn(0)
      port = (server.address() as Net.AddressInfo).port
      yield* Effect.async<void>((resume) => {
        server.close(() => resume(Effect.void))
      })
    } else {
      yield* listenOn(0)
      port = (server.address() as Net.AddressInfo).port
    }
    const listen = Effect.suspend(() => server.listening ? Effect.void : listenOn(port))
    const url = `${tls === undefined ? "http" : "https"}://127.0.0.1:${port}`
    const decisions: Harness["decisions"] = []
    const waits: Array<number> = []
    const policy = yield* Policy.make({
      circuitBreaker: false,
      ...options,
      retry: options.retry === false ? false : { budget: false, ...options.retry },
      onEvent: (event) =>
        Effect.zipRight(
          Effect.sync(() => {
            if (event._tag !== "RetryDecision") return
            decisions.push(event)
            const millis = Duration.toMillis(event.delay)
            if (event.retrying && millis > 0) waits.push(millis)
          }),
          // the caller's own policy-wide hook (breaker transitions reach only this one) sees every event too
          options.onEvent === undefined ? Effect.void : options.onEvent(event)
        )
    })
    const dispatcher = harnessOptions.connectFailures === undefined && harnessOptions.sendFailures === undefined
      ? yield* UndiciHttpClient.makeDispatcher()
      : yield* failingConnects(harnessOptions.connectFailures ?? [], harnessOptions.sendFailures ?? [])
    const platform = UndiciHttpClient.make(dispatcher)
    const api = SturdyClient.makeWith(platform, { ...harnessOptions.client, baseUrl: url, policy })
    const advanceWhenIdle = harnessOptions.advanceWhenIdle ?? true
    const run = <A, E>(effect: Effect.Effect<A, E, Policy.Policy>) =>
      Effect.gen(function*() {
        const fiber = yield* Effect.fork(
          Effect.withRandom(Effect.provideService(effect, Policy.Policy, policy), Random.make(7))
        )
        let idle = 0
        for (let round = 0; round < 5000; round++) {
          if (Option.isSome(yield* Fiber.poll(fiber))) break
          const now = yield* Clock.currentTimeMillis
          const due = timers.filter((timer) => timer.at <= now)
          if (due.length > 0) {
            for (const timer of due) timers.splice(timers.indexOf(timer), 1)
            for (const timer of due) timer.answer()
            idle = 0
            continue
          }
          const sleeps = yield* TestClock.sleeps()
          // a retry's wait, once its sleep is registered
          if (waits.length > 0 && Chunk.some(sleeps, (at) => at === now + waits[0]!)) {
            yield* TestClock.adjust(waits.shift()!)
            idle = 0
            continue
          }
          yield* realPause
          idle++
          // nothing moving for a while: the next event is a timer (a server answering late, an attempt timeout)
          if (advanceWhenIdle && idle >= 25) {
            const next = Math.min(...Chunk.toReadonlyArray(sleeps), ...timers.map((timer) => timer.at))
            if (Number.isFinite(next) && waits.length === 0) {
              yield* TestClock.adjust(Math.max(0, next - now))
              idle = 0
            }
          }
        }
        return yield* Fiber.await(fiber)
      })
    return { url, seen, aborted, api, policy, client: api.client, platform, decisions, run, listen }
  })

/**
 * Runs `call` under a caller's timeout of `millis` (an `AbortSignal.timeout`, say) without `run`'s clock moves: once the
 * retry stage has decided to wait, the TestClock moves by `millis` only, so the timeout, not the retry's wait, ends the
 * call; then past the retry's wait, so that a retry sent anyway would reach the server before this returns. The wait
 * it cut short stays in the harness's list of waits to move to: do not `run` another call on `h` afterwards.
 */
export const timeoutDuringRetryWait = <A, E>(h: Harness, call: Effect.Effect<A, E, Policy.Policy>, millis: number) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(Effect.provideService(Effect.timeout(call, millis), Policy.Policy, h.policy))
    for (let i = 0; i < 500 && h.decisions.length === 0; i++) yield* realPause
    const decided = [...h.decisions]
    yield* TestClock.adjust(millis)
    const exit = yield* Fiber.await(fiber)
    if (decided[0] !== undefined) yield* TestClock.adjust(Duration.sum(decided[0].delay, "1 second"))
    for (let i = 0; i < 10; i++) yield* realPause
    return { exit, decided }
  })

/** waits (real time, a few ms at a time) until the server has seen `count` requests aborted, and returns them */
export const abortedRequests = (h: Harness, count: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < 500 && h.aborted.length < count; i++) yield* realPause
    return [...h.aborted].sort((a, b) => a - b)
  })

/**
 * Starts `call` (a GET of `path` through the harness's policy), interrupts it once its first request has reached the
 * server, and checks that the call ends interrupted and that its request was aborted under the server.
 */
export const interruptInFlight = (h: Harness, path: string) =>
  Effect.gen(function*() {
    const call = yield* Effect.fork(Effect.provideService(h.api.get(path), Policy.Policy, h.policy))
    while (h.seen.length < 1) yield* realPause
    expect(Exit.isInterrupted(yield* Fiber.interrupt(call))).toBe(true)
    expect(yield* abortedRequests(h, 1)).toEqual([1])
  })

export const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure, got a success")
  const failure = Cause.failureOption(exit.cause)
  if (Option.isNone(failure)) throw new Error(`expected a typed failure, got ${Cause.pretty(exit.cause)}`)
  return failure.value
}

export const textOf = <E>(exit: Exit.Exit<{ readonly text: string }, E>): string => {
  if (Exit.isFailure(exit)) throw new Error(`expected a success, got ${Cause.pretty(exit.cause)}`)
  return exit.value.text
}

export const statusOf = (failure: unknown): number | undefined =>
  typeof failure === "object" && failure !== null && "status" in failure ? failure.status as number : undefined

export const delays = (h: Harness) => h.decisions.filter((d) => d.retrying).map((d) => Duration.toMillis(d.delay))
export const gaps = (h: Harness) => h.seen.slice(1).map((s, i) => s.at - h.seen[i]!.at)
