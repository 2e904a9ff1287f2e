import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as HttpFailure from "../HttpFailure.js"
import type * as P from "../Policy.js"
import * as attempt from "./attempt.js"
import * as auth from "./auth.js"
import * as classification from "./policyClassification.js"
import * as redaction from "./redaction.js"

// Statuses whose response may not carry a body (the Fetch standard's null body statuses).
const nullBodyStatuses = new Set([101, 103, 204, 205, 304])

// The response of a failed status with its body read into memory, so that it can be read again once the policy
// has given up (a transport's body is a stream that one read consumes).
const buffered = (
  response: HttpClientResponse.HttpClientResponse,
  body: Uint8Array
): HttpClientResponse.HttpClientResponse =>
  HttpClientResponse.fromWeb(
    response.request,
    new Response(nullBodyStatuses.has(response.status) || body.byteLength === 0 ? null : body.slice(), {
      status: response.status,
      headers: Object.entries(response.headers)
    })
  )

// One attempt: a 2xx response is returned with its body unread; any other status is read (bounded) and becomes the
// Attempt's status failure, remembered with the response so that the call can return it if the policy gives up. An
// error that is neither an `HttpClientError` nor an `HttpFailure` (a token source's, `Auth.Unauthorized`) is judged
// as the `AuthenticationFailed` that `Auth.layerBearerFrom` folds it into, and remembered so that the caller gets it
// as it was.
const attemptOnce = <E, R>(
  client: HttpClient.HttpClient.With<E, R>,
  request: HttpClientRequest.HttpClientRequest,
  failed: Array<readonly [HttpFailure.StatusFailure, HttpClientResponse.HttpClientResponse]>,
  foreign: Map<HttpFailure.HttpFailure, E>
): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpFailure.HttpFailure, R> =>
  client.execute(request).pipe(
    Effect.catchAll((error) => {
      if (HttpClientError.isHttpClientError(error) || HttpFailure.isHttpFailure(error)) {
        return attempt.fromClientError(error)
      }
      const failure = auth.authenticationFailed(request, error)
      foreign.set(failure, error)
      return Effect.fail(failure)
    }),
    Effect.flatMap((response) => {
      if (response.status >= 200 && response.status < 300) return Effect.succeed(response)
      return Effect.flatMap(attempt.readBounded(response.request, response, attempt.defaultMaxBodyBytes), (body) => {
        // classified on a copy: a web response's body is read once, and the caller may read the kept one
        return Effect.flatMap(attempt.statusFailure(buffered(response, body), {}), (failure) => {
          failed.push([failure, buffered(response, body)])
          return Effect.fail(failure)
        })
      })
    })
  )

const isStatusFailure = (failure: P.Failure): failure is HttpFailure.StatusFailure =>
  failure._tag === "ClientError" || failure._tag === "ServerError" || failure._tag === "RateLimited" ||
  failure._tag === "UnexpectedStatus"

/** @internal */
export const withPolicy = dual<
  (
    policy: P.Policy
  ) => <E, R>(
    self: HttpClient.HttpClient.With<E, R>
  ) => HttpClient.HttpClient.With<Exclude<E, HttpFailure.HttpFailure> | HttpClientError.HttpClientError, R>,
  <E, R>(
    self: HttpClient.HttpClient.With<E, R>,
    policy: P.Policy
  ) => HttpClient.HttpClient.With<Exclude<E, HttpFailure.HttpFailure> | HttpClientError.HttpClientError, R>
>(2, <E, R>(
  self: HttpClient.HttpClient.With<E, R>,
  policy: P.Policy
): HttpClient.HttpClient.With<Exclude<E, HttpFailure.HttpFailure> | HttpClientError.HttpClientError, R> =>
  HttpClient.makeWith<never, never, Exclude<E, HttpFailure.HttpFailure> | HttpClientError.HttpClientError, R>(
    (requestEffect) =>
      Effect.flatMap(requestEffect, (request) =>
        Effect.suspend(() => {
          const failed: Array<readonly [HttpFailure.StatusFailure, HttpClientResponse.HttpClientResponse]> = []
          const foreign = new Map<HttpFailure.HttpFailure, E>()
          return Effect.catchAll(
            policy.run(request, (ready) => attemptOnce(self, ready, failed, foreign)),
            (
              failure
            ): Effect.Effect<
              HttpClientResponse.HttpClientResponse,
              Exclude<E, HttpFailure.HttpFailure> | HttpClientError.HttpClientError
            > => {
              if (isStatusFailure(failure)) {
                // the policy gave up on a status: the caller gets the last response with it, to decode as it would
                for (let i = failed.length - 1; i >= 0; i--) {
                  const [kept, response] = failed[i]
                  if (kept._tag === failure._tag && kept.status === failure.status) return Effect.succeed(response)
                }
              }
              // the policy gave up on the client's own error: the caller gets it as the client failed with it
              if (foreign.size > 0) {
                const own = foreign.get(classification.originalOf(failure) as HttpFailure.HttpFailure)
                if (own !== undefined) return Effect.fail(own as Exclude<E, HttpFailure.HttpFailure>)
              }
              return Effect.fail(
                new HttpClientError.RequestError({
                  request: redaction.requestForError(request),
                  reason: "Transport",
                  cause: failure,
                  description: failure.message
                })
              )
            }
          )
        })),
    Effect.succeed
  ))
