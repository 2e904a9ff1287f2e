/**
 * The property tests of `examples/schedule-property-test.ts`, as a user would put them in their own test suite.
 */
import { describe, expect, it } from "@effect/vitest"
import { Backoff } from "@sturdy/policy"
import { ScheduleKit } from "@sturdy/testing"
import { FastCheck } from "effect"
import { jitterAfterCap } from "../schedule-property-test.js"

describe("schedule laws", () => {
  it.prop(
    "Backoff.exponential keeps every law for any configuration and seed",
    [ScheduleKit.backoffConfigArbitrary(), ScheduleKit.seedArbitrary],
    ([config, seed]) => ScheduleKit.backoffLaws(config, { seed }),
    { fastCheck: { seed: 42, numRuns: 300 } }
  )

  it.prop(
    "my backoff (1 s base, 30 s cap, 6 attempts) never waits past the cap nor more than 5 times",
    [ScheduleKit.seedArbitrary],
    ([seed]) => {
      const schedule = Backoff.exponential({ baseDelay: "1 second", maxDelay: "30 seconds", maxAttempts: 6 })
      ScheduleKit.laws.capHolds(schedule, 30_000, { seed })
      ScheduleKit.laws.attemptsBounded(schedule, 5, { seed })
      return ScheduleKit.laws.deterministic(schedule, { seed })
    },
    { fastCheck: { seed: 42 } }
  )

  it("jitter applied after the cap breaks the cap, and the counterexample names the seed", () => {
    const details = FastCheck.check(
      FastCheck.property(
        ScheduleKit.seedArbitrary,
        (seed) => ScheduleKit.laws.capHolds(jitterAfterCap, 2_000, { seed, attempts: 8 })
      ),
      { seed: 42, numRuns: 300 }
    )
    expect(details.failed).toBe(true)
    expect(String(details.errorInstance)).toMatch(/capHolds.*above the cap of 2000ms/)
  })
})
