// Hostile option values for `UndiciHttpClient.makeDispatcher` (and so `layer`/`layerDispatcher`): each of its options
// fed wrong types, NaN, ±Infinity, -0, negatives, fractions, huge numbers, durations that do not parse, null, symbols,
// bigints and objects whose `valueOf` throws (the values of `@sturdy/policy`'s HostileOptions suite), in options that
// are plain, frozen, carry `__proto__`/`constructor` keys or have a throwing getter (fast-check, fixed seed). The
// dispatcher must either die with a `RangeError` naming the option (its documented pattern), or be made and answer a
// GET to a loopback server on 127.0.0.1. A throwing getter's own error passing through unchanged is allowed. The `tls`
// fields are fed inside a `tls` object (itself plain, frozen, polluting or with a throwing getter).
// Then `proxy` (URLs with CR/LF, spaces, `javascript:`, no host, ports out of range or 0, tokens that are no header
// value, odd `noProxy` lists) and `socketPath` (empty, NUL, too long, relative, not a string). The `dns` fields are fed
// inside a `dns` object, as the `tls` ones. Then `make`'s own options (`decompress`, `maxDecompressionRatio`,
// `headersTimeout`, `bodyTimeout`), on an Agent of the test's own.
import { HttpClientRequest } from "@effect/platform"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Attempt } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import * as Cause from "effect/Cause"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Http from "node:http"
import type * as Net from "node:net"
import * as Zlib from "node:zlib"
import { Agent } from "undici"
import {
  describeValue,
  GetterError,
  hostileValue,
  optionsWith,
  type Wrapper,
  wrapper
} from "../../policy/test/utils/hostile.js"

let server: Http.Server
let url: string

beforeAll(async () => {
  server = Http.createServer((_, response) => response.end("ok"))
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  url = `http://127.0.0.1:${(server.address() as Net.AddressInfo).port}/`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

const fields = [
  "connections",
  "pipelining",
  "keepAliveTimeout",
  "keepAliveMaxTimeout",
  "connectTimeout",
  "headersTimeout",
  "bodyTimeout",
  "http2",
  "tls",
  "tls.ca",
  "tls.cert",
  "tls.key",
  "tls.passphrase",
  "tls.servername",
  "tls.rejectUnauthorized",
  "tls.minVersion",
  "decompress",
  "maxDecompressionRatio",
  "dns",
  "dns.maxTtl",
  "dns.maxItems",
  "dns.dualStack",
  "dns.lookup"
]

/** The options with `field` set to `value`: a `tls.` (`dns.`) field inside a `tls` (`dns`) object in the same wrapper. */
const hostileOptions = (wrap: Wrapper, field: string, value: unknown): UndiciHttpClient.DispatcherOptions =>
  field.startsWith("tls.")
    ? { tls: optionsWith(wrap, {}, field.slice(4), value) }
    : field.startsWith("dns.")
    ? { dns: optionsWith(wrap, {}, field.slice(4), value) }
    : optionsWith(wrap, {}, field, value)

/** A hostile value either works (the loopback server's "ok"), trips our getter, or is a RangeError naming `field`. */
const expectOkOrRefusal = (exit: Exit.Exit<string, unknown>, field: string, label: string): void => {
  if (Exit.isSuccess(exit)) {
    expect(exit.value, label).toBe("ok")
    return
  }
  const defect = Cause.squash(exit.cause)
  if (defect instanceof GetterError) return
  expect(defect, `${label}: ${String(defect)}`).toBeInstanceOf(RangeError)
  expect((defect as Error).message, label).toContain(field)
}

describe("HostileOptions: UndiciHttpClient.makeDispatcher", () => {
  for (const field of fields) {
    it.live.prop(field, [wrapper, hostileValue], ([wrap, value]) =>
      Effect.gen(function*() {
        const label = `${field} <- ${describeValue(value)}`
        const exit = yield* Effect.exit(
          Effect.scoped(Effect.gen(function*() {
            const dispatcher = yield* UndiciHttpClient.makeDispatcher(hostileOptions(wrap, field, value))
            const response = yield* UndiciHttpClient.make(dispatcher).execute(HttpClientRequest.get(url))
            return yield* response.text
          })).pipe(Effect.timeout("5 seconds"))
        )
        expectOkOrRefusal(exit, field, label)
      }), { fastCheck: { seed: 20261206, numRuns: 30 } })
  }
})

// `make(dispatcher, options)` (0.2): its per-client fields, each fed the same values on an Agent of the test's own.
// `make` throws (it is no Effect): a RangeError naming the field, the message `makeDispatcher` gives for it.
const clientFields = ["decompress", "maxDecompressionRatio", "headersTimeout", "bodyTimeout"]

describe("HostileOptions: UndiciHttpClient.make's options", () => {
  for (const field of clientFields) {
    it.live.prop(field, [wrapper, hostileValue], ([wrap, value]) =>
      Effect.gen(function*() {
        const label = `${field} <- ${describeValue(value)}`
        const agent = new Agent()
        const exit = yield* Effect.exit(
          Effect.suspend(() => {
            const client = UndiciHttpClient.make(agent, optionsWith(wrap, {}, field, value))
            return Effect.flatMap(client.execute(HttpClientRequest.get(url)), (response) => response.text)
          }).pipe(Effect.timeout("5 seconds"), Effect.ensuring(Effect.promise(() => agent.destroy())))
        )
        expectOkOrRefusal(exit, field, label)
      }), { fastCheck: { seed: 20261207, numRuns: 30 } })
  }
})

describe("HostileOptions: UndiciHttpClient options argument", () => {
  it.effect("options that are no object are refused naming the options; null is no options", () =>
    Effect.gen(function*() {
      for (const options of ["connections=4", 4, true, [{ connections: 4 }]]) {
        const exit = yield* Effect.exit(
          Effect.scoped(UndiciHttpClient.makeDispatcher(options as UndiciHttpClient.DispatcherOptions))
        )
        const defect = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
        expect(defect, String(options)).toBeInstanceOf(RangeError)
        expect((defect as Error).message).toMatch(/UndiciHttpClient: options \(.*\) must be an object/)
      }
      const none = yield* Effect.exit(
        Effect.scoped(UndiciHttpClient.makeDispatcher(null as unknown as UndiciHttpClient.DispatcherOptions))
      )
      expect(Exit.isSuccess(none)).toBe(true)
    }))
})

// -----------------------------------------------------------------------------
// proxy and socketPath (0.2): each hostile value refused with a RangeError naming the option (never showing the
// URL, which may hold credentials), or documented as accepted
// -----------------------------------------------------------------------------

const defectOf = (options: UndiciHttpClient.DispatcherOptions) =>
  Effect.map(
    Effect.exit(Effect.scoped(UndiciHttpClient.makeDispatcher(options))),
    (exit) => Exit.isFailure(exit) ? Cause.squash(exit.cause) : "made"
  )

/** A GET to the loopback server through a dispatcher made of `options`: its body, or the failure's tag and reason. */
const getThrough = (options: UndiciHttpClient.DispatcherOptions) =>
  Effect.scoped(Effect.gen(function*() {
    const dispatcher = yield* UndiciHttpClient.makeDispatcher(options)
    const client = Attempt.classify(UndiciHttpClient.make(dispatcher))
    const response = yield* client.execute(HttpClientRequest.get(url))
    return yield* response.text
  })).pipe(
    Effect.catchAll((failure) => Effect.succeed(`${failure._tag} ${"reason" in failure ? failure.reason : ""}`)),
    Effect.timeout("5 seconds")
  )

describe("HostileOptions: UndiciHttpClient proxy", () => {
  const refused: ReadonlyArray<readonly [string, unknown, RegExp]> = [
    ["empty", "", /proxy is not a URL/],
    ["blank", "   ", /proxy is not a URL/],
    ["a space in the host", "http://pro xy.test:3128", /proxy is not a URL/],
    ["javascript:", "javascript:alert(1)", /proxy \(javascript:\) must be an http:, https:, socks5: or socks5h: URL/],
    ["a Redacted javascript:", Redacted.make("javascript:alert(1)"), /proxy \(javascript:\) must be an http:/],
    [
      "file: as a URL",
      new URL("file:///etc/passwd"),
      /proxy \(file:\) must be an http:, https:, socks5: or socks5h: URL/
    ],
    [
      "socks:",
      "socks://user:secret@proxy.test:1080",
      /proxy \(socks:\) is ambiguous \(SOCKS4 to curl, SOCKS5 to undici\)/
    ],
    ["socks4a:", "socks4a://user:secret@proxy.test:1080", /proxy \(socks4a:\) is SOCKS4, which is not supported/],
    ["socks5: port 0", "socks5://user:secret@proxy.test:0", /proxy has port 0/],
    ["socks5h: port 0", "socks5h://proxy.test:0", /proxy has port 0/],
    ["socks5: port 65536", "socks5://proxy.test:65536", /proxy is not a URL/],
    ["socks5: no host", "socks5://", /proxy has no host/],
    ["socks5h: no host, credentials", "socks5h://user:secret@:1080", /proxy (has no host|is not a URL)/],
    ["socks5: opaque", "socks5:proxy.test", /proxy has no host/],
    ["socks5: a percent-encoded host", "socks5://pro%78y.test:1080", /proxy has no host/],
    ["socks5: a path", "socks5://user:secret@proxy.test:1080/x", /proxy must name the proxy only/],
    ["socks5h: a query", "socks5h://user:secret@proxy.test:1080?secret", /proxy must name the proxy only/],
    ["socks5h: an empty query", "socks5h://proxy.test:1080?", /proxy must name the proxy only/],
    ["socks5h: a fragment", "socks5h://proxy.test:1080#secret", /proxy must name the proxy only/],
    [
      "socks5: bad percent-encoding",
      "socks5://us%zzer:secret@proxy.test:1080",
      /proxy has credentials that are not percent-encoded UTF-8/
    ],
    [
      "socks5: bad UTF-8",
      "socks5://user:%C3%28secret@proxy.test:1080",
      /proxy has credentials that are not percent-encoded UTF-8/
    ],
    ["socks5: a password, no user", "socks5://:secret@proxy.test:1080", /proxy has a password without a username/],
    [
      "socks5: a username of 256 bytes",
      `socks5://${"u".repeat(256)}:secret@proxy.test:1080`,
      /proxy has a username of 256 bytes \(SOCKS5 allows 255\)/
    ],
    [
      "socks5h: a password of 256 bytes (125 two-byte characters)",
      `socks5h://user:secret${"%C3%A9".repeat(125)}@proxy.test:1080`,
      /proxy has a password of 256 bytes \(SOCKS5 allows 255\)/
    ],
    [
      "socks5h: a Redacted URL with a long password",
      Redacted.make(`socks5h://user:${"s".repeat(300)}@proxy.test:1080`),
      /proxy has a password of 300 bytes/
    ],
    [
      "socks5h: a token",
      { url: "socks5h://proxy.test:1080", token: "Basic secret" },
      /proxy.url is a SOCKS5 proxy with a token/
    ],
    [
      "socks5h: forwardHttp",
      { url: "socks5h://proxy.test:1080", forwardHttp: true },
      /proxy.forwardHttp needs an http: proxy/
    ],
    [
      "forwardHttp of 1",
      { url: "http://proxy.test:3128", forwardHttp: 1 },
      /proxy.forwardHttp \(of type number\) must be true or false/
    ],
    ["no scheme", "proxy.test:3128", /proxy \(proxy.test:\) must be an http:, https:, socks5: or socks5h: URL/],
    ["an empty host", "http://:3128", /proxy is not a URL/],
    ["no host", "http://", /proxy is not a URL/],
    ["port 65536", "http://proxy.test:65536", /proxy is not a URL/],
    ["port -1", "http://proxy.test:-1", /proxy is not a URL/],
    ["port 0", "http://proxy.test:0", /proxy has port 0/],
    ["a path", "http://user:secret@proxy.test:3128/x", /proxy must name the proxy only/],
    ["a query", "http://proxy.test:3128?secret", /proxy must name the proxy only/],
    ["a number", 3128, /proxy \(of type number\) must be a URL string, a URL or a Redacted one/],
    ["an array", ["http://proxy.test:3128"], /proxy \(.*\) must be a URL string/],
    ["{ url } missing", {}, /proxy.url is missing/],
    ["{ url: null }", { url: null }, /proxy.url is missing/],
    ["{ url: 3 }", { url: 3 }, /proxy.url \(of type number\) must be a URL string/],
    ["a token with CRLF", { url: "http://proxy.test:3128", token: "Basic x\r\nX-Injected: yes" }, /proxy.token/],
    ["a token with NUL", { url: "http://proxy.test:3128", token: "Basic x\u0000" }, /proxy.token/],
    ["an empty token", { url: "http://proxy.test:3128", token: "" }, /proxy.token/],
    ["a token of 3", { url: "http://proxy.test:3128", token: 3 }, /proxy.token \(of type number\)/],
    ["credentials and a token", { url: "http://u:secret@proxy.test:3128", token: "Basic x" }, /give one of them/],
    ["noProxy with CRLF", { url: "http://proxy.test:3128", noProxy: "a\r\nb" }, /proxy.noProxy/],
    ["noProxy with NUL", { url: "http://proxy.test:3128", noProxy: "a\u0000" }, /proxy.noProxy/],
    ["noProxy of 3", { url: "http://proxy.test:3128", noProxy: 3 }, /proxy.noProxy \(of type number\)/],
    ["noProxy an array", { url: "http://proxy.test:3128", noProxy: ["a"] }, /proxy.noProxy/]
  ]
  it.effect("hostile proxy values are a RangeError naming the option, without the URL or its credentials", () =>
    Effect.gen(function*() {
      for (const [label, proxy, message] of refused) {
        const defect = yield* defectOf({ proxy } as UndiciHttpClient.DispatcherOptions)
        expect(defect, label).toBeInstanceOf(RangeError)
        expect((defect as Error).message, label).toMatch(message)
        expect((defect as Error).message, label).toMatch(/^UndiciHttpClient: proxy/)
        expect((defect as Error).message, label).not.toMatch(/secret|X-Injected|alert|passwd/)
      }
    }))

  it.effect("SOCKS5 credentials of 255 bytes each (RFC 1929's limit), and a user without a password, are accepted", () =>
    Effect.gen(function*() {
      for (
        const proxy of [
          `socks5h://${"u".repeat(255)}:${"p".repeat(255)}@proxy.test:1080`,
          `socks5://${"%C3%A9".repeat(127)}u:${"%C3%A9".repeat(127)}p@proxy.test:1080`,
          "socks5h://user@proxy.test:1080",
          Redacted.make("socks5h://user:pass@[::1]")
        ]
      ) {
        expect(yield* defectOf({ proxy }), String(proxy).slice(0, 40)).toBe("made")
      }
    }))

  it.effect("CR, LF and tab inside a proxy URL are removed by the URL parser (WHATWG), so it is accepted", () =>
    Effect.gen(function*() {
      for (const proxy of ["http://proxy.test:3128\r\n", "http://pro\r\nxy.test:3128", "\thttp://proxy.test:3128 "]) {
        expect(yield* defectOf({ proxy }), JSON.stringify(proxy)).toBe("made")
      }
    }))

  it.live("odd noProxy entries do not break the matching of the others; a list of commas bypasses nothing", () =>
    Effect.gen(function*() {
      // the proxy is 127.0.0.1:1, where nothing listens: a request that goes through it is Refused
      const proxy = (noProxy: string) => ({ proxy: { url: "http://127.0.0.1:1", noProxy } })
      const odd = ",, ,\t, *.example, [::1], host:99999, :, a b c, .., 127.0.0.1"
      expect(yield* getThrough(proxy(odd))).toBe("ok")
      expect(yield* getThrough(proxy(",,,"))).toBe("ConnectionError Refused")
      expect(yield* getThrough(proxy(""))).toBe("ConnectionError Refused")
      expect(yield* getThrough(proxy("*"))).toBe("ok")
    }))
})

describe("HostileOptions: UndiciHttpClient socketPath", () => {
  it.effect("empty, NUL, too long or not a string: a RangeError naming socketPath", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [unknown, RegExp]> = [
        ["", /socketPath \(of type string\) must be a non-empty path/],
        ["/tmp/a\u0000b.sock", /socketPath \(of type string\) must be a non-empty path/],
        ["\u0000abstract", /socketPath \(of type string\) must be a non-empty path/],
        [`/tmp/${"s".repeat(200)}`, /socketPath \(205 bytes\) must be at most 10[37] bytes/],
        [3, /socketPath \(of type number\) must be a non-empty path/],
        [{}, /socketPath \(of type object\) must be a non-empty path/]
      ]
      for (const [socketPath, message] of cases) {
        const defect = yield* defectOf({ socketPath } as UndiciHttpClient.DispatcherOptions)
        expect(defect, String(socketPath)).toBeInstanceOf(RangeError)
        expect((defect as Error).message).toMatch(message)
      }
      expect(yield* defectOf({ socketPath: null } as unknown as UndiciHttpClient.DispatcherOptions)).toBe("made")
    }))

  it.live("a relative socketPath is taken (against the working directory): a missing one is ConnectionError Refused", () =>
    Effect.gen(function*() {
      expect(yield* getThrough({ socketPath: "no/such/dir/x.sock" })).toBe("ConnectionError Refused")
    }))
})

// -----------------------------------------------------------------------------
// decompress and maxDecompressionRatio (0.2): each hostile value refused with a RangeError naming the option, or
// accepted and then answering
// -----------------------------------------------------------------------------

describe("HostileOptions: UndiciHttpClient decompress", () => {
  it.effect("decompress: not true, false or a non-empty list of codings is a RangeError naming it", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [unknown, RegExp]> = [
        ["gzip", /decompress \("gzip"\) must be true, false or a list of "gzip", "deflate", "br", "zstd"/],
        [1, /decompress \(1\) must be true, false or a list/],
        [{ gzip: true }, /decompress \(of type object\) must be true, false or a list/],
        [[], /decompress is an empty list/],
        [["gzip", "compress"], /decompress \("compress"\) must be true, false or a list/],
        [["GZIP"], /decompress \("GZIP"\) must be/],
        [["x-gzip"], /decompress \("x-gzip"\) must be/],
        [[null], /decompress \(null\) must be/],
        [["identity"], /decompress \("identity"\) must be/]
      ]
      for (const [decompress, message] of cases) {
        const defect = yield* defectOf({ decompress } as UndiciHttpClient.DispatcherOptions)
        expect(defect, String(decompress)).toBeInstanceOf(RangeError)
        expect((defect as Error).message, String(decompress)).toMatch(message)
        expect((defect as Error).message).toMatch(/^UndiciHttpClient: decompress/)
      }
      for (const decompress of [true, false, null, ["gzip"], ["br", "gzip", "br"]]) {
        expect(yield* defectOf({ decompress } as UndiciHttpClient.DispatcherOptions), String(decompress)).toBe("made")
      }
    }))

  it.effect("decompress: [\"zstd\"] is refused where Node's zlib has no zstd, taken where it has", () =>
    Effect.gen(function*() {
      const hasZstd = typeof (Zlib as Record<string, unknown>)["createZstdDecompress"] === "function"
      const defect = yield* defectOf({ decompress: ["zstd"] })
      if (hasZstd) {
        expect(defect).toBe("made")
      } else {
        expect(defect).toBeInstanceOf(RangeError)
        expect((defect as Error).message).toMatch(/decompress \("zstd"\) is not supported by this Node's zlib/)
      }
    }))

  it.effect("maxDecompressionRatio: under 1, NaN or not a number is a RangeError naming it; Infinity is no limit", () =>
    Effect.gen(function*() {
      for (const ratio of [0, 0.5, -1, -0, Number.NaN, -Infinity, "100", {}, true]) {
        const defect = yield* defectOf(
          { decompress: true, maxDecompressionRatio: ratio } as UndiciHttpClient.DispatcherOptions
        )
        expect(defect, String(ratio)).toBeInstanceOf(RangeError)
        expect((defect as Error).message, String(ratio)).toMatch(
          /^UndiciHttpClient: maxDecompressionRatio \(.*\) must be a number >= 1 \(Infinity: no limit\)$/
        )
        // checked whether decompress is on or not: a mistake is seen before it is turned on
        expect(yield* defectOf({ maxDecompressionRatio: ratio } as UndiciHttpClient.DispatcherOptions)).toBeInstanceOf(
          RangeError
        )
      }
      for (const ratio of [1, 1.5, 100, Infinity, Number.MAX_VALUE, null]) {
        expect(
          yield* defectOf({ decompress: true, maxDecompressionRatio: ratio } as UndiciHttpClient.DispatcherOptions),
          String(ratio)
        )
          .toBe("made")
      }
    }))

  it.live("decompress in layerConfig: a value out of range is a ConfigError naming it", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        Effect.scoped(Layer.build(
          UndiciHttpClient.layerConfig(
            Config.succeed({ decompress: "yes" } as unknown as UndiciHttpClient.DispatcherOptions)
          )
        ))
      )
      expect(Exit.isFailure(exit)).toBe(true)
      expect(String(Exit.isFailure(exit) ? Cause.squash(exit.cause) : "")).toMatch(/decompress \("yes"\)/)
      expect(yield* getThrough({ decompress: true, maxDecompressionRatio: 1 })).toBe("ok")
    }))
})
