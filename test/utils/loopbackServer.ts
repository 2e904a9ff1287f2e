import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Https from "node:https"
import * as Net from "node:net"
import * as Path from "node:path"
import { Agent, buildConnector } from "undici"

/** The whole body of a request a `node:http` server received. */
export const readBody = (request: Http.IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => resolve(Buffer.concat(chunks)))
    request.on("error", reject)
  })

/** What a handler sees: the request, the response, and the body the client sent. */
export type Handler = (request: Http.IncomingMessage, response: Http.ServerResponse, body: string) => void

export interface RecordedRequest {
  readonly method: string
  readonly url: string
  readonly headers: Http.IncomingHttpHeaders
  readonly body: string
  /** the body as the bytes that arrived (`body` decodes them as UTF-8) */
  readonly bytes: Buffer
  /** which connection it came on (1 for the server's first, 2 for its second...) */
  readonly connection: number
}

export interface LoopbackServer {
  /** `http://127.0.0.1:<port>` (`https://` with `tls`) without a trailing slash. */
  readonly url: string
  readonly port: number
  /** Every request that reached a handler, in arrival order. */
  readonly requests: ReadonlyArray<RecordedRequest>
  /** How many requests reached `path` (ignoring the query string). */
  readonly hits: (path: string) => number
  /** How many connections clients opened so far. */
  readonly connections: () => number
  /** How many of them are closed (by either side) so far. */
  readonly closed: () => number
}

export interface StartOptions {
  /** serve HTTPS with this certificate (e.g. `test/fixtures/loopback-cert.pem`) */
  readonly tls?: { readonly cert: Buffer | string; readonly key: Buffer | string } | undefined
}

/** The loopback certificate and key of `test/fixtures` (for 127.0.0.1 and localhost), read once. */
export const loopbackTls: { readonly cert: Buffer; readonly key: Buffer } = {
  cert: Fs.readFileSync(Path.join(import.meta.dirname, "..", "fixtures", "loopback-cert.pem")),
  key: Fs.readFileSync(Path.join(import.meta.dirname, "..", "fixtures", "loopback-key.pem"))
}

/**
 * Starts a `node:http` (with `tls`, `node:https`) server on 127.0.0.1 (free port) routing by path; it closes, dropping
 * open connections, when the scope closes. Unknown paths go to the `"*"` route, or without one answer 404 with an
 * empty body.
 */
export const start = (
  routes: Readonly<Record<string, Handler>>,
  options: StartOptions = {}
): Effect.Effect<LoopbackServer, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ server: Http.Server; state: LoopbackServer }>((resume) => {
      const requests: Array<RecordedRequest> = []
      const socketIds = new WeakMap<Net.Socket, number>()
      const listener: Http.RequestListener = (request, response) => {
        const chunks: Array<Buffer> = []
        request.on("data", (chunk: Buffer) => chunks.push(chunk))
        request.on("end", () => {
          const bytes = Buffer.concat(chunks)
          const body = bytes.toString("utf8")
          const path = (request.url ?? "/").split("?", 1)[0]
          requests.push({
            method: request.method ?? "",
            url: request.url ?? "",
            headers: request.headers,
            body,
            bytes,
            connection: socketIds.get(request.socket) ?? 0
          })
          const handler = routes[path] ?? routes["*"]
          if (handler === undefined) {
            response.writeHead(404).end()
            return
          }
          handler(request, response, body)
        })
      }
      const server: Http.Server = options.tls === undefined
        ? Http.createServer(listener)
        : Https.createServer({ cert: options.tls.cert, key: options.tls.key }, listener)
      let connections = 0
      let closed = 0
      server.on(options.tls === undefined ? "connection" : "secureConnection", (socket: Net.Socket) => {
        socketIds.set(socket, ++connections)
        socket.on("close", () => closed++)
      })
      server.listen(0, "127.0.0.1", () => {
        const port = (server.address() as Net.AddressInfo).port
        resume(Effect.succeed({
          server,
          state: {
            connections: () => connections,
            closed: () => closed,
            url: `${options.tls === undefined ? "http" : "https"}://127.0.0.1:${port}`,
            port,
            requests,
            hits: (path) => requests.filter((r) => r.url.split("?", 1)[0] === path).length
          }
        }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ state }) => state))

/**
 * An undici `Agent` that connects every `http:` URL, whatever its host and port, to `http`'s port on 127.0.0.1, and
 * every `https:` URL to `https`'s (trusting `ca`, any name): host names such as `api.example.test`,
 * `sub.api.example.test` or default ports (80, 443) then reach loopback servers, which see the name in `Host`.
 * Nothing leaves the machine. Destroyed with the scope.
 */
export const virtualHosts = (
  targets: { readonly http?: LoopbackServer | undefined; readonly https?: LoopbackServer | undefined },
  ca?: Buffer | string,
  /** at most this many connections per origin (undici's `connections`; default unlimited) */
  connections?: number
): Effect.Effect<Agent, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const connect = buildConnector({ ...(ca === undefined ? {} : { ca }), checkServerIdentity: () => undefined })
      return new Agent({
        ...(connections === undefined ? {} : { connections }),
        connect: (options, callback) => {
          const target = options.protocol === "https:" ? targets.https : targets.http
          if (target === undefined) {
            callback(new Error(`virtualHosts: no ${options.protocol} server`), null)
            return
          }
          connect({ ...options, hostname: "127.0.0.1", port: String(target.port) }, callback)
        }
      })
    }),
    (agent) => Effect.promise(() => agent.destroy())
  )

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export const closedPort: Effect.Effect<number> = Effect.async<number>((resume) => {
  const server = Http.createServer()
  server.listen(0, "127.0.0.1", () => {
    const port = (server.address() as Net.AddressInfo).port
    server.close(() => resume(Effect.succeed(port)))
  })
})

/**
 * A TCP listener on 127.0.0.1 that hands each connection to `accept` and never answers on it (no TLS handshake, no
 * HTTP), as a host whose handshake stalls: its port. Closed with the scope, with every connection the client left
 * open (a handshake it gave up on).
 */
export const silentListener = (
  accept: (socket: Net.Socket) => void = (socket) => socket.on("error", () => {})
): Effect.Effect<number, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.async<{ readonly server: Net.Server; readonly sockets: Set<Net.Socket> }>((resume) => {
        const sockets = new Set<Net.Socket>()
        const server = Net.createServer((socket) => {
          sockets.add(socket)
          socket.once("close", () => sockets.delete(socket))
          accept(socket)
        })
        server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ server, sockets })))
      }),
      ({ server, sockets }) =>
        Effect.async<void>((resume) => {
          server.close(() => resume(Effect.void))
          for (const socket of sockets) socket.destroy()
        })
    ),
    ({ server }) => (server.address() as Net.AddressInfo).port
  )

/** Sends `body` as JSON with the given status and extra headers. */
export const json = (status: number, body: unknown, headers: Http.OutgoingHttpHeaders = {}): Handler => (_, res) => {
  const text = JSON.stringify(body)
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers })
  res.end(text)
}

/** Sends raw text with a content type. */
export const text =
  (status: number, contentType: string, body: string, headers: Http.OutgoingHttpHeaders = {}): Handler => (_, res) => {
    res.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(body), ...headers })
    res.end(body)
  }

/** Destroys the socket before any response byte is written. */
export const resetBeforeHeaders: Handler = (req) => {
  req.socket.destroy()
}

/** Promises `declared` bytes, writes `sent`, then destroys the socket (chunked when `declared` is undefined). */
export const resetMidBody = (declared: number | undefined, sent: number): Handler => (_, res) => {
  const headers: Http.OutgoingHttpHeaders = { "content-type": "application/json" }
  if (declared !== undefined) headers["content-length"] = declared
  res.writeHead(200, headers)
  res.write("[" + "1,".repeat(Math.max(0, Math.floor((sent - 1) / 2))))
  res.flushHeaders()
  setTimeout(() => res.socket?.destroy(), 20)
}

/** Waits `millis` before answering with JSON. */
export const slowHeaders = (millis: number, body: unknown = { ok: true }): Handler => (req, res) => {
  const timer = setTimeout(() => json(200, body)(req, res, ""), millis)
  res.on("close", () => clearTimeout(timer))
}

/** Sends headers and a first chunk at once, the rest after `millis`. */
export const slowBody = (millis: number): Handler => (_, res) => {
  const body = JSON.stringify({ ok: true })
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
  res.write(body.slice(0, 3))
  const timer = setTimeout(() => res.end(body.slice(3)), millis)
  res.on("close", () => clearTimeout(timer))
}

/** Sends `bytes` bytes of JSON, with or without a Content-Length. */
export const largeBody = (bytes: number, withLength: boolean): Handler => (_, res) => {
  const body = `"${"x".repeat(Math.max(0, bytes - 2))}"`
  const headers: Http.OutgoingHttpHeaders = { "content-type": "application/json" }
  if (withLength) headers["content-length"] = Buffer.byteLength(body)
  res.writeHead(200, headers)
  // several writes so a chunked response arrives in several chunks
  for (let i = 0; i < body.length; i += 16 * 1024) res.write(body.slice(i, i + 16 * 1024))
  res.end()
}

/**
 * Sends `request` with `client` (a redirect-following one, say) and reads the final answer: its status and body, and
 * the method and URL of the request that got it (with its fragment: a client's `responseUrl`).
 */
export const exchange = <E>(client: HttpClient.HttpClient.With<E>, request: HttpClientRequest.HttpClientRequest) =>
  Effect.scoped(Effect.flatMap(client.execute(request), (response) =>
    Effect.map(response.text, (text) => ({
      status: response.status,
      headers: response.headers,
      text,
      json: (): any => JSON.parse(text),
      method: response.request.method,
      url: response.request.url +
        Option.match(response.request.hash, { onNone: () => "", onSome: (hash) => `#${hash}` })
    }))))

/** Waits, in real time (a few ms at a time, for at most 5 s), until `holds()`: loopback I/O progresses while the TestClock stands still. */
export const until = (holds: () => boolean, what = holds.toString()): Effect.Effect<void> =>
  Effect.promise(() =>
    new Promise<void>((resolve, reject) => {
      const started = Date.now()
      const poll = () => {
        if (holds()) resolve()
        else if (Date.now() - started > 5_000) reject(new Error(`not reached in 5s: ${what}`))
        else setTimeout(poll, 2)
      }
      poll()
    })
  )

/**
 * Waits, in real time, until `server` has seen `count` requests: a test moves the TestClock only once the request is
 * there.
 */
export const arrived = (server: LoopbackServer, count = 1): Effect.Effect<void> =>
  until(() => server.requests.length >= count, `the server saw ${count} requests`)
