import { HttpClient, HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Attempt, HttpFailure, SturdyClient } from "@sturdy/http"
import { Duration, Effect, Option, Schema } from "effect"
import * as Loopback from "./utils/loopbackServer.js"
import { transports } from "./utils/transports.js"
import { failureIn } from "./utils/undiciClient.js"

const User = Schema.Struct({ id: Schema.Number, name: Schema.String })
const ApiError = Schema.Struct({ error: Schema.String, code: Schema.String })

// an error page far larger than the error body Attempt reads (64 KiB)
const largeError = `upstream exploded\n${"at frame\n".repeat(30_000)}`

const routes: Record<string, Loopback.Handler> = {
  "/user": Loopback.json(200, { id: 1, name: "Ada" }),
  "/reset-before-headers": Loopback.resetBeforeHeaders,
  "/reset-mid-body": Loopback.resetMidBody(1000, 21),
  "/reset-mid-body-chunked": Loopback.resetMidBody(undefined, 21),
  "/slow-headers": Loopback.slowHeaders(2_000),
  "/slow-body": Loopback.slowBody(2_000),
  "/not-found": Loopback.json(404, { error: "no such user", code: "E_NOT_FOUND" }),
  "/rate-limited-seconds": Loopback.json(429, { error: "slow down", code: "E_RATE" }, { "retry-after": "7" }),
  "/rate-limited-date": (req, res, body) =>
    Loopback.json(429, { error: "slow down", code: "E_RATE" }, {
      "retry-after": new Date(Date.now() + 30_000).toUTCString()
    })(req, res, body),
  "/unavailable": Loopback.text(503, "text/plain", "maintenance", { "retry-after": "2" }),
  "/not-implemented": Loopback.text(501, "text/plain", "nope"),
  "/invalid-json": Loopback.text(200, "application/json", "{\"id\": 1, \"name\": "),
  "/mismatch": Loopback.json(200, { id: "one", name: "Ada" }),
  "/too-large": Loopback.largeBody(4_000, true),
  "/too-large-chunked": Loopback.largeBody(40_000, false),
  "/html": Loopback.text(200, "text/html; charset=utf-8", "<html>proxy error</html>"),
  "/large-error": (_, res) => {
    res.writeHead(500, { "content-type": "text/plain", "content-length": largeError.length })
    res.end(largeError)
  },
  "/large-error-chunked": (_, res) => {
    res.writeHead(502, { "content-type": "text/plain" })
    for (let i = 0; i < largeError.length; i += 16 * 1024) res.write(largeError.slice(i, i + 16 * 1024))
    res.end()
  },
  "/problem-json": Loopback.text(200, "application/problem+json", "{\"id\":2,\"name\":\"Grace\"}"),
  "/corrupt-gzip": Loopback.text(200, "application/json", "{\"id\": 1} is not gzip", { "content-encoding": "gzip" }),
  "/corrupt-br": Loopback.text(200, "application/json", "not brotli either", { "content-encoding": "br" })
}

const failureOf = failureIn

describe.each(transports)("HttpFailure over %s", (name, transport) => {
  const withServer = <A, E>(
    f: (server: Loopback.LoopbackServer, client: HttpClient.HttpClient) => Effect.Effect<A, E>
  ) =>
    Effect.scoped(
      Effect.gen(function*() {
        const server = yield* Loopback.start(routes)
        const client = yield* HttpClient.HttpClient
        return yield* f(server, client)
      })
    ).pipe(Effect.provide(transport))

  const get = (server: Loopback.LoopbackServer, path: string) => HttpClientRequest.get(`${server.url}${path}`)

  it.live("decodes a 200 JSON body", () =>
    withServer((server, client) =>
      Effect.gen(function*() {
        const user = yield* Attempt.json(client, get(server, "/user"), User)
        expect(user).toEqual({ id: 1, name: "Ada" })
        const problem = yield* Attempt.json(client, get(server, "/problem-json"), User)
        expect(problem.name).toBe("Grace")
      })
    ))

  it.live("a closed port is ConnectionError Refused, which never reached the server", () =>
    withServer((_, client) =>
      Effect.gen(function*() {
        const port = yield* Loopback.closedPort
        const failure = yield* failureOf(
          Attempt.json(client, HttpClientRequest.get(`http://127.0.0.1:${port}/x`), User)
        )
        expect(failure._tag).toBe("ConnectionError")
        expect(failure._tag === "ConnectionError" && failure.reason).toBe("Refused")
        expect(HttpFailure.mayHaveReachedServer(failure)).toBe(false)
        expect(HttpFailure.isTransient(failure)).toBe(true)
        expect(failure.message).toContain(`GET http://127.0.0.1:${port}/x`)
      })
    ))

  it.live("a reset before the headers is ConnectionError Reset, which may have reached the server", () =>
    withServer((server, client) =>
      Effect.gen(function*() {
        const failure = yield* failureOf(Attempt.json(client, get(server, "/reset-before-headers"), User))
        expect(failure._tag).toBe("ConnectionError")
        expect(failure._tag === "ConnectionError" && failure.reason).toBe("Reset")
        expect(HttpFailure.mayHaveReachedServer(failure)).toBe(true)
        expect(server.hits("/reset-before-headers")).toBe(1)
      })
    ))

  it.live("a reset mid-body is BodyTruncated, inside the attempt", () =>
    withServer((server, client) =>
      Effect.gen(function*() {
        const withLength = yield* failureOf(Attempt.json(client, get(server, "/reset-mid-body"), User))
        expect(withLength._tag).toBe("BodyTruncated")
        expect(withLength._tag === "BodyTruncated" && withLength.status).toBe(200)
        expect(HttpFailure.isTransient(withLength)).toBe(true)
        const chunked = yield* failureOf(Attempt.json(client, get(server, "/reset-mid-body-chunked"), User))
        expect(chunked._tag).toBe("BodyTruncated")
      })
    ))

  it.live("slow headers hit the attempt timeout", () =>
    withServer((server, client) =>
      Effect.gen(function*() {
        const started = Date.now()
        const failure = yield* failureOf(
          Attempt.json(client, get(server, "/slow-headers"), User, { timeout: "150 millis" })
        )
        expect(failure._tag).toBe("Timeout")
        expect(failure._tag === "Timeout" && failure.phase).toBe("Attempt")
        expect(failure._tag === "Timeout" && Duration.toMillis(failure.timeout)).toBe(150)
        expect(Date.now() - started).toBeLessThan(1_500)
      })
    ))

  it.live("a slow body hits the body-read timeout", () =>
    withServer((server, client) =>
      Effect.gen(function*() {
        const started = Date.now()
        const failure = yield* failureOf(
          Attempt.json(client, get(server, "/slow-body"), User, { bodyTimeout: "150 millis", timeout: "1 second" })
        )
        expect(failure._tag).toBe("Timeout")
        expect(failure._tag === "Timeout" && failure.phase).toBe("BodyRead")
        expect(Date.now() - started).toBeLessThan(1_000)
      })
    ))

  it.live("404 is ClientError with the decoded error payload and an excerpt", () =>
    withServer((server, client) =>
      Effect.gen(function*() {
        const failure = yield* failureOf(
          Attempt.json(client, get(server, "/not-found"), User, { errorSchema: ApiError })
        )
        if (failure._tag !== "ClientError") throw new Error(`unexpected ${failure._tag}`)
        expect(failure.status).toBe(404)
        expect(failure.payload).toEqual(Option.some({ error: "no such user", code: "E_NOT_FOUND" }))
        expect(failure.bodyExcerpt).toContain("no such user")
        expect(failure.headers["content-type"]).toBe("application/json")
        expect(HttpFailure.isTransient(failure)).toBe(false)
        expect(failure.message).toContain("404")
        expect(failure.message).toContain(`GET ${server.url}/not-found`)
      })
    ))

  it.live("429 with Retry-After in seconds is RateLimited with retryAfter", () =>
    withServer((server, client) =>
      Effect.gen(function*() {
        const failure = yield* failureOf(Attempt.json(client, get(server, "/rate-limited-seconds"), User))
        if (failure._tag !== "RateLimited") throw new Error(`unexpected ${failure._tag}`)
        expect(failure.status).toBe(429)
        expect(Option.map(failure.retryAfter, Duration.toSeconds)).toEqual(Option.some(7))
        expect(Option.map(HttpFailure.retryAfter(failure), Duration.toSeconds)).toEqual(Option.some(7))
        expect(HttpFailure.isTransient(failure)).toBe(true)
      })
    ))

  it.live("429 with Retry-After as an HTTP date is RateLimited with the remaining wait", () =>
    withServer((server, client) =>
      Effect.gen(function*() {
        const failure = yield* failureOf(Attempt.json(client, get(server, "/rate-limited-date"), User))
        if (failure._tag !== "RateLimited") throw new Error(`unexpected ${failure._tag}`)
        const seconds = Option.getOrThrow(Option.map(failure.retryAfter, Duration.toSeconds))
        expect(seconds).toBeGreaterThan(27)
        expect(seconds).toBeLessThanOrEqual(30)
      })
    ))

  it.live("503 is ServerError with retryAfter; 501 is a ServerError that is not transient", () =>
    withServer((server, client) =>
      Effect.gen(function*() {
        const unavailable = yield* failureOf(Attempt.json(client, get(server, "/unavailable"), User))
        if (unavailable._tag !== "ServerError") throw new Error(`unexpected ${unavailable._tag}`)
        expect(unavailable.status).toBe(503)
        expect(unavailable.bodyExcerpt).toBe("maintenance")
        expect(Option.map(unavailable.retryAfter, Duration.toSeconds)).toEqual(Option.some(2))
        expect(HttpFailure.isTransient(unavailable)).toBe(true)
        const notImplemented = yield* failureOf(Attempt.json(client, get(server, "/not-implemented"), User))
        expect(notImplemented._tag).toBe("ServerError")
        expect(HttpFailure.isTransient(notImplemented)).toBe(false)
      })
    ))

  it.live("invalid JSON is InvalidJson", () =>
    withServer((server, client) =>
      Effect.gen(function*() {
        const failure = yield* failureOf(Attempt.json(client, get(server, "/invalid-json"), User))
        if (failure._tag !== "InvalidJson") throw new Error(`unexpected ${failure._tag}`)
        expect(failure.bodyExcerpt).toContain("\"name\"")
        expect(HttpFailure.isTransient(failure)).toBe(false)
      })
    ))

  it.live("a schema mismatch is SchemaMismatch with the issue's path", () =>
    withServer((server, client) =>
      Effect.gen(function*() {
        const failure = yield* failureOf(Attempt.json(client, get(server, "/mismatch"), User))
        if (failure._tag !== "SchemaMismatch") throw new Error(`unexpected ${failure._tag}`)
        expect(failure.path).toBe("$.id")
        expect(failure.issue).toContain("Expected number")
        expect(HttpFailure.isTransient(failure)).toBe(false)
      })
    ))

  it.live("a body over the limit is BodyTooLarge, with and without Content-Length", () =>
    withServer((server, client) =>
      Effect.gen(function*() {
        const declared = yield* failureOf(
          Attempt.json(client, get(server, "/too-large"), Schema.String, { maxBodyBytes: 1_000 })
        )
        if (declared._tag !== "BodyTooLarge") throw new Error(`unexpected ${declared._tag}`)
        expect(declared.limitBytes).toBe(1_000)
        expect(declared.declaredBytes).toBe(4_000)
        const chunked = yield* failureOf(
          Attempt.json(client, get(server, "/too-large-chunked"), Schema.String, { maxBodyBytes: 20_000 })
        )
        expect(chunked._tag).toBe("BodyTooLarge")
        const fits = yield* Attempt.json(client, get(server, "/too-large-chunked"), Schema.String)
        expect(fits.length).toBe(40_000 - 2)
      })
    ))

  it.live("an error body larger than what is read still shows how it starts, with and without Content-Length", () =>
    withServer((server, client) =>
      Effect.gen(function*() {
        for (const [path, status] of [["/large-error", 500], ["/large-error-chunked", 502]] as const) {
          const failure = yield* failureOf(Attempt.json(client, get(server, path), User))
          expect(failure).toMatchObject({ _tag: "ServerError", status })
          if (failure._tag !== "ServerError") return
          expect(failure.bodyExcerpt.startsWith("upstream exploded\nat frame\n")).toBe(true)
          expect(failure.bodyExcerpt.length).toBe(1024)
        }
      })
    ))

  it.live("a wrong content type is UnexpectedContentType", () =>
    withServer((server, client) =>
      Effect.gen(function*() {
        const failure = yield* failureOf(Attempt.json(client, get(server, "/html"), User))
        if (failure._tag !== "UnexpectedContentType") throw new Error(`unexpected ${failure._tag}`)
        expect(failure.contentType).toBe("text/html; charset=utf-8")
        expect(failure.expected).toEqual(["application/json", "+json"])
      })
    ))

  it.live("CR/LF in a header value is InvalidRequest and is never sent", () =>
    withServer((server, client) =>
      Effect.gen(function*() {
        const request = get(server, "/user").pipe(HttpClientRequest.setHeader("x-note", "a\r\nx-injected: 1"))
        const failure = yield* failureOf(Attempt.json(client, request, User))
        if (failure._tag !== "InvalidRequest") throw new Error(`unexpected ${failure._tag}`)
        expect(failure.reason).toBe("InvalidHeader")
        expect(HttpFailure.mayHaveReachedServer(failure)).toBe(false)
        expect(server.hits("/user")).toBe(0)
      })
    ))

  it.live("a malformed URL is InvalidRequest MalformedUrl", () =>
    withServer((_, client) =>
      Effect.gen(function*() {
        const failure = yield* failureOf(
          Attempt.json(client, HttpClientRequest.get("http://exa mple.invalid:99999/?token=hunter2"), User)
        )
        if (failure._tag !== "InvalidRequest") throw new Error(`unexpected ${failure._tag}`)
        expect(failure.reason).toBe("MalformedUrl")
        expect(failure.message).not.toContain("hunter2")
      })
    ))

  it.live("a scheme other than http(s) is InvalidRequest MalformedUrl on every transport, never a defect or a retry", () =>
    withServer((server, client) =>
      Effect.gen(function*() {
        for (const url of [`ftp://127.0.0.1:${server.port}/x`, "file:///etc/hosts", `ws://127.0.0.1:${server.port}/`]) {
          const failure = yield* failureOf(Attempt.send(client, HttpClientRequest.get(url)))
          expect(failure).toMatchObject({ _tag: "InvalidRequest", reason: "MalformedUrl" })
          expect(HttpFailure.isTransient(failure)).toBe(false)
          expect(HttpFailure.mayHaveReachedServer(failure)).toBe(false)
        }
        // the scheme is read case-insensitively, as URLs read it
        const upper = yield* Attempt.json(client, HttpClientRequest.get(`HTTP://127.0.0.1:${server.port}/user`), User)
        expect(upper).toEqual({ id: 1, name: "Ada" })
        expect(server.requests.map((request) => request.url)).toEqual(["/user"])
      })
    ))

  it.live("a body whose compressed data is corrupt is BodyUndecodable on fetch (which decompresses), not transient", () =>
    withServer((server, client) =>
      Effect.gen(function*() {
        for (const [path, encoding] of [["/corrupt-gzip", "gzip"], ["/corrupt-br", "br"]] as const) {
          const failure = yield* failureOf(Attempt.json(client, get(server, path), User))
          if (name.startsWith("FetchHttpClient")) {
            expect(failure._tag).toBe("BodyUndecodable")
            if (failure._tag !== "BodyUndecodable") return
            expect(failure.contentEncoding).toBe(encoding)
            expect(failure.status).toBe(200)
            expect(HttpFailure.isTransient(failure)).toBe(false)
            expect(HttpFailure.isRetryableByDefault(failure)).toBe(false)
            expect(failure.message).toContain(`does not decode as Content-Encoding ${encoding}`)
          } else {
            // a transport that does not decompress hands the bytes over as sent: as JSON they are no JSON
            expect(failure._tag).toBe("InvalidJson")
          }
        }
      })
    ))

  it.live("SturdyClient: base URL, typed body encode failure, decoded responses, classified middleware", () =>
    withServer((server, client) =>
      Effect.gen(function*() {
        const api = SturdyClient.makeWith(client, { baseUrl: server.url, headers: { "x-client": "sturdy" } })
        expect(yield* api.get("/user", { schema: User })).toEqual({ id: 1, name: "Ada" })
        expect(server.requests.at(-1)?.headers["x-client"]).toBe("sturdy")

        const received = yield* api.post("/user", { body: { id: 2, name: "Lin" }, bodySchema: User })
        expect(received.status).toBe(200)
        expect(JSON.parse(server.requests.at(-1)?.body ?? "")).toEqual({ id: 2, name: "Lin" })

        const encode = yield* failureOf(
          api.post("/user", { body: { name: "" }, bodySchema: Schema.Struct({ name: Schema.NonEmptyString }) })
        )
        expect(encode._tag === "InvalidRequest" && encode.reason).toBe("BodyEncode")

        const viaMiddleware = yield* failureOf(api.client.get("/rate-limited-seconds"))
        expect(viaMiddleware._tag).toBe("RateLimited")

        const classified = Attempt.classify(client)
        const notFound = yield* failureOf(classified.get(`${server.url}/not-found`))
        expect(notFound._tag).toBe("ClientError")
      })
    ))
})
