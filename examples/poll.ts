/**
 * A long-running operation through the caller's own policy: a loopback `node:http` server answers `POST /exports`
 * with `202 Accepted`, an `Operation-Location` monitor and a `Location` for the result (as Azure's APIs do). The
 * monitor says `Running` twice, fails once with a 503 (retried by the policy, not by the poller), then `Succeeded`;
 * `Poll.operationJson` then fetches the export from `Location` and decodes it with its `Schema`. A second export whose
 * monitor is on another origin fails with a typed `PollError` (`CrossOrigin`) before the bearer token goes there.
 *
 * Run: `pnpm example examples/poll.ts`
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { NodeRuntime } from "@effect/platform-node"
import { Policy, Poll } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { Console, Effect, Schema } from "effect"
import * as Http from "node:http"
import type * as Net from "node:net"
import { pathToFileURL } from "node:url"

const Export = Schema.Struct({ id: Schema.String, rows: Schema.Number })

/** `POST /exports` starts an export; `/operations/1` reports on it; `/exports/1` is the result. */
const exportServer = Effect.acquireRelease(
  Effect.async<{ readonly server: Http.Server; readonly url: string; readonly log: Array<string> }>((resume) => {
    const log: Array<string> = []
    let polls = 0
    const server = Http.createServer((req, res) => {
      const path = req.url ?? "/"
      const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        log.push(`${req.method} ${path} -> ${status}`)
        res.writeHead(status, { "content-type": "application/json", ...headers })
        res.end(JSON.stringify(body))
      }
      if (req.method === "POST" && path === "/exports") {
        return json(202, { status: "NotStarted" }, {
          "operation-location": "/operations/1",
          location: "/exports/1",
          "retry-after": "0"
        })
      }
      if (req.method === "POST" && path === "/exports-elsewhere") {
        return json(202, {}, { "operation-location": "http://localhost:1/operations/2" })
      }
      if (path === "/operations/1") {
        polls++
        if (polls === 3) return json(503, { error: "busy" }, { "retry-after": "0" })
        return json(200, { status: polls < 3 ? "Running" : "Succeeded" })
      }
      if (path === "/exports/1") return json(200, { id: "export-1", rows: 1200 })
      return json(404, {})
    })
    server.listen(
      0,
      "127.0.0.1",
      () =>
        resume(Effect.succeed({ server, url: `http://127.0.0.1:${(server.address() as Net.AddressInfo).port}`, log }))
    )
  }),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
)

export const main = Effect.gen(function*() {
  const api = yield* exportServer
  const client = yield* HttpClient.HttpClient
  const start = (path: string) =>
    Poll.operationJson(
      HttpClientRequest.post(`${api.url}${path}`).pipe(HttpClientRequest.bearerToken("demo-token")),
      (request) => Policy.send(client, request),
      Export,
      // short waits for the demo; the defaults are smithy's (2 s to 120 s) and a 5-minute maxWait
      { minDelay: "20 millis", maxDelay: "100 millis", maxWait: "30 seconds" }
    )

  const exported = yield* start("/exports")
  yield* Console.log(`export: ${exported.id}, ${exported.rows} rows`)
  yield* Console.log("what the server saw:")
  for (const line of api.log.splice(0)) yield* Console.log(`  ${line}`)

  const refused = yield* start("/exports-elsewhere").pipe(
    Effect.map(() => "polled"),
    Effect.catchTag("PollError", (e) => Effect.succeed(`${e.reason}: ${e.message}`))
  )
  yield* Console.log(`another origin: ${refused}`)
}).pipe(
  Effect.scoped,
  Effect.provide(Policy.layer({ retry: { maxAttempts: 3, baseDelay: "20 millis" } })),
  Effect.provide(UndiciHttpClient.layer())
)

// runs when executed, not when the smoke test imports `main`
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) NodeRuntime.runMain(main)
