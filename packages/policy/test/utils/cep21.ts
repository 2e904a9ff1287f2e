/**
 * What the ports of cep21/circuit (`peer-cep21-circuit-*.test.ts`) share: a cep21 `Circuit` built from Sturdy's
 * policies. `Execute(ctx, run, fallback)` is `run` under `Deadline.attemptTimeout(Execution.Timeout)` inside a
 * `Bulkhead` of `Execution.MaxConcurrentRequests` (no queue) inside the `CircuitBreaker` (cep21 checks the circuit,
 * then the concurrency, then arms the timeout), then, unless the failure is a bad request, the fallback (given the failure) inside
 * its own `Bulkhead` of `Fallback.MaxConcurrentRequests`. `Go` is the same with the timeout `disconnect`ed: the caller
 * gets the timeout at once while the run ends in the background. A `Timeout` or `MaxConcurrentRequests` of -1 is
 * none (cep21's "unlimited"). cep21's defaults are Timeout 1 s, 10 concurrent runs and 10 concurrent fallbacks, and
 * a circuit that never opens (`neverOpensFactory`: `consecutiveFailures: Infinity`).
 */
import { Bulkhead, CircuitBreaker, Deadline } from "@sturdy/policy"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"

/** cep21's `SimpleBadRequest`: a failure of the caller's input, neither counted by the circuit nor sent to a fallback. */
export class BadRequest extends Data.TaggedError("BadRequest")<{ readonly message: string }> {}

/** `testhelp.AlwaysFails`'s error */
export class AlwaysFails extends Data.TaggedError("AlwaysFails")<{}> {
  override get message() {
    return "alwaysFails failure"
  }
}

export const isBadRequest = (e: unknown): boolean => e instanceof BadRequest

export interface CircuitConfig {
  /** `Execution.Timeout` in milliseconds (default 1000; -1: none) */
  readonly Timeout?: number
  /** `Execution.MaxConcurrentRequests` (default 10; -1: unlimited) */
  readonly MaxConcurrentRequests?: number
  /** `Fallback.MaxConcurrentRequests` (default 10; -1: unlimited) */
  readonly FallbackMaxConcurrentRequests?: number
  /** the opener and closer: breaker options over cep21's `neverOpens` default */
  readonly breaker?: CircuitBreaker.Options
}

/** cep21's hystrix `ConfigureOpener` and `ConfigureCloser`, with their defaults, as breaker options. */
export interface HystrixConfig {
  readonly RequestVolumeThreshold?: number
  readonly ErrorThresholdPercentage?: number
  /** milliseconds (default 10 s) */
  readonly RollingDuration?: number
  /** milliseconds (default 5 s) */
  readonly SleepWindow?: number
  readonly HalfOpenAttempts?: number
  readonly RequiredConcurrentSuccessful?: number
}

export const hystrix = (config: HystrixConfig = {}): CircuitBreaker.Options => ({
  failureRateThreshold: (config.ErrorThresholdPercentage ?? 50) / 100,
  minimumThroughput: config.RequestVolumeThreshold ?? 20,
  slidingWindow: config.RollingDuration ?? 10_000,
  breakDuration: config.SleepWindow ?? 5_000,
  halfOpenMaxProbes: config.HalfOpenAttempts ?? 1,
  successThreshold: config.RequiredConcurrentSuccessful ?? 1
})

/** cep21's `fallbackFunc(ctx, err)`: runs with the run's failure (not for a bad request) */
export type Fallback<A, E> = (err: unknown) => Effect.Effect<A, E>

/** `testhelp.AlwaysPassesFallback` */
export const alwaysPassesFallback: Fallback<void, never> = () => Effect.void

/** `testhelp.AlwaysFailsFallback`: fails with `failed: <err>` */
export const alwaysFailsFallback: Fallback<never, Error> = (err) =>
  Effect.fail(new Error(`failed: ${err instanceof Error ? err.message : String(err)}`))

const limit = (n: number | undefined) => (n === undefined ? 10 : n < 0 ? Infinity : n)

export const makeCircuit = (name: string, config: CircuitConfig = {}) =>
  Effect.gen(function*() {
    const breaker = yield* CircuitBreaker.make(name, {
      consecutiveFailures: Infinity,
      isIgnored: isBadRequest,
      ...config.breaker
    })
    const runs = yield* Bulkhead.make({ key: name, maxConcurrent: limit(config.MaxConcurrentRequests) })
    const fallbacks = yield* Bulkhead.make({
      key: `${name}-fallback`,
      maxConcurrent: limit(config.FallbackMaxConcurrentRequests)
    })
    const timeout = config.Timeout ?? 1000
    const guard = <A, E>(run: Effect.Effect<A, E>, disconnect: boolean) =>
      (timeout < 0 ? run : Deadline.attemptTimeout(run, timeout, { disconnect })).pipe(
        Bulkhead.withBulkhead(runs),
        CircuitBreaker.withBreaker(breaker)
      )
    const withFallback = <A, E, A2, E2>(
      self: Effect.Effect<A, E | Bulkhead.BulkheadRejected | CircuitBreaker.CircuitOpen | Deadline.DeadlineExceeded>,
      fallback: Fallback<A2, E2> | undefined
    ) =>
      fallback === undefined ? self : Effect.catchIf(
        self,
        (e) => !isBadRequest(e),
        (e) => Bulkhead.withBulkhead(fallback(e), fallbacks)
      )
    return {
      breaker,
      /** the bulkhead of `Execution.MaxConcurrentRequests` */
      bulkhead: runs,
      /** cep21's `Run(ctx, run)`: `Execute` without a fallback */
      run: <A, E>(run: Effect.Effect<A, E>) => guard(run, false),
      /** cep21's `Execute(ctx, run, fallback)` */
      execute: <A, E, A2 = never, E2 = never>(run: Effect.Effect<A, E>, fallback?: Fallback<A2, E2>) =>
        withFallback(guard(run, false), fallback),
      /** cep21's `Go(ctx, run, fallback)` */
      go: <A, E, A2 = never, E2 = never>(run: Effect.Effect<A, E>, fallback?: Fallback<A2, E2>) =>
        withFallback(guard(run, true), fallback),
      /** cep21's `IsOpen()`: open or half-open (the circuit is open until a probe closes it) */
      isOpen: Effect.map(breaker.state, (s) => s !== "Closed")
    }
  })
