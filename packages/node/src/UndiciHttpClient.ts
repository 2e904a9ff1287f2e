/**
 * A fast `HttpClient` for Node built directly on undici's `Dispatcher.dispatch`: no AbortController, no Node stream
 * and no span per request unless a tracer is installed, and `response.json` / `text` / `arrayBuffer` read the body
 * into one buffer. Each request URL is parsed once per client and kept (up to 256; not those with `urlParams` or a
 * `hash`, nor relative ones while a global `location` exists).
 *
 * The span a request gets under a tracer (a plain `HttpClient` call's: `Attempt`, `Policy` and `SturdyClient` record
 * their own) has the OpenTelemetry client attributes of @effect/platform's, redacted as Sturdy's own client span:
 * `url.full`, `url.path` and `url.query` through `Redaction.redactUrl` with the request (no user info, no fragment,
 * secret parameters and the request's secret values replaced), headers through @effect/platform's
 * `Headers.currentRedactedNames` and then `Redaction.redactHeaders`, and `server.address` the host name (the
 * platform's records the origin there and the URL verbatim).
 *
 * A body is taken when a read of it runs, not when the read is built: a `response.text` that is never run leaves the
 * body to a later `stream`. A body read whole is kept, so every later reader, a `stream` included, gets the same
 * bytes (`layerUndici` streams nothing after a whole read); a body being streamed cannot then be read whole.
 *
 * Bodies arrive as sent unless the `decompress` option of {@link DispatcherOptions} (or of {@link make}'s
 * {@link ClientOptions}, on a dispatcher of your own) asks for decoding: by default, like undici's `request` and
 * `NodeHttpClient`, it sends no `Accept-Encoding` and does not decompress, and a server that compresses anyway gets
 * an `InvalidJson` from `Attempt.json` that says so. With `decompress: true` it asks for and decodes gzip, deflate
 * and br (zstd too where Node's zlib has it), streaming, as fetch, got and curl `--compressed` do; `Attempt`'s
 * `maxBodyBytes` then counts the decoded bytes and stops a compression bomb as soon as they pass it (see
 * {@link DispatcherOptions.decompress}).
 *
 * It speaks HTTP/1.1 unless the `http2` option of {@link DispatcherOptions} asks for h2 (by ALPN, or with prior
 * knowledge on cleartext); a stream the server refuses with `REFUSED_STREAM` then counts as never processed. The CAs
 * it trusts, a client certificate (mTLS), the SNI name and a minimum TLS version are its `tls` option (see
 * {@link TlsOptions}); a TLS failure is a `ConnectionError` with reason `Tls` in `@sturdy/http`, never retried.
 *
 * A URL's fragment (`#...`, or `HttpClientRequest.setHash`) is the client's alone (RFC 3986 §3.5): it is sent neither
 * in the request line nor in the span's `url.full`, where `NodeHttpClient.layerUndici` sends it to the server (a
 * fragment may hold a secret, such as an OAuth `access_token`).
 *
 * Credentials written in the URL (`https://user:pass@host/`) are sent as Basic authentication, as `node:http` (and so
 * `NodeHttpClient.layer`), curl and got send them, unless the request sets its own `Authorization`; they are taken
 * out of the URL the span records. Undici's `dispatch` alone would drop them.
 *
 * Errors have the same shape as `NodeHttpClient.layerUndici`: `RequestError` (reason `Transport`, `InvalidUrl`)
 * before the response headers, `ResponseError` (reason `Decode`) while reading the body, the undici or system error
 * (with its `code`, e.g. `ECONNREFUSED`, `UND_ERR_SOCKET`) as `cause`. One answer that undici fails is read as it is:
 * a 204 or 304 ends with its headers whatever `Content-Length` it carries (undici reports a length mismatch). And a
 * request whose own body stream fails (the caller's `Stream` or `Readable`) is a `RequestError` with reason `Encode`
 * and the stream's error as `cause`, as a body that cannot be encoded is, where `layerUndici` says `Transport`: the
 * failure is the caller's, not the connection's, so `Attempt` reports it as `InvalidRequest` (`BodyEncode`), which
 * no breaker counts against the upstream.
 *
 * It enforces `Deadline`'s limits itself (`Deadline.declareEnforcement`): under the live Clock, the deadline in force
 * when a request is sent (unless a timer of Effect's enforces it) and the attempt timeout established around it fail
 * the request in whatever phase it is in, the body included, with the limit's `DeadlineExceeded` as cause. A request
 * sent under `Deadline.headOnly` is held to them only until its final response head arrives: its body is then the
 * caller's to bound (`@sturdy/http`'s streaming modules send so, with idle timeouts of their own).
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import type * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type * as Undici from "undici"
import * as internal from "./internal/undiciHttpClient.js"

/**
 * The undici dispatcher (an `Agent`, `Pool`, `Client` or anything implementing `dispatch`) the client sends through.
 * A `Pool` or `Client` serves the one origin it was made for: a request for any other origin fails, unsent, with
 * `RequestError` reason `InvalidUrl` (undici itself would send it to the pool's origin). Use an `Agent` for many.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { Pool } from "undici"
 * import { UndiciHttpClient } from "@sturdy/node"
 *
 * const client = UndiciHttpClient.layerWithDispatcher.pipe(
 *   Layer.provide(Layer.succeed(UndiciHttpClient.Dispatcher, new Pool("http://127.0.0.1:8080", { connections: 16 })))
 * )
 * ```
 * @since 0.1.0
 * @category tags
 */
export interface Dispatcher {
  readonly _: unique symbol
}

/**
 * @since 0.1.0
 * @category tags
 */
export const Dispatcher: Context.Tag<Dispatcher, Undici.Dispatcher> = internal.dispatcherTag

/**
 * Connection-pool settings for the undici `Agent` this module creates.
 *
 * | option | default |
 * | --- | --- |
 * | `connections` | unlimited per origin |
 * | `pipelining` | 1; with `http2`, 100 streams on an h2 connection (undici's own h2 default) |
 * | `keepAliveTimeout` | 4 seconds |
 * | `keepAliveMaxTimeout` | 10 minutes |
 * | `connectTimeout` | 5 seconds (undici's: 10) |
 * | `headersTimeout` | none (use `Effect.timeout`) |
 * | `bodyTimeout` | none (use `Effect.timeout`) |
 * | `http2` | `false`: HTTP/1.1 only |
 * | `tls` | Node's: the system's CAs, no client certificate, certificates verified (see {@link TlsOptions}) |
 * | `proxy` | none: direct connections, whatever `HTTP_PROXY` says (see {@link ProxyOption}; `http:`, `https:`, `socks5:`, `socks5h:`) |
 * | `socketPath` | none: TCP to the URL's host |
 * | `decompress` | `false`: no `Accept-Encoding` sent, bodies handed over as sent |
 * | `maxDecompressionRatio` | 100 (decoded bytes per byte on the wire, past the first MiB), with `decompress` |
 * | `dns` | none: every new connection resolves its host name (see {@link DnsOptions}) |
 *
 * The connect timeout ends before `Policy`'s default attempt timeout (10 seconds), as Envoy's default (5 seconds) does:
 * a host that never completes the handshake is then a `ConnectionError` `ConnectTimeout`, which never reached the
 * server, so `Policy` retries even a POST, and the next attempt has time left for a connection of its own. undici runs
 * the connect timer on a coarse clock, and it fires up to about a second late.
 *
 * An attempt timeout or deadline that this transport enforces (an `Attempt`, or `Policy.send`, under the live Clock)
 * and that passes before undici handed the request to a connection fails with `requestSent: false` on its `Timeout`:
 * the request still waited for a connection (`connections` all busy), or its connection was still opening. A
 * connection that fails while it opens (a TLS handshake the peer cut off) says the same on its `ConnectionError`.
 * Neither reached the server (`HttpFailure.mayHaveReachedServer` is `false`), so `Policy` retries them even for a POST.
 *
 * With `http2: true` the client offers h2 by ALPN on `https:` origins (undici's `allowH2`) and speaks HTTP/1.1 to a
 * server that does not pick it, and to every `http:` origin; `"h2c"` also speaks h2 with prior knowledge
 * (cleartext, no upgrade) to `http:` origins, which then must speak h2. Statuses, headers, bodies, timeouts,
 * redaction and spans are the same over h2. A stream the server refuses (RST_STREAM with `REFUSED_STREAM`, which
 * RFC 9113 §8.7 defines as "not processed") fails with `requestSent: false` and a cause whose code is
 * `NGHTTP2_REFUSED_STREAM`: in `@sturdy/http` a `ConnectionError` that never reached the server, so `Policy` retries
 * even a POST. A reset with any other code before the response
 * (`INTERNAL_ERROR`, ...) is a transport failure that may have reached the server, its code (`NGHTTP2_INTERNAL_ERROR`)
 * on the cause; a reset with `CANCEL` undici reports without its code (`UND_ERR_INFO`). A GOAWAY fails the request
 * undici takes for the head of the connection with `UND_ERR_SOCKET` whatever the GOAWAY's last-stream-id says (undici
 * does not read it), so that one stays "may have reached the server"; requests not yet written go on another
 * connection after a GOAWAY with `NO_ERROR`, or fail unsent (`requestSent: false`) after one with an error code.
 * A stream the server resets with `NO_ERROR` or `CANCEL` in the middle of the body ends, to Node and undici, as a
 * complete one: a body short of its `Content-Length` then still fails as over HTTP/1.1
 * (`UND_ERR_RES_CONTENT_LENGTH_MISMATCH`, a `BodyTruncated` in `@sturdy/http`), but one without a `Content-Length`
 * cannot be told from a whole body.
 *
 * A zero `connectTimeout`, `headersTimeout` or `bodyTimeout` means none (undici's reading). A negative or `NaN`
 * duration (which Effect's `Duration` would read as zero, so as "no limit"), one that does not parse, a zero keep-alive
 * timeout (undici refuses it at every request), a `connections` or `pipelining` that is not an integer ≥ 0, or an `http2`
 * that is none of `true`, `false` and `"h2c"`, a `tls` field of the wrong type or that does not parse (see
 * {@link TlsOptions}), a `proxy` that is not an `http:`, `https:`, `socks5:` or `socks5h:` proxy (see {@link ProxyOption}), an empty
 * or too long `socketPath`, or `proxy` with `socketPath` or `http2`, a `decompress` that is none of `true`, `false`
 * and a non-empty list of codings (or lists `"zstd"` where Node's zlib has none), a `maxDecompressionRatio` that is
 * not a number of at least 1, or a `dns` out of range, with `socketPath` or with a `proxy` that every host goes
 * through (see {@link DnsOptions}), is
 * out of range: `makeDispatcher`, `layerDispatcher` and `layer` die with a `RangeError` naming
 * the option (`tls.ca`, ...), `layerConfig` fails with a `ConfigError`.
 *
 * @example
 * ```ts
 * import { UndiciHttpClient } from "@sturdy/node"
 *
 * const options: UndiciHttpClient.DispatcherOptions = { connections: 32, keepAliveTimeout: "10 seconds" }
 * const h2: UndiciHttpClient.DispatcherOptions = { http2: true, connections: 4 }
 * ```
 * @since 0.1.0
 * @category models
 */
export interface DispatcherOptions {
  /**
   * Maximum sockets per origin. Unlimited by default (as undici's `Agent` and `layerUndici`), but under sustained
   * concurrency undici then opens more sockets than requests in flight (a pipelining-1 socket is released on the next
   * `setImmediate`); setting it near the expected concurrency is markedly cheaper per request.
   */
  readonly connections?: number | undefined
  /**
   * Requests in flight per socket (HTTP/1.1 pipelining); 1 disables pipelining. Over h2 (see `http2`) it is the
   * streams in flight on one connection: unset, 100 on each connection that speaks h2 and still 1 on one that
   * negotiated HTTP/1.1; a value set here applies to both.
   */
  readonly pipelining?: number | undefined
  /** How long an idle keep-alive socket stays open when the server gives no hint. */
  readonly keepAliveTimeout?: Duration.DurationInput | undefined
  /** Upper bound on a server's `Keep-Alive: timeout=` hint. */
  readonly keepAliveMaxTimeout?: Duration.DurationInput | undefined
  /** How long establishing a connection (TCP and TLS) may take; fails with `UND_ERR_CONNECT_TIMEOUT`. */
  readonly connectTimeout?: Duration.DurationInput | undefined
  /**
   * Deadline for the response headers; fails with `UND_ERR_HEADERS_TIMEOUT` as a `RequestError` (in `@sturdy/http`, a
   * `Timeout` of phase `Attempt` with this limit). undici checks it on a timer of about one second's resolution, so a
   * limit under a few seconds fires up to a second late: `Attempt`'s timeouts and `Deadline` are exact.
   */
  readonly headersTimeout?: Duration.DurationInput | undefined
  /**
   * Longest pause between body chunks; fails with `UND_ERR_BODY_TIMEOUT` as a `ResponseError` (in `@sturdy/http`, a
   * `Timeout` of phase `BodyRead` with this limit). Checked on the same coarse timer as `headersTimeout`.
   */
  readonly bodyTimeout?: Duration.DurationInput | undefined
  /**
   * HTTP/2: `true` negotiates h2 by ALPN over TLS (HTTP/1.1 where the server does not pick it), `"h2c"` also speaks
   * h2 with prior knowledge to cleartext `http:` origins. Off (`false`) by default.
   *
   * @since 0.2.0
   */
  readonly http2?: boolean | "h2c" | undefined
  /**
   * TLS for `https:` origins: the CAs to trust, a client certificate (mTLS), the SNI name, a minimum version.
   * See {@link TlsOptions}.
   *
   * @since 0.2.0
   */
  readonly tls?: TlsOptions | undefined
  /**
   * A forward proxy every request goes through, by a `CONNECT` tunnel or SOCKS5: its URL (`http://proxy:3128`,
   * `socks5h://proxy:1080`, credentials in it or not), {@link ProxyOptions} (a `Redacted` URL, a token, plain
   * forwarding of `http:` requests), or `"env"` for the `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY`
   * variables. None by default: see {@link ProxyOption}.
   *
   * @since 0.2.0
   */
  readonly proxy?: ProxyOption | undefined
  /**
   * A Unix domain socket to connect to instead of the URL's host and port (Docker's `/var/run/docker.sock`, say);
   * the URL's host is still the `Host` header, and an `https:` URL still speaks TLS over the socket. A socket that
   * does not exist (`ENOENT`) or where nothing listens (`ECONNREFUSED`) is a `ConnectionError` `Refused` in
   * `@sturdy/http`, which never reached the server. It cannot be combined with `proxy`. A path longer than a socket
   * address holds (107 bytes on Linux, 103 on macOS and the BSDs), which no connection could use, is a `RangeError`
   * naming `socketPath`.
   *
   * @example
   * ```ts
   * import { UndiciHttpClient } from "@sturdy/node"
   *
   * // then GET http://docker/v1.47/containers/json
   * const docker: UndiciHttpClient.DispatcherOptions = { socketPath: "/var/run/docker.sock" }
   * ```
   * @since 0.2.0
   */
  readonly socketPath?: string | undefined
  /**
   * Asks for compressed responses and decodes them: `true` for every coding this Node decodes (`gzip`, `deflate`,
   * `br`, and `zstd` where Node's zlib has `createZstdDecompress`, Node 22.15+), or a list of them. Off (`false`) by
   * default, as in undici's `request` and `NodeHttpClient`: turning it on changes what the server sends and what
   * `maxBodyBytes` counts, which a caller chooses.
   *
   * A request without `Accept-Encoding` is sent with one naming the codings (`gzip, deflate, br`); a caller's own is
   * sent as it is, and a request with `Range` gets none (its range counts the bytes as sent). A response whose
   * `Content-Encoding` names only codings of the list (`x-gzip` is `gzip`; `identity` is skipped; at most 5) is
   * decoded as it arrives, chunk by chunk (`gzip, br` was gzipped then brotli'd: brotli is undone first), with
   * `Content-Encoding` and `Content-Length` removed from the headers the caller sees, as got and axios do: they
   * describe the bytes on the wire, not the body handed over. `deflate` is read as zlib data or, as browsers and got
   * read it, raw deflate. Any other coding (`compress`, one not in the list) leaves the body and headers as sent. A
   * `206` is never decoded (its `Content-Range` counts encoded bytes), nor the empty body of a `HEAD`, `204` or `304`;
   * a `200` with an empty body is empty whatever its `Content-Encoding`.
   *
   * Decoding follows the reader: a body read whole is decoded whole, a stream (`EventStream`, `JsonLines`,
   * `Download`) gets each part as soon as its bytes arrive (an SSE event compressed with a sync flush is not held
   * back), and a body nobody reads stops the decoders, and then the socket. Data that is not what its coding says is a
   * `ResponseError` (reason `Decode`) whose cause keeps zlib's code (`Z_DATA_ERROR`: a `BodyUndecodable` in
   * `@sturdy/http`); a compressed stream that ends early is zlib's `Z_BUF_ERROR`, and a connection lost mid-body
   * undici's error: both a `BodyTruncated`. Through `Attempt`, `maxBodyBytes` bounds the decoded bytes: past it the
   * read fails with `BodyTooLarge` and the request is aborted at once, so a small body that inflates to gigabytes costs
   * no more than the limit. See `maxDecompressionRatio` for callers of the `HttpClient` itself.
   *
   * `Download` is unchanged: it sends `Accept-Encoding: identity` itself (unless its request sets its own), which is
   * kept, so its parts arrive as sent and its ranges count them. A request of its own that asks for compression gets
   * a decoded first response, which `Download` then reads as identity (no `Content-Encoding`); its resumption is sent
   * with `Range` and so without `Accept-Encoding`, and continues the identity bytes, which are the decoded ones (a
   * server that compresses a `206` anyway is refused with `RangeMismatch`, the `206` being left as sent).
   *
   * @example
   * ```ts
   * import { UndiciHttpClient } from "@sturdy/node"
   *
   * const compressed: UndiciHttpClient.DispatcherOptions = { decompress: true }
   * const gzipOnly: UndiciHttpClient.DispatcherOptions = { decompress: ["gzip"], maxDecompressionRatio: 50 }
   * ```
   * @since 0.2.0
   */
  readonly decompress?: boolean | ReadonlyArray<ContentCoding> | undefined
  /**
   * With `decompress`, how many decoded bytes a response may yield per byte on the wire, once it has yielded 1 MiB:
   * past that, its read fails as too large (undici's `UND_ERR_RES_EXCEEDED_MAX_SIZE`: a `BodyTooLarge` in
   * `@sturdy/http`) and the request is aborted. 100 by default (Apache POI's bound for zip entries): text and JSON
   * compress 3 to 20 times, a compression bomb about 1000 times per layer of gzip and far more with brotli. It guards a
   * caller of the `HttpClient` itself (`response.json`, `response.stream`), which no `maxBodyBytes` bounds; `Infinity`
   * turns it off. A body that only inflates less is bounded by `maxBodyBytes` alone.
   *
   * @since 0.2.0
   */
  readonly maxDecompressionRatio?: number | undefined
  /**
   * Caches the addresses of host names (undici's DNS interceptor): `true` for the defaults, or {@link DnsOptions}.
   * Off by default. With a `proxy`, it serves the hosts reached directly (its `noProxy`, or with `"env"` `NO_PROXY`
   * and the schemes without a proxy variable); the proxy resolves the others' names. It cannot be combined with
   * `socketPath`, nor with a proxy that has no `noProxy` (every host goes through it).
   *
   * @since 0.2.0
   */
  readonly dns?: boolean | DnsOptions | undefined
}

/**
 * The DNS cache of the `dns` option. Without it every new connection resolves its host with `getaddrinfo`, which
 * Node runs on libuv's thread pool (4 threads by default, shared with file I/O and `crypto`): under load, lookups
 * queue behind one another and slow resolvers turn into `EAI_AGAIN`. With it, a name is resolved once and its
 * addresses are used for up to `maxTtl` (Node's resolver reports no DNS TTL, so this is the TTL), round-robin
 * among them.
 *
 * | field | default |
 * | --- | --- |
 * | `maxTtl` | 10 seconds (undici's): short enough to follow a DNS change (a failover, a redeploy) soon |
 * | `maxItems` | 1000 host names (undici's is unbounded); past it the expired names are dropped, then the least recently resolved |
 * | `dualStack` | `true`: IPv4 and IPv6 addresses are looked up, IPv4 ones used first and IPv6 ones for a name without any (a connection refused, `ECONNREFUSED` or `ETIMEDOUT`, is tried once on the other family); `false` looks up and uses IPv4 only. undici's own default alternates the families request by request, so that where IPv6 is unreachable (`ENETUNREACH`, which it does not retry) every other request would fail |
 * | `lookup` | `dns.lookup` (getaddrinfo), IPv4 first |
 *
 * Requests stay as without the cache: the `Host` header and the TLS name (SNI, and the name the certificate must
 * match) are the URL's (or the request's `Host` header's, or `tls.servername`), never the address connected to. A
 * name that does not resolve, or resolves to no address, is a `ConnectionError` `DnsLookup` in `@sturdy/http`, and is
 * not cached. A connection to a cached address that is refused, unreachable or times out drops the name, so the next
 * request resolves it again. An IP address in the URL is not looked up. Connections are pooled per address: with
 * `connections`, each address of a name gets that many. The lookup is not bounded by `connectTimeout`: an attempt
 * timeout or deadline (`Attempt`, `Policy`) bounds a request waiting on it.
 *
 * Behind a proxy the cache serves the hosts reached directly: those its `noProxy` names (see {@link ProxyOptions}),
 * or with `proxy: "env"` those `NO_PROXY` names and every host of a scheme that has no proxy variable. The others'
 * names are resolved by the proxy (an HTTP proxy's `CONNECT`, `socks5h:`), or for `socks5:` here by `dns.lookup`
 * for each connection, as without `dns`: the cache never sees them. A proxy that every host goes through (a URL
 * without `noProxy`, or a `noProxy` that names no host) leaves the cache nothing to serve, and with it `dns` is a
 * `RangeError`; `"env"` is accepted whatever the variables say, since they differ from one environment to the next
 * (with no `NO_PROXY` and both proxies set, nothing is looked up here).
 *
 * A `maxTtl` that is not a positive duration, a `maxItems` that is not an integer >= 1, a `dualStack` that is not a
 * boolean or a `lookup` that is not a function is a `RangeError` naming it (`dns.maxTtl`, ...); so is `dns` with
 * `socketPath`, or with a proxy that every host goes through.
 *
 * @example
 * ```ts
 * import { UndiciHttpClient } from "@sturdy/node"
 *
 * const cached: UndiciHttpClient.DispatcherOptions = { dns: true }
 * const longer: UndiciHttpClient.DispatcherOptions = { dns: { maxTtl: "1 minute", maxItems: 100 } }
 * // the internal hosts reached directly, resolved once; the rest through the proxy, which resolves them
 * const behindProxy: UndiciHttpClient.DispatcherOptions = {
 *   dns: true,
 *   proxy: { url: "http://proxy.internal:3128", noProxy: ".internal" }
 * }
 * ```
 * @since 0.2.0
 * @category models
 */
export interface DnsOptions {
  /** How long a name's addresses are used before it is resolved again. */
  readonly maxTtl?: Duration.DurationInput | undefined
  /** How many host names are cached at most. */
  readonly maxItems?: number | undefined
  /** Whether IPv6 addresses are looked up too, used when a name has no IPv4 one (`true`), or IPv4 only (`false`). */
  readonly dualStack?: boolean | undefined
  /**
   * Resolves a host name, as `dns.lookup` does with `all: true` (which it may be): a resolver of your own (service
   * discovery, a fixed table in tests). An error with a `code` such as `ENOTFOUND` is a `DnsLookup`.
   */
  readonly lookup?:
    | ((
      hostname: string,
      options: { readonly all: true; readonly family: 0 | 4 | 6 },
      callback: (
        error: NodeJS.ErrnoException | null,
        addresses: ReadonlyArray<{ readonly address: string; readonly family: number }>
      ) => void
    ) => void)
    | undefined
}

/**
 * A content coding the `decompress` option can decode. `zstd` needs a Node whose zlib has it (22.15+).
 *
 * @example
 * ```ts
 * import { UndiciHttpClient } from "@sturdy/node"
 *
 * const codings: ReadonlyArray<UndiciHttpClient.ContentCoding> = ["gzip", "br"]
 * ```
 * @since 0.2.0
 * @category models
 */
export type ContentCoding = "gzip" | "deflate" | "br" | "zstd"

/**
 * A forward proxy: a URL (`http:`, `https:` for TLS to the proxy itself, `socks5:` or `socks5h:`), {@link ProxyOptions},
 * or `"env"`.
 *
 * Through an HTTP proxy every request goes through a `CONNECT` tunnel (undici's `ProxyAgent`), `http:` origins
 * included unless `forwardHttp` says otherwise (see below), so the proxy
 * sees the origin's host and port only, and the request is written to the origin as without a proxy. An `https:`
 * origin gets its TLS settings (the `tls` option) through the tunnel, end to end; the connection to an `https:`
 * proxy uses the trust of `tls` (its `ca`, `rejectUnauthorized` and `minVersion`), never its client certificate or
 * `servername`, which are the origin's. `connectTimeout` bounds the connection to the proxy, and the TLS handshake
 * with the origin; the wait for the proxy's answer to `CONNECT` is bounded by the attempt's timeout only (and fails
 * with `requestSent: false`). A TLS alert the origin sends after the handshake (a client certificate it refuses, over
 * TLS 1.3) is not kept through a tunnel: it reads as a reset. A proxy cannot be combined with `http2` or `socketPath`.
 *
 * Credentials go in the URL (`http://user:pass@proxy:3128`, sent as `Proxy-Authorization: Basic`), as
 * {@link ProxyOptions}' `username` and `password` (sent as Basic too), or as its `token`; the URL, the password and the
 * token may be `Redacted`. One way at a time: two are a `RangeError`. They are sent to the proxy on each `CONNECT` only (never
 * to the origin), and never shown: no error message, span or `inspect` of the dispatcher holds them. A request that
 * sets `Proxy-Authorization` itself is refused (`InvalidRequest` `InvalidHeader` in `@sturdy/http`).
 *
 * How a proxy fails, in `@sturdy/http`: a proxy that refuses the TCP connection is a `ConnectionError` `Refused`
 * (never reached the origin, so `Policy` retries even a POST); a `CONNECT` answered with anything but 200 is a
 * `ConnectionError` with reason `Proxy` and the status as `proxyStatus`, never a `ClientError` or `ServerError`
 * (the origin never saw it): 502, 503 and 504 are retried, a 407 (`proxy authentication required`) or 403 is not.
 * A tunnel that breaks mid-response is a `BodyTruncated`, as a connection to the origin would be.
 *
 * With {@link ProxyOptions}' `forwardHttp`, `http:` requests go to an `http:` proxy in absolute form (`GET
 * http://host/path HTTP/1.1`) instead of a tunnel, with the `Proxy-Authorization` on each (never sent to the origin:
 * the proxy drops it), for proxies that allow `CONNECT` to port 443 only (Squid's default); `https:` requests still
 * tunnel. A forwarded request the proxy answers 407 is a `ConnectionError` `Proxy` with `proxyStatus` 407; any other
 * status the proxy answers itself (a 502 when it cannot reach the origin) cannot be told from the origin's, and is
 * read as the origin's (a `ServerError`, counted by its breaker).
 *
 * SOCKS5 (RFC 1928) as curl reads its URLs: `socks5h://proxy:1080` sends the origin's host name to the proxy, which
 * resolves it (the name never reaches a local resolver); `socks5://proxy:1080` resolves it here first and sends the
 * address (a name that does not resolve is a `ConnectionError` `DnsLookup`, the proxy never contacted). IP addresses
 * go as such with either. The port is 1080 when none is given. `socks:` (SOCKS4 to curl, SOCKS5 to undici),
 * `socks4:` and `socks4a:` are refused. A username and password in the URL (`socks5h://user:pass@proxy:1080`,
 * percent-encoded; a `Redacted` URL keeps them out of a `Config`'s rendering), or {@link ProxyOptions}' `username`
 * and `password` fields (not in the URL too), are sent by RFC 1929, to the proxy only, and shown nowhere; a `token` is refused (a SOCKS5 proxy takes no `Proxy-Authorization`). The connection to the
 * proxy, its handshake and its answer to `CONNECT` are bounded by `connectTimeout` together (a `ConnectTimeout`
 * past it); an `https:` origin gets the `tls` option end to end through it. This is Sturdy's own SOCKS5 client, not
 * undici's experimental `Socks5ProxyAgent`. How a SOCKS5 proxy fails, in `@sturdy/http`: one that refuses the TCP
 * connection is `Refused`; a `CONNECT` it answers with a failure is a `ConnectionError` `Proxy` with the reply code
 * as `proxyReply` (general failure 1, network or host unreachable 3 and 4, connection refused 5, TTL expired 6 are
 * retried; not allowed by ruleset 2, command or address type not supported 7 and 8 are not); wrong or missing
 * credentials, or a peer that does not speak SOCKS5, are `Proxy` and not retried. None counts against the origin's
 * breaker.
 *
 * `"env"` reads `http_proxy` / `HTTP_PROXY` (for `http:` origins; `ALL_PROXY` when unset), `https_proxy` /
 * `HTTPS_PROXY` (for `https:` ones; `ALL_PROXY`, then the `http:` origins' proxy, when unset), `all_proxy` /
 * `ALL_PROXY` (curl's proxy for every scheme) and `no_proxy` / `NO_PROXY`, the lower-case name first as curl and
 * undici read them, once, when the dispatcher is made. Any of them may be a SOCKS5 URL, but one setting takes one
 * kind: a SOCKS5 proxy for one scheme and an HTTP proxy for the other is a `RangeError`. A value without a scheme is `http://`. `NO_PROXY` is a list (commas or
 * spaces) of host names, each matching itself and its subdomains (`example.com` and `.example.com` both match
 * `api.example.com`), optionally with a port (`localhost:8080`), or `*` alone for every host; IP addresses match exactly
 * (no CIDR ranges). It is opt-in, never the default: Node's own `fetch` ignores these variables unless the process
 * runs with `NODE_USE_ENV_PROXY=1`, and a library that changed where requests go because of the environment would
 * send them (and their credentials) to a proxy the caller never chose. A variable that is set but not a usable proxy
 * URL is a `RangeError` naming it (`proxy ("env": HTTPS_PROXY) ...`).
 *
 * A URL that does not parse (a port above 65535 included), is none of `http:`, `https:`, `socks5:` and `socks5h:`,
 * has no host or port 0, or carries a path, query or fragment, is a `RangeError` naming `proxy` (in `layerConfig` a
 * `ConfigError`); so is a SOCKS5 URL whose credentials are not percent-encoded UTF-8, or whose username (1 to 255
 * bytes) or password (at most 255) does not fit RFC 1929. No message shows the URL.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import { UndiciHttpClient } from "@sturdy/node"
 *
 * const viaProxy: UndiciHttpClient.DispatcherOptions = { proxy: "http://proxy.internal:3128" }
 * const withToken: UndiciHttpClient.DispatcherOptions = {
 *   proxy: { url: "https://proxy.internal:3129", token: Redacted.make("Bearer s3cr3t") }
 * }
 * const fromEnv: UndiciHttpClient.DispatcherOptions = { proxy: "env" }
 * // SOCKS5, the host name resolved by the proxy; credentials kept out of every rendering
 * const viaSocks: UndiciHttpClient.DispatcherOptions = {
 *   proxy: { url: Redacted.make("socks5h://user:pass@socks.internal:1080"), noProxy: "localhost, .internal" }
 * }
 * // the same credentials as fields, the password Redacted
 * const socksFields: UndiciHttpClient.DispatcherOptions = {
 *   proxy: { url: "socks5h://socks.internal:1080", username: "user", password: Redacted.make("pass") }
 * }
 * // http: requests forwarded in absolute form (a proxy that allows CONNECT to 443 only); https: ones still tunnel
 * const squid: UndiciHttpClient.DispatcherOptions = { proxy: { url: "http://squid.internal:3128", forwardHttp: true } }
 * ```
 * @since 0.2.0
 * @category models
 */
export type ProxyOption = string | URL | Redacted.Redacted<string> | ProxyOptions | "env"

/**
 * A forward proxy's URL and, instead of credentials in it, the `Proxy-Authorization` value to send it, or a
 * `username` and `password` (an HTTP proxy gets them as Basic, a SOCKS5 proxy by RFC 1929).
 *
 * @example
 * ```ts
 * import { Config } from "effect"
 * import { UndiciHttpClient } from "@sturdy/node"
 *
 * const client = UndiciHttpClient.layerConfig(Config.all({
 *   proxy: Config.all({ url: Config.redacted("PROXY_URL"), token: Config.redacted("PROXY_TOKEN") })
 * }))
 * ```
 * @since 0.2.0
 * @category models
 */
export interface ProxyOptions {
  /**
   * The proxy's URL: `http://host:port` or `https://host:port` (credentials in it are sent as Basic), or
   * `socks5h://host:port` / `socks5://host:port` (credentials in it are sent by RFC 1929).
   */
  readonly url: string | URL | Redacted.Redacted<string>
  /**
   * The whole `Proxy-Authorization` value (`Basic ...`, `Bearer ...`). A secret: never shown. A value that is blank or
   * no header value (a control but tab, as NUL, CR or LF, or a character beyond Latin-1) is a `RangeError` naming
   * `proxy.token`; so is a token for a SOCKS5 proxy.
   */
  readonly token?: string | Redacted.Redacted<string> | undefined
  /**
   * The hosts reached without the proxy, as `NO_PROXY` lists them (see {@link ProxyOption}): `"localhost,
   * .internal, 10.0.0.1:8080"`, or `"*"` for all. None by default: every request goes through the proxy.
   */
  readonly noProxy?: string | undefined
  /**
   * `true`: `http:` requests are forwarded to an `http:` proxy in absolute form (`GET http://host/path HTTP/1.1`,
   * RFC 9112 §3.2.2) instead of through a `CONNECT` tunnel, for proxies that allow `CONNECT` to port 443 only
   * (Squid's default); `https:` requests still tunnel. `false` (the default) tunnels every request.
   *
   * @since 0.2.0
   */
  readonly forwardHttp?: boolean | undefined
  /**
   * The username for the proxy, instead of one in the URL (not percent-encoded here): sent by RFC 1929 to a SOCKS5
   * proxy (1 to 255 bytes of UTF-8), as `Proxy-Authorization: Basic` to an HTTP one (no colon, RFC 7617). Never
   * shown. With credentials in the URL, or with `token`, it is a `RangeError` naming the option.
   *
   * @since 0.2.0
   */
  readonly username?: string | undefined
  /**
   * The password that goes with `username` (at most 255 bytes for SOCKS5; empty when unset). A secret: never shown;
   * without `username` it is a `RangeError` naming `proxy.password`.
   *
   * @since 0.2.0
   */
  readonly password?: string | Redacted.Redacted<string> | undefined
}

/**
 * TLS settings of the connections to `https:` origins, with Node's `tls` names and readings: the CAs to trust (an
 * internal CA), a client certificate and its key (mTLS), the name sent by SNI and verified, a minimum TLS version.
 *
 * | field | default |
 * | --- | --- |
 * | `ca` | the system's CAs (Node's bundled Mozilla list, with `--use-system-ca` or `NODE_EXTRA_CA_CERTS` as Node reads them) |
 * | `cert`, `key` | no client certificate |
 * | `passphrase` | none (needed for an encrypted `key`) |
 * | `servername` | the URL's host name (none for an IP address), or the request's `Host` header when it sets one |
 * | `rejectUnauthorized` | `true` (unless the process sets `NODE_TLS_REJECT_UNAUTHORIZED=0`) |
 * | `minVersion` | Node's: `"TLSv1.2"` |
 *
 * `ca` replaces the system's CAs, as in Node: give the internal CA alone to trust only it, or the system's
 * (`tls.rootCertificates`) with it. `ca` and `cert` take PEM (a string or Buffer, several certificates in one, or a
 * list); `key` a PEM private key, encrypted or not. They are read when the dispatcher is made, once for all its
 * connections: a `ca` or `cert` that holds no PEM certificate (a path given for the file's content, a DER file), a
 * `key` that is not one or does not belong to `cert`, an encrypted `key` without its `passphrase` or with a wrong
 * one, a `cert` without `key` (or the reverse), a `servername` that is an IP address, or a field of the wrong type
 * is a `RangeError` naming the field (`UndiciHttpClient: tls.ca ...`), or in `layerConfig` a `ConfigError`.
 *
 * `key` and `passphrase` may be `Redacted` (`Config.redacted`, say) and are secrets either way: no error message
 * shows them, and the dispatcher keeps the parsed `SecureContext` only, not them, so inspecting it shows neither.
 *
 * A certificate the client does not trust, a name it does not match, or a server that wants a client certificate
 * and gets none fails the request with Node's TLS error as `cause` (`DEPTH_ZERO_SELF_SIGNED_CERT`,
 * `ERR_TLS_CERT_ALTNAME_INVALID`, `ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED`, ...): in `@sturdy/http` a
 * `ConnectionError` with reason `Tls`, which never reached the server and which `Policy` does not retry (another
 * attempt meets the same certificate). Over TLS 1.3 the server refuses a missing client certificate with an alert
 * after the client's side of the handshake, when undici has written the request and reads only the close that
 * follows: the alert is kept and reported (in every `Agent` this module makes, with `tls` or without). A server that
 * closes the connection without an alert (as `node:https` does for a client certificate it does not trust) cannot
 * be told from a reset, and is one.
 *
 * `rejectUnauthorized: false` accepts any certificate, expired, self-signed or issued for another host: anyone on the
 * path can then read and change the traffic, credentials included. It is for a local test server only; to trust a
 * private CA, give it as `ca` instead.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import { readFileSync } from "node:fs"
 * import { UndiciHttpClient } from "@sturdy/node"
 *
 * const mtls: UndiciHttpClient.DispatcherOptions = {
 *   tls: {
 *     ca: readFileSync("internal-ca.pem"),
 *     cert: readFileSync("client.pem"),
 *     key: Redacted.make(readFileSync("client-key.pem", "utf8")),
 *     servername: "api.internal"
 *   }
 * }
 * ```
 * @since 0.2.0
 * @category models
 */
export interface TlsOptions {
  /** The CAs to trust instead of the system's: PEM, one or several certificates per entry. */
  readonly ca?: string | Uint8Array | ReadonlyArray<string | Uint8Array> | undefined
  /** The client certificate (its chain after it) in PEM, presented to a server that asks for one. */
  readonly cert?: string | Uint8Array | ReadonlyArray<string | Uint8Array> | undefined
  /** The private key of `cert`, in PEM (encrypted or not). A secret: never shown. */
  readonly key?: string | Uint8Array | Redacted.Redacted<string | Uint8Array> | undefined
  /** The passphrase of an encrypted `key`. A secret: never shown. */
  readonly passphrase?: string | Redacted.Redacted<string> | undefined
  /** The host name sent by SNI and that the server's certificate must match, instead of the URL's. */
  readonly servername?: string | undefined
  /** Whether a certificate that does not verify fails the connection (default `true`); `false` is dangerous. */
  readonly rejectUnauthorized?: boolean | undefined
  /** The lowest TLS version the client accepts. */
  readonly minVersion?: "TLSv1.2" | "TLSv1.3" | undefined
}

/**
 * Creates an undici `Agent` with the given pool settings, destroyed when the scope closes.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { UndiciHttpClient } from "@sturdy/node"
 *
 * const client = Effect.map(UndiciHttpClient.makeDispatcher({ connections: 8 }), UndiciHttpClient.make)
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const makeDispatcher: (options?: DispatcherOptions) => Effect.Effect<Undici.Dispatcher, never, Scope.Scope> =
  internal.makeDispatcher

/**
 * An `HttpClient` sending every request through `dispatcher` (a `Pool` or `Client`: its own origin only, see
 * {@link Dispatcher}), with the per-request settings of `options` (see {@link ClientOptions}): a dispatcher of your
 * own (`new Agent(...)`, one shared by several clients) can decompress too.
 *
 * undici's own headers and body timeouts (an `Agent`, `Pool` or `Client` made with `headersTimeout` or
 * `bodyTimeout`, or undici's default of 5 minutes) are read from the dispatcher, so that the `Timeout` a request gets
 * in `@sturdy/http` reports the limit that fired, as with {@link makeDispatcher}'s. Where they cannot be known (a
 * custom `factory`, a composed or mock dispatcher) the `Timeout` reports a zero limit.
 *
 * @example
 * ```ts
 * import { Agent } from "undici"
 * import { UndiciHttpClient } from "@sturdy/node"
 *
 * const client = UndiciHttpClient.make(new Agent({ connections: 8 }))
 * // one Agent, two clients: one decodes compressed answers, the other takes bodies as sent
 * const shared = new Agent({ connections: 16 })
 * const api = UndiciHttpClient.make(shared, { decompress: true, headersTimeout: "30 seconds" })
 * const files = UndiciHttpClient.make(shared)
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const make: (dispatcher: Undici.Dispatcher, options?: ClientOptions) => HttpClient.HttpClient = internal.make

/**
 * The settings of {@link make} that apply request by request rather than to a dispatcher's connections: they work on
 * any dispatcher (your own `Agent`, `Pool`, `Client`, a composed one), and two clients on one dispatcher may differ.
 * Each has the meaning, default and validation of the {@link DispatcherOptions} field of the same name; a field left
 * out keeps the dispatcher's setting (that of {@link makeDispatcher}'s options, or undici's), so
 * `make(dispatcher, { decompress: false })` turns off the decoding of a dispatcher made with `decompress: true`, for
 * that client alone.
 *
 * | option | default |
 * | --- | --- |
 * | `decompress` | the dispatcher's: `false` for one not made by `makeDispatcher` (no `Accept-Encoding` sent, bodies as sent) |
 * | `maxDecompressionRatio` | the dispatcher's, else 100 (decoded bytes per byte on the wire, past the first MiB), with `decompress` |
 * | `headersTimeout` | the dispatcher's (undici's `headersTimeout`, sent with each request); 0 or an infinite duration means none |
 * | `bodyTimeout` | the dispatcher's (undici's `bodyTimeout`, sent with each request); 0 or an infinite duration means none |
 *
 * The other {@link DispatcherOptions} (`connections`, `tls`, `proxy`, `dns`, ...) make the connections, and belong to
 * the dispatcher: given here (from JavaScript, or a cast) they are a `RangeError` naming them, as is a value out of
 * range (`UndiciHttpClient: maxDecompressionRatio (0) must be a number >= 1 ...`, the message `makeDispatcher` gives),
 * thrown by `make`.
 *
 * @example
 * ```ts
 * import { UndiciHttpClient } from "@sturdy/node"
 *
 * const options: UndiciHttpClient.ClientOptions = { decompress: ["gzip", "br"], maxDecompressionRatio: 50 }
 * ```
 * @since 0.2.0
 * @category models
 */
export interface ClientOptions {
  /** As {@link DispatcherOptions.decompress}, for this client. */
  readonly decompress?: boolean | ReadonlyArray<ContentCoding> | undefined
  /** As {@link DispatcherOptions.maxDecompressionRatio}, for this client. */
  readonly maxDecompressionRatio?: number | undefined
  /** As {@link DispatcherOptions.headersTimeout}, sent with each request of this client. */
  readonly headersTimeout?: Duration.DurationInput | undefined
  /** As {@link DispatcherOptions.bodyTimeout}, sent with each request of this client. */
  readonly bodyTimeout?: Duration.DurationInput | undefined
}

/**
 * Provides the `Dispatcher` with an `Agent` created from `options` and destroyed with the layer.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { UndiciHttpClient } from "@sturdy/node"
 *
 * const client = UndiciHttpClient.layerWithDispatcher.pipe(
 *   Layer.provide(UndiciHttpClient.layerDispatcher({ connections: 16, pipelining: 1 }))
 * )
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layerDispatcher: (options?: DispatcherOptions) => Layer.Layer<Dispatcher> = internal.layerDispatcher

/**
 * The `HttpClient` on whatever `Dispatcher` you provide (your own `Agent`, `Pool`, a `MockAgent` in tests).
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { Agent } from "undici"
 * import { UndiciHttpClient } from "@sturdy/node"
 *
 * const client = UndiciHttpClient.layerWithDispatcher.pipe(
 *   Layer.provide(Layer.succeed(UndiciHttpClient.Dispatcher, new Agent()))
 * )
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layerWithDispatcher: Layer.Layer<HttpClient.HttpClient, never, Dispatcher> = internal.layerWithDispatcher

/**
 * The `HttpClient` on its own `Agent`, created from `options` and destroyed with the layer.
 *
 * @example
 * ```ts
 * import { HttpClient } from "@effect/platform"
 * import { Effect } from "effect"
 * import { UndiciHttpClient } from "@sturdy/node"
 *
 * const program = HttpClient.get("http://127.0.0.1:8080/health").pipe(
 *   Effect.flatMap((response) => response.json),
 *   Effect.provide(UndiciHttpClient.layer({ connections: 16 }))
 * )
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layer: (options?: DispatcherOptions) => Layer.Layer<HttpClient.HttpClient> = internal.layer

/**
 * Like `layer`, with the pool settings read from configuration; a setting out of range (see {@link DispatcherOptions})
 * fails the layer with `ConfigError.InvalidData` naming it.
 *
 * @example
 * ```ts
 * import { Config, Duration } from "effect"
 * import { UndiciHttpClient } from "@sturdy/node"
 *
 * const client = UndiciHttpClient.layerConfig(Config.all({
 *   connections: Config.integer("HTTP_CONNECTIONS"),
 *   keepAliveTimeout: Config.withDefault(Config.duration("HTTP_KEEP_ALIVE"), Duration.seconds(4))
 * }))
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: (
  config: Config.Config<DispatcherOptions>
) => Layer.Layer<HttpClient.HttpClient, ConfigError.ConfigError> = internal.layerConfig
