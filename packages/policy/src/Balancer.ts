/**
 * Client-side load balancing over the replicas of one upstream, with outlier ejection: each call is sent to one
 * endpoint (any value: a base URL, a host and port, a client), chosen by "power of two choices" over a peak-EWMA load
 * score (as Finagle's `p2cPeakEwma` and Linkerd's proxy) or in turn (round-robin), and an endpoint that keeps failing
 * is set aside for a while (as Envoy's outlier detection). Neither `effect` (its `HashRing` places keys on nodes for
 * cluster sharding, its `Pool`/`KeyedPool` hold resources), nor `@effect/platform`, nor `@effect/experimental` has a
 * load balancer over replicas or outlier ejection (checked: effect 3.22, @effect/platform 0.97, @effect/experimental
 * 0.61).
 *
 * | option            | default         | meaning                                                                  |
 * | ----------------- | --------------- | ------------------------------------------------------------------------ |
 * | `endpoints`       | (required)      | the replicas, a non-empty array                                          |
 * | `key`             | `String`        | names an endpoint (snapshot, events, span); the keys must be distinct strings |
 * | `strategy`        | `"p2c"`         | `"p2c"` or `"round-robin"`                                               |
 * | `ewmaDecay`       | `"10 seconds"`  | p2c: how fast the latency estimate forgets, a finite positive duration (Finagle's `decayTime`, Linkerd's `EWMA_DECAY`) |
 * | `defaultLatency`  | `"30 millis"`   | p2c: the estimate of an endpoint not yet measured, finite ≥ 0 (Linkerd's `EWMA_DEFAULT_RTT`) |
 * | `outlier`         | `{}`            | the outlier ejection options below                                        |
 *
 * | `outlier.` option      | default        | meaning (Envoy's name)                                            |
 * | ---------------------- | -------------- | ----------------------------------------------------------------- |
 * | `consecutiveFailures`  | `5`            | failures in a row that eject an endpoint, an integer ≥ 1 or `Infinity` (never) (`consecutive_5xx`) |
 * | `isFailure`            | every failure  | which failures (and defects) count                                |
 * | `baseEjectionTime`     | `"30 seconds"` | an ejection lasts this × the multiplier, finite > 0 (`base_ejection_time`) |
 * | `maxEjectionTime`      | `"300 seconds"`| the longest ejection, finite, ≥ `baseEjectionTime` (unset: the larger of 300 s and the base) (`max_ejection_time`) |
 * | `maxEjectionPercent`   | `10`           | the share of endpoints that may be ejected at once, in [0, 100] (`max_ejection_percent`) |
 * | `alwaysEjectOne`       | `true`         | one endpoint may be ejected whatever `maxEjectionPercent` says (`always_eject_one_host`, false in Envoy) |
 * | `interval`             | `"10 seconds"` | each whole interval an endpoint spends back in service takes one off its multiplier, finite > 0 (`interval`) |
 * | `panicThreshold`       | `50`           | below this share (%) of endpoints in service, every endpoint is a candidate, in [0, 100] (`healthy_panic_threshold`) |
 *
 * **Choosing.** The candidates are the endpoints in service (not ejected). When none is, or fewer than
 * `panicThreshold` percent of them (Envoy's panic threshold), every endpoint is a candidate: the balancer never fails
 * for want of an endpoint. Under {@link avoidRepeats}, the endpoints already tried in that call are left out of the
 * candidates, unless that leaves none (Envoy's `previous_hosts` retry predicate). Then:
 *
 * - **p2c** (the default): two distinct candidates are drawn at random (from Effect's `Random`: seed it with
 *   `Effect.withRandom` to reproduce the picks) and the one with the lower score wins (the first drawn on a tie);
 *   with one candidate it is chosen. The score is Linkerd's and Finagle's peak-EWMA cost, `latency × (inFlight + 1)`,
 *   where `inFlight` counts the calls running on the endpoint and `latency` is its estimate of the call latency, in
 *   milliseconds on the `Clock`'s monotonic time (under the `TestClock`, the test's time). The estimate is updated
 *   when a call ends, with its duration `rtt`: `w = exp(−Δ / ewmaDecay)` with `Δ` the time since the last update;
 *   `estimate = rtt` when `rtt` is above the estimate (the peak), otherwise `estimate × w + rtt × (1 − w)`. Between
 *   updates the estimate read for the score decays toward zero (`estimate × exp(−Δ / ewmaDecay)`), so an endpoint
 *   idle for long is tried again. An endpoint not yet measured has the estimate `defaultLatency` from the first use
 *   of the balancer (Linkerd's rule; Finagle scores it 0, or a large penalty while it has calls in flight). (Finagle:
 *   `Balancers.p2cPeakEwma` and `PeakEwma`; Linkerd: tower's `PeakEwma` with the proxy's 30 ms and 10 s.)
 * - **round-robin**: the first candidate at or after a cursor, in the order of `endpoints` (wrapping around); the
 *   cursor then moves just past it. With every endpoint in service, they are used in turn.
 *
 * **Outcomes.** When a call ends, its endpoint's `inFlight` goes down (the place is taken and given back in an
 * uninterruptible region, so an interruption at any point gives it back once) and its outcome is classified as in
 * `ConcurrencyLimit`: a **success** (a success, or a failure that `isFailure` refuses: the endpoint answered); a
 * **failure** (a failure or a defect that `isFailure` accepts); or nothing at all for an interruption, a defect
 * `isFailure` refuses, and a rejection by a Sturdy policy inside (`CircuitOpen`, `BulkheadRejected`,
 * `RateLimitExceeded`, `AdaptiveThrottleRejected`, `ConcurrencyLimitExceeded`). A success or a failure updates the
 * latency estimate; a success sets the endpoint's consecutive failures to 0; a failure adds one, and at
 * `consecutiveFailures` the count goes back to 0 and the endpoint is ejected if allowed (Envoy resets it either way).
 * Outcomes of an endpoint while it is ejected (calls started before, or sent in panic) change only its estimate.
 *
 * **Ejection** (Envoy's outlier detection, `outlier_detection_impl.cc`). An endpoint may be ejected when
 * `100 × (ejected + 1) / endpoints ≤ maxEjectionPercent`, or when `alwaysEjectOne` holds and none is ejected. Its
 * multiplier (at first 0) goes up by one, unless `multiplier × base ≥ max + base` already, and it is ejected for
 * `min(baseEjectionTime × multiplier, maxEjectionTime)`. It returns when that time is up (at the first look at the
 * balancer from then on: a call, a snapshot), with its consecutive failures at 0. Envoy takes one off the multiplier
 * at each `interval` tick after an endpoint has been back for an interval; here, without timers, the multiplier falls
 * by one for each whole `interval` since the endpoint returned. Envoy's success-rate and failure-percentage
 * detectors, its jitter, and the detection `interval`'s delay on returns are left out. Each ejection and return is
 * published on `changes`.
 *
 * **Defaults that differ.** Envoy's `always_eject_one_host` is false: with `max_ejection_percent` 10, a cluster of
 * fewer than 10 endpoints then ejects none. Client-side lists of replicas are short, so here it is true by default.
 *
 * **Telemetry.** Each call sets `sturdy.balancer.endpoint` (the endpoint's key) on its current span.
 *
 * `make` and `unsafeMake` throw a `RangeError` naming the option (a defect) for options that are not an object, empty
 * `endpoints`, a `key` that is not a function or answers anything but a string, keys that repeat, and any option
 * outside its domain above (`NaN`, a negative duration, a percent outside [0, 100] ...).
 *
 * @example
 * ```ts
 * import { HttpClient, HttpClientRequest } from "@effect/platform"
 * import { Balancer, Retry } from "@sturdy/policy"
 * import { Effect, Schedule } from "effect"
 *
 * const replicas = Balancer.unsafeMake({ endpoints: ["https://a.example.com", "https://b.example.com"] })
 *
 * // each attempt goes to a replica; a retry prefers one this call has not tried yet
 * const getUser = (id: number) =>
 *   Effect.flatMap(HttpClient.HttpClient, (client) =>
 *     Balancer.withEndpoint(replicas, (base) => client.execute(HttpClientRequest.get(`${base}/users/${id}`))).pipe(
 *       Retry.retry({ schedule: Schedule.recurs(2) }),
 *       Balancer.avoidRepeats
 *     ))
 * ```
 * @since 0.2.0
 */
import type * as Arr from "effect/Array"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import * as internal from "./internal/balancer.js"

/**
 * The outlier ejection options; see the module docs for the defaults and the rules.
 *
 * @example
 * ```ts
 * import type { Balancer } from "@sturdy/policy"
 *
 * const outlier: Balancer.OutlierOptions = { consecutiveFailures: 3, baseEjectionTime: "10 seconds" }
 * ```
 * @since 0.2.0
 * @category models
 */
export interface OutlierOptions {
  /** Failures in a row that eject an endpoint (default 5). */
  readonly consecutiveFailures?: number | undefined
  /** Which failures and defects count (default: every one). */
  readonly isFailure?: ((error: unknown) => boolean) | undefined
  /** An ejection lasts this × the multiplier (default 30 seconds). */
  readonly baseEjectionTime?: Duration.DurationInput | undefined
  /** The longest ejection (default the larger of 300 seconds and `baseEjectionTime`). */
  readonly maxEjectionTime?: Duration.DurationInput | undefined
  /** The share of endpoints that may be ejected at once, in [0, 100] (default 10). */
  readonly maxEjectionPercent?: number | undefined
  /** One endpoint may be ejected whatever `maxEjectionPercent` says (default true). */
  readonly alwaysEjectOne?: boolean | undefined
  /** Each whole interval back in service takes one off an endpoint's multiplier (default 10 seconds). */
  readonly interval?: Duration.DurationInput | undefined
  /** Below this share (%) of endpoints in service, every endpoint is a candidate (default 50). */
  readonly panicThreshold?: number | undefined
}

/**
 * Options of a balancer over endpoints of type `A`; see the module docs for the defaults and the rules.
 *
 * @example
 * ```ts
 * import type { Balancer } from "@sturdy/policy"
 *
 * const options: Balancer.Options<string> = {
 *   endpoints: ["https://a.example.com", "https://b.example.com"],
 *   strategy: "p2c",
 *   outlier: { consecutiveFailures: 3 }
 * }
 * ```
 * @since 0.2.0
 * @category models
 */
export interface Options<A> {
  /** The replicas (at least one). */
  readonly endpoints: Arr.NonEmptyReadonlyArray<A>
  /** Names an endpoint; the names must be distinct (default `String`). */
  readonly key?: ((endpoint: A) => string) | undefined
  /** `"p2c"` (default) or `"round-robin"`. */
  readonly strategy?: "p2c" | "round-robin" | undefined
  /** p2c: how fast the latency estimate forgets (default 10 seconds). */
  readonly ewmaDecay?: Duration.DurationInput | undefined
  /** p2c: the latency estimate of an endpoint not yet measured (default 30 millis). */
  readonly defaultLatency?: Duration.DurationInput | undefined
  /** Outlier ejection (default: every option at its default). */
  readonly outlier?: OutlierOptions | undefined
}

/**
 * What the balancer knows of one endpoint, as `snapshot` reads it.
 *
 * @example
 * ```ts
 * import type { Balancer } from "@sturdy/policy"
 *
 * const ejected = <A>(state: Balancer.EndpointState<A>) => state.ejectedUntil !== undefined
 * ```
 * @since 0.2.0
 * @category models
 */
export interface EndpointState<A> {
  readonly endpoint: A
  readonly key: string
  /** calls running on the endpoint now */
  readonly inFlight: number
  /** the peak-EWMA latency estimate now, in milliseconds */
  readonly latency: number
  /** whether a call's latency has been measured yet (otherwise `latency` comes from `defaultLatency`) */
  readonly measured: boolean
  /** the p2c score now, `latency × (inFlight + 1)` */
  readonly score: number
  /** counted failures in a row since the last success (or return) */
  readonly consecutiveFailures: number
  /** while ejected, when it returns (the Clock's monotonic milliseconds); `undefined` in service */
  readonly ejectedUntil: number | undefined
  /** Envoy's ejection multiplier now: the next ejection lasts `base × (multiplier + 1)` (capped) */
  readonly multiplier: number
}

/**
 * An ejection or a return, published on `changes`; `at` (and `until`) are the Clock's monotonic milliseconds. A
 * return is published when the balancer first looks at its endpoints after it, with `at` the time it was due.
 *
 * @example
 * ```ts
 * import type { Balancer } from "@sturdy/policy"
 *
 * const describe = (event: Balancer.EjectionEvent) =>
 *   event._tag === "Ejected" ? `${event.key} ejected until ${event.until}` : `${event.key} back`
 * ```
 * @since 0.2.0
 * @category models
 */
export type EjectionEvent =
  | {
    readonly _tag: "Ejected"
    readonly key: string
    readonly at: number
    readonly until: number
    readonly multiplier: number
  }
  | { readonly _tag: "Returned"; readonly key: string; readonly at: number }

/**
 * A balancer over the endpoints of one upstream.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Balancer } from "@sturdy/policy"
 *
 * const loads = Effect.flatMap(
 *   Balancer.make({ endpoints: ["10.0.0.1:80", "10.0.0.2:80"] }),
 *   (balancer) => balancer.snapshot
 * )
 * ```
 * @since 0.2.0
 * @category models
 */
export interface Balancer<A> {
  readonly endpoints: ReadonlyArray<A>
  /** the endpoints' keys, in the same order */
  readonly keys: ReadonlyArray<string>
  readonly strategy: "p2c" | "round-robin"
  /** Picks an endpoint and runs `f` on it (prefer {@link withEndpoint}). */
  readonly withEndpoint: <B, E, R>(f: (endpoint: A) => Effect.Effect<B, E, R>) => Effect.Effect<B, E, R>
  /** Every endpoint's state now, in the order of `endpoints`. */
  readonly snapshot: Effect.Effect<ReadonlyArray<EndpointState<A>>>
  /** Every ejection and return from when the stream starts; it never ends by itself. */
  readonly changes: Stream.Stream<EjectionEvent>
  /**
   * Subscribes now, for as long as the scope lives: the stream carries every event from the moment this effect
   * returns, however late it is run (`changes` only sees those after the stream starts, in whatever fiber runs it).
   */
  readonly subscribe: Effect.Effect<Stream.Stream<EjectionEvent>, never, Scope.Scope>
}

/**
 * Builds a balancer outside of Effect. Throws a `RangeError` naming the option for an option outside its domain.
 *
 * @example
 * ```ts
 * import { Balancer } from "@sturdy/policy"
 *
 * const replicas = Balancer.unsafeMake({
 *   endpoints: [{ host: "10.0.0.1", port: 80 }, { host: "10.0.0.2", port: 80 }],
 *   key: (e) => `${e.host}:${e.port}`,
 *   strategy: "round-robin"
 * })
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const unsafeMake: <A>(options: Options<A>) => Balancer<A> = internal.unsafeMake

/**
 * Builds a balancer. Options `unsafeMake` refuses make the effect die with the same `RangeError`.
 *
 * @example
 * ```ts
 * import { Balancer } from "@sturdy/policy"
 *
 * const replicas = Balancer.make({
 *   endpoints: ["https://a.example.com", "https://b.example.com", "https://c.example.com"],
 *   outlier: { consecutiveFailures: 3, baseEjectionTime: "10 seconds", maxEjectionPercent: 50 }
 * })
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const make: <A>(options: Options<A>) => Effect.Effect<Balancer<A>> = internal.make

/**
 * Picks an endpoint (see the module docs), runs `f` on it, and records the outcome: the call's latency, and whether
 * it counts toward ejecting the endpoint. The call's own success, failure or defect is passed through unchanged.
 *
 * @example
 * ```ts
 * import { Effect, pipe } from "effect"
 * import { Balancer } from "@sturdy/policy"
 *
 * declare const fetchPrice: (base: string, sku: string) => Effect.Effect<number, Error>
 * const replicas = Balancer.unsafeMake({ endpoints: ["https://a.example.com", "https://b.example.com"] })
 * // data-first and data-last
 * const price = (sku: string) => Balancer.withEndpoint(replicas, (base) => fetchPrice(base, sku))
 * const same = (sku: string) => pipe(replicas, Balancer.withEndpoint((base: string) => fetchPrice(base, sku)))
 * ```
 * @since 0.2.0
 * @category combinators
 */
export const withEndpoint: {
  <A, B, E, R>(f: (endpoint: A) => Effect.Effect<B, E, R>): (self: Balancer<A>) => Effect.Effect<B, E, R>
  <A, B, E, R>(self: Balancer<A>, f: (endpoint: A) => Effect.Effect<B, E, R>): Effect.Effect<B, E, R>
} = internal.withEndpoint

/**
 * Runs `self` as one call whose balanced attempts each prefer an endpoint not yet tried in it: put it outside the
 * retry (Envoy's `previous_hosts` retry predicate). When every candidate has been tried, any of them may be picked
 * again. The tried endpoints are kept per balancer, for this run of `self` and the fibers it forks (hedges too).
 *
 * @example
 * ```ts
 * import { Effect, Schedule } from "effect"
 * import { Balancer } from "@sturdy/policy"
 *
 * declare const fetchPrice: (base: string) => Effect.Effect<number, Error>
 * const replicas = Balancer.unsafeMake({ endpoints: ["https://a.example.com", "https://b.example.com"] })
 * const price = Balancer.withEndpoint(replicas, fetchPrice).pipe(
 *   Effect.retry(Schedule.recurs(1)),
 *   Balancer.avoidRepeats
 * )
 * ```
 * @since 0.2.0
 * @category combinators
 */
export const avoidRepeats: <B, E, R>(self: Effect.Effect<B, E, R>) => Effect.Effect<B, E, R> = internal.avoidRepeats
