// Differential properties: `@sturdy/node`'s `UndiciHttpClient` against `@effect/platform-node`'s
// `NodeHttpClient.makeUndici` (`layerUndici`), the transport its module docs compare it with ("Errors have the same
// shape as `NodeHttpClient.layerUndici`"). Both send through an undici `Agent` of their own to the same loopback
// servers; each generated request goes through both, and what a user sees must be the same.
//
// Observed and compared:
// - responses (a `FaultServer` playing a generated `FaultScript` fault: statuses incl. 204/304/4xx/5xx, header fields,
//   Set-Cookie, empty/JSON/text/malformed/oversized bodies up to 200 kB, slow bodies, resets before headers and mid-body,
//   truncation, hangs): status, headers (as `Headers`: lower-case names, repeated fields joined with ", "), cookies,
//   the body read as text / json / arrayBuffer / stream / urlParamsBody / text then json (or not read, or cut after
//   the first chunk), or the `HttpClientError` (`_tag`, `reason`, the cause's `code`) and its stage (before headers /
//   reading the body);
// - the same request through `@sturdy/http`'s `Attempt.json` (Schema.Unknown) and `Attempt.send` (also with a
//   `maxBodyBytes` of 1000): the typed failure's tag and reason/phase/status, or the decoded value / text / length;
// - requests (GET/HEAD/POST/PUT/DELETE/PATCH/OPTIONS; no body, text, bytes up to 70 kB, JSON, urlencoded, a stream
//   with no, the right or a wrong `contentLength`; query params appended to URLs with or without a query; header
//   fields repeated in name and casing, and now and then one HTTP cannot carry) sent to an echo server
//   (`test/utils/loopbackServer.ts`) answering generated repeated header fields, several Set-Cookie fields, a 103 Early
//   Hints, chunked or sized bodies (a BOM, invalid UTF-8), a 204/304 with or without a `Content-Length`: method, path and query, headers received, body bytes and
//   framing (content-length vs chunked) as the server logs them, and the response and `Attempt`s as above;
// - leaks: after every run (hangs cut by a short timeout; requests interrupted before their headers; 10-second trickling
//   bodies whose reader is interrupted, whose stream is left after a chunk, or that `Attempt` cuts off as
//   `BodyTooLarge`; unread bodies) Sturdy's `Agent` has
//   nothing running, pending or queued, the server has no request open (a hang's shows `aborted`), and a following
//   plain request succeeds. Garbage is collected only in runs that left a response unread: the documented way its
//   request is released; every other request must be released at once.
//
// Hangs are predicted from the script (`Hang` faults) and only those get a real 100 ms timeout (an I/O guard, not a
// timing assertion); no other request has a timer.
//
// Deliberate differences, normalised here and only these (D1, D2, D5 from `UndiciHttpClient`'s module docs; D3 from the
// docs of `peer-undici-request.test.ts`; D4 from the implementation's comment on `queryOf`, the module docs are silent):
// - D1 a URL fragment (`setHash`) is not sent by Sturdy; `layerUndici` sends it in the request line. The logged path is
//   compared without its fragment, and Sturdy's must have none.
// - D2 no span per request under the native tracer: `layerUndici` (via `HttpClient.make`) sends `traceparent` and
//   `b3` from a span of its own; Sturdy sends them only inside a span. Dropped from the server's view of headers.
// - D3 a body read whole, then streamed: Sturdy keeps the body read whole and streams the same bytes again,
//   `layerUndici`'s streams nothing; each is asserted on its own side. (A second whole read gives Sturdy the same
//   bytes too; only text-then-json, which both serve, is compared.)
// - D5 a 204 or 304 that carries the `Content-Length` of its representation (RFC 9110 §8.6) ends with its headers on
//   Sturdy (module docs); `layerUndici` fails reading its body (undici's length mismatch). Status, headers and cookies
//   are compared; Sturdy's body read must succeed and no `Attempt` of it fail as `BodyTruncated`.
// - D4 an empty query (`/q/?`) is sent as written by Sturdy (RFC 3986 §6.2.3, as fetch, node:http and curl do);
//   `layerUndici` drops the "?". Compared without a trailing "?", and Sturdy's must keep it.
// Socket-only response fields (`date`, `keep-alive`, `connection`) are dropped: they are the server's, not the client's.
// A request whose headers never got a response (refused by undici, reset) is compared by its error only: what the
// server saw of it is a race.
//
// Mutants (each made in `packages/node/src/internal/undiciHttpClient.ts`, seen to fail a property below, restored):
// - M1 `parseHeaders` keeps the last of repeated fields (drops the others)      -> "requests and responses" fails
// - M2 `cookies` keeps only the first Set-Cookie                               -> "requests and responses" fails
// - M3 a failure before the headers is a `RequestError` reason `Encode`       -> both parity properties fail
// - M4 the whole-body read does not abort the request when interrupted        -> "leaves no request" fails
// - M5 the request path drops its query (`url.pathname` only)                  -> "requests and responses" fails
// - M6 a stream read left early does not abort the request                     -> "leaves no request" fails
// - M7 a 204/304 with a `Content-Length` is failed as undici reports it (D5 off) -> "requests and responses" fails
//
// Left out: HTTPS, redirects (`FaultScript` has none; neither transport follows them: a 3xx is a response like any
// other and is covered as a status), request bodies whose own stream fails (a documented difference, `Encode` vs
// `Transport`, with its own test in `UndiciHttpClient.test.ts`), URL credentials (documented, tested there too),
// FormData bodies, tracing, concurrency. (Reported here once and since fixed, with its test in
// `UndiciHttpClient.test.ts`: merely building `response.text`, not running it, marked the body read whole.)
//
// Found and fixed: a response with a short `Content-Length` whose body stalls, dropped unread, kept its request and
// socket forever (only bodies that can fill the 64 KiB buffer were registered for release on collection;
// `layerUndici` releases every one). With the fix reverted, "leaves no request" fails on a trickling 2000-byte body
// left unread.
import type { HttpClient } from "@effect/platform"
import { type HttpClientError, HttpClientRequest, type HttpClientResponse } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Attempt, type HttpFailure } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { FaultScript, FaultServer } from "@sturdy/testing"
import { Chunk, Effect, Either, Fiber, Schema, Stream } from "effect"
import * as fc from "effect/FastCheck"
import type * as Scope from "effect/Scope"
import type * as Http from "node:http"
import { Agent } from "undici"
import type * as Undici from "undici"
import { type LoopbackServer, type RecordedRequest, start } from "../../../test/utils/loopbackServer.js"

// -----------------------------------------------------------------------------
// the two transports
// -----------------------------------------------------------------------------

interface Transports {
  readonly sturdy: HttpClient.HttpClient
  readonly sturdyAgent: Undici.Dispatcher
  readonly platform: HttpClient.HttpClient
}

// Sturdy's clients, for the one difference (D3) each side is checked on by itself
const sturdyClients = new WeakSet<HttpClient.HttpClient>()

const transports: Effect.Effect<Transports, never, Scope.Scope> = Effect.gen(function*() {
  const sturdyAgent = yield* UndiciHttpClient.makeDispatcher()
  const platformAgent = yield* Effect.acquireRelease(
    Effect.sync(() => new Agent()),
    (agent) => Effect.promise(() => agent.destroy())
  )
  const sturdy = UndiciHttpClient.make(sturdyAgent)
  sturdyClients.add(sturdy)
  return { sturdy, sturdyAgent, platform: NodeHttpClient.makeUndici(platformAgent) }
})

// -----------------------------------------------------------------------------
// what a user sees
// -----------------------------------------------------------------------------

type ReadMode = "text" | "json" | "bytes" | "stream" | "none" | "cut" | "urlParams" | "textThenJson" | "textThenStream"

const socketOnly = new Set(["date", "keep-alive", "connection"])

const headersOf = (response: HttpClientResponse.HttpClientResponse): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(response.headers)) {
    if (!socketOnly.has(name)) out[name] = value
  }
  return out
}

const cookiesOf = (response: HttpClientResponse.HttpClientResponse) =>
  Object.values(response.cookies.cookies).map((cookie) => ({ name: cookie.name, value: cookie.value }))

const codeOf = (cause: unknown): unknown =>
  typeof cause === "object" && cause !== null && "code" in cause ? cause.code : undefined

const errorOf = (error: HttpClientError.HttpClientError) => ({
  tag: error._tag,
  reason: error.reason,
  code: codeOf(error.cause)
})

type Seen =
  | { readonly stage: "headers failed"; readonly error: ReturnType<typeof errorOf> }
  | {
    readonly stage: "response"
    readonly status: number
    readonly headers: Record<string, string>
    readonly cookies: ReadonlyArray<{ name: string; value: string }>
    readonly body: Either.Either<unknown, ReturnType<typeof errorOf>>
  }
  | { readonly stage: "timed out" }

const readBody = (response: HttpClientResponse.HttpClientResponse, mode: ReadMode, sturdy = true) => {
  switch (mode) {
    case "text":
      return response.text
    case "json":
      return response.json
    case "bytes":
      return Effect.map(response.arrayBuffer, (buffer) => Buffer.from(buffer).toString("base64"))
    case "stream":
      return Effect.map(
        Stream.runCollect(response.stream),
        (chunks) => Buffer.concat(Chunk.toArray(chunks)).toString("base64")
      )
    case "none":
      return Effect.succeed("unread")
    case "cut":
      // the first chunk (or the end), then the stream is left: the rest must not keep the connection
      return Effect.as(Stream.runDrain(Stream.take(response.stream, 1)), "cut")
    case "urlParams":
      return Effect.map(response.urlParamsBody, (params) => params.map(([key, value]) => [key, value]))
    case "textThenJson":
      // a body read whole is kept: read again, it is the same
      return Effect.zip(response.text, response.json)
    case "textThenStream":
      // D3: a body read whole, then streamed: Sturdy streams the bytes it kept, layerUndici streams nothing; each
      // is checked by itself, the bytes read first are compared
      return Effect.flatMap(
        response.arrayBuffer,
        (whole) =>
          Effect.map(Effect.either(Stream.runCollect(response.stream)), (second) => {
            if (sturdy) {
              expect(Either.isRight(second) && Buffer.concat(Chunk.toArray(second.right)).equals(Buffer.from(whole)))
                .toBe(true)
            } else {
              expect(Either.isRight(second) && Chunk.size(second.right)).toBe(0)
            }
            return [Buffer.from(whole).toString("base64"), "streamed again"]
          })
      )
  }
}

const observe = (
  client: HttpClient.HttpClient,
  request: HttpClientRequest.HttpClientRequest,
  mode: ReadMode,
  hangs: boolean
): Effect.Effect<Seen> => {
  const exchange = Effect.scoped(Effect.gen(function*() {
    const response = yield* Effect.mapError(client.execute(request), errorOf)
    const body = yield* Effect.either(Effect.mapError(readBody(response, mode, sturdyClients.has(client)), errorOf))
    return {
      stage: "response",
      status: response.status,
      headers: headersOf(response),
      cookies: cookiesOf(response),
      body
    } satisfies Seen as Seen
  })).pipe(Effect.catchAll((error) => Effect.succeed<Seen>({ stage: "headers failed", error })))
  return hangs
    ? exchange.pipe(
      Effect.timeoutTo({
        duration: "100 millis",
        onTimeout: (): Seen => ({ stage: "timed out" }),
        onSuccess: (seen) => seen
      })
    )
    : exchange
}

const failureOf = (failure: HttpFailure.HttpFailure) => ({
  tag: failure._tag,
  reason: "reason" in failure ? failure.reason : undefined,
  phase: "phase" in failure ? failure.phase : undefined,
  status: "status" in failure ? failure.status : undefined
})

// a hang is cut by the attempt's own timeout, once (both attempts would only wait twice as long)
const attempts = (client: HttpClient.HttpClient, request: HttpClientRequest.HttpClientRequest, hangs: boolean) =>
  Effect.all({
    json: Effect.either(
      Effect.mapError(Attempt.json(client, request, Schema.Unknown, hangs ? { timeout: "100 millis" } : {}), failureOf)
    ),
    send: hangs ? Effect.void : Effect.either(
      Effect.map(
        Effect.mapError(Attempt.send(client, request), failureOf),
        (received) => ({ status: received.status, text: received.text })
      )
    ),
    // a body over the limit is cut off, typed the same way
    bounded: hangs ? Effect.void : Effect.either(
      Effect.map(
        Effect.mapError(Attempt.send(client, request, { maxBodyBytes: 1000 }), failureOf),
        (received) => received.body.length
      )
    )
  })

// -----------------------------------------------------------------------------
// leaks
// -----------------------------------------------------------------------------

const tick = Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 5)))

/**
 * Sturdy's agent has nothing running, pending or queued for `origin` (I/O guard; undici counts a socket as `free`
 * only some time after its request ended, on both transports alike, so that count is not awaited). A
 * response dropped unread is released when it is collected (as the platform's are): garbage is collected meanwhile.
 */
const agentSettles = (
  agent: Undici.Dispatcher,
  origin: string,
  collect = true,
  server?: FaultScript.FaultLog.Service
) =>
  Effect.gen(function*() {
    let last: unknown
    for (let round = 0; round < 300; round++) {
      // undici's Agent can drop an origin's stats while one of its sockets still has a request (seen after another
      // socket of the origin was destroyed): the server's count of open requests is checked too
      const stats = (agent as Agent).stats[origin] as Undici.Pool["stats"] | undefined
      const open = server === undefined ? 0 : (yield* server.inFlight).current
      last = { agent: stats === undefined ? undefined : { ...stats }, serverOpen: open }
      if (open === 0 && (stats === undefined || stats.running === 0 && stats.pending === 0 && stats.queued === 0)) {
        return
      }
      if (collect && round % 10 === 9) (globalThis as { gc?: () => void }).gc?.()
      yield* tick
    }
    expect.fail(`not idle for ${origin}: ${JSON.stringify(last)}`)
  })

// -----------------------------------------------------------------------------
// generated faults (FaultScript's public constructors)
// -----------------------------------------------------------------------------

const statusArb = fc.constantFrom(200, 200, 201, 204, 304, 400, 404, 418, 429, 500, 503)

const faultHeadersArb = fc.dictionary(
  fc.constantFrom("x-trace", "X-Request-Id", "cache-control", "set-cookie", "retry-after", "content-type"),
  fc.constantFrom("a", "b=1; Path=/", "no-store", "1", "application/json", "text/plain; charset=utf-8", "x, y"),
  { maxKeys: 3 }
)

const bodyFaultArb: fc.Arbitrary<FaultScript.Respond> = fc.oneof(
  fc.tuple(statusArb, faultHeadersArb).map(([status, headers]) => FaultScript.status(status, { headers })),
  fc.tuple(statusArb, fc.jsonValue({ maxDepth: 2 }), faultHeadersArb).map(([status, value, headers]) =>
    FaultScript.json(value, { status, headers })
  ),
  fc.tuple(statusArb, fc.string({ maxLength: 40, unit: "grapheme" }), fc.constantFrom(undefined, "text/html"))
    .map(([status, text, contentType]) =>
      FaultScript.text(text, contentType === undefined ? { status } : { status, contentType })
    ),
  statusArb.map((status) => FaultScript.malformedJson({ status })),
  fc.tuple(statusArb, fc.constantFrom(1, 11, 100, 1000, 70_000, 200_000)).map(([status, bytes]) =>
    FaultScript.oversized(bytes, { status })
  )
)

const endingArb: fc.Arbitrary<FaultScript.Ending> = fc.oneof(
  { arbitrary: fc.constant({ _tag: "Complete" as const }), weight: 3 },
  { arbitrary: fc.nat({ max: 300 }).map((afterBytes) => ({ _tag: "ResetMidBody" as const, afterBytes })), weight: 1 },
  {
    arbitrary: fc.integer({ min: 1, max: 20 }).map((missingBytes) => ({ _tag: "Truncated" as const, missingBytes })),
    weight: 1
  }
)

const faultArb: fc.Arbitrary<FaultScript.Fault> = fc.oneof(
  {
    arbitrary: fc.tuple(bodyFaultArb, endingArb, fc.boolean(), fc.constantFrom(0, 1, 3)).map(
      ([respond, ending, slow, latency]) => {
        const ended = FaultScript.withLatency(FaultScript.withEnding(respond, ending), `${latency} millis`)
        // paced so that the slowest body (200 kB) still takes under 50 ms
        return slow ? FaultScript.withSlowBody(ended, 4_000_000) : ended
      }
    ),
    weight: 8
  },
  { arbitrary: fc.constantFrom(0, 2).map((ms) => FaultScript.reset("beforeHeaders", { latency: ms })), weight: 1 },
  { arbitrary: fc.constant(FaultScript.hang), weight: 1 }
)

const readModeArb = fc.oneof(
  { arbitrary: fc.constantFrom<ReadMode>("text", "json", "bytes", "stream", "none", "cut"), weight: 6 },
  { arbitrary: fc.constantFrom<ReadMode>("urlParams", "textThenJson", "textThenStream"), weight: 1 }
)

const methodArb = fc.constantFrom("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS") as fc.Arbitrary<
  HttpClientRequest.HttpClientRequest["method"]
>

// -----------------------------------------------------------------------------
// generated requests
// -----------------------------------------------------------------------------

interface RequestSpec {
  readonly method: HttpClientRequest.HttpClientRequest["method"]
  /** the URL after the origin, before the generated params */
  readonly target: string
  readonly segment: string
  readonly params: ReadonlyArray<readonly [string, string]>
  readonly headers: ReadonlyArray<readonly [string, string]>
  readonly body:
    | { readonly _tag: "none" }
    | { readonly _tag: "text"; readonly text: string }
    | { readonly _tag: "bytes"; readonly bytes: Uint8Array }
    | { readonly _tag: "json"; readonly value: unknown }
    | { readonly _tag: "urlencoded"; readonly params: ReadonlyArray<readonly [string, string]> }
    | {
      readonly _tag: "stream"
      readonly chunks: ReadonlyArray<Uint8Array>
      /** the `contentLength` given: none, the right one, or one byte more than the stream has */
      readonly sized: "no" | "exact" | "over"
    }
  readonly hash: string | undefined
}

const paramArb = fc.tuple(
  fc.constantFrom("a", "b", "q", "a b", "é", "x&y"),
  fc.oneof(fc.constantFrom("", "1", "two words", "a=b", "ü/?#", "+"), fc.string({ maxLength: 6 }))
)

// mostly fields HTTP carries; now and then a name or value it cannot (both must refuse it the same way)
const requestHeaderArb = fc.oneof(
  {
    arbitrary: fc.tuple(
      fc.constantFrom("X-Custom", "x-custom", "X-Other", "accept", "Accept-Language", "x-empty", "Content-Type"),
      fc.oneof(fc.stringMatching(/^[!-~]([ -~]{0,12}[!-~])?$/), fc.constantFrom("", "caf\u00e9"))
    ),
    weight: 12
  },
  {
    arbitrary: fc.constantFrom<readonly [string, string]>(
      ["bad name", "x"],
      ["x-bad", "a\r\nb"],
      ["x-nul", "a\u0000b"],
      ["x-euro", "\u20ac"]
    ),
    weight: 1
  }
)

const bytesArb = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.constantFrom(0, 1, 65_536, 70_001).map((n) => new Uint8Array(n).map((_, i) => (i * 31) & 0xff))
)

const requestBodyArb: fc.Arbitrary<RequestSpec["body"]> = fc.oneof(
  fc.constant({ _tag: "none" as const }),
  fc.string({ maxLength: 30, unit: "grapheme" }).map((text) => ({ _tag: "text" as const, text })),
  bytesArb.map((bytes) => ({ _tag: "bytes" as const, bytes })),
  fc.jsonValue({ maxDepth: 2 }).map((value) => ({ _tag: "json" as const, value })),
  fc.array(paramArb, { maxLength: 3 }).map((params) => ({ _tag: "urlencoded" as const, params })),
  fc.tuple(fc.array(bytesArb, { maxLength: 3 }), fc.constantFrom("no" as const, "exact" as const, "over" as const)).map(
    ([chunks, sized]) => ({
      _tag: "stream" as const,
      chunks,
      sized
    })
  )
)

const requestSpecArb: fc.Arbitrary<RequestSpec> = fc.record({
  method: methodArb,
  target: fc.oneof(
    { arbitrary: fc.constant("/e/"), weight: 6 },
    { arbitrary: fc.constantFrom("/q/?", "/q/?x=1", "/q/?x=%20&y", "/q/%7E%41"), weight: 1 }
  ),
  segment: fc.stringMatching(/^[a-z0-9._~-]{0,8}$/),
  params: fc.array(paramArb, { maxLength: 3 }),
  headers: fc.array(requestHeaderArb, { maxLength: 4 }),
  body: requestBodyArb,
  hash: fc.option(fc.constantFrom("frag", "a=b"), { nil: undefined })
})

const toRequest = (base: string, spec: RequestSpec): HttpClientRequest.HttpClientRequest => {
  let request = HttpClientRequest.make(spec.method)(
    `${base}${spec.target}${spec.target.endsWith("/") ? spec.segment : ""}`
  )
  for (const [key, value] of spec.params) request = HttpClientRequest.appendUrlParam(request, key, value)
  for (const [name, value] of spec.headers) request = HttpClientRequest.setHeader(request, name, value)
  if (spec.hash !== undefined) request = HttpClientRequest.setHash(request, spec.hash)
  const body = spec.body
  switch (body._tag) {
    case "none":
      return request
    case "text":
      return HttpClientRequest.bodyText(request, body.text)
    case "bytes":
      return HttpClientRequest.bodyUint8Array(request, body.bytes)
    case "json":
      return HttpClientRequest.bodyUnsafeJson(request, body.value)
    case "urlencoded":
      return HttpClientRequest.bodyUrlParams(request, body.params)
    case "stream":
      return HttpClientRequest.bodyStream(
        request,
        Stream.fromIterable(body.chunks),
        body.sized === "no"
          ? undefined
          : { contentLength: body.chunks.reduce((sum, chunk) => sum + chunk.length, body.sized === "over" ? 1 : 0) }
      )
  }
}

// what the echo server answers: repeated fields, several Set-Cookie, a sized or chunked body
interface Reply {
  readonly status: number
  readonly headers: ReadonlyArray<readonly [string, string]>
  readonly cookies: ReadonlyArray<string>
  readonly chunks: ReadonlyArray<string | Uint8Array>
  readonly chunked: boolean
  /** a 103 Early Hints before the final response */
  readonly earlyHints: boolean
  /** a 204 or 304 carries the `Content-Length` of the representation (RFC 9110 §8.6), and no body */
  readonly representationLength: boolean
}

const replyArb: fc.Arbitrary<Reply> = fc.record({
  status: fc.constantFrom(200, 201, 204, 304, 404, 500),
  headers: fc.array(
    fc.tuple(
      fc.constantFrom("X-Multi", "x-multi", "Vary", "Cache-Control", "X-Single", "Link"),
      fc.constantFrom("a", "b, c", "Accept", "no-cache", "<https://e.test/>; rel=next", "", "caf\u00e9")
    ),
    { maxLength: 5 }
  ),
  cookies: fc.array(
    fc.constantFrom("a=1", "b=2; Path=/", "c=3; Expires=Wed, 21 Oct 2037 07:28:00 GMT", "a=4; HttpOnly"),
    { maxLength: 3 }
  ),
  chunks: fc.array(
    fc.oneof(
      fc.string({ maxLength: 20, unit: "grapheme" }),
      fc.constantFrom<string | Uint8Array>("\ufeff{}", Uint8Array.of(0xff, 0xfe, 0x41), Uint8Array.of(0xe2, 0x82))
    ),
    { maxLength: 3 }
  ),
  chunked: fc.boolean(),
  earlyHints: fc.boolean(),
  representationLength: fc.boolean()
})

const replyWith = (reply: Reply) => (request: Http.IncomingMessage, response: Http.ServerResponse) => {
  const raw: Array<string> = []
  for (const [name, value] of reply.headers) raw.push(name, value)
  for (const cookie of reply.cookies) raw.push("Set-Cookie", cookie)
  const noContent = reply.status === 204 || reply.status === 304
  const body = Buffer.concat(reply.chunks.map((chunk) => typeof chunk === "string" ? Buffer.from(chunk) : chunk))
  if (!noContent && !reply.chunked) raw.push("Content-Length", String(body.length))
  if (noContent && reply.representationLength) raw.push("Content-Length", "42")
  if (reply.earlyHints) response.writeEarlyHints({ link: "</style.css>; rel=preload; as=style" })
  response.writeHead(reply.status, raw)
  if (noContent || request.method === "HEAD") return void response.end()
  for (const chunk of reply.chunks) if (chunk.length > 0) response.write(chunk)
  response.end()
}

/** The server's view of a request, minus D1 (fragment), D2 (trace headers) and D4 (an empty query's "?"). */
const loggedView = (logged: RecordedRequest) => {
  const headers: Record<string, unknown> = { ...logged.headers }
  delete headers["traceparent"]
  delete headers["b3"]
  delete headers["x-run"]
  return {
    method: logged.method,
    path: logged.url.split("#", 1)[0].replace(/\?$/, ""),
    headers,
    body: logged.bytes.toString("base64")
  }
}

// -----------------------------------------------------------------------------
// properties
// -----------------------------------------------------------------------------

describe("UndiciHttpClient and NodeHttpClient.layerUndici agree", () => {
  it.live("requests and responses: what the server receives and what the caller sees", () =>
    Effect.gen(function*() {
      let reply: Reply = {
        status: 200,
        headers: [],
        cookies: [],
        chunks: ["ok"],
        chunked: false,
        earlyHints: false,
        representationLength: false
      }
      let runs = 0
      const server: LoopbackServer = yield* start({ "*": (request, response) => replyWith(reply)(request, response) })
      const { platform, sturdy, sturdyAgent } = yield* transports
      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(requestSpecArb, replyArb, readModeArb, async (spec, generatedReply, mode) => {
            reply = generatedReply
            const request = toRequest(server.url, spec)
            // each exchange is told apart in the log by a field of its own (a request the client gave up on may be
            // logged later, or never)
            const run = ++runs
            const tagged = (who: string) => HttpClientRequest.setHeader(request, "x-run", `${run}-${who}`)
            const loggedFor = (who: string) =>
              server.requests.filter((logged) => logged.headers["x-run"] === `${run}-${who}`)
            const ours = await Effect.runPromise(observe(sturdy, tagged("sturdy"), mode, false))
            const theirs = await Effect.runPromise(observe(platform, tagged("platform"), mode, false))
            const oursTyped = await Effect.runPromise(attempts(sturdy, request, false))
            const theirsTyped = await Effect.runPromise(attempts(platform, request, false))
            if (
              (reply.status === 204 || reply.status === 304) && reply.representationLength &&
              ours.stage === "response" && theirs.stage === "response"
            ) {
              // D5: the same status and headers; Sturdy's answer ends with them, whatever is read of it
              const { body: oursBody, ...oursHead } = ours
              const { body: _theirsBody, ...theirsHead } = theirs
              expect(oursHead).toEqual(theirsHead)
              expect(Either.isRight(oursBody)).toBe(true)
              for (const typed of [oursTyped.json, oursTyped.send, oursTyped.bounded]) {
                if (typed !== undefined && Either.isLeft(typed)) expect(typed.left.tag).not.toBe("BodyTruncated")
              }
            } else {
              expect(ours).toEqual(theirs)
              expect(oursTyped).toEqual(theirsTyped)
            }
            const oursLogged = loggedFor("sturdy")
            // what the server received, where the request could be sent (else what it saw of it is a race)
            if (ours.stage === "response") {
              expect(oursLogged.map(loggedView)).toEqual(loggedFor("platform").map(loggedView))
            }
            // D1: the fragment stays with the client; D4: an empty query is sent as written
            for (const logged of oursLogged) {
              expect(logged.url).not.toContain("#")
              if (spec.target === "/q/?" && spec.params.length === 0) expect(logged.url).toMatch(/\?$/)
            }
            await Effect.runPromise(agentSettles(sturdyAgent, server.url))
          }),
          { seed: 20261206, numRuns: 80 }
        )
      )
    }).pipe(Effect.scoped), 40_000)

  it.live(
    "scripted faults: the same response or the same error at the same stage, and the same typed failure",
    () =>
      Effect.gen(function*() {
        const server = yield* FaultServer.make(FaultScript.routes({ "GET /plain": FaultScript.text("ok") }))
        const { platform, sturdy, sturdyAgent } = yield* transports
        yield* Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(faultArb, methodArb, readModeArb, async (fault, method, mode) => {
              const hangs = fault._tag === "Hang"
              const request = HttpClientRequest.make(method)(`${server.url}/f`)
              const play = (client: HttpClient.HttpClient) =>
                Effect.gen(function*() {
                  yield* server.setScript("* /f", fault)
                  const seen = yield* observe(client, request, mode, hangs)
                  const typed = yield* attempts(client, request, hangs)
                  return { seen, typed }
                })
              const ours = await Effect.runPromise(play(sturdy))
              const theirs = await Effect.runPromise(play(platform))
              expect(ours).toEqual(theirs)
              await Effect.runPromise(agentSettles(sturdyAgent, server.url))
            }),
            { seed: 1206, numRuns: 100 }
          )
        )
      }).pipe(Effect.scoped),
    40_000
  )
})

// a body that takes 10 s to arrive: only a request that is interrupted, cut or dropped may get one
const trickleArb = fc.constantFrom(2_000, 70_000).map((bytes) =>
  FaultScript.withSlowBody(FaultScript.oversized(bytes), bytes / 10)
)

interface LeakRun {
  readonly fault: FaultScript.Fault
  readonly how: "wait" | "interrupt" | "interruptBody" | "tooLarge"
  readonly mode: ReadMode
}

const leakRunArb: fc.Arbitrary<LeakRun> = fc.oneof(
  fc.record({ fault: faultArb, how: fc.constantFrom("wait" as const, "interrupt" as const), mode: readModeArb }),
  fc.record({
    fault: trickleArb,
    how: fc.constantFrom("interrupt" as const, "interruptBody" as const),
    mode: readModeArb.filter((mode) => mode !== "none")
  }),
  fc.record({ fault: trickleArb, how: fc.constant("wait" as const), mode: fc.constantFrom<ReadMode>("cut", "none") }),
  fc.record({ fault: trickleArb, how: fc.constant("tooLarge" as const), mode: fc.constant<ReadMode>("bytes") })
)

describe("UndiciHttpClient leaves no request, socket or fiber behind", () => {
  it.live(
    "after hangs cut by a timeout, bodies cut or left unread, the pool is idle and a plain request succeeds",
    () =>
      Effect.gen(function*() {
        const server = yield* FaultServer.make(FaultScript.routes({ "GET /plain": FaultScript.text("ok") }))
        yield* Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(
              fc.array(leakRunArb, { minLength: 1, maxLength: 4 }),
              async (runs) => {
                // a fresh agent per run, destroyed after it: a failed run leaves nothing to the next one
                await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
                  const { sturdy, sturdyAgent } = yield* transports
                  yield* server.reset
                  for (const { fault, how, mode } of runs) {
                    yield* server.setScript("GET /f", fault)
                    const request = HttpClientRequest.get(`${server.url}/f`)
                    switch (how) {
                      case "wait":
                        yield* observe(sturdy, request, mode, fault._tag === "Hang")
                        break
                      case "interrupt": {
                        // interrupted while the request is in flight (before or after its headers)
                        const fiber = yield* Effect.fork(observe(sturdy, request, mode, false))
                        yield* tick
                        yield* Fiber.interrupt(fiber)
                        break
                      }
                      case "tooLarge": {
                        // `Attempt` gives up on a body past its limit: the rest must not keep the connection
                        const failure = yield* Effect.flip(Attempt.send(sturdy, request, { maxBodyBytes: 1000 }))
                        expect(failure._tag).toBe("BodyTooLarge")
                        break
                      }
                      case "interruptBody":
                        // the headers are in; the body's reader is interrupted while the body trickles in
                        yield* Effect.scoped(Effect.gen(function*() {
                          const response = yield* Effect.orDie(sturdy.execute(request))
                          const reader = yield* Effect.fork(readBody(response, mode))
                          yield* tick
                          yield* Fiber.interrupt(reader)
                        }))
                        break
                    }
                  }
                  // nothing in flight on Sturdy's agent and nothing open on the server (every request answered,
                  // reset, or aborted by the client); garbage is collected only where a response was left unread:
                  // the documented way its request is released
                  yield* agentSettles(sturdyAgent, server.url, runs.some((run) => run.mode === "none"), server)
                  for (const logged of yield* server.requests) {
                    if (logged.fault._tag === "Hang") expect(logged.aborted).toBe(true)
                  }
                  const plain = yield* Effect.scoped(
                    Effect.flatMap(sturdy.get(`${server.url}/plain`), (response) => response.text)
                  )
                  expect(plain).toBe("ok")
                  yield* agentSettles(sturdyAgent, server.url)
                })))
              }
            ),
            { seed: 612, numRuns: 30 }
          )
        )
      }).pipe(Effect.scoped),
    40_000
  )
})
