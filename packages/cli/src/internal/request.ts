import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as Path from "@effect/platform/Path"
import * as Attempt from "@sturdy/http/Attempt"
import * as HttpFailure from "@sturdy/http/HttpFailure"
import * as Policy from "@sturdy/http/Policy"
import * as Redaction from "@sturdy/http/Redaction"
import * as SturdyClient from "@sturdy/http/SturdyClient"
import * as UndiciHttpClient from "@sturdy/node/UndiciHttpClient"
import * as Deadline from "@sturdy/policy/Deadline"
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as durations from "./duration.js"
import { CommandFailed } from "./errors.js"
import * as exitCode from "./exitCode.js"
import type * as jsonSchema from "./jsonSchema.js"
import * as policyFile from "./policyFile.js"
import * as schemaFile from "./schemaFile.js"
import * as timeline from "./timeline.js"

/** The HTTP methods the command has a subcommand for. */
export const methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] as const

/** @internal */
export type Method = typeof methods[number]

/** The parsed command line of `sturdy get|post|...`. */
export interface Input {
  readonly method: Method
  readonly url: string
  readonly headers: ReadonlyArray<string>
  readonly data: Option.Option<string>
  readonly schema: Option.Option<string>
  readonly policy: string
  readonly retries: Option.Option<number>
  readonly timeout: Option.Option<Duration.Duration>
  readonly deadline: Option.Option<Duration.Duration>
  /** `--connect-timeout`: the transport's limit on opening a connection (none: the transport's default). */
  readonly connectTimeout: Option.Option<Duration.Duration>
  /** `--cacert FILE`: the CAs to trust instead of the system's (PEM). */
  readonly cacert?: Option.Option<string> | undefined
  /** `--cert FILE` and `--key FILE`: a client certificate and its key (PEM), for a server that asks for one. */
  readonly cert?: Option.Option<string> | undefined
  readonly key?: Option.Option<string> | undefined
  /** `--insecure`: a certificate that does not verify is accepted. */
  readonly insecure?: boolean | undefined
  /** `--http2` (h2 by ALPN over TLS) or `--http2-prior-knowledge` (also h2 with prior knowledge on cleartext). */
  readonly http2?: boolean | undefined
  readonly http2PriorKnowledge?: boolean | undefined
  /** `--proxy URL` (`-x`): the forward proxy, instead of the environment's; `""` for none. */
  readonly proxy?: Option.Option<string> | undefined
  /** `--socks5 HOST[:PORT]` and `--socks5-hostname HOST[:PORT]`: a SOCKS5 proxy (`socks5://`, `socks5h://`). */
  readonly socks5?: Option.Option<string> | undefined
  readonly socks5Hostname?: Option.Option<string> | undefined
  /** `--proxy-forward`: `http:` URLs forwarded to the HTTP proxy in absolute form, not tunnelled. */
  readonly proxyForward?: boolean | undefined
  /** `--noproxy LIST`: the hosts reached without the proxy (`NO_PROXY`'s syntax), instead of `NO_PROXY`. */
  readonly noproxy?: Option.Option<string> | undefined
  /** `--unix-socket PATH`: connect to this Unix domain socket; no proxy. */
  readonly unixSocket?: Option.Option<string> | undefined
  /** `--compressed`: ask for a compressed response (gzip, deflate, br) and decode it, as curl's `--compressed`. */
  readonly compressed?: boolean | undefined
  readonly json: boolean
}

const usage = (detail: string) => new CommandFailed({ code: exitCode.codes.Usage, detail })

/** `--policy none`: one attempt, no breaker, bulkhead or time limits (flags may still add them). */
export const noPolicy: Policy.Options = {
  retry: false,
  hedging: false,
  circuitBreaker: false,
  bulkhead: false,
  rateLimit: false,
  totalTimeout: Duration.infinity,
  attemptTimeout: Duration.infinity
}

const loadPolicy = (
  name: string,
  fs: FileSystem.FileSystem
): Effect.Effect<Policy.Options, CommandFailed> => {
  if (name === "standard") return Effect.succeed({})
  if (name === "none") return Effect.succeed(noPolicy)
  return Effect.flatMap(
    Effect.mapError(
      fs.readFileString(name),
      (error) => usage(`--policy ${name}: not "standard", "none" or a readable file (${error.message})`)
    ),
    (text) =>
      Either.match(policyFile.decode(text), {
        onLeft: (detail) => Effect.fail(usage(`--policy ${name}: ${detail}`)),
        onRight: (options) => Effect.succeed<Policy.Options>(options)
      })
  )
}

/**
 * The transport's options from the flags: `--connect-timeout none` is no limit, which undici reads from a zero (an
 * infinite duration would be a timer that fires at once).
 */
export const dispatcherOptions = (input: Pick<Input, "connectTimeout">): UndiciHttpClient.DispatcherOptions => {
  if (Option.isNone(input.connectTimeout)) return {}
  const limit = input.connectTimeout.value
  return { connectTimeout: Duration.isFinite(limit) ? limit : Duration.zero }
}

/** The flag a `tls` field of the transport comes from. */
const tlsFlags: Readonly<Record<string, "cacert" | "cert" | "key">> = {
  ca: "cacert",
  cert: "cert",
  key: "key",
  passphrase: "key"
}

/** Where the proxy of a run comes from, for a usage error: the flag, or the variable of the environment. */
interface ProxySource {
  readonly name: string
  readonly url: string
}

const envValue = (env: NodeJS.ProcessEnv, names: ReadonlyArray<string>): ProxySource | undefined => {
  for (const name of names) {
    const value = env[name]?.trim()
    if (value !== undefined && value !== "") return { name: `${name} (from the environment)`, url: value }
  }
  return undefined
}

/**
 * The proxy of a run, as curl picks it for one URL: `--proxy` (`""`: none) or `--socks5` / `--socks5-hostname`,
 * else the environment's (`https_proxy` / `HTTPS_PROXY` for an https: URL, `http_proxy` / `HTTP_PROXY` for an http:
 * one, then `all_proxy` / `ALL_PROXY`, then for an https: URL `HTTP_PROXY`; the lower-case name first); none with
 * `--unix-socket`.
 */
const proxySource = (
  input: Pick<Input, "proxy" | "unixSocket" | "socks5" | "socks5Hostname"> & { readonly url?: string | undefined },
  env: NodeJS.ProcessEnv
): ProxySource | undefined => {
  if (input.unixSocket !== undefined && Option.isSome(input.unixSocket)) return undefined
  if (input.proxy !== undefined && Option.isSome(input.proxy)) {
    return input.proxy.value.trim() === "" ? undefined : { name: "--proxy", url: input.proxy.value.trim() }
  }
  if (input.socks5 !== undefined && Option.isSome(input.socks5)) {
    return { name: "--socks5", url: `socks5://${input.socks5.value.trim()}` }
  }
  if (input.socks5Hostname !== undefined && Option.isSome(input.socks5Hostname)) {
    return { name: "--socks5-hostname", url: `socks5h://${input.socks5Hostname.value.trim()}` }
  }
  const https = /^https:/i.test(input.url ?? "")
  return envValue(
    env,
    https
      ? ["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "http_proxy", "HTTP_PROXY"]
      : ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"]
  )
}

/** The proxy flags given, of `--proxy`, `--socks5` and `--socks5-hostname`: one at most may be. */
const proxyFlags = (input: Pick<Input, "proxy" | "socks5" | "socks5Hostname">): ReadonlyArray<string> => [
  ...(input.proxy !== undefined && Option.isSome(input.proxy) ? ["--proxy"] : []),
  ...(input.socks5 !== undefined && Option.isSome(input.socks5) ? ["--socks5"] : []),
  ...(input.socks5Hostname !== undefined && Option.isSome(input.socks5Hostname) ? ["--socks5-hostname"] : [])
]

/**
 * The transport's options from the flags, the files of `--cacert`, `--cert` and `--key` read: a file that cannot be
 * read, or does not hold what its flag takes (no PEM certificate, no private key, an encrypted key), is a usage
 * error naming the flag and the file, never its content.
 */
export const transportOptions = (
  input:
    & Omit<
      Input,
      "method" | "url" | "headers" | "data" | "schema" | "policy" | "retries" | "timeout" | "deadline" | "json"
    >
    & { readonly url?: string | undefined },
  fs: FileSystem.FileSystem,
  env: NodeJS.ProcessEnv = process.env
): Effect.Effect<UndiciHttpClient.DispatcherOptions, CommandFailed> =>
  Effect.gen(function*() {
    const unixSocket = input.unixSocket !== undefined && Option.isSome(input.unixSocket)
      ? input.unixSocket.value
      : undefined
    const flags = proxyFlags(input)
    if (unixSocket !== undefined && flags.length > 0) {
      return yield* usage(`--unix-socket cannot be combined with ${flags[0]} (a proxy is reached over TCP)`)
    }
    if (flags.length > 1) return yield* usage(`${flags[0]} and ${flags[1]} each name a proxy: give one of them`)
    for (const flag of ["socks5", "socks5Hostname"] as const) {
      const value = input[flag]
      if (value !== undefined && Option.isSome(value) && /:\/\//.test(value.value)) {
        const name = flag === "socks5" ? "--socks5" : "--socks5-hostname"
        return yield* usage(`${name} takes HOST[:PORT], not a URL (or give -x socks5h://HOST:PORT)`)
      }
    }
    const read = (flag: string, file: Option.Option<string> | undefined) =>
      file === undefined || Option.isNone(file)
        ? Effect.succeed(undefined)
        : Effect.mapError(
          fs.readFile(file.value),
          (error) => usage(`--${flag} ${file.value}: cannot be read (${error.message})`)
        )
    if (Option.isSome(input.cert ?? Option.none()) !== Option.isSome(input.key ?? Option.none())) {
      return yield* usage("--cert and --key go together: give both (a client certificate and its private key)")
    }
    const ca = yield* read("cacert", input.cacert)
    const cert = yield* read("cert", input.cert)
    const key = yield* read("key", input.key)
    const tls: { -readonly [K in keyof UndiciHttpClient.TlsOptions]: UndiciHttpClient.TlsOptions[K] } = {}
    if (ca !== undefined) tls.ca = ca
    if (cert !== undefined) tls.cert = cert
    // the key's bytes stay out of anything printed: a message names the file only
    if (key !== undefined) tls.key = Redacted.make(key)
    if (input.insecure === true) tls.rejectUnauthorized = false
    const options: {
      -readonly [K in keyof UndiciHttpClient.DispatcherOptions]: UndiciHttpClient.DispatcherOptions[K]
    } = { ...dispatcherOptions(input) }
    if (Object.keys(tls).length > 0) options.tls = tls
    if (input.http2PriorKnowledge === true) options.http2 = "h2c"
    else if (input.http2 === true) options.http2 = true
    if (unixSocket !== undefined) options.socketPath = unixSocket
    if (input.compressed === true) options.decompress = true
    const proxy = proxySource(input, env)
    if (proxy !== undefined) {
      // as curl, a proxy without a scheme is http://; the URL may hold credentials: never printed (Redacted)
      const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(proxy.url) ? proxy.url : `http://${proxy.url}`
      const noProxy = input.noproxy !== undefined && Option.isSome(input.noproxy)
        ? input.noproxy.value
        : (env["no_proxy"] ?? env["NO_PROXY"] ?? "")
      options.proxy = {
        url: Redacted.make(url),
        ...(noProxy.trim() === "" ? {} : { noProxy }),
        ...(input.proxyForward === true ? { forwardHttp: true } : {})
      }
    } else if (input.proxyForward === true && unixSocket === undefined) {
      return yield* usage("--proxy-forward needs a proxy (--proxy, or HTTP_PROXY in the environment)")
    }
    return options
  })

/**
 * The transport for the flags: a file of `--cacert`, `--cert` or `--key` that the transport refuses is a usage error
 * naming its flag and file.
 */
const makeTransport = (
  input: Input,
  fs: FileSystem.FileSystem
) =>
  Effect.flatMap(transportOptions(input, fs), (options) =>
    UndiciHttpClient.makeDispatcher(options).pipe(
      Effect.catchAllDefect((defect) => {
        // a proxy, a --noproxy list or a socket path the transport refuses: named by where it came from (its
        // messages never show the URL, which may hold credentials)
        const network = defect instanceof RangeError
          ? /^UndiciHttpClient: (proxy\.url|proxy\.noProxy|proxy\.forwardHttp|socketPath|proxy)\b ?(.*)$/.exec(
            defect.message
          )
          : null
        if (network !== null) {
          const source = proxySource(input, process.env)
          const name = network[1] === "proxy.url"
            ? source?.name ?? "--proxy"
            : network[1] === "proxy.noProxy"
            ? input.noproxy !== undefined && Option.isSome(input.noproxy)
              ? "--noproxy"
              : "NO_PROXY (from the environment)"
            : network[1] === "proxy.forwardHttp"
            ? "--proxy-forward"
            : network[1] === "socketPath"
            ? "--unix-socket"
            : `${source?.name ?? "--proxy"}:`
          return usage(`${name} ${network[2]}`)
        }
        const refused = defect instanceof RangeError
          ? /^UndiciHttpClient: (tls\.(\w+)(?:\[\d+\])? .*)$/.exec(defect.message)
          : null
        const flag = refused === null ? undefined : tlsFlags[refused[2]]
        const file = flag === undefined ? undefined : input[flag]
        if (refused === null || flag === undefined || file === undefined || Option.isNone(file)) {
          return Effect.die(defect)
        }
        const hint = refused[1].includes("passphrase")
          ? " (sturdy takes no passphrase: decrypt the key first, e.g. openssl pkey -in KEY -out PLAIN_KEY)"
          : ""
        return usage(`--${flag} ${file.value}: ${refused[1]}${hint}`)
      })
    ))

/** The longest duration a timer can hold (2^31 − 1 ms, about 24.8 days): the policy refuses longer finite limits. */
export const maxTimerMillis: number = Deadline.maxTimerMillis

/**
 * Applies `--retries`, `--timeout` and `--deadline` on top of the policy. What the flags derive (a deadline that holds
 * one attempt, a breaker window that holds two) is kept valid, so a flag that is fine on its own never makes the
 * policy's defaults invalid: `--timeout none` leaves the attempt unbounded (and the deadline too unless one is set),
 * and a timeout too long for the default breaker's window (over 12.4 days) turns that breaker off for the call.
 */
export const applyFlags = (base: Policy.Options, input: Pick<Input, "retries" | "timeout" | "deadline">) => {
  const options: {
    -readonly [K in keyof Policy.Options]: Policy.Options[K]
  } = { ...base }
  if (Option.isSome(input.retries)) {
    const retries = input.retries.value
    options.retry = retries === 0
      ? false
      : { ...(typeof base.retry === "object" ? base.retry : {}), maxAttempts: retries + 1 }
  }
  if (Option.isSome(input.timeout)) {
    const timeout = input.timeout.value
    options.attemptTimeout = timeout
    if (Option.isNone(input.deadline) && base.totalTimeout === undefined) {
      options.totalTimeout = Duration.max(Policy.defaults.totalTimeout, timeout)
    }
    const breaker = base.circuitBreaker
    // without an attempt timeout the breaker's window has nothing to hold: its default stays
    if (breaker !== false && breaker?.slidingWindow === undefined && Duration.isFinite(timeout)) {
      // the breaker's window must hold two attempts, and a timer must be able to hold the window
      const twice = Duration.times(timeout, 2)
      if (Duration.toMillis(twice) <= maxTimerMillis) {
        const window = Duration.max(Policy.defaults.circuitBreaker.slidingWindow, twice)
        options.circuitBreaker = { ...(breaker ?? {}), slidingWindow: window }
      } else if (breaker === undefined) {
        // no window can: the default breaker, which one call hardly exercises, is left out (the first line says so)
        options.circuitBreaker = false
      } else {
        // a breaker the policy file configures stays: the policy then says which limit to change
        options.circuitBreaker = { ...breaker, slidingWindow: Duration.millis(maxTimerMillis) }
      }
    }
  }
  if (Option.isSome(input.deadline)) {
    const deadline = input.deadline.value
    options.totalTimeout = deadline
    if (Option.isNone(input.timeout) && base.attemptTimeout === undefined) {
      options.attemptTimeout = Duration.min(Policy.defaults.attemptTimeout, deadline)
    }
  }
  return options
}

/** A header name: an RFC 9110 token. */
const headerName = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

/**
 * Parses a `--header NAME:VALUE`. A malformed one is named by its first word at most, and only when more follows
 * it: `-H "Authorization Bearer …"` (no colon) must not print the credential, nor a lone word that may be one.
 */
export const parseHeader = (header: string): Either.Either<readonly [string, string], string> => {
  const colon = header.indexOf(":")
  const name = colon === -1 ? "" : header.slice(0, colon).trim()
  if (headerName.test(name)) return Either.right([name, header.slice(colon + 1).trim()] as const)
  if (colon !== -1 && name.length === 0) {
    return Either.left(`--header: expected NAME:VALUE, the name before ":" is empty`)
  }
  const first = /^\s*([!#$%&'*+.^_`|~0-9A-Za-z-]{1,40})\s+\S/.exec(header)
  return Either.left(
    first === null
      ? `--header: expected NAME:VALUE (a name without spaces, then ":")`
      : `--header "${first[1]} …": expected NAME:VALUE (a name without spaces, then ":")`
  )
}

/**
 * The user's headers, each name once (as first written): a header given twice is sent with both values, combined
 * as RFC 9110 §5.3 allows (`one, two`; `Cookie` pairs with `; `), as curl and xh send both.
 */
export const combineHeaders = (
  headers: ReadonlyArray<readonly [string, string]>
): Array<readonly [string, string]> => {
  const combined = new Map<string, [string, string]>()
  for (const [name, value] of headers) {
    const lower = name.toLowerCase()
    const seen = combined.get(lower)
    if (seen === undefined) combined.set(lower, [name, value])
    else seen[1] = `${seen[1]}${lower === "cookie" ? "; " : ", "}${value}`
  }
  return [...combined.values()]
}

const findHeader = (headers: ReadonlyArray<readonly [string, string]>, name: string): string | undefined =>
  headers.find(([candidate]) => candidate.toLowerCase() === name)?.[1]

/**
 * Where a body that is not UTF-8 text goes: raw, byte for byte (`curl -o -`). By default the process's stdout; a
 * text body goes through `Console.log` like the rest of the output.
 */
export class BinaryOutput extends Context.Reference<BinaryOutput>()("@sturdy/cli/BinaryOutput", {
  defaultValue: (): (bytes: Uint8Array) => Effect.Effect<void> => (bytes) =>
    Effect.async<void>((resume) => {
      // the callback runs once the bytes are handed to the OS (or the write failed: a closed pipe ends here too)
      process.stdout.write(bytes, () => resume(Effect.void))
    })
}) {}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true })

const isUtf8 = (bytes: Uint8Array): boolean => {
  try {
    strictUtf8.decode(bytes)
    return true
  } catch {
    return false
  }
}

const isJsonContentType = (contentType: string | undefined): boolean => {
  if (contentType === undefined) return false
  const media = contentType.split(";")[0].trim().toLowerCase()
  return media === "application/json" || media.endsWith("+json")
}

interface Exchange {
  readonly status: number
  readonly received: Attempt.Received
  /** The body as JSON (decoded with `--schema`, or parsed when the server said it is JSON). */
  readonly json: Option.Option<unknown>
}

const anyJson: jsonSchema.JsonValueSchema = Schema.Unknown

// The body as JSON: decoded with `--schema`, or parsed when the server said it is JSON.
const decodeBody = (
  received: Attempt.Received,
  schema: Option.Option<jsonSchema.JsonValueSchema>
): Effect.Effect<Exchange, HttpFailure.HttpFailure> => {
  const decodeWith = Option.isSome(schema)
    ? schema.value
    : isJsonContentType(received.headers["content-type"]) && received.body.length > 0
    ? anyJson
    : undefined
  if (decodeWith === undefined) return Effect.succeed({ status: received.status, received, json: Option.none() })
  return Effect.map(
    Attempt.decodeJson(received, decodeWith),
    (value): Exchange => ({ status: received.status, received, json: Option.some(value) })
  )
}

const encodeBody = (exchange: Exchange, schema: Option.Option<jsonSchema.JsonValueSchema>): unknown => {
  if (Option.isNone(exchange.json)) return exchange.received.text
  if (Option.isNone(schema)) return exchange.json.value
  // decoded values (dates, say) are encoded back for printing
  return Either.getOrElse(Schema.encodeEither(schema.value)(exchange.json.value), () => exchange.received.text)
}

const rowJson = (row: timeline.Row) => ({
  attempt: row.attempt,
  startedAtMs: Math.round(row.startedAt),
  durationMs: row.endedAt === undefined ? null : Math.round(row.endedAt - row.startedAt),
  outcome: timeline.outcomeLabel(row.outcome),
  status: row.outcome?._tag === "Ok" || row.outcome?._tag === "Failed" ? row.outcome.status ?? null : null,
  next: row.decision === undefined ? null : {
    retrying: row.decision.retrying,
    delayMs: row.decision.delayMillis,
    reason: timeline.reasonLabel(row.decision.reason)
  }
})

const describePolicy = (described: Policy.Describe): string => {
  const parts = [`${described.maxAttempts} attempt${described.maxAttempts === 1 ? "" : "s"}`]
  if (Option.isSome(described.attemptTimeout)) {
    parts.push(`attempt timeout ${durations.format(Duration.toMillis(described.attemptTimeout.value))}`)
  }
  if (Option.isSome(described.totalTimeout)) {
    parts.push(`deadline ${durations.format(Duration.toMillis(described.totalTimeout.value))}`)
  }
  if (described.circuitBreaker) parts.push("circuit breaker")
  if (described.bulkhead) parts.push("bulkhead")
  if (described.rateLimit) parts.push("rate limit")
  if (described.hedging) parts.push("hedging")
  return parts.join(", ")
}

/** `InvalidRequest` for a URL that is absolute but not http(s); a URL that does not parse is the attempt's to fail. */
const unsupportedScheme = (request: HttpClientRequest.HttpClientRequest): HttpFailure.InvalidRequest | undefined => {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(request.url.trim())
  if (scheme === null) return undefined
  const name = scheme[1].toLowerCase()
  if (name === "http" || name === "https") return undefined
  return new HttpFailure.InvalidRequest({
    method: request.method,
    url: Redaction.redactUrl(request.url),
    reason: "MalformedUrl",
    detail: `the scheme "${name.replace(/[^a-z0-9+.-]/g, "")}:" is not http or https`
  })
}

/** Runs one request through the policy, printing the timeline to stderr and the body (or `--json`) to stdout. */
export const run = (input: Input): Effect.Effect<void, CommandFailed, FileSystem.FileSystem | Path.Path> =>
  Effect.scoped(Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const base = yield* loadPolicy(input.policy, fs)
    const options = applyFlags(base, input)
    const schema = Option.isSome(input.schema) ? Option.some(yield* schemaFile.load(input.schema.value)) : Option.none()

    const given: Array<readonly [string, string]> = []
    for (const header of input.headers) {
      const parsed = parseHeader(header)
      if (Either.isLeft(parsed)) return yield* usage(parsed.left)
      given.push(parsed.right)
    }
    const headers = combineHeaders(given)
    let request = HttpClientRequest.make(input.method)(input.url)
    if (Option.isSome(input.data)) {
      // a HEAD's answer has no body, and its own has no defined meaning (RFC 9110 §9.3.2): curl refuses it too
      if (input.method === "HEAD") return yield* usage(`--data: a HEAD request carries no body`)
      try {
        JSON.parse(input.data.value)
      } catch (error) {
        return yield* usage(`--data is not valid JSON (${error instanceof Error ? error.message : String(error)})`)
      }
      // JSON unless the user says which JSON (`application/merge-patch+json`, say)
      request = HttpClientRequest.bodyText(
        request,
        input.data.value,
        findHeader(headers, "content-type") ?? "application/json"
      )
    }
    // the user's headers win over what the command would set, as curl's and HTTPie's do
    if (findHeader(headers, "accept") === undefined) request = HttpClientRequest.acceptJson(request)
    for (const [name, value] of headers) request = HttpClientRequest.setHeader(request, name, value)

    const policy = yield* Effect.mapError(Policy.make(options), (error) => usage(error.message))
    // every call of the client runs through the policy; each attempt is an `Attempt`, which the transport bounds
    const dispatcher = yield* makeTransport(input, fs)
    const api = SturdyClient.makeWith(UndiciHttpClient.make(dispatcher), { policy })

    const events = yield* Queue.unbounded<timeline.Event>()
    const recorder = new timeline.Recorder(() => performance.now(), (event) => Queue.unsafeOffer(events, event))
    const printer = yield* Effect.fork(Effect.gen(function*() {
      while (true) {
        const event = yield* Queue.take(events)
        if (event._tag === "Done") return
        yield* Console.error(
          event._tag === "Finished"
            ? timeline.formatFinished(event.row)
            : timeline.formatDecision(event.row.decision!)
        )
      }
    }))

    // the policy reports to the call's hook, in line with the call: each attempt's start and end, which attempts it
    // refused, and each retry decision
    const onEvent = (event: Policy.Event): Effect.Effect<void> => {
      switch (event._tag) {
        case "AttemptStarted":
          return Effect.sync(() => recorder.started(event.attempt, event.hedge))
        case "AttemptEnded":
          return Effect.sync(() => recorder.ended(event.attempt, event.hedge, event))
        case "Rejected":
          // the rate limiter and the retry budget refuse a call or a retry, not an attempt: the final failure and the
          // decision's line say those
          return event.rejection._tag === "CircuitOpen" || event.rejection._tag === "BulkheadRejected" ||
              event.rejection._tag === "ConcurrencyLimitExceeded" || event.rejection._tag === "AdaptiveThrottleRejected"
            ? Effect.sync(() => recorder.reject(event.attempt, event.rejection._tag))
            : Effect.void
        case "RetryDecision":
          return Effect.sync(() =>
            recorder.decide(event.attempt, {
              reason: event.reason,
              delayMillis: Duration.toMillis(event.delay),
              retrying: event.retrying
            })
          )
        default:
          return Effect.void
      }
    }

    // stderr ends up in CI logs: keep tokens in query strings out of it, as the failures' messages do
    const shownUrl = Redaction.redactUrl(input.url)
    yield* Console.error(
      `${input.method} ${shownUrl} (policy ${input.policy}: ${describePolicy(policy.describe(request))})`
    )
    // only http(s) is sent: `file:`, `data:` and the rest fail before anything leaves, as an invalid request
    const unsupported = unsupportedScheme(request)
    // the body is decoded once the call is done: a body that does not decode is never retried (nor counted by the
    // breaker), so it is the call's failure, after the attempt that received it
    const result = unsupported !== undefined ? Either.left(unsupported) : yield* api.execute(request, { onEvent }).pipe(
      Effect.flatMap((received) => decodeBody(received, schema)),
      Effect.either
    )
    if (Either.isLeft(result)) recorder.finishWith(result.left._tag)
    yield* Queue.offer(events, { _tag: "Done" })
    yield* Fiber.join(printer)
    const elapsed = recorder.elapsed()

    if (Either.isRight(result)) {
      const done = result.right
      yield* Console.error(
        `→ ${done.status} in ${durations.format(elapsed)} after ${recorder.rows.length} attempt${
          recorder.rows.length === 1 ? "" : "s"
        }`
      )
      if (input.json) {
        yield* Console.log(JSON.stringify({
          ok: true,
          exitCode: 0,
          method: input.method,
          url: shownUrl,
          status: done.status,
          // CI logs keep what is printed: cookies and credentials in the response headers are redacted
          headers: Redaction.redactHeaders(done.received.headers, request),
          body: encodeBody(done, schema),
          attempts: recorder.rows.map(rowJson),
          elapsedMs: Math.round(elapsed)
        }))
      } else if (input.method !== "HEAD" && done.received.body.length > 0) {
        // printed as it came: text through the console, anything else (an image, a gzip file) byte for byte
        if (isUtf8(done.received.body)) yield* Console.log(done.received.text)
        else yield* (yield* BinaryOutput)(done.received.body)
      }
      return
    }
    const failure = result.left
    const code = exitCode.fromFailure(failure)
    yield* Console.error(`→ failed after ${durations.format(elapsed)}: ${failure.message} (exit ${code})`)
    if (input.json) {
      yield* Console.log(JSON.stringify({
        ok: false,
        exitCode: code,
        method: input.method,
        url: shownUrl,
        status: "status" in failure ? failure.status : null,
        error: { tag: failure._tag, kind: exitCode.kindOf(failure), message: failure.message },
        attempts: recorder.rows.map(rowJson),
        elapsedMs: Math.round(elapsed)
      }))
    }
    return yield* new CommandFailed({ code })
  }))
