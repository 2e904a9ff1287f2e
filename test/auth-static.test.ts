import * as HttpClient from "@effect/platform/HttpClient"
import { describe, expect, it } from "@effect/vitest"
import { Auth } from "@sturdy/http"
import * as Cause from "effect/Cause"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { clientLayer, listen, recordingLogger, recordingTracer, sendJson } from "./auth-loopback.js"

const BEARER = "b34rer-s3cret"
const HEADER_KEY = "h34der-s3cret"
const QUERY_KEY = "qu3ry-s3cret"

const allCredentials = <E, R>(client: HttpClient.HttpClient.With<E, R>) =>
  client.pipe(
    Auth.bearer(Redacted.make(BEARER)),
    Auth.apiKeyHeader("X-Service-Key", Redacted.make(HEADER_KEY)),
    Auth.apiKeyQuery("api_key", Redacted.make(QUERY_KEY))
  )

describe("auth: static credentials against a loopback server", () => {
  it.scoped("a cross-origin redirect arrives without the bearer token, the header key or the query key", () =>
    Effect.gen(function*() {
      const elsewhere = yield* listen((_, response) => sendJson(response, 200, { landed: true }))
      const origin = yield* listen((request, response) =>
        request.path === "/start"
          ? response.writeHead(307, { location: `${elsewhere.origin}/landing?page=2` }).end()
          : sendJson(response, 200, {})
      )
      const client = allCredentials(yield* HttpClient.HttpClient).pipe(HttpClient.followRedirects())
      const response = yield* client.get(`${origin.origin}/start`)
      expect(response.status).toBe(200)

      const first = origin.received[0]!
      expect(first.headers.authorization).toBe(`Bearer ${BEARER}`)
      expect(first.headers["x-service-key"]).toBe(HEADER_KEY)
      expect(first.query.get("api_key")).toBe(QUERY_KEY)

      expect(elsewhere.count("/landing")).toBe(1)
      const landed = elsewhere.received[0]!
      expect(landed.headers.authorization).toBeUndefined()
      expect(landed.headers["x-service-key"]).toBeUndefined()
      expect(landed.query.has("api_key")).toBe(false)
      expect(landed.query.get("page")).toBe("2")
    }).pipe(Effect.provide(clientLayer)))

  it.scoped("a redirect back to the original origin gets the credentials again", () =>
    Effect.gen(function*() {
      const origin = yield* listen((request, response) =>
        request.path === "/start"
          ? response.writeHead(302, { location: "/landing" }).end()
          : sendJson(response, 200, {})
      )
      const client = allCredentials(yield* HttpClient.HttpClient).pipe(HttpClient.followRedirects())
      yield* client.get(`${origin.origin}/start`)
      expect(origin.received.map((request) => request.headers.authorization)).toEqual([
        `Bearer ${BEARER}`,
        `Bearer ${BEARER}`
      ])
      expect(origin.received[1]!.query.get("api_key")).toBe(QUERY_KEY)
    }).pipe(Effect.provide(clientLayer)))

  it.scoped("Auth.layerConfig reads the key with Config.redacted and wraps the HttpClient service", () =>
    Effect.gen(function*() {
      const server = yield* listen((_, response) => sendJson(response, 200, {}))
      yield* Effect.flatMap(HttpClient.HttpClient, (client) => client.get(`${server.origin}/items`)).pipe(
        Effect.provide(
          Auth.layerConfig(
            Config.map(Config.redacted("SERVICE_KEY"), (key) => Auth.Credential.ApiKeyHeader({ header: "X-Key", key }))
          ).pipe(Layer.provide(clientLayer))
        ),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["SERVICE_KEY", HEADER_KEY]])))
      )
      expect(server.received[0]!.headers["x-key"]).toBe(HEADER_KEY)
    }))

  it.scoped("no secret appears in an error message, a log line or a span", () =>
    Effect.gen(function*() {
      const server = yield* listen((request, response) =>
        request.path === "/forbidden" ? sendJson(response, 403, {}) : sendJson(response, 200, {})
      )
      const logs = recordingLogger()
      const traces = recordingTracer()
      const messages: Array<string> = []

      yield* Effect.gen(function*() {
        const client = allCredentials(yield* HttpClient.HttpClient)
        const ok = yield* client.get(`${server.origin}/items?page=1`)
        yield* Effect.logInfo("fetched", ok.request, ok.status)
        const failures = [
          // nothing listens on port 9: a transport failure
          client.get("http://127.0.0.1:9/items"),
          // a status failure raised outside the middleware
          client.pipe(HttpClient.filterStatusOk).get(`${server.origin}/forbidden`),
          // a status failure raised inside the middleware
          allCredentials(HttpClient.filterStatusOk(yield* HttpClient.HttpClient)).get(`${server.origin}/forbidden`)
        ]
        for (const failure of failures) {
          const error = yield* Effect.flip(failure)
          messages.push(error.message, String(error), JSON.stringify(error))
          yield* Effect.logError("request failed", error, Cause.fail(error))
        }
      }).pipe(
        Effect.withSpan("scenario"),
        Effect.provide(logs.layer),
        Effect.withTracer(traces.tracer),
        Effect.provide(clientLayer)
      )

      expect(server.count("/items")).toBe(1)
      expect(server.received[0]!.query.get("api_key")).toBe(QUERY_KEY)
      expect(messages.join("\n")).toMatch(/Transport/)
      expect(messages.join("\n")).toMatch(/StatusCode/)
      const requestSpans = traces.spans.filter((span) => span.name.startsWith("http.client"))
      expect(requestSpans.length).toBeGreaterThanOrEqual(3)
      expect(requestSpans[0]!.attributes.get("url.full")).toBe(`${server.origin}/items?page=1&api_key=<redacted>`)
      const everything = [...messages, ...logs.lines, traces.dump()].join("\n")
      for (const secret of [BEARER, HEADER_KEY, QUERY_KEY]) {
        expect(everything).not.toContain(secret)
      }
    }))
})
