import { describe, expect, it } from "@effect/vitest"
import { Simulator } from "@sturdy/testing"
import { contenders, faultsMarkdown, runFaults } from "../faults.js"

// A few seconds of the outage scenario, scaled down: enough calls for every policy to retry and to trip a breaker.
const shortOutage: Simulator.Scenario = {
  ...Simulator.scenarios.outage,
  upstream: { ...Simulator.scenarios.outage.upstream, outages: [{ start: 1_000, end: 2_000 }] },
  workload: { ...Simulator.scenarios.outage.workload, duration: 4_000, rate: 100, clients: 10 },
  disruption: { start: 1_000, end: 2_000 },
  drain: 20_000
}

describe("outcomes under faults (smoke)", () => {
  const reports = runFaults({ seed: 3, scenarios: [shortOutage] })

  it("runs every policy once against the scenario", () => {
    expect(reports.map((report) => report.policy)).toEqual(contenders.map((policy) => policy.name))
    expect(contenders.map((policy) => policy.name)).toEqual(
      expect.arrayContaining(["ky-like", "cockatiel-like", Simulator.policies.sturdy.name])
    )
  })

  for (const policy of contenders) {
    it(`${policy.name}: every logical call is accounted for and reaches the upstream`, () => {
      const report = reports.find((candidate) => candidate.policy === policy.name)
      expect(report?.scenario).toBe(shortOutage.name)
      expect(report?.logicalCalls).toBeGreaterThan(0)
      expect((report?.succeeded ?? 0) + (report?.failed ?? 0) + (report?.unfinished ?? 0)).toBe(report?.logicalCalls)
      expect(report?.upstreamRequests).toBeGreaterThan(0)
    })
  }

  it("gives the same report for the same seed", () => {
    const again = runFaults({ seed: 3, scenarios: [shortOutage], policies: [contenders[4]!] })
    expect(again[0]).toEqual(reports[4])
  })

  it("renders a row per policy under the section heading", () => {
    const markdown = faultsMarkdown(reports, 3, new Date(0))
    expect(markdown.startsWith("## Outcomes under faults")).toBe(true)
    for (const policy of contenders) expect(markdown).toContain(`| ${policy.name} |`)
  })
})
