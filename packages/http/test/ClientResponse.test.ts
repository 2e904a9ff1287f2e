import * as Headers from "@effect/platform/Headers"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as UrlParams from "@effect/platform/UrlParams"
import { describe, expect, it } from "@effect/vitest"
import { ClientResponse } from "@sturdy/http"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { inspect } from "node:util"

const request = HttpClientRequest.get("http://127.0.0.1:8080/users/1")

/** A whole body that has arrived (`bytes` an Exit), or one that arrives later (`bytes` asynchronous). */
class BufferedResponse extends ClientResponse.Class {
  reads = 0
  constructor(
    readonly status: number,
    readonly headers: Headers.Headers,
    private readonly body: Uint8Array,
    private readonly arrived: boolean
  ) {
    super()
  }
  get request() {
    return request
  }
  get bytes(): Effect.Effect<Uint8Array, HttpClientError.ResponseError> {
    this.reads++
    return this.arrived ? Exit.succeed(this.body) : Effect.as(Effect.yieldNow(), this.body)
  }
  get stream(): Stream.Stream<Uint8Array, HttpClientError.ResponseError> {
    return Stream.succeed(this.body)
  }
}

const encode = (text: string) => new TextEncoder().encode(text)
const response = (body: Uint8Array, headers: Record<string, string> = {}, arrived = true) =>
  new BufferedResponse(200, Headers.fromInput(headers), body, arrived)

// what @effect/platform's own response (fromWeb) makes of the same bytes
const platform = (body: Uint8Array, headers: Record<string, string> = {}) =>
  HttpClientResponse.fromWeb(request, new Response(body.slice(), { status: 200, headers }))

const settle = <A>(effect: Effect.Effect<A, HttpClientError.ResponseError>) => Effect.runPromise(Effect.either(effect))

describe("ClientResponse", () => {
  it("is an HttpClientResponse that decodes text, json, arrayBuffer and url params as the platform does", async () => {
    const json = response(encode(`{"id":1,"name":"Ada"}`))
    expect(HttpClientResponse.TypeId in json).toBe(true)
    expect(Effect.runSync(json.json)).toEqual({ id: 1, name: "Ada" })
    expect(Effect.runSync(json.text)).toBe(`{"id":1,"name":"Ada"}`)
    expect(new Uint8Array(Effect.runSync(json.arrayBuffer))).toEqual(encode(`{"id":1,"name":"Ada"}`))
    expect(Effect.runSync(response(new Uint8Array()).json)).toBeNull()
    const params = Effect.runSync(response(encode("a=1&b=two%20words&a=3")).urlParamsBody)
    expect(UrlParams.getAll(params, "a")).toEqual(["1", "3"])
    expect(UrlParams.getFirst(params, "b")).toEqual(Option.some("two words"))
    const form = await Effect.runPromise(
      response(encode("x=1&y=2"), { "content-type": "application/x-www-form-urlencoded" }).formData
    )
    expect(form.get("y")).toBe("2")
  })

  it("decodes a body that has arrived without another Effect step, and one that arrives later the same way", async () => {
    // runSync would throw on an asynchronous step
    expect(Effect.runSync(response(encode("[1,2]")).json)).toEqual([1, 2])
    expect(await Effect.runPromise(response(encode("[1,2]"), {}, false).json)).toEqual([1, 2])
  })

  it("an arrayBuffer is a copy: changing it leaves the body as it was", () => {
    const body = encode("abc")
    const buffer = Effect.runSync(response(body).arrayBuffer)
    new Uint8Array(buffer)[0] = 0
    expect(body[0]).toBe(97)
  })

  it("a body that is not JSON fails with a ResponseError Decode naming this response and request", async () => {
    for (const arrived of [true, false]) {
      const bad = response(encode(`{"id":`), {}, arrived)
      const result = await settle(bad.json)
      expect(Either.isLeft(result)).toBe(true)
      if (Either.isLeft(result)) {
        expect(result.left._tag).toBe("ResponseError")
        expect(result.left.reason).toBe("Decode")
        expect(result.left.response).toBe(bad)
        expect(result.left.request).toBe(request)
        expect(result.left.cause).toBeInstanceOf(SyntaxError)
      }
    }
  })

  it("receivedBodyBytes: unknown (undefined) unless a transport that counts the wire bytes overrides it", () => {
    expect(response(encode("{}")).receivedBodyBytes).toBeUndefined()
    class Counted extends BufferedResponse {
      override get receivedBodyBytes() {
        return 2
      }
    }
    expect(new Counted(200, Headers.empty, encode("{}"), true).receivedBodyBytes).toBe(2)
  })

  it("cookies come from Set-Cookie, remoteAddress is empty, inspection shows the status and request", () => {
    const withCookie = response(new Uint8Array(), { "set-cookie": "session=abc; Path=/; HttpOnly" })
    expect(withCookie.cookies.cookies["session"]?.value).toBe("abc")
    expect(Object.keys(response(new Uint8Array()).cookies.cookies)).toEqual([])
    expect(withCookie.remoteAddress._tag).toBe("None")
    const json = withCookie.toJSON() as Record<string, unknown>
    expect(json._id).toBe("@effect/platform/HttpClientResponse")
    expect(json.status).toBe(200)
    expect((json.request as Record<string, unknown>).url).toBe("http://127.0.0.1:8080/users/1")
    expect(inspect(withCookie)).toContain("@effect/platform/HttpClientResponse")
  })

  it.effect.prop(
    "for any body, text, json and arrayBuffer agree with @effect/platform's own response",
    [
      FastCheck.oneof(
        FastCheck.uint8Array({ maxLength: 64 }),
        FastCheck.json().map(encode),
        FastCheck.string({ unit: "binary" }).map(encode)
      )
    ],
    ([body]) =>
      Effect.gen(function*() {
        const normalise = (value: unknown) => value instanceof ArrayBuffer ? [...new Uint8Array(value)] : value
        for (const read of ["text", "json", "arrayBuffer"] as const) {
          const ours = yield* Effect.either(response(body)[read])
          const theirs = yield* Effect.either(platform(body)[read])
          expect(Either.isRight(ours)).toBe(Either.isRight(theirs))
          if (Either.isRight(ours) && Either.isRight(theirs)) {
            expect(normalise(ours.right)).toEqual(normalise(theirs.right))
          }
        }
      }),
    { fastCheck: { seed: 20261204, numRuns: 300 } }
  )
})
