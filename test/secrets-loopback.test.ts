import { FetchHttpClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Attempt, Auth, HttpFailure, Policy, Redaction, Redirect, SturdyClient } from "@sturdy/http"
import { TestTracer } from "@sturdy/testing"
import { Cause, Effect, HashMap, Layer, Logger, LogLevel, Redacted, Schema } from "effect"
import type * as Net from "node:net"
import * as Util from "node:util"
import * as Loopback from "./utils/loopbackServer.js"
import * as Raw from "./utils/rawServer.js"
import { renderings, safeJson } from "./utils/renderings.js"
import { transports as allTransports } from "./utils/transports.js"

// fetch follows redirects itself, to wherever `Location` says (here, off the loopback): not in these tests
const transports = allTransports.map(([name, layer]) =>
  [
    name,
    name.startsWith("Fetch")
      ? FetchHttpClient.layer.pipe(Layer.provide(Layer.succeed(FetchHttpClient.RequestInit, { redirect: "manual" })))
      : layer
  ] as const
)

// Every secret a client can hold, each a distinct string so a leak names its source.
const secret = {
  authorization: "S-AUTHZ-5a1f09",
  cookie: "S-COOKIE-77c2e1",
  apiKeyHeader: "S-APIKEYHDR-0d4b",
  tokenHeader: "S-TOKENHDR-9e12",
  tenant: "S-TENANT-41aa0c", // a header the user declares secret
  partner: "S-PARTNER-c0ffee", // attached by Auth under a name that is not secret
  apiKey: "S-QAPIKEY-13b7",
  accessToken: "S-QACCESS-8f3c",
  jwt: "S-QJWT-2b9d44",
  idToken: "S-QIDTOKEN-6e0a",
  refreshToken: "S-QREFRESH-1c5f",
  code: "S-QCODE-90ab7d",
  session: "S-QSESSION-3f8e",
  sig: "S-QSIG-55d2a9",
  password: "S-QPASSWORD-7a61",
  myToken: "S-QMYTOKEN-c4e8",
  licenseKey: "S-QLICENSE-0b3d",
  tenantRef: "S-QTENANTREF-a9f2", // a parameter the user declares secret
  user: "S-USERINFO-u1x9",
  userPassword: "S-USERINFO-p7q3",
  fragment: "S-FRAGMENT-e5d8",
  fragmentToken: "S-FRAGTOKEN-b2c6",
  setCookie: "S-SETCOOKIE-4d6a",
  locationCode: "S-LOCATIONCODE-91fe",
  linkSig: "S-LINKSIG-07aa"
}
const all = Object.values(secret)

const headers = {
  authorization: `Bearer ${secret.authorization}`,
  cookie: `sid=${secret.cookie}`,
  "x-api-key": secret.apiKeyHeader,
  "x-auth-token": secret.tokenHeader,
  "x-tenant": secret.tenant
}
const urlParams = {
  api_key: secret.apiKey,
  access_token: secret.accessToken,
  jwt: secret.jwt,
  id_token: secret.idToken,
  refresh_token: secret.refreshToken,
  code: secret.code,
  session: secret.session,
  sig: secret.sig,
  password: secret.password,
  my_token: secret.myToken,
  license_key: secret.licenseKey,
  tenant_ref: secret.tenantRef,
  page: "2"
}
const fragment = `#${secret.fragment}&access_token=${secret.fragmentToken}`
const userNames = ["x-tenant", "tenant_ref"]

/** A hostile server: error pages echo the request head, headers echo credentials and carry OAuth codes. */
const hostile =
  (body: (request: Raw.RawRequest) => string, status: string, contentType = "text/plain") =>
  (socket: Net.Socket, request: Raw.RawRequest) =>
    Raw.respond(socket, status, [
      ["Content-Type", contentType],
      ["Set-Cookie", `session=${secret.setCookie}; HttpOnly`],
      ["X-Echo-Partner", request.headers["x-partner"] ?? ""],
      ["X-Echo-Tenant", request.headers["x-tenant"] ?? ""],
      ["Location", `https://app.test/cb?code=${secret.locationCode}&state=ok`],
      ["Link", `<https://api.test/next?sig=${secret.linkSig}>; rel="next"`]
    ], body(request))

const routes: Record<string, Raw.RawHandler> = {
  "/unauthorized": hostile(Raw.echo, "401 Unauthorized"),
  "/limited": hostile(Raw.echo, "429 Too Many Requests"),
  "/broken": hostile(Raw.echo, "500 Internal Server Error"),
  "/moved": hostile(Raw.echo, "302 Found"),
  "/html": hostile(Raw.echo, "200 OK", "text/html"),
  "/invalid-json": hostile((r) => `{"echo": ${JSON.stringify(r.head)}, `, "200 OK", "application/json"),
  "/deep": hostile(() => `${"[".repeat(3_000)}${"]".repeat(3_000)}`, "200 OK", "application/json"),
  "/mismatch": hostile(
    (r) => JSON.stringify({ id: r.headers["x-partner"], tenant: r.headers["x-tenant"], head: r.head }),
    "200 OK",
    "application/json"
  ),
  "/large": (socket) =>
    Raw.respond(socket, "200 OK", [["Content-Type", "application/json"], ["Content-Length", "999999999"]], "[1"),
  "/truncated": (socket, request) => {
    socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n`)
    socket.write(`{"echo": ${JSON.stringify(request.head)}`)
    setTimeout(() => socket.destroy(), 20)
  },
  "/reset": (socket) => socket.destroy(),
  "/hang": () => {},
  "/slow-body": (socket) => {
    socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 64\r\n\r\n[1,`)
  },
  "/loop": (socket) => Raw.respond(socket, "302 Found", [["Location", `/loop?code=${secret.locationCode}`]], ""),
  "/to-file": (socket) =>
    Raw.respond(socket, "302 Found", [["Location", `file:///etc/passwd?code=${secret.locationCode}`]], "")
}

const Item = Schema.Struct({ id: Schema.Number })

const spanRenderings = (tracer: TestTracer.TestTracer): ReadonlyArray<string> =>
  tracer.spans.flatMap((span) => [
    span.name,
    safeJson(Object.fromEntries(span.attributes)),
    Util.inspect(span.events, { depth: 20 }),
    ...(span.status._tag === "Ended"
      ? [
        Util.inspect(span.status.exit, { depth: 20, getters: true }),
        span.status.exit._tag === "Failure" ? Cause.pretty(span.status.exit.cause) : ""
      ]
      : [])
  ])

const leaksIn = (texts: ReadonlyArray<string>): ReadonlyArray<string> =>
  all.flatMap((s) => texts.filter((text) => text.includes(s)).map((text) => `${s} in: ${text.slice(0, 400)}`))

interface Observed {
  readonly tag: string
  readonly texts: ReadonlyArray<string>
}

/** Runs one call with a tracer, a logger at every level and an event hook, and collects everything it rendered. */
const observe = <A, E>(
  call: (onEvent: Policy.RunOptions["onEvent"]) => Effect.Effect<A, E, never>
): Effect.Effect<Observed> =>
  Effect.gen(function*() {
    const tracer = TestTracer.make()
    const lines: Array<string> = []
    const events: Array<unknown> = []
    const logger = Logger.make(({ annotations, cause, logLevel, message }) => {
      lines.push(
        `${logLevel.label} ${Util.inspect(message, { depth: 10 })} ${
          Util.inspect(HashMap.toEntries(annotations), { depth: 10 })
        } ${Cause.pretty(cause)}`
      )
    })
    const exit = yield* Effect.exit(
      call((event) => Effect.sync(() => events.push(event))).pipe(
        Redaction.withSecretNames(userNames),
        Effect.withTracer(tracer.tracer),
        Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
        Logger.withMinimumLogLevel(LogLevel.All)
      )
    )
    if (exit._tag === "Success") return { tag: "Success", texts: [] }
    const failure = Cause.squash(exit.cause)
    const tag = typeof failure === "object" && failure !== null && "_tag" in failure ? String(failure._tag) : "defect"
    return {
      tag,
      texts: [
        ...renderings(failure),
        Cause.pretty(exit.cause),
        ...spanRenderings(tracer),
        ...lines,
        ...events.flatMap(renderings)
      ]
    }
  })

const policyOptions: Policy.Options = {
  retry: { maxAttempts: 2, baseDelay: "1 millis", maxDelay: "2 millis", budget: false },
  attemptTimeout: "400 millis",
  telemetry: true
}

describe.each(transports)("no secret leaves, whatever the failure, over %s", (name, transport) => {
  const isFetch = name.startsWith("Fetch")

  it.scopedLive("every failure kind through a SturdyClient with a policy: failures, spans, logs and events", () =>
    Effect.gen(function*() {
      const server = yield* Raw.start(routes)
      const port = yield* Loopback.closedPort
      const http = yield* HttpClient.HttpClient
      const policy = yield* Policy.make(policyOptions)
      const api = SturdyClient.makeWith(http, {
        baseUrl: server.url,
        headers,
        transformClient: (client) => client.pipe(Auth.apiKeyHeader("X-Partner", Redacted.make(secret.partner))),
        policy: policy
      })
      const redirecting = SturdyClient.makeWith(http, {
        baseUrl: server.url,
        headers,
        transformClient: (client) => client.pipe(Redirect.follow({ maxRedirects: 2 })),
        policy: policy
      })
      const breaking = SturdyClient.makeWith(http, {
        baseUrl: server.url,
        headers,
        policy: yield* Policy.make({ ...policyOptions, retry: false, circuitBreaker: { consecutiveFailures: 1 } })
      })
      const withOptions = (onEvent: Policy.RunOptions["onEvent"]) => ({ urlParams, schema: Item, onEvent })
      const calls: ReadonlyArray<
        readonly [string, (onEvent: Policy.RunOptions["onEvent"]) => Effect.Effect<unknown, unknown>]
      > = [
        ["ClientError", (e) => api.get(`/unauthorized${fragment}`, withOptions(e))],
        ["RateLimited", (e) => api.get("/limited", withOptions(e))],
        ["ServerError", (e) => api.get("/broken", withOptions(e))],
        ["UnexpectedStatus", (e) => api.get("/moved", withOptions(e))],
        ["UnexpectedContentType", (e) => api.get("/html", withOptions(e))],
        ["InvalidJson", (e) => api.get("/invalid-json", withOptions(e))],
        ["InvalidJson", (e) => api.get("/deep", withOptions(e))],
        ["SchemaMismatch", (e) => api.get("/mismatch", withOptions(e))],
        ["BodyTooLarge", (e) => api.get("/large", { ...withOptions(e), maxBodyBytes: 1024 })],
        ["BodyTruncated", (e) => api.get("/truncated", withOptions(e))],
        ["ConnectionError", (e) => api.get("/reset", withOptions(e))],
        ["ConnectionError", (e) => api.get(`http://127.0.0.1:${port}/refused${fragment}`, withOptions(e))],
        ["Timeout", (e) => api.get("/hang", withOptions(e))],
        ["Timeout", (e) => api.get("/slow-body", { ...withOptions(e), bodyTimeout: "100 millis" })],
        ["InvalidRequest", (e) => api.get("/unauthorized", { ...withOptions(e), headers: { "x-evil": "a\r\nb" } })],
        ["InvalidRequest", (e) => api.get(`http://exa mple.invalid/x?api_key=${secret.apiKey}`, withOptions(e))],
        ["RedirectFailed", (e) => redirecting.get("/loop", withOptions(e))],
        ["RedirectFailed", (e) => redirecting.get("/to-file", withOptions(e))],
        ["ServerError", (e) => breaking.get("/broken", withOptions(e))],
        ["CircuitOpen", (e) => breaking.get("/broken", withOptions(e))]
      ]
      const seen: Array<string> = []
      const leaks: Array<string> = []
      for (const [, call] of calls) {
        const observed = yield* observe(call)
        seen.push(observed.tag)
        leaks.push(...leaksIn(observed.texts).map((leak) => `${observed.tag}: ${leak}`))
      }
      expect(leaks).toEqual([])
      expect(seen).toEqual(calls.map(([tag]) => tag))
      // the secrets did travel: the server saw them
      const sent = server.requests.find((r) => r.path.startsWith("/unauthorized"))!
      expect(sent.head).toContain(secret.apiKeyHeader)
      expect(sent.head).toContain(secret.partner)
      expect(sent.path).toContain(secret.jwt)
    }).pipe(Effect.provide(transport)))

  it.scopedLive("deadline timeouts, user info, and the bare SturdyClient and Attempt.classify under a tracer", () =>
    Effect.gen(function*() {
      const server = yield* Raw.start(routes)
      const port = yield* Loopback.closedPort
      const http = yield* HttpClient.HttpClient
      const withUserInfo = (url: string) => url.replace("http://", `http://${secret.user}:${secret.userPassword}@`)
      const policy = yield* Policy.make({ ...policyOptions, totalTimeout: "300 millis", attemptTimeout: "300 millis" })
      const api = SturdyClient.makeWith(http, { baseUrl: withUserInfo(server.url), headers, policy })
      const bare = SturdyClient.makeWith(http, { baseUrl: server.url, headers, timeout: "300 millis" })
      const calls: ReadonlyArray<(onEvent: Policy.RunOptions["onEvent"]) => Effect.Effect<unknown, unknown>> = [
        (onEvent) => api.get(`/hang${fragment}`, { urlParams, onEvent }),
        (onEvent) => api.get("/unauthorized", { urlParams, onEvent }),
        (onEvent) => api.get(withUserInfo(`http://127.0.0.1:${port}/refused`), { urlParams, onEvent }),
        () => bare.get(`/unauthorized${fragment}`, { urlParams }),
        () => bare.get("/reset", { urlParams }),
        () => bare.get("/hang", { urlParams }),
        () => bare.get(`http://127.0.0.1:${port}/refused`, { urlParams }),
        () => bare.get("/invalid-json", { urlParams, schema: Item }),
        () => bare.get(withUserInfo(`${server.url}/unauthorized`), { urlParams }),
        () =>
          Attempt.classify(http).execute(
            HttpClientRequest.get(`http://127.0.0.1:${port}/refused${fragment}`, { urlParams, headers })
          ),
        () => Attempt.classify(http).execute(HttpClientRequest.get(`${server.url}/limited`, { urlParams, headers }))
      ]
      const leaks: Array<string> = []
      const tags: Array<string> = []
      for (const call of calls) {
        const observed = yield* observe(call)
        tags.push(observed.tag)
        leaks.push(...leaksIn(observed.texts).map((leak) => `${observed.tag}: ${leak}`))
      }
      expect(leaks).toEqual([])
      // fetch refuses URLs with credentials before sending; every other transport sends them
      expect(tags.slice(0, 3)).toEqual(
        isFetch
          ? ["ConnectionError", "ConnectionError", "ConnectionError"]
          : ["Timeout", "ClientError", "ConnectionError"]
      )
      expect(tags.slice(3)).toEqual([
        "ClientError",
        "ConnectionError",
        "Timeout",
        "ConnectionError",
        "InvalidJson",
        isFetch ? tags[8] : "ClientError",
        "ConnectionError",
        "RateLimited"
      ])
      for (const tag of tags) expect(tag === "defect" || tag === "Success").toBe(false)
    }).pipe(Effect.provide(transport)))
})

describe("the platform's client span is replaced under a tracer", () => {
  it.scopedLive("a bare SturdyClient records one redacted client span, with trace headers sent", () =>
    Effect.gen(function*() {
      const server = yield* Raw.start(routes)
      const http = yield* HttpClient.HttpClient
      const tracer = TestTracer.make()
      const bare = SturdyClient.makeWith(http, { baseUrl: server.url, headers })
      const failure = yield* Effect.flip(
        bare.get("/unauthorized", { urlParams }).pipe(
          Redaction.withSecretNames(userNames),
          Effect.withTracer(tracer.tracer)
        )
      )
      expect(failure._tag).toBe("ClientError")
      expect(tracer.spans.map((span) => span.name)).toEqual(["http.client GET"])
      const [span] = tracer.spans
      const redactedQuery = Object.keys(urlParams).map((name) => `${name}=${name === "page" ? "2" : "<redacted>"}`)
      expect(span.attributes.get("url.full")).toBe(`${server.url}/unauthorized?${redactedQuery.join("&")}`)
      expect(span.attributes.get("url.query")).toBe(redactedQuery.join("&"))
      expect(span.attributes.get("http.response.status_code")).toBe(401)
      expect(span.attributes.get("http.request.header.authorization")).toBe("<redacted>")
      expect(span.attributes.get("http.response.header.location")).toBe("https://app.test/cb?code=<redacted>&state=ok")
      // the trace context went out from our span
      expect(server.requests[0].headers.traceparent).toContain(span.spanId)
      expect(HttpFailure.isHttpFailure(failure)).toBe(true)
    }).pipe(Effect.provide(transports[0][1])))

  it.scopedLive("with Auth.apiKeyQuery under Attempt: one redacted client span, not two", () =>
    Effect.gen(function*() {
      const server = yield* Raw.start(routes)
      const http = (yield* HttpClient.HttpClient).pipe(Auth.apiKeyQuery("k", Redacted.make(secret.partner)))
      const tracer = TestTracer.make()
      const failure = yield* Effect.flip(
        Attempt.send(http, HttpClientRequest.get(`${server.url}/unauthorized`)).pipe(Effect.withTracer(tracer.tracer))
      )
      expect(failure._tag).toBe("ClientError")
      expect(tracer.spans.map((span) => span.name)).toEqual(["http.client GET"])
      expect(server.requests[0].path).toContain(secret.partner)
      for (const text of [...spanRenderings(tracer), ...renderings(failure)]) expect(text).not.toContain(secret.partner)
    }).pipe(Effect.provide(transports[0][1])))
})
