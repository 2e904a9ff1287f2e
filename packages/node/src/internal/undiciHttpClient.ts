import * as Cookies from "@effect/platform/Cookies"
import * as Headers from "@effect/platform/Headers"
import type * as Body from "@effect/platform/HttpBody"
import * as Client from "@effect/platform/HttpClient"
import * as Error from "@effect/platform/HttpClientError"
import * as ClientRequest from "@effect/platform/HttpClientRequest"
import type * as ClientResponse from "@effect/platform/HttpClientResponse"
import * as TraceContext from "@effect/platform/HttpTraceContext"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Attempt from "@sturdy/http/Attempt"
import * as ClientResponseBase from "@sturdy/http/ClientResponse"
import * as Redaction from "@sturdy/http/Redaction"
import * as Deadline from "@sturdy/policy/Deadline"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import type * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import { globalValue } from "effect/GlobalValue"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as Tracer from "effect/Tracer"
import * as Crypto from "node:crypto"
import * as Dns from "node:dns"
import * as Net from "node:net"
import { Readable } from "node:stream"
import type { ReadableStream as WebReadableStream } from "node:stream/web"
import * as Tls from "node:tls"
import * as Undici from "undici"
import type * as UndiciHttpClient from "../UndiciHttpClient.js"
import * as Decompress from "./decompress.js"
import * as Socks5 from "./socks5.js"

// -----------------------------------------------------------------------------
// Dispatcher
// -----------------------------------------------------------------------------

/** @internal */
export const dispatcherTag = Context.GenericTag<UndiciHttpClient.Dispatcher, Undici.Dispatcher>(
  "@sturdy/node/UndiciHttpClient/Dispatcher"
)

const negativeUnits = /^\s*-\d+(?:\.\d+)?\s+[a-z]+\s*$/i

/**
 * The milliseconds of a duration option, or a `RangeError` naming it: Effect's `Duration` reads a negative or `NaN`
 * input (`-1`, `"-5 seconds"`, `NaN`) as zero, which undici reads as "no limit" (or, for the keep-alive timeouts,
 * refuses at every request); with `positive`, zero is refused too.
 */
const toMillis = (
  field: string,
  input: Duration.DurationInput | undefined,
  fallback: number,
  positive = false
): number => {
  if (input === undefined) return fallback
  const invalid = (detail: string) => new RangeError(`UndiciHttpClient: ${field} (${String(input)}) ${detail}`)
  const negative = typeof input === "number"
    ? input < 0
    : typeof input === "bigint"
    ? input < BigInt(0)
    : typeof input === "string"
    ? negativeUnits.test(input)
    : Array.isArray(input)
    ? input[0] < 0 || input[1] < 0
    : false
  if (negative) throw invalid("must not be negative")
  if (typeof input === "number" && Number.isNaN(input)) throw invalid("is not a duration")
  if (Array.isArray(input) && (Number.isNaN(input[0]) || Number.isNaN(input[1]))) throw invalid("is not a duration")
  const decoded = Duration.decodeUnknown(input)
  if (Option.isNone(decoded)) throw invalid("is not a duration")
  // undici takes whole milliseconds: a fraction ("2.5 millis", or nanoseconds) made every request fail with a transport
  // error for the headers and body timeouts. Rounded up, a timeout is never shorter than the one asked for.
  const millis = Math.ceil(Duration.toMillis(decoded.value))
  if (positive && millis === 0) throw invalid("must be positive")
  return millis
}

/** A count option, or a `RangeError` naming it when it is not an integer of at least `min`. */
const toCount = (field: string, input: number | undefined, min: number): number | undefined => {
  if (input !== undefined && !(Number.isInteger(input) && input >= min)) {
    throw new RangeError(`UndiciHttpClient: ${field} (${String(input)}) must be an integer >= ${min}`)
  }
  return input
}

/**
 * The options given, `undefined` for none (`null`, a setting read as none, included), or a `RangeError` when they are
 * no object: a string or an array has none of the fields read, and would be taken for no options, the mistake unseen.
 */
const toOptionsObject = <A extends object>(input: A | null | undefined): A | undefined => {
  if (input === undefined || input === null) return undefined
  if (typeof input !== "object" || Array.isArray(input)) {
    throw new RangeError(
      `UndiciHttpClient: options (${Array.isArray(input) ? "an array" : typeof input}) must be an object`
    )
  }
  return input
}

/** @internal The undici `Agent` options, or a `RangeError` naming the first option out of range. */
export const agentOptions = (input?: UndiciHttpClient.DispatcherOptions | null): Undici.Agent.Options => {
  const options: UndiciHttpClient.DispatcherOptions = toOptionsObject(input) ?? {}
  const agentOptions: Undici.Agent.Options = {
    pipelining: toCount("pipelining", options.pipelining, 0) ?? 1,
    keepAliveTimeout: toMillis("keepAliveTimeout", options.keepAliveTimeout, 4_000, true),
    keepAliveMaxTimeout: toMillis("keepAliveMaxTimeout", options.keepAliveMaxTimeout, 600_000, true),
    // under `Policy`'s default attempt timeout (10 s), so a handshake nobody answers is a ConnectTimeout, safe to retry
    connectTimeout: toMillis("connectTimeout", options.connectTimeout, 5_000),
    // Zero disables undici's own timers: deadlines belong to Effect.timeout unless asked for here.
    headersTimeout: toMillis("headersTimeout", options.headersTimeout, 0),
    bodyTimeout: toMillis("bodyTimeout", options.bodyTimeout, 0)
  }
  const http2 = toHttp2(options.http2)
  if (http2 !== false) {
    agentOptions.allowH2 = true
    if (http2 === "h2c") {
      // prior knowledge: `useH2c` is read by undici's connector (`buildConnector`), which an `Agent` builds through
      // its `Pool` from `connect`; undici's types do not declare it. Every connection speaks h2: undici counts its
      // streams as `pipelining` (and makes it 1 when unset, one stream a connection), so it gets undici's own h2 default
      agentOptions.connect = h2cConnect
      if (options.pipelining === undefined) agentOptions.pipelining = h2Streams
    }
  }
  const tls = toTls(options.tls)
  const proxy = toProxy(options.proxy)
  const socketPath = toSocketPath(options.socketPath)
  if (proxy !== undefined && socketPath !== undefined) {
    throw new RangeError("UndiciHttpClient: socketPath cannot be combined with proxy (a proxy is reached over TCP)")
  }
  if (proxy !== undefined && http2 !== false) {
    throw new RangeError("UndiciHttpClient: proxy cannot be combined with http2 (tunnels speak HTTP/1.1)")
  }
  // the connector undici's `Pool` would build from these options (h2c's and the TLS settings merged), built here so
  // that a TLS alert on an open connection is reported (see `connectorOf`)
  agentOptions.connect = connectorOf({
    ...(agentOptions.connect as Undici.buildConnector.BuildOptions | undefined),
    ...tls,
    ...(socketPath !== undefined ? { socketPath } : {}),
    allowH2: agentOptions.allowH2 === true,
    timeout: agentOptions.connectTimeout!
  })
  const connections = toCount("connections", options.connections, 0)
  const resolved = connections === undefined ? agentOptions : { ...agentOptions, connections }
  if (proxy !== undefined) {
    proxied.set(resolved, {
      proxy,
      requestTls: { ...tls, timeout: agentOptions.connectTimeout! },
      proxyTls: { ...toProxyTls(options.tls), timeout: agentOptions.connectTimeout! }
    })
  }
  // by ALPN a connection may turn out HTTP/1.1, where more than 1 would pipeline: raised once it is known to be h2
  if (http2 === true && options.pipelining === undefined) streamsRaisedOnH2.add(resolved)
  const decompression = Decompress.toDecompression(options.decompress, options.maxDecompressionRatio)
  if (decompression !== undefined) decompressed.set(resolved, decompression)
  const dns = toDns(options.dns, proxy, socketPath !== undefined, tls?.servername)
  if (dns !== undefined) dnsCached.set(resolved, dns)
  return resolved
}

/**
 * The decompression of the resolved options that ask for it (`decompress`), then of the dispatcher made of them: read
 * once by `make`, whose client carries it (`make`'s own options override it for that client alone).
 */
const decompressed = new WeakMap<object, Decompress.Decompression>()

/**
 * Streams in flight on one h2 connection when `pipelining` is not set: undici's own default for h2 (its `H2CClient`'s
 * `pipelining`, and the peer limit it assumes until the server's SETTINGS say otherwise); nghttp2 holds any above the
 * server's `SETTINGS_MAX_CONCURRENT_STREAMS` until one ends.
 */
const h2Streams = 100

/** The resolved options whose `Agent` raises `pipelining` to `h2Streams` on each connection that negotiates h2. */
const streamsRaisedOnH2 = new WeakSet<Undici.Agent.Options>()

/**
 * undici counts an h2 connection's streams as its `Client`'s `pipelining`, and that is 1 unless set: each connection
 * that ALPN makes h2 gets `h2Streams`, and its `Client` is set back to 1 when it disconnects (its next connection may
 * be HTTP/1.1). The `Client` is the last of the targets undici reports; its protocol is its `Symbol('http context')`.
 */
const raiseStreamsOnH2 = (agent: Undici.Agent): void => {
  agent.on("connect", (_origin, targets) => {
    const client = targets[targets.length - 1] as { pipelining?: unknown } & Undici.Dispatcher
    const context = ownSymbolValue(client, "http context") as { readonly version?: unknown } | null | undefined
    if (context?.version === "h2" && client.pipelining === 1) client.pipelining = h2Streams
  })
  agent.on("disconnect", (_origin, targets) => {
    const client = targets[targets.length - 1] as { pipelining?: unknown } & Undici.Dispatcher
    if (client.pipelining === h2Streams) client.pipelining = 1
  })
}

const h2cConnect: Partial<Undici.buildConnector.BuildOptions> & { readonly useH2c: true } = { useH2c: true }

/** The `http2` option, or a `RangeError` naming it when it is none of `true`, `false`, `"h2c"`. */
const toHttp2 = (input: unknown): boolean | "h2c" => {
  if (input === undefined) return false
  if (input === true || input === false || input === "h2c") return input
  const shown = typeof input === "number" || typeof input === "string" ? String(input) : `of type ${typeof input}`
  throw new RangeError(`UndiciHttpClient: http2 (${shown}) must be true, false or "h2c"`)
}

// -----------------------------------------------------------------------------
// TLS
// -----------------------------------------------------------------------------

/** The TLS failure a socket reported before undici's own error for it (`UND_ERR_SOCKET`), on that error. */
const tlsFailureKey = Symbol.for("@sturdy/node/UndiciHttpClient/tlsFailure")

const isTlsCode = (code: unknown): boolean =>
  typeof code === "string" && (code.startsWith("ERR_SSL_") || code.startsWith("ERR_TLS_"))

/**
 * undici's connector, with one addition: a TLS alert that arrives on an open connection is kept. A server that
 * requires a client certificate and gets none (or one it does not trust) refuses it after the client's side of a
 * TLS 1.3 handshake is done, with an alert (`ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED`); undici, which has written
 * the request by then, takes the end of the connection that follows for a plain close ("other side closed",
 * `UND_ERR_SOCKET`) and drops the alert, so the failure read as a reset that may have reached the server. The alert
 * goes on undici's error, which the call reports in its place.
 */
const connectorOf = (options: Undici.buildConnector.BuildOptions): Undici.buildConnector.connector => {
  const connect = Undici.buildConnector(options)
  return (connectOptions, callback) =>
    connect(connectOptions, (...args: Parameters<Undici.buildConnector.Callback>) => {
      const socket = args[1]
      if (socket instanceof Tls.TLSSocket) keepTlsAlert(socket)
      callback(...args)
    })
}

const keepTlsAlert = (socket: Tls.TLSSocket): void => {
  let tlsFailure: Error | undefined
  // ahead of undici's listeners: its error for the close is marked before undici reads it
  socket.prependListener("error", (error: Error) => {
    const code = (error as { readonly code?: unknown }).code
    if (tlsFailure === undefined) {
      if (isTlsCode(code)) tlsFailure = error
    } else if (code === "UND_ERR_SOCKET") {
      Object.defineProperty(error, tlsFailureKey, { value: tlsFailure, configurable: true })
    }
  })
}

/** The error a failure is reported with: the TLS alert undici's close error hides, or the error itself. */
const reportedError = (error: Error): Error => (error as { readonly [tlsFailureKey]?: Error })[tlsFailureKey] ?? error

const minVersions: ReadonlyArray<string> = ["TLSv1.2", "TLSv1.3"]

/** What a value is, for a message: its type only, never the value (a key or passphrase must not be shown). */
const typeOf = (input: unknown): string =>
  input === null ? "null" : Array.isArray(input) ? "an array" : `of type ${typeof input}`

const tlsError = (field: string, detail: string) => new RangeError(`UndiciHttpClient: tls.${field} ${detail}`)

const isPem = (input: unknown): input is string | Uint8Array => typeof input === "string" || input instanceof Uint8Array

/** As Node's types take it: a Buffer over the same bytes (no copy of a key left behind). */
const asNodePem = (input: string | Uint8Array): string | Buffer =>
  typeof input === "string" || Buffer.isBuffer(input)
    ? input
    : Buffer.from(input.buffer, input.byteOffset, input.length)

/** A PEM option that may be a list (`ca`, `cert`): its entries, or a `RangeError` naming it. */
const pemList = (field: string, input: unknown): ReadonlyArray<string | Uint8Array> | undefined => {
  if (input === undefined || input === null) return undefined
  if (isPem(input)) return [input]
  if (Array.isArray(input) && input.every(isPem)) {
    if (input.length === 0) throw tlsError(field, "is an empty list")
    return input
  }
  throw tlsError(field, `(${typeOf(input)}) must be a PEM string or Buffer, or a list of them`)
}

const pemCertificate = /-----BEGIN (X509 |TRUSTED )?CERTIFICATE-----[\s\S]*?-----END \1?CERTIFICATE-----/g

/**
 * Each entry of a certificate option holds at least one PEM certificate that parses: Node's TLS would take anything
 * else (`ca: "ca.pem"`, a DER file) for no certificate at all, without a word, and then trust nothing.
 */
const checkCertificates = (field: string, entries: ReadonlyArray<string | Uint8Array>): void => {
  entries.forEach((entry, index) => {
    const name = entries.length === 1 ? field : `${field}[${index}]`
    const text = typeof entry === "string" ? entry : Buffer.from(entry).toString("latin1")
    const blocks = text.match(pemCertificate)
    if (blocks === null) {
      throw tlsError(name, "holds no PEM certificate (-----BEGIN CERTIFICATE-----; DER must be converted to PEM)")
    }
    for (const block of blocks) {
      // OpenSSL's TRUSTED CERTIFICATE carries trust settings X509Certificate does not read: Node's TLS reads it
      if (block.startsWith("-----BEGIN TRUSTED")) continue
      try {
        new Crypto.X509Certificate(block)
      } catch (error) {
        throw tlsError(name, `holds a PEM certificate that does not parse (${codeOf(error)})`)
      }
    }
  })
}

const codeOf = (error: unknown): string => {
  const code = (error as { readonly code?: unknown } | null)?.code
  return typeof code === "string" ? code : "unknown error"
}

/** A secret option: its value, unwrapped from `Redacted`, or a `RangeError` naming it (its type only). */
const secret = <A>(
  field: string,
  input: unknown,
  accepts: (value: unknown) => value is A,
  expected: string
): A | undefined => {
  if (input === undefined || input === null) return undefined
  const value = Redacted.isRedacted(input) ? Redacted.value(input) : input
  if (accepts(value)) return value
  throw tlsError(field, `(${Redacted.isRedacted(input) ? "a Redacted " : ""}${typeOf(value)}) must be ${expected}`)
}

const isString = (value: unknown): value is string => typeof value === "string"

const encryptedKey = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,ENCRYPTED/

/**
 * The `tls` option as the connector's options, or a `RangeError` naming the field at fault. The certificates and key
 * are read here, once, into one `SecureContext` that every connection shares (Node's TLS would parse them again for
 * each connection), so a file that does not parse or a passphrase that does not decrypt fails when the dispatcher is
 * made, not at the first request, and neither the key nor its passphrase stays in the `Agent`'s options. No message
 * shows a value of `key` or `passphrase`.
 */
const toTls = (
  input: unknown
): Pick<Tls.ConnectionOptions, "secureContext" | "servername" | "rejectUnauthorized"> | undefined => {
  if (input === undefined || input === null) return undefined
  if (typeof input !== "object" || Array.isArray(input)) {
    throw new RangeError(`UndiciHttpClient: tls (${typeOf(input)}) must be an object`)
  }
  const options = input as Partial<Record<keyof UndiciHttpClient.TlsOptions, unknown>>
  const ca = pemList("ca", options.ca)
  const cert = pemList("cert", options.cert)
  const keyInput = secret("key", options.key, isPem, "a PEM string or Buffer, or a Redacted one")
  const key = keyInput === undefined ? undefined : asNodePem(keyInput)
  const passphrase = secret("passphrase", options.passphrase, isString, "a string or a Redacted one")
  const servername = options.servername
  if (servername !== undefined && servername !== null) {
    if (typeof servername !== "string") throw tlsError("servername", `(${typeOf(servername)}) must be a host name`)
    if (!/^[^\s/\\:@[\]]+$/.test(servername) || servername.length > 253) {
      throw tlsError("servername", `(${JSON.stringify(servername)}) must be a host name`)
    }
    if (Net.isIP(servername) !== 0) {
      throw tlsError(
        "servername",
        `(${servername}) is an IP address: SNI names a host (RFC 6066); leave it unset to verify the URL's address`
      )
    }
  }
  const rejectUnauthorized = options.rejectUnauthorized
  if (rejectUnauthorized !== undefined && rejectUnauthorized !== null && typeof rejectUnauthorized !== "boolean") {
    throw tlsError("rejectUnauthorized", `(${typeOf(rejectUnauthorized)}) must be true or false`)
  }
  const minVersion = options.minVersion
  if (minVersion !== undefined && minVersion !== null && !minVersions.includes(minVersion as string)) {
    const shown = typeof minVersion === "string" ? JSON.stringify(minVersion) : typeOf(minVersion)
    throw tlsError("minVersion", `(${shown}) must be "TLSv1.2" or "TLSv1.3"`)
  }
  if (ca !== undefined) checkCertificates("ca", ca)
  if (cert !== undefined && key === undefined) throw tlsError("cert", "is given without tls.key")
  if (key !== undefined && cert === undefined) throw tlsError("key", "is given without tls.cert")
  if (passphrase !== undefined && key === undefined) throw tlsError("passphrase", "is given without tls.key")
  if (cert !== undefined) checkCertificates("cert", cert)
  if (key !== undefined) {
    const encrypted = encryptedKey.test(typeof key === "string" ? key : Buffer.from(key).toString("latin1"))
    if (encrypted && passphrase === undefined) throw tlsError("key", "is encrypted: tls.passphrase is needed")
    try {
      Crypto.createPrivateKey(passphrase === undefined ? { key, format: "pem" } : { key, format: "pem", passphrase })
    } catch (error) {
      // the code only: OpenSSL's words are safe, but nothing of the key is worth the risk
      throw encrypted
        ? tlsError("passphrase", `does not decrypt tls.key (${codeOf(error)})`)
        : tlsError("key", `is not a PEM private key (${codeOf(error)})`)
    }
  }
  let secureContext: Tls.SecureContext
  try {
    secureContext = Tls.createSecureContext({
      ...(ca !== undefined ? { ca: ca.map(asNodePem) } : {}),
      ...(cert !== undefined ? { cert: cert.map(asNodePem) } : {}),
      ...(key !== undefined ? { key } : {}),
      ...(passphrase !== undefined ? { passphrase } : {}),
      ...(typeof minVersion === "string" ? { minVersion: minVersion as Tls.SecureVersion } : {})
    })
  } catch (error) {
    throw codeOf(error) === "ERR_OSSL_X509_KEY_VALUES_MISMATCH"
      ? tlsError("key", "is not the key of tls.cert")
      : new RangeError(`UndiciHttpClient: tls could not be used (${codeOf(error)})`)
  }
  return {
    secureContext,
    ...(typeof servername === "string" ? { servername } : {}),
    ...(typeof rejectUnauthorized === "boolean" ? { rejectUnauthorized } : {})
  }
}

// -----------------------------------------------------------------------------
// Proxy and Unix socket
// -----------------------------------------------------------------------------

/**
 * A forward proxy's origin (no credentials: those are `authorization`) and its `Proxy-Authorization`; for a SOCKS5
 * proxy (`socks`), its address and credentials instead.
 */
interface ProxyTarget {
  readonly uri: string
  readonly authorization: string | undefined
  readonly socks: Socks5.Socks5Proxy | undefined
}

type ProxySetting =
  | { readonly _tag: "Url"; readonly target: ProxyTarget; readonly forwardHttp: boolean }
  | {
    readonly _tag: "Env"
    readonly http: ProxyTarget | undefined
    readonly https: ProxyTarget | undefined
    readonly noProxy: string
    readonly forwardHttp: boolean
    /** `"env"`: which hosts go direct is the environment's to say, not the options' */
    readonly fromEnv: boolean
  }

/** The proxy of the resolved options that have one, with the TLS settings of its two connections. */
const proxied = new WeakMap<Undici.Agent.Options, {
  readonly proxy: ProxySetting
  readonly requestTls: Undici.buildConnector.BuildOptions
  readonly proxyTls: Undici.buildConnector.BuildOptions
}>()

const proxyError = (field: string, detail: string) => new RangeError(`UndiciHttpClient: ${field} ${detail}`)

const strictDecode = (component: string): string | undefined => {
  try {
    return decodeURIComponent(component)
  } catch {
    return undefined
  }
}

/** The `username` and `password` fields of a proxy's options (instead of credentials in its URL). */
interface ProxyCredentials {
  readonly username: string
  readonly password: string
}

const credentialsTwice = (field: string) =>
  proxyError(field, "has credentials in the URL and proxy.username / proxy.password: give one of them")

/**
 * The `username` and `password` fields, or a `RangeError` naming them (never showing them): strings (the password
 * may be `Redacted`), a password only with a username; none when both are unset.
 */
const toProxyCredentials = (username: unknown, password: unknown): ProxyCredentials | undefined => {
  const pass = Redacted.isRedacted(password) ? Redacted.value(password) : password
  const none = (value: unknown) => value === undefined || value === null
  if (none(username) && none(pass)) return undefined
  if (typeof username !== "string" || username === "") {
    throw none(username)
      ? proxyError("proxy.password", "is set without proxy.username")
      : proxyError("proxy.username", `(${typeOf(username)}) must be a non-empty string`)
  }
  if (!none(pass) && typeof pass !== "string") {
    throw proxyError("proxy.password", `(${typeOf(pass)}) must be a string or a Redacted one`)
  }
  return { username, password: typeof pass === "string" ? pass : "" }
}

/** The fields as RFC 1929 credentials: 1 to 255 bytes of UTF-8 for the username, at most 255 for the password. */
const socksCredentials = (fields: ProxyCredentials): NonNullable<Socks5.Socks5Proxy["credentials"]> => {
  const user = Buffer.byteLength(fields.username, "utf8")
  const pass = Buffer.byteLength(fields.password, "utf8")
  if (user > 255) throw proxyError("proxy.username", `has ${user} bytes (SOCKS5 allows 255)`)
  if (pass > 255) throw proxyError("proxy.password", `has ${pass} bytes (SOCKS5 allows 255)`)
  return { username: fields.username, password: fields.password }
}

/** The fields as `Proxy-Authorization: Basic` (RFC 7617: no colon in the username), for an HTTP proxy. */
const basicCredentials = (fields: ProxyCredentials, hasToken: boolean): string => {
  if (hasToken) throw proxyError("proxy.token", "is set with proxy.username / proxy.password: give one of them")
  if (fields.username.includes(":")) throw proxyError("proxy.username", "must not contain a colon (Basic, RFC 7617)")
  return `Basic ${Buffer.from(`${fields.username}:${fields.password}`, "utf8").toString("base64")}`
}

/**
 * A SOCKS5 proxy URL's target, or a `RangeError` naming `field`: `socks5:` resolves the origin's host name here,
 * `socks5h:` at the proxy (curl's readings); port 1080 when none is given. Credentials are RFC 1929's username and
 * password: percent-encoded UTF-8, 1 to 255 bytes for the username, at most 255 for the password.
 */
const socksTarget = (field: string, url: URL, hasToken: boolean, fields?: ProxyCredentials): ProxyTarget => {
  if (hasToken) {
    throw proxyError(
      field,
      "is a SOCKS5 proxy with a token: a SOCKS5 proxy takes a username and password in the URL (a Redacted URL " +
        "hides them), not a Proxy-Authorization value"
    )
  }
  if (url.hostname === "" || /[%\s]/.test(url.hostname)) throw proxyError(field, "has no host")
  if (url.port === "0") throw proxyError(field, "has port 0 (expected a port from 1 to 65535)")
  if ((url.pathname !== "" && url.pathname !== "/") || url.search !== "" || url.hash !== "") {
    throw proxyError(field, "must name the proxy only (scheme, host, port): no path, query or fragment")
  }
  let credentials: Socks5.Socks5Proxy["credentials"]
  if (url.username !== "" || url.password !== "") {
    if (fields !== undefined) throw credentialsTwice(field)
    const username = strictDecode(url.username)
    const password = strictDecode(url.password)
    if (username === undefined || password === undefined) {
      throw proxyError(field, "has credentials that are not percent-encoded UTF-8")
    }
    const user = Buffer.from(username, "utf8")
    const pass = Buffer.from(password, "utf8")
    if (user.length === 0) throw proxyError(field, "has a password without a username")
    // RFC 1929: one byte of length each
    if (user.length > 255) throw proxyError(field, `has a username of ${user.length} bytes (SOCKS5 allows 255)`)
    if (pass.length > 255) throw proxyError(field, `has a password of ${pass.length} bytes (SOCKS5 allows 255)`)
    credentials = { username, password }
  }
  if (fields !== undefined) credentials = socksCredentials(fields)
  const port = url.port === "" ? 1080 : Number(url.port)
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname
  return {
    uri: `${url.protocol}//${url.hostname}:${port}`,
    authorization: undefined,
    socks: { host, port, resolve: url.protocol === "socks5h:" ? "proxy" : "local", credentials }
  }
}

/**
 * A proxy URL as a target, or a `RangeError` naming `field`: an `http:` or `https:` origin, or a `socks5:` or
 * `socks5h:` proxy, nothing else (a path, a query or a fragment would be ignored without a word). No message shows
 * the URL: it may hold credentials.
 */
const proxyTarget = (
  field: string,
  input: string,
  token: string | undefined,
  schemeless: boolean,
  fields?: ProxyCredentials
): ProxyTarget => {
  const text = schemeless && !/^[a-z][a-z0-9+.-]*:\/\//i.test(input) ? `http://${input}` : input
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw proxyError(field, "is not a URL (expected http://host:port, https://host:port or socks5h://host:port)")
  }
  if (url.protocol === "socks5:" || url.protocol === "socks5h:") {
    if (/[?#]/.test(text)) {
      throw proxyError(field, "must name the proxy only (scheme, host, port): no path, query or fragment")
    }
    return socksTarget(field, url, token !== undefined, fields)
  }
  if (url.protocol === "socks:") {
    throw proxyError(field, "(socks:) is ambiguous (SOCKS4 to curl, SOCKS5 to undici): write socks5: or socks5h:")
  }
  if (url.protocol === "socks4:" || url.protocol === "socks4a:") {
    throw proxyError(field, `(${url.protocol}) is SOCKS4, which is not supported: use socks5: or socks5h:`)
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    const scheme = /^[a-z][a-z0-9+.-]*:$/i.test(url.protocol) ? url.protocol : "an unknown scheme"
    throw proxyError(field, `(${scheme}) must be an http:, https:, socks5: or socks5h: URL`)
  }
  if (url.hostname === "") throw proxyError(field, "has no host")
  // the URL parser takes port 0, which no connection can reach
  if (url.port === "0") throw proxyError(field, "has port 0 (expected a port from 1 to 65535)")
  if (url.pathname !== "/" || url.search !== "" || url.hash !== "" || /[?#]/.test(text)) {
    throw proxyError(field, "must name the proxy only (scheme, host, port): no path, query or fragment")
  }
  const hasUserinfo = url.username !== "" || url.password !== ""
  if (hasUserinfo && token !== undefined) {
    throw proxyError(field, "has credentials in the URL and a token: give one of them")
  }
  if (hasUserinfo && fields !== undefined) throw credentialsTwice(field)
  const authorization = hasUserinfo
    ? `Basic ${Buffer.from(`${safeDecode(url.username)}:${safeDecode(url.password)}`, "utf8").toString("base64")}`
    : fields !== undefined
    ? basicCredentials(fields, token !== undefined)
    : token
  url.username = ""
  url.password = ""
  return { uri: url.origin, authorization, socks: undefined }
}

const proxyText = (field: string, input: unknown): string => {
  const value = Redacted.isRedacted(input) ? Redacted.value(input) : input
  if (typeof value === "string") return value
  if (value instanceof URL) return value.href
  throw proxyError(field, `(${typeOf(value)}) must be a URL string, a URL or a Redacted one`)
}

const envValue = (...names: ReadonlyArray<string>): readonly [string, string] | undefined => {
  for (const name of names) {
    const value = process.env[name]
    if (value !== undefined && value.trim() !== "") return [name, value.trim()]
  }
  return undefined
}

const envTarget = (...names: ReadonlyArray<string>): ProxyTarget | undefined => {
  const found = envValue(...names)
  return found === undefined ? undefined : proxyTarget(`proxy ("env": ${found[0]})`, found[1], undefined, true)
}

const headerValue = /^[\t\x20-\x7e\x80-\xff]*$/

/**
 * The `"env"` targets: `http_proxy` / `HTTP_PROXY` for `http:` origins, then `all_proxy` / `ALL_PROXY` (curl's
 * fallback for every scheme); `https_proxy` / `HTTPS_PROXY` for `https:` ones, then `ALL_PROXY`, then the `http:`
 * origins' proxy.
 */
const envTargets = (): { readonly http: ProxyTarget | undefined; readonly https: ProxyTarget | undefined } => {
  const all = envTarget("all_proxy", "ALL_PROXY")
  const http = envTarget("http_proxy", "HTTP_PROXY") ?? all
  return { http, https: envTarget("https_proxy", "HTTPS_PROXY") ?? all ?? http }
}

/**
 * The two targets of a setting with `NO_PROXY` (one may be none): a SOCKS5 proxy for one scheme and an HTTP proxy
 * for the other is refused, naming `field` (each is a dispatcher of its own kind; see `proxyDispatcher`).
 */
const checkMixed = (field: string, http: ProxyTarget | undefined, https: ProxyTarget | undefined): void => {
  if (http !== undefined && https !== undefined && (http.socks === undefined) !== (https.socks === undefined)) {
    throw proxyError(
      field,
      "names a SOCKS5 proxy for one scheme and an HTTP proxy for the other: use one kind for both"
    )
  }
}

/** The `proxy` option, or a `RangeError` naming it. `"env"` reads the variables now, once. */
const toProxy = (input: unknown): ProxySetting | undefined => {
  if (input === undefined || input === null) return undefined
  if (input === "env") {
    const { http, https } = envTargets()
    checkMixed("proxy (\"env\")", http, https)
    return {
      _tag: "Env",
      http,
      https,
      noProxy: envValue("no_proxy", "NO_PROXY")?.[1] ?? "",
      forwardHttp: false,
      fromEnv: true
    }
  }
  if (typeof input === "object" && !Redacted.isRedacted(input) && !(input instanceof URL) && !Array.isArray(input)) {
    const options = input as Partial<Record<keyof UndiciHttpClient.ProxyOptions, unknown>>
    const token = options.token === undefined || options.token === null
      ? undefined
      : Redacted.isRedacted(options.token)
      ? Redacted.value(options.token)
      : options.token
    // a header value (RFC 9110 §5.5, as undici checks it at every CONNECT): no NUL, CR, LF or other control, nothing
    // beyond Latin-1
    if (token !== undefined && (typeof token !== "string" || token.trim() === "" || !headerValue.test(token))) {
      throw proxyError("proxy.token", `(${typeOf(token)}) must be a Proxy-Authorization value, or a Redacted one`)
    }
    if (options.url === undefined || options.url === null) throw proxyError("proxy.url", "is missing")
    const credentials = toProxyCredentials(options.username, options.password)
    const target = proxyTarget("proxy.url", proxyText("proxy.url", options.url), token, false, credentials)
    const forward = options.forwardHttp
    if (forward !== undefined && forward !== null && typeof forward !== "boolean") {
      throw proxyError("proxy.forwardHttp", `(${typeOf(forward)}) must be true or false`)
    }
    const forwardHttp = forward === true
    if (forwardHttp && !target.uri.startsWith("http:")) {
      throw proxyError(
        "proxy.forwardHttp",
        "needs an http: proxy (an https: or SOCKS5 proxy is always reached by a tunnel)"
      )
    }
    const noProxy = options.noProxy
    if (noProxy === undefined || noProxy === null) return { _tag: "Url", target, forwardHttp }
    if (typeof noProxy !== "string" || /[\r\n\0]/.test(noProxy)) {
      throw proxyError("proxy.noProxy", `(${typeOf(noProxy)}) must be a list of hosts, as NO_PROXY`)
    }
    // the same proxy for both schemes, with undici's NO_PROXY matching
    return { _tag: "Env", http: target, https: target, noProxy: noProxy.trim(), forwardHttp, fromEnv: false }
  }
  return { _tag: "Url", target: proxyTarget("proxy", proxyText("proxy", input), undefined, false), forwardHttp: false }
}

/**
 * The longest Unix socket path in bytes: `sockaddr_un.sun_path` holds 108 bytes on Linux, 104 on the BSDs and macOS,
 * one of them the terminating NUL. A longer path can never be connected to (Node reports `ENOENT`, as if it did not
 * exist); Windows named pipes have no such field.
 */
const maxSocketPathBytes = (platform: string): number | undefined =>
  platform === "linux" || platform === "android"
    ? 107
    : platform === "darwin" || platform === "freebsd" || platform === "openbsd" || platform === "netbsd"
    ? 103
    : undefined

/** @internal The `socketPath` option, or a `RangeError` naming it. */
export const toSocketPath = (input: unknown, platform: string = process.platform): string | undefined => {
  if (input === undefined || input === null) return undefined
  if (typeof input !== "string" || input === "" || input.includes("\0")) {
    throw new RangeError(`UndiciHttpClient: socketPath (${typeOf(input)}) must be a non-empty path`)
  }
  const max = maxSocketPathBytes(platform)
  const bytes = Buffer.byteLength(input, "utf8")
  if (max !== undefined && bytes > max) {
    throw new RangeError(`UndiciHttpClient: socketPath (${bytes} bytes) must be at most ${max} bytes on ${platform}`)
  }
  return input
}

/**
 * The TLS of the connection to an `https:` proxy: the trust of the `tls` option (its `ca`, `rejectUnauthorized` and
 * `minVersion`), never its client certificate or `servername`, which are the origin's. Read after `toTls` checked them.
 */
const toProxyTls = (
  input: UndiciHttpClient.TlsOptions | undefined
): Pick<Tls.ConnectionOptions, "secureContext" | "rejectUnauthorized"> => {
  if (input === undefined || input === null) return {}
  const ca = pemList("ca", input.ca)
  const secureContext = ca === undefined && input.minVersion === undefined ? undefined : Tls.createSecureContext({
    ...(ca !== undefined ? { ca: ca.map(asNodePem) } : {}),
    ...(typeof input.minVersion === "string" ? { minVersion: input.minVersion } : {})
  })
  return {
    ...(secureContext !== undefined ? { secureContext } : {}),
    ...(typeof input.rejectUnauthorized === "boolean" ? { rejectUnauthorized: input.rejectUnauthorized } : {})
  }
}

/**
 * The `Client` to the proxy, which sends `authorization` on each `CONNECT`: kept in this closure, not in the
 * `ProxyAgent`'s options or headers, where inspecting the dispatcher (or a log of it) would show it.
 */
const proxyClientFactory =
  (authorization: (origin: string) => string | undefined) => (origin: URL, options: object): Undici.Dispatcher => {
    const client = new Undici.Client(origin, options)
    const value = authorization(origin.origin)
    if (value === undefined) return client
    return client.compose((dispatch) => (opts, handler) =>
      dispatch(
        { ...opts, headers: { ...(opts.headers as Record<string, string>), "proxy-authorization": value } },
        handler
      )
    )
  }

/**
 * undici's `ProxyAgent` adds `host` to the headers object it is given: the request's own, which must not change; a
 * copy is given instead.
 */
const copyHeaders: Undici.Dispatcher.DispatcherComposeInterceptor = (dispatch) => (opts, handler) =>
  dispatch({ ...opts, headers: { ...(opts.headers as Record<string, string>) } }, handler)

/**
 * `NO_PROXY` as undici's `EnvHttpProxyAgent` reads it (entries split on commas and spaces, a leading `.` or `*.`
 * dropped, a `:port` kept, `*` alone for every host): whether a connection to `hostname` (as the URL gives it,
 * brackets and all) on `port` goes around the proxy.
 */
const noProxyMatcher = (value: string) => {
  const entries = value.split(/[,\s]/).filter((entry) => entry !== "").map((entry) => {
    const parsed = /^(.+):(\d+)$/.exec(entry)
    return {
      hostname: (parsed !== null ? parsed[1] : entry).replace(/^\*?\./, "").toLowerCase(),
      port: parsed !== null ? Number.parseInt(parsed[2], 10) : 0
    }
  })
  return (hostname: string, port: number): boolean => {
    if (entries.length === 0) return false
    if (value === "*") return true
    const host = hostname.toLowerCase()
    return entries.some((entry) =>
      (entry.port === 0 || entry.port === port) &&
      (host === entry.hostname || host.endsWith(`.${entry.hostname}`))
    )
  }
}

/**
 * An `Agent` whose connections go through SOCKS5 proxies: `http` for `http:` origins, `https` for `https:` ones
 * (direct where one is none, or where `noProxy` names the host). Credentials stay in the connector's closure: no
 * option or field of the `Agent` holds them.
 */
const socksDispatcher = (
  resolved: Undici.Agent.Options,
  settings: NonNullable<ReturnType<typeof proxied.get>>,
  http: ProxyTarget | undefined,
  https: ProxyTarget | undefined,
  noProxy: string
): Undici.Dispatcher => {
  const direct = resolved.connect as Undici.buildConnector.connector
  const timeout = resolved.connectTimeout ?? 0
  // the origin's TLS over the tunnel: the `tls` option, its alerts kept as on every other connection
  const tlsConnect = connectorOf({ ...settings.requestTls, allowH2: false })
  const viaHttp = http?.socks === undefined ? direct : Socks5.connector(http.socks, tlsConnect, timeout)
  const viaHttps = https?.socks === undefined ? direct : Socks5.connector(https.socks, tlsConnect, timeout)
  const bypass = noProxyMatcher(noProxy)
  const connect: Undici.buildConnector.connector = (options, callback) => {
    const secure = options.protocol === "https:"
    if (bypass(options.hostname, Number(options.port) || (secure ? 443 : 80))) return direct(options, callback)
    return (secure ? viaHttps : viaHttp)(options, callback)
  }
  return new Undici.Agent({ ...resolved, connect })
}

/** undici's own choice of a dispatcher for an origin (`ProxyAgent`'s and `Agent`'s default factory). */
const defaultFactory = (origin: string | URL, options: object): Undici.Dispatcher =>
  (options as { readonly connections?: unknown }).connections === 1
    ? new Undici.Client(origin, options)
    : new Undici.Pool(origin, options)

/** undici's private `Symbol('dispatch')`, found by its description on the prototype chain. */
const internalDispatchOf = (dispatcher: object): symbol | undefined => {
  for (let proto: object | null = dispatcher; proto !== null; proto = Object.getPrototypeOf(proto)) {
    const found = Object.getOwnPropertySymbols(proto).find((symbol) => symbol.description === "dispatch")
    if (found !== undefined) return found
  }
  return undefined
}

/**
 * With `forwardHttp`, undici's `ProxyAgent` (`proxyTunnel: false`) sends `http:` requests to the proxy in absolute
 * form through a client it makes with its `factory` for the proxy's URL (`href`), calling the client's internal
 * dispatch directly (past any `compose`): that client adds the `Proxy-Authorization` there, kept in a closure (no
 * field of a dispatcher holds it). Every other origin gets undici's default.
 */
const forwardingFactory =
  (href: string, authorization: (origin: string) => string | undefined) =>
  (origin: string | URL, options: object): Undici.Dispatcher => {
    if (String(origin) !== href) return defaultFactory(origin, options)
    const client = new Undici.Client(origin, options)
    const value = authorization(new URL(href).origin)
    if (value === undefined) return client
    const symbol = internalDispatchOf(client)
    if (symbol === undefined) throw new TypeError("UndiciHttpClient: undici's Client has no internal dispatch")
    const dispatch = client as unknown as Record<symbol, Undici.Dispatcher["dispatch"]>
    const own = dispatch[symbol].bind(client)
    Object.defineProperty(client, symbol, {
      value: (opts: Undici.Dispatcher.DispatchOptions, handler: Undici.Dispatcher.DispatchHandler) =>
        own(
          { ...opts, headers: { ...(opts.headers as Record<string, string>), "proxy-authorization": value } },
          handler
        )
    })
    return client
  }

/** The dispatcher for a proxy: a `ProxyAgent`, an `EnvHttpProxyAgent` for `"env"`, an `Agent` for SOCKS5. */
const proxyDispatcher = (
  resolved: Undici.Agent.Options,
  settings: NonNullable<ReturnType<typeof proxied.get>>
): Undici.Dispatcher => {
  const { proxy, proxyTls, requestTls } = settings
  const { connect: _connect, ...pool } = resolved
  if (proxy._tag === "Url") {
    if (proxy.target.socks !== undefined) return socksDispatcher(resolved, settings, proxy.target, proxy.target, "")
    const authorization = () => proxy.target.authorization
    return new Undici.ProxyAgent({
      ...pool,
      uri: proxy.target.uri,
      clientFactory: proxyClientFactory(authorization),
      ...(proxy.forwardHttp
        ? { proxyTunnel: false, factory: forwardingFactory(new URL(proxy.target.uri).href, authorization) }
        : {}),
      requestTls,
      proxyTls
    }).compose(copyHeaders)
  }
  if (proxy.http?.socks !== undefined || proxy.https?.socks !== undefined) {
    return socksDispatcher(resolved, settings, proxy.http, proxy.https, proxy.noProxy)
  }
  const credentials = new Map<string, string>()
  for (const target of [proxy.http, proxy.https]) {
    if (target?.authorization !== undefined) credentials.set(target.uri, target.authorization)
  }
  const authorization = (origin: string) => credentials.get(origin)
  return new Undici.EnvHttpProxyAgent({
    // the origins outside the proxy keep the connector of every other `Agent` (TLS alerts reported)
    ...resolved,
    httpProxy: proxy.http?.uri ?? "",
    httpsProxy: proxy.https?.uri ?? "",
    noProxy: proxy.noProxy,
    clientFactory: proxyClientFactory(authorization),
    ...(proxy.forwardHttp && proxy.http !== undefined
      ? { proxyTunnel: false, factory: forwardingFactory(new URL(proxy.http.uri).href, authorization) }
      : {}),
    requestTls,
    proxyTls
  }).compose(copyHeaders)
}

/**
 * Whether a request for `origin` goes around the proxy, as undici's `EnvHttpProxyAgent` (and `socksDispatcher`)
 * decide: no proxy for its scheme, or `noProxy` names its host (as the URL gives it, brackets and all) and port.
 */
const directHosts = (proxy: Extract<ProxySetting, { readonly _tag: "Env" }>): (origin: URL) => boolean => {
  const bypass = noProxyMatcher(proxy.noProxy)
  return (origin) => {
    const secure = origin.protocol === "https:"
    if ((secure ? proxy.https : proxy.http) === undefined) return true
    return bypass(origin.host.replace(/:\d*$/, ""), Number.parseInt(origin.port, 10) || (secure ? 443 : 80))
  }
}

/**
 * A proxy's dispatcher with a second one, for the hosts reached directly (`dns` with a proxy: that one caches their
 * names, where the proxy resolves the others'). Closed and destroyed together.
 */
class DirectOrProxied extends Undici.Dispatcher {
  constructor(
    readonly direct: Undici.Dispatcher,
    readonly proxied: Undici.Dispatcher,
    readonly isDirect: (origin: URL) => boolean
  ) {
    super()
  }
  override dispatch(opts: Undici.Dispatcher.DispatchOptions, handler: Undici.Dispatcher.DispatchHandler): boolean {
    const origin = opts.origin instanceof URL ? opts.origin : new URL(String(opts.origin))
    return (this.isDirect(origin) ? this.direct : this.proxied).dispatch(opts, handler)
  }
  override close(): Promise<void>
  override close(callback: () => void): void
  override close(callback?: () => void): Promise<void> | void {
    const done = Promise.all([this.direct.close(), this.proxied.close()]).then(() => undefined)
    if (callback === undefined) return done
    void done.then(callback, callback)
  }
  override destroy(): Promise<void>
  override destroy(err: Error | null): Promise<void>
  override destroy(callback: () => void): void
  override destroy(err: Error | null, callback: () => void): void
  override destroy(
    errOrCallback?: Error | null | (() => void),
    callback?: () => void
  ): Promise<void> | void {
    const err = typeof errOrCallback === "function" ? null : errOrCallback ?? null
    const then = typeof errOrCallback === "function" ? errOrCallback : callback
    const done = Promise.all([this.direct.destroy(err), this.proxied.destroy(err)]).then(() => undefined)
    if (then === undefined) return done
    void done.then(then, then)
  }
}

// -----------------------------------------------------------------------------
// DNS cache (the `dns` option)
// -----------------------------------------------------------------------------

/** The `dns` option, resolved: undici's DNS interceptor settings and what a request's SNI name falls back to. */
interface DnsSettings {
  readonly maxTtlMillis: number
  readonly maxItems: number
  readonly dualStack: boolean
  readonly lookup: NonNullable<UndiciHttpClient.DnsOptions["lookup"]>
  readonly servername: string | undefined
}

const dnsCached = new WeakMap<Undici.Agent.Options, DnsSettings>()

const defaultLookup: NonNullable<UndiciHttpClient.DnsOptions["lookup"]> = (hostname, options, callback) =>
  Dns.lookup(
    hostname,
    { all: true, family: options.family, order: "ipv4first" },
    (error, addresses) => callback(error, addresses ?? [])
  )

/**
 * The `dns` option, or a `RangeError` naming it: `true` or an object; `maxTtl` a positive duration, `maxItems` an
 * integer >= 1, `dualStack` a boolean, `lookup` a function. With a proxy it serves the hosts reached directly (the
 * proxy resolves the others' names): refused with a proxy that every host goes through (no `noProxy`, which the
 * options say once for all, where `"env"` is the environment's to say), and with `socketPath` (no name is resolved).
 */
const toDns = (
  input: unknown,
  proxy: ProxySetting | undefined,
  hasSocketPath: boolean,
  servername: string | undefined
): DnsSettings | undefined => {
  if (input === undefined || input === null || input === false) return undefined
  if (input !== true && (typeof input !== "object" || Array.isArray(input))) {
    throw new RangeError(`UndiciHttpClient: dns (${typeOf(input)}) must be true, false or an object`)
  }
  const options: Partial<Record<keyof UndiciHttpClient.DnsOptions, unknown>> = input === true ? {} : input
  const dualStack = options.dualStack ?? true
  if (typeof dualStack !== "boolean") {
    throw new RangeError(`UndiciHttpClient: dns.dualStack (${typeOf(dualStack)}) must be true or false`)
  }
  const lookup = options.lookup ?? defaultLookup
  if (typeof lookup !== "function") {
    throw new RangeError(`UndiciHttpClient: dns.lookup (${typeOf(lookup)}) must be a function, as dns.lookup`)
  }
  const settings: DnsSettings = {
    maxTtlMillis: toMillis("dns.maxTtl", options.maxTtl as Duration.DurationInput | undefined, 10_000, true),
    maxItems: toCount("dns.maxItems", options.maxItems as number | undefined, 1) ?? 1_000,
    dualStack,
    lookup: lookup as DnsSettings["lookup"],
    servername
  }
  if (proxy !== undefined && (proxy._tag === "Url" || (!proxy.fromEnv && proxy.noProxy === ""))) {
    throw new RangeError(
      "UndiciHttpClient: dns cannot be combined with proxy without proxy.noProxy (every host goes through the proxy, " +
        "which resolves its name; the cache serves the hosts reached directly)"
    )
  }
  if (hasSocketPath) {
    throw new RangeError("UndiciHttpClient: dns cannot be combined with socketPath (no name is resolved)")
  }
  return settings
}

type DnsRecords = Undici.interceptors.DNSInterceptorOriginRecords

const expired = (records: DnsRecords, now: number): boolean =>
  [records.records[4], records.records[6]].every((family) =>
    family === null || family.ips.every((ip) => now - (ip as { readonly timestamp?: number }).timestamp! > ip.ttl)
  )

/**
 * The cache of resolved names, at most `maxItems` of them: past it the expired ones are dropped, then the oldest.
 * undici's own refuses a new name once full and lets the `Agent` resolve it with `getaddrinfo`, past a custom
 * `lookup`; and it keeps a name that is never asked for again forever, so that once full it would never cache again.
 */
class DnsStorage implements Undici.interceptors.DNSStorage {
  readonly records = new Map<string, DnsRecords>()
  constructor(readonly maxItems: number) {}
  get size(): number {
    return this.records.size
  }
  get(hostname: string): DnsRecords | null {
    return this.records.get(hostname) ?? null
  }
  set(hostname: string, records: DnsRecords | null): void {
    this.records.delete(hostname)
    if (records === null) return
    this.records.set(hostname, records)
    if (this.records.size <= this.maxItems) return
    const now = Date.now()
    for (const [name, kept] of this.records) {
      if (expired(kept, now)) this.records.delete(name)
    }
    for (const name of this.records.keys()) {
      if (this.records.size <= this.maxItems) break
      this.records.delete(name)
    }
  }
  delete(hostname: string): void {
    this.records.delete(hostname)
  }
  full(): boolean {
    return false
  }
}

/** Failures of a connection to a cached address that make the next request resolve the name again. */
const unreachableCodes = new Set([
  "ECONNREFUSED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ETIMEDOUT",
  "UND_ERR_CONNECT_TIMEOUT"
])

/** The SNI name a request gets without the cache, kept on its options for the dispatch past the interceptor. */
const intendedServername = Symbol.for("@sturdy/node/UndiciHttpClient/servername")

const hostHeaderOf = (headers: unknown): string | undefined => {
  if (headers === null || typeof headers !== "object" || Array.isArray(headers)) return undefined
  for (const key of Object.keys(headers)) {
    const value = (headers as Record<string, unknown>)[key]
    if (key.toLowerCase() === "host" && typeof value === "string") return value
  }
  return undefined
}

/** A host (`name:port`, `[::1]:port`) as an SNI name: none for an IP address (RFC 6066). */
const serverNameOf = (host: string): string => {
  const name = host.startsWith("[") ? host.slice(1, host.indexOf("]")) : host.replace(/:\d*$/, "")
  return Net.isIP(name) !== 0 ? "" : name
}

/**
 * undici's DNS interceptor, with what it misses: an IPv6 literal (`[::1]`) goes direct, not to the resolver; a
 * lookup that finds no address is `ENOTFOUND` (a `DnsLookup`), not undici's informational error; the TLS name is the
 * one the request has without the cache (its `Host` header's, else `tls.servername`, else the URL's), where undici
 * always sends the URL's, past `tls.servername` and the `Host` header; and a connection refused, unreachable or timed
 * out drops the name, so the next request resolves it again instead of meeting the dead address until the TTL ends.
 */
const dnsCache = (settings: DnsSettings): Undici.Dispatcher.DispatcherComposeInterceptor => (dispatch) => {
  const storage = new DnsStorage(settings.maxItems)
  const cached = Undici.interceptors.dns({
    maxTTL: settings.maxTtlMillis,
    maxItems: settings.maxItems,
    dualStack: settings.dualStack,
    // IPv4 first, IPv6 for a name without IPv4 addresses (or when IPv4 refuses): undici's default alternates the
    // families request by request, and an unreachable IPv6 network (ENETUNREACH) is not retried on IPv4
    affinity: 4,
    storage,
    lookup: (origin, _options, callback) =>
      settings.lookup(
        origin.hostname,
        // undici passes its own settings here (`dualStack`, `affinity`), not `dns.lookup`'s `family`
        { all: true, family: settings.dualStack ? 0 : 4 },
        (error, addresses) => {
          if (error) return callback(error, [])
          // Linux gives an address once per socket type: kept once
          const unique = new Map<string, Undici.interceptors.DNSInterceptorRecord>()
          for (const { address, family } of addresses ?? []) {
            if (family === 4 || family === 6) {
              unique.set(`${address}:${family}`, { address, family, ttl: settings.maxTtlMillis })
            }
          }
          if (unique.size === 0) {
            const notFound = Object.assign(new globalThis.Error(`getaddrinfo ENOTFOUND ${origin.hostname}`), {
              code: "ENOTFOUND",
              hostname: origin.hostname
            })
            return callback(notFound, [])
          }
          callback(null, [...unique.values()])
        }
      )
  })((opts, handler) => {
    const servername = (opts as { readonly [intendedServername]?: string })[intendedServername] || undefined
    return dispatch({ ...opts, servername } as Undici.Dispatcher.DispatchOptions, handler)
  })
  return (opts, handler) => {
    const origin = opts.origin instanceof URL ? opts.origin : new URL(String(opts.origin))
    if (origin.hostname.startsWith("[") || Net.isIP(origin.hostname) !== 0) return dispatch(opts, handler)
    const hostHeader = hostHeaderOf(opts.headers)
    const servername = (hostHeader !== undefined ? serverNameOf(hostHeader) : "") || settings.servername ||
      origin.hostname
    return cached(
      { ...opts, [intendedServername]: servername } as Undici.Dispatcher.DispatchOptions,
      new EvictOnUnreachable(handler, () => storage.delete(origin.hostname))
    )
  }
}

type Handler = Undici.Dispatcher.DispatchHandler
type HandlerArgs<K extends keyof Handler> = Parameters<NonNullable<Handler[K]>>

/** The request's handler (undici's current interface, as `compose` gives it), told first of an unreachable address. */
class EvictOnUnreachable implements Handler {
  constructor(readonly handler: Handler, readonly evict: () => void) {}
  onRequestStart(...args: HandlerArgs<"onRequestStart">) {
    return this.handler.onRequestStart?.(...args)
  }
  onRequestUpgrade(...args: HandlerArgs<"onRequestUpgrade">) {
    return this.handler.onRequestUpgrade?.(...args)
  }
  onResponseStart(...args: HandlerArgs<"onResponseStart">) {
    return this.handler.onResponseStart?.(...args)
  }
  onResponseData(...args: HandlerArgs<"onResponseData">) {
    return this.handler.onResponseData?.(...args)
  }
  onResponseEnd(...args: HandlerArgs<"onResponseEnd">) {
    return this.handler.onResponseEnd?.(...args)
  }
  onResponseError(...args: HandlerArgs<"onResponseError">) {
    if (unreachableCodes.has(String((args[1] as { readonly code?: unknown } | undefined)?.code))) this.evict()
    return this.handler.onResponseError?.(...args)
  }
}

/**
 * The headers and body timeouts of the dispatchers made with them (`make` reads those of any other from undici's
 * fields, when they say them). undici's timeout errors do not say what the limit was; the call adds it to the error, so the failure
 * reports the limit that fired.
 */
const transportTimeouts = new WeakMap<Undici.Dispatcher, TransportTimeouts>()

interface TransportTimeouts {
  readonly headersMillis: number
  readonly bodyMillis: number
}

/** @internal */
export const makeDispatcher = (
  options?: UndiciHttpClient.DispatcherOptions
): Effect.Effect<Undici.Dispatcher, never, Scope.Scope> => makeAgent(() => agentOptions(options))

/** An `Agent` made from resolved options (resolving may throw: a defect here), destroyed when the scope closes. */
const makeAgent = (
  resolve: () => Undici.Agent.Options
): Effect.Effect<Undici.Dispatcher, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const resolved = resolve()
      const proxy = proxied.get(resolved)
      const agent = proxy !== undefined ? proxyDispatcher(resolved, proxy) : new Undici.Agent(resolved)
      if (streamsRaisedOnH2.has(resolved)) raiseStreamsOnH2(agent as Undici.Agent)
      const dns = dnsCached.get(resolved)
      const dispatcher = dns === undefined
        ? agent
        : proxy === undefined
        ? agent.compose(dnsCache(dns))
        // with a proxy, the hosts reached directly get the cache; the proxy resolves the others' names
        : new DirectOrProxied(
          new Undici.Agent(resolved).compose(dnsCache(dns)),
          agent,
          directHosts(proxy.proxy as Extract<ProxySetting, { readonly _tag: "Env" }>)
        )
      const decompression = decompressed.get(resolved)
      if (decompression !== undefined) decompressed.set(dispatcher, decompression)
      if (resolved.headersTimeout! > 0 || resolved.bodyTimeout! > 0) {
        transportTimeouts.set(dispatcher, {
          headersMillis: resolved.headersTimeout!,
          bodyMillis: resolved.bodyTimeout!
        })
      }
      return dispatcher
    }),
    (dispatcher) => Effect.promise(() => dispatcher.destroy())
  )

/** @internal */
export const layerDispatcher = (
  options?: UndiciHttpClient.DispatcherOptions
): Layer.Layer<UndiciHttpClient.Dispatcher> => Layer.scoped(dispatcherTag, makeDispatcher(options))

// -----------------------------------------------------------------------------
// Tracing
// -----------------------------------------------------------------------------

// The tracer every fiber has unless a real one (OpenTelemetry, ...) is installed: its spans go nowhere.
const nativeTracer: Tracer.Tracer = Effect.runSync(Effect.tracer)

const hex8 = (): string => ((Math.random() * 0x100000000) >>> 0).toString(16).padStart(8, "0")

/**
 * With the native tracer the client span would never be exported, so it is not built. Inside a span (say, a server
 * handler continuing an incoming trace) the server still receives the `b3` / `traceparent` headers that the client
 * span would have carried: the parent's trace id and sampling decision, a fresh span id. Outside any span there is
 * nothing to continue, and a trace id that nobody records is not sent.
 */
const propagationHeaders = (parent: Tracer.AnySpan): Headers.Headers => {
  const spanId = hex8() + hex8()
  return Headers.unsafeFromRecord({
    b3: `${parent.traceId}-${spanId}-${parent.sampled ? "1" : "0"}-${parent.spanId}`,
    traceparent: `00-${parent.traceId}-${spanId}-${parent.sampled ? "01" : "00"}`
  })
}

// The platform keeps the controllers of `HttpClient.withScope` requests here; sharing the global entry lets scoped
// requests keep their "abort when the scope closes" semantics on this transport too.
const scopedRequests = globalValue(
  "@effect/platform/HttpClient/scopedRequests",
  () => new WeakMap<ClientRequest.HttpClientRequest, AbortController>()
)

// -----------------------------------------------------------------------------
// Client
// -----------------------------------------------------------------------------

/**
 * Where a request goes: its URL without the fragment, and the origin and path undici is given.
 */
interface Target {
  readonly url: URL
  readonly origin: string
  readonly path: string
  /** `Basic` credentials from the URL's userinfo (`https://user:pass@host/`), sent when the request sets none. */
  readonly authorization: string | undefined
}

// Credentials written in the URL are sent as Basic authentication, as Node's `http.request` (and so
// `NodeHttpClient.layer`), curl, got and requests do; undici's `dispatch` would drop them without a word. They are
// taken out of the URL, so no span or log carries them.
const basicAuthorizationOf = (url: URL): string | undefined => {
  if (url.username === "" && url.password === "") return undefined
  const credentials = `${safeDecode(url.username)}:${safeDecode(url.password)}`
  url.username = ""
  url.password = ""
  return `Basic ${Buffer.from(credentials, "utf8").toString("base64")}`
}

const safeDecode = (component: string): string => {
  try {
    return decodeURIComponent(component)
  } catch {
    return component
  }
}

// A client calls a handful of URLs again and again, and parsing one (`new URL`, then its origin and path) costs
// about a microsecond and a few hundred bytes: each is parsed once per client, the oldest forgotten past this many.
const targetCapacity = 256

// a page's location is the base of relative URLs, and it can change: no target is kept while there is one
const hasLocation = (): boolean => (globalThis as { readonly location?: unknown }).location !== undefined

/** An own property of undici's, found by the description of its private symbol (`Symbol('url')`, ...): no public
 * property exposes them, and a dispatcher of another copy of undici has symbols of its own with the same descriptions. */
const ownSymbolValue = (dispatcher: Undici.Dispatcher, description: string): unknown => {
  for (const symbol of Object.getOwnPropertySymbols(dispatcher)) {
    if (symbol.description === description) return (dispatcher as unknown as Record<symbol, unknown>)[symbol]
  }
  return undefined
}

// undici's `Client` and `Pool` serve the one origin they were made for (their `Symbol('url')`), and send every request
// there whatever origin it names (`dispatch` ignores `origin` for them): a request for another origin, or a redirect
// to one, would reach the wrong server with its headers.
const boundOriginOf = (dispatcher: Undici.Dispatcher): string | undefined => {
  const url = ownSymbolValue(dispatcher, "url")
  return url instanceof URL ? url.origin : undefined
}

const targetsOf = (boundOrigin: string | undefined) => {
  const known = new Map<string, Target>()
  return (request: ClientRequest.HttpClientRequest): Target | Error.RequestError => {
    const keep = request.urlParams.length === 0 && request.hash._tag === "None" && !hasLocation()
    if (keep) {
      const target = known.get(request.url)
      if (target !== undefined) return target
    }
    const urlResult = UrlParams.makeUrl(request.url, request.urlParams, request.hash)
    if (urlResult._tag === "Left") {
      return new Error.RequestError({ request, reason: "InvalidUrl", cause: urlResult.left })
    }
    const url = urlResult.right
    // a URL fragment is the client's alone (RFC 3986 §3.5): it goes neither on the wire nor in a span
    if (url.hash !== "") url.hash = ""
    if (boundOrigin !== undefined && url.origin !== boundOrigin) {
      const description =
        `${url.origin} is not the origin of the dispatcher (an undici Client or Pool serves ${boundOrigin} only)`
      return new Error.RequestError({ request, reason: "InvalidUrl", description, cause: new TypeError(description) })
    }
    const authorization = basicAuthorizationOf(url)
    const target: Target = { url, origin: url.origin, path: url.pathname + queryOf(url), authorization }
    if (keep) {
      if (known.size >= targetCapacity) known.delete(known.keys().next().value!)
      known.set(request.url, target)
    }
    return target
  }
}

// The query as sent: `search`, or a lone "?" for an empty query, which `search` reports as "" like no query at all
// (`/path?` is not `/path`, RFC 3986 §6.2.3, and fetch, node:http and curl send it as written). The serialized URL
// holds a "#" only where its fragment starts.
const queryOf = (url: URL): string => {
  if (url.search !== "") return url.search
  const href = url.href
  const fragment = href.indexOf("#")
  return (fragment === -1 ? href : href.slice(0, fragment)).endsWith("?") ? "?" : ""
}

// undici's own default for both limits when a dispatcher is made without them
const undiciDefaultTimeoutMillis = 300_000

const isMillis = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value) && value >= 0

/**
 * The headers and body timeouts of a dispatcher made elsewhere (`new Agent(...)`, `new Pool(...)`, `new Client(...)`),
 * read from undici's own fields: a `Client` keeps both (its defaults applied), an `Agent` or `Pool` the options it
 * hands to the clients its default factory makes (undici's default, 5 minutes, where they set none). Undefined where
 * they cannot be known (a custom factory, a wrapped or composed dispatcher, a `MockAgent`): the failure then reports
 * no limit rather than a wrong one.
 */
const configuredTimeouts = (dispatcher: Undici.Dispatcher): TransportTimeouts | undefined => {
  let headers: unknown = ownSymbolValue(dispatcher, "headers timeout")
  let body: unknown = ownSymbolValue(dispatcher, "body timeout")
  if (headers === undefined && body === undefined) {
    const factory = ownSymbolValue(dispatcher, "factory")
    const options = ownSymbolValue(dispatcher, "options")
    if (typeof factory !== "function" || factory.name !== "defaultFactory") return undefined
    if (typeof options !== "object" || options === null) return undefined
    const { bodyTimeout, headersTimeout } = options as { headersTimeout?: unknown; bodyTimeout?: unknown }
    headers = headersTimeout ?? undiciDefaultTimeoutMillis
    body = bodyTimeout ?? undiciDefaultTimeoutMillis
  }
  if (!isMillis(headers) || !isMillis(body) || (headers === 0 && body === 0)) return undefined
  return { headersMillis: headers, bodyMillis: body }
}

/**
 * What a client sends with, fixed when it is made: its dispatcher and the per-request settings of `make`'s options
 * (else those of the dispatcher `makeDispatcher` made), so that two clients on one dispatcher may differ and a
 * request looks none of them up.
 */
interface ClientSettings {
  readonly dispatcher: Undici.Dispatcher
  /** The decoding of `decompress`, when it is on. */
  readonly decompression: Decompress.Decompression | undefined
  /** The limits a transport timeout reports, when known. */
  readonly transportTimeouts: TransportTimeouts | undefined
  /** undici's per-request timeouts (`make`'s `headersTimeout`, `bodyTimeout`), when set; else the dispatcher's. */
  readonly requestTimeouts: RequestTimeouts | undefined
}

interface RequestTimeouts {
  readonly headersTimeout: number | undefined
  readonly bodyTimeout: number | undefined
}

/** The options of `DispatcherOptions` that make the dispatcher itself, which `make`'s options cannot change. */
const dispatcherOnly: ReadonlyArray<string> = [
  "connections",
  "pipelining",
  "keepAliveTimeout",
  "keepAliveMaxTimeout",
  "connectTimeout",
  "http2",
  "tls",
  "proxy",
  "socketPath",
  "dns"
]

/**
 * A per-request timeout of `make`'s options, as `toMillis` reads the dispatcher's; an infinite one (`Infinity`,
 * `Duration.infinity`) is no limit, 0, which undici takes per request where it refuses a number that is not finite
 * (every request would fail).
 */
const requestMillis = (field: string, input: Duration.DurationInput): number => {
  const millis = toMillis(field, input, 0)
  return Number.isFinite(millis) ? millis : 0
}

/** @internal The settings of a client on `dispatcher`, or a `RangeError` naming the first option out of range. */
export const clientSettings = (
  dispatcher: Undici.Dispatcher,
  input?: UndiciHttpClient.ClientOptions | null
): ClientSettings => {
  const options = toOptionsObject(input)
  // a dispatcher not made by `makeDispatcher`: its limits as undici keeps them, so a timeout reports the one that fired
  let timeouts = transportTimeouts.has(dispatcher) ? transportTimeouts.get(dispatcher) : configuredTimeouts(dispatcher)
  let decompression = decompressed.get(dispatcher)
  if (options === undefined) {
    return { dispatcher, decompression, transportTimeouts: timeouts, requestTimeouts: undefined }
  }
  for (const field of dispatcherOnly) {
    if ((options as Record<string, unknown>)[field] !== undefined) {
      throw new RangeError(
        `UndiciHttpClient: ${field} is a setting of the dispatcher (makeDispatcher), not of make's options`
      )
    }
  }
  // the same reading as the dispatcher's options: a field left out keeps the dispatcher's setting
  if (options.decompress !== undefined) {
    decompression = Decompress.toDecompression(
      options.decompress,
      options.maxDecompressionRatio ?? decompression?.maxRatio
    )
  } else if (options.maxDecompressionRatio !== undefined) {
    const ratio = Decompress.toDecompression(true, options.maxDecompressionRatio)!.maxRatio
    if (decompression !== undefined) decompression = { ...decompression, maxRatio: ratio }
  }
  let requestTimeouts: RequestTimeouts | undefined
  if (options.headersTimeout !== undefined || options.bodyTimeout !== undefined) {
    const headersTimeout = options.headersTimeout === undefined
      ? undefined
      : requestMillis("headersTimeout", options.headersTimeout)
    const bodyTimeout = options.bodyTimeout === undefined
      ? undefined
      : requestMillis("bodyTimeout", options.bodyTimeout)
    requestTimeouts = { headersTimeout, bodyTimeout }
    const headersMillis = headersTimeout ?? timeouts?.headersMillis ?? 0
    const bodyMillis = bodyTimeout ?? timeouts?.bodyMillis ?? 0
    timeouts = headersMillis === 0 && bodyMillis === 0 ? undefined : { headersMillis, bodyMillis }
  }
  return { dispatcher, decompression, transportTimeouts: timeouts, requestTimeouts }
}

/** @internal */
export const make = (
  dispatcher: Undici.Dispatcher,
  options?: UndiciHttpClient.ClientOptions
): Client.HttpClient => {
  const client = clientSettings(dispatcher, options)
  const targetOf = targetsOf(boundOriginOf(dispatcher))
  const execute = (request: ClientRequest.HttpClientRequest) =>
    Effect.withFiberRuntime<ClientResponse.HttpClientResponse, Error.HttpClientError>((fiber) => {
      const target = targetOf(request)
      if (target instanceof Error.RequestError) return Effect.fail(target)
      const limit = enforcedLimit(fiber)
      // read only when there is a limit to enforce: an ordinary request pays nothing for it
      const headOnly = limit !== undefined && fiber.getFiberRef(Deadline.currentHeadOnly)
      // set when a timer is raced around the transport: its failure reads whether the request was written
      const progress = fiber.getFiberRef(Attempt.currentSendProgress)
      if (
        !fiber.getFiberRef(FiberRef.currentTracerEnabled) ||
        fiber.getFiberRef(Client.currentTracerDisabledWhen)(request)
      ) {
        return send(client, request, target, limit, headOnly, progress)
      }
      if (fiber.currentTracer === nativeTracer) {
        const parent = fiber.currentSpan
        return send(
          client,
          parent !== undefined && fiber.getFiberRef(Client.currentTracerPropagation)
            ? ClientRequest.setHeaders(request, propagationHeaders(parent))
            : request,
          target,
          limit,
          headOnly,
          progress
        )
      }
      return sendWithSpan(client, request, target, fiber, limit, headOnly, progress)
    })
  return Deadline.declareEnforcement(Client.makeWith(
    (requestEffect: Effect.Effect<ClientRequest.HttpClientRequest>) =>
      // a request ready at once (the client's own preprocess, an `Attempt`) is sent without a step to unwrap it
      Exit.isExit(requestEffect) && requestEffect._tag === "Success"
        ? execute((requestEffect as Exit.Success<ClientRequest.HttpClientRequest, never>).value)
        : Effect.flatMap(requestEffect, execute),
    Effect.succeed as Client.HttpClient.Preprocess<never, never>
  ))
}

/**
 * The limits this request must enforce itself: a deadline that no timer enforces (`Deadline.establish`, or an
 * attempt that left it to the transport) and the attempt timeout established around it, which runs from now. Only
 * under the live Clock, since the request's timer runs on real time.
 */
const enforcedLimit = (fiber: Fiber.RuntimeFiber<unknown, unknown>): Deadline.Limit | undefined => {
  const limit = fiber.getFiberRef(Deadline.currentLimit)
  return (limit.armed || !Number.isFinite(limit.at)) && !Number.isFinite(limit.attemptMillis) ||
      !Deadline.isLiveClock(Context.get(fiber.currentDefaultServices, Clock.Clock))
    ? undefined
    : limit
}

const sendWithSpan = (
  client: ClientSettings,
  request: ClientRequest.HttpClientRequest,
  target: Target,
  fiber: Fiber.RuntimeFiber<unknown, unknown>,
  limit: Deadline.Limit | undefined,
  headOnly: boolean,
  progress: Attempt.SendProgress | undefined
): Effect.Effect<ClientResponse.HttpClientResponse, Error.HttpClientError> => {
  const url = target.url
  const nameGenerator = Context.get(fiber.currentContext, Client.SpanNameGenerator)
  return Effect.useSpan(nameGenerator(request), { kind: "client", captureStackTrace: false }, (span) => {
    // as Sturdy's own client span records them: @effect/platform's span (which this one replaces) records the URL
    // verbatim, user info, tokens in the query and all, and the origin as `server.address`
    const full = Redaction.redactUrl(url, request)
    span.attribute("http.request.method", request.method)
    span.attribute("server.address", url.hostname)
    if (url.port !== "") {
      span.attribute("server.port", +url.port)
    }
    span.attribute("url.full", full)
    span.attribute("url.path", Redaction.redactUrl(url.pathname, request))
    span.attribute("url.scheme", url.protocol.slice(0, -1))
    const queryAt = full.indexOf("?")
    if (queryAt !== -1 && queryAt < full.length - 1) {
      span.attribute("url.query", full.slice(queryAt + 1))
    }
    const bodySize = requestBodySize(request.body)
    if (bodySize !== undefined) span.attribute("http.request.body.size", bodySize)
    const redactedNames = fiber.getFiberRef(Headers.currentRedactedNames)
    const requestHeaders = redactHeaders(request.headers, redactedNames, request)
    for (const name in requestHeaders) {
      span.attribute(`http.request.header.${name}`, requestHeaders[name])
    }
    const sent = fiber.getFiberRef(Client.currentTracerPropagation)
      ? ClientRequest.setHeaders(request, TraceContext.toHeaders(span))
      : request
    return send(client, sent, target, limit, headOnly, progress).pipe(
      Effect.withParentSpan(span),
      Effect.tap((response) => {
        span.attribute("http.response.status_code", response.status)
        const responseHeaders = redactHeaders(response.headers, redactedNames, request)
        for (const name in responseHeaders) {
          span.attribute(`http.response.header.${name}`, responseHeaders[name])
        }
      })
    )
  })
}

/**
 * `http.request.body.size`: the length of a body known before it is sent (none, bytes, a text encoded as bytes); none
 * for a stream or form data (as `@sturdy/http`'s spans say).
 */
const requestBodySize = (body: ClientRequest.HttpClientRequest["body"]): number | undefined =>
  body._tag === "Empty"
    ? 0
    : body._tag === "Uint8Array"
    ? body.body.byteLength
    : body._tag === "Raw" && body.body instanceof Uint8Array
    ? body.body.byteLength
    : undefined

/**
 * Headers as a span records them: the names @effect/platform redacts (`Headers.currentRedactedNames`), then
 * Sturdy's rules (secret-looking names, URLs in `Location` and the like, the request's secret values anywhere).
 */
const redactHeaders = (
  headers: Headers.Headers,
  redactedNames: ReadonlyArray<string | RegExp>,
  request: ClientRequest.HttpClientRequest
): Record<string, string> => {
  const platform = Headers.redact(headers, redactedNames)
  const plain: Record<string, string> = {}
  for (const name in platform) plain[name] = String(platform[name])
  return Redaction.redactHeaders(plain, request)
}

type DispatchBody = Exclude<Undici.Dispatcher.DispatchOptions["body"], undefined>

const send = (
  client: ClientSettings,
  request: ClientRequest.HttpClientRequest,
  target: Target,
  limit: Deadline.Limit | undefined,
  headOnly: boolean,
  progress: Attempt.SendProgress | undefined
): Effect.Effect<ClientResponse.HttpClientResponse, Error.RequestError> => {
  const body = request.body
  switch (body._tag) {
    case "Empty":
      return dispatchRequest(client, request, target, null, limit, headOnly, progress)
    case "Uint8Array":
      return dispatchRequest(client, request, target, body.body, limit, headOnly, progress)
    case "Raw":
      return dispatchRequest(client, request, target, body.body as DispatchBody, limit, headOnly, progress)
    case "FormData": {
      if (body.formData instanceof Undici.FormData) {
        return dispatchRequest(client, request, target, body.formData, limit, headOnly, progress)
      }
      // undici's encoder only understands its own FormData class (Node's global one fails with "action is not a
      // function"), so the global FormData is encoded by the global Response, which also chooses the boundary.
      const encoded = new Response(body.formData)
      const contentType = encoded.headers.get("content-type")
      const withType = contentType === null ? request : ClientRequest.setHeader(request, "content-type", contentType)
      return dispatchRequest(
        client,
        withType,
        target,
        encoded.body === null ? null : Readable.fromWeb(encoded.body as WebReadableStream<Uint8Array>),
        limit,
        headOnly,
        progress
      )
    }
    case "Stream":
      return Effect.flatMap(
        Effect.runtime<never>(),
        (runtime) =>
          dispatchRequest(client, request, target, streamToReadable(body, runtime), limit, headOnly, progress)
      )
  }
}

const streamToReadable = (body: Body.Stream, runtime: Runtime.Runtime<never>): Readable =>
  Readable.from(Stream.toAsyncIterableRuntime(body.stream, runtime), { objectMode: false })

const dispatchRequest = (
  client: ClientSettings,
  request: ClientRequest.HttpClientRequest,
  target: Target,
  body: DispatchBody,
  limit: Deadline.Limit | undefined,
  headOnly: boolean,
  progress: Attempt.SendProgress | undefined
): Effect.Effect<ClientResponse.HttpClientResponse, Error.RequestError> =>
  Effect.async<ClientResponse.HttpClientResponse, Error.RequestError>((resume) => {
    let timeLeft = 0
    let attemptFirst = false
    if (limit !== undefined) {
      timeLeft = limit.armed ? Number.POSITIVE_INFINITY : limit.at - Date.now()
      if (timeLeft <= 0) {
        return resume(
          Effect.fail(failedUnsent(request, "Transport", limitExceeded(limit, false)))
        )
      }
      if (limit.attemptMillis < timeLeft) {
        timeLeft = limit.attemptMillis
        attemptFirst = true
      }
    }
    const call = new UndiciCall(request, resume)
    call.transportTimeouts = client.transportTimeouts
    const decompression = client.decompression
    let headers = target.authorization === undefined || request.headers["authorization"] !== undefined
      ? request.headers
      : { ...request.headers, authorization: target.authorization }
    if (decompression !== undefined) {
      call.decompression = decompression
      // a caller's own Accept-Encoding is kept; a range request asks for none: its range counts the bytes of the
      // representation as sent, and a resumed download must get the same bytes as the first part (see `Download`)
      if (request.headers["accept-encoding"] === undefined && request.headers["range"] === undefined) {
        headers = { ...headers, "accept-encoding": decompression.acceptEncoding }
      }
    }
    if (progress !== undefined) {
      // one progress can see several requests (a redirect's hops, a token fetched first): once one was written, the
      // attempt may have reached a server, whatever the later ones do
      if (progress.requestSent === undefined) progress.requestSent = false
      call.progress = progress
    }
    // a body the caller streams can fail on its side (its stream failed): then the request could not be written,
    // which is no failure of the connection or the server (undici destroys the body with an error of its own, such as
    // a length mismatch, too: that one is undici's to report)
    if (body instanceof Readable) {
      body.once("error", (error) => {
        if (!String((error as { readonly code?: unknown } | undefined)?.code).startsWith("UND_ERR_")) {
          call.bodyFailed(error)
        }
      })
    }
    // Node fires a longer timer at once; a limit over 24.8 days is no limit (Effect's Clock never fires one either)
    if (limit !== undefined && timeLeft <= maxTimerMillis) call.expireAfter(timeLeft, limit, attemptFirst, headOnly)
    const scoped = scopedRequests.get(request)
    if (scoped !== undefined) {
      call.scoped = true
      if (scoped.signal.aborted) {
        call.abort()
      } else {
        scoped.signal.addEventListener("abort", () => call.abort(), { once: true })
      }
    }
    const timeouts = client.requestTimeouts
    try {
      client.dispatcher.dispatch(
        timeouts === undefined
          ? {
            origin: target.origin,
            path: target.path,
            method: request.method as Undici.Dispatcher.HttpMethod,
            headers,
            body
          }
          : {
            origin: target.origin,
            path: target.path,
            method: request.method as Undici.Dispatcher.HttpMethod,
            headers,
            body,
            headersTimeout: timeouts.headersTimeout ?? null,
            bodyTimeout: timeouts.bodyTimeout ?? null
          },
        call
      )
    } catch (error) {
      // a dispatcher that throws instead of failing the handler (undici's `ProxyAgent` refuses a request that sets its
      // own `Proxy-Authorization` so): nothing was sent
      call.abort()
      return resume(Effect.fail(failedUnsent(request, "Transport", error)))
    }
    return Effect.sync(() => call.abort())
  })

// -----------------------------------------------------------------------------
// The dispatch handler: one per request
// -----------------------------------------------------------------------------

const emptyChunks: Array<Buffer> = []
// An unread body is buffered up to this many bytes before the socket is paused.
const highWaterMark = 64 * 1024

const enum BodyMode {
  Unread,
  Whole,
  Streaming
}

const maxTimerMillis = Deadline.maxTimerMillis

const limitExceeded = (limit: Deadline.Limit, byAttemptTimeout: boolean): Deadline.DeadlineExceeded =>
  byAttemptTimeout
    ? new Deadline.DeadlineExceeded({ reason: "Attempt", timeout: limit.attemptTimeout }, true)
    : new Deadline.DeadlineExceeded({ reason: limit.reason, timeout: limit.timeout }, true)

/**
 * The failure of a request undici never handed to a connection to write, marked so (`requestSent: false`, read by
 * `@sturdy/http`): it still waited for a connection, or its connection was still opening. The mark goes on the
 * request's own error, not on its cause: undici hands one error to every request it fails at once (a connection that
 * could not open, a dispatcher destroyed), written or not. Not enumerable, so the error reads and logs as before.
 */
const failedUnsent = (
  request: ClientRequest.HttpClientRequest,
  reason: Error.RequestError["reason"],
  cause: unknown
): Error.RequestError =>
  Object.defineProperty(new Error.RequestError({ request, reason, cause }), "requestSent", { value: false })

const refusedStream = "NGHTTP2_REFUSED_STREAM"
// Node's words for a stream the peer reset (RST_STREAM) with an error code: "Stream closed with error code NGHTTP2_..."
const streamErrorCode = /\bcode (NGHTTP2_[A-Z0-9_]+)$/

/**
 * An HTTP/2 stream the server reset (RST_STREAM) before the response headers, named by its error code: the code goes
 * on the error (`NGHTTP2_REFUSED_STREAM`, `NGHTTP2_INTERNAL_ERROR`, ...) so that a failure's message says it, where
 * Node's own error says only `ERR_HTTP2_STREAM_ERROR`. Node's error is its `cause`.
 */
class Http2StreamReset extends globalThis.Error {
  constructor(readonly code: string, cause: Error) {
    super(
      code === refusedStream
        ? `HTTP/2 stream refused by the server (RST_STREAM ${code}): the request was not processed`
        : `HTTP/2 stream reset by the server (RST_STREAM ${code})`,
      { cause }
    )
    this.name = "Http2StreamReset"
  }
}

/**
 * The reset an undici error reports, when it is a peer's RST_STREAM. A stream refused with `REFUSED_STREAM` was not
 * processed (RFC 9113 §8.7: "the stream was closed prior to any processing"): any method is safe to send again, as gRPC, OkHttp and Envoy
 * (`retry_on: refused-stream`) do. Undici reports a reset with `CANCEL` before the response without its code (an
 * `UND_ERR_INFO`, "stream closed before the response was complete"): that stays a transport failure.
 */
const http2ResetOf = (error: Error): Http2StreamReset | undefined => {
  if ((error as { readonly code?: unknown }).code !== "ERR_HTTP2_STREAM_ERROR") return undefined
  const code = streamErrorCode.exec(error.message)?.[1]
  return code === undefined ? undefined : new Http2StreamReset(code, error)
}

class RequestAborted extends globalThis.Error {
  readonly code = "UND_ERR_ABORTED"
  constructor() {
    super("Request aborted")
    this.name = "AbortError"
  }
}

// `timeoutMillis` on undici's timeout error: the limit that fired, which `@sturdy/http` reports in its `Timeout`
const withTransportLimit = (error: Error, timeouts: TransportTimeouts): void => {
  const code = (error as { readonly code?: unknown }).code
  const millis = code === "UND_ERR_HEADERS_TIMEOUT"
    ? timeouts.headersMillis
    : code === "UND_ERR_BODY_TIMEOUT"
    ? timeouts.bodyMillis
    : 0
  if (millis > 0) Object.defineProperty(error, "timeoutMillis", { value: millis, configurable: true })
}

/**
 * Holds the state of one request: the undici abort handle, the buffered response body and whoever waits for it.
 * It never references the response object, so an unread response can be collected and its request aborted.
 */
class UndiciCall implements Undici.Dispatcher.DispatchHandler {
  scoped = false
  private abortRequest: ((error?: Error) => void) | undefined = undefined
  private abortRequested = false
  private resumeResponse:
    | ((effect: Effect.Effect<ClientResponse.HttpClientResponse, Error.RequestError>) => void)
    | undefined
  private resumeSocket: (() => void) | undefined = undefined
  private paused = false

  mode = BodyMode.Unread
  chunks: Array<Buffer> = emptyChunks
  bufferedBytes = 0
  complete = false
  failure: unknown = undefined
  failed = false
  /** Whoever waits for more of the body: the stream's next pull, or the first reader of the whole body. */
  wake: (() => void) | undefined = undefined
  /** Further readers of the whole body waiting at the same time as `wake`: only a second one allocates the list. */
  private moreWakes: Array<() => void> | undefined = undefined

  constructor(
    readonly request: ClientRequest.HttpClientRequest,
    resume: (effect: Effect.Effect<ClientResponse.HttpClientResponse, Error.RequestError>) => void
  ) {
    this.resumeResponse = resume
  }

  get settled(): boolean {
    return this.complete || this.failed
  }

  /** Where the call sits in `expiries` (-1: not there), and when it expires (`performance.now()` time). */
  expiryIndex = -1
  expiresAt = 0
  private expiryLimit: Deadline.Limit | undefined = undefined
  private expiryByAttemptTimeout = false
  /** The limit bounds the response head only (`Deadline.headOnly`): its timer is cleared when the head arrives. */
  private expiryHeadOnly = false

  /**
   * Fails the request, whichever phase it is in, once `millis` pass: the deadline `limit` left to the transport, or
   * its attempt timeout when that comes first. With `headOnly`, only until the final response head has arrived.
   */
  expireAfter(millis: number, limit: Deadline.Limit, byAttemptTimeout: boolean, headOnly: boolean): void {
    this.expiryLimit = limit
    this.expiryByAttemptTimeout = byAttemptTimeout
    this.expiryHeadOnly = headOnly
    expiries.add(this, performance.now() + millis)
  }

  expire(): void {
    const limit = this.expiryLimit
    if (this.settled || this.abortRequested || limit === undefined) return
    const error = limitExceeded(limit, this.expiryByAttemptTimeout)
    const resumeResponse = this.resumeResponse
    this.resumeResponse = undefined
    this.failed = true
    this.failure = error
    this.decoder?.destroy()
    this.abortRequested = true
    this.abortRequest?.(error)
    if (resumeResponse !== undefined) {
      resumeResponse(
        Effect.fail(
          this.written
            ? new Error.RequestError({ request: this.request, reason: "Transport", cause: error })
            : failedUnsent(this.request, "Transport", error)
        )
      )
    } else {
      this.notify()
    }
  }

  private clearTimer(): void {
    if (this.expiryIndex !== -1) expiries.remove(this)
  }

  abort(): void {
    this.clearTimer()
    if (this.abortRequested || this.settled) return
    this.abortRequested = true
    const decoder = this.decoder
    if (decoder !== undefined) {
      decoder.destroy()
      // the body had all arrived, and was still being decoded: nothing of undici's is left to fail the call
      if (this.wireComplete) {
        this.failed = true
        this.failure = new RequestAborted()
      }
    }
    this.abortRequest?.(new RequestAborted())
  }

  /** undici handed the request to a connection to write (`onConnect`): from then on it may reach the server. */
  private written = false

  /** Where a timer raced around the transport reads whether the request was written. */
  progress: Attempt.SendProgress | undefined = undefined

  onConnect(abort: (error?: Error) => void): void {
    this.written = true
    if (this.progress !== undefined) this.progress.requestSent = true
    if (this.abortRequested) {
      abort(new RequestAborted())
    } else {
      this.abortRequest = abort
    }
  }

  onHeaders(statusCode: number, rawHeaders: Array<Buffer>, resume: () => void, statusText?: string): boolean {
    if (statusCode < 200) return true
    // the head is in: under `Deadline.headOnly` the body is the caller's to bound
    if (this.expiryHeadOnly) this.clearTimer()
    this.noContent = statusCode === 204 || statusCode === 304
    // h2 has no reason phrase, and undici gives it as "": the length is then checked here (undici checks HTTP/1.1's,
    // and a body that an interceptor drops on purpose, as `dump` does, must not fail here)
    if (statusText === "" && !this.noContent && this.request.method !== "HEAD") {
      this.expectedBytes = declaredLength(rawHeaders)
    }
    this.resumeSocket = resume
    const resumeResponse = this.resumeResponse
    this.resumeResponse = undefined
    if (resumeResponse !== undefined) {
      // a body to decode: the response the caller sees has the decoded body, so neither the Content-Encoding nor the
      // Content-Length (the bytes on the wire) describes it any more. A 206's range counts encoded bytes: left as sent
      const steps = this.decompression !== undefined && !this.noContent && statusCode !== 206 &&
          this.request.method !== "HEAD"
        ? Decompress.decodingSteps(rawHeader(rawHeaders, "content-encoding"), this.decompression.codings)
        : undefined
      this.decodingSteps = steps
      const response = new UndiciResponse(
        this.request,
        this,
        statusCode,
        steps === undefined ? rawHeaders : withoutHeaders(rawHeaders, "content-encoding", "content-length")
      )
      if (!this.scoped) {
        // a body that can fill the buffer pauses the socket: registered at once. A shorter one completes whether it
        // is read or not, unless the server stalls before its end: registered only if it is still arriving, unread,
        // once the bytes that came with the headers are parsed (usually all of it), so a dropped response whose
        // short body never ends does not keep its request and connection forever (a decoded one may be any size)
        if (steps !== undefined || !(declaredLength(rawHeaders) < highWaterMark)) {
          unreadResponses.register(response, this)
        } else {
          queueMicrotask(() => {
            if (!this.settled && this.mode === BodyMode.Unread) unreadResponses.register(response, this)
          })
        }
      }
      resumeResponse(Exit.succeed(response))
    }
    return true
  }

  onData(chunk: Buffer): boolean {
    this.receivedBytes += chunk.length
    if (this.decodingSteps !== undefined) return this.decode(chunk)
    if (this.chunks === emptyChunks) {
      this.chunks = [chunk]
    } else {
      this.chunks.push(chunk)
    }
    this.bufferedBytes += chunk.length
    if (this.mode === BodyMode.Streaming) {
      this.notify()
    }
    if (this.mode !== BodyMode.Whole && this.bufferedBytes >= highWaterMark) {
      this.paused = true
      return false
    }
    return true
  }

  /** The body's declared length (`Infinity`: none, or no body is due), and how much of it has arrived. */
  private expectedBytes = Number.POSITIVE_INFINITY
  /** The body's bytes undici delivered: as on the wire (before decoding), without the transfer coding. */
  receivedBytes = 0

  onComplete(): void {
    // undici checks the length of an HTTP/1.1 body, not of an h2 one: a stream the server resets with NO_ERROR or
    // CANCEL ends, to Node, as a complete one. A body short of its Content-Length fails as it does over HTTP/1.1.
    if (this.receivedBytes < this.expectedBytes && Number.isFinite(this.expectedBytes) && !this.settled) {
      return this.onError(new Undici.errors.ResponseContentLengthMismatchError())
    }
    if (this.decodingSteps !== undefined) {
      if (this.settled) return
      this.wireComplete = true
      this.release()
      // an empty body is empty whatever its Content-Encoding (zlib would call it cut short), as in browsers
      if (this.decoder !== undefined) return this.decoder.end()
    }
    this.clearTimer()
    this.complete = true
    this.release()
    this.notify()
  }

  // -- decoding (the `decompress` option) --

  /** The dispatcher's decompression, when it has one. */
  decompression: Decompress.Decompression | undefined = undefined
  /** The decoders this response's body goes through (`undefined`: none, the body is handed over as sent). */
  private decodingSteps: ReadonlyArray<Decompress.Coding> | undefined = undefined
  /** Made with the first bytes of the body: an empty body has none. */
  private decoder: Decompress.Decoder | undefined = undefined
  private decodedBytes = 0
  /** undici delivered the whole body: what is left is the decoders' to finish. */
  private wireComplete = false
  private inputPaused = false
  private pumping = false
  private pumpAgain = false

  private decode(chunk: Buffer): boolean {
    if (this.settled) return true
    const decoder = this.decoder ??= new Decompress.Decoder(
      this.decodingSteps!,
      () => this.pump(),
      () => this.decoded(),
      (error) => this.decodingFailed(error)
    )
    if (decoder.write(chunk)) return true
    // the decoders hold what they can: the socket waits until they take more
    this.inputPaused = true
    decoder.onDrain(() => {
      if (this.inputPaused) {
        this.inputPaused = false
        this.resumeSocket?.()
      }
    })
    return false
  }

  /**
   * Moves decoded bytes to the body's buffer, as much as a reader wants (everything for a whole read, up to
   * `highWaterMark` for a stream or an unread body), and wakes the reader. Past `maxDecompressionRatio` times the
   * bytes on the wire (and `ratioGraceBytes`), the body fails as too large: a compression bomb.
   */
  private pump(): void {
    const decoder = this.decoder
    if (decoder === undefined || this.settled) return
    if (this.pumping) {
      this.pumpAgain = true
      return
    }
    this.pumping = true
    const maxRatio = this.decompression!.maxRatio
    try {
      do {
        this.pumpAgain = false
        while (!this.settled && (this.mode === BodyMode.Whole || this.bufferedBytes < highWaterMark)) {
          const chunk = decoder.read()
          if (chunk === null) break
          this.decodedBytes += chunk.length
          if (this.decodedBytes > Decompress.ratioGraceBytes && this.decodedBytes > maxRatio * this.receivedBytes) {
            return this.decodingFailed(
              new Undici.errors.ResponseExceededMaxSizeError(
                `decompressed body past ${maxRatio} times its ${this.receivedBytes} bytes on the wire ` +
                  `(maxDecompressionRatio)`
              )
            )
          }
          if (this.chunks === emptyChunks) {
            this.chunks = [chunk]
          } else {
            this.chunks.push(chunk)
          }
          this.bufferedBytes += chunk.length
        }
      } while (this.pumpAgain && !this.settled)
    } finally {
      this.pumping = false
    }
    if (this.mode === BodyMode.Streaming && this.bufferedBytes > 0) this.notify()
  }

  /** The last decoder ended: the body is complete. */
  private decoded(): void {
    if (this.settled) return
    this.clearTimer()
    this.complete = true
    this.notify()
  }

  /** Corrupt or cut-short data, or a compression bomb: the body fails, the request is aborted (its socket closed). */
  private decodingFailed(error: Error): void {
    if (this.settled) return
    this.decoder?.destroy()
    this.abortRequest?.(error)
    this.clearTimer()
    this.release()
    this.failed = true
    this.failure = error
    if (this.mode !== BodyMode.Streaming) {
      Object.defineProperty(error, "receivedBytes", { value: this.bufferedBytes, configurable: true })
    }
    this.notify()
  }

  // Settled, the call needs nothing of undici's any more: a response that outlives it (or the registry of unread
  // responses, which keeps the call until its response is collected) does not keep undici's request alive.
  private release(): void {
    this.abortRequest = undefined
    this.resumeSocket = undefined
  }

  transportTimeouts: TransportTimeouts | undefined = undefined
  /** The response has no content by definition (204, 304): it ends with its headers (RFC 9112 §6.3). */
  private noContent = false
  /** What the request's own body failed with, while it was written. */
  private bodyFailure: unknown = undefined

  bodyFailed(error: unknown): void {
    this.bodyFailure = error
  }

  onError(error: Error): void {
    // undici compares a response's Content-Length with the bytes of its body even when the status has no body, and
    // fails a 304 that carries the length of the representation, as RFC 9110 §8.6 allows (or a 204 that should not):
    // nothing of such a response was missing
    if (
      this.noContent && this.resumeResponse === undefined && !this.settled &&
      (error as { readonly code?: unknown }).code === "UND_ERR_RES_CONTENT_LENGTH_MISMATCH"
    ) {
      return this.onComplete()
    }
    error = reportedError(error)
    if (this.transportTimeouts !== undefined) withTransportLimit(error, this.transportTimeouts)
    this.clearTimer()
    this.release()
    const resumeResponse = this.resumeResponse
    if (resumeResponse !== undefined) {
      this.resumeResponse = undefined
      this.failed = true
      // After an abort the fiber was interrupted and nobody waits for this failure.
      if (!this.abortRequested) {
        // the request's body failed on the caller's side: `Encode`, as a body that could not be encoded is
        const reason = this.bodyFailure !== undefined && this.bodyFailure === error ? "Encode" : "Transport"
        const reset = http2ResetOf(error)
        resumeResponse(
          Effect.fail(
            reset !== undefined
              ? reset.code === refusedStream
                ? failedUnsent(this.request, "Transport", reset)
                : new Error.RequestError({ request: this.request, reason: "Transport", cause: reset })
              : this.written
              ? new Error.RequestError({ request: this.request, reason, cause: error })
              : failedUnsent(this.request, reason, error)
          )
        )
      }
      return
    }
    if (this.settled) return
    this.failed = true
    this.failure = error
    this.decoder?.destroy()
    // Read whole, nothing of the body was taken yet: what is buffered is what arrived before the connection broke,
    // which `@sturdy/http` reports in its `BodyTruncated` (a stream's reader counts for itself).
    if (this.mode !== BodyMode.Streaming) {
      Object.defineProperty(error, "receivedBytes", { value: this.bufferedBytes, configurable: true })
    }
    this.notify()
  }

  private notify(): void {
    const wake = this.wake
    if (wake !== undefined) {
      this.wake = undefined
      const more = this.moreWakes
      if (more === undefined) return wake()
      this.moreWakes = undefined
      wake()
      for (let i = 0; i < more.length; i++) more[i]()
    }
  }

  /** Adds a reader waiting for the whole body; every one waiting is woken together. */
  addWaiter(wake: () => void): void {
    if (this.wake === undefined) {
      this.wake = wake
    } else if (this.moreWakes === undefined) {
      this.moreWakes = [wake]
    } else {
      this.moreWakes.push(wake)
    }
  }

  /** Takes back a waiting reader's wake-up (an interrupted read); true when no reader waits any more. */
  removeWaiter(wake: () => void): boolean {
    const more = this.moreWakes
    if (more === undefined) {
      if (this.wake === wake) this.wake = undefined
      return this.wake === undefined
    }
    if (this.wake === wake) {
      this.wake = more.pop()
    } else {
      const index = more.indexOf(wake)
      if (index !== -1) more.splice(index, 1)
    }
    if (more.length === 0) this.moreWakes = undefined
    return this.wake === undefined
  }

  resume(): void {
    if (this.decoder !== undefined) return this.pump()
    if (this.paused) {
      this.paused = false
      this.resumeSocket?.()
    }
  }

  takeChunks(): Array<Buffer> {
    const chunks = this.chunks
    this.chunks = emptyChunks
    this.bufferedBytes = 0
    this.resume()
    return chunks
  }
}

// -----------------------------------------------------------------------------
// Expiries: one timer for every request under a limit
// -----------------------------------------------------------------------------

/**
 * The requests under a limit, earliest expiry first (a binary heap), and one Node timer for the earliest. A timer per
 * request cost more than the rest of the transport's work on a request: each lives as long as its request, and Node
 * keeps it in lists of its own. A request that ends leaves the heap at once; the timer is not moved for it, so it may
 * fire before anything is due, and is then set for the earliest expiry left. It does not keep the process alive:
 * a request in flight does, with its socket.
 */
class Expiries {
  private readonly heap: Array<UndiciCall> = []
  private timer: ReturnType<typeof setTimeout> | undefined = undefined
  private timerAt = Number.POSITIVE_INFINITY

  add(call: UndiciCall, at: number): void {
    call.expiresAt = at
    call.expiryIndex = this.heap.length
    this.heap.push(call)
    this.up(call.expiryIndex)
    if (at < this.timerAt) this.arm(at)
  }

  remove(call: UndiciCall): void {
    const index = call.expiryIndex
    call.expiryIndex = -1
    const last = this.heap.pop()!
    if (last === call) return
    this.heap[index] = last
    last.expiryIndex = index
    this.down(index)
    this.up(last.expiryIndex)
  }

  private arm(at: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timerAt = at
    this.timer = setTimeout(this.fire, Math.max(0, Math.ceil(at - performance.now())))
    this.timer.unref()
  }

  private readonly fire = (): void => {
    this.timer = undefined
    this.timerAt = Number.POSITIVE_INFINITY
    const now = performance.now()
    while (this.heap.length > 0 && this.heap[0].expiresAt <= now) {
      const due = this.heap[0]
      this.remove(due)
      due.expire()
    }
    if (this.heap.length > 0) this.arm(this.heap[0].expiresAt)
  }

  private up(index: number): void {
    const heap = this.heap
    const call = heap[index]
    while (index > 0) {
      const parentIndex = (index - 1) >> 1
      const parent = heap[parentIndex]
      if (parent.expiresAt <= call.expiresAt) break
      heap[index] = parent
      parent.expiryIndex = index
      index = parentIndex
    }
    heap[index] = call
    call.expiryIndex = index
  }

  private down(index: number): void {
    const heap = this.heap
    const call = heap[index]
    const length = heap.length
    while (true) {
      let child = 2 * index + 1
      if (child >= length) break
      if (child + 1 < length && heap[child + 1].expiresAt < heap[child].expiresAt) child++
      if (heap[child].expiresAt >= call.expiresAt) break
      heap[index] = heap[child]
      heap[index].expiryIndex = index
      index = child
    }
    heap[index] = call
    call.expiryIndex = index
  }
}

const expiries = new Expiries()

// Plays the role of the platform's response registry: a response dropped before its body was read must not keep a
// paused connection out of the pool forever.
const unreadResponses = globalValue(
  "@sturdy/node/UndiciHttpClient/unreadResponses",
  () => new FinalizationRegistry<UndiciCall>((call) => call.abort())
)

// -----------------------------------------------------------------------------
// Response
// -----------------------------------------------------------------------------

// One header of the raw ones by its lower-case name, repeated ones joined as `parseHeaders` joins them.
const rawHeader = (rawHeaders: ReadonlyArray<Buffer>, name: string): string | undefined => {
  let value: string | undefined
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const raw = rawHeaders[i]
    if (raw.length === name.length && raw.toString("latin1").toLowerCase() === name) {
      const found = rawHeaders[i + 1].toString("latin1")
      value = value === undefined ? found : `${value}, ${found}`
    }
  }
  return value
}

// The raw headers without those named (lower-case)
const withoutHeaders = (rawHeaders: Array<Buffer>, ...names: ReadonlyArray<string>): Array<Buffer> => {
  const kept: Array<Buffer> = []
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (!names.includes(rawHeaders[i].toString("latin1").toLowerCase())) kept.push(rawHeaders[i], rawHeaders[i + 1])
  }
  return kept
}

// The Content-Length of the raw headers, or `Infinity` when there is none (or it is not a number).
const declaredLength = (rawHeaders: ReadonlyArray<Buffer>): number => {
  const value = Number(rawHeader(rawHeaders, "content-length") ?? Number.NaN)
  return Number.isFinite(value) ? value : Number.POSITIVE_INFINITY
}

const concatChunks = (chunks: ReadonlyArray<Buffer>, length: number): Uint8Array => {
  if (chunks.length === 1) return chunks[0]
  return Buffer.concat(chunks, length)
}

// Headers built on the platform's own prototype from the start: `Headers.unsafeFromRecord` would set the prototype
// of a finished object, which costs V8 more than the parsing.
const headersProto: object = Object.getPrototypeOf(Headers.empty)

const parseHeaders = (rawHeaders: ReadonlyArray<Buffer>): Headers.Headers => {
  const out: Record<string, string> = Object.create(headersProto)
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toString("latin1").toLowerCase()
    const value = rawHeaders[i + 1].toString("latin1")
    const existing = out[name]
    out[name] = existing === undefined ? value : `${existing}, ${value}`
  }
  return out as Headers.Headers
}

class UndiciResponse extends ClientResponseBase.Class {
  constructor(
    readonly request: ClientRequest.HttpClientRequest,
    private readonly call: UndiciCall,
    readonly status: number,
    private readonly rawHeaders: Array<Buffer>
  ) {
    super()
  }

  get statusText(): string | undefined {
    return undefined
  }

  private cachedHeaders: Headers.Headers | undefined = undefined
  get headers(): Headers.Headers {
    return this.cachedHeaders ??= parseHeaders(this.rawHeaders)
  }

  // one header straight from the raw ones: an attempt reads two or three, and needs no object of all of them
  override header(name: string): string | undefined {
    return this.cachedHeaders === undefined ? rawHeader(this.rawHeaders, name) : this.cachedHeaders[name]
  }

  // each Set-Cookie apart: the joined header cannot be split safely (an Expires date holds a comma)
  private cachedCookies: Cookies.Cookies | undefined = undefined
  override get cookies(): Cookies.Cookies {
    if (this.cachedCookies !== undefined) return this.cachedCookies
    const setCookies: Array<string> = []
    for (let i = 0; i < this.rawHeaders.length; i += 2) {
      if (this.rawHeaders[i].length === 10 && this.rawHeaders[i].toString("latin1").toLowerCase() === "set-cookie") {
        setCookies.push(this.rawHeaders[i + 1].toString("latin1"))
      }
    }
    return this.cachedCookies = setCookies.length === 0 ? Cookies.empty : Cookies.fromSetCookie(setCookies)
  }

  // counted for each chunk anyway (the decompression ratio, an h2 body's length): read only by telemetry
  override get receivedBodyBytes(): number {
    return this.call.receivedBytes
  }

  private wholeBody: Uint8Array | undefined = undefined

  private consumedError(): Error.ResponseError {
    return this.decodeError(new globalThis.Error("Body has already been consumed"))
  }

  private takeWholeBody(): Exit.Exit<Uint8Array, Error.ResponseError> {
    const call = this.call
    if (this.wholeBody === undefined) {
      if (call.failed) return Exit.fail(this.decodeError(call.failure))
      const length = call.bufferedBytes
      this.wholeBody = concatChunks(call.takeChunks(), length)
      call.mode = BodyMode.Whole
    }
    return Exit.succeed(this.wholeBody)
  }

  /**
   * The whole body in one buffer. Small bodies usually arrive with the headers, so it is an `Exit` on the spot (and
   * so is every decoded form of it); otherwise it waits for undici to complete the body.
   *
   * Only running the read takes the body: an `Exit` is handed over only for a body that has fully arrived, which is
   * then kept for every later reader (a stream included), so building a read that is never run changes nothing.
   */
  get bytes(): Effect.Effect<Uint8Array, Error.ResponseError> {
    const call = this.call
    if (this.wholeBody !== undefined) return Exit.succeed(this.wholeBody)
    if (call.mode === BodyMode.Streaming) return Exit.fail(this.consumedError())
    if (call.settled) return this.takeWholeBody()
    return Effect.async<Uint8Array, Error.ResponseError>((resume) => {
      if (this.wholeBody !== undefined) return resume(Exit.succeed(this.wholeBody))
      if (call.mode === BodyMode.Streaming) return resume(Exit.fail(this.consumedError()))
      if (call.settled) return resume(this.takeWholeBody())
      call.mode = BodyMode.Whole
      call.resume()
      // Readers at once (`text` and `json` forked on one response) all get the same bytes; the request is aborted
      // only when the last of them is interrupted.
      const wake = () => resume(this.takeWholeBody())
      call.addWaiter(wake)
      return Effect.sync(() => {
        if (call.removeWaiter(wake) && !call.scoped) call.abort()
      })
    })
  }

  get stream(): Stream.Stream<Uint8Array, Error.ResponseError> {
    return Stream.suspend(() => {
      const call = this.call
      // a body already read whole is kept: its stream is those bytes again
      if (this.wholeBody !== undefined) return Stream.succeed(this.wholeBody)
      if (call.mode !== BodyMode.Unread) return Stream.fail(this.consumedError())
      call.mode = BodyMode.Streaming
      const pull: Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<Error.ResponseError>> = Effect.suspend(() => {
        if (call.bufferedBytes > 0) return Exit.succeed(Chunk.unsafeFromArray<Uint8Array>(call.takeChunks()))
        if (call.failed) return Exit.fail(Option.some(this.decodeError(call.failure)))
        if (call.complete) return Exit.fail(Option.none())
        return Effect.async<Chunk.Chunk<Uint8Array>, Option.Option<Error.ResponseError>>((resume) => {
          call.wake = () => resume(pull)
          return Effect.sync(() => {
            call.wake = undefined
          })
        })
      })
      return Stream.repeatEffectChunkOption(pull).pipe(
        // Leaving the stream early (interrupt, take, failure downstream) releases the connection.
        Stream.ensuring(Effect.sync(() => {
          if (!call.scoped) call.abort()
        }))
      )
    })
  }
}

// -----------------------------------------------------------------------------
// Layers
// -----------------------------------------------------------------------------

/** @internal */
export const layerWithDispatcher: Layer.Layer<Client.HttpClient, never, UndiciHttpClient.Dispatcher> = Layer.effect(
  // not `HttpClient.layerMergedContext`: the client captures its dispatcher and needs no other service, so merging
  // the layer's context into every request would only cost
  Client.HttpClient,
  Effect.map(dispatcherTag, make)
)

/** @internal */
export const layer = (options?: UndiciHttpClient.DispatcherOptions): Layer.Layer<Client.HttpClient> =>
  Layer.provide(layerWithDispatcher, layerDispatcher(options))

/** @internal */
export const layerConfig = (
  config: Config.Config<UndiciHttpClient.DispatcherOptions>
): Layer.Layer<Client.HttpClient, ConfigError.ConfigError> =>
  Layer.provide(
    layerWithDispatcher,
    Layer.scoped(
      dispatcherTag,
      Effect.flatMap(config, (options) =>
        Effect.flatMap(
          // an option out of range is a configuration error here, not a defect
          Effect.try({
            try: () => agentOptions(options),
            catch: (error) => ConfigError.InvalidData([], (error as RangeError).message)
          }),
          // resolved once: the TLS files are read once
          (resolved) => makeAgent(() => resolved)
        ))
    )
  )
