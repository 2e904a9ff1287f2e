/**
 * Streamed JSON Lines, as a model server answers (`application/x-ndjson`, one JSON object a line, the last one with
 * `done: true`), decoded with a Schema. A loopback `node:http` server is busy on the first request (503,
 * `Retry-After: 0`): the client wrapped with `Policy.withPolicy` retries it, and the tokens then arrive once each,
 * written in small pieces that cut lines (and a multi-byte character) anywhere. A second endpoint sends a line that
 * is not JSON: the stream fails with the typed `InvalidJson`, naming line 3, after the two good items.
 *
 * Run: `pnpm example examples/json-lines.ts`
 */
import { HttpClient } from "@effect/platform"
import { NodeRuntime } from "@effect/platform-node"
import { JsonLines, Policy } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { Console, Effect, Schema, Stream } from "effect"
import * as Http from "node:http"
import type * as Net from "node:net"
import { pathToFileURL } from "node:url"

const Token = Schema.Struct({ response: Schema.String, done: Schema.Boolean })
const tokens = ["Ré", "sil", "ient", " stre", "ams", "."]

/** Writes `text` in pieces of `size` bytes, each its own write. */
const writeInPieces = (response: Http.ServerResponse, text: string, size: number) => {
  const bytes = Buffer.from(text)
  const next = (at: number): void => {
    if (at >= bytes.length) return void response.end()
    response.write(bytes.subarray(at, at + size), () => setImmediate(() => next(at + size)))
  }
  next(0)
}

const modelServer = Effect.acquireRelease(
  Effect.async<{ server: Http.Server; url: string; seen: Array<string> }>((resume) => {
    const seen: Array<string> = []
    const server = Http.createServer((request, response) => {
      seen.push(request.url ?? "")
      if (request.url === "/generate" && seen.filter((url) => url === "/generate").length === 1) {
        response.writeHead(503, { "retry-after": "0", "content-type": "text/plain" })
        return response.end("loading the model")
      }
      response.writeHead(200, { "content-type": "application/x-ndjson" })
      if (request.url === "/broken") {
        return response.end("{\"response\":\"a\",\"done\":false}\n{\"response\":\"b\",\"done\":false}\n<html>oops\n")
      }
      const lines = tokens.map((token, i) => JSON.stringify({ response: token, done: i === tokens.length - 1 }))
      writeInPieces(response, lines.join("\n") + "\n", 7)
    })
    server.listen(
      0,
      "127.0.0.1",
      () =>
        resume(Effect.succeed({ server, url: `http://127.0.0.1:${(server.address() as Net.AddressInfo).port}`, seen }))
    )
  }),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
)

export const main = Effect.gen(function*() {
  const model = yield* modelServer
  const policy = yield* Policy.make({ retry: { maxAttempts: 3, baseDelay: "10 millis" }, circuitBreaker: false })
  const client = Policy.withPolicy(yield* HttpClient.HttpClient, policy)
  let text = ""
  yield* JsonLines.stream(client, `${model.url}/generate`, Token, { idleTimeout: "5 seconds" }).pipe(
    Stream.runForEach((token) => Effect.sync(() => (text += token.response)))
  )
  yield* Console.log(`generated: ${text}`)
  yield* Console.log(`requests to /generate: ${model.seen.filter((url) => url === "/generate").length}`)
  let received = 0
  const outcome = yield* JsonLines.stream(client, `${model.url}/broken`, Token).pipe(
    Stream.runForEach(() => Effect.sync(() => received++)),
    Effect.as("no failure"),
    Effect.catchTag("InvalidJson", (e) => Effect.succeed(`InvalidJson at ${e.detail.split(":")[0]}`))
  )
  yield* Console.log(`broken: ${received} items, then ${outcome}`)
}).pipe(Effect.scoped, Effect.provide(UndiciHttpClient.layer()))

// runs when executed, not when the smoke test imports `main`
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) NodeRuntime.runMain(main)
