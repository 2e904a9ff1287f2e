import { Bulkhead, CircuitBreaker, Deadline, Retry, RetryBudget } from "@sturdy/policy"
import {
  bulkhead,
  circuitBreaker,
  ConsecutiveBreaker,
  handleAll,
  type IPolicy,
  noop,
  retry,
  timeout,
  TimeoutStrategy
} from "cockatiel"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

/**
 * Wraps a call in a policy.
 */
export type Wrap = <A, E>(self: Effect.Effect<A, E>) => Effect.Effect<A, unknown, RetryBudget.RetryBudget>

/**
 * One policy measured around `Effect.void` (Sturdy) and around a resolved Promise (cockatiel's equivalent, if any).
 */
export interface PolicyCase {
  readonly name: string
  /** The settings, for the results table. */
  readonly settings: string
  readonly sturdy: Effect.Effect<Wrap, never, Scope.Scope>
  readonly cockatiel?: (() => IPolicy) | undefined
}

const generous = "10 seconds"

/**
 * The cases. The first is the baseline every other row is compared with: no policy at all (`noop` for cockatiel).
 */
export const cases: ReadonlyArray<PolicyCase> = [
  {
    name: "none (baseline)",
    settings: "`Effect.void` / `await` of a resolved Promise (cockatiel `noop`)",
    sturdy: Effect.succeed((self) => self),
    cockatiel: () => noop
  },
  {
    name: "circuit breaker",
    settings: "5 consecutive failures open it; closed throughout",
    sturdy: Effect.map(
      CircuitBreaker.make("bench", { consecutiveFailures: 5 }),
      (breaker): Wrap => CircuitBreaker.withBreaker(breaker)
    ),
    cockatiel: () => circuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) })
  },
  {
    name: "bulkhead (uncontended)",
    settings: "1,000 permits for 1,000 fibers: never waits",
    sturdy: Effect.map(Bulkhead.make({ maxConcurrent: 1_000 }), (bulkhead): Wrap => Bulkhead.withBulkhead(bulkhead)),
    cockatiel: () => bulkhead(1_000, 0)
  },
  {
    name: "bulkhead (contended)",
    settings: "100 permits, 1,000 queue slots: 900 fibers wait at any time",
    sturdy: Effect.map(
      Bulkhead.make({ maxConcurrent: 100, maxQueued: 1_000 }),
      (bulkhead): Wrap => Bulkhead.withBulkhead(bulkhead)
    ),
    cockatiel: () => bulkhead(100, 1_000)
  },
  {
    name: "deadline",
    settings: `total deadline of ${generous}; never reached`,
    sturdy: Effect.succeed((self) => Deadline.withDeadline(self, generous)),
    cockatiel: () => timeout(10_000, TimeoutStrategy.Cooperative)
  },
  {
    name: "Effect.timeout (reference)",
    settings: "Effect's own `Effect.timeout` of 10 seconds, for comparison with the deadline",
    sturdy: Effect.succeed((self) => Effect.timeout(self, generous)),
    cockatiel: () => timeout(10_000, TimeoutStrategy.Cooperative)
  },
  {
    name: "retry",
    settings: "exponential backoff, up to 2 retries; nothing fails",
    sturdy: Effect.succeed((self) => Retry.retry(self)),
    cockatiel: () => retry(handleAll, { maxAttempts: 2 })
  },
  {
    name: "retry + budget",
    settings: "as above, each call deposited in a `RetryBudget` (one key)",
    sturdy: Effect.succeed((self) => Retry.retry(self, { budget: "bench" }))
  }
]

/**
 * The size of one measurement: `fibers` concurrent callers, each making `callsPerFiber` calls.
 */
export interface PolicyLoad {
  readonly fibers: number
  readonly callsPerFiber: number
}

/**
 * Nanoseconds per call of `policyCase` through Sturdy, with `load.fibers` fibers calling concurrently.
 */
export const measureSturdy = (policyCase: PolicyCase, load: PolicyLoad): Promise<number> =>
  Effect.gen(function*() {
    const wrap = yield* policyCase.sturdy
    const call = wrap(Effect.void)
    const caller = Effect.suspend(() => {
      let made = 0
      return Effect.whileLoop({
        while: () => made < load.callsPerFiber,
        body: () => call,
        step: () => {
          made++
        }
      })
    })
    const callers = Array.from({ length: load.fibers }, () => caller)
    const start = performance.now()
    yield* Effect.all(callers, { concurrency: "unbounded", discard: true })
    return (performance.now() - start) * 1e6 / (load.fibers * load.callsPerFiber)
  }).pipe(Effect.scoped, Effect.provide(RetryBudget.layer()), Effect.runPromise)

const resolved = () => Promise.resolve()

/**
 * Nanoseconds per call of `policyCase` through cockatiel, with `load.fibers` async callers; undefined when cockatiel
 * has no equivalent.
 */
export const measureCockatiel = async (policyCase: PolicyCase, load: PolicyLoad): Promise<number | undefined> => {
  if (policyCase.cockatiel === undefined) return undefined
  const policy = policyCase.cockatiel()
  const caller = async () => {
    for (let made = 0; made < load.callsPerFiber; made++) await policy.execute(resolved)
  }
  const start = performance.now()
  await Promise.all(Array.from({ length: load.fibers }, caller))
  return (performance.now() - start) * 1e6 / (load.fibers * load.callsPerFiber)
}
