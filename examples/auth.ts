/**
 * Authentication that keeps secrets secret: an OAuth2 client-credentials token, fetched once and shared, refreshed
 * when the API answers 401 (the request is replayed once with the new token); and an API key in a query parameter.
 * Credentials stay `Redacted` end to end: error messages, logs and spans show `<redacted>`.
 *
 * The FaultServer plays both the token endpoint and the API. Its request log (what the server really received) is
 * printed with every credential replaced by a label, so you can see which token each request carried.
 *
 * Run: `pnpm example examples/auth.ts`
 */
import { NodeRuntime } from "@effect/platform-node"
import { Auth, OAuth2, SturdyClient } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { FaultScript, FaultServer } from "@sturdy/testing"
import { Console, Effect, Layer, Redacted, Schema } from "effect"
import { pathToFileURL } from "node:url"

const Reports = Schema.Struct({ reports: Schema.Array(Schema.String) })

const token = (n: number) =>
  FaultScript.json({ access_token: `at-s3cret-${n}`, token_type: "Bearer", expires_in: 3600 })

const routes = FaultScript.routes({
  "POST /oauth/token": FaultScript.sequence(token(1), token(2)),
  // the first token is revoked server-side: the API answers 401 once, then accepts the refreshed one
  "GET /reports": FaultScript.sequence(FaultScript.status(401), FaultScript.json({ reports: ["q1", "q2"] })),
  "GET /reports/archive": FaultScript.json({ reports: ["2025"] }),
  "GET /v1/search": FaultScript.status(500)
})

const clientSecret = Redacted.make("cl1ent-s3cret")
const apiKey = Redacted.make("k3y-s3cret")

/** What the server received, with each credential shown as a label instead of its value. */
const label = (value: string | undefined): string => {
  if (value === undefined) return "none"
  if (value.startsWith("Basic ")) return "Basic <client id:secret>"
  const bearer = value.match(/^Bearer at-s3cret-(\d+)$/)
  return bearer ? `Bearer <token #${bearer[1]}>` : "<other>"
}

export const main = Effect.gen(function*() {
  const server = yield* FaultServer.make(routes)

  // 1. OAuth2 client credentials: the layer wraps the HttpClient that SturdyClient is built on
  const OAuthClient = OAuth2.layerClientCredentials({
    tokenUrl: `${server.url}/oauth/token`,
    clientId: "reporting",
    clientSecret
  }).pipe(Layer.provide(UndiciHttpClient.layer()))

  yield* Effect.gen(function*() {
    const api = yield* SturdyClient.make({ baseUrl: server.url, timeout: "1 second" })
    const reports = yield* api.get("/reports", { schema: Reports })
    const archive = yield* api.get("/reports/archive", { schema: Reports })
    yield* Console.log(`reports: ${reports.reports.join(", ")}; archive: ${archive.reports.join(", ")}`)
  }).pipe(Effect.provide(OAuthClient))

  // 2. an API key in the query string: sent to the server, never shown in a message
  yield* Effect.gen(function*() {
    const api = yield* SturdyClient.make({
      baseUrl: server.url,
      transformClient: Auth.apiKeyQuery("api_key", apiKey)
    })
    const failure = yield* api.get("/v1/search", { urlParams: { q: "sturdy" } }).pipe(Effect.flip)
    yield* Console.log(`search failed: ${failure.message}`)
    yield* Console.log(`secret in the error? ${JSON.stringify(failure).includes("s3cret") ? "yes" : "no"}`)
  }).pipe(Effect.provide(UndiciHttpClient.layer()))

  yield* Console.log("\nwhat the server received:")
  for (const request of yield* server.requests) {
    const fault = request.fault
    const status = fault._tag === "Respond" ? fault.status : fault._tag
    const path = request.path.replace(/api_key=[^&]+/, "api_key=<the key>")
    const auth = label(request.headers["authorization"])
    yield* Console.log(`  ${`${request.method} ${path}`.padEnd(42)} authorization: ${auth.padEnd(26)} -> ${status}`)
  }
}).pipe(Effect.scoped)

// runs when executed, not when the smoke test imports `main`
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) NodeRuntime.runMain(main)
