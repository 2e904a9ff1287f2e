/**
 * Waiting for long-running work: an effect polled until it says done (AWS SDK waiters, Google's `done: true`), and
 * the HTTP `202 Accepted` pattern (Azure's `Operation-Location` / `Azure-AsyncOperation` / `Location` monitors;
 * `operationJson` decodes its result with a `Schema`; `initial: "any"` adds Azure Resource Manager's 200/201). Each
 * poll is one call of an effect the caller gives, so it runs through the caller's `Policy`, `Attempt` or
 * `SturdyClient`: a transient failure of one poll is retried by the policy, never by the poller, and a poll that
 * fails for good fails the wait with that failure.
 *
 * ## Waits
 *
 * The first poll goes out at once; the waits after it come from `schedule`, by default smithy's waiter backoff
 * (smithy.io/2.0/additional-specs/waiters.html#waiter-retries): the n-th wait drawn from `[minDelay, minDelay ×
 * 2^(n−1)]` while `n ≤ log2(maxDelay / minDelay) + 1`, then `maxDelay`, with smithy's defaults 2 s and 120 s. A wait
 * is never shorter than the `Retry-After` the poll gave (a `Pending` decision's `retryAfter`; the monitor's header
 * for {@link operation}), and never reaches past `maxWait`: the last wait is cut so that the last poll happens at
 * `maxWait`, as smithy's waiters do. Every wait runs on Effect's `Clock` (`TestClock` drives it) and the draw on its
 * `Random` (`Effect.withRandom` fixes it). Interrupting the wait stops it at once: no poll goes out after.
 *
 * | Outcome                                                        | Result                                     |
 * | -------------------------------------------------------------- | ------------------------------------------ |
 * | `decide` says `Done` (a monitor: `Succeeded`)                  | the value polled (the final resource)      |
 * | `decide` says `Failed` / `Canceled` (a monitor's `status`, a resource's `provisioningState`) | `PollError` `Failed` / `Canceled` |
 * | still pending at `maxWait`, or `schedule` ended                | `PollError` `TimedOut`                     |
 * | a `Retry-After` beyond `maxRetryAfter`, or one that ends past `maxWait` | `PollError` `TimedOut` at once, without waiting (as `Policy` gives up on a wait beyond its `retry.maxRetryAfter`), its `retryAfter` the server's wait |
 * | a poll fails (after the caller's retries)                      | that failure                               |
 * | a monitor URL that does not parse, is not http(s), carries `user:pass@`; a monitor `status` (a `provisioningState`) that is not a string | `PollError` `InvalidMonitor` |
 * | a monitor URL on another origin not in `allowedOrigins` / over `http:` after `https:` | `PollError` `CrossOrigin` / `Downgrade` |
 * | an option out of range (naming it), before anything is sent    | `PollError` `InvalidOptions`               |
 *
 * | Option           | Default                          | Valid values                                          |
 * | ---------------- | -------------------------------- | ----------------------------------------------------- |
 * | `minDelay`       | 2 s (smithy)                     | a positive finite duration, at most `maxDelay` and 2^31 − 1 ms |
 * | `maxDelay`       | 120 s (smithy)                   | a positive finite duration, at most 2^31 − 1 ms       |
 * | `schedule`       | smithy's backoff of `minDelay`, `maxDelay` | a `Schedule` (then without `minDelay` / `maxDelay`) |
 * | `maxWait`        | 5 minutes ({@link defaultMaxWait}) | a positive finite duration, at most 2^31 − 1 ms     |
 * | `maxRetryAfter`  | 30 s (as `Policy`'s `retry.maxRetryAfter`, `EventStream`'s) | a duration ≥ 0, at most 2^31 − 1 ms, or infinite |
 * | `allowedOrigins` | none ({@link operation})         | http(s) origins, as `Paginate.links`'                 |
 * | `finalStateVia`  | by method, as @azure/core-lro ({@link operation}) | `location`, `azure-async-operation`, `original-uri` |
 * | `maxJsonDepth`   | 512, as `Attempt`'s ({@link operationJson}) | an integer ≥ 0                            |
 * | `initial`        | `"202"`: only a 202 is polled ({@link operation}) | `"202"`, `"any"` (any 2xx, @azure/core-lro's rules: ARM's 201 + `Azure-AsyncOperation`, PUT/PATCH `provisioningState`) |
 *
 * One span `http.client.poll` (when a tracer is installed) covers the whole wait, with `sturdy.polls` and the
 * outcome; each poll's own span is its child.
 *
 * @since 0.2.0
 */
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Schedule from "effect/Schedule"
import type * as Schema from "effect/Schema"
import type * as Attempt from "./Attempt.js"
import type * as HttpFailure from "./HttpFailure.js"
import * as internal from "./internal/poll.js"

/**
 * What a poll's value says: `Done` (return it), `Pending` (wait, at least `retryAfter` when the server gave one, and
 * poll again), `Failed` or `Canceled` (fail with `PollError`; `detail` goes in its message, so keep secrets out).
 *
 * @example
 * ```ts
 * import { Poll } from "@sturdy/http"
 *
 * const decide = (job: { readonly state: string }): Poll.Decision =>
 *   job.state === "done" ? Poll.done : job.state === "error" ? Poll.failed("the job failed") : Poll.pending()
 * ```
 * @since 0.2.0
 * @category models
 */
export type Decision =
  | { readonly _tag: "Done" }
  | { readonly _tag: "Pending"; readonly retryAfter?: Duration.DurationInput | undefined }
  | { readonly _tag: "Failed"; readonly detail: string }
  | { readonly _tag: "Canceled"; readonly detail: string }

/**
 * The options of every poll (see the module's table). Values out of range fail with `PollError` `InvalidOptions`
 * before anything is sent.
 *
 * @example
 * ```ts
 * import type { Poll } from "@sturdy/http"
 *
 * const options: Poll.Options = { minDelay: "1 second", maxDelay: "30 seconds", maxWait: "10 minutes" }
 * ```
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** The first wait, and the shortest, of the default schedule (default 2 s). */
  readonly minDelay?: Duration.DurationInput | undefined
  /** The longest wait of the default schedule (default 120 s). */
  readonly maxDelay?: Duration.DurationInput | undefined
  /** The waits between polls instead of smithy's backoff; when it is done, the wait fails with `TimedOut`. */
  readonly schedule?: Schedule.Schedule<unknown, unknown> | undefined
  /** The longest time from the first poll to the last (default 5 minutes). */
  readonly maxWait?: Duration.DurationInput | undefined
  /** The longest `Retry-After` waited out (default 30 s); a longer one fails with `TimedOut` at once. */
  readonly maxRetryAfter?: Duration.DurationInput | undefined
}

/**
 * Options of {@link until}: `decide` reads each value polled.
 *
 * @example
 * ```ts
 * import { Poll } from "@sturdy/http"
 *
 * const options: Poll.UntilOptions<{ readonly done: boolean }> = {
 *   decide: (operation) => operation.done ? Poll.done : Poll.pending(),
 *   maxWait: "2 minutes"
 * }
 * ```
 * @since 0.2.0
 * @category models
 */
export interface UntilOptions<A> extends Options {
  readonly decide: (value: A) => Decision
}

/**
 * Where the final resource of an {@link operation} is read, as Azure's `final-state-via`.
 *
 * @example
 * ```ts
 * import type { Poll } from "@sturdy/http"
 *
 * const via: Poll.FinalStateVia = "original-uri"
 * ```
 * @since 0.2.0
 * @category models
 */
export type FinalStateVia = "location" | "azure-async-operation" | "original-uri"

/**
 * Options of {@link operation}.
 *
 * @example
 * ```ts
 * import type { Poll } from "@sturdy/http"
 *
 * const options: Poll.OperationOptions = { allowedOrigins: ["https://status.example.com"], maxWait: "15 minutes" }
 * ```
 * @since 0.2.0
 * @category models
 */
export interface OperationOptions extends Options {
  /** Other origins a monitor or final URL may be on (sent without credentials); default none. */
  readonly allowedOrigins?: ReadonlyArray<string> | undefined
  /**
   * Where the result is fetched once a status monitor (`Operation-Location`, `Azure-AsyncOperation`) says done; a
   * `Location` monitor's last answer is the result itself. By method, as @azure/core-lro: PUT the request's URL;
   * DELETE none (the monitor's last response); PATCH this, else the request's URL; others (POST) this, by default
   * `location` (the 202's `Location`; without one, the monitor's last response). A monitor's `resourceLocation`
   * field, when it has one, wins.
   */
  readonly finalStateVia?: FinalStateVia | undefined
  /**
   * Which first answers may start polling (default `"202"`). `"202"`: only a `202 Accepted` with a monitor; any other
   * 2xx is the result. `"any"`: every 2xx is read as @azure/core-lro reads an operation it knows to be long-running
   * (Azure Resource Manager's pattern): a monitor header (`Operation-Location`, `Azure-AsyncOperation`, `Location`)
   * is polled whatever the status (a 201 or 200 with `Azure-AsyncOperation`); without one, a PUT or PATCH (PATCH as
   * ARM's guidelines and core-lro 2's engine have it; core-lro 3 body-polls a PUT only) is polled at its own URL
   * ("body polling") until its `properties.provisioningState` (or a top-level `provisioningState`) is
   * `Succeeded`, `Failed` or `Canceled` (any case; without one, a 202 is pending and another 2xx done), and that last
   * answer is the result. Give `"any"` only for operations documented as long-running: a `201 Created` with a
   * `Location` header is then polled there too.
   */
  readonly initial?: "202" | "any" | undefined
}

/**
 * Options of {@link operationJson}: those of {@link operation}, and `maxJsonDepth` for the result's decoding.
 *
 * @example
 * ```ts
 * import type { Poll } from "@sturdy/http"
 *
 * const options: Poll.OperationJsonOptions = { initial: "any", maxWait: "30 minutes", maxJsonDepth: 64 }
 * ```
 * @since 0.2.0
 * @category models
 */
export interface OperationJsonOptions extends OperationOptions {
  /**
   * How deep the result's JSON may nest arrays and objects (default 512, as `Attempt`'s); an integer ≥ 0. A deeper
   * body fails with `InvalidJson` before it is parsed; a value out of range is `PollError` `InvalidOptions`.
   */
  readonly maxJsonDepth?: number | undefined
}

/**
 * Why a wait failed: `Failed`, `Canceled`, `TimedOut`, `CrossOrigin`, `Downgrade`, `InvalidMonitor`,
 * `InvalidOptions` (see the module's table). `polls` counts the polls made (the monitor's requests, for an
 * operation); `last` is the last value polled (`until`) or the monitor's last JSON body (`operation`), for the caller
 * to read, never in the message; `method` and `url` (redacted) are the operation's request. `retryAfter` is the
 * server's wait when it made a `TimedOut` give up early (a `Retry-After` beyond `maxRetryAfter`, or one ending past
 * `maxWait`), for a caller that reschedules the whole wait later (as `HttpFailure.retryAfter` is for a call); `None`
 * otherwise.
 *
 * @example
 * ```ts
 * import { Poll } from "@sturdy/http"
 * import { Effect } from "effect"
 *
 * declare const run: Effect.Effect<string, Poll.PollError>
 * const program = run.pipe(
 *   Effect.catchTag("PollError", (e) =>
 *     e.reason === "TimedOut" ? Effect.succeed(`still running after ${e.polls} polls`) : Effect.fail(e))
 * )
 * ```
 * @since 0.2.0
 * @category errors
 */
export const PollError: typeof internal.PollError = internal.PollError

/**
 * @since 0.2.0
 * @category errors
 */
export type PollError = internal.PollError

/**
 * The decision "done": the value polled is the result.
 *
 * @example
 * ```ts
 * import { Poll } from "@sturdy/http"
 *
 * const decide = (n: number) => n >= 3 ? Poll.done : Poll.pending()
 * ```
 * @since 0.2.0
 * @category decisions
 */
export const done: Decision = internal.done

/**
 * The decision "not yet": wait and poll again, at least `retryAfter` when given (a server's `Retry-After`).
 *
 * @example
 * ```ts
 * import { Poll } from "@sturdy/http"
 *
 * const decision = Poll.pending("5 seconds")
 * ```
 * @since 0.2.0
 * @category decisions
 */
export const pending: (retryAfter?: Duration.DurationInput) => Decision = internal.pending

/**
 * The decision "it failed": the wait fails with `PollError` `Failed` and this detail (keep secrets out).
 *
 * @example
 * ```ts
 * import { Poll } from "@sturdy/http"
 *
 * const decision = Poll.failed("the export failed: quota exceeded")
 * ```
 * @since 0.2.0
 * @category decisions
 */
export const failed: (detail: string) => Decision = internal.failed

/**
 * The decision "it was canceled": the wait fails with `PollError` `Canceled` and this detail.
 *
 * @example
 * ```ts
 * import { Poll } from "@sturdy/http"
 *
 * const decision = Poll.canceled("canceled by an operator")
 * ```
 * @since 0.2.0
 * @category decisions
 */
export const canceled: (detail: string) => Decision = internal.canceled

/**
 * The default `maxWait`: 5 minutes (smithy requires a waiter's caller to give one; AWS SDKs' waiters are often
 * minutes long).
 *
 * @example
 * ```ts
 * import { Poll } from "@sturdy/http"
 * import { Duration } from "effect"
 *
 * console.log(Duration.format(Poll.defaultMaxWait)) // "5m"
 * ```
 * @since 0.2.0
 * @category constants
 */
export const defaultMaxWait: Duration.Duration = internal.defaultMaxWait

/**
 * smithy's waiter backoff as a `Schedule` (the default one): the n-th wait drawn from `[minDelay, minDelay ×
 * 2^(n−1)]`, `maxDelay` once `n > log2(maxDelay / minDelay) + 1`. Its draw uses Effect's `Random`.
 *
 * @example
 * ```ts
 * import { Poll } from "@sturdy/http"
 *
 * const schedule = Poll.smithyBackoff("1 second", "20 seconds")
 * ```
 * @since 0.2.0
 * @category schedules
 */
export const smithyBackoff: (
  minDelay: Duration.DurationInput,
  maxDelay: Duration.DurationInput
) => Schedule.Schedule<number> = internal.smithyBackoff

/**
 * Polls `self` until `decide` says `Done`, and returns that value; fails with `PollError` when it says `Failed` or
 * `Canceled`, or when `maxWait` passes. A failure of `self` fails the wait: give it its retries (a `Policy`).
 *
 * @example
 * ```ts
 * import { HttpClient, HttpClientRequest } from "@effect/platform"
 * import { Poll, Policy } from "@sturdy/http"
 * import { Effect, Schema } from "effect"
 *
 * const Operation = Schema.Struct({ name: Schema.String, done: Schema.optional(Schema.Boolean) })
 * const program = Effect.gen(function*() {
 *   const client = yield* HttpClient.HttpClient
 *   return yield* Policy.json(client, HttpClientRequest.get("https://api.example.com/v1/operations/42"), Operation)
 *     .pipe(Poll.until({ decide: (op) => op.done === true ? Poll.done : Poll.pending(), maxWait: "10 minutes" }))
 * })
 * ```
 * @since 0.2.0
 * @category combinators
 */
export const until: {
  <A>(options: UntilOptions<A>): <E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | PollError, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, options: UntilOptions<A>): Effect.Effect<A, E | PollError, R>
} = internal.until

/**
 * Sends `request` with `send` and, when the answer is a `202 Accepted` with a monitor (`Operation-Location`, else
 * `Azure-AsyncOperation`, else `Location`), polls the monitor with GETs through `send` until it says done, then
 * fetches the final resource (see `finalStateVia`). Another 2xx, or a 202 without a monitor, is the result at once.
 * A monitor with a status field (`Operation-Location`, `Azure-AsyncOperation`) is done on `Succeeded`, failed on
 * `Failed`, canceled on `Canceled` (any case); without one, a 202 is pending and another 2xx done; a `Location`
 * monitor is done on its first answer that is not a 202, which is then the result. A pending answer that names a
 * monitor of the same kind moves polling there (held to the same rules). Each answer's `Retry-After` (seconds or a
 * date) is the next wait's floor. Decode the result with `Attempt.decodeJson`. A monitor's redirect
 * (a 303 to the result) is followed by the client's `Redirect.follow`, when it has it. With `initial: "any"`, any 2xx
 * starts polling by @azure/core-lro's rules (Azure Resource Manager's 201 + `Azure-AsyncOperation`, and a PUT/PATCH
 * whose `provisioningState` is not terminal polled at its own URL; see `OperationOptions.initial`).
 *
 * @example
 * ```ts
 * import { HttpClient, HttpClientRequest } from "@effect/platform"
 * import { Attempt, Poll, Policy } from "@sturdy/http"
 * import { Effect, Schema } from "effect"
 *
 * const Export = Schema.Struct({ id: Schema.String, url: Schema.String })
 * const program = Effect.gen(function*() {
 *   const client = yield* HttpClient.HttpClient
 *   const received = yield* Poll.operation(
 *     HttpClientRequest.post("https://api.example.com/exports"),
 *     (request) => Policy.send(client, request),
 *     { maxWait: "15 minutes" }
 *   )
 *   return yield* Attempt.decodeJson(received, Export)
 * })
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const operation: <E, R>(
  request: HttpClientRequest.HttpClientRequest,
  send: (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<Attempt.Received, E, R>,
  options?: OperationOptions
) => Effect.Effect<Attempt.Received, E | PollError, R> = internal.operation

/**
 * {@link operation}, then its result decoded with `schema` as `Attempt.decodeJson` decodes it: a body that is not
 * JSON fails with `HttpFailure` `InvalidJson`, one the schema refuses with `SchemaMismatch` (the package's own typed
 * failures, as `Attempt.json` and `Policy.json` give). A result without content by definition (a DELETE's 204) gives
 * the schema `undefined` (`Schema.Void` accepts it). Options out of range, `maxJsonDepth` among them, fail with
 * `PollError` `InvalidOptions` before anything is sent.
 *
 * @example
 * ```ts
 * import { HttpClient, HttpClientRequest } from "@effect/platform"
 * import { Poll, Policy } from "@sturdy/http"
 * import { Effect, Schema } from "effect"
 *
 * const VirtualMachine = Schema.Struct({
 *   id: Schema.String,
 *   properties: Schema.Struct({ provisioningState: Schema.String })
 * })
 * declare const resourceGroup: string // https://management.azure.com/subscriptions/…/resourceGroups/…
 * const program = Effect.gen(function*() {
 *   const client = yield* HttpClient.HttpClient
 *   // Azure Resource Manager: a 201 + Azure-AsyncOperation, or a provisioningState polled at the VM's own URL
 *   return yield* Poll.operationJson(
 *     HttpClientRequest.put(`${resourceGroup}/providers/Microsoft.Compute/virtualMachines/vm1`).pipe(
 *       HttpClientRequest.setUrlParam("api-version", "2024-07-01"),
 *       HttpClientRequest.bodyUnsafeJson({ location: "westeurope" })
 *     ),
 *     (request) => Policy.send(client, request),
 *     VirtualMachine,
 *     { initial: "any", maxWait: "30 minutes" }
 *   )
 * })
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const operationJson: <A, I, RS, E, R>(
  request: HttpClientRequest.HttpClientRequest,
  send: (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<Attempt.Received, E, R>,
  schema: Schema.Schema<A, I, RS>,
  options?: OperationJsonOptions
) => Effect.Effect<A, E | PollError | HttpFailure.InvalidJson | HttpFailure.SchemaMismatch, R | RS> =
  internal.operationJson
