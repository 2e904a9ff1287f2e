import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { cases, measureCockatiel, measureSturdy } from "../src/policies.js"
import { runPolicies } from "../src/policyRun.js"

const positive = (value: number | undefined) => value !== undefined && Number.isFinite(value) && value > 0

describe("policy decision cost (smoke)", () => {
  const load = { fibers: 20, callsPerFiber: 5 }

  for (const policyCase of cases) {
    it(`${policyCase.name}: runs every call through Sturdy${policyCase.cockatiel ? " and cockatiel" : ""}`, async () => {
      const sturdy = await measureSturdy(policyCase, load)
      expect(positive(sturdy.wallNs)).toBe(true)
      const cockatiel = await measureCockatiel(policyCase, load)
      if (policyCase.cockatiel === undefined) expect(cockatiel).toBeUndefined()
      else expect(positive(cockatiel?.wallNs)).toBe(true)
    })
  }

  it("measures every call of every fiber through the wrapped effect, per call, and surfaces a failing call", async () => {
    let calls = 0
    await measureSturdy({
      name: "counted",
      settings: "counts the calls",
      sturdy: Effect.succeed((self) => Effect.zipRight(Effect.sync(() => calls++), self))
    }, load)
    expect(calls).toBe(load.fibers * load.callsPerFiber)
    await expect(measureSturdy({
      name: "failing",
      settings: "every call fails",
      sturdy: Effect.succeed((self) => Effect.zipRight(self, Effect.fail("boom")))
    }, load)).rejects.toThrow("boom")
  })

  it("takes overheads against the baseline at the same load, ratios only where cockatiel has an equivalent", async () => {
    const rows = await runPolicies(cases, { ...load, callsPerFiber: 10, rounds: 2 })
    const [baseline, shortBaseline] = rows
    expect(baseline!.name).toBe(cases[0]!.name)
    expect(baseline!.sturdyOverheadNs).toBe(0)
    expect(baseline!.cockatielOverheadNs).toBe(0)
    // timer-based cases make a twentieth of the calls, so the baseline is measured at that load too
    expect(shortBaseline!.callsPerFiber).toBe(1)
    expect(shortBaseline!.sturdyOverheadNs).toBe(0)
    expect(rows.find((row) => row.name === "deadline")!.callsPerFiber).toBe(1)
    expect(rows.find((row) => row.name === "circuit breaker")!.callsPerFiber).toBe(10)
    for (const policyCase of cases.slice(1)) {
      const row = rows.find((r) => r.name === policyCase.name)!
      expect(row.ratio === null).toBe(policyCase.cockatiel === undefined)
    }
  })
})
