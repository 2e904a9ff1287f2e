/**
 * Server-Sent Events that survive a dropped connection: a loopback `node:http` server streams a price feed with ids,
 * and cuts the first connection after the third event. `EventStream.make` reconnects (after the `retry: 100` the
 * server asked for) with `Last-Event-ID: 3`, and the server resumes from there, so the client sees every event once. When the feed is over the
 * server answers the next reconnect with 204, which ends the stream.
 *
 * Run: `pnpm example examples/event-stream.ts`
 */
import { HttpClient } from "@effect/platform"
import { NodeRuntime } from "@effect/platform-node"
import { EventStream } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { Console, Effect, Schedule, Schema, Stream } from "effect"
import * as Http from "node:http"
import type * as Net from "node:net"
import { pathToFileURL } from "node:url"

const Price = Schema.Struct({ symbol: Schema.String, price: Schema.Number })
const prices = [101.5, 102.25, 101.75, 103, 104.5, 104]

/** The feed: `retry: 100`, then one event a price from after `Last-Event-ID`; the first connection drops after 3. */
const feedServer = Effect.acquireRelease(
  Effect.async<{ server: Http.Server; url: string; seen: Array<string> }>((resume) => {
    const seen: Array<string> = []
    let connections = 0
    const server = Http.createServer((request, response) => {
      const lastEventId = request.headers["last-event-id"]
      seen.push(typeof lastEventId === "string" ? `Last-Event-ID: ${lastEventId}` : "(no Last-Event-ID)")
      const first = ++connections === 1
      const from = typeof lastEventId === "string" ? Number(lastEventId) : 0
      // the feed is over: 204 tells the client to stop reconnecting
      if (from >= prices.length) return response.writeHead(204).end()
      response.writeHead(200, { "content-type": "text/event-stream" })
      response.write("retry: 100\n: a comment, ignored\n\n")
      for (let id = from + 1; id <= prices.length; id++) {
        const event = `event: price\nid: ${id}\ndata: ${JSON.stringify({ symbol: "ACME", price: prices[id - 1] })}\n\n`
        // the first connection breaks mid-stream, once the third event is on the wire
        if (first && id === 3) return response.write(event, () => response.socket?.destroy())
        response.write(event)
      }
      response.end()
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
  const feed = yield* feedServer
  const client = yield* HttpClient.HttpClient
  yield* EventStream.json(client, `${feed.url}/prices`, Price, { schedule: Schedule.recurs(5) }).pipe(
    Stream.runForEach((event) =>
      Console.log(`  #${event.lastEventId} ${event.type}: ${event.data.symbol} ${event.data.price}`)
    )
  )
  yield* Console.log("what the server saw:")
  for (const line of feed.seen) yield* Console.log(`  ${line}`)
}).pipe(Effect.scoped, Effect.provide(UndiciHttpClient.layer()))

// runs when executed, not when the smoke test imports `main`
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) NodeRuntime.runMain(main)
