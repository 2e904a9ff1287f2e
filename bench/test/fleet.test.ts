import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { measure, totalCalls } from "../fleet.js"

describe("bench/fleet", () => {
  it.effect("one shared budget keeps the fleet at one process's amplification; per-process budgets multiply it", () =>
    Effect.gen(function*() {
      const single = yield* measure(1)
      expect(single.shared).toBe(single.perProcess)
      expect(single.shared).toBeCloseTo(1 + (10 + 0.2 * totalCalls) / totalCalls, 9)
      const fleet = yield* measure(10)
      expect(fleet.shared).toBe(single.shared)
      // each replica adds its own floor of 10 retries
      expect(fleet.perProcess).toBeCloseTo(1 + (10 * 10 + 0.2 * totalCalls) / totalCalls, 9)
    }))
})
