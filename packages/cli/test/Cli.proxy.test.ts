// `sturdy get|post --proxy/-x, --noproxy, --unix-socket`, and the proxy of the environment (HTTP_PROXY, HTTPS_PROXY,
// NO_PROXY), which the command reads by default as curl does: against a real CONNECT proxy and servers on 127.0.0.1
// and a Unix socket in a temporary directory. A proxy's refusal exits 7 (Connection) unretried, a bad value exits 2
// (Usage) naming its flag or variable, and no output ever shows the proxy's credentials.
import { describe, expect, it } from "@effect/vitest"
import { ExitCode } from "@sturdy/cli"
import * as Effect from "effect/Effect"
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Os from "node:os"
import * as Path from "node:path"
import { startConnectProxy, withEnv } from "../../node/test/utils/connectProxy.js"
import { startSocks5Server } from "../../node/test/utils/socks5Server.js"
import { fastPolicy, loopback, sturdy } from "./utils.js"

const password = "cl1-pr0xy-s3cret"
const encoded = Buffer.from(`user:${password}`).toString("base64")

const expectNoSecret = (...texts: ReadonlyArray<string>) => {
  for (const text of texts) {
    expect(text).not.toContain(password)
    expect(text).not.toContain(encoded)
  }
}

const ok = (_: Http.IncomingMessage, response: Http.ServerResponse) => {
  response.writeHead(200, { "content-type": "application/json" })
  response.end(JSON.stringify({ ok: true }))
}

describe("sturdy get --proxy, --noproxy and the environment's proxy", () => {
  it.scopedLive("-x / --proxy: the request goes through the proxy's tunnel; credentials go to the proxy only", () =>
    Effect.gen(function*() {
      const proxy = yield* startConnectProxy()
      const api = yield* loopback(ok)
      const port = new URL(api.url).port
      const short = yield* withEnv({}, sturdy("get", `${api.url}/items`, "-x", proxy.url))
      expect(short.code).toBe(0)
      expect(JSON.parse(short.stdout)).toEqual({ ok: true })
      const withUser = proxy.url.replace("://", `://user:${password}@`)
      const long = yield* withEnv({}, sturdy("get", `${api.url}/items`, "--proxy", withUser, "--json"))
      expect(long.code).toBe(0)
      expect(proxy.seen.map((c) => [c.target, c.proxyAuthorization])).toEqual([
        [`127.0.0.1:${port}`, undefined],
        [`127.0.0.1:${port}`, `Basic ${encoded}`]
      ])
      expect(api.seen.map((s) => s.headers["proxy-authorization"])).toEqual([undefined, undefined])
      expectNoSecret(long.stdout, long.stderr)
      // no scheme: http://
      const bare = yield* withEnv({}, sturdy("get", `${api.url}/items`, "-x", `127.0.0.1:${proxy.port}`))
      expect(bare.code).toBe(0)
      expect(proxy.seen).toHaveLength(3)
    }))

  it.scopedLive("the environment's proxy by default, as curl; --proxy \"\" and --noproxy (or NO_PROXY) go direct", () =>
    Effect.gen(function*() {
      const proxy = yield* startConnectProxy()
      const api = yield* loopback(ok)
      const url = `${api.url}/items`
      const through = () => proxy.seen.length
      expect((yield* withEnv({ HTTP_PROXY: proxy.url }, sturdy("get", url))).code).toBe(0)
      expect(through()).toBe(1)
      expect((yield* withEnv({ http_proxy: proxy.url }, sturdy("get", url))).code).toBe(0)
      expect(through()).toBe(2)
      // HTTPS_PROXY is for https: URLs only
      expect((yield* withEnv({ HTTPS_PROXY: `http://127.0.0.1:1` }, sturdy("get", url))).code).toBe(0)
      expect(through()).toBe(2)
      expect((yield* withEnv({ HTTP_PROXY: proxy.url }, sturdy("get", url, "--proxy", ""))).code).toBe(0)
      expect((yield* withEnv({ HTTP_PROXY: proxy.url }, sturdy("get", url, "--noproxy", "127.0.0.1"))).code).toBe(0)
      expect((yield* withEnv({ HTTP_PROXY: proxy.url, NO_PROXY: "localhost,127.0.0.1" }, sturdy("get", url))).code)
        .toBe(0)
      expect((yield* withEnv({}, sturdy("get", url, "-x", proxy.url, "--noproxy", "*"))).code).toBe(0)
      expect(through()).toBe(2)
      // --noproxy replaces NO_PROXY
      expect(
        (yield* withEnv({ HTTP_PROXY: proxy.url, NO_PROXY: "*" }, sturdy("get", url, "--noproxy", "other")))
          .code
      ).toBe(0)
      expect(through()).toBe(3)
      expect(api.seen).toHaveLength(8)
    }))

  it.scopedLive("a proxy that answers CONNECT with 407 → Connection (7), said so, not retried, no credentials shown", () =>
    Effect.gen(function*() {
      const proxy = yield* startConnectProxy()
      proxy.verdict = () => ({ _tag: "Answer", status: 407 })
      const api = yield* loopback(ok)
      const withUser = proxy.url.replace("://", `://user:${password}@`)
      const ran = yield* withEnv({}, sturdy("post", `${api.url}/orders`, "-x", withUser, "--policy", fastPolicy()))
      expect(ran.code).toBe(ExitCode.codes.Connection)
      expect(ran.stderr).toContain("proxy authentication required (CONNECT answered 407)")
      expect(proxy.seen).toHaveLength(1)
      expect(api.seen).toHaveLength(0)
      expectNoSecret(ran.stdout, ran.stderr)
      const json = yield* withEnv({ HTTP_PROXY: withUser }, sturdy("get", `${api.url}/`, "--json", "--retries", "0"))
      expect(json.code).toBe(ExitCode.codes.Connection)
      expectNoSecret(json.stdout, json.stderr)
    }))

  it.scopedLive("a proxy that answers 502 then tunnels: a POST is retried and reaches the server once", () =>
    Effect.gen(function*() {
      const proxy = yield* startConnectProxy()
      proxy.verdict = (_, index) => index === 0 ? { _tag: "Answer", status: 502 } : { _tag: "Tunnel" }
      const api = yield* loopback(ok)
      const ran = yield* withEnv(
        {},
        sturdy("post", `${api.url}/orders`, "--data", "{}", "-x", proxy.url, "--policy", fastPolicy())
      )
      expect(ran.code).toBe(0)
      expect(proxy.seen).toHaveLength(2)
      expect(api.seen).toHaveLength(1)
    }))

  it.effect("a bad --proxy, --noproxy or proxy variable exits 2 (Usage) naming it, without the credentials", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [ReadonlyArray<string>, Partial<Record<string, string>>, string]> = [
        [["-x", `socks://user:${password}@127.0.0.1:1080`], {}, "--proxy (socks:) is ambiguous"],
        [["-x", `socks5h://user:${password}@127.0.0.1:1080/x`], {}, "--proxy must name the proxy only"],
        [["-x", `socks5h://${"u".repeat(256)}:${password}@127.0.0.1:1080`], {}, "--proxy has a username of 256 bytes"],
        [["--socks5", `user:${password}@127.0.0.1:0`], {}, "--socks5 has port 0"],
        [["--socks5-hostname", `socks5h://user:${password}@127.0.0.1`], {}, "--socks5-hostname takes HOST[:PORT]"],
        [["--socks5", "127.0.0.1:1080", "-x", "http://127.0.0.1:3128"], {}, "--proxy and --socks5 each name a proxy"],
        [
          ["--socks5", "127.0.0.1:1080", "--unix-socket", "/tmp/x"],
          {},
          "--unix-socket cannot be combined with --socks5"
        ],
        [["--socks5-hostname", "127.0.0.1:1080", "--proxy-forward"], {}, "--proxy-forward needs an http: proxy"],
        [["--proxy-forward"], {}, "--proxy-forward needs a proxy"],
        [
          [],
          { ALL_PROXY: `socks4://user:${password}@127.0.0.1` },
          "ALL_PROXY (from the environment) (socks4:) is SOCKS4"
        ],
        [["--proxy", `http://user:${password}@127.0.0.1:3128/path`], {}, "--proxy must name the proxy only"],
        [["--proxy", `http://user:${password}@[bad`], {}, "--proxy is not a URL"],
        [[], { HTTP_PROXY: `ftp://user:${password}@127.0.0.1` }, "HTTP_PROXY (from the environment) (ftp:) must be"],
        [["--unix-socket", "/tmp/x.sock", "-x", "http://127.0.0.1:3128"], {}, "--unix-socket cannot be combined"],
        [["--unix-socket", ""], {}, "--unix-socket (of type string) must be a non-empty path"]
      ]
      for (const [flags, vars, message] of cases) {
        const ran = yield* withEnv(vars, sturdy("get", "http://127.0.0.1:9/", ...flags))
        expect(ran.code, flags.join(" ")).toBe(ExitCode.codes.Usage)
        expect(ran.stderr, flags.join(" ")).toContain(message)
        expectNoSecret(ran.stdout, ran.stderr)
      }
    }))
})

describe("sturdy get through a SOCKS5 proxy, and --proxy-forward", () => {
  it.scopedLive("-x socks5h://, --socks5-hostname and --socks5: through the proxy, credentials to it only", () =>
    Effect.gen(function*() {
      const proxy = yield* startSocks5Server({ username: "user", password })
      const api = yield* loopback(ok)
      const port = Number(new URL(api.url).port)
      const at = `http://localhost:${port}/items`
      const withUser = `socks5h://user:${password}@127.0.0.1:${proxy.port}`
      const long = yield* withEnv({}, sturdy("get", at, "-x", withUser, "--json"))
      expect(long.code).toBe(0)
      expect(proxy.seen[0]).toMatchObject({ methods: [0, 2], username: "user", password, type: "domain" })
      expect(proxy.seen[0]).toMatchObject({ address: "localhost", port })
      expectNoSecret(long.stdout, long.stderr)
      const hostname = yield* withEnv(
        {},
        sturdy("get", at, "--socks5-hostname", `user:${password}@127.0.0.1:${proxy.port}`)
      )
      expect(hostname.code).toBe(0)
      expect(proxy.seen[1]).toMatchObject({ type: "domain", address: "localhost" })
      // --socks5: the name resolved here (localhost, from the hosts file), the proxy gets an address
      const local = yield* withEnv({}, sturdy("get", at, "--socks5", `user:${password}@127.0.0.1:${proxy.port}`))
      expect(local.code).toBe(0)
      expect(proxy.seen[2]?.type).not.toBe("domain")
      // ALL_PROXY, curl's proxy for every scheme, when HTTP_PROXY is unset
      const all = yield* withEnv({ ALL_PROXY: withUser }, sturdy("get", at))
      expect(all.code).toBe(0)
      expect(proxy.seen).toHaveLength(4)
      expect(api.seen).toHaveLength(4)
      expect(api.seen.map((s) => s.headers["proxy-authorization"])).toEqual([
        undefined,
        undefined,
        undefined,
        undefined
      ])
      expectNoSecret(hostname.stdout, hostname.stderr, local.stdout, local.stderr, all.stdout, all.stderr)
    }))

  it.scopedLive("a SOCKS5 proxy that refuses → Connection (7), the reply said; wrong credentials too, none shown", () =>
    Effect.gen(function*() {
      const proxy = yield* startSocks5Server({ username: "user", password })
      proxy.reply = () => 2
      const api = yield* loopback(ok)
      const url = `socks5h://user:${password}@127.0.0.1:${proxy.port}`
      const ran = yield* withEnv({}, sturdy("post", `${api.url}/orders`, "-x", url, "--policy", fastPolicy()))
      expect(ran.code).toBe(ExitCode.codes.Connection)
      expect(ran.stderr).toContain("SOCKS proxy refused the connection (reply 2: not allowed by ruleset)")
      expect(proxy.seen).toHaveLength(1)
      expectNoSecret(ran.stdout, ran.stderr)
      const wrong = yield* withEnv(
        {},
        sturdy("get", `${api.url}/`, "-x", `socks5h://user:x${password}@127.0.0.1:${proxy.port}`, "--json")
      )
      expect(wrong.code).toBe(ExitCode.codes.Connection)
      expect(wrong.stdout + wrong.stderr).toContain("SOCKS proxy authentication failed")
      expectNoSecret(wrong.stdout, wrong.stderr)
      expect(api.seen).toHaveLength(0)
    }))

  it.scopedLive("--proxy-forward: an http: URL is forwarded in absolute form, with the credentials to the proxy only", () =>
    Effect.gen(function*() {
      const proxy = yield* startConnectProxy(undefined, { forward: true })
      const api = yield* loopback(ok)
      const withUser = proxy.url.replace("://", `://user:${password}@`)
      const ran = yield* withEnv({ HTTP_PROXY: withUser }, sturdy("get", `${api.url}/items`, "--proxy-forward"))
      expect(ran.code).toBe(0)
      expect(proxy.forwarded).toEqual([
        {
          requestLine: `GET ${api.url}/items HTTP/1.1`,
          proxyAuthorization: `Basic ${encoded}`,
          authorization: undefined
        }
      ])
      expect(proxy.seen).toEqual([])
      expect(api.seen.map((s) => s.headers["proxy-authorization"])).toEqual([undefined])
      expectNoSecret(ran.stdout, ran.stderr)
    }))
})

describe("sturdy get --unix-socket", () => {
  it.scopedLive("a server on a Unix socket: 200 with the URL's host as Host; a missing socket → Connection (7)", () =>
    Effect.gen(function*() {
      const directory = Fs.mkdtempSync(Path.join(Os.tmpdir(), "sturdy-cli-unix-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(directory, { recursive: true, force: true })))
      const socket = Path.join(directory, "api.sock")
      const hosts: Array<string | undefined> = []
      const server = Http.createServer((request, response) => {
        hosts.push(request.headers.host)
        ok(request, response)
      })
      yield* Effect.acquireRelease(
        Effect.async<void>((resume) => {
          server.listen(socket, () => resume(Effect.void))
        }),
        () =>
          Effect.async<void>((resume) => {
            server.close(() => resume(Effect.void))
          })
      )
      // the environment's proxy does not apply to a socket
      const ran = yield* withEnv(
        { HTTP_PROXY: "http://127.0.0.1:1" },
        sturdy("get", "http://docker/_ping", "--unix-socket", socket)
      )
      expect(ran.code).toBe(0)
      expect(JSON.parse(ran.stdout)).toEqual({ ok: true })
      expect(hosts).toEqual(["docker"])
      const missing = yield* withEnv(
        {},
        sturdy("get", "http://docker/_ping", "--unix-socket", Path.join(directory, "none.sock"), "--retries", "0")
      )
      expect(missing.code).toBe(ExitCode.codes.Connection)
      expect(missing.stderr).toContain("ConnectionError (Refused)")
    }))
})
