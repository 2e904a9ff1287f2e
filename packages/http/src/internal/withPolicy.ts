import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import type * as HttpFailure from "../HttpFailure.js"
import type * as P from "../Policy.js"
import * as attempt from "./attempt.js"
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
// Attempt's status failure, remembered with the response so that the call can return it if the policy gives up.
const attemptOnce = <R>(
  client: HttpClient.HttpClient.With<HttpClientError.HttpClientError, R>,
  request: HttpClientRequest.HttpClientRequest,
  failed: Array<readonly [HttpFailure.StatusFailure, HttpClientResponse.HttpClientResponse]>
): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpFailure.HttpFailure, R> =>
  client.execute(request).pipe(
    Effect.catchAll(attempt.fromClientError),
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
  ) => <R>(
    self: HttpClient.HttpClient.With<HttpClientError.HttpClientError, R>
  ) => HttpClient.HttpClient.With<HttpClientError.HttpClientError, R>,
  <R>(
    self: HttpClient.HttpClient.With<HttpClientError.HttpClientError, R>,
    policy: P.Policy
  ) => HttpClient.HttpClient.With<HttpClientError.HttpClientError, R>
>(2, <R>(
  self: HttpClient.HttpClient.With<HttpClientError.HttpClientError, R>,
  policy: P.Policy
): HttpClient.HttpClient.With<HttpClientError.HttpClientError, R> =>
  HttpClient.makeWith<never, never, HttpClientError.HttpClientError, R>(
    (requestEffect) =>
      Effect.flatMap(requestEffect, (request) =>
        Effect.suspend(() => {
          const failed: Array<readonly [HttpFailure.StatusFailure, HttpClientResponse.HttpClientResponse]> = []
          return Effect.catchAll(
            policy.run(request, (ready) => attemptOnce(self, ready, failed)),
            (failure): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError> => {
              if (isStatusFailure(failure)) {
                // the policy gave up on a status: the caller gets the last response with it, to decode as it would
                for (let i = failed.length - 1; i >= 0; i--) {
                  const [kept, response] = failed[i]
                  if (kept._tag === failure._tag && kept.status === failure.status) return Effect.succeed(response)
                }
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
