import { HttpBody, HttpClient, HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { type HttpFailure, SturdyClient } from "@sturdy/http"
import { Config, ConfigProvider, Effect, Either, Layer, Schema } from "effect"
import { fakeClient, jsonResponse } from "./utils/fakeTransport.js"

const User = Schema.Struct({ id: Schema.Number, name: Schema.String })

const failureOf = <A, R>(effect: Effect.Effect<A, HttpFailure.HttpFailure, R>) =>
  Effect.map(Effect.either(effect), (either) => {
    if (Either.isRight(either)) throw new Error("expected a failure, got a success")
    return either.left
  })

const echo = () => fakeClient(() => Effect.succeed(jsonResponse(200, { id: 1, name: "Ada" })))

describe("SturdyClient", () => {
  it.effect("resolves paths against the base URL and leaves absolute URLs alone", () =>
    Effect.gen(function*() {
      const { client, seen } = echo()
      const api = SturdyClient.makeWith(client, { baseUrl: "https://api.example.com/v1/" })
      yield* api.get("/users/1")
      yield* api.get("users/2", { urlParams: { expand: "teams" } })
      yield* api.get("https://other.example.com/x")
      expect(seen.map((s) => s.url)).toEqual([
        "https://api.example.com/v1/users/1",
        "https://api.example.com/v1/users/2?expand=teams",
        "https://other.example.com/x"
      ])
    }))

  it.effect("sends default headers unless the request sets its own", () =>
    Effect.gen(function*() {
      const { client, seen } = echo()
      const api = SturdyClient.makeWith(client, { headers: { "x-client": "sturdy", accept: "application/json" } })
      yield* api.get("https://api.example.com/", { headers: { accept: "text/plain" } })
      expect(seen[0].headers["x-client"]).toBe("sturdy")
      expect(seen[0].headers["accept"]).toBe("text/plain")
    }))

  it.effect("decodes with `schema`, or returns the received response without it", () =>
    Effect.gen(function*() {
      const api = SturdyClient.makeWith(echo().client)
      const user: { readonly id: number; readonly name: string } = yield* api.get("https://a.test/", { schema: User })
      expect(user).toEqual({ id: 1, name: "Ada" })
      const received = yield* api.get("https://a.test/")
      expect(received.status).toBe(200)
      expect(JSON.parse(received.text)).toEqual({ id: 1, name: "Ada" })
    }))

  it.effect("each verb sets its method; execute keeps the request's", () =>
    Effect.gen(function*() {
      const { client, seen } = echo()
      const api = SturdyClient.makeWith(client, { baseUrl: "https://a.test" })
      yield* api.post("/x")
      yield* api.put("/x")
      yield* api.patch("/x")
      yield* api.del("/x")
      yield* api.head("/x")
      yield* api.options("/x")
      yield* api.trace("/x")
      yield* api.query("/x", { body: { q: "ada" } })
      yield* api.get(HttpClientRequest.post("/x"))
      yield* api.execute(HttpClientRequest.patch("/x"))
      expect(seen.map((s) => s.method)).toEqual(
        ["POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "QUERY", "GET", "PATCH"]
      )
    }))

  it.effect("encodes the body with `bodySchema`, sends plain values as JSON and HttpBody as is", () =>
    Effect.gen(function*() {
      const { client, seen } = echo()
      const api = SturdyClient.makeWith(client, { baseUrl: "https://a.test" })
      const Created = Schema.Struct({ at: Schema.DateFromString })
      yield* api.post("/x", { body: { at: new Date("2024-01-02T03:04:05.000Z") }, bodySchema: Created })
      yield* api.post("/x", { body: { plain: true } })
      yield* api.post("/x", { body: HttpBody.text("raw", "text/plain") })
      expect(seen.map((s) => s.body)).toEqual([`{"at":"2024-01-02T03:04:05.000Z"}`, `{"plain":true}`, "raw"])
      expect(seen[0].headers["content-type"]).toBe("application/json")
    }))

  it.effect("a body that fails to encode is InvalidRequest and nothing is sent", () =>
    Effect.gen(function*() {
      const { client, seen } = echo()
      const api = SturdyClient.makeWith(client, { baseUrl: "https://a.test" })
      const bySchema = yield* failureOf(
        api.post("/x", { body: { id: -1 }, bodySchema: Schema.Struct({ id: Schema.NonNegative }) })
      )
      expect(bySchema._tag === "InvalidRequest" && bySchema.reason).toBe("BodyEncode")
      const byJson = yield* failureOf(api.post("/x", { body: { n: 1n } }))
      expect(byJson._tag === "InvalidRequest" && byJson.reason).toBe("BodyEncode")
      expect(seen).toHaveLength(0)
    }))

  it.effect("per-request attempt options override the client's", () =>
    Effect.gen(function*() {
      const api = SturdyClient.makeWith(echo().client, { maxBodyBytes: 5 })
      const tooLarge = yield* failureOf(api.get("https://a.test/"))
      expect(tooLarge._tag).toBe("BodyTooLarge")
      expect((yield* api.get("https://a.test/", { maxBodyBytes: 1000, schema: User })).id).toBe(1)
    }))

  it.effect("transformClient wraps the platform client", () =>
    Effect.gen(function*() {
      const { client, seen } = echo()
      const api = SturdyClient.makeWith(client, {
        transformClient: HttpClient.mapRequest(HttpClientRequest.setHeader("x-wrapped", "yes"))
      })
      yield* api.get("https://a.test/")
      expect(seen[0].headers["x-wrapped"]).toBe("yes")
    }))

  it.effect("the classified client applies base URL and fails with HttpFailure", () =>
    Effect.gen(function*() {
      const { client, seen } = fakeClient(() => Effect.succeed(jsonResponse(404, {})))
      const api = SturdyClient.makeWith(client, { baseUrl: "https://a.test" })
      const failure = yield* failureOf(api.client.get("/missing"))
      expect(failure._tag).toBe("ClientError")
      expect(seen[0].url).toBe("https://a.test/missing")
    }))

  it.effect("layer and layerConfig provide the service", () =>
    Effect.gen(function*() {
      const { client, seen } = echo()
      const transport = Layer.succeed(HttpClient.HttpClient, client)
      yield* Effect.flatMap(SturdyClient.SturdyClient, (api) => api.get("/a")).pipe(
        Effect.provide(SturdyClient.layer({ baseUrl: "https://one.test" }).pipe(Layer.provide(transport)))
      )
      yield* Effect.flatMap(SturdyClient.SturdyClient, (api) => api.get("/b")).pipe(
        Effect.provide(
          SturdyClient.layerConfig({ baseUrl: Config.string("API_URL"), timeout: Config.duration("API_TIMEOUT") })
            .pipe(Layer.provide(transport))
        ),
        Effect.withConfigProvider(
          ConfigProvider.fromMap(new Map([["API_URL", "https://two.test"], ["API_TIMEOUT", "5 seconds"]]))
        )
      )
      expect(seen.map((s) => s.url)).toEqual(["https://one.test/a", "https://two.test/b"])
    }))
})
