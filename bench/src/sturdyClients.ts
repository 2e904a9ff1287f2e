import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Attempt from "@sturdy/http/Attempt"
import * as HttpFailure from "@sturdy/http/HttpFailure"
import * as UndiciHttpClient from "@sturdy/node/UndiciHttpClient"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Bulkhead from "@sturdy/policy/Bulkhead"
import * as CircuitBreaker from "@sturdy/policy/CircuitBreaker"
import * as Deadline from "@sturdy/policy/Deadline"
import * as Retry from "@sturdy/policy/Retry"
import * as RetryBudget from "@sturdy/policy/RetryBudget"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { maxSockets, path } from "./clients.js"
import { effectClient } from "./effectClient.js"
import type { Entry } from "./harness.js"
import { Payload } from "./payload.js"

const transport = () => UndiciHttpClient.layer({ connections: maxSockets })

/**
 * Sturdy's transport in place of the platform's, with the platform's own status filter and decoding.
 */
export const sturdyTransport: Entry = {
  name: "sturdy transport",
  description: "`@sturdy/node` `UndiciHttpClient.layer` + `filterStatusOk` + `schemaBodyJson`",
  setup: (url) =>
    effectClient(
      transport(),
      Effect.map(HttpClient.HttpClient, (client) => {
        const ok = HttpClient.filterStatusOk(client)
        return ok.get(url + path).pipe(Effect.flatMap(HttpClientResponse.schemaBodyJson(Payload)))
      })
    )
}

/**
 * One Sturdy attempt (send, status, bounded read, Schema decode) with no policy around it.
 */
export const sturdyAttempt: Entry = {
  name: "sturdy attempt",
  description: "`Attempt.json` (send + status + bounded read + Schema decode) on the Sturdy transport, no policy",
  setup: (url) =>
    effectClient(
      transport(),
      Effect.map(HttpClient.HttpClient, (client) => {
        const request = HttpClientRequest.get(url + path)
        return Attempt.json(client, request, Payload)
      })
    )
}

const isRetryable = (failure: unknown): boolean =>
  HttpFailure.isHttpFailure(failure) && HttpFailure.isTransient(failure)

const delayHint = (failure: unknown) =>
  HttpFailure.isHttpFailure(failure) ? HttpFailure.retryAfter(failure) : Option.none()

/**
 * The standard stack: a total deadline, retries with backoff under a retry budget, a circuit breaker, a bulkhead,
 * and an attempt with its own timeout and Schema decoding.
 */
export const sturdyStandard: Entry = {
  name: "sturdy standard stack",
  description:
    "`Attempt.json` with a 5 s attempt timeout, inside a bulkhead (64), a circuit breaker, `Retry.retry` (exponential backoff, 2 retries, retry budget) and a 10 s `Deadline`",
  setup: (url) =>
    effectClient(
      Layer.merge(transport(), RetryBudget.layer()),
      Effect.gen(function*() {
        const client = yield* HttpClient.HttpClient
        const breaker = yield* CircuitBreaker.make("bench", { consecutiveFailures: 5 })
        const bulkhead = yield* Bulkhead.make({ key: "bench", maxConcurrent: maxSockets, maxQueued: 1_000 })
        const request = HttpClientRequest.get(url + path)
        return Attempt.json(client, request, Payload, { timeout: "5 seconds" }).pipe(
          Bulkhead.withBulkhead(bulkhead),
          CircuitBreaker.withBreaker(breaker),
          Retry.retry({
            schedule: Backoff.exponential({ maxAttempts: 3 }),
            while: isRetryable,
            delayHint,
            budget: "bench"
          }),
          Deadline.withDeadline("10 seconds")
        )
      })
    )
}

/**
 * The Sturdy contenders.
 */
export const sturdy: ReadonlyArray<Entry> = [sturdyTransport, sturdyAttempt, sturdyStandard]
