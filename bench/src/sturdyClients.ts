import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Attempt from "@sturdy/http/Attempt"
import * as HttpFailure from "@sturdy/http/HttpFailure"
import * as Policy from "@sturdy/http/Policy"
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
import { cockatielUndici, maxSockets, path } from "./clients.js"
import { effectClient, type PromiseCaller } from "./effectClient.js"
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

// the attempt's setup for a Promise caller of either kind
const attemptVia = (caller: PromiseCaller): Entry["setup"] => (url) =>
  effectClient(
    transport(),
    Effect.map(HttpClient.HttpClient, (client) => {
      const request = HttpClientRequest.get(url + path)
      return Attempt.json(client, request, Payload)
    }),
    caller
  )

/**
 * One Sturdy attempt (send, status, bounded read, Schema decode) with no policy around it.
 */
export const sturdyAttempt: Entry = {
  name: "sturdy attempt",
  description: "`Attempt.json` (send + status + bounded read + Schema decode) on the Sturdy transport, no policy",
  setup: attemptVia("runPromise")
}

/**
 * The same attempt, each request run through a `Runner` (`@sturdy/policy`) rather than a root fiber of its own.
 */
export const sturdyAttemptViaRunner: Entry = {
  name: "sturdy attempt via Runner",
  description: "the same, each request run by a `Runner` (a pool of long-lived fibers)",
  setup: attemptVia("Runner")
}

const isRetryable = (failure: unknown): boolean =>
  HttpFailure.isHttpFailure(failure) && HttpFailure.isTransient(failure)

const delayHint = (failure: unknown) =>
  HttpFailure.isHttpFailure(failure) ? HttpFailure.retryAfter(failure) : Option.none()

/**
 * The layers of the standard stack, innermost first; the breakdown adds them one at a time.
 */
export const stackLayers = [
  "attempt timeout",
  "bulkhead",
  "circuit breaker",
  "retry",
  "retry budget",
  "deadline"
] as const

/**
 * A stack layer.
 */
export type StackLayer = typeof stackLayers[number]

/**
 * `Attempt.json` on the Sturdy transport wrapped in the given layers of the standard stack, in the standard order.
 */
export const stackEntry = (name: string, description: string, layers: ReadonlyArray<StackLayer>): Entry => ({
  name,
  description,
  setup: (url) =>
    effectClient(
      Layer.merge(transport(), RetryBudget.layer()),
      Effect.gen(function*() {
        const client = yield* HttpClient.HttpClient
        const breaker = yield* CircuitBreaker.make("bench", { consecutiveFailures: 5 })
        const bulkhead = yield* Bulkhead.make({ key: "bench", maxConcurrent: maxSockets, maxQueued: 1_000 })
        const request = HttpClientRequest.get(url + path)
        const has = (layer: StackLayer) => layers.includes(layer)
        const attempt = Attempt.json(client, request, Payload, has("attempt timeout") ? { timeout: "5 seconds" } : {})
        const bulkheaded = has("bulkhead") ? Bulkhead.withBulkhead(attempt, bulkhead) : attempt
        const broken = has("circuit breaker") ? CircuitBreaker.withBreaker(bulkheaded, breaker) : bulkheaded
        const schedule = Backoff.exponential({ maxAttempts: 3 })
        const retried = !has("retry")
          ? broken
          : has("retry budget")
          ? Retry.retry(broken, { schedule, while: isRetryable, delayHint, budgetKey: "bench" })
          : Retry.retry(broken, { schedule, while: isRetryable, delayHint })
        // Every wait inside bounds itself by an established deadline (the transport, Retry's sleeps, the bulkhead
        // queue), so it needs no timer of its own: `withDeadline` would race one against the whole call.
        return has("deadline") ? Deadline.establish(retried, "10 seconds") : retried
      })
    )
})

/**
 * The standard stack: a total deadline, retries with backoff under a retry budget, a circuit breaker, a bulkhead,
 * and an attempt with its own timeout and Schema decoding.
 */
export const sturdyStandard: Entry = stackEntry(
  "sturdy standard stack",
  "`Attempt.json` with a 5 s attempt timeout, inside a bulkhead (64 running, 1,000 queued), a circuit breaker " +
    "(5 consecutive failures), `Retry.retry` (`Backoff.exponential`, 3 attempts, transient failures, Retry-After, " +
    "retry budget) and a 10 s deadline (`Deadline.establish`: enforced by the transport, Retry and the bulkhead)",
  stackLayers
)

// the pipeline's setup for a Promise caller of either kind
const policyPipelineVia = (caller: PromiseCaller): Entry["setup"] => (url) =>
  effectClient(
    Layer.merge(transport(), Policy.layer()),
    Effect.map(HttpClient.HttpClient, (client) => Policy.json(client, HttpClientRequest.get(url + path), Payload)),
    caller
  )

/**
 * `@sturdy/http`'s own standard pipeline (`Policy.json` with `Policy.layer()` defaults) on the Sturdy transport.
 */
export const sturdyPolicyPipeline: Entry = {
  name: "sturdy Policy pipeline",
  description: "`Policy.json` with `Policy.layer()` defaults (30 s deadline, retry with budget, breaker, bulkhead " +
    "1,000, 10 s attempt timeout) on the Sturdy transport",
  setup: policyPipelineVia("runPromise")
}

/**
 * The same pipeline, each request run through a `Runner` (`@sturdy/policy`) rather than a root fiber of its own.
 */
export const sturdyPolicyPipelineViaRunner: Entry = {
  name: "sturdy Policy pipeline via Runner",
  description: "the same, each request run by a `Runner` (a pool of long-lived fibers)",
  setup: policyPipelineVia("Runner")
}

/**
 * Sturdy with the policies the cockatiel contender has (attempt timeout, breaker, retry), nothing else.
 */
export const sturdyCockatielSet: Entry = stackEntry(
  "sturdy with cockatiel's set",
  "`Attempt.json` with a 5 s attempt timeout, a circuit breaker and `Retry.retry`: the policies of the cockatiel row",
  ["attempt timeout", "circuit breaker", "retry"]
)

/**
 * The standard stack built up one layer at a time, from the bare attempt to the full stack, then, for a comparison
 * in the same rounds, Sturdy with cockatiel's set of policies and cockatiel itself.
 */
export const stackBreakdown: ReadonlyArray<Entry> = [
  { ...sturdyAttempt, name: "attempt" },
  ...stackLayers.map((layer, index) =>
    stackEntry(`+ ${layer}`, `the previous row with ${layer} added`, stackLayers.slice(0, index + 1))
  ),
  sturdyCockatielSet,
  cockatielUndici
]

/**
 * The Sturdy contenders.
 */
export const sturdy: ReadonlyArray<Entry> = [sturdyTransport, sturdyAttempt, sturdyStandard, sturdyPolicyPipeline]

/**
 * Sturdy's attempt and pipeline run by a `Runner` instead of `Runtime.runPromise`, after the contenders above.
 */
export const sturdyViaRunner: ReadonlyArray<Entry> = [sturdyAttemptViaRunner, sturdyPolicyPipelineViaRunner]
