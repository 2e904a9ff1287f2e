import * as Bulkhead from "@sturdy/policy/Bulkhead"
import * as BulkheadStore from "@sturdy/policy/BulkheadStore"
import * as CircuitBreaker from "@sturdy/policy/CircuitBreaker"
import * as CircuitBreakerStore from "@sturdy/policy/CircuitBreakerStore"
import * as Deadline from "@sturdy/policy/Deadline"
import * as RateLimit from "@sturdy/policy/RateLimit"
import * as Retry from "@sturdy/policy/Retry"
import * as RetryBudget from "@sturdy/policy/RetryBudget"
import * as RetryBudgetStore from "@sturdy/policy/RetryBudgetStore"
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
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
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
  /**
   * Share of the configured calls per fiber this case makes (default 1): cases that set a timer per call are two
   * orders of magnitude dearer, and get a twentieth so that the run stays short. Their overhead is taken against the
   * baseline measured at the same number of calls, since each fiber's start is spread over fewer calls.
   */
  readonly callShare?: number | undefined
}

const generous = "10 seconds"

/**
 * The cases. The first is the baseline the other rows are compared with: no policy at all (`noop` for cockatiel).
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
    name: "rate limiter",
    settings: "token bucket in the in-memory store, one key, a limit never reached (mode `fail`)",
    sturdy: Effect.map(
      RateLimit.make({ limit: 1_000_000_000, window: "1 second", onExceeded: "fail" }),
      (limiter): Wrap => RateLimit.withRateLimit(limiter, "bench")
    ).pipe(Effect.provide(RateLimit.layerStoreMemory))
  },
  {
    name: "deadline",
    settings: `total deadline of ${generous}, \`Deadline.withDeadline\` (a timer races the call); never reached`,
    sturdy: Effect.succeed((self) => Deadline.withDeadline(self, generous)),
    cockatiel: () => timeout(10_000, TimeoutStrategy.Cooperative),
    callShare: 0.05
  },
  {
    name: "deadline (established)",
    settings: `the same deadline with \`Deadline.establish\` and a 5 s attempt timeout: no timer, each wait bounds ` +
      "itself (what `Policy` and the Sturdy transport do)",
    sturdy: Effect.succeed((self) => Deadline.establish(self, generous, { attemptTimeout: "5 seconds" })),
    cockatiel: () => timeout(10_000, TimeoutStrategy.Cooperative)
  },
  {
    name: "Effect.timeout (reference)",
    settings: "Effect's own `Effect.timeout` of 10 seconds, for comparison with the deadline",
    sturdy: Effect.succeed((self) => Effect.timeout(self, generous)),
    cockatiel: () => timeout(10_000, TimeoutStrategy.Cooperative),
    callShare: 0.05
  },
  {
    name: "fork + join (reference)",
    settings: "runs the call in a child fiber and joins it (`Effect.timeout` races the call in one)",
    sturdy: Effect.succeed((self) => Effect.flatMap(Effect.fork(self), Fiber.join))
  },
  {
    name: "setTimeout + clearTimeout (reference)",
    settings:
      "starts and clears a 10 s Node timer around the call (`Effect.ensuring`): about what a timeout without a fork costs",
    sturdy: Effect.succeed((self) =>
      Effect.suspend(() => {
        const timer = setTimeout(() => undefined, 10_000)
        return Effect.ensuring(self, Effect.sync(() => clearTimeout(timer)))
      })
    )
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
    sturdy: Effect.succeed((self) => Retry.retry(self, { budgetKey: "bench" }))
  },
  {
    name: "circuit breaker (fleet, memory store)",
    settings: "the breaker above on `CircuitBreakerStore.layerMemory`: closed throughout, so nothing is shared",
    sturdy: Effect.map(
      CircuitBreakerStore.make("bench", { consecutiveFailures: 5 }),
      (breaker): Wrap => CircuitBreaker.withBreaker(breaker)
    ).pipe(Effect.provide(Layer.extendScope(CircuitBreakerStore.layerMemory)))
  },
  {
    name: "bulkhead (fleet, memory store)",
    settings: "`BulkheadStore.make` on `layerMemory`, 1,000 permits for 1,000 fibers: each call takes and gives back " +
      "a leased permit in the store",
    sturdy: Effect.map(
      BulkheadStore.make({ key: "bench", maxConcurrent: 1_000 }),
      (bulkhead): Wrap => Bulkhead.withBulkhead(bulkhead)
    ).pipe(Effect.provide(Layer.extendScope(BulkheadStore.layerMemory)))
  },
  {
    name: "retry + budget (fleet, memory store)",
    settings: "retry + budget on `RetryBudgetStore.layerMemory` (deposits batched, flushed every second)",
    sturdy: Effect.map(
      RetryBudgetStore.makeBudget(),
      // the service passed in, as `Policy` passes its own: an `Effect.provideService` per call would cost more than
      // the deposit
      (budget): Wrap => (self) => Retry.retry(self, { budgetKey: "bench", budgetService: budget })
    ).pipe(Effect.provide(Layer.extendScope(RetryBudgetStore.layerMemory)))
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
 * The cost of one call, averaged over a measurement: client CPU time (user + system, so it includes the garbage
 * collector's helper threads) and wall time. On a busy machine wall time also counts the time the process waited
 * for a core; CPU time does not.
 */
export interface CallCost {
  readonly cpuNs: number
  readonly wallNs: number
}

interface Window {
  readonly cpu: NodeJS.CpuUsage
  readonly start: number
}

const openWindow = (): Window => ({ cpu: process.cpuUsage(), start: performance.now() })

const closeWindow = (window: Window, calls: number): CallCost => {
  const wallMs = performance.now() - window.start
  const cpu = process.cpuUsage(window.cpu)
  return { cpuNs: (cpu.user + cpu.system) * 1000 / calls, wallNs: wallMs * 1e6 / calls }
}

/**
 * The cost per call of `policyCase` through Sturdy. All fibers are forked and parked on a latch before the clock
 * starts, so that forking them is not counted; the clock stops when the last one is done.
 */
export const measureSturdy = (policyCase: PolicyCase, load: PolicyLoad): Promise<CallCost> =>
  Effect.gen(function*() {
    const wrap = yield* policyCase.sturdy
    const call = wrap(Effect.void)
    const gate = yield* Effect.makeLatch(false)
    const done = yield* Deferred.make<void>()
    let ready = 0
    let running = load.fibers
    let failure: unknown = undefined
    const calls = Effect.suspend(() => {
      let made = 0
      return Effect.whileLoop({
        while: () => made < load.callsPerFiber,
        body: () => call,
        step: () => {
          made++
        }
      })
    })
    const caller = Effect.sync(() => ready++).pipe(
      Effect.zipRight(gate.await),
      Effect.zipRight(calls),
      Effect.catchAll((error) => Effect.sync(() => failure = error)),
      Effect.ensuring(Effect.suspend(() => --running === 0 ? Deferred.succeed(done, undefined) : Effect.void))
    )
    for (let i = 0; i < load.fibers; i++) yield* Effect.fork(caller)
    while (ready < load.fibers) yield* Effect.yieldNow()
    const window = openWindow()
    yield* gate.open
    yield* Deferred.await(done)
    const cost = closeWindow(window, load.fibers * load.callsPerFiber)
    if (failure !== undefined) return yield* Effect.die(failure)
    return cost
  }).pipe(Effect.scoped, Effect.provide(RetryBudget.layer()), Effect.runPromise)

const resolved = () => Promise.resolve()

/**
 * The cost per call of `policyCase` through cockatiel, with `load.fibers` async callers parked on a gate before the
 * clock starts; undefined when cockatiel has no equivalent.
 */
export const measureCockatiel = async (policyCase: PolicyCase, load: PolicyLoad): Promise<CallCost | undefined> => {
  if (policyCase.cockatiel === undefined) return undefined
  const policy = policyCase.cockatiel()
  let open!: () => void
  const gate = new Promise<void>((resolve) => open = resolve)
  const caller = async () => {
    await gate
    for (let made = 0; made < load.callsPerFiber; made++) await policy.execute(resolved)
  }
  const callers = Array.from({ length: load.fibers }, caller)
  const window = openWindow()
  open()
  await Promise.all(callers)
  return closeWindow(window, load.fibers * load.callsPerFiber)
}
