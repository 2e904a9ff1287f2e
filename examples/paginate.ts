/**
 * Pagination through the caller's own policy: a loopback `node:http` server lists 12 repositories, 5 a page, linked
 * with GitHub's `Link: <…>; rel="next"` header, and answers page 2 with a 503 once. `Paginate.links` fetches each
 * page with `Policy.send`, so the policy retries page 2 alone and every repository arrives once. Then `Stream.take(3)`
 * fetches one page only, and a server whose next link points to another origin is refused with a typed
 * `PaginationError` (the bearer token is never sent there). The requests are written relative (`/repos`) and resolved
 * against the `baseUrl` option, as a `SturdyClient` resolves them.
 *
 * Run: `pnpm example examples/paginate.ts`
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { NodeRuntime } from "@effect/platform-node"
import { Attempt, Paginate, Policy } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { Chunk, Console, Effect, Schema, Stream } from "effect"
import * as Http from "node:http"
import type * as Net from "node:net"
import { pathToFileURL } from "node:url"

const Repo = Schema.Struct({ id: Schema.Number, name: Schema.String })
const repos = Array.from({ length: 12 }, (_, i) => ({ id: i + 1, name: `repo-${i + 1}` }))
const perPage = 5

/** `/repos?page=N` answers 5 repositories and a `Link` to the next page; page 2 fails once with 503. */
const reposServer = Effect.acquireRelease(
  Effect.async<{ readonly server: Http.Server; readonly url: string; readonly log: Array<string> }>((resume) => {
    const log: Array<string> = []
    let failedOnce = false
    const server = Http.createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1")
      const page = Number(url.searchParams.get("page") ?? "1")
      if (url.pathname === "/elsewhere") {
        // a next link to another origin (another port): the client must not follow it
        log.push(`GET ${req.url} (authorization: ${req.headers.authorization === undefined ? "none" : "sent"})`)
        res.writeHead(200, { "content-type": "application/json", link: `<http://localhost:1/steal>; rel="next"` })
        return res.end("[]")
      }
      if (page === 2 && !failedOnce) {
        failedOnce = true
        log.push(`GET ${req.url} -> 503`)
        res.writeHead(503, { "content-type": "application/json", "retry-after": "0" })
        return res.end(`{"error":"busy"}`)
      }
      log.push(`GET ${req.url} -> 200`)
      const from = (page - 1) * perPage
      const last = from + perPage >= repos.length
      res.writeHead(200, {
        "content-type": "application/json",
        ...(last ? {} : { link: `</repos?page=${page + 1}>; rel="next", </repos?page=3>; rel="last"` })
      })
      res.end(JSON.stringify(repos.slice(from, from + perPage)))
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
  const api = yield* reposServer
  const client = yield* HttpClient.HttpClient
  const first = HttpClientRequest.get("/repos").pipe(HttpClientRequest.bearerToken("demo-token"))
  const allRepos = (request: HttpClientRequest.HttpClientRequest) =>
    Paginate.links(request, (page) => Policy.send(client, page), { baseUrl: api.url }).pipe(
      Stream.mapEffect((page) => Attempt.decodeJson(page, Schema.Array(Repo))),
      Paginate.items((page) => page)
    )

  const all = yield* Stream.runCollect(allRepos(first))
  yield* Console.log(`all: ${Chunk.toReadonlyArray(all).map((repo) => repo.id).join(", ")}`)
  yield* Console.log("what the server saw:")
  for (const line of api.log.splice(0)) yield* Console.log(`  ${line}`)

  const three = yield* Stream.runCollect(Stream.take(allRepos(first), 3))
  yield* Console.log(`first 3: ${Chunk.toReadonlyArray(three).map((repo) => repo.name).join(", ")}`)
  yield* Console.log(`requests for them: ${api.log.splice(0).length}`)

  const refused = yield* Stream.runDrain(allRepos(HttpClientRequest.setUrl(first, "/elsewhere"))).pipe(
    Effect.catchTag("PaginationError", (e) => Effect.succeed(`${e.reason}: ${e.message}`))
  )
  yield* Console.log(`another origin: ${refused}`)
  for (const line of api.log.splice(0)) yield* Console.log(`  ${line}`)
}).pipe(
  Effect.scoped,
  Effect.provide(Policy.layer({ retry: { maxAttempts: 3, baseDelay: "50 millis" } })),
  Effect.provide(UndiciHttpClient.layer())
)

// runs when executed, not when the smoke test imports `main`
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) NodeRuntime.runMain(main)
