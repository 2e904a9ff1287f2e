// Model-based tests of `CircuitBreaker`: a reference model of its documented state machine
// (`test/utils/breakerModel.ts`) and fc.commands scripts run on the real breaker under the TestClock, checking after
// every command that the real breaker's decision and readings equal the model's.
//
// The model encodes the module docs of `src/CircuitBreaker.ts`: Closed / Open / HalfOpen; `consecutiveFailures`
// (default 3, off once a rate, a count or `slowCallDuration` is set); `failureRateThreshold`,
// `failureCountThreshold` and the slow-call ratio (`slowCallRateThreshold`, 1 once `slowCallDuration` is set) over a
// time window of 10 buckets that start with their first call, or over a count window of the last `calls` calls,
// judged from `minimumThroughput` calls (`min(minimumThroughput, calls)` for a count window), opening at the
// threshold (>=); `breakDuration` as a duration or a Schedule stepped on every opening (a done schedule keeps its last
// pause, 60 s if it had none) and restarted when the breaker closes; HalfOpen after the pause, decided when a call
// arrives or the state is read; at most `halfOpenMaxProbes` probes in flight, `successThreshold` successful probes
// close, one counted failure (or a slow probe) reopens at once; a probe past `maxProbeDuration` (default: the last
// pause, none after a pause of zero) gives its slot to the next call and its late outcome still counts in the same
// HalfOpen period; the outcome table (a success or an answered 404 is a success, a counted failure or a defect a
// failure, `isIgnored`, another policy's rejection, an interruption or a throwing predicate are not recorded, and the
// caller gets its own outcome, plus the predicate's defect); an outcome from before a transition changes nothing;
// `CircuitOpen.retryAfter` (rest of the pause, or until the oldest probe's slot is let go of, `Duration.infinity`
// while isolated) and its `reason`, `failures`, `lastFailure` and `sameKind`; every `snapshot` field; `isolate` /
// `reset`; the transitions published on `subscribe` (Open → HalfOpen when the first call after the pause arrives); a
// wall clock set back counts as no time passing (pause, window, probe slots, a running call's duration).
// Rules taken from the implementation where the docs are silent: which threshold wins when several are reached by
// one call (consecutive, then count, then rate, then slow-call rate); `failures` of each reason (the run, the
// window's failures, the window's slow calls, 1 for a probe); `lastFailure` / `sameKind` (the last counted failure of
// the period, and whether the run of failures sharing its label covers `failures`; not compared for SlowCalls); a
// step back is seen when the breaker next reads the clock, from the latest reading it saw (a closed breaker that
// times no slow calls admits without reading it).
// Left out: the Registry (eviction), `Deadline` interplay, schedules that read their input or die, and, for the
// store, more than one process (the store family checks one process on the memory store against the same model;
// `model-CircuitBreakerRedis.test.ts` adds Redis). Found: a call running across a step back was timed without the
// step taken out (fixed, regression test in CircuitBreaker.test.ts).
import { describe, expect, it } from "@effect/vitest"
import { CircuitBreaker } from "@sturdy/policy"
import * as CircuitBreakerStore from "@sturdy/policy/CircuitBreakerStore"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Runtime from "effect/Runtime"
import * as TestClock from "effect/TestClock"
import {
  commandsArb,
  type Config,
  configArb,
  defaultWeights,
  modelRun,
  optionsOf,
  raceHalfOpen,
  type Real,
  recordInto
} from "./utils/breakerModel.js"

const plain = (config: Config) =>
  Effect.gen(function*() {
    const breaker = yield* CircuitBreaker.make("model", optionsOf(config))
    return [{ name: "memory", breaker, published: yield* recordInto(breaker) }] satisfies Array<Real>
  })

// one process on a memory store, beside a plain breaker: both must follow the model
const withStore = (config: Config) =>
  Effect.gen(function*() {
    const store = CircuitBreakerStore.makeMemory()
    const shared = yield* CircuitBreakerStore.make("model", { ...optionsOf(config), syncInterval: "250 millis" }).pipe(
      Effect.provideService(CircuitBreakerStore.CircuitBreakerStore, store)
    )
    return [...yield* plain(config), { name: "memory store", breaker: shared, published: yield* recordInto(shared) }]
  })

const property = (
  configs: FastCheck.Arbitrary<Config>,
  weights: typeof defaultWeights,
  build: typeof plain,
  parameters: { readonly seed: number; readonly numRuns: number }
) =>
  Effect.gen(function*() {
    const runtime = yield* Effect.runtime<never>()
    yield* Effect.promise(() =>
      FastCheck.assert(
        FastCheck.asyncProperty(
          configs,
          commandsArb(weights),
          (config, commands) => modelRun(runtime, config, commands, build)
        ),
        parameters
      )
    )
  })

describe("model CircuitBreaker: scripts of calls, held calls, time, reads, isolate and reset", () => {
  it.effect(
    "every decision, CircuitOpen, snapshot and transition equals the model's",
    () => property(configArb, defaultWeights, plain, { seed: 20261206, numRuns: 120 }),
    60_000
  )
})

describe("model CircuitBreaker: the wall clock set back", () => {
  // slow calls timed, calls held across the steps, steps often
  const configs = configArb.map((c) => ({ ...c, slowCallDuration: c.slowCallDuration ?? 100 }))
  it.effect(
    "a step back is no time passing: decisions and readings still equal the model's",
    () => property(configs, { held: 8, stepBack: 6, isolate: 0 }, plain, { seed: 20261207, numRuns: 100 }),
    60_000
  )
})

describe("model CircuitBreaker: one process on a memory store", () => {
  // steps back included: the records' `seq` keeps the breaker's newer Closed after its older Open in the store
  it.effect(
    "a breaker sharing its state through the store decides as the plain breaker and the model",
    () => property(configArb, defaultWeights, withStore, { seed: 20261208, numRuns: 15 }),
    60_000
  )
})

const open = (breaker: CircuitBreaker.CircuitBreaker) =>
  Effect.exit(CircuitBreaker.withBreaker(Effect.fail("down"), breaker))

describe("model CircuitBreaker: concurrent half-open probes", () => {
  it.effect(
    "fibers racing a half-open breaker: min(fibers, halfOpenMaxProbes) probes, never more at once",
    () =>
      Effect.gen(function*() {
        const runtime = yield* Effect.runtime<never>()
        const runs = FastCheck.asyncProperty(
          FastCheck.record({
            maxProbes: FastCheck.integer({ min: 1, max: 4 }),
            successThreshold: FastCheck.integer({ min: 1, max: 4 }),
            pause: FastCheck.integer({ min: 100, max: 2_000 }),
            // 0: a plain breaker; n: n processes (breakers) on one memory store
            processes: FastCheck.integer({ min: 0, max: 3 }),
            // how many turns of the scheduler each fiber yields before it calls: the interleaving
            fibers: FastCheck.array(FastCheck.nat(3), { minLength: 1, maxLength: 12 }),
            outcome: FastCheck.constantFrom("success" as const, "failure" as const)
          }),
          (c) =>
            Effect.gen(function*() {
              const options = {
                consecutiveFailures: 1,
                halfOpenMaxProbes: c.maxProbes,
                successThreshold: c.successThreshold,
                breakDuration: Duration.millis(c.pause)
              }
              const store = CircuitBreakerStore.makeMemory()
              const breakers = c.processes === 0
                ? [yield* CircuitBreaker.make("race", options)]
                : yield* Effect.replicateEffect(
                  CircuitBreakerStore.make("race", options).pipe(
                    Effect.provideService(CircuitBreakerStore.CircuitBreakerStore, store)
                  ),
                  c.processes
                )
              for (const breaker of breakers) yield* open(breaker)
              yield* TestClock.adjust(Duration.millis(c.pause))
              for (const breaker of breakers) expect(yield* breaker.state).toBe("HalfOpen")

              const race = yield* raceHalfOpen(breakers, c.fibers, c.outcome)
              const admitted = race.admitted
              expect(race.most).toBeLessThanOrEqual(c.maxProbes)
              expect(admitted).toBe(Math.min(c.fibers.length, c.maxProbes))
              for (const error of race.turnedAway) {
                // turned away while every slot is taken: CircuitOpen, until the oldest probe's slot is let go of
                expect(CircuitBreaker.isCircuitOpen(error)).toBe(true)
                const retryAfter = Duration.toMillis((error as CircuitBreaker.CircuitOpen).retryAfter)
                expect(retryAfter).toBe(c.pause)
              }
              yield* race.release
              if (c.processes === 0) {
                // one failed probe opens it again; otherwise it closes once successThreshold probes succeeded
                const expected = c.outcome === "failure"
                  ? "Open"
                  : admitted >= c.successThreshold
                  ? "Closed"
                  : "HalfOpen"
                expect(yield* breakers[0]!.snapshot).toMatchObject({ state: expected, probesInFlight: 0 })
              }
            }).pipe(Effect.scoped, Runtime.runPromise(runtime))
        )
        yield* Effect.promise(() => FastCheck.assert(runs, { seed: 20261209, numRuns: 80 }))
      }),
    60_000
  )
})
