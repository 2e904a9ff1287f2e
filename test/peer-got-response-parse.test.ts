/**
 * got's `test/response-parse.ts` and the `custom json body` case of its `test/error.ts` (sindresorhus/got at
 * d00d845a0b435365ec73ea5a1fca6e17ee677184), ported to Sturdy's public API: `Attempt.send` / `Attempt.json` and
 * `SturdyClient` over `@sturdy/node`'s undici transport, against a real `node:http` server on 127.0.0.1
 * (`test/utils/loopbackServer.ts`). One `it` per got case, named after it.
 *
 * Mapping: `responseType: 'json'` / `.json()` / `resolveBodyOnly` is `Attempt.json` (or a `SturdyClient` method with
 * `schema`), which returns the decoded body; `responseType: 'text'` / `.text()` is `Attempt.send(...).text`;
 * `responseType: 'buffer'` / `.buffer()` / `rawBody` is `Attempt.send(...).body` (a `Uint8Array`); got's
 * `ParseError` is `HttpFailure.InvalidJson` (`status`, `headers`, `bodyExcerpt` in place of `error.response`);
 * `HTTPError` with a parsed body is a status failure whose `payload` the `errorSchema` decoded; a custom `parseJson`
 * is a Schema transformation.
 *
 * Deliberate differences (each test says which): Sturdy always fails a non-2xx status (no `throwHttpErrors: false`:
 * `Policy.withPolicy` is the way to get the last response back); `Received.text` drops a leading UTF-8 BOM (the
 * Encoding standard's UTF-8 decode, as fetch's `Response.text()`), where got's `responseType: 'text'` keeps it; the
 * BOM stays in `body`; `body` may be a Node `Buffer` (a `Uint8Array`), where got checks it is not one.
 *
 * Ported in `test/peer-got-ky-failures.test.ts` (not repeated here): wraps parsing errors, credentials are stripped
 * from ParseError message URL, JSON response with UTF-8 BOM throws ParseError (Sturdy decodes it, as axios and fetch
 * do), parses non-200 responses, ignores errors on invalid non-200 responses, parse errors have `response` property,
 * doesn't throw on 204 No Content, doesn't throw on empty bodies (Sturdy fails an empty 200 with `InvalidJson`); and
 * got's `test/error.ts` cases about bodies (promise does not hang on timeout on HTTP error, no uncaught parse errors,
 * #2, on fallback to utf8). got's `test/error.ts` custom json body is ported here.
 *
 * Not ported: Text response - promise.json().text() and works if promise has been already resolved (got's promise
 * with shortcuts: an Effect is run, not awaited twice); throws an error on invalid response type (no `responseType`
 * option: the method says what is read); shortcuts result properly when retrying in afterResponse (got's hooks: `Auth`
 * does a 401 refresh); the seven `incrementally decodes` / `falls back to buffered decode` / `does not incrementally
 * decode` cases (got's streaming TextDecoder: Sturdy reads the body into one bounded buffer and decodes it once).
 *
 * Added for this port's brief, and not got's: a JSON body declared in another charset (`not from got:` cases). Where
 * its bytes are not UTF-8, got (like axios and fetch) decodes replacement characters silently; Sturdy fails with
 * `InvalidJson` (a defect this port found and fixed, see `Attempt.test.ts`).
 */
import { describe, expect, it } from "@effect/vitest"
import { Attempt, HttpFailure, SturdyClient } from "@sturdy/http"
import { Effect, Option, Schema } from "effect"
import type * as Http from "node:http"
import * as Loop from "./utils/loopbackServer.js"
import { failureIn, getFrom, undiciClient } from "./utils/undiciClient.js"

const dog = { data: "dog" }
const jsonResponse = JSON.stringify(dog)
const Dog = Schema.Struct({ data: Schema.String })

// got's defaultHandler: `response.end(jsonResponse)`, with no Content-Type (Sturdy accepts a missing one)
const defaultHandler: Loop.Handler = (_, res) => {
  res.end(jsonResponse)
}

const failureOf = failureIn

const client = undiciClient

const get = getFrom

describe("got test/response-parse.ts", () => {
  it.scoped("`options.resolveBodyOnly` works", () =>
    Effect.gen(function*() {
      const server = yield* Loop.start({ "/": defaultHandler })
      expect(yield* Attempt.json(yield* client, get(server), Dog)).toEqual(dog)
    }))

  it.scoped("`options.resolveBodyOnly` combined with `options.throwHttpErrors`", () =>
    Effect.gen(function*() {
      // Differs from got (which resolves "/"): a 404 always fails; its body is in the failure's excerpt
      const server = yield* Loop.start({ "/": (_, res) => res.writeHead(404).end("/") })
      const failure = yield* failureOf(Attempt.send(yield* client, get(server)))
      expect(failure._tag).toBe("ClientError")
      expect(failure._tag === "ClientError" && failure.bodyExcerpt).toBe("/")
    }))

  it.scoped("JSON response", () =>
    Effect.gen(function*() {
      const server = yield* Loop.start({ "/": defaultHandler })
      const api = SturdyClient.makeWith(yield* client, { baseUrl: server.url })
      expect(yield* api.get("/", { schema: Dog })).toEqual(dog)
    }))

  it.scoped("Uint8Array response", () =>
    Effect.gen(function*() {
      const server = yield* Loop.start({ "/": defaultHandler })
      const { body } = yield* Attempt.send(yield* client, get(server))
      // got also checks `!Buffer.isBuffer(body)`; Sturdy promises a `Uint8Array`, which a Node `Buffer` is
      expect(new Uint8Array(body)).toEqual(new TextEncoder().encode(jsonResponse))
      expect(body).toBeInstanceOf(Uint8Array)
    }))

  it.scoped("rawBody is compatible with web APIs", () =>
    Effect.gen(function*() {
      const server = yield* Loop.start({ "/": defaultHandler })
      const { body } = yield* Attempt.send(yield* client, get(server))
      expect(body.buffer).toBeInstanceOf(ArrayBuffer)
      // typed `Uint8Array<ArrayBuffer>`, as got types `rawBody`: TypeScript's DOM types take it as a `BlobPart` and a
      // `BodyInit` without a cast
      expect(yield* Effect.promise(() => new Blob([body]).text())).toBe(jsonResponse)
      expect(yield* Effect.promise(() => new Response(body).text())).toBe(jsonResponse)
    }))

  it.scoped("Text response", () =>
    Effect.gen(function*() {
      const server = yield* Loop.start({ "/": defaultHandler })
      expect((yield* Attempt.send(yield* client, get(server))).text).toBe(jsonResponse)
    }))

  it.scoped("Text response #2", () =>
    Effect.gen(function*() {
      // got's `responseType: undefined` (text by default): a SturdyClient call without `schema`
      const server = yield* Loop.start({ "/": defaultHandler })
      const api = SturdyClient.makeWith(yield* client, { baseUrl: server.url })
      expect((yield* api.get("/")).text).toBe(jsonResponse)
    }))

  it.scoped("Text response preserves UTF-8 BOM", () =>
    Effect.gen(function*() {
      // Differs from got (text "\uFEFFhello"): `text` is the body decoded as UTF-8 by the Encoding standard, which
      // drops a leading BOM, as fetch's `Response.text()` does; the bytes in `body` keep it
      const server = yield* Loop.start({
        "/": (_, res) => res.end(Buffer.from([0xef, 0xbb, 0xbf, ...Buffer.from("hello")]))
      })
      const received = yield* Attempt.send(yield* client, get(server))
      expect(received.text).toBe("hello")
      expect([...received.body.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf])
    }))

  it.scoped("Text response shortcut strips UTF-8 BOM", () =>
    Effect.gen(function*() {
      const server = yield* Loop.start({
        "/": (_, res) => res.end(Buffer.from([0xef, 0xbb, 0xbf, ...Buffer.from("hello")]))
      })
      expect((yield* Attempt.send(yield* client, get(server))).text).toBe("hello")
    }))

  it.scoped("JSON response - promise.json()", () =>
    Effect.gen(function*() {
      const server = yield* Loop.start({ "/": defaultHandler })
      expect(yield* Attempt.json(yield* client, get(server), Schema.Unknown)).toEqual(dog)
    }))

  it.scoped("Uint8Array response - promise.buffer()", () =>
    Effect.gen(function*() {
      const server = yield* Loop.start({ "/": defaultHandler })
      const api = SturdyClient.makeWith(yield* client, { baseUrl: server.url })
      const { body } = yield* api.get("/")
      // got also checks `!Buffer.isBuffer(body)`; Sturdy promises a `Uint8Array`, which a Node `Buffer` is
      expect(new Uint8Array(body)).toEqual(new TextEncoder().encode(jsonResponse))
      expect(body).toBeInstanceOf(Uint8Array)
    }))

  it.scoped("Text response - promise.text()", () =>
    Effect.gen(function*() {
      const server = yield* Loop.start({ "/": defaultHandler })
      const api = SturdyClient.makeWith(yield* client, { baseUrl: server.url })
      expect((yield* api.get("/")).text).toBe(jsonResponse)
    }))

  it.scoped("sets correct headers", () =>
    Effect.gen(function*() {
      const server = yield* Loop.start({
        "/": (req, res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(req.headers))
      })
      const api = SturdyClient.makeWith(yield* client, { baseUrl: server.url })
      const headers = yield* api.post("/", {
        body: {},
        schema: Schema.Record({ key: Schema.String, value: Schema.String })
      })
      expect(headers["content-type"]).toBe("application/json")
      expect(headers.accept).toBe("application/json")
    }))

  it.scoped(".buffer() returns binary content", () =>
    Effect.gen(function*() {
      const binary = Buffer.from("89504E470D0A1A0A0000000D49484452", "hex")
      const server = yield* Loop.start({ "/": (_, res) => res.end(binary) })
      const { body } = yield* Attempt.send(yield* client, get(server))
      expect(Buffer.compare(Buffer.from(body), binary)).toBe(0)
    }))

  it.scoped("shortcuts throw ParseErrors", () =>
    Effect.gen(function*() {
      const server = yield* Loop.start({ "/": (_, res) => res.end("not a json") })
      const failure = yield* failureOf(Attempt.json(yield* client, get(server), Schema.Unknown))
      expect(failure._tag).toBe("InvalidJson")
      if (failure._tag !== "InvalidJson") return
      expect(failure.detail).toMatch(/^Unexpected token/)
      expect(failure.bodyExcerpt).toBe("not a json")
    }))

  it.scoped("responseType is optional when using template", () =>
    Effect.gen(function*() {
      // got.extend({responseType: 'json'}): the client's defaults; the schema says the body is JSON
      const data = { hello: "world" }
      const server = yield* Loop.start({ "/": (_, res, body) => res.end(body) })
      const api = SturdyClient.makeWith(yield* client, { baseUrl: server.url })
      const body = yield* api.post("/", { body: data, schema: Schema.Struct({ hello: Schema.String }) })
      expect(body).toEqual(data)
    }))

  it.scoped("JSON response custom parser", () =>
    Effect.gen(function*() {
      // got's `parseJson`: a Schema transformation of the parsed value
      const Custom = Schema.transform(Dog, Schema.Struct({ data: Schema.String, custom: Schema.String }), {
        strict: true,
        decode: (value) => ({ ...value, custom: "parser" }),
        encode: ({ data }) => ({ data })
      })
      const server = yield* Loop.start({ "/": defaultHandler })
      expect(yield* Attempt.json(yield* client, get(server), Custom)).toEqual({ ...dog, custom: "parser" })
    }))
})

describe("got test/error.ts", () => {
  it.scoped("custom json body", () =>
    Effect.gen(function*() {
      // got's `HTTPError<{message: string}>` with `response.body.message`: the `errorSchema` decodes the 404's body
      // into `payload`
      const server = yield* Loop.start({ "/": Loop.json(404, { message: "not found" }) })
      const failure = yield* failureOf(
        Attempt.json(yield* client, get(server), Schema.Unknown, {
          errorSchema: Schema.Struct({ message: Schema.String })
        })
      )
      expect(failure._tag).toBe("ClientError")
      if (failure._tag !== "ClientError") return
      expect(failure.status).toBe(404)
      expect(failure.payload).toEqual(Option.some({ message: "not found" }))
      expect(failure.message).toMatch(/^404 Not Found GET http:\/\/127\.0\.0\.1:\d+\/: /)
    }))
})

describe("not from got: a JSON body declared in a charset other than UTF-8", () => {
  const declared = (charset: string, bytes: Buffer): Loop.Handler => (_: Http.IncomingMessage, res) =>
    res.writeHead(200, { "content-type": `application/json; charset=${charset}` }).end(bytes)
  const Name = Schema.Struct({ name: Schema.String })

  it.scoped("ISO-8859-1 declared, ASCII content: decoded (ASCII is the same in both)", () =>
    Effect.gen(function*() {
      const server = yield* Loop.start({ "/": declared("iso-8859-1", Buffer.from("{\"name\":\"cafe\"}", "latin1")) })
      expect(yield* Attempt.json(yield* client, get(server), Name)).toEqual({ name: "cafe" })
    }))

  it.scoped("ISO-8859-1 declared, a byte that is not UTF-8: InvalidJson naming the charset, never replaced text", () =>
    Effect.gen(function*() {
      // RFC 8259 §8.1 and §11: JSON exchanged between systems is UTF-8 and `application/json` has no charset
      // parameter. got, axios and fetch's `Response.json()` decode UTF-8 whatever is declared and turn the lone 0xE9
      // into U+FFFD ("caf\uFFFD", silently); Sturdy fails the body instead (fixed while porting this file)
      const server = yield* Loop.start({
        "/": declared("iso-8859-1", Buffer.from("{\"name\":\"caf\u00e9\"}", "latin1"))
      })
      const failure = yield* failureOf(Attempt.json(yield* client, get(server), Name))
      expect(failure._tag === "InvalidJson" && failure.detail).toBe(
        "body is not valid UTF-8 (Content-Type declares iso-8859-1)"
      )
      expect(HttpFailure.isTransient(failure)).toBe(false)
    }))

  it.scoped("UTF-16LE declared (with its BOM): a typed InvalidJson, never a defect", () =>
    Effect.gen(function*() {
      const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("{\"name\":\"caf\u00e9\"}", "utf16le")])
      const server = yield* Loop.start({ "/": declared("utf-16le", utf16) })
      const failure = yield* failureOf(Attempt.json(yield* client, get(server), Name))
      expect(failure._tag).toBe("InvalidJson")
      expect(failure._tag === "InvalidJson" && failure.status).toBe(200)
      // the UTF-16 byte order mark is no UTF-8
      expect(failure._tag === "InvalidJson" && failure.detail).toBe(
        "body is not valid UTF-8 (Content-Type declares utf-16le)"
      )
    }))
})
