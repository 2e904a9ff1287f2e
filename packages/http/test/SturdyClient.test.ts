import { HttpBody, HttpClient, HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { type Attempt, HttpCache, type HttpFailure, Policy, SturdyClient } from "@sturdy/http"
import { FaultScript, ScriptedClient, TestTracer } from "@sturdy/testing"
import {
  Cause,
  Chunk,
  Clock,
  Config,
  ConfigError,
  ConfigProvider,
  Duration,
  Effect,
  Either,
  Exit,
  Fiber,
  Layer,
  Option,
  Random,
  Schema,
  TestClock
} from "effect"
import { fakeClient, jsonResponse, systemError } from "./utils/fakeTransport.js"

const User = Schema.Struct({ id: Schema.Number, name: Schema.String })
const ada = { id: 1, name: "Ada" }

const failureOf = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
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

  it.effect("a base URL's query comes first, its fragment is dropped, and `images:annotate` is a path", () =>
    Effect.gen(function*() {
      // found by model-SturdyClient: a base with a fragment sent every path into the fragment (so to `/v1`), a base
      // with a query appended the path to the query, and a custom-method path was read as a URL of scheme `images:`
      const { client, seen } = echo()
      const withQuery = SturdyClient.makeWith(client, { baseUrl: "https://api.example.com/v1?api-version=2" })
      yield* withQuery.get("/users", { urlParams: { page: "2" } })
      yield* withQuery.get("?top=5")
      yield* withQuery.get("")
      const withFragment = SturdyClient.makeWith(client, { baseUrl: "https://api.example.com/v1/#docs" })
      yield* withFragment.get("users/1")
      yield* withFragment.get("?top=5")
      yield* withFragment.post("images:annotate")
      yield* withFragment.get("https://other.example.com/x")
      expect(seen.map((s) => s.url)).toEqual([
        "https://api.example.com/v1/users?api-version=2&page=2",
        "https://api.example.com/v1?api-version=2&top=5",
        "https://api.example.com/v1?api-version=2",
        "https://api.example.com/v1/users/1",
        "https://api.example.com/v1/?top=5",
        "https://api.example.com/v1/images:annotate",
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

  it.effect("client: transformClient's middleware sees the request with base URL and default headers, as a call's", () =>
    Effect.gen(function*() {
      const { client, seen } = echo()
      const wrapped: Array<string> = []
      const api = SturdyClient.makeWith(client, {
        baseUrl: "https://api.test/v1",
        headers: { "x-default": "d" },
        // a middleware that reads the request (a signer, a logger): it must see what is sent
        transformClient: HttpClient.tapRequest((request) =>
          Effect.sync(() => wrapped.push(`${request.url} ${request.headers["x-default"] ?? "-"}`))
        )
      })
      yield* api.get("/a")
      yield* api.client.get("/b")
      // middleware put on `client` itself runs first, before the base URL is applied
      yield* api.client.pipe(HttpClient.mapRequest(HttpClientRequest.prependUrl("/v2"))).get("/c")
      expect(wrapped).toEqual(["https://api.test/v1/a d", "https://api.test/v1/b d", "https://api.test/v1/v2/c d"])
      expect(seen.map((s) => s.url)).toEqual([
        "https://api.test/v1/a",
        "https://api.test/v1/b",
        "https://api.test/v1/v2/c"
      ])
      // the classification sees it too: a default header with a line break is refused before sending
      const bad = SturdyClient.makeWith(client, { baseUrl: "https://api.test", headers: { "x-bad": "a\r\nb" } })
      const failure = yield* failureOf(bad.client.get("/c"))
      expect(failure._tag === "InvalidRequest" && failure.reason).toBe("InvalidHeader")
      expect(failure.url).toBe("https://api.test/c")
      expect(seen).toHaveLength(3)
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

describe("SturdyClient options out of range", () => {
  // every kind of bad value for every attempt option: none may be read as "no limit", none may be a defect
  const bad: ReadonlyArray<readonly [keyof SturdyClient.SturdyClient.Options, unknown]> = [
    ["maxBodyBytes", Number.NaN],
    ["maxBodyBytes", -1],
    ["maxBodyBytes", 1.5],
    ["maxBodyBytes", Number.POSITIVE_INFINITY],
    ["maxBodyBytes", "1024"],
    ["maxJsonDepth", Number.NaN],
    ["maxJsonDepth", -1],
    ["maxJsonDepth", 2.5],
    ["maxJsonDepth", Number.POSITIVE_INFINITY],
    ["timeout", "soon"],
    ["timeout", Number.NaN],
    ["timeout", -5],
    ["timeout", 0],
    ["timeout", "-5 millis"],
    ["bodyTimeout", "soon"],
    ["bodyTimeout", Number.NaN],
    ["bodyTimeout", -5],
    ["bodyTimeout", "0 seconds"],
    ["expectedContentTypes", "application/json"],
    ["expectedContentTypes", [""]],
    ["errorSchema", { decode: "not a schema" }]
  ]

  const invalidOptions = (failure: unknown, ...fields: ReadonlyArray<string>) => {
    const f = failure as HttpFailure.HttpFailure
    expect(f._tag === "InvalidRequest" && f.reason).toBe("InvalidOptions")
    for (const field of fields) expect(f._tag === "InvalidRequest" && f.detail).toContain(field)
  }

  it.effect("a client built with one fails every call with InvalidRequest naming it, and sends nothing", () =>
    Effect.gen(function*() {
      for (const [field, value] of bad) {
        const { client, seen } = echo()
        const api = SturdyClient.makeWith(client, { baseUrl: "https://a.test", [field]: value })
        invalidOptions(yield* failureOf(api.get("/users/1")), field)
        invalidOptions(yield* failureOf(api.post("/users", { schema: User, body: ada })), field)
        invalidOptions(yield* failureOf(api.client.get("/users/1")), field)
        expect(seen, `${field}: ${String(value)}`).toHaveLength(0)
      }
    }))

  it.effect("the failure of a client's bad option names the call's URL with its urlParams, as a request's own does", () =>
    Effect.gen(function*() {
      const { client, seen } = echo()
      const api = SturdyClient.makeWith(client, { baseUrl: "https://a.test", maxBodyBytes: -1 })
      const failure = yield* failureOf(api.get("/users", { urlParams: { page: "2" } }))
      invalidOptions(failure, "maxBodyBytes")
      expect(failure.url).toBe("https://a.test/users?page=2")
      const own = yield* failureOf(
        SturdyClient.makeWith(client, { baseUrl: "https://a.test" }).get("/users", {
          urlParams: { page: "2" },
          maxBodyBytes: -1
        })
      )
      expect(own.url).toBe(failure.url)
      expect(seen).toHaveLength(0)
    }))

  it.effect("make and layer check the same way; the failure is the call's, typed, never a defect", () =>
    Effect.gen(function*() {
      const { client, seen } = echo()
      const transport = Layer.succeed(HttpClient.HttpClient, client)
      const made = yield* SturdyClient.make({ timeout: "soon" as Duration.DurationInput }).pipe(
        Effect.provide(transport)
      )
      invalidOptions(yield* failureOf(made.get("https://a.test/")), "timeout")
      const viaLayer = yield* Effect.exit(
        Effect.flatMap(SturdyClient.SturdyClient, (api) => api.get("https://a.test/")).pipe(
          Effect.provide(SturdyClient.layer({ maxBodyBytes: Number.NaN }).pipe(Layer.provide(transport)))
        )
      )
      expect(Exit.isFailure(viaLayer) && Cause.isFailType(viaLayer.cause)).toBe(true)
      if (Exit.isFailure(viaLayer)) invalidOptions(Cause.squash(viaLayer.cause), "maxBodyBytes")
      expect(seen).toHaveLength(0)
    }))

  it.effect("options that are no object fail every call naming the options; null is no options", () =>
    Effect.gen(function*() {
      // a string or an array has none of the fields read from it: taken for no options, the mistake went unseen
      // (and `make`'s spread turned a string into an object of its characters)
      const transport = (client: HttpClient.HttpClient) => Layer.succeed(HttpClient.HttpClient, client)
      for (const options of ["https://a.test", 5, true, ["https://a.test"]]) {
        const { client, seen } = echo()
        const direct = SturdyClient.makeWith(client, options as SturdyClient.SturdyClient.Options)
        const made = yield* SturdyClient.make(options as SturdyClient.SturdyClient.Options).pipe(
          Effect.provide(transport(client))
        )
        for (const api of [direct, made]) {
          const failure = yield* failureOf(api.get("https://a.test/users/1"))
          invalidOptions(failure, "options")
          expect(failure.message).toContain("must be an object")
        }
        expect(seen).toHaveLength(0)
      }
      const { client, seen } = echo()
      const none = SturdyClient.makeWith(client, null as unknown as SturdyClient.SturdyClient.Options)
      const made = yield* SturdyClient.make(null as unknown as SturdyClient.SturdyClient.Options).pipe(
        Effect.provide(transport(client))
      )
      expect(yield* none.get("https://a.test/users/1", { schema: User })).toEqual(ada)
      expect(yield* made.get("https://a.test/users/1", { schema: User })).toEqual(ada)
      expect(seen).toHaveLength(2)
    }))

  it.effect("every problem is named at once, with the number it got", () =>
    Effect.gen(function*() {
      const api = SturdyClient.makeWith(echo().client, {
        maxBodyBytes: Number.NaN,
        maxJsonDepth: -1,
        timeout: "soon" as Duration.DurationInput,
        bodyTimeout: 0
      })
      const failure = yield* failureOf(api.get("https://a.test/"))
      invalidOptions(failure, "maxBodyBytes", "maxJsonDepth", "timeout", "bodyTimeout")
      expect(failure.message).toContain("maxBodyBytes must be an integer ≥ 0 (got NaN)")
      expect(failure.message).toContain("maxJsonDepth must be an integer ≥ 0 (got -1)")
      expect(failure.message).toContain("timeout is not a duration")
    }))

  it.effect("a request's own bad option fails that call only; the client's others still apply", () =>
    Effect.gen(function*() {
      for (const [field, value] of bad) {
        const { client, seen } = echo()
        const api = SturdyClient.makeWith(client, { baseUrl: "https://a.test" })
        invalidOptions(yield* failureOf(api.get("/users/1", { [field]: value })), field)
        expect(seen, `${field}: ${String(value)}`).toHaveLength(0)
        expect(yield* api.get("/users/1", { schema: User })).toEqual(ada)
      }
      // a valid override narrows the client's limit; an unset one keeps it
      const api = SturdyClient.makeWith(echo().client, { maxBodyBytes: 1024 })
      expect((yield* failureOf(api.get("https://a.test/", { maxBodyBytes: 4 })))._tag).toBe("BodyTooLarge")
      expect((yield* api.get("https://a.test/", { timeout: "1 second" })).status).toBe(200)
    }))

  it.effect("the edges are valid: a zero body limit, an infinite timeout that lifts the client's", () =>
    Effect.gen(function*() {
      const { client } = fakeClient(() => Effect.as(Effect.sleep("2 seconds"), new Response(null, { status: 204 })))
      const api = SturdyClient.makeWith(client, { maxBodyBytes: 0, maxJsonDepth: 0, timeout: "1 second" })
      const timedOut = yield* Effect.fork(failureOf(api.get("https://a.test/")))
      yield* TestClock.adjust("1 second")
      expect((yield* Fiber.join(timedOut))._tag).toBe("Timeout")
      const lifted = yield* Effect.fork(api.get("https://a.test/", { timeout: Number.POSITIVE_INFINITY }))
      yield* TestClock.adjust("2 seconds")
      expect((yield* Fiber.join(lifted)).body.byteLength).toBe(0)
    }))

  it.effect("layerConfig fails with a ConfigError naming an option read out of range", () =>
    Effect.gen(function*() {
      const { client, seen } = echo()
      const exit = yield* Effect.exit(
        Effect.flatMap(SturdyClient.SturdyClient, (api) => api.get("/a")).pipe(
          Effect.provide(
            SturdyClient.layerConfig({ baseUrl: Config.string("API_URL"), maxBodyBytes: Config.number("API_MAX_BODY") })
              .pipe(Layer.provide(Layer.succeed(HttpClient.HttpClient, client)))
          ),
          Effect.withConfigProvider(
            ConfigProvider.fromMap(new Map([["API_URL", "https://a.test"], ["API_MAX_BODY", "-1"]]))
          )
        )
      )
      const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
      expect(ConfigError.isConfigError(error)).toBe(true)
      expect(String(error)).toContain("maxBodyBytes must be an integer ≥ 0 (got -1)")
      expect(seen).toHaveLength(0)
    }))
})

describe("SturdyClient and a Policy", () => {
  // small, jitter-free delays so that virtual time is exact
  const fast: Policy.Options = {
    totalTimeout: "30 seconds",
    attemptTimeout: "10 seconds",
    retry: { maxAttempts: 3, baseDelay: "100 millis", maxDelay: "1 second", jitter: "none", budget: false },
    circuitBreaker: false
  }
  const flaky = () =>
    FaultScript.routes({
      "GET /users/1": FaultScript.sequence(FaultScript.status(503), FaultScript.status(503), FaultScript.json(ada)),
      "POST /orders": FaultScript.sequence(FaultScript.status(503), FaultScript.status(503), FaultScript.json(ada)),
      "GET /down": FaultScript.status(503),
      "GET /slow": FaultScript.hang
    })
  const settle = <A, E>(effect: Effect.Effect<A, E>) =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(effect)
      yield* TestClock.adjust("1 minute")
      return yield* Fiber.await(fiber)
    })
  const exitFailure = <A, E>(exit: Exit.Exit<A, E>): E => {
    if (Exit.isSuccess(exit)) throw new Error("expected a failure, got a success")
    const failure = Cause.failureOption(exit.cause)
    if (Option.isNone(failure)) throw new Error(`expected a typed failure, got ${Cause.pretty(exit.cause)}`)
    return failure.value
  }

  it.scoped("without a policy each call is one attempt, failing with HttpFailure only", () =>
    Effect.gen(function*() {
      const scripted = yield* ScriptedClient.make(flaky())
      const api = SturdyClient.makeWith(scripted.client, { baseUrl: "http://api.test" })
      expect(Option.isNone(api.policy)).toBe(true)
      const failure: HttpFailure.HttpFailure = yield* failureOf(api.get("/down"))
      expect(failure._tag).toBe("ServerError")
      expect(yield* scripted.requests).toHaveLength(1)
      // `make` without a Policy in context: the same
      const fromContext = yield* SturdyClient.make({ baseUrl: "http://api.test" }).pipe(
        Effect.provideService(HttpClient.HttpClient, scripted.client)
      )
      expect(Option.isNone(fromContext.policy)).toBe(true)
      expect((yield* failureOf(fromContext.get("/down")))._tag).toBe("ServerError")
      expect(yield* scripted.requests).toHaveLength(2)
    }))

  it.scoped("make and layer run the calls through the Policy in context", () =>
    Effect.gen(function*() {
      const scripted = yield* ScriptedClient.make(flaky())
      const PolicyLive = Policy.layer(fast)
      const viaMake = yield* settle(
        Effect.flatMap(SturdyClient.make({ baseUrl: "http://api.test" }), (api) => {
          expect(Option.isSome(api.policy)).toBe(true)
          return api.get("/users/1", { schema: User })
        }).pipe(Effect.provide(PolicyLive), Effect.provideService(HttpClient.HttpClient, scripted.client))
      )
      expect(viaMake).toEqual(Exit.succeed(ada))
      expect(yield* scripted.requests).toHaveLength(3)
      const viaLayer = yield* settle(
        Effect.flatMap(SturdyClient.SturdyClient, (api) => api.get("/down")).pipe(
          Effect.provide(
            SturdyClient.layer({ baseUrl: "http://api.test" }).pipe(
              Layer.provide(PolicyLive),
              Layer.provide(Layer.succeed(HttpClient.HttpClient, scripted.client))
            )
          )
        )
      )
      const failure = exitFailure(viaLayer)
      expect(failure._tag).toBe("ServerError")
      expect(failure._tag !== "InvalidPolicy" && Policy.attemptsOf(failure)).toBe(3)
      expect(yield* scripted.requests).toHaveLength(6)
      const viaConfig = yield* settle(
        Effect.flatMap(SturdyClient.SturdyClient, (api) => api.get("/down")).pipe(
          Effect.provide(
            SturdyClient.layerConfig({ baseUrl: Config.string("API_URL") }).pipe(
              Layer.provide(PolicyLive),
              Layer.provide(Layer.succeed(HttpClient.HttpClient, scripted.client))
            )
          ),
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["API_URL", "http://api.test"]])))
        )
      )
      const configFailure = exitFailure(viaConfig)
      expect(
        configFailure._tag !== "InvalidPolicy" && configFailure._tag !== "ConfigError" && [
          configFailure._tag,
          Policy.attemptsOf(configFailure)
        ]
      ).toEqual(["ServerError", 3])
      expect(yield* scripted.requests).toHaveLength(9)
    }))

  it.scoped("an explicit policy wins over the one in context", () =>
    Effect.gen(function*() {
      const scripted = yield* ScriptedClient.make(flaky())
      const explicit = yield* Policy.make(fast)
      const exit = yield* settle(
        Effect.flatMap(
          SturdyClient.make({ baseUrl: "http://api.test", policy: explicit }),
          (api) => {
            expect(api.policy).toEqual(Option.some(explicit))
            return api.get("/users/1", { schema: User })
          }
        ).pipe(
          Effect.provide(Policy.layer({ ...fast, retry: false })),
          Effect.provideService(HttpClient.HttpClient, scripted.client)
        )
      )
      expect(exit).toEqual(Exit.succeed(ada))
      expect(yield* scripted.requests).toHaveLength(3)
    }))

  it.scoped("the request is built once: the body encoded once, an Idempotency-Key in headers makes a POST retried", () =>
    Effect.gen(function*() {
      const scripted = yield* ScriptedClient.make(flaky())
      let encodings = 0
      const Order = Schema.transform(Schema.Struct({ sku: Schema.String }), Schema.Struct({ sku: Schema.String }), {
        strict: true,
        decode: (order) => order,
        encode: (order) => {
          encodings++
          return order
        }
      })
      const api = SturdyClient.makeWith(scripted.client, {
        baseUrl: "http://api.test",
        headers: { "x-client": "sturdy" },
        policy: yield* Policy.make(fast)
      })
      const exit = yield* settle(
        api.post("/orders#mine", { body: { sku: "A-1" }, bodySchema: Order, headers: { "Idempotency-Key": "k-1" } })
      )
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(encodings).toBe(1)
      const requests = yield* scripted.requests
      expect(requests.map((r) => [r.path, r.idempotencyKey, r.headers["x-client"]])).toEqual([
        ["/orders", "k-1", "sturdy"],
        ["/orders", "k-1", "sturdy"],
        ["/orders", "k-1", "sturdy"]
      ])
    }))

  // a policy with a 1 s attemptTimeout and 2 attempts around a route that never answers, with the client's and the
  // request's own `timeout`: the shorter bounds each attempt, under one timer
  const oneTimerPerAttempt = (
    timeouts: { readonly client?: Duration.DurationInput; readonly request?: Duration.DurationInput },
    expectedMillis: number
  ) =>
    Effect.gen(function*() {
      const scripted = yield* ScriptedClient.make(flaky())
      const policy = yield* Policy.make({
        ...fast,
        attemptTimeout: "1 second",
        retry: { ...fast.retry, maxAttempts: 2 }
      })
      const api = SturdyClient.makeWith(scripted.client, {
        baseUrl: "http://api.test",
        policy,
        ...(timeouts.client !== undefined ? { timeout: timeouts.client } : {})
      })
      const fiber = yield* Effect.fork(
        api.get("/slow", timeouts.request !== undefined ? { timeout: timeouts.request } : {})
      )
      yield* TestClock.adjust("1 millis")
      // one timer for the attempt, at the shorter limit, not a second one at the longer
      expect(Chunk.toReadonlyArray(yield* TestClock.sleeps())).toEqual([expectedMillis])
      yield* TestClock.adjust("1 minute")
      const failure = exitFailure(yield* Fiber.await(fiber))
      expect(failure._tag === "Timeout" && [failure.phase, Duration.toMillis(failure.timeout)]).toEqual([
        "Attempt",
        expectedMillis
      ])
      expect(Policy.attemptsOf(failure)).toBe(2)
      // the first attempt's limit, the backoff's 100 ms, then the second attempt
      expect((yield* scripted.requests).map((r) => r.arrivedAt)).toEqual([0, expectedMillis + 100])
    })

  it.scoped("a request's timeout shorter than the policy's attemptTimeout bounds each attempt, under one timer", () =>
    oneTimerPerAttempt({ request: "200 millis" }, 200))

  it.scoped("the policy's attemptTimeout bounds each attempt when it is the shorter, under one timer", () =>
    oneTimerPerAttempt({ client: "5 seconds" }, 1_000))

  it.scoped("onEvent given to a call sees that call's events only", () =>
    Effect.gen(function*() {
      const scripted = yield* ScriptedClient.make(flaky())
      const api = SturdyClient.makeWith(scripted.client, {
        baseUrl: "http://api.test",
        policy: yield* Policy.make(fast)
      })
      const seen: Array<string> = []
      const onEvent = (event: Policy.Event) =>
        Effect.sync(() => {
          seen.push(event._tag === "RetryDecision" ? `${event._tag}:${event.attempt}` : `${event._tag}`)
        })
      expect(yield* settle(api.get("/users/1", { schema: User, onEvent }))).toEqual(Exit.succeed(ada))
      expect(seen).toEqual([
        "AttemptStarted",
        "AttemptEnded",
        "RetryDecision:2",
        "AttemptStarted",
        "AttemptEnded",
        "RetryDecision:3",
        "AttemptStarted",
        "AttemptEnded"
      ])
      yield* settle(api.get("/down"))
      expect(seen).toHaveLength(8)
    }))
})

describe("SturdyClient with replicas", () => {
  const replicaUrls = ["https://a.example.com", "https://b.example.com:8443", "http://c.example.com"] as const
  // every replica answers 200, but `failing` answers `status`
  const replicated = (failing: Record<string, number> = {}) =>
    fakeClient((_request, url) => Effect.succeed(jsonResponse(failing[url.host] ?? 200, ada)))
  const hosts = (seen: ReadonlyArray<{ readonly url: string }>) => seen.map((s) => new URL(s.url).host)
  const noRetry: Policy.Options = { retry: false, circuitBreaker: false }

  it.effect("round-robin spreads calls over three replicas, each on the base URL's path", () =>
    Effect.gen(function*() {
      const { client, seen } = replicated()
      const api = SturdyClient.makeWith(client, {
        baseUrl: "https://api.example.com/v1",
        replicas: { urls: replicaUrls, strategy: "round-robin" }
      })
      for (let i = 0; i < 6; i++) yield* api.get(`/users/${i}`, { urlParams: { q: "x" } })
      expect(seen.map((s) => s.url)).toEqual([
        "https://a.example.com/v1/users/0?q=x",
        "https://b.example.com:8443/v1/users/1?q=x",
        "http://c.example.com/v1/users/2?q=x",
        "https://a.example.com/v1/users/3?q=x",
        "https://b.example.com:8443/v1/users/4?q=x",
        "http://c.example.com/v1/users/5?q=x"
      ])
      const balancer = Option.getOrThrow(api.replicas)
      expect(balancer.keys).toEqual(["https://a.example.com", "https://b.example.com:8443", "http://c.example.com"])
    }))

  it.scoped("a retry goes to a replica the call has not tried", () =>
    Effect.gen(function*() {
      // p2c with two replicas: a retry that could pick either would pick the failing one again now and then
      const { client, seen } = replicated({ "a.example.com": 503 })
      const policy = yield* Policy.make({
        retry: { maxAttempts: 2, baseDelay: "100 millis", jitter: "none", budget: false },
        circuitBreaker: false
      })
      const api = SturdyClient.makeWith(client, {
        baseUrl: "https://api.example.com",
        policy,
        replicas: {
          urls: ["https://a.example.com", "https://b.example.com"],
          outlier: { consecutiveFailures: Infinity }
        }
      })
      for (let i = 0; i < 20; i++) {
        const before = seen.length
        const fiber = yield* Effect.fork(api.get("/users/1", { schema: User }))
        yield* TestClock.adjust("1 second")
        expect(yield* Fiber.join(fiber)).toEqual(ada)
        const sent = hosts(seen.slice(before))
        expect(sent.at(-1)).toBe("b.example.com")
        expect(new Set(sent).size).toBe(sent.length)
      }
      // the failing replica was tried first in some of the calls
      expect(hosts(seen)).toContain("a.example.com")
    }).pipe(Effect.withRandom(Random.make(7))))

  it.scoped("a replica failing 5 times in a row is ejected, and receives nothing until its time is up", () =>
    Effect.gen(function*() {
      const { client, seen } = replicated({ "a.example.com": 503 })
      const policy = yield* Policy.make(noRetry)
      const api = SturdyClient.makeWith(client, {
        baseUrl: "https://api.example.com",
        policy,
        replicas: { urls: replicaUrls, strategy: "round-robin", outlier: { baseEjectionTime: "30 seconds" } }
      })
      const call = Effect.either(api.get("/x"))
      for (let i = 0; i < 15; i++) yield* call
      expect(hosts(seen).filter((h) => h === "a.example.com")).toHaveLength(5)
      const [a] = yield* Option.getOrThrow(api.replicas).snapshot
      expect(a.ejectedUntil).toBeDefined()
      const ejectedAt = seen.length
      for (let i = 0; i < 12; i++) yield* call
      expect(hosts(seen.slice(ejectedAt))).not.toContain("a.example.com")
      yield* TestClock.adjust("29 seconds")
      for (let i = 0; i < 4; i++) yield* call
      expect(hosts(seen.slice(ejectedAt))).not.toContain("a.example.com")
      yield* TestClock.adjust("1 second")
      const returnedAt = seen.length
      for (let i = 0; i < 3; i++) yield* call
      expect(hosts(seen.slice(returnedAt))).toContain("a.example.com")
    }))

  it.effect("a 404 does not count toward ejection; a 503 does", () =>
    Effect.gen(function*() {
      const { client, seen } = replicated({ "a.example.com": 404 })
      const api = SturdyClient.makeWith(client, {
        baseUrl: "https://api.example.com",
        replicas: { urls: replicaUrls, strategy: "round-robin" }
      })
      for (let i = 0; i < 18; i++) yield* Effect.either(api.get("/x"))
      expect(hosts(seen).filter((h) => h === "a.example.com")).toHaveLength(6)
      const [a] = yield* Option.getOrThrow(api.replicas).snapshot
      expect(a.ejectedUntil).toBeUndefined()
      expect(a.consecutiveFailures).toBe(0)
    }))

  it.effect("a replica whose name does not resolve, or whose TLS fails, is ejected: the others may still work", () =>
    Effect.gen(function*() {
      const unreachable = (code: string) =>
        Effect.fail({ cause: Object.assign(new Error(`${code} a.example.com`), { code }) })
      for (const code of ["ENOTFOUND", "CERT_HAS_EXPIRED"]) {
        const { client, seen } = fakeClient((_request, url) =>
          url.host === "a.example.com" ? unreachable(code) : Effect.succeed(jsonResponse(200, ada))
        )
        const api = SturdyClient.makeWith(client, {
          baseUrl: "https://api.example.com",
          replicas: { urls: replicaUrls, strategy: "round-robin" }
        })
        const failures = []
        for (let i = 0; i < 18; i++) {
          const result = yield* Effect.either(api.get("/x"))
          if (result._tag === "Left") failures.push(result.left)
        }
        expect(failures[0], code).toMatchObject({
          _tag: "ConnectionError",
          reason: code === "ENOTFOUND" ? "DnsLookup" : "Tls"
        })
        // five in a row eject it, then the other two take every call
        expect(hosts(seen).filter((h) => h === "a.example.com"), code).toHaveLength(5)
        const [a] = yield* Option.getOrThrow(api.replicas).snapshot
        expect(a.ejectedUntil, code).toBeDefined()
      }
    }))

  it.effect("absolute URLs to other hosts are left alone; one to the base URL's origin is balanced", () =>
    Effect.gen(function*() {
      const { client, seen } = replicated()
      const api = SturdyClient.makeWith(client, {
        baseUrl: "https://api.example.com/v1",
        replicas: { urls: replicaUrls, strategy: "round-robin" }
      })
      yield* api.get("https://other.example.com/x")
      yield* api.get("http://api.example.com/x")
      yield* api.get("https://api.example.com:443/y")
      yield* api.get("https://api.example.com.evil.test/z")
      expect(seen.map((s) => s.url)).toEqual([
        "https://other.example.com/x",
        "http://api.example.com/x",
        "https://a.example.com/y",
        "https://api.example.com.evil.test/z"
      ])
    }))

  it.effect("the failure names the replica's URL, redacted", () =>
    Effect.gen(function*() {
      const { client } = replicated({ "a.example.com": 500 })
      const api = SturdyClient.makeWith(client, {
        baseUrl: "https://api.example.com",
        replicas: ["https://a.example.com"]
      })
      const failure = yield* failureOf(api.get("/users", { urlParams: { api_key: "s3cret", page: "2" } }))
      expect(failure._tag).toBe("ServerError")
      expect(failure.url.startsWith("https://a.example.com/users?")).toBe(true)
      expect(failure.url).toContain("page=2")
      expect(failure.url).not.toContain("s3cret")
    }))

  it.effect("replicas out of order fail every call typed, naming them, and send nothing", () =>
    Effect.gen(function*() {
      const { client, seen } = replicated()
      const cases: ReadonlyArray<readonly [SturdyClient.SturdyClient.Options, string]> = [
        [{ replicas: ["https://a.example.com"] }, "replicas needs a `baseUrl`"],
        [{ baseUrl: "https://api.example.com", replicas: [] }, "replicas must name at least one origin"],
        [
          { baseUrl: "https://api.example.com", replicas: ["https://a.example.com/v1"] },
          "replicas[0] must be an origin"
        ],
        [
          { baseUrl: "https://api.example.com", replicas: ["https://a.example.com?x=1"] },
          "replicas[0] must be an origin"
        ],
        [{ baseUrl: "https://api.example.com", replicas: ["a.example.com"] }, "replicas[0] is not a URL"],
        [
          { baseUrl: "https://api.example.com", replicas: ["https://a.example.com", "https://A.example.com:443/"] },
          "replicas[1] repeats the origin https://a.example.com"
        ],
        [
          {
            baseUrl: "https://api.example.com",
            replicas: { urls: ["https://a.example.com"], outlier: { consecutiveFailures: 0 } }
          },
          "consecutiveFailures"
        ],
        [
          { baseUrl: "https://api.example.com", timeout: -1, replicas: ["https://a.example.com/v1"] },
          "timeout must be a positive duration"
        ]
      ]
      for (const [options, detail] of cases) {
        const api = SturdyClient.makeWith(client, options)
        expect(Option.isNone(api.replicas)).toBe(true)
        const exit = yield* Effect.exit(api.get("/x"))
        if (Exit.isSuccess(exit)) throw new Error("expected a failure")
        const failure = Cause.failureOption(exit.cause)
        if (Option.isNone(failure)) throw new Error(`expected a typed failure, got ${Cause.pretty(exit.cause)}`)
        expect(failure.value._tag).toBe("InvalidRequest")
        expect(failure.value).toMatchObject({ reason: "InvalidOptions" })
        expect((failure.value as HttpFailure.InvalidRequest).detail).toContain(detail)
      }
      // make checks them the same way
      const made = yield* SturdyClient.make({ replicas: ["https://a.example.com"] }).pipe(
        Effect.provideService(HttpClient.HttpClient, client)
      )
      expect((yield* failureOf(made.get("/x")))._tag).toBe("InvalidRequest")
      expect(seen).toHaveLength(0)
    }))

  it.scoped("a hedge goes to another replica than the copy it hedges", () =>
    Effect.gen(function*() {
      // a is fast on /warm and hangs on /hang; b and c answer after a second. After the warm-up, p2c scores a far
      // below b and c even with the hanging copy in flight: only avoidRepeats sends the hedge to b or c.
      const { client, seen } = fakeClient((request, url) =>
        url.host === "a.example.com"
          ? request.url.endsWith("/hang") ? Effect.never : Effect.succeed(jsonResponse(200, ada))
          : Effect.as(Effect.sleep("1 second"), jsonResponse(200, ada))
      )
      const policy = yield* Policy.make({
        retry: false,
        circuitBreaker: false,
        hedging: { delay: "100 millis", maxHedges: 1 }
      })
      const api = SturdyClient.makeWith(client, {
        baseUrl: "https://api.example.com",
        policy,
        replicas: ["https://a.example.com", "https://b.example.com", "https://c.example.com"]
      })
      const settled = <A, E>(effect: Effect.Effect<A, E>) =>
        Effect.gen(function*() {
          const fiber = yield* Effect.fork(effect)
          yield* TestClock.adjust("2 seconds")
          // a call whose copies all hang has not ended: fail now rather than wait for it
          const exit = Option.getOrThrowWith(yield* Fiber.poll(fiber), () => new Error("the call hangs"))
          return yield* exit
        })
      // a POST is not hedged: each warm-up call measures the replica it went to
      for (let i = 0; i < 20; i++) yield* settled(api.post("/warm", { schema: User }))
      const warmed = yield* Option.getOrThrow(api.replicas).snapshot
      expect(warmed.every((state) => state.measured)).toBe(true)
      let hungFirst = 0
      for (let i = 0; i < 6; i++) {
        const before = seen.length
        expect(yield* settled(api.get("/hang", { schema: User }))).toEqual(ada)
        const sent = hosts(seen.slice(before))
        if (sent[0] === "a.example.com") hungFirst++
        expect(new Set(sent).size).toBe(sent.length)
      }
      expect(hungFirst).toBeGreaterThan(0)
    }).pipe(Effect.withRandom(Random.make(3))))

  it.scoped("the attempt spans show the replica; the call's span keeps the base URL", () =>
    Effect.gen(function*() {
      const { spans, tracer } = TestTracer.make()
      const { client } = replicated({ "a.example.com": 503 })
      const policy = yield* Policy.make({
        retry: { maxAttempts: 2, baseDelay: "100 millis", jitter: "none", budget: false },
        circuitBreaker: false
      })
      const api = SturdyClient.makeWith(client, {
        baseUrl: "https://api.example.com",
        policy,
        replicas: { urls: ["https://a.example.com", "https://b.example.com:8443"], strategy: "round-robin" }
      })
      const fiber = yield* Effect.fork(api.get("/users/1").pipe(Effect.withTracer(tracer)))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      const [call, first, second] = spans
      expect(call.name).toBe("http.client.request GET")
      expect(Object.fromEntries(call.attributes)).toMatchObject({
        "server.address": "api.example.com",
        "url.full": "https://api.example.com/users/1"
      })
      expect(Object.fromEntries(first.attributes)).toMatchObject({
        "server.address": "a.example.com",
        "server.port": 443,
        "url.full": "https://a.example.com/users/1",
        "sturdy.balancer.endpoint": "https://a.example.com"
      })
      expect(Object.fromEntries(second.attributes)).toMatchObject({
        "server.address": "b.example.com",
        "server.port": 8443,
        "url.full": "https://b.example.com:8443/users/1"
      })
    }))

  it.effect("layerConfig reads replicas, and fails with a ConfigError naming one that is not an origin", () =>
    Effect.gen(function*() {
      const { client, seen } = replicated()
      const run = (replicas: string) =>
        Effect.exit(
          Effect.flatMap(SturdyClient.SturdyClient, (api) => api.get("/a")).pipe(
            Effect.provide(
              SturdyClient.layerConfig({
                baseUrl: Config.string("API_URL"),
                replicas: Config.array(Config.string(), "API_REPLICAS")
              }).pipe(Layer.provide(Layer.succeed(HttpClient.HttpClient, client)))
            ),
            Effect.withConfigProvider(
              ConfigProvider.fromMap(new Map([["API_URL", "https://api.example.com"], ["API_REPLICAS", replicas]]))
            )
          )
        )
      const bad = yield* run("https://a.example.com,https://b.example.com/v1")
      const error = Exit.isFailure(bad) ? Cause.squash(bad.cause) : undefined
      expect(ConfigError.isConfigError(error)).toBe(true)
      expect(String(error)).toContain("replicas[1] must be an origin")
      expect(seen).toHaveLength(0)
      expect(Exit.isSuccess(yield* run("https://a.example.com,https://b.example.com"))).toBe(true)
      expect(hosts(seen)).toHaveLength(1)
      expect(["a.example.com", "b.example.com"]).toContain(hosts(seen)[0])
    }))

  it.effect("without replicas a client has none and sends to the base URL", () =>
    Effect.gen(function*() {
      const { client, seen } = replicated()
      const api = SturdyClient.makeWith(client, { baseUrl: "https://api.example.com" })
      expect(Option.isNone(api.replicas)).toBe(true)
      yield* api.get("/x")
      expect(seen.map((s) => s.url)).toEqual(["https://api.example.com/x"])
    }))
})

// `cache`: the cache outside the policy, as `client.pipe(Policy.withPolicy(policy), HttpCache.withCache(cache))`.
// Counting fake origins and the TestClock, as HttpCache.test.ts has them.
describe("SturdyClient with a cache", () => {
  const date = (millis: number) => new Date(millis).toUTCString()
  type Answer = Response | { readonly cause: unknown } | "hang"
  const origin = (respond: (request: HttpClientRequest.HttpClientRequest, url: URL, now: number) => Answer) =>
    fakeClient((request, url) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const answer = respond(request, url, now)
        return answer === "hang"
          ? Effect.never
          : answer instanceof Response
          ? Effect.succeed(answer)
          : Effect.fail(answer)
      })
    )
  const makeCache = (options?: HttpCache.Options) =>
    Effect.gen(function*() {
      const store = yield* HttpCache.makeMemory()
      const cache = yield* HttpCache.make(options).pipe(Effect.provideService(HttpCache.Store, store))
      return { cache, store }
    })
  const cacheable = (now: number, body: unknown = ada, headers: Record<string, string> = {}) =>
    jsonResponse(200, body, { date: date(now), "cache-control": "max-age=60", ...headers })
  const provenanceOf = (received: Attempt.Received) => Option.getOrUndefined(HttpCache.provenance(received.response))
  const settle = <A, E>(effect: Effect.Effect<A, E>) =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(effect)
      yield* TestClock.adjust("1 minute")
      return yield* Fiber.join(fiber)
    })
  const apiOrigin = "http://api.test"

  it.scoped("a fresh hit makes no attempt: no event, rate-limit token, bulkhead slot, budget deposit or attempt span", () =>
    Effect.gen(function*() {
      const { client, seen } = origin((request, url, now) => url.pathname === "/slow" ? "hang" : cacheable(now))
      const events: Array<string> = []
      const policy = yield* Policy.make({
        retry: { maxAttempts: 2, baseDelay: "10 millis", jitter: "none" },
        // two tokens: the miss takes one, the call left hanging the other; a hit that took one would be refused
        rateLimit: { limit: 2, window: "1 hour", onExceeded: "fail" },
        bulkhead: { maxConcurrent: 1, maxQueued: 0 },
        circuitBreaker: { consecutiveFailures: 1, breakDuration: "1 hour" },
        onEvent: (event) => Effect.sync(() => events.push(event._tag))
      })
      const { cache } = yield* makeCache()
      const api = SturdyClient.makeWith(client, { baseUrl: apiOrigin, policy, cache })
      expect(yield* api.get("/users/1", { schema: User })).toEqual(ada)
      expect(seen).toHaveLength(1)
      // the bulkhead's one slot is taken by a call that never ends
      yield* Effect.fork(api.get("/slow"))
      for (let i = 0; i < 10 && seen.length < 2; i++) yield* Effect.yieldNow()
      expect(seen).toHaveLength(2)
      const eventsBefore = [...events]
      const budgetBefore = yield* policy.budget.stats(apiOrigin)
      const { spans, tracer } = TestTracer.make()
      for (let i = 0; i < 3; i++) {
        expect(yield* api.get("/users/1", { schema: User }).pipe(Effect.withTracer(tracer))).toEqual(ada)
      }
      const received = yield* api.get("/users/1")
      expect(provenanceOf(received)).toBe("fresh")
      expect(received.headers["age"]).toBe("0")
      expect(seen).toHaveLength(2)
      expect(events).toEqual(eventsBefore)
      expect(yield* policy.budget.stats(apiOrigin)).toEqual(budgetBefore)
      // each hit is a call of its own, of no attempt, and says where it came from
      expect(spans.map((span) => span.name)).toEqual(Array(3).fill("http.client.request GET"))
      for (const span of spans) {
        expect(Object.fromEntries(span.attributes)).toMatchObject({
          "sturdy.cache": "fresh",
          "sturdy.attempts": 0,
          "sturdy.outcome": "success",
          "http.response.status_code": 200
        })
      }
    }))

  it.scoped("a stale response is revalidated through the policy; a 304 is the upstream's success", () =>
    Effect.gen(function*() {
      let mode: "etag" | "503 then 304" = "etag"
      let failNext = false
      const { client, seen } = origin((request, _url, now) => {
        if (mode === "etag") return cacheable(now, ada, { etag: "\"v1\"", "cache-control": "max-age=1" })
        if (failNext) {
          failNext = false
          return new Response("down", { status: 503 })
        }
        failNext = true
        return request.headers["if-none-match"] === "\"v1\""
          ? new Response(null, { status: 304, headers: { date: date(now), "cache-control": "max-age=1" } })
          : new Response("unconditional", { status: 500 })
      })
      const policy = yield* Policy.make({
        retry: { maxAttempts: 3, baseDelay: "100 millis", jitter: "none", budget: false },
        // two 503s in a row would open it: the 304 between them must count as a success
        circuitBreaker: { consecutiveFailures: 2, breakDuration: "1 hour" }
      })
      const { cache } = yield* makeCache()
      const api = SturdyClient.makeWith(client, { baseUrl: apiOrigin, policy, cache })
      expect(yield* api.get("/users/1", { schema: User })).toEqual(ada)
      mode = "503 then 304"
      failNext = true
      for (let round = 0; round < 3; round++) {
        yield* TestClock.adjust("5 seconds")
        const received = yield* settle(api.get("/users/1"))
        expect(provenanceOf(received)).toBe("revalidated")
        expect(JSON.parse(received.text)).toEqual(ada)
        yield* TestClock.adjust("5 seconds")
        expect(yield* settle(api.get("/users/1", { schema: User }))).toEqual(ada)
      }
      // each revalidation: a 503 the policy retried, then the 304
      expect(seen).toHaveLength(1 + 6 * 2)
      expect(seen.slice(1).every((s) => s.headers["if-none-match"] === "\"v1\"")).toBe(true)
      const breaker = yield* policy.circuitBreaker(HttpClientRequest.get(`${apiOrigin}/users/1`))
      expect(Option.isSome(breaker) && (yield* breaker.value.state)).toBe("Closed")
    }))

  it.scoped("stale-if-error answers once the policy gave up: retries spent on a 503, a refused connection, an open breaker", () =>
    Effect.gen(function*() {
      let mode: "ok" | "503" | "refused" = "ok"
      const { client, seen } = origin((_request, url, now) =>
        mode === "503"
          ? new Response("down", { status: 503 })
          : mode === "refused"
          ? { cause: Object.assign(systemError("ECONNREFUSED"), { syscall: "connect" }) }
          : url.pathname === "/other"
          ? jsonResponse(200, ada)
          : cacheable(now, ada, { "cache-control": "max-age=1, stale-if-error=600" })
      )
      const policy = yield* Policy.make({
        retry: { maxAttempts: 3, baseDelay: "10 millis", jitter: "none" },
        circuitBreaker: { consecutiveFailures: 6, breakDuration: "1 hour" }
      })
      const { cache } = yield* makeCache()
      const api = SturdyClient.makeWith(client, { baseUrl: apiOrigin, policy, cache })
      expect(yield* api.get("/users/1", { schema: User })).toEqual(ada)

      mode = "503"
      yield* TestClock.adjust("10 seconds")
      const afterRetries = yield* settle(api.get("/users/1"))
      expect(provenanceOf(afterRetries)).toBe("stale")
      expect(afterRetries.status).toBe(200)
      expect(seen).toHaveLength(4) // three attempts
      mode = "refused"
      expect(yield* settle(api.get("/users/1", { schema: User }))).toEqual(ada)
      expect(seen).toHaveLength(7)
      // six failed attempts: the breaker is open, the policy rejects without a request, and the cache still answers
      const open = yield* settle(api.get("/users/1"))
      expect(provenanceOf(open)).toBe("stale")
      expect(seen).toHaveLength(7)
      // nothing stored for another URL: the policy's own rejection, typed
      mode = "ok"
      const failure: Policy.Failure = yield* failureOf(api.get("/other", { schema: User }))
      expect(failure._tag).toBe("CircuitOpen")
    }))

  it.scoped("the cached body is decoded with the call's schema and options: a mismatch is the same failure as fresh", () =>
    Effect.gen(function*() {
      const { client, seen } = origin((_request, _url, now) => cacheable(now, { id: "x", name: "Ada" }))
      const { cache } = yield* makeCache()
      const api = SturdyClient.makeWith(client, { baseUrl: apiOrigin, cache, headers: { "x-team": "a" } })
      const fresh: HttpFailure.HttpFailure = yield* failureOf(api.get("/users/1", { schema: User }))
      const cached: HttpFailure.HttpFailure = yield* failureOf(api.get("/users/1", { schema: User }))
      expect(seen).toHaveLength(1)
      expect(fresh._tag).toBe("SchemaMismatch")
      expect(cached._tag).toBe("SchemaMismatch")
      expect(cached.message).toBe(fresh.message)
      const Loose = Schema.Struct({ id: Schema.String })
      expect(yield* api.get("/users/1", { schema: Loose })).toEqual({ id: "x" })
      // per-call options still apply to the stored answer
      expect((yield* failureOf(api.get("/users/1", { schema: Loose, maxBodyBytes: 4 })))._tag).toBe("BodyTooLarge")
      expect(
        (yield* failureOf(api.get("/users/1", { schema: Loose, expectedContentTypes: ["text/plain"] })))._tag
      ).toBe("UnexpectedContentType")
      expect(seen).toHaveLength(1)
      // urlParams are part of the key, headers are sent (the client's and the call's), Accept names JSON
      yield* api.get("/users/1", { schema: Loose, urlParams: { expand: "teams" }, headers: { "x-call": "1" } })
      expect(seen).toHaveLength(2)
      expect(seen[1].url).toBe(`${apiOrigin}/users/1?expand=teams`)
      expect(seen[1].headers).toMatchObject({ "x-team": "a", "x-call": "1", accept: "application/json" })
      // a per-call timeout bounds the attempt, as without a cache
      const slow = SturdyClient.makeWith(origin(() => "hang").client, { baseUrl: apiOrigin, cache })
      const timedOut = yield* Effect.fork(failureOf(slow.get("/slow", { timeout: "1 second" })))
      yield* TestClock.adjust("2 seconds")
      expect((yield* Fiber.join(timedOut))._tag).toBe("Timeout")
    }))

  it.scoped("POST, PUT, PATCH and DELETE go through it (a success invalidates the URL) and are never answered from it", () =>
    Effect.gen(function*() {
      let version = 0
      const { client, seen } = origin((request, _url, now) =>
        request.method === "GET" ? cacheable(now, { id: version, name: "Ada" }) : jsonResponse(200, ada)
      )
      const { cache } = yield* makeCache()
      const api = SturdyClient.makeWith(client, { baseUrl: apiOrigin, cache })
      const read = api.get("/users/1", { schema: User })
      expect((yield* read).id).toBe(0)
      for (const write of [api.post, api.put, api.patch, api.del]) {
        version++
        expect(yield* write("/users/1", { body: { name: "Ada" }, schema: User })).toEqual(ada)
        expect(yield* write("/users/1", { body: { name: "Ada" }, schema: User })).toEqual(ada)
        expect((yield* read).id).toBe(version)
      }
      expect(seen.map((s) => s.method)).toEqual([
        "GET",
        ...["POST", "PUT", "PATCH", "DELETE"].flatMap((method) => [method, method, "GET"])
      ])
      // the body encoded once, as the call built it
      expect(seen[1].body).toBe("{\"name\":\"Ada\"}")
    }))

  it.effect("replicas: the key is the logical URL, whichever replica answered", () =>
    Effect.gen(function*() {
      const { client, seen } = origin((_request, url, now) => cacheable(now, { id: 1, name: url.host }))
      const { cache, store } = yield* makeCache()
      const api = SturdyClient.makeWith(client, {
        baseUrl: "https://api.example.com",
        cache,
        replicas: { urls: ["https://a.example.com", "https://b.example.com"], strategy: "round-robin" }
      })
      const first = yield* api.get("/users/1", { schema: User })
      const second = yield* api.get("/users/1")
      expect(provenanceOf(second)).toBe("fresh")
      expect(JSON.parse(second.text)).toEqual(first)
      expect(seen).toHaveLength(1)
      expect(["a.example.com", "b.example.com"]).toContain(first.name)
      expect(yield* store.get("https://api.example.com/users/1")).toHaveLength(1)
      expect(yield* store.get(`https://${first.name}/users/1`)).toHaveLength(0)
      // another path goes to the next replica and is stored under the logical URL too
      yield* api.get("/users/2")
      expect(new URL(seen[1].url).host).not.toBe(first.name)
      expect(yield* store.get("https://api.example.com/users/2")).toHaveLength(1)
    }).pipe(Effect.scoped))

  it.scoped("telemetry: a miss is one call span with its attempt and sturdy.cache; no secret in any span", () =>
    Effect.gen(function*() {
      const { client } = origin((_request, _url, now) => cacheable(now, ada, { "cache-control": "max-age=1" }))
      const policy = yield* Policy.make({ retry: false, circuitBreaker: false })
      const { cache } = yield* makeCache()
      const api = SturdyClient.makeWith(client, { baseUrl: apiOrigin, policy, cache })
      const collected = TestTracer.make()
      const call = api.get("/users/1", { schema: User, urlParams: { api_key: "hunter2" } }).pipe(
        Effect.withTracer(collected.tracer)
      )
      yield* call
      yield* call
      yield* TestClock.adjust("5 seconds")
      yield* call
      const calls = collected.byName("http.client.request GET")
      expect(calls.map((span) => span.attributes.get("sturdy.cache"))).toEqual(["miss", "fresh", "miss"])
      expect(calls.map((span) => span.attributes.get("sturdy.attempts"))).toEqual([1, 0, 1])
      // the attempts are under their call: no second call span inside the first
      expect(collected.byName("http.client.attempt GET")).toHaveLength(2)
      expect(collected.children(calls[0]).map((span) => span.name)).toEqual(["http.client.attempt GET"])
      expect(JSON.stringify(collected.spans.map((span) => Object.fromEntries(span.attributes)))).not.toContain(
        "hunter2"
      )
    }))

  it.scoped("telemetry: a call made inside an attempt (a token fetch in middleware) is a call of its own", () =>
    Effect.gen(function*() {
      const { client } = origin((_request, _url, now) => cacheable(now))
      const tokens = SturdyClient.makeWith(origin(() => jsonResponse(200, { token: "t" })).client, {
        baseUrl: "http://auth.test",
        policy: yield* Policy.make({ retry: false, circuitBreaker: false })
      })
      for (const policyOptions of [{}, { totalTimeout: false, attemptTimeout: false }] as const) {
        const policy = yield* Policy.make({ retry: false, circuitBreaker: false, ...policyOptions })
        const { cache } = yield* makeCache()
        const api = SturdyClient.makeWith(client, {
          baseUrl: apiOrigin,
          policy,
          cache,
          transformClient: HttpClient.mapRequestEffect((request) =>
            Effect.as(Effect.orDie(tokens.get("/token")), HttpClientRequest.bearerToken(request, "t"))
          )
        })
        const collected = TestTracer.make()
        yield* api.get("/users/1", { schema: User }).pipe(Effect.withTracer(collected.tracer))
        const calls = collected.byName("http.client.request GET")
        expect(calls.map((span) => span.attributes.get("url.full"))).toEqual([
          `${apiOrigin}/users/1`,
          "http://auth.test/token"
        ])
        expect(calls.map((span) => span.attributes.get("sturdy.attempts"))).toEqual([1, 1])
      }
    }))

  it.scoped("stale-while-revalidate: stale at once, refreshed through the policy in the background, as a call of its own", () =>
    Effect.gen(function*() {
      let version = 0
      const { client, seen } = origin((_request, _url, now) =>
        cacheable(now, { id: ++version, name: "Ada" }, { "cache-control": "max-age=1, stale-while-revalidate=60" })
      )
      const policy = yield* Policy.make({ retry: false, circuitBreaker: false })
      const { cache } = yield* makeCache()
      const api = SturdyClient.makeWith(client, { baseUrl: apiOrigin, policy, cache })
      const collected = TestTracer.make()
      const read = api.get("/users/1", { schema: User }).pipe(Effect.withTracer(collected.tracer))
      expect((yield* read).id).toBe(1)
      yield* TestClock.adjust("5 seconds")
      expect((yield* read).id).toBe(1)
      yield* HttpCache.awaitRevalidations(cache)
      expect(seen).toHaveLength(2)
      expect((yield* read).id).toBe(2)
      const calls = collected.byName("http.client.request GET")
      // the miss, the stale answer, the refresh (a call of its own, one attempt), the fresh answer
      expect(calls.map((span) => [span.attributes.get("sturdy.cache"), span.attributes.get("sturdy.attempts")]))
        .toEqual([["miss", 1], ["stale", 0], [undefined, 1], ["fresh", 0]])
    }))

  it.effect("without a cache nothing changes: no store, no Age, no provenance", () =>
    Effect.gen(function*() {
      const { client, seen } = origin((_request, _url, now) => cacheable(now))
      const api = SturdyClient.makeWith(client, { baseUrl: apiOrigin })
      const received = yield* api.get("/users/1")
      yield* api.get("/users/1")
      expect(seen).toHaveLength(2)
      expect(Option.isNone(HttpCache.provenance(received.response))).toBe(true)
      expect(received.headers["age"]).toBeUndefined()
    }))

  it.effect("a cache that is not one HttpCache.make made fails every call with InvalidOptions, sending nothing", () =>
    Effect.gen(function*() {
      const { client, seen } = origin((_request, _url, now) => cacheable(now))
      for (const bad of [{ _tag: "HttpCache" }, "cache", null, 1]) {
        const api = SturdyClient.makeWith(client, {
          baseUrl: apiOrigin,
          cache: bad as unknown as HttpCache.HttpCache
        })
        const failure = yield* failureOf(api.get("/users/1"))
        expect(failure).toMatchObject({ _tag: "InvalidRequest", reason: "InvalidOptions" })
        expect(failure.message).toContain("cache must be an HttpCache")
      }
      expect(seen).toHaveLength(0)
      // layerConfig takes a cache as `Config.succeed(cache)`, and fails with a ConfigError for anything else
      const { cache } = yield* makeCache()
      const viaConfig = (value: HttpCache.HttpCache) =>
        Effect.exit(
          Effect.flatMap(SturdyClient.SturdyClient, (api) => api.get("/users/1")).pipe(
            Effect.provide(
              SturdyClient.layerConfig({ baseUrl: Config.succeed(apiOrigin), cache: Config.succeed(value) }).pipe(
                Layer.provide(Layer.succeed(HttpClient.HttpClient, client))
              )
            )
          )
        )
      const bad = yield* viaConfig({ _tag: "HttpCache" })
      expect(Exit.isFailure(bad) && ConfigError.isConfigError(Cause.squash(bad.cause))).toBe(true)
      expect(String(Exit.isFailure(bad) ? Cause.squash(bad.cause) : "")).toContain("cache must be an HttpCache")
      expect(Exit.isSuccess(yield* viaConfig(cache))).toBe(true)
      expect(Exit.isSuccess(yield* viaConfig(cache))).toBe(true)
      expect(seen).toHaveLength(1)
    }).pipe(Effect.scoped))
})
