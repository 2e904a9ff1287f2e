/**
 * Property-testing a retry schedule with ScheduleKit's laws: instead of checking three hand-picked delays, let
 * fast-check generate hundreds of configurations and seeds and check that the cap holds, the number of retries is
 * bounded, the total wait is bounded and a seed reproduces its delays.
 *
 * 1. `Backoff.exponential` keeps every law for any configuration (300 generated cases).
 * 2. A hand-rolled schedule that applies jitter AFTER its cap breaks the cap; fast-check finds a seed that shows it.
 * 3. `SchedulePlot` draws the delays of the default backoff across 200 seeds.
 *
 * The same properties run as a test in `examples/test/schedule-laws.test.ts`.
 *
 * Run: `pnpm example examples/schedule-property-test.ts`
 */
import { NodeRuntime } from "@effect/platform-node"
import { Backoff } from "@sturdy/policy"
import { ScheduleKit, SchedulePlot } from "@sturdy/testing"
import { Console, Effect, FastCheck, Schedule } from "effect"
import { pathToFileURL } from "node:url"

/** A plausible hand-written backoff: exponential, capped at 2 s by `union`, then jittered (±20 %). */
export const jitterAfterCap = Schedule.exponential("100 millis").pipe(
  Schedule.union(Schedule.spaced("2 seconds")),
  Schedule.jittered,
  Schedule.intersect(Schedule.recurs(8))
)

/** Every Backoff configuration keeps every law, for any seed. */
export const backoffKeepsItsLaws = FastCheck.property(
  ScheduleKit.backoffConfigArbitrary(),
  ScheduleKit.seedArbitrary,
  (config, seed) => ScheduleKit.backoffLaws(config, { seed })
)

/** The hand-rolled schedule never waits longer than its 2 s cap (it does). */
export const jitterAfterCapHoldsItsCap = FastCheck.property(
  ScheduleKit.seedArbitrary,
  (seed) => ScheduleKit.laws.capHolds(jitterAfterCap, 2_000, { seed, attempts: 8 })
)

export const main = Effect.gen(function*() {
  yield* Console.log("1. Backoff.exponential, any configuration, any seed")
  const backoff = FastCheck.check(backoffKeepsItsLaws, { seed: 42, numRuns: 300 })
  yield* Console.log(
    backoff.failed ? `   FAILED: ${String(backoff.errorInstance)}` : `   ${backoff.numRuns} cases passed`
  )

  yield* Console.log("\n2. exponential, capped at 2 s by union, THEN jittered")
  const handRolled = FastCheck.check(jitterAfterCapHoldsItsCap, { seed: 42, numRuns: 300 })
  if (handRolled.failed) {
    const [seed] = handRolled.counterexample ?? []
    yield* Console.log(`   failed after ${handRolled.numRuns} case(s); shrunk to seed ${seed}`)
    yield* Console.log(`   ${String(handRolled.errorInstance)}`)
  } else {
    yield* Console.log(`   ${handRolled.numRuns} cases passed`)
  }

  yield* Console.log(
    "\n3. Backoff.exponential({ baseDelay: 100 ms, maxDelay: 2 s, maxAttempts: 8 }), 200 seeds (min / median / max)"
  )
  const rows = SchedulePlot.summary(
    Backoff.exponential({ baseDelay: "100 millis", maxDelay: "2 seconds", maxAttempts: 8 }),
    {
      attempts: 7,
      seeds: 200
    }
  )
  yield* Console.log(SchedulePlot.toSparklines(rows))
})

// runs when executed, not when the smoke test imports `main`
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) NodeRuntime.runMain(main)
