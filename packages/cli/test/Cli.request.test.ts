import { describe, expect, it } from "@effect/vitest"
import { ExitCode } from "@sturdy/cli"
import { FaultScript, FaultServer } from "@sturdy/testing"
import * as Effect from "effect/Effect"
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Http2 from "node:http2"
import * as Https from "node:https"
import type * as Net from "node:net"
import * as Path from "node:path"
import * as Zlib from "node:zlib"
import { silentListener } from "../../../test/utils/loopbackServer.js"
import * as request from "../src/internal/request.js"
import { fastPolicy, loopback, sturdy, tempFile } from "./utils.js"

const server = (routes: Parameters<typeof FaultScript.routes>[0]) => FaultServer.make(FaultScript.routes(routes))

/** A loopback port nobody listens on: bound, then closed. */
const closedPort = Effect.promise(() =>
  new Promise<number>((resolve) => {
    const probe = Http.createServer()
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      probe.close(() => resolve(port))
    })
  })
)

const itemSchema = {
  type: "object",
  properties: { id: { type: "integer" }, name: { type: "string" }, tags: { type: "array", items: { type: "string" } } },
  required: ["id", "name"]
}

/**
 * `sturdy post` with one retry to an HTTPS port on 127.0.0.1 whose listener never answers the handshake: no request is
 * ever written to it.
 */
const postToSilentHost = (...flags: ReadonlyArray<string>) =>
  Effect.flatMap(silentListener(), (port) =>
    sturdy(
      "post",
      `https://127.0.0.1:${port}/orders`,
      "--data",
      "{}",
      "--policy",
      fastPolicy(),
      "--retries",
      "1",
      ...flags
    ))

describe("sturdy get|post|...", () => {
  it.scopedLive("retries a flaky server (503, 503, 200), shows each attempt and prints the body", () =>
    Effect.gen(function*() {
      const api = yield* server({
        "GET /items": FaultScript.sequence(
          FaultScript.status(503),
          FaultScript.status(503),
          FaultScript.json({ items: [1, 2] })
        )
      })
      const ran = yield* sturdy("get", `${api.url}/items`, "--policy", fastPolicy())
      expect(ran.code).toBe(0)
      expect(JSON.parse(ran.stdout)).toEqual({ items: [1, 2] })
      const lines = ran.stderr.split("\n")
      expect(lines.filter((line) => /^\s+#\d/.test(line))).toHaveLength(3)
      expect(lines.filter((line) => line.includes("503 ServerError"))).toHaveLength(2)
      expect(lines.filter((line) => /retry in \d+ms \(backoff\)/.test(line))).toHaveLength(2)
      expect(lines.some((line) => /#3\s+\+\d+ms\s+200 OK/.test(line))).toBe(true)
      expect(ran.stderr).toMatch(/→ 200 in .* after 3 attempts/)
      expect(yield* api.requests).toHaveLength(3)
    }))

  it.scopedLive("waits the server's Retry-After before the next attempt", () =>
    Effect.gen(function*() {
      const api = yield* server({
        "GET /busy": FaultScript.sequence(FaultScript.status(503, { retryAfter: 1 }), FaultScript.json({ ok: true }))
      })
      const ran = yield* sturdy("get", `${api.url}/busy`, "--policy", fastPolicy())
      expect(ran.code).toBe(0)
      expect(ran.stderr).toMatch(/retry in 1(\.\d+)?s \(retry-after\)/)
      const requests = yield* api.requests
      expect(requests).toHaveLength(2)
      expect(requests[1].arrivedAt - requests[0].arrivedAt).toBeGreaterThanOrEqual(1_000)
    }))

  it.scopedLive("--json prints status, attempts, timing and the body as one JSON document", () =>
    Effect.gen(function*() {
      const api = yield* server({
        "GET /items/1": FaultScript.sequence(FaultScript.status(500), FaultScript.json({ id: 1, name: "a" }))
      })
      const ran = yield* sturdy("get", `${api.url}/items/1`, "--policy", fastPolicy(), "--json")
      expect(ran.code).toBe(0)
      const result = JSON.parse(ran.stdout)
      expect(result).toMatchObject({ ok: true, exitCode: 0, status: 200, body: { id: 1, name: "a" } })
      expect(result.attempts).toHaveLength(2)
      expect(result.attempts[0]).toMatchObject({ attempt: 1, status: 500, next: { retrying: true, reason: "backoff" } })
      expect(result.attempts[1]).toMatchObject({ attempt: 2, status: 200, next: null })
      expect(result.elapsedMs).toBeGreaterThanOrEqual(result.attempts[1].startedAtMs)
    }))

  it.scopedLive("sends --header and --data, and a POST is not retried after a 503 that may have reached the server", () =>
    Effect.gen(function*() {
      const api = yield* server({ "POST /orders": FaultScript.status(503) })
      const ran = yield* sturdy(
        "post",
        `${api.url}/orders`,
        "--header",
        "x-trace: abc",
        "--data",
        "{\"sku\":\"A-1\"}",
        "--policy",
        fastPolicy()
      )
      expect(ran.code).toBe(ExitCode.codes.ServerError)
      expect(ran.stderr).toContain("giving up (not retryable)")
      const requests = yield* api.requests
      expect(requests).toHaveLength(1)
      expect(requests[0].headers["x-trace"]).toBe("abc")
      expect(requests[0].headers["content-type"]).toBe("application/json")
    }))

  it.scopedLive("keeps a secret query parameter out of the timeline and the JSON result", () =>
    Effect.gen(function*() {
      const api = yield* server({ "GET /items": FaultScript.json({ ok: true }) })
      const ran = yield* sturdy("get", `${api.url}/items?api_key=hunter2`, "--policy", "none", "--json")
      expect(ran.code).toBe(0)
      expect(ran.stderr).not.toContain("hunter2")
      expect(ran.stdout).not.toContain("hunter2")
      expect((yield* api.requests)[0].path).toBe("/items?api_key=hunter2")
    }))

  it.scopedLive("no secret in the output, whatever the failure: headers, query, user info and fragment", () =>
    Effect.gen(function*() {
      const secrets = ["CLI-BEARER-1a2b", "CLI-APIKEY-3c4d", "CLI-JWT-5e6f", "CLI-USERPW-7a8b", "CLI-FRAG-9c0d"]
      // a hostile server: every answer echoes the request head and carries an OAuth code in Location
      const echo = (status: number) => (request: Http.IncomingMessage, response: Http.ServerResponse) => {
        const head = `${request.method} ${request.url}\n${
          Object.entries(request.headers).map(([k, v]) => `${k}: ${v}`).join("\n")
        }`
        response.writeHead(status, {
          "content-type": status === 299 ? "application/json" : "text/plain",
          location: "https://app.test/cb?code=CLI-CODE-e1f2",
          "set-cookie": "session=CLI-SETCOOKIE-a3b4"
        })
        response.end(status === 299 ? `{"echo": ${JSON.stringify(head)}` : head)
      }
      const routes: Record<string, (req: Http.IncomingMessage, res: Http.ServerResponse) => void> = {
        "/unauthorized": echo(401),
        "/broken": echo(500),
        "/moved": echo(302),
        "/invalid": echo(299),
        "/ok": echo(200),
        "/hang": () => {}
      }
      const listener = yield* Effect.acquireRelease(
        Effect.async<Http.Server>((resume) => {
          const s = Http.createServer((req, res) => routes[(req.url ?? "/").split("?")[0]]?.(req, res))
          s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
        }),
        (s) =>
          Effect.async<void>((resume) => {
            s.closeAllConnections()
            s.close(() => resume(Effect.void))
          })
      )
      const port = (listener.address() as Net.AddressInfo).port
      const closed = yield* closedPort
      const leaked = ["CLI-CODE-e1f2", "CLI-SETCOOKIE-a3b4", ...secrets]
      for (
        const [path, code] of [
          ["/unauthorized", 4],
          ["/broken", 5],
          ["/moved", 9],
          ["/invalid", 10],
          ["/hang", 8],
          ["/ok", 0]
        ] as const
      ) {
        for (const json of [[], ["--json"]]) {
          const ran = yield* sturdy(
            "get",
            `http://ada:${secrets[3]}@127.0.0.1:${port}${path}?jwt=${secrets[2]}&page=1#${secrets[4]}`,
            "--header",
            `Authorization: Bearer ${secrets[0]}`,
            "--header",
            `X-Api-Key: ${secrets[1]}`,
            "--policy",
            "none",
            "--timeout",
            "300ms",
            ...json
          )
          expect([path, ran.code]).toEqual([path, code])
          const output = ran.stdout + ran.stderr
          // a successful body is the user's to see; everything else is checked
          const checked = path !== "/ok"
            ? output
            : json.length === 0
            ? ran.stderr
            : ran.stderr + JSON.stringify({ ...JSON.parse(ran.stdout), body: null })
          for (const secret of leaked) expect([path, json, checked.includes(secret)]).toEqual([path, json, false])
        }
      }
      const refused = yield* sturdy(
        "get",
        `http://ada:${secrets[3]}@127.0.0.1:${closed}/x?jwt=${secrets[2]}#${secrets[4]}`,
        "--header",
        `X-Api-Key: ${secrets[1]}`,
        "--policy",
        "none",
        "--json"
      )
      expect(refused.code).toBe(7)
      for (const secret of secrets) expect(refused.stdout + refused.stderr).not.toContain(secret)
    }))

  it.scopedLive("--compressed: asks for gzip, deflate, br and prints the decoded body; without it, none is asked", () =>
    Effect.gen(function*() {
      const api = yield* loopback((request, response) => {
        const accept = request.headers["accept-encoding"]
        if (accept !== undefined && accept.includes("gzip")) {
          response.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" })
          response.end(Zlib.gzipSync(JSON.stringify({ compressed: true })))
        } else {
          response.writeHead(200, { "content-type": "application/json" })
          response.end(JSON.stringify({ compressed: false }))
        }
      })
      const compressed = yield* sturdy("get", `${api.url}/items`, "--compressed", "--policy", "none")
      expect(compressed.code).toBe(0)
      expect(JSON.parse(compressed.stdout)).toEqual({ compressed: true })
      const plain = yield* sturdy("get", `${api.url}/items`, "--policy", "none")
      expect(plain.code).toBe(0)
      expect(JSON.parse(plain.stdout)).toEqual({ compressed: false })
      // a header of the caller's own is sent as it is (curl keeps -H too)
      const own = yield* sturdy(
        "get",
        `${api.url}/items`,
        "--compressed",
        "--header",
        "Accept-Encoding: identity",
        "--policy",
        "none"
      )
      expect(JSON.parse(own.stdout)).toEqual({ compressed: false })
      // zstd too where Node's zlib has it
      expect(api.seen.map((seen) => seen.headers["accept-encoding"]?.replace(", zstd", ""))).toEqual([
        "gzip, deflate, br",
        undefined,
        "identity"
      ])
    }))

  it.scopedLive("HEAD prints no body", () =>
    Effect.gen(function*() {
      const api = yield* server({ "HEAD /health": FaultScript.status(200) })
      const ran = yield* sturdy("head", `${api.url}/health`, "--policy", "none")
      expect(ran.code).toBe(0)
      expect(ran.stdout).toBe("")
    }))

  it.scopedLive("--schema with a JSON Schema file accepts a matching body", () =>
    Effect.gen(function*() {
      const api = yield* server({ "GET /items/1": FaultScript.json({ id: 1, name: "a", tags: ["x"] }) })
      const ran = yield* sturdy("get", `${api.url}/items/1`, "--schema", tempFile("item.json", itemSchema))
      expect(ran.code).toBe(0)
      expect(JSON.parse(ran.stdout)).toEqual({ id: 1, name: "a", tags: ["x"] })
    }))

  it.scopedLive("--schema with a TypeScript module exporting an Effect Schema", () =>
    Effect.gen(function*() {
      const api = yield* server({ "GET /items/1": FaultScript.json({ id: "one", name: "a" }) })
      const ran = yield* sturdy(
        "get",
        `${api.url}/items/1`,
        "--schema",
        Path.join(import.meta.dirname, "fixtures", "item-schema.ts")
      )
      expect(ran.code).toBe(ExitCode.codes.SchemaMismatch)
      expect(ran.stderr).toContain("$.id")
    }))

  it.scopedLive("--schema with a JavaScript module whose default export is an Effect Schema", () =>
    Effect.gen(function*() {
      const api = yield* server({ "GET /items/1": FaultScript.json({ id: 1, name: "a" }) })
      const schema = Path.join(import.meta.dirname, "fixtures", "item-default.mjs")
      const ran = yield* sturdy("get", `${api.url}/items/1`, "--schema", schema, "--json")
      expect(ran.code).toBe(0)
      expect(JSON.parse(ran.stdout).body).toEqual({ id: 1, name: "a" })
      const notASchema = yield* sturdy(
        "get",
        `${api.url}/items/1`,
        "--schema",
        Path.join(import.meta.dirname, "utils.ts")
      )
      expect(notASchema.code).toBe(ExitCode.codes.Usage)
      expect(notASchema.stderr).toContain("exports no Effect Schema")
    }))
})

describe("exit codes", () => {
  it.scopedLive("404 → ClientError (4), not retried", () =>
    Effect.gen(function*() {
      const api = yield* server({ "GET /missing": FaultScript.status(404) })
      const ran = yield* sturdy("get", `${api.url}/missing`, "--policy", fastPolicy())
      expect(ran.code).toBe(ExitCode.codes.ClientError)
      expect(ran.code).toBe(4)
      expect(yield* api.requests).toHaveLength(1)
    }))

  it.scopedLive("429 → RateLimited (6)", () =>
    Effect.gen(function*() {
      const api = yield* server({ "GET /limited": FaultScript.status(429) })
      const ran = yield* sturdy("get", `${api.url}/limited`, "--policy", "none")
      expect(ran.code).toBe(ExitCode.codes.RateLimited)
      expect(ran.code).toBe(6)
    }))

  it.scopedLive("500 after the retries → ServerError (5)", () =>
    Effect.gen(function*() {
      const api = yield* server({ "GET /broken": FaultScript.status(500) })
      const ran = yield* sturdy("get", `${api.url}/broken`, "--policy", fastPolicy(), "--retries", "1")
      expect(ran.code).toBe(ExitCode.codes.ServerError)
      expect(ran.code).toBe(5)
      expect(ran.stderr).toContain("giving up (attempts exhausted)")
      expect(yield* api.requests).toHaveLength(2)
    }))

  it.scopedLive("refused connection → Connection (7)", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const ran = yield* sturdy("get", `http://127.0.0.1:${port}/`, "--policy", fastPolicy(), "--retries", "1")
      expect(ran.code).toBe(ExitCode.codes.Connection)
      expect(ran.code).toBe(7)
      expect(ran.stderr.match(/ConnectionError \(Refused\)/g)).toHaveLength(2)
    }))

  it.scopedLive("a hanging server and --timeout → Timeout (8)", () =>
    Effect.gen(function*() {
      const api = yield* server({ "GET /slow": FaultScript.hang })
      const ran = yield* sturdy("get", `${api.url}/slow`, "--policy", "none", "--timeout", "200ms")
      expect(ran.code).toBe(ExitCode.codes.Timeout)
      expect(ran.code).toBe(8)
      // the transport enforces the attempt timeout itself: the attempt ends as a failure, not interrupted
      expect(ran.stderr).toContain("Timeout (Attempt)")
    }))

  it.scopedLive("--timeout shorter than a TLS handshake that never ends: a POST is retried, each attempt not sent", () =>
    Effect.gen(function*() {
      const ran = yield* postToSilentHost("--timeout", "100ms")
      expect(ran.code).toBe(ExitCode.codes.Timeout)
      expect(ran.stderr.match(/Timeout \(Attempt, not sent\)/g)).toHaveLength(2)
    }))

  it.scopedLive("--connect-timeout: a handshake that never ends is a ConnectionError (ConnectTimeout), retried for a POST", () =>
    Effect.gen(function*() {
      const ran = yield* postToSilentHost("--timeout", "20s", "--connect-timeout", "100ms")
      expect(ran.code).toBe(ExitCode.codes.Connection)
      expect(ran.stderr.match(/ConnectionError \(ConnectTimeout\)/g)).toHaveLength(2)
      // refused before anything is sent
      const bad = yield* sturdy("get", "https://127.0.0.1:9/", "--connect-timeout", "soon")
      expect(bad.code).toBe(ExitCode.codes.Usage)
      expect(bad.stderr).toContain("--connect-timeout")
    }))

  it.scopedLive("--deadline on a hanging server → Timeout (8)", () =>
    Effect.gen(function*() {
      const api = yield* server({ "GET /slow": FaultScript.hang })
      const ran = yield* sturdy("get", `${api.url}/slow`, "--policy", "none", "--deadline", "300ms")
      expect(ran.code).toBe(ExitCode.codes.Timeout)
      expect(ran.stderr).toContain("deadline timed out after 300ms")
    }))

  it.scopedLive("a retry that would start past --deadline is not made: the server's failure is reported at once", () =>
    Effect.gen(function*() {
      const api = yield* server({ "GET /down": FaultScript.status(503) })
      const policy = tempFile("slow-backoff.json", { retry: { baseDelay: "1s", jitter: "none" } })
      const ran = yield* sturdy("get", `${api.url}/down`, "--policy", policy, "--deadline", "500ms", "--json")
      expect(ran.code).toBe(ExitCode.codes.ServerError)
      expect(ran.stderr).toContain("giving up: the next attempt (in 1s) would start past the deadline (deadline)")
      const result = JSON.parse(ran.stdout)
      expect(result).toMatchObject({
        ok: false,
        exitCode: 5,
        status: 503,
        error: { tag: "ServerError", kind: "ServerError" }
      })
      expect(result.attempts).toEqual([
        expect.objectContaining({
          attempt: 1,
          status: 503,
          next: { retrying: false, delayMs: 1_000, reason: "deadline" }
        })
      ])
      expect(result.elapsedMs).toBeLessThan(1_000)
      expect(yield* api.requests).toHaveLength(1)
    }))

  it.scopedLive("invalid JSON → InvalidResponse (10)", () =>
    Effect.gen(function*() {
      const api = yield* server({ "GET /garbled": FaultScript.malformedJson() })
      const ran = yield* sturdy("get", `${api.url}/garbled`)
      expect(ran.code).toBe(ExitCode.codes.InvalidResponse)
      expect(ran.code).toBe(10)
      expect(yield* api.requests).toHaveLength(1)
    }))

  it.scopedLive("schema mismatch → SchemaMismatch (11), with the path in the message", () =>
    Effect.gen(function*() {
      const api = yield* server({ "GET /items/1": FaultScript.json({ id: 1, name: 42 }) })
      const ran = yield* sturdy("get", `${api.url}/items/1`, "--schema", tempFile("item.json", itemSchema))
      expect(ran.code).toBe(ExitCode.codes.SchemaMismatch)
      expect(ran.code).toBe(11)
      expect(ran.stderr).toContain("$.name")
    }))

  it.scopedLive("an open circuit breaker → CircuitOpen (13)", () =>
    Effect.gen(function*() {
      const api = yield* server({ "GET /down": FaultScript.status(503) })
      const policy = fastPolicy({ circuitBreaker: { consecutiveFailures: 1, breakDuration: "1m" } })
      const ran = yield* sturdy("get", `${api.url}/down`, "--policy", policy)
      expect(ran.code).toBe(ExitCode.codes.CircuitOpen)
      expect(ran.code).toBe(13)
      expect(ran.stderr).toContain("not sent")
      expect(yield* api.requests).toHaveLength(1)
    }))

  it.effect("a malformed URL → InvalidRequest (3)", () =>
    Effect.gen(function*() {
      const ran = yield* sturdy("get", "not a url", "--policy", "none")
      expect(ran.code).toBe(ExitCode.codes.InvalidRequest)
      expect(ran.code).toBe(3)
    }))

  it.scopedLive("a file:, data: or ftp: URL → InvalidRequest (3) before anything is sent", () =>
    Effect.gen(function*() {
      // a TCP listener that counts connections: nothing may reach it
      let connections = 0
      const port = yield* silentListener((socket) => {
        connections++
        socket.destroy()
      })
      for (
        const url of [
          "file:///etc/passwd",
          "data:application/json,{}",
          `ftp://127.0.0.1:${port}/items?token=CLI-SCHEME-TOKEN`,
          `ws://127.0.0.1:${port}/`
        ]
      ) {
        const ran = yield* sturdy("get", url, "--policy", "standard", "--json")
        expect([url, ran.code]).toEqual([url, ExitCode.codes.InvalidRequest])
        expect(ran.stderr).toContain("is not http or https")
        expect(ran.stderr + ran.stdout).not.toContain("CLI-SCHEME-TOKEN")
        expect(JSON.parse(ran.stdout)).toMatchObject({ ok: false, exitCode: 3, error: { tag: "InvalidRequest" } })
      }
      expect(connections).toBe(0)
    }))

  it.effect("an absurdly nested policy file → Usage (2) with a one-line reason", () =>
    Effect.gen(function*() {
      const url = "http://127.0.0.1:1/"
      for (const [open, close] of [["[", "]"], [`{"a":`, "}"]]) {
        const deep = tempFile("deep.json", `{"retry":${open.repeat(5_000)}1${close.repeat(5_000)}}`)
        const ran = yield* sturdy("get", url, "--policy", deep)
        expect(ran.code).toBe(ExitCode.codes.Usage)
        expect(ran.stderr.trim().split("\n")).toHaveLength(1)
        expect(ran.stderr).toContain("nested deeper than 32 levels")
      }
      // shallow nesting is still read and checked as a policy
      const shallow = yield* sturdy("get", url, "--policy", tempFile("p.json", { retry: [[[1]]] }))
      expect(shallow.code).toBe(ExitCode.codes.Usage)
      expect(shallow.stderr).not.toContain("nested deeper")
    }))

  it.effect("usage errors → Usage (2): bad duration, bad header, bad --data, unknown policy file, invalid policy, bad --retries", () =>
    Effect.gen(function*() {
      const url = "http://127.0.0.1:1/"
      const badDuration = yield* sturdy("get", url, "--timeout", "soon")
      expect(badDuration.code).toBe(2)
      expect(badDuration.stderr).toContain("invalid duration")
      const badHeader = yield* sturdy("get", url, "--header", "no-colon")
      expect(badHeader.code).toBe(2)
      const badData = yield* sturdy("post", url, "--data", "{nope")
      expect(badData.code).toBe(2)
      expect(badData.stderr).toContain("--data is not valid JSON")
      const missingFile = yield* sturdy("get", url, "--policy", "/nonexistent/policy.json")
      expect(missingFile.code).toBe(2)
      const typo = yield* sturdy("get", url, "--policy", tempFile("p.json", { retyr: {} }))
      expect(typo.code).toBe(2)
      expect(typo.stderr).toContain("retyr")
      const tooFew = yield* sturdy("get", url, "--retries", "-2")
      expect(tooFew.code).toBe(2)
      // named by the flag the user gave, not by the policy option it sets
      expect(tooFew.stderr).toContain("--retries -2: must be 0 or more")
      expect(tooFew.stderr).not.toContain("retry.maxAttempts")
      const headWithBody = yield* sturdy("head", url, "--data", "{}")
      expect(headWithBody.code).toBe(2)
      expect(headWithBody.stderr).toContain("--data: a HEAD request carries no body")
      const unknownOption = yield* sturdy("get", url, "--frobnicate")
      expect(unknownOption.code).toBe(2)
    }))
})

describe("sturdy get|post|... takes the request as the user gives it", () => {
  const ok =
    (contentType: string, body: string | Uint8Array) => (_: Http.IncomingMessage, res: Http.ServerResponse) => {
      res.writeHead(200, { "content-type": contentType })
      res.end(body)
    }

  it.scopedLive("--json on success redacts the request's credentials wherever a response header echoes them", () =>
    Effect.gen(function*() {
      const bearer = "CLI-ECHO-BEARER-5f6a"
      const apiKey = "CLI-ECHO-APIKEY-7b8c"
      const api = yield* loopback((req, res) => {
        res.writeHead(200, {
          "content-type": "application/json",
          "x-echo": `auth=${String(req.headers.authorization)}; key=${String(req.headers["x-api-key"])}`,
          location: `http://127.0.0.1/cb?state=${String(req.headers["x-api-key"])}`
        })
        res.end("{}")
      })
      const ran = yield* sturdy(
        "get",
        `${api.url}/x`,
        "-H",
        `Authorization: Bearer ${bearer}`,
        "-H",
        `X-Api-Key: ${apiKey}`,
        "--policy",
        "none",
        "--json"
      )
      expect(ran.code).toBe(0)
      expect(ran.stdout).not.toContain(bearer)
      expect(ran.stdout).not.toContain(apiKey)
      const headers = JSON.parse(ran.stdout).headers
      expect(headers["x-echo"]).toContain("<redacted>")
      expect(headers.location).toContain("http://127.0.0.1/cb?state=")
    }))

  it.scopedLive("a body that is not UTF-8 is written byte for byte; a text body still goes through the console", () =>
    Effect.gen(function*() {
      const binary = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff, 0xfe, 0x80, 0xc3, 0x28])
      const api = yield* loopback((req, res) =>
        req.url === "/png" ? ok("image/png", binary)(req, res) : ok("text/plain", "héllo")(req, res)
      )
      const written: Array<Uint8Array> = []
      const capture = (bytes: Uint8Array) => Effect.sync(() => void written.push(bytes))
      const png = yield* sturdy("get", `${api.url}/png`, "--policy", "none").pipe(
        Effect.provideService(request.BinaryOutput, capture)
      )
      expect(png.code).toBe(0)
      expect(png.stdout).toBe("")
      expect(written.map((bytes) => Buffer.from(bytes).toString("hex"))).toEqual([Buffer.from(binary).toString("hex")])
      const text = yield* sturdy("get", `${api.url}/text`, "--policy", "none").pipe(
        Effect.provideService(request.BinaryOutput, capture)
      )
      expect([text.code, text.stdout, written.length]).toEqual([0, "héllo", 1])
    }))

  it.scopedLive("the user's Accept and Content-Type are sent as given; Accept defaults to application/json", () =>
    Effect.gen(function*() {
      const api = yield* loopback(ok("text/plain", "a,b"))
      const csv = yield* sturdy("get", `${api.url}/x`, "--policy", "none", "-H", "accept: text/csv")
      expect(csv.code).toBe(0)
      const patch = yield* sturdy(
        "patch",
        `${api.url}/x`,
        "--policy",
        "none",
        "-H",
        "Content-Type: application/merge-patch+json",
        "--data",
        "{\"a\":null}"
      )
      expect(patch.code).toBe(0)
      const plain = yield* sturdy("post", `${api.url}/x`, "--policy", "none", "--data", "{}")
      expect(plain.code).toBe(0)
      expect(api.seen.map((seen) => [seen.headers.accept, seen.headers["content-type"], seen.body])).toEqual([
        ["text/csv", undefined, ""],
        ["application/json", "application/merge-patch+json", "{\"a\":null}"],
        ["application/json", "application/json", "{}"]
      ])
    }))

  it.scopedLive("a header given twice is sent with both values (Cookie pairs joined with '; ')", () =>
    Effect.gen(function*() {
      const api = yield* loopback(ok("text/plain", ""))
      const ran = yield* sturdy(
        "get",
        `${api.url}/x`,
        "--policy",
        "none",
        "-H",
        "X-Tag: one",
        "-H",
        "x-tag: two",
        "-H",
        "Cookie: a=1",
        "-H",
        "Cookie: b=2"
      )
      expect(ran.code).toBe(0)
      expect(api.seen[0].headers["x-tag"]).toBe("one, two")
      expect(api.seen[0].headers.cookie).toBe("a=1; b=2")
    }))

  it.effect("a malformed --header names its first word at most, never the credential", () =>
    Effect.gen(function*() {
      const url = "http://127.0.0.1:1/"
      const secret = "CLI-NOCOLON-SECRET-9d0e"
      for (
        const header of [`Authorization Bearer ${secret}`, secret, `Authorization Bearer ${secret}:x`, `: ${secret}`]
      ) {
        const ran = yield* sturdy("get", url, "--header", header)
        expect([header, ran.code]).toEqual([header, 2])
        expect(ran.stderr).not.toContain(secret)
        expect(ran.stderr).toContain("expected NAME:VALUE")
      }
      const named = yield* sturdy("get", url, "--header", `Authorization Bearer ${secret}`)
      expect(named.stderr).toContain("--header \"Authorization …\"")
    }))

  it.effect("--timeout: long or none keeps the standard policy valid; past the timer limit it is refused by name", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const url = `http://127.0.0.1:${port}/`
      for (const timeout of ["300h", "none", "infinity"]) {
        const ran = yield* sturdy("get", url, "--timeout", timeout, "--retries", "0")
        expect([timeout, ran.code, ran.stderr]).toEqual([timeout, 7, expect.stringContaining("ConnectionError")])
      }
      const long = yield* sturdy("get", url, "--timeout", "300h", "--retries", "0")
      expect(long.stderr.split("\n")[0]).not.toContain("circuit breaker")
      // the policy line names every stage that is on: the standard policy's bulkhead, no rate limit, no hedging
      expect(long.stderr.split("\n")[0]).toMatch(/\(policy standard: 1 attempt, .*bulkhead\)$/)
      const tooLong = yield* sturdy("get", url, "--timeout", "600h")
      expect(tooLong.code).toBe(2)
      expect(tooLong.stderr).toContain("--timeout 600h: at most 596h")
      expect(tooLong.stderr).not.toContain("circuitBreaker")
      const deadline = yield* sturdy("get", url, "--deadline", "1000h")
      expect(deadline.code).toBe(2)
      expect(deadline.stderr).toContain("--deadline 1000h: at most 596h")
    }))

  it.effect("an invalid policy file is one short line, a path and a problem each", () =>
    Effect.gen(function*() {
      const url = "http://127.0.0.1:1/"
      const ran = yield* sturdy(
        "get",
        url,
        "--policy",
        tempFile("p.json", { retry: { maxAtempts: 3, jitter: "wild" }, circuitBreaker: true })
      )
      expect(ran.code).toBe(2)
      expect(ran.stderr.trim().split("\n")).toHaveLength(1)
      expect(ran.stderr.length).toBeLessThan(400)
      expect(ran.stderr).toContain("retry.maxAtempts: unknown key")
      expect(ran.stderr).toContain("retry.jitter: expected \"none\" or \"full\" or \"equal\" or \"decorrelated\"")
      expect(ran.stderr).toContain("circuitBreaker: expected false or an object, actual true")
      const array = yield* sturdy("get", url, "--policy", tempFile("p.json", []))
      expect(array.stderr.trim()).toMatch(/^sturdy: --policy .*p\.json: policy: expected an object, actual \[\]$/)
    }))
})

// -----------------------------------------------------------------------------
// TLS and HTTP/2 flags, against servers on 127.0.0.1 with the test certificates of @sturdy/node
// -----------------------------------------------------------------------------

const nodeFixture = (name: string) => Path.join(import.meta.dirname, "..", "..", "node", "test", "fixtures", name)
const rootFixture = (name: string) => Path.join(import.meta.dirname, "..", "..", "..", "test", "fixtures", name)

/** The handlers of the servers below: `{"version": <HTTP version>}`. */
const answerH1 = (request: Http.IncomingMessage, response: Http.ServerResponse) => {
  response.writeHead(200, { "content-type": "application/json" })
  response.end(JSON.stringify({ version: request.httpVersion }))
}
const answerH2 = (request: Http2.Http2ServerRequest, response: Http2.Http2ServerResponse) => {
  response.writeHead(200, { "content-type": "application/json" })
  response.end(JSON.stringify({ version: request.httpVersion }))
}

/** `server` listening on 127.0.0.1 for the scope; its URL (`https:` unless `scheme` says). */
const listening = (server: Net.Server, scheme = "https") =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<string>((resolve) => {
        server.on("tlsClientError", () => {})
        server.listen(0, "127.0.0.1", () =>
          resolve(`${scheme}://127.0.0.1:${(server.address() as Net.AddressInfo).port}`))
      })
    ),
    () =>
      Effect.promise(() =>
        new Promise<void>((resolve) => server.close(() => resolve()))
      )
  )

const selfSignedTls = {
  cert: Fs.readFileSync(rootFixture("loopback-cert.pem")),
  key: Fs.readFileSync(rootFixture("loopback-key.pem"))
}
const caSignedTls = {
  cert: Fs.readFileSync(nodeFixture("server-cert.pem")),
  key: Fs.readFileSync(nodeFixture("server-key.pem"))
}

describe("sturdy get --cacert, --cert, --key, --insecure, --http2", () => {
  it.scopedLive("--cacert trusts the server's CA: 200; without it a TLS failure → Connection (7), not retried", () =>
    Effect.gen(function*() {
      const url = yield* listening(Https.createServer(selfSignedTls, answerH1))
      const trusted = yield* sturdy("get", `${url}/`, "--cacert", rootFixture("loopback-cert.pem"))
      expect(trusted.code).toBe(0)
      expect(JSON.parse(trusted.stdout)).toEqual({ version: "1.1" })
      const untrusted = yield* sturdy("get", `${url}/`, "--policy", fastPolicy())
      expect(untrusted.code).toBe(ExitCode.codes.Connection)
      expect(untrusted.stderr).toContain("ConnectionError (Tls)")
      expect(untrusted.stderr.match(/^\s+#\d/gm)).toHaveLength(1)
    }))

  it.scopedLive("--insecure (-k) accepts a certificate nobody vouches for", () =>
    Effect.gen(function*() {
      const url = yield* listening(Https.createServer(selfSignedTls, answerH1))
      expect((yield* sturdy("get", `${url}/`, "--insecure")).code).toBe(0)
      expect((yield* sturdy("get", `${url}/`, "-k")).code).toBe(0)
    }))

  it.scopedLive("--cert and --key answer a server that requires a client certificate; without them: Connection (7)", () =>
    Effect.gen(function*() {
      const url = yield* listening(Https.createServer({
        ...caSignedTls,
        ca: Fs.readFileSync(nodeFixture("ca-cert.pem")),
        requestCert: true,
        rejectUnauthorized: true
      }, answerH1))
      const cacert = nodeFixture("ca-cert.pem")
      const mutual = yield* sturdy(
        "get",
        `${url}/`,
        "--cacert",
        cacert,
        "--cert",
        nodeFixture("client-cert.pem"),
        "--key",
        nodeFixture("client-key.pem")
      )
      expect(mutual.code).toBe(0)
      const without = yield* sturdy("get", `${url}/`, "--cacert", cacert, "--policy", fastPolicy())
      expect(without.code).toBe(ExitCode.codes.Connection)
      expect(without.stderr).toContain("ConnectionError (Tls)")
    }))

  it.scopedLive("--http2 speaks h2 by ALPN over TLS; --http2-prior-knowledge speaks h2c to http:", () =>
    Effect.gen(function*() {
      const url = yield* listening(Http2.createSecureServer({ ...caSignedTls, allowHTTP1: true }, answerH2))
      const cacert = nodeFixture("ca-cert.pem")
      const h1 = yield* sturdy("get", `${url}/`, "--cacert", cacert)
      expect(JSON.parse(h1.stdout)).toEqual({ version: "1.1" })
      const h2 = yield* sturdy("get", `${url}/`, "--cacert", cacert, "--http2")
      expect(JSON.parse(h2.stdout)).toEqual({ version: "2.0" })
      const cleartext = yield* listening(Http2.createServer(answerH2), "http")
      const prior = yield* sturdy("get", `${cleartext}/`, "--http2-prior-knowledge")
      expect(prior.code).toBe(0)
      expect(JSON.parse(prior.stdout)).toEqual({ version: "2.0" })
    }))

  it.effect("a TLS file that cannot be read or does not hold what its flag takes → Usage (2), naming flag and file", () =>
    Effect.gen(function*() {
      const url = "https://127.0.0.1:1/"
      const missing = yield* sturdy("get", url, "--cacert", "/nonexistent/ca.pem")
      expect(missing.code).toBe(ExitCode.codes.Usage)
      expect(missing.stderr).toContain("--cacert /nonexistent/ca.pem: cannot be read")
      const notPem = tempFile("ca.der", "not a certificate")
      const wrong = yield* sturdy("get", url, "--cacert", notPem)
      expect(wrong.code).toBe(2)
      expect(wrong.stderr).toContain(`--cacert ${notPem}: tls.ca holds no PEM certificate`)
      const alone = yield* sturdy("get", url, "--cert", nodeFixture("client-cert.pem"))
      expect(alone.code).toBe(2)
      expect(alone.stderr).toContain("--cert and --key go together")
      const notKey = yield* sturdy(
        "get",
        url,
        "--cert",
        nodeFixture("client-cert.pem"),
        "--key",
        nodeFixture("ca-cert.pem")
      )
      expect(notKey.code).toBe(2)
      expect(notKey.stderr).toContain(`--key ${nodeFixture("ca-cert.pem")}: tls.key is not a PEM private key`)
      // an encrypted key: refused by name; nothing of the key is printed
      const encryptedFile = nodeFixture("client-key-encrypted.pem")
      const encrypted = yield* sturdy("get", url, "--cert", nodeFixture("client-cert.pem"), "--key", encryptedFile)
      expect(encrypted.code).toBe(2)
      expect(encrypted.stderr).toContain(`--key ${encryptedFile}: tls.key is encrypted`)
      expect(encrypted.stderr).toContain("sturdy takes no passphrase")
      for (const file of ["client-key.pem", "client-key-encrypted.pem"]) {
        const keyLine = Fs.readFileSync(nodeFixture(file), "utf8").split("\n")[1]
        expect(encrypted.stderr + encrypted.stdout + notKey.stderr).not.toContain(keyLine)
      }
    }))
})
