import { HttpClient, HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Attempt, HttpFailure, Redirect } from "@sturdy/http"
import { Cause, Effect, Exit, FastCheck as fc, Schema } from "effect"
import type * as Net from "node:net"
import * as Raw from "./utils/rawServer.js"
import { transports } from "./utils/transports.js"

/** One response a hostile (or broken) server might send, as raw bytes and a way to end the connection. */
interface Hostile {
  readonly head: string
  readonly body: string
  readonly ending: "end" | "destroy" | "half" | "hang"
}

const token = fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,12}$/)
const anyText = fc.string({ maxLength: 40, unit: "binary" })

const statusLine = fc.oneof(
  fc.integer({ min: 100, max: 599 }).map((status) => `HTTP/1.1 ${status} X`),
  fc.constantFrom("HTTP/1.1 999 Nope", "HTTP/1.1 abc", "HTTP/9.9 200 OK", "HTTP/1.1 200", "garbage", "")
)

const header = fc.oneof(
  fc.tuple(token, anyText.map((v) => v.replace(/[\r\n]/g, ""))).map(([name, value]) => `${name}: ${value}`),
  fc.constantFrom(
    "Content-Type: application/json",
    "Content-Type: text/html",
    "Content-Type: application/problem+json; charset=utf-8",
    "Content-Length: 5",
    "Content-Length: -1",
    "Content-Length: 99999999999",
    "Content-Length: 3, 4",
    "Content-Encoding: gzip",
    "Content-Encoding: br",
    "Transfer-Encoding: chunked",
    "Retry-After: 1e9",
    "Retry-After: Tue, 99 Foo 2020 99:99:99 GMT",
    "RateLimit: \"default\";r=0;t=999999999999",
    "Location: javascript:alert(1)",
    "Location: http://[::1",
    "Location: /again?code=x",
    "Set-Cookie: session=abc",
    "X-Bad: \u0000\u0001",
    "Header Without Colon"
  )
)

const jsonish = fc.oneof(
  fc.json({ maxDepth: 4 }),
  fc.integer({ min: 1, max: 4_000 }).map((depth) => `${"[".repeat(depth)}${"]".repeat(depth)}`),
  fc.integer({ min: 1, max: 4_000 }).map((depth) => `${"{\"a\":".repeat(depth)}1${"}".repeat(depth)}`),
  fc.constantFrom(
    `{"__proto__": {"polluted": true}, "id": 1}`,
    `{"constructor": {"prototype": {"polluted": true}}}`,
    `{"id": 1`,
    `{"id": "\\ud800"}`,
    "\uFEFF{\"id\": 1}",
    "null",
    "",
    "1e999999",
    "\"" + "\\".repeat(1_001) + "\""
  ),
  anyText
)

const chunked = (body: string) => `${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n0\r\n\r\n`

const hostile: fc.Arbitrary<Hostile> = fc.record({
  status: statusLine,
  headers: fc.array(header, { maxLength: 6 }),
  body: jsonish,
  chunkedBody: fc.boolean(),
  ending: fc.constantFrom("end", "end", "end", "destroy", "half", "hang")
}).map(({ body, chunkedBody, ending, headers, status }) => ({
  head: `${status}\r\n${headers.join("\r\n")}${headers.length > 0 ? "\r\n" : ""}\r\n`,
  body: chunkedBody ? chunked(body) : body,
  ending: ending as Hostile["ending"]
}))

const send = (socket: Net.Socket, response: Hostile) => {
  const bytes = Buffer.from(response.head + response.body, "latin1")
  switch (response.ending) {
    case "end":
      return socket.end(bytes)
    case "destroy":
      socket.write(bytes)
      return setTimeout(() => socket.destroy(), 5)
    case "half":
      return socket.write(bytes.subarray(0, Math.ceil(bytes.length / 2)), () => socket.destroy())
    case "hang":
      return socket.write(bytes.subarray(0, Math.ceil(bytes.length / 2)))
  }
}

const Item = Schema.Struct({ id: Schema.Number })
const Loose = Schema.Record({ key: Schema.String, value: Schema.Unknown })

describe.each(transports)("hostile responses over %s", (_, transport) => {
  it.scopedLive(
    "whatever the server sends, the attempt ends with a value or a typed failure, never a defect",
    () =>
      Effect.gen(function*() {
        let current: Hostile = { head: "HTTP/1.1 204 No Content\r\n\r\n", body: "", ending: "end" }
        const server = yield* Raw.start({ "/fuzz": (socket) => send(socket, current) })
        const client = (yield* HttpClient.HttpClient).pipe(Redirect.follow({ maxRedirects: 2 }))
        const defects: Array<string> = []
        const run = (response: Hostile, schema: Schema.Schema<any, any>) =>
          Effect.gen(function*() {
            current = response
            const exit = yield* Effect.exit(
              Attempt.json(client, HttpClientRequest.get(`${server.url}/fuzz`), schema, {
                timeout: "300 millis",
                maxBodyBytes: 64 * 1024,
                expectedContentTypes: ["*/*"]
              })
            )
            if (Exit.isSuccess(exit)) {
              // a decoded value inherits nothing the server sent
              if (typeof exit.value === "object" && exit.value !== null) {
                expect(Object.getPrototypeOf(exit.value)).toBe(Object.prototype)
                expect((exit.value as Record<string, unknown>).polluted).toBeUndefined()
              }
              return
            }
            const failure = Cause.failureOption(exit.cause)
            if (failure._tag === "None" || !HttpFailure.isHttpFailure(failure.value)) {
              defects.push(`${JSON.stringify(response).slice(0, 300)} -> ${Cause.pretty(exit.cause).slice(0, 500)}`)
            }
          })
        yield* Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(hostile, fc.boolean(), async (response, strict) => {
              await Effect.runPromise(run(response, strict ? Item : Loose))
              return true
            }),
            { seed: 20261204, numRuns: 120, endOnFailure: true }
          )
        )
        expect(defects).toEqual([])
        expect(server.requests.length).toBeGreaterThanOrEqual(120)
      }).pipe(Effect.provide(transport)),
    120_000
  )
})
