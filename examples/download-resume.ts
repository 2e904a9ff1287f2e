/**
 * A download that survives its connection being cut: a loopback server sends a 1 MiB file and destroys the socket at
 * 40 % and again at 90 %. `Download.stream` asks each time for the rest only (`Range: bytes=<received>-`, `If-Range`
 * with the file's ETag), and the bytes that arrive hash to the file's SHA-256: nothing lost, nothing twice.
 *
 * Run: `pnpm example examples/download-resume.ts`
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { NodeRuntime } from "@effect/platform-node"
import { Download } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { Console, Effect, Schedule, Stream } from "effect"
import { createHash } from "node:crypto"
import * as Http from "node:http"
import type * as Net from "node:net"
import { pathToFileURL } from "node:url"

const file = Buffer.alloc(1024 * 1024)
for (let i = 0; i < file.length; i++) file[i] = (i * 31 + (i >> 10)) & 0xff
const etag = `"${createHash("sha256").update(file).digest("hex").slice(0, 16)}"`

/** A file server that honours `Range: bytes=N-` (when `If-Range` matches) and cuts the first answers short. */
const fileServer = Effect.acquireRelease(
  Effect.async<{ readonly server: Http.Server; readonly url: string; readonly log: Array<string> }>((resume) => {
    const cuts = [Math.floor(file.length * 0.4), Math.floor(file.length * 0.9)]
    const log: Array<string> = []
    const server = Http.createServer((req, res) => {
      const range = /^bytes=(\d+)-$/.exec(String(req.headers["range"] ?? ""))
      const from = range !== null && req.headers["if-range"] === etag ? Number(range[1]) : 0
      const cut = cuts.shift()
      log.push(
        `GET ${req.headers["range"] ?? "(whole file)"} -> ${from === 0 ? 200 : 206}${
          cut === undefined ? "" : `, cut at byte ${cut}`
        }`
      )
      res.writeHead(from === 0 ? 200 : 206, {
        etag,
        "content-length": file.length - from,
        ...(from === 0 ? {} : { "content-range": `bytes ${from}-${file.length - 1}/${file.length}` })
      })
      if (cut === undefined) {
        res.end(file.subarray(from))
        return
      }
      res.write(file.subarray(from, cut), () => setTimeout(() => res.socket?.destroy(), 10))
    })
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as Net.AddressInfo).port
      resume(Effect.succeed({ server, url: `http://127.0.0.1:${port}/big.bin`, log }))
    })
  }),
  ({ server }) => Effect.promise(() => new Promise<void>((resolve) => server.close(() => resolve())))
)

export const main = Effect.gen(function*() {
  const { log, url } = yield* fileServer
  const client = yield* HttpClient.HttpClient
  const hash = createHash("sha256")
  let received = 0
  yield* Download.stream(HttpClientRequest.get(url), {
    // a short wait between resumes for the example; the default starts at 200 ms
    schedule: Schedule.spaced("50 millis").pipe(Schedule.intersect(Schedule.recurs(5)))
  }).pipe(
    Stream.runForEach((bytes) =>
      Effect.sync(() => {
        hash.update(bytes)
        received += bytes.byteLength
      })
    ),
    Effect.provideService(HttpClient.HttpClient, client)
  )
  yield* Console.log("what the server saw:")
  for (const line of log) yield* Console.log(`  ${line}`)
  const same = hash.digest("hex") === createHash("sha256").update(file).digest("hex")
  yield* Console.log(`received ${received} of ${file.length} bytes; SHA-256 ${same ? "matches" : "DIFFERS"}`)
}).pipe(Effect.scoped, Effect.provide(UndiciHttpClient.layer()))

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) NodeRuntime.runMain(main)
