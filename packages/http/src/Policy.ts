/**
 * The standard resilience pipeline for HTTP calls: one value describes, per upstream, every policy a request goes
 * through, outermost first:
 *
 * ```text
 * server pause → total deadline → rate limiter → retry (budget) → hedging → circuit breaker → bulkhead
 *   → adaptive throttle (off by default) → concurrency limit (off by default) → attempt timeout → attempt
 * ```
 *
 * The server pause is the wait a server asked for on the key (429 or 503 with `Retry-After`), kept no longer than
 * the `retry.maxRetryAfter` of the call that was told: every later call of the key waits it out when the server's
 * wait fits the call's patience (`retry.maxRetryAfter`, and the deadline, which the pause must end before), and fails
 * at once with `RateLimitExceeded` (reason `"Paused"`) otherwise; once the pause kept is over, a call probes the
 * upstream again. Each attempt reads the pause again as it starts (inside the bulkhead), so a pause that began after
 * the call did holds its retries, and a call that was waiting in the bulkhead's queue, just as long when that wait
 * fits (when it does not, the attempt goes, and the server's answer decides). The time a call waits out a pause
 * counts against its `totalTimeout`: its deadline starts when it starts waiting. So does a wait for the client-side rate limiter, which runs inside the deadline: a call whose slot
 * comes too late to end in time fails at once with `RateLimitExceeded` (reason `"Limit"`, `retryAfter` the wait).
 * (Microsoft's standard handler puts its limiter outermost, but that limiter never waits; Sturdy's waits by default,
 * and `totalTimeout` bounds the whole call.) Each stage is a small function wrapping the next; the
 * stages a profile (host, endpoint) turns off are left out, and a profile's pipeline is built once, by the first call
 * that needs it.
 *
 * The upstream key is `scheme://host:port` unless `upstreamKey` says otherwise; breakers, bulkheads, limiters,
 * retry budgets and server pauses are kept per key and shared by every call that uses the same `Policy` (provide it
 * once, with {@link layer}). Breakers, bulkheads, adaptive throttles and concurrency limits are kept per key within each
 * profile (the base options, each `hosts` and `endpoints` entry), since their options may differ there; rate-limit counters, retry budgets and server
 * pauses are kept per key alone, so profiles whose requests share a key (through `upstreamKey`) share them too: one
 * counter, one budget, one pause for the upstream. To share the retry budget, the breakers' state and the bulkheads'
 * limits with every process of a fleet, provide the `Policy` a `RetryBudget` on a shared store
 * (`RetryBudgetRedis.layer`), a `CircuitBreakerStore` (`CircuitBreakerRedis.layerStore`) and a `BulkheadStore`
 * (`BulkheadRedis.layerStore`); see `@sturdy/policy/RetryBudgetStore`, `CircuitBreakerStore` and `BulkheadStore` for
 * the consistency each gives.
 *
 * The per-key state is bounded, so that a crawler or a multi-tenant proxy calling many hosts does not grow it
 * without end:
 *
 * - Bulkheads: 10,000 keys per profile (the base options, and each entry of `hosts`). Beyond that, idle bulkheads
 *   are dropped, those no call used for longest first (a "clock" sweep, close to least recently used), and a key
 *   whose bulkhead was dropped gets a new one at its next call. A bulkhead with calls running or queued is never
 *   dropped (the table then holds more, as many as there are busy keys), so `maxConcurrent` and `maxQueued` always
 *   hold, as in resilience4j's bulkhead registry.
 * - Concurrency limits (`concurrencyLimit`): a table of their own per profile, with the same bound and sweep (one
 *   registry code for both); a limit with attempts in flight is never dropped, and a key whose idle limit was
 *   dropped starts again from `initialLimit`.
 * - Adaptive throttles (`adaptiveThrottle`): a table of their own per profile, with the same bound and sweep. A
 *   throttle holds no calls, so none is ever busy: one no attempt used since the sweep last passed it may be dropped,
 *   and its key starts again with no history (nothing throttled until its upstream rejects again).
 * - Server pauses: 10,000 live ones per `Policy` (`@sturdy/policy`'s `RateLimit` default `maxPausedKeys`, which
 *   `Policy` does not expose). Beyond that, pauses already over go first, then the oldest live pause is dropped
 *   early: the next call of that key is sent, and probes the upstream, before the server's wait is over.
 *
 * ```ts
 * import { NodeHttpClient } from "@effect/platform-node"
 * import { Policy, SturdyClient } from "@sturdy/http"
 * import { Effect, Layer, Schema } from "effect"
 *
 * const User = Schema.Struct({ id: Schema.Number, name: Schema.String })
 *
 * // every request of this client runs through the standard pipeline (the defaults below): SturdyClient uses the
 * // Policy in context
 * const ApiLive = SturdyClient.layer({ baseUrl: "https://api.example.com" }).pipe(
 *   Layer.provide(Policy.layer({ retry: { idempotencyKey: true } })),
 *   Layer.provide(NodeHttpClient.layerUndici)
 * )
 *
 * const program = Effect.gen(function*() {
 *   const api = yield* SturdyClient.SturdyClient
 *   const user = yield* api.get("/users/1", { schema: User })
 *   yield* api.post("/orders", { body: { sku: "A-1" } }) // retried with one Idempotency-Key
 *   return user
 * }).pipe(
 *   Effect.catchTags({ CircuitOpen: () => Effect.succeed(null), Timeout: () => Effect.succeed(null) }),
 *   Effect.provide(ApiLive)
 * )
 * ```
 *
 * ## Defaults
 *
 * In the spirit of Microsoft's standard resilience handler (`AddStandardResilienceHandler`):
 *
 * | Stage           | Option                                 | Default                       |
 * | --------------- | -------------------------------------- | ----------------------------- |
 * | rate limiter    | `rateLimit`                            | off                           |
 * | total deadline  | `totalTimeout`                         | 30 s                          |
 * | retry           | `retry.maxAttempts` (with the first)   | 3 (above 10 only with a deadline or `maxElapsed`) |
 * |                 | `retry.baseDelay` / `retry.maxDelay`   | 2 s / 30 s, exponential       |
 * |                 | `retry.jitter`                         | `"full"`                      |
 * |                 | `retry.schedule` / `retry.delay`       | none (the exponential backoff) |
 * |                 | `retry.statuses` / `retry.methods`     | none (the rules below)        |
 * |                 | `retry.respectRetryAfter`              | `true`                        |
 * |                 | `retry.retryAfterStatuses`             | 413, 429, 503                 |
 * |                 | `retry.maxRetryAfter`                  | 30 s                          |
 * |                 | `retry.retryAfterJitter`               | 0.1 (up to +10 %, at most 1 s) |
 * |                 | `retry.retryUnsent`                    | `true`                        |
 * |                 | `retry.budget`                         | on (`RetryBudget` defaults: 20 % + 10 per 10 s) |
 * |                 | `retry.idempotencyKey`                 | off                           |
 * |                 | `retry.retryOn`                        | {@link isRetryableByDefault}  |
 * | hedging         | `hedging`                              | off (`{ delay, maxHedges }`)  |
 * | circuit breaker | `circuitBreaker.failureRateThreshold`  | 0.5                           |
 * |                 | `circuitBreaker.minimumThroughput`     | 100                           |
 * |                 | `circuitBreaker.slidingWindow`         | 30 s (or `{ calls: n }`)      |
 * |                 | `circuitBreaker.breakDuration`         | 5 s                           |
 * |                 | `circuitBreaker.consecutiveFailures`   | off                           |
 * |                 | `circuitBreaker.failureCountThreshold` | off                           |
 * |                 | `circuitBreaker.countsAsFailure`       | {@link countsAgainstUpstream} |
 * |                 | `circuitBreaker.waitForProbe`          | `false`: `CircuitOpen` at once |
 * |                 | `circuitBreaker.maxProbeDuration`      | the pause before the probe    |
 * | bulkhead        | `bulkhead.maxConcurrent` / `maxQueued` | 1,000 / 0                     |
 * | adaptive throttle | `adaptiveThrottle`                   | off ({@link AdaptiveThrottleOptions}) |
 * | concurrency limit | `concurrencyLimit`                   | off ({@link ConcurrencyLimitOptions}) |
 * | attempt timeout | `attemptTimeout`                       | 10 s; under a `totalTimeout` below 10 s, `totalTimeout ÷ maxAttempts` |
 * | deadline header | `deadlineHeader`                       | off (`true`: `x-request-timeout-ms`) |
 * | retry count header | `retryCountHeader`                  | off (`true`: `x-retry-count`) |
 *
 * ## Rules
 *
 * - Retried: failures {@link isRetryableByDefault} accepts (transient failures; never decode or schema failures;
 *   no 4xx but 408, 429, and 413 when the server named a wait: `Retry-After` or a reset), and only when the request
 *   is safe to repeat (`Idempotency.isSafeToRepeat`): GET, HEAD, OPTIONS, TRACE, PUT, DELETE, a request with an
 *   `Idempotency-Key`, or any request whose failure proves it never reached the server (a refused connection, a
 *   failed DNS lookup, a connect timeout: nothing was sent, so even a POST cannot be applied twice;
 *   `retry.retryUnsent: false` turns this off). `retry.statuses` and `retryOn` narrow or widen the first part, never
 *   the second. A server's own word on a response that failed by its status overrides the default rules:
 *   `x-should-retry: false` (OpenAI, Anthropic) or `Stripe-Should-Retry: false` is never retried, and `true` is
 *   retried whatever the status (an allow-list in `retry.statuses` still decides which statuses retry; a `retryOn`
 *   entry wins over both), as those APIs' SDKs read them; a body that fails to read or decode keeps its rule. `retry.methods` is the list of methods that retry, and a method listed there is one the caller
 *   declares safe to repeat (as in ky, got and urllib3): `methods: ["GET", "POST"]` retries a POST like a GET.
 *   A request whose body is read once (a `Stream` body, or a raw Node `Readable`, web `ReadableStream` or async
 *   iterable) is never retried nor hedged, whatever the failure: a second send would go out with an empty body (as
 *   fetch, got and undici's `RetryHandler` refuse to resend it). Give a `Uint8Array` or text body to have it retried.
 * - A server's wait **is** the wait (as in ky, got, undici, urllib3 and Polly): `Retry-After` (delay-seconds or an
 *   HTTP-date), else the `RateLimit` reset of an exhausted quota, `X-RateLimit-Retry-After` (Retry-After's grammar,
 *   as ky reads it), else the `X-RateLimit` reset of an exhausted quota (a reset sent without a remaining count counts
 *   too: the status already says "limited", as ky reads it), on a 413, 429 or 503 (`retry.retryAfterStatuses`),
 *   replaces the backoff, plus a jitter of at most 10 % and at most 1 s so that clients told the same instant do
 *   not all wake together. `Retry-After: 0` or a past date retries at once (no jitter); `maxAttempts`, the budget
 *   and the deadline still bound a server that keeps answering 0. A value that is not a valid hint (`1.5`, `+1`,
 *   `1e3`) is ignored and the backoff applies. Why not a floor under the backoff: `Retry-After: 2` would wait up to
 *   the backoff's cap, and `Retry-After: 0` would change nothing. Beyond `retry.maxRetryAfter`, or past the
 *   deadline, the call fails at once with the server's failure. The jitter never takes the wait past
 *   `retry.maxRetryAfter`, `retry.maxElapsed` or the deadline: whether a wait fits is decided on the server's own
 *   value. A server's wait is held to `retry.maxElapsed` as the backoff is: a retry it would start later than that
 *   after the first failure is not made. A 429 or 503 with a wait also pauses the upstream key: every later call to
 *   it waits until then, or fails at once with `RateLimitExceeded` (`"Paused"`) when the server's wait is longer than
 *   it could wait. The pause lasts that wait but at most `retry.maxRetryAfter`, so that one `Retry-After: 86400`
 *   does not fail every call of the host for a day: after that a call probes, and a server still asking for long
 *   pauses the key again. `retry.respectRetryAfter: false` ignores server waits (and pauses) entirely.
 * - When the retry stage stops, the failure it returns carries `attempts`, the attempts the call made (in its
 *   `message` and `toJSON` too; see {@link attemptsOf}).
 * - An open breaker fails fast: a call, or a retry, that meets it gets `CircuitOpen` at once (it says what tripped
 *   the breaker and when the probe is due), so the caller can fall back in milliseconds instead of sleeping out the
 *   break. With `circuitBreaker.waitForProbe: true` a retry waits for the probe instead, when that fits
 *   `retry.maxRetryAfter` and the deadline.
 * - The breaker counts server failures only ({@link countsAgainstUpstream}): 5xx other than 501, 505 and 511,
 *   attempt timeouts and 408, refused, reset and unclassified connections, truncated bodies. A 429 does not (it
 *   says "slow down", and already pauses the key); other 4xx and bad bodies are answers from a live upstream and
 *   count as successful calls, so one closes a half-open breaker (the caller still gets its failure). The caller's
 *   deadline, a malformed request, DNS and TLS failures count neither way; nor do the policies' own rejections.
 *   `circuitBreaker.countsAsFailure` changes which count.
 * - The adaptive concurrency limit (`concurrencyLimit`, off by default: the stage is then left out) is one
 *   `ConcurrencyLimit` per upstream key and profile, kept as the bulkheads are (bounded; an idle one may be dropped,
 *   one with attempts in flight never is). It wraps each attempt, as Netflix's limiter wraps each request, inside
 *   the bulkhead and the per-attempt server pause: a call waiting in the bulkhead's queue or for a server's pause is
 *   not in flight, so its samples are attempts, never a whole call with its retries and backoff. Over the limit an
 *   attempt fails at once with `ConcurrencyLimitExceeded`, unsent; the retry stage does not retry it (as a full
 *   bulkhead's `BulkheadRejected`: a retry now would meet the same load), the breaker does not count it and hedging
 *   stops on it. A `Timeout`, a 429, a 503 and a connection that timed out opening shrink the limit; a 4xx or a 500
 *   does not (see {@link ConcurrencyLimitOptions}).
 * - The adaptive throttle (`adaptiveThrottle`, off by default: the stage is then left out) is the Google SRE book's
 *   client-side throttling, one `AdaptiveThrottle` per upstream key and profile (kept as the bulkheads are). It
 *   counts attempts, as the book counts backend requests: each attempt is drawn against
 *   `max(0, (requests − k·accepts) / (requests + 1))` and, when throttled, fails at once with
 *   `AdaptiveThrottleRejected`, unsent. It sits inside the breaker's admission, the bulkhead and the per-attempt server
 *   pause, and outside the concurrency limit: the draw is made when the attempt would go (not before it waits in the
 *   bulkhead's queue or for a server's pause, so a queue's deadline `Timeout`, which sent nothing, is never counted as
 *   the upstream's answer), a throttled attempt takes no slot of the concurrency limit, and the breaker, which sees
 *   it as a policy's own rejection, counts it neither way (a throttled attempt is not a failure of the upstream, nor
 *   a probe's answer). The retry stage does not retry it (as a full bulkhead: a retry now would meet the same
 *   probability, and would only add local requests) and hedging stops on it. An attempt the upstream answered counts
 *   as an accept, even with an error; only overload answers do not: a 429, a 503, a `Timeout` and a connection that
 *   timed out opening (the concurrency limit's drops; see {@link AdaptiveThrottleOptions}).
 * - Timeouts stay in the HTTP taxonomy: `HttpFailure.Timeout` with phase `Attempt` or `Deadline` (also for a call
 *   still queued in the bulkhead when the deadline passes).
 * - One limit per attempt: a `SturdyClient`'s (or one request's) `timeout`, and the `timeout` of `Policy.send` /
 *   `Policy.json`, bound each attempt together with `attemptTimeout`, and the shorter applies (one timer, not two).
 *   An attempt that runs out of either fails with `Timeout` phase `Attempt` and is retried as such.
 *
 * The happy path is cheap: the deadline and the attempt timeout are established once per call
 * (`Deadline.establish`) and every wait bounds itself by them: retry sleeps, bulkhead queues, and the attempt, which
 * `@sturdy/node`'s transport aborts itself (other transports, `Policy.run` with a `send` of your own, and TestClock
 * get one timer per attempt). No schedule is stepped, no budget withdrawn and no pause checked before the first
 * failure (the per-attempt pause is one flag until a server first asks for a pause); nothing is forked unless hedging
 * is on.
 *
 * ## Observing
 *
 * `onEvent` (in the options, or per call: `policy.run(request, send, { onEvent })`, `api.get(path, { onEvent })`)
 * sees each call as a sequence of {@link Event}s: `AttemptStarted` / `AttemptEnded` per attempt (hedges included),
 * `RetryDecision` after each failure, `HedgeStarted`, `Rejected` when a policy refuses to send, and (policy-wide
 * hook only) `BreakerTransition`. Unset, nothing is built for it.
 *
 * `telemetry` wires `Telemetry` in: the logical-call span around the whole pipeline, an attempt span around each
 * attempt (its timeout included, so a timed-out attempt ends as `Timeout`), retries through `Telemetry.onRetry`,
 * and with `telemetry: true` the breakers through `Telemetry.trackBreaker`. By default it is on only for calls made
 * under a real tracer; an untraced call pays one check.
 *
 * ```ts
 * import { Policy } from "@sturdy/http"
 * import { Duration, Effect } from "effect"
 *
 * const PolicyLive = Policy.layer({
 *   telemetry: true, // metrics even without a tracer
 *   onEvent: (event) =>
 *     event._tag === "RetryDecision" && event.retrying
 *       ? Effect.logInfo(`${event.key}: retry #${event.attempt} in ${Duration.format(event.delay)} (${event.reason})`)
 *       : Effect.void
 * })
 * ```
 *
 * Validated when built ({@link InvalidPolicy} lists every problem at once, each naming the field the user set and
 * the default or the other field it conflicts with): `attemptTimeout ≤ totalTimeout` (an unset `attemptTimeout` is
 * derived to fit instead), `circuitBreaker.slidingWindow ≥ 2 × attemptTimeout`, `retry.baseDelay ≤ retry.maxDelay`,
 * `retry.maxAttempts` an integer ≥ 1 or `Infinity` (above 10 only when `totalTimeout` or `retry.maxElapsed` bounds the
 * call: `Infinity` retries until that bound), durations no
 * longer than a timer can hold (2^31 − 1 ms, about 24.8 days: a longer one would never fire; an infinite
 * `totalTimeout`, `attemptTimeout`, `maxRetryAfter`, `maxElapsed` or `maxWait` means none) and never negative
 * nor `NaN` (Effect would read `-1` or `NaN` as zero),
 * `circuitBreaker.halfOpenMaxProbes`, `successThreshold`, `minimumThroughput` and `failureCountThreshold` integers
 * ≥ 1 (`consecutiveFailures` too, or `Infinity`), `circuitBreaker.failureRateThreshold` in (0, 1], `slidingWindow` and `maxProbeDuration`
 * longer than zero (a count window's `slidingWindow.calls` an integer ≥ 1),
 * `hedging.maxHedges` ≥ 0, `deadlineHeader` and `retryCountHeader`
 * valid header names, `retry.jitter`, `hedging.failure`, `rateLimit.algorithm` and `rateLimit.onExceeded` one of their
 * values, `retry.respectRetryAfter`, `budget`, `idempotencyKey`, `retryUnsent` and `telemetry` booleans (a string
 * `"false"` would read as true), `retry.retryAfterJitter` a number from 0 to 1, `upstreamKey` and `onEvent` functions,
 * `retry.retryOn` a predicate or an object from `HttpFailure` tags to `true`, `false` or a predicate (a
 * list of statuses belongs in `retry.statuses`), the options, each section and each `hosts` and `endpoints` entry an
 * object of options (or `false` for a section), each `hosts` key a host a request can have (`api.example.com`,
 * `api.example.com:8443`, `[::1]:8080`: no scheme, path or user, and no second entry for the same host in other case),
 * and the ranges of the other numbers. A key that is no option of its
 * section is refused too, naming the option it most likely meant (`retry.maxAttemps`: did you mean `maxAttempts`?),
 * as is an option a section does not take (`circuitBreaker` under `endpoints`): a misspelt option would otherwise
 * change nothing, silently. A key set to `undefined` changes nothing and is let be. Each problem is named once, where
 * it was set (a `hosts` entry as the user spelt it): a bad value of the base options or of a host is not named again
 * under every host and endpoint that inherits it, and the options of an `endpoints` entry whose key is no pattern are
 * checked all the same.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as AdaptiveThrottle from "@sturdy/policy/AdaptiveThrottle"
import type * as Backoff from "@sturdy/policy/Backoff"
import type * as Bulkhead from "@sturdy/policy/Bulkhead"
import type * as CircuitBreaker from "@sturdy/policy/CircuitBreaker"
import type * as ConcurrencyLimit from "@sturdy/policy/ConcurrencyLimit"
import type * as Hedge from "@sturdy/policy/Hedge"
import type * as RateLimit from "@sturdy/policy/RateLimit"
import type * as Retry from "@sturdy/policy/Retry"
import type * as RetryBudget from "@sturdy/policy/RetryBudget"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import type * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Either from "effect/Either"
import type * as Exit from "effect/Exit"
import type * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Schedule from "effect/Schedule"
import type * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as Attempt from "./Attempt.js"
import type * as HttpFailure from "./HttpFailure.js"
import type * as Idempotency from "./Idempotency.js"
import * as internal from "./internal/policy.js"
import * as withPolicyInternal from "./internal/withPolicy.js"

// -----------------------------------------------------------------------------
// options
// -----------------------------------------------------------------------------

/**
 * Which failures are retried: a predicate over the failure and the number of the attempt that failed (1 for the
 * first), or one entry per tag (`true`, `false` or such a predicate); tags without an entry keep the default
 * ({@link isRetryableByDefault}, or membership in `retry.statuses` for a failure with a status).
 * `AuthenticationFailed: true` retries the token endpoint's outages (`Unavailable`) only: refused or unreadable
 * credentials come back the same (a predicate decides otherwise). Safety still
 * applies: a request that is not safe to repeat (nor listed in `retry.methods`) is never retried after a failure that
 * may have reached the server, and `retry.methods` still limits which methods retry. A predicate answers at once:
 * one that returns a Promise (an `async` function) ends the call with a `TypeError` defect naming the option, since
 * the Promise would otherwise read as `true` and retry every failure. Any other answer is read by its truth, as
 * `Array.prototype.filter` reads one, so plain JavaScript's `(e) => e.status && e.status >= 500` (`undefined` for a
 * failure without a status) means "no".
 *
 * @example
 * ```ts
 * import type { Policy } from "@sturdy/http"
 *
 * const retryOn: Policy.RetryOn = {
 *   ClientError: (e) => e.status === 409,
 *   ServerError: (e, attempt) => e.status !== 500 || attempt < 2
 * }
 * ```
 * @since 0.1.0
 * @category models
 */
export type RetryOn =
  | ((failure: HttpFailure.HttpFailure, attempt: number) => boolean)
  | {
    readonly [Tag in HttpFailure.HttpFailure["_tag"]]?:
      | boolean
      | ((failure: Extract<HttpFailure.HttpFailure, { readonly _tag: Tag }>, attempt: number) => boolean)
      | undefined
  }

/**
 * What the retry stage decides about: a failure of the attempt, or the breaker, the bulkhead, the adaptive throttle or
 * the concurrency limit refusing it. A custom `retry.schedule` is stepped with it and `retry.delay` is given it.
 *
 * @since 0.2.0
 * @category models
 */
export type RetryFailure =
  | HttpFailure.HttpFailure
  | CircuitBreaker.CircuitOpen
  | Bulkhead.BulkheadRejected
  | AdaptiveThrottle.AdaptiveThrottleRejected
  | ConcurrencyLimit.ConcurrencyLimitExceeded

/**
 * The retry stage: attempts, backoff, the server's waits, the budget and idempotency keys.
 *
 * | option | default | meaning |
 * | --- | --- | --- |
 * | `maxAttempts` | 3 | attempts in total, the first included; above 10 (or `Infinity`: until the bound) only when `totalTimeout` or `maxElapsed` bounds the call |
 * | `baseDelay` / `maxDelay` / `jitter` | 2 s / 30 s / `"full"` | the exponential backoff; `maxDelay` caps every delay |
 * | `maxElapsed` | none | no retry starts later than this after the first failure, after a server's wait too |
 * | `schedule` / `delay` | none | replace the exponential backoff (still capped by `maxDelay`, limited by `maxAttempts`, `maxElapsed`, the deadline and the budget) |
 * | `statuses` | none | allow-list of retried statuses (replaces the default status rules) |
 * | `methods` | none | the methods that retry, case-insensitive, combined (AND) with the failure's kind; a listed method counts as safe to repeat (`["GET", "POST"]` retries a POST like a GET, as in ky, got and urllib3); `[]` disables retries |
 * | `respectRetryAfter` | `true` | honour `Retry-After` / `RateLimit` waits |
 * | `retryAfterStatuses` | 413, 429, 503 | the statuses whose server waits are honoured |
 * | `maxRetryAfter` | 30 s | a longer server wait fails the call at once, and pauses the key for this long, not longer |
 * | `retryAfterJitter` | 0.1 | at most this fraction (and at most 1 s) added to a server wait, never past `maxRetryAfter`, `maxElapsed` or the deadline |
 * | `budget` | `true` | withdraw every retry from the upstream's `RetryBudget` |
 * | `idempotencyKey` | `false` | give POST and PATCH an `Idempotency-Key` |
 * | `retryUnsent` | `true` | retry a request that is not safe to repeat when the failure proves it was never sent |
 * | `retryOn` | {@link isRetryableByDefault} | which failures retry |
 *
 * @example
 * ```ts
 * import type { Policy } from "@sturdy/http"
 *
 * const retry: Policy.RetryOptions = { maxAttempts: 4, baseDelay: "200 millis", idempotencyKey: true }
 * const quick: Policy.RetryOptions = { maxAttempts: 15, delay: (attempt) => attempt * 100, methods: ["get"] }
 * ```
 * @since 0.1.0
 * @category models
 */
export interface RetryOptions {
  /**
   * Attempts including the first (default 3). Above 10 only when the call is bounded: by `totalTimeout` (on by
   * default) or `maxElapsed`; `Infinity` retries until that bound (as p-retry's `retries: Infinity` with
   * `maxRetryTime`). Without an `attemptTimeout`, a `totalTimeout` under 10 s then gives each attempt a tenth of it.
   */
  readonly maxAttempts?: number | undefined
  /** The first backoff delay (default 2 s), doubling up to `maxDelay` (default 30 s). */
  readonly baseDelay?: Duration.DurationInput | undefined
  /** The cap on every delay, the backoff's or a custom schedule's (default 30 s). */
  readonly maxDelay?: Duration.DurationInput | undefined
  readonly jitter?: Backoff.Jitter | undefined
  /**
   * No retry is scheduled to start later than this after the first failure (default: none), whether its wait is the
   * backoff's, the schedule's or a server's (`Retry-After`).
   */
  readonly maxElapsed?: Duration.DurationInput | undefined
  /**
   * Replaces the exponential backoff: the schedule is stepped with each failure and its delay is the wait. The
   * policy still caps it by `maxDelay`, limits it by `maxAttempts` and `maxElapsed`, and applies the deadline, the
   * budget, the server's waits and the idempotency rules.
   */
  readonly schedule?: Schedule.Schedule<unknown, RetryFailure> | undefined
  /**
   * Replaces the exponential backoff with a function: `delay(attempt, failure)` is the wait after attempt `attempt`
   * (1-based) failed with `failure`, under the same limits as `schedule`. It answers at once: one that answers a
   * Promise (an `async` one) ends the call with a `TypeError` defect, as an async `retryOn` does.
   */
  readonly delay?: ((attempt: number, failure: RetryFailure) => Duration.DurationInput) | undefined
  /**
   * The statuses that retry (e.g. `[429, 503]`), replacing the default rules for status failures (`ClientError`,
   * `RateLimited`, `ServerError`, `UnexpectedStatus`); other failures keep the default: a connection, a timeout, and a
   * body cut short, too large or that does not decode, although it carries its response's status (a truncated 200 is
   * retried under `[429, 503]`). `retryOn` entries still win.
   */
  readonly statuses?: ReadonlyArray<number> | undefined
  /**
   * The methods that retry, case-insensitive (e.g. `["GET", "put"]`); the failure must be retryable too. A method
   * listed here is one the caller declares safe to repeat, as in ky, got and urllib3: `["GET", "POST"]` retries a
   * POST after a 503 like a GET (without the list, a POST retries only when it never reached the server, or with an
   * `Idempotency-Key`). An empty list turns retries off.
   */
  readonly methods?: ReadonlyArray<Idempotency.Method | Lowercase<Idempotency.Method>> | undefined
  /**
   * Honour the server's wait (`Retry-After`, else the `RateLimit` reset) on `retryAfterStatuses` (default `true`).
   * `false` also leaves the key's server pauses alone: a call neither pauses the key nor waits out (or is refused for)
   * a pause that a call of another endpoint or host of the same key set.
   */
  readonly respectRetryAfter?: boolean | undefined
  /** The statuses whose `Retry-After` / `RateLimit` wait is honoured (default 413, 429, 503). */
  readonly retryAfterStatuses?: ReadonlyArray<number> | undefined
  /**
   * The longest server-requested wait honoured (default 30 s); a longer one fails at once. Also the longest a
   * server's wait pauses the upstream key for the calls after it, however long the server asked for: the calls
   * during the pause fail at once (`RateLimitExceeded`, `"Paused"`), and the first after it probes the upstream.
   */
  readonly maxRetryAfter?: Duration.DurationInput | undefined
  /**
   * Fraction added at random to a server-requested wait (default 0.1, and never more than 1 s); it never takes the
   * wait past `maxRetryAfter`, `maxElapsed` or the deadline.
   */
  readonly retryAfterJitter?: number | undefined
  /** Withdraw every retry from the `RetryBudget` of the upstream (default `true`). */
  readonly budget?: boolean | undefined
  /** Give POST and PATCH requests without one an `Idempotency-Key`, the same on every attempt (default `false`). */
  readonly idempotencyKey?: boolean | undefined
  /**
   * Retry a request that is not safe to repeat (a POST without `Idempotency-Key`) after a failure that proves it
   * was never sent: a refused connection, a failed DNS lookup, a connect timeout (default `true`). `false` never
   * repeats such a request.
   */
  readonly retryUnsent?: boolean | undefined
  readonly retryOn?: RetryOn | undefined
}

/**
 * Which failures count against an upstream's breaker: the statuses that count (a status failure, `ClientError`,
 * `RateLimited`, `ServerError` or `UnexpectedStatus`, counts only when listed; other failures, such as timeouts,
 * resets and bodies cut short, keep the default, whatever status their response had), or a predicate over the
 * failure. Default {@link countsAgainstUpstream}: server failures only.
 *
 * @example
 * ```ts
 * import type { Policy } from "@sturdy/http"
 *
 * // 429 counts too (an upstream that sheds load this way is struggling)
 * const statuses: Policy.CountsAsFailure = [429, 500, 502, 503, 504]
 * const predicate: Policy.CountsAsFailure = (failure) => failure._tag === "Timeout" && failure.phase === "Attempt"
 * ```
 * @since 0.1.0
 * @category models
 */
export type CountsAsFailure = ReadonlyArray<number> | ((failure: HttpFailure.HttpFailure) => boolean)

/**
 * The circuit breaker stage (one breaker per upstream key); see `@sturdy/policy/CircuitBreaker`.
 *
 * @example
 * ```ts
 * import type { Policy } from "@sturdy/http"
 *
 * const breaker: Policy.CircuitBreakerOptions = { consecutiveFailures: 5, breakDuration: "10 seconds" }
 * ```
 * @since 0.1.0
 * @category models
 */
export interface CircuitBreakerOptions {
  readonly failureRateThreshold?: number | undefined
  readonly minimumThroughput?: number | undefined
  /**
   * The window the failure ratio is judged over: a duration (default 30 s), or `{ calls: n }` for the last `n`
   * recorded calls whenever they were made (resilience4j's count-based window; judged once
   * `min(minimumThroughput, n)` calls are recorded). Only a duration must be at least twice `attemptTimeout`.
   *
   * @example
   * ```ts
   * import type { Policy } from "@sturdy/http"
   *
   * const breaker: Policy.CircuitBreakerOptions = { slidingWindow: { calls: 200 }, minimumThroughput: 50 }
   * ```
   * @since 0.2.0
   */
  readonly slidingWindow?: Duration.DurationInput | CircuitBreaker.CallWindow | undefined
  /** A fixed pause or a schedule of pauses before a probe. */
  readonly breakDuration?: Duration.DurationInput | Schedule.Schedule<unknown, unknown> | undefined
  /** Counted failures in a row that open the breaker (default off). */
  readonly consecutiveFailures?: number | undefined
  /**
   * Counted failures in the sliding window that open the breaker, whatever the successes between them and however
   * few calls the window holds (default off; `@sturdy/policy`'s `CircuitBreaker` option of the same name). The
   * failure ratio is still judged as well. With a count window (`slidingWindow: { calls: n }`) it must be at most `n`,
   * the most failures the window holds (`InvalidPolicy` otherwise).
   *
   * @example
   * ```ts
   * import type { Policy } from "@sturdy/http"
   *
   * const breaker: Policy.CircuitBreakerOptions = { failureCountThreshold: 20, slidingWindow: "10 seconds" }
   * ```
   * @since 0.2.0
   */
  readonly failureCountThreshold?: number | undefined
  readonly halfOpenMaxProbes?: number | undefined
  readonly successThreshold?: number | undefined
  /**
   * How long a half-open probe holds its slot before the next call may probe in its place (default: the pause before
   * it, 5 s by default; `Infinity`: for as long as it runs). The probe goes on, and its answer still counts when it
   * comes before the breaker moved on, so an upstream slower than the pause can close the breaker. See
   * `@sturdy/policy/CircuitBreaker`'s `maxProbeDuration`.
   *
   * @since 0.2.0
   */
  readonly maxProbeDuration?: Duration.DurationInput | undefined
  /** Which failures count (default {@link countsAgainstUpstream}: server failures, no 429 nor other 4xx). */
  readonly countsAsFailure?: CountsAsFailure | undefined
  /**
   * When a retry meets the open breaker, wait for its probe (`CircuitOpen.retryAfter`), within `retry.maxRetryAfter`
   * and the deadline, instead of failing at once with `CircuitOpen` (default `false`: the caller gets it at once and
   * can fall back).
   */
  readonly waitForProbe?: boolean | undefined
}

/**
 * The bulkhead stage (one per upstream key); see `@sturdy/policy/Bulkhead`.
 *
 * @example
 * ```ts
 * import type { Policy } from "@sturdy/http"
 *
 * const bulkhead: Policy.BulkheadOptions = { maxConcurrent: 20, maxQueued: 50, maxWait: "1 second" }
 * ```
 * @since 0.1.0
 * @category models
 */
export interface BulkheadOptions {
  readonly maxConcurrent?: number | undefined
  readonly maxQueued?: number | undefined
  readonly maxWait?: Duration.DurationInput | undefined
}

/**
 * The adaptive concurrency limit stage (off by default; one limit per upstream key, per profile): how many attempts
 * may be in flight at once against the upstream, found from how it answers; see `@sturdy/policy/ConcurrencyLimit`
 * for the algorithms (`"aimd"`, the default, or `"gradient2"`), their options and defaults. Each attempt is one
 * sample (never the whole call: its retries and backoff are no part of a round-trip time); an attempt over the limit
 * fails at once with `ConcurrencyLimitExceeded`, unsent, which the retry stage does not retry (as a full bulkhead).
 *
 * What counts as a drop (the upstream is overloaded, the limit shrinks) is fixed: a `Timeout`, a 429
 * (`RateLimited`), a 503, and a connection that timed out opening (`ConnectionError` `"ConnectTimeout"`: a server
 * whose accept queue is full). A failure that never reached the upstream is no sample at all: a refused connection
 * (an upstream that is down, which the breaker handles), a DNS or TLS failure, a request that could not be built or
 * authenticated. Every other failure is an answer from a live upstream, as a success is: a 4xx other than 429, a 500
 * or another 5xx (a bug, or a gateway's failure, not a load). An attempt longer than `timeout` is a drop too,
 * whatever its outcome.
 *
 * Validated with the rest of the options: a value outside the domain `ConcurrencyLimit` gives is an
 * {@link InvalidPolicy} naming the field (`concurrencyLimit.maxLimit`, `hosts["a"].concurrencyLimit.backoffRatio`).
 *
 * @example
 * ```ts
 * import type { Policy } from "@sturdy/http"
 *
 * const concurrencyLimit: Policy.ConcurrencyLimitOptions = { initialLimit: 10, maxLimit: 100, timeout: "2 seconds" }
 * const gradient: Policy.ConcurrencyLimitOptions = { algorithm: "gradient2", rttTolerance: 2 }
 * ```
 * @since 0.2.0
 * @category models
 */
export interface ConcurrencyLimitOptions {
  /** `"aimd"` (default) or `"gradient2"`. */
  readonly algorithm?: "aimd" | "gradient2" | undefined
  /** The limit at the start (default 20, moved into [`minLimit`, `maxLimit`] when unset). */
  readonly initialLimit?: number | undefined
  /** The lowest limit (default 1). */
  readonly minLimit?: number | undefined
  /** The highest limit (default 200). */
  readonly maxLimit?: number | undefined
  /** AIMD: what a drop multiplies the limit by, in [0.5, 1) (default 0.9). */
  readonly backoffRatio?: number | undefined
  /** AIMD: an attempt slower than this counts as a drop (default 5 seconds). */
  readonly timeout?: Duration.DurationInput | undefined
  /** Gradient2: how far the limit moves toward a new estimate, in (0, 1] (default 0.2). */
  readonly smoothing?: number | undefined
  /** Gradient2: what an estimate adds to the limit, an integer ≥ 0 (default 4). */
  readonly queueSize?: number | undefined
  /** Gradient2: the slowdown against the long-term RTT tolerated before the limit shrinks, ≥ 1 (default 1.5). */
  readonly rttTolerance?: number | undefined
  /** Gradient2: how many samples the long-term RTT averages over (default 600). */
  readonly longWindow?: number | undefined
}

/**
 * The adaptive throttle stage (off by default; one throttle per upstream key, per profile): the Google SRE book's
 * client-side throttling, see `@sturdy/policy/AdaptiveThrottle`. Each attempt is one request of the book's formula
 * and is throttled (fails at once with `AdaptiveThrottleRejected`, unsent) with probability
 * `max(0, (requests − k·accepts) / (requests + 1))` over the last `window`; a throttled attempt counts as a request
 * too, so the probability keeps rising while the upstream rejects everything, and falls as accepts come back. The
 * retry stage does not retry a throttled attempt (as a full bulkhead).
 *
 * What counts as the upstream's rejection is fixed, as the SRE book has it (an answer, even an error, is an accept;
 * only "I am overloaded" is not) and as the concurrency limit counts drops: a 429 (`RateLimited`), a 503, a `Timeout`
 * and a connection that timed out opening (`ConnectionError` `"ConnectTimeout"`: a server whose accept queue is full).
 * Every other answer is an accept: a success, a 4xx other than 429, a 500 or another 5xx (a bug, or a gateway's
 * failure, not a load). What the upstream never judged counts neither way: a refused connection (an upstream that is
 * down, which the breaker handles), a DNS or TLS failure, a request that could not be built or authenticated, an
 * interrupted attempt (a hedge that lost), and other policies' rejections.
 *
 * Validated with the rest of the options: a `k` below 1 or not finite, or a `window` that is not a finite duration of
 * at least 1 ms, is an {@link InvalidPolicy} naming the field (`adaptiveThrottle.k`,
 * `hosts["a"].adaptiveThrottle.window`).
 *
 * @example
 * ```ts
 * import type { Policy } from "@sturdy/http"
 *
 * const book: Policy.AdaptiveThrottleOptions = {}
 * const aggressive: Policy.AdaptiveThrottleOptions = { k: 1.1, window: "1 minute" }
 * ```
 * @since 0.2.0
 * @category models
 */
export interface AdaptiveThrottleOptions {
  /** The accepts multiplier, finite and ≥ 1 (default 2, the SRE book's); lower throttles earlier. */
  readonly k?: number | undefined
  /** How much history counts (default 2 minutes), a finite duration of at least 1 ms. */
  readonly window?: Duration.DurationInput | undefined
}

/**
 * The client-side rate limiter stage (per upstream key); see `@sturdy/policy/RateLimit`.
 *
 * @example
 * ```ts
 * import type { Policy } from "@sturdy/http"
 *
 * const rateLimit: Policy.RateLimitOptions = { limit: 100, window: "1 second", onExceeded: "fail" }
 * ```
 * @since 0.1.0
 * @category models
 */
export interface RateLimitOptions {
  readonly limit: number
  readonly window: Duration.DurationInput
  readonly algorithm?: "token-bucket" | "fixed-window" | undefined
  readonly onExceeded?: "delay" | "fail" | undefined
}

/**
 * The hedging stage (`@sturdy/policy/Hedge`): while an attempt is slow, start another copy and keep the first
 * success. Each copy goes through the breaker, bulkhead and attempt timeout; with the retry budget on, every hedge
 * withdraws from it. Only requests that are safe to repeat, and whose body can be sent again, are hedged. A failed copy starts the next one at once only
 * when the retry rule would repeat the failure and the server asked for no wait (a 503 without `Retry-After`, a reset
 * connection); any other failure (a 404, a bad body) ends the call's hedging, and the retry stage decides from there.
 * A copy answered with a server's wait (a 429 or a 503 with `Retry-After`, gRPC's pushback), or turned away by the
 * breaker or the bulkhead, while another copy is out only stops the hedging: the copies already sent may still
 * answer, and if they fail too the server's wait is the failure the retry stage sees, and honours. A server's wait
 * is read as the retry stage reads it: only on `retry.retryAfterStatuses`, and not at all with `respectRetryAfter`
 * off (a 500's `Retry-After` then starts the next copy at once, as a plain 500 does).
 *
 * @example
 * ```ts
 * import type { Policy } from "@sturdy/http"
 *
 * const hedging: Policy.HedgingOptions = { delay: "300 millis", maxHedges: 1 }
 * ```
 * @since 0.1.0
 * @category models
 */
export interface HedgingOptions {
  readonly delay: Hedge.Delay
  readonly maxHedges?: number | undefined
  readonly failure?: "first" | "last" | undefined
}

/**
 * What may be overridden per endpoint (method and path pattern): time limits, retry, hedging, the deadline header.
 *
 * @example
 * ```ts
 * import type { Policy } from "@sturdy/http"
 *
 * // at most half the breaker's 30 s window (a longer attempt needs a longer `circuitBreaker.slidingWindow`)
 * const reports: Policy.EndpointOptions = { totalTimeout: "2 minutes", attemptTimeout: "15 seconds", retry: false }
 * ```
 * @since 0.1.0
 * @category models
 */
export interface EndpointOptions {
  /**
   * The logical call's deadline; `false` (or an infinite duration) for none. A server pause the call waits out counts
   * against it (see the module's pipeline).
   */
  readonly totalTimeout?: Duration.DurationInput | false | undefined
  /**
   * One attempt's limit (send, body read, decode); `false` (or an infinite duration) for none. A client's or a
   * request's `timeout` shorter than this one bounds the attempt instead (the shorter wins; one timer).
   */
  readonly attemptTimeout?: Duration.DurationInput | false | undefined
  /**
   * `false` turns retries off. The rules for a server's waits and pauses (`respectRetryAfter`, `retryAfterStatuses`,
   * `maxRetryAfter`) stay those of the level it turns off (the package's defaults at the top level), so an endpoint
   * without retries under a host with `respectRetryAfter: false` ignores server waits too.
   */
  readonly retry?: RetryOptions | false | undefined
  readonly hedging?: HedgingOptions | false | undefined
  /**
   * Send the time this attempt has left, the sooner of its attempt timeout and the call's deadline, in milliseconds,
   * as this header (`true`: `x-request-timeout-ms`) with every attempt.
   */
  readonly deadlineHeader?: string | boolean | undefined
  /**
   * Send, with every attempt, how many attempts of the same call were sent before it, as this header (`true`:
   * `x-retry-count`): `0` on the first attempt, `1` on the first retry or the first hedged copy, and so on, so that a
   * server can tell a retry from a fresh call in its logs and metrics (as OpenAI's and Anthropic's SDKs send
   * `x-stainless-retry-count`, Armeria `armeria-retry-count`). A request that already carries the header keeps its
   * own value. Off by default: an unexpected header can fail a CORS preflight or a signed request.
   *
   * @since 0.2.0
   */
  readonly retryCountHeader?: string | boolean | undefined
}

/**
 * What may be overridden per host: everything an endpoint may, plus the per-upstream stages.
 *
 * @example
 * ```ts
 * import type { Policy } from "@sturdy/http"
 *
 * const slowPartner: Policy.HostOptions = { attemptTimeout: "20 seconds", circuitBreaker: { slidingWindow: "1 minute" } }
 * ```
 * @since 0.1.0
 * @category models
 */
export interface HostOptions extends EndpointOptions {
  readonly circuitBreaker?: CircuitBreakerOptions | false | undefined
  readonly bulkhead?: BulkheadOptions | false | undefined
  /** Off by default; see {@link ConcurrencyLimitOptions}. */
  readonly concurrencyLimit?: ConcurrencyLimitOptions | false | undefined
  /** Off by default; `{}` turns it on with the SRE book's `k` of 2; see {@link AdaptiveThrottleOptions}. */
  readonly adaptiveThrottle?: AdaptiveThrottleOptions | false | undefined
  readonly rateLimit?: RateLimitOptions | false | undefined
}

/**
 * The whole pipeline: defaults for every upstream, overrides by host (`"api.example.com"` or
 * `"api.example.com:8443"`) and by endpoint (`"POST /orders"`, `"/reports/**"`, `"GET /users/:id"`; the first match
 * wins; `*` or `:name` is one segment, `**` any number of them, none included). An endpoint override applies on top
 * of the host's. An endpoint pattern matches the path as the request sends
 * it: dot segments resolved (`/a/../b` is `/b`), a space, a non-ASCII character and the other characters the URL
 * standard encodes percent-encoded (`/a b` is `/a%20b`), and the pattern is read alike, so it may be written either
 * way.
 *
 * @example
 * ```ts
 * import type { Policy } from "@sturdy/http"
 *
 * const options: Policy.Options = {
 *   totalTimeout: "10 seconds",
 *   attemptTimeout: "2 seconds",
 *   retry: { maxAttempts: 4, idempotencyKey: true },
 *   hosts: { "payments.example.com": { retry: { maxAttempts: 2 } } },
 *   endpoints: { "GET /reports/**": { totalTimeout: "1 minute", attemptTimeout: "15 seconds" } }
 * }
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Options extends HostOptions {
  /** The key breakers, bulkheads, limiters and budgets are kept under (default `scheme://host:port`). */
  readonly upstreamKey?: ((request: HttpClientRequest.HttpClientRequest) => string) | undefined
  readonly hosts?: Readonly<Record<string, HostOptions>> | undefined
  readonly endpoints?: Readonly<Record<string, EndpointOptions>> | undefined
  /**
   * Observes every call through the pipeline (see {@link Event}); also gets each breaker's transitions. Unset, the
   * pipeline does no observation work at all.
   */
  readonly onEvent?: ((event: Event) => Effect.Effect<void>) | undefined
  /**
   * Records each call with `Telemetry`: a `http.client.request` span, a `http.client.attempt` span per attempt
   * (hedges included), its metrics, and retries through `Telemetry.onRetry`. Default: on for the calls made while a
   * real tracer is installed (not Effect's native one), off otherwise, so an untraced call pays one check. `true`:
   * every call, metrics even without a tracer, and also `Telemetry.trackBreaker` on the pipeline's breakers (the
   * breaker gauge and transition counter, a log line per transition, `sturdy.breaker_state` on attempt spans).
   * `false`: never.
   */
  readonly telemetry?: boolean | undefined
}

// -----------------------------------------------------------------------------
// events
// -----------------------------------------------------------------------------

/**
 * An attempt passed the breaker and the bulkhead and is about to be sent. `attempt` is the retry stage's number
 * (1 for the first, 2 for the first retry); `hedge` is 0 for the primary copy and n for the n-th hedge of it.
 *
 * @example
 * ```ts
 * import type { Policy } from "@sturdy/http"
 *
 * const label = (e: Policy.AttemptStarted) => e.hedge === 0 ? `#${e.attempt}` : `#${e.attempt} hedge ${e.hedge}`
 * ```
 * @since 0.1.0
 * @category events
 */
export interface AttemptStarted {
  readonly _tag: "AttemptStarted"
  /** The upstream key (`scheme://host:port` unless `upstreamKey` says otherwise). */
  readonly key: string
  readonly attempt: number
  readonly hedge: number
}

/**
 * An attempt ended (its attempt timeout included): `outcome`, the response `status` when the attempt returned a
 * response or `Attempt.Received` or failed with a status, the failure, and how long it took (`Clock` time).
 *
 * @example
 * ```ts
 * import type { Policy } from "@sturdy/http"
 * import { Duration } from "effect"
 *
 * const line = (e: Policy.AttemptEnded) =>
 *   `#${e.attempt} ${e.status ?? e.failure?._tag ?? e.outcome} in ${Duration.format(e.duration)}`
 * ```
 * @since 0.1.0
 * @category events
 */
export interface AttemptEnded {
  readonly _tag: "AttemptEnded"
  readonly key: string
  readonly attempt: number
  readonly hedge: number
  readonly outcome: "success" | "failure" | "interrupted" | "defect"
  readonly status: number | undefined
  readonly failure: HttpFailure.HttpFailure | undefined
  readonly duration: Duration.Duration
  /** The attempt's exit, e.g. to read a decoded value. */
  readonly exit: Exit.Exit<unknown, HttpFailure.HttpFailure>
}

/**
 * The retry stage decided after a failure (`Retry.Attempt`): `attempt` is the attempt the decision is about (2 for
 * the first retry), `delay` the wait before it and `reason` why (`"backoff"` and `"retry-after"` retry).
 *
 * @example
 * ```ts
 * import type { Policy } from "@sturdy/http"
 *
 * const gaveUp = (e: Policy.RetryDecision) => !e.retrying && e.reason !== "not-retryable"
 * ```
 * @since 0.1.0
 * @category events
 */
export interface RetryDecision {
  readonly _tag: "RetryDecision"
  readonly key: string
  readonly attempt: number
  readonly delay: Duration.Duration
  readonly reason: Retry.Reason
  readonly retrying: boolean
  readonly failure: RetryFailure
}

/**
 * The hedging stage started another copy of attempt `attempt` (`index` 1 for the first hedge), after its delay or
 * after a copy failed.
 *
 * @example
 * ```ts
 * import type { Policy } from "@sturdy/http"
 *
 * const line = (e: Policy.HedgeStarted) => `hedge ${e.index} of #${e.attempt} (${e.trigger})`
 * ```
 * @since 0.1.0
 * @category events
 */
export interface HedgeStarted {
  readonly _tag: "HedgeStarted"
  readonly key: string
  readonly attempt: number
  readonly index: number
  readonly trigger: "delay" | "failure"
  readonly elapsed: Duration.Duration
}

/**
 * A circuit breaker of the pipeline changed state; `key` is its upstream key, `at` the `Clock` time in ms. Only the
 * hook in the policy's options gets these (a breaker's transitions belong to no one call).
 *
 * @example
 * ```ts
 * import type { Policy } from "@sturdy/http"
 *
 * const opened = (e: Policy.BreakerTransition) => e.to === "Open"
 * ```
 * @since 0.1.0
 * @category events
 */
export interface BreakerTransition {
  readonly _tag: "BreakerTransition"
  readonly key: string
  readonly from: CircuitBreaker.State
  readonly to: CircuitBreaker.State
  readonly at: number
}

/**
 * A policy refused to send `attempt`: an open breaker, a full bulkhead, the adaptive throttle or a concurrency limit
 * reached (for one attempt, which may be retried),
 * the rate limiter or a server's pause (before the first attempt), or the retry budget (instead of a retry).
 *
 * @example
 * ```ts
 * import type { Policy } from "@sturdy/http"
 *
 * const line = (e: Policy.Rejected) => `#${e.attempt} not sent: ${e.rejection._tag}`
 * ```
 * @since 0.1.0
 * @category events
 */
export interface Rejected {
  readonly _tag: "Rejected"
  readonly key: string
  readonly attempt: number
  readonly rejection: Rejection
}

/**
 * What the observation hook sees of a call, in order: for each attempt `AttemptStarted` then `AttemptEnded` (or a
 * `Rejected` instead of both), then, after a failure, one `RetryDecision`; `HedgeStarted` when a hedge is started;
 * `BreakerTransition` whenever a breaker changes state.
 *
 * The hook runs on the calling fiber, in line with the call: keep it quick, and let it not fail (a defect in it
 * fails the call). It is set for the whole pipeline (`Options.onEvent`, which also gets breaker transitions) or
 * for one call ({@link RunOptions}); with both, both see the call's events.
 *
 * @example
 * ```ts
 * import { Policy } from "@sturdy/http"
 * import { Duration, Effect } from "effect"
 *
 * const describe = (event: Policy.Event): string => {
 *   switch (event._tag) {
 *     case "AttemptStarted":
 *       return `${event.key} attempt ${event.attempt}${event.hedge > 0 ? ` (hedge ${event.hedge})` : ""}`
 *     case "AttemptEnded":
 *       return `  ${event.status ?? event.failure?._tag ?? event.outcome} in ${Duration.format(event.duration)}`
 *     case "RetryDecision":
 *       return event.retrying ? `  retry in ${Duration.format(event.delay)} (${event.reason})` : `  no retry (${event.reason})`
 *     case "HedgeStarted":
 *       return `  hedge ${event.index} (${event.trigger})`
 *     case "BreakerTransition":
 *       return `${event.key} breaker ${event.from} -> ${event.to}`
 *     case "Rejected":
 *       return `  not sent: ${event.rejection._tag}`
 *   }
 * }
 *
 * const PolicyLive = Policy.layer({ onEvent: (event) => Effect.logInfo(describe(event)) })
 * ```
 * @since 0.1.0
 * @category events
 */
export type Event = AttemptStarted | AttemptEnded | RetryDecision | HedgeStarted | BreakerTransition | Rejected

/**
 * Options of one call: an observation hook for this call only (see {@link Event}).
 *
 * @example
 * ```ts
 * import type { Policy } from "@sturdy/http"
 * import { Effect } from "effect"
 *
 * const seen: Array<Policy.Event> = []
 * const options: Policy.RunOptions = { onEvent: (event) => Effect.sync(() => seen.push(event)) }
 * ```
 * @since 0.1.0
 * @category models
 */
export interface RunOptions {
  readonly onEvent?: ((event: Event) => Effect.Effect<void>) | undefined
}

/**
 * The pipeline as it applies to one request, for inspection and tests.
 *
 * @example
 * ```ts
 * import type { Policy } from "@sturdy/http"
 *
 * const line = (d: Policy.Describe) => `${d.key}: ${d.maxAttempts} attempts`
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Describe {
  readonly key: string
  readonly totalTimeout: Option.Option<Duration.Duration>
  readonly attemptTimeout: Option.Option<Duration.Duration>
  readonly maxAttempts: number
  readonly circuitBreaker: boolean
  readonly bulkhead: boolean
  /** Whether the adaptive concurrency limit stage is on (`concurrencyLimit`). */
  readonly concurrencyLimit: boolean
  /** Whether the adaptive throttle stage is on (`adaptiveThrottle`). */
  readonly adaptiveThrottle: boolean
  readonly rateLimit: boolean
  /**
   * Whether slow attempts of this request are hedged: hedging is on for the profile and the request is safe to repeat
   * (hedging never sends a second copy of a request that is not).
   *
   * @since 0.2.0
   */
  readonly hedging: boolean
  readonly deadlineHeader: Option.Option<string>
  /**
   * The header that carries each attempt's count of earlier attempts (`retryCountHeader`), if any.
   *
   * @since 0.2.0
   */
  readonly retryCountHeader: Option.Option<string>
}

// -----------------------------------------------------------------------------
// errors
// -----------------------------------------------------------------------------

/**
 * A policy's configuration is invalid. `problems` lists every problem found, each with the `field` the user set
 * (e.g. `retry.maxDelay`, `hosts["api.example.com"].circuitBreaker.slidingWindow`) and a `detail` naming the value
 * and what it conflicts with (`(1s, set at retry.maxDelay) must be at least retry.baseDelay (2s, the default)`);
 * `field` and `detail` are the first problem's. The message lists them all.
 *
 * @example
 * ```ts
 * import { Policy } from "@sturdy/http"
 * import { Effect } from "effect"
 *
 * const program = Effect.scoped(Policy.make({ totalTimeout: "1 second", attemptTimeout: "5 seconds" })).pipe(
 *   Effect.catchTag("InvalidPolicy", (e) => Effect.die(`fix ${e.field}: ${e.detail}`))
 * )
 * ```
 * @since 0.1.0
 * @category errors
 */
export const InvalidPolicy: typeof internal.InvalidPolicy = internal.InvalidPolicy

/**
 * The instance type of {@link InvalidPolicy}.
 *
 * @example
 * ```ts
 * import type { Policy } from "@sturdy/http"
 *
 * const field = (e: Policy.InvalidPolicy) => e.field
 * ```
 * @since 0.1.0
 * @category errors
 */
export interface InvalidPolicy extends internal.InvalidPolicy {}

/**
 * A rejection by one of the policies themselves: the call was not sent (or not sent again) to protect the
 * upstream or the caller. `RetryBudgetExhausted` carries the failure that was not retried.
 *
 * @example
 * ```ts
 * import type { Policy } from "@sturdy/http"
 *
 * const isRejection = (e: Policy.Failure): e is Policy.Rejection =>
 *   [
 *     "CircuitOpen",
 *     "BulkheadRejected",
 *     "AdaptiveThrottleRejected",
 *     "ConcurrencyLimitExceeded",
 *     "RateLimitExceeded",
 *     "RateLimitStoreError",
 *     "RetryBudgetExhausted"
 *   ].includes(e._tag)
 * ```
 * @since 0.1.0
 * @category errors
 */
export type Rejection =
  | CircuitBreaker.CircuitOpen
  | Bulkhead.BulkheadRejected
  | AdaptiveThrottle.AdaptiveThrottleRejected
  | ConcurrencyLimit.ConcurrencyLimitExceeded
  | RateLimit.RateLimitExceeded
  | RateLimit.RateLimitStoreError
  | RetryBudget.RetryBudgetExhausted<RetryFailure>

/**
 * How many attempts a call made before it failed with `failure`: the `attempts` an {@link HttpFailure.HttpFailure}
 * carries when the retry stage gave up on it, or a `RetryBudgetExhausted`'s; `undefined` for a failure the retry
 * stage did not return (an open breaker, a full bulkhead, the adaptive throttle, a concurrency limit reached, the rate
 * limiter, or a pipeline with `retry: false`).
 *
 * @example
 * ```ts
 * import { Policy } from "@sturdy/http"
 * import { Effect } from "effect"
 *
 * declare const call: Effect.Effect<string, Policy.Failure>
 * const logged = call.pipe(
 *   Effect.tapError((e) => Effect.logWarning(`gave up after ${Policy.attemptsOf(e) ?? 1} attempts: ${e.message}`))
 * )
 * ```
 * @since 0.2.0
 * @category classification
 */
export const attemptsOf: (failure: Failure) => number | undefined = internal.attemptsOf

/**
 * Every way a call through the pipeline can fail: an {@link HttpFailure.HttpFailure} or a {@link Rejection}.
 *
 * @example
 * ```ts
 * import type { Policy } from "@sturdy/http"
 * import { Effect } from "effect"
 *
 * declare const call: Effect.Effect<string, Policy.Failure>
 * const handled = call.pipe(Effect.catchTags({ CircuitOpen: () => Effect.succeed("later"), Timeout: () => Effect.succeed("slow") }))
 * ```
 * @since 0.1.0
 * @category errors
 */
export type Failure = HttpFailure.HttpFailure | Rejection

// -----------------------------------------------------------------------------
// the policy
// -----------------------------------------------------------------------------

/**
 * A built pipeline with its per-upstream state.
 *
 * @since 0.1.0
 * @category models
 */
export interface Policy {
  /**
   * The options it was made with, as a frozen copy of their plain objects and arrays: changing the object given to
   * `make` afterwards changes neither the policy nor this.
   */
  readonly options: Options
  /**
   * Runs one logical request: `send` makes one attempt with the request it is given (which carries the
   * `Idempotency-Key` and the deadline header when configured).
   */
  readonly run: <A, R>(
    request: HttpClientRequest.HttpClientRequest,
    send: (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<A, HttpFailure.HttpFailure, R>,
    options?: RunOptions
  ) => Effect.Effect<A, Failure, R>
  /** The resolved pipeline for a request (host and endpoint overrides applied). */
  readonly describe: (request: HttpClientRequest.HttpClientRequest) => Describe
  /** The retry budget the pipeline withdraws from (the `RetryBudget` in context when built, or its own). */
  readonly budget: RetryBudget.RetryBudget.Service
  /** The breaker a request would go through, if the pipeline has one. */
  readonly circuitBreaker: (
    request: HttpClientRequest.HttpClientRequest
  ) => Effect.Effect<Option.Option<CircuitBreaker.CircuitBreaker>>
  /**
   * The adaptive concurrency limit a request's attempts would go through, if the pipeline has one (`concurrencyLimit`
   * on for its profile): its current `limit`, its `inFlight` calls and its `changes`.
   *
   * @since 0.2.0
   */
  readonly concurrencyLimit: (
    request: HttpClientRequest.HttpClientRequest
  ) => Effect.Effect<Option.Option<ConcurrencyLimit.ConcurrencyLimit>>
  /**
   * The adaptive throttle a request's attempts would go through, if the pipeline has one (`adaptiveThrottle` on for
   * its profile): its `snapshot` gives the requests and accepts in the window and the probability the next attempt
   * is throttled.
   *
   * @since 0.2.0
   */
  readonly adaptiveThrottle: (
    request: HttpClientRequest.HttpClientRequest
  ) => Effect.Effect<Option.Option<AdaptiveThrottle.AdaptiveThrottle>>
}

/**
 * The tag of the pipeline service.
 *
 * @example
 * ```ts
 * import { Policy } from "@sturdy/http"
 * import { Effect } from "effect"
 *
 * const describe = Effect.map(Policy.Policy, (policy) => policy.options)
 * ```
 * @since 0.1.0
 * @category tags
 */
export const Policy: Context.Tag<Policy, Policy> = internal.tag

/**
 * The defaults of the standard pipeline (see the module's table).
 *
 * @example
 * ```ts
 * import { Policy } from "@sturdy/http"
 * import { Duration } from "effect"
 *
 * console.log(Duration.format(Policy.defaults.totalTimeout)) // "30s"
 * ```
 * @since 0.1.0
 * @category constants
 */
export const defaults: typeof internal.defaults = internal.defaults

/**
 * The largest `retry.maxAttempts` a policy accepts when nothing bounds the call in time: 10. With a `totalTimeout`
 * (on by default) or a `retry.maxElapsed`, any number is accepted.
 *
 * @example
 * ```ts
 * import { Policy } from "@sturdy/http"
 *
 * console.log(Policy.maxAttemptsCap) // 10
 * ```
 * @since 0.1.0
 * @category constants
 */
export const maxAttemptsCap: number = internal.maxAttemptsCap

/**
 * Checks the options without building anything.
 *
 * @example
 * ```ts
 * import { Policy } from "@sturdy/http"
 * import { Either } from "effect"
 *
 * const checked = Policy.validate({ totalTimeout: false, retry: { maxAttempts: 50 } })
 * if (Either.isLeft(checked)) console.log(checked.left.problems) // [{ field: "retry.maxAttempts", detail: "..." }]
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const validate: (options: Options) => Either.Either<Options, InvalidPolicy> = internal.validate

/**
 * Builds the pipeline; its breakers live as long as the scope. Uses the `RetryBudget` and
 * `RateLimit.RateLimiterStore` in context when there are any, in-memory ones otherwise, and shares its breakers'
 * transitions through the `CircuitBreakerStore` and its bulkheads' permits through the `BulkheadStore` in context
 * when there are any.
 *
 * @example
 * ```ts
 * import { Policy } from "@sturdy/http"
 * import { Effect } from "effect"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const policy = yield* Policy.make({ totalTimeout: "5 seconds", attemptTimeout: "1 second" })
 *   return policy.options
 * }))
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const make: (options?: Options) => Effect.Effect<Policy, InvalidPolicy, Scope.Scope> = internal.make

/**
 * A layer providing the pipeline.
 *
 * @example
 * ```ts
 * import { Policy } from "@sturdy/http"
 *
 * const PolicyLive = Policy.layer({ retry: { maxAttempts: 4 }, hosts: { "slow.example.com": { attemptTimeout: "20 seconds" } } })
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layer: (options?: Options) => Layer.Layer<Policy, InvalidPolicy> = internal.layer

/**
 * A layer whose options are read from `Config`; {@link config} reads the standard fields.
 *
 * @example
 * ```ts
 * import { Policy } from "@sturdy/http"
 * import { Config } from "effect"
 *
 * const PolicyLive = Policy.layerConfig(Config.nested(Policy.config, "HTTP_POLICY"))
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: (
  config: Config.Config<Options>
) => Layer.Layer<Policy, InvalidPolicy | ConfigError.ConfigError> = internal.layerConfig

/**
 * Reads the options from `Config`, every field optional: `totalTimeout`, `attemptTimeout`, `deadlineHeader`,
 * `retryCountHeader`, `retry.{enabled, maxAttempts, baseDelay, maxDelay, maxElapsed, maxRetryAfter, respectRetryAfter,
 * retryAfterStatuses, statuses, methods, budget, idempotencyKey, retryUnsent}` (lists comma-separated),
 * `circuitBreaker.{enabled, failureRateThreshold, minimumThroughput, consecutiveFailures, failureCountThreshold, slidingWindow,
 * slidingWindowCalls (a count window: the last n calls), breakDuration, maxProbeDuration, countsAsFailure (a list of statuses), waitForProbe}`, `bulkhead.{enabled, maxConcurrent, maxQueued, maxWait}`, `concurrencyLimit.{enabled, algorithm, initialLimit, minLimit, maxLimit, backoffRatio, timeout, smoothing, queueSize, rttTolerance, longWindow}`, `adaptiveThrottle.{enabled, k, window}`, `rateLimit.{enabled, limit, window}`;
 * the same under `hosts.<host>`, and the time and retry fields under `endpoints.<"METHOD /path">`; `telemetry` at the
 * top. A section with nothing set is inherited; `enabled: false` turns it off.
 *
 * @example
 * ```ts
 * import { Policy } from "@sturdy/http"
 * import { ConfigProvider, Effect } from "effect"
 *
 * const options = Effect.withConfigProvider(
 *   Policy.config,
 *   ConfigProvider.fromJson({ totalTimeout: "10 seconds", retry: { maxAttempts: 2 } })
 * )
 * ```
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<Options> = internal.config

/**
 * The default upstream key of a request: `scheme://host:port` (the port filled in for http and https, the host in
 * lower case, and a host name past ASCII in its ASCII form, as it is sent: `bücher.example` is `xn--bcher-kva.example`,
 * and a `hosts` entry written either way applies to both).
 *
 * @example
 * ```ts
 * import { HttpClientRequest } from "@effect/platform"
 * import { Policy } from "@sturdy/http"
 *
 * Policy.upstreamKey(HttpClientRequest.get("https://API.example.com/users")) // "https://api.example.com:443"
 * ```
 * @since 0.1.0
 * @category keys
 */
export const upstreamKey: (request: HttpClientRequest.HttpClientRequest) => string = internal.upstreamKey

/**
 * The default retry predicate: transient failures (`HttpFailure.isTransient`), but no 4xx other than 408 and 429,
 * and 413 only when the server named a wait (`Retry-After` or `X-RateLimit-Retry-After`, or a `RateLimit-Reset` /
 * `X-RateLimit-Reset` with no requests left or no remaining count).
 *
 * @example
 * ```ts
 * import { HttpFailure, Policy } from "@sturdy/http"
 * import { Option } from "effect"
 *
 * const notFound = new HttpFailure.ClientError({
 *   method: "GET", url: "https://x.test/", status: 404, headers: {}, bodyExcerpt: "", payload: Option.none()
 * })
 * Policy.isRetryableByDefault(notFound) // false
 * ```
 * @since 0.1.0
 * @category classification
 */
export const isRetryableByDefault: (failure: HttpFailure.HttpFailure) => boolean = internal.isRetryableByDefault

/**
 * Whether the breaker counts a failure by default: server failures only, i.e. `ServerError` other than 501, 505 and
 * 511, `Timeout` (phase `Attempt` or `BodyRead`), `ClientError` 408, `ConnectionError` `Refused`, `Reset`,
 * `ConnectTimeout` or `Unknown`, and `BodyTruncated`. Not a 429 nor any other 4xx, no `Timeout(Deadline)` (the caller
 * ran out of time, which says nothing about the upstream), and never a policy's own rejection.
 *
 * @example
 * ```ts
 * import { HttpFailure, Policy } from "@sturdy/http"
 * import { Duration } from "effect"
 *
 * Policy.countsAgainstUpstream(new HttpFailure.Timeout({ method: "GET", url: "https://x.test/", phase: "Attempt", timeout: Duration.seconds(1) })) // true
 * ```
 * @since 0.1.0
 * @category classification
 */
export const countsAgainstUpstream: (error: unknown) => boolean = internal.countsAgainstUpstream

// -----------------------------------------------------------------------------
// calls
// -----------------------------------------------------------------------------

/**
 * Runs one logical request through the `Policy` in context; `send` makes one attempt.
 *
 * @example
 * ```ts
 * import { HttpClient, HttpClientRequest } from "@effect/platform"
 * import { Attempt, Policy } from "@sturdy/http"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const client = yield* HttpClient.HttpClient
 *   return yield* Policy.run(HttpClientRequest.get("https://api.example.com/health"), (request) => Attempt.send(client, request))
 * })
 * ```
 * @since 0.1.0
 * @category calls
 */
export const run: <A, R>(
  request: HttpClientRequest.HttpClientRequest,
  send: (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<A, HttpFailure.HttpFailure, R>,
  options?: RunOptions
) => Effect.Effect<A, Failure, R | Policy> = internal.run

/**
 * `Attempt.send` through the `Policy` in context.
 *
 * @example
 * ```ts
 * import { HttpClient, HttpClientRequest } from "@effect/platform"
 * import { Policy } from "@sturdy/http"
 * import { Effect } from "effect"
 *
 * const program = Effect.flatMap(HttpClient.HttpClient, (client) =>
 *   Policy.send(client, HttpClientRequest.get("https://api.example.com/health"))
 * )
 * ```
 * @since 0.1.0
 * @category calls
 */
export const send: <R = never>(
  client: Attempt.Client<R>,
  request: HttpClientRequest.HttpClientRequest,
  options?: Attempt.Options
) => Effect.Effect<Attempt.Received, Failure, R | Policy> = internal.send

/**
 * `Attempt.json` through the `Policy` in context.
 *
 * @example
 * ```ts
 * import { HttpClient, HttpClientRequest } from "@effect/platform"
 * import { Policy } from "@sturdy/http"
 * import { Effect, Schema } from "effect"
 *
 * const User = Schema.Struct({ id: Schema.Number, name: Schema.String })
 * const program = Effect.flatMap(HttpClient.HttpClient, (client) =>
 *   Policy.json(client, HttpClientRequest.get("https://api.example.com/users/1"), User)
 * )
 * ```
 * @since 0.1.0
 * @category calls
 */
export const json: <A, I, R, RC = never>(
  client: Attempt.Client<RC>,
  request: HttpClientRequest.HttpClientRequest,
  schema: Schema.Schema<A, I, R>,
  options?: Attempt.Options
) => Effect.Effect<A, Failure, R | RC | Policy> = internal.json

// -----------------------------------------------------------------------------
// client middleware
// -----------------------------------------------------------------------------

/**
 * A client → client transform, in the style of `HttpClient.retryTransient`, for code that speaks
 * `HttpClient` (such as `HttpApiClient`): every request of the returned client runs through `policy`.
 *
 * Each attempt's response is classified as an `Attempt` classifies it: a 2xx is returned with its body unread (the
 * attempt's limit covers the response's headers; the caller reads the body), any other status is a status failure
 * for the policy (retried, counted by the breaker, `Retry-After` obeyed), its body read into memory (up to 10 MiB).
 * When the policy gives up on a status failure, the last response with that status is returned, so that
 * `HttpApiClient` still decodes its error schemas; transport failures, timeouts and the policy's rejections become an
 * `HttpClientError.RequestError` (reason `"Transport"`) whose `cause` is the Sturdy failure (a `Policy.Failure`).
 * Since the body of a 2xx is read after the call, a body that fails to arrive is not retried: use `SturdyClient`
 * for calls whose body read should be part of each attempt.
 *
 * The client may fail with errors of its own besides `HttpClientError`, as one wrapped in `Auth.bearerFrom` does (its
 * token source's errors and `Auth.Unauthorized`). The policy judges such an error as the
 * `HttpFailure.AuthenticationFailed` that `Auth.layerBearerFrom` folds it into: the request was not sent, so the breaker
 * does not count it, and it is not retried by default (`retry.retryOn: { AuthenticationFailed: true }` retries the
 * `Unavailable` ones: a token source's error whose reason is not known is `Unavailable`, `Auth.Unauthorized` is
 * `Rejected`). When the policy gives up on it, the caller gets the error as the client failed with it, to
 * `catchTag`. An `HttpFailure` the client fails with is judged as it is.
 *
 * Policies do not merge. A client wrapped twice, or a wrapped client given to a `SturdyClient` that has a policy of
 * its own, runs both, each with its own retries, breakers and budgets, so attempts multiply (nine for two policies of
 * `maxAttempts: 3`). Wrap a client once, and put per-host or per-endpoint differences in that policy's `hosts` and
 * `endpoints`.
 *
 * @example
 * ```ts
 * import { HttpApi, HttpApiClient, HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
 * import { Policy } from "@sturdy/http"
 * import { Effect, Schema } from "effect"
 *
 * const Api = HttpApi.make("api").add(
 *   HttpApiGroup.make("users").add(HttpApiEndpoint.get("list", "/users").addSuccess(Schema.Array(Schema.String)))
 * )
 *
 * const program = Effect.gen(function*() {
 *   const policy = yield* Policy.make({ retry: { maxAttempts: 4 } })
 *   const client = yield* HttpApiClient.make(Api, {
 *     baseUrl: "https://api.example.com",
 *     transformClient: Policy.withPolicy(policy)
 *   })
 *   return yield* client.users.list()
 * }).pipe(Effect.scoped)
 * ```
 * @since 0.2.0
 * @category client middleware
 */
export const withPolicy: {
  (policy: Policy): <E, R>(
    self: HttpClient.HttpClient.With<E, R>
  ) => HttpClient.HttpClient.With<Exclude<E, HttpFailure.HttpFailure> | HttpClientError.HttpClientError, R>
  <E, R>(
    self: HttpClient.HttpClient.With<E, R>,
    policy: Policy
  ): HttpClient.HttpClient.With<Exclude<E, HttpFailure.HttpFailure> | HttpClientError.HttpClientError, R>
} = withPolicyInternal.withPolicy
