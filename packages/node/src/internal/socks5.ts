/**
 * A SOCKS5 client (RFC 1928, with RFC 1929 username/password), as an undici connector: the connection to the proxy,
 * its handshake and its `CONNECT`, then the socket handed to undici (upgraded to TLS for an `https:` origin) as if it
 * were a connection to the origin.
 *
 * Not undici's `Socks5ProxyAgent` (7.x): it always sends the host name to the proxy (no `socks5:` local resolution),
 * knows no `socks5h:` scheme, runs its handshake on timers of its own (5 seconds, not `connectTimeout`), emits a
 * process warning, and speaks TLS to the proxy whenever `proxyTls` is given.
 *
 * @internal
 */
import * as Dns from "node:dns"
import * as Net from "node:net"
import type * as Undici from "undici"

/** A SOCKS5 proxy: where it is, where the origin's name is resolved, and the RFC 1929 credentials (secrets). */
export interface Socks5Proxy {
  /** the proxy's host (an IPv6 address without brackets) */
  readonly host: string
  readonly port: number
  /** `proxy`: the origin's host name is sent to the proxy (`socks5h:`); `local`: resolved here first (`socks5:`) */
  readonly resolve: "proxy" | "local"
  readonly credentials: { readonly username: string; readonly password: string } | undefined
}

/**
 * A failure of the SOCKS5 negotiation, with undici's own codes for it (`UND_ERR_SOCKS5_REPLY_<n>`,
 * `UND_ERR_SOCKS5_AUTH_FAILED`, ...), which `@sturdy/http` reads as a `ConnectionError` `Proxy`. Its message never
 * holds the credentials.
 */
export class Socks5ProxyError extends Error {
  override readonly name = "Socks5ProxyError"
  constructor(message: string, readonly code: string) {
    super(message)
  }
}

const connectTimeoutError = (millis: number) =>
  Object.assign(new Error(`Connect Timeout Error (SOCKS5 proxy, timeout: ${millis}ms)`), {
    name: "ConnectTimeoutError",
    code: "UND_ERR_CONNECT_TIMEOUT"
  })

const closedError = () =>
  Object.assign(new Error("SOCKS5 proxy closed the connection during the handshake"), { code: "ECONNRESET" })

/** The address part of a `CONNECT` request (ATYP, DST.ADDR), or a failure for a name too long to send. */
const addressOf = (host: string): Buffer => {
  const family = Net.isIP(host)
  if (family === 4) return Buffer.from([0x01, ...host.split(".").map(Number)])
  if (family === 6) return Buffer.concat([Buffer.from([0x04]), ipv6Bytes(host)])
  const name = Buffer.from(host, "utf8")
  if (name.length > 255) {
    throw new Socks5ProxyError("host name too long for SOCKS5 (more than 255 bytes)", "UND_ERR_SOCKS5_ADDR_TYPE")
  }
  return Buffer.concat([Buffer.from([0x03, name.length]), name])
}

/** The 16 bytes of an IPv6 address (an embedded IPv4 tail included). */
const ipv6Bytes = (address: string): Buffer => {
  let text = address
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (dotted !== null) {
    const [a, b, c, d] = dotted[1].split(".").map(Number)
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined]
  const headParts = head === "" ? [] : head.split(":")
  const tailParts = tail === undefined || tail === "" ? [] : tail.split(":")
  const groups = tail === undefined
    ? headParts
    : [...headParts, ...Array<string>(8 - headParts.length - tailParts.length).fill("0"), ...tailParts]
  const bytes = Buffer.alloc(16)
  groups.forEach((group, i) => bytes.writeUInt16BE(parseInt(group, 16), i * 2))
  return bytes
}

const lookup = (host: string, callback: (error: Error | null, address: string) => void): void => {
  // `Dns.lookup` read at each call, as `node:net` does: a test may stub it
  Dns.lookup(host, (error, address) => callback(error, address))
}

/**
 * A connector that reaches every origin through `proxy`: undici calls it for each new connection. An `https:`
 * origin's TLS is `tlsConnect`'s (the `tls` option, end to end). The proxy's connection, handshake and `CONNECT`
 * together are bounded by `timeoutMillis` (0: none), and fail with undici's connect-timeout code past it.
 */
export const connector = (
  proxy: Socks5Proxy,
  tlsConnect: Undici.buildConnector.connector,
  timeoutMillis: number
): Undici.buildConnector.connector =>
(options, callback) => {
  const bare = options.hostname.startsWith("[") ? options.hostname.slice(1, -1) : options.hostname
  const port = Number(options.port) || (options.protocol === "https:" ? 443 : 80)
  let settled = false
  let socket: Net.Socket | undefined
  let timer: ReturnType<typeof setTimeout> | undefined
  const fail = (error: Error) => {
    if (settled) return
    settled = true
    if (timer !== undefined) clearTimeout(timer)
    socket?.destroy()
    callback(error, null)
  }
  if (timeoutMillis > 0) {
    timer = setTimeout(() => fail(connectTimeoutError(timeoutMillis)), timeoutMillis)
    timer.unref()
  }
  const start = (host: string) => {
    if (settled) return
    let address: Buffer
    try {
      address = addressOf(host)
    } catch (error) {
      return fail(error as Error)
    }
    const request = Buffer.alloc(address.length + 5)
    request.set([0x05, 0x01, 0x00])
    address.copy(request, 3)
    request.writeUInt16BE(port, address.length + 3)
    negotiate(request)
  }
  const negotiate = (connectRequest: Buffer) => {
    const conn = Net.connect({ host: proxy.host, port: proxy.port })
    socket = conn
    let state: "greeting" | "auth" | "reply" = "greeting"
    let buffered: Buffer = Buffer.alloc(0)
    const onError = (error: Error) => fail(error)
    const onClose = () => fail(closedError())
    const onData = (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk])
      try {
        step()
      } catch (error) {
        fail(error as Error)
      }
    }
    const step = (): void => {
      if (settled) return
      if (state === "greeting") {
        if (buffered.length < 2) return
        const [version, method] = buffered
        buffered = buffered.subarray(2)
        if (version !== 0x05) throw new Socks5ProxyError("not a SOCKS5 proxy", "UND_ERR_SOCKS5_VERSION")
        if (method === 0x00) {
          state = "reply"
          conn.write(connectRequest)
        } else if (method === 0x02 && proxy.credentials !== undefined) {
          const username = Buffer.from(proxy.credentials.username, "utf8")
          const password = Buffer.from(proxy.credentials.password, "utf8")
          state = "auth"
          conn.write(
            Buffer.concat([Buffer.from([0x01, username.length]), username, Buffer.from([password.length]), password])
          )
        } else if (method === 0xff) {
          throw new Socks5ProxyError(
            proxy.credentials === undefined
              ? "SOCKS5 proxy accepts no method offered (it wants credentials)"
              : "SOCKS5 proxy accepts no method offered",
            "UND_ERR_SOCKS5_AUTH_REJECTED"
          )
        } else {
          throw new Socks5ProxyError(
            `SOCKS5 proxy chose a method not offered (${method})`,
            "UND_ERR_SOCKS5_AUTH_METHOD"
          )
        }
        return step()
      }
      if (state === "auth") {
        if (buffered.length < 2) return
        const [version, status] = buffered
        buffered = buffered.subarray(2)
        if (version !== 0x01) {
          throw new Socks5ProxyError("SOCKS5 proxy answered auth badly", "UND_ERR_SOCKS5_AUTH_VERSION")
        }
        if (status !== 0x00) {
          throw new Socks5ProxyError("SOCKS5 proxy refused the username and password", "UND_ERR_SOCKS5_AUTH_FAILED")
        }
        state = "reply"
        conn.write(connectRequest)
        return step()
      }
      if (buffered.length < 2) return
      if (buffered[0] !== 0x05) throw new Socks5ProxyError("not a SOCKS5 reply", "UND_ERR_SOCKS5_REPLY_VERSION")
      const reply = buffered[1]
      if (reply !== 0x00) {
        // the code only: `HttpFailure.ConnectionError` (reason `Proxy`, `proxyReply`) names it for the caller
        throw new Socks5ProxyError(`SOCKS5 proxy answered CONNECT with ${reply}`, `UND_ERR_SOCKS5_REPLY_${reply}`)
      }
      if (buffered.length < 5) return
      const type = buffered[3]
      const length = type === 0x01 ? 10 : type === 0x04 ? 22 : type === 0x03 ? 7 + buffered[4] : -1
      if (length === -1) throw new Socks5ProxyError("SOCKS5 reply of unknown address type", "UND_ERR_SOCKS5_ADDR_TYPE")
      if (buffered.length < length) return
      // the tunnel is open: the socket is undici's from here, in this same tick (no byte is emitted meanwhile)
      settled = true
      if (timer !== undefined) clearTimeout(timer)
      conn.removeListener("data", onData)
      conn.removeListener("error", onError)
      conn.removeListener("close", onClose)
      if (buffered.length > length) conn.unshift(buffered.subarray(length))
      if (options.protocol === "https:") {
        tlsConnect({ ...options, httpSocket: conn }, callback)
      } else {
        callback(null, conn)
      }
    }
    conn.on("error", onError)
    conn.on("close", onClose)
    conn.on("data", onData)
    conn.once("connect", () => {
      conn.setNoDelay(true)
      conn.setKeepAlive(true, 60_000)
      conn.write(
        proxy.credentials === undefined ? Buffer.from([0x05, 0x01, 0x00]) : Buffer.from([0x05, 0x02, 0x00, 0x02])
      )
    })
  }
  if (proxy.resolve === "local" && Net.isIP(bare) === 0) {
    lookup(bare, (error, address) => error !== null ? fail(error) : start(address))
  } else {
    start(bare)
  }
}
