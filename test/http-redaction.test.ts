import { HttpClient, HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import type { HttpFailure } from "@sturdy/http"
import { Attempt, SturdyClient } from "@sturdy/http"
import { Cause, Effect, Inspectable, Schema } from "effect"
import * as Loopback from "./utils/loopbackServer.js"
import { transports } from "./utils/transports.js"
import { failureIn } from "./utils/undiciClient.js"

const secrets = [
  "sk-AUTH-41c7",
  "COOKIE-93ab",
  "APIKEY-HEADER-0d1f",
  "X-TOKEN-77aa",
  "QUERY-APIKEY-5e2b",
  "QUERY-ACCESS-TOKEN-8f3c",
  "QUERY-SIG-1b9d",
  "QUERY-PASSWORD-6a4e",
  "QUERY-CLIENT-SECRET-2c8f",
  "SET-COOKIE-SESSION-4d6a",
  "BODY-ACCESS-TOKEN-9e1b"
]

const secretHeaders = {
  authorization: `Bearer ${secrets[0]}`,
  cookie: `sid=${secrets[1]}`,
  "x-api-key": secrets[2],
  "x-auth-token": secrets[3]
}

const secretQuery = {
  api_key: secrets[4],
  access_token: secrets[5],
  sig: secrets[6],
  password: secrets[7],
  client_secret: secrets[8],
  page: "2"
}

const routes: Record<string, Loopback.Handler> = {
  "/unauthorized": Loopback.json(401, { error: "bad token", access_token: secrets[10] }, {
    "set-cookie": `session=${secrets[9]}; HttpOnly`,
    "x-session-token": secrets[9]
  }),
  "/mismatch": Loopback.json(200, { id: secrets[10] }),
  "/invalid-json": Loopback.text(200, "application/json", `{"access_token":"${secrets[10]}",`),
  "/slow": Loopback.slowHeaders(1_000)
}

const failureOf = failureIn

/** Every rendering of a failure a user or a logger could produce. */
const renderings = (failure: HttpFailure.HttpFailure): ReadonlyArray<string> => [
  failure.message,
  String(failure),
  failure.toString(),
  JSON.stringify(failure),
  JSON.stringify(failure.toJSON()),
  Inspectable.format(failure),
  Cause.pretty(Cause.fail(failure)),
  String(Cause.fail(failure)),
  failure.stack ?? ""
]

const expectNoSecret = (failure: HttpFailure.HttpFailure) => {
  for (const text of renderings(failure)) {
    for (const secret of secrets) expect(text).not.toContain(secret)
  }
}

describe.each(transports)("no secret leaks over %s", (_, transport) => {
  it.live("status, decode, timeout, connection and invalid-request failures keep secrets out", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* Loopback.start(routes)
      const client = yield* HttpClient.HttpClient
      const api = SturdyClient.makeWith(client, { baseUrl: server.url, headers: secretHeaders })
      const options = { urlParams: secretQuery, schema: Schema.Struct({ id: Schema.Number }) }
      const port = yield* Loopback.closedPort

      const failures = yield* Effect.all([
        api.get("/unauthorized", options),
        api.get("/mismatch", options),
        api.get("/invalid-json", options),
        api.get("/slow", { ...options, timeout: "100 millis" }),
        api.get(`http://127.0.0.1:${port}/closed`, options),
        api.get("/unauthorized", { ...options, headers: { authorization: `Bearer ${secrets[0]}\r\n` } }),
        Attempt.json(
          client,
          HttpClientRequest.get(`http://user:${secrets[7]}@exa mple.invalid/?api_key=${secrets[4]}`),
          Schema.Unknown
        ),
        Attempt.classify(client).execute(
          HttpClientRequest.get(`${server.url}/unauthorized`, { urlParams: secretQuery, headers: secretHeaders })
        )
      ].map(failureOf))

      expect(failures.map((f) => f._tag)).toEqual([
        "ClientError",
        "SchemaMismatch",
        "InvalidJson",
        "Timeout",
        "ConnectionError",
        "InvalidRequest",
        "InvalidRequest",
        "ClientError"
      ])
      for (const failure of failures) expectNoSecret(failure)
      // the request did carry the secrets, and the non-secret parameter stays readable
      expect(server.requests[0].headers["x-api-key"]).toBe(secrets[2])
      expect(failures[0].message).toContain("page=2")
      expect(failures[0].message).toContain("api_key=<redacted>")
    })).pipe(Effect.provide(transport)))
})
