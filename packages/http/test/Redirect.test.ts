import { HttpBody, HttpClient, HttpClientError, HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Attempt, Auth, HttpFailure, Redaction, Redirect } from "@sturdy/http"
import { Deadline } from "@sturdy/policy"
import { Duration, Effect, Exit, Fiber, Option, Redacted, Schema, Stream, TestClock } from "effect"
import { Readable } from "node:stream"
import { fakeClient, jsonResponse } from "./utils/fakeTransport.js"

const moved = (status: number, location: string) => new Response(null, { status, headers: { location } })

describe("Redirect", () => {
  // the redirect's body is read (one chunk) before the next hop: a body that sent nothing held the request for ever
  // when nothing else bounded it. It is cancelled after the discard cap (a second), and the redirect followed
  it.effect("a redirect whose body sends nothing is followed after a second, its body cancelled", () =>
    Effect.gen(function*() {
      let cancelled = 0
      const { client, seen } = fakeClient((_, url) =>
        Effect.succeed(
          url.pathname === "/a"
            ? new Response(new ReadableStream({ cancel: () => void cancelled++ }), {
              status: 302,
              headers: { location: "/b" }
            })
            : jsonResponse(200, { at: url.href })
        )
      )
      const followed = Attempt.json(
        client.pipe(Redirect.follow()),
        HttpClientRequest.get("https://api.test/a"),
        Schema.Struct({ at: Schema.String })
      )
      for (const masked of [false, true]) {
        const fiber = yield* Effect.fork(masked ? Effect.uninterruptible(followed) : followed)
        yield* TestClock.adjust("999 millis")
        expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
        yield* TestClock.adjust("1 millis")
        const body = yield* Fiber.poll(fiber)
        expect(Option.map(body, Exit.map((body) => body.at))).toEqual(Option.some(Exit.succeed("https://api.test/b")))
      }
      expect(cancelled).toBe(2)
      expect(seen).toHaveLength(4)
    }))

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

  it.effect("a later hop that was never written does not make the request unsent: the first hop reached a server", () =>
    Effect.gen(function*() {
      // the transport marks a request it never wrote (HttpFailure.RequestSentMark): here the hop after a 307
      const unsentFailure = (request: HttpClientRequest.HttpClientRequest) =>
        Object.defineProperty(
          new HttpClientError.RequestError({
            request,
            reason: "Transport",
            cause: new Deadline.DeadlineExceeded({ reason: "Attempt", timeout: Duration.seconds(1) })
          }),
          "requestSent",
          { value: false }
        )
      const client = HttpClient.make((request, url) =>
        url.pathname === "/orders"
          ? Effect.succeed(HttpClientResponse.fromWeb(request, moved(307, "/v2/orders")))
          : Effect.fail(unsentFailure(request))
      )
      const redirected = yield* Effect.flip(
        Attempt.send(client.pipe(Redirect.follow()), HttpClientRequest.post("https://api.test/orders"))
      )
      expect(redirected).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect("requestSent" in redirected).toBe(false)
      expect(HttpFailure.mayHaveReachedServer(redirected)).toBe(true)
      // the same failure on the first hop: nothing was written anywhere
      const direct = yield* Effect.flip(
        Attempt.send(client.pipe(Redirect.follow()), HttpClientRequest.post("https://api.test/v2/orders"))
      )
      expect(direct).toMatchObject({ _tag: "Timeout", requestSent: false })
    }))

  it.effect("the Idempotency-Key goes on to another origin (no credential: the next origin needs it to apply a repeat once)", () =>
    Effect.gen(function*() {
      const { client, seen } = fakeClient((_, url) =>
        Effect.succeed(url.host === "api.test" ? moved(307, "https://other.test/orders") : jsonResponse(201, {}))
      )
      yield* Attempt.send(
        client.pipe(Redirect.follow()),
        HttpClientRequest.post("https://api.test/orders", {
          headers: { "Idempotency-Key": "k-7d1f", "x-api-key": "secret-1234" },
          body: HttpBody.text("{}")
        })
      )
      expect(seen.map((s) => s.headers["idempotency-key"])).toEqual(["k-7d1f", "k-7d1f"])
      expect(seen.map((s) => s.headers["x-api-key"])).toEqual(["secret-1234", undefined])
    }))

  it.effect("an Idempotency-Key whose value is a registered secret stays on its origin", () =>
    Effect.gen(function*() {
      const { client, seen } = fakeClient((_, url) =>
        Effect.succeed(url.host === "api.test" ? moved(308, "https://other.test/orders") : jsonResponse(201, {}))
      )
      yield* Redaction.registerSecretValues("registered-key-99")
      yield* Attempt.send(
        client.pipe(Redirect.follow()),
        HttpClientRequest.post("https://api.test/orders", {
          headers: { "Idempotency-Key": "registered-key-99" },
          body: HttpBody.text("{}")
        })
      )
      expect(seen.map((s) => s.headers["idempotency-key"])).toEqual(["registered-key-99", undefined])
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

  it.effect("URL credentials stay on their origin: kept on a same-origin hop, dropped (a Location's own too) on another", () =>
    Effect.gen(function*() {
      const { client, seen } = fakeClient((_, url) =>
        Effect.succeed(
          url.pathname === "/a"
            ? moved(303, "https://api.test/b")
            : url.pathname === "/b"
            ? moved(302, "https://injected:creds@elsewhere.test/c")
            : jsonResponse(200, {})
        )
      )
      yield* Attempt.send(client.pipe(Redirect.follow()), HttpClientRequest.get("https://hello:world@api.test/a"))
      expect(seen.map((s) => s.url)).toEqual([
        "https://hello:world@api.test/a",
        "https://hello:world@api.test/b",
        "https://elsewhere.test/c"
      ])
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

  it.effect("a 307 with a raw body read once (Readable, ReadableStream, async iterable) is returned, not followed", () =>
    Effect.gen(function*() {
      const bodies = [
        () => Readable.from([Buffer.from("abc")]),
        () => new ReadableStream({ start: (controller) => controller.close() }),
        () => ({ async *[Symbol.asyncIterator]() {} })
      ]
      for (const body of bodies) {
        const { client, seen } = fakeClient(() => Effect.succeed(moved(307, "/again")))
        const failure = yield* Effect.flip(
          Attempt.send(
            client.pipe(Redirect.follow()),
            HttpClientRequest.put("https://api.test/upload").pipe(HttpClientRequest.setBody(HttpBody.raw(body())))
          )
        )
        expect(failure).toMatchObject({ _tag: "UnexpectedStatus", status: 307 })
        expect(seen).toHaveLength(1)
      }
      // a raw body that is plain data is sent again
      const { client, seen } = fakeClient((_, url) =>
        Effect.succeed(url.pathname === "/upload" ? moved(307, "/again") : jsonResponse(200, {}))
      )
      yield* Attempt.send(
        client.pipe(Redirect.follow()),
        HttpClientRequest.put("https://api.test/upload").pipe(
          HttpClientRequest.setBody(HttpBody.raw(new Uint8Array([1])))
        )
      )
      expect(seen).toHaveLength(2)
    }))

  it.effect("a Location without a fragment inherits the one written in the request URL, as one set as hash", () =>
    Effect.gen(function*() {
      // through the middleware alone: an `Attempt` keeps fragments off the wire before any middleware sees them
      const { client } = fakeClient((_, url) =>
        Effect.succeed(url.pathname === "/a" ? moved(302, "/b") : jsonResponse(200, {}))
      )
      const following = client.pipe(Redirect.follow())
      const written = yield* following.execute(HttpClientRequest.get("https://api.test/a#top"))
      expect(Option.getOrUndefined(written.request.hash)).toBe("top")
      const set = yield* following.execute(HttpClientRequest.get("https://api.test/a", { hash: "top" }))
      expect(Option.getOrUndefined(set.request.hash)).toBe("top")
      const own = yield* following.execute(
        HttpClientRequest.get("https://api.test/a#top").pipe(
          HttpClientRequest.setUrl("https://api.test/a")
        )
      )
      expect(Option.isNone(own.request.hash)).toBe(true)
    }))

  it.effect("a Location with an empty fragment (`/c#`) has one: it does not inherit the request's (fetch)", () =>
    Effect.gen(function*() {
      const { client, seen } = fakeClient((_, url) =>
        Effect.succeed(
          url.pathname === "/a"
            ? moved(301, "/b#part")
            : url.pathname === "/b"
            ? moved(302, "/c#")
            : url.pathname === "/c"
            ? moved(307, "/d")
            : jsonResponse(200, {})
        )
      )
      yield* client.pipe(Redirect.follow()).execute(HttpClientRequest.get("https://api.test/a"))
      // fetch's HTTP-redirect fetch: only a Location whose fragment is null (no "#") takes the current URL's
      expect(seen.map((s) => s.url)).toEqual([
        "https://api.test/a",
        "https://api.test/b#part",
        "https://api.test/c",
        "https://api.test/d"
      ])
    }))

  it("refuses a maxRedirects that is not an integer of at least 0, naming it", () => {
    const { client } = fakeClient(() => Effect.succeed(moved(302, "/next")))
    for (const maxRedirects of [NaN, -1, 1.5, Infinity]) {
      expect(() => Redirect.follow(client, { maxRedirects })).toThrow(/Redirect.follow: maxRedirects .* at least 0/)
    }
    expect(() => Redirect.follow(client, { maxRedirects: 0 })).not.toThrow()
  })
})
