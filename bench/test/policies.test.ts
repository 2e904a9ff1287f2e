import { describe, expect, it } from "@effect/vitest"
import { cases, measureCockatiel, measureSturdy } from "../src/policies.js"
import { runPolicies } from "../src/policyRun.js"

describe("policy decision cost (smoke)", () => {
  const load = { fibers: 20, callsPerFiber: 5 }

  for (const policyCase of cases) {
    it(`${policyCase.name}: runs every call through Sturdy${policyCase.cockatiel ? " and cockatiel" : ""}`, async () => {
      const sturdyNs = await measureSturdy(policyCase, load)
      expect(Number.isFinite(sturdyNs) && sturdyNs > 0).toBe(true)
      const cockatielNs = await measureCockatiel(policyCase, load)
      if (policyCase.cockatiel === undefined) expect(cockatielNs).toBeUndefined()
      else expect(Number.isFinite(cockatielNs) && cockatielNs! > 0).toBe(true)
    })
  }

  it("reports overheads against the first case and ratios only where cockatiel has an equivalent", async () => {
    const rows = await runPolicies(cases, { ...load, rounds: 2 })
    expect(rows.map((row) => row.name)).toEqual(cases.map((c) => c.name))
    expect(rows[0]!.sturdyOverheadNs).toBe(0)
    expect(rows[0]!.cockatielOverheadNs).toBe(0)
    rows.forEach((row, index) => expect(row.ratio === null).toBe(cases[index]!.cockatiel === undefined))
  })
})
