/**
 * Chaos engineering for HTTP: an `HttpClient` middleware that wraps a real client and, for a share of the requests,
 * injects a fault from the `FaultScript` vocabulary (a 503, a reset, a hang, a refused connection, an HTTP/2 stream
 * the server refuses or resets, a body that does not parse...) or extra latency. It is Sturdy's counterpart of Polly v8's chaos strategies (Simmy): the fault and
 * outcome strategies are `faults`, the latency strategy is `latency`, the injection rate and `enabled` switch are
 * Polly's `InjectionRate` and `EnabledGenerator`. Polly's behavior strategy has no outcome of its own here:
 * `onInject` runs an effect of yours on each injection.
 *
 * It is meant for game days in staging or production: enable it with a small rate, for some requests, and watch
 * `Policy` (from `@sturdy/http`) retry, time out, hedge and break as configured. Put `Policy` around the chaos client
 * and the chaos client right around the transport (`Chaos.layer` over `NodeHttpClient.layerUndici`, say).
 *
 * - An injected fault is played exactly as `ScriptedClient` plays it (same platform errors and causes, the same
 *   `requestSent` marks, latencies as `Effect.sleep`s): `Attempt` and `Policy` classify it as they would the real
 *   failure. The wrapped client never sees the request: nothing is sent. A `hang` lasts until the caller gives up (an
 *   attempt timeout, an interruption). An `eventStream` or a `resource` answers from the request's own
 *   `Last-Event-ID`, `Range` and `If-Range`, as `ScriptedClient` does: an injected event stream that drops, or a
 *   resource cut mid-body, exercises `EventStream`'s and `Download`'s resumes against the script, not the real server.
 * - Injected latency waits, then sends the real request through the wrapped client. While it waits nothing is
 *   written, so an attempt timeout that fires then is a `Timeout` with `requestSent: false`.
 * - An injected fault replaces the wrapped client's whole answer, including what it does after sending (its
 *   `HttpClient.transformResponse`s, `filterStatusOk`...): wrap the transport itself, not a client already decorated.
 *
 * Randomness comes from Effect's `Random` service: per selected request one `Random.next` decides whether to inject
 * (below `injectionRate`), and a second, only when there are several outcomes, picks one in proportion to the
 * weights. So `Effect.withRandom(Random.make(seed))` makes a run repeat exactly. Latency is an `Effect.sleep`, so
 * under `TestClock` it takes no real time.
 *
 * Each injection is visible: an event `sturdy.chaos` on the current span (attributes `sturdy.chaos.outcome`, `fault`
 * or `latency`, `sturdy.chaos.injected`, e.g. `status 503` or `latency 2s`, and `http.request.method`), an
 * `sturdy.chaos` attribute on the `http.client` span of an injected fault, an `Effect.logDebug` line with the same
 * annotations (the URL as sent, redacted by `Redaction.redactUrlWithParams` of `@sturdy/http`: no user info, secret
 * query parameters hidden), and the optional `onInject` callback.
 *
 * @since 0.2.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as FaultScript from "./FaultScript.js"
import * as internal from "./internal/chaos.js"

/**
 * A fault with a weight: among the outcomes, it is chosen in proportion to `weight` (a finite number > 0).
 *
 * @since 0.2.0
 * @category models
 */
export interface WeightedFault {
  readonly fault: FaultScript.Fault
  readonly weight: number
}

/**
 * Injected latency with a weight: among the outcomes, it is chosen in proportion to `weight` (a finite number > 0).
 *
 * @since 0.2.0
 * @category models
 */
export interface WeightedLatency {
  readonly latency: Duration.DurationInput
  readonly weight: number
}

/**
 * What to inject, how often, and into which requests.
 *
 * - `injectionRate`: the chance, from 0 to 1, that a selected request gets an injected outcome.
 * - `faults`: at least one `FaultScript.Fault`, each of weight 1 or given as `{ fault, weight }`. Faults are checked
 *   against the `FaultScript.Fault` schema (the constructors build only valid ones).
 * - `latency`: a duration ≥ 0 added before the real request is sent, of weight 1 or given as `{ latency, weight }`.
 * - `faults`, `latency` or both: an injection picks one of them in proportion to the weights.
 * - `enabled` (default `true`): `false`, or a predicate that answers `false`, sends the request to the wrapped client
 *   untouched, without a random draw.
 * - `onInject`: run on each injection, before it is played.
 *
 * A bad option (a rate outside [0, 1] or NaN, an empty `faults`, a weight ≤ 0, a negative or infinite latency, a
 * value that is not a fault...) throws a `RangeError` that names it, when the client or the layer is built.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  readonly injectionRate: number
  readonly faults?: ReadonlyArray<FaultScript.Fault | WeightedFault> | undefined
  readonly latency?: Duration.DurationInput | WeightedLatency | undefined
  readonly enabled?: boolean | ((request: HttpClientRequest.HttpClientRequest) => boolean) | undefined
  readonly onInject?: ((injection: Injection) => Effect.Effect<void>) | undefined
}

/**
 * One injection, as `onInject` receives it: a fault played instead of the request, or latency added before it.
 *
 * @since 0.2.0
 * @category models
 */
export type Injection =
  | {
    readonly _tag: "Fault"
    readonly request: HttpClientRequest.HttpClientRequest
    readonly fault: FaultScript.Fault
  }
  | {
    readonly _tag: "Latency"
    readonly request: HttpClientRequest.HttpClientRequest
    readonly latency: Duration.Duration
  }

/**
 * Wraps a client with chaos: for each request `options.enabled` selects, with probability `injectionRate`, an
 * injected fault answers instead of the client, or injected latency delays the request. Both call forms: `transform(
 * client, options)` and `client.pipe(transform(options))`.
 *
 * @example
 * ```ts
 * import { HttpClient } from "@effect/platform"
 * import { Chaos, FaultScript } from "@sturdy/testing"
 * import { Effect, Random } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const client = (yield* HttpClient.HttpClient).pipe(Chaos.transform({
 *     injectionRate: 0.1,
 *     faults: [FaultScript.status(503), { fault: FaultScript.refused(), weight: 2 }],
 *     enabled: (request) => request.method === "GET"
 *   }))
 *   return yield* client.get("https://api.example.com/items")
 * }).pipe(Effect.withRandom(Random.make(42)))
 * ```
 * @since 0.2.0
 * @category combinators
 */
export const transform: {
  (
    options: Options
  ): <E, R>(
    self: HttpClient.HttpClient.With<E, R>
  ) => HttpClient.HttpClient.With<E | HttpClientError.HttpClientError, R>
  <E, R>(
    self: HttpClient.HttpClient.With<E, R>,
    options: Options
  ): HttpClient.HttpClient.With<E | HttpClientError.HttpClientError, R>
} = internal.transform

/**
 * Replaces the `HttpClient` in context with the same client wrapped by {@link transform}: provide the real client
 * to it, and it to the program.
 *
 * @example
 * ```ts
 * import { NodeHttpClient } from "@effect/platform-node"
 * import { Chaos, FaultScript } from "@sturdy/testing"
 * import { Layer } from "effect"
 *
 * const GameDay = Chaos.layer({
 *   injectionRate: 0.05,
 *   faults: [FaultScript.status(503), FaultScript.reset("beforeHeaders")],
 *   latency: { latency: "2 seconds", weight: 3 }
 * }).pipe(Layer.provide(NodeHttpClient.layerUndici))
 * ```
 * @since 0.2.0
 * @category layers
 */
export const layer: (options: Options) => Layer.Layer<HttpClient.HttpClient, never, HttpClient.HttpClient> =
  internal.layer
