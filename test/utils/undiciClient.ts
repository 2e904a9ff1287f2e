import { HttpClient, HttpClientRequest } from "@effect/platform"
import type { HttpFailure } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { Context, Effect, Either, Layer, type Scope } from "effect"

/** Sturdy's undici transport, built in the test's scope, so that it (and its connection pool) lives as long as the test. */
export const undiciClient: Effect.Effect<HttpClient.HttpClient, never, Scope.Scope> = Effect.map(
  Layer.build(UndiciHttpClient.layer()),
  Context.get(HttpClient.HttpClient)
)

/** A GET of `path` on a loopback server. */
export const getFrom = (server: { readonly url: string }, path = "/"): HttpClientRequest.HttpClientRequest =>
  HttpClientRequest.get(`${server.url}${path}`)

/** The typed failure `effect` fails with; a success is an error of the test, which shows what came back. */
export const failureIn = <A>(
  effect: Effect.Effect<A, HttpFailure.HttpFailure>
): Effect.Effect<HttpFailure.HttpFailure> =>
  Effect.map(Effect.either(effect), (either) => {
    if (Either.isRight(either)) throw new Error(`expected a failure, got ${JSON.stringify(either.right)}`)
    return either.left
  })
