/**
 * Sturdy from Promise code: a plain `node:http` app whose route handler is an `async` function calls a flaky upstream
 * through `Policy.json`, run by a `Runner` rather than a `Runtime.runPromise` per request.
 *
 * The app's layers (the undici transport and the `Policy`) are built once in a `ManagedRuntime`; the `Runner` made on
 * that runtime keeps a few worker fibers parked and hands each request to one of them. The handler gets what
 * `Runtime.runPromise` would give: the value, or a rejection with the `FiberFailure` of the cause. Here every
 * failure is turned into an HTTP answer inside the program, so the Promise always resolves.
 *
 * Run: `pnpm example examples/promise-handler.ts`
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { NodeRuntime } from "@effect/platform-node"
import { Policy } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { Runner } from "@sturdy/policy"
import { FaultScript, FaultServer } from "@sturdy/testing"
import { Console, Effect, Layer, ManagedRuntime, Schema } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { pathToFileURL } from "node:url"

const Price = Schema.Struct({ sku: Schema.String, cents: Schema.Number })

const upstreamRoutes = FaultScript.routes({
  "GET /prices/apple": FaultScript.json({ sku: "apple", cents: 45 }),
  // one 503 first: the policy retries it
  "GET /prices/pear": FaultScript.sequence(FaultScript.status(503), FaultScript.json({ sku: "pear", cents: 60 })),
  "GET /prices/plum": FaultScript.status(404),
  // the wrong shape: a typed SchemaMismatch, never retried
  "GET /prices/fig": FaultScript.json({ sku: "fig", cents: "a lot" })
})

// Short backoff so the example runs in a moment; the defaults wait 2 s before the first retry.
const AppLive = Layer.mergeAll(
  UndiciHttpClient.layer({ connections: 16 }),
  Policy.layer({ retry: { baseDelay: "20 millis", maxDelay: "100 millis" } })
)

interface Answer {
  readonly status: number
  readonly body: unknown
}

// The route's work as an Effect: every failure kind becomes an answer, so the handler's Promise always resolves.
const quote = (upstream: string, sku: string): Effect.Effect<Answer, never, HttpClient.HttpClient | Policy.Policy> =>
  Effect.flatMap(
    HttpClient.HttpClient,
    (client) => Policy.json(client, HttpClientRequest.get(`${upstream}/prices/${encodeURIComponent(sku)}`), Price)
  ).pipe(
    Effect.map((price): Answer => ({ status: 200, body: price })),
    Effect.catchTags({
      ClientError: (failure) => Effect.succeed<Answer>({ status: failure.status, body: { error: "no such sku" } }),
      SchemaMismatch: () => Effect.succeed<Answer>({ status: 502, body: { error: "upstream sent a bad price" } })
    }),
    Effect.catchAll((failure) => Effect.succeed<Answer>({ status: 503, body: { error: failure._tag } }))
  )

// A plain Node handler: Promise code all the way, with the runner as its only bridge into Effect.
const handler =
  (runner: Runner.Runner<HttpClient.HttpClient | Policy.Policy>, upstream: string) =>
  async (request: Http.IncomingMessage, response: Http.ServerResponse) => {
    const sku = (request.url ?? "/").split("/").pop() ?? ""
    const answer = await runner.runPromise(quote(upstream, sku))
    response.writeHead(answer.status, { "content-type": "application/json" })
    response.end(JSON.stringify(answer.body))
  }

const listen = (server: Http.Server) =>
  Effect.async<string>((resume) => {
    server.listen(0, "127.0.0.1", () =>
      resume(Effect.succeed(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)))
  })

export const main = Effect.gen(function*() {
  const upstream = yield* FaultServer.make(upstreamRoutes)
  const managed = yield* Effect.acquireRelease(
    Effect.sync(() => ManagedRuntime.make(AppLive)),
    (managed) => Effect.promise(() => managed.dispose())
  )
  const runtime = yield* Effect.promise(() => managed.runtime())
  const runner = yield* Effect.acquireRelease(
    Effect.sync(() => Runner.unsafeMake(runtime, { maxIdle: 8 })),
    (runner) => Effect.sync(() => runner.close())
  )
  const app = yield* Effect.acquireRelease(
    Effect.sync(() => Http.createServer(handler(runner, upstream.url))),
    (server) =>
      Effect.async<void>((resume) => {
        server.close(() => resume(Effect.void))
      })
  )
  const appUrl = yield* listen(app)

  for (const sku of ["apple", "pear", "plum", "fig"]) {
    const { body, status } = yield* Effect.promise(async () => {
      const answer = await fetch(`${appUrl}/quote/${sku}`)
      return { status: answer.status, body: await answer.text() }
    })
    yield* Console.log(`GET /quote/${sku.padEnd(5)} -> ${status} ${body}`)
  }
  const seen = yield* upstream.requests
  yield* Console.log(`upstream saw ${seen.length} requests; ${runner.idle} worker fiber(s) parked, ${runner.busy} busy`)
}).pipe(Effect.scoped)

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) NodeRuntime.runMain(main)
