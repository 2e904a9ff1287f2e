import { HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Attempt, Auth, Redirect } from "@sturdy/http"
import { Effect, Redacted, Schema, Stream } from "effect"
import { fakeClient, jsonResponse } from "./utils/fakeTransport.js"

const moved = (status: number, location: string) => new Response(null, { status, headers: { location } })

describe("Redirect", () => {
  it.effect("follows relative Locations against the URL that answered, hop by hop", () =>
    Effect.gen(function*() {
      const { client, seen } = fakeClient((_, url) =>
        Effect.succeed(
          url.pathname === "/a"
            ? moved(301, "b/c?x=1")
            : url.pathname === "/b/c"
            ? moved(308, "//other.test:8443/d")
            : jsonResponse(200, { at: url.href })
        )
      )
      const body = yield* Attempt.json(
        client.pipe(Redirect.follow()),
        HttpClientRequest.get("https://api.test/a", { urlParams: { page: "1" }, headers: { "x-api-key": "k-123" } }),
        Schema.Struct({ at: Schema.String })
      )
      expect(body.at).toBe("https://other.test:8443/d")
      expect(seen.map((s) => s.url)).toEqual([
        "https://api.test/a?page=1",
        "https://api.test/b/c?x=1",
        "https://other.test:8443/d"
      ])
      expect(seen.map((s) => s.headers["x-api-key"])).toEqual(["k-123", "k-123", undefined])
    }))

  it.effect("a port change is another origin", () =>
    Effect.gen(function*() {
      const { client, seen } = fakeClient((_, url) =>
        Effect.succeed(url.port === "" ? moved(307, "http://api.test:8080/") : jsonResponse(200, {}))
      )
      yield* Attempt.send(
        client.pipe(Redirect.follow()),
        HttpClientRequest.get("http://api.test/", { headers: { authorization: "Bearer t-1234" } })
      )
      expect(seen.map((s) => s.headers.authorization)).toEqual(["Bearer t-1234", undefined])
    }))

  it.effect("a header that holds a registered credential stays on its origin, whatever its name", () =>
    Effect.gen(function*() {
      const { client, seen } = fakeClient((_, url) =>
        Effect.succeed(url.host === "api.test" ? moved(302, "https://elsewhere.test/") : jsonResponse(200, {}))
      )
      // Auth applied outside the redirect middleware (its docs advise against it) attaches its key to every hop
      yield* Attempt.send(
        client.pipe(Redirect.follow(), Auth.apiKeyHeader("x-partner", Redacted.make("partner-key-4711"))),
        HttpClientRequest.get("https://api.test/")
      )
      expect(seen.map((s) => s.headers["x-partner"])).toEqual(["partner-key-4711", undefined])
    }))

  it.effect("a 307 with a streamed body is returned, not followed: the body cannot be sent twice", () =>
    Effect.gen(function*() {
      const { client, seen } = fakeClient(() => Effect.succeed(moved(307, "/again")))
      const failure = yield* Effect.flip(
        Attempt.send(
          client.pipe(Redirect.follow()),
          HttpClientRequest.post("https://api.test/upload").pipe(
            HttpClientRequest.bodyStream(Stream.make(new Uint8Array([1, 2, 3])))
          )
        )
      )
      expect(failure).toMatchObject({ _tag: "UnexpectedStatus", status: 307 })
      expect(seen).toHaveLength(1)
    }))

  it.effect("maxRedirects 0 follows nothing and says so", () =>
    Effect.gen(function*() {
      const { client } = fakeClient(() => Effect.succeed(moved(302, "/next")))
      const failure = yield* Effect.flip(
        Attempt.send(client.pipe(Redirect.follow({ maxRedirects: 0 })), HttpClientRequest.get("https://api.test/"))
      )
      expect(failure).toMatchObject({
        _tag: "RedirectFailed",
        reason: "TooMany",
        redirects: 0,
        location: "https://api.test/next"
      })
    }))
})
