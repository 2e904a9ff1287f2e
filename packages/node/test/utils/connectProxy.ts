// A minimal forward proxy on 127.0.0.1 for the proxy tests: it answers `CONNECT host:port` by opening a tunnel to
// 127.0.0.1:port, whatever the host (so a test may name hosts that resolve nowhere, and every byte stays on the
// loopback), and records what it saw. A script decides, per CONNECT, to answer with a status instead (407, 502, ...),
// or to cut the tunnel after some bytes from the origin.
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Http from "node:http"
import * as Https from "node:https"
import * as Net from "node:net"
import type * as Tls from "node:tls"

/** One CONNECT as the proxy saw it. */
export interface SeenConnect {
  /** the request target: `host:port` */
  readonly target: string
  /** the `Proxy-Authorization` header, as sent */
  readonly proxyAuthorization: string | undefined
  /** the `Authorization` header: must never be sent to the proxy */
  readonly authorization: string | undefined
}

/** What the proxy does with one CONNECT: open the tunnel, answer a status, or tunnel and cut after some bytes. */
export type Verdict =
  | { readonly _tag: "Tunnel" }
  | { readonly _tag: "Answer"; readonly status: number }
  | { readonly _tag: "CutAfter"; readonly bytes: number }

/** One request the proxy forwarded without a tunnel (started with `forward`), as it saw it. */
export interface SeenForward {
  /** `GET http://host:port/path HTTP/1.1` */
  readonly requestLine: string
  readonly proxyAuthorization: string | undefined
  readonly authorization: string | undefined
}

export interface ConnectProxy {
  /** `http://127.0.0.1:port` (or `https:` for a TLS proxy) */
  readonly url: string
  readonly port: number
  readonly seen: Array<SeenConnect>
  /** the absolute-form requests forwarded (with `forward` only) */
  readonly forwarded: Array<SeenForward>
  /** TCP connections accepted */
  readonly connections: () => number
  /** decides each CONNECT; tunnels by default */
  verdict: (connect: SeenConnect, index: number) => Verdict
  /** decides each forwarded request: `Tunnel` forwards it, `Answer` answers it itself */
  forwardVerdict: (request: SeenForward, index: number) => Verdict
}

/**
 * Forwards an absolute-form request to 127.0.0.1 at its URL's port, as a forward proxy does (RFC 9112 §3.2.2), without
 * the hop-by-hop `Proxy-Authorization` and `Proxy-Connection`.
 */
const forward = (request: Http.IncomingMessage, response: Http.ServerResponse) => {
  const target = new URL(request.url ?? "/")
  const headers = { ...request.headers }
  delete headers["proxy-authorization"]
  delete headers["proxy-connection"]
  const upstream = Http.request({
    host: "127.0.0.1",
    port: Number(target.port) || 80,
    method: request.method,
    path: target.pathname + target.search,
    headers
  }, (answer) => {
    response.writeHead(answer.statusCode ?? 502, answer.headers)
    answer.pipe(response)
  })
  upstream.on("error", () => response.destroy())
  request.pipe(upstream)
}

const tunnel = (
  target: string,
  client: Net.Socket,
  head: Buffer,
  cutAfter: number | undefined,
  sockets: Set<Net.Socket>
) => {
  const port = Number(target.slice(target.lastIndexOf(":") + 1))
  const upstream = Net.connect({ host: "127.0.0.1", port })
  sockets.add(upstream)
  upstream.once("close", () => sockets.delete(upstream))
  upstream.on("error", () => client.destroy())
  client.on("error", () => upstream.destroy())
  upstream.on("connect", () => {
    client.write("HTTP/1.1 200 Connection Established\r\n\r\n")
    if (head.length > 0) upstream.write(head)
    client.pipe(upstream)
    if (cutAfter === undefined) {
      upstream.pipe(client)
      return
    }
    let passed = 0
    upstream.on("data", (chunk: Buffer) => {
      if (cutAfter === 0) {
        client.destroy()
        upstream.destroy()
        return
      }
      const room = cutAfter - passed
      if (room <= 0) return
      client.write(chunk.subarray(0, room))
      passed += Math.min(room, chunk.length)
      // the proxy goes away mid-response: both sides closed at once
      if (passed >= cutAfter) {
        client.destroy()
        upstream.destroy()
      }
    })
  })
}

/** Starts the proxy (`tls`: over TLS, an `https:` proxy); closed when the scope closes. */
export const startConnectProxy = (
  tls?: Tls.TlsOptions,
  options?: { readonly forward?: boolean }
): Effect.Effect<ConnectProxy, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ readonly proxy: ConnectProxy; readonly server: Http.Server; readonly sockets: Set<Net.Socket> }>(
      (resume) => {
        const sockets = new Set<Net.Socket>()
        const seen: Array<SeenConnect> = []
        let connections = 0
        const server = tls === undefined ? Http.createServer() : Https.createServer(tls)
        const forwarded: Array<SeenForward> = []
        server.on("request", (request: Http.IncomingMessage, response: Http.ServerResponse) => {
          // a forward proxy of absolute-form requests is not what the transport uses unless asked: refused, and visible
          if (options?.forward !== true) return void response.writeHead(405, { connection: "close" }).end()
          const seen: SeenForward = {
            requestLine: `${request.method} ${request.url} HTTP/${request.httpVersion}`,
            proxyAuthorization: request.headers["proxy-authorization"],
            authorization: request.headers["authorization"]
          }
          forwarded.push(seen)
          const verdict = proxy.forwardVerdict(seen, forwarded.length - 1)
          if (verdict._tag === "Answer") {
            const challenge = verdict.status === 407 ? { "proxy-authenticate": "Basic realm=\"test\"" } : {}
            return void response.writeHead(verdict.status, { ...challenge, "content-length": 0 }).end()
          }
          forward(request, response)
        })
        server.on("connection", () => connections++)
        server.on("tlsClientError", () => {})
        const proxy: ConnectProxy = {
          url: "",
          port: 0,
          seen,
          forwarded,
          connections: () => connections,
          verdict: () => ({ _tag: "Tunnel" }),
          forwardVerdict: () => ({ _tag: "Tunnel" })
        }
        server.on("connect", (request: Http.IncomingMessage, client: Net.Socket, head: Buffer) => {
          const connect: SeenConnect = {
            target: request.url ?? "",
            proxyAuthorization: request.headers["proxy-authorization"],
            authorization: request.headers["authorization"]
          }
          seen.push(connect)
          const verdict = proxy.verdict(connect, seen.length - 1)
          sockets.add(client)
          client.once("close", () => sockets.delete(client))
          client.on("error", () => {})
          if (verdict._tag === "Answer") {
            const challenge = verdict.status === 407 ? "Proxy-Authenticate: Basic realm=\"test\"\r\n" : ""
            client.end(
              `HTTP/1.1 ${verdict.status} Refused\r\n${challenge}Content-Length: 0\r\nConnection: close\r\n\r\n`
            )
            return
          }
          tunnel(connect.target, client, head, verdict._tag === "CutAfter" ? verdict.bytes : undefined, sockets)
        })
        server.listen(0, "127.0.0.1", () => {
          const port = (server.address() as Net.AddressInfo).port
          Object.assign(proxy, { port, url: `${tls === undefined ? "http" : "https"}://127.0.0.1:${port}` })
          resume(Effect.succeed({ proxy, server, sockets }))
        })
      }
    ),
    ({ server, sockets }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
        // tunnels are detached from the server: closed here
        for (const socket of sockets) socket.destroy()
      })
  ).pipe(Effect.map(({ proxy }) => proxy))

/** The proxy variables `proxy: "env"` and the CLI read. */
export const envNames = [
  "http_proxy",
  "HTTP_PROXY",
  "https_proxy",
  "HTTPS_PROXY",
  "all_proxy",
  "ALL_PROXY",
  "no_proxy",
  "NO_PROXY"
] as const

/** Runs `effect` with exactly these proxy variables set (the others unset), then puts back what was there. */
export const withEnv = <A, E, R>(
  vars: Partial<Record<(typeof envNames)[number], string>>,
  effect: Effect.Effect<A, E, R>
) =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const saved = Object.fromEntries(envNames.map((name) => [name, process.env[name]]))
      for (const name of envNames) delete process.env[name]
      Object.assign(process.env, vars)
      return saved
    }),
    () => effect,
    (saved) =>
      Effect.sync(() => {
        for (const name of envNames) {
          if (saved[name] === undefined) delete process.env[name]
          else process.env[name] = saved[name]
        }
      })
  )
