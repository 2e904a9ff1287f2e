/**
 * A seeded discrete-event simulation, in virtual time, of many clients calling one modelled upstream through real
 * Sturdy policies: capacity and queueing, a latency distribution, random errors, 429s with Retry-After, outages,
 * and overload where requests that queue past the client's timeout are served for nobody.
 *
 * The policies are ordinary Effects running in one Effect runtime whose `Clock` and scheduler are virtual: every
 * sleep is a timer in a priority queue, and time jumps to the next timer once every fiber is suspended. The same
 * seed gives the same report.
 *
 * @since 0.1.0
 */
import type * as Backoff from "@sturdy/policy/Backoff"
import type * as CircuitBreaker from "@sturdy/policy/CircuitBreaker"
import type * as RetryBudget from "@sturdy/policy/RetryBudget"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/simulator.js"

/**
 * A span of virtual time, in milliseconds from the start of the run (`start` included, `end` excluded).
 *
 * @since 0.1.0
 * @category models
 */
export interface Window {
  readonly start: number
  readonly end: number
}

/**
 * The modelled upstream (times in milliseconds).
 *
 * - `servers` requests are served at once; up to `queueCapacity` more wait in a FIFO queue; beyond that a request
 *   is refused at once with a 503 (`Overloaded`).
 * - Service time is log-normal (`latency.median`, `latency.sigma`); `slowTail` makes a fraction of responses take
 *   a fixed, long time; `slowdown` stretches service time with the queue's fill (`1 + slowdown × queued/capacity`).
 * - `errorRate` of served requests answer 503 (`Unavailable`); during an `outages` window every request fails fast
 *   with a 503; during `rateLimit.window` only `perSecond` requests a second are admitted and the rest answer 429
 *   with `Retry-After: rateLimit.retryAfter`.
 * - A request abandoned by its client (timeout, interruption) is still served: wasted work. The run goes on after
 *   the last call ends until the upstream is idle, so each request it received is counted as served or refused.
 * - `servers` is an integer ≥ 1, `queueCapacity` an integer ≥ 0 (or `Infinity`), times finite and ≥ 0,
 *   probabilities from 0 to 1, windows `0 ≤ start ≤ end`; {@link runSync} refuses anything else with a `RangeError`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Upstream {
  readonly servers: number
  readonly queueCapacity: number
  readonly latency: { readonly median: number; readonly sigma: number }
  readonly slowTail?: { readonly probability: number; readonly latency: number } | undefined
  readonly errorRate?: number | undefined
  readonly outages?: ReadonlyArray<Window> | undefined
  readonly rateLimit?:
    | { readonly window: Window; readonly perSecond: number; readonly retryAfter: number }
    | undefined
  readonly slowdown?: number | undefined
  /** How long a refusal (outage, full queue, 429) takes to arrive; default 1 ms. */
  readonly fastFailLatency?: number | undefined
}

/**
 * The offered load: logical calls arrive as a Poisson process at `rate` per second (or a spike's rate inside its
 * window) until `duration`, each from a client picked at random; `burst` calls arrive together at time 0. Each
 * attempt times out after `attemptTimeout` ms. `duration` is finite and > 0, `clients` an integer ≥ 1, rates finite
 * and ≥ 0, `burst` an integer ≥ 0, `attemptTimeout` > 0 (`Infinity` for none).
 *
 * @since 0.1.0
 * @category models
 */
export interface Workload {
  readonly clients: number
  readonly duration: number
  readonly rate: number
  readonly spikes?: ReadonlyArray<{ readonly window: Window; readonly rate: number }> | undefined
  readonly burst?: number | undefined
  readonly attemptTimeout: number
}

/**
 * An upstream, a workload, and the disruption whose recovery the report measures. Calls still running at
 * `duration`, and requests the upstream is still serving for clients that gave up, get `drain` more milliseconds
 * (finite, default 60 s) to finish.
 *
 * @since 0.1.0
 * @category models
 */
export interface Scenario {
  readonly name: string
  readonly description: string
  readonly upstream: Upstream
  readonly workload: Workload
  readonly disruption?: Window | undefined
  readonly drain?: number | undefined
}

/**
 * Why a simulated attempt failed.
 *
 * @since 0.1.0
 * @category errors
 */
export type FailureReason = "Unavailable" | "Overloaded" | "RateLimited" | "Timeout"

/**
 * The failure of one simulated attempt: `status` as an HTTP server would send it, `retryAfter` for a 429.
 *
 * @example
 * ```ts
 * import { Option } from "effect"
 * import type { Simulator } from "@sturdy/testing"
 *
 * const hint = (failure: Simulator.UpstreamFailure) => Option.fromNullable(failure.retryAfter)
 * ```
 * @since 0.1.0
 * @category errors
 */
export const UpstreamFailure: new(args: {
  readonly reason: FailureReason
  readonly status: number
  readonly retryAfter: Duration.Duration | undefined
}) => UpstreamFailure = internal.UpstreamFailure

/**
 * @since 0.1.0
 * @category errors
 */
export interface UpstreamFailure extends internal.UpstreamFailure {}

/**
 * A successful simulated response.
 *
 * @since 0.1.0
 * @category models
 */
export interface Response {
  readonly status: 200
}

/**
 * One client's policy: it receives the attempt (an Effect that can be run again for each retry) and returns the
 * guarded call. It is applied once per client, and the Effect it returns runs once per logical call, so any
 * per-call state must live inside that Effect.
 *
 * @since 0.1.0
 * @category models
 */
export type Guard = (call: Effect.Effect<Response, UpstreamFailure>) => Effect.Effect<Response, unknown>

/**
 * A named policy; `make` runs once per client (inside the run's scope and virtual clock), so each client has its
 * own breaker, budget, and so on.
 *
 * @since 0.1.0
 * @category models
 */
export interface Policy {
  readonly name: string
  readonly make: (client: number) => Effect.Effect<Guard, never, Scope.Scope>
}

/**
 * One slice of the run's timeline: logical calls offered in it, logical calls that succeeded in it (by completion
 * time), and requests the upstream received in it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Bucket {
  readonly start: number
  readonly offered: number
  readonly succeeded: number
  readonly upstreamRequests: number
}

/**
 * What a run measured.
 *
 * - `goodput`: successful logical calls per second of `duration`; `successRate`: their share of logical calls.
 * - `amplification`: requests the upstream received ÷ logical calls.
 * - `wastedWork`: requests served after their client had given up; `rejected`: requests refused at once;
 *   `servedRequests + rejected` is `upstreamRequests` unless requests were still queued or in service when the
 *   drain ran out.
 * - `latency`: of logical calls (success or failure), in ms.
 * - `recoveryTime`: ms from the end of the scenario's disruption until three buckets in a row deliver 90% of what
 *   was offered in them (`undefined` if that never happens, or without a disruption).
 *
 * @since 0.1.0
 * @category models
 */
export interface Report {
  readonly scenario: string
  readonly policy: string
  readonly seed: number
  readonly logicalCalls: number
  readonly succeeded: number
  readonly failed: number
  readonly unfinished: number
  readonly successRate: number
  readonly goodput: number
  readonly upstreamRequests: number
  readonly amplification: number
  readonly servedRequests: number
  readonly wastedWork: number
  readonly rejected: number
  readonly latency: { readonly p50: number; readonly p99: number; readonly max: number }
  readonly recoveryTime: number | undefined
  readonly timeline: ReadonlyArray<Bucket>
}

/**
 * The seed drives arrivals, service times, errors and the policies' `Random`; `bucket` is the timeline's slice
 * (default 1,000 ms). The seed must be an integer (a safe one; any from `ScheduleKit.seedArbitrary` will do): seeds
 * that differ are different runs, apart from one known overlap (seed `s + 0x5bd1e995` draws its arrivals from the
 * numbers that give seed `s` its service times), so sweep neighbouring seeds. `bucket` must be finite, > 0 and at
 * least `duration / 1,000,000`.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunOptions {
  readonly seed: number
  readonly bucket?: number | undefined
}

/**
 * Runs a scenario with a policy and reports. The simulation is self-contained: it does not read the caller's
 * clock, and the same seed gives the same report. It runs in slices, with a turn of the event loop between them, so
 * a long run can be interrupted (Ctrl-C, a timeout around it) and does not starve the rest of the program; use
 * {@link runSync} to run it in one go. A scenario or option out of its documented
 * range (one that would make the run hang or report NaN, such as `bucket: 0` or `duration: 0`) throws a
 * `RangeError` that names it (a defect, in {@link run}).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Simulator } from "@sturdy/testing"
 *
 * const report = Effect.runPromise(
 *   Simulator.run(Simulator.scenarios.retryStorm, Simulator.policies.sturdy, { seed: 1 })
 * )
 * ```
 * @since 0.1.0
 * @category running
 */
export const run: (scenario: Scenario, policy: Policy, options: RunOptions) => Effect.Effect<Report> = internal.run

/**
 * The synchronous form of {@link run}.
 *
 * @example
 * ```ts
 * import { Simulator } from "@sturdy/testing"
 *
 * const report = Simulator.runSync(Simulator.scenarios.outage, Simulator.policies.naiveLoop, { seed: 7 })
 * console.log(Simulator.format(report))
 * ```
 * @since 0.1.0
 * @category running
 */
export const runSync: (scenario: Scenario, policy: Policy, options: RunOptions) => Report = internal.runSync

/**
 * A few lines for a terminal: the headline numbers and a sparkline of success per bucket.
 *
 * @example
 * ```ts
 * import { Simulator } from "@sturdy/testing"
 *
 * console.log(Simulator.format(Simulator.runSync(Simulator.scenarios.slowTail, Simulator.policies.noRetry, {
 *   seed: 1
 * })))
 * ```
 * @since 0.1.0
 * @category running
 */
export const format: (report: Report) => string = internal.format

/**
 * Builds a policy from a per-client constructor.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Retry } from "@sturdy/policy"
 * import { Simulator } from "@sturdy/testing"
 *
 * const retryDefaults = Simulator.makePolicy("retry with defaults", () =>
 *   Effect.succeed((call) => Retry.retry(call)))
 * ```
 * @since 0.1.0
 * @category policies
 */
export const makePolicy: (
  name: string,
  make: (client: number) => Effect.Effect<Guard, never, Scope.Scope>
) => Policy = internal.makePolicy

/**
 * Options of {@link backoff}: `Backoff.exponential`'s options and a display name.
 *
 * @since 0.1.0
 * @category models
 */
export interface BackoffPolicyOptions extends Backoff.Options {
  readonly name?: string | undefined
}

/**
 * `Retry.retry` on `Backoff.exponential(options)`, obeying Retry-After; no budget, no breaker.
 *
 * @example
 * ```ts
 * import { Simulator } from "@sturdy/testing"
 *
 * const fullJitter = Simulator.backoff({ jitter: "full", baseDelay: "10 millis", maxAttempts: 20 })
 * ```
 * @since 0.1.0
 * @category policies
 */
export const backoff: (options: BackoffPolicyOptions) => Policy = internal.backoff

/**
 * Options of {@link sturdy}; each part replaces the corresponding default of {@link standardDefaults} whole.
 *
 * @since 0.1.0
 * @category models
 */
export interface StandardOptions {
  readonly backoff?: Backoff.Options | undefined
  readonly retryBudget?: RetryBudget.RetryBudget.Options | undefined
  readonly breaker?: CircuitBreaker.Options | undefined
}

/**
 * The standard stack's settings, read from `@sturdy/http`'s `Policy.defaults` (what `Policy.make` runs when
 * nothing is overridden), so that what is simulated is what ships: full-jitter backoff from `retry.baseDelay` (2 s)
 * capped at `retry.maxDelay` (30 s), `retry.maxAttempts` (3) attempts, Retry-After obeyed up to
 * `retry.maxRetryAfter` (30 s) with `retry.retryAfterJitter` (10 %); RetryBudget's defaults (the pipeline's
 * `retry.budget: true`); and `circuitBreaker`'s breaker (trips at 10 % failures over 30 s, 100 calls at least, and
 * pauses 5 s), counting 5xx and attempt timeouts but not a 429, as the pipeline's breaker does.
 *
 * The simulator runs these policies on simulated calls, not on HTTP requests, so it builds the pipeline's retry,
 * budget and breaker stages from these values rather than running `Policy.make`; the stages it leaves out do not act
 * in the scenarios: the attempt timeout is the scenario's (`workload.attemptTimeout`), the 30 s total timeout is
 * never reached by 3 attempts, and the bulkhead (1,000 concurrent calls per upstream) never fills.
 *
 * @since 0.1.0
 * @category policies
 */
export const standardDefaults: {
  readonly backoff: Backoff.Options
  readonly retryBudget: RetryBudget.RetryBudget.Options
  readonly breaker: CircuitBreaker.Options
} = internal.standardDefaults

/**
 * Sturdy's standard stack, per client (each client is one process with its own pipeline): `Retry.retry` with jittered
 * backoff and Retry-After, a `RetryBudget`, and a `CircuitBreaker` around each attempt (an open breaker is not
 * retried), with {@link standardDefaults}: the shipped `Policy.defaults`.
 *
 * @example
 * ```ts
 * import { Simulator } from "@sturdy/testing"
 *
 * const patient = Simulator.sturdy({ backoff: { jitter: "full", maxAttempts: 5 } })
 * ```
 * @since 0.1.0
 * @category policies
 */
export const sturdy: (options?: StandardOptions) => Policy = internal.sturdy

/**
 * The comparison policies: no retry; the naive loop (3 retries after 1 s, 2 s, 4 s, no jitter, no budget, no
 * breaker); urllib3-like (3 retries after 0.5 s, 1 s, 2 s, Retry-After obeyed exactly); and `sturdy()`.
 *
 * @example
 * ```ts
 * import { Simulator } from "@sturdy/testing"
 *
 * for (const policy of Object.values(Simulator.policies)) {
 *   console.log(Simulator.format(Simulator.runSync(Simulator.scenarios.randomErrors, policy, { seed: 1 })))
 * }
 * ```
 * @since 0.1.0
 * @category policies
 */
export const policies: {
  readonly noRetry: Policy
  readonly naiveLoop: Policy
  readonly urllib3: Policy
  readonly sturdy: Policy
} = internal.policies

/**
 * The built-in scenarios (an upstream of ~950 requests/s: 50 servers, 50 ms median, 2,000 queued at most, 100
 * clients, 1 s attempt timeout): `randomErrors` (20% 503s), `outage` (10 s full outage), `retryStorm` (75% load,
 * then 2.5x capacity for 5 s), `slowTail` (5% of responses take 3 s), `rateLimitStorm` (429 with Retry-After for
 * 15 s), and `contention` (1,000 simultaneous clients, 20 servers, no queue: the AWS jitter experiment).
 *
 * @example
 * ```ts
 * import { Simulator } from "@sturdy/testing"
 *
 * const shorter: Simulator.Scenario = {
 *   ...Simulator.scenarios.randomErrors,
 *   workload: { ...Simulator.scenarios.randomErrors.workload, duration: 5_000 }
 * }
 * ```
 * @since 0.1.0
 * @category scenarios
 */
export const scenarios: {
  readonly randomErrors: Scenario
  readonly outage: Scenario
  readonly retryStorm: Scenario
  readonly slowTail: Scenario
  readonly rateLimitStorm: Scenario
  readonly contention: Scenario
} = internal.scenarios
