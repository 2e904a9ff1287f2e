/**
 * Port of @effect/platform's own HttpClient tests, run over `@sturdy/node`'s `UndiciHttpClient` and, beside it, over
 * `NodeHttpClient.layerUndici` (whose error shapes and behaviour it promises to share), against a real server on
 * 127.0.0.1.
 *
 * Sources (github:Effect-TS/effect, branch `v3`, commit 20596061bd24dd7f18c5b5c839111310d730d6e9, the 3.x line):
 * - `packages/platform-node/test/HttpClient.test.ts` (no undici test file sits beside it): every case, each run over
 *   both layers as the peer runs each over `NodeClient.layer` and `NodeClient.layerUndici`.
 * - `packages/platform/test/HttpClient.test.ts`: the cases that test client behaviour independent of the transport
 *   (cookies, schemaJson, mapRequest order, streaming request bodies, URL params, matchStatus, followRedirects,
 *   retryTransient); the peer runs them over `FetchHttpClient.layer` or a fake `HttpClient.make`, here over both
 *   undici layers.
 *
 * Mapping: the peer's internet hosts are rewritten to a loopback server giving the same responses: `www.google.com`
 * is `/` (an HTML page holding "Google", 80 KiB as Google's home page is, so an unread one fills undici's read-ahead,
 * with Set-Cookie headers shaped as Google's: `expires=` dates holding commas, `domain`, `Secure`), `google.com` is
 * `/google.com/`, which redirects (301) to `/` as google.com redirects to www.google.com; `jsonplaceholder.typicode.com`
 * is `/todos/1` (the todo 1 JSON), `POST /todos` (201, the body with `id: 201`) and `HEAD /todos` (200, a JSON
 * content type and the length of the list, no body). The peer's `retryTransient` fake client (`HttpClient.make`
 * answering a fixed status, counting attempts in a `Ref`) is a route answering `?code=` and counting hits; its
 * `it.flakyTest` and 30 s timeouts (for the internet) are dropped.
 *
 * Deliberate differences:
 * - "interrupt": the peer runs `Effect.timeout(1)` on the live clock against google.com; here the server never
 *   answers and the TestClock passes the millisecond once the request has arrived (no real sleep). Both transports
 *   are also checked to close the connection.
 * - "ClientRequest parses URL instances": the peer checks `UrlParams.makeUrl` only; here the request is also sent,
 *   and the server must see the path and both query params. `UndiciHttpClient` sends no fragment (its module doc says
 *   so); `layerUndici` sends `#hash` in the request line, and the reference run asserts that.
 * - The cookies case also checks the cookie header is not empty and that the server received it (the peer's passes
 *   vacuously when Google sets no cookie).
 * - "streamBody accesses the current runtime" also checks the server received the streamed body.
 *
 * Not ported: platform's "google", "google stream", "jsonplaceholder" and "jsonplaceholder schemaFunction" (the same
 * programs as platform-node's "google", "google stream", "jsonplaceholder" and "jsonplaceholder schemaBodyJson",
 * ported once); "appendUrl" (6 cases) and "ClientRequest redacts headers": pure `HttpClientRequest` values, no
 * transport involved; "fetch removes content-length header": a `FetchHttpClient`-only behaviour (its `RequestInit`).
 */
import {
  Cookies,
  HttpClient,
  type HttpClientError,
  HttpClientRequest,
  HttpClientResponse,
  UrlParams
} from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { UndiciHttpClient } from "@sturdy/node"
import type { Layer } from "effect"
import {
  Deferred,
  Effect,
  Either,
  Exit,
  Fiber,
  Logger,
  pipe,
  Ref,
  Schema,
  type Scope,
  Stream,
  Struct,
  TestClock
} from "effect"
import type * as Http from "node:http"
import { type Handler, json, type LoopbackServer, start } from "../../../test/utils/loopbackServer.js"

const Todo = Schema.Struct({
  userId: Schema.Number,
  id: Schema.Number,
  title: Schema.String,
  completed: Schema.Boolean
})
const TodoWithoutId = Schema.Struct({
  ...Struct.omit(Todo.fields, "id")
})
const OkTodo = Schema.Struct({
  status: Schema.Literal(200),
  body: Todo
})

const todo1 = { userId: 1, id: 1, title: "delectus aut autem", completed: false }

// ---------------------------------------------------------------------------------------------------------------------
// The loopback stand-ins for www.google.com, google.com and jsonplaceholder.typicode.com
// ---------------------------------------------------------------------------------------------------------------------

const googlePage = `<!doctype html><html itemscope="" itemtype="http://schema.org/WebPage" lang="en"><head>` +
  `<title>Google</title></head><body>${"<div>Google Search</div>".repeat(3500)}</body></html>`

const googleCookies = [
  "AEC=AVh_V2h-sturdy-test; expires=Thu, 03-Jun-2027 22:00:00 GMT; path=/; domain=.google.com; Secure; HttpOnly; " +
  "SameSite=lax",
  "NID=525=sturdy-test-nid; expires=Sun, 06-Jun-2027 22:00:00 GMT; path=/; domain=.google.com; HttpOnly"
]

const google: Handler = (_, response) => {
  response.writeHead(200, {
    "content-type": "text/html; charset=ISO-8859-1",
    "content-length": Buffer.byteLength(googlePage),
    "set-cookie": googleCookies
  })
  response.end(googlePage)
}

const redirectTo = (path: string): Handler => (request, response) => {
  response.writeHead(301, { location: `http://${request.headers.host}${path}`, "content-type": "text/html" })
  response.end(`<HTML><HEAD><TITLE>301 Moved</TITLE></HEAD><BODY>moved <A HREF="${path}">here</A></BODY></HTML>`)
}

const todos: Handler = (request, response, body) => {
  if (request.method === "POST") {
    let todo: object
    try {
      todo = JSON.parse(body)
    } catch {
      return json(400, {})(request, response, body)
    }
    return json(201, { ...todo, id: 201 })(request, response, body)
  }
  // GET and HEAD: node:http writes no body for HEAD, but the headers of the GET
  return json(200, [todo1], { "content-type": "application/json; charset=utf-8" })(request, response, body)
}

const status: Handler = (request, response) => {
  const code = Number(new URL(request.url ?? "/", "http://127.0.0.1").searchParams.get("code"))
  response.writeHead(code)
  response.end()
}

const echoUrl: Handler = (request, response) => json(200, { url: request.url })(request, response, "")

interface Hooks {
  /** called when a request to `/hang` arrives, with its socket */
  onHang?: (request: Http.IncomingMessage) => void
}

const serve = (hooks: Hooks = {}): Effect.Effect<LoopbackServer, never, Scope.Scope> =>
  start({
    "/": google,
    "/google.com/": redirectTo("/"),
    "/todos/1": json(200, todo1, { "content-type": "application/json; charset=utf-8" }),
    "/todos": todos,
    "/status": status,
    "/foo": echoUrl,
    "/hang": (request) => hooks.onHang?.(request)
  })

const makeJsonPlaceholder = (base: string) =>
  Effect.gen(function*() {
    const defaultClient = yield* HttpClient.HttpClient
    const client = defaultClient.pipe(
      HttpClient.mapRequest(HttpClientRequest.prependUrl(base))
    )
    const createTodo = (todo: typeof TodoWithoutId.Type) =>
      HttpClientRequest.post("/todos").pipe(
        HttpClientRequest.schemaBodyJson(TodoWithoutId)(todo),
        Effect.flatMap(client.execute),
        Effect.flatMap(HttpClientResponse.schemaBodyJson(Todo))
      )
    return { client, createTodo } as const
  })

const layers: ReadonlyArray<{
  readonly name: string
  readonly layer: Layer.Layer<HttpClient.HttpClient>
  /** what the server sees of `/foo?foo=bar&baz=qux#hash` (documented in `UndiciHttpClient`'s module doc) */
  readonly requestTarget: string
}> = [
  {
    name: "@sturdy/node UndiciHttpClient.layer()",
    layer: UndiciHttpClient.layer(),
    requestTarget: "/foo?foo=bar&baz=qux"
  },
  {
    name: "NodeHttpClient.layerUndici (reference)",
    layer: NodeHttpClient.layerUndici,
    requestTarget: "/foo?foo=bar&baz=qux#hash"
  }
]

for (const { layer, name, requestTarget } of layers) {
  // -------------------------------------------------------------------------------------------------------------------
  // packages/platform-node/test/HttpClient.test.ts
  // -------------------------------------------------------------------------------------------------------------------
  describe(`NodeHttpClient - ${name}`, () => {
    it.scoped("google", () =>
      Effect.gen(function*() {
        const server = yield* serve()
        const response = yield* HttpClient.get(`${server.url}/`).pipe(
          Effect.flatMap((_) => _.text)
        )
        expect(response).toContain("Google")
        expect(response).toBe(googlePage)
      }).pipe(Effect.provide(layer)))

    it.scoped("google followRedirects", () =>
      Effect.gen(function*() {
        const server = yield* serve()
        const client = (yield* HttpClient.HttpClient).pipe(
          HttpClient.followRedirects()
        )
        const response = yield* client.get(`${server.url}/google.com/`).pipe(
          Effect.flatMap((_) => _.text)
        )
        expect(response).toContain("Google")
        expect(server.requests.map((request) => request.url)).toEqual(["/google.com/", "/"])
      }).pipe(Effect.provide(layer)))

    it.scoped("google stream", () =>
      Effect.gen(function*() {
        const server = yield* serve()
        const client = yield* HttpClient.HttpClient
        const response = yield* client.get(`${server.url}/`).pipe(
          Effect.map((_) => _.stream),
          Stream.unwrapScoped,
          Stream.runFold("", (a, b) => a + new TextDecoder().decode(b))
        )
        expect(response).toContain("Google")
        expect(response).toBe(googlePage)
      }).pipe(Effect.provide(layer)))

    it.scoped("jsonplaceholder", () =>
      Effect.gen(function*() {
        const server = yield* serve()
        const jp = yield* makeJsonPlaceholder(server.url)
        const response = yield* jp.client.get("/todos/1").pipe(
          Effect.flatMap(HttpClientResponse.schemaBodyJson(Todo))
        )
        expect(response.id).toBe(1)
      }).pipe(Effect.provide(layer)))

    it.scoped("jsonplaceholder schemaBodyJson", () =>
      Effect.gen(function*() {
        const server = yield* serve()
        const jp = yield* makeJsonPlaceholder(server.url)
        const response = yield* jp.createTodo({
          userId: 1,
          title: "test",
          completed: false
        })
        expect(response.title).toBe("test")
        expect(server.requests[0].headers["content-type"]).toBe("application/json")
        expect(JSON.parse(server.requests[0].body)).toEqual({ userId: 1, title: "test", completed: false })
      }).pipe(Effect.provide(layer)))

    it.scoped("head request with schemaJson", () =>
      Effect.gen(function*() {
        const server = yield* serve()
        const client = yield* HttpClient.HttpClient
        const response = yield* client.head(`${server.url}/todos`).pipe(
          Effect.flatMap(
            HttpClientResponse.schemaJson(Schema.Struct({ status: Schema.Literal(200) }))
          )
        )
        expect(response).toEqual({ status: 200 })
        expect(server.requests.map((request) => request.method)).toEqual(["HEAD"])
      }).pipe(Effect.provide(layer)))

    // The peer: `it.live`, `Effect.timeout(1)` against google.com. Here the server never answers and the TestClock
    // passes the millisecond once the request is there.
    it.scoped("interrupt", () =>
      Effect.gen(function*() {
        const arrived = yield* Deferred.make<void>()
        const closed = yield* Deferred.make<void>()
        const server = yield* serve({
          onHang: (request) => {
            request.socket.once("close", () => Deferred.unsafeDone(closed, Exit.void))
            Deferred.unsafeDone(arrived, Exit.void)
          }
        })
        const client = yield* HttpClient.HttpClient
        const fiber = yield* client.get(`${server.url}/hang`).pipe(
          Effect.flatMap((_) => _.text),
          Effect.timeout(1),
          Effect.asSome,
          Effect.catchTag("TimeoutException", () => Effect.succeedNone),
          Effect.fork
        )
        yield* Deferred.await(arrived)
        yield* TestClock.adjust(1)
        const response = yield* Fiber.join(fiber)
        expect(response._tag).toEqual("None")
        // the interrupted request's connection is closed, not left waiting for the answer
        yield* Deferred.await(closed)
      }).pipe(Effect.provide(layer)))

    it.scoped("close early", () =>
      Effect.gen(function*() {
        const server = yield* serve()
        const response = yield* HttpClient.get(`${server.url}/`)
        expect(response.status).toBe(200)
      }).pipe(Effect.provide(layer)))
  })

  // -------------------------------------------------------------------------------------------------------------------
  // packages/platform/test/HttpClient.test.ts: the cases about the client, independent of the transport
  // -------------------------------------------------------------------------------------------------------------------
  describe(`HttpClient - ${name}`, () => {
    it.scoped("google withCookiesRef", () =>
      Effect.gen(function*() {
        const server = yield* serve()
        const ref = yield* Ref.make(Cookies.empty)
        const client = (yield* HttpClient.HttpClient).pipe(
          HttpClient.withCookiesRef(ref)
        )
        yield* pipe(
          HttpClientRequest.get(`${server.url}/`),
          client.execute
        )
        const cookieHeader = yield* pipe(Ref.get(ref), Effect.map(Cookies.toCookieHeader))
        let sent: string | undefined
        yield* pipe(
          HttpClientRequest.get(`${server.url}/`),
          client.pipe(
            HttpClient.tapRequest((req) =>
              Effect.sync(() => {
                sent = req.headers.cookie
              })
            )
          ).execute
        )
        expect(sent).toBe(cookieHeader)
        // both of Google's cookies were kept whole (their `expires=` dates hold commas), and sent back
        expect(cookieHeader).toBe("AEC=AVh_V2h-sturdy-test; NID=525=sturdy-test-nid")
        expect(server.requests[1].headers.cookie).toBe(cookieHeader)
      }).pipe(Effect.provide(layer)))

    it.scoped("jsonplaceholder schemaJson", () =>
      Effect.gen(function*() {
        const server = yield* serve()
        const jp = yield* makeJsonPlaceholder(server.url)
        const response = yield* jp.client.get("/todos/1").pipe(
          Effect.flatMap(HttpClientResponse.schemaJson(OkTodo))
        )
        expect(response.body.id).toBe(1)
      }).pipe(Effect.provide(layer)))

    it.scoped("request processing order", () =>
      Effect.gen(function*() {
        const server = yield* serve()
        const defaultClient = yield* HttpClient.HttpClient
        const client = defaultClient.pipe(
          HttpClient.mapRequest(HttpClientRequest.prependUrl(`127.0.0.1:${server.port}`)),
          HttpClient.mapRequest(HttpClientRequest.prependUrl("http://"))
        )
        const response = yield* client.get("/todos/1").pipe(
          Effect.flatMap(HttpClientResponse.schemaBodyJson(Todo))
        )
        expect(response.id).toBe(1)
      }).pipe(Effect.provide(layer)))

    it.scoped("streamBody accesses the current runtime", () =>
      Effect.gen(function*() {
        const server = yield* serve()
        const defaultClient = yield* HttpClient.HttpClient

        const requestStream = Stream.fromIterable(["hello", "world"]).pipe(
          Stream.tap((_) => Effect.log(_)),
          Stream.encodeText
        )

        const logs: Array<unknown> = []
        const logger = Logger.make(({ message }) => logs.push(message))

        yield* HttpClientRequest.post(`${server.url}/todos`).pipe(
          HttpClientRequest.bodyStream(requestStream),
          defaultClient.execute,
          Effect.provide(Logger.replace(Logger.defaultLogger, logger))
        )

        expect(logs).toEqual([["hello"], ["world"]])
        expect(server.requests[0].body).toBe("helloworld")
      }).pipe(Effect.provide(layer)))

    it.scoped("ClientRequest parses URL instances", () =>
      Effect.gen(function*() {
        const server = yield* serve()
        const request = HttpClientRequest.get(new URL(`${server.url}/?foo=bar#hash`)).pipe(
          HttpClientRequest.appendUrl("/foo"),
          HttpClientRequest.setUrlParam("baz", "qux")
        )
        expect(UrlParams.makeUrl(request.url, request.urlParams, request.hash)).toEqual(
          Either.right(new URL(`${server.url}/foo?foo=bar&baz=qux#hash`))
        )
        const client = yield* HttpClient.HttpClient
        const seen = yield* client.execute(request).pipe(
          Effect.flatMap(HttpClientResponse.schemaBodyJson(Schema.Struct({ url: Schema.String })))
        )
        // layerUndici puts the fragment in the request line; UndiciHttpClient keeps it (RFC 3986 §3.5)
        expect(seen.url).toBe(requestTarget)
      }).pipe(Effect.provide(layer)))

    it.scoped("matchStatus", () =>
      Effect.gen(function*() {
        const server = yield* serve()
        const jp = yield* makeJsonPlaceholder(server.url)
        const response = yield* jp.client.get("/todos/1").pipe(
          Effect.flatMap(
            HttpClientResponse.matchStatus({
              "2xx": HttpClientResponse.schemaBodyJson(Todo),
              404: () => Effect.fail("not found"),
              orElse: () => Effect.fail("boom")
            })
          )
        )
        expect(response).toEqual({ id: 1, userId: 1, title: "delectus aut autem", completed: false })
      }).pipe(Effect.provide(layer)))

    it.scoped("followRedirects", () =>
      Effect.gen(function*() {
        const server = yield* serve()
        const defaultClient = yield* HttpClient.HttpClient
        const client = defaultClient.pipe(HttpClient.followRedirects())

        const response = yield* client.get(`${server.url}/google.com/`)
        expect(response.request.url).toBe(`${server.url}/`)
        expect(response.status).toBe(200)
      }).pipe(Effect.provide(layer)))

    describe("retryTransient", () => {
      const attemptsAt = (
        code: number,
        options: { readonly times: number; readonly while?: (error: HttpClientError.HttpClientError) => boolean }
      ) =>
        Effect.gen(function*() {
          const server = yield* serve()
          const client = yield* HttpClient.HttpClient
          const retryClient = client.pipe(HttpClient.retryTransient(options))
          yield* retryClient.get(`${server.url}/status?code=${code}`).pipe(Effect.ignore)
          return server.hits("/status")
        }).pipe(Effect.provide(layer))

      for (
        const [code, label] of [
          [408, "Request Timeout"],
          [429, "Too Many Requests"],
          [500, "Internal Server Error"],
          [502, "Bad Gateway"],
          [503, "Service Unavailable"],
          [504, "Gateway Timeout"]
        ] as const
      ) {
        it.scoped(`retries ${code} ${label}`, () =>
          Effect.gen(function*() {
            expect(yield* attemptsAt(code, { times: 2 })).toBe(3)
          }))
      }

      for (
        const [code, label] of [
          [200, "OK"],
          [501, "Not Implemented"],
          [505, "HTTP Version Not Supported"]
        ] as const
      ) {
        it.scoped(`does NOT retry ${code} ${label}`, () =>
          Effect.gen(function*() {
            expect(yield* attemptsAt(code, { times: 2 })).toBe(1)
          }))
      }

      it.scoped("while predicate only applies to error retries, not response retries", () =>
        Effect.gen(function*() {
          const errorOnlyPredicate = (e: unknown) => e !== null && typeof e === "object" && "_tag" in e
          expect(yield* attemptsAt(503, { times: 2, while: errorOnlyPredicate })).toBe(3)
        }))
    })
  })
}
