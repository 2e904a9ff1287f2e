import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Net from "node:net"

/** A request as the raw server read it: the request line and headers, exactly as they arrived. */
export interface RawRequest {
  readonly method: string
  readonly path: string
  readonly head: string
  readonly headers: Readonly<Record<string, string>>
}

/** Writes whatever it wants to the socket: a hostile server is not bound by HTTP. */
export type RawHandler = (socket: Net.Socket, request: RawRequest) => void

export interface RawServer {
  readonly url: string
  readonly port: number
  readonly requests: ReadonlyArray<RawRequest>
}

/**
 * A TCP server on 127.0.0.1 that reads one request head per connection and hands the socket to the handler of its
 * path (ignoring the query); unknown paths get a 404. Closed, with every socket destroyed, with the scope.
 */
export const start = (routes: Readonly<Record<string, RawHandler>>): Effect.Effect<RawServer, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ server: Net.Server; sockets: Set<Net.Socket>; state: RawServer }>((resume) => {
      const requests: Array<RawRequest> = []
      const sockets = new Set<Net.Socket>()
      const server = Net.createServer((socket) => {
        sockets.add(socket)
        socket.on("close", () => sockets.delete(socket))
        socket.on("error", () => {})
        let buffered = ""
        const onData = (chunk: Buffer) => {
          buffered += chunk.toString("latin1")
          const end = buffered.indexOf("\r\n\r\n")
          if (end === -1) return
          socket.off("data", onData)
          const head = buffered.slice(0, end)
          const [requestLine, ...lines] = head.split("\r\n")
          const [method = "", target = "/"] = requestLine.split(" ")
          const headers: Record<string, string> = {}
          for (const line of lines) {
            const colon = line.indexOf(":")
            if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
          }
          const request = { method, path: target, head, headers }
          requests.push(request)
          const handler = routes[target.split("?", 1)[0]]
          if (handler === undefined) {
            socket.end("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
          } else {
            handler(socket, request)
          }
        }
        socket.on("data", onData)
      })
      server.listen(0, "127.0.0.1", () => {
        const port = (server.address() as Net.AddressInfo).port
        resume(Effect.succeed({ server, sockets, state: { url: `http://127.0.0.1:${port}`, port, requests } }))
      })
    }),
    ({ server, sockets }) =>
      Effect.async<void>((resume) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ state }) => state))

/** A complete response: status line, headers (Content-Length added unless given) and body; the socket then closes. */
export const respond = (
  socket: Net.Socket,
  status: string,
  headers: ReadonlyArray<readonly [string, string]>,
  body: string
): void => {
  const lines = [`HTTP/1.1 ${status}`, ...headers.map(([name, value]) => `${name}: ${value}`)]
  if (!headers.some(([name]) => name.toLowerCase() === "content-length")) {
    lines.push(`Content-Length: ${Buffer.byteLength(body)}`)
  }
  lines.push("Connection: close")
  socket.end(`${lines.join("\r\n")}\r\n\r\n${body}`)
}

/** The head of the request, as a server that echoes what it received would put it in an error page. */
export const echo = (request: RawRequest): string => `you sent:\n${request.head}\n`
