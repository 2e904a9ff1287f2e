/**
 * Typed errors: every way an HTTP request can fail is its own tagged error, so one `Effect.catchTags` handles
 * each kind, and the compiler tells you when one is missing.
 *
 * A local FaultServer answers each `/users/:n` path with a different fault; the program asks for every one of
 * them and prints which tag came back, whether it is worth retrying and whether the server may have seen it.
 *
 * Run: `pnpm example examples/typed-errors.ts`
 */
import { HttpClient } from "@effect/platform"
import { NodeRuntime } from "@effect/platform-node"
import { HttpFailure, SturdyClient } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { FaultScript, FaultServer } from "@sturdy/testing"
import { Console, Duration, Effect, Option, Schema } from "effect"
import { pathToFileURL } from "node:url"

const User = Schema.Struct({ id: Schema.Number, name: Schema.String })
const ApiError = Schema.Struct({ error: Schema.String })

const routes = FaultScript.routes({
  "GET /users/1": FaultScript.json({ id: 1, name: "Ada" }),
  "GET /users/2": FaultScript.json({ error: "no such user" }, { status: 404 }),
  "GET /users/3": FaultScript.json({ id: "three", name: "Grace" }),
  "GET /users/4": FaultScript.malformedJson(),
  "GET /users/5": FaultScript.status(503, { retryAfter: 2 }),
  "GET /users/6": FaultScript.status(429, { retryAfter: 7 }),
  "GET /users/7": FaultScript.text("<html>Bad gateway</html>", { contentType: "text/html" }),
  "GET /users/8": FaultScript.reset("beforeHeaders"),
  "GET /users/9": FaultScript.hang,
  "GET /users/10": FaultScript.truncated({ body: { id: 10, name: "Barbara Liskov" } })
})

/** What the caller decided for one failure kind: one handler per tag, no `instanceof`, no status sniffing. */
const describe = (self: Effect.Effect<typeof User.Type, HttpFailure.HttpFailure>): Effect.Effect<string> =>
  self.pipe(
    Effect.map((user) => `ok: ${user.name}`),
    Effect.catchTags({
      ConnectionError: (e) => Effect.succeed(`ConnectionError (${e.reason})`),
      Timeout: (e) => Effect.succeed(`Timeout (${e.phase}, after ${Duration.format(e.timeout)})`),
      ClientError: (e) =>
        Effect.succeed(
          `ClientError ${e.status}: ${
            Option.match(Schema.decodeUnknownOption(ApiError)(Option.getOrUndefined(e.payload)), {
              onNone: () => "no error body",
              onSome: (body) => body.error
            })
          }`
        ),
      RateLimited: (e) =>
        Effect.succeed(
          `RateLimited, retry after ${Option.match(e.retryAfter, { onNone: () => "?", onSome: Duration.format })}`
        ),
      ServerError: (e) =>
        Effect.succeed(
          `ServerError ${e.status}, retry after ${
            Option.match(e.retryAfter, { onNone: () => "?", onSome: Duration.format })
          }`
        ),
      UnexpectedStatus: (e) => Effect.succeed(`UnexpectedStatus ${e.status}`),
      BodyTruncated: (e) =>
        Effect.succeed(`BodyTruncated (${e.receivedBytes ?? "?"} of ${e.expectedBytes ?? "?"} bytes)`),
      BodyUndecodable: (e) => Effect.succeed(`BodyUndecodable (${e.contentEncoding})`),
      BodyTooLarge: (e) => Effect.succeed(`BodyTooLarge (limit ${e.limitBytes} bytes)`),
      UnexpectedContentType: (e) => Effect.succeed(`UnexpectedContentType "${e.contentType}"`),
      InvalidJson: (e) => Effect.succeed(`InvalidJson (${e.detail})`),
      SchemaMismatch: (e) => Effect.succeed(`SchemaMismatch at ${e.path}: ${e.issue}`),
      InvalidRequest: (e) => Effect.succeed(`InvalidRequest (${e.reason})`),
      RedirectFailed: (e) => Effect.succeed(`RedirectFailed (${e.reason})`),
      AuthenticationFailed: (e) => Effect.succeed(`AuthenticationFailed (${e.reason})`)
    })
  )

/** The classification helpers: what a retry policy would look at. */
const classify = (self: Effect.Effect<unknown, HttpFailure.HttpFailure>): Effect.Effect<string> =>
  self.pipe(
    Effect.as("-"),
    Effect.catchAll((e) =>
      Effect.succeed(
        `transient=${HttpFailure.isTransient(e) ? "yes" : "no "}  reached server=${
          HttpFailure.mayHaveReachedServer(e) ? "maybe" : "no   "
        }`
      )
    )
  )

export const main = Effect.gen(function*() {
  const server = yield* FaultServer.make(routes)
  // a port nobody listens on: start a server and stop it again
  const closedUrl = yield* Effect.scoped(Effect.map(FaultServer.make(FaultScript.routes({})), (s) => s.url))

  // no Policy: each call is one attempt, failing with HttpFailure only
  const http = yield* HttpClient.HttpClient
  const api = SturdyClient.makeWith(http, { baseUrl: server.url, timeout: "300 millis", errorSchema: ApiError })
  const offline = SturdyClient.makeWith(http, { baseUrl: closedUrl, timeout: "300 millis" })

  const calls: ReadonlyArray<readonly [string, Effect.Effect<typeof User.Type, HttpFailure.HttpFailure>]> = [
    ...Array.from({ length: 10 }, (_, i) => {
      const path = `/users/${i + 1}`
      return [`GET ${path}`, api.get(path, { schema: User })] as const
    }),
    ["GET (closed port)", offline.get("/users/1", { schema: User })],
    ["GET /users/1\\r\\n", api.get("/users/1", { schema: User, headers: { "x-trace": "a\r\nb" } })]
  ]

  yield* Console.log("request              outcome                                              classification")
  yield* Console.log(
    "-------------------  ---------------------------------------------------  ------------------------------"
  )
  for (const [label, call] of calls) {
    const result = yield* Effect.either(call)
    const [outcome, classification] = yield* Effect.all([describe(result), classify(result)])
    yield* Console.log(`${label.padEnd(19)}  ${outcome.padEnd(51)}  ${classification}`)
  }

  // The message names the method and the (redacted) URL, never a secret.
  const secret = yield* api.get("/users/5?api_key=s3cret").pipe(Effect.flip)
  yield* Console.log(`\nmessage: ${secret.message}`)
}).pipe(Effect.scoped, Effect.provide(UndiciHttpClient.layer()))

// runs when executed, not when the smoke test imports `main`
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) NodeRuntime.runMain(main)
