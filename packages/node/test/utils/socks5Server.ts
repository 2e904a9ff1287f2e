// A minimal SOCKS5 proxy (RFC 1928, with RFC 1929 username/password) on 127.0.0.1 for the proxy tests: it reads the
// greeting, authenticates when asked to, reads CONNECT with an IPv4, domain or IPv6 address, and records what it saw.
// Every tunnel goes to 127.0.0.1 at the requested port, whatever the address (a domain name is never resolved, an
// IP address never dialled), so every byte stays on the loopback. A script decides each CONNECT's reply code.
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Net from "node:net"

/** One negotiation as the proxy saw it. */
export interface SeenSocks {
  /** the methods the client offered (0 no auth, 2 username/password) */
  readonly methods: ReadonlyArray<number>
  /** the RFC 1929 credentials, when the client sent some */
  readonly username?: string | undefined
  readonly password?: string | undefined
  /** CONNECT's address type and address (a domain as sent, an IP address as text), and port */
  readonly type?: "ipv4" | "domain" | "ipv6" | undefined
  readonly address?: string | undefined
  readonly port?: number | undefined
}

export interface Socks5Server {
  /** `socks5h://127.0.0.1:port` */
  readonly url: string
  readonly port: number
  readonly seen: Array<SeenSocks>
  /** TCP connections accepted */
  readonly connections: () => number
  /** the credentials the proxy requires (RFC 1929); none: no authentication */
  auth: { readonly username: string; readonly password: string } | undefined
  /** the reply code to each CONNECT (0 succeeds: the tunnel opens) */
  reply: (seen: SeenSocks, index: number) => number
}

const ipv6Text = (bytes: Buffer): string => {
  const groups: Array<string> = []
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16))
  return new Net.SocketAddress({ address: groups.join(":"), family: "ipv6" }).address
}

const handle = (server: Socks5Server, client: Net.Socket, sockets: Set<Net.Socket>) => {
  let buffered = Buffer.alloc(0)
  let state: "greeting" | "auth" | "request" | "done" = "greeting"
  const record: { -readonly [K in keyof SeenSocks]: SeenSocks[K] } = { methods: [] }
  client.on("error", () => {})
  const step = (): void => {
    if (state === "greeting") {
      if (buffered.length < 2 || buffered.length < 2 + buffered[1]) return
      record.methods = [...buffered.subarray(2, 2 + buffered[1])]
      buffered = buffered.subarray(2 + buffered[1])
      server.seen.push(record)
      if (server.auth === undefined) {
        if (!record.methods.includes(0)) return void client.end(Buffer.from([5, 0xff]))
        client.write(Buffer.from([5, 0]))
        state = "request"
      } else {
        if (!record.methods.includes(2)) return void client.end(Buffer.from([5, 0xff]))
        client.write(Buffer.from([5, 2]))
        state = "auth"
      }
      return step()
    }
    if (state === "auth") {
      if (buffered.length < 2) return
      const ulen = buffered[1]
      if (buffered.length < 3 + ulen) return
      const plen = buffered[2 + ulen]
      if (buffered.length < 3 + ulen + plen) return
      record.username = buffered.subarray(2, 2 + ulen).toString("utf8")
      record.password = buffered.subarray(3 + ulen, 3 + ulen + plen).toString("utf8")
      buffered = buffered.subarray(3 + ulen + plen)
      const ok = record.username === server.auth?.username && record.password === server.auth.password
      if (!ok) return void client.end(Buffer.from([1, 1]))
      client.write(Buffer.from([1, 0]))
      state = "request"
      return step()
    }
    if (state === "request") {
      if (buffered.length < 5) return
      const type = buffered[3]
      const length = type === 1 ? 10 : type === 4 ? 22 : type === 3 ? 7 + buffered[4] : -1
      if (length === -1) return void client.end(Buffer.from([5, 8, 0, 1, 0, 0, 0, 0, 0, 0]))
      if (buffered.length < length) return
      record.type = type === 1 ? "ipv4" : type === 3 ? "domain" : "ipv6"
      record.address = type === 1
        ? [...buffered.subarray(4, 8)].join(".")
        : type === 3
        ? buffered.subarray(5, 5 + buffered[4]).toString("utf8")
        : ipv6Text(buffered.subarray(4, 20))
      record.port = buffered.readUInt16BE(length - 2)
      const head = buffered.subarray(length)
      state = "done"
      const code = server.reply(record, server.seen.length - 1)
      if (code !== 0) return void client.end(Buffer.from([5, code, 0, 1, 0, 0, 0, 0, 0, 0]))
      client.removeAllListeners("data")
      const upstream = Net.connect({ host: "127.0.0.1", port: record.port })
      sockets.add(upstream)
      upstream.once("close", () => sockets.delete(upstream))
      upstream.on("error", () => client.destroy())
      client.on("close", () => upstream.destroy())
      upstream.on("connect", () => {
        const bound = Buffer.from([5, 0, 0, 1, 127, 0, 0, 1, 0, 0])
        bound.writeUInt16BE(upstream.localPort ?? 0, 8)
        client.write(bound)
        if (head.length > 0) upstream.write(head)
        client.pipe(upstream)
        upstream.pipe(client)
      })
    }
  }
  client.on("data", (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk])
    step()
  })
}

/** Starts the proxy; closed when the scope closes. */
export const startSocks5Server = (
  auth?: { readonly username: string; readonly password: string }
): Effect.Effect<Socks5Server, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ readonly proxy: Socks5Server; readonly server: Net.Server; readonly sockets: Set<Net.Socket> }>(
      (resume) => {
        const sockets = new Set<Net.Socket>()
        let connections = 0
        const proxy: Socks5Server = {
          url: "",
          port: 0,
          seen: [],
          connections: () => connections,
          auth,
          reply: () => 0
        }
        const server = Net.createServer((client) => {
          connections++
          sockets.add(client)
          client.once("close", () => sockets.delete(client))
          handle(proxy, client, sockets)
        })
        server.listen(0, "127.0.0.1", () => {
          const port = (server.address() as Net.AddressInfo).port
          Object.assign(proxy, { port, url: `socks5h://127.0.0.1:${port}` })
          resume(Effect.succeed({ proxy, server, sockets }))
        })
      }
    ),
    ({ server, sockets }) =>
      Effect.async<void>((resume) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ proxy }) => proxy))
